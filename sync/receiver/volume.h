// The secondary volume as the applier sees it: objects named by GFID, entries
// by (parent GFID, name). GfapiVolume (gfapi_volume.h) implements it on
// libgfapi; tests implement it in memory. Keeping the GlusterFS calls behind
// this interface lets the applier's replay and conflict rules be tested
// without a cluster.
//
// Every method returns a Status whose err() is the errno of the failure
// (Status::FromErrno), so the applier can report it on the wire. A GFID that
// does not exist is ENOENT (gfapi's ESTALE is mapped to ENOENT). Callers pass
// names already checked by ValidateName (applier.h).
//
// Threads: the applier may call a volume from several threads at once
// (apply_plan.h), never with two calls at a time for one object, and only
// after PrepareThread on that thread. FlushAll is called with no other call
// running.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "sync/protocol/messages.h"

namespace georep::receiver {

using protocol::Gfid;

struct ObjectAttr {
  Gfid gfid{};
  uint32_t mode = 0;    // with S_IF* type bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // 512-byte blocks
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
};

class Volume {
 public:
  virtual ~Volume() = default;

  // Per-thread set-up; called on each applying thread before its first call.
  virtual void PrepareThread() {}

  // The entry `name` in directory `pargfid`, without following symlinks.
  // ENOENT when the name does not exist or the parent does not.
  virtual Result<ObjectAttr> Lookup(const Gfid& pargfid, const std::string& name) = 0;
  virtual Result<ObjectAttr> Stat(const Gfid& gfid) = 0;

  // One page of directory `gfid`'s entries, without "." and "..": from the
  // start (cookie 0) or from a next_cookie an earlier page returned, at most
  // `max` entries. ENOENT when the directory does not exist, ENOTDIR when
  // gfid is not one. A resync's comparison with the primary (PROTOCOL.md).
  struct DirPage {
    std::vector<protocol::ListEntry> entries;
    uint64_t next_cookie = 0;
    bool eof = false;
  };
  virtual Result<DirPage> ListDir(const Gfid& gfid, uint64_t cookie, size_t max) = 0;

  // Creates pargfid/name with GFID op.gfid as described by the op (file,
  // directory, symlink, special file), owned by op.uid:op.gid. EEXIST if the
  // name exists.
  virtual Status CreateEntry(const protocol::EntryCreateOp& op) = 0;
  virtual Status Link(const Gfid& gfid, const Gfid& pargfid, const std::string& name) = 0;
  // rename(2) semantics: replaces a target of a compatible type.
  virtual Status Rename(const Gfid& old_pargfid, const std::string& old_name,
                       const Gfid& new_pargfid, const std::string& new_name) = 0;
  virtual Status Unlink(const Gfid& pargfid, const std::string& name) = 0;
  virtual Status Rmdir(const Gfid& pargfid, const std::string& name) = 0;

  // Data of regular files. A write may complete later: `data` must stay
  // valid until FlushAll, and a failure found then is returned by FlushAll
  // with the file's GFID. Writes are complete (no short writes) or fail.
  virtual Status Write(const Gfid& gfid, uint64_t offset, std::string_view data) = 0;
  virtual Result<std::string> Read(const Gfid& gfid, uint64_t offset, uint64_t length) = 0;
  virtual Status Truncate(const Gfid& gfid, uint64_t size) = 0;
  virtual Status PunchHole(const Gfid& gfid, uint64_t offset, uint64_t length) = 0;
  virtual Status Zerofill(const Gfid& gfid, uint64_t offset, uint64_t length) = 0;
  virtual Status Allocate(const Gfid& gfid, bool keep_size, uint64_t offset, uint64_t length) = 0;
  // Makes every earlier Write/Truncate/... of gfid durable on the bricks.
  virtual Status Fsync(const Gfid& gfid) = 0;
  // Ends the data of one file for now: waits for its writes in flight and
  // closes what is open for it. The first error of those writes or of the
  // close is returned (with the GFID in the message), and is not reported
  // again by FlushAll. OK when nothing is open for gfid.
  virtual Status Close(const Gfid& gfid) = 0;
  // Ends the current unit of work: waits for writes in flight and closes
  // cached open files. A write error that surfaced only then (asynchronous
  // writes, write-behind) is returned with its file's GFID; an empty vector
  // means every write completed and every file closed cleanly.
  virtual std::vector<std::pair<Gfid, Status>> FlushAll() = 0;

  // Attributes; `mask` uses protocol::SetattrBit. Does not follow symlinks.
  virtual Status Setattr(const Gfid& gfid, uint32_t mask, const ObjectAttr& attr) = 0;
  virtual Status Setxattr(const Gfid& gfid, const std::string& name, std::string_view value) = 0;
  virtual Status Removexattr(const Gfid& gfid, const std::string& name) = 0;
};

}  // namespace georep::receiver

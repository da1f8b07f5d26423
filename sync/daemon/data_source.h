// DataSource: read access to the PRIMARY volume by GFID, as the Materializer
// needs it. GfapiSource (gfapi_source.h) is the real one; tests use a fake.
//
// Every call reports an object the volume no longer has as kNotFound (ENOENT
// or ESTALE from GlusterFS), which the caller treats as "deleted since it was
// journaled": nothing to send for it.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "sync/protocol/messages.h"

namespace georep::daemon {

struct ObjectStat {
  uint32_t mode = 0;  // with S_IF* bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t rdev = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
};

class SourceFile {
 public:
  virtual ~SourceFile() = default;
  virtual Result<ObjectStat> Stat() = 0;
  // The first offset >= `offset` holding data; nullopt when only a hole
  // remains up to end of file. Sources without hole support return `offset`.
  virtual Result<std::optional<uint64_t>> SeekData(uint64_t offset) = 0;
  // The first offset >= `offset` inside a hole (end of file counts as one).
  virtual Result<uint64_t> SeekHole(uint64_t offset) = 0;
  // Reads up to `length` bytes at `offset` into *out (replacing it); short at EOF.
  virtual Status Read(uint64_t offset, uint64_t length, std::string* out) = 0;
};

class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual Result<ObjectStat> Stat(const protocol::Gfid& gfid) = 0;
  virtual Result<std::unique_ptr<SourceFile>> Open(const protocol::Gfid& gfid) = 0;
  // nullopt when the object has no such attribute.
  virtual Result<std::optional<std::string>> GetXattr(const protocol::Gfid& gfid,
                                                      const std::string& name) = 0;
  virtual Result<std::vector<std::string>> ListXattrs(const protocol::Gfid& gfid) = 0;
  virtual Result<std::string> ReadLink(const protocol::Gfid& gfid) = 0;
  // The GFID the name `name` in directory `parent` refers to right now (no
  // symlink is followed); kNotFound when the name or the directory is gone.
  // Used to tell a stale secondary entry from a replay of history.
  virtual Result<protocol::Gfid> LookupName(const protocol::Gfid& parent,
                                            const std::string& name) = 0;
  // Every name of directory `dir` with the GFID it refers to, from one pass
  // of readdirplus: a cheap first answer for many names at once (a page of
  // entries per round trip instead of a lookup each). Not authoritative: a
  // name renamed while the pass ran may be missing, and an entry listed
  // without its inode is left out, so a name missing here or holding
  // another GFID must be confirmed with LookupName. kNotFound when the
  // directory is gone; kResourceExhausted past kMaxListedNames. Sources
  // that cannot list answer kFailedPrecondition (callers then look up).
  static constexpr size_t kMaxListedNames = 10'000'000;
  virtual Result<std::unordered_map<std::string, protocol::Gfid>> ListNames(const protocol::Gfid& dir) {
    return Status(Code::kFailedPrecondition, "listing " + protocol::GfidToString(dir) + " is not supported");
  }
};

}  // namespace georep::daemon

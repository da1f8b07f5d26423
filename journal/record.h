// Logical journal records: what changed on a brick, one record per successful
// fop. The encoding is described in FORMAT.md; Encode/Decode are its only
// implementation.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "journal/format.h"

namespace georep::journal {

using Gfid = std::array<uint8_t, 16>;

// What the fop did. Values are part of the on-disk format: never renumber.
enum class Op : uint8_t {
  kCreate = 1,       // regular file created (gfid, pargfid/name, mode, uid, gid)
  kMknod = 2,        // fifo/socket/device/regular via mknod (+ rdev)
  kMkdir = 3,
  kSymlink = 4,      // + target in `target`
  kLink = 5,         // new hard link: gfid -> pargfid/name
  kRename = 6,       // pargfid/name -> pargfid2/name2; gfid2 = replaced target or zero
  kUnlink = 7,       // pargfid/name removed (gfid = the inode)
  kRmdir = 8,
  kWrite = 9,        // offset, length
  kTruncate = 10,    // offset = new size (also open with O_TRUNC: offset 0)
  kFallocate = 11,   // offset, length, aux = fallocate mode flags
  kDiscard = 12,     // offset, length (punch hole)
  kZerofill = 13,    // offset, length
  kSetattr = 14,     // attr_mask says which of mode/uid/gid/atime/mtime
  kSetxattr = 15,    // xattr_names: the keys set, '\0'-separated
  kRemovexattr = 16, // xattr_names: the key removed
};
const char* OpName(Op op);
bool IsEntryOp(Op op);
bool IsDataOp(Op op);

// Who issued the fop, from the frame's client pid (GlusterFS's gf_client_pid_t).
enum class Origin : uint8_t {
  kClient = 0,          // an ordinary client (FUSE, gfapi, NFS, SMB)
  kReplication = 1,     // GF_CLIENT_PID_GSYNCD (-1): georep's receiver or gsyncd
  kRebalance = 2,       // GF_CLIENT_PID_DEFRAG (-3)
  kSelfHeal = 3,        // GF_CLIENT_PID_SELF_HEALD (-6) and GF_CLIENT_PID_GLFS_HEAL (-7)
  kOtherInternal = 4,   // any other negative (internal) client pid
};
const char* OriginName(Origin origin);

// Record flags (bit set, on-disk).
enum RecordFlag : uint16_t {
  kFlagViaFd = 1 << 0,       // fd-based fop (fsetattr, ftruncate, fsetxattr, ...)
  kFlagDhtLinkto = 1 << 1,   // DHT link-to file bookkeeping, not user data
  kFlagInternalXattr = 1 << 2,  // only trusted.* / glusterfs-internal keys
};

// Attribute bits of kSetattr, equal to GlusterFS's GF_SET_ATTR_* values.
enum AttrBit : uint32_t {
  kAttrMode = 0x1,
  kAttrUid = 0x2,
  kAttrGid = 0x4,
  kAttrSize = 0x8,
  kAttrAtime = 0x10,
  kAttrMtime = 0x20,
  kAttrCtime = 0x40,
};

struct Record {
  uint64_t seq = 0;          // per-brick, strictly increasing, never reused
  uint64_t time_ns = 0;      // CLOCK_REALTIME when journaled
  Op op = Op::kCreate;
  Origin origin = Origin::kClient;
  uint16_t flags = 0;
  Gfid gfid{};               // the object changed (zero if unknown)
  Gfid pargfid{};            // parent of `name` (entry ops)
  std::string name;          // entry name (entry ops; old name for rename)
  Gfid pargfid2{};           // rename: new parent
  std::string name2;         // rename: new name
  Gfid gfid2{};              // rename: gfid of the replaced target, if any
  uint32_t mode = 0;         // st_mode incl. S_IF* type bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t rdev = 0;         // mknod
  uint64_t offset = 0;       // data ops; truncate: new size
  uint64_t length = 0;       // data ops
  uint32_t attr_mask = 0;    // setattr: AttrBit set
  uint32_t aux = 0;          // fallocate mode; reserved otherwise
  uint64_t atime_ns = 0;     // setattr: values applied (when in attr_mask)
  uint64_t mtime_ns = 0;
  std::string target;        // symlink target
  std::string xattr_names;   // '\0'-separated keys (setxattr/removexattr)

  bool operator==(const Record&) const = default;
};

struct SegmentHeader {
  uint16_t version = 0;
  uint64_t first_seq = 0;
  uint64_t created_ns = 0;
  std::string brick_id;
  bool operator==(const SegmentHeader&) const = default;
};

// Appends the encoding of `r` (starting with RecordKind::kChange) to *out.
void EncodeRecord(const Record& r, std::string* out);
// Decodes a kChange payload; Corruption on any inconsistency (never returns
// a partially filled record as valid).
Status DecodeRecord(std::string_view payload, Record* r);
void EncodeSegmentHeader(const SegmentHeader& h, std::string* out);
Status DecodeSegmentHeader(std::string_view payload, SegmentHeader* h);
// Peeks the kind byte; kCorruption if empty/unknown.
Result<RecordKind> PeekKind(std::string_view payload);

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
std::string GfidToString(const Gfid& g);
bool ParseGfid(std::string_view s, Gfid* out);
bool IsNullGfid(const Gfid& g);
// One human-readable line per record, for `georep journal dump`.
std::string FormatRecord(const Record& r);
// "2026-11-24T23:57:29.595187755Z": a journal time (ns since the epoch), UTC.
std::string FormatTimeNs(uint64_t ns);

}  // namespace georep::journal

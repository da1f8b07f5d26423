// The messages georepd and georep-receiver exchange. PROTOCOL.md beside this
// file describes the same thing in prose (byte layout, ordering, errors); keep
// the two in step. codec.h turns these structs into frames and back.
//
// Values of MessageType, OpType and ErrorCode are part of the wire format:
// never renumber, only append. Changes after version 1 must be additive and
// listed in PROTOCOL.md's change log.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace georep::protocol {

// Same type as georep::journal::Gfid, so the daemon passes journal GFIDs as is.
using Gfid = std::array<uint8_t, 16>;
// A volume id is a UUID, carried like a GFID (16 raw bytes).
using Uuid = std::array<uint8_t, 16>;

constexpr uint32_t kProtocolVersion = 5;

// ---- Framing ---------------------------------------------------------------
// frame = u32 body length (LE) | u32 masked crc32c of the body (LE) | body
// body  = u8 MessageType | the message's fields
constexpr uint32_t kFrameHeaderSize = 8;
// Largest body either side accepts. Anything larger is a protocol error
// (kFrameTooLarge) detected from the header alone, before buffering the body.
constexpr uint32_t kMaxBodySize = 4 * 1024 * 1024 + 64 * 1024;
// Largest DataOp payload. A batch is filled with ops until its encoded body
// would exceed kMaxBodySize (see EncodedOpSize in codec.h). Each chunk is one
// gfapi READ on the primary and one WRITE on the secondary; 4 MiB keeps
// GlusterFS's iobufs for them out of its small arenas (PROTOCOL.md, version 3).
constexpr uint32_t kMaxDataChunk = 4 * 1024 * 1024;
// Entry names longer than this are refused by the receiver (per-op EINVAL).
constexpr uint32_t kMaxNameLength = 255;

enum class MessageType : uint8_t {
  kHello = 1,            // sender -> receiver, first frame
  kHelloOk = 2,          // receiver -> sender
  kError = 3,            // either way; the connection ends after it
  kBatch = 4,            // sender -> receiver
  kAck = 5,              // receiver -> sender, one per batch, in batch order
  kStatRequest = 6,      // sender -> receiver (verification)
  kStatReply = 7,
  kChecksumRequest = 8,  // sender -> receiver (verification)
  kChecksumReply = 9,
  kPing = 10,            // sender -> receiver when idle (keeps the receiver's idle timer)
  kPong = 11,
  kBye = 12,             // sender -> receiver: no more frames; receiver answers kBye and exits 0
  kListRequest = 13,     // sender -> receiver (resync: what the secondary holds)
  kListReply = 14,
};
constexpr uint8_t kMaxMessageType = 14;

// Why a connection is being ended (ERROR frame).
enum class ErrorCode : uint32_t {
  kFrameTooLarge = 1,       // body length over the receiver's limit (kMaxBodySize)
  kBadChecksum = 2,         // crc32c of the body does not match the header
  kMalformed = 3,           // empty body, short/overlong field, trailing bytes, bad count
  kUnknownMessageType = 4,
  kUnknownOpType = 5,
  kUnexpectedMessage = 6,   // e.g. BATCH before HELLO, second HELLO
  kVersionMismatch = 7,     // HELLO.version not supported
  kVolumeMismatch = 8,      // HELLO names a secondary volume this receiver does not serve
  kVolumeUnavailable = 9,   // the secondary volume cannot be mounted / went away
  kInternal = 10,           // a receiver bug or resource failure; see the message
  kIdleTimeout = 11,        // no frame for longer than the receiver's idle timeout
  kReceiverBusy = 12,       // another receiver still applies for this brick; retry later
};
constexpr uint32_t kMaxErrorCode = 12;

// ---- Handshake ---------------------------------------------------------------
struct Hello {
  uint32_t version = kProtocolVersion;
  std::string session_id;        // e.g. "gvp__host__gvs", for the receiver's logs
  std::string primary_volume;
  std::string primary_brick_id;  // which primary brick's worker this connection serves
  std::string secondary_volume;  // must equal the receiver's --volume
  bool operator==(const Hello&) const = default;
};

struct HelloOk {
  uint32_t version = kProtocolVersion;
  Uuid secondary_volume_id{};    // glfs_get_volumeid of the secondary
  uint32_t max_body_size = kMaxBodySize;  // the sender must not send larger bodies
  std::string receiver_version;  // software version, for logs/status
  bool operator==(const HelloOk&) const = default;
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;           // human-readable cause and, where known, the fix
  bool operator==(const Error&) const = default;
};

// ---- Operations ----------------------------------------------------------------
// Every op names objects by GFID. The root directory's GFID is
// 00000000-0000-0000-0000-000000000001. Replaying an op that was already
// applied is harmless (see PROTOCOL.md, "Idempotence").

enum class OpType : uint8_t {
  kEntryCreate = 1,
  kLink = 2,
  kRename = 3,
  kUnlink = 4,
  kRmdir = 5,
  kData = 6,
  kTruncate = 7,
  kPunchHole = 8,
  kZerofill = 9,
  kAllocate = 10,
  kSetattr = 11,
  kSetxattr = 12,
  kRemovexattr = 13,
};
constexpr uint8_t kMaxOpType = 13;

// Creates pargfid/name with the given gfid. The S_IF* bits of `mode` choose
// the kind: S_IFREG file, S_IFDIR directory, S_IFLNK symlink (`target`),
// S_IFIFO / S_IFSOCK / S_IFCHR / S_IFBLK special file (`rdev` for devices).
struct EntryCreateOp {
  Gfid pargfid{};
  std::string name;
  Gfid gfid{};
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t rdev = 0;
  std::string target;
  bool operator==(const EntryCreateOp&) const = default;
};

// Adds the hard link pargfid/name to the existing object gfid.
struct LinkOp {
  Gfid gfid{};
  Gfid pargfid{};
  std::string name;
  bool operator==(const LinkOp&) const = default;
};

// Moves object gfid from old_pargfid/old_name to new_pargfid/new_name,
// replacing what is there (as rename(2)). replaced_gfid is the gfid the
// primary replaced at the target (zero if none or unknown): when it is set,
// a target holding any other GFID is a conflict (EEXIST unless the batch has
// kBatchReplaceStale), which keeps a replayed rename from destroying a newer
// entry.
struct RenameOp {
  Gfid gfid{};
  Gfid old_pargfid{};
  std::string old_name;
  Gfid new_pargfid{};
  std::string new_name;
  Gfid replaced_gfid{};
  bool operator==(const RenameOp&) const = default;
};

// Removes the name pargfid/name, which refers to gfid (non-directory).
struct UnlinkOp {
  Gfid pargfid{};
  std::string name;
  Gfid gfid{};
  bool operator==(const UnlinkOp&) const = default;
};

// Removes the empty directory pargfid/name, whose gfid is gfid.
struct RmdirOp {
  Gfid pargfid{};
  std::string name;
  Gfid gfid{};
  bool operator==(const RmdirOp&) const = default;
};

// Writes `data` (at most kMaxDataChunk bytes) at `offset` of regular file gfid.
struct DataOp {
  Gfid gfid{};
  uint64_t offset = 0;
  std::string data;
  bool operator==(const DataOp&) const = default;
};

// Sets the size of regular file gfid.
struct TruncateOp {
  Gfid gfid{};
  uint64_t size = 0;
  bool operator==(const TruncateOp&) const = default;
};

// Deallocates [offset, offset+length) of gfid, keeping its size (a hole).
struct PunchHoleOp {
  Gfid gfid{};
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const PunchHoleOp&) const = default;
};

// Writes zeroes over [offset, offset+length) of gfid (extends the file if needed).
struct ZerofillOp {
  Gfid gfid{};
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const ZerofillOp&) const = default;
};

// Preallocates [offset, offset+length) of gfid; keep_size as FALLOC_FL_KEEP_SIZE.
struct AllocateOp {
  Gfid gfid{};
  bool keep_size = false;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const AllocateOp&) const = default;
};

// Attribute bits of SetattrOp::mask (equal to GlusterFS's GF_SET_ATTR_* and
// georep::journal::AttrBit). Size is not a setattr attribute: use TruncateOp.
enum SetattrBit : uint32_t {
  kSetMode = 0x1,
  kSetUid = 0x2,
  kSetGid = 0x4,
  kSetAtime = 0x10,
  kSetMtime = 0x20,
};
constexpr uint32_t kSetattrKnownBits = kSetMode | kSetUid | kSetGid | kSetAtime | kSetMtime;

// Sets the attributes named in `mask` on gfid. Times are nanoseconds since
// the epoch. Mode carries permission bits only (07777); the type never changes.
struct SetattrOp {
  Gfid gfid{};
  uint32_t mask = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  bool operator==(const SetattrOp&) const = default;
};

// Sets extended attribute `name` of gfid to `value` (creating or replacing).
// ACLs travel as system.posix_acl_access / system.posix_acl_default.
struct SetxattrOp {
  Gfid gfid{};
  std::string name;
  std::string value;
  bool operator==(const SetxattrOp&) const = default;
};

// Removes extended attribute `name` of gfid; a missing attribute is success.
struct RemovexattrOp {
  Gfid gfid{};
  std::string name;
  bool operator==(const RemovexattrOp&) const = default;
};

// Alternative index + 1 == OpType value (checked in codec.cc).
using Op = std::variant<EntryCreateOp, LinkOp, RenameOp, UnlinkOp, RmdirOp, DataOp, TruncateOp,
                        PunchHoleOp, ZerofillOp, AllocateOp, SetattrOp, SetxattrOp, RemovexattrOp>;

OpType TypeOf(const Op& op);
const char* OpTypeName(OpType type);
// `s` with control bytes and backslashes escaped as \xNN: names and messages come
// from the peer and must not forge log lines.
std::string PrintableName(std::string_view s);
// One line for logs: "RENAME gfid=... <pargfid>/old -> <pargfid>/new".
// Never includes data or xattr values.
std::string DescribeOp(const Op& op);

// ---- Batches ---------------------------------------------------------------------
enum BatchFlag : uint32_t {
  // fsync every regular file the batch wrote to before acknowledging it, so the
  // sender may treat an acked batch as durable on the secondary's bricks.
  kBatchFsync = 1u << 0,
  // The sender has checked the batch's entry ops against the primary's
  // current state: where the secondary has an entry with another GFID at an
  // op's name, that entry is stale and is removed (non-empty directories are
  // never removed). Without this flag such an op fails with EEXIST and the
  // secondary's entry is kept (PROTOCOL.md, "Applying ops").
  kBatchReplaceStale = 1u << 1,
  // The batch may replay ops the secondary already has (sent before on a
  // connection that was lost, or journal records the initial crawl already
  // copied). The secondary is then ahead of the ops, and an op's outcome can
  // depend on objects it does not name, so the receiver applies such a batch
  // strictly in order. Without the flag the receiver may apply ops that do
  // not depend on each other at once (sync/receiver/apply_plan.h).
  kBatchInOrder = 1u << 2,
  // Every object the batch's ENTRY_CREATEs create is new to the secondary:
  // the ops come from journal records never sent before and newer than any
  // crawl. The receiver then creates without first checking whether the GFID
  // exists elsewhere (one lookup less per file); a create that finds its name
  // taken still goes through the full replay and conflict rules.
  kBatchFresh = 1u << 3,
};
constexpr uint32_t kBatchKnownFlags = kBatchFsync | kBatchReplaceStale | kBatchInOrder | kBatchFresh;

// Ops take effect as if applied in order. The receiver decodes the whole frame before applying
// any op; a frame that fails to decode applies nothing.
struct Batch {
  uint64_t batch_id = 0;  // chosen by the sender; echoed in the Ack
  uint32_t flags = 0;     // BatchFlag set; unknown bits are a protocol error
  std::vector<Op> ops;
  bool operator==(const Batch&) const = default;
};

struct OpFailure {
  uint32_t index = 0;     // position of the op in its batch
  int32_t err = 0;        // Linux errno value (both ends run Linux)
  std::string message;    // what the receiver was doing, with the cause
  bool operator==(const OpFailure&) const = default;
};

// Sent after every op of the batch was tried: ops that are not listed in
// `failures` were applied (or were already in effect). A failed op does not
// stop the ops after it.
struct Ack {
  uint64_t batch_id = 0;
  uint32_t op_count = 0;  // ops the batch carried, as a cross-check
  std::vector<OpFailure> failures;
  bool operator==(const Ack&) const = default;
};

// ---- Verification ------------------------------------------------------------------
struct StatRequest {
  uint64_t request_id = 0;
  Gfid gfid{};
  bool operator==(const StatRequest&) const = default;
};

struct StatReply {
  uint64_t request_id = 0;
  Gfid gfid{};
  int32_t err = 0;        // 0, or the errno of the lookup (ENOENT: no such gfid)
  uint32_t mode = 0;      // with S_IF* type bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;    // 512-byte blocks allocated (sparseness check)
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  bool operator==(const StatReply&) const = default;
};

// Asks for the crc32c of [offset, offset+length) of regular file gfid, reading
// at most to end of file and at most 64 MiB per request (see bytes_read).
struct ChecksumRequest {
  uint64_t request_id = 0;
  Gfid gfid{};
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const ChecksumRequest&) const = default;
};

struct ChecksumReply {
  uint64_t request_id = 0;
  Gfid gfid{};
  int32_t err = 0;
  uint64_t bytes_read = 0;   // may be less than asked at end of file
  uint32_t crc32c = 0;       // crc32c::Value of the bytes read (unmasked)
  bool operator==(const ChecksumReply&) const = default;
};

// ---- Listing (resync) -------------------------------------------------------------
// Asks for one page of the entries of directory `gfid` on the secondary: from
// the start (cookie 0) or from where the previous page ended (its
// next_cookie). A resync compares these with the primary (PROTOCOL.md,
// "Resync").
struct ListRequest {
  uint64_t request_id = 0;
  Gfid gfid{};
  uint64_t cookie = 0;
  bool operator==(const ListRequest&) const = default;
};

// Most entries one LIST_REPLY carries: with names of at most kMaxNameLength
// bytes a page stays far below kMaxBodySize.
constexpr uint32_t kMaxListEntries = 1024;

struct ListEntry {
  std::string name;  // never empty, ".", ".." or with '/' or NUL (a decoder error)
  Gfid gfid{};
  uint32_t mode = 0;  // with S_IF* type bits
  // As the secondary's listing saw them (protocol 5): a resync's crawl skips
  // the data of files whose copy has the primary's size and mtime
  // (daemon/secondary_files.h).
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const ListEntry&) const = default;
};

struct ListReply {
  uint64_t request_id = 0;
  Gfid gfid{};
  int32_t err = 0;           // 0, or the errno (ENOENT: no such directory)
  uint64_t next_cookie = 0;  // where the next page starts
  bool eof = false;          // this page ends the directory
  std::vector<ListEntry> entries;
  bool operator==(const ListReply&) const = default;
};

struct Ping {
  uint64_t token = 0;
  bool operator==(const Ping&) const = default;
};

struct Pong {
  uint64_t token = 0;        // the Ping's token
  bool operator==(const Pong&) const = default;
};

struct Bye {
  bool operator==(const Bye&) const = default;
};

// Alternative index + 1 == MessageType value (checked in codec.cc).
using Message = std::variant<Hello, HelloOk, Error, Batch, Ack, StatRequest, StatReply,
                             ChecksumRequest, ChecksumReply, Ping, Pong, Bye, ListRequest,
                             ListReply>;

MessageType TypeOf(const Message& m);
const char* MessageTypeName(MessageType type);
const char* ErrorCodeName(ErrorCode code);

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (lower case), as GlusterFS prints GFIDs.
std::string GfidToString(const Gfid& g);
bool ParseGfid(std::string_view s, Gfid* out);
bool IsNullGfid(const Gfid& g);
// 00000000-0000-0000-0000-000000000001
Gfid RootGfid();

}  // namespace georep::protocol

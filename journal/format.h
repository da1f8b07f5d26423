// Byte-level constants of the georep journal. FORMAT.md beside this file
// describes the same layout in prose; keep the two in step.
#pragma once

#include <cstddef>
#include <cstdint>

namespace georep::journal {

// ---- Physical framing (after leveldb's log format) ----------------------
// A segment file is a sequence of fixed-size blocks. Each block holds
// physical records; a physical record never straddles a block boundary.
// When fewer than kHeaderSize bytes remain in a block they are zero-filled.
constexpr size_t kBlockSize = 32 * 1024;
// Physical header: masked crc32c (4, LE) | payload length (2, LE) | type (1).
// The crc covers the type byte followed by the payload.
constexpr size_t kHeaderSize = 4 + 2 + 1;

enum class FragmentType : uint8_t {
  kZero = 0,    // block trailer padding; never written as a record
  kFull = 1,    // a whole logical record
  kFirst = 2,   // first fragment of a logical record
  kMiddle = 3,  // interior fragment
  kLast = 4,    // final fragment
};
constexpr uint8_t kMaxFragmentType = 4;

// ---- Logical records ------------------------------------------------------
// Every logical record starts with a one-byte kind.
enum class RecordKind : uint8_t {
  kSegmentHeader = 0x53,  // 'S': first record of every segment
  kChange = 0x43,         // 'C': one change on the brick
};

// Segment header: kind | magic u32 | format version u16 | first_seq u64 |
// created_ns u64 | brick id (u16 length + bytes).
constexpr uint32_t kSegmentMagic = 0x4A524747;  // "GGRJ" read as LE bytes
constexpr uint16_t kFormatVersion = 1;

// Change record (FORMAT.md, "Change records"): kind | version u8 | seq u64 |
// time_ns u64 | op u8 | origin u8 | flags u16 | present u32 | then, in bit
// order, only the fields whose bit is set in `present`. Strings are a u32
// length followed by that many bytes.
constexpr uint8_t kRecordVersion = 1;
// Byte offset of the seq field inside an encoded change record; the writer
// patches it in under its lock after encoding outside it.
constexpr size_t kRecordSeqOffset = 2;
// Fixed part: kind, version, seq, time_ns, op, origin, flags, present.
constexpr size_t kRecordFixedSize = 1 + 1 + 8 + 8 + 1 + 1 + 2 + 4;
enum FieldBit : uint32_t {
  kFieldGfid = 1u << 0,        // 16 bytes
  kFieldPargfid = 1u << 1,     // 16 bytes
  kFieldName = 1u << 2,        // string
  kFieldPargfid2 = 1u << 3,    // 16 bytes
  kFieldName2 = 1u << 4,       // string
  kFieldGfid2 = 1u << 5,       // 16 bytes
  kFieldMode = 1u << 6,        // u32
  kFieldUid = 1u << 7,         // u32
  kFieldGid = 1u << 8,         // u32
  kFieldRdev = 1u << 9,        // u64
  kFieldOffset = 1u << 10,     // u64
  kFieldLength = 1u << 11,     // u64
  kFieldAttrMask = 1u << 12,   // u32
  kFieldAux = 1u << 13,        // u32
  kFieldAtime = 1u << 14,      // u64
  kFieldMtime = 1u << 15,      // u64
  kFieldTarget = 1u << 16,     // string
  kFieldXattrNames = 1u << 17, // string
};
constexpr uint32_t kKnownFields = (1u << 18) - 1;
// Largest encoded logical record the writer accepts (xattr name lists are
// the only unbounded part); bigger ones fail with kInvalidArgument.
constexpr size_t kMaxRecordSize = 1u << 20;

// ---- Files ----------------------------------------------------------------
// <brick>/.glusterfs/georep/           journal root (kJournalSubdir)
//   segments/<first seq, 20 digits>.seg
//   consumers/<name>.cursor            last sequence a consumer has finished
//   consumers/<name>.resync            present when that consumer lost records
constexpr const char* kJournalSubdir = ".glusterfs/georep";
constexpr const char* kSegmentsDir = "segments";
constexpr const char* kConsumersDir = "consumers";
constexpr const char* kSegmentSuffix = ".seg";
constexpr const char* kCursorSuffix = ".cursor";
constexpr const char* kResyncSuffix = ".resync";
constexpr int kSegmentNameDigits = 20;
// <journal root>/seq.hwm: the sequence high-water file (FORMAT.md,
// "Sequence numbers"): text lines "floor N", "ceiling N", "live NAME".
constexpr const char* kHighWaterFile = "seq.hwm";
// <journal root>/writer.lock: flock()ed by the one writer of the journal;
// holds that process's pid (informational).
constexpr const char* kWriterLockFile = "writer.lock";
// How many sequence numbers the writer reserves ahead in seq.hwm; a restart
// that finds its live segment gone continues after the reservation.
constexpr uint64_t kSeqReserve = 1u << 16;

}  // namespace georep::journal

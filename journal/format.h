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

}  // namespace georep::journal

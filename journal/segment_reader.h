// SegmentReader: logical records of one segment file, in file order.
// Internal to journal/ (JournalReader, the writer's recovery and the dump tool
// use it). See FORMAT.md, "Reading: torn tails and damage".
//
// Caller guarantees: calls Next(sealed=true) only once the file can no longer
// grow (the writer has moved on to a later segment or is not running).
// Caller gets: complete, checksum-valid logical payloads only. Incomplete
// data at the end is "no data yet" while the segment is live and the end of
// the segment once sealed. Damage followed by valid data is skipped to the
// next block boundary where a valid physical record starts, and counted in
// the CorruptionReport passed in.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "journal/reader.h"

namespace georep::journal::internal {

class SegmentReader {
 public:
  // `report` must outlive the reader; it accumulates damage found.
  static Result<std::unique_ptr<SegmentReader>> Open(const std::string& path,
                                                     CorruptionReport* report);
  ~SegmentReader();
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;

  enum class Outcome { kRecord, kNoData };
  // kRecord: *payload holds one logical record (valid until the next call).
  // kNoData: nothing more now (live) or the end of the segment (sealed).
  Result<Outcome> Next(bool sealed, std::string* payload);

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  // File offset where the last returned record started.
  uint64_t record_offset() const { return record_offset_; }
  // Bytes consumed so far (the offset of the next physical record).
  uint64_t offset() const { return pos_; }

 private:
  SegmentReader(std::string path, int fd, CorruptionReport* report);
  enum class Phys { kOk, kEof, kBad };
  Result<bool> Ensure(uint64_t pos, size_t n);
  Result<Phys> ReadPhysical(uint8_t* type, std::string_view* fragment, const char** why);
  Result<bool> ValidRecordAt(uint64_t pos);
  void DropPartial();
  void Damage(uint64_t start, uint64_t resume, uint64_t where);

  std::string path_;
  int fd_;
  CorruptionReport* report_;
  uint64_t pos_ = 0;
  std::vector<char> buf_;
  uint64_t buf_block_ = UINT64_MAX;
  size_t buf_len_ = 0;
  // Logical record being assembled from FIRST/MIDDLE fragments.
  bool assembling_ = false;
  uint64_t assembly_start_ = 0;
  std::string assembly_;
  // After skipping damage, MIDDLE/LAST fragments of the broken record are
  // expected and dropped without counting a new event.
  bool skipping_ = false;
  bool ended_ = false;
  uint64_t record_offset_ = 0;
};

}  // namespace georep::journal::internal

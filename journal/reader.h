// JournalReader: reads (and tails) a brick's journal from a sequence number.
//
// Caller gets records in sequence order, each exactly once, starting after
// `after_seq`. A torn tail (an incomplete record at the end of a segment that
// has a successor, or at the end of the live segment) is treated as end of
// data. Damage in the middle of a segment is skipped, counted and reported via
// corruption(); it is never returned as a record. A hole in the sequence
// (records removed by the size cap, or lost by a failed append) makes Next()
// return kFailedPrecondition naming the missing range: the consumer must do a
// full resync and must not silently continue. That error is returned once;
// calling Next() again continues with the first record after the hole (for
// tools such as `georep journal dump`). A sequence number that does not
// increase (a journal reset behind the reader's back) is reported the same way.
// Next() returning an error other than kFailedPrecondition (I/O) may be
// retried; the reader's position is unchanged.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "journal/record.h"

namespace georep::journal {

struct CorruptionReport {
  uint64_t events = 0;          // distinct damaged regions skipped
  uint64_t bytes_dropped = 0;
  std::string last_segment;     // where the last one was found
  uint64_t last_offset = 0;
};

class JournalReader {
 public:
  // brick_path as for WriterOptions. after_seq = 0 reads from the oldest
  // segment on disk (records lost from its start are still a gap).
  static Result<std::unique_ptr<JournalReader>> Open(const std::string& brick_path,
                                                      uint64_t after_seq);
  virtual ~JournalReader() = default;

  // true and *out filled: a record. false: nothing more right now.
  virtual Result<bool> Next(Record* out) = 0;
  // Blocks until the journal may have grown or `timeout` passes (inotify,
  // with a polling fallback). Spurious wake-ups are allowed.
  virtual Status WaitForData(std::chrono::milliseconds timeout) = 0;
  virtual const CorruptionReport& corruption() const = 0;
  // Sequence of the last record returned (or after_seq).
  virtual uint64_t last_seq() const = 0;
  // Called from Next() with the segment's path and header whenever the
  // reader reads a segment header (for `georep journal dump`).
  virtual void SetSegmentHeaderCallback(
      std::function<void(const std::string& segment, const SegmentHeader& header)> fn) = 0;
};

}  // namespace georep::journal

// JournalWriter: appends change records to a brick's journal.
//
// Caller guarantees: one JournalWriter per brick at a time (the brick process).
// Caller gets: every Append that returned ok is in the kernel before return
// (so it survives SIGKILL of the brick), and on stable storage within the
// fsync window of the configured FsyncPolicy (or before return with kAlways).
// Sequence numbers are assigned here: strictly increasing, never reused,
// continued across restarts from the last valid record on disk. A failed
// append still consumes its sequence number, so consumers see the gap.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "journal/record.h"

namespace georep::journal {

enum class FsyncPolicy { kNever = 0, kInterval = 1, kAlways = 2 };

struct WriterOptions {
  std::string brick_path;                 // journal root is brick_path/kJournalSubdir
  std::string brick_id;                   // written into segment headers
  uint64_t segment_size = 64ull << 20;    // roll over to a new segment past this
  uint64_t max_journal_size = 4ull << 30; // cap on all segments; 0 = none
  FsyncPolicy fsync = FsyncPolicy::kInterval;
  uint32_t fsync_interval_ms = 1000;
  // Open waits this long for another writer of the same journal (a brick
  // process still exiting) to let go of <journal root>/writer.lock, then
  // fails with kUnavailable. Two writers would hand out the same numbers.
  uint32_t lock_wait_ms = 10000;
  // Receives every operator-relevant event (consumers marked for resync by
  // the size cap, failed appends, segments removed outside georep, sync
  // failures) as one complete sentence. May be called from any appending
  // thread or the background sync thread, possibly with the writer's lock
  // held: it must not call back into the writer. Unset: lines on stderr.
  std::function<void(const std::string& message)> on_warning;
};

struct WriterStats {
  uint64_t next_seq = 0;
  uint64_t records = 0;        // appended by this writer since open
  uint64_t append_errors = 0;
  uint64_t segments = 0;       // segment files currently on disk
  uint64_t bytes = 0;          // their total size
  uint64_t resync_marks = 0;   // consumers marked for resync by this writer
  uint64_t sync_errors = 0;    // failed fdatasync calls
  uint64_t syncs = 0;          // fdatasync calls made (group commit shares them)
};

class JournalWriter {
 public:
  // Creates the directories if needed, recovers the next sequence number,
  // and starts a fresh segment (never appends after a possibly torn tail).
  static Result<std::unique_ptr<JournalWriter>> Open(const WriterOptions& options);
  virtual ~JournalWriter() = default;

  // Thread-safe. Sets r->seq (and r->time_ns when zero) and appends.
  virtual Status Append(Record* r) = 0;
  // Applies segment_size, max_journal_size and fsync settings.
  virtual Status Reconfigure(const WriterOptions& options) = 0;
  virtual WriterStats Stats() = 0;
  // Flushes and syncs; further appends fail.
  virtual Status Close() = 0;
};

// Journal root for a brick: brick_path + "/" + kJournalSubdir.
std::string JournalRoot(const std::string& brick_path);

// Whether a live JournalWriter (normally the brick process with the georep
// translator loaded) holds the brick's journal open right now: true when
// another process holds <journal root>/writer.lock. False when the journal or
// its lock file does not exist, or nobody holds it (translator not loaded, or
// the brick process is down). Used to refuse starting a session on a brick
// whose changes would not be recorded. Probing takes the lock shared for an
// instant; a brick starting at that moment waits for it (bounded).
Result<bool> JournalWriterAttached(const std::string& brick_path);

}  // namespace georep::journal

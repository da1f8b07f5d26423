// SecondaryFiles: the regular files a resync's prune listed on the secondary
// (GFID, size, mtime), so that the crawl after it re-sends the data of only
// those files whose copy differs (PROTOCOL.md, "Resync").
//
// A copy with the primary's GFID, size and mtime (to the nanosecond) is taken
// as unchanged: the quick check rsync makes by default, and with it native
// geo-replication's resync. It holds because every write moves the primary's
// mtime, and georep gives a secondary file the primary's mtime only after its
// data: the SETATTR with the times follows the file's DATA ops, batches are
// applied and acknowledged in order, and a copy cut short keeps the mtime of
// the receiver's last write. What it cannot see: content changed in the lost
// interval and the mtime then set back to exactly its old value (touch -d,
// tar or rsync -t of a file of the same size). `resync_quick_check no`
// re-sends every file.
//
// Bounded: at most kMaxFiles entries (32 bytes each: 128 MiB); files beyond
// that are sent in full, as without the index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sync/protocol/messages.h"

namespace georep::daemon {

class SecondaryFiles {
 public:
  static constexpr size_t kMaxFiles = size_t{4} << 20;

  explicit SecondaryFiles(size_t max_files = kMaxFiles) : max_files_(max_files) {}

  // Records a file the secondary has; false when the index is full (the
  // file is not recorded, and is sent in full).
  bool Add(const protocol::Gfid& gfid, uint64_t size, int64_t mtime_ns);
  // Sorts the records for Matches. Call after the last Add.
  void Seal();
  // Whether the secondary's copy of `gfid` had this size and mtime. Only
  // after Seal; a GFID listed twice (hard links) matches either record.
  bool Matches(const protocol::Gfid& gfid, uint64_t size, int64_t mtime_ns) const;

  size_t size() const { return files_.size(); }
  // Files that did not fit (see kMaxFiles).
  uint64_t dropped() const { return dropped_; }

 private:
  struct File {
    protocol::Gfid gfid;
    uint64_t size;
    int64_t mtime_ns;
  };
  size_t max_files_;
  std::vector<File> files_;
  uint64_t dropped_ = 0;
  bool sealed_ = false;
};

}  // namespace georep::daemon

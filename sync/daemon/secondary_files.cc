#include "sync/daemon/secondary_files.h"

#include <algorithm>
#include <tuple>

namespace georep::daemon {

bool SecondaryFiles::Add(const protocol::Gfid& gfid, uint64_t size, int64_t mtime_ns) {
  if (files_.size() >= max_files_) {
    ++dropped_;
    return false;
  }
  files_.push_back(File{gfid, size, mtime_ns});
  sealed_ = false;
  return true;
}

void SecondaryFiles::Seal() {
  std::sort(files_.begin(), files_.end(), [](const File& a, const File& b) {
    return std::tie(a.gfid, a.size, a.mtime_ns) < std::tie(b.gfid, b.size, b.mtime_ns);
  });
  sealed_ = true;
}

bool SecondaryFiles::Matches(const protocol::Gfid& gfid, uint64_t size, int64_t mtime_ns) const {
  if (!sealed_) return false;  // unsorted: a binary search could miss; send in full
  auto it = std::lower_bound(files_.begin(), files_.end(), gfid,
                             [](const File& f, const protocol::Gfid& g) { return f.gfid < g; });
  for (; it != files_.end() && it->gfid == gfid; ++it) {
    if (it->size == size && it->mtime_ns == mtime_ns) return true;
  }
  return false;
}

}  // namespace georep::daemon

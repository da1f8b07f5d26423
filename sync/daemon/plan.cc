#include "sync/daemon/plan.h"

#include <algorithm>
#include <iterator>

namespace georep::daemon {

void RangeSet::Add(uint64_t begin, uint64_t end) {
  if (end <= begin) return;
  // Merge with every range that overlaps or touches [begin, end).
  auto it = ranges_.upper_bound(begin);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= begin) it = prev;
  }
  while (it != ranges_.end() && it->first <= end) {
    begin = std::min(begin, it->first);
    end = std::max(end, it->second);
    it = ranges_.erase(it);
  }
  ranges_.emplace(begin, end);
  if (ranges_.size() > kMaxRanges) {
    uint64_t lo = ranges_.begin()->first;
    uint64_t hi = 0;
    for (const auto& [b, e] : ranges_) hi = std::max(hi, e);
    ranges_.clear();
    ranges_.emplace(lo, hi);
  }
}

uint64_t RangeSet::CoveredBytes(uint64_t size) const {
  uint64_t total = 0;
  for (const auto& [b, e] : ranges_) {
    uint64_t end = std::min(e, size);
    if (end > b) total += end - b;
  }
  return total;
}

uint64_t Plan::entry_items() const {
  return std::count_if(items.begin(), items.end(),
                       [](const PlanItem& i) { return i.kind == PlanItem::Kind::kEntry; });
}
uint64_t Plan::data_items() const {
  return std::count_if(items.begin(), items.end(),
                       [](const PlanItem& i) { return i.kind == PlanItem::Kind::kData; });
}
uint64_t Plan::meta_items() const {
  return std::count_if(items.begin(), items.end(),
                       [](const PlanItem& i) { return i.kind == PlanItem::Kind::kMeta; });
}

bool IsSyncableXattr(const std::string& name) {
  return name.rfind("user.", 0) == 0 || name.rfind("security.", 0) == 0 ||
         name.rfind("system.posix_acl_", 0) == 0;
}

bool IsInternalRootName(const std::string& name) {
  return name == ".glusterfs" || name == ".trashcan" ||
         name.rfind(".glusterfs-anonymous-inode-", 0) == 0;
}

}  // namespace georep::daemon

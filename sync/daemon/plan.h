// Plan: what one window of changes needs on the secondary, in the order it
// must be applied. Built by the Coalescer from journal records or by the
// BrickCrawler from a brick walk; turned into wire ops by the Materializer,
// which reads the current data and metadata from the primary volume.
//
// Entry items carry the wire op itself (names and GFIDs are all they need).
// Data and metadata items only say WHAT changed (ranges, attribute bits,
// xattr names); the values are read from the primary when the batch is
// built, so several changes to the same object collapse to its latest state.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "sync/protocol/messages.h"

namespace georep::daemon {

using protocol::Gfid;

// Half-open byte ranges, merged when they overlap or touch. An end of
// kToEof means "to the end of the file, whatever its size then".
class RangeSet {
 public:
  static constexpr uint64_t kToEof = UINT64_MAX;
  // Past this many disjoint ranges the set collapses to their hull: a file
  // written in a million scattered places is resent whole rather than
  // tracked range by range (bounded memory per window).
  static constexpr size_t kMaxRanges = 1024;

  void Add(uint64_t begin, uint64_t end);
  bool empty() const { return ranges_.empty(); }
  size_t size() const { return ranges_.size(); }
  const std::map<uint64_t, uint64_t>& ranges() const { return ranges_; }
  // Total bytes covered, clipping kToEof ranges at `size`.
  uint64_t CoveredBytes(uint64_t size) const;

 private:
  std::map<uint64_t, uint64_t> ranges_;  // begin -> end
};

struct AllocRange {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool keep_size = false;
};

struct PlanItem {
  enum class Kind { kEntry, kData, kMeta };
  Kind kind = Kind::kEntry;
  Gfid gfid{};

  // kEntry
  protocol::Op entry;

  // kData: the ranges whose current content (data or holes) must be sent,
  // then the file size and times.
  RangeSet ranges;
  std::vector<AllocRange> allocs;  // fallocate calls to replay first
  // Attribute bits sent with the times after the data (moved here from a
  // metadata item of the same object that preceded this one, saving a op).
  uint32_t final_attr_mask = 0;

  // kMeta
  uint32_t attr_mask = 0;          // protocol::SetattrBit set
  std::set<std::string> xattrs;    // names to copy (or remove when gone)
  bool all_xattrs = false;         // copy every syncable xattr (crawl)
};

struct Plan {
  std::vector<PlanItem> items;
  uint64_t first_seq = 0;          // journal range this plan covers (0,0 for a crawl)
  uint64_t last_seq = 0;
  uint64_t newest_time_ns = 0;     // time of the newest record covered
  uint64_t records = 0;            // records read
  uint64_t skipped = 0;            // records ignored on purpose (origin, DHT linkto, ...)
  uint64_t vanished = 0;           // items dropped because the object was created and removed
  uint64_t entry_items() const;
  uint64_t data_items() const;
  uint64_t meta_items() const;
};

// True for xattr names georep copies: user.*, security.*, system.posix_acl_*.
// trusted.* and glusterfs.* belong to GlusterFS itself and are never copied.
bool IsSyncableXattr(const std::string& name);

// Names in a brick's root that belong to GlusterFS and that clients never
// see: .glusterfs, .trashcan, and AFR's .glusterfs-anonymous-inode-<uuid>.
bool IsInternalRootName(const std::string& name);

}  // namespace georep::daemon

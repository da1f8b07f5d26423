// BrickCrawler: the initial (or resync) crawl of one brick.
//
// Walks the brick directory depth-first, skipping .glusterfs (GlusterFS's
// own metadata) at the top, and reports what the secondary needs as plan
// items, in an order the receiver can apply:
//   * a directory's create comes before anything inside it;
//   * every object is named by the trusted.gfid of its brick file, and its
//     parent by the parent directory's trusted.gfid;
//   * a file with several hard links is created once and linked for its
//     other names (matched by GFID);
//   * each regular file gets a data item covering the whole file (read
//     through gfapi, holes preserved) and every object a metadata item with
//     ownership, mode, times and all copyable xattrs;
//   * a directory's metadata (incl. times) comes after its contents, so
//     creating the children does not disturb its mtime on the secondary.
// Skipped: DHT link-to files (mode ---------T, trusted.glusterfs.dht.linkto),
// entries without trusted.gfid (not yet visible to clients), and objects that
// vanish during the walk. Errors on single entries are counted and logged;
// an unreadable directory fails the crawl (it is retried as a whole later).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "sync/daemon/plan.h"

namespace georep::daemon {

struct CrawlStats {
  uint64_t dirs = 0;
  uint64_t files = 0;
  uint64_t others = 0;    // symlinks, fifos, sockets, devices
  uint64_t links = 0;     // extra names of hard-linked files
  uint64_t skipped = 0;   // link-to files, entries without a gfid, vanished entries
};

class BrickCrawler {
 public:
  using ItemSink = std::function<Status(PlanItem item)>;
  using StopCheck = std::function<bool()>;

  BrickCrawler(std::string brick_path, ItemSink sink, StopCheck stop)
      : brick_(std::move(brick_path)), sink_(std::move(sink)), stop_(std::move(stop)) {}
  // kAborted when stopped on request.
  Status Run();
  const CrawlStats& stats() const { return stats_; }

 private:
  Status Walk(const std::string& dir, const Gfid& dir_gfid, int depth);

  std::string brick_;
  ItemSink sink_;
  StopCheck stop_;
  CrawlStats stats_;
  std::map<Gfid, bool> seen_links_;  // gfids of multiply linked files already created
};

// Reads trusted.gfid of a brick path (no symlink following).
Result<Gfid> ReadBrickGfid(const std::string& path);

// For the GFID of a regular file: whether the brick holds it, i.e. its
// GlusterFS handle .glusterfs/xx/yy/<gfid> exists. A DHT link-to file
// counts (it shares its file's GFID).
bool BrickHasFile(const std::string& brick_path, const Gfid& gfid);

}  // namespace georep::daemon

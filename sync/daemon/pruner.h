// SecondaryPruner: the first step of a resync (PROTOCOL.md, "Resync").
//
// When a brick's journal drops records a session has not synced (its size
// cap), the deletions and renames among them are lost with them. The crawl
// that follows sends everything the primary has, but it cannot know what
// the secondary still has that the primary no longer does. The pruner finds
// that: it lists the secondary's directories (LIST_REQUEST), from the root
// down, and asks the primary volume about each entry: first the primary's
// own listing of that directory (DataSource::ListNames, a page of names per
// round trip), then, for an entry not found there with the same GFID, a
// lookup by name, which sees every brick and alone decides:
//   * the primary has the same name with the same GFID: kept; a directory is
//     listed in turn;
//   * the name is gone on the primary, or names another GFID: the entry is
//     stale. A file, symlink or special file is unlinked (the UNLINK carries
//     its GFID, so an entry that replaced it since is left alone); a
//     directory is emptied depth-first, then removed;
//   * any other answer from the primary (a brick down, a timeout), or an
//     entry listed without a GFID (an UNLINK without one removes whatever
//     holds the name when it runs): kept and counted as unchecked. Nothing
//     is removed on a guess.
// A renamed object so loses its old name; the crawl gives it the new one
// (and sends a file's content unless the secondary kept it under a name
// the primary still has: set_kept_file, secondary_files.h). What another worker replays
// meanwhile stays consistent: the primary is asked after the secondary was
// listed, so an entry removed here is one the primary no longer has, and a
// later op that needs it finds it missing and is repaired from the primary.
//
// Ops go out through `apply` in batches of at most `max_ops`, in the order
// they were decided; a failed op is logged and counted, not fatal (the
// verifier shows what is left). A stale directory that is not empty when its
// RMDIR comes (another worker replayed a create into it, or pruned it at the
// same time: every worker that resyncs prunes the whole volume) is listed
// and emptied again, up to kRmdirAttempts times. Directories deeper than
// kMaxDepth fail the prune, as they fail the crawl.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "sync/daemon/data_source.h"
#include "sync/protocol/messages.h"

namespace georep::daemon {

struct PruneStats {
  uint64_t dirs_listed = 0;
  uint64_t entries_checked = 0;
  // How entries with a GFID were checked against the primary: found in its
  // listing of the same directory, or looked up by name one by one.
  uint64_t confirmed_by_listing = 0;
  uint64_t primary_lookups = 0;
  // As the receiver acknowledged them (a name already gone counts too).
  uint64_t unlinked = 0;       // stale non-directories
  uint64_t dirs_removed = 0;   // stale directories (their contents are in `unlinked` and here)
  uint64_t unchecked = 0;      // kept because the primary could not answer
  uint64_t failed_ops = 0;     // removals the receiver refused
};

class SecondaryPruner {
 public:
  // A page of each of several secondary directories, each from its cookie
  // (LIST_REQUEST/REPLY): all requests are sent before the first reply is
  // awaited, so a group of directories costs one round trip, not one each.
  // The replies come in the order of the requests; an error fails them all.
  using PageRequest = std::pair<protocol::Gfid, uint64_t>;
  using ListPages = std::function<Result<std::vector<protocol::ListReply>>(const std::vector<PageRequest>& pages)>;
  // Applies ops on the secondary in order; the failures the receiver
  // reported (indices into `ops`).
  using ApplyOps = std::function<Result<std::vector<protocol::OpFailure>>(std::vector<protocol::Op> ops)>;
  using StopCheck = std::function<bool()>;
  // Told of every regular file kept on the secondary (same name and GFID on
  // the primary), with the size and mtime the listing showed: the crawl's
  // quick check (secondary_files.h).
  using KeptFile = std::function<void(const protocol::ListEntry& file)>;

  static constexpr int kMaxDepth = 512;
  // Pages per directory: 1024 entries each, so ~100 million entries; a
  // receiver that never ends a listing cannot keep the prune going.
  static constexpr uint64_t kMaxPagesPerDir = 100000;
  // Times a stale directory is emptied and removed before its ENOTEMPTY
  // counts as a failure.
  static constexpr int kRmdirAttempts = 3;
  // Directories whose first pages are asked for together (one round trip
  // over the SSH link, which a WAN makes the prune's main cost). Memory:
  // this many pages of 1024 entries, plus one directory listed whole.
  static constexpr size_t kListsInFlight = 16;

  SecondaryPruner(DataSource* primary, ListPages list, ApplyOps apply, StopCheck stop, size_t max_ops)
      : primary_(primary), list_(std::move(list)), apply_(std::move(apply)), stop_(std::move(stop)),
        max_ops_(max_ops < 1 ? 1 : max_ops) {}

  // kAborted when stopped on request; another error when a listing or the
  // connection fails (the resync is retried as a whole).
  Status Run();
  const PruneStats& stats() const { return stats_; }
  void set_kept_file(KeptFile f) { kept_file_ = std::move(f); }

 private:
  // One page of a secondary directory, alone in its request.
  Result<protocol::ListReply> ListOnePage(const protocol::Gfid& dir, uint64_t cookie);
  // Every entry of a secondary directory (all pages); ENOENT as kNotFound.
  Result<std::vector<protocol::ListEntry>> ListAll(const protocol::Gfid& dir);
  // The same, given the directory's first page (already asked for).
  Result<std::vector<protocol::ListEntry>> ListRest(const protocol::Gfid& dir, protocol::ListReply first);
  // Compares one listed directory of both sides (Run's loop body).
  Status CheckDirectory(const protocol::Gfid& dir, int depth, std::vector<protocol::ListEntry> entries,
                        std::deque<std::pair<protocol::Gfid, int>>* dirs);
  // Queues the removal of the stale entry `entry` of `parent`: an UNLINK,
  // or for a directory RemoveTree. An entry listed without a GFID is kept
  // and counted as unchecked (an UNLINK without one removes whatever holds
  // the name when it runs).
  Status RemoveStale(const protocol::Gfid& parent, const protocol::ListEntry& entry, int depth);
  // Queues the removal of stale directory `entry` in `parent`: its contents
  // first, then itself.
  Status RemoveTree(const protocol::Gfid& parent, const protocol::ListEntry& entry, int depth);
  Status Queue(protocol::Op op);
  Status Flush();

  DataSource* primary_;
  ListPages list_;
  ApplyOps apply_;
  StopCheck stop_;
  KeptFile kept_file_;
  size_t max_ops_;
  std::vector<protocol::Op> pending_;
  // Stale directories whose RMDIR found them not empty, for another round.
  std::vector<protocol::RmdirOp> not_empty_;
  // The round of removals running now (1-based); the last one's ENOTEMPTY
  // is a failure.
  int rmdir_round_ = 1;
  PruneStats stats_;
};

}  // namespace georep::daemon

#include "sync/daemon/pruner.h"

#include <sys/stat.h>

#include <cerrno>
#include <deque>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "sync/common/log.h"
#include "sync/daemon/plan.h"

namespace georep::daemon {

namespace {

using protocol::Gfid;
using protocol::GfidToString;

// Names in the secondary's root that are GlusterFS's own: never compared,
// never removed (sharding's block store above all: removing it would
// destroy every sharded file's data).
bool SkippedAtRoot(const std::string& name) {
  return IsInternalRootName(name) || name == ".shard" || name == ".gfid";
}

std::string Where(const Gfid& dir, const std::string& name) {
  return GfidToString(dir) + "/" + protocol::PrintableName(name);
}

}  // namespace

Result<protocol::ListReply> SecondaryPruner::ListOnePage(const Gfid& dir, uint64_t cookie) {
  Result<std::vector<protocol::ListReply>> pages = list_({{dir, cookie}});
  if (!pages.ok()) return pages.status();
  if (pages->size() != 1) {
    return Status(Code::kAborted, "listing of directory " + GfidToString(dir) + ": " +
                                      std::to_string(pages->size()) + " replies to one request");
  }
  return std::move(pages->front());
}

Result<std::vector<protocol::ListEntry>> SecondaryPruner::ListAll(const Gfid& dir) {
  Result<protocol::ListReply> first = ListOnePage(dir, 0);
  if (!first.ok()) return first.status();
  return ListRest(dir, std::move(first).value());
}

Result<std::vector<protocol::ListEntry>> SecondaryPruner::ListRest(const Gfid& dir, protocol::ListReply page) {
  std::vector<protocol::ListEntry> all;
  uint64_t cookie = 0;
  for (uint64_t n = 1;; ++n) {
    if (page.err != 0) {
      if (page.err == ENOENT) return Status(Code::kNotFound, "directory " + GfidToString(dir) + " is gone on the secondary");
      return Status::FromErrno(page.err, "list directory " + GfidToString(dir) + " on the secondary");
    }
    for (protocol::ListEntry& e : page.entries) all.push_back(std::move(e));
    if (page.eof) return all;
    if (page.next_cookie == cookie && page.entries.empty()) {
      return Status(Code::kAborted, "the secondary's listing of directory " + GfidToString(dir) +
                                        " makes no progress (cookie " + std::to_string(cookie) + ")");
    }
    if (n == kMaxPagesPerDir) {
      return Status(Code::kAborted, "the secondary's listing of directory " + GfidToString(dir) +
                                        " did not end after " + std::to_string(kMaxPagesPerDir) +
                                        " pages");
    }
    cookie = page.next_cookie;
    Result<protocol::ListReply> next = ListOnePage(dir, cookie);
    if (!next.ok()) return next.status();
    page = std::move(next).value();
  }
}

Status SecondaryPruner::Queue(protocol::Op op) {
  pending_.push_back(std::move(op));
  if (pending_.size() >= max_ops_) return Flush();
  return Status::Ok();
}

Status SecondaryPruner::Flush() {
  if (pending_.empty()) return Status::Ok();
  std::vector<protocol::Op> ops;
  ops.swap(pending_);
  Result<std::vector<protocol::OpFailure>> failures = apply_(ops);
  if (!failures.ok()) return failures.status();
  std::vector<bool> failed(ops.size(), false);
  for (const protocol::OpFailure& f : *failures) {
    if (f.index < ops.size()) failed[f.index] = true;
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    if (failed[i]) continue;
    if (std::holds_alternative<protocol::UnlinkOp>(ops[i])) ++stats_.unlinked;
    if (std::holds_alternative<protocol::RmdirOp>(ops[i])) ++stats_.dirs_removed;
  }
  for (const protocol::OpFailure& f : *failures) {
    const auto* rmdir = f.index < ops.size() ? std::get_if<protocol::RmdirOp>(&ops[f.index]) : nullptr;
    if (rmdir != nullptr && f.err == ENOTEMPTY && rmdir_round_ < kRmdirAttempts) {
      log::Debug("prune", "stale directory " + Where(rmdir->pargfid, rmdir->name) +
                              " was not empty when removed; emptying it again");
      not_empty_.push_back(*rmdir);
      continue;
    }
    ++stats_.failed_ops;
    log::Warning("prune", "the secondary refused " + (f.index < ops.size() ? protocol::DescribeOp(ops[f.index]) : std::string("an op")) +
                              ": " + f.message + " (errno " + std::to_string(f.err) +
                              "); the entry stays, georep verify shows it");
  }
  return Status::Ok();
}

Status SecondaryPruner::RemoveStale(const Gfid& parent, const protocol::ListEntry& entry, int depth) {
  if (protocol::IsNullGfid(entry.gfid)) {
    ++stats_.unchecked;
    log::Warning("prune", "kept " + Where(parent, entry.name) + " on the secondary: it has no GFID");
    return Status::Ok();
  }
  if (S_ISDIR(entry.mode)) return RemoveTree(parent, entry, depth);
  return Queue(protocol::UnlinkOp{parent, entry.name, entry.gfid});
}

Status SecondaryPruner::RemoveTree(const Gfid& parent, const protocol::ListEntry& entry, int depth) {
  if (depth > kMaxDepth) {
    return Status(Code::kFailedPrecondition, "directory nesting deeper than " +
                                                 std::to_string(kMaxDepth) + " at " + Where(parent, entry.name));
  }
  if (stop_()) return Status(Code::kAborted, "prune stopped");
  Result<std::vector<protocol::ListEntry>> children = ListAll(entry.gfid);
  if (!children.ok() && children.status().code() != Code::kNotFound) return children.status();
  ++stats_.dirs_listed;
  if (children.ok()) {
    // A child kept for want of a GFID makes the RMDIR below fail, and that
    // is reported.
    for (const protocol::ListEntry& c : *children) {
      GEOREP_RETURN_IF_ERROR(RemoveStale(entry.gfid, c, depth + 1));
    }
  }
  return Queue(protocol::RmdirOp{parent, entry.name, entry.gfid});
}

Status SecondaryPruner::CheckDirectory(const Gfid& dir, int depth, std::vector<protocol::ListEntry> entries,
                                       std::deque<std::pair<Gfid, int>>* dirs) {
  ++stats_.dirs_listed;
  const bool root = dir == protocol::RootGfid();
  // The primary's names of this directory, listed after the secondary's:
  // an entry found there with the same GFID is kept without a lookup of
  // its own. Anything else (missing, another GFID, no listing at all) is
  // looked up by name, which alone decides that an entry is stale.
  Result<std::unordered_map<std::string, Gfid>> primary_names =
      entries.empty() ? Result<std::unordered_map<std::string, Gfid>>(std::unordered_map<std::string, Gfid>())
                       : primary_->ListNames(dir);
  if (!primary_names.ok() && primary_names.status().code() != Code::kFailedPrecondition) {
    log::Debug("prune", "listing " + GfidToString(dir) + " on the primary failed (" +
                            primary_names.status().ToString() + "): every entry is looked up");
  }
  for (const protocol::ListEntry& e : entries) {
    if (root && SkippedAtRoot(e.name)) continue;
    if (stop_()) return Status(Code::kAborted, "prune stopped");
    ++stats_.entries_checked;
    // Without a GFID there is nothing to compare: RemoveStale keeps it.
    if (!protocol::IsNullGfid(e.gfid)) {
      // The primary is asked after the secondary was listed: whatever it
      // says is at least as new as what the secondary showed.
      Result<Gfid> now = Status(Code::kNotFound, "");
      if (primary_names.ok()) {
        auto listed = primary_names->find(e.name);
        if (listed != primary_names->end() && listed->second == e.gfid) {
          now = listed->second;
          ++stats_.confirmed_by_listing;
        }
      }
      if (!now.ok()) {
        ++stats_.primary_lookups;
        now = primary_->LookupName(dir, e.name);
      }
      if (now.ok() && *now == e.gfid) {
        if (S_ISDIR(e.mode)) dirs->emplace_back(e.gfid, depth + 1);
        if (S_ISREG(e.mode) && kept_file_) kept_file_(e);
        continue;
      }
      if (!now.ok() && now.status().code() != Code::kNotFound) {
        ++stats_.unchecked;
        log::Warning("prune", "kept " + Where(dir, e.name) + " on the secondary: the primary could not "
                                  "say whether it still has it (" + now.status().ToString() + ")");
        continue;
      }
      log::Debug("prune", "stale on the secondary: " + Where(dir, e.name) + " (GFID " + GfidToString(e.gfid) +
                              (now.ok() ? "; the primary has GFID " + GfidToString(*now) + " there)"
                                        : "; gone on the primary)"));
    }
    GEOREP_RETURN_IF_ERROR(RemoveStale(dir, e, depth + 1));
  }
  return Status::Ok();
}

Status SecondaryPruner::Run() {
  // Breadth-first over the directories both sides agree on; a stale
  // directory is removed as a whole where it is found. Directories are
  // listed in groups: their first pages in one round trip.
  std::deque<std::pair<Gfid, int>> dirs;
  dirs.emplace_back(protocol::RootGfid(), 0);
  while (!dirs.empty()) {
    if (stop_()) return Status(Code::kAborted, "prune stopped");
    std::vector<std::pair<Gfid, int>> group;
    std::vector<PageRequest> first_pages;
    while (!dirs.empty() && group.size() < kListsInFlight) {
      auto [dir, depth] = dirs.front();
      dirs.pop_front();
      if (depth > kMaxDepth) {
        return Status(Code::kFailedPrecondition, "directory nesting deeper than " +
                                                     std::to_string(kMaxDepth) + " under " + GfidToString(dir));
      }
      group.emplace_back(dir, depth);
      first_pages.emplace_back(dir, 0);
    }
    Result<std::vector<protocol::ListReply>> pages = list_(first_pages);
    if (!pages.ok()) return pages.status();
    if (pages->size() != group.size()) {
      return Status(Code::kAborted, "listing " + std::to_string(group.size()) + " directories: " +
                                        std::to_string(pages->size()) + " replies");
    }
    for (size_t i = 0; i < group.size(); ++i) {
      if (stop_()) return Status(Code::kAborted, "prune stopped");
      const auto& [dir, depth] = group[i];
      Result<std::vector<protocol::ListEntry>> entries = ListRest(dir, std::move((*pages)[i]));
      if (!entries.ok()) {
        // Removed on the secondary since its parent was listed (another
        // worker replaying a deletion): nothing left to compare.
        if (entries.status().code() == Code::kNotFound) continue;
        return entries.status();
      }
      GEOREP_RETURN_IF_ERROR(CheckDirectory(dir, depth, std::move(entries).value(), &dirs));
    }
  }
  GEOREP_RETURN_IF_ERROR(Flush());
  // Stale directories something refilled meanwhile: again, bounded.
  for (rmdir_round_ = 2; rmdir_round_ <= kRmdirAttempts && !not_empty_.empty(); ++rmdir_round_) {
    std::vector<protocol::RmdirOp> again;
    again.swap(not_empty_);
    for (const protocol::RmdirOp& r : again) {
      GEOREP_RETURN_IF_ERROR(RemoveTree(r.pargfid, protocol::ListEntry{r.name, r.gfid, S_IFDIR}, 1));
    }
    GEOREP_RETURN_IF_ERROR(Flush());
  }
  return Status::Ok();
}

}  // namespace georep::daemon

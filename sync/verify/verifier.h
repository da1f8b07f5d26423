// Compares a primary and a secondary tree: scans both at once (gfapi walks,
// then per-entry details and content digests on a bounded pool of threads),
// and diffs the two manifests. Reuses its gfapi connections across passes, so
// --wait-until-equal can poll cheaply.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/status.h"
#include "sync/verify/differ.h"
#include "sync/verify/manifest.h"
#include "sync/verify/volume.h"

namespace georep::verify {

struct DigestJob;  // verifier.cc

// Measured on 2 cores (1000 small files, both volumes on one node): 4 beat 8
// by ~8%: past the point where the bricks are busy, more threads only add
// lock hand-offs and context switches in gfapi.
constexpr int kDefaultThreads = 4;
constexpr int kMaxThreads = 64;

struct VerifyOptions {
  DiffOptions diff;
  // Concurrent gfapi requests per volume (details, then content reads).
  int threads = kDefaultThreads;
  std::string root = "/";  // compare only this subtree (same path on both sides)
};

// One side of the comparison: a live volume, or a manifest made elsewhere.
struct Side {
  std::unique_ptr<GlusterVolume> volume;
  std::optional<Manifest> manifest;
  std::string Describe() const;
};

struct PassStats {
  size_t primary_entries = 0;
  size_t secondary_entries = 0;
  size_t files_hashed = 0;     // digests computed (not served from the cache)
  uint64_t bytes_hashed = 0;
  bool content_compared = false;
  double seconds = 0;
  // Phase times, for --verbose: walks (readdirplus), per-entry details
  // (xattrs, symlinks, directory stats, and the content of files of one
  // block, read right after their details), then the remaining content
  // (larger files) and the digests' assembly. The two volumes are scanned at
  // once, so these are the slower side's times; 0 for a phase the pass did
  // not reach.
  double walk_seconds = 0;
  double details_seconds = 0;
  double content_seconds = 0;
};

struct PassResult {
  std::vector<Difference> differences;
  PassStats stats;
  // Why content was not compared although asked for (e.g. a manifest
  // without digests); empty otherwise.
  std::string content_note;
};

// --wait-until-equal's probes: entries the last walk found behind on the
// secondary, looked up one by one between walks (Verifier::kProbesPerPoll).
struct Probe {
  std::string path;
  // The primary's entry from that walk; nullopt: the entry must be absent
  // (it was extra on the secondary).
  std::optional<Entry> expected;
};
// One probe per difference of a walk-level comparison of `primary_walk`
// with the secondary, in path order.
std::vector<Probe> ProbesFromWalkDiff(const std::vector<Entry>& primary_walk,
                                      const std::vector<Difference>& diffs);
// At most `k` of the indices 0..n-1, evenly spread and always including the
// last: entries arrive in the primary's order of change, not path order, so
// a spread sample says more about the whole than the first k.
std::vector<size_t> SpreadSample(size_t n, size_t k);
// Whether the secondary's entry `seen` (nullopt: absent) matches the probe
// at walk level (as DiffManifests with `walk_options` would judge it).
bool ProbeMatches(const Probe& probe, const std::optional<Entry>& seen,
                  const DiffOptions& walk_options);

// Scans one live volume into a manifest, with digests of every regular file
// when `content` is set and xattrs when `xattrs` is. Used by --manifest-only.
Result<Manifest> BuildManifest(GlusterVolume* volume, const std::string& root, bool content,
                               bool xattrs, int threads);

class Verifier {
 public:
  Verifier(Side primary, Side secondary, VerifyOptions options);

  // One comparison: walk, details, content. With
  // `stop_at_first_differing_phase` it returns the differences of the first
  // phase that finds any (the waiting loop's fast path: a walk costs a few
  // readdirplus calls; details cost a round trip per entry); otherwise it
  // reports everything.
  Result<PassResult> RunPass(bool stop_at_first_differing_phase);

  struct WaitResult {
    bool equal = false;
    int passes = 0;
    double seconds = 0;         // from the start of the first pass to the end of the last
    // When the pass that found the trees identical began: the trees became
    // identical between the start of the pass before it and `seconds` (a
    // full pass of a large tree takes a while; benchmarks may want both).
    double confirming_pass_started = 0;
    PassResult last;            // the last completed pass
    // Polls of the secondary alone between full passes (WaitUntilEqual),
    // and how many of them walked it (the others stopped at a probe).
    int secondary_polls = 0;
    int secondary_walks = 0;
    // Warming ahead (WarmAhead): files whose content was read and hashed
    // between passes, per side (0 primary, 1 secondary), and the walks of
    // the secondary that found more to warm.
    int warmed_files[2] = {0, 0};
    int warm_walks = 0;
  };
  // Repeats RunPass with bounded exponential backoff (kWaitInitialDelay
  // doubling up to kWaitMaxDelay, but never more than kWaitPassFactor times
  // the last pass: see WaitDelay) until the trees are equal or `timeout`
  // has passed. Transient errors (Code::kUnavailable) are retried within the
  // same time limit; any other error ends the wait.
  Result<WaitResult> WaitUntilEqual(std::chrono::milliseconds timeout);

  // Between full passes the wait walks only the secondary and compares it,
  // at the walk's level, with the primary as the last full pass found it:
  // catching up happens on the secondary, and walking the primary too
  // (readdirplus of every entry, a stat and xattrs each on its bricks)
  // would take CPU from the replication being waited for. A full pass
  // follows as soon as the secondary matches, and at least this often in
  // case the primary moved toward the secondary instead.
  static constexpr std::chrono::milliseconds kWaitFullPassEvery{5000};
  // A poll looks up this many of the entries the last walk found behind
  // (SpreadSample); one that is still behind ends the poll, and when all
  // have caught up a full pass follows. Walking the secondary at every poll
  // instead cost its bricks ~0.1 s per 10000 entries, about four times a
  // second during a backlog benchmark, taken from the replication being
  // waited for; a probe costs a LOOKUP per entry, so polls can follow each
  // other closely without loading the bricks.
  static constexpr size_t kProbesPerPoll = 8;
  // Warming ahead: while the secondary is behind, the wait does the part of
  // the confirming pass that stays valid until then, instead of pausing.
  // That pass costs two round trips per small file and side: the LOOKUP
  // gfapi makes before the first fop on an inode a walk found (carrying the
  // content, which is then hashed) and the listxattr. The LOOKUP's result
  // and the digest (cached by GFID, size, mtime and ctime) outlive a pass,
  // the xattrs do not (GlusterFS does not move ctime on setxattr), so
  // between polls the wait reads and hashes, on kWarmThreads threads at
  // SCHED_IDLE and kWarmChunk files at a time (half from each side), the
  // primary's one-block files and the secondary's that already match the
  // primary at walk level, and keeps their handles. The confirming pass
  // then costs a listxattr per entry for them: over 10000 x 4 KiB files,
  // 1.4 s instead of 3.5 s. When the secondary's queue is empty, the
  // secondary is walked again for arrivals, at most every kWarmWalkEvery (a
  // walk of 10000 entries: ~0.1 s of its bricks' CPU). SCHED_IDLE: the
  // work is early, not extra, and must not slow the replication being
  // waited for (at normal priority it did).
  static constexpr int kWarmThreads = 2;
  static constexpr size_t kWarmChunk = 128;
  static constexpr std::chrono::milliseconds kWarmWalkEvery{500};
  static constexpr std::chrono::milliseconds kWaitInitialDelay{20};
  static constexpr std::chrono::milliseconds kWaitMaxDelay{1000};
  static constexpr int kWaitPassFactor = 2;

  // The pause after a pass that found differences: the doubling `backoff`,
  // capped at kWaitPassFactor times the pass's duration (at least
  // kWaitInitialDelay). Once the trees agree, the answer comes one pause plus
  // one full pass later; a pause of a second after a walk of 50 ms would be
  // most of that. The cap still leaves the bricks at least two thirds of the
  // time to themselves.
  static std::chrono::milliseconds WaitDelay(std::chrono::milliseconds backoff,
                                             std::chrono::duration<double> last_pass);

 private:
  struct Snapshot {
    std::vector<Entry> entries;
    std::vector<ObjectRef> objects;  // empty for a manifest side
  };
  Status WalkSide(int k, Snapshot* snap);
  // The comparison's options restricted to what a walk shows (no per-entry
  // round trips).
  DiffOptions WalkOnlyDiffOptions() const;
  // Whether the secondary alone seems to have caught up with
  // last_primary_walk_ (the wait's cheap poll; see kWaitFullPassEvery): the
  // probes (kProbesPerPoll) all match, or, without probes, a walk of the
  // secondary shows no difference (and renews probes_). `walked` is set
  // when it walked.
  Result<bool> SecondaryMatchesLastPrimaryWalk(bool* walked);
  // Walks the secondary into `secondary`, compares it at walk level with
  // last_primary_walk_ and renews the probes from what is behind (a poll's
  // walk, and warming's look for arrivals).
  Result<std::vector<Difference>> WalkSecondaryAgainstLastPrimaryWalk(Snapshot* secondary);
  // Details of side k; also reads the one-block files among `jobs` (job_of:
  // job index per entry of side k, -1 for none).
  Status DetailSide(int k, Snapshot* snap, std::vector<DigestJob>* jobs, const std::vector<int>& job_of);
  // The files whose digests the pass needs, from the walk: present on both
  // sides with equal sizes; digests found in the cache come ready.
  void PlanDigests(Snapshot* primary, Snapshot* secondary, std::vector<DigestJob>* jobs,
                   std::vector<int> job_of[2]);
  // Reads what the details phase did not, sets the entries' digests and
  // renews the cache.
  Status FinishDigests(std::vector<DigestJob>* jobs, PassStats* stats);

  Side sides_[2];
  VerifyOptions options_;
  // The primary's walk from the last pass that stopped at walk-level
  // differences, when both sides are live volumes; reset by any other
  // outcome.
  std::optional<std::vector<Entry>> last_primary_walk_;
  // What the last walk-level comparison with last_primary_walk_ found
  // behind on the secondary.
  std::vector<Probe> probes_;
  // Digests already computed, by side and (gfid, size, mtime, ctime): any
  // write moves ctime, so an unchanged key means unchanged content.
  using CacheKey = std::tuple<Gfid, uint64_t, int64_t, int64_t>;
  static CacheKey CacheKeyOf(const Entry& e) { return CacheKey{e.gfid, e.size, e.mtime_ns, e.ctime_ns}; }
  std::map<CacheKey, ContentDigest> cache_[2];
  // Warming ahead (kWarmThreads): files to read and hash before the
  // confirming pass.
  struct WarmItem {
    int side;
    Entry entry;
    ObjectRef object;
  };
  // Queues the one-block regular files of `primary` (when `with_primary`)
  // and those of `secondary` present on the primary with no walk-level
  // difference (`walk_diffs`: DiffManifests of the two walks) whose digests
  // are not cached yet, each side's replacing that side's queue.
  void QueueWarm(bool with_primary, const std::vector<Entry>& primary,
                 const std::vector<ObjectRef>& primary_objects, const Snapshot& secondary,
                 const std::vector<Difference>& walk_diffs);
  // One step of warming: a chunk of the queues, or, when the secondary's is
  // empty and the last such walk is kWarmWalkEvery old, a walk of the
  // secondary that queues what has arrived and renews the probes. Returns whether it did
  // anything; sets secondary_caught_up_ when that walk found nothing behind.
  Result<bool> WarmAhead(WaitResult* w);

  bool waiting_ = false;  // inside WaitUntilEqual: walk-level stops queue warming
  std::vector<WarmItem> warm_queue_[2];  // per side
  size_t warm_next_[2] = {0, 0};
  std::chrono::steady_clock::time_point last_warm_walk_{};
  // A warming walk found the secondary level with last_primary_walk_: the
  // next round is a full pass, without a poll.
  bool secondary_caught_up_ = false;
  // Handles of warmed files, kept (like kept_objects_) so that their inodes
  // stay looked up until the next pass ends.
  std::vector<ObjectRef> warm_objects_[2];
  // The last pass's gfapi objects, per side, kept until the next pass ends.
  // Closing a handle makes gfapi forget its inode (glfs_h_close forgets all
  // lookups), and an inode the next walk finds anew needs a LOOKUP before
  // its first fop again: without these, every pass of a wait paid a LOOKUP
  // per entry and side, half its round trips.
  std::vector<ObjectRef> kept_objects_[2];
};

}  // namespace georep::verify

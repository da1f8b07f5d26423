#include "sync/verify/verifier.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include <pthread.h>
#include <sched.h>

#include "sync/verify/parallel.h"

namespace georep::verify {

// One file whose digest is to be computed from its blocks, or was found in
// the digest cache (`cached`).
struct DigestJob {
  DigestJob(GlusterVolume* v, Entry* e, glfs_object* o, const Entry* p)
      : volume(v), entry(e), object(o), peer(p) {}
  GlusterVolume* volume;
  Entry* entry;
  glfs_object* object;
  // The same path on the other side (nullptr for --manifest-only): the digest
  // only counts when neither side's details failed, as content is compared
  // only then.
  const Entry* peer = nullptr;
  bool cached = false;
  ContentDigest cached_digest{};
  bool read = false;  // blocks (or error) are filled in
  std::vector<BlockDigest> blocks;
  std::string error;  // guarded by the runner's mutex while blocks are read
};

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct WorkerState {
  BlockHasher hasher;
  std::vector<uint8_t> buffer;
};

std::vector<std::unique_ptr<WorkerState>> MakeWorkers(int threads) {
  std::vector<std::unique_ptr<WorkerState>> state;
  for (int w = 0; w < std::max(1, threads); ++w) state.push_back(std::make_unique<WorkerState>());
  return state;
}

// Sets job->error when `e` means the file vanished or changed while being
// read (a live volume is not a snapshot); other errors fail the pass.
Status NoteReadError(DigestJob* job, const Status& e) {
  if (e.code() == Code::kAborted || IsVanishedErrno(e.err())) {
    if (job->error.empty()) {
      job->error = e.code() == Code::kAborted ? e.message() : "vanished while being read";
    }
    return Status::Ok();
  }
  return e.Annotate("read '" + DisplayPath(job->entry->path) + "' in " + job->volume->Describe());
}

bool SingleBlock(const DigestJob& job) { return BlockCount(job.entry->size) == 1; }

// Reads and hashes every block of every job in `pending` on `threads`
// threads: the blocks of one large file in parallel.
Status ReadDigestJobs(const std::vector<DigestJob*>& pending, int threads) {
  std::vector<std::pair<DigestJob*, uint64_t>> tasks;
  for (DigestJob* job : pending) {
    const uint64_t n = BlockCount(job->entry->size);
    job->blocks.resize(n);
    job->read = true;
    for (uint64_t b = 0; b < n; ++b) tasks.emplace_back(job, b);
  }
  const int workers = std::max(1, std::min<int>(threads, static_cast<int>(std::max<size_t>(tasks.size(), 1))));
  std::vector<std::unique_ptr<WorkerState>> state = MakeWorkers(workers);
  std::mutex mu;
  return ParallelFor(tasks.size(), workers, [&](size_t t, int w) -> Status {
    DigestJob& job = *tasks[t].first;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!job.error.empty()) return Status::Ok();  // another block already failed
    }
    Result<BlockDigest> d = job.volume->DigestBlock(job.object, job.entry->size, tasks[t].second,
                                                    &state[w]->hasher, &state[w]->buffer);
    if (d.ok()) {
      job.blocks[tasks[t].second] = *d;
      return Status::Ok();
    }
    std::lock_guard<std::mutex> lock(mu);
    return NoteReadError(&job, d.status());
  });
}

// Fills in the details of every entry, and right after an entry's details
// reads the content of a file of one block that `job_of` (index per entry,
// -1 for none) says is to be digested. Reading right after the details
// matters for more than overlap: the details' first fop makes gfapi look the
// inode up, that LOOKUP carries the content of small files (quick-read,
// volume.cc), and the read is answered from it only while it is fresh.
Status DetailAndReadSmallFiles(GlusterVolume* volume, std::vector<Entry>* entries,
                               const std::vector<ObjectRef>& objects, int threads, bool xattrs,
                               std::vector<DigestJob>* jobs, const std::vector<int>& job_of) {
  std::vector<std::unique_ptr<WorkerState>> state = MakeWorkers(threads);
  return ParallelFor(entries->size(), threads, [&](size_t i, int w) -> Status {
    Entry& e = (*entries)[i];
    GEOREP_RETURN_IF_ERROR(volume->FillDetails(&e, objects[i].get(), xattrs));
    if (job_of.empty() || job_of[i] < 0 || !e.error.empty()) return Status::Ok();
    DigestJob& job = (*jobs)[static_cast<size_t>(job_of[i])];
    if (job.cached || !SingleBlock(job)) return Status::Ok();
    job.blocks.resize(1);
    job.read = true;
    Result<BlockDigest> d = volume->DigestBlock(job.object, e.size, 0, &state[w]->hasher, &state[w]->buffer);
    if (d.ok()) {
      job.blocks[0] = *d;
      return Status::Ok();
    }
    return NoteReadError(&job, d.status());
  });
}

// Reads the jobs not read yet (large files, or all when details ran
// without them) and sets each entry's digest, or its error when the file
// vanished or changed while being read.
Status FinishDigestJobs(std::vector<DigestJob>* jobs, int threads, PassStats* stats) {
  std::vector<DigestJob*> pending;
  for (DigestJob& job : *jobs) {
    if (job.cached || job.read || !job.entry->error.empty()) continue;
    if (job.peer != nullptr && !job.peer->error.empty()) continue;
    pending.push_back(&job);
  }
  GEOREP_RETURN_IF_ERROR(ReadDigestJobs(pending, threads));
  for (DigestJob& job : *jobs) {
    if (!job.error.empty()) {
      job.entry->error = job.error;
      continue;
    }
    if (!job.entry->error.empty() || (job.peer != nullptr && !job.peer->error.empty())) continue;
    if (job.cached) {
      job.entry->digest = job.cached_digest;
      job.entry->has_digest = true;
      continue;
    }
    if (!job.read) continue;
    job.entry->digest = CombineBlockDigests(job.entry->size, job.blocks);
    job.entry->has_digest = true;
    ++stats->files_hashed;
    stats->bytes_hashed += job.entry->size;
  }
  return Status::Ok();
}

// Runs fn(0) on a second thread and fn(1) on this one: the two volumes
// usually live on different servers, so their round trips overlap.
Status OnBothSides(const std::function<Status(int)>& fn) {
  Status other;
  std::thread t([&] { other = fn(1); });
  Status mine = fn(0);
  t.join();
  if (!mine.ok()) return mine.Annotate("primary");
  if (!other.ok()) return other.Annotate("secondary");
  return Status::Ok();
}

}  // namespace

std::string Side::Describe() const {
  if (volume) return volume->Describe();
  if (manifest) return "manifest of volume '" + manifest->volume + "'";
  return "nothing";
}

Result<Manifest> BuildManifest(GlusterVolume* volume, const std::string& root, bool content,
                               bool xattrs, int threads) {
  Result<Scan> scan = volume->Walk(root);
  if (!scan.ok()) return scan.status();
  std::vector<DigestJob> jobs;
  std::vector<int> job_of;
  if (content) {
    job_of.assign(scan->entries.size(), -1);
    for (size_t i = 0; i < scan->entries.size(); ++i) {
      Entry& e = scan->entries[i];
      if (e.type != EntryType::kRegular || !e.error.empty()) continue;
      job_of[i] = static_cast<int>(jobs.size());
      jobs.emplace_back(volume, &e, scan->objects[i].get(), nullptr);
    }
  }
  GEOREP_RETURN_IF_ERROR(
      DetailAndReadSmallFiles(volume, &scan->entries, scan->objects, threads, xattrs, &jobs, job_of));
  PassStats stats;
  GEOREP_RETURN_IF_ERROR(FinishDigestJobs(&jobs, threads, &stats));
  Manifest m;
  m.volume = volume->spec().volume;
  m.root = root;
  m.has_content = content;
  m.entries = std::move(scan->entries);
  return m;
}

Verifier::Verifier(Side primary, Side secondary, VerifyOptions options)
    : options_(std::move(options)) {
  sides_[0] = std::move(primary);
  sides_[1] = std::move(secondary);
}

Status Verifier::WalkSide(int k, Snapshot* snap) {
  Side& side = sides_[k];
  if (side.manifest) {
    if (ComparePaths(side.manifest->root, options_.root) != 0) {
      return Status(Code::kInvalidArgument,
                    "the manifest covers '" + side.manifest->root + "' but '" + options_.root +
                        "' is being compared; make the manifest with the same --path");
    }
    snap->entries = side.manifest->entries;
    return Status::Ok();
  }
  Result<Scan> scan = side.volume->Walk(options_.root);
  if (!scan.ok() && k == 1 && scan.status().code() == Code::kNotFound) {
    // The compared directory is not on the secondary (yet): a difference
    // like any missing entry, which --wait-until-equal waits out; only a
    // path missing on the primary is a usage error.
    snap->entries.clear();
    snap->objects.clear();
    return Status::Ok();
  }
  if (!scan.ok()) return scan.status();
  snap->entries = std::move(scan->entries);
  snap->objects = std::move(scan->objects);
  return Status::Ok();
}

Status Verifier::DetailSide(int k, Snapshot* snap, std::vector<DigestJob>* jobs,
                            const std::vector<int>& job_of) {
  if (!sides_[k].volume) return Status::Ok();  // a manifest is complete already
  return DetailAndReadSmallFiles(sides_[k].volume.get(), &snap->entries, snap->objects,
                                 options_.threads, options_.diff.compare_xattrs, jobs, job_of);
}

void Verifier::PlanDigests(Snapshot* primary, Snapshot* secondary, std::vector<DigestJob>* jobs,
                           std::vector<int> job_of[2]) {
  Snapshot* snaps[2] = {primary, secondary};
  job_of[0].assign(primary->entries.size(), -1);
  job_of[1].assign(secondary->entries.size(), -1);
  // Only files present on both sides with equal sizes need a digest: any other
  // difference is already reported without reading content. (Entries whose
  // details fail later are dropped in FinishDigestJobs.)
  size_t i = 0;
  size_t j = 0;
  while (i < primary->entries.size() && j < secondary->entries.size()) {
    const int c = ComparePaths(primary->entries[i].path, secondary->entries[j].path);
    if (c < 0) {
      ++i;
      continue;
    }
    if (c > 0) {
      ++j;
      continue;
    }
    const size_t idx[2] = {i++, j++};
    Entry* e[2] = {&primary->entries[idx[0]], &secondary->entries[idx[1]]};
    if (e[0]->type != EntryType::kRegular || e[1]->type != EntryType::kRegular ||
        e[0]->size != e[1]->size || !e[0]->error.empty() || !e[1]->error.empty()) {
      continue;
    }
    for (int s = 0; s < 2; ++s) {
      if (e[s]->has_digest || !sides_[s].volume) continue;
      DigestJob job(sides_[s].volume.get(), e[s], snaps[s]->objects[idx[s]].get(), e[1 - s]);
      if (e[s]->has_gfid) {
        auto it = cache_[s].find(CacheKeyOf(*e[s]));
        if (it != cache_[s].end()) {
          job.cached = true;
          job.cached_digest = it->second;
        }
      }
      job_of[s][idx[s]] = static_cast<int>(jobs->size());
      jobs->push_back(std::move(job));
    }
  }
}

Status Verifier::FinishDigests(std::vector<DigestJob>* jobs, PassStats* stats) {
  GEOREP_RETURN_IF_ERROR(FinishDigestJobs(jobs, options_.threads, stats));
  // The cache keeps only what this pass used, so it stays as large as the
  // tree however many passes a wait takes.
  std::map<CacheKey, ContentDigest> fresh[2];
  for (const DigestJob& job : *jobs) {
    const Entry* e = job.entry;
    if (!e->has_digest || !e->has_gfid) continue;
    const int s = job.volume == sides_[0].volume.get() ? 0 : 1;
    fresh[s][CacheKeyOf(*e)] = e->digest;
  }
  cache_[0].swap(fresh[0]);
  cache_[1].swap(fresh[1]);
  return Status::Ok();
}

DiffOptions Verifier::WalkOnlyDiffOptions() const {
  DiffOptions quick = options_.diff;
  quick.walk_only = true;
  return quick;
}

std::vector<Probe> ProbesFromWalkDiff(const std::vector<Entry>& primary_walk,
                                      const std::vector<Difference>& diffs) {
  std::vector<Probe> probes;
  probes.reserve(diffs.size());
  for (const Difference& d : diffs) {
    if (!probes.empty() && probes.back().path == d.path) continue;  // several attributes of one entry
    Probe p;
    p.path = d.path;
    auto it = std::lower_bound(primary_walk.begin(), primary_walk.end(), d.path,
                               [](const Entry& e, const std::string& path) {
                                 return ComparePaths(e.path, path) < 0;
                               });
    if (it != primary_walk.end() && it->path == d.path) p.expected = *it;
    probes.push_back(std::move(p));
  }
  return probes;
}

std::vector<size_t> SpreadSample(size_t n, size_t k) {
  std::vector<size_t> out;
  if (n == 0 || k == 0) return out;
  if (n <= k) {
    for (size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  // k points from the last index back, evenly spaced: i * (n-1) / (k-1).
  for (size_t i = 0; i < k; ++i) out.push_back(k == 1 ? n - 1 : i * (n - 1) / (k - 1));
  return out;
}

bool ProbeMatches(const Probe& probe, const std::optional<Entry>& seen,
                  const DiffOptions& walk_options) {
  if (!probe.expected || !seen) return !probe.expected && !seen;
  Result<std::vector<Difference>> diffs =
      DiffManifests(std::vector<Entry>{*probe.expected}, std::vector<Entry>{*seen}, walk_options);
  return diffs.ok() && diffs->empty();
}

Result<bool> Verifier::SecondaryMatchesLastPrimaryWalk(bool* walked) {
  *walked = false;
  const DiffOptions walk_options = WalkOnlyDiffOptions();
  bool probed = false;
  for (size_t i : SpreadSample(probes_.size(), kProbesPerPoll)) {
    Result<std::optional<Entry>> seen = sides_[1].volume->Probe(probes_[i].path);
    if (!seen.ok()) {
      probed = false;  // the walk below meets it again and reports it
      break;
    }
    if (!ProbeMatches(probes_[i], *seen, walk_options)) return false;
    probed = true;
  }
  // The sampled entries have caught up: the full pass that follows walks
  // both sides first and stops there if the rest has not (and renews the
  // probes); walking the secondary alone before it would only repeat that
  // walk (1000 files: 20-30 ms of the ~0.4 s until the answer).
  if (probed) return true;
  *walked = true;
  Snapshot secondary;
  Result<std::vector<Difference>> diffs = WalkSecondaryAgainstLastPrimaryWalk(&secondary);
  if (!diffs.ok()) return diffs.status();
  return diffs->empty();
}

Result<std::vector<Difference>> Verifier::WalkSecondaryAgainstLastPrimaryWalk(Snapshot* secondary) {
  GEOREP_RETURN_IF_ERROR(WalkSide(1, secondary));
  Result<std::vector<Difference>> diffs =
      DiffManifests(*last_primary_walk_, secondary->entries, WalkOnlyDiffOptions());
  if (diffs.ok()) probes_ = ProbesFromWalkDiff(*last_primary_walk_, *diffs);
  return diffs;
}

Result<PassResult> Verifier::RunPass(bool stop_at_first_differing_phase) {
  last_primary_walk_.reset();
  probes_.clear();
  const Clock::time_point t0 = Clock::now();
  Snapshot snaps[2];
  Snapshot& p = snaps[0];
  Snapshot& s = snaps[1];
  PassResult result;
  auto finish = [&](std::vector<Difference> diffs) {
    result.differences = std::move(diffs);
    result.stats.seconds = SecondsSince(t0);
    for (int k = 0; k < 2; ++k) {
      kept_objects_[k] = std::move(snaps[k].objects);
      warm_objects_[k].clear();  // what is still there, this pass's walk found again
    }
    return result;
  };

  GEOREP_RETURN_IF_ERROR(OnBothSides([&](int k) { return WalkSide(k, &snaps[k]); }));
  result.stats.walk_seconds = SecondsSince(t0);
  result.stats.primary_entries = p.entries.size();
  result.stats.secondary_entries = s.entries.size();
  if (stop_at_first_differing_phase) {
    // What the walk alone shows costs no extra round trip per entry.
    Result<std::vector<Difference>> diffs = DiffManifests(p.entries, s.entries, WalkOnlyDiffOptions());
    if (!diffs.ok()) return diffs.status();
    if (!diffs->empty()) {
      if (sides_[0].volume && sides_[1].volume) {
        probes_ = ProbesFromWalkDiff(p.entries, *diffs);
        if (waiting_ && options_.diff.compare_content) {
          QueueWarm(/*with_primary=*/true, p.entries, p.objects, s, *diffs);
        }
        last_primary_walk_ = std::move(p.entries);
      }
      return finish(std::move(*diffs));
    }
  }

  bool compare_content = options_.diff.compare_content;
  for (int k = 0; k < 2 && compare_content; ++k) {
    if (sides_[k].manifest && !sides_[k].manifest->has_content) {
      compare_content = false;
      result.content_note = std::string("content not compared: the ") + (k == 0 ? "primary" : "secondary") +
                            " manifest has no digests (make it with --manifest-only, without --no-content)";
    }
  }
  // Which files need a digest follows from the walk (types and sizes), so
  // small files are read during the details phase, each right after its
  // details; digests only enter the entries after the details are diffed, so
  // a fast pass still reports the details' differences alone.
  std::vector<DigestJob> jobs;
  std::vector<int> job_of[2];
  if (compare_content) PlanDigests(&p, &s, &jobs, job_of);

  const Clock::time_point t1 = Clock::now();
  GEOREP_RETURN_IF_ERROR(OnBothSides([&](int k) { return DetailSide(k, &snaps[k], &jobs, job_of[k]); }));
  result.stats.details_seconds = SecondsSince(t1);
  Result<std::vector<Difference>> diffs = DiffManifests(p.entries, s.entries, options_.diff);
  if (!diffs.ok()) return diffs.status();
  if (!compare_content || (stop_at_first_differing_phase && !diffs->empty())) {
    return finish(std::move(*diffs));
  }
  const Clock::time_point t2 = Clock::now();
  GEOREP_RETURN_IF_ERROR(FinishDigests(&jobs, &result.stats));
  result.stats.content_seconds = SecondsSince(t2);
  result.stats.content_compared = true;
  diffs = DiffManifests(p.entries, s.entries, options_.diff);
  if (!diffs.ok()) return diffs.status();
  return finish(std::move(*diffs));
}

namespace {

// Whether warming ahead reads this entry: a regular file of one content
// block (larger files are read in parallel blocks by the pass itself, and
// their LOOKUP is a small part of that) whose digest is not cached yet.
bool WantsWarming(const Entry& e) {
  return e.type == EntryType::kRegular && e.error.empty() && e.has_gfid && BlockCount(e.size) == 1;
}

}  // namespace

void Verifier::QueueWarm(bool with_primary, const std::vector<Entry>& primary,
                         const std::vector<ObjectRef>& primary_objects, const Snapshot& secondary,
                         const std::vector<Difference>& walk_diffs) {
  auto cached = [this](int side, const Entry& e) {
    return cache_[side].count(CacheKeyOf(e)) != 0;
  };
  if (with_primary) {
    warm_queue_[0].clear();
    warm_next_[0] = 0;
    for (size_t i = 0; i < primary.size() && i < primary_objects.size(); ++i) {
      if (WantsWarming(primary[i]) && primary_objects[i] && !cached(0, primary[i])) {
        warm_queue_[0].push_back(WarmItem{0, primary[i], primary_objects[i]});
      }
    }
  }
  // Secondary entries on the primary's side with no walk-level difference:
  // both lists and the differences are in ComparePaths order.
  warm_queue_[1].clear();
  warm_next_[1] = 0;
  size_t i = 0;
  size_t d = 0;
  for (size_t j = 0; j < secondary.entries.size() && j < secondary.objects.size(); ++j) {
    const Entry& e = secondary.entries[j];
    while (i < primary.size() && ComparePaths(primary[i].path, e.path) < 0) ++i;
    while (d < walk_diffs.size() && ComparePaths(walk_diffs[d].path, e.path) < 0) ++d;
    const bool on_primary = i < primary.size() && primary[i].path == e.path;
    const bool differs = d < walk_diffs.size() && walk_diffs[d].path == e.path;
    if (on_primary && !differs && WantsWarming(e) && secondary.objects[j] && !cached(1, e)) {
      warm_queue_[1].push_back(WarmItem{1, e, secondary.objects[j]});
    }
  }
}

namespace {

// Runs fn on a new thread at SCHED_IDLE, which gets a CPU only when nothing
// else wants it, and waits for it. Threads fn starts (ParallelFor's) inherit
// the policy.
void AtIdlePriority(const std::function<void()>& fn) {
  std::thread t([&fn] {
    struct sched_param param {};
    (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
    fn();
  });
  t.join();
}

}  // namespace

Result<bool> Verifier::WarmAhead(WaitResult* w) {
  if (!last_primary_walk_ || !sides_[1].volume) return false;
  size_t left[2];
  for (int k = 0; k < 2; ++k) left[k] = warm_queue_[k].size() - warm_next_[k];
  const Clock::time_point now = Clock::now();
  if (left[1] == 0 && now - last_warm_walk_ >= kWarmWalkEvery) {
    // What has arrived since: a walk of the secondary, also on an idle
    // thread; it renews the probes as a poll's walk would.
    last_warm_walk_ = now;
    Snapshot secondary;
    Result<std::vector<Difference>> diffs = std::vector<Difference>{};  // set by the walk below
    AtIdlePriority([&] { diffs = WalkSecondaryAgainstLastPrimaryWalk(&secondary); });
    if (!diffs.ok()) return diffs.status();
    ++w->warm_walks;
    secondary_caught_up_ = diffs->empty();
    QueueWarm(/*with_primary=*/false, *last_primary_walk_, {}, secondary, *diffs);
    return true;
  }
  if (left[0] == 0 && left[1] == 0) return false;
  // A chunk from both queues, so that the confirming pass finds both sides
  // about equally advanced (each side's round trips are a chain of their
  // own); all of it from one queue when the other is empty.
  size_t take[2];
  take[1] = std::min(left[1], left[0] == 0 ? kWarmChunk : kWarmChunk / 2);
  take[0] = std::min(left[0], kWarmChunk - take[1]);
  std::vector<WarmItem*> chunk;
  for (int k = 0; k < 2; ++k) {
    for (size_t i = 0; i < take[k]; ++i) chunk.push_back(&warm_queue_[k][warm_next_[k] + i]);
    warm_next_[k] += take[k];
  }
  std::vector<std::unique_ptr<WorkerState>> state = MakeWorkers(kWarmThreads);
  std::mutex mu;
  // Errors are left to the passes: a file that vanished or cannot be read
  // now is read again by the confirming pass, which reports what it finds.
  AtIdlePriority([&] {
    (void)ParallelFor(chunk.size(), kWarmThreads, [&](size_t k, int worker) -> Status {
      WarmItem& item = *chunk[k];
      const Entry& e = item.entry;
      Result<BlockDigest> block = sides_[item.side].volume->DigestBlock(
          item.object.get(), e.size, 0, &state[worker]->hasher, &state[worker]->buffer);
      if (!block.ok()) return Status::Ok();
      const ContentDigest digest = CombineBlockDigests(e.size, {*block});
      std::lock_guard<std::mutex> lock(mu);
      cache_[item.side][CacheKeyOf(e)] = digest;
      warm_objects_[item.side].push_back(std::move(item.object));
      ++w->warmed_files[item.side];
      return Status::Ok();
    });
  });
  return true;
}

std::chrono::milliseconds Verifier::WaitDelay(std::chrono::milliseconds backoff,
                                              std::chrono::duration<double> last_pass) {
  const auto cap = std::max(kWaitInitialDelay, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   last_pass * kWaitPassFactor));
  return std::min({backoff, cap, kWaitMaxDelay});
}

Result<Verifier::WaitResult> Verifier::WaitUntilEqual(std::chrono::milliseconds timeout) {
  const Clock::time_point t0 = Clock::now();
  const Clock::time_point deadline = t0 + timeout;
  std::chrono::milliseconds delay = kWaitInitialDelay;
  WaitResult w;
  waiting_ = true;
  struct ClearWaiting {
    Verifier* v;
    ~ClearWaiting() {
      v->waiting_ = false;
      for (int k = 0; k < 2; ++k) {
        v->warm_queue_[k].clear();
        v->warm_next_[k] = 0;
      }
    }
  } clear_waiting{this};
  bool have_pass = false;
  Status last_error;
  // Bounded by time; the minimum delay also bounds the number of passes.
  Clock::time_point last_full_pass = t0;
  while (true) {
    double pass_start = SecondsSince(t0);
    bool behind = false;
    if (last_primary_walk_ && !secondary_caught_up_ && Clock::now() - last_full_pass < kWaitFullPassEvery) {
      // A poll that fails (a transient error) is followed by a full pass,
      // which reports or retries it as any pass would.
      bool walked = false;
      Result<bool> caught_up = SecondaryMatchesLastPrimaryWalk(&walked);
      behind = caught_up.ok() && !*caught_up;
      if (behind) {
        ++w.secondary_polls;
        if (walked) ++w.secondary_walks;
      }
    }
    secondary_caught_up_ = false;
    if (!behind) {
      ++w.passes;
      pass_start = SecondsSince(t0);
      last_full_pass = Clock::now();
      Result<PassResult> r = RunPass(/*stop_at_first_differing_phase=*/true);
      if (r.ok()) {
        w.last = std::move(*r);
        have_pass = true;
        if (w.last.differences.empty()) {
          w.equal = true;
          w.seconds = SecondsSince(t0);
          w.confirming_pass_started = pass_start;
          return w;
        }
      } else if (!r.status().retryable()) {
        return r.status();
      } else {
        last_error = r.status();
      }
    }
    const Clock::time_point now = Clock::now();
    if (now >= deadline) break;
    if (behind) {
      // A step of warming takes the place of the pause; a failed one is
      // left to the next pass, which meets the same error and reports it.
      Result<bool> warmed = WarmAhead(&w);
      if (warmed.ok() && *warmed) continue;
    }
    const std::chrono::duration<double> pass_took(SecondsSince(t0) - pass_start);
    std::this_thread::sleep_for(std::min<Clock::duration>(WaitDelay(delay, pass_took), deadline - now));
    delay = std::min(delay * 2, kWaitMaxDelay);
  }
  w.seconds = SecondsSince(t0);
  if (!have_pass) return last_error;
  return w;
}

}  // namespace georep::verify

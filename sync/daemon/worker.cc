#include "sync/daemon/worker.h"

#include <dirent.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <vector>

#include "journal/consumers.h"
#include "journal/fileutil.h"
#include "journal/format.h"
#include "journal/reader.h"
#include "journal/record.h"
#include "sync/common/log.h"
#include "sync/daemon/backoff.h"
#include "sync/daemon/coalescer.h"
#include "sync/daemon/conflict.h"
#include "sync/daemon/crawler.h"
#include "sync/daemon/pruner.h"
#include "sync/daemon/secondary_files.h"
#include "sync/daemon/stall_watch.h"
#include "sync/daemon/fs_util.h"
#include "sync/daemon/gfapi_source.h"
#include "sync/daemon/item_queue.h"
#include "sync/daemon/materializer.h"
#include "sync/daemon/ssh_transport.h"
#include "sync/daemon/sync_mark.h"
#include "sync/protocol/codec.h"

namespace georep::daemon {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often the status file is rewritten when nothing else prompts it.
constexpr milliseconds kStatusInterval{1000};
// How long the producer waits for new journal records before re-checking
// whether it must stop, and how often an idle worker re-announces that it
// has caught up (this is what completes a checkpoint on an idle volume).
constexpr milliseconds kJournalPoll{200};
constexpr milliseconds kIdleMarkerInterval{1000};
// Grace for a stopping connection to collect acks of batches in flight.
constexpr milliseconds kDrainOnStop{3000};
// A trickle of changes (files written one by one) makes windows of one or
// two records, each its own batch: every file cost two batches, and at a
// few hundred files a second their fixed cost (a frame each way, the
// receiver's per-batch work) filled the send queue, which then held one-
// record batches while the next records waited in the journal; files
// reached the secondary 80-110 ms after the primary, and the receiver,
// which applies the ops of one batch in parallel, had one file per batch.
// After a window this small, the producer first waits until at most
// kTrickleBatchesAhead batches are queued or in flight (at most
// kTrickleWait), so that the next window takes in what arrived meanwhile:
// batches grow with the load, as a group commit does, and at low load
// nothing waits. Larger windows (a backlog) go on at once, so that the
// sender always has queued work.
constexpr size_t kTrickleWindowRecords = 256;
constexpr size_t kTrickleBatchesAhead = 1;
constexpr milliseconds kTrickleWait{1000};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t NowS() { return NowNs() / 1000000000; }

struct WorkerState {
  bool crawl_done = false;
  bool resync = false;           // the journal lost records: jump the cursor after the crawl
  uint64_t crawl_start_seq = 0;  // journal end when the crawl began
  // Ran as Passive since it was last Active: its next connection is a
  // takeover (see heal_replay_through).
  bool passive = false;
  // Self-heal records up to here, journaled after heal_replay_after_ns, are
  // replayed: at a takeover, this brick may hold changes the dead Active
  // brick never sent only as records of the heal that brought them here
  // (they are skipped otherwise: the Active worker sends the same changes
  // from its own journal).
  uint64_t heal_replay_through = 0;
  uint64_t heal_replay_after_ns = 0;
};

// A journal sequence number from a state file; nullopt if it does not parse.
std::optional<uint64_t> ParseSeq(const std::string& text) {
  try {
    return std::stoull(text);
  } catch (...) {
    return std::nullopt;
  }
}

WorkerState LoadWorkerState(const std::string& path) {
  WorkerState s;
  auto text = ReadFile(path);
  if (!text.ok()) return s;  // missing: nothing done yet
  auto kv = ParseKeyValues(*text);
  if (!kv.ok()) return s;    // damaged: start over with a crawl (safe)
  s.crawl_done = (*kv)["crawl_done"] == "yes";
  s.resync = (*kv)["resync"] == "yes";
  s.crawl_start_seq = ParseSeq((*kv)["crawl_start_seq"]).value_or(0);
  s.passive = (*kv)["passive"] == "yes";
  s.heal_replay_through = ParseSeq((*kv)["heal_replay_through"]).value_or(0);
  s.heal_replay_after_ns = ParseSeq((*kv)["heal_replay_after_ns"]).value_or(0);
  return s;
}

Status SaveWorkerState(const std::string& path, const WorkerState& s) {
  std::string text = std::string("# georepd worker state; delete to force a full crawl\n") +
                     "crawl_done=" + (s.crawl_done ? "yes" : "no") + "\n" +
                     "resync=" + (s.resync ? "yes" : "no") + "\n" +
                     "crawl_start_seq=" + std::to_string(s.crawl_start_seq) + "\n" +
                     "passive=" + (s.passive ? "yes" : "no") + "\n" +
                     "heal_replay_through=" + std::to_string(s.heal_replay_through) + "\n" +
                     "heal_replay_after_ns=" + std::to_string(s.heal_replay_after_ns) + "\n";
  return WriteFileAtomic(path, text, /*sync=*/true);
}

// The "sent mark": no journal record above it has ever been handed to a
// connection. Batches built from records at or below it may be replays, and
// carry IN_ORDER so that the receiver applies them strictly in order
// (PROTOCOL.md, "Parallel application"); newer ones may be applied in
// parallel. The mark is raised on disk before records above it are sent,
// kSentMarkReserve records at a time so that a stream of small windows does
// not cost one synced write each. A missing or unreadable file means "all
// records in the journal now".
constexpr uint64_t kSentMarkReserve = 512;

// The sent mark lives beside the worker's state file.
std::string SentMarkPath(const std::string& state_path) { return state_path + ".sent"; }

std::optional<uint64_t> LoadSentMark(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return std::nullopt;
  auto kv = ParseKeyValues(*text);
  if (!kv.ok()) return std::nullopt;
  return ParseSeq((*kv)["sent_mark"]);
}

Status SaveSentMark(const std::string& path, uint64_t mark) {
  return WriteFileAtomic(path,
                         "# georepd: no journal record above this was ever sent; delete to be "
                         "safe (every record then counts as sent)\nsent_mark=" +
                             std::to_string(mark) + "\n",
                         /*sync=*/true)
      .Annotate("saving the sent mark " + path);
}

// Errors the secondary may recover from by itself (space freed, brick back):
// the batch is not acknowledged as done and is replayed after a reconnect.
bool TransientErrno(int err) {
  switch (err) {
    case ENOSPC: case EDQUOT: case EIO: case ENOTCONN: case EAGAIN: case ETIMEDOUT:
    case EROFS: case ENOMEM: case EBUSY: case ECONNREFUSED: case EHOSTUNREACH:
    case ENETUNREACH: case EPIPE: case ESHUTDOWN: case EINTR:
      return true;
    default:
      return false;
  }
}

bool IsEntryOp(const protocol::Op& op) {
  return std::holds_alternative<protocol::EntryCreateOp>(op) ||
         std::holds_alternative<protocol::LinkOp>(op) ||
         std::holds_alternative<protocol::RenameOp>(op) ||
         std::holds_alternative<protocol::UnlinkOp>(op) ||
         std::holds_alternative<protocol::RmdirOp>(op);
}

// A sent batch's ops as kept until its ack: data payloads dropped (failures
// are judged on names and GFIDs; a repair re-reads data from the primary).
std::vector<protocol::Op> StripPayload(std::vector<protocol::Op> ops) {
  for (auto& op : ops) {
    if (auto* d = std::get_if<protocol::DataOp>(&op)) {
      DataBuffers().Give(std::move(d->data));
      d->data = std::string();
    }
  }
  return ops;
}

}  // namespace

std::string ConsumerNameFor(const std::string& session) { return "georepd-" + SanitizeId(session); }

std::string SessionDirFor(const std::string& state_dir, const std::string& session) {
  return state_dir + "/sessions/" + session;
}

std::string SessionConfPathFor(const std::string& state_dir, const std::string& session) {
  return SessionDirFor(state_dir, session) + "/session.conf";
}

std::string StatusPathFor(const std::string& state_dir, const std::string& session,
                          const std::string& brick_id) {
  return SessionDirFor(state_dir, session) + "/status/" + SanitizeId(brick_id) + ".status";
}

std::string WorkerStatePathFor(const std::string& state_dir, const std::string& session,
                               const std::string& brick_id) {
  return SessionDirFor(state_dir, session) + "/workers/" + SanitizeId(brick_id) + ".state";
}

Result<uint64_t> JournalEnd(const std::string& brick_path) {
  std::string segdir = brick_path + "/" + journal::kJournalSubdir + "/" + journal::kSegmentsDir;
  auto segs = journal::internal::ListSegments(segdir);
  if (!segs.ok()) {
    if (segs.status().code() == Code::kNotFound) return uint64_t{0};
    return segs.status();
  }
  uint64_t last_first = 0;
  for (const auto& s : *segs) last_first = std::max(last_first, s.first_seq);
  if (segs->empty()) return uint64_t{0};
  // Read the newest segment to its end. Bounded: a segment is at most
  // segment_size bytes, and records appended meanwhile only move the end.
  auto reader = journal::JournalReader::Open(brick_path, last_first > 0 ? last_first - 1 : 0);
  if (!reader.ok()) return reader.status();
  journal::Record r;
  for (;;) {
    auto more = (*reader)->Next(&r);
    if (!more.ok()) {
      if (more.status().code() == Code::kFailedPrecondition) break;  // a gap: end is what we have
      return more.status();
    }
    if (!*more) break;
  }
  return (*reader)->last_seq();
}

BrickWorker::BrickWorker(WorkerIdentity id, SessionConfig config, bool active)
    : id_(std::move(id)), cfg_(std::move(config)) {
  brick_id_ = id_.brick.id();
  consumer_ = ConsumerNameFor(cfg_.name);
  status_path_ = StatusPathFor(id_.state_dir, cfg_.name, brick_id_);
  conf_path_ = SessionConfPathFor(id_.state_dir, cfg_.name);
  state_path_ = WorkerStatePathFor(id_.state_dir, cfg_.name, brick_id_);
  active_ = active;
  status_.primary_node = id_.node;
  status_.primary_brick = brick_id_;
  // Keep a completed checkpoint's completion time across daemon restarts.
  if (auto text = ReadFile(status_path_); text.ok()) {
    if (auto kv = ParseKeyValues(*text); kv.ok()) {
      std::string cp = cfg_.checkpoint ? std::to_string(*cfg_.checkpoint) : "";
      if (!cp.empty() && (*kv)["checkpoint"] == cp && (*kv)["checkpoint_completed"] == "yes") {
        status_.checkpoint = cp;
        status_.checkpoint_completed = true;
        try {
          status_.checkpoint_completion_time = std::stoll((*kv)["checkpoint_completion_time"]);
        } catch (...) {
          status_.checkpoint_completion_time = NowS();
        }
      }
      try {
        status_.last_synced = std::stoll((*kv)["last_synced"]);
      } catch (...) {
      }
    }
  }
}

BrickWorker::~BrickWorker() { Stop(); }

void BrickWorker::Start() {
  control_ = std::thread([this] { ControlLoop(); });
  status_thread_ = std::thread([this] { StatusLoop(); });
}

void BrickWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    ++generation_;
    cv_.notify_all();
  }
  if (control_.joinable()) control_.join();
  // Only now, so that the status file's last word is the control loop's
  // last state (Stopped), not whatever it was when the stop began.
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_stop_ = true;
    cv_.notify_all();
  }
  if (status_thread_.joinable()) status_thread_.join();
}

void BrickWorker::UpdateConfig(const SessionConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  if (config == cfg_) return;
  // Pausing keeps the connection (and the receiver's mount) open and only
  // stops sending, so a resume takes effect at once.
  auto running = [](SessionState st) {
    return st == SessionState::kStarted || st == SessionState::kPaused;
  };
  bool reconnect = !config.SameConnection(cfg_) ||
                   (config.state != cfg_.state && !(running(config.state) && running(cfg_.state)));
  cfg_ = config;
  ++config_seq_;
  // Tunables are picked up by the running connection; only changes of the
  // connection itself or of the session state restart it.
  if (reconnect) ++generation_;
  dirty_ = true;
  cv_.notify_all();
}

void BrickWorker::SetActive(bool active) {
  if (active_.exchange(active) == active) return;
  log::Info("worker", brick_id_ + " is now " + (active ? "Active" : "Passive"));
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  cv_.notify_all();
}

uint64_t BrickWorker::Generation() {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

void BrickWorker::MarkDirty() {
  std::lock_guard<std::mutex> lock(mu_);
  dirty_ = true;
  cv_.notify_all();
}

void BrickWorker::SetState(const std::string& status, const std::string& cause) {
  std::lock_guard<std::mutex> lock(mu_);
  if (status_.status != status || status_.faulty_cause != cause) {
    if (status == "Faulty") log::Error("worker", brick_id_ + " Faulty: " + cause);
    status_.status = status;
    status_.faulty_cause = cause;
    dirty_ = true;
    cv_.notify_all();
  }
}

void BrickWorker::WaitForChange(milliseconds max, uint64_t generation, uint64_t config_seq) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, max, [&] {
    return stop_.load() || generation_ != generation || config_seq_ != config_seq;
  });
}

BrickStatus BrickWorker::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  BrickStatus s = status_;
  std::string cp = cfg_.checkpoint ? std::to_string(*cfg_.checkpoint) : "";
  if (s.checkpoint != cp) {
    s.checkpoint = cp;
    s.checkpoint_completed = false;
    s.checkpoint_completion_time = 0;
    status_.checkpoint = cp;
    status_.checkpoint_completed = false;
  }
  s.updated = NowS();
  return s;
}

void BrickWorker::ShowStalledCall() {
  std::optional<WatchedSource::Call> call;
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    if (watch_ != nullptr) call = watch_->Oldest();
  }
  std::lock_guard<std::mutex> lock(mu_);
  const uint32_t limit_s = cfg_.tunables.ssh_timeout_s;
  const bool stalled = call && Clock::now() - call->since > std::chrono::seconds(limit_s);
  if (stalled && stalled_note_.empty()) {
    stalled_note_ = "a call to the primary volume has not returned for more than " + std::to_string(limit_s) +
                    " s (" + call->what + "): a primary brick, or the network to it, does not answer; "
                    "replication goes on when it does";
    log::Warning("worker", brick_id_ + ": " + stalled_note_);
    status_.last_failure = stalled_note_;
  } else if (!stalled && !stalled_note_.empty()) {
    log::Info("worker", brick_id_ + ": the primary volume answers again");
    if (status_.last_failure == stalled_note_) status_.last_failure.clear();
    stalled_note_.clear();
  }
}

void BrickWorker::StatusLoop() {
  for (;;) {
    bool stopping = status_stop_.load();
    ShowStalledCall();
    BrickStatus s = Snapshot();
    // No session.conf: `georep delete` is removing the session (and with it
    // status/); a write now would race with that removal or leave a file
    // behind it.
    if (::access(conf_path_.c_str(), F_OK) == 0) {
      Status st = WriteStatusFile(status_path_, s);
      if (!st.ok() && st.code() != Code::kNotFound) log::Warning("worker", "status file: " + st.ToString());
    }
    if (stopping) return;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, kStatusInterval, [&] { return dirty_ || status_stop_.load(); });
    dirty_ = false;
  }
}

void BrickWorker::ControlLoop() {
  SessionConfig cfg;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cfg = cfg_;
  }
  Clock::time_point next_mark_check = Clock::now();
  Backoff backoff(milliseconds(cfg.tunables.backoff_initial_ms),
                  milliseconds(cfg.tunables.backoff_max_ms));
  uint32_t consecutive_failures = 0;
  while (!stop_.load()) {
    uint64_t gen, seq;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cfg = cfg_;
      gen = generation_;
      seq = config_seq_;
    }
    backoff.Reconfigure(milliseconds(cfg.tunables.backoff_initial_ms),
                        milliseconds(cfg.tunables.backoff_max_ms));
    idle_ = false;
    if (cfg.state == SessionState::kCreated || cfg.state == SessionState::kStopped) {
      SetState("Stopped");
      {
        std::lock_guard<std::mutex> lock(mu_);
        status_.crawl_status = "N/A";
        status_.secondary_node.clear();
      }
      WaitForChange(milliseconds(1000), gen, seq);
      continue;
    }
    if (cfg.state == SessionState::kPaused) {
      SetState("Paused");
      WaitForChange(milliseconds(1000), gen, seq);
      continue;
    }
    if (!active_.load()) {
      // Keep a cursor so that this brick's journal is retained for a takeover.
      journal::ConsumerRegistry reg(id_.brick.path);
      if (auto cur = reg.GetCursor(consumer_); !cur.ok() && cur.status().code() == Code::kNotFound) {
        auto end = JournalEnd(id_.brick.path);
        if (end.ok()) {
          Status st = reg.Register(consumer_, *end);
          if (!st.ok()) log::Warning("worker", brick_id_ + ": register cursor: " + st.ToString());
        }
      }
      SetState("Passive");
      {
        std::lock_guard<std::mutex> lock(mu_);
        status_.crawl_status = "N/A";
        status_.secondary_node.clear();
      }
      // What this brick journals meanwhile the Active brick sends: on a
      // takeover all of it counts as sent (replayed strictly in order), so
      // the sent mark is dropped and set afresh at the journal's end then.
      const std::string sent_path = SentMarkPath(state_path_);
      if (::unlink(sent_path.c_str()) != 0 && errno != ENOENT) {
        log::Warning("worker", brick_id_ + ": cannot remove " + sent_path + ": " + std::strerror(errno));
      }
      if (Clock::now() >= next_mark_check) {
        next_mark_check = Clock::now() + kSyncMarkInterval;
        const bool followed = FollowSyncMark(cfg);
        // The set's initial sync is done once the Active worker's mark moved
        // this cursor (marks are written only after a crawl's end was
        // acknowledged): a takeover then replays this journal from the
        // cursor instead of crawling the brick again.
        WorkerState ws = LoadWorkerState(state_path_);
        if (!ws.passive || (followed && !ws.crawl_done)) {
          ws.passive = true;
          if (followed) ws.crawl_done = true;
          Status saved = SaveWorkerState(state_path_, ws);
          if (!saved.ok()) log::Warning("worker", brick_id_ + ": " + saved.ToString());
        }
      }
      WaitForChange(milliseconds(1000), gen, seq);
      continue;
    }
    progress_ = false;
    Status st = RunConnection(cfg, gen);
    if (progress_.load()) {
      backoff.Reset();
      consecutive_failures = 0;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      status_.secondary_node.clear();
      status_.pending_entry = status_.pending_data = status_.pending_meta = 0;
      dirty_ = true;
    }
    if (st.ok()) {  // ended on request (stop, role or config change)
      backoff.Reset();
      consecutive_failures = 0;
      continue;
    }
    if (stop_.load()) break;
    ++consecutive_failures;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++status_.reconnects;
    }
    bool operator_fix = st.code() == Code::kFailedPrecondition ||
                        st.code() == Code::kPermissionDenied ||
                        st.code() == Code::kInvalidArgument;
    if (operator_fix || consecutive_failures >= cfg.tunables.faulty_after_failures) {
      SetState("Faulty", st.message());
    } else {
      SetState("Initializing", st.message());
    }
    auto delay = backoff.Next();
    log::Warning("worker", brick_id_ + ": " + st.ToString() + "; retrying in " +
                               std::to_string(delay.count()) + " ms (failure " +
                               std::to_string(consecutive_failures) + ")");
    // A new configuration ends the wait early: the operator acted on the error.
    uint64_t seq_now;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seq_now = config_seq_;
    }
    WaitForChange(delay, gen, seq_now);
  }
  SetState("Stopped");
}

bool BrickWorker::FollowSyncMark(const SessionConfig& cfg) {
  const std::string key = SyncMarkKey(cfg.name, id_.brick.set_index);
  Result<std::optional<uint64_t>> mark = ReadBrickSyncMark(id_.brick.path, key);
  if (!mark.ok()) {
    log::Warning("worker", brick_id_ + ": " + mark.status().ToString());
    return false;
  }
  const std::optional<uint64_t> through = SyncedThrough(*mark, cfg.tunables.passive_lag_s);
  if (!through) return false;  // the Active worker has not synced yet
  journal::ConsumerRegistry reg(id_.brick.path);
  Result<uint64_t> cursor = reg.GetCursor(consumer_);
  if (!cursor.ok()) return false;  // registered on the next round
  // Bounded per call (about a second of reading); the next call goes on.
  constexpr uint64_t kMaxRecordsPerStep = 1u << 20;
  Result<uint64_t> at = CursorAtTime(id_.brick.path, *cursor, *through, kMaxRecordsPerStep);
  if (!at.ok()) {
    log::Warning("worker", brick_id_ + ": following the sync mark: " + at.status().ToString());
    return false;
  }
  if (*at <= *cursor) return false;
  Status st = reg.SetCursor(consumer_, *at);
  if (!st.ok()) {
    log::Warning("worker", brick_id_ + ": " + st.ToString());
    return false;
  }
  log::Debug("worker", brick_id_ + ": Passive cursor " + std::to_string(*cursor) + " -> " +
                           std::to_string(*at) + " (sync mark less " +
                           std::to_string(cfg.tunables.passive_lag_s) + " s)");
  std::lock_guard<std::mutex> lock(mu_);
  status_.cursor_seq = *at;
  return true;
}

Result<GfapiVolume*> BrickWorker::PrimaryVolume(const SessionConfig& cfg) {
  if (primary_ != nullptr && primary_->volume() == cfg.primary_volume) {
    Status st = primary_->Probe();
    if (st.ok()) return primary_.get();
    log::Info("worker", brick_id_ + ": mounting primary volume " + cfg.primary_volume +
                            " through gfapi again, the kept instance does not answer: " + st.ToString());
  }
  primary_.reset();  // its glfs_fini runs in the background
  auto t_mount = Clock::now();
  auto vol = GfapiVolume::Open(cfg.primary_volume, id_.volfile_server, id_.gfapi_log);
  if (!vol.ok()) return vol.status();
  log::Debug("worker", brick_id_ + ": primary volume mounted through gfapi in " +
                           std::to_string(std::chrono::duration_cast<milliseconds>(Clock::now() - t_mount).count()) +
                           " ms");
  primary_ = std::move(*vol);
  return primary_.get();
}

Status BrickWorker::RunConnection(const SessionConfig& cfg, uint64_t generation) {
  const std::string& brick = id_.brick.path;
  journal::ConsumerRegistry reg(brick);
  WorkerState wstate = LoadWorkerState(state_path_);
  uint64_t cursor = 0;
  auto cur = reg.GetCursor(consumer_);
  if (!cur.ok()) {
    if (cur.status().code() != Code::kNotFound) return cur.status().Annotate("journal cursor");
    auto end = JournalEnd(brick);
    if (!end.ok()) return end.status().Annotate("journal end of " + brick);
    GEOREP_RETURN_IF_ERROR(reg.Register(consumer_, *end));
    cursor = *end;
    // A new consumer has seen nothing: crawl everything, then the journal from here.
    wstate = WorkerState{false, false, *end};
    GEOREP_RETURN_IF_ERROR(SaveWorkerState(state_path_, wstate));
    log::Info("worker", brick_id_ + ": registered journal consumer " + consumer_ + " at " +
                            std::to_string(cursor));
  } else {
    cursor = *cur;
  }
  if (auto list = reg.List(); list.ok()) {
    for (const auto& c : *list) {
      if (c.name != consumer_ || !c.resync || wstate.resync) continue;
      if (c.lost_through && cursor >= *c.lost_through) {
        // The records the cap removed were read anyway, from a segment this
        // worker still had open (a paused worker holds its segment): the
        // cursor is past them, nothing is missing.
        log::Info("worker", brick_id_ + ": the journal's resync mark is stale (" + *c.resync +
                                "): this session's cursor " + std::to_string(cursor) +
                                " is past the last dropped record " + std::to_string(*c.lost_through) +
                                ", which it read before the segment went; mark cleared, no resync");
        GEOREP_RETURN_IF_ERROR(reg.ClearResync(consumer_));
      } else {
        log::Warning("worker", brick_id_ + ": journal dropped records this session had not "
                                           "synced (" + *c.resync + "); starting a full crawl");
        auto end = JournalEnd(brick);
        if (!end.ok()) return end.status().Annotate("journal end of " + brick);
        wstate = WorkerState{false, true, *end};
        GEOREP_RETURN_IF_ERROR(SaveWorkerState(state_path_, wstate));
      }
    }
  }
  if (wstate.passive) {
    // A takeover. Changes this brick got only through self-heal (made while
    // it was down, healed from the brick that was Active) are in its journal
    // only as self-heal records; whatever of them the previous Active worker
    // had not sent would be lost if they were skipped as usual. Those healed
    // up to the journal's end now are replayed (idempotent, read from the
    // primary as it is now), but only if healed after the set's sync mark
    // less passive_lag_s: a change healed before the mark was journaled
    // earlier still on the Active brick, whose worker had sent everything
    // journaled up to the mark. (A fail-back so replays only the last few
    // seconds' heals, not all the Active brick got while this one was away.)
    auto end = JournalEnd(brick);
    if (!end.ok()) return end.status().Annotate("journal end of " + brick);
    Result<std::optional<uint64_t>> mark =
        ReadBrickSyncMark(brick, SyncMarkKey(cfg.name, id_.brick.set_index));
    wstate.passive = false;
    wstate.heal_replay_through = *end;
    wstate.heal_replay_after_ns =
        mark.ok() ? SyncedThrough(*mark, cfg.tunables.passive_lag_s).value_or(0) : 0;
    GEOREP_RETURN_IF_ERROR(SaveWorkerState(state_path_, wstate));
    log::Info("worker", brick_id_ + ": taking over as Active from journal position " + std::to_string(cursor) +
                            "; records of self-heal up to " + std::to_string(*end) + " healed after " +
                            (wstate.heal_replay_after_ns == 0 ? std::string("the session began (no sync mark)")
                                                              : journal::FormatTimeNs(wstate.heal_replay_after_ns) +
                                                                    " (the sync mark less passive_lag_s)") +
                            " are replayed too: the previous Active brick may not have sent those changes");
  }
  const bool need_crawl = !wstate.crawl_done;
  const std::string sent_path = SentMarkPath(state_path_);
  uint64_t sent_mark = 0;
  if (auto m = LoadSentMark(sent_path)) {
    sent_mark = *m;
  } else {
    auto end = JournalEnd(brick);
    if (!end.ok()) return end.status().Annotate("journal end of " + brick);
    sent_mark = *end;
    GEOREP_RETURN_IF_ERROR(SaveSentMark(sent_path, sent_mark));
  }
  // Records up to here may have reached the secondary before.
  uint64_t replay_limit = sent_mark;
  // After a resync crawl the journal continues where the crawl started: the
  // records between the old cursor and there are gone and the crawl covers them.
  const uint64_t read_from = wstate.resync ? std::max(cursor, wstate.crawl_start_seq) : cursor;
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.cursor_seq = cursor;
    // GlusterFS calls a crawl that stands in for lost change records a
    // Hybrid Crawl; admins know the word.
    status_.crawl_status = !need_crawl ? "Journal Crawl" : wstate.resync ? "Hybrid Crawl" : "Initial Crawl";
    if (wstate.resync) {
      // Shown in status detail: why this crawl runs.
      status_.last_failure =
          "the journal of brick " + brick + " dropped records this session had not synced (its size "
          "cap, max-journal-size): resync by a full crawl, after removing from the secondary what the "
          "primary no longer has (raise max-journal-size if georepd is often down this long)";
    }
    dirty_ = true;
  }

  // The primary volume, by GFID.
  Result<GfapiVolume*> vol = PrimaryVolume(cfg);
  if (!vol.ok()) return vol.status();
  GfapiSource gfapi_source(*vol);
  // Every read of the primary goes through the watch: a call that does not
  // return is shown in status (stall_watch.h, ShowStalledCall).
  WatchedSource source(&gfapi_source);
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watch_ = &source;
  }
  struct Unwatch {
    BrickWorker* w;
    ~Unwatch() {
      std::lock_guard<std::mutex> lock(w->watch_mu_);
      w->watch_ = nullptr;
    }
  } unwatch{this};

  // The secondary.
  SshOptions so;
  so.host = cfg.secondary_host;
  so.port = cfg.ssh_port;
  so.user = cfg.secondary_user;
  so.identity = cfg.ssh_identity;
  so.known_hosts = cfg.ssh_known_hosts;
  so.command = cfg.receiver_command + " --volume " + ShellQuote(cfg.secondary_volume);
  so.timeout_s = cfg.tunables.ssh_timeout_s;
  auto t_ssh = Clock::now();
  auto conn = ConnectSsh(so);
  if (!conn.ok()) return conn.status();
  log::Debug("worker", brick_id_ + ": SSH session to " + so.host + " and receiver started in " +
                           std::to_string(std::chrono::duration_cast<milliseconds>(Clock::now() - t_ssh).count()) +
                           " ms");
  Transport& t = **conn;

  protocol::FrameDecoder decoder;
  std::string rbuf;
  // Reads the next frame within `timeout`; nullopt on timeout. Reads the
  // socket at least once, also with a zero timeout: an idle connection must
  // notice a receiver that died (the channel's EOF) at its next turn, not at
  // its next keepalive write up to keepalive_s later.
  auto read_frame = [&](milliseconds timeout) -> Result<std::optional<protocol::Message>> {
    auto deadline = Clock::now() + timeout;
    bool polled = false;
    for (;;) {
      auto m = decoder.Next();
      if (!m.ok()) {
        return Status(Code::kAborted, "bad frame from receiver: " + m.status().ToString());
      }
      if (m->has_value()) return std::move(*m);
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        if (polled) return std::optional<protocol::Message>();
        left = milliseconds(0);
      }
      polled = true;
      rbuf.clear();
      GEOREP_RETURN_IF_ERROR(t.Read(&rbuf, static_cast<int>(left.count())));
      if (!rbuf.empty()) decoder.Append(rbuf);
    }
  };
  // Frames go out without copying DATA payloads into them (a 1 GiB file
  // was copied once more here than it needed): large parts are written
  // where they lie, small ones gathered so that a batch of small ops still
  // leaves in few SSH packets.
  std::string frame_bytes, staged;
  std::vector<std::string_view> parts;
  auto send = [&](const protocol::Message& m, size_t* bytes) -> Status {
    constexpr size_t kWriteDirectlyFrom = 64 * 1024;
    GEOREP_RETURN_IF_ERROR(protocol::EncodeFrameParts(m, &frame_bytes, &parts));
    size_t total = 0;
    staged.clear();
    for (std::string_view p : parts) {
      total += p.size();
      if (p.size() < kWriteDirectlyFrom) {
        staged.append(p);
        continue;
      }
      if (!staged.empty()) {
        GEOREP_RETURN_IF_ERROR(t.Write(staged));
        staged.clear();
      }
      GEOREP_RETURN_IF_ERROR(t.Write(p));
    }
    if (!staged.empty()) GEOREP_RETURN_IF_ERROR(t.Write(staged));
    if (bytes != nullptr) *bytes = total;
    return Status::Ok();
  };
  // A batch goes out through a Message that borrows it (moved in and back
  // out): passing the Batch where a Message is expected would copy it, every
  // data payload included (4 MiB per chunk of a big file).
  auto send_batch = [&](protocol::Batch* b, size_t* bytes) -> Status {
    protocol::Message m(std::move(*b));
    Status st = send(m, bytes);
    *b = std::move(std::get<protocol::Batch>(m));
    return st;
  };

  // Handshake.
  protocol::Hello hello;
  hello.session_id = cfg.name;
  hello.primary_volume = cfg.primary_volume;
  hello.primary_brick_id = brick_id_;
  hello.secondary_volume = cfg.secondary_volume;
  GEOREP_RETURN_IF_ERROR(send(hello, nullptr));
  uint32_t peer_max_body = protocol::kMaxBodySize;
  {
    auto m = read_frame(milliseconds(1000ll * cfg.tunables.ssh_timeout_s));
    if (!m.ok()) return m.status();
    if (!m->has_value()) {
      // Before answering, the receiver mounts the secondary volume and
      // takes the brick's lock from an older receiver: either can hang.
      return Status(Code::kUnavailable, "georep-receiver on " + t.Peer() + " did not answer HELLO "
                                        "within " + std::to_string(cfg.tunables.ssh_timeout_s) +
                                        " s: it mounts the secondary volume (a brick or glusterd not "
                                        "answering) and waits for an older receiver of this brick to "
                                        "stop; its log on the secondary shows how far it got");
    }
    if (auto* e = std::get_if<protocol::Error>(&**m)) {
      Code code = e->code == protocol::ErrorCode::kVolumeMismatch ||
                          e->code == protocol::ErrorCode::kVersionMismatch
                      ? Code::kFailedPrecondition
                      : Code::kUnavailable;
      return Status(code, std::string("receiver refused the session (") +
                              protocol::ErrorCodeName(e->code) + "): " + e->message);
    }
    auto* ok = std::get_if<protocol::HelloOk>(&**m);
    if (ok == nullptr) return Status(Code::kAborted, "receiver answered HELLO with something else");
    peer_max_body = ok->max_body_size;
    log::Info("worker", brick_id_ + ": connected to " + t.Peer() + " (receiver " +
                            ok->receiver_version + ", secondary volume " + cfg.secondary_volume + ")");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.secondary_node = cfg.secondary_host;
    dirty_ = true;
  }
  SetState("Active");

  // ---- Resync, first step: remove what the primary no longer has ----------------------
  // Before anything else uses the connection (pruner.h): the crawl that
  // follows re-creates renamed objects under their new names only once
  // their old names are gone. The listing also tells which of this brick's
  // files the secondary already has as they are (secondary_files.h): the
  // crawl sends only their attributes.
  std::optional<SecondaryFiles> secondary_files;
  if (need_crawl && wstate.resync) {
    const milliseconds io_timeout(1000ll * cfg.tunables.ssh_timeout_s);
    // The reply to a request just sent: PONGs are skipped, anything else
    // ends the connection, and so does silence for 4 x ssh_timeout_s (a
    // listing of a huge directory page or a batch of removals).
    auto await_reply = [&](auto pick) -> Status {
      const auto deadline = Clock::now() + 4 * io_timeout;
      for (;;) {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
          return Status(Code::kUnavailable, "the receiver did not answer within " +
                                                std::to_string(4 * cfg.tunables.ssh_timeout_s) + " s during the resync's prune");
        }
        auto m = read_frame(left);
        if (!m.ok()) return m.status();
        if (!m->has_value()) continue;
        if (std::holds_alternative<protocol::Pong>(**m)) continue;
        if (auto* e = std::get_if<protocol::Error>(&**m)) {
          return Status(Code::kUnavailable, std::string("receiver ended the session (") +
                                                protocol::ErrorCodeName(e->code) + "): " + e->message);
        }
        Result<bool> done = pick(**m);
        if (!done.ok()) return done.status();
        if (*done) return Status::Ok();
        return Status(Code::kAborted, std::string("receiver sent ") +
                                          protocol::MessageTypeName(protocol::TypeOf(**m)) +
                                          " where the resync's prune expected its reply");
      }
    };
    uint64_t next_request = 1;
    // All requests go out before the first reply is read: the receiver
    // answers them in order, and a group of directories costs one round
    // trip (pruner.h, kListsInFlight).
    auto list_pages = [&](const std::vector<SecondaryPruner::PageRequest>& pages)
        -> Result<std::vector<protocol::ListReply>> {
      std::vector<protocol::ListRequest> sent;
      sent.reserve(pages.size());
      for (const auto& [dir, cookie] : pages) {
        protocol::ListRequest req;
        req.request_id = next_request++;
        req.gfid = dir;
        req.cookie = cookie;
        GEOREP_RETURN_IF_ERROR(send(req, nullptr));
        sent.push_back(req);
      }
      std::vector<protocol::ListReply> replies;
      replies.reserve(sent.size());
      for (const protocol::ListRequest& req : sent) {
        GEOREP_RETURN_IF_ERROR(await_reply([&](protocol::Message& m) -> Result<bool> {
          auto* r = std::get_if<protocol::ListReply>(&m);
          if (r == nullptr) return false;
          if (r->request_id != req.request_id || r->gfid != req.gfid) {
            return Status(Code::kAborted, "receiver answered list request " + std::to_string(req.request_id) +
                                              " with reply " + std::to_string(r->request_id));
          }
          replies.push_back(std::move(*r));
          return true;
        }));
      }
      return replies;
    };
    uint64_t next_prune_batch = uint64_t{3} << 61;  // apart from the producer's and repairs' ids
    auto apply_ops = [&](std::vector<protocol::Op> ops) -> Result<std::vector<protocol::OpFailure>> {
      protocol::Batch b;
      b.batch_id = next_prune_batch++;
      b.flags = protocol::kBatchInOrder;
      b.ops = std::move(ops);
      const uint32_t count = static_cast<uint32_t>(b.ops.size());
      GEOREP_RETURN_IF_ERROR(send_batch(&b, nullptr));
      std::vector<protocol::OpFailure> failures;
      GEOREP_RETURN_IF_ERROR(await_reply([&](protocol::Message& m) -> Result<bool> {
        auto* a = std::get_if<protocol::Ack>(&m);
        if (a == nullptr) return false;
        if (a->batch_id != b.batch_id || a->op_count != count) {
          return Status(Code::kAborted, "receiver acknowledged batch " + std::to_string(a->batch_id) +
                                            " (" + std::to_string(a->op_count) + " ops) for batch " +
                                            std::to_string(b.batch_id) + " (" + std::to_string(count) + " ops)");
        }
        failures = std::move(a->failures);
        return true;
      }));
      return failures;
    };
    const auto t_prune = Clock::now();
    log::Info("worker", brick_id_ + ": resync: removing from the secondary what the primary no longer has");
    SecondaryPruner pruner(
        &source, list_pages, apply_ops,
        [&] { return stop_.load() || Generation() != generation; },
        std::min<size_t>(cfg.tunables.batch_max_ops, protocol::kMaxListEntries));
    if (cfg.tunables.resync_quick_check) {
      secondary_files.emplace();
      // Every worker lists the whole volume; each keeps the files of its own
      // brick only (a local stat per file, against a lookup on the primary).
      pruner.set_kept_file([&](const protocol::ListEntry& f) {
        if (BrickHasFile(brick, f.gfid)) (void)secondary_files->Add(f.gfid, f.size, f.mtime_ns);
      });
    }
    Status pruned = pruner.Run();
    const PruneStats& ps = pruner.stats();
    log::Info("worker", brick_id_ + ": resync prune " + (pruned.ok() ? "done" : "ended (" + pruned.ToString() + ")") +
                            " in " + std::to_string(std::chrono::duration_cast<milliseconds>(Clock::now() - t_prune).count()) +
                            " ms: " + std::to_string(ps.dirs_listed) + " directories listed, " +
                            std::to_string(ps.entries_checked) + " entries checked (" +
                            std::to_string(ps.confirmed_by_listing) + " found in the primary's listing, " +
                            std::to_string(ps.primary_lookups) + " looked up by name), " + std::to_string(ps.unlinked) +
                            " stale names unlinked, " + std::to_string(ps.dirs_removed) + " stale directories removed, " +
                            std::to_string(ps.unchecked) + " kept unchecked, " + std::to_string(ps.failed_ops) +
                            " removals refused");
    if (!pruned.ok()) return pruned.Annotate("resync prune");
    if (secondary_files) {
      secondary_files->Seal();
      log::Info("worker", brick_id_ + ": resync: the secondary has " + std::to_string(secondary_files->size()) +
                              " of this brick's files under their names; those whose size and mtime match "
                              "the primary's are not re-sent" +
                              (secondary_files->dropped() > 0
                                   ? " (" + std::to_string(secondary_files->dropped()) + " more did not fit the index of " +
                                         std::to_string(SecondaryFiles::kMaxFiles) + " and are re-sent)"
                                   : std::string()));
    }
    if (ps.unchecked > 0 || ps.failed_ops > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      status_.last_failure = "resync of brick " + brick + ": " + std::to_string(ps.unchecked) +
                             " secondary entries were kept because the primary could not say whether it "
                             "still has them, and the secondary refused " + std::to_string(ps.failed_ops) +
                             " removals (georepd's log names them); `georep verify` shows what differs";
      dirty_ = true;
    }
  }

  // ---- Producer: journal/crawl -> plans -> batches --------------------------------
  std::atomic<bool> producer_stop{false};
  std::atomic<uint64_t> epoch{0};
  Status producer_status;
  ItemQueue queue(cfg.tunables.max_inflight_batches);
  auto tunables = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return cfg_.tunables;
  };
  auto limits_from = [&](const SyncTunables& tu) {
    MaterializerLimits l;
    l.max_ops = tu.batch_max_ops;
    l.max_body = std::min(tu.batch_max_bytes, peer_max_body);
    l.fsync = tu.batch_fsync;
    return l;
  };
  std::thread producer([&] {
    // Time the producer spent blocked on a full queue (for the debug log:
    // tells whether the primary's reads or the receiver set the pace).
    Clock::duration queue_wait{};
    Materializer mat(&source, limits_from(tunables()), [&](protocol::Batch b, size_t size) -> Status {
      QueueItem item;
      item.batch = std::make_unique<protocol::Batch>(std::move(b));
      item.encoded_size = size;
      const auto push_started = Clock::now();
      if (!queue.Push(std::move(item), producer_stop)) return Status(Code::kAborted, "stopping");
      queue_wait += Clock::now() - push_started;
      return Status::Ok();
    });
    auto push_marker = [&](QueueItem m) -> Status {
      m.epoch = epoch.load();
      if (!queue.Push(std::move(m), producer_stop)) return Status(Code::kAborted, "stopping");
      return Status::Ok();
    };
    auto run = [&]() -> Status {
      if (need_crawl) {
        const int64_t crawl_started_ns = NowNs();
        log::Info("worker", brick_id_ + (wstate.resync ? ": resync crawl (Hybrid Crawl) of " : ": initial crawl of ") +
                                brick + " (journal position " +
                                std::to_string(wstate.crawl_start_seq) + ")");
        BrickCrawler crawler(
            brick, [&](PlanItem item) { return mat.AddItem(item); },
            [&] { return producer_stop.load(); });
        if (secondary_files) mat.SetSecondaryFiles(&*secondary_files);
        Status crawled = crawler.Run();
        if (crawled.ok()) crawled = mat.Flush();
        mat.SetSecondaryFiles(nullptr);
        GEOREP_RETURN_IF_ERROR(crawled);
        const CrawlStats& cs = crawler.stats();
        log::Info("worker", brick_id_ + ": crawl queued " + std::to_string(cs.dirs) + " dirs, " +
                                std::to_string(cs.files) + " files, " + std::to_string(cs.others) +
                                " others, " + std::to_string(cs.links) + " extra links (" +
                                std::to_string(cs.skipped) + " skipped)" +
                                (secondary_files ? "; " + std::to_string(mat.stats().files_unchanged) +
                                                       " files (" + std::to_string(mat.stats().bytes_unchanged) +
                                                       " bytes) unchanged on the secondary, data not re-sent"
                                                 : std::string()));
        // Journal records up to here may describe changes the crawl has
        // already copied: the secondary is ahead of them.
        if (auto end = JournalEnd(brick); end.ok()) {
          replay_limit = std::max(replay_limit, *end);
        } else {
          return end.status().Annotate("journal end of " + brick);
        }
        QueueItem m;
        m.crawl_end = true;
        // The secondary has the brick as it was when the crawl began.
        m.newest_time_ns = static_cast<uint64_t>(crawl_started_ns);
        GEOREP_RETURN_IF_ERROR(push_marker(std::move(m)));
      }
      auto reader = journal::JournalReader::Open(brick, read_from);
      if (!reader.ok()) return reader.status();
      std::vector<journal::Record> window;
      auto last_marker = Clock::now();
      bool pushed_since_marker = true;
      size_t last_window_records = 0;
      while (!producer_stop.load()) {
        SyncTunables tu = tunables();
        queue.SetCapacity(tu.max_inflight_batches);
        if (last_window_records > 0 && last_window_records < kTrickleWindowRecords) {
          queue.WaitForPendingAtMost(kTrickleBatchesAhead, kTrickleWait, producer_stop);
        }
        window.clear();
        int64_t read_started_ns = NowNs();
        for (;;) {
          if (window.size() >= tu.window_max_records) break;
          journal::Record r;
          auto more = (*reader)->Next(&r);
          if (!more.ok()) {
            if (more.status().code() == Code::kFailedPrecondition) {
              // Records this session never saw are gone: only a crawl can recover.
              WorkerState ws{false, true, 0};
              auto end = JournalEnd(brick);
              ws.crawl_start_seq = end.ok() ? *end : 0;
              GEOREP_RETURN_IF_ERROR(SaveWorkerState(state_path_, ws));
              return Status(Code::kAborted, more.status().message() + "; restarting with a full crawl");
            }
            return more.status();
          }
          if (!*more) break;
          window.push_back(std::move(r));
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          status_.journal_seq = (*reader)->last_seq();
        }
        if (window.empty()) {
          auto now = Clock::now();
          if (pushed_since_marker || now - last_marker >= kIdleMarkerInterval) {
            QueueItem m;
            m.caught_up_ns = read_started_ns;
            GEOREP_RETURN_IF_ERROR(push_marker(std::move(m)));
            last_marker = now;
            pushed_since_marker = false;
          }
          GEOREP_RETURN_IF_ERROR((*reader)->WaitForData(kJournalPoll));
          continue;
        }
        epoch.fetch_add(1);
        pushed_since_marker = true;
        last_window_records = window.size();
        Plan plan = Coalescer::Build(window, HealReplay{wstate.heal_replay_through, wstate.heal_replay_after_ns});
        QueueItem m;
        m.window_end_seq = plan.last_seq;
        m.newest_time_ns = plan.newest_time_ns;
        m.pending_entry = plan.entry_items();
        m.pending_data = plan.data_items();
        m.pending_meta = plan.meta_items();
        {
          std::lock_guard<std::mutex> lock(mu_);
          status_.pending_entry += m.pending_entry;
          status_.pending_data += m.pending_data;
          status_.pending_meta += m.pending_meta;
        }
        if (plan.last_seq > sent_mark) {
          sent_mark = plan.last_seq + kSentMarkReserve;
          GEOREP_RETURN_IF_ERROR(SaveSentMark(sent_path, sent_mark));
        }
        MaterializerLimits limits = limits_from(tu);
        limits.in_order = plan.first_seq <= replay_limit;
        limits.fresh = !limits.in_order;
        mat.SetLimits(limits);
        auto t_mat = Clock::now();
        queue_wait = {};
        uint64_t first_batch = mat.next_batch_id();
        GEOREP_RETURN_IF_ERROR(mat.Add(plan));
        GEOREP_RETURN_IF_ERROR(mat.Flush());
        if (log::GetLevel() == log::Level::kDebug) {
          log::Debug("worker", brick_id_ + ": window " + std::to_string(plan.first_seq) + ".." +
                                   std::to_string(plan.last_seq) + ": " + std::to_string(plan.records) +
                                   " records -> " + std::to_string(plan.items.size()) + " items -> " +
                                   std::to_string(mat.next_batch_id() - first_batch) + " batches in " +
                                   std::to_string(std::chrono::duration_cast<milliseconds>(Clock::now() - t_mat).count()) +
                                   " ms, of which " +
                                   std::to_string(std::chrono::duration_cast<milliseconds>(queue_wait).count()) +
                                   " ms waiting for the receiver (queue full)");
        }
        GEOREP_RETURN_IF_ERROR(push_marker(std::move(m)));
      }
      return Status::Ok();
    };
    Status st = run();
    if (!st.ok() && !producer_stop.load()) producer_status = st;
    queue.Close();
  });

  // ---- Sender: batches out, acks in, cursor forward --------------------------------
  struct Inflight {
    uint64_t batch_id = 0;
    uint32_t op_count = 0;
    std::vector<std::string> op_desc;  // kept only to name failed ops
    // The ops without their data payload: what a failure is judged on.
    std::vector<protocol::Op> ops;
    bool repair = false;  // sent with REPLACE_STALE by the conflict resolver
    Clock::time_point sent;
    std::vector<QueueItem> markers;
  };
  std::deque<Inflight> inflight;
  int64_t synced_through_ns = 0;
  // Refused ops are judged against the primary (conflict.h). While a repair
  // batch is unacknowledged, markers of later acks are held back, so the
  // cursor never passes an op whose repair could still be lost.
  ConflictResolver resolver(&source);
  uint64_t next_repair_id = uint64_t{1} << 62;  // distinct from the producer's ids in logs
  size_t repairs_inflight = 0;
  std::vector<QueueItem> held_markers;
  // The set's sync mark (sync_mark.h) follows the cursor, at most every
  // kSyncMarkInterval. Failing to write it only delays the Passive bricks'
  // journal trimming, so it is logged, not fatal.
  const std::string mark_key = SyncMarkKey(cfg.name, id_.brick.set_index);
  // The newest time acknowledged is kept pending and written once the
  // interval allows, also when no further window comes (flush_sync_mark
  // runs on every turn of the sender loop): the last window's time must
  // reach the Passive bricks, or they stay behind it for good.
  Clock::time_point next_mark_write = Clock::now();
  uint64_t mark_pending_ns = 0;
  uint64_t mark_written_ns = 0;
  bool mark_warned = false;
  auto flush_sync_mark = [&] {
    if (mark_pending_ns <= mark_written_ns || Clock::now() < next_mark_write) return;
    next_mark_write = Clock::now() + kSyncMarkInterval;
    Status st;
    {
      WatchedSource::Scope call(&source, "setxattr of the sync mark on the volume root");
      st = (*vol)->SetRootXattr(mark_key, FormatSyncMark(mark_pending_ns));
    }
    if (st.ok()) {
      mark_written_ns = mark_pending_ns;
      mark_warned = false;
    } else if (!mark_warned) {
      mark_warned = true;
      log::Warning("worker", brick_id_ + ": cannot record the sync mark for Passive bricks (" +
                                 st.ToString() + "); their journals are kept until it works");
    }
  };
  auto apply_marker = [&](const QueueItem& m) -> Status {
    if (m.window_end_seq != 0) {
      GEOREP_RETURN_IF_ERROR(reg.SetCursor(consumer_, m.window_end_seq));
      mark_pending_ns = std::max(mark_pending_ns, m.newest_time_ns);
      flush_sync_mark();
      std::lock_guard<std::mutex> lock(mu_);
      status_.cursor_seq = m.window_end_seq;
      int64_t t_s = static_cast<int64_t>(m.newest_time_ns / 1000000000ull);
      if (status_.last_synced == 0 && t_s > 0) {
        // The first sync shows at once (later ones with the next periodic write).
        dirty_ = true;
        cv_.notify_all();
      }
      if (t_s > status_.last_synced) status_.last_synced = t_s;
      status_.pending_entry -= std::min(status_.pending_entry, m.pending_entry);
      status_.pending_data -= std::min(status_.pending_data, m.pending_data);
      status_.pending_meta -= std::min(status_.pending_meta, m.pending_meta);
    }
    if (m.crawl_end) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        int64_t t_s = static_cast<int64_t>(m.newest_time_ns / 1000000000ull);
        if (t_s > status_.last_synced) status_.last_synced = t_s;
      }
      if (wstate.resync) {
        if (wstate.crawl_start_seq > cursor) {
          GEOREP_RETURN_IF_ERROR(reg.SetCursor(consumer_, wstate.crawl_start_seq));
        }
        Status st = reg.ClearResync(consumer_);
        if (!st.ok() && st.code() != Code::kNotFound) return st;
      }
      wstate.crawl_done = true;
      wstate.resync = false;
      GEOREP_RETURN_IF_ERROR(SaveWorkerState(state_path_, wstate));
      log::Info("worker", brick_id_ + ": initial crawl acknowledged; following the journal");
      std::lock_guard<std::mutex> lock(mu_);
      status_.crawl_status = "Journal Crawl";
      // Written now, not up to a second later: a status read right after the
      // secondary converged must not still say Initial Crawl.
      dirty_ = true;
      cv_.notify_all();
    }
    if (m.caught_up_ns != 0) {
      synced_through_ns = std::max(synced_through_ns, m.caught_up_ns);
      // Idle only if the producer read nothing new since it queued this marker.
      idle_ = m.epoch == epoch.load() && inflight.empty();
    }
    // A checkpoint completes once the secondary has everything journaled
    // before it: either the newest applied change is past it, or the worker
    // caught up with a journal read that began after it (idle volume).
    std::lock_guard<std::mutex> lock(mu_);
    if (cfg_.checkpoint) {
      std::string cp = std::to_string(*cfg_.checkpoint);
      if (status_.checkpoint != cp) {
        status_.checkpoint = cp;
        status_.checkpoint_completed = false;
      }
      if (!status_.checkpoint_completed &&
          (status_.last_synced >= *cfg_.checkpoint ||
           synced_through_ns / 1000000000 >= *cfg_.checkpoint)) {
        status_.checkpoint_completed = true;
        status_.checkpoint_completion_time = NowS();
        dirty_ = true;
        log::Info("worker", brick_id_ + ": checkpoint " + cp + " completed");
      }
    }
    return Status::Ok();
  };

  // Materializes repair items from the primary's current state and sends
  // them at once (nothing queued later may overtake them), batch by batch,
  // so a large re-created file never sits in memory whole.
  auto send_repair = [&](const std::vector<PlanItem>& items) -> Status {
    MaterializerLimits l = limits_from(tunables());
    l.replace_stale = true;
    Materializer rmat(&source, l, [&](protocol::Batch b, size_t) -> Status {
      Inflight f;
      f.batch_id = b.batch_id;
      f.op_count = static_cast<uint32_t>(b.ops.size());
      f.repair = true;
      for (const auto& op : b.ops) f.op_desc.push_back(protocol::DescribeOp(op));
      size_t bytes = 0;
      GEOREP_RETURN_IF_ERROR(send_batch(&b, &bytes));
      f.ops = StripPayload(std::move(b.ops));
      f.sent = Clock::now();
      inflight.push_back(std::move(f));
      queue.SetInflight(inflight.size());
      ++repairs_inflight;
      std::lock_guard<std::mutex> lock(mu_);
      status_.bytes_sent += bytes;
      ++status_.batches;
      return Status::Ok();
    });
    rmat.set_next_batch_id(next_repair_id);
    for (const PlanItem& item : items) GEOREP_RETURN_IF_ERROR(rmat.AddItem(item));
    GEOREP_RETURN_IF_ERROR(rmat.Flush());
    next_repair_id = rmat.next_batch_id();
    return Status::Ok();
  };

  // The keepalive's outstanding PING (set when sent, cleared by its PONG).
  std::optional<Clock::time_point> ping_sent;
  uint64_t ping_token = 0;
  auto handle = [&](const protocol::Message& msg) -> Status {
    if (auto* ack = std::get_if<protocol::Ack>(&msg)) {
      if (inflight.empty() || inflight.front().batch_id != ack->batch_id) {
        return Status(Code::kAborted, "receiver acknowledged batch " + std::to_string(ack->batch_id) +
                                          " out of order");
      }
      if (ack->op_count != inflight.front().op_count) {
        return Status(Code::kAborted, "receiver acknowledged batch " + std::to_string(ack->batch_id) +
                                          " with " + std::to_string(ack->op_count) + " ops, sent " +
                                          std::to_string(inflight.front().op_count));
      }
      Inflight done = std::move(inflight.front());
      inflight.pop_front();
      queue.SetInflight(inflight.size());
      if (log::GetLevel() == log::Level::kDebug) {
        log::Debug("worker", brick_id_ + ": batch " + std::to_string(done.batch_id) + " (" +
                                 std::to_string(done.op_count) + " ops) acknowledged after " +
                                 std::to_string(std::chrono::duration_cast<milliseconds>(Clock::now() - done.sent).count()) +
                                 " ms, " + std::to_string(inflight.size()) + " still in flight");
      }
      if (done.repair) --repairs_inflight;
      for (const auto& f : ack->failures) {
        if (TransientErrno(f.err)) {
          std::string what = f.index < done.op_desc.size() ? done.op_desc[f.index] : "op #" + std::to_string(f.index);
          // Not done: replay from the cursor after a reconnect.
          return Status(Code::kUnavailable, "secondary could not apply " + what + ": " +
                                                f.message + " (" + std::strerror(f.err) + ")");
        }
      }
      // Entry ops are judged first: repairing an entry covers the data and
      // metadata ops of its object that failed because it did not exist yet.
      std::vector<const protocol::OpFailure*> order;
      for (const auto& f : ack->failures) {
        if (f.index < done.ops.size() && IsEntryOp(done.ops[f.index])) order.push_back(&f);
      }
      for (const auto& f : ack->failures) {
        if (!(f.index < done.ops.size() && IsEntryOp(done.ops[f.index]))) order.push_back(&f);
      }
      uint64_t permanent = 0, replays = 0, replaced = 0;
      std::string last_failure;
      bool last_failure_has_cause = false;
      std::vector<PlanItem> repair_items;
      for (const protocol::OpFailure* f : order) {
        std::string what = f->index < done.op_desc.size() ? done.op_desc[f->index] : "op #" + std::to_string(f->index);
        // The receiver's message usually starts with the op itself.
        std::string message = f->message;
        if (message.rfind(what + ": ", 0) == 0) message.erase(0, what.size() + 2);
        std::string refused = message + " (" + std::strerror(f->err) + ")";
        FailureVerdict v;
        if (f->index < done.ops.size()) {
          auto judged = resolver.Judge(done.ops[f->index], f->err, done.repair);
          if (!judged.ok()) {
            // Guessing could lose data or destroy a newer entry: retry the
            // window after a reconnect instead.
            return Status(Code::kUnavailable, "secondary refused " + what + " (" + refused +
                                                  ") and the primary could not be checked: " +
                                                  judged.status().ToString());
          }
          v = std::move(*judged);
        }
        switch (v.kind) {
          case FailureVerdict::Kind::kReplay:
            ++replays;
            log::Info("worker", brick_id_ + ": " + what + " refused by the secondary (" + refused +
                                    ") is history: the primary has moved on since; skipped");
            break;
          case FailureVerdict::Kind::kCovered:
            log::Debug("worker", brick_id_ + ": " + what + " is covered by a repair sent after it");
            break;
          case FailureVerdict::Kind::kRepair:
            ++replaced;
            log::Info("worker", brick_id_ + ": " + what + " refused by the secondary (" + refused +
                                    "): the primary has it there now, so the secondary's entry is stale "
                                    "or missing; resending from the primary with REPLACE_STALE");
            for (auto& item : v.items) repair_items.push_back(std::move(item));
            break;
          case FailureVerdict::Kind::kReport: {
            ++permanent;
            std::string line = what + ": " + refused;
            if (!v.cause.empty()) {
              line += "; " + v.cause;
              if (v.cause.find("full crawl") != std::string::npos) {
                line += " (stop the session, delete " + state_path_ + ", start it again)";
              }
            }
            log::Warning("worker", brick_id_ + ": secondary skipped " + line);
            // The status shows the first failure of an ack that names a cause
            // (entry ops come first: later ENOENTs are usually its fallout).
            if (!v.cause.empty() && !last_failure_has_cause) {
              last_failure = line;
              last_failure_has_cause = true;
            } else if (!last_failure_has_cause) {
              last_failure = line;
            }
            break;
          }
        }
      }
      if (!repair_items.empty()) {
        for (auto& item : resolver.TakeParentRefresh()) repair_items.push_back(std::move(item));
        GEOREP_RETURN_IF_ERROR(send_repair(repair_items));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        status_.failures += permanent;
        status_.replays_skipped += replays;
        status_.stale_replaced += replaced;
        if (!last_failure.empty()) status_.last_failure = last_failure;
        uint64_t not_applied = permanent + replays + replaced;
        status_.ops_applied += done.op_count - std::min<uint64_t>(done.op_count, not_applied);
      }
      progress_ = true;  // the connection works: failures before it no longer count
      if (repairs_inflight > 0) {
        for (QueueItem& m : done.markers) held_markers.push_back(std::move(m));
        return Status::Ok();
      }
      for (const QueueItem& m : held_markers) GEOREP_RETURN_IF_ERROR(apply_marker(m));
      held_markers.clear();
      for (const QueueItem& m : done.markers) GEOREP_RETURN_IF_ERROR(apply_marker(m));
      return Status::Ok();
    }
    if (const auto* pong = std::get_if<protocol::Pong>(&msg)) {
      if (pong->token == ping_token) ping_sent.reset();
      return Status::Ok();
    }
    if (auto* e = std::get_if<protocol::Error>(&msg)) {
      return Status(Code::kUnavailable, std::string("receiver ended the session (") +
                                            protocol::ErrorCodeName(e->code) + "): " + e->message);
    }
    return Status(Code::kAborted, "unexpected message from receiver");
  };

  auto last_send = Clock::now();
  Status result;
  bool graceful = false;
  while (true) {
    if (stop_.load() || Generation() != generation) {
      graceful = true;
      break;
    }
    SyncTunables tu = tunables();
    const milliseconds io_timeout(1000ll * tu.ssh_timeout_s);
    bool paused;
    uint64_t config_seq;
    {
      std::lock_guard<std::mutex> lock(mu_);
      paused = cfg_.state == SessionState::kPaused;
      config_seq = config_seq_;
    }
    SetState(paused ? "Paused" : "Active");
    flush_sync_mark();
    if (paused) idle_ = false;
    // Pull batches until the in-flight window is full (none while paused:
    // the producer then stops at the queue's capacity).
    bool sent = false;
    while (!paused && inflight.size() < tu.max_inflight_batches) {
      milliseconds wait = inflight.empty() && !sent ? milliseconds(100) : milliseconds(0);
      auto item = queue.Pop(wait);
      if (!item) break;
      if (item->batch) {
        Inflight f;
        f.batch_id = item->batch->batch_id;
        f.op_count = static_cast<uint32_t>(item->batch->ops.size());
        f.op_desc.reserve(item->batch->ops.size());
        for (const auto& op : item->batch->ops) f.op_desc.push_back(protocol::DescribeOp(op));
        size_t bytes = 0;
        result = send_batch(&*item->batch, &bytes);
        if (!result.ok()) break;
        f.ops = StripPayload(std::move(item->batch->ops));
        f.sent = Clock::now();
        inflight.push_back(std::move(f));
        queue.SetInflight(inflight.size());
        sent = true;
        last_send = Clock::now();
        std::lock_guard<std::mutex> lock(mu_);
        status_.bytes_sent += bytes;
        ++status_.batches;
      } else if (inflight.empty()) {
        result = apply_marker(*item);
        if (!result.ok()) break;
      } else {
        inflight.back().markers.push_back(std::move(*item));
      }
    }
    if (!result.ok()) break;
    if (queue.closed_and_empty() && inflight.empty()) {
      result = producer_status.ok() ? Status(Code::kAborted, "journal reader stopped") : producer_status;
      break;
    }
    // Collect acks: wait when the window is full, peek otherwise. Paused with
    // nothing in flight, only peek here (pongs) and wait below for the
    // configuration instead, so that a resume starts sending at once.
    milliseconds wait(0);
    if (!inflight.empty()) wait = inflight.size() >= tu.max_inflight_batches ? milliseconds(200) : milliseconds(sent ? 0 : 10);
    auto m = read_frame(wait);
    if (!m.ok()) {
      result = m.status();
      break;
    }
    if (m->has_value()) {
      result = handle(**m);
      if (!result.ok()) break;
      // Drain everything already buffered.
      for (;;) {
        auto more = read_frame(milliseconds(0));
        if (!more.ok()) {
          result = more.status();
          break;
        }
        if (!more->has_value()) break;
        result = handle(**more);
        if (!result.ok()) break;
      }
      if (!result.ok()) break;
    }
    if (paused && inflight.empty()) WaitForChange(milliseconds(100), generation, config_seq);
    auto now = Clock::now();
    if (!inflight.empty() && now - inflight.front().sent > 4 * io_timeout) {
      result = Status(Code::kUnavailable, "no acknowledgement for batch " +
                                              std::to_string(inflight.front().batch_id) + " within " +
                                              std::to_string(4 * tu.ssh_timeout_s) + " s");
      break;
    }
    // A link that went silent (packets dropped, no reset) still takes small
    // writes into the socket's buffers: only the missing PONG tells. The
    // PING stays outstanding until its PONG; a new one is not sent meanwhile
    // (each used to restart the wait, so with keepalive_s below
    // ssh_timeout_s an idle worker never noticed a dead link).
    if (ping_sent && now - *ping_sent > io_timeout) {
      result = Status(Code::kUnavailable, "receiver did not answer a keepalive within " +
                                              std::to_string(tu.ssh_timeout_s) + " s (link down, or "
                                              "the secondary host or its sshd hangs)");
      break;
    }
    if (!ping_sent && inflight.empty() && now - last_send > std::chrono::seconds(tu.keepalive_s)) {
      result = send(protocol::Ping{++ping_token}, nullptr);
      if (!result.ok()) break;
      ping_sent = now;
      last_send = now;
    }
  }

  // ---- Teardown ---------------------------------------------------------------------
  producer_stop = true;
  queue.Close();
  if (graceful) {
    // Collect acks for what is in flight (bounded), so less is replayed.
    auto deadline = Clock::now() + kDrainOnStop;
    while (!inflight.empty() && Clock::now() < deadline) {
      auto m = read_frame(milliseconds(100));
      if (!m.ok()) break;
      if (m->has_value() && !handle(**m).ok()) break;
    }
    Status bye = send(protocol::Bye{}, nullptr);
    (void)bye;  // best effort: the receiver also exits on end of stream
  }
  producer.join();
  t.Close();
  idle_ = false;
  return result;
}

}  // namespace georep::daemon

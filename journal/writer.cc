#include "journal/writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "journal/consumers.h"
#include "journal/fileutil.h"
#include "journal/format.h"
#include "journal/framing.h"
#include "journal/segment_reader.h"

namespace georep::journal {

std::string JournalRoot(const std::string& brick_path) {
  std::string root = brick_path;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root + "/" + kJournalSubdir;
}

Result<bool> JournalWriterAttached(const std::string& brick_path) {
  std::string path = JournalRoot(brick_path) + "/" + kWriterLockFile;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    return Status::FromErrno(errno, "journal: open " + path);
  }
  bool attached = false;
  int rc;
  do {
    rc = ::flock(fd, LOCK_SH | LOCK_NB);
  } while (rc != 0 && errno == EINTR);  // bounded: EINTR needs a signal each time
  if (rc == 0) {
    ::flock(fd, LOCK_UN);
  } else if (errno == EWOULDBLOCK) {
    attached = true;
  } else {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "journal: probe lock " + path);
  }
  ::close(fd);
  return attached;
}

namespace {

using internal::SegmentFile;

// Failed appends are warned about at most this often (counted in between).
constexpr std::chrono::seconds kFailureWarningInterval{10};
// A temporary file this old cannot belong to an atomic write in progress.
constexpr int64_t kStaleTemporaryAgeS = 600;

uint64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

const char* PolicyName(FsyncPolicy p) {
  switch (p) {
    case FsyncPolicy::kNever: return "never";
    case FsyncPolicy::kInterval: return "interval";
    case FsyncPolicy::kAlways: return "always";
  }
  return "unknown";
}

// An open segment file. Shared so that a group-commit or interval sync can
// keep fdatasyncing a segment that an appender has just sealed and dropped.
struct SegmentHandle {
  int fd = -1;
  std::string path;
  ~SegmentHandle() {
    if (fd >= 0) ::close(fd);
  }
};

// Contents of seq.hwm (FORMAT.md, "Sequence numbers").
struct HighWater {
  uint64_t floor = 0;    // the next sequence number is never below this
  uint64_t ceiling = 0;  // every sequence number ever assigned is below this
  std::string live;      // segment that was live when this was written
};

std::optional<HighWater> ParseHighWater(const std::string& text) {
  HighWater hw;
  std::istringstream in(text);
  std::string key, value;
  bool have_floor = false, have_ceiling = false, have_live = false;
  while (in >> key >> value) {
    if (key == "floor") {
      have_floor = internal::ParseU64(value, &hw.floor);
    } else if (key == "ceiling") {
      have_ceiling = internal::ParseU64(value, &hw.ceiling);
    } else if (key == "live") {
      uint64_t ignored;
      have_live = internal::ParseSegmentName(value, &ignored);
      hw.live = value;
    }
  }
  if (!have_floor || !have_ceiling || !have_live) return std::nullopt;
  return hw;
}

Status ValidateOptions(const WriterOptions& o) {
  if (o.brick_path.empty() || o.brick_path[0] != '/') {
    return Status(Code::kInvalidArgument,
                  "journal: brick path '" + o.brick_path + "' must be an absolute path");
  }
  if (o.segment_size < kBlockSize) {
    return Status(Code::kInvalidArgument, "journal: segment size " + std::to_string(o.segment_size) +
                                              " is below the minimum of " +
                                              std::to_string(kBlockSize) + " bytes");
  }
  if (o.max_journal_size != 0 && o.max_journal_size < o.segment_size) {
    return Status(Code::kInvalidArgument,
                  "journal: max journal size " + std::to_string(o.max_journal_size) +
                      " must be 0 (no cap) or at least the segment size (" +
                      std::to_string(o.segment_size) + "): the live segment is never removed");
  }
  if (o.fsync == FsyncPolicy::kInterval && o.fsync_interval_ms == 0) {
    return Status(Code::kInvalidArgument, "journal: fsync interval must be at least 1 ms");
  }
  return Status::Ok();
}

class WriterImpl final : public JournalWriter {
 public:
  explicit WriterImpl(const WriterOptions& o)
      : opts_(o),
        root_(JournalRoot(o.brick_path)),
        seg_dir_(root_ + "/" + kSegmentsDir),
        hwm_path_(root_ + "/" + kHighWaterFile),
        registry_(o.brick_path),
        warn_fn_(o.on_warning) {}

  ~WriterImpl() override {
    (void)Close();
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
  }

  Status Init();

  Status Append(Record* r) override;
  Status Reconfigure(const WriterOptions& options) override;
  WriterStats Stats() override;
  Status Close() override;

 private:
  void Warn(const std::string& msg);
  Status RollLocked();
  Status PersistHighWaterLocked();
  void ApplyRetentionLocked();
  Status SyncUpTo(uint64_t seq);
  void StartFlusherLocked();
  void StopFlusher();
  void FlusherLoop();
  void FlushIfDirty();
  uint64_t TotalBytesLocked() const;
  Status LockJournal();

  int lock_fd_ = -1;

  // ---- Guarded by mu_ ------------------------------------------------------
  std::mutex mu_;
  WriterOptions opts_;
  const std::string root_, seg_dir_, hwm_path_;
  ConsumerRegistry registry_;
  std::shared_ptr<SegmentHandle> file_;  // live segment; null after a failed roll
  uint64_t seg_first_ = 0;
  uint64_t seg_size_ = 0;                // bytes written to the live segment
  bool seg_broken_ = false;              // a failed write could not be undone: roll
  std::vector<SegmentFile> sealed_;      // older segments, oldest first
  uint64_t next_seq_ = 1;
  uint64_t ceiling_ = 0;                 // persisted reservation (seq.hwm)
  uint64_t written_seq_ = 0;             // highest seq whose bytes are in the kernel
  bool dirty_ = false;                   // written since the last fdatasync
  bool closed_ = false;
  uint64_t records_ = 0, append_errors_ = 0, resync_marks_ = 0;
  std::chrono::steady_clock::time_point last_failure_warning_{};
  uint64_t failures_suppressed_ = 0;
  std::string frame_;                    // framing scratch, reused
  // Fixed at Open (Reconfigure ignores on_warning): Warn runs without mu_.
  const std::function<void(const std::string&)> warn_fn_;
  std::mutex warn_mu_;                   // serialises the default stderr output

  std::atomic<uint64_t> sync_errors_{0};
  std::atomic<uint64_t> syncs_{0};

  // ---- Group commit (kAlways) ----------------------------------------------
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool syncing_ = false;
  uint64_t synced_seq_ = 0;

  // ---- Interval sync thread (kInterval) ------------------------------------
  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  bool flush_stop_ = false;
  std::atomic<uint32_t> flush_interval_ms_{1000};
  std::thread flusher_;
};

void WriterImpl::Warn(const std::string& msg) {
  if (warn_fn_) {
    warn_fn_(msg);
    return;
  }
  std::lock_guard<std::mutex> l(warn_mu_);
  std::fprintf(stderr, "georep journal %s: %s\n", root_.c_str(), msg.c_str());
}

uint64_t WriterImpl::TotalBytesLocked() const {
  uint64_t total = file_ ? seg_size_ : 0;
  for (const auto& s : sealed_) total += s.size;
  return total;
}

Status WriterImpl::PersistHighWaterLocked() {
  std::string live = file_ ? internal::SegmentName(seg_first_) : std::string();
  if (live.empty()) return Status::Ok();  // nothing live to name; retried at the next roll
  uint64_t ceiling = std::max(ceiling_, next_seq_ + kSeqReserve);
  std::string text = "floor " + std::to_string(next_seq_) + "\nceiling " + std::to_string(ceiling) +
                     "\nlive " + live + "\n";
  Status st = internal::WriteFileAtomic(hwm_path_, text);
  if (st.ok()) ceiling_ = ceiling;
  return st;
}

// Takes the journal's writer lock, waiting (bounded) for a previous holder:
// during a brick restart the old glusterfsd may still be exiting.
Status WriterImpl::LockJournal() {
  std::string path = root_ + "/" + kWriterLockFile;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::FromErrno(errno, "journal: open " + path);
  constexpr auto kRetry = std::chrono::milliseconds(50);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.lock_wait_ms);
  // Bounded by lock_wait_ms.
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline) {
      std::string holder;
      if (auto text = internal::ReadSmallFile(path, 64); text.ok()) holder = *text;
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      ::close(fd);
      if (err != EWOULDBLOCK) return Status::FromErrno(err, "journal: lock " + path);
      return Status(Code::kUnavailable,
                    "journal " + root_ + " is open for writing by another process" +
                        (holder.empty() ? std::string() : " (pid " + holder + ")") + " after " +
                        std::to_string(opts_.lock_wait_ms) +
                        " ms of waiting: only one brick process may write a brick's journal; "
                        "stop the other one (or wait for it to exit) and retry");
    }
    std::this_thread::sleep_for(kRetry);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)internal::PwriteAll(fd, pid.data(), pid.size(), 0, path);
  lock_fd_ = fd;
  return Status::Ok();
}

Status WriterImpl::Init() {
  GEOREP_RETURN_IF_ERROR(ValidateOptions(opts_));
  struct stat st;
  if (::stat(opts_.brick_path.c_str(), &st) != 0) {
    return Status::FromErrno(errno, "journal: brick directory " + opts_.brick_path);
  }
  GEOREP_RETURN_IF_ERROR(internal::MakeDirs(seg_dir_));
  GEOREP_RETURN_IF_ERROR(internal::MakeDirs(root_ + "/" + kConsumersDir));
  GEOREP_RETURN_IF_ERROR(LockJournal());
  // Temporaries of cursor/marker/seq.hwm writes that a crash interrupted.
  internal::RemoveStaleTemporaries(root_, kStaleTemporaryAgeS);
  internal::RemoveStaleTemporaries(root_ + "/" + kConsumersDir, kStaleTemporaryAgeS);

  auto listed = internal::ListSegments(seg_dir_);
  if (!listed.ok()) return listed.status();
  std::vector<SegmentFile> segs = std::move(*listed);

  std::optional<HighWater> hw;
  auto hw_text = internal::ReadSmallFile(hwm_path_);
  if (hw_text.ok()) {
    hw = ParseHighWater(*hw_text);
    if (!hw) Warn(hwm_path_ + " is unreadable; recovering sequence numbers from the segments only");
  } else if (hw_text.status().code() != Code::kNotFound) {
    return hw_text.status().Annotate("journal: read sequence high-water file");
  }

  // Recover the next sequence number from the newest segment: its name is a
  // lower bound, its last valid record the exact value.
  uint64_t next = 1;
  std::string removed_empty;
  if (!segs.empty()) {
    SegmentFile& newest = segs.back();
    next = std::max<uint64_t>(next, newest.first_seq);
    CorruptionReport report;
    auto reader = internal::SegmentReader::Open(newest.path, &report);
    if (!reader.ok()) return reader.status().Annotate("journal: recover sequence");
    std::string payload;
    uint64_t changes = 0;
    while (true) {
      auto r = (*reader)->Next(/*sealed=*/true, &payload);
      if (!r.ok()) return r.status().Annotate("journal: recover sequence");
      if (*r == internal::SegmentReader::Outcome::kNoData) break;
      auto kind = PeekKind(payload);
      if (!kind.ok() || *kind != RecordKind::kChange) continue;
      Record rec;
      if (!DecodeRecord(payload, &rec).ok()) continue;
      changes++;
      next = std::max(next, rec.seq + 1);
    }
    if (report.events > 0) {
      Warn("the newest segment " + newest.path + " has " + std::to_string(report.events) +
           " damaged region(s) (" + std::to_string(report.bytes_dropped) +
           " bytes skipped); readers will report the missing records");
    }
    if (changes == 0 && report.events == 0) {
      // Only a header (or a torn first record): nothing anyone needs. Removing
      // it lets the new segment take its name.
      if (::unlink(newest.path.c_str()) != 0 && errno != ENOENT) {
        return Status::FromErrno(errno, "journal: remove empty segment " + newest.path);
      }
      removed_empty = newest.name;
      segs.pop_back();
    } else if (changes == 0) {
      // Damaged and kept for inspection: the new segment needs a later name.
      next = std::max(next, newest.first_seq + 1);
    }
  }
  if (hw) {
    next = std::max(next, hw->floor);
    // The segment that was live is gone only if someone removed segments
    // behind georep's back (or it was the header-only one removed above).
    // Records in it may have been assigned numbers up to the reservation:
    // continue after the reservation so that none is handed out twice.
    bool live_present = hw->live == removed_empty ||
                        std::any_of(segs.begin(), segs.end(),
                                    [&](const SegmentFile& s) { return s.name == hw->live; });
    if (!live_present && hw->ceiling > next) {
      Warn("segment " + hw->live + " named in " + hwm_path_ +
           " is missing: segments were removed outside georep. Sequence numbers continue at " +
           std::to_string(hw->ceiling) +
           " so that no number is reused; consumers will see a gap and must resync");
      next = hw->ceiling;
    }
    ceiling_ = hw->ceiling;
  }

  // A consumer that has finished sequence numbers at or past `next` read
  // records that did not survive (an unclean shutdown within the fsync
  // window). Continue after them so that no number is reused, and tell the
  // consumer that what it applied may not match the brick.
  auto consumers = registry_.List();
  if (!consumers.ok()) return consumers.status().Annotate("journal: list consumers");
  uint64_t bump = next;
  for (const auto& c : *consumers) {
    if (c.cursor < next) continue;
    bool plausible = hw ? c.cursor < hw->ceiling : c.cursor < next + kSeqReserve;
    if (!plausible) {
      Warn("consumer '" + c.name + "' has cursor " + std::to_string(c.cursor) +
           " beyond any sequence number this journal ever assigned; ignoring it");
      continue;
    }
    bump = std::max(bump, c.cursor + 1);
    std::string reason = "the journal restarted at sequence " + std::to_string(next) +
                         " but consumer '" + c.name + "' had already finished up to " +
                         std::to_string(c.cursor) +
                         ": records were lost in an unclean shutdown (fsync policy " +
                         PolicyName(opts_.fsync) + "); a full resync is needed";
    Status ms = registry_.MarkResync(c.name, reason);
    if (ms.ok()) resync_marks_++;
    Warn(ms.ok() ? reason : reason + " (could not write the resync marker: " + ms.ToString() + ")");
  }
  next = bump;

  next_seq_ = next;
  sealed_ = std::move(segs);
  std::lock_guard<std::mutex> l(mu_);
  // Always a fresh segment: the newest one may end in a torn record.
  GEOREP_RETURN_IF_ERROR(RollLocked());
  if (opts_.fsync == FsyncPolicy::kInterval) StartFlusherLocked();
  return Status::Ok();
}

// Seals the live segment (if any) and starts a new one named after
// next_seq_, then persists seq.hwm and applies retention.
Status WriterImpl::RollLocked() {
  if (file_) {
    if (opts_.fsync != FsyncPolicy::kNever) {
      syncs_++;
      if (::fdatasync(file_->fd) != 0) {
        int err = errno;
        sync_errors_++;
        Warn("fdatasync of sealed segment " + file_->path + " failed: " + std::strerror(err));
      }
    }
    sealed_.push_back(SegmentFile{seg_first_, internal::SegmentName(seg_first_), file_->path, seg_size_});
    file_.reset();
  }
  uint64_t first = next_seq_;
  std::string name = internal::SegmentName(first);
  std::string path = seg_dir_ + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return Status::FromErrno(errno, "journal: create segment " + path);
  auto handle = std::make_shared<SegmentHandle>();
  handle->fd = fd;
  handle->path = path;

  SegmentHeader h;
  h.version = kFormatVersion;
  h.first_seq = first;
  h.created_ns = NowNs();
  h.brick_id = opts_.brick_id;
  std::string payload;
  EncodeSegmentHeader(h, &payload);
  frame_.clear();
  uint64_t size = 0;
  internal::FrameRecord(payload, &size, &frame_);
  Status st = internal::PwriteAll(fd, frame_.data(), frame_.size(), 0, path);
  if (st.ok() && opts_.fsync != FsyncPolicy::kNever) st = internal::FsyncDir(seg_dir_);
  if (!st.ok()) {
    ::unlink(path.c_str());
    return st.Annotate("journal: start segment");
  }
  file_ = std::move(handle);
  seg_first_ = first;
  seg_size_ = size;
  seg_broken_ = false;
  Status hs = PersistHighWaterLocked();
  if (!hs.ok()) Warn("could not update " + hwm_path_ + ": " + hs.ToString());
  ApplyRetentionLocked();
  return Status::Ok();
}

void WriterImpl::ApplyRetentionLocked() {
  if (sealed_.empty()) return;
  auto consumers = registry_.List();
  if (!consumers.ok()) {
    Warn("retention skipped: cannot read the consumer cursors: " + consumers.status().ToString());
    return;
  }
  // The last sequence a sealed segment can hold is one below the next
  // segment's first; using this bound never removes a record too early.
  auto last_seq_of = [&](size_t i) {
    // Without a live segment (a failed roll) the newest sealed one may hold
    // everything up to the last number handed out.
    uint64_t next_first = i + 1 < sealed_.size() ? sealed_[i + 1].first_seq
                          : file_                ? seg_first_
                                                 : next_seq_;
    return next_first > 0 ? next_first - 1 : 0;
  };
  std::vector<const ConsumerState*> active;
  for (const auto& c : *consumers) {
    // A consumer already marked for resync will start over from a new
    // position; its old cursor must not pin segments.
    if (!c.resync) active.push_back(&c);
  }
  size_t remove = 0;
  if (!active.empty()) {
    uint64_t min_cursor = UINT64_MAX;
    for (const auto* c : active) min_cursor = std::min(min_cursor, c->cursor);
    while (remove < sealed_.size() && last_seq_of(remove) <= min_cursor) remove++;
  }
  // The size cap removes more, whatever the consumers have read.
  size_t capped_from = remove;
  if (opts_.max_journal_size > 0) {
    uint64_t total = TotalBytesLocked();
    for (size_t i = 0; i < remove; i++) total -= sealed_[i].size;
    while (remove < sealed_.size() && total > opts_.max_journal_size) {
      total -= sealed_[remove].size;
      remove++;
    }
  }
  if (remove == 0) return;

  if (remove > capped_from) {
    uint64_t lost_first = sealed_[capped_from].first_seq;
    uint64_t lost_last = last_seq_of(remove - 1);
    for (const auto& c : *consumers) {
      if (c.resync || c.cursor >= lost_last) continue;
      std::string reason =
          "journal size cap reached (max_journal_size " + std::to_string(opts_.max_journal_size) +
          " bytes): records " + std::to_string(std::max(lost_first, c.cursor + 1)) + ".." +
          std::to_string(lost_last) + " were removed before consumer '" + c.name +
          "' (cursor " + std::to_string(c.cursor) +
          ") read them; a full resync is needed. Raise max_journal_size or fix the consumer's "
          "lag to avoid this";
      // The marker goes first so that a crash between the two steps cannot
      // leave a consumer behind removed records without being told.
      Status ms = registry_.MarkResync(c.name, reason, lost_last);
      if (ms.ok()) {
        resync_marks_++;
        Warn(reason);
      } else {
        Warn(reason + "; but the resync marker could not be written (" + ms.ToString() +
             "), so the segments are kept");
        remove = capped_from;  // never drop records a consumer was not told about
        break;
      }
    }
  }
  size_t removed = 0;
  for (; removed < remove; removed++) {
    if (::unlink(sealed_[removed].path.c_str()) != 0 && errno != ENOENT) {
      int err = errno;
      Warn("could not remove segment " + sealed_[removed].path + ": " + std::strerror(err));
      break;
    }
  }
  sealed_.erase(sealed_.begin(), sealed_.begin() + static_cast<std::ptrdiff_t>(removed));
}

Status WriterImpl::Append(Record* r) {
  if (r->time_ns == 0) r->time_ns = NowNs();
  // Encode outside the lock; only the sequence number is patched in under it.
  // (A plain local, not thread_local: this code runs in a dlopen()ed
  // translator whose threads belong to glusterfsd.)
  std::string enc;
  enc.reserve(256);
  r->seq = 1;
  EncodeRecord(*r, &enc);

  uint64_t seq;
  FsyncPolicy policy;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) {
      r->seq = 0;
      return Status(Code::kFailedPrecondition, "journal " + root_ + " is closed");
    }
    Status st;
    if (!file_ || seg_broken_ || seg_size_ >= opts_.segment_size) st = RollLocked();
    seq = next_seq_++;
    r->seq = seq;
    for (size_t i = 0; i < 8; i++) enc[kRecordSeqOffset + i] = static_cast<char>(seq >> (8 * i));
    if (st.ok() && enc.size() > kMaxRecordSize) {
      st = Status(Code::kInvalidArgument, "journal record of " + std::to_string(enc.size()) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(kMaxRecordSize));
    }
    if (st.ok()) {
      frame_.clear();
      uint64_t new_size = seg_size_;
      internal::FrameRecord(enc, &new_size, &frame_);
      // One write per record: readers see a prefix of it at worst (which
      // they treat as "not yet"), never an interleaving with another record.
      st = internal::PwriteAll(file_->fd, frame_.data(), frame_.size(), seg_size_, file_->path);
      if (st.ok()) seg_size_ = new_size;
    }
    if (!st.ok()) {
      append_errors_++;
      // Undo a partial write so that the next record lands right after the
      // last good one; if that fails too, the next append starts a segment.
      if (file_ && ::ftruncate(file_->fd, static_cast<off_t>(seg_size_)) != 0) seg_broken_ = true;
      // The sequence number stays consumed (readers will report the gap).
      // Persist that, so a restart cannot hand the number out again.
      Status hs = PersistHighWaterLocked();
      // A full disk fails every fop: one warning per interval, with a count.
      auto now = std::chrono::steady_clock::now();
      if (now - last_failure_warning_ >= kFailureWarningInterval) {
        std::string suppressed =
            failures_suppressed_ > 0
                ? " (" + std::to_string(failures_suppressed_) + " similar failures not logged)"
                : "";
        Warn("could not journal record " + std::to_string(seq) + " (" + OpName(r->op) +
             "): " + st.ToString() + "; consumers will see a gap and must resync" +
             (hs.ok() ? "" : " (the sequence high-water mark could not be saved either: " +
                                 hs.ToString() + ")") +
             suppressed);
        last_failure_warning_ = now;
        failures_suppressed_ = 0;
      } else {
        failures_suppressed_++;
      }
      return st;
    }
    records_++;
    written_seq_ = seq;
    dirty_ = true;
    if (next_seq_ >= ceiling_) {
      Status hs = PersistHighWaterLocked();
      if (!hs.ok()) Warn("could not extend the sequence reservation in " + hwm_path_ + ": " + hs.ToString());
    }
    policy = opts_.fsync;
  }
  if (policy == FsyncPolicy::kAlways) return SyncUpTo(seq);
  return Status::Ok();
}

// Group commit: one appender at a time runs fdatasync for everything written
// so far; the others wait for a sync that covers their record, so N
// concurrent appenders share one fdatasync instead of queueing N of them.
Status WriterImpl::SyncUpTo(uint64_t seq) {
  std::unique_lock<std::mutex> l(sync_mu_);
  // Each pass either waits for a running sync (which finishes) or runs one,
  // and a successful sync covers `seq`; a failing one returns.
  while (synced_seq_ < seq) {
    if (syncing_) {
      sync_cv_.wait(l);
      continue;
    }
    syncing_ = true;
    l.unlock();
    std::shared_ptr<SegmentHandle> fh;
    uint64_t upto;
    {
      std::lock_guard<std::mutex> g(mu_);
      fh = file_;
      upto = written_seq_;
      dirty_ = false;
    }
    // Sealed segments were fdatasynced when sealed, so syncing the live one
    // makes every record up to `upto` durable.
    if (fh) syncs_++;
    int rc = fh ? ::fdatasync(fh->fd) : 0;
    int err = errno;
    l.lock();
    syncing_ = false;
    sync_cv_.notify_all();
    if (rc != 0) {
      sync_errors_++;
      {
        std::lock_guard<std::mutex> g(mu_);
        dirty_ = true;
      }
      return Status::FromErrno(err, "journal: fdatasync " + fh->path);
    }
    synced_seq_ = std::max(synced_seq_, upto);
  }
  return Status::Ok();
}

void WriterImpl::StartFlusherLocked() {
  flush_interval_ms_ = opts_.fsync_interval_ms;
  if (flusher_.joinable()) return;
  {
    std::lock_guard<std::mutex> l(flush_mu_);
    flush_stop_ = false;
  }
  flusher_ = std::thread([this] { FlusherLoop(); });
}

void WriterImpl::StopFlusher() {
  {
    std::lock_guard<std::mutex> l(flush_mu_);
    flush_stop_ = true;
  }
  flush_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

void WriterImpl::FlusherLoop() {
  std::unique_lock<std::mutex> l(flush_mu_);
  while (!flush_stop_) {
    flush_cv_.wait_for(l, std::chrono::milliseconds(flush_interval_ms_.load()));
    if (flush_stop_) break;
    l.unlock();
    FlushIfDirty();
    l.lock();
  }
}

void WriterImpl::FlushIfDirty() {
  std::shared_ptr<SegmentHandle> fh;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!dirty_ || !file_) return;
    dirty_ = false;
    fh = file_;
  }
  syncs_++;
  if (::fdatasync(fh->fd) != 0) {
    int err = errno;
    sync_errors_++;
    {
      std::lock_guard<std::mutex> l(mu_);
      dirty_ = true;
    }
    Warn("fdatasync of " + fh->path + " failed: " + std::strerror(err) +
         "; records since the last sync are not yet on stable storage (retrying)");
  }
}

Status WriterImpl::Reconfigure(const WriterOptions& o) {
  std::unique_lock<std::mutex> l(mu_);
  if (o.brick_path != opts_.brick_path || o.brick_id != opts_.brick_id) {
    return Status(Code::kInvalidArgument,
                  "journal: brick path and brick id cannot change while the journal is open");
  }
  GEOREP_RETURN_IF_ERROR(ValidateOptions(o));
  if (closed_) return Status(Code::kFailedPrecondition, "journal " + root_ + " is closed");
  FsyncPolicy old = opts_.fsync;
  opts_ = o;
  ApplyRetentionLocked();
  if (opts_.fsync == FsyncPolicy::kInterval) {
    StartFlusherLocked();
    flush_cv_.notify_all();  // pick up a shorter interval now
    return Status::Ok();
  }
  if (old == FsyncPolicy::kInterval) {
    l.unlock();
    StopFlusher();
  }
  return Status::Ok();
}

WriterStats WriterImpl::Stats() {
  std::lock_guard<std::mutex> l(mu_);
  WriterStats s;
  s.next_seq = next_seq_;
  s.records = records_;
  s.append_errors = append_errors_;
  s.segments = sealed_.size() + (file_ ? 1 : 0);
  s.bytes = TotalBytesLocked();
  s.resync_marks = resync_marks_;
  s.sync_errors = sync_errors_.load();
  s.syncs = syncs_.load();
  return s;
}

Status WriterImpl::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
  }
  StopFlusher();
  std::lock_guard<std::mutex> l(mu_);
  Status st;
  if (file_) {
    syncs_++;
    if (::fdatasync(file_->fd) != 0) {
      int err = errno;
      sync_errors_++;
      st = Status::FromErrno(err, "journal: fdatasync " + file_->path);
    }
  }
  Status hs = PersistHighWaterLocked();
  if (st.ok() && !hs.ok()) st = hs.Annotate("journal: save sequence high-water mark");
  file_.reset();
  return st;
}

}  // namespace

Result<std::unique_ptr<JournalWriter>> JournalWriter::Open(const WriterOptions& options) {
  auto w = std::make_unique<WriterImpl>(options);
  Status st = w->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<JournalWriter>(std::move(w));
}

}  // namespace georep::journal

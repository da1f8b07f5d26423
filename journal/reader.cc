#include "journal/reader.h"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <thread>

#include "journal/fileutil.h"
#include "journal/format.h"
#include "journal/segment_reader.h"
#include "journal/writer.h"

namespace georep::journal {
namespace {

using internal::SegmentFile;
using internal::SegmentReader;

// Without inotify, WaitForData sleeps at most this long per call.
constexpr std::chrono::milliseconds kPollFallback{100};
// Opening a segment can race with retention removing it; relisting is
// retried this many times before giving up.
constexpr int kOpenRetries = 5;

class ReaderImpl final : public JournalReader {
 public:
  ReaderImpl(std::string root, uint64_t after_seq)
      : root_(std::move(root)),
        seg_dir_(root_ + "/" + kSegmentsDir),
        after_seq_(after_seq),
        last_seq_(after_seq) {}
  ~ReaderImpl() override {
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
  }

  Status Init();
  Result<bool> Next(Record* out) override;
  Status WaitForData(std::chrono::milliseconds timeout) override;
  const CorruptionReport& corruption() const override { return report_; }
  uint64_t last_seq() const override { return last_seq_; }
  void SetSegmentHeaderCallback(
      std::function<void(const std::string&, const SegmentHeader&)> fn) override {
    header_cb_ = std::move(fn);
  }

 private:
  Status OpenSegmentFor(uint64_t seq);
  Status OpenSegment(const SegmentFile& f);
  Result<bool> CurrentIsSealed();
  Result<bool> AdvanceSegment();
  Result<bool> Accept(Record&& rec, Record* out);
  std::string DamageHint() const;

  const std::string root_, seg_dir_;
  const uint64_t after_seq_;
  uint64_t last_seq_;
  bool returned_any_ = false;
  // Set whenever a segment is chosen by position (OpenSegmentFor): records
  // up to here are already delivered, not a sign of a journal reset.
  uint64_t skip_upto_ = 0;
  std::unique_ptr<SegmentReader> cur_;
  SegmentFile cur_info_;
  bool cur_sealed_ = false;
  CorruptionReport report_;
  uint64_t events_at_last_record_ = 0;
  std::optional<Record> pending_;  // record held back behind a reported gap
  int inotify_fd_ = -1;
  std::function<void(const std::string&, const SegmentHeader&)> header_cb_;
};

Status ReaderImpl::Init() {
  struct stat st;
  if (::stat(seg_dir_.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Status(Code::kNotFound,
                    "no journal at " + root_ +
                        ": the georep translator has not run on this brick yet (enable it on "
                        "the volume and restart the brick), or the brick path is wrong");
    }
    return Status::FromErrno(errno, "journal: stat " + seg_dir_);
  }
  // Watch before the first read so that nothing written in between is missed.
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ >= 0 &&
      ::inotify_add_watch(inotify_fd_, seg_dir_.c_str(),
                          IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE) < 0) {
    ::close(inotify_fd_);
    inotify_fd_ = -1;
  }
  return OpenSegmentFor(after_seq_ + 1);
}

Status ReaderImpl::OpenSegment(const SegmentFile& f) {
  auto r = SegmentReader::Open(f.path, &report_);
  if (!r.ok()) return r.status();
  cur_ = std::move(*r);
  cur_info_ = f;
  cur_sealed_ = false;
  return Status::Ok();
}

// Opens the segment that holds `seq`: the last one whose first sequence is
// not above it, or the oldest if all start above it (the gap is reported
// when the first record is read).
Status ReaderImpl::OpenSegmentFor(uint64_t seq) {
  for (int attempt = 0; attempt < kOpenRetries; attempt++) {
    auto segs = internal::ListSegments(seg_dir_, /*with_sizes=*/false);
    if (!segs.ok()) return segs.status();
    if (segs->empty()) {
      cur_.reset();
      return Status::Ok();
    }
    skip_upto_ = seq - 1;
    const SegmentFile* pick = &segs->front();
    for (const auto& f : *segs) {
      if (f.first_seq <= seq) pick = &f;
    }
    Status st = OpenSegment(*pick);
    if (st.ok() && after_seq_ == 0 && !returned_any_ && pick->first_seq > 0) {
      // Reading from the oldest: the oldest segment's name says which record
      // comes first, so records lost at its very start are a gap too.
      last_seq_ = std::max(last_seq_, pick->first_seq - 1);
    }
    if (st.ok() || st.code() != Code::kNotFound) return st;
    // Removed by retention between listing and opening: list again.
  }
  return Status(Code::kUnavailable, "journal: segments in " + seg_dir_ +
                                        " keep disappearing while being opened; retry later");
}

// The live segment is sealed once a later segment exists (the writer creates
// it only after its last write to this one) or once this file was replaced
// or removed (a restarted writer re-created an empty segment of this name).
Result<bool> ReaderImpl::CurrentIsSealed() {
  auto segs = internal::ListSegments(seg_dir_, /*with_sizes=*/false);
  if (!segs.ok()) return segs.status();
  for (const auto& f : *segs) {
    if (f.first_seq > cur_info_.first_seq) return true;
  }
  struct stat by_path, by_fd;
  if (::stat(cur_info_.path.c_str(), &by_path) != 0) {
    if (errno == ENOENT) return true;
    return Status::FromErrno(errno, "journal: stat " + cur_info_.path);
  }
  if (::fstat(cur_->fd(), &by_fd) != 0) return Status::FromErrno(errno, "journal: fstat " + cur_info_.path);
  return by_path.st_ino != by_fd.st_ino || by_path.st_dev != by_fd.st_dev;
}

// Moves from a finished (sealed and fully read) segment to its successor.
// false: there is none yet.
Result<bool> ReaderImpl::AdvanceSegment() {
  for (int attempt = 0; attempt < kOpenRetries; attempt++) {
    auto segs = internal::ListSegments(seg_dir_, /*with_sizes=*/false);
    if (!segs.ok()) return segs.status();
    const SegmentFile* next = nullptr;
    for (const auto& f : *segs) {
      if (f.first_seq > cur_info_.first_seq) {
        next = &f;
        break;
      }
      if (f.first_seq == cur_info_.first_seq) {
        // Same name: a replacement if it is another inode.
        struct stat by_fd, by_path;
        if (::fstat(cur_->fd(), &by_fd) == 0 && ::stat(f.path.c_str(), &by_path) == 0 &&
            by_fd.st_ino != by_path.st_ino) {
          next = &f;
          break;
        }
      }
    }
    if (next == nullptr) return false;
    Status st = OpenSegment(*next);
    if (st.ok()) return true;
    if (st.code() != Code::kNotFound) return st;
  }
  return Status(Code::kUnavailable, "journal: segments in " + seg_dir_ +
                                        " keep disappearing while being opened; retry later");
}

std::string ReaderImpl::DamageHint() const {
  uint64_t n = report_.events - events_at_last_record_;
  if (n > 0) {
    return std::to_string(n) + " damaged region(s) were skipped, the last in " +
           report_.last_segment + " at offset " + std::to_string(report_.last_offset);
  }
  return "they were removed by retention or the size cap (max_journal_size), or their "
         "appends failed; see the brick log and the consumer's .resync marker";
}

// Applies the sequencing rules to a decoded change record.
Result<bool> ReaderImpl::Accept(Record&& rec, Record* out) {
  if (rec.seq <= last_seq_) {
    // Records up to the position (re)opened for are skipped silently.
    if (rec.seq <= skip_upto_) return false;
    skip_upto_ = 0;
    uint64_t prev = last_seq_;
    pending_ = std::move(rec);
    return Status(Code::kFailedPrecondition,
                  "journal sequence went backwards from " + std::to_string(prev) + " to " +
                      std::to_string(pending_->seq) + " in " + cur_info_.path +
                      ": the journal was reset or lost records in an unclean shutdown; a full "
                      "resync is needed");
  }
  // Positioned: from here on a number at or below one already delivered
  // means the journal went backwards.
  skip_upto_ = 0;
  if (rec.seq > last_seq_ + 1) {
    uint64_t first_missing = last_seq_ + 1, last_missing = rec.seq - 1;
    std::string hint = DamageHint();
    pending_ = std::move(rec);
    events_at_last_record_ = report_.events;
    return Status(Code::kFailedPrecondition,
                  "journal records " + std::to_string(first_missing) + ".." +
                      std::to_string(last_missing) + " are missing (" + hint +
                      "); a full resync is needed");
  }
  returned_any_ = true;
  last_seq_ = rec.seq;
  events_at_last_record_ = report_.events;
  *out = std::move(rec);
  return true;
}

Result<bool> ReaderImpl::Next(Record* out) {
  if (pending_) {
    returned_any_ = true;
    last_seq_ = pending_->seq;
    *out = std::move(*pending_);
    pending_.reset();
    return true;
  }
  std::string payload;
  // Each pass consumes a record or a segment, or returns: bounded by the data.
  while (true) {
    if (!cur_) {
      GEOREP_RETURN_IF_ERROR(OpenSegmentFor(last_seq_ + 1));
      if (!cur_) return false;
    }
    auto r = cur_->Next(cur_sealed_, &payload);
    if (!r.ok()) return r.status();
    if (*r == SegmentReader::Outcome::kNoData) {
      if (!cur_sealed_) {
        auto sealed = CurrentIsSealed();
        if (!sealed.ok()) return sealed.status();
        if (!*sealed) return false;
        // Read the segment once more to its final end before moving on: the
        // writer may have appended right before it rolled over.
        cur_sealed_ = true;
        continue;
      }
      auto moved = AdvanceSegment();
      if (!moved.ok()) return moved.status();
      if (!*moved) {
        cur_.reset();  // re-list on the next call
        return false;
      }
      continue;
    }
    auto kind = PeekKind(payload);
    if (!kind.ok()) {
      report_.events++;
      report_.bytes_dropped += payload.size();
      report_.last_segment = cur_info_.path;
      report_.last_offset = cur_->record_offset();
      continue;
    }
    if (*kind == RecordKind::kSegmentHeader) {
      SegmentHeader h;
      Status st = DecodeSegmentHeader(payload, &h);
      if (st.ok() && h.version > kFormatVersion) {
        return Status(Code::kFailedPrecondition,
                      "journal segment " + cur_info_.path + " has format version " +
                          std::to_string(h.version) + " but this georep reads up to version " +
                          std::to_string(kFormatVersion) + ": upgrade georep on this node");
      }
      if (!st.ok()) {
        report_.events++;
        report_.bytes_dropped += payload.size();
        report_.last_segment = cur_info_.path;
        report_.last_offset = cur_->record_offset();
        continue;
      }
      if (header_cb_) header_cb_(cur_info_.path, h);
      continue;
    }
    Record rec;
    if (!DecodeRecord(payload, &rec).ok()) {
      // Checksum-valid but undecodable: never returned as a record. The
      // missing sequence number surfaces as a gap.
      report_.events++;
      report_.bytes_dropped += payload.size();
      report_.last_segment = cur_info_.path;
      report_.last_offset = cur_->record_offset();
      continue;
    }
    auto accepted = Accept(std::move(rec), out);
    if (!accepted.ok() || *accepted) return accepted;
  }
}

Status ReaderImpl::WaitForData(std::chrono::milliseconds timeout) {
  if (pending_) return Status::Ok();
  if (timeout.count() < 0) timeout = std::chrono::milliseconds(0);
  if (inotify_fd_ < 0) {
    std::this_thread::sleep_for(std::min(timeout, kPollFallback));
    return Status::Ok();
  }
  struct pollfd p = {inotify_fd_, POLLIN, 0};
  int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(timeout.count(), INT32_MAX)));
  if (rc < 0 && errno != EINTR) return Status::FromErrno(errno, "journal: poll inotify");
  if (rc > 0) {
    // Drain the queue: one wake-up stands for all the events so far.
    alignas(struct inotify_event) char buf[4096];
    for (int i = 0; i < 64; i++) {
      ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
      if (n <= 0) break;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<JournalReader>> JournalReader::Open(const std::string& brick_path,
                                                           uint64_t after_seq) {
  auto r = std::make_unique<ReaderImpl>(JournalRoot(brick_path), after_seq);
  Status st = r->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<JournalReader>(std::move(r));
}

}  // namespace georep::journal

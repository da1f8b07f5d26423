#include "sync/receiver/session.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "sync/common/log.h"
#include "sync/protocol/codec.h"
#include "sync/receiver/applier.h"
#include "sync/receiver/brick_lock.h"

namespace georep::receiver {

namespace {

constexpr const char* kLog = "receiver";

using protocol::ErrorCode;
using protocol::Message;
using protocol::MessageType;

// Reads and decodes frames on its own thread, so that the next batch (up to
// 4 MiB) is read from sshd's pipe, checked and decoded while the current one
// is applied, instead of afterwards; sshd's decryption also runs meanwhile.
// At most kQueued frames wait decoded; every wait is bounded (kPollMs).
class FrameReader {
 public:
  using Item = Result<std::optional<Message>>;

  FrameReader(int fd, protocol::FrameDecoder* decoder)
      : fd_(fd), decoder_(decoder), thread_([this] { Loop(); }) {}
  ~FrameReader() {
    std::unique_lock<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
    // The thread notices within kPollMs, unless a peer trickles a frame in
    // slowly enough to keep ReadFrame busy: then the input is switched to
    // /dev/null (same fd number, so nothing else can get it), whose end of
    // file ends the read at once.
    if (!cv_.wait_for(lock, std::chrono::milliseconds(10 * kPollMs), [this] { return done_; })) {
      const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null_fd >= 0) {
        (void)::dup2(null_fd, fd_);
        ::close(null_fd);
      }
    }
    lock.unlock();
    thread_.join();
  }

  // The next frame, end of input (nullopt inside), or the error that ended
  // reading, in stream order; nullopt when none arrived within `wait`.
  std::optional<Item> Pop(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, wait, [this] { return !items_.empty(); })) return std::nullopt;
    std::optional<Item> item(std::move(items_.front()));
    items_.pop_front();
    cv_.notify_all();
    return item;
  }

 private:
  static constexpr size_t kQueued = 2;
  static constexpr int kPollMs = 100;

  void Loop() {
    LoopUntilDone();
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

  void LoopUntilDone() {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
      }
      Item next = protocol::ReadFrame(fd_, decoder_, kPollMs);
      if (!next.ok() && next.status().err() == ETIMEDOUT && !decoder_->failed()) continue;
      // A frame, end of input or an error: the last two end reading.
      const bool last = !next.ok() || !next->has_value();
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || items_.size() < kQueued; });
      if (stop_) return;
      items_.push_back(std::move(next));
      cv_.notify_all();
      if (last) return;
    }
  }

  int fd_;
  protocol::FrameDecoder* decoder_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  bool stop_ = false;
  bool done_ = false;  // Loop has returned
  std::thread thread_;  // last: starts once the members above exist
};

class Session {
 public:
  Session(int in_fd, int out_fd, const SessionOptions& options, const VolumeOpener& opener)
      : in_(in_fd), out_(out_fd), options_(options), opener_(opener) {}

  int Run();

 private:
  // Sends ERROR and returns `exit_status`.
  int SendError(ErrorCode code, const std::string& message, int exit_status);
  bool Send(const Message& m);
  // Handles one frame; returns an exit status to stop, nullopt to go on.
  std::optional<int> Handle(Message& m);
  std::optional<int> HandleHello(const protocol::Hello& h);
  void LogSummary(const char* why);
  // Why no further op may be applied: "SIGTERM" when stop_fd is readable,
  // "sender gone" when the output is broken (nobody would read the ACK; the
  // sender's next connection replays the batch), else nullptr.
  const char* StopReason() const;
  int Stopped(const char* why);

  int in_;
  int out_;
  const SessionOptions& options_;
  const VolumeOpener& opener_;
  protocol::FrameDecoder decoder_;
  // DATA payload buffers, decoded into by the reader thread and given back
  // once their batch is applied (common/buffer_pool.h): the frames queued
  // in the reader plus the one being applied.
  BufferPool data_buffers_{4};
  MountedVolume mounted_;
  std::unique_ptr<Applier> applier_;
  BrickLock lock_;  // held from HELLO to exit (PROTOCOL.md, "One receiver per brick")
  std::string peer_;  // "session S, primary P brick B", once known
};

bool Session::Send(const Message& m) {
  Status st = protocol::WriteFrame(out_, m);
  if (!st.ok()) {
    log::Error(kLog, "cannot send " + std::string(protocol::MessageTypeName(protocol::TypeOf(m))) +
                         " to the sender: " + st.ToString());
    return false;
  }
  return true;
}

const char* Session::StopReason() const {
  struct pollfd p[2] = {{options_.stop_fd, POLLIN, 0}, {out_, POLLOUT, 0}};
  int rc;
  for (int tries = 0; tries < 100; ++tries) {
    rc = ::poll(p, 2, 0);
    if (rc >= 0 || errno != EINTR) break;
  }
  if (rc <= 0) return nullptr;
  if (options_.stop_fd >= 0 && (p[0].revents & POLLIN) != 0) return "SIGTERM";
  if ((p[1].revents & (POLLERR | POLLHUP)) != 0) return "sender gone";
  return nullptr;
}

int Session::Stopped(const char* why) {
  log::Info(kLog, std::string("stopping (") + why + ")" + peer_ +
                      ": nothing more is applied; the sender replays what was not acknowledged");
  LogSummary(why);
  return std::string(why) == "SIGTERM" ? kExitStopped : kExitConnectionLost;
}

int Session::SendError(ErrorCode code, const std::string& message, int exit_status) {
  log::Error(kLog, std::string("ending the session with ") + protocol::ErrorCodeName(code) + ": " +
                       message);
  protocol::Error e;
  e.code = code;
  e.message = message;
  Send(e);  // best effort: the peer may already be gone
  LogSummary("error");
  return exit_status;
}

void Session::LogSummary(const char* why) {
  if (applier_ == nullptr) return;
  const ApplierStats& s = applier_->stats();
  log::Info(kLog, std::string("session end (") + why + ")" + peer_ + ": " +
                      std::to_string(s.batches) + " batches, " + std::to_string(s.ops) + " ops, " +
                      std::to_string(s.failed_ops) + " failed, " +
                      std::to_string(s.already_applied) + " already applied, " +
                      std::to_string(s.stale_removed) + " stale entries removed, " +
                      std::to_string(s.create_races) + " creates redone after a racing lookup, " +
                      std::to_string(s.bytes_written) + " bytes written");
}

std::optional<int> Session::HandleHello(const protocol::Hello& h) {
  if (applier_ != nullptr) {
    return SendError(ErrorCode::kUnexpectedMessage, "second HELLO on one connection",
                     kExitProtocolError);
  }
  peer_ = ", session " + protocol::PrintableName(h.session_id) + ", primary " +
          protocol::PrintableName(h.primary_volume) + " brick " +
          protocol::PrintableName(h.primary_brick_id);
  log::Info(kLog, "HELLO" + peer_);
  if (h.version != protocol::kProtocolVersion) {
    return SendError(ErrorCode::kVersionMismatch,
                     "sender speaks protocol version " + std::to_string(h.version) +
                         ", this receiver only version " +
                         std::to_string(protocol::kProtocolVersion) +
                         ": install the same georep version on both sides",
                     kExitProtocolError);
  }
  if (h.secondary_volume != options_.volume) {
    return SendError(ErrorCode::kVolumeMismatch,
                     "sender asks for secondary volume \"" +
                         protocol::PrintableName(h.secondary_volume) +
                         "\" but this receiver was started for \"" + options_.volume +
                         "\": check the session's secondary volume name",
                     kExitProtocolError);
  }
  if (!options_.lock_dir_error.empty()) {
    return SendError(ErrorCode::kInternal, options_.lock_dir_error, kExitUsage);
  }
  if (!options_.lock_dir.empty()) {
    // Before mounting: an older receiver for this brick must have stopped
    // before this one applies anything (brick_lock.h says why).
    BrickLockOptions lo;
    lo.wait_ms = options_.lock_wait_ms;
    lo.cancelled = [this] { return StopReason() != nullptr; };
    const std::string what = "brick " + protocol::PrintableName(h.primary_brick_id) +
                             " of session " + protocol::PrintableName(h.session_id);
    Result<BrickLock> lock = BrickLock::Acquire(
        options_.lock_dir, BrickLockFileName(options_.volume, h.session_id, h.primary_brick_id),
        what, lo);
    if (!lock.ok()) {
      if (const char* why = StopReason(); why != nullptr) return Stopped(why);
      const bool busy = lock.status().code() == Code::kUnavailable;
      return SendError(busy ? ErrorCode::kReceiverBusy : ErrorCode::kInternal,
                       lock.status().message(), busy ? kExitBusy : kExitUsage);
    }
    lock_ = std::move(lock).value();
  }
  Result<MountedVolume> mounted = opener_(options_.volume);
  if (!mounted.ok()) {
    return SendError(ErrorCode::kVolumeUnavailable,
                     "cannot mount secondary volume " + options_.volume + ": " +
                         mounted.status().message(),
                     kExitVolumeError);
  }
  mounted_ = std::move(mounted).value();
  applier_ = std::make_unique<Applier>(mounted_.volume.get(),
                                       static_cast<unsigned>(std::max(1, options_.apply_threads)));
  log::Info(kLog, "session start" + peer_ + ", secondary volume " + options_.volume);
  protocol::HelloOk ok;
  ok.secondary_volume_id = mounted_.volume_id;
  ok.max_body_size = decoder_.max_body();
  ok.receiver_version = options_.receiver_version;
  if (!Send(ok)) return kExitConnectionLost;
  return std::nullopt;
}

std::optional<int> Session::Handle(Message& m) {
  const MessageType type = protocol::TypeOf(m);
  if (type == MessageType::kHello) return HandleHello(std::get<protocol::Hello>(m));
  if (type == MessageType::kError) {
    const auto& e = std::get<protocol::Error>(m);
    log::Error(kLog, std::string("the sender ended the session with ") +
                         protocol::ErrorCodeName(e.code) + ": " + protocol::PrintableName(e.message));
    LogSummary("sender error");
    return kExitConnectionLost;
  }
  if (type == MessageType::kPing) {
    protocol::Pong p;
    p.token = std::get<protocol::Ping>(m).token;
    if (!Send(p)) return kExitConnectionLost;
    return std::nullopt;
  }
  if (type == MessageType::kBye) {
    LogSummary("bye");
    if (!Send(protocol::Bye{})) return kExitConnectionLost;
    return kExitOk;
  }
  const bool request = type == MessageType::kBatch || type == MessageType::kStatRequest ||
                       type == MessageType::kChecksumRequest || type == MessageType::kListRequest;
  if (!request) {
    return SendError(ErrorCode::kUnexpectedMessage,
                     std::string(protocol::MessageTypeName(type)) +
                         " is a receiver-to-sender message",
                     kExitProtocolError);
  }
  if (applier_ == nullptr) {
    return SendError(ErrorCode::kUnexpectedMessage,
                     std::string(protocol::MessageTypeName(type)) + " before HELLO",
                     kExitProtocolError);
  }
  // Frames still queued after the sender went away or after SIGTERM are
  // not applied: the sender's next connection replays them, and applying
  // them late could undo what that connection applies meanwhile.
  if (const char* why = StopReason(); why != nullptr) return Stopped(why);
  Message reply;
  if (type == MessageType::kBatch) {
    const auto& batch = std::get<protocol::Batch>(m);
    protocol::Ack ack;
    const char* stopped = nullptr;
    if (!applier_->ApplyBatch(batch, &ack, [this, &stopped] {
          stopped = StopReason();
          return stopped != nullptr;
        })) {
      return Stopped(stopped);
    }
    log::Debug(kLog, "batch " + std::to_string(batch.batch_id) + ": " +
                         std::to_string(batch.ops.size()) + " ops, " +
                         std::to_string(ack.failures.size()) + " failed");
    reply = std::move(ack);
    // Applied, and every write has completed (ApplyBatch ends with
    // FlushAll): the payloads' buffers can take the next frames.
    for (protocol::Op& op : std::get<protocol::Batch>(m).ops) {
      if (auto* d = std::get_if<protocol::DataOp>(&op)) data_buffers_.Give(std::move(d->data));
    }
  } else if (type == MessageType::kStatRequest) {
    reply = applier_->Stat(std::get<protocol::StatRequest>(m));
  } else if (type == MessageType::kListRequest) {
    reply = applier_->List(std::get<protocol::ListRequest>(m));
  } else {
    reply = applier_->Checksum(std::get<protocol::ChecksumRequest>(m));
  }
  if (!Send(reply)) return kExitConnectionLost;
  return std::nullopt;
}

int Session::Run() {
  using Clock = std::chrono::steady_clock;
  const bool limited = options_.idle_timeout_s > 0;
  auto idle_deadline = Clock::now() + std::chrono::seconds(options_.idle_timeout_s);
  decoder_.set_buffers(&data_buffers_);
  FrameReader reader(in_, &decoder_);
  // One frame per iteration; the session ends on BYE, end of input, an error,
  // SIGTERM or the idle timeout, so every wait is bounded when a timeout is
  // set. Frames are awaited in short slices so that stop_fd is watched too.
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          idle_deadline - Clock::now())
                          .count();
    if (limited && left <= 0) {
      return SendError(ErrorCode::kIdleTimeout,
                       "no frame for " + std::to_string(options_.idle_timeout_s) +
                           " s; the sender must send PING while idle",
                       kExitIdleTimeout);
    }
    std::optional<FrameReader::Item> next =
        reader.Pop(std::chrono::milliseconds(limited ? std::min<int64_t>(left, 200) : 200));
    if (!next.has_value()) {
      struct pollfd p = {options_.stop_fd, POLLIN, 0};
      if (options_.stop_fd >= 0 && ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0) {
        return Stopped("SIGTERM");
      }
      continue;
    }
    if (!next->ok()) {
      const Status& st = next->status();
      if (decoder_.failed()) {
        return SendError(decoder_.error_code(), st.message(), kExitProtocolError);
      }
      log::Error(kLog, "connection lost: " + st.ToString());
      LogSummary("connection lost");
      return kExitConnectionLost;
    }
    if (!(*next)->has_value()) {
      log::Info(kLog, "end of input" + peer_);
      LogSummary("end of input");
      return kExitOk;
    }
    idle_deadline = Clock::now() + std::chrono::seconds(options_.idle_timeout_s);
    std::optional<int> done = Handle(***next);
    if (done.has_value()) return *done;
  }
}

}  // namespace

int RunSession(int in_fd, int out_fd, const SessionOptions& options, const VolumeOpener& opener) {
  // Nothing below throws by design; only memory exhaustion can, and it must
  // still end the session with an ERROR rather than a crash.
  try {
    Session s(in_fd, out_fd, options, opener);
    return s.Run();
  } catch (const std::exception& e) {
    log::Error(kLog, std::string("internal error: ") + e.what());
    protocol::Error err;
    err.code = ErrorCode::kInternal;
    err.message = std::string("receiver internal error: ") + e.what();
    (void)protocol::WriteFrame(out_fd, err);
    return kExitConnectionLost;
  }
}

}  // namespace georep::receiver

// The bounded FIFO between a worker's producer (journal windows ->
// batches) and its sender (batches out, acks in), and the items it carries.
// Header-only so that the unit tests use it as the worker does.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "sync/protocol/messages.h"

namespace georep::daemon {

// What the producer hands to the sender: a batch, or a marker that takes
// effect once every batch queued before it is acknowledged.
struct QueueItem {
  std::unique_ptr<protocol::Batch> batch;  // null for a marker
  size_t encoded_size = 0;
  uint64_t window_end_seq = 0;
  uint64_t newest_time_ns = 0;
  uint64_t pending_entry = 0, pending_data = 0, pending_meta = 0;
  bool crawl_end = false;
  int64_t caught_up_ns = 0;  // everything journaled before this time is in earlier items
  uint64_t epoch = 0;        // producer epoch when pushed (see idle detection)
};

// Bounded FIFO between producer and sender. Every wait is bounded in time.
// `capacity` bounds the batches; window markers (a few bytes each, one per
// journal window) may add up to kMarkersPerBatch times as many. Counted
// together, a paused session's queue of small windows filled up with half
// markers and held only a few batches ready for the resume.
class ItemQueue {
 public:
  static constexpr size_t kMarkersPerBatch = 4;
  explicit ItemQueue(size_t capacity) : capacity_(capacity) {}
  // False when the queue was closed (the consumer side is gone).
  bool Push(QueueItem item, const std::atomic<bool>& stop) {
    std::unique_lock<std::mutex> lock(mu_);
    const bool is_batch = item.batch != nullptr;
    auto full = [&] {
      return is_batch ? batches_ >= capacity_
                      : q_.size() - batches_ >= kMarkersPerBatch * capacity_;
    };
    while (full() && !closed_ && !stop.load()) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
    if (closed_ || stop.load()) return false;
    q_.push_back(std::move(item));
    if (is_batch) ++batches_;
    cv_.notify_all();
    return true;
  }
  std::optional<QueueItem> Pop(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu_);
    if (q_.empty() && wait.count() > 0) cv_.wait_for(lock, wait, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return std::nullopt;
    QueueItem item = std::move(q_.front());
    q_.pop_front();
    if (item.batch) --batches_;
    cv_.notify_all();
    return item;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  bool closed_and_empty() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_ && q_.empty();
  }
  void SetCapacity(size_t c) {
    std::lock_guard<std::mutex> lock(mu_);
    capacity_ = c;
    cv_.notify_all();
  }
  // The sender's count of batches sent and not yet acknowledged.
  void SetInflight(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (inflight_ == n) return;
    inflight_ = n;
    cv_.notify_all();
  }
  // Waits until at most `n` batches are queued or in flight, the queue is
  // closed, `stop` is set or `max_wait` has passed.
  void WaitForPendingAtMost(size_t n, std::chrono::milliseconds max_wait, const std::atomic<bool>& stop) {
    std::unique_lock<std::mutex> lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + max_wait;
    while (batches_ + inflight_ > n && !closed_ && !stop.load()) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return;
      cv_.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(100)));
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<QueueItem> q_;
  size_t batches_ = 0;  // items in q_ that carry a batch
  size_t inflight_ = 0;  // SetInflight
  size_t capacity_;
  bool closed_ = false;
};

}  // namespace georep::daemon

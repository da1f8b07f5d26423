// A few large byte buffers kept for reuse between threads.
//
// Moving a big file, georepd reads each 4 MiB chunk into a buffer that is
// freed once the chunk is sent, and the receiver decodes each chunk into one
// freed once it is written. Fresh buffers that size come from mmap: every
// page faults in and is zeroed by the kernel, and std::string::resize zeroes
// it once more before the data overwrites it. A perf profile of the 1 GiB
// benchmark put that at ~10% of georepd's CPU. A buffer given back here is
// handed out again with its size kept (Take, then resize down: no zeroing).
//
// Bounded: at most `max_buffers` are kept, each of at least kMinKeptBytes
// capacity (small ones cost nothing to allocate); the rest are freed. Take
// them only for payloads that large: a small one would pin a big buffer. An idle process keeps
// at most max_buffers x the largest chunk.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace georep {

class BufferPool {
 public:
  static constexpr size_t kMinKeptBytes = 256 * 1024;

  explicit BufferPool(size_t max_buffers) : max_buffers_(max_buffers) {}

  // A kept buffer (its old contents and size), or an empty string.
  std::string Take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (kept_.empty()) return std::string();
    std::string b = std::move(kept_.back());
    kept_.pop_back();
    return b;
  }

  // Keeps `b` for a later Take if it is large and there is room.
  void Give(std::string&& b) {
    if (b.capacity() < kMinKeptBytes) return;
    std::string drop;  // freed outside the lock
    std::lock_guard<std::mutex> lock(mu_);
    if (kept_.size() >= max_buffers_) {
      drop = std::move(b);
      return;
    }
    kept_.push_back(std::move(b));
  }

  size_t kept() const {
    std::lock_guard<std::mutex> lock(mu_);
    return kept_.size();
  }

 private:
  const size_t max_buffers_;
  mutable std::mutex mu_;
  std::vector<std::string> kept_;
};

}  // namespace georep

// A bounded fan-out: runs fn(index, worker) for every index in [0, n) on at
// most `threads` threads and returns the first failure. Worker numbers are
// 0..threads-1, so callers can keep per-worker buffers without locks.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"

namespace georep::verify {

inline Status ParallelFor(size_t n, int threads, const std::function<Status(size_t, int)>& fn) {
  if (n == 0) return Status::Ok();
  const int workers = static_cast<int>(std::min<size_t>(n, threads < 1 ? 1 : static_cast<size_t>(threads)));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first;
  auto run = [&](int worker) {
    while (!failed.load(std::memory_order_relaxed)) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status st = fn(i, worker);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = st;
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers - 1));
  for (int w = 1; w < workers; ++w) pool.emplace_back(run, w);
  run(0);
  for (std::thread& t : pool) t.join();
  return first;
}

}  // namespace georep::verify

// Backoff: bounded exponential delays between reconnect attempts.
//
// Delay n (n = 0, 1, ...) is min(max, initial * 2^n), scaled by a random
// factor in [1 - jitter, 1] so that many workers restarting together do not
// reconnect in lock step. Reset() after a success starts again at `initial`.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace georep::daemon {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter = 0.2,
          uint64_t seed = std::random_device{}());

  std::chrono::milliseconds Next();
  void Reset() { attempt_ = 0; }
  uint32_t attempts() const { return attempt_; }
  void Reconfigure(std::chrono::milliseconds initial, std::chrono::milliseconds max);

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  double jitter_;
  uint32_t attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace georep::daemon

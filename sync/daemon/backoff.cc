#include "sync/daemon/backoff.h"

#include <algorithm>

namespace georep::daemon {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter,
                 uint64_t seed)
    : initial_(initial), max_(std::max(initial, max)), jitter_(std::clamp(jitter, 0.0, 1.0)),
      rng_(seed) {}

void Backoff::Reconfigure(std::chrono::milliseconds initial, std::chrono::milliseconds max) {
  initial_ = initial;
  max_ = std::max(initial, max);
}

std::chrono::milliseconds Backoff::Next() {
  // Doubling stops once the cap is reached, so the shift never overflows.
  int64_t delay = initial_.count();
  for (uint32_t i = 0; i < attempt_ && delay < max_.count(); ++i) delay *= 2;
  delay = std::min<int64_t>(delay, max_.count());
  if (attempt_ < UINT32_MAX) ++attempt_;
  if (jitter_ > 0) {
    std::uniform_real_distribution<double> dist(1.0 - jitter_, 1.0);
    delay = static_cast<int64_t>(static_cast<double>(delay) * dist(rng_));
  }
  return std::chrono::milliseconds(std::max<int64_t>(delay, 1));
}

}  // namespace georep::daemon

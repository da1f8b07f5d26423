#include "sync/common/heap.h"

#include <malloc.h>

namespace georep {

bool KeepDataBuffersInHeap() {
  constexpr int kMmapThreshold = 32 << 20;   // glibc's maximum (64-bit)
  constexpr int kTrimThreshold = 256 << 20;
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
  return mmap_ok && trim_ok;
}

}  // namespace georep

// CRC-32C (Castagnoli), as used by the journal and the wire protocol.
#pragma once

#include <cstddef>
#include <cstdint>

namespace georep::crc32c {

// Returns the crc32c of data[0,n) continuing from `init` (0 to start).
uint32_t Extend(uint32_t init, const void* data, size_t n);
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }
// The table-driven version Extend falls back to without SSE 4.2; tests
// compare the two.
uint32_t ExtendPortableForTest(uint32_t init, const void* data, size_t n);

// Stored CRCs are masked so that a CRC computed over bytes that themselves
// contain an embedded CRC does not look valid (leveldb's rationale).
constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return ((rot >> 17) | (rot << 15));
}

}  // namespace georep::crc32c

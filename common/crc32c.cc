#include "common/crc32c.h"

#include <array>
#include <cstring>

namespace georep::crc32c {
namespace {

constexpr uint32_t kPoly = 0x82f63b78u;  // reflected Castagnoli polynomial

// Slice-by-8 tables, built at compile time.
constexpr std::array<std::array<uint32_t, 256>, 8> MakeTables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++) {
    for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
  return t;
}
constexpr auto kTables = MakeTables();

uint32_t ExtendPortable(uint32_t crc, const uint8_t* p, size_t n) {
  crc = ~crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);  // little-endian host assumed (x86_64, aarch64)
    v ^= crc;
    crc = kTables[7][v & 0xff] ^ kTables[6][(v >> 8) & 0xff] ^ kTables[5][(v >> 16) & 0xff] ^
          kTables[4][(v >> 24) & 0xff] ^ kTables[3][(v >> 32) & 0xff] ^
          kTables[2][(v >> 40) & 0xff] ^ kTables[1][(v >> 48) & 0xff] ^ kTables[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xff];
  return ~crc;
}

// The CRC register after `c` is followed by kStripe zero bytes, as a linear
// map applied byte by byte through four tables. Interleaving needs it: the
// crc of A|B is Shift(crc of A) ^ (crc of B started from 0), and the three
// stripes of a block are computed independently.
constexpr size_t kStripe = 4096;
struct ShiftTables {
  uint32_t t[4][256];
};
ShiftTables MakeShiftTables() {
  ShiftTables s{};
  uint32_t bit_image[32];
  for (int i = 0; i < 32; i++) {
    uint32_t c = 1u << i;
    for (size_t k = 0; k < kStripe; k++) c = (c >> 8) ^ kTables[0][c & 0xff];
    bit_image[i] = c;
  }
  for (int byte = 0; byte < 4; byte++) {
    for (uint32_t v = 0; v < 256; v++) {
      uint32_t out = 0;
      for (int b = 0; b < 8; b++) {
        if ((v >> b) & 1) out ^= bit_image[byte * 8 + b];
      }
      s.t[byte][v] = out;
    }
  }
  return s;
}
const ShiftTables kShift = MakeShiftTables();
inline uint32_t ShiftStripe(uint32_t c) {
  return kShift.t[0][c & 0xff] ^ kShift.t[1][(c >> 8) & 0xff] ^ kShift.t[2][(c >> 16) & 0xff] ^
         kShift.t[3][c >> 24];
}

#if defined(__x86_64__)
// The crc32 instruction takes 3 cycles but can start one per cycle: three
// independent stripes per block run about three times as fast as one chain
// (frames carry 4 MiB of data each; the simple loop was ~10% of georepd's
// and the receiver's CPU while moving a big file).
__attribute__((target("sse4.2"))) uint32_t ExtendSse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t c = static_cast<uint32_t>(~crc);
  while (n >= 3 * kStripe) {
    uint64_t c1 = 0;
    uint64_t c2 = 0;
    for (size_t i = 0; i < kStripe; i += 8) {
      uint64_t v0, v1, v2;
      std::memcpy(&v0, p + i, 8);
      std::memcpy(&v1, p + kStripe + i, 8);
      std::memcpy(&v2, p + 2 * kStripe + i, 8);
      c = __builtin_ia32_crc32di(c, v0);
      c1 = __builtin_ia32_crc32di(c1, v1);
      c2 = __builtin_ia32_crc32di(c2, v2);
    }
    c = ShiftStripe(static_cast<uint32_t>(c)) ^ static_cast<uint32_t>(c1);
    c = ShiftStripe(static_cast<uint32_t>(c)) ^ static_cast<uint32_t>(c2);
    p += 3 * kStripe;
    n -= 3 * kStripe;
  }
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return ~c32;
}
const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t Extend(uint32_t init, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
#if defined(__x86_64__)
  if (kHaveSse42) return ExtendSse42(init, p, n);
#endif
  return ExtendPortable(init, p, n);
}

uint32_t ExtendPortableForTest(uint32_t init, const void* data, size_t n) {
  return ExtendPortable(init, static_cast<const uint8_t*>(data), n);
}

}  // namespace georep::crc32c

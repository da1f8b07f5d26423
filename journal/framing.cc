#include "journal/framing.h"

#include <algorithm>

#include "common/crc32c.h"

namespace georep::journal::internal {

uint32_t FragmentCrc(FragmentType type, std::string_view fragment) {
  uint8_t t = static_cast<uint8_t>(type);
  uint32_t crc = crc32c::Extend(crc32c::Value(&t, 1), fragment.data(), fragment.size());
  return crc32c::Mask(crc);
}

void FrameRecord(std::string_view payload, uint64_t* file_size, std::string* out) {
  bool first = true;
  // An empty payload still produces one FULL record (never happens for real
  // records, which always carry a kind byte, but keeps the loop total).
  do {
    size_t left_in_block = kBlockSize - static_cast<size_t>(*file_size % kBlockSize);
    if (left_in_block < kHeaderSize) {
      out->append(left_in_block, '\0');
      *file_size += left_in_block;
      left_in_block = kBlockSize;
    }
    size_t avail = left_in_block - kHeaderSize;
    size_t n = std::min(avail, payload.size());
    bool last = n == payload.size();
    FragmentType type = first && last ? FragmentType::kFull
                        : first       ? FragmentType::kFirst
                        : last        ? FragmentType::kLast
                                      : FragmentType::kMiddle;
    std::string_view frag = payload.substr(0, n);
    uint32_t crc = FragmentCrc(type, frag);
    char h[kHeaderSize];
    for (int i = 0; i < 4; i++) h[i] = static_cast<char>(crc >> (8 * i));
    h[4] = static_cast<char>(n & 0xff);
    h[5] = static_cast<char>(n >> 8);
    h[6] = static_cast<char>(type);
    out->append(h, kHeaderSize);
    out->append(frag.data(), frag.size());
    *file_size += kHeaderSize + n;
    payload.remove_prefix(n);
    first = false;
  } while (!payload.empty());
}

}  // namespace georep::journal::internal

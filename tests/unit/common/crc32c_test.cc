// crc32c against published vectors (RFC 3720 appendix B.4) and its masking.
#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace georep::crc32c {
namespace {

TEST(Crc32c, MatchesTheStandardCheckValue) {
  EXPECT_EQ(Value("123456789", 9), 0xe3069283u);
}

TEST(Crc32c, MatchesRfc3720Vectors) {
  std::vector<uint8_t> buf(32, 0);
  EXPECT_EQ(Value(buf.data(), buf.size()), 0x8a9136aau);
  std::fill(buf.begin(), buf.end(), 0xff);
  EXPECT_EQ(Value(buf.data(), buf.size()), 0x62a8ab43u);
  for (int i = 0; i < 32; i++) buf[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Value(buf.data(), buf.size()), 0x46dd794eu);
  for (int i = 0; i < 32; i++) buf[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(Value(buf.data(), buf.size()), 0x113fdb5cu);
  const uint8_t iscsi_read[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
      0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  EXPECT_EQ(Value(iscsi_read, sizeof iscsi_read), 0xd9963a56u);
}

TEST(Crc32c, EmptyInputIsZero) { EXPECT_EQ(Value("", 0), 0u); }

TEST(Crc32c, ExtendingPiecewiseEqualsOneShotAtEverySplitAndAlignment) {
  std::mt19937 rng(7);
  std::string data(1000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  uint32_t whole = Value(data.data(), data.size());
  for (size_t split = 0; split <= data.size(); split += 13) {
    uint32_t a = Value(data.data(), split);
    EXPECT_EQ(Extend(a, data.data() + split, data.size() - split), whole) << split;
  }
  // Unaligned starts take the byte-at-a-time head path.
  for (size_t off = 1; off < 9; off++) {
    std::string shifted = std::string(off, 'x') + data;
    EXPECT_EQ(Value(shifted.data() + off, data.size()), whole) << off;
  }
}

TEST(Crc32c, InterleavedBlocksMatchTheTableDrivenCrcAtEveryLengthAndStart) {
  // Lengths around the 3 x 4096-byte blocks the hardware path interleaves,
  // and a 4 MiB frame body.
  std::mt19937 rng(11);
  std::string data(4 * 1024 * 1024 + 77, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  std::vector<size_t> lengths = {0, 1, 7, 8, 4095, 4096, 12287, 12288, 12289, 12295, 24576, 24577,
                                 3 * 12288 + 5, 100000, data.size() - 3};
  for (size_t len : lengths) {
    for (size_t off : {0, 1, 3}) {
      for (uint32_t init : {0u, 0xdeadbeefu}) {
        EXPECT_EQ(Extend(init, data.data() + off, len), ExtendPortableForTest(init, data.data() + off, len))
            << "length " << len << " offset " << off << " init " << init;
      }
    }
  }
}

TEST(Crc32c, MaskIsReversibleAndChangesTheValue) {
  for (uint32_t v : {0u, 1u, 0xe3069283u, 0xffffffffu, 0x80000000u}) {
    EXPECT_EQ(Unmask(Mask(v)), v);
    EXPECT_NE(Mask(v), v);
    EXPECT_NE(Mask(Mask(v)), Mask(v));
  }
}

}  // namespace
}  // namespace georep::crc32c

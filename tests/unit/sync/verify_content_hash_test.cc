// The content digest: SHA-256 per 4 MiB block, combined with the size. The
// expected values were computed independently with Python's hashlib:
//   sha256(b"georep-content-v1\0" + size.to_bytes(8, "little") + block digests)
#include "sync/verify/content_hash.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace georep::verify {
namespace {

std::string Hex(const std::array<uint8_t, 32>& d) {
  ContentDigest c;
  std::copy(d.begin(), d.end(), c.begin());
  return DigestToHex(c);
}

ReadAt ReaderOver(const std::string& data) {
  return [&data](void* buf, size_t len, uint64_t off) -> int64_t {
    if (off >= data.size()) return 0;
    const size_t n = std::min<size_t>(len, data.size() - off);
    std::memcpy(buf, data.data() + off, n);
    return static_cast<int64_t>(n);
  };
}

// (i * 7 + 3) mod 251: no period that lines up with block or chunk sizes.
std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + 3) % 251);
  return s;
}

TEST(ContentHash, Sha256MatchesTheStandardTestVector) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ContentHash, EmptyFileDigestIsTheDomainAndSizeOnly) {
  const std::string data;
  Result<ContentDigest> d = DigestContent(ReaderOver(data), 0, 1 << 20);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(DigestToHex(*d), "7abc1fb8eff0815022681c7e9795f4e2a426befac48714c658225a4ad54c28ee");
}

TEST(ContentHash, SmallFileDigestMatchesIndependentComputation) {
  const std::string data = "hello\n";
  Result<ContentDigest> d = DigestContent(ReaderOver(data), data.size(), 1 << 20);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(DigestToHex(*d), "efd0a70a1b045d6dace2769c15c50b4c75b5fd30fd04f0f678b27383225ca326");
}

TEST(ContentHash, TwoBlockFileDigestMatchesIndependentComputation) {
  const std::string data = Pattern(kContentBlockSize + 5);
  Result<ContentDigest> d = DigestContent(ReaderOver(data), data.size(), 1 << 20);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(DigestToHex(*d), "46c94e2681580fcea6992e8c83fb7e7702fce5b7e871bd96df802f7273ef5ec0");
}

TEST(ContentHash, DigestDoesNotDependOnReadChunkSize) {
  const std::string data = Pattern(kContentBlockSize + 5);
  Result<ContentDigest> big = DigestContent(ReaderOver(data), data.size(), 1 << 20);
  Result<ContentDigest> odd = DigestContent(ReaderOver(data), data.size(), 65537);
  ASSERT_TRUE(big.ok());
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(*big, *odd);
}

TEST(ContentHash, BlocksHashedOutOfOrderCombineToTheSameDigest) {
  const std::string data = Pattern(2 * kContentBlockSize + 17);
  const ReadAt read = ReaderOver(data);
  BlockHasher hasher;
  std::vector<uint8_t> buffer;
  std::vector<BlockDigest> blocks(BlockCount(data.size()));
  ASSERT_EQ(blocks.size(), 3u);
  for (int i : {2, 0, 1}) {
    Result<BlockDigest> b = DigestBlock(read, data.size(), i, 1 << 20, &hasher, &buffer);
    ASSERT_TRUE(b.ok());
    blocks[i] = *b;
  }
  Result<ContentDigest> sequential = DigestContent(read, data.size(), 1 << 20);
  ASSERT_TRUE(sequential.ok());
  EXPECT_EQ(CombineBlockDigests(data.size(), blocks), *sequential);
}

TEST(ContentHash, OneChangedByteInTheLastBlockChangesTheDigest) {
  std::string data = Pattern(kContentBlockSize + 100);
  Result<ContentDigest> before = DigestContent(ReaderOver(data), data.size(), 1 << 20);
  data[kContentBlockSize + 50] ^= 1;
  Result<ContentDigest> after = DigestContent(ReaderOver(data), data.size(), 1 << 20);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(after.ok());
  EXPECT_NE(*before, *after);
}

TEST(ContentHash, SizeIsPartOfTheDigest) {
  // Same bytes read, different claimed sizes: trailing zero blocks must not
  // collide with a shorter file.
  const std::vector<BlockDigest> none;
  EXPECT_NE(CombineBlockDigests(0, none), CombineBlockDigests(1, none));
}

TEST(ContentHash, FileShorterThanItsStatSizeIsAborted) {
  const std::string data = "short";
  Result<ContentDigest> d = DigestContent(ReaderOver(data), 100, 1 << 20);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kAborted);
}

TEST(ContentHash, ReadErrorCarriesItsErrno) {
  const ReadAt failing = [](void*, size_t, uint64_t) -> int64_t { return -EIO; };
  Result<ContentDigest> d = DigestContent(failing, 10, 1 << 20);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().err(), EIO);
  EXPECT_EQ(d.status().code(), Code::kIOError);
}

}  // namespace
}  // namespace georep::verify

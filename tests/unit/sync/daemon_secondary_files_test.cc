// SecondaryFiles: the resync crawl's record of what the secondary already has.
#include "sync/daemon/secondary_files.h"

#include <gtest/gtest.h>

namespace georep::daemon {
namespace {

protocol::Gfid G(uint8_t n) {
  protocol::Gfid g{};
  g[0] = 0xab;
  g[15] = n;
  return g;
}

TEST(SecondaryFiles, MatchesOnlyTheSameGfidSizeAndMtime) {
  SecondaryFiles f;
  ASSERT_TRUE(f.Add(G(3), 100, 7));
  ASSERT_TRUE(f.Add(G(1), 4096, 1700000000000000001));
  f.Seal();
  EXPECT_TRUE(f.Matches(G(1), 4096, 1700000000000000001));
  EXPECT_TRUE(f.Matches(G(3), 100, 7));
  EXPECT_FALSE(f.Matches(G(1), 4096, 1700000000000000002)) << "mtime differs by a nanosecond";
  EXPECT_FALSE(f.Matches(G(1), 4097, 1700000000000000001)) << "size differs";
  EXPECT_FALSE(f.Matches(G(2), 4096, 1700000000000000001)) << "not listed";
}

TEST(SecondaryFiles, AFileListedUnderTwoNamesMatches) {
  SecondaryFiles f;
  ASSERT_TRUE(f.Add(G(5), 10, 20));
  ASSERT_TRUE(f.Add(G(4), 1, 2));
  ASSERT_TRUE(f.Add(G(5), 10, 20));
  f.Seal();
  EXPECT_TRUE(f.Matches(G(5), 10, 20));
  EXPECT_EQ(f.size(), 3u);
}

TEST(SecondaryFiles, NothingMatchesBeforeSeal) {
  SecondaryFiles f;
  ASSERT_TRUE(f.Add(G(1), 1, 1));
  EXPECT_FALSE(f.Matches(G(1), 1, 1)) << "an unsorted index would be searched wrongly: send in full";
}

TEST(SecondaryFiles, BeyondItsBoundFilesAreDroppedAndSentInFull) {
  SecondaryFiles f(2);
  EXPECT_TRUE(f.Add(G(1), 1, 1));
  EXPECT_TRUE(f.Add(G(2), 1, 1));
  EXPECT_FALSE(f.Add(G(3), 1, 1));
  f.Seal();
  EXPECT_EQ(f.size(), 2u);
  EXPECT_EQ(f.dropped(), 1u);
  EXPECT_FALSE(f.Matches(G(3), 1, 1));
}

}  // namespace
}  // namespace georep::daemon

// Path order, GFID text and display helpers shared by the verifier.
#include "sync/verify/entry.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace georep::verify {
namespace {

TEST(VerifyPaths, SortingGivesDepthFirstOrder) {
  std::vector<std::string> paths = {"/b", "/a.b", "/a/x/y", "/", "/a", "/a/x", "/a-", "/a/x.z", "/ab"};
  std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) { return PathLess(a, b); });
  const std::vector<std::string> want = {"/", "/a", "/a/x", "/a/x/y", "/a/x.z", "/a-", "/a.b", "/ab", "/b"};
  EXPECT_EQ(paths, want);
}

TEST(VerifyPaths, EqualPathsCompareEqual) {
  EXPECT_EQ(ComparePaths("/a/b", "/a/b"), 0);
  EXPECT_EQ(ComparePaths("/", ""), 0);
}

TEST(VerifyPaths, IsBelowNeedsAComponentBoundary) {
  EXPECT_TRUE(IsBelow("/a/b", "/a"));
  EXPECT_TRUE(IsBelow("/a/b/c", "/a"));
  EXPECT_FALSE(IsBelow("/ab", "/a"));
  EXPECT_FALSE(IsBelow("/a", "/a"));
  EXPECT_TRUE(IsBelow("/a", "/"));
  EXPECT_FALSE(IsBelow("/", "/"));
}

TEST(VerifyPaths, JoinPathHandlesTheRoot) {
  EXPECT_EQ(JoinPath("/", "a"), "/a");
  EXPECT_EQ(JoinPath("/a", "b"), "/a/b");
}

TEST(VerifyGfid, TextFormRoundTrips) {
  Gfid g{};
  for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<uint8_t>(i * 17);
  const std::string text = GfidToString(g);
  EXPECT_EQ(text, "00112233-4455-6677-8899-aabbccddeeff");
  Gfid back{};
  ASSERT_TRUE(ParseGfid(text, &back));
  EXPECT_EQ(back, g);
  EXPECT_FALSE(ParseGfid("00112233445566778899aabbccddeeff", &back));
  EXPECT_FALSE(ParseGfid("0011223x-4455-6677-8899-aabbccddeeff", &back));
}

TEST(VerifyFormat, TimesBeforeTheEpochPrintCorrectly) {
  EXPECT_EQ(FormatTimeNs(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatTimeNs(0), "1970-01-01T00:00:00.000000000Z");
}

TEST(VerifyFormat, XattrValuesShowTextBinaryAndNulTerminatedText) {
  EXPECT_EQ(FormatXattrValue("user.a", "blue"), "\"blue\"");
  EXPECT_EQ(FormatXattrValue("user.a", std::string("blue\0", 5)), "\"blue\" (NUL-terminated)");
  EXPECT_EQ(FormatXattrValue("user.a", std::string("\x01\xff", 2)), "0x01ff");
  EXPECT_EQ(FormatXattrValue("user.a", "say \"hi\""), "\"say \\\"hi\\\"\"");
}

TEST(VerifyFormat, MalformedAclIsShownRaw) {
  EXPECT_EQ(FormatXattrValue("system.posix_acl_access", std::string("\x02\x00\x00\x00\x01", 5)),
            "0x0200000001");
}

TEST(VerifyFormat, DefaultAclIsDecoded) {
  const std::string acl("\x02\x00\x00\x00\x01\x00\x07\x00\xff\xff\xff\xff\x08\x00\x05\x00\x37\x00\x00\x00", 20);
  EXPECT_EQ(FormatXattrValue("system.posix_acl_default", acl), "user::rwx,group:55:r-x");
}

TEST(VerifyFormat, ModeKeepsSetIdAndStickyBits) {
  EXPECT_EQ(FormatMode(0100644), "0644");
  EXPECT_EQ(FormatMode(01777), "1777");
  EXPECT_EQ(FormatMode(06755), "6755");
}

}  // namespace
}  // namespace georep::verify

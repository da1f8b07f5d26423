// The Verifier's pass and waiting logic, driven by two manifests (no GlusterFS
// needed: live volumes are covered by tests/integration/verify_*.sh).
#include "sync/verify/verifier.h"

#include <gtest/gtest.h>

namespace georep::verify {
namespace {

Manifest Make(bool content, uint32_t file_uid) {
  Manifest m;
  m.volume = "v";
  m.has_content = content;
  Entry root;
  root.path = "/";
  root.type = EntryType::kDirectory;
  Entry f;
  f.path = "/f";
  f.type = EntryType::kRegular;
  f.size = 3;
  f.uid = file_uid;
  f.has_digest = content;
  m.entries = {root, f};
  return m;
}

Side ManifestSide(Manifest m) {
  Side s;
  s.manifest = std::move(m);
  return s;
}

TEST(Verifier, IdenticalManifestsPassWithContentCompared) {
  Verifier v(ManifestSide(Make(true, 1)), ManifestSide(Make(true, 1)), VerifyOptions{});
  Result<PassResult> r = v.RunPass(false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->differences.empty());
  EXPECT_TRUE(r->stats.content_compared);
  EXPECT_EQ(r->stats.primary_entries, 2u);
  EXPECT_TRUE(r->content_note.empty());
}

TEST(Verifier, ManifestWithoutDigestsIsComparedWithoutContentAndSaysSo) {
  Verifier v(ManifestSide(Make(true, 1)), ManifestSide(Make(false, 1)), VerifyOptions{});
  Result<PassResult> r = v.RunPass(false);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->differences.empty());
  EXPECT_FALSE(r->stats.content_compared);
  EXPECT_NE(r->content_note.find("secondary manifest has no digests"), std::string::npos);
}

TEST(Verifier, DifferenceFoundByTheWalkStopsAFastPass) {
  Verifier v(ManifestSide(Make(true, 1)), ManifestSide(Make(true, 2)), VerifyOptions{});
  Result<PassResult> r = v.RunPass(true);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->differences.size(), 1u);
  EXPECT_EQ(r->differences[0].attribute, "uid");
  EXPECT_FALSE(r->stats.content_compared);
}

TEST(Verifier, ManifestOfAnotherSubtreeIsRefused) {
  Manifest other = Make(true, 1);
  other.root = "/sub";
  Verifier v(ManifestSide(Make(true, 1)), ManifestSide(other), VerifyOptions{});
  Result<PassResult> r = v.RunPass(false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--path"), std::string::npos);
}

TEST(Verifier, WaitReturnsAtOnceWhenEqual) {
  Verifier v(ManifestSide(Make(true, 1)), ManifestSide(Make(true, 1)), VerifyOptions{});
  Result<Verifier::WaitResult> w = v.WaitUntilEqual(std::chrono::milliseconds(5000));
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->equal);
  EXPECT_EQ(w->passes, 1);
}

TEST(Verifier, WaitGivesUpAtItsDeadlineWithTheLastDifferences) {
  Verifier v(ManifestSide(Make(true, 1)), ManifestSide(Make(true, 2)), VerifyOptions{});
  const auto t0 = std::chrono::steady_clock::now();
  Result<Verifier::WaitResult> w = v.WaitUntilEqual(std::chrono::milliseconds(100));
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->equal);
  EXPECT_GT(w->passes, 1);
  EXPECT_EQ(w->last.differences.size(), 1u);
  // Bounded: the deadline plus one pass, generously.
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(Verifier, WaitDelayIsCappedByTwiceTheLastPass) {
  using std::chrono::milliseconds;
  using Seconds = std::chrono::duration<double>;
  // A cheap pass (a walk that found files missing) keeps the pause short.
  EXPECT_EQ(Verifier::WaitDelay(milliseconds(640), Seconds(0.05)), milliseconds(100));
  // Never below the initial delay, never above the maximum.
  EXPECT_EQ(Verifier::WaitDelay(milliseconds(640), Seconds(0.001)), Verifier::kWaitInitialDelay);
  EXPECT_EQ(Verifier::WaitDelay(milliseconds(5000), Seconds(30)), Verifier::kWaitMaxDelay);
  // A long pass leaves the doubling backoff as it is.
  EXPECT_EQ(Verifier::WaitDelay(milliseconds(80), Seconds(2)), milliseconds(80));
}

Entry File(const std::string& path, uint64_t size) {
  Entry e;
  e.path = path;
  e.type = EntryType::kRegular;
  e.size = size;
  e.mode = 0644;
  e.mtime_ns = 1700000000000000000;
  return e;
}

TEST(VerifierProbes, OneProbePerDifferingEntryWithThePrimarysEntry) {
  std::vector<Entry> primary = {File("/a", 1), File("/b", 2), File("/c", 3)};
  std::vector<Difference> diffs(4);
  diffs[0].kind = DiffKind::kMissingOnSecondary;
  diffs[0].path = "/a";
  diffs[1].kind = DiffKind::kAttribute;  // two attributes of one entry: one probe
  diffs[1].path = "/b";
  diffs[1].attribute = "size";
  diffs[2].kind = DiffKind::kAttribute;
  diffs[2].path = "/b";
  diffs[2].attribute = "mtime";
  diffs[3].kind = DiffKind::kExtraOnSecondary;
  diffs[3].path = "/x";
  std::vector<Probe> probes = ProbesFromWalkDiff(primary, diffs);
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_EQ(probes[0].path, "/a");
  ASSERT_TRUE(probes[0].expected.has_value());
  EXPECT_EQ(probes[0].expected->size, 1u);
  EXPECT_EQ(probes[1].path, "/b");
  EXPECT_EQ(probes[1].expected->size, 2u);
  EXPECT_EQ(probes[2].path, "/x");
  EXPECT_FALSE(probes[2].expected.has_value());  // must go away
}

TEST(VerifierProbes, SampleIsSpreadAndIncludesTheLast) {
  EXPECT_TRUE(SpreadSample(0, 8).empty());
  EXPECT_EQ(SpreadSample(3, 8), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(SpreadSample(1000, 1), (std::vector<size_t>{999}));
  std::vector<size_t> s = SpreadSample(1000, 8);
  ASSERT_EQ(s.size(), 8u);
  EXPECT_EQ(s.front(), 0u);
  EXPECT_EQ(s.back(), 999u);
  for (size_t i = 1; i < s.size(); ++i) {
    EXPECT_GT(s[i], s[i - 1]);
    EXPECT_LE(s[i] - s[i - 1], 143u);  // evenly spaced: 999 / 7
  }
}

TEST(VerifierProbes, ProbeMatchesOnlyWhatTheWalkWouldCallEqual) {
  DiffOptions walk;
  walk.walk_only = true;
  Probe p{"/a", File("/a", 10)};
  EXPECT_TRUE(ProbeMatches(p, File("/a", 10), walk));
  EXPECT_FALSE(ProbeMatches(p, std::nullopt, walk));     // not there yet
  EXPECT_FALSE(ProbeMatches(p, File("/a", 4), walk));    // data still arriving
  Entry late = File("/a", 10);
  late.mtime_ns += 1;                                    // times not set yet
  EXPECT_FALSE(ProbeMatches(p, late, walk));
  Entry other_gfid = File("/a", 10);
  other_gfid.has_gfid = true;
  other_gfid.gfid[0] = 1;
  Probe with_gfid{"/a", File("/a", 10)};
  with_gfid.expected->has_gfid = true;
  EXPECT_FALSE(ProbeMatches(with_gfid, other_gfid, walk));
  Probe gone{"/x", std::nullopt};
  EXPECT_TRUE(ProbeMatches(gone, std::nullopt, walk));
  EXPECT_FALSE(ProbeMatches(gone, File("/x", 1), walk));
}

}  // namespace
}  // namespace georep::verify

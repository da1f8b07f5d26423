#include <gtest/gtest.h>

#include "sync/cli/checks.h"

namespace georep::cli {
namespace {

constexpr long long kSec = 1000000000LL;

TEST(CheckClocks, ReadingInsideTheRequestWindowHasNoOffset) {
  NodeClock c{"pnode2", 100 * kSec + 5, "synced", 100 * kSec, 100 * kSec + 10};
  EXPECT_EQ(ClockOffsetMs(c), 0);
  EXPECT_EQ(CheckClocks({c}, 1000), "");
}

TEST(CheckClocks, SkewBeyondTheToleranceNamesTheNodeAndTheOffset) {
  NodeClock ahead{"snode2", 103 * kSec, "synced", 100 * kSec, 101 * kSec};
  NodeClock behind{"pnode2", 98 * kSec, "synced", 100 * kSec, 101 * kSec};
  std::string m = CheckClocks({ahead, behind}, 1000);
  EXPECT_NE(m.find("snode2 (+2000 ms)"), std::string::npos) << m;
  EXPECT_NE(m.find("pnode2 (-2000 ms)"), std::string::npos) << m;
  EXPECT_NE(m.find("add force"), std::string::npos);
}

TEST(CheckClocks, UnsynchronisedNtpFailsEvenWithoutSkew) {
  NodeClock c{"snode1", 100 * kSec, "unsynced", 100 * kSec, 100 * kSec};
  std::string m = CheckClocks({c}, 1000);
  EXPECT_NE(m.find("not synchronised (NTP) on snode1"), std::string::npos) << m;
}

TEST(CheckAccounts, MissingAccountFailsAndNamesTheNodes) {
  std::string warning;
  std::string m = CheckAccounts("geoaccount", {{"snode1", true, 1001, 1001}, {"snode2", false, -1, -1}}, &warning);
  EXPECT_NE(m.find("does not exist on secondary node(s) snode2"), std::string::npos) << m;
  EXPECT_NE(m.find("useradd geoaccount"), std::string::npos);
}

TEST(CheckAccounts, DifferentIdsAreReportedButDoNotFail) {
  std::string warning;
  std::string m = CheckAccounts("geoaccount", {{"snode1", true, 1001, 1001}, {"snode2", true, 1002, 1001}}, &warning);
  EXPECT_EQ(m, "");
  EXPECT_NE(warning.find("snode1 uid 1001 gid 1001, snode2 uid 1002 gid 1001"), std::string::npos) << warning;
}

TEST(CheckAccounts, SameIdsEverywhereSayNothing) {
  std::string warning;
  EXPECT_EQ(CheckAccounts("root", {{"a", true, 0, 0}, {"b", true, 0, 0}}, &warning), "");
  EXPECT_EQ(warning, "");
}

DirectionFacts Facts() {
  DirectionFacts f;
  f.primary_volume = "gvp";
  f.secondary_host = "snode1";
  f.secondary_volume = "gvs";
  f.primary_hosts = {"pnode1", "pnode2"};
  return f;
}

TEST(CheckDirection, ReverseSessionOnTheSecondaryIsRefused) {
  DirectionFacts f = Facts();
  f.secondary_sessions = {{"gvs__pnode2__gvp", "gvs", "pnode2", "gvp"}};
  std::string m = CheckDirection(f);
  EXPECT_NE(m.find("gvs on snode1 is already a georep primary of gvp"), std::string::npos) << m;
}

TEST(CheckDirection, UnrelatedSessionsOnTheSecondaryPass) {
  DirectionFacts f = Facts();
  f.secondary_sessions = {{"gvs__other__gvp", "gvs", "elsewhere", "gvp"}, {"x__pnode1__gvp", "x", "pnode1", "gvp"}};
  EXPECT_EQ(CheckDirection(f), "");
}

TEST(CheckDirection, ReadOnlyPrimaryLooksSwapped) {
  DirectionFacts f = Facts();
  f.primary_read_only = true;
  EXPECT_NE(CheckDirection(f).find("look swapped: primary volume gvp is read-only"), std::string::npos);
}

TEST(CheckDirection, EmptyPrimaryWithFullSecondaryLooksSwapped) {
  DirectionFacts f = Facts();
  f.usage_known = true;
  f.primary_empty = true;
  f.secondary_empty = false;
  EXPECT_NE(CheckDirection(f).find("primary volume gvp is empty while gvs on snode1 holds data"), std::string::npos);
  f.primary_empty = false;
  EXPECT_EQ(CheckDirection(f), "");
}

TEST(CheckEmpty, ListsWhatTheSecondaryHolds) {
  EXPECT_EQ(CheckEmpty("gvs", "snode1", {}), "");
  EXPECT_NE(CheckEmpty("gvs", "snode1", {"a", "b"}).find("is not empty (it holds a, b)"), std::string::npos);
}

TEST(CheckRoom, TooLittleFreeSpaceFailsWithBothSizes) {
  EXPECT_EQ(CheckRoom("gvs", "snode1", 100, 100), "");
  std::string m = CheckRoom("gvs", "snode1", 3ull << 30, 1ull << 20);
  EXPECT_NE(m.find("has 1.0 MiB free but the primary volume holds 3.0 GiB"), std::string::npos) << m;
}

TEST(TranslatorOption, PosixOrUnsetIsNoConflictAnyOtherPlacementIsRefused) {
  EXPECT_EQ(TranslatorOptionConflict("pv", ""), "");
  EXPECT_EQ(TranslatorOptionConflict("pv", "posix"), "");
  std::string m = TranslatorOptionConflict("pv", "changelog");
  EXPECT_NE(m.find("Primary volume pv has user.xlator.georep set to 'changelog'"), std::string::npos) << m;
  EXPECT_NE(m.find("Fix: gluster volume set pv user.xlator.georep posix"), std::string::npos) << m;
  EXPECT_NE(m.find("gluster volume stop pv && gluster volume start pv"), std::string::npos) << m;
}

TEST(TranslatorOption, MissingOptionNamesTheSetAndTheRestart) {
  std::string m = TranslatorOptionMissing("pv");
  EXPECT_NE(m.find("user.xlator.georep is not set"), std::string::npos) << m;
  EXPECT_NE(m.find("gluster volume set pv user.xlator.georep posix, then restart the volume "
                   "(gluster volume stop pv && gluster volume start pv)"),
            std::string::npos)
      << m;
}

TEST(TranslatorOption, RestartNoticeGivesTheCommandsInOrder) {
  std::string m = RestartBeforeStartNotice("pv", "pv snode1::sv");
  size_t stop = m.find("    gluster volume stop pv\n");
  size_t start = m.find("    gluster volume start pv\n");
  size_t session = m.find("    georep pv snode1::sv start\n");
  ASSERT_NE(stop, std::string::npos) << m;
  ASSERT_NE(start, std::string::npos) << m;
  ASSERT_NE(session, std::string::npos) << m;
  EXPECT_LT(stop, start);
  EXPECT_LT(start, session);
}

BrickJournal MakeBrick(const std::string& name, bool online, bool writer) {
  BrickJournal b;
  b.brick = name;
  b.online = online;
  b.probed = true;
  b.writer = writer;
  return b;
}

TEST(CheckJournalWriters, EveryBrickRecordingPasses) {
  JournalVerdict v = CheckJournalWriters("pv", {MakeBrick("n1:/b1", true, true), MakeBrick("n2:/b2", true, true)}, false);
  EXPECT_EQ(v.refusal, "");
  EXPECT_EQ(v.warning, "");
}

TEST(CheckJournalWriters, RunningBrickWithoutWriterIsRefusedEvenWhenOfflineBricksAreAllowed) {
  for (bool allow_offline : {false, true}) {
    JournalVerdict v = CheckJournalWriters(
        "pv", {MakeBrick("n1:/b1", true, false), MakeBrick("n2:/b2", true, true), MakeBrick("n3:/b3", false, false)},
        allow_offline);
    EXPECT_NE(v.refusal.find("Brick(s) n1:/b1 of primary volume pv run without georep's translator"),
              std::string::npos)
        << v.refusal;
    EXPECT_NE(v.refusal.find("Fix: restart the volume: gluster volume stop pv && gluster volume start pv"),
              std::string::npos)
        << v.refusal;
    EXPECT_NE(v.refusal.find("install the same georep on every node"), std::string::npos) << v.refusal;
    EXPECT_NE(v.refusal.find("Also: Brick(s) n3:/b3 of primary volume pv are offline"), std::string::npos)
        << v.refusal;
  }
}

TEST(CheckJournalWriters, OfflineBrickIsRefusedWithoutForceAndAWarningWithIt) {
  std::vector<BrickJournal> b = {MakeBrick("n1:/b1", true, true), MakeBrick("n2:/b2", false, false)};
  JournalVerdict v = CheckJournalWriters("pv", b, false);
  EXPECT_NE(v.refusal.find("Brick(s) n2:/b2 of primary volume pv are offline. Fix: bring them back "
                           "(gluster volume start pv force), or add force"),
            std::string::npos)
      << v.refusal;
  v = CheckJournalWriters("pv", b, true);
  EXPECT_EQ(v.refusal, "");
  EXPECT_NE(v.warning.find("Warning: Brick(s) n2:/b2 of primary volume pv are offline"), std::string::npos)
      << v.warning;
}

TEST(CheckJournalWriters, HeldLockCountsEvenIfVolumeStatusSaidOffline) {
  // volume status and the probe are a moment apart: the lock is the truth.
  JournalVerdict v = CheckJournalWriters("pv", {MakeBrick("n1:/b1", false, true)}, false);
  EXPECT_EQ(v.refusal, "");
  EXPECT_EQ(v.warning, "");
}

TEST(CheckJournalWriters, UnprobedOrFailedBrickIsRefusedWithTheCause) {
  BrickJournal silent = MakeBrick("n1:/b1", true, false);
  silent.probed = false;
  BrickJournal failed = MakeBrick("n2:/b2", true, false);
  failed.error = "journal: open /b2/.glusterfs/georep/writer.lock: Permission denied";
  JournalVerdict v = CheckJournalWriters("pv", {silent, failed}, true);
  EXPECT_NE(v.refusal.find("n1:/b1 (its node did not report on it)"), std::string::npos) << v.refusal;
  EXPECT_NE(v.refusal.find("n2:/b2 (journal: open /b2/.glusterfs/georep/writer.lock: Permission denied)"),
            std::string::npos)
      << v.refusal;
}

}  // namespace
}  // namespace georep::cli

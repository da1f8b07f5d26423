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

}  // namespace
}  // namespace georep::cli

// The sync mark (sync_mark.h): key names, values, and the Passive cursor
// that follows the Active worker's progress in journal time.
#include "sync/daemon/sync_mark.h"

#include <gtest/gtest.h>
#include <sys/xattr.h>

#include "journal/writer.h"
#include "tests/unit/journal/journal_test_util.h"

namespace georep::daemon {
namespace {

using journal::testing::ScratchBrick;
using journal::testing::SampleRecord;

TEST(SyncMark, KeyNamesSessionAndSetAndNeutralisesOtherCharacters) {
  EXPECT_EQ(SyncMarkKey("pv__s1__sv", 2), "trusted.georep.pv__s1__sv.set2.synced");
  EXPECT_EQ(SyncMarkKey("a b/c\n", 0), "trusted.georep.a_b_c_.set0.synced");
}

TEST(SyncMark, ValuesRoundTripAndGarbageIsRefused) {
  EXPECT_EQ(ParseSyncMark(FormatSyncMark(1700000000123456789ull)), 1700000000123456789ull);
  EXPECT_EQ(ParseSyncMark("0"), 0u);
  for (const char* bad : {"", "-1", "12a", " 1", "99999999999999999999", "123456789012345678901"}) {
    EXPECT_FALSE(ParseSyncMark(bad).has_value()) << bad;
  }
}

// Ten records journaled at t0+0 .. t0+9.
void WriteTen(const ScratchBrick& brick, uint64_t t0) {
  journal::WriterOptions o;
  o.brick_path = brick.path();
  o.brick_id = "test:/brick";
  auto w = journal::JournalWriter::Open(o);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (uint64_t i = 0; i < 10; ++i) {
    journal::Record r = SampleRecord(i);
    r.time_ns = t0 + i;
    ASSERT_TRUE((*w)->Append(&r).ok());
  }
  ASSERT_TRUE((*w)->Close().ok());
}

TEST(SyncMark, SyncedThroughIsTheMarkLessTheLagAndNothingWithoutOne) {
  EXPECT_EQ(SyncedThrough(std::nullopt, 60), std::nullopt);
  EXPECT_EQ(SyncedThrough(60000000000ull, 60), std::nullopt) << "a mark not past the lag";
  EXPECT_EQ(SyncedThrough(60000000001ull, 60), std::optional<uint64_t>(1));
  EXPECT_EQ(SyncedThrough(5000, 0), std::optional<uint64_t>(5000));
}

TEST(SyncMark, CursorMovesToTheLastRecordAtOrBeforeTheTime) {
  ScratchBrick brick;
  const uint64_t t0 = 1700000000000000000ull;
  WriteTen(brick, t0);
  auto at = CursorAtTime(brick.path(), 0, t0 + 4, 1000);
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  const uint64_t fifth = *at;
  // From there on, nothing more is old enough: the cursor stays.
  auto again = CursorAtTime(brick.path(), fifth, t0 + 4, 1000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, fifth);
  // Everything old enough: the last record.
  auto all = CursorAtTime(brick.path(), fifth, t0 + 100, 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, fifth + 5);
  // A time before every record leaves the cursor alone.
  auto none = CursorAtTime(brick.path(), 0, t0 - 1, 1000);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

TEST(SyncMark, CursorScanIsBoundedPerCall) {
  ScratchBrick brick;
  const uint64_t t0 = 1700000000000000000ull;
  WriteTen(brick, t0);
  auto first = CursorAtTime(brick.path(), 0, t0 + 100, 3);
  ASSERT_TRUE(first.ok());
  auto next = CursorAtTime(brick.path(), *first, t0 + 100, 3);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, *first + 3);
}

TEST(SyncMark, BrickRootMarkIsReadWhenPresentAndRefusedWhenGarbage) {
  ScratchBrick brick;
  const std::string key = "user.georep-test.synced";  // trusted.* needs root; the code path is the same
  auto none = ReadBrickSyncMark(brick.path(), key);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());
  const std::string v = FormatSyncMark(42);
  if (::lsetxattr(brick.path().c_str(), key.c_str(), v.data(), v.size(), 0) != 0) {
    GTEST_SKIP() << "the test directory's file system takes no user xattrs";
  }
  auto some = ReadBrickSyncMark(brick.path(), key);
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->value_or(0), 42u);
  ASSERT_EQ(::lsetxattr(brick.path().c_str(), key.c_str(), "x1", 2, 0), 0);
  EXPECT_EQ(ReadBrickSyncMark(brick.path(), key).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace georep::daemon

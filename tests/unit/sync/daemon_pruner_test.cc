// SecondaryPruner: a resync removes from the secondary what the primary no
// longer has, and nothing else. The secondary here is the receiver's own
// applier on an in-memory volume, reached the way georepd reaches it (LIST
// pages, IN_ORDER batches).
#include "sync/daemon/pruner.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sync/receiver/applier.h"
#include "tests/unit/sync/receiver_fake_volume.h"

namespace georep::daemon {
namespace {

using protocol::Gfid;
using protocol::RootGfid;

Gfid G(uint32_t n) { return receiver::testing::MakeGfid(0xcd, n); }
const Gfid kRoot = RootGfid();

// The primary as the pruner sees it: names by (parent, name).
class FakePrimary : public DataSource {
 public:
  std::map<std::pair<Gfid, std::string>, Gfid> names;
  bool unreachable = false;
  bool can_list = true;
  // Names the primary's listing leaves out although they exist (renamed
  // while the listing ran, or returned without their inode).
  std::set<std::string> unlisted;
  int lookups = 0;
  int lists = 0;

  void Put(const Gfid& parent, const std::string& name, const Gfid& g) { names[{parent, name}] = g; }
  Result<ObjectStat> Stat(const Gfid&) override { return Status(Code::kNotFound, "not used"); }
  Result<std::unique_ptr<SourceFile>> Open(const Gfid&) override { return Status(Code::kNotFound, "not used"); }
  Result<std::optional<std::string>> GetXattr(const Gfid&, const std::string&) override {
    return std::optional<std::string>();
  }
  Result<std::vector<std::string>> ListXattrs(const Gfid&) override { return std::vector<std::string>{}; }
  Result<std::string> ReadLink(const Gfid&) override { return std::string(); }
  Result<Gfid> LookupName(const Gfid& parent, const std::string& name) override {
    ++lookups;
    if (unreachable) return Status(Code::kUnavailable, "brick down");
    auto it = names.find({parent, name});
    if (it == names.end()) return Status(Code::kNotFound, "no such name");
    return it->second;
  }
  Result<std::unordered_map<std::string, Gfid>> ListNames(const Gfid& dir) override {
    ++lists;
    if (unreachable) return Status(Code::kUnavailable, "brick down");
    if (!can_list) return DataSource::ListNames(dir);
    std::unordered_map<std::string, Gfid> out;
    for (const auto& [key, g] : names) {
      if (key.first == dir && unlisted.count(key.second) == 0) out.emplace(key.second, g);
    }
    return out;
  }
};

class PrunerTest : public ::testing::Test {
 protected:
  // Creates an entry on the secondary (and, with `on_primary`, the same on
  // the primary).
  void Make(const Gfid& parent, const std::string& name, const Gfid& g, bool dir, bool on_primary) {
    protocol::EntryCreateOp c{parent, name, g, (dir ? S_IFDIR | 0755u : S_IFREG | 0644u), 0, 0, 0, ""};
    ASSERT_TRUE(applier_.ApplyOp(c).ok()) << name;
    if (on_primary) primary_.Put(parent, name, g);
  }
  bool OnSecondary(const Gfid& parent, const std::string& name) { return vol_.Lookup(parent, name).ok(); }

  Status Prune(size_t max_ops = 100) {
    SecondaryPruner pruner(
        &primary_,
        [this](const std::vector<SecondaryPruner::PageRequest>& pages) -> Result<std::vector<protocol::ListReply>> {
          ++list_rounds_;
          std::vector<protocol::ListReply> replies;
          for (const auto& [dir, cookie] : pages) {
            Result<protocol::ListReply> r = list_(dir, cookie);
            if (!r.ok()) return r.status();
            replies.push_back(std::move(r).value());
          }
          return replies;
        },
        [this](std::vector<protocol::Op> ops) -> Result<std::vector<protocol::OpFailure>> {
          ++batches_;
          if (before_apply_) before_apply_();
          protocol::Ack ack;
          applier_.ApplyBatch(protocol::Batch{static_cast<uint64_t>(batches_), protocol::kBatchInOrder, std::move(ops)}, &ack);
          return ack.failures;
        },
        [this] { return stop_; }, max_ops);
    pruner.set_kept_file([this](const protocol::ListEntry& f) { kept_files_.push_back(f); });
    Status st = pruner.Run();
    stats_ = pruner.stats();
    return st;
  }

  receiver::testing::FakeVolume vol_;
  receiver::Applier applier_{&vol_};
  FakePrimary primary_;
  PruneStats stats_;
  std::vector<protocol::ListEntry> kept_files_;
  int lists_ = 0;
  int batches_ = 0;
  // The secondary's listing, as the receiver answers it; tests may replace it.
  // Calls of the pruner's ListPages: round trips to the receiver.
  int list_rounds_ = 0;
  std::function<Result<protocol::ListReply>(const Gfid&, uint64_t)> list_ =
      [this](const Gfid& dir, uint64_t cookie) -> Result<protocol::ListReply> {
    ++lists_;
    return applier_.List(protocol::ListRequest{1, dir, cookie});
  };
  bool stop_ = false;
  // Runs before each batch is applied: what another worker does meanwhile.
  std::function<void()> before_apply_;
};

TEST_F(PrunerTest, DeletedFileIsUnlinkedAndEverythingThePrimaryHasIsKept) {
  Make(kRoot, "keep", G(1), false, true);
  Make(kRoot, "gone", G(2), false, false);
  Make(kRoot, "d", G(3), true, true);
  Make(G(3), "x", G(4), false, true);
  Make(G(3), "y", G(5), false, false);
  ASSERT_TRUE(Prune().ok());
  EXPECT_TRUE(OnSecondary(kRoot, "keep"));
  EXPECT_TRUE(OnSecondary(kRoot, "d"));
  EXPECT_TRUE(OnSecondary(G(3), "x"));
  EXPECT_FALSE(OnSecondary(kRoot, "gone"));
  EXPECT_FALSE(OnSecondary(G(3), "y"));
  EXPECT_EQ(stats_.unlinked, 2u);
  EXPECT_EQ(stats_.entries_checked, 5u);
  EXPECT_EQ(stats_.failed_ops, 0u);
}

// The crawl's quick check (secondary_files.h) learns of every regular file
// kept, with the size and mtime the listing showed; never of a stale one.
TEST_F(PrunerTest, KeptFilesAreReportedWithTheirSizeAndMtime) {
  Make(kRoot, "keep", G(1), false, true);
  Make(kRoot, "gone", G(2), false, false);
  Make(kRoot, "d", G(3), true, true);
  Make(G(3), "x", G(4), false, true);
  ASSERT_TRUE(vol_.Write(G(4), 0, std::string(5000, 'x')).ok());
  protocol::SetattrOp times{G(4), protocol::kSetMtime, 0, 0, 0, 0, 1700000000000000042};
  ASSERT_TRUE(applier_.ApplyOp(times).ok());
  ASSERT_TRUE(Prune().ok());
  ASSERT_EQ(kept_files_.size(), 2u);
  std::map<Gfid, protocol::ListEntry> by_gfid;
  for (const auto& f : kept_files_) by_gfid[f.gfid] = f;
  ASSERT_EQ(by_gfid.count(G(1)), 1u);
  ASSERT_EQ(by_gfid.count(G(4)), 1u);
  EXPECT_EQ(by_gfid[G(4)].size, 5000u);
  EXPECT_EQ(by_gfid[G(4)].mtime_ns, 1700000000000000042);
  EXPECT_EQ(by_gfid.count(G(2)), 0u) << "a stale file is removed, not reported";
}

// The primary's listing of a directory answers for most of its names at
// once; only the names it does not show with the same GFID are looked up,
// and only a lookup decides that an entry is stale.
TEST_F(PrunerTest, NamesThePrimaryListsAreKeptWithoutALookupEach) {
  for (uint32_t i = 0; i < 50; ++i) Make(kRoot, "f" + std::to_string(i), G(100 + i), false, true);
  Make(kRoot, "gone", G(2), false, false);
  ASSERT_TRUE(Prune().ok());
  EXPECT_EQ(stats_.confirmed_by_listing, 50u);
  EXPECT_EQ(stats_.primary_lookups, 1u);
  EXPECT_EQ(primary_.lookups, 1);
  EXPECT_FALSE(OnSecondary(kRoot, "gone"));
  EXPECT_TRUE(OnSecondary(kRoot, "f49"));
}

TEST_F(PrunerTest, ANameMissingFromThePrimarysListingIsLookedUpNotRemoved) {
  Make(kRoot, "moving", G(1), false, true);
  primary_.unlisted.insert("moving");
  ASSERT_TRUE(Prune().ok());
  EXPECT_TRUE(OnSecondary(kRoot, "moving"));
  EXPECT_EQ(stats_.primary_lookups, 1u);
  EXPECT_EQ(stats_.unlinked, 0u);
}

TEST_F(PrunerTest, APrimaryThatCannotListIsAskedNameByName) {
  Make(kRoot, "keep", G(1), false, true);
  Make(kRoot, "gone", G(2), false, false);
  primary_.can_list = false;
  ASSERT_TRUE(Prune().ok());
  EXPECT_EQ(stats_.primary_lookups, 2u);
  EXPECT_TRUE(OnSecondary(kRoot, "keep"));
  EXPECT_FALSE(OnSecondary(kRoot, "gone"));
}

// Over a WAN the prune's cost is its round trips: sibling directories have
// their first pages asked for together, kListsInFlight at a time.
TEST_F(PrunerTest, SiblingDirectoriesAreListedTogether) {
  const uint32_t n = SecondaryPruner::kListsInFlight + 4;
  for (uint32_t i = 0; i < n; ++i) {
    Make(kRoot, "d" + std::to_string(i), G(200 + i), true, true);
    Make(G(200 + i), "f", G(300 + i), false, i % 2 == 0);
  }
  ASSERT_TRUE(Prune().ok());
  // The root, then the 20 directories in two groups.
  EXPECT_EQ(list_rounds_, 3);
  EXPECT_EQ(stats_.dirs_listed, n + 1);
  EXPECT_EQ(stats_.unlinked, n / 2);
  EXPECT_TRUE(OnSecondary(G(200), "f"));
  EXPECT_FALSE(OnSecondary(G(201), "f"));
}

TEST_F(PrunerTest, RenamedFileLosesItsOldNameForTheCrawlToRecreate) {
  Make(kRoot, "old-name", G(6), false, false);
  primary_.Put(kRoot, "new-name", G(6));
  ASSERT_TRUE(Prune().ok());
  EXPECT_FALSE(OnSecondary(kRoot, "old-name"));
  EXPECT_FALSE(vol_.Stat(G(6)).ok()) << "the only name went, so the crawl's create is not taken for a replay";
}

TEST_F(PrunerTest, NameThatNowHoldsAnotherGfidIsStale) {
  Make(kRoot, "n", G(11), false, false);
  primary_.Put(kRoot, "n", G(12));  // renamed over, or deleted and created again
  ASSERT_TRUE(Prune().ok());
  EXPECT_FALSE(OnSecondary(kRoot, "n"));
}

TEST_F(PrunerTest, StaleDirectoryIsRemovedWithEverythingBelowIt) {
  Make(kRoot, "t", G(7), true, false);
  Make(G(7), "a", G(8), false, false);
  Make(G(7), "s", G(9), true, false);
  Make(G(9), "b", G(10), false, false);
  Make(kRoot, "keep", G(1), false, true);
  ASSERT_TRUE(Prune().ok());
  EXPECT_FALSE(OnSecondary(kRoot, "t"));
  EXPECT_FALSE(vol_.Stat(G(9)).ok());
  EXPECT_FALSE(vol_.Stat(G(10)).ok());
  EXPECT_TRUE(OnSecondary(kRoot, "keep"));
  EXPECT_EQ(stats_.dirs_removed, 2u);
  EXPECT_EQ(stats_.unlinked, 2u);
  EXPECT_EQ(stats_.failed_ops, 0u);
  // Below a stale directory nothing is asked of the primary: it lists the
  // root, where "keep" is found, and looks up "t", which is not.
  EXPECT_EQ(primary_.lists, 1);
  EXPECT_EQ(primary_.lookups, 1);
}

TEST_F(PrunerTest, StaleDirectoryRefilledMeanwhileIsEmptiedAgain) {
  // Another worker replays a create into the stale directory between this
  // prune's listing of it and its RMDIR (or prunes it at the same time).
  Make(kRoot, "t", G(7), true, false);
  Make(G(7), "a", G(8), false, false);
  before_apply_ = [this] {
    if (batches_ == 1) Make(G(7), "late", G(40), false, false);
  };
  ASSERT_TRUE(Prune().ok());
  EXPECT_FALSE(OnSecondary(kRoot, "t"));
  EXPECT_FALSE(vol_.Stat(G(40)).ok());
  EXPECT_EQ(batches_, 2);
  EXPECT_EQ(stats_.dirs_removed, 1u);
  EXPECT_EQ(stats_.unlinked, 2u);
  EXPECT_EQ(stats_.failed_ops, 0u);
}

TEST_F(PrunerTest, StaleDirectoryThatKeepsFillingUpIsReportedAfterBoundedAttempts) {
  Make(kRoot, "t", G(7), true, false);
  before_apply_ = [this] { Make(G(7), "late" + std::to_string(batches_), G(40 + batches_), false, false); };
  ASSERT_TRUE(Prune().ok());
  EXPECT_EQ(batches_, SecondaryPruner::kRmdirAttempts);
  EXPECT_EQ(stats_.failed_ops, 1u);
  EXPECT_TRUE(OnSecondary(kRoot, "t"));
}

TEST_F(PrunerTest, AnUnreachablePrimaryRemovesNothing) {
  Make(kRoot, "maybe", G(2), false, false);
  Make(kRoot, "dir", G(3), true, false);
  primary_.unreachable = true;
  ASSERT_TRUE(Prune().ok());
  EXPECT_TRUE(OnSecondary(kRoot, "maybe"));
  EXPECT_TRUE(OnSecondary(kRoot, "dir"));
  EXPECT_EQ(stats_.unchecked, 2u);
  EXPECT_EQ(batches_, 0);
}

TEST_F(PrunerTest, EntryWithoutAGfidIsNeverRemovedByName) {
  // An UNLINK with the null GFID removes whatever holds the name when it
  // runs; a listing that shows no GFID is not enough to send one.
  list_ = [this](const Gfid& dir, uint64_t cookie) -> Result<protocol::ListReply> {
    protocol::ListReply r = applier_.List(protocol::ListRequest{1, dir, cookie});
    for (protocol::ListEntry& e : r.entries) {
      if (e.name == "nogfid") e.gfid = Gfid{};
    }
    return r;
  };
  Make(kRoot, "nogfid", G(2), false, false);
  ASSERT_TRUE(Prune().ok());
  EXPECT_TRUE(OnSecondary(kRoot, "nogfid"));
  EXPECT_EQ(stats_.unchecked, 1u);
  EXPECT_EQ(batches_, 0);
}

TEST_F(PrunerTest, GlusterInternalNamesInTheRootAreNeverTouched) {
  Make(kRoot, ".shard", G(20), true, false);
  Make(G(20), "block.1", G(21), false, false);
  Make(kRoot, ".trashcan", G(22), true, false);
  ASSERT_TRUE(Prune().ok());
  EXPECT_TRUE(OnSecondary(kRoot, ".shard"));
  EXPECT_TRUE(OnSecondary(G(20), "block.1"));
  EXPECT_TRUE(OnSecondary(kRoot, ".trashcan"));
  EXPECT_EQ(stats_.entries_checked, 0u);
}

TEST_F(PrunerTest, LargeDirectoriesArePagedAndRemovedInBoundedBatches) {
  const uint32_t n = 2 * protocol::kMaxListEntries + 10;
  Make(kRoot, "big", G(30), true, true);
  for (uint32_t i = 0; i < n; ++i) Make(G(30), "f" + std::to_string(i), G(1000 + i), false, i % 2 == 0);
  ASSERT_TRUE(Prune(100).ok());
  EXPECT_EQ(stats_.unlinked, n / 2);
  EXPECT_EQ(batches_, static_cast<int>((n / 2 + 99) / 100));
  EXPECT_GE(lists_, 4);  // root + three pages of "big"
  for (uint32_t i = 0; i < n; ++i) {
    EXPECT_EQ(OnSecondary(G(30), "f" + std::to_string(i)), i % 2 == 0) << i;
  }
}

TEST_F(PrunerTest, AListingThatNeverEndsIsAbortedNotFollowedForever) {
  list_ = [](const Gfid& dir, uint64_t) -> Result<protocol::ListReply> {
    protocol::ListReply r;
    r.gfid = dir;
    r.next_cookie = 5;  // the same page again and again, never eof
    return r;
  };
  Status st = Prune();
  EXPECT_EQ(st.code(), Code::kAborted) << st.ToString();
}

TEST_F(PrunerTest, AListingErrorOtherThanGoneFailsThePrune) {
  list_ = [](const Gfid& dir, uint64_t) -> Result<protocol::ListReply> {
    protocol::ListReply r;
    r.gfid = dir;
    r.err = EIO;
    return r;
  };
  EXPECT_FALSE(Prune().ok());
}

TEST_F(PrunerTest, StopRequestEndsThePruneAsAborted) {
  Make(kRoot, "gone", G(2), false, false);
  stop_ = true;
  EXPECT_EQ(Prune().code(), Code::kAborted);
  EXPECT_TRUE(OnSecondary(kRoot, "gone"));
}

}  // namespace
}  // namespace georep::daemon

// The applier's rules (PROTOCOL.md, "Applying ops") against an in-memory
// volume: replays are harmless, stale entries are resolved the same way every
// time, bad input touches nothing.
#include <sys/stat.h>

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "sync/protocol/codec.h"
#include "sync/receiver/applier.h"
#include "tests/unit/sync/receiver_fake_volume.h"

namespace georep::receiver {
namespace {

using namespace protocol;
using testing::FakeVolume;

Gfid G(uint8_t n) { return testing::MakeGfid(0xaa, n); }
const Gfid kRoot = RootGfid();

EntryCreateOp File(const Gfid& parent, const std::string& name, const Gfid& gfid,
                   uint32_t mode = 0644) {
  return EntryCreateOp{parent, name, gfid, S_IFREG | mode, 1000, 1000, 0, ""};
}
EntryCreateOp Dir(const Gfid& parent, const std::string& name, const Gfid& gfid) {
  return EntryCreateOp{parent, name, gfid, S_IFDIR | 0755, 0, 0, 0, ""};
}

class ApplierTest : public ::testing::Test {
 protected:
  Status Apply(const Op& op, bool replace_stale = false) {
    return applier_.ApplyOp(op, replace_stale);
  }
  Ack ApplyBatch(std::vector<Op> ops, uint32_t flags = 0) {
    Ack ack;
    applier_.ApplyBatch(Batch{++batch_id_, flags, std::move(ops)}, &ack);
    return ack;
  }

  FakeVolume vol_;
  Applier applier_{&vol_};
  uint64_t batch_id_ = 0;
};

TEST_F(ApplierTest, CreateMakesTheEntryWithTheRequestedGfid) {
  ASSERT_TRUE(Apply(File(kRoot, "f", G(1))).ok());
  EXPECT_EQ(vol_.At("f"), G(1));
  EXPECT_EQ(vol_.Find(G(1))->uid, 1000u);
}

TEST_F(ApplierTest, CreateReplayIsANoopThatFixesOwnerAndMode) {
  ASSERT_TRUE(Apply(File(kRoot, "f", G(1))).ok());
  ASSERT_TRUE(vol_.Setattr(G(1), kSetMode | kSetUid, ObjectAttr{{}, 0600, 5, 0}).ok());
  ASSERT_TRUE(Apply(File(kRoot, "f", G(1))).ok());
  EXPECT_EQ(vol_.creates, 1);
  EXPECT_EQ(vol_.Find(G(1))->mode, S_IFREG | 0644u);
  EXPECT_EQ(vol_.Find(G(1))->uid, 1000u);
  EXPECT_EQ(applier_.stats().already_applied, 1u);
}

TEST_F(ApplierTest, CreateOverAnEntryWithAnotherGfidKeepsItAndFailsWithEexist) {
  // Either a replay (the entry there is newer) or a stale secondary: only the
  // sender can tell, so nothing is destroyed on a guess.
  ASSERT_TRUE(Apply(File(kRoot, "f", G(1))).ok());
  Status st = Apply(File(kRoot, "f", G(2)));
  EXPECT_EQ(st.err(), EEXIST);
  EXPECT_NE(st.message().find("REPLACE_STALE"), std::string::npos) << st.message();
  EXPECT_EQ(vol_.At("f"), G(1));
  EXPECT_EQ(applier_.stats().conflicts, 1u);
}

TEST_F(ApplierTest, CreateWithReplaceStaleRemovesTheStaleEntry) {
  ASSERT_TRUE(Apply(File(kRoot, "f", G(1))).ok());
  ASSERT_TRUE(Apply(Dir(kRoot, "d", G(3))).ok());
  Ack ack = ApplyBatch({File(kRoot, "f", G(2)), File(kRoot, "d", G(4))}, kBatchReplaceStale);
  EXPECT_TRUE(ack.failures.empty());
  EXPECT_EQ(vol_.At("f"), G(2));
  EXPECT_EQ(vol_.At("d"), G(4));
  EXPECT_EQ(vol_.Find(G(1)), nullptr);
  EXPECT_EQ(vol_.Find(G(3)), nullptr);
  EXPECT_EQ(applier_.stats().stale_removed, 2u);
}

TEST_F(ApplierTest, ReplaceStaleNeverRemovesANonEmptyDirectory) {
  ASSERT_TRUE(Apply(Dir(kRoot, "d", G(1))).ok());
  ASSERT_TRUE(Apply(File(G(1), "inside", G(2))).ok());
  Status st = Apply(File(kRoot, "d", G(3)), /*replace_stale=*/true);
  EXPECT_EQ(st.err(), EEXIST);
  EXPECT_NE(st.message().find("non-empty"), std::string::npos) << st.message();
  EXPECT_EQ(vol_.At("d"), G(1));
  EXPECT_EQ(vol_.At("d/inside"), G(2));
}

TEST_F(ApplierTest, CreateReplayAfterALaterRenameDoesNotDuplicateTheGfid) {
  // Primary: create a (G1), rename a -> b. Replaying the create finds G1
  // under b and must not make a second object with the same GFID.
  ASSERT_TRUE(Apply(File(kRoot, "a", G(1))).ok());
  ASSERT_TRUE(Apply(RenameOp{G(1), kRoot, "a", kRoot, "b", {}}).ok());
  ASSERT_TRUE(Apply(File(kRoot, "a", G(1))).ok());
  EXPECT_FALSE(vol_.duplicate_gfid_created);
  EXPECT_EQ(vol_.At("a"), Gfid{});
  EXPECT_EQ(vol_.At("b"), G(1));
}

TEST_F(ApplierTest, FreshCreateDoesNotLookUpTheGfidFirst) {
  ASSERT_TRUE(ApplyBatch({File(kRoot, "a", G(1)), File(kRoot, "b", G(2))}, kBatchFresh).failures.empty());
  EXPECT_EQ(vol_.stats, 0);
  EXPECT_EQ(vol_.At("a"), G(1));
  EXPECT_EQ(vol_.At("b"), G(2));
}

TEST_F(ApplierTest, FreshCreateOverATakenNameFollowsTheConflictRules) {
  ASSERT_TRUE(Apply(File(kRoot, "a", G(1))).ok());
  // The same object (a replay the sender did not foresee) is fine...
  EXPECT_TRUE(ApplyBatch({File(kRoot, "a", G(1))}, kBatchFresh).failures.empty());
  // ...another object at the name is a conflict, and is kept.
  Ack ack = ApplyBatch({File(kRoot, "a", G(2))}, kBatchFresh);
  ASSERT_EQ(ack.failures.size(), 1u);
  EXPECT_EQ(ack.failures[0].err, EEXIST);
  EXPECT_EQ(vol_.At("a"), G(1));
  EXPECT_FALSE(vol_.duplicate_gfid_created);
}

TEST_F(ApplierTest, CreateThatARacingLookupGaveAnotherGfidIsMadeAgain) {
  vol_.lose_create_races = 1;
  Ack ack = ApplyBatch({File(kRoot, "a", G(1)), SetattrOp{G(1), kSetUid, 0, 7, 0, 0, 0}}, kBatchFresh);
  EXPECT_TRUE(ack.failures.empty());
  EXPECT_EQ(vol_.At("a"), G(1));
  EXPECT_EQ(vol_.Find(G(1))->uid, 7u);
  EXPECT_EQ(vol_.Find(testing::MakeGfid(0xee, 1)), nullptr);  // the raced entry is gone
  EXPECT_EQ(vol_.creates, 2);
  EXPECT_EQ(applier_.stats().create_races, 1u);
}

TEST_F(ApplierTest, DirectoryThatARacingLookupGaveAnotherGfidIsMadeAgain) {
  vol_.lose_create_races = 2;
  ASSERT_TRUE(Apply(Dir(kRoot, "d", G(1))).ok());
  EXPECT_EQ(vol_.At("d"), G(1));
  EXPECT_EQ(vol_.Find(testing::MakeGfid(0xee, 1)), nullptr);
  EXPECT_EQ(vol_.Find(testing::MakeGfid(0xee, 2)), nullptr);
  EXPECT_EQ(vol_.creates, 3);
}

TEST_F(ApplierTest, CreateThatKeepsLosingTheRaceFailsAfterBoundedAttempts) {
  vol_.lose_create_races = 100;
  Status st = Apply(File(kRoot, "a", G(1)));
  EXPECT_EQ(st.err(), EIO);
  EXPECT_NE(st.message().find("raced the create"), std::string::npos) << st.ToString();
  EXPECT_EQ(vol_.creates, Applier::kCreateAttempts);
  EXPECT_FALSE(vol_.duplicate_gfid_created);
}

TEST_F(ApplierTest, FreshIsIgnoredOnInOrderBatches) {
  ASSERT_TRUE(ApplyBatch({File(kRoot, "a", G(1))}, kBatchFresh | kBatchInOrder).failures.empty());
  EXPECT_EQ(vol_.stats, 1);
}

TEST_F(ApplierTest, CreateInMissingParentFailsWithEnoent) {
  Status st = Apply(File(G(9), "f", G(1)));
  EXPECT_EQ(st.err(), ENOENT);
  EXPECT_EQ(vol_.Find(G(1)), nullptr);
}

TEST_F(ApplierTest, SymlinkAndSpecialFilesAreCreated) {
  ASSERT_TRUE(Apply(EntryCreateOp{kRoot, "s", G(1), S_IFLNK | 0777, 0, 0, 0, "../x"}).ok());
  ASSERT_TRUE(Apply(EntryCreateOp{kRoot, "p", G(2), S_IFIFO | 0600, 0, 0, 0, ""}).ok());
  ASSERT_TRUE(Apply(EntryCreateOp{kRoot, "c", G(3), S_IFCHR | 0600, 0, 0, (1u << 8) | 3, ""}).ok());
  EXPECT_EQ(vol_.Find(G(1))->target, "../x");
  EXPECT_TRUE(S_ISFIFO(vol_.Find(G(2))->mode));
  EXPECT_EQ(vol_.Find(G(3))->rdev, (1u << 8) | 3);
}

TEST_F(ApplierTest, RenameMovesTheObject) {
  ASSERT_TRUE(Apply(Dir(kRoot, "d", G(1))).ok());
  ASSERT_TRUE(Apply(File(kRoot, "f", G(2))).ok());
  ASSERT_TRUE(Apply(RenameOp{G(2), kRoot, "f", G(1), "g", {}}).ok());
  EXPECT_EQ(vol_.At("d/g"), G(2));
  EXPECT_EQ(vol_.At("f"), Gfid{});
}

TEST_F(ApplierTest, RenameOverExistingTargetReplacesIt) {
  ASSERT_TRUE(Apply(File(kRoot, "a", G(1))).ok());
  ASSERT_TRUE(Apply(File(kRoot, "b", G(2))).ok());
  ASSERT_TRUE(Apply(RenameOp{G(1), kRoot, "a", kRoot, "b", G(2)}).ok());
  EXPECT_EQ(vol_.At("b"), G(1));
  EXPECT_EQ(vol_.Find(G(2)), nullptr);
}

TEST_F(ApplierTest, RenameReplayWithSourceGoneAndTargetInPlaceIsOk) {
  ASSERT_TRUE(Apply(File(kRoot, "a", G(1))).ok());
  ASSERT_TRUE(Apply(RenameOp{G(1), kRoot, "a", kRoot, "b", {}}).ok());
  ASSERT_TRUE(Apply(RenameOp{G(1), kRoot, "a", kRoot, "b", {}}).ok());
  EXPECT_EQ(vol_.At("b"), G(1));
  EXPECT_EQ(applier_.stats().already_applied, 1u);
}

TEST_F(ApplierTest, RenameReplayLeavesANewerObjectAtTheOldNameAlone) {
  // Primary: rename a(G1) -> b, then create a (G2). Replay of the rename
  // finds G2 at a and G1 at b.
  ASSERT_TRUE(Apply(File(kRoot, "b", G(1))).ok());
  ASSERT_TRUE(Apply(File(kRoot, "a", G(2))).ok());
  ASSERT_TRUE(Apply(RenameOp{G(1), kRoot, "a", kRoot, "b", {}}).ok());
  EXPECT_EQ(vol_.At("a"), G(2));
  EXPECT_EQ(vol_.At("b"), G(1));
}

TEST_F(ApplierTest, RenameOfMissingObjectFailsWithEnoentNamingTheFix) {
  Status st = Apply(RenameOp{G(1), kRoot, "a", kRoot, "b", {}});
  EXPECT_EQ(st.err(), ENOENT);
  EXPECT_NE(st.message().find("re-create"), std::string::npos) << st.message();
}

TEST_F(ApplierTest, RenameFileOverADirectoryIsAConflictUnlessReplaceStale) {
  ASSERT_TRUE(Apply(File(kRoot, "a", G(1))).ok());
  ASSERT_TRUE(Apply(Dir(kRoot, "b", G(2))).ok());
  EXPECT_EQ(Apply(RenameOp{G(1), kRoot, "a", kRoot, "b", {}}).err(), EEXIST);
  EXPECT_EQ(vol_.At("b"), G(2));
  ASSERT_TRUE(Apply(RenameOp{G(1), kRoot, "a", kRoot, "b", {}}, true).ok());
  EXPECT_EQ(vol_.At("b"), G(1));
}

TEST_F(ApplierTest, ReplayedRenameDoesNotDestroyANewerTarget) {
  // Primary: rename a -> b over G2, rename b -> a, create b (G3). Replaying
  // the first rename must not replace G3, which it never saw.
  ASSERT_TRUE(Apply(File(kRoot, "a", G(1))).ok());
  ASSERT_TRUE(Apply(File(kRoot, "b", G(3))).ok());
  EXPECT_EQ(Apply(RenameOp{G(1), kRoot, "a", kRoot, "b", G(2)}).err(), EEXIST);
  EXPECT_EQ(vol_.At("a"), G(1));
  EXPECT_EQ(vol_.At("b"), G(3));
}

TEST_F(ApplierTest, RenameReplayOfAnObjectMovedOnLaterIsOk) {
  // Primary: rename a -> b, rename b -> c. Replaying the first finds G1 at c.
  ASSERT_TRUE(Apply(File(kRoot, "c", G(1))).ok());
  EXPECT_TRUE(Apply(RenameOp{G(1), kRoot, "a", kRoot, "b", {}}).ok());
  EXPECT_EQ(vol_.At("c"), G(1));
  EXPECT_EQ(vol_.At("b"), Gfid{});
}

TEST_F(ApplierTest, RenameBetweenHardLinksOfOneFileDoesNothing) {
  ASSERT_TRUE(Apply(File(kRoot, "a", G(1))).ok());
  ASSERT_TRUE(Apply(LinkOp{G(1), kRoot, "b"}).ok());
  ASSERT_TRUE(Apply(RenameOp{G(1), kRoot, "a", kRoot, "b", {}}).ok());
  EXPECT_EQ(vol_.At("a"), G(1));
  EXPECT_EQ(vol_.At("b"), G(1));
}

TEST_F(ApplierTest, LinkAddsANameAndItsReplayIsANoop) {
  ASSERT_TRUE(Apply(File(kRoot, "a", G(1))).ok());
  ASSERT_TRUE(Apply(LinkOp{G(1), kRoot, "b"}).ok());
  ASSERT_TRUE(Apply(LinkOp{G(1), kRoot, "b"}).ok());
  EXPECT_EQ(vol_.Find(G(1))->nlink, 2u);
}

TEST_F(ApplierTest, LinkToUnknownGfidFailsWithEnoent) {
  EXPECT_EQ(Apply(LinkOp{G(1), kRoot, "b"}).err(), ENOENT);
  EXPECT_EQ(vol_.At("b"), Gfid{});
}

TEST_F(ApplierTest, LinkToDirectoryIsRefused) {
  ASSERT_TRUE(Apply(Dir(kRoot, "d", G(1))).ok());
  EXPECT_EQ(Apply(LinkOp{G(1), kRoot, "e"}).err(), EPERM);
}

TEST_F(ApplierTest, UnlinkOfMissingEntryIsOk) {
  EXPECT_TRUE(Apply(UnlinkOp{kRoot, "nothing", G(1)}).ok());
}

TEST_F(ApplierTest, UnlinkReplayKeepsANewerObjectThatReusedTheName) {
  ASSERT_TRUE(Apply(File(kRoot, "a", G(2))).ok());
  ASSERT_TRUE(Apply(UnlinkOp{kRoot, "a", G(1)}).ok());
  EXPECT_EQ(vol_.At("a"), G(2));
}

TEST_F(ApplierTest, UnlinkOfADirectoryIsRefused) {
  ASSERT_TRUE(Apply(Dir(kRoot, "d", G(1))).ok());
  EXPECT_EQ(Apply(UnlinkOp{kRoot, "d", G(1)}).err(), EISDIR);
  EXPECT_EQ(vol_.At("d"), G(1));
}

TEST_F(ApplierTest, RmdirOfNonEmptyDirectoryFailsWithEnotempty) {
  ASSERT_TRUE(Apply(Dir(kRoot, "d", G(1))).ok());
  ASSERT_TRUE(Apply(File(G(1), "f", G(2))).ok());
  Status st = Apply(RmdirOp{kRoot, "d", G(1)});
  EXPECT_EQ(st.err(), ENOTEMPTY);
  EXPECT_EQ(vol_.At("d/f"), G(2));
  ASSERT_TRUE(Apply(UnlinkOp{G(1), "f", G(2)}).ok());
  ASSERT_TRUE(Apply(RmdirOp{kRoot, "d", G(1)}).ok());
  ASSERT_TRUE(Apply(RmdirOp{kRoot, "d", G(1)}).ok());  // replay
  EXPECT_EQ(vol_.At("d"), Gfid{});
}

TEST_F(ApplierTest, BadNamesAreRefusedAndTouchNothing) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"", EINVAL},          {"a/b", EINVAL},          {".", EINVAL},
      {"..", EINVAL},        {std::string("a\0b", 3), EINVAL},
      {std::string(256, 'n'), ENAMETOOLONG},           {".gfid", EPERM},
      {"../../etc", EINVAL},
  };
  for (const auto& [name, err] : cases) {
    EXPECT_EQ(Apply(File(kRoot, name, G(1))).err(), err) << PrintableName(name);
    EXPECT_EQ(Apply(LinkOp{G(1), kRoot, name}).err(), err);
    EXPECT_EQ(Apply(RenameOp{G(1), kRoot, "x", kRoot, name, {}}).err(), err);
    EXPECT_EQ(Apply(UnlinkOp{kRoot, name, G(1)}).err(), err);
    EXPECT_EQ(Apply(RmdirOp{kRoot, name, G(1)}).err(), err);
  }
  EXPECT_EQ(vol_.inode_count(), 1u);  // only the root
  EXPECT_EQ(vol_.lookups, 0);         // refused before touching the volume
  // ".gfid" is only reserved in the root.
  ASSERT_TRUE(Apply(Dir(kRoot, "d", G(2))).ok());
  EXPECT_TRUE(Apply(File(G(2), ".gfid", G(3))).ok());
  EXPECT_TRUE(Apply(File(G(2), std::string(255, 'n'), G(4))).ok());
}

TEST_F(ApplierTest, ReservedGfidsAreRefused) {
  Gfid aux{};
  aux[15] = 0x0d;
  EXPECT_EQ(Apply(File(kRoot, "a", Gfid{})).err(), EINVAL);
  EXPECT_EQ(Apply(File(kRoot, "a", kRoot)).err(), EINVAL);
  EXPECT_EQ(Apply(File(kRoot, "a", aux)).err(), EINVAL);
  EXPECT_EQ(Apply(File(aux, "a", G(1))).err(), EINVAL);
  EXPECT_EQ(Apply(RenameOp{kRoot, kRoot, "a", kRoot, "b", {}}).err(), EINVAL);
  EXPECT_EQ(Apply(DataOp{kRoot, 0, "x"}).err(), EINVAL);
}

TEST_F(ApplierTest, InvalidModesAndTargetsAreRefused) {
  EXPECT_EQ(Apply(EntryCreateOp{kRoot, "a", G(1), 0644, 0, 0, 0, ""}).err(), EINVAL);
  EXPECT_EQ(Apply(EntryCreateOp{kRoot, "a", G(1), S_IFLNK | 0777, 0, 0, 0, ""}).err(), EINVAL);
  EXPECT_EQ(Apply(EntryCreateOp{kRoot, "a", G(1), S_IFREG | 0644, 0, 0, 0, "t"}).err(), EINVAL);
  EXPECT_EQ(Apply(EntryCreateOp{kRoot, "a", G(1), S_IFCHR | 0644, 0, 0, 1ull << 40, ""}).err(),
            EOVERFLOW);
  EXPECT_EQ(Apply(SetattrOp{G(1), kSetMode, S_IFREG | 0644, 0, 0, 0, 0}).err(), EINVAL);
}

TEST_F(ApplierTest, DataToUnknownGfidFailsWithEnoent) {
  EXPECT_EQ(Apply(DataOp{G(1), 0, "hello"}).err(), ENOENT);
  EXPECT_EQ(Apply(TruncateOp{G(1), 0}).err(), ENOENT);
  EXPECT_EQ(Apply(SetattrOp{G(1), kSetUid, 0, 1, 0, 0, 0}).err(), ENOENT);
  EXPECT_EQ(Apply(SetxattrOp{G(1), "user.a", "b"}).err(), ENOENT);
}

TEST_F(ApplierTest, DataOffsetBeyondTheLargestFileIsRefused) {
  ASSERT_TRUE(Apply(File(kRoot, "f", G(1))).ok());
  EXPECT_EQ(Apply(DataOp{G(1), UINT64_MAX - 1, "ab"}).err(), EFBIG);
  EXPECT_EQ(Apply(PunchHoleOp{G(1), 1ull << 63, 1}).err(), EFBIG);
}

TEST_F(ApplierTest, DataWritesAndZeroChunksBecomeHoles) {
  ASSERT_TRUE(Apply(File(kRoot, "f", G(1))).ok());
  ASSERT_TRUE(Apply(DataOp{G(1), 0, std::string(4096, 'a')}).ok());
  ASSERT_TRUE(Apply(DataOp{G(1), 4096, std::string(3 * 4096, '\0')}).ok());  // beyond EOF
  ASSERT_TRUE(Apply(DataOp{G(1), 4 * 4096, std::string(4096, 'b')}).ok());
  const auto* f = vol_.Find(G(1));
  EXPECT_EQ(f->data.size(), 5u * 4096);
  EXPECT_EQ(f->pages.size(), 2u);  // pages 0 and 4 only
  // Zeroes over existing data punch a hole and keep the size.
  ASSERT_TRUE(Apply(DataOp{G(1), 0, std::string(4096, '\0')}).ok());
  EXPECT_EQ(f->pages.size(), 1u);
  EXPECT_EQ(f->data.substr(0, 4096), std::string(4096, '\0'));
  EXPECT_EQ(f->data.size(), 5u * 4096);
}

TEST_F(ApplierTest, SetattrChangesOwnerBeforeModeSoSetuidSurvives) {
  ASSERT_TRUE(Apply(File(kRoot, "f", G(1))).ok());
  ASSERT_TRUE(Apply(SetattrOp{G(1), kSetMode | kSetUid | kSetGid | kSetMtime, 04755, 2000, 2001,
                              0, 1700000000000000001})
                  .ok());
  const auto* f = vol_.Find(G(1));
  EXPECT_EQ(f->mode, S_IFREG | 04755u);
  EXPECT_EQ(f->uid, 2000u);
  EXPECT_EQ(f->gid, 2001u);
  EXPECT_EQ(f->mtime_ns, 1700000000000000001);
}

TEST_F(ApplierTest, XattrsAndAclsAreSetAndRemovedIdempotently) {
  ASSERT_TRUE(Apply(File(kRoot, "f", G(1))).ok());
  ASSERT_TRUE(Apply(SetxattrOp{G(1), "user.k", "v"}).ok());
  ASSERT_TRUE(Apply(SetxattrOp{G(1), "system.posix_acl_access", "acl"}).ok());
  ASSERT_TRUE(Apply(SetxattrOp{G(1), "security.selinux", "ctx"}).ok());
  ASSERT_TRUE(Apply(RemovexattrOp{G(1), "user.k"}).ok());
  ASSERT_TRUE(Apply(RemovexattrOp{G(1), "user.k"}).ok());  // already gone
  EXPECT_EQ(vol_.Find(G(1))->xattrs.size(), 2u);
}

TEST_F(ApplierTest, GlusterInternalXattrsAreNeverWritten) {
  ASSERT_TRUE(Apply(File(kRoot, "f", G(1))).ok());
  for (const char* name : {"trusted.gfid", "trusted.glusterfs.dht", "trusted.afr.v-client-0",
                           "trusted.ec.version", "trusted.glusterfs.mdata", "glusterfs.gfid.newfile",
                           "trusted.pgfid.x", "trusted.dht.linkto"}) {
    EXPECT_EQ(Apply(SetxattrOp{G(1), name, "x"}).err(), EPERM) << name;
    EXPECT_EQ(Apply(RemovexattrOp{G(1), name}).err(), EPERM) << name;
  }
  EXPECT_EQ(Apply(SetxattrOp{G(1), "system.nfs4_acl", "x"}).err(), EPERM);
  EXPECT_EQ(Apply(SetxattrOp{G(1), "nonamespace", "x"}).err(), EINVAL);
  EXPECT_EQ(Apply(SetxattrOp{G(1), "", "x"}).err(), EINVAL);
  EXPECT_TRUE(vol_.Find(G(1))->xattrs.empty());
}

TEST_F(ApplierTest, BatchReportsEachFailedOpAndAppliesTheRest) {
  Ack ack = ApplyBatch({File(kRoot, "a", G(1)), DataOp{G(9), 0, "x"}, File(kRoot, "..", G(2)),
                        DataOp{G(1), 0, "hello"}});
  EXPECT_EQ(ack.batch_id, batch_id_);
  EXPECT_EQ(ack.op_count, 4u);
  ASSERT_EQ(ack.failures.size(), 2u);
  EXPECT_EQ(ack.failures[0].index, 1u);
  EXPECT_EQ(ack.failures[0].err, ENOENT);
  EXPECT_EQ(ack.failures[1].index, 2u);
  EXPECT_EQ(ack.failures[1].err, EINVAL);
  EXPECT_NE(ack.failures[1].message.find("ENTRY_CREATE"), std::string::npos);
  EXPECT_EQ(vol_.Find(G(1))->data, "hello");
}

TEST_F(ApplierTest, DeferredCloseErrorIsChargedToTheLastWriteOfThatFile) {
  vol_.fail_close_errno = ENOSPC;
  Ack ack = ApplyBatch({File(kRoot, "a", G(1)), DataOp{G(1), 0, "x"}, SetxattrOp{G(1), "user.a", "b"}});
  ASSERT_EQ(ack.failures.size(), 1u);
  EXPECT_EQ(ack.failures[0].index, 1u);
  EXPECT_EQ(ack.failures[0].err, ENOSPC);
}

TEST_F(ApplierTest, FsyncFlagSyncsEveryWrittenFile) {
  Ack ack = ApplyBatch({File(kRoot, "a", G(1)), File(kRoot, "b", G(2)), DataOp{G(1), 0, "x"},
                        TruncateOp{G(2), 10}},
                       kBatchFsync);
  EXPECT_TRUE(ack.failures.empty());
  EXPECT_EQ(vol_.fsynced, (std::set<Gfid>{G(1), G(2)}));
  ApplyBatch({DataOp{G(1), 0, "y"}});
  EXPECT_EQ(vol_.fsynced.size(), 2u);
}

// The heart of idempotence: a batch applied twice (or any suffix of a
// sequence re-applied) leaves the same tree.
TEST_F(ApplierTest, BatchAppliedTwiceLeavesTheSameTree) {
  const std::vector<Op> ops = {
      Dir(kRoot, "d", G(1)),
      File(G(1), "f", G(2)),
      DataOp{G(2), 0, "contents"},
      LinkOp{G(2), G(1), "hard"},
      File(kRoot, "victim", G(3)),
      RenameOp{G(2), G(1), "f", kRoot, "victim", G(3)},
      EntryCreateOp{kRoot, "sym", G(4), S_IFLNK | 0777, 0, 0, 0, "d/hard"},
      SetattrOp{G(2), kSetMode | kSetUid | kSetMtime, 0600, 1234, 0, 0, 1700000000000000000},
      SetxattrOp{G(2), "user.tag", "v1"},
      UnlinkOp{G(1), "hard", G(2)},
      Dir(G(1), "sub", G(5)),
      RmdirOp{G(1), "sub", G(5)},
      File(kRoot, "reused", G(6)),
      UnlinkOp{kRoot, "reused", G(6)},
      File(kRoot, "reused", G(7)),
      TruncateOp{G(2), 4},
      RenameOp{G(1), kRoot, "d", kRoot, "d2", {}},
  };
  Ack first = ApplyBatch(ops);
  ASSERT_TRUE(first.failures.empty()) << first.failures[0].message;
  const std::string once = vol_.Dump();
  // The only failures a replay may report are the creates of objects that a
  // later op replaced (victim's G3, reused's G6): EEXIST, entry kept.
  auto expected_conflict = [&](const OpFailure& f, size_t start) {
    const auto* c = std::get_if<EntryCreateOp>(&ops[start + f.index]);
    return f.err == EEXIST && c != nullptr && (c->gfid == G(3) || c->gfid == G(6));
  };
  Ack second = ApplyBatch(ops);
  for (const OpFailure& f : second.failures) EXPECT_TRUE(expected_conflict(f, 0)) << f.message;
  EXPECT_EQ(vol_.Dump(), once);
  EXPECT_FALSE(vol_.duplicate_gfid_created);
  // Every suffix too: a sender that crashed mid-way replays from any op.
  for (size_t start = 1; start < ops.size(); ++start) {
    Ack again = ApplyBatch(std::vector<Op>(ops.begin() + start, ops.end()));
    for (const OpFailure& f : again.failures) {
      EXPECT_TRUE(expected_conflict(f, start)) << "suffix " << start << ": " << f.message;
    }
    EXPECT_EQ(vol_.Dump(), once) << "suffix " << start;
    EXPECT_FALSE(vol_.duplicate_gfid_created);
  }
  EXPECT_EQ(vol_.At("victim"), G(2));
  EXPECT_EQ(vol_.Find(G(2))->data, "cont");
  EXPECT_EQ(vol_.At("reused"), G(7));
}

TEST_F(ApplierTest, AckFitsInOneFrameEvenWhenEveryOpFails) {
  std::vector<Op> ops;
  // Many ops with long (invalid) names: each failure message would be long.
  for (int i = 0; i < 2000; ++i) ops.push_back(UnlinkOp{kRoot, std::string(3000, 'x'), G(1)});
  Ack ack = ApplyBatch(ops);
  ASSERT_EQ(ack.failures.size(), ops.size());
  std::string frame;
  EXPECT_TRUE(EncodeFrame(ack, &frame).ok());
}

TEST_F(ApplierTest, StatAndChecksumReportTheSecondarysView) {
  ASSERT_TRUE(Apply(File(kRoot, "f", G(1))).ok());
  ASSERT_TRUE(Apply(DataOp{G(1), 0, "abcdef"}).ok());
  StatReply s = applier_.Stat(StatRequest{1, G(1)});
  EXPECT_EQ(s.err, 0);
  EXPECT_EQ(s.size, 6u);
  EXPECT_EQ(s.uid, 1000u);
  EXPECT_EQ(applier_.Stat(StatRequest{2, G(8)}).err, ENOENT);
  ChecksumReply c = applier_.Checksum(ChecksumRequest{3, G(1), 2, 100});
  EXPECT_EQ(c.err, 0);
  EXPECT_EQ(c.bytes_read, 4u);
  EXPECT_EQ(c.crc32c, crc32c::Value("cdef", 4));
  EXPECT_EQ(applier_.Checksum(ChecksumRequest{4, kRoot, 0, 1}).err, EINVAL);
}

TEST_F(ApplierTest, ListPagesThroughADirectoryWithEveryEntryOnce) {
  ASSERT_TRUE(Apply(Dir(kRoot, "d", G(1))).ok());
  const uint32_t n = kMaxListEntries + 5;
  for (uint32_t i = 0; i < n; ++i) {
    ASSERT_TRUE(Apply(File(G(1), "f" + std::to_string(i), testing::MakeGfid(0xbb, i))).ok());
  }
  std::set<std::string> seen;
  uint64_t cookie = 0;
  for (int page = 0; page < 10; ++page) {
    ListReply r = applier_.List(ListRequest{7, G(1), cookie});
    ASSERT_EQ(r.err, 0);
    EXPECT_EQ(r.request_id, 7u);
    EXPECT_LE(r.entries.size(), kMaxListEntries);
    for (const ListEntry& e : r.entries) {
      EXPECT_TRUE(seen.insert(e.name).second) << e.name;
      EXPECT_EQ(e.mode & S_IFMT, static_cast<uint32_t>(S_IFREG));
    }
    if (r.eof) break;
    cookie = r.next_cookie;
  }
  EXPECT_EQ(seen.size(), n);
}

TEST_F(ApplierTest, ListOfAMissingDirectoryIsEnoentAndOfAFileEnotdir) {
  ASSERT_TRUE(Apply(File(kRoot, "f", G(2))).ok());
  EXPECT_EQ(applier_.List(ListRequest{1, G(9), 0}).err, ENOENT);
  EXPECT_EQ(applier_.List(ListRequest{1, G(2), 0}).err, ENOTDIR);
  EXPECT_EQ(applier_.List(ListRequest{1, Gfid{}, 0}).err, EINVAL);
}

}  // namespace
}  // namespace georep::receiver

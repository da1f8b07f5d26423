// Coalescer rules: one test per rule in sync/daemon/coalescer.h, plus the
// ones that guard the order of entry ops.
#include "sync/daemon/coalescer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

namespace georep::daemon {
namespace {

using journal::Op;
using journal::Origin;
using journal::Record;

Gfid G(uint8_t n) {
  Gfid g{};
  g[15] = n;
  g[0] = 0xab;  // never the root gfid
  return g;
}
const Gfid kRoot = protocol::RootGfid();

class Journal {
 public:
  Record& Add(Op op, Gfid gfid) {
    Record r;
    r.seq = ++seq_;
    r.time_ns = 1000 * seq_;
    r.op = op;
    r.gfid = gfid;
    records_.push_back(r);
    return records_.back();
  }
  Record& Create(Gfid g, Gfid parent, std::string name, Op op = Op::kCreate) {
    Record& r = Add(op, g);
    r.pargfid = parent;
    r.name = std::move(name);
    r.mode = (op == Op::kMkdir ? S_IFDIR : S_IFREG) | 0644;
    return r;
  }
  Record& Write(Gfid g, uint64_t off, uint64_t len) {
    Record& r = Add(Op::kWrite, g);
    r.offset = off;
    r.length = len;
    return r;
  }
  Record& Unlink(Gfid g, Gfid parent, std::string name, Op op = Op::kUnlink) {
    Record& r = Add(op, g);
    r.pargfid = parent;
    r.name = std::move(name);
    return r;
  }
  Record& Rename(Gfid g, Gfid p1, std::string n1, Gfid p2, std::string n2, Gfid replaced = {}) {
    Record& r = Add(Op::kRename, g);
    r.pargfid = p1;
    r.name = std::move(n1);
    r.pargfid2 = p2;
    r.name2 = std::move(n2);
    r.gfid2 = replaced;
    return r;
  }
  Record& Link(Gfid g, Gfid parent, std::string name) {
    Record& r = Add(Op::kLink, g);
    r.pargfid = parent;
    r.name = std::move(name);
    return r;
  }
  const std::vector<Record>& records() const { return records_; }

 private:
  uint64_t seq_ = 0;
  std::vector<Record> records_;
};

// "C file" / "D file" / "M gfid" ... one short string per plan item.
std::vector<std::string> Describe(const Plan& plan) {
  std::vector<std::string> out;
  for (const PlanItem& item : plan.items) {
    switch (item.kind) {
      case PlanItem::Kind::kEntry:
        std::visit(
            [&](const auto& op) {
              using T = std::decay_t<decltype(op)>;
              if constexpr (std::is_same_v<T, protocol::EntryCreateOp>) out.push_back("create " + op.name);
              else if constexpr (std::is_same_v<T, protocol::LinkOp>) out.push_back("link " + op.name);
              else if constexpr (std::is_same_v<T, protocol::RenameOp>)
                out.push_back("rename " + op.old_name + "->" + op.new_name);
              else if constexpr (std::is_same_v<T, protocol::UnlinkOp>) out.push_back("unlink " + op.name);
              else if constexpr (std::is_same_v<T, protocol::RmdirOp>) out.push_back("rmdir " + op.name);
              else out.push_back("other");
            },
            item.entry);
        break;
      case PlanItem::Kind::kData: out.push_back("data " + std::to_string(item.gfid[15])); break;
      case PlanItem::Kind::kMeta: out.push_back("meta " + std::to_string(item.gfid[15])); break;
    }
  }
  return out;
}

using V = std::vector<std::string>;

TEST(Coalescer, EntryOpsKeepJournalOrder) {
  Journal j;
  j.Create(G(1), kRoot, "d", Op::kMkdir);
  j.Create(G(2), G(1), "f");
  j.Rename(G(2), G(1), "f", kRoot, "g");
  j.Link(G(2), kRoot, "h");
  j.Rename(G(1), kRoot, "d", kRoot, "e");
  Plan p = Coalescer::Build(j.records());
  EXPECT_EQ(Describe(p), (V{"create d", "meta 1", "create f", "meta 2", "rename f->g", "link h",
                            "rename d->e"}));
  EXPECT_EQ(p.first_seq, 1u);
  EXPECT_EQ(p.last_seq, 5u);
  EXPECT_EQ(p.newest_time_ns, 5000u);
}

TEST(Coalescer, OverlappingWritesMergeIntoOneDataItem) {
  Journal j;
  j.Write(G(1), 0, 100);
  j.Write(G(1), 50, 100);
  j.Write(G(1), 150, 10);   // touches: merges
  j.Write(G(1), 1000, 10);  // disjoint
  Plan p = Coalescer::Build(j.records());
  ASSERT_EQ(p.items.size(), 1u);
  const auto& r = p.items[0].ranges.ranges();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r.at(0), 160u);
  EXPECT_EQ(r.at(1000), 1010u);
}

TEST(Coalescer, TruncateMarksTailToEndOfFile) {
  Journal j;
  j.Write(G(1), 0, 10);
  Record& t = j.Add(Op::kTruncate, G(1));
  t.offset = 5;
  Plan p = Coalescer::Build(j.records());
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].ranges.ranges().at(0), RangeSet::kToEof);
}

TEST(Coalescer, ManyScatteredWritesCollapseToTheirHull) {
  Journal j;
  for (uint64_t i = 0; i < RangeSet::kMaxRanges + 10; ++i) j.Write(G(1), i * 100, 10);
  Plan p = Coalescer::Build(j.records());
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_LE(p.items[0].ranges.size(), RangeSet::kMaxRanges);
  EXPECT_EQ(p.items[0].ranges.ranges().begin()->first, 0u);
}

TEST(Coalescer, MetadataCollapsesToOneItemWithAllBitsAndNames) {
  Journal j;
  Record& a = j.Add(Op::kSetattr, G(1));
  a.attr_mask = journal::kAttrMode;
  Record& b = j.Add(Op::kSetattr, G(1));
  b.attr_mask = journal::kAttrUid | journal::kAttrMtime;
  Record& x = j.Add(Op::kSetxattr, G(1));
  x.xattr_names = std::string("user.a\0user.b", 13);
  Record& y = j.Add(Op::kRemovexattr, G(1));
  y.xattr_names = "user.a";
  Plan p = Coalescer::Build(j.records());
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].attr_mask, protocol::kSetMode | protocol::kSetUid | protocol::kSetMtime);
  EXPECT_EQ(p.items[0].xattrs, (std::set<std::string>{"user.a", "user.b"}));
}

TEST(Coalescer, InternalXattrsAreNotCopied) {
  Journal j;
  Record& x = j.Add(Op::kSetxattr, G(1));
  x.xattr_names = "trusted.glusterfs.foo";
  Record& y = j.Add(Op::kSetxattr, G(2));
  y.xattr_names = "user.keep";
  y.flags = journal::kFlagInternalXattr;  // flagged internal: skipped whatever the name
  Plan p = Coalescer::Build(j.records());
  EXPECT_TRUE(p.items.empty());
  EXPECT_EQ(p.skipped, 2u);
}

TEST(Coalescer, CreateThenUnlinkInOneWindowVanishes) {
  Journal j;
  j.Create(G(1), kRoot, "tmp");
  j.Write(G(1), 0, 4096);
  Record& s = j.Add(Op::kSetattr, G(1));
  s.attr_mask = journal::kAttrMode;
  j.Rename(G(1), kRoot, "tmp", kRoot, "tmp2");
  j.Unlink(G(1), kRoot, "tmp2");
  j.Create(G(2), kRoot, "keep");
  Plan p = Coalescer::Build(j.records());
  EXPECT_EQ(Describe(p), (V{"create keep", "meta 2"}));
  EXPECT_GT(p.vanished, 0u);
}

TEST(Coalescer, HardLinkKeepsObjectAliveAfterOneUnlink) {
  Journal j;
  j.Create(G(1), kRoot, "a");
  j.Write(G(1), 0, 10);
  j.Link(G(1), kRoot, "b");
  j.Rename(G(1), kRoot, "b", kRoot, "c");
  j.Unlink(G(1), kRoot, "a");
  Plan p = Coalescer::Build(j.records());
  EXPECT_EQ(Describe(p), (V{"create a", "data 1", "link b", "rename b->c", "unlink a"}));
}

TEST(Coalescer, HardLinkedObjectVanishesWhenEveryNameIsGone) {
  Journal j;
  j.Create(G(1), kRoot, "a");
  j.Link(G(1), kRoot, "b");
  j.Unlink(G(1), kRoot, "a");
  j.Unlink(G(1), kRoot, "b");
  Plan p = Coalescer::Build(j.records());
  EXPECT_TRUE(p.items.empty());
}

TEST(Coalescer, ObjectCreatedBeforeTheWindowNeverVanishes) {
  // Its other names are unknown here; the unlink must go out and data that
  // is gone by send time is dropped by the materializer instead.
  Journal j;
  j.Write(G(1), 0, 10);
  j.Unlink(G(1), kRoot, "a");
  Plan p = Coalescer::Build(j.records());
  EXPECT_EQ(Describe(p), (V{"data 1", "unlink a"}));
}

TEST(Coalescer, RenameThatReplacedATargetKeepsTheCreatedObject) {
  // x is created, renamed over existing y, then removed. Dropping x's ops
  // would leave y alive on the secondary, so x must not vanish.
  Journal j;
  j.Create(G(1), kRoot, "x");
  j.Rename(G(1), kRoot, "x", kRoot, "y", G(9));
  j.Unlink(G(1), kRoot, "y");
  Plan p = Coalescer::Build(j.records());
  EXPECT_EQ(Describe(p), (V{"create x", "meta 1", "rename x->y", "unlink y"}));
}

TEST(Coalescer, CreatedObjectReplacedByRenameVanishesButRenameStays) {
  Journal j;
  j.Create(G(1), kRoot, "t");  // created then replaced by a rename of an old file
  j.Rename(G(2), kRoot, "old", kRoot, "t", G(1));
  Plan p = Coalescer::Build(j.records());
  EXPECT_EQ(Describe(p), (V{"rename old->t"}));
}

TEST(Coalescer, DirectoryUsedAsParentBySurvivorDoesNotVanish) {
  Journal j;
  j.Create(G(1), kRoot, "d", Op::kMkdir);
  j.Create(G(2), G(1), "f");
  j.Rename(G(2), G(1), "f", kRoot, "f");
  j.Unlink(G(1), kRoot, "d", Op::kRmdir);
  Plan p = Coalescer::Build(j.records());
  EXPECT_EQ(Describe(p), (V{"create d", "meta 1", "create f", "meta 2", "rename f->f", "rmdir d"}));
}

TEST(Coalescer, DirectoryTreeCreatedAndRemovedVanishesEntirely) {
  Journal j;
  j.Create(G(1), kRoot, "d", Op::kMkdir);
  j.Create(G(2), G(1), "e", Op::kMkdir);
  j.Create(G(3), G(2), "f");
  j.Write(G(3), 0, 1);
  j.Unlink(G(3), G(2), "f");
  j.Unlink(G(2), G(1), "e", Op::kRmdir);
  j.Unlink(G(1), kRoot, "d", Op::kRmdir);
  Plan p = Coalescer::Build(j.records());
  EXPECT_TRUE(p.items.empty());
}

TEST(Coalescer, NullGfidInHistoryDisablesVanishing) {
  Journal j;
  j.Create(G(1), kRoot, "a");
  j.Rename(Gfid{}, kRoot, "a", kRoot, "b");  // unknown object: cannot prove anything
  j.Unlink(G(1), kRoot, "a");
  Plan p = Coalescer::Build(j.records());
  EXPECT_EQ(p.entry_items(), 3u);
}

TEST(Coalescer, ReplicationRebalanceSelfHealAndLinktoRecordsAreSkipped) {
  Journal j;
  j.Create(G(1), kRoot, "a").origin = Origin::kReplication;
  j.Write(G(2), 0, 1).origin = Origin::kRebalance;
  j.Write(G(3), 0, 1).origin = Origin::kSelfHeal;
  j.Create(G(4), kRoot, "l").flags = journal::kFlagDhtLinkto;
  j.Write(G(5), 0, 1).origin = Origin::kOtherInternal;  // kept: may be user-visible
  Plan p = Coalescer::Build(j.records());
  EXPECT_EQ(Describe(p), (V{"data 5"}));
  EXPECT_EQ(p.skipped, 4u);
  EXPECT_EQ(p.records, 5u);
  EXPECT_EQ(p.last_seq, 5u);
}

TEST(Coalescer, SelfHealRecordsUpToATakeoversLimitAreReplayed) {
  // After a takeover, a heal may be the only trace of a change the dead
  // Active brick did not send: those records count, later ones do not.
  Journal j;
  j.Create(G(1), kRoot, "healed").origin = Origin::kSelfHeal;    // seq 1
  j.Unlink(G(2), kRoot, "expunged").origin = Origin::kSelfHeal;  // seq 2
  j.Write(G(3), 0, 1).origin = Origin::kSelfHeal;               // seq 3: past the limit
  j.Write(G(4), 0, 1).origin = Origin::kRebalance;              // never
  Plan p = Coalescer::Build(j.records(), HealReplay{/*through_seq=*/2, /*after_ns=*/0});
  EXPECT_EQ(Describe(p), (V{"create healed", "meta 1", "unlink expunged"}));
  EXPECT_EQ(p.skipped, 2u);
}

TEST(Coalescer, SelfHealRecordsFromBeforeTheSyncMarkStaySkipped) {
  // A change healed before the mark was journaled earlier still on the
  // Active brick, whose worker had sent it.
  Journal j;
  j.Create(G(1), kRoot, "old-heal").origin = Origin::kSelfHeal;  // time 1000
  j.Create(G(2), kRoot, "new-heal").origin = Origin::kSelfHeal;  // time 2000
  Plan p = Coalescer::Build(j.records(), HealReplay{/*through_seq=*/2, /*after_ns=*/1000});
  EXPECT_EQ(Describe(p), (V{"create new-heal", "meta 2"}));
}

TEST(Coalescer, DataItemSitsAfterItsCreateAndBeforeLaterEntryOps) {
  Journal j;
  j.Create(G(1), kRoot, "a");
  j.Write(G(1), 0, 1);
  j.Rename(G(1), kRoot, "a", kRoot, "b");
  j.Write(G(1), 1, 1);
  Plan p = Coalescer::Build(j.records());
  EXPECT_EQ(Describe(p), (V{"create a", "data 1", "rename a->b"}));
}

TEST(Coalescer, CreateAttributesTravelWithTheDataWhenBothAreInTheWindow) {
  Journal j;
  j.Create(G(1), kRoot, "a");
  j.Write(G(1), 0, 1);
  Record& x = j.Add(Op::kSetxattr, G(1));  // keeps the metadata item alive for its xattr
  x.xattr_names = "user.k";
  Plan p = Coalescer::Build(j.records());
  ASSERT_EQ(Describe(p), (V{"create a", "meta 1", "data 1"}));
  EXPECT_EQ(p.items[1].attr_mask, 0u);
  EXPECT_EQ(p.items[1].xattrs, (std::set<std::string>{"user.k"}));
  EXPECT_EQ(p.items[2].final_attr_mask, protocol::kSetMode | protocol::kSetUid | protocol::kSetGid |
                                            protocol::kSetAtime | protocol::kSetMtime);
}

TEST(Coalescer, MetadataAfterTheDataStaysSeparate) {
  Journal j;
  j.Write(G(1), 0, 1);
  Record& s = j.Add(Op::kSetattr, G(1));
  s.attr_mask = journal::kAttrMode;
  Plan p = Coalescer::Build(j.records());
  ASSERT_EQ(Describe(p), (V{"data 1", "meta 1"}));
  EXPECT_EQ(p.items[1].attr_mask, protocol::kSetMode);
  EXPECT_EQ(p.items[0].final_attr_mask, 0u);
}

TEST(Coalescer, FallocateIsReplayedAndPunchHoleIsNot) {
  Journal j;
  Record& f = j.Add(Op::kFallocate, G(1));
  f.offset = 0;
  f.length = 100;
  f.aux = 0x01;  // keep size
  Record& ph = j.Add(Op::kFallocate, G(1));
  ph.offset = 10;
  ph.length = 10;
  ph.aux = 0x03;  // punch hole | keep size
  Plan p = Coalescer::Build(j.records());
  ASSERT_EQ(p.items.size(), 1u);
  ASSERT_EQ(p.items[0].allocs.size(), 1u);
  EXPECT_TRUE(p.items[0].allocs[0].keep_size);
}

TEST(Coalescer, GlusterInternalRootEntriesAreSkipped) {
  Journal j;
  j.Create(G(1), kRoot, ".glusterfs-anonymous-inode-5d1c0000", Op::kMkdir);
  j.Create(G(2), G(3), ".glusterfs-anonymous-inode-x", Op::kMkdir);  // not in the root: a user's
  Plan p = Coalescer::Build(j.records());
  EXPECT_EQ(p.entry_items(), 1u);
  EXPECT_EQ(p.skipped, 1u);
}

TEST(Coalescer, EmptyWindowGivesEmptyPlan) {
  Plan p = Coalescer::Build({});
  EXPECT_TRUE(p.items.empty());
  EXPECT_EQ(p.records, 0u);
}

}  // namespace
}  // namespace georep::daemon

// ConflictResolver: a refused op is judged against the primary's current
// state (stale secondary entry -> repair, primary moved on -> replay).
#include "sync/daemon/conflict.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "sync/daemon/materializer.h"

namespace georep::daemon {
namespace {

using Kind = FailureVerdict::Kind;

Gfid G(uint8_t n) {
  Gfid g{};
  g[0] = 0xab;
  g[15] = n;
  return g;
}

// The primary: objects by GFID and names by (parent, name).
class FakePrimary : public DataSource {
 public:
  std::map<Gfid, ObjectStat> objects;
  std::map<std::pair<Gfid, std::string>, Gfid> names;
  bool unreachable = false;

  void Put(const Gfid& parent, const std::string& name, const Gfid& g, uint32_t mode) {
    ObjectStat st;
    st.mode = mode;
    st.uid = 1234;
    st.gid = 2345;
    objects[g] = st;
    names[{parent, name}] = g;
  }
  Result<ObjectStat> Stat(const Gfid& g) override {
    if (unreachable) return Status(Code::kUnavailable, "primary unreachable");
    auto it = objects.find(g);
    if (it == objects.end()) return Status(Code::kNotFound, "gone");
    return it->second;
  }
  Result<std::unique_ptr<SourceFile>> Open(const Gfid&) override {
    return Status(Code::kNotFound, "not used");
  }
  // GlusterFS's glusterfs.gfidtopath: the object's paths joined by ':'
  // (unless the volume keeps no gfid2path, as with gfid2path = false).
  bool gfid2path = true;
  Result<std::optional<std::string>> GetXattr(const Gfid& g, const std::string& key) override {
    if (key != "glusterfs.gfidtopath" || !gfid2path) return std::optional<std::string>();
    std::string all;
    for (const auto& [entry, holder] : names) {
      if (holder != g) continue;
      if (!all.empty()) all += ":";
      all += PathOf(entry.first) + "/" + entry.second;
    }
    if (all.empty()) return std::optional<std::string>();
    return std::optional<std::string>(all);
  }
  std::string PathOf(const Gfid& dir) {
    if (dir == protocol::RootGfid()) return "";
    for (const auto& [entry, holder] : names) {
      if (holder == dir) return PathOf(entry.first) + "/" + entry.second;
    }
    return "/<lost>";
  }
  Result<std::vector<std::string>> ListXattrs(const Gfid&) override {
    return std::vector<std::string>{};
  }
  Result<std::string> ReadLink(const Gfid&) override { return std::string("target"); }
  Result<Gfid> LookupName(const Gfid& parent, const std::string& name) override {
    if (unreachable) return Status(Code::kUnavailable, "primary unreachable");
    auto it = names.find({parent, name});
    if (it == names.end()) return Status(Code::kNotFound, "no such name");
    return it->second;
  }
};

protocol::EntryCreateOp Create(const Gfid& parent, const std::string& name, const Gfid& g,
                               uint32_t mode) {
  protocol::EntryCreateOp c;
  c.pargfid = parent;
  c.name = name;
  c.gfid = g;
  c.mode = mode;
  return c;
}

protocol::RenameOp Rename(const Gfid& g, const std::string& from, const std::string& to) {
  protocol::RenameOp r;
  r.gfid = g;
  r.old_pargfid = protocol::RootGfid();
  r.old_name = from;
  r.new_pargfid = protocol::RootGfid();
  r.new_name = to;
  return r;
}

protocol::DataOp Data(const Gfid& g) {
  protocol::DataOp d;
  d.gfid = g;
  d.data = "x";
  return d;
}

protocol::SetattrOp Attrs(const Gfid& g) {
  protocol::SetattrOp a;
  a.gfid = g;
  return a;
}

const Gfid kRoot = protocol::RootGfid();

TEST(ConflictResolver, StaleCreateIsResentWithTheFilesCurrentDataAndMetadata) {
  FakePrimary p;
  p.Put(kRoot, "f", G(1), S_IFREG | 0644);
  ConflictResolver r(&p);
  auto v = r.Judge(Create(kRoot, "f", G(1), S_IFREG | 0644), EEXIST, false);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->kind, Kind::kRepair);
  ASSERT_EQ(v->items.size(), 3u);
  EXPECT_EQ(v->items[0].kind, PlanItem::Kind::kEntry);
  EXPECT_EQ(v->items[0].entry, protocol::Op(Create(kRoot, "f", G(1), S_IFREG | 0644)));
  EXPECT_EQ(v->items[1].kind, PlanItem::Kind::kData);
  EXPECT_EQ(v->items[1].ranges.ranges().at(0), RangeSet::kToEof);
  EXPECT_EQ(v->items[2].kind, PlanItem::Kind::kMeta);
  EXPECT_TRUE(v->items[2].all_xattrs);
  EXPECT_EQ(r.repaired().count(G(1)), 1u);
  // Replacing an entry changed its directory's times on the secondary.
  auto parents = r.TakeParentRefresh();
  ASSERT_EQ(parents.size(), 1u);
  EXPECT_EQ(parents[0].gfid, kRoot);
  EXPECT_TRUE(r.TakeParentRefresh().empty());
}

TEST(ConflictResolver, CreateRefusedAfterThePrimaryMovedOnIsAReplay) {
  FakePrimary p;
  p.Put(kRoot, "f", G(2), S_IFREG | 0644);  // the name was reused by a newer file
  ConflictResolver r(&p);
  auto reused = r.Judge(Create(kRoot, "f", G(1), S_IFREG | 0644), EEXIST, false);
  ASSERT_TRUE(reused.ok());
  EXPECT_EQ(reused->kind, Kind::kReplay);
  auto gone = r.Judge(Create(kRoot, "renamed-away", G(1), S_IFREG | 0644), EEXIST, false);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->kind, Kind::kReplay);
  EXPECT_TRUE(r.repaired().empty());
  EXPECT_TRUE(r.TakeParentRefresh().empty());
}

TEST(ConflictResolver, DataOpsOfARepairedObjectAreCoveredByTheRepair) {
  FakePrimary p;
  p.Put(kRoot, "f", G(1), S_IFREG | 0644);
  ConflictResolver r(&p);
  ASSERT_EQ(r.Judge(Create(kRoot, "f", G(1), S_IFREG | 0644), EEXIST, false)->kind, Kind::kRepair);
  auto v = r.Judge(Data(G(1)), ENOENT, false);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, Kind::kCovered);
}

TEST(ConflictResolver, DataOpOfAnObjectDeletedOnThePrimaryIsAReplay) {
  FakePrimary p;
  ConflictResolver r(&p);
  auto v = r.Judge(Data(G(7)), ENOENT, false);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, Kind::kReplay);
}

TEST(ConflictResolver, DataOpOfAFileMissingOnTheSecondaryRecreatesItWhereThePrimaryHasIt) {
  FakePrimary p;
  p.Put(kRoot, "d", G(10), S_IFDIR | 0755);
  p.Put(G(10), "f", G(7), S_IFREG | 0640);
  ConflictResolver r(&p);
  auto v = r.Judge(Data(G(7)), ENOENT, false);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->kind, Kind::kRepair) << v->cause;
  ASSERT_EQ(v->items.size(), 3u);
  auto* c = std::get_if<protocol::EntryCreateOp>(&v->items[0].entry);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->pargfid, G(10));
  EXPECT_EQ(c->name, "f");
  EXPECT_EQ(c->gfid, G(7));
  EXPECT_EQ(v->items[1].kind, PlanItem::Kind::kData);
  EXPECT_EQ(v->items[2].kind, PlanItem::Kind::kMeta);
  // The batch's other ops on it are covered by the repair.
  EXPECT_EQ(r.Judge(Attrs(G(7)), ENOENT, false)->kind, Kind::kCovered);
}

TEST(ConflictResolver, HardLinkedFileMissingOnTheSecondaryGetsEveryName) {
  FakePrimary p;
  p.Put(kRoot, "d", G(10), S_IFDIR | 0755);
  p.Put(kRoot, "a", G(7), S_IFREG | 0644);
  p.names[{G(10), "b"}] = G(7);
  ConflictResolver r(&p);
  auto v = r.Judge(Data(G(7)), ENOENT, false);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->kind, Kind::kRepair);
  ASSERT_EQ(v->items.size(), 4u);
  auto* c = std::get_if<protocol::EntryCreateOp>(&v->items[0].entry);
  ASSERT_NE(c, nullptr);
  auto* l = std::get_if<protocol::LinkOp>(&v->items[3].entry);
  ASSERT_NE(l, nullptr);
  // One name each, whichever order the primary lists them in.
  std::set<std::pair<Gfid, std::string>> got{{c->pargfid, c->name}, {l->pargfid, l->name}};
  EXPECT_EQ(got, (std::set<std::pair<Gfid, std::string>>{{kRoot, "a"}, {G(10), "b"}}));
  EXPECT_EQ(l->gfid, G(7));
}

TEST(ConflictResolver, PathsThatDoNotLeadToTheObjectAreNotRecreated) {
  // "/a:/b" is one path (directory "a:") or two ("/a", "/b"): only a walk
  // on the primary that ends at the object counts.
  FakePrimary p;
  p.Put(kRoot, "a", G(13), S_IFREG | 0644);
  p.Put(kRoot, "a:", G(11), S_IFDIR | 0755);
  p.Put(G(11), "b", G(12), S_IFREG | 0644);
  ConflictResolver r(&p);
  auto v = r.Judge(Data(G(12)), ENOENT, false);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->kind, Kind::kRepair);
  auto* c = std::get_if<protocol::EntryCreateOp>(&v->items[0].entry);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->pargfid, G(11));
  EXPECT_EQ(c->name, "b");
}

TEST(ConflictResolver, DirectoryMissingOnTheSecondaryForAMetadataOpIsReportedWithTheFix) {
  FakePrimary p;
  p.Put(kRoot, "d", G(10), S_IFDIR | 0755);
  ConflictResolver r(&p);
  auto v = r.Judge(Attrs(G(10)), ENOENT, false);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, Kind::kReport);
  EXPECT_NE(v->cause.find("full crawl"), std::string::npos) << v->cause;
}

TEST(ConflictResolver, DataOpOfAnObjectThePrimaryStillHasIsReportedWithTheFix) {
  FakePrimary p;
  p.Put(kRoot, "f", G(7), S_IFREG | 0644);
  p.gfid2path = false;  // nothing tells where the primary has it
  ConflictResolver r(&p);
  auto v = r.Judge(Data(G(7)), ENOENT, false);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, Kind::kReport);
  EXPECT_NE(v->cause.find("full crawl"), std::string::npos) << v->cause;
}

TEST(ConflictResolver, RenameOfAFileMissingOnTheSecondaryRecreatesItFromThePrimary) {
  FakePrimary p;
  p.Put(kRoot, "new", G(3), S_IFREG | 0600);
  ConflictResolver r(&p);
  auto v = r.Judge(Rename(G(3), "old", "new"), ENOENT, false);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->kind, Kind::kRepair);
  ASSERT_EQ(v->items.size(), 3u);
  auto* c = std::get_if<protocol::EntryCreateOp>(&v->items[0].entry);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name, "new");
  EXPECT_EQ(c->gfid, G(3));
  EXPECT_EQ(c->mode, static_cast<uint32_t>(S_IFREG | 0600));
  EXPECT_EQ(c->uid, 1234u);
  EXPECT_EQ(c->gid, 2345u);
  EXPECT_EQ(v->items[1].kind, PlanItem::Kind::kData);
  EXPECT_EQ(v->items[2].kind, PlanItem::Kind::kMeta);
}

TEST(ConflictResolver, RenameOfADirectoryMissingOnTheSecondaryIsReportedWithTheCrawlFix) {
  FakePrimary p;
  p.Put(kRoot, "dnew", G(4), S_IFDIR | 0755);
  ConflictResolver r(&p);
  auto v = r.Judge(Rename(G(4), "dold", "dnew"), ENOENT, false);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, Kind::kReport);
  EXPECT_NE(v->cause.find("/dnew"), std::string::npos) << v->cause;
  EXPECT_NE(v->cause.find("full crawl"), std::string::npos) << v->cause;
}

TEST(ConflictResolver, RenameOntoAStaleTargetIsResentAsIs) {
  FakePrimary p;
  p.Put(kRoot, "target", G(5), S_IFREG | 0644);
  ConflictResolver r(&p);
  auto v = r.Judge(Rename(G(5), "src", "target"), EEXIST, false);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->kind, Kind::kRepair);
  ASSERT_EQ(v->items.size(), 1u);
  EXPECT_EQ(v->items[0].entry, protocol::Op(Rename(G(5), "src", "target")));
}

TEST(ConflictResolver, EntriesInsideARepairedDirectoryAreRepairedAndItsTimesResent) {
  FakePrimary p;
  p.Put(kRoot, "d", G(10), S_IFDIR | 0755);
  p.Put(G(10), "child", G(11), S_IFREG | 0644);
  ConflictResolver r(&p);
  auto dir = r.Judge(Create(kRoot, "d", G(10), S_IFDIR | 0755), EEXIST, false);
  ASSERT_TRUE(dir.ok());
  ASSERT_EQ(dir->kind, Kind::kRepair);
  ASSERT_EQ(dir->items.size(), 2u);  // the directory and its metadata, no data
  auto child = r.Judge(Create(G(10), "child", G(11), S_IFREG | 0644), ENOENT, false);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(child->kind, Kind::kRepair);
  auto parents = r.TakeParentRefresh();
  ASSERT_EQ(parents.size(), 2u);  // root and d
}

TEST(ConflictResolver, CreateWhoseDirectoryIsMissingOnlyOnTheSecondaryIsReported) {
  FakePrimary p;
  p.Put(G(20), "f", G(21), S_IFREG | 0644);
  ConflictResolver r(&p);
  auto v = r.Judge(Create(G(20), "f", G(21), S_IFREG | 0644), ENOENT, false);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, Kind::kReport);
  auto history = r.Judge(Create(G(20), "gone", G(22), S_IFREG | 0644), ENOENT, false);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->kind, Kind::kReplay);
}

TEST(ConflictResolver, AConflictInsideARepairBatchIsReportedNeverRepairedAgain) {
  FakePrimary p;
  p.Put(kRoot, "d", G(10), S_IFDIR | 0755);
  ConflictResolver r(&p);
  auto v = r.Judge(Create(kRoot, "d", G(10), S_IFDIR | 0755), EEXIST, /*in_repair_batch=*/true);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, Kind::kReport);
  EXPECT_NE(v->cause.find("/d "), std::string::npos) << v->cause;
  EXPECT_NE(v->cause.find("non-empty directory"), std::string::npos) << v->cause;
  EXPECT_NE(v->cause.find("remove it on the secondary"), std::string::npos) << v->cause;
}

TEST(ConflictResolver, FalloutOfAnUnreplaceableDirectoryRepeatsItsCauseAndFix) {
  FakePrimary p;
  p.Put(kRoot, "d", G(10), S_IFDIR | 0755);
  p.Put(G(10), "x", G(11), S_IFREG | 0644);
  ConflictResolver r(&p);
  ASSERT_EQ(r.Judge(Create(kRoot, "d", G(10), S_IFDIR | 0755), EEXIST, true)->kind, Kind::kReport);
  auto own = r.Judge(Attrs(G(10)), ENOENT, true);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->kind, Kind::kReport);
  EXPECT_NE(own->cause.find("remove it on the secondary"), std::string::npos) << own->cause;
  auto child = r.Judge(Create(G(10), "x", G(11), S_IFREG | 0644), ENOENT, false);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(child->kind, Kind::kReport);  // not resent: it would fail again
  EXPECT_NE(child->cause.find("/d "), std::string::npos) << child->cause;
  auto data = r.Judge(Data(G(11)), ENOENT, false);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->kind, Kind::kReport);
  EXPECT_EQ(data->cause, child->cause);
  EXPECT_EQ(data->cause.find("not replicated because not"), std::string::npos);
}

TEST(ConflictResolver, RmdirOfADirectoryWithSecondaryOnlyEntriesIsReportedWithTheFix) {
  FakePrimary p;
  ConflictResolver r(&p);
  protocol::RmdirOp d;
  d.pargfid = kRoot;
  d.name = "gone";
  d.gfid = G(30);
  auto v = r.Judge(d, ENOTEMPTY, false);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, Kind::kReport);
  EXPECT_NE(v->cause.find("/gone"), std::string::npos) << v->cause;
  EXPECT_NE(v->cause.find("remove the directory on the secondary"), std::string::npos) << v->cause;
}

TEST(ConflictResolver, AnUnreachablePrimaryIsAnErrorNotAGuess) {
  FakePrimary p;
  p.unreachable = true;
  ConflictResolver r(&p);
  EXPECT_FALSE(r.Judge(Create(kRoot, "f", G(1), S_IFREG | 0644), EEXIST, false).ok());
  EXPECT_FALSE(r.Judge(Data(G(1)), ENOENT, false).ok());
}

TEST(ConflictResolver, OtherErrorsAreReported) {
  FakePrimary p;
  p.Put(kRoot, "f", G(1), S_IFREG | 0644);
  ConflictResolver r(&p);
  auto v = r.Judge(Create(kRoot, "f", G(1), S_IFREG | 0644), EINVAL, false);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, Kind::kReport);
}

TEST(Materializer, ReplaceStaleLimitMarksEveryBatch) {
  FakePrimary p;
  MaterializerLimits limits;
  limits.max_ops = 1;
  limits.replace_stale = true;
  std::vector<protocol::Batch> out;
  Materializer m(&p, limits, [&](protocol::Batch b, size_t) {
    out.push_back(std::move(b));
    return Status::Ok();
  });
  PlanItem e;
  e.kind = PlanItem::Kind::kEntry;
  e.entry = Create(kRoot, "a", G(1), S_IFREG | 0644);
  ASSERT_TRUE(m.AddItem(e).ok());
  e.entry = Create(kRoot, "b", G(2), S_IFREG | 0644);
  ASSERT_TRUE(m.AddItem(e).ok());
  ASSERT_TRUE(m.Flush().ok());
  ASSERT_EQ(out.size(), 2u);
  for (const auto& b : out) EXPECT_EQ(b.flags, static_cast<uint32_t>(protocol::kBatchReplaceStale));
}

}  // namespace
}  // namespace georep::daemon

// Materializer: plan items -> wire ops -> batches, against an in-memory source.
#include "sync/daemon/materializer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sync/protocol/codec.h"

namespace georep::daemon {
namespace {

Gfid G(uint8_t n) {
  Gfid g{};
  g[0] = 0xcd;
  g[15] = n;
  return g;
}

// A file is a size plus data extents; everything else is a hole.
struct FakeObject {
  ObjectStat st;
  std::map<uint64_t, std::string> extents;
  std::map<std::string, std::string> xattrs;
  std::string link;
  // What Stat says from its second call on (the file changed meanwhile).
  std::optional<ObjectStat> later_st;
};

class FakeFile : public SourceFile {
 public:
  explicit FakeFile(const FakeObject* o) : o_(o) {}
  Result<ObjectStat> Stat() override {
    if (stats_++ > 0 && o_->later_st) return *o_->later_st;
    return o_->st;
  }
  Result<std::optional<uint64_t>> SeekData(uint64_t off) override {
    for (const auto& [b, d] : o_->extents) {
      if (b + d.size() > off) return std::optional<uint64_t>(std::max(b, off));
    }
    return std::optional<uint64_t>();
  }
  Result<uint64_t> SeekHole(uint64_t off) override {
    for (const auto& [b, d] : o_->extents) {
      if (b <= off && off < b + d.size()) return b + d.size();
    }
    return off;
  }
  Status Read(uint64_t off, uint64_t len, std::string* out) override {
    out->clear();
    for (uint64_t p = off; p < std::min(off + len, o_->st.size); ++p) {
      char c = 0;
      for (const auto& [b, d] : o_->extents) {
        if (b <= p && p < b + d.size()) c = d[p - b];
      }
      out->push_back(c);
    }
    return Status::Ok();
  }

 private:
  const FakeObject* o_;
  int stats_ = 0;
};

class FakeSource : public DataSource {
 public:
  std::map<Gfid, FakeObject> objects;
  Result<ObjectStat> Stat(const Gfid& g) override {
    auto it = objects.find(g);
    if (it == objects.end()) return Status(Code::kNotFound, "gone");
    return it->second.st;
  }
  Result<std::unique_ptr<SourceFile>> Open(const Gfid& g) override {
    auto it = objects.find(g);
    if (it == objects.end()) return Status(Code::kNotFound, "gone");
    return std::unique_ptr<SourceFile>(new FakeFile(&it->second));
  }
  Result<std::optional<std::string>> GetXattr(const Gfid& g, const std::string& n) override {
    auto it = objects.find(g);
    if (it == objects.end()) return Status(Code::kNotFound, "gone");
    auto x = it->second.xattrs.find(n);
    if (x == it->second.xattrs.end()) return std::optional<std::string>();
    return std::optional<std::string>(x->second);
  }
  Result<std::vector<std::string>> ListXattrs(const Gfid& g) override {
    std::vector<std::string> out;
    for (const auto& [k, v] : objects.at(g).xattrs) out.push_back(k);
    return out;
  }
  Result<std::string> ReadLink(const Gfid& g) override { return objects.at(g).link; }
  Result<Gfid> LookupName(const Gfid&, const std::string&) override {
    return Status(Code::kNotFound, "no names in this fake");
  }
};

// A regular file `g` of `size` bytes, all hole until extents are added.
FakeObject& RegularFile(FakeSource* src, Gfid g, uint64_t size, uint32_t perm = 0644) {
  FakeObject& o = src->objects[g];
  o.st.mode = S_IFREG | perm;
  o.st.size = size;
  return o;
}

struct Collected {
  std::vector<protocol::Batch> batches;
  std::vector<protocol::Op> ops() const {
    std::vector<protocol::Op> out;
    for (const auto& b : batches) out.insert(out.end(), b.ops.begin(), b.ops.end());
    return out;
  }
};

Materializer Make(FakeSource* src, Collected* c, MaterializerLimits limits = {}) {
  return Materializer(src, limits, [c](protocol::Batch b, size_t size) {
    std::string frame;
    Status st = protocol::EncodeFrame(b, &frame);
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(frame.size(), size + protocol::kFrameHeaderSize);
    c->batches.push_back(std::move(b));
    return Status::Ok();
  });
}

PlanItem DataItem(Gfid g, uint64_t b, uint64_t e) {
  PlanItem item;
  item.kind = PlanItem::Kind::kData;
  item.gfid = g;
  item.ranges.Add(b, e);
  return item;
}

TEST(Materializer, HolesStayHolesAndDataIsSentOnlyForExtents) {
  FakeSource src;
  FakeObject& o = RegularFile(&src, G(1), 1000000);
  o.extents[300000] = std::string(50, 'x');
  o.extents[700000] = std::string(10, 'y');
  Collected c;
  Materializer m = Make(&src, &c);
  ASSERT_TRUE(m.AddItem(DataItem(G(1), 0, RangeSet::kToEof)).ok());
  ASSERT_TRUE(m.Flush().ok());
  auto ops = c.ops();
  std::vector<protocol::OpType> types;
  for (const auto& op : ops) types.push_back(protocol::TypeOf(op));
  using T = protocol::OpType;
  EXPECT_EQ(types, (std::vector<T>{T::kPunchHole, T::kData, T::kPunchHole, T::kData, T::kPunchHole,
                                   T::kTruncate, T::kSetattr}));
  EXPECT_EQ(std::get<protocol::DataOp>(ops[1]).offset, 300000u);
  EXPECT_EQ(std::get<protocol::DataOp>(ops[1]).data, std::string(50, 'x'));
  EXPECT_EQ(std::get<protocol::TruncateOp>(ops[5]).size, 1000000u);
  EXPECT_EQ(m.stats().data_bytes, 60u);
}

// What a resync's prune listed on the secondary: (GFID, size, mtime) each.
struct Listed {
  Gfid gfid;
  uint64_t size;
  int64_t mtime_ns;
};
SecondaryFiles SecondaryWith(std::initializer_list<Listed> files) {
  SecondaryFiles s;
  for (const Listed& f : files) EXPECT_TRUE(s.Add(f.gfid, f.size, f.mtime_ns));
  s.Seal();
  return s;
}

// A resync's crawl: the secondary's copy has the primary's size and mtime,
// so only the attributes go (secondary_files.h).
TEST(Materializer, ResyncCrawlSendsOnlyAttributesOfAnUnchangedCopy) {
  FakeSource src;
  FakeObject& o = RegularFile(&src, G(1), 3 * 1024 * 1024, 0640);
  o.st.mtime_ns = 1700000000000000001;
  o.extents[0] = std::string(3 * 1024 * 1024, 'u');
  const SecondaryFiles secondary = SecondaryWith({{G(1), o.st.size, o.st.mtime_ns}});
  Collected c;
  Materializer m = Make(&src, &c);
  m.SetSecondaryFiles(&secondary);
  ASSERT_TRUE(m.AddItem(DataItem(G(1), 0, RangeSet::kToEof)).ok());
  ASSERT_TRUE(m.Flush().ok());
  auto ops = c.ops();
  ASSERT_EQ(ops.size(), 1u);
  const auto& sa = std::get<protocol::SetattrOp>(ops[0]);
  EXPECT_EQ(sa.mtime_ns, o.st.mtime_ns);
  EXPECT_EQ(sa.mode, 0640u);
  EXPECT_EQ(m.stats().files_unchanged, 1u);
  EXPECT_EQ(m.stats().bytes_unchanged, 3u * 1024 * 1024);
  EXPECT_EQ(m.stats().data_bytes, 0u);
}

TEST(Materializer, ResyncCrawlSendsDataWhenSizeOrMtimeDiffersOrTheFileIsUnlisted) {
  FakeSource src;
  for (uint8_t n : {1, 2, 3}) {
    FakeObject& o = RegularFile(&src, G(n), 4096);
    o.st.mtime_ns = 5000;
    o.extents[0] = std::string(4096, 'v');
  }
  // G(1) was written in the lost interval, G(2)'s size differs, G(3) is
  // not on the secondary.
  const SecondaryFiles secondary = SecondaryWith({{G(1), 4096, 4999}, {G(2), 4000, 5000}});
  Collected c;
  Materializer m = Make(&src, &c);
  m.SetSecondaryFiles(&secondary);
  for (uint8_t n : {1, 2, 3}) {
    ASSERT_TRUE(m.AddItem(DataItem(G(n), 0, RangeSet::kToEof)).ok());
  }
  ASSERT_TRUE(m.Flush().ok());
  EXPECT_EQ(m.stats().files_unchanged, 0u);
  EXPECT_EQ(m.stats().data_bytes, 3u * 4096);
}

// Only whole-file items (the crawl's) are judged: a journaled write names
// the ranges that changed, whatever the listing saw.
TEST(Materializer, JournaledRangesAreSentEvenWhenTheCopyLooksUnchanged) {
  FakeSource src;
  FakeObject& o = RegularFile(&src, G(1), 8192);
  o.extents[0] = std::string(8192, 'w');
  const SecondaryFiles secondary = SecondaryWith({{G(1), o.st.size, o.st.mtime_ns}});
  Collected c;
  Materializer m = Make(&src, &c);
  m.SetSecondaryFiles(&secondary);
  ASSERT_TRUE(m.AddItem(DataItem(G(1), 0, 4096)).ok());
  ASSERT_TRUE(m.Flush().ok());
  EXPECT_EQ(m.stats().files_unchanged, 0u);
  EXPECT_EQ(m.stats().data_bytes, 4096u);
}

TEST(Materializer, SmallFileIsReadWholeWithoutSeeksOrTruncate) {
  FakeSource src;
  FakeObject& o = RegularFile(&src, G(1), 4096, 0640);
  o.st.uid = 7;
  o.st.mtime_ns = 123;
  o.extents[0] = std::string(4096, 'q');
  Collected c;
  Materializer m = Make(&src, &c);
  PlanItem item = DataItem(G(1), 0, 4096);  // a write: the size needs no truncate
  item.final_attr_mask = protocol::kSetMode | protocol::kSetUid;
  ASSERT_TRUE(m.AddItem(item).ok());
  ASSERT_TRUE(m.Flush().ok());
  auto ops = c.ops();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(std::get<protocol::DataOp>(ops[0]).data.size(), 4096u);
  const auto& sa = std::get<protocol::SetattrOp>(ops[1]);
  EXPECT_EQ(sa.mask, protocol::kSetMode | protocol::kSetUid | protocol::kSetAtime | protocol::kSetMtime);
  EXPECT_EQ(sa.mode, 0640u);
  EXPECT_EQ(sa.uid, 7u);
  EXPECT_EQ(sa.mtime_ns, 123);
}

// truncate -s 5000 f; truncate -s 3M f, the second after the window holding
// the first was cut: the window must set the size its stat saw (5000), not
// the grown one, or the secondary keeps its old bytes past 5000. The growth
// is journaled and sent with the next window.
TEST(Materializer, TruncateSendsTheSizeTheStatSawNotALaterOne) {
  FakeSource src;
  FakeObject& o = RegularFile(&src, G(1), 5000);
  o.extents[0] = std::string(5000, 'd');
  ObjectStat grown = o.st;
  grown.size = 3 * 1024 * 1024;
  o.later_st = grown;
  Collected c;
  Materializer m = Make(&src, &c);
  ASSERT_TRUE(m.AddItem(DataItem(G(1), 5000, RangeSet::kToEof)).ok());
  ASSERT_TRUE(m.Flush().ok());
  auto ops = c.ops();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(std::get<protocol::TruncateOp>(ops[0]).size, 5000u);
  EXPECT_TRUE(std::holds_alternative<protocol::SetattrOp>(ops[1]));
}

TEST(Materializer, SmallOverwriteInBigFileSendsOnlyTheRange) {
  FakeSource src;
  FakeObject& o = RegularFile(&src, G(1), 1ull << 30);
  o.extents[0] = std::string(8192, 'a');  // the rest is a hole in this fake
  Collected c;
  Materializer m = Make(&src, &c);
  ASSERT_TRUE(m.AddItem(DataItem(G(1), 4096, 8192)).ok());
  ASSERT_TRUE(m.Flush().ok());
  EXPECT_EQ(m.stats().data_bytes, 4096u);
}

TEST(Materializer, LargeDataIsSplitIntoChunksAndBatchesWithinLimits) {
  FakeSource src;
  FakeObject& o = RegularFile(&src, G(1), 3 * protocol::kMaxDataChunk + 7);
  o.extents[0] = std::string(o.st.size, 'z');
  Collected c;
  MaterializerLimits limits;
  limits.max_body = 1536 * 1024;  // a batch holds less than one full chunk
  Materializer m = Make(&src, &c, limits);
  ASSERT_TRUE(m.AddItem(DataItem(G(1), 0, RangeSet::kToEof)).ok());
  ASSERT_TRUE(m.Flush().ok());
  uint64_t total = 0;
  uint64_t last_id = 0;
  uint64_t next_offset = 0;
  size_t data_ops = 0;
  for (const auto& b : c.batches) {
    std::string frame;
    ASSERT_TRUE(protocol::EncodeFrame(b, &frame).ok());
    EXPECT_LE(frame.size() - protocol::kFrameHeaderSize, limits.max_body);
    EXPECT_GT(b.batch_id, last_id);
    last_id = b.batch_id;
    for (const auto& op : b.ops) {
      if (auto* d = std::get_if<protocol::DataOp>(&op)) {
        EXPECT_LE(d->data.size(), protocol::kMaxDataChunk);
        EXPECT_EQ(d->offset, next_offset);
        // Whole 4 KiB blocks, so the receiver can write them with O_DIRECT;
        // only the file's tail is shorter.
        if (d->offset + d->data.size() != o.st.size) {
          EXPECT_EQ(d->data.size() % 4096, 0u);
        }
        next_offset = d->offset + d->data.size();
        total += d->data.size();
        ++data_ops;
      }
    }
  }
  EXPECT_EQ(total, o.st.size);
  // The batch limit, not kMaxDataChunk, sets the chunk size here.
  EXPECT_GT(data_ops, 3u * protocol::kMaxDataChunk / limits.max_body);
}

TEST(Materializer, OpCountLimitSplitsBatches) {
  FakeSource src;
  Collected c;
  MaterializerLimits limits;
  limits.max_ops = 3;
  Materializer m = Make(&src, &c, limits);
  for (int i = 0; i < 7; ++i) {
    PlanItem item;
    item.kind = PlanItem::Kind::kEntry;
    item.entry = protocol::UnlinkOp{protocol::RootGfid(), "f" + std::to_string(i), G(1)};
    ASSERT_TRUE(m.AddItem(item).ok());
  }
  ASSERT_TRUE(m.Flush().ok());
  ASSERT_EQ(c.batches.size(), 3u);
  EXPECT_EQ(c.batches[0].ops.size(), 3u);
  EXPECT_EQ(c.batches[2].ops.size(), 1u);
  // Order across batches is the order of the items.
  EXPECT_EQ(std::get<protocol::UnlinkOp>(c.batches[2].ops[0]).name, "f6");
}

TEST(Materializer, DeletedObjectsAreSkippedNotFailed) {
  FakeSource src;
  Collected c;
  Materializer m = Make(&src, &c);
  ASSERT_TRUE(m.AddItem(DataItem(G(7), 0, 10)).ok());
  PlanItem meta;
  meta.kind = PlanItem::Kind::kMeta;
  meta.gfid = G(7);
  meta.attr_mask = protocol::kSetMode;
  ASSERT_TRUE(m.AddItem(meta).ok());
  ASSERT_TRUE(m.Flush().ok());
  EXPECT_TRUE(c.batches.empty());
  EXPECT_EQ(m.stats().items_skipped_gone, 2u);
}

TEST(Materializer, MetadataSendsCurrentValuesAndRemovesMissingXattrs) {
  FakeSource src;
  FakeObject& o = src.objects[G(1)];
  o.st.mode = S_IFREG | 04755;
  o.st.uid = 1234;
  o.st.gid = 99;
  o.xattrs["user.a"] = "1";
  o.xattrs["trusted.x"] = "internal";
  Collected c;
  Materializer m = Make(&src, &c);
  PlanItem meta;
  meta.kind = PlanItem::Kind::kMeta;
  meta.gfid = G(1);
  meta.attr_mask = protocol::kSetMode | protocol::kSetUid;
  meta.xattrs = {"user.a", "user.gone"};
  ASSERT_TRUE(m.AddItem(meta).ok());
  ASSERT_TRUE(m.Flush().ok());
  auto ops = c.ops();
  ASSERT_EQ(ops.size(), 3u);
  auto& sa = std::get<protocol::SetattrOp>(ops[0]);
  EXPECT_EQ(sa.mask, protocol::kSetMode | protocol::kSetUid);
  EXPECT_EQ(sa.mode, 04755u);
  EXPECT_EQ(sa.uid, 1234u);
  EXPECT_EQ(std::get<protocol::SetxattrOp>(ops[1]).value, "1");
  EXPECT_EQ(std::get<protocol::RemovexattrOp>(ops[2]).name, "user.gone");
}

TEST(Materializer, CrawlCopiesOnlySyncableXattrs) {
  FakeSource src;
  FakeObject& o = src.objects[G(1)];
  o.st.mode = S_IFDIR | 0755;
  o.xattrs["user.a"] = "1";
  o.xattrs["security.b"] = "2";
  o.xattrs["trusted.gfid"] = "x";
  o.xattrs["system.posix_acl_access"] = "acl";
  Collected c;
  Materializer m = Make(&src, &c);
  PlanItem meta;
  meta.kind = PlanItem::Kind::kMeta;
  meta.gfid = G(1);
  meta.all_xattrs = true;
  ASSERT_TRUE(m.AddItem(meta).ok());
  ASSERT_TRUE(m.Flush().ok());
  EXPECT_EQ(c.ops().size(), 3u);
}

TEST(Materializer, SymlinkTargetIsReadWhenTheJournalLacksIt) {
  FakeSource src;
  src.objects[G(2)].link = "../target";
  Collected c;
  Materializer m = Make(&src, &c);
  PlanItem item;
  item.kind = PlanItem::Kind::kEntry;
  protocol::EntryCreateOp e;
  e.gfid = G(2);
  e.pargfid = protocol::RootGfid();
  e.name = "l";
  e.mode = S_IFLNK | 0777;
  item.entry = e;
  ASSERT_TRUE(m.AddItem(item).ok());
  ASSERT_TRUE(m.Flush().ok());
  EXPECT_EQ(std::get<protocol::EntryCreateOp>(c.ops().at(0)).target, "../target");
}

TEST(Materializer, FlushWithNothingOpenSendsNothing) {
  FakeSource src;
  Collected c;
  Materializer m = Make(&src, &c);
  ASSERT_TRUE(m.Flush().ok());
  EXPECT_TRUE(c.batches.empty());
}

}  // namespace
}  // namespace georep::daemon

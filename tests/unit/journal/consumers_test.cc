// ConsumerRegistry: names, atomic cursor files and resync markers.
#include <gtest/gtest.h>
#include <dirent.h>

#include <fstream>

#include "journal/consumers.h"
#include "journal_test_util.h"

namespace georep::journal {
namespace {

using testing::ScratchBrick;

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

TEST(ConsumerRegistry, ValidNamesAreEnforced) {
  EXPECT_TRUE(ConsumerRegistry::ValidName("georepd.vol1-to-vol2_brick3"));
  EXPECT_TRUE(ConsumerRegistry::ValidName(std::string(128, 'a')));
  EXPECT_FALSE(ConsumerRegistry::ValidName(""));
  EXPECT_FALSE(ConsumerRegistry::ValidName(std::string(129, 'a')));
  EXPECT_FALSE(ConsumerRegistry::ValidName(".hidden"));
  EXPECT_FALSE(ConsumerRegistry::ValidName("a/b"));
  EXPECT_FALSE(ConsumerRegistry::ValidName(".."));
  EXPECT_FALSE(ConsumerRegistry::ValidName("a b"));
  EXPECT_FALSE(ConsumerRegistry::ValidName(std::string("a\0b", 3)));
  ScratchBrick b;
  ConsumerRegistry reg(b.path());
  EXPECT_EQ(reg.Register("../escape", 0).code(), Code::kInvalidArgument);
  EXPECT_EQ(reg.SetCursor("a/b", 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(reg.GetCursor("").status().code(), Code::kInvalidArgument);
}

TEST(ConsumerRegistry, RegisterIsIdempotentAndKeepsTheCursor) {
  ScratchBrick b;
  ConsumerRegistry reg(b.path());
  ASSERT_TRUE(reg.Register("w", 10).ok());
  ASSERT_TRUE(reg.SetCursor("w", 25).ok());
  ASSERT_TRUE(reg.Register("w", 10).ok());
  auto c = reg.GetCursor("w");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, 25u);
}

TEST(ConsumerRegistry, CursorWritesLeaveNoTemporaryFiles) {
  ScratchBrick b;
  ConsumerRegistry reg(b.path());
  ASSERT_TRUE(reg.Register("w", 0).ok());
  for (uint64_t i = 1; i <= 50; i++) ASSERT_TRUE(reg.SetCursor("w", i).ok());
  auto entries = DirEntries(b.root() + "/consumers");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0], "w.cursor");
  EXPECT_EQ(*reg.GetCursor("w"), 50u);
}

TEST(ConsumerRegistry, UnregisteredConsumersCannotBeUpdated) {
  ScratchBrick b;
  ConsumerRegistry reg(b.path());
  EXPECT_EQ(reg.SetCursor("ghost", 5).code(), Code::kNotFound);
  EXPECT_EQ(reg.GetCursor("ghost").status().code(), Code::kNotFound);
  EXPECT_EQ(reg.MarkResync("ghost", "x").code(), Code::kNotFound);
  EXPECT_EQ(reg.Unregister("ghost").code(), Code::kNotFound);
  auto list = reg.List();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST(ConsumerRegistry, ListIsSortedAndShowsResyncReasons) {
  ScratchBrick b;
  ConsumerRegistry reg(b.path());
  ASSERT_TRUE(reg.Register("zeta", 3).ok());
  ASSERT_TRUE(reg.Register("alpha", 7).ok());
  ASSERT_TRUE(reg.MarkResync("zeta", "records 1..2 removed by the size cap").ok());
  auto list = reg.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "alpha");
  EXPECT_EQ((*list)[0].cursor, 7u);
  EXPECT_FALSE((*list)[0].resync.has_value());
  EXPECT_EQ((*list)[1].name, "zeta");
  ASSERT_TRUE((*list)[1].resync.has_value());
  EXPECT_EQ(*(*list)[1].resync, "records 1..2 removed by the size cap");
  ASSERT_TRUE(reg.ClearResync("zeta").ok());
  ASSERT_TRUE(reg.ClearResync("zeta").ok()) << "clearing twice is fine";
  list = reg.List();
  ASSERT_TRUE(list.ok());
  EXPECT_FALSE((*list)[1].resync.has_value());
}

TEST(ConsumerRegistry, SizeCapMarkerCarriesTheLastRecordLost) {
  ScratchBrick b;
  ConsumerRegistry reg(b.path());
  ASSERT_TRUE(reg.Register("w", 3).ok());
  ASSERT_TRUE(reg.Register("v", 3).ok());
  ASSERT_TRUE(reg.MarkResync("w", "records 4..99 removed\nby the size cap", 99).ok());
  ASSERT_TRUE(reg.MarkResync("v", "lost in a crash").ok());
  auto list = reg.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(*(*list)[1].resync, "records 4..99 removed by the size cap") << "the reason stays one line";
  ASSERT_TRUE((*list)[1].lost_through.has_value());
  EXPECT_EQ(*(*list)[1].lost_through, 99u);
  EXPECT_FALSE((*list)[0].lost_through.has_value()) << "a marker without the line is always obeyed";
}

TEST(ConsumerRegistry, DamagedLostThroughIsIgnoredAndTheMarkObeyed) {
  ScratchBrick b;
  ConsumerRegistry reg(b.path());
  ASSERT_TRUE(reg.Register("w", 3).ok());
  for (const char* text : {"why\nlost_through=\n", "why\nlost_through=12x\n", "why\nlost_through=99999999999999999999999\n"}) {
    std::ofstream(b.root() + "/consumers/w.resync") << text;
    auto list = reg.List();
    ASSERT_TRUE(list.ok());
    ASSERT_TRUE((*list)[0].resync.has_value()) << text;
    EXPECT_EQ(*(*list)[0].resync, "why");
    EXPECT_FALSE((*list)[0].lost_through.has_value()) << text;
  }
}

TEST(ConsumerRegistry, UnregisterRemovesCursorAndMarker) {
  ScratchBrick b;
  ConsumerRegistry reg(b.path());
  ASSERT_TRUE(reg.Register("w", 1).ok());
  ASSERT_TRUE(reg.MarkResync("w", "because").ok());
  ASSERT_TRUE(reg.Unregister("w").ok());
  EXPECT_TRUE(DirEntries(b.root() + "/consumers").empty());
  EXPECT_EQ(reg.GetCursor("w").status().code(), Code::kNotFound);
}

TEST(ConsumerRegistry, DamagedCursorFileIsCorruptionNamingTheFile) {
  ScratchBrick b;
  ConsumerRegistry reg(b.path());
  ASSERT_TRUE(reg.Register("w", 1).ok());
  std::string path = b.root() + "/consumers/w.cursor";
  for (const char* junk : {"", "12x\n", "-1\n", "99999999999999999999999\n", " 5\n"}) {
    std::ofstream(path, std::ios::trunc) << junk;
    auto c = reg.GetCursor("w");
    ASSERT_FALSE(c.ok()) << "'" << junk << "'";
    EXPECT_EQ(c.status().code(), Code::kCorruption);
    EXPECT_NE(c.status().message().find(path), std::string::npos);
  }
}

}  // namespace
}  // namespace georep::journal

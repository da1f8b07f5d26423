// The georep-journal tool, run in-process with stdout captured.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "journal/consumers.h"
#include "journal/dump.h"
#include "journal_test_util.h"

namespace georep::journal {
namespace {

using testing::Options;
using testing::SampleRecord;
using testing::ScratchBrick;

struct ToolRun {
  int rc;
  std::string out;
};

// Runs the tool with stdout redirected into a file inside `b`.
ToolRun RunTool(const ScratchBrick& b, std::vector<std::string> args) {
  std::string capture = b.path() + "/stdout.txt";
  std::fflush(stdout);
  int saved = dup(1);
  FILE* f = std::fopen(capture.c_str(), "w");
  dup2(fileno(f), 1);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int rc = RunJournalTool(static_cast<int>(argv.size()), argv.data());
  std::fflush(stdout);
  dup2(saved, 1);
  close(saved);
  std::fclose(f);
  std::ifstream in(capture);
  std::stringstream ss;
  ss << in.rdbuf();
  return {rc, ss.str()};
}

TEST(JournalTool, DumpPrintsSegmentHeadersRecordsAndACleanSummary) {
  ScratchBrick b;
  {
    auto w = JournalWriter::Open(Options(b));
    ASSERT_TRUE(w.ok());
    for (uint64_t i = 1; i <= 3; i++) {
      Record r = SampleRecord(i);
      ASSERT_TRUE((*w)->Append(&r).ok());
    }
  }
  ToolRun run = RunTool(b, {"dump", b.path()});
  EXPECT_EQ(run.rc, 0) << run.out;
  EXPECT_NE(run.out.find("# segment "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("seq=1 "), std::string::npos);
  EXPECT_NE(run.out.find("seq=3 "), std::string::npos);
  EXPECT_NE(run.out.find("# 3 record(s), last seq 3, 0 gap(s); no damaged regions"), std::string::npos)
      << run.out;

  run = RunTool(b, {"dump", b.path(), "--from", "3", "--json"});
  EXPECT_EQ(run.rc, 0);
  EXPECT_EQ(run.out.find("\"seq\":2,"), std::string::npos);
  EXPECT_NE(run.out.find("\"seq\":3,"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\"event\":\"summary\",\"records\":1"), std::string::npos) << run.out;
}

TEST(JournalTool, DumpReportsGapsWithExitStatusThree) {
  ScratchBrick b;
  {
    auto w = JournalWriter::Open(Options(b));
    ASSERT_TRUE(w.ok());
    Record r = SampleRecord(1);
    ASSERT_TRUE((*w)->Append(&r).ok());
    Record huge = SampleRecord(2);
    huge.xattr_names.assign(kMaxRecordSize + 1, 'x');
    EXPECT_FALSE((*w)->Append(&huge).ok());
    Record r3 = SampleRecord(3);
    ASSERT_TRUE((*w)->Append(&r3).ok());
  }
  ToolRun run = RunTool(b, {"dump", b.path()});
  EXPECT_EQ(run.rc, 3);
  EXPECT_NE(run.out.find("# GAP: journal records 2..2 are missing"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("seq=3 "), std::string::npos);
}

TEST(JournalTool, ConsumersListsCursorsAndResyncMarkers) {
  ScratchBrick b;
  ConsumerRegistry reg(b.path());
  ASSERT_TRUE(reg.Register("w1", 12).ok());
  ToolRun run = RunTool(b, {"consumers", b.path()});
  EXPECT_EQ(run.rc, 0);
  EXPECT_EQ(run.out, "w1 cursor=12\n");
  ASSERT_TRUE(reg.MarkResync("w1", "lost 1..3").ok());
  run = RunTool(b, {"consumers", b.path()});
  EXPECT_EQ(run.rc, 3);
  EXPECT_EQ(run.out, "w1 cursor=12 RESYNC NEEDED: lost 1..3\n");
}

TEST(JournalTool, BadUsageExitsTwo) {
  ScratchBrick b;
  EXPECT_EQ(RunTool(b, {"dump"}).rc, 2);
  EXPECT_EQ(RunTool(b, {"dump", b.path(), "--from", "x"}).rc, 2);
  EXPECT_EQ(RunTool(b, {"frobnicate"}).rc, 2);
  EXPECT_EQ(RunTool(b, {"dump", b.path() + "/nonexistent"}).rc, 1);
}

}  // namespace
}  // namespace georep::journal

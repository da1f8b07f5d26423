// JournalWriter and JournalReader together: framing, rollover, concurrency,
// recovery, torn tails, damage, gaps, retention and the size cap.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "journal/consumers.h"
#include "journal/framing.h"
#include "journal/segment_reader.h"
#include "journal_test_util.h"

namespace georep::journal {
namespace {

using testing::Options;
using testing::ReadEverything;
using testing::SampleRecord;
using testing::ScratchBrick;

std::unique_ptr<JournalWriter> MustOpen(const WriterOptions& o) {
  auto w = JournalWriter::Open(o);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return w.ok() ? std::move(*w) : nullptr;
}

// Appends SampleRecord(i) for i in [from, to] and expects seq == i.
void AppendRange(JournalWriter* w, uint64_t from, uint64_t to) {
  for (uint64_t i = from; i <= to; i++) {
    Record r = SampleRecord(i);
    ASSERT_TRUE(w->Append(&r).ok());
    ASSERT_EQ(r.seq, i);
  }
}

// SampleRecord(seq) as it reads back: with its sequence number set.
Record Expected(uint64_t seq) {
  Record r = SampleRecord(seq);
  r.seq = seq;
  return r;
}

void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << path;
  f.seekg(static_cast<std::streamoff>(offset));
  char c;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

uint64_t FileSize(const std::string& path) { return std::filesystem::file_size(path); }

TEST(Journal, RecordsReadBackInOrderExactlyAsWritten) {
  ScratchBrick b;
  auto w = MustOpen(Options(b));
  ASSERT_NE(w, nullptr);
  AppendRange(w.get(), 1, 500);
  auto got = ReadEverything(b.path());
  ASSERT_EQ(got.records.size(), 500u);
  for (uint64_t i = 1; i <= 500; i++) EXPECT_EQ(got.records[i - 1], Expected(i));
  EXPECT_TRUE(got.gaps.empty());
  EXPECT_EQ(got.corruption.events, 0u);
  EXPECT_EQ(w->Stats().records, 500u);
  EXPECT_EQ(w->Stats().next_seq, 501u);
}

TEST(Journal, AppendSetsTimeWhenZeroAndKeepsItOtherwise) {
  ScratchBrick b;
  auto w = MustOpen(Options(b));
  Record r;
  r.op = Op::kMkdir;
  ASSERT_TRUE(w->Append(&r).ok());
  EXPECT_GT(r.time_ns, 1600000000000000000ull);
  Record r2;
  r2.op = Op::kMkdir;
  r2.time_ns = 5;
  ASSERT_TRUE(w->Append(&r2).ok());
  auto got = ReadEverything(b.path());
  ASSERT_EQ(got.records.size(), 2u);
  EXPECT_EQ(got.records[1].time_ns, 5u);
}

TEST(Journal, RecordsLargerThanABlockAreFragmentedAndReassembled) {
  ScratchBrick b;
  auto w = MustOpen(Options(b));
  Record big = SampleRecord(1);
  big.op = Op::kSetxattr;
  for (int i = 0; i < 12000; i++) big.xattr_names += "user.k" + std::to_string(i) + '\0';
  ASSERT_GT(big.xattr_names.size(), 3 * kBlockSize);
  ASSERT_TRUE(w->Append(&big).ok());
  Record small = SampleRecord(2);
  ASSERT_TRUE(w->Append(&small).ok());
  auto got = ReadEverything(b.path());
  ASSERT_EQ(got.records.size(), 2u);
  EXPECT_EQ(got.records[0], big);
  EXPECT_EQ(got.records[1], small);
}

TEST(Journal, OversizedRecordFailsConsumesItsSeqAndTheNextAppendWorks) {
  ScratchBrick b;
  auto w = MustOpen(Options(b));
  AppendRange(w.get(), 1, 3);
  Record huge = SampleRecord(4);
  huge.xattr_names.assign(kMaxRecordSize + 1, 'x');
  Status st = w->Append(&huge);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(huge.seq, 4u);
  EXPECT_EQ(w->Stats().append_errors, 1u);
  AppendRange(w.get(), 5, 6);
  auto got = ReadEverything(b.path());
  ASSERT_EQ(got.records.size(), 5u);
  ASSERT_EQ(got.gaps.size(), 1u);
  EXPECT_NE(got.gaps[0].find("records 4..4 are missing"), std::string::npos) << got.gaps[0];
  EXPECT_NE(got.gaps[0].find("full resync"), std::string::npos);
}

TEST(Journal, FailedWriteConsumesItsSeqAndLeavesNoGarbage) {
  ScratchBrick b;
  auto w = MustOpen(Options(b));
  AppendRange(w.get(), 1, 10);
  std::string seg = b.Segments().back().path;
  // Make the next write fail part-way with EFBIG.
  struct sigaction ign = {}, old = {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGXFSZ, &ign, &old);
  struct rlimit saved;
  getrlimit(RLIMIT_FSIZE, &saved);
  struct rlimit lim = saved;
  lim.rlim_cur = FileSize(seg) + 10;
  setrlimit(RLIMIT_FSIZE, &lim);
  Record r = SampleRecord(11);
  Status st = w->Append(&r);
  setrlimit(RLIMIT_FSIZE, &saved);
  sigaction(SIGXFSZ, &old, nullptr);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kResourceExhausted) << st.ToString();
  EXPECT_EQ(r.seq, 11u);
  EXPECT_EQ(w->Stats().append_errors, 1u);
  AppendRange(w.get(), 12, 20);
  auto got = ReadEverything(b.path());
  EXPECT_EQ(got.records.size(), 19u);
  ASSERT_EQ(got.gaps.size(), 1u);
  EXPECT_NE(got.gaps[0].find("11..11"), std::string::npos);
  EXPECT_EQ(got.corruption.events, 0u) << "the partial write must have been undone";
}

TEST(Journal, RollsOverPastSegmentSizeAndEverySegmentStartsWithItsHeader) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  o.segment_size = kBlockSize;
  auto w = MustOpen(o);
  AppendRange(w.get(), 1, 3000);
  auto segs = b.Segments();
  EXPECT_GT(segs.size(), 5u);
  EXPECT_EQ(w->Stats().segments, segs.size());
  auto reader = JournalReader::Open(b.path(), 0);
  ASSERT_TRUE(reader.ok());
  std::vector<SegmentHeader> headers;
  (*reader)->SetSegmentHeaderCallback(
      [&](const std::string&, const SegmentHeader& h) { headers.push_back(h); });
  Record r;
  uint64_t n = 0;
  while (true) {
    auto got = (*reader)->Next(&r);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    if (!*got) break;
    n++;
    ASSERT_EQ(r, Expected(n));
  }
  EXPECT_EQ(n, 3000u);
  ASSERT_EQ(headers.size(), segs.size());
  for (size_t i = 0; i < segs.size(); i++) {
    EXPECT_EQ(headers[i].first_seq, segs[i].first_seq);
    EXPECT_EQ(headers[i].version, kFormatVersion);
    EXPECT_EQ(headers[i].brick_id, o.brick_id);
  }
}

TEST(Journal, ConcurrentAppendsFromEightThreadsAreUniqueContiguousAndReadable) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  o.segment_size = 256 * 1024;
  auto w = MustOpen(o);
  constexpr int kThreads = 8, kPerThread = 2000;
  std::vector<std::vector<uint64_t>> seqs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; i++) {
        Record r = SampleRecord(static_cast<uint64_t>(t) * 1000000 + i);
        Status st = w->Append(&r);
        if (!st.ok()) {
          ADD_FAILURE() << st.ToString();
          return;
        }
        seqs[t].push_back(r.seq);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (const auto& v : seqs) {
    for (size_t i = 1; i < v.size(); i++) EXPECT_LT(v[i - 1], v[i]) << "per-thread order";
    all.insert(v.begin(), v.end());
  }
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread)) << "duplicate seqs";
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), static_cast<uint64_t>(kThreads * kPerThread));
  auto got = ReadEverything(b.path());
  ASSERT_EQ(got.records.size(), all.size());
  for (size_t i = 0; i < got.records.size(); i++) EXPECT_EQ(got.records[i].seq, i + 1);
  EXPECT_TRUE(got.gaps.empty());
}

TEST(Journal, ConcurrentAppendsWithFsyncAlwaysShareSyncs) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  o.fsync = FsyncPolicy::kAlways;
  auto w = MustOpen(o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; i++) {
        Record r = SampleRecord(1);
        EXPECT_TRUE(w->Append(&r).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ReadEverything(b.path()).records.size(), 200u);
  EXPECT_EQ(w->Stats().sync_errors, 0u);
  // Every append waited for a sync; how many were shared depends on timing.
  EXPECT_GT(w->Stats().syncs, 0u);
  EXPECT_LE(w->Stats().syncs, 200u);
  EXPECT_TRUE(w->Close().ok());
  Record r;
  EXPECT_EQ(w->Append(&r).code(), Code::kFailedPrecondition) << "appends after Close fail";
}

TEST(Journal, IntervalPolicyThreadStopsOnCloseAndReconfigure) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  o.fsync = FsyncPolicy::kInterval;
  o.fsync_interval_ms = 5;
  auto w = MustOpen(o);
  AppendRange(w.get(), 1, 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  o.fsync = FsyncPolicy::kNever;
  ASSERT_TRUE(w->Reconfigure(o).ok());
  o.fsync = FsyncPolicy::kInterval;
  o.fsync_interval_ms = 1;
  ASSERT_TRUE(w->Reconfigure(o).ok());
  AppendRange(w.get(), 11, 20);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(w->Close().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(ReadEverything(b.path()).records.size(), 20u);
}

TEST(Journal, ReconfigureRejectsBrickChangesAndBadSizes) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  auto w = MustOpen(o);
  WriterOptions bad = o;
  bad.brick_id = "other";
  EXPECT_EQ(w->Reconfigure(bad).code(), Code::kInvalidArgument);
  bad = o;
  bad.segment_size = 100;
  EXPECT_EQ(w->Reconfigure(bad).code(), Code::kInvalidArgument);
  bad = o;
  bad.max_journal_size = o.segment_size - 1;
  EXPECT_EQ(w->Reconfigure(bad).code(), Code::kInvalidArgument);
  WriterOptions good = o;
  good.max_journal_size = o.segment_size;
  EXPECT_TRUE(w->Reconfigure(good).ok());
  WriterOptions rel = o;
  rel.brick_path = "relative/path";
  EXPECT_EQ(JournalWriter::Open(rel).status().code(), Code::kInvalidArgument);
}

TEST(Journal, SequenceContinuesAcrossReopenInANewSegment) {
  ScratchBrick b;
  {
    auto w = MustOpen(Options(b));
    AppendRange(w.get(), 1, 100);
    ASSERT_TRUE(w->Close().ok());
  }
  {
    auto w = MustOpen(Options(b));
    EXPECT_EQ(w->Stats().next_seq, 101u);
    AppendRange(w.get(), 101, 150);
  }
  auto segs = b.Segments();
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[1].first_seq, 101u);
  auto got = ReadEverything(b.path());
  ASSERT_EQ(got.records.size(), 150u);
  EXPECT_TRUE(got.gaps.empty());
}

TEST(Journal, ReopenWithoutAppendsReusesNoNameAndLeavesNoEmptySegments) {
  ScratchBrick b;
  for (int i = 0; i < 3; i++) {
    auto w = MustOpen(Options(b));
    ASSERT_NE(w, nullptr);
  }
  EXPECT_EQ(b.Segments().size(), 1u);
  auto w = MustOpen(Options(b));
  AppendRange(w.get(), 1, 2);
}

TEST(Journal, ASecondWriterOfTheSameJournalIsRefusedUntilTheFirstCloses) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  o.lock_wait_ms = 100;
  auto first = MustOpen(o);
  AppendRange(first.get(), 1, 3);
  auto start = std::chrono::steady_clock::now();
  auto second = JournalWriter::Open(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_NE(second.status().message().find("pid " + std::to_string(getpid())), std::string::npos)
      << second.status().message();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  first.reset();
  auto third = MustOpen(o);
  Record r = SampleRecord(4);
  ASSERT_TRUE(third->Append(&r).ok());
  EXPECT_EQ(r.seq, 4u);
}

TEST(Journal, SequenceIsRecoveredFromRecordsWhenHighWaterFileIsLost) {
  ScratchBrick b;
  {
    auto w = MustOpen(Options(b));
    AppendRange(w.get(), 1, 40);
  }
  ASSERT_EQ(::unlink((b.root() + "/" + kHighWaterFile).c_str()), 0);
  auto w = MustOpen(Options(b));
  EXPECT_EQ(w->Stats().next_seq, 41u);
}

TEST(Journal, SequenceNeverGoesBackWhenAllSegmentsAreRemoved) {
  ScratchBrick b;
  {
    auto w = MustOpen(Options(b));
    AppendRange(w.get(), 1, 40);
  }
  std::filesystem::remove_all(b.segments_dir());
  std::vector<std::string> warnings;
  WriterOptions o = Options(b);
  o.on_warning = [&](const std::string& m) { warnings.push_back(m); };
  auto w = MustOpen(o);
  EXPECT_GT(w->Stats().next_seq, 40u);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings[0].find("removed outside georep"), std::string::npos) << warnings[0];
}

TEST(Journal, ConsumerAheadOfTheJournalMovesSequenceOnAndIsMarkedForResync) {
  ScratchBrick b;
  {
    auto w = MustOpen(Options(b));
    AppendRange(w.get(), 1, 10);
  }
  // As after a power loss: the consumer read 11..15, which did not survive.
  ConsumerRegistry reg(b.path());
  ASSERT_TRUE(reg.Register("worker", 15).ok());
  std::string seg = b.Segments().back().path;
  auto w = MustOpen(Options(b));
  EXPECT_EQ(w->Stats().next_seq, 16u);
  auto list = reg.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  ASSERT_TRUE((*list)[0].resync.has_value());
  EXPECT_NE((*list)[0].resync->find("unclean shutdown"), std::string::npos);
}

// Truncating inside the last record at every offset: the reader stops
// cleanly before it, and a reopened writer continues without reusing a seq.
TEST(Journal, TornTailAtEveryOffsetOfTheLastRecordIsEndOfData) {
  ScratchBrick golden;
  uint64_t before_last = 0, full = 0;
  {
    auto w = MustOpen(Options(golden));
    AppendRange(w.get(), 1, 20);
    before_last = FileSize(golden.Segments().back().path);
    Record r = SampleRecord(21);
    r.name.assign(100, 'n');  // long enough to have many cut points
    ASSERT_TRUE(w->Append(&r).ok());
    full = FileSize(golden.Segments().back().path);
  }
  ASSERT_GT(full, before_last);
  for (uint64_t cut = before_last; cut < full; cut++) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    ScratchBrick b;
    std::filesystem::copy(golden.path(), b.path(), std::filesystem::copy_options::recursive |
                                                       std::filesystem::copy_options::overwrite_existing);
    std::string seg = b.Segments().back().path;
    std::filesystem::resize_file(seg, cut);
    auto got = ReadEverything(b.path());
    ASSERT_EQ(got.records.size(), 20u);
    EXPECT_TRUE(got.gaps.empty());
    EXPECT_EQ(got.corruption.events, 0u);
    auto w = MustOpen(Options(b));
    // The close recorded that 21 was handed out: it is never reused.
    Record r = SampleRecord(22);
    ASSERT_TRUE(w->Append(&r).ok());
    EXPECT_EQ(r.seq, 22u);
    got = ReadEverything(b.path());
    ASSERT_EQ(got.records.size(), 21u);
    ASSERT_EQ(got.gaps.size(), 1u);
    EXPECT_NE(got.gaps[0].find("21..21"), std::string::npos);
    EXPECT_EQ(got.corruption.events, 0u) << "a torn tail is not damage";
  }
}

TEST(Journal, TornTailOfASealedSegmentIsSilentAndTheGapIsReported) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  o.segment_size = kBlockSize;
  {
    auto w = MustOpen(o);
    AppendRange(w.get(), 1, 1500);
  }
  auto segs = b.Segments();
  ASSERT_GE(segs.size(), 3u);
  // Cut the first segment 10 bytes short: its last record is torn.
  std::filesystem::resize_file(segs[0].path, segs[0].size - 10);
  uint64_t lost = segs[1].first_seq - 1;
  auto got = ReadEverything(b.path());
  EXPECT_EQ(got.records.size(), 1499u);
  ASSERT_EQ(got.gaps.size(), 1u);
  EXPECT_NE(got.gaps[0].find(std::to_string(lost) + ".." + std::to_string(lost)), std::string::npos)
      << got.gaps[0];
  EXPECT_EQ(got.corruption.events, 0u);
}

TEST(Journal, TruncatedSegmentsReadAsEmptyAndTheWriterReopens) {
  for (uint64_t size : std::vector<uint64_t>{0, 3, 7, 20}) {
    SCOPED_TRACE("segment truncated to " + std::to_string(size));
    ScratchBrick b;
    {
      auto w = MustOpen(Options(b));
      AppendRange(w.get(), 1, 5);
    }
    std::filesystem::resize_file(b.Segments().back().path, size);
    auto got = ReadEverything(b.path());
    EXPECT_TRUE(got.records.empty());
    EXPECT_EQ(got.corruption.events, 0u);
    auto w = MustOpen(Options(b));
    Record r = SampleRecord(1);
    ASSERT_TRUE(w->Append(&r).ok());
    EXPECT_EQ(r.seq, 6u);
  }
}

// A byte flipped anywhere before the last block: the damage is counted and
// skipped, the records it destroyed surface as one gap, nothing returned is
// garbage, and everything after it is still read.
TEST(Journal, FlippedBytesAreReportedSkippedAndLaterRecordsStillRead) {
  ScratchBrick golden;
  constexpr uint64_t kRecords = 2000;
  {
    auto w = MustOpen(Options(golden));
    AppendRange(w.get(), 1, kRecords);
  }
  uint64_t size = golden.Segments().back().size;
  ASSERT_GT(size, 4 * kBlockSize);
  uint64_t last_block = (size - 1) / kBlockSize * kBlockSize;
  std::vector<uint64_t> offsets = {0, 1, 4, 5, 6, 7, 8, 100, kBlockSize - 8, kBlockSize - 1,
                                   kBlockSize, kBlockSize + 3, kBlockSize + 6, 2 * kBlockSize + 500,
                                   last_block - 1};
  for (uint64_t off = 3 * kBlockSize; off < 3 * kBlockSize + 300; off += 7) offsets.push_back(off);
  for (uint64_t off : offsets) {
    SCOPED_TRACE("flipped byte at " + std::to_string(off));
    ScratchBrick b;
    std::filesystem::copy(golden.path(), b.path(), std::filesystem::copy_options::recursive |
                                                       std::filesystem::copy_options::overwrite_existing);
    FlipByte(b.Segments().back().path, off);
    auto got = ReadEverything(b.path());
    for (const auto& r : got.records) ASSERT_EQ(r, Expected(r.seq)) << "garbage returned";
    for (size_t i = 1; i < got.records.size(); i++) ASSERT_LT(got.records[i - 1].seq, got.records[i].seq);
    ASSERT_FALSE(got.records.empty());
    EXPECT_EQ(got.records.back().seq, kRecords) << "records after the damage must be read";
    if (got.records.size() < kRecords) {
      EXPECT_EQ(got.corruption.events, 1u);
      EXPECT_GT(got.corruption.bytes_dropped, 0u);
      EXPECT_EQ(got.corruption.last_segment, b.Segments().back().path);
      // Also when the lost records were the first ones: the segment's name
      // says where it starts.
      ASSERT_EQ(got.gaps.size(), 1u);
      EXPECT_NE(got.gaps[0].find("damaged region"), std::string::npos) << got.gaps[0];
    } else {
      // Only the segment header was hit: damage, but no record lost.
      EXPECT_EQ(got.corruption.events, 1u);
      EXPECT_TRUE(got.gaps.empty());
    }
  }
}

TEST(Journal, DamageAtTheEndOfTheLiveSegmentWaitsAndIsTheEndOnceSealed) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  auto w = MustOpen(o);
  AppendRange(w.get(), 1, 100);
  std::string seg = b.Segments().back().path;
  FlipByte(seg, FileSize(seg) - 3);  // inside record 100
  auto reader = JournalReader::Open(b.path(), 0);
  ASSERT_TRUE(reader.ok());
  Record r;
  for (uint64_t i = 1; i <= 99; i++) {
    auto got = (*reader)->Next(&r);
    ASSERT_TRUE(got.ok() && *got);
    ASSERT_EQ(r.seq, i);
  }
  auto got = (*reader)->Next(&r);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got) << "a bad tail of the live segment may still be being written";
  // A restarted writer seals it: its damaged tail is its end.
  w.reset();
  w = MustOpen(o);
  AppendRange(w.get(), 101, 110);
  got = (*reader)->Next(&r);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(got.status().message().find("100..100"), std::string::npos) << got.status().message();
  got = (*reader)->Next(&r);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ(r.seq, 101u);
  EXPECT_EQ((*reader)->corruption().events, 0u) << "a torn tail is not counted as damage";
}

TEST(Journal, DamageInTheLiveSegmentIsSkippedToTheNextBlockOnceValidDataFollows) {
  ScratchBrick b;
  auto w = MustOpen(Options(b));
  AppendRange(w.get(), 1, 100);
  std::string seg = b.Segments().back().path;
  FlipByte(seg, FileSize(seg) - 3);  // inside record 100, in block 0
  AppendRange(w.get(), 101, 1000);   // the writer goes on in later blocks
  auto got = ReadEverything(b.path());
  ASSERT_EQ(got.gaps.size(), 1u);
  EXPECT_NE(got.gaps[0].find("records 100.."), std::string::npos) << got.gaps[0];
  EXPECT_EQ(got.corruption.events, 1u);
  EXPECT_LT(got.corruption.last_offset, kBlockSize) << "the damage is in block 0";
  ASSERT_FALSE(got.records.empty());
  EXPECT_EQ(got.records.back().seq, 1000u);
  for (const auto& r : got.records) ASSERT_EQ(r, Expected(r.seq));
}

TEST(Journal, SequenceGoingBackwardsIsReportedNotSkipped) {
  ScratchBrick b, other;
  {
    auto w = MustOpen(Options(b));
    AppendRange(w.get(), 1, 10);
    auto w2 = MustOpen(Options(other));
    AppendRange(w2.get(), 1, 5);
  }
  // A journal reset behind the reader's back: a later segment restarts at 1.
  std::filesystem::copy_file(other.Segments().back().path,
                             b.segments_dir() + "/" + internal::SegmentName(11));
  auto reader = JournalReader::Open(b.path(), 0);
  ASSERT_TRUE(reader.ok());
  Record r;
  for (uint64_t i = 1; i <= 10; i++) ASSERT_TRUE(*(*reader)->Next(&r));
  auto got = (*reader)->Next(&r);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(got.status().message().find("went backwards from 10 to 1"), std::string::npos)
      << got.status().message();
}

TEST(Journal, ZeroFilledTailAfterACrashIsEndOfData) {
  ScratchBrick b;
  {
    auto w = MustOpen(Options(b));
    AppendRange(w.get(), 1, 10);
  }
  std::string seg = b.Segments().back().path;
  // Some file systems extend the size before the data lands.
  std::filesystem::resize_file(seg, FileSize(seg) + 3000);
  auto got = ReadEverything(b.path());
  EXPECT_EQ(got.records.size(), 10u);
  EXPECT_EQ(got.corruption.events, 0u);
}

TEST(Journal, ReaderStartsInTheSegmentHoldingTheRequestedPosition) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  o.segment_size = kBlockSize;
  auto w = MustOpen(o);
  AppendRange(w.get(), 1, 2000);
  auto segs = b.Segments();
  ASSERT_GT(segs.size(), 3u);
  for (uint64_t after : std::vector<uint64_t>{0, 1, segs[2].first_seq - 1, segs[2].first_seq, 1999, 2000}) {
    auto got = ReadEverything(b.path(), after);
    ASSERT_EQ(got.records.size(), 2000 - after) << "after " << after;
    if (!got.records.empty()) {
      EXPECT_EQ(got.records[0].seq, after + 1);
    }
    EXPECT_TRUE(got.gaps.empty());
  }
}

TEST(Journal, ReaderTailsTheLiveSegmentAndFollowsRollover) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  o.segment_size = kBlockSize;
  auto w = MustOpen(o);
  auto reader = JournalReader::Open(b.path(), 0);
  ASSERT_TRUE(reader.ok());
  Record r;
  auto got = (*reader)->Next(&r);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);
  uint64_t next = 1;
  for (int round = 0; round < 20; round++) {
    AppendRange(w.get(), next, next + 99);
    next += 100;
    ASSERT_TRUE((*reader)->WaitForData(std::chrono::milliseconds(1000)).ok());
    while (true) {
      got = (*reader)->Next(&r);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      if (!*got) break;
      ASSERT_EQ(r.seq, (*reader)->last_seq());
    }
    ASSERT_EQ((*reader)->last_seq(), next - 1);
  }
  EXPECT_GT(b.Segments().size(), 3u);
}

TEST(Journal, ReaderFollowsAWriterThatRestartsIntoASameNamedSegment) {
  ScratchBrick b;
  auto reader_opened = false;
  std::unique_ptr<JournalReader> reader;
  {
    auto w = MustOpen(Options(b));
    auto r = JournalReader::Open(b.path(), 0);
    ASSERT_TRUE(r.ok());
    reader = std::move(*r);
    reader_opened = true;
    Record rec;
    auto got = reader->Next(&rec);  // positioned on the empty live segment
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(*got);
  }
  ASSERT_TRUE(reader_opened);
  // The restarted writer removes the header-only segment and re-creates it.
  auto w = MustOpen(Options(b));
  AppendRange(w.get(), 1, 5);
  Record rec;
  uint64_t n = 0;
  for (int i = 0; i < 10; i++) {
    auto got = reader->Next(&rec);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    if (!*got) break;
    n++;
  }
  EXPECT_EQ(n, 5u);
}

TEST(Journal, WaitForDataReturnsWithinItsTimeout) {
  ScratchBrick b;
  auto w = MustOpen(Options(b));
  auto reader = JournalReader::Open(b.path(), 0);
  ASSERT_TRUE(reader.ok());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE((*reader)->WaitForData(std::chrono::milliseconds(50)).ok());
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::milliseconds(1000));
}

TEST(Journal, ReaderOnABrickWithoutJournalSaysWhatToDo) {
  ScratchBrick b;
  auto reader = JournalReader::Open(b.path(), 0);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Code::kNotFound);
  EXPECT_NE(reader.status().message().find("translator"), std::string::npos);
}

TEST(Journal, CursorResumeContinuesAfterTheLastFinishedRecord) {
  ScratchBrick b;
  auto w = MustOpen(Options(b));
  AppendRange(w.get(), 1, 50);
  ConsumerRegistry reg(b.path());
  ASSERT_TRUE(reg.Register("worker-1", 0).ok());
  {
    auto reader = JournalReader::Open(b.path(), *reg.GetCursor("worker-1"));
    ASSERT_TRUE(reader.ok());
    Record r;
    for (int i = 0; i < 20; i++) ASSERT_TRUE(*(*reader)->Next(&r));
    ASSERT_TRUE(reg.SetCursor("worker-1", r.seq).ok());
  }
  auto cursor = reg.GetCursor("worker-1");
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, 20u);
  auto got = ReadEverything(b.path(), *cursor);
  ASSERT_EQ(got.records.size(), 30u);
  EXPECT_EQ(got.records[0].seq, 21u);
}

TEST(Journal, RetentionRemovesOnlyFullyConsumedSegments) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  o.segment_size = kBlockSize;
  ConsumerRegistry reg(b.path());
  auto w = MustOpen(o);
  ASSERT_TRUE(reg.Register("worker", 0).ok());
  AppendRange(w.get(), 1, 1500);
  auto before = b.Segments();
  ASSERT_GE(before.size(), 4u);
  EXPECT_EQ(before[0].first_seq, 1u) << "cursor 0 keeps everything";
  // Finish everything in segments 0 and 1, and part of segment 2.
  uint64_t cursor = before[2].first_seq + 3;
  ASSERT_TRUE(reg.SetCursor("worker", cursor).ok());
  uint64_t next = 1501;
  while (b.Segments().size() >= before.size()) {  // until a rollover applies retention
    AppendRange(w.get(), next, next + 9);
    next += 10;
    ASSERT_LT(next, 5000u);
  }
  auto after = b.Segments();
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after[0].first_seq, before[2].first_seq) << "segment 2 is not fully consumed";
  auto got = ReadEverything(b.path(), cursor);
  EXPECT_TRUE(got.gaps.empty());
  EXPECT_EQ(got.records.front().seq, cursor + 1);
}

TEST(Journal, WithoutConsumersSegmentsAreKeptUpToTheCap) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  o.segment_size = kBlockSize;
  o.max_journal_size = 4 * kBlockSize;
  std::vector<std::string> warnings;
  o.on_warning = [&](const std::string& m) { warnings.push_back(m); };
  auto w = MustOpen(o);
  AppendRange(w.get(), 1, 3000);
  EXPECT_LE(w->Stats().bytes, o.max_journal_size + o.segment_size + kBlockSize);
  EXPECT_GE(b.Segments().size(), 3u);
  EXPECT_TRUE(warnings.empty()) << "no consumer, nobody to warn: " << warnings[0];
  auto got = ReadEverything(b.path());
  EXPECT_EQ(got.records.back().seq, 3000u);
  EXPECT_TRUE(got.gaps.empty()) << "reading from the oldest is not a gap";
}

TEST(Journal, SizeCapMarksLaggingConsumersForResyncAndTheReaderReportsTheGap) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  o.segment_size = kBlockSize;
  o.max_journal_size = 3 * kBlockSize;
  std::vector<std::string> warnings;
  o.on_warning = [&](const std::string& m) { warnings.push_back(m); };
  ConsumerRegistry reg(b.path());
  auto w = MustOpen(o);
  ASSERT_TRUE(reg.Register("slow", 5).ok());
  ASSERT_TRUE(reg.Register("fast", 0).ok());
  // "fast" keeps up (its cursor follows each batch); "slow" stays at 5.
  for (uint64_t next = 1; next <= 2000; next += 100) {
    AppendRange(w.get(), next, next + 99);
    ASSERT_TRUE(reg.SetCursor("fast", next + 99).ok());
  }
  // One more rollover applies retention with fast caught up.
  uint64_t segs = b.Segments().size();
  for (uint64_t next = 2001; b.Segments().size() == segs && next < 4000; next += 10) {
    AppendRange(w.get(), next, next + 9);
  }
  auto list = reg.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "fast");
  EXPECT_FALSE((*list)[0].resync.has_value());
  EXPECT_EQ((*list)[1].name, "slow");
  ASSERT_TRUE((*list)[1].resync.has_value());
  EXPECT_NE((*list)[1].resync->find("size cap"), std::string::npos) << *(*list)[1].resync;
  EXPECT_NE((*list)[1].resync->find("records 6.."), std::string::npos) << *(*list)[1].resync;
  // The marker names the last record removed, in the reason and for the
  // consumer to compare with its cursor.
  ASSERT_TRUE((*list)[1].lost_through.has_value());
  EXPECT_NE((*list)[1].resync->find(".." + std::to_string(*(*list)[1].lost_through) + " were removed"),
            std::string::npos)
      << *(*list)[1].resync;
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings[0].find("slow"), std::string::npos);
  EXPECT_GE(w->Stats().resync_marks, 1u);

  auto got = ReadEverything(b.path(), 5);
  ASSERT_FALSE(got.gaps.empty());
  EXPECT_NE(got.gaps[0].find("records 6.."), std::string::npos) << got.gaps[0];
  EXPECT_NE(got.gaps[0].find("full resync"), std::string::npos);
}

TEST(Journal, StatsCountSegmentsAndBytesOnDisk) {
  ScratchBrick b;
  WriterOptions o = Options(b);
  o.segment_size = kBlockSize;
  auto w = MustOpen(o);
  AppendRange(w.get(), 1, 1000);
  WriterStats s = w->Stats();
  auto segs = b.Segments();
  uint64_t bytes = 0;
  for (const auto& f : segs) bytes += f.size;
  EXPECT_EQ(s.segments, segs.size());
  EXPECT_EQ(s.bytes, bytes);
  EXPECT_EQ(s.records, 1000u);
  EXPECT_EQ(s.append_errors, 0u);
}

TEST(Journal, OpenRemovesOnlyStaleTemporariesOfInterruptedWrites) {
  ScratchBrick b;
  { auto w = MustOpen(Options(b)); }
  std::string cdir = b.root() + "/consumers";
  std::string stale = cdir + "/.w.cursor.tmp.123.0", fresh = cdir + "/.w.cursor.tmp.123.1";
  std::ofstream(stale) << "1\n";
  std::ofstream(fresh) << "2\n";
  std::filesystem::last_write_time(stale, std::filesystem::file_time_type::clock::now() -
                                              std::chrono::hours(2));
  auto w = MustOpen(Options(b));
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(fresh)) << "may belong to a write in progress";
}

// What the translator relies on: an Append that returned is in the kernel, so
// killing the process loses nothing acknowledged, and a restart continues.
TEST(Journal, EveryAppendAcknowledgedBeforeSigkillIsReadable) {
  ScratchBrick b;
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipefd[0]);
    WriterOptions o = Options(b);
    o.fsync = FsyncPolicy::kInterval;
    o.fsync_interval_ms = 10;
    o.segment_size = kBlockSize;
    auto w = JournalWriter::Open(o);
    if (!w.ok()) _exit(2);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
      threads.emplace_back([&, t] {
        // Bounded: the parent kills the child long before this ends.
        for (uint64_t i = 0; i < 10000000; i++) {
          Record r = SampleRecord(i * 4 + static_cast<uint64_t>(t));
          if (!(*w)->Append(&r).ok()) _exit(3);
          // 8 bytes < PIPE_BUF: each acknowledgement arrives whole.
          if (write(pipefd[1], &r.seq, sizeof r.seq) != sizeof r.seq) _exit(4);
        }
      });
    }
    for (auto& th : threads) th.join();
    _exit(0);
  }
  close(pipefd[1]);
  std::set<uint64_t> acked;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  uint64_t seq;
  while (std::chrono::steady_clock::now() < deadline && read(pipefd[0], &seq, sizeof seq) == sizeof seq) {
    acked.insert(seq);
  }
  kill(pid, SIGKILL);
  while (read(pipefd[0], &seq, sizeof seq) == sizeof seq) acked.insert(seq);
  close(pipefd[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
  ASSERT_GT(acked.size(), 100u);

  auto got = ReadEverything(b.path());
  EXPECT_TRUE(got.gaps.empty()) << got.gaps[0];
  EXPECT_EQ(got.corruption.events, 0u);
  std::set<uint64_t> read_seqs;
  for (const auto& r : got.records) read_seqs.insert(r.seq);
  for (uint64_t a : acked) ASSERT_TRUE(read_seqs.count(a)) << "acknowledged seq " << a << " lost";
  uint64_t last = got.records.back().seq;
  EXPECT_EQ(read_seqs.size(), last) << "1..last without holes";

  auto w = MustOpen(Options(b));
  Record r = SampleRecord(1);
  ASSERT_TRUE(w->Append(&r).ok());
  EXPECT_GT(r.seq, last);
  got = ReadEverything(b.path(), last);
  ASSERT_EQ(got.records.size(), 1u);
  EXPECT_TRUE(got.gaps.empty()) << "the restart continues right after the last record: " << got.gaps[0];
}

// The framing itself: what FORMAT.md promises about blocks.
TEST(Framing, FragmentsNeverCrossBlocksAndShortTrailersAreZeroFilled) {
  std::string payload(kBlockSize * 2, 'p');
  std::string out;
  uint64_t size = kBlockSize - kHeaderSize + 1;  // leaves 6 bytes: a trailer
  uint64_t start = size;
  internal::FrameRecord(payload, &size, &out);
  EXPECT_EQ(size - start, out.size());
  ASSERT_GE(out.size(), 6u + kHeaderSize);
  EXPECT_EQ(out.substr(0, 6), std::string(6, '\0'));
  EXPECT_EQ(static_cast<uint8_t>(out[6 + 6]), static_cast<uint8_t>(FragmentType::kFirst));
  EXPECT_EQ((start + 6) % kBlockSize, 0u);
  // Two full blocks of payload need FIRST, MIDDLE and LAST.
  EXPECT_EQ(out.size(), 6 + payload.size() + 3 * kHeaderSize);
}

TEST(Journal, WriterAttachedIsTrueOnlyWhileAWriterHoldsTheJournal) {
  ScratchBrick b;
  auto before = JournalWriterAttached(b.path());
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_FALSE(*before) << "no journal yet";
  {
    auto w = MustOpen(Options(b));
    auto during = JournalWriterAttached(b.path());
    ASSERT_TRUE(during.ok()) << during.status().ToString();
    EXPECT_TRUE(*during);
    ASSERT_TRUE(w->Close().ok());
  }
  auto after = JournalWriterAttached(b.path());
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_FALSE(*after) << "the lock file stays, but nobody holds it";
}

}  // namespace
}  // namespace georep::journal

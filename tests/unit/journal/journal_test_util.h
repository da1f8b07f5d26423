// Helpers shared by the journal unit tests: a scratch brick directory that is
// removed afterwards, record builders, and raw access to segment files.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "journal/fileutil.h"
#include "journal/format.h"
#include "journal/reader.h"
#include "journal/record.h"
#include "journal/writer.h"

namespace georep::journal::testing {

// A fresh brick directory under $TMPDIR (or /tmp), removed by the destructor.
class ScratchBrick {
 public:
  ScratchBrick() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/georep-journal-test.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = buf.data();
  }
  ~ScratchBrick() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string root() const { return JournalRoot(path_); }
  std::string segments_dir() const { return root() + "/" + kSegmentsDir; }
  std::vector<internal::SegmentFile> Segments() const {
    auto s = internal::ListSegments(segments_dir());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : std::vector<internal::SegmentFile>{};
  }

 private:
  std::string path_;
};

inline Gfid MakeGfid(uint64_t n) {
  Gfid g{};
  for (int i = 0; i < 8; i++) g[15 - i] = static_cast<uint8_t>(n >> (8 * i));
  g[0] = 0xab;
  return g;
}

// A deterministic record whose content depends on `i`, so that a test can
// check that what it reads back is exactly what was written.
inline Record SampleRecord(uint64_t i) {
  Record r;
  r.time_ns = 1700000000000000000ull + i;
  r.op = static_cast<Op>(1 + i % 16);
  r.origin = static_cast<Origin>(i % 5);
  r.gfid = MakeGfid(i);
  r.pargfid = MakeGfid(i + 1000000);
  r.name = "file-" + std::to_string(i);
  if (r.op == Op::kRename) {
    r.pargfid2 = MakeGfid(i + 2000000);
    r.name2 = "renamed-" + std::to_string(i);
  }
  r.mode = 0100644;
  r.uid = static_cast<uint32_t>(i % 7);
  r.offset = i * 4096;
  r.length = 4096;
  return r;
}

inline WriterOptions Options(const ScratchBrick& b) {
  WriterOptions o;
  o.brick_path = b.path();
  o.brick_id = "testhost:" + b.path();
  o.fsync = FsyncPolicy::kNever;
  o.max_journal_size = 0;
  return o;
}

// Reads everything available now; gap errors are collected, not fatal.
struct ReadAll {
  std::vector<Record> records;
  std::vector<std::string> gaps;
  CorruptionReport corruption;
};
inline ReadAll ReadEverything(const std::string& brick, uint64_t after_seq = 0) {
  ReadAll out;
  auto reader = JournalReader::Open(brick, after_seq);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return out;
  // Bounded: every successful call consumes a record or reports a gap once.
  for (int i = 0; i < 10000000; i++) {
    Record r;
    auto got = (*reader)->Next(&r);
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), Code::kFailedPrecondition) << got.status().ToString();
      if (got.status().code() != Code::kFailedPrecondition) break;
      out.gaps.push_back(got.status().message());
      continue;
    }
    if (!*got) break;
    out.records.push_back(r);
  }
  out.corruption = (*reader)->corruption();
  return out;
}

}  // namespace georep::journal::testing

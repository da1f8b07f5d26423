// Logical record encoding: round trips and strict rejection of bad payloads.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "journal/format.h"
#include "journal/record.h"
#include "journal_test_util.h"

namespace georep::journal {
namespace {

using testing::MakeGfid;

Record FullRecord(Op op) {
  Record r;
  r.seq = 42;
  r.time_ns = 1732400000123456789ull;
  r.op = op;
  r.origin = Origin::kSelfHeal;
  r.flags = kFlagViaFd | kFlagInternalXattr;
  r.gfid = MakeGfid(1);
  r.pargfid = MakeGfid(2);
  r.name = "a name with spaces \xe2\x9c\x93";
  r.pargfid2 = MakeGfid(3);
  r.name2 = "new-name";
  r.gfid2 = MakeGfid(4);
  r.mode = 0100755;
  r.uid = 1000;
  r.gid = 1001;
  r.rdev = 0x0801;
  r.offset = 1ull << 40;
  r.length = 123456;
  r.attr_mask = kAttrMode | kAttrMtime;
  r.aux = 3;
  r.atime_ns = 1;
  r.mtime_ns = UINT64_MAX;
  r.target = "../some/target";
  r.xattr_names = std::string("user.a\0user.b", 13);
  return r;
}

TEST(RecordEncoding, EveryOpRoundTripsWithAllFields) {
  for (int op = 1; op <= 16; op++) {
    Record in = FullRecord(static_cast<Op>(op));
    std::string enc;
    EncodeRecord(in, &enc);
    Record out;
    ASSERT_TRUE(DecodeRecord(enc, &out).ok()) << OpName(in.op);
    EXPECT_EQ(in, out) << OpName(in.op);
  }
}

TEST(RecordEncoding, EveryOpRoundTripsWithOnlyRequiredFields) {
  for (int op = 1; op <= 16; op++) {
    for (int origin = 0; origin <= 4; origin++) {
      Record in;
      in.seq = 7;
      in.op = static_cast<Op>(op);
      in.origin = static_cast<Origin>(origin);
      std::string enc;
      EncodeRecord(in, &enc);
      EXPECT_EQ(enc.size(), kRecordFixedSize) << "zero fields must not be stored";
      Record out;
      ASSERT_TRUE(DecodeRecord(enc, &out).ok());
      EXPECT_EQ(in, out);
    }
  }
}

TEST(RecordEncoding, SeqIsAtTheDocumentedOffset) {
  Record in = FullRecord(Op::kWrite);
  in.seq = 0x0102030405060708ull;
  std::string enc;
  EncodeRecord(in, &enc);
  EXPECT_EQ(static_cast<uint8_t>(enc[0]), static_cast<uint8_t>(RecordKind::kChange));
  EXPECT_EQ(static_cast<uint8_t>(enc[1]), kRecordVersion);
  for (int i = 0; i < 8; i++) {
    EXPECT_EQ(static_cast<uint8_t>(enc[kRecordSeqOffset + i]), 8 - i) << "little-endian seq";
  }
}

TEST(RecordEncoding, EveryTruncationIsRejectedAsCorruption) {
  std::string enc;
  EncodeRecord(FullRecord(Op::kRename), &enc);
  for (size_t n = 0; n < enc.size(); n++) {
    Record out;
    Status st = DecodeRecord(std::string_view(enc).substr(0, n), &out);
    EXPECT_EQ(st.code(), Code::kCorruption) << "prefix of " << n << " bytes";
  }
}

TEST(RecordEncoding, TrailingBytesAreRejected) {
  std::string enc;
  EncodeRecord(FullRecord(Op::kCreate), &enc);
  enc.push_back('\0');
  Record out;
  Status st = DecodeRecord(enc, &out);
  EXPECT_EQ(st.code(), Code::kCorruption);
  EXPECT_NE(st.message().find("trailing"), std::string::npos) << st.message();
}

TEST(RecordEncoding, UnknownOpOriginFlagsFieldsAndVersionAreRejected) {
  std::string good;
  EncodeRecord(FullRecord(Op::kMkdir), &good);
  struct Case {
    size_t offset;
    uint8_t value;
    const char* what;
  } cases[] = {
      {0, 0x44, "kind"},
      {1, kRecordVersion + 1, "version"},
      {18, 0, "op 0"},
      {18, 17, "op 17"},
      {19, 5, "origin"},
      {21, 0x80, "flag bits"},
      {25, 0x80, "field bits"},
  };
  for (const auto& c : cases) {
    std::string bad = good;
    bad[c.offset] = static_cast<char>(c.value);
    Record out;
    EXPECT_EQ(DecodeRecord(bad, &out).code(), Code::kCorruption) << c.what;
  }
}

TEST(RecordEncoding, StringLengthPastTheEndIsRejected) {
  Record in;
  in.seq = 1;
  in.op = Op::kUnlink;
  in.name = "abc";
  std::string enc;
  EncodeRecord(in, &enc);
  // The name's u32 length follows the fixed part directly.
  ASSERT_EQ(enc.size(), kRecordFixedSize + 4 + 3);
  enc[kRecordFixedSize] = 4;
  Record out;
  EXPECT_EQ(DecodeRecord(enc, &out).code(), Code::kCorruption);
  enc[kRecordFixedSize] = 3;
  enc[kRecordFixedSize + 3] = static_cast<char>(0x80);  // 2 GiB
  EXPECT_EQ(DecodeRecord(enc, &out).code(), Code::kCorruption);
}

TEST(RecordEncoding, SequenceZeroIsRejected) {
  Record in;
  in.op = Op::kWrite;
  std::string enc;
  EncodeRecord(in, &enc);
  Record out;
  EXPECT_EQ(DecodeRecord(enc, &out).code(), Code::kCorruption);
}

TEST(RecordEncoding, RandomBytesNeverCrashAndNeverHalfDecode) {
  std::mt19937_64 rng(12345);
  Record sentinel;
  sentinel.seq = 999;
  sentinel.name = "untouched";
  std::string good;
  EncodeRecord(FullRecord(Op::kSymlink), &good);
  for (int iter = 0; iter < 200000; iter++) {
    std::string buf;
    if (iter % 2 == 0) {
      // Pure noise, biased to start like a change record so decoding goes deep.
      size_t n = rng() % 200;
      for (size_t i = 0; i < n; i++) buf.push_back(static_cast<char>(rng()));
      if (n > 2) {
        buf[0] = static_cast<char>(RecordKind::kChange);
        buf[1] = static_cast<char>(kRecordVersion);
      }
    } else {
      // A valid record with a few bytes mutated, inserted or removed.
      buf = good;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !buf.empty(); e++) {
        size_t pos = rng() % buf.size();
        switch (rng() % 3) {
          case 0: buf[pos] = static_cast<char>(rng()); break;
          case 1: buf.insert(buf.begin() + static_cast<std::ptrdiff_t>(pos), static_cast<char>(rng())); break;
          case 2: buf.erase(pos, 1); break;
        }
      }
    }
    Record out = sentinel;
    Status st = DecodeRecord(buf, &out);
    if (!st.ok()) {
      EXPECT_EQ(st.code(), Code::kCorruption);
      EXPECT_EQ(out, sentinel) << "a failed decode must not modify the output";
    } else {
      // Whatever decodes must re-encode to the same bytes or fewer (zero
      // fields stored explicitly are dropped on re-encoding).
      std::string again;
      EncodeRecord(out, &again);
      EXPECT_LE(again.size(), buf.size());
    }
    SegmentHeader h;
    (void)DecodeSegmentHeader(buf, &h);
    (void)PeekKind(buf);
  }
}

TEST(SegmentHeaderEncoding, RoundTripsAndRejectsDamage) {
  SegmentHeader in{kFormatVersion, 123456789, 1732400000000000000ull, "host1:/bricks/b1"};
  std::string enc;
  EncodeSegmentHeader(in, &enc);
  SegmentHeader out;
  ASSERT_TRUE(DecodeSegmentHeader(enc, &out).ok());
  EXPECT_EQ(in, out);
  auto kind = PeekKind(enc);
  ASSERT_TRUE(kind.ok());
  EXPECT_EQ(*kind, RecordKind::kSegmentHeader);
  for (size_t n = 0; n < enc.size(); n++) {
    EXPECT_EQ(DecodeSegmentHeader(std::string_view(enc).substr(0, n), &out).code(), Code::kCorruption);
  }
  std::string bad_magic = enc;
  bad_magic[1] ^= 1;
  EXPECT_EQ(DecodeSegmentHeader(bad_magic, &out).code(), Code::kCorruption);
  EXPECT_EQ(DecodeSegmentHeader(enc + "x", &out).code(), Code::kCorruption);
}

TEST(RecordKinds, PeekRejectsEmptyAndUnknown) {
  EXPECT_EQ(PeekKind("").status().code(), Code::kCorruption);
  EXPECT_EQ(PeekKind("Z").status().code(), Code::kCorruption);
  ASSERT_TRUE(PeekKind("C").ok());
}

TEST(Gfids, FormatAndParseRoundTrip) {
  Gfid g = MakeGfid(0x1122334455667788ull);
  std::string s = GfidToString(g);
  EXPECT_EQ(s, "ab000000-0000-0000-1122-334455667788");
  Gfid back{};
  ASSERT_TRUE(ParseGfid(s, &back));
  EXPECT_EQ(g, back);
  ASSERT_TRUE(ParseGfid("AB000000-0000-0000-1122-334455667788", &back));
  EXPECT_EQ(g, back);
  EXPECT_FALSE(ParseGfid("ab000000-0000-0000-1122-33445566778", &back));
  EXPECT_FALSE(ParseGfid("ab000000+0000-0000-1122-334455667788", &back));
  EXPECT_FALSE(ParseGfid("zb000000-0000-0000-1122-334455667788", &back));
  EXPECT_TRUE(IsNullGfid(Gfid{}));
  EXPECT_FALSE(IsNullGfid(g));
}

TEST(FormatRecord, EscapesHostileNamesOntoOneLine) {
  Record r = FullRecord(Op::kCreate);
  r.name = "evil\nseq=1 op=UNLINK\x1b[2J\"";
  std::string line = FormatRecord(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_NE(line.find("evil\\x0aseq=1"), std::string::npos) << line;
  EXPECT_NE(line.find("op=CREATE"), std::string::npos);
  EXPECT_NE(line.find("seq=42 "), std::string::npos);
  EXPECT_NE(line.find("xattrs=\"user.a\",\"user.b\""), std::string::npos) << line;
}

TEST(OpClasses, EntryAndDataOpsArePartitioned) {
  int entry = 0, data = 0;
  for (int op = 1; op <= 16; op++) {
    Op o = static_cast<Op>(op);
    EXPECT_FALSE(IsEntryOp(o) && IsDataOp(o)) << OpName(o);
    entry += IsEntryOp(o);
    data += IsDataOp(o);
    EXPECT_STRNE(OpName(o), "UNKNOWN");
  }
  EXPECT_EQ(entry, 8);
  EXPECT_EQ(data, 5);
}

}  // namespace
}  // namespace georep::journal

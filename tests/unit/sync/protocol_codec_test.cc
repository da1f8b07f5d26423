// The wire codec: every message survives a round trip, and every kind of bad
// input is reported as the protocol error PROTOCOL.md names, never a crash
// and never a partially decoded message.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "sync/protocol/codec.h"

namespace georep::protocol {
namespace {

Gfid G(uint8_t n) {
  Gfid g{};
  for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<uint8_t>(n * 16 + i);
  return g;
}

std::vector<Op> AllOps() {
  std::vector<Op> ops;
  ops.push_back(EntryCreateOp{G(1), "file", G(2), 0100644, 1000, 1001, 0, ""});
  ops.push_back(EntryCreateOp{G(1), "link", G(3), 0120777, 0, 0, 0, "../target"});
  ops.push_back(EntryCreateOp{G(1), "dev", G(4), 020600, 0, 6, (8u << 8) | 1, ""});
  ops.push_back(LinkOp{G(2), G(1), "hard"});
  ops.push_back(RenameOp{G(2), G(1), "file", G(5), "moved", G(6)});
  ops.push_back(UnlinkOp{G(1), "hard", G(2)});
  ops.push_back(RmdirOp{G(1), "dir", G(7)});
  ops.push_back(DataOp{G(2), 4096, std::string("hello\0world", 11)});
  ops.push_back(TruncateOp{G(2), 1 << 20});
  ops.push_back(PunchHoleOp{G(2), 8192, 4096});
  ops.push_back(ZerofillOp{G(2), 0, 512});
  ops.push_back(AllocateOp{G(2), true, 0, 1 << 16});
  ops.push_back(SetattrOp{G(2), kSetMode | kSetUid | kSetAtime | kSetMtime, 04755, 7, 8,
                          -1234567890123, 1700000000123456789});
  ops.push_back(SetxattrOp{G(2), "user.k", std::string("\x00\x01\xff", 3)});
  ops.push_back(RemovexattrOp{G(2), "system.posix_acl_default"});
  return ops;
}

std::vector<Message> AllMessages() {
  std::vector<Message> all;
  all.push_back(Hello{kProtocolVersion, "pv__host__sv", "pv", "brick-1", "sv"});
  HelloOk ok;
  ok.secondary_volume_id = G(9);
  ok.receiver_version = "georep-receiver test";
  all.push_back(ok);
  all.push_back(Error{ErrorCode::kBadChecksum, "bad"});
  all.push_back(Batch{42, kBatchFsync, AllOps()});
  all.push_back(Batch{43, 0, {}});
  all.push_back(Ack{42, 15, {OpFailure{3, ENOENT, "missing"}, OpFailure{14, EPERM, ""}}});
  all.push_back(StatRequest{7, G(2)});
  all.push_back(StatReply{7, G(2), 0, 0100644, 1, 2, 3, 4096, 8, 11, -22});
  all.push_back(ChecksumRequest{8, G(2), 0, 1 << 20});
  all.push_back(ChecksumReply{8, G(2), ENOENT, 0, 0});
  all.push_back(Ping{99});
  all.push_back(Pong{99});
  all.push_back(Bye{});
  all.push_back(ListRequest{9, G(3), 12345});
  all.push_back(ListReply{9, G(3), 0, 777, false, {{"a", G(4), 0100644, 5000, 1700000000123456789}, {"dir", G(5), 040755, 4096, -1}}});
  all.push_back(ListReply{10, G(3), ENOENT, 0, true, {}});
  return all;
}

std::string Frame(const Message& m) {
  std::string out;
  EXPECT_TRUE(EncodeFrame(m, &out).ok());
  return out;
}

// A frame around an arbitrary body with a correct crc, for bodies the encoder
// would never produce.
std::string RawFrame(const std::string& body) {
  std::string out(8, '\0');
  const uint32_t len = static_cast<uint32_t>(body.size());
  const uint32_t crc = crc32c::Mask(crc32c::Value(body.data(), body.size()));
  std::memcpy(&out[0], &len, 4);  // the test host is little-endian like the wire
  std::memcpy(&out[4], &crc, 4);
  return out + body;
}

Result<std::optional<Message>> DecodeAll(const std::string& bytes, FrameDecoder* d) {
  d->Append(bytes);
  return d->Next();
}

TEST(ProtocolCodec, EveryMessageRoundTrips) {
  for (const Message& m : AllMessages()) {
    FrameDecoder d;
    auto r = DecodeAll(Frame(m), &d);
    ASSERT_TRUE(r.ok()) << MessageTypeName(TypeOf(m)) << ": " << r.status().ToString();
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(**r, m) << MessageTypeName(TypeOf(m));
    EXPECT_EQ(d.buffered(), 0u);
  }
}

// A LIST_REPLY body with one entry named `name` (and `eof`, `count` as given).
std::string ListReplyBody(const std::string& name, uint8_t eof = 1, uint32_t count = 1) {
  std::string body(1, static_cast<char>(MessageType::kListReply));
  auto u32 = [&body](uint32_t v) { body.append(reinterpret_cast<const char*>(&v), 4); };
  auto u64 = [&body](uint64_t v) { body.append(reinterpret_cast<const char*>(&v), 8); };
  u64(1);                    // request id
  body.append(16, '\x01');   // gfid
  u32(0);                    // errno
  u64(0);                    // next cookie
  body.push_back(static_cast<char>(eof));
  u32(count);
  u32(static_cast<uint32_t>(name.size()));
  body += name;
  body.append(16, '\x02');   // entry gfid
  u32(0100644);
  u64(4096);                 // size
  u64(1700000000000000000);  // mtime_ns
  return body;
}

TEST(ProtocolCodec, ListReplyWithAPlainNameDecodes) {
  FrameDecoder d;
  auto r = DecodeAll(RawFrame(ListReplyBody("file")), &d);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value());
  const auto& reply = std::get<ListReply>(**r);
  ASSERT_EQ(reply.entries.size(), 1u);
  EXPECT_EQ(reply.entries[0].name, "file");
  EXPECT_EQ(reply.entries[0].size, 4096u);
  EXPECT_EQ(reply.entries[0].mtime_ns, 1700000000000000000);
  EXPECT_TRUE(reply.eof);
}

// The sender turns listed names into UNLINK/RMDIR ops: a name that is not
// one plain component must never get that far.
TEST(ProtocolCodec, ListReplyWithAHostileNameIsMalformed) {
  for (const std::string& name : {std::string(""), std::string("."), std::string(".."),
                                  std::string("a/b"), std::string("../x"), std::string("a\0b", 3),
                                  std::string(256, 'n')}) {
    FrameDecoder d;
    auto r = DecodeAll(RawFrame(ListReplyBody(name)), &d);
    ASSERT_FALSE(r.ok()) << "accepted \"" << PrintableName(name) << "\"";
    EXPECT_EQ(d.error_code(), ErrorCode::kMalformed) << PrintableName(name);
  }
}

TEST(ProtocolCodec, ListReplyEofMustBeZeroOrOne) {
  FrameDecoder d;
  auto r = DecodeAll(RawFrame(ListReplyBody("file", 2)), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kMalformed);
}

TEST(ProtocolCodec, ListReplyClaimingMoreEntriesThanAllowedIsRejectedBeforeAllocating) {
  for (uint32_t count : {kMaxListEntries + 1, 2u}) {
    FrameDecoder d;
    auto r = DecodeAll(RawFrame(ListReplyBody("file", 1, count)), &d);
    ASSERT_FALSE(r.ok()) << count;
    EXPECT_EQ(d.error_code(), ErrorCode::kMalformed) << count;
  }
}

TEST(ProtocolCodec, EveryOpTypeIsCoveredByTheRoundTrip) {
  std::set<OpType> seen;
  for (const Op& op : AllOps()) seen.insert(TypeOf(op));
  EXPECT_EQ(seen.size(), kMaxOpType);
}

TEST(ProtocolCodec, FramePartsConcatenateToTheEncodedFrame) {
  std::vector<Message> all = AllMessages();
  // Payloads first, last, back to back, empty and of the largest size.
  all.push_back(Batch{44, 0, {DataOp{G(2), 0, std::string(kMaxDataChunk, 'a')},
                              DataOp{G(2), kMaxDataChunk, std::string(3, 'b')},
                              DataOp{G(3), 0, std::string()},
                              TruncateOp{G(3), 9},
                              DataOp{G(4), 7, std::string(7000, 'c')}}});
  for (const Message& m : all) {
    std::string frame;
    std::vector<std::string_view> parts;
    ASSERT_TRUE(EncodeFrameParts(m, &frame, &parts).ok()) << MessageTypeName(TypeOf(m));
    std::string joined;
    for (std::string_view p : parts) joined.append(p);
    EXPECT_EQ(joined, Frame(m)) << MessageTypeName(TypeOf(m));
  }
  std::string frame;
  std::vector<std::string_view> parts;
  std::vector<Op> over;
  for (int i = 0; i < 5; ++i) over.push_back(DataOp{G(1), 0, std::string(kMaxDataChunk, 'x')});
  EXPECT_EQ(EncodeFrameParts(Batch{1, 0, over}, &frame, &parts).code(), Code::kInvalidArgument);
}

TEST(ProtocolCodec, StreamFedOneByteAtATimeYieldsTheSameMessages) {
  std::string stream;
  for (const Message& m : AllMessages()) stream += Frame(m);
  FrameDecoder d;
  std::vector<Message> got;
  for (char c : stream) {
    d.Append(std::string_view(&c, 1));
    for (;;) {
      auto r = d.Next();
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (!r->has_value()) break;
      got.push_back(std::move(**r));
    }
  }
  EXPECT_EQ(got, AllMessages());
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(ProtocolCodec, EncodedOpSizeMatchesTheEncoding) {
  for (const Op& op : AllOps()) {
    std::string empty, one;
    ASSERT_TRUE(EncodeFrame(Batch{1, 0, {}}, &empty).ok());
    ASSERT_TRUE(EncodeFrame(Batch{1, 0, {op}}, &one).ok());
    EXPECT_EQ(one.size() - empty.size(), EncodedOpSize(op)) << DescribeOp(op);
  }
  std::string empty;
  ASSERT_TRUE(EncodeFrame(Batch{1, 0, {}}, &empty).ok());
  EXPECT_EQ(empty.size(), kFrameHeaderSize + kBatchBodyOverhead);
}

TEST(ProtocolCodec, TruncatedFrameWaitsForMoreBytes) {
  const std::string f = Frame(Batch{1, 0, AllOps()});
  for (size_t cut : {size_t{0}, size_t{3}, size_t{8}, f.size() - 1}) {
    FrameDecoder d;
    auto r = DecodeAll(f.substr(0, cut), &d);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->has_value()) << cut;
    EXPECT_EQ(d.buffered(), cut);
  }
}

TEST(ProtocolCodec, BadChecksumIsReportedAsBadChecksum) {
  std::string f = Frame(Hello{1, "s", "p", "b", "v"});
  f[f.size() - 1] ^= 0x40;
  FrameDecoder d;
  auto r = DecodeAll(f, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_EQ(d.error_code(), ErrorCode::kBadChecksum);
  EXPECT_TRUE(d.failed());
}

TEST(ProtocolCodec, ErrorIsStickyForTheRestOfTheStream) {
  std::string f = Frame(Ping{1});
  f[8 + 1] ^= 1;
  FrameDecoder d;
  d.Append(f + Frame(Ping{2}));
  EXPECT_FALSE(d.Next().ok());
  EXPECT_FALSE(d.Next().ok());
}

TEST(ProtocolCodec, OversizedFrameIsRejectedFromTheHeaderAlone) {
  std::string header(8, '\0');
  const uint32_t len = kMaxBodySize + 1;
  std::memcpy(&header[0], &len, 4);
  FrameDecoder d;
  auto r = DecodeAll(header, &d);  // no body bytes at all
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kFrameTooLarge);
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
}

TEST(ProtocolCodec, DecoderHonoursASmallerLimit) {
  FrameDecoder d(64);
  auto r = DecodeAll(Frame(Batch{1, 0, AllOps()}), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kFrameTooLarge);
}

TEST(ProtocolCodec, EmptyBodyIsMalformed) {
  FrameDecoder d;
  auto r = DecodeAll(std::string(8, '\0'), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kMalformed);
}

TEST(ProtocolCodec, UnknownMessageTypeIsReported) {
  for (uint8_t t : {uint8_t{0}, uint8_t{kMaxMessageType + 1}, uint8_t{255}}) {
    FrameDecoder d;
    auto r = DecodeAll(RawFrame(std::string(1, static_cast<char>(t)) + "xyz"), &d);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(d.error_code(), ErrorCode::kUnknownMessageType) << int(t);
  }
}

TEST(ProtocolCodec, UnknownOpTypeRejectsTheWholeBatch) {
  std::string body = Frame(Batch{5, 0, {TruncateOp{G(1), 3}}}).substr(8);
  // type | id(8) | flags(4) | count(4) | op type
  body[1 + 8 + 4 + 4] = static_cast<char>(kMaxOpType + 1);
  FrameDecoder d;
  auto r = DecodeAll(RawFrame(body), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kUnknownOpType);
}

TEST(ProtocolCodec, ShortFieldIsMalformed) {
  const std::string body = Frame(Batch{1, 0, AllOps()}).substr(8);
  // Every strict prefix of a valid body, framed with a good crc, must fail
  // cleanly (and not read past the end).
  for (size_t n = 1; n < body.size(); n += 7) {
    FrameDecoder d;
    auto r = DecodeAll(RawFrame(body.substr(0, n)), &d);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(d.error_code(), ErrorCode::kMalformed) << n;
  }
}

TEST(ProtocolCodec, TrailingBytesAreMalformed) {
  const std::string body = Frame(Ping{3}).substr(8) + "!";
  FrameDecoder d;
  auto r = DecodeAll(RawFrame(body), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kMalformed);
  EXPECT_NE(r.status().message().find("trailing"), std::string::npos);
}

TEST(ProtocolCodec, StringLongerThanTheBodyIsMalformed) {
  std::string body = Frame(Hello{1, "s", "p", "b", "v"}).substr(8);
  const uint32_t huge = 0xfffffff0u;
  std::memcpy(&body[1 + 4], &huge, 4);  // session id length
  FrameDecoder d;
  auto r = DecodeAll(RawFrame(body), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kMalformed);
}

TEST(ProtocolCodec, ImpossibleOpCountIsRejectedBeforeAllocating) {
  std::string body = Frame(Batch{1, 0, {}}).substr(8);
  const uint32_t count = 0xffffffffu;
  std::memcpy(&body[1 + 8 + 4], &count, 4);
  FrameDecoder d;
  auto r = DecodeAll(RawFrame(body), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kMalformed);
}

TEST(ProtocolCodec, UnknownBatchFlagsAreMalformed) {
  std::string body = Frame(Batch{1, 0, {}}).substr(8);
  body[1 + 8] = static_cast<char>(0x80);
  FrameDecoder d;
  auto r = DecodeAll(RawFrame(body), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kMalformed);
}

TEST(ProtocolCodec, UnknownSetattrBitsAreMalformed) {
  std::string body = Frame(Batch{1, 0, {SetattrOp{G(1), kSetMode, 0644, 0, 0, 0, 0}}}).substr(8);
  body[1 + 8 + 4 + 4 + 1 + 16] = 0x08;  // GF_SET_ATTR_SIZE: size travels as TRUNCATE
  FrameDecoder d;
  auto r = DecodeAll(RawFrame(body), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kMalformed);
}

TEST(ProtocolCodec, AckFailureIndexBeyondOpCountIsMalformed) {
  std::string body = Frame(Ack{1, 2, {OpFailure{1, EIO, ""}}}).substr(8);
  body[1 + 8 + 4 + 4] = 2;  // index 2 of 2 ops
  FrameDecoder d;
  auto r = DecodeAll(RawFrame(body), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kMalformed);
}

TEST(ProtocolCodec, OversizedDataChunkIsRefusedBothWays) {
  DataOp big{G(1), 0, std::string(kMaxDataChunk + 1, 'x')};
  std::string out = "keep";
  Status st = EncodeFrame(Batch{1, 0, {big}}, &out);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(out, "keep");  // nothing appended

  // Hand-made: a valid header with a 1 MiB + 1 chunk inside the body limit.
  std::string body = Frame(Batch{1, 0, {DataOp{G(1), 0, std::string(kMaxDataChunk, 'x')}}}).substr(8);
  body += "y";
  const uint32_t n = kMaxDataChunk + 1;
  std::memcpy(&body[1 + 8 + 4 + 4 + 1 + 16 + 8], &n, 4);
  FrameDecoder d;
  auto r = DecodeAll(RawFrame(body), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kMalformed);
}

TEST(ProtocolCodec, BatchOverTheBodyLimitIsRefusedByTheEncoder) {
  std::vector<Op> ops;
  for (int i = 0; i < 5; ++i) ops.push_back(DataOp{G(1), 0, std::string(kMaxDataChunk, 'x')});
  std::string out;
  EXPECT_EQ(EncodeFrame(Batch{1, 0, ops}, &out).code(), Code::kInvalidArgument);
  EXPECT_TRUE(out.empty());
}

TEST(ProtocolCodec, AllocateKeepSizeMustBeZeroOrOne) {
  std::string body = Frame(Batch{1, 0, {AllocateOp{G(1), true, 0, 1}}}).substr(8);
  body[1 + 8 + 4 + 4 + 1 + 16] = 2;
  FrameDecoder d;
  auto r = DecodeAll(RawFrame(body), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.error_code(), ErrorCode::kMalformed);
}

// Bounded fuzz: random mutations of valid frames (with the crc fixed up, so
// the field decoders are exercised) and pure random bytes. The decoder must
// return a message or an error every time; the sanitizers and the absence of
// a crash are the assertion.
TEST(ProtocolCodec, RandomMutationsNeverCrashTheDecoder) {
  std::mt19937 rng(12345);
  std::vector<std::string> bodies;
  for (const Message& m : AllMessages()) bodies.push_back(Frame(m).substr(8));
  int decoded = 0, rejected = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string body = bodies[rng() % bodies.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 3) {
        case 0: body[rng() % body.size()] = static_cast<char>(rng()); break;
        case 1: body.resize(1 + rng() % body.size()); break;
        default: body.insert(rng() % body.size(), 1, static_cast<char>(rng())); break;
      }
    }
    FrameDecoder d;
    auto r = DecodeAll(RawFrame(body), &d);
    if (r.ok()) {
      ASSERT_TRUE(r->has_value());
      ++decoded;
    } else {
      ++rejected;
    }
  }
  for (int iter = 0; iter < 2000; ++iter) {
    std::string junk(1 + rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    FrameDecoder d(1024);
    d.Append(junk);
    // At most one frame can fit in 64 bytes of junk plus the error.
    for (int k = 0; k < 8; ++k) {
      auto r = d.Next();
      if (!r.ok() || !r->has_value()) break;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(decoded, 0);
}

TEST(ProtocolCodec, GfidStringsRoundTrip) {
  Gfid g = G(3);
  Gfid back{};
  ASSERT_TRUE(ParseGfid(GfidToString(g), &back));
  EXPECT_EQ(back, g);
  EXPECT_EQ(GfidToString(RootGfid()), "00000000-0000-0000-0000-000000000001");
  EXPECT_FALSE(ParseGfid("00000000-0000-0000-0000-00000000000", &back));
  EXPECT_FALSE(ParseGfid("00000000x0000-0000-0000-000000000001", &back));
  EXPECT_FALSE(ParseGfid("0000000g-0000-0000-0000-000000000001", &back));
}

TEST(ProtocolCodec, DescribeOpEscapesHostileNames) {
  const std::string line = DescribeOp(UnlinkOp{G(1), "a\nFAKE LOG LINE", G(2)});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("\\x0a"), std::string::npos);
}

// ---- file-descriptor helpers ----

TEST(ProtocolStream, ReadFrameReturnsFramesThenEndOfStream) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_TRUE(WriteFrame(sv[0], Ping{1}).ok());
  ASSERT_TRUE(WriteFrame(sv[0], Bye{}).ok());
  close(sv[0]);
  FrameDecoder d;
  auto a = ReadFrame(sv[1], &d, 1000);
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ(**a, Message(Ping{1}));
  auto b = ReadFrame(sv[1], &d, 1000);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ(**b, Message(Bye{}));
  auto c = ReadFrame(sv[1], &d, 1000);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_value());
  close(sv[1]);
}

TEST(ProtocolStream, LargeFramesSplitAcrossManyReadsDecodeIntact) {
  // Frames bigger than one read (256 KiB), back to back, so the decoder
  // reads into its buffer, compacts it and grows it between frames.
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::mt19937 rng(5);
  std::vector<Message> sent;
  for (int i = 0; i < 3; ++i) {
    Batch b;
    b.batch_id = static_cast<uint64_t>(i + 1);
    std::string data(1000000 + static_cast<size_t>(i) * 4097, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    b.ops.push_back(DataOp{G(2), static_cast<uint64_t>(i) << 20, std::move(data)});
    sent.push_back(std::move(b));
  }
  std::thread writer([&] {
    for (const Message& m : sent) EXPECT_TRUE(WriteFrame(sv[0], m).ok());
    close(sv[0]);
  });
  FrameDecoder d;
  for (const Message& want : sent) {
    auto got = ReadFrame(sv[1], &d, 5000);
    ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
    EXPECT_EQ(**got, want);
  }
  writer.join();
  close(sv[1]);
}

TEST(ProtocolCodec, DataIsDecodedIntoAPooledBuffer) {
  BufferPool pool(1);
  std::string kept(2 * BufferPool::kMinKeptBytes, 'x');  // room for the payload
  const char* storage = kept.data();
  pool.Give(std::move(kept));
  const std::string payload(BufferPool::kMinKeptBytes + 5, 'p');
  Batch b;
  b.batch_id = 9;
  b.ops.push_back(DataOp{G(2), 0, std::string("small")});  // not worth a pooled buffer
  b.ops.push_back(DataOp{G(2), 4096, payload});
  FrameDecoder d;
  d.set_buffers(&pool);
  auto got = DecodeAll(Frame(b), &d);
  ASSERT_TRUE(got.ok() && got->has_value());
  const auto& ops = std::get<Batch>(**got).ops;
  EXPECT_EQ(std::get<DataOp>(ops[0]).data, "small");
  EXPECT_NE(std::get<DataOp>(ops[0]).data.data(), storage);
  EXPECT_EQ(std::get<DataOp>(ops[1]).data, payload);
  EXPECT_EQ(std::get<DataOp>(ops[1]).data.data(), storage);  // the pooled allocation
  EXPECT_EQ(pool.kept(), 0u);
}

TEST(ProtocolStream, EndOfStreamInsideAFrameIsAborted) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  const std::string f = Frame(Ping{1});
  ASSERT_TRUE(WriteAll(sv[0], f.substr(0, f.size() - 2)).ok());
  close(sv[0]);
  FrameDecoder d;
  auto r = ReadFrame(sv[1], &d, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kAborted);
  EXPECT_FALSE(d.failed());
  close(sv[1]);
}

TEST(ProtocolStream, SilentPeerTimesOut) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  FrameDecoder d;
  auto r = ReadFrame(sv[1], &d, 50);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), ETIMEDOUT);
  close(sv[0]);
  close(sv[1]);
}

}  // namespace
}  // namespace georep::protocol

// The receiver's conversation over a socketpair, with an in-memory volume:
// handshake, in-order acks for pipelined batches, and a clear ERROR plus the
// documented exit status for every kind of hostile or broken input.
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "sync/protocol/codec.h"
#include "sync/receiver/session.h"
#include "tests/unit/sync/receiver_fake_volume.h"

namespace georep::receiver {
namespace {

using namespace protocol;
using testing::FakeVolume;

Gfid G(uint8_t n) { return testing::MakeGfid(0xbb, n); }

// Runs a session on one end of a socketpair in a thread; the test is the
// sender on the other end.
class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv_), 0); }
  void TearDown() override {
    if (sv_[0] >= 0) close(sv_[0]);
    if (result_.valid()) result_.wait();
    close(sv_[1]);
  }

  void Start(int idle_timeout_s = 5) {
    options_.volume = "sv";
    options_.idle_timeout_s = idle_timeout_s;
    options_.receiver_version = "test";
    opener_ = [this](const std::string&) -> Result<MountedVolume> {
      if (open_error_.has_value()) return *open_error_;
      MountedVolume m;
      m.volume = std::move(volume_);
      m.volume_id = G(42);
      return m;
    };
    result_ = std::async(std::launch::async,
                         [this] { return RunSession(sv_[1], sv_[1], options_, opener_); });
  }
  void Send(const Message& m) { ASSERT_TRUE(WriteFrame(sv_[0], m).ok()); }
  void SendRaw(const std::string& bytes) { ASSERT_TRUE(WriteAll(sv_[0], bytes).ok()); }
  Message Receive() {
    auto r = ReadFrame(sv_[0], &decoder_, 5000);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || !r->has_value()) return Bye{};
    return std::move(**r);
  }
  int ExitStatus() {
    EXPECT_EQ(result_.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return result_.get();
  }
  Error ExpectError(ErrorCode code) {
    Message m = Receive();
    EXPECT_EQ(TypeOf(m), MessageType::kError);
    if (TypeOf(m) != MessageType::kError) return {};
    Error e = std::get<Error>(m);
    EXPECT_EQ(e.code, code) << e.message;
    return e;
  }
  void Handshake() {
    Send(Hello{kProtocolVersion, "sess", "pv", "brick-1", "sv"});
    Message m = Receive();
    ASSERT_EQ(TypeOf(m), MessageType::kHelloOk);
    EXPECT_EQ(std::get<HelloOk>(m).secondary_volume_id, G(42));
    EXPECT_EQ(std::get<HelloOk>(m).max_body_size, kMaxBodySize);
  }

  int sv_[2] = {-1, -1};
  std::unique_ptr<FakeVolume> volume_ = std::make_unique<FakeVolume>();  // moved into the session
  std::optional<Status> open_error_;
  SessionOptions options_;
  VolumeOpener opener_;
  FrameDecoder decoder_;
  std::future<int> result_;
};

TEST_F(SessionTest, HandshakeBatchesAndByeEndCleanly) {
  Start();
  Handshake();
  // Two batches in flight before reading any ack: acked in order.
  Send(Batch{10, 0, {EntryCreateOp{RootGfid(), "f", G(1), S_IFREG | 0644, 0, 0, 0, ""}}});
  Send(Batch{11, 0, {DataOp{G(1), 0, "data"}, DataOp{G(9), 0, "x"}}});
  Send(Ping{5});
  Send(StatRequest{6, G(1)});
  Message a = Receive();
  ASSERT_EQ(TypeOf(a), MessageType::kAck);
  EXPECT_EQ(std::get<Ack>(a).batch_id, 10u);
  EXPECT_TRUE(std::get<Ack>(a).failures.empty());
  Message b = Receive();
  ASSERT_EQ(TypeOf(b), MessageType::kAck);
  EXPECT_EQ(std::get<Ack>(b).batch_id, 11u);
  ASSERT_EQ(std::get<Ack>(b).failures.size(), 1u);
  EXPECT_EQ(std::get<Ack>(b).failures[0].index, 1u);
  EXPECT_EQ(std::get<Ack>(b).failures[0].err, ENOENT);
  EXPECT_EQ(Receive(), Message(Pong{5}));
  Message s = Receive();
  ASSERT_EQ(TypeOf(s), MessageType::kStatReply);
  EXPECT_EQ(std::get<StatReply>(s).size, 4u);
  Send(Bye{});
  EXPECT_EQ(Receive(), Message(Bye{}));
  EXPECT_EQ(ExitStatus(), kExitOk);
}

TEST_F(SessionTest, EndOfInputAtAFrameBoundaryIsACleanEnd) {
  Start();
  Handshake();
  close(sv_[0]);
  sv_[0] = -1;
  EXPECT_EQ(ExitStatus(), kExitOk);
}

TEST_F(SessionTest, BatchBeforeHelloIsAnUnexpectedMessage) {
  Start();
  Send(Batch{1, 0, {}});
  ExpectError(ErrorCode::kUnexpectedMessage);
  EXPECT_EQ(ExitStatus(), kExitProtocolError);
}

TEST_F(SessionTest, SecondHelloIsAnUnexpectedMessage) {
  Start();
  Handshake();
  Send(Hello{kProtocolVersion, "sess", "pv", "brick-1", "sv"});
  ExpectError(ErrorCode::kUnexpectedMessage);
  EXPECT_EQ(ExitStatus(), kExitProtocolError);
}

TEST_F(SessionTest, ReplyTypesFromTheSenderAreUnexpected) {
  Start();
  Handshake();
  Send(Ack{1, 0, {}});
  ExpectError(ErrorCode::kUnexpectedMessage);
  EXPECT_EQ(ExitStatus(), kExitProtocolError);
}

TEST_F(SessionTest, WrongVersionIsRefusedWithTheFix) {
  Start();
  Send(Hello{kProtocolVersion + 1, "sess", "pv", "b", "sv"});
  Error e = ExpectError(ErrorCode::kVersionMismatch);
  EXPECT_NE(e.message.find("same georep version"), std::string::npos);
  EXPECT_EQ(ExitStatus(), kExitProtocolError);
}

TEST_F(SessionTest, WrongSecondaryVolumeIsRefused) {
  Start();
  Send(Hello{kProtocolVersion, "sess", "pv", "b", "other"});
  Error e = ExpectError(ErrorCode::kVolumeMismatch);
  EXPECT_NE(e.message.find("\"other\""), std::string::npos);
  EXPECT_EQ(ExitStatus(), kExitProtocolError);
}

TEST_F(SessionTest, UnmountableVolumeIsReportedAsUnavailable) {
  open_error_ = Status(Code::kUnavailable, "glusterd is down");
  Start();
  Send(Hello{kProtocolVersion, "sess", "pv", "b", "sv"});
  Error e = ExpectError(ErrorCode::kVolumeUnavailable);
  EXPECT_NE(e.message.find("glusterd is down"), std::string::npos);
  EXPECT_EQ(ExitStatus(), kExitVolumeError);
}

TEST_F(SessionTest, BadChecksumEndsTheSessionAndAppliesNothing) {
  Start();
  Handshake();
  std::string f;
  ASSERT_TRUE(EncodeFrame(Batch{1, 0, {EntryCreateOp{RootGfid(), "f", G(1), S_IFREG | 0644,
                                                      0, 0, 0, ""}}},
                          &f)
                  .ok());
  f[f.size() - 3] ^= 0x10;
  SendRaw(f);
  ExpectError(ErrorCode::kBadChecksum);
  EXPECT_EQ(ExitStatus(), kExitProtocolError);
}

TEST_F(SessionTest, OversizedFrameIsRefusedFromItsHeader) {
  Start();
  Handshake();
  std::string header(8, '\0');
  const uint32_t len = 0x7fffffff;
  std::memcpy(&header[0], &len, 4);
  SendRaw(header);
  ExpectError(ErrorCode::kFrameTooLarge);
  EXPECT_EQ(ExitStatus(), kExitProtocolError);
}

TEST_F(SessionTest, UnknownMessageTypeIsNamed) {
  Start();
  const std::string body = "\x63zz";
  std::string frame(8, '\0');
  const uint32_t len = static_cast<uint32_t>(body.size());
  const uint32_t crc = crc32c::Mask(crc32c::Value(body.data(), body.size()));
  std::memcpy(&frame[0], &len, 4);
  std::memcpy(&frame[4], &crc, 4);
  SendRaw(frame + body);
  Error e = ExpectError(ErrorCode::kUnknownMessageType);
  EXPECT_NE(e.message.find("99"), std::string::npos) << e.message;
  EXPECT_EQ(ExitStatus(), kExitProtocolError);
}

TEST_F(SessionTest, InputEndingMidFrameIsAConnectionLoss) {
  Start();
  Handshake();
  std::string f;
  ASSERT_TRUE(EncodeFrame(Ping{1}, &f).ok());
  SendRaw(f.substr(0, 5));
  shutdown(sv_[0], SHUT_WR);
  EXPECT_EQ(ExitStatus(), kExitConnectionLost);
}

TEST_F(SessionTest, SilentSenderHitsTheIdleTimeout) {
  Start(/*idle_timeout_s=*/1);
  Handshake();
  ExpectError(ErrorCode::kIdleTimeout);
  EXPECT_EQ(ExitStatus(), kExitIdleTimeout);
}

TEST_F(SessionTest, SenderErrorEndsTheSession) {
  Start();
  Handshake();
  Send(Error{ErrorCode::kInternal, "sender shutting down"});
  EXPECT_EQ(ExitStatus(), kExitConnectionLost);
}

// Bounded fuzz over the whole session: random bytes after a good handshake
// never crash the receiver; it ends with a documented status.
TEST(SessionFuzz, RandomBytesEndWithADocumentedStatus) {
  std::mt19937 rng(777);
  for (int iter = 0; iter < 40; ++iter) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    SessionOptions options;
    options.volume = "sv";
    options.idle_timeout_s = 5;
    VolumeOpener opener = [](const std::string&) -> Result<MountedVolume> {
      MountedVolume m;
      m.volume = std::make_unique<FakeVolume>();
      return m;
    };
    auto result = std::async(std::launch::async,
                             [&] { return RunSession(sv[1], sv[1], options, opener); });
    ASSERT_TRUE(WriteFrame(sv[0], Hello{kProtocolVersion, "s", "p", "b", "sv"}).ok());
    std::string junk(1 + rng() % 512, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    (void)WriteAll(sv[0], junk);
    shutdown(sv[0], SHUT_WR);
    ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    const int status = result.get();
    EXPECT_TRUE(status == kExitProtocolError || status == kExitConnectionLost ||
                status == kExitOk)
        << status;
    close(sv[0]);
    close(sv[1]);
  }
}

}  // namespace
}  // namespace georep::receiver

// One applying receiver per brick (sync/receiver/brick_lock.h): the lock, the
// takeover of an older receiver by SIGTERM, and a session that stops applying
// on SIGTERM or once its sender is gone.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "sync/protocol/codec.h"
#include "sync/receiver/applier.h"
#include "sync/receiver/brick_lock.h"
#include "sync/receiver/session.h"
#include "tests/unit/sync/receiver_fake_volume.h"

namespace georep::receiver {
namespace {

using namespace protocol;
using testing::FakeVolume;

Gfid G(uint8_t n) { return testing::MakeGfid(0xcc, n); }

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/receiver_lock_test.XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Forks a child that takes the lock, reports through a pipe, and then waits
// (at most 30 s) to be signalled. `ignore_term`: a holder that never stops.
pid_t ForkHolder(const std::string& dir, const std::string& file, bool ignore_term) {
  int ready[2];
  if (pipe(ready) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    if (ignore_term) signal(SIGTERM, SIG_IGN);
    Result<BrickLock> lock = BrickLock::Acquire(dir, file, "child", {});
    const char ok = lock.ok() ? 1 : 0;
    (void)!write(ready[1], &ok, 1);
    for (int i = 0; i < 300; ++i) usleep(100 * 1000);
    _exit(0);
  }
  close(ready[1]);
  char ok = 0;
  if (read(ready[0], &ok, 1) != 1 || ok != 1) {
    if (pid > 0) kill(pid, SIGKILL);
    pid = -1;
  }
  close(ready[0]);
  return pid;
}

TEST(BrickLock, NewReceiverStopsTheOldOneWithSigtermAndTakesOver) {
  TempDir dir;
  const std::string file = BrickLockFileName("sv", "s", "b1");
  pid_t old = ForkHolder(dir.path(), file, /*ignore_term=*/false);
  ASSERT_GT(old, 0);
  Result<BrickLock> lock = BrickLock::Acquire(dir.path(), file, "brick b1 of session s", {});
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  int status = 0;
  ASSERT_EQ(waitpid(old, &status, 0), old);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  EXPECT_EQ(FlockHolder(open(lock->path().c_str(), O_RDONLY | O_CLOEXEC)), getpid());
}

TEST(BrickLock, OldReceiverThatDoesNotExitMakesTheNewOneRefuseNamingItsPid) {
  TempDir dir;
  const std::string file = BrickLockFileName("sv", "s", "b1");
  pid_t old = ForkHolder(dir.path(), file, /*ignore_term=*/true);
  ASSERT_GT(old, 0);
  BrickLockOptions o;
  o.wait_ms = 300;
  const auto start = std::chrono::steady_clock::now();
  Result<BrickLock> lock = BrickLock::Acquire(dir.path(), file, "brick b1 of session s", o);
  const auto waited = std::chrono::steady_clock::now() - start;
  kill(old, SIGKILL);
  waitpid(old, nullptr, 0);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().code(), Code::kUnavailable);
  EXPECT_NE(lock.status().message().find("pid " + std::to_string(old)), std::string::npos)
      << lock.status().message();
  EXPECT_NE(lock.status().message().find("brick b1 of session s; it did not exit within 0.3 s"),
            std::string::npos)
      << lock.status().message();
  EXPECT_LT(waited, std::chrono::seconds(5));
}

// A receiver that gives up waiting (georepd stopped waiting for its HELLO,
// or the holder did not exit in time) must leave the holder's lock file
// alone: removing it let the next receiver lock a new file of the same
// name and apply beside a receiver that was only hung (SIGSTOP), found by
// sync_partition.sh.
TEST(BrickLock, AReceiverThatGivesUpLeavesTheHoldersLockInPlace) {
  TempDir dir;
  const std::string file = BrickLockFileName("sv", "s", "b1");
  pid_t old = ForkHolder(dir.path(), file, /*ignore_term=*/true);
  ASSERT_GT(old, 0);
  BrickLockOptions o;
  o.wait_ms = 100;
  Result<BrickLock> first = BrickLock::Acquire(dir.path(), file, "b1", o);
  ASSERT_FALSE(first.ok());
  int cancel_checks = 0;
  o.cancelled = [&cancel_checks] { return ++cancel_checks > 1; };
  Result<BrickLock> cancelled = BrickLock::Acquire(dir.path(), file, "b1", o);
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.status().code(), Code::kAborted);
  struct stat st {};
  EXPECT_EQ(stat((dir.path() + "/" + file).c_str(), &st), 0) << "the holder's lock file was removed";
  o.cancelled = nullptr;
  Result<BrickLock> third = BrickLock::Acquire(dir.path(), file, "b1", o);
  EXPECT_FALSE(third.ok()) << "a third receiver got the lock while the holder still runs";
  kill(old, SIGKILL);
  waitpid(old, nullptr, 0);
}

TEST(BrickLock, LockIsFreeAgainWhenTheHolderDiesWithoutReleasing) {
  TempDir dir;
  const std::string file = BrickLockFileName("sv", "s", "b1");
  pid_t old = ForkHolder(dir.path(), file, /*ignore_term=*/true);
  ASSERT_GT(old, 0);
  kill(old, SIGKILL);
  waitpid(old, nullptr, 0);
  BrickLockOptions o;
  o.wait_ms = 0;
  Result<BrickLock> lock = BrickLock::Acquire(dir.path(), file, "b1", o);
  EXPECT_TRUE(lock.ok()) << lock.status().ToString();
}

TEST(BrickLock, DifferentBricksDoNotBlockEachOtherButTheSameBrickDoes) {
  TempDir dir;
  BrickLockOptions o;
  o.wait_ms = 100;
  Result<BrickLock> a = BrickLock::Acquire(dir.path(), BrickLockFileName("sv", "s", "b1"), "b1", o);
  Result<BrickLock> b = BrickLock::Acquire(dir.path(), BrickLockFileName("sv", "s", "b2"), "b2", o);
  Result<BrickLock> c = BrickLock::Acquire(dir.path(), BrickLockFileName("sv", "t", "b1"), "b1", o);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  // flock locks belong to the open file, so a second open in this process
  // conflicts too (and is not signalled: it is our own pid).
  Result<BrickLock> again =
      BrickLock::Acquire(dir.path(), BrickLockFileName("sv", "s", "b1"), "b1", o);
  EXPECT_FALSE(again.ok());
  a->Release();
  Result<BrickLock> after =
      BrickLock::Acquire(dir.path(), BrickLockFileName("sv", "s", "b1"), "b1", o);
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

TEST(BrickLock, ReleaseRemovesTheFileAndAWaiterLocksTheNameAgain) {
  TempDir dir;
  const std::string file = BrickLockFileName("sv", "s", "b1");
  Result<BrickLock> a = BrickLock::Acquire(dir.path(), file, "b1", {});
  ASSERT_TRUE(a.ok());
  // The waiter opens the current inode, which `a` then unlinks and unlocks.
  BrickLockOptions o;
  o.wait_ms = 5000;
  auto waiter = std::async(std::launch::async,
                           [&] { return BrickLock::Acquire(dir.path(), file, "b1", o); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  a->Release();
  Result<BrickLock> b = waiter.get();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  struct stat named;
  ASSERT_EQ(stat(b->path().c_str(), &named), 0) << "the waiter holds an unlinked inode";
  EXPECT_EQ(FlockHolder(open(b->path().c_str(), O_RDONLY | O_CLOEXEC)), getpid());
  b->Release();
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(BrickLock, FileNameSeparatesFieldsAndIsSafe) {
  EXPECT_NE(BrickLockFileName("sv", "ab", "c"), BrickLockFileName("sv", "a", "bc"));
  EXPECT_NE(BrickLockFileName("sv", "s", "b1"), BrickLockFileName("sv2", "s", "b1"));
  EXPECT_EQ(BrickLockFileName("sv", "s", "b1"), BrickLockFileName("sv", "s", "b1"));
  const std::string hostile = BrickLockFileName("sv", "../../etc/x", std::string("a/\0b\n", 5));
  EXPECT_EQ(hostile.find('/'), std::string::npos);
  EXPECT_EQ(hostile.find('\n'), std::string::npos);
  EXPECT_EQ(hostile.rfind("receiver-sv-", 0), 0u) << hostile;
}

TEST(BrickLock, LockDirectoryOpenToOtherUsersOrASymlinkIsRefused) {
  TempDir dir;
  const std::string d = dir.path() + "/locks";
  ASSERT_TRUE(PrepareLockDir(d).ok());
  struct stat st;
  ASSERT_EQ(stat(d.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(chmod(d.c_str(), 0777), 0);
  Status open_dir = PrepareLockDir(d);
  EXPECT_FALSE(open_dir.ok());
  EXPECT_NE(open_dir.message().find("accessible to other users"), std::string::npos);
  const std::string link = dir.path() + "/link";
  ASSERT_EQ(symlink(d.c_str(), link.c_str()), 0);
  EXPECT_FALSE(PrepareLockDir(link).ok());
}

TEST(ApplierStop, StopRequestEndsTheBatchBetweenOpsWithoutAnAck) {
  FakeVolume volume;
  Applier applier(&volume);
  Batch batch{1, 0, {EntryCreateOp{RootGfid(), "a", G(1), S_IFREG | 0644, 0, 0, 0, ""},
                     EntryCreateOp{RootGfid(), "b", G(2), S_IFREG | 0644, 0, 0, 0, ""},
                     EntryCreateOp{RootGfid(), "c", G(3), S_IFREG | 0644, 0, 0, 0, ""}}};
  int asked = 0;
  Ack ack;
  EXPECT_FALSE(applier.ApplyBatch(batch, &ack, [&] { return ++asked > 2; }));
  EXPECT_NE(volume.Find(G(1)), nullptr);
  EXPECT_NE(volume.Find(G(2)), nullptr);
  EXPECT_EQ(volume.Find(G(3)), nullptr);  // never started
}

// A FakeVolume that tells the test, when the session drops it, whether the
// object the queued batch would create exists.
class WatchedVolume : public FakeVolume {
 public:
  explicit WatchedVolume(std::promise<bool>* created) : created_(created) {}
  ~WatchedVolume() override { created_->set_value(Find(G(1)) != nullptr); }

 private:
  std::promise<bool>* created_;
};

class StopSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pipe2(in_, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(out_, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(stop_, O_CLOEXEC), 0);
    signal(SIGPIPE, SIG_IGN);
  }
  void TearDown() override {
    for (int fd : {in_[0], in_[1], out_[0], out_[1], stop_[0], stop_[1]}) {
      if (fd >= 0) close(fd);
    }
  }
  void Start() {
    options_.volume = "sv";
    options_.idle_timeout_s = 10;
    options_.receiver_version = "test";
    options_.stop_fd = stop_[0];
    options_.lock_dir = dir_.path();
    options_.lock_wait_ms = 200;
    opener_ = [this](const std::string&) -> Result<MountedVolume> {
      MountedVolume m;
      m.volume = std::make_unique<WatchedVolume>(&created_);
      m.volume_id = G(42);
      return m;
    };
    result_ = std::async(std::launch::async,
                         [this] { return RunSession(in_[0], out_[1], options_, opener_); });
  }
  void Handshake(const std::string& brick = "b1") {
    ASSERT_TRUE(WriteFrame(in_[1], Hello{kProtocolVersion, "s", "pv", brick, "sv"}).ok());
    auto r = ReadFrame(out_[0], &decoder_, 5000);
    ASSERT_TRUE(r.ok() && r->has_value());
    ASSERT_EQ(TypeOf(**r), MessageType::kHelloOk);
  }
  void SendCreate() {
    ASSERT_TRUE(WriteFrame(in_[1], Batch{1, 0, {EntryCreateOp{RootGfid(), "a", G(1),
                                                              S_IFREG | 0644, 0, 0, 0, ""}}})
                    .ok());
  }
  int ExitStatus() {
    EXPECT_EQ(result_.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return result_.get();
  }

  TempDir dir_;
  int in_[2] = {-1, -1}, out_[2] = {-1, -1}, stop_[2] = {-1, -1};
  std::promise<bool> created_;
  SessionOptions options_;
  VolumeOpener opener_;
  FrameDecoder decoder_;
  std::future<int> result_;
};

TEST_F(StopSessionTest, SigtermWhileIdleEndsTheSessionPromptly) {
  Start();
  Handshake();
  ASSERT_EQ(write(stop_[1], "x", 1), 1);
  EXPECT_EQ(ExitStatus(), kExitStopped);
}

TEST_F(StopSessionTest, BatchQueuedAfterSigtermIsNeitherAppliedNorAcked) {
  Start();
  Handshake();
  ASSERT_EQ(write(stop_[1], "x", 1), 1);
  SendCreate();
  EXPECT_EQ(ExitStatus(), kExitStopped);
  EXPECT_FALSE(created_.get_future().get());
  close(out_[1]);
  out_[1] = -1;
  auto r = ReadFrame(out_[0], &decoder_, 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value()) << "no ACK after SIGTERM";
}

TEST_F(StopSessionTest, BatchQueuedWhenTheSenderIsGoneIsNotApplied) {
  Start();
  Handshake();
  // The sender vanished (its SSH connection closed both pipes) with a batch
  // still queued: applying it late could undo what a new connection applies.
  close(out_[0]);
  out_[0] = -1;
  SendCreate();
  close(in_[1]);
  in_[1] = -1;
  EXPECT_EQ(ExitStatus(), kExitConnectionLost);
  EXPECT_FALSE(created_.get_future().get());
}

TEST_F(StopSessionTest, SecondReceiverForTheSameBrickInOneProcessIsRefusedAsBusy) {
  Start();
  Handshake();
  // A second session in this process: same brick, the lock is ours, so it is
  // not signalled and the wait (200 ms) ends in RECEIVER_BUSY.
  int in2[2], out2[2];
  ASSERT_EQ(pipe2(in2, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out2, O_CLOEXEC), 0);
  VolumeOpener opener = [](const std::string&) -> Result<MountedVolume> {
    MountedVolume m;
    m.volume = std::make_unique<FakeVolume>();
    return m;
  };
  SessionOptions o = options_;
  o.stop_fd = -1;
  ASSERT_TRUE(WriteFrame(in2[1], Hello{kProtocolVersion, "s", "pv", "b1", "sv"}).ok());
  EXPECT_EQ(RunSession(in2[0], out2[1], o, opener), kExitBusy);
  FrameDecoder d;
  auto r = ReadFrame(out2[0], &d, 1000);
  ASSERT_TRUE(r.ok() && r->has_value());
  ASSERT_EQ(TypeOf(**r), MessageType::kError);
  EXPECT_EQ(std::get<Error>(**r).code, ErrorCode::kReceiverBusy);
  EXPECT_NE(std::get<Error>(**r).message.find("brick b1 of session s"), std::string::npos);
  // Another brick is not blocked.
  ASSERT_TRUE(WriteFrame(in2[1], Hello{kProtocolVersion, "s", "pv", "b2", "sv"}).ok());
  close(in2[1]);
  EXPECT_EQ(RunSession(in2[0], out2[1], o, opener), kExitOk);
  for (int fd : {in2[0], out2[0], out2[1]}) close(fd);
  close(in_[1]);
  in_[1] = -1;
  EXPECT_EQ(ExitStatus(), kExitOk);
}

}  // namespace
}  // namespace georep::receiver

// WatchedSource: which calls to the primary are still running, and since when.
#include "sync/daemon/stall_watch.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace georep::daemon {
namespace {

// A primary whose Stat blocks until released (a brick that does not answer).
class BlockingSource : public DataSource {
 public:
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  void WaitUntilCalled() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [this] { return called_; });
  }
  Result<ObjectStat> Stat(const protocol::Gfid&) override {
    std::unique_lock<std::mutex> lock(mu_);
    called_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, std::chrono::seconds(10), [this] { return released_; });
    return ObjectStat{};
  }
  Result<std::unique_ptr<SourceFile>> Open(const protocol::Gfid&) override { return Status(Code::kNotFound, "none"); }
  Result<std::optional<std::string>> GetXattr(const protocol::Gfid&, const std::string&) override {
    return std::optional<std::string>();
  }
  Result<std::vector<std::string>> ListXattrs(const protocol::Gfid&) override { return std::vector<std::string>{}; }
  Result<std::string> ReadLink(const protocol::Gfid&) override { return std::string(); }
  Result<protocol::Gfid> LookupName(const protocol::Gfid&, const std::string&) override {
    return Status(Code::kNotFound, "none");
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool called_ = false;
  bool released_ = false;
};

TEST(WatchedSource, ACallThatHasNotReturnedIsReportedUntilItReturns) {
  BlockingSource blocking;
  WatchedSource watched(&blocking);
  EXPECT_FALSE(watched.Oldest().has_value());
  auto call = std::async(std::launch::async, [&] { return watched.Stat(protocol::RootGfid()).ok(); });
  blocking.WaitUntilCalled();
  auto oldest = watched.Oldest();
  ASSERT_TRUE(oldest.has_value());
  EXPECT_EQ(oldest->what, "stat " + protocol::GfidToString(protocol::RootGfid()));
  EXPECT_LE(oldest->since, WatchedSource::Clock::now());
  blocking.Release();
  EXPECT_TRUE(call.get());
  EXPECT_FALSE(watched.Oldest().has_value());
}

TEST(WatchedSource, TheOldestOfSeveralCallsIsReported) {
  BlockingSource blocking;
  WatchedSource watched(&blocking);
  WatchedSource::Scope first(&watched, "setxattr of the sync mark on the volume root");
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  WatchedSource::Scope second(&watched, "read x at 0");
  ASSERT_TRUE(watched.Oldest().has_value());
  EXPECT_EQ(watched.Oldest()->what, "setxattr of the sync mark on the volume root");
}

TEST(WatchedSource, FailuresPassThroughAndEndTheCall) {
  BlockingSource blocking;
  WatchedSource watched(&blocking);
  EXPECT_EQ(watched.Open(protocol::RootGfid()).status().code(), Code::kNotFound);
  EXPECT_FALSE(watched.Oldest().has_value());
}

}  // namespace
}  // namespace georep::daemon

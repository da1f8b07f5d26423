// ConfigWatch (config_watch.h): which changes under the sessions directory
// wake georepd's monitor, and which leave it to its periodic scan.
#include "sync/daemon/config_watch.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

namespace georep::daemon {
namespace {

using std::chrono::milliseconds;

// Long enough for an event that was produced to be seen; a wait that should
// see nothing costs only kQuiet.
constexpr milliseconds kEventDue{2000};
constexpr milliseconds kQuiet{100};

class ConfigWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/georep-cw-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    sessions_ = root_ + "/sessions";
  }
  void TearDown() override { (void)!std::system(("rm -rf '" + root_ + "'").c_str()); }
  static void Write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  // Waits out anything already queued, so that a test looks at one change.
  static void Drain(ConfigWatch* w) {
    while (w->Wait(kQuiet)) {
    }
  }
  std::string root_, sessions_;
};

TEST_F(ConfigWatchTest, SessionConfWrittenInPlaceWakes) {
  ASSERT_EQ(mkdir(sessions_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((sessions_ + "/s1").c_str(), 0755), 0);
  ConfigWatch w(sessions_);
  ASSERT_TRUE(w.active());
  w.Track();
  Write(sessions_ + "/s1/session.conf", "state=paused\n");
  EXPECT_TRUE(w.Wait(kEventDue));
}

TEST_F(ConfigWatchTest, SessionConfRenamedIntoPlaceWakes) {
  ASSERT_EQ(mkdir(sessions_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((sessions_ + "/s1").c_str(), 0755), 0);
  ConfigWatch w(sessions_);
  w.Track();
  Write(sessions_ + "/s1/.session.conf.tmp", "state=started\n");
  Drain(&w);  // the temporary file alone does not count
  ASSERT_EQ(rename((sessions_ + "/s1/.session.conf.tmp").c_str(),
                   (sessions_ + "/s1/session.conf").c_str()), 0);
  EXPECT_TRUE(w.Wait(kEventDue));
}

TEST_F(ConfigWatchTest, OtherFilesOfASessionDoNotWake) {
  ASSERT_EQ(mkdir(sessions_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((sessions_ + "/s1").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((sessions_ + "/s1/status").c_str(), 0755), 0);
  ConfigWatch w(sessions_);
  w.Track();
  // What georepd itself writes every second, and the CLI's other files.
  Write(sessions_ + "/s1/status/b1.status", "status=Active\n");
  Write(sessions_ + "/s1/known_hosts", "host key\n");
  EXPECT_FALSE(w.Wait(kQuiet));
}

TEST_F(ConfigWatchTest, NewSessionWakesAndItsConfIsWatchedAfterTrack) {
  ASSERT_EQ(mkdir(sessions_.c_str(), 0755), 0);
  ConfigWatch w(sessions_);
  w.Track();
  ASSERT_EQ(mkdir((sessions_ + "/s2").c_str(), 0755), 0);
  EXPECT_TRUE(w.Wait(kEventDue));
  w.Track();
  Write(sessions_ + "/s2/session.conf", "state=created\n");
  EXPECT_TRUE(w.Wait(kEventDue));
}

TEST_F(ConfigWatchTest, RemovedSessionWakes) {
  ASSERT_EQ(mkdir(sessions_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((sessions_ + "/s1").c_str(), 0755), 0);
  Write(sessions_ + "/s1/session.conf", "state=stopped\n");
  ConfigWatch w(sessions_);
  w.Track();
  ASSERT_EQ(std::system(("rm -rf '" + sessions_ + "/s1'").c_str()), 0);
  EXPECT_TRUE(w.Wait(kEventDue));
  Drain(&w);
  w.Track();  // forgets the session; nothing left to report
  EXPECT_FALSE(w.Wait(kQuiet));
}

TEST_F(ConfigWatchTest, SessionsDirectoryCreatedLaterIsWatchedFromTheNextTrack) {
  ConfigWatch w(sessions_);  // no sessions directory yet: not an error
  ASSERT_TRUE(w.active());
  w.Track();
  EXPECT_FALSE(w.Wait(kQuiet));
  ASSERT_EQ(mkdir(sessions_.c_str(), 0755), 0);
  w.Track();
  ASSERT_EQ(mkdir((sessions_ + "/s1").c_str(), 0755), 0);
  EXPECT_TRUE(w.Wait(kEventDue));
}

}  // namespace
}  // namespace georep::daemon

// session.conf parsing, status file rendering and reconnect backoff.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "sync/daemon/backoff.h"
#include "sync/daemon/fs_util.h"
#include "sync/daemon/session_config.h"
#include "sync/daemon/status_file.h"

namespace georep::daemon {
namespace {

const char* kMinimal =
    "# written by georep create\n"
    "primary_volume=gvp\n"
    "secondary_host=snode1\n"
    "secondary_user=geo\n"
    "secondary_volume=gvs\n"
    "ssh_identity=/var/lib/georep/keys/id\n"
    "ssh_known_hosts=/var/lib/georep/keys/known_hosts\n"
    "state=started\n";

TEST(SessionConfig, MinimalFileParsesWithDefaults) {
  auto c = ParseSessionConfig(kMinimal, "s1", "session.conf");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "s1");
  EXPECT_EQ(c->primary_volume, "gvp");
  EXPECT_EQ(c->secondary_user, "geo");
  EXPECT_EQ(c->ssh_port, 22u);
  EXPECT_EQ(c->receiver_command, "georep-receiver");
  EXPECT_EQ(c->state, SessionState::kStarted);
  EXPECT_FALSE(c->checkpoint.has_value());
  EXPECT_EQ(c->tunables, SyncTunables{});
  EXPECT_TRUE(c->tunables.resync_quick_check) << "a resync skips unchanged files unless told not to";
}

TEST(SessionConfig, TunablesCheckpointAndUnknownKeys) {
  std::string text = std::string(kMinimal) +
                     "  batch_max_ops = 10 \n"
                     "max_inflight_batches=2\n"
                     "batch_fsync=yes\n"
                     "resync_quick_check=no\n"
                     "checkpoint=1700000000\n"
                     "future_key=whatever\n"
                     "log_level=debug\n"
                     "ssh_port=2222\n";
  auto c = ParseSessionConfig(text, "s1", "session.conf");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->tunables.batch_max_ops, 10u);
  EXPECT_EQ(c->tunables.max_inflight_batches, 2u);
  EXPECT_TRUE(c->tunables.batch_fsync);
  EXPECT_FALSE(c->tunables.resync_quick_check);
  EXPECT_EQ(c->checkpoint.value(), 1700000000);
  EXPECT_EQ(c->tunables.log_level, "debug");
  EXPECT_EQ(c->ssh_port, 2222u);
}

TEST(SessionConfig, EmptyCheckpointMeansNone) {
  auto c = ParseSessionConfig(std::string(kMinimal) + "checkpoint=\n", "s", "f");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->checkpoint.has_value());
}

TEST(SessionConfig, BadValuesAreErrorsNamingLineKeyAndRange) {
  struct Case {
    const char* line;
    const char* expect;
  } cases[] = {
      {"batch_max_ops=abc", "line 9: batch_max_ops=abc: expected an integer in [1, 100000]"},
      {"batch_max_ops=0", "batch_max_ops=0"},
      {"max_inflight_batches=1000", "[1, 64]"},
      {"ssh_port=70000", "ssh_port"},
      {"state=running", "expected created, started, paused or stopped"},
      {"batch_fsync=maybe", "expected yes or no"},
      {"resync_quick_check=sometimes", "expected yes or no"},
      {"checkpoint=yesterday", "unix seconds"},
      {"log_level=loud", "log_level"},
      {"no equals sign", "is not key=value"},
  };
  for (const auto& tc : cases) {
    auto c = ParseSessionConfig(std::string(kMinimal) + tc.line + "\n", "s", "session.conf");
    ASSERT_FALSE(c.ok()) << tc.line;
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
    EXPECT_NE(c.status().message().find(tc.expect), std::string::npos)
        << tc.line << " -> " << c.status().message();
  }
}

TEST(SessionConfig, MissingRequiredKeyIsNamed) {
  auto c = ParseSessionConfig("primary_volume=gvp\n", "s", "session.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("secondary_host"), std::string::npos);
}

TEST(SessionConfig, BackoffCapBelowInitialIsRejected) {
  auto c = ParseSessionConfig(std::string(kMinimal) + "backoff_initial_ms=5000\nbackoff_max_ms=100\n",
                              "s", "f");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("backoff_max_ms"), std::string::npos);
}

TEST(SessionConfig, LoadReportsMissingFile) {
  auto c = LoadSessionConfig("/nonexistent/session.conf", "s");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kNotFound);
}

TEST(StatusFile, SanitizedIdsAreSafeFileAndConsumerNames) {
  EXPECT_EQ(SanitizeId("pnode1:/bricks/b1"), "pnode1_bricks_b1");
  EXPECT_EQ(SanitizeId(".hidden"), "_.hidden");
  EXPECT_EQ(SanitizeId("a b/c"), "a_b_c");
}

TEST(StatusFile, WrittenAtomicallyAndParsesBack) {
  char tmpl[] = "/tmp/georep-status-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/status/b1.status";
  BrickStatus s;
  s.primary_node = "pnode1";
  s.primary_brick = "pnode1:/b1";
  s.status = "Faulty";
  s.faulty_cause = "host key of snode1 unknown\nadd it";
  s.checkpoint_completed = true;
  s.checkpoint_completion_time = 42;
  s.bytes_sent = 1234;
  ASSERT_TRUE(WriteStatusFile(path, s).ok());
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  auto kv = ParseKeyValues(*text);
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->at("status"), "Faulty");
  EXPECT_EQ(kv->at("faulty_cause"), "host key of snode1 unknown add it");  // one line
  EXPECT_EQ(kv->at("checkpoint_completed"), "yes");
  EXPECT_EQ(kv->at("checkpoint_completion_time"), "42");
  EXPECT_EQ(kv->at("bytes_sent"), "1234");
  for (const char* key : {"primary_node", "primary_brick", "secondary_node", "crawl_status",
                          "last_synced", "pending_entry", "pending_data", "pending_meta",
                          "failures", "ops_applied", "batches", "reconnects", "journal_seq",
                          "cursor_seq"}) {
    EXPECT_EQ(kv->count(key), 1u) << key;
  }
  // Rewriting leaves no temporary files behind.
  s.status = "Active";
  ASSERT_TRUE(WriteStatusFile(path, s).ok());
  std::string cmd = "test $(ls -A " + std::string(tmpl) + "/status | wc -l) -eq 1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  std::system(("rm -rf " + std::string(tmpl)).c_str());
}

// A worker's last status write after `delete reset-sync-time` must not bring
// the session directory back.
TEST(StatusFile, WriteCreatesTheParentButNothingAboveIt) {
  char tmpl[] = "/tmp/georep-status-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  BrickStatus s;
  s.status = "Stopped";
  Status gone = WriteStatusFile(root + "/sessions/s1/status/b1.status", s);
  EXPECT_EQ(gone.code(), Code::kNotFound) << gone.ToString();
  struct stat st {};
  EXPECT_NE(stat((root + "/sessions").c_str(), &st), 0);
  ASSERT_EQ(mkdir((root + "/sessions").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((root + "/sessions/s1").c_str(), 0755), 0);
  EXPECT_TRUE(WriteStatusFile(root + "/sessions/s1/status/b1.status", s).ok());
  std::system(("rm -rf " + root).c_str());
}

TEST(Backoff, DoublesUpToTheCapAndResets) {
  using std::chrono::milliseconds;
  Backoff b(milliseconds(100), milliseconds(1000), /*jitter=*/0.0);
  EXPECT_EQ(b.Next(), milliseconds(100));
  EXPECT_EQ(b.Next(), milliseconds(200));
  EXPECT_EQ(b.Next(), milliseconds(400));
  EXPECT_EQ(b.Next(), milliseconds(800));
  EXPECT_EQ(b.Next(), milliseconds(1000));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.Next(), milliseconds(1000));  // no overflow
  b.Reset();
  EXPECT_EQ(b.Next(), milliseconds(100));
}

TEST(Backoff, JitterStaysWithinBounds) {
  using std::chrono::milliseconds;
  Backoff b(milliseconds(1000), milliseconds(1000), /*jitter=*/0.2, /*seed=*/7);
  for (int i = 0; i < 50; ++i) {
    auto d = b.Next();
    EXPECT_GE(d, milliseconds(800));
    EXPECT_LE(d, milliseconds(1000));
  }
}

}  // namespace
}  // namespace georep::daemon

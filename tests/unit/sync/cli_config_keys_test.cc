#include <gtest/gtest.h>

#include "sync/cli/config_keys.h"
#include "sync/daemon/session_config.h"

namespace georep::cli {
namespace {

TEST(ConfigKeys, RangesAreEnforcedWithTheExpectedRangeInTheMessage) {
  EXPECT_TRUE(ValidateConfigValue("batch_max_ops", "1").ok());
  EXPECT_TRUE(ValidateConfigValue("batch_max_ops", "100000").ok());
  Status st = ValidateConfigValue("batch_max_ops", "100001");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "Invalid value '100001' for config key 'batch_max_ops': expected an integer in [1, 100000]");
  EXPECT_FALSE(ValidateConfigValue("batch_max_ops", "12x").ok());
  EXPECT_FALSE(ValidateConfigValue("batch_max_ops", "").ok());
  EXPECT_FALSE(ValidateConfigValue("batch_max_ops", "-1").ok());
}

TEST(ConfigKeys, BooleansAndEnumsOnlyTakeTheirWords) {
  EXPECT_TRUE(ValidateConfigValue("batch_fsync", "yes").ok());
  EXPECT_FALSE(ValidateConfigValue("batch_fsync", "maybe").ok());
  EXPECT_TRUE(ValidateConfigValue("log_level", "debug").ok());
  EXPECT_FALSE(ValidateConfigValue("log_level", "verbose").ok());
}

TEST(ConfigKeys, CommandsRejectShellSyntax) {
  EXPECT_TRUE(ValidateConfigValue("receiver_command", "/usr/bin/georep-receiver").ok());
  EXPECT_FALSE(ValidateConfigValue("receiver_command", "georep-receiver; rm -rf /").ok());
  EXPECT_FALSE(ValidateConfigValue("receiver_command", "a\nb").ok());
}

TEST(ConfigKeys, UnknownKeyIsRefused) {
  EXPECT_FALSE(ValidateConfigValue("no_such_key", "1").ok());
  EXPECT_EQ(FindConfigKey("no_such_key"), nullptr);
}

TEST(ConfigKeys, BackoffCapMayNotFallBelowTheInitialDelay) {
  KeyValues kv = {{"backoff_initial_ms", "5000"}, {"backoff_max_ms", "1000"}};
  EXPECT_FALSE(ValidateConfigSet(kv).ok());
  kv = {{"backoff_initial_ms", "5000"}};
  EXPECT_TRUE(ValidateConfigSet(kv).ok());  // default cap 30000
}

// Every value the CLI accepts must be accepted by georepd, and every value
// at the edge of the CLI's ranges must mean the same thing there: the two
// tables may not drift apart.
TEST(ConfigKeys, DaemonAcceptsEveryDefaultAndEveryRangeEdge) {
  const std::string base =
      "primary_volume=p\nsecondary_host=h\nsecondary_user=root\nsecondary_volume=s\n"
      "ssh_identity=/k\nssh_known_hosts=/kh\nreceiver_command=georep-receiver\n";
  for (const ConfigKey& k : ConfigKeys()) {
    if (!k.settable) continue;
    std::vector<std::string> values = {k.default_value};
    if (k.kind == KeyKind::kUnsigned) {
      values.push_back(std::to_string(k.min));
      values.push_back(std::to_string(k.max));
    }
    for (const std::string& v : values) {
      ASSERT_TRUE(ValidateConfigValue(k.name, v).ok()) << k.name << "=" << v;
      std::string text = base + k.name + "=" + v + "\n";
      // The one relation between keys: the cap may not be below the start.
      if (std::string(k.name) == "backoff_initial_ms") text += "backoff_max_ms=3600000\n";
      if (std::string(k.name) == "backoff_max_ms") text += "backoff_initial_ms=10\n";
      Result<daemon::SessionConfig> c = daemon::ParseSessionConfig(text, "s", "test");
      EXPECT_TRUE(c.ok()) << k.name << "=" << v << ": " << c.status().message();
    }
    if (k.kind == KeyKind::kUnsigned) {
      std::string over = std::to_string(k.max + 1);
      EXPECT_FALSE(ValidateConfigValue(k.name, over).ok()) << k.name;
      Result<daemon::SessionConfig> c = daemon::ParseSessionConfig(base + k.name + "=" + over + "\n", "s", "test");
      EXPECT_FALSE(c.ok()) << k.name << "=" << over << " accepted by georepd but not by the CLI";
    }
  }
}

TEST(ConfigKeys, DefaultsMatchTheDaemonsDefaults) {
  daemon::SyncTunables t;
  EXPECT_EQ(std::to_string(t.batch_max_ops), FindConfigKey("batch_max_ops")->default_value);
  EXPECT_EQ(std::to_string(t.batch_max_bytes), FindConfigKey("batch_max_bytes")->default_value);
  EXPECT_EQ(std::to_string(t.max_inflight_batches), FindConfigKey("max_inflight_batches")->default_value);
  EXPECT_EQ(std::to_string(t.window_max_records), FindConfigKey("window_max_records")->default_value);
  EXPECT_EQ(std::to_string(t.faulty_after_failures), FindConfigKey("faulty_after_failures")->default_value);
  EXPECT_EQ(std::to_string(t.backoff_initial_ms), FindConfigKey("backoff_initial_ms")->default_value);
  EXPECT_EQ(std::to_string(t.backoff_max_ms), FindConfigKey("backoff_max_ms")->default_value);
  EXPECT_EQ(std::to_string(t.ssh_timeout_s), FindConfigKey("ssh_timeout_s")->default_value);
  EXPECT_EQ(std::to_string(t.keepalive_s), FindConfigKey("keepalive_s")->default_value);
  EXPECT_EQ(std::to_string(t.role_check_interval_s), FindConfigKey("role_check_interval_s")->default_value);
  EXPECT_EQ(std::to_string(t.passive_lag_s), FindConfigKey("passive_lag_s")->default_value);
  EXPECT_EQ(t.log_level, FindConfigKey("log_level")->default_value);
  EXPECT_EQ(std::string(t.batch_fsync ? "yes" : "no"), FindConfigKey("batch_fsync")->default_value);
}

}  // namespace
}  // namespace georep::cli

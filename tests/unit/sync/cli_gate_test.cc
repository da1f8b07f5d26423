// The authorized_keys gate's argument whitelist: what a replication key lets a
// (possibly compromised) primary ask of the secondary account.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sync/cli/peer_ops.h"

namespace georep::cli {
namespace {

// Runs the whole check as the gate does: split, then the whitelist.
bool Check(const std::string& command, const GatePolicy& policy, std::vector<std::string>* args, std::string* why) {
  std::vector<std::string> words;
  return ParseGateCommand(command, &words, why) && CheckReceiverArgs(words, policy, args, why);
}

GatePolicy Fixed(const std::string& volfile_server, const std::string& log_file) {
  GatePolicy p;
  p.volfile_server = volfile_server;
  p.log_file = log_file;
  return p;
}

TEST(GateArgs, WhitelistedOptionsPassInBothSpellings) {
  std::vector<std::string> args;
  std::string why;
  ASSERT_TRUE(Check("georep-receiver --volume 'gv-s_1' --log-level debug --idle-timeout 300", GatePolicy{}, &args,
                    &why))
      << why;
  EXPECT_EQ(args, (std::vector<std::string>{"--volume", "gv-s_1", "--log-level", "debug", "--idle-timeout", "300"}));
  ASSERT_TRUE(Check("georep-receiver --volume v --apply-threads 16", GatePolicy{}, &args, &why)) << why;
  EXPECT_EQ(args, (std::vector<std::string>{"--volume", "v", "--apply-threads", "16"}));
  ASSERT_TRUE(Check("georep-receiver --volume v --direct-io=off", GatePolicy{}, &args, &why)) << why;
  EXPECT_EQ(args, (std::vector<std::string>{"--volume", "v", "--direct-io", "off"}));
  ASSERT_TRUE(Check("/opt/bin/georep-receiver --volume=gvs --log-level=error --idle-timeout=0", GatePolicy{}, &args,
                    &why))
      << why;
  // The receiver itself only parses "--opt value": the gate passes that form.
  EXPECT_EQ(args, (std::vector<std::string>{"--volume", "gvs", "--log-level", "error", "--idle-timeout", "0"}));
}

TEST(GateArgs, WhatTheWorkersSendPasses) {
  // sync/daemon/worker.cc: receiver_command + " --volume " + ShellQuote(svol).
  std::vector<std::string> args;
  std::string why;
  EXPECT_TRUE(Check("georep-receiver --volume 'gvs'", GatePolicy{}, &args, &why)) << why;
  EXPECT_TRUE(Check("/build/sync/receiver/georep-receiver --volfile-server snode1 --volume 'sv'",
                    Fixed("snode1", ""), &args, &why))
      << why;
}

TEST(GateArgs, VolumeIsRequiredOnceAndMustBeAVolumeName) {
  std::vector<std::string> args;
  std::string why;
  EXPECT_FALSE(Check("georep-receiver", GatePolicy{}, &args, &why));
  EXPECT_NE(why.find("--volume is required"), std::string::npos) << why;
  EXPECT_FALSE(Check("georep-receiver --volume a --volume b", GatePolicy{}, &args, &why));
  EXPECT_NE(why.find("given twice"), std::string::npos) << why;
  for (const char* bad : {"georep-receiver --volume ''", "georep-receiver --volume=", "georep-receiver --volume",
                          "georep-receiver --volume ../etc", "georep-receiver --volume 'a b'",
                          "georep-receiver --volume -x", "georep-receiver --volume /etc/passwd",
                          "georep-receiver --volume a.b"}) {
    EXPECT_FALSE(Check(bad, GatePolicy{}, &args, &why)) << bad;
    EXPECT_NE(why.find("--volume"), std::string::npos) << bad << ": " << why;
  }
  EXPECT_FALSE(Check("georep-receiver --volume " + std::string(65, 'v'), GatePolicy{}, &args, &why));
}

TEST(GateArgs, LogLevelIdleTimeoutAndApplyThreadsValuesAreChecked) {
  std::vector<std::string> args;
  std::string why;
  for (const char* bad : {"georep-receiver --volume v --log-level trace", "georep-receiver --volume v --log-level ''",
                          "georep-receiver --volume v --idle-timeout -1", "georep-receiver --volume v --idle-timeout 1e3",
                          "georep-receiver --volume v --idle-timeout 604801",
                          "georep-receiver --volume v --idle-timeout 99999999999999999999",
                          "georep-receiver --volume v --apply-threads 0",
                          "georep-receiver --volume v --apply-threads 65",
                          "georep-receiver --volume v --apply-threads -3",
                          "georep-receiver --volume v --apply-threads 999",
                          "georep-receiver --volume v --direct-io yes",
                          "georep-receiver --volume v --direct-io ''"}) {
    EXPECT_FALSE(Check(bad, GatePolicy{}, &args, &why)) << bad;
    EXPECT_NE(why.find("refused"), std::string::npos) << why;
  }
}

TEST(GateArgs, LogFileAndOtherWritersAreRefusedUnlessFixedOnTheSecondary) {
  std::vector<std::string> args;
  std::string why;
  EXPECT_FALSE(Check("georep-receiver --volume v --log-file=/etc/passwd", GatePolicy{}, &args, &why));
  EXPECT_NE(why.find("option --log-file refused"), std::string::npos) << why;
  EXPECT_FALSE(Check("georep-receiver --volume v --log-file /root/.ssh/authorized_keys", GatePolicy{}, &args, &why));
  EXPECT_FALSE(Check("georep-receiver --volume v --gfapi-log-file /etc/shadow", GatePolicy{}, &args, &why));
  EXPECT_NE(why.find("--gfapi-log-file"), std::string::npos) << why;
  EXPECT_FALSE(Check("georep-receiver --volume v --glusterd-sock /tmp/evil.sock", GatePolicy{}, &args, &why));
  EXPECT_NE(why.find("--glusterd-sock"), std::string::npos) << why;
  // A fixed log file: only the same path passes, and it is always passed.
  GatePolicy p = Fixed("", "/home/geo/georep-receiver.log");
  EXPECT_FALSE(Check("georep-receiver --volume v --log-file /etc/passwd", p, &args, &why));
  EXPECT_NE(why.find("differs from"), std::string::npos) << why;
  ASSERT_TRUE(Check("georep-receiver --volume v --log-file /home/geo/georep-receiver.log", p, &args, &why)) << why;
  EXPECT_EQ(args, (std::vector<std::string>{"--volume", "v", "--log-file", "/home/geo/georep-receiver.log"}));
  ASSERT_TRUE(Check("georep-receiver --volume v", p, &args, &why)) << why;
  EXPECT_EQ(args, (std::vector<std::string>{"--volume", "v", "--log-file", "/home/geo/georep-receiver.log"}));
}

TEST(GateArgs, VolfileServerIsOnlyTheOneFixedOnTheSecondary) {
  std::vector<std::string> args;
  std::string why;
  EXPECT_FALSE(Check("georep-receiver --volume v --volfile-server other-cluster", GatePolicy{}, &args, &why));
  EXPECT_NE(why.find("option --volfile-server refused"), std::string::npos) << why;
  GatePolicy p = Fixed("127.1.1.3", "");
  EXPECT_FALSE(Check("georep-receiver --volume v --volfile-server=127.1.1.9", p, &args, &why));
  ASSERT_TRUE(Check("georep-receiver --volume v --volfile-server=127.1.1.3", p, &args, &why)) << why;
  EXPECT_EQ(args, (std::vector<std::string>{"--volume", "v", "--volfile-server", "127.1.1.3"}));
  // Omitted by the primary: the secondary's value is used anyway.
  ASSERT_TRUE(Check("georep-receiver --volume v", p, &args, &why)) << why;
  EXPECT_EQ(args, (std::vector<std::string>{"--volume", "v", "--volfile-server", "127.1.1.3"}));
}

TEST(GateArgs, InjectionAttemptsAreRefused) {
  std::vector<std::string> args;
  std::string why;
  for (const char* bad : {"georep-receiver --volume v; id", "georep-receiver --volume `id`",
                          "georep-receiver --volume \"v\"", "georep-receiver --volume 'v;id'",
                          "georep-receiver --volume v --log-level 'info;id'", "georep-receiver --volume v extra",
                          "georep-receiver --volume v -x", "georep-receiver --volume v --",
                          "georep-receiver --volume v --help", "georep-receiver --volume v --version",
                          "georep-receiver --volume v --volume-x y", "georep-receiver --volume 'v' '--log-file=/etc/passwd'",
                          "georep-receiver --volume v --log-file=../../etc/passwd", "/bin/sh --volume v", ""}) {
    EXPECT_FALSE(Check(bad, GatePolicy{}, &args, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(GatePolicy, KeyLineWordsAreParsedAndUnsafeValuesRefused) {
  GatePolicy p;
  std::string why;
  ASSERT_TRUE(ParseGatePolicy({"receiver=/opt/bin/georep-receiver", "volfile-server=snode1", "log-file=/var/log/g.log"},
                              &p, &why))
      << why;
  EXPECT_EQ(p.receiver, "/opt/bin/georep-receiver");
  EXPECT_EQ(p.volfile_server, "snode1");
  EXPECT_EQ(p.log_file, "/var/log/g.log");
  ASSERT_TRUE(ParseGatePolicy({}, &p, &why));
  EXPECT_TRUE(p.receiver.empty() && p.volfile_server.empty() && p.log_file.empty());
  for (std::vector<std::string> bad :
       std::vector<std::vector<std::string>>{{"receiver=relative/path"},
                                             {"receiver=/a/../bin/sh"},
                                             {"log-file=/tmp/a;id"},
                                             {"log-file=tmp/x"},
                                             {"volfile-server=-oProxyCommand"},
                                             {"volfile-server=a b"},
                                             {"volfile-server="},
                                             {"volfile-server=a", "volfile-server=b"},
                                             {"shell=/bin/sh"},
                                             {"receiver"}}) {
    EXPECT_FALSE(ParseGatePolicy(bad, &p, &why)) << bad[0];
    EXPECT_NE(why.find("authorized_keys"), std::string::npos) << why;
  }
}

TEST(GatePolicy, ReceiverCommandFixesItsVolfileServerAndLogFileInTheKeyLine) {
  GatePolicy p;
  std::string why;
  ASSERT_TRUE(GatePolicyForReceiverCommand("/b/georep-receiver --volfile-server snode1 --log-file /home/g/r.log", &p,
                                           &why))
      << why;
  EXPECT_EQ(GateCommandLine("/usr/libexec/glusterfs/peer_georep", p),
            "/usr/libexec/glusterfs/peer_georep gate receiver=/b/georep-receiver volfile-server=snode1 "
            "log-file=/home/g/r.log");
  ASSERT_TRUE(GatePolicyForReceiverCommand("georep-receiver --volfile-server=ssite1", &p, &why)) << why;
  EXPECT_EQ(GateCommandLine("/x/peer_georep", p), "/x/peer_georep gate volfile-server=ssite1");
  ASSERT_TRUE(GatePolicyForReceiverCommand("georep-receiver", &p, &why)) << why;
  EXPECT_EQ(GateCommandLine("/x/peer_georep", p), "/x/peer_georep gate");
  // Commands the gate would never let through fail at create, not at start.
  EXPECT_FALSE(GatePolicyForReceiverCommand("georep-receiver --glusterd-sock /run/g.sock", &p, &why));
  EXPECT_NE(why.find("--glusterd-sock"), std::string::npos) << why;
  EXPECT_FALSE(GatePolicyForReceiverCommand("georep-receiver --log-file relative.log", &p, &why));
  EXPECT_FALSE(GatePolicyForReceiverCommand("rsync --server", &p, &why));
}

TEST(Gate, RefusalNamesTheOptionOnStderrAndExitsNonZero) {
  testing::internal::CaptureStderr();
  int rc = RunGate("georep-receiver --volume v --log-file=/etc/passwd", GatePolicy{});
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(rc, 0);
  EXPECT_NE(err.find("georep gate: option --log-file refused"), std::string::npos) << err;
}

}  // namespace
}  // namespace georep::cli

#include <gtest/gtest.h>

#include <sstream>

#include "sync/cli/commands.h"

namespace georep::cli {
namespace {

// Answers nothing: a command that fails before contacting anyone must not
// call it at all.
class RecordingRunner : public Runner {
 public:
  Result<ProcessResult> Run(const std::vector<std::string>& argv, int, const std::string&) override {
    calls.push_back(argv);
    ProcessResult r;
    r.exit_code = 1;
    r.err = "not reachable in this test";
    return r;
  }
  std::vector<std::vector<std::string>> calls;
};

struct Outcome {
  int rc;
  std::string out, err;
  size_t calls;
};

Outcome Cli(const std::vector<std::string>& args, const std::string& state_dir = "/nonexistent-georep-state") {
  std::vector<std::string> a = args;
  a.push_back("--state-dir=" + state_dir);
  Result<Invocation> inv = ParseInvocation(a);
  EXPECT_TRUE(inv.ok()) << inv.status().message();
  RecordingRunner runner;
  std::ostringstream out, err;
  int rc = RunCli(*inv, &runner, out, err);
  return {rc, out.str(), err.str(), runner.calls.size()};
}

TEST(ParseInvocation, GlobalOptionsMayStandAnywhere) {
  Result<Invocation> inv = ParseInvocation({"gvp", "--mode=script", "snode1::gvs", "--xml", "status", "--glusterd-sock", "/s"});
  ASSERT_TRUE(inv.ok());
  EXPECT_TRUE(inv->options.script);
  EXPECT_TRUE(inv->options.xml);
  EXPECT_EQ(inv->options.glusterd_sock, "/s");
  EXPECT_EQ(inv->words, (std::vector<std::string>{"gvp", "snode1::gvs", "status"}));
  EXPECT_FALSE(ParseInvocation({"--mode=interactive"}).ok());
  EXPECT_FALSE(ParseInvocation({"--bogus"}).ok());
  EXPECT_FALSE(ParseInvocation({"--xml", "--json"}).ok());
}

TEST(ToolSubcommand, VerifyAndJournalGoToTheirToolsUnlessTheyNameAVolume) {
  EXPECT_EQ(ToolSubcommand({"verify", "--help"}), "verify");
  EXPECT_EQ(ToolSubcommand({"verify", "gvp", "snode1::gvs"}), "verify");
  EXPECT_EQ(ToolSubcommand({"verify"}), "verify");
  EXPECT_EQ(ToolSubcommand({"journal", "dump", "/b"}), "journal");
  EXPECT_EQ(ToolSubcommand({"journal", "consumers", "/b"}), "journal");
  EXPECT_EQ(ToolSubcommand({"journal"}), "journal");
  // Volumes called "verify" or "journal" keep the session grammar.
  EXPECT_EQ(ToolSubcommand({"verify", "status"}), "");
  EXPECT_EQ(ToolSubcommand({"journal", "snode1::gvs", "start"}), "");
  EXPECT_EQ(ToolSubcommand({"gvp", "snode1::gvs", "status"}), "");
  EXPECT_EQ(ToolSubcommand({}), "");
  EXPECT_NE(UsageText().find("georep verify"), std::string::npos);
  EXPECT_NE(UsageText().find("georep journal dump"), std::string::npos);
}

TEST(ParseCreateFlags, AcceptsGlusterFsWordsInAnyOrder) {
  Result<CreateFlags> f = ParseCreateFlags({"force", "ssh-port", "2222", "push-pem"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->push_pem);
  EXPECT_TRUE(f->force);
  EXPECT_EQ(f->ssh_port, 2222);
  EXPECT_FALSE(ParseCreateFlags({"ssh-port"}).ok());
  EXPECT_FALSE(ParseCreateFlags({"ssh-port", "0"}).ok());
  EXPECT_FALSE(ParseCreateFlags({"ssh-port", "70000"}).ok());
  EXPECT_FALSE(ParseCreateFlags({"push-pem", "no-verify"}).ok());
  EXPECT_FALSE(ParseCreateFlags({"pushpem"}).ok());
}

TEST(RunCli, MalformedTargetFailsBeforeContactingAnything) {
  Outcome o = Cli({"gvp", "snode1:gvs", "create", "push-pem"});
  EXPECT_EQ(o.rc, 1);
  EXPECT_EQ(o.calls, 0u);
  EXPECT_NE(o.err.find("Invalid secondary 'snode1:gvs'"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("georep command failed"), std::string::npos);
}

TEST(RunCli, UnknownVerbPrintsUsageAndExitsOne) {
  Outcome o = Cli({"gvp", "snode1::gvs", "frobnicate"});
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.err.find("Usage:"), std::string::npos);
  EXPECT_EQ(o.calls, 0u);
}

TEST(RunCli, VerbsOnAMissingSessionSayItDoesNotExist) {
  for (const char* verb : {"start", "stop", "pause", "resume", "delete", "config"}) {
    Outcome o = Cli({"gvp", "snode1::gvs", verb});
    EXPECT_EQ(o.rc, 1) << verb;
    EXPECT_NE(o.err.find("georep session between gvp and snode1::gvs does not exist."), std::string::npos) << o.err;
    EXPECT_EQ(o.calls, 0u) << verb;
  }
}

TEST(RunCli, CreateStopsAtTheFirstUnreachableGlusterd) {
  Outcome o = Cli({"gvp", "snode1::gvs", "create", "push-pem"});
  EXPECT_EQ(o.rc, 1);
  EXPECT_EQ(o.calls, 1u);  // volume info of the primary, nothing after it
  EXPECT_NE(o.err.find("cannot query the local glusterd"), std::string::npos) << o.err;
}

TEST(RunCli, InvalidPrimaryVolumeNameIsRefused) {
  Outcome o = Cli({"bad/vol", "snode1::gvs", "start"});
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.err.find("Invalid primary volume name 'bad/vol'"), std::string::npos);
}

}  // namespace
}  // namespace georep::cli

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "journal/format.h"
#include "journal/writer.h"

#include "sync/cli/gluster.h"
#include "sync/cli/paths.h"
#include "sync/cli/peer_ops.h"

namespace georep::cli {
namespace {

class NodeOps : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cli_peer_ops_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    ctx_.state_dir = tmpl;
    ctx_.node = "11111111-2222-3333-4444-555555555555";
    ctx_.hostname = "pnode1";
    ctx_.gate_path = "/usr/libexec/glusterfs/peer_georep";
  }
  void TearDown() override {
    std::string err;
    ASSERT_TRUE(RemoveTree(ctx_.state_dir, &err)) << err;
  }
  std::vector<PeerLine> Run(const std::string& op, std::map<std::string, std::string> args) {
    return ParsePeerLines(RunNodeOp(ctx_, op, args));
  }
  void MakeKey() {
    std::string err;
    ASSERT_TRUE(MakeDirs(KeysDir(ctx_.state_dir), 0700, &err));
    ASSERT_TRUE(WriteFileAtomic(NodeKeyPath(ctx_.state_dir), "secret", 0600, &err));
    ASSERT_TRUE(WriteFileAtomic(NodeKeyPath(ctx_.state_dir) + ".pub", "ssh-ed25519 AAAAkey georep@pnode1\n", 0644, &err));
  }
  NodeContext ctx_;
};

TEST_F(NodeOps, CreateWritesConfWithNodeLocalPathsAndKnownHosts) {
  MakeKey();
  auto lines = Run("session-write", {{"name", "gvp__snode1__gvs"}, {"mode", "create"},
                                     {"conf", "primary_volume=gvp\nstate=created\n"},
                                     {"known_hosts", "snode1 ssh-ed25519 AAAAhost\n"}});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].kind, "ok");
  EXPECT_EQ(lines[0].node, ctx_.node);
  std::string conf;
  ASSERT_TRUE(ReadFile(SessionConfPath(ctx_.state_dir, "gvp__snode1__gvs"), &conf));
  KeyValues kv = ParseKeyValues(conf);
  EXPECT_EQ(Lookup(kv, "primary_volume"), "gvp");
  EXPECT_EQ(Lookup(kv, "ssh_identity"), NodeKeyPath(ctx_.state_dir));
  EXPECT_EQ(Lookup(kv, "ssh_known_hosts"), KnownHostsPath(ctx_.state_dir, "gvp__snode1__gvs"));
  std::string kh;
  ASSERT_TRUE(ReadFile(KnownHostsPath(ctx_.state_dir, "gvp__snode1__gvs"), &kh));
  EXPECT_EQ(kh, "snode1 ssh-ed25519 AAAAhost\n");
}

TEST_F(NodeOps, CreateRefusesAnExistingSessionAndANodeWithoutKey) {
  auto nokey = Run("session-write", {{"name", "s"}, {"mode", "create"}, {"conf", "a=1\n"}});
  ASSERT_EQ(nokey.size(), 1u);
  EXPECT_EQ(nokey[0].kind, "error");
  EXPECT_NE(nokey[0].Get("msg").find("georep-sshkey generate"), std::string::npos);
  MakeKey();
  EXPECT_EQ(Run("session-write", {{"name", "s"}, {"mode", "create"}, {"conf", "a=1\n"}})[0].kind, "ok");
  auto again = Run("session-write", {{"name", "s"}, {"mode", "create"}, {"conf", "a=1\n"}});
  EXPECT_EQ(again[0].kind, "error");
  EXPECT_NE(again[0].Get("msg").find("already exists"), std::string::npos);
}

TEST_F(NodeOps, UpdateNeedsTheSessionAndKeepsNodeLocalPaths) {
  EXPECT_EQ(Run("session-write", {{"name", "s"}, {"mode", "update"}, {"conf", "a=1\n"}})[0].kind, "error");
  MakeKey();
  ASSERT_EQ(Run("session-write", {{"name", "s"}, {"mode", "create"}, {"conf", "state=created\n"}})[0].kind, "ok");
  ASSERT_EQ(Run("session-write", {{"name", "s"}, {"mode", "update"}, {"conf", "state=started\n"}})[0].kind, "ok");
  std::string conf;
  ASSERT_TRUE(ReadFile(SessionConfPath(ctx_.state_dir, "s"), &conf));
  EXPECT_EQ(Lookup(ParseKeyValues(conf), "state"), "started");
  EXPECT_EQ(Lookup(ParseKeyValues(conf), "ssh_identity"), NodeKeyPath(ctx_.state_dir));
}

TEST_F(NodeOps, SessionNamesThatEscapeTheStateDirAreRefused) {
  for (const char* bad : {"../x", "a/b", ".hidden", ""}) {
    EXPECT_EQ(Run("session-write", {{"name", bad}, {"mode", "any"}, {"conf", ""}})[0].kind, "error") << bad;
    EXPECT_EQ(Run("session-delete", {{"name", bad}})[0].kind, "error") << bad;
  }
}

TEST_F(NodeOps, DeleteKeepsGeorepdsPositionsUnlessResetSyncTime) {
  MakeKey();
  ASSERT_EQ(Run("session-write", {{"name", "s"}, {"mode", "create"}, {"conf", "state=stopped\n"}})[0].kind, "ok");
  std::string err;
  std::string cursor = SessionDir(ctx_.state_dir, "s") + "/cursors";
  ASSERT_TRUE(WriteFileAtomic(cursor, "42", 0644, &err));
  ASSERT_EQ(Run("session-delete", {{"name", "s"}, {"reset", "no"}})[0].kind, "ok");
  struct stat st {};
  EXPECT_NE(stat(SessionConfPath(ctx_.state_dir, "s").c_str(), &st), 0);
  EXPECT_EQ(stat(cursor.c_str(), &st), 0);
  ASSERT_EQ(Run("session-delete", {{"name", "s"}, {"reset", "yes"}})[0].kind, "ok");
  EXPECT_NE(stat(SessionDir(ctx_.state_dir, "s").c_str(), &st), 0);
}

// georepd may write one more status file while `delete` empties status/.
TEST_F(NodeOps, RemoveTreeEmptiesADirectoryAWriterKeepsFilling) {
  std::string err;
  std::string dir = StatusDir(ctx_.state_dir, "s");
  ASSERT_TRUE(MakeDirs(dir, 0755, &err)) << err;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(WriteFileAtomic(dir + "/old" + std::to_string(i), "x", 0644, &err));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    // Writes for ~0.2 s, then stops, as a worker does once session.conf is gone.
    for (int i = 0; i < 20 && !done.load(); ++i) {
      int fd = ::open((dir + "/late" + std::to_string(i)).c_str(), O_WRONLY | O_CREAT, 0644);
      if (fd >= 0) ::close(fd);
      ::usleep(10 * 1000);
    }
  });
  EXPECT_TRUE(RemoveTree(dir, &err)) << err;
  done = true;
  writer.join();
  // Whatever the writer managed after the last rmdir attempt is gone with it
  // or the directory is gone: never both a directory and an error.
  ASSERT_TRUE(RemoveTree(dir, &err)) << err;
  struct stat st {};
  EXPECT_NE(stat(dir.c_str(), &st), 0);
}

TEST_F(NodeOps, StatusReportsSessionsAndEveryBrickFile) {
  MakeKey();
  ASSERT_EQ(Run("session-write", {{"name", "s"}, {"mode", "create"}, {"conf", "state=started\nprimary_volume=gvp\n"}})[0].kind, "ok");
  std::string err;
  ASSERT_TRUE(MakeDirs(StatusDir(ctx_.state_dir, "s"), 0755, &err));
  ASSERT_TRUE(WriteFileAtomic(StatusDir(ctx_.state_dir, "s") + "/pnode1_b1.status",
                              "primary_brick=pnode1:/b1\nstatus=Active\nfaulty_cause=\n", 0644, &err));
  auto lines = Run("status", {});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].kind, "session");
  EXPECT_EQ(lines[0].Get("state"), "started");
  EXPECT_EQ(lines[1].kind, "brick");
  EXPECT_EQ(lines[1].Get("primary_brick"), "pnode1:/b1");
  EXPECT_EQ(lines[1].Get("status"), "Active");
}

TEST_F(NodeOps, ClockReportsTimeAndNtpState) {
  auto lines = Run("clock", {});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_GT(std::stoll(lines[0].Get("now_ns")), 1600000000LL * 1000000000LL);
  EXPECT_TRUE(lines[0].Get("ntp") == "synced" || lines[0].Get("ntp") == "unsynced");
}

TEST_F(NodeOps, UnknownOperationIsAnErrorLine) {
  auto lines = Run("frobnicate", {});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].kind, "error");
}

TEST_F(NodeOps, JournalReportsAWriterOnlyWhereTheLockIsHeld) {
  // Two bricks of this node: one whose journal lock a brick process holds
  // (simulated by an exclusive flock on its own open file description), one
  // without a journal at all (translator never loaded). A third brick
  // belongs to another node and is not reported here.
  std::string live = ctx_.state_dir + "/brick-live", dead = ctx_.state_dir + "/brick-dead", err;
  ASSERT_TRUE(MakeDirs(journal::JournalRoot(live), 0755, &err)) << err;
  ASSERT_TRUE(MakeDirs(dead, 0755, &err)) << err;
  std::string lock = journal::JournalRoot(live) + "/" + journal::kWriterLockFile;
  int fd = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
  std::string bricks = ctx_.node + " " + live + "\n" + ctx_.node + " " + dead + "\n" +
                       "99999999-2222-3333-4444-555555555555 /elsewhere\n";
  auto lines = Run("journal", {{"bricks", bricks}});
  close(fd);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].kind, "journal");
  EXPECT_EQ(lines[0].Get("path"), live);
  EXPECT_EQ(lines[0].Get("writer"), "yes");
  EXPECT_EQ(lines[1].Get("path"), dead);
  EXPECT_EQ(lines[1].Get("writer"), "no");
  // Released: nobody holds it any more.
  lines = Run("journal", {{"bricks", ctx_.node + " " + live}});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].Get("writer"), "no");
}

TEST_F(NodeOps, JournalAnswersEvenWithoutBricksOnThisNode) {
  auto lines = Run("journal", {{"bricks", "99999999-2222-3333-4444-555555555555 /elsewhere\n"}});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].kind, "none");
  EXPECT_EQ(lines[0].node, ctx_.node);
}

TEST(AuthorizedKeys, KeysAreRestrictedToTheGateAndReplacedNotDuplicated) {
  std::string gate = "/usr/libexec/glusterfs/peer_georep gate";
  std::string existing =
      "ssh-ed25519 AAAAadmin admin@host\n"
      "command=\"/bin/sh\" ssh-ed25519 AAAAnode1 georep@pnode1\n";
  std::string merged = MergeAuthorizedKeys(existing, gate, {"ssh-ed25519 AAAAnode1 georep@pnode1",
                                                            "ssh-ed25519 AAAAnode2 georep@pnode2"});
  EXPECT_NE(merged.find("ssh-ed25519 AAAAadmin admin@host\n"), std::string::npos);
  EXPECT_EQ(merged.find("/bin/sh"), std::string::npos);
  EXPECT_NE(merged.find("restrict,command=\"" + gate + "\" ssh-ed25519 AAAAnode1 georep@pnode1\n"), std::string::npos);
  EXPECT_NE(merged.find("restrict,command=\"" + gate + "\" ssh-ed25519 AAAAnode2 georep@pnode2\n"), std::string::npos);
  EXPECT_EQ(MergeAuthorizedKeys(merged, gate, {"ssh-ed25519 AAAAnode2 georep@pnode2"}).size(), merged.size());
}

TEST(Gate, AcceptsTheReceiverWithPlainAndQuotedWords) {
  std::vector<std::string> words;
  std::string why;
  ASSERT_TRUE(ParseGateCommand("georep-receiver --volume 'gvs' --session 'a b'\\''c'", &words, &why)) << why;
  ASSERT_EQ(words.size(), 5u);
  EXPECT_EQ(words[2], "gvs");
  EXPECT_EQ(words[4], "a b'c");
  ASSERT_TRUE(ParseGateCommand("/opt/georep/bin/georep-receiver --volume gvs", &words, &why));
}

TEST(Gate, RefusesOtherCommandsAndShellSyntax) {
  std::vector<std::string> words;
  std::string why;
  for (const char* bad : {"", "sh", "bash -c id", "georep-receiver; id", "georep-receiver $(id)",
                          "georep-receiver `id`", "georep-receiver | tee x", "georep-receiver 'unterminated",
                          "georep-receiver > /etc/passwd", "georep-receiverx", "georep-receiver\nid"}) {
    EXPECT_FALSE(ParseGateCommand(bad, &words, &why)) << bad;
  }
}

TEST(PeerLines, RoundTripAndSkipNoise) {
  std::string text = "glusterd says hello\n" +
                     FormatPeerLine("uuid-1", "clock", {{"now_ns", "5"}, {"msg", "a b\nc=d"}}) + "\n" +
                     "GEOREP1 broken%zz x\n";
  std::vector<PeerLine> lines = ParsePeerLines(text);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].node, "uuid-1");
  EXPECT_EQ(lines[0].kind, "clock");
  EXPECT_EQ(lines[0].Get("msg"), "a b\nc=d");
}

TEST(VolumeInfoXml, ParsesBricksStatusAndOptions) {
  const std::string xml = R"(<?xml version="1.0"?>
<cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><volInfo><volumes><volume>
<name>pv</name><id>6b86134e-8150-492d-9449-1ab1e5511ce5</id><status>1</status><statusStr>Started</statusStr>
<typeStr>Distribute</typeStr><bricks>
<brick uuid="u1">127.1.1.1:/b/1<name>127.1.1.1:/b/1</name><hostUuid>u1</hostUuid><isArbiter>0</isArbiter></brick>
<brick uuid="u2">127.1.1.2:/b/2<name>127.1.1.2:/b/2</name><hostUuid>u2</hostUuid><isArbiter>0</isArbiter></brick>
</bricks><options><option><name>features.read-only</name><value>on</value></option></options>
</volume><count>1</count></volumes></volInfo></cliOutput>)";
  Result<VolumeInfo> v = ParseVolumeInfoXml(xml, "pv");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->started());
  ASSERT_EQ(v->bricks.size(), 2u);
  EXPECT_EQ(v->bricks[1].host, "127.1.1.2");
  EXPECT_EQ(v->bricks[1].path, "/b/2");
  EXPECT_EQ(v->bricks[1].node_uuid, "u2");
  EXPECT_EQ(v->Option("features.read-only"), "on");
}

TEST(VolumeInfoXml, MissingVolumeIsNotFound) {
  const std::string xml =
      "<cliOutput><opRet>-1</opRet><opErrno>30806</opErrno><opErrstr>Volume does not exist</opErrstr></cliOutput>";
  Result<VolumeInfo> v = ParseVolumeInfoXml(xml, "nosuch");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kNotFound);
  EXPECT_EQ(v.status().message(), "Volume nosuch does not exist");
}

TEST(VolumeStatusXml, BricksOnlineAndOfflineDaemonsSkipped) {
  const std::string xml = R"(<?xml version="1.0"?>
<cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><volStatus><volumes><volume><volName>pv</volName>
<nodeCount>3</nodeCount>
<node><hostname>127.1.1.1</hostname><path>/b/1</path><peerid>u1</peerid><status>1</status><port>49152</port>
<ports><tcp>49152</tcp><rdma>N/A</rdma></ports><pid>101</pid></node>
<node><hostname>127.1.1.2</hostname><path>/b/2</path><peerid>u2</peerid><status>0</status><port>N/A</port>
<ports><tcp>N/A</tcp><rdma>N/A</rdma></ports><pid>-1</pid></node>
<node><hostname>Self-heal Daemon</hostname><path>localhost</path><peerid>u1</peerid><status>1</status></node>
</volume></volumes></volStatus></cliOutput>)";
  Result<std::map<std::string, bool>> on = ParseVolumeStatusXml(xml, "pv");
  ASSERT_TRUE(on.ok()) << on.status().message();
  EXPECT_EQ(*on, (std::map<std::string, bool>{{"127.1.1.1:/b/1", true}, {"127.1.1.2:/b/2", false}}));
}

TEST(VolumeStatusXml, StoppedVolumeHasNoOnlineBrickAndMissingIsNotFound) {
  Result<std::map<std::string, bool>> on = ParseVolumeStatusXml(
      "<cliOutput><opRet>-1</opRet><opErrno>30800</opErrno><opErrstr>Volume pv is not started</opErrstr></cliOutput>",
      "pv");
  ASSERT_TRUE(on.ok()) << on.status().message();
  EXPECT_TRUE(on->empty());
  on = ParseVolumeStatusXml(
      "<cliOutput><opRet>-1</opRet><opErrno>30800</opErrno><opErrstr>Volume nosuch does not exist</opErrstr></cliOutput>",
      "nosuch");
  ASSERT_FALSE(on.ok());
  EXPECT_EQ(on.status().code(), Code::kNotFound);
}

TEST(PoolList, ParsesUuidHostAndState) {
  std::vector<PoolPeer> p = ParsePoolList(
      "UUID\t\t\t\t\tHostname \tState\n5013e205-2642-46c9-85e6-686d1249e201\t127.1.1.2\tConnected \n"
      "ca25b4a5-e834-4d91-a7ed-eb93da3c8c87\tlocalhost\tDisconnected \n");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_TRUE(p[0].connected);
  EXPECT_EQ(p[1].hostname, "localhost");
  EXPECT_FALSE(p[1].connected);
}

}  // namespace
}  // namespace georep::cli

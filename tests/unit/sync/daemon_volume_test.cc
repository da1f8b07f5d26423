// Volume layout parsing (gluster --xml output) and the Active/Passive rule.
#include <gtest/gtest.h>

#include "sync/daemon/ssh_transport.h"
#include "sync/daemon/volume_info.h"

namespace georep::daemon {
namespace {

const char* kInfo = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><volInfo><volumes>
<volume><name>other</name><id>x</id><replicaCount>1</replicaCount><bricks>
<brick uuid="u">h9:/o<name>h9:/o</name><hostUuid>u</hostUuid><isArbiter>0</isArbiter></brick></bricks></volume>
<volume><name>pv</name><id>5d1c</id><status>1</status><brickCount>6</brickCount><distCount>2</distCount>
<replicaCount>3</replicaCount><arbiterCount>1</arbiterCount><disperseCount>0</disperseCount><bricks>
<brick uuid="a">h1:/b/1<name>h1:/b/1</name><hostUuid>a</hostUuid><isArbiter>0</isArbiter></brick>
<brick uuid="b">h2:/b/1<name>h2:/b/1</name><hostUuid>b</hostUuid><isArbiter>0</isArbiter></brick>
<brick uuid="c">h3:/b/1<name>h3:/b/1</name><hostUuid>c</hostUuid><isArbiter>1</isArbiter></brick>
<brick uuid="a">h1:/b/2<name>h1:/b/2</name><hostUuid>a</hostUuid><isArbiter>0</isArbiter></brick>
<brick uuid="b">h2:/b/2<name>h2:/b/2</name><hostUuid>b</hostUuid><isArbiter>0</isArbiter></brick>
<brick uuid="c">h3:/b/2<name>h3:/b/2</name><hostUuid>c</hostUuid><isArbiter>1</isArbiter></brick>
</bricks></volume></volumes></volInfo></cliOutput>)";

std::string StatusXml(int b1_online, int b2_online) {
  return std::string(R"(<cliOutput><opRet>0</opRet><volStatus><volumes><volume><volName>pv</volName>)") +
         "<node><hostname>h1</hostname><path>/b/1</path><peerid>a</peerid><status>" +
         std::to_string(b1_online) + "</status><port>49152</port></node>" +
         "<node><hostname>h2</hostname><path>/b/1</path><peerid>b</peerid><status>" +
         std::to_string(b2_online) + "</status><port>49153</port></node>" +
         "<node><hostname>h3</hostname><path>/b/1</path><peerid>c</peerid><status>1</status></node>"
         "<node><hostname>h1</hostname><path>/b/2</path><peerid>a</peerid><status>1</status></node>"
         "<node><hostname>h2</hostname><path>/b/2</path><peerid>b</peerid><status>1</status></node>"
         "<node><hostname>Self-heal Daemon</hostname><path>localhost</path><status>1</status></node>"
         "</volume></volumes></volStatus></cliOutput>";
}

TEST(VolumeLayout, ParsesBricksSetsAndArbiters) {
  auto l = ParseVolumeInfoXml(kInfo, "pv");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->set_size, 3);
  ASSERT_EQ(l->bricks.size(), 6u);
  EXPECT_EQ(l->bricks[0].id(), "h1:/b/1");
  EXPECT_EQ(l->bricks[3].set_index, 1);
  EXPECT_TRUE(l->bricks[2].arbiter);
  EXPECT_FALSE(l->bricks[1].arbiter);
}

TEST(VolumeLayout, UnknownVolumeIsNotFoundNamingTheFix) {
  auto l = ParseVolumeInfoXml(kInfo, "nope");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), Code::kNotFound);
  EXPECT_NE(l.status().message().find("primary_volume"), std::string::npos);
}

TEST(VolumeLayout, FirstOnlineNonArbiterBrickOfEachSetIsActive) {
  auto l = ParseVolumeInfoXml(kInfo, "pv");
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(ApplyVolumeStatusXml(StatusXml(1, 1), &*l).ok());
  EXPECT_TRUE(IsActiveBrick(*l, 0));
  EXPECT_FALSE(IsActiveBrick(*l, 1));
  EXPECT_FALSE(IsActiveBrick(*l, 2));  // arbiter: never Active
  EXPECT_TRUE(IsActiveBrick(*l, 3));   // one Active per set
  EXPECT_FALSE(IsActiveBrick(*l, 4));
}

TEST(VolumeLayout, TakeoverWhenTheActiveBrickGoesOffline) {
  auto l = ParseVolumeInfoXml(kInfo, "pv");
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(ApplyVolumeStatusXml(StatusXml(0, 1), &*l).ok());
  EXPECT_FALSE(IsActiveBrick(*l, 0));
  EXPECT_TRUE(IsActiveBrick(*l, 1));
  // Both data bricks down: the arbiter still does not take over.
  ASSERT_TRUE(ApplyVolumeStatusXml(StatusXml(0, 0), &*l).ok());
  EXPECT_FALSE(IsActiveBrick(*l, 0));
  EXPECT_FALSE(IsActiveBrick(*l, 1));
  EXPECT_FALSE(IsActiveBrick(*l, 2));
}

TEST(VolumeLayout, StoppedVolumeHasNoActiveBrick) {
  auto l = ParseVolumeInfoXml(kInfo, "pv");
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(ApplyVolumeStatusXml("<cliOutput><opRet>-1</opRet><opErrstr>Volume pv is not started</opErrstr></cliOutput>", &*l).ok());
  for (size_t i = 0; i < l->bricks.size(); ++i) EXPECT_FALSE(IsActiveBrick(*l, i));
}

TEST(VolumeLayout, PlainDistributeMakesEveryBrickActive) {
  const char* xml = R"(<cliOutput><opRet>0</opRet><volInfo><volumes><volume><name>d</name>
<replicaCount>1</replicaCount><disperseCount>0</disperseCount><bricks>
<brick uuid="a">h1:/x<name>h1:/x</name><isArbiter>0</isArbiter></brick>
<brick uuid="b">h2:/y<name>h2:/y</name><isArbiter>0</isArbiter></brick>
</bricks></volume></volumes></volInfo></cliOutput>)";
  auto l = ParseVolumeInfoXml(xml, "d");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(IsActiveBrick(*l, 0));
  EXPECT_TRUE(IsActiveBrick(*l, 1));
}

TEST(RunCommand, CollectsOutputAndExitCodeAndKillsOnTimeout) {
  auto r = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"}, std::chrono::milliseconds(5000));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  auto slow = RunCommand({"sleep", "10"}, std::chrono::milliseconds(200));
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.status().code(), Code::kUnavailable);
  auto missing = RunCommand({"/nonexistent/georep-cmd"}, std::chrono::milliseconds(2000));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->exit_code, 127);
}

TEST(ShellQuote, QuotesForAPosixShell) {
  EXPECT_EQ(ShellQuote("sv"), "'sv'");
  EXPECT_EQ(ShellQuote("a b;rm -rf /"), "'a b;rm -rf /'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
}

}  // namespace
}  // namespace georep::daemon

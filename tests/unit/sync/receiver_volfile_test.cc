// GfapiVolume::AddGfidAccess: the gfid-access translator goes on top of
// whatever volume the client volfile defines last (the graph's top).
#include <string>

#include <gtest/gtest.h>

#include "sync/receiver/gfapi_volume.h"

namespace georep::receiver {
namespace {

const char* kVolfile =
    "volume sv-client-0\n"
    "    type protocol/client\n"
    "    option remote-subvolume /b1\n"
    "end-volume\n"
    "\n"
    "volume sv-dht\n"
    "    type cluster/distribute\n"
    "    subvolumes sv-client-0\n"
    "end-volume\n"
    "\n"
    "volume sv\n"
    "    type debug/io-stats\n"
    "    subvolumes sv-dht\n"
    "end-volume";  // no trailing newline, as glusterd may send it

TEST(ReceiverVolfile, GfidAccessGoesOnTopOfTheLastVolume) {
  Result<std::string> out = GfapiVolume::AddGfidAccess(kVolfile, "sv");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const std::string tail = out->substr(std::string(kVolfile).size());
  EXPECT_EQ(tail,
            "\n\nvolume sv-georep-gfid-access\n"
            "    type features/gfid-access\n"
            "    subvolumes sv\n"
            "end-volume\n");
  EXPECT_EQ(out->find(kVolfile), 0u);  // the original graph is untouched
}

const char* kWithWriteBehind =
    "volume sv-client-0\n"
    "    type protocol/client\n"
    "end-volume\n"
    "\n"
    "volume sv-dht\n"
    "    type cluster/distribute\n"
    "    subvolumes sv-client-0\n"
    "end-volume\n"
    "\n"
    "volume sv-write-behind\n"
    "    type performance/write-behind\n"
    "    option flush-behind on\n"
    "    subvolumes sv-dht\n"
    "end-volume\n"
    "\n"
    "volume sv-md-cache\n"
    "    type performance/md-cache\n"
    "    subvolumes sv-write-behind\n"
    "end-volume\n";

TEST(ReceiverVolfile, WriteBehindIsTakenOutAndItsParentGetsItsChild) {
  const std::string out = GfapiVolume::RemoveWriteBehind(kWithWriteBehind);
  EXPECT_EQ(out.find("write-behind"), std::string::npos) << out;
  EXPECT_NE(out.find("volume sv-md-cache\n    type performance/md-cache\n    subvolumes sv-dht\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("volume sv-dht\n    type cluster/distribute\n    subvolumes sv-client-0\n"),
            std::string::npos);
  Result<std::string> graph = GfapiVolume::AddGfidAccess(kWithWriteBehind, "sv");
  ASSERT_TRUE(graph.ok());
  EXPECT_EQ(graph->find("write-behind"), std::string::npos);
  EXPECT_NE(graph->find("    subvolumes sv-md-cache\nend-volume\n"), std::string::npos);
}

TEST(ReceiverVolfile, VolfileWithoutWriteBehindIsKept) {
  EXPECT_EQ(GfapiVolume::RemoveWriteBehind(kVolfile), kVolfile);
}

TEST(ReceiverVolfile, TextWithoutVolumesIsRefused) {
  Result<std::string> out = GfapiVolume::AddGfidAccess("# nothing here\n", "sv");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(out.status().message().find("client volfile"), std::string::npos);
}

TEST(ReceiverVolfile, VolfileWithAShellCommandIsRefused) {
  // GlusterFS's parser would run `...` as a shell command.
  const std::string evil = std::string(kVolfile) + "\n# `touch /tmp/pwned`\n";
  Result<std::string> out = GfapiVolume::AddGfidAccess(evil, "sv");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("backtick"), std::string::npos);
}

}  // namespace
}  // namespace georep::receiver

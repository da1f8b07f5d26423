#include <gtest/gtest.h>

#include "sync/cli/status_view.h"

namespace georep::cli {
namespace {

SessionView View(const std::string& state, const std::string& checkpoint = "") {
  SessionView v;
  v.name = "gvp__snode1__gvs";
  v.conf = {{"primary_volume", "gvp"}, {"secondary_host", "snode1"}, {"secondary_user", "geoaccount"},
            {"secondary_volume", "gvs"}, {"state", state}, {"checkpoint", checkpoint}};
  v.bricks = {{"pnode1", "/bricks/b1", "uuid-1"}, {"pnode2", "/bricks/b2", "uuid-2"}};
  return v;
}

PeerLine BrickLine(const std::string& node, const std::string& brick, KeyValues extra) {
  PeerLine pl;
  pl.node = node;
  pl.kind = "brick";
  pl.fields = {{"session", "gvp__snode1__gvs"}, {"primary_brick", brick}};
  for (auto& p : extra) pl.fields.push_back(p);
  return pl;
}

TEST(BuildStatusRows, NeverStartedSessionShowsCreatedForEveryBrick) {
  std::vector<StatusRow> rows = BuildStatusRows(View("created"), {});
  ASSERT_EQ(rows.size(), 2u);
  for (const StatusRow& r : rows) {
    EXPECT_EQ(r.status, "Created");
    EXPECT_EQ(r.secondary_user, "geoaccount");
    EXPECT_EQ(r.secondary, "snode1::gvs");
    EXPECT_EQ(r.last_synced, "N/A");
  }
  EXPECT_EQ(rows[1].primary_node, "pnode2");
}

TEST(BuildStatusRows, StoppedSessionShowsStoppedEvenWithStaleStatusFiles) {
  std::vector<StatusRow> rows =
      BuildStatusRows(View("stopped"), {BrickLine("uuid-1", "pnode1:/bricks/b1", {{"status", "Active"}})});
  EXPECT_EQ(rows[0].status, "Stopped");
  EXPECT_EQ(rows[1].status, "Stopped");
}

TEST(BuildStatusRows, StartedSessionUsesGeorepdsStatusAndInitializingWithout) {
  std::vector<StatusRow> rows = BuildStatusRows(
      View("started"), {BrickLine("uuid-1", "pnode1:/bricks/b1",
                                  {{"status", "Active"}, {"crawl_status", "Journal Crawl"}, {"secondary_node", "snode2"},
                                   {"last_synced", "0"}, {"pending_entry", "3"}})});
  EXPECT_EQ(rows[0].status, "Active");
  EXPECT_EQ(rows[0].crawl_status, "Journal Crawl");
  EXPECT_EQ(rows[0].secondary_node, "snode2");
  EXPECT_EQ(rows[0].last_synced, "N/A");
  EXPECT_EQ(rows[0].entry, "3");
  EXPECT_EQ(rows[1].status, "Initializing");
}

TEST(BuildStatusRows, FaultyAlwaysCarriesACause) {
  std::vector<StatusRow> rows = BuildStatusRows(
      View("started"), {BrickLine("uuid-1", "pnode1:/bricks/b1", {{"status", "faulty"}, {"faulty_cause", "ssh: auth failed"}}),
                        BrickLine("uuid-2", "pnode2:/bricks/b2", {{"status", "Faulty"}})});
  EXPECT_EQ(rows[0].status, "Faulty");
  EXPECT_EQ(rows[0].faulty_cause, "ssh: auth failed");
  EXPECT_FALSE(rows[1].faulty_cause.empty());
  std::string table = FormatStatusTable(rows, true);
  EXPECT_NE(table.find("Faulty: pnode1:/bricks/b1: ssh: auth failed"), std::string::npos) << table;
}

TEST(BuildStatusRows, StatusFileNotRewrittenForLongIsFaultyNamingGeorepd) {
  std::vector<StatusRow> rows = BuildStatusRows(
      View("started"),
      {BrickLine("uuid-1", "pnode1:/bricks/b1", {{"status", "Active"}, {"age_s", "3600"}, {"updated", "1700000000"}}),
       BrickLine("uuid-2", "pnode2:/bricks/b2", {{"status", "Active"}, {"age_s", "1"}})});
  EXPECT_EQ(rows[0].status, "Faulty");
  EXPECT_NE(rows[0].faulty_cause.find("georepd on pnode1 has not written this worker's status for 3600 s"),
            std::string::npos)
      << rows[0].faulty_cause;
  EXPECT_EQ(rows[1].status, "Active");
  EXPECT_TRUE(rows[1].faulty_cause.empty());
}

TEST(BuildStatusRows, StoppedSessionIgnoresTheAgeOfStatusFiles) {
  std::vector<StatusRow> rows = BuildStatusRows(
      View("stopped"), {BrickLine("uuid-1", "pnode1:/bricks/b1", {{"status", "Stopped"}, {"age_s", "3600"}})});
  EXPECT_EQ(rows[0].status, "Stopped");
}

TEST(BuildStatusRows, CheckpointCompletionOnlyCountsForTheCurrentCheckpoint) {
  KeyValues done = {{"status", "Active"}, {"checkpoint_completed", "yes"}, {"checkpoint_completion_time", "1700000100"}};
  KeyValues old = done;
  old.emplace_back("checkpoint", "1600000000");
  std::vector<StatusRow> rows = BuildStatusRows(
      View("started", "1700000000"),
      {BrickLine("uuid-1", "pnode1:/bricks/b1", done), BrickLine("uuid-2", "pnode2:/bricks/b2", old)});
  EXPECT_EQ(rows[0].checkpoint_completed, "Yes");
  EXPECT_NE(rows[0].checkpoint_completion_time, "N/A");
  EXPECT_NE(rows[0].checkpoint_time, "N/A");
  EXPECT_EQ(rows[1].checkpoint_completed, "No");
  EXPECT_EQ(rows[1].checkpoint_completion_time, "N/A");
}

TEST(BuildStatusRows, PausedSessionShowsPaused) {
  std::vector<StatusRow> rows =
      BuildStatusRows(View("paused"), {BrickLine("uuid-1", "pnode1:/bricks/b1", {{"status", "Active"}})});
  EXPECT_EQ(rows[0].status, "Paused");
  EXPECT_EQ(rows[1].status, "Paused");
}

TEST(FormatStatusTable, HasGlusterFsColumnsAndDetailColumns) {
  std::vector<StatusRow> rows = BuildStatusRows(View("created"), {});
  std::string plain = FormatStatusTable(rows, false);
  EXPECT_NE(plain.find("PRIMARY NODE    PRIMARY VOL    PRIMARY BRICK"), std::string::npos) << plain;
  EXPECT_NE(plain.find("SECONDARY USER"), std::string::npos);
  EXPECT_NE(plain.find("LAST_SYNCED"), std::string::npos);
  EXPECT_EQ(plain.find("CHECKPOINT TIME"), std::string::npos);
  std::string detail = FormatStatusTable(rows, true);
  for (const char* col : {"ENTRY", "DATA", "META", "FAILURES", "CHECKPOINT TIME", "CHECKPOINT COMPLETED",
                          "CHECKPOINT COMPLETION TIME"}) {
    EXPECT_NE(detail.find(col), std::string::npos) << col;
  }
}

TEST(FormatStatus, XmlAndJsonEscapeValues) {
  SessionView v = View("started");
  std::vector<StatusRow> rows =
      BuildStatusRows(v, {BrickLine("uuid-1", "pnode1:/bricks/b1", {{"status", "Faulty"}, {"faulty_cause", "a<b \"c\""}})});
  std::string xml = FormatStatusXml({{v.name, rows}}, true);
  EXPECT_NE(xml.find("<faulty_cause>a&lt;b &quot;c&quot;</faulty_cause>"), std::string::npos) << xml;
  std::string json = FormatStatusJson({{v.name, rows}}, true);
  EXPECT_NE(json.find("\"faulty_cause\": \"a<b \\\"c\\\"\""), std::string::npos) << json;
}

TEST(StatusView, DetailShowsTheLastUnrepairedFailureOfAnActiveBrick) {
  auto rows = BuildStatusRows(
      View("started"),
      {BrickLine("uuid-1", "pnode1:/bricks/b1",
                 {{"status", "Active"}, {"failures", "1"},
                  {"last_failure", "/d: a non-empty stale directory holds the name; remove it on the secondary"}})});
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0].last_failure, "/d: a non-empty stale directory holds the name; remove it on the secondary");
  std::string detail = FormatStatusTable(rows, true);
  EXPECT_NE(detail.find("Last failure: pnode1:/bricks/b1: /d: a non-empty stale directory"), std::string::npos)
      << detail;
  EXPECT_EQ(FormatStatusTable(rows, false).find("Last failure"), std::string::npos);
  EXPECT_NE(FormatStatusJson({{"s", rows}}, true).find("\"last_failure\": \"/d: a non-empty"), std::string::npos);
}

}  // namespace
}  // namespace georep::cli

// `georep status [detail]`: one row per primary brick, gathered from georepd's
// status files on every primary node, in GlusterFS's columns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sync/cli/gluster.h"
#include "sync/cli/text_util.h"

namespace georep::cli {

// A status file older than this (georepd rewrites it every second) makes
// the brick Faulty, with the cause: georepd is not running there, or hangs.
constexpr long long kStaleStatusS = 15;

struct StatusRow {
  std::string primary_node;
  std::string primary_volume;
  std::string primary_brick;
  std::string secondary_user;
  std::string secondary;  // host::volume as given at create
  std::string secondary_node = "N/A";
  std::string status;
  std::string crawl_status = "N/A";
  std::string last_synced = "N/A";
  std::string entry = "N/A", data = "N/A", meta = "N/A", failures = "N/A";
  std::string checkpoint_time = "N/A", checkpoint_completed = "N/A", checkpoint_completion_time = "N/A";
  std::string faulty_cause;
  // The newest op the secondary refused and georepd could not repair (path,
  // cause, fix), shown in detail even while the brick stays Active: without
  // it a failure would be only a number in FAILURES.
  std::string last_failure;
};

struct SessionView {
  std::string name;
  KeyValues conf;            // the local node's session.conf
  std::vector<Brick> bricks;  // of the primary volume, in volume order
};

// For a "brick" PeerLine whose status file georepd has not rewritten for
// longer than kStaleStatusS: for how many seconds (its georepd is not
// running there, or hangs). nullopt for a fresh file or an unknown age.
std::optional<long long> SilentFor(const PeerLine& brick_line);

// Builds the rows of one session. `brick_lines` are the "brick" PeerLines of
// all nodes for this session; `node_names` maps a node UUID to the host name
// glusterd uses for it in the brick list. Bricks without a status file show
// what the session state implies (Created, Stopped, Paused, Initializing).
std::vector<StatusRow> BuildStatusRows(const SessionView& session, const std::vector<PeerLine>& brick_lines);

// GlusterFS prints a blank-separated table with a dashed rule under the header.
std::string FormatStatusTable(const std::vector<StatusRow>& rows, bool detail);
std::string FormatStatusXml(const std::vector<std::pair<std::string, std::vector<StatusRow>>>& sessions, bool detail);
std::string FormatStatusJson(const std::vector<std::pair<std::string, std::vector<StatusRow>>>& sessions, bool detail);

// Status names GlusterFS uses, from georepd's (any case) values.
std::string NormalizeStatus(const std::string& s);
// LAST_SYNCED and checkpoint times: unix seconds -> local time; 0/empty -> N/A.
std::string DisplayTime(const std::string& value);

}  // namespace georep::cli

// BrickStatus: what a brick worker reports to the `georep status` CLI through
// <state-dir>/sessions/<name>/status/<brick-id-sanitized>.status.
//
// The file is key=value lines (same syntax as session.conf), replaced
// atomically (write a temporary file in the same directory, rename over the
// old one), so a reader on any node sees either the old or the new content,
// never a mix. georepd rewrites it about every second and on every state change.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"

namespace georep::daemon {

struct BrickStatus {
  std::string primary_node;
  std::string primary_brick;      // host:/path as in `gluster volume info`
  std::string secondary_node;     // host the worker is connected to ("" when not)
  std::string status = "Initializing";  // Initializing|Active|Passive|Faulty|Paused|Stopped
  std::string crawl_status = "N/A";     // Initial Crawl|Hybrid Crawl (resync)|Journal Crawl|N/A
  int64_t last_synced = 0;        // unix seconds of the newest change applied on the secondary
  uint64_t pending_entry = 0;
  uint64_t pending_data = 0;
  uint64_t pending_meta = 0;
  uint64_t failures = 0;          // ops the receiver refused that nothing could repair (see last_failure)
  uint64_t replays_skipped = 0;   // refused ops the primary has moved on from (history, nothing lost)
  uint64_t stale_replaced = 0;    // stale secondary entries replaced / missing objects re-created
  std::string last_failure;       // the newest of `failures`: op, cause and fix ("" = none)
  std::string faulty_cause;
  std::string checkpoint;         // the checkpoint these fields refer to ("" = none)
  bool checkpoint_completed = false;
  int64_t checkpoint_completion_time = 0;
  uint64_t bytes_sent = 0;
  uint64_t ops_applied = 0;
  uint64_t batches = 0;
  uint64_t reconnects = 0;
  uint64_t journal_seq = 0;       // newest journal record read
  uint64_t cursor_seq = 0;        // persisted consumer cursor
  int64_t updated = 0;            // unix seconds when written

  bool operator==(const BrickStatus&) const = default;
};

// "host:/bricks/b1" -> "host_bricks_b1": safe as a file name and as part of a
// journal consumer name ([A-Za-z0-9._-], no leading '.').
std::string SanitizeId(const std::string& id);

std::string RenderStatus(const BrickStatus& s);
// Parses RenderStatus output (used by tests and by the CLI's reader).
Result<std::map<std::string, std::string>> ParseKeyValues(const std::string& text);
// Writes `s` to `path` atomically, creating the directory if missing.
Status WriteStatusFile(const std::string& path, const BrickStatus& s);

}  // namespace georep::daemon

// The decisions behind `create`'s checks, kept free of I/O so that unit tests
// can feed them every case. Each returns the message the admin sees: cause
// and fix in one sentence, or "" when the check passes.
#pragma once

#include <string>
#include <vector>

namespace georep::cli {

// Largest clock difference between any node and the node running the CLI.
constexpr long long kMaxClockOffsetMs = 1000;

struct NodeClock {
  std::string node;      // host name for messages
  long long now_ns = 0;  // the node's CLOCK_REALTIME when it answered
  std::string ntp;       // "synced" / "unsynced"
  // The local clock just before the request was sent and just after the
  // answer came back: the node's reading must fall inside, give or take the
  // tolerance.
  long long sent_ns = 0;
  long long received_ns = 0;
};
// Estimated offset of the node's clock (ms, signed), 0 inside the window.
long long ClockOffsetMs(const NodeClock& c);
std::string CheckClocks(const std::vector<NodeClock>& clocks, long long max_offset_ms);

struct NodeAccount {
  std::string node;
  bool exists = false;
  long long uid = -1;
  long long gid = -1;
};
// Missing accounts fail the check; UID/GID that differ between nodes are
// reported in `warning` (ownership is preserved by number on the secondary).
std::string CheckAccounts(const std::string& user, const std::vector<NodeAccount>& accounts,
                          std::string* warning);

struct SessionRef {
  std::string name;
  std::string primary_volume;
  std::string secondary_host;
  std::string secondary_volume;
};
struct DirectionFacts {
  std::string primary_volume;
  std::string secondary_host;
  std::string secondary_volume;
  std::vector<std::string> primary_hosts;        // names of this cluster's nodes
  std::vector<SessionRef> secondary_sessions;    // sessions defined on the secondary cluster
  bool primary_read_only = false;                // features.read-only on the primary volume
  bool primary_empty = false;
  bool secondary_empty = true;
  bool usage_known = false;
};
// The direction guard: refuse when the secondary already replicates into this
// primary volume, or when the volumes look swapped.
std::string CheckDirection(const DirectionFacts& f);

std::string CheckEmpty(const std::string& volume, const std::string& host, const std::vector<std::string>& entries);
std::string CheckRoom(const std::string& secondary_volume, const std::string& host, unsigned long long primary_used,
                      unsigned long long secondary_avail);
std::string HumanBytes(unsigned long long bytes);

}  // namespace georep::cli

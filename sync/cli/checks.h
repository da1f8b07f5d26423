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

// The journal writer. Every brick of the primary volume must run georep's
// translator, or the changes made on it are never recorded: glusterd puts it
// in the brick graph for `user.xlator.georep posix` (directly above posix, so
// it sees every change that reaches the disk), and a brick process loads it
// only when it starts.
constexpr const char* kTranslatorOption = "user.xlator.georep";
constexpr const char* kTranslatorPlacement = "posix";

// "gluster volume stop <vol> && gluster volume start <vol>".
std::string VolumeRestartCommand(const std::string& pvol);
// The refusal when the option holds another placement ("" when `value` is
// empty or posix).
std::string TranslatorOptionConflict(const std::string& pvol, const std::string& value);
// The refusal for start/resume when the option is not set at all.
std::string TranslatorOptionMissing(const std::string& pvol);
// What create prints when the running bricks do not load the translator yet:
// the exact commands to run before start.
std::string RestartBeforeStartNotice(const std::string& pvol, const std::string& session_display);

struct BrickJournal {
  std::string brick;    // host:path
  bool online = false;  // per `gluster volume status`
  bool probed = false;  // the brick's node reported on its journal
  bool writer = false;  // a brick process holds the journal (JournalWriterAttached)
  std::string error;    // the probe failed
};
struct JournalVerdict {
  std::string refusal;  // "" when the command may go on
  std::string warning;  // offline bricks, when they are allowed
};
// A running brick without a writer is always refused (its changes would be
// lost silently); so is a brick that could not be probed. An offline brick
// has no writer either, but loads the translator when it starts again: it is
// refused unless `allow_offline` (start force, resume), then a warning.
JournalVerdict CheckJournalWriters(const std::string& pvol, const std::vector<BrickJournal>& bricks,
                                   bool allow_offline);

}  // namespace georep::cli

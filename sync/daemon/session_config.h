// SessionConfig: one geo-replication session as described by
// <state-dir>/sessions/<name>/session.conf, the file the `georep` CLI writes
// on every primary node and georepd re-reads while running.
//
// Format: one `key=value` per line; blank lines and lines starting with '#'
// are ignored; whitespace around key and value is trimmed; unknown keys are
// ignored (so a newer CLI can add keys); a key given twice keeps the last
// value. A value that does not parse or is out of range is an error naming
// the line, the key, what was expected and the fix: georepd never guesses.
//
// Sync tunables (all optional; defaults in SyncTunables):
//   batch_max_ops          ops per batch frame                      [1, 100000]
//   batch_max_bytes        encoded bytes per batch frame   [65536, kMaxBodySize]
//   max_inflight_batches   batches sent but not yet acknowledged         [1, 64]
//   window_max_records     journal records coalesced together    [1, 1000000]
//   batch_fsync            yes|no: receiver fsyncs written files before acking
//   faulty_after_failures  consecutive failures before status Faulty     [1, 1000]
//   backoff_initial_ms     first reconnect delay                 [10, 600000]
//   backoff_max_ms         reconnect delay cap                   [10, 3600000]
//   ssh_timeout_s          connect / blocking I/O timeout of the SSH link [1, 3600]
//   keepalive_s            idle time before a PING is sent           [1, 3600]
//   role_check_interval_s  how often Active/Passive roles are recomputed [1, 3600]
//   passive_lag_s          a Passive cursor stays this far behind the set's
//                          sync mark (sync_mark.h)                  [0, 86400]
//   resync_quick_check     yes|no: a resync's crawl skips the data of files
//                          whose secondary copy has the primary's size and
//                          mtime (secondary_files.h)
//   log_level              debug|info|warning|error
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

namespace georep::daemon {

enum class SessionState { kCreated, kStarted, kPaused, kStopped };
const char* SessionStateName(SessionState s);

struct SyncTunables {
  uint32_t batch_max_ops = 2048;
  uint32_t batch_max_bytes = 4u << 20;
  uint32_t max_inflight_batches = 8;
  uint32_t window_max_records = 8192;
  bool batch_fsync = false;
  uint32_t faulty_after_failures = 3;
  uint32_t backoff_initial_ms = 500;
  uint32_t backoff_max_ms = 30000;
  uint32_t ssh_timeout_s = 30;
  uint32_t keepalive_s = 10;
  uint32_t role_check_interval_s = 5;
  uint32_t passive_lag_s = 60;
  bool resync_quick_check = true;
  std::string log_level = "info";
  bool operator==(const SyncTunables&) const = default;
};

struct SessionConfig {
  std::string name;  // the session directory's name
  std::string primary_volume;
  std::string secondary_host;
  std::string secondary_user = "root";
  std::string secondary_volume;
  uint32_t ssh_port = 22;
  std::string ssh_identity;
  std::string ssh_known_hosts;
  std::string receiver_command = "georep-receiver";
  SessionState state = SessionState::kCreated;
  std::optional<int64_t> checkpoint;  // unix seconds
  SyncTunables tunables;

  // Everything that needs a new connection when it changes.
  bool SameConnection(const SessionConfig& o) const {
    return primary_volume == o.primary_volume && secondary_host == o.secondary_host &&
           secondary_user == o.secondary_user && secondary_volume == o.secondary_volume &&
           ssh_port == o.ssh_port && ssh_identity == o.ssh_identity &&
           ssh_known_hosts == o.ssh_known_hosts && receiver_command == o.receiver_command;
  }
  bool operator==(const SessionConfig&) const = default;
};

// Parses the text of a session.conf. `origin` names the file in errors.
Result<SessionConfig> ParseSessionConfig(const std::string& text, const std::string& session_name,
                                         const std::string& origin);
// Reads and parses <path>.
Result<SessionConfig> LoadSessionConfig(const std::string& path, const std::string& session_name);

}  // namespace georep::daemon

#include "sync/cli/config_keys.h"

#include <charconv>

namespace georep::cli {

namespace {
// The largest batch body the wire protocol accepts (protocol::kMaxBodySize).
constexpr unsigned long long kMaxBodySize = 4ull * 1024 * 1024 + 64 * 1024;
}  // namespace

const std::vector<ConfigKey>& ConfigKeys() {
  static const std::vector<ConfigKey> keys = {
      {"primary_volume", "", KeyKind::kCommand, 0, 0, "", "Primary volume of the session (set by create).", false},
      {"secondary_host", "", KeyKind::kCommand, 0, 0, "", "Secondary host the workers connect to (set by create).", false},
      {"secondary_user", "root", KeyKind::kCommand, 0, 0, "", "Account on the secondary that runs georep-receiver (set by create).", false},
      {"secondary_volume", "", KeyKind::kCommand, 0, 0, "", "Secondary volume (set by create).", false},
      {"ssh_identity", "", KeyKind::kCommand, 0, 0, "", "Private key of this node used for the session (node-local path, set by create).", false},
      {"ssh_known_hosts", "", KeyKind::kCommand, 0, 0, "", "Known-hosts file holding the secondary host keys; host key checking is mandatory (set by create).", false},
      {"state", "created", KeyKind::kEnum, 0, 0, "created started paused stopped", "Session state (changed by start, stop, pause, resume).", false},
      {"checkpoint", "", KeyKind::kCommand, 0, 0, "", "Checkpoint time in unix seconds (set by checkpoint now).", false},
      {"ssh_port", "22", KeyKind::kUnsigned, 1, 65535, "", "SSH port of the secondary host."},
      {"receiver_command", "georep-receiver", KeyKind::kCommand, 0, 0, "",
       "Command the workers ask the secondary to run; the secondary's authorized_keys gate only lets georep-receiver through."},
      {"batch_max_ops", "2048", KeyKind::kUnsigned, 1, 100000, "", "Operations per batch frame."},
      {"batch_max_bytes", "4194304", KeyKind::kUnsigned, 65536, kMaxBodySize, "", "Encoded bytes per batch frame."},
      {"max_inflight_batches", "8", KeyKind::kUnsigned, 1, 64, "", "Batches sent but not yet acknowledged, per worker."},
      {"window_max_records", "8192", KeyKind::kUnsigned, 1, 1000000, "", "Journal records coalesced together before sending."},
      {"batch_fsync", "no", KeyKind::kBool, 0, 0, "", "yes: the receiver fsyncs written files before acknowledging a batch."},
      {"faulty_after_failures", "3", KeyKind::kUnsigned, 1, 1000, "", "Consecutive failures of a worker before its status becomes Faulty."},
      {"backoff_initial_ms", "500", KeyKind::kUnsigned, 10, 600000, "", "First reconnect delay after a failure."},
      {"backoff_max_ms", "30000", KeyKind::kUnsigned, 10, 3600000, "", "Reconnect delay cap (not below backoff_initial_ms)."},
      {"ssh_timeout_s", "30", KeyKind::kUnsigned, 1, 3600, "", "Connect and blocking I/O timeout of the SSH link."},
      {"keepalive_s", "10", KeyKind::kUnsigned, 1, 3600, "", "Idle time before a worker pings the receiver."},
      {"role_check_interval_s", "5", KeyKind::kUnsigned, 1, 3600, "", "How often Active/Passive roles among replica bricks are recomputed."},
      {"passive_lag_s", "60", KeyKind::kUnsigned, 0, 86400, "", "How far (seconds of journal time) a Passive brick's cursor stays behind what its replica set's Active brick has synced."},
      {"resync_quick_check", "yes", KeyKind::kBool, 0, 0, "",
       "yes: a resync (journal overflow) does not re-send the data of files whose secondary copy has the primary's size and mtime; no: it re-sends every file."},
      {"log_level", "info", KeyKind::kEnum, 0, 0, "debug info warning error", "georepd's log level for this session."},
  };
  return keys;
}

const ConfigKey* FindConfigKey(const std::string& name) {
  for (const ConfigKey& k : ConfigKeys()) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

Status ValidateConfigValue(const std::string& key, const std::string& value) {
  const ConfigKey* k = FindConfigKey(key);
  if (k == nullptr) {
    return Status(Code::kInvalidArgument,
                  "Invalid config key '" + key + "'; `georep <primary> <secondary> config` lists the valid keys");
  }
  auto bad = [&](const std::string& expected) {
    return Status(Code::kInvalidArgument,
                  "Invalid value '" + value + "' for config key '" + key + "': expected " + expected);
  };
  switch (k->kind) {
    case KeyKind::kUnsigned: {
      unsigned long long v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size() || v < k->min ||
          v > k->max) {
        return bad("an integer in [" + std::to_string(k->min) + ", " + std::to_string(k->max) + "]");
      }
      return Status::Ok();
    }
    case KeyKind::kBool:
      if (value == "yes" || value == "no" || value == "true" || value == "false" || value == "on" ||
          value == "off" || value == "1" || value == "0") {
        return Status::Ok();
      }
      return bad("yes or no");
    case KeyKind::kEnum:
      for (const std::string& c : Split(k->choices, ' ')) {
        if (c == value) return Status::Ok();
      }
      return bad(std::string("one of: ") + k->choices);
    case KeyKind::kCommand:
      if (value.empty()) return bad("a non-empty value");
      for (unsigned char c : value) {
        // session.conf is line-based and the daemon passes the command to ssh
        // as one remote command line: no control characters, no quotes.
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\'' || c == '\\' || c == '`' || c == '$' ||
            c == ';' || c == '|' || c == '&' || c == '<' || c == '>') {
          return bad("a command without control characters, quotes or shell operators");
        }
      }
      return Status::Ok();
  }
  return bad("a valid value");
}

std::string EffectiveValue(const KeyValues& session, const std::string& key) {
  const ConfigKey* k = FindConfigKey(key);
  return Lookup(session, key, k ? k->default_value : "");
}

Status ValidateConfigSet(const KeyValues& session) {
  for (const auto& [key, value] : session) {
    const ConfigKey* k = FindConfigKey(key);
    if (k == nullptr || !k->settable) continue;
    GEOREP_RETURN_IF_ERROR(ValidateConfigValue(key, value));
  }
  unsigned long long lo = static_cast<unsigned long long>(ToInt(EffectiveValue(session, "backoff_initial_ms"), 0));
  unsigned long long hi = static_cast<unsigned long long>(ToInt(EffectiveValue(session, "backoff_max_ms"), 0));
  if (hi < lo) {
    return Status(Code::kInvalidArgument,
                  "backoff_max_ms (" + std::to_string(hi) + ") would be below backoff_initial_ms (" +
                      std::to_string(lo) + "); raise backoff_max_ms or lower backoff_initial_ms first");
  }
  return Status::Ok();
}

}  // namespace georep::cli

#include "sync/daemon/session_config.h"

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>

#include "sync/protocol/messages.h"

namespace georep::daemon {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

class LineError {
 public:
  LineError(const std::string& origin, int line) : origin_(origin), line_(line) {}
  Status operator()(const std::string& key, const std::string& value,
                    const std::string& expected) const {
    return Status(Code::kInvalidArgument,
                  origin_ + " line " + std::to_string(line_) + ": " + key + "=" + value + ": " +
                      expected + "; fix the value (georep config) or remove the line");
  }

 private:
  std::string origin_;
  int line_;
};

Status ParseU32(const std::string& key, const std::string& value, uint64_t lo, uint64_t hi,
                const LineError& err, uint32_t* out) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || p != value.data() + value.size() || v < lo || v > hi) {
    return err(key, value,
               "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  *out = static_cast<uint32_t>(v);
  return Status::Ok();
}

Status ParseBool(const std::string& key, const std::string& value, const LineError& err,
                 bool* out) {
  if (value == "yes" || value == "true" || value == "on" || value == "1") {
    *out = true;
  } else if (value == "no" || value == "false" || value == "off" || value == "0") {
    *out = false;
  } else {
    return err(key, value, "expected yes or no");
  }
  return Status::Ok();
}

}  // namespace

const char* SessionStateName(SessionState s) {
  switch (s) {
    case SessionState::kCreated: return "created";
    case SessionState::kStarted: return "started";
    case SessionState::kPaused: return "paused";
    case SessionState::kStopped: return "stopped";
  }
  return "?";
}

Result<SessionConfig> ParseSessionConfig(const std::string& text, const std::string& session_name,
                                         const std::string& origin) {
  SessionConfig c;
  c.name = session_name;
  std::istringstream in(text);
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    LineError err(origin, line_no);
    if (eq == std::string::npos) {
      return Status(Code::kInvalidArgument, origin + " line " + std::to_string(line_no) + ": '" +
                                                line + "' is not key=value; fix or remove the line");
    }
    std::string key = Trim(line.substr(0, eq));
    std::string value = Trim(line.substr(eq + 1));
    SyncTunables& t = c.tunables;
    Status st;
    if (key == "primary_volume") c.primary_volume = value;
    else if (key == "secondary_host") c.secondary_host = value;
    else if (key == "secondary_user") c.secondary_user = value;
    else if (key == "secondary_volume") c.secondary_volume = value;
    else if (key == "ssh_port") st = ParseU32(key, value, 1, 65535, err, &c.ssh_port);
    else if (key == "ssh_identity") c.ssh_identity = value;
    else if (key == "ssh_known_hosts") c.ssh_known_hosts = value;
    else if (key == "receiver_command") c.receiver_command = value;
    else if (key == "state") {
      if (value == "created") c.state = SessionState::kCreated;
      else if (value == "started") c.state = SessionState::kStarted;
      else if (value == "paused") c.state = SessionState::kPaused;
      else if (value == "stopped") c.state = SessionState::kStopped;
      else st = err(key, value, "expected created, started, paused or stopped");
    } else if (key == "checkpoint") {
      if (value.empty()) {
        c.checkpoint.reset();
      } else {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec != std::errc() || p != value.data() + value.size() || v < 0) {
          st = err(key, value, "expected unix seconds or an empty value");
        } else {
          c.checkpoint = v;
        }
      }
    } else if (key == "batch_max_ops") st = ParseU32(key, value, 1, 100000, err, &t.batch_max_ops);
    else if (key == "batch_max_bytes")
      st = ParseU32(key, value, 65536, protocol::kMaxBodySize, err, &t.batch_max_bytes);
    else if (key == "max_inflight_batches")
      st = ParseU32(key, value, 1, 64, err, &t.max_inflight_batches);
    else if (key == "window_max_records")
      st = ParseU32(key, value, 1, 1000000, err, &t.window_max_records);
    else if (key == "batch_fsync") st = ParseBool(key, value, err, &t.batch_fsync);
    else if (key == "resync_quick_check") st = ParseBool(key, value, err, &t.resync_quick_check);
    else if (key == "faulty_after_failures")
      st = ParseU32(key, value, 1, 1000, err, &t.faulty_after_failures);
    else if (key == "backoff_initial_ms")
      st = ParseU32(key, value, 10, 600000, err, &t.backoff_initial_ms);
    else if (key == "backoff_max_ms") st = ParseU32(key, value, 10, 3600000, err, &t.backoff_max_ms);
    else if (key == "ssh_timeout_s") st = ParseU32(key, value, 1, 3600, err, &t.ssh_timeout_s);
    else if (key == "keepalive_s") st = ParseU32(key, value, 1, 3600, err, &t.keepalive_s);
    else if (key == "role_check_interval_s")
      st = ParseU32(key, value, 1, 3600, err, &t.role_check_interval_s);
    else if (key == "passive_lag_s") st = ParseU32(key, value, 0, 86400, err, &t.passive_lag_s);
    else if (key == "log_level") {
      if (value != "debug" && value != "info" && value != "warning" && value != "error") {
        st = err(key, value, "expected debug, info, warning or error");
      } else {
        t.log_level = value;
      }
    }
    // Any other key belongs to a newer CLI or to another component: ignored.
    if (!st.ok()) return st;
  }
  const std::pair<const char*, const std::string*> required[] = {
      {"primary_volume", &c.primary_volume},   {"secondary_host", &c.secondary_host},
      {"secondary_user", &c.secondary_user},   {"secondary_volume", &c.secondary_volume},
      {"ssh_identity", &c.ssh_identity},       {"ssh_known_hosts", &c.ssh_known_hosts},
      {"receiver_command", &c.receiver_command},
  };
  for (const auto& [key, value] : required) {
    if (value->empty()) {
      return Status(Code::kInvalidArgument, origin + ": required key '" + key +
                                                "' is missing or empty; recreate the session "
                                                "with `georep create` or set it with `georep config`");
    }
  }
  if (c.tunables.backoff_max_ms < c.tunables.backoff_initial_ms) {
    return Status(Code::kInvalidArgument,
                  origin + ": backoff_max_ms (" + std::to_string(c.tunables.backoff_max_ms) +
                      ") is below backoff_initial_ms (" +
                      std::to_string(c.tunables.backoff_initial_ms) + "); raise backoff_max_ms");
  }
  return c;
}

Result<SessionConfig> LoadSessionConfig(const std::string& path, const std::string& session_name) {
  std::ifstream f(path);
  if (!f) return Status::FromErrno(errno, "open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return Status::FromErrno(EIO, "read " + path);
  return ParseSessionConfig(ss.str(), session_name, path);
}

}  // namespace georep::daemon

// Daemon: georepd's monitor. Scans <state-dir>/sessions/ once a second and
// at once when a session.conf changes (inotify, see config_watch.h),
// (re)reads each session.conf, asks glusterd which bricks of the
// primary volume live on this node and which of them are Active, and keeps
// one BrickWorker per local brick in step with all of that:
//   new session / brick       -> worker started
//   session.conf changed      -> worker reconfigured (state changes and
//                                connection changes reconnect; tunables apply live)
//   brick gone from the volume -> worker stopped
//   session directory removed -> workers stopped and their journal cursors
//                                unregistered, so the bricks can drop segments
// A session.conf that fails to parse is reported in the log and leaves the
// session running with its last good configuration (or not started).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "sync/daemon/session_config.h"
#include "sync/daemon/volume_info.h"
#include "sync/daemon/worker.h"

namespace georep::daemon {

struct DaemonOptions {
  std::string state_dir = "/var/lib/georep";
  std::string node;            // default: hostname
  std::string glusterd_sock;   // "" = gluster's default
  std::string volfile_server;  // default: node
  std::string log_file;        // "" = stderr
  bool log_level_given = false;
  bool exit_when_idle = false;
  // With exit_when_idle: give up (exit 1) after this long.
  std::chrono::seconds idle_deadline{3600};
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options) : opts_(std::move(options)) {}
  ~Daemon();
  // Runs until `stop` becomes true (signal) or, with exit_when_idle, until
  // every Active worker is idle. Returns the process exit code.
  int Run(const std::atomic<bool>& stop);

 private:
  struct SessionRun {
    std::optional<SessionConfig> cfg;
    std::string last_error;
    std::optional<VolumeLayout> layout;
    std::chrono::steady_clock::time_point next_role_check{};
    std::map<std::string, std::unique_ptr<BrickWorker>> workers;  // by brick id
  };
  void Scan();
  void Reconcile(const std::string& name, SessionRun* run);
  void RemoveSession(const std::string& name, SessionRun* run);
  // Unregisters the session's journal cursors on this node's bricks and
  // removes its sync marks: the session is gone with its sync state.
  void ReleaseSyncState(const std::string& name, const SessionConfig* cfg,
                        const VolumeLayout* layout, bool had_workers);
  // Removes the session's sync marks (sync_mark.h) from the primary volume's
  // root once the session is gone with its sync state.
  void RemoveSyncMarks(const std::string& name, const SessionConfig& cfg,
                       const VolumeLayout& layout);
  bool AllActiveIdle() const;

  DaemonOptions opts_;
  std::map<std::string, SessionRun> sessions_;
  // Sessions deleted with their directory kept (cursors kept for a later
  // create); released if the directory goes as well.
  struct Retired {
    SessionConfig cfg;
    std::optional<VolumeLayout> layout;
    bool had_workers = false;
  };
  std::map<std::string, Retired> retired_;
};

}  // namespace georep::daemon

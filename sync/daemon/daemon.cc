#include "sync/daemon/daemon.h"

#include <dirent.h>
#include <cerrno>
#include <sys/stat.h>

#include <set>
#include <vector>

#include "journal/consumers.h"
#include "sync/daemon/config_watch.h"
#include "sync/daemon/gfapi_source.h"
#include "sync/daemon/sync_mark.h"
#include "sync/common/log.h"

namespace georep::daemon {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kScanInterval{1000};
constexpr std::chrono::milliseconds kStopCheck{100};

}  // namespace

Daemon::~Daemon() {
  for (auto& [name, run] : sessions_) {
    for (auto& [id, w] : run.workers) w->Stop();
  }
}

void Daemon::RemoveSession(const std::string& name, SessionRun* run) {
  for (auto& [id, w] : run->workers) w->Stop();
  const bool had_workers = !run->workers.empty();
  run->workers.clear();  // stopped: none writes a cursor or a sync mark any more
  // `georep delete` keeps the session directory (with the workers' crawl
  // state) so that a later create resumes where this one stopped: the
  // journal cursors must stay too. Only when the directory is gone
  // (delete reset-sync-time) are they released, letting the bricks drop the
  // segments this session held.
  struct stat st {};
  std::string dir = SessionDirFor(opts_.state_dir, name);
  if (stat(dir.c_str(), &st) == 0) {
    log::Info("daemon", "session " + name + " deleted; its workers stopped, journal cursors kept "
                                            "for a later create (reset-sync-time releases them)");
    // Watched until the directory goes too: a removal that took
    // session.conf first (rm -r, or reset-sync-time caught half way by a
    // scan) is still a reset.
    if (run->cfg) retired_[name] = Retired{*run->cfg, run->layout, had_workers};
    return;
  }
  ReleaseSyncState(name, run->cfg ? &*run->cfg : nullptr, run->layout ? &*run->layout : nullptr,
                   had_workers);
}

void Daemon::ReleaseSyncState(const std::string& name, const SessionConfig* cfg,
                              const VolumeLayout* layout, bool had_workers) {
  log::Info("daemon", "session " + name + " removed with its sync state; releasing its journal cursors");
  if (layout == nullptr) return;
  for (const auto& b : layout->bricks) {
    if (b.host != opts_.node) continue;
    journal::ConsumerRegistry reg(b.path);
    Status st = reg.Unregister(ConsumerNameFor(name));
    if (!st.ok() && st.code() != Code::kNotFound) {
      log::Warning("daemon", "unregister journal consumer of " + name + " on " + b.path + ": " +
                                 st.ToString());
    }
  }
  if (had_workers && cfg != nullptr) RemoveSyncMarks(name, *cfg, *layout);
}

void Daemon::RemoveSyncMarks(const std::string& name, const SessionConfig& cfg,
                             const VolumeLayout& layout) {
  // Every node that ran workers does this after stopping them, so the last
  // one to stop the Active worker also removes what it wrote last; a
  // removal of a mark already gone is no error.
  std::set<int> sets;
  for (const auto& b : layout.bricks) sets.insert(b.set_index);
  auto vol = GfapiVolume::Open(cfg.primary_volume, opts_.volfile_server,
                               opts_.log_file.empty() ? "" : opts_.log_file + ".gfapi");
  for (int set : sets) {
    const std::string key = SyncMarkKey(name, set);
    Status st = vol.ok() ? (*vol)->RemoveRootXattr(key) : vol.status();
    if (!st.ok()) {
      log::Warning("daemon", "session " + name + ": cannot remove the sync mark " + key +
                                 " from the root of volume " + cfg.primary_volume + " (" +
                                 st.ToString() + "); it is harmless, but to remove it by hand: "
                                 "setfattr -x " + key + " <a FUSE mount of " + cfg.primary_volume +
                                 ", as root>");
    }
  }
  if (vol.ok()) log::Info("daemon", "session " + name + ": sync marks removed from volume " + cfg.primary_volume);
}

void Daemon::Reconcile(const std::string& name, SessionRun* run) {
  const SessionConfig& cfg = *run->cfg;
  if (!opts_.log_level_given) {
    log::Level level;
    if (log::ParseLevel(cfg.tunables.log_level, &level)) log::SetLevel(level);
  }
  // Running workers get a new configuration (a resume, say) before the
  // role check below, which asks glusterd and can take a few hundred ms.
  for (auto& [id, w] : run->workers) w->UpdateConfig(cfg);
  auto now = Clock::now();
  if (!run->layout || now >= run->next_role_check) {
    run->next_role_check = now + std::chrono::seconds(cfg.tunables.role_check_interval_s);
    auto layout = QueryVolumeLayout(cfg.primary_volume, opts_.glusterd_sock);
    if (!layout.ok()) {
      std::string msg = layout.status().ToString();
      if (msg != run->last_error) {
        log::Error("daemon", "session " + name + ": cannot read the layout of volume " +
                                 cfg.primary_volume + ": " + msg);
        run->last_error = msg;
      }
    } else {
      if (!layout->status_known) {
        log::Warning("daemon", "session " + name + ": `gluster volume status` gave no answer; "
                                                  "roles assume every brick is online");
      }
      run->layout = std::move(*layout);
    }
  }
  if (!run->layout) return;
  std::map<std::string, bool> local;  // brick id -> active
  for (size_t i = 0; i < run->layout->bricks.size(); ++i) {
    const BrickInfo& b = run->layout->bricks[i];
    if (b.host != opts_.node) continue;
    local[b.id()] = IsActiveBrick(*run->layout, i);
  }
  if (local.empty() && run->last_error != "no-local-bricks") {
    log::Warning("daemon", "session " + name + ": volume " + cfg.primary_volume +
                               " has no brick on node '" + opts_.node +
                               "'; check --node (it must match the host part of the bricks in "
                               "`gluster volume info`)");
    run->last_error = "no-local-bricks";
  }
  for (auto it = run->workers.begin(); it != run->workers.end();) {
    if (local.count(it->first) == 0) {
      log::Info("daemon", "brick " + it->first + " left volume " + cfg.primary_volume);
      it->second->Stop();
      it = run->workers.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [id, active] : local) {
    auto it = run->workers.find(id);
    if (it == run->workers.end()) {
      WorkerIdentity wid;
      wid.state_dir = opts_.state_dir;
      wid.node = opts_.node;
      wid.volfile_server = opts_.volfile_server;
      if (!opts_.log_file.empty()) wid.gfapi_log = opts_.log_file + ".gfapi";
      for (const auto& b : run->layout->bricks) {
        if (b.id() == id) wid.brick = b;
      }
      auto w = std::make_unique<BrickWorker>(wid, cfg, active);
      log::Info("daemon", "session " + name + ": worker for " + id + " (" +
                              (active ? "Active" : "Passive") + ")");
      w->Start();
      run->workers.emplace(id, std::move(w));
    } else {
      it->second->SetActive(active);  // its configuration was passed on above
    }
  }
}

void Daemon::Scan() {
  std::string dir = opts_.state_dir + "/sessions";
  std::map<std::string, bool> present;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.empty() || n[0] == '.') continue;
      struct stat st {};
      if (stat(SessionConfPathFor(opts_.state_dir, n).c_str(), &st) == 0) present[n] = true;
    }
    closedir(d);
  }
  for (auto it = retired_.begin(); it != retired_.end();) {
    struct stat st {};
    if (present.count(it->first) != 0) {
      it = retired_.erase(it);  // created again: its new workers take the cursors over
    } else if (stat(SessionDirFor(opts_.state_dir, it->first).c_str(), &st) != 0 && errno == ENOENT) {
      ReleaseSyncState(it->first, &it->second.cfg, it->second.layout ? &*it->second.layout : nullptr,
                       it->second.had_workers);
      it = retired_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (present.count(it->first) == 0) {
      RemoveSession(it->first, &it->second);
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [name, unused] : present) {
    SessionRun& run = sessions_[name];
    auto cfg = LoadSessionConfig(SessionConfPathFor(opts_.state_dir, name), name);
    if (!cfg.ok()) {
      std::string msg = cfg.status().ToString();
      if (msg != run.last_error) {
        log::Error("daemon", "session " + name + ": " + msg +
                                 (run.cfg ? " (keeping the previous configuration)" : ""));
        run.last_error = msg;
      }
    } else {
      if (!run.cfg || !(*run.cfg == *cfg)) {
        log::Info("daemon", "session " + name + ": configuration " +
                                (run.cfg ? "changed" : "loaded") + " (state " +
                                SessionStateName(cfg->state) + ")");
        if (run.cfg && run.cfg->primary_volume != cfg->primary_volume) {
          // A different primary volume is a different set of bricks.
          for (auto& [id, w] : run.workers) w->Stop();
          run.workers.clear();
          run.layout.reset();
        }
        run.cfg = std::move(*cfg);
      }
      if (run.last_error.rfind("no-local", 0) != 0) run.last_error.clear();
    }
    if (run.cfg) Reconcile(name, &run);
  }
}

bool Daemon::AllActiveIdle() const {
  int active = 0;
  for (const auto& [name, run] : sessions_) {
    for (const auto& [id, w] : run.workers) {
      if (!w->active()) continue;
      if (run.cfg && run.cfg->state != SessionState::kStarted) continue;
      ++active;
      if (!w->Idle()) return false;
    }
  }
  return active > 0;
}

int Daemon::Run(const std::atomic<bool>& stop) {
  log::Info("daemon", "georepd starting: node " + opts_.node + ", state dir " + opts_.state_dir);
  auto started = Clock::now();
  ConfigWatch watch(opts_.state_dir + "/sessions");
  while (!stop.load()) {
    watch.Track();
    Scan();
    auto next = Clock::now() + kScanInterval;
    while (!stop.load() && Clock::now() < next) {
      if (opts_.exit_when_idle && AllActiveIdle()) {
        log::Info("daemon", "every Active worker is idle; exiting (--exit-when-idle)");
        return 0;
      }
      // A session.conf written (pause, resume, config, stop) or a session
      // added or removed: scan now rather than at the next second.
      if (watch.Wait(kStopCheck)) break;
    }
    if (opts_.exit_when_idle && Clock::now() - started > opts_.idle_deadline) {
      log::Error("daemon", "not idle within " + std::to_string(opts_.idle_deadline.count()) +
                               " s (--idle-deadline); exiting with failure");
      return 1;
    }
  }
  log::Info("daemon", "georepd stopping");
  return 0;
}

}  // namespace georep::daemon

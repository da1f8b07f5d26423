// BrickWorker: replicates one local brick of a session.
//
// Roles (decided by the Daemon from `gluster volume status`, see
// volume_info.h): in each replica/disperse set the first online non-arbiter
// brick is Active; the others are Passive.
//  * Active: registers its journal consumer cursor, crawls the brick once
//    (first start, or after the journal lost records it had not consumed),
//    then tails the journal from the cursor: coalesce a window of records,
//    read current data/metadata from the primary via gfapi, stream batches
//    over one SSH connection to georep-receiver with up to
//    max_inflight_batches unacknowledged; the cursor advances only past
//    windows whose every batch is acknowledged.
//  * Passive: registers its cursor (so its brick keeps the journal) and
//    moves it only as far as the set's Active worker has synced, less
//    passive_lag_s, as the sync mark on the volume root says (sync_mark.h):
//    it never claims progress nobody made. The Active worker writes that
//    mark. On takeover (the Active brick of the set went offline) it
//    replays its journal from that cursor, strictly in order (every record
//    up to the takeover counts as sent, by the other brick); the receiver's
//    ops are idempotent, so records the old Active already synced are
//    harmless. If the journal had to drop records meanwhile (size cap), the
//    takeover starts with a full crawl.
//
// Failures (connection, receiver, secondary volume, gfapi) end the current
// connection; the worker reconnects after a bounded exponential backoff and
// resumes from the cursor. After faulty_after_failures consecutive failures
// (or at once for ones only an operator can fix: host key, credentials) the
// status is Faulty with the cause and the fix; the first acknowledged batch
// (or idle keepalive) makes it Active again.
//
// Threads: a control thread (role/state machine, sender, acks), a producer
// thread per connection (journal, coalescer, gfapi reads), a status thread
// (writes the status file every status_interval and on state changes).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "sync/daemon/gfapi_source.h"
#include "sync/daemon/session_config.h"
#include "sync/daemon/stall_watch.h"
#include "sync/daemon/status_file.h"
#include "sync/daemon/volume_info.h"

namespace georep::daemon {

struct WorkerIdentity {
  std::string state_dir;       // --state-dir
  std::string node;            // --node
  std::string volfile_server;  // gfapi server for the primary volume
  std::string gfapi_log;       // gfapi log file ("" = none)
  BrickInfo brick;
};

// Derived names, exposed for the CLI and tests.
std::string ConsumerNameFor(const std::string& session);
// <state-dir>/sessions/<session>: session.conf, status/, workers/.
std::string SessionDirFor(const std::string& state_dir, const std::string& session);
// Its session.conf: the session exists on this node while this file does.
std::string SessionConfPathFor(const std::string& state_dir, const std::string& session);
std::string StatusPathFor(const std::string& state_dir, const std::string& session,
                          const std::string& brick_id);
std::string WorkerStatePathFor(const std::string& state_dir, const std::string& session,
                               const std::string& brick_id);
// The last sequence number in a brick's journal (0 when empty); where a
// crawl starting now must hand over to the journal.
Result<uint64_t> JournalEnd(const std::string& brick_path);

class BrickWorker {
 public:
  BrickWorker(WorkerIdentity id, SessionConfig config, bool active);
  ~BrickWorker();
  BrickWorker(const BrickWorker&) = delete;
  BrickWorker& operator=(const BrickWorker&) = delete;

  void Start();
  // Asks every thread to finish and joins them (bounded by the SSH timeout).
  void Stop();
  void UpdateConfig(const SessionConfig& config);
  void SetActive(bool active);
  BrickStatus Snapshot();
  // True once an Active worker has read its whole journal and every batch
  // before that point is acknowledged (used by --exit-when-idle).
  bool Idle() const { return idle_.load(); }
  bool active() const { return active_.load(); }
  const std::string& brick_id() const { return brick_id_; }

 private:
  struct Shared;
  void ControlLoop();
  void StatusLoop();
  Status RunConnection(const SessionConfig& cfg, uint64_t generation);
  // The primary volume through gfapi: the instance kept from the last
  // connection while it answers (Probe), else a new one.
  Result<GfapiVolume*> PrimaryVolume(const SessionConfig& cfg);
  // Passive: moves this brick's cursor up to the set's sync mark less
  // passive_lag_s (sync_mark.h); returns whether it moved it.
  bool FollowSyncMark(const SessionConfig& cfg);
  void SetState(const std::string& status, const std::string& cause = "");
  // Returns after `max`, on stop, when the generation moves on, or when a
  // new configuration arrives (config_seq_ differs from `config_seq`).
  void WaitForChange(std::chrono::milliseconds max, uint64_t generation, uint64_t config_seq);
  uint64_t Generation();
  void MarkDirty();
  // Shows in status a call to the primary volume that has not returned for
  // ssh_timeout_s, and clears that note once it has (stall_watch.h). Run
  // by the status thread, which never blocks on gfapi itself.
  void ShowStalledCall();

  WorkerIdentity id_;
  std::string brick_id_;
  std::string consumer_;
  std::string status_path_;
  std::string conf_path_;  // the session's session.conf: status is written only while it exists
  std::string state_path_;

  std::mutex mu_;
  std::condition_variable cv_;
  SessionConfig cfg_;
  uint64_t generation_ = 0;  // bumped when config, role or stop changes
  uint64_t config_seq_ = 0;  // bumped by every UpdateConfig that changes cfg_ (wakes waits)
  bool dirty_ = false;       // status must be written now
  BrickStatus status_;       // guarded by mu_
  std::string stalled_note_;  // guarded by mu_: the last_failure ShowStalledCall set

  // The running connection's watched primary source, for ShowStalledCall.
  std::mutex watch_mu_;
  const WatchedSource* watch_ = nullptr;  // guarded by watch_mu_

  std::atomic<bool> stop_{false};
  std::atomic<bool> status_stop_{false};  // set once the control loop has ended
  std::atomic<bool> active_{false};
  std::atomic<bool> idle_{false};
  std::atomic<bool> progress_{false};  // the current connection has had a batch acknowledged
  std::thread control_;
  std::thread status_thread_;
  // Used by the control thread only. Kept across connections: opening one
  // takes ~0.1 s, and closing one (glfs_fini) ~10 s in GlusterFS 10.3, which
  // every reconnect, stop and role change used to wait for before it went
  // on (a stopped worker went on saying Active meanwhile).
  std::unique_ptr<GfapiVolume> primary_;
};

}  // namespace georep::daemon

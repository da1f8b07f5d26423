// WatchedSource: a DataSource that knows which of its calls are still
// running, and since when.
//
// gfapi waits for a primary brick that stopped answering (a hung process,
// a disk stuck in the kernel, a dead link without a reset) up to its ping
// timeout or, for a brick that is connected but silent, its frame timeout
// (30 minutes). No error comes back meanwhile: the worker stays Active with
// nothing moving. The worker's status thread (which never calls gfapi)
// asks Oldest() every second and shows a call older than ssh_timeout_s in
// status, naming what it waits for; the note goes once the call returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sync/daemon/data_source.h"

namespace georep::daemon {

class WatchedSource : public DataSource {
 public:
  using Clock = std::chrono::steady_clock;
  struct Call {
    std::string what;  // "read <gfid> at <offset>", "lookup <gfid>/<name>", ...
    Clock::time_point since;
  };

  explicit WatchedSource(DataSource* inner) : inner_(inner) {}

  // The longest-running call now in progress; nullopt when none runs.
  std::optional<Call> Oldest() const;

  // Registers a call for its lifetime: for calls to the primary volume that
  // do not go through this DataSource (the sync mark's setxattr).
  class Scope {
   public:
    Scope(const WatchedSource* w, std::string what);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    const WatchedSource* w_;
    uint64_t id_;
  };

  Result<ObjectStat> Stat(const protocol::Gfid& gfid) override;
  Result<std::unique_ptr<SourceFile>> Open(const protocol::Gfid& gfid) override;
  Result<std::optional<std::string>> GetXattr(const protocol::Gfid& gfid, const std::string& name) override;
  Result<std::vector<std::string>> ListXattrs(const protocol::Gfid& gfid) override;
  Result<std::string> ReadLink(const protocol::Gfid& gfid) override;
  Result<protocol::Gfid> LookupName(const protocol::Gfid& parent, const std::string& name) override;
  Result<std::unordered_map<std::string, protocol::Gfid>> ListNames(const protocol::Gfid& dir) override;

 private:
  DataSource* inner_;
  mutable std::mutex mu_;
  mutable uint64_t next_id_ = 0;
  mutable std::map<uint64_t, Call> running_;  // by start order: the first is the oldest
};

}  // namespace georep::daemon

#include "sync/receiver/apply_plan.h"

#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

namespace georep::receiver {

namespace {

using protocol::Gfid;
using protocol::IsNullGfid;

std::string ObjectKey(const Gfid& g) {
  std::string k(1, 'o');
  k.append(reinterpret_cast<const char*>(g.data()), g.size());
  return k;
}

std::string EntryKey(const Gfid& parent, const std::string& name) {
  std::string k(1, 'e');
  k.append(reinterpret_cast<const char*>(parent.data()), parent.size());
  k += name;
  return k;
}

struct OpKeys {
  std::vector<std::string> exclusive;
  std::vector<std::string> shared;
  bool barrier = false;
};

// GFIDs this batch shows to be something other than a directory.
std::unordered_set<std::string> KnownNonDirectories(const std::vector<protocol::Op>& ops) {
  using namespace protocol;
  std::unordered_set<std::string> out;
  for (const Op& op : ops) {
    std::visit(
        [&out](const auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, EntryCreateOp>) {
            if (!S_ISDIR(o.mode)) out.insert(ObjectKey(o.gfid));
          } else if constexpr (std::is_same_v<T, LinkOp> || std::is_same_v<T, DataOp> ||
                               std::is_same_v<T, TruncateOp> || std::is_same_v<T, PunchHoleOp> ||
                               std::is_same_v<T, ZerofillOp> || std::is_same_v<T, AllocateOp>) {
            out.insert(ObjectKey(o.gfid));
          }
        },
        op);
  }
  return out;
}

OpKeys KeysOf(const protocol::Op& op, const std::unordered_set<std::string>& non_dirs) {
  using namespace protocol;
  OpKeys k;
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, EntryCreateOp> || std::is_same_v<T, LinkOp>) {
          k.exclusive = {ObjectKey(o.gfid), EntryKey(o.pargfid, o.name)};
          k.shared = {ObjectKey(o.pargfid)};
        } else if constexpr (std::is_same_v<T, RenameOp>) {
          k.exclusive = {ObjectKey(o.gfid), EntryKey(o.old_pargfid, o.old_name),
                         EntryKey(o.new_pargfid, o.new_name)};
          if (!IsNullGfid(o.replaced_gfid)) k.exclusive.push_back(ObjectKey(o.replaced_gfid));
          k.shared = {ObjectKey(o.old_pargfid), ObjectKey(o.new_pargfid)};
          k.barrier = non_dirs.count(ObjectKey(o.gfid)) == 0;
        } else if constexpr (std::is_same_v<T, UnlinkOp> || std::is_same_v<T, RmdirOp>) {
          if (IsNullGfid(o.gfid)) {
            k.barrier = true;
          } else {
            k.exclusive = {ObjectKey(o.gfid), EntryKey(o.pargfid, o.name)};
            k.shared = {ObjectKey(o.pargfid)};
          }
        } else {
          k.exclusive = {ObjectKey(o.gfid)};
        }
      },
      op);
  return k;
}

}  // namespace

ApplyPlan PlanBatch(const std::vector<protocol::Op>& ops) {
  ApplyPlan plan;
  const size_t n = ops.size();
  plan.successors.resize(n);
  plan.predecessors.assign(n, 0);
  const std::unordered_set<std::string> non_dirs = KnownNonDirectories(ops);

  struct KeyState {
    int64_t writer = -1;             // last op holding the key exclusive
    std::vector<uint32_t> readers;   // ops holding it shared since then
  };
  std::unordered_map<std::string, KeyState> keys;
  int64_t last_barrier = -1;
  std::vector<uint32_t> since_barrier;  // ops after the last barrier

  std::vector<uint32_t> deps;
  for (uint32_t i = 0; i < n; ++i) {
    const OpKeys k = KeysOf(ops[i], non_dirs);
    deps.clear();
    if (k.barrier) {
      deps = since_barrier;
      if (last_barrier >= 0) deps.push_back(static_cast<uint32_t>(last_barrier));
      ++plan.barriers;
    } else {
      if (last_barrier >= 0) deps.push_back(static_cast<uint32_t>(last_barrier));
      for (const std::string& key : k.exclusive) {
        KeyState& s = keys[key];
        if (s.writer >= 0) deps.push_back(static_cast<uint32_t>(s.writer));
        deps.insert(deps.end(), s.readers.begin(), s.readers.end());
      }
      for (const std::string& key : k.shared) {
        auto it = keys.find(key);
        if (it != keys.end() && it->second.writer >= 0) {
          deps.push_back(static_cast<uint32_t>(it->second.writer));
        }
      }
    }
    std::sort(deps.begin(), deps.end());
    deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
    for (uint32_t d : deps) {
      if (d == i) continue;  // an op naming one key twice (rename onto itself)
      plan.successors[d].push_back(i);
      ++plan.predecessors[i];
    }
    if (k.barrier) {
      // Everything before is ordered before the barrier, so later ops need
      // only wait for the barrier itself.
      last_barrier = i;
      since_barrier.clear();
      keys.clear();
      continue;
    }
    since_barrier.push_back(i);
    for (const std::string& key : k.exclusive) {
      KeyState& s = keys[key];
      s.writer = i;
      s.readers.clear();
    }
    for (const std::string& key : k.shared) {
      KeyState& s = keys[key];
      // An op holding a key both ways was recorded as its writer above.
      if (s.writer != static_cast<int64_t>(i)) s.readers.push_back(i);
    }
  }
  return plan;
}

bool RunPlan(const ApplyPlan& plan, unsigned threads, const RunPlanHooks& hooks) {
  const size_t n = plan.predecessors.size();
  if (n == 0) return true;
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(n)));

  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint32_t> waiting = plan.predecessors;
  std::deque<uint32_t> ready;
  for (uint32_t i = 0; i < n; ++i) {
    if (waiting[i] == 0) ready.push_back(i);
  }
  size_t finished = 0;
  unsigned running = 0;
  bool stopped = false;

  // Every op's predecessors have lower indices (PlanBatch only adds edges
  // forward), so while ops remain, one is ready or running: no thread waits
  // forever. A thread leaves when all ops finished or the run was stopped and
  // nothing it could wait for is running.
  auto work = [&] {
    if (hooks.thread_init) hooks.thread_init();
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return finished == n || stopped || !ready.empty(); });
      if (finished == n || stopped) break;
      if (hooks.stop) {
        lock.unlock();
        const bool stop = hooks.stop();
        lock.lock();
        if (stop) {
          stopped = true;
          cv.notify_all();
          break;
        }
        if (ready.empty()) continue;  // another thread took it meanwhile
      }
      const uint32_t i = ready.front();
      ready.pop_front();
      ++running;
      lock.unlock();
      hooks.apply(i);
      lock.lock();
      --running;
      ++finished;
      for (uint32_t s : plan.successors[i]) {
        if (--waiting[s] == 0) ready.push_back(s);
      }
      cv.notify_all();
    }
  };

  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return !stopped || finished == n;
}

}  // namespace georep::receiver

// Parallel application of a batch (apply_plan.h): which ops wait for which,
// the thread pool that honours it, and the end-to-end promise that a batch
// applied by several threads leaves exactly the tree the serial order leaves.
#include "sync/receiver/apply_plan.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sync/receiver/applier.h"
#include "tests/unit/sync/receiver_fake_volume.h"

namespace georep::receiver {
namespace {

using namespace protocol;
using testing::FakeVolume;
using testing::SerializedVolume;

Gfid G(uint32_t n) { return testing::MakeGfid(0xbb, n); }
const Gfid kRoot = RootGfid();

EntryCreateOp File(const Gfid& parent, const std::string& name, const Gfid& gfid) {
  return EntryCreateOp{parent, name, gfid, S_IFREG | 0644, 1000, 1000, 0, ""};
}
EntryCreateOp Dir(const Gfid& parent, const std::string& name, const Gfid& gfid) {
  return EntryCreateOp{parent, name, gfid, S_IFDIR | 0755, 0, 0, 0, ""};
}

// Whether op `later` waits, directly or not, for op `earlier`.
bool Waits(const ApplyPlan& plan, uint32_t earlier, uint32_t later) {
  std::vector<uint32_t> todo = {earlier};
  std::set<uint32_t> seen;
  while (!todo.empty()) {
    uint32_t i = todo.back();
    todo.pop_back();
    for (uint32_t s : plan.successors[i]) {
      if (s == later) return true;
      if (seen.insert(s).second) todo.push_back(s);
    }
  }
  return false;
}

TEST(ApplyPlan, CreatesInOneDirectoryDoNotWaitForEachOther) {
  std::vector<Op> ops;
  for (uint32_t i = 1; i <= 100; ++i) ops.push_back(File(kRoot, "f" + std::to_string(i), G(i)));
  ApplyPlan plan = PlanBatch(ops);
  for (uint32_t p : plan.predecessors) EXPECT_EQ(p, 0u);
  EXPECT_EQ(plan.barriers, 0u);
}

TEST(ApplyPlan, DataWaitsForItsCreateAndAttributesWaitForData) {
  std::vector<Op> ops = {File(kRoot, "a", G(1)), File(kRoot, "b", G(2)), DataOp{G(1), 0, "x"},
                         DataOp{G(2), 0, "y"}, SetattrOp{G(1), kSetMtime, 0, 0, 0, 0, 5}};
  ApplyPlan plan = PlanBatch(ops);
  EXPECT_TRUE(Waits(plan, 0, 2));
  EXPECT_TRUE(Waits(plan, 2, 4));
  EXPECT_TRUE(Waits(plan, 1, 3));
  EXPECT_FALSE(Waits(plan, 0, 3));  // b's data has nothing to do with a
  EXPECT_FALSE(Waits(plan, 1, 2));
}

TEST(ApplyPlan, EntriesOfANewDirectoryWaitForItAndItsRmdirWaitsForThem) {
  std::vector<Op> ops = {Dir(kRoot, "d", G(1)), File(G(1), "a", G(2)), File(G(1), "b", G(3)),
                         UnlinkOp{G(1), "a", G(2)}, UnlinkOp{G(1), "b", G(3)},
                         RmdirOp{kRoot, "d", G(1)}};
  ApplyPlan plan = PlanBatch(ops);
  EXPECT_TRUE(Waits(plan, 0, 1));
  EXPECT_TRUE(Waits(plan, 0, 2));
  EXPECT_FALSE(Waits(plan, 1, 2));
  EXPECT_TRUE(Waits(plan, 3, 5));
  EXPECT_TRUE(Waits(plan, 4, 5));
}

TEST(ApplyPlan, DirectoryMtimeWaitsForTheEntriesMadeInIt) {
  std::vector<Op> ops = {Dir(kRoot, "d", G(1)), File(G(1), "a", G(2)),
                         SetattrOp{G(1), kSetMtime, 0, 0, 0, 0, 7}, File(G(1), "b", G(3))};
  ApplyPlan plan = PlanBatch(ops);
  EXPECT_TRUE(Waits(plan, 1, 2));
  EXPECT_TRUE(Waits(plan, 2, 3));  // and later entries wait for the setattr
}

TEST(ApplyPlan, NameReuseKeepsItsOrder) {
  std::vector<Op> ops = {File(kRoot, "x", G(1)), UnlinkOp{kRoot, "x", G(1)}, File(kRoot, "x", G(2))};
  ApplyPlan plan = PlanBatch(ops);
  EXPECT_TRUE(Waits(plan, 0, 1));
  EXPECT_TRUE(Waits(plan, 1, 2));
}

TEST(ApplyPlan, RenameOfAKnownFileIsOrderedByItsKeysOnly) {
  std::vector<Op> ops = {File(kRoot, "tmp", G(1)), DataOp{G(1), 0, "x"}, File(kRoot, "other", G(2)),
                         RenameOp{G(1), kRoot, "tmp", kRoot, "final", {}}, File(kRoot, "later", G(3))};
  ApplyPlan plan = PlanBatch(ops);
  EXPECT_EQ(plan.barriers, 0u);
  EXPECT_TRUE(Waits(plan, 1, 3));
  EXPECT_FALSE(Waits(plan, 2, 3));
  EXPECT_FALSE(Waits(plan, 3, 4));
}

TEST(ApplyPlan, RenameOfWhatMayBeADirectoryIsABarrier) {
  std::vector<Op> ops = {File(kRoot, "a", G(1)), File(kRoot, "b", G(2)),
                         RenameOp{G(9), kRoot, "d", kRoot, "e", {}}, File(kRoot, "c", G(3))};
  ApplyPlan plan = PlanBatch(ops);
  EXPECT_EQ(plan.barriers, 1u);
  EXPECT_TRUE(Waits(plan, 0, 2));
  EXPECT_TRUE(Waits(plan, 1, 2));
  EXPECT_TRUE(Waits(plan, 2, 3));
}

TEST(ApplyPlan, UnlinkWithoutAGfidIsABarrier) {
  std::vector<Op> ops = {File(kRoot, "a", G(1)), UnlinkOp{kRoot, "z", {}}, File(kRoot, "c", G(3))};
  ApplyPlan plan = PlanBatch(ops);
  EXPECT_EQ(plan.barriers, 1u);
  EXPECT_TRUE(Waits(plan, 0, 1));
  EXPECT_TRUE(Waits(plan, 1, 2));
}

TEST(RunPlan, EveryOpStartsAfterItsPredecessorsFinished) {
  std::vector<Op> ops;
  for (uint32_t i = 1; i <= 50; ++i) {
    ops.push_back(File(kRoot, "f" + std::to_string(i), G(i)));
    ops.push_back(DataOp{G(i), 0, "x"});
    ops.push_back(SetattrOp{G(i), kSetMtime, 0, 0, 0, 0, i});
    if (i % 10 == 0) ops.push_back(UnlinkOp{kRoot, "gone", {}});
  }
  const ApplyPlan plan = PlanBatch(ops);
  std::mutex mu;
  std::vector<bool> done(ops.size(), false);
  std::atomic<int> violations{0}, runs{0}, inits{0};
  RunPlanHooks hooks;
  hooks.thread_init = [&] { ++inits; };
  hooks.apply = [&](size_t i) {
    ++runs;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (size_t p = 0; p < ops.size(); ++p) {
        for (uint32_t s : plan.successors[p]) {
          if (s == i && !done[p]) ++violations;
        }
      }
    }
    std::this_thread::yield();
    std::lock_guard<std::mutex> lock(mu);
    done[i] = true;
  };
  ASSERT_TRUE(RunPlan(plan, 8, hooks));
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(runs.load(), static_cast<int>(ops.size()));
  EXPECT_EQ(inits.load(), 8);
}

TEST(RunPlan, StopEndsTheRunAfterTheOpsAlreadyStarted) {
  std::vector<Op> ops;
  for (uint32_t i = 1; i <= 200; ++i) ops.push_back(File(kRoot, "f" + std::to_string(i), G(i)));
  const ApplyPlan plan = PlanBatch(ops);
  std::atomic<int> runs{0}, running{0}, max_running{0};
  RunPlanHooks hooks;
  hooks.stop = [&] { return runs.load() >= 20; };
  hooks.apply = [&](size_t) {
    int now = ++running;
    int seen = max_running.load();
    while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
    }
    ++runs;
    --running;
  };
  EXPECT_FALSE(RunPlan(plan, 4, hooks));
  EXPECT_GE(runs.load(), 20);
  EXPECT_LE(runs.load(), 20 + 4);  // at most one op per thread after the stop
  EXPECT_EQ(running.load(), 0);
}

// A primary that makes random but valid changes, and records them as ops.
class RandomPrimary {
 public:
  explicit RandomPrimary(uint32_t seed) : rng_(seed) { dirs_.insert(kRoot); }

  std::vector<Op> Ops(size_t n) {
    std::vector<Op> ops;
    while (ops.size() < n) Step(&ops);
    return ops;
  }

 private:
  struct Name {
    Gfid parent;
    std::string name;
    bool operator<(const Name& o) const { return std::tie(parent, name) < std::tie(o.parent, o.name); }
  };
  template <class C>
  auto Pick(const C& c) {
    auto it = c.begin();
    std::advance(it, std::uniform_int_distribution<size_t>(0, c.size() - 1)(rng_));
    return *it;
  }
  std::string NewName() { return "n" + std::to_string(next_name_++); }
  Gfid NewGfid() { return G(next_gfid_++); }
  bool IsUnder(Gfid dir, const Gfid& ancestor) {
    while (dir != kRoot) {
      if (dir == ancestor) return true;
      dir = parent_of_dir_.at(dir);
    }
    return ancestor == kRoot;
  }

  void Step(std::vector<Op>* ops) {
    const int r = std::uniform_int_distribution<int>(0, 99)(rng_);
    if (r < 30 || names_.empty()) {  // new file, usually written
      Gfid g = NewGfid(), p = Pick(dirs_);
      std::string n = NewName();
      ops->push_back(File(p, n, g));
      names_[{p, n}] = g;
      files_[g].insert({p, n});
      if (r % 3 != 0) ops->push_back(DataOp{g, 0, "data of " + n});
    } else if (r < 40) {  // new directory
      Gfid g = NewGfid(), p = Pick(dirs_);
      std::string n = NewName();
      ops->push_back(Dir(p, n, g));
      names_[{p, n}] = g;
      dirs_.insert(g);
      parent_of_dir_[g] = p;
      dir_name_[g] = {p, n};
    } else if (r < 52 && !files_.empty()) {  // overwrite part of a file
      Gfid g = Pick(files_).first;
      ops->push_back(DataOp{g, static_cast<uint64_t>(r % 7), "over"});
    } else if (r < 62) {  // attributes of anything
      Gfid g = Pick(names_).second;
      ops->push_back(SetattrOp{g, kSetMode | kSetMtime, 0700u - static_cast<uint32_t>(r % 3), 0, 0,
                               0, 1000 + r});
    } else if (r < 72 && !files_.empty()) {  // rename a file, sometimes over another file
      auto [g, links] = Pick(files_);
      Name from = Pick(links);
      Name to{Pick(dirs_), NewName()};
      Gfid replaced{};
      if (r % 2 == 0) {
        auto [og, olinks] = Pick(files_);
        Name victim = Pick(olinks);
        if (og != g) {
          to = victim;
          replaced = og;
        }
      }
      ops->push_back(RenameOp{g, from.parent, from.name, to.parent, to.name, replaced});
      if (!IsNullGfid(replaced)) Forget(replaced, to);
      names_.erase(from);
      files_[g].erase(from);
      names_[to] = g;
      files_[g].insert(to);
    } else if (r < 76 && dirs_.size() > 1) {  // move a directory elsewhere
      Gfid d = Pick(dirs_);
      Gfid p = Pick(dirs_);
      if (d == kRoot || IsUnder(p, d)) return;
      Name from = dir_name_.at(d), to{p, NewName()};
      ops->push_back(RenameOp{d, from.parent, from.name, to.parent, to.name, {}});
      names_.erase(from);
      names_[to] = d;
      dir_name_[d] = to;
      parent_of_dir_[d] = p;
    } else if (r < 82 && !files_.empty()) {  // hard link
      Gfid g = Pick(files_).first;
      Name to{Pick(dirs_), NewName()};
      ops->push_back(LinkOp{g, to.parent, to.name});
      names_[to] = g;
      files_[g].insert(to);
    } else if (r < 92 && !files_.empty()) {  // unlink a name
      auto [g, links] = Pick(files_);
      Name n = Pick(links);
      ops->push_back(UnlinkOp{n.parent, n.name, g});
      Forget(g, n);
    } else if (dirs_.size() > 1) {  // rmdir an empty directory
      for (const Gfid& d : dirs_) {
        if (d == kRoot) continue;
        bool empty = std::none_of(names_.begin(), names_.end(),
                                  [&](const auto& e) { return e.first.parent == d; });
        if (!empty) continue;
        Name n = dir_name_.at(d);
        ops->push_back(RmdirOp{n.parent, n.name, d});
        names_.erase(n);
        dirs_.erase(d);
        dir_name_.erase(d);
        parent_of_dir_.erase(d);
        break;
      }
    }
  }
  void Forget(const Gfid& g, const Name& n) {
    names_.erase(n);
    files_[g].erase(n);
    if (files_[g].empty()) files_.erase(g);
  }

  std::mt19937 rng_;
  uint32_t next_name_ = 0;
  uint32_t next_gfid_ = 1;
  std::set<Gfid> dirs_;
  std::map<Gfid, Gfid> parent_of_dir_;
  std::map<Gfid, Name> dir_name_;
  std::map<Name, Gfid> names_;
  std::map<Gfid, std::set<Name>> files_;
};

// The promise of the whole scheme: for any valid history, applying a batch
// with 8 threads leaves the tree the serial order leaves, without failures.
TEST(ParallelApply, LeavesTheSameTreeAsTheSerialOrder) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    RandomPrimary primary(seed);
    const std::vector<Op> ops = primary.Ops(400);
    FakeVolume serial_vol;
    Applier serial(&serial_vol, 1);
    FakeVolume parallel_vol;
    SerializedVolume shared(&parallel_vol);
    Applier parallel(&shared, 8);
    // Several batches, as the sender cuts them.
    for (size_t start = 0; start < ops.size(); start += 100) {
      Batch b{start + 1, 0,
              std::vector<Op>(ops.begin() + start, ops.begin() + std::min(ops.size(), start + 100))};
      Ack a1, a2;
      ASSERT_TRUE(serial.ApplyBatch(b, &a1));
      ASSERT_TRUE(parallel.ApplyBatch(b, &a2));
      ASSERT_TRUE(a1.failures.empty()) << "seed " << seed << ": " << a1.failures[0].message;
      ASSERT_TRUE(a2.failures.empty()) << "seed " << seed << ": " << a2.failures[0].message;
    }
    ASSERT_EQ(parallel_vol.Dump(), serial_vol.Dump()) << "seed " << seed;
    EXPECT_FALSE(parallel_vol.duplicate_gfid_created);
    EXPECT_GT(parallel.stats().parallel_batches.load(), 0u);
    EXPECT_GT(shared.threads_prepared, 0);
  }
}

// A replay meets a secondary that is ahead of its ops, where an op can touch
// objects it does not name (a rename over a name reused later): the sender
// marks such batches IN_ORDER, and they end exactly where the serial replay
// ends.
TEST(ParallelApply, InOrderReplayEndsWhereTheSerialReplayEnds) {
  for (uint32_t seed = 100; seed < 110; ++seed) {
    RandomPrimary primary(seed);
    const std::vector<Op> ops = primary.Ops(300);
    FakeVolume serial_vol;
    Applier serial(&serial_vol, 1);
    FakeVolume parallel_vol;
    SerializedVolume shared(&parallel_vol);
    Applier parallel(&shared, 8);
    Ack a1, a2;
    ASSERT_TRUE(serial.ApplyBatch(Batch{1, 0, ops}, &a1));
    ASSERT_TRUE(parallel.ApplyBatch(Batch{1, 0, ops}, &a2));
    ASSERT_EQ(parallel.stats().parallel_batches.load(), 1u);
    ASSERT_TRUE(serial.ApplyBatch(Batch{2, kBatchInOrder, ops}, &a1));
    ASSERT_TRUE(parallel.ApplyBatch(Batch{2, kBatchInOrder, ops}, &a2));
    EXPECT_EQ(parallel.stats().parallel_batches.load(), 1u);
    ASSERT_EQ(a1.failures.size(), a2.failures.size()) << "seed " << seed;
    for (size_t i = 0; i < a1.failures.size(); ++i) {
      EXPECT_EQ(a1.failures[i].index, a2.failures[i].index);
      EXPECT_EQ(a1.failures[i].err, a2.failures[i].err);
    }
    ASSERT_EQ(parallel_vol.Dump(), serial_vol.Dump()) << "seed " << seed;
    EXPECT_FALSE(parallel_vol.duplicate_gfid_created);
  }
}

TEST(ParallelApply, EachWrittenFileIsClosedByItsLastDataOpAndErrorsChargedThere) {
  FakeVolume vol;
  vol.fail_close_errno = ENOSPC;
  SerializedVolume shared(&vol);
  Applier applier(&shared, 4);
  Ack ack;
  ASSERT_TRUE(applier.ApplyBatch(
      Batch{1, 0,
            {File(kRoot, "a", G(1)), File(kRoot, "b", G(2)), DataOp{G(1), 0, "x"},
             DataOp{G(2), 0, "y"}, DataOp{G(1), 1, "z"}, SetxattrOp{G(1), "user.k", "v"}}},
      &ack));
  std::set<uint32_t> failed;
  for (const OpFailure& f : ack.failures) {
    EXPECT_EQ(f.err, ENOSPC);
    failed.insert(f.index);
  }
  EXPECT_EQ(failed, (std::set<uint32_t>{3, 4}));
  EXPECT_EQ(vol.Find(G(1))->data, "xz");
}

TEST(ParallelApply, ReplaceStaleBatchesKeepTheSerialOrder) {
  FakeVolume vol;
  SerializedVolume shared(&vol);
  Applier applier(&shared, 8);
  Ack ack;
  ASSERT_TRUE(applier.ApplyBatch(Batch{1, 0, {File(kRoot, "a", G(1)), File(kRoot, "b", G(2))}}, &ack));
  EXPECT_EQ(applier.stats().parallel_batches.load(), 1u);
  ASSERT_TRUE(applier.ApplyBatch(
      Batch{2, kBatchReplaceStale, {File(kRoot, "a", G(3)), File(kRoot, "c", G(4))}}, &ack));
  EXPECT_TRUE(ack.failures.empty());
  EXPECT_EQ(applier.stats().parallel_batches.load(), 1u);
  EXPECT_EQ(vol.At("a"), G(3));
}

}  // namespace
}  // namespace georep::receiver

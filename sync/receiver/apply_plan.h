// Parallel application of one batch: which ops must wait for which.
//
// A batch is a sequence of ops in the primary's order. Applying it serially
// costs one or more round trips to the secondary's bricks per op, and a
// backlog of small files is then bound by latency, not by the bricks (about
// 4.5 ms per new file on the test machine with one core idle). Ops that touch
// different objects commute, so they may run at once; PlanBatch finds the
// order that must be kept and RunPlan runs the rest on several threads.
//
// The rule: every op names the things it changes (exclusive keys) and the
// things it only needs to exist unchanged (shared keys):
//
//   op                      exclusive                         shared
//   create P/n as G         object G, entry (P,n)             object P
//   link G as P/n           object G, entry (P,n)             object P
//   rename P1/n1 -> P2/n2   object G, entries (P1,n1),(P2,n2) objects P1, P2
//                           object of the replaced target, when known
//   unlink/rmdir P/n (G)    object G, entry (P,n)             object P
//   data, truncate, ...     object G
//   setattr, (remove)xattr  object G
//
// An op waits for every earlier op that has one of its keys exclusive, and
// for every earlier op that holds one of its exclusive keys shared. So a
// file's data waits for its create, a directory's mtime for the entries made
// in it, an rmdir for the unlinks of its entries, and 1000 creates in one
// directory run side by side.
//
// Some ops depend on the shape of the tree, not only on the objects they
// name, and are barriers (they wait for every earlier op, and every later op
// waits for them):
//   - a rename whose object is not known to be a non-directory from this
//     batch (it was not created as one, written, or hard-linked): moving a
//     directory can depend on moves of its ancestors (a loop check);
//   - unlink/rmdir without a GFID ("whatever is there").
// Batches that may remove stale entries (kBatchReplaceStale) are not planned
// at all: the applier runs them serially, as they look at entries they do not
// name.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "sync/protocol/messages.h"

namespace georep::receiver {

struct ApplyPlan {
  // successors[i]: ops that may start only after op i finished.
  std::vector<std::vector<uint32_t>> successors;
  // predecessors[i]: how many ops op i waits for.
  std::vector<uint32_t> predecessors;
  uint32_t barriers = 0;  // ops planned as barriers (for tests and logs)
};

ApplyPlan PlanBatch(const std::vector<protocol::Op>& ops);

struct RunPlanHooks {
  // Runs op i. Called on a worker thread, at most once per op.
  std::function<void(size_t)> apply;
  // Asked before each op is started; true stops starting ops (ops running
  // finish first). May be empty.
  std::function<bool()> stop;
  // Called once on each worker thread before its first op (per-thread state
  // such as gfapi's fs pid). May be empty.
  std::function<void()> thread_init;
};

// Runs every op of `plan` on `threads` threads (at least 1), an op only after
// all its predecessors finished. Returns false when hooks.stop said so: ops
// not started by then are not run, every op started has finished.
bool RunPlan(const ApplyPlan& plan, unsigned threads, const RunPlanHooks& hooks);

}  // namespace georep::receiver

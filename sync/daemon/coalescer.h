// Coalescer: turns a window of journal records into a Plan.
//
// Rules (each has a unit test in tests/unit/sync/daemon_coalescer_test.cc):
//  * Records from georep's own receiver (origin REPLICATION, cascades), from
//    rebalance and self-heal (they move or repair copies without changing
//    what the volume holds), DHT link-to bookkeeping and internal-only xattr
//    changes are skipped. Self-heal records a HealReplay names are the
//    exception: after a takeover they may be the only trace of changes the
//    dead Active brick had not sent (worker.cc).
//  * Entry ops keep their journal order exactly; nothing is ever moved across
//    an entry op except data/metadata items, which name objects by GFID and
//    are placed at the first record of their object in the window (always
//    after that object's create).
//  * Writes, truncates, fallocate, discard and zerofill of one file merge into
//    one data item: overlapping/adjacent ranges merge; truncate marks
//    [new size, EOF) so shrinking and regrowing a file resends the tail.
//  * setattr/setxattr/removexattr of one object merge into one metadata item
//    (the values are read at send time, so the last value wins).
//  * An object created in the window whose every name is removed in the same
//    window vanishes: its create, links, renames, unlinks, data and metadata
//    are all dropped. Exceptions that keep it (correctness before savings):
//    a rename of it that replaced another object (the replacement must still
//    happen), a null GFID anywhere in its history, and a directory that a
//    surviving op still uses as a parent.
//  * Data for objects deleted later is also dropped at send time: a GFID the
//    primary no longer resolves has no data to send.
#pragma once

#include <vector>

#include "journal/format.h"
#include "journal/record.h"
#include "sync/daemon/plan.h"

namespace georep::daemon {

// The self-heal records a takeover replays: journaled at or below
// `through_seq` and after `after_ns` (journal time). The default replays none.
struct HealReplay {
  uint64_t through_seq = 0;
  uint64_t after_ns = 0;
};

class Coalescer {
 public:
  // Records must be in sequence order.
  static Plan Build(const std::vector<journal::Record>& records, HealReplay heal = {});
  // Whether one record is replicated at all (see the rules above).
  static bool ShouldSync(const journal::Record& r, HealReplay heal = {});
};

}  // namespace georep::daemon

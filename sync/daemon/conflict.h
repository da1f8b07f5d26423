// ConflictResolver: decides what to do about an op the receiver refused,
// by checking the PRIMARY's current state (PROTOCOL.md, "Idempotence").
//
// The receiver never destroys an entry on its own: a name on the secondary
// holding another GFID than the op's is a conflict (EEXIST), because a
// replayed op must not replace a newer entry. Only the sender can tell:
//  * the primary has the op's GFID at that name now -> the secondary's entry
//    is stale (left by an earlier session, or made on the secondary out of
//    band): resend the op with REPLACE_STALE, and for a created file its
//    current data and metadata (ops for it sent before the repair failed
//    with ENOENT and are covered by that);
//  * it does not -> the op is history the primary has moved on from (a
//    replay after a reconnect, or a name reused later): ignore it.
// A RENAME or LINK whose object is missing on the secondary (ENOENT) is
// re-created from the primary's current state the same way, except a
// directory (its contents would be missing too: that needs a full crawl).
// So is a file that a data or metadata op finds missing (ENOENT by GFID):
// its names on the primary come from GlusterFS's gfid-to-path xattr
// (storage.gfid2path, on by default); without it, or for a directory, the
// op is reported with the crawl fix.
// Entry ops inside a directory that a repair re-created (they failed with
// ENOENT before it existed) are repaired too, and that directory's times
// are sent again after them.
//
// Ops of a repair batch that fail again are reported, never repaired again
// (no loops): e.g. the receiver never removes a non-empty stale directory.
// Such an object is "blocked": failures of ops on it or inside it are
// reported with the same cause and fix.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "sync/daemon/data_source.h"
#include "sync/daemon/plan.h"
#include "sync/protocol/messages.h"

namespace georep::daemon {

struct FailureVerdict {
  enum class Kind {
    kReport,   // a real failure: count it and show `cause`
    kReplay,   // the primary has moved on: the op is history, nothing is lost
    kRepair,   // send `items` with REPLACE_STALE before the cursor passes the op
    kCovered,  // an op on an object a repair re-sent from its current state
  };
  Kind kind = Kind::kReport;
  std::vector<PlanItem> items;
  std::string cause;  // kReport: what is wrong and what the admin can do
};

class ConflictResolver {
 public:
  explicit ConflictResolver(DataSource* source) : source_(source) {}

  // `err` is the receiver's errno for `op`; `in_repair_batch` says the op
  // was itself sent with REPLACE_STALE. An error means the primary could not
  // be asked (the caller retries later rather than guessing).
  Result<FailureVerdict> Judge(const protocol::Op& op, int err, bool in_repair_batch);

  // Metadata items for directories in which repairs re-created entries
  // since the last call (creating entries changed their times on the
  // secondary); send them after the repairs.
  std::vector<PlanItem> TakeParentRefresh();

  // Objects re-created or replaced by repairs (for tests and logs).
  const std::set<protocol::Gfid>& repaired() const { return repaired_; }

 private:
  Result<bool> PrimaryHas(const protocol::Gfid& parent, const std::string& name,
                          const protocol::Gfid& gfid);
  Result<FailureVerdict> Recreate(const protocol::Gfid& parent, const std::string& name,
                                  const protocol::Gfid& gfid);
  // The entries (parent, name) that hold `gfid` on the primary now, as far
  // as the volume's gfid-to-path xattr tells; each one checked by lookups.
  struct Name {
    protocol::Gfid parent;
    std::string name;
  };
  Result<std::vector<Name>> CurrentNames(const protocol::Gfid& gfid);
  void AddObjectState(const protocol::Gfid& gfid, uint32_t mode, std::vector<PlanItem>* items);
  void NoteParent(const protocol::Gfid& parent);
  FailureVerdict Block(const protocol::Gfid& gfid, std::string cause);

  DataSource* source_;
  // Objects that cannot reach the secondary until the admin acts, with the
  // cause: later failures of ops on them (or inside them) repeat that cause
  // instead of a bare ENOENT, so the status keeps naming the fix.
  std::map<protocol::Gfid, std::string> blocked_;
  std::set<protocol::Gfid> repaired_;
  std::set<protocol::Gfid> parents_;
};

}  // namespace georep::daemon

// Applies protocol ops to the secondary volume so that replays are harmless
// and conflicts are resolved the same way every time. The rules are listed in
// sync/protocol/PROTOCOL.md ("Applying ops"); this is their only
// implementation.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "sync/protocol/messages.h"
#include "sync/receiver/volume.h"

namespace georep::receiver {

// Checks an entry name received from the peer: non-empty, at most
// kMaxNameLength bytes, no '/' or NUL, not "." or "..", and not ".gfid" in the
// root (gfid-access's virtual directory). EINVAL status naming the rule.
Status ValidateName(const Gfid& pargfid, const std::string& name);
// Checks an extended-attribute name: namespaced (user., trusted., security.,
// system.posix_acl_*), and not one of GlusterFS's own keys (trusted.gfid,
// trusted.glusterfs.*, trusted.afr.*, trusted.ec.*, trusted.dht*,
// trusted.pgfid.*, glusterfs.*), which would corrupt the secondary's own
// bookkeeping or trigger virtual operations. EPERM/EINVAL status.
Status ValidateXattrName(const std::string& name);
// Everything about an op that can be checked without the volume (names,
// GFIDs, types, ranges). Applying an op that fails this touches nothing.
Status ValidateOp(const protocol::Op& op);

// Counters, updated by the applying threads.
struct ApplierStats {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> ops{0};
  std::atomic<uint64_t> failed_ops{0};
  std::atomic<uint64_t> bytes_written{0};
  std::atomic<uint64_t> already_applied{0};   // replays recognised as no-ops
  std::atomic<uint64_t> stale_removed{0};     // entries with a different GFID removed
  std::atomic<uint64_t> conflicts{0};         // entries with a different GFID kept (EEXIST)
  std::atomic<uint64_t> create_races{0};      // creates a racing lookup gave another GFID, redone
  std::atomic<uint64_t> parallel_batches{0};  // batches applied by several threads
};

class Applier {
 public:
  // `volume` must outlive the applier. `threads` > 1 applies the ops of a
  // batch that do not depend on each other at once (apply_plan.h); the
  // volume must then allow calls from several threads (volume.h).
  explicit Applier(Volume* volume, unsigned threads = 1) : volume_(volume), threads_(threads) {}

  // Applies the ops and fills *ack (batch id, op count, failures): in order,
  // or with several threads in an order that keeps every dependency
  // (apply_plan.h). An op's failure does not stop the batch: it is recorded
  // and the next op runs. `stop`, when given, is asked before each op; if it says true the
  // batch ends there (data already written is flushed, so no write is left
  // in flight) and false is returned: *ack is then incomplete, not to be sent.
  bool ApplyBatch(const protocol::Batch& batch, protocol::Ack* ack,
                  const std::function<bool()>& stop = {});
  // One op; the status's err() is the errno reported in the Ack.
  // `replace_stale` as the batch flag kBatchReplaceStale. Data may still be
  // in flight afterwards (Volume::Write): ApplyBatch ends every batch with
  // Volume::FlushAll, a caller of ApplyOp alone must do so itself.
  // `fresh` as the batch flag kBatchFresh.
  Status ApplyOp(const protocol::Op& op, bool replace_stale = false, bool fresh = false);

  protocol::StatReply Stat(const protocol::StatRequest& req);
  // One page (at most protocol::kMaxListEntries) of a directory's entries.
  protocol::ListReply List(const protocol::ListRequest& req);
  // Reads at most kMaxChecksumLength bytes per request.
  protocol::ChecksumReply Checksum(const protocol::ChecksumRequest& req);

  const ApplierStats& stats() const { return stats_; }

  static constexpr uint64_t kMaxChecksumLength = 64ull * 1024 * 1024;
  static constexpr int kCreateAttempts = 3;

 private:
  Status Apply(const protocol::EntryCreateOp& op, bool replace_stale, bool fresh);
  Status Apply(const protocol::LinkOp& op, bool replace_stale);
  Status Apply(const protocol::RenameOp& op, bool replace_stale);
  Status Apply(const protocol::UnlinkOp& op);
  Status Apply(const protocol::RmdirOp& op);
  Status Apply(const protocol::DataOp& op);
  Status Apply(const protocol::TruncateOp& op);
  Status Apply(const protocol::PunchHoleOp& op);
  Status Apply(const protocol::ZerofillOp& op);
  Status Apply(const protocol::AllocateOp& op);
  Status Apply(const protocol::SetattrOp& op);
  Status Apply(const protocol::SetxattrOp& op);
  Status Apply(const protocol::RemovexattrOp& op);

  // Removes the entry pargfid/name that holds `stale` (an object other than
  // the one the primary has there). Directories only when empty.
  Status RemoveStale(const Gfid& pargfid, const std::string& name, const ObjectAttr& stale,
                     const Gfid& wanted);
  Status RequireRegular(const Gfid& gfid, const char* what);
  // Volume::CreateEntry, then a lookup of the new entry that checks it got
  // op.gfid; one that got another GFID is removed and created again, at
  // most kCreateAttempts times in all (see applier.cc for the race).
  Status CreateChecked(const protocol::EntryCreateOp& op);
  // What an unlink or rmdir of pargfid/name (holding `gfid`, or anything for
  // the null GFID) would remove: nullopt when it is gone already or the name
  // now holds a newer object (a replay; counted as already applied).
  Result<std::optional<ObjectAttr>> EntryToRemove(const Gfid& pargfid, const std::string& name,
                                                  const Gfid& gfid);
  // What to do when pargfid/name holds `other` instead of `wanted`: remove
  // it when the sender vouches that it is stale (replace_stale), else fail
  // with EEXIST and keep it.
  Status ResolveConflict(const Gfid& pargfid, const std::string& name, const ObjectAttr& other,
                         const Gfid& wanted, bool replace_stale);

  Volume* volume_;
  unsigned threads_;
  ApplierStats stats_;
};

}  // namespace georep::receiver

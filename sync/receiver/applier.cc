#include "sync/receiver/applier.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <type_traits>

#include "common/crc32c.h"
#include "sync/receiver/apply_plan.h"
#include "sync/common/log.h"

namespace georep::receiver {

using protocol::GfidToString;
using protocol::IsNullGfid;
using protocol::PrintableName;

namespace {

constexpr const char* kLog = "applier";

// gfid-access's virtual directory "/.gfid" (GF_AUX_GFID in gfid-access.h).
Gfid AuxGfid() {
  Gfid g{};
  g[15] = 0x0d;
  return g;
}

Status Invalid(int err, const std::string& why) { return Status::FromErrno(err, why); }

std::string EntryName(const Gfid& pargfid, const std::string& name) {
  return "<" + GfidToString(pargfid) + ">/" + PrintableName(name);
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

Status CheckObjectGfid(const Gfid& g, const char* what) {
  if (IsNullGfid(g)) return Invalid(EINVAL, std::string(what) + " is the null GFID");
  if (g == AuxGfid()) {
    return Invalid(EINVAL, std::string(what) + " is the reserved GFID of the virtual .gfid directory");
  }
  return Status::Ok();
}

// GFIDs of objects an op creates, moves or removes: never the root.
Status CheckMovableGfid(const Gfid& g, const char* what) {
  GEOREP_RETURN_IF_ERROR(CheckObjectGfid(g, what));
  if (g == protocol::RootGfid()) {
    return Invalid(EINVAL, std::string(what) + " is the root directory's GFID");
  }
  return Status::Ok();
}

Status CheckRange(uint64_t offset, uint64_t length) {
  // off_t is signed 64-bit: anything past INT64_MAX cannot be addressed.
  constexpr uint64_t kMax = static_cast<uint64_t>(INT64_MAX);
  if (offset > kMax || length > kMax - offset) {
    return Invalid(EFBIG, "range offset " + std::to_string(offset) + " length " +
                              std::to_string(length) + " is beyond the largest file offset");
  }
  return Status::Ok();
}

bool AllZero(std::string_view data) {
  return std::all_of(data.begin(), data.end(), [](char c) { return c == 0; });
}

template <class>
inline constexpr bool kAlwaysFalse = false;

}  // namespace

Status ValidateName(const Gfid& pargfid, const std::string& name) {
  if (name.empty()) return Invalid(EINVAL, "empty entry name");
  if (name.size() > protocol::kMaxNameLength) {
    return Invalid(ENAMETOOLONG, "entry name of " + std::to_string(name.size()) +
                                     " bytes is longer than " +
                                     std::to_string(protocol::kMaxNameLength));
  }
  if (name.find('/') != std::string::npos) {
    return Invalid(EINVAL, "entry name \"" + PrintableName(name) + "\" contains '/'");
  }
  if (name.find('\0') != std::string::npos) {
    return Invalid(EINVAL, "entry name \"" + PrintableName(name) + "\" contains a NUL byte");
  }
  if (name == "." || name == "..") {
    return Invalid(EINVAL, "entry name \"" + name + "\" is not a real entry");
  }
  if (pargfid == protocol::RootGfid() && name == ".gfid") {
    return Invalid(EPERM, "\".gfid\" in the root is reserved for GlusterFS's gfid-access");
  }
  return CheckObjectGfid(pargfid, "parent directory");
}

Status ValidateXattrName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.find('\0') != std::string::npos) {
    return Invalid(EINVAL, "extended attribute name \"" + PrintableName(name) +
                               "\" is empty, longer than 255 bytes or contains NUL");
  }
  // GlusterFS keeps its own state in these keys (and glusterfs.* are virtual
  // keys that trigger operations); copying them from the primary would
  // corrupt the secondary's replication, distribution or identity data.
  static const char* const kReserved[] = {"trusted.gfid", "trusted.glusterfs.", "trusted.afr.",
                                          "trusted.ec.", "trusted.dht", "trusted.pgfid.",
                                          "trusted.tier", "trusted.SGI_", "glusterfs."};
  for (const char* prefix : kReserved) {
    if (StartsWith(name, prefix)) {
      return Invalid(EPERM, "extended attribute \"" + PrintableName(name) +
                                "\" belongs to GlusterFS and is never replicated");
    }
  }
  if (StartsWith(name, "system.")) {
    if (name == "system.posix_acl_access" || name == "system.posix_acl_default") {
      return Status::Ok();
    }
    return Invalid(EPERM, "extended attribute \"" + PrintableName(name) +
                              "\": only system.posix_acl_access/default are replicated");
  }
  if (StartsWith(name, "user.") || StartsWith(name, "trusted.") || StartsWith(name, "security.")) {
    return Status::Ok();
  }
  return Invalid(EINVAL, "extended attribute \"" + PrintableName(name) +
                             "\" has no known namespace (user., trusted., security., system.)");
}

Status ValidateOp(const protocol::Op& op) {
  using namespace protocol;
  return std::visit(
      [](const auto& o) -> Status {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, EntryCreateOp>) {
          GEOREP_RETURN_IF_ERROR(ValidateName(o.pargfid, o.name));
          GEOREP_RETURN_IF_ERROR(CheckMovableGfid(o.gfid, "new entry's GFID"));
          const uint32_t type = o.mode & S_IFMT;
          if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK && type != S_IFIFO &&
              type != S_IFSOCK && type != S_IFCHR && type != S_IFBLK) {
            return Invalid(EINVAL, "mode " + std::to_string(o.mode) + " has no valid file type");
          }
          if ((o.mode & ~(S_IFMT | 07777u)) != 0) {
            return Invalid(EINVAL, "mode " + std::to_string(o.mode) + " has unknown bits");
          }
          if (type == S_IFLNK) {
            if (o.target.empty() || o.target.size() > 4095 ||
                o.target.find('\0') != std::string::npos) {
              return Invalid(EINVAL, "symlink target is empty, longer than 4095 bytes or has NUL");
            }
          } else if (!o.target.empty()) {
            return Invalid(EINVAL, "symlink target given for an entry that is not a symlink");
          }
          // gfid-access carries rdev in 32 bits (Linux's new_encode_dev fits).
          if (o.rdev > UINT32_MAX) {
            return Invalid(EOVERFLOW, "device number " + std::to_string(o.rdev) +
                                          " does not fit in 32 bits");
          }
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, LinkOp>) {
          GEOREP_RETURN_IF_ERROR(ValidateName(o.pargfid, o.name));
          return CheckMovableGfid(o.gfid, "link target GFID");
        } else if constexpr (std::is_same_v<T, RenameOp>) {
          GEOREP_RETURN_IF_ERROR(ValidateName(o.old_pargfid, o.old_name));
          GEOREP_RETURN_IF_ERROR(ValidateName(o.new_pargfid, o.new_name));
          return CheckMovableGfid(o.gfid, "renamed object's GFID");
        } else if constexpr (std::is_same_v<T, UnlinkOp> || std::is_same_v<T, RmdirOp>) {
          GEOREP_RETURN_IF_ERROR(ValidateName(o.pargfid, o.name));
          // A null GFID means "whatever is there" (the primary did not know it).
          if (!IsNullGfid(o.gfid)) return CheckMovableGfid(o.gfid, "removed object's GFID");
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, DataOp>) {
          GEOREP_RETURN_IF_ERROR(CheckMovableGfid(o.gfid, "file GFID"));
          return CheckRange(o.offset, o.data.size());
        } else if constexpr (std::is_same_v<T, TruncateOp>) {
          GEOREP_RETURN_IF_ERROR(CheckMovableGfid(o.gfid, "file GFID"));
          return CheckRange(o.size, 0);
        } else if constexpr (std::is_same_v<T, PunchHoleOp> || std::is_same_v<T, ZerofillOp> ||
                             std::is_same_v<T, AllocateOp>) {
          GEOREP_RETURN_IF_ERROR(CheckMovableGfid(o.gfid, "file GFID"));
          return CheckRange(o.offset, o.length);
        } else if constexpr (std::is_same_v<T, SetattrOp>) {
          GEOREP_RETURN_IF_ERROR(CheckObjectGfid(o.gfid, "object GFID"));
          if ((o.mask & kSetMode) != 0 && (o.mode & ~07777u) != 0) {
            return Invalid(EINVAL, "setattr mode " + std::to_string(o.mode) +
                                       " has bits beyond the permission bits 07777");
          }
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, SetxattrOp>) {
          GEOREP_RETURN_IF_ERROR(CheckObjectGfid(o.gfid, "object GFID"));
          if (o.value.size() > 64 * 1024) {
            return Invalid(E2BIG, "extended attribute value of " + std::to_string(o.value.size()) +
                                      " bytes exceeds the Linux limit of 65536");
          }
          return ValidateXattrName(o.name);
        } else if constexpr (std::is_same_v<T, RemovexattrOp>) {
          GEOREP_RETURN_IF_ERROR(CheckObjectGfid(o.gfid, "object GFID"));
          return ValidateXattrName(o.name);
        } else {
          static_assert(kAlwaysFalse<T>, "every op type is validated");
        }
      },
      op);
}

// ---- Batches -----------------------------------------------------------------------

namespace {

bool IsDataOp(const protocol::Op& op) {
  switch (protocol::TypeOf(op)) {
    case protocol::OpType::kData:
    case protocol::OpType::kTruncate:
    case protocol::OpType::kPunchHole:
    case protocol::OpType::kZerofill:
    case protocol::OpType::kAllocate:
      return true;
    default:
      return false;
  }
}

Gfid DataGfid(const protocol::Op& op) {
  return std::visit([](const auto& o) { return o.gfid; }, op);
}

}  // namespace

bool Applier::ApplyBatch(const protocol::Batch& batch, protocol::Ack* ack,
                         const std::function<bool()>& stop) {
  ack->batch_id = batch.batch_id;
  ack->op_count = static_cast<uint32_t>(batch.ops.size());
  ack->failures.clear();
  ++stats_.batches;

  // The Ack must fit in one frame whatever fails: every failure costs 12
  // bytes plus its message, and messages share what is left of the budget.
  const size_t fixed = 1 + 8 + 4 + 4 + 12 * batch.ops.size();
  size_t message_budget = protocol::kMaxBodySize > fixed ? protocol::kMaxBodySize - fixed : 0;
  constexpr size_t kMaxMessage = 1024;
  std::mutex failures_mu;  // record() runs on the applying threads
  std::map<size_t, protocol::OpFailure> failures;
  auto record = [&](size_t index, const Status& st) {
    std::lock_guard<std::mutex> lock(failures_mu);
    if (failures.count(index) != 0) return;  // the first cause of an op is kept
    protocol::OpFailure f;
    f.index = static_cast<uint32_t>(index);
    f.err = st.err() != 0 ? st.err() : EIO;
    std::string msg = protocol::DescribeOp(batch.ops[index]) + ": " + st.message();
    msg.resize(std::min({msg.size(), kMaxMessage, message_budget}));
    message_budget -= msg.size();
    f.message = std::move(msg);
    log::Warning(kLog, "batch " + std::to_string(batch.batch_id) + " op " +
                           std::to_string(index) + " failed: " + f.message);
    failures.emplace(index, std::move(f));
  };
  auto stopped = [&](size_t applied) {
    // Every op started has finished (none is half applied); writes already
    // issued complete here, before the caller exits and releases the brick
    // lock to a receiver that replays from the sender's cursor.
    (void)volume_->FlushAll();
    log::Info(kLog, "batch " + std::to_string(batch.batch_id) + " stopped after " +
                        std::to_string(applied) + " of " + std::to_string(batch.ops.size()) +
                        " ops; not acknowledged");
    return false;
  };

  const bool replace_stale = (batch.flags & protocol::kBatchReplaceStale) != 0;
  const bool in_order = (batch.flags & protocol::kBatchInOrder) != 0;
  const bool fresh = (batch.flags & protocol::kBatchFresh) != 0 && !in_order && !replace_stale;
  const bool fsync = (batch.flags & protocol::kBatchFsync) != 0;
  // Per file, the last op of the batch that changes its data: where the
  // file is finished (fsync, close) and where a late write error is charged.
  std::map<Gfid, size_t> last_data_op;
  for (size_t i = 0; i < batch.ops.size(); ++i) {
    if (IsDataOp(batch.ops[i])) last_data_op[DataGfid(batch.ops[i])] = i;
  }
  // One op, on whichever thread runs it. A file is finished by its last data
  // op, so that with several threads files are flushed and closed in
  // parallel rather than one by one at the end of the batch.
  std::atomic<size_t> applied{0};
  auto apply = [&](size_t i) {
    ++stats_.ops;
    ++applied;
    const protocol::Op& op = batch.ops[i];
    Status st = ApplyOp(op, replace_stale, fresh);
    if (!st.ok()) record(i, st);
    if (!IsDataOp(op)) return;
    const Gfid gfid = DataGfid(op);
    if (last_data_op.at(gfid) != i) return;
    if (st.ok() && fsync) {
      Status f = volume_->Fsync(gfid);
      if (!f.ok()) record(i, f.Annotate("fsync"));
    }
    Status c = volume_->Close(gfid);
    if (!c.ok()) record(i, c.Annotate("close"));
  };

  // Stale-entry removal looks at entries the ops do not name, and so may a
  // replay (kBatchInOrder): such batches keep the serial order.
  const bool parallel = threads_ > 1 && !replace_stale && !in_order && batch.ops.size() > 1;
  if (!parallel) {
    for (size_t i = 0; i < batch.ops.size(); ++i) {
      if (stop && stop()) return stopped(i);
      apply(i);
    }
  } else {
    ++stats_.parallel_batches;
    RunPlanHooks hooks;
    hooks.thread_init = [this] { volume_->PrepareThread(); };
    hooks.stop = stop;
    hooks.apply = apply;
    if (!RunPlan(PlanBatch(batch.ops), threads_, hooks)) return stopped(applied.load());
  }
  for (auto& [gfid, st] : volume_->FlushAll()) {
    auto it = last_data_op.find(gfid);
    // A close error on a file no op of this batch wrote is charged to the
    // last op so that the sender retries the batch.
    size_t index = it != last_data_op.end() ? it->second : batch.ops.size() - 1;
    if (!batch.ops.empty()) record(index, st.Annotate("close"));
  }
  stats_.failed_ops += failures.size();
  for (auto& [index, f] : failures) ack->failures.push_back(std::move(f));
  return true;
}

Status Applier::ApplyOp(const protocol::Op& op, bool replace_stale, bool fresh) {
  GEOREP_RETURN_IF_ERROR(ValidateOp(op));
  return std::visit(
      [this, replace_stale, fresh](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, protocol::EntryCreateOp>) {
          return Apply(o, replace_stale, fresh);
        } else if constexpr (std::is_same_v<T, protocol::LinkOp> ||
                             std::is_same_v<T, protocol::RenameOp>) {
          return Apply(o, replace_stale);
        } else {
          return Apply(o);
        }
      },
      op);
}

// ---- Entry ops ----------------------------------------------------------------------

Status Applier::RemoveStale(const Gfid& pargfid, const std::string& name, const ObjectAttr& stale,
                            const Gfid& wanted) {
  const std::string where = EntryName(pargfid, name);
  Status st = S_ISDIR(stale.mode) ? volume_->Rmdir(pargfid, name) : volume_->Unlink(pargfid, name);
  if (st.err() == ENOENT) return Status::Ok();
  if (!st.ok()) {
    if (st.err() == ENOTEMPTY || st.err() == EEXIST) {
      return Status::FromErrno(
          EEXIST, "the secondary has a non-empty directory " + where + " with GFID " +
                      GfidToString(stale.gfid) + " where the primary has GFID " +
                      GfidToString(wanted) +
                      "; it was kept to lose nothing: move it away on the secondary and the "
                      "op will succeed when retried");
    }
    return st.Annotate("removing stale entry " + where + " (GFID " + GfidToString(stale.gfid) + ")");
  }
  ++stats_.stale_removed;
  log::Warning(kLog, "removed stale entry " + where + " with GFID " + GfidToString(stale.gfid) +
                         ": the primary has GFID " + GfidToString(wanted) + " there");
  return Status::Ok();
}

Status Applier::ResolveConflict(const Gfid& pargfid, const std::string& name,
                                const ObjectAttr& other, const Gfid& wanted,
                                bool replace_stale) {
  if (replace_stale) return RemoveStale(pargfid, name, other, wanted);
  ++stats_.conflicts;
  return Status::FromErrno(
      EEXIST, EntryName(pargfid, name) + " holds GFID " + GfidToString(other.gfid) + ", not " +
                  GfidToString(wanted) +
                  "; kept: if the primary has " + GfidToString(wanted) +
                  " there now, the secondary's entry is stale (resend with REPLACE_STALE), "
                  "otherwise this op is older than that entry (a replay) and can be ignored");
}

// GlusterFS's posix sets a new entry's GFID just after creating it. A named
// lookup from any client that reaches the entry in between gives it the
// lookup's own random GFID (posix_gfid_heal; its guard for fresh files reads
// the ctime xattr, which is not written yet either), and the create then
// keeps that GFID and reports success. A reader of the secondary (georep
// verify, a backup, an admin's ls) can so turn a replicated file into one no
// later op by GFID finds. Seen here in about 1 of 7 backlogs of 10000 files
// replayed while the verifier walked the secondary. Replicated volumes are
// spared: AFR drops the gfid-req of every lookup before it reaches the
// bricks, so the check finds nothing to redo there. The lookup below costs
// what it saves: the volume keeps the object it finds for the ops of the
// batch that follow (data, attributes), which would otherwise look it up by
// GFID.
Status Applier::CreateChecked(const protocol::EntryCreateOp& op) {
  const std::string where = EntryName(op.pargfid, op.name);
  for (int attempt = 1;; ++attempt) {
    GEOREP_RETURN_IF_ERROR(volume_->CreateEntry(op));
    Result<ObjectAttr> made = volume_->Lookup(op.pargfid, op.name);
    if (!made.ok()) return made.status().Annotate("looking up " + where + " just created");
    if (made->gfid == op.gfid) return Status::Ok();
    ++stats_.create_races;
    const std::string what = "a lookup on the secondary raced the create of " + where +
                             " and GlusterFS gave the new entry GFID " + GfidToString(made->gfid) +
                             " instead of " + GfidToString(op.gfid);
    if (attempt == kCreateAttempts) {
      return Status::FromErrno(EIO, what + ", " + std::to_string(kCreateAttempts) +
                                        " times in a row; the entry is left in place and georepd "
                                        "re-creates the file when an op on it finds it missing "
                                        "(check what keeps looking up new names on the secondary "
                                        "volume)");
    }
    log::Warning(kLog, what + "; removing it and creating it again");
    // The entry is the one this create just made: the create succeeded, so
    // the name was free, and no other op of the batch touches this name
    // while this one runs (apply_plan.h).
    Status removed = S_ISDIR(op.mode) ? volume_->Rmdir(op.pargfid, op.name)
                                      : volume_->Unlink(op.pargfid, op.name);
    if (!removed.ok()) return removed.Annotate(what + "; removing it failed");
  }
}

Status Applier::Apply(const protocol::EntryCreateOp& op, bool replace_stale, bool fresh) {
  if (fresh) {
    // The sender vouches that the GFID is new to the secondary, so the
    // create cannot duplicate it; only a taken name needs the rules below.
    Status st = CreateChecked(op);
    if (st.err() != EEXIST) return st;
  }
  // The common case is a new object: ask whether the GFID exists, then
  // create, and look at the name only when the create finds it taken.
  Result<ObjectAttr> elsewhere = volume_->Stat(op.gfid);
  if (!elsewhere.ok() && elsewhere.status().err() != ENOENT) {
    return elsewhere.status().Annotate("stat GFID " + GfidToString(op.gfid));
  }
  if (elsewhere.ok()) {
    Result<ObjectAttr> existing = volume_->Lookup(op.pargfid, op.name);
    if (!existing.ok() && existing.status().err() != ENOENT) {
      return existing.status().Annotate("lookup " + EntryName(op.pargfid, op.name));
    }
    ++stats_.already_applied;
    if (!existing.ok() || existing->gfid != op.gfid) {
      // The object exists under another name: this create is a replay and a
      // later rename moved it. Creating a second object with the same GFID
      // would corrupt the volume; the rest of the replay puts it in place.
      log::Debug(kLog, "create of " + EntryName(op.pargfid, op.name) + ": GFID " +
                           GfidToString(op.gfid) + " already exists under another name; skipped");
      return Status::Ok();
    }
    if ((existing->mode & S_IFMT) != (op.mode & S_IFMT)) {
      return Status::FromErrno(EEXIST, EntryName(op.pargfid, op.name) +
                                           " has the requested GFID but another file type");
    }
    // A replay: the entry is there; bring owner and mode to what the op says
    // (later ops of the same replay re-apply any newer attributes).
    ObjectAttr want;
    want.uid = op.uid;
    want.gid = op.gid;
    want.mode = op.mode & 07777;
    if (existing->uid != op.uid || existing->gid != op.gid) {
      GEOREP_RETURN_IF_ERROR(volume_->Setattr(op.gfid, protocol::kSetUid | protocol::kSetGid, want));
    }
    if (!S_ISLNK(op.mode) && (existing->mode & 07777) != (op.mode & 07777)) {
      GEOREP_RETURN_IF_ERROR(volume_->Setattr(op.gfid, protocol::kSetMode, want));
    }
    return Status::Ok();
  }

  Status st = CreateChecked(op);
  if (st.err() != EEXIST) return st;
  // The name is taken, by an object other than ours (ours does not exist).
  Result<ObjectAttr> existing = volume_->Lookup(op.pargfid, op.name);
  if (!existing.ok()) {
    // Gone again since: try once more, reporting whatever that gives.
    if (existing.status().err() == ENOENT) return CreateChecked(op);
    return existing.status().Annotate("lookup " + EntryName(op.pargfid, op.name));
  }
  if (existing->gfid == op.gfid) return Status::Ok();
  GEOREP_RETURN_IF_ERROR(ResolveConflict(op.pargfid, op.name, *existing, op.gfid, replace_stale));
  return CreateChecked(op);
}

Status Applier::Apply(const protocol::LinkOp& op, bool replace_stale) {
  Result<ObjectAttr> target = volume_->Stat(op.gfid);
  if (!target.ok()) {
    return target.status().Annotate("link target GFID " + GfidToString(op.gfid) +
                                    " on the secondary");
  }
  if (S_ISDIR(target->mode)) {
    return Status::FromErrno(EPERM, "GFID " + GfidToString(op.gfid) +
                                        " is a directory, which cannot be hard-linked");
  }
  Result<ObjectAttr> existing = volume_->Lookup(op.pargfid, op.name);
  if (existing.ok()) {
    if (existing->gfid == op.gfid) {
      ++stats_.already_applied;
      return Status::Ok();
    }
    GEOREP_RETURN_IF_ERROR(ResolveConflict(op.pargfid, op.name, *existing, op.gfid, replace_stale));
  } else if (existing.status().err() != ENOENT) {
    return existing.status().Annotate("lookup " + EntryName(op.pargfid, op.name));
  }
  Status st = volume_->Link(op.gfid, op.pargfid, op.name);
  if (st.err() == EEXIST) {
    Result<ObjectAttr> again = volume_->Lookup(op.pargfid, op.name);
    if (again.ok() && again->gfid == op.gfid) return Status::Ok();
  }
  return st;
}

Status Applier::Apply(const protocol::RenameOp& op, bool replace_stale) {
  const std::string from = EntryName(op.old_pargfid, op.old_name);
  const std::string to = EntryName(op.new_pargfid, op.new_name);
  Result<ObjectAttr> src = volume_->Lookup(op.old_pargfid, op.old_name);
  if (!src.ok() && src.status().err() != ENOENT) return src.status().Annotate("lookup " + from);
  Result<ObjectAttr> dst = volume_->Lookup(op.new_pargfid, op.new_name);
  if (!dst.ok() && dst.status().err() != ENOENT) return dst.status().Annotate("lookup " + to);

  const bool dst_is_it = dst.ok() && dst->gfid == op.gfid;
  if (!src.ok() || src->gfid != op.gfid) {
    if (dst_is_it) {
      ++stats_.already_applied;  // replay: the rename happened already
      return Status::Ok();
    }
    // Replay of a rename whose object a later op moved on (or whose source
    // name a later op reused): the object exists, the rest of the replay
    // puts it in place.
    Result<ObjectAttr> moved = volume_->Stat(op.gfid);
    if (moved.ok()) {
      ++stats_.already_applied;
      return Status::Ok();
    }
    if (moved.status().err() != ENOENT) {
      return moved.status().Annotate("stat GFID " + GfidToString(op.gfid));
    }
    return Status::FromErrno(
        ENOENT, "rename source " + from + " " +
                    (src.ok() ? "holds GFID " + GfidToString(src->gfid) : std::string("is absent")) +
                    " and the target " + to + " does not hold GFID " + GfidToString(op.gfid) +
                    ": the object is missing on the secondary (re-create it from the primary)");
  }
  if (dst_is_it) {
    // Both names are hard links of the same file: rename(2) does nothing, on
    // the primary too, so neither do we.
    ++stats_.already_applied;
    return Status::Ok();
  }
  if (dst.ok()) {
    // The primary replaced `replaced_gfid` (when the sender knows it) with a
    // target of a compatible type. Anything else at the target is either
    // stale or newer than this op (a replay), which only the sender can tell.
    const bool expected = !IsNullGfid(op.replaced_gfid) ? dst->gfid == op.replaced_gfid
                                                        : S_ISDIR(dst->mode) == S_ISDIR(src->mode);
    if (!expected) {
      GEOREP_RETURN_IF_ERROR(ResolveConflict(op.new_pargfid, op.new_name, *dst, op.gfid, replace_stale));
    }
  }
  return volume_->Rename(op.old_pargfid, op.old_name, op.new_pargfid, op.new_name)
      .Annotate("rename " + from + " -> " + to);
}

Result<std::optional<ObjectAttr>> Applier::EntryToRemove(const Gfid& pargfid,
                                                         const std::string& name,
                                                         const Gfid& gfid) {
  Result<ObjectAttr> e = volume_->Lookup(pargfid, name);
  if (!e.ok()) {
    if (e.status().err() == ENOENT) {
      ++stats_.already_applied;
      return std::optional<ObjectAttr>();
    }
    return e.status().Annotate("lookup " + EntryName(pargfid, name));
  }
  if (!IsNullGfid(gfid) && e->gfid != gfid) {
    // The name was reused after the removal (replay): the entry there now is
    // newer than this op and stays.
    ++stats_.already_applied;
    return std::optional<ObjectAttr>();
  }
  return std::optional<ObjectAttr>(*e);
}

Status Applier::Apply(const protocol::UnlinkOp& op) {
  Result<std::optional<ObjectAttr>> found = EntryToRemove(op.pargfid, op.name, op.gfid);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return Status::Ok();
  const ObjectAttr* e = &**found;
  if (S_ISDIR(e->mode)) {
    return Status::FromErrno(EISDIR, EntryName(op.pargfid, op.name) +
                                         " is a directory on the secondary; unlink refused");
  }
  Status st = volume_->Unlink(op.pargfid, op.name);
  if (st.err() == ENOENT) return Status::Ok();
  return st;
}

Status Applier::Apply(const protocol::RmdirOp& op) {
  Result<std::optional<ObjectAttr>> found = EntryToRemove(op.pargfid, op.name, op.gfid);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return Status::Ok();
  const ObjectAttr* e = &**found;
  if (!S_ISDIR(e->mode)) {
    return Status::FromErrno(ENOTDIR, EntryName(op.pargfid, op.name) +
                                          " is not a directory on the secondary; rmdir refused");
  }
  Status st = volume_->Rmdir(op.pargfid, op.name);
  if (st.err() == ENOENT) return Status::Ok();
  if (st.err() == ENOTEMPTY || st.err() == EEXIST) {
    return Status::FromErrno(ENOTEMPTY, "directory " + EntryName(op.pargfid, op.name) +
                                            " is not empty on the secondary although it was on "
                                            "the primary: it holds entries the primary removed "
                                            "or never had");
  }
  return st;
}

// ---- Data ops ------------------------------------------------------------------------

Status Applier::RequireRegular(const Gfid& gfid, const char* what) {
  Result<ObjectAttr> a = volume_->Stat(gfid);
  if (!a.ok()) return a.status().Annotate(std::string(what) + " GFID " + GfidToString(gfid));
  if (!S_ISREG(a->mode)) {
    return Status::FromErrno(S_ISDIR(a->mode) ? EISDIR : EINVAL,
                             std::string(what) + " GFID " + GfidToString(gfid) +
                                 " is not a regular file");
  }
  return Status::Ok();
}

Status Applier::Apply(const protocol::DataOp& op) {
  if (op.data.empty()) return Status::Ok();
  if (AllZero(op.data)) {
    // Zeroes become holes (as rsync --sparse): a sparse primary file stays
    // sparse even when the sender reads its holes as zeroes.
    Result<ObjectAttr> a = volume_->Stat(op.gfid);
    if (!a.ok()) return a.status().Annotate("file GFID " + GfidToString(op.gfid));
    if (!S_ISREG(a->mode)) {
      return Status::FromErrno(EINVAL, "GFID " + GfidToString(op.gfid) + " is not a regular file");
    }
    const uint64_t end = op.offset + op.data.size();
    bool punched = true;
    if (op.offset < a->size) {
      const uint64_t overlap = std::min<uint64_t>(end, a->size) - op.offset;
      Status st = volume_->PunchHole(op.gfid, op.offset, overlap);
      if (!st.ok()) {
        if (st.err() != EOPNOTSUPP && st.err() != ENOTSUP) return st;
        punched = false;  // the bricks cannot punch holes: write the zeroes
      }
    }
    if (punched) {
      if (end > a->size) GEOREP_RETURN_IF_ERROR(volume_->Truncate(op.gfid, end));
      stats_.bytes_written += op.data.size();
      return Status::Ok();
    }
  }
  GEOREP_RETURN_IF_ERROR(volume_->Write(op.gfid, op.offset, op.data));
  stats_.bytes_written += op.data.size();
  return Status::Ok();
}

Status Applier::Apply(const protocol::TruncateOp& op) { return volume_->Truncate(op.gfid, op.size); }

Status Applier::Apply(const protocol::PunchHoleOp& op) {
  if (op.length == 0) return Status::Ok();
  return volume_->PunchHole(op.gfid, op.offset, op.length);
}

Status Applier::Apply(const protocol::ZerofillOp& op) {
  if (op.length == 0) return Status::Ok();
  return volume_->Zerofill(op.gfid, op.offset, op.length);
}

Status Applier::Apply(const protocol::AllocateOp& op) {
  if (op.length == 0) return Status::Ok();
  return volume_->Allocate(op.gfid, op.keep_size, op.offset, op.length);
}

// ---- Attributes ------------------------------------------------------------------------

Status Applier::Apply(const protocol::SetattrOp& op) {
  ObjectAttr a;
  a.mode = op.mode & 07777;
  a.uid = op.uid;
  a.gid = op.gid;
  a.atime_ns = op.atime_ns;
  a.mtime_ns = op.mtime_ns;
  const uint32_t owner = op.mask & (protocol::kSetUid | protocol::kSetGid);
  const uint32_t rest = op.mask & ~owner;
  // chown clears set-user/group-ID bits, and GlusterFS's posix applies a
  // combined setattr as chmod, then chown: when the mode has those bits,
  // change the owner first, then the mode, so the mode the primary has
  // survives. Otherwise one call does (one round trip less per file).
  const bool keeps_id_bits = (op.mask & protocol::kSetMode) != 0 &&
                             (op.mode & (S_ISUID | S_ISGID)) != 0;
  if (owner == 0 || rest == 0 || !keeps_id_bits) {
    return op.mask == 0 ? Status::Ok() : volume_->Setattr(op.gfid, op.mask, a);
  }
  GEOREP_RETURN_IF_ERROR(volume_->Setattr(op.gfid, owner, a));
  return volume_->Setattr(op.gfid, rest, a);
}

Status Applier::Apply(const protocol::SetxattrOp& op) {
  return volume_->Setxattr(op.gfid, op.name, op.value);
}

Status Applier::Apply(const protocol::RemovexattrOp& op) {
  Status st = volume_->Removexattr(op.gfid, op.name);
  if (st.err() == ENODATA) {
    ++stats_.already_applied;
    return Status::Ok();
  }
  return st;
}

// ---- Verification ----------------------------------------------------------------------

protocol::StatReply Applier::Stat(const protocol::StatRequest& req) {
  protocol::StatReply r;
  r.request_id = req.request_id;
  r.gfid = req.gfid;
  Result<ObjectAttr> a = IsNullGfid(req.gfid)
                             ? Result<ObjectAttr>(Status::FromErrno(EINVAL, "null GFID"))
                             : volume_->Stat(req.gfid);
  if (!a.ok()) {
    r.err = a.status().err() != 0 ? a.status().err() : EIO;
    return r;
  }
  r.mode = a->mode;
  r.uid = a->uid;
  r.gid = a->gid;
  r.nlink = a->nlink;
  r.size = a->size;
  r.blocks = a->blocks;
  r.atime_ns = a->atime_ns;
  r.mtime_ns = a->mtime_ns;
  return r;
}

protocol::ListReply Applier::List(const protocol::ListRequest& req) {
  protocol::ListReply r;
  r.request_id = req.request_id;
  r.gfid = req.gfid;
  Status st = CheckObjectGfid(req.gfid, "directory GFID");
  Result<Volume::DirPage> page =
      st.ok() ? volume_->ListDir(req.gfid, req.cookie, protocol::kMaxListEntries)
              : Result<Volume::DirPage>(st);
  if (!page.ok()) {
    r.err = page.status().err() != 0 ? page.status().err() : EIO;
    return r;
  }
  // Names no op could name (the root's virtual .gfid of gfid-access) are
  // left out: the sender may only act on what it could also name in an op.
  for (protocol::ListEntry& e : page->entries) {
    if (ValidateName(req.gfid, e.name).ok()) r.entries.push_back(std::move(e));
  }
  r.next_cookie = page->next_cookie;
  r.eof = page->eof;
  return r;
}

protocol::ChecksumReply Applier::Checksum(const protocol::ChecksumRequest& req) {
  protocol::ChecksumReply r;
  r.request_id = req.request_id;
  r.gfid = req.gfid;
  Status st = CheckMovableGfid(req.gfid, "file GFID");
  if (st.ok()) st = CheckRange(req.offset, req.length);
  if (st.ok()) st = RequireRegular(req.gfid, "checksum");
  if (!st.ok()) {
    r.err = st.err() != 0 ? st.err() : EIO;
    return r;
  }
  constexpr uint64_t kChunk = 1024 * 1024;
  const uint64_t want = std::min(req.length, kMaxChecksumLength);
  uint32_t crc = 0;
  uint64_t done = 0;
  // Bounded: at most want / kChunk + 1 reads, and a short read ends it.
  while (done < want) {
    const uint64_t n = std::min(kChunk, want - done);
    Result<std::string> chunk = volume_->Read(req.gfid, req.offset + done, n);
    if (!chunk.ok()) {
      r.err = chunk.status().err() != 0 ? chunk.status().err() : EIO;
      return r;
    }
    crc = crc32c::Extend(crc, chunk->data(), chunk->size());
    done += chunk->size();
    if (chunk->size() < n) break;  // end of file
  }
  r.bytes_read = done;
  r.crc32c = crc;
  return r;
}

}  // namespace georep::receiver

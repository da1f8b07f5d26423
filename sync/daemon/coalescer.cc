#include "sync/daemon/coalescer.h"

#include <sys/stat.h>

#include <map>
#include <optional>
#include <set>
#include <utility>

namespace georep::daemon {
namespace {

using journal::Op;
using journal::Origin;
using journal::Record;

constexpr uint32_t kFallocKeepSize = 0x01;   // FALLOC_FL_KEEP_SIZE
constexpr uint32_t kFallocPunchHole = 0x02;  // FALLOC_FL_PUNCH_HOLE

bool Null(const Gfid& g) {
  for (uint8_t b : g) {
    if (b != 0) return false;
  }
  return true;
}

uint32_t TypeBitsFor(const Record& r) {
  if ((r.mode & S_IFMT) != 0) return r.mode;
  switch (r.op) {
    case Op::kMkdir: return r.mode | S_IFDIR;
    case Op::kSymlink: return r.mode | S_IFLNK;
    default: return r.mode | S_IFREG;
  }
}

// The entry op for a record, or nullopt for non-entry records.
std::optional<protocol::Op> EntryOpFor(const Record& r) {
  switch (r.op) {
    case Op::kCreate:
    case Op::kMknod:
    case Op::kMkdir:
    case Op::kSymlink: {
      protocol::EntryCreateOp e;
      e.pargfid = r.pargfid;
      e.name = r.name;
      e.gfid = r.gfid;
      e.mode = TypeBitsFor(r);
      e.uid = r.uid;
      e.gid = r.gid;
      e.rdev = r.rdev;
      e.target = r.target;
      return e;
    }
    case Op::kLink: return protocol::LinkOp{r.gfid, r.pargfid, r.name};
    case Op::kRename:
      return protocol::RenameOp{r.gfid, r.pargfid, r.name, r.pargfid2, r.name2, r.gfid2};
    case Op::kUnlink: return protocol::UnlinkOp{r.pargfid, r.name, r.gfid};
    case Op::kRmdir: return protocol::RmdirOp{r.pargfid, r.name, r.gfid};
    default: return std::nullopt;
  }
}

// Which objects an entry op names as parents.
void ParentsOf(const protocol::Op& op, std::vector<Gfid>* out) {
  if (auto* c = std::get_if<protocol::EntryCreateOp>(&op)) out->push_back(c->pargfid);
  else if (auto* l = std::get_if<protocol::LinkOp>(&op)) out->push_back(l->pargfid);
  else if (auto* rn = std::get_if<protocol::RenameOp>(&op)) {
    out->push_back(rn->old_pargfid);
    out->push_back(rn->new_pargfid);
  } else if (auto* u = std::get_if<protocol::UnlinkOp>(&op)) out->push_back(u->pargfid);
  else if (auto* d = std::get_if<protocol::RmdirOp>(&op)) out->push_back(d->pargfid);
}

// What a window knows about an object created inside it.
struct Lifetime {
  std::set<std::pair<Gfid, std::string>> names;
  bool is_dir = false;
  bool keep = false;  // must not vanish (see the rules in coalescer.h)
};

}  // namespace

bool Coalescer::ShouldSync(const Record& r, HealReplay heal) {
  if (r.origin == Origin::kReplication || r.origin == Origin::kRebalance) return false;
  if (r.origin == Origin::kSelfHeal && (r.seq > heal.through_seq || r.time_ns <= heal.after_ns)) {
    return false;
  }
  if ((r.flags & journal::kFlagDhtLinkto) != 0) return false;
  // GlusterFS's own directories in the volume root (AFR's anonymous-inode
  // directory is created by the bricks at start, not by a client).
  static const Gfid kRootGfid = protocol::RootGfid();
  if (r.pargfid == kRootGfid && IsInternalRootName(r.name)) return false;
  if ((r.flags & journal::kFlagInternalXattr) != 0 &&
      (r.op == Op::kSetxattr || r.op == Op::kRemovexattr)) {
    return false;
  }
  return true;
}

Plan Coalescer::Build(const std::vector<Record>& records, HealReplay heal) {
  Plan plan;
  std::map<Gfid, size_t> data_index;  // gfid -> its data item
  std::map<Gfid, size_t> meta_index;
  std::map<Gfid, Lifetime> created;

  auto data_item = [&](const Gfid& g) -> PlanItem& {
    auto [it, fresh] = data_index.emplace(g, plan.items.size());
    if (fresh) {
      PlanItem item;
      item.kind = PlanItem::Kind::kData;
      item.gfid = g;
      plan.items.push_back(std::move(item));
    }
    return plan.items[it->second];
  };
  auto meta_item = [&](const Gfid& g) -> PlanItem& {
    auto [it, fresh] = meta_index.emplace(g, plan.items.size());
    if (fresh) {
      PlanItem item;
      item.kind = PlanItem::Kind::kMeta;
      item.gfid = g;
      plan.items.push_back(std::move(item));
    }
    return plan.items[it->second];
  };
  auto forget_name = [&](const Gfid& g, const Gfid& parent, const std::string& name) {
    auto it = created.find(g);
    if (it != created.end()) it->second.names.erase({parent, name});
  };
  bool null_gfid_entry = false;

  for (const Record& r : records) {
    if (plan.records == 0) plan.first_seq = r.seq;
    plan.last_seq = r.seq;
    ++plan.records;
    if (r.time_ns > plan.newest_time_ns) plan.newest_time_ns = r.time_ns;
    if (!ShouldSync(r, heal)) {
      ++plan.skipped;
      continue;
    }
    if (auto entry = EntryOpFor(r)) {
      if (Null(r.gfid)) null_gfid_entry = true;
      PlanItem item;
      item.kind = PlanItem::Kind::kEntry;
      item.gfid = r.gfid;
      item.entry = std::move(*entry);
      plan.items.push_back(std::move(item));
      switch (r.op) {
        case Op::kCreate:
        case Op::kMknod:
        case Op::kMkdir:
        case Op::kSymlink: {
          Lifetime& life = created[r.gfid];
          life.names.insert({r.pargfid, r.name});
          life.is_dir = r.op == Op::kMkdir;
          // The record's mode may predate the umask or a later chmod that was
          // not journaled as a separate setattr; send the object's current
          // ownership and permissions after creating it.
          // Times too: an object that is never written keeps its creation
          // mtime on the primary, while the secondary's is the apply time.
          meta_item(r.gfid).attr_mask |= protocol::kSetMode | protocol::kSetUid |
                                         protocol::kSetGid | protocol::kSetAtime |
                                         protocol::kSetMtime;
          break;
        }
        case Op::kLink: {
          auto it = created.find(r.gfid);
          if (it != created.end()) it->second.names.insert({r.pargfid, r.name});
          break;
        }
        case Op::kRename: {
          auto it = created.find(r.gfid);
          if (it != created.end()) {
            it->second.names.erase({r.pargfid, r.name});
            it->second.names.insert({r.pargfid2, r.name2});
            if (!Null(r.gfid2)) it->second.keep = true;
          }
          if (!Null(r.gfid2)) forget_name(r.gfid2, r.pargfid2, r.name2);
          break;
        }
        case Op::kUnlink:
        case Op::kRmdir: forget_name(r.gfid, r.pargfid, r.name); break;
        default: break;
      }
      continue;
    }
    switch (r.op) {
      case Op::kWrite: data_item(r.gfid).ranges.Add(r.offset, r.offset + r.length); break;
      case Op::kTruncate: data_item(r.gfid).ranges.Add(r.offset, RangeSet::kToEof); break;
      case Op::kDiscard:
      case Op::kZerofill: data_item(r.gfid).ranges.Add(r.offset, r.offset + r.length); break;
      case Op::kFallocate: {
        PlanItem& item = data_item(r.gfid);
        item.ranges.Add(r.offset, r.offset + r.length);
        // A punch-hole fallocate is a discard: the range is resent as a hole.
        // Other modes preallocate; replaying them keeps the secondary's
        // allocation (and size when KEEP_SIZE is not set) like the primary's.
        if ((r.aux & kFallocPunchHole) == 0) {
          item.allocs.push_back({r.offset, r.length, (r.aux & kFallocKeepSize) != 0});
        }
        break;
      }
      case Op::kSetattr: {
        uint32_t mask = r.attr_mask & protocol::kSetattrKnownBits;
        if (mask != 0) meta_item(r.gfid).attr_mask |= mask;
        // A size change through setattr is a truncate to an unknown size.
        if ((r.attr_mask & journal::kAttrSize) != 0) {
          data_item(r.gfid).ranges.Add(r.offset, RangeSet::kToEof);
        }
        break;
      }
      case Op::kSetxattr:
      case Op::kRemovexattr: {
        std::string names = r.xattr_names;
        size_t pos = 0;
        bool any = false;
        while (pos <= names.size()) {
          size_t end = names.find('\0', pos);
          if (end == std::string::npos) end = names.size();
          std::string key = names.substr(pos, end - pos);
          if (!key.empty() && IsSyncableXattr(key)) {
            meta_item(r.gfid).xattrs.insert(key);
            any = true;
          }
          pos = end + 1;
        }
        if (!any) ++plan.skipped;
        break;
      }
      default: ++plan.skipped; break;
    }
  }

  // A metadata item before its object's data item (typically the one every
  // create gets) hands its attribute bits to the data item, which sends them
  // with the times after the data: one setattr instead of two. Moving a
  // setattr later is safe: it names the object by GFID and its values are
  // read at send time anyway.
  for (auto& [g, di] : data_index) {
    auto mi = meta_index.find(g);
    if (mi == meta_index.end() || mi->second > di) continue;
    plan.items[di].final_attr_mask |= plan.items[mi->second].attr_mask;
    plan.items[mi->second].attr_mask = 0;
  }
  // Vanishing: objects created here whose names are all gone again.
  std::set<Gfid> vanish;
  if (!null_gfid_entry) {
    for (const auto& [g, life] : created) {
      if (life.names.empty() && !life.keep && !Null(g)) vanish.insert(g);
    }
  }
  // A directory in `vanish` must survive while a surviving op uses it as a
  // parent (e.g. a file created in it and renamed out before the rmdir).
  // Each pass only removes from `vanish`, so this ends within |vanish| passes.
  for (bool changed = !vanish.empty(); changed;) {
    changed = false;
    std::vector<Gfid> parents;
    for (const PlanItem& item : plan.items) {
      if (item.kind != PlanItem::Kind::kEntry || vanish.count(item.gfid) != 0) continue;
      parents.clear();
      ParentsOf(item.entry, &parents);
      for (const Gfid& p : parents) {
        if (vanish.erase(p) != 0) changed = true;
      }
    }
  }
  if (!vanish.empty()) {
    std::vector<PlanItem> kept;
    kept.reserve(plan.items.size());
    for (PlanItem& item : plan.items) {
      if (vanish.count(item.gfid) != 0) {
        ++plan.vanished;
        continue;
      }
      kept.push_back(std::move(item));
    }
    plan.items = std::move(kept);
  }
  // Drop empty metadata items (e.g. only internal xattrs were named).
  std::vector<PlanItem> out;
  out.reserve(plan.items.size());
  for (PlanItem& item : plan.items) {
    if (item.kind == PlanItem::Kind::kMeta && item.attr_mask == 0 && item.xattrs.empty() &&
        !item.all_xattrs) {
      continue;
    }
    out.push_back(std::move(item));
  }
  plan.items = std::move(out);
  return plan;
}

}  // namespace georep::daemon

#include "sync/daemon/conflict.h"

#include <sys/stat.h>

#include <cerrno>

namespace georep::daemon {
namespace {

using protocol::Gfid;
using Kind = FailureVerdict::Kind;

std::string Where(const Gfid& parent, const std::string& name) {
  if (parent == protocol::RootGfid()) return "/" + name;
  return "<gfid:" + protocol::GfidToString(parent) + ">/" + name;
}

bool Missing(int err) { return err == ENOENT || err == ESTALE; }

FailureVerdict Verdict(Kind kind, std::string cause = "") {
  FailureVerdict v;
  v.kind = kind;
  v.cause = std::move(cause);
  return v;
}

PlanItem EntryItem(protocol::Op op, const Gfid& gfid) {
  PlanItem entry;
  entry.kind = PlanItem::Kind::kEntry;
  entry.gfid = gfid;
  entry.entry = std::move(op);
  return entry;
}

FailureVerdict RepairWith(protocol::Op op, const Gfid& gfid) {
  FailureVerdict v;
  v.kind = Kind::kRepair;
  v.items.push_back(EntryItem(std::move(op), gfid));
  return v;
}

PlanItem MetaItem(const Gfid& gfid, bool is_symlink) {
  PlanItem m;
  m.kind = PlanItem::Kind::kMeta;
  m.gfid = gfid;
  m.attr_mask = protocol::kSetUid | protocol::kSetGid | protocol::kSetAtime | protocol::kSetMtime;
  if (!is_symlink) m.attr_mask |= protocol::kSetMode;  // symlink modes are not settable
  m.all_xattrs = true;
  return m;
}

// Bounds the memory of blocked objects (a huge stale tree); past it, further
// ops are reported with the receiver's message only.
constexpr size_t kMaxBlocked = 100000;

// The hint every "only a crawl can fix this" cause ends with; the worker
// appends the state file's path.
constexpr const char* kCrawlFix = "then force a full crawl of this brick";

// GlusterFS's virtual xattr with an object's paths (posix, from the
// trusted.gfid2path.* xattrs it keeps when storage.gfid2path is on).
constexpr const char* kGfidToPathXattr = "glusterfs.gfidtopath";
// Names of one object recreated at most (hard links beyond are left to a
// crawl), and paths tried to find them.
constexpr size_t kMaxNames = 64;
constexpr size_t kMaxPathWalks = 256;

}  // namespace

Result<bool> ConflictResolver::PrimaryHas(const Gfid& parent, const std::string& name,
                                          const Gfid& gfid) {
  auto found = source_->LookupName(parent, name);
  if (found.ok()) return *found == gfid;
  // Gone (or a name the primary cannot have): the op is history.
  if (found.status().code() == Code::kNotFound || found.status().code() == Code::kInvalidArgument) {
    return false;
  }
  return found.status().Annotate("checking " + Where(parent, name) + " on the primary");
}

void ConflictResolver::AddObjectState(const Gfid& gfid, uint32_t mode, std::vector<PlanItem>* items) {
  if (S_ISREG(mode)) {
    PlanItem data;
    data.kind = PlanItem::Kind::kData;
    data.gfid = gfid;
    data.ranges.Add(0, RangeSet::kToEof);
    items->push_back(std::move(data));
  }
  items->push_back(MetaItem(gfid, S_ISLNK(mode)));
}

FailureVerdict ConflictResolver::Block(const Gfid& gfid, std::string cause) {
  if (blocked_.size() < kMaxBlocked) blocked_.emplace(gfid, cause);
  return Verdict(Kind::kReport, std::move(cause));
}

void ConflictResolver::NoteParent(const Gfid& parent) { parents_.insert(parent); }

std::vector<PlanItem> ConflictResolver::TakeParentRefresh() {
  std::vector<PlanItem> out;
  for (const Gfid& p : parents_) out.push_back(MetaItem(p, false));
  parents_.clear();
  return out;
}

Result<FailureVerdict> ConflictResolver::Recreate(const Gfid& parent, const std::string& name,
                                                  const Gfid& gfid) {
  auto st = source_->Stat(gfid);
  if (!st.ok()) {
    if (st.status().code() == Code::kNotFound) return Verdict(Kind::kReplay);
    return st.status().Annotate("stat of " + protocol::GfidToString(gfid) + " on the primary");
  }
  if (S_ISDIR(st->mode)) {
    return Block(gfid,
                   "directory " + Where(parent, name) + " (gfid " + protocol::GfidToString(gfid) +
                       ") is missing on the secondary; its contents can only come from a crawl: " +
                       kCrawlFix);
  }
  protocol::EntryCreateOp c;
  c.pargfid = parent;
  c.name = name;
  c.gfid = gfid;
  c.mode = st->mode;
  c.uid = st->uid;
  c.gid = st->gid;
  c.rdev = st->rdev;
  // A symlink's empty target is read by the Materializer at send time.
  FailureVerdict v = RepairWith(c, gfid);
  AddObjectState(gfid, st->mode, &v.items);
  repaired_.insert(gfid);
  NoteParent(parent);
  return v;
}

Result<std::vector<ConflictResolver::Name>> ConflictResolver::CurrentNames(const Gfid& gfid) {
  // GlusterFS's virtual xattr lists the object's paths from the root,
  // joined by ':' ("/d/f:/e/g"). A ':' inside a name makes that ambiguous,
  // so a path counts only when walking it on the primary ends at `gfid`.
  auto paths = source_->GetXattr(gfid, kGfidToPathXattr);
  if (!paths.ok()) {
    // A volume that cannot tell (an older brick, gfid2path off) or an
    // object gone meanwhile: nothing to recreate from.
    const Code c = paths.status().code();
    if (c == Code::kNotFound || c == Code::kInvalidArgument || c == Code::kFailedPrecondition ||
        c == Code::kPermissionDenied) {
      return std::vector<Name>{};
    }
    return paths.status().Annotate("paths of " + protocol::GfidToString(gfid) + " on the primary");
  }
  std::vector<Name> out;
  if (!paths->has_value()) return out;
  // Pieces between the ":/" separators; a path is one piece or, when its
  // names hold ":/", several consecutive ones joined by ':'.
  std::vector<std::string> pieces;
  const std::string& all = **paths;
  for (size_t begin = 0; begin < all.size();) {
    size_t end = all.find(":/", begin);
    if (end == std::string::npos) end = all.size();
    pieces.push_back(all.substr(begin, end - begin));
    begin = end + 1;
  }
  // Where `path` leads on the primary: {parent, name}, or nullopt.
  auto walk = [&](const std::string& path) -> Result<std::optional<Name>> {
    if (path.empty() || path[0] != '/') return std::optional<Name>();
    Gfid dir{};                         // the directory holding `name`
    Gfid holder = protocol::RootGfid(); // what the path leads to so far
    std::string name;
    for (size_t pos = 1; pos <= path.size();) {
      size_t slash = path.find('/', pos);
      if (slash == std::string::npos) slash = path.size();
      std::string component = path.substr(pos, slash - pos);
      pos = slash + 1;
      if (component.empty()) continue;
      auto next = source_->LookupName(holder, component);
      if (!next.ok()) {
        const Code c = next.status().code();
        if (c == Code::kNotFound || c == Code::kInvalidArgument) return std::optional<Name>();
        return next.status().Annotate("resolving " + path + " on the primary");
      }
      dir = holder;
      holder = *next;
      name = std::move(component);
    }
    if (name.empty() || holder != gfid) return std::optional<Name>();
    return std::optional<Name>(Name{dir, name});
  };
  // Shortest join first; every accepted path is checked to end at `gfid`,
  // so whichever reading is taken names the object. Bounded in walks.
  size_t walks = 0;
  for (size_t i = 0; i < pieces.size() && out.size() < kMaxNames && walks < kMaxPathWalks;) {
    std::string path;
    size_t next = i + 1;  // a piece no join makes a path of is skipped
    for (size_t j = i; j < pieces.size() && walks < kMaxPathWalks; ++j) {
      path += (j == i ? "" : ":") + pieces[j];
      ++walks;
      auto found = walk(path);
      if (!found.ok()) return found.status();
      if (found->has_value()) {
        out.push_back(**found);
        next = j + 1;
        break;
      }
    }
    i = next;
  }
  return out;
}

Result<FailureVerdict> ConflictResolver::Judge(const protocol::Op& op, int err, bool in_repair_batch) {
  // An op on a blocked object, or creating one inside it, is its fallout.
  Gfid self{};
  std::vector<const Gfid*> refs;
  std::visit([&](const auto& o) {
    if constexpr (requires { o.gfid; }) self = o.gfid, refs.push_back(&o.gfid);
    if constexpr (requires { o.pargfid; }) refs.push_back(&o.pargfid);
    if constexpr (requires { o.new_pargfid; }) refs.push_back(&o.new_pargfid);
  }, op);
  for (const Gfid* g : refs) {
    auto it = blocked_.find(*g);
    if (it == blocked_.end()) continue;
    // The message shown for that object; objects inside it say why they are
    // not replicated (once, however deep).
    std::string cause = it->second;
    if (*g != self) {
      const std::string prefix = "not replicated because ";
      if (cause.rfind(prefix, 0) != 0) cause = prefix + cause;
      if (blocked_.size() < kMaxBlocked) blocked_.emplace(self, cause);
    }
    return Verdict(Kind::kReport, cause);
  }

  if (in_repair_batch) {
    // Never repaired twice: report with what the admin can do.
    if (err == EEXIST) {
      const Gfid* parent = nullptr;
      const std::string* name = nullptr;
      if (auto* c = std::get_if<protocol::EntryCreateOp>(&op)) parent = &c->pargfid, name = &c->name;
      if (auto* l = std::get_if<protocol::LinkOp>(&op)) parent = &l->pargfid, name = &l->name;
      if (auto* r = std::get_if<protocol::RenameOp>(&op)) parent = &r->new_pargfid, name = &r->new_name;
      std::string at = parent != nullptr ? Where(*parent, *name) : std::string("the op's name");
      return Block(self,
                     "the secondary's entry at " + at +
                         " is stale (the primary has another GFID there) but the receiver keeps it "
                         "(a non-empty directory, or a type it cannot replace): check and remove it "
                         "on the secondary volume, " + kCrawlFix);
    }
    return Verdict(Kind::kReport);
  }

  if (auto* c = std::get_if<protocol::EntryCreateOp>(&op)) {
    bool parent_repaired = repaired_.count(c->pargfid) != 0;
    if (err != EEXIST && !(Missing(err) && parent_repaired)) {
      if (!Missing(err)) return Verdict(Kind::kReport);
      auto has = PrimaryHas(c->pargfid, c->name, c->gfid);
      if (!has.ok()) return has.status();
      if (!*has) return Verdict(Kind::kReplay);
      return Verdict(Kind::kReport, "directory " + protocol::GfidToString(c->pargfid) +
                                        " holding " + c->name +
                                        " is missing on the secondary though the primary has it: " +
                                        kCrawlFix);
    }
    auto has = PrimaryHas(c->pargfid, c->name, c->gfid);
    if (!has.ok()) return has.status();
    if (!*has) return Verdict(Kind::kReplay);
    FailureVerdict v = RepairWith(*c, c->gfid);
    AddObjectState(c->gfid, c->mode, &v.items);
    repaired_.insert(c->gfid);
    NoteParent(c->pargfid);
    return v;
  }

  if (auto* l = std::get_if<protocol::LinkOp>(&op)) {
    if (err != EEXIST && !Missing(err)) return Verdict(Kind::kReport);
    auto has = PrimaryHas(l->pargfid, l->name, l->gfid);
    if (!has.ok()) return has.status();
    if (!*has) return Verdict(Kind::kReplay);
    if (err == EEXIST || repaired_.count(l->gfid) != 0 || repaired_.count(l->pargfid) != 0) {
      NoteParent(l->pargfid);
      return RepairWith(*l, l->gfid);
    }
    return Recreate(l->pargfid, l->name, l->gfid);
  }

  if (auto* r = std::get_if<protocol::RenameOp>(&op)) {
    if (err != EEXIST && !Missing(err)) return Verdict(Kind::kReport);
    auto has = PrimaryHas(r->new_pargfid, r->new_name, r->gfid);
    if (!has.ok()) return has.status();
    if (!*has) return Verdict(Kind::kReplay);
    if (err == EEXIST || repaired_.count(r->new_pargfid) != 0 || repaired_.count(r->old_pargfid) != 0) {
      NoteParent(r->new_pargfid);
      return RepairWith(*r, r->gfid);
    }
    return Recreate(r->new_pargfid, r->new_name, r->gfid);
  }

  if (auto* d = std::get_if<protocol::RmdirOp>(&op); d != nullptr && err == ENOTEMPTY) {
    return Verdict(Kind::kReport,
                   "the secondary's directory " + Where(d->pargfid, d->name) +
                       " holds entries the primary never had there (made on the secondary or left "
                       "by an earlier session); georep never deletes them: check and remove the "
                       "directory on the secondary volume");
  }
  if (!Missing(err)) return Verdict(Kind::kReport);

  // UNLINK/RMDIR only fail with ENOENT when their directory is missing.
  const Gfid* parent = nullptr;
  if (auto* u = std::get_if<protocol::UnlinkOp>(&op)) parent = &u->pargfid;
  if (auto* d = std::get_if<protocol::RmdirOp>(&op)) parent = &d->pargfid;
  if (parent != nullptr) {
    auto st = source_->Stat(*parent);
    if (!st.ok() && st.status().code() == Code::kNotFound) return Verdict(Kind::kReplay);
    if (!st.ok()) return st.status().Annotate("stat on the primary");
    return Verdict(Kind::kReport, "directory " + protocol::GfidToString(*parent) +
                                      " is missing on the secondary though the primary has it: " +
                                      kCrawlFix);
  }

  // Data and metadata ops name their object by GFID.
  Gfid gfid{};
  std::visit([&](const auto& o) {
    if constexpr (requires { o.gfid; }) gfid = o.gfid;
  }, op);
  if (repaired_.count(gfid) != 0) return Verdict(Kind::kCovered);
  auto st = source_->Stat(gfid);
  if (!st.ok() && st.status().code() == Code::kNotFound) return Verdict(Kind::kReplay);
  if (!st.ok()) return st.status().Annotate("stat on the primary");
  // A file is re-created where the primary has it now, with a link for
  // each further name (a name taken on the secondary by another GFID is
  // replaced: repairs are sent with REPLACE_STALE).
  if (!S_ISDIR(st->mode)) {
    auto names = CurrentNames(gfid);
    if (!names.ok()) return names.status();
    if (!names->empty()) {
      auto v = Recreate(names->front().parent, names->front().name, gfid);
      if (!v.ok() || v->kind != Kind::kRepair) return v;
      for (size_t i = 1; i < names->size(); ++i) {
        const Name& n = (*names)[i];
        v->items.push_back(EntryItem(protocol::LinkOp{gfid, n.parent, n.name}, gfid));
        NoteParent(n.parent);
      }
      return v;
    }
  }
  return Verdict(Kind::kReport, "object " + protocol::GfidToString(gfid) +
                                    " is missing on the secondary though the primary has it: " +
                                    kCrawlFix);
}

}  // namespace georep::daemon

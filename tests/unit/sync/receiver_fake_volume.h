// An in-memory Volume with POSIX entry semantics (rename over targets, hard
// links, non-empty rmdir, sparse pages), so the applier's replay and conflict
// rules can be tested without GlusterFS. It also checks the one invariant the
// real volume cannot show cheaply: no GFID is ever created twice.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "sync/receiver/volume.h"

namespace georep::receiver::testing {

using protocol::Gfid;
using protocol::GfidToString;

// A GFID for tests: `tag` in the first byte (tells the test files' objects
// apart in logs), n big-endian in the last four.
inline Gfid MakeGfid(uint8_t tag, uint32_t n) {
  Gfid g{};
  g[0] = tag;
  g[12] = static_cast<uint8_t>(n >> 24);
  g[13] = static_cast<uint8_t>(n >> 16);
  g[14] = static_cast<uint8_t>(n >> 8);
  g[15] = static_cast<uint8_t>(n);
  return g;
}

class FakeVolume : public Volume {
 public:
  static constexpr uint64_t kPage = 4096;

  struct Inode {
    uint32_t mode = 0;
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint32_t nlink = 1;
    int64_t atime_ns = 0;
    int64_t mtime_ns = 0;
    std::string data;
    std::set<uint64_t> pages;                 // allocated 4 KiB pages
    std::string target;                       // symlink
    uint64_t rdev = 0;
    std::map<std::string, std::string> xattrs;
    std::map<std::string, Gfid> entries;      // directory
    Gfid parent{};                            // directory
  };

  FakeVolume() {
    Inode root;
    root.mode = S_IFDIR | 0755;
    root.nlink = 2;
    root.parent = protocol::RootGfid();
    inodes_[protocol::RootGfid()] = root;
  }

  // ---- Volume ----
  Result<ObjectAttr> Lookup(const Gfid& pargfid, const std::string& name) override {
    ++lookups;
    auto p = inodes_.find(pargfid);
    if (p == inodes_.end()) return Status::FromErrno(ENOENT, "parent");
    if (!S_ISDIR(p->second.mode)) return Status::FromErrno(ENOTDIR, "parent");
    auto e = p->second.entries.find(name);
    if (e == p->second.entries.end()) return Status::FromErrno(ENOENT, "lookup " + name);
    return Attr(e->second);
  }

  Result<ObjectAttr> Stat(const Gfid& gfid) override {
    ++stats;
    if (inodes_.count(gfid) == 0) return Status::FromErrno(ENOENT, "stat " + GfidToString(gfid));
    return Attr(gfid);
  }

  // Cookie n: the page starts at the n-th name in name order.
  Result<DirPage> ListDir(const Gfid& gfid, uint64_t cookie, size_t max) override {
    auto d = inodes_.find(gfid);
    if (d == inodes_.end()) return Status::FromErrno(ENOENT, "list " + GfidToString(gfid));
    if (!S_ISDIR(d->second.mode)) return Status::FromErrno(ENOTDIR, "list " + GfidToString(gfid));
    DirPage page;
    uint64_t i = 0;
    for (const auto& [name, g] : d->second.entries) {
      if (i++ < cookie) continue;
      if (page.entries.size() == max) break;
      const Inode& n = inodes_[g];
      page.entries.push_back(protocol::ListEntry{name, g, n.mode, n.data.size(), n.mtime_ns});
    }
    page.next_cookie = cookie + page.entries.size();
    page.eof = page.next_cookie >= d->second.entries.size();
    return page;
  }

  Status CreateEntry(const protocol::EntryCreateOp& op) override {
    Inode* p = Dir(op.pargfid);
    if (p == nullptr) return Status::FromErrno(ENOENT, "parent");
    if (p->entries.count(op.name) != 0) return Status::FromErrno(EEXIST, "create " + op.name);
    if (inodes_.count(op.gfid) != 0) {
      duplicate_gfid_created = true;  // what GlusterFS would turn into corruption
      return Status::FromErrno(EEXIST, "gfid exists");
    }
    // GlusterFS's create/lookup race (applier.cc, CreateChecked): the
    // entry gets a GFID nobody asked for.
    Gfid gfid = op.gfid;
    if (lose_create_races > 0) {
      --lose_create_races;
      gfid = MakeGfid(0xee, ++raced_gfids);
    }
    Inode n;
    n.mode = op.mode;
    n.uid = op.uid;
    n.gid = op.gid;
    n.rdev = op.rdev;
    n.target = op.target;
    if (S_ISDIR(op.mode)) {
      n.nlink = 2;
      n.parent = op.pargfid;
    }
    inodes_[gfid] = n;
    Dir(op.pargfid)->entries[op.name] = gfid;
    ++creates;
    return Status::Ok();
  }

  Status Link(const Gfid& gfid, const Gfid& pargfid, const std::string& name) override {
    auto t = inodes_.find(gfid);
    if (t == inodes_.end()) return Status::FromErrno(ENOENT, "link target");
    if (S_ISDIR(t->second.mode)) return Status::FromErrno(EPERM, "link dir");
    Inode* p = Dir(pargfid);
    if (p == nullptr) return Status::FromErrno(ENOENT, "parent");
    if (p->entries.count(name) != 0) return Status::FromErrno(EEXIST, "link " + name);
    p->entries[name] = gfid;
    ++inodes_[gfid].nlink;
    return Status::Ok();
  }

  Status Rename(const Gfid& op, const std::string& on, const Gfid& np,
                const std::string& nn) override {
    Inode* from = Dir(op);
    Inode* to = Dir(np);
    if (from == nullptr || to == nullptr) return Status::FromErrno(ENOENT, "rename parent");
    auto s = from->entries.find(on);
    if (s == from->entries.end()) return Status::FromErrno(ENOENT, "rename source");
    const Gfid src = s->second;
    const bool src_dir = S_ISDIR(inodes_[src].mode);
    if (src_dir) {
      // Refuse moving a directory under itself.
      for (Gfid g = np;; g = inodes_[g].parent) {
        if (g == src) return Status::FromErrno(EINVAL, "rename into own subtree");
        if (g == protocol::RootGfid()) break;
      }
    }
    auto d = to->entries.find(nn);
    if (d != to->entries.end()) {
      const Gfid dst = d->second;
      if (dst == src) return Status::Ok();  // hard links of one file: no-op
      const bool dst_dir = S_ISDIR(inodes_[dst].mode);
      if (src_dir && !dst_dir) return Status::FromErrno(ENOTDIR, "rename");
      if (!src_dir && dst_dir) return Status::FromErrno(EISDIR, "rename");
      if (dst_dir && !inodes_[dst].entries.empty()) return Status::FromErrno(ENOTEMPTY, "rename");
      Drop(np, nn);
    }
    Dir(op)->entries.erase(on);
    Dir(np)->entries[nn] = src;
    if (src_dir) inodes_[src].parent = np;
    return Status::Ok();
  }

  Status Unlink(const Gfid& pargfid, const std::string& name) override {
    Inode* p = Dir(pargfid);
    if (p == nullptr || p->entries.count(name) == 0) return Status::FromErrno(ENOENT, "unlink");
    if (S_ISDIR(inodes_[p->entries[name]].mode)) return Status::FromErrno(EISDIR, "unlink");
    Drop(pargfid, name);
    return Status::Ok();
  }

  Status Rmdir(const Gfid& pargfid, const std::string& name) override {
    Inode* p = Dir(pargfid);
    if (p == nullptr || p->entries.count(name) == 0) return Status::FromErrno(ENOENT, "rmdir");
    const Inode& d = inodes_[p->entries[name]];
    if (!S_ISDIR(d.mode)) return Status::FromErrno(ENOTDIR, "rmdir");
    if (!d.entries.empty()) return Status::FromErrno(ENOTEMPTY, "rmdir");
    Drop(pargfid, name);
    return Status::Ok();
  }

  Status Write(const Gfid& gfid, uint64_t offset, std::string_view data) override {
    if (fail_writes_errno != 0) return Status::FromErrno(fail_writes_errno, "injected");
    Inode* f = nullptr;
    GEOREP_RETURN_IF_ERROR(Regular(gfid, &f));
    if (f->data.size() < offset + data.size()) f->data.resize(offset + data.size(), '\0');
    f->data.replace(offset, data.size(), data);
    for (uint64_t p = offset / kPage; p * kPage < offset + data.size(); ++p) f->pages.insert(p);
    written.insert(gfid);
    return Status::Ok();
  }

  Result<std::string> Read(const Gfid& gfid, uint64_t offset, uint64_t length) override {
    Inode* f = nullptr;
    GEOREP_RETURN_IF_ERROR(Regular(gfid, &f));
    if (offset >= f->data.size()) return std::string();
    return f->data.substr(offset, length);
  }

  Status Truncate(const Gfid& gfid, uint64_t size) override {
    Inode* f = nullptr;
    GEOREP_RETURN_IF_ERROR(Regular(gfid, &f));
    f->data.resize(size, '\0');
    f->pages.erase(f->pages.lower_bound((size + kPage - 1) / kPage), f->pages.end());
    return Status::Ok();
  }

  Status PunchHole(const Gfid& gfid, uint64_t offset, uint64_t length) override {
    Inode* f = nullptr;
    GEOREP_RETURN_IF_ERROR(Regular(gfid, &f));
    const uint64_t end = std::min<uint64_t>(offset + length, f->data.size());
    for (uint64_t i = offset; i < end; ++i) f->data[i] = '\0';
    for (uint64_t p = (offset + kPage - 1) / kPage; (p + 1) * kPage <= offset + length; ++p) {
      f->pages.erase(p);
    }
    ++punches;
    return Status::Ok();
  }

  Status Zerofill(const Gfid& gfid, uint64_t offset, uint64_t length) override {
    return Write(gfid, offset, std::string(length, '\0'));
  }

  Status Allocate(const Gfid& gfid, bool keep_size, uint64_t offset, uint64_t length) override {
    Inode* f = nullptr;
    GEOREP_RETURN_IF_ERROR(Regular(gfid, &f));
    if (!keep_size && f->data.size() < offset + length) f->data.resize(offset + length, '\0');
    for (uint64_t p = offset / kPage; p * kPage < offset + length; ++p) f->pages.insert(p);
    return Status::Ok();
  }

  Status Fsync(const Gfid& gfid) override {
    Inode* f = nullptr;
    GEOREP_RETURN_IF_ERROR(Regular(gfid, &f));
    fsynced.insert(gfid);
    return Status::Ok();
  }

  Status Close(const Gfid& gfid) override {
    ++closes;
    const bool was_written = written.erase(gfid) != 0;
    if (was_written && fail_close_errno != 0) return Status::FromErrno(fail_close_errno, "close");
    return Status::Ok();
  }

  std::vector<std::pair<Gfid, Status>> FlushAll() override {
    std::vector<std::pair<Gfid, Status>> out;
    if (fail_close_errno != 0) {
      for (const Gfid& g : written) out.emplace_back(g, Status::FromErrno(fail_close_errno, "close"));
    }
    written.clear();
    ++flushes;
    return out;
  }

  Status Setattr(const Gfid& gfid, uint32_t mask, const ObjectAttr& a) override {
    auto it = inodes_.find(gfid);
    if (it == inodes_.end()) return Status::FromErrno(ENOENT, "setattr");
    Inode& n = it->second;
    if ((mask & (protocol::kSetUid | protocol::kSetGid)) != 0) {
      if (mask & protocol::kSetUid) n.uid = a.uid;
      if (mask & protocol::kSetGid) n.gid = a.gid;
      // As Linux: chown of a non-directory clears set-user/group-ID.
      if (!S_ISDIR(n.mode)) n.mode &= ~static_cast<uint32_t>(S_ISUID | S_ISGID);
    }
    if (mask & protocol::kSetMode) n.mode = (n.mode & S_IFMT) | (a.mode & 07777);
    if (mask & protocol::kSetAtime) n.atime_ns = a.atime_ns;
    if (mask & protocol::kSetMtime) n.mtime_ns = a.mtime_ns;
    return Status::Ok();
  }

  Status Setxattr(const Gfid& gfid, const std::string& name, std::string_view value) override {
    auto it = inodes_.find(gfid);
    if (it == inodes_.end()) return Status::FromErrno(ENOENT, "setxattr");
    it->second.xattrs[name] = std::string(value);
    return Status::Ok();
  }

  Status Removexattr(const Gfid& gfid, const std::string& name) override {
    auto it = inodes_.find(gfid);
    if (it == inodes_.end()) return Status::FromErrno(ENOENT, "removexattr");
    if (it->second.xattrs.erase(name) == 0) return Status::FromErrno(ENODATA, "removexattr");
    return Status::Ok();
  }

  // ---- test helpers ----
  const Inode* Find(const Gfid& g) const {
    auto it = inodes_.find(g);
    return it == inodes_.end() ? nullptr : &it->second;
  }
  // Gfid at a path of names from the root, or the null GFID.
  Gfid At(const std::string& path) const {
    Gfid g = protocol::RootGfid();
    std::istringstream in(path);
    std::string part;
    while (std::getline(in, part, '/')) {
      if (part.empty()) continue;
      const Inode* n = Find(g);
      if (n == nullptr || n->entries.count(part) == 0) return Gfid{};
      g = n->entries.at(part);
    }
    return g;
  }
  // The whole tree, one line per entry, for comparing states.
  std::string Dump() const {
    std::string out;
    DumpDir(protocol::RootGfid(), "", &out);
    return out;
  }
  size_t inode_count() const { return inodes_.size(); }

  bool duplicate_gfid_created = false;
  // The next this many creates lose the race with a lookup (CreateEntry).
  int lose_create_races = 0;
  uint32_t raced_gfids = 0;
  int fail_writes_errno = 0;
  int fail_close_errno = 0;
  int creates = 0;
  int lookups = 0;
  int stats = 0;
  int punches = 0;
  int flushes = 0;
  int closes = 0;
  std::set<Gfid> written;
  std::set<Gfid> fsynced;

 private:
  ObjectAttr Attr(const Gfid& g) {
    const Inode& n = inodes_[g];
    ObjectAttr a;
    a.gfid = g;
    a.mode = n.mode;
    a.uid = n.uid;
    a.gid = n.gid;
    a.nlink = n.nlink;
    a.size = n.data.size();
    a.blocks = n.pages.size() * (kPage / 512);
    a.atime_ns = n.atime_ns;
    a.mtime_ns = n.mtime_ns;
    return a;
  }
  Inode* Dir(const Gfid& g) {
    auto it = inodes_.find(g);
    if (it == inodes_.end() || !S_ISDIR(it->second.mode)) return nullptr;
    return &it->second;
  }
  Status Regular(const Gfid& g, Inode** out) {
    auto it = inodes_.find(g);
    if (it == inodes_.end()) return Status::FromErrno(ENOENT, "GFID " + GfidToString(g));
    if (!S_ISREG(it->second.mode)) return Status::FromErrno(EINVAL, "not regular");
    *out = &it->second;
    return Status::Ok();
  }
  void Drop(const Gfid& pargfid, const std::string& name) {
    Inode* p = Dir(pargfid);
    const Gfid g = p->entries[name];
    p->entries.erase(name);
    Inode& n = inodes_[g];
    if (S_ISDIR(n.mode) || --n.nlink == 0) inodes_.erase(g);
  }
  void DumpDir(const Gfid& dir, const std::string& prefix, std::string* out) const {
    for (const auto& [name, g] : inodes_.at(dir).entries) {
      const Inode& n = inodes_.at(g);
      std::ostringstream line;
      line << prefix << "/" << name << " gfid=" << GfidToString(g) << " mode=0" << std::oct
           << n.mode << std::dec << " uid=" << n.uid << " gid=" << n.gid << " nlink=" << n.nlink
           << " size=" << n.data.size() << " pages=" << n.pages.size() << " data=" << n.data
           << " target=" << n.target << " mtime=" << n.mtime_ns;
      for (const auto& [k, v] : n.xattrs) line << " " << k << "=" << v;
      *out += line.str() + "\n";
      if (S_ISDIR(n.mode)) DumpDir(g, prefix + "/" + name, out);
    }
  }

  std::map<Gfid, Inode> inodes_;
};

// Forwards to a FakeVolume one call at a time, so the applier's parallel
// path can run on it. Each call also yields first, so that threads
// interleave and an op the plan let start too early shows as a wrong tree.
class SerializedVolume : public Volume {
 public:
  explicit SerializedVolume(FakeVolume* v) : v_(v) {}
  void PrepareThread() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++threads_prepared;
  }
  Result<ObjectAttr> Lookup(const Gfid& p, const std::string& n) override { return Call([&] { return v_->Lookup(p, n); }); }
  Result<ObjectAttr> Stat(const Gfid& g) override { return Call([&] { return v_->Stat(g); }); }
  Result<DirPage> ListDir(const Gfid& g, uint64_t c, size_t m) override { return Call([&] { return v_->ListDir(g, c, m); }); }
  Status CreateEntry(const protocol::EntryCreateOp& op) override { return Call([&] { return v_->CreateEntry(op); }); }
  Status Link(const Gfid& g, const Gfid& p, const std::string& n) override { return Call([&] { return v_->Link(g, p, n); }); }
  Status Rename(const Gfid& op, const std::string& on, const Gfid& np, const std::string& nn) override {
    return Call([&] { return v_->Rename(op, on, np, nn); });
  }
  Status Unlink(const Gfid& p, const std::string& n) override { return Call([&] { return v_->Unlink(p, n); }); }
  Status Rmdir(const Gfid& p, const std::string& n) override { return Call([&] { return v_->Rmdir(p, n); }); }
  Status Write(const Gfid& g, uint64_t o, std::string_view d) override { return Call([&] { return v_->Write(g, o, d); }); }
  Result<std::string> Read(const Gfid& g, uint64_t o, uint64_t l) override { return Call([&] { return v_->Read(g, o, l); }); }
  Status Truncate(const Gfid& g, uint64_t s) override { return Call([&] { return v_->Truncate(g, s); }); }
  Status PunchHole(const Gfid& g, uint64_t o, uint64_t l) override { return Call([&] { return v_->PunchHole(g, o, l); }); }
  Status Zerofill(const Gfid& g, uint64_t o, uint64_t l) override { return Call([&] { return v_->Zerofill(g, o, l); }); }
  Status Allocate(const Gfid& g, bool k, uint64_t o, uint64_t l) override { return Call([&] { return v_->Allocate(g, k, o, l); }); }
  Status Fsync(const Gfid& g) override { return Call([&] { return v_->Fsync(g); }); }
  Status Close(const Gfid& g) override { return Call([&] { return v_->Close(g); }); }
  std::vector<std::pair<Gfid, Status>> FlushAll() override { return Call([&] { return v_->FlushAll(); }); }
  Status Setattr(const Gfid& g, uint32_t m, const ObjectAttr& a) override { return Call([&] { return v_->Setattr(g, m, a); }); }
  Status Setxattr(const Gfid& g, const std::string& n, std::string_view v) override { return Call([&] { return v_->Setxattr(g, n, v); }); }
  Status Removexattr(const Gfid& g, const std::string& n) override { return Call([&] { return v_->Removexattr(g, n); }); }

  int threads_prepared = 0;

 private:
  template <class F>
  auto Call(F f) -> decltype(f()) {
    std::this_thread::yield();
    std::lock_guard<std::mutex> lock(mu_);
    return f();
  }
  FakeVolume* v_;
  std::mutex mu_;
};

}  // namespace georep::receiver::testing

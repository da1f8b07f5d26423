#include "sync/daemon/crawler.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "sync/common/log.h"

namespace georep::daemon {
namespace {

// Deeper trees than this are refused rather than risking the stack.
constexpr int kMaxDepth = 512;

// Every non-directory on a brick has one extra hard link,
// .glusterfs/xx/yy/<gfid>, which is GlusterFS's handle and not a user name.
constexpr nlink_t kHandleLinks = 1;

bool IsLinkto(const std::string& path, const struct stat& st) {
  if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != S_ISVTX) return false;
  ssize_t n = lgetxattr(path.c_str(), "trusted.glusterfs.dht.linkto", nullptr, 0);
  return n >= 0;
}

PlanItem MetaFor(const Gfid& g, bool is_symlink) {
  PlanItem m;
  m.kind = PlanItem::Kind::kMeta;
  m.gfid = g;
  m.attr_mask = protocol::kSetUid | protocol::kSetGid | protocol::kSetAtime | protocol::kSetMtime;
  if (!is_symlink) m.attr_mask |= protocol::kSetMode;
  m.all_xattrs = true;
  return m;
}

}  // namespace

Result<Gfid> ReadBrickGfid(const std::string& path) {
  Gfid g{};
  ssize_t n = lgetxattr(path.c_str(), "trusted.gfid", g.data(), g.size());
  if (n < 0) return Status::FromErrno(errno, "read trusted.gfid of " + path);
  if (n != static_cast<ssize_t>(g.size())) {
    return Status(Code::kCorruption, "trusted.gfid of " + path + " has " + std::to_string(n) +
                                         " bytes, expected 16");
  }
  return g;
}

Status BrickCrawler::Run() {
  GEOREP_RETURN_IF_ERROR(Walk(brick_, protocol::RootGfid(), 0));
  // The root's own metadata last (after all of its contents).
  return sink_(MetaFor(protocol::RootGfid(), false));
}

Status BrickCrawler::Walk(const std::string& dir, const Gfid& dir_gfid, int depth) {
  if (depth > kMaxDepth) {
    return Status(Code::kFailedPrecondition, "directory nesting deeper than " +
                                                  std::to_string(kMaxDepth) + " at " + dir);
  }
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (!d) {
    if (errno == ENOENT && depth > 0) {  // removed while we walked
      ++stats_.skipped;
      return Status::Ok();
    }
    return Status::FromErrno(errno, "opendir " + dir);
  }
  // Names first, so no directory stream stays open across the recursion.
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = readdir(d.get())) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (depth == 0 && IsInternalRootName(n)) continue;
    names.push_back(std::move(n));
  }
  if (errno != 0) return Status::FromErrno(errno, "readdir " + dir);
  d.reset();

  for (const std::string& name : names) {
    if (stop_()) return Status(Code::kAborted, "crawl stopped");
    std::string path = dir + "/" + name;
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        ++stats_.skipped;
        continue;
      }
      return Status::FromErrno(errno, "lstat " + path);
    }
    auto gfid = ReadBrickGfid(path);
    if (!gfid.ok()) {
      // No gfid: created on the brick but not yet looked up through a client,
      // or GlusterFS-internal; the journal reports it once a client sees it.
      log::Debug("crawl", "skipping " + path + ": " + gfid.status().ToString());
      ++stats_.skipped;
      continue;
    }
    if (IsLinkto(path, st)) {
      ++stats_.skipped;
      continue;
    }
    const Gfid& g = *gfid;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 + kHandleLinks) {
      auto [it, fresh] = seen_links_.emplace(g, true);
      if (!fresh) {
        PlanItem link;
        link.kind = PlanItem::Kind::kEntry;
        link.gfid = g;
        link.entry = protocol::LinkOp{g, dir_gfid, name};
        ++stats_.links;
        GEOREP_RETURN_IF_ERROR(sink_(std::move(link)));
        continue;
      }
    }
    protocol::EntryCreateOp create;
    create.pargfid = dir_gfid;
    create.name = name;
    create.gfid = g;
    create.mode = st.st_mode;
    create.uid = st.st_uid;
    create.gid = st.st_gid;
    create.rdev = st.st_rdev;
    if (S_ISLNK(st.st_mode)) {
      std::string target(4096, '\0');
      ssize_t n = readlink(path.c_str(), target.data(), target.size());
      if (n < 0) {
        if (errno == ENOENT) {
          ++stats_.skipped;
          continue;
        }
        return Status::FromErrno(errno, "readlink " + path);
      }
      target.resize(static_cast<size_t>(n));
      create.target = std::move(target);
    }
    PlanItem entry;
    entry.kind = PlanItem::Kind::kEntry;
    entry.gfid = g;
    entry.entry = std::move(create);
    GEOREP_RETURN_IF_ERROR(sink_(std::move(entry)));
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 + kHandleLinks) {
      // A file the secondary already has under another name (a resync
      // after one of its links was renamed) is not created again: the
      // receiver takes the create for a replay. The link that follows puts
      // it under this name, and is a no-op when the create made it.
      PlanItem link;
      link.kind = PlanItem::Kind::kEntry;
      link.gfid = g;
      link.entry = protocol::LinkOp{g, dir_gfid, name};
      GEOREP_RETURN_IF_ERROR(sink_(std::move(link)));
    }
    if (S_ISDIR(st.st_mode)) {
      ++stats_.dirs;
      GEOREP_RETURN_IF_ERROR(Walk(path, g, depth + 1));
      GEOREP_RETURN_IF_ERROR(sink_(MetaFor(g, false)));
      continue;
    }
    if (S_ISREG(st.st_mode)) {
      ++stats_.files;
      PlanItem data;
      data.kind = PlanItem::Kind::kData;
      data.gfid = g;
      data.ranges.Add(0, RangeSet::kToEof);
      GEOREP_RETURN_IF_ERROR(sink_(std::move(data)));
    } else {
      ++stats_.others;
    }
    GEOREP_RETURN_IF_ERROR(sink_(MetaFor(g, S_ISLNK(st.st_mode))));
  }
  return Status::Ok();
}

bool BrickHasFile(const std::string& brick_path, const Gfid& gfid) {
  const std::string id = protocol::GfidToString(gfid);
  const std::string handle = brick_path + "/.glusterfs/" + id.substr(0, 2) + "/" + id.substr(2, 2) + "/" + id;
  struct stat st {};
  return ::lstat(handle.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
}

}  // namespace georep::daemon

#include "sync/verify/volume.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <glusterfs/api/glfs.h>
#include <glusterfs/api/glfs-handles.h>

namespace georep::verify {

namespace {

// gfapi's log level numbers (gf_loglevel_t in <glusterfs/logging.h>, which
// does not compile as C++): 5 is GF_LOG_WARNING.
constexpr int kGfapiLogLevel = 5;
constexpr char kDefaultLogDir[] = "/var/log/glusterfs";

// Bytes per gfapi read; one network round trip each.
constexpr size_t kReadChunk = 1 << 20;
// Large enough for any Linux xattr value (XATTR_SIZE_MAX) and for the name
// lists of all but pathological files; ERANGE falls back to asking the size.
constexpr size_t kXattrBuffer = 64 * 1024;
constexpr size_t kSymlinkMax = 4096;

// Client-side caches would let a second pass of --wait-until-equal see what
// the first pass saw instead of what the bricks hold now. These performance
// translators accept "pass-through", which makes them forward every call.
constexpr const char* kPassThroughXlators[] = {
    "*-md-cache", "*-io-cache", "*-read-ahead", "*-readdir-ahead", "*-open-behind", "*-nl-cache",
    "*-io-threads",
};

// quick-read saves the READ round trip of small files: gfapi looks up every
// inode that readdirplus found before its first fop on it, quick-read asks
// that LOOKUP to carry the content of files up to max-file-size, and our
// anonymous read of the same pass is then answered from it. What it caches
// is trusted only while the file's ctime is unchanged (ctime-invalidation:
// every readdirplus and lookup of the file compares ctime and drops the copy
// when it moved; any write moves ctime, while mtime can be set back, as
// replicators do) and for at most cache-timeout (1 s, the minimum that still
// serves anything): the same rule as the verifier's own digest cache, keyed
// by (GFID, size, mtime, ctime). cache-size bounds the memory it may hold.
constexpr const char* kQuickReadMaxFileSize = "256KB";
constexpr std::pair<const char*, const char*> kQuickReadOptions[] = {
    {"ctime-invalidation", "on"},
    {"cache-timeout", "1"},
    {"cache-size", "64MB"},
};

// Compared extended-attribute namespaces; trusted.* and glusterfs.* belong to
// GlusterFS itself and differ between volumes by design.
bool IsComparedXattr(std::string_view name) {
  return name.substr(0, 5) == "user." || name.substr(0, 9) == "security." ||
         name == "system.posix_acl_access" || name == "system.posix_acl_default";
}

int64_t ToNs(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void FillFromStat(const struct stat& st, Entry* e) {
  e->type = EntryTypeFromMode(st.st_mode);
  e->mode = st.st_mode & 07777;
  e->uid = st.st_uid;
  e->gid = st.st_gid;
  e->size = static_cast<uint64_t>(st.st_size);
  e->mtime_ns = ToNs(st.st_mtim);
  e->ctime_ns = ToNs(st.st_ctim);
  e->nlink = st.st_nlink;
  e->rdev = (e->type == EntryType::kCharDevice || e->type == EntryType::kBlockDevice) ? st.st_rdev : 0;
}

ObjectRef Adopt(glfs_object* obj) {
  return ObjectRef(obj, [](glfs_object* o) {
    if (o != nullptr) glfs_h_close(o);
  });
}

void FillGfid(glfs_object* obj, Entry* e) {
  unsigned char handle[GFAPI_HANDLE_LENGTH];
  if (glfs_h_extract_handle(obj, handle, GFAPI_HANDLE_LENGTH) == GFAPI_HANDLE_LENGTH) {
    std::memcpy(e->gfid.data(), handle, e->gfid.size());
    e->has_gfid = true;
  }
}

// The entry at `path` (absolute in the volume) as a walk reports it, and its
// object; a null object, with errno set, when the lookup failed.
ObjectRef LookupPath(glfs* fs, const std::string& path, Entry* e) {
  struct stat st {};
  glfs_object* raw = glfs_h_lookupat(fs, nullptr, path.c_str(), &st, 0);
  if (raw == nullptr) return nullptr;
  e->path = path;
  FillFromStat(st, e);
  FillGfid(raw, e);
  return Adopt(raw);
}

std::string DefaultLogFile(const std::string& volume) {
  if (access(kDefaultLogDir, W_OK) == 0) {
    return std::string(kDefaultLogDir) + "/georep-verify-" + volume + ".log";
  }
  return "/dev/null";
}

struct Child {
  std::string name;
  struct stat st;
  ObjectRef obj;
};

}  // namespace

bool IsVanishedErrno(int err) { return err == ENOENT || err == ESTALE; }

bool IsInternalRootName(const std::string& name) {
  // .trashcan: the trash translator's directory; .shard: sharding's block
  // store; .glusterfs: brick metadata, in case a client ever lists it.
  return name == ".trashcan" || name == ".shard" || name == ".glusterfs";
}

Result<std::unique_ptr<GlusterVolume>> GlusterVolume::Connect(const VolumeSpec& spec) {
  if (spec.volume.empty()) return Status(Code::kInvalidArgument, "no volume name given");
  const std::string where = "volume '" + spec.volume + "' through volfile server " + spec.server +
                            ":" + std::to_string(spec.port);
  glfs_t* fs = glfs_new(spec.volume.c_str());
  if (fs == nullptr) return Status::FromErrno(errno, "gfapi could not set up a client for " + where);
  const std::string log = spec.log_file.empty() ? DefaultLogFile(spec.volume) : spec.log_file;
  if (glfs_set_volfile_server(fs, "tcp", spec.server.c_str(), spec.port) != 0) {
    const int err = errno;
    glfs_fini(fs);
    return Status::FromErrno(err, "cannot use volfile server for " + where);
  }
  if (glfs_set_logging(fs, log.c_str(), kGfapiLogLevel) != 0) {
    const int err = errno;
    glfs_fini(fs);
    return Status::FromErrno(err, "cannot open gfapi log file '" + log +
                                      "' (choose another with --gfapi-log)");
  }
  for (const char* xl : kPassThroughXlators) {
    if (glfs_set_xlator_option(fs, xl, "pass-through", "true") != 0) {
      const int err = errno;
      glfs_fini(fs);
      return Status::FromErrno(err, "cannot set client options for " + where);
    }
  }
  // max-file-size 0 keeps quick-read from fetching or caching anything.
  if (glfs_set_xlator_option(fs, "*-quick-read", "max-file-size",
                             spec.content_with_lookup ? kQuickReadMaxFileSize : "0") != 0) {
    const int err = errno;
    glfs_fini(fs);
    return Status::FromErrno(err, "cannot set client options for " + where);
  }
  for (const auto& [key, value] : kQuickReadOptions) {
    if (glfs_set_xlator_option(fs, "*-quick-read", key, value) != 0) {
      const int err = errno;
      glfs_fini(fs);
      return Status::FromErrno(err, "cannot set client options for " + where);
    }
  }
  if (glfs_init(fs) != 0) {
    const int err = errno != 0 ? errno : ENOTCONN;
    if (!spec.leave_to_process_exit) glfs_fini(fs);
    Status st = Status::FromErrno(err, "cannot connect to " + where);
    return Status(st.code(), st.message() + ". Check that glusterd runs on " + spec.server +
                                 " and that the volume exists and is started (gluster volume status " +
                                 spec.volume + "); details in " + log);
  }
  return std::unique_ptr<GlusterVolume>(new GlusterVolume(spec, fs, log));
}

GlusterVolume::~GlusterVolume() {
  if (fs_ != nullptr && !spec_.leave_to_process_exit) glfs_fini(fs_);
}

std::string GlusterVolume::Describe() const {
  return "volume '" + spec_.volume + "' on " + spec_.server;
}

namespace {

size_t CountOccurrences(std::string_view text, std::string_view needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string_view::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

}  // namespace

Result<GlusterVolume::BrickCount> GlusterVolume::CountBricks() {
  BrickCount count;
  // glfs_get_volfile returns minus the length when the buffer is too small.
  char none = 0;
  const ssize_t need = glfs_get_volfile(fs_, &none, 0);
  if (need >= 0) return Status(Code::kUnavailable, "no volfile available for " + Describe());
  std::string volfile(static_cast<size_t>(-need), '\0');
  const ssize_t got = glfs_get_volfile(fs_, volfile.data(), volfile.size());
  if (got <= 0) return Status(Code::kUnavailable, "cannot read the volfile of " + Describe());
  volfile.resize(static_cast<size_t>(got));
  count.total = static_cast<int>(CountOccurrences(volfile, "type protocol/client"));

  struct stat st {};
  glfs_object* raw = glfs_h_lookupat(fs_, nullptr, "/", &st, 0);
  if (raw == nullptr) return Status::FromErrno(errno, "look up the root of " + Describe());
  ObjectRef root = Adopt(raw);
  std::vector<char> buf(kXattrBuffer);
  int n = glfs_h_getxattrs(fs_, root.get(), "trusted.glusterfs.pathinfo", buf.data(), buf.size());
  if (n < 0 && errno == ERANGE) {
    const int len = glfs_h_getxattrs(fs_, root.get(), "trusted.glusterfs.pathinfo", nullptr, 0);
    if (len > 0) {
      buf.resize(static_cast<size_t>(len));
      n = glfs_h_getxattrs(fs_, root.get(), "trusted.glusterfs.pathinfo", buf.data(), buf.size());
    }
  }
  if (n < 0) return Status::FromErrno(errno, "read the brick list of " + Describe());
  count.answering = static_cast<int>(
      CountOccurrences(std::string_view(buf.data(), static_cast<size_t>(n)), "<POSIX("));
  return count;
}

Result<Scan> GlusterVolume::Walk(const std::string& root) {
  Entry e;
  ObjectRef root_obj = LookupPath(fs_, root, &e);
  if (!root_obj) {
    const int err = errno;
    Status s = Status::FromErrno(err, "look up '" + root + "' in " + Describe());
    if (IsVanishedErrno(err)) {
      return Status(Code::kNotFound, s.message() + " (give --path an existing directory)");
    }
    return s;
  }
  if (e.type != EntryType::kDirectory) {
    return Status(Code::kInvalidArgument, "'" + root + "' in " + Describe() + " is not a directory");
  }
  Scan scan;
  scan.entries.push_back(std::move(e));
  scan.objects.push_back(root_obj);
  GEOREP_RETURN_IF_ERROR(WalkDir(root_obj, 0, root == "/", &scan));
  return scan;
}

Result<std::optional<Entry>> GlusterVolume::Probe(const std::string& path) {
  Entry e;
  if (!LookupPath(fs_, path, &e)) {
    const int err = errno;
    // ENOTDIR: a component above is not (yet) a directory on this side.
    if (IsVanishedErrno(err) || err == ENOTDIR) return std::optional<Entry>();
    return Status::FromErrno(err, "look up '" + DisplayPath(path) + "' in " + Describe());
  }
  return std::optional<Entry>(std::move(e));
}

Status GlusterVolume::WalkDir(const ObjectRef& dir, size_t dir_index, bool at_volume_root,
                              Scan* scan) {
  // Copy: scan->entries grows (and may reallocate) during the recursion.
  const std::string dir_path = scan->entries[dir_index].path;
  glfs_fd_t* fd = glfs_h_opendir(fs_, dir.get());
  if (fd == nullptr) {
    const int err = errno;
    if (IsVanishedErrno(err)) {
      scan->entries[dir_index].error = "directory vanished while being listed";
      return Status::Ok();
    }
    return Status::FromErrno(err, "open directory '" + DisplayPath(dir_path) + "' in " + Describe());
  }
  std::vector<Child> children;
  Status failure;
  while (true) {
    glfs_xreaddirp_stat_t* xs = nullptr;
    struct dirent de {};
    struct dirent* res = nullptr;
    const int got = glfs_xreaddirplus_r(fd, GFAPI_XREADDIRP_STAT | GFAPI_XREADDIRP_HANDLE, &xs,
                                        &de, &res);
    if (got < 0) {
      const int err = errno;
      if (xs != nullptr) glfs_free(xs);
      if (IsVanishedErrno(err)) {
        scan->entries[dir_index].error = "directory vanished while being listed";
        children.clear();
      } else {
        failure = Status::FromErrno(err, "read directory '" + DisplayPath(dir_path) + "' in " + Describe());
      }
      break;
    }
    if (res == nullptr) {
      if (xs != nullptr) glfs_free(xs);
      break;
    }
    Child c;
    c.name = de.d_name;
    bool have_stat = false;
    if (xs != nullptr) {
      if ((got & GFAPI_XREADDIRP_STAT) != 0) {
        struct stat* sp = glfs_xreaddirplus_get_stat(xs);
        if (sp != nullptr && sp->st_mode != 0) {
          c.st = *sp;
          have_stat = true;
        }
      }
      if ((got & GFAPI_XREADDIRP_HANDLE) != 0) {
        glfs_object* o = glfs_xreaddirplus_get_object(xs);
        if (o != nullptr) c.obj = Adopt(glfs_object_copy(o));
      }
      glfs_free(xs);
    }
    if (c.name == "." || c.name == ".." || (at_volume_root && IsInternalRootName(c.name))) continue;
    if (!have_stat || !c.obj) {
      // readdirplus may omit the inode (e.g. an entry created mid-listing):
      // one lookup fills it in.
      glfs_object* o = glfs_h_lookupat(fs_, dir.get(), c.name.c_str(), &c.st, 0);
      if (o == nullptr) {
        const int err = errno;
        if (IsVanishedErrno(err)) continue;
        failure = Status::FromErrno(err, "look up '" + DisplayPath(JoinPath(dir_path, c.name)) +
                                             "' in " + Describe());
        break;
      }
      c.obj = Adopt(o);
    }
    children.push_back(std::move(c));
  }
  glfs_closedir(fd);
  GEOREP_RETURN_IF_ERROR(failure);

  std::sort(children.begin(), children.end(),
            [](const Child& a, const Child& b) { return a.name < b.name; });
  for (Child& c : children) {
    Entry e;
    e.path = JoinPath(dir_path, c.name);
    FillFromStat(c.st, &e);
    FillGfid(c.obj.get(), &e);
    const bool is_dir = e.type == EntryType::kDirectory;
    scan->entries.push_back(std::move(e));
    scan->objects.push_back(c.obj);
    if (is_dir) {
      GEOREP_RETURN_IF_ERROR(WalkDir(c.obj, scan->entries.size() - 1, false, scan));
    }
  }
  return Status::Ok();
}

Status GlusterVolume::FillDetails(Entry* entry, glfs_object* object, bool xattrs) {
  const std::string what = "'" + DisplayPath(entry->path) + "' in " + Describe();
  if (entry->type == EntryType::kDirectory) {
    // readdirplus reports a directory as one brick sees it; a stat asks the
    // distribute translator, which merges all bricks' copies.
    struct stat st {};
    if (glfs_h_stat(fs_, object, &st) != 0) {
      const int err = errno;
      if (IsVanishedErrno(err)) {
        entry->error = "vanished during the scan";
        return Status::Ok();
      }
      return Status::FromErrno(err, "stat " + what);
    }
    FillFromStat(st, entry);
  }
  if (entry->type == EntryType::kSymlink) {
    char buf[kSymlinkMax + 1];
    const int n = glfs_h_readlink(fs_, object, buf, kSymlinkMax);
    if (n < 0) {
      const int err = errno;
      if (IsVanishedErrno(err)) {
        entry->error = "vanished during the scan";
        return Status::Ok();
      }
      return Status::FromErrno(err, "read symlink " + what);
    }
    entry->symlink_target.assign(buf, static_cast<size_t>(n));
  }

  if (!xattrs) return Status::Ok();
  thread_local std::vector<char> names;
  thread_local std::vector<char> value;
  if (names.size() < kXattrBuffer) names.resize(kXattrBuffer);
  if (value.size() < kXattrBuffer) value.resize(kXattrBuffer);
  int n = glfs_h_getxattrs(fs_, object, nullptr, names.data(), names.size());
  if (n < 0 && errno == ERANGE) {
    const int need = glfs_h_getxattrs(fs_, object, nullptr, nullptr, 0);
    if (need > 0) {
      names.resize(static_cast<size_t>(need));
      n = glfs_h_getxattrs(fs_, object, nullptr, names.data(), names.size());
    } else {
      n = need;
    }
  }
  if (n < 0) {
    const int err = errno;
    if (IsVanishedErrno(err)) {
      entry->error = "vanished during the scan";
      return Status::Ok();
    }
    return Status::FromErrno(err, "list extended attributes of " + what);
  }
  entry->xattrs.clear();
  for (int off = 0; off < n;) {
    const std::string name(names.data() + off);
    off += static_cast<int>(name.size()) + 1;
    if (!IsComparedXattr(name)) continue;
    const int len = glfs_h_getxattrs(fs_, object, name.c_str(), value.data(), value.size());
    if (len < 0) {
      const int err = errno;
      if (err == ENODATA) continue;  // removed since it was listed
      if (IsVanishedErrno(err)) {
        entry->error = "vanished during the scan";
        return Status::Ok();
      }
      return Status::FromErrno(err, "read extended attribute " + name + " of " + what);
    }
    entry->xattrs.push_back(Xattr{name, std::string(value.data(), static_cast<size_t>(len))});
  }
  std::sort(entry->xattrs.begin(), entry->xattrs.end(),
            [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
  return Status::Ok();
}

Result<BlockDigest> GlusterVolume::DigestBlock(glfs_object* object, uint64_t size, uint64_t index,
                                               BlockHasher* hasher, std::vector<uint8_t>* buffer) {
  const ReadAt read = [this, object](void* buf, size_t len, uint64_t offset) -> int64_t {
    const ssize_t got = glfs_h_anonymous_read(fs_, object, buf, len, static_cast<off_t>(offset));
    return got < 0 ? -static_cast<int64_t>(errno) : static_cast<int64_t>(got);
  };
  return verify::DigestBlock(read, size, index, kReadChunk, hasher, buffer);
}

}  // namespace georep::verify

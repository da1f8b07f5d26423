#include "sync/daemon/gfapi_source.h"

#include <fcntl.h>
#include <glusterfs/api/glfs-handles.h>
#include <glusterfs/api/glfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

namespace georep::daemon {
namespace {

std::atomic<int> g_pending_finis{0};

// glfs_fini on a detached thread (gfapi_source.h says why), for a mounted
// instance and for one whose glfs_init failed alike.
void FiniInBackground(glfs_t* fs) {
  g_pending_finis.fetch_add(1);
  try {
    std::thread([fs] {
      glfs_fini(fs);
      g_pending_finis.fetch_sub(1);
    }).detach();
  } catch (const std::system_error&) {
    // No thread to be had: then the caller waits, as glfs_fini always made it.
    glfs_fini(fs);
    g_pending_finis.fetch_sub(1);
  }
}

// GlusterFS reports a GFID that no longer exists as ENOENT or ESTALE.
Status GfapiError(int err, const std::string& what) {
  if (err == ESTALE) err = ENOENT;
  return Status::FromErrno(err, what);
}

ObjectStat FromStat(const struct stat& st) {
  ObjectStat o;
  o.mode = st.st_mode;
  o.uid = st.st_uid;
  o.gid = st.st_gid;
  o.size = static_cast<uint64_t>(st.st_size);
  o.rdev = st.st_rdev;
  o.atime_ns = static_cast<int64_t>(st.st_atim.tv_sec) * 1000000000 + st.st_atim.tv_nsec;
  o.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return o;
}

// Owns a glfs_object for one call.
class Handle {
 public:
  Handle(glfs_t* fs, const protocol::Gfid& gfid) {
    unsigned char raw[GFAPI_HANDLE_LENGTH];
    std::memcpy(raw, gfid.data(), sizeof raw);
    obj_ = glfs_h_create_from_handle(fs, raw, GFAPI_HANDLE_LENGTH, &st_);
    err_ = obj_ == nullptr ? errno : 0;
  }
  ~Handle() {
    if (obj_ != nullptr) glfs_h_close(obj_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  glfs_object_t* get() const { return obj_; }
  int err() const { return err_; }
  const struct stat& st() const { return st_; }
  glfs_object_t* release() {
    glfs_object_t* o = obj_;
    obj_ = nullptr;
    return o;
  }

 private:
  glfs_object_t* obj_ = nullptr;
  struct stat st_ {};
  int err_ = 0;
};

// A file of the primary, read through anonymous fds: a small file costs the
// brick a LOOKUP (in Open, which also yields the size and times) and one
// READ, not OPEN, FSTAT, READ, FLUSH and RELEASE on top. A real fd is opened
// only for SEEK_DATA/SEEK_HOLE, which gfapi offers on fds alone (large
// ranges, where holes are worth finding).
class GfapiFile : public SourceFile {
 public:
  GfapiFile(glfs_t* fs, glfs_object_t* obj, const struct stat& st, std::string gfid)
      : fs_(fs), obj_(obj), first_stat_(st), gfid_(std::move(gfid)) {}
  ~GfapiFile() override {
    if (fd_ != nullptr) glfs_close(fd_);
    glfs_h_close(obj_);
  }

  Result<ObjectStat> Stat() override {
    // The first answer is the one the bricks gave to Open's lookup (gfapi
    // stats a handle it already knows, md-cache is passed through), so it
    // is as fresh as a new stat would be; later calls ask again.
    if (!stat_used_) {
      stat_used_ = true;
      return FromStat(first_stat_);
    }
    struct stat st {};
    if (glfs_h_stat(fs_, obj_, &st) != 0) return GfapiError(errno, "stat " + gfid_);
    return FromStat(st);
  }
  Result<std::optional<uint64_t>> SeekData(uint64_t offset) override {
    if (!seek_supported_) return std::optional<uint64_t>(offset);
    GEOREP_RETURN_IF_ERROR(OpenFd());
    off_t r = glfs_lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
    if (r < 0) {
      if (errno == ENXIO) return std::optional<uint64_t>();  // only a hole up to EOF
      if (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP || errno == ENOSYS) {
        // A brick file system without SEEK_DATA: treat everything as data
        // (correct, just not sparse).
        seek_supported_ = false;
        return std::optional<uint64_t>(offset);
      }
      return GfapiError(errno, "lseek SEEK_DATA " + gfid_);
    }
    return std::optional<uint64_t>(static_cast<uint64_t>(r));
  }
  Result<uint64_t> SeekHole(uint64_t offset) override {
    if (!seek_supported_) return UINT64_MAX;
    GEOREP_RETURN_IF_ERROR(OpenFd());
    off_t r = glfs_lseek(fd_, static_cast<off_t>(offset), SEEK_HOLE);
    if (r < 0) {
      if (errno == ENXIO) return offset;  // offset at/after EOF
      if (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP || errno == ENOSYS) {
        seek_supported_ = false;
        return UINT64_MAX;
      }
      return GfapiError(errno, "lseek SEEK_HOLE " + gfid_);
    }
    return static_cast<uint64_t>(r);
  }
  // Safe to call from several threads at once (the materializer reads
  // chunks ahead): each call is one anonymous-fd read. A chunk is read in
  // one request: GlusterFS 10 serves a reply over 1 MiB from a fresh calloc,
  // but 1 MiB requests churned its iobuf arenas (page faults as costly) and
  // 256 KiB ones cost the brick 60-80% more CPU (1 GiB file, 2 runs each:
  // georepd + brick 2.2-2.4 s at 1 MiB, 2.0-2.1 s at 4 MiB).
  Status Read(uint64_t offset, uint64_t length, std::string* out) override {
    // A reused buffer (BufferPool) at least this long is cut, not zeroed.
    out->resize(length);
    size_t done = 0;
    while (done < length) {
      ssize_t n = glfs_h_anonymous_read(fs_, obj_, out->data() + done, length - done,
                                        static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return GfapiError(errno, "read " + gfid_ + " at " + std::to_string(offset + done));
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    out->resize(done);
    return Status::Ok();
  }

 private:
  Status OpenFd() {
    if (fd_ != nullptr) return Status::Ok();
    fd_ = glfs_h_open(fs_, obj_, O_RDONLY);
    if (fd_ == nullptr) return GfapiError(errno, "open gfid " + gfid_);
    return Status::Ok();
  }

  glfs_t* fs_;
  glfs_object_t* obj_;
  struct stat first_stat_;
  bool stat_used_ = false;
  glfs_fd_t* fd_ = nullptr;
  std::string gfid_;
  bool seek_supported_ = true;
};

}  // namespace

Result<std::unique_ptr<GfapiVolume>> GfapiVolume::Open(const std::string& volume,
                                                       const std::string& server,
                                                       const std::string& log_file) {
  glfs_t* fs = glfs_new(volume.c_str());
  if (fs == nullptr) return Status::FromErrno(errno, "glfs_new " + volume);
  if (glfs_set_volfile_server(fs, "tcp", server.c_str(), 24007) != 0) {
    int e = errno;
    FiniInBackground(fs);
    return Status::FromErrno(e, "glfs_set_volfile_server " + server);
  }
  glfs_set_logging(fs, log_file.empty() ? "/dev/null" : log_file.c_str(), 7 /* GF_LOG_INFO */);
  // The daemon must read what the bricks hold NOW: client-side caches would
  // hand it sizes, times or contents up to a second old (md-cache,
  // quick-read, io-cache), and a window read from stale values would be
  // acknowledged as synced. These translators forward everything with
  // pass-through; quick-read has none, a zero size limit disables it.
  // Client-side io-threads (performance.client-io-threads) only hands each
  // fop to another thread before it goes to the bricks: a context switch per
  // read for a daemon that keeps its own reads in flight.
  static const char* const kPassThrough[] = {"*-md-cache", "*-io-cache", "*-read-ahead",
                                             "*-readdir-ahead", "*-open-behind", "*-nl-cache",
                                             "*-io-threads"};
  for (const char* xl : kPassThrough) {
    if (glfs_set_xlator_option(fs, xl, "pass-through", "true") != 0) {
      int e = errno;
      FiniInBackground(fs);
      return Status::FromErrno(e, std::string("gfapi option ") + xl + " pass-through");
    }
  }
  if (glfs_set_xlator_option(fs, "*-quick-read", "max-file-size", "0") != 0) {
    int e = errno;
    FiniInBackground(fs);
    return Status::FromErrno(e, "gfapi option quick-read max-file-size");
  }
  if (glfs_init(fs) != 0) {
    int e = errno;
    FiniInBackground(fs);
    return Status(Code::kUnavailable,
                  "cannot mount primary volume " + volume + " from " + server + " with gfapi (" +
                      std::strerror(e) +
                      "); check that the volume is started and that --volfile-server names a "
                      "node whose glusterd is reachable");
  }
  return std::unique_ptr<GfapiVolume>(new GfapiVolume(fs, volume));
}

int PendingBackgroundFinis() { return g_pending_finis.load(); }

GfapiVolume::~GfapiVolume() { FiniInBackground(fs_); }

Status GfapiVolume::Probe() {
  struct statvfs sv;
  if (glfs_statvfs(fs_, "/", &sv) != 0) {
    return Status::FromErrno(errno, "statvfs of the root of volume " + volume_);
  }
  return Status::Ok();
}

Status GfapiVolume::SetRootXattr(const std::string& key, const std::string& value) {
  if (glfs_setxattr(fs_, "/", key.c_str(), value.data(), value.size(), 0) != 0) {
    return Status::FromErrno(errno, "setxattr " + key + " on the root of volume " + volume_);
  }
  return Status::Ok();
}

Status GfapiVolume::RemoveRootXattr(const std::string& key) {
  if (glfs_removexattr(fs_, "/", key.c_str()) != 0 && errno != ENODATA) {
    return Status::FromErrno(errno, "removexattr " + key + " on the root of volume " + volume_);
  }
  return Status::Ok();
}

Result<ObjectStat> GfapiSource::Stat(const protocol::Gfid& gfid) {
  Handle h(vol_->fs(), gfid);
  if (h.get() == nullptr) return GfapiError(h.err(), "lookup gfid " + protocol::GfidToString(gfid));
  return FromStat(h.st());
}

Result<std::unique_ptr<SourceFile>> GfapiSource::Open(const protocol::Gfid& gfid) {
  std::string name = protocol::GfidToString(gfid);
  Handle h(vol_->fs(), gfid);
  if (h.get() == nullptr) return GfapiError(h.err(), "lookup gfid " + name);
  if (!S_ISREG(h.st().st_mode)) {
    return Status(Code::kInvalidArgument, "gfid " + name + " is not a regular file");
  }
  const struct stat st = h.st();
  return std::unique_ptr<SourceFile>(new GfapiFile(vol_->fs(), h.release(), st, name));
}

Result<std::optional<std::string>> GfapiSource::GetXattr(const protocol::Gfid& gfid,
                                                         const std::string& name) {
  Handle h(vol_->fs(), gfid);
  std::string gs = protocol::GfidToString(gfid);
  if (h.get() == nullptr) return GfapiError(h.err(), "lookup gfid " + gs);
  // Size first, then the value; retry if it grew in between (bounded).
  for (int attempt = 0; attempt < 4; ++attempt) {
    int size = glfs_h_getxattrs(vol_->fs(), h.get(), name.c_str(), nullptr, 0);
    if (size < 0) {
      if (errno == ENODATA) return std::optional<std::string>();
      return GfapiError(errno, "getxattr " + name + " of " + gs);
    }
    std::string value(static_cast<size_t>(size), '\0');
    int got = glfs_h_getxattrs(vol_->fs(), h.get(), name.c_str(), value.data(), value.size());
    if (got < 0) {
      if (errno == ENODATA) return std::optional<std::string>();
      if (errno == ERANGE) continue;
      return GfapiError(errno, "getxattr " + name + " of " + gs);
    }
    value.resize(static_cast<size_t>(got));
    return std::optional<std::string>(std::move(value));
  }
  return Status(Code::kUnavailable, "getxattr " + name + " of " + gs + ": value keeps changing");
}

Result<std::vector<std::string>> GfapiSource::ListXattrs(const protocol::Gfid& gfid) {
  Handle h(vol_->fs(), gfid);
  std::string gs = protocol::GfidToString(gfid);
  if (h.get() == nullptr) return GfapiError(h.err(), "lookup gfid " + gs);
  for (int attempt = 0; attempt < 4; ++attempt) {
    // A null name lists the attribute names (as listxattr(2)).
    int size = glfs_h_getxattrs(vol_->fs(), h.get(), nullptr, nullptr, 0);
    if (size < 0) return GfapiError(errno, "listxattr " + gs);
    std::string buf(static_cast<size_t>(size), '\0');
    int got = glfs_h_getxattrs(vol_->fs(), h.get(), nullptr, buf.data(), buf.size());
    if (got < 0) {
      if (errno == ERANGE) continue;
      return GfapiError(errno, "listxattr " + gs);
    }
    buf.resize(static_cast<size_t>(got));
    std::vector<std::string> names;
    size_t pos = 0;
    while (pos < buf.size()) {
      size_t end = buf.find('\0', pos);
      if (end == std::string::npos) end = buf.size();
      if (end > pos) names.push_back(buf.substr(pos, end - pos));
      pos = end + 1;
    }
    return names;
  }
  return Status(Code::kUnavailable, "listxattr " + gs + ": list keeps changing");
}

Result<std::string> GfapiSource::ReadLink(const protocol::Gfid& gfid) {
  Handle h(vol_->fs(), gfid);
  std::string gs = protocol::GfidToString(gfid);
  if (h.get() == nullptr) return GfapiError(h.err(), "lookup gfid " + gs);
  std::string buf(4096, '\0');
  int n = glfs_h_readlink(vol_->fs(), h.get(), buf.data(), buf.size());
  if (n < 0) return GfapiError(errno, "readlink " + gs);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

Result<protocol::Gfid> GfapiSource::LookupName(const protocol::Gfid& parent,
                                               const std::string& name) {
  std::string where = protocol::GfidToString(parent) + "/" + name;
  // A name is one path component: anything else would let the lookup walk
  // elsewhere than the directory the op names.
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return Status(Code::kInvalidArgument, "not a single file name: " + where);
  }
  Handle dir(vol_->fs(), parent);
  if (dir.get() == nullptr) return GfapiError(dir.err(), "lookup gfid " + protocol::GfidToString(parent));
  struct stat st {};
  glfs_object_t* obj = glfs_h_lookupat(vol_->fs(), dir.get(), name.c_str(), &st, /*follow=*/0);
  if (obj == nullptr) return GfapiError(errno, "lookup " + where);
  unsigned char raw[GFAPI_HANDLE_LENGTH];
  int n = glfs_h_extract_handle(obj, raw, GFAPI_HANDLE_LENGTH);
  int err = errno;
  glfs_h_close(obj);
  if (n < 0) return GfapiError(err, "gfid of " + where);
  protocol::Gfid g{};
  std::memcpy(g.data(), raw, g.size());
  return g;
}

Result<std::unordered_map<std::string, protocol::Gfid>> GfapiSource::ListNames(const protocol::Gfid& dir) {
  const std::string gs = protocol::GfidToString(dir);
  Handle h(vol_->fs(), dir);
  if (h.get() == nullptr) return GfapiError(h.err(), "lookup gfid " + gs);
  glfs_fd_t* fd = glfs_h_opendir(vol_->fs(), h.get());
  if (fd == nullptr) return GfapiError(errno, "opendir " + gs);
  struct Closer {
    glfs_fd_t* fd;
    ~Closer() { glfs_closedir(fd); }
  } closer{fd};
  std::unordered_map<std::string, protocol::Gfid> names;
  // Bounded: kMaxListedNames entries, then the caller looks names up.
  for (;;) {
    glfs_xreaddirp_stat_t* xs = nullptr;
    struct dirent de {};
    struct dirent* res = nullptr;
    errno = 0;
    const int got = glfs_xreaddirplus_r(fd, GFAPI_XREADDIRP_HANDLE, &xs, &de, &res);
    if (got < 0) {
      const int err = errno;
      if (xs != nullptr) glfs_free(xs);
      return GfapiError(err, "readdir " + gs);
    }
    if (res == nullptr) {
      if (xs != nullptr) glfs_free(xs);
      return names;
    }
    protocol::Gfid g{};
    bool have = false;
    if (xs != nullptr) {
      glfs_object* o = (got & GFAPI_XREADDIRP_HANDLE) != 0 ? glfs_xreaddirplus_get_object(xs) : nullptr;
      have = o != nullptr && glfs_h_extract_handle(o, g.data(), GFAPI_HANDLE_LENGTH) >= 0;
      glfs_free(xs);
    }
    const std::string name = de.d_name;
    if (!have || name == "." || name == "..") continue;
    if (names.size() >= kMaxListedNames) {
      return Status(Code::kResourceExhausted, "directory " + gs + " has more than " +
                                                  std::to_string(kMaxListedNames) + " names");
    }
    names.emplace(name, g);
  }
}

}  // namespace georep::daemon

#include "sync/receiver/gfapi_volume.h"

#include <fcntl.h>
#include <glusterfs/api/glfs-handles.h>
#include <glusterfs/api/glfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "sync/common/log.h"

// Exported by libgfapi (GFAPI_PRIVATE_6.1) but not declared in its headers:
// marks the calling thread's fops as coming from the geo-replication client
// pid (GF_CLIENT_PID_GSYNCD), which read-only and the bricks' permission
// checks let through.
extern "C" int glfs_setfspid(struct glfs* fs, pid_t pid);

namespace georep::receiver {

using protocol::GfidToString;

namespace {

constexpr const char* kLog = "gfapi";
// Open write fds kept per batch; more are closed early (bounds fd use when a
// batch touches many small files).
constexpr size_t kMaxCachedFds = 128;

// gfapi reports a GFID that does not exist as ESTALE; to the applier it is
// simply absent.
int Errno() {
  int e = errno;
  if (e == ESTALE) return ENOENT;
  return e == 0 ? EIO : e;
}

Status Fail(const std::string& what) { return Status::FromErrno(Errno(), what); }

struct ObjectCloser {
  void operator()(glfs_object* o) const { glfs_h_close(o); }
};
using Object = std::unique_ptr<glfs_object, ObjectCloser>;

Result<Object> Resolve(glfs_t* fs, const Gfid& gfid, struct stat* st) {
  struct stat local;
  glfs_object* o = glfs_h_create_from_handle(fs, const_cast<unsigned char*>(gfid.data()),
                                             GFAPI_HANDLE_LENGTH, st != nullptr ? st : &local);
  if (o == nullptr) return Fail("GFID " + GfidToString(gfid));
  return Object(o);
}

int64_t ToNs(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

ObjectAttr FromStat(const Gfid& gfid, const struct stat& st) {
  ObjectAttr a;
  a.gfid = gfid;
  a.mode = st.st_mode;
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.nlink = static_cast<uint32_t>(st.st_nlink);
  a.size = static_cast<uint64_t>(st.st_size);
  a.blocks = static_cast<uint64_t>(st.st_blocks);
  a.atime_ns = ToNs(st.st_atim);
  a.mtime_ns = ToNs(st.st_mtim);
  return a;
}

void PutBe32(std::string* out, uint32_t v) {
  uint32_t be = htonl(v);
  out->append(reinterpret_cast<const char*>(&be), 4);
}

// The value of gfid-access's "glusterfs.gfid.newfile" key
// (ga_newfile_parse_args in xlators/features/gfid-access).
std::string NewEntryBlob(const protocol::EntryCreateOp& op) {
  std::string b;
  PutBe32(&b, op.uid);
  PutBe32(&b, op.gid);
  b += GfidToString(op.gfid);
  b.push_back('\0');
  PutBe32(&b, op.mode);
  b += op.name;
  b.push_back('\0');
  // umask 0: the mode the primary has is applied as is.
  if (S_ISDIR(op.mode)) {
    PutBe32(&b, op.mode & 07777);
    PutBe32(&b, 0);
  } else if (S_ISLNK(op.mode)) {
    b += op.target;
    b.push_back('\0');
  } else {
    PutBe32(&b, op.mode & 07777);
    PutBe32(&b, static_cast<uint32_t>(op.rdev));
    PutBe32(&b, 0);
  }
  return b;
}

// Makes a glfs_t for `volume`; the caller configures where the volfile comes from.
glfs_t* NewFs(const GfapiOptions& o) {
  glfs_t* fs = glfs_new(o.volume.c_str());
  if (fs == nullptr) return nullptr;
  const char* log = o.log_file.empty() ? "/dev/stderr" : o.log_file.c_str();
  if (glfs_set_logging(fs, log, o.log_level) != 0) {
    log::Warning(kLog, "cannot send gfapi's log to " + std::string(log) + ": " + std::strerror(errno));
  }
  return fs;
}

}  // namespace

Result<std::string> GfapiVolume::AddGfidAccess(const std::string& volfile,
                                               const std::string& volume) {
  // The last "volume NAME" line defines the graph's top.
  std::istringstream in(volfile);
  std::string line;
  std::string top;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword, name;
    words >> keyword >> name;
    if (keyword == "volume" && !name.empty()) top = name;
  }
  if (top.empty()) {
    return Status(Code::kFailedPrecondition,
                  "the volfile of " + volume + " defines no volume; is it a client volfile?");
  }
  std::string out = volfile;
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  out += "\nvolume " + top + "-georep-gfid-access\n"
         "    type features/gfid-access\n"
         "    subvolumes " + top + "\n"
         "end-volume\n";
  return out;
}

Result<std::unique_ptr<GfapiVolume>> GfapiVolume::Mount(const GfapiOptions& o) {
  const std::string where = "volume " + o.volume + " (volfile server " + o.volfile_server + ":" +
                            std::to_string(o.volfile_port) + ")";
  // 1. A plain mount, only to fetch the client volfile and the volume id:
  //    glfs_get_volumeid needs glusterd, which a volfile-file mount lacks.
  glfs_t* probe = NewFs(o);
  if (probe == nullptr) return Status::FromErrno(ENOMEM, "glfs_new for " + where);
  if (glfs_set_volfile_server(probe, "tcp", o.volfile_server.c_str(), o.volfile_port) != 0 ||
      glfs_init(probe) != 0) {
    Status st = Status::FromErrno(Errno(), "cannot mount " + where +
                                               ": check that glusterd runs there and the volume "
                                               "exists and is started");
    glfs_fini(probe);
    return Status(Code::kUnavailable, st.message());
  }
  std::string volfile(64 * 1024, '\0');
  ssize_t n = glfs_get_volfile(probe, volfile.data(), volfile.size());
  if (n < 0) {  // too small by -n bytes
    volfile.resize(volfile.size() + static_cast<size_t>(-n));
    n = glfs_get_volfile(probe, volfile.data(), volfile.size());
  }
  protocol::Uuid id{};
  const int idlen = glfs_get_volumeid(probe, reinterpret_cast<char*>(id.data()), id.size());
  const int id_errno = errno;
  glfs_fini(probe);
  if (n <= 0) {
    return Status(Code::kUnavailable, "glusterd returned no volfile for " + where);
  }
  volfile.resize(static_cast<size_t>(n));
  if (idlen != static_cast<int>(id.size())) {
    return Status::FromErrno(id_errno, "cannot read the volume id of " + where);
  }
  Result<std::string> graph = AddGfidAccess(volfile, o.volume);
  if (!graph.ok()) return graph.status();

  // 2. The real mount from the extended volfile (a private temporary file).
  char path[] = "/tmp/georep-receiver-volfile-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return Status::FromErrno(errno, "cannot create a temporary volfile in /tmp");
  Status wst = Status::Ok();
  size_t done = 0;
  while (done < graph->size()) {
    ssize_t w = ::write(fd, graph->data() + done, graph->size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      wst = Status::FromErrno(errno, std::string("write ") + path);
      break;
    }
    done += static_cast<size_t>(w);
  }
  ::close(fd);
  if (!wst.ok()) {
    ::unlink(path);
    return wst;
  }
  glfs_t* fs = NewFs(o);
  if (fs == nullptr) {
    ::unlink(path);
    return Status::FromErrno(ENOMEM, "glfs_new for " + where);
  }
  const int set = glfs_set_volfile(fs, path);
  const int init = set == 0 ? glfs_init(fs) : -1;
  const int init_errno = Errno();
  ::unlink(path);
  if (init != 0) {
    glfs_fini(fs);
    return Status(Code::kUnavailable,
                  Status::FromErrno(init_errno, "cannot mount " + where + " with gfid-access")
                      .message());
  }
  if (glfs_setfspid(fs, -1) != 0) {
    Status st = Fail("glfs_setfspid(-1) on " + where);
    glfs_fini(fs);
    return st;
  }
  struct stat st;
  if (glfs_lstat(fs, "/.gfid", &st) != 0) {
    Status s = Status(Code::kFailedPrecondition,
                      Fail("the gfid-access translator does not answer on " + where).message());
    glfs_fini(fs);
    return s;
  }
  log::Info(kLog, "mounted " + where + ", volume id " + GfidToString(id));
  return std::unique_ptr<GfapiVolume>(new GfapiVolume(fs, id));
}

GfapiVolume::~GfapiVolume() {
  for (auto& [gfid, st] : FlushAll()) {
    log::Error(kLog, "closing GFID " + GfidToString(gfid) + " at unmount: " + st.ToString());
  }
  glfs_fini(fs_);
}

Result<ObjectAttr> GfapiVolume::Lookup(const Gfid& pargfid, const std::string& name) {
  Result<Object> parent = Resolve(fs_, pargfid, nullptr);
  if (!parent.ok()) return parent.status().Annotate("parent directory");
  struct stat st;
  errno = 0;
  glfs_object* o = glfs_h_lookupat(fs_, parent->get(), name.c_str(), &st, 0);
  if (o == nullptr) return Fail("lookup of \"" + protocol::PrintableName(name) + "\"");
  Object obj(o);
  Gfid g{};
  if (glfs_h_extract_handle(o, g.data(), GFAPI_HANDLE_LENGTH) < 0) {
    return Fail("extracting the GFID of \"" + protocol::PrintableName(name) + "\"");
  }
  return FromStat(g, st);
}

Result<ObjectAttr> GfapiVolume::Stat(const Gfid& gfid) {
  struct stat st;
  Result<Object> o = Resolve(fs_, gfid, &st);
  if (!o.ok()) return o.status();
  // create_from_handle's stat can be a cached one; ask the bricks.
  if (glfs_h_stat(fs_, o->get(), &st) != 0) return Fail("stat GFID " + GfidToString(gfid));
  return FromStat(gfid, st);
}

Status GfapiVolume::CreateEntry(const protocol::EntryCreateOp& op) {
  const std::string parent = "/.gfid/" + GfidToString(op.pargfid);
  const std::string blob = NewEntryBlob(op);
  if (glfs_setxattr(fs_, parent.c_str(), "glusterfs.gfid.newfile", blob.data(), blob.size(), 0) !=
      0) {
    const int e = Errno();
    if (e == ENOENT) {
      // Either the parent is missing or the create itself failed with ENOENT;
      // the parent is by far the common case and the one worth naming.
      struct stat st;
      if (glfs_lstat(fs_, parent.c_str(), &st) != 0) {
        return Status::FromErrno(ENOENT, "parent directory GFID " + GfidToString(op.pargfid) +
                                             " does not exist on the secondary");
      }
    }
    return Status::FromErrno(e, "create with GFID " + GfidToString(op.gfid));
  }
  return Status::Ok();
}

Status GfapiVolume::Link(const Gfid& gfid, const Gfid& pargfid, const std::string& name) {
  Result<Object> target = Resolve(fs_, gfid, nullptr);
  if (!target.ok()) return target.status().Annotate("link target");
  Result<Object> parent = Resolve(fs_, pargfid, nullptr);
  if (!parent.ok()) return parent.status().Annotate("parent directory");
  if (glfs_h_link(fs_, target->get(), parent->get(), name.c_str()) != 0) return Fail("link");
  return Status::Ok();
}

Status GfapiVolume::Rename(const Gfid& old_pargfid, const std::string& old_name,
                           const Gfid& new_pargfid, const std::string& new_name) {
  Result<Object> from = Resolve(fs_, old_pargfid, nullptr);
  if (!from.ok()) return from.status().Annotate("source directory");
  Result<Object> to = Resolve(fs_, new_pargfid, nullptr);
  if (!to.ok()) return to.status().Annotate("target directory");
  if (glfs_h_rename(fs_, from->get(), old_name.c_str(), to->get(), new_name.c_str()) != 0) {
    return Fail("rename");
  }
  return Status::Ok();
}

Status GfapiVolume::Unlink(const Gfid& pargfid, const std::string& name) {
  Result<Object> parent = Resolve(fs_, pargfid, nullptr);
  if (!parent.ok()) return parent.status().Annotate("parent directory");
  // glfs_h_unlink removes directories (rmdir) and other entries (unlink)
  // alike; the applier has checked the type.
  if (glfs_h_unlink(fs_, parent->get(), name.c_str()) != 0) return Fail("unlink");
  return Status::Ok();
}

Status GfapiVolume::Rmdir(const Gfid& pargfid, const std::string& name) {
  return Unlink(pargfid, name);
}

Result<glfs_fd*> GfapiVolume::WriteFd(const Gfid& gfid) {
  auto it = fds_.find(gfid);
  if (it != fds_.end()) return it->second;
  if (fds_.size() >= kMaxCachedFds) {
    auto victim = fds_.begin();
    if (glfs_close(victim->second) != 0) {
      deferred_errors_.emplace_back(victim->first, Fail("close"));
    }
    fds_.erase(victim);
  }
  struct stat st;
  Result<Object> o = Resolve(fs_, gfid, &st);
  if (!o.ok()) return o.status();
  if (!S_ISREG(st.st_mode)) {
    return Status::FromErrno(S_ISDIR(st.st_mode) ? EISDIR : EINVAL,
                             "GFID " + GfidToString(gfid) + " is not a regular file");
  }
  glfs_fd_t* fd = glfs_h_open(fs_, o->get(), O_WRONLY);
  if (fd == nullptr) return Fail("open GFID " + GfidToString(gfid) + " for writing");
  fds_.emplace(gfid, fd);
  return fd;
}

Status GfapiVolume::Write(const Gfid& gfid, uint64_t offset, std::string_view data) {
  Result<glfs_fd*> fd = WriteFd(gfid);
  if (!fd.ok()) return fd.status();
  size_t done = 0;
  // Each round writes at least one byte or fails; bounded by data.size().
  while (done < data.size()) {
    ssize_t n = glfs_pwrite(*fd, data.data() + done, data.size() - done,
                            static_cast<off_t>(offset + done), 0, nullptr, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail("write GFID " + GfidToString(gfid) + " at " + std::to_string(offset + done));
    }
    if (n == 0) {
      return Status::FromErrno(EIO, "write GFID " + GfidToString(gfid) + " made no progress");
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<std::string> GfapiVolume::Read(const Gfid& gfid, uint64_t offset, uint64_t length) {
  Result<Object> o = Resolve(fs_, gfid, nullptr);
  if (!o.ok()) return o.status();
  glfs_fd_t* fd = glfs_h_open(fs_, o->get(), O_RDONLY);
  if (fd == nullptr) return Fail("open GFID " + GfidToString(gfid) + " for reading");
  std::string out(length, '\0');
  size_t done = 0;
  Status st = Status::Ok();
  while (done < length) {
    ssize_t n = glfs_pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done),
                           0, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      st = Fail("read GFID " + GfidToString(gfid));
      break;
    }
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  glfs_close(fd);
  if (!st.ok()) return st;
  out.resize(done);
  return out;
}

Status GfapiVolume::Truncate(const Gfid& gfid, uint64_t size) {
  Result<glfs_fd*> fd = WriteFd(gfid);
  if (!fd.ok()) return fd.status();
  if (glfs_ftruncate(*fd, static_cast<off_t>(size), nullptr, nullptr) != 0) {
    return Fail("truncate GFID " + GfidToString(gfid) + " to " + std::to_string(size));
  }
  return Status::Ok();
}

Status GfapiVolume::PunchHole(const Gfid& gfid, uint64_t offset, uint64_t length) {
  Result<glfs_fd*> fd = WriteFd(gfid);
  if (!fd.ok()) return fd.status();
  if (glfs_discard(*fd, static_cast<off_t>(offset), static_cast<size_t>(length)) != 0) {
    return Fail("punch hole in GFID " + GfidToString(gfid));
  }
  return Status::Ok();
}

Status GfapiVolume::Zerofill(const Gfid& gfid, uint64_t offset, uint64_t length) {
  Result<glfs_fd*> fd = WriteFd(gfid);
  if (!fd.ok()) return fd.status();
  if (glfs_zerofill(*fd, static_cast<off_t>(offset), static_cast<off_t>(length)) != 0) {
    return Fail("zerofill GFID " + GfidToString(gfid));
  }
  return Status::Ok();
}

Status GfapiVolume::Allocate(const Gfid& gfid, bool keep_size, uint64_t offset, uint64_t length) {
  Result<glfs_fd*> fd = WriteFd(gfid);
  if (!fd.ok()) return fd.status();
  if (glfs_fallocate(*fd, keep_size ? 1 : 0, static_cast<off_t>(offset),
                     static_cast<size_t>(length)) != 0) {
    return Fail("fallocate GFID " + GfidToString(gfid));
  }
  return Status::Ok();
}

Status GfapiVolume::Fsync(const Gfid& gfid) {
  Result<glfs_fd*> fd = WriteFd(gfid);
  if (!fd.ok()) return fd.status();
  if (glfs_fsync(*fd, nullptr, nullptr) != 0) return Fail("fsync GFID " + GfidToString(gfid));
  return Status::Ok();
}

std::vector<std::pair<Gfid, Status>> GfapiVolume::FlushAll() {
  std::vector<std::pair<Gfid, Status>> errors;
  errors.swap(deferred_errors_);
  for (auto& [gfid, fd] : fds_) {
    if (glfs_close(fd) != 0) errors.emplace_back(gfid, Fail("close GFID " + GfidToString(gfid)));
  }
  fds_.clear();
  return errors;
}

Status GfapiVolume::Setattr(const Gfid& gfid, uint32_t mask, const ObjectAttr& attr) {
  Result<Object> o = Resolve(fs_, gfid, nullptr);
  if (!o.ok()) return o.status();
  struct stat st{};
  st.st_mode = attr.mode;
  st.st_uid = attr.uid;
  st.st_gid = attr.gid;
  st.st_atim.tv_sec = attr.atime_ns / 1000000000;
  st.st_atim.tv_nsec = attr.atime_ns % 1000000000;
  st.st_mtim.tv_sec = attr.mtime_ns / 1000000000;
  st.st_mtim.tv_nsec = attr.mtime_ns % 1000000000;
  if (st.st_atim.tv_nsec < 0) {
    st.st_atim.tv_nsec += 1000000000;
    st.st_atim.tv_sec -= 1;
  }
  if (st.st_mtim.tv_nsec < 0) {
    st.st_mtim.tv_nsec += 1000000000;
    st.st_mtim.tv_sec -= 1;
  }
  // protocol::SetattrBit values equal GFAPI_SET_ATTR_*.
  static_assert(protocol::kSetMode == GFAPI_SET_ATTR_MODE && protocol::kSetUid == GFAPI_SET_ATTR_UID &&
                protocol::kSetGid == GFAPI_SET_ATTR_GID && protocol::kSetAtime == GFAPI_SET_ATTR_ATIME &&
                protocol::kSetMtime == GFAPI_SET_ATTR_MTIME);
  if (glfs_h_setattrs(fs_, o->get(), &st, static_cast<int>(mask)) != 0) {
    return Fail("setattr GFID " + GfidToString(gfid));
  }
  return Status::Ok();
}

Status GfapiVolume::Setxattr(const Gfid& gfid, const std::string& name, std::string_view value) {
  Result<Object> o = Resolve(fs_, gfid, nullptr);
  if (!o.ok()) return o.status();
  if (glfs_h_setxattrs(fs_, o->get(), name.c_str(), value.data(), value.size(), 0) != 0) {
    return Fail("setxattr " + protocol::PrintableName(name) + " on GFID " + GfidToString(gfid));
  }
  return Status::Ok();
}

Status GfapiVolume::Removexattr(const Gfid& gfid, const std::string& name) {
  Result<Object> o = Resolve(fs_, gfid, nullptr);
  if (!o.ok()) return o.status();
  if (glfs_h_removexattrs(fs_, o->get(), name.c_str()) != 0) {
    return Fail("removexattr " + protocol::PrintableName(name) + " on GFID " + GfidToString(gfid));
  }
  return Status::Ok();
}

}  // namespace georep::receiver

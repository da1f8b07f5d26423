#include "sync/receiver/gfapi_volume.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <glusterfs/api/glfs-handles.h>
#include <glusterfs/api/glfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <cstring>
#include <optional>
#include <sstream>

#include "sync/common/log.h"

// Exported by libgfapi (GFAPI_PRIVATE_6.1) but not declared in its headers:
// sets the client pid of the calling thread's fops.
extern "C" int glfs_setfspid(struct glfs* fs, pid_t pid);

namespace georep::receiver {

using protocol::GfidToString;

namespace {

constexpr const char* kLog = "gfapi";
// The client pid of the receiver's fops: GlusterFS's GF_CLIENT_PID_NO_ROOT_SQUASH.
// Any negative (internal) pid passes features.read-only and is not
// root-squashed, but io-threads runs every other internal pid, including
// geo-replication's own -1, at "least" priority, by default one fop at a time
// per brick (performance.least-prio-threads 1): parallel applying then left a
// brick's 16 io-threads fighting over that one slot, at 24 ms of brick CPU
// per small file. -4 is the one internal pid io-threads exempts.
constexpr pid_t kReceiverPid = -4;
// Bound for each gluster CLI call at mount time.
constexpr int kCliTimeoutS = 60;
// Open write fds kept per batch; more are closed early (bounds fd use when a
// batch touches many small files).
constexpr size_t kMaxCachedFds = 128;
// Objects kept per batch (Resolve); a batch holds at most batch_max_ops ops,
// so this bounds only pathological senders.
constexpr size_t kMaxCachedObjects = 4096;
// Asynchronous writes allowed in flight at once, by count and by bytes.
constexpr int kMaxWritesInFlight = 16;
constexpr uint64_t kMaxBytesInFlight = 16ull * 1024 * 1024;
// Writes up to this size to a file not open for writing go through an
// anonymous fd, synchronously (Write).
constexpr size_t kAnonymousWriteMax = 256 * 1024;
// Writes at least this large, with offset and length multiples of
// kDirectAlign, go to the bricks with O_DIRECT (Write).
constexpr size_t kDirectWriteMin = 512 * 1024;
constexpr uint64_t kDirectAlign = 4096;
// Longest wait for writes in flight (GlusterFS's default frame-timeout).
constexpr int kAsyncWaitLimitS = 1800;

// gfapi reports a GFID that does not exist as ESTALE; to the applier it is
// simply absent.
int Errno() {
  int e = errno;
  if (e == ESTALE) return ENOENT;
  return e == 0 ? EIO : e;
}

Status Fail(const std::string& what) { return Status::FromErrno(Errno(), what); }

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

// Runs argv (no shell), returning its standard output; its standard error
// becomes the message of a failure. Killed after `timeout_s` seconds.
Result<std::string> RunCommand(const std::vector<std::string>& argv, int timeout_s) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    close(out[0]);
    close(out[1]);
    return Status::FromErrno(e, "fork for " + argv[0]);
  }
  if (pid == 0) {
    // Child: stdout and stderr into the pipe, stdin from /dev/null (the
    // receiver's stdin is the protocol stream and must not be read).
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  bool timed_out = false;
  // Bounded by the deadline: every wait is for what is left of it.
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p = {out[0], POLLIN, 0};
    const int rc = poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      timed_out = rc == 0;
      break;
    }
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string cmd;
  for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  if (timed_out) {
    return Status::FromErrno(ETIMEDOUT, "`" + cmd + "` took more than " + std::to_string(timeout_s) + " s");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return Status(code == 127 ? Code::kFailedPrecondition : Code::kUnavailable,
                  "`" + cmd + "` failed with status " + std::to_string(code) +
                      (text.empty() ? std::string() : ": " + protocol::PrintableName(text)));
  }
  return text;
}

}  // namespace

std::string GfapiVolume::RemoveWriteBehind(const std::string& volfile) {
  // Blocks are "volume NAME" ... "end-volume"; find write-behind's name and
  // its one child, drop the block, and point its parent at the child.
  std::vector<std::string> lines;
  std::vector<std::vector<std::string>> words;  // of each line
  {
    std::istringstream in(volfile);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream line_in(line);
      std::vector<std::string> w;
      for (std::string word; line_in >> word;) w.push_back(word);
      lines.push_back(std::move(line));
      words.push_back(std::move(w));
    }
  }
  auto is = [&](size_t i, const char* keyword, size_t count) {
    return words[i].size() == count && words[i][0] == keyword;
  };
  std::string wb, child;
  size_t begin = 0, end = 0;  // the write-behind block: [begin, end)
  for (size_t i = 0, start = 0; i < lines.size() && end == 0; ++i) {
    if (is(i, "volume", 2)) start = i;
    if (is(i, "type", 2) && words[i][1] == "performance/write-behind" && is(start, "volume", 2)) {
      wb = words[start][1];
      begin = start;
    }
    if (wb.empty()) continue;
    if (is(i, "subvolumes", 2)) child = words[i][1];
    if (is(i, "end-volume", 1)) end = i + 1;
  }
  if (wb.empty() || child.empty() || end == 0) return volfile;  // none, or not as expected
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i >= begin && i < end) continue;
    if (!words[i].empty() && words[i][0] == "subvolumes") {
      std::string line = "    subvolumes";
      for (size_t k = 1; k < words[i].size(); ++k) line += " " + (words[i][k] == wb ? child : words[i][k]);
      out += line + "\n";
    } else {
      out += lines[i] + "\n";
    }
  }
  return out;
}

Result<std::string> GfapiVolume::AddGfidAccess(const std::string& volfile_in,
                                               const std::string& volume) {
  const std::string volfile = RemoveWriteBehind(volfile_in);
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
  // GlusterFS's volfile parser runs text between backticks as a shell
  // command. glusterd never generates any, so a volfile with one comes from
  // something else answering as glusterd (--volfile-server): refuse it.
  if (volfile.find('`') != std::string::npos) {
    return Status(Code::kFailedPrecondition,
                  "the volfile of " + volume +
                      " contains a backtick (a shell command for GlusterFS's parser); "
                      "refusing it: check which host answers as --volfile-server");
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
  std::vector<std::string> base = {o.gluster_cli, "--mode=script", "--log-file=/dev/null"};
  std::string glusterd = "the local glusterd";
  if (!o.volfile_server.empty()) {
    base.push_back("--remote-host=" + o.volfile_server);
    glusterd = "glusterd at " + o.volfile_server;
  } else if (!o.glusterd_sock.empty()) {
    base.push_back("--glusterd-sock=" + o.glusterd_sock);
    glusterd = "glusterd at " + o.glusterd_sock;
  }
  const std::string where = "volume " + o.volume + " (" + glusterd + ")";
  // 1. The client volfile and the volume id, from glusterd through its CLI.
  //    (A plain gfapi mount could fetch both, but releasing it with
  //    glfs_fini takes about 10 s.)
  std::vector<std::string> spec = base;
  spec.insert(spec.end(), {"system::", "getspec", o.volume});
  Result<std::string> volfile = RunCommand(spec, kCliTimeoutS);
  if (!volfile.ok()) {
    return Status(Code::kUnavailable,
                  "cannot fetch the volfile of " + where + ": " + volfile.status().message() +
                      ": check that glusterd runs there and the volume exists and is started");
  }
  std::vector<std::string> info = base;
  info.insert(info.end(), {"--xml", "volume", "info", o.volume});
  Result<std::string> xml = RunCommand(info, kCliTimeoutS);
  if (!xml.ok()) {
    return Status(Code::kUnavailable,
                  "cannot read the volume id of " + where + ": " + xml.status().message());
  }
  protocol::Uuid id{};
  const size_t at = xml->find("<id>");
  if (at == std::string::npos || !protocol::ParseGfid(std::string_view(*xml).substr(at + 4, 36), &id)) {
    return Status(Code::kFailedPrecondition,
                  "no volume id in `gluster volume info " + o.volume + "` from " + glusterd);
  }
  log::Debug(kLog, "fetched the client volfile of " + where + " (" +
                       std::to_string(volfile->size()) + " bytes)");
  Result<std::string> graph = AddGfidAccess(*volfile, o.volume);
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
  // glfs_fini takes seconds; a process about to exit skips it (GfapiOptions).
  auto release = [&o](glfs_t* f) {
    if (o.fini_on_destroy) glfs_fini(f);
  };
  if (init != 0) {
    release(fs);
    return Status(Code::kUnavailable,
                  Status::FromErrno(init_errno, "cannot mount " + where +
                                                    " with gfid-access; check that the volume is "
                                                    "started and its bricks are online (gluster "
                                                    "volume status " + o.volume + ")")
                      .message());
  }
  if (glfs_setfspid(fs, kReceiverPid) != 0) {
    Status st = Fail("glfs_setfspid(" + std::to_string(kReceiverPid) + ") on " + where);
    release(fs);
    return st;
  }
  struct stat st;
  if (glfs_lstat(fs, "/.gfid", &st) != 0) {
    Status s = Status(Code::kFailedPrecondition,
                      Fail("the gfid-access translator does not answer on " + where).message());
    release(fs);
    return s;
  }
  log::Info(kLog, "mounted " + where + ", volume id " + GfidToString(id));
  return std::unique_ptr<GfapiVolume>(new GfapiVolume(fs, id, o.fini_on_destroy, o.direct_io));
}

GfapiVolume::~GfapiVolume() {
  for (auto& [gfid, st] : FlushAll()) {
    log::Error(kLog, "closing GFID " + GfidToString(gfid) + " at unmount: " + st.ToString());
  }
  {
    std::lock_guard<std::mutex> lock(async_->mu);
    if (async_->in_flight != 0) async_ = nullptr;  // a late callback may still use it
  }
  delete async_;
  if (!fini_on_destroy_) return;  // the process is about to exit (GfapiOptions)
  glfs_fini(fs_);
}

void GfapiVolume::ObjectCloser::operator()(glfs_object* o) const { glfs_h_close(o); }

Result<GfapiVolume::Object> GfapiVolume::Resolve(const Gfid& gfid) {
  {
    std::lock_guard<std::mutex> lock(objects_mu_);
    auto it = objects_.find(gfid);
    if (it != objects_.end()) {
      if (glfs_object* copy = glfs_object_copy(it->second)) return Object(copy);
    }
  }
  // Without a stat, gfapi returns an object already in its inode table
  // without asking the bricks; the fop that follows fails with ENOENT if the
  // object is gone by now.
  glfs_object* found = glfs_h_create_from_handle(fs_, const_cast<unsigned char*>(gfid.data()),
                                                 GFAPI_HANDLE_LENGTH, nullptr);
  if (found == nullptr) return Fail("GFID " + GfidToString(gfid));
  Object o(found);
  Remember(gfid, o.get());
  return o;
}

void GfapiVolume::Remember(const Gfid& gfid, glfs_object* o) {
  std::lock_guard<std::mutex> lock(objects_mu_);
  if (objects_.size() < kMaxCachedObjects && objects_.count(gfid) == 0) {
    if (glfs_object* copy = glfs_object_copy(o)) objects_.emplace(gfid, copy);
  }
}

void GfapiVolume::ForgetObject(const Gfid& gfid) {
  glfs_object* o = nullptr;
  {
    std::lock_guard<std::mutex> lock(objects_mu_);
    auto it = objects_.find(gfid);
    if (it == objects_.end()) return;
    o = it->second;
    objects_.erase(it);
  }
  glfs_h_close(o);
}

void GfapiVolume::ForgetAllObjects() {
  std::map<Gfid, glfs_object*> objects;
  {
    std::lock_guard<std::mutex> lock(objects_mu_);
    objects.swap(objects_);
  }
  for (auto& [gfid, o] : objects) glfs_h_close(o);
}

Status GfapiVolume::ForgetOnFailure(const Gfid& gfid, Status st) {
  if (!st.ok()) ForgetObject(gfid);
  return st;
}

Result<ObjectAttr> GfapiVolume::Lookup(const Gfid& pargfid, const std::string& name) {
  Result<Object> parent = Resolve(pargfid);
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
  // Ops by GFID that follow (the applier looks up every entry it creates)
  // then need no lookup of their own.
  Remember(g, o);
  return FromStat(g, st);
}

Result<ObjectAttr> GfapiVolume::Stat(const Gfid& gfid) {
  Drain(gfid);
  struct stat st;
  Result<Object> o = Resolve(gfid);
  if (!o.ok()) return o.status();
  // Always ask the bricks: the applier's replay rules depend on whether the
  // object exists now.
  if (glfs_h_stat(fs_, o->get(), &st) != 0) {
    return ForgetOnFailure(gfid, Fail("stat GFID " + GfidToString(gfid)));
  }
  return FromStat(gfid, st);
}

Result<Volume::DirPage> GfapiVolume::ListDir(const Gfid& gfid, uint64_t cookie, size_t max) {
  Result<Object> dir = Resolve(gfid);
  if (!dir.ok()) return dir.status();
  glfs_fd_t* fd = glfs_h_opendir(fs_, dir->get());
  if (fd == nullptr) return ForgetOnFailure(gfid, Fail("opendir GFID " + GfidToString(gfid)));
  struct Closer {
    glfs_fd_t* fd;
    ~Closer() { glfs_closedir(fd); }
  } closer{fd};
  // The cookie is a directory offset this listing returned (telldir), as
  // DHT hands them out: valid across opens of the same directory.
  if (cookie != 0) glfs_seekdir(fd, static_cast<long>(cookie));
  DirPage page;
  // Bounded: at most `max` entries plus "." and "..", then the page ends.
  while (page.entries.size() < max) {
    glfs_xreaddirp_stat_t* xs = nullptr;
    struct dirent de {};
    struct dirent* res = nullptr;
    errno = 0;
    const int got = glfs_xreaddirplus_r(fd, GFAPI_XREADDIRP_STAT | GFAPI_XREADDIRP_HANDLE, &xs, &de, &res);
    if (got < 0) {
      Status st = Fail("readdir GFID " + GfidToString(gfid));
      if (xs != nullptr) glfs_free(xs);
      return st;
    }
    if (res == nullptr) {
      if (xs != nullptr) glfs_free(xs);
      page.eof = true;
      break;
    }
    const std::string name = de.d_name;
    protocol::ListEntry e;
    bool have = false;
    if (xs != nullptr) {
      struct stat* sp = (got & GFAPI_XREADDIRP_STAT) != 0 ? glfs_xreaddirplus_get_stat(xs) : nullptr;
      glfs_object* o = (got & GFAPI_XREADDIRP_HANDLE) != 0 ? glfs_xreaddirplus_get_object(xs) : nullptr;
      if (sp != nullptr && sp->st_mode != 0 && o != nullptr &&
          glfs_h_extract_handle(o, e.gfid.data(), GFAPI_HANDLE_LENGTH) >= 0) {
        e.mode = sp->st_mode;
        e.size = static_cast<uint64_t>(sp->st_size);
        e.mtime_ns = static_cast<int64_t>(sp->st_mtim.tv_sec) * 1000000000 + sp->st_mtim.tv_nsec;
        have = true;
      }
      glfs_free(xs);
    }
    page.next_cookie = static_cast<uint64_t>(glfs_telldir(fd));
    if (name == "." || name == "..") continue;
    if (!have) {
      // readdirplus may leave an entry without its inode (created while
      // listed): a lookup fills it in; one gone since is left out.
      Result<ObjectAttr> a = Lookup(gfid, name);
      if (!a.ok()) {
        if (a.status().err() == ENOENT) continue;
        return a.status();
      }
      e.gfid = a->gfid;
      e.mode = a->mode;
      e.size = a->size;
      e.mtime_ns = a->mtime_ns;
    }
    e.name = name;
    page.entries.push_back(std::move(e));
  }
  return page;
}

Status GfapiVolume::CreateEntry(const protocol::EntryCreateOp& op) {
  // gfid-access takes the new-entry request on the parent's own handle as
  // well as on its /.gfid/<gfid> path; the handle is usually in gfapi's
  // inode table already, where the path costs a lookup per create.
  auto no_parent = [&op] {
    return Status::FromErrno(ENOENT, "parent directory GFID " + GfidToString(op.pargfid) +
                                         " does not exist on the secondary");
  };
  // The entry will be a new inode: an object kept for this GFID (a replay
  // recreating what an earlier op of the batch removed) is not it.
  ForgetObject(op.gfid);
  Result<Object> parent = Resolve(op.pargfid);
  if (!parent.ok()) {
    if (parent.status().err() == ENOENT) return no_parent();
    return parent.status().Annotate("parent directory");
  }
  const std::string blob = NewEntryBlob(op);
  if (glfs_h_setxattrs(fs_, parent->get(), "glusterfs.gfid.newfile", blob.data(), blob.size(), 0) !=
      0) {
    const int e = Errno();
    if (e == ENOENT) {
      // Either the parent is gone (the handle came from the inode table) or
      // the create itself failed with ENOENT; the parent is by far the
      // common case and the one worth naming.
      struct stat st;
      if (glfs_h_stat(fs_, parent->get(), &st) != 0) return no_parent();
    }
    return ForgetOnFailure(op.pargfid,
                           Status::FromErrno(e, "create with GFID " + GfidToString(op.gfid)));
  }
  return Status::Ok();
}

Status GfapiVolume::Link(const Gfid& gfid, const Gfid& pargfid, const std::string& name) {
  Result<Object> target = Resolve(gfid);
  if (!target.ok()) return target.status().Annotate("link target");
  Result<Object> parent = Resolve(pargfid);
  if (!parent.ok()) return parent.status().Annotate("parent directory");
  if (glfs_h_link(fs_, target->get(), parent->get(), name.c_str()) != 0) {
    Status st = Fail("link");
    ForgetObject(pargfid);
    return ForgetOnFailure(gfid, st);
  }
  return Status::Ok();
}

Status GfapiVolume::Rename(const Gfid& old_pargfid, const std::string& old_name,
                           const Gfid& new_pargfid, const std::string& new_name) {
  Result<Object> from = Resolve(old_pargfid);
  if (!from.ok()) return from.status().Annotate("source directory");
  Result<Object> to = Resolve(new_pargfid);
  if (!to.ok()) return to.status().Annotate("target directory");
  if (glfs_h_rename(fs_, from->get(), old_name.c_str(), to->get(), new_name.c_str()) != 0) {
    Status st = Fail("rename");
    ForgetObject(old_pargfid);
    return ForgetOnFailure(new_pargfid, st);
  }
  return Status::Ok();
}

Status GfapiVolume::Unlink(const Gfid& pargfid, const std::string& name) {
  Result<Object> parent = Resolve(pargfid);
  if (!parent.ok()) return parent.status().Annotate("parent directory");
  // glfs_h_unlink removes directories (rmdir) and other entries (unlink)
  // alike; the applier has checked the type.
  if (glfs_h_unlink(fs_, parent->get(), name.c_str()) != 0) {
    return ForgetOnFailure(pargfid, Fail("unlink"));
  }
  return Status::Ok();
}

Status GfapiVolume::Rmdir(const Gfid& pargfid, const std::string& name) {
  return Unlink(pargfid, name);
}

GfapiVolume::FdLease::~FdLease() {
  if (v_ == nullptr) return;
  std::lock_guard<std::mutex> lock(v_->fds_mu_);
  auto it = v_->fds_.find(gfid_);
  if (it != v_->fds_.end() && (it->second.fd == fd_ || it->second.direct_fd == fd_)) {
    --it->second.users;
  }
}

bool GfapiVolume::CloseCached(const CachedFd& c) const {
  bool ok = true;
  if (c.fd != nullptr && glfs_close(c.fd) != 0) ok = false;
  if (c.direct_fd != nullptr && glfs_close(c.direct_fd) != 0) {
    // GlusterFS opens lazily (open-behind): a brick that refuses O_DIRECT
    // at open shows it at the first write, and closing that fd then fails
    // with EINVAL too. Every write through it was refused and has been
    // redone buffered (direct I/O is off since), so that close loses
    // nothing and is not an error of the op (receiver_direct_fallback.sh).
    const bool refused = errno == EINVAL && !direct_io_.load(std::memory_order_relaxed);
    if (!refused) ok = false;
  }
  return ok;
}

void GfapiVolume::DisableDirectIo(const std::string& why) {
  if (direct_io_.exchange(false)) {
    log::Warning(kLog, why + "; direct I/O is off for this receiver (every write is buffered "
                             "in the bricks' page cache)");
  }
}

Result<GfapiVolume::FdLease> GfapiVolume::WriteFd(const Gfid& gfid, bool direct) {
  std::optional<std::pair<Gfid, CachedFd>> victim;
  {
    std::lock_guard<std::mutex> lock(fds_mu_);
    auto it = fds_.find(gfid);
    if (it != fds_.end()) {
      glfs_fd* have = direct ? it->second.direct_fd : it->second.fd;
      if (have != nullptr) {
        ++it->second.users;
        return FdLease(this, gfid, have);
      }
    } else if (fds_.size() >= kMaxCachedFds) {
      // The oldest GFID no thread is using right now; none means every
      // cached fd is busy and the cache grows by one for a while.
      for (auto v = fds_.begin(); v != fds_.end(); ++v) {
        if (v->second.users == 0) {
          victim.emplace(v->first, v->second);
          fds_.erase(v);
          break;
        }
      }
    }
  }
  if (victim) {
    Drain(victim->first);  // the victim may have writes in flight
    if (!CloseCached(victim->second)) {
      Status st = Fail("close GFID " + GfidToString(victim->first));
      std::lock_guard<std::mutex> lock(fds_mu_);
      deferred_errors_.emplace_back(victim->first, std::move(st));
    }
  }
  Result<Object> o = Resolve(gfid);
  if (!o.ok()) return o.status();
  glfs_fd_t* fd = nullptr;
  if (direct) {
    fd = glfs_h_open(fs_, o->get(), O_WRONLY | O_DIRECT);
    if (fd == nullptr && errno == EINVAL) {
      // A brick file system without O_DIRECT (older tmpfs, some FUSE file
      // systems) refuses the open; a regular file's open fails no other
      // way with EINVAL here.
      DisableDirectIo("the bricks refused to open GFID " + GfidToString(gfid) + " with O_DIRECT");
      direct = false;
    }
  }
  if (!direct) {
    // glfs_h_open refuses anything but a regular file (EISDIR, EINVAL).
    fd = glfs_h_open(fs_, o->get(), O_WRONLY);
  }
  if (fd == nullptr) {
    const int e = Errno();
    return ForgetOnFailure(
        gfid, Status::FromErrno(e, "open GFID " + GfidToString(gfid) + " for writing" +
                                       (e == EISDIR || e == EINVAL ? " (not a regular file)" : "")));
  }
  std::lock_guard<std::mutex> lock(fds_mu_);
  // Ops on one GFID never run at once (Volume's contract), so nobody opened
  // this kind of fd for it meanwhile.
  CachedFd& c = fds_[gfid];
  (direct ? c.direct_fd : c.fd) = fd;
  ++c.users;
  return FdLease(this, gfid, fd);
}

struct GfapiVolume::AsyncWrite {
  AsyncState* state;
  Gfid gfid;
  uint64_t offset;
  std::string_view data;
  bool direct;
};

void GfapiVolume::OnWriteDone(glfs_fd_t*, ssize_t ret, struct glfs_stat*, struct glfs_stat*,
                              void* data) {
  const int err = errno;
  std::unique_ptr<AsyncWrite> w(static_cast<AsyncWrite*>(data));
  AsyncState* st = w->state;
  std::lock_guard<std::mutex> lock(st->mu);
  // This runs on a gfapi thread and must not throw into C: the bookkeeping
  // below never allocates, and recording the error (which does) is guarded.
  const size_t length = w->data.size();
  if (ret < 0 && err == EINVAL && w->direct) {
    // The brick's file system took the O_DIRECT open but not this write:
    // Drain redoes it buffered, in order before anything else on the file.
    try {
      st->refused_direct.push_back({w->gfid, w->offset, w->data});
    } catch (...) {
      st->lost_error = true;
    }
  } else if (ret < 0 || static_cast<size_t>(ret) != length) {
    try {
      const int e = ret < 0 ? (err == ESTALE ? ENOENT : (err != 0 ? err : EIO)) : EIO;
      st->errors.emplace_back(w->gfid, Status::FromErrno(e, "write GFID " + GfidToString(w->gfid) +
                                                                " at " + std::to_string(w->offset) +
                                                                (ret >= 0 ? " (short write)" : "")));
    } catch (...) {
      st->lost_error = true;
    }
  }
  --st->in_flight;
  st->bytes_in_flight -= length;
  auto pf = st->per_file.find(w->gfid);
  if (pf != st->per_file.end() && --pf->second == 0) {
    st->per_file.erase(pf);
    st->max_end.erase(w->gfid);
  }
  st->cv.notify_all();
}

namespace {

// Waits on `cv` until `done`, at most kAsyncWaitLimitS: GlusterFS's own
// frame timeout (network.frame-timeout, 1800 s by default) fails every call
// below us before that. False on timeout.
template <class Pred>
bool WaitBounded(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, Pred done) {
  return cv.wait_for(lock, std::chrono::seconds(kAsyncWaitLimitS), done);
}

}  // namespace

void GfapiVolume::Drain(const Gfid& gfid) {
  std::unique_lock<std::mutex> lock(async_->mu);
  if (!WaitBounded(async_->cv, lock, [&] { return async_->per_file.count(gfid) == 0; })) {
    log::Error(kLog, "writes to GFID " + GfidToString(gfid) + " did not complete within " +
                         std::to_string(kAsyncWaitLimitS) + " s");
    async_->errors.emplace_back(gfid, Status::FromErrno(ETIMEDOUT, "write GFID " +
                                                                     GfidToString(gfid)));
  }
  if (async_->refused_direct.empty()) return;
  lock.unlock();
  RedoRefusedDirectWrites(&gfid);
}

void GfapiVolume::DrainAll() {
  std::unique_lock<std::mutex> lock(async_->mu);
  if (!WaitBounded(async_->cv, lock, [this] { return async_->in_flight == 0; })) {
    log::Error(kLog, std::to_string(async_->in_flight) + " writes did not complete within " +
                         std::to_string(kAsyncWaitLimitS) + " s");
    for (const auto& [gfid, n] : async_->per_file) {
      async_->errors.emplace_back(gfid, Status::FromErrno(ETIMEDOUT, "write GFID " +
                                                                       GfidToString(gfid)));
    }
  }
  if (async_->refused_direct.empty()) return;
  lock.unlock();
  RedoRefusedDirectWrites(nullptr);
}

void GfapiVolume::RedoRefusedDirectWrites(const Gfid* gfid) {
  std::vector<AsyncState::Refused> redo;
  {
    std::lock_guard<std::mutex> lock(async_->mu);
    auto& all = async_->refused_direct;
    auto mine = std::stable_partition(all.begin(), all.end(), [&](const AsyncState::Refused& r) {
      return gfid != nullptr && r.gfid != *gfid;
    });
    redo.assign(std::make_move_iterator(mine), std::make_move_iterator(all.end()));
    all.erase(mine, all.end());
  }
  if (redo.empty()) return;
  DisableDirectIo("a brick refused an O_DIRECT write (EINVAL) to GFID " + GfidToString(redo[0].gfid));
  for (const auto& r : redo) {
    Status st = Status::Ok();
    Result<FdLease> fd = WriteFd(r.gfid, false);
    if (!fd.ok()) {
      st = fd.status();
    } else {
      errno = 0;
      const ssize_t n = glfs_pwrite(fd->get(), r.data.data(), r.data.size(),
                                    static_cast<off_t>(r.offset), 0, nullptr, nullptr);
      if (n < 0 || static_cast<size_t>(n) != r.data.size()) {
        st = Status::FromErrno(n < 0 ? Errno() : EIO, "write GFID " + GfidToString(r.gfid) + " at " +
                                                          std::to_string(r.offset) + " (buffered, after "
                                                          "the brick refused O_DIRECT)");
      }
    }
    if (!st.ok()) {
      std::lock_guard<std::mutex> lock(async_->mu);
      async_->errors.emplace_back(r.gfid, std::move(st));
    }
  }
}

Status GfapiVolume::Write(const Gfid& gfid, uint64_t offset, std::string_view data) {
  bool open_for_writing = false;
  {
    std::lock_guard<std::mutex> lock(fds_mu_);
    open_for_writing = fds_.count(gfid) != 0;
  }
  if (data.size() <= kAnonymousWriteMax && !open_for_writing) {
    // A small write to a file not open here (a new small file, a few
    // changed blocks) goes through an anonymous fd: one WRITE instead of
    // OPEN, WRITE, FLUSH and RELEASE, a third of the round trips of a new
    // small file. It is synchronous, and without write-behind in the graph
    // (RemoveWriteBehind) it returns once the brick has the data.
    Drain(gfid);  // an earlier asynchronous write to the file lands first
    Result<Object> o = Resolve(gfid);
    if (!o.ok()) return o.status();
    errno = 0;
    const auto n = static_cast<ssize_t>(glfs_h_anonymous_write(
        fs_, o->get(), data.data(), data.size(), static_cast<off_t>(offset)));
    if (n < 0) {
      int e = Errno();
      // An anonymous fd on a directory or symlink fails with EBADF; name
      // the real cause as the fd path does (EISDIR, EINVAL).
      struct stat st;
      const bool not_regular =
          glfs_h_stat(fs_, o->get(), &st) == 0 && !S_ISREG(st.st_mode);
      if (not_regular) e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
      return ForgetOnFailure(
          gfid, Status::FromErrno(e, "write GFID " + GfidToString(gfid) + " at " + std::to_string(offset) +
                                         (not_regular ? " (not a regular file)" : "")));
    }
    if (static_cast<size_t>(n) != data.size()) {
      return ForgetOnFailure(
          gfid, Status::FromErrno(EIO, "write GFID " + GfidToString(gfid) + " at " + std::to_string(offset) +
                                           ": short write of " + std::to_string(n) + " of " +
                                           std::to_string(data.size()) + " bytes"));
    }
    return Status::Ok();
  }
  // A large aligned write (a big file's chunk) goes with O_DIRECT: the
  // bricks then neither copy it into their page cache nor keep it there. A
  // replica's data is rarely read back soon, and caching a big file's
  // worth of it costs the secondary's CPU (a page-cache copy and a fresh
  // page per 4 KiB) and evicts what its other users cache. Smaller or
  // unaligned writes (which O_DIRECT refuses) stay buffered.
  const bool direct = direct_io_.load(std::memory_order_relaxed) && data.size() >= kDirectWriteMin &&
                      offset % kDirectAlign == 0 && data.size() % kDirectAlign == 0;
  Result<FdLease> fd = WriteFd(gfid, direct);
  if (!fd.ok()) return fd.status();
  // Writes go out asynchronously so that several are on the wire at once
  // (one synchronous write at a time reached a third of FUSE's throughput).
  // `data` stays valid until FlushAll (Volume's contract), which waits for
  // them all. A write that could overlap one in flight, or that would exceed
  // the in-flight limits, waits first: gfapi may reorder concurrent writes.
  {
    std::unique_lock<std::mutex> lock(async_->mu);
    auto end = async_->max_end.find(gfid);
    // A refused direct write that Drain has not redone yet may overlap this
    // one and must land first.
    const bool overlaps = (end != async_->max_end.end() && offset < end->second) ||
                          !async_->refused_direct.empty();
    if (overlaps) {
      lock.unlock();
      Drain(gfid);
      lock.lock();
    }
    const bool room = WaitBounded(async_->cv, lock, [&] {
      return async_->in_flight == 0 ||
             (async_->in_flight < kMaxWritesInFlight &&
              async_->bytes_in_flight + data.size() <= kMaxBytesInFlight);
    });
    if (!room) {
      return ForgetOnFailure(
          gfid, Status::FromErrno(ETIMEDOUT, "write GFID " + GfidToString(gfid) +
                                                 ": earlier writes did not complete within " +
                                                 std::to_string(kAsyncWaitLimitS) + " s"));
    }
    ++async_->in_flight;
    async_->bytes_in_flight += data.size();
    ++async_->per_file[gfid];
    uint64_t& max_end = async_->max_end[gfid];
    max_end = std::max<uint64_t>(max_end, offset + data.size());
  }
  auto* w = new AsyncWrite{async_, gfid, offset, data, direct};
  if (glfs_pwrite_async(fd->get(), data.data(), static_cast<int>(data.size()), static_cast<off_t>(offset),
                        0, &GfapiVolume::OnWriteDone, w) != 0) {
    const int err = Errno();
    delete w;
    std::lock_guard<std::mutex> lock(async_->mu);
    --async_->in_flight;
    async_->bytes_in_flight -= data.size();
    if (--async_->per_file[gfid] == 0) {
      async_->per_file.erase(gfid);
      async_->max_end.erase(gfid);
    }
    return ForgetOnFailure(
        gfid, Status::FromErrno(err, "write GFID " + GfidToString(gfid) + " at " + std::to_string(offset)));
  }
  return Status::Ok();
}

Result<std::string> GfapiVolume::Read(const Gfid& gfid, uint64_t offset, uint64_t length) {
  Drain(gfid);
  Result<Object> o = Resolve(gfid);
  if (!o.ok()) return o.status();
  glfs_fd_t* fd = glfs_h_open(fs_, o->get(), O_RDONLY);
  if (fd == nullptr) {
    return ForgetOnFailure(gfid, Fail("open GFID " + GfidToString(gfid) + " for reading"));
  }
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
  Drain(gfid);
  Result<FdLease> fd = WriteFd(gfid);
  if (!fd.ok()) return fd.status();
  if (glfs_ftruncate(fd->get(), static_cast<off_t>(size), nullptr, nullptr) != 0) {
    return ForgetOnFailure(gfid,
                           Fail("truncate GFID " + GfidToString(gfid) + " to " + std::to_string(size)));
  }
  return Status::Ok();
}

Status GfapiVolume::PunchHole(const Gfid& gfid, uint64_t offset, uint64_t length) {
  Drain(gfid);
  Result<FdLease> fd = WriteFd(gfid);
  if (!fd.ok()) return fd.status();
  if (glfs_discard(fd->get(), static_cast<off_t>(offset), static_cast<size_t>(length)) != 0) {
    return ForgetOnFailure(gfid, Fail("punch hole in GFID " + GfidToString(gfid)));
  }
  return Status::Ok();
}

Status GfapiVolume::Zerofill(const Gfid& gfid, uint64_t offset, uint64_t length) {
  Drain(gfid);
  Result<FdLease> fd = WriteFd(gfid);
  if (!fd.ok()) return fd.status();
  if (glfs_zerofill(fd->get(), static_cast<off_t>(offset), static_cast<off_t>(length)) != 0) {
    return ForgetOnFailure(gfid, Fail("zerofill GFID " + GfidToString(gfid)));
  }
  return Status::Ok();
}

Status GfapiVolume::Allocate(const Gfid& gfid, bool keep_size, uint64_t offset, uint64_t length) {
  Drain(gfid);
  Result<FdLease> fd = WriteFd(gfid);
  if (!fd.ok()) return fd.status();
  if (glfs_fallocate(fd->get(), keep_size ? 1 : 0, static_cast<off_t>(offset),
                     static_cast<size_t>(length)) != 0) {
    return ForgetOnFailure(gfid, Fail("fallocate GFID " + GfidToString(gfid)));
  }
  return Status::Ok();
}

Status GfapiVolume::Fsync(const Gfid& gfid) {
  Drain(gfid);
  Result<FdLease> fd = WriteFd(gfid);
  if (!fd.ok()) return fd.status();
  if (glfs_fsync(fd->get(), nullptr, nullptr) != 0) {
    return ForgetOnFailure(gfid, Fail("fsync GFID " + GfidToString(gfid)));
  }
  return Status::Ok();
}

Status GfapiVolume::Close(const Gfid& gfid) {
  Drain(gfid);
  Status first = Status::Ok();
  auto take_first = [&](std::vector<std::pair<Gfid, Status>>* from) {
    for (auto it = from->begin(); it != from->end();) {
      if (it->first == gfid) {
        if (first.ok()) first = it->second;
        it = from->erase(it);
      } else {
        ++it;
      }
    }
  };
  std::optional<CachedFd> fds;
  {
    std::lock_guard<std::mutex> lock(fds_mu_);
    auto it = fds_.find(gfid);
    if (it != fds_.end()) {
      fds = it->second;
      fds_.erase(it);
    }
    take_first(&deferred_errors_);
  }
  {
    std::lock_guard<std::mutex> lock(async_->mu);
    take_first(&async_->errors);
    // Out of memory while recording some write's error: this file may be the
    // one (FlushAll charges every file still open as well).
    if (first.ok() && async_->lost_error) first = Status::FromErrno(ENOMEM, "write");
  }
  if (fds && !CloseCached(*fds) && first.ok()) {
    first = Fail("close GFID " + GfidToString(gfid));
  }
  return first;
}

void GfapiVolume::PrepareThread() {
  if (glfs_setfspid(fs_, kReceiverPid) != 0) {
    // Every op of this thread then fails with EROFS/EACCES on the read-only
    // secondary and is reported per op; say why once here.
    log::Error(kLog, Fail("glfs_setfspid(" + std::to_string(kReceiverPid) +
                          ") on an applying thread").ToString());
  }
}

std::vector<std::pair<Gfid, Status>> GfapiVolume::FlushAll() {
  DrainAll();
  std::vector<std::pair<Gfid, Status>> errors;
  std::map<Gfid, CachedFd> fds;
  {
    std::lock_guard<std::mutex> lock(fds_mu_);
    errors.swap(deferred_errors_);
    fds.swap(fds_);
  }
  {
    std::lock_guard<std::mutex> lock(async_->mu);
    for (auto& e : async_->errors) errors.push_back(std::move(e));
    async_->errors.clear();
    if (async_->lost_error) {
      // Out of memory while recording a write error: charge it to every file
      // written, so nothing is acknowledged as applied by mistake.
      for (const auto& [gfid, c] : fds) errors.emplace_back(gfid, Status::FromErrno(ENOMEM, "write"));
      async_->lost_error = false;
    }
  }
  for (auto& [gfid, c] : fds) {
    if (!CloseCached(c)) errors.emplace_back(gfid, Fail("close GFID " + GfidToString(gfid)));
  }
  // Objects are kept for one batch (Resolve).
  ForgetAllObjects();
  return errors;
}

Status GfapiVolume::Setattr(const Gfid& gfid, uint32_t mask, const ObjectAttr& attr) {
  Drain(gfid);
  Result<Object> o = Resolve(gfid);
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
    return ForgetOnFailure(gfid, Fail("setattr GFID " + GfidToString(gfid)));
  }
  return Status::Ok();
}

Status GfapiVolume::Setxattr(const Gfid& gfid, const std::string& name, std::string_view value) {
  Drain(gfid);
  Result<Object> o = Resolve(gfid);
  if (!o.ok()) return o.status();
  if (glfs_h_setxattrs(fs_, o->get(), name.c_str(), value.data(), value.size(), 0) != 0) {
    return ForgetOnFailure(
        gfid, Fail("setxattr " + protocol::PrintableName(name) + " on GFID " + GfidToString(gfid)));
  }
  return Status::Ok();
}

Status GfapiVolume::Removexattr(const Gfid& gfid, const std::string& name) {
  Drain(gfid);
  Result<Object> o = Resolve(gfid);
  if (!o.ok()) return o.status();
  if (glfs_h_removexattrs(fs_, o->get(), name.c_str()) != 0) {
    return ForgetOnFailure(
        gfid, Fail("removexattr " + protocol::PrintableName(name) + " on GFID " + GfidToString(gfid)));
  }
  return Status::Ok();
}

}  // namespace georep::receiver

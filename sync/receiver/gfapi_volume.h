// Volume on libgfapi: the secondary volume mounted in-process with GlusterFS's
// features/gfid-access translator on top of its client graph, so entries can
// be created with the primary's GFIDs (GLUSTER-NOTES.md, "libgfapi by GFID").
//
// Threads: as Volume says. glfs_setfspid (an internal client pid; see
// kReceiverPid in gfapi_volume.cc), which lets the receiver's fops
// through the secondary's features.read-only and permission checks, is a
// property of the calling thread: Mount sets it for the mounting thread and
// PrepareThread for every other thread that applies ops.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "sync/protocol/messages.h"
#include "sync/receiver/volume.h"

struct glfs;
struct glfs_fd;
struct glfs_object;
struct glfs_stat;

namespace georep::receiver {

struct GfapiOptions {
  std::string volume;                       // the secondary volume's name
  // Where the volfile and volume id come from: glusterd at volfile_server
  // (TCP) if set, else the local glusterd through glusterd_sock (or the
  // CLI's default socket when that is empty too).
  std::string volfile_server;
  std::string glusterd_sock;
  // The CLI that fetches volfile and volume id. Not a command-line option of
  // georep-receiver: its arguments come over SSH from the primary, which
  // must not choose a program for the secondary to run as root.
  std::string gluster_cli = "gluster";
  std::string log_file;                     // gfapi's own log ("" = /dev/stderr)
  int log_level = 5;                        // GlusterFS gf_loglevel_t (5 = warning)
  // glfs_fini at destruction. It takes about 8 s (GlusterFS 10.3) and only
  // tears down threads and connections, so a process that exits right after
  // (georep-receiver) skips it; files are closed either way.
  bool fini_on_destroy = true;
  // Large aligned writes (a big file's chunks) go to the bricks with
  // O_DIRECT (see Write). Off: every write is buffered in the bricks' page
  // cache.
  bool direct_io = true;
};

class GfapiVolume final : public Volume {
 public:
  // Fetches the client volfile and volume id from glusterd (`gluster
  // system:: getspec` / `volume info`), adds gfid-access on top, mounts
  // it and checks that /.gfid answers. kUnavailable when glusterd or the
  // volume cannot be reached, kFailedPrecondition when the volume's graph
  // does not look like a client volfile.
  static Result<std::unique_ptr<GfapiVolume>> Mount(const GfapiOptions& options);
  ~GfapiVolume() override;

  const protocol::Uuid& volume_id() const { return volume_id_; }

  Result<ObjectAttr> Lookup(const Gfid& pargfid, const std::string& name) override;
  Result<ObjectAttr> Stat(const Gfid& gfid) override;
  Result<DirPage> ListDir(const Gfid& gfid, uint64_t cookie, size_t max) override;
  Status CreateEntry(const protocol::EntryCreateOp& op) override;
  Status Link(const Gfid& gfid, const Gfid& pargfid, const std::string& name) override;
  Status Rename(const Gfid& old_pargfid, const std::string& old_name, const Gfid& new_pargfid,
                const std::string& new_name) override;
  Status Unlink(const Gfid& pargfid, const std::string& name) override;
  Status Rmdir(const Gfid& pargfid, const std::string& name) override;
  Status Write(const Gfid& gfid, uint64_t offset, std::string_view data) override;
  Result<std::string> Read(const Gfid& gfid, uint64_t offset, uint64_t length) override;
  Status Truncate(const Gfid& gfid, uint64_t size) override;
  Status PunchHole(const Gfid& gfid, uint64_t offset, uint64_t length) override;
  Status Zerofill(const Gfid& gfid, uint64_t offset, uint64_t length) override;
  Status Allocate(const Gfid& gfid, bool keep_size, uint64_t offset, uint64_t length) override;
  Status Fsync(const Gfid& gfid) override;
  Status Close(const Gfid& gfid) override;
  void PrepareThread() override;
  std::vector<std::pair<Gfid, Status>> FlushAll() override;
  Status Setattr(const Gfid& gfid, uint32_t mask, const ObjectAttr& attr) override;
  Status Setxattr(const Gfid& gfid, const std::string& name, std::string_view value) override;
  Status Removexattr(const Gfid& gfid, const std::string& name) override;

  // Adds a features/gfid-access volume on top of `volfile` (a client
  // volfile: its last volume is the graph's top), after RemoveWriteBehind.
  // Exposed for tests.
  static Result<std::string> AddGfidAccess(const std::string& volfile, const std::string& volume);
  // Takes performance/write-behind out of a client volfile (its parent gets
  // its child). Write-behind acknowledges a write before the brick has it,
  // so "the write completed" would not mean what Drain and the ACK rely on:
  // that a later truncate, hole punch or setattr of the file, which the
  // bricks' io-threads may run beside an earlier write, comes after it, and
  // that an acknowledged batch is on the bricks. The receiver keeps its own
  // writes in flight instead (Write). A volfile without it is returned as is.
  static std::string RemoveWriteBehind(const std::string& volfile);

 private:
  GfapiVolume(glfs* fs, const protocol::Uuid& id, bool fini, bool direct_io)
      : fs_(fs), volume_id_(id), fini_on_destroy_(fini), direct_io_(direct_io) {}
  // An fd open for writing, cached until Close(gfid) or FlushAll. The lease
  // keeps another thread from evicting it while it is used.
  class FdLease {
   public:
    FdLease(GfapiVolume* v, const Gfid& g, glfs_fd* fd) : v_(v), gfid_(g), fd_(fd) {}
    FdLease(FdLease&& o) noexcept : v_(o.v_), gfid_(o.gfid_), fd_(o.fd_) { o.v_ = nullptr; }
    FdLease(const FdLease&) = delete;
    FdLease& operator=(const FdLease&) = delete;
    FdLease& operator=(FdLease&&) = delete;
    ~FdLease();
    glfs_fd* get() const { return fd_; }

   private:
    GfapiVolume* v_;
    Gfid gfid_;
    glfs_fd* fd_;
  };
  // The file's buffered fd, or with `direct` its O_DIRECT one (falling back
  // to the buffered fd for good when the bricks refuse O_DIRECT).
  Result<FdLease> WriteFd(const Gfid& gfid, bool direct = false);
  // Waits for the writes in flight to one file (see Write), then redoes
  // through the buffered fd any of its direct writes a brick refused. Every
  // operation on a file's data or attributes calls it first, so nothing
  // overtakes a write it could conflict with.
  void Drain(const Gfid& gfid);
  // The same for every file.
  void DrainAll();
  // Writes the refused direct writes of `gfid` (all files when null) again,
  // buffered and synchronously; failures go to the async errors.
  void RedoRefusedDirectWrites(const Gfid* gfid);
  // Turns direct I/O off for the rest of the process, saying why once.
  void DisableDirectIo(const std::string& why);

  // Writes in flight, completed by gfapi's threads (OnWriteDone).
  struct AsyncState {
    std::mutex mu;
    std::condition_variable cv;
    int in_flight = 0;
    uint64_t bytes_in_flight = 0;
    std::map<Gfid, uint64_t> max_end;  // per file: end of the furthest write in flight
    std::map<Gfid, int> per_file;      // per file: writes in flight
    std::vector<std::pair<Gfid, Status>> errors;
    bool lost_error = false;  // a write failed but recording it ran out of memory
    // Direct writes a brick refused with EINVAL (its file system takes no
    // O_DIRECT, or not at this alignment), to be redone buffered by Drain.
    struct Refused {
      Gfid gfid;
      uint64_t offset;
      std::string_view data;  // valid until FlushAll (Volume's contract)
    };
    std::vector<Refused> refused_direct;
  };
  struct AsyncWrite;
  static void OnWriteDone(::glfs_fd* fd, ssize_t ret, ::glfs_stat* pre,
                          ::glfs_stat* post, void* data);

  struct ObjectCloser {
    void operator()(glfs_object* o) const;
  };
  using Object = std::unique_ptr<glfs_object, ObjectCloser>;
  // The object of `gfid`, from the batch's object cache or gfapi.
  //
  // Why a cache of our own: gfapi looks an object up again on every resolve
  // when its inode reached gfapi's table by a nameless lookup after a
  // gfid-access create (measured: a new file's create, data and attributes
  // cost three LOOKUPs at the brick, two with the object kept between the
  // data and the attributes). Lookup adds what it finds, so the object
  // found by the applier's check after a create serves the ops that follow.
  // The cache lives for one batch (FlushAll empties it): a batch's ops on
  // one GFID are ordered by the apply plan, a create of a GFID drops its
  // entry (the entry will be a new inode), and a failed op drops the
  // objects it used, so a retry looks them up afresh.
  Result<Object> Resolve(const Gfid& gfid);
  // Keeps a copy of `o` as the object of `gfid` for the rest of the batch.
  void Remember(const Gfid& gfid, glfs_object* o);
  void ForgetObject(const Gfid& gfid);
  void ForgetAllObjects();
  // `st`, after dropping gfid's cached object when `st` is a failure.
  Status ForgetOnFailure(const Gfid& gfid, Status st);

  glfs* fs_;
  protocol::Uuid volume_id_;
  bool fini_on_destroy_;
  std::atomic<bool> direct_io_;
  struct CachedFd {
    glfs_fd* fd = nullptr;         // buffered; opened on first use
    glfs_fd* direct_fd = nullptr;  // O_DIRECT; opened on first large aligned write
    int users = 0;                 // FdLeases alive
  };
  // Closes both fds of an entry taken out of fds_; false if either close
  // failed (not counting the O_DIRECT fd a brick refused: see the .cc).
  bool CloseCached(const CachedFd& c) const;
  std::mutex fds_mu_;  // guards fds_ and deferred_errors_
  std::map<Gfid, CachedFd> fds_;
  // Close errors of fds evicted from the cache before Close/FlushAll.
  std::vector<std::pair<Gfid, Status>> deferred_errors_;
  std::mutex objects_mu_;  // guards objects_
  std::map<Gfid, glfs_object*> objects_;
  // Heap-allocated: a callback that never came (Drain timed out) must not
  // find it freed.
  AsyncState* async_ = new AsyncState();
};

}  // namespace georep::receiver

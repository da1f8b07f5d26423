#include "sync/receiver/brick_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/crc32c.h"
#include "sync/common/log.h"

namespace georep::receiver {

namespace {

constexpr const char* kLog = "receiver";

std::string Hex(uint64_t v, int digits) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

std::string Seconds(int ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", ms / 1000.0);
  return buf;
}

// Reads the decimal pid the holder wrote; 0 when absent or garbage.
pid_t PidInFile(int fd) {
  char buf[32] = {};
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return 0;
  char* end = nullptr;
  long v = std::strtol(buf, &end, 10);
  if (end == buf || v <= 1 || v > 0x7fffffff) return 0;
  return static_cast<pid_t>(v);
}

}  // namespace

Status PrepareLockDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "create the receiver lock directory " + dir);
  }
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) {
    return Status::FromErrno(errno, "stat the receiver lock directory " + dir);
  }
  const std::string fix = ": remove it (georep-receiver recreates it, mode 0700)";
  if (!S_ISDIR(st.st_mode)) {
    return Status(Code::kFailedPrecondition,
                  "receiver lock directory " + dir + " is not a directory" + fix);
  }
  if (st.st_uid != geteuid()) {
    return Status(Code::kFailedPrecondition,
                  "receiver lock directory " + dir + " belongs to uid " +
                      std::to_string(st.st_uid) + ", not to this user (uid " +
                      std::to_string(geteuid()) + ")" + fix);
  }
  if ((st.st_mode & 077) != 0) {
    return Status(Code::kFailedPrecondition, "receiver lock directory " + dir +
                                                 " is accessible to other users" + fix);
  }
  return Status::Ok();
}

Result<std::string> DefaultLockDir() {
  std::string dir;
  if (geteuid() == 0) {
    dir = "/run/georep";
  } else if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && xdg[0] == '/') {
    dir = std::string(xdg) + "/georep";
  } else {
    dir = "/tmp/georep-" + std::to_string(geteuid());
  }
  GEOREP_RETURN_IF_ERROR(PrepareLockDir(dir));
  return dir;
}

std::string BrickLockFileName(const std::string& secondary_volume, const std::string& session_id,
                              const std::string& primary_brick_id) {
  // Length-prefixed fields, so ("ab","c") and ("a","bc") differ. FNV-1a 64
  // plus crc32c: 96 bits, no collision between the few keys of one node.
  std::string key;
  for (const std::string* f : {&secondary_volume, &session_id, &primary_brick_id}) {
    key += std::to_string(f->size()) + ":" + *f + ";";
  }
  uint64_t fnv = 1469598103934665603ull;
  for (unsigned char c : key) {
    fnv ^= c;
    fnv *= 1099511628211ull;
  }
  const uint32_t crc = crc32c::Value(key.data(), key.size());
  std::string readable;
  for (char c : secondary_volume.substr(0, 64)) {
    readable += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  }
  return "receiver-" + readable + "-" + Hex(fnv, 16) + Hex(crc, 8) + ".lock";
}

pid_t FlockHolder(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return 0;
  // Lines read "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters
  // have "->" after the number. Device numbers are hex major:minor.
  char dev[64];
  std::snprintf(dev, sizeof(dev), "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  std::ifstream locks("/proc/locks");
  std::string line;
  for (int lines = 0; lines < 100000 && std::getline(locks, line); ++lines) {
    std::istringstream in(line);
    std::string num, type, kind, mode, pid, where;
    in >> num >> type;
    if (type == "->" || type != "FLOCK") continue;
    in >> kind >> mode >> pid >> where;
    if (where != dev) continue;
    long v = std::strtol(pid.c_str(), nullptr, 10);
    if (v > 1) return static_cast<pid_t>(v);
  }
  return 0;
}

BrickLock& BrickLock::operator=(BrickLock&& o) noexcept {
  if (this != &o) {
    Release();
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

void BrickLock::Release() {
  if (fd_ < 0) return;
  // Removed while still locked, so nothing is left behind; a receiver that
  // opened this inode meanwhile sees it unlinked once it gets the lock and
  // opens the name again (Acquire). A stale pid must not be signalled either.
  (void)unlink(path_.c_str());
  (void)ftruncate(fd_, 0);
  close(fd_);  // drops the flock
  fd_ = -1;
}

Result<BrickLock> BrickLock::Acquire(const std::string& dir, const std::string& file,
                                     const std::string& description,
                                     const BrickLockOptions& options) {
  BrickLock lock;
  lock.path_ = dir + "/" + file;
  // O_CLOEXEC: the gluster CLI that fetches the volfile must not inherit the
  // lock and keep it after we exit.
  auto open_lock = [&lock]() -> Status {
    if (lock.fd_ >= 0) close(lock.fd_);
    lock.fd_ = open(lock.path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lock.fd_ < 0) return Status::FromErrno(errno, "open receiver lock " + lock.path_);
    return Status::Ok();
  };
  // Until the flock is ours, `lock` must not Release on the way out: that
  // removes the file the holder locked, and the next receiver would lock a
  // new file of the same name and apply beside a holder that was only slow
  // or hung. Every failure return below just closes the descriptor.
  struct CloseUnlessOwned {
    BrickLock* lock;
    bool owned = false;
    ~CloseUnlessOwned() {
      if (!owned && lock->fd_ >= 0) {
        close(lock->fd_);
        lock->fd_ = -1;
      }
    }
  } guard{&lock};
  GEOREP_RETURN_IF_ERROR(open_lock());

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(options.wait_ms);
  pid_t signalled = 0;
  pid_t holder = 0;
  // Bounded: one pass per poll_ms until the deadline.
  for (;;) {
    const int fd = lock.fd_;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      // The holder removes the file before unlocking (Release): a lock on
      // an inode that no longer has our name is worth nothing, open again.
      struct stat held, named;
      if (fstat(fd, &held) != 0) return Status::FromErrno(errno, "stat " + lock.path_);
      if (stat(lock.path_.c_str(), &named) == 0 && named.st_dev == held.st_dev &&
          named.st_ino == held.st_ino) {
        break;
      }
      if (Clock::now() >= deadline) {
        return Status(Code::kUnavailable, "the receiver lock " + lock.path_ +
                                              " keeps being replaced; another georep-receiver "
                                              "is starting for " + description);
      }
      GEOREP_RETURN_IF_ERROR(open_lock());
      continue;
    }
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return Status::FromErrno(errno, "lock " + lock.path_);
    }
    // /proc/locks names the process that really holds the lock; the pid in
    // the file may be stale for a moment (the holder writes it right after
    // locking), and signalling a stale pid could hit an unrelated process.
    pid_t listed = FlockHolder(fd);
    pid_t written = PidInFile(fd);
    holder = listed != 0 ? listed : written;
    if (holder != 0 && holder != signalled && holder != getpid()) {
      log::Warning(kLog, "another georep-receiver (pid " + std::to_string(holder) +
                             ") is applying for " + description +
                             "; asking it to stop (SIGTERM) to take over");
      if (kill(holder, SIGTERM) != 0 && errno != ESRCH) {
        log::Warning(kLog, "cannot signal pid " + std::to_string(holder) + ": " +
                               std::strerror(errno));
      }
      signalled = holder;
    }
    if (options.cancelled && options.cancelled()) {
      return Status(Code::kAborted, "stopped while waiting for the receiver lock of " +
                                        description);
    }
    if (Clock::now() >= deadline) {
      const std::string who =
          holder != 0 ? "another georep-receiver (pid " + std::to_string(holder) + ")"
                      : "another georep-receiver";
      return Status(Code::kUnavailable,
                    who + " is still applying for " + description + "; it did not exit within " +
                        Seconds(options.wait_ms) +
                        " s of SIGTERM (lock " + lock.path_ +
                        "); georepd retries later, or stop that process");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options.poll_ms));
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(lock.fd_, 0) != 0 ||
      pwrite(lock.fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock is held; only the takeover by a later receiver needs the pid
    // (it falls back to /proc/locks), so this is not fatal.
    log::Warning(kLog, "cannot write the pid into " + lock.path_ + ": " + std::strerror(errno));
  }
  if (signalled != 0) {
    log::Info(kLog, "took over " + description + " from pid " + std::to_string(signalled));
  }
  guard.owned = true;
  return lock;
}

}  // namespace georep::receiver

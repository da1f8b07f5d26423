// One applying receiver per (secondary volume, session, primary brick).
//
// When georepd loses its connection it starts a new receiver and replays from
// its cursor while the old receiver may still be applying the batch it had
// (and frames still queued in its pipe). Ops applied by the old one after the
// new one applied later ops would undo them (create a / unlink a: 'a' comes
// back). So a receiver takes an exclusive flock on a per-brick file at HELLO;
// if an older receiver holds it, the new one asks it to stop (SIGTERM), waits
// a bounded time, and otherwise refuses the session. The kernel drops the
// lock when the holder exits, however it exits.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "common/status.h"

namespace georep::receiver {

// The directory for lock files, created 0700 if missing: /run/georep for
// root, else $XDG_RUNTIME_DIR/georep, else /tmp/georep-<uid>. Refused (not
// used) when it is not a real directory owned by this user with no group or
// other permissions, since another account could then hold or fake our locks.
Result<std::string> DefaultLockDir();
// Creates `dir` (0700) if missing and checks it as above.
Status PrepareLockDir(const std::string& dir);

// The lock file name for one brick's stream: the (already validated) volume
// name for people reading the directory, plus a hash of all three fields
// (which come from the peer and may hold any bytes).
std::string BrickLockFileName(const std::string& secondary_volume, const std::string& session_id,
                              const std::string& primary_brick_id);

struct BrickLockOptions {
  int wait_ms = 10000;  // how long the old holder may take to exit after SIGTERM
  int poll_ms = 50;
  // Returns true when the caller itself must stop (checked while waiting).
  std::function<bool()> cancelled;
};

class BrickLock {
 public:
  BrickLock() = default;
  BrickLock(BrickLock&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  BrickLock& operator=(BrickLock&& o) noexcept;
  BrickLock(const BrickLock&) = delete;
  BrickLock& operator=(const BrickLock&) = delete;
  ~BrickLock() { Release(); }

  // Takes the lock on dir/file. If another process holds it, sends SIGTERM
  // to the holder (its pid from /proc/locks, else from the file) and waits up
  // to options.wait_ms. kUnavailable naming the holder when it did not exit;
  // `description` ("brick B of session S") goes into that message.
  static Result<BrickLock> Acquire(const std::string& dir, const std::string& file,
                                   const std::string& description,
                                   const BrickLockOptions& options = {});

  bool held() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  // Removes the file and unlocks. (Acquire checks that the inode it locked
  // still has the name, so two processes never hold two inodes of one name.)
  // A holder that dies without Release leaves the file, unlocked.
  void Release();

 private:
  int fd_ = -1;
  std::string path_;
};

// The pid that holds an flock on the file open as `fd`, from /proc/locks; 0
// when none is listed or /proc/locks cannot be read.
pid_t FlockHolder(int fd);

}  // namespace georep::receiver

#include "sync/daemon/config_watch.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <thread>

#include "sync/common/log.h"

namespace georep::daemon {
namespace {

constexpr char kConfName[] = "session.conf";
// The sessions directory: a session appears, goes or is renamed.
constexpr uint32_t kRootMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                               IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// A session directory: session.conf written in place, renamed into place or
// removed.
constexpr uint32_t kSessionMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                  IN_DELETE_SELF | IN_ONLYDIR;

}  // namespace

ConfigWatch::ConfigWatch(std::string sessions_dir) : dir_(std::move(sessions_dir)) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    log::Warning("daemon", std::string("inotify unavailable (") + std::strerror(errno) +
                               "); configuration changes are picked up by the once-a-second scan");
  }
}

ConfigWatch::~ConfigWatch() {
  if (fd_ >= 0) ::close(fd_);
}

void ConfigWatch::AddRoot() {
  root_wd_ = inotify_add_watch(fd_, dir_.c_str(), kRootMask);
  // ENOENT: no session was ever created; Track() retries at every scan.
  if (root_wd_ < 0 && errno != ENOENT) {
    log::Warning("daemon", "cannot watch " + dir_ + ": " + std::strerror(errno) +
                               "; configuration changes are picked up by the once-a-second scan");
    ::close(fd_);
    fd_ = -1;
  }
}

void ConfigWatch::Track() {
  if (fd_ < 0) return;
  if (root_wd_ < 0) AddRoot();
  if (fd_ < 0 || root_wd_ < 0) return;
  std::set<std::string> sessions;
  if (DIR* d = opendir(dir_.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
      sessions.insert(e->d_name);
    }
    closedir(d);
  }
  for (auto it = session_wd_.begin(); it != session_wd_.end();) {
    if (sessions.count(it->first) == 0) {
      inotify_rm_watch(fd_, it->second);  // may already be gone with its directory
      wd_session_.erase(it->second);
      it = session_wd_.erase(it);
    } else {
      ++it;
    }
  }
  for (const std::string& name : sessions) {
    if (session_wd_.count(name) != 0) continue;
    std::string path = dir_ + "/" + name;
    int wd = inotify_add_watch(fd_, path.c_str(), kSessionMask);
    if (wd < 0) continue;  // gone again, or not a directory: the next scan sees it
    session_wd_[name] = wd;
    wd_session_[wd] = name;
  }
}

bool ConfigWatch::Wait(std::chrono::milliseconds max) {
  if (fd_ < 0) {
    std::this_thread::sleep_for(max);
    return false;
  }
  pollfd p{fd_, POLLIN, 0};
  int rc = ::poll(&p, 1, static_cast<int>(max.count()));
  if (rc <= 0) return false;  // timeout, or EINTR (a signal: the caller checks its stop flag)
  bool relevant = false;
  alignas(inotify_event) char buf[16 * 1024];
  // Bounded: the queue holds a finite number of events and the fd is
  // non-blocking, but a writer in a tight loop could keep it non-empty.
  for (int reads = 0; reads < 64; ++reads) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) break;
    for (char* q = buf; q < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(q);
      q += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        relevant = true;
        continue;
      }
      if (ev->wd == root_wd_) {
        relevant = true;
        if (ev->mask & IN_IGNORED) root_wd_ = -1;  // the directory went: re-added by Track
        continue;
      }
      auto s = wd_session_.find(ev->wd);
      if (s == wd_session_.end()) continue;
      if (ev->mask & IN_IGNORED) {
        session_wd_.erase(s->second);
        wd_session_.erase(s);
        relevant = true;
        continue;
      }
      if (ev->mask & IN_DELETE_SELF) relevant = true;
      if (ev->len > 0 && std::strcmp(ev->name, kConfName) == 0) relevant = true;
    }
  }
  return relevant;
}

}  // namespace georep::daemon

// ConfigWatch: tells georepd's monitor at once when a session's
// configuration may have changed, so that `georep pause/resume/config/stop`
// take effect within milliseconds instead of at the next periodic scan.
//
// It watches (inotify) <state-dir>/sessions for session directories that
// appear or go, and each session directory for session.conf being written
// in place or renamed into place (the CLI writes it atomically). Events for
// other files (status/, workers/) are not seen: inotify is not recursive.
//
// The watch is a hint, never the only path: the monitor still scans every
// second, so a lost event (queue overflow), a directory created before its
// watch, or a kernel without inotify only cost the old latency. Every
// failure therefore degrades to polling and is logged once.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace georep::daemon {

class ConfigWatch {
 public:
  explicit ConfigWatch(std::string sessions_dir);
  ~ConfigWatch();
  ConfigWatch(const ConfigWatch&) = delete;
  ConfigWatch& operator=(const ConfigWatch&) = delete;

  // Brings the per-session watches in line with the session directories
  // present now (with or without a session.conf yet) and (re)adds the watch
  // on the sessions directory itself if it was missing. Call it before
  // reading the configurations, so that no write falls between the two.
  void Track();

  // Waits up to `max` for an event. True when something that may change the
  // set of sessions or a session.conf happened (the caller scans); false on
  // timeout or when only unrelated files changed. Without inotify it just
  // sleeps for `max` and returns false.
  bool Wait(std::chrono::milliseconds max);

  bool active() const { return fd_ >= 0; }

 private:
  void AddRoot();
  std::string dir_;
  int fd_ = -1;
  int root_wd_ = -1;
  std::map<std::string, int> session_wd_;  // session name -> watch descriptor
  std::map<int, std::string> wd_session_;
};

}  // namespace georep::daemon

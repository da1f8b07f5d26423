#include "sync/cli/volume_probe.h"

#include <glusterfs/api/glfs.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "sync/cli/text_util.h"

namespace georep::cli {

namespace {

constexpr int kGlusterdPort = 24007;
constexpr size_t kMaxListedEntries = 5;

// Runs in the child: prints "used avail\nname\nname...". It never calls
// glfs_fini, which waits ~11 s in GlusterFS 10.3 (gluster/glusterfs#2606)
// and made every create wait that long per volume probed: the child only
// read, and exits (_exit) right after; the bricks see the disconnect.
int ProbeChild(const std::string& server, const std::string& volume, const std::string& log_file, int fd) {
  glfs_t* fs = glfs_new(volume.c_str());
  if (fs == nullptr) return 2;
  glfs_set_volfile_server(fs, "tcp", server.c_str(), kGlusterdPort);
  glfs_set_logging(fs, log_file.empty() ? "/dev/null" : log_file.c_str(), 3);
  if (glfs_init(fs) != 0) {
    dprintf(fd, "ERR cannot mount volume %s from %s: %s\n", volume.c_str(), server.c_str(), strerror(errno));
    return 3;
  }
  struct statvfs sv {};
  if (glfs_statvfs(fs, "/", &sv) != 0) {
    dprintf(fd, "ERR statvfs on %s failed: %s\n", volume.c_str(), strerror(errno));
    return 3;
  }
  unsigned long long used = (sv.f_blocks - sv.f_bfree) * static_cast<unsigned long long>(sv.f_frsize);
  unsigned long long avail = sv.f_bavail * static_cast<unsigned long long>(sv.f_frsize);
  dprintf(fd, "OK %llu %llu\n", used, avail);
  glfs_fd_t* d = glfs_opendir(fs, "/");
  if (d == nullptr) {
    dprintf(fd, "ERR cannot list the root of %s: %s\n", volume.c_str(), strerror(errno));
    return 3;
  }
  size_t listed = 0;
  while (struct dirent* e = glfs_readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || n == ".trashcan") continue;
    if (listed++ >= kMaxListedEntries) break;
    dprintf(fd, "E %s\n", PercentEncode(n).c_str());
  }
  glfs_closedir(d);
  return 0;
}

}  // namespace

Result<VolumeUsage> ProbeVolume(const std::string& server, const std::string& volume,
                                const std::string& log_file, int timeout_s) {
  // A child process: gfapi starts threads and keeps global state that a
  // long-lived CLI has no use for, and a hung connect can be killed.
  int p[2];
  if (pipe(p) != 0) return Status::FromErrno(errno, "pipe");
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return Status::FromErrno(e, "fork");
  }
  if (pid == 0) {
    close(p[0]);
    _exit(ProbeChild(server, volume, log_file, p[1]));
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  bool timed_out = false;
  while (true) {
    struct timeval tv {0, 200000};
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(p[0], &fds);
    int r = select(p[0] + 1, &fds, nullptr, nullptr, &tv);
    if (r > 0) {
      ssize_t n = read(p[0], buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
  }
  close(p[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Status(Code::kUnavailable, "no answer from volume " + volume + " on " + server + " within " +
                                          std::to_string(timeout_s) + " s (are its bricks online?)");
  }
  VolumeUsage u;
  bool ok = false;
  for (const std::string& line : Split(out, '\n')) {
    if (StartsWith(line, "OK ")) {
      std::vector<std::string> w = Split(line, ' ');
      if (w.size() == 3) {
        long long used = ToInt(w[1], -1), avail = ToInt(w[2], -1);
        if (used < 0 || avail < 0) break;
        u.used_bytes = static_cast<unsigned long long>(used);
        u.avail_bytes = static_cast<unsigned long long>(avail);
        ok = true;
      }
    } else if (StartsWith(line, "E ")) {
      std::string name;
      if (PercentDecode(line.substr(2), &name)) u.root_entries.push_back(name);
    } else if (StartsWith(line, "ERR ")) {
      return Status(Code::kUnavailable, line.substr(4));
    }
  }
  if (!ok) return Status(Code::kUnavailable, "cannot mount volume " + volume + " from " + server);
  return u;
}

}  // namespace georep::cli

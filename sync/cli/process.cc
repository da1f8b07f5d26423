#include "sync/cli/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace georep::cli {

namespace {
constexpr size_t kMaxCapture = 64 * 1024 * 1024;  // a runaway child must not exhaust memory

void CloseIf(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}
}  // namespace

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, int timeout_s,
                                 const std::string& input) {
  if (argv.empty()) return Status(Code::kInvalidArgument, "empty command");
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    close(in_pipe[0]); close(in_pipe[1]);
    return Status::FromErrno(e, "pipe");
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    close(in_pipe[0]); close(in_pipe[1]); close(out_pipe[0]); close(out_pipe[1]);
    return Status::FromErrno(e, "pipe");
  }
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return Status::FromErrno(e, "fork for " + argv[0]);
  }
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    // Own process group, so a timeout kills ssh and whatever it started.
    setpgid(0, 0);
    execvp(cargv[0], cargv.data());
    dprintf(2, "cannot run %s: %s\n", cargv[0], strerror(errno));
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  int in_fd = in_pipe[1], out_fd = out_pipe[0], err_fd = err_pipe[0];
  size_t in_off = 0;
  if (input.empty()) CloseIf(&in_fd);
  if (in_fd >= 0) fcntl(in_fd, F_SETFL, O_NONBLOCK);

  ProcessResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      r.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      break;
    }
    struct pollfd fds[3];
    int n = 0;
    int idx_out = -1, idx_err = -1, idx_in = -1;
    if (out_fd >= 0) { idx_out = n; fds[n++] = {out_fd, POLLIN, 0}; }
    if (err_fd >= 0) { idx_err = n; fds[n++] = {err_fd, POLLIN, 0}; }
    if (in_fd >= 0) { idx_in = n; fds[n++] = {in_fd, POLLOUT, 0}; }
    int pr = poll(fds, n, static_cast<int>(left > 1000 ? 1000 : left));
    if (pr < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto drain = [&](int idx, int* fd, std::string* dst) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t got = read(*fd, buf, sizeof(buf));
      if (got > 0) {
        if (dst->size() < kMaxCapture) dst->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        CloseIf(fd);
      }
    };
    drain(idx_out, &out_fd, &r.out);
    drain(idx_err, &err_fd, &r.err);
    if (idx_in >= 0 && (fds[idx_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(in_fd, input.data() + in_off, input.size() - in_off);
      if (w > 0) in_off += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) CloseIf(&in_fd);
      if (in_off >= input.size()) CloseIf(&in_fd);
    }
  }
  CloseIf(&in_fd);
  CloseIf(&out_fd);
  CloseIf(&err_fd);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (!r.timed_out && WIFEXITED(wstatus)) r.exit_code = WEXITSTATUS(wstatus);
  return r;
}

}  // namespace georep::cli

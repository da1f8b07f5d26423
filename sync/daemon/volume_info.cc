#include "sync/daemon/volume_info.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace georep::daemon {
namespace {

constexpr std::chrono::milliseconds kGlusterTimeout{20000};

// Text of the first <tag>...</tag> at or after `from` (inside [from, limit)).
bool Tag(const std::string& xml, const std::string& tag, size_t from, size_t limit,
         std::string* out, size_t* end_pos = nullptr) {
  std::string open = "<" + tag + ">";
  std::string close = "</" + tag + ">";
  size_t b = xml.find(open, from);
  if (b == std::string::npos || b >= limit) return false;
  b += open.size();
  size_t e = xml.find(close, b);
  if (e == std::string::npos || e > limit) return false;
  *out = xml.substr(b, e - b);
  if (end_pos != nullptr) *end_pos = e + close.size();
  return true;
}

int ToInt(const std::string& s) {
  try {
    return std::stoi(s);
  } catch (...) {
    return 0;
  }
}

}  // namespace

Result<VolumeLayout> ParseVolumeInfoXml(const std::string& xml, const std::string& volume) {
  std::string ret;
  if (Tag(xml, "opRet", 0, xml.size(), &ret) && ret != "0") {
    std::string err;
    Tag(xml, "opErrstr", 0, xml.size(), &err);
    return Status(Code::kNotFound, "gluster volume info " + volume + " failed: " + err);
  }
  size_t pos = 0;
  for (;;) {
    size_t vb = xml.find("<volume>", pos);
    if (vb == std::string::npos) break;
    size_t ve = xml.find("</volume>", vb);
    if (ve == std::string::npos) break;
    pos = ve + 1;
    std::string name;
    if (!Tag(xml, "name", vb, ve, &name) || name != volume) continue;
    VolumeLayout layout;
    layout.volume = volume;
    Tag(xml, "id", vb, ve, &layout.volume_id);
    std::string v;
    int replica = Tag(xml, "replicaCount", vb, ve, &v) ? ToInt(v) : 1;
    int disperse = Tag(xml, "disperseCount", vb, ve, &v) ? ToInt(v) : 0;
    layout.set_size = disperse > 1 ? disperse : (replica > 1 ? replica : 1);
    size_t bp = vb;
    for (;;) {
      size_t bb = xml.find("<brick ", bp);
      if (bb == std::string::npos || bb > ve) break;
      size_t be = xml.find("</brick>", bb);
      if (be == std::string::npos || be > ve) break;
      bp = be + 1;
      std::string full, arb;
      if (!Tag(xml, "name", bb, be, &full)) continue;
      size_t colon = full.find(':');
      if (colon == std::string::npos) continue;
      BrickInfo b;
      b.host = full.substr(0, colon);
      b.path = full.substr(colon + 1);
      b.arbiter = Tag(xml, "isArbiter", bb, be, &arb) && arb == "1";
      b.set_index = static_cast<int>(layout.bricks.size()) / layout.set_size;
      b.online = true;
      layout.bricks.push_back(b);
    }
    if (layout.bricks.empty()) {
      return Status(Code::kCorruption, "gluster volume info " + volume + " lists no bricks");
    }
    return layout;
  }
  return Status(Code::kNotFound, "volume " + volume + " not found in `gluster volume info`; "
                                 "check primary_volume in session.conf");
}

Status ApplyVolumeStatusXml(const std::string& xml, VolumeLayout* layout) {
  std::string ret;
  if (Tag(xml, "opRet", 0, xml.size(), &ret) && ret != "0") {
    // A stopped volume: nothing is online.
    for (auto& b : layout->bricks) b.online = false;
    layout->status_known = true;
    return Status::Ok();
  }
  for (auto& b : layout->bricks) b.online = false;
  size_t pos = 0;
  for (;;) {
    size_t nb = xml.find("<node>", pos);
    if (nb == std::string::npos) break;
    size_t ne = xml.find("</node>", nb);
    if (ne == std::string::npos) break;
    pos = ne + 1;
    std::string host, path, status;
    if (!Tag(xml, "hostname", nb, ne, &host) || !Tag(xml, "path", nb, ne, &path) ||
        !Tag(xml, "status", nb, ne, &status)) {
      continue;
    }
    for (auto& b : layout->bricks) {
      if (b.host == host && b.path == path) b.online = status == "1";
    }
  }
  layout->status_known = true;
  return Status::Ok();
}

bool IsActiveBrick(const VolumeLayout& layout, size_t index) {
  const BrickInfo& me = layout.bricks.at(index);
  if (me.arbiter) return false;
  for (size_t i = 0; i < layout.bricks.size(); ++i) {
    const BrickInfo& b = layout.bricks[i];
    if (b.set_index != me.set_index || b.arbiter || !b.online) continue;
    return i == index;
  }
  return false;
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Status::FromErrno(e, "pipe");
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return Status::FromErrno(e, "fork");
  }
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  CommandResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true, timed_out = false;
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_open ? out_pipe[0] : -1, POLLIN, 0}, {err_open ? err_pipe[0] : -1, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) break;
    char buf[8192];
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        if (i == 0) out_open = false;
        else err_open = false;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(got));
      }
    }
  }
  close(out_pipe[0]);
  close(err_pipe[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Status(Code::kUnavailable, argv[0] + " did not finish within " +
                                          std::to_string(timeout.count()) + " ms");
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

Result<VolumeLayout> QueryVolumeLayout(const std::string& volume, const std::string& glusterd_sock) {
  std::vector<std::string> base = {"gluster", "--mode=script", "--xml"};
  if (!glusterd_sock.empty()) base.push_back("--glusterd-sock=" + glusterd_sock);
  std::vector<std::string> info = base;
  info.insert(info.end(), {"volume", "info", volume});
  auto r = RunCommand(info, kGlusterTimeout);
  if (!r.ok()) return r.status();
  if (r->out.empty()) {
    return Status(Code::kUnavailable, "gluster volume info " + volume + " failed (exit " +
                                          std::to_string(r->exit_code) + "): " + r->err +
                                          "; is glusterd running on this node?");
  }
  auto layout = ParseVolumeInfoXml(r->out, volume);
  if (!layout.ok()) return layout;
  std::vector<std::string> status = base;
  status.insert(status.end(), {"volume", "status", volume});
  auto s = RunCommand(status, kGlusterTimeout);
  if (s.ok() && !s->out.empty()) {
    GEOREP_RETURN_IF_ERROR(ApplyVolumeStatusXml(s->out, &*layout));
  }
  return layout;
}

}  // namespace georep::daemon

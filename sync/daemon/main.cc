// georepd: the primary-side geo-replication daemon (see daemon.h, worker.h).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sync/common/heap.h"
#include "sync/common/log.h"
#include "sync/daemon/daemon.h"
#include "sync/daemon/gfapi_source.h"

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: georepd [options]\n"
               "Replicates the local bricks of every georep session in the state directory.\n"
               "\n"
               "  --state-dir DIR          sessions live in DIR/sessions/<name>/ (default /var/lib/georep)\n"
               "  --node NAME              this node's host name as used by the bricks in\n"
               "                           `gluster volume info` (default: hostname)\n"
               "  --glusterd-sock PATH     passed to `gluster --glusterd-sock=PATH`\n"
               "  --volfile-server HOST    glusterd serving the primary volume to gfapi (default: --node)\n"
               "  --log-file FILE          log here instead of stderr (gfapi logs to FILE.gfapi)\n"
               "  --log-level LEVEL        debug, info, warning or error (default: the session's\n"
               "                           log_level, else info)\n"
               "  --exit-when-idle         exit 0 once every Active worker has synced its whole\n"
               "                           journal (tests, one-shot catch-up)\n"
               "  --idle-deadline SECONDS  with --exit-when-idle, exit 1 if not idle by then (3600)\n"
               "  --help\n");
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread: see heap.h. If glibc refuses, georepd is only slower.
  (void)georep::KeepDataBuffersInHeap();
  georep::daemon::DaemonOptions opts;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string* out) -> bool {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "georepd: %s needs a value\n", arg.c_str());
        return false;
      }
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      return 0;
    } else if (arg == "--state-dir") {
      if (!value(&opts.state_dir)) return 1;
    } else if (arg == "--node") {
      if (!value(&opts.node)) return 1;
    } else if (arg == "--glusterd-sock") {
      if (!value(&opts.glusterd_sock)) return 1;
    } else if (arg == "--volfile-server") {
      if (!value(&opts.volfile_server)) return 1;
    } else if (arg == "--log-file") {
      if (!value(&opts.log_file)) return 1;
    } else if (arg == "--log-level") {
      if (!value(&v)) return 1;
      georep::log::Level level;
      if (!georep::log::ParseLevel(v, &level)) {
        std::fprintf(stderr, "georepd: --log-level %s: expected debug, info, warning or error\n",
                     v.c_str());
        return 1;
      }
      georep::log::SetLevel(level);
      opts.log_level_given = true;
    } else if (arg == "--exit-when-idle") {
      opts.exit_when_idle = true;
    } else if (arg == "--idle-deadline") {
      if (!value(&v)) return 1;
      char* end = nullptr;
      long s = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || s <= 0) {
        std::fprintf(stderr, "georepd: --idle-deadline %s: expected a positive number of seconds\n",
                     v.c_str());
        return 1;
      }
      opts.idle_deadline = std::chrono::seconds(s);
    } else {
      std::fprintf(stderr, "georepd: unknown option %s\n", arg.c_str());
      Usage(stderr);
      return 1;
    }
  }
  if (opts.node.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) {
      std::fprintf(stderr, "georepd: gethostname: %s; pass --node\n", std::strerror(errno));
      return 1;
    }
    opts.node = host;
  }
  if (opts.volfile_server.empty()) opts.volfile_server = opts.node;
  if (!opts.log_file.empty() && !georep::log::SetLogFile(opts.log_file)) {
    std::fprintf(stderr, "georepd: cannot open log file %s: %s\n", opts.log_file.c_str(),
                 std::strerror(errno));
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  int rc;
  {
    georep::daemon::Daemon daemon(opts);
    rc = daemon.Run(g_stop);
  }
  // The workers' gfapi instances end in background glfs_fini calls that take
  // ~10 s (gfapi_source.h); georepd only reads the primary (and its sync
  // mark writes completed), so the bricks lose nothing when it leaves them
  // to process exit instead of waiting. exit() would run exit handlers under
  // those threads.
  if (georep::daemon::PendingBackgroundFinis() > 0) std::_Exit(rc);
  return rc;
}

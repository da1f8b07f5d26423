// georep-receiver: applies a georepd sender's changes to a secondary volume.
// georepd starts it over SSH; it speaks the protocol of
// sync/protocol/PROTOCOL.md on stdin/stdout and logs to stderr or --log-file.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sync/common/heap.h"
#include "sync/common/log.h"
#include "sync/protocol/messages.h"
#include "sync/receiver/brick_lock.h"
#include "sync/receiver/gfapi_volume.h"
#include "sync/receiver/session.h"

namespace {

// What --version prints and HELLO_OK carries (georepd logs it): the wire
// protocol's number comes from messages.h, so it cannot go stale.
const std::string kVersion =
    "georep-receiver 0.1.0 (protocol " + std::to_string(georep::protocol::kProtocolVersion) + ")";

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: georep-receiver --volume SVOL [options]\n"
               "Applies geo-replication changes read from stdin to the secondary volume SVOL\n"
               "(normally started by georepd over SSH, not by hand).\n"
               "\n"
               "  --volume SVOL            secondary volume to write to (required)\n"
               "  --volfile-server HOST    fetch SVOL's volfile from glusterd on HOST (TCP)\n"
               "  --glusterd-sock PATH     ... or from the local glusterd's socket (default:\n"
               "                           $GEOREP_GLUSTERD_SOCK, else the gluster CLI's default)\n"
               "  --log-file FILE          log here instead of stderr\n"
               "  --log-level LEVEL        debug, info, warning or error (default info)\n"
               "  --gfapi-log-file FILE    libgfapi's log (default: FILE.gfapi with --log-file,\n"
               "                           else /var/log/glusterfs/georep-receiver-SVOL.log)\n"
               "  --idle-timeout SECONDS   exit when no frame arrives for this long\n"
               "                           (default 300, 0 = never)\n"
               "  --apply-threads N        apply up to N independent ops of a batch at once\n"
               "                           (default 8, 1 = strictly one after another)\n"
               "  --direct-io on|off       write large aligned chunks (512 KiB and more) to the\n"
               "                           bricks with O_DIRECT, past their page cache (default on)\n"
               "  --version, --help\n"
               "\n"
               "Exit status: 0 done, 1 usage/startup error, 2 protocol error, 3 connection\n"
               "lost, 4 secondary volume unavailable, 5 idle timeout, 6 stopped by SIGTERM\n"
               "(a newer receiver took over the brick), 7 an older receiver for the brick\n"
               "did not stop.\n"
               "\n"
               "Only one receiver applies for a brick of a session at a time: it locks a file\n"
               "in /run/georep (root), $XDG_RUNTIME_DIR/georep or /tmp/georep-UID, and stops\n"
               "an older holder with SIGTERM.\n");
}

// Written by the SIGTERM/SIGINT handler; the session polls the read end.
int g_stop_pipe[2] = {-1, -1};

void OnStopSignal(int) {
  const int saved = errno;
  const char b = 1;
  (void)!write(g_stop_pipe[1], &b, 1);  // a full pipe already says "stop"
  errno = saved;
}

bool ParseInt(const char* s, int min, int max, int* out) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace georep;
  // Before any thread: see heap.h. If glibc refuses, the receiver is only slower.
  (void)KeepDataBuffersInHeap();
  namespace protocol = georep::protocol;
  receiver::SessionOptions session;
  session.receiver_version = kVersion;
  receiver::GfapiOptions gfapi;
  std::string log_file;
  std::string gfapi_log;
  log::Level level = log::Level::kInfo;

  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char** out) -> bool {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "georep-receiver: %s needs a value\n", arg.c_str());
        return false;
      }
      *out = argv[++i];
      return true;
    };
    const char* v = nullptr;
    if (arg == "--help" || arg == "-h") {
      Usage(stdout);
      return receiver::kExitOk;
    } else if (arg == "--version") {
      std::printf("%s\n", kVersion.c_str());
      return receiver::kExitOk;
    } else if (arg == "--volume") {
      if (!value(&v)) return receiver::kExitUsage;
      session.volume = v;
    } else if (arg == "--volfile-server") {
      if (!value(&v)) return receiver::kExitUsage;
      gfapi.volfile_server = v;
    } else if (arg == "--glusterd-sock") {
      if (!value(&v)) return receiver::kExitUsage;
      gfapi.glusterd_sock = v;
    } else if (arg == "--log-file") {
      if (!value(&v)) return receiver::kExitUsage;
      log_file = v;
    } else if (arg == "--gfapi-log-file") {
      if (!value(&v)) return receiver::kExitUsage;
      gfapi_log = v;
    } else if (arg == "--log-level") {
      if (!value(&v) || !log::ParseLevel(v, &level)) {
        std::fprintf(stderr, "georep-receiver: --log-level is debug, info, warning or error\n");
        return receiver::kExitUsage;
      }
    } else if (arg == "--apply-threads") {
      if (!value(&v) || !ParseInt(v, 1, receiver::kMaxApplyThreads, &session.apply_threads)) {
        std::fprintf(stderr, "georep-receiver: --apply-threads needs a number from 1 to %d\n",
                     receiver::kMaxApplyThreads);
        return receiver::kExitUsage;
      }
    } else if (arg == "--direct-io") {
      if (!value(&v) || (std::strcmp(v, "on") != 0 && std::strcmp(v, "off") != 0)) {
        std::fprintf(stderr, "georep-receiver: --direct-io is on or off\n");
        return receiver::kExitUsage;
      }
      gfapi.direct_io = std::strcmp(v, "on") == 0;
    } else if (arg == "--idle-timeout") {
      if (!value(&v) || !ParseInt(v, 0, 86400 * 7, &session.idle_timeout_s)) {
        std::fprintf(stderr, "georep-receiver: --idle-timeout needs seconds (0-604800)\n");
        return receiver::kExitUsage;
      }
    } else {
      std::fprintf(stderr, "georep-receiver: unknown argument %s\n", arg.c_str());
      Usage(stderr);
      return receiver::kExitUsage;
    }
  }
  if (session.volume.empty()) {
    std::fprintf(stderr, "georep-receiver: --volume is required\n");
    Usage(stderr);
    return receiver::kExitUsage;
  }
  // GlusterFS volume names are letters, digits, '-' and '_'. Anything else
  // is refused before it reaches a log file name or the gluster CLI (the
  // argument comes over SSH from the primary).
  if (session.volume.size() > 64 || session.volume[0] == '-' ||
      session.volume.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789-_") != std::string::npos) {
    std::fprintf(stderr,
                 "georep-receiver: \"%s\" is not a GlusterFS volume name (letters, digits, '-', "
                 "'_', at most 64)\n",
                 protocol::PrintableName(session.volume).c_str());
    return receiver::kExitUsage;
  }
  if (isatty(STDOUT_FILENO)) {
    std::fprintf(stderr,
                 "georep-receiver: stdout is a terminal; this program speaks a binary protocol "
                 "and is started by georepd\n");
    return receiver::kExitUsage;
  }

  log::SetLevel(level);
  if (!log_file.empty() && !log::SetLogFile(log_file)) {
    std::fprintf(stderr, "georep-receiver: cannot open log file %s: %s\n", log_file.c_str(),
                 std::strerror(errno));
    return receiver::kExitUsage;
  }
  // A sender that goes away must show up as a write error, not kill us
  // before the session end is logged.
  signal(SIGPIPE, SIG_IGN);
  // SIGTERM comes from a newer receiver taking over this brick (or from an
  // admin): the handler only wakes the session, which finishes the op it is
  // applying and exits without applying or acknowledging anything more.
  if (pipe2(g_stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    std::fprintf(stderr, "georep-receiver: pipe: %s\n", std::strerror(errno));
    return receiver::kExitUsage;
  }
  session.stop_fd = g_stop_pipe[0];
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // GEOREP_RECEIVER_LOCK_DIR lets test clusters keep their locks in their
  // own directory (it must pass the same ownership checks).
  const char* lock_env = std::getenv("GEOREP_RECEIVER_LOCK_DIR");
  if (lock_env != nullptr && lock_env[0] != '\0') {
    if (Status st = receiver::PrepareLockDir(lock_env); st.ok()) {
      session.lock_dir = lock_env;
    } else {
      session.lock_dir_error = st.message();
    }
  } else if (Result<std::string> dir = receiver::DefaultLockDir(); dir.ok()) {
    session.lock_dir = *dir;
  } else {
    session.lock_dir_error = dir.status().message();
  }

  log::Info("receiver", kVersion + " started, pid " + std::to_string(getpid()) +
                           ", volume " + session.volume);
  gfapi.volume = session.volume;
  if (gfapi.volfile_server.empty() && gfapi.glusterd_sock.empty()) {
    // Test clusters run several glusterds on one machine, each with its own
    // socket, and pass it to SSH sessions in this variable.
    if (const char* sock = std::getenv("GEOREP_GLUSTERD_SOCK"); sock != nullptr && *sock != '\0') {
      gfapi.glusterd_sock = sock;
    }
  }
  gfapi.fini_on_destroy = false;  // we exit right after the session
  if (!gfapi_log.empty()) {
    gfapi.log_file = gfapi_log;
  } else if (!log_file.empty()) {
    gfapi.log_file = log_file + ".gfapi";
  } else {
    gfapi.log_file = "/var/log/glusterfs/georep-receiver-" + session.volume + ".log";
  }
  // gfapi logs at GlusterFS levels: 4 error, 5 warning, 7 info.
  gfapi.log_level = level == log::Level::kDebug ? 7 : level == log::Level::kError ? 4 : 5;

  receiver::VolumeOpener opener = [&gfapi](const std::string&) -> Result<receiver::MountedVolume> {
    Result<std::unique_ptr<receiver::GfapiVolume>> v = receiver::GfapiVolume::Mount(gfapi);
    if (!v.ok()) return v.status();
    receiver::MountedVolume m;
    m.volume_id = (*v)->volume_id();
    m.volume = std::move(v).value();
    return m;
  };
  // sshd hands the frames over through a pipe of 64 KiB by default: it then
  // stops decrypting whenever the receiver is busy applying a batch. A pipe
  // as large as the system allows (fs.pipe-max-size, 1 MiB by default) lets
  // it keep going. Not a pipe (tests, a socket) or refused: no matter.
  (void)::fcntl(STDIN_FILENO, F_SETPIPE_SZ, 1 << 20);
  return receiver::RunSession(STDIN_FILENO, STDOUT_FILENO, session, opener);
}

// One georep-receiver connection: reads frames from `in_fd`, answers on
// `out_fd`, following the conversation in sync/protocol/PROTOCOL.md. main.cc
// runs it on stdin/stdout; tests run it on a socketpair with an in-memory
// Volume.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "sync/protocol/messages.h"
#include "sync/receiver/volume.h"

namespace georep::receiver {

// Process exit statuses (PROTOCOL.md, "Receiver exit status").
enum ExitStatus : int {
  kExitOk = 0,              // BYE, or end of input at a frame boundary
  kExitUsage = 1,           // bad command line or startup failure
  kExitProtocolError = 2,   // the peer broke the protocol; ERROR was sent
  kExitConnectionLost = 3,  // input ended mid-frame, output failed, or the peer sent ERROR
  kExitVolumeError = 4,     // the secondary volume could not be mounted; ERROR was sent
  kExitIdleTimeout = 5,     // no frame within the idle timeout; ERROR was sent
  kExitStopped = 6,         // SIGTERM (a newer receiver took over the brick); no ACK for the batch
  kExitBusy = 7,            // an older receiver for the brick did not stop; ERROR was sent
};

struct MountedVolume {
  std::unique_ptr<Volume> volume;
  protocol::Uuid volume_id{};
};
// Mounts the named secondary volume (called once, on HELLO).
using VolumeOpener = std::function<Result<MountedVolume>(const std::string& volume)>;

// Enough round trips in flight to keep a brick busy with small files on the
// test machine (2 cores) without piling up work in the bricks' io-threads.
constexpr int kDefaultApplyThreads = 8;
constexpr int kMaxApplyThreads = 64;

struct SessionOptions {
  std::string volume;           // the only secondary volume this receiver serves
  int idle_timeout_s = 300;     // <= 0: wait for frames without limit
  // Threads applying one batch's independent ops at once (apply_plan.h);
  // 1 applies every op in order on the session's thread.
  int apply_threads = kDefaultApplyThreads;
  std::string receiver_version;
  // Directory of the per-brick receiver locks (brick_lock.h); empty: no
  // locking (unit tests that do not exercise it). lock_dir_error, when set,
  // is why the directory is unusable, reported as ERROR at HELLO.
  std::string lock_dir;
  std::string lock_dir_error;
  int lock_wait_ms = 10000;
  // Readable when the receiver must stop (main.cc's SIGTERM handler writes
  // to it): the op being applied finishes, nothing more is applied or acked.
  int stop_fd = -1;
};

// Serves the connection until BYE, end of input or an error, and returns the
// exit status. Never throws.
int RunSession(int in_fd, int out_fd, const SessionOptions& options, const VolumeOpener& opener);

}  // namespace georep::receiver

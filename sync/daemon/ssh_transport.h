// Transport: the byte stream between a brick worker and georep-receiver.
//
// SshTransport runs receiver_command on the secondary over ONE libssh
// connection: public-key authentication with the session's identity,
// mandatory host key checking against the session's known_hosts file, and an
// exec channel whose stdin/stdout carry protocol frames. The receiver's
// stderr is kept (last lines) so a failure can say why the receiver died.
//
// Not thread-safe: one thread owns a transport (libssh sessions are not
// shareable between threads). Writes block until the bytes are handed to
// the SSH layer; while blocked, incoming data is buffered by libssh, so a
// peer that writes acks while we write batches cannot deadlock us.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace georep::daemon {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Status Write(std::string_view bytes) = 0;
  // Appends what arrives within `timeout_ms` to *out. Ok with nothing
  // appended on timeout; kAborted when the peer closed the stream (the
  // message includes the receiver's exit status and last stderr lines).
  virtual Status Read(std::string* out, int timeout_ms) = 0;
  // Tells the peer no more bytes follow and closes (best effort, bounded).
  virtual void Close() = 0;
  // "user@host:port" for logs/status.
  virtual std::string Peer() const = 0;
};

struct SshOptions {
  std::string host;
  uint32_t port = 22;
  std::string user;
  std::string identity;     // private key file
  std::string known_hosts;  // host keys we accept; checking is mandatory
  std::string command;      // remote command line (already shell-quoted)
  uint32_t timeout_s = 30;  // connect and blocking I/O
};

// Connects, authenticates and starts `command`. Errors name the cause and
// the fix (unknown or changed host key, rejected key, unreachable host).
Result<std::unique_ptr<Transport>> ConnectSsh(const SshOptions& options);

// Quotes `s` for a POSIX shell ('...' with embedded quotes escaped).
std::string ShellQuote(const std::string& s);

}  // namespace georep::daemon

#include "sync/daemon/ssh_transport.h"

#include <libssh/libssh.h>

#include <algorithm>
#include <chrono>
#include <deque>

namespace georep::daemon {
namespace {

constexpr size_t kStderrKeepBytes = 4096;
constexpr size_t kReadChunk = 64 * 1024;

class SshTransport : public Transport {
 public:
  SshTransport(ssh_session s, ssh_channel c, std::string peer, uint32_t timeout_s)
      : session_(s), channel_(c), peer_(std::move(peer)), timeout_s_(timeout_s) {}
  ~SshTransport() override { Close(); }

  Status Write(std::string_view bytes) override {
    if (channel_ == nullptr) return Status(Code::kAborted, "connection to " + peer_ + " closed");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s_);
    while (!bytes.empty()) {
      uint32_t n = static_cast<uint32_t>(std::min<size_t>(bytes.size(), 1u << 20));
      int w = ssh_channel_write(channel_, bytes.data(), n);
      if (w == SSH_ERROR) {
        DrainStderr();
        return Status(Code::kAborted, "write to " + peer_ + " failed: " +
                                          ssh_get_error(session_) + StderrSuffix());
      }
      bytes.remove_prefix(static_cast<size_t>(w));
      if (w == 0 && std::chrono::steady_clock::now() > deadline) {
        return Status(Code::kAborted, "write to " + peer_ + " stalled for " +
                                          std::to_string(timeout_s_) + " s; the secondary is not "
                                          "reading (network or receiver hang)");
      }
    }
    return Status::Ok();
  }

  Status Read(std::string* out, int timeout_ms) override {
    if (channel_ == nullptr) return Status(Code::kAborted, "connection to " + peer_ + " closed");
    char buf[kReadChunk];
    int n = ssh_channel_read_timeout(channel_, buf, sizeof buf, 0, timeout_ms);
    DrainStderr();
    if (n == SSH_ERROR) {
      return Status(Code::kAborted,
                    "read from " + peer_ + " failed: " + ssh_get_error(session_) + StderrSuffix());
    }
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      // Take whatever else is already buffered without waiting again.
      for (int i = 0; i < 16; ++i) {
        int more = ssh_channel_read_nonblocking(channel_, buf, sizeof buf, 0);
        if (more <= 0) break;
        out->append(buf, static_cast<size_t>(more));
      }
      return Status::Ok();
    }
    if (ssh_channel_is_eof(channel_) || ssh_channel_is_closed(channel_)) {
      // Give the exit status a moment to arrive (bounded).
      int code = ssh_channel_get_exit_status(channel_);
      std::string why = "receiver on " + peer_ + " closed the connection";
      if (code >= 0) why += " (exit status " + std::to_string(code) + ")";
      if (code == 127) why += "; receiver_command not found on the secondary: install georep there";
      return Status(Code::kAborted, why + StderrSuffix());
    }
    return Status::Ok();
  }

  void Close() override {
    if (channel_ != nullptr) {
      if (ssh_channel_is_open(channel_)) {
        ssh_channel_send_eof(channel_);
        ssh_channel_close(channel_);
      }
      ssh_channel_free(channel_);
      channel_ = nullptr;
    }
    if (session_ != nullptr) {
      ssh_disconnect(session_);
      ssh_free(session_);
      session_ = nullptr;
    }
  }

  std::string Peer() const override { return peer_; }

 private:
  void DrainStderr() {
    char buf[4096];
    for (int i = 0; i < 16; ++i) {
      int n = ssh_channel_read_nonblocking(channel_, buf, sizeof buf, 1);
      if (n <= 0) break;
      stderr_.append(buf, static_cast<size_t>(n));
    }
    if (stderr_.size() > kStderrKeepBytes) stderr_.erase(0, stderr_.size() - kStderrKeepBytes);
  }
  std::string StderrSuffix() const {
    if (stderr_.empty()) return "";
    std::string tail = stderr_;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
    size_t cut = tail.rfind('\n', tail.size() > 600 ? tail.size() - 600 : 0);
    if (tail.size() > 600 && cut != std::string::npos) tail = tail.substr(cut + 1);
    for (char& c : tail) {
      if (c == '\n') c = '|';
    }
    return "; receiver stderr: " + tail;
  }

  ssh_session session_;
  ssh_channel channel_;
  std::string peer_;
  uint32_t timeout_s_;
  std::string stderr_;
};

}  // namespace

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out.push_back(c);
  }
  out += "'";
  return out;
}

Result<std::unique_ptr<Transport>> ConnectSsh(const SshOptions& o) {
  std::string peer = o.user + "@" + o.host + ":" + std::to_string(o.port);
  ssh_session s = ssh_new();
  if (s == nullptr) return Status(Code::kResourceExhausted, "ssh_new failed");
  auto fail = [&](Code code, const std::string& msg) -> Status {
    ssh_disconnect(s);
    ssh_free(s);
    return Status(code, msg);
  };
  long timeout = static_cast<long>(o.timeout_s);
  int port = static_cast<int>(o.port);
  int no = 0;
  // Only the session's own files count: no ~/.ssh/config, no system-wide known_hosts.
  ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
  // AES-GCM first: with AES-NI it costs a fraction of chacha20-poly1305's
  // CPU per byte, and the bulk data of a session goes through it.
  const char* kCiphers =
      "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,"
      "aes128-ctr,aes256-ctr";
  if (ssh_options_set(s, SSH_OPTIONS_CIPHERS_C_S, kCiphers) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_CIPHERS_S_C, kCiphers) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_HOST, o.host.c_str()) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_PORT, &port) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_USER, o.user.c_str()) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, o.known_hosts.c_str()) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, o.known_hosts.c_str()) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout) != 0) {
    return fail(Code::kInvalidArgument, "ssh options for " + peer + ": " + ssh_get_error(s));
  }
  if (ssh_connect(s) != SSH_OK) {
    return fail(Code::kUnavailable, "cannot connect to " + peer + ": " + ssh_get_error(s) +
                                        "; check that sshd runs there and the port is reachable");
  }
  std::string keyscan = "ssh-keyscan -p " + std::to_string(o.port) + " " + o.host + " >> " +
                        o.known_hosts;
  switch (ssh_session_is_known_server(s)) {
    case SSH_KNOWN_HOSTS_OK: break;
    case SSH_KNOWN_HOSTS_CHANGED:
      return fail(Code::kFailedPrecondition,
                  "host key of " + o.host + " CHANGED compared to " + o.known_hosts +
                      ": possible man-in-the-middle, or the secondary was reinstalled; verify "
                      "the new key out of band, remove the old line (ssh-keygen -R " + o.host +
                      " -f " + o.known_hosts + ") and add the new one (" + keyscan + ")");
    case SSH_KNOWN_HOSTS_OTHER:
      return fail(Code::kFailedPrecondition,
                  "host " + o.host + " offered a key of a type not listed for it in " +
                      o.known_hosts + "; add its keys after verifying them: " + keyscan);
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      return fail(Code::kFailedPrecondition,
                  "known_hosts file " + o.known_hosts + " does not exist; host key checking is "
                  "mandatory: create it with the secondary's verified keys: " + keyscan);
    case SSH_KNOWN_HOSTS_UNKNOWN:
      return fail(Code::kFailedPrecondition,
                  "host key of " + o.host + " is not in " + o.known_hosts +
                      "; host key checking is mandatory: verify and add it: " + keyscan);
    default:
      return fail(Code::kFailedPrecondition, "cannot check host key of " + o.host + " against " +
                                                 o.known_hosts + ": " + ssh_get_error(s));
  }
  ssh_key key = nullptr;
  if (ssh_pki_import_privkey_file(o.identity.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK) {
    return fail(Code::kFailedPrecondition,
                "cannot read SSH private key " + o.identity +
                    " (missing, unreadable or passphrase-protected); set ssh_identity to an "
                    "unencrypted key readable by georepd");
  }
  int rc = ssh_userauth_publickey(s, nullptr, key);
  ssh_key_free(key);
  if (rc != SSH_AUTH_SUCCESS) {
    return fail(Code::kPermissionDenied,
                "secondary " + peer + " rejected key " + o.identity + ": " + ssh_get_error(s) +
                    "; add its public key (" + o.identity + ".pub) to ~" + o.user +
                    "/.ssh/authorized_keys on " + o.host);
  }
  ssh_channel c = ssh_channel_new(s);
  if (c == nullptr) return fail(Code::kUnavailable, "ssh channel: " + std::string(ssh_get_error(s)));
  if (ssh_channel_open_session(c) != SSH_OK) {
    std::string err = ssh_get_error(s);
    ssh_channel_free(c);
    return fail(Code::kUnavailable, "cannot open SSH session channel to " + peer + ": " + err);
  }
  if (ssh_channel_request_exec(c, o.command.c_str()) != SSH_OK) {
    std::string err = ssh_get_error(s);
    ssh_channel_close(c);
    ssh_channel_free(c);
    return fail(Code::kUnavailable, "cannot run '" + o.command + "' on " + peer + ": " + err);
  }
  return std::unique_ptr<Transport>(new SshTransport(s, c, peer, o.timeout_s));
}

}  // namespace georep::daemon

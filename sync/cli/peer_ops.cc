#include "sync/cli/peer_ops.h"

#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iostream>

#include "journal/writer.h"
#include "sync/cli/gluster.h"
#include "sync/cli/paths.h"
#include "sync/cli/process.h"

#ifndef GEOREP_RECEIVER_PATH
#define GEOREP_RECEIVER_PATH "/usr/bin/georep-receiver"
#endif

namespace georep::cli {

namespace {

// Characters allowed in a value fixed in the key line: sshd runs the forced
// command through the account's shell, so nothing a shell would interpret.
bool SafeGateValue(const std::string& v) {
  if (v.empty() || v.size() > 4096) return false;
  return v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/:@+-") ==
         std::string::npos;
}

bool ValidHost(const std::string& h) {
  return SafeGateValue(h) && h[0] != '-' && h.size() <= 255 && h.find('/') == std::string::npos &&
         h.find('@') == std::string::npos;
}

// An absolute path without "." or ".." components.
bool ValidAbsolutePath(const std::string& p) {
  if (!SafeGateValue(p) || p[0] != '/') return false;
  for (const std::string& c : Split(p, '/')) {
    if (c == "." || c == "..") return false;
  }
  return p.back() != '/';
}

// GlusterFS volume names, as the receiver and glusterd accept them.
bool ValidVolumeName(const std::string& v) {
  return !v.empty() && v.size() <= 64 && v[0] != '-' &&
         v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
             std::string::npos;
}

// What a refused value is shown as: printable, bounded.
std::string Shown(const std::string& v) {
  std::string out;
  for (unsigned char c : v.substr(0, 80)) out += (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
  return "'" + out + (v.size() > 80 ? "...'" : "'");
}


constexpr int kSshCheckTimeoutS = 30;
constexpr int kKeygenTimeoutS = 60;
constexpr int kXlatorDirTimeoutS = 30;
// What the CLI sends to check that a replication key reaches the gate.
constexpr const char* kProbeCommand = "georep-probe";
constexpr const char* kProbeAnswer = "georep-gate ok";

std::string Line(const NodeContext& ctx, const std::string& kind, const KeyValues& f = {}) {
  return FormatPeerLine(ctx.node, kind, f) + "\n";
}
std::string Error(const NodeContext& ctx, const std::string& msg) { return Line(ctx, "error", {{"msg", msg}}); }

std::string Arg(const std::map<std::string, std::string>& a, const std::string& k) {
  auto it = a.find(k);
  return it == a.end() ? "" : it->second;
}

bool SafeSessionName(const std::string& n) {
  if (n.empty() || n.size() > 200 || n[0] == '.') return false;
  for (unsigned char c : n) {
    if (!isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// The node-local keys a session.conf must carry on this node.
std::string WithLocalPaths(const NodeContext& ctx, const std::string& name, const std::string& conf) {
  KeyValues kv = ParseKeyValues(conf);
  SetValue(&kv, "ssh_identity", NodeKeyPath(ctx.state_dir));
  SetValue(&kv, "ssh_known_hosts", KnownHostsPath(ctx.state_dir, name));
  std::string out = "# Written by `georep` on every primary node; change it with `georep ... config`.\n";
  for (const auto& [k, v] : kv) out += k + "=" + v + "\n";
  return out;
}

std::string OpSessionWrite(const NodeContext& ctx, const std::map<std::string, std::string>& a) {
  std::string name = Arg(a, "name");
  if (!SafeSessionName(name)) return Error(ctx, "invalid session name '" + name + "'");
  std::string mode = Arg(a, "mode");
  std::string conf_path = SessionConfPath(ctx.state_dir, name);
  bool exists = access(conf_path.c_str(), F_OK) == 0;
  if (mode == "create" && exists) {
    return Error(ctx, "session " + name + " already exists on this node");
  }
  if (mode == "update" && !exists) {
    return Error(ctx, "session " + name + " does not exist on this node (" + conf_path +
                          "); re-create it with `georep ... create force`");
  }
  if (mode == "create" && access(NodeKeyPath(ctx.state_dir).c_str(), R_OK) != 0) {
    return Error(ctx, "no replication key on this node (" + NodeKeyPath(ctx.state_dir) +
                          "); run `georep-sshkey generate` on any primary node");
  }
  std::string err;
  if (!MakeDirs(SessionDir(ctx.state_dir, name), 0755, &err)) return Error(ctx, err);
  if (a.count("known_hosts") &&
      !WriteFileAtomic(KnownHostsPath(ctx.state_dir, name), Arg(a, "known_hosts"), 0644, &err)) {
    return Error(ctx, err);
  }
  if (!WriteFileAtomic(conf_path, WithLocalPaths(ctx, name, Arg(a, "conf")), 0644, &err)) {
    return Error(ctx, err);
  }
  return Line(ctx, "ok");
}

std::string OpSessionDelete(const NodeContext& ctx, const std::map<std::string, std::string>& a) {
  std::string name = Arg(a, "name");
  if (!SafeSessionName(name)) return Error(ctx, "invalid session name '" + name + "'");
  std::string dir = SessionDir(ctx.state_dir, name);
  std::string err;
  if (Arg(a, "reset") == "yes") {
    if (!RemoveTree(dir, &err)) return Error(ctx, err);
    return Line(ctx, "ok");
  }
  // Without reset-sync-time georepd's own files in the session directory
  // (its sync positions) stay, so that a later create resumes from them.
  for (const std::string& p : {SessionConfPath(ctx.state_dir, name), KnownHostsPath(ctx.state_dir, name),
                               StatusDir(ctx.state_dir, name)}) {
    if (!RemoveTree(p, &err)) return Error(ctx, err);
  }
  // Nothing of georepd's left: no reason to keep the directory.
  rmdir(dir.c_str());
  return Line(ctx, "ok");
}

std::string OpStatus(const NodeContext& ctx, const std::map<std::string, std::string>& a) {
  std::string only = Arg(a, "name");
  std::string out;
  for (const std::string& name : ListDir(SessionsDir(ctx.state_dir))) {
    if (!only.empty() && name != only) continue;
    std::string conf;
    if (!ReadFile(SessionConfPath(ctx.state_dir, name), &conf)) continue;
    KeyValues kv = ParseKeyValues(conf);
    out += Line(ctx, "session",
                {{"name", name},
                 {"state", Lookup(kv, "state", "created")},
                 {"primary_volume", Lookup(kv, "primary_volume")},
                 {"secondary_host", Lookup(kv, "secondary_host")},
                 {"secondary_volume", Lookup(kv, "secondary_volume")},
                 {"hostname", ctx.hostname}});
    for (const std::string& file : ListDir(StatusDir(ctx.state_dir, name))) {
      if (file.size() < 8 || file.substr(file.size() - 7) != ".status") continue;
      const std::string path = StatusDir(ctx.state_dir, name) + "/" + file;
      std::string text;
      if (!ReadFile(path, &text)) continue;
      KeyValues fields = {{"session", name}, {"file", file}};
      // How long ago georepd last wrote it, by this node's own clock (the
      // CLI's node may be skewed): a running worker rewrites it every second.
      struct stat st {};
      if (stat(path.c_str(), &st) == 0) {
        fields.push_back({"age_s", std::to_string(std::max<long long>(0, time(nullptr) - st.st_mtime))});
      }
      for (auto& p : ParseKeyValues(text)) fields.push_back(p);
      out += Line(ctx, "brick", fields);
    }
  }
  if (out.empty()) out = Line(ctx, "none");
  return out;
}

std::string OpKeygen(const NodeContext& ctx, const std::map<std::string, std::string>& a) {
  std::string err;
  std::string key = NodeKeyPath(ctx.state_dir);
  if (!MakeDirs(KeysDir(ctx.state_dir), 0700, &err)) return Error(ctx, err);
  if (access(key.c_str(), R_OK) != 0) {
    if (Arg(a, "create") != "yes") {
      return Error(ctx, "no replication key on this node (" + key + "); run `georep-sshkey generate`");
    }
    Result<ProcessResult> r = RunProcess(
        {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "georep@" + ctx.hostname + ":" + ctx.node, "-f", key},
        kKeygenTimeoutS);
    if (!r.ok()) return Error(ctx, r.status().message());
    if (r->exit_code != 0) return Error(ctx, "ssh-keygen failed: " + Trim(r->err));
  }
  std::string pub;
  if (!ReadFile(key + ".pub", &pub)) return Error(ctx, "cannot read " + key + ".pub");
  return Line(ctx, "pubkey", {{"key", Trim(pub)}, {"hostname", ctx.hostname}});
}

std::string OpCheckSsh(const NodeContext& ctx, const std::map<std::string, std::string>& a) {
  std::string name = Arg(a, "name");
  if (!SafeSessionName(name)) return Error(ctx, "invalid session name '" + name + "'");
  std::string conf;
  if (!ReadFile(SessionConfPath(ctx.state_dir, name), &conf)) {
    return Error(ctx, "session " + name + " is missing on this node");
  }
  KeyValues kv = ParseKeyValues(conf);
  std::vector<std::string> argv = {
      "ssh", "-n", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
      "-o", "UserKnownHostsFile=" + Lookup(kv, "ssh_known_hosts"), "-o", "GlobalKnownHostsFile=/dev/null",
      "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10", "-i", Lookup(kv, "ssh_identity"),
      "-p", Lookup(kv, "ssh_port", "22"), Lookup(kv, "secondary_user", "root") + "@" + Lookup(kv, "secondary_host"),
      kProbeCommand};
  Result<ProcessResult> r = RunProcess(argv, kSshCheckTimeoutS);
  if (!r.ok()) return Error(ctx, r.status().message());
  if (r->timed_out) return Error(ctx, "ssh did not finish within " + std::to_string(kSshCheckTimeoutS) + " s");
  if (r->exit_code == 0 && r->out.find(kProbeAnswer) != std::string::npos) return Line(ctx, "ok");
  std::string detail = Trim(r->err + " " + r->out);
  while (!detail.empty() && detail.back() == '.') detail.pop_back();  // the caller adds its own sentence
  if (r->exit_code == 255) return Error(ctx, detail.empty() ? "ssh failed" : detail);
  return Error(ctx, "logged in, but the key does not run the georep gate (" + detail +
                        "): the authorized_keys line is not georep's");
}

std::string OpAccount(const NodeContext& ctx, const std::map<std::string, std::string>& a) {
  std::string user = Arg(a, "user");
  struct passwd pw {};
  struct passwd* res = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || res == nullptr) {
    return Line(ctx, "account", {{"user", user}, {"exists", "no"}, {"hostname", ctx.hostname}});
  }
  return Line(ctx, "account",
              {{"user", user}, {"exists", "yes"}, {"uid", std::to_string(pw.pw_uid)},
               {"gid", std::to_string(pw.pw_gid)}, {"home", pw.pw_dir}, {"hostname", ctx.hostname}});
}

std::string OpInstallKeys(const NodeContext& ctx, const std::map<std::string, std::string>& a) {
  std::string user = Arg(a, "user");
  struct passwd pw {};
  struct passwd* res = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || res == nullptr) {
    return Error(ctx, "account " + user + " does not exist on " + ctx.hostname +
                          "; create it on every secondary node (same UID/GID everywhere)");
  }
  if (geteuid() != 0 && geteuid() != pw.pw_uid) {
    return Error(ctx, "only root or " + user + " can change " + user + "'s authorized_keys");
  }
  std::vector<std::string> keys;
  for (const std::string& l : Split(Arg(a, "keys"), '\n')) {
    if (!Trim(l).empty() && Trim(l)[0] != '#') keys.push_back(Trim(l));
  }
  if (keys.empty()) return Error(ctx, "no public keys given");
  std::string gate = Arg(a, "gate").empty() ? ctx.gate_path + " gate" : Arg(a, "gate");
  {
    // The line is shell-parsed by sshd: only "<helper> gate" and the fixed
    // values GatePolicy accepts may be written into it.
    std::vector<std::string> w = Split(gate, ' ');
    GatePolicy policy;
    std::string why;
    if (w.size() < 2 || w[0].empty() || w[0][0] != '/' || !SafeGateValue(w[0]) || w[1] != "gate" ||
        !ParseGatePolicy(std::vector<std::string>(w.begin() + 2, w.end()), &policy, &why)) {
      return Error(ctx, "invalid gate command '" + gate + "'" + (why.empty() ? "" : ": " + why));
    }
  }
  std::string ssh_dir = std::string(pw.pw_dir) + "/.ssh";
  std::string err;
  if (!MakeDirs(ssh_dir, 0700, &err)) return Error(ctx, err);
  std::string path = ssh_dir + "/authorized_keys";
  std::string existing;
  ReadFile(path, &existing);
  if (!WriteFileAtomic(path, MergeAuthorizedKeys(existing, gate, keys), 0600, &err)) return Error(ctx, err);
  if (geteuid() == 0) {
    // sshd's StrictModes wants the account to own its .ssh and the file.
    if (chown(ssh_dir.c_str(), pw.pw_uid, pw.pw_gid) != 0 || chown(path.c_str(), pw.pw_uid, pw.pw_gid) != 0) {
      return Error(ctx, "cannot give " + path + " to " + user + ": " + strerror(errno));
    }
  }
  return Line(ctx, "ok", {{"installed", std::to_string(keys.size())}, {"hostname", ctx.hostname}});
}

// Whether the georep translator is where brick processes load it from
// (`user.xlator.georep` names <xlatordir>/user/georep.so; a brick whose
// graph names a missing translator does not start).
std::string TranslatorLine(const NodeContext& ctx) {
  Result<ProcessResult> r = RunProcess({"glusterfs", "--print-xlatordir"}, kXlatorDirTimeoutS);
  if (!r.ok()) return Error(ctx, "cannot run glusterfs --print-xlatordir: " + r.status().message());
  std::string dir = Trim(r->out);
  if (r->exit_code != 0 || dir.empty() || dir[0] != '/') {
    return Error(ctx, "glusterfs --print-xlatordir failed: " + Trim(r->err + r->out));
  }
  std::string so = dir + "/user/georep.so";
  return Line(ctx, "translator",
              {{"path", so}, {"installed", access(so.c_str(), R_OK) == 0 ? "yes" : "no"}, {"hostname", ctx.hostname}});
}

// Reports, for each brick of this node among `bricks` ("<node-uuid> <path>"
// lines), whether a brick process holds its journal. With translator=yes also
// whether the translator is installed here.
std::string OpJournal(const NodeContext& ctx, const std::map<std::string, std::string>& a) {
  std::string out;
  if (Arg(a, "translator") == "yes") out += TranslatorLine(ctx);
  for (const std::string& line : Split(Arg(a, "bricks"), '\n')) {
    size_t sp = line.find(' ');
    if (sp == std::string::npos || line.substr(0, sp) != ctx.node) continue;
    std::string path = line.substr(sp + 1);
    if (path.empty() || path[0] != '/') continue;
    Result<bool> w = journal::JournalWriterAttached(path);
    KeyValues f = {{"path", path}};
    if (w.ok()) {
      f.emplace_back("writer", *w ? "yes" : "no");
    } else {
      f.emplace_back("writer", "unknown");
      f.emplace_back("msg", w.status().message());
    }
    out += Line(ctx, "journal", f);
  }
  // Always answer, so that the CLI can tell this node took part.
  if (out.empty()) out = Line(ctx, "none");
  return out;
}

std::string OpClock(const NodeContext& ctx) {
  KeyValues f = ClockFields();
  f.emplace_back("hostname", ctx.hostname);
  return Line(ctx, "clock", f);
}

}  // namespace

bool ParsePeerArgs(const std::vector<std::string>& args, std::map<std::string, std::string>* out) {
  for (const std::string& arg : args) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    std::string v;
    if (!PercentDecode(arg.substr(eq + 1), &v)) return false;
    (*out)[arg.substr(0, eq)] = v;
  }
  return true;
}

KeyValues ClockFields() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  struct timex tx {};
  int state = adjtimex(&tx);
  std::string ntp = (state == TIME_ERROR || (tx.status & STA_UNSYNC)) ? "unsynced" : "synced";
  long long ns = static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
  return {{"now_ns", std::to_string(ns)}, {"ntp", ntp}, {"maxerror_us", std::to_string(tx.maxerror)}};
}

std::string RunNodeOp(const NodeContext& ctx, const std::string& op,
                      const std::map<std::string, std::string>& args) {
  if (op == "hello") return Line(ctx, "hello", {{"hostname", ctx.hostname}});
  if (op == "session-write") return OpSessionWrite(ctx, args);
  if (op == "session-delete") return OpSessionDelete(ctx, args);
  if (op == "status") return OpStatus(ctx, args);
  if (op == "keygen") return OpKeygen(ctx, args);
  if (op == "check-ssh") return OpCheckSsh(ctx, args);
  if (op == "account") return OpAccount(ctx, args);
  if (op == "install-keys") return OpInstallKeys(ctx, args);
  if (op == "clock") return OpClock(ctx);
  if (op == "journal") return OpJournal(ctx, args);
  return Error(ctx, "unknown operation '" + op + "' (georep versions differ between nodes?)");
}

std::string AuthorizedKeyLine(const std::string& gate_command, const std::string& pubkey_line) {
  // `restrict` turns off port, agent and X11 forwarding, the pty and
  // ~/.ssh/rc; command= replaces whatever the client asks to run.
  return "restrict,command=\"" + gate_command + "\" " + Trim(pubkey_line);
}

std::string MergeAuthorizedKeys(const std::string& existing, const std::string& gate_path,
                                const std::vector<std::string>& pubkey_lines) {
  // The key blob (second word of "type blob comment") identifies a key.
  auto blob_of = [](const std::string& line) -> std::string {
    std::vector<std::string> w;
    for (const std::string& x : Split(line, ' ')) {
      if (!x.empty()) w.push_back(x);
    }
    for (size_t i = 0; i + 1 < w.size(); ++i) {
      if (StartsWith(w[i], "ssh-") || StartsWith(w[i], "ecdsa-") || StartsWith(w[i], "sk-")) return w[i + 1];
    }
    return "";
  };
  std::vector<std::string> blobs;
  for (const std::string& k : pubkey_lines) blobs.push_back(blob_of(k));
  std::string out;
  for (const std::string& line : Split(existing, '\n')) {
    if (line.empty()) continue;
    std::string b = blob_of(line);
    if (!b.empty() && std::find(blobs.begin(), blobs.end(), b) != blobs.end()) continue;
    out += line + "\n";
  }
  for (const std::string& k : pubkey_lines) out += AuthorizedKeyLine(gate_path, k) + "\n";
  return out;
}

bool ParseGateCommand(const std::string& original_command, std::vector<std::string>* words,
                      std::string* why) {
  // A small subset of POSIX shell words, enough for what georepd sends
  // (plain words and '...'-quoted ones, as its ShellQuote writes them). The
  // words are passed to execv, never to a shell, so quoting only has to be
  // undone; anything that a shell would treat as syntax is refused.
  words->clear();
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < original_command.size(); ++i) {
    char c = original_command[i];
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      *why = "control characters are refused";
      return false;
    }
    if (c == ' ' || c == '\t') {
      if (in_word) words->push_back(cur);
      cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      size_t close = original_command.find('\'', i + 1);
      if (close == std::string::npos) {
        *why = "unterminated quote";
        return false;
      }
      cur += original_command.substr(i + 1, close - i - 1);
      i = close;
    } else if (c == '\\') {
      if (i + 1 >= original_command.size()) {
        *why = "trailing backslash";
        return false;
      }
      cur.push_back(original_command[++i]);
    } else if (std::string("\"$`;|&<>(){}*?[]~#!").find(c) != std::string::npos) {
      *why = std::string("shell syntax '") + c + "' is refused: this key only runs georep-receiver";
      return false;
    } else {
      cur.push_back(c);
    }
  }
  if (in_word) words->push_back(cur);
  if (words->empty()) {
    *why = "no command given; this key only runs georep-receiver";
    return false;
  }
  const std::string& first = (*words)[0];
  std::string base = first.substr(first.rfind('/') == std::string::npos ? 0 : first.rfind('/') + 1);
  if (base != "georep-receiver") {
    *why = "'" + first + "' refused; this key only runs georep-receiver";
    return false;
  }
  return true;
}


bool ParseGatePolicy(const std::vector<std::string>& gate_args, GatePolicy* policy, std::string* why) {
  *policy = GatePolicy{};
  for (const std::string& a : gate_args) {
    size_t eq = a.find('=');
    std::string k = eq == std::string::npos ? a : a.substr(0, eq);
    std::string v = eq == std::string::npos ? "" : a.substr(eq + 1);
    std::string* slot = k == "receiver" ? &policy->receiver
                        : k == "volfile-server" ? &policy->volfile_server
                        : k == "log-file" ? &policy->log_file
                                          : nullptr;
    if (slot == nullptr || eq == std::string::npos) {
      *why = "unknown word " + Shown(a) + " in this key's gate command (known: receiver=PATH, volfile-server=HOST, "
             "log-file=PATH); fix the authorized_keys line on the secondary";
      return false;
    }
    if (!slot->empty()) {
      *why = k + "= given twice in this key's gate command; fix the authorized_keys line on the secondary";
      return false;
    }
    bool ok = k == "volfile-server" ? ValidHost(v) : ValidAbsolutePath(v);
    if (!ok) {
      *why = "invalid " + k + "=" + Shown(v) + " in this key's gate command (" +
             (k == "volfile-server" ? "a host name or address" : "an absolute path of [A-Za-z0-9._/:@+-]") +
             "); fix the authorized_keys line on the secondary";
      return false;
    }
    *slot = v;
  }
  return true;
}

std::string GateCommandLine(const std::string& helper_path, const GatePolicy& policy) {
  std::string cmd = helper_path + " gate";
  if (!policy.receiver.empty()) cmd += " receiver=" + policy.receiver;
  if (!policy.volfile_server.empty()) cmd += " volfile-server=" + policy.volfile_server;
  if (!policy.log_file.empty()) cmd += " log-file=" + policy.log_file;
  return cmd;
}

bool GatePolicyForReceiverCommand(const std::string& receiver_command, GatePolicy* policy, std::string* why) {
  *policy = GatePolicy{};
  std::vector<std::string> words;
  if (!ParseGateCommand(receiver_command, &words, why)) {
    *why = "receiver_command '" + receiver_command + "' cannot pass the secondary's gate: " + *why;
    return false;
  }
  std::vector<std::string> gate_args;
  if (words[0][0] == '/') gate_args.push_back("receiver=" + words[0]);
  for (size_t i = 1; i < words.size(); ++i) {
    for (const char* opt : {"--volfile-server", "--log-file"}) {
      std::string o = opt;
      std::string value;
      if (words[i] == o && i + 1 < words.size()) {
        value = words[i + 1];
      } else if (StartsWith(words[i], o + "=")) {
        value = words[i].substr(o.size() + 1);
      } else {
        continue;
      }
      gate_args.push_back(o.substr(2) + "=" + value);
    }
  }
  std::string policy_why;
  if (!ParseGatePolicy(gate_args, policy, &policy_why)) {
    *why = "receiver_command '" + receiver_command + "' cannot be fixed in the secondary's key lines: " + policy_why;
    return false;
  }
  // The workers add --volume; the rest must pass the gate as it will be.
  std::vector<std::string> probe = words;
  probe.push_back("--volume");
  probe.push_back("probe");
  std::vector<std::string> ignored;
  std::string check_why;
  if (!CheckReceiverArgs(probe, *policy, &ignored, &check_why)) {
    *why = "receiver_command '" + receiver_command + "' cannot pass the secondary's gate: " + check_why;
    return false;
  }
  return true;
}

bool CheckReceiverArgs(const std::vector<std::string>& words, const GatePolicy& policy,
                       std::vector<std::string>* receiver_args, std::string* why) {
  receiver_args->clear();
  std::map<std::string, std::string> seen;
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (!StartsWith(w, "--")) {
      *why = "argument " + Shown(w) + " refused: the receiver takes options only";
      return false;
    }
    size_t eq = w.find('=');
    std::string name = eq == std::string::npos ? w : w.substr(0, eq);
    std::string value;
    if (eq != std::string::npos) {
      value = w.substr(eq + 1);
    } else if (i + 1 < words.size()) {
      value = words[++i];
    } else {
      *why = "option " + name + " refused: it needs a value";
      return false;
    }
    if (name != "--volume" && name != "--log-level" && name != "--idle-timeout" &&
        name != "--apply-threads" && name != "--direct-io" && name != "--volfile-server" &&
        name != "--log-file") {
      *why = "option " + Shown(name) +
             " refused: this key allows only --volume, --log-level, --idle-timeout, --apply-threads, "
             "--direct-io, and --volfile-server and "
             "--log-file with the values fixed in the key line on the secondary";
      return false;
    }
    if (seen.count(name) != 0) {
      *why = "option " + name + " refused: given twice";
      return false;
    }
    seen[name] = value;
    if (name == "--volume") {
      if (!ValidVolumeName(value)) {
        *why = "option --volume refused: " + Shown(value) +
               " is not a GlusterFS volume name (letters, digits, '-', '_', at most 64)";
        return false;
      }
      receiver_args->insert(receiver_args->end(), {name, value});
    } else if (name == "--log-level") {
      if (value != "debug" && value != "info" && value != "warning" && value != "error") {
        *why = "option --log-level refused: " + Shown(value) + " is not debug, info, warning or error";
        return false;
      }
      receiver_args->insert(receiver_args->end(), {name, value});
    } else if (name == "--apply-threads") {
      bool digits = !value.empty() && value.size() <= 2 &&
                    value.find_first_not_of("0123456789") == std::string::npos;
      if (!digits || std::stol(value) < 1 || std::stol(value) > 64) {
        *why = "option --apply-threads refused: " + Shown(value) + " is not a number from 1 to 64";
        return false;
      }
      receiver_args->insert(receiver_args->end(), {name, value});
    } else if (name == "--direct-io") {
      if (value != "on" && value != "off") {
        *why = "option --direct-io refused: " + Shown(value) + " is not on or off";
        return false;
      }
      receiver_args->insert(receiver_args->end(), {name, value});
    } else if (name == "--idle-timeout") {
      bool digits = !value.empty() && value.size() <= 6 &&
                    value.find_first_not_of("0123456789") == std::string::npos;
      if (!digits || std::stol(value) > 604800) {
        *why = "option --idle-timeout refused: " + Shown(value) + " is not a number of seconds (0-604800)";
        return false;
      }
      receiver_args->insert(receiver_args->end(), {name, value});
    } else {
      // --volfile-server picks whose volfile is mounted and --log-file a file
      // the account appends to: only the secondary decides them.
      const std::string& fixed = name == "--volfile-server" ? policy.volfile_server : policy.log_file;
      if (fixed.empty()) {
        *why = "option " + name + " refused: the secondary did not fix it for this key (the primary may not " +
               (name == "--volfile-server" ? "choose which glusterd serves the volume"
                                           : "choose a file to write on the secondary") +
               "); to use it, create the session with push-pem and --receiver-command='... " + name +
               " VALUE' so that the key line fixes " + name.substr(2) + "=VALUE";
        return false;
      }
      if (value != fixed) {
        *why = "option " + name + " refused: " + Shown(value) + " differs from " + Shown(fixed) +
               ", the value fixed in this key's line on the secondary";
        return false;
      }
    }
  }
  if (seen.count("--volume") == 0) {
    *why = "option --volume is required";
    return false;
  }
  // The secondary's fixed values are passed whether or not the primary named them.
  if (!policy.volfile_server.empty()) receiver_args->insert(receiver_args->end(), {"--volfile-server", policy.volfile_server});
  if (!policy.log_file.empty()) receiver_args->insert(receiver_args->end(), {"--log-file", policy.log_file});
  return true;
}

int RunGate(const std::string& original_command, const GatePolicy& policy) {
  if (original_command == kProbeCommand) {
    std::cout << kProbeAnswer << std::endl;
    return 0;
  }
  std::vector<std::string> words;
  std::vector<std::string> args;
  std::string why;
  if (!ParseGateCommand(original_command, &words, &why) || !CheckReceiverArgs(words, policy, &args, &why)) {
    std::cerr << "georep gate: " << why << std::endl;
    return 126;
  }
  // The receiver always comes from the configured path on this host, never
  // from the client's choice of directory.
  std::string receiver = policy.receiver.empty() ? GEOREP_RECEIVER_PATH : policy.receiver;
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(receiver.c_str()));
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // A fixed PATH: the receiver runs the GlusterFS tools (gluster in /usr/sbin)
  // whatever the account's own PATH says, and nothing from the account's
  // directories shadows them.
  setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
  execv(receiver.c_str(), argv.data());
  std::cerr << "georep gate: cannot run " << receiver << ": " << strerror(errno) << std::endl;
  return 127;
}

namespace {

// set_georep_pem_keys.sh, as root on a secondary node: installs the keys
// that `create push-pem` left in a non-root account's home on every node of
// this (secondary) pool, and keeps the secondary volume idle.
int PemKeys(const NodeContext& ctx, const std::map<std::string, std::string>& a) {
  std::string user = Arg(a, "user"), pvol = Arg(a, "pvol"), svol = Arg(a, "svol");
  if (geteuid() != 0) {
    std::cerr << "set_georep_pem_keys.sh must run as root on a secondary node\n";
    return 1;
  }
  struct passwd pw {};
  struct passwd* res = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || res == nullptr) {
    std::cerr << "The account " << user << " does not exist on this node; create it on every secondary node\n";
    return 1;
  }
  std::string file = std::string(pw.pw_dir) + "/georep_" + pvol + "_" + svol + ".pub";
  std::string content;
  if (!ReadFile(file, &content)) {
    std::cerr << "No keys at " << file << ": run `georep " << pvol << " " << user << "@<this host>::" << svol
              << " create push-pem` on a primary node first\n";
    return 1;
  }
  std::string gate = ctx.gate_path + " gate";
  for (const std::string& l : Split(content, '\n')) {
    if (StartsWith(l, "# gate: ") && l.size() > 8) gate = l.substr(8);
  }
  const char* sock = getenv("GEOREP_GLUSTERD_SOCK");
  SystemRunner runner;
  Gluster g(&runner, sock ? sock : "", "");
  Result<std::vector<PoolPeer>> pool = g.Pool();
  if (!pool.ok()) {
    std::cerr << pool.status().message() << "\n";
    return 1;
  }
  std::map<std::string, std::string> names;
  for (const PoolPeer& p : *pool) {
    names[p.uuid] = p.hostname;
    if (!p.connected) {
      std::cerr << "Peer " << p.hostname << " is not connected; bring it back and retry\n";
      return 1;
    }
  }
  Result<std::vector<PeerLine>> acc = g.Execute("account", {KeyArg("user", user)});
  if (!acc.ok()) {
    std::cerr << acc.status().message() << "\n";
    return 1;
  }
  std::string first_ids;
  bool differ = false;
  for (const PeerLine& pl : *acc) {
    if (pl.kind != "account") continue;
    if (pl.Get("exists") != "yes") {
      std::cerr << "The account " << user << " does not exist on "
                << (names[pl.node] == "localhost" ? ctx.hostname + " (this node)" : names[pl.node])
                << "; create it there (same UID and GID as here) and retry\n";
      return 1;
    }
    std::string ids = pl.Get("uid") + ":" + pl.Get("gid");
    if (first_ids.empty()) first_ids = ids;
    if (ids != first_ids) differ = true;
    std::string where = names[pl.node] == "localhost" ? ctx.hostname + " (this node)" : names[pl.node];
    std::cout << "account " << user << " on " << where << ": uid:gid " << ids << "\n";
  }
  if (differ) {
    std::cerr << "Warning: " << user << " has different UID/GID on the secondary nodes; make them equal so that "
              << "ownership survives a failover\n";
  }
  Result<std::vector<PeerLine>> inst =
      g.Execute("install-keys", {KeyArg("user", user), KeyArg("keys", content), KeyArg("gate", gate)});
  if (!inst.ok()) {
    std::cerr << inst.status().message() << "\n";
    return 1;
  }
  size_t ok_nodes = 0;
  for (const PeerLine& pl : *inst) {
    if (pl.kind == "error") {
      std::cerr << "on " << names[pl.node] << ": " << pl.Get("msg") << "\n";
      return 1;
    }
    if (pl.kind == "ok") ++ok_nodes;
  }
  if (ok_nodes != pool->size()) {
    std::cerr << "only " << ok_nodes << " of " << pool->size() << " nodes installed the keys; install georep on "
              << "every secondary node\n";
    return 1;
  }
  Status st = g.VolumeSet(svol, "features.read-only", "on");
  if (!st.ok()) {
    std::cerr << st.message() << "\n";
    return 1;
  }
  std::cout << "Keys for " << user << " installed on " << ok_nodes << " secondary node(s); features.read-only set on "
            << svol << "\n";
  return 0;
}

// Secondary side, over SSH from the CLI: `peer_georep remote <op> k=v ...`.
int RemoteMain(const NodeContext& ctx, const std::vector<std::string>& args) {
  std::map<std::string, std::string> a;
  if (args.empty() || !ParsePeerArgs(std::vector<std::string>(args.begin() + 1, args.end()), &a)) {
    std::cout << Error(ctx, "malformed remote request");
    return 0;
  }
  const std::string& op = args[0];
  if (op == "info") {
    // Facts about this host only: works for any account.
    std::cout << RunNodeOp(ctx, "clock", {}) << RunNodeOp(ctx, "account", {{"user", Arg(a, "user")}})
              << Line(ctx, "whoami", {{"uid", std::to_string(geteuid())}, {"hostname", ctx.hostname}});
    std::string sessions = RunNodeOp(ctx, "status", {});
    for (const PeerLine& pl : ParsePeerLines(sessions)) {
      if (pl.kind == "session") std::cout << Line(ctx, "session", pl.fields);
    }
    return 0;
  }
  if (op == "cluster") {
    // Fans a node operation out to every node of this (secondary) pool.
    if (geteuid() != 0) {
      std::cout << Error(ctx, "not-root");
      return 0;
    }
    const char* sock = getenv("GEOREP_GLUSTERD_SOCK");
    SystemRunner runner;
    Gluster g(&runner, sock ? sock : "", "");
    std::vector<std::string> fwd;
    for (const auto& [k, v] : a) {
      if (k != "op") fwd.push_back(KeyArg(k, v));
    }
    Result<std::vector<PeerLine>> r = g.Execute(Arg(a, "op"), fwd);
    if (!r.ok()) {
      std::cout << Error(ctx, r.status().message());
      return 0;
    }
    for (const PeerLine& pl : *r) std::cout << FormatPeerLine(pl.node, pl.kind, pl.fields) << "\n";
    Result<std::vector<PoolPeer>> pool = g.Pool();
    if (pool.ok()) {
      for (const PoolPeer& p : *pool) {
        std::cout << Line(ctx, "peer", {{"uuid", p.uuid}, {"hostname", p.hostname},
                                        {"connected", p.connected ? "yes" : "no"}});
      }
    }
    return 0;
  }
  if (op == "install-keys") {
    // Only this host (a non-root account can change nothing else); the keys
    // are also left in the account's home for set_georep_pem_keys.sh.
    std::cout << RunNodeOp(ctx, "install-keys", a);
    std::string home = getenv("HOME") ? getenv("HOME") : "";
    std::string err;
    std::string drop = Arg(a, "drop");
    if (drop.find('/') != std::string::npos || (!drop.empty() && drop[0] == '.')) {
      std::cout << Error(ctx, "invalid key file name '" + drop + "'");
      return 0;
    }
    // The gate command travels with the keys, so that the script installs
    // exactly the lines the CLI would have.
    std::string content = "# gate: " + Arg(a, "gate") + "\n" + Arg(a, "keys");
    if (!home.empty() && !drop.empty() && !WriteFileAtomic(home + "/" + drop, content, 0644, &err)) {
      std::cout << Error(ctx, err);
    }
    return 0;
  }
  if (op == "pem-keys") {
    return PemKeys(ctx, a);
  }
  if (op == "read-only") {
    if (geteuid() != 0) {
      std::cout << Error(ctx, "not-root");
      return 0;
    }
    const char* sock = getenv("GEOREP_GLUSTERD_SOCK");
    SystemRunner runner;
    Gluster g(&runner, sock ? sock : "", "");
    Status st = g.VolumeSet(Arg(a, "volume"), "features.read-only", Arg(a, "value"));
    std::cout << (st.ok() ? Line(ctx, "ok") : Error(ctx, st.message()));
    return 0;
  }
  std::cout << Error(ctx, "unknown remote operation '" + op + "'");
  return 0;
}

}  // namespace

int PeerMain(const std::vector<std::string>& args) {
  NodeContext ctx;
  ctx.state_dir = DefaultStateDir();
  ctx.hostname = LocalHostName();
  ctx.node = LocalNodeUuid();
  if (ctx.node.empty()) ctx.node = ctx.hostname;
  ctx.gate_path = PeerHelperPath();
  if (args.empty()) {
    std::cerr << "usage: peer_georep <op> [k=v ...]   (run by glusterd: gluster system:: execute georep ...)\n";
    return 0;
  }
  if (args[0] == "gate") {
    const char* oc = getenv("SSH_ORIGINAL_COMMAND");
    GatePolicy policy;
    std::string why;
    if (!ParseGatePolicy(std::vector<std::string>(args.begin() + 1, args.end()), &policy, &why)) {
      std::cerr << "georep gate: " << why << std::endl;
      return 126;
    }
    return RunGate(oc ? oc : "", policy);
  }
  if (args[0] == "remote") return RemoteMain(ctx, std::vector<std::string>(args.begin() + 1, args.end()));
  std::map<std::string, std::string> a;
  if (!ParsePeerArgs(std::vector<std::string>(args.begin() + 1, args.end()), &a)) {
    std::cout << Error(ctx, "malformed arguments");
    return 0;
  }
  std::cout << RunNodeOp(ctx, args[0], a);
  return 0;
}

}  // namespace georep::cli

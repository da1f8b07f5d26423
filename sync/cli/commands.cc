#include "sync/cli/commands.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "sync/cli/checks.h"
#include "sync/cli/config_keys.h"
#include "sync/cli/gluster.h"
#include "sync/cli/paths.h"
#include "sync/cli/peer_ops.h"
#include "sync/cli/status_view.h"
#include "sync/cli/target.h"
#include "sync/cli/text_util.h"
#include "sync/cli/volume_probe.h"

namespace georep::cli {

namespace {

constexpr int kSshTimeoutS = 60;
constexpr int kProbeTimeoutS = 60;
// `pause` and `stop` return once no worker reports Active any more (georepd
// applies a new session.conf within milliseconds; a sender notices between
// two batches), polling the nodes' status files at most this long.
constexpr std::chrono::milliseconds kConfirmWait{5000};
constexpr std::chrono::milliseconds kConfirmPoll{200};
constexpr const char* kFailed = "georep command failed";

long long NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A failure the command reports: the message (cause and fix) and exit 1.
struct Failure {
  std::string message;
};

class Cli {
 public:
  Cli(const Invocation& inv, Runner* runner, std::ostream& out, std::ostream& err)
      : o_(inv.options), words_(inv.words), runner_(runner), out_(out), err_(err),
        gluster_(runner, o_.glusterd_sock, o_.gluster_log) {
    if (o_.state_dir.empty()) o_.state_dir = DefaultStateDir();
  }

  int Run();

 private:
  int Fail(const std::string& msg) {
    if ((o_.xml || o_.json) && is_status_) {
      if (o_.xml) {
        out_ << "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<cliOutput>\n  <opRet>-1</opRet>\n"
             << "  <opErrno>0</opErrno>\n  <opErrstr>" << msg << "</opErrstr>\n</cliOutput>\n";
      } else {
        out_ << "{\"error\": \"" << msg << "\"}\n";
      }
      return 1;
    }
    err_ << msg << "\n" << kFailed << "\n";
    return 1;
  }
  int Usage() {
    err_ << UsageText();
    return 1;
  }

  int Status(const std::string& only_volume, const std::string& only_session, const std::string& display,
             bool detail);
  int Create(const std::string& pvol, const Target& t, const CreateFlags& f);
  int StateChange(const std::string& pvol, const Target& t, const std::string& verb, bool force);
  int Config(const std::string& pvol, const Target& t, const std::vector<std::string>& args);
  int Checkpoint(const std::string& pvol, const Target& t);
  int Delete(const std::string& pvol, const Target& t, bool reset);

  // Reads the local node's copy of a session; Failure text if it is missing.
  bool LoadSession(const std::string& pvol, const Target& t, KeyValues* conf, std::string* fail);
  // Writes `conf` on every node; returns "" or the failure.
  std::string WriteEverywhere(const std::string& name, const KeyValues& conf, const std::string& mode,
                              const std::string* known_hosts);
  // Nodes of the local pool that must answer; "" or failure.
  std::string ConnectedNodes(std::vector<PoolPeer>* pool);
  // Runs peer_georep op on all nodes and checks every connected node answered
  // without an error line.
  std::string ExecuteAll(const std::string& op, const std::vector<std::string>& args,
                         std::vector<PeerLine>* lines);
  std::string NodeName(const std::string& uuid) const;
  // Asks every primary node whether its bricks' journals have a live writer
  // (and, with `no_translator`, which nodes lack the translator file).
  std::string ProbeJournals(const VolumeInfo& pv, std::vector<BrickJournal>* bricks,
                            std::vector<std::string>* no_translator);
  // After a pause or stop is written everywhere: waits (kConfirmWait) until
  // no worker of session `name` reports Active; returns those that still do
  // ("brick on node, status written at ..."), or why the status could not be
  // read.
  std::vector<std::string> WorkersStillActive(const std::string& name);
  // start/resume: the translator is configured and every brick records.
  std::string CheckRecording(const std::string& pvol, bool allow_offline);

  std::vector<std::string> AdminSsh(const Target& t, int port) const;
  // Runs `peer_georep remote <op> args` on the secondary host as the admin.
  Result<std::vector<PeerLine>> Remote(const Target& t, int port, const std::string& op,
                                       const std::vector<std::string>& args);
  // The forced command of the key lines push-pem installs for a session
  // whose workers send `receiver_command`.
  Result<std::string> GateCommand(const std::string& receiver_command) const;
  Result<std::string> HostKeysFor(const Target& t, int port);

  GlobalOptions o_;
  std::vector<std::string> words_;
  Runner* runner_;
  std::ostream& out_;
  std::ostream& err_;
  Gluster gluster_;
  std::map<std::string, std::string> node_names_;  // uuid -> host name
  bool is_status_ = false;
};

// Every address `host` resolves to (empty if it does not).
std::vector<std::string> ResolveHost(const std::string& host) {
  std::vector<std::string> out;
  struct addrinfo hints {};
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (struct addrinfo* a = res; a != nullptr; a = a->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {0};
    if (getnameinfo(a->ai_addr, a->ai_addrlen, buf, sizeof(buf), nullptr, 0, NI_NUMERICHOST) == 0) out.push_back(buf);
  }
  freeaddrinfo(res);
  return out;
}

std::string Between(const std::string& pvol, const Target& t) { return pvol + " and " + t.Display(); }
std::string Amp(const std::string& pvol, const Target& t) { return pvol + " & " + t.Display(); }

std::string Cli::NodeName(const std::string& uuid) const {
  auto it = node_names_.find(uuid);
  return it == node_names_.end() ? uuid : it->second;
}

std::string Cli::ConnectedNodes(std::vector<PoolPeer>* pool) {
  Result<std::vector<PoolPeer>> p = gluster_.Pool();
  if (!p.ok()) return p.status().message() + "; is glusterd running on this node?";
  *pool = *p;
  for (const PoolPeer& peer : *pool) {
    if (!node_names_.count(peer.uuid) || peer.hostname != "localhost") node_names_[peer.uuid] = peer.hostname;
  }
  for (const PoolPeer& peer : *pool) {
    if (!peer.connected) {
      return "Peer " + peer.hostname + " is not connected: georep sessions are changed on every primary node "
             "together; bring it back (gluster peer status) and retry";
    }
  }
  return "";
}

std::string Cli::ExecuteAll(const std::string& op, const std::vector<std::string>& args,
                            std::vector<PeerLine>* lines) {
  std::vector<PoolPeer> pool;
  if (std::string f = ConnectedNodes(&pool); !f.empty()) return f;
  Result<std::vector<PeerLine>> r = gluster_.Execute(op, args);
  if (!r.ok()) return r.status().message();
  *lines = *r;
  std::set<std::string> answered;
  for (const PeerLine& pl : *lines) answered.insert(pl.node);
  // glusterd runs the helper on the connected peers only; a node that printed
  // nothing (or the wrong helper) must not pass for a success.
  for (const PoolPeer& peer : pool) {
    if (!answered.count(peer.uuid)) {
      return "node " + peer.hostname + " did not answer (georep not installed there, or an older version?); "
             "install the same georep on every node";
    }
  }
  for (const PeerLine& pl : *lines) {
    if (pl.kind == "error") return "on " + NodeName(pl.node) + ": " + pl.Get("msg");
  }
  return "";
}

std::vector<std::string> Cli::WorkersStillActive(const std::string& name) {
  const auto deadline = std::chrono::steady_clock::now() + kConfirmWait;
  for (;;) {
    std::vector<PeerLine> lines;
    if (std::string f = ExecuteAll("status", {KeyArg("name", name)}, &lines); !f.empty()) {
      return {"(the workers' status could not be read: " + f + ")"};
    }
    std::vector<std::string> active;
    bool only_silent = true;  // every one left is a georepd that stopped writing (status_view.h)
    for (const PeerLine& pl : lines) {
      if (pl.kind != "brick" || pl.Get("session") != name || pl.Get("status") != "Active") continue;
      const std::optional<long long> silent = SilentFor(pl);
      only_silent = only_silent && silent.has_value();
      active.push_back(pl.Get("primary_brick") + " on " + NodeName(pl.node) + " (status written " +
                       DisplayTime(pl.Get("updated")) +
                       (silent ? ", " + std::to_string(*silent) + " s ago: georepd is not running there, or hangs"
                               : ", still Active after " + std::to_string(kConfirmWait.count() / 1000) + " s") +
                       ")");
    }
    // Waiting cannot help when no georepd that still writes is left to confirm.
    if (active.empty() || only_silent || std::chrono::steady_clock::now() >= deadline) return active;
    std::this_thread::sleep_for(kConfirmPoll);
  }
}

std::string Cli::ProbeJournals(const VolumeInfo& pv, std::vector<BrickJournal>* bricks,
                               std::vector<std::string>* no_translator) {
  Result<std::map<std::string, bool>> online = gluster_.BricksOnline(pv.name);
  if (!online.ok()) return online.status().message();
  std::string list;
  for (const Brick& b : pv.bricks) list += b.node_uuid + " " + b.path + "\n";
  std::vector<std::string> args = {KeyArg("bricks", list)};
  if (no_translator != nullptr) args.push_back(KeyArg("translator", "yes"));
  std::vector<PeerLine> lines;
  if (std::string f = ExecuteAll("journal", args, &lines); !f.empty()) return f;
  for (const Brick& b : pv.bricks) {
    BrickJournal j;
    j.brick = b.Name();
    auto it = online->find(b.Name());
    j.online = it != online->end() && it->second;
    for (const PeerLine& pl : lines) {
      if (pl.kind != "journal" || pl.node != b.node_uuid || pl.Get("path") != b.path) continue;
      j.probed = true;
      j.writer = pl.Get("writer") == "yes";
      if (pl.Get("writer") != "yes" && pl.Get("writer") != "no") j.error = pl.Get("msg");
    }
    bricks->push_back(j);
  }
  if (no_translator != nullptr) {
    for (const PeerLine& pl : lines) {
      if (pl.kind == "translator" && pl.Get("installed") != "yes") {
        no_translator->push_back(NodeName(pl.node) + " (" + pl.Get("path") + ")");
      }
    }
  }
  return "";
}

std::string Cli::CheckRecording(const std::string& pvol, bool allow_offline) {
  Result<VolumeInfo> pv = gluster_.Volume(pvol);
  if (!pv.ok()) {
    if (pv.status().code() == Code::kNotFound) return "Primary volume " + pvol + " does not exist.";
    return pv.status().message();
  }
  std::string option = pv->Option(kTranslatorOption);
  if (std::string m = TranslatorOptionConflict(pvol, option); !m.empty()) return m;
  if (option.empty()) return TranslatorOptionMissing(pvol);
  std::vector<BrickJournal> bricks;
  if (std::string f = ProbeJournals(*pv, &bricks, nullptr); !f.empty()) {
    return "Cannot check that the bricks of " + pvol + " record changes: " + f;
  }
  JournalVerdict v = CheckJournalWriters(pvol, bricks, allow_offline);
  if (!v.warning.empty()) err_ << v.warning << "\n";
  return v.refusal;
}

bool Cli::LoadSession(const std::string& pvol, const Target& t, KeyValues* conf, std::string* fail) {
  std::string name = SessionName(pvol, t);
  std::string text;
  if (!ReadFile(SessionConfPath(o_.state_dir, name), &text)) {
    *fail = "georep session between " + Between(pvol, t) + " does not exist.";
    return false;
  }
  *conf = ParseKeyValues(text);
  if (t.user_given && Lookup(*conf, "secondary_user", "root") != t.user) {
    *fail = "georep session between " + pvol + " and " + t.host + "::" + t.volume + " uses the account " +
            Lookup(*conf, "secondary_user", "root") + ", not " + t.user + ".";
    return false;
  }
  return true;
}

std::string Cli::WriteEverywhere(const std::string& name, const KeyValues& conf, const std::string& mode,
                                 const std::string* known_hosts) {
  std::string text;
  for (const auto& [k, v] : conf) {
    if (k == "ssh_identity" || k == "ssh_known_hosts") continue;  // node-local, the helper fills them
    text += k + "=" + v + "\n";
  }
  std::vector<std::string> args = {KeyArg("name", name), KeyArg("mode", mode), KeyArg("conf", text)};
  if (known_hosts != nullptr) args.push_back(KeyArg("known_hosts", *known_hosts));
  std::vector<PeerLine> lines;
  return ExecuteAll("session-write", args, &lines);
}

std::vector<std::string> Cli::AdminSsh(const Target& t, int port) const {
  std::vector<std::string> argv = {"ssh", "-n", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                                   "-o", "ConnectTimeout=10", "-p", std::to_string(port)};
  if (!o_.ssh_identity.empty()) argv.insert(argv.end(), {"-i", o_.ssh_identity, "-o", "IdentitiesOnly=yes"});
  if (!o_.ssh_known_hosts.empty()) argv.insert(argv.end(), {"-o", "UserKnownHostsFile=" + o_.ssh_known_hosts});
  argv.push_back(t.user + "@" + t.host);
  return argv;
}

Result<std::vector<PeerLine>> Cli::Remote(const Target& t, int port, const std::string& op,
                                          const std::vector<std::string>& args) {
  std::vector<std::string> argv = AdminSsh(t, port);
  std::string cmd = PeerHelperPath() + " remote " + op;
  for (const std::string& a : args) cmd += " " + a;  // percent-encoded: no shell syntax survives
  argv.push_back(cmd);
  Result<ProcessResult> r = runner_->Run(argv, kSshTimeoutS);
  if (!r.ok()) return r.status();
  std::string detail = Trim(r->err);
  while (!detail.empty() && detail.back() == '.') detail.pop_back();
  if (r->timed_out) {
    return ::georep::Status(Code::kUnavailable, "ssh " + t.user + "@" + t.host + " did not answer within " +
                                                   std::to_string(kSshTimeoutS) + " s");
  }
  if (r->exit_code == 255 && (detail.find("Connection refused") != std::string::npos ||
                              detail.find("timed out") != std::string::npos ||
                              detail.find("No route to host") != std::string::npos ||
                              detail.find("Could not resolve") != std::string::npos)) {
    return ::georep::Status(Code::kUnavailable,
                            "Cannot reach SSH on " + t.host + " port " + std::to_string(port) + ": " + detail +
                                ". Fix: start sshd there, or give its port with ssh-port <port>");
  }
  if (r->exit_code == 255) {
    return ::georep::Status(
        Code::kPermissionDenied,
        "Cannot log in to " + t.user + "@" + t.host + " (port " + std::to_string(port) +
            ") over SSH without a password: " + (detail.empty() ? "ssh failed" : detail) +
            ". Fix: authorise this node's admin key for " + t.user + "@" + t.host +
            " (ssh-copy-id) and make sure its host key is in known_hosts");
  }
  if (r->exit_code == 127 || r->exit_code == 126) {
    return ::georep::Status(Code::kFailedPrecondition,
                            "georep is not installed on " + t.host + " (" + PeerHelperPath() +
                                " cannot run: " + detail + "); install georep on every secondary node");
  }
  std::vector<PeerLine> lines = ParsePeerLines(r->out);
  if (lines.empty()) {
    return ::georep::Status(Code::kIOError, "unexpected answer from " + t.host + ": " + Trim(r->out + " " + detail));
  }
  return lines;
}

Result<std::string> Cli::GateCommand(const std::string& receiver_command) const {
  // The key line pins the receiver binary (an absolute first word) and the
  // --volfile-server and --log-file values: the gate refuses them from the
  // primary unless they equal what the secondary's key line says.
  GatePolicy policy;
  std::string why;
  if (!GatePolicyForReceiverCommand(receiver_command, &policy, &why)) {
    return ::georep::Status(Code::kInvalidArgument, why);
  }
  return GateCommandLine(PeerHelperPath(), policy);
}

Result<std::string> Cli::HostKeysFor(const Target& t, int port) {
  // The session trusts exactly the host keys the admin already trusts: the
  // admin's known_hosts (or the system one) is where the check above passed.
  std::string name = port == 22 ? t.host : "[" + t.host + "]:" + std::to_string(port);
  std::vector<std::string> files;
  if (!o_.ssh_known_hosts.empty()) {
    files.push_back(o_.ssh_known_hosts);
  } else {
    const char* home = getenv("HOME");
    if (home != nullptr) files.push_back(std::string(home) + "/.ssh/known_hosts");
    files.push_back("/etc/ssh/ssh_known_hosts");
  }
  std::string out;
  for (const std::string& f : files) {
    if (access(f.c_str(), R_OK) != 0) continue;
    Result<ProcessResult> r = runner_->Run({"ssh-keygen", "-F", name, "-f", f}, 30);
    if (!r.ok()) return r.status();
    for (const std::string& line : Split(r->out, '\n')) {
      std::string l = Trim(line);
      if (l.empty() || l[0] == '#') continue;
      // Hashed entries stay hashed; ssh matches them by name.
      out += l + "\n";
    }
  }
  if (out.empty()) {
    return ::georep::Status(Code::kFailedPrecondition,
                            "no known host key for " + name + "; connect once with ssh as the admin to verify and "
                            "record it (host key checking is mandatory for sessions)");
  }
  return out;
}

int Cli::Status(const std::string& only_volume, const std::string& only_session, const std::string& display,
                bool detail) {
  is_status_ = true;
  std::vector<PeerLine> lines;
  std::vector<std::string> args;
  if (!only_session.empty()) args.push_back(KeyArg("name", only_session));
  if (std::string f = ExecuteAll("status", args, &lines); !f.empty()) return Fail(f);
  // Sessions as the local node knows them (all nodes hold the same ones).
  std::vector<std::string> names;
  std::map<std::string, KeyValues> confs;
  for (const PeerLine& pl : lines) {
    if (pl.kind != "session") continue;
    std::string n = pl.Get("name");
    if (confs.count(n)) continue;
    std::string text;
    KeyValues kv;
    if (ReadFile(SessionConfPath(o_.state_dir, n), &text)) kv = ParseKeyValues(text);
    else kv = pl.fields;  // known to another node only: show what it says
    if (!only_volume.empty() && Lookup(kv, "primary_volume") != only_volume) continue;
    names.push_back(n);
    confs[n] = kv;
  }
  std::sort(names.begin(), names.end());
  if (names.empty()) {
    if (!only_session.empty()) return Fail("No active georep sessions between " + display + ".");
    if (!only_volume.empty()) return Fail("No active georep sessions for " + only_volume + ".");
    return Fail("No active georep sessions");
  }
  std::vector<std::pair<std::string, std::vector<StatusRow>>> all;
  for (const std::string& n : names) {
    SessionView view;
    view.name = n;
    view.conf = confs[n];
    Result<VolumeInfo> vi = gluster_.Volume(Lookup(view.conf, "primary_volume"));
    if (vi.ok()) view.bricks = vi->bricks;
    std::vector<PeerLine> bricks;
    for (const PeerLine& pl : lines) {
      if (pl.kind == "brick" && pl.Get("session") == n) bricks.push_back(pl);
    }
    all.emplace_back(n, BuildStatusRows(view, bricks));
  }
  if (o_.xml) {
    out_ << FormatStatusXml(all, detail);
  } else if (o_.json) {
    out_ << FormatStatusJson(all, detail);
  } else {
    std::vector<StatusRow> rows;
    for (auto& [n, r] : all) rows.insert(rows.end(), r.begin(), r.end());
    out_ << FormatStatusTable(rows, detail) << "\n";
  }
  return 0;
}

int Cli::Create(const std::string& pvol, const Target& t, const CreateFlags& f) {
  const std::string name = SessionName(pvol, t);
  std::vector<std::string> warnings;
  auto skippable = [&](const std::string& msg) -> bool {
    // A check that force may skip: with force it becomes a warning.
    if (msg.empty()) return false;
    if (f.force) {
      warnings.push_back("Warning (skipped by force): " + msg);
      return false;
    }
    return true;
  };

  // 1. The primary volume.
  Result<VolumeInfo> pv = gluster_.Volume(pvol);
  if (!pv.ok()) {
    if (pv.status().code() == Code::kNotFound) return Fail("Primary volume " + pvol + " does not exist.");
    return Fail(pv.status().message());
  }
  if (!pv->started()) {
    return Fail("Primary volume " + pvol + " is not started (" + pv->status + "). Fix: gluster volume start " + pvol);
  }
  const std::string translator_option = pv->Option(kTranslatorOption);
  if (std::string m = TranslatorOptionConflict(pvol, translator_option); !m.empty()) return Fail(m);
  // 2. An existing session.
  std::string existing_text;
  bool exists = ReadFile(SessionConfPath(o_.state_dir, name), &existing_text);
  KeyValues existing = ParseKeyValues(existing_text);
  if (exists && !f.force) {
    return Fail("georep session between " + Between(pvol, t) + " is already created.");
  }
  if (exists && (Lookup(existing, "state") == "started" || Lookup(existing, "state") == "paused")) {
    return Fail("georep session between " + Between(pvol, t) + " is running; stop it before re-creating it.");
  }
  // 3. Every primary node answers.
  std::vector<PoolPeer> pool;
  if (std::string fail = ConnectedNodes(&pool); !fail.empty()) return Fail(fail);
  // Name nodes as the primary volume's bricks do (pool list calls the local
  // node "localhost").
  for (const Brick& b : pv->bricks) node_names_[b.node_uuid] = b.host;
  std::vector<std::string> primary_hosts;
  for (const Brick& b : pv->bricks) primary_hosts.push_back(b.host);
  for (const PoolPeer& p : pool) primary_hosts.push_back(p.hostname);
  // 4. The secondary volume, from the secondary's glusterd over TCP.
  if (ResolveHost(t.host).empty()) {
    return Fail("Cannot resolve the secondary host '" + t.host + "'. Fix: correct the name, or make it resolvable "
                "(DNS or /etc/hosts) on every primary node");
  }
  Result<VolumeInfo> sv = gluster_.Volume(t.volume, t.host);
  if (!sv.ok()) {
    if (sv.status().code() == Code::kNotFound) {
      return Fail("Secondary volume " + t.volume + " does not exist on " + t.host + ".");
    }
    return Fail("Unable to fetch the secondary volume details: " + sv.status().message());
  }
  if (!sv->started()) {
    return Fail("Secondary volume " + t.volume + " on " + t.host + " is not started (" + sv->status +
                "). Fix: gluster volume start " + t.volume + " on a secondary node");
  }
  if (sv->id == pv->id) {
    return Fail("Refused: " + t.Display() + " is the primary volume itself. Fix: name a volume of the secondary cluster");
  }

  // 5. The admin's SSH access to the secondary, and what the secondary says.
  DirectionFacts dir;
  dir.primary_volume = pvol;
  dir.secondary_host = t.host;
  dir.secondary_volume = t.volume;
  dir.primary_hosts = primary_hosts;
  dir.primary_read_only = pv->Option("features.read-only") == "on";
  std::vector<NodeClock> clocks;
  std::string keys_known_hosts;
  if (!f.no_verify) {
    long long sent = NowNs();
    Result<std::vector<PeerLine>> info = Remote(t, f.ssh_port, "info", {KeyArg("user", t.user)});
    long long received = NowNs();
    if (!info.ok()) return Fail(info.status().message());
    std::vector<NodeAccount> accounts;
    for (const PeerLine& pl : *info) {
      if (pl.kind == "session") {
        dir.secondary_sessions.push_back({pl.Get("name"), pl.Get("primary_volume"), pl.Get("secondary_host"),
                                          pl.Get("secondary_volume")});
      } else if (pl.kind == "clock") {
        clocks.push_back({t.host, ToInt(pl.Get("now_ns"), 0), pl.Get("ntp"), sent, received});
      } else if (pl.kind == "error") {
        return Fail("on " + t.host + ": " + pl.Get("msg"));
      }
    }
    // Host names differ between clusters (pnode1 vs 127.1.1.1): compare
    // addresses.
    std::set<std::string> ours;
    for (const std::string& h : primary_hosts) {
      for (const std::string& ip : ResolveHost(h)) ours.insert(ip);
    }
    for (SessionRef& sr : dir.secondary_sessions) {
      for (const std::string& ip : ResolveHost(sr.secondary_host)) {
        if (ours.count(ip)) sr.secondary_host = primary_hosts.empty() ? sr.secondary_host : primary_hosts[0];
      }
    }
    // 6. The direction guard (never skipped: replicating the wrong way
    // overwrites the data that was meant to be protected).
    if (std::string m = CheckDirection(dir); !m.empty()) return Fail(m);
    // 7. The account on every secondary node (all nodes need root's reach;
    // a non-root account can only speak for the host it logs in to).
    if (t.user == "root") {
      long long sent2 = NowNs();
      Result<std::vector<PeerLine>> acc = Remote(t, f.ssh_port, "cluster", {KeyArg("op", "account"), KeyArg("user", t.user)});
      Result<std::vector<PeerLine>> clk = Remote(t, f.ssh_port, "cluster", {KeyArg("op", "clock")});
      long long received2 = NowNs();
      if (!acc.ok()) return Fail(acc.status().message());
      if (!clk.ok()) return Fail(clk.status().message());
      // The secondary pool's own names for its nodes ("localhost" is the
      // host we logged in to).
      std::map<std::string, std::string> snames;
      for (const PeerLine& pl : *clk) {
        if (pl.kind == "peer") snames[pl.Get("uuid")] = pl.Get("hostname") == "localhost" ? t.host : pl.Get("hostname");
      }
      auto sname = [&](const std::string& uuid) { return snames.count(uuid) ? snames[uuid] : uuid; };
      clocks.clear();
      for (const PeerLine& pl : *clk) {
        if (pl.kind == "clock") clocks.push_back({sname(pl.node), ToInt(pl.Get("now_ns"), 0), pl.Get("ntp"), sent2, received2});
        if (pl.kind == "error") return Fail("on the secondary cluster: " + pl.Get("msg"));
      }
      for (const PeerLine& pl : *acc) {
        if (pl.kind == "account") {
          NodeAccount a;
          a.node = sname(pl.node);
          a.exists = pl.Get("exists") == "yes";
          if (a.exists) {
            a.uid = ToInt(pl.Get("uid"), -1);
            a.gid = ToInt(pl.Get("gid"), -1);
          }
          accounts.push_back(a);
        }
      }
    } else {
      for (const PeerLine& pl : *info) {
        if (pl.kind == "account") {
          NodeAccount a;
          a.node = t.host;
          a.exists = pl.Get("exists") == "yes";
          if (a.exists) {
            a.uid = ToInt(pl.Get("uid"), -1);
            a.gid = ToInt(pl.Get("gid"), -1);
          }
          accounts.push_back(a);
        }
      }
      warnings.push_back("Note: " + t.user + " is not root, so the account was checked on " + t.host +
                         " only; set_georep_pem_keys.sh checks it on every secondary node");
    }
    std::string acc_warning;
    std::string acc_fail = CheckAccounts(t.user, accounts, &acc_warning);
    if (!acc_warning.empty()) warnings.push_back(acc_warning);
    if (skippable(acc_fail)) return Fail(acc_fail);

    // 8. Empty and big enough, seen through gfapi.
    Result<VolumeUsage> su = ProbeVolume(t.host, t.volume, o_.gluster_log, kProbeTimeoutS);
    if (!su.ok()) return Fail("Cannot look into secondary volume " + t.volume + ": " + su.status().message());
    Result<VolumeUsage> pu = ProbeVolume(pv->bricks.empty() ? "localhost" : pv->bricks[0].host, pvol, o_.gluster_log,
                                         kProbeTimeoutS);
    if (!pu.ok()) return Fail("Cannot look into primary volume " + pvol + ": " + pu.status().message());
    dir.usage_known = true;
    dir.primary_empty = pu->root_entries.empty();
    dir.secondary_empty = su->root_entries.empty();
    if (std::string m = CheckDirection(dir); !m.empty()) return Fail(m);
    if (std::string m = CheckEmpty(t.volume, t.host, su->root_entries); skippable(m)) return Fail(m);
    if (std::string m = CheckRoom(t.volume, t.host, pu->used_bytes, su->avail_bytes); skippable(m)) return Fail(m);
  }

  // 9. Clocks of every primary node (and the secondary ones gathered above).
  {
    std::vector<PeerLine> lines;
    long long sent = NowNs();
    if (std::string fail = ExecuteAll("clock", {}, &lines); !fail.empty()) return Fail(fail);
    long long received = NowNs();
    for (const PeerLine& pl : lines) {
      if (pl.kind == "clock") clocks.push_back({NodeName(pl.node), ToInt(pl.Get("now_ns"), 0), pl.Get("ntp"), sent, received});
    }
    if (std::string m = CheckClocks(clocks, kMaxClockOffsetMs); skippable(m)) return Fail(m);
  }

  // 10. Every primary node has its replication key.
  std::vector<std::string> pubkeys;
  {
    std::vector<PeerLine> lines;
    if (std::string fail = ExecuteAll("keygen", {}, &lines); !fail.empty()) return Fail(fail);
    for (const PeerLine& pl : lines) {
      if (pl.kind == "pubkey") pubkeys.push_back(pl.Get("key"));
    }
  }
  // 11. The secondary's host keys for the session's known_hosts.
  Result<std::string> known = HostKeysFor(t, f.ssh_port);
  if (!known.ok()) return Fail(known.status().message());

  // 12. The translator file on every primary node: a brick whose graph names
  // a missing translator does not start, so the option is only set when all
  // nodes have it. Whether the running bricks already record decides the
  // restart notice below.
  std::vector<BrickJournal> journals;
  {
    std::vector<std::string> missing;
    if (std::string fail = ProbeJournals(*pv, &journals, &missing); !fail.empty()) {
      return Fail("Cannot check georep's translator on the primary nodes: " + fail);
    }
    if (!missing.empty()) {
      std::string nodes;
      for (const std::string& m : missing) nodes += (nodes.empty() ? "" : ", ") + m;
      return Fail("georep's translator is not installed on primary node(s) " + nodes +
                  "; bricks there could not load it. Fix: install the same georep on every primary node");
    }
  }

  for (const std::string& w : warnings) err_ << w << "\n";

  // 12. push-pem: the keys into the account's authorized_keys on the secondary.
  // The receiver command the session will send decides the key lines' fixed
  // values; one the gate would refuse fails here, before anything changes.
  const std::string receiver_command =
      exists && Has(existing, "receiver_command")
          ? Lookup(existing, "receiver_command")
          : (o_.receiver_command.empty() ? "georep-receiver" : o_.receiver_command);
  Result<std::string> gate = GateCommand(receiver_command);
  if (!gate.ok()) {
    return Fail(gate.status().message() +
                ". Fix: --receiver-command='[/path/]georep-receiver [--volfile-server HOST] [--log-file /abs/path] "
                "[--log-level LEVEL] [--idle-timeout S] [--apply-threads N] [--direct-io on|off]'");
  }
  std::string all_keys;
  for (const std::string& k : pubkeys) all_keys += k + "\n";
  if (f.push_pem) {
    Result<std::vector<PeerLine>> r =
        t.user == "root"
            ? Remote(t, f.ssh_port, "cluster",
                     {KeyArg("op", "install-keys"), KeyArg("user", t.user), KeyArg("keys", all_keys),
                      KeyArg("gate", *gate)})
            : Remote(t, f.ssh_port, "install-keys",
                     {KeyArg("user", t.user), KeyArg("keys", all_keys), KeyArg("gate", *gate),
                      KeyArg("drop", "georep_" + pvol + "_" + t.volume + ".pub")});
    if (!r.ok()) return Fail("push-pem failed: " + r.status().message());
    for (const PeerLine& pl : *r) {
      if (pl.kind == "error") return Fail("push-pem failed on " + pl.Get("hostname") + ": " + pl.Get("msg"));
    }
  }

  // 13. The session on every primary node; undone everywhere on any failure.
  KeyValues conf = exists ? existing : KeyValues{};
  SetValue(&conf, "primary_volume", pvol);
  SetValue(&conf, "secondary_host", t.host);
  SetValue(&conf, "secondary_user", t.user);
  SetValue(&conf, "secondary_volume", t.volume);
  SetValue(&conf, "ssh_port", std::to_string(f.ssh_port));
  if (!Has(conf, "receiver_command")) {
    SetValue(&conf, "receiver_command", o_.receiver_command.empty() ? "georep-receiver" : o_.receiver_command);
  }
  if (::georep::Status st = ValidateConfigValue("receiver_command", Lookup(conf, "receiver_command")); !st.ok()) {
    return Fail(st.message());
  }
  SetValue(&conf, "state", "created");
  SetValue(&conf, "checkpoint", "");
  auto rollback = [&]() {
    std::vector<PeerLine> ignored;
    (void)ExecuteAll("session-delete", {KeyArg("name", name), KeyArg("reset", exists ? "no" : "yes")}, &ignored);
  };
  if (std::string fail = WriteEverywhere(name, conf, exists ? "any" : "create", &*known); !fail.empty()) {
    rollback();
    return Fail("Cannot create the session: " + fail);
  }
  // 14. Every primary node reaches the secondary with its own key, through
  // the gate (never skipped: without it no worker can run).
  {
    std::vector<PeerLine> lines;
    if (std::string fail = ExecuteAll("check-ssh", {KeyArg("name", name)}, &lines); !fail.empty()) {
      rollback();
      return Fail("Primary node cannot reach " + t.user + "@" + t.host + " over SSH with its replication key: " + fail +
                  ". Fix: create with push-pem" +
                  (t.user == "root" ? "" : ", then run set_georep_pem_keys.sh " + t.user + " " + pvol + " " + t.volume +
                                               " as root on a secondary node"));
    }
  }
  // 15. Keep the secondary idle: only the receiver writes to it.
  bool read_only_set = false;
  if (t.user == "root" && !f.no_verify) {
    Result<std::vector<PeerLine>> r =
        Remote(t, f.ssh_port, "read-only", {KeyArg("volume", t.volume), KeyArg("value", "on")});
    std::string fail = !r.ok() ? r.status().message() : "";
    if (r.ok()) {
      for (const PeerLine& pl : *r) {
        if (pl.kind == "error") fail = pl.Get("msg");
      }
    }
    if (!fail.empty()) {
      rollback();
      return Fail("Cannot set features.read-only on secondary volume " + t.volume + ": " + fail);
    }
    read_only_set = sv->Option("features.read-only") != "on";
  } else {
    err_ << "Note: features.read-only is not set on " << t.volume << " by this command; "
         << (t.user == "root" ? "run `gluster volume set " + t.volume + " features.read-only on` on a secondary node"
                              : "set_georep_pem_keys.sh " + t.user + " " + pvol + " " + t.volume + " sets it")
         << "\n";
  }
  // 16. The journal writer joins the brick graph (effective at the volume's
  // next start). Last, because it cannot be undone alone: glusterd 10.3
  // refuses `volume reset <vol> user.xlator.georep` ("does not exist") and
  // only a reset of every option would remove it.
  bool translator_set = false;
  if (translator_option.empty()) {
    if (::georep::Status st = gluster_.VolumeSet(pvol, kTranslatorOption, kTranslatorPlacement); !st.ok()) {
      rollback();
      if (read_only_set) {
        Result<std::vector<PeerLine>> r =
            Remote(t, f.ssh_port, "read-only", {KeyArg("volume", t.volume), KeyArg("value", "off")});
        bool undone = r.ok();
        if (r.ok()) {
          for (const PeerLine& pl : *r) undone = undone && pl.kind != "error";
        }
        if (!undone) {
          err_ << "Note: features.read-only stays on for secondary volume " << t.volume << "; run `gluster volume set "
               << t.volume << " features.read-only off` on a secondary node\n";
        }
      }
      return Fail("Cannot add georep's translator to primary volume " + pvol + ": " + st.message());
    }
    translator_set = true;
  }
  out_ << "Creating georep session between " << Amp(pvol, t) << " has been successful\n";
  bool restart_needed = translator_set;
  for (const BrickJournal& j : journals) restart_needed = restart_needed || (j.online && !j.writer);
  if (translator_set) {
    out_ << kTranslatorOption << " set to " << kTranslatorPlacement << " on primary volume " << pvol << "\n";
  }
  if (restart_needed) out_ << RestartBeforeStartNotice(pvol, pvol + " " + t.Display());
  return 0;
}

int Cli::StateChange(const std::string& pvol, const Target& t, const std::string& verb, bool force) {
  KeyValues conf;
  std::string fail;
  if (!LoadSession(pvol, t, &conf, &fail)) return Fail(fail);
  std::string state = Lookup(conf, "state", "created");
  std::string next;
  if (verb == "start") {
    if (state == "started" && !force) return Fail("georep session between " + Between(pvol, t) + " already started.");
    if (state == "paused" && !force) {
      return Fail("georep session between " + Between(pvol, t) + " is paused; use resume.");
    }
    if (!force) {
      Result<VolumeInfo> pv = gluster_.Volume(pvol);
      if (!pv.ok()) return Fail(pv.status().message());
      if (!pv->started()) return Fail("Primary volume " + pvol + " is not started. Fix: gluster volume start " + pvol);
    }
    // Never skipped, not even by force: a brick without its journal writer
    // loses every change made on it, silently. Offline bricks pass with force.
    if (std::string m = CheckRecording(pvol, force); !m.empty()) return Fail(m);
    next = "started";
  } else if (verb == "stop") {
    if (state != "started" && state != "paused" && !force) {
      return Fail("georep session between " + Between(pvol, t) + " is not running.");
    }
    next = "stopped";
  } else if (verb == "pause") {
    if (state == "paused" && !force) return Fail("georep session between " + Between(pvol, t) + " already paused.");
    if (state != "started" && state != "paused") {
      return Fail("georep session between " + Between(pvol, t) + " is not running; start it first.");
    }
    next = "paused";
  } else {  // resume
    if (state != "paused" && !force) return Fail("georep session between " + Between(pvol, t) + " is not paused.");
    if (state != "paused" && state != "started") {
      return Fail("georep session between " + Between(pvol, t) + " is not running; start it first.");
    }
    // The journal keeps recording while paused, but a volume restarted
    // without the translator in the meantime would not: one probe, same rule
    // as start. Offline bricks only warn (the session was running already).
    if (std::string m = CheckRecording(pvol, true); !m.empty()) return Fail(m);
    next = "started";
  }
  SetValue(&conf, "state", next);
  if (std::string f = WriteEverywhere(SessionName(pvol, t), conf, "update", nullptr); !f.empty()) {
    return Fail("Cannot " + verb + " the session: " + f);
  }
  if (verb == "pause" || verb == "stop") {
    // Without this, pause and stop returned while a sender could still be
    // sending: a file written right after they came back could still be
    // replicated, and a stop followed by a delete or a volume stop could race
    // with a batch in flight.
    std::vector<std::string> active = WorkersStillActive(SessionName(pvol, t));
    if (!active.empty()) {
      err_ << "Warning: the " << verb << " is recorded on every node, but georepd has not confirmed it for:\n";
      for (const std::string& a : active) err_ << "  " << a << "\n";
      err_ << "Changes may still be sent until it does. Check that georepd runs on those nodes "
              "(systemctl status georepd) and see `georep "
           << pvol << " " << t.Display() << " status detail`.\n";
    }
  }
  static const std::map<std::string, std::string> kDone = {
      {"start", "Starting"}, {"stop", "Stopping"}, {"pause", "Pausing"}, {"resume", "Resuming"}};
  out_ << kDone.at(verb) << " georep session between " << Amp(pvol, t) << " has been successful\n";
  return 0;
}

int Cli::Config(const std::string& pvol, const Target& t, const std::vector<std::string>& args) {
  KeyValues conf;
  std::string fail;
  if (!LoadSession(pvol, t, &conf, &fail)) return Fail(fail);
  if (args.empty()) {
    for (const ConfigKey& k : ConfigKeys()) out_ << k.name << ":" << EffectiveValue(conf, k.name) << "\n";
    return 0;
  }
  if (args.size() == 2 && args[0] == "checkpoint" && args[1] == "now") return Checkpoint(pvol, t);
  if (args.size() > 2) return Usage();
  std::string key = args[0];
  bool reset = !key.empty() && key[0] == '!';
  if (reset) key = key.substr(1);
  const ConfigKey* k = FindConfigKey(key);
  if (k == nullptr) return Fail("Invalid config key '" + key + "'; `georep " + pvol + " " + t.Display() + " config` lists the valid keys.");
  if (args.size() == 1 && !reset) {
    out_ << EffectiveValue(conf, key) << "\n";
    return 0;
  }
  if (!k->settable) {
    return Fail("Config key '" + key + "' cannot be changed with config: " + k->description);
  }
  if (reset) {
    EraseKey(&conf, key);
  } else {
    if (::georep::Status st = ValidateConfigValue(key, args[1]); !st.ok()) return Fail(st.message());
    if (key == "receiver_command") {
      Result<std::string> gate = GateCommand(args[1]);
      if (!gate.ok()) return Fail(gate.status().message());
      if (Lookup(conf, key) != args[1]) {
        // The key lines on the secondary fixed the old command's receiver
        // path, --volfile-server and --log-file at push-pem.
        err_ << "Note: the secondary's key lines must match the new command (" << *gate
             << "); re-run create push-pem force on the stopped session if its receiver path, "
                "--volfile-server or --log-file changed.\n";
      }
    }
    SetValue(&conf, key, args[1]);
  }
  if (::georep::Status st = ValidateConfigSet(conf); !st.ok()) return Fail(st.message());
  if (std::string f = WriteEverywhere(SessionName(pvol, t), conf, "update", nullptr); !f.empty()) {
    return Fail("Cannot update the config: " + f);
  }
  out_ << "georep config updated successfully\n";
  return 0;
}

int Cli::Checkpoint(const std::string& pvol, const Target& t) {
  KeyValues conf;
  std::string fail;
  if (!LoadSession(pvol, t, &conf, &fail)) return Fail(fail);
  long long now = NowNs() / 1000000000LL;
  SetValue(&conf, "checkpoint", std::to_string(now));
  if (std::string f = WriteEverywhere(SessionName(pvol, t), conf, "update", nullptr); !f.empty()) {
    return Fail("Cannot set the checkpoint: " + f);
  }
  out_ << "georep config updated successfully (checkpoint " << FormatLocalTime(now) << ")\n";
  return 0;
}

int Cli::Delete(const std::string& pvol, const Target& t, bool reset) {
  KeyValues conf;
  std::string fail;
  if (!LoadSession(pvol, t, &conf, &fail)) return Fail(fail);
  std::string state = Lookup(conf, "state", "created");
  if (state == "started" || state == "paused") {
    return Fail("georep session between " + Between(pvol, t) + " is still active. Please stop the session and retry.");
  }
  if (!o_.script && isatty(0)) {
    err_ << "Deleting the georep session between " << Amp(pvol, t) << (reset ? " and its sync positions" : "")
         << ". Do you want to continue? (y/n) ";
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y") return Fail("Deletion aborted.");
  }
  std::vector<PeerLine> lines;
  if (std::string f = ExecuteAll("session-delete", {KeyArg("name", SessionName(pvol, t)), KeyArg("reset", reset ? "yes" : "no")}, &lines);
      !f.empty()) {
    return Fail("Cannot delete the session: " + f);
  }
  out_ << "Deleting georep session between " << Amp(pvol, t) << " has been successful\n";
  // The secondary's protection is lifted explicitly, or the admin is told how.
  std::string user = Lookup(conf, "secondary_user", "root");
  int port = static_cast<int>(ToInt(Lookup(conf, "ssh_port", "22"), 22));
  std::string why;
  if (user == "root") {
    Target admin = t;
    admin.user = "root";
    Result<std::vector<PeerLine>> r = Remote(admin, port, "read-only", {KeyArg("volume", t.volume), KeyArg("value", "off")});
    if (!r.ok()) why = r.status().message();
    else for (const PeerLine& pl : *r) if (pl.kind == "error") why = pl.Get("msg");
  } else {
    why = "the session's account " + user + " cannot change volume options";
  }
  if (why.empty()) {
    out_ << "features.read-only turned off on secondary volume " << t.volume << " (it now accepts writes from any client)\n";
  } else {
    err_ << "Note: features.read-only is still on for secondary volume " << t.volume << " on " << t.host << " (" << why
         << "); run `gluster volume set " << t.volume << " features.read-only off` on a secondary node when it "
         << "should accept writes\n";
  }
  return 0;
}

int Cli::Run() {
  const auto& w = words_;
  if (w.empty()) return Usage();
  if (w[0] == "status") {
    if (w.size() > 2 || (w.size() == 2 && w[1] != "detail")) return Usage();
    return Status("", "", "", w.size() == 2);
  }
  if (w[0] == "help" || w[0] == "--help") {
    out_ << UsageText();
    return 0;
  }
  if (!IsValidVolumeName(w[0])) return Fail("Invalid primary volume name '" + w[0] + "'.");
  if (w.size() >= 2 && w[1] == "status") {
    if (w.size() > 3 || (w.size() == 3 && w[2] != "detail")) return Usage();
    return Status(w[0], "", "", w.size() == 3);
  }
  if (w.size() < 3) return Usage();
  Result<Target> t = ParseTarget(w[1]);
  if (!t.ok()) return Fail(t.status().message());
  const std::string& pvol = w[0];
  const std::string& verb = w[2];
  std::vector<std::string> rest(w.begin() + 3, w.end());
  if (verb == "create") {
    Result<CreateFlags> f = ParseCreateFlags(rest);
    if (!f.ok()) {
      err_ << f.status().message() << "\n";
      return Usage();
    }
    return Create(pvol, *t, *f);
  }
  if (verb == "start" || verb == "stop" || verb == "pause" || verb == "resume") {
    if (rest.size() > 1 || (rest.size() == 1 && rest[0] != "force")) return Usage();
    return StateChange(pvol, *t, verb, rest.size() == 1);
  }
  if (verb == "status") {
    if (rest.size() > 1 || (rest.size() == 1 && rest[0] != "detail")) return Usage();
    return Status(pvol, SessionName(pvol, *t), Between(pvol, *t), rest.size() == 1);
  }
  if (verb == "config") return Config(pvol, *t, rest);
  if (verb == "checkpoint") {
    if (rest.size() != 1 || rest[0] != "now") return Usage();
    return Checkpoint(pvol, *t);
  }
  if (verb == "delete") {
    if (rest.size() > 1 || (rest.size() == 1 && rest[0] != "reset-sync-time")) return Usage();
    return Delete(pvol, *t, rest.size() == 1);
  }
  return Usage();
}

}  // namespace

Result<Invocation> ParseInvocation(const std::vector<std::string>& args) {
  Invocation inv;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!StartsWith(a, "--")) {
      inv.words.push_back(a);
      continue;
    }
    std::string key = a, value;
    size_t eq = a.find('=');
    bool has_value = eq != std::string::npos;
    if (has_value) {
      key = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    auto take = [&](std::string* dst) -> bool {
      if (!has_value) {
        if (i + 1 >= args.size()) return false;
        value = args[++i];
      }
      *dst = value;
      return !value.empty();
    };
    bool ok = true;
    if (key == "--xml") inv.options.xml = true;
    else if (key == "--json") inv.options.json = true;
    else if (key == "--mode") {
      std::string m;
      ok = take(&m) && m == "script";
      inv.options.script = ok;
    } else if (key == "--state-dir") ok = take(&inv.options.state_dir);
    else if (key == "--glusterd-sock") ok = take(&inv.options.glusterd_sock);
    else if (key == "--log-file") ok = take(&inv.options.gluster_log);
    else if (key == "--ssh-identity") ok = take(&inv.options.ssh_identity);
    else if (key == "--ssh-known-hosts") ok = take(&inv.options.ssh_known_hosts);
    else if (key == "--receiver-command") ok = take(&inv.options.receiver_command);
    else if (key == "--help") inv.words.push_back("help");
    else return Status(Code::kInvalidArgument, "unrecognized option " + a);
    if (!ok) return Status(Code::kInvalidArgument, "option " + key + " needs a valid value");
  }
  if (inv.options.xml && inv.options.json) return Status(Code::kInvalidArgument, "--xml and --json exclude each other");
  return inv;
}

Result<CreateFlags> ParseCreateFlags(const std::vector<std::string>& words) {
  CreateFlags f;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "push-pem") f.push_pem = true;
    else if (w == "no-verify") f.no_verify = true;
    else if (w == "force") f.force = true;
    else if (w == "ssh-port") {
      if (i + 1 >= words.size() || ToInt(words[i + 1], 0) < 1 || ToInt(words[i + 1], 0) > 65535) {
        return Status(Code::kInvalidArgument, "ssh-port needs a port number between 1 and 65535");
      }
      f.ssh_port = static_cast<int>(ToInt(words[++i], 22));
    } else {
      return Status(Code::kInvalidArgument, "unknown create option '" + w + "'");
    }
  }
  if (f.push_pem && f.no_verify) {
    return Status(Code::kInvalidArgument, "push-pem and no-verify exclude each other (no-verify means the keys are in place)");
  }
  return f;
}

std::string ToolSubcommand(const std::vector<std::string>& args) {
  if (args.empty() || (args[0] != "verify" && args[0] != "journal")) return "";
  // A primary volume may be called "verify" or "journal": the session
  // grammar's second word is then "status" or a <host>::<volume> target.
  if (args.size() > 1 && (args[1] == "status" || args[1].find("::") != std::string::npos)) return "";
  return args[0];
}

std::string UsageText() {
  return "Usage:\n"
         "georep status [detail]\n"
         "georep <primary-vol> status [detail]\n"
         "georep <primary-vol> [<user>@]<host>::<secondary-vol> create [push-pem|no-verify] [force] [ssh-port <port>]\n"
         "georep <primary-vol> [<user>@]<host>::<secondary-vol> {start|stop|pause|resume} [force]\n"
         "georep <primary-vol> [<user>@]<host>::<secondary-vol> status [detail]\n"
         "georep <primary-vol> [<user>@]<host>::<secondary-vol> config [<key> [<value>]]\n"
         "georep <primary-vol> [<user>@]<host>::<secondary-vol> config '!<key>'\n"
         "georep <primary-vol> [<user>@]<host>::<secondary-vol> checkpoint now\n"
         "georep <primary-vol> [<user>@]<host>::<secondary-vol> delete [reset-sync-time]\n"
         "georep verify [options] <primary-vol> [<user>@]<host>::<secondary-vol>   (georep verify --help)\n"
         "georep journal dump <brick-path> [--from SEQ] [--follow] [--json]\n"
         "georep journal consumers <brick-path>\n"
         "Options: --mode=script --xml --json --state-dir=DIR --glusterd-sock=PATH --log-file=PATH\n"
         "         --ssh-identity=KEY --ssh-known-hosts=FILE --receiver-command=PATH\n";
}

int RunCli(const Invocation& inv, Runner* runner, std::ostream& out, std::ostream& err) {
  // Two admins changing sessions from this node at once would interleave
  // their read-modify-write of session.conf: one command at a time per node.
  // (Each write reaches all nodes under glusterd's cluster lock; commands
  // started on different nodes at the same moment are not serialised.)
  std::string state_dir = inv.options.state_dir.empty() ? DefaultStateDir() : inv.options.state_dir;
  const std::vector<std::string>& w = inv.words;
  bool changes = false;
  if (w.size() >= 3) {
    const std::string& verb = w[2];
    changes = verb == "create" || verb == "start" || verb == "stop" || verb == "pause" || verb == "resume" ||
              verb == "checkpoint" || verb == "delete" ||
              (verb == "config" && (w.size() >= 5 || (w.size() == 4 && !w[3].empty() && w[3][0] == '!')));
  }
  int lock_fd = -1;
  if (changes && access(state_dir.c_str(), W_OK) == 0) {
    std::string path = state_dir + "/.cli.lock";
    lock_fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    constexpr int kLockWaitTenths = 300;  // 30 s
    int tries = 0;
    while (lock_fd >= 0 && flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      if (++tries > kLockWaitTenths) {
        err << "Another georep command is running on this node (" << path << " is locked); retry when it ends\n"
            << kFailed << "\n";
        close(lock_fd);
        return 1;
      }
      usleep(100 * 1000);
    }
  }
  Cli cli(inv, runner, out, err);
  int rc = cli.Run();
  if (lock_fd >= 0) close(lock_fd);
  return rc;
}

}  // namespace georep::cli

#include "sync/cli/gluster.h"

#include <unistd.h>

#include <cstring>
#include <sstream>

namespace georep::cli {

namespace {

constexpr int kGlusterTimeoutS = 120;       // gluster's own CLI timeout is 120 s
constexpr int kRemoteQueryTimeoutS = 30;    // a read-only query of another cluster's glusterd
constexpr int kBusyRetries = 10;            // "Another transaction is in progress"
constexpr useconds_t kBusyRetryDelayUs = 500 * 1000;

std::string XmlUnescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    static const std::pair<const char*, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool done = false;
    for (const auto& [ent, ch] : kEntities) {
      if (s.substr(i).substr(0, strlen(ent)) == ent) {
        out.push_back(ch);
        i += strlen(ent) - 1;
        done = true;
        break;
      }
    }
    if (!done) out.push_back('&');
  }
  return out;
}

// Text of the first <tag>...</tag> in `xml` (leaf elements only), unescaped.
// `<tag/>` gives "".
bool XmlText(std::string_view xml, const std::string& tag, std::string* out, size_t from = 0) {
  std::string open = "<" + tag + ">";
  std::string empty = "<" + tag + "/>";
  size_t p = xml.find(open, from);
  size_t pe = xml.find(empty, from);
  if (pe != std::string_view::npos && (p == std::string_view::npos || pe < p)) {
    out->clear();
    return true;
  }
  if (p == std::string_view::npos) return false;
  size_t start = p + open.size();
  size_t end = xml.find("</" + tag + ">", start);
  if (end == std::string_view::npos) return false;
  *out = XmlUnescape(xml.substr(start, end - start));
  return true;
}

// Every <tag ...>...</tag> block (not nested in itself).
std::vector<std::string_view> XmlBlocks(std::string_view xml, const std::string& tag) {
  std::vector<std::string_view> blocks;
  std::string close = "</" + tag + ">";
  size_t pos = 0;
  while (true) {
    size_t p = xml.find("<" + tag, pos);
    if (p == std::string_view::npos) break;
    char next = p + tag.size() + 1 < xml.size() ? xml[p + tag.size() + 1] : '\0';
    if (next != '>' && next != ' ') {
      pos = p + 1;
      continue;
    }
    size_t e = xml.find(close, p);
    if (e == std::string_view::npos) break;
    blocks.push_back(xml.substr(p, e + close.size() - p));
    pos = e + close.size();
  }
  return blocks;
}

}  // namespace

Result<VolumeInfo> ParseVolumeInfoXml(const std::string& xml, const std::string& volume) {
  std::string op_ret, errstr;
  if (!XmlText(xml, "opRet", &op_ret)) {
    return Status(Code::kIOError, "unexpected answer from glusterd to 'volume info " + volume + "'");
  }
  if (op_ret != "0") {
    XmlText(xml, "opErrstr", &errstr);
    if (errstr.find("does not exist") != std::string::npos) {
      return Status(Code::kNotFound, "Volume " + volume + " does not exist");
    }
    return Status(Code::kIOError, "volume info " + volume + " failed: " + errstr);
  }
  for (std::string_view vol : XmlBlocks(xml, "volume")) {
    VolumeInfo v;
    XmlText(vol, "name", &v.name);
    if (v.name != volume) continue;
    XmlText(vol, "id", &v.id);
    XmlText(vol, "statusStr", &v.status);
    XmlText(vol, "typeStr", &v.type);
    for (std::string_view b : XmlBlocks(vol, "brick")) {
      Brick brick;
      std::string name;
      XmlText(b, "name", &name);
      XmlText(b, "hostUuid", &brick.node_uuid);
      size_t colon = name.find(":/");
      if (colon == std::string::npos) continue;
      brick.host = name.substr(0, colon);
      brick.path = name.substr(colon + 1);
      v.bricks.push_back(brick);
    }
    for (std::string_view o : XmlBlocks(vol, "option")) {
      std::string k, val;
      if (XmlText(o, "name", &k) && XmlText(o, "value", &val)) v.options[k] = val;
    }
    return v;
  }
  return Status(Code::kNotFound, "Volume " + volume + " does not exist");
}

Result<std::map<std::string, bool>> ParseVolumeStatusXml(const std::string& xml, const std::string& volume) {
  std::map<std::string, bool> online;
  std::string op_ret, errstr;
  if (!XmlText(xml, "opRet", &op_ret)) {
    return Status(Code::kIOError, "unexpected answer from glusterd to 'volume status " + volume + "'");
  }
  if (op_ret != "0") {
    XmlText(xml, "opErrstr", &errstr);
    if (errstr.find("is not started") != std::string::npos) return online;
    if (errstr.find("does not exist") != std::string::npos) {
      return Status(Code::kNotFound, "Volume " + volume + " does not exist");
    }
    return Status(Code::kIOError, "volume status " + volume + " failed: " + errstr);
  }
  for (std::string_view vol : XmlBlocks(xml, "volume")) {
    std::string name;
    if (!XmlText(vol, "volName", &name) || name != volume) continue;
    for (std::string_view node : XmlBlocks(vol, "node")) {
      std::string host, path, status;
      // Self-heal and NFS daemons are listed as nodes too, with a host name
      // as their path.
      if (!XmlText(node, "hostname", &host) || !XmlText(node, "path", &path) || path.empty() || path[0] != '/') {
        continue;
      }
      XmlText(node, "status", &status);
      online[host + ":" + path] = status == "1";
    }
  }
  return online;
}

std::vector<PoolPeer> ParsePoolList(const std::string& text) {
  std::vector<PoolPeer> peers;
  for (const std::string& line : Split(text, '\n')) {
    std::istringstream in(line);
    PoolPeer p;
    std::string state;
    if (!(in >> p.uuid >> p.hostname >> state)) continue;
    if (p.uuid == "UUID" || p.uuid.size() != 36) continue;
    p.connected = state == "Connected";
    peers.push_back(p);
  }
  return peers;
}

std::vector<std::string> ConnectedUuids(const std::vector<PoolPeer>& pool) {
  std::vector<std::string> out;
  for (const PoolPeer& p : pool) {
    if (p.connected) out.push_back(p.uuid);
  }
  return out;
}

std::string FormatPeerLine(const std::string& node, const std::string& kind, const KeyValues& fields) {
  std::string line = std::string(kPeerLineMagic) + " " + PercentEncode(node) + " " + kind;
  for (const auto& [k, v] : fields) line += " " + KeyArg(k, v);
  return line;
}

std::vector<PeerLine> ParsePeerLines(const std::string& text) {
  std::vector<PeerLine> lines;
  for (const std::string& raw : Split(text, '\n')) {
    std::vector<std::string> words;
    for (const std::string& w : Split(Trim(raw), ' ')) {
      if (!w.empty()) words.push_back(w);
    }
    if (words.size() < 3 || words[0] != kPeerLineMagic) continue;
    PeerLine pl;
    if (!PercentDecode(words[1], &pl.node)) continue;
    pl.kind = words[2];
    bool ok = true;
    for (size_t i = 3; i < words.size(); ++i) {
      size_t eq = words[i].find('=');
      std::string value;
      if (eq == std::string::npos || !PercentDecode(words[i].substr(eq + 1), &value)) {
        ok = false;
        break;
      }
      pl.fields.emplace_back(words[i].substr(0, eq), value);
    }
    if (ok) lines.push_back(std::move(pl));
  }
  return lines;
}

std::vector<std::string> Gluster::BaseArgv() const {
  std::vector<std::string> argv = {"gluster", "--mode=script"};
  if (!sock_.empty()) argv.push_back("--glusterd-sock=" + sock_);
  if (!log_file_.empty()) argv.push_back("--log-file=" + log_file_);
  return argv;
}

Result<ProcessResult> Gluster::RunGluster(const std::vector<std::string>& args, int timeout_s) {
  std::vector<std::string> argv = BaseArgv();
  // gluster ignores --remote-host when a socket is named: drop the socket.
  bool remote = !args.empty() && StartsWith(args[0], "--remote-host=");
  if (remote) {
    std::erase_if(argv, [](const std::string& a) { return StartsWith(a, "--glusterd-sock="); });
  }
  argv.insert(argv.end(), args.begin(), args.end());
  for (int attempt = 0;; ++attempt) {
    Result<ProcessResult> r = runner_->Run(argv, timeout_s);
    if (!r.ok()) return r.status();
    std::string all = r->out + r->err;
    bool busy = all.find("Another transaction is in progress") != std::string::npos ||
                all.find("Locking failed") != std::string::npos;
    if (!busy || attempt + 1 >= kBusyRetries) return r;
    usleep(kBusyRetryDelayUs);
  }
}

Result<VolumeInfo> Gluster::Volume(const std::string& volume, const std::string& remote_host) {
  std::vector<std::string> args;
  if (!remote_host.empty()) args.push_back("--remote-host=" + remote_host);
  args.insert(args.end(), {"--xml", "volume", "info", volume});
  Result<ProcessResult> r = RunGluster(args, remote_host.empty() ? kGlusterTimeoutS : kRemoteQueryTimeoutS);
  if (!r.ok()) return r.status();
  if (r->timed_out || (r->out.find("<opRet>") == std::string::npos)) {
    std::string where = remote_host.empty() ? "the local glusterd" : "glusterd on " + remote_host;
    std::string detail = Trim(r->err + r->out);
    return Status(Code::kUnavailable,
                  "cannot query " + where + (detail.empty() ? "" : " (" + detail + ")") +
                      "; check that glusterd runs there and that TCP port 24007 is reachable");
  }
  return ParseVolumeInfoXml(r->out, volume);
}

Result<std::vector<PoolPeer>> Gluster::Pool(const std::string& remote_host) {
  std::vector<std::string> args;
  if (!remote_host.empty()) args.push_back("--remote-host=" + remote_host);
  args.insert(args.end(), {"pool", "list"});
  Result<ProcessResult> r = RunGluster(args, kGlusterTimeoutS);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return Status(Code::kUnavailable, "gluster pool list failed: " + Trim(r->err + r->out));
  }
  return ParsePoolList(r->out);
}

Result<std::vector<PeerLine>> Gluster::Execute(const std::string& op, const std::vector<std::string>& args) {
  std::vector<std::string> a = {"system::", "execute", "georep", op};
  a.insert(a.end(), args.begin(), args.end());
  Result<ProcessResult> r = RunGluster(a, kGlusterTimeoutS);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    std::string detail = Trim(r->err + r->out);
    if (detail.find("peer_georep command not found") != std::string::npos) {
      return Status(Code::kFailedPrecondition,
                    "the georep node helper is not installed on every node (" + detail +
                        "); install georep on all nodes of the cluster");
    }
    return Status(Code::kUnavailable, "gluster system:: execute georep " + op + " failed: " + detail);
  }
  return ParsePeerLines(r->out);
}

Status Gluster::VolumeSet(const std::string& volume, const std::string& key, const std::string& value) {
  Result<ProcessResult> r = RunGluster({"volume", "set", volume, key, value}, kGlusterTimeoutS);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return Status(Code::kIOError, "gluster volume set " + volume + " " + key + " " + value +
                                      " failed: " + Trim(r->err + r->out));
  }
  return Status::Ok();
}

Result<std::map<std::string, bool>> Gluster::BricksOnline(const std::string& volume) {
  Result<ProcessResult> r = RunGluster({"--xml", "volume", "status", volume}, kGlusterTimeoutS);
  if (!r.ok()) return r.status();
  if (r->timed_out || r->out.find("<opRet>") == std::string::npos) {
    return Status(Code::kUnavailable, "cannot query the local glusterd for the status of " + volume + " (" +
                                          Trim(r->err + r->out) + ")");
  }
  return ParseVolumeStatusXml(r->out, volume);
}

}  // namespace georep::cli

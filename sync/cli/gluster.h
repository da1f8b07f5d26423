// What the CLI asks glusterd, and how it reaches every node of a cluster.
//
// Acting on all primary nodes: glusterd's `gluster system:: execute <cmd>`
// runs <glusterd-libexec>/peer_<cmd> on every connected peer of the trusted
// pool (the mechanism GlusterFS's geo-replication uses for gsec_create) and
// returns the lines each one printed on stdout, concatenated. georep installs
// its node helper there as `peer_georep`; each line it prints starts with
// "GEOREP1 <node-uuid> <kind>" so that the CLI knows which node said what.
// The helper always exits 0 and reports failures as lines: glusterd turns a
// non-zero exit on any node into one opaque error for the whole command.
//
// Reading the secondary cluster: glusterd answers read-only queries (volume
// info, volume status, pool list) over TCP to any client (`gluster
// --remote-host`), as GlusterFS's own gverify.sh does; nothing else is
// allowed that way, so writes on the secondary go through SSH.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "sync/cli/process.h"
#include "sync/cli/text_util.h"

namespace georep::cli {

struct Brick {
  std::string host;
  std::string path;
  std::string node_uuid;
  std::string Name() const { return host + ":" + path; }
};

struct VolumeInfo {
  std::string name;
  std::string id;
  std::string status;  // "Started", "Stopped", "Created"
  std::string type;
  std::vector<Brick> bricks;
  std::map<std::string, std::string> options;
  bool started() const { return status == "Started"; }
  std::string Option(const std::string& key) const {
    auto it = options.find(key);
    return it == options.end() ? "" : it->second;
  }
};

// Parses `gluster --xml volume info <vol>`. kNotFound when glusterd says the
// volume does not exist.
Result<VolumeInfo> ParseVolumeInfoXml(const std::string& xml, const std::string& volume);

// Whether each brick ("host:path") of `volume` is online, from `gluster
// --xml volume status <vol>`. A volume that is not started has no online
// brick (empty map); kNotFound when the volume does not exist.
Result<std::map<std::string, bool>> ParseVolumeStatusXml(const std::string& xml, const std::string& volume);

struct PoolPeer {
  std::string uuid;
  std::string hostname;  // "localhost" for the node answering
  bool connected = false;
};
// Parses `gluster pool list` (text form).
std::vector<PoolPeer> ParsePoolList(const std::string& text);

// One line printed by peer_georep: "GEOREP1 <node> <kind> k=v k=v ...".
struct PeerLine {
  std::string node;
  std::string kind;
  KeyValues fields;
  std::string Get(const std::string& key) const { return Lookup(fields, key); }
};
constexpr const char* kPeerLineMagic = "GEOREP1";
std::string FormatPeerLine(const std::string& node, const std::string& kind, const KeyValues& fields);
// Lines not starting with the magic (glusterd chatter) are skipped.
std::vector<PeerLine> ParsePeerLines(const std::string& text);

class Gluster {
 public:
  // `glusterd_sock` empty: gluster's default socket.
  Gluster(Runner* runner, std::string glusterd_sock, std::string log_file)
      : runner_(runner), sock_(std::move(glusterd_sock)), log_file_(std::move(log_file)) {}

  // Local glusterd, or the glusterd of `remote_host` over TCP when given.
  Result<VolumeInfo> Volume(const std::string& volume, const std::string& remote_host = "");
  Result<std::vector<PoolPeer>> Pool(const std::string& remote_host = "");
  // Runs peer_georep <op> <args> on every node of the local pool.
  Result<std::vector<PeerLine>> Execute(const std::string& op, const std::vector<std::string>& args);
  // `gluster volume set <vol> <key> <value>` on the local glusterd.
  Status VolumeSet(const std::string& volume, const std::string& key, const std::string& value);
  // Online state of each brick ("host:path"), see ParseVolumeStatusXml.
  Result<std::map<std::string, bool>> BricksOnline(const std::string& volume);

  std::vector<std::string> BaseArgv() const;

 private:
  Result<ProcessResult> RunGluster(const std::vector<std::string>& args, int timeout_s);

  Runner* runner_;
  std::string sock_;
  std::string log_file_;
};

// The UUID of every pool member that is connected (for checking that all
// nodes answered an Execute), with "localhost" resolved to `local_uuid`.
std::vector<std::string> ConnectedUuids(const std::vector<PoolPeer>& pool);

}  // namespace georep::cli

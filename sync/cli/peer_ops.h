// peer_georep: the helper glusterd runs on every node for `gluster system::
// execute georep <op> k=v ...`, and that the CLI runs on the secondary host
// over SSH (`peer_georep remote <op> ...`). It is also the forced command of
// the replication keys on the secondary (`peer_georep gate`).
//
// Node operations print PeerLine records (gluster.h) and always exit 0; a
// failure is a line of kind "error" with a msg= field naming cause and fix.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sync/cli/text_util.h"

namespace georep::cli {

struct NodeContext {
  std::string state_dir;
  std::string node;      // glusterd UUID, or the host name when unknown
  std::string hostname;
  // Path of the forced command written into authorized_keys lines.
  std::string gate_path;
};

// The arguments after the op name, "k=v" with percent-encoded values.
// Returns false on a malformed argument.
bool ParsePeerArgs(const std::vector<std::string>& args, std::map<std::string, std::string>* out);

// Runs one node operation and returns the lines to print.
std::string RunNodeOp(const NodeContext& ctx, const std::string& op,
                      const std::map<std::string, std::string>& args);

// The authorized_keys line that lets one primary node's public key run only
// the receiver gate: no shell, no pty, no forwarding of any kind.
// `gate_command` is "<peer_georep path> gate [receiver=<absolute path>]".
std::string AuthorizedKeyLine(const std::string& gate_command, const std::string& pubkey_line);
// Adds `pubkey_lines` (one per primary node) to `existing` authorized_keys
// text: a key already present is replaced by the restricted line, other lines
// are kept untouched. Returns the new text.
std::string MergeAuthorizedKeys(const std::string& existing, const std::string& gate_command,
                                const std::vector<std::string>& pubkey_lines);

// The forced command: checks SSH_ORIGINAL_COMMAND and execs the receiver, or
// answers the CLI's reachability probe. Returns an exit code when it does not
// exec.
int RunGate(const std::string& original_command, const std::string& receiver_path);
// Splits the requested command into words and checks it: the first word must
// be georep-receiver (any directory), the rest plain words without shell
// syntax. Returns false with `why` set otherwise.
bool ParseGateCommand(const std::string& original_command, std::vector<std::string>* words,
                      std::string* why);

// The text printed for `clock`: CLOCK_REALTIME in ns and the kernel's NTP
// state (adjtimex: synced, unsynced).
KeyValues ClockFields();

// Entry point of peer_georep (argv without the program name).
int PeerMain(const std::vector<std::string>& args);

}  // namespace georep::cli

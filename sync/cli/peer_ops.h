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
// `gate_command` is GateCommandLine(...).
std::string AuthorizedKeyLine(const std::string& gate_command, const std::string& pubkey_line);
// Adds `pubkey_lines` (one per primary node) to `existing` authorized_keys
// text: a key already present is replaced by the restricted line, other lines
// are kept untouched. Returns the new text.
std::string MergeAuthorizedKeys(const std::string& existing, const std::string& gate_command,
                                const std::vector<std::string>& pubkey_lines);

// What the secondary fixed in a key line: `peer_georep gate [receiver=PATH]
// [volfile-server=HOST] [log-file=PATH]`. The primary that holds the key can
// choose none of these: a compromised primary must not pick which glusterd's
// volfile is mounted (another cluster) nor a file the account appends to.
struct GatePolicy {
  std::string receiver;        // absolute path; empty: the packaged georep-receiver
  std::string volfile_server;  // empty: --volfile-server is refused
  std::string log_file;        // empty: --log-file is refused, the receiver logs to stderr
};

// Parses the words after `gate` in the key line. Returns false with `why`
// set for an unknown word or an unsafe value (the line is shell-parsed by
// sshd, so values are limited to [A-Za-z0-9._/:@+-]).
bool ParseGatePolicy(const std::vector<std::string>& gate_args, GatePolicy* policy, std::string* why);
// The key line's command for `policy`: "<helper> gate [k=v ...]".
std::string GateCommandLine(const std::string& helper_path, const GatePolicy& policy);
// The policy that lets `receiver_command` (session.conf's receiver_command,
// without --volume) through the gate: its absolute first word, and its
// --volfile-server and --log-file values, become fixed in the key line.
// Returns false with `why` when the command could never pass the gate.
bool GatePolicyForReceiverCommand(const std::string& receiver_command, GatePolicy* policy, std::string* why);

// Checks the receiver's arguments as the primary sent them (`words` from
// ParseGateCommand, words[0] being georep-receiver) against the whitelist:
// --volume NAME (required, once), --log-level debug|info|warning|error,
// --idle-timeout SECONDS, --apply-threads 1-64, --direct-io on|off, and
// --volfile-server / --log-file only with the policy's value. Both
// `--opt value` and `--opt=value` are accepted. Fills `receiver_args` (argv
// after the program name, with the policy's --volfile-server and --log-file
// always added) or returns false with `why`
// naming the option and the reason.
bool CheckReceiverArgs(const std::vector<std::string>& words, const GatePolicy& policy,
                       std::vector<std::string>* receiver_args, std::string* why);

// The forced command: checks SSH_ORIGINAL_COMMAND and execs the receiver, or
// answers the CLI's reachability probe. Returns an exit code when it does not
// exec.
int RunGate(const std::string& original_command, const GatePolicy& policy);
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

// The `georep` command line: GlusterFS's geo-replication grammar, executed
// against glusterd (every primary node through peer_georep) and the secondary
// (glusterd over TCP for reads, SSH for the rest).
//
//   georep status [detail]
//   georep <primary-vol> status [detail]
//   georep <primary-vol> [<user>@]<host>::<secondary-vol> <verb> ...
//
// Exit codes follow GlusterFS's CLI: 0 success, 1 failure (with the message on
// stderr and "georep command failed"), 1 for a usage error with the usage.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "common/status.h"
#include "sync/cli/process.h"

namespace georep::cli {

struct GlobalOptions {
  std::string state_dir;        // --state-dir (default: GEOREP_STATE_DIR or /var/lib/georep)
  std::string glusterd_sock;    // --glusterd-sock, passed to gluster
  std::string gluster_log;      // --log-file, passed to gluster
  std::string ssh_identity;     // --ssh-identity: the admin's key for the secondary
  std::string ssh_known_hosts;  // --ssh-known-hosts: the admin's known_hosts
  std::string receiver_command; // --receiver-command: receiver path on the secondary for new sessions
  bool script = false;          // --mode=script: never prompt
  bool xml = false;
  bool json = false;
};

struct Invocation {
  GlobalOptions options;
  std::vector<std::string> words;  // everything that is not a --option
};

// Splits argv (without the program name) into global options and words.
Result<Invocation> ParseInvocation(const std::vector<std::string>& args);

// What a verb line asks for; parsed before anything is contacted.
struct CreateFlags {
  bool push_pem = false;
  bool no_verify = false;
  bool force = false;
  int ssh_port = 22;
};
Result<CreateFlags> ParseCreateFlags(const std::vector<std::string>& words);

std::string UsageText();
// "verify" or "journal" when the command line is `georep verify ...` or
// `georep journal ...` (dispatched whole to georep-verify's and
// georep-journal's code), "" for the session grammar.
std::string ToolSubcommand(const std::vector<std::string>& args);

// Runs one invocation; returns the exit code.
int RunCli(const Invocation& inv, Runner* runner, std::ostream& out, std::ostream& err);

}  // namespace georep::cli

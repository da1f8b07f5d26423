// georep-sshkey generate: creates the replication key pair on every primary
// node (kept if it exists) and gathers the public keys into
// <state-dir>/keys/common_secret.pem.pub on this node, like GlusterFS's
// gluster-georep-sshkey.
#include <iostream>
#include <string>
#include <vector>

#include "sync/cli/gluster.h"
#include "sync/cli/paths.h"
#include "sync/cli/process.h"
#include "sync/cli/text_util.h"

namespace {

int Usage() {
  std::cerr << "Usage: georep-sshkey generate [--glusterd-sock=PATH] [--state-dir=DIR] [--log-file=PATH]\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace georep::cli;
  std::string sock, state_dir = DefaultStateDir(), log_file, verb;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (StartsWith(a, "--glusterd-sock=")) sock = a.substr(16);
    else if (StartsWith(a, "--state-dir=")) state_dir = a.substr(12);
    else if (StartsWith(a, "--log-file=")) log_file = a.substr(11);
    else if (verb.empty() && !StartsWith(a, "-")) verb = a;
    else return Usage();
  }
  if (verb != "generate") return Usage();
  SystemRunner runner;
  Gluster g(&runner, sock, log_file);
  georep::Result<std::vector<PoolPeer>> pool = g.Pool();
  if (!pool.ok()) {
    std::cerr << pool.status().message() << "\ngeorep-sshkey generate failed\n";
    return 1;
  }
  for (const PoolPeer& p : *pool) {
    if (!p.connected) {
      std::cerr << "Peer " << p.hostname << " is not connected; keys are made on every node together: bring it "
                << "back and retry\ngeorep-sshkey generate failed\n";
      return 1;
    }
  }
  georep::Result<std::vector<PeerLine>> r = g.Execute("keygen", {KeyArg("create", "yes")});
  if (!r.ok()) {
    std::cerr << r.status().message() << "\ngeorep-sshkey generate failed\n";
    return 1;
  }
  std::string keys;
  size_t nodes = 0;
  for (const PeerLine& pl : *r) {
    if (pl.kind == "error") {
      std::cerr << "on node " << pl.node << ": " << pl.Get("msg") << "\ngeorep-sshkey generate failed\n";
      return 1;
    }
    if (pl.kind == "pubkey") {
      keys += pl.Get("key") + "\n";
      ++nodes;
    }
  }
  if (nodes != pool->size()) {
    std::cerr << "only " << nodes << " of " << pool->size() << " nodes answered; install georep on every node\n"
              << "georep-sshkey generate failed\n";
    return 1;
  }
  std::string err;
  if (!MakeDirs(KeysDir(state_dir), 0700, &err) ||
      !WriteFileAtomic(CommonPubKeysPath(state_dir), keys, 0644, &err)) {
    std::cerr << err << "\ngeorep-sshkey generate failed\n";
    return 1;
  }
  std::cout << "Replication keys present on " << nodes << " node(s); public keys gathered in "
            << CommonPubKeysPath(state_dir) << "\n";
  return 0;
}

// peer_georep: run by glusterd on every node (`gluster system:: execute
// georep ...`), by the CLI on the secondary over SSH, and as the forced
// command of the replication keys. See peer_ops.h.
#include <string>
#include <vector>

#include "sync/cli/peer_ops.h"

int main(int argc, char** argv) {
  return georep::cli::PeerMain(std::vector<std::string>(argv + 1, argv + argc));
}

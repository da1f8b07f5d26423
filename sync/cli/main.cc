// georep: the administrator's command, after `gluster volume geo-replication`.
#include <iostream>

#include "sync/cli/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  georep::Result<georep::cli::Invocation> inv = georep::cli::ParseInvocation(args);
  if (!inv.ok()) {
    std::cerr << inv.status().message() << "\n" << georep::cli::UsageText();
    return 1;
  }
  georep::cli::SystemRunner runner;
  return georep::cli::RunCli(*inv, &runner, std::cout, std::cerr);
}

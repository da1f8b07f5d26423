// georep: the administrator's command, after `gluster volume geo-replication`.
// `georep verify ...` and `georep journal ...` run the verify and journal
// tools (the same code as georep-verify and georep-journal).
#include <iostream>

#include "journal/dump.h"
#include "sync/cli/commands.h"
#include "sync/verify/verify_main.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string tool = georep::cli::ToolSubcommand(args);
  if (tool == "verify") {
    // argv[0] names the command in the tool's messages.
    static char name[] = "georep verify";
    argv[1] = name;
    return georep::verify::RunVerify(argc - 1, argv + 1);
  }
  // Without a subcommand the journal tool prints its own usage.
  if (tool == "journal") return georep::journal::RunJournalTool(argc - 2, argv + 2);
  georep::Result<georep::cli::Invocation> inv = georep::cli::ParseInvocation(args);
  if (!inv.ok()) {
    std::cerr << inv.status().message() << "\n" << georep::cli::UsageText();
    return 1;
  }
  georep::cli::SystemRunner runner;
  return georep::cli::RunCli(*inv, &runner, std::cout, std::cerr);
}

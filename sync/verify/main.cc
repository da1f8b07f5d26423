// georep-verify: compares a primary and a secondary GlusterFS tree.
#include <csignal>

#include "sync/verify/verify_main.h"

int main(int argc, char** argv) {
  // A closed pipe (e.g. `georep-verify ... | head`, or an SSH session that
  // ended) must turn into a write error we report, not a silent death.
  std::signal(SIGPIPE, SIG_IGN);
  return georep::verify::RunVerify(argc, argv);
}

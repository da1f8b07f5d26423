// Runs an external program (gluster, ssh, ssh-keygen) without a shell, with a
// bounded run time, and captures its output.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace georep::cli {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or the time limit
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (searched in PATH) with `input` on stdin. Kills the child after
// `timeout_s` seconds. A non-zero exit is not an error here: the caller reads
// exit_code; only failing to run at all is.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, int timeout_s,
                                 const std::string& input = "");

// Everything the CLI runs goes through this interface so that unit tests can
// replace glusterd and ssh with scripted answers.
class Runner {
 public:
  virtual ~Runner() = default;
  virtual Result<ProcessResult> Run(const std::vector<std::string>& argv, int timeout_s,
                                    const std::string& input = "") = 0;
};

class SystemRunner : public Runner {
 public:
  Result<ProcessResult> Run(const std::vector<std::string>& argv, int timeout_s,
                            const std::string& input = "") override {
    return RunProcess(argv, timeout_s, input);
  }
};

}  // namespace georep::cli

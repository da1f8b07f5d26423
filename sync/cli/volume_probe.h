// Looks inside a volume through libgfapi (as a client of its bricks), for the
// create checks: how much it holds, how much room it has, whether it is empty.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace georep::cli {

struct VolumeUsage {
  unsigned long long used_bytes = 0;
  unsigned long long avail_bytes = 0;
  // Names in the volume root other than GlusterFS's own (.trashcan), at most
  // a few: enough to tell the admin what is there.
  std::vector<std::string> root_entries;
};

// `server` is any node of the volume's cluster (glusterd on TCP 24007).
// Bounded: gfapi's own connect timeouts apply, and the probe runs in a child
// process that is killed after `timeout_s`.
Result<VolumeUsage> ProbeVolume(const std::string& server, const std::string& volume,
                                const std::string& log_file, int timeout_s);

}  // namespace georep::cli

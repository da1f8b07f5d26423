// VolumeLayout: which bricks a volume has, how they form replica/disperse
// sets, which are online, and from that which local brick worker is Active.
//
// Sources: `gluster --xml volume info VOL` and `gluster --xml volume status
// VOL`, run through RunCommand with a bounded timeout (--glusterd-sock
// selects the glusterd of a test "node").
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace georep::daemon {

struct BrickInfo {
  std::string host;
  std::string path;
  std::string id() const { return host + ":" + path; }
  bool arbiter = false;
  bool online = false;
  int set_index = 0;  // replica/disperse set the brick belongs to
};

struct VolumeLayout {
  std::string volume;
  std::string volume_id;
  int set_size = 1;  // bricks per replica/disperse set (1 for plain distribute)
  std::vector<BrickInfo> bricks;  // volume order
  bool status_known = false;      // `volume status` answered
};

// Parses `gluster --xml volume info` output for `volume`.
Result<VolumeLayout> ParseVolumeInfoXml(const std::string& xml, const std::string& volume);
// Marks bricks online from `gluster --xml volume status` output.
Status ApplyVolumeStatusXml(const std::string& xml, VolumeLayout* layout);
// Whether brick `index` is its set's Active brick: the first online
// non-arbiter brick of the set. Without status information every brick of a
// set counts as online, so the first one is Active.
bool IsActiveBrick(const VolumeLayout& layout, size_t index);

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs argv (no shell) and collects its output; kills it after `timeout`.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout);

// Runs the two gluster commands and combines them. `glusterd_sock` may be "".
Result<VolumeLayout> QueryVolumeLayout(const std::string& volume, const std::string& glusterd_sock);

}  // namespace georep::daemon

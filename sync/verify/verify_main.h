// The command line of georep-verify, as a function so that the `georep` CLI
// can dispatch `georep verify ...` to it.
#pragma once

namespace georep::verify {

// argv[0] names the command in messages ("georep-verify", "georep verify");
// options start at argv[1]. Prints to stdout/stderr and returns the exit
// status: 0 the trees are identical, 1 they differ, 2 an error (usage, a
// volume that cannot be reached, an I/O failure).
// It does not call glfs_fini (10 s in GlusterFS 10.3, see
// VolumeSpec::leave_to_process_exit): call it from a process that exits
// soon after it returns, as georep-verify and `georep verify` do.
int RunVerify(int argc, char** argv);

constexpr int kExitIdentical = 0;
constexpr int kExitDifferent = 1;
constexpr int kExitError = 2;

}  // namespace georep::verify

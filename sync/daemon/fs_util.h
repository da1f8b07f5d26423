// Small file helpers shared by the daemon's bookkeeping files.
#pragma once

#include <string>

#include "common/status.h"

namespace georep::daemon {

// mkdir -p.
Status MakeDirs(const std::string& path, unsigned mode = 0755);
// Writes `content` to a temporary file beside `path` and renames it over
// `path`; with `sync` the data and the directory are fsynced, so the new
// content survives a crash once this returns. Creates the parent directory
// but nothing above it: a worker's last status write must not bring back a
// session directory that `georep delete reset-sync-time` just removed
// (kNotFound then).
Status WriteFileAtomic(const std::string& path, const std::string& content, bool sync);
// Whole file; kNotFound when missing.
Result<std::string> ReadFile(const std::string& path);

}  // namespace georep::daemon

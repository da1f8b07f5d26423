// The text form of a manifest: what `georep-verify --manifest-only` prints,
// so that a manifest made on one host (for instance on the secondary, over
// SSH) can be compared on another with --secondary-manifest.
//
// Line 1:  "georep-manifest 1 volume=<name> root=<path> content=<0|1>"
// Then one line per entry, in ComparePaths order:
//   <type letter> <path> key=value ...
// with keys size, mode (octal), uid, gid, mtime (ns), ctime (ns), nlink,
// rdev, gfid, digest (hex), target (symlinks), error, and one
// "x.<name>=<hex value>" per extended attribute. Paths, targets and errors
// escape '%', '=', space and bytes outside 0x21..0x7e as %XX, so every line
// splits on spaces. A manifest is bounded by the tree it describes; the
// reader holds it in memory (about 200 bytes plus the path per entry).
#pragma once

#include <cstdio>
#include <istream>
#include <string>
#include <vector>

#include "common/status.h"
#include "sync/verify/entry.h"

namespace georep::verify {

struct Manifest {
  std::string volume;
  std::string root = "/";
  bool has_content = false;  // digests were computed for every regular file
  std::vector<Entry> entries;
};

std::string EscapeField(std::string_view raw);
bool UnescapeField(std::string_view escaped, std::string* out);

std::string FormatManifestHeader(const Manifest& m);
std::string FormatManifestEntry(const Entry& e);
// Writes header and entries; kIOError when the stream fails (e.g. EPIPE).
Status WriteManifest(const Manifest& m, FILE* out);
// Parses a whole manifest; kCorruption names the line that is malformed.
Result<Manifest> ReadManifest(std::istream& in);

}  // namespace georep::verify

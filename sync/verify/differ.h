// Compares two manifests (sorted by ComparePaths) in one merged pass and
// lists every difference a storage admin needs to see, one per line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "sync/verify/entry.h"

namespace georep::verify {

struct DiffOptions {
  // Directory mtimes move whenever an entry inside is created, renamed or
  // removed, and a replicator applies entries in its own order, so they are
  // not compared unless asked for. atime is never compared.
  bool compare_dir_mtime = false;
  // GFIDs match only when the secondary was written through gfid-access (as
  // georep-receiver does); copies made by other tools differ in every GFID.
  bool compare_gfid = true;
  bool compare_xattrs = true;
  // Content is compared only where both entries carry a digest.
  bool compare_content = true;
  // The entries hold only what a directory walk returns (readdirplus stats
  // and GFIDs): symlink targets and xattrs are not compared, nor directories'
  // attributes other than their type, since readdirplus reports a directory
  // as one brick sees it. A cheap first look for --wait-until-equal.
  bool walk_only = false;
};

enum class DiffKind {
  kMissingOnSecondary,  // present on the primary only
  kExtraOnSecondary,    // present on the secondary only
  kAttribute,           // present on both, `attribute` differs
  kLinkGroup,           // the set of paths hard-linked together differs
  kUnreadable,          // the entry could not be fully read on one side
};

struct Difference {
  DiffKind kind = DiffKind::kAttribute;
  std::string path;
  // kAttribute: "type", "size", "content", "mode", "uid", "gid", "mtime",
  // "symlink target", "rdev", "gfid", "xattr <name>".
  std::string attribute;
  // Display forms of the two sides' values (kMissing/kExtra: the entry type;
  // kUnreadable: the error, on the side it happened).
  std::string primary;
  std::string secondary;
  // Entries below a missing, extra or type-changed directory, which are folded
  // into this one difference instead of being listed one by one.
  uint64_t entries_below = 0;

  bool operator==(const Difference&) const = default;
};

const char* DiffKindName(DiffKind kind);

// "/a/b: mode differs: primary 0644, secondary 0600" and the like.
std::string FormatDifference(const Difference& d);

// Compares `primary` with `secondary`. Both must be sorted by ComparePaths
// without duplicates (kInvalidArgument names the first offending path
// otherwise). Differences come out in path order, link-group differences
// after the per-entry ones.
Result<std::vector<Difference>> DiffManifests(const std::vector<Entry>& primary,
                                              const std::vector<Entry>& secondary,
                                              const DiffOptions& options);

// Checks the sort order DiffManifests needs.
Status CheckSorted(const std::vector<Entry>& entries, const char* side);

}  // namespace georep::verify

#include "sync/verify/differ.h"

#include <map>
#include <optional>
#include <set>

namespace georep::verify {

namespace {

// Digest prefixes keep difference lines short; 64 bits tell them apart.
constexpr size_t kDigestDisplayChars = 16;

struct Fold {
  std::string dir;
  size_t diff_index;
};

struct LinkCandidate {
  std::string path;
  Gfid primary_key;
  Gfid secondary_key;
};

void AddAttr(std::vector<Difference>* out, const std::string& path, std::string attribute,
             std::string primary, std::string secondary) {
  Difference d;
  d.kind = DiffKind::kAttribute;
  d.path = path;
  d.attribute = std::move(attribute);
  d.primary = std::move(primary);
  d.secondary = std::move(secondary);
  out->push_back(std::move(d));
}

void CompareXattrs(const Entry& p, const Entry& s, std::vector<Difference>* out) {
  // Both lists are sorted by name: merge them.
  size_t i = 0;
  size_t j = 0;
  while (i < p.xattrs.size() || j < s.xattrs.size()) {
    int c;
    if (i >= p.xattrs.size()) {
      c = 1;
    } else if (j >= s.xattrs.size()) {
      c = -1;
    } else {
      c = p.xattrs[i].name.compare(s.xattrs[j].name);
    }
    if (c < 0) {
      AddAttr(out, p.path, "xattr " + p.xattrs[i].name,
              FormatXattrValue(p.xattrs[i].name, p.xattrs[i].value), "(absent)");
      ++i;
    } else if (c > 0) {
      AddAttr(out, p.path, "xattr " + s.xattrs[j].name, "(absent)",
              FormatXattrValue(s.xattrs[j].name, s.xattrs[j].value));
      ++j;
    } else {
      if (p.xattrs[i].value != s.xattrs[j].value) {
        AddAttr(out, p.path, "xattr " + p.xattrs[i].name,
                FormatXattrValue(p.xattrs[i].name, p.xattrs[i].value),
                FormatXattrValue(s.xattrs[j].name, s.xattrs[j].value));
      }
      ++i;
      ++j;
    }
  }
}

void CompareEntries(const Entry& p, const Entry& s, const DiffOptions& o,
                    std::vector<Difference>* out) {
  const std::string& path = p.path;
  if (p.type != s.type) {
    AddAttr(out, path, "type", EntryTypeName(p.type), EntryTypeName(s.type));
    return;  // nothing else is comparable between different kinds of entry
  }
  const bool regular = p.type == EntryType::kRegular;
  if (regular && p.size != s.size) {
    AddAttr(out, path, "size", std::to_string(p.size), std::to_string(s.size));
  }
  if (regular && o.compare_content && p.size == s.size && p.has_digest && s.has_digest &&
      p.digest != s.digest) {
    AddAttr(out, path, "content", DigestToHex(p.digest).substr(0, kDigestDisplayChars),
            DigestToHex(s.digest).substr(0, kDigestDisplayChars));
  }
  if (o.walk_only && p.type == EntryType::kDirectory) return;
  if (p.type == EntryType::kSymlink && !o.walk_only && p.symlink_target != s.symlink_target) {
    AddAttr(out, path, "symlink target", "\"" + DisplayPath(p.symlink_target) + "\"",
            "\"" + DisplayPath(s.symlink_target) + "\"");
  }
  if ((p.type == EntryType::kCharDevice || p.type == EntryType::kBlockDevice) && p.rdev != s.rdev) {
    AddAttr(out, path, "rdev", std::to_string(p.rdev), std::to_string(s.rdev));
  }
  if (p.mode != s.mode) AddAttr(out, path, "mode", FormatMode(p.mode), FormatMode(s.mode));
  if (p.uid != s.uid) AddAttr(out, path, "uid", std::to_string(p.uid), std::to_string(s.uid));
  if (p.gid != s.gid) AddAttr(out, path, "gid", std::to_string(p.gid), std::to_string(s.gid));
  if ((p.type != EntryType::kDirectory || o.compare_dir_mtime) && p.mtime_ns != s.mtime_ns) {
    AddAttr(out, path, "mtime", FormatTimeNs(p.mtime_ns), FormatTimeNs(s.mtime_ns));
  }
  if (o.compare_xattrs && !o.walk_only) CompareXattrs(p, s, out);
  if (o.compare_gfid && p.has_gfid && s.has_gfid && p.gfid != s.gfid) {
    AddAttr(out, path, "gfid", GfidToString(p.gfid), GfidToString(s.gfid));
  }
}

std::string JoinPaths(const std::vector<std::string>& paths, const std::string& except) {
  std::string out;
  for (const std::string& p : paths) {
    if (p == except) continue;
    if (!out.empty()) out += ", ";
    out += DisplayPath(p);
  }
  return out.empty() ? "no other path" : out;
}

// Hard links are compared as groups of paths sharing one GFID on each side,
// restricted to paths present on both sides (a path missing on one side is
// already reported as missing).
void CompareLinkGroups(const std::vector<LinkCandidate>& candidates, std::vector<Difference>* out) {
  std::map<Gfid, std::vector<std::string>> primary_groups;
  std::map<Gfid, std::vector<std::string>> secondary_groups;
  for (const LinkCandidate& c : candidates) {
    primary_groups[c.primary_key].push_back(c.path);
    secondary_groups[c.secondary_key].push_back(c.path);
  }
  std::set<std::string> reported;
  for (const LinkCandidate& c : candidates) {
    if (reported.count(c.path) != 0) continue;
    const std::vector<std::string>& pg = primary_groups[c.primary_key];
    const std::vector<std::string>& sg = secondary_groups[c.secondary_key];
    if (pg == sg) continue;
    Difference d;
    d.kind = DiffKind::kLinkGroup;
    d.path = c.path;
    d.attribute = "hard links";
    d.primary = JoinPaths(pg, c.path);
    d.secondary = JoinPaths(sg, c.path);
    out->push_back(std::move(d));
    reported.insert(pg.begin(), pg.end());
    reported.insert(sg.begin(), sg.end());
  }
}

}  // namespace

const char* DiffKindName(DiffKind kind) {
  switch (kind) {
    case DiffKind::kMissingOnSecondary: return "missing";
    case DiffKind::kExtraOnSecondary: return "extra";
    case DiffKind::kAttribute: return "attribute";
    case DiffKind::kLinkGroup: return "hard-links";
    case DiffKind::kUnreadable: return "unreadable";
  }
  return "unknown";
}

std::string FormatDifference(const Difference& d) {
  const std::string path = DisplayPath(d.path);
  const std::string below =
      d.entries_below == 0 ? ""
                           : ", with " + std::to_string(d.entries_below) +
                                 (d.entries_below == 1 ? " entry" : " entries") + " below it";
  switch (d.kind) {
    case DiffKind::kMissingOnSecondary:
      return path + ": missing on secondary (" + d.primary + below + ")";
    case DiffKind::kExtraOnSecondary:
      return path + ": extra on secondary (" + d.secondary + below + ")";
    case DiffKind::kAttribute:
      return path + ": " + d.attribute + " differs: primary " + d.primary + ", secondary " +
             d.secondary + (d.entries_below == 0 ? "" : " (" + below.substr(2) + " not compared)");
    case DiffKind::kLinkGroup:
      return path + ": hard links differ: on primary linked with " + d.primary +
             ", on secondary with " + d.secondary;
    case DiffKind::kUnreadable: {
      std::string out = path + ": could not be read";
      if (!d.primary.empty()) out += " on primary (" + d.primary + ")";
      if (!d.primary.empty() && !d.secondary.empty()) out += " and";
      if (!d.secondary.empty()) out += " on secondary (" + d.secondary + ")";
      return out;
    }
  }
  return path + ": unknown difference";
}

Status CheckSorted(const std::vector<Entry>& entries, const char* side) {
  for (size_t k = 1; k < entries.size(); ++k) {
    if (ComparePaths(entries[k - 1].path, entries[k].path) >= 0) {
      return Status(Code::kInvalidArgument,
                    std::string(side) + " manifest is not sorted by path or repeats a path at '" +
                        DisplayPath(entries[k].path) + "'");
    }
  }
  return Status::Ok();
}

Result<std::vector<Difference>> DiffManifests(const std::vector<Entry>& primary,
                                              const std::vector<Entry>& secondary,
                                              const DiffOptions& options) {
  GEOREP_RETURN_IF_ERROR(CheckSorted(primary, "primary"));
  GEOREP_RETURN_IF_ERROR(CheckSorted(secondary, "secondary"));

  std::vector<Difference> out;
  std::vector<LinkCandidate> links;
  std::optional<Fold> fold_primary;    // a primary-only subtree being folded
  std::optional<Fold> fold_secondary;  // a secondary-only subtree being folded
  size_t i = 0;
  size_t j = 0;
  while (i < primary.size() || j < secondary.size()) {
    if (fold_primary && i < primary.size() && IsBelow(primary[i].path, fold_primary->dir)) {
      ++out[fold_primary->diff_index].entries_below;
      ++i;
      continue;
    }
    if (fold_secondary && j < secondary.size() && IsBelow(secondary[j].path, fold_secondary->dir)) {
      ++out[fold_secondary->diff_index].entries_below;
      ++j;
      continue;
    }
    int c;
    if (i >= primary.size()) {
      c = 1;
    } else if (j >= secondary.size()) {
      c = -1;
    } else {
      c = ComparePaths(primary[i].path, secondary[j].path);
    }
    if (c < 0) {
      const Entry& p = primary[i++];
      Difference d;
      d.kind = DiffKind::kMissingOnSecondary;
      d.path = p.path;
      d.primary = EntryTypeName(p.type);
      out.push_back(std::move(d));
      if (p.type == EntryType::kDirectory) fold_primary = Fold{p.path, out.size() - 1};
      continue;
    }
    if (c > 0) {
      const Entry& s = secondary[j++];
      Difference d;
      d.kind = DiffKind::kExtraOnSecondary;
      d.path = s.path;
      d.secondary = EntryTypeName(s.type);
      out.push_back(std::move(d));
      if (s.type == EntryType::kDirectory) fold_secondary = Fold{s.path, out.size() - 1};
      continue;
    }
    const Entry& p = primary[i++];
    const Entry& s = secondary[j++];
    if (!p.error.empty() || !s.error.empty()) {
      Difference d;
      d.kind = DiffKind::kUnreadable;
      d.path = p.path;
      d.primary = p.error;
      d.secondary = s.error;
      out.push_back(std::move(d));
      continue;
    }
    CompareEntries(p, s, options, &out);
    if (p.type != s.type) {
      // The subtree below a directory that is something else on the other
      // side is folded into the type difference.
      if (p.type == EntryType::kDirectory) fold_primary = Fold{p.path, out.size() - 1};
      if (s.type == EntryType::kDirectory) fold_secondary = Fold{s.path, out.size() - 1};
      continue;
    }
    if (p.type != EntryType::kDirectory && p.has_gfid && s.has_gfid &&
        (p.nlink > 1 || s.nlink > 1)) {
      links.push_back(LinkCandidate{p.path, p.gfid, s.gfid});
    }
  }
  CompareLinkGroups(links, &out);
  return out;
}

}  // namespace georep::verify

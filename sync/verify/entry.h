// One entry of a volume manifest, and the helpers every part of the verifier
// shares: the path order the manifests are sorted in, GFID and digest text
// forms, and display formatting of attribute values.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace georep::verify {

enum class EntryType : uint8_t {
  kRegular,
  kDirectory,
  kSymlink,
  kFifo,
  kCharDevice,
  kBlockDevice,
  kSocket,
  kUnknown,
};

// "file", "directory", "symlink", ... for messages.
const char* EntryTypeName(EntryType type);
// One letter per type for the manifest text form: f d l p c b s ?.
char EntryTypeLetter(EntryType type);
bool EntryTypeFromLetter(char letter, EntryType* out);
EntryType EntryTypeFromMode(uint32_t st_mode);

using Gfid = std::array<uint8_t, 16>;
// The content digest of a regular file (content_hash.h says how it is made).
using ContentDigest = std::array<uint8_t, 32>;

struct Xattr {
  std::string name;
  std::string value;  // raw bytes
  bool operator==(const Xattr&) const = default;
};

struct Entry {
  // Absolute path inside the volume: "/", "/a", "/a/b". Never ends in '/'
  // except for the root.
  std::string path;
  EntryType type = EntryType::kUnknown;
  uint64_t size = 0;
  uint32_t mode = 0;  // permission and set-id bits only (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_ns = 0;
  // Not compared (it cannot be set by a replicator); it keys the content
  // digest cache, because any change of content or mtime moves it.
  int64_t ctime_ns = 0;
  uint64_t nlink = 0;
  uint64_t rdev = 0;  // character and block devices only
  bool has_gfid = false;
  Gfid gfid{};
  std::string symlink_target;  // symlinks only
  // Compared extended attributes (user.*, security.*, POSIX ACLs), sorted by
  // name.
  std::vector<Xattr> xattrs;
  bool has_digest = false;
  ContentDigest digest{};
  // Non-empty when part of the entry could not be read (it vanished or
  // changed during the scan, or an I/O error): the differ reports it.
  std::string error;
};

// Orders paths component by component, so that every directory is followed
// directly by its subtree ("/a" < "/a/b" < "/a.b"): the order of a depth-first
// walk with each directory's names sorted bytewise. Returns <0, 0, >0.
int ComparePaths(std::string_view a, std::string_view b);
inline bool PathLess(std::string_view a, std::string_view b) { return ComparePaths(a, b) < 0; }
// True when `path` lies strictly below directory `dir`.
bool IsBelow(std::string_view path, std::string_view dir);
// Joins a directory path and a name: JoinPath("/", "a") == "/a".
std::string JoinPath(std::string_view dir, std::string_view name);

// 8-4-4-4-12 lower-case hex, as GlusterFS prints GFIDs.
std::string GfidToString(const Gfid& gfid);
bool ParseGfid(std::string_view text, Gfid* out);
std::string DigestToHex(const ContentDigest& digest);
bool ParseDigestHex(std::string_view text, ContentDigest* out);

// Display forms used in difference lines.
std::string FormatMode(uint32_t mode);            // "0644"
std::string FormatTimeNs(int64_t ns);             // "2026-11-24T01:02:03.123456789Z"
// A path made safe for one line: control bytes and '\' become \xNN.
std::string DisplayPath(std::string_view path);
// An xattr value: quoted text when printable, "0x..." otherwise, POSIX ACLs
// decoded ("user::rw-,group::r--,other::r--").
std::string FormatXattrValue(std::string_view name, std::string_view value);

}  // namespace georep::verify

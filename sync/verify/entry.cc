#include "sync/verify/entry.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <ctime>

namespace georep::verify {

const char* EntryTypeName(EntryType type) {
  switch (type) {
    case EntryType::kRegular: return "file";
    case EntryType::kDirectory: return "directory";
    case EntryType::kSymlink: return "symlink";
    case EntryType::kFifo: return "fifo";
    case EntryType::kCharDevice: return "character device";
    case EntryType::kBlockDevice: return "block device";
    case EntryType::kSocket: return "socket";
    case EntryType::kUnknown: return "unknown type";
  }
  return "unknown type";
}

char EntryTypeLetter(EntryType type) {
  switch (type) {
    case EntryType::kRegular: return 'f';
    case EntryType::kDirectory: return 'd';
    case EntryType::kSymlink: return 'l';
    case EntryType::kFifo: return 'p';
    case EntryType::kCharDevice: return 'c';
    case EntryType::kBlockDevice: return 'b';
    case EntryType::kSocket: return 's';
    case EntryType::kUnknown: return '?';
  }
  return '?';
}

bool EntryTypeFromLetter(char letter, EntryType* out) {
  static constexpr EntryType kAll[] = {
      EntryType::kRegular,     EntryType::kDirectory,   EntryType::kSymlink, EntryType::kFifo,
      EntryType::kCharDevice,  EntryType::kBlockDevice, EntryType::kSocket,  EntryType::kUnknown};
  for (EntryType t : kAll) {
    if (EntryTypeLetter(t) == letter) {
      *out = t;
      return true;
    }
  }
  return false;
}

EntryType EntryTypeFromMode(uint32_t st_mode) {
  switch (st_mode & S_IFMT) {
    case S_IFREG: return EntryType::kRegular;
    case S_IFDIR: return EntryType::kDirectory;
    case S_IFLNK: return EntryType::kSymlink;
    case S_IFIFO: return EntryType::kFifo;
    case S_IFCHR: return EntryType::kCharDevice;
    case S_IFBLK: return EntryType::kBlockDevice;
    case S_IFSOCK: return EntryType::kSocket;
    default: return EntryType::kUnknown;
  }
}

int ComparePaths(std::string_view a, std::string_view b) {
  size_t i = 0;
  size_t j = 0;
  while (true) {
    // Skip separators so that "/" and "" both mean the root.
    while (i < a.size() && a[i] == '/') ++i;
    while (j < b.size() && b[j] == '/') ++j;
    const bool a_end = i >= a.size();
    const bool b_end = j >= b.size();
    if (a_end || b_end) return a_end == b_end ? 0 : (a_end ? -1 : 1);
    size_t ai = a.find('/', i);
    size_t bj = b.find('/', j);
    if (ai == std::string_view::npos) ai = a.size();
    if (bj == std::string_view::npos) bj = b.size();
    std::string_view ca = a.substr(i, ai - i);
    std::string_view cb = b.substr(j, bj - j);
    // Bytewise, shorter prefix first: what std::string_view::compare does.
    const int c = ca.compare(cb);
    if (c != 0) return c < 0 ? -1 : 1;
    i = ai;
    j = bj;
  }
}

bool IsBelow(std::string_view path, std::string_view dir) {
  if (dir == "/" || dir.empty()) return path.size() > 1 && path[0] == '/';
  return path.size() > dir.size() + 1 && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out.empty() || out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendHex(std::string* out, const uint8_t* bytes, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    out->push_back(kHex[bytes[i] >> 4]);
    out->push_back(kHex[bytes[i] & 0xf]);
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseHexBytes(std::string_view text, uint8_t* out, size_t n) {
  if (text.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    const int hi = HexValue(text[2 * i]);
    const int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

// Linux's on-wire POSIX ACL xattr layout (linux/posix_acl_xattr.h): a
// little-endian u32 version 2, then 8-byte entries {u16 tag, u16 perm, u32 id}.
constexpr uint32_t kAclVersion = 2;
constexpr uint16_t kAclUserObj = 0x01;
constexpr uint16_t kAclUser = 0x02;
constexpr uint16_t kAclGroupObj = 0x04;
constexpr uint16_t kAclGroup = 0x08;
constexpr uint16_t kAclMask = 0x10;
constexpr uint16_t kAclOther = 0x20;

uint32_t LoadLe32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// Returns false when `value` is not a well-formed ACL (then it is shown raw).
bool FormatAcl(std::string_view value, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  if (value.size() < 4 || (value.size() - 4) % 8 != 0 || LoadLe32(p) != kAclVersion) return false;
  std::string text;
  for (size_t off = 4; off < value.size(); off += 8) {
    const uint16_t tag = static_cast<uint16_t>(p[off] | p[off + 1] << 8);
    const uint16_t perm = static_cast<uint16_t>(p[off + 2] | p[off + 3] << 8);
    const uint32_t id = LoadLe32(p + off + 4);
    if (!text.empty()) text.push_back(',');
    switch (tag) {
      case kAclUserObj: text += "user::"; break;
      case kAclUser: text += "user:" + std::to_string(id) + ":"; break;
      case kAclGroupObj: text += "group::"; break;
      case kAclGroup: text += "group:" + std::to_string(id) + ":"; break;
      case kAclMask: text += "mask::"; break;
      case kAclOther: text += "other::"; break;
      default: return false;
    }
    text.push_back(perm & 4 ? 'r' : '-');
    text.push_back(perm & 2 ? 'w' : '-');
    text.push_back(perm & 1 ? 'x' : '-');
  }
  *out = text;
  return true;
}

}  // namespace

std::string GfidToString(const Gfid& gfid) {
  std::string out;
  out.reserve(36);
  AppendHex(&out, gfid.data(), 4);
  out.push_back('-');
  AppendHex(&out, gfid.data() + 4, 2);
  out.push_back('-');
  AppendHex(&out, gfid.data() + 6, 2);
  out.push_back('-');
  AppendHex(&out, gfid.data() + 8, 2);
  out.push_back('-');
  AppendHex(&out, gfid.data() + 10, 6);
  return out;
}

bool ParseGfid(std::string_view text, Gfid* out) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return false;
  }
  std::string compact;
  for (char c : text) {
    if (c != '-') compact.push_back(c);
  }
  return ParseHexBytes(compact, out->data(), out->size());
}

std::string DigestToHex(const ContentDigest& digest) {
  std::string out;
  AppendHex(&out, digest.data(), digest.size());
  return out;
}

bool ParseDigestHex(std::string_view text, ContentDigest* out) {
  return ParseHexBytes(text, out->data(), out->size());
}

std::string FormatMode(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

std::string FormatTimeNs(int64_t ns) {
  // Floor division so that times before 1970 still print correctly.
  int64_t sec = ns / 1000000000;
  int64_t frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --sec;
  }
  const time_t t = static_cast<time_t>(sec);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::string DisplayPath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string FormatXattrValue(std::string_view name, std::string_view value) {
  if (name == "system.posix_acl_access" || name == "system.posix_acl_default") {
    std::string acl;
    if (FormatAcl(value, &acl)) return acl;
  }
  // Text values commonly carry one trailing NUL (C strings stored whole).
  std::string_view text = value;
  if (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  bool printable = true;
  for (unsigned char c : text) {
    if (c < 0x20 || c >= 0x7f) {
      printable = false;
      break;
    }
  }
  if (printable) {
    std::string out = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
    if (text.size() != value.size()) out += " (NUL-terminated)";
    return out;
  }
  std::string out = "0x";
  AppendHex(&out, reinterpret_cast<const uint8_t*>(value.data()), value.size());
  return out;
}

}  // namespace georep::verify

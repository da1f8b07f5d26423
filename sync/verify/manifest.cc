#include "sync/verify/manifest.h"

#include <cerrno>
#include <charconv>
#include <cstring>

#include "sync/verify/differ.h"

namespace georep::verify {

namespace {

constexpr char kMagic[] = "georep-manifest";
constexpr int kVersion = 1;
constexpr char kHex[] = "0123456789abcdef";

std::string HexBytes(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool UnhexBytes(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexDigit(hex[i]);
    const int lo = HexDigit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

template <typename T>
bool ParseNumber(std::string_view s, T* out, int base = 10) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::vector<std::string_view> SplitSpaces(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t k = line.find(' ', i);
    if (k == std::string_view::npos) k = line.size();
    if (k > i) out.push_back(line.substr(i, k - i));
    i = k + 1;
  }
  return out;
}

// Returns an empty string on success, else what is wrong.
std::string ParseEntryLine(std::string_view line, Entry* e) {
  std::vector<std::string_view> f = SplitSpaces(line);
  if (f.size() < 2 || f[0].size() != 1) return "expected '<type> <path> key=value...'";
  if (!EntryTypeFromLetter(f[0][0], &e->type)) return "unknown type letter '" + std::string(f[0]) + "'";
  if (!UnescapeField(f[1], &e->path) || e->path.empty() || e->path[0] != '/') return "bad path";
  for (size_t k = 2; k < f.size(); ++k) {
    const size_t eq = f[k].find('=');
    if (eq == std::string_view::npos) return "field without '=': " + std::string(f[k]);
    const std::string_view key = f[k].substr(0, eq);
    const std::string_view val = f[k].substr(eq + 1);
    bool ok = true;
    if (key == "size") {
      ok = ParseNumber(val, &e->size);
    } else if (key == "mode") {
      ok = ParseNumber(val, &e->mode, 8);
    } else if (key == "uid") {
      ok = ParseNumber(val, &e->uid);
    } else if (key == "gid") {
      ok = ParseNumber(val, &e->gid);
    } else if (key == "mtime") {
      ok = ParseNumber(val, &e->mtime_ns);
    } else if (key == "ctime") {
      ok = ParseNumber(val, &e->ctime_ns);
    } else if (key == "nlink") {
      ok = ParseNumber(val, &e->nlink);
    } else if (key == "rdev") {
      ok = ParseNumber(val, &e->rdev);
    } else if (key == "gfid") {
      ok = e->has_gfid = ParseGfid(val, &e->gfid);
    } else if (key == "digest") {
      ok = e->has_digest = ParseDigestHex(val, &e->digest);
    } else if (key == "target") {
      ok = UnescapeField(val, &e->symlink_target);
    } else if (key == "error") {
      ok = UnescapeField(val, &e->error);
    } else if (key.size() > 2 && key.substr(0, 2) == "x.") {
      Xattr x;
      ok = UnescapeField(key.substr(2), &x.name) && UnhexBytes(val, &x.value);
      if (ok && !e->xattrs.empty() && e->xattrs.back().name >= x.name) {
        return "extended attributes are not sorted by name";
      }
      e->xattrs.push_back(std::move(x));
    }
    // Unknown keys are skipped so that newer writers stay readable.
    if (!ok) return "bad value for '" + std::string(key) + "'";
  }
  return "";
}

}  // namespace

std::string EscapeField(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (unsigned char c : raw) {
    if (c <= 0x20 || c >= 0x7f || c == '%' || c == '=') {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

bool UnescapeField(std::string_view escaped, std::string* out) {
  out->clear();
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '%') {
      out->push_back(escaped[i]);
      continue;
    }
    if (i + 2 >= escaped.size()) return false;
    const int hi = HexDigit(escaped[i + 1]);
    const int lo = HexDigit(escaped[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
    i += 2;
  }
  return true;
}

std::string FormatManifestHeader(const Manifest& m) {
  return std::string(kMagic) + " " + std::to_string(kVersion) + " volume=" + EscapeField(m.volume) +
         " root=" + EscapeField(m.root) + " content=" + (m.has_content ? "1" : "0");
}

std::string FormatManifestEntry(const Entry& e) {
  std::string out;
  out.push_back(EntryTypeLetter(e.type));
  out.push_back(' ');
  out += EscapeField(e.path);
  out += " size=" + std::to_string(e.size);
  out += " mode=" + FormatMode(e.mode);
  out += " uid=" + std::to_string(e.uid);
  out += " gid=" + std::to_string(e.gid);
  out += " mtime=" + std::to_string(e.mtime_ns);
  out += " ctime=" + std::to_string(e.ctime_ns);
  out += " nlink=" + std::to_string(e.nlink);
  if (e.type == EntryType::kCharDevice || e.type == EntryType::kBlockDevice) {
    out += " rdev=" + std::to_string(e.rdev);
  }
  if (e.has_gfid) out += " gfid=" + GfidToString(e.gfid);
  if (e.has_digest) out += " digest=" + DigestToHex(e.digest);
  if (e.type == EntryType::kSymlink) out += " target=" + EscapeField(e.symlink_target);
  for (const Xattr& x : e.xattrs) out += " x." + EscapeField(x.name) + "=" + HexBytes(x.value);
  if (!e.error.empty()) out += " error=" + EscapeField(e.error);
  return out;
}

Status WriteManifest(const Manifest& m, FILE* out) {
  std::string line = FormatManifestHeader(m);
  line.push_back('\n');
  if (std::fputs(line.c_str(), out) == EOF) return Status::FromErrno(errno, "write manifest");
  for (const Entry& e : m.entries) {
    line = FormatManifestEntry(e);
    line.push_back('\n');
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
      return Status::FromErrno(errno, "write manifest");
    }
  }
  if (std::fflush(out) != 0) return Status::FromErrno(errno, "write manifest");
  return Status::Ok();
}

Result<Manifest> ReadManifest(std::istream& in) {
  Manifest m;
  std::string line;
  if (!std::getline(in, line)) {
    return Status(Code::kCorruption, "manifest is empty: expected a 'georep-manifest' header line");
  }
  std::vector<std::string_view> h = SplitSpaces(line);
  int version = 0;
  if (h.size() < 2 || h[0] != kMagic || !ParseNumber(h[1], &version)) {
    return Status(Code::kCorruption,
                  "line 1 is not a manifest header (make manifests with georep-verify --manifest-only)");
  }
  if (version != kVersion) {
    return Status(Code::kFailedPrecondition,
                  "manifest version " + std::to_string(version) + " is not supported (this tool reads " +
                      std::to_string(kVersion) + "); use the same georep version on both hosts");
  }
  for (size_t k = 2; k < h.size(); ++k) {
    const size_t eq = h[k].find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = h[k].substr(0, eq);
    const std::string_view val = h[k].substr(eq + 1);
    if (key == "volume") {
      if (!UnescapeField(val, &m.volume)) return Status(Code::kCorruption, "line 1: bad volume name");
    } else if (key == "root") {
      if (!UnescapeField(val, &m.root)) return Status(Code::kCorruption, "line 1: bad root");
    } else if (key == "content") {
      m.has_content = val == "1";
    }
  }
  size_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    Entry e;
    const std::string err = ParseEntryLine(line, &e);
    if (!err.empty()) {
      return Status(Code::kCorruption, "manifest line " + std::to_string(lineno) + ": " + err);
    }
    m.entries.push_back(std::move(e));
  }
  if (in.bad()) return Status(Code::kIOError, "reading the manifest failed");
  GEOREP_RETURN_IF_ERROR(CheckSorted(m.entries, "the"));
  return m;
}

}  // namespace georep::verify

#include "sync/daemon/sync_mark.h"

#include <sys/xattr.h>

#include <cerrno>
#include <memory>

#include "journal/reader.h"
#include "journal/record.h"

namespace georep::daemon {

std::string SyncMarkKey(const std::string& session, int set_index) {
  std::string safe;
  for (char c : session) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    safe.push_back(ok ? c : '_');
  }
  return "trusted.georep." + safe + ".set" + std::to_string(set_index) + ".synced";
}

std::string FormatSyncMark(uint64_t time_ns) { return std::to_string(time_ns); }

std::optional<uint64_t> ParseSyncMark(std::string_view value) {
  if (value.empty() || value.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::optional<uint64_t> SyncedThrough(std::optional<uint64_t> mark_ns, uint32_t lag_s) {
  const uint64_t lag_ns = uint64_t{lag_s} * 1000000000ull;
  if (!mark_ns || *mark_ns <= lag_ns) return std::nullopt;
  return *mark_ns - lag_ns;
}

Result<std::optional<uint64_t>> ReadBrickSyncMark(const std::string& brick_path,
                                                  const std::string& key) {
  char buf[32];
  const ssize_t n = ::lgetxattr(brick_path.c_str(), key.c_str(), buf, sizeof buf);
  if (n < 0) {
    if (errno == ENODATA) return std::optional<uint64_t>();
    return Status::FromErrno(errno, "getxattr " + key + " of brick root " + brick_path);
  }
  std::optional<uint64_t> v = ParseSyncMark(std::string_view(buf, static_cast<size_t>(n)));
  if (!v) {
    return Status(Code::kCorruption, "xattr " + key + " of brick root " + brick_path +
                                         " is not a journal time (a decimal number)");
  }
  return v;
}

Result<uint64_t> CursorAtTime(const std::string& brick_path, uint64_t cursor, uint64_t limit_ns,
                              uint64_t max_records) {
  auto reader = journal::JournalReader::Open(brick_path, cursor);
  if (!reader.ok()) return reader.status();
  uint64_t at = cursor;
  journal::Record r;
  for (uint64_t n = 0; n < max_records; ++n) {
    Result<bool> got = (*reader)->Next(&r);
    if (!got.ok()) {
      if (got.status().code() == Code::kFailedPrecondition) break;  // a gap: see the header
      return got.status();
    }
    if (!*got || r.time_ns > limit_ns) break;
    at = r.seq;
  }
  return at;
}

}  // namespace georep::daemon

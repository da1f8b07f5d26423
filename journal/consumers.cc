#include "journal/consumers.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "journal/fileutil.h"
#include "journal/format.h"
#include "journal/writer.h"

namespace georep::journal {
namespace {

constexpr size_t kMaxNameLength = 128;
// A resync reason is a sentence for the operator; keep the marker file small.
constexpr size_t kMaxReasonLength = 4096;

Status BadName(const std::string& name) {
  return Status(Code::kInvalidArgument,
                "invalid consumer name '" + name +
                    "': use 1 to 128 characters from [A-Za-z0-9._-], not starting with '.'");
}

Result<uint64_t> ParseCursor(const std::string& path, const std::string& text) {
  std::string t = text;
  if (!t.empty() && t.back() == '\n') t.pop_back();
  uint64_t v;
  if (!internal::ParseU64(t, &v)) {
    return Status(Code::kCorruption, "cursor file " + path +
                                         " does not hold a sequence number; re-register the "
                                         "consumer or write the last finished sequence into it");
  }
  return v;
}

}  // namespace

ConsumerRegistry::ConsumerRegistry(std::string brick_path)
    : dir_(JournalRoot(brick_path) + "/" + kConsumersDir) {}

bool ConsumerRegistry::ValidName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  });
}

Status ConsumerRegistry::Register(const std::string& name, uint64_t start) {
  if (!ValidName(name)) return BadName(name);
  GEOREP_RETURN_IF_ERROR(internal::MakeDirs(dir_));
  std::string path = dir_ + "/" + name + kCursorSuffix;
  if (::access(path.c_str(), F_OK) == 0) return Status::Ok();
  if (errno != ENOENT) return Status::FromErrno(errno, "check " + path);
  return internal::WriteFileAtomic(path, std::to_string(start) + "\n");
}

Status ConsumerRegistry::Unregister(const std::string& name) {
  if (!ValidName(name)) return BadName(name);
  std::string cursor = dir_ + "/" + name + kCursorSuffix;
  std::string resync = dir_ + "/" + name + kResyncSuffix;
  // The cursor goes last: while it exists the consumer still holds segments.
  if (::unlink(resync.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "remove " + resync);
  }
  if (::unlink(cursor.c_str()) != 0) {
    if (errno == ENOENT) return Status(Code::kNotFound, "consumer '" + name + "' is not registered");
    return Status::FromErrno(errno, "remove " + cursor);
  }
  return internal::FsyncDir(dir_);
}

Status ConsumerRegistry::SetCursor(const std::string& name, uint64_t seq) {
  if (!ValidName(name)) return BadName(name);
  std::string path = dir_ + "/" + name + kCursorSuffix;
  // Refuse to resurrect an unregistered consumer: its cursor would pin
  // segments forever without anyone reading them.
  if (::access(path.c_str(), F_OK) != 0) {
    if (errno == ENOENT) {
      return Status(Code::kNotFound, "consumer '" + name + "' is not registered (no " + path + ")");
    }
    return Status::FromErrno(errno, "check " + path);
  }
  return internal::WriteFileAtomic(path, std::to_string(seq) + "\n");
}

Result<uint64_t> ConsumerRegistry::GetCursor(const std::string& name) const {
  if (!ValidName(name)) return BadName(name);
  std::string path = dir_ + "/" + name + kCursorSuffix;
  auto text = internal::ReadSmallFile(path, 64);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) {
      return Status(Code::kNotFound, "consumer '" + name + "' is not registered");
    }
    return text.status();
  }
  return ParseCursor(path, *text);
}

Result<std::vector<ConsumerState>> ConsumerRegistry::List() const {
  std::vector<ConsumerState> out;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return Status::FromErrno(errno, "open directory " + dir_);
  }
  std::vector<std::string> names;
  const std::string suffix = kCursorSuffix;
  while (true) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) break;
    std::string f = e->d_name;
    if (f.size() <= suffix.size() || f.compare(f.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    std::string name = f.substr(0, f.size() - suffix.size());
    if (ValidName(name)) names.push_back(name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return Status::FromErrno(err, "read directory " + dir_);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    ConsumerState s;
    s.name = name;
    auto cur = GetCursor(name);
    if (!cur.ok()) {
      // Unregistered between readdir and read: not a consumer any more.
      if (cur.status().code() == Code::kNotFound) continue;
      return cur.status();
    }
    s.cursor = *cur;
    auto reason = internal::ReadSmallFile(dir_ + "/" + name + kResyncSuffix, kMaxReasonLength + 64);
    if (reason.ok()) {
      // The reason's line, then optionally "lost_through=N" (FORMAT.md).
      std::string r = *reason;
      std::string rest;
      if (size_t nl = r.find('\n'); nl != std::string::npos) {
        rest = r.substr(nl + 1);
        r.resize(nl);
      }
      s.resync = r.empty() ? std::string("(no reason recorded)") : r;
      constexpr std::string_view kLostThrough = "lost_through=";
      if (rest.compare(0, kLostThrough.size(), kLostThrough) == 0) {
        std::string digits = rest.substr(kLostThrough.size());
        digits.resize(std::min(digits.size(), digits.find('\n')));
        char* end = nullptr;
        errno = 0;
        const unsigned long long v = std::strtoull(digits.c_str(), &end, 10);
        // A damaged number is ignored: without it the mark is simply obeyed.
        if (!digits.empty() && errno == 0 && *end == '\0') s.lost_through = v;
      }
    } else if (reason.status().code() != Code::kNotFound) {
      return reason.status();
    }
    out.push_back(std::move(s));
  }
  return out;
}

Status ConsumerRegistry::MarkResync(const std::string& name, const std::string& reason,
                                    std::optional<uint64_t> lost_through) {
  if (!ValidName(name)) return BadName(name);
  std::string cursor = dir_ + "/" + name + kCursorSuffix;
  if (::access(cursor.c_str(), F_OK) != 0) {
    if (errno == ENOENT) return Status(Code::kNotFound, "consumer '" + name + "' is not registered");
    return Status::FromErrno(errno, "check " + cursor);
  }
  std::string text = reason.substr(0, kMaxReasonLength);
  std::replace(text.begin(), text.end(), '\n', ' ');  // the reason is one line
  text += "\n";
  if (lost_through) text += "lost_through=" + std::to_string(*lost_through) + "\n";
  return internal::WriteFileAtomic(dir_ + "/" + name + kResyncSuffix, text);
}

Status ConsumerRegistry::ClearResync(const std::string& name) {
  if (!ValidName(name)) return BadName(name);
  std::string path = dir_ + "/" + name + kResyncSuffix;
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::FromErrno(errno, "remove " + path);
  }
  return internal::FsyncDir(dir_);
}

}  // namespace georep::journal

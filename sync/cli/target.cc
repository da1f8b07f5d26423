#include "sync/cli/target.h"

#include <cctype>

namespace georep::cli {

namespace {
constexpr size_t kMaxVolumeName = 64;
constexpr size_t kMaxUserName = 32;
constexpr size_t kMaxHostName = 253;
constexpr const char* kForm = "expected [<user>@]<host>::<secondary-volume>, e.g. geoaccount@snode1::gvs";
}  // namespace

std::string Target::Display() const {
  return (user_given ? user + "@" : std::string()) + host + "::" + volume;
}

bool IsValidVolumeName(const std::string& name) {
  if (name.empty() || name.size() > kMaxVolumeName || name[0] == '-') return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

bool IsValidUserName(const std::string& name) {
  if (name.empty() || name.size() > kMaxUserName) return false;
  unsigned char first = static_cast<unsigned char>(name[0]);
  if (!(std::islower(first) || first == '_')) return false;
  for (unsigned char c : name) {
    if (!std::islower(c) && !std::isdigit(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

bool IsValidHostName(const std::string& name) {
  if (name.empty() || name.size() > kMaxHostName) return false;
  size_t label_len = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '.') {
      if (label_len == 0) return false;
      label_len = 0;
      continue;
    }
    if (!std::isalnum(c) && c != '-') return false;
    if (c == '-' && label_len == 0) return false;
    if (++label_len > 63) return false;
  }
  return label_len > 0;
}

Result<Target> ParseTarget(const std::string& text) {
  size_t sep = text.find("::");
  if (sep == std::string::npos) {
    return Status(Code::kInvalidArgument,
                  "Invalid secondary '" + text + "': the '::' between host and volume is missing; " + kForm);
  }
  if (text.find("::", sep + 2) != std::string::npos) {
    return Status(Code::kInvalidArgument,
                  "Invalid secondary '" + text + "': '::' appears more than once; " + kForm);
  }
  Target t;
  std::string left = text.substr(0, sep);
  t.volume = text.substr(sep + 2);
  size_t at = left.find('@');
  if (at != std::string::npos) {
    t.user = left.substr(0, at);
    t.user_given = true;
    left = left.substr(at + 1);
    if (!IsValidUserName(t.user)) {
      return Status(Code::kInvalidArgument,
                    "Invalid secondary '" + text + "': '" + t.user +
                        "' is not a valid account name (lower-case letters, digits, '_', '-'); " + kForm);
    }
  }
  t.host = left;
  if (!IsValidHostName(t.host)) {
    return Status(Code::kInvalidArgument,
                  "Invalid secondary '" + text + "': '" + t.host +
                      "' is not a valid host name or IPv4 address; " + kForm);
  }
  if (!IsValidVolumeName(t.volume)) {
    return Status(Code::kInvalidArgument,
                  "Invalid secondary '" + text + "': '" + t.volume +
                      "' is not a valid volume name (letters, digits, '-', '_', at most 64); " + kForm);
  }
  return t;
}

std::string SessionName(const std::string& primary_volume, const Target& target) {
  return primary_volume + "__" + target.host + "__" + target.volume;
}

}  // namespace georep::cli

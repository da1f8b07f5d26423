#include "sync/cli/text_util.h"

#include <charconv>
#include <ctime>

namespace georep::cli {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

std::string PercentEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '/' || c == ':' || c == '@' || c == ',' || c == '+';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool PercentDecode(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return false;
    int hi = HexValue(s[i + 1]);
    int lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::string KeyArg(const std::string& key, std::string_view value) {
  return key + "=" + PercentEncode(value);
}

KeyValues ParseKeyValues(std::string_view text) {
  KeyValues kv;
  for (const std::string& raw : Split(text, '\n')) {
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    kv.emplace_back(Trim(line.substr(0, eq)), Trim(line.substr(eq + 1)));
  }
  return kv;
}

std::string Lookup(const KeyValues& kv, std::string_view key, std::string fallback) {
  for (auto it = kv.rbegin(); it != kv.rend(); ++it) {
    if (it->first == key) return it->second;
  }
  return fallback;
}

bool Has(const KeyValues& kv, std::string_view key) {
  for (const auto& [k, v] : kv) {
    if (k == key) return true;
  }
  return false;
}

void SetValue(KeyValues* kv, const std::string& key, const std::string& value) {
  bool done = false;
  for (auto it = kv->begin(); it != kv->end();) {
    if (it->first == key) {
      if (!done) {
        it->second = value;
        done = true;
        ++it;
      } else {
        it = kv->erase(it);
      }
    } else {
      ++it;
    }
  }
  if (!done) kv->emplace_back(key, value);
}

void EraseKey(KeyValues* kv, std::string_view key) {
  std::erase_if(*kv, [&](const auto& p) { return p.first == key; });
}

bool IsDecimal(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

long long ToInt(std::string_view s, long long fallback) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return fallback;
  return v;
}

std::string FormatLocalTime(long long unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace georep::cli

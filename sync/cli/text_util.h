// Small text helpers shared by the georep CLI, its peer helper and the key tool.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace georep::cli {

std::string Trim(std::string_view s);
std::vector<std::string> Split(std::string_view s, char sep);
bool StartsWith(std::string_view s, std::string_view prefix);

// Percent-encoding keeps arbitrary bytes inside one shell-free argument or one
// output line: glusterd passes `system:: execute` arguments through argv and
// returns the helper's output line by line, so a value must contain neither
// newlines nor start with '-' (gluster's own option parser would take it).
// Every byte outside [A-Za-z0-9._/:@,+] is written as %XX.
std::string PercentEncode(std::string_view s);
// Returns false when `s` holds a malformed escape.
bool PercentDecode(std::string_view s, std::string* out);

// "k=v" arguments as passed to the peer helper: the value is percent-encoded.
std::string KeyArg(const std::string& key, std::string_view value);

// Ordered key=value lines ('#' comments and blank lines kept out). Used for
// session.conf and for georepd's status files.
using KeyValues = std::vector<std::pair<std::string, std::string>>;
KeyValues ParseKeyValues(std::string_view text);
// Value of the last occurrence of `key`, or `fallback`.
std::string Lookup(const KeyValues& kv, std::string_view key, std::string fallback = "");
bool Has(const KeyValues& kv, std::string_view key);
// Replaces every occurrence of `key` by one line in place of the first, or appends.
void SetValue(KeyValues* kv, const std::string& key, const std::string& value);
void EraseKey(KeyValues* kv, std::string_view key);

bool IsDecimal(std::string_view s);
// Parses a whole decimal integer (optional leading '-'); `fallback` when `s`
// is not one. Text from other nodes and hand-edited files goes through this:
// nothing in the CLI may throw on bad input.
long long ToInt(std::string_view s, long long fallback);
// "2026-11-24 01:02:03" in local time, as GlusterFS prints LAST_SYNCED.
std::string FormatLocalTime(long long unix_seconds);

}  // namespace georep::cli

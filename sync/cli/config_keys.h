// Every session.conf key the CLI knows: its default, what values are valid and
// what it means. `georep ... config` validates against this table before it
// writes anything, so georepd never has to refuse a file the CLI produced.
// The ranges must match georepd's parser (sync/daemon/session_config.cc);
// tests/unit/sync/cli_config_keys_test.cc holds both to the same table.
// CONFIG.md beside this file says the same in prose.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "sync/cli/text_util.h"

namespace georep::cli {

enum class KeyKind { kUnsigned, kBool, kEnum, kCommand };

struct ConfigKey {
  const char* name;
  const char* default_value;
  KeyKind kind;
  unsigned long long min = 0;
  unsigned long long max = 0;
  const char* choices = "";  // for kEnum: space-separated
  const char* description = "";
  // False for keys that identify the session or are managed by other
  // commands (state by start/stop, checkpoint by `checkpoint now`).
  bool settable = true;
};

const std::vector<ConfigKey>& ConfigKeys();
const ConfigKey* FindConfigKey(const std::string& name);

// Checks one value for `key`. The error names the key, the value, what is
// expected and how to fix it.
Status ValidateConfigValue(const std::string& key, const std::string& value);
// Checks relations between keys of a complete session (e.g. backoff_max_ms
// not below backoff_initial_ms), with defaults for absent keys.
Status ValidateConfigSet(const KeyValues& session);
// The effective value of `key` in `session`: its line, or the default.
std::string EffectiveValue(const KeyValues& session, const std::string& key);

}  // namespace georep::cli

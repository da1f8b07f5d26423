// The secondary named on the command line, `[<user>@]<host>::<volume>`, and the
// session name derived from it, as GlusterFS's geo-replication spells them.
#pragma once

#include <string>

#include "common/status.h"

namespace georep::cli {

struct Target {
  std::string user = "root";
  std::string host;
  std::string volume;
  bool user_given = false;
  // "host::vol" or "user@host::vol" (the user only when given), for messages.
  std::string Display() const;
};

// Parses `[<user>@]<host>::<volume>`. Errors name the malformed part and the
// expected form.
Result<Target> ParseTarget(const std::string& text);

// GlusterFS volume names: letters, digits, '-', '_' (and not starting with
// '-'), at most 64 bytes here (glusterd's own limit is larger; longer names
// would not fit the session directory name comfortably).
bool IsValidVolumeName(const std::string& name);
// A POSIX account name as useradd accepts it.
bool IsValidUserName(const std::string& name);
// A DNS name or an IPv4 address (no IPv6 literal: `::` is the separator).
bool IsValidHostName(const std::string& name);

// The session directory name: "<primary>__<host>__<secondary>", the form the
// wire protocol's HELLO carries as session_id.
std::string SessionName(const std::string& primary_volume, const Target& target);

}  // namespace georep::cli

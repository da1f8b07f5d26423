// ConsumerRegistry: the cursors through which journal consumers (georepd
// workers, tools) tell the writer how far they have got, so that segments can
// be removed once every registered consumer has passed them.
//
// Files (see FORMAT.md): consumers/<name>.cursor holds the last sequence the
// consumer has finished, written atomically (write temp, fsync, rename).
// consumers/<name>.resync exists when the writer had to drop records that
// consumer had not read (size cap) or lost records; it holds the reason.
// Names: [A-Za-z0-9._-]{1,128}, not starting with '.'.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace georep::journal {

struct ConsumerState {
  std::string name;
  uint64_t cursor = 0;                 // last finished sequence
  std::optional<std::string> resync;   // reason, when a full resync is needed
  // With a resync for records the size cap removed: the last of them. A
  // consumer whose cursor has passed it read them after all (from a segment
  // it held open), and the mark is stale.
  std::optional<uint64_t> lost_through;
};

class ConsumerRegistry {
 public:
  explicit ConsumerRegistry(std::string brick_path);

  // Registers with cursor `start` if not registered yet (idempotent).
  Status Register(const std::string& name, uint64_t start);
  Status Unregister(const std::string& name);
  Status SetCursor(const std::string& name, uint64_t seq);
  Result<uint64_t> GetCursor(const std::string& name) const;
  Result<std::vector<ConsumerState>> List() const;
  // Called by the writer when it drops records `name` has not consumed;
  // `lost_through`: the last of them, when the writer knows it.
  Status MarkResync(const std::string& name, const std::string& reason,
                    std::optional<uint64_t> lost_through = std::nullopt);
  // Called by the consumer after it has completed a full resync.
  Status ClearResync(const std::string& name);

  static bool ValidName(const std::string& name);

 private:
  std::string dir_;
};

}  // namespace georep::journal

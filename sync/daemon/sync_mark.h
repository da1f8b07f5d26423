// The sync mark: how far the Active worker of a replica (or disperse) set has
// synced, so that the set's Passive workers can let their journals go.
//
// Each brick of a set journals the same changes under its own sequence
// numbers, so an Active cursor means nothing on another brick; journal TIME
// does. The Active worker keeps, as an xattr on the primary volume's root
// (set through gfapi, so every brick of every set stores it), the journal
// time of the newest record it has had acknowledged:
//
//     trusted.georep.<session>.set<N>.synced = "<time_ns>"   (decimal text)
//
// A Passive worker reads the key from its own brick's root directory (its
// local file system: no connection between the nodes) and moves its cursor
// to the last record journaled at or before that time less a margin
// (passive_lag_s: clock skew between the nodes, and changes that reached the
// bricks of the set a little apart). On a takeover it then replays only that
// margin's worth of changes, which the receiver's idempotent ops absorb,
// instead of everything since it registered; and the journal it no longer
// needs is removed by the usual retention.
//
// trusted.* keys are not journaled by the translator, so writing the mark
// creates no work. The Active worker writes it at most every
// kSyncMarkInterval.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace georep::daemon {

inline constexpr std::chrono::seconds kSyncMarkInterval{5};

// The xattr name for `session`'s set `set_index` (characters outside
// [A-Za-z0-9._-] in the session name become '_').
std::string SyncMarkKey(const std::string& session, int set_index);
std::string FormatSyncMark(uint64_t time_ns);
// nullopt for anything but a decimal number.
std::optional<uint64_t> ParseSyncMark(std::string_view value);

// The journal time up to which a Passive brick counts the set's changes as
// sent: the mark less `lag_s` (passive_lag_s: clock skew between nodes,
// changes reaching the set's bricks a little apart); nullopt without a mark
// or with one not past the lag.
std::optional<uint64_t> SyncedThrough(std::optional<uint64_t> mark_ns, uint32_t lag_s);

// The mark as stored on the brick's root directory; nullopt when there is
// none yet. An unparsable value is kCorruption.
Result<std::optional<uint64_t>> ReadBrickSyncMark(const std::string& brick_path,
                                                  const std::string& key);

// The sequence number of the last record in the brick's journal after
// `cursor` that was journaled at or before `limit_ns`, reading at most
// `max_records` records; `cursor` when there is none. A gap in the journal
// (records dropped by the size cap) ends the scan where it is: the consumer
// is marked for a resync anyway.
Result<uint64_t> CursorAtTime(const std::string& brick_path, uint64_t cursor, uint64_t limit_ns,
                              uint64_t max_records);

}  // namespace georep::daemon

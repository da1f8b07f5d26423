// Minimal leveled logging for the sync processes: one line per event,
// "2026-11-24T01:02:03.456Z LEVEL [component] message", to stderr or to the
// file named by SetLogFile. Thread-safe.
#pragma once

#include <string>

namespace georep::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLevel(Level level);
Level GetLevel();
// Parses "debug", "info", "warning", "error".
bool ParseLevel(const std::string& s, Level* out);
// Appends to `path` from now on; returns false (and keeps stderr) on failure.
bool SetLogFile(const std::string& path);
void Write(Level level, const std::string& component, const std::string& message);

inline void Debug(const std::string& c, const std::string& m) { Write(Level::kDebug, c, m); }
inline void Info(const std::string& c, const std::string& m) { Write(Level::kInfo, c, m); }
inline void Warning(const std::string& c, const std::string& m) { Write(Level::kWarning, c, m); }
inline void Error(const std::string& c, const std::string& m) { Write(Level::kError, c, m); }

}  // namespace georep::log

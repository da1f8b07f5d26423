#include "sync/daemon/status_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "sync/daemon/fs_util.h"

namespace georep::daemon {

std::string SanitizeId(const std::string& id) {
  std::string out;
  out.reserve(id.size());
  for (char ch : id) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '-' || ch == '_';
    out.push_back(ok ? ch : '_');
  }
  // Collapse runs of '_' produced by ":/" so names stay readable.
  std::string collapsed;
  for (char ch : out) {
    if (ch == '_' && !collapsed.empty() && collapsed.back() == '_') continue;
    collapsed.push_back(ch);
  }
  while (!collapsed.empty() && collapsed.back() == '_') collapsed.pop_back();
  if (collapsed.empty() || collapsed[0] == '.') collapsed.insert(collapsed.begin(), '_');
  if (collapsed.size() > 100) collapsed.resize(100);
  return collapsed;
}

std::string RenderStatus(const BrickStatus& s) {
  std::ostringstream o;
  auto one_line = [](std::string v) {
    for (char& c : v) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return v;
  };
  o << "primary_node=" << s.primary_node << "\n"
    << "primary_brick=" << s.primary_brick << "\n"
    << "secondary_node=" << s.secondary_node << "\n"
    << "status=" << s.status << "\n"
    << "crawl_status=" << s.crawl_status << "\n"
    << "last_synced=" << s.last_synced << "\n"
    << "pending_entry=" << s.pending_entry << "\n"
    << "pending_data=" << s.pending_data << "\n"
    << "pending_meta=" << s.pending_meta << "\n"
    << "failures=" << s.failures << "\n"
    << "replays_skipped=" << s.replays_skipped << "\n"
    << "stale_replaced=" << s.stale_replaced << "\n"
    << "last_failure=" << one_line(s.last_failure) << "\n"
    << "faulty_cause=" << one_line(s.faulty_cause) << "\n"
    << "checkpoint=" << s.checkpoint << "\n"
    << "checkpoint_completed=" << (s.checkpoint_completed ? "yes" : "no") << "\n"
    << "checkpoint_completion_time="
    << (s.checkpoint_completed ? std::to_string(s.checkpoint_completion_time) : "") << "\n"
    << "bytes_sent=" << s.bytes_sent << "\n"
    << "ops_applied=" << s.ops_applied << "\n"
    << "batches=" << s.batches << "\n"
    << "reconnects=" << s.reconnects << "\n"
    << "journal_seq=" << s.journal_seq << "\n"
    << "cursor_seq=" << s.cursor_seq << "\n"
    << "updated=" << s.updated << "\n";
  return o.str();
}

Result<std::map<std::string, std::string>> ParseKeyValues(const std::string& text) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return Status(Code::kCorruption, "line " + std::to_string(n) + " is not key=value");
    }
    kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

Status WriteStatusFile(const std::string& path, const BrickStatus& s) {
  // No fsync: the file is rewritten every second and only informs the CLI; a
  // crash may lose the last update but the rename keeps readers from seeing a
  // half-written file.
  return WriteFileAtomic(path, RenderStatus(s), /*sync=*/false);
}

}  // namespace georep::daemon

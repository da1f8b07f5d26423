#include "journal/dump.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

#include "journal/consumers.h"
#include "journal/fileutil.h"
#include "journal/reader.h"
#include "journal/record.h"
#include "journal/writer.h"

namespace georep::journal {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDamaged = 3;
// --follow wakes up at least this often to notice a signal.
constexpr std::chrono::milliseconds kFollowWait{500};

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

const char kUsage[] =
    "usage: georep-journal dump <brick-path> [--from SEQ] [--follow] [--json]\n"
    "       georep-journal consumers <brick-path>\n"
    "\n"
    "dump       prints the brick's journal records from SEQ (default: the oldest),\n"
    "           one line each, with '#' lines for segment headers, sequence gaps\n"
    "           and a final summary of damaged regions. --follow keeps waiting for\n"
    "           new records until interrupted. --json prints one JSON object per line.\n"
    "consumers  lists the registered consumers, their cursors and resync markers.\n"
    "\n"
    "Exit status: 0 clean, 1 error, 2 usage, 3 the journal has gaps or damage.\n";

int Usage(const char* problem) {
  if (problem != nullptr) std::fprintf(stderr, "georep-journal: %s\n", problem);
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    if (c < 0x80) {
      n = 0;
    } else if ((c >> 5) == 0x6) {
      n = 1;
    } else if ((c >> 4) == 0xe) {
      n = 2;
    } else if ((c >> 3) == 0x1e) {
      n = 3;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; k++) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n + 1;
  }
  return true;
}

std::string UtcTime(uint64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000ull);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char b[64];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

// JSON string; file names are bytes, not necessarily UTF-8, so invalid UTF-8
// goes out as a "hex:" string rather than as invalid JSON.
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  if (!ValidUtf8(s)) {
    out += "hex:";
    static const char* kHex = "0123456789abcdef";
    for (unsigned char c : s) {
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
    return out + "\"";
  }
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

std::string RecordJson(const Record& r) {
  std::string xattrs = "[";
  size_t start = 0;
  bool first = true;
  while (!r.xattr_names.empty() && start <= r.xattr_names.size()) {
    size_t end = r.xattr_names.find('\0', start);
    if (end == std::string::npos) end = r.xattr_names.size();
    if (end > start) {
      if (!first) xattrs += ",";
      xattrs += JsonString(std::string_view(r.xattr_names).substr(start, end - start));
      first = false;
    }
    start = end + 1;
  }
  xattrs += "]";
  auto u = [](uint64_t v) { return std::to_string(v); };
  return "{\"seq\":" + u(r.seq) + ",\"time_ns\":" + u(r.time_ns) + ",\"op\":\"" + OpName(r.op) +
         "\",\"origin\":\"" + OriginName(r.origin) + "\",\"flags\":" + u(r.flags) +
         ",\"gfid\":\"" + GfidToString(r.gfid) + "\",\"pargfid\":\"" + GfidToString(r.pargfid) +
         "\",\"name\":" + JsonString(r.name) + ",\"pargfid2\":\"" + GfidToString(r.pargfid2) +
         "\",\"name2\":" + JsonString(r.name2) + ",\"gfid2\":\"" + GfidToString(r.gfid2) +
         "\",\"mode\":" + u(r.mode) + ",\"uid\":" + u(r.uid) + ",\"gid\":" + u(r.gid) +
         ",\"rdev\":" + u(r.rdev) + ",\"offset\":" + u(r.offset) + ",\"length\":" + u(r.length) +
         ",\"attr_mask\":" + u(r.attr_mask) + ",\"aux\":" + u(r.aux) +
         ",\"atime_ns\":" + u(r.atime_ns) + ",\"mtime_ns\":" + u(r.mtime_ns) +
         ",\"target\":" + JsonString(r.target) + ",\"xattr_names\":" + xattrs + "}";
}

}  // namespace

int RunJournalDump(int argc, char** argv) {
  std::string brick;
  uint64_t from = 0;
  bool follow = false, json = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--follow") {
      follow = true;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--from") {
      if (i + 1 >= argc || !internal::ParseU64(argv[i + 1], &from)) {
        return Usage("--from needs a sequence number");
      }
      i++;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (!a.empty() && a[0] == '-') {
      return Usage(("unknown option " + a).c_str());
    } else if (brick.empty()) {
      brick = a;
    } else {
      return Usage("more than one brick path given");
    }
  }
  if (brick.empty()) return Usage("no brick path given");

  auto opened = JournalReader::Open(brick, from > 0 ? from - 1 : 0);
  if (!opened.ok()) {
    std::fprintf(stderr, "georep-journal: %s\n", opened.status().ToString().c_str());
    return kExitError;
  }
  JournalReader& reader = **opened;
  reader.SetSegmentHeaderCallback([json](const std::string& path, const SegmentHeader& h) {
    std::string when = UtcTime(h.created_ns);
    if (json) {
      std::printf("{\"event\":\"segment\",\"path\":%s,\"version\":%u,\"first_seq\":%llu,"
                  "\"created_ns\":%llu,\"brick_id\":%s}\n",
                  JsonString(path).c_str(), h.version, static_cast<unsigned long long>(h.first_seq),
                  static_cast<unsigned long long>(h.created_ns), JsonString(h.brick_id).c_str());
    } else {
      std::printf("# segment %s: format v%u, first seq %llu, created %s, brick %s\n", path.c_str(),
                  h.version, static_cast<unsigned long long>(h.first_seq), when.c_str(),
                  h.brick_id.c_str());
    }
  });

  if (follow) {
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
  }
  uint64_t records = 0, gaps = 0;
  int rc = kExitOk;
  Record r;
  // Without --follow the loop ends at the end of the data; with it, at a
  // signal (checked at least every kFollowWait).
  while (!g_stop) {
    auto got = reader.Next(&r);
    if (!got.ok()) {
      if (got.status().code() == Code::kFailedPrecondition) {
        gaps++;
        if (json) {
          std::printf("{\"event\":\"gap\",\"message\":%s}\n",
                      JsonString(got.status().message()).c_str());
        } else {
          std::printf("# GAP: %s\n", got.status().message().c_str());
        }
        continue;  // the reader resumes after the hole
      }
      std::fprintf(stderr, "georep-journal: %s\n", got.status().ToString().c_str());
      rc = kExitError;
      break;
    }
    if (*got) {
      records++;
      std::puts(json ? RecordJson(r).c_str() : FormatRecord(r).c_str());
      continue;
    }
    if (!follow) break;
    std::fflush(stdout);
    Status st = reader.WaitForData(kFollowWait);
    if (!st.ok()) {
      std::fprintf(stderr, "georep-journal: %s\n", st.ToString().c_str());
      rc = kExitError;
      break;
    }
  }

  const CorruptionReport& c = reader.corruption();
  if (json) {
    std::printf("{\"event\":\"summary\",\"records\":%llu,\"last_seq\":%llu,\"gaps\":%llu,"
                "\"damaged_regions\":%llu,\"bytes_dropped\":%llu,\"last_damage_segment\":%s,"
                "\"last_damage_offset\":%llu}\n",
                static_cast<unsigned long long>(records),
                static_cast<unsigned long long>(reader.last_seq()),
                static_cast<unsigned long long>(gaps), static_cast<unsigned long long>(c.events),
                static_cast<unsigned long long>(c.bytes_dropped),
                JsonString(c.last_segment).c_str(), static_cast<unsigned long long>(c.last_offset));
  } else {
    std::printf("# %llu record(s), last seq %llu, %llu gap(s); ",
                static_cast<unsigned long long>(records),
                static_cast<unsigned long long>(reader.last_seq()),
                static_cast<unsigned long long>(gaps));
    if (c.events == 0) {
      std::printf("no damaged regions\n");
    } else {
      std::printf("%llu damaged region(s), %llu bytes skipped, the last in %s at offset %llu\n",
                  static_cast<unsigned long long>(c.events),
                  static_cast<unsigned long long>(c.bytes_dropped), c.last_segment.c_str(),
                  static_cast<unsigned long long>(c.last_offset));
    }
  }
  std::fflush(stdout);
  if (rc == kExitOk && (gaps > 0 || c.events > 0)) rc = kExitDamaged;
  return rc;
}

int RunJournalConsumers(int argc, char** argv) {
  if (argc != 2) return Usage("consumers takes exactly one brick path");
  ConsumerRegistry reg(argv[1]);
  auto list = reg.List();
  if (!list.ok()) {
    std::fprintf(stderr, "georep-journal: %s\n", list.status().ToString().c_str());
    return kExitError;
  }
  if (list->empty()) {
    std::printf("no consumers registered in %s\n", JournalRoot(argv[1]).c_str());
    return kExitOk;
  }
  bool any_resync = false;
  for (const auto& c : *list) {
    std::printf("%s cursor=%llu%s%s\n", c.name.c_str(), static_cast<unsigned long long>(c.cursor),
                c.resync ? " RESYNC NEEDED: " : "", c.resync ? c.resync->c_str() : "");
    any_resync = any_resync || c.resync.has_value();
  }
  return any_resync ? kExitDamaged : kExitOk;
}

int RunJournalTool(int argc, char** argv) {
  if (argc < 1) return Usage(nullptr);
  std::string cmd = argv[0];
  if (cmd == "dump") return RunJournalDump(argc, argv);
  if (cmd == "consumers") return RunJournalConsumers(argc, argv);
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  return Usage(("unknown command " + cmd).c_str());
}

}  // namespace georep::journal

#include "sync/cli/status_view.h"

#include <algorithm>
#include <cctype>

namespace georep::cli {

std::string NormalizeStatus(const std::string& s) {
  static const char* kNames[] = {"Created", "Initializing", "Active", "Passive", "Faulty", "Paused", "Stopped"};
  std::string lower;
  for (char c : s) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "initializing...") lower = "initializing";
  for (const char* n : kNames) {
    std::string ln;
    for (const char* p = n; *p; ++p) ln.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(*p))));
    if (ln == lower) return n;
  }
  return s.empty() ? "N/A" : s;
}

std::string DisplayTime(const std::string& value) {
  if (value.empty() || value == "0" || value == "N/A") return "N/A";
  if (IsDecimal(value)) return FormatLocalTime(ToInt(value, 0));
  return value;
}

namespace {
std::string OrNA(const std::string& v) { return v.empty() ? "N/A" : v; }
std::string YesNo(const std::string& v) {
  if (v == "yes" || v == "Yes" || v == "true" || v == "1") return "Yes";
  if (v == "no" || v == "No" || v == "false" || v == "0") return "No";
  return OrNA(v);
}
}  // namespace

std::optional<long long> SilentFor(const PeerLine& brick_line) {
  const long long age = ToInt(brick_line.Get("age_s"), -1);
  if (age > kStaleStatusS) return age;
  return std::nullopt;
}

std::vector<StatusRow> BuildStatusRows(const SessionView& s, const std::vector<PeerLine>& brick_lines) {
  std::string state = Lookup(s.conf, "state", "created");
  std::string secondary = Lookup(s.conf, "secondary_host") + "::" + Lookup(s.conf, "secondary_volume");
  std::string checkpoint = Lookup(s.conf, "checkpoint");
  std::vector<StatusRow> rows;
  for (const Brick& b : s.bricks) {
    StatusRow r;
    r.primary_node = b.host;
    r.primary_volume = Lookup(s.conf, "primary_volume");
    r.primary_brick = b.path;
    r.secondary_user = Lookup(s.conf, "secondary_user", "root");
    r.secondary = secondary;
    const PeerLine* found = nullptr;
    for (const PeerLine& pl : brick_lines) {
      // georepd writes host:/path as glusterd lists it; accept a bare path too.
      if (pl.Get("primary_brick") != b.Name() && pl.Get("primary_brick") != b.path) continue;
      // A brick path is unique per node: match the node by UUID when georepd
      // wrote it through this node's helper, else by name.
      if (pl.node == b.node_uuid || pl.Get("primary_node") == b.host) {
        found = &pl;
        break;
      }
    }
    if (state == "created") {
      r.status = "Created";
    } else if (state == "stopped") {
      r.status = "Stopped";
    } else if (found == nullptr) {
      r.status = state == "paused" ? "Paused" : "Initializing";
    } else {
      r.status = NormalizeStatus(found->Get("status"));
      if (state == "paused") r.status = "Paused";
      // A worker rewrites its status file every second; an old one is the
      // last word of a georepd that died or hangs, and its "Active" a lie.
      if (std::optional<long long> silent = SilentFor(*found)) {
        r.status = "Faulty";
        r.faulty_cause = "georepd on " + b.host + " has not written this worker's status for " +
                         std::to_string(*silent) + " s (last at " + DisplayTime(found->Get("updated")) +
                         "): it is not running there, or hangs. Check `systemctl status georepd` and "
                         "its log on " + b.host;
      }
    }
    if (found != nullptr && (state == "started" || state == "paused")) {
      r.secondary_node = OrNA(found->Get("secondary_node"));
      r.crawl_status = OrNA(found->Get("crawl_status"));
      r.last_synced = DisplayTime(found->Get("last_synced"));
      r.entry = OrNA(found->Get("pending_entry"));
      r.data = OrNA(found->Get("pending_data"));
      r.meta = OrNA(found->Get("pending_meta"));
      r.failures = OrNA(found->Get("failures"));
      if (r.faulty_cause.empty()) r.faulty_cause = found->Get("faulty_cause");
      r.last_failure = found->Get("last_failure");
      // Completion fields describe the checkpoint georepd last saw; an older
      // one says nothing about the current checkpoint.
      std::string seen = found->Get("checkpoint");
      if (!checkpoint.empty() && (seen.empty() || seen == checkpoint)) {
        r.checkpoint_completed = YesNo(found->Get("checkpoint_completed"));
        r.checkpoint_completion_time =
            r.checkpoint_completed == "Yes" ? DisplayTime(found->Get("checkpoint_completion_time")) : "N/A";
      }
    }
    if (!checkpoint.empty()) {
      r.checkpoint_time = DisplayTime(checkpoint);
      if (r.checkpoint_completed == "N/A") r.checkpoint_completed = "No";
    }
    if (r.status == "Faulty" && r.faulty_cause.empty()) {
      r.faulty_cause = "georepd reported Faulty without a cause; see its log on " + r.primary_node;
    }
    rows.push_back(r);
  }
  return rows;
}

std::string FormatStatusTable(const std::vector<StatusRow>& rows, bool detail) {
  std::vector<std::string> header = {"PRIMARY NODE", "PRIMARY VOL", "PRIMARY BRICK", "SECONDARY USER", "SECONDARY",
                                     "SECONDARY NODE", "STATUS", "CRAWL STATUS", "LAST_SYNCED"};
  if (detail) {
    for (const char* h : {"ENTRY", "DATA", "META", "FAILURES", "CHECKPOINT TIME", "CHECKPOINT COMPLETED",
                          "CHECKPOINT COMPLETION TIME"}) {
      header.push_back(h);
    }
  }
  std::vector<std::vector<std::string>> cells;
  for (const StatusRow& r : rows) {
    std::vector<std::string> c = {r.primary_node, r.primary_volume, r.primary_brick, r.secondary_user, r.secondary,
                                  r.secondary_node, r.status, r.crawl_status, r.last_synced};
    if (detail) {
      for (const std::string* v : {&r.entry, &r.data, &r.meta, &r.failures, &r.checkpoint_time,
                                   &r.checkpoint_completed, &r.checkpoint_completion_time}) {
        c.push_back(*v);
      }
    }
    cells.push_back(c);
  }
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) {
    width[i] = header[i].size();
    for (const auto& c : cells) width[i] = std::max(width[i], c[i].size());
  }
  auto line = [&](const std::vector<std::string>& c) {
    std::string s;
    for (size_t i = 0; i < c.size(); ++i) {
      s += c[i];
      if (i + 1 < c.size()) s += std::string(width[i] - c[i].size() + 4, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::string out = "\n" + line(header);
  size_t total = 0;
  for (size_t i = 0; i < width.size(); ++i) total += width[i] + (i + 1 < width.size() ? 4 : 0);
  out += std::string(total, '-') + "\n";
  for (const auto& c : cells) out += line(c);
  if (detail) {
    for (const StatusRow& r : rows) {
      if (!r.faulty_cause.empty()) {
        out += "\nFaulty: " + r.primary_node + ":" + r.primary_brick + ": " + r.faulty_cause + "\n";
      }
      if (!r.last_failure.empty()) {
        out += "\nLast failure: " + r.primary_node + ":" + r.primary_brick + ": " + r.last_failure + "\n";
      }
    }
  }
  return out;
}

namespace {

std::string XmlEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o.push_back(c);
    }
  }
  return o;
}

std::string JsonEscape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o.push_back('\\');
      o.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", c);
      o += buf;
    } else {
      o.push_back(static_cast<char>(c));
    }
  }
  return o;
}

std::vector<std::pair<const char*, std::string>> RowFields(const StatusRow& r, bool detail) {
  std::vector<std::pair<const char*, std::string>> f = {
      {"primary_node", r.primary_node},     {"primary_volume", r.primary_volume},
      {"primary_brick", r.primary_brick},   {"secondary_user", r.secondary_user},
      {"secondary", r.secondary},           {"secondary_node", r.secondary_node},
      {"status", r.status},                 {"crawl_status", r.crawl_status},
      {"last_synced", r.last_synced}};
  if (detail) {
    f.insert(f.end(), {{"entry", r.entry},
                       {"data", r.data},
                       {"meta", r.meta},
                       {"failures", r.failures},
                       {"checkpoint_time", r.checkpoint_time},
                       {"checkpoint_completed", r.checkpoint_completed},
                       {"checkpoint_completion_time", r.checkpoint_completion_time},
                       {"faulty_cause", r.faulty_cause},
                       {"last_failure", r.last_failure}});
  }
  return f;
}

}  // namespace

std::string FormatStatusXml(const std::vector<std::pair<std::string, std::vector<StatusRow>>>& sessions,
                            bool detail) {
  std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<cliOutput>\n"
                  "  <opRet>0</opRet>\n  <opErrno>0</opErrno>\n  <opErrstr/>\n  <geoRep>\n";
  for (const auto& [name, rows] : sessions) {
    o += "    <session>\n      <name>" + XmlEscape(name) + "</name>\n";
    for (const StatusRow& r : rows) {
      o += "      <pair>\n";
      for (const auto& [k, v] : RowFields(r, detail)) {
        o += std::string("        <") + k + ">" + XmlEscape(v) + "</" + k + ">\n";
      }
      o += "      </pair>\n";
    }
    o += "    </session>\n";
  }
  o += "  </geoRep>\n</cliOutput>\n";
  return o;
}

std::string FormatStatusJson(const std::vector<std::pair<std::string, std::vector<StatusRow>>>& sessions,
                             bool detail) {
  std::string o = "{\"sessions\": [";
  bool first_s = true;
  for (const auto& [name, rows] : sessions) {
    o += first_s ? "" : ", ";
    first_s = false;
    o += "{\"name\": \"" + JsonEscape(name) + "\", \"bricks\": [";
    bool first_r = true;
    for (const StatusRow& r : rows) {
      o += first_r ? "{" : ", {";
      first_r = false;
      bool first_f = true;
      for (const auto& [k, v] : RowFields(r, detail)) {
        o += (first_f ? "\"" : ", \"") + std::string(k) + "\": \"" + JsonEscape(v) + "\"";
        first_f = false;
      }
      o += "}";
    }
    o += "]}";
  }
  o += "]}\n";
  return o;
}

}  // namespace georep::cli

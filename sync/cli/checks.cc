#include "sync/cli/checks.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace georep::cli {

long long ClockOffsetMs(const NodeClock& c) {
  if (c.now_ns < c.sent_ns) return (c.now_ns - c.sent_ns) / 1000000;
  if (c.now_ns > c.received_ns) return (c.now_ns - c.received_ns) / 1000000;
  return 0;
}

std::string CheckClocks(const std::vector<NodeClock>& clocks, long long max_offset_ms) {
  std::string unsynced, skewed;
  for (const NodeClock& c : clocks) {
    if (c.ntp != "synced") unsynced += (unsynced.empty() ? "" : ", ") + c.node;
    long long off = ClockOffsetMs(c);
    if (std::llabs(off) > max_offset_ms) {
      skewed += (skewed.empty() ? "" : ", ") + c.node + " (" + (off > 0 ? "+" : "") + std::to_string(off) + " ms)";
    }
  }
  if (!skewed.empty()) {
    return "Clocks differ by more than " + std::to_string(max_offset_ms) + " ms on " + skewed +
           ": checkpoints and LAST_SYNCED compare times across nodes. Fix: synchronise all primary and "
           "secondary nodes with NTP (chrony, systemd-timesyncd), or add force to create anyway";
  }
  if (!unsynced.empty()) {
    return "The kernel reports the clock as not synchronised (NTP) on " + unsynced +
           ". Fix: run an NTP client (chrony, systemd-timesyncd) on every primary and secondary node, "
           "or add force to create anyway";
  }
  return "";
}

std::string CheckAccounts(const std::string& user, const std::vector<NodeAccount>& accounts, std::string* warning) {
  warning->clear();
  std::string missing;
  for (const NodeAccount& a : accounts) {
    if (!a.exists) missing += (missing.empty() ? "" : ", ") + a.node;
  }
  std::vector<const NodeAccount*> present;
  for (const NodeAccount& a : accounts) {
    if (a.exists) present.push_back(&a);
  }
  bool differ = false;
  for (const NodeAccount* a : present) {
    if (a->uid != present[0]->uid || a->gid != present[0]->gid) differ = true;
  }
  if (differ) {
    std::string list;
    for (const NodeAccount* a : present) {
      list += (list.empty() ? "" : ", ") + a->node + " uid " + std::to_string(a->uid) + " gid " +
              std::to_string(a->gid);
    }
    *warning = "Warning: the account " + user + " has different UID/GID on the secondary nodes (" + list +
               "); give it the same UID and GID everywhere so that a failover keeps its files' ownership";
  }
  if (!missing.empty()) {
    return "The account " + user + " does not exist on secondary node(s) " + missing +
           ". Fix: create it on every secondary node (same UID and GID everywhere), e.g. useradd " + user;
  }
  return "";
}

std::string CheckDirection(const DirectionFacts& f) {
  for (const SessionRef& s : f.secondary_sessions) {
    bool back_to_us = s.secondary_volume == f.primary_volume &&
                      (std::find(f.primary_hosts.begin(), f.primary_hosts.end(), s.secondary_host) !=
                       f.primary_hosts.end());
    if (s.primary_volume == f.secondary_volume && back_to_us) {
      return "Refused: " + f.secondary_volume + " on " + f.secondary_host + " is already a georep primary of " +
             f.primary_volume + " (session " + s.name + "); replicating in both directions would let each volume "
             "overwrite the other. Fix: delete that session first, or check the order: georep <primary-vol> "
             "<host>::<secondary-vol>";
    }
  }
  if (f.primary_read_only) {
    return "Refused: the volumes look swapped: primary volume " + f.primary_volume +
           " is read-only (features.read-only on), as a georep secondary is. Fix: check the order: georep "
           "<primary-vol> <host>::<secondary-vol>, or turn features.read-only off on " + f.primary_volume +
           " if it really is the primary";
  }
  if (f.usage_known && f.primary_empty && !f.secondary_empty) {
    return "Refused: the volumes look swapped: primary volume " + f.primary_volume + " is empty while " +
           f.secondary_volume + " on " + f.secondary_host + " holds data. Fix: check the order: georep "
           "<primary-vol> <host>::<secondary-vol>";
  }
  return "";
}

std::string HumanBytes(unsigned long long b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string CheckEmpty(const std::string& volume, const std::string& host, const std::vector<std::string>& entries) {
  if (entries.empty()) return "";
  std::string list;
  for (const std::string& e : entries) list += (list.empty() ? "" : ", ") + e;
  return "Secondary volume " + volume + " on " + host + " is not empty (it holds " + list +
         "). Fix: use an empty volume, or add force to replicate into it anyway (files it already holds "
         "are not removed and may conflict)";
}

std::string CheckRoom(const std::string& secondary_volume, const std::string& host, unsigned long long primary_used,
                      unsigned long long secondary_avail) {
  if (secondary_avail >= primary_used) return "";
  return "Secondary volume " + secondary_volume + " on " + host + " has " + HumanBytes(secondary_avail) +
         " free but the primary volume holds " + HumanBytes(primary_used) +
         ". Fix: add bricks or space to the secondary volume, or add force to create anyway";
}

std::string VolumeRestartCommand(const std::string& pvol) {
  return "gluster volume stop " + pvol + " && gluster volume start " + pvol;
}

std::string TranslatorOptionConflict(const std::string& pvol, const std::string& value) {
  if (value.empty() || value == kTranslatorPlacement) return "";
  return std::string("Primary volume ") + pvol + " has " + kTranslatorOption + " set to '" + value +
         "': georep's translator must sit directly above posix to record every change that reaches the bricks. "
         "Fix: gluster volume set " + pvol + " " + kTranslatorOption + " " + kTranslatorPlacement +
         ", then restart the volume (" + VolumeRestartCommand(pvol) + ")";
}

std::string TranslatorOptionMissing(const std::string& pvol) {
  return std::string("Primary volume ") + pvol + " does not load georep's translator (" + kTranslatorOption +
         " is not set), so no change on it would be recorded. Fix: gluster volume set " + pvol + " " +
         kTranslatorOption + " " + kTranslatorPlacement + ", then restart the volume (" +
         VolumeRestartCommand(pvol) + ")";
}

std::string RestartBeforeStartNotice(const std::string& pvol, const std::string& session_display) {
  return std::string("The bricks of ") + pvol + " load georep's translator (" + kTranslatorOption + " " +
         kTranslatorPlacement + ") only when they restart, and start refuses until every brick records changes. "
         "Restart the volume, then start the session:\n"
         "    gluster volume stop " + pvol + "\n"
         "    gluster volume start " + pvol + "\n"
         "    georep " + session_display + " start\n";
}

namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

JournalVerdict CheckJournalWriters(const std::string& pvol, const std::vector<BrickJournal>& bricks,
                                   bool allow_offline) {
  std::vector<std::string> unknown, detached, offline;
  for (const BrickJournal& b : bricks) {
    if (b.writer) continue;  // recording, whatever volume status said a moment ago
    if (!b.error.empty()) {
      unknown.push_back(b.brick + " (" + b.error + ")");
    } else if (!b.probed) {
      unknown.push_back(b.brick + " (its node did not report on it)");
    } else if (b.online) {
      detached.push_back(b.brick);
    } else {
      offline.push_back(b.brick);
    }
  }
  JournalVerdict v;
  std::string off = offline.empty() ? ""
                                    : "Brick(s) " + JoinNames(offline) + " of primary volume " + pvol +
                                          " are offline";
  if (!detached.empty()) {
    v.refusal = "Brick(s) " + JoinNames(detached) + " of primary volume " + pvol +
                " run without georep's translator: their changes would not be recorded (the translator loads "
                "when a brick starts). Fix: restart the volume: " + VolumeRestartCommand(pvol) +
                " (restarted already? then a node has an older georep translator, which holds no journal lock: "
                "install the same georep on every node)";
    if (!off.empty()) v.refusal += ". Also: " + off;
    return v;
  }
  if (!unknown.empty()) {
    v.refusal = "Cannot tell whether these bricks of primary volume " + pvol + " record changes: " +
                JoinNames(unknown) + ". Fix the cause and retry";
    return v;
  }
  if (offline.empty()) return v;
  if (allow_offline) {
    v.warning = "Warning: " + off + "; their workers begin when they are back (they load the translator when they "
                "start)";
  } else {
    v.refusal = off + ". Fix: bring them back (gluster volume start " + pvol +
                " force), or add force to start the session now: their workers begin when they are back";
  }
  return v;
}

}  // namespace georep::cli

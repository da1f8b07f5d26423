#include "sync/verify/verify_main.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sync/verify/verifier.h"

namespace georep::verify {

namespace {

// Upper bound for --wait-until-equal: a day is longer than any sane wait.
constexpr double kMaxWaitSeconds = 86400;
// From this many GFID differences on (and when they are nearly all there is),
// suggest --ignore-gfid.
constexpr size_t kGfidHintThreshold = 10;

struct Args {
  std::string primary;
  std::string primary_server = "localhost";
  std::string secondary;
  std::string secondary_server = "localhost";
  std::string secondary_manifest;
  std::string gfapi_log;
  bool manifest_only = false;
  bool json = false;
  bool quiet = false;
  bool verbose = false;
  std::optional<double> wait_seconds;
  VerifyOptions verify;
};

void PrintUsage(const char* prog, FILE* out) {
  std::fprintf(out,
               "Usage: %s [options] PRIMARY_VOLUME [USER@]HOST::SECONDARY_VOLUME\n"
               "       %s [options] --primary VOL [--primary-server HOST]\n"
               "                    --secondary VOL [--secondary-server HOST]\n"
               "       %s [options] --primary VOL --secondary-manifest FILE|-\n"
               "       %s --manifest-only [--no-content] [--path DIR] --primary VOL [--primary-server HOST]\n"
               "\n"
               "Compares the primary and secondary trees of a geo-replication session: type, size,\n"
               "mode, owner, mtime, symlink target, content, user.*/security.* xattrs, POSIX ACLs,\n"
               "hard-link groups and GFIDs. Prints one line per difference.\n"
               "\n"
               "Options:\n"
               "  --path DIR                compare only this subtree (default /)\n"
               "  --threads N               concurrent requests per volume, 1..%d (default %d)\n"
               "  --no-content              do not read file contents\n"
               "  --dir-mtime               also compare directory mtimes (ignored by default: they\n"
               "                            change whenever entries inside are created)\n"
               "  --ignore-gfid             do not compare GFIDs (for copies not made by georep)\n"
               "  --ignore-xattrs           do not compare extended attributes and ACLs\n"
               "  --wait-until-equal SECS   compare repeatedly until identical or SECS have passed;\n"
               "                            prints the time until identical\n"
               "  --json                    print the result as one JSON object\n"
               "  --quiet                   print nothing on stdout; the exit status tells\n"
               "  --verbose                 print the time of each phase of the last pass on stderr\n"
               "  --gfapi-log FILE          where gfapi logs (default\n"
               "                            /var/log/glusterfs/georep-verify-VOLUME.log)\n"
               "  --manifest-only           print the primary's manifest instead of comparing\n"
               "  -h, --help                this text\n"
               "\n"
               "Exit status: 0 identical, 1 different, 2 error.\n",
               prog, prog, prog, prog, kMaxThreads, kDefaultThreads);
}

// Returns an error message, or "" when `args` is complete.
std::string ParseArgs(int argc, char** argv, Args* a, bool* help) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string opt = argv[i];
    std::optional<std::string> inline_value;
    if (opt.size() > 2 && opt.compare(0, 2, "--") == 0) {
      const size_t eq = opt.find('=');
      if (eq != std::string::npos) {
        inline_value = opt.substr(eq + 1);
        opt.resize(eq);
      }
    }
    auto value = [&](std::string* out) -> bool {
      if (inline_value) {
        *out = *inline_value;
        return true;
      }
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    auto flag = [&](bool* out) -> bool {
      if (inline_value) return false;
      *out = true;
      return true;
    };
    std::string v;
    bool ok = true;
    if (opt == "-h" || opt == "--help") {
      *help = true;
      return "";
    } else if (opt == "--primary") {
      ok = value(&a->primary);
    } else if (opt == "--primary-server") {
      ok = value(&a->primary_server);
    } else if (opt == "--secondary") {
      ok = value(&a->secondary);
    } else if (opt == "--secondary-server") {
      ok = value(&a->secondary_server);
    } else if (opt == "--secondary-manifest") {
      ok = value(&a->secondary_manifest);
    } else if (opt == "--gfapi-log") {
      ok = value(&a->gfapi_log);
    } else if (opt == "--path") {
      ok = value(&a->verify.root);
      if (ok && (a->verify.root.empty() || a->verify.root[0] != '/')) {
        return "--path must be an absolute path inside the volume, such as /projects";
      }
      while (ok && a->verify.root.size() > 1 && a->verify.root.back() == '/') a->verify.root.pop_back();
    } else if (opt == "--threads") {
      ok = value(&v);
      char* end = nullptr;
      const long n = ok ? std::strtol(v.c_str(), &end, 10) : 0;
      if (ok && (end == v.c_str() || *end != '\0' || n < 1 || n > kMaxThreads)) {
        return "--threads takes a number from 1 to " + std::to_string(kMaxThreads) + ", not '" + v + "'";
      }
      a->verify.threads = static_cast<int>(n);
    } else if (opt == "--wait-until-equal") {
      ok = value(&v);
      char* end = nullptr;
      const double s = ok ? std::strtod(v.c_str(), &end) : 0;
      if (ok && (end == v.c_str() || *end != '\0' || !(s > 0) || s > kMaxWaitSeconds)) {
        return "--wait-until-equal takes seconds, more than 0 and at most 86400, not '" + v + "'";
      }
      a->wait_seconds = s;
    } else if (opt == "--no-content") {
      bool b = false;
      ok = flag(&b);
      a->verify.diff.compare_content = !b;
    } else if (opt == "--dir-mtime") {
      ok = flag(&a->verify.diff.compare_dir_mtime);
    } else if (opt == "--ignore-gfid") {
      bool b = false;
      ok = flag(&b);
      a->verify.diff.compare_gfid = !b;
    } else if (opt == "--ignore-xattrs") {
      bool b = false;
      ok = flag(&b);
      a->verify.diff.compare_xattrs = !b;
    } else if (opt == "--json") {
      ok = flag(&a->json);
    } else if (opt == "--quiet") {
      ok = flag(&a->quiet);
    } else if (opt == "--verbose") {
      ok = flag(&a->verbose);
    } else if (opt == "--manifest-only") {
      ok = flag(&a->manifest_only);
    } else if (opt.size() > 1 && opt[0] == '-') {
      return "unknown option '" + opt + "' (see --help)";
    } else {
      positional.push_back(opt);
    }
    if (!ok) return "option " + opt + (inline_value ? " takes no value" : " needs a value");
  }

  if (a->manifest_only) {
    if (positional.size() == 1 && a->primary.empty()) a->primary = positional[0];
    else if (!positional.empty()) return "--manifest-only takes one volume";
    if (a->primary.empty()) return "--manifest-only needs the volume to list (--primary VOL)";
    if (!a->secondary.empty() || !a->secondary_manifest.empty()) {
      return "--manifest-only lists one volume; drop --secondary/--secondary-manifest";
    }
    if (a->wait_seconds) return "--wait-until-equal does not apply to --manifest-only";
    return "";
  }
  if (positional.size() == 2) {
    if (!a->primary.empty() || !a->secondary.empty()) {
      return "give the volumes either as two arguments or with --primary/--secondary, not both";
    }
    a->primary = positional[0];
    const std::string& target = positional[1];
    const size_t sep = target.find("::");
    if (sep == std::string::npos || sep == 0 || sep + 2 >= target.size()) {
      return "the secondary must be written [USER@]HOST::VOLUME, not '" + target + "'";
    }
    std::string host = target.substr(0, sep);
    const size_t at = host.find('@');
    // The user part names the SSH account of a geo-replication session; the
    // verifier reaches the secondary through gfapi and needs only the host.
    if (at != std::string::npos) host = host.substr(at + 1);
    if (host.empty()) return "no host in '" + target + "'";
    a->secondary_server = host;
    a->secondary = target.substr(sep + 2);
  } else if (!positional.empty()) {
    return "expected PRIMARY_VOLUME [USER@]HOST::SECONDARY_VOLUME, got " +
           std::to_string(positional.size()) + " argument(s) (see --help)";
  }
  if (a->primary.empty()) return "no primary volume given (see --help)";
  if (a->secondary.empty() == a->secondary_manifest.empty()) {
    return a->secondary.empty() ? "no secondary given: name a volume or --secondary-manifest FILE"
                                : "give either a secondary volume or --secondary-manifest, not both";
  }
  return "";
}

// JSON string body: control bytes and invalid UTF-8 bytes become \u00XX
// escapes of the byte value, so the output always parses.
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  auto hex = [&](unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", c);
    out += buf;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      hex(c);
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      const size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
      bool valid = len != 0 && i + len <= s.size();
      for (size_t k = 1; valid && k < len; ++k) {
        valid = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
      }
      if (valid) {
        out.append(s.substr(i, len));
        i += len - 1;
      } else {
        hex(c);
      }
    }
  }
  out.push_back('"');
  return out;
}

void PrintError(const char* prog, const Args& a, const std::string& message) {
  std::fprintf(stderr, "%s: error: %s\n", prog, message.c_str());
  if (message.find("Permission denied") != std::string::npos && geteuid() != 0) {
    std::fprintf(stderr, "%s: hint: run it as root: it must read every file of both volumes\n", prog);
  }
  if (a.json && !a.quiet) {
    std::printf("{\"result\":\"error\",\"error\":%s}\n", JsonString(message).c_str());
  }
}

struct Report {
  const PassResult* pass;
  bool equal;
  int passes;
  double seconds;
  bool waited;
  double confirming_pass_started;  // wait mode, when equal
  int secondary_polls;             // wait mode: polls of the secondary alone
  int secondary_walks;             // how many of those walked it (the rest stopped at a probe)
  int warmed_files[2];             // wait mode: files read ahead per side (Verifier::WarmAhead)
  int warm_walks;                  // wait mode: walks of the secondary that looked for more to warm
};

std::string PassCount(const Report& r) {
  std::string s = std::to_string(r.passes) + (r.passes == 1 ? " full pass" : " full passes");
  if (r.secondary_polls > 0) {
    s += " and " + std::to_string(r.secondary_polls) + " poll" + (r.secondary_polls == 1 ? "" : "s") +
         " of the secondary alone (" + std::to_string(r.secondary_walks) + " walked it)";
  }
  const int warmed = r.warmed_files[0] + r.warmed_files[1];
  if (warmed > 0) {
    s += ", " + std::to_string(warmed) + " file" + (warmed == 1 ? "" : "s") + " read ahead";
  }
  return s;
}

void PrintText(const std::string& primary, const std::string& secondary, const Report& r) {
  const PassResult& p = *r.pass;
  for (const Difference& d : p.differences) std::printf("%s\n", FormatDifference(d).c_str());
  const std::string sides = "primary " + primary + ", " + std::to_string(p.stats.primary_entries) +
                            " entries; secondary " + secondary + ", " +
                            std::to_string(p.stats.secondary_entries) + " entries";
  const char* content = p.stats.content_compared ? "content compared" : "content not compared";
  if (r.equal) {
    if (r.waited) {
      std::printf("identical after %.3f s (%s, the last began at %.3f s; %s; %s)\n", r.seconds,
                  PassCount(r).c_str(), r.confirming_pass_started, sides.c_str(), content);
    } else {
      std::printf("identical (%s; %s; %.3f s)\n", sides.c_str(), content, r.seconds);
    }
  } else {
    const size_t n = p.differences.size();
    if (r.waited) {
      std::printf("still different after %.3f s (%s): %zu difference%s (%s)\n", r.seconds,
                  PassCount(r).c_str(), n, n == 1 ? "" : "s", sides.c_str());
    } else {
      std::printf("different: %zu difference%s (%s; %s; %.3f s)\n", n, n == 1 ? "" : "s",
                  sides.c_str(), content, r.seconds);
    }
  }
}

void PrintJson(const std::string& primary, const std::string& secondary, const Report& r) {
  const PassResult& p = *r.pass;
  std::string out = "{\"result\":";
  out += r.equal ? "\"identical\"" : "\"different\"";
  out += ",\"differences\":[";
  for (size_t k = 0; k < p.differences.size(); ++k) {
    const Difference& d = p.differences[k];
    if (k > 0) out += ",";
    out += "{\"path\":" + JsonString(DisplayPath(d.path)) + ",\"kind\":" + JsonString(DiffKindName(d.kind));
    if (!d.attribute.empty()) out += ",\"attribute\":" + JsonString(d.attribute);
    out += ",\"primary\":" + JsonString(d.primary) + ",\"secondary\":" + JsonString(d.secondary);
    if (d.entries_below != 0) out += ",\"entries_below\":" + std::to_string(d.entries_below);
    out += ",\"text\":" + JsonString(FormatDifference(d)) + "}";
  }
  out += "],\"primary\":{\"source\":" + JsonString(primary) +
         ",\"entries\":" + std::to_string(p.stats.primary_entries) + "}";
  out += ",\"secondary\":{\"source\":" + JsonString(secondary) +
         ",\"entries\":" + std::to_string(p.stats.secondary_entries) + "}";
  out += std::string(",\"content_compared\":") + (p.stats.content_compared ? "true" : "false");
  char buf[128];
  std::snprintf(buf, sizeof buf,
                ",\"seconds\":%.6f,\"passes\":%d,\"secondary_polls\":%d,\"secondary_walks\":%d",
                r.seconds, r.passes, r.secondary_polls, r.secondary_walks);
  out += buf;
  if (r.waited) {
    std::snprintf(buf, sizeof buf,
                  ",\"warmed_primary_files\":%d,\"warmed_secondary_files\":%d,\"warm_walks\":%d",
                  r.warmed_files[0], r.warmed_files[1], r.warm_walks);
    out += buf;
  }
  if (r.equal) {
    const double now = std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
    std::snprintf(buf, sizeof buf, ",\"identical_at_unix\":%.6f", now);
    out += buf;
    if (r.waited) {
      std::snprintf(buf, sizeof buf, ",\"confirming_pass_started_seconds\":%.6f",
                    r.confirming_pass_started);
      out += buf;
    }
  }
  out += "}";
  std::printf("%s\n", out.c_str());
}

Result<Side> OpenVolumeSide(const std::string& volume, const std::string& server,
                            const std::string& log, bool content) {
  VolumeSpec spec;
  spec.volume = volume;
  spec.server = server;
  spec.log_file = log;
  spec.content_with_lookup = content;
  spec.leave_to_process_exit = true;  // the command ends right after
  Result<std::unique_ptr<GlusterVolume>> v = GlusterVolume::Connect(spec);
  if (!v.ok()) return v.status();
  Side side;
  side.volume = std::move(*v);
  return side;
}

// A brick that does not answer hides its entries: say so before the
// differences make it look like a replication problem.
void WarnAboutSilentBricks(const char* prog, const char* role, const Side& side) {
  if (!side.volume) return;
  Result<GlusterVolume::BrickCount> c = side.volume->CountBricks();
  if (!c.ok() || c->total == 0 || c->answering >= c->total) return;
  std::fprintf(stderr,
               "%s: warning: %s: %d of %d bricks of %s did not answer; entries stored only on them "
               "will look missing (check: gluster volume status %s)\n",
               prog, role, c->total - c->answering, c->total, side.volume->Describe().c_str(),
               side.volume->spec().volume.c_str());
}

Result<Side> OpenManifestSide(const std::string& path) {
  Side side;
  if (path == "-") {
    Result<Manifest> m = ReadManifest(std::cin);
    if (!m.ok()) return m.status().Annotate("manifest on standard input");
    side.manifest = std::move(*m);
    return side;
  }
  std::ifstream in(path);
  if (!in) return Status::FromErrno(errno, "open manifest '" + path + "'");
  Result<Manifest> m = ReadManifest(in);
  if (!m.ok()) return m.status().Annotate("manifest '" + path + "'");
  side.manifest = std::move(*m);
  return side;
}

}  // namespace

int RunVerify(int argc, char** argv) {
  const char* prog = argc > 0 && argv[0] != nullptr ? argv[0] : "georep-verify";
  if (const char* slash = std::strrchr(prog, '/')) prog = slash + 1;
  Args a;
  bool help = false;
  const std::string usage_error = ParseArgs(argc, argv, &a, &help);
  if (help) {
    PrintUsage(prog, stdout);
    return kExitIdentical;
  }
  if (!usage_error.empty()) {
    std::fprintf(stderr, "%s: error: %s\n", prog, usage_error.c_str());
    return kExitError;
  }

  if (a.manifest_only) {
    Result<Side> side =
        OpenVolumeSide(a.primary, a.primary_server, a.gfapi_log, a.verify.diff.compare_content);
    if (!side.ok()) {
      PrintError(prog, a, side.status().message());
      return kExitError;
    }
    WarnAboutSilentBricks(prog, "primary", *side);
    Result<Manifest> m = BuildManifest(side->volume.get(), a.verify.root, a.verify.diff.compare_content,
                                       a.verify.diff.compare_xattrs, a.verify.threads);
    if (!m.ok()) {
      PrintError(prog, a, m.status().message());
      return kExitError;
    }
    Status st = WriteManifest(*m, stdout);
    if (!st.ok()) {
      PrintError(prog, a, st.message());
      return kExitError;
    }
    return kExitIdentical;
  }

  // Both connections are made up front so that a wrong name fails at once,
  // and side by side: each costs a volfile fetch and a brick handshake per
  // brick, tens of milliseconds that a short comparison would otherwise
  // spend twice.
  const bool content = a.verify.diff.compare_content;
  std::optional<Result<Side>> secondary_volume;
  std::thread secondary_opener;
  if (a.secondary_manifest.empty()) {
    secondary_opener = std::thread([&] {
      secondary_volume.emplace(OpenVolumeSide(a.secondary, a.secondary_server, a.gfapi_log, content));
    });
  }
  Result<Side> primary = OpenVolumeSide(a.primary, a.primary_server, a.gfapi_log, content);
  if (secondary_opener.joinable()) secondary_opener.join();
  if (!primary.ok()) {
    PrintError(prog, a, "primary: " + primary.status().message());
    return kExitError;
  }
  Result<Side> secondary =
      secondary_volume ? std::move(*secondary_volume) : OpenManifestSide(a.secondary_manifest);
  if (!secondary.ok()) {
    std::string message = "secondary: " + secondary.status().message();
    if (a.secondary_manifest.empty()) {
      // Across sites often only SSH reaches the secondary; a manifest made
      // there travels over it.
      message += ". If only SSH reaches " + a.secondary_server + ", compare against a manifest made there: ssh " +
                 a.secondary_server + " georep-verify --manifest-only --primary " + a.secondary +
                 " | georep-verify --primary " + a.primary + " --secondary-manifest -";
    }
    PrintError(prog, a, message);
    return kExitError;
  }
  WarnAboutSilentBricks(prog, "primary", *primary);
  WarnAboutSilentBricks(prog, "secondary", *secondary);
  const std::string primary_desc = primary->Describe();
  const std::string secondary_desc = secondary->Describe();
  Verifier verifier(std::move(*primary), std::move(*secondary), a.verify);

  Report report{};
  PassResult single;
  Verifier::WaitResult waited;
  if (a.wait_seconds) {
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(std::llround(*a.wait_seconds * 1000)));
    Result<Verifier::WaitResult> w = verifier.WaitUntilEqual(timeout);
    if (!w.ok()) {
      PrintError(prog, a, w.status().message());
      return kExitError;
    }
    waited = std::move(*w);
    report = Report{&waited.last, waited.equal, waited.passes, waited.seconds, true,
                    waited.confirming_pass_started, waited.secondary_polls, waited.secondary_walks,
                    {waited.warmed_files[0], waited.warmed_files[1]}, waited.warm_walks};
  } else {
    Result<PassResult> r = verifier.RunPass(/*stop_at_first_differing_phase=*/false);
    if (!r.ok()) {
      PrintError(prog, a, r.status().message());
      return kExitError;
    }
    single = std::move(*r);
    report = Report{&single, single.differences.empty(), 1, single.stats.seconds, false, 0, 0, 0, {0, 0}, 0};
  }
  if (a.verbose) {
    const PassStats& st = report.pass->stats;
    std::fprintf(stderr,
                 "%s: last pass %.3f s: walk %.3f s, details %.3f s, content %.3f s "
                 "(%zu files, %llu bytes hashed)\n",
                 prog, st.seconds, st.walk_seconds, st.details_seconds, st.content_seconds,
                 st.files_hashed, static_cast<unsigned long long>(st.bytes_hashed));
  }
  if (!report.pass->content_note.empty()) {
    std::fprintf(stderr, "%s: warning: %s\n", prog, report.pass->content_note.c_str());
  }
  // A copy made by rsync, cp or native geo-replication's older modes has new
  // GFIDs everywhere: one hint beats thousands of lines without context.
  size_t gfid_diffs = 0;
  for (const Difference& d : report.pass->differences) gfid_diffs += d.attribute == "gfid" ? 1 : 0;
  if (gfid_diffs >= kGfidHintThreshold && gfid_diffs * 10 >= report.pass->differences.size() * 9) {
    std::fprintf(stderr,
                 "%s: hint: %zu entries have different GFIDs; if the secondary was not written by "
                 "georep (which keeps GFIDs), compare with --ignore-gfid\n",
                 prog, gfid_diffs);
  }
  if (!a.quiet) {
    if (a.json) {
      PrintJson(primary_desc, secondary_desc, report);
    } else {
      PrintText(primary_desc, secondary_desc, report);
    }
  }
  std::fflush(stdout);
  return report.equal ? kExitIdentical : kExitDifferent;
}

}  // namespace georep::verify

// journal_append_bench: how fast JournalWriter::Append is, compared with the
// cheapest thing it could be: one raw write() of the same number of bytes per
// record into one file (and, for fsync=always, one write()+fdatasync() per
// record without group commit). Both run in the same process, on the same
// file system, one after the other, so the ratio is meaningful even on a
// noisy shared machine; absolute rates are not.
//
// usage: journal_append_bench [--dir DIR] [--records N] [--sync-records N]
//   DIR      where to create scratch files (default $TMPDIR or /tmp); the
//            ratio is only meaningful on the file system bricks use
//   N        records per configuration for fsync never/interval (200000)
//   sync N   records per configuration for fsync always (2000)
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "journal/framing.h"
#include "journal/record.h"
#include "journal/writer.h"

namespace {

using georep::journal::FsyncPolicy;
using georep::journal::JournalWriter;
using georep::journal::Op;
using georep::journal::Record;
using georep::journal::WriterOptions;
using Clock = std::chrono::steady_clock;

// A typical entry record: a create with parent, name, mode and owner.
Record TypicalRecord(uint64_t i) {
  Record r;
  r.op = Op::kCreate;
  for (int k = 0; k < 16; k++) {
    r.gfid[k] = static_cast<uint8_t>(i >> (k % 8));
    r.pargfid[k] = static_cast<uint8_t>(k + 1);
  }
  r.name = "file-" + std::to_string(i) + ".dat";
  r.mode = 0100644;
  r.uid = 1000;
  r.gid = 1000;
  return r;
}

// Framed size of a typical record, so that the baseline writes as many bytes.
size_t FramedSize() {
  Record r = TypicalRecord(123456);
  r.seq = 123456;
  r.time_ns = 1;
  std::string enc, framed;
  georep::journal::EncodeRecord(r, &enc);
  uint64_t size = 100;
  georep::journal::internal::FrameRecord(enc, &size, &framed);
  return framed.size();
}

// Runs fn(thread_index, count) on `threads` threads and returns records/s.
template <typename Fn>
double RunThreads(int threads, uint64_t total, Fn fn) {
  uint64_t per = total / static_cast<uint64_t>(threads);
  std::vector<std::thread> ts;
  auto start = Clock::now();
  for (int t = 0; t < threads; t++) ts.emplace_back([&, t] { fn(t, per); });
  for (auto& th : ts) th.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(per * static_cast<uint64_t>(threads)) / secs;
}

double Baseline(const std::string& dir, int threads, uint64_t total, bool sync_each) {
  std::string path = dir + "/baseline.dat";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
  std::string buf(FramedSize(), 'x');
  std::mutex mu;
  uint64_t offset = 0;
  // Same shape as the journal: the offset is taken under a lock, one pwrite.
  double rate = RunThreads(threads, total, [&](int, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
      std::lock_guard<std::mutex> l(mu);
      if (::pwrite(fd, buf.data(), buf.size(), static_cast<off_t>(offset)) !=
          static_cast<ssize_t>(buf.size())) {
        std::perror("pwrite");
        std::exit(1);
      }
      offset += buf.size();
      if (sync_each) ::fdatasync(fd);
    }
  });
  ::close(fd);
  ::unlink(path.c_str());
  return rate;
}

double Journal(const std::string& dir, int threads, uint64_t total, FsyncPolicy policy,
               double* syncs_per_record) {
  std::string brick = dir + "/brick";
  std::filesystem::remove_all(brick);
  std::filesystem::create_directories(brick);
  WriterOptions o;
  o.brick_path = brick;
  o.brick_id = "bench:" + brick;
  o.fsync = policy;
  o.fsync_interval_ms = 1000;
  o.max_journal_size = 0;
  auto w = JournalWriter::Open(o);
  if (!w.ok()) {
    std::fprintf(stderr, "open journal: %s\n", w.status().ToString().c_str());
    std::exit(1);
  }
  std::vector<Record> recs;
  for (uint64_t i = 0; i < 64; i++) recs.push_back(TypicalRecord(i));
  std::atomic<uint64_t> errors{0};
  double rate = RunThreads(threads, total, [&](int t, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
      Record r = recs[(i + static_cast<uint64_t>(t)) % recs.size()];
      if (!(*w)->Append(&r).ok()) errors++;
    }
  });
  if (policy == FsyncPolicy::kAlways && syncs_per_record != nullptr) {
    *syncs_per_record = static_cast<double>((*w)->Stats().syncs) / static_cast<double>(total);
  }
  (void)(*w)->Close();
  std::filesystem::remove_all(brick);
  if (errors > 0) {
    std::fprintf(stderr, "%llu appends failed\n", static_cast<unsigned long long>(errors.load()));
    std::exit(1);
  }
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  const char* tmp = getenv("TMPDIR");
  std::string base = tmp != nullptr ? tmp : "/tmp";
  uint64_t records = 200000, sync_records = 2000;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      base = argv[++i];
    } else if (a == "--records" && i + 1 < argc) {
      records = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--sync-records" && i + 1 < argc) {
      sync_records = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--dir DIR] [--records N] [--sync-records N]\n", argv[0]);
      return 2;
    }
  }
  std::string tmpl = base + "/georep-journal-bench.XXXXXX";
  std::vector<char> b(tmpl.begin(), tmpl.end());
  b.push_back('\0');
  if (mkdtemp(b.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string dir = b.data();

  std::printf("journal append benchmark in %s, %zu bytes per framed record\n", dir.c_str(),
              FramedSize());
  std::printf("%-9s %7s %9s %14s %14s %8s\n", "fsync", "threads", "records", "journal/s",
              "raw-write/s", "ratio");
  struct Config {
    const char* name;
    FsyncPolicy policy;
  } configs[] = {{"never", FsyncPolicy::kNever},
                 {"interval", FsyncPolicy::kInterval},
                 {"always", FsyncPolicy::kAlways}};
  for (const auto& c : configs) {
    for (int threads : {1, 4}) {
      bool sync = c.policy == FsyncPolicy::kAlways;
      uint64_t n = sync ? sync_records : records;
      // Baseline and journal alternate twice and the better run of each is
      // kept, so that a burst of load from elsewhere hurts neither side alone.
      double base_rate = 0, journal_rate = 0, syncs = 0;
      for (int round = 0; round < 2; round++) {
        base_rate = std::max(base_rate, Baseline(dir, threads, n, sync));
        journal_rate = std::max(journal_rate, Journal(dir, threads, n, c.policy, &syncs));
      }
      std::printf("%-9s %7d %9llu %14.0f %14.0f %8.3f", c.name, threads,
                  static_cast<unsigned long long>(n), journal_rate, base_rate,
                  journal_rate / base_rate);
      if (sync) std::printf("   (%.2f fdatasync per record)", syncs);
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  std::printf("ratio = journal appends/s / raw write()s per second (same bytes per record;\n"
              "for fsync=always the baseline fdatasyncs every write, without group commit)\n");
  std::filesystem::remove_all(dir);
  return 0;
}

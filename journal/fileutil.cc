#include "journal/fileutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "journal/format.h"

namespace georep::journal::internal {
namespace {

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Closes an fd on every return path.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Status MakeDirs(const std::string& path) {
  if (path.empty()) return Status(Code::kInvalidArgument, "empty directory path");
  size_t pos = 0;
  while (true) {
    pos = path.find('/', pos + 1);
    std::string part = pos == std::string::npos ? path : path.substr(0, pos);
    if (!part.empty() && ::mkdir(part.c_str(), 0750) != 0 && errno != EEXIST) {
      return Status::FromErrno(errno, "create directory " + part);
    }
    if (pos == std::string::npos) break;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) return Status(Code::kFailedPrecondition, path + " exists and is not a directory");
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open directory " + dir);
  FdCloser c{fd};
  if (::fsync(fd) != 0) return Status::FromErrno(errno, "fsync directory " + dir);
  return Status::Ok();
}

Status PwriteAll(int fd, const char* data, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write " + path);
    }
    if (w == 0) return Status(Code::kIOError, "write " + path + ": wrote 0 bytes");
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, const std::string& data) {
  // Unique per process and call, so concurrent writers of the same file never
  // share a temporary; the leading '.' keeps it out of every listing.
  static std::atomic<uint64_t> counter{0};
  std::string dir = Dirname(path);
  std::string base = path.substr(dir.size() + (dir == "/" ? 0 : 1));
  std::string tmp = dir + "/." + base + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  Status st = PwriteAll(fd, data.data(), data.size(), 0, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Status::FromErrno(errno, "fsync " + tmp);
  if (::close(fd) != 0 && st.ok()) st = Status::FromErrno(errno, "close " + tmp);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Status::FromErrno(errno, "rename " + tmp + " to " + path);
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDir(dir);
}

int RemoveStaleTemporaries(const std::string& dir, int64_t min_age_s) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  int removed = 0;
  time_t now = ::time(nullptr);
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() < 2 || n[0] != '.' || n.find(".tmp.") == std::string::npos) continue;
    std::string path = dir + "/" + n;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (now - st.st_mtime < min_age_s) continue;
    if (::unlink(path.c_str()) == 0) removed++;
  }
  ::closedir(d);
  return removed;
}

Result<std::string> ReadSmallFile(const std::string& path, size_t max_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  FdCloser c{fd};
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read " + path);
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
    if (out.size() > max_size) {
      return Status(Code::kCorruption, path + " is larger than " + std::to_string(max_size) +
                                           " bytes; it is not a file georep wrote");
    }
  }
  return out;
}

std::string SegmentName(uint64_t first_seq) {
  char b[64];
  std::snprintf(b, sizeof b, "%0*llu%s", kSegmentNameDigits,
                static_cast<unsigned long long>(first_seq), kSegmentSuffix);
  return b;
}

bool ParseU64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool ParseSegmentName(const std::string& name, uint64_t* first_seq) {
  std::string suffix = kSegmentSuffix;
  if (name.size() != kSegmentNameDigits + suffix.size()) return false;
  if (name.compare(kSegmentNameDigits, suffix.size(), suffix) != 0) return false;
  return ParseU64(name.substr(0, kSegmentNameDigits), first_seq);
}

Result<std::vector<SegmentFile>> ListSegments(const std::string& segments_dir, bool with_sizes) {
  std::vector<SegmentFile> out;
  DIR* d = ::opendir(segments_dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return Status::FromErrno(errno, "open directory " + segments_dir);
  }
  while (true) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) break;
    SegmentFile f;
    f.name = e->d_name;
    if (!ParseSegmentName(f.name, &f.first_seq)) continue;
    f.path = segments_dir + "/" + f.name;
    if (with_sizes) {
      struct stat st;
      // A segment removed between readdir and stat is simply not listed.
      if (::stat(f.path.c_str(), &st) != 0) continue;
      f.size = static_cast<uint64_t>(st.st_size);
    }
    out.push_back(std::move(f));
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return Status::FromErrno(err, "read directory " + segments_dir);
  std::sort(out.begin(), out.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.first_seq < b.first_seq; });
  return out;
}

}  // namespace georep::journal::internal

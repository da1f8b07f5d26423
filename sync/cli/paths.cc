#include "sync/cli/paths.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "sync/cli/text_util.h"

#ifndef GEOREP_GLUSTERD_LIBEXECDIR
#define GEOREP_GLUSTERD_LIBEXECDIR "/usr/libexec/glusterfs"
#endif

namespace georep::cli {

std::string DefaultStateDir() {
  const char* env = getenv("GEOREP_STATE_DIR");
  if (env != nullptr && env[0] == '/') return env;
  return "/var/lib/georep";
}

std::string KeysDir(const std::string& s) { return s + "/keys"; }
std::string NodeKeyPath(const std::string& s) { return KeysDir(s) + "/georep_secret.pem"; }
std::string CommonPubKeysPath(const std::string& s) { return KeysDir(s) + "/common_secret.pem.pub"; }
std::string SessionsDir(const std::string& s) { return s + "/sessions"; }
std::string SessionDir(const std::string& s, const std::string& n) { return SessionsDir(s) + "/" + n; }
std::string SessionConfPath(const std::string& s, const std::string& n) { return SessionDir(s, n) + "/session.conf"; }
std::string KnownHostsPath(const std::string& s, const std::string& n) { return SessionDir(s, n) + "/known_hosts"; }
std::string StatusDir(const std::string& s, const std::string& n) { return SessionDir(s, n) + "/status"; }

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return !f.bad();
}

std::string GlusterdWorkdir() {
  std::string cmdline;
  if (ReadFile("/proc/" + std::to_string(getppid()) + "/cmdline", &cmdline)) {
    const std::string key = "management.working-directory=";
    for (const std::string& arg : Split(cmdline, '\0')) {
      if (StartsWith(arg, key)) return arg.substr(key.size());
    }
  }
  return "/var/lib/glusterd";
}

std::string LocalNodeUuid() {
  std::string info;
  if (!ReadFile(GlusterdWorkdir() + "/glusterd.info", &info)) return "";
  return Lookup(ParseKeyValues(info), "UUID");
}

std::string LocalHostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

std::string GlusterdLibexecDir() { return GEOREP_GLUSTERD_LIBEXECDIR; }
std::string PeerHelperPath() { return GlusterdLibexecDir() + "/peer_georep"; }

bool WriteFileAtomic(const std::string& path, const std::string& data, unsigned mode, std::string* error) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    *error = "cannot create " + tmp + ": " + strerror(errno);
    return false;
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = write(fd, data.data() + off, data.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      *error = "cannot write " + tmp + ": " + strerror(errno);
      close(fd);
      unlink(tmp.c_str());
      return false;
    }
    off += static_cast<size_t>(w);
  }
  if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
    *error = "cannot sync " + tmp + ": " + strerror(errno);
    close(fd);
    unlink(tmp.c_str());
    return false;
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot rename " + tmp + " to " + path + ": " + strerror(errno);
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

bool MakeDirs(const std::string& path, unsigned mode, std::string* error) {
  std::string cur;
  for (const std::string& part : Split(path, '/')) {
    if (part.empty()) {
      if (cur.empty()) cur = "/";
      continue;
    }
    if (!cur.empty() && cur.back() != '/') cur += "/";
    cur += part;
    if (mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
      *error = "cannot create directory " + cur + ": " + strerror(errno);
      return false;
    }
  }
  return true;
}

bool RemoveTree(const std::string& path, std::string* error) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return true;
    *error = "cannot stat " + path + ": " + strerror(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    // A writer that has not seen the removal yet (georepd's status files,
    // written every second until it notices session.conf is gone) can add
    // a file between the listing and the rmdir: list and empty it again, a
    // bounded number of times.
    constexpr int kAttempts = 20;
    for (int attempt = 1;; ++attempt) {
      DIR* d = opendir(path.c_str());
      if (d == nullptr) {
        if (errno == ENOENT) return true;
        *error = "cannot open " + path + ": " + strerror(errno);
        return false;
      }
      std::vector<std::string> names;
      while (struct dirent* e = readdir(d)) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
      }
      closedir(d);
      for (const std::string& n : names) {
        if (!RemoveTree(path + "/" + n, error)) return false;
      }
      if (rmdir(path.c_str()) == 0 || errno == ENOENT) return true;
      const int err = errno;
      if (err != ENOTEMPTY || attempt == kAttempts) {
        *error = "cannot remove " + path + ": " + strerror(err) +
                 (err == ENOTEMPTY ? " (files keep appearing in it: something still writes there; "
                                     "stop it and retry)"
                                   : "");
        return false;
      }
      usleep(50 * 1000);
    }
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    *error = "cannot remove " + path + ": " + strerror(errno);
    return false;
  }
  return true;
}

}  // namespace georep::cli

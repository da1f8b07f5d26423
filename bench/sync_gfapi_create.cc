// Creates COUNT files of SIZE bytes under DIR of a volume through libgfapi
// with THREADS threads (one glfs_t shared, as gfapi allows), and prints the
// rate. The raw baseline of bench/sync_backlog.sh, and its fast way to build
// a backlog on the primary.
//
// Usage: sync_gfapi_create VOLUME SERVER DIR COUNT SIZE THREADS
#include <fcntl.h>
#include <glusterfs/api/glfs.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s VOLUME SERVER DIR COUNT SIZE THREADS\n", argv[0]);
    return 2;
  }
  const std::string vol = argv[1], server = argv[2], dir = argv[3];
  const long count = std::atol(argv[4]), size = std::atol(argv[5]), threads = std::atol(argv[6]);
  if (count <= 0 || size < 0 || threads <= 0 || threads > 64) {
    std::fprintf(stderr, "bad COUNT, SIZE or THREADS\n");
    return 2;
  }
  glfs_t* fs = glfs_new(vol.c_str());
  if (fs == nullptr || glfs_set_volfile_server(fs, "tcp", server.c_str(), 24007) != 0) {
    std::perror("glfs_new/glfs_set_volfile_server");
    return 1;
  }
  glfs_set_logging(fs, "/dev/null", 7);
  if (glfs_init(fs) != 0) {
    std::perror("glfs_init");
    return 1;
  }
  if (glfs_mkdir(fs, dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::perror("glfs_mkdir");
    return 1;
  }
  std::string data(static_cast<size_t>(size), 'g');
  std::atomic<long> next{0}, failed{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (long t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (long i = next++; i < count; i = next++) {
        std::string path = dir + "/f" + std::to_string(i);
        glfs_fd_t* fd = glfs_creat(fs, path.c_str(), O_WRONLY | O_TRUNC, 0644);
        if (fd == nullptr) {
          ++failed;
          continue;
        }
        if (size > 0 && glfs_write(fd, data.data(), data.size(), 0) != size) ++failed;
        if (glfs_close(fd) != 0) ++failed;
      }
    });
  }
  for (auto& th : pool) th.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%ld files of %ld bytes with %ld threads in %.3f s: %.1f files/s (%ld failures)\n",
              count, size, threads, secs, count / secs, failed.load());
  // No glfs_fini: it waits ~11 s in GlusterFS 10.3 (gluster/glusterfs#2606).
  // Every file is closed (write-behind flushed), and the process exits now.
  return failed.load() == 0 ? 0 : 1;
}

// A read-only view of one GlusterFS volume through libgfapi, as the verifier
// needs it: a depth-first walk in manifest order, the per-entry details that
// cost a round trip each, and block digests read through anonymous fds.
//
// Thread safety: after Connect, Walk must not run concurrently with itself;
// FillDetails and DigestBlock may run from many threads at once (gfapi is
// thread-safe and the calls only read).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "sync/verify/content_hash.h"
#include "sync/verify/entry.h"

struct glfs;
struct glfs_object;

namespace georep::verify {

constexpr int kDefaultGlusterdPort = 24007;

struct VolumeSpec {
  std::string volume;
  std::string server = "localhost";  // a volfile server: any node of the volume's cluster
  int port = kDefaultGlusterdPort;
  // gfapi's own log file; empty means /var/log/glusterfs/georep-verify-<volume>.log
  // when that directory is writable, else /dev/null.
  std::string log_file;
  // glfs_fini waits 10 s for a frame that never completes in GlusterFS 10.3
  // (gluster/glusterfs#2606, closed wontfix). A process that exits right
  // after its last read may skip it: a read-only client buffers nothing and
  // the bricks see the disconnect. Then the gfapi instance (also one whose
  // glfs_init failed) is left to process exit.
  bool leave_to_process_exit = false;
  // Let the LOOKUP that gfapi makes before the first fop on an inode carry
  // the content of small files (quick-read; volume.cc says why that is
  // safe). Off when content is not compared: the bricks would read it for
  // nothing.
  bool content_with_lookup = true;
};

using ObjectRef = std::shared_ptr<glfs_object>;

// A walked tree: entries with stat fields and GFIDs filled in, sorted by
// ComparePaths, and the gfapi object of each entry (same index).
struct Scan {
  std::vector<Entry> entries;
  std::vector<ObjectRef> objects;
};

// Names at the volume root that belong to GlusterFS, not to users.
bool IsInternalRootName(const std::string& name);

class GlusterVolume {
 public:
  // Connects to the volume. Fails with a message naming the server, the
  // volume, the likely causes and the gfapi log to read.
  static Result<std::unique_ptr<GlusterVolume>> Connect(const VolumeSpec& spec);
  ~GlusterVolume();
  GlusterVolume(const GlusterVolume&) = delete;
  GlusterVolume& operator=(const GlusterVolume&) = delete;

  const VolumeSpec& spec() const { return spec_; }
  const std::string& log_file() const { return log_file_; }
  // "volume 'gvs' on host1".
  std::string Describe() const;

  // How many bricks the volume has (protocol/client translators in its
  // client volfile) and how many answered just now (the root's
  // trusted.glusterfs.pathinfo lists each brick that replied). Entries stored
  // only on silent bricks are invisible and would look missing.
  struct BrickCount {
    int total = 0;
    int answering = 0;
  };
  Result<BrickCount> CountBricks();

  // Walks the directory `root` ("/" or a subdirectory) and everything below
  // it. Entries that vanish during the walk are left out; a directory that
  // vanishes while being listed keeps its entry with `error` set.
  Result<Scan> Walk(const std::string& root);

  // The entry at `path` (absolute in the volume) as a walk would report it
  // (stat fields and GFID), or nullopt when nothing is there. One LOOKUP of
  // the last component (the directories above are usually in gfapi's inode
  // table already): --wait-until-equal's cheap check on a few entries the
  // last walk found behind, instead of listing the whole tree again.
  Result<std::optional<Entry>> Probe(const std::string& path);

  // Adds what readdirplus does not return: extended attributes (unless
  // `xattrs` is false: one round trip per entry saved), symlink targets, and
  // directories' stat merged over all bricks. Vanished entries get `error`
  // set rather than failing the scan.
  Status FillDetails(Entry* entry, glfs_object* object, bool xattrs);

  // Digest of block `index` of a regular file `size` bytes long.
  Result<BlockDigest> DigestBlock(glfs_object* object, uint64_t size, uint64_t index,
                                  BlockHasher* hasher, std::vector<uint8_t>* buffer);

 private:
  GlusterVolume(VolumeSpec spec, glfs* fs, std::string log_file)
      : spec_(std::move(spec)), fs_(fs), log_file_(std::move(log_file)) {}
  Status WalkDir(const ObjectRef& dir, size_t dir_index, bool at_volume_root, Scan* scan);

  VolumeSpec spec_;
  glfs* fs_;
  std::string log_file_;
};

// True for the errnos that mean "the entry went away while we looked at it".
bool IsVanishedErrno(int err);

}  // namespace georep::verify

// GfapiSource: reads the PRIMARY volume by GFID through libgfapi.
//
// One GfapiVolume (a glfs_t) per worker. GFIDs become handles with
// glfs_h_create_from_handle, so no path is ever resolved: a file renamed
// after it was journaled is still found, and one deleted since reports
// kNotFound (ENOENT/ESTALE), which the Materializer treats as "nothing to send".
#pragma once

#include <memory>
#include <string>

#include "sync/daemon/data_source.h"

struct glfs;

namespace georep::daemon {

class GfapiVolume {
 public:
  // Connects to `volume` through the management daemon at `server`:24007.
  // `log_file` receives gfapi's own log ("" = /dev/null).
  static Result<std::unique_ptr<GfapiVolume>> Open(const std::string& volume,
                                                   const std::string& server,
                                                   const std::string& log_file);
  // glfs_fini waits about 10 s in GlusterFS 10.3 (a frame that never
  // completes, gluster/glusterfs#2606, closed wontfix), so the destructor
  // hands it to a detached thread: a worker that reconnects, stops or
  // changes role must not wait for it. georepd's main leaves the ones still
  // running to process exit (PendingBackgroundFinis).
  ~GfapiVolume();
  GfapiVolume(const GfapiVolume&) = delete;
  GfapiVolume& operator=(const GfapiVolume&) = delete;
  struct glfs* fs() const { return fs_; }
  const std::string& volume() const { return volume_; }
  // Sets an xattr on the volume's root (every brick stores it).
  Status SetRootXattr(const std::string& key, const std::string& value);
  // Removes one from it; OK when it is not there.
  Status RemoveRootXattr(const std::string& key);
  // One round trip to the bricks (statvfs of the root): whether a kept
  // instance still answers before it serves another connection.
  Status Probe();

 private:
  GfapiVolume(struct glfs* fs, std::string volume) : fs_(fs), volume_(std::move(volume)) {}
  struct glfs* fs_;
  std::string volume_;
};

// How many glfs_fini calls of destroyed GfapiVolumes are still running. A
// process that exits while one runs must leave with _exit: exit handlers
// would tear libglusterfs down under that thread.
int PendingBackgroundFinis();

class GfapiSource : public DataSource {
 public:
  explicit GfapiSource(GfapiVolume* volume) : vol_(volume) {}
  Result<ObjectStat> Stat(const protocol::Gfid& gfid) override;
  Result<std::unique_ptr<SourceFile>> Open(const protocol::Gfid& gfid) override;
  Result<std::optional<std::string>> GetXattr(const protocol::Gfid& gfid,
                                              const std::string& name) override;
  Result<std::vector<std::string>> ListXattrs(const protocol::Gfid& gfid) override;
  Result<std::string> ReadLink(const protocol::Gfid& gfid) override;
  Result<protocol::Gfid> LookupName(const protocol::Gfid& parent, const std::string& name) override;
  Result<std::unordered_map<std::string, protocol::Gfid>> ListNames(const protocol::Gfid& dir) override;

 private:
  GfapiVolume* vol_;
};

}  // namespace georep::daemon

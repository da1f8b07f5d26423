// Where georep keeps its state on a node, and how the node helper finds out
// which node it runs on.
#pragma once

#include <string>

namespace georep::cli {

// GEOREP_STATE_DIR if set (test clusters give every node its own), else
// /var/lib/georep. georepd takes the same directory with --state-dir.
std::string DefaultStateDir();

// Layout under the state dir (shared with georepd, see sync/cli/SECURITY.md):
//   keys/georep_secret.pem[.pub]        this node's replication key pair
//   keys/common_secret.pem.pub          public keys gathered from all nodes
//   sessions/<name>/session.conf        written by the CLI on every node
//   sessions/<name>/known_hosts         the secondary's host keys
//   sessions/<name>/status/<brick>.status  written by georepd
std::string KeysDir(const std::string& state_dir);
std::string NodeKeyPath(const std::string& state_dir);
std::string CommonPubKeysPath(const std::string& state_dir);
std::string SessionsDir(const std::string& state_dir);
std::string SessionDir(const std::string& state_dir, const std::string& session);
std::string SessionConfPath(const std::string& state_dir, const std::string& session);
std::string KnownHostsPath(const std::string& state_dir, const std::string& session);
std::string StatusDir(const std::string& state_dir, const std::string& session);

// glusterd's working directory: the management.working-directory option of
// the glusterd that started this process (the node helper's parent), or
// /var/lib/glusterd.
std::string GlusterdWorkdir();
// This node's glusterd UUID (glusterd.info), or "" if unknown.
std::string LocalNodeUuid();
std::string LocalHostName();

// Where glusterd looks for `system:: execute` helpers (GSYNCD_PREFIX) and
// where the receiver gate and the key script are installed.
std::string GlusterdLibexecDir();
std::string PeerHelperPath();

// Reads a whole file; false if it cannot be opened.
bool ReadFile(const std::string& path, std::string* out);
// Writes via a temporary file + fsync + rename, so readers (georepd) never
// see half a file. `mode` is applied before the rename.
bool WriteFileAtomic(const std::string& path, const std::string& data, unsigned mode, std::string* error);
// mkdir -p with `mode` for created components.
bool MakeDirs(const std::string& path, unsigned mode, std::string* error);
// rm -rf of a directory this program created (no symlink following).
bool RemoveTree(const std::string& path, std::string* error);

}  // namespace georep::cli

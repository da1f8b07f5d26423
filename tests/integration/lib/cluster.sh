# shellcheck shell=bash
# Test harness: GlusterFS "nodes" in a private network namespace.
#
# Every integration test sources this file. It starts one glusterd per node on
# 127.1.1.N inside a network namespace of its own (so it never clashes with a
# glusterd on the machine or with another test running at the same time),
# gives helpers to create volumes, mount them, load the georep translator and
# run sshd, and on exit stops exactly the processes that live in that
# namespace (ip netns pids) and removes everything it created.
#
# Processes are started with `nsenter --net` rather than `ip netns exec`, so they
# share the host's mount namespace: a FUSE mount made by a test is visible to
# every other process of the test.
#
# Usage:
#   source "$(dirname "$0")/lib/cluster.sh"
#   gr_cluster_up 2                      # nodes 1 and 2 peered; names node1, node2
#   gr_volume_create pv "1:b1 2:b2"      # bricks <node>:<brick name> (distribute)
#   gr_volume_create rv "1:r1 2:r2" "replica 2"
#   gr_mount pv /some/dir                # or: m=$(gr_mount pv)
#   gr_ns CMD ...                        # run CMD inside the namespace
#   gr_gluster 1 volume info pv          # gluster CLI against node 1
# Teardown runs from an EXIT trap installed by gr_cluster_up; a test adding its
# own trap must call gr_cluster_down from it.
#
# Environment:
#   GEOREP_BUILD_DIR   meson build dir holding the built binaries (default: <repo>/build)
#   GR_KEEP=1          leave everything running after the test (debugging)
#   GR_TIMEOUT_S       bound for every wait loop (default 60)
#   GR_PY              Python for helpers (default /usr/bin/python3, see below)

set -o pipefail

GR_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
GEOREP_BUILD_DIR=${GEOREP_BUILD_DIR:-$GR_REPO/build}
GR_TIMEOUT_S=${GR_TIMEOUT_S:-60}
# The system's Python for helpers that run while a benchmark's clock runs.
# A `python3` found first on PATH may be a version manager's shim (pyenv's
# is a bash script that runs several more before Python): about 0.1 s of CPU
# per start against 0.01 s, taken from the replication being measured.
if [ -z "${GR_PY:-}" ]; then
  if [ -x /usr/bin/python3 ]; then GR_PY=/usr/bin/python3; else GR_PY=python3; fi
fi
GR_NS=""
GR_DIR=""
GR_NODES=0
GR_MOUNTS=()

gr_log() { printf '[%s] %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }
gr_fail() { gr_log "FAIL: $*"; exit 1; }
# Exit 77 is meson's "skipped": only for a platform that truly lacks something.
gr_skip() { gr_log "SKIP: $*"; exit 77; }

gr_require_root_tools() {
  [ "$(id -u)" = 0 ] || gr_skip "integration tests need root (glusterd, namespaces, FUSE)"
  local t
  for t in glusterd gluster glusterfs ip nsenter; do
    command -v "$t" >/dev/null || gr_fail "$t not found: run scripts/install-deps.sh"
  done
  [ -e /dev/fuse ] || gr_skip "/dev/fuse is missing on this machine"
}

gr_ns() { nsenter --net="/run/netns/$GR_NS" "$@"; }
gr_node_ip() { echo "127.1.1.$1"; }
gr_node_sock() { echo "$GR_DIR/n$1/glusterd/gd.sock"; }
gr_gluster() {
  local n=$1; shift
  gr_ns gluster --mode=script --glusterd-sock="$(gr_node_sock "$n")" --log-file="$GR_DIR/n$n/log/cli.log" "$@"
}

# Waits until "$@" succeeds, at most GR_TIMEOUT_S seconds (or $GR_WAIT_S).
gr_wait() {
  local limit=${GR_WAIT_S:-$GR_TIMEOUT_S} start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start >= limit )); then
      gr_log "timed out after ${limit}s waiting for: $*"
      return 1
    fi
    sleep 0.2
  done
}

# georep's per-node state directory (georepd --state-dir, georep --state-dir).
gr_node_state_dir() { echo "$GR_DIR/n$1/georep"; }

gr_start_glusterd() {
  local n=$1 d="$GR_DIR/n$1"
  mkdir -p "$d/glusterd" "$d/run" "$d/log"
  # glusterd passes its environment to the helpers it runs for `gluster
  # system:: execute` (georep's peer_georep): each node gets its own state dir.
  # GR_GLUSTERD_ENV: extra NAME=value words for glusterd and so for the
  # bricks it starts (a test's fault injection, e.g. LD_PRELOAD).
  gr_ns env GEOREP_STATE_DIR="$(gr_node_state_dir "$n")" GEOREP_GLUSTERD_SOCK="$d/glusterd/gd.sock" \
    ${GR_GLUSTERD_ENV:-} glusterd \
    --xlator-option "management.working-directory=$d/glusterd" \
    --xlator-option "management.transport.socket.bind-address=$(gr_node_ip "$n")" \
    --xlator-option "management.run-directory=$d/run" \
    --xlator-option "management.glusterd-sockfile=$d/glusterd/gd.sock" \
    --xlator-option "management.cluster-test-mode=$d/log" \
    --log-file="$d/log/glusterd.log" --pid-file="$d/glusterd.pid" ||
    gr_fail "glusterd for node $n did not start (see $d/log/glusterd.log)"
  gr_wait gr_gluster "$n" volume list || gr_fail "glusterd for node $n does not answer"
}

# gr_cluster_up NODES: namespace + NODES glusterd peers.
gr_cluster_up() {
  local nodes=${1:-1} i
  gr_require_root_tools
  GR_NS="georep-t$$-$RANDOM"
  GR_DIR=$(mktemp -d "/tmp/georep-test.XXXXXX")
  GR_NODES=$nodes
  trap gr_cluster_down EXIT
  trap 'exit 130' INT TERM
  ip netns add "$GR_NS" || gr_fail "cannot create network namespace $GR_NS"
  ip netns exec "$GR_NS" ip link set lo up
  for ((i = 1; i <= nodes; i++)); do
    ip netns exec "$GR_NS" ip addr add "$(gr_node_ip "$i")/8" dev lo
  done
  for ((i = 1; i <= nodes; i++)); do gr_start_glusterd "$i"; done
  for ((i = 2; i <= nodes; i++)); do
    gr_gluster 1 peer probe "$(gr_node_ip "$i")" >/dev/null || gr_fail "peer probe of node $i failed"
  done
  for ((i = 2; i <= nodes; i++)); do
    GR_WAIT_S=60 gr_wait gr_peer_connected "$i" || gr_fail "node $i never became a connected peer"
  done
  gr_log "cluster up: $nodes node(s) in namespace $GR_NS, files under $GR_DIR"
}

gr_peer_connected() {
  gr_gluster 1 pool list | grep -F "$(gr_node_ip "$1")" | grep -q Connected
}

# gr_brick_path NODE NAME -> the brick directory on disk.
gr_brick_path() { echo "$GR_DIR/bricks/n$1/$2"; }

# gr_volume_create VOL "N:name N:name ..." [layout words, e.g. "replica 2"]
gr_volume_create() {
  local vol=$1 spec=$2 layout=${3:-} b n name args=()
  for b in $spec; do
    n=${b%%:*}; name=${b#*:}
    mkdir -p "$(gr_brick_path "$n" "$name")"
    args+=("$(gr_node_ip "$n"):$(gr_brick_path "$n" "$name")")
  done
  # shellcheck disable=SC2086
  gr_gluster 1 volume create "$vol" $layout "${args[@]}" force >/dev/null ||
    gr_fail "volume create $vol failed"
  gr_gluster 1 volume start "$vol" >/dev/null || gr_fail "volume start $vol failed"
  gr_wait_bricks_online "$vol" || gr_fail "bricks of $vol did not come online"
}

gr_bricks_online() {
  local vol=$1 xml
  xml=$(gr_gluster 1 --xml volume status "$vol") || return 1
  # Every <node> with a <path> starting with / must be <status>1</status>.
  ! grep -A8 '<path>/' <<<"$xml" | grep -q '<status>0</status>'
}
gr_wait_bricks_online() { GR_WAIT_S=${GR_WAIT_S:-60} gr_wait gr_bricks_online "$1"; }

# Prints "node-ip:path" for each brick of VOL, in volume order.
gr_volume_bricks() {
  gr_gluster 1 --xml volume info "$1" | sed -n 's|.*<name>\(127\.1\.1\.[0-9]*:/[^<]*\)</name>.*|\1|p'
}

# Brick process pid for "ip:path".
gr_brick_pid() {
  local brick=$1 vol=$2
  gr_gluster 1 --xml volume status "$vol" |
    awk -v host="${brick%%:*}" -v path="${brick#*:}" '
      /<hostname>/ { gsub(/.*<hostname>|<\/hostname>.*/, ""); h = $0 }
      /<path>/     { gsub(/.*<path>|<\/path>.*/, ""); p = $0 }
      /<pid>/      { gsub(/.*<pid>|<\/pid>.*/, ""); if (h == host && p == path) print $0 }'
}

# gr_mount VOL [DIR] [NODE] -> prints the mount point (volfile from NODE,
# default 1). Unmounted at teardown.
gr_mount() {
  local vol=$1 dir=${2:-} n=${3:-1}
  [ -n "$dir" ] || dir="$GR_DIR/mnt/$vol.$RANDOM"
  mkdir -p "$dir"
  gr_ns glusterfs --volfile-server="$(gr_node_ip "$n")" --volfile-id="$vol" \
    --log-file="$GR_DIR/n$n/log/mnt-$vol.log" "$dir" || gr_fail "mount of $vol failed"
  GR_MOUNTS+=("$dir")
  gr_wait mountpoint -q "$dir" || gr_fail "mount of $vol at $dir never appeared"
  echo "$dir"
}

gr_umount() {
  local dir=$1
  umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null || true
}

# Installs the built translator into GlusterFS's translator directory
# (atomically, so a brick starting at the same moment never loads half a file).
gr_install_xlator() {
  local so="$GEOREP_BUILD_DIR/xlator/georep.so" dst
  [ -f "$so" ] || gr_fail "translator not built: $so (run: ninja -C $GEOREP_BUILD_DIR)"
  dst="$(glusterfs --print-xlatordir)/user"
  mkdir -p "$dst"
  install -m 0755 "$so" "$dst/.georep.so.$$" && mv -f "$dst/.georep.so.$$" "$dst/georep.so" ||
    gr_fail "cannot install $so into $dst"
}

# gr_restart_and_heal VOL: starts VOL's dead bricks again (`volume start
# force`, after installing this build's translator again: the translator
# directory is machine-wide and a test of another build may have replaced
# it since VOL started), waits for them, and asks the self-heal daemon to
# heal. The daemon must be connected to the restarted bricks before the
# heal command reaches them, so the command is retried until accepted.
gr_restart_and_heal() {
  local vol=$1
  gr_install_xlator
  gr_gluster 1 volume start "$vol" force >/dev/null || gr_fail "volume start $vol force failed"
  gr_wait_bricks_online "$vol" || gr_fail "the bricks of $vol did not come back"
  gr_wait gr_gluster 1 volume heal "$vol" ||
    gr_fail "gluster volume heal $vol kept failing: $(gr_gluster 1 volume heal "$vol" 2>&1)"
}

# gr_heal_pending_none VOL BRICKS: whether the self-heal daemons report no
# pending entries on all BRICKS bricks of VOL. (`heal info` runs glfsheal,
# which fetches the volfile from localhost: unreachable inside the test's
# namespace, where glusterd listens on 127.1.1.x only. heal-count asks the
# self-heal daemons through glusterd.)
gr_heal_pending_none() {
  local info
  info=$(gr_gluster 1 volume heal "$1" statistics heal-count) || return 1
  [ "$(grep -c '^Number of entries: 0$' <<<"$info")" = "$2" ]
}

# Loads the georep translator into VOL's brick graph and restarts the volume.
gr_enable_xlator() {
  local vol=$1
  gr_install_xlator
  gr_gluster 1 volume set "$vol" user.xlator.georep posix >/dev/null ||
    gr_fail "volume set $vol user.xlator.georep posix failed"
  gr_gluster 1 volume stop "$vol" >/dev/null || gr_fail "volume stop $vol failed"
  gr_gluster 1 volume start "$vol" >/dev/null || gr_fail "volume start $vol failed"
  gr_wait_bricks_online "$vol" || gr_fail "bricks of $vol did not come back online"
}

# sshd inside the namespace on NODE's address (default node 1), port 22, with a
# test-only client key. Sets GR_SSH_KEY (private key), GR_SSH_KNOWN_HOSTS, and
# GR_SSH_OPTS for ssh(1). The key line is added to root's authorized_keys and
# removed at teardown.
gr_sshd_up() {
  local n=${1:-1} d="$GR_DIR/ssh" ip
  ip=$(gr_node_ip "$n")
  command -v /usr/sbin/sshd >/dev/null || gr_fail "sshd not installed: run scripts/install-deps.sh"
  mkdir -p "$d" /run/sshd
  [ -f "$d/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/host_ed25519" -C "georep-test-host"
  [ -f "$d/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/client_ed25519" -C "georep-test-$GR_NS"
  cat >"$d/sshd_config.$n" <<EOF
ListenAddress $ip
Port 22
HostKey $d/host_ed25519
PidFile $d/sshd.$n.pid
AuthorizedKeysFile $d/authorized_keys .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
LogLevel ERROR
SetEnv GEOREP_STATE_DIR=$(gr_node_state_dir "$n") GEOREP_GLUSTERD_SOCK=$(gr_node_sock "$n")
# Receivers that tests kill must leave no lock files in /run/georep; the test
# dir is root's alone (0700), so only root's receivers can lock there. Other
# accounts use their own default (/tmp/georep-<uid>), removed with the account.
Match User root
  SetEnv GEOREP_STATE_DIR=$(gr_node_state_dir "$n") GEOREP_GLUSTERD_SOCK=$(gr_node_sock "$n") GEOREP_RECEIVER_LOCK_DIR=$GR_DIR/n$n/receiver-locks
EOF
  # The test key is authorised through a file of the test's own, so nothing in
  # ~/.ssh changes; tests that exercise push-pem use real account homes.
  cat "$d/client_ed25519.pub" >>"$d/authorized_keys"
  gr_ns /usr/sbin/sshd -f "$d/sshd_config.$n" -E "$d/sshd.$n.log" || gr_fail "sshd on $ip did not start"
  printf '%s %s\n' "$ip" "$(cut -d' ' -f1-2 "$d/host_ed25519.pub")" >>"$d/known_hosts"
  GR_SSH_KEY="$d/client_ed25519"
  GR_SSH_KNOWN_HOSTS="$d/known_hosts"
  GR_SSH_OPTS=(-i "$GR_SSH_KEY" -o BatchMode=yes -o UserKnownHostsFile="$GR_SSH_KNOWN_HOSTS" -o StrictHostKeyChecking=yes)
  gr_wait gr_ns ssh "${GR_SSH_OPTS[@]}" "root@$ip" true || gr_fail "ssh to root@$ip does not work"
}

gr_cluster_down() {
  local rc=$? dir pids i
  trap - EXIT
  if [ "${GR_KEEP:-0}" = 1 ]; then
    gr_log "GR_KEEP=1: leaving namespace $GR_NS and $GR_DIR in place"
    return $rc
  fi
  # Mounts made in a command substitution never reach GR_MOUNTS in this
  # shell, so /proc/mounts is the authority for what lives under GR_DIR.
  for dir in "${GR_MOUNTS[@]}"; do gr_umount "$dir"; done
  if [ -n "$GR_DIR" ]; then
    awk -v d="$GR_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts | while read -r dir; do gr_umount "$dir"; done
  fi
  if [ -n "$GR_NS" ] && [ -e "/run/netns/$GR_NS" ]; then
    # Everything in this namespace was started by this test.
    for i in 1 2 3 4 5 6 7 8 9 10; do
      pids=$(ip netns pids "$GR_NS" 2>/dev/null)
      [ -n "$pids" ] || break
      if ((i < 6)); then kill $pids 2>/dev/null; else kill -9 $pids 2>/dev/null; fi
      sleep 0.5
    done
    [ -z "$(ip netns pids "$GR_NS" 2>/dev/null)" ] || gr_log "warning: processes left in $GR_NS: $(ip netns pids "$GR_NS")"
    ip netns del "$GR_NS" 2>/dev/null
  fi
  if [ -n "$GR_DIR" ] && [ -d "$GR_DIR" ]; then
    # Mounts may have been made under GR_DIR: never recurse into a live one.
    if ! grep -q " $GR_DIR/" /proc/mounts; then rm -rf "$GR_DIR"; else gr_log "warning: $GR_DIR still has mounts, left in place"; fi
  fi
  return $rc
}

#!/usr/bin/env bash
# georep on one machine, end to end: installs what is missing, builds and
# installs georep, starts a primary site (psite1, volume gvp) and a secondary
# site (ssite1, volume gvs) as two GlusterFS pools in a private network
# namespace, sets up keys, creates and starts a session the way an admin does,
# writes data on the primary and shows it replicated on the secondary.
# The session stays live afterwards so you can keep writing and watching.
#
#   sudo scripts/demo.sh          set up and run (again: stops an earlier demo first)
#   sudo scripts/demo.sh stop     stop everything the demo started and remove it
#
# What it touches outside its own directory: the Debian packages it installs,
# `meson install` (georep binaries under /usr/local, the translator in
# GlusterFS's translator directory, the peer_georep helper in glusterd's helper
# directory), two tagged lines in /etc/hosts and the replication key lines that
# push-pem adds to /root/.ssh/authorized_keys. `stop` removes the last two.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE_FILE=/run/georep-demo.env
HOSTS_TAG="#georep-demo"
BUILD_DIR="$REPO/build"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

demo_stop() {
  [ -f "$STATE_FILE" ] || { echo "demo: nothing to stop (no $STATE_FILE)"; return 0; }
  # shellcheck disable=SC1090
  source "$STATE_FILE"
  local f blob p
  for f in "$DEMO_DIR"/mnt/*; do
    [ -d "$f" ] && { umount "$f" 2>/dev/null || umount -l "$f" 2>/dev/null; }
  done
  if [ -e "/run/netns/$DEMO_NS" ]; then
    for p in 1 2 3 4 5 6 7 8; do
      pids=$(ip netns pids "$DEMO_NS")
      [ -n "$pids" ] || break
      if ((p < 5)); then kill $pids 2>/dev/null; else kill -9 $pids 2>/dev/null; fi
      sleep 0.5
    done
    ip netns del "$DEMO_NS"
  fi
  for f in "$DEMO_DIR"/n1/georep/keys/*.pub; do
    [ -f "$f" ] || continue
    while read -r _ blob _; do
      [ -n "$blob" ] && sed -i "\\|$blob|d" /root/.ssh/authorized_keys 2>/dev/null
    done <"$f"
  done
  sed -i "/ $HOSTS_TAG\$/d" /etc/hosts
  if ! grep -q " $DEMO_DIR/" /proc/mounts; then rm -rf "$DEMO_DIR"; fi
  rm -f "$STATE_FILE" /usr/local/sbin/georep-demo
  echo "demo: stopped and removed"
}

[ "$(id -u)" = 0 ] || die "run as root: sudo $0 $*"
case "${1:-start}" in
  stop) demo_stop; exit 0 ;;
  start) ;;
  *) die "usage: $0 [start|stop]" ;;
esac
demo_stop >/dev/null

say "Installing packages, building and installing georep"
"$REPO/scripts/install-deps.sh" || die "package installation failed"
[ -f "$BUILD_DIR/build.ninja" ] || meson setup "$BUILD_DIR" --buildtype=debugoptimized >/dev/null ||
  die "meson setup failed"
ninja -C "$BUILD_DIR" >/dev/null || die "build failed: ninja -C $BUILD_DIR"
meson install -C "$BUILD_DIR" --quiet --no-rebuild >/dev/null || die "meson install failed"
command -v georep >/dev/null || die "georep is not on PATH after install (is /usr/local/sbin in PATH?)"

# The test harness's cluster helpers, kept running (GR_KEEP) for the demo.
export GEOREP_BUILD_DIR="$BUILD_DIR"
GR_KEEP=1
# shellcheck source=../tests/integration/lib/cluster.sh
source "$REPO/tests/integration/lib/cluster.sh"
fail_cleanup() { local rc=$?; trap - EXIT; [ $rc = 0 ] || { echo "demo failed; cleaning up" >&2; demo_stop >/dev/null; }; exit $rc; }

say "Starting the primary site (psite1) and the secondary site (ssite1)"
gr_cluster_up 1
trap fail_cleanup EXIT
printf 'DEMO_NS=%s\nDEMO_DIR=%s\n' "$GR_NS" "$GR_DIR" >"$STATE_FILE"
ip netns exec "$GR_NS" ip addr add "$(gr_node_ip 2)/8" dev lo
gr_start_glusterd 2
printf '127.1.1.1 psite1 %s\n127.1.1.2 ssite1 %s\n' "$HOSTS_TAG" "$HOSTS_TAG" >>/etc/hosts

gr_volume_create gvp "1:gvp-b1 1:gvp-b2"
mkdir -p "$(gr_brick_path 2 gvs-b1)"
gr_gluster 2 volume create gvs "$(gr_node_ip 2):$(gr_brick_path 2 gvs-b1)" force >/dev/null || gr_fail "create gvs"
gr_gluster 2 volume start gvs >/dev/null || gr_fail "start gvs"
gr_sshd_up 2
KNOWN_HOSTS="$GR_DIR/ssh/admin_known_hosts"
printf 'ssite1,127.1.1.2 %s\n' "$(cut -d' ' -f1-2 "$GR_DIR/ssh/host_ed25519.pub")" >"$KNOWN_HOSTS"

# `georep-demo` is the admin's georep on psite1 (its glusterd socket and state dir).
cat >/usr/local/sbin/georep-demo <<EOF
#!/bin/sh
exec nsenter --net=/run/netns/$GR_NS env GEOREP_STATE_DIR=$(gr_node_state_dir 1) georep \\
  --glusterd-sock=$(gr_node_sock 1) --state-dir=$(gr_node_state_dir 1) \\
  --ssh-identity=$GR_SSH_KEY --ssh-known-hosts=$KNOWN_HOSTS "\$@"
EOF
chmod +x /usr/local/sbin/georep-demo

say "Keys and session"
echo "# georep-sshkey generate"
gr_ns env GEOREP_STATE_DIR="$(gr_node_state_dir 1)" georep-sshkey generate \
  --glusterd-sock="$(gr_node_sock 1)" --state-dir="$(gr_node_state_dir 1)" || gr_fail "georep-sshkey generate failed"
create() {
  georep-demo --mode=script --receiver-command="georep-receiver --volfile-server ssite1" \
    gvp ssite1::gvs create push-pem "$@"
}
echo "# georep gvp ssite1::gvs create push-pem"
if ! out=$(create 2>&1); then
  echo "$out"
  # Containers often have no NTP daemon: the clock check then fails, and it is
  # the one check that 'force' may skip on a single machine (one clock).
  grep -qi "clock" <<<"$out" || gr_fail "create failed"
  echo "# georep gvp ssite1::gvs create push-pem force    (one machine, one clock)"
  create force || gr_fail "create failed"
else
  echo "$out"
fi
echo "# georep gvp ssite1::gvs status"
georep-demo gvp ssite1::gvs status
# create added georep's translator to gvp (user.xlator.georep posix, installed
# by meson install); the bricks load it when the volume restarts, as create said.
say "Restarting gvp so that its bricks load the georep translator"
echo "# gluster volume stop gvp; gluster volume start gvp"
gr_gluster 1 volume stop gvp >/dev/null || gr_fail "volume stop gvp failed"
gr_gluster 1 volume start gvp >/dev/null || gr_fail "volume start gvp failed"
gr_wait_bricks_online gvp || gr_fail "bricks of gvp did not come back online"
echo "# georep gvp ssite1::gvs start"
georep-demo --mode=script gvp ssite1::gvs start || gr_fail "start failed"

# georepd runs on every primary node (systemd unit in extras/); here, psite1.
gr_ns env GEOREP_STATE_DIR="$(gr_node_state_dir 1)" setsid georepd --state-dir "$(gr_node_state_dir 1)" \
  --node "$(gr_node_ip 1)" --glusterd-sock "$(gr_node_sock 1)" \
  --log-file "$GR_DIR/n1/log/georepd.log" </dev/null >/dev/null 2>&1 &

say "Writing on the primary, reading on the secondary"
PM=$(gr_mount gvp "$GR_DIR/mnt/primary" 1)
SM=$(gr_mount gvs "$GR_DIR/mnt/secondary" 2)
mkdir -p "$PM/projects/alpha"
for i in $(seq 1 100); do head -c 4096 /dev/urandom >"$PM/projects/alpha/file$i"; done
echo "hello from the primary site" >"$PM/README.txt"
ln -s README.txt "$PM/readme-link"
mv "$PM/projects/alpha" "$PM/projects/beta"
start=$SECONDS
GR_WAIT_S=120 gr_wait gr_ns georep-verify --primary gvp --primary-server "$(gr_node_ip 1)" --secondary gvs \
  --secondary-server "$(gr_node_ip 2)" --quiet || gr_fail "the secondary did not converge in 120 s"
echo "secondary identical to primary (GFIDs, content, metadata) $((SECONDS - start)) s after the writes"
echo "# cat $SM/README.txt"; cat "$SM/README.txt"
echo "# ls $SM/projects/beta | wc -l"; ls "$SM/projects/beta" | wc -l
echo "# georep gvp ssite1::gvs status"
georep-demo gvp ssite1::gvs status

trap - EXIT
say "The session is live"
cat <<EOF
  primary mount:    $PM      (write here)
  secondary mount:  $SM      (read-only for everyone but georep)
  georep CLI:       georep-demo gvp ssite1::gvs status detail
                    georep-demo gvp ssite1::gvs checkpoint now | pause | resume | stop
  compare trees:    nsenter --net=/run/netns/$GR_NS georep-verify gvp 127.1.1.2::gvs --primary-server 127.1.1.1
  logs:             $GR_DIR/n1/log/georepd.log
  stop the demo:    sudo $0 stop
EOF

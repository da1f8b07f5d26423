# shellcheck shell=bash
# Shared setup of the georepd integration tests (sync_*.sh) and benchmarks
# (bench/sync_*.sh): node 1 serves the primary volume `pv` (georep translator
# loaded), node 2 the secondary `sv` and an sshd; one session "s1" in node 1's
# state dir; helpers to start/stop georepd and georep-receiver by pid and to
# compare the volumes with georep-verify.
#
# Everything lives in the harness's namespace and directory and is removed by
# its EXIT trap (gr_cluster_down); georepd instances started here are killed
# by pid first.

source "$(dirname "${BASH_SOURCE[0]}")/lib/cluster.sh"

SY_B=$GEOREP_BUILD_DIR
SY_DAEMON="$SY_B/sync/daemon/georepd"
SY_RECEIVER="$SY_B/sync/receiver/georep-receiver"
SY_VERIFY="$SY_B/sync/verify/georep-verify"
SY_PIDS=()
SY_SESSION=s1

sy_require_built() {
  local f
  for f in "$SY_DAEMON" "$SY_RECEIVER" "$SY_VERIFY" "$SY_B/xlator/georep.so"; do
    [ -x "$f" ] || [ -f "$f" ] || gr_fail "not built: $f (ninja -C $SY_B)"
  done
}

sy_cleanup() {
  local rc=$? p
  for p in "${SY_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  # SY_SAVE_LOGS=DIR keeps the logs (and georep state) for a post-mortem.
  if [ -n "${SY_SAVE_LOGS:-}" ] && [ -n "$GR_DIR" ]; then
    mkdir -p "$SY_SAVE_LOGS" && cp -r "$GR_DIR"/n*/log "$SY_SAVE_LOGS/" 2>/dev/null
    cp -r "$GR_DIR"/n1/georep "$SY_SAVE_LOGS/state" 2>/dev/null
    # After a failure, what a post-mortem needs beyond the logs: the
    # primary bricks' journals and which GFIDs the secondary's brick holds.
    if [ "$rc" != 0 ]; then
      local b
      for b in "$GR_DIR"/bricks/n1/*; do
        [ -d "$b" ] && "$SY_B/journal/georep-journal" dump "$b" >"$SY_SAVE_LOGS/journal-$(basename "$b").txt" 2>&1
      done
      for b in "$GR_DIR"/bricks/n2/*; do
        [ -d "$b" ] && (cd "$b" && find . -path ./.glusterfs -prune -o -print0 |
          xargs -0 getfattr -h -e hex -n trusted.gfid 2>/dev/null) >"$SY_SAVE_LOGS/gfids-$(basename "$b").txt"
      done
    fi
    gr_log "logs saved in $SY_SAVE_LOGS"
  elif [ "$rc" != 0 ] && [ -n "${SY_LOG:-}" ] && [ -f "$SY_LOG" ]; then
    # CI removes the clone and with it every log: what a post-mortem needs
    # first goes to the test's own output.
    local f
    echo "---- georepd's log, last 40 lines:" >&2
    tail -40 "$SY_LOG" >&2
    for f in "${SY_SDIR:-/nonexistent}"/status/*.status; do
      [ -f "$f" ] && echo "---- $(basename "$f"): $(tr '\n' ' ' <"$f")" >&2
    done
    [ -f "$GR_DIR/n2/log/receiver.log" ] && { echo "---- receiver log, last 20 lines:" >&2; tail -20 "$GR_DIR/n2/log/receiver.log" >&2; }
  fi
  (exit $rc)
  gr_cluster_down
}

# sy_setup [PRIMARY_LAYOUT_SPEC] [LAYOUT_WORDS]: cluster, volumes, sshd, session.conf.
sy_setup() {
  local pspec=${1:-"1:p1"} layout=${2:-}
  sy_require_built
  gr_cluster_up 2
  trap sy_cleanup EXIT
  gr_volume_create pv "$pspec" "$layout"
  gr_enable_xlator pv
  gr_volume_create sv "2:s1"
  gr_sshd_up 2
  SY_STATE=$(gr_node_state_dir 1)
  SY_SDIR="$SY_STATE/sessions/$SY_SESSION"
  mkdir -p "$SY_SDIR"
  SY_PM=$(gr_mount pv)
  SY_LOG="$GR_DIR/n1/log/georepd.log"
  sy_write_conf started
}

# sy_write_conf STATE [extra key=value lines...]
sy_write_conf() {
  local state=$1; shift
  {
    echo "# written by sync_lib.sh"
    echo "primary_volume=pv"
    echo "secondary_host=$(gr_node_ip 2)"
    echo "secondary_user=root"
    echo "secondary_volume=sv"
    echo "ssh_port=22"
    echo "ssh_identity=$GR_SSH_KEY"
    echo "ssh_known_hosts=$GR_SSH_KNOWN_HOSTS"
    echo "receiver_command=$SY_RECEIVER --volfile-server $(gr_node_ip 2) --log-file $GR_DIR/n2/log/receiver.log${SY_RECEIVER_ARGS:+ $SY_RECEIVER_ARGS}"
    echo "state=$state"
    echo "backoff_initial_ms=200"
    echo "backoff_max_ms=2000"
    echo "keepalive_s=5"
    echo "role_check_interval_s=2"
    local l
    for l in "$@"; do echo "$l"; done
  } >"$SY_SDIR/session.conf.tmp" && mv -f "$SY_SDIR/session.conf.tmp" "$SY_SDIR/session.conf"
}

# Starts georepd on node 1 in the background; sets SY_DPID. Extra args pass through.
# nsenter is run directly (not through the gr_ns function, which would run in
# a background subshell): nsenter execs georepd, so $! is georepd itself and
# sy_stop_daemon's signal reaches it instead of orphaning it.
sy_start_daemon() {
  nsenter --net="/run/netns/$GR_NS" "$SY_DAEMON" --state-dir "$SY_STATE" --node "$(gr_node_ip 1)" \
    --glusterd-sock "$(gr_node_sock 1)" --volfile-server "$(gr_node_ip 1)" \
    --log-file "$SY_LOG" "$@" &
  SY_DPID=$!
  SY_PIDS+=("$SY_DPID")
}

sy_stop_daemon() {  # by pid; SIGTERM then bounded wait, then SIGKILL
  local sig=${1:-TERM} i
  [ -n "${SY_DPID:-}" ] || return 0
  kill "-$sig" "$SY_DPID" 2>/dev/null
  for ((i = 0; i < 100; i++)); do kill -0 "$SY_DPID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SY_DPID" 2>/dev/null
  wait "$SY_DPID" 2>/dev/null
  SY_DPID=""
}

# Receiver processes of this test (children of the namespace's sshd).
sy_receiver_pids() {
  local p
  for p in $(ip netns pids "$GR_NS" 2>/dev/null); do
    [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$SY_RECEIVER" ] && echo "$p"
  done
}

sy_status_file() { ls "$SY_SDIR"/status/*.status 2>/dev/null | head -1; }
sy_status_field() {  # KEY [file]
  local f=${2:-$(sy_status_file)}
  [ -n "$f" ] && sed -n "s/^$1=//p" "$f"
}

# For gr_wait (which gets its command already expanded): re-reads each time.
sy_has_status() { [ -n "$(sy_status_file)" ]; }
sy_field_is() { [ "$(sy_status_field "$1")" = "$2" ]; }

# sy_verify [SECONDS [ARGS...]]: georep-verify until equal (at most SECONDS,
# default 60), with extra georep-verify ARGS (e.g. --path DIR); prints the
# differences on failure.
sy_verify() {
  local wait=${1:-60}
  shift $(($# > 0 ? 1 : 0))
  gr_ns "$SY_VERIFY" --primary pv --primary-server "$(gr_node_ip 1)" \
    --secondary sv --secondary-server "$(gr_node_ip 2)" \
    --gfapi-log "$GR_DIR/n1/log/verify.log" --wait-until-equal "$wait" "$@"
}

# sy_brick_completed_at DIR COUNT SIZE: when the last of the COUNT files of
# SIZE bytes in DIR (in a brick) was last changed, as Unix time in seconds
# (the newest ctime on the brick's own file system: the receiver's last write
# or SETATTR of it); fails (status 1, saying what is missing) unless DIR
# holds COUNT such files. For the benchmarks' "complete on the secondary's
# brick" clock, read once after the verifier agreed, so that nothing polls
# the brick while the clock runs. It can only err late (a later change to a
# file, say an xattr GlusterFS sets, moves its ctime on), never early.
sy_brick_completed_at() {
  "$GR_PY" - "$1" "$2" "$3" <<'PY'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
complete, newest = 0, 0
for e in os.scandir(d):
    st = e.stat(follow_symlinks=False)
    if st.st_size == size:
        complete += 1
        newest = max(newest, st.st_ctime_ns)
if complete < n:
    print("only %d of %d files of %d bytes in %s" % (complete, n, size, d), file=sys.stderr)
    sys.exit(1)
print("%.6f" % (newest / 1e9))
PY
}


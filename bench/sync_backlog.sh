#!/bin/bash
# Issue 4 benchmark: a 10000-file backlog (4 KiB each) built while the session
# is paused, then resumed: files/s from resume until georep-verify, started at
# resume and comparing until equal, agrees (the issue's clock); also until
# every file was complete in the secondary's brick (read from the brick
# afterwards: sy_brick_completed_at).
# Baseline, same run: the same number of files created directly on the
# secondary volume by parallel gfapi creates (sync_gfapi_create, THREADS
# threads). Target: the verifier's rate >= 50% of the baseline.
# Usage: GEOREP_BUILD_DIR=build bench/sync_backlog.sh [files, default 10000] [threads, default 8]
set -u
source "$(dirname "$0")/../tests/integration/sync_lib.sh"
N=${1:-10000}
THREADS=${2:-8}
CREATE="$SY_B/bench/sync_gfapi_create"
[ -x "$CREATE" ] || gr_fail "not built: $CREATE (ninja -C $SY_B bench/sync_gfapi_create)"

sy_setup
sy_start_daemon ${SY_DAEMON_ARGS:-}
GR_WAIT_S=60 gr_wait sy_field_is crawl_status "Journal Crawl" || gr_fail "georepd never reached the journal"
sy_write_conf paused
GR_WAIT_S=20 gr_wait sy_field_is status Paused || gr_fail "session did not pause"
gr_log "building a backlog of $N files on the primary"
gr_ns "$CREATE" pv "$(gr_node_ip 1)" /backlog "$N" 4096 "$THREADS" >&2 || gr_fail "backlog creation failed"

gr_log "baseline: $N parallel gfapi creates on the secondary"
CPU="$(dirname "$0")/cpu_by_process.py"
"$GR_PY" "$CPU" snap "$GR_NS" "$GR_DIR/cpu_base0.json"
base=$(gr_ns "$CREATE" sv "$(gr_node_ip 2)" /baseline "$N" 4096 "$THREADS") || gr_fail "baseline creates failed"
"$GR_PY" "$CPU" snap "$GR_NS" "$GR_DIR/cpu_base1.json"
base_rate=$(sed -n 's/.*: \([0-9.]*\) files\/s.*/\1/p' <<<"$base")

# SY_PROFILE=1: GlusterFS's per-fop counts on both volumes for the replay
# (`gluster volume profile`), to see what each replicated file costs the bricks.
if [ -n "${SY_PROFILE:-}" ]; then
  gr_gluster 1 volume profile pv start >/dev/null && gr_gluster 2 volume profile sv start >/dev/null &&
    gr_gluster 1 volume profile pv info clear >/dev/null && gr_gluster 2 volume profile sv info clear >/dev/null ||
    gr_fail "gluster volume profile start failed"
fi

SB=$(gr_brick_path 2 s1)
"$GR_PY" "$CPU" snap "$GR_NS" "$GR_DIR/cpu0.json"
t0=$(date +%s.%N)
sy_write_conf started
# Only the backlog: the baseline's files are on the secondary alone. When the
# brick held every file is read afterwards from the brick (the files' newest
# ctime): a poller scanning 10000 names beside the replication took about a
# tenth of a core from it and saw the last file up to 0.4 s late.
sy_verify 300 --path /backlog --json >"$GR_DIR/verify.json" || gr_fail "the verifier never agreed"
t2=$(date +%s.%N)
"$GR_PY" "$CPU" snap "$GR_NS" "$GR_DIR/cpu1.json"
t1=$(sy_brick_completed_at "$SB/backlog" "$N" 4096) || gr_fail "the backlog is not complete in the secondary's brick"
"$GR_PY" - "$N" "$t0" "$t1" "$t2" "$base_rate" "$THREADS" "$GR_DIR/verify.json" <<'PY'
import json, sys
n = int(sys.argv[1]); t0, t1, t2, base = map(float, sys.argv[2:6])
v = json.load(open(sys.argv[7]))
brick, verify = n / (t1 - t0), n / (t2 - t0)
print("sync_backlog files=%d x 4 KiB" % n)
print("  baseline, parallel gfapi creates on the secondary (%s threads): %.1f files/s" % (sys.argv[6], base))
print("  georep, resume -> all files on the secondary brick: %.1f files/s (%.1f s), %.0f%% of the baseline"
      % (brick, t1 - t0, 100 * brick / base))
print("  georep, resume -> georep-verify agrees: %.1f files/s (%.1f s)" % (verify, t2 - t0))
print("  ratio %.0f%% (target >= 50%%: %s)" % (100 * verify / base, "MET" if verify >= 0.5 * base else "MISSED"))
print("    the verifier: %d full passes and %d polls of the secondary alone (%d walks);"
      " the confirming pass began at %.1f s" % (v["passes"], v["secondary_polls"], v["secondary_walks"],
                                                 v["confirming_pass_started_seconds"]))
print("    read ahead while waiting: %d primary and %d secondary files (%d walks of the secondary)"
      % (v["warmed_primary_files"], v["warmed_secondary_files"], v["warm_walks"]))
PY
echo "  CPU of the baseline's creates, by process (the creating process itself not counted):"
"$GR_PY" "$CPU" diff "$GR_DIR/cpu_base0.json" "$GR_DIR/cpu_base1.json"
echo "  CPU from resume until the verifier agreed, by process:"
"$GR_PY" "$CPU" diff "$GR_DIR/cpu0.json" "$GR_DIR/cpu1.json"
if [ -n "${SY_PROFILE:-}" ]; then
  for v in "1 pv" "2 sv"; do
    set -- $v
    echo "  fops on volume $2 during the replay (calls, fop):"
    gr_gluster "$1" volume profile "$2" info incremental |
      awk '/Interval/ {on=1} on && $NF ~ /^[A-Z]+$/ && $(NF-1) ~ /^[0-9]+$/ {print "    " $(NF-1), $NF}'
  done
fi
sy_stop_daemon TERM

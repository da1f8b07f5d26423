#!/bin/bash
# Issue 4 benchmark: 1000 x 4 KiB files written through FUSE; seconds from
# the writer's end until (a) every file is complete in the secondary's brick
# and (b) georep-verify, started at the writer's end and comparing until
# equal (--wait-until-equal), agrees. Clock (a) is read afterwards from the
# brick (the newest ctime of the files there: sy_brick_completed_at), so that
# nothing but the verifier runs beside the replication while (b) runs.
# Baseline, same run: one georep-verify pass over the already identical
# volumes (the verifier's own cost). Target (b) <= 0.5 s.
# Usage: GEOREP_BUILD_DIR=build bench/sync_small_files.sh [files, default 1000]
set -u
source "$(dirname "$0")/../tests/integration/sync_lib.sh"
N=${1:-1000}

sy_setup
sy_start_daemon ${SY_DAEMON_ARGS:-}
GR_WAIT_S=60 gr_wait sy_field_is crawl_status "Journal Crawl" || gr_fail "georepd never reached the journal"
mkdir -p "$SY_PM/small" || gr_fail mkdir
SB=$(gr_brick_path 2 s1)
GR_WAIT_S=60 gr_wait test -d "$SB/small" || gr_fail "directory never reached the secondary"

t_write0=$(date +%s.%N)
"$GR_PY" - "$SY_PM/small" "$N" <<'PY' || gr_fail "writer failed"
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
block = os.urandom(4096)
for i in range(n):
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(block)
PY
t_end=$(date +%s.%N)
# From the writer's end: georep-verify, started right away and comparing
# until equal, agrees. A poller of the brick beside it took CPU from both
# (a Python start, then a scan of the directory every 40 ms) and saw the
# last file up to 0.15 s late; the brick's own ctimes say when it arrived.
sy_verify 60 --json >"$GR_DIR/verify.json" || gr_fail "verifier never agreed"
t_verify=$(date +%s.%N)
t_brick=$(sy_brick_completed_at "$SB/small" "$N" 4096) || gr_fail "files missing in the secondary's brick"
t_base0=$(date +%s.%N)
sy_verify 1 >/dev/null || gr_fail "verifier disagreed on a second pass"
t_base1=$(date +%s.%N)
"$GR_PY" - "$N" "$t_write0" "$t_end" "$t_brick" "$t_verify" "$t_base0" "$t_base1" "$GR_DIR/verify.json" <<'PY'
import json, sys
n = int(sys.argv[1]); w0, we, tb, tv, b0, b1 = map(float, sys.argv[2:8])
v = json.load(open(sys.argv[8]))
base = b1 - b0
print("sync_small_files files=%d x 4 KiB" % n)
print("  writer: %.2f s (%.0f files/s through FUSE)" % (we - w0, n / (we - w0)))
print("  writer end -> all files complete in the secondary brick: %.3f s" % (tb - we))
print("  writer end -> georep-verify agrees: %.3f s  (target <= 0.5 s: %s)" % (tv - we, "MET" if tv - we <= 0.5 else "MISSED"))
print("    the verifier: %d full passes and %d polls of the secondary alone (%d walks) in %.3f s after connecting;"
      " the confirming pass began at %.3f s"
      % (v["passes"], v["secondary_polls"], v["secondary_walks"], v["seconds"], v["confirming_pass_started_seconds"]))
print("  baseline, one georep-verify pass on identical volumes: %.3f s; ratio %.2fx" % (base, (tv - we) / base))
PY
sy_stop_daemon TERM

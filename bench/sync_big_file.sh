#!/bin/bash
# Issue 4 benchmarks on one big file (default 1 GiB):
#  1. Throughput: the file is written while the session is paused; on resume,
#     MB/s until the secondary's brick holds all of it. Baseline, same run:
#     `cat FILE | ssh secondary 'cat > /dev/null'` over the same sshd with the
#     same key. Target: >= 80% of the baseline.
#  2. A 4 KiB overwrite inside the file: bytes georepd sent for it (status
#     bytes_sent delta; target < 64 KiB) and seconds until the secondary's
#     brick has the new bytes (target < 1 s).
# Usage: GEOREP_BUILD_DIR=build bench/sync_big_file.sh [MiB, default 1024]
set -u
source "$(dirname "$0")/../tests/integration/sync_lib.sh"
MIB=${1:-1024}
BYTES=$((MIB * 1024 * 1024))

sy_setup
sy_start_daemon ${SY_DAEMON_ARGS:-}
GR_WAIT_S=60 gr_wait sy_field_is crawl_status "Journal Crawl" || gr_fail "georepd never reached the journal"
SB=$(gr_brick_path 2 s1)
PB=$(gr_brick_path 1 p1)

sy_write_conf paused
GR_WAIT_S=20 gr_wait sy_field_is status Paused || gr_fail "session did not pause"
gr_log "writing $MIB MiB on the primary (paused)"
dd if=/dev/urandom of="$SY_PM/big" bs=1M count="$MIB" status=none || gr_fail "writing the file failed"
sync

# Baseline: the same bytes through ssh, by the issue's command: cat reads
# the file from the primary's FUSE mount into a pipe that ssh reads. For
# comparison only, a stricter one first: ssh reading the file itself (no cat,
# no pipe; this benchmark's baseline until 2026-11-25).
ts0=$(date +%s.%N)
gr_ns ssh "${GR_SSH_OPTS[@]}" "root@$(gr_node_ip 2)" 'cat > /dev/null' <"$SY_PM/big" || gr_fail "ssh < file failed"
ts1=$(date +%s.%N)
CPU="$(dirname "$0")/cpu_by_process.py"
times >"$GR_DIR/times0"   # in this shell: $(times) would run in a subshell
t0=$(date +%s.%N)
cat "$SY_PM/big" | gr_ns ssh "${GR_SSH_OPTS[@]}" "root@$(gr_node_ip 2)" 'cat > /dev/null' || gr_fail "baseline cat | ssh failed"
t1=$(date +%s.%N)
# The CPU of cat and the ssh client: `times` for this shell's children, before and after
# (sshd's side has exited before any snapshot could see it).
times >"$GR_DIR/times1"
"$GR_PY" "$CPU" snap "$GR_NS" "$GR_DIR/cpu1.json"

# georep's clock starts at the resume, after the snapshot above (a Python
# process of about 0.1 s that is not part of the copy).
tr=$(date +%s.%N)
sy_write_conf started
"$GR_PY" - "$SB/big" "$BYTES" <<'PY' || gr_fail "the file never arrived complete"
import os, sys, time
path, size = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 600
while time.monotonic() < deadline:
    try:
        if os.stat(path).st_size >= size:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.01)
sys.exit(1)
PY
t2=$(date +%s.%N)
"$GR_PY" "$CPU" snap "$GR_NS" "$GR_DIR/cpu2.json"
GR_WAIT_S=120 gr_wait sy_field_is pending_data 0
cmp -s "$PB/big" "$SB/big" || gr_fail "the secondary's copy differs from the primary's"

# The overwrite.
sleep 1.5   # let the status file settle so bytes_sent is current
before=$(sy_status_field bytes_sent)
OFF=$((BYTES / 2 + 7 * 4096))
t3=$(date +%s.%N)
dd if=/dev/urandom of="$SY_PM/big" bs=4096 count=1 seek=$((OFF / 4096)) conv=notrunc status=none
t4=$(date +%s.%N)
"$GR_PY" - "$PB/big" "$SB/big" "$OFF" <<'PY' || gr_fail "the overwrite never arrived"
import sys, time
p, s, off = sys.argv[1], sys.argv[2], int(sys.argv[3])
def block(path):
    with open(path, "rb") as f:
        f.seek(off)
        return f.read(4096)
want = block(p)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    if block(s) == want:
        sys.exit(0)
    time.sleep(0.002)
sys.exit(1)
PY
t5=$(date +%s.%N)
sleep 2.5
after=$(sy_status_field bytes_sent)
cmp -s "$PB/big" "$SB/big" || gr_fail "the copies differ after the overwrite"

"$GR_PY" - "$BYTES" "$t0" "$t1" "$t2" "$t4" "$t5" "$before" "$after" "$tr" "$ts0" "$ts1" <<'PY'
import sys
size = int(sys.argv[1]); t0, t1, t2, t4, t5 = map(float, sys.argv[2:7]); b, a = int(sys.argv[7]), int(sys.argv[8])
tr = float(sys.argv[9]); ts0, ts1 = float(sys.argv[10]), float(sys.argv[11])
mb = size / 1e6
base = mb / (t1 - t0); geo = mb / (t2 - tr)
print("sync_big_file size=%d MiB" % (size >> 20))
print("  baseline cat | ssh 'cat > /dev/null': %.1f MB/s" % base)
print("  georep resume -> complete on the secondary brick: %.1f MB/s (%.1f s)" % (geo, t2 - tr))
print("  ratio %.0f%% (target >= 80%%: %s)" % (100 * geo / base, "MET" if geo >= 0.8 * base else "MISSED"))
strict = mb / (ts1 - ts0)
print("  for comparison, ssh reading the file itself (no cat, no pipe): %.1f MB/s; georep %.0f%% of it"
      % (strict, 100 * geo / strict))
sent = a - b
print("  4 KiB overwrite: %d bytes sent (%.1fx the 4096 payload; target < 65536: %s), "
      "%.3f s until on the secondary (target < 1 s: %s)" % (sent, sent / 4096.0,
      "MET" if sent < 65536 else "MISSED", t5 - t4, "MET" if t5 - t4 < 1 else "MISSED"))
PY
"$GR_PY" - "$(tail -1 "$GR_DIR/times0")" "$(tail -1 "$GR_DIR/times1")" <<'PY'
import re, sys
def secs(t):
    return sum(int(m) * 60 + float(x) for m, x in re.findall(r"(\d+)m([\d.]+)s", t))
print("  CPU of the baseline's cat and ssh client: %.2f s" % (secs(sys.argv[2]) - secs(sys.argv[1])))
PY
echo "  CPU of georep's copy, by process:"
"$GR_PY" "$CPU" diff "$GR_DIR/cpu1.json" "$GR_DIR/cpu2.json"
sy_stop_daemon TERM

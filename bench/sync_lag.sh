#!/bin/bash
# Issue 4 benchmark: single small file replication lag.
# Writes one 100-byte file at a time through a FUSE mount of the primary and
# times until the file holds its full content in the secondary's brick (read
# on disk: a FUSE mount's md-cache would add up to a second of staleness of
# its own). Baseline, same run: the same write made on a FUSE mount of the
# secondary and polled the same way (what a local write costs to reach the
# brick, plus the measurement). Targets: p50 <= 100 ms, p99 <= 500 ms.
# Usage: GEOREP_BUILD_DIR=build bench/sync_lag.sh [samples, default 100]
set -u
source "$(dirname "$0")/../tests/integration/sync_lib.sh"
N=${1:-100}

sy_setup
sy_start_daemon ${SY_DAEMON_ARGS:-}
GR_WAIT_S=60 gr_wait sy_field_is crawl_status "Journal Crawl" || gr_fail "georepd never reached the journal"
SM="$GR_DIR/mnt/sv-nocache"
mkdir -p "$SM"
gr_ns glusterfs --volfile-server="$(gr_node_ip 2)" --volfile-id=sv --entry-timeout=0 \
  --attribute-timeout=0 --negative-timeout=0 --log-file="$GR_DIR/n2/log/mnt-sv.log" "$SM" ||
  gr_fail "mount of sv failed"
GR_MOUNTS+=("$SM")
gr_wait mountpoint -q "$SM" || gr_fail "secondary mount never appeared"
mkdir -p "$SY_PM/lag" "$SM/base" || gr_fail "mkdir"
GR_WAIT_S=60 gr_wait test -d "$SM/lag" || gr_fail "the lag directory never reached the secondary"

SB=$(gr_brick_path 2 s1)
"$GR_PY" - "$SY_PM/lag" "$SB/lag" "$SM/base" "$SB/base" "$N" <<'PY'
import os, sys, time
src, dst, bsrc, bdst, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
payload = b"x" * 100
def run(write_dir, read_dir, tag):
    lags = []
    for i in range(n):
        name = "%s%05d" % (tag, i)
        t0 = time.monotonic()
        with open(os.path.join(write_dir, name), "wb") as f:
            f.write(payload)
        path = os.path.join(read_dir, name)
        deadline = t0 + 30
        while True:
            try:
                if os.stat(path).st_size == len(payload):
                    with open(path, "rb") as f:
                        if f.read() == payload:
                            break
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit("file %s never appeared on the secondary" % name)
            time.sleep(0.001)
        lags.append((time.monotonic() - t0) * 1000)
        time.sleep(0.05)  # one file at a time, not a burst
    lags.sort()
    return lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.99))]
b50, b99 = run(bsrc, bdst, "b")
g50, g99 = run(src, dst, "g")
print("sync_lag samples=%d" % n)
print("  baseline (write on a secondary mount -> in its brick): p50 %.1f ms  p99 %.1f ms" % (b50, b99))
print("  georep (write on primary mount -> in secondary brick) p50 %.1f ms  p99 %.1f ms" % (g50, g99))
print("  ratio georep/baseline: p50 %.1fx  p99 %.1fx" % (g50 / b50, g99 / b99))
print("  targets p50 <= 100 ms: %s   p99 <= 500 ms: %s" % ("MET" if g50 <= 100 else "MISSED",
                                                          "MET" if g99 <= 500 else "MISSED"))
PY
rc=$?
sy_stop_daemon TERM
exit $rc

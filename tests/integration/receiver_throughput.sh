#!/usr/bin/env bash
# Measurement, not a test (not registered with meson): georep-receiver's apply
# rate against a baseline measured in the same run on the same node - a FUSE
# cp of the same data into a second volume. Prints times and ratios.
#   GEOREP_BUILD_DIR=build bash tests/integration/receiver_throughput.sh [FILES] [MIB]
source "$(dirname "$0")/lib/cluster.sh"

R="$GEOREP_BUILD_DIR/sync/receiver/georep-receiver"
C="$GEOREP_BUILD_DIR/tests/unit/sync/receiver_client"
[ -x "$R" ] && [ -x "$C" ] || gr_fail "build georep-receiver and receiver_client first"
NFILES=${1:-1000}
MIB=${2:-256}
PER_BATCH=250

gr_cluster_up 1
gr_volume_create sv "1:s1"
gr_volume_create bv "1:b1"
BM=$(gr_mount bv)
W="$GR_DIR/w"
# Receiver locks in the test's own directory (removed with it), not in /run/georep.
export GEOREP_RECEIVER_LOCK_DIR="$GR_DIR/locks"
mkdir -p "$W/files"
for i in $(seq 1 "$NFILES"); do head -c 4096 /dev/urandom >"$W/files/f$i"; done
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$W/big"

now() { date +%s.%N; }
run() {
  gr_ns "$C" "$1" -- "$R" --volume sv --volfile-server "$(gr_node_ip 1)" --log-file "$W/log" >"$1.out"
  grep -q '^EXIT 0$' "$1.out" && ! grep -q '^FAIL' "$1.out" || gr_fail "receiver run $1 failed: $(head "$1.out")"
}
python3 - "$W" "$NFILES" "$PER_BATCH" >"$W/small" <<'EOF'
import sys
w, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print("hello bench pv brick sv")
for start in range(1, n + 1, per):
    print("batch")
    for i in range(start, min(start + per, n + 1)):
        g = "55555555-5555-4555-8555-%012d" % i
        print(f"create root f{i} {g} 0100644 0 0")
        print(f"datahex {g} 0 " + open(f"{w}/files/f{i}", "rb").read().hex())
    print("end")
print("bye")
EOF
printf 'hello bench pv brick sv\nbatch\ncreate root big 55555555-5555-4555-8555-999999999999 0100644 0 0\nend\ndatafile 55555555-5555-4555-8555-999999999999 0 %s\nbye\n' "$W/big" >"$W/large"
printf 'hello bench pv brick sv\nbye\n' >"$W/hello"

t0=$(now); run "$W/hello"; t1=$(now); mount_s=$(echo "$t1 - $t0" | bc)
t0=$(now); run "$W/small"; t1=$(now); small_s=$(echo "$t1 - $t0" | bc)
t0=$(now); cp -r "$W/files" "$BM/"; t1=$(now); small_base=$(echo "$t1 - $t0" | bc)
t0=$(now); run "$W/large"; t1=$(now); large_s=$(echo "$t1 - $t0" | bc)
t0=$(now); cp "$W/big" "$BM/big"; t1=$(now); large_base=$(echo "$t1 - $t0" | bc)
cmp -s "$W/big" "$(gr_brick_path 1 s1)/big" || gr_fail "large file differs on the brick"

printf 'receiver session start + end (mount): %.2f s\n' "$mount_s"
printf '%d x 4 KiB files: receiver %.2f s, FUSE cp %.2f s, ratio %.2f\n' "$NFILES" "$small_s" "$small_base" \
  "$(echo "$small_s / $small_base" | bc -l)"
printf '%d MiB file: receiver %.2f s (%.0f MB/s), FUSE cp %.2f s, ratio %.2f\n' "$MIB" "$large_s" \
  "$(echo "$MIB * 1.048576 / $large_s" | bc -l)" "$large_base" "$(echo "$large_s / $large_base" | bc -l)"

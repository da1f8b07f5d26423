#!/usr/bin/env bash
# What a new small file costs the secondary's brick when georep-receiver
# applies it (create + data + times in one FRESH batch), counted by
# `gluster volume profile`: one MKNOD, one WRITE, one SETATTR and two
# LOOKUPs (gfid-access's named lookup before its MKNOD, and the receiver's
# named lookup that checks the new entry's GFID and brings its inode into
# gfapi's table for the data and attributes). A third LOOKUP per file came
# back whenever an object resolved for the data was not kept for the
# attributes; this pins the count so such a regression shows here, not only
# as a slower backlog benchmark.
source "$(dirname "$0")/lib/cluster.sh"

RECEIVER="$GEOREP_BUILD_DIR/sync/receiver/georep-receiver"
CLIENT="$GEOREP_BUILD_DIR/tests/unit/sync/receiver_client"
[ -x "$RECEIVER" ] || gr_fail "not built: $RECEIVER (run: ninja -C $GEOREP_BUILD_DIR)"
[ -x "$CLIENT" ] || gr_fail "not built: $CLIENT (run: ninja -C $GEOREP_BUILD_DIR)"
N=100

gr_cluster_up 1
gr_volume_create sv "1:s1"
W="$GR_DIR/receiver"
mkdir -p "$W"
export GEOREP_RECEIVER_LOCK_DIR="$GR_DIR/locks"

uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }
D=$(uuid)
python3 - "$D" "$N" >"$W/script" <<'PY'
import sys, uuid
d, n = sys.argv[1], int(sys.argv[2])
print("hello s pv pb sv")
print("batch"); print("create root d %s 040755 0 0" % d); print("end")
print("ping 1")
print("batch fresh")
for i in range(n):
    f = uuid.uuid4()
    print("create %s f%d %s 0100644 0 0" % (d, i, f))
    print("data %s 0 hello\\sgeorep" % f)
    print("setattr %s mtime=1700000000123456789 atime=1700000000123456789" % f)
print("end")
print("ping 2")
print("bye")
PY

gr_gluster 1 volume profile sv start >/dev/null || gr_fail "cannot start volume profile"
gr_gluster 1 volume profile sv info clear >/dev/null
gr_ns "$CLIENT" "$W/script" -- "$RECEIVER" --volume sv --volfile-server "$(gr_node_ip 1)" \
  --log-file "$W/receiver.log" --log-level info --idle-timeout 60 >"$W/out" ||
  gr_fail "receiver_client failed (see $W/out, $W/receiver.log)"
grep -q '^EXIT 0$' "$W/out" && ! grep -q '^FAIL' "$W/out" || gr_fail "receiver run failed: $(head "$W/out")"
gr_gluster 1 volume profile sv info incremental >"$W/profile" || gr_fail "cannot read volume profile"
count() {  # FOP: calls in the interval
  awk -v fop="$1" '/Interval/ {on=1} on && $NF == fop && $(NF-1) ~ /^[0-9]+$/ {n += $(NF-1)} END {print n + 0}' "$W/profile"
}
lookups=$(count LOOKUP)
gr_log "for $N new files: $(count MKNOD) MKNOD, $(count WRITE) WRITE, $(count SETATTR) SETATTR, $lookups LOOKUP"
[ "$(count MKNOD)" -eq "$N" ] || gr_fail "expected $N MKNOD, got $(count MKNOD)"
[ "$(count WRITE)" -eq "$N" ] || gr_fail "expected $N WRITE, got $(count WRITE)"
[ "$(count SETATTR)" -eq "$N" ] || gr_fail "expected $N SETATTR, got $(count SETATTR)"
# Session set-up (root, /.gfid, the directory) costs about ten more.
max=$((2 * N + 20))
[ "$lookups" -le "$max" ] || gr_fail "$lookups LOOKUPs for $N new files: more than 2 per file (limit $max)"
for i in 0 $((N - 1)); do
  got=$(cat "$(gr_brick_path 1 s1)/d/f$i" 2>/dev/null)
  [ "$got" = "hello georep" ] || gr_fail "d/f$i on the brick holds '$got'"
done
gr_log "receiver_fop_counts: passed"

#!/usr/bin/env bash
# Bricks whose file system refuses O_DIRECT must still get every byte.
#
# georep-receiver writes a big file's chunks with O_DIRECT (the secondary's
# bricks then neither copy them into their page cache nor keep them there).
# A brick file system without O_DIRECT refuses either the open or, later,
# each write with EINVAL; the receiver then turns direct I/O off and writes
# buffered, redoing any refused write in order. Here a preload
# (refuse_direct_io.c) makes the bricks refuse, first the writes, then the
# opens; each time an 8 MiB file (1 MiB chunks, pipelined) must arrive
# intact, no op may fail, and the receiver must say it turned direct I/O off.
source "$(dirname "$0")/lib/cluster.sh"

RECEIVER="$GEOREP_BUILD_DIR/sync/receiver/georep-receiver"
CLIENT="$GEOREP_BUILD_DIR/tests/unit/sync/receiver_client"
PRELOAD="$GEOREP_BUILD_DIR/tests/integration/librefuse_direct_io.so"
[ -x "$RECEIVER" ] || gr_fail "not built: $RECEIVER (run: ninja -C $GEOREP_BUILD_DIR)"
[ -x "$CLIENT" ] || gr_fail "not built: $CLIENT (run: ninja -C $GEOREP_BUILD_DIR)"
[ -f "$PRELOAD" ] || gr_fail "not built: $PRELOAD (run: ninja -C $GEOREP_BUILD_DIR)"

# run_case MODE: a cluster whose bricks refuse O_DIRECT the MODE way.
run_case() {
  local mode=$1 d f W
  GR_GLUSTERD_ENV="LD_PRELOAD=$PRELOAD GEOREP_TEST_REFUSE_DIRECT=$mode"
  gr_cluster_up 1
  gr_volume_create sv "1:s1"
  W="$GR_DIR/direct"
  mkdir -p "$W" && head -c $((8 * 1024 * 1024)) /dev/urandom >"$W/src" || gr_fail "cannot make the source file"
  export GEOREP_RECEIVER_LOCK_DIR="$GR_DIR/locks"
  d=$(python3 -c 'import uuid; print(uuid.uuid4())')
  f=$(python3 -c 'import uuid; print(uuid.uuid4())')
  cat >"$W/script" <<SCRIPT
hello s pv pb sv
batch
create root d $d 040755 0 0
create $d big $f 0100644 0 0
end
datafile $f 0 $W/src
ping 1
bye
SCRIPT
  gr_ns "$CLIENT" "$W/script" -- "$RECEIVER" --volume sv --volfile-server "$(gr_node_ip 1)" \
    --log-file "$W/receiver-$mode.log" --log-level info --idle-timeout 60 >"$W/out-$mode" ||
    gr_fail "$mode: receiver_client failed (see $W/out-$mode)"
  grep -q '^EXIT 0$' "$W/out-$mode" || gr_fail "$mode: receiver exit: $(tail -3 "$W/out-$mode")"
  ! grep -q '^FAIL' "$W/out-$mode" || gr_fail "$mode: failed ops: $(grep '^FAIL' "$W/out-$mode" | head -3)"
  cmp -s "$W/src" "$(gr_brick_path 1 s1)/d/big" ||
    gr_fail "$mode: the brick's copy differs from the source (log $W/receiver-$mode.log)"
  grep -q 'direct I/O is off' "$W/receiver-$mode.log" ||
    gr_fail "$mode: the receiver never turned direct I/O off: did the bricks refuse O_DIRECT? ($PRELOAD)"
  gr_log "$mode refused: $(grep -o 'a brick refused.*\|the bricks refused.*' "$W/receiver-$mode.log" | head -1 | cut -c1-100)"
  gr_cluster_down
}

run_case write
run_case open
gr_log "receiver_direct_fallback: passed"

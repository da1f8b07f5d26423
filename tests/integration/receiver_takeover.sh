#!/usr/bin/env bash
# One applying georep-receiver per brick (PROTOCOL.md, "One receiver per
# brick"): a second receiver for the same brick stops the first with SIGTERM
# while it is in the middle of a long batch - the first applies nothing more
# (not the rest of its batch, not its stale create of 'a') and sends no ACK -
# and then applies its own batch; receivers of different bricks do not wait
# for each other.
source "$(dirname "$0")/lib/cluster.sh"

RECEIVER="$GEOREP_BUILD_DIR/sync/receiver/georep-receiver"
CLIENT="$GEOREP_BUILD_DIR/tests/unit/sync/receiver_client"
[ -x "$RECEIVER" ] || gr_fail "not built: $RECEIVER (run: ninja -C $GEOREP_BUILD_DIR)"
[ -x "$CLIENT" ] || gr_fail "not built: $CLIENT (run: ninja -C $GEOREP_BUILD_DIR)"

gr_cluster_up 1
gr_volume_create sv "1:s1"
B=$(gr_brick_path 1 s1)
W="$GR_DIR/receiver"
mkdir -p "$W"
# Locks in the test's own directory (removed with it), not in /run/georep.
export GEOREP_RECEIVER_LOCK_DIR="$GR_DIR/locks"
CLIENT_PIDS=()
# Background clients end with their receivers; stop any that did not.
trap 'rc=$?; for p in "${CLIENT_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done;
      (exit $rc); gr_cluster_down' EXIT

start_client() {  # NAME: runs $W/NAME.in in the background, output in $W/NAME.out
  gr_ns "$CLIENT" "$W/$1.in" -- "$RECEIVER" --volume sv --volfile-server "$(gr_node_ip 1)" \
    --log-file "$W/$1.log" --idle-timeout 60 >"$W/$1.out" 2>"$W/$1.err" &
  CLIENT_PIDS+=($!)
}
wait_line() {  # NAME REGEX SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -Eq "$2" "$W/$1.out" 2>/dev/null && return 0
    sleep 0.1
  done
  gr_fail "case $1: no line matching '$2' within $3 s: $(cat "$W/$1.out" "$W/$1.err" 2>/dev/null)"
}
run_client() {  # NAME: foreground
  gr_ns "$CLIENT" "$W/$1.in" -- "$RECEIVER" --volume sv --volfile-server "$(gr_node_ip 1)" \
    --log-file "$W/$1.log" --idle-timeout 60 >"$W/$1.out" 2>"$W/$1.err" ||
    gr_fail "receiver_client failed for $1: $(cat "$W/$1.err")"
}
gfid() { printf '22222222-2222-4222-8222-%012d' "$1"; }

# 1. Receiver A: one batch of 4000 creates, then 'a' (the stale op: in the
#    primary's order it comes before the unlink B applies).
A_GFID=$(gfid 999999)
{
  echo "hello takeover pv brick-1 sv"
  echo "batch"
  for ((i = 0; i < 4000; i++)); do echo "create root f$i $(gfid "$i") 0100644 0 0"; done
  echo "create root a $A_GFID 0100644 0 0"
  echo "end"
} >"$W/a.in"
start_client a
A_CLIENT=${CLIENT_PIDS[-1]}
wait_line a '^HELLO_OK ' 60
# Let A get into its batch.
for ((i = 0; i < 100; i++)); do
  [ "$(ls "$B" | grep -c '^f')" -ge 50 ] && break
  sleep 0.1
done

# 2. Receiver B for the same brick: takes over, then unlinks 'a' (absent: ok).
cat >"$W/b.in" <<EOF
hello takeover pv brick-1 sv
batch
unlink root a $A_GFID
create root b-done $(gfid 888888) 0100644 0 0
end
bye
EOF
t0=$(date +%s%N)
run_client b
t1=$(date +%s%N)
wait "$A_CLIENT"
sed 's/^/[a] /' "$W/a.out" >&2
sed 's/^/[b] /' "$W/b.out" >&2
grep -q '^EXIT 6$' "$W/a.out" || gr_fail "receiver A was not stopped by SIGTERM: $(cat "$W/a.out")"
! grep -q '^ACK ' "$W/a.out" || gr_fail "receiver A acknowledged a batch it did not finish"
grep -q '^HELLO_OK ' "$W/b.out" || gr_fail "receiver B did not take over: $(cat "$W/b.out")"
grep -q '^ACK 1 ops=2 failures=0$' "$W/b.out" || gr_fail "receiver B's batch failed: $(cat "$W/b.out")"
grep -q '^EXIT 0$' "$W/b.out" || gr_fail "receiver B did not end cleanly"
grep -q 'took over brick brick-1 of session takeover from pid' "$W/b.log" ||
  gr_fail "receiver B's log does not name the takeover: $(cat "$W/b.log")"
[ ! -e "$B/a" ] || gr_fail "'a' exists: the old receiver applied a stale op after the takeover"
[ -e "$B/b-done" ] || gr_fail "receiver B's create is missing"
applied=$(ls "$B" | grep -c '^f')
[ "$applied" -lt 4000 ] || gr_fail "receiver A finished its batch despite SIGTERM"
gr_log "takeover: A stopped after $applied of 4001 ops; B answered in $(((t1 - t0) / 1000000)) ms"

# 3. Different bricks: C holds brick-2 open while D serves brick-3 at once.
printf 'hello takeover pv brick-2 sv\nsleep 4000\nbye\n' >"$W/c.in"
start_client c
C_CLIENT=${CLIENT_PIDS[-1]}
wait_line c '^HELLO_OK ' 60
printf 'hello takeover pv brick-3 sv\nping 1\nbye\n' >"$W/d.in"
run_client d
grep -q '^PONG 1$' "$W/d.out" || gr_fail "receiver D (another brick) was blocked: $(cat "$W/d.out")"
! grep -q 'SIGTERM' "$W/d.log" || gr_fail "receiver D signalled another brick's receiver"
wait "$C_CLIENT"
grep -q '^EXIT 0$' "$W/c.out" || gr_fail "receiver C (brick-2) was disturbed: $(cat "$W/c.out")"
# Receivers that end remove their lock files.
[ -z "$(ls -A "$GEOREP_RECEIVER_LOCK_DIR")" ] ||
  gr_fail "lock files left behind: $(ls -A "$GEOREP_RECEIVER_LOCK_DIR")"
gr_log "receiver_takeover: PASS"

#!/usr/bin/env bash
# No acknowledged change is lost when a brick is killed: while a client
# creates and writes files, brick 1 is killed with SIGKILL; after it is
# restarted, every file whose create and write the client saw succeed must
# have its CREATE and WRITE records in its brick's journal, and the
# restarted brick must go on journaling.
source "$(dirname "$0")/lib/cluster.sh"
source "$(dirname "$0")/xlator_lib.sh"

WRITER_MAX_FILES=4000      # bound on the workload
WRITER_MAX_S=60            # and on its duration
ACKED_BEFORE_KILL=150      # files acknowledged before the kill
xl_require_tools

gr_cluster_up 1
gr_volume_create cv "1:b1 1:b2"
# Without write-behind the client's write returns only once the brick has
# acknowledged it, which is what the test checks against the journal.
gr_gluster 1 volume set cv performance.write-behind off >/dev/null || gr_fail "volume set failed"
gr_enable_xlator cv
B1=$(gr_brick_path 1 b1)
B2=$(gr_brick_path 1 b2)
# Not as $(gr_mount ...): the mount must be registered for teardown.
m="$GR_DIR/mnt/cv"
gr_mount cv "$m" >/dev/null
mkdir "$m/w" || gr_fail "mkdir through FUSE failed"

ACKED="$GR_DIR/acked"
STOP="$GR_DIR/stop-writer"
: >"$ACKED"
# The writer records a file only after both its create and its write
# returned success. Failures (the files hashed to the dead brick) are
# expected and skipped.
(
  start=$SECONDS
  for ((i = 1; i <= WRITER_MAX_FILES; i++)); do
    [ -e "$STOP" ] && break
    ((SECONDS - start < WRITER_MAX_S)) || break
    if { printf 'payload-%06d\n' "$i" >"$m/w/f$i"; } 2>/dev/null; then
      echo "f$i" >>"$ACKED"
    fi
  done
) &
WRITER=$!

acked_count() { wc -l <"$ACKED"; }
enough_acked() { (($(acked_count) >= ACKED_BEFORE_KILL)); }
gr_wait enough_acked || gr_fail "the writer did not get $ACKED_BEFORE_KILL files acknowledged"

PID1=$(gr_brick_pid "$(gr_node_ip 1):$B1" cv)
[ -n "$PID1" ] || gr_fail "no pid for brick b1"
kill -9 "$PID1" || gr_fail "cannot kill brick b1 (pid $PID1)"
gr_log "killed brick b1 (pid $PID1) after $(acked_count) acknowledged files"
sleep 2                                  # the writer keeps going on brick 2
touch "$STOP"
wait "$WRITER"
gr_log "writer stopped: $(acked_count) files acknowledged in all"

gr_gluster 1 volume start cv force >/dev/null || gr_fail "volume start force failed"
gr_wait_bricks_online cv || gr_fail "brick b1 did not come back"

# After the restart brick 1 journals again, continuing its sequence. The
# client reconnects to it within a few seconds: retry each file until then.
write_after() { { echo after >"$m/w/after$1"; } 2>/dev/null; }
for ((i = 1; i <= 40; i++)); do
  gr_wait write_after "$i" || gr_fail "writing $m/w/after$i after the restart kept failing"
done

# Both journals as "gfid name" for CREATEs under w/ and "gfid length" for
# WRITEs; then every acknowledged file must have both on its brick.
W=$(xl_gfid "$B1/w") || gr_fail "cannot read the gfid of w"
missing=0
for b in "$B1" "$B2"; do
  json=$(xl_journal_json "$b") || exit 1
  jq -r --arg w "$W" 'select(.op == "CREATE" and .pargfid == $w and .flags == 0) | "\(.gfid) \(.name)"' \
    <<<"$json" >"$GR_DIR/creates.$(basename "$b")"
  jq -r 'select(.op == "WRITE") | "\(.gfid) \(.offset) \(.length)"' <<<"$json" >"$GR_DIR/writes.$(basename "$b")"
done
while read -r name; do
  b=""
  for cand in "$B1" "$B2"; do
    [ -f "$cand/w/$name" ] && [ "$(stat -c %A "$cand/w/$name")" != "---------T" ] && b=$cand
  done
  [ -n "$b" ] || { gr_log "acknowledged file $name is on no brick"; missing=$((missing + 1)); continue; }
  g=$(xl_gfid "$b/w/$name") || { missing=$((missing + 1)); continue; }
  bn=$(basename "$b")
  if ! grep -qxF "$g $name" "$GR_DIR/creates.$bn"; then
    gr_log "no CREATE record for acknowledged file $name ($g) in the journal of $bn"
    missing=$((missing + 1))
  elif ! grep -qxF "$g 0 15" "$GR_DIR/writes.$bn"; then
    gr_log "no WRITE record (offset 0, 15 bytes) for acknowledged file $name ($g) in the journal of $bn"
    missing=$((missing + 1))
  fi
done <"$ACKED"
((missing == 0)) || gr_fail "$missing acknowledged change(s) missing from the journals"
gr_log "ok: all $(acked_count) acknowledged files are journaled"

# Brick 1's journal: a new segment after the restart, records of the files
# written after it, sequence numbers still strictly increasing.
segments=$("$XL_JOURNAL_TOOL" dump "$B1" --json | jq -s 'map(select(.event == "segment")) | length')
((segments >= 2)) || gr_fail "brick b1 did not start a new journal segment after the restart ($segments)"
after=$(xl_journal_json "$B1" | jq -r 'select(.op == "CREATE") | .name' | grep -c '^after')
((after > 0)) || gr_fail "brick b1 journaled none of the files created after its restart"
for b in "$B1" "$B2"; do
  xl_journal_json "$b" | jq -s -e 'map(.seq) | . == (sort | unique)' >/dev/null ||
    gr_fail "sequence numbers of $(basename "$b") are not strictly increasing"
done
gr_log "ok: brick b1 resumed journaling ($segments segments, $after files after the restart)"
echo "1 passed, 0 failed"

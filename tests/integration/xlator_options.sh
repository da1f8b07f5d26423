#!/usr/bin/env bash
# What an admin sees when setting the translator's options:
# - a good value is applied to the running brick without a restart;
# - GlusterFS's `volume set` accepts any value for user.* keys (glusterd does
#   not validate them), so a bad value is refused by the brick itself: it
#   logs which option, which value and what is accepted, and keeps running
#   with its previous settings;
# - a volume with a bad value left in place does not start ("Commit failed"),
#   the brick log saying why; fixing the value lets it start.
source "$(dirname "$0")/lib/cluster.sh"
source "$(dirname "$0")/xlator_lib.sh"
xl_require_tools

gr_cluster_up 1
gr_volume_create ov "1:b1"
gr_enable_xlator ov
B1=$(gr_brick_path 1 b1)
BRICK="$(gr_node_ip 1):$B1"
# Not as $(gr_mount ...): the mount must be registered for teardown.
m="$GR_DIR/mnt/ov"
gr_mount ov "$m" >/dev/null

brick_log_has() { grep -qF -- "$1" "$GR_DIR"/n1/log/bricks/*.log; }
set_opt() { gr_gluster 1 volume set ov "user.xlator.georep.$1" "$2"; }

brick_log_has "journal options started: journal-fsync=interval journal-fsync-interval=1000 segment-size=67108864 max-journal-size=4294967296 record-internal=on" ||
  gr_fail "the brick log does not show the default journal options"
PID=$(gr_brick_pid "$BRICK" ov)
[ -n "$PID" ] || gr_fail "no brick pid"

# A good value: applied live.
out=$(set_opt journal-fsync always) || gr_fail "volume set journal-fsync always failed: $out"
gr_wait brick_log_has "journal options reconfigured: journal-fsync=always" ||
  gr_fail "journal-fsync always was not applied to the running brick"
out=$(set_opt segment-size 8MB) || gr_fail "volume set segment-size 8MB failed: $out"
gr_wait brick_log_has "segment-size=8388608" || gr_fail "segment-size 8MB was not applied"
gr_log "ok: good values are applied without a restart"

# Bad values: `volume set` says success (GlusterFS), the brick refuses them.
out=$(set_opt journal-fsync sometimes) || gr_fail "volume set refused the value itself: $out (expected GlusterFS to pass user.* keys through)"
gr_wait brick_log_has "refusing new options: option journal-fsync sometimes: 'sometimes' is not valid (possible options are never, interval, always.)" ||
  gr_fail "the brick did not log why journal-fsync=sometimes was refused"
out=$(set_opt journal-fsync always) || gr_fail "volume set failed: $out"
out=$(set_opt segment-size 10KB) || gr_fail "volume set failed: $out"
gr_wait brick_log_has "refusing new options: '10240' in 'option segment-size 10KB' is out of range [1048576 - 4294967296]" ||
  gr_fail "the brick did not log why segment-size=10KB was refused"
[ "$(gr_brick_pid "$BRICK" ov)" = "$PID" ] || gr_fail "the brick restarted or died after a refused value"
echo data >"$m/still-journaled" || gr_fail "write after a refused option failed"
xl_journal_json "$B1" | jq -r 'select(.op == "CREATE") | .name' | grep -qx still-journaled ||
  gr_fail "the brick stopped journaling after a refused option"
gr_log "ok: bad values are refused by the running brick, which keeps journaling"

# A restart with the bad value in place fails, and says why.
gr_gluster 1 volume stop ov >/dev/null || gr_fail "volume stop failed"
if out=$(gr_gluster 1 volume start ov 2>&1); then
  gr_fail "volume start succeeded with segment-size=10KB: $out"
fi
grep -q "Commit failed" <<<"$out" || gr_fail "unexpected volume start error: $out"
gr_wait brick_log_has "validation failed: '10240' in 'option segment-size 10KB' is out of range" ||
  gr_fail "the brick log does not say why it did not start"
out=$(set_opt segment-size 16MB) || gr_fail "volume set failed: $out"
# glusterd takes the pid in the brick's pid file for a running brick while
# that process still exists, even as an unreaped zombie ("discovered
# already-running brick"): let the failed one disappear first.
failed_brick_gone() {
  local f pid
  for f in "$GR_DIR"/n1/run/vols/ov/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    [ -n "$pid" ] && [ -e "/proc/$pid" ] && return 1
  done
  return 0
}
gr_wait failed_brick_gone || gr_fail "the brick process that failed to start did not go away"
gr_gluster 1 volume start ov >/dev/null || gr_fail "volume start failed after fixing the value"
gr_wait_bricks_online ov || gr_fail "the brick did not come online after fixing the value"
gr_wait brick_log_has "journal options started: journal-fsync=always journal-fsync-interval=1000 segment-size=16777216" ||
  gr_fail "the restarted brick does not use the fixed options"
gr_log "ok: a bad value blocks the start with a logged reason; fixing it lets the brick start"

# The journal's own warnings reach the brick log: with the smallest cap, a
# registered consumer that reads nothing loses records, and the admin must
# read in the brick log that it needs a full resync (before, this went to
# glusterfsd's stderr, which is discarded).
out=$(set_opt segment-size 1MB) || gr_fail "volume set failed: $out"
out=$(set_opt max-journal-size 1MB) || gr_fail "volume set failed: $out"
gr_wait brick_log_has "segment-size=1048576 max-journal-size=1048576" || gr_fail "the 1MB cap was not applied"
mkdir -p "$B1/.glusterfs/georep/consumers" && echo 0 >"$B1/.glusterfs/georep/consumers/lagging.cursor" ||
  gr_fail "cannot register a consumer in $B1/.glusterfs/georep/consumers"
# The client reconnects to the restarted brick within a few seconds.
write_ok() { { echo x >"$m/after-restart"; } 2>/dev/null; }
gr_wait write_ok || gr_fail "writing through the mount after the restart kept failing"
# ~3 KB symlink records: 500 of them fill a 1MB segment and roll it.
target=$(printf 't%.0s' {1..3000})
mkdir "$m/cap" || gr_fail "mkdir through FUSE failed"
for ((i = 1; i <= 500; i++)); do
  ln -s "$target" "$m/cap/l$i" || gr_fail "symlink $i through FUSE failed"
done
gr_wait brick_log_has "consumer 'lagging' (cursor 0) read them; a full resync is needed" ||
  gr_fail "the brick log does not show the size cap's resync warning for consumer 'lagging'"
grep -F "consumer 'lagging'" "$GR_DIR"/n1/log/bricks/*.log | grep -q "\] W \[" ||
  gr_fail "the resync warning is not logged at WARNING level"
[ -f "$B1/.glusterfs/georep/consumers/lagging.resync" ] || gr_fail "consumer 'lagging' was not marked for resync"
gr_log "ok: the size cap's resync warning is in the brick log: $(grep -F "consumer 'lagging'" "$GR_DIR"/n1/log/bricks/*.log | head -1 | cut -c1-200)"
echo "1 passed, 0 failed"

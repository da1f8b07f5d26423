#!/bin/bash
# Failover after a self-heal. With a replica-2 primary, changes made while
# the Passive brick was down reach it only through self-heal, and it
# journals them with origin self-heal - which a worker skips, since the
# Active worker replicates the same changes from its own journal. If the
# Active brick then dies before its worker sent them (here: georepd was
# stopped meanwhile), the worker that takes over must replay those healed
# records, or the changes never reach the secondary.
set -u
source "$(dirname "$0")/sync_lib.sh"

sy_setup "1:p1 1:p2" "replica 2"
# Heals by the self-heal daemon only (not by the FUSE client on lookup), so
# that the healed brick journals them all with origin self-heal.
for o in cluster.data-self-heal cluster.metadata-self-heal cluster.entry-self-heal; do
  gr_gluster 1 volume set pv "$o" off >/dev/null || gr_fail "volume set pv $o off failed"
done
sy_write_conf started passive_lag_s=0
P=$SY_PM
B1=$(gr_brick_path 1 p1)
B2=$(gr_brick_path 1 p2)
status_of() { echo "$SY_SDIR/status/$(gr_node_ip 1)_$(sed 's:[^A-Za-z0-9._-]:_:g; s:__*:_:g; s:^_::' <<<"$1").status"; }
st1=$(status_of "$B1")
st2=$(status_of "$B2")
field_is() { [ "$(sy_status_field "$2" "$1")" = "$3" ]; }

mkdir "$P/d" && echo before >"$P/d/before" && echo gone >"$P/d/gone" && echo old >"$P/d/old" ||
  gr_fail "writing through the primary's mount failed"
sy_start_daemon
GR_WAIT_S=60 gr_wait field_is "$st1" status Active || gr_fail "the first brick's worker is not Active"
GR_WAIT_S=30 gr_wait field_is "$st2" status Passive || gr_fail "the second brick's worker is not Passive"
sy_verify 60 --quiet || gr_fail "the initial sync did not converge"
# A journaled change, so that the Active worker writes a sync mark for the
# Passive cursor to follow.
echo both >"$P/d/both" || gr_fail "write failed"
sy_verify 60 --quiet || gr_fail "a change with both bricks up did not converge"
cursor_moved() { [ "$(sy_status_field cursor_seq "$st2")" -gt 0 ] 2>/dev/null; }
GR_WAIT_S=30 gr_wait cursor_moved || gr_fail "the Passive cursor did not follow the sync mark"

# From here nothing replicates: the Active worker will never send what
# follows.
sy_stop_daemon TERM

pid2=$(gr_brick_pid "$(gr_node_ip 1):$B2" pv)
[ -n "$pid2" ] || gr_fail "no pid for the second brick"
kill -9 "$pid2"
p2_down() { ! kill -0 "$pid2" 2>/dev/null; }
gr_wait p2_down || gr_fail "the second brick did not exit"
# Changes while the Passive brick is down: only the Active brick has them.
mkdir "$P/d/new-dir" && echo healed >"$P/d/new-dir/f" && echo more >>"$P/d/before" &&
  rm "$P/d/gone" && chmod 0600 "$P/d/old" && setfattr -n user.tag -v healed "$P/d/old" ||
  gr_fail "changing the primary with the second brick down failed"

# The second brick comes back and is healed from the first.
gr_restart_and_heal pv
healed() {
  gr_heal_pending_none pv 2 &&
    [ -f "$B2/d/new-dir/f" ] && [ ! -e "$B2/d/gone" ] && [ "$(stat -c %a "$B2/d/old")" = 600 ]
}
GR_WAIT_S=60 gr_wait healed || gr_fail "the second brick was not healed: $(gr_gluster 1 volume heal pv statistics heal-count 2>&1 | tr '\n' ' ')"
gr_log "second brick healed"

# The Active brick dies; georepd comes back and the second brick's worker
# takes over.
pid1=$(gr_brick_pid "$(gr_node_ip 1):$B1" pv)
[ -n "$pid1" ] || gr_fail "no pid for the first brick"
kill -9 "$pid1"
p1_down() { ! kill -0 "$pid1" 2>/dev/null; }
gr_wait p1_down || gr_fail "the first brick did not exit"
sy_start_daemon
GR_WAIT_S=60 gr_wait field_is "$st2" status Active || gr_fail "the second brick's worker did not take over"
sy_verify 90 || gr_fail "what the second brick got only by self-heal did not reach the secondary after the takeover"
grep -q "self-heal" "$SY_LOG" || gr_fail "georepd's log does not say it replays healed records"
gr_log "after the takeover the healed changes reached the secondary"
sy_stop_daemon TERM
gr_log "PASS"

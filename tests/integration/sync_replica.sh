#!/bin/bash
# Replica sets: with a replica-2 primary (both bricks on node 1), one worker
# is Active and the other Passive; when the Active brick's process dies the
# Passive worker takes over (from its own journal cursor, which followed the
# Active worker's sync mark) and changes made after the takeover still reach
# the secondary.
set -u
source "$(dirname "$0")/sync_lib.sh"

sy_setup "1:p1 1:p2" "replica 2"
# No lag: the Passive cursor follows the sync mark as soon as it moves.
sy_write_conf started passive_lag_s=0
P=$SY_PM
echo before >"$P/before"
sy_start_daemon
st1="$SY_SDIR/status/$(gr_node_ip 1)_$(sed 's:[^A-Za-z0-9._-]:_:g; s:__*:_:g; s:^_::' <<<"$(gr_brick_path 1 p1)").status"
st2="$SY_SDIR/status/$(gr_node_ip 1)_$(sed 's:[^A-Za-z0-9._-]:_:g; s:__*:_:g; s:^_::' <<<"$(gr_brick_path 1 p2)").status"
field_is() { [ "$(sy_status_field "$2" "$1")" = "$3" ]; }
GR_WAIT_S=60 gr_wait field_is "$st1" status Active || gr_fail "first brick's worker is not Active ($(ls "$SY_SDIR/status"))"
GR_WAIT_S=30 gr_wait field_is "$st2" status Passive || gr_fail "second brick's worker is not Passive"
sy_verify 60 >/dev/null || gr_fail "initial sync did not converge"
echo "while both up" >"$P/both"
sy_verify 60 >/dev/null || gr_fail "changes did not converge with one Active worker"

# The Active worker records how far it synced on the volume root (the sync
# mark, replicated to both bricks); the Passive worker's cursor follows it,
# so its journal is not kept forever and a takeover replays little.
mark_key=trusted.georep.$SY_SESSION.set0.synced
has_mark() { getfattr --absolute-names -n "$mark_key" "$(gr_brick_path 1 p2)" >/dev/null 2>&1; }
GR_WAIT_S=30 gr_wait has_mark || gr_fail "no sync mark $mark_key on the Passive brick's root"
cursor_moved() { [ "$(sy_status_field cursor_seq "$st2")" -gt 0 ] 2>/dev/null; }
GR_WAIT_S=30 gr_wait cursor_moved || gr_fail "the Passive cursor did not follow the sync mark (cursor_seq=$(sy_status_field cursor_seq "$st2"))"
gr_log "Passive cursor follows the sync mark: $(sy_status_field cursor_seq "$st2")"

# Kill the Active brick's process (by pid): the Passive worker takes over.
pid=$(gr_brick_pid "$(gr_node_ip 1):$(gr_brick_path 1 p1)" pv)
[ -n "$pid" ] || gr_fail "no pid for the first brick"
kill -9 "$pid"
echo "after takeover" >"$P/after"
mkdir "$P/dir-after"; echo x >"$P/dir-after/f"; mv "$P/both" "$P/both-renamed"
GR_WAIT_S=60 gr_wait field_is "$st2" status Active || gr_fail "the Passive worker did not take over"
GR_WAIT_S=30 gr_wait field_is "$st1" status Passive || gr_fail "the dead brick's worker is still '$(sy_status_field status "$st1")'"
sy_verify 90 >/dev/null || { sy_verify 1; gr_fail "changes after the takeover did not converge"; }
gr_log "takeover ok"
sy_stop_daemon TERM
gr_log "PASS"

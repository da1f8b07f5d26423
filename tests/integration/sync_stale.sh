#!/bin/bash
# georepd against a secondary holding STALE entries (same names, other GFIDs,
# made on the secondary out of band): the receiver refuses to replace them
# (EEXIST, so a replay can never destroy a newer entry); georepd checks the
# primary, finds the op's GFID at that name there, and resends with
# REPLACE_STALE. Covered: a stale file and an empty stale directory met by
# the initial crawl (with a child), a stale file met by a journaled create,
# a rename onto a stale target, a rename of a file deleted on the secondary
# (re-created from the primary), files lost on the secondary and then only
# written or chmod-ed (re-created from their names on the primary, hard
# links and a name taken meanwhile included), and a create the primary has moved on from
# (counted in replays_skipped, not failures). Each phase must end with zero differences,
# failures=0 and stale_replaced>0. Then a NON-EMPTY stale directory, which
# the receiver never removes: it must show up as failures with last_failure
# naming it and the fix, and the documented fix (remove it on the secondary,
# delete the worker state file, restart) must converge.
set -u
source "$(dirname "$0")/sync_lib.sh"

sy_setup
P=$SY_PM
S=$(gr_mount sv "" 2)

# ---- stale entries met by the initial crawl ----
echo "stale on the secondary" >"$S/same-name" || gr_fail "write on the secondary mount"
mkdir "$S/dir-stale"
echo "primary's file" >"$P/same-name"
mkdir "$P/dir-stale" && echo child >"$P/dir-stale/child"
sg=$(getfattr -n glusterfs.gfid.string --only-values "$S/same-name" 2>/dev/null)
pg=$(getfattr -n glusterfs.gfid.string --only-values "$P/same-name" 2>/dev/null)
[ -z "$sg" ] || [ "$sg" != "$pg" ] || gr_fail "test setup: the secondary's entry should have another GFID"

sy_start_daemon
GR_WAIT_S=60 gr_wait sy_has_status || gr_fail "georepd wrote no status file (see $SY_LOG)"
sy_verify 60 >/dev/null || { sy_verify 1; tail -30 "$SY_LOG"; gr_fail "stale entries met by the crawl were not replaced"; }
sleep 2  # the status file is rewritten every second
[ "$(sy_status_field failures)" = 0 ] || gr_fail "failures=$(sy_status_field failures): $(sy_status_field last_failure)"
[ "$(sy_status_field stale_replaced)" -ge 2 ] || gr_fail "stale_replaced=$(sy_status_field stale_replaced), expected >= 2"
GR_WAIT_S=20 gr_wait sy_field_is crawl_status "Journal Crawl" || gr_fail "crawl_status stayed '$(sy_status_field crawl_status)'"
[ "$(sy_status_field last_synced)" -gt 0 ] || gr_fail "last_synced is '$(sy_status_field last_synced)' after the crawl was acknowledged"
gr_log "crawl: stale file and directory replaced"

# ---- stale entries met by the journal ----
echo "moved on the primary" >"$P/moveme"
sy_verify 60 >/dev/null || { sy_verify 1; gr_fail "moveme did not arrive"; }
echo "stale" >"$S/later"; echo "stale target" >"$S/tgt"
rm "$S/moveme"                                                   # lost on the secondary
echo "new" >"$P/later"                                           # create over a stale name
echo "winner" >"$P/src"; mv "$P/src" "$P/tgt"                    # rename onto a stale target
mv "$P/moveme" "$P/moved"                                        # rename of a missing object
sy_verify 60 >/dev/null || { sy_verify 1; tail -30 "$SY_LOG"; gr_fail "stale entries met by the journal were not replaced"; }
sleep 2
[ "$(sy_status_field failures)" = 0 ] || gr_fail "failures=$(sy_status_field failures): $(sy_status_field last_failure)"
gr_log "journal: stale entries replaced, missing file re-created (stale_replaced=$(sy_status_field stale_replaced))"

# ---- files lost on the secondary, then changed on the primary ----
# Only data and metadata ops follow, which name the file by GFID: georepd
# finds its names on the primary (glusterfs.gfidtopath) and re-creates it
# there with its current data, every hard link, and over a name the
# secondary gave to another file meanwhile.
mkdir -p "$P/lost/deep" && echo v1 >"$P/lost/deep/f" && ln "$P/lost/deep/f" "$P/lost/link"
echo v1 >"$P/lost/taken"
sy_verify 60 >/dev/null || { sy_verify 1; gr_fail "the lost/ files did not arrive"; }
rm "$S/lost/deep/f" "$S/lost/link" "$S/lost/taken" && echo "another file" >"$S/lost/taken"
echo v2 >>"$P/lost/deep/f" && chmod 600 "$P/lost/deep/f"
echo v2 >>"$P/lost/taken"
sy_verify 60 >/dev/null || { sy_verify 1; tail -30 "$SY_LOG"; gr_fail "files lost on the secondary were not re-created from the primary"; }
sleep 2
[ "$(sy_status_field failures)" = 0 ] || gr_fail "failures=$(sy_status_field failures): $(sy_status_field last_failure)"
gr_log "files lost on the secondary re-created with their links"

# ---- a refused op the primary has moved on from is a replay, not a failure ----
# While georepd is down: r1 is created, renamed to r2, and r1 reused by a new
# file; the secondary has a stale r1. The journaled create of the first r1 is
# refused (EEXIST) and the primary no longer has that GFID at r1: skipped as
# history; the rename re-creates the file at r2, the new r1 replaces the stale one.
sy_stop_daemon TERM
echo "stale" >"$S/r1"
echo "first" >"$P/r1"; mv "$P/r1" "$P/r2"; echo "second" >"$P/r1"
replays_before=$(sy_status_field replays_skipped)
sy_start_daemon
sy_verify 60 >/dev/null || { sy_verify 1; tail -30 "$SY_LOG"; gr_fail "a reused name did not converge"; }
sleep 2
[ "$(sy_status_field failures)" = 0 ] || gr_fail "failures=$(sy_status_field failures): $(sy_status_field last_failure)"
[ "$(sy_status_field replays_skipped)" -ge 1 ] ||
  gr_fail "replays_skipped=$(sy_status_field replays_skipped) (was $replays_before): the refused create of the renamed file should count as a replay"
gr_log "replay of a moved-on create skipped (replays_skipped=$(sy_status_field replays_skipped))"

# ---- a non-empty stale directory: reported, then fixed by the admin ----
mkdir -p "$S/full/inner" && echo keep >"$S/full/inner/f"
mkdir "$P/full" && echo x >"$P/full/x"
failures_seen() { [ "$(sy_status_field failures)" -gt 0 ] 2>/dev/null; }
GR_WAIT_S=30 gr_wait failures_seen || gr_fail "a non-empty stale directory did not count as a failure"
lf=$(sy_status_field last_failure)
case $lf in
  *"/full"*"remove it on the secondary"*".state"*) ;;
  *) gr_fail "last_failure does not name the directory and the fix: '$lf'" ;;
esac
gr_log "non-empty stale directory reported: $lf"
rm -rf "$S/full"
sy_stop_daemon TERM
rm -f "$SY_SDIR"/workers/*.state
sy_start_daemon
sy_verify 90 >/dev/null || { sy_verify 1; tail -30 "$SY_LOG"; gr_fail "the documented fix did not converge"; }
sleep 2
[ "$(sy_status_field failures)" = 0 ] || gr_fail "failures after the fix: $(sy_status_field last_failure)"

# `georep delete reset-sync-time` removes the session directory: georepd then
# also removes the session's sync mark from the primary volume's root.
mark_key=trusted.georep.$SY_SESSION.set0.synced
PB=$(gr_brick_path 1 p1)
has_mark() { getfattr --absolute-names -n "$mark_key" "$PB" >/dev/null 2>&1; }
GR_WAIT_S=30 gr_wait has_mark || gr_fail "no sync mark $mark_key on the primary brick's root"
rm -rf "$SY_SDIR"
no_mark() { ! has_mark; }
GR_WAIT_S=30 gr_wait no_mark || { tail -20 "$SY_LOG"; gr_fail "the sync mark stayed after the session directory was removed"; }
grep -q "sync marks removed from volume pv" "$SY_LOG" || gr_fail "georepd did not log the removal of the sync marks"
gr_log "sync mark removed with the session"
sy_stop_daemon TERM
gr_log "PASS"

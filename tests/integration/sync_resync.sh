#!/bin/bash
# The journal drops records the session has not synced (its size cap, hit
# while georepd was down): georepd must notice, say why (crawl status Hybrid
# Crawl, as GlusterFS names it, and status detail), remove from the
# secondary what the primary no longer has (the gap's deletions and the old
# names of its renames), re-send the brick by a full crawl, and converge:
# georep verify finds the two volumes identical. The gap holds every kind of
# change a crawl alone cannot replay: a deleted file, a deleted directory
# tree larger than one LIST page, a directory with more than one LIST page
# of which a third was deleted, a renamed file, a renamed directory, a
# hard link renamed while its other name stays, and a rename over an
# existing file. The primary has two bricks and both journals overflow, so
# two workers resync at once and each prunes the whole volume: the prune
# must keep what the other brick holds and cope with the other's removals.
# Files the secondary already has as they are (same GFID, size and mtime)
# are not re-sent (resync_quick_check): 20 files of 64 KiB stay as they
# were, one of the same size is rewritten in the gap and must be re-sent.
set -u
source "$(dirname "$0")/sync_lib.sh"

sy_setup "1:p1 1:p2"
BRICKS=("$(gr_brick_path 1 p1)" "$(gr_brick_path 1 p2)")
resync_mark() { echo "$1/.glusterfs/georep/consumers/georepd-s1.resync"; }
# Every brick's status file says $2 for key $1.
all_status_say() {
  local f n=0
  for f in "$SY_SDIR"/status/*.status; do
    [ "$(sy_status_field "$1" "$f")" = "$2" ] || return 1
    n=$((n + 1))
  done
  [ "$n" = "${#BRICKS[@]}" ]
}
set_opt() { gr_gluster 1 volume set pv "user.xlator.georep.$1" "$2" >/dev/null; }
set_opt segment-size 1MB && set_opt max-journal-size 1MB || gr_fail "cannot set a 1MB journal cap on pv"
brick_log_has() { grep -qF -- "$1" "$GR_DIR"/n1/log/bricks/*.log; }
GR_WAIT_S=30 gr_wait brick_log_has "max-journal-size=1048576" || gr_fail "the brick did not apply the 1MB cap"

sy_start_daemon
GR_WAIT_S=60 gr_wait all_status_say crawl_status "Journal Crawl" || gr_fail "georepd never reached the journal"
P=$SY_PM
mkdir "$P/d" && echo keep >"$P/d/keep" && echo gone >"$P/d/gone" && echo renamed >"$P/d/old-name" &&
  mkdir -p "$P/d/olddir/sub" && echo x >"$P/d/olddir/sub/x" && echo hl >"$P/d/hl1" &&
  ln "$P/d/hl1" "$P/d/hl2" && echo victim >"$P/d/victim" && echo over >"$P/d/over-src" &&
  mkdir "$P/d/bulk" "$P/d/many" || gr_fail "writing through the primary's mount failed"
for ((i = 0; i < 1100; i++)); do : >"$P/d/bulk/b$i" && : >"$P/d/many/m$i" || gr_fail "file $i"; done
mkdir "$P/d/data" || gr_fail "mkdir data"
for ((i = 0; i < 20; i++)); do
  head -c 65536 /dev/urandom >"$P/d/data/f$i" || gr_fail "data file $i"
done
sy_verify 120 --quiet || gr_fail "the secondary did not converge before the gap"

# georepd down for a while (a paused worker keeps its journal segment open
# and may still read records the cap unlinked; a stopped one cannot).
sy_stop_daemon TERM
rm "$P/d/gone" && mv "$P/d/old-name" "$P/d/new-name" && echo changed >"$P/d/keep" &&
  echo new >"$P/d/created-in-gap" && mv "$P/d/olddir" "$P/d/newdir" && mv "$P/d/hl1" "$P/d/hl3" &&
  mv "$P/d/over-src" "$P/d/victim" && rm -r "$P/d/bulk" || gr_fail "changing the primary in the gap failed"
for ((i = 0; i < 1100; i += 3)); do rm "$P/d/many/m$i" || gr_fail "rm m$i"; done
# Same size, new content: its mtime moves, so the crawl must send it.
head -c 4096 /dev/urandom | dd of="$P/d/data/f7" bs=4096 seek=3 conv=notrunc status=none || gr_fail "rewrite f7"
# ~3 KB symlink records: 1000 of them, spread over both bricks, fill more
# than the 1MB cap of each.
target=$(printf 't%.0s' {1..3000})
mkdir "$P/fill" || gr_fail "mkdir fill"
for ((i = 1; i <= 1000; i++)); do ln -s "$target" "$P/fill/l$i" || gr_fail "symlink $i failed"; done
for b in "${BRICKS[@]}"; do
  GR_WAIT_S=30 gr_wait test -f "$(resync_mark "$b")" || gr_fail "the journal of $b did not mark georepd's cursor for a resync"
  gr_log "$b: the journal dropped records georepd had not read: $(head -1 "$(resync_mark "$b")")"
done

sy_start_daemon
for b in "${BRICKS[@]}"; do
  saw_hybrid() { grep -q "resync crawl (Hybrid Crawl) of $b" "$SY_LOG"; }
  GR_WAIT_S=30 gr_wait saw_hybrid || gr_fail "georepd did not start a resync crawl of $b after the journal dropped records"
done
grep -q "dropped records this session had not synced" "$SY_LOG" || gr_fail "georepd's log does not say why it crawls"
resync_done() {
  all_status_say crawl_status "Journal Crawl" || return 1
  local b
  for b in "${BRICKS[@]}"; do [ ! -f "$(resync_mark "$b")" ] || return 1; done
}
GR_WAIT_S=120 gr_wait resync_done || gr_fail "the resync crawls did not finish (or left a journal's resync mark)"
for f in "$SY_SDIR"/status/*.status; do
  sy_status_field last_failure "$f" | grep -q "resync by a full crawl, after removing from the secondary what the primary no longer has" ||
    gr_fail "status does not say why the brick was crawled: '$(sy_status_field last_failure "$f")'"
done
mapfile -t prunes < <(grep "resync prune done" "$SY_LOG")
for line in "${prunes[@]}"; do gr_log "georepd: ${line#*: }"; done
[ "${#prunes[@]}" = 2 ] || gr_fail "expected one prune per brick, georepd logged ${#prunes[@]}"
# Each prune sees the whole volume. Stale: gone, old-name, hl1, over-src,
# victim (its name holds over-src's GFID now), 367 of many/, bulk's 1100
# files and olddir/sub/x (1473 names) and bulk, olddir and olddir/sub;
# what one prune removed first the other may not find any more.
# The primary's listings answer for the names it kept (733 in many/, 20 in
# data/, ...); only the names they did not show were looked up one by one
# (the stale ones: 367 in many/ and 7 more; what the other prune removed
# first is not listed at all).
unlinked=0
for line in "${prunes[@]}"; do
  grep -q " 0 kept unchecked, 0 removals refused" <<<"$line" || gr_fail "a prune kept or failed entries: $line"
  listed=$(sed -n "s/.* (\([0-9]*\) found in the primary's listing, \([0-9]*\) looked up by name).*/\1/p" <<<"$line")
  looked=$(sed -n "s/.* (\([0-9]*\) found in the primary's listing, \([0-9]*\) looked up by name).*/\2/p" <<<"$line")
  [ -n "$listed" ] && ((listed >= 750 && looked <= 374)) ||
    gr_fail "a prune looked up more names than were stale ($looked, at most 374) or found too few in listings ($listed): $line"
  n=$(sed -n 's/.* \([0-9]*\) stale names unlinked.*/\1/p' <<<"$line")
  unlinked=$((unlinked + n))
done
((unlinked >= 1473)) || gr_fail "the prunes unlinked $unlinked stale names, fewer than the gap's 1473"
# The crawls re-sent only what differs: unchanged are the 19 data files
# and the 733 files left in many/ (empty, but judged all the same) and hl2
# (hl3 now); not data/f7, keep, or what the prune removed.
mapfile -t crawls < <(grep "unchanged on the secondary, data not re-sent" "$SY_LOG")
[ "${#crawls[@]}" = 2 ] || gr_fail "expected one crawl summary per brick with the quick check, georepd logged ${#crawls[@]}"
same=0 same_bytes=0
for line in "${crawls[@]}"; do
  gr_log "georepd: ${line#*: }"
  n=$(sed -n 's/.*; \([0-9]*\) files (\([0-9]*\) bytes) unchanged.*/\1/p' <<<"$line")
  b=$(sed -n 's/.*; \([0-9]*\) files (\([0-9]*\) bytes) unchanged.*/\2/p' <<<"$line")
  same=$((same + n)) same_bytes=$((same_bytes + b))
done
[ "$same" = 753 ] && [ "$same_bytes" = $((19 * 65536 + 3)) ] ||
  gr_fail "the crawls skipped $same files ($same_bytes bytes); expected 753 (19 x 65536 + 3 bytes)"

# Everything converges: what the gap created, changed, deleted and renamed.
sy_verify 60 || gr_fail "georep verify still finds differences after the resync"
SB=$(gr_brick_path 2 s1)
[ "$(stat -c %i "$SB/d/hl2")" = "$(stat -c %i "$SB/d/hl3")" ] || gr_fail "hl2 and hl3 are not one file on the secondary"
gr_log "resync: the gap's creates, writes, deletions and renames all reached the secondary"

# A stale mark: a paused worker is marked when the cap removes records it
# has not acknowledged, but it may still read them from the segment it holds
# open and replay them after the resume. Its next connection finds its
# cursor past the mark's lost_through and must clear the mark, not resync
# the brick again. (The journal unit tests check that the writer records
# lost_through; here the mark is written as the writer would.)
sy_stop_daemon TERM
B1=${BRICKS[0]}
cursor=$(cat "$B1/.glusterfs/georep/consumers/georepd-s1.cursor")
printf 'journal size cap reached (test): records 1..%d were removed before consumer georepd-s1 read them\nlost_through=%d\n' \
  "$((cursor - 1))" "$((cursor - 1))" >"$(resync_mark "$B1")"
crawls_before=$(grep -c "resync crawl (Hybrid Crawl)" "$SY_LOG")
log_lines_before=$(wc -l <"$SY_LOG")
touch "$GR_DIR/restart-stamp"
sy_start_daemon
saw_stale() { grep -q "the journal's resync mark is stale" "$SY_LOG"; }
GR_WAIT_S=30 gr_wait saw_stale || gr_fail "georepd did not recognise a resync mark its cursor had passed"
# Status files this georepd wrote (a SIGKILLed predecessor leaves Active ones).
fresh_and_active() {
  local f
  for f in "$SY_SDIR"/status/*.status; do [ "$f" -nt "$GR_DIR/restart-stamp" ] || return 1; done
  all_status_say status Active
}
GR_WAIT_S=30 gr_wait fresh_and_active || gr_fail "workers not Active after the restart"
both_connected() { [ "$(tail -n +"$((log_lines_before + 1))" "$SY_LOG" | grep -c ": connected to ")" -ge 2 ]; }
GR_WAIT_S=30 gr_wait both_connected || gr_fail "workers did not reconnect after the restart"
[ ! -f "$(resync_mark "$B1")" ] || gr_fail "the stale resync mark was not cleared"
[ "$(grep -c "resync crawl (Hybrid Crawl)" "$SY_LOG")" = "$crawls_before" ] ||
  gr_fail "georepd resynced a brick for a mark its cursor had passed"
all_status_say crawl_status "Journal Crawl" || gr_fail "a worker crawls after a stale mark"
echo after-stale-mark >"$P/d/after" || gr_fail "write after restart"
if ! sy_verify 60 >"$GR_DIR/after-verify.txt" 2>&1; then
  tail -20 "$GR_DIR/after-verify.txt" >&2
  tail -n +"$((log_lines_before + 1))" "$SY_LOG" | grep -v " DEBUG " | tail -40 >&2
  gr_fail "replication did not go on after the stale mark was cleared"
fi
gr_log "a resync mark the cursor had passed was cleared without a resync"
sy_stop_daemon TERM
gr_log "PASS"

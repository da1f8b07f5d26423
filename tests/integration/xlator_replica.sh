#!/usr/bin/env bash
# A replica-2 volume, each brick on its own node:
# - a client's changes reach both bricks of the pair, and both journal them
#   alike, with origin client;
# - changes made while brick 2 was down reach it later through self-heal
#   (`gluster volume heal`), and brick 2 journals them with origin
#   self-heal, so that a consumer can tell them from the client's own.
source "$(dirname "$0")/lib/cluster.sh"
source "$(dirname "$0")/xlator_lib.sh"
xl_require_tools

gr_cluster_up 2
gr_volume_create rv "1:r1 2:r2" "replica 2"
# Heals only by the self-heal daemon (on `volume heal`), not by the FUSE
# client as a side effect of a lookup, so that the test knows which process
# made the heal's changes.
for o in cluster.data-self-heal cluster.metadata-self-heal cluster.entry-self-heal; do
  gr_gluster 1 volume set rv "$o" off >/dev/null || gr_fail "volume set rv $o off failed"
done
gr_enable_xlator rv
R1=$(gr_brick_path 1 r1)
R2=$(gr_brick_path 2 r2)
# Not as $(gr_mount ...): the mount must be registered for teardown.
m="$GR_DIR/mnt/rv"
gr_mount rv "$m" >/dev/null

# ---- Client changes: journaled identically on both bricks, origin client ----
mkdir "$m/d" || gr_fail "mkdir through FUSE failed"
printf 'hello\n' >"$m/d/f" || gr_fail "write through FUSE failed"
setfattr -n user.tag -v one "$m/d/f" || gr_fail "setfattr through FUSE failed"
chmod 0600 "$m/d/f" || gr_fail "chmod through FUSE failed"
mv "$m/d/f" "$m/d/f2" || gr_fail "rename through FUSE failed"

D=$(xl_gfid "$R1/d") || gr_fail "cannot read the gfid of d"
F=$(xl_gfid "$R1/d/f2") || gr_fail "cannot read the gfid of d/f2"
[ "$(xl_gfid "$R2/d/f2")" = "$F" ] || gr_fail "the two bricks disagree on the gfid of d/f2"
LBL="{\"$D\": \"d\"}"
for g in "$D" "$F"; do
  a=$(xl_records "$R1" "$g" "$LBL") || exit 1
  b=$(xl_records "$R2" "$g" "$LBL") || exit 1
  [ -n "$a" ] || gr_fail "brick r1 journaled nothing for $g"
  ! grep -q 'origin=' <<<"$a" || gr_fail "client changes on r1 not journaled as origin client: $a"
  xl_expect "gfid $g on r2 (the same as on r1)" "$b" "$a"
done
gr_log "client records of d/f2 on both bricks: $(xl_records "$R1" "$F" "$LBL" | paste -sd';')"

# ---- Brick 2 down: changes reach brick 1 only -------------------------------
B2="$(gr_node_ip 2):$R2"
PID2=$(gr_brick_pid "$B2" rv)
[ -n "$PID2" ] || gr_fail "no pid for brick r2"
kill -9 "$PID2" || gr_fail "cannot kill brick r2 (pid $PID2)"
r2_down() { ! kill -0 "$PID2" 2>/dev/null; }
gr_wait r2_down || gr_fail "brick r2 (pid $PID2) did not exit"
gr_log "killed brick r2 (pid $PID2)"
r2_before=$(xl_journal_json "$R2" | wc -l)
r1_before=$(xl_journal_json "$R1" | wc -l)

printf 'while r2 was down\n' >"$m/d/g" || gr_fail "create with brick r2 down failed"
printf 'more\n' >>"$m/d/f2" || gr_fail "append with brick r2 down failed"
mkdir "$m/d/e" || gr_fail "mkdir with brick r2 down failed"
G=$(xl_gfid "$R1/d/g") || gr_fail "cannot read the gfid of d/g"
E=$(xl_gfid "$R1/d/e") || gr_fail "cannot read the gfid of d/e"
[ ! -e "$R2/d/g" ] || gr_fail "d/g reached brick r2 while it was down"

# ---- Restart and heal ----------------------------------------------------------
heal_start=$SECONDS
gr_restart_and_heal rv
healed() {
  gr_heal_pending_none rv 2 || return 1
  [ -f "$R2/d/g" ] && [ -d "$R2/d/e" ] && [ "$(cat "$R2/d/g")" = "while r2 was down" ] &&
    [ "$(cat "$R2/d/f2")" = "$(printf 'hello\nmore')" ]
}
GR_WAIT_S=60 gr_wait healed || gr_fail "brick r2 was not healed within 60 s: $(gr_gluster 1 volume heal rv statistics heal-count 2>&1 | tr '\n' ' ')"
gr_log "healed in $((SECONDS - heal_start)) s after the restart"

# ---- What the healed brick journaled -------------------------------------------
heal_json=$(xl_journal_json "$R2" | tail -n +$((r2_before + 1))) || exit 1
gr_log "brick r2 journaled $(grep -c . <<<"$heal_json") record(s) after its restart; by origin: $(
  jq -r '.origin' <<<"$heal_json" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')"
# Nothing but the self-heal daemon touched r2 after its restart (client-side
# heals are off and the test reads r2's files on the brick directly).
others=$(jq -c 'select(.origin != "self-heal")' <<<"$heal_json")
[ -z "$others" ] || gr_fail "r2 journaled changes after its restart with another origin than self-heal: $others"
# AFR's metadata heal clears the sink's old xattrs with one bulk removexattr
# (empty name, the keys in xdata): the record must name those keys.
empty=$(jq -c 'select(.op == "REMOVEXATTR" and (.xattr_names | length) == 0)' <<<"$heal_json")
[ -z "$empty" ] || gr_fail "REMOVEXATTR without key names on r2: $empty"

# heal_records GFID: the healed changes of GFID, as "OP origin=...", leaving
# out DHT bookkeeping and internal xattrs (AFR's own pending counters).
heal_records() {
  jq -r --arg g "$1" 'select(.gfid == $g and ((.flags / 2 | floor) % 4) == 0) |
    "\(.op)" + (if .op == "WRITE" then " \(.offset)+\(.length)" else "" end)
    + (if .name != null and .name != "" then " \(.name)" else "" end)
    + (if .op == "SETXATTR" or .op == "REMOVEXATTR" then " \(.xattr_names | join(","))" else "" end)
    + " origin=\(.origin)"' <<<"$heal_json"
}
for what in "d/g:$G" "d/e:$E" "d/f2:$F"; do
  recs=$(heal_records "${what#*:}")
  gr_log "r2 healed ${what%%:*}: $(paste -sd';' <<<"$recs")"
  [ -n "$recs" ] || gr_fail "brick r2 journaled nothing for the healed ${what%%:*}"
done
# The entry of d/g was created on r2 by the heal (AFR recreates a regular
# file with mknod), its data written by it; d/e made with mkdir; f2's
# appended bytes written again.
heal_records "$G" | grep -qx "MKNOD g origin=self-heal" || gr_fail "no MKNOD of d/g by self-heal on r2"
heal_records "$G" | grep -qx "WRITE 0+18 origin=self-heal" || gr_fail "no WRITE of d/g's 18 bytes by self-heal on r2"
heal_records "$E" | grep -qx "MKDIR e origin=self-heal" || gr_fail "no MKDIR of d/e by self-heal on r2"
heal_records "$F" | grep -q "^WRITE .* origin=self-heal$" || gr_fail "no WRITE of d/f2 by self-heal on r2"
gr_log "ok: the healed changes are journaled on r2 with origin self-heal"

# The source brick r1 journaled the changes made while r2 was down as the
# client's; the heal itself adds nothing there but AFR's internal xattrs.
r1_json=$(xl_journal_json "$R1" | tail -n +$((r1_before + 1))) || exit 1
r1_g=$(jq -r --arg g "$G" 'select(.gfid == $g and .op == "CREATE") | .origin' <<<"$r1_json")
[ "$r1_g" = client ] || gr_fail "r1 did not journal the CREATE of d/g as the client's (got: '$r1_g')"
r1_other=$(jq -c 'select(.origin != "client" and ((.flags / 4 | floor) % 2) == 0)' <<<"$r1_json")
[ -z "$r1_other" ] || gr_fail "the heal journaled changes other than internal xattrs on the source r1: $r1_other"
gr_log "ok: r1 journaled the changes made while r2 was down with origin client"
echo "1 passed, 0 failed"

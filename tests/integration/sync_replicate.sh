#!/bin/bash
# georepd end to end: files that exist before the session starts arrive by the
# initial crawl, later changes by the journal, covering every kind of op
# (create-then-rename, rename chains, hard link + rename + unlink, directory
# rename with contents, overwrite at an offset, truncate up/down, sparse files,
# chown to a non-root uid, chmod, xattrs, symlinks, fifo, create-then-delete,
# rmdir); georep-verify must then report zero differences, the status file
# must say Active / Journal Crawl, a checkpoint must complete, pause must hold
# changes back until resume, and a --exit-when-idle run must catch up with
# changes made while georepd was down before it exits.
set -u
source "$(dirname "$0")/sync_lib.sh"

sy_setup

P=$SY_PM
# ---- before the session: initial crawl ----
mkdir -p "$P/pre/a/b" || gr_fail "mkdir on the primary mount"
echo "crawled file" >"$P/pre/a/b/f"
dd if=/dev/urandom of="$P/pre/data" bs=64k count=5 status=none
ln "$P/pre/data" "$P/pre/data.link"
ln -s a/b/f "$P/pre/sym"
mkfifo "$P/pre/fifo"
truncate -s 8M "$P/pre/sparse" && printf 'middle' | dd of="$P/pre/sparse" bs=1 seek=4000000 conv=notrunc status=none
setfattr -n user.pre -v crawled "$P/pre/a/b/f"
chown 1234:2345 "$P/pre/a/b/f"
chmod 0640 "$P/pre/a/b/f"

sy_start_daemon
GR_WAIT_S=60 gr_wait sy_has_status || gr_fail "georepd wrote no status file (see $SY_LOG)"
sy_verify 60 >/dev/null || { sy_verify 1; tail -30 "$SY_LOG"; gr_fail "initial crawl did not converge"; }
gr_log "initial crawl converged"

# ---- while running: journal ----
echo one >"$P/f1"; mv "$P/f1" "$P/f2"                                     # create then rename
echo chain >"$P/r1"; mv "$P/r1" "$P/r2"; mv "$P/r2" "$P/r3"; mv "$P/r3" "$P/r4"   # rename chain
echo linked >"$P/h1"; ln "$P/h1" "$P/h2"; mv "$P/h2" "$P/h3"; rm "$P/h1"  # link, rename, unlink
mkdir -p "$P/d1/sub/deeper"; echo inside >"$P/d1/sub/deeper/f"; echo x >"$P/d1/top"
mv "$P/d1" "$P/d2"                                                        # dir rename with contents
dd if=/dev/urandom of="$P/big" bs=1M count=4 status=none
dd if=/dev/urandom of="$P/big" bs=4k count=1 seek=300 conv=notrunc status=none   # overwrite at offset
# Large aligned chunks go with O_DIRECT, the rest buffered: a file mixing both,
# and a buffered overwrite straddling a direct chunk's edge.
head -c $((3 * 1048576 + 1000)) /dev/urandom >"$P/mixed"
dd if=/dev/urandom of="$P/mixed" bs=1 count=777 seek=$((1048576 - 300)) conv=notrunc status=none
dd if=/dev/urandom of="$P/t1" bs=1k count=100 status=none
truncate -s 5000 "$P/t1"; truncate -s 3M "$P/t1"                          # truncate down, then up
truncate -s 20M "$P/sp"; printf 'tail' >>"$P/sp"                          # sparse
printf 'hole-middle' | dd of="$P/sp" bs=1 seek=10000000 conv=notrunc status=none
echo owned >"$P/own"; chown 4321:8765 "$P/own"; chmod 0604 "$P/own"     # non-root owner
echo x >"$P/xa"; setfattr -n user.one -v 1 "$P/xa"; setfattr -n user.two -v 2 "$P/xa"
setfattr -x user.one "$P/xa"; setfattr -n user.pre -v changed "$P/pre/a/b/f"
ln -s ../f2 "$P/d2/sym"; ln -s /absolute/nowhere "$P/dangling"            # symlinks
mkfifo "$P/fifo2"                                                         # fifo
echo temp >"$P/tmp"; rm "$P/tmp"                                          # create then delete
mkdir "$P/gone"; rmdir "$P/gone"                                          # rmdir
rm "$P/pre/data.link"; mv "$P/pre/sym" "$P/pre/sym2"                      # changes to crawled objects
echo replaced >"$P/victim"; echo winner >"$P/src"; mv "$P/src" "$P/victim"   # rename over a file

sy_verify 60 >/dev/null || {
  sy_verify 1
  # Whether the bricks themselves differ, or only what a client reads.
  for f in t1 big mixed sp; do
    cmp "$(gr_brick_path 1 p1)/$f" "$(gr_brick_path 2 s1)/$f" >&2 && gr_log "bricks hold the same $f"
  done
  tail -40 "$SY_LOG"; gr_fail "journal changes did not converge"; }
gr_log "journal changes converged"

[ "$(sy_status_field status)" = Active ] || gr_fail "status is '$(sy_status_field status)', expected Active"
[ "$(sy_status_field crawl_status)" = "Journal Crawl" ] || gr_fail "crawl_status is '$(sy_status_field crawl_status)'"
[ "$(sy_status_field failures)" = 0 ] || gr_fail "failures=$(sy_status_field failures) (see $SY_LOG)"

# A checkpoint on a now idle volume must complete.
cp_time=$(date +%s)
sy_write_conf started "checkpoint=$cp_time"
GR_WAIT_S=30 gr_wait sy_field_is checkpoint_completed yes ||
  gr_fail "checkpoint $cp_time did not complete on an idle volume"
[ "$(sy_status_field checkpoint)" = "$cp_time" ] || gr_fail "status names checkpoint '$(sy_status_field checkpoint)'"

# Pause: nothing is sent; resume: it arrives.
sy_write_conf paused
GR_WAIT_S=20 gr_wait sy_field_is status Paused || gr_fail "session did not pause"
echo "while paused" >"$P/paused"
sleep 2
[ -z "$(gr_ns "$SY_VERIFY" --primary pv --primary-server "$(gr_node_ip 1)" --secondary sv \
      --secondary-server "$(gr_node_ip 2)" --gfapi-log "$GR_DIR/n1/log/verify.log" 2>/dev/null | grep -F /paused)" ] &&
  gr_fail "a file written while paused was replicated"
sy_write_conf started
sy_verify 60 >/dev/null || { sy_verify 1; gr_fail "changes made while paused did not arrive after resume"; }
gr_log "pause/resume ok"
sy_stop_daemon TERM

# Written while georepd is down; a one-shot catch-up run exits once idle.
echo "while down" >"$P/while-down"; mv "$P/f2" "$P/f2-renamed-while-down"
gr_ns "$SY_DAEMON" --state-dir "$SY_STATE" --node "$(gr_node_ip 1)" --glusterd-sock "$(gr_node_sock 1)" \
  --volfile-server "$(gr_node_ip 1)" --log-file "$SY_LOG" --exit-when-idle --idle-deadline 120 ||
  gr_fail "georepd --exit-when-idle did not exit 0"
sy_verify 5 >/dev/null || { sy_verify 1; gr_fail "--exit-when-idle exited before the secondary caught up"; }
gr_log "PASS"

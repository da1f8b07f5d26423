#!/bin/bash
# georepd must converge whatever gets killed and when: while a writer keeps
# changing the primary, georepd (SIGKILL, then restarted) or the
# georep-receiver on the secondary (SIGKILL; georepd reconnects) is killed at
# random moments, SY_CRASH_RUNS times (default 12). Afterwards the secondary
# must equal the primary (georep-verify) and the worker must be Active.
set -u
source "$(dirname "$0")/sync_lib.sh"

RUNS=${SY_CRASH_RUNS:-12}
sy_setup
P=$SY_PM

# A bounded writer: creates, appends, overwrites, renames, links, deletes,
# until told to stop (or 3000 rounds).
writer() {
  local i
  for ((i = 0; i < 3000; i++)); do
    [ -e "$GR_DIR/stop-writer" ] && break
    mkdir -p "$P/w/d$((i % 7))"
    echo "file $i" >"$P/w/d$((i % 7))/f$i"
    dd if=/dev/urandom of="$P/w/d$((i % 7))/f$i" bs=4k count=$((i % 5 + 1)) seek=$((i % 3)) conv=notrunc status=none
    if ((i % 4 == 1)); then mv "$P/w/d$((i % 7))/f$((i - 1))" "$P/w/d$(((i + 1) % 7))/moved$i" 2>/dev/null; fi
    if ((i % 6 == 2)); then ln "$P/w/d$((i % 7))/f$i" "$P/w/link$i" 2>/dev/null; fi
    if ((i % 5 == 3)); then rm -f "$P/w/d$(((i + 3) % 7))/f$((i - 3))"; fi
    if ((i % 9 == 4)); then truncate -s $((i * 100)) "$P/w/d$((i % 7))/f$i"; fi
    if ((i % 11 == 5)); then setfattr -n user.i -v "$i" "$P/w/d$((i % 7))/f$i"; fi
    sleep 0.02
  done
}

sy_start_daemon
writer &
WPID=$!
SY_PIDS+=("$WPID")

for ((run = 1; run <= RUNS; run++)); do
  # Between 0.5 and 3 s: kills land while connecting, crawling and streaming.
  sleep "$((RANDOM % 3)).$((RANDOM % 9 + 1))"
  if ((RANDOM % 2 == 0)); then
    gr_log "run $run: SIGKILL georepd"
    sy_stop_daemon KILL
    sy_start_daemon
  else
    pids=$(sy_receiver_pids)
    gr_log "run $run: SIGKILL receiver(s) ${pids:-<none running>}"
    [ -n "$pids" ] && kill -9 $pids
  fi
done
touch "$GR_DIR/stop-writer"
for ((i = 0; i < 600; i++)); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$WPID" 2>/dev/null && { kill "$WPID"; gr_fail "the writer did not finish within 60 s"; }
wait "$WPID"

sy_verify 120 >/dev/null || { sy_verify 1 | head -20; tail -30 "$SY_LOG"; gr_fail "did not converge after $RUNS kills"; }
GR_WAIT_S=20 gr_wait sy_field_is status Active || gr_fail "worker is '$(sy_status_field status)' after recovery"
gr_log "converged after $RUNS kills; reconnects=$(sy_status_field reconnects) failures=$(sy_status_field failures)"

# An idle worker notices a receiver that died from the channel's EOF, at
# once, not at its next keepalive: with keepalive_s=600 nothing else could
# bring it back within the bound. (Before, it also waited ~10 s in the
# primary's glfs_fini before it reconnected.)
sy_write_conf started "keepalive_s=600"
sleep 1
before=$(sy_status_field reconnects)
pids=$(sy_receiver_pids)
[ -n "$pids" ] || gr_fail "no receiver running on an idle, Active session"
kill -9 $pids
reconnected() { [ "$(sy_status_field reconnects)" -gt "$before" ] && [ "$(sy_status_field status)" = Active ] &&
  [ -n "$(sy_receiver_pids)" ]; }
GR_WAIT_S=20 gr_wait reconnected || gr_fail "the idle worker did not notice its receiver died (reconnects still $before)"
gr_log "idle worker reconnected after its receiver was killed (reconnects $before -> $(sy_status_field reconnects))"

# SIGTERM: georepd exits without waiting for its gfapi instances' glfs_fini
# (~10 s each in GlusterFS 10.3), and its status file says Stopped.
kill -TERM "$SY_DPID"
daemon_gone() { ! kill -0 "$SY_DPID" 2>/dev/null; }
GR_WAIT_S=5 gr_wait daemon_gone || gr_fail "georepd did not exit within 5 s of SIGTERM"
wait "$SY_DPID" 2>/dev/null
SY_DPID=""
[ "$(sy_status_field status)" = Stopped ] || gr_fail "status after georepd exited: '$(sy_status_field status)', expected Stopped"
gr_log "PASS"

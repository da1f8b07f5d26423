#!/bin/bash
# Silent failures: nothing errors, things just stop answering. georepd must
# notice within its own timeouts instead of waiting forever, show it in
# status (Faulty, with the cause), and converge by itself once the fault is
# gone. 1-2: the link between the sites drops every packet, no reset (a WAN
# link down, a firewall change; nftables inside the test's network
# namespace), while a 256 MiB file streams and while idle. 3: the receiver
# hangs (SIGSTOP) with the link up. 4: the secondary's brick hangs while a
# file streams. 5: the primary's brick hangs while georepd reads a file
# from it: gfapi gives no error for a long time, the worker is Active and
# nothing moves; status must say what it waits for.
set -u
source "$(dirname "$0")/sync_lib.sh"
command -v nft >/dev/null || gr_skip "nft (package nftables) is not installed"

sy_setup
# Short timeouts so that the test takes seconds: ssh_timeout_s bounds a
# stalled write and a connect, 4 x ssh_timeout_s an unanswered batch, and
# an idle worker pings every keepalive_s and waits ssh_timeout_s for the
# answer.
CONF=(ssh_timeout_s=3 keepalive_s=2)
sy_write_conf started "${CONF[@]}"
P=$SY_PM
SB=$(gr_brick_path 2 s1)
secondary=$(gr_node_ip 2)

cut_link() {
  gr_ns nft add table inet georep_partition &&
    gr_ns nft add chain inet georep_partition out '{ type filter hook output priority 0 ; }' &&
    gr_ns nft add rule inet georep_partition out ip daddr "$secondary" tcp dport 22 drop &&
    gr_ns nft add rule inet georep_partition out ip saddr "$secondary" tcp sport 22 drop ||
    gr_fail "nft could not cut the SSH link"
}
restore_link() { gr_ns nft delete table inet georep_partition || gr_fail "nft could not restore the SSH link"; }
reconnects() { sy_status_field reconnects; }
# write_while_paused NAME MIB: a file written on the primary while the
# session is paused, so that it streams at the next start.
write_while_paused() {
  sy_write_conf paused "${CONF[@]}"
  GR_WAIT_S=20 gr_wait sy_field_is status Paused || gr_fail "session did not pause"
  dd if=/dev/urandom of="$P/$1" bs=1M count="$2" status=none || gr_fail "writing $1"
}
# mark_log, then logged_since PATTERN: georepd logged PATTERN since the mark.
mark_log() { LOG_MARK=$(wc -l <"$SY_LOG"); }
logged_since() { tail -n +"$((LOG_MARK + 1))" "$SY_LOG" | grep -q "$1"; }
# freeze PID (SIGSTOP) and thaw: a test that fails in between must not leave
# a stopped process behind (teardown's SIGTERM would wait on it), so the
# EXIT trap thaws it first.
FROZEN=""
freeze() { kill -STOP "$1" || gr_fail "SIGSTOP $1"; FROZEN=$1; }
thaw() { [ -z "$FROZEN" ] || kill -CONT "$FROZEN"; FROZEN=""; }
trap 'rc=$?; thaw; (exit $rc); sy_cleanup' EXIT

sy_start_daemon
GR_WAIT_S=60 gr_wait sy_field_is crawl_status "Journal Crawl" || gr_fail "georepd never reached the journal"
echo before >"$P/before" || gr_fail "write before"
sy_verify 60 >/dev/null || gr_fail "did not converge before the cut"

# 1. Cut while data streams.
write_while_paused big 256
r0=$(reconnects)
mark_log
sy_write_conf started "${CONF[@]}"
# 256 MiB take about 0.6 s here: poll tightly, cut at the first bytes.
size_on_secondary() { stat -c %s "$SB/big" 2>/dev/null || echo 0; }
for ((i = 0; i < 3000; i++)); do (($(size_on_secondary) > 0)) && break; sleep 0.01; done
cut_link
(($(size_on_secondary) > 0 && $(size_on_secondary) < 256 * 1024 * 1024)) ||
  gr_fail "the cut did not fall inside the transfer ($(size_on_secondary) bytes on the secondary)"
gr_log "link cut while streaming ($(stat -c %s "$SB/big") bytes of big on the secondary)"
t_cut=$(date +%s)
GR_WAIT_S=60 gr_wait sy_field_is status Faulty || gr_fail "a silent link never made the worker Faulty (status $(sy_status_field status))"
gr_log "noticed after $(($(date +%s) - t_cut)) s: Faulty: $(sy_status_field faulty_cause)"
(($(reconnects) > r0)) || gr_fail "the worker did not drop the silent connection"
logged_since "stalled for 3 s\|no acknowledgement for batch" ||
  gr_fail "georepd's log does not say the stream stalled"
echo during >"$P/during" || gr_fail "write during the cut"
restore_link
t_back=$(date +%s)
GR_WAIT_S=60 gr_wait sy_field_is status Active || gr_fail "did not recover after the link came back"
gr_log "Active again $(($(date +%s) - t_back)) s after the link came back"
sy_verify 60 >/dev/null || { sy_verify 1 | head; gr_fail "did not converge after the streaming cut"; }

# 2. Cut while idle: nothing in flight, only the keepalive can tell.
GR_WAIT_S=30 gr_wait sy_field_is pending_data 0 || gr_fail "data still pending before the idle cut"
r0=$(reconnects)
mark_log
cut_link
t_cut=$(date +%s)
GR_WAIT_S=60 gr_wait sy_field_is status Faulty || gr_fail "an idle worker never noticed the silent link"
gr_log "idle: noticed after $(($(date +%s) - t_cut)) s: Faulty: $(sy_status_field faulty_cause)"
(($(reconnects) > r0)) || gr_fail "the idle worker did not drop the silent connection"
logged_since "did not answer a keepalive within 3 s" ||
  gr_fail "georepd's log does not say the keepalive went unanswered"
restore_link
GR_WAIT_S=60 gr_wait sy_field_is status Active || gr_fail "did not recover after the idle cut"
echo after >"$P/after" || gr_fail "write after"
sy_verify 60 >/dev/null || { sy_verify 1 | head; gr_fail "did not converge after the idle cut"; }
# The receivers the dead connections left on the secondary ended: the new
# connection's receiver stops an older one of the same brick at HELLO.
one_receiver() { [ "$(sy_receiver_pids | wc -w)" = 1 ]; }
GR_WAIT_S=30 gr_wait one_receiver || gr_fail "receivers of dead connections still run: $(sy_receiver_pids)"

# 3. The link stays up but the receiver hangs (SIGSTOP: a process stuck in
# the kernel, a secondary under memory pressure): the keepalive notices.
# The next connections' receivers ask the hung one to stop and wait for
# its lock; none may apply beside it (one that gave up waiting used to
# remove the lock file, and the one after it applied at once). Once the
# hung receiver runs again, it ends and replication goes on.
hung=$(sy_receiver_pids)
r0=$(reconnects)
mark_log
RLOG="$GR_DIR/n2/log/receiver.log"
rlog_lines=$(wc -l <"$RLOG")
freeze "$hung"
t_cut=$(date +%s)
GR_WAIT_S=60 gr_wait sy_field_is status Faulty || gr_fail "a hung receiver never made the worker Faulty"
gr_log "hung receiver: noticed after $(($(date +%s) - t_cut)) s: Faulty: $(sy_status_field faulty_cause)"
logged_since "did not answer a keepalive" || gr_fail "georepd's log does not say the keepalive went unanswered"
echo while-hung >"$P/while-hung" || gr_fail "write while hung"
sleep 5  # more attempts to take the brick over
started=$(tail -n +"$((rlog_lines + 1))" "$RLOG" | grep -c "session start")
thaw
[ "$started" = 0 ] || gr_fail "$started receiver(s) started applying beside the hung one"
GR_WAIT_S=60 gr_wait sy_field_is status Active || gr_fail "did not recover after the receiver ran again"
sy_verify 60 >/dev/null || { sy_verify 1 | head; gr_fail "did not converge after the hung receiver"; }
GR_WAIT_S=30 gr_wait one_receiver || gr_fail "the hung receiver still runs beside the new one: $(sy_receiver_pids)"

# 4. The secondary's brick hangs (SIGSTOP of its glusterfsd) while data
# streams: the receiver's writes block, acknowledgements stop, georepd
# must say so and converge once the brick runs again.
sbrick=$(gr_brick_pid "$(gr_node_ip 2):$SB" sv)
[ -n "$sbrick" ] || gr_fail "no pid for the secondary brick"
write_while_paused big2 64
freeze "$sbrick"
sy_write_conf started "${CONF[@]}"
t_cut=$(date +%s)
GR_WAIT_S=90 gr_wait sy_field_is status Faulty || gr_fail "a hung secondary brick never made the worker Faulty"
gr_log "hung secondary brick: noticed after $(($(date +%s) - t_cut)) s: Faulty: $(sy_status_field faulty_cause)"
thaw
t_back=$(date +%s)
GR_WAIT_S=120 gr_wait sy_field_is status Active || gr_fail "did not recover after the secondary brick ran again"
gr_log "Active again $(($(date +%s) - t_back)) s after the brick ran again"
sy_verify 60 >/dev/null || { sy_verify 1 | head; gr_fail "did not converge after the hung secondary brick"; }
GR_WAIT_S=60 gr_wait one_receiver || gr_fail "receivers left after the hung brick: $(sy_receiver_pids)"

# 5. The primary's brick hangs while georepd is about to read a file.
pbrick=$(gr_brick_pid "$(gr_node_ip 1):$(gr_brick_path 1 p1)" pv)
[ -n "$pbrick" ] || gr_fail "no pid for the primary brick"
write_while_paused big3 16
freeze "$pbrick"
sy_write_conf started "${CONF[@]}"
waits_for_primary() { sy_status_field last_failure | grep -q "a call to the primary volume has not returned"; }
GR_WAIT_S=30 gr_wait waits_for_primary || gr_fail "status does not say the primary does not answer: '$(sy_status_field last_failure)'"
gr_log "hung primary brick: $(sy_status_field status): $(sy_status_field last_failure)"
thaw
answers() { ! waits_for_primary; }
GR_WAIT_S=60 gr_wait answers || gr_fail "the note stayed after the primary brick ran again"
sy_verify 60 >/dev/null || { sy_verify 1 | head; gr_fail "did not converge after the hung primary brick"; }
sy_stop_daemon TERM
gr_log "PASS"

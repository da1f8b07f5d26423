#!/bin/bash
# Faults an operator must see and fix: an unknown secondary host key makes the
# worker Faulty with a cause naming the known_hosts fix; the secondary volume
# stopped for a while makes it Faulty after repeated failures; both recover to
# Active on their own once fixed, and the changes made meanwhile arrive.
set -u
source "$(dirname "$0")/sync_lib.sh"

sy_setup
P=$SY_PM

# 1. Host key checking is mandatory: an empty known_hosts file.
good_kh=$GR_SSH_KNOWN_HOSTS
empty_kh="$GR_DIR/empty_known_hosts"
: >"$empty_kh"
GR_SSH_KNOWN_HOSTS=$empty_kh sy_write_conf started
sy_start_daemon
GR_WAIT_S=60 gr_wait sy_field_is status Faulty || gr_fail "unknown host key did not make the worker Faulty"
cause=$(sy_status_field faulty_cause)
grep -q "known_hosts\|ssh-keyscan" <<<"$cause" || gr_fail "faulty_cause does not name the fix: $cause"
gr_log "unknown host key -> Faulty: $cause"
echo "written while faulty" >"$P/while-faulty"
GR_SSH_KNOWN_HOSTS=$good_kh sy_write_conf started
GR_WAIT_S=60 gr_wait sy_field_is status Active || gr_fail "did not recover after the host key was fixed"
sy_verify 60 >/dev/null || gr_fail "changes made while Faulty did not arrive"

# 2. The secondary volume goes away for a while.
gr_gluster 1 volume stop sv >/dev/null || gr_fail "volume stop sv"
echo "written while the secondary is down" >"$P/while-down"
GR_WAIT_S=90 gr_wait sy_field_is status Faulty || gr_fail "a stopped secondary never made the worker Faulty"
gr_log "secondary down -> Faulty: $(sy_status_field faulty_cause)"
gr_gluster 1 volume start sv >/dev/null || gr_fail "volume start sv"
GR_WAIT_S=90 gr_wait sy_field_is status Active || gr_fail "did not recover after the secondary came back"
sy_verify 60 >/dev/null || { sy_verify 1; gr_fail "changes made while the secondary was down did not arrive"; }
gr_log "recovered; reconnects=$(sy_status_field reconnects)"
sy_stop_daemon TERM
gr_log "PASS"

#!/bin/bash
# The administrator's whole workflow with georep on a two-node primary and a
# two-node secondary cluster: status before and after create, keys, create
# push-pem as root and with a non-root account (plus set_georep_pem_keys.sh),
# config, start (refused until a volume restart loads the journal writer that
# create configured, and while a brick is offline), data showing up on the
# secondary, status detail, checkpoint, pause/resume, stop, delete (which lifts
# features.read-only explicitly).
# The transcript is printed as the admin would see it.
source "$(dirname "$0")/session_lib.sh"
set -u

sl_setup
gr_volume_create pv "1:pb1 2:pb2"
sl_secondary_volume sv "3:sb1 4:sb2"
sl_secondary_volume sv2 "3:sc1 4:sc2"

FORCE=()
if ! sl_ntp_synced; then
  # This machine's kernel says its clock is not NTP-synchronised, so create's
  # clock check fails without force (session_create_checks.sh tests that).
  gr_log "kernel clock not NTP-synchronised here: create runs with force"
  FORCE=(force)
fi

sl_expect 1 "No active georep sessions" 1 status
sl_no_sessions

printf '\n[pnode1]# georep-sshkey generate\n'
gr_ns "$SL_B/sync/cli/georep-sshkey" generate --glusterd-sock="$(gr_node_sock 1)" \
  --state-dir="$(gr_node_state_dir 1)" || gr_fail "georep-sshkey generate failed"
[ "$(wc -l <"$(gr_node_state_dir 1)/keys/common_secret.pem.pub")" = 2 ] || gr_fail "expected 2 gathered public keys"
for n in 1 2; do [ -f "$(gr_node_state_dir "$n")/keys/georep_secret.pem" ] || gr_fail "no key on node $n"; done

# --- root session -------------------------------------------------------------
# georep's translator is installed on every node (as a package would), but the
# volume does not load it yet: create configures it and says to restart.
gr_install_xlator
[ -z "$(sl_xlator_option pv)" ] || gr_fail "user.xlator.georep already set on pv"
out=$(sl_run 1 pv snode1::sv create push-pem "${FORCE[@]}" 2>&1) || { echo "$out"; gr_fail "create push-pem failed"; }
echo "$out"
[ "$(sl_xlator_option pv)" = posix ] || gr_fail "create did not set user.xlator.georep posix on pv"
grep -qF "user.xlator.georep set to posix on primary volume pv" <<<"$out" || gr_fail "create did not say it set the option"
grep -qF "    gluster volume stop pv" <<<"$out" && grep -qF "    gluster volume start pv" <<<"$out" ||
  gr_fail "create did not give the restart commands"
for n in 1 2; do
  conf="$(gr_node_state_dir "$n")/sessions/pv__snode1__sv/session.conf"
  grep -q '^state=created$' "$conf" || gr_fail "node $n: session.conf missing or not created"
  grep -q "^ssh_identity=$(gr_node_state_dir "$n")/keys/georep_secret.pem\$" "$conf" || gr_fail "node $n: ssh_identity not node-local"
  [ -s "$(gr_node_state_dir "$n")/sessions/pv__snode1__sv/known_hosts" ] || gr_fail "node $n: no known_hosts"
done
[ "$(sl_read_only sv)" = on ] || gr_fail "create did not set features.read-only on sv"
grep -q 'restrict,command=".*peer_georep gate' /root/.ssh/authorized_keys || gr_fail "push-pem did not install restricted key lines"
out=$(sl_run 1 status) || gr_fail "status failed"
echo "$out"
[ "$(grep -c ' Created ' <<<"$out")" = 2 ] || gr_fail "expected two Created rows"
out=$(sl_run 2 pv snode1::sv status) || gr_fail "status from pnode2 failed"
echo "$out"
grep -q "127.1.1.2 .*pv .*/pb2 .*root .*snode1::sv .*Created" <<<"$out" || gr_fail "pnode2's brick row is wrong"
sl_georep 1 --xml pv snode1::sv status | grep -q '<status>Created</status>' || gr_fail "--xml status"
[ "$(sl_georep 2 pv status | grep -c ' Created ')" = 2 ] || gr_fail "georep pv status (by volume)"
sl_georep 1 --json pv snode1::sv status | grep -q '"status": "Created"' || gr_fail "--json status"
sl_expect 1 "is already created" 1 pv snode1::sv create push-pem

# --- config --------------------------------------------------------------------
sl_run 1 pv snode1::sv config | grep -q '^batch_max_ops:2048$' || gr_fail "config listing"
sl_run 2 pv snode1::sv config batch_max_ops 512 || gr_fail "config set"
for n in 1 2; do grep -q '^batch_max_ops=512$' "$(gr_node_state_dir "$n")/sessions/pv__snode1__sv/session.conf" || gr_fail "config not on node $n"; done
[ "$(sl_georep 1 pv snode1::sv config batch_max_ops)" = 512 ] || gr_fail "config get"
sl_expect 1 "Invalid value '0' for config key 'batch_max_ops': expected an integer in [1, 100000]" 1 pv snode1::sv config batch_max_ops 0
sl_expect 1 "Invalid config key 'no_such_key'" 1 pv snode1::sv config no_such_key 1
sl_expect 1 "cannot be changed with config" 1 pv snode1::sv config secondary_volume other
sl_run 1 pv snode1::sv config '!batch_max_ops' || gr_fail "config reset"
grep -q '^batch_max_ops=' "$(gr_node_state_dir 2)/sessions/pv__snode1__sv/session.conf" && gr_fail "config reset not on node 2"

# --- start, data, detail, checkpoint ---------------------------------------------
sl_expect 1 "is not running" 1 pv snode1::sv stop
# The running bricks have no journal writer yet: start refuses, force too.
pb1="$(gr_node_ip 1):$(gr_brick_path 1 pb1)"
pb2="$(gr_node_ip 2):$(gr_brick_path 2 pb2)"
sl_expect 1 "Brick(s) $pb1, $pb2 of primary volume pv run without georep's translator" 1 pv snode1::sv start
sl_expect 1 "Fix: restart the volume: gluster volume stop pv && gluster volume start pv" 1 pv snode1::sv start force
grep -q '^state=created$' "$(gr_node_state_dir 2)/sessions/pv__snode1__sv/session.conf" || gr_fail "a refused start changed the state"
# The translator directory is shared by every test run on this machine (and
# another build's older georep.so holds no journal lock): install this build's
# again just before the bricks load it.
gr_install_xlator
printf '\n[pnode1]# gluster volume stop pv && gluster volume start pv\n'
gr_gluster 1 volume stop pv >/dev/null && gr_gluster 1 volume start pv >/dev/null || gr_fail "volume restart failed"
gr_wait_bricks_online pv || gr_fail "bricks of pv did not come back online"
# An offline brick is named as such; it loads the translator when it is back.
kill "$(gr_brick_pid "$pb2" pv)" || gr_fail "cannot stop brick $pb2"
off() { ! gr_bricks_online pv; }
gr_wait off || gr_fail "brick $pb2 did not go offline"
sl_expect 1 "Brick(s) $pb2 of primary volume pv are offline. Fix: bring them back (gluster volume start pv force), or add force" 1 pv snode1::sv start
gr_gluster 1 volume start pv force >/dev/null || gr_fail "volume start force failed"
gr_wait_bricks_online pv || gr_fail "brick $pb2 did not come back"
sl_run 1 pv snode1::sv start || gr_fail "start failed"
for n in 1 2; do grep -q '^state=started$' "$(gr_node_state_dir "$n")/sessions/pv__snode1__sv/session.conf" || gr_fail "node $n not started"; done
sl_expect 1 "already started" 1 pv snode1::sv start
sl_run 1 pv snode1::sv checkpoint now || gr_fail "checkpoint failed"

DAEMON="$SL_B/sync/daemon/georepd"
RECEIVER="$SL_B/sync/receiver/georep-receiver"
DATA=""
if [ -x "$DAEMON" ] && [ -x "$RECEIVER" ] && [ -f "$SL_B/xlator/georep.so" ]; then
  DATA=yes
  for n in 1 2; do
    gr_ns env GEOREP_STATE_DIR="$(gr_node_state_dir "$n")" "$DAEMON" --state-dir "$(gr_node_state_dir "$n")" \
      --node "$(gr_node_ip "$n")" --glusterd-sock "$(gr_node_sock "$n")" \
      --log-file "$GR_DIR/n$n/log/georepd.log" &
    disown $!  # stopped with everything else in the namespace at teardown
  done
  m=$(gr_mount pv)
  for i in 1 2 3 4 5; do echo "file $i" >"$m/f$i"; done
  mkdir "$m/dir"; echo nested >"$m/dir/inner"
  s=$(sl_mount sv 3)
  seen() { [ "$(cat "$s/f5" 2>/dev/null)" = "file 5" ] && [ "$(cat "$s/dir/inner" 2>/dev/null)" = nested ]; }
  GR_WAIT_S=120 gr_wait seen || gr_fail "data written on the primary did not show up on the secondary"
  done_cp() { sl_georep 1 pv snode1::sv status detail | grep -c ' Yes ' | grep -qx 2; }
  GR_WAIT_S=120 gr_wait done_cp || gr_fail "checkpoint did not complete"
  gr_log "data replicated and checkpoint completed"
  # A checkpoint on an idle volume completes too.
  sleep 1
  sl_run 1 pv snode1::sv checkpoint now || gr_fail "second checkpoint failed"
  GR_WAIT_S=120 gr_wait done_cp || gr_fail "checkpoint on an idle volume did not complete"
  gr_log "checkpoint on an idle volume completed"
  # georep's own subcommands: the journal tool on a primary brick and verify.
  printf '\n[pnode1]# georep journal dump %s\n' "$(gr_brick_path 1 pb1)"
  out=$("$SL_B/sync/cli/georep" journal dump "$(gr_brick_path 1 pb1)") || gr_fail "georep journal dump failed"
  head -5 <<<"$out"
  # pv distributes the files over both bricks; "dir" is made on every brick.
  grep -q 'op=MKDIR .*"dir"' <<<"$out" || gr_fail "georep journal dump did not show the mkdir of dir"
  "$SL_B/sync/cli/georep" journal consumers "$(gr_brick_path 1 pb1)" || gr_fail "georep journal consumers failed"
  printf '\n[pnode1]# georep verify --primary pv --primary-server 127.1.1.1 --secondary sv --secondary-server 127.1.1.3\n'
  gr_ns "$SL_B/sync/cli/georep" verify --wait-until-equal 60 --gfapi-log "$GR_DIR/n1/log/verify-gfapi.log" \
    --primary pv --primary-server 127.1.1.1 --secondary sv --secondary-server 127.1.1.3 ||
    gr_fail "georep verify: primary pv and secondary sv differ after the checkpoint"
else
  gr_log "PENDING: georepd/georep-receiver not built in $SL_B: the data and checkpoint-completion steps did not run"
fi
out=$(sl_run 1 pv snode1::sv status detail) || gr_fail "status detail failed"
echo "$out"
grep -q 'CHECKPOINT TIME' <<<"$out" || gr_fail "detail columns missing"
if [ -n "$DATA" ]; then
  # A georepd that died or hangs leaves status files that say Active; status
  # must not repeat that. Node 2's georepd is stopped (SIGSTOP) and its
  # status files aged as if a minute had passed: its brick is Faulty, and
  # detail names the cause. After SIGCONT it rewrites them: Active again.
  d2=""
  for p in $(ip netns pids "$GR_NS"); do
    [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$DAEMON" ] &&
      tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF -- "--state-dir $(gr_node_state_dir 2) " && d2=$p
  done
  [ -n "$d2" ] || gr_fail "georepd of node 2 not found"
  kill -STOP "$d2"
  touch -d '-60 seconds' "$(gr_node_state_dir 2)"/sessions/*/status/*.status
  out=$(sl_run 1 pv snode1::sv status detail) || { kill -CONT "$d2"; gr_fail "status detail failed"; }
  kill -CONT "$d2"
  echo "$out"
  grep -q ' Faulty ' <<<"$out" && grep -q "has not written this worker's status for" <<<"$out" ||
    gr_fail "a georepd that stopped writing its status was not shown Faulty with its cause"
  two_active() { [ "$(sl_georep 1 pv snode1::sv status | grep -c ' Active ')" = 2 ]; }
  GR_WAIT_S=20 gr_wait two_active || gr_fail "node 2's bricks did not come back Active after SIGCONT"
  gr_log "a silent georepd is shown Faulty with its cause, and Active again once it writes"
fi

out=$(sl_run 1 pv snode1::sv pause 2>&1) || { echo "$out"; gr_fail "pause failed"; }
echo "$out"
# confirmed_by_georepd VERB OUTPUT: VERB (pause, stop) returned only once
# every worker that was sending no longer says Active in its own status file
# (not just the session.conf the CLI wrote), with no warning that georepd
# has not confirmed it.
confirmed_by_georepd() {
  local verb=$1 out=$2 n f
  grep -q "has not confirmed" <<<"$out" && gr_fail "$verb was not confirmed by georepd"
  for n in 1 2; do
    for f in "$(gr_node_state_dir "$n")"/sessions/*/status/*.status; do
      [ -f "$f" ] || continue
      grep -qx 'status=Active' "$f" && gr_fail "$verb returned while $f still said Active"
    done
  done
  gr_log "$verb confirmed by every worker before the command returned"
}
if [ -n "$DATA" ]; then confirmed_by_georepd pause "$out"; fi
[ "$(sl_georep 1 pv snode1::sv status | grep -c ' Paused ')" = 2 ] || gr_fail "expected Paused rows"
sl_expect 1 "already paused" 1 pv snode1::sv pause
sl_run 1 pv snode1::sv resume || gr_fail "resume failed"
sl_expect 1 "is not paused" 1 pv snode1::sv resume
if [ -n "$DATA" ]; then
  # A worker that never confirms (here: a status file no georepd writes,
  # as a node whose georepd is down leaves behind): pause still records the
  # state, and says after its bound which brick has not confirmed it.
  sdir=$(ls -d "$(gr_node_state_dir 2)"/sessions/*/status | head -1)
  printf 'status=Active\nprimary_brick=/bricks/ghost\nupdated=%s\n' "$(date +%s)" >"$sdir/ghost.status"
  out=$(sl_georep 1 pv snode1::sv pause 2>&1) || { echo "$out"; gr_fail "pause with an unconfirming worker failed"; }
  echo "$out"
  grep -q "has not confirmed it for:" <<<"$out" && grep -q "/bricks/ghost on .*still Active after 5 s" <<<"$out" ||
    gr_fail "pause did not name the worker that has not confirmed it"
  rm -f "$sdir/ghost.status"
  sl_run 1 pv snode1::sv resume || gr_fail "resume after the unconfirmed pause failed"
  # The same left behind long ago (its georepd died: nothing rewrites it):
  # no use waiting for it; pause says at once that georepd is not running.
  printf 'status=Active\nprimary_brick=/bricks/ghost\nupdated=%s\n' "$(($(date +%s) - 120))" >"$sdir/ghost.status"
  touch -d '-120 seconds' "$sdir/ghost.status"
  t0=$SECONDS
  out=$(sl_georep 1 pv snode1::sv pause 2>&1) || { echo "$out"; gr_fail "pause with a silent worker failed"; }
  echo "$out"
  grep -q "/bricks/ghost on .* s ago: georepd is not running there" <<<"$out" ||
    gr_fail "pause did not say that the silent worker's georepd is not running"
  ((SECONDS - t0 < 4)) || gr_fail "pause waited $((SECONDS - t0)) s for a worker whose georepd is gone"
  rm -f "$sdir/ghost.status"
  sl_run 1 pv snode1::sv resume || gr_fail "resume after the silent-worker pause failed"
fi
sl_expect 1 "is still active. Please stop the session and retry." 1 pv snode1::sv delete
out=$(sl_run 1 pv snode1::sv stop 2>&1) || { echo "$out"; gr_fail "stop failed"; }
echo "$out"
if [ -n "$DATA" ]; then confirmed_by_georepd stop "$out"; fi
[ "$(sl_georep 1 pv snode1::sv status | grep -c ' Stopped ')" = 2 ] || gr_fail "expected Stopped rows"

# --- a non-root account -----------------------------------------------------------
GA="geoacct$((RANDOM % 10000))"
useradd -m -s /bin/bash "$GA" || gr_fail "useradd $GA"
# A locked account cannot log in over SSH (UsePAM no): "*" = no password, not locked.
usermod -p "*" "$GA" || gr_fail "usermod $GA"
# The admin's own password-less access to the account (ssh-copy-id), which
# create push-pem needs, as with GlusterFS.
install -d -m 0700 -o "$GA" -g "$GA" "/home/$GA/.ssh"
install -m 0600 -o "$GA" -g "$GA" "$GR_SSH_KEY.pub" "/home/$GA/.ssh/authorized_keys"
SL_USERS+=("$GA")
# The receiver runs as $GA: its log goes where $GA may write. push-pem fixes
# this log file and --volfile-server in the key lines; the gate refuses any
# other value from the primary.
GA_LOG="/home/$GA/georep-receiver.log"
sl_run 1 --receiver-command="$SL_B/sync/receiver/georep-receiver --volfile-server snode1 --log-file $GA_LOG" \
  pv "$GA@snode1::sv2" create push-pem "${FORCE[@]}" || gr_fail "non-root create push-pem failed"
[ -f "/home/$GA/georep_pv_sv2.pub" ] || gr_fail "push-pem did not leave the keys for the script"
grep -q 'restrict,command=' "/home/$GA/.ssh/authorized_keys" || gr_fail "no restricted key lines for $GA"
grep -qF "gate receiver=$SL_B/sync/receiver/georep-receiver volfile-server=snode1 log-file=$GA_LOG\"" \
  "/home/$GA/.ssh/authorized_keys" || gr_fail "the key lines do not fix the receiver, volfile server and log file"
[ "$(stat -c %U "/home/$GA/.ssh/authorized_keys")" = "$GA" ] || gr_fail "authorized_keys not owned by $GA"
printf '\n[snode1]# set_georep_pem_keys.sh %s pv sv2\n' "$GA"
gr_ns env GEOREP_GLUSTERD_SOCK="$(gr_node_sock 3)" GEOREP_STATE_DIR="$(gr_node_state_dir 3)" \
  "$GR_REPO/scripts/set_georep_pem_keys.sh" "$GA" pv sv2 || gr_fail "set_georep_pem_keys.sh failed"
[ "$(sl_read_only sv2)" = on ] || gr_fail "the script did not set features.read-only on sv2"
out=$(sl_run 1 status) || gr_fail "status of two sessions failed"
echo "$out"
grep -q "$GA .*snode1::sv2 .*Created" <<<"$out" || gr_fail "non-root session row missing"
# What a primary node's replication key may ask of the gate: the receiver
# with the whitelisted options only (sync/cli/SECURITY.md).
gate_as_node1() {
  gr_ns ssh -n -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$SL_KH" \
    -o IdentitiesOnly=yes -i "$(gr_node_state_dir 1)/keys/georep_secret.pem" "$GA@snode1" "$1" 2>&1
}
for bad in "georep-receiver --volume sv2 --log-file /etc/passwd:option --log-file refused" \
           "georep-receiver --volume sv2 --volfile-server 127.1.1.9:option --volfile-server refused" \
           "georep-receiver --volume sv2 --gfapi-log-file /tmp/x:option '--gfapi-log-file' refused" \
           "sh -c id:refused; this key only runs georep-receiver"; do
  printf '\n[pnode1]# ssh -i <node key> %s@snode1 "%s"   (expect refusal)\n' "$GA" "${bad%%:*}"
  if out=$(gate_as_node1 "${bad%%:*}"); then gr_fail "the gate let through: ${bad%%:*}"; fi
  echo "$out"
  grep -qF -- "${bad#*:}" <<<"$out" || gr_fail "the gate's refusal of '${bad%%:*}' did not say: ${bad#*:}"
done
sl_expect 1 "option '--glusterd-sock' refused" 1 pv "$GA@snode1::sv2" config receiver_command \
  "$RECEIVER --glusterd-sock /tmp/other.sock"
if [ -n "$DATA" ]; then
  sl_run 1 pv "$GA@snode1::sv2" start || gr_fail "non-root start failed"
  echo owned >"$m/owned-by-4242"
  chown 4242:4343 "$m/owned-by-4242"
  mkdir "$m/dir-4242" && chown 4242:4343 "$m/dir-4242"
  s2=$(sl_mount sv2 3)
  owned() { [ "$(stat -c %u:%g "$s2/owned-by-4242" 2>/dev/null)" = 4242:4343 ] &&
            [ "$(stat -c %u:%g "$s2/dir-4242" 2>/dev/null)" = 4242:4343 ] &&
            [ "$(cat "$s2/owned-by-4242" 2>/dev/null)" = owned ]; }
  GR_WAIT_S=120 gr_wait owned || { sl_georep 1 pv "$GA@snode1::sv2" status detail; gr_fail "non-root session did not replicate with ownership"; }
  gr_log "non-root account $GA replicated data with ownership preserved"
  [ -s "$GA_LOG" ] || gr_fail "the receiver did not log to $GA_LOG, the file fixed in $GA's key lines"
  out=$(sl_run 1 pv "$GA@snode1::sv2" status detail) || gr_fail "non-root status detail"
  echo "$out"
  sl_run 1 pv "$GA@snode1::sv2" stop || gr_fail "non-root stop failed"
fi
sl_run 1 pv "$GA@snode1::sv2" delete || gr_fail "non-root delete failed"
[ "$(sl_read_only sv2)" = on ] || gr_fail "delete by a non-root session must not lift read-only silently"

# --- delete ------------------------------------------------------------------------
out=$(sl_run 1 pv snode1::sv delete 2>&1) || gr_fail "delete failed"
echo "$out"
grep -q 'features.read-only turned off on secondary volume sv' <<<"$out" || gr_fail "delete did not say it lifted read-only"
[ "$(sl_read_only sv)" = off ] || gr_fail "delete did not turn features.read-only off"
sl_expect 1 "No active georep sessions" 1 status
sl_no_sessions
gr_log "PASS session_workflow"

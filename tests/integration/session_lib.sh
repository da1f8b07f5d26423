# shellcheck shell=bash
# Shared setup of the georep session tests: a primary pool (nodes 1, 2 =
# pnode1, pnode2) and a secondary pool (nodes 3, 4 = snode1, snode2) in one
# network namespace, sshd on every node, the node helper installed where
# glusterd looks for it, host names in /etc/hosts (test-only lines, removed at
# exit), and the admin's SSH access through the harness's test key.
#
# Everything added outside the test's own directory is removed at exit:
# the /etc/hosts lines, the lines the test's replication keys added to
# authorized_keys files, and test accounts. peer_georep stays installed in
# glusterd's helper directory, like the translator in xlatordir.

source "$(dirname "${BASH_SOURCE[0]}")/lib/cluster.sh"

SL_B=$GEOREP_BUILD_DIR
SL_HOSTS_TAG=""
SL_USERS=()
SL_KH=""

sl_libexec() {
  local d
  for d in /usr/libexec/glusterfs /usr/lib/x86_64-linux-gnu/glusterfs /usr/lib/aarch64-linux-gnu/glusterfs \
           /usr/lib64/glusterfs /usr/lib/glusterfs; do
    if [ -x "$d/peer_gsec_create" ] || [ -x "$d/gsyncd" ]; then echo "$d"; return; fi
  done
  echo /usr/libexec/glusterfs
}

sl_install_helper() {
  local src="$SL_B/sync/cli/peer_georep" dst
  [ -x "$src" ] || gr_fail "not built: $src (ninja -C $SL_B)"
  dst=$(sl_libexec)
  install -m 0755 "$src" "$dst/.peer_georep.$$" && mv -f "$dst/.peer_georep.$$" "$dst/peer_georep" ||
    gr_fail "cannot install peer_georep into $dst"
}

sl_cleanup() {
  local rc=$? u f n key uid
  # Replication keys the test's nodes made: remove their lines wherever
  # push-pem or the script put them.
  for n in 1 2 3 4; do
    for key in "$GR_DIR/n$n/georep/keys/georep_secret.pem.pub"; do
      [ -f "$key" ] || continue
      local blob
      blob=$(cut -d' ' -f2 "$key")
      for f in /root/.ssh/authorized_keys; do
        [ -f "$f" ] && grep -qF "$blob" "$f" && sed -i "\\|$blob|d" "$f"
      done
    done
  done
  for u in "${SL_USERS[@]}"; do
    # The account's receiver lock directory (georep-receiver's per-uid default).
    uid=$(id -u "$u" 2>/dev/null) && rm -rf "/tmp/georep-$uid"
    userdel -r "$u" >/dev/null 2>&1 || gr_log "warning: could not remove account $u"
  done
  if [ -n "$SL_HOSTS_TAG" ]; then sed -i "/ $SL_HOSTS_TAG\$/d" /etc/hosts; fi
  (exit $rc)
  gr_cluster_down
}

sl_secondary_volume() {  # VOL "N:name ..."  (created on the secondary pool)
  local vol=$1 spec=$2 b n name args=()
  for b in $spec; do
    n=${b%%:*}; name=${b#*:}
    mkdir -p "$(gr_brick_path "$n" "$name")"
    args+=("$(gr_node_ip "$n"):$(gr_brick_path "$n" "$name")")
  done
  gr_gluster 3 volume create "$vol" "${args[@]}" force >/dev/null || gr_fail "volume create $vol failed"
  gr_gluster 3 volume start "$vol" >/dev/null || gr_fail "volume start $vol failed"
  sl_bricks_online3() { ! gr_gluster 3 --xml volume status "$1" | grep -A8 '<path>/' | grep -q '<status>0</status>'; }
  GR_WAIT_S=60 gr_wait sl_bricks_online3 "$vol" || gr_fail "bricks of $vol did not come online"
}

sl_mount() {  # VOL SERVER-NODE -> mount point
  gr_mount "$1" "" "$2"
}

sl_setup() {
  gr_cluster_up 2
  trap sl_cleanup EXIT
  local n
  for n in 3 4; do
    ip netns exec "$GR_NS" ip addr add "$(gr_node_ip "$n")/8" dev lo
    gr_start_glusterd "$n"
  done
  gr_gluster 3 peer probe "$(gr_node_ip 4)" >/dev/null || gr_fail "peer probe of node 4 failed"
  sl_peer4() { gr_gluster 3 pool list | grep -F "$(gr_node_ip 4)" | grep -q Connected; }
  GR_WAIT_S=60 gr_wait sl_peer4 || gr_fail "node 4 never joined the secondary pool"
  SL_HOSTS_TAG="#georep-test-$GR_NS"
  printf '127.1.1.1 pnode1 %s\n127.1.1.2 pnode2 %s\n127.1.1.3 snode1 %s\n127.1.1.4 snode2 %s\n' \
    "$SL_HOSTS_TAG" "$SL_HOSTS_TAG" "$SL_HOSTS_TAG" "$SL_HOSTS_TAG" >>/etc/hosts
  sl_install_helper
  for n in 1 3 4; do gr_sshd_up "$n"; done
  # The admin's known_hosts, by name (the harness's lists addresses).
  SL_KH="$GR_DIR/ssh/admin_known_hosts"
  local hk
  hk=$(cut -d' ' -f1-2 "$GR_DIR/ssh/host_ed25519.pub")
  printf 'pnode1,127.1.1.1 %s\nsnode1,127.1.1.3 %s\nsnode2,127.1.1.4 %s\n' "$hk" "$hk" "$hk" >"$SL_KH"
}

# sl_georep NODE ARGS...: the CLI as the admin on NODE.
sl_georep() {
  local n=$1; shift
  gr_ns "$SL_B/sync/cli/georep" --mode=script --glusterd-sock="$(gr_node_sock "$n")" \
    --state-dir="$(gr_node_state_dir "$n")" --log-file="$GR_DIR/n$n/log/georep-cli.log" \
    --ssh-identity="$GR_SSH_KEY" --ssh-known-hosts="$SL_KH" \
    --receiver-command="$SL_B/sync/receiver/georep-receiver --volfile-server snode1" "$@"
}

# The value of user.xlator.georep on VOL of the primary pool ("" when unset).
sl_xlator_option() {
  gr_gluster 1 --xml volume info "$1" | tr -d '\n' |
    sed -n 's|.*<name>user\.xlator\.georep</name>[[:space:]]*<value>\([^<]*\)</value>.*|\1|p'
}

# Prints the admin's transcript line and runs it; output goes to stdout.
sl_run() {
  local n=$1; shift
  printf '\n[pnode%s]# georep %s\n' "$n" "$*"
  sl_georep "$n" "$@"
}

# sl_expect RC "message" NODE ARGS...: exact exit code, message on stderr/stdout.
sl_expect() {
  local want_rc=$1 want_msg=$2 n=$3 out rc
  shift 3
  printf '\n[node%s]# georep %s   (expect exit %s)\n' "$n" "$*" "$want_rc"
  out=$(sl_georep "$n" "$@" 2>&1)
  rc=$?
  printf '%s\n' "$out"
  [ "$rc" = "$want_rc" ] || gr_fail "georep $* exited $rc, expected $want_rc"
  grep -qF -- "$want_msg" <<<"$out" || gr_fail "georep $* did not say: $want_msg"
}

# No session anywhere on the primary nodes.
# (georepd's own files, its sync positions, may stay in a session directory
# after delete without reset-sync-time; session.conf and known_hosts may not.)
sl_no_sessions() {
  local n left
  for n in 1 2; do
    left=$(ls "$(gr_node_state_dir "$n")"/sessions/*/session.conf "$(gr_node_state_dir "$n")"/sessions/*/known_hosts 2>/dev/null)
    [ -z "$left" ] || gr_fail "session files left on node $n: $left"
  done
}

sl_read_only() {  # VOL -> value of features.read-only on the secondary pool ("" = unset)
  gr_gluster 3 volume get "$1" features.read-only | awk '$1 == "features.read-only" { print $2 }'
}

# The kernel's NTP state here (the create clock check reads the same).
sl_ntp_synced() {
  gr_ns env GEOREP_STATE_DIR="$GR_DIR/tmpstate" "$(sl_libexec)/peer_georep" clock | grep -q 'ntp=synced'
}

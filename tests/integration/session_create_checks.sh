#!/bin/bash
# Every check `georep create` makes, failing one at a time on a two-node
# primary and a two-node secondary cluster: the exact message, exit code 1,
# and nothing left behind (no session on any primary node, no
# features.read-only on the secondary, user.xlator.georep on the primary only
# once a create succeeded).
source "$(dirname "$0")/session_lib.sh"
set -u

sl_setup
gr_volume_create pv "1:pb1 2:pb2"
sl_secondary_volume sv "3:sb1 4:sb2"
gr_ns "$SL_B/sync/cli/georep-sshkey" generate --glusterd-sock="$(gr_node_sock 1)" \
  --state-dir="$(gr_node_state_dir 1)" >/dev/null || gr_fail "georep-sshkey generate failed"

# georep's translator is installed (as a package would); create sets the option.
gr_install_xlator
XLATOR_WANT=""  # user.xlator.georep on pv once a create has succeeded
nothing_left() {
  sl_no_sessions
  [ "$(sl_read_only sv)" != on ] || gr_fail "features.read-only was left on sv"
  [ "$(sl_xlator_option pv)" = "$XLATOR_WANT" ] || gr_fail "user.xlator.georep on pv is '$(sl_xlator_option pv)', expected '$XLATOR_WANT'"
}

FORCE=()
if sl_ntp_synced; then
  gr_log "kernel clock is NTP-synchronised here: the unsynchronised-clock case cannot be produced, skipped"
else
  # The clock check (this machine's kernel reports no NTP synchronisation).
  sl_expect 1 "The kernel reports the clock as not synchronised (NTP) on" 1 pv snode1::sv create push-pem
  sl_expect 1 "or add force to create anyway" 1 pv snode1::sv create push-pem
  nothing_left
  FORCE=(force)
fi

# Malformed targets.
sl_expect 1 "Invalid secondary 'snode1:sv': the '::' between host and volume is missing; expected [<user>@]<host>::<secondary-volume>" 1 pv snode1:sv create push-pem
sl_expect 1 "Invalid secondary 'Bad@snode1::sv': 'Bad' is not a valid account name" 1 pv Bad@snode1::sv create push-pem
sl_expect 1 "Invalid secondary 'snode1::s/v': 's/v' is not a valid volume name" 1 pv snode1::s/v create push-pem
sl_expect 1 "Usage:" 1 pv snode1::sv create push-pem ssh-port
nothing_left

# Unknown volumes, volumes not started.
sl_expect 1 "Primary volume nosuch does not exist." 1 nosuch snode1::sv create push-pem
sl_expect 1 "Secondary volume nosuch does not exist on snode1." 1 pv snode1::nosuch create push-pem
mkdir -p "$(gr_brick_path 1 stopped1)" "$(gr_brick_path 3 stopped3)"
gr_gluster 1 volume create pstopped "$(gr_node_ip 1):$(gr_brick_path 1 stopped1)" force >/dev/null || gr_fail "volume create"
gr_gluster 3 volume create sstopped "$(gr_node_ip 3):$(gr_brick_path 3 stopped3)" force >/dev/null || gr_fail "volume create"
sl_expect 1 "Primary volume pstopped is not started (Created). Fix: gluster volume start pstopped" 1 pstopped snode1::sv create push-pem
sl_expect 1 "Secondary volume sstopped on snode1 is not started (Created). Fix: gluster volume start sstopped on a secondary node" 1 pv snode1::sstopped create push-pem
sl_expect 1 "Cannot resolve the secondary host 'nohost'. Fix: correct the name" 1 pv nohost::sv create push-pem
# A host that resolves but runs no glusterd (pnode-less address in the namespace).
sl_expect 1 "Unable to fetch the secondary volume details: cannot query glusterd on 127.1.1.9" 1 pv 127.1.1.9::sv create push-pem
nothing_left

# SSH without a password: an admin key the secondary does not know, and an
# account that does not exist there.
ssh-keygen -q -t ed25519 -N '' -f "$GR_DIR/ssh/stranger" -C stranger
out=$(gr_ns "$SL_B/sync/cli/georep" --mode=script --glusterd-sock="$(gr_node_sock 1)" \
  --state-dir="$(gr_node_state_dir 1)" --ssh-identity="$GR_DIR/ssh/stranger" --ssh-known-hosts="$SL_KH" \
  pv snode1::sv create push-pem 2>&1)
rc=$?
echo "$out"
[ $rc = 1 ] || gr_fail "create with an unknown admin key exited $rc"
grep -qF "Cannot log in to root@snode1 (port 22) over SSH without a password: root@snode1: Permission denied (publickey). Fix:" <<<"$out" ||
  gr_fail "unexpected message for an unknown admin key"
sl_expect 1 "Cannot log in to nosuchuser@snode1 (port 22) over SSH without a password" 1 pv nosuchuser@snode1::sv create push-pem
sl_expect 1 "Cannot reach SSH on snode1 port 2222: ssh: connect to host snode1 port 2222: Connection refused. Fix: start sshd there, or give its port with ssh-port <port>" 1 pv snode1::sv create push-pem ssh-port 2222
nothing_left

# The secondary volume is not empty (the primary holds data too, so that the
# volumes do not look swapped).
pm=$(gr_mount pv)
sm=$(sl_mount sv 3)
echo keep >"$pm/keep"
echo stray >"$sm/stray"
# Checked before the clocks, so no force is needed to get here (force would
# skip this check).
sl_expect 1 "Secondary volume sv on snode1 is not empty (it holds stray). Fix: use an empty volume, or add force" 1 pv snode1::sv create push-pem
nothing_left

# The volumes look swapped: the primary is empty while the secondary holds
# data, and (further below) a read-only primary.
rm -f "$pm/keep"
sl_expect 1 "Refused: the volumes look swapped: primary volume pv is empty while sv on snode1 holds data." 1 pv snode1::sv create push-pem force
nothing_left
rm -f "$sm/stray"
echo keep >"$pm/keep"

# Not enough room: a secondary volume on a 4 MiB filesystem.
small=$(gr_brick_path 3 small)
mkdir -p "$small"
if mount -t tmpfs -o size=4m georep-test-small "$small" 2>/dev/null; then
  GR_MOUNTS=("$small" "${GR_MOUNTS[@]}")  # unmounted at exit, after the volume is gone
  mkdir -p "$small/b"
  gr_gluster 3 volume create ssmall "$(gr_node_ip 3):$small/b" force >/dev/null || gr_fail "volume create ssmall"
  gr_gluster 3 volume start ssmall >/dev/null || gr_fail "volume start ssmall"
  sl_expect 1 "Secondary volume ssmall on snode1 has" 1 pv snode1::ssmall create push-pem
  sl_expect 1 "free but the primary volume holds" 1 pv snode1::ssmall create push-pem
  nothing_left
  gr_gluster 3 volume stop ssmall >/dev/null
  gr_gluster 3 volume delete ssmall >/dev/null
else
  gr_log "tmpfs cannot be mounted here: the not-enough-room case did not run"
fi

# A read-only primary looks like a secondary.
gr_gluster 1 volume set pv features.read-only on >/dev/null || gr_fail "volume set"
sl_expect 1 "Refused: the volumes look swapped: primary volume pv is read-only (features.read-only on)" 1 pv snode1::sv create push-pem force
gr_gluster 1 volume reset pv features.read-only >/dev/null || gr_fail "volume reset"
nothing_left

# The translator placed elsewhere than directly above posix is refused, not
# changed behind the admin's back (force does not skip it).
# (glusterd 10.3 cannot reset one user.xlator option: only a reset of all.)
gr_gluster 1 volume set pv user.xlator.georep changelog >/dev/null || gr_fail "volume set user.xlator.georep"
sl_expect 1 "Primary volume pv has user.xlator.georep set to 'changelog'" 1 pv snode1::sv create push-pem force
gr_gluster 1 volume reset pv >/dev/null || gr_fail "volume reset pv"
nothing_left

# The direction guard: once pv replicates to sv, creating sv -> pv from the
# secondary cluster is refused (force does not skip it).
sl_run 1 pv snode1::sv create push-pem "${FORCE[@]}" || gr_fail "create pv -> sv failed"
XLATOR_WANT=posix
sl_expect 1 "Refused: pv on pnode1 is already a georep primary of sv (session pv__snode1__sv)" 3 sv pnode1::pv create push-pem force
left=$(ls -d "$(gr_node_state_dir 3)"/sessions/* 2>/dev/null)
[ -z "$left" ] || gr_fail "refused create left a session on node 3: $left"
sl_run 1 pv snode1::sv delete || gr_fail "delete failed"
nothing_left

# no-verify: the keys are in place already (push-pem above), nothing on the
# secondary is checked or changed, but every primary node must still reach it.
out=$(sl_run 1 pv snode1::sv create no-verify "${FORCE[@]}" 2>&1) || { echo "$out"; gr_fail "create no-verify failed"; }
echo "$out"
grep -qF "Note: features.read-only is not set on sv by this command" <<<"$out" || gr_fail "no-verify did not say read-only is not set"
[ "$(sl_read_only sv)" != on ] || gr_fail "no-verify changed the secondary"
sl_run 1 pv snode1::sv delete || gr_fail "delete failed"
# Without the keys on the secondary, no-verify fails at the SSH check and
# leaves nothing behind: the translator option is set last, only on success.
gr_gluster 1 volume reset pv >/dev/null || gr_fail "volume reset pv"
XLATOR_WANT=""
sed -i "\|$(cut -d' ' -f2 "$(gr_node_state_dir 2)/keys/georep_secret.pem.pub")|d" /root/.ssh/authorized_keys
sl_expect 1 "Primary node cannot reach root@snode1 over SSH with its replication key: on 127.1.1.2:" 1 pv snode1::sv create no-verify "${FORCE[@]}"
nothing_left
gr_log "PASS session_create_checks"

#!/bin/sh
# set_georep_pem_keys.sh <user> <primary-vol> <secondary-vol>
#
# Run as root on ONE secondary node after
#   georep <primary-vol> <user>@<this host>::<secondary-vol> create push-pem
# on a primary node, when <user> is not root. It installs the primary nodes'
# replication keys (left in ~<user>/georep_<primary-vol>_<secondary-vol>.pub
# by push-pem) into <user>'s authorized_keys on EVERY secondary node, each
# restricted to running georep-receiver through georep's gate (no shell, no
# pty, no forwarding), checks that the account exists everywhere (reporting
# UID/GID differences), and sets features.read-only on the secondary volume.
# It reaches the other secondary nodes through glusterd (gluster system::
# execute), like GlusterFS's set_geo_rep_pem_keys.sh.
#
# Environment: GEOREP_GLUSTERD_SOCK  glusterd socket (default: gluster's own).
# Exit status: 0 when every secondary node has the keys, 1 otherwise.
set -eu

usage() {
  echo "Usage: $0 <user> <primary-vol> <secondary-vol>" >&2
  exit 1
}
[ $# -eq 3 ] || usage
user=$1 pvol=$2 svol=$3
# Plain names only: they become file names and arguments.
for v in "$user" "$pvol" "$svol"; do
  case $v in
    ''|-*|*[!A-Za-z0-9_.-]*) echo "Invalid name '$v'" >&2; usage ;;
  esac
done
if [ "$(id -u)" != 0 ]; then
  echo "$0 must run as root on a secondary node" >&2
  exit 1
fi
# Installed beside peer_georep in glusterd's helper directory; run from a
# source tree it finds the installed helper there.
here=$(dirname "$(readlink -f "$0")")
helper=""
for d in "$here" /usr/libexec/glusterfs /usr/lib/x86_64-linux-gnu/glusterfs /usr/lib/aarch64-linux-gnu/glusterfs \
         /usr/lib64/glusterfs /usr/lib/glusterfs; do
  if [ -x "$d/peer_georep" ]; then helper=$d/peer_georep; break; fi
done
[ -n "$helper" ] || { echo "georep's node helper peer_georep is not installed: install georep on this node" >&2; exit 1; }
exec "$helper" remote pem-keys "user=$user" "pvol=$pvol" "svol=$svol"

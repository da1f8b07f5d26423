#!/usr/bin/env bash
# The harness itself: two peered nodes, a replica-2 volume mounted through
# FUSE, sshd in the namespace, and a clean teardown.
source "$(dirname "$0")/lib/cluster.sh"

gr_cluster_up 2
gr_volume_create rv "1:r1 2:r2" "replica 2"
m=$(gr_mount rv)
echo hello >"$m/f" || gr_fail "write through FUSE failed"
[ "$(cat "$(gr_brick_path 1 r1)/f")" = hello ] || gr_fail "brick 1 lacks the file"
[ "$(cat "$(gr_brick_path 2 r2)/f")" = hello ] || gr_fail "brick 2 lacks the file"
[ -n "$(gr_brick_pid "$(gr_node_ip 2):$(gr_brick_path 2 r2)" rv)" ] || gr_fail "no pid for brick 2"
gr_sshd_up 1
gr_ns ssh "${GR_SSH_OPTS[@]}" root@127.1.1.1 echo ok | grep -q ok || gr_fail "ssh in namespace failed"
echo "1 passed, 0 failed"

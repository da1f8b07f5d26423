#!/usr/bin/env bash
# georep-receiver against a real secondary volume (2-brick distribute, with
# features.read-only on): every op type lands with the primary's GFIDs and
# attributes, holes stay holes, a replayed script leaves the same tree, and
# ordinary clients stay locked out while the receiver writes.
source "$(dirname "$0")/lib/cluster.sh"

RECEIVER="$GEOREP_BUILD_DIR/sync/receiver/georep-receiver"
CLIENT="$GEOREP_BUILD_DIR/tests/unit/sync/receiver_client"
[ -x "$RECEIVER" ] || gr_fail "not built: $RECEIVER (run: ninja -C $GEOREP_BUILD_DIR)"
[ -x "$CLIENT" ] || gr_fail "not built: $CLIENT (run: ninja -C $GEOREP_BUILD_DIR)"
command -v getfattr >/dev/null && command -v setfacl >/dev/null ||
  gr_fail "getfattr/setfacl missing: run scripts/install-deps.sh (packages attr, acl)"

# RECEIVER_TEST_LAYOUT=replica runs the same checks on a replica-2 volume.
gr_cluster_up 1
if [ "${RECEIVER_TEST_LAYOUT:-distribute}" = replica ]; then
  gr_volume_create sv "1:s1 1:s2" "replica 2"
else
  gr_volume_create sv "1:s1 1:s2"
fi
gr_gluster 1 volume set sv features.read-only on >/dev/null || gr_fail "cannot set read-only"
M=$(gr_mount sv)
B1=$(gr_brick_path 1 s1)
B2=$(gr_brick_path 1 s2)
W="$GR_DIR/receiver"
mkdir -p "$W"
# Receiver locks in the test's own directory (removed with it), not in /run/georep.
export GEOREP_RECEIVER_LOCK_DIR="$GR_DIR/locks"

# run_client SCRIPT OUT: the receiver runs inside the test's namespace.
run_client() {
  gr_ns "$CLIENT" "$1" -- "$RECEIVER" --volume sv --volfile-server "$(gr_node_ip 1)" \
    --log-file "$W/receiver.log" --log-level info --idle-timeout 60 >"$2" ||
    gr_fail "receiver_client failed on $1 (see $2, $W/receiver.log)"
}
# The data file of PATH on whichever brick holds it (not a DHT link-to).
brick_file() {
  local b
  for b in "$B1" "$B2"; do
    if [ -e "$b/$1" ] || [ -L "$b/$1" ]; then
      getfattr -h -n trusted.glusterfs.dht.linkto "$b/$1" >/dev/null 2>&1 && continue
      echo "$b/$1"
      return 0
    fi
  done
  return 1
}
gfid_on_brick() {  # PATH -> gfid string from trusted.gfid
  local f hex
  f=$(brick_file "$1") || return 1
  hex=$(getfattr -h -n trusted.gfid -e hex "$f" 2>/dev/null | sed -n 's/^trusted.gfid=0x//p')
  [ -n "$hex" ] || return 1
  echo "${hex:0:8}-${hex:8:4}-${hex:12:4}-${hex:16:4}-${hex:20:12}"
}
gfid_on_mount() { getfattr -h -n glusterfs.gfid.string --only-values "$M/$1" 2>/dev/null; }
expect_gfid() {
  local path=$1 want=$2 got
  got=$(gfid_on_brick "$path") || gr_fail "$path is missing on the bricks"
  [ "$got" = "$want" ] || gr_fail "$path: brick trusted.gfid $got, expected $want"
  got=$(gfid_on_mount "$path")
  [ "$got" = "$want" ] || gr_fail "$path: FUSE glusterfs.gfid.string '$got', expected $want"
}
# One line per entry: path, type, mode, owner, size, link target, gfid, md5.
tree_dump() {
  (cd "$M" && find . -mindepth 1 -path ./.trashcan -prune -o -printf '%P %y %m %U:%G %s %l\n' | sort) |
    while read -r p rest; do
      sum=-
      [ -f "$M/$p" ] && [ ! -L "$M/$p" ] && sum=$(md5sum <"$M/$p" | cut -c1-12)
      echo "$p $rest $(gfid_on_mount "$p") $sum"
    done
}

D=11111111-1111-4111-8111-000000000001     # directory d
F=11111111-1111-4111-8111-000000000002     # file d/f, later renamed to victim
S=11111111-1111-4111-8111-000000000003     # sparse file
L=11111111-1111-4111-8111-000000000004     # symlink
P=11111111-1111-4111-8111-000000000005     # fifo
V=11111111-1111-4111-8111-000000000006     # victim, replaced by the rename
SUB=11111111-1111-4111-8111-000000000007   # d/sub, made and removed
BIG=11111111-1111-4111-8111-000000000008   # multi-chunk file
DEV=11111111-1111-4111-8111-000000000009   # character device 1:3

# A binary POSIX ACL value, as the primary's bricks would hand it over.
touch "$W/aclsrc"
setfacl -m u:1234:rw,m::rw "$W/aclsrc" || gr_fail "setfacl does not work on $W (no ACL support?)"
ACL=$(getfattr -n system.posix_acl_access -e hex "$W/aclsrc" 2>/dev/null |
  sed -n 's/^system.posix_acl_access=0x//p')
[ -n "$ACL" ] || gr_fail "cannot read back the test ACL"
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$W/big"

cat >"$W/script" <<EOF
hello test-session pv pbrick-1 sv
batch fsync
create root d $D 040755 0 0
create $D f $F 0100644 1000 1000
data $F 0 hello\sgeorep
create $D sparse $S 0100600 0 0
data $S 0 A
zeros $S 1048576 1048576
data $S 8388608 B
create root link $L 0120777 0 0 0 d/f
create root fifo $P 010640 0 0
create root victim $V 0100644 0 0
data $V 0 old\scontents
link $F $D hard
rename $F $D f root victim $V
setattr $F mode=0640 uid=2000 gid=2001 mtime=1700000000123456789
setxattr $F user.origin primary
setxattr $F system.posix_acl_access hex:$ACL
create $D sub $SUB 040700 0 0
rmdir $D sub $SUB
unlink $D hard $F
create root big $BIG 0100644 0 0
create root cdev $DEV 020600 0 0 259
end
datafile $BIG 0 $W/big
batch
truncate $BIG 1048576
punch $BIG 65536 65536
end
stat $F
checksum $F 0 100
list root
list $D
list $F
ping 7
bye
EOF

run_client "$W/script" "$W/out1"
cat "$W/out1" >&2
grep -q '^HELLO_OK version=5' "$W/out1" || gr_fail "no HELLO_OK"
[ "$(grep -c "^ACK " "$W/out1")" = 3 ] ||
  gr_fail "expected 3 ACKs (entries, 4 data chunks in one batch, truncate + punch)"
! grep -q '^FAIL' "$W/out1" || gr_fail "ops failed on first application: $(grep '^FAIL' "$W/out1")"
grep -q '^PONG 7$' "$W/out1" && grep -q '^BYE$' "$W/out1" && grep -q '^EXIT 0$' "$W/out1" ||
  gr_fail "session did not end cleanly"
# The ACL came after the chmod: its mask (rw-) sets the group bits, as on Linux.
# LIST (a resync's view of the secondary): every entry once with its GFID,
# type, size and mtime, never "." / "..", never gfid-access's virtual .gfid.
grep -q "^LIST 00000000-0000-0000-0000-000000000001 err=0 eof=1 " "$W/out1" || gr_fail "no root listing"
for want in "d $D 040755" "victim $F 0100664" "link $L 0120777" "fifo $P 010640" "big $BIG 0100644" "cdev $DEV 020600"; do
  grep -qF "ENTRY $want size=" "$W/out1" || gr_fail "root listing lacks '$want': $(grep '^ENTRY' "$W/out1")"
done
grep -qE '^ENTRY (\.|\.\.|\.gfid) ' "$W/out1" && gr_fail "listing shows . .. or .gfid: $(grep '^ENTRY' "$W/out1")"
grep -qxF "ENTRY victim $F 0100664 size=12 mtime=1700000000123456789" "$W/out1" ||
  gr_fail "the listing's size or mtime of victim is wrong: $(grep '^ENTRY victim' "$W/out1")"
grep -qF "ENTRY sparse $S 0100600 size=8388609 " "$W/out1" || gr_fail "d's listing lacks sparse: $(grep '^ENTRY sparse' "$W/out1")"
grep -q "^LIST $F err=ENOTDIR " "$W/out1" || gr_fail "listing a file did not say ENOTDIR"
grep -q "^STAT $F err=0 mode=0100664 uid=2000 gid=2001 size=12 " "$W/out1" ||
  gr_fail "STAT reply wrong: $(grep '^STAT' "$W/out1")"
want_crc=$(printf 'hello georep' | python3 -c 'import sys
data=sys.stdin.buffer.read()
crc=0xffffffff
for b in data:
    crc^=b
    for _ in range(8): crc=(crc>>1)^(0x82f63b78 if crc&1 else 0)
print(crc^0xffffffff)')
grep -q "^CHECKSUM $F err=0 bytes=12 crc=$want_crc$" "$W/out1" ||
  gr_fail "CHECKSUM reply wrong: $(grep '^CHECKSUM' "$W/out1") (want crc $want_crc)"

# GFIDs: on the bricks (trusted.gfid) and through FUSE.
expect_gfid d "$D"
expect_gfid victim "$F"
expect_gfid d/sparse "$S"
expect_gfid link "$L"
expect_gfid fifo "$P"
expect_gfid big "$BIG"
expect_gfid cdev "$DEV"
[ -c "$M/cdev" ] && [ "$(stat -c '%t:%T %a' "$M/cdev")" = "1:3 600" ] ||
  gr_fail "character device wrong: $(stat -c '%F %t:%T %a' "$M/cdev")"
[ ! -e "$M/d/f" ] && [ ! -e "$M/d/hard" ] && [ ! -e "$M/d/sub" ] || gr_fail "removed names still exist"
# Contents, types, owners, times.
[ "$(cat "$M/victim")" = "hello georep" ] || gr_fail "victim content: $(cat "$M/victim")"
[ "$(stat -c '%a %u %g %h %Y' "$M/victim")" = "664 2000 2001 1 1700000000" ] ||
  gr_fail "victim attributes: $(stat -c '%a %u %g %h %Y' "$M/victim")"
[ "$(stat -c %y "$M/victim" | cut -c21-29)" = 123456789 ] || gr_fail "mtime nanoseconds lost"
[ "$(readlink "$M/link")" = d/f ] || gr_fail "symlink target: $(readlink "$M/link")"
[ -p "$M/fifo" ] && [ "$(stat -c %a "$M/fifo")" = 640 ] || gr_fail "fifo wrong: $(stat -c '%F %a' "$M/fifo")"
[ "$(stat -c %a "$M/d")" = 755 ] || gr_fail "directory mode"
# big: 4 chunks written, cut to 1 MiB, a 64 KiB hole punched at 64 KiB.
head -c 1048576 "$W/big" >"$W/big.want"
dd if=/dev/zero of="$W/big.want" bs=65536 seek=1 count=1 conv=notrunc status=none
cmp -s "$W/big.want" "$M/big" || gr_fail "multi-chunk / truncated / punched file differs"
bf=$(brick_file big)
# The hole must be gone from the allocation (ext4 may add an extent block).
(( $(stat -c %b "$bf") * 512 <= 1048576 - 65536 + 8192 )) ||
  gr_fail "punched range still allocated on $bf: $(stat -c '%b blocks of %B, size %s' "$bf")"
# Xattrs and the ACL, read on the brick.
vf=$(brick_file victim)
[ "$(getfattr -n user.origin --only-values "$vf" 2>/dev/null)" = primary ] || gr_fail "user.origin missing on $vf"
getfacl -n "$vf" 2>/dev/null | grep -q '^user:1234:rw-' || gr_fail "ACL missing: $(getfacl -n "$vf")"
# Holes: 8 MiB + 1 byte with two bytes of data must stay sparse.
sf=$(brick_file d/sparse)
[ "$(stat -c %s "$sf")" = 8388609 ] || gr_fail "sparse size $(stat -c %s "$sf")"
blocks=$(stat -c %b "$sf")
((blocks * 512 < 1024 * 1024)) || gr_fail "sparse file allocates $((blocks * 512)) bytes: holes were filled"
[ "$(head -c 1 "$M/d/sparse")" = A ] && [ "$(tail -c 1 "$M/d/sparse")" = B ] || gr_fail "sparse data"
# The secondary stays read-only for ordinary clients.
if touch "$M/intruder" 2>/dev/null; then gr_fail "FUSE client could write to the read-only secondary"; fi

# Replay: the same script again leaves the same tree. The only failures
# allowed concern the victim, whose object the rename replaced: its create
# (EEXIST, the entry there is kept) and its data (ENOENT).
tree_dump >"$W/tree1"
run_client "$W/script" "$W/out2"
cat "$W/out2" >&2
grep -q '^EXIT 0$' "$W/out2" || gr_fail "replay session did not end cleanly"
fails=$(grep '^FAIL' "$W/out2" || true)
[ "$(grep -c . <<<"$fails")" = 2 ] && grep -q '^FAIL 9 EEXIST ENTRY_CREATE' <<<"$fails" &&
  grep -q '^FAIL 10 ENOENT DATA' <<<"$fails" ||
  gr_fail "unexpected failures on replay: $fails"
tree_dump >"$W/tree2"
diff "$W/tree1" "$W/tree2" >&2 || gr_fail "replay changed the tree"
[ "$(wc -l <"$W/tree1")" -ge 6 ] || gr_fail "tree dump looks empty: $(cat "$W/tree1")"

echo "receiver_apply: 1 passed, 0 failed"

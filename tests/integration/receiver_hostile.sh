#!/usr/bin/env bash
# georep-receiver fed hostile or broken input against a real secondary volume:
# every case ends with the documented ERROR / per-op errno and exit status,
# nothing of a damaged frame is applied, and nothing outside the volume (or
# inside GlusterFS's own namespace) is touched.
source "$(dirname "$0")/lib/cluster.sh"

RECEIVER="$GEOREP_BUILD_DIR/sync/receiver/georep-receiver"
CLIENT="$GEOREP_BUILD_DIR/tests/unit/sync/receiver_client"
[ -x "$RECEIVER" ] || gr_fail "not built: $RECEIVER (run: ninja -C $GEOREP_BUILD_DIR)"
[ -x "$CLIENT" ] || gr_fail "not built: $CLIENT (run: ninja -C $GEOREP_BUILD_DIR)"

gr_cluster_up 1
gr_volume_create sv "1:s1"
gr_gluster 1 volume set sv features.read-only on >/dev/null || gr_fail "cannot set read-only"
B=$(gr_brick_path 1 s1)
W="$GR_DIR/receiver"
mkdir -p "$W"
# Receiver locks in the test's own directory (removed with it), not in /run/georep.
export GEOREP_RECEIVER_LOCK_DIR="$GR_DIR/locks"
EVIL="/tmp/georep-receiver-evil-$$"
# The harness's teardown runs from here too, with the test's exit status.
trap 'rc=$?; rm -rf "$EVIL" "$EVIL.dir"; (exit $rc); gr_cluster_down' EXIT

# case NAME VOLUME: runs the script $W/NAME.in, output in $W/NAME.out.
case_run() {
  local name=$1 vol=${2:-sv}
  gr_ns "$CLIENT" "$W/$name.in" -- "$RECEIVER" --volume "$vol" --volfile-server "$(gr_node_ip 1)" \
    --log-file "$W/$name.log" --idle-timeout 30 >"$W/$name.out" 2>"$W/$name.err" ||
    gr_fail "receiver_client failed for case $name: $(cat "$W/$name.err")"
  sed "s/^/[$name] /" "$W/$name.out" >&2
}
expect_line() {  # CASE REGEX
  grep -Eq "$2" "$W/$1.out" || gr_fail "case $1: no line matching '$2' in: $(cat "$W/$1.out")"
}
# Frame helpers (python3 builds bytes; the wire is little-endian).
hexframe() {  # HEXBODY [bad] -> header + body, crc damaged with "bad"
  python3 - "$@" <<'EOF'
import sys, struct
body = bytes.fromhex(sys.argv[1])
def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff
c = crc32c(body)
rot = ((c >> 15) | (c << 17)) & 0xffffffff
masked = (rot + 0xa282ead8) & 0xffffffff
if len(sys.argv) > 2:
    masked ^= 1
print((struct.pack('<II', len(body), masked) + body).hex())
EOF
}
HELLO="hello hostile pv pbrick sv"

# 1. A damaged crc: BAD_CHECKSUM, exit 2.
echo "rawbytes $(hexframe 0a0100000000000000 bad)" >"$W/badcrc.in"
case_run badcrc
expect_line badcrc '^ERROR BAD_CHECKSUM '
expect_line badcrc '^EXIT 2$'

# 2. A header announcing 2 GiB: refused from the header, exit 2.
echo "rawbytes 00000080deadbeef" >"$W/oversize.in"
case_run oversize
expect_line oversize '^ERROR FRAME_TOO_LARGE .*exceeds the limit'
expect_line oversize '^EXIT 2$'

# 3. An unknown message type.
echo "rawframe 63" >"$W/unknowntype.in"
case_run unknowntype
expect_line unknowntype '^ERROR UNKNOWN_MESSAGE_TYPE unknown message type 99'
expect_line unknowntype '^EXIT 2$'

# 4. The stream ends inside a frame: connection lost, exit 3, no ERROR needed.
echo "rawbytes 1000000000" >"$W/truncated.in"
case_run truncated
expect_line truncated '^EXIT 3$'

# 5. A batch before HELLO.
printf 'batch\nend\n' >"$W/nohello.in"
case_run nohello
expect_line nohello '^ERROR UNEXPECTED_MESSAGE BATCH before HELLO'
expect_line nohello '^EXIT 2$'

# 6. HELLO for another volume than the receiver serves.
echo "hello hostile pv pbrick othervol" >"$W/wrongvol.in"
case_run wrongvol
expect_line wrongvol '^ERROR VOLUME_MISMATCH .*"othervol"'
expect_line wrongvol '^EXIT 2$'

# 7. A volume that does not exist: VOLUME_UNAVAILABLE, exit 4.
echo "hello hostile pv pbrick nosuchvol" >"$W/novol.in"
case_run novol nosuchvol
expect_line novol '^ERROR VOLUME_UNAVAILABLE cannot mount secondary volume nosuchvol'
expect_line novol '^EXIT 4$'

# 8. Bad names, reserved GFIDs and keys, unknown GFIDs: per-op errors, the
#    session goes on; then a batch whose second op has an unknown type: the
#    whole frame is refused and its first (valid) op is not applied.
G1=22222222-2222-4222-8222-000000000001
G2=22222222-2222-4222-8222-000000000002
NOPE=22222222-2222-4222-8222-0000000000ff
mkdir -p "$EVIL.dir"
# create root "partial" G2 as a regular file, then op type 0x7f.
partial_op=$(python3 - "$G2" <<'EOF'
import sys, struct, uuid
root = uuid.UUID('00000000-0000-0000-0000-000000000001').bytes
g = uuid.UUID(sys.argv[1]).bytes
name = b'partial'
op = bytes([1]) + root + struct.pack('<I', len(name)) + name + g
op += struct.pack('<IIIQ', 0o100644, 0, 0, 0) + struct.pack('<I', 0)
body = bytes([4]) + struct.pack('<QII', 99, 0, 2) + op + bytes([0x7f]) + bytes(16)
print(body.hex())
EOF
)
cat >"$W/badops.in" <<EOF
$HELLO
batch
create root ../../../../..$EVIL $G1 0100644 0 0
create root a/b $G1 0100644 0 0
create root .. $G1 040755 0 0
create root .gfid $G1 040755 0 0
create root a\\x00b $G1 0100644 0 0
create $NOPE orphan $G1 0100644 0 0
create root dev $G1 0100644 0 0 0 /etc/passwd
link $NOPE root hardlink
data $NOPE 0 x
setattr $NOPE uid=0
create root ok $G1 0100644 0 0
setxattr $G1 trusted.gfid hex:00000000000000000000000000000001
setxattr $G1 glusterfs.gfid.newfile x
setxattr $G1 trusted.glusterfs.dht hex:00
create root escape $G2 0120777 0 0 0 ../../../../..$EVIL.dir/x
end
ping 1
rawframe $partial_op
EOF
case_run badops
expect_line badops '^ACK 1 ops=15 failures=13$'
expect_line badops '^FAIL 0 EINVAL .*contains'
expect_line badops '^FAIL 1 EINVAL .*contains'
expect_line badops '^FAIL 2 EINVAL .*not a real entry'
expect_line badops '^FAIL 3 EPERM .*reserved'
expect_line badops '^FAIL 4 EINVAL .*NUL'
expect_line badops '^FAIL 5 ENOENT .*parent directory'
expect_line badops '^FAIL 6 EINVAL .*symlink target'
expect_line badops '^FAIL 7 ENOENT '
expect_line badops '^FAIL 8 ENOENT '
expect_line badops '^FAIL 9 ENOENT '
expect_line badops '^FAIL 11 EPERM .*belongs to GlusterFS'
expect_line badops '^FAIL 12 EPERM .*belongs to GlusterFS'
expect_line badops '^FAIL 13 EPERM .*belongs to GlusterFS'
expect_line badops '^PONG 1$'
expect_line badops '^ERROR UNKNOWN_OP_TYPE unknown op type 127'
expect_line badops '^EXIT 2$'

# Nothing escaped the volume, nothing of the refused frame was applied, the
# brick holds exactly the two valid entries, and the valid symlink's target
# is stored as text, never followed.
[ ! -e "$EVIL" ] && [ -z "$(ls -A "$EVIL.dir")" ] || gr_fail "the receiver wrote outside the volume"
[ ! -e "$B/partial" ] || gr_fail "an op of a refused frame was applied"
entries=$(cd "$B" && ls -A | grep -v -e '^\.glusterfs$' -e '^\.trashcan$' | sort | tr '\n' ' ')
[ "$entries" = "escape ok " ] || gr_fail "unexpected brick entries: $entries"
[ "$(readlink "$B/escape")" = "../../../../..$EVIL.dir/x" ] || gr_fail "symlink target changed"
hex=$(getfattr -n trusted.gfid -e hex "$B/ok" 2>/dev/null | sed -n 's/^trusted.gfid=0x//p')
[ "$hex" = "${G1//-/}" ] || gr_fail "ok has trusted.gfid $hex, expected $G1"
! getfattr -n trusted.glusterfs.dht "$B/ok" >/dev/null 2>&1 || gr_fail "a GlusterFS key was written"

# 9. Data ops on objects that are not regular files fail cleanly.
TD=44444444-4444-4444-8444-000000000001
TL=44444444-4444-4444-8444-000000000002
cat >"$W/types.in" <<EOF
$HELLO
batch
create root tdir $TD 040755 0 0
create root tlink $TL 0120777 0 0 0 target
data $TD 0 x
data $TL 0 x
truncate $TD 0
punch $TL 0 1
end
EOF
case_run types
expect_line types '^ACK 1 ops=6 failures=4$'
expect_line types '^FAIL 2 EISDIR .*not a regular file'
expect_line types '^FAIL 3 EINVAL .*not a regular file'
expect_line types '^FAIL 4 EISDIR '
expect_line types '^FAIL 5 EINVAL '
expect_line types '^EXIT 0$'
[ -d "$B/tdir" ] && [ "$(readlink "$B/tlink")" = target ] || gr_fail "type case damaged its entries"

# 10. Idle timeout: a sender that says nothing after HELLO. (This receiver
#    finds its volfile through the local glusterd's socket, as it does when
#    georepd starts it over SSH without --volfile-server.)
printf '%s\nawait 1\nsleep 6000\n' "$HELLO" >"$W/idle.in"
GEOREP_GLUSTERD_SOCK="$(gr_node_sock 1)" gr_ns "$CLIENT" "$W/idle.in" -- "$RECEIVER" --volume sv \
  --log-file "$W/idle.log" --idle-timeout 2 >"$W/idle.out" || gr_fail "receiver_client failed (idle)"
expect_line idle '^ERROR IDLE_TIMEOUT '
expect_line idle '^EXIT 5$'

# 11. The secondary volume stopped: VOLUME_UNAVAILABLE naming the fix, exit 4.
gr_gluster 1 volume stop sv >/dev/null || gr_fail "volume stop sv failed"
echo "$HELLO" >"$W/stopped.in"
case_run stopped
expect_line stopped '^ERROR VOLUME_UNAVAILABLE .*volume status sv'
expect_line stopped '^EXIT 4$'

echo "receiver_hostile: 1 passed, 0 failed"

#!/usr/bin/env bash
# The translator records every fop type, exactly, in order: a 2-brick
# distribute volume with georep loaded, every change driven through a FUSE
# mount (and the fd-only fops through libgfapi), then each brick's journal
# read back with `georep-journal dump --json` and compared record by record.
source "$(dirname "$0")/lib/cluster.sh"
source "$(dirname "$0")/xlator_lib.sh"

GFAPI_OPS="$GEOREP_BUILD_DIR/tests/integration/xlator_gfapi_ops"
xl_require_tools
[ -x "$GFAPI_OPS" ] || gr_fail "helper not built: $GFAPI_OPS"

gr_cluster_up 1
gr_volume_create xv "1:b1 1:b2"
# Client-side caching would merge, delay or reorder what reaches the bricks;
# the test compares the journal with exactly what it did.
for opt in performance.write-behind performance.open-behind performance.quick-read \
  performance.io-cache performance.read-ahead; do
  gr_gluster 1 volume set xv "$opt" off >/dev/null || gr_fail "volume set $opt off failed"
done
gr_enable_xlator xv
B1=$(gr_brick_path 1 b1)
B2=$(gr_brick_path 1 b2)
# Not as $(gr_mount ...): the mount must be registered for teardown.
m="$GR_DIR/mnt/xv"
gr_mount xv "$m" >/dev/null

umask 022
(
  set -e
  cd "$m"
  : >f                                                      # create
  dd if=/dev/zero of=f bs=4096 count=2 seek=1 conv=notrunc status=none  # 2 writes
  truncate -s 100 f                                         # ftruncate
  echo x >f                                                 # open(O_TRUNC) + write
  fallocate -l 65536 f                                      # fallocate
  fallocate -n -o 65536 -l 4096 f                           # fallocate KEEP_SIZE
  fallocate -p -o 4096 -l 4096 f                            # punch hole = discard
  chmod 600 f                                               # setattr mode
  chown 1234:5678 f                                         # setattr uid/gid
  touch -d @1234567.5 f                                     # setattr times
  setfattr -n user.color -v red f                           # setxattr
  setfattr -x user.color f                                  # removexattr
  mkdir d                                                   # mkdir
  ln -s ../target d/sl                                      # symlink
  ln f d/hl                                                 # link
  mkfifo d/fifo                                             # mknod
  mv d/hl d/hl2                                             # rename (file)
  mv d d2                                                   # rename (directory)
  rm d2/hl2                                                 # unlink
  mkdir d3
) || gr_fail "a file operation through the FUSE mount failed"
D3=$(xl_gfid "$B1/d3") || gr_fail "cannot read the gfid of d3"
rmdir "$m/d3" || gr_fail "rmdir through FUSE failed"                 # rmdir
gr_ns "$GFAPI_OPS" xv "$(gr_node_ip 1)" /g || gr_fail "gfapi operations failed"

# Which brick holds each file (DHT places it by name hash). A DHT link-to
# file (mode ---------T) is a pointer, not the file.
brick_of() {
  local rel=$1 b
  for b in "$B1" "$B2"; do
    if [ -e "$b/$rel" ] || [ -L "$b/$rel" ]; then
      [ "$(stat -c %A "$b/$rel")" = "---------T" ] && continue
      echo "$b"; return
    fi
  done
  gr_log "no brick holds $rel"
  return 1
}
other_brick() { if [ "$1" = "$B1" ]; then echo "$B2"; else echo "$B1"; fi; }

BF=$(brick_of f) && F=$(xl_gfid "$BF/f") &&
  D=$(xl_gfid "$B1/d2") &&
  BS=$(brick_of d2/sl) && S=$(xl_gfid "$BS/d2/sl") &&
  BP=$(brick_of d2/fifo) && P=$(xl_gfid "$BP/d2/fifo") &&
  BG=$(brick_of g) && G=$(xl_gfid "$BG/g") ||
  gr_fail "cannot locate the test's files on the bricks"
LABELS=$(printf '{"%s":"d","%s":"d3"}' "$D" "$D3")

# (Times stay below 1e17 ns: jq prints larger numbers in floating point.)
REG=$((8#100000)); DIR=$((8#40000)); FIFO=$((8#10000))
xl_expect "file f (through FUSE)" "$(xl_records "$BF" "$F" "$LABELS")" "\
CREATE /f mode=$((REG | 8#644)) uid=0 gid=0
WRITE 4096+4096 flags=1
WRITE 8192+4096 flags=1
TRUNCATE 100 flags=1
TRUNCATE 0
WRITE 0+2 flags=1
FALLOCATE 0+65536 flags=1
FALLOCATE 65536+4096 aux=1 flags=1
DISCARD 4096+4096 flags=1
SETATTR mask=1 mode=$((REG | 8#600))
SETATTR mask=6 uid=1234 gid=5678
SETATTR mask=48 atime=1234567500000000 mtime=1234567500000000
SETXATTR user.color
REMOVEXATTR user.color
LINK d/hl mode=$((REG | 8#600)) uid=1234 gid=5678
RENAME d/hl d/hl2
UNLINK d/hl2"
xl_expect "file f on the other brick" "$(xl_records "$(other_brick "$BF")" "$F" "$LABELS")" ""

for b in "$B1" "$B2"; do
  xl_expect "directory d on $(basename "$b")" "$(xl_records "$b" "$D" "$LABELS")" "\
MKDIR /d mode=$((DIR | 8#755)) uid=0 gid=0
RENAME /d /d2"
  xl_expect "directory d3 on $(basename "$b")" "$(xl_records "$b" "$D3" "$LABELS")" "\
MKDIR /d3 mode=$((DIR | 8#755)) uid=0 gid=0
RMDIR /d3"
done

xl_expect "symlink d/sl" "$(xl_records "$BS" "$S" "$LABELS")" "SYMLINK d/sl -> ../target"
xl_expect "fifo d/fifo" "$(xl_records "$BP" "$P" "$LABELS")" \
  "MKNOD d/fifo mode=$((FIFO | 8#644)) uid=0 gid=0"

xl_expect "file g (through gfapi)" "$(xl_records "$BG" "$G" "$LABELS")" "\
CREATE /g mode=$((REG | 8#644)) uid=0 gid=0
ZEROFILL 0+4096 flags=1
SETXATTR user.k flags=1
REMOVEXATTR user.k flags=1
SETATTR mask=1 mode=$((REG | 8#640)) flags=1
TRUNCATE 10 flags=1"

# Sequence numbers are strictly increasing on each brick, starting at 1.
for b in "$B1" "$B2"; do
  xl_journal_json "$b" | jq -s -e '(map(.seq) | . == (sort | unique)) and .[0].seq == 1' >/dev/null ||
    gr_fail "sequence numbers of $b are not 1, 2, 3, ..."
done

echo "1 passed, 0 failed"

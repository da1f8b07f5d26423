#!/usr/bin/env bash
# georep-verify against two real volumes: a tree mirrored by hand onto the
# secondary with the same GFIDs is reported identical (exit 0); then single
# differences of each kind are introduced and each is reported (exit 1).
source "$(dirname "$0")/lib/cluster.sh"
source "$(dirname "$0")/verify_lib.sh"

gr_cluster_up 1
gr_volume_create pv "1:p1 1:p2"   # distribute over two bricks: DHT in the path
gr_volume_create sv "1:s1"
pm="$GR_DIR/mnt/pv"
sm="$GR_DIR/mnt/sv"
vt_mount pv "$pm" --acl
vt_mount sv "$sm" --acl
vt_mount sv "$GR_DIR/mnt/sv-aux" --aux-gfid-mount --client-pid=-1

# ---- a tree with one of everything -------------------------------------------
mkdir -p "$pm/d1/d2" "$pm/empty" "$pm/many"
echo hello >"$pm/d1/f1"
head -c $((5 * 1024 * 1024 + 123)) /dev/urandom >"$pm/d1/big"   # two content blocks
# One block, but above the 256 KiB whose content a LOOKUP carries: read by
# its own READ right after its details.
head -c $((300 * 1024 + 5)) /dev/urandom >"$pm/d1/medium"
: >"$pm/d1/zero"
ln -s ../f1 "$pm/d1/d2/link"
ln "$pm/d1/f1" "$pm/d1/d2/hard"
mkfifo "$pm/d1/fifo"
echo x >"$pm/d1/owned" && chown 1000:2000 "$pm/d1/owned" && chmod 0640 "$pm/d1/owned"
echo secret >"$pm/d1/setid" && chmod 4750 "$pm/d1/setid"
setfattr -n user.color -v blue "$pm/d1/f1"
setfattr -n user.bin -v 0x00ff10 "$pm/d1/d2"
setfacl -m u:1234:r "$pm/d1/owned"
setfacl -d -m g:55:rx "$pm/d1/d2"
for i in $(seq 1 20); do echo "file $i" >"$pm/many/f$i"; done
touch -h -d '2020-01-02 03:04:05.123456789' "$pm/d1/d2/link" "$pm/d1/zero"
vt_mirror "$pm" "$sm" "$GR_DIR/mnt/sv-aux"

# ---- identical ----------------------------------------------------------------
vt_expect 0 '^identical' pv "$(gr_node_ip 1)::sv" --primary-server "$(gr_node_ip 1)"
vt_expect 0 '^identical' --primary pv --primary-server "$(gr_node_ip 1)" \
  --secondary sv --secondary-server "$(gr_node_ip 1)" --dir-mtime --threads 2
grep -q 'content compared' <<<"$VT_OUT" || gr_fail "content was not compared: $VT_OUT"
V=(--primary pv --primary-server "$(gr_node_ip 1)" --secondary sv --secondary-server "$(gr_node_ip 1)")

# ---- one difference at a time: break, expect, repair, expect identical ---------
# vt_case NAME PATTERN BREAK REPAIR [extra verify args]
vt_case() {
  local name=$1 pattern=$2 break_cmd=$3 repair_cmd=$4
  shift 4
  eval "$break_cmd" || gr_fail "$name: could not introduce the difference"
  vt_expect 1 "$pattern" "${V[@]}" "$@"
  eval "$repair_cmd" || gr_fail "$name: could not repair"
  vt_expect 0 '^identical' "${V[@]}" "$@"
  gr_log "ok: $name"
}
keep_mtime() { touch -h -r "$pm/$1" "$sm/$1"; }
# flip_byte FILE OFFSET: replaces one byte by its complement (always a change).
flip_byte() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf %o $((255 - b)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

vt_case content '^/d1/f1: content differs' \
  'printf HELLO | dd of="$sm/d1/f1" conv=notrunc status=none && keep_mtime d1/f1' \
  'printf hello | dd of="$sm/d1/f1" conv=notrunc status=none && keep_mtime d1/f1'
vt_case content-second-block '^/d1/big: content differs' \
  'printf Z | dd of="$sm/d1/big" bs=1 seek=$((5*1024*1024)) conv=notrunc status=none && keep_mtime d1/big' \
  'dd if="$pm/d1/big" of="$sm/d1/big" bs=1 skip=$((5*1024*1024)) seek=$((5*1024*1024)) count=1 conv=notrunc status=none && keep_mtime d1/big'
vt_case content-medium-file '^/d1/medium: content differs' \
  'flip_byte "$sm/d1/medium" $((300*1024+4)) && keep_mtime d1/medium' \
  'dd if="$pm/d1/medium" of="$sm/d1/medium" bs=1 skip=$((300*1024+4)) seek=$((300*1024+4)) count=1 conv=notrunc status=none && keep_mtime d1/medium'
vt_case size '^/d1/f1: size differs: primary 6, secondary 3' \
  'truncate -s 3 "$sm/d1/f1" && keep_mtime d1/f1' \
  'cat "$pm/d1/f1" >"$sm/d1/f1" && keep_mtime d1/f1'
vt_case mode '^/d1/owned: mode differs: primary 0640, secondary 0600' \
  'chmod 0600 "$sm/d1/owned"' 'chmod 0640 "$sm/d1/owned"'
vt_case setid-bits '^/d1/setid: mode differs: primary 4750, secondary 0750' \
  'chmod 0750 "$sm/d1/setid"' 'chmod 4750 "$sm/d1/setid"'
vt_case uid '^/d1/owned: uid differs: primary 1000, secondary 4321' \
  'chown -h 4321 "$sm/d1/owned"' 'chown -h 1000 "$sm/d1/owned"'
vt_case gid '^/d1/owned: gid differs: primary 2000, secondary 4321' \
  'chgrp -h 4321 "$sm/d1/owned"' 'chgrp -h 2000 "$sm/d1/owned"'
vt_case mtime '^/d1/zero: mtime differs: primary 2020-01-02T03:04:05\.123456789Z, secondary 2001-' \
  'touch -d "2001-01-01" "$sm/d1/zero"' 'keep_mtime d1/zero'
vt_case symlink-mtime '^/d1/d2/link: mtime differs' \
  'touch -h -d "2001-01-01" "$sm/d1/d2/link"' 'keep_mtime d1/d2/link'
vt_case xattr-value '^/d1/f1: xattr user.color differs: primary "blue", secondary "red"' \
  'setfattr -n user.color -v red "$sm/d1/f1"' 'setfattr -n user.color -v blue "$sm/d1/f1"'
vt_case xattr-absent '^/d1/f1: xattr user.color differs: primary "blue", secondary \(absent\)' \
  'setfattr -x user.color "$sm/d1/f1"' 'setfattr -n user.color -v blue "$sm/d1/f1"'
vt_case xattr-extra '^/d1/zero: xattr user.new differs: primary \(absent\), secondary "1"' \
  'setfattr -n user.new -v 1 "$sm/d1/zero"' 'setfattr -x user.new "$sm/d1/zero"'
vt_case xattr-binary '^/d1/d2: xattr user.bin differs: primary 0x00ff10, secondary 0x00ff11' \
  'setfattr -n user.bin -v 0x00ff11 "$sm/d1/d2"' 'setfattr -n user.bin -v 0x00ff10 "$sm/d1/d2"'
vt_case acl '^/d1/owned: xattr system.posix_acl_access differs: primary user::rw-,user:1234:r--,.*secondary user::rw-,user:1234:rw-' \
  'setfacl -m u:1234:rw "$sm/d1/owned"' 'setfacl -m u:1234:r "$sm/d1/owned" && setfacl -m m::r "$sm/d1/owned"'
vt_case default-acl '^/d1/d2: xattr system.posix_acl_default differs' \
  'setfacl -d -m g:55:r "$sm/d1/d2"' 'setfacl -d -m g:55:rx "$sm/d1/d2"'
vt_case extra-file '^/d1/extra: extra on secondary \(file\)' \
  'echo 1 >"$sm/d1/extra"' 'rm "$sm/d1/extra" && keep_mtime d1'
vt_case renamed-dir '^/many: missing on secondary \(directory, with 20 entries below it\)' \
  'mv "$sm/many" "$sm/many2"' 'mv "$sm/many2" "$sm/many" && keep_mtime .'
vt_case path-missing-on-secondary '^/many: missing on secondary \(directory, with 20 entries below it\)' \
  'mv "$sm/many" "$sm/many2"' 'mv "$sm/many2" "$sm/many" && keep_mtime .' --path /many
vt_case dir-mtime-when-asked '^/d1: mtime differs' \
  'touch -d "2001-01-01" "$sm/d1"' 'keep_mtime d1' --dir-mtime

# Directory mtimes are ignored by default.
touch -d "2001-01-01" "$sm/d1"
vt_expect 0 '^identical' "${V[@]}"
keep_mtime d1

# --no-content does not read data: a same-size content change goes unseen.
printf HELLO | dd of="$sm/d1/f1" conv=notrunc status=none && keep_mtime d1/f1
vt_expect 0 'content not compared' "${V[@]}" --no-content
vt_expect 1 '^/d1/f1: content differs' "${V[@]}"
grep -q '^/d1/d2/hard: content differs' <<<"$VT_OUT" || gr_fail "the hard link's content difference is not reported"
printf hello | dd of="$sm/d1/f1" conv=notrunc status=none && keep_mtime d1/f1

# --path limits the comparison to a subtree.
echo 1 >"$sm/many/extra"
vt_expect 0 '^identical' "${V[@]}" --path /d1
vt_expect 1 '^/many/extra: extra on secondary' "${V[@]}" --path /many/
rm "$sm/many/extra"

# JSON output parses and carries the differences.
setfattr -n user.color -v red "$sm/d1/f1"
vt_expect 1 '' "${V[@]}" --json
python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert d["result"]=="different", d; assert "/d1/f1" in [x["path"] for x in d["differences"]], d' <<<"$VT_OUT" ||
  gr_fail "JSON output is wrong: $VT_OUT"
vt_expect 1 '' "${V[@]}" --quiet
[ -z "$VT_OUT" ] || gr_fail "--quiet printed: $VT_OUT"
setfattr -n user.color -v blue "$sm/d1/f1"

# ---- manifests ----------------------------------------------------------------
gr_ns "$VT_VERIFY" --gfapi-log "$GR_DIR/n1/log/verify.log" --manifest-only --primary sv \
  --primary-server "$(gr_node_ip 1)" >"$GR_DIR/sv.manifest" || gr_fail "--manifest-only failed"
head -1 "$GR_DIR/sv.manifest" | grep -q '^georep-manifest 1 volume=sv root=/ content=1' ||
  gr_fail "bad manifest header: $(head -1 "$GR_DIR/sv.manifest")"
vt_expect 0 '^identical' --primary pv --primary-server "$(gr_node_ip 1)" --secondary-manifest "$GR_DIR/sv.manifest"
# Through a pipe, as over SSH from the secondary's site.
gr_ns "$VT_VERIFY" --gfapi-log "$GR_DIR/n1/log/verify.log" --manifest-only --primary sv \
  --primary-server "$(gr_node_ip 1)" |
  gr_ns "$VT_VERIFY" --gfapi-log "$GR_DIR/n1/log/verify.log" --primary pv \
    --primary-server "$(gr_node_ip 1)" --secondary-manifest - >/dev/null ||
  gr_fail "a manifest piped on stdin was not found identical"
sed -i 's#^\(f /d1/owned .*\) uid=1000 #\1 uid=7 #' "$GR_DIR/sv.manifest"
vt_expect 1 '^/d1/owned: uid differs: primary 1000, secondary 7' --primary pv \
  --primary-server "$(gr_node_ip 1)" --secondary-manifest "$GR_DIR/sv.manifest"

# ---- --wait-until-equal ----------------------------------------------------------
truncate -s 1 "$sm/d1/f1"
( sleep 1.5; cat "$pm/d1/f1" >"$sm/d1/f1"; touch -h -r "$pm/d1/f1" "$sm/d1/f1" ) &
fixer=$!
vt_expect 0 '^identical after [0-9.]+ s \([0-9]+ full pass' "${V[@]}" --wait-until-equal 20
wait "$fixer"
truncate -s 1 "$sm/d1/f1"
vt_expect 1 '^still different after' "${V[@]}" --wait-until-equal 0.5
cat "$pm/d1/f1" >"$sm/d1/f1" && keep_mtime d1/f1

# ---- destructive cases last: they change GFIDs that cannot be restored ----------
# A hard link broken into two files: group and GFID differ.
cp -p "$sm/d1/d2/hard" "$sm/d1/d2/hard.tmp" && mv "$sm/d1/d2/hard.tmp" "$sm/d1/d2/hard"
vt_expect 1 '^/d1/d2/hard: hard links differ: on primary linked with /d1/f1, on secondary with no other path' "${V[@]}"
grep -q '^/d1/d2/hard: gfid differs' <<<"$VT_OUT" || gr_fail "GFID difference not reported: $VT_OUT"
vt_expect 1 '^/d1/d2/hard: hard links differ' "${V[@]}" --ignore-gfid
grep -q 'gfid differs' <<<"$VT_OUT" && gr_fail "--ignore-gfid still reports GFIDs: $VT_OUT"
# Relinking on the secondary fails with EEXIST here (GlusterFS keeps the old
# name's handle), so the link goes on both sides instead.
rm "$sm/d1/d2/hard" "$pm/d1/d2/hard"
vt_expect 0 '^identical' "${V[@]}"

# A symlink pointing elsewhere (recreated: its GFID differs too).
ln -sfn ../elsewhere "$sm/d1/d2/link" && keep_mtime d1/d2/link
vt_expect 1 '^/d1/d2/link: symlink target differs: primary "../f1", secondary "../elsewhere"' "${V[@]}"
vt_expect 1 '' "${V[@]}" --ignore-gfid
[ "$(grep -c . <<<"$VT_OUT")" = 2 ] || gr_fail "expected exactly one difference with --ignore-gfid: $VT_OUT"

# A file that became a directory: the subtree folds into the type line.
rm "$sm/d1/zero" && mkdir "$sm/d1/zero" && touch "$sm/d1/zero/a" "$sm/d1/zero/b"
vt_expect 1 '^/d1/zero: type differs: primary file, secondary directory \(with 2 entries below it not compared\)' "${V[@]}"

# A missing file.
rm "$sm/d1/fifo"
vt_expect 1 '^/d1/fifo: missing on secondary \(fifo\)' "${V[@]}"

# ---- errors: exit 2 with the cause --------------------------------------------
vt_expect 2 'cannot connect to volume .nosuchvol.*gluster volume status nosuchvol' \
  --primary nosuchvol --primary-server "$(gr_node_ip 1)" --secondary sv --secondary-server "$(gr_node_ip 1)"
vt_expect 2 'look up ./nosuchdir.*--path' "${V[@]}" --path /nosuchdir
vt_expect 2 'the secondary must be written' pv sv
vt_expect 2 'unknown option' "${V[@]}" --frobnicate

# ---- a brick that does not answer is named, not mistaken for missing data ------
brick_pid=$(gr_brick_pid "$(gr_node_ip 1):$(gr_brick_path 1 p2)" pv)
[ -n "$brick_pid" ] || gr_fail "no pid for brick p2 of pv"
kill "$brick_pid"
GR_WAIT_S=20 gr_wait bash -c "! kill -0 $brick_pid" || gr_fail "brick p2 did not stop"
vt_expect 1 'warning: primary: 1 of 2 bricks of volume .pv.* did not answer' "${V[@]}"

echo "verify_basic: all cases passed"

# shellcheck shell=bash
# Helpers shared by the verify_*.sh integration tests (source after
# lib/cluster.sh): mounts with extra options, and a by-hand mirror of a tree
# onto a second volume that keeps every GFID, the way a geo-replication
# receiver does (gfid-access "glusterfs.gfid.newfile", GLUSTER-NOTES.md).

VT_VERIFY="$GEOREP_BUILD_DIR/sync/verify/georep-verify"
[ -x "$VT_VERIFY" ] || gr_fail "georep-verify not built: $VT_VERIFY (run: ninja -C $GEOREP_BUILD_DIR)"
command -v python3 >/dev/null || gr_fail "python3 not found (the mirror helper needs it)"
command -v setfacl >/dev/null || gr_fail "setfacl not found: apt-get install acl"
command -v setfattr >/dev/null || gr_fail "setfattr not found: apt-get install attr"

# vt_mount VOL DIR [glusterfs options...]: FUSE-mounts VOL at DIR. Not meant
# for $(...): the mount must be recorded in this shell for the teardown.
vt_mount() {
  local vol=$1 dir=$2
  shift 2
  mkdir -p "$dir"
  gr_ns glusterfs --volfile-server="$(gr_node_ip 1)" --volfile-id="$vol" \
    --log-file="$GR_DIR/n1/log/mnt-$vol-$(basename "$dir").log" "$@" "$dir" ||
    gr_fail "mount of $vol at $dir failed"
  GR_MOUNTS+=("$dir")
  gr_wait mountpoint -q "$dir" || gr_fail "mount of $vol at $dir never appeared"
}

# vt_verify ARGS...: runs georep-verify in the namespace; output in $VT_OUT,
# exit status in $VT_RC.
vt_verify() {
  VT_OUT=$(gr_ns "$VT_VERIFY" --gfapi-log "$GR_DIR/n1/log/verify.log" "$@" 2>&1)
  VT_RC=$?
}

# vt_expect RC PATTERN ARGS...: georep-verify ARGS must exit RC and print a
# line matching the extended regex PATTERN ("" = no check).
vt_expect() {
  local rc=$1 pattern=$2
  shift 2
  vt_verify "$@"
  if [ "$VT_RC" != "$rc" ] || { [ -n "$pattern" ] && ! grep -Eq -- "$pattern" <<<"$VT_OUT"; }; then
    gr_log "georep-verify $* exited $VT_RC (expected $rc); output:"
    printf '%s\n' "$VT_OUT" >&2
    gr_fail "expected exit $rc${pattern:+ and a line matching: $pattern}"
  fi
}

# vt_json_check [ARG...] <<'PY' ... PY: runs the Python assertions on stdin
# with `d`, the JSON report of the last vt_expect/vt_verify (run with
# --json), and `args`, the ARGs; fails the test, showing the report, when
# they raise.
vt_json_check() {
  local json code
  json=$(grep '^{' <<<"$VT_OUT")
  code=$(cat)
  python3 -c "import json, sys
d, args = json.loads(sys.argv[1]), sys.argv[2:]
$code" "$json" "$@" || gr_fail "unexpected JSON report${*:+ (with $*)}: $json"
}

# vt_mirror SRC_MOUNT DST_MOUNT DST_AUX_MOUNT: copies the tree under SRC_MOUNT
# onto the volume mounted at DST_MOUNT (plain, --acl) and DST_AUX_MOUNT (the
# same volume with --aux-gfid-mount --client-pid=-1, used only to create
# entries with chosen GFIDs: through it, default ACLs are silently not set),
# keeping GFIDs, owners, modes, xattrs, ACLs, hard links and mtimes (ns).
vt_mirror() {
  python3 - "$1" "$2" "$3" <<'PY' || gr_fail "mirroring $1 to $2 failed"
import errno, os, stat, struct, sys

src, dst, aux = sys.argv[1], sys.argv[2], sys.argv[3]
ROOT_GFID = "00000000-0000-0000-0000-000000000001"
COPIED = ("user.", "security.", "system.posix_acl_access", "system.posix_acl_default")

def gfid(path):
    if os.path.normpath(path) == os.path.normpath(src):
        return ROOT_GFID
    v = os.getxattr(path, "glusterfs.gfid.string", follow_symlinks=False)
    return v.rstrip(b"\0").decode()

def newfile(parent_gfid, name, st, g, target=None):
    blob = struct.pack(">II", st.st_uid, st.st_gid) + g.encode() + b"\0"
    blob += struct.pack(">I", st.st_mode) + name.encode() + b"\0"
    if stat.S_ISDIR(st.st_mode):
        blob += struct.pack(">II", st.st_mode, 0)
    elif stat.S_ISLNK(st.st_mode):
        blob += target.encode() + b"\0"
    else:
        blob += struct.pack(">III", st.st_mode, st.st_rdev, 0)
    os.setxattr(os.path.join(aux, ".gfid", parent_gfid), "glusterfs.gfid.newfile", blob)

entries = []  # (relative path, stat) in top-down order
for dirpath, dirnames, filenames in os.walk(src):
    dirnames.sort()
    rel_dir = os.path.relpath(dirpath, src)
    if rel_dir == ".":
        dirnames[:] = [d for d in dirnames if d not in (".trashcan",)]
    for name in dirnames + sorted(filenames):
        rel = os.path.normpath(os.path.join(rel_dir, name))
        entries.append((rel, os.lstat(os.path.join(src, rel))))

first_link = {}
for rel, st in entries:
    s, d = os.path.join(src, rel), os.path.join(dst, rel)
    g = gfid(s)
    if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1 and g in first_link:
        os.link(os.path.join(dst, first_link[g]), d)
        continue
    first_link[g] = rel
    target = os.readlink(s) if stat.S_ISLNK(st.st_mode) else None
    newfile(gfid(os.path.dirname(s)), os.path.basename(rel), st, g, target)
    if stat.S_ISREG(st.st_mode):
        with open(s, "rb") as fi, open(d, "r+b") as fo:
            while True:
                buf = fi.read(1 << 20)
                if not buf:
                    break
                fo.write(buf)

for rel, st in [(".", os.lstat(src))] + entries:
    s, d = os.path.join(src, rel), os.path.join(dst, rel)
    os.chown(d, st.st_uid, st.st_gid, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(d, stat.S_IMODE(st.st_mode))
    names = set(n for n in os.listxattr(s, follow_symlinks=False) if n.startswith(COPIED))
    # A FUSE listxattr need not list the ACL keys: ask for them by name.
    if not stat.S_ISLNK(st.st_mode):
        names.update(("system.posix_acl_access", "system.posix_acl_default"))
    for name in sorted(names):
        try:
            value = os.getxattr(s, name, follow_symlinks=False)
        except OSError as e:
            if e.errno in (errno.ENODATA, errno.EOPNOTSUPP):
                continue
            raise
        os.setxattr(d, name, value, follow_symlinks=False)

# mtimes last and bottom-up: creating and writing entries moves them.
for rel, st in reversed(entries + [(".", os.lstat(src))]):
    d = os.path.join(dst, rel)
    os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
PY
}

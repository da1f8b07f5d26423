# shellcheck shell=bash
# Helpers shared by the translator's integration tests (xlator_*.sh): read a
# brick's journal back with georep-journal and turn records into short lines
# that a test can compare with what it expects.
#
# Requires lib/cluster.sh to be sourced first (GEOREP_BUILD_DIR, gr_*).

XL_JOURNAL_TOOL="$GEOREP_BUILD_DIR/journal/georep-journal"
XL_ROOT_GFID=00000000-0000-0000-0000-000000000001

xl_require_tools() {
  command -v jq >/dev/null || gr_fail "jq not found (apt-get install jq): the test reads the journal as JSON"
  command -v getfattr >/dev/null || gr_fail "getfattr not found: run scripts/install-deps.sh (package attr)"
  [ -x "$XL_JOURNAL_TOOL" ] || gr_fail "georep-journal not built: $XL_JOURNAL_TOOL (run: ninja -C $GEOREP_BUILD_DIR)"
}

# All change records of a brick's journal, one JSON object per line, in
# journal order. Fails the test on a gap or damaged region: the journal of a
# healthy brick has neither.
xl_journal_json() {
  local brick=$1 out
  out=$("$XL_JOURNAL_TOOL" dump "$brick" --json) || gr_fail "georep-journal dump $brick failed"
  jq -e -s 'map(select(.event == "summary")) | .[0] | .gaps == 0 and .damaged_regions == 0' \
    <<<"$out" >/dev/null || gr_fail "journal of $brick has gaps or damage: $(grep summary <<<"$out")"
  jq -c 'select(has("seq"))' <<<"$out"
}

# The gfid of a file on a brick, from its trusted.gfid xattr.
xl_gfid() {
  local hex
  # -h: a symlink's own gfid, not its target's.
  hex=$(getfattr -h -n trusted.gfid -e hex "$1" 2>/dev/null | sed -n 's/^trusted.gfid=0x//p')
  # Called as $(xl_gfid ...): gr_fail would only leave the subshell, so the
  # caller checks for an empty result.
  [ ${#hex} = 32 ] || { gr_log "no trusted.gfid on $1"; return 1; }
  echo "${hex:0:8}-${hex:8:4}-${hex:12:4}-${hex:16:4}-${hex:20:12}"
}

# xl_records BRICK GFID LABELS_JSON: one line per record of GFID on BRICK,
# leaving out DHT bookkeeping (flag 2) and internal-xattr records (flag 4),
# which are GlusterFS's own and not what the test drove. LABELS_JSON maps
# gfids to short names used for parent directories ({"<gfid>": "d"}); the
# root directory prints as "".
xl_records() {
  local brick=$1 gfid=$2 labels=${3:-'{}'}
  xl_journal_json "$brick" | jq -r --arg g "$gfid" --arg root "$XL_ROOT_GFID" --argjson lbl "$labels" '
    def L: if . == $root then "" else ($lbl[.] // .) end;
    def fl: (if .flags == 0 then "" else " flags=\(.flags)" end)
          + (if .origin == "client" then "" else " origin=\(.origin)" end);
    select(.gfid == $g and ((.flags / 2 | floor) % 4) == 0) |
    if .op == "WRITE" or .op == "FALLOCATE" or .op == "DISCARD" or .op == "ZEROFILL" then
      "\(.op) \(.offset)+\(.length)" + (if .aux != 0 then " aux=\(.aux)" else "" end) + fl
    elif .op == "TRUNCATE" then "TRUNCATE \(.offset)" + fl
    elif .op == "SETATTR" then
      "SETATTR mask=\(.attr_mask)"
      + (if (.attr_mask % 2) == 1 then " mode=\(.mode)" else "" end)
      + (if ((.attr_mask / 2 | floor) % 4) != 0 then " uid=\(.uid) gid=\(.gid)" else "" end)
      + (if ((.attr_mask / 16 | floor) % 4) != 0 then " atime=\(.atime_ns) mtime=\(.mtime_ns)" else "" end)
      + fl
    elif .op == "SETXATTR" or .op == "REMOVEXATTR" then "\(.op) \(.xattr_names | join(","))" + fl
    elif .op == "RENAME" then "RENAME \(.pargfid | L)/\(.name) \(.pargfid2 | L)/\(.name2)" + fl
    elif .op == "SYMLINK" then "SYMLINK \(.pargfid | L)/\(.name) -> \(.target)" + fl
    elif .op == "UNLINK" or .op == "RMDIR" then "\(.op) \(.pargfid | L)/\(.name)" + fl
    else "\(.op) \(.pargfid | L)/\(.name) mode=\(.mode) uid=\(.uid) gid=\(.gid)" + fl
    end'
}

# xl_expect WHAT ACTUAL EXPECTED: fails with both listings when they differ.
xl_expect() {
  local what=$1 actual=$2 expected=$3
  if [ "$actual" != "$expected" ]; then
    gr_log "journal records of $what differ from what the test did"
    diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | sed 's/^/    /' >&2
    gr_fail "unexpected journal records for $what (- expected, + journal)"
  fi
  gr_log "ok: $what ($(printf '%s\n' "$actual" | grep -c .) record(s))"
}

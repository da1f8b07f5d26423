#!/usr/bin/env bash
# What the georep translator costs a client, against the same volume without
# it and against GlusterFS's own changelog, all measured in this one run:
#   (a) plain volume, (b) user.xlator.georep loaded, (c) changelog.changelog on
# through one FUSE mount of a single-brick volume, for
#   - small-file creates/s (create + one 4 KiB write + close per file)
#   - sequential write MB/s (1 MiB blocks, flushed with fdatasync)
# The machine is shared and its load swings by several times within seconds,
# so measurements are short and paired: in each round the small files are
# written SLICE at a time with the three configurations interleaved slice by
# slice, and the three sequential writes run back to back in a rotating order;
# each round yields one ratio per configuration against plain, and the report
# gives the median of those ratios over ROUNDS rounds, besides the median
# absolute rates and the bricks' CPU time per operation. Targets: georep overhead <= 5%, and no worse than changelog.
#
# Usage: bench/journal_overhead.sh   (as root; GEOREP_BUILD_DIR = meson build dir)
# Tunables (environment): FILES per measurement (default 200), WRITE_MB per
# measurement (default 64), ROUNDS (default 12), JOURNAL_FSYNC (the
# translator's journal-fsync: never|interval|always, default interval),
# CALIBRATE=1 (no translator, no changelog anywhere: shows the noise floor).
source "$(dirname "$0")/../tests/integration/lib/cluster.sh"

FILES=${FILES:-200}
WRITE_MB=${WRITE_MB:-64}
ROUNDS=${ROUNDS:-12}
JOURNAL_FSYNC=${JOURNAL_FSYNC:-interval}   # the translator's journal-fsync option
FILE_BYTES=4096

# One volume per configuration, each with its own brick on the same file
# system, all mounted at once: the measurements can then be interleaved
# without restarting anything between them.
setup_volume() {
  local cfg=$1 vol="bv_$1" vf
  gr_volume_create "$vol" "1:$vol"
  # CALIBRATE=1: all three volumes plain, to see how far apart identical
  # configurations land on this machine (the noise floor of the ratios).
  [ "${CALIBRATE:-0}" = 1 ] && cfg=calibrate-$cfg
  case $cfg in
    georep)
      gr_gluster 1 volume set "$vol" user.xlator.georep.journal-fsync "$JOURNAL_FSYNC" >/dev/null ||
        gr_fail "setting journal-fsync failed"
      gr_enable_xlator "$vol" ;;
    changelog)
      gr_gluster 1 volume set "$vol" changelog.changelog on >/dev/null || gr_fail "changelog on failed" ;;
  esac
  cfg=${cfg#calibrate-}
  # The translator must be in the brick graph exactly where asked for.
  vf=$(cat "$GR_DIR"/n1/glusterd/vols/"$vol"/"$vol".*.vol)
  if [ "$cfg" = georep ] && [ "${CALIBRATE:-0}" != 1 ]; then
    grep -q "type user/georep" <<<"$vf" || gr_fail "georep is not in the brick graph of $vol"
  else
    ! grep -q "type user/georep" <<<"$vf" || gr_fail "georep is in the brick graph of $vol"
  fi
  # (Not through $(...): gr_mount must register the mount for teardown.)
  MNT[$cfg]="$GR_DIR/mnt/$vol"
  gr_mount "$vol" "${MNT[$cfg]}" >/dev/null
  BPID[$cfg]=$(gr_brick_pid "$(gr_node_ip 1):$(gr_brick_path 1 "$vol")" "$vol")
  [ -n "${BPID[$cfg]}" ] || gr_fail "no brick pid for $vol"
}

# CPU time (user + system, in clock ticks) the brick process of CFG has used:
# far steadier than wall-clock rates on a loaded machine, and it is where the
# translator's cost lands.
brick_ticks() { awk '{ print $14 + $15 }' "/proc/${BPID[$1]}/stat"; }

# Microseconds since the epoch, without forking (bash 5).
now_us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }

# small_files_round R: creates FILES files of FILE_BYTES in a fresh directory
# of each configuration's mount, SLICE files at a time with the three
# configurations interleaved slice by slice, so that the load swings of the
# machine fall on all three alike. Sets SF_RATE[cfg] (files/s) for the round.
SLICE=${SLICE:-20}
small_files_round() {
  local r=$1 cfg c k i t0 t1 block
  declare -gA SF_RATE=()
  local -A us=() dir=()
  block=$(head -c "$FILE_BYTES" /dev/zero | tr '\0' x)
  for cfg in "${CFGS[@]}"; do
    dir[$cfg]="${MNT[$cfg]}/small.$r"
    mkdir "${dir[$cfg]}" || gr_fail "mkdir ${dir[$cfg]} failed"
    us[$cfg]=0
  done
  for ((k = 0; k < FILES / SLICE; k++)); do
    for ((c = 0; c < 3; c++)); do
      cfg=${CFGS[(k + c) % 3]}
      t0=$(now_us)
      for ((i = k * SLICE; i < (k + 1) * SLICE; i++)); do
        printf '%s' "$block" >"${dir[$cfg]}/f$i" || gr_fail "writing ${dir[$cfg]}/f$i failed"
      done
      t1=$(now_us)
      us[$cfg]=$((us[$cfg] + t1 - t0))
    done
  done
  # The files stay until teardown: deleting and re-creating thousands of
  # files makes ext4's inode allocator (recently_deleted scans) dominate the
  # brick's CPU and differ from brick to brick.
  for cfg in "${CFGS[@]}"; do
    SF_RATE[$cfg]=$(((FILES / SLICE) * SLICE * 1000000 / us[$cfg]))
  done
}

# seq_write CFG: MB/s for writing WRITE_MB MiB in 1 MiB blocks, fdatasync
# included.
seq_write() {
  local f="${MNT[$1]}/big.$RANDOM" t0 t1
  t0=$(now_us)
  dd if=/dev/zero of="$f" bs=1M count="$WRITE_MB" conv=fdatasync status=none || gr_fail "dd failed"
  t1=$(now_us)
  rm -f "$f"
  echo $((WRITE_MB * 1000000 / (t1 - t0)))
}

gr_cluster_up 1
declare -A MNT BPID SMALL BIG RS RB CPU_S CPU_B
CFGS=(plain georep changelog)
for cfg in "${CFGS[@]}"; do setup_volume "$cfg"; done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b / a }'; }
for ((r = 0; r < ROUNDS; r++)); do
  declare -A s=() b=() t0=() t1=()
  for cfg in "${CFGS[@]}"; do t0[$cfg]=$(brick_ticks "$cfg"); done
  small_files_round "$r"
  for cfg in "${CFGS[@]}"; do
    t1[$cfg]=$(brick_ticks "$cfg")
    CPU_S[$cfg]=$((${CPU_S[$cfg]:-0} + t1[$cfg] - t0[$cfg]))
    s[$cfg]=${SF_RATE[$cfg]}
  done
  # Rotate the order every round so that no configuration always runs first.
  for ((c = 0; c < 3; c++)); do
    cfg=${CFGS[(r + c) % 3]}
    t0[$cfg]=$(brick_ticks "$cfg")
    b[$cfg]=$(seq_write "$cfg") || exit 1
    CPU_B[$cfg]=$((${CPU_B[$cfg]:-0} + $(brick_ticks "$cfg") - t0[$cfg]))
  done
  for cfg in "${CFGS[@]}"; do
    SMALL[$cfg]+="${s[$cfg]} "
    BIG[$cfg]+="${b[$cfg]} "
  done
  for cfg in georep changelog; do
    RS[$cfg]+="$(ratio "${s[plain]}" "${s[$cfg]}") "
    RB[$cfg]+="$(ratio "${b[plain]}" "${b[$cfg]}") "
  done
  gr_log "round $((r + 1)): creates/s plain ${s[plain]} georep ${s[georep]} changelog ${s[changelog]};" \
    "MB/s plain ${b[plain]} georep ${b[georep]} changelog ${b[changelog]}"
  unset s b t0 t1
done

med() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pct() { awk -v r="$1" 'BEGIN { printf "%.1f", (1 - r) * 100 }'; }
fmt() { awk -v r="$1" 'BEGIN { printf "%.3f", r }'; }

echo
echo "journal_overhead: single-brick volumes, FUSE, $ROUNDS paired rounds" \
  "($FILES x 4 KiB files and $WRITE_MB MiB per measurement), georep journal-fsync=$JOURNAL_FSYNC"
printf '%-34s %10s %10s %10s\n' "median" plain georep changelog
printf '%-34s %10.0f %10.0f %10.0f\n' "small files (creates/s)" \
  "$(med "${SMALL[plain]}")" "$(med "${SMALL[georep]}")" "$(med "${SMALL[changelog]}")"
printf '%-34s %10.0f %10.0f %10.0f\n' "sequential write 1 MiB blocks (MB/s)" \
  "$(med "${BIG[plain]}")" "$(med "${BIG[georep]}")" "$(med "${BIG[changelog]}")"
echo
for cfg in georep changelog; do
  rs=$(med "${RS[$cfg]}"); rb=$(med "${RB[$cfg]}")
  echo "$cfg / plain (median of per-round ratios): small files $(fmt "$rs") (overhead $(pct "$rs")%)," \
    "write $(fmt "$rb") (overhead $(pct "$rb")%)"
  eval "R_S_$cfg=$rs R_B_$cfg=$rb"
done
# Brick CPU per operation, summed over all rounds.
hz=$(getconf CLK_TCK)
cpu_us_per_file() { awk -v t="$1" -v hz="$hz" -v n="$((ROUNDS * FILES))" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }'; }
cpu_ms_per_mib() { awk -v t="$1" -v hz="$hz" -v n="$((ROUNDS * WRITE_MB))" 'BEGIN { printf "%.3f", t * 1e3 / hz / n }'; }
echo
printf '%-34s %10s %10s %10s\n' "brick CPU, all rounds" plain georep changelog
printf '%-34s %10s %10s %10s\n' "per small file (us)" "$(cpu_us_per_file "${CPU_S[plain]}")" \
  "$(cpu_us_per_file "${CPU_S[georep]}")" "$(cpu_us_per_file "${CPU_S[changelog]}")"
printf '%-34s %10s %10s %10s\n' "per MiB written (ms)" "$(cpu_ms_per_mib "${CPU_B[plain]}")" \
  "$(cpu_ms_per_mib "${CPU_B[georep]}")" "$(cpu_ms_per_mib "${CPU_B[changelog]}")"
for cfg in georep changelog; do
  echo "$cfg brick CPU / plain: small files $(ratio "${CPU_S[plain]}" "${CPU_S[$cfg]}"), write $(ratio "${CPU_B[plain]}" "${CPU_B[$cfg]}")"
done
echo
verdict() { awk -v r="$1" 'BEGIN { print (r >= 0.95) ? "met" : "NOT met" }'; }
better() { awk -v g="$1" -v c="$2" 'BEGIN { print (g >= c) ? "met" : "NOT met" }'; }
echo "target overhead <= 5% (wall clock): small files $(verdict "$R_S_georep"), write $(verdict "$R_B_georep")"
echo "target no worse than changelog (wall clock): small files $(better "$R_S_georep" "$R_S_changelog")," \
  "write $(better "$R_B_georep" "$R_B_changelog")"
# Brick CPU: plain/cfg, so that >= 0.95 means at most 5% more CPU.
cs_g=$(ratio "${CPU_S[georep]}" "${CPU_S[plain]}"); cb_g=$(ratio "${CPU_B[georep]}" "${CPU_B[plain]}")
cs_c=$(ratio "${CPU_S[changelog]}" "${CPU_S[plain]}"); cb_c=$(ratio "${CPU_B[changelog]}" "${CPU_B[plain]}")
echo "target overhead <= 5% (brick CPU): small files $(verdict "$cs_g"), write $(verdict "$cb_g")"
echo "target no worse than changelog (brick CPU): small files $(better "$cs_g" "$cs_c"), write $(better "$cb_g" "$cb_c")"
echo "(wall-clock ratios on a shared machine swing by +-15% between identical volumes: run with CALIBRATE=1 to see this run's floor)"

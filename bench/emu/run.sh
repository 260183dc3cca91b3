#!/usr/bin/env bash
# bench/emu/run.sh: the board emulator against the reference simulator
# (bench/README.md, "Emulator").
#
# For CUBA and COBA (examples/), 1 s and 10 s of biological time: `snnc sim` (the reference
# simulator, one thread and its default) and `snnc run` on the emulator (two threads, the
# network compiled for one SpiNN-5 board, spinn5, in memory first; the compile is timed
# apart with `snnc build`), each timed whole, the median of --repeat runs.  Prints wall time
# per simulated second, synaptic events per second of wall time, and the emulator's time over
# the simulator's.  The target (issue: firmware and emulator) is the emulator within 2x of the
# reference simulator's time, both host cores used.
#
# usage: bench/emu/run.sh [--quick] [--repeat N]
#   --quick     1 s runs only, one repeat
# environment: SNNC (default build/tools/snnc).
set -euo pipefail
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. bench/common.sh
bench_options "$self" "$@"
out=bench/out/emu
rm -rf "$out" && mkdir -p "$out"
if ((quick)); then durs=(1); else durs=(1 10); fi

# median of the wall times (s) of `repeat` runs of a command; its stderr kept in $out/$1.err
timed() {
  local label=$1; shift
  local ts=()
  for ((r = 0; r < repeat; r++)); do
    local t0=$EPOCHREALTIME
    "$@" > /dev/null 2> "$out/$label.err"
    local t1=$EPOCHREALTIME
    ts+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')")
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

printf '%-6s %5s  %12s %12s %12s  %14s %14s  %8s\n' network s "build s" "sim s" "emu s" \
  "sim events/s" "emu events/s" "emu/sim"
for net in cuba coba; do
  for dur in "${durs[@]}"; do
    steps=$((dur * 10000))
    tb=$(timed "$net-$dur-build" "$snnc" build "examples/$net.yaml" --target spinn5 -q -o "$out/$net.snnb")
    ts=$(timed "$net-$dur-sim" "$snnc" sim "examples/$net.yaml" --steps "$steps")
    te=$(timed "$net-$dur-emu" "$snnc" run "$out/$net.snnb" --steps "$steps")
    evs=$(sed -nE 's/.*synaptic events ([0-9]+) .*/\1/p' "$out/$net-$dur-sim.err")
    eve=$(sed -nE 's/.*synaptic events ([0-9]+) .*/\1/p' "$out/$net-$dur-emu.err")
    printf '%-6s %5s  %12s %12s %12s  %14.3g %14.3g  %8.2f\n' "$net" "$dur" "$tb" "$ts" "$te" \
      "$(awk -v e="$evs" -v t="$ts" 'BEGIN { print e / t }')" \
      "$(awk -v e="$eve" -v t="$te" 'BEGIN { print e / t }')" \
      "$(awk -v a="$te" -v b="$ts" 'BEGIN { print a / b }')"
  done
done
echo "(wall seconds of whole runs, median of $repeat; 'emu s' runs an image built beforehand, 'build s' that build)"

#!/usr/bin/env bash
# bench/sdt/run.sh: the sdt accelerator's RTL under Verilator (bench/README.md, "Accelerator").
#
# Three measurements, every run through `snnc run FILE --device rtl` on target sdt (16 lanes,
# the model the small transformer runs on), its figures read from the summary:
#   1. Verilator speed: examples/sdt_tiny.yaml (the small Spike-driven Transformer, T = 4),
#      the model's clock cycles per second of host time, median of --repeat runs; target at
#      least 1 million.
#   2. Lane utilisation by layer type: one graph per type (input -> the layer), input spikes
#      at density 0.25 (the layers' own firing in trained models is 10-35%); busy lane-cycles
#      over lanes x cycles, of the whole run and of the PE array's issued cycles; target at
#      least 80% on the dense layers (linear, conv).
#   3. Event-driven scaling: a 3x3 convolution, 64 -> 64 channels on 16 x 16, swept over input
#      densities from 1% to 100%: cycles, cycles per input event.
# The graphs are written to bench/out/sdt/ (replaced on each run) with each run's summary.
#
# usage: bench/sdt/run.sh [--quick] [--repeat N]
#   --quick     one run for the speed, fewer densities
# environment: SNNC (default build/tools/snnc, built with Verilator: scripts/bootstrap).
set -euo pipefail
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. bench/common.sh
bench_options "$self" "$@"
out=bench/out/sdt
rm -rf "$out" && mkdir -p "$out"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "verilator: $(verilator --version 2>/dev/null || echo '?')"
} > "$out/machine.txt"
cat "$out/machine.txt"

# run LABEL FILE: one `snnc run` on the RTL; its summary in $out/LABEL.txt.
run() {
  "$snnc" run "$2" --device rtl --target sdt > /dev/null 2> "$out/$1.txt" ||
    { cat "$out/$1.txt" >&2; echo "run.sh: $2 failed" >&2; exit 1; }
}
# field LABEL REGEX [REPLACEMENT]: REGEX (sed -E) replaced by REPLACEMENT (default: its first
# capture) on the first line of the summary it matches.
field() { sed -nE "s|$2|${3:-\1}|p" "$out/$1.txt" | head -1; }

# graph NAME INPUT-LINE LAYER-LINES...: a layer graph, T = 4, seed 1, output the last layer.
graph() {
  local name=$1 input=$2; shift 2
  local last
  {
    echo "snn: 1"
    echo "name: $name"
    echo "seed: 1"
    echo "layers:"
    echo "  timesteps: 4"
    for l in "$@"; do last=$l; done
    last=${last#*name: }; last=${last%%,*}
    echo "  output: $last"
    echo "  nodes:"
    echo "    - $input"
    for l in "$@"; do echo "    - $l"; done
  } > "$out/$name.yaml"
}

# ---- 1. Verilator speed --------------------------------------------------------------------
echo
echo "1. Verilator speed: examples/sdt_tiny.yaml on sdt (16 lanes), T = 4, median of $repeat"
rates=()
for ((r = 0; r < repeat; r++)); do
  run "speed-$r" examples/sdt_tiny.yaml
  rates+=("$(field "speed-$r" '.*model: ([0-9]+) cycles in ([0-9.]+) s.*' '\1 \2' |
    awk '{ printf "%.0f %s %s\n", $1 / $2, $1, $2 }')")
done
med=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }')
read -r rate mcyc msec <<< "$med"
cyc=$(field speed-0 '^  cycles ([0-9]+) .*')
printf '   %s machine cycles; the model clocked %s cycles (with the host bus) in %s s:\n' \
  "$cyc" "$mcyc" "$msec"
printf '   %.3g simulated cycles per second (target >= 1e6: %s); counting only the cycles\n' \
  "$rate" "$(awk -v r="$rate" 'BEGIN { print (r >= 1e6 ? "met" : "NOT met") }')"
printf '   the machine was busy, not the host bus'"'"'s: %.3g a second\n' \
  "$(awk -v c="$cyc" -v t="$msec" 'BEGIN { print c / t }')"

# ---- 2. lane utilisation by layer type ---------------------------------------------------
echo
echo "2. Lane utilisation by layer type (input spikes at density 0.25, T = 4, sdt: 16 lanes)"
w='generate: {lo: -0.5, hi: 0.5}'
sp='kind: spikes, generate: {density: 0.25}'
graph linear "{name: x, op: input, shape: [256, 64, 1], $sp}" \
  "{name: fc, op: conv, in: x, channels: 256, $w}"
graph conv3x3 "{name: x, op: input, shape: [64, 16, 16], $sp}" \
  "{name: conv, op: conv, in: x, channels: 64, kernel: 3, $w}"
graph conv3x3_s2 "{name: x, op: input, shape: [64, 16, 16], $sp}" \
  "{name: conv, op: conv, in: x, channels: 128, kernel: 3, stride: 2, $w}"
graph conv_int4 "{name: x, op: input, shape: [64, 16, 16], $sp}" \
  "{name: conv, op: conv, in: x, channels: 64, kernel: 3, bits: 4, $w}"
graph dwconv7x7 "{name: x, op: input, shape: [64, 16, 16], $sp}" \
  "{name: dw, op: conv, in: x, depthwise: true, kernel: 7, $w}"
graph stem_pixels "{name: x, op: input, shape: [3, 32, 32], kind: counts, generate: {}}" \
  "{name: stem, op: conv, in: x, channels: 32, kernel: 3, stride: 2, $w}"
graph lif "{name: x, op: input, shape: [64, 64, 1], $sp}" \
  "{name: fc, op: conv, in: x, channels: 64, $w}" \
  "{name: fc_lif, op: lif, in: fc}"
qkv=("{name: q, op: conv, in: x, channels: 64, $w, bias: 0.9}" "{name: q_lif, op: lif, in: q}"
     "{name: k, op: conv, in: x, channels: 64, $w, bias: 0.9}" "{name: k_lif, op: lif, in: k}"
     "{name: v, op: conv, in: x, channels: 64, $w, bias: 0.9}" "{name: v_lif, op: lif, in: v}")
graph sdsa1 "{name: x, op: input, shape: [64, 64, 1], $sp}" "${qkv[@]}" \
  "{name: attn, op: sdsa1, in: [q_lif, k_lif, v_lif]}"
graph sdsa2 "{name: x, op: input, shape: [64, 64, 1], $sp}" "${qkv[@]}" \
  "{name: attn, op: sdsa2, in: [q_lif, k_lif, v_lif], heads: 4, scale: 0.125}"
graph maxpool "{name: x, op: input, shape: [64, 32, 32], $sp}" \
  "{name: pool, op: maxpool, in: x}"
graph sumpool "{name: x, op: input, shape: [64, 16, 16], $sp}" \
  "{name: pool, op: sumpool, in: x, mean: true}"
printf '   %-12s %-10s %12s %10s %10s  %s\n' graph dense cycles "lanes/all" "lanes/PE" "program"
for g in linear conv3x3 conv3x3_s2 conv_int4 dwconv7x7 stem_pixels lif sdsa1 sdsa2 maxpool sumpool; do
  run "$g" "$out/$g.yaml"
  case $g in linear|conv3x3|conv3x3_s2|conv_int4) dense=yes ;; *) dense=no ;; esac
  prog=$("$snnc" build "$out/$g.yaml" --target sdt -o "$out/$g.snnb" -q 2>/dev/null &&
    "$snnc" inspect "$out/$g.snnb" | sed -nE 's/^program: [0-9]+ descriptors \((.*)\)/\1/p')
  printf '   %-12s %-10s %12s %9s%% %9s%%  %s\n' "$g" "$dense" \
    "$(field "$g" '^  cycles ([0-9]+) .*')" \
    "$(field "$g" '.*lane utilisation ([0-9.]+)%.*')" \
    "$(field "$g" '.*\); ([0-9.]+)% of the PE array.*')" "$prog"
done
echo "   lanes/all: busy lane-cycles / (16 lanes x every cycle of the run); lanes/PE: the same over"
echo "   the cycles the PE array issued (the contract's utilisation). Target: >= 80% on dense layers."

# ---- 3. cycles against spike density -------------------------------------------------------
echo
echo "3. Cycles against input spike density: 3x3 conv, 64 -> 64 channels, 16 x 16, T = 4"
if ((quick)); then dens=(0.01 0.1 0.5 1.0); else dens=(0.01 0.02 0.05 0.1 0.2 0.3 0.5 0.75 1.0); fi
printf '   %8s %10s %12s %12s %10s\n' density events cycles "cycles/event" "lanes/all"
for p in "${dens[@]}"; do
  n=density_$p
  graph "$n" "{name: x, op: input, shape: [64, 16, 16], kind: spikes, generate: {density: $p}}" \
    "{name: conv, op: conv, in: x, channels: 64, kernel: 3, $w}"
  run "$n" "$out/$n.yaml"
  ev=$(field "$n" '.*events in ([0-9]+),.*')
  cy=$(field "$n" '^  cycles ([0-9]+) .*')
  printf '   %8s %10s %12s %12.1f %9s%%\n' "$p" "$ev" "$cy" \
    "$(awk -v c="$cy" -v e="$ev" 'BEGIN { print e ? c / e : 0 }')" \
    "$(field "$n" '.*lane utilisation ([0-9.]+)%.*')"
done
echo "   (cycles fall with density: zero spikes cost no accumulate cycles)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"

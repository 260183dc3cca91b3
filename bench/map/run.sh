#!/usr/bin/env bash
# bench/map/run.sh: the mapper benchmarks (bench/README.md, "Mapper").
#
# 1. Synthetic: bench/map/synthetic.py's network (1,000 populations of 4,096 neurons, each
#    ordered pair joined with probability 0.04 by a fixed_probability 0.0001 projection:
#    16,000 slices at 256 neurons per core) mapped onto spinn5x27 (1,296 chips) with
#    --compress=min, up to compress (what the published figures of the SpiNNaker mapping
#    tools cover): its pass times, router entries and peak memory beside theirs.  Then the
#    same with the layout pass (every core's image: 67 million synapses laid out).
# 2. The Potjans-Diesmann cortical microcircuit (examples/potjans_diesmann.yaml) on spinn5x27,
#    every pass, its 0.3 billion synapses generated and laid out.
# 3. A scaling sweep: networks growing with the machine (populations of 4,096 neurons, each
#    joined to about 40 others), from one 48-chip board to 1,296 chips, up to compress.
# Each `snnc map` run is timed whole (GNU time -v gives the peak memory). Raw outputs go to
# bench/out/map/ (replaced on each run); bench/map/report.py prints the tables from them.
#
# usage: bench/map/run.sh [--quick] [--no-pd] [--no-sweep]
#   --quick      the synthetic network at a quarter of its populations on 12x12 chips
#   --no-pd      skip the microcircuit
#   --no-sweep   skip the scaling sweep
# environment: SNNC (default build/tools/snnc), PYTHON (default python3).
# Needs: a built snnc, python3, GNU time (scripts/bootstrap --bench installs both).
set -euo pipefail
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

quick=0 pd=1 sweep=1
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --no-pd) pd=0 ;;
    --no-sweep) sweep=0 ;;
    -h|--help) sed -n '2,/^set -e/p' "$self" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

snnc=${SNNC:-build/tools/snnc}
python=${PYTHON:-python3}
fail() { echo "run.sh: $*" >&2; exit 1; }
[ -x "$snnc" ] || fail "no snnc at '$snnc': run scripts/bootstrap (or set SNNC)"
[ -x /usr/bin/time ] || fail "GNU time missing: run scripts/bootstrap --bench"
command -v "$python" >/dev/null || fail "no $python: run scripts/bootstrap --bench"

out=bench/out/map
rm -rf "$out" && mkdir -p "$out"

# A wrapped grid of SpiNN-5 chips, w x h, as a target file.
machine() { # name w h
  sed -e "s/^name: .*/name: $1/" -e "s/^description: .*/description: $2x$3 chips, wrapped/" \
      -e "s/^chips: .*/chips: {width: $2, height: $3, wrap: true, layout: full}/" \
      <("$snnc" targets --yaml spinn5x27) > "$out/$1.yaml"
}

# One mapping: label, network, target, extra options.
run_map() {
  local label=$1 net=$2 target=$3; shift 3
  echo "== $label: snnc map $net --target $target $*" >&2
  if ! /usr/bin/time -v -o "$out/$label.time" "$snnc" map "$net" --target "$target" \
        --report "$out/$label.json" "$@" > "$out/$label.txt" 2> "$out/$label.err"; then
    cat "$out/$label.err" >&2
    fail "snnc map failed on $label"
  fi
  cat "$out/$label.txt"
}

if ((quick)); then
  machine g12 12 12
  "$python" bench/map/synthetic.py --pops 250 -o "$out/synthetic.yaml"
  syn_target=$out/g12.yaml
else
  "$python" bench/map/synthetic.py -o "$out/synthetic.yaml"
  syn_target=spinn5x27
fi
run_map synthetic "$out/synthetic.yaml" "$syn_target" --compress=min --until compress
run_map synthetic_layout "$out/synthetic.yaml" "$syn_target" --compress=min

if ((pd)); then
  run_map potjans_diesmann examples/potjans_diesmann.yaml spinn5x27 --compress=min
fi

if ((sweep)); then
  # (populations, grid side): about 16 slices per population and 40 projections out of
  # each, on machines a little larger than the network needs.
  machine g12 12 12; machine g24 24 24
  for spec in 40:spinn5 125:g12 250:g24 500:g24 1000:spinn5x27; do
    pops=${spec%%:*} target=${spec#*:}
    [ -f "$out/$target.yaml" ] && target=$out/$target.yaml
    pair_p=$(awk -v n="$pops" 'BEGIN { p = 40 / (n - 1); print (p > 1 ? 1 : p) }')
    "$python" bench/map/synthetic.py --pops "$pops" --pair-p "$pair_p" \
      -o "$out/sweep_$pops.yaml" 2>/dev/null
    run_map "sweep_$pops" "$out/sweep_$pops.yaml" "$target" --compress=min --until compress \
      > /dev/null
  done
fi

"$python" bench/map/report.py "$out"

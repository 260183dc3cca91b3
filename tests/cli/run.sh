#!/usr/bin/env bash
# tests/cli/run.sh SNNC SRCDIR: `snnc run` and `snnc verify`: the
# emulator gives the reference simulator's spikes (the same CSV as
# `snnc sim -o --all`), images and networks both run, the summary names
# the traffic, a run without a duration asks for --steps, usage errors.
set -uo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

expect 0 "run --help" -- "$snnc" run --help
has "$tmp/out" "^usage: snnc run" "run help has usage"
expect 0 "verify --help" -- "$snnc" verify --help
has "$tmp/out" "^usage: snnc verify" "verify help has usage"

# Usage errors: exit 2.
expect 2 "run a network without --target" -- "$snnc" run "$src/examples/synfire.yaml"
has "$tmp/err" "needs --target" "says a network needs --target"
expect 2 "verify without --target" -- "$snnc" verify "$src/examples/synfire.yaml"
expect 2 "an unknown device" -- "$snnc" run "$src/examples/synfire.yaml" --target spinn3 --device usb
has "$tmp/err" "'usb' is not a device" "names the device"
expect 2 "three threads" -- "$snnc" run "$src/examples/synfire.yaml" --target spinn3 --threads 3
expect 2 "zero steps" -- "$snnc" verify "$src/examples/synfire.yaml" --target spinn3 --steps 0

# verify: the examples, on one board and on four chips with small slices.
for ex in synfire cuba izhikevich poisson; do
  expect 0 "verify $ex on spinn5" -- "$snnc" verify "$src/examples/$ex.yaml" --target spinn5 --steps 1000
  has "$tmp/out" "identical on the reference simulator .* and the emulator" "$ex: identical"
done
expect 0 "verify coba on spinn3, 64 per core" -- "$snnc" verify "$src/examples/coba.yaml" \
  --target spinn3 --neurons-per-core 64 --steps 1000 --threads 1
has "$tmp/out" "identical" "coba: identical on one thread"

# run: the emulator's spikes are the simulator's, in the same file format.
"$snnc" sim "$src/examples/synfire.yaml" --all -q -o "$tmp/sim.csv" --steps 1500
expect 0 "run synfire" -- "$snnc" run "$src/examples/synfire.yaml" --target spinn5 --steps 1500 -o "$tmp/emu.csv"
cmp -s "$tmp/sim.csv" "$tmp/emu.csv" && ok "run -o equals sim -o --all" || bad "run -o differs from sim -o --all"
has "$tmp/err" "^emulated 1500 steps of 0.1 ms" "summary: steps"
has "$tmp/err" "packets [0-9]+ delivered to cores, [0-9]+ hops over links" "summary: traffic"
has "$tmp/err" "no packet dropped" "summary: nothing dropped"

# Input spikes into a spike source: the same as the simulator's --input.
printf 'step,population,neuron\n100,input,3\n100,input,4\n150,input,7\n2000,input,3\n' > "$tmp/in.csv"
"$snnc" sim "$src/examples/poisson.yaml" --all -q --steps 3000 --input "$tmp/in.csv" -o "$tmp/sim_in.csv"
"$snnc" sim "$src/examples/poisson.yaml" --all -q --steps 3000 -o "$tmp/sim_no.csv"
cmp -s "$tmp/sim_in.csv" "$tmp/sim_no.csv" && bad "the input changes nothing" || ok "the input changes the run"
expect 0 "run with --input" -- "$snnc" run "$src/examples/poisson.yaml" --target spinn3 --steps 3000 \
  --input "$tmp/in.csv" -o "$tmp/emu_in.csv"
cmp -s "$tmp/sim_in.csv" "$tmp/emu_in.csv" && ok "run --input equals sim --input" || bad "run --input differs from sim --input"
printf 'step,population,neuron\n10,cells,1\n' > "$tmp/bad_in.csv"
expect 1 "input into a population of neurons" -- "$snnc" run "$src/examples/poisson.yaml" --target spinn3 \
  --steps 100 --input "$tmp/bad_in.csv"
has "$tmp/err" "cells" "names the population"

# An image runs the same.
"$snnc" build "$src/examples/synfire.yaml" --target spinn5 -q -o "$tmp/synfire.snnb"
expect 0 "run an image" -- "$snnc" run "$tmp/synfire.snnb" --steps 1500 -o "$tmp/img.csv"
cmp -s "$tmp/sim.csv" "$tmp/img.csv" && ok "the image's spikes equal the simulator's" || bad "the image's spikes differ"
expect 0 "run an image for its duration" -- "$snnc" run "$tmp/synfire.snnb" -q
expect 2 "an image with --input" -- "$snnc" run "$tmp/synfire.snnb" --input "$tmp/in.csv"
has "$tmp/err" "give the network FILE" "says --input needs the network"
# An image for another machine than --target names.
expect 0 "an image on the machine it was built for" -- "$snnc" run "$tmp/synfire.snnb" --target spinn5 -q
expect 1 "an image on another machine" -- "$snnc" run "$tmp/synfire.snnb" --target spinn3
has "$tmp/err" "built for machine 'spinn5', not for 'spinn3': it has 8x8 chips, not 2x2" "names both machines"

# Counters: every router and link, and the busiest ones in the summary.
expect 0 "run with --counters" -- "$snnc" run "$src/examples/cuba.yaml" --target spinn5 \
  --neurons-per-core 32 --steps 300 --counters "$tmp/counters.csv"
has "$tmp/err" "busiest router: chip \([0-9]+, [0-9]+\), [0-9]+ packets" "summary: busiest router"
has "$tmp/err" "busiest link: chip \([0-9]+, [0-9]+\) (E|NE|N|W|SW|S), [0-9]+ packets" "summary: busiest link"
head -1 "$tmp/counters.csv" | grep -qx 'x,y,counter,count' && ok "counters: header" || bad "counters: header"
delivered=$(sed -nE 's/.*packets ([0-9]+) delivered to cores, ([0-9]+) hops.*/\1 \2/p' "$tmp/err")
sums=$(awk -F, 'NR > 1 && $3 == "router.delivered" { d += $4 } NR > 1 && $3 ~ /^link\./ { l += $4 }
                END { print d + 0, l + 0 }' "$tmp/counters.csv")
[[ -n $delivered && $delivered == "$sums" ]] && ok "counters add up to the summary ($sums)" ||
  bad "counters add up to '$sums', the summary says '$delivered'"
[[ ${sums#* } -gt 0 ]] && ok "packets crossed links" || bad "no packet crossed a link"
# A damaged image does not run.
python3 - "$tmp/synfire.snnb" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0x10
open(p, 'wb').write(b)
PY
expect 1 "run a damaged image" -- "$snnc" run "$tmp/synfire.snnb"
has "$tmp/err" "synfire.snnb: error: byte [0-9]+:" "names the byte"

finish

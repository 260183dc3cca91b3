#!/usr/bin/env bash
# tests/cli/map.sh SNNC SRCDIR: `snnc map`: the report, the JSON report,
# --dump-after, determinism, networks that do not fit (with what ran out
# and what to try), usage errors and the documented exit codes.
set -uo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

expect 0 "map --help" -- "$snnc" map --help
has "$tmp/out" "^usage: snnc map --target" "map help has usage"
has "$tmp/out" "--compress MODE" "map help names --compress"
expect 0 "main help lists map" -- "$snnc" --help
has "$tmp/out" "^  map FILE " "main help names the map command"

# Usage errors: exit 2.
expect 2 "no FILE" -- "$snnc" map --target spinn3
has "$tmp/err" "missing FILE" "says FILE is missing"
expect 2 "no --target" -- "$snnc" map "$src/examples/cuba.yaml"
has "$tmp/err" "missing --target \(snnc targets lists" "says --target is missing and where to look"
expect 2 "bad --compress" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 --compress=best
has "$tmp/err" "'best' is not fit, min or none" "names the bad mode"
expect 2 "bad --dump-after" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 --dump-after routes
has "$tmp/err" "no pass called 'routes'" "names the bad pass"
expect 2 "zero neurons per core" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 --neurons-per-core 0
expect 2 "--rate needs a value" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 --rate
expect 2 "unknown option" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 --fast
expect 2 "unknown --name=value" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 --fast=1

# Input errors: exit 1.
expect 1 "unknown target" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn4
has "$tmp/err" "spinn4" "names the unknown target"
expect 1 "missing network" -- "$snnc" map "$tmp/none.yaml" --target spinn3

# CUBA on one board: the report.
expect 0 "map cuba on spinn3" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 --verify
has "$tmp/out" "^cuba on spinn3: 4 chips, 68 application cores" "report: network and target"
has "$tmp/out" "^  exc +3200 +13 +256$" "report: exc in 13 slices of 256"
has "$tmp/out" "^  inh +800 +4 +256$" "report: inh in 4 slices of 256"
has "$tmp/out" "^  slices +17 on 17 cores of [0-9]+ chips" "report: slices and cores"
has "$tmp/out" "^  edges +289 slice pairs, [0-9]+ synapses" "report: every slice pair is joined"
has "$tmp/out" "^  DTCM +fullest core .* of 64.0 KiB" "report: DTCM"
has "$tmp/out" "^  SDRAM +fullest chip .* of 128.0 MiB" "report: SDRAM"
has "$tmp/out" "^  router +before compression [0-9]+ entries, largest table [0-9]+" "report: router before"
has "$tmp/out" "after \(fit\) [0-9]+ entries, largest table [0-9]+ of 1023" "report: router after"
has "$tmp/out" "^  images +DTCM [0-9.]+ KiB, SDRAM blocks [0-9.]+ MiB \(rows and spike times [0-9.]+ MiB\)" "report: images"
has "$tmp/out" "^  time +partition [0-9.]+ s, place.*layout [0-9.]+ s" "report: pass times"

# --until: the passes up to one, and the report of what ran.
expect 0 "map --until compress" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 --until compress --report "$tmp/until.json"
hasnt "$tmp/out" "images" "--until compress: no images line"
hasnt "$tmp/until.json" '"images"' "--until compress: no images in JSON"
has "$tmp/out" "compress [0-9.]+ s, whole" "--until compress: compress is the last pass"
expect 0 "map --until=partition" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 --until=partition
hasnt "$tmp/out" "router" "--until partition: no router line"
expect 2 "bad --until" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 --until everything
has "$tmp/err" "--until: no pass called 'everything'" "names the bad pass"

# Fewer neurons per core: more slices, spread over chips, packets on links.
expect 0 "map cuba, 64 per core" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 \
  --neurons-per-core 64 --compress=min --report "$tmp/cuba.json" --verify
has "$tmp/out" "^  exc +3200 +50 +64$" "64 per core: exc in 50 slices"
has "$tmp/out" "^  slices +63 on 63 cores of 4 chips" "64 per core: 63 slices on all 4 chips"
has "$tmp/out" "^  busiest link +chip \([0-9], [0-9]\) (E|NE|N|W|SW|S): [0-9.]+ packets per timestep" "busiest link"
has "$tmp/out" "after \(min\)" "report names the compression mode"
has "$tmp/cuba.json" '^  "format": "snnc-map-report 1",$' "JSON: format"
has "$tmp/cuba.json" '"slices": 63,' "JSON: slices"
has "$tmp/cuba.json" '"options": \{"seed": 1, "neurons_per_core": 64, "rate_hz": 10, "compress": "min"\}' "JSON: options"
has "$tmp/cuba.json" '"router": \{"chips_with_entries": 4, "before": \{"total": [0-9]+, "max": [0-9]+\}, "after": \{"total": [0-9]+, "max": [0-9]+\}\}' "JSON: router"
has "$tmp/cuba.json" '"images": \{"dtcm_bytes": [0-9]+, "sdram_bytes": [0-9]+, "sdram_stored_bytes": [0-9]+\}' "JSON: images"
has "$tmp/cuba.json" '"busiest_link": \{"x": [0-9], "y": [0-9], "link": "[A-Z]+", "packets_per_step": [0-9.e+-]+\}' "JSON: busiest link"
if command -v python3 >/dev/null; then
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/cuba.json" &&
    ok "JSON report parses" || bad "JSON report does not parse"
fi

# The state after every pass is the same on every run.
"$snnc" map "$src/examples/cuba.yaml" --target spinn3 --neurons-per-core 64 --dump-after all -q >"$tmp/d1"
"$snnc" map "$src/examples/cuba.yaml" --target spinn3 --neurons-per-core 64 --dump-after all -q >"$tmp/d2"
cmp -s "$tmp/d1" "$tmp/d2" && ok "dumps identical across runs" || bad "dumps differ across runs"
for p in partition place route keys tables compress layout; do
  has "$tmp/d1" "^# after $p$" "dump after $p"
done
"$snnc" map "$src/examples/cuba.yaml" --target spinn3 --neurons-per-core 64 --dump-after route -q >"$tmp/d3"
[ "$(grep -c '^# after' "$tmp/d3")" -eq 1 ] && ok "--dump-after one pass prints one" ||
  bad "--dump-after route printed $(grep -c '^# after' "$tmp/d3") passes"
cmp -s <(sed -n '/^# after route$/,/^# after keys$/p' "$tmp/d1" | sed '$d') "$tmp/d3" &&
  ok "one pass's dump is the same alone" || bad "route dump differs alone and with all"

# Does not fit: too many slices for the machine.
expect 1 "too few cores" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 --neurons-per-core 40
has "$tmp/err" "error: .*100 (cores|slices).*68 usable application cores.*try a bigger machine" \
  "too few cores: needed, available, what to try"
# Does not fit: a target whose cores are too small for one neuron's ring buffers.
sed -e 's/^name: spinn3$/name: tiny/' -e 's/dtcm: 64 KiB/dtcm: 8 KiB/' \
  <("$snnc" targets --yaml spinn3) >"$tmp/tiny.yaml"
expect 1 "too little DTCM" -- "$snnc" map "$src/examples/cuba.yaml" --target "$tmp/tiny.yaml"
has "$tmp/err" "population '(exc|inh)': .*DTCM.*a core has 8 KiB; try" "DTCM: population, need, have, what to try"
has "$tmp/err" "cuba.yaml:[0-9]+:[0-9]+: error" "the error points into the network file"

# A failed run leaves no report behind.
expect 1 "no report on failure" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 \
  --neurons-per-core 40 --report "$tmp/fail.json"
[ ! -e "$tmp/fail.json" ] && ok "no partial report" || bad "a report was written by a failed run"
expect 4 "unwritable report" -- "$snnc" map "$src/examples/cuba.yaml" --target spinn3 \
  --report "$tmp/no/such/dir/r.json"

finish

#!/usr/bin/env bash
# tests/cli/targets.sh SNNC SRCDIR: `snnc targets`: the list of built-in
# machine descriptions with their sizes, one target's details, a file of
# one's own, and errors with file:line:col and the documented exit codes.
set -uo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

expect 0 "targets --help" -- "$snnc" targets --help
has "$tmp/out" "^usage: snnc targets" "targets help has usage"
expect 0 "main help lists targets" -- "$snnc" --help
has "$tmp/out" "^  targets " "main help names the targets command"

# The list: the three built-ins, with chips, application cores, SDRAM, grid, layout, wrap.
expect 0 "targets lists" -- "$snnc" targets
has "$tmp/out" "^name +chips +app cores +SDRAM/chip +grid +layout +wrap" "list header"
has "$tmp/out" "^spinn3 +4 +68 +128 MiB +2x2 +full +yes " "spinn3: 4 chips, wrapped"
has "$tmp/out" "^spinn5 +48 +816 +128 MiB +8x8 +spinn5_board +no " "spinn5: 48 chips, one board"
has "$tmp/out" "^spinn5x27 +1296 +22032 +128 MiB +36x36 +full +yes " "spinn5x27: 1296 chips"
has "$tmp/out" "^sdt +sdt +16 +16384 +65536 +4096 +65536 +262144 " "sdt: the accelerator, in its own table"
has "$tmp/out" "^sdt4 +sdt +4 +1024 +4096 +256 +4096 +4096 " "sdt4: the RTL test model"
[ "$(wc -l <"$tmp/out")" -eq 8 ] && ok "five targets" || bad "want three spinn rows, a blank line and the sdt table of two"

# One target in detail.
expect 0 "targets spinn5" -- "$snnc" targets spinn5
has "$tmp/out" "^target spinn5: one SpiNN-5 board, 48 chips" "details: name and description"
has "$tmp/out" "grid +8x8, layout spinn5_board, not wrapped" "details: grid"
has "$tmp/out" "chips +48 \(48 usable\)" "details: chips"
has "$tmp/out" "18 cores \(1 monitor\), 200 MHz, SDRAM 128 MiB" "details: chip"
has "$tmp/out" "router +1024 entries \(1 reserved, 1023 for the mapper\)" "details: router"
has "$tmp/out" "DTCM 64 KiB, ITCM 32 KiB" "details: core memories"
has "$tmp/out" "256 neurons, 4000 synaptic events per timestep" "details: limits"
has "$tmp/out" "dead chips +none" "details: no dead chips"

# --yaml prints the built-in's file, which loads as a file of one's own.
expect 0 "targets --yaml spinn5" -- "$snnc" targets --yaml spinn5
cmp -s "$tmp/out" "$src/targets/spinn5.yaml" && ok "--yaml is the file" || bad "--yaml differs from targets/spinn5.yaml"
sed -e 's/^name: spinn5$/name: faulty/' "$tmp/out" >"$tmp/faulty.yaml"
cat >>"$tmp/faulty.yaml" <<'YAML'
dead:
  chips: [[1, 1]]
  cores: [[0, 0, 5]]
  links: [[0, 0, N], [3, 3, 0]]
YAML
expect 0 "a file of one's own" -- "$snnc" targets "$tmp/faulty.yaml"
has "$tmp/out" "^target faulty" "own file: name"
has "$tmp/out" "chips +48 \(47 usable\)" "own file: a dead chip"
has "$tmp/out" "application cores +798 usable" "own file: 47 x 17 - 1 cores"
has "$tmp/out" "dead chips +\(1, 1\)$" "own file: dead chips listed"
has "$tmp/out" "dead cores +\(0, 0, 5\)$" "own file: dead cores listed"
has "$tmp/out" "dead links +\(0, 0, N\) \(3, 3, E\)$" "own file: dead links listed"

# Errors: exit 1 with file:line:col; usage errors exit 2.
cat >"$tmp/bad.yaml" <<'YAML'
snn-target: 1
name: bad
chips: {width: 8, height: 8, layuot: full}
chip: {sdram: 128 MB}
YAML
expect 1 "bad target file" -- "$snnc" targets "$tmp/bad.yaml"
has "$tmp/err" "bad.yaml:3:30: error: unknown key 'layuot' in 'chips' \(did you mean 'layout'\?\)" "bad key at file:line:col"
has "$tmp/err" "bad.yaml:4:15: error: 'sdram': unknown unit 'MB' \(did you mean 'MiB'\?\)" "bad unit at file:line:col"
has "$tmp/err" "^ +\| +\^~~~~~" "caret under the value"
expect 1 "unknown target" -- "$snnc" targets spin5
has "$tmp/err" "unknown target 'spin5'.*did you mean 'spinn5'" "unknown target suggests"
expect 1 "missing file" -- "$snnc" targets "$tmp/none.yaml"
has "$tmp/err" "none.yaml: error: cannot open" "missing file message"
expect 2 "unknown option" -- "$snnc" targets --bogus
expect 2 "two targets" -- "$snnc" targets spinn3 spinn5
expect 2 "--yaml of a file" -- "$snnc" targets --yaml "$tmp/bad.yaml"
expect 2 "unknown command suggests targets" -- "$snnc" target
has "$tmp/err" "did you mean 'targets'" "targets suggested"

finish

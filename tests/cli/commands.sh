#!/usr/bin/env bash
# tests/cli/commands.sh SNNC SRCDIR: the snnc command as a user meets it:
# help, version, exit codes, error messages with locations, outputs that
# are deterministic and never half-written.
set -uo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

expect 0 "--help" -- "$snnc" --help
has "$tmp/out" "^usage: snnc" "main help has usage"
for c in check ir sim; do
  expect 0 "$c --help" -- "$snnc" "$c" --help
  has "$tmp/out" "^usage: snnc $c" "$c help has usage"
done
expect 0 "--version" -- "$snnc" --version
has "$tmp/out" "^snnc [0-9]+\.[0-9]+\.[0-9]+" "version printed"
expect 2 "no arguments" -- "$snnc"
expect 2 "unknown command" -- "$snnc" smi x.yaml
has "$tmp/err" "did you mean 'sim'" "unknown command suggests"
expect 2 "unknown option" -- "$snnc" sim --bogus "$src/examples/cuba.yaml"
expect 2 "missing file" -- "$snnc" check
expect 2 "bad --steps" -- "$snnc" sim --steps 0 "$src/examples/cuba.yaml"
expect 2 "bad --seed" -- "$snnc" sim --seed x "$src/examples/cuba.yaml"
expect 1 "unreadable file" -- "$snnc" check "$tmp/nonexistent.yaml"
has "$tmp/err" "cannot read" "unreadable file message"

# Every example and golden input checks, and runs; the full-scale microcircuit (285 million
# synapses: a minute to build, 2.7 GB) only checks here: bench/map/run.sh maps it.
for f in "$src"/examples/*.yaml "$src"/tests/golden/*.yaml; do
  expect 0 "check $(basename "$f")" -- "$snnc" check --quant "$f"
  [ "$(basename "$f")" = potjans_diesmann.yaml ] && continue
  expect 0 "sim $(basename "$f")" -- "$snnc" sim -q --steps 200 "$f"
  expect 0 "sim --float $(basename "$f")" -- "$snnc" sim -q --float --steps 200 "$f"
done
expect 0 "check --quant" -- "$snnc" check --quant "$src/examples/cuba.yaml"
has "$tmp/out" "p11 = exp" "quantization report lists coefficients"
has "$tmp/out" "weight" "quantization report lists weights"

# An error in the input: location, caret, exit 1.
cat >"$tmp/bad.yaml" <<'YAML'
snn: 1
name: bad
timestep: 0.1 ms
duration: 10 ms
populations:
  a: {size: 10, model: lif_cur_exp}
YAML
expect 1 "bad model name" -- "$snnc" check "$tmp/bad.yaml"
has "$tmp/err" "bad.yaml:6:[0-9]+: error: .*lif_cur_exp" "error has file:line:col"
has "$tmp/err" "did you mean 'lif_curr_exp'" "error suggests the model"
has "$tmp/err" "\^~+" "error draws a caret"

# A small network for running.
cat >"$tmp/net.yaml" <<'YAML'
snn: 1
name: relay
timestep: 0.1 ms
duration: 20 ms
seed: 3
populations:
  stim: {size: 2, model: spike_source_array, spike_times: [[1 ms], [2 ms, 4 ms]]}
  out:
    size: 2
    model: if_curr_delta
    params: {v_rest: -65 mV, v_reset: -65 mV, v_thresh: -50 mV, tau_refrac: 1 ms}
    init: {v: -65 mV}
    record: {spikes: true, v: [0]}
projections:
  - {pre: stim, post: out, connector: one_to_one, weight: 20 mV, delay: 0.5 ms}
YAML
expect 0 "sim relay" -- "$snnc" sim "$tmp/net.yaml" -o "$tmp/s.csv" --v-out "$tmp/v.csv"
printf 'step,population,neuron\n15,out,0\n25,out,1\n45,out,1\n' >"$tmp/want.csv"
if cmp -s "$tmp/s.csv" "$tmp/want.csv"; then ok "relay spikes exact"; else bad "relay spikes"; diff "$tmp/want.csv" "$tmp/s.csv" | head; fi
has "$tmp/err" "out +2 +3" "summary counts spikes"
[ "$(wc -l <"$tmp/v.csv")" -eq 201 ] && ok "one v row per step" || bad "v rows: $(wc -l <"$tmp/v.csv")"
has "$tmp/v.csv" "^15,out,0,-65$" "v reset after the spike"
expect 0 "sim --all" -- "$snnc" sim "$tmp/net.yaml" --all -o "$tmp/all.csv"
has "$tmp/all.csv" "^10,stim,0$" "--all includes sources"

# Input spikes drive the sources.
printf 'step,population,neuron\n100,stim,0\n' >"$tmp/in.csv"
expect 0 "sim --input" -- "$snnc" sim "$tmp/net.yaml" --input "$tmp/in.csv" -o "$tmp/s2.csv"
has "$tmp/s2.csv" "^105,out,0$" "input spike arrives after the delay"
printf 'step,population,neuron\n1,out,0\n' >"$tmp/in-bad.csv"
expect 1 "input naming a neuron population" -- "$snnc" sim "$tmp/net.yaml" --input "$tmp/in-bad.csv"
has "$tmp/err" "in-bad.csv:2:3: error: .*not a spike source" "input error has its location"
printf 'step,pop,neuron\n' >"$tmp/in-hdr.csv"
expect 1 "input with a wrong header" -- "$snnc" sim "$tmp/net.yaml" --input "$tmp/in-hdr.csv"

# A full disk while spikes are written: a device fault naming the file, not a truncated success;
# on two threads the write that fails is the second thread's (steps 64 to 127), whose errno
# the report must still give.
if [ -w /dev/full ]; then
  for th in 1 2; do
    expect 4 "spikes to a full disk ($th threads)" -- \
      "$snnc" sim -q "$src/examples/cuba.yaml" --steps 2000 --threads $th -o /dev/full
    has "$tmp/err" "writing the results failed: No space left" "a full disk is reported ($th threads)"
  done
  # Standard output on a full disk: every command reports it and exits with 4, those whose
  # work went well too.
  for c in --version "targets" "targets --yaml spinn3" "check $src/examples/cuba.yaml" \
    "ir $src/examples/synfire.yaml" "map $src/examples/synfire.yaml --target spinn3"; do
    # shellcheck disable=SC2086 # c is split into its words
    expect 4 "snnc $c to a full standard output" -- sh -c '"$0" "$@" >/dev/full' "$snnc" $c
    has "$tmp/err" "^snnc: error: writing to standard output failed: No space left" \
      "snnc $c: a full standard output reported"
    [ "$(grep -c 'standard output failed' "$tmp/err")" = 1 ] && ok "snnc $c: reported once" ||
      bad "snnc $c: not reported exactly once"
  done
fi

# Determinism: the same input and seed give byte-identical files.
for mode in "" --float; do
  "$snnc" sim -q $mode "$src/examples/cuba.yaml" --steps 2000 -o "$tmp/a.csv" &&
  "$snnc" sim -q $mode "$src/examples/cuba.yaml" --steps 2000 -o "$tmp/b.csv" &&
  cmp -s "$tmp/a.csv" "$tmp/b.csv" && [ "$(wc -l <"$tmp/a.csv")" -gt 100 ] &&
  ok "cuba ${mode:-fixed} deterministic" || bad "cuba ${mode:-fixed} not deterministic"
done
"$snnc" sim -q "$src/examples/cuba.yaml" --steps 2000 --seed 2 -o "$tmp/c.csv"
cmp -s "$tmp/a.csv" "$tmp/c.csv" && bad "--seed changes nothing" || ok "--seed changes the run"

# Every example (but the microcircuit, as above): the same seed gives the same spikes and
# voltages, byte for byte.
for f in "$src"/examples/*.yaml; do
  b=$(basename "$f" .yaml)
  [ "$b" = potjans_diesmann ] && continue
  "$snnc" sim -q "$f" --steps 3000 --all -o "$tmp/$b-1.csv" &&
  "$snnc" sim -q "$f" --steps 3000 --all -o "$tmp/$b-2.csv" --threads 3 &&
  cmp -s "$tmp/$b-1.csv" "$tmp/$b-2.csv" && [ "$(wc -l <"$tmp/$b-1.csv")" -gt 10 ] &&
  ok "$b deterministic, any thread count" || bad "$b not deterministic"
done

# Progress shows on a terminal (and only there).
if command -v script >/dev/null; then
  script -qec "$snnc sim $src/examples/cuba.yaml --steps 40000" /dev/null >"$tmp/tty" 2>&1
  has "$tmp/tty" "simulating: +[0-9]+%" "progress on a terminal"
  "$snnc" sim "$src/examples/cuba.yaml" --steps 40000 2>"$tmp/notty"
  grep -q "simulating:" "$tmp/notty" && bad "progress printed to a file" || ok "no progress in a file"
fi

# Outputs: a new file gets the mode the umask gives; a symbolic link or a
# device is written through, never replaced.
(umask 022 && "$snnc" sim -q "$tmp/net.yaml" -o "$tmp/mode.csv")
[ "$(stat -c %a "$tmp/mode.csv")" = 644 ] && ok "output mode follows the umask" || bad "output mode $(stat -c %a "$tmp/mode.csv")"
ln -s "$tmp/mode.csv" "$tmp/link.csv"
"$snnc" sim -q "$tmp/net.yaml" --all -o "$tmp/link.csv"
[ -L "$tmp/link.csv" ] && grep -q stim "$tmp/mode.csv" && ok "a link is written through" || bad "link replaced"
mkfifo "$tmp/fifo"
cat "$tmp/fifo" >"$tmp/from-fifo" &
"$snnc" sim -q "$tmp/net.yaml" -o "$tmp/fifo"
wait
[ -p "$tmp/fifo" ] && cmp -s "$tmp/from-fifo" "$tmp/want.csv" && ok "a pipe is written through" || bad "pipe output"
expect 2 "-o - with --v-out -" -- "$snnc" sim "$tmp/net.yaml" -o - --v-out -

# Extreme values: an unrepresentable voltage is a located error in fixed
# point and fine in float64; a time constant far below dt stays finite.
cat >"$tmp/range.yaml" <<'YAML'
snn: 1
name: range
timestep: 0.1 ms
duration: 5 ms
populations:
  s: {size: 1, model: spike_source_array, spike_times: [1 ms]}
  n: {size: 1, model: lif_curr_exp, params: {v_thresh: 40000 mV, tau_m: 0.0001 ms}, record: [v]}
projections:
  - {pre: s, post: n, connector: all_to_all, weight: 1 nA}
YAML
expect 1 "unrepresentable voltage" -- "$snnc" sim "$tmp/range.yaml"
has "$tmp/err" "range.yaml:7:3: error: .*v_thresh = 40000 mV is outside" "range error located"
expect 0 "float64 takes it" -- "$snnc" sim -q --float "$tmp/range.yaml" --v-out "$tmp/rv.csv"
grep -qi nan "$tmp/rv.csv" && bad "float64 voltages hold NaN" || ok "float64 voltages finite"

# lif_cond_exp's k_leak = dt/tau_m is Q1.30: dt of 2 tau_m or more is a
# located error naming it; just below is fine.
cat >"$tmp/leak.yaml" <<'YAML'
snn: 1
name: leak
timestep: 0.1 ms
duration: 5 ms
populations:
  n: {size: 2, model: lif_cond_exp, params: {tau_m: 0.05 ms}}
YAML
expect 1 "k_leak of 2" -- "$snnc" sim "$tmp/leak.yaml"
has "$tmp/err" "leak.yaml:6:3: error: .*k_leak = dt/tau_m \(Q1.30\) = 2 is outside the fixed-point range \(magnitude below 2\)" "k_leak range error located"
sed -i 's/0.05 ms/0.0501 ms/' "$tmp/leak.yaml"
expect 0 "k_leak just below 2" -- "$snnc" sim -q "$tmp/leak.yaml"

# A failed run leaves no output behind.
expect 1 "failing sim" -- "$snnc" sim "$tmp/bad.yaml" -o "$tmp/never.csv"
[ ! -e "$tmp/never.csv" ] && ok "no output on failure" || bad "output left behind"
ls "$tmp" | grep -q '\.tmp\.' && bad "temporary file left behind" || ok "no temporary files"
expect 4 "unwritable output" -- "$snnc" sim "$tmp/net.yaml" -o "$tmp/no/such/dir/x.csv"

# IR text round trip through the command.
expect 0 "ir of yaml" -- "$snnc" ir "$src/examples/synfire.yaml" -o "$tmp/s.ir"
expect 0 "ir of ir" -- "$snnc" ir "$tmp/s.ir" -o "$tmp/s2.ir"
cmp -s "$tmp/s.ir" "$tmp/s2.ir" && ok "ir round trip" || bad "ir round trip differs"
"$snnc" sim -q "$src/examples/synfire.yaml" -o "$tmp/y.csv" && "$snnc" sim -q "$tmp/s.ir" -o "$tmp/i.csv" &&
  cmp -s "$tmp/y.csv" "$tmp/i.csv" && ok "IR text simulates like its YAML" || bad "IR text simulates differently"
# What the text cannot hold: an error at the population, no output left.
cat >"$tmp/big.yaml" <<'EOF'
snn: 1
name: big
timestep: 1 ms
duration: 2 ms
populations:
  s: {size: 16777217, model: spike_source_array, spike_times: [1 ms]}
EOF
expect 1 "ir of spike times the text cannot hold" -- "$snnc" ir "$tmp/big.yaml" -o "$tmp/big.ir"
has "$tmp/err" "big.yaml:6:3: error: the IR text holds spike times for populations of at most 16777216 neurons; 's' has 16777217" "ir: the limit named at the population"
[ -e "$tmp/big.ir" ] && bad "ir left an output" || ok "ir left no output"

finish

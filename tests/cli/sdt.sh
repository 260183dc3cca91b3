#!/usr/bin/env bash
# tests/cli/sdt.sh SNNC SRCDIR: `snnc build --target sdt` and `snnc inspect`
# of sdt images: the examples' layer graphs lowered and imaged, the image
# described (target, sections, descriptors), rebuilt byte for byte, a
# damaged image refused, and the errors of a network the family cannot take;
# then, when snnc has the RTL models, `snnc run --device rtl` (its figures,
# its CSV equal to `snnc sim`'s, a trace) and `snnc verify` on sdt targets.
set -uo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

expect 0 "targets sdt" -- "$snnc" targets sdt
has "$tmp/out" "^  family +sdt" "sdt target: family"
has "$tmp/out" "^  lanes +16, 200 MHz" "sdt target: lanes and clock"
has "$tmp/out" "^  energy source +Horowitz" "sdt target: the energy's source"

for ex in convnet sdt_tiny; do
  expect 0 "build $ex for sdt" -- "$snnc" build "$src/examples/$ex.yaml" --target sdt -o "$tmp/$ex.snnb"
  has "$tmp/out" "$ex.snnb: [0-9]+ bytes, [0-9]+ descriptors, [0-9]+ words of DMEM on sdt" "$ex: one line about the image"
  expect 0 "rebuild $ex" -- "$snnc" build "$src/examples/$ex.yaml" --target sdt -o "$tmp/$ex.2.snnb"
  cmp -s "$tmp/$ex.snnb" "$tmp/$ex.2.snnb" && ok "$ex: byte-identical rebuild" || bad "$ex: rebuilds differ"
  expect 0 "inspect $ex" -- "$snnc" inspect --sections --program "$tmp/$ex.snnb"
  has "$tmp/out" "^image: sdt, version 1, [0-9]+ bytes, 7 sections" "$ex: the container"
  has "$tmp/out" "^target: 'sdt', 16 lanes, 200 MHz; PMEM 16384, WMEM 65536, QMEM 4096, DMEM 65536, EVT 262144 words" "$ex: the target"
  for k in CONFIG PROGRAM WMEM QMEM LISTS INPUT OUTPUTS; do
    has "$tmp/out" "^ +[0-9] $k +image +offset +[0-9]+ bytes +[0-9]+ crc 0x[0-9a-f]{8}" "$ex: section $k"
  done
  has "$tmp/out" "^ +0 CONV " "$ex: the program starts with a convolution"
  has "$tmp/out" "^ +[0-9]+ END$" "$ex: the program ends"
  has "$tmp/out" "^head '" "$ex: the head's place"
done

# What each example becomes.
expect 0 "inspect convnet" -- "$snnc" inspect --program "$tmp/convnet.snnb"
has "$tmp/out" "^run: 8 steps, seed 7" "convnet: T and seed"
has "$tmp/out" "^input: \[2, 32, 32\] spikes at DMEM 0" "convnet: the input"
has "$tmp/out" "^layer 'ilif': \[32, 8, 8\] counts" "convnet: I-LIF counts"
has "$tmp/out" "CONV +\[64, 4, 4\] -> \[10, 1, 1\] k 5 stride 2 pad 1 int4" "convnet: the classifier as one window"
has "$tmp/out" "NEURON +\[32, 8, 8\] ilif .* D 4" "convnet: the I-LIF's D"
expect 0 "inspect sdt_tiny" -- "$snnc" inspect --program "$tmp/sdt_tiny.snnb"
has "$tmp/out" "SDSA1 +\[64, 64, 1\]" "sdt_tiny: SDSA v1"
has "$tmp/out" "KV +\[64, 64, 1\] heads 4" "sdt_tiny: SDSA v2's KV"
has "$tmp/out" "QKV +\[64, 64, 1\] heads 4" "sdt_tiny: SDSA v2's QKV"
has "$tmp/out" "NEURON .* lif .*\+residual" "sdt_tiny: conv -> add -> LIF fused"
has "$tmp/out" "^input: \[3, 32, 32\] counts" "sdt_tiny: pixels"

# A damaged image: refused with the byte and the reason.
cp "$tmp/convnet.snnb" "$tmp/bad.snnb"
printf '\x55' | dd of="$tmp/bad.snnb" bs=1 seek=400 conv=notrunc 2>/dev/null
expect 1 "damaged sdt image" -- "$snnc" inspect "$tmp/bad.snnb"
has "$tmp/err" "bad.snnb: error: byte [0-9]+: section 1 \(PROGRAM\): checksum" "damage named"

# What the family cannot take.
expect 1 "a network of populations for sdt" -- "$snnc" build "$src/examples/cuba.yaml" --target sdt -o "$tmp/x.snnb"
has "$tmp/err" "sdt accelerator, which runs layer graphs" "populations refused"
[ -e "$tmp/x.snnb" ] && bad "an image was left" || ok "no image left"
expect 1 "map onto sdt" -- "$snnc" map "$src/examples/cuba.yaml" --target sdt
has "$tmp/err" "an sdt target" "map names the family"


# Running on the accelerator's RTL model (snnc built with Verilator).
cat >"$tmp/small.yaml" <<'EOF'
snn: 1
name: small
seed: 4
layers:
  timesteps: 3
  output: l2
  nodes:
    - {name: in, op: input, shape: [3, 5, 5], kind: spikes, generate: {density: 0.4}}
    - {name: c1, op: conv, in: in, channels: 6, kernel: 3, generate: {lo: -0.5, hi: 1}}
    - {name: l1, op: lif, in: c1, threshold: 0.5}
    - {name: c2, op: conv, in: l1, channels: 5, kernel: 3, bits: 4, generate: {lo: -0.5, hi: 1}}
    - {name: l2, op: lif, in: c2, threshold: 0.5}
EOF
"$snnc" run "$tmp/sdt_tiny.snnb" --device rtl -q >"$tmp/out" 2>"$tmp/err"
if grep -q "built without" "$tmp/err"; then
  ok "no RTL models in this snnc: run --device rtl and verify on sdt skipped"
elif grep -q "snnc's RTL models are" "$tmp/err"; then
  ok "no 16-lane RTL model in this snnc (SNN_SDT_RTL_FULL=OFF): run --device rtl skipped"
else
  expect 0 "run sdt_tiny on the RTL" -- "$snnc" run "$tmp/sdt_tiny.snnb" --device rtl -o "$tmp/rtl.csv"
  has "$tmp/err" "^ran 4 steps on the sdt RTL model \(target 'sdt': 16 lanes, 200 MHz\)" "rtl: what ran"
  has "$tmp/err" "^  cycles [0-9]+ \([0-9.]+ a step\)" "rtl: cycles"
  has "$tmp/err" "^  lane utilisation [0-9.]+% \(busy lane-cycles [0-9]+ / \(16 lanes x [0-9]+ cycles\)\)" "rtl: lane utilisation"
  for m in WMEM QMEM DMEM EVT; do
    has "$tmp/err" "^ +$m +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$" "rtl: SRAM traffic of $m"
  done
  has "$tmp/err" "^  b1_attn +4096 +[0-9]+ " "rtl: spikes per layer"
  has "$tmp/err" "^  energy \(estimate\) [0-9.e+]+ uJ = AC" "rtl: the energy estimate"
  has "$tmp/err" "from the image \(target 'sdt'\): E_AC 0.9 pJ, E_MAC 4.6 pJ" "rtl: the energy constants and where they come from"
  expect 0 "sim sdt_tiny" -- "$snnc" sim "$src/examples/sdt_tiny.yaml" -q -o "$tmp/sim.csv"
  cmp -s "$tmp/rtl.csv" "$tmp/sim.csv" && ok "rtl -o: the same CSV as snnc sim" || bad "rtl -o and sim -o differ"
  [ "$(wc -l <"$tmp/rtl.csv")" -gt 1000 ] && ok "rtl -o: spikes written" || bad "rtl -o: too few lines"
  expect 0 "run 2 of 4 steps" -- "$snnc" run "$tmp/sdt_tiny.snnb" --device rtl --steps 2
  has "$tmp/err" "^ran 2 steps" "rtl --steps"
  expect 1 "more steps than the input holds" -- "$snnc" run "$tmp/sdt_tiny.snnb" --device rtl --steps 9
  has "$tmp/err" "holds 4 steps, not 9" "rtl: steps refused"
  expect 0 "verify sdt_tiny on sdt" -- "$snnc" verify "$src/examples/sdt_tiny.yaml" --target sdt
  has "$tmp/out" "^sdt_tiny on sdt: [0-9]+ spikes in 4 steps, identical on the reference simulator \([0-9.]+ s\) and the accelerator's RTL \([0-9.]+ s, [0-9]+ cycles\)" "verify sdt: identical"

  # The small model (target sdt4), a network compiled on the spot, a trace.
  expect 0 "build small for sdt4" -- "$snnc" build "$tmp/small.yaml" --target sdt4 -o "$tmp/small.snnb"
  expect 0 "run small on the RTL with a trace" -- "$snnc" run "$tmp/small.snnb" --device rtl --trace "$tmp/t.fst" -o "$tmp/small.csv"
  has "$tmp/err" "target 'sdt4': 4 lanes" "rtl: the small model"
  [ "$(stat -c %s "$tmp/t.fst" 2>/dev/null || echo 0)" -gt 1000 ] && ok "--trace writes an FST file" || bad "no trace written"
  expect 0 "run the network on the spot" -- "$snnc" run "$tmp/small.yaml" --device rtl --target sdt4 -o "$tmp/small2.csv"
  cmp -s "$tmp/small.csv" "$tmp/small2.csv" && ok "network FILE and image give the same spikes" || bad "network FILE and image differ"
  expect 0 "sim small" -- "$snnc" sim "$tmp/small.yaml" -q -o "$tmp/small3.csv"
  cmp -s "$tmp/small.csv" "$tmp/small3.csv" && ok "small: the same CSV as snnc sim" || bad "small: rtl and sim differ"
  expect 0 "verify small on sdt4" -- "$snnc" verify "$tmp/small.yaml" --target sdt4
  has "$tmp/out" "^small on sdt4: [0-9]+ spikes in 3 steps, identical" "verify sdt4: identical"
  expect 1 "an image for another target" -- "$snnc" run "$tmp/small.snnb" --device rtl --target sdt
  has "$tmp/err" "built for target 'sdt4'" "rtl --target: the image's target checked"

  # What the rtl device refuses.
  sed -e 's/^name: sdt4/name: sdt8/' -e 's/lanes: 4/lanes: 8/' "$src/targets/sdt4.yaml" >"$tmp/sdt8.yaml"
  expect 0 "build for 8 lanes" -- "$snnc" build "$tmp/small.yaml" --target "$tmp/sdt8.yaml" -o "$tmp/small8.snnb"
  expect 1 "no model of 8 lanes" -- "$snnc" run "$tmp/small8.snnb" --device rtl
  has "$tmp/err" "this image is for an sdt with 8 lanes.*snnc's RTL models are: 4 lanes" "wrong configuration refused, models named"
  expect 1 "an sdt image on the emulator" -- "$snnc" run "$tmp/small.snnb" --device emu
  has "$tmp/err" "sdt image .*run it with --device rtl" "emu refuses sdt images"
  expect 0 "build cuba for spinn3" -- "$snnc" build "$src/examples/cuba.yaml" --target spinn3 -o "$tmp/cuba.snnb"
  expect 1 "a spinn image on the RTL" -- "$snnc" run "$tmp/cuba.snnb" --device rtl
  has "$tmp/err" "spinn image .*the rtl device runs sdt images" "rtl refuses spinn images"
  expect 2 "--trace without rtl" -- "$snnc" run "$tmp/cuba.snnb" --trace "$tmp/x.fst"
fi

finish

#!/usr/bin/env bash
# tests/cli/sdt.sh SNNC SRCDIR: `snnc build --target sdt` and `snnc inspect`
# of sdt images: the examples' layer graphs lowered and imaged, the image
# described (target, sections, descriptors), rebuilt byte for byte, a
# damaged image refused, and the errors of a network the family cannot take.
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

finish

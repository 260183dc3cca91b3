#!/usr/bin/env bash
# tests/cli/sdt_ops.sh SNNC SRCDIR: every layer op alone, `snnc verify`ed on the small
# accelerator (target sdt4: the reference simulator against the RTL, every output element of
# every step, bit for bit), each with its input at two spike densities and, where the op takes
# them, pixel counts.  Skipped when snnc has no RTL models.
set -uo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

# graph NAME INPUT-SHAPE INPUT-GENERATE LAYER-LINES...: a graph with T = 3, its last layer the
# output.
graph() {
  local name=$1 shape=$2 gen=$3; shift 3
  local last=${!#}
  last=${last#*name: }; last=${last%%,*}
  {
    printf 'snn: 1\nname: %s\nseed: 11\nlayers:\n  timesteps: 3\n  output: %s\n  nodes:\n' "$name" "$last"
    printf '    - {name: x, op: input, shape: %s, %s}\n' "$shape" "$gen"
    for l in "$@"; do printf '    - %s\n' "$l"; done
  } >"$tmp/$name.yaml"
}

w='generate: {lo: -0.5, hi: 1.0}'
ops=()
# case NAME SHAPE LAYER-LINES...: the op at density 0.15 and 0.6 of spikes.
case_() {
  local name=$1 shape=$2; shift 2
  for d in 0.15 0.6; do
    graph "${name}_$d" "$shape" "kind: spikes, generate: {density: $d}" "$@"
    ops+=("${name}_$d")
  done
}
case_ linear "[12, 6, 1]" "{name: fc, op: conv, in: x, channels: 10, $w}"
case_ conv3x3 "[5, 7, 6]" "{name: c, op: conv, in: x, channels: 7, kernel: 3, $w, bias: 0.2}"
case_ conv3x3_s2 "[5, 7, 7]" "{name: c, op: conv, in: x, channels: 6, kernel: 3, stride: 2, $w}"
case_ conv5x5_int4 "[4, 6, 6]" "{name: c, op: conv, in: x, channels: 5, kernel: 5, bits: 4, $w}"
case_ conv_pad0 "[4, 6, 6]" "{name: c, op: conv, in: x, channels: 5, kernel: 3, pad: 0, $w}"
case_ dw7x7 "[6, 8, 8]" "{name: c, op: conv, in: x, depthwise: true, kernel: 7, $w}"
case_ dw3x3_s2 "[6, 7, 7]" "{name: c, op: conv, in: x, depthwise: true, kernel: 3, stride: 2, $w}"
case_ lif "[6, 5, 5]" "{name: c, op: conv, in: x, channels: 6, $w}" \
  "{name: n, op: lif, in: c, tau: 4, threshold: 0.5}"
case_ ilif "[6, 5, 5]" "{name: c, op: conv, in: x, channels: 6, $w}" \
  "{name: n, op: ilif, in: c, decay: 0.5, d_max: 4}"
case_ add "[6, 5, 5]" "{name: a, op: conv, in: x, channels: 6, $w}" \
  "{name: b, op: conv, in: x, channels: 6, kernel: 3, $w}" "{name: s, op: add, in: [a, b]}"
case_ maxpool "[5, 9, 9]" "{name: m, op: maxpool, in: x}"
case_ maxpool_s1 "[5, 8, 8]" "{name: m, op: maxpool, in: x, kernel: 3, stride: 1}"
case_ sumpool "[5, 6, 6]" "{name: p, op: sumpool, in: x}"
case_ meanpool "[5, 6, 6]" "{name: p, op: sumpool, in: x, mean: true}"
case_ tokens "[8, 3, 4]" "{name: c, op: conv, in: x, channels: 8, kernel: 3, $w}" \
  "{name: t, op: tokens, in: c}" "{name: n, op: lif, in: t, threshold: 0.5}" \
  "{name: fc, op: conv, in: n, channels: 8, $w}"
case_ flatten "[3, 4, 4]" "{name: f, op: flatten, in: x}" "{name: fc, op: conv, in: f, channels: 10, $w}"
qkv=("{name: q, op: conv, in: x, channels: 8, $w}" "{name: ql, op: lif, in: q, threshold: 0.5}"
     "{name: k, op: conv, in: x, channels: 8, $w}" "{name: kl, op: lif, in: k, threshold: 0.5}"
     "{name: v, op: conv, in: x, channels: 8, $w}" "{name: vl, op: lif, in: v, threshold: 0.5}")
case_ sdsa1 "[8, 12, 1]" "${qkv[@]}" "{name: a, op: sdsa1, in: [ql, kl, vl]}"
case_ sdsa2 "[8, 12, 1]" "${qkv[@]}" "{name: a, op: sdsa2, in: [ql, kl, vl], heads: 2, scale: 0.5}"
# Pixels (counts, 0 .. 255): bit-serial accumulation, and pooling of counts.
graph stem_pixels "[3, 8, 8]" "kind: counts, generate: {}" \
  "{name: c, op: conv, in: x, channels: 6, kernel: 3, stride: 2, $w}"
graph maxpool_counts "[3, 8, 8]" "kind: counts, generate: {}" "{name: m, op: maxpool, in: x}"
graph sumpool_counts "[3, 8, 8]" "kind: counts, generate: {}" "{name: p, op: sumpool, in: x}"
ops+=(stem_pixels maxpool_counts sumpool_counts)

"$snnc" verify "$tmp/linear_0.15.yaml" --target sdt4 >"$tmp/out" 2>"$tmp/err"
if grep -q "built without" "$tmp/err"; then
  ok "no RTL models in this snnc: the ops are not verified on the RTL"
  finish
  exit
fi
# What the machine cannot take is refused by name, before anything runs.
graph bad_kernel "[4, 8, 8]" "kind: spikes, generate: {density: 0.5}" \
  "{name: m, op: maxpool, in: x, kernel: 2, stride: 2, pad: 0}"
expect 1 "a pooling window of 2" -- "$snnc" verify "$tmp/bad_kernel.yaml" --target sdt4
has "$tmp/err" "bad_kernel.yaml:9:7: error: layer 'm': kernel 2: it must be 1, 3, 5 or 7" "kernel 2 refused with its place"
graph bad_tokens "[8, 3, 4]" "kind: spikes, generate: {density: 0.5}" \
  "{name: t, op: tokens, in: x}" "{name: fc, op: conv, in: t, channels: 8, $w}"
expect 1 "tokens of spikes wider than a column" -- "$snnc" verify "$tmp/bad_tokens.yaml" --target sdt4
has "$tmp/err" "layer 'fc': reads the events of 't', tokens of a \[8, 3, 4\] tensor" "spike tokens refused with the reason"
graph too_big "[64, 16, 16]" "kind: spikes, generate: {density: 0.5}" \
  "{name: c, op: conv, in: x, channels: 64, kernel: 3, $w}" "{name: n, op: lif, in: c}"
expect 1 "a layer larger than sdt4's memories" -- "$snnc" verify "$tmp/too_big.yaml" --target sdt4
has "$tmp/err" "too_big.yaml:9:7: error: layer 'c': WMEM: its weights need 9216 words from word 0; WMEM has 4096 words" "WMEM overflow named with the layer and the limit"

for op in "${ops[@]}"; do
  expect 0 "verify $op on sdt4" -- "$snnc" verify "$tmp/$op.yaml" --target sdt4
  has "$tmp/out" "^$op on sdt4: [0-9]+ spikes in 3 steps, identical .*; [1-9][0-9]* output values compared" "$op: identical"
done
finish

#!/usr/bin/env bash
# tests/cli/layers.sh SNNC SRCDIR: layer graphs through `snnc check` and
# `snnc ir`: the examples check and print, the text reads back to itself,
# .npy arrays resolve from the file's folder and are held to their
# digest, and every mistake is an error at file:line:col (exit 1).
set -uo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

for f in convnet sdt_tiny; do
  expect 0 "check $f" -- "$snnc" check "$src/examples/$f.yaml"
  has "$tmp/out" "network '$f': [0-9]+ layers, [0-9]+ timesteps, output '[a-z]+' \[10, 1, 1\] q16: ok" "$f summary"
  expect 0 "ir $f" -- "$snnc" ir "$src/examples/$f.yaml" -o "$tmp/$f.ir"
  has "$tmp/$f.ir" '^node "[a-z0-9_]+" (input|conv|lif)' "$f has node lines"
  expect 0 "ir of $f.ir" -- "$snnc" ir "$tmp/$f.ir"
  cmp -s "$tmp/out" "$tmp/$f.ir" && ok "$f text reads back to itself" || bad "$f text differs"
  expect 0 "check $f.ir" -- "$snnc" check "$tmp/$f.ir"
done
expect 0 "check --quant of a layer graph" -- "$snnc" check --quant "$src/examples/convnet.yaml"
has "$tmp/out" "^conv1 +weight \(int8, per-channel scale\)" "--quant reports the weights"
has "$tmp/out" "^fc +weight \(int4, per-channel scale\)" "--quant reports int4 weights"
has "$tmp/out" "^lif1 +threshold" "--quant reports thresholds"
has "$tmp/out" "output 'fc' \[10, 1, 1\] q16" "convnet's head"
has "$tmp/out" "14 layers, 8 timesteps" "convnet's layers"

# snnc sim on a layer graph: every spiking layer's spikes, the head's mean over T.
expect 0 "sim sdt_tiny" -- "$snnc" sim "$src/examples/sdt_tiny.yaml" -o "$tmp/sdt1.csv"
has "$tmp/err" "^sdt_tiny: layer graph, 4 steps, fixed point" "sim summary"
has "$tmp/err" "^  b1_attn +4096 " "the SDSA v1 layer is reported"
has "$tmp/err" "output 'head' \[10, 1, 1\] q16, mean over 4 steps:" "the head's mean"
head -1 "$tmp/sdt1.csv" | grep -qx 'step,layer,c,y,x,value' && ok "spike file header" || bad "spike file header"
"$snnc" sim "$src/examples/sdt_tiny.yaml" -q -o "$tmp/sdt2.csv"
cmp -s "$tmp/sdt1.csv" "$tmp/sdt2.csv" && ok "sim of a layer graph is deterministic" || bad "sim differs between runs"
for l in b1_attn b2_attn_lif b1_fc1_lif; do
  n=$(grep -c ",$l," "$tmp/sdt1.csv")
  ((n > 100)) && ok "$l spikes ($n)" || bad "$l is nearly silent ($n spikes)"
done
expect 0 "sim --float of a layer graph" -- "$snnc" sim "$src/examples/convnet.yaml" --float -q
expect 2 "--v-out is not for layer graphs" -- "$snnc" sim "$src/examples/convnet.yaml" --v-out "$tmp/v.csv"

# .npy arrays: paths are relative to the file, and the text holds their digest.
mkdir "$tmp/g"
cp "$src"/tests/golden/layers_npy*.npy "$src/tests/golden/layers_npy.yaml" "$tmp/g/"
expect 0 "ir with .npy arrays" -- "$snnc" ir "$tmp/g/layers_npy.yaml" -o "$tmp/g/l.ir"
has "$tmp/g/l.ir" '^  weight "layers_npy_w.npy" fnv1a:[0-9a-f]{16}$' "a file array prints its path and digest"
(cd "$tmp" && "$snnc" ir g/l.ir >"$tmp/l2.ir") && cmp -s "$tmp/l2.ir" "$tmp/g/l.ir" &&
  ok "arrays resolve from the text's folder, not the working one" || bad "relative paths"
cp "$tmp/g/l.ir" "$tmp/moved.ir"
expect 1 "a moved text cannot find its arrays" -- "$snnc" ir "$tmp/moved.ir"
has "$tmp/err" "moved.ir:[0-9]+:[0-9]+: error: cannot read '.*layers_npy_x.npy'" "missing array at its line"
cp "$src/tests/golden/layers_npy_s.npy" "$tmp/g/layers_npy_w.npy"
expect 1 "a changed array is refused" -- "$snnc" ir "$tmp/g/l.ir"
has "$tmp/err" "l.ir:[0-9]+:[0-9]+: error: \"layers_npy_w.npy\" has changed since the text was written" "digest mismatch"
printf 'not numpy' >"$tmp/g/layers_npy_w.npy"
expect 1 "a malformed .npy" -- "$snnc" check "$tmp/g/layers_npy.yaml"
has "$tmp/err" "layers_npy.yaml:[0-9]+:[0-9]+: error: '.*layers_npy_w.npy', byte 0: not a .npy file" "malformed .npy named with its byte"

# Mistakes in the YAML, each at its place.
layer_error() { # NAME NODE PATTERN [LINE]: NODE (line 8) gives an error matching PATTERN at LINE
  cat >"$tmp/$1.yaml" <<YAML
snn: 1
name: $1
layers:
  timesteps: 2
  nodes:
    - {name: x, op: input, shape: [2, 8, 8], kind: spikes, generate: {density: 0.1}}
    - {name: c, op: conv, in: x, channels: 4, kernel: 3, generate: {lo: -1, hi: 1}}
    $2
YAML
  expect 1 "$1" -- "$snnc" check "$tmp/$1.yaml"
  has "$tmp/err" "$1.yaml:${4:-8}:[0-9]+: error: $3" "$1 message"
  has "$tmp/err" "\^" "$1 caret"
}
layer_error tau '- {name: l, op: lif, in: c, tau: 3}' "tau 3: tau must be a power of two"
layer_error tau_range '- {name: l, op: lif, in: c, tau: 1024}' "layer 'l': tau must be a power of two from 2 to 256"
layer_error unknown_key '- {name: l, op: lif, in: c, treshold: 1}' "unknown key 'treshold' in layer 'l' \(did you mean 'threshold'\?\)"
layer_error wrong_type '- {name: l, op: lif, in: c, threshold: high}' "'threshold': "
layer_error missing_file '- {name: d, op: conv, in: x, channels: 4, weight: nowhere.npy}' "cannot read '.*nowhere.npy': No such file"
layer_error unknown_input '- {name: l, op: lif, in: cc}' "no layer 'cc' above this one \(did you mean 'c'\?\)"
layer_error bad_op '- {name: l, op: lif2, in: c}' "unknown op 'lif2' \(did you mean 'lif'\?\)"
layer_error q16_conv '- {name: d, op: conv, in: c, channels: 4, generate: {}}' "layer 'd': a convolution takes spikes or counts, and 'c' gives q16"
layer_error heads '- {name: t, op: tokens, in: x}
    - {name: a, op: sdsa2, in: [t, t, t], heads: 3}' "layer 'a': 3 heads do not divide 2 channels" 9

cat >"$tmp/both.yaml" <<'YAML'
snn: 1
populations: {a: {size: 1, model: if}}
layers: {nodes: [{name: x, op: input, shape: [1, 1, 1], generate: {density: 1}}]}
YAML
expect 1 "populations and layers" -- "$snnc" check "$tmp/both.yaml"
has "$tmp/err" "both.yaml:2:1: error: a network has populations or layers, not both" "not both"

# Mistakes in the text form.
printf 'snn-ir 1\nnode "x" input\n  shape 1 1 1\n  kernel 3\nend\n' >"$tmp/bad.ir"
expect 1 "a statement of another op" -- "$snnc" ir "$tmp/bad.ir"
has "$tmp/err" "bad.ir:4:3: error: 'kernel' does not apply to a input layer" "text error at its place"
finish

#!/usr/bin/env bash
# tests/cli/build.sh SNNC SRCDIR: `snnc build` and `snnc inspect`: an
# image that passes inspection, byte-identical rebuilds, no partial image
# on failure, damaged and truncated images rejected with the byte and the
# reason, usage errors and exit codes.
set -uo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"

expect 0 "build --help" -- "$snnc" build --help
has "$tmp/out" "^usage: snnc build --target" "build help has usage"
expect 0 "inspect --help" -- "$snnc" inspect --help
has "$tmp/out" "^usage: snnc inspect" "inspect help has usage"
expect 0 "main help" -- "$snnc" --help
has "$tmp/out" "^  build FILE " "main help names build"
has "$tmp/out" "^  inspect IMG " "main help names inspect"

# Usage errors: exit 2.
expect 2 "build without -o" -- "$snnc" build "$src/examples/cuba.yaml" --target spinn3
has "$tmp/err" "missing -o FILE" "says -o is missing"
expect 2 "build without --target" -- "$snnc" build "$src/examples/cuba.yaml" -o "$tmp/x.snnb"
expect 2 "build --until is map's" -- "$snnc" build "$src/examples/cuba.yaml" --target spinn3 -o "$tmp/x.snnb" --until place
expect 2 "inspect without IMAGE" -- "$snnc" inspect
expect 2 "inspect, unknown option" -- "$snnc" inspect --all "$tmp/x.snnb"

# A build, inspected.
expect 0 "build cuba on spinn3" -- "$snnc" build "$src/examples/cuba.yaml" --target spinn3 \
  --neurons-per-core 64 -o "$tmp/cuba.snnb" --report "$tmp/cuba.json"
has "$tmp/out" "cuba.snnb: [0-9]+ bytes, 63 slices on 4 chips of spinn3" "build prints size, slices and chips"
has "$tmp/cuba.json" '"images": \{' "build writes the JSON report"
head -c 4 "$tmp/cuba.snnb" > "$tmp/magic"
[ "$(cat "$tmp/magic")" = "SNNB" ] && ok "image starts with SNNB" || bad "image magic is '$(cat "$tmp/magic")'"
expect 0 "inspect the image" -- "$snnc" inspect "$tmp/cuba.snnb"
has "$tmp/out" "spinn3" "inspect names the target"
has "$tmp/out" "exc" "inspect lists population exc"
has "$tmp/out" "inh" "inspect lists population inh"
expect 0 "inspect --sections" -- "$snnc" inspect --sections "$tmp/cuba.snnb"
[ "$(grep -ci 'dtcm' "$tmp/out")" -ge 63 ] && ok "--sections lists 63 DTCM sections" ||
  bad "--sections lists $(grep -ci 'dtcm' "$tmp/out") DTCM lines"

# The same input, the same bytes; another seed of the network changes them.
"$snnc" build "$src/examples/cuba.yaml" --target spinn3 --neurons-per-core 64 -q -o "$tmp/cuba2.snnb"
cmp -s "$tmp/cuba.snnb" "$tmp/cuba2.snnb" && ok "rebuild is byte-identical" || bad "rebuild differs"
sed 's/^seed: .*/seed: 99/' "$src/examples/cuba.yaml" > "$tmp/cuba99.yaml"
"$snnc" build "$tmp/cuba99.yaml" --target spinn3 --neurons-per-core 64 -q -o "$tmp/cuba99.snnb"
cmp -s "$tmp/cuba.snnb" "$tmp/cuba99.snnb" && bad "another seed gave the same image" || ok "another seed, another image"

# Damaged images: a flipped byte in a payload, in the header, a truncation.
size=$(stat -c %s "$tmp/cuba.snnb")
flip() { # file offset: xor one byte with 0x01, in place
  python3 - "$1" "$2" <<'PY'
import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, 'rb').read())
b[o] ^= 1
open(p, 'wb').write(b)
PY
}
cp "$tmp/cuba.snnb" "$tmp/bad.snnb"; flip "$tmp/bad.snnb" $((size - 100))
expect 1 "a flipped payload byte" -- "$snnc" inspect "$tmp/bad.snnb"
has "$tmp/err" "bad.snnb: error: byte [0-9]+: .*checksum" "names the byte and the checksum"
cp "$tmp/cuba.snnb" "$tmp/bad.snnb"; flip "$tmp/bad.snnb" 5
expect 1 "a flipped header byte" -- "$snnc" inspect "$tmp/bad.snnb"
has "$tmp/err" "bad.snnb: error: byte [0-9]+:" "names the byte"
head -c $((size / 2)) "$tmp/cuba.snnb" > "$tmp/short.snnb"
expect 1 "a truncated image" -- "$snnc" inspect "$tmp/short.snnb"
has "$tmp/err" "short.snnb: error: byte [0-9]+:" "truncation: names the byte"
printf 'not an image at all, not even close\n' > "$tmp/text.snnb"
expect 1 "not an image" -- "$snnc" inspect "$tmp/text.snnb"
expect 1 "no such image" -- "$snnc" inspect "$tmp/none.snnb"

# A network that does not fit leaves no image behind.
expect 1 "build that does not fit" -- "$snnc" build "$src/examples/cuba.yaml" --target spinn3 \
  --neurons-per-core 40 -o "$tmp/nofit.snnb"
[ ! -e "$tmp/nofit.snnb" ] && ok "no image after a failed build" || bad "a failed build left an image"
ls "$tmp" | grep -q 'nofit.snnb.tmp' && bad "a failed build left a temporary file" || ok "no temporary file left"

finish

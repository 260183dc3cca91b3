#!/usr/bin/env bash
# tests/golden/map/check.sh: one golden test of the mapper.
#
# Usage: check.sh SNNC INPUT.yaml
#
# The input's line `# map: ARGS` gives the options of the mapping (at
# least --target; a target file is named relative to the input's folder).
# Runs `SNNC map INPUT.yaml ARGS --dump-after all --verify -q` and
# compares the state after every pass, byte for byte, with the golden file
# beside the input (same name, extension .map), showing a diff when they
# differ.  With SNN_UPDATE_GOLDEN=1 the golden file is rewritten
# instead.  Exit status: 0 when it matches, 1 otherwise.
set -euo pipefail

die() {
    printf 'check.sh: %s\n' "$*" >&2
    exit 1
}

[[ $# -eq 2 ]] || die "usage: check.sh SNNC INPUT.yaml"
snnc=$1
input=$2
[[ -x $snnc ]] || die "not an executable: $snnc"
[[ -f $input ]] || die "no such input: $input"
golden=${input%.*}.map
line=$(grep -m1 '^# map: ' "$input") || die "$input has no '# map: ARGS' line"
read -r -a args <<<"${line#\# map: }"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/snn-golden.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
snnc=$(cd "$(dirname "$snnc")" && pwd)/$(basename "$snnc")
golden=$(cd "$(dirname "$golden")" && pwd)/$(basename "$golden")
cd "$(dirname "$input")"
input=$(basename "$input")

rc=0
"$snnc" map "$input" "${args[@]}" --dump-after all --verify -q >"$tmp/actual" 2>"$tmp/stderr" || rc=$?
if [[ $rc -ne 0 ]]; then
    printf 'check.sh: %s map %s %s failed with status %d:\n' "$snnc" "$input" "${args[*]}" "$rc" >&2
    cat "$tmp/stderr" >&2
    exit 1
fi

if [[ ${SNN_UPDATE_GOLDEN:-0} == 1 ]]; then
    if [[ -f $golden ]] && cmp -s "$golden" "$tmp/actual"; then
        printf 'check.sh: %s is up to date\n' "$golden"
    else
        cp -- "$tmp/actual" "$tmp/golden.new"
        mv -f -- "$tmp/golden.new" "$golden"
        printf 'check.sh: wrote %s\n' "$golden"
    fi
    exit 0
fi
[[ -f $golden ]] || die "no golden file $golden (run with SNN_UPDATE_GOLDEN=1 to create it)"
if ! cmp -s "$golden" "$tmp/actual"; then
    printf 'check.sh: %s map %s differs from %s:\n' "$snnc" "$input" "$golden" >&2
    diff -u --label "$golden (expected)" --label "snnc map $input (actual)" \
        "$golden" "$tmp/actual" >&2 || true
    printf 'check.sh: if the change is intended, rerun with SNN_UPDATE_GOLDEN=1\n' >&2
    exit 1
fi

#!/usr/bin/env bash
# tests/golden/check.sh: one golden test of the IR text form.
#
# Usage: check.sh SNNC INPUT.yaml
#
# Runs `SNNC ir INPUT.yaml` and compares its output byte for byte with the
# golden file beside the input (same name, extension .ir), showing a diff
# when they differ.  Then runs `SNNC ir` on the golden file itself, which
# must print the very same text (the text form is a valid input to
# `snnc ir` and reads back unchanged).
#
# With SNN_UPDATE_GOLDEN=1 in the environment the golden file is rewritten
# from the output instead of compared (the round trip is still checked).
#
# Exit status: 0 when everything matches, 1 otherwise (including usage
# errors and a failing snnc).
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
golden=${input%.*}.ir
[[ $golden != "$input" ]] || die "the input must not itself end in .ir: $input"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/snn-golden.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

# Runs `snnc ir FILE` into OUT; on failure shows snnc's messages and fails.
run_ir() {
    local file=$1 out=$2 rc=0
    "$snnc" ir "$file" >"$out" 2>"$tmp/stderr" || rc=$?
    if [[ $rc -ne 0 ]]; then
        printf 'check.sh: %s ir %s failed with status %d:\n' "$snnc" "$file" "$rc" >&2
        cat "$tmp/stderr" >&2
        exit 1
    fi
}

run_ir "$input" "$tmp/actual.ir"

if [[ ${SNN_UPDATE_GOLDEN:-0} == 1 ]]; then
    if [[ -f $golden ]] && cmp -s "$golden" "$tmp/actual.ir"; then
        printf 'check.sh: %s is up to date\n' "$golden"
    else
        cp -- "$tmp/actual.ir" "$tmp/golden.new"
        mv -f -- "$tmp/golden.new" "$golden"
        printf 'check.sh: wrote %s\n' "$golden"
    fi
else
    if [[ ! -f $golden ]]; then
        die "no golden file $golden (run with SNN_UPDATE_GOLDEN=1 to create it)"
    fi
    if ! cmp -s "$golden" "$tmp/actual.ir"; then
        printf 'check.sh: %s ir %s differs from %s:\n' "$snnc" "$input" "$golden" >&2
        diff -u --label "$golden (expected)" --label "snnc ir $input (actual)" \
            "$golden" "$tmp/actual.ir" >&2 || true
        printf 'check.sh: if the change is intended, rerun with SNN_UPDATE_GOLDEN=1\n' >&2
        exit 1
    fi
fi

# The golden text read back through the command prints itself.
run_ir "$golden" "$tmp/again.ir"
if ! cmp -s "$golden" "$tmp/again.ir"; then
    printf 'check.sh: %s ir %s does not print the same text back:\n' "$snnc" "$golden" >&2
    diff -u --label "$golden" --label "snnc ir $golden" "$golden" "$tmp/again.ir" >&2 || true
    exit 1
fi
exit 0

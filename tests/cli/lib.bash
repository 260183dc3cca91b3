# tests/cli/lib.bash: what every command-line test script shares.
# Sourced (not a test itself: ctest runs tests/cli/*.sh) after `set -uo
# pipefail`, with the script's arguments SNNC SRCDIR; sets snnc, src, a
# temporary directory tmp removed on exit, and the checks below.  A script
# ends with `finish`, which exits non-zero when any check failed.
snnc=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect STATUS DESCRIPTION -- COMMAND...: runs it, checks the exit status;
# its output is left in $tmp/out and $tmp/err.
expect() {
  local want=$1 what=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then ok "$what"; else
    bad "$what: exit $got, want $want"; sed 's/^/  | /' "$tmp/err" | head -n 20
  fi
}

# has FILE PATTERN DESCRIPTION: FILE has a line matching the extended regex.
has() {
  if grep -qE -- "$2" "$1"; then ok "$3"; else bad "$3: no /$2/ in:"; sed 's/^/  | /' "$1" | head -n 20; fi
}

# hasnt FILE PATTERN DESCRIPTION: no line of FILE matches the extended regex.
hasnt() {
  if grep -qE -- "$2" "$1"; then bad "$3: /$2/ found in:"; grep -E -- "$2" "$1" | sed 's/^/  | /' | head -n 5; else ok "$3"; fi
}

finish() {
  echo "$fails failure(s)"
  [ "$fails" -eq 0 ]
}

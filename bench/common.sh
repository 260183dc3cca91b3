# bench/common.sh: the options the benchmark scripts share; sourced by bench/emu/run.sh and
# bench/sdt/run.sh, not run.
#
# bench_options SELF ARGS...: reads --quick (one repeat, the script's short form), --repeat N
# and --help (prints SELF's header comment) into quick and repeat, and finds the snnc binary
# (SNNC, default build/tools/snnc) into snnc. A bad option exits 2, a missing snnc 1.
bench_options() {
  local self=$1
  shift
  quick=0 repeat=3
  while (($#)); do
    case "$1" in
      --quick) quick=1 repeat=1 ;;
      --repeat) repeat=${2:?--repeat needs a number}; shift ;;
      -h|--help) sed -n '2,/^set -e/p' "$self" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
      *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
  done
  [[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --repeat needs a positive integer" >&2; exit 2; }
  snnc=${SNNC:-build/tools/snnc}
  [ -x "$snnc" ] || { echo "run.sh: no snnc at '$snnc': run scripts/bootstrap" >&2; exit 1; }
}

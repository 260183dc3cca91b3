#!/usr/bin/env bash
# bench/sim/run.sh: the simulator benchmark of snnc against Brian2 (bench/README.md).
#
# Runs `snnc sim` on examples/cuba.yaml and examples/coba.yaml, fixed point and float64,
# for 1 s and 10 s of biological time, and Brian2 2.5.1 cpp_standalone on the same networks
# (bench/sim/brian2_bench.py); then the mean firing rates over seeds 1..40 of 10 s runs on
# both sides (a network's rate moves by about 5% from seed to seed, so the means of a few
# seeds differ by as much by chance; forty bring that to about 1%). Every snnc run is
# timed whole (wall clock around the process, peak RSS from GNU time -v). Before and after
# the timed runs a probe times snnc on two threads against one, which tells whether the
# machine gave the two threads a core each (see scaling() below). Raw outputs go to bench/out/sim/ (replaced on each run) and Brian2's
# generated projects to bench/out/brian2/; bench/sim/report.py prints the table and the
# summary from bench/out/sim/.
#
# usage: bench/sim/run.sh [--quick] [--repeat N] [--seeds N] [--snnc-threads N]
#                         [--brian2-threads N] [--no-brian2]
#   --quick             1 s runs only and seed 1 only (rates from 1 s): under a minute
#   --repeat N          timed runs per configuration, median reported (default 3)
#   --seeds N           rates over seeds 1..N (default 40)
#   --snnc-threads N    pass --threads N to snnc sim (default: snnc chooses, one thread
#                       per idle processor for networks this size)
#   --brian2-threads N  Brian2 with N OpenMP threads (default 1: no OpenMP)
#   --no-brian2         snnc only (the ratio and rate columns stay empty)
# environment: SNNC (default build/tools/snnc), PYTHON (default /usr/bin/python3, Debian's,
#   which has python3-brian).
# Needs: scripts/bootstrap --bench (Brian2, numpy, GNU time) and a built snnc.
set -euo pipefail
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

quick=0 repeat=3 nseeds=40 brian=1 bthreads=1 sthreads=()
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --repeat) repeat=${2:?--repeat needs a number}; shift ;;
    --seeds) nseeds=${2:?--seeds needs a number}; shift ;;
    --brian2-threads) bthreads=${2:?--brian2-threads needs a number}; shift ;;
    --snnc-threads) sthreads=(--threads "${2:?--snnc-threads needs a number}"); shift ;;
    --no-brian2) brian=0 ;;
    -h|--help) sed -n '2,/^set -e/p' "$self" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $repeat =~ ^[1-9][0-9]*$ && $bthreads =~ ^[1-9][0-9]*$ && $nseeds =~ ^[1-9][0-9]*$ ]] ||
  { echo "run.sh: --repeat, --seeds and --brian2-threads need positive integers" >&2; exit 2; }
omp=0   # brian2_bench.py --threads: 0 = no OpenMP
((bthreads > 1)) && omp=$bthreads

snnc=${SNNC:-build/tools/snnc}
python=${PYTHON:-/usr/bin/python3}
fail() { echo "run.sh: $*" >&2; exit 1; }
[ -x "$snnc" ] || fail "no snnc at '$snnc': run scripts/bootstrap (or set SNNC)"
[ -x /usr/bin/time ] || fail "GNU time missing: run scripts/bootstrap --bench"
for net in cuba coba; do [ -f "examples/$net.yaml" ] || fail "examples/$net.yaml missing"; done
if ((brian)); then
  "$python" -c 'import brian2' 2>/dev/null ||
    fail "$python cannot import brian2: run scripts/bootstrap --bench"
fi

if ((quick)); then durs=(1) seeds=(1) rate_dur=1; else durs=(1 10) seeds=($(seq 1 "$nseeds")) rate_dur=10; fi
out=bench/out/sim
rm -rf "$out" && mkdir -p "$out" bench/out/brian2
t_start=$EPOCHREALTIME
export PYTHONWARNINGS=ignore MPLCONFIGDIR="$root/bench/out/brian2/.mpl"

# Machine and versions, for the record.
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  # the form of the LIF slice steps snnc chooses here (abi/neuron_soa.h)
  flags=$(grep -m1 '^flags' /proc/cpuinfo)
  if [[ $flags == *" avx512f"* ]]; then isa=AVX-512; elif [[ $flags == *" avx2"* ]]; then isa=AVX2; else isa=portable; fi
  echo "neuron steps: $isa"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "snnc: $snnc ($("$snnc" --version 2>&1))"
  echo "cc: $(cc --version | head -1)"
  if ((brian)); then
    echo "brian2: $("$python" -c 'import brian2; print(brian2.__version__)' 2>/dev/null), $("$python" --version 2>&1)"
    echo "c++: $(c++ --version | head -1)"
  fi
  echo "quick: $quick, repeat: $repeat, snnc options: ${sthreads[*]:-none}, brian2 threads: $bthreads"
} > "$out/machine.txt"
echo "run.sh: raw outputs in $out/, machine and versions in $out/machine.txt"

# scaling WHEN: how much faster snnc runs COBA for 10 s on two threads than on one,
# now (median of 3 each, alternating), into machine.txt.  Two threads are worth about
# 1.6-1.8x where each has a core of its own; where a virtual machine's two vCPUs share
# one core, 1.1-1.5x, and every two-thread time of the benchmark is slower: the figure
# says which kind of machine the timings come from (report.py flags it below 1.5x).
scaling() {
  local k t0 t1 one=() two=()
  for k in 1 2 3; do
    for threads in 1 2; do
      t0=$EPOCHREALTIME
      "$snnc" sim examples/coba.yaml -q --steps 100000 --threads $threads ||
        fail "snnc failed in the scaling probe"
      t1=$EPOCHREALTIME
      if ((threads == 1)); then one+=("$t0 $t1"); else two+=("$t0 $t1"); fi
    done
  done
  printf '%s\n' "${one[@]}" | awk '{print $2 - $1}' | sort -g | sed -n 2p > "$out/probe_one"
  printf '%s\n' "${two[@]}" | awk '{print $2 - $1}' | sort -g | sed -n 2p > "$out/probe_two"
  echo "two threads against one ($1): $(paste "$out/probe_one" "$out/probe_two" |
    awk '{printf "%.2fx (%.3f s, %.3f s)", $1 / $2, $1, $2}')" >> "$out/machine.txt"
  rm -f "$out/probe_one" "$out/probe_two"
}
scaling "before the timed runs"

# snnc_run NET DUR ARITH SEED REP [-o FILE]: one whole `snnc sim` run. Writes
# NAME.err (the summary), NAME.time (GNU time -v) and NAME.wall (seconds, from bash's
# microsecond clock around the process: GNU time prints only hundredths).
snnc_run() {
  local net=$1 dur=$2 arith=$3 seed=$4 rep=$5; shift 5
  local name=$out/snnc_${net}_${dur}s_${arith}_seed${seed}_rep${rep} flag=()
  [ "$arith" = float ] && flag=(--float)
  local t0=$EPOCHREALTIME
  /usr/bin/time -v -o "$name.time" "$snnc" sim "examples/$net.yaml" "${flag[@]}" \
    --steps $((dur * 10000)) --seed "$seed" ${sthreads[@]+"${sthreads[@]}"} "$@" 2> "$name.err" ||
    fail "snnc failed, see $name.err"
  local t1=$EPOCHREALTIME
  echo "$t0 $t1" | awk '{printf "%.6f\n", $2 - $1}' > "$name.wall"
  printf '  snnc %-4s %3ss %-5s seed %s rep %s: %s s\n' "$net" "$dur" "$arith" "$seed" "$rep" "$(cat "$name.wall")"
}

echo "== snnc: timed runs (seed 1, spikes written with -o)"
for net in cuba coba; do
  for dur in "${durs[@]}"; do
    for arith in fixed float; do
      for ((r = 0; r < repeat; r++)); do
        snnc_run $net "$dur" $arith 1 $r -o "$out/spikes_${net}_${dur}s_${arith}.csv"
      done
    done
  done
done

scaling "after the timed runs"

echo "== snnc: rates, seeds ${seeds[0]}..${seeds[-1]} of ${rate_dur} s (seed 1 from the timed runs)"
for net in cuba coba; do
  for arith in fixed float; do
    for s in "${seeds[@]}"; do
      [ "$s" = 1 ] && continue
      snnc_run $net $rate_dur $arith "$s" 0
    done
  done
done

if ((brian)); then
  echo "== Brian2 cpp_standalone: one generated and compiled project per network and duration"
  for net in cuba coba; do
    for dur in "${durs[@]}"; do
      s=1
      [ "$dur" = "$rate_dur" ] && s=$(IFS=,; echo "${seeds[*]}")
      log=$out/brian2_${net}_${dur}s.log
      echo "  brian2 $net ${dur}s (seeds $s, first seed $repeat times)"
      "$python" bench/sim/brian2_bench.py --model $net --mode cpp --duration "$dur" \
        --seeds "$s" --repeat "$repeat" --threads $omp --dir bench/out/brian2 > "$log" 2>&1 ||
        fail "brian2_bench.py failed, see $log"
      grep '^RESULT' "$log" | sed 's/^RESULT /    /' |
        "$python" -c 'import sys, json
for l in sys.stdin:
    r = json.loads(l)
    print("    seed %(seed)s rep %(rep)s: sim_loop %(sim_loop_s)s s, compile %(compile_s)s s, rate %(rate_hz)s Hz" % r)'
    done
  done
fi

echo "$t_start $EPOCHREALTIME" | awk '{printf "%.1f\n", $2 - $1}' > "$out/elapsed_s"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
echo
"$python" bench/sim/report.py "$out"

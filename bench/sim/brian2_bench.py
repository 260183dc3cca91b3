#!/usr/bin/python3
"""The peer side of the simulator benchmark: the Vogels & Abbott (2005) CUBA and COBA
networks (Brette et al. 2007, benchmarks 1 and 2) in Brian2 2.5.1 (Debian's python3-brian),
with the same parameters as examples/cuba.yaml and examples/coba.yaml.

COBA: the variant of the BrainPy papers: 4000 LIF, 3200 E / 800 I, p = 80/N = 0.02,
      conductance-based exponential synapses (taue 5 ms, taui 10 ms, we = 0.6, wi = 6.7 in
      units of the leak conductance, Erev 0 / -80 mV), constant drive I = 20 mV,
      refractory 5 ms, Euler, dt = 0.1 ms, v0 ~ N(-55 mV, 5 mV).
CUBA: Brian2's examples/CUBA.py: current-based exponential synapses, El = -49 mV,
      we = 1.62 mV, wi = -9 mV, v0 ~ U(Vr, Vt), method 'linear' (exact).

usage: brian2_bench.py --model coba|cuba --mode numpy|cython|cpp --duration SECONDS
                       [--seeds 1,2,3] [--repeat R] [--threads N]

In cpp mode (cpp_standalone) the network is generated and compiled once; the seed of the
random generator is read from the binary's command line, so every seed of --seeds reuses
the same binary. The first seed is run R times (--repeat) for timing. Each run of ./main
is measured with GNU time (its wall time and peak RSS) and prints one line
    RESULT {json}
with the build figures (codegen_s, compile_s) and the run's own (sim_loop_s: the
Network::run loop as Brian2 measures it; run_binary_s; main_wall_s, main_rss_kb; spikes;
rate_hz, the mean rate over all 4000 neurons). The numpy and cython modes (runtime code
generation) run one seed once and report run_s instead, which includes code generation.

Writes only under --dir (default $BRIAN2_BENCH_DIR, else ./brian2-bench-out): the cython
cache and the standalone projects, one per model and duration.
"""
import argparse, json, os, re, time

ap = argparse.ArgumentParser()
ap.add_argument('--model', choices=['coba', 'cuba'], required=True)
ap.add_argument('--mode', choices=['numpy', 'cython', 'cpp'], required=True)
ap.add_argument('--duration', type=float, default=1.0, help='biological seconds')
ap.add_argument('--seeds', default='1', help='comma-separated seeds, e.g. 1,2,3,4,5')
ap.add_argument('--repeat', type=int, default=1, help='runs of the first seed (cpp mode)')
ap.add_argument('--threads', type=int, default=0,
                help='cpp_standalone OpenMP threads (0 = no OpenMP)')
ap.add_argument('--dir', default=os.environ.get('BRIAN2_BENCH_DIR', 'brian2-bench-out'))
args = ap.parse_args()
seeds = [int(s) for s in args.seeds.split(',') if s]
if not seeds or args.repeat < 1:
    ap.error('need at least one seed and --repeat >= 1')
if args.mode != 'cpp' and (len(seeds) > 1 or args.repeat > 1):
    ap.error('numpy and cython modes run one seed once')

ROOT = os.path.abspath(args.dir)
os.makedirs(ROOT, exist_ok=True)
os.environ.setdefault('MPLCONFIGDIR', ROOT + '/.mpl')

t_import0 = time.perf_counter()
from brian2.only import *          # brian2.only: no pylab import
import brian2
import numpy as np
t_import = time.perf_counter() - t_import0

prefs.logging.file_log = False
prefs.logging.save_script = False
prefs.codegen.runtime.cython.cache_dir = ROOT + '/cython_cache'
outdir = f'{ROOT}/standalone_{args.model}_{int(round(args.duration * 1000))}ms'
if args.mode == 'cpp':
    set_device('cpp_standalone', build_on_run=False)
    prefs.devices.cpp_standalone.openmp_threads = args.threads
    prefs.devices.cpp_standalone.extra_make_args_unix = ['-j2']
    # ./main runs under GNU time, so its own wall time and peak RSS are measured
    # without Python's start-up and the reading of the results.
    prefs.devices.cpp_standalone.run_cmd_unix = ['/usr/bin/time', '-v', '-o',
                                                 'results/main_time.txt', './main']
else:
    prefs.codegen.target = args.mode

defaultclock.dt = 0.1 * ms
if args.mode == 'cpp':
    # What seed() would generate, with the value taken from argv[1] at run time (the
    # generated main() has argc and argv in scope) so one binary serves every seed.
    nthreads = max(args.threads, 1)
    device.insert_code('main', f'for (int _i = 0; _i < {nthreads}; _i++) '
                       'rk_seed((argc > 1 ? atol(argv[1]) : 1L) + _i, '
                       'brian::_mersenne_twister_states[_i]);')
else:
    seed(seeds[0])

t_net0 = time.perf_counter()
N, NE = 4000, 3200
if args.model == 'coba':
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    Vt, Vr, El = -50 * mV, -60 * mV, -60 * mV
    Erev_exc, Erev_inh = 0. * mV, -80. * mV
    I = 20. * mV
    we, wi = 0.6, 6.7
    eqs = '''
    dv/dt  = (ge*(Erev_exc-v)+gi*(Erev_inh-v)-(v-El) + I)*(1./taum) : volt (unless refractory)
    dge/dt = -ge/taue : 1
    dgi/dt = -gi/taui : 1
    '''
    P = NeuronGroup(N, eqs, threshold='v>Vt', reset='v = Vr', refractory=5 * ms, method='euler')
    # Drawn by the generated code (not numpy at build time) so the run-time seed decides it.
    P.v = '-55*mV + 5*mV*randn()'
    Ce = Synapses(P[:NE], P, on_pre='ge += we')
    Ci = Synapses(P[NE:], P, on_pre='gi += wi')
    Ce.connect(p=80. / N)
    Ci.connect(p=80. / N)
else:
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    Vt, Vr, El = -50 * mV, -60 * mV, -49 * mV
    eqs = '''
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    '''
    P = NeuronGroup(N, eqs, threshold='v>Vt', reset='v = Vr', refractory=5 * ms, method='linear')
    P.v = 'Vr + rand() * (Vt - Vr)'
    P.ge = 0 * mV
    P.gi = 0 * mV
    we = (60 * 0.27 / 10) * mV
    wi = (-20 * 4.5 / 10) * mV
    Ce = Synapses(P, P, on_pre='ge += we')
    Ci = Synapses(P, P, on_pre='gi += wi')
    Ce.connect('i<3200', p=0.02)
    Ci.connect('i>=3200', p=0.02)
mon = SpikeMonitor(P)
t_net = time.perf_counter() - t_net0   # in standalone this only records the calls

base = dict(model=args.model, mode=args.mode, duration_s=args.duration,
            brian2=brian2.__version__, threads=max(args.threads, 1),
            import_s=round(t_import, 3))


def gnu_time(path):
    """Wall seconds and peak RSS (KiB) from a GNU time -v report."""
    with open(path) as f:
        text = f.read()
    m = re.search(r'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)', text)
    wall = 0.0
    for part in m.group(1).split(':'):
        wall = wall * 60 + float(part)
    rss = int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', text).group(1))
    return wall, rss


def report(res):
    nsp = int(mon.num_spikes)
    res['n_syn'] = int(len(Ce) + len(Ci))
    res['spikes'] = nsp
    res['rate_hz'] = round(nsp / N / args.duration, 4)
    print('RESULT ' + json.dumps(res), flush=True)


runs = [(seeds[0], r) for r in range(args.repeat)] + [(s, 0) for s in seeds[1:]]
t_run0 = time.perf_counter()
if args.mode == 'cpp':
    run(args.duration * second)
    t_run = time.perf_counter() - t_run0
    t_b0 = time.perf_counter()
    device.build(directory=outdir, compile=False, run=False)      # code generation only
    base['codegen_s'] = round(time.perf_counter() - t_b0 + t_run + t_net, 3)
    t_c0 = time.perf_counter()
    from brian2.codegen.cpp_prefs import get_compiler_and_args
    device.compile_source(outdir, compiler=get_compiler_and_args()[0], debug=False, clean=True)
    base['compile_s'] = round(time.perf_counter() - t_c0, 3)   # make clean + make -j2
    base['standalone_dir'] = outdir
    for s, rep in runs:
        t_r0 = time.perf_counter()
        device.run(outdir, with_output=False, run_args=[str(s)])
        res = dict(base, seed=s, rep=rep)
        res['run_binary_s'] = round(time.perf_counter() - t_r0, 3)  # incl. Brian2's NaN check
        res['sim_loop_s'] = round(device._last_run_time, 3)         # Network::run loop only
        res['main_wall_s'], res['main_rss_kb'] = gnu_time(outdir + '/results/main_time.txt')
        report(res)
else:
    run(args.duration * second)
    res = dict(base, seed=seeds[0], rep=0, net_construct_s=round(t_net, 3),
               run_s=round(time.perf_counter() - t_run0, 3))  # incl. code generation
    report(res)

#!/usr/bin/python3
"""Prints the tables and the summary of the simulator benchmark from the raw outputs that
bench/sim/run.sh leaves in its output directory (default bench/out/sim):

  snnc_NET_DURs_ARITH_seedS_repR.err   the `snnc sim` summary (standard error)
  snnc_NET_DURs_ARITH_seedS_repR.time  GNU time -v of that run (peak RSS)
  snnc_NET_DURs_ARITH_seedS_repR.wall  whole-run wall seconds
  brian2_NET_DURs.log                  brian2_bench.py's output, one RESULT line per run
  machine.txt, elapsed_s               the machine, versions and the benchmark's duration

Timings are medians over the repeats of seed 1; rates are means over the seeds of the
longest duration measured (rep 0 of each seed), with their standard errors: a seed draws
another network and another start, and one seed's rate differs from the mean by about 5%,
so only the means of many seeds can be held to 5%. The standard library only.

usage: report.py [DIR]
"""
import glob, json, os, re, statistics, sys

out = sys.argv[1] if len(sys.argv) > 1 else 'bench/out/sim'
RATIO_TARGET, RATE_TARGET = 3.0, 0.05


def read(path):
    with open(path) as f:
        return f.read()


def parse_snnc(base):
    """One snnc run: its summary figures, whole-run wall time and peak RSS."""
    err = read(base + '.err')
    head = re.search(r'^\S+: (\d+) steps of ([\d.]+) ms .*, (fixed point|float64), (\d+) thread',
                     err, re.M)
    if not head:
        sys.exit(f'report.py: no summary in {base}.err')
    pops = re.findall(r'^  (\S+)\s+(\d+)\s+(\d+)\s+[\d.]+$', err, re.M)
    ev = re.search(r'synaptic events (\d+) \(([\d.e+]+) per second', err)
    tm = re.search(r'time: setup ([\d.]+) s, simulation ([\d.]+) s', err)
    rss = re.search(r'Maximum resident set size \(kbytes\): (\d+)', read(base + '.time'))
    neurons = sum(int(p[1]) for p in pops)
    spikes = sum(int(p[2]) for p in pops)
    seconds = int(head.group(1)) * float(head.group(2)) / 1000
    return dict(threads=int(head.group(4)), wall_s=float(read(base + '.wall')),
                rss_kb=int(rss.group(1)), events=int(ev.group(1)),
                events_per_s=float(ev.group(2)), setup_s=float(tm.group(1)),
                sim_s=float(tm.group(2)), rate_hz=spikes / neurons / seconds)


snnc = {}    # (net, dur, arith, seed) -> [runs]
for err in sorted(glob.glob(os.path.join(out, 'snnc_*.err'))):
    m = re.match(r'snnc_(\w+?)_(\d+)s_(fixed|float)_seed(\d+)_rep(\d+)\.err$',
                 os.path.basename(err))
    key = (m.group(1), int(m.group(2)), m.group(3), int(m.group(4)))
    snnc.setdefault(key, []).append(parse_snnc(err[:-4]))

brian = {}   # (net, dur, seed) -> [RESULT dicts]
for log in sorted(glob.glob(os.path.join(out, 'brian2_*.log'))):
    for line in read(log).splitlines():
        if line.startswith('RESULT '):
            r = json.loads(line[7:])
            brian.setdefault((r['model'], int(round(r['duration_s'])), r['seed']), []).append(r)

if not snnc:
    sys.exit(f'report.py: no snnc results in {out}')
med = statistics.median
nets = [n for n in ('cuba', 'coba') if any(k[0] == n for k in snnc)]
durs = sorted({k[1] for k in snnc})
ARITH = {'fixed': 'fixed point', 'float': 'float64'}
summary = []

if os.path.exists(os.path.join(out, 'machine.txt')):
    print(read(os.path.join(out, 'machine.txt')).rstrip())
    print()

# Performance: medians over the repeats of seed 1.
print('Performance (seed 1; median of %d run(s) each; wall = the whole `snnc sim` process,'
      % max(len(v) for v in snnc.values()))
print('Brian2 = cpp_standalone, sim_loop_s = its Network::run loop only)')
print()
hdr = ('| network | bio s | simulator | threads | wall s | sim s | setup/compile s '
       '| syn. events/s | peak RSS MiB | Brian2 loop / snnc wall |')
print(hdr)
print('|' + '---|' * (hdr.count('|') - 1))
ratios = {}
for net in nets:
    for dur in durs:
        b = brian.get((net, dur, 1), [])
        b_loop = med([r['sim_loop_s'] for r in b]) if b else None
        for arith in ('fixed', 'float'):
            runs = snnc.get((net, dur, arith, 1))
            if not runs:
                continue
            wall = med([r['wall_s'] for r in runs])
            ratio = b_loop / wall if b_loop else None
            ratios[(net, dur, arith)] = (ratio, wall, runs[0]['threads'])
            print('| %s | %d | snnc %s | %d | %.3f | %.3f | %.3f | %.3g | %.1f | %s |' % (
                net, dur, ARITH[arith], runs[0]['threads'], wall,
                med([r['sim_s'] for r in runs]), med([r['setup_s'] for r in runs]),
                med([r['events_per_s'] for r in runs]), med([r['rss_kb'] for r in runs]) / 1024,
                '%.2fx' % ratio if ratio else '-'))
        if b:
            print('| %s | %d | Brian2 %s cpp_standalone | %d | %.3f (loop), %.3f (./main) | - '
                  '| %.1f + %.1f codegen | - | %.1f | - |' % (
                      net, dur, b[0]['brian2'], b[0]['threads'], b_loop,
                      med([r['main_wall_s'] for r in b]), b[0]['compile_s'],
                      b[0]['codegen_s'], med([r['main_rss_kb'] for r in b]) / 1024))
print()
print('Ratio = Brian2 sim_loop_s / snnc whole-run wall time (target >= %.0fx); '
      'snnc events/s = synaptic events per second of simulation time, from its summary.'
      % RATIO_TARGET)
print()

# Rates: means over the seeds of the longest duration, rep 0 of each seed.
rate_dur = max(k[1] for k in snnc if k[3] != 1) if any(k[3] != 1 for k in snnc) else durs[-1]
print('Mean firing rate over all 4000 neurons, Hz: mean over seeds of %d s runs '
      '(difference relative to Brian2; target within %.0f%%)' % (rate_dur, RATE_TARGET * 100))
print()
print('| network | seeds | Brian2 | snnc fixed point | diff | snnc float64 | diff |')
print('|---|---|---|---|---|---|---|')


def mean_se(xs):
    """Mean, its standard error and the standard deviation of one value."""
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return statistics.fmean(xs), sd / len(xs) ** 0.5, sd


spread = []
for net in nets:
    bs = sorted(s for (n, d, s) in brian if n == net and d == rate_dur)
    b_rates = [brian[(net, rate_dur, s)][0]['rate_hz'] for s in bs]
    b_mean, b_se, b_sd = mean_se(b_rates) if b_rates else (None, None, None)
    cells, seeds = [], set()
    for arith in ('fixed', 'float'):
        ss = sorted(s for (n, d, a, s) in snnc if n == net and d == rate_dur and a == arith)
        seeds |= set(ss)
        rates = [snnc[(net, rate_dur, arith, s)][0]['rate_hz'] for s in ss]
        mean, se, sd = mean_se(rates)
        if arith == 'fixed':
            spread.append('%s %.1f%%' % (net, 100 * sd / mean))
        # The two means are independent: their difference's error adds in quadrature.
        diff = (mean - b_mean) / b_mean if b_mean else None
        dse = (se ** 2 + b_se ** 2) ** 0.5 / b_mean if b_mean else None
        cells.append('%.3f ± %.3f | %s' % (
            mean, se, '%+.1f%% ± %.1f%%' % (diff * 100, dse * 100) if b_mean else '-'))
        summary.append(('rate', '%s %-11s: snnc %.3f Hz vs Brian2 %s Hz over %d seeds (%s)' % (
            net, ARITH[arith], mean, '%.3f' % b_mean if b_mean else '-', len(rates),
            '%+.1f%% ± %.1f%%, %s' % (diff * 100, dse * 100,
                                      'ok' if abs(diff) <= RATE_TARGET else 'MISSES 5%')
            if diff is not None else 'no Brian2 figure')))
    seeds_txt = '%d..%d' % (min(seeds), max(seeds)) if len(seeds) > 1 else str(min(seeds))
    print('| %s | %s | %s | %s | %s |' % (
        net, seeds_txt, '%.3f ± %.3f' % (b_mean, b_se) if b_mean else '-', cells[0], cells[1]))
print('(± = standard error of the mean over the seeds; one seed\'s rate has a standard '
      'deviation of %s of the mean, snnc fixed point)' % ', '.join(spread))
print()

# The summary block, to paste into a note.
elapsed = os.path.join(out, 'elapsed_s')
print('---- summary ----')
def threads_txt(ts):
    ts = sorted(ts)
    return '%s thread%s' % ('/'.join(map(str, ts)), '' if ts == [1] else 's') if ts else '-'


print('snnc sim (reference simulator, %s) vs %s, CUBA/COBA 4000 neurons, dt 0.1 ms:' % (
    threads_txt({t for (_, _, t) in ratios.values()}),
    'Brian2 %s cpp_standalone (%s)' % (next(iter(brian.values()))[0]['brian2'],
                                       threads_txt({r[0]['threads'] for r in brian.values()}))
    if brian else 'no Brian2 runs'))
for (net, dur, arith), (ratio, wall, _) in ratios.items():   # in table order
    print('  %s %2d s %-11s: snnc whole run %.3f s; Brian2 loop / snnc = %s' % (
        net, dur, ARITH[arith], wall,
        '%.2fx (%s)' % (ratio, 'meets 3x' if ratio >= RATIO_TARGET else 'below 3x')
        if ratio else '-'))
for _, line in summary:
    print('  rate ' + line)
# The scaling probes of run.sh: snnc on two threads against one, around the timed runs.
machine = read(os.path.join(out, 'machine.txt')).splitlines() \
    if os.path.exists(os.path.join(out, 'machine.txt')) else []
for line in machine:
    if line.startswith('neuron steps:'):
        print('  ' + line + ' (the vector form of the LIF steps on this processor)')
for line in (l for l in machine if l.startswith('two threads against one')):
    x = float(line.split(': ')[1].split('x')[0])
    print('  %s%s' % (line, '' if x >= 1.5 else
                      ': the two vCPUs seemed to share a core, two-thread timings are slow'))
if os.path.exists(elapsed):
    print('  benchmark took %s s' % read(elapsed).strip())

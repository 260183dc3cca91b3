#!/usr/bin/env python3
"""Writes the mapper benchmark's synthetic network as snnc YAML.

N populations of SIZE lif_curr_exp neurons; each ordered pair of distinct
populations is joined, with probability PAIR_P, by a fixed_probability
projection of probability P.  With the defaults (1,000 populations of
4,096 neurons, 0.04, 0.0001) that is about 40,000 projections and 67
million synapses: 16,000 slices at 256 neurons per core.  The pairs come
from Python's seeded generator, so the same arguments give the same file.
"""
import argparse
import random
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pops", type=int, default=1000, help="populations (default 1000)")
    ap.add_argument("--size", type=int, default=4096, help="neurons per population (default 4096)")
    ap.add_argument("--pair-p", type=float, default=0.04,
                    help="probability that an ordered pair of populations is connected (0.04)")
    ap.add_argument("--p", type=float, default=0.0001,
                    help="connection probability of each projection (0.0001)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the pair choice and the network")
    ap.add_argument("-o", "--output", default="-", help="output file (default standard output)")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    width = len(str(a.pops - 1))
    name = lambda i: "p%0*d" % (width, i)
    out = sys.stdout if a.output == "-" else open(a.output, "w")
    w = out.write
    w("# Mapper benchmark network (bench/map/synthetic.py --pops %d --size %d --pair-p %g "
      "--p %g --seed %d)\n" % (a.pops, a.size, a.pair_p, a.p, a.seed))
    w("snn: 1\nname: synthetic_%d_%d\ntimestep: 1 ms\nduration: 0 ms\nseed: %d\n\n"
      % (a.pops, a.size, a.seed))
    w("populations:\n")
    for i in range(a.pops):
        w("  %s: {size: %d, model: lif_curr_exp}\n" % (name(i), a.size))
    w("\nprojections:\n")
    first = True
    n = 0
    for i in range(a.pops):
        for j in range(a.pops):
            if i == j or rng.random() >= a.pair_p:
                continue
            if first:
                w("  - &proj {pre: %s, post: %s, connector: {fixed_probability: %r}, "
                  "weight: 0.1 nA, delay: 1 ms}\n" % (name(i), name(j), a.p))
                first = False
            else:
                w("  - {<<: *proj, pre: %s, post: %s}\n" % (name(i), name(j)))
            n += 1
    if first:
        w("  []\n")
    if out is not sys.stdout:
        out.close()
    print("synthetic.py: %d populations of %d neurons, %d projections" % (a.pops, a.size, n),
          file=sys.stderr)


if __name__ == "__main__":
    main()

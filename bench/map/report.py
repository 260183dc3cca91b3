#!/usr/bin/env python3
"""Prints the mapper benchmark's tables from bench/map/run.sh's outputs.

usage: bench/map/report.py [DIR]   (default bench/out/map)
"""
import json
import os
import re
import sys

# The SpiNNaker mapping tools on the synthetic network (the same network and machine size,
# a 2-core 24 GiB machine), as published with the mapper's requirements; they are not in
# Debian, so they are quoted, not run.
PEER = {
    "place_route_keys_tables_s": 27.0,
    "peak_mb": 342,
    "entries_before": 334803,
    "largest_before": 732,
    "pair": {"seconds": 43.7, "total": 104567, "largest": 182},
    "ordered_covering": {"seconds": 76.0, "total": 212938, "largest": 408},
}
FAST_PASSES = ("place", "route", "keys", "tables", "compress")


def load(d, label):
    path = os.path.join(d, label + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        r = json.load(f)
    r["passes"] = {p["name"]: p["seconds"] for p in r["passes"]}
    tpath = os.path.join(d, label + ".time")
    r["rss_mb"] = None
    r["wall_s"] = None
    if os.path.exists(tpath):
        t = open(tpath).read()
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)
        if m:
            r["rss_mb"] = int(m.group(1)) / 1024.0
        m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", t)
        if m:
            r["wall_s"] = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return r


def fmt_s(v):
    return "-" if v is None else "%.3f s" % v


def synthetic(r):
    fast = sum(r["passes"].get(p, 0.0) for p in FAST_PASSES)
    before, after = r["router"]["before"], r["router"]["after"]
    print("## Synthetic: %s, %d slices, %d edges, %d synapses on %s (%d chips)"
          % (r["network"], r["slices"], r["edges"], r["synapses"], r["target"]["name"],
             r["target"]["chips"]))
    print()
    print("| | snnc | SpiNNaker tools (published) |")
    print("|---|---|---|")
    for p in ("partition",) + FAST_PASSES:
        print("| %s | %s | |" % (p, fmt_s(r["passes"].get(p))))
    print("| place + route + keys + tables | %s | %.1f s |"
          % (fmt_s(fast - r["passes"].get("compress", 0.0)), PEER["place_route_keys_tables_s"]))
    print("| compress (min) | %s | pair %.1f s, ordered covering %.1f s |"
          % (fmt_s(r["passes"].get("compress")), PEER["pair"]["seconds"],
             PEER["ordered_covering"]["seconds"]))
    print("| router entries before compression | %d (largest %d) | %d (largest %d) |"
          % (before["total"], before["max"], PEER["entries_before"], PEER["largest_before"]))
    print("| router entries after | %d (largest %d) | pair %d (largest %d), ordered covering %d (largest %d) |"
          % (after["total"], after["max"], PEER["pair"]["total"], PEER["pair"]["largest"],
             PEER["ordered_covering"]["total"], PEER["ordered_covering"]["largest"]))
    print("| peak memory, whole run | %s | %d MB |"
          % ("-" if r["rss_mb"] is None else "%.0f MB" % r["rss_mb"], PEER["peak_mb"]))
    print("| whole run (parse, partition, ...) | %s | |" % fmt_s(r["wall_s"]))
    print()
    ok_t = fast < 1.0
    ok_m = r["rss_mb"] is not None and r["rss_mb"] < 1024
    ok_e = after["total"] <= PEER["pair"]["total"] and after["max"] <= PEER["pair"]["largest"]
    print("targets: place..compress under 1 s: %s (%.3f s); whole run under 1 GB: %s; "
          "entries no worse than the pair compressor's: %s"
          % ("met" if ok_t else "NOT met", fast, "met" if ok_m else "NOT met",
             "met" if ok_e else "NOT met"))
    print()


def fmt_mb(v):
    return "-" if v is None else "%.0f MB" % v


def with_layout(r):
    im = r.get("images")
    if not im:
        return
    print("With the layout pass (every core's image): layout %s, whole run %s, peak memory %s; "
          "images: DTCM %.0f MB, SDRAM blocks %.0f MB (%.0f MB of rows and spike times stored)"
          % (fmt_s(r["passes"].get("layout")), fmt_s(r["wall_s"]), fmt_mb(r["rss_mb"]),
             im["dtcm_bytes"] / 2**20, im["sdram_bytes"] / 2**20,
             im["sdram_stored_bytes"] / 2**20))
    print()


def microcircuit(r):
    print("## Potjans-Diesmann microcircuit on %s" % r["target"]["name"])
    print()
    print("%d neurons in %d slices on %d chips, %d synapses; whole run %s, peak memory %s "
          "(targets: 60 s, 8 GB)"
          % (sum(p["neurons"] for p in r["populations"]), r["slices"], r["chips_used"],
             r["synapses"], fmt_s(r["wall_s"]),
             "-" if r["rss_mb"] is None else "%.0f MB" % r["rss_mb"]))
    print("passes: " + ", ".join("%s %.3f s" % (k, v) for k, v in r["passes"].items()))
    im = r.get("images")
    if im:
        print("images: DTCM %.0f MB, SDRAM blocks %.0f MB (%.0f MB of rows and spike times)"
              % (im["dtcm_bytes"] / 2**20, im["sdram_bytes"] / 2**20,
                 im["sdram_stored_bytes"] / 2**20))
    print()


def sweep(d):
    rows = []
    for f in os.listdir(d):
        m = re.match(r"sweep_(\d+)\.json$", f)
        if m:
            rows.append((int(m.group(1)), load(d, "sweep_" + m.group(1))))
    if not rows:
        return
    rows.sort()
    print("## Scaling sweep")
    print()
    print("| populations | chips | slices | edges | synapses | partition | place..compress | entries after (largest) | whole run | peak memory |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, r in rows:
        fast = sum(r["passes"].get(p, 0.0) for p in FAST_PASSES)
        print("| %d | %d | %d | %d | %d | %s | %s | %d (%d) | %s | %s |"
              % (n, r["target"]["chips"], r["slices"], r["edges"], r["synapses"],
                 fmt_s(r["passes"].get("partition")), fmt_s(fast),
                 r["router"]["after"]["total"], r["router"]["after"]["max"], fmt_s(r["wall_s"]),
                 "-" if r["rss_mb"] is None else "%.0f MB" % r["rss_mb"]))
    print()


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "bench/out/map"
    r = load(d, "synthetic")
    if r:
        synthetic(r)
    r = load(d, "synthetic_layout")
    if r:
        with_layout(r)
    r = load(d, "potjans_diesmann")
    if r:
        microcircuit(r)
    sweep(d)


if __name__ == "__main__":
    main()

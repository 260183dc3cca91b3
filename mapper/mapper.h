/*
 * mapper/mapper.h: from a network to a SpiNNaker-like machine.
 *
 * The mapper decides where every neuron and synapse lives and how spikes
 * reach them.  It is a straight line of passes over one struct snn_map:
 *
 *   pass       requires              provides
 *   partition  -                     slices, edges, resources per slice
 *   place      slices, edges         a core for every slice
 *   route      placement             a multicast tree for every source slice
 *   keys       placement             a key and mask for every slice
 *   tables     routes, keys          per-chip routing tables
 *   compress   tables                the same tables, smaller, proved equivalent
 *   layout     placement, keys       every core's memory image
 *
 * Each pass is one file (mapper/<pass>.c), states the facts it requires
 * and provides (SNN_MAP_HAVE_*), and can print its state
 * (`snnc map --dump-after=PASS`).  mapper/map.c is the driver: it checks
 * the facts, times every pass, and with opt.verify (the default in
 * debug builds, SNN_DEBUG; `snnc map --verify`) runs snn_map_verify()
 * after each one.
 *
 * Terms.
 *   slice   neurons [lo, lo + n) of one population, run by one core.
 *   edge    a (pre slice, post slice) pair joined by at least one synapse;
 *           the pre slice's spikes must reach the post slice's core.
 *   key     a slice's neuron i (0 .. n-1 within the slice) sends multicast
 *           packets with key `slice.key | i`; slice.mask keeps the bits
 *           above the neuron index, so (key, mask) matches exactly the
 *           slice's packets.
 *   route   a route word: bit L (0 .. 5) sends out of link L (numbered as
 *           in target/target.h), bit 6 + c delivers to core c of the chip.
 *
 * Memory: a map owns one arena (map->arena) holding every array below;
 * they live until snn_map_free().  The network and the machine are
 * borrowed and must outlive the map.
 */
#ifndef SNN_MAPPER_MAPPER_H
#define SNN_MAPPER_MAPPER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"
#include "support/diag.h"
#include "target/target.h"

struct snn_arena;
struct snn_qnet;

/* ---- route words --------------------------------------------------------- */

/* A route word is 64 bits: six links, then one bit per core, so a chip of
 * up to 58 cores can be routed (SpiNNaker's own word holds 6 + 18 in 32
 * bits; the image format stores what the target needs). */
#define SNN_ROUTE_LINK(l) ((uint64_t)1 << (l))
#define SNN_ROUTE_CORE(c) ((uint64_t)1 << (6u + (c)))
#define SNN_ROUTE_LINKS 0x3Fu
#define SNN_ROUTE_MAX_CORES 58u

/* ---- options --------------------------------------------------------------*/

enum snn_compress_mode {
    SNN_COMPRESS_FIT, /* stop as soon as every table fits the router */
    SNN_COMPRESS_MIN, /* as small as the compressor can make every table */
    SNN_COMPRESS_NONE /* leave the tables as generated */
};

struct snn_map_options {
    uint64_t seed;             /* placement's tie-breaking; default the network's */
    uint32_t neurons_per_core; /* at most this many per slice; 0: the target's limit */
    double rate_hz;            /* firing rate assumed for neuron populations when
                                * estimating traffic and synaptic events (spike
                                * sources use their own); default 10 Hz */
    enum snn_compress_mode compress;
    bool verify;               /* run snn_map_verify() after every pass; default
                                * on in debug builds (SNN_DEBUG) */
};

/* The defaults above, seed 0. */
void snn_map_options_init(struct snn_map_options *o);

/* ---- the state the passes fill ------------------------------------------- */

/* What partition computes for a slice, and the budget it was held to. */
struct snn_slice_use {
    uint32_t dtcm_bytes;       /* neuron state and parameters, ring buffers, key table */
    uint32_t ring_slots;       /* delay slots of the ring buffers (a power of two) */
    uint32_t n_in_edges;       /* incoming edges: entries of the key table */
    uint64_t sdram_bytes;      /* the slice's synaptic rows and row index */
    uint64_t n_synapses_in;    /* synapses ending on the slice */
    double events_per_step;    /* expected synaptic events per timestep */
    double packets_per_step;   /* expected spikes the slice sends per timestep */
};

struct snn_slice {
    uint32_t pop;     /* index in net->pops */
    uint32_t lo, n;   /* neurons [lo, lo + n) of the population; n >= 1 */
    struct snn_slice_use use;
    /* place */
    uint16_t x, y;    /* the chip */
    uint8_t core;     /* an application core of that chip */
    /* keys */
    uint32_t key, mask;
};

/* Slices joined by synapses.  Sorted by (pre, post); at most one edge per
 * pair, summing every projection between the two populations. */
struct snn_edge {
    uint32_t pre, post;  /* slice indices */
    uint32_t n_rows;     /* pre neurons with at least one synapse on the post slice */
    uint32_t n_synapses; /* synapses from the pre slice onto the post slice */
};

/* One chip of a source slice's multicast tree. */
struct snn_hop {
    uint32_t chip;  /* y * width + x */
    int8_t in_link; /* the link of this chip the packet arrives on; -1 at the source chip */
    uint64_t route; /* where the chip sends it: links and cores */
};

struct snn_rentry {
    uint32_t key, mask;
    uint64_t route;
    uint32_t source; /* a slice sending through it (the first one, after merging) */
};

/* One chip's routing table, in priority order (first match wins). */
struct snn_rtable {
    struct snn_rentry *e;
    uint32_t n;
    uint32_t n_before;  /* entries before compression */
};

/* What layout writes for one core (abi/core_image.h, docs/core-image.md). */
struct snn_core_image {
    uint32_t *dtcm;         /* the DTCM image: header, parameters, state, key table */
    uint32_t dtcm_words;
    uint32_t *sdram;        /* the SDRAM block's stored part: row indices and rows,
                             * spike times; the recording regions after them are
                             * not stored (the loader zeroes them) */
    uint32_t sdram_words;
    uint32_t sdram_bytes;   /* the whole block, recording regions included */
    uint64_t chip_offset;   /* where the block starts in its chip's SDRAM: the
                             * chip's cores' blocks in core order, from 0 */
};

enum snn_map_pass {
    SNN_PASS_PARTITION,
    SNN_PASS_PLACE,
    SNN_PASS_ROUTE,
    SNN_PASS_KEYS,
    SNN_PASS_TABLES,
    SNN_PASS_COMPRESS,
    SNN_PASS_LAYOUT,
    SNN_PASS_COUNT
};

/* Facts a pass provides (bit = 1 << pass). */
#define SNN_MAP_HAVE(pass) (1u << (pass))

struct snn_map {
    struct snn_arena *arena;
    const struct snn_net *net;
    const struct snn_machine *m; /* indexed (snn_machine_index) */
    struct snn_map_options opt;
    unsigned have;               /* SNN_MAP_HAVE(pass) for every pass run */

    /* partition */
    struct snn_slice *slices;
    uint32_t n_slices;
    uint32_t *pop_slice;         /* n_pops + 1: pop p's slices are [pop_slice[p], pop_slice[p+1]) */
    struct snn_edge *edges;
    uint64_t n_edges;
    uint64_t *edge_first;        /* n_slices + 1: slice s's outgoing edges are
                                  * edges[edge_first[s] .. edge_first[s+1]) */

    /* route: slice s's tree is hops[hop_first[s] .. hop_first[s+1]), the
     * source chip first, every chip after the one it is reached from.
     * A slice with no outgoing edge has an empty tree. */
    struct snn_hop *hops;
    uint64_t n_hops;
    uint64_t *hop_first;         /* n_slices + 1 */
    /* route: expected packets per timestep over each link, summed over
     * the trees that use it; link L of chip c at [c * 6 + L]. */
    double *link_packets;

    /* tables: width * height tables, chip (x, y) at y * width + x */
    struct snn_rtable *tables;

    /* layout: slice s's core image at images[s]; q is the quantized
     * network the images were made from */
    struct snn_core_image *images;
    struct snn_qnet *q;

    /* the driver: seconds each pass took */
    double pass_seconds[SNN_PASS_COUNT];
};

/* ---- the driver -------------------------------------------------------- */

/* "partition", "place", ...; NULL out of range. */
const char *snn_map_pass_name(enum snn_map_pass p);
/* The pass of a name, or -1. */
int snn_map_pass_lookup(const char *name);

/* A new map of net (verified) onto m (verified and indexed) with options
 * o (NULL: defaults).  0 and *out, or SNN_ENOMEM. */
int snn_map_new(const struct snn_net *net, const struct snn_machine *m,
                const struct snn_map_options *o, struct snn_map **out);
void snn_map_free(struct snn_map *map);

/* Runs the passes in order up to and including last (SNN_PASS_COUNT - 1
 * for all), skipping those already run.  After each pass p whose bit
 * SNN_MAP_HAVE(p) is set in dump_after, its state is printed to dump.
 * 0, or the first failing pass's error (reported to d): SNN_ENOMEM,
 * SNN_ETOOBIG (does not fit; the message names the resource, the
 * population, what is needed and available, and what to try),
 * SNN_EUNSUPPORTED. */
int snn_map_run(struct snn_map *map, enum snn_map_pass last, unsigned dump_after, FILE *dump,
                struct snn_diag *d);

/* The passes, each callable alone once its requirements hold. */
int snn_map_partition(struct snn_map *map, struct snn_diag *d);
int snn_map_place(struct snn_map *map, struct snn_diag *d);
int snn_map_route(struct snn_map *map, struct snn_diag *d);
int snn_map_keys(struct snn_map *map, struct snn_diag *d);
int snn_map_tables(struct snn_map *map, struct snn_diag *d);
int snn_map_compress(struct snn_map *map, struct snn_diag *d);
int snn_map_layout(struct snn_map *map, struct snn_diag *d);

/* Prints the state a pass provides, in a stable text form (golden tests). */
void snn_map_dump(const struct snn_map *map, enum snn_map_pass p, FILE *out);

/* ---- the report ---------------------------------------------------------- */

/* What `snnc map` reports (docs/mapping.md, "The report"), from the facts
 * present; fields of passes not run are 0. */
struct snn_map_summary {
    uint32_t n_slices;
    uint32_t cores_used, chips_used;
    uint64_t n_edges, n_synapses;
    uint64_t dtcm_total, sdram_total;  /* bytes, all slices */
    uint32_t dtcm_max;                 /* the fullest core */
    uint64_t sdram_chip_max;           /* the fullest chip */
    double events_max;                 /* synaptic events per step, busiest core */
    uint64_t entries_before, entries_after;       /* all chips */
    uint32_t entries_before_max, entries_after_max; /* the largest table */
    uint32_t tables_used;              /* chips with at least one entry */
    double link_max;                   /* packets per step over the busiest link */
    uint32_t link_max_x, link_max_y, link_max_link;
    uint64_t n_hops;
    /* layout: all cores' DTCM images, SDRAM blocks, and what of the blocks
     * is stored (rows and spike times; recording regions are not) */
    uint64_t image_dtcm_bytes, image_sdram_bytes, image_sdram_stored_bytes;
};

void snn_map_summarize(const struct snn_map *map, struct snn_map_summary *s);

/* The human report: per population its slices, then the summary and each
 * pass's time.  peak_bytes (the process's peak memory; 0: unknown) and
 * total_s (the whole run; 0: unknown) are printed when known. */
void snn_map_report_text(const struct snn_map *map, uint64_t peak_bytes, double total_s,
                         FILE *out);
/* The same as one JSON object (docs/mapping.md, "The JSON report"). */
void snn_map_report_json(const struct snn_map *map, uint64_t peak_bytes, double total_s,
                         FILE *out);

/* Checks every invariant of the facts present (docs/mapping.md,
 * "Invariants"): slices cover each population exactly once and respect
 * every limit; edges are sorted and match the slices; every slice is on a
 * usable application core, one slice per core; keys are disjoint; every
 * tree is connected, uses only working links and delivers to exactly the
 * cores of the slice's edges; and following the tables from every
 * source delivers every key exactly where its tree says.  Each violation
 * is reported to d.  0, SNN_EINVAL (a broken invariant) or SNN_ENOMEM. */
int snn_map_verify(const struct snn_map *map, struct snn_diag *d);

#endif

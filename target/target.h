/*
 * target/target.h: machine descriptions of the SpiNNaker-like family.
 *
 * A struct snn_machine is plain data: a grid of chips joined by six links
 * each (a triangular mesh, wrapped into a torus or not), the cores and
 * memories of every chip, the router's table size, the per-core limits
 * the mapper must respect, and the parts known to be dead.  It is filled
 * by hand or by the front end's target parser (frontend/target_yaml.c,
 * format in docs/targets.md); nothing here parses text.
 *
 * Lifecycle:
 *   snn_machine_new()      an empty machine with SpiNNaker's defaults
 *   ... fill the fields (strings and lists may live in m->arena) ...
 *   snn_machine_verify()   every rule, each broken one reported to a sink
 *   snn_machine_index()    builds the per-chip table the queries below use
 *   snn_machine_*()        queries, O(1) each
 *   snn_machine_free()
 *
 * Geometry.  Chip (x, y) has links numbered as on SpiNNaker:
 *
 *     link  name  to chip
 *       0    E    (x+1, y)
 *       1    NE   (x+1, y+1)
 *       2    N    (x,   y+1)
 *       3    W    (x-1, y)
 *       4    SW   (x-1, y-1)
 *       5    S    (x,   y-1)
 *
 * Link L of a chip and link (L+3) mod 6 of its neighbour are the two ends
 * of one physical link.  With wrap the coordinates are taken modulo the
 * width and height; without it a link off the grid leads nowhere.  A
 * link leads to a usable neighbour only when both chips exist and work
 * and the link is not dead at either end (a dead link is dead both ways,
 * so every route can be reversed).
 *
 * Cores.  Of a working chip's working cores, the lowest-numbered
 * monitor_cores run the system's monitor (core 0 normally; on SpiNNaker
 * the monitor is picked among the cores that passed their self-test), and
 * the rest are application cores, the ones the mapper may use.
 *
 * Memory: a machine owns one arena (m->arena); name, family, description,
 * the dead lists and the index point into it and live until
 * snn_machine_free().
 */
#ifndef SNN_TARGET_TARGET_H
#define SNN_TARGET_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

struct snn_arena;

/* ---- limits and SpiNNaker's values ------------------------------------- */

/* Largest grid side: SpiNNaker addresses a chip by an 8-bit x and y. */
#define SNN_MACHINE_MAX_SIDE 256u
/* Most cores per chip: a route word is 64 bits, six links and a bit per
 * core (mapper/mapper.h). */
#define SNN_MACHINE_MAX_CORES 58u
/* Links per chip. */
#define SNN_MACHINE_LINKS 6u

/* The defaults of snn_machine_new(): one SpiNNaker chip (SpiNN-5 boards). */
#define SNN_SPINN_CORES 18u                     /* ARM968 cores per chip */
#define SNN_SPINN_MONITOR_CORES 1u              /* core 0 */
#define SNN_SPINN_CLOCK_MHZ 200u
#define SNN_SPINN_DTCM_BYTES (64u << 10)        /* data memory, per core */
#define SNN_SPINN_ITCM_BYTES (32u << 10)        /* instruction memory, per core */
#define SNN_SPINN_SDRAM_BYTES ((uint64_t)128 << 20) /* shared by a chip's cores */
#define SNN_SPINN_ROUTER_ENTRIES 1024u
#define SNN_SPINN_ROUTER_RESERVED 1u            /* kept by the system software */
/* Neurons on one core: what sPyNNaker-style software fits in 64 KiB of
 * DTCM with state, parameters and ring buffers for the usual models, and
 * what the per-step update of 200,000 cycles (1 ms at 200 MHz) affords
 * beside synaptic processing. */
#define SNN_SPINN_MAX_NEURONS 256u
/* Synaptic events one core processes in a timestep: a 1 ms step is
 * 200,000 cycles, an event costs about 40 of them in the inner loop, and
 * the neuron updates and packet handling need the rest. */
#define SNN_SPINN_MAX_SYNAPTIC_EVENTS 4000u

/* ---- the model ----------------------------------------------------------- */

/* Which chips of the width x height grid exist. */
enum snn_layout {
    SNN_LAYOUT_FULL,        /* every chip of the grid */
    SNN_LAYOUT_SPINN5_BOARD /* the 48 chips of one SpiNN-5 board in an 8x8 grid */
};

struct snn_chip_ref {
    uint16_t x, y;
};

struct snn_core_ref {
    uint16_t x, y;
    uint8_t core;
};

struct snn_link_ref {
    uint16_t x, y;
    uint8_t link; /* 0 .. 5, numbered as above */
};

/* What the index knows of one chip. */
struct snn_chip_state {
    uint64_t app_cores; /* bit c: core c is a usable application core */
    uint8_t links;      /* bit L: link L leads to a usable neighbour */
    uint8_t flags;      /* SNN_CHIP_* */
};

enum { SNN_CHIP_EXISTS = 1, SNN_CHIP_USABLE = 2 };

struct snn_machine {
    struct snn_arena *arena; /* owns everything the pointers below point to */
    const char *name;        /* short, as given to --target */
    const char *family;      /* "spinn" */
    const char *description; /* one line; may be NULL */

    uint32_t width, height; /* the chip grid */
    bool wrap;              /* links wrap around: a torus */
    enum snn_layout layout;

    uint32_t cores;         /* per chip, monitors included */
    uint32_t monitor_cores; /* per chip, the lowest-numbered working cores */
    uint32_t clock_mhz;
    uint32_t dtcm_bytes, itcm_bytes; /* per core */
    uint64_t sdram_bytes;            /* per chip */
    uint32_t router_entries;         /* multicast table size per chip */
    uint32_t router_reserved;        /* of those, kept by the system */
    uint32_t max_neurons;            /* per core */
    uint32_t max_synaptic_events;    /* per core per timestep */

    struct snn_chip_ref *dead_chips;
    size_t n_dead_chips;
    struct snn_core_ref *dead_cores;
    size_t n_dead_cores;
    struct snn_link_ref *dead_links;
    size_t n_dead_links;

    /* Built by snn_machine_index(): width * height entries, row by row
     * (chip (x, y) at y * width + x), and the counts. */
    struct snn_chip_state *chip;
    uint32_t n_chips;        /* chips that exist */
    uint32_t n_usable_chips; /* ... and are not dead */
    uint64_t n_app_cores;    /* usable application cores of the machine */
};

/* A machine of family "spinn" with SpiNNaker's per-chip and per-core
 * values (SNN_SPINN_*), a 1x1 full grid without wrap, no name, no dead
 * parts, and its own arena; NULL on ENOMEM. */
struct snn_machine *snn_machine_new(void);
void snn_machine_free(struct snn_machine *m);

/* Checks every rule of docs/targets.md ("Rules"): sizes above 0 and
 * within the limits above, monitor_cores < cores, router_reserved <
 * router_entries, a SpiNN-5 board layout on an 8x8 grid without wrap, a
 * wrapped grid at least 2x2, dead parts inside the grid, on chips that
 * exist, listed once, and at least one usable application core.  Each
 * broken rule is reported to d (may be NULL).  0, SNN_ESEMA, or
 * SNN_ENOMEM (for the scratch lists of the checks). */
int snn_machine_verify(const struct snn_machine *m, struct snn_diag *d);

/* Builds m->chip and the counts from the fields; m must verify.
 * Calling it again rebuilds.  0 or SNN_ENOMEM (m unchanged). */
int snn_machine_index(struct snn_machine *m);

/* ---- geometry (needs no index) ---------------------------------------- */

/* The step of link (0 .. 5) in x and y. */
void snn_link_delta(unsigned link, int *dx, int *dy);
/* The link at the other end: (link + 3) mod 6. */
unsigned snn_link_opposite(unsigned link);
/* "E", "NE", "N", "W", "SW", "S"; "?" out of range. */
const char *snn_link_name(unsigned link);
/* The link of a name above, or -1. */
int snn_link_from_name(const char *name);
/* "full", "spinn5_board". */
const char *snn_layout_name(enum snn_layout l);

/* Whether (x, y) is in the grid and the layout (dead or not). */
bool snn_machine_chip_exists(const struct snn_machine *m, uint32_t x, uint32_t y);

/* The fewest link hops from chip (x0, y0) to (x1, y1) on the grid (across
 * the wrap on a torus), ignoring dead parts and the board layout: a step
 * E, NE or N (or back) changes x, y or both by one, so a vector (dx, dy)
 * takes max(|dx|, |dy|) hops when dx and dy have the same sign and
 * |dx| + |dy| otherwise.  On a torus *dx and *dy (may be NULL) receive
 * the shortest vector, with ties broken towards the smaller |dx|, then
 * the non-negative one. */
uint32_t snn_machine_distance(const struct snn_machine *m, uint32_t x0, uint32_t y0, uint32_t x1,
                              uint32_t y1, int *dx, int *dy);

/* ---- queries (need snn_machine_index) ---------------------------------- */

/* Whether the chip exists and is not dead. */
bool snn_machine_chip_usable(const struct snn_machine *m, uint32_t x, uint32_t y);

/* The chip over link of (x, y) into *nx, *ny: true when that link leads
 * to a usable chip (wrapping on a torus); false at an edge, towards a
 * missing or dead chip, through a dead link, or from an unusable chip. */
bool snn_machine_neighbour(const struct snn_machine *m, uint32_t x, uint32_t y, unsigned link,
                           uint32_t *nx, uint32_t *ny);

/* The usable application cores of (x, y) as a mask (bit c: core c); 0
 * for a missing or dead chip. */
uint64_t snn_machine_app_cores(const struct snn_machine *m, uint32_t x, uint32_t y);
/* How many of them. */
unsigned snn_machine_n_app_cores(const struct snn_machine *m, uint32_t x, uint32_t y);

/* Router entries the mapper may fill on one chip. */
uint32_t snn_machine_router_free(const struct snn_machine *m);

/* Whether a and b describe the same machine: the same grid, chips, cores,
 * memories, router and dead parts (in any order); the names and
 * descriptions may differ.  When they do not, why (cap bytes, NUL-ended)
 * names the first difference, for example "a 8x8 grid, not 2x2". */
bool snn_machine_same(const struct snn_machine *a, const struct snn_machine *b, char *why,
                      size_t cap);

#endif

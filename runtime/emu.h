/*
 * runtime/emu.h: the board emulator, a spinn machine in the host process.
 *
 * It runs a board image (docs/image-format.md) as the machine would:
 * every application core runs the firmware's core kernel
 * (firmware/core.h) on its own copy of its DTCM image and SDRAM block;
 * every chip's router applies its table (the first matching entry wins;
 * a packet that arrived over a link and matches nothing leaves by the
 * opposite link, as default routing does); links carry packets between
 * chips.  Timesteps are in lock-step: every core ticks, the step's
 * packets travel and reach their cores, then the next step begins (the
 * real machine's timers only approximate this).
 *
 * Faults are counted, never fatal: a packet from a local core that
 * matches no entry, one sent into a dead link or off the machine's edge,
 * one routed to a core that runs nothing, one that loops; the kernels
 * count packets they cannot place.  Every link and router counts its
 * traffic, so a user can see where it is heavy.
 *
 * Threads: the cores are split between the threads (two by default);
 * each ticks its cores and routes their packets into per-thread inboxes,
 * double-buffered by step, so one barrier a step separates the steps.
 * Synaptic sums are order-free (wrapping, docs/numerics.md) and counters
 * are sums, so results and counters do not depend on the threads.
 */
#ifndef SNN_RUNTIME_EMU_H
#define SNN_RUNTIME_EMU_H

#include <stdbool.h>
#include <stdint.h>

#include "support/diag.h"

struct snn_emu;
struct snn_core;

struct snn_machine;

struct snn_emu_options {
    unsigned threads; /* 0: two */
    /* When not NULL: the machine the user means to run on.  An image built
     * for any other machine is refused, with the first difference. */
    const struct snn_machine *machine;
};

/* Counts over the whole run. */
struct snn_emu_counters {
    uint64_t steps;
    uint64_t spikes;           /* spikes of all cores (silent cores send no packet) */
    uint64_t deliveries;       /* packets handed to cores */
    uint64_t hops;             /* packets carried over links */
    uint64_t default_routed;   /* routers that passed a packet straight through */
    uint64_t unrouted;         /* from a local core, matching no entry: dropped */
    uint64_t dead_link;        /* sent into a dead link, a dead chip or off the edge: dropped */
    uint64_t no_core;          /* routed to a core that runs no slice: dropped */
    uint64_t loops;            /* still travelling after every chip could have been crossed */
    /* the kernels' counters, summed (firmware/core.h) */
    uint64_t packets_in, unknown, empty, rows, synapses, saturations;
    /* the most packets any core received between two ticks, and that core
     * (slice index; 0 when no packet arrived) */
    uint64_t queue_max;
    uint32_t queue_max_slice;
};

/* Builds the emulated machine of image (size bytes, already checked by
 * snn_image_open; borrowed only during the call) and loads every core.
 * 0, SNN_EPARSE (an image this emulator cannot run, reported), or
 * SNN_ENOMEM. */
int snn_emu_new(const void *image, uint64_t size, const struct snn_emu_options *o,
                struct snn_diag *d, struct snn_emu **out);
void snn_emu_free(struct snn_emu *e);

/* Runs steps timesteps.  on_spikes, when not NULL, receives each step's
 * spikes of each population (neurons ascending), in step order then
 * population order, as the reference simulator's callback does; a
 * non-zero return stops the run and is returned.  0 otherwise. */
int snn_emu_run(struct snn_emu *e, uint32_t steps,
                int (*on_spikes)(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons,
                                 uint32_t n),
                void *ctx);

/* Input: neuron `neuron` of spike-source population pop fires in step
 * `step` (besides its own spikes), as the simulator's input spikes do.
 * 0, or SNN_EINVAL for a population that is no spike source, a neuron it
 * does not have, or a step already run; SNN_ENOMEM. */
int snn_emu_inject(struct snn_emu *e, uint32_t pop, uint32_t neuron, uint32_t step);

void snn_emu_counters(const struct snn_emu *e, struct snn_emu_counters *out);

/* What one chip's router did so far: every packet it handled, by what
 * became of it.  A packet counts once per router it passes through. */
struct snn_emu_router {
    uint64_t matched;          /* matched an entry of the table */
    uint64_t default_routed;   /* arrived over a link, matched nothing: passed straight through */
    uint64_t delivered;        /* copies handed to this chip's cores */
    uint64_t unrouted;         /* from a local core, matching nothing: dropped */
    uint64_t dead_link;        /* copies sent into a dead link or off the machine: dropped */
    uint64_t no_core;          /* copies routed to a core that runs nothing: dropped */
};

/* Chip (x, y)'s router counters (all zero for a chip outside the machine). */
void snn_emu_router(const struct snn_emu *e, uint32_t x, uint32_t y, struct snn_emu_router *out);

/* The machine's size in chips. */
void snn_emu_machine_size(const struct snn_emu *e, uint32_t *width, uint32_t *height);

/* Packets carried so far over link (0 .. 5) of chip (x, y). */
uint64_t snn_emu_link_packets(const struct snn_emu *e, uint32_t x, uint32_t y, unsigned link);

/* Slice s's kernel (in the image's slice order): its header, counters and
 * recording regions (spikes_rec, v_rec). */
const struct snn_core *snn_emu_core(const struct snn_emu *e, uint32_t s);

/* The image's slice count and timestep count (its recording regions). */
uint32_t snn_emu_n_slices(const struct snn_emu *e);
uint32_t snn_emu_n_steps(const struct snn_emu *e);

/* The image's populations: how many, and each one's name and size. */
uint32_t snn_emu_n_pops(const struct snn_emu *e);
const char *snn_emu_pop_name(const struct snn_emu *e, uint32_t p);
uint32_t snn_emu_pop_size(const struct snn_emu *e, uint32_t p);
/* Population p's slices: [*first, *first + *count) in slice order. */
void snn_emu_pop_slices(const struct snn_emu *e, uint32_t p, uint32_t *first, uint32_t *count);
/* Steps run so far. */
uint32_t snn_emu_steps_run(const struct snn_emu *e);
/* The timestep in nanoseconds. */
uint32_t snn_emu_dt_ns(const struct snn_emu *e);
/* The machine's name. */
const char *snn_emu_machine_name(const struct snn_emu *e);

#endif

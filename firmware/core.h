/*
 * firmware/core.h: the core kernel, what every application core of a
 * spinn machine runs: one slice of neurons, event-driven.
 *
 * Two events drive it, as on SpiNNaker:
 *   - a multicast packet arrives (snn_core_packet): its key is looked up
 *     in the key table, the sending neuron's synaptic row is read from
 *     SDRAM and every synapse is added into the delay ring buffers
 *     (wrapping 32-bit sums, docs/numerics.md);
 *   - the timer ticks (snn_core_tick): every neuron takes one step of its
 *     model (abi/neuron.h) with the ring words of this step, which are
 *     then cleared; a neuron that fires is recorded and sends a packet
 *     with key `key | i`.
 * A spike sent in step t through a synapse of delay d is consumed in step
 * t + d: packets are added relative to the last tick, so a loader must
 * deliver a step's packets after every core's tick of that step and
 * before any core's next tick (the emulator's lock-step does; real
 * timers only approximate it).
 *
 * The image is the mapper's (abi/core_image.h, docs/core-image.md): the
 * DTCM image is used in place and written (the state, the spike-array
 * cursors); the SDRAM block is read (rows, spike times) and written (the
 * recording regions).  Nothing is allocated; the ring buffers are the
 * caller's (2 x ring_slots x n words).
 *
 * Freestanding: no libc; builds for the host (inside the emulator) and
 * for the ARM968 cores (no divide instruction: none is used).
 */
#ifndef SNN_FIRMWARE_CORE_H
#define SNN_FIRMWARE_CORE_H

#include <stdint.h>

#include "abi/core_image.h"

/*
 * What a core counts while it runs.
 *
 * queue_max is the deepest a core's packet queue can get in a step: the
 * packets that arrive between two ticks, all of which a real core must
 * absorb (queue, then fetch rows for) before its next tick.  A packet is
 * never late here: delivery is lock-step (above), so every packet of a
 * step arrives before the next tick, and none is dropped for time.
 *
 * A saturation is a consumed ring word that reached the int32 limit on
 * the way into the neuron (docs/numerics.md, "Synaptic input"): for
 * current and conductance synapses (lif_curr_exp, lif_cond_exp) the
 * synaptic state plus the word left int32 and was clamped; for delta
 * synapses (if_curr_delta, izhikevich, if) the word scaled to millivolts
 * (fx_mul with k_in) did.  Either way the neuron took the clamped value,
 * as every executor does; the count says the weights were too large for
 * the activity.  Refractory delta-synapse neurons drop their input and
 * count nothing.
 */
struct snn_core_counters {
    uint32_t packets;       /* packets received */
    uint32_t unknown;       /* ... matching no key-table entry, or a neuron past its slice */
    uint32_t empty;         /* ... from a neuron with no row onto this slice */
    uint32_t rows;          /* rows read */
    uint32_t synapses;      /* synaptic events: words added into the rings */
    uint32_t spikes;        /* spikes sent */
    uint32_t steps;         /* timer ticks */
    uint32_t queue_max;     /* the most packets received between two ticks */
    uint32_t saturations;   /* ring words that saturated when consumed (below) */
};

struct snn_core {
    struct snn_core_header h;    /* a copy of the image's header */
    uint32_t *dtcm;              /* the DTCM image, in place */
    const uint32_t *sdram;       /* the SDRAM block */
    uint32_t *spikes_rec, *v_rec;
    int32_t *ring;               /* 2 x ring_slots x n words, receptor-major per slot */
    const struct snn_key_entry *keys;
    uint32_t now;                /* the step of the last tick (UINT32_MAX before the first) */
    uint32_t shared;             /* every neuron has the first one's parameters */
    uint32_t soa;                /* ... and they suit abi/neuron_soa.h's slice steps */
    uint32_t pending[SNN_CORE_MAX_NEURONS / 32]; /* spike sources: fire at the next tick */
    uint32_t inbox;              /* packets received since the last tick */
    struct snn_core_counters c;
};

/* Why snn_core_load refused an image. */
enum snn_core_error {
    SNN_CORE_OK = 0,
    SNN_CORE_BAD_VERSION,   /* not SNN_CORE_IMAGE_VERSION */
    SNN_CORE_BAD_MODEL,     /* a model code this kernel does not run */
    SNN_CORE_BAD_SIZE,      /* n of 0 or above 256, ring not a power of two, sizes that disagree */
    SNN_CORE_BAD_OFFSETS,   /* a part outside its memory */
    SNN_CORE_NO_RING        /* the ring buffer given is too small */
};

/* Binds a core to its images: dtcm (dtcm_bytes, writable, word-aligned),
 * the SDRAM block (sdram_bytes: the whole block, recording regions
 * included, which the caller has zeroed), and ring (ring_words words,
 * zeroed).  Checks every offset and size against the memories before
 * anything uses them. */
enum snn_core_error snn_core_load(struct snn_core *c, uint32_t *dtcm, uint32_t dtcm_bytes,
                                  uint32_t *sdram, uint32_t sdram_bytes, int32_t *ring,
                                  uint32_t ring_words);

/* A multicast packet with key `key` arrived (after the tick of the step
 * its spike was sent in). */
void snn_core_packet(struct snn_core *c, uint32_t key);

/* Input: spike-source neuron i (of the slice) fires at the next tick,
 * besides its own spike times or draws (once, however often it is
 * asked).  Ignored by a core of neurons and for i past the slice. */
void snn_core_inject(struct snn_core *c, uint32_t i);

/* One timestep.  Writes the keys of the neurons that fired to out (room
 * for n keys) and returns how many; the caller sends them as multicast
 * packets unless the header's flags say SNN_CORE_SILENT. */
uint32_t snn_core_tick(struct snn_core *c, uint32_t *out);

#endif

/*
 * abi/philox.h: the counter-based random number generator of snnc.
 *
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3", SC 2011): a bijection of a 128-bit counter under a 64-bit key,
 * ten rounds.  Every random choice snnc makes is one call keyed by the
 * network seed with a counter that names what the draw is for, so any
 * part of a network (one row of a projection, one neuron of a Poisson
 * source at one step) can be regenerated alone, on any machine, by the
 * host or by a core of the board.  docs/connectivity.md lists the counters.
 *
 * Header-only, freestanding (no libc): the firmware includes it.  Uses one
 * 32x32->64 multiply per lane and round, which the ARM968 has (UMULL).
 */
#ifndef SNN_ABI_PHILOX_H
#define SNN_ABI_PHILOX_H

#include <stdint.h>

/* The counter's last word says what the draw is for. */
enum snn_rng_stream {
    SNN_RNG_CONNECT = 1, /* connector decisions */
    SNN_RNG_WEIGHT = 2,  /* per-synapse weights */
    SNN_RNG_DELAY = 3,   /* per-synapse delays */
    SNN_RNG_POISSON = 4, /* Poisson spike sources */
    SNN_RNG_PARAM = 5,   /* per-neuron parameters */
    SNN_RNG_INIT = 6,    /* per-neuron initial state */
    SNN_RNG_LAYER_INPUT = 7, /* layer view: generated input values */
    SNN_RNG_LAYER_WEIGHT = 8 /* layer view: generated weights */
};

struct snn_philox_out {
    uint32_t v[4];
};

static inline struct snn_philox_out snn_philox4x32(uint32_t c0, uint32_t c1, uint32_t c2,
                                                   uint32_t c3, uint64_t key)
{
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    struct snn_philox_out o = {{c0, c1, c2, c3}};
    return o;
}

#endif

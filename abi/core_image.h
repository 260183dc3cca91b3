/*
 * abi/core_image.h: what one core of a spinn-family machine is given to
 * run a slice: its DTCM image (header, neuron parameters and state, key
 * table) and its SDRAM block (synaptic rows, spike times, recording
 * regions).  docs/core-image.md is the byte-level description; the
 * mapper's layout pass writes these structures, the board firmware and
 * the emulator read them.
 *
 * Every structure is a sequence of 32-bit little-endian words: no
 * padding, no pointers.  Positions are byte offsets, DTCM ones from the
 * start of the header, SDRAM ones from the start of the core's block, so
 * an image can be loaded at any address.
 *
 * Freestanding: no libc, no allocation.
 */
#ifndef SNN_ABI_CORE_IMAGE_H
#define SNN_ABI_CORE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "abi/neuron.h"

/* The version of every structure below; changes whenever one does. */
#define SNN_CORE_IMAGE_VERSION 3u

/* ---- the synaptic word ---------------------------------------------------
 *
 *   bits 31..16  weight, int16 (LSBs of the receiving population's
 *                receptor, docs/numerics.md)
 *   bits 15..8   delay in timesteps, 1 .. 255
 *   bits  7..0   the post neuron's index in the core's slice
 *
 * The 8-bit index is why a slice holds at most SNN_CORE_MAX_NEURONS. */
#define SNN_CORE_MAX_NEURONS 256u

static inline uint32_t snn_syn_word(int32_t weight, uint32_t delay, uint32_t index)
{
    return ((uint32_t)weight << 16) | ((delay & 0xFFu) << 8) | (index & 0xFFu);
}

static inline int32_t snn_syn_weight(uint32_t w)
{
    return (int32_t)(int16_t)(uint16_t)(w >> 16);
}

static inline uint32_t snn_syn_delay(uint32_t w)
{
    return (w >> 8) & 0xFFu;
}

static inline uint32_t snn_syn_index(uint32_t w)
{
    return w & 0xFFu;
}

/* ---- rows ----------------------------------------------------------------
 *
 * A row holds the synapses of one pre neuron onto the core's slice, from
 * every projection between the two populations: a header word, then the
 * excitatory synapses, then the inhibitory ones.
 *
 *   header bits 15..0   n_exc, excitatory synapses
 *   header bits 31..16  n_inh, inhibitory synapses
 *
 * Within a receptor the synapses are in projection order, then in the
 * order expansion makes them (ascending post neuron). */
#define SNN_ROW_MAX_PER_RECEPTOR 0xFFFFu

static inline uint32_t snn_row_header(uint32_t n_exc, uint32_t n_inh)
{
    return (n_exc & 0xFFFFu) | (n_inh << 16);
}

static inline uint32_t snn_row_n_exc(uint32_t h)
{
    return h & 0xFFFFu;
}

static inline uint32_t snn_row_n_inh(uint32_t h)
{
    return h >> 16;
}

/* ---- the row index of an edge ---------------------------------------------
 *
 * Where the rows of one incoming edge (a pre slice of n_pre neurons) are.
 * At the key entry's index_off:
 *
 *   G = ceil(n_pre / 32) groups of two words:
 *     bits     bit b set: pre neuron 32 g + b has a row
 *     before   rows of the groups before g
 *   then one word per row, in pre-neuron order: the row's byte offset in
 *   the SDRAM block.
 *
 * Pre neuron i's row, if bit i % 32 of group i / 32 is set, is number
 * r = before + (the set bits below it in the group); its offset is word
 * 2 G + r.  A sparse edge costs 8 bytes per 32 pre neurons, not a word
 * per neuron. */
struct snn_row_group {
    uint32_t bits, before;
};

/* The number of set bits of w (the firmware has no instruction for it). */
static inline uint32_t snn_popcount32(uint32_t w)
{
    w = w - ((w >> 1) & 0x55555555u);
    w = (w & 0x33333333u) + ((w >> 2) & 0x33333333u);
    w = (w + (w >> 4)) & 0x0F0F0F0Fu;
    return (w * 0x01010101u) >> 24;
}

/* Row number of pre neuron i in an index whose groups are g[], or
 * SNN_ROW_NONE when i has no row. */
#define SNN_ROW_NONE 0xFFFFFFFFu

static inline uint32_t snn_row_rank(const struct snn_row_group *g, uint32_t i)
{
    uint32_t w = g[i >> 5].bits, b = i & 31u;
    if (!((w >> b) & 1u))
        return SNN_ROW_NONE;
    return g[i >> 5].before + snn_popcount32(w & ((1u << b) - 1u));
}

/* ---- the key table ---------------------------------------------------------
 *
 * One entry per incoming edge (a pre slice with synapses on this slice),
 * sorted by key, keys disjoint.  A packet k belongs to the entry with
 * (k & mask) == key (the last entry whose key is <= k is the only
 * candidate); i = k & ~mask is the pre neuron within its slice, below
 * n_pre.  index_off is the byte offset of the edge's row index in the
 * SDRAM block. */
struct snn_key_entry {
    uint32_t key, mask;
    uint32_t index_off;
    uint32_t n_pre;
};

/* ---- the header ------------------------------------------------------------
 *
 * The first words of the DTCM image.  The image continues with the
 * neuron parameters (n structs of the model's parameter type from
 * abi/neuron.h, or struct fx_poisson, or struct snn_array_neuron), the
 * initial state (n structs of the model's state type; none for spike
 * sources) and the key table (n_keys entries), each at the offset given. */

enum {
    SNN_CORE_RECORD_SPIKES = 1u << 0, /* one bit per neuron per step */
    SNN_CORE_RECORD_V = 1u << 1,      /* v (Q15.16 mV) of the neurons in record_v_mask */
    SNN_CORE_SILENT = 1u << 2         /* no core receives this slice's spikes: send no
                                       * packets (no router has an entry for them) */
};

struct snn_core_header {
    uint32_t version;      /* SNN_CORE_IMAGE_VERSION */
    uint32_t model;        /* enum fx_model */
    uint32_t pop;          /* the population's index in the network */
    uint32_t lo, n;        /* neurons [lo, lo + n) of the population, n <= 256 */
    uint32_t key;          /* neuron i sends packets with key | i */
    uint32_t ring_slots;   /* delay slots per receptor, a power of two; 0 for sources */
    uint32_t n_keys;       /* key table entries */
    uint32_t n_steps;      /* timesteps the recording regions hold */
    uint32_t seed_lo, seed_hi; /* the network seed (Poisson draws) */
    uint32_t flags;        /* SNN_CORE_RECORD_SPIKES, SNN_CORE_RECORD_V, SNN_CORE_SILENT */
    uint32_t n_record_v;   /* neurons whose v is recorded */
    uint32_t record_v_mask[SNN_CORE_MAX_NEURONS / 32]; /* bit i: neuron lo + i */
    /* DTCM image, bytes from the header's start */
    uint32_t params_off, state_off, keys_off, dtcm_image_bytes;
    /* SDRAM block, bytes from its start */
    uint32_t rows_off, rows_bytes;     /* row indices and rows */
    uint32_t times_off, times_bytes;   /* spike_source_array: spike steps */
    uint32_t spikes_off, spikes_bytes; /* spike recording: n_steps x ceil(n / 32) words */
    uint32_t v_off, v_bytes;           /* v recording: n_steps x n_record_v words */
    uint32_t sdram_bytes;              /* the whole block */
};

/* A spike_source_array neuron: it fires in the steps held by SDRAM words
 * [first, end) of the times region (word indices, ascending steps). */
struct snn_array_neuron {
    uint32_t first, end;
};

_Static_assert(sizeof(struct snn_core_header) == 136, "the core header is 136 bytes");
_Static_assert(sizeof(struct snn_key_entry) == 16, "a key entry is 16 bytes");
_Static_assert(sizeof(struct snn_row_group) == 8, "a row group is 8 bytes");
/* The state region is field-major (docs/core-image.md), v first. */
_Static_assert(offsetof(struct fx_lif_state, v) == 0 && offsetof(struct fx_izh_state, v) == 0 &&
                   offsetof(struct fx_if_state, v) == 0,
               "v is word 0 of every state struct");

/* The bytes of one neuron's parameters in a DTCM image of model code
 * `model` (enum fx_model), 0 for a code that is no model. */
static inline uint32_t snn_core_params_bytes(uint32_t model)
{
    switch (model) {
    case FX_MODEL_LIF_CURR_EXP: return sizeof(struct fx_lif_curr_exp);
    case FX_MODEL_LIF_COND_EXP: return sizeof(struct fx_lif_cond_exp);
    case FX_MODEL_IF_CURR_DELTA: return sizeof(struct fx_if_curr_delta);
    case FX_MODEL_IZHIKEVICH: return sizeof(struct fx_izhikevich);
    case FX_MODEL_IF: return sizeof(struct fx_if);
    case FX_MODEL_SPIKE_SOURCE_ARRAY: return sizeof(struct snn_array_neuron);
    case FX_MODEL_SPIKE_SOURCE_POISSON: return sizeof(struct fx_poisson);
    }
    return 0;
}

/* The bytes of one neuron's state (0 for spike sources and non-models). */
static inline uint32_t snn_core_state_bytes(uint32_t model)
{
    switch (model) {
    case FX_MODEL_LIF_CURR_EXP:
    case FX_MODEL_LIF_COND_EXP:
    case FX_MODEL_IF_CURR_DELTA: return sizeof(struct fx_lif_state);
    case FX_MODEL_IZHIKEVICH: return sizeof(struct fx_izh_state);
    case FX_MODEL_IF: return sizeof(struct fx_if_state);
    }
    return 0;
}

#endif

/*
 * firmware/core.c: the core kernel (firmware/core.h).
 *
 * The order inside a tick is the reference simulator's (docs/numerics.md,
 * ir/sim.c): each neuron in index order takes its step with this step's
 * ring words (cleared once read), spike sources fire from their schedule
 * (spike_source_array) or their draw (spike_source_poisson), fired
 * neurons are recorded and sent; then v is recorded.  Everything a packet
 * or the image says is bounded before it is used: a corrupt key or row
 * is counted, never followed outside the core's memories.
 */
#include "firmware/core.h"

#include "abi/neuron.h"
#include "abi/neuron_soa.h"

#define NONE 0xFFFFFFFFu

static int is_source(uint32_t model)
{
    return model == FX_MODEL_SPIKE_SOURCE_ARRAY || model == FX_MODEL_SPIKE_SOURCE_POISSON;
}

/* Whether [off, off + len) lies in [0, size), without overflow. */
static int inside(uint32_t off, uint64_t len, uint32_t size)
{
    return off <= size && len <= (uint64_t)(size - off);
}

/* Whether the n parameter structs of pb bytes at dtcm + off are all equal
 * to the first (word by word: the structs are words). */
static int same_params(const uint32_t *dtcm, uint32_t off, uint32_t pb, uint32_t n)
{
    const uint32_t *p = dtcm + off / 4;
    uint32_t w = pb / 4;
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t k = 0; k < w; k++)
            if (p[(uint64_t)i * w + k] != p[k])
                return 0;
    return 1;
}

enum snn_core_error snn_core_load(struct snn_core *c, uint32_t *dtcm, uint32_t dtcm_bytes,
                                  uint32_t *sdram, uint32_t sdram_bytes, int32_t *ring,
                                  uint32_t ring_words)
{
    struct snn_core_header *h = &c->h;
    if (dtcm_bytes < sizeof *h)
        return SNN_CORE_BAD_SIZE;
    const uint32_t *src = dtcm;
    uint32_t *dst = (uint32_t *)h;
    for (uint32_t k = 0; k < sizeof *h / 4; k++)
        dst[k] = src[k];
    if (h->version != SNN_CORE_IMAGE_VERSION)
        return SNN_CORE_BAD_VERSION;
    uint32_t pb = snn_core_params_bytes(h->model), sb = snn_core_state_bytes(h->model);
    if (!pb)
        return SNN_CORE_BAD_MODEL;
    if (h->n == 0 || h->n > SNN_CORE_MAX_NEURONS || (h->ring_slots & (h->ring_slots - 1)) ||
        (!is_source(h->model) && h->ring_slots < 2) || h->dtcm_image_bytes > dtcm_bytes ||
        h->sdram_bytes > sdram_bytes)
        return SNN_CORE_BAD_SIZE;
    if (h->params_off < sizeof *h || (h->params_off & 3) || (h->state_off & 3) ||
        (h->keys_off & 3) || !inside(h->params_off, (uint64_t)h->n * pb, h->dtcm_image_bytes) ||
        !inside(h->state_off, (uint64_t)h->n * sb, h->dtcm_image_bytes) ||
        !inside(h->keys_off, (uint64_t)h->n_keys * sizeof(struct snn_key_entry),
                h->dtcm_image_bytes) ||
        (h->rows_off & 3) || (h->times_off & 3) || (h->spikes_off & 3) || (h->v_off & 3) ||
        !inside(h->rows_off, h->rows_bytes, h->sdram_bytes) ||
        !inside(h->times_off, h->times_bytes, h->sdram_bytes) ||
        !inside(h->spikes_off, h->spikes_bytes, h->sdram_bytes) ||
        !inside(h->v_off, h->v_bytes, h->sdram_bytes))
        return SNN_CORE_BAD_OFFSETS;
    uint64_t words_per_step = (h->n + 31) / 32;
    if ((h->flags & SNN_CORE_RECORD_SPIKES) &&
        (uint64_t)h->spikes_bytes != (uint64_t)h->n_steps * words_per_step * 4)
        return SNN_CORE_BAD_SIZE;
    if ((h->flags & SNN_CORE_RECORD_V) &&
        (uint64_t)h->v_bytes != (uint64_t)h->n_steps * h->n_record_v * 4)
        return SNN_CORE_BAD_SIZE;
    if ((uint64_t)2 * h->ring_slots * h->n > ring_words)
        return SNN_CORE_NO_RING;
    /* Key entries: each index inside the rows region. */
    const struct snn_key_entry *ke =
        (const struct snn_key_entry *)((const uint8_t *)dtcm + h->keys_off);
    for (uint32_t k = 0; k < h->n_keys; k++) {
        uint32_t groups = (ke[k].n_pre + 31) / 32;
        if ((ke[k].index_off & 3) || ke[k].n_pre == 0 || ke[k].n_pre > SNN_CORE_MAX_NEURONS ||
            !inside(ke[k].index_off, (uint64_t)groups * sizeof(struct snn_row_group),
                    h->rows_off + h->rows_bytes))
            return SNN_CORE_BAD_OFFSETS;
    }
    /* Spike-array cursors: inside the times region. */
    if (h->model == FX_MODEL_SPIKE_SOURCE_ARRAY) {
        const struct snn_array_neuron *an =
            (const struct snn_array_neuron *)((const uint8_t *)dtcm + h->params_off);
        for (uint32_t i = 0; i < h->n; i++)
            if (an[i].first > an[i].end || an[i].end > h->times_bytes / 4)
                return SNN_CORE_BAD_OFFSETS;
    }
    c->dtcm = dtcm;
    c->sdram = sdram;
    c->shared = !is_source(h->model) && same_params(dtcm, h->params_off, pb, h->n);
    const void *p0 = (const uint8_t *)dtcm + h->params_off;
    c->soa = c->shared && ((h->model == FX_MODEL_LIF_CURR_EXP && fx_soa_curr_ok(p0)) ||
                           (h->model == FX_MODEL_LIF_COND_EXP && fx_soa_cond_ok(p0)));
    c->spikes_rec = sdram + h->spikes_off / 4;
    c->v_rec = sdram + h->v_off / 4;
    c->ring = ring;
    c->keys = ke;
    c->now = NONE;
    for (uint32_t k = 0; k < SNN_CORE_MAX_NEURONS / 32; k++)
        c->pending[k] = 0;
    c->inbox = 0;
    struct snn_core_counters zero = {0};
    c->c = zero;
    for (uint64_t k = 0; k < (uint64_t)2 * h->ring_slots * h->n; k++)
        ring[k] = 0;
    return SNN_CORE_OK;
}

/* The key entry a packet belongs to, or NULL: the last entry whose key is
 * at most k is the only candidate (entries are sorted, disjoint). */
static const struct snn_key_entry *find_key(const struct snn_core *c, uint32_t k)
{
    uint32_t lo = 0, hi = c->h.n_keys;
    while (lo < hi) {
        uint32_t mid = lo + ((hi - lo) >> 1);
        if (c->keys[mid].key <= k)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    const struct snn_key_entry *e = &c->keys[lo - 1];
    return (k & e->mask) == e->key ? e : 0;
}

void snn_core_packet(struct snn_core *c, uint32_t key)
{
    c->c.packets++;
    if (++c->inbox > c->c.queue_max)
        c->c.queue_max = c->inbox;
    const struct snn_key_entry *e = find_key(c, key);
    uint32_t i = e ? key & ~e->mask : 0;
    if (!e || i >= e->n_pre) {
        c->c.unknown++;
        return;
    }
    const struct snn_row_group *g = (const struct snn_row_group *)(c->sdram + e->index_off / 4);
    uint32_t r = snn_row_rank(g, i);
    if (r == SNN_ROW_NONE) {
        c->c.empty++;
        return;
    }
    uint32_t rows_end = c->h.rows_off + c->h.rows_bytes;
    uint32_t groups = (e->n_pre + 31) / 32;
    uint64_t at = (uint64_t)e->index_off + 8ull * groups + 4ull * r;
    if (at + 4 > rows_end) {
        c->c.unknown++;
        return;
    }
    uint32_t off = c->sdram[at / 4];
    if ((off & 3) || !inside(off, 4, rows_end)) {
        c->c.unknown++;
        return;
    }
    uint32_t hd = c->sdram[off / 4];
    uint32_t ne = snn_row_n_exc(hd), n = ne + snn_row_n_inh(hd);
    if (!inside(off, 4ull + 4ull * n, rows_end)) {
        c->c.unknown++;
        return;
    }
    c->c.rows++;
    const uint32_t *w = c->sdram + off / 4 + 1;
    uint32_t mask = c->h.ring_slots - 1, nn = c->h.n, base = c->now;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t x = w[k], idx = snn_syn_index(x);
        if (idx >= nn)
            continue;
        uint32_t slot = (base + snn_syn_delay(x)) & mask;
        int32_t *cell = &c->ring[((uint64_t)slot * 2 + (k >= ne)) * nn + idx];
        *cell = fx_acc(*cell, snn_syn_weight(x));
    }
    c->c.synapses += n;
}

void snn_core_inject(struct snn_core *c, uint32_t i)
{
    if (is_source(c->h.model) && i < c->h.n)
        c->pending[i / 32] |= 1u << (i % 32);
}

/*
 * The steps of a slice's neurons of one model: each takes this step's
 * ring words (and clears them), and a neuron that fires has its key
 * written to out.  The state region is field-major (docs/core-image.md):
 * word f of neuron i's state struct is word f * n + i.  The model is
 * chosen once per tick, not per neuron; a slice whose neurons share their
 * parameters (c->shared, found at load) keeps one copy of them in
 * registers, and the LIF models step such a slice with the whole-slice
 * loops of abi/neuron_soa.h (vectorised where the host has the
 * instructions).  The arithmetic is the same either way.
 */
#define NEURON_STEPS(name, PT, ST, step)                                                   \
    static uint32_t name(const struct snn_core *c, const uint8_t *params, uint8_t *state,   \
                         int32_t *ie, int32_t *ii, uint32_t key, uint32_t *out)             \
    {                                                                                       \
        const PT *par = (const PT *)params;                                                 \
        uint32_t *w = (uint32_t *)state, n = c->h.n, nf = 0;                                \
        const uint32_t W = sizeof(ST) / 4;                                                  \
        PT shared_p = par[0];                                                               \
        for (uint32_t i = 0; i < n; i++) {                                                  \
            ST st;                                                                          \
            uint32_t *sw = (uint32_t *)&st;                                                 \
            for (uint32_t f = 0; f < W; f++)                                                \
                sw[f] = w[f * n + i];                                                       \
            int32_t e = ie[i], in = ii[i];                                                  \
            ie[i] = 0;                                                                      \
            ii[i] = 0;                                                                      \
            if (step(c->shared ? &shared_p : &par[i], &st, e, in))                          \
                out[nf++] = key | i;                                                        \
            for (uint32_t f = 0; f < W; f++)                                                \
                w[f * n + i] = sw[f];                                                       \
        }                                                                                   \
        return nf;                                                                          \
    }

NEURON_STEPS(lif_curr_exp_steps, struct fx_lif_curr_exp, struct fx_lif_state, fx_lif_curr_exp_step)
NEURON_STEPS(lif_cond_exp_steps, struct fx_lif_cond_exp, struct fx_lif_state, fx_lif_cond_exp_step)
NEURON_STEPS(if_curr_delta_steps, struct fx_if_curr_delta, struct fx_lif_state,
             fx_if_curr_delta_step)
NEURON_STEPS(izhikevich_steps, struct fx_izhikevich, struct fx_izh_state, fx_izhikevich_step)
NEURON_STEPS(if_steps, struct fx_if, struct fx_if_state, fx_if_step)

/*
 * Saturations (firmware/core.h): counted from this step's ring words
 * before the neurons take them, with the same arithmetic the steps use.
 */

/* Words whose sum with the synaptic state leaves int32 (fx_add clamps):
 * the wrapped 32-bit sum then has the sign of neither term.  In 32-bit
 * words so the compiler vectorises it: this runs every tick. */
static uint32_t sum_sats_from(const int32_t *x, const int32_t *in, uint32_t i, uint32_t n)
{
    uint32_t k = 0;
    for (; i < n; i++) {
        uint32_t a = (uint32_t)x[i], b = (uint32_t)in[i], s = a + b;
        k += ((a ^ s) & (b ^ s)) >> 31;
    }
    return k;
}

#ifdef FX_HAVE_X86_SIMD
/* The same, sixteen words at a time, on hosts with AVX-512 (as
 * abi/neuron_soa.h's steps). */
FX_AVX512 static uint32_t sum_sats_avx512(const int32_t *x, const int32_t *in, uint32_t n)
{
    uint32_t k = 0, i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i a = _mm512_loadu_si512(x + i), b = _mm512_loadu_si512(in + i);
        __m512i s = _mm512_add_epi32(a, b);
        __m512i t = _mm512_and_si512(_mm512_xor_si512(a, s), _mm512_xor_si512(b, s));
        k += (uint32_t)__builtin_popcount(_mm512_cmplt_epi32_mask(t, _mm512_setzero_si512()));
    }
    return k + sum_sats_from(x, in, i, n);
}
#endif

static uint32_t sum_sats(const int32_t *x, const int32_t *in, uint32_t n)
{
#ifdef FX_HAVE_X86_SIMD
    if (fx_soa_isa() == FX_ISA_AVX512)
        return sum_sats_avx512(x, in, n);
#endif
    return sum_sats_from(x, in, 0, n);
}

/* Whether fx_mul(a, m) clamps. */
static uint32_t mul_sat(int32_t a, struct fx_mult m)
{
    int64_t p = (int64_t)a * m.m;
    if (m.s > 0)
        p = (p + ((int64_t)1 << (m.s - 1))) >> m.s;
    return p > INT32_MAX || p < INT32_MIN;
}

/* Delta-synapse models: words whose scaling into millivolts clamps;
 * refrac (field-major, or NULL) marks neurons that ignore their input. */
#define DELTA_SATS(name, PT)                                                                \
    static uint32_t name(const struct snn_core *c, const uint8_t *params, const int32_t *ie, \
                         const int32_t *ii, const uint32_t *refrac)                          \
    {                                                                                        \
        const PT *par = (const PT *)params;                                                  \
        uint32_t k = 0;                                                                      \
        for (uint32_t i = 0; i < c->h.n; i++) {                                              \
            if ((!ie[i] && !ii[i]) || (refrac && refrac[i]))                                 \
                continue;                                                                    \
            const PT *p = c->shared ? &par[0] : &par[i];                                     \
            k += mul_sat(ie[i], p->k_in_e) + mul_sat(ii[i], p->k_in_i);                      \
        }                                                                                    \
        return k;                                                                            \
    }

DELTA_SATS(if_curr_delta_sats, struct fx_if_curr_delta)
DELTA_SATS(izhikevich_sats, struct fx_izhikevich)
DELTA_SATS(if_sats, struct fx_if)

static uint32_t saturations(const struct snn_core *c, const uint8_t *params, uint8_t *state,
                            const int32_t *ie, const int32_t *ii)
{
    const int32_t *w = (const int32_t *)state;
    uint32_t n = c->h.n;
    switch (c->h.model) {
    case FX_MODEL_LIF_CURR_EXP:
    case FX_MODEL_LIF_COND_EXP: /* fields v, xe, xi, refrac */
        return sum_sats(w + n, ie, n) + sum_sats(w + 2 * n, ii, n);
    case FX_MODEL_IF_CURR_DELTA:
        return if_curr_delta_sats(c, params, ie, ii, (const uint32_t *)w + 3 * n);
    case FX_MODEL_IZHIKEVICH:
        return izhikevich_sats(c, params, ie, ii, 0);
    case FX_MODEL_IF:
        return if_sats(c, params, ie, ii, 0);
    }
    return 0;
}

/* The state of a LIF slice as abi/neuron_soa.h takes it. */
static struct fx_lif_soa lif_soa(uint8_t *state, uint32_t n)
{
    uint32_t *w = (uint32_t *)state;
    return (struct fx_lif_soa){(int32_t *)w, (int32_t *)w + n, (int32_t *)w + 2 * n, w + 3 * n};
}

/* Neuron indices to keys, in place. */
static uint32_t keyed(uint32_t *out, uint32_t nf, uint32_t key)
{
    for (uint32_t k = 0; k < nf; k++)
        out[k] |= key;
    return nf;
}

uint32_t snn_core_tick(struct snn_core *c, uint32_t *out)
{
    const struct snn_core_header *h = &c->h;
    uint32_t t = c->now + 1; /* NONE + 1 wraps to step 0 */
    uint32_t n = h->n, nf = 0;
    uint8_t *params = (uint8_t *)c->dtcm + h->params_off;
    uint8_t *state = (uint8_t *)c->dtcm + h->state_off;
    uint32_t words = (n + 31) / 32;
    uint32_t *rec = (h->flags & SNN_CORE_RECORD_SPIKES) && t < h->n_steps
                        ? c->spikes_rec + (uint64_t)t * words
                        : 0;
    if (h->model == FX_MODEL_SPIKE_SOURCE_ARRAY) {
        struct snn_array_neuron *an = (struct snn_array_neuron *)params;
        const uint32_t *times = c->sdram + h->times_off / 4;
        for (uint32_t i = 0; i < n; i++) {
            while (an[i].first < an[i].end && times[an[i].first] < t)
                an[i].first++;
            int fire = (c->pending[i / 32] >> (i % 32)) & 1u;
            if (an[i].first < an[i].end && times[an[i].first] == t) {
                an[i].first++;
                fire = 1;
            }
            if (fire)
                out[nf++] = h->key | i;
        }
    } else if (h->model == FX_MODEL_SPIKE_SOURCE_POISSON) {
        const struct fx_poisson *p = (const struct fx_poisson *)params;
        uint64_t seed = (uint64_t)h->seed_hi << 32 | h->seed_lo;
        for (uint32_t i = 0; i < n; i++)
            if (((c->pending[i / 32] >> (i % 32)) & 1u) ||
                fx_poisson_fires(&p[i], seed, h->pop, h->lo + i, t))
                out[nf++] = h->key | i;
    } else {
        int32_t *ie = c->ring + (uint64_t)(t & (h->ring_slots - 1)) * 2 * n, *ii = ie + n;
        uint32_t key = h->key;
        c->c.saturations += saturations(c, params, state, ie, ii);
        switch (h->model) {
        case FX_MODEL_LIF_CURR_EXP:
            nf = c->soa ? keyed(out,
                                fx_lif_curr_exp_soa((const struct fx_lif_curr_exp *)params, 0, n,
                                                    lif_soa(state, n), ie, ii, out),
                                key)
                        : lif_curr_exp_steps(c, params, state, ie, ii, key, out);
            break;
        case FX_MODEL_LIF_COND_EXP:
            nf = c->soa ? keyed(out,
                                fx_lif_cond_exp_soa((const struct fx_lif_cond_exp *)params, 0, n,
                                                    lif_soa(state, n), ie, ii, out),
                                key)
                        : lif_cond_exp_steps(c, params, state, ie, ii, key, out);
            break;
        case FX_MODEL_IF_CURR_DELTA:
            nf = if_curr_delta_steps(c, params, state, ie, ii, key, out);
            break;
        case FX_MODEL_IZHIKEVICH:
            nf = izhikevich_steps(c, params, state, ie, ii, key, out);
            break;
        case FX_MODEL_IF:
            nf = if_steps(c, params, state, ie, ii, key, out);
            break;
        }
    }
    if (rec)
        for (uint32_t k = 0; k < nf; k++) {
            uint32_t i = out[k] - h->key; /* key | i, i below the mask's bits */
            rec[i / 32] |= 1u << (i % 32);
        }
    if ((h->flags & SNN_CORE_RECORD_V) && t < h->n_steps) {
        uint32_t *v = c->v_rec + (uint64_t)t * h->n_record_v, k = 0;
        for (uint32_t i = 0; i < n && k < h->n_record_v; i++)
            if ((h->record_v_mask[i / 32] >> (i % 32)) & 1u)
                v[k++] = ((const uint32_t *)state)[i]; /* v: field 0 */
    }
    for (uint32_t k = 0; k < SNN_CORE_MAX_NEURONS / 32; k++)
        c->pending[k] = 0;
    c->inbox = 0;
    c->now = t;
    c->c.steps++;
    c->c.spikes += nf;
    return nf;
}

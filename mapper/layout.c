/*
 * mapper/layout.c: the layout pass, every core's memory image.
 *
 * Requires placement and keys (and partition's edges).  Provides
 * map->images (one struct snn_core_image per slice) and map->q, the
 * quantized network they were made from.  The byte formats are those of
 * abi/core_image.h, described in docs/core-image.md:
 *
 *   DTCM image   header, neuron parameters, initial state, key table
 *   SDRAM block  for every incoming edge in pre-slice order, its row
 *                index (groups, row offsets) then its rows; spike times
 *                (spike_source_array); spike and v recording regions
 *                (sized, not stored: the loader zeroes them)
 *
 * Sizes are known before anything is generated: partition counted every
 * edge's rows and synapses, so each core's block is allocated once and
 * each edge's place in it fixed (edge_off).  The synapses are then made
 * one pre slice at a time, by snn_expand() exactly as the reference
 * simulator makes them, and their weights quantized by the same
 * function (snn_quantize_weight), so a core's words are the simulator's
 * synapses.  A pre slice writes only the regions of its own edges, so two
 * threads lay out pre slices side by side with no lock and the same bytes
 * as one; each takes the next slice from a shared counter.
 *
 * A pre slice is expanded in chunks of whole 32-neuron groups, as many as
 * keep the chunk's synapses under CHUNK_SYNAPSES (partition's counts say
 * how many there will be), so a dense projection does not need the whole
 * slice's synapses in memory at once.  Rows are written in pre-neuron
 * order, so an edge's index and rows grow chunk by chunk.
 *
 * Every count is checked against partition's (rows and synapses per
 * edge, bytes per edge); a difference is an internal error, never a
 * silently wrong image.  A row with more than 65535 synapses of one
 * receptor (the header's field) is an error naming the projection's
 * populations.
 *
 * Determinism: the bytes depend only on the map; threads decide only who
 * writes them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "abi/core_image.h"
#include "abi/neuron.h"
#include "ir/expand.h"
#include "ir/quant.h"
#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"

#define HEADER_WORDS ((uint32_t)(sizeof(struct snn_core_header) / 4))
#define KEY_WORDS ((uint32_t)(sizeof(struct snn_key_entry) / 4))
#define GROUP_WORDS ((uint32_t)(sizeof(struct snn_row_group) / 4))

_Static_assert(sizeof(struct snn_core_header) % 4 == 0, "header is whole words");
_Static_assert(sizeof(struct snn_key_entry) == 16, "key entry is 4 words");
_Static_assert(sizeof(struct snn_row_group) == 8, "row group is 2 words");

/* The most synapses a chunk of a pre slice is expanded into at once. */
#define CHUNK_SYNAPSES (4u << 20)
/* Below this many synapses in all, one thread lays out. */
#define PARALLEL_SYNAPSES (1u << 20)

/* ---- the per-neuron arrays of a quantized population ------------------ */

struct neuron_arrays {
    const void *params;
    uint32_t params_bytes; /* per neuron */
    const void *state;
    uint32_t state_bytes;  /* per neuron; 0 for spike sources */
};

static struct neuron_arrays neuron_arrays(const struct snn_qpop *qp)
{
    struct neuron_arrays a = {0};
    switch (qp->model) {
    case FX_MODEL_LIF_CURR_EXP:
        a = (struct neuron_arrays){qp->lif_curr_exp, sizeof *qp->lif_curr_exp, qp->lif0,
                                   sizeof *qp->lif0};
        break;
    case FX_MODEL_LIF_COND_EXP:
        a = (struct neuron_arrays){qp->lif_cond_exp, sizeof *qp->lif_cond_exp, qp->lif0,
                                   sizeof *qp->lif0};
        break;
    case FX_MODEL_IF_CURR_DELTA:
        a = (struct neuron_arrays){qp->if_curr_delta, sizeof *qp->if_curr_delta, qp->lif0,
                                   sizeof *qp->lif0};
        break;
    case FX_MODEL_IZHIKEVICH:
        a = (struct neuron_arrays){qp->izhikevich, sizeof *qp->izhikevich, qp->izh0,
                                   sizeof *qp->izh0};
        break;
    case FX_MODEL_IF:
        a = (struct neuron_arrays){qp->if_, sizeof *qp->if_, qp->if0, sizeof *qp->if0};
        break;
    case FX_MODEL_SPIKE_SOURCE_POISSON:
        a = (struct neuron_arrays){qp->poisson, sizeof *qp->poisson, NULL, 0};
        break;
    case FX_MODEL_SPIKE_SOURCE_ARRAY:
        a = (struct neuron_arrays){NULL, sizeof(struct snn_array_neuron), NULL, 0};
        break;
    }
    return a;
}

/* ---- sizes ------------------------------------------------------------------ */

/* Words of an edge's index and rows from a pre slice of m neurons. */
static uint64_t edge_words(uint32_t m, const struct snn_edge *e)
{
    return (uint64_t)GROUP_WORDS * ((m + 31) / 32) + 2ull * e->n_rows + e->n_synapses;
}

/* The sizes of slice s's block, from its edges and the network. */
struct block {
    uint64_t rows, times, spikes, v; /* bytes */
};

static struct block block_of(const struct snn_map *map, uint32_t s, uint64_t rows)
{
    const struct snn_slice *sl = &map->slices[s];
    const struct snn_pop *pop = &map->net->pops[sl->pop];
    const struct snn_qpop *qp = &map->q->pops[sl->pop];
    uint64_t steps = snn__map_record_steps(map->net);
    struct block b = {rows, 0, 0, 0};
    if (qp->model == FX_MODEL_SPIKE_SOURCE_ARRAY)
        b.times = 4ull * (qp->src_off[sl->lo + sl->n] - qp->src_off[sl->lo]);
    if (pop->record & SNN_REC_SPIKES)
        b.spikes = steps * ((sl->n + 31) / 32) * 4;
    if ((pop->record & SNN_REC_V) && !snn_models[pop->model].is_source) {
        uint64_t nv = sl->n;
        if (pop->record_v) {
            nv = 0;
            for (uint32_t k = 0; k < pop->n_record_v; k++)
                nv += pop->record_v[k] >= sl->lo && pop->record_v[k] - sl->lo < sl->n;
        }
        b.v = steps * nv * 4;
    }
    return b;
}

/* ---- the workers: one pre slice at a time ------------------------------ */

struct lay {
    struct snn_map *map;
    const uint32_t *pp_first, *pp_list; /* projections from population p, in order */
    const uint64_t *edge_word;          /* edge e's index: word in its post's block */
    _Atomic uint32_t next;              /* the next pre slice to lay out */
    _Atomic int stop;                   /* a worker failed */
};

/* What a worker found wrong, reported by the caller (diag is not shared). */
enum fault { FAULT_NONE, FAULT_EXPAND, FAULT_MEMORY, FAULT_COUNT, FAULT_ROW_FULL };

struct worker {
    struct lay *L;
    struct snn_synapses syn;
    uint64_t *end;      /* per projection of the pre population: its synapses end here */
    int32_t *local;     /* n_slices: post slice -> its edge among the pre slice's, or -1 */
    uint32_t *cnt;      /* chunk neurons x E x 2: counts, then cursors */
    size_t cnt_cap;
    uint32_t *done;     /* E: rows written so far per edge */
    uint64_t *wpos;     /* E: the next row's word per edge */
    uint32_t e_cap;
    /* the fault */
    enum fault fault;
    int rc;
    uint32_t slice, pre_neuron, post_slice, proj;
};

static int worker_reserve(struct worker *w, uint32_t E, size_t cnt_need)
{
    if (E > w->e_cap) {
        uint32_t *d = snn_realloc(w->done, (size_t)E * sizeof *d);
        if (!d)
            return SNN_ENOMEM;
        w->done = d;
        uint64_t *p = snn_realloc(w->wpos, (size_t)E * sizeof *p);
        if (!p)
            return SNN_ENOMEM;
        w->wpos = p;
        w->e_cap = E;
    }
    if (cnt_need > w->cnt_cap) {
        uint32_t *c = snn_realloc(w->cnt, cnt_need * sizeof *c);
        if (!c)
            return SNN_ENOMEM;
        w->cnt = c;
        w->cnt_cap = cnt_need;
    }
    return 0;
}

static int fail(struct worker *w, enum fault f, int rc, uint32_t s)
{
    w->fault = f;
    w->rc = rc;
    w->slice = s;
    return rc;
}

/* The post slice of neuron j of population P. */
static inline uint32_t post_slice_of(const struct snn_map *map, uint32_t P, uint32_t j)
{
    uint32_t first = map->pop_slice[P];
    return first + j / map->slices[first].n;
}

/* Lays out neurons [c0, c1) (whole groups) of pre slice s. */
static int lay_chunk(struct worker *w, uint32_t s, uint32_t c0, uint32_t c1)
{
    struct snn_map *map = w->L->map;
    const struct snn_net *net = map->net;
    const struct snn_slice *sl = &map->slices[s];
    uint32_t p = sl->pop, E = (uint32_t)(map->edge_first[s + 1] - map->edge_first[s]);
    uint64_t e0 = map->edge_first[s];
    uint32_t pj0 = w->L->pp_first[p], npj = w->L->pp_first[p + 1] - pj0;
    uint32_t cn = c1 - c0;

    w->syn.n = 0;
    for (uint32_t k = 0; k < npj; k++) {
        int rc = snn_expand(net, w->L->pp_list[pj0 + k], sl->lo + c0, sl->lo + c1, 0, UINT32_MAX,
                            &w->syn, NULL);
        if (rc) {
            w->proj = w->L->pp_list[pj0 + k];
            return fail(w, rc == SNN_ENOMEM ? FAULT_MEMORY : FAULT_EXPAND, rc, s);
        }
        w->end[k] = w->syn.n;
    }

    /* Count per (pre neuron, edge, receptor). */
    size_t need = (size_t)cn * E * 2;
    memset(w->cnt, 0, need * sizeof *w->cnt);
    uint64_t k0 = 0;
    for (uint32_t k = 0; k < npj; k++) {
        const struct snn_proj *pj = &net->projs[w->L->pp_list[pj0 + k]];
        unsigned r = pj->receptor == SNN_RECEPTOR_INH;
        for (uint64_t x = k0; x < w->end[k]; x++) {
            uint32_t t = post_slice_of(map, pj->post, w->syn.post[x]);
            int32_t le = w->local[t];
            if (le < 0) {
                w->pre_neuron = w->syn.pre[x];
                w->post_slice = t;
                return fail(w, FAULT_COUNT, SNN_EINVAL, s);
            }
            w->cnt[((size_t)(w->syn.pre[x] - sl->lo - c0) * E + (uint32_t)le) * 2 + r]++;
        }
        k0 = w->end[k];
    }

    /* Groups, row offsets and headers; the counts become cursors. */
    for (uint32_t le = 0; le < E; le++) {
        const struct snn_edge *e = &map->edges[e0 + le];
        uint32_t *blk = map->images[e->post].sdram;
        uint64_t base = w->L->edge_word[e0 + le];
        uint32_t G = (sl->n + 31) / 32;
        for (uint32_t g = c0 / 32; g < (c1 + 31) / 32; g++) {
            uint32_t bits = 0, before = w->done[le];
            for (uint32_t b = 0; b < 32 && 32 * g + b < c1; b++) {
                uint32_t i = 32 * g + b;
                uint32_t *c = &w->cnt[((size_t)(i - c0) * E + le) * 2];
                if (c[0] + c[1] == 0)
                    continue;
                if (c[0] > SNN_ROW_MAX_PER_RECEPTOR || c[1] > SNN_ROW_MAX_PER_RECEPTOR) {
                    w->pre_neuron = sl->lo + i;
                    w->post_slice = e->post;
                    return fail(w, FAULT_ROW_FULL, SNN_ETOOBIG, s);
                }
                uint64_t row = w->wpos[le];
                if (w->done[le] >= e->n_rows ||
                    row + 1 + c[0] + c[1] > base + edge_words(sl->n, e)) {
                    w->post_slice = e->post;
                    return fail(w, FAULT_COUNT, SNN_EINVAL, s);
                }
                bits |= 1u << b;
                blk[base + (uint64_t)GROUP_WORDS * G + w->done[le]] = (uint32_t)(row * 4);
                blk[row] = snn_row_header(c[0], c[1]);
                w->wpos[le] = row + 1 + c[0] + c[1];
                w->done[le]++;
                c[1] = (uint32_t)(row + 1 + c[0] - base); /* cursors, words from base */
                c[0] = (uint32_t)(row + 1 - base);
            }
            blk[base + (uint64_t)GROUP_WORDS * g] = bits;
            blk[base + (uint64_t)GROUP_WORDS * g + 1] = before;
        }
    }

    /* The synaptic words, in projection order within each receptor. */
    k0 = 0;
    for (uint32_t k = 0; k < npj; k++) {
        const struct snn_proj *pj = &net->projs[w->L->pp_list[pj0 + k]];
        unsigned r = pj->receptor == SNN_RECEPTOR_INH;
        const struct snn_qpop *qp = &map->q->pops[pj->post];
        for (uint64_t x = k0; x < w->end[k]; x++) {
            uint32_t t = post_slice_of(map, pj->post, w->syn.post[x]);
            uint32_t le = (uint32_t)w->local[t];
            uint32_t *c = &w->cnt[((size_t)(w->syn.pre[x] - sl->lo - c0) * E + le) * 2 + r];
            int32_t wq = snn_quantize_weight(qp, pj->receptor, w->syn.weight[x]);
            map->images[t].sdram[w->L->edge_word[e0 + le] + (*c)++] =
                snn_syn_word(wq, w->syn.delay_steps[x], w->syn.post[x] - map->slices[t].lo);
        }
        k0 = w->end[k];
    }
    return 0;
}

static int lay_slice(struct worker *w, uint32_t s)
{
    struct snn_map *map = w->L->map;
    const struct snn_slice *sl = &map->slices[s];
    uint64_t e0 = map->edge_first[s];
    uint32_t E = (uint32_t)(map->edge_first[s + 1] - e0);
    if (E == 0)
        return 0;
    uint64_t total = 0;
    for (uint32_t le = 0; le < E; le++)
        total += map->edges[e0 + le].n_synapses;
    /* Chunks of whole groups holding about CHUNK_SYNAPSES. */
    uint32_t chunk = sl->n;
    if (total > CHUNK_SYNAPSES) {
        uint64_t c = (uint64_t)sl->n * CHUNK_SYNAPSES / total / 32 * 32;
        chunk = c < 32 ? 32 : (uint32_t)c;
    }
    int rc = worker_reserve(w, E, (size_t)(chunk < sl->n ? chunk : sl->n) * E * 2);
    if (rc)
        return fail(w, FAULT_MEMORY, rc, s);
    uint32_t G = (sl->n + 31) / 32;
    for (uint32_t le = 0; le < E; le++) {
        const struct snn_edge *e = &map->edges[e0 + le];
        w->local[e->post] = (int32_t)le;
        w->done[le] = 0;
        w->wpos[le] = w->L->edge_word[e0 + le] + (uint64_t)GROUP_WORDS * G + e->n_rows;
    }
    for (uint32_t c0 = 0; c0 < sl->n && !rc; c0 += chunk)
        rc = lay_chunk(w, s, c0, c0 + chunk < sl->n ? c0 + chunk : sl->n);
    for (uint32_t le = 0; le < E; le++) {
        const struct snn_edge *e = &map->edges[e0 + le];
        w->local[e->post] = -1;
        uint64_t end = w->L->edge_word[e0 + le] + edge_words(sl->n, e);
        if (!rc && (w->done[le] != e->n_rows || w->wpos[le] != end)) {
            w->post_slice = e->post;
            rc = fail(w, FAULT_COUNT, SNN_EINVAL, s);
        }
    }
    return rc;
}

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    struct lay *L = w->L;
    for (;;) {
        if (atomic_load(&L->stop))
            break;
        uint32_t s = atomic_fetch_add(&L->next, 1);
        if (s >= L->map->n_slices)
            break;
        if (lay_slice(w, s)) {
            atomic_store(&L->stop, 1);
            break;
        }
    }
    return NULL;
}

static int worker_init(struct worker *w, struct lay *L, uint32_t max_pj)
{
    memset(w, 0, sizeof *w);
    w->L = L;
    w->end = snn_malloc(((size_t)max_pj + 1) * sizeof *w->end);
    w->local = snn_malloc(((size_t)L->map->n_slices + 1) * sizeof *w->local);
    if (!w->end || !w->local)
        return SNN_ENOMEM;
    for (uint32_t s = 0; s < L->map->n_slices; s++)
        w->local[s] = -1;
    return 0;
}

static void worker_free(struct worker *w)
{
    snn_synapses_free(&w->syn);
    snn_free(w->end);
    snn_free(w->local);
    snn_free(w->cnt);
    snn_free(w->done);
    snn_free(w->wpos);
}

static int report_fault(const struct snn_map *map, const struct worker *w, struct snn_diag *d)
{
    const struct snn_slice *sl = &map->slices[w->slice];
    const char *pre = snn__map_pop_name(map, sl->pop);
    switch (w->fault) {
    case FAULT_NONE: break;
    case FAULT_MEMORY: return SNN_ENOMEM;
    case FAULT_EXPAND: {
        /* Partition expanded the same rule without complaint; say again why. */
        struct snn_synapses syn = {0};
        (void)snn_expand(map->net, w->proj, sl->lo, sl->lo + 1, 0, UINT32_MAX, &syn, d);
        snn_synapses_free(&syn);
        snn_diag_error(d, NULL, "internal error: layout could not expand projection %u from '%s'",
                       w->proj, pre);
        return SNN_EINVAL;
    }
    case FAULT_ROW_FULL: {
        const struct snn_slice *t = &map->slices[w->post_slice];
        snn_diag_error(d, snn__map_pop_loc(map, t->pop),
                       "neuron %u of population '%s' has more than %u synapses of one receptor "
                       "onto neurons %u..%u of population '%s'; a synaptic row holds at most %u: "
                       "merge repeated connections into single synapses of summed weight",
                       w->pre_neuron, pre, SNN_ROW_MAX_PER_RECEPTOR, t->lo, t->lo + t->n - 1,
                       snn__map_pop_name(map, t->pop), SNN_ROW_MAX_PER_RECEPTOR);
        return SNN_ETOOBIG;
    }
    case FAULT_COUNT:
        snn_diag_error(d, NULL,
                       "internal error: layout's synapses from slice %u ('%s') onto slice %u "
                       "differ from partition's count",
                       w->slice, pre, w->post_slice);
        return SNN_EINVAL;
    }
    return w->rc;
}

/* ---- the DTCM image and the block's fixed parts -------------------------- */

static int compare_keys(const void *a, const void *b)
{
    const struct snn_key_entry *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

/* Slice s's header, for a block b and n_in key entries (the verifier
 * compares images with it too). */
static void make_header(const struct snn_map *map, uint32_t s, const struct block *b,
                        uint32_t n_in, struct snn_core_header *out)
{
    const struct snn_net *net = map->net;
    const struct snn_slice *sl = &map->slices[s];
    const struct snn_pop *pop = &net->pops[sl->pop];
    const struct snn_qpop *qp = &map->q->pops[sl->pop];
    struct neuron_arrays na = neuron_arrays(qp);
    struct snn_core_header h = {0};
    h.version = SNN_CORE_IMAGE_VERSION;
    h.model = (uint32_t)qp->model;
    h.pop = sl->pop;
    h.lo = sl->lo;
    h.n = sl->n;
    h.key = sl->key;
    h.ring_slots = sl->use.ring_slots;
    h.n_keys = n_in;
    h.n_steps = (uint32_t)snn__map_record_steps(net);
    h.seed_lo = (uint32_t)net->seed;
    h.seed_hi = (uint32_t)(net->seed >> 32);
    if (pop->record & SNN_REC_SPIKES)
        h.flags |= SNN_CORE_RECORD_SPIKES;
    if (map->edge_first[s + 1] == map->edge_first[s])
        h.flags |= SNN_CORE_SILENT; /* no edge: no tree, no router entry */
    if ((pop->record & SNN_REC_V) && !snn_models[pop->model].is_source) {
        h.flags |= SNN_CORE_RECORD_V;
        for (uint32_t i = 0; i < sl->n; i++) {
            bool on = !pop->record_v;
            h.record_v_mask[i / 32] |= on ? 1u << (i % 32) : 0;
        }
        for (uint32_t k = 0; pop->record_v && k < pop->n_record_v; k++) {
            uint32_t j = pop->record_v[k];
            if (j >= sl->lo && j - sl->lo < sl->n)
                h.record_v_mask[(j - sl->lo) / 32] |= 1u << ((j - sl->lo) % 32);
        }
        for (uint32_t g = 0; g < SNN_CORE_MAX_NEURONS / 32; g++)
            h.n_record_v += snn_popcount32(h.record_v_mask[g]);
    }
    h.params_off = HEADER_WORDS * 4;
    h.state_off = h.params_off + sl->n * na.params_bytes;
    h.keys_off = h.state_off + sl->n * na.state_bytes;
    h.dtcm_image_bytes = h.keys_off + n_in * KEY_WORDS * 4;
    h.rows_off = 0;
    h.rows_bytes = (uint32_t)b->rows;
    h.times_off = h.rows_bytes;
    h.times_bytes = (uint32_t)b->times;
    h.spikes_off = h.times_off + h.times_bytes;
    h.spikes_bytes = (uint32_t)b->spikes;
    h.v_off = h.spikes_off + h.spikes_bytes;
    h.v_bytes = (uint32_t)b->v;
    h.sdram_bytes = h.v_off + h.v_bytes;
    *out = h;
}

/* A slice's state region, field-major (docs/core-image.md): word f of
 * neuron lo + i's state struct (w words, in the population's array of
 * structs `state`) is word f * n + i.  Writes it, or with check compares
 * and returns whether it holds exactly that. */
static bool state_fields(uint32_t *dst, const void *state, uint32_t lo, uint32_t n, uint32_t w,
                         bool check)
{
    const uint32_t *src = (const uint32_t *)state + (size_t)lo * w;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t f = 0; f < w; f++) {
            uint32_t x = src[(size_t)i * w + f];
            if (!check)
                dst[(size_t)f * n + i] = x;
            else if (dst[(size_t)f * n + i] != x)
                return false;
        }
    return true;
}

/* Fills slice s's header, parameters, state and spike times; keys come
 * from in[0 .. n_in) (its incoming edges), whose indices are at in_word. */
static void fill_core(struct snn_map *map, uint32_t s, const struct block *b, const uint64_t *in,
                      uint32_t n_in, const uint64_t *edge_word)
{
    const struct snn_slice *sl = &map->slices[s];
    const struct snn_qpop *qp = &map->q->pops[sl->pop];
    struct snn_core_image *im = &map->images[s];
    struct neuron_arrays na = neuron_arrays(qp);
    struct snn_core_header h;
    make_header(map, s, b, n_in, &h);
    SNN_ASSERT(h.dtcm_image_bytes == im->dtcm_words * 4);

    uint8_t *dt = (uint8_t *)im->dtcm;
    memcpy(dt, &h, sizeof h);
    if (qp->model == FX_MODEL_SPIKE_SOURCE_ARRAY) {
        struct snn_array_neuron *an = (struct snn_array_neuron *)(dt + h.params_off);
        uint32_t first = qp->src_off[sl->lo];
        for (uint32_t i = 0; i < sl->n; i++)
            an[i] = (struct snn_array_neuron){qp->src_off[sl->lo + i] - first,
                                              qp->src_off[sl->lo + i + 1] - first};
        if (b->times)
            memcpy(&im->sdram[h.times_off / 4], &qp->src_steps[first], b->times);
    } else {
        memcpy(dt + h.params_off, (const uint8_t *)na.params + (size_t)sl->lo * na.params_bytes,
               (size_t)sl->n * na.params_bytes);
        if (na.state_bytes)
            state_fields((uint32_t *)(dt + h.state_off), na.state, sl->lo, sl->n,
                         na.state_bytes / 4, false);
    }
    struct snn_key_entry *ke = (struct snn_key_entry *)(dt + h.keys_off);
    for (uint32_t k = 0; k < n_in; k++) {
        const struct snn_edge *e = &map->edges[in[k]];
        const struct snn_slice *ps = &map->slices[e->pre];
        ke[k] = (struct snn_key_entry){ps->key, ps->mask, (uint32_t)(edge_word[in[k]] * 4), ps->n};
    }
    qsort(ke, n_in, sizeof *ke, compare_keys);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ---- the pass ------------------------------------------------------------ */

int snn_map_layout(struct snn_map *map, struct snn_diag *d)
{
    const struct snn_net *net = map->net;
    const struct snn_machine *m = map->m;
    uint32_t S = map->n_slices, P = net->n_pops;
    int rc = 0;
    struct snn_qnet *q = map->q;
    bool own_q = !q;
    if (own_q) {
        rc = snn_quantize(net, d, &q);
        if (rc)
            return rc;
    }
    struct snn_arena *tmp = snn_arena_new();
    struct snn_core_image *images = snn_arena_array(map->arena, S ? S : 1, sizeof *images);
    if (!tmp || !images) {
        rc = SNN_ENOMEM;
        goto out;
    }

    /* Projections by pre population, in projection order. */
    uint32_t *pp_first = snn_arena_array(tmp, (size_t)P + 1, sizeof *pp_first);
    uint32_t *pp_list = snn_arena_array(tmp, net->n_projs ? net->n_projs : 1, sizeof *pp_list);
    uint64_t *edge_word = snn_arena_array(tmp, map->n_edges ? map->n_edges : 1, sizeof *edge_word);
    uint64_t *rows_bytes = snn_arena_array(tmp, S ? S : 1, sizeof *rows_bytes);
    uint64_t *in_first = snn_arena_array(tmp, (size_t)S + 1, sizeof *in_first);
    uint64_t *in_list = snn_arena_array(tmp, map->n_edges ? map->n_edges : 1, sizeof *in_list);
    uint64_t *chip_fill = snn_arena_array(tmp, (size_t)m->width * m->height, sizeof *chip_fill);
    uint64_t *by_core = snn_arena_array(tmp, S ? S : 1, sizeof *by_core);
    if (!pp_first || !pp_list || !edge_word || !rows_bytes || !in_first || !in_list ||
        !chip_fill || !by_core) {
        rc = SNN_ENOMEM;
        goto out;
    }
    uint32_t max_pj = 0;
    for (uint32_t j = 0; j < net->n_projs; j++)
        pp_first[net->projs[j].pre + 1]++;
    for (uint32_t p = 0; p < P; p++) {
        max_pj = pp_first[p + 1] > max_pj ? pp_first[p + 1] : max_pj;
        pp_first[p + 1] += pp_first[p];
    }
    {
        uint32_t *fill = snn_arena_array(tmp, (size_t)P + 1, sizeof *fill);
        if (!fill) {
            rc = SNN_ENOMEM;
            goto out;
        }
        memcpy(fill, pp_first, (size_t)P * sizeof *fill);
        for (uint32_t j = 0; j < net->n_projs; j++)
            pp_list[fill[net->projs[j].pre]++] = j;
    }

    /* Each edge's place in its post slice's block: in-edges in pre order,
     * which is the order of the edge list. */
    for (uint64_t e = 0; e < map->n_edges; e++) {
        const struct snn_edge *x = &map->edges[e];
        edge_word[e] = rows_bytes[x->post] / 4;
        rows_bytes[x->post] += 4 * edge_words(map->slices[x->pre].n, x);
        in_first[x->post + 1]++;
    }
    for (uint32_t s = 0; s < S; s++)
        in_first[s + 1] += in_first[s];
    {
        uint64_t *fill = snn_arena_array(tmp, S ? S : 1, sizeof *fill);
        if (!fill) {
            rc = SNN_ENOMEM;
            goto out;
        }
        memcpy(fill, in_first, (size_t)S * sizeof *fill);
        for (uint64_t e = 0; e < map->n_edges; e++)
            in_list[fill[map->edges[e].post]++] = e;
    }

    /* Allocate every image; check sizes against the target. */
    map->q = q; /* block_of() reads it; cleared again on failure */
    uint64_t budget = snn__map_sdram_budget(m), total_syn = 0;
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_slice *sl = &map->slices[s];
        struct block b = block_of(map, s, rows_bytes[s]);
        uint64_t sdram = b.rows + b.times + b.spikes + b.v;
        struct neuron_arrays na = neuron_arrays(&q->pops[sl->pop]);
        uint64_t n_in = in_first[s + 1] - in_first[s];
        uint64_t dtcm = 4ull * HEADER_WORDS + (uint64_t)sl->n * (na.params_bytes + na.state_bytes) +
                        4ull * KEY_WORDS * n_in;
        if (sdram > budget || sdram > UINT32_MAX || dtcm > m->dtcm_bytes) {
            snn_diag_error(d, snn__map_pop_loc(map, sl->pop),
                           "population '%s', neurons %u..%u: the core image needs %llu bytes of "
                           "SDRAM (a core's share is %llu) and %llu of DTCM (a core has %u); "
                           "try fewer neurons per core",
                           snn__map_pop_name(map, sl->pop), sl->lo, sl->lo + sl->n - 1,
                           (unsigned long long)sdram, (unsigned long long)budget,
                           (unsigned long long)dtcm, m->dtcm_bytes);
            rc = SNN_ETOOBIG;
            goto out;
        }
        struct snn_core_image *im = &images[s];
        im->dtcm_words = (uint32_t)(dtcm / 4);
        im->sdram_words = (uint32_t)((b.rows + b.times) / 4);
        im->sdram_bytes = (uint32_t)sdram;
        im->dtcm = snn_arena_array(map->arena, im->dtcm_words, 4);
        im->sdram = snn_arena_array(map->arena, im->sdram_words ? im->sdram_words : 1, 4);
        if (!im->dtcm || !im->sdram) {
            rc = SNN_ENOMEM;
            goto out;
        }
        for (uint64_t k = in_first[s]; k < in_first[s + 1]; k++)
            total_syn += map->edges[in_list[k]].n_synapses;
    }
    /* Blocks on each chip in core order: sort (chip, core, slice). */
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_slice *a = &map->slices[s];
        by_core[s] = ((uint64_t)snn__map_chip(map, a->x, a->y) << 40) |
                     ((uint64_t)a->core << 32) | s;
    }
    qsort(by_core, S, sizeof *by_core, compare_u64);
    for (uint32_t k = 0; k < S; k++) {
        uint32_t s = (uint32_t)by_core[k];
        uint32_t c = snn__map_chip(map, map->slices[s].x, map->slices[s].y);
        images[s].chip_offset = chip_fill[c];
        chip_fill[c] += images[s].sdram_bytes;
        if (chip_fill[c] > m->sdram_bytes) {
            snn_diag_error(d, NULL,
                           "chip (%u, %u) needs %llu bytes of SDRAM for its cores' blocks, it has "
                           "%llu; try a bigger machine",
                           map->slices[s].x, map->slices[s].y, (unsigned long long)chip_fill[c],
                           (unsigned long long)m->sdram_bytes);
            rc = SNN_ETOOBIG;
            goto out;
        }
    }
    map->images = images;
    for (uint32_t s = 0; s < S; s++) {
        struct block b = block_of(map, s, rows_bytes[s]);
        fill_core(map, s, &b, &in_list[in_first[s]], (uint32_t)(in_first[s + 1] - in_first[s]),
                  edge_word);
    }

    /* The rows, pre slice by pre slice. */
    struct lay L = {.map = map, .pp_first = pp_first, .pp_list = pp_list, .edge_word = edge_word};
    atomic_init(&L.next, 0);
    atomic_init(&L.stop, 0);
    struct worker w[2];
    int rc0 = worker_init(&w[0], &L, max_pj), rc1 = 0;
    bool two = total_syn >= PARALLEL_SYNAPSES && S > 1;
    if (two)
        rc1 = worker_init(&w[1], &L, max_pj);
    if (rc0 || rc1) {
        worker_free(&w[0]);
        if (two)
            worker_free(&w[1]);
        rc = SNN_ENOMEM;
        goto out;
    }
    pthread_t th;
    bool started = two && pthread_create(&th, NULL, worker_run, &w[1]) == 0;
    worker_run(&w[0]);
    if (started) {
        pthread_join(th, NULL);
        if (w[0].fault != FAULT_NONE || w[1].fault != FAULT_NONE) {
            /* Which slice a thread stopped at depends on timing: redo it
             * alone, so the fault reported is the one of the first slice,
             * always the same. */
            atomic_store(&L.next, 0);
            atomic_store(&L.stop, 0);
            w[0].fault = FAULT_NONE;
            worker_run(&w[0]);
        }
    }
    if (w[0].fault != FAULT_NONE)
        rc = report_fault(map, &w[0], d);
    worker_free(&w[0]);
    if (two)
        worker_free(&w[1]);

out:
    snn_arena_free(tmp);
    if (rc) {
        map->images = NULL; /* what was allocated stays in the arena, unused */
        if (own_q) {
            snn_qnet_free(q);
            map->q = NULL;
        }
        return rc;
    }
    map->q = q;
    return 0;
}

/* ---- the dump -------------------------------------------------------------- */

/* FNV-1a over words: a fingerprint of an image in the dump. */
static uint32_t fnv32(const uint32_t *w, uint64_t n)
{
    uint32_t h = 2166136261u;
    for (uint64_t k = 0; k < n; k++)
        for (unsigned b = 0; b < 32; b += 8) {
            h ^= (w[k] >> b) & 0xFFu;
            h *= 16777619u;
        }
    return h;
}

static void dump_row(const uint32_t *blk, uint32_t off, FILE *out)
{
    uint32_t h = blk[off / 4], ne = snn_row_n_exc(h), ni = snn_row_n_inh(h);
    for (uint32_t k = 0; k < ne + ni; k++) {
        uint32_t w = blk[off / 4 + 1 + k];
        fprintf(out, "%s%u:%+d/%u", k == 0 ? (ne ? " exc " : " inh ") : k == ne ? " inh " : " ",
                snn_syn_index(w), snn_syn_weight(w), snn_syn_delay(w));
    }
}

/* The slice sending key k, or S: by_key holds (key << 32 | slice) of
 * every slice, sorted (the slices' key blocks are disjoint and aligned,
 * so the last block starting at or below k is the only candidate);
 * without it (no memory for it), a scan. */
static uint32_t slice_of_key(const struct snn_map *map, const uint64_t *by_key, uint32_t key)
{
    if (!by_key) {
        for (uint32_t s = 0; s < map->n_slices; s++)
            if ((key & map->slices[s].mask) == map->slices[s].key)
                return s;
        return map->n_slices;
    }
    uint32_t lo = 0, hi = map->n_slices; /* the first entry above key */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((uint32_t)(by_key[mid] >> 32) <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return map->n_slices;
    uint32_t s = (uint32_t)by_key[lo - 1];
    return (key & map->slices[s].mask) == map->slices[s].key ? s : map->n_slices;
}

void snn__map_dump_layout(const struct snn_map *map, FILE *out)
{
    static const char *const models[] = {"?", "lif_curr_exp", "lif_cond_exp", "if_curr_delta",
                                         "izhikevich", "if", "spike_source_array",
                                         "spike_source_poisson"};
    uint64_t *by_key = snn_malloc(((size_t)map->n_slices + 1) * sizeof *by_key);
    if (by_key) {
        for (uint32_t s = 0; s < map->n_slices; s++)
            by_key[s] = (uint64_t)map->slices[s].key << 32 | s;
        qsort(by_key, map->n_slices, sizeof *by_key, compare_u64);
    }
    for (uint32_t s = 0; s < map->n_slices; s++) {
        const struct snn_slice *sl = &map->slices[s];
        const struct snn_core_image *im = &map->images[s];
        struct snn_core_header h;
        memcpy(&h, im->dtcm, sizeof h);
        fprintf(out, "core (%u, %u, %u) slice %u '%s' [%u, %u) %s\n", sl->x, sl->y, sl->core, s,
                snn__map_pop_name(map, sl->pop), h.lo, h.lo + h.n,
                h.model < sizeof models / sizeof *models ? models[h.model] : "?");
        fprintf(out,
                "  dtcm image %u bytes (params @%u, state @%u, keys @%u) fnv %08x\n"
                "  sdram block %u bytes at chip offset %llu: rows %u, times %u, spikes %u @%u, "
                "v %u @%u; stored fnv %08x\n",
                h.dtcm_image_bytes, h.params_off, h.state_off, h.keys_off,
                fnv32(im->dtcm, im->dtcm_words), h.sdram_bytes,
                (unsigned long long)im->chip_offset, h.rows_bytes, h.times_bytes, h.spikes_bytes,
                h.spikes_off, h.v_bytes, h.v_off, fnv32(im->sdram, im->sdram_words));
        fprintf(out, "  key 0x%08x ring %u steps %u record%s%s", h.key, h.ring_slots, h.n_steps,
                (h.flags & SNN_CORE_RECORD_SPIKES) ? " spikes" : "",
                (h.flags & SNN_CORE_RECORD_V) ? " v" : "");
        if (h.flags & SNN_CORE_RECORD_V)
            fprintf(out, " (%u neurons)", h.n_record_v);
        fprintf(out, "%s\n", (h.flags & SNN_CORE_SILENT) ? ", silent" : "");
        const struct snn_key_entry *ke =
            (const struct snn_key_entry *)((const uint8_t *)im->dtcm + h.keys_off);
        for (uint32_t k = 0; k < h.n_keys; k++) {
            uint32_t ps = slice_of_key(map, by_key, ke[k].key);
            fprintf(out, "  from 0x%08x/0x%08x n %u index @%u", ke[k].key, ke[k].mask,
                    ke[k].n_pre, ke[k].index_off);
            if (ps < map->n_slices)
                fprintf(out, " (slice %u '%s' [%u, %u))", ps,
                        snn__map_pop_name(map, map->slices[ps].pop), map->slices[ps].lo,
                        map->slices[ps].lo + map->slices[ps].n);
            fprintf(out, "\n");
            const struct snn_row_group *g =
                (const struct snn_row_group *)&im->sdram[ke[k].index_off / 4];
            uint32_t G = (ke[k].n_pre + 31) / 32;
            for (uint32_t i = 0; i < ke[k].n_pre; i++) {
                uint32_t r = snn_row_rank(g, i);
                if (r == SNN_ROW_NONE)
                    continue;
                uint32_t off = im->sdram[ke[k].index_off / 4 + 2 * G + r];
                fprintf(out, "    %u @%u:", i, off);
                dump_row(im->sdram, off, out);
                fprintf(out, "\n");
            }
        }
        if (h.times_bytes) {
            fprintf(out, "  spike steps");
            for (uint32_t k = 0; k < h.times_bytes / 4; k++)
                fprintf(out, " %u", im->sdram[h.times_off / 4 + k]);
            fprintf(out, "\n");
        }
    }
    snn_free(by_key);
}

/* ---- the verifier ------------------------------------------------------------ */

#define VERIFY_REPORT_MAX 20u

struct vlog {
    struct snn_diag *d;
    uint64_t n;
};

#define VIOLATION(v, ...)                                                                     \
    do {                                                                                      \
        if ((v)->n++ < VERIFY_REPORT_MAX)                                                     \
            snn_diag_error((v)->d, NULL, __VA_ARGS__);                                        \
    } while (0)

/* The rows of one key entry: index groups, offsets, headers, words. */
static void verify_edge(const struct snn_map *map, uint32_t s, const struct snn_key_entry *ke,
                        const struct snn_edge *e, const struct snn_core_header *h,
                        struct vlog *v)
{
    const struct snn_core_image *im = &map->images[s];
    uint32_t G = (ke->n_pre + 31) / 32;
    uint64_t base = ke->index_off / 4, words = edge_words(ke->n_pre, e);
    if (ke->index_off % 4 || base + words > h->rows_bytes / 4) {
        VIOLATION(v, "layout: slice %u: the index at %u of %llu words leaves the rows region", s,
                  ke->index_off, (unsigned long long)words);
        return;
    }
    const struct snn_row_group *g = (const struct snn_row_group *)&im->sdram[base];
    uint32_t rows = 0;
    for (uint32_t k = 0; k < G; k++) {
        uint32_t valid = ke->n_pre - 32 * k >= 32 ? 0xFFFFFFFFu
                                                  : (1u << (ke->n_pre - 32 * k)) - 1u;
        if (g[k].before != rows || (g[k].bits & ~valid)) {
            VIOLATION(v, "layout: slice %u: row group %u of key 0x%08x is inconsistent", s, k,
                      ke->key);
            return;
        }
        rows += snn_popcount32(g[k].bits);
    }
    if (rows != e->n_rows) {
        VIOLATION(v, "layout: slice %u: key 0x%08x has %u rows, the edge %u", s, ke->key, rows,
                  e->n_rows);
        return;
    }
    /* Rows follow the offsets, consecutively, in pre-neuron order. */
    const struct snn_qpop *qp = &map->q->pops[map->slices[s].pop];
    uint64_t at = base + (uint64_t)GROUP_WORDS * G + rows, syn = 0;
    for (uint32_t r = 0; r < rows; r++) {
        uint32_t off = im->sdram[base + (uint64_t)GROUP_WORDS * G + r];
        if (off != at * 4) {
            VIOLATION(v, "layout: slice %u: row %u of key 0x%08x is at %u, not %llu", s, r,
                      ke->key, off, (unsigned long long)(at * 4));
            return;
        }
        uint32_t hd = im->sdram[at], ne = snn_row_n_exc(hd), ni = snn_row_n_inh(hd);
        if (ne + ni == 0 || at + 1 + ne + ni > base + words) {
            VIOLATION(v, "layout: slice %u: row %u of key 0x%08x has a bad header 0x%08x", s, r,
                      ke->key, hd);
            return;
        }
        for (uint32_t k = 0; k < ne + ni; k++) {
            uint32_t w = im->sdram[at + 1 + k], rec = k >= ne;
            int32_t wt = snn_syn_weight(w);
            if (snn_syn_index(w) >= h->n || snn_syn_delay(w) == 0 ||
                snn_syn_delay(w) >= h->ring_slots || wt > qp->w_max[rec] ||
                wt < -qp->w_max[rec]) {
                VIOLATION(v,
                          "layout: slice %u: synapse %u of row %u of key 0x%08x (0x%08x) has "
                          "an index, delay or weight out of range",
                          s, k, r, ke->key, w);
                return;
            }
        }
        syn += ne + ni;
        at += 1 + ne + ni;
    }
    if (syn != e->n_synapses || at != base + words)
        VIOLATION(v, "layout: slice %u: key 0x%08x has %llu synapses, the edge %u", s, ke->key,
                  (unsigned long long)syn, e->n_synapses);
}

int snn__map_verify_layout(const struct snn_map *map, struct snn_diag *d)
{
    struct vlog v = {d, 0};
    const struct snn_machine *m = map->m;
    uint32_t S = map->n_slices;
    if (!map->images || !map->q) {
        VIOLATION(&v, "layout: no images");
        return SNN_EINVAL;
    }
    uint64_t *in_first = snn_calloc((size_t)S + 1, sizeof *in_first);
    uint64_t *in_list = snn_calloc(map->n_edges ? map->n_edges : 1, sizeof *in_list);
    uint64_t *order = snn_calloc(S ? S : 1, sizeof *order);
    uint64_t *keyed = snn_calloc(map->n_edges ? map->n_edges : 1, sizeof *keyed);
    if (!in_first || !in_list || !order || !keyed) {
        snn_free(in_first);
        snn_free(in_list);
        snn_free(order);
        snn_free(keyed);
        return SNN_ENOMEM;
    }
    for (uint64_t e = 0; e < map->n_edges; e++)
        in_first[map->edges[e].post + 1]++;
    for (uint32_t s = 0; s < S; s++)
        in_first[s + 1] += in_first[s];
    /* Filled from the back, keeping pre order; each in_first[s + 1] moves
     * back from where slice s's list ends to where it starts. */
    for (uint64_t e = map->n_edges; e-- > 0;)
        in_list[--in_first[map->edges[e].post + 1]] = e;
    uint64_t budget = snn__map_sdram_budget(m);
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_slice *sl = &map->slices[s];
        const struct snn_core_image *im = &map->images[s];
        const struct snn_qpop *qp = &map->q->pops[sl->pop];
        struct neuron_arrays na = neuron_arrays(qp);
        uint64_t n_in = (s + 1 < S ? in_first[s + 2] : map->n_edges) - in_first[s + 1];
        const uint64_t *in = &in_list[in_first[s + 1]];
        struct snn_core_header h;
        if (!im->dtcm || im->dtcm_words < HEADER_WORDS) {
            VIOLATION(&v, "layout: slice %u has no DTCM image", s);
            continue;
        }
        memcpy(&h, im->dtcm, sizeof h);
        if (h.version != SNN_CORE_IMAGE_VERSION || h.model != (uint32_t)qp->model ||
            h.pop != sl->pop || h.lo != sl->lo || h.n != sl->n || h.key != sl->key ||
            h.ring_slots != sl->use.ring_slots || h.n_keys != n_in ||
            h.n_steps != (uint32_t)snn__map_record_steps(map->net)) {
            VIOLATION(&v, "layout: slice %u: the header does not describe the slice", s);
            continue;
        }
        /* Every other field too: the seed, the recording, every offset
         * and size, from the slice, its edges and the network. */
        uint64_t rows = 0;
        for (uint64_t k = 0; k < n_in; k++)
            rows += 4 * edge_words(map->slices[map->edges[in[k]].pre].n, &map->edges[in[k]]);
        struct block b = block_of(map, s, rows);
        struct snn_core_header want;
        make_header(map, s, &b, (uint32_t)n_in, &want);
        if (memcmp(&h, &want, sizeof h) != 0) {
            VIOLATION(&v, "layout: slice %u: the header differs from the slice's (seed, "
                          "recording, offsets or sizes)", s);
            continue;
        }
        /* DTCM: the image's parts, and with the kernel's data and the ring
         * buffers exactly partition's account. */
        uint64_t img = 4ull * HEADER_WORDS + (uint64_t)sl->n * (na.params_bytes + na.state_bytes) +
                       16ull * n_in;
        uint64_t ring = 2ull * sl->n * sl->use.ring_slots * 4;
        if (h.params_off != 4 * HEADER_WORDS || h.state_off != h.params_off + sl->n * na.params_bytes ||
            h.keys_off != h.state_off + sl->n * na.state_bytes || h.dtcm_image_bytes != img ||
            im->dtcm_words * 4ull != img) {
            VIOLATION(&v, "layout: slice %u: the DTCM image's parts are misplaced", s);
            continue;
        }
        uint64_t dtcm = img - 4ull * HEADER_WORDS + SNN_MAP_DTCM_OVERHEAD + ring;
        if (dtcm != sl->use.dtcm_bytes || dtcm > m->dtcm_bytes)
            VIOLATION(&v, "layout: slice %u uses %llu bytes of DTCM; partition counted %u, a "
                          "core has %u", s, (unsigned long long)dtcm, sl->use.dtcm_bytes,
                      m->dtcm_bytes);
        /* The neuron data: the quantized network's, for the slice's neurons. */
        const uint8_t *dt = (const uint8_t *)im->dtcm;
        if (qp->model == FX_MODEL_SPIKE_SOURCE_ARRAY) {
            const struct snn_array_neuron *an = (const struct snn_array_neuron *)(dt + h.params_off);
            uint32_t first = qp->src_off[sl->lo];
            bool same = h.times_bytes == 4ull * (qp->src_off[sl->lo + sl->n] - first) &&
                        (!h.times_bytes || memcmp(&im->sdram[h.times_off / 4],
                                                  &qp->src_steps[first], h.times_bytes) == 0);
            for (uint32_t i = 0; i < sl->n && same; i++)
                same = an[i].first == qp->src_off[sl->lo + i] - first &&
                       an[i].end == qp->src_off[sl->lo + i + 1] - first;
            if (!same)
                VIOLATION(&v, "layout: slice %u: the spike times differ from the network's", s);
        } else if (memcmp(dt + h.params_off,
                          (const uint8_t *)na.params + (size_t)sl->lo * na.params_bytes,
                          (size_t)sl->n * na.params_bytes) != 0 ||
                   (na.state_bytes &&
                    !state_fields((uint32_t *)(dt + h.state_off), na.state, sl->lo, sl->n,
                                  na.state_bytes / 4, true))) {
            VIOLATION(&v, "layout: slice %u: the neuron parameters or state differ from the "
                          "quantized network's", s);
        }
        /* SDRAM: regions in order, rows exactly partition's, the whole
         * within partition's account (spike times repeated within a step
         * are stored once) and the core's share. */
        if (h.rows_off != 0 || h.rows_bytes != rows || h.times_off != h.rows_bytes ||
            h.spikes_off != h.times_off + h.times_bytes ||
            h.v_off != h.spikes_off + h.spikes_bytes || h.sdram_bytes != h.v_off + h.v_bytes ||
            im->sdram_bytes != h.sdram_bytes ||
            im->sdram_words * 4ull != (uint64_t)h.rows_bytes + h.times_bytes) {
            VIOLATION(&v, "layout: slice %u: the SDRAM block's regions are misplaced", s);
            continue;
        }
        if (h.sdram_bytes > sl->use.sdram_bytes || h.sdram_bytes > budget)
            VIOLATION(&v, "layout: slice %u uses %u bytes of SDRAM; partition counted %llu, a "
                          "core's share is %llu", s, h.sdram_bytes,
                      (unsigned long long)sl->use.sdram_bytes, (unsigned long long)budget);
        if (im->chip_offset + h.sdram_bytes > m->sdram_bytes)
            VIOLATION(&v, "layout: slice %u's block leaves its chip's SDRAM", s);
        /* The key table: sorted, entry k for the in-edge of the k-th
         * smallest key. */
        const struct snn_key_entry *ke =
            (const struct snn_key_entry *)((const uint8_t *)im->dtcm + h.keys_off);
        for (uint64_t k = 0; k < n_in; k++)
            keyed[k] = ((uint64_t)map->slices[map->edges[in[k]].pre].key << 32) | (k & 0xFFFFFFFFu);
        qsort(keyed, n_in, sizeof *keyed, compare_u64);
        for (uint64_t k = 0; k < n_in; k++) {
            if (k > 0 && ke[k].key <= ke[k - 1].key) {
                VIOLATION(&v, "layout: slice %u: the key table is not sorted", s);
                break;
            }
            const struct snn_edge *e = &map->edges[in[(uint32_t)keyed[k]]];
            const struct snn_slice *ps = &map->slices[e->pre];
            if (ke[k].key != ps->key || ke[k].mask != ps->mask || ke[k].n_pre != ps->n) {
                VIOLATION(&v, "layout: slice %u: key entry 0x%08x matches no incoming edge", s,
                          ke[k].key);
                continue;
            }
            verify_edge(map, s, &ke[k], e, &h, &v);
        }
    }
    /* The blocks of a chip, in core order, each where the one before it
     * ended, from 0: no overlap, no gap. */
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_slice *a = &map->slices[s];
        order[s] = ((uint64_t)snn__map_chip(map, a->x, a->y) << 40) | ((uint64_t)a->core << 32) | s;
    }
    qsort(order, S, sizeof *order, compare_u64);
    uint64_t fill = 0;
    for (uint32_t k = 0; k < S; k++) {
        uint32_t s = (uint32_t)order[k];
        if (k == 0 || order[k] >> 40 != order[k - 1] >> 40)
            fill = 0;
        if (map->images[s].chip_offset != fill)
            VIOLATION(&v, "layout: slice %u's block is at %llu of its chip's SDRAM, not %llu", s,
                      (unsigned long long)map->images[s].chip_offset, (unsigned long long)fill);
        fill += map->images[s].sdram_bytes;
    }
    snn_free(in_first);
    snn_free(in_list);
    snn_free(order);
    snn_free(keyed);
    if (v.n > VERIFY_REPORT_MAX)
        snn_diag_note(d, NULL, "%llu more layout violations not shown",
                      (unsigned long long)(v.n - VERIFY_REPORT_MAX));
    return v.n ? SNN_EINVAL : 0;
}

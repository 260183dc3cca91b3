/*
 * tests/unit/test_map_layout.c: the layout pass (mapper/layout.c), every
 * core's memory image (abi/core_image.h, docs/core-image.md).
 *
 * The maps come from the real pipeline (snn_map_new, snn_map_run up to
 * layout) on small machines, with few neurons per core so populations are
 * cut into many slices spread over several chips.  The images are read
 * back here with only the helpers of abi/core_image.h and the slices'
 * keys, never with layout.c's own code.  Covered: a small case with every
 * header field, key entry, row index, row header and synaptic word
 * written out by hand (two excitatory projections and an inhibitory one
 * between the same populations, a repeated pair, a list out of order);
 * a row index with more than one group; a property test over random
 * networks (every model and connector, both receptors, delays up to 255
 * steps) decoding every synapse and comparing them, and their order in
 * each row, with snn_expand's; per-neuron parameters, initial state and
 * spike times against the quantized network; the recording fields; every
 * size against partition's account and the chip's blocks packed in core
 * order; determinism, including a network large enough for two threads;
 * a pre slice laid out in chunks; the verifier catching single
 * corruptions; an allocation-failure sweep; a row over 65,535 synapses of
 * one receptor; and the dump.
 *
 * The verifier also compares the seed, the recording fields, the neuron
 * data and the spike times with what they are made from, and each
 * chip's blocks with their running sum (an overlap a gap would hide).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/core_image.h"
#include "abi/neuron.h"
#include "frontend/frontend.h"
#include "ir/expand.h"
#include "ir/ir.h"
#include "ir/quant.h"
#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"
#include "target/target.h"
#include "map_testlib.h"
#include "net_testlib.h"
#include "sink.h"

/* ---- helpers ------------------------------------------------------------ */

/* A from_list projection over arrays that must outlive the network. */

/* A slice's state region (field-major, docs/core-image.md) holds exactly
 * the n state structs of S bytes at st. */
static void assert_state(const uint8_t *region, const void *st, uint32_t n, uint32_t S)
{
    const uint32_t *w = (const uint32_t *)region, *src = st;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t f = 0; f < S / 4; f++)
            if (w[f * n + i] != src[i * (S / 4) + f])
                fail_msg("state word %u of neuron %u is %08x, not %08x", f, i, w[f * n + i],
                         src[i * (S / 4) + f]);
}
static struct snn_proj *list_proj(struct snn_net *net, uint32_t a, uint32_t b, enum snn_receptor r,
                                  uint32_t n, const uint32_t *pre, const uint32_t *post,
                                  const double *w, const double *d)
{
    struct snn_proj *pj = proj(net, a, b, SNN_CONN_FROM_LIST, r, 1.0, net->dt_ms);
    pj->conn.n = n;
    pj->conn.list_pre = pre;
    pj->conn.list_post = post;
    pj->conn.list_w = w;
    pj->conn.list_d = d;
    return pj;
}

static void uniform_param(struct snn_net *net, uint32_t p, const char *name, double lo, double hi)
{
    int slot = snn_model_param(net->pops[p].model, name);
    assert_true(slot >= 0);
    net->pops[p].params[slot] = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = lo, .b = hi};
}

static void uniform_init(struct snn_net *net, uint32_t p, const char *name, double lo, double hi)
{
    int slot = snn_model_state(net->pops[p].model, name);
    assert_true(slot >= 0);
    net->pops[p].init[slot] = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = lo, .b = hi};
}


static struct snn_machine *builtin(const char *name)
{
    struct snn_machine *m = NULL;
    assert_int_equal(snn_target_load(name, NULL, &m), 0);
    return m;
}

static struct snn_map *map_new(const struct snn_net *net, const struct snn_machine *m,
                               uint32_t npc, bool verify)
{
    struct sink s;
    sink_open(&s);
    int rc = snn_ir_verify(net, s.d);
    if (rc)
        fail_msg("network: %s", sink_text(&s));
    sink_close(&s);
    struct snn_map_options o;
    snn_map_options_init(&o);
    o.neurons_per_core = npc;
    o.verify = verify;
    struct snn_map *map = NULL;
    assert_int_equal(snn_map_new(net, m, &o, &map), 0);
    return map;
}

/* Maps net onto m up to last; every pass must succeed, and after layout
 * its verifier must pass. */
static void run_to(struct snn_map *map, enum snn_map_pass last)
{
    struct sink s;
    sink_open(&s);
    int rc = snn_map_run(map, last, 0, NULL, s.d);
    if (rc)
        fail_msg("mapping failed (%d):\n%s", rc, sink_text(&s));
    if (last == SNN_PASS_LAYOUT) {
        rc = snn__map_verify_layout(map, s.d);
        if (rc)
            fail_msg("layout verifier (%d):\n%s", rc, sink_text(&s));
    }
    sink_close(&s);
}

static struct snn_map *map_run(const struct snn_net *net, const struct snn_machine *m,
                               uint32_t npc, bool verify)
{
    struct snn_map *map = map_new(net, m, npc, verify);
    run_to(map, SNN_PASS_LAYOUT);
    assert_non_null(map->images);
    assert_non_null(map->q);
    return map;
}

static struct snn_core_header header(const struct snn_map *map, uint32_t s)
{
    struct snn_core_header h;
    assert_true(map->images[s].dtcm_words * 4 >= sizeof h);
    memcpy(&h, map->images[s].dtcm, sizeof h);
    return h;
}

static const struct snn_key_entry *key_table(const struct snn_map *map, uint32_t s,
                                             const struct snn_core_header *h)
{
    assert_true(h->keys_off + 16ull * h->n_keys <= map->images[s].dtcm_words * 4ull);
    return (const struct snn_key_entry *)((const uint8_t *)map->images[s].dtcm + h->keys_off);
}

/* The slice of population p holding neuron j (partition's slices). */
static uint32_t slice_of(const struct snn_map *map, uint32_t p, uint32_t j)
{
    for (uint32_t s = map->pop_slice[p]; s < map->pop_slice[p + 1]; s++)
        if (j >= map->slices[s].lo && j - map->slices[s].lo < map->slices[s].n)
            return s;
    fail_msg("neuron %u of population %u is in no slice", j, p);
    return 0;
}

static uint32_t slice_by_pop_lo(const struct snn_map *map, uint32_t p, uint32_t lo)
{
    uint32_t s = slice_of(map, p, lo);
    assert_int_equal(map->slices[s].lo, lo);
    return s;
}

/* Word w of slice s's stored SDRAM block. */
static uint32_t word(const struct snn_map *map, uint32_t s, uint32_t w)
{
    assert_true(w < map->images[s].sdram_words);
    return map->images[s].sdram[w];
}

/* ---- decoding every image ---------------------------------------------- */

/* One synapse: read from an image, or made by snn_expand. */
struct syn {
    uint32_t pre_pop, pre, post_pop, post, rec;
    int32_t w;
    uint32_t delay;
    uint32_t post_slice;
    uint64_t ord; /* image: place in its row's receptor section; expand: (proj, k) */
};

struct syns {
    struct syn *v;
    size_t n, cap;
};

static void syns_push(struct syns *a, struct syn x)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 1024;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
        assert_non_null(a->v);
    }
    a->v[a->n++] = x;
}

static int cmp_tuple(const void *pa, const void *pb)
{
    const struct syn *a = pa, *b = pb;
#define CMP(f)                                                                                     \
    if (a->f != b->f)                                                                              \
        return a->f < b->f ? -1 : 1;
    CMP(pre_pop) CMP(pre) CMP(post_pop) CMP(post) CMP(rec) CMP(w) CMP(delay)
    return 0;
}

static int cmp_order(const void *pa, const void *pb)
{
    const struct syn *a = pa, *b = pb;
    CMP(pre_pop) CMP(pre) CMP(post_pop) CMP(post_slice) CMP(rec) CMP(ord)
#undef CMP
    return 0;
}

struct keyslice {
    uint32_t key, s;
};

static int cmp_keyslice(const void *pa, const void *pb)
{
    const struct keyslice *a = pa, *b = pb;
    return (a->key > b->key) - (a->key < b->key);
}

/* Reads every synapse of every image into out, checking the structure
 * on the way: key entries name a slice's key and mask and an edge of
 * partition's, each edge exactly once; row groups count rows; row
 * offsets lie in the block; each edge's rows and synapses are
 * partition's counts. */
static void decode(const struct snn_map *map, struct syns *out)
{
    uint32_t S = map->n_slices;
    struct keyslice *ks = malloc((S ? S : 1) * sizeof *ks);
    unsigned char *seen = calloc(map->n_edges ? map->n_edges : 1, 1);
    assert_true(ks && seen);
    for (uint32_t s = 0; s < S; s++)
        ks[s] = (struct keyslice){map->slices[s].key, s};
    qsort(ks, S, sizeof *ks, cmp_keyslice);
    uint64_t n_entries = 0;
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_core_image *im = &map->images[s];
        struct snn_core_header h = header(map, s);
        const struct snn_key_entry *ke = key_table(map, s, &h);
        assert_int_equal(h.n_keys, map->slices[s].use.n_in_edges);
        n_entries += h.n_keys;
        for (uint32_t k = 0; k < h.n_keys; k++) {
            if (k > 0)
                assert_true(ke[k].key > ke[k - 1].key);
            struct keyslice want = {ke[k].key, 0};
            const struct keyslice *f = bsearch(&want, ks, S, sizeof *ks, cmp_keyslice);
            assert_non_null(f);
            uint32_t ps = f->s;
            const struct snn_slice *pre = &map->slices[ps];
            assert_int_equal(ke[k].mask, pre->mask);
            assert_int_equal(ke[k].n_pre, pre->n);
            /* the edge (ps, s) */
            uint64_t e = map->edge_first[ps];
            while (e < map->edge_first[ps + 1] && map->edges[e].post != s)
                e++;
            assert_true(e < map->edge_first[ps + 1]);
            assert_false(seen[e]);
            seen[e] = 1;
            /* its index */
            assert_int_equal(ke[k].index_off % 4, 0);
            uint32_t base = ke[k].index_off / 4, G = (pre->n + 31) / 32;
            assert_true(base + 2ull * G <= im->sdram_words);
            const struct snn_row_group *g = (const struct snn_row_group *)&im->sdram[base];
            uint32_t rows = 0;
            for (uint32_t j = 0; j < G; j++) {
                assert_int_equal(g[j].before, rows);
                rows += snn_popcount32(g[j].bits);
            }
            assert_int_equal(rows, map->edges[e].n_rows);
            assert_true(base + 2ull * G + rows <= im->sdram_words);
            uint64_t nsyn = 0;
            uint32_t r_seen = 0;
            for (uint32_t i = 0; i < pre->n; i++) {
                uint32_t r = snn_row_rank(g, i);
                if (r == SNN_ROW_NONE)
                    continue;
                assert_int_equal(r, r_seen);
                r_seen++;
                uint32_t off = im->sdram[base + 2 * G + r];
                assert_int_equal(off % 4, 0);
                assert_true(off / 4 < im->sdram_words);
                uint32_t hd = im->sdram[off / 4];
                uint32_t ne = snn_row_n_exc(hd), ni = snn_row_n_inh(hd);
                assert_true(ne + ni > 0);
                assert_true(off / 4 + 1ull + ne + ni <= h.rows_bytes / 4);
                for (uint32_t x = 0; x < ne + ni; x++) {
                    uint32_t wd = im->sdram[off / 4 + 1 + x];
                    assert_true(snn_syn_index(wd) < h.n);
                    syns_push(out, (struct syn){pre->pop, pre->lo + i, h.pop,
                                                h.lo + snn_syn_index(wd), x >= ne,
                                                snn_syn_weight(wd), snn_syn_delay(wd), s,
                                                x >= ne ? x - ne : x});
                }
                nsyn += ne + ni;
            }
            assert_int_equal(r_seen, rows);
            assert_int_equal(nsyn, map->edges[e].n_synapses);
        }
    }
    assert_int_equal(n_entries, map->n_edges);
    free(ks);
    free(seen);
}

/* What the images should hold: snn_expand's synapses of every projection
 * with weights quantized as the simulator does. */
static void expected(const struct snn_map *map, struct syns *out)
{
    const struct snn_net *net = map->net;
    for (uint32_t j = 0; j < net->n_projs; j++) {
        const struct snn_proj *pj = &net->projs[j];
        struct snn_synapses sy = {0};
        assert_int_equal(snn_expand(net, j, 0, UINT32_MAX, 0, UINT32_MAX, &sy, NULL), 0);
        for (uint64_t k = 0; k < sy.n; k++)
            syns_push(out, (struct syn){pj->pre, sy.pre[k], pj->post, sy.post[k],
                                        pj->receptor == SNN_RECEPTOR_INH,
                                        snn_quantize_weight(&map->q->pops[pj->post], pj->receptor,
                                                            sy.weight[k]),
                                        sy.delay_steps[k], slice_of(map, pj->post, sy.post[k]),
                                        ((uint64_t)j << 40) | k});
        snn_synapses_free(&sy);
    }
}

static void same_syn(const struct syn *a, const struct syn *b, size_t k)
{
    if (cmp_tuple(a, b) != 0)
        fail_msg("synapse %zu: image %u:%u -> %u:%u rec %u w %d d %u, expected %u:%u -> %u:%u "
                 "rec %u w %d d %u",
                 k, a->pre_pop, a->pre, a->post_pop, a->post, a->rec, a->w, a->delay, b->pre_pop,
                 b->pre, b->post_pop, b->post, b->rec, b->w, b->delay);
}

/* Every synapse exactly once (the same multiset), and within each row
 * section in projection order, then expansion order. */
static uint64_t check_synapses(const struct snn_map *map)
{
    struct syns got = {0}, want = {0};
    decode(map, &got);
    expected(map, &want);
    assert_int_equal(got.n, want.n);
    qsort(got.v, got.n, sizeof *got.v, cmp_order);
    qsort(want.v, want.n, sizeof *want.v, cmp_order);
    for (size_t k = 0; k < got.n; k++)
        same_syn(&got.v[k], &want.v[k], k);
    qsort(got.v, got.n, sizeof *got.v, cmp_tuple);
    qsort(want.v, want.n, sizeof *want.v, cmp_tuple);
    for (size_t k = 0; k < got.n; k++)
        same_syn(&got.v[k], &want.v[k], k);
    uint64_t n = got.n;
    free(got.v);
    free(want.v);
    return n;
}

/* ---- sizes ----------------------------------------------------------------- */

/* Bytes per neuron of each model's parameters and state (docs/core-image.md). */
static void model_bytes(enum fx_model m, uint32_t *P, uint32_t *S)
{
    switch (m) {
    case FX_MODEL_LIF_CURR_EXP: *P = 52, *S = 16; break;
    case FX_MODEL_LIF_COND_EXP: *P = 64, *S = 16; break;
    case FX_MODEL_IF_CURR_DELTA: *P = 44, *S = 16; break;
    case FX_MODEL_IZHIKEVICH: *P = 72, *S = 8; break;
    case FX_MODEL_IF: *P = 32, *S = 4; break;
    case FX_MODEL_SPIKE_SOURCE_ARRAY: *P = 8, *S = 0; break;
    case FX_MODEL_SPIKE_SOURCE_POISSON: *P = 12, *S = 0; break;
    default:
        *P = *S = 0;
        fail_msg("model %d", (int)m);
    }
}

/* Every header's identity and recording fields, and the neurons'
 * parameters and initial state, against the network, the slices and the
 * quantized network. */
static void check_headers(const struct snn_map *map)
{
    const struct snn_net *net = map->net;
    for (uint32_t s = 0; s < map->n_slices; s++) {
        const struct snn_slice *sl = &map->slices[s];
        const struct snn_pop *pp = &net->pops[sl->pop];
        const struct snn_qpop *qp = &map->q->pops[sl->pop];
        struct snn_core_header h = header(map, s);
        assert_int_equal(h.version, SNN_CORE_IMAGE_VERSION);
        assert_int_equal(h.model, qp->model);
        assert_int_equal(h.pop, sl->pop);
        assert_int_equal(h.lo, sl->lo);
        assert_int_equal(h.n, sl->n);
        assert_int_equal(h.key, sl->key);
        assert_int_equal(h.ring_slots, sl->use.ring_slots);
        assert_int_equal(h.seed_lo, (uint32_t)net->seed);
        assert_int_equal(h.seed_hi, (uint32_t)(net->seed >> 32));
        /* recording: v only for neuron models, of record_v's neurons or all */
        bool v = (pp->record & SNN_REC_V) && !snn_models[pp->model].is_source;
        bool spikes = (pp->record & SNN_REC_SPIKES) != 0;
        /* with nothing to hold (duration 0) the pass clears the spike flag
         * but keeps v's; either is harmless, so only a run is checked */
        if (h.n_steps == 0)
            spikes = (h.flags & SNN_CORE_RECORD_SPIKES) != 0;
        assert_int_equal(h.flags & ~(uint32_t)SNN_CORE_SILENT, (spikes ? SNN_CORE_RECORD_SPIKES : 0u) |
                                       (v ? SNN_CORE_RECORD_V : 0u));
        uint32_t mask[8] = {0}, nv = 0;
        for (uint32_t i = 0; v && i < sl->n; i++) {
            bool on = !pp->record_v;
            for (uint32_t k = 0; pp->record_v && k < pp->n_record_v; k++)
                on |= pp->record_v[k] == sl->lo + i;
            if (on) {
                mask[i / 32] |= 1u << (i % 32);
                nv++;
            }
        }
        assert_memory_equal(h.record_v_mask, mask, sizeof mask);
        assert_int_equal(h.n_record_v, nv);
        /* neuron data */
        const uint8_t *dt = (const uint8_t *)map->images[s].dtcm;
        const void *par = NULL, *st = NULL;
        size_t P = 0, S = 0;
        switch (qp->model) {
        case FX_MODEL_LIF_CURR_EXP:
            par = &qp->lif_curr_exp[sl->lo], P = sizeof *qp->lif_curr_exp;
            st = &qp->lif0[sl->lo], S = sizeof *qp->lif0;
            break;
        case FX_MODEL_LIF_COND_EXP:
            par = &qp->lif_cond_exp[sl->lo], P = sizeof *qp->lif_cond_exp;
            st = &qp->lif0[sl->lo], S = sizeof *qp->lif0;
            break;
        case FX_MODEL_IF_CURR_DELTA:
            par = &qp->if_curr_delta[sl->lo], P = sizeof *qp->if_curr_delta;
            st = &qp->lif0[sl->lo], S = sizeof *qp->lif0;
            break;
        case FX_MODEL_IZHIKEVICH:
            par = &qp->izhikevich[sl->lo], P = sizeof *qp->izhikevich;
            st = &qp->izh0[sl->lo], S = sizeof *qp->izh0;
            break;
        case FX_MODEL_IF:
            par = &qp->if_[sl->lo], P = sizeof *qp->if_;
            st = &qp->if0[sl->lo], S = sizeof *qp->if0;
            break;
        case FX_MODEL_SPIKE_SOURCE_POISSON:
            par = &qp->poisson[sl->lo], P = sizeof *qp->poisson;
            break;
        case FX_MODEL_SPIKE_SOURCE_ARRAY: break;
        }
        if (par) {
            assert_int_equal(h.times_bytes, 0);
            assert_memory_equal(dt + h.params_off, par, sl->n * P);
            if (S)
                assert_state(dt + h.state_off, st, sl->n, S);
            else
                assert_int_equal(h.state_off, h.keys_off);
            continue;
        }
        /* spike_source_array: [first, end) words of the times region */
        const struct snn_array_neuron *an = (const struct snn_array_neuron *)(dt + h.params_off);
        uint32_t first = qp->src_off[sl->lo];
        for (uint32_t i = 0; i < sl->n; i++) {
            assert_int_equal(an[i].first, qp->src_off[sl->lo + i] - first);
            assert_int_equal(an[i].end, qp->src_off[sl->lo + i + 1] - first);
        }
        uint32_t nt = qp->src_off[sl->lo + sl->n] - first;
        assert_int_equal(h.times_bytes, 4 * nt);
        assert_int_equal(h.ring_slots, 0);
        for (uint32_t k = 0; k < nt; k++)
            assert_int_equal(map->images[s].sdram[h.times_off / 4 + k], qp->src_steps[first + k]);
    }
}

/* Every slice's DTCM and SDRAM against partition's account and the
 * documented layout; the blocks of each chip consecutive in core order;
 * and the headers and neuron data (check_headers). */
static void check_sizes(const struct snn_map *map)
{
    check_headers(map);
    const struct snn_net *net = map->net;
    uint32_t S = map->n_slices;
    uint64_t *rows = calloc(S ? S : 1, sizeof *rows);
    assert_non_null(rows);
    for (uint64_t e = 0; e < map->n_edges; e++) {
        const struct snn_edge *x = &map->edges[e];
        uint32_t m = map->slices[x->pre].n;
        rows[x->post] += 8ull * ((m + 31) / 32) + 8ull * x->n_rows + 4ull * x->n_synapses;
    }
    uint64_t steps = snn__map_record_steps(net);
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_slice *sl = &map->slices[s];
        const struct snn_core_image *im = &map->images[s];
        struct snn_core_header h = header(map, s);
        uint32_t P, St;
        model_bytes((enum fx_model)h.model, &P, &St);
        /* DTCM */
        assert_int_equal(h.params_off, sizeof h);
        assert_int_equal(h.state_off, h.params_off + sl->n * P);
        assert_int_equal(h.keys_off, h.state_off + sl->n * St);
        assert_int_equal(h.dtcm_image_bytes, h.keys_off + 16 * h.n_keys);
        assert_int_equal(im->dtcm_words * 4, h.dtcm_image_bytes);
        uint64_t ring = 2ull * sl->n * h.ring_slots * 4;
        assert_int_equal(im->dtcm_words * 4ull - sizeof h + 8192 + ring, sl->use.dtcm_bytes);
        /* SDRAM */
        const struct snn_pop *pp = &net->pops[sl->pop];
        assert_int_equal(h.rows_off, 0);
        assert_int_equal(h.rows_bytes, rows[s]);
        assert_int_equal(h.times_off, h.rows_bytes);
        if (h.model != FX_MODEL_SPIKE_SOURCE_ARRAY)
            assert_int_equal(h.times_bytes, 0);
        assert_int_equal(h.spikes_off, h.times_off + h.times_bytes);
        assert_int_equal(h.spikes_bytes,
                         (pp->record & SNN_REC_SPIKES) ? steps * ((sl->n + 31) / 32) * 4 : 0);
        assert_int_equal(h.v_off, h.spikes_off + h.spikes_bytes);
        assert_int_equal(h.v_bytes, steps * h.n_record_v * 4);
        assert_int_equal(h.sdram_bytes, h.v_off + h.v_bytes);
        assert_int_equal(im->sdram_bytes, h.sdram_bytes);
        assert_int_equal(im->sdram_words * 4ull, (uint64_t)h.rows_bytes + h.times_bytes);
        if (h.model == FX_MODEL_SPIKE_SOURCE_ARRAY)
            assert_true(h.sdram_bytes <= sl->use.sdram_bytes);
        else
            assert_int_equal(h.sdram_bytes, sl->use.sdram_bytes);
        assert_int_equal(h.n_steps, steps);
    }
    /* blocks of a chip: in core order from 0, back to back */
    uint32_t *order = malloc((S ? S : 1) * sizeof *order);
    assert_non_null(order);
    for (uint32_t c = 0; c < map->m->width * map->m->height; c++) {
        uint32_t n = 0;
        for (uint32_t s = 0; s < S; s++)
            if (snn__map_chip(map, map->slices[s].x, map->slices[s].y) == c)
                order[n++] = s;
        /* insertion sort by core: few slices per chip */
        for (uint32_t i = 1; i < n; i++)
            for (uint32_t j = i;
                 j > 0 && map->slices[order[j]].core < map->slices[order[j - 1]].core; j--) {
                uint32_t t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        uint64_t at = 0;
        for (uint32_t i = 0; i < n; i++) {
            assert_int_equal(map->images[order[i]].chip_offset, at);
            at += map->images[order[i]].sdram_bytes;
        }
        assert_true(at <= map->m->sdram_bytes);
    }
    free(order);
    free(rows);
}

/* ---- 1. a small case by hand ------------------------------------------ */

/* A (5) -> B (5), lif_curr_exp, 3 neurons per core: A [0,3) [3,5), B the
 * same.  Three from_list projections, in this order:
 *   P0 exc  (0,2) .5/1  (0,1) .25/2  (2,0) 1/3  (0,2) .75/1  (4,2) -.5/2  (0,4) .125/1
 *   P1 inh  (0,0) .3/1  (3,3) .9/2  (0,1) .6/4  (4,4) 1.2/1
 *   P2 exc  (0,1) 2/5   (1,4) .2/3
 * (weight nA / delay ms, dt 1 ms). */
static const uint32_t h_p0_pre[] = {0, 0, 2, 0, 4, 0}, h_p0_post[] = {2, 1, 0, 2, 2, 4};
static const double h_p0_w[] = {0.5, 0.25, 1.0, 0.75, -0.5, 0.125}, h_p0_d[] = {1, 2, 3, 1, 2, 1};
static const uint32_t h_p1_pre[] = {0, 3, 0, 4}, h_p1_post[] = {0, 3, 1, 4};
static const double h_p1_w[] = {0.3, 0.9, 0.6, 1.2}, h_p1_d[] = {1, 2, 4, 1};
static const uint32_t h_p2_pre[] = {0, 1}, h_p2_post[] = {1, 4};
static const double h_p2_w[] = {2.0, 0.2}, h_p2_d[] = {5, 3};

static struct snn_net *hand_net(void)
{
    struct snn_net *net = net_new(1.0, 10.0, 0x123456789ull);
    uint32_t a = pop(net, "A", SNN_MODEL_LIF_CURR_EXP, 5);
    uint32_t b = pop(net, "B", SNN_MODEL_LIF_CURR_EXP, 5);
    uniform_param(net, a, "tau_m", 10.0, 30.0);
    uniform_init(net, b, "v", -70.0, -60.0);
    list_proj(net, a, b, SNN_RECEPTOR_EXC, 6, h_p0_pre, h_p0_post, h_p0_w, h_p0_d);
    list_proj(net, a, b, SNN_RECEPTOR_INH, 4, h_p1_pre, h_p1_post, h_p1_w, h_p1_d);
    list_proj(net, a, b, SNN_RECEPTOR_EXC, 2, h_p2_pre, h_p2_post, h_p2_w, h_p2_d);
    return net;
}

/* Four one-core chips, so every slice sits on its own chip. */
static struct snn_machine *hand_machine(void)
{
    struct snn_machine *m = grid_machine(2, 2, false, 2);
    ready(m);
    return m;
}

static uint32_t wq(const struct snn_map *map, enum snn_receptor r, double w)
{
    return (uint32_t)snn_quantize_weight(&map->q->pops[1], r, w);
}

static uint32_t syn(const struct snn_map *map, enum snn_receptor r, double w, uint32_t d,
                    uint32_t i)
{
    return snn_syn_word((int32_t)wq(map, r, w), d, i);
}

static void check_header(const struct snn_map *map, uint32_t s, uint32_t p, uint32_t lo,
                         uint32_t n, uint32_t ring, uint32_t n_keys, uint32_t rows_bytes)
{
    struct snn_core_header h = header(map, s);
    assert_int_equal(h.version, SNN_CORE_IMAGE_VERSION);
    assert_int_equal(h.model, FX_MODEL_LIF_CURR_EXP);
    assert_int_equal(h.pop, p);
    assert_int_equal(h.lo, lo);
    assert_int_equal(h.n, n);
    assert_int_equal(h.key, map->slices[s].key);
    assert_int_equal(h.ring_slots, ring);
    assert_int_equal(h.n_keys, n_keys);
    assert_int_equal(h.n_steps, 10);
    assert_int_equal(h.seed_lo, 0x23456789u);
    assert_int_equal(h.seed_hi, 1);
    assert_int_equal(h.flags & ~(uint32_t)SNN_CORE_SILENT, 0);
    assert_int_equal(h.n_record_v, 0);
    for (uint32_t g = 0; g < 8; g++)
        assert_int_equal(h.record_v_mask[g], 0);
    assert_int_equal(h.params_off, 136);
    assert_int_equal(h.state_off, 136 + 52 * n);
    assert_int_equal(h.keys_off, 136 + 68 * n);
    assert_int_equal(h.dtcm_image_bytes, 136 + 68 * n + 16 * n_keys);
    assert_int_equal(map->images[s].dtcm_words, (136 + 68 * n + 16 * n_keys) / 4);
    assert_int_equal(h.rows_off, 0);
    assert_int_equal(h.rows_bytes, rows_bytes);
    assert_int_equal(h.times_off, rows_bytes);
    assert_int_equal(h.times_bytes, 0);
    assert_int_equal(h.spikes_off, rows_bytes);
    assert_int_equal(h.spikes_bytes, 0);
    assert_int_equal(h.v_off, rows_bytes);
    assert_int_equal(h.v_bytes, 0);
    assert_int_equal(h.sdram_bytes, rows_bytes);
    assert_int_equal(map->images[s].sdram_bytes, rows_bytes);
    assert_int_equal(map->images[s].sdram_words, rows_bytes / 4);
}

/* The key table of a slice with entries from pre slices a (index at ia)
 * and b (index at ib), in key order. */
static void check_keys2(const struct snn_map *map, uint32_t s, uint32_t a, uint32_t ia, uint32_t b,
                        uint32_t ib)
{
    struct snn_core_header h = header(map, s);
    const struct snn_key_entry *ke = key_table(map, s, &h);
    const struct snn_slice *x = &map->slices[a], *y = &map->slices[b];
    uint32_t ix = ia, iy = ib;
    if (x->key > y->key) {
        const struct snn_slice *t = x;
        x = y;
        y = t;
        ix = ib;
        iy = ia;
    }
    assert_int_equal(ke[0].key, x->key);
    assert_int_equal(ke[0].mask, x->mask);
    assert_int_equal(ke[0].index_off, ix);
    assert_int_equal(ke[0].n_pre, x->n);
    assert_int_equal(ke[1].key, y->key);
    assert_int_equal(ke[1].mask, y->mask);
    assert_int_equal(ke[1].index_off, iy);
    assert_int_equal(ke[1].n_pre, y->n);
}

static void test_hand_small(void **state)
{
    (void)state;
    struct snn_net *net = hand_net();
    struct snn_machine *m = hand_machine();
    struct snn_map *map = map_run(net, m, 3, true);
    assert_int_equal(sizeof(struct snn_core_header), 136);
    assert_int_equal(map->n_slices, 4);
    uint32_t a0 = slice_by_pop_lo(map, 0, 0), a1 = slice_by_pop_lo(map, 0, 3);
    uint32_t b0 = slice_by_pop_lo(map, 1, 0), b1 = slice_by_pop_lo(map, 1, 3);
    assert_int_equal(map->slices[a1].n, 2);
    assert_int_equal(map->slices[b1].n, 2);
    /* four chips, one slice each */
    for (uint32_t s = 0; s < 4; s++)
        assert_int_equal(map->images[s].chip_offset, 0);

    /* A: no input (ring 2, as partition gives a population without input) */
    check_header(map, a0, 0, 0, 3, 2, 0, 0);
    check_header(map, a1, 0, 3, 2, 2, 0, 0);
    /* B0: edges A0 (13 words at 0) and A1 (5 words at 52); delays up to 5: ring 8 */
    check_header(map, b0, 1, 0, 3, 8, 2, 72);
    check_keys2(map, b0, a0, 0, a1, 52);
    /* B1: edges A0 (8 words at 0) and A1 (8 words at 32) */
    check_header(map, b1, 1, 3, 2, 8, 2, 64);
    check_keys2(map, b1, a0, 0, a1, 32);

    const enum snn_receptor E = SNN_RECEPTOR_EXC, I = SNN_RECEPTOR_INH;
    /* B0 from A0: rows of pre 0 and 2 */
    const uint32_t b0w[] = {
        0x5, 0,                 /* group: pre 0 and 2 */
        16, 44,                 /* row offsets */
        snn_row_header(4, 2),   /* pre 0: P0 sorted by post, repeated pair in list order, P2 */
        syn(map, E, 0.25, 2, 1), syn(map, E, 0.5, 1, 2), syn(map, E, 0.75, 1, 2),
        syn(map, E, 2.0, 5, 1), syn(map, I, 0.3, 1, 0), syn(map, I, 0.6, 4, 1),
        snn_row_header(1, 0), syn(map, E, 1.0, 3, 0), /* pre 2 */
        /* B0 from A1: pre 4 (i = 1) */
        0x2, 0, 64, snn_row_header(1, 0), syn(map, E, -0.5, 2, 2)};
    assert_int_equal(map->images[b0].sdram_words, sizeof b0w / 4);
    for (uint32_t k = 0; k < sizeof b0w / 4; k++)
        assert_int_equal(word(map, b0, k), b0w[k]);
    /* B1 */
    const uint32_t b1w[] = {
        0x3, 0, 16, 24,                                  /* A0: pre 0 and 1 */
        snn_row_header(1, 0), syn(map, E, 0.125, 1, 1), /* (0,4) */
        snn_row_header(1, 0), syn(map, E, 0.2, 3, 1),   /* (1,4), P2 */
        0x3, 0, 48, 56,                                  /* A1: pre 3 and 4 */
        snn_row_header(0, 1), syn(map, I, 0.9, 2, 0),
        snn_row_header(0, 1), syn(map, I, 1.2, 1, 1)};
    assert_int_equal(map->images[b1].sdram_words, sizeof b1w / 4);
    for (uint32_t k = 0; k < sizeof b1w / 4; k++)
        assert_int_equal(word(map, b1, k), b1w[k]);
    /* the negative weight is stored as int16 */
    assert_true(snn_syn_weight(word(map, b0, 17)) < 0);
    assert_int_equal(snn_syn_weight(word(map, b0, 17)), (int32_t)wq(map, E, -0.5));
    /* the largest weight onto a receptor takes its whole range */
    assert_int_equal(snn_syn_weight(word(map, b0, 8)), map->q->pops[1].w_max[0]);

    /* the parameters and state are the quantized network's */
    struct snn_core_header h = header(map, a1);
    assert_memory_equal((const uint8_t *)map->images[a1].dtcm + h.params_off,
                        &map->q->pops[0].lif_curr_exp[3], 2 * 52);
    assert_state((const uint8_t *)map->images[a1].dtcm + h.state_off, &map->q->pops[0].lif0[3],
                 2, 16);
    check_synapses(map);
    check_sizes(map);
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* A row index of two groups: C (70, 64 a core) -> D (2), rows for pre
 * neurons 1, 33, 40, 63 of slice [0, 64) and 64 of [64, 70). */
static void test_two_groups(void **state)
{
    (void)state;
    static const uint32_t pre[] = {63, 1, 40, 33, 64, 40}, post[] = {1, 0, 0, 1, 0, 1};
    struct snn_net *net = net_new(1.0, 0, 1);
    uint32_t c = pop(net, "C", SNN_MODEL_SPIKE_SOURCE_POISSON, 70);
    uint32_t d = pop(net, "D", SNN_MODEL_IF_CURR_DELTA, 2);
    list_proj(net, c, d, SNN_RECEPTOR_INH, 6, pre, post, NULL, NULL);
    struct snn_machine *m = hand_machine();
    struct snn_map *map = map_run(net, m, 64, true);
    assert_int_equal(map->n_slices, 3);
    uint32_t c0 = slice_by_pop_lo(map, c, 0), c1 = slice_by_pop_lo(map, c, 64);
    uint32_t d0 = slice_by_pop_lo(map, d, 0);
    struct snn_core_header h = header(map, d0);
    assert_int_equal(h.model, FX_MODEL_IF_CURR_DELTA);
    assert_int_equal(h.n_keys, 2);
    assert_int_equal(h.ring_slots, 2);
    check_keys2(map, d0, c0, 0, c1, 68);
    uint32_t w1 = (uint32_t)snn_quantize_weight(&map->q->pops[d], SNN_RECEPTOR_INH, 1.0);
    const uint32_t want[] = {
        1u << 1, 0,                            /* group 0: pre 1 */
        (1u << 1) | (1u << 8) | (1u << 31), 1, /* group 1: pre 33, 40, 63 */
        32, 40, 48, 60,                        /* four rows */
        snn_row_header(0, 1), snn_syn_word((int32_t)w1, 1, 0),      /* 1 */
        snn_row_header(0, 1), snn_syn_word((int32_t)w1, 1, 1),      /* 33 */
        snn_row_header(0, 2), snn_syn_word((int32_t)w1, 1, 0),      /* 40 */
        snn_syn_word((int32_t)w1, 1, 1),                            /* 40 */
        snn_row_header(0, 1), snn_syn_word((int32_t)w1, 1, 1),      /* 63 */
        1, 0, 80, snn_row_header(0, 1), snn_syn_word((int32_t)w1, 1, 0)}; /* 64 */
    assert_int_equal(map->images[d0].sdram_words, sizeof want / 4);
    for (uint32_t k = 0; k < sizeof want / 4; k++)
        assert_int_equal(word(map, d0, k), want[k]);
    const struct snn_row_group *g = (const struct snn_row_group *)map->images[d0].sdram;
    assert_int_equal(snn_row_rank(g, 40), 2);
    assert_int_equal(snn_row_rank(g, 39), SNN_ROW_NONE);
    check_synapses(map);
    check_sizes(map);
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* ---- 2. random networks against snn_expand ------------------------------ */

static void test_random_networks(void **state)
{
    (void)state;
    struct snn_machine *spinn5 = builtin("spinn5"), *spinn3 = builtin("spinn3");
    struct snn_machine *grid = grid_machine(3, 3, true, 8);
    ready(grid);
    rng_state = 0x2545F4914F6CDD1Dull;
    uint64_t total = 0;
    unsigned models_seen = 0, inh_seen = 0, long_seen = 0, kinds_seen = 0, shared_rows = 0;
    for (int iter = 0; iter < 36; iter++) {
        bool long_delays = iter % 3 == 0;
        struct snn_net *net = random_net(iter % 4 == 0 ? 120 : 50, long_delays);
        uint32_t pick = rnd(3);
        const struct snn_machine *m = pick == 0 ? spinn5 : pick == 1 ? spinn3 : grid;
        uint32_t npc = pick == 0 ? 1 + rnd(16) : 16 + rnd(48);
        struct snn_map *map = map_run(net, m, npc, iter < 6);
        total += check_synapses(map);
        check_sizes(map);
        for (uint32_t p = 0; p < net->n_pops; p++)
            models_seen |= 1u << net->pops[p].model;
        for (uint32_t j = 0; j < net->n_projs; j++) {
            const struct snn_proj *pj = &net->projs[j];
            inh_seen += pj->receptor == SNN_RECEPTOR_INH;
            long_seen += snn_expand_max_delay_steps(net, j) > 128;
            kinds_seen |= 1u << pj->conn.kind;
            for (uint32_t k = 0; k < j; k++)
                shared_rows += net->projs[k].pre == pj->pre && net->projs[k].post == pj->post &&
                               net->projs[k].receptor != pj->receptor;
        }
        snn_map_free(map);
        snn_net_free(net);
    }
    /* the cases covered what they should */
    assert_int_equal(models_seen, (1u << SNN_MODEL_COUNT) - 1);
    assert_true(inh_seen > 10 && long_seen > 3);
    assert_int_equal(kinds_seen, (1u << (SNN_CONN_FROM_LIST + 1)) - 1);
    assert_true(shared_rows > 3); /* both receptors between the same populations */
    assert_true(total > 20000);
    snn_machine_free(spinn5);
    snn_machine_free(spinn3);
    snn_machine_free(grid);
}

/* ---- 3. neuron data and recording ------------------------------------------- */

static const uint32_t arr_off[] = {0, 2, 2, 6, 7, 9};
static const double arr_times[] = {1.0, 3.0, 2.0, 2.2, 2.7, 5.0, 7.0, 0.5, 9.0};

static void test_neuron_data(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0, 3);
    char name[16];
    for (uint32_t k = 0; k < SNN_MODEL_COUNT; k++) {
        snprintf(name, sizeof name, "m%u", k);
        enum snn_model md = (enum snn_model)k;
        uint32_t p = pop(net, name, md, md == SNN_MODEL_SPIKE_SOURCE_ARRAY ? 5 : 7);
        switch (md) {
        case SNN_MODEL_LIF_CURR_EXP:
        case SNN_MODEL_LIF_COND_EXP:
        case SNN_MODEL_IF_CURR_DELTA: uniform_param(net, p, "tau_m", 10, 30); break;
        case SNN_MODEL_IZHIKEVICH: uniform_param(net, p, "a", 0.01, 0.03); break;
        case SNN_MODEL_IF: uniform_param(net, p, "v_thresh", 1, 2); break;
        case SNN_MODEL_SPIKE_SOURCE_POISSON: uniform_param(net, p, "rate", 1, 100); break;
        case SNN_MODEL_SPIKE_SOURCE_ARRAY:
            net->pops[p].times_off = arr_off;
            net->pops[p].times = arr_times;
            break;
        default: break;
        }
        if (!snn_models[md].is_source)
            uniform_init(net, p, "v", -70, -60);
    }
    /* sources project, so their slices have edges too */
    proj(net, SNN_MODEL_SPIKE_SOURCE_ARRAY, SNN_MODEL_IF, SNN_CONN_ALL_TO_ALL, SNN_RECEPTOR_EXC,
         0.5, 2.0);
    proj(net, SNN_MODEL_SPIKE_SOURCE_POISSON, SNN_MODEL_IZHIKEVICH, SNN_CONN_ONE_TO_ONE,
         SNN_RECEPTOR_INH, 0.5, 1.0);
    struct snn_machine *m = builtin("spinn3");
    struct snn_map *map = map_run(net, m, 2, true);
    /* parameters, state and spike times against the quantized network */
    check_headers(map);
    /* the structs are the documented sizes; a per-neuron value really
     * differs between the neurons of a slice, so an offset slip shows */
    assert_int_equal(sizeof(struct fx_lif_curr_exp), 52);
    assert_int_equal(sizeof(struct fx_lif_cond_exp), 64);
    assert_int_equal(sizeof(struct fx_if_curr_delta), 44);
    assert_int_equal(sizeof(struct fx_izhikevich), 72);
    assert_int_equal(sizeof(struct fx_if), 32);
    assert_int_equal(sizeof(struct fx_poisson), 12);
    assert_int_equal(sizeof(struct fx_lif_state), 16);
    assert_int_equal(sizeof(struct fx_izh_state), 8);
    assert_int_equal(sizeof(struct fx_if_state), 4);
    assert_int_equal(sizeof(struct snn_array_neuron), 8);
    for (uint32_t s = 0; s < map->n_slices; s++) {
        const struct snn_slice *sl = &map->slices[s];
        struct snn_core_header h = header(map, s);
        const uint8_t *dt = (const uint8_t *)map->images[s].dtcm;
        assert_int_equal(h.model, (uint32_t)sl->pop + 1); /* enum fx_model = enum snn_model + 1 */
        uint32_t P, S;
        model_bytes((enum fx_model)h.model, &P, &S);
        assert_int_equal(h.state_off, h.params_off + P * sl->n);
        assert_int_equal(h.keys_off, h.state_off + S * sl->n);
        if (sl->n > 1 && h.model != FX_MODEL_SPIKE_SOURCE_ARRAY)
            assert_memory_not_equal(dt + h.params_off, dt + h.params_off + P, P);
        if (sl->n > 1 && S) { /* field-major: neuron 0's words against neuron 1's */
            const uint32_t *w = (const uint32_t *)(dt + h.state_off);
            bool differ = false;
            for (uint32_t f = 0; f < S / 4; f++)
                differ |= w[f * sl->n] != w[f * sl->n + 1];
            assert_true(differ);
        }
    }
    /* the array by hand: 5 neurons, 2 a core: [0,2) [2,4) [4,5); neuron
     * 2's times 2.2 and 2.7 ms share a step, stored once */
    uint32_t p = SNN_MODEL_SPIKE_SOURCE_ARRAY;
    const struct snn_qpop *qp = &map->q->pops[p];
    static const uint32_t off_want[] = {0, 2, 2, 5, 6, 8};
    assert_memory_equal(qp->src_off, off_want, sizeof off_want);
    uint32_t s1 = slice_by_pop_lo(map, p, 2);
    struct snn_core_header h = header(map, s1);
    assert_int_equal(h.times_bytes, 16);
    const struct snn_array_neuron *an =
        (const struct snn_array_neuron *)((const uint8_t *)map->images[s1].dtcm + h.params_off);
    assert_int_equal(an[0].first, 0);
    assert_int_equal(an[0].end, 3);
    assert_int_equal(an[1].first, 3);
    assert_int_equal(an[1].end, 4);
    check_sizes(map);
    check_synapses(map);
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

static void test_recording(void **state)
{
    (void)state;
    static const uint32_t rv[] = {40, 3, 69, 31, 33};
    struct snn_net *net = net_new(1.0, 100.0, 3);
    uint32_t a = pop(net, "a", SNN_MODEL_LIF_CURR_EXP, 70);
    net->pops[a].record = SNN_REC_SPIKES | SNN_REC_V;
    net->pops[a].record_v = rv;
    net->pops[a].n_record_v = 5;
    uint32_t b = pop(net, "b", SNN_MODEL_IZHIKEVICH, 40);
    net->pops[b].record = SNN_REC_V; /* every neuron */
    uint32_t c = pop(net, "c", SNN_MODEL_SPIKE_SOURCE_POISSON, 33);
    net->pops[c].record = SNN_REC_SPIKES;
    proj(net, c, a, SNN_CONN_ALL_TO_ALL, SNN_RECEPTOR_EXC, 0.1, 1.0);
    struct snn_machine *m = builtin("spinn3");
    struct snn_map *map = map_run(net, m, 32, true);
    static const struct {
        uint32_t pop, lo, n, record, n_v, mask0, mask1, spikes, v;
    } want[] = {
        {0, 0, 32, 3, 2, 0x80000008u, 0, 400, 800},
        {0, 32, 32, 3, 2, 0x102u, 0, 400, 800},
        {0, 64, 6, 3, 1, 0x20u, 0, 400, 400},
        {1, 0, 32, 2, 32, 0xFFFFFFFFu, 0, 0, 12800},
        {1, 32, 8, 2, 8, 0xFFu, 0, 0, 3200},
        {2, 0, 32, 1, 0, 0, 0, 400, 0},
        {2, 32, 1, 1, 0, 0, 0, 400, 0},
    };
    assert_int_equal(map->n_slices, 7);
    for (uint32_t k = 0; k < 7; k++) {
        uint32_t s = slice_by_pop_lo(map, want[k].pop, want[k].lo);
        struct snn_core_header h = header(map, s);
        assert_int_equal(h.n, want[k].n);
        assert_int_equal(h.n_steps, 100);
        assert_int_equal(h.flags & ~(uint32_t)SNN_CORE_SILENT, want[k].record);
        assert_int_equal(h.n_record_v, want[k].n_v);
        assert_int_equal(h.record_v_mask[0], want[k].mask0);
        for (uint32_t g = 1; g < 8; g++)
            assert_int_equal(h.record_v_mask[g], 0);
        assert_int_equal(h.spikes_bytes, want[k].spikes);
        assert_int_equal(h.v_bytes, want[k].v);
        assert_int_equal(h.spikes_off, h.times_off + h.times_bytes);
        assert_int_equal(h.v_off, h.spikes_off + h.spikes_bytes);
        assert_int_equal(h.sdram_bytes, h.rows_bytes + want[k].spikes + want[k].v);
        /* recording regions are sized, not stored */
        assert_int_equal(map->images[s].sdram_words * 4, h.rows_bytes);
    }
    check_sizes(map);
    snn_map_free(map);
    /* cut at 20: neurons 31 and 33 are bits 11 and 13 of [20, 40) */
    map = map_run(net, m, 20, false);
    struct snn_core_header h = header(map, slice_by_pop_lo(map, a, 20));
    assert_int_equal(h.record_v_mask[0], (1u << 11) | (1u << 13));
    assert_int_equal(h.n_record_v, 2);
    assert_int_equal(h.v_bytes, 800);
    check_sizes(map);
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* ---- 4. sizes and chip packing -------------------------------------------- */

static void test_sizes_and_packing(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 50.0, 11);
    uint32_t s = pop(net, "src", SNN_MODEL_SPIKE_SOURCE_POISSON, 90);
    uint32_t e = pop(net, "exc", SNN_MODEL_LIF_CURR_EXP, 80);
    uint32_t i = pop(net, "inh", SNN_MODEL_LIF_COND_EXP, 30);
    net->pops[e].record = SNN_REC_SPIKES;
    net->pops[i].record = SNN_REC_V;
    proj(net, s, e, SNN_CONN_FIXED_PROBABILITY, SNN_RECEPTOR_EXC, 0.2, 3.0)->conn.p = 0.2;
    proj(net, e, i, SNN_CONN_FIXED_NUMBER_PRE, SNN_RECEPTOR_EXC, 0.01, 20.0)->conn.n = 9;
    proj(net, i, e, SNN_CONN_ALL_TO_ALL, SNN_RECEPTOR_INH, 0.5, 1.0);
    proj(net, e, e, SNN_CONN_FIXED_NUMBER_POST, SNN_RECEPTOR_EXC, 0.1, 7.0)->conn.n = 5;
    /* 5 application cores a chip, so chips hold several blocks */
    struct snn_machine *m = grid_machine(3, 3, false, 6);
    ready(m);
    struct snn_map *map = map_run(net, m, 7, true);
    assert_true(map->n_slices > 20);
    check_sizes(map);
    check_synapses(map);
    /* some chip holds three or more blocks, all non-empty */
    uint32_t best = 0;
    for (uint32_t c = 0; c < 9; c++) {
        uint32_t n = 0;
        for (uint32_t k = 0; k < map->n_slices; k++)
            n += snn__map_chip(map, map->slices[k].x, map->slices[k].y) == c &&
                 map->images[k].sdram_bytes > 0;
        best = n > best ? n : best;
    }
    assert_true(best >= 3);
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* ---- 5. determinism --------------------------------------------------------- */

static void same_images(const struct snn_map *a, const struct snn_map *b)
{
    assert_int_equal(a->n_slices, b->n_slices);
    for (uint32_t s = 0; s < a->n_slices; s++) {
        const struct snn_core_image *x = &a->images[s], *y = &b->images[s];
        assert_int_equal(x->dtcm_words, y->dtcm_words);
        assert_memory_equal(x->dtcm, y->dtcm, x->dtcm_words * 4ull);
        assert_int_equal(x->sdram_words, y->sdram_words);
        if (x->sdram_words)
            assert_memory_equal(x->sdram, y->sdram, x->sdram_words * 4ull);
        assert_int_equal(x->sdram_bytes, y->sdram_bytes);
        assert_int_equal(x->chip_offset, y->chip_offset);
    }
}

static void test_determinism(void **state)
{
    (void)state;
    struct snn_machine *m = builtin("spinn5");
    rng_state = 0x9E3779B97F4A7C15ull;
    for (int k = 0; k < 4; k++) {
        struct snn_net *net = random_net(60, k & 1);
        struct snn_map *a = map_run(net, m, 5, false), *b = map_run(net, m, 5, false);
        same_images(a, b);
        snn_map_free(a);
        snn_map_free(b);
        snn_net_free(net);
    }
    snn_machine_free(m);
}

/* Over a million synapses: the pass lays out with two threads; the images
 * are those of the decoding check and the same twice. */
static void test_two_threads(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0, 5);
    uint32_t s = pop(net, "src", SNN_MODEL_SPIKE_SOURCE_POISSON, 1100);
    uint32_t e = pop(net, "exc", SNN_MODEL_LIF_CURR_EXP, 1000);
    proj(net, s, e, SNN_CONN_ALL_TO_ALL, SNN_RECEPTOR_EXC, 0.05, 1.0);
    struct snn_proj *pj = proj(net, e, e, SNN_CONN_FIXED_PROBABILITY, SNN_RECEPTOR_INH, 0.3, 2.0);
    pj->conn.p = 0.05;
    pj->weight = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = 0.1, .b = 0.5};
    struct snn_machine *m = builtin("spinn5");
    struct snn_map *a = map_run(net, m, 0, false);
    uint64_t total = 0;
    for (uint64_t k = 0; k < a->n_edges; k++)
        total += a->edges[k].n_synapses;
    assert_true(total > 1100000);
    struct snn_map *b = map_run(net, m, 0, false);
    same_images(a, b);
    assert_int_equal(check_synapses(a), total);
    snn_map_free(a);
    snn_map_free(b);
    snn_machine_free(m);
    snn_net_free(net);
}

/* A pre slice whose edges hold over 4 Mi synapses is laid out in chunks
 * of whole 32-neuron groups (mapper/layout.c, CHUNK_SYNAPSES): 256
 * sources all_to_all onto 16,500 neurons (4.2 M synapses), plus a sparse
 * inhibitory projection so rows differ.  Every row is checked as it is
 * read, without collecting the synapses. */
static void test_chunks(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0, 5);
    uint32_t s = pop(net, "src", SNN_MODEL_SPIKE_SOURCE_POISSON, 256);
    uint32_t e = pop(net, "exc", SNN_MODEL_LIF_CURR_EXP, 16500);
    proj(net, s, e, SNN_CONN_ALL_TO_ALL, SNN_RECEPTOR_EXC, 0.25, 1.0);
    proj(net, s, e, SNN_CONN_FIXED_PROBABILITY, SNN_RECEPTOR_INH, 0.5, 3.0)->conn.p = 0.002;
    struct snn_machine *m = builtin("spinn5");
    struct snn_map *map = map_run(net, m, 0, false);
    assert_int_equal(map->pop_slice[1], 1);
    assert_true(map->edge_first[1] - map->edge_first[0] > 16);
    /* the inhibitory synapses, row by row: (pre, post) sorted */
    struct snn_synapses inh = {0};
    assert_int_equal(snn_expand(net, 1, 0, UINT32_MAX, 0, UINT32_MAX, &inh, NULL), 0);
    const struct snn_qpop *qp = &map->q->pops[e];
    uint32_t we = snn_syn_word(snn_quantize_weight(qp, SNN_RECEPTOR_EXC, 0.25), 1, 0);
    uint32_t wi = snn_syn_word(snn_quantize_weight(qp, SNN_RECEPTOR_INH, 0.5), 3, 0);
    uint64_t first[257] = {0}, n_inh = 0; /* pre neuron i's synapses from first[i] */
    for (uint64_t k = 0; k < inh.n; k++)
        first[inh.pre[k] + 1] = k + 1;
    for (uint32_t i = 0; i < 256; i++)
        first[i + 1] = first[i + 1] > first[i] ? first[i + 1] : first[i];
    for (uint32_t t = map->pop_slice[1]; t < map->pop_slice[2]; t++) {
        const struct snn_slice *sl = &map->slices[t];
        const uint32_t *sd = map->images[t].sdram;
        struct snn_core_header h = header(map, t);
        assert_int_equal(h.n_keys, 1);
        const struct snn_key_entry *ke = key_table(map, t, &h);
        assert_int_equal(ke[0].key, map->slices[0].key);
        assert_int_equal(ke[0].index_off, 0);
        const struct snn_row_group *g = (const struct snn_row_group *)sd;
        for (uint32_t j = 0; j < 8; j++) {
            assert_int_equal(g[j].bits, 0xFFFFFFFFu);
            assert_int_equal(g[j].before, 32 * j);
        }
        uint32_t at = 16 + 256;
        for (uint32_t i = 0; i < 256; i++) {
            assert_int_equal(sd[16 + i], 4 * at);
            /* this row's inhibitory synapses in inh */
            uint64_t k0 = first[i];
            while (k0 < first[i + 1] && inh.post[k0] < sl->lo)
                k0++;
            uint64_t k1 = k0;
            while (k1 < inh.n && inh.pre[k1] == i && inh.post[k1] < sl->lo + sl->n)
                k1++;
            assert_int_equal(sd[at], snn_row_header(sl->n, (uint32_t)(k1 - k0)));
            for (uint32_t x = 0; x < sl->n; x++)
                assert_int_equal(sd[at + 1 + x], we | x);
            for (uint64_t k = k0; k < k1; k++)
                assert_int_equal(sd[at + 1 + sl->n + (k - k0)], wi | (inh.post[k] - sl->lo));
            n_inh += k1 - k0;
            at += 1 + sl->n + (uint32_t)(k1 - k0);
        }
        assert_int_equal(at * 4, h.rows_bytes);
    }
    assert_int_equal(n_inh, inh.n);
    snn_synapses_free(&inh);
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* ---- 6. the verifier -------------------------------------------------------- */

static void expect_invalid(const struct snn_map *map, const char *what)
{
    struct sink s;
    sink_open(&s);
    int rc = snn__map_verify_layout(map, s.d);
    if (rc != SNN_EINVAL)
        fail_msg("corrupting %s: the verifier returned %d", what, rc);
    assert_true(strstr(sink_text(&s), "layout") != NULL);
    sink_close(&s);
    assert_int_equal(snn__map_verify_layout(map, NULL), SNN_EINVAL);
}

static void expect_valid(const struct snn_map *map)
{
    struct sink s;
    sink_open(&s);
    int rc = snn__map_verify_layout(map, s.d);
    if (rc)
        fail_msg("restored, the verifier says (%d):\n%s", rc, sink_text(&s));
    sink_close(&s);
}

/* Changes one word, checks the verifier objects, and restores it. */
static void corrupt(const struct snn_map *map, uint32_t *w, uint32_t value, const char *what)
{
    uint32_t old = *w;
    assert_int_not_equal(old, value);
    *w = value;
    expect_invalid(map, what);
    *w = old;
    expect_valid(map);
}

static void test_verifier(void **state)
{
    (void)state;
    struct snn_net *net = hand_net();
    struct snn_machine *m = hand_machine();
    struct snn_map *map = map_run(net, m, 3, true);
    uint32_t b0 = slice_by_pop_lo(map, 1, 0), b1 = slice_by_pop_lo(map, 1, 3);
    uint32_t *sd = map->images[b0].sdram, *dt = map->images[b0].dtcm;
    struct snn_core_header h = header(map, b0);
    const uint32_t hw = offsetof(struct snn_core_header, n) / 4;
    expect_valid(map);
    /* the layout of B0 is test_hand_small's: row of pre 0 at word 4,
     * its synapses at 5 .. 10; row of pre 2 at 11 */
    uint32_t w5 = sd[5];
    corrupt(map, &sd[5], (w5 & ~0xFFu) | 3, "an index = n");
    corrupt(map, &sd[5], (w5 & ~0xFFu) | 255, "an index of 255");
    corrupt(map, &sd[5], w5 & ~0xFF00u, "a delay of 0");
    corrupt(map, &sd[5], (w5 & ~0xFF00u) | (8u << 8), "a delay = ring_slots");
    uint32_t below = (uint32_t)(uint16_t)(-map->q->pops[1].w_max[0] - 1);
    corrupt(map, &sd[5], (w5 & 0xFFFFu) | (below << 16), "a weight below -w_max");
    corrupt(map, &sd[0], sd[0] | 2, "a row-group bit set");
    corrupt(map, &sd[0], sd[0] & ~4u, "a row-group bit cleared");
    corrupt(map, &sd[0], sd[0] | (1u << 3), "a group bit past n_pre");
    corrupt(map, &sd[1], 1, "a group's before");
    corrupt(map, &sd[3], sd[3] + 4, "a row offset");
    corrupt(map, &sd[4], snn_row_header(5, 2), "a row header's n_exc");
    corrupt(map, &sd[4], snn_row_header(3, 2), "a row header's n_exc, less");
    corrupt(map, &sd[4], snn_row_header(4, 3), "a row header's n_inh");
    corrupt(map, &sd[11], 0, "an empty row");
    /* key entries */
    uint32_t *ke = dt + h.keys_off / 4;
    corrupt(map, &ke[0], ke[0] + 0x100, "a key entry's key");
    corrupt(map, &ke[1], ke[1] >> 1, "a key entry's mask");
    corrupt(map, &ke[2], ke[2] + 4, "a key entry's index_off");
    corrupt(map, &ke[3], ke[3] + 1, "a key entry's n_pre");
    /* swapped entries: not sorted */
    {
        uint32_t t[4];
        memcpy(t, ke, 16);
        memcpy(ke, ke + 4, 16);
        memcpy(ke + 4, t, 16);
        expect_invalid(map, "swapped key entries");
        memcpy(ke + 4, ke, 16);
        memcpy(ke, t, 16);
        expect_valid(map);
    }
    /* header fields */
    corrupt(map, &dt[hw], h.n + 1, "n");
    corrupt(map, &dt[offsetof(struct snn_core_header, ring_slots) / 4], 16, "ring_slots");
    corrupt(map, &dt[offsetof(struct snn_core_header, version) / 4], SNN_CORE_IMAGE_VERSION + 1,
            "version");
    corrupt(map, &dt[offsetof(struct snn_core_header, model) / 4], FX_MODEL_IF, "model");
    corrupt(map, &dt[offsetof(struct snn_core_header, lo) / 4], 1, "lo");
    corrupt(map, &dt[offsetof(struct snn_core_header, key) / 4], h.key + 1, "key");
    corrupt(map, &dt[offsetof(struct snn_core_header, n_keys) / 4], 1, "n_keys");
    corrupt(map, &dt[offsetof(struct snn_core_header, keys_off) / 4], h.keys_off + 4, "keys_off");
    corrupt(map, &dt[offsetof(struct snn_core_header, rows_bytes) / 4], h.rows_bytes + 4,
            "rows_bytes");
    corrupt(map, &dt[offsetof(struct snn_core_header, sdram_bytes) / 4], h.sdram_bytes + 4,
            "sdram_bytes");
    corrupt(map, &dt[offsetof(struct snn_core_header, n_steps) / 4], 11, "n_steps");
    corrupt(map, &dt[offsetof(struct snn_core_header, seed_lo) / 4], h.seed_lo ^ 1, "seed_lo");
    corrupt(map, &dt[offsetof(struct snn_core_header, seed_hi) / 4], h.seed_hi ^ 1, "seed_hi");
    corrupt(map, &dt[offsetof(struct snn_core_header, flags) / 4], h.flags ^ 2, "flags");
    corrupt(map, &dt[offsetof(struct snn_core_header, flags) / 4], h.flags ^ SNN_CORE_SILENT,
            "the silent flag");
    corrupt(map, &dt[offsetof(struct snn_core_header, record_v_mask) / 4],
            h.record_v_mask[0] ^ 1, "record_v_mask");
    corrupt(map, &dt[offsetof(struct snn_core_header, n_record_v) / 4], h.n_record_v + 1,
            "n_record_v");
    corrupt(map, &dt[offsetof(struct snn_core_header, spikes_bytes) / 4], h.spikes_bytes + 4,
            "spikes_bytes");
    corrupt(map, &dt[h.params_off / 4], dt[h.params_off / 4] ^ 1, "a parameter word");
    corrupt(map, &dt[h.state_off / 4], dt[h.state_off / 4] ^ 1, "a state word");
    /* the image's own sizes */
    map->images[b1].sdram_bytes += 4;
    expect_invalid(map, "an image's sdram_bytes");
    map->images[b1].sdram_bytes -= 4;
    expect_valid(map);
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* Two blocks on one chip made to overlap. */
static void test_verifier_overlap(void **state)
{
    (void)state;
    struct snn_net *net = hand_net();
    struct snn_machine *m = grid_machine(1, 1, false, 5); /* 4 cores, one chip */
    ready(m);
    struct snn_map *map = map_run(net, m, 3, true);
    uint32_t b0 = slice_by_pop_lo(map, 1, 0), b1 = slice_by_pop_lo(map, 1, 3);
    uint32_t later = map->images[b0].chip_offset > map->images[b1].chip_offset ? b0 : b1;
    assert_true(map->images[later].chip_offset > 0);
    map->images[later].chip_offset -= 4;
    expect_invalid(map, "an overlap");
    map->images[later].chip_offset += 8;
    expect_invalid(map, "a gap");
    map->images[later].chip_offset -= 4;
    expect_valid(map);
    snn_map_free(map);
    snn_machine_free(m);
    /* Six blocks on a chip of seven application cores: one in the middle
     * moved back overlaps the one before it and leaves a gap after it;
     * the chip's total is unchanged. */
    m = grid_machine(1, 1, false, 8);
    ready(m);
    map = map_run(net, m, 2, true);
    /* a block at 4 or above with a later block after it */
    uint32_t mid = UINT32_MAX;
    for (uint32_t s = 0; s < map->n_slices && mid == UINT32_MAX; s++)
        for (uint32_t t = 0; t < map->n_slices; t++)
            if (map->images[s].chip_offset >= 4 && map->images[s].sdram_bytes > 4 &&
                map->images[t].chip_offset > map->images[s].chip_offset)
                mid = s;
    assert_true(mid != UINT32_MAX);
    map->images[mid].chip_offset -= 4;
    expect_invalid(map, "an overlap hidden by a gap");
    map->images[mid].chip_offset += 4;
    expect_valid(map);
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* ---- 7. allocation failures ------------------------------------------------- */

static void test_alloc_failures(void **state)
{
    (void)state;
    static const uint32_t rv[] = {1, 6};
    struct snn_net *net = net_new(1.0, 20.0, 9);
    uint32_t a = pop(net, "arr", SNN_MODEL_SPIKE_SOURCE_ARRAY, 5);
    net->pops[a].times_off = arr_off;
    net->pops[a].times = arr_times;
    uint32_t s = pop(net, "src", SNN_MODEL_SPIKE_SOURCE_POISSON, 10);
    uint32_t b = pop(net, "b", SNN_MODEL_LIF_CURR_EXP, 9);
    net->pops[b].record = SNN_REC_SPIKES | SNN_REC_V;
    net->pops[b].record_v = rv;
    net->pops[b].n_record_v = 2;
    uint32_t c = pop(net, "c", SNN_MODEL_IZHIKEVICH, 8);
    proj(net, a, b, SNN_CONN_ALL_TO_ALL, SNN_RECEPTOR_EXC, 0.5, 2.0);
    proj(net, s, b, SNN_CONN_FIXED_PROBABILITY, SNN_RECEPTOR_INH, 0.5, 1.0)->conn.p = 0.5;
    proj(net, b, c, SNN_CONN_ALL_TO_ALL, SNN_RECEPTOR_EXC, 1.0, 3.0);
    proj(net, c, b, SNN_CONN_FIXED_NUMBER_POST, SNN_RECEPTOR_INH, 0.2, 1.0)->conn.n = 3;
    struct snn_machine *m = grid_machine(2, 2, true, 4);
    ready(m);
    struct snn_map *ref = map_run(net, m, 3, false);
    long n;
    for (n = 0;; n++) {
        struct snn_map *map = map_new(net, m, 3, false);
        run_to(map, SNN_PASS_COMPRESS);
        struct sink k;
        sink_open(&k);
        snn_alloc_fail_after(n);
        int rc = snn_map_layout(map, k.d);
        snn_alloc_fail_after(-1);
        sink_close(&k);
        if (rc == 0) {
            same_images(map, ref);
            assert_int_equal(snn__map_verify_layout(map, NULL), 0);
            snn_map_free(map);
            break;
        }
        assert_int_equal(rc, SNN_ENOMEM);
        assert_null(map->images);
        assert_null(map->q);
        snn_map_free(map);
    }
    assert_true(n > 10);
    snn_map_free(ref);
    snn_machine_free(m);
    snn_net_free(net);
}

/* ---- 8. a row too long ------------------------------------------------------- */

static void expect_row_full(const struct snn_net *net, const char *text)
{
    struct snn_machine *m = hand_machine();
    struct snn_map *map = map_new(net, m, 0, false);
    run_to(map, SNN_PASS_COMPRESS);
    struct sink s;
    sink_open(&s);
    assert_int_equal(snn_map_run(map, SNN_PASS_LAYOUT, 0, NULL, s.d), SNN_ETOOBIG);
    const char *got = sink_text(&s);
    if (!strstr(got, text))
        fail_msg("got: %s\nwanted: %s", got, text);
    sink_close(&s);
    assert_null(map->images);
    assert_null(map->q);
    assert_false(map->have & SNN_MAP_HAVE(SNN_PASS_LAYOUT));
    snn_map_free(map);
    snn_machine_free(m);
}

static void test_row_too_long(void **state)
{
    (void)state;
    enum { N = 65536 };
    uint32_t *pre = calloc(N, sizeof *pre), *post = calloc(N, sizeof *post);
    assert_true(pre && post);
    for (uint32_t k = 0; k < N; k++)
        post[k] = 1;
    /* one from_list repeating (0, 1) 65536 times */
    struct snn_net *net = net_new(1.0, 0, 1);
    uint32_t a = pop(net, "A", SNN_MODEL_SPIKE_SOURCE_POISSON, 2);
    uint32_t b = pop(net, "B", SNN_MODEL_LIF_CURR_EXP, 2);
    list_proj(net, a, b, SNN_RECEPTOR_INH, N, pre, post, NULL, NULL);
    expect_row_full(net, "neuron 0 of population 'A' has more than 65535 synapses of one "
                         "receptor onto neurons 0..1 of population 'B'");
    snn_net_free(net);

    /* 65535 of each receptor fit in one row */
    net = net_new(1.0, 0, 1);
    a = pop(net, "A", SNN_MODEL_SPIKE_SOURCE_POISSON, 2);
    b = pop(net, "B", SNN_MODEL_LIF_CURR_EXP, 2);
    list_proj(net, a, b, SNN_RECEPTOR_INH, N - 1, pre, post, NULL, NULL);
    list_proj(net, a, b, SNN_RECEPTOR_EXC, N - 1, pre, post, NULL, NULL);
    struct snn_machine *m = hand_machine();
    struct snn_map *map = map_run(net, m, 0, false);
    uint32_t bs = slice_by_pop_lo(map, b, 0);
    assert_int_equal(word(map, bs, 0), 1);
    assert_int_equal(word(map, bs, 2), 12);
    assert_int_equal(word(map, bs, 3), 0xFFFFFFFFu);
    check_synapses(map);
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);

    /* two excitatory projections of 40000 each: 80000 in one row */
    net = net_new(1.0, 0, 1);
    a = pop(net, "pre", SNN_MODEL_LIF_CURR_EXP, 3);
    b = pop(net, "post", SNN_MODEL_LIF_CURR_EXP, 2);
    list_proj(net, a, b, SNN_RECEPTOR_EXC, 40000, pre, post, NULL, NULL);
    list_proj(net, a, b, SNN_RECEPTOR_INH, 1, pre, post, NULL, NULL);
    list_proj(net, a, b, SNN_RECEPTOR_EXC, 40000, pre, post, NULL, NULL);
    expect_row_full(net, "neuron 0 of population 'pre' has more than 65535 synapses of one "
                         "receptor onto neurons 0..1 of population 'post'");
    snn_net_free(net);
    free(pre);
    free(post);
}

/* ---- 9. the dump -------------------------------------------------------------- */

static void test_dump(void **state)
{
    (void)state;
    struct snn_net *net = hand_net();
    struct snn_machine *m = hand_machine();
    struct snn_map *map = map_run(net, m, 3, true);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    snn_map_dump(map, SNN_PASS_LAYOUT, f);
    fclose(f);
    const enum snn_receptor E = SNN_RECEPTOR_EXC, I = SNN_RECEPTOR_INH;
    uint32_t a0 = slice_by_pop_lo(map, 0, 0), b0 = slice_by_pop_lo(map, 1, 0);
    const struct snn_slice *s = &map->slices[b0], *p = &map->slices[a0];
    char want[512];
    const char *lines[6];
    char l0[128], l1[256], l2[128], l3[160], l4[64];
    snprintf(l0, sizeof l0, "# after layout\n");
    snprintf(l1, sizeof l1, "core (%u, %u, %u) slice %u 'B' [0, 3) lif_curr_exp\n", s->x, s->y,
             s->core, b0);
    snprintf(l2, sizeof l2, "  key 0x%08x ring 8 steps 10 record, silent\n", s->key); /* B sends to no one */
    snprintf(l3, sizeof l3,
             "  from 0x%08x/0x%08x n 3 index @0 (slice %u 'A' [0, 3))\n"
             "    0 @16: exc 1:%+d/2 2:%+d/1 2:%+d/1 1:%+d/5 inh 0:%+d/1 1:%+d/4\n"
             "    2 @44: exc 0:%+d/3\n",
             p->key, p->mask, a0, (int)wq(map, E, 0.25), (int)wq(map, E, 0.5),
             (int)wq(map, E, 0.75), (int)wq(map, E, 2.0), (int)wq(map, I, 0.3),
             (int)wq(map, I, 0.6), (int)wq(map, E, 1.0));
    snprintf(l4, sizeof l4, "    0 @48: inh 0:%+d/2\n    1 @56: inh 1:%+d/1\n",
             (int)wq(map, I, 0.9), (int)wq(map, I, 1.2));
    lines[0] = l0, lines[1] = l1, lines[2] = l2, lines[3] = l3, lines[4] = l4;
    snprintf(want, sizeof want, "  sdram block 72 bytes at chip offset 0: rows 72, times 0, "
                                "spikes 0 @72, v 0 @72; stored fnv");
    lines[5] = want;
    for (int k = 0; k < 6; k++)
        if (!strstr(buf, lines[k]))
            fail_msg("the dump lacks\n%s\nit is:\n%s", lines[k], buf);
    free(buf);
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_small),
        cmocka_unit_test(test_two_groups),
        cmocka_unit_test(test_random_networks),
        cmocka_unit_test(test_neuron_data),
        cmocka_unit_test(test_recording),
        cmocka_unit_test(test_sizes_and_packing),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_verifier),
        cmocka_unit_test(test_verifier_overlap),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_row_too_long),
        cmocka_unit_test(test_dump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

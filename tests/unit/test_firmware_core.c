/*
 * tests/unit/test_firmware_core.c: the core kernel (firmware/core.c)
 * against the reference simulator, on the mapper's own images.
 *
 * Each example network is mapped onto a spinn target through every pass;
 * every core's DTCM image and SDRAM block are loaded into kernels
 * (snn_core_load), which then run in lock-step: every core ticks, then
 * every packet of the step is given to every core (the cores whose key
 * tables do not hold its key count it as unknown; routing is the
 * emulator's business, not the kernel's).  The spikes of all neurons and
 * the recorded voltages must equal snn_sim_run's, bit for bit.  Also:
 * packet and synapse counters against the expected totals, a corrupt
 * image refused by snn_core_load, a packet of an unknown key or past a
 * slice counted and dropped.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/core.h"
#include "frontend/frontend.h"
#include "ir/sim.h"
#include "mapper/mapper.h"
#include "support/arena.h"
#include "target/target.h"

#ifndef SNN_SOURCE_DIR
#error "SNN_SOURCE_DIR must name the source tree"
#endif

struct world {
    struct snn_net *net;
    struct snn_machine *m;
    struct snn_map *map;
    struct snn_core *cores;
    uint32_t **dtcm, **sdram;
    int32_t **ring;
};

static void world_new(struct world *w, const char *example, const char *target, uint32_t npc)
{
    memset(w, 0, sizeof *w);
    char path[512];
    snprintf(path, sizeof path, "%s/examples/%s", SNN_SOURCE_DIR, example);
    assert_int_equal(snn_frontend_load(path, NULL, &w->net), 0);
    assert_int_equal(snn_target_load(target, NULL, &w->m), 0);
    struct snn_map_options o;
    snn_map_options_init(&o);
    o.neurons_per_core = npc;
    assert_int_equal(snn_map_new(w->net, w->m, &o, &w->map), 0);
    assert_int_equal(snn_map_run(w->map, SNN_PASS_LAYOUT, 0, NULL, NULL), 0);
    uint32_t S = w->map->n_slices;
    w->cores = calloc(S, sizeof *w->cores);
    w->dtcm = calloc(S, sizeof *w->dtcm);
    w->sdram = calloc(S, sizeof *w->sdram);
    w->ring = calloc(S, sizeof *w->ring);
    assert_non_null(w->cores);
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_core_image *im = &w->map->images[s];
        const struct snn_slice *sl = &w->map->slices[s];
        /* the loader's work: copy the stored parts, zero the rest */
        w->dtcm[s] = malloc((size_t)im->dtcm_words * 4);
        w->sdram[s] = calloc(im->sdram_bytes / 4 + 1, 4);
        size_t rw = 2 * (size_t)sl->use.ring_slots * sl->n + 1;
        w->ring[s] = malloc(rw * 4);
        memcpy(w->dtcm[s], im->dtcm, (size_t)im->dtcm_words * 4);
        memcpy(w->sdram[s], im->sdram, (size_t)im->sdram_words * 4);
        assert_int_equal(snn_core_load(&w->cores[s], w->dtcm[s], im->dtcm_words * 4, w->sdram[s],
                                       im->sdram_bytes, w->ring[s], (uint32_t)rw),
                         SNN_CORE_OK);
    }
}

static void world_free(struct world *w)
{
    for (uint32_t s = 0; w->map && s < w->map->n_slices; s++) {
        free(w->dtcm[s]);
        free(w->sdram[s]);
        free(w->ring[s]);
    }
    free(w->dtcm);
    free(w->sdram);
    free(w->ring);
    free(w->cores);
    snn_map_free(w->map);
    snn_machine_free(w->m);
    snn_net_free(w->net);
}

/* The reference: every spike and recorded v for `steps` steps. */
struct ref {
    struct snn_spike_list spikes;
    uint64_t n_v;
    uint32_t *v_step, *v_pop, *v_neuron;
    int32_t *v;
};

static int on_spikes(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons, uint32_t n)
{
    struct ref *r = ctx;
    for (uint32_t k = 0; k < n; k++)
        if (snn_spike_list_push(&r->spikes, step, pop, neurons[k]))
            return -1;
    return 0;
}

static int on_v(void *ctx, uint32_t step, uint32_t pop, uint32_t neuron, double v_mv)
{
    struct ref *r = ctx;
    uint64_t k = r->n_v++;
    r->v_step = realloc(r->v_step, r->n_v * sizeof *r->v_step);
    r->v_pop = realloc(r->v_pop, r->n_v * sizeof *r->v_pop);
    r->v_neuron = realloc(r->v_neuron, r->n_v * sizeof *r->v_neuron);
    r->v = realloc(r->v, r->n_v * sizeof *r->v);
    if (!r->v_step || !r->v_pop || !r->v_neuron || !r->v)
        return -1;
    r->v_step[k] = step;
    r->v_pop[k] = pop;
    r->v_neuron[k] = neuron;
    r->v[k] = (int32_t)ldexp(v_mv, 16); /* exact: v is a Q15.16 value */
    return 0;
}

/* Runs the kernels in lock-step for `steps` steps; their spikes. */
static void run_kernels(struct world *w, uint32_t steps, struct snn_spike_list *out,
                        uint64_t *packets_sent, uint64_t *most_in_step)
{
    uint32_t S = w->map->n_slices;
    uint32_t *keys = malloc(S * 256 * sizeof *keys), *fired = malloc(256 * sizeof *fired);
    assert_non_null(keys);
    *packets_sent = 0;
    *most_in_step = 0;
    for (uint32_t t = 0; t < steps; t++) {
        uint64_t nk = 0;
        for (uint32_t s = 0; s < S; s++) {
            const struct snn_slice *sl = &w->map->slices[s];
            uint32_t nf = snn_core_tick(&w->cores[s], fired);
            for (uint32_t k = 0; k < nf; k++) {
                keys[nk++] = fired[k];
                assert_int_equal(snn_spike_list_push(out, t, sl->pop, sl->lo + (fired[k] - sl->key)), 0);
            }
        }
        *packets_sent += nk;
        if (nk > *most_in_step)
            *most_in_step = nk;
        for (uint64_t k = 0; k < nk; k++)
            for (uint32_t s = 0; s < S; s++)
                snn_core_packet(&w->cores[s], keys[k]);
    }
    free(keys);
    free(fired);
}

static void check_example(const char *example, const char *target, uint32_t npc, uint32_t steps)
{
    struct world w;
    world_new(&w, example, target, npc);
    struct ref r = {0};
    struct snn_sim_opts o = {.steps = steps, .threads = 1, .ctx = &r, .on_spikes = on_spikes,
                             .all_spikes = true, .on_v = on_v};
    assert_int_equal(snn_sim_run(w.net, &o, NULL, NULL), 0);
    struct snn_spike_list got = {0};
    uint64_t sent, most;
    run_kernels(&w, steps, &got, &sent, &most);
    snn_spike_list_sort(&r.spikes);
    snn_spike_list_sort(&got);
    if (got.n != r.spikes.n)
        fail_msg("%s: the kernels fired %llu spikes, the simulator %llu", example,
                 (unsigned long long)got.n, (unsigned long long)r.spikes.n);
    for (uint64_t k = 0; k < got.n; k++)
        if (got.step[k] != r.spikes.step[k] || got.pop[k] != r.spikes.pop[k] ||
            got.neuron[k] != r.spikes.neuron[k])
            fail_msg("%s: spike %llu: kernels (step %u, pop %u, neuron %u), simulator (step %u, "
                     "pop %u, neuron %u)",
                     example, (unsigned long long)k, got.step[k], got.pop[k], got.neuron[k],
                     r.spikes.step[k], r.spikes.pop[k], r.spikes.neuron[k]);
    assert_true(got.n > 0); /* a comparison of silences would prove little */
    /* Recorded v: the kernel's region holds the recorded neurons of each
     * slice in neuron order, a row per step. */
    for (uint64_t k = 0; k < r.n_v; k++) {
        uint32_t p = r.v_pop[k], j = r.v_neuron[k], t = r.v_step[k];
        uint32_t s = w.map->pop_slice[p];
        while (!(j >= w.map->slices[s].lo && j < w.map->slices[s].lo + w.map->slices[s].n))
            s++;
        const struct snn_core *c = &w.cores[s];
        uint32_t i = j - c->h.lo, rank = 0;
        for (uint32_t q = 0; q < i; q++)
            rank += (c->h.record_v_mask[q / 32] >> (q % 32)) & 1u;
        int32_t v = (int32_t)c->v_rec[(uint64_t)t * c->h.n_record_v + rank];
        if (v != r.v[k])
            fail_msg("%s: v of neuron %u of pop %u after step %u: kernel %d, simulator %d",
                     example, j, p, t, v, r.v[k]);
    }
    /* Counters: every packet reached every core; the synaptic events are
     * those the slices' rows hold. */
    uint64_t packets = 0, spikes = 0, known = 0;
    for (uint32_t s = 0; s < w.map->n_slices; s++) {
        packets += w.cores[s].c.packets;
        spikes += w.cores[s].c.spikes;
        known += w.cores[s].c.packets - w.cores[s].c.unknown;
        assert_int_equal(w.cores[s].c.steps, steps);
        /* every core is given every packet: its deepest step is the busiest */
        assert_int_equal(w.cores[s].c.queue_max, most);
    }
    assert_int_equal(spikes, got.n);
    assert_int_equal(packets, sent * w.map->n_slices);
    assert_true(known > 0);
    printf("%s on %s: %llu spikes in %u steps, %u slices, equal to the simulator's\n", example,
           target, (unsigned long long)got.n, steps, w.map->n_slices);
    snn_spike_list_free(&got);
    snn_spike_list_free(&r.spikes);
    free(r.v_step);
    free(r.v_pop);
    free(r.v_neuron);
    free(r.v);
    world_free(&w);
}

static void test_cuba(void **state)
{
    (void)state;
    check_example("cuba.yaml", "spinn3", 64, 2000);
}

static void test_coba(void **state)
{
    (void)state;
    check_example("coba.yaml", "spinn3", 64, 2000);
}

static void test_synfire(void **state)
{
    (void)state;
    check_example("synfire.yaml", "spinn3", 32, 2000);
}

static void test_izhikevich(void **state)
{
    (void)state;
    check_example("izhikevich.yaml", "spinn3", 100, 2000);
}

static void test_poisson(void **state)
{
    (void)state;
    check_example("poisson.yaml", "spinn5", 0, 5000);
}

/* Whether fx_mul(a, k) clamps, computed apart from the kernel. */
static int clamps(int32_t a, struct fx_mult k)
{
    long double p = ldexpl((long double)a * k.m, -k.s);
    return p >= 2147483647.5L || p < -2147483648.5L;
}

/* Saturations: ring words set by hand for the next step of one core of
 * each kind of synapse; the kernel counts exactly those that clamp. */
static void test_saturations(void **state)
{
    (void)state;
    struct world w;
    world_new(&w, "cuba.yaml", "spinn3", 64);
    uint32_t s = 0;
    while (s < w.map->n_slices && w.cores[s].h.model != FX_MODEL_LIF_CURR_EXP)
        s++;
    assert_true(s < w.map->n_slices);
    struct snn_core *c = &w.cores[s];
    uint32_t fired[256], n = c->h.n;
    snn_core_tick(c, fired);
    int32_t *st = (int32_t *)((uint8_t *)c->dtcm + c->h.state_off); /* v, xe, xi, refrac */
    int32_t *ie = c->ring + (uint64_t)((c->now + 1) & (c->h.ring_slots - 1)) * 2 * n,
            *ii = ie + n;
    st[n + 0] = 1;
    ie[0] = INT32_MAX;  /* xe 1 + INT32_MAX: clamps */
    st[n + 1] = 1;
    ie[1] = 5;          /* fits */
    st[2 * n + 2] = -1;
    ii[2] = INT32_MIN;  /* xi -1 + INT32_MIN: clamps */
    st[2 * n + 3] = 0;
    ii[3] = INT32_MIN;  /* exactly INT32_MIN: fits */
    uint32_t before = c->c.saturations;
    snn_core_tick(c, fired);
    assert_int_equal(c->c.saturations - before, 2);
    world_free(&w);

    /* delta synapses: the word scaled into millivolts */
    world_new(&w, "izhikevich.yaml", "spinn5", 25);
    for (s = 0; s < w.map->n_slices && w.cores[s].h.model != FX_MODEL_IZHIKEVICH; s++)
        ;
    assert_true(s < w.map->n_slices);
    c = &w.cores[s];
    n = c->h.n;
    snn_core_tick(c, fired);
    const struct fx_izhikevich *p =
        (const struct fx_izhikevich *)((uint8_t *)c->dtcm + c->h.params_off);
    ie = c->ring + (uint64_t)((c->now + 1) & (c->h.ring_slots - 1)) * 2 * n;
    ii = ie + n;
    ie[0] = INT32_MAX;
    ii[1] = INT32_MIN;
    ie[2] = 1;
    uint32_t want = (uint32_t)(clamps(INT32_MAX, p[0].k_in_e) + clamps(INT32_MIN, p[1].k_in_i) +
                               clamps(1, p[2].k_in_e));
    assert_true(want >= 1); /* a word of 2^31 LSBs is far beyond 32768 mV */
    before = c->c.saturations;
    snn_core_tick(c, fired);
    assert_int_equal(c->c.saturations - before, want);
    world_free(&w);
}

/* Bad packets and a corrupt image. */
static void test_refusals(void **state)
{
    (void)state;
    struct world w;
    world_new(&w, "synfire.yaml", "spinn3", 32);
    uint32_t s = 0; /* a slice with incoming edges */
    while (s < w.map->n_slices && !(w.cores[s].h.n_keys && w.map->images[s].sdram_bytes))
        s++;
    assert_true(s < w.map->n_slices);
    struct snn_core *c = &w.cores[s];
    struct snn_core_counters before = c->c;
    snn_core_packet(c, 0xFFFFFFF0u); /* no such key */
    assert_int_equal(c->c.packets, before.packets + 1);
    assert_int_equal(c->c.unknown, before.unknown + 1);
    assert_int_equal(c->c.synapses, before.synapses);
    /* a neuron past its slice: the first entry's block, beyond n_pre */
    if (c->h.n_keys && c->keys[0].n_pre < (~c->keys[0].mask) + 1u) {
        snn_core_packet(c, c->keys[0].key | c->keys[0].n_pre);
        assert_int_equal(c->c.unknown, before.unknown + 2);
    }
    /* corrupt images are refused before use */
    const struct snn_core_image *im = &w.map->images[s];
    uint32_t *d = malloc((size_t)im->dtcm_words * 4);
    int32_t ring[4096];
    struct snn_core k2;
    memcpy(d, im->dtcm, (size_t)im->dtcm_words * 4);
    d[offsetof(struct snn_core_header, version) / 4] = 99;
    assert_int_equal(snn_core_load(&k2, d, im->dtcm_words * 4, w.sdram[s], im->sdram_bytes, ring,
                                   4096),
                     SNN_CORE_BAD_VERSION);
    memcpy(d, im->dtcm, (size_t)im->dtcm_words * 4);
    d[offsetof(struct snn_core_header, keys_off) / 4] = 0xFFFFFF00u;
    assert_int_equal(snn_core_load(&k2, d, im->dtcm_words * 4, w.sdram[s], im->sdram_bytes, ring,
                                   4096),
                     SNN_CORE_BAD_OFFSETS);
    memcpy(d, im->dtcm, (size_t)im->dtcm_words * 4);
    assert_int_equal(snn_core_load(&k2, d, im->dtcm_words * 4, w.sdram[s], im->sdram_bytes, ring,
                                   1),
                     SNN_CORE_NO_RING);
    assert_int_equal(snn_core_load(&k2, d, 8, w.sdram[s], im->sdram_bytes, ring, 4096),
                     SNN_CORE_BAD_SIZE);
    assert_int_equal(snn_core_load(&k2, d, im->dtcm_words * 4, w.sdram[s], 0, ring, 4096),
                     SNN_CORE_BAD_SIZE);
    free(d);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cuba),      cmocka_unit_test(test_coba),
        cmocka_unit_test(test_synfire),   cmocka_unit_test(test_izhikevich),
        cmocka_unit_test(test_poisson),   cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_saturations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

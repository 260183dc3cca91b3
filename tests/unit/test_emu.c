/*
 * tests/unit/test_emu.c: the board emulator (runtime/emu.c) running the
 * images snnc builds, against the reference simulator.
 *
 * Each network is mapped through every pass, written as an image
 * (backends/spinn) into memory and run by the emulator; every spike of
 * every population must equal snn_sim_run's, bit for bit.  Covered: the
 * examples on the 4-chip and 48-chip boards at sizes that force many
 * slices and multi-chip routes, a machine with a dead chip, a dead core
 * and dead links (routes detour), one thread against two (the same
 * spikes and counters), runs split in pieces, the traffic counters
 * (every hop on some link, every packet delivered), random networks
 * (every model and connector, delays up to 255 steps, slices small
 * enough for many cores and multi-chip routes), and routing faults
 * the emulator must count: an entry removed from a table (packets from a
 * local core unrouted), and a route sent into a dead link.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "abi/image.h"
#include "backends/spinn/spinn.h"
#include "frontend/frontend.h"
#include "ir/sim.h"
#include "mapper/mapper.h"
#include "firmware/core.h"
#include "runtime/emu.h"
#include "support/err.h"
#include "map_testlib.h"
#include "net_testlib.h"
#include "sink.h"
#include "target/target.h"

#ifndef SNN_SOURCE_DIR
#error "SNN_SOURCE_DIR must name the source tree"
#endif

struct built {
    struct snn_net *net;
    struct snn_machine *m;
    struct snn_map *map;
    char *img;
    size_t size;
};

static void build(struct built *b, const char *network, const char *target, uint32_t npc)
{
    memset(b, 0, sizeof *b);
    char path[512], tpath[512];
    snprintf(path, sizeof path, "%s/%s", SNN_SOURCE_DIR, network);
    assert_int_equal(snn_frontend_load(path, NULL, &b->net), 0);
    if (strchr(target, '/')) {
        snprintf(tpath, sizeof tpath, "%s/%s", SNN_SOURCE_DIR, target);
        target = tpath;
    }
    assert_int_equal(snn_target_load(target, NULL, &b->m), 0);
    struct snn_map_options o;
    snn_map_options_init(&o);
    o.neurons_per_core = npc;
    o.seed = b->net->seed;
    assert_int_equal(snn_map_new(b->net, b->m, &o, &b->map), 0);
    assert_int_equal(snn_map_run(b->map, SNN_PASS_LAYOUT, 0, NULL, NULL), 0);
    FILE *f = open_memstream(&b->img, &b->size);
    assert_non_null(f);
    assert_int_equal(snn_spinn_image_write(b->map, f, NULL), 0);
    assert_int_equal(fclose(f), 0);
}

static void unbuild(struct built *b)
{
    free(b->img);
    snn_map_free(b->map);
    snn_machine_free(b->m);
    snn_net_free(b->net);
}

static int collect(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons, uint32_t n)
{
    struct snn_spike_list *l = ctx;
    for (uint32_t k = 0; k < n; k++) {
        if (k && neurons[k] <= neurons[k - 1])
            return -1; /* neurons must come ascending */
        if (snn_spike_list_push(l, step, pop, neurons[k]))
            return -1;
    }
    return 0;
}

static void reference(const struct snn_net *net, uint32_t steps, struct snn_spike_list *out)
{
    struct snn_sim_opts o = {.steps = steps, .threads = 1, .ctx = out, .on_spikes = collect,
                             .all_spikes = true};
    assert_int_equal(snn_sim_run(net, &o, NULL, NULL), 0);
}

static void same_spikes(const char *what, const struct snn_spike_list *a,
                        const struct snn_spike_list *b)
{
    if (a->n != b->n)
        fail_msg("%s: %llu spikes against %llu", what, (unsigned long long)a->n,
                 (unsigned long long)b->n);
    for (uint64_t k = 0; k < a->n; k++)
        if (a->step[k] != b->step[k] || a->pop[k] != b->pop[k] || a->neuron[k] != b->neuron[k])
            fail_msg("%s: spike %llu differs: (step %u, pop %u, neuron %u) against (%u, %u, %u)",
                     what, (unsigned long long)k, a->step[k], a->pop[k], a->neuron[k], b->step[k],
                     b->pop[k], b->neuron[k]);
}

/* Runs the image for steps (in pieces of `piece` steps) on `threads`;
 * m is the machine it was built for (its links are counted). */
static void emulate_on(const struct built *b, const struct snn_machine *m, unsigned threads,
                       uint32_t steps, uint32_t piece, struct snn_spike_list *out,
                       struct snn_emu_counters *c)
{
    struct snn_emu_options o = {.threads = threads};
    struct snn_emu *e = NULL;
    assert_int_equal(snn_emu_new(b->img, b->size, &o, NULL, &e), 0);
    for (uint32_t t = 0; t < steps; t += piece)
        assert_int_equal(snn_emu_run(e, steps - t < piece ? steps - t : piece, collect, out), 0);
    snn_emu_counters(e, c);
    /* every hop is on some link */
    uint64_t links = 0;
    for (uint32_t y = 0; y < m->height; y++)
        for (uint32_t x = 0; x < m->width; x++)
            for (unsigned l = 0; l < 6; l++)
                links += snn_emu_link_packets(e, x, y, l);
    assert_int_equal(links, c->hops);
    /* the routers' counts add up to the machine's */
    struct snn_emu_router sum = {0}, r;
    for (uint32_t y = 0; y < m->height; y++)
        for (uint32_t x = 0; x < m->width; x++) {
            snn_emu_router(e, x, y, &r);
            sum.matched += r.matched;
            sum.default_routed += r.default_routed;
            sum.delivered += r.delivered;
            sum.unrouted += r.unrouted;
            sum.dead_link += r.dead_link;
            sum.no_core += r.no_core;
        }
    assert_int_equal(sum.delivered, c->deliveries);
    assert_int_equal(sum.default_routed, c->default_routed);
    assert_int_equal(sum.unrouted, c->unrouted);
    assert_int_equal(sum.dead_link, c->dead_link);
    assert_int_equal(sum.no_core, c->no_core);
    /* every packet is handled by its source chip's router, then once more
     * per hop (a looping one stops early) */
    uint64_t sent = 0;
    for (uint32_t s = 0; s < snn_emu_n_slices(e); s++) {
        const struct snn_core *k = snn_emu_core(e, s);
        if (!(k->h.flags & SNN_CORE_SILENT))
            sent += k->c.spikes;
    }
    if (!c->loops)
        assert_int_equal(sum.matched + sum.default_routed + sum.unrouted, sent + c->hops);
    snn_emu_router(e, m->width, 0, &r);
    assert_int_equal(r.matched + r.delivered, 0);
    snn_emu_free(e);
}

static void emulate(const struct built *b, unsigned threads, uint32_t steps, uint32_t piece,
                    struct snn_spike_list *out, struct snn_emu_counters *c)
{
    emulate_on(b, b->m, threads, steps, piece, out, c);
}

static void check(const char *network, const char *target, uint32_t npc, uint32_t steps)
{
    struct built b;
    build(&b, network, target, npc);
    struct snn_spike_list ref = {0}, got = {0}, got1 = {0};
    reference(b.net, steps, &ref);
    struct snn_emu_counters c, c1;
    emulate(&b, 2, steps, steps, &got, &c);
    same_spikes(network, &got, &ref);
    assert_true(ref.n > 0);
    /* a clean mapping: nothing dropped, nothing unknown */
    assert_int_equal(c.unrouted + c.dead_link + c.no_core + c.loops, 0);
    assert_int_equal(c.spikes, ref.n);
    assert_int_equal(c.unknown, 0);
    assert_true(c.deliveries >= c.packets_in);
    /* one thread, in three pieces: the same spikes and counters */
    emulate(&b, 1, steps, steps / 3 + 1, &got1, &c1);
    same_spikes("one thread, in pieces", &got1, &ref);
    assert_int_equal(c1.hops, c.hops);
    assert_int_equal(c1.deliveries, c.deliveries);
    assert_int_equal(c1.synapses, c.synapses);
    assert_int_equal(c1.default_routed, c.default_routed);
    assert_int_equal(c1.queue_max, c.queue_max);
    assert_int_equal(c1.saturations, c.saturations);
    /* a core's deepest step: at most what was delivered, and some when any was */
    assert_true(c.queue_max <= c.deliveries);
    assert_true(c.deliveries == 0 || c.queue_max > 0);
    assert_int_equal(c.saturations, 0); /* the examples' weights leave room */
    printf("%s on %s: %llu spikes, %llu hops, %llu synaptic events in %u steps: equal\n",
           network, target, (unsigned long long)ref.n, (unsigned long long)c.hops,
           (unsigned long long)c.synapses, steps);
    snn_spike_list_free(&ref);
    snn_spike_list_free(&got);
    snn_spike_list_free(&got1);
    unbuild(&b);
}

static void test_cuba(void **state)
{
    (void)state;
    check("examples/cuba.yaml", "spinn3", 64, 2000);
}

static void test_coba_spinn5(void **state)
{
    (void)state;
    check("examples/coba.yaml", "spinn5", 32, 1500);
}

static void test_synfire(void **state)
{
    (void)state;
    check("examples/synfire.yaml", "spinn5", 16, 2000);
}

static void test_izhikevich(void **state)
{
    (void)state;
    check("examples/izhikevich.yaml", "spinn3", 50, 2000);
}

static void test_poisson(void **state)
{
    (void)state;
    check("examples/poisson.yaml", "spinn3", 0, 5000);
}

static void test_dead_parts(void **state)
{
    (void)state;
    check("tests/golden/map/chain.yaml", "tests/golden/map/targets/grid3_dead.yaml", 2, 10);
}

/* A Poisson drive strong enough to make every neuron population of net
 * fire: 20 sources at 400 Hz, each neuron reached by about half of them. */
static void add_drive(struct snn_net *net)
{
    uint32_t n = net->n_pops;
    uint32_t s = pop(net, "drive", SNN_MODEL_SPIKE_SOURCE_POISSON, 20);
    int slot = snn_model_param(SNN_MODEL_SPIKE_SOURCE_POISSON, "rate");
    assert_true(slot >= 0);
    net->pops[s].params[slot] = (struct snn_value){.kind = SNN_VAL_CONST, .c = 400.0};
    for (uint32_t p = 0; p < n; p++)
        if (!snn_models[net->pops[p].model].is_source)
            proj(net, s, p, SNN_CONN_FIXED_PROBABILITY, SNN_RECEPTOR_EXC, 3.0, net->dt_ms)
                ->conn.p = 0.5;
}

/* Random networks (tests/unit/net_testlib.h): mapped at a few neurons
 * per core on the 4- and 48-chip boards, written, emulated and compared
 * with the simulator, every spike of every population. */
static void test_random_networks(void **state)
{
    (void)state;
    struct snn_machine *m5 = NULL, *m3 = NULL;
    assert_int_equal(snn_target_load("spinn5", NULL, &m5), 0);
    assert_int_equal(snn_target_load("spinn3", NULL, &m3), 0);
    rng_state = 0x9E3779B97F4A7C15ull;
    uint64_t spikes = 0, hops = 0;
    for (int iter = 0; iter < 24; iter++) {
        struct built b = {0};
        b.net = random_net(60, iter % 3 == 0);
        add_drive(b.net);
        assert_int_equal(snn_ir_verify(b.net, NULL), 0);
        const struct snn_machine *m = iter % 2 ? m5 : m3;
        struct snn_map_options o;
        snn_map_options_init(&o);
        o.neurons_per_core = m == m5 ? 1 + rnd(4) : 8 + rnd(24);
        o.seed = b.net->seed;
        assert_int_equal(snn_map_new(b.net, m, &o, &b.map), 0);
        if (snn_map_run(b.map, SNN_PASS_LAYOUT, 0, NULL, NULL) != 0) {
            /* too many slices for the 4-chip board: a bigger share */
            snn_map_free(b.map);
            o.neurons_per_core = 64;
            assert_int_equal(snn_map_new(b.net, m, &o, &b.map), 0);
            assert_int_equal(snn_map_run(b.map, SNN_PASS_LAYOUT, 0, NULL, NULL), 0);
        }
        FILE *f = open_memstream(&b.img, &b.size);
        assert_int_equal(snn_spinn_image_write(b.map, f, NULL), 0);
        assert_int_equal(fclose(f), 0);
        b.m = NULL; /* the machines are shared; unbuild must not free them */
        uint32_t steps = 60 + rnd(100);
        struct snn_spike_list ref = {0}, got = {0};
        reference(b.net, steps, &ref);
        struct snn_emu_counters c;
        emulate_on(&b, m, 2, steps, steps, &got, &c);
        char what[64];
        snprintf(what, sizeof what, "random network %d", iter);
        same_spikes(what, &got, &ref);
        assert_int_equal(c.unrouted + c.dead_link + c.no_core + c.loops + c.unknown, 0);
        spikes += ref.n;
        hops += c.hops;
        snn_spike_list_free(&ref);
        snn_spike_list_free(&got);
        unbuild(&b);
    }
    assert_true(spikes > 1000 && hops > 1000); /* the networks did something, across chips */
    printf("24 random networks: %llu spikes, %llu hops, equal\n", (unsigned long long)spikes,
           (unsigned long long)hops);
    snn_machine_free(m5);
    snn_machine_free(m3);
}

/* The index of the first section of a kind in an image. */
static struct snn_image_section *first_section(struct built *b, uint32_t kind, uint32_t *k)
{
    struct snn_image_header h;
    memcpy(&h, b->img, sizeof h);
    for (*k = 0; *k < h.n_sections; (*k)++) {
        struct snn_image_section *s =
            (struct snn_image_section *)(b->img + sizeof h + (size_t)*k * sizeof *s);
        if (s->kind == kind)
            return s;
    }
    return NULL;
}

static void test_routing_faults(void **state)
{
    (void)state;
    struct built b;
    build(&b, "examples/cuba.yaml", "spinn3", 64);
    struct snn_spike_list ref = {0}, got = {0};
    reference(b.net, 300, &ref);
    /* An entry that can never match (a key bit outside its mask) is
     * refused by the chip's monitor before anything runs. */
    uint32_t k;
    struct snn_image_section *s = first_section(&b, SNN_SEC_ROUTES, &k);
    assert_non_null(s);
    struct snn_image_route *r = (struct snn_image_route *)(b.img + s->off_lo);
    assert_int_not_equal(~r[0].mask, 0);
    uint32_t key0 = r[0].key;
    r[0].key |= ~r[0].mask & (0u - ~r[0].mask); /* the lowest bit outside the mask */
    struct sink sk;
    sink_open(&sk);
    struct snn_emu *bad_e = NULL;
    assert_int_equal(snn_emu_new(b.img, b.size, NULL, sk.d, &bad_e), SNN_EPARSE);
    assert_null(bad_e);
    assert_non_null(strstr(sink_text(&sk), "refused ROUTES for core 0: status 10"));
    sink_close(&sk);
    r[0].key = key0;
    /* Every entry of the first table made to match keys no core sends (the
     * top key bit, inside every mask, flipped): packets from its chip's
     * cores are unrouted, others default-routed through it. */
    for (uint32_t q = 0; q < s->bytes / sizeof *r; q++) {
        assert_true(r[q].mask & 0x80000000u);
        r[q].key ^= 0x80000000u;
    }
    struct snn_emu_counters c;
    emulate(&b, 2, 300, 300, &got, &c);
    assert_true(c.unrouted > 0);
    assert_true(got.n != ref.n || memcmp(got.neuron, ref.neuron, got.n * sizeof *got.neuron));
    snn_spike_list_free(&got);
    /* A route sent off a chip over a link that leads nowhere: spinn5's
     * chip (0, 0) has no neighbour to the west or south-west. */
    unbuild(&b);
    build(&b, "examples/cuba.yaml", "spinn5", 64);
    s = first_section(&b, SNN_SEC_ROUTES, &k);
    assert_non_null(s);
    uint32_t x = SNN_IMAGE_WHERE_X(s->where), y = SNN_IMAGE_WHERE_Y(s->where);
    r = (struct snn_image_route *)(b.img + s->off_lo);
    /* every link of the table's first entry, one of which must fail at
     * an edge of the unwrapped board only if the chip is on it; W and SW
     * of (0, 0) always do */
    r[0].route_lo |= 0x3Fu;
    struct snn_spike_list got2 = {0};
    emulate(&b, 2, 300, 300, &got2, &c);
    if (x == 0 && y == 0)
        assert_true(c.dead_link > 0);
    assert_true(c.hops > 0);
    snn_spike_list_free(&got2);
    snn_spike_list_free(&ref);
    unbuild(&b);
}

static void test_bad_images(void **state)
{
    (void)state;
    struct snn_emu *e = NULL;
    assert_int_equal(snn_emu_new("short", 5, NULL, NULL, &e), SNN_EPARSE);
    assert_null(e);
    struct built b;
    build(&b, "examples/synfire.yaml", "spinn3", 32);
    struct snn_image_header *h = (struct snn_image_header *)b.img;
    h->family = SNN_IMAGE_FAMILY_SDT;
    assert_int_equal(snn_emu_new(b.img, b.size, NULL, NULL, &e), SNN_EPARSE);
    h->family = SNN_IMAGE_FAMILY_SPINN;
    assert_int_equal(snn_emu_new(b.img, b.size, NULL, NULL, &e), 0);
    snn_emu_free(e);
    /* an image for another machine: refused when the machine is named */
    struct snn_machine *other = NULL, *same = NULL;
    assert_int_equal(snn_target_load("spinn5", NULL, &other), 0);
    assert_int_equal(snn_target_load("spinn3", NULL, &same), 0);
    struct snn_emu_options o = {.machine = other};
    struct sink sk;
    sink_open(&sk);
    e = NULL;
    assert_int_equal(snn_emu_new(b.img, b.size, &o, sk.d, &e), SNN_EPARSE);
    assert_null(e);
    assert_non_null(strstr(sink_text(&sk), "built for machine 'spinn3', not for 'spinn5'"));
    assert_non_null(strstr(sink_text(&sk), "2x2 chips, not 8x8"));
    sink_close(&sk);
    o.machine = same;
    assert_int_equal(snn_emu_new(b.img, b.size, &o, NULL, &e), 0);
    snn_emu_free(e);
    snn_machine_free(other);
    snn_machine_free(same);
    unbuild(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cuba),          cmocka_unit_test(test_coba_spinn5),
        cmocka_unit_test(test_synfire),       cmocka_unit_test(test_izhikevich),
        cmocka_unit_test(test_poisson),       cmocka_unit_test(test_dead_parts),
        cmocka_unit_test(test_routing_faults), cmocka_unit_test(test_bad_images),
        cmocka_unit_test(test_random_networks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

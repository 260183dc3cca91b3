/*
 * tests/unit/test_map_partition.c: the partition pass (mapper/partition.c).
 *
 * Networks and machines are built by hand and the map by hand (not
 * snn_map_new), so these tests need no other pass.  Covered: a small case
 * with every slice, edge and byte computed by hand (two projections
 * sharing rows, recording), one_to_one giving only diagonal edges,
 * all_to_all every pair, from_list exact, reslicing driven by DTCM (long
 * delays, and a key table in a later round), by SDRAM and by synaptic
 * events, the too-big messages, an allocation-failure sweep, the verifier
 * catching corrupted slices, edges and resources, the dump, determinism,
 * a property test comparing the edges of random networks with a count
 * made from snn_expand's synapses, and the same for a network large
 * enough to be counted by two threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/expand.h"
#include "ir/ir.h"
#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"
#include "target/target.h"
#include "map_testlib.h"
#include "sink.h"

/* ---- helpers ------------------------------------------------------------ */

/* One SpiNNaker chip (18 cores, 1 monitor, 64 KiB DTCM, 128 MiB SDRAM,
 * 256 neurons, 4000 events). */
static struct snn_machine *machine(void)
{
    struct snn_machine *m = snn_machine_new();
    assert_non_null(m);
    m->name = "test";
    return m;
}

static struct snn_net *net_new(double dt_ms, double duration_ms)
{
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    net->dt_ms = dt_ms;
    net->duration_ms = duration_ms;
    net->seed = 7;
    return net;
}

static uint32_t pop(struct snn_net *net, const char *name, enum snn_model model, uint32_t size)
{
    assert_non_null(snn_net_add_pop(net, name, model, size));
    return net->n_pops - 1;
}

static struct snn_proj *proj(struct snn_net *net, uint32_t a, uint32_t b,
                             enum snn_conn_kind kind, double delay_ms)
{
    struct snn_proj *pj = snn_net_add_proj(net, a, b);
    assert_non_null(pj);
    pj->conn.kind = kind;
    pj->delay.kind = SNN_VAL_CONST;
    pj->delay.c = delay_ms;
    return pj;
}

static void set_param(struct snn_net *net, uint32_t p, const char *name, double v)
{
    int slot = snn_model_param(net->pops[p].model, name);
    assert_true(slot >= 0);
    net->pops[p].params[slot] = (struct snn_value){.kind = SNN_VAL_CONST, .c = v};
}

static struct snn_map *map_new(const struct snn_net *net, const struct snn_machine *m,
                               uint32_t npc)
{
    assert_int_equal(snn_ir_verify(net, NULL), 0);
    struct snn_map *map = calloc(1, sizeof *map);
    assert_non_null(map);
    map->arena = snn_arena_new();
    assert_non_null(map->arena);
    map->net = net;
    map->m = m;
    map->opt.rate_hz = 10.0;
    map->opt.neurons_per_core = npc;
    return map;
}

static void map_free(struct snn_map *map)
{
    snn_arena_free(map->arena);
    free(map);
}


static int partition_ok(struct snn_map *map)
{
    struct sink s;
    sink_open(&s);
    int rc = snn_map_partition(map, s.d);
    if (rc)
        fprintf(stderr, "%s", sink_text(&s));
    assert_int_equal(rc, 0);
    rc = snn__map_verify_partition(map, s.d);
    if (rc)
        fprintf(stderr, "%s", sink_text(&s));
    assert_int_equal(rc, 0);
    sink_close(&s);
    return rc;
}

static void check_slice(const struct snn_map *map, uint32_t i, uint32_t p, uint32_t lo,
                        uint32_t n)
{
    assert_true(i < map->n_slices);
    assert_int_equal(map->slices[i].pop, p);
    assert_int_equal(map->slices[i].lo, lo);
    assert_int_equal(map->slices[i].n, n);
}

static void check_edge(const struct snn_map *map, uint64_t j, uint32_t pre, uint32_t post,
                       uint32_t rows, uint32_t syn)
{
    assert_true(j < map->n_edges);
    assert_int_equal(map->edges[j].pre, pre);
    assert_int_equal(map->edges[j].post, post);
    assert_int_equal(map->edges[j].n_rows, rows);
    assert_int_equal(map->edges[j].n_synapses, syn);
}

static char *dump_text(const struct snn_map *map)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    snn__map_dump_partition(map, f);
    fclose(f);
    return buf;
}

/* Bytes of the resource model, written out again here so the tests check
 * the pass against the documented numbers, not against itself. */
enum { OVERHEAD = 8192, LIF = 68, POISSON = 12, KEY = 16 };
static uint32_t ring_b(uint32_t slots) { return 2 * slots * 4; }
/* SDRAM of an edge from a pre slice of m neurons with rows rows and syn
 * synapses: the index's groups, a row offset and header per row, a word
 * per synapse (abi/core_image.h). */
static uint64_t edge_b(uint32_t m, uint32_t rows, uint32_t syn)
{
    return 8ull * ((m + 31) / 32) + 8ull * rows + 4ull * syn;
}

/* ---- hand-checked cases -------------------------------------------------- */

/* A (10) -> B (6), 4 neurons per core, dt 1 ms, 100 ms recorded:
 * all_to_all (delay 1) plus a diagonal from_list (delay 3) share rows; B records
 * spikes and v of neurons 1 and 5. */
static void test_hand_small(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 100.0);
    uint32_t a = pop(net, "A", SNN_MODEL_LIF_CURR_EXP, 10);
    uint32_t b = pop(net, "B", SNN_MODEL_LIF_CURR_EXP, 6);
    static const uint32_t rec[] = {1, 5};
    net->pops[b].record = SNN_REC_SPIKES | SNN_REC_V;
    net->pops[b].record_v = rec;
    net->pops[b].n_record_v = 2;
    proj(net, a, b, SNN_CONN_ALL_TO_ALL, 1.0);
    static const uint32_t diag[] = {0, 1, 2, 3, 4, 5};
    struct snn_proj *pj = proj(net, a, b, SNN_CONN_FROM_LIST, 3.0);
    pj->conn.n = 6;
    pj->conn.list_pre = diag;
    pj->conn.list_post = diag;
    struct snn_machine *m = machine();
    ready(m);
    struct snn_map *map = map_new(net, m, 4);
    partition_ok(map);

    /* A: [0,4) [4,8) [8,10); B: [0,4) [4,6) */
    assert_int_equal(map->n_slices, 5);
    assert_int_equal(map->pop_slice[0], 0);
    assert_int_equal(map->pop_slice[1], 3);
    assert_int_equal(map->pop_slice[2], 5);
    check_slice(map, 0, a, 0, 4);
    check_slice(map, 1, a, 4, 4);
    check_slice(map, 2, a, 8, 2);
    check_slice(map, 3, b, 0, 4);
    check_slice(map, 4, b, 4, 2);

    /* every pair; rows = pre neurons; synapses = pre x post + the diagonal */
    assert_int_equal(map->n_edges, 6);
    check_edge(map, 0, 0, 3, 4, 16 + 4); /* A0 [0,4) x B0 [0,4): diagonal 0..3 */
    check_edge(map, 1, 0, 4, 4, 8);      /* A0 x B1 [4,6): no diagonal */
    check_edge(map, 2, 1, 3, 4, 16);
    check_edge(map, 3, 1, 4, 4, 8 + 2);  /* diagonal 4, 5 */
    check_edge(map, 4, 2, 3, 2, 8);
    check_edge(map, 5, 2, 4, 2, 4);
    static const uint64_t ef[] = {0, 2, 4, 6, 6, 6};
    for (uint32_t s = 0; s <= 5; s++)
        assert_int_equal(map->edge_first[s], ef[s]);

    /* A: no input, ring 2; no recording */
    const struct snn_slice_use *u = &map->slices[0].use;
    assert_int_equal(u->ring_slots, 2);
    assert_int_equal(u->dtcm_bytes, OVERHEAD + 4 * (LIF + ring_b(2)));
    assert_int_equal(u->n_in_edges, 0);
    assert_int_equal(u->sdram_bytes, 0);
    assert_int_equal(u->n_synapses_in, 0);
    assert_true(u->events_per_step == 0);
    assert_true(u->packets_per_step == 4 * 10.0 * 1.0 / 1000.0);
    assert_int_equal(map->slices[2].use.dtcm_bytes, OVERHEAD + 2 * (LIF + ring_b(2)));

    /* B0: delays up to 3 -> ring 4; 3 in edges */
    u = &map->slices[3].use;
    assert_int_equal(u->ring_slots, 4);
    assert_int_equal(u->n_in_edges, 3);
    assert_int_equal(u->dtcm_bytes, OVERHEAD + 4 * (LIF + ring_b(4)) + 3 * KEY);
    uint64_t rows0 = edge_b(4, 4, 20) + edge_b(4, 4, 16) + edge_b(2, 2, 8);
    assert_int_equal(rows0, (8 + 32 + 80) + (8 + 32 + 64) + (8 + 16 + 32));
    uint64_t rec0 = 100 * 1 * 4 /* spikes: one word per step */ + 100 * 1 * 4 /* v of 1 */;
    assert_int_equal(u->sdram_bytes, rows0 + rec0);
    assert_int_equal(u->n_synapses_in, 20 + 16 + 8);
    assert_true(u->events_per_step > 44 * 0.01 - 1e-12 && u->events_per_step < 44 * 0.01 + 1e-12);
    /* B1 */
    u = &map->slices[4].use;
    assert_int_equal(u->dtcm_bytes, OVERHEAD + 2 * (LIF + ring_b(4)) + 3 * KEY);
    uint64_t rows1 = edge_b(4, 4, 8) + edge_b(4, 4, 10) + edge_b(2, 2, 4);
    assert_int_equal(u->sdram_bytes, rows1 + 400 + 400);
    assert_int_equal(u->n_synapses_in, 22);

    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

static void test_one_to_one_diagonal(void **state)
{
    (void)state;
    struct snn_net *net = net_new(0.1, 0);
    uint32_t a = pop(net, "a", SNN_MODEL_LIF_CURR_EXP, 1000);
    uint32_t b = pop(net, "b", SNN_MODEL_LIF_CURR_EXP, 1000);
    proj(net, a, b, SNN_CONN_ONE_TO_ONE, 0.1);
    struct snn_machine *m = machine();
    ready(m);
    struct snn_map *map = map_new(net, m, 100);
    partition_ok(map);
    assert_int_equal(map->n_slices, 20);
    assert_int_equal(map->n_edges, 10);
    for (uint32_t k = 0; k < 10; k++) {
        check_edge(map, k, k, 10 + k, 100, 100);
        assert_int_equal(map->slices[10 + k].use.n_in_edges, 1);
    }
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

static void test_all_to_all_pairs(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0);
    uint32_t a = pop(net, "a", SNN_MODEL_IZHIKEVICH, 10);
    uint32_t b = pop(net, "b", SNN_MODEL_IF_CURR_DELTA, 7);
    proj(net, a, b, SNN_CONN_ALL_TO_ALL, 1.0);
    struct snn_machine *m = machine();
    ready(m);
    struct snn_map *map = map_new(net, m, 3);
    partition_ok(map);
    /* a: 3 3 3 1; b: 3 3 1 */
    assert_int_equal(map->n_slices, 7);
    assert_int_equal(map->n_edges, 12);
    static const uint32_t an[] = {3, 3, 3, 1}, bn[] = {3, 3, 1};
    uint64_t j = 0;
    for (uint32_t i = 0; i < 4; i++)
        for (uint32_t k = 0; k < 3; k++, j++)
            check_edge(map, j, i, 4 + k, an[i], an[i] * bn[k]);
    /* izhikevich 72 + 8, if_curr_delta 44 + 16 */
    assert_int_equal(map->slices[0].use.dtcm_bytes, OVERHEAD + 3 * (80 + ring_b(2)));
    assert_int_equal(map->slices[4].use.dtcm_bytes, OVERHEAD + 3 * (60 + ring_b(2)) + 4 * KEY);
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

static void test_from_list_exact(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0);
    uint32_t a = pop(net, "a", SNN_MODEL_LIF_CURR_EXP, 8);
    uint32_t b = pop(net, "b", SNN_MODEL_LIF_CURR_EXP, 8);
    static const uint32_t lp[] = {0, 0, 0, 3, 5, 7, 7};
    static const uint32_t lq[] = {0, 1, 5, 4, 2, 7, 7};
    struct snn_proj *pj = proj(net, a, b, SNN_CONN_FROM_LIST, 1.0);
    pj->conn.n = 7;
    pj->conn.list_pre = lp;
    pj->conn.list_post = lq;
    struct snn_machine *m = machine();
    ready(m);
    struct snn_map *map = map_new(net, m, 4);
    partition_ok(map);
    assert_int_equal(map->n_edges, 4);
    check_edge(map, 0, 0, 2, 1, 2); /* 0->0, 0->1 */
    check_edge(map, 1, 0, 3, 2, 2); /* 0->5, 3->4 */
    check_edge(map, 2, 1, 2, 1, 1); /* 5->2 */
    check_edge(map, 3, 1, 3, 1, 2); /* 7->7 twice: one row */
    assert_int_equal(map->slices[3].use.sdram_bytes, (8 + 2 * 8 + 2 * 4) + (8 + 8 + 2 * 4));
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* ---- reslicing ----------------------------------------------------------- */

/* Delays of 255 steps: ring 256, 68 + 2048 bytes a neuron; with a key
 * entry (65536 - 8192 - 16) / 2116 = 27 neurons a core. */
static void test_dtcm_long_delays(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0);
    uint32_t s = pop(net, "src", SNN_MODEL_SPIKE_SOURCE_POISSON, 256);
    uint32_t e = pop(net, "exc", SNN_MODEL_LIF_CURR_EXP, 256);
    proj(net, s, e, SNN_CONN_ONE_TO_ONE, 255.0);
    struct snn_machine *m = machine();
    ready(m);
    struct snn_map *map = map_new(net, m, 0);
    partition_ok(map);
    assert_int_equal(map->pop_slice[1], 1); /* the source: 256 x 12 bytes, no ring */
    assert_int_equal(map->slices[0].use.ring_slots, 0);
    assert_int_equal(map->slices[0].use.dtcm_bytes, OVERHEAD + 256 * POISSON);
    assert_int_equal(map->n_slices, 1 + 10); /* 9 x 27 + 13 */
    for (uint32_t k = 0; k < 10; k++)
        check_slice(map, 1 + k, e, 27 * k, k < 9 ? 27 : 13);
    assert_int_equal(map->slices[1].use.ring_slots, 256);
    assert_int_equal(map->slices[1].use.dtcm_bytes, OVERHEAD + 27 * (LIF + 2048) + KEY);
    assert_true(map->slices[1].use.dtcm_bytes <= 65536);
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* The key table pushes 256 neurons over: a round shrinks the slice.  A
 * source of 4096 (16 slices) all_to_all onto 256 lif neurons (ring 2):
 * 8192 + 256 x 84 + 16 x 16 = 29952 > 29852.  With A = 256 x 84 = 21504,
 * K = 256 and room 21660 the larger root of A f^2 - 21660 f + K is
 * 0.99529, and 256 x 0.99529 -> 254. */
static void test_dtcm_key_table_round(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0);
    uint32_t s = pop(net, "src", SNN_MODEL_SPIKE_SOURCE_POISSON, 4096);
    set_param(net, s, "rate", 0.1);
    uint32_t e = pop(net, "exc", SNN_MODEL_LIF_CURR_EXP, 256);
    proj(net, s, e, SNN_CONN_ALL_TO_ALL, 1.0);
    struct snn_machine *m = machine();
    m->dtcm_bytes = 29852;
    ready(m);
    struct snn_map *map = map_new(net, m, 0);
    partition_ok(map);
    assert_int_equal(map->pop_slice[1], 16);
    assert_int_equal(map->n_slices, 18);
    check_slice(map, 16, e, 0, 254);
    check_slice(map, 17, e, 254, 2);
    assert_int_equal(map->slices[16].use.dtcm_bytes, 8192 + 254 * 84 + 16 * 16);
    assert_int_equal(map->n_edges, 32);
    check_edge(map, 0, 0, 16, 256, 256 * 254);
    check_edge(map, 31, 15, 17, 256, 256 * 2);
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* A key table that grows as slices shrink: 16384 lif neurons connected
 * to themselves (p 0.005: every slice pair joined), 10000 bytes of DTCM
 * above the kernel's.  The first slices of 119 (10000 / 84) make 138
 * slices: 138 key entries (2208 bytes) + 119 x 84 = 12204.  A linear
 * shrink (97) would still break the budget (169 entries: 10852), and
 * then another; the key-table model solves 9996 f^2 - 10000 f + 2208 = 0
 * for f = 0.6714, s = 79: 208 slices (the last of 31), 3328 + 6636 = 9964
 * bytes, fits. */
static void test_dtcm_key_table_model(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0);
    uint32_t e = pop(net, "exc", SNN_MODEL_LIF_CURR_EXP, 16384);
    struct snn_proj *pj = proj(net, e, e, SNN_CONN_FIXED_PROBABILITY, 1.0);
    pj->conn.p = 0.005;
    struct snn_machine *m = machine();
    m->dtcm_bytes = 8192 + 10000;
    ready(m);
    struct snn_map *map = map_new(net, m, 0);
    partition_ok(map);
    assert_int_equal(map->n_slices, 208);
    check_slice(map, 0, e, 0, 79);
    check_slice(map, 206, e, 206 * 79, 79);
    check_slice(map, 207, e, 207 * 79, 31);
    assert_int_equal(map->n_edges, 208 * 208);
    assert_int_equal(map->slices[0].use.dtcm_bytes, 8192 + 79 * 84 + 208 * 16);
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* SDRAM budget 20000 bytes a core (17 application cores share 340000):
 * v of every neuron over 100 steps is 400 bytes a neuron, plus from a
 * 10-neuron source all_to_all 8 (index groups) + 80 (10 row offsets and
 * headers) + 40 n: n = 100 needs 44088, the round suggests
 * 100 x 20000 / 44088 = 45 (19888 bytes). */
static void test_sdram_round(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 100.0);
    uint32_t s = pop(net, "src", SNN_MODEL_SPIKE_SOURCE_POISSON, 10);
    uint32_t b = pop(net, "b", SNN_MODEL_LIF_CURR_EXP, 100);
    net->pops[b].record = SNN_REC_V;
    proj(net, s, b, SNN_CONN_ALL_TO_ALL, 1.0);
    struct snn_machine *m = machine();
    m->sdram_bytes = 17 * 20000 + 16; /* rounded down to 20000 a core */
    m->max_neurons = 100;
    ready(m);
    struct snn_map *map = map_new(net, m, 0);
    partition_ok(map);
    assert_int_equal(map->n_slices, 1 + 3);
    check_slice(map, 1, b, 0, 45);
    check_slice(map, 2, b, 45, 45);
    check_slice(map, 3, b, 90, 10);
    assert_int_equal(map->slices[1].use.sdram_bytes, 45 * 400 + 8 + 80 + 45 * 40);
    assert_int_equal(map->slices[3].use.sdram_bytes, 10 * 400 + 8 + 80 + 10 * 40);
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* 1000 Poisson sources at 100 Hz all_to_all onto 256 neurons, dt 1 ms:
 * 100 events a step per post neuron; 4000 a core -> 40 neurons. */
static void test_events_round(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0);
    uint32_t s = pop(net, "src", SNN_MODEL_SPIKE_SOURCE_POISSON, 1000);
    set_param(net, s, "rate", 100.0);
    uint32_t b = pop(net, "b", SNN_MODEL_LIF_CURR_EXP, 256);
    proj(net, s, b, SNN_CONN_ALL_TO_ALL, 1.0);
    struct snn_machine *m = machine();
    ready(m);
    struct snn_map *map = map_new(net, m, 0);
    partition_ok(map);
    assert_int_equal(map->pop_slice[1], 4); /* 256 256 256 232 */
    assert_int_equal(map->n_slices, 4 + 7);  /* 6 x 40 + 16 */
    check_slice(map, 4, b, 0, 40);
    check_slice(map, 10, b, 240, 16);
    double ev = map->slices[4].use.events_per_step;
    assert_true(ev > 4000 - 1e-6 && ev < 4000 + 1e-6);
    assert_true(map->slices[0].use.packets_per_step > 25.6 - 1e-9 &&
                map->slices[0].use.packets_per_step < 25.6 + 1e-9);
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* A spike_source_array's rate: its spikes over the duration, or over
 * the span of its times without one. */
static void test_array_rate(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0);
    uint32_t s = pop(net, "arr", SNN_MODEL_SPIKE_SOURCE_ARRAY, 2);
    uint32_t b = pop(net, "b", SNN_MODEL_LIF_CURR_EXP, 1);
    static const uint32_t off[] = {0, 3, 4};
    static const double times[] = {10, 20, 30, 50}; /* span 40 ms */
    net->pops[s].times_off = off;
    net->pops[s].times = times;
    proj(net, s, b, SNN_CONN_ALL_TO_ALL, 1.0);
    struct snn_machine *m = machine();
    ready(m);
    struct snn_map *map = map_new(net, m, 0);
    partition_ok(map);
    /* 4 spikes / (2 neurons x 40 ms) = 50 Hz; 2 synapses x 50 Hz x 1 ms */
    double ev = map->slices[1].use.events_per_step;
    assert_true(ev > 0.1 - 1e-12 && ev < 0.1 + 1e-12);
    assert_int_equal(map->slices[0].use.sdram_bytes, 4 * 4);
    assert_int_equal(map->slices[0].use.dtcm_bytes, OVERHEAD + 2 * 8);
    map_free(map);

    net->duration_ms = 200; /* 4 / (2 x 200 ms) = 10 Hz */
    map = map_new(net, m, 0);
    partition_ok(map);
    ev = map->slices[1].use.events_per_step;
    assert_true(ev > 0.02 - 1e-12 && ev < 0.02 + 1e-12);
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* ---- too big ----------------------------------------------------------- */

static void expect_too_big(struct snn_map *map, const char *text)
{
    struct sink s;
    sink_open(&s);
    assert_int_equal(snn_map_partition(map, s.d), SNN_ETOOBIG);
    const char *got = sink_text(&s);
    if (!strstr(got, text))
        fprintf(stderr, "got: %s\nwanted: %s\n", got, text);
    assert_non_null(strstr(got, text));
    assert_null(map->slices);
    assert_int_equal(map->n_slices, 0);
    assert_null(map->edges);
    sink_close(&s);
}

static void test_too_big(void **state)
{
    (void)state;
    /* DTCM: 8192 + 68 + 2048 = 10308 bytes for one neuron, 10240 a core */
    struct snn_net *net = net_new(1.0, 0);
    uint32_t s = pop(net, "src", SNN_MODEL_SPIKE_SOURCE_POISSON, 4);
    uint32_t e = pop(net, "exc", SNN_MODEL_LIF_CURR_EXP, 4);
    proj(net, s, e, SNN_CONN_ALL_TO_ALL, 255.0);
    struct snn_machine *m = machine();
    m->dtcm_bytes = 10240;
    ready(m);
    struct snn_map *map = map_new(net, m, 0);
    expect_too_big(map, "error: population 'exc': one neuron needs 10.1 KiB of DTCM (kernel "
                        "data 8 KiB, neuron state and parameters 68 bytes, ring buffers for "
                        "delays up to 255 steps 2 KiB), a core has 10 KiB; try shorter delays "
                        "or a target with more DTCM");
    map_free(map);
    snn_machine_free(m);

    /* events: 2000 sources at 100 Hz onto one neuron: 200 a step, 100 a core */
    net->projs[0].delay.c = 1.0;
    net->pops[s].size = 2000;
    set_param(net, s, "rate", 100.0);
    m = machine();
    m->max_synaptic_events = 100;
    ready(m);
    map = map_new(net, m, 0);
    expect_too_big(map, "population 'exc': one neuron receives 200 synaptic events per step "
                        "(2000 synapses at the assumed rates), a core processes 100; try");
    map_free(map);
    snn_machine_free(m);

    /* SDRAM: v of one neuron for 10000 steps is 40000 bytes, 17 cores x 20000 */
    net->pops[s].size = 4;
    net->pops[e].record = SNN_REC_V;
    net->duration_ms = 10000;
    m = machine();
    m->sdram_bytes = 17 * 20000;
    ready(m);
    map = map_new(net, m, 0);
    expect_too_big(map, "population 'exc': one neuron needs 39.1 KiB of SDRAM (recording 10000 "
                        "steps: 39.1 KiB), a core's share is 19.5 KiB (332.0 KiB over 17 "
                        "application cores); try recording less");
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* ---- allocation failures --------------------------------------------- */

static void sweep(struct snn_net *net, struct snn_machine *m, uint32_t npc)
{
    char *want = NULL;
    {
        struct snn_map *map = map_new(net, m, npc);
        partition_ok(map);
        want = dump_text(map);
        map_free(map);
    }
    long n;
    for (n = 0;; n++) {
        struct snn_map *map = map_new(net, m, npc);
        snn_alloc_fail_after(n);
        int rc = snn_map_partition(map, NULL);
        snn_alloc_fail_after(-1);
        if (rc == 0) {
            char *got = dump_text(map);
            assert_string_equal(got, want);
            free(got);
            map_free(map);
            break;
        }
        assert_int_equal(rc, SNN_ENOMEM);
        assert_null(map->slices);
        assert_null(map->edges);
        assert_null(map->pop_slice);
        assert_null(map->edge_first);
        map_free(map);
    }
    assert_true(n > 10);
    free(want);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    /* the SDRAM case: two rounds, so copying is swept too */
    struct snn_net *net = net_new(1.0, 100.0);
    uint32_t s = pop(net, "src", SNN_MODEL_SPIKE_SOURCE_POISSON, 10);
    uint32_t b = pop(net, "b", SNN_MODEL_LIF_CURR_EXP, 100);
    uint32_t c = pop(net, "c", SNN_MODEL_LIF_CURR_EXP, 30);
    net->pops[b].record = SNN_REC_V;
    proj(net, s, b, SNN_CONN_ALL_TO_ALL, 1.0);
    proj(net, s, c, SNN_CONN_ALL_TO_ALL, 1.0);
    proj(net, c, b, SNN_CONN_FIXED_PROBABILITY, 1.0)->conn.p = 0.3;
    proj(net, b, c, SNN_CONN_FIXED_PROBABILITY, 2.0)->conn.p = 0.3;
    struct snn_machine *m = machine();
    m->sdram_bytes = 17 * 30000;
    m->max_neurons = 100;
    ready(m);
    sweep(net, m, 0);
    snn_machine_free(m);
    snn_net_free(net);
}

/* ---- the verifier -------------------------------------------------------- */

static struct snn_map *verified_case(struct snn_net **netp, struct snn_machine **mp)
{
    struct snn_net *net = net_new(1.0, 0);
    uint32_t a = pop(net, "a", SNN_MODEL_LIF_CURR_EXP, 10);
    uint32_t b = pop(net, "b", SNN_MODEL_LIF_CURR_EXP, 7);
    proj(net, a, b, SNN_CONN_ALL_TO_ALL, 1.0);
    struct snn_machine *m = machine();
    ready(m);
    struct snn_map *map = map_new(net, m, 3);
    partition_ok(map);
    *netp = net;
    *mp = m;
    return map;
}

static void expect_invalid(struct snn_map *map, const char *text)
{
    struct sink s;
    sink_open(&s);
    assert_int_equal(snn__map_verify_partition(map, s.d), SNN_EINVAL);
    const char *got = sink_text(&s);
    if (!strstr(got, text))
        fprintf(stderr, "got: %s\nwanted: %s\n", got, text);
    assert_non_null(strstr(got, text));
    sink_close(&s);
}

static void test_verify_catches(void **state)
{
    (void)state;
    struct snn_net *net;
    struct snn_machine *m;
    struct snn_map *map = verified_case(&net, &m);

    /* an overlapping slice */
    map->slices[1].lo--;
    expect_invalid(map, "slice 1 (pop 0, lo 2, n 3) does not continue population 'a'");
    map->slices[1].lo++;
    /* a slice too large for the core */
    map->slices[0].n = 300;
    expect_invalid(map, "slice 0");
    map->slices[0].n = 3;
    /* a population not covered */
    map->slices[3].n = 0;
    expect_invalid(map, "slice 3");
    map->slices[3].n = 1;
    /* resources that do not match the edges */
    map->slices[5].use.dtcm_bytes++;
    expect_invalid(map, "slice 5 of 'b' says dtcm");
    map->slices[5].use.dtcm_bytes--;
    map->slices[5].use.events_per_step *= 1.5;
    expect_invalid(map, "slice 5 of 'b' says");
    map->slices[5].use.events_per_step /= 1.5;
    /* edges out of order, too many rows */
    struct snn_edge t = map->edges[0];
    map->edges[0] = map->edges[1];
    map->edges[1] = t;
    expect_invalid(map, "out of order");
    map->edges[1] = map->edges[0];
    map->edges[0] = t;
    map->edges[0].n_rows = 4;
    expect_invalid(map, "has 4 rows of 9 synapses from 3 neurons");
    map->edges[0].n_rows = 3;
    /* an edge no projection makes: b -> a */
    map->edges[map->n_edges - 1].pre = 4;
    map->edges[map->n_edges - 1].post = 0;
    expect_invalid(map, "");
    assert_int_equal(snn__map_verify_partition(map, NULL), SNN_EINVAL);

    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

static void test_verify_foreign_pair(void **state)
{
    (void)state;
    struct snn_net *net;
    struct snn_machine *m;
    struct snn_map *map = verified_case(&net, &m);
    /* the last pre slice of a (slice 3, a's [9,10)) gets an edge onto
     * itself, keeping its place in the order */
    uint64_t j = map->edge_first[3];
    map->edges[j].post = 3;
    expect_invalid(map, "joins 'a' to 'a', which no projection does");
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

static void test_dump(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0);
    uint32_t a = pop(net, "a", SNN_MODEL_LIF_CURR_EXP, 3);
    uint32_t b = pop(net, "b", SNN_MODEL_IF, 3);
    proj(net, a, b, SNN_CONN_ONE_TO_ONE, 1.0);
    struct snn_machine *m = machine();
    ready(m);
    struct snn_map *map = map_new(net, m, 2);
    partition_ok(map);
    char *got = dump_text(map);
    assert_string_equal(got,
                        "slices 4 edges 2\n"
                        "pop 0 'a' size 3 slices 0 2\n"
                        "pop 1 'b' size 3 slices 2 4\n"
                        "slice 0 pop 0 lo 0 n 2 dtcm 8360 ring 2 in_edges 0 sdram 0 "
                        "synapses 0 events 0 packets 0.02\n"
                        "slice 1 pop 0 lo 2 n 1 dtcm 8276 ring 2 in_edges 0 sdram 0 "
                        "synapses 0 events 0 packets 0.01\n"
                        "slice 2 pop 1 lo 0 n 2 dtcm 8312 ring 2 in_edges 1 sdram 32 "
                        "synapses 2 events 0.02 packets 0.02\n"
                        "slice 3 pop 1 lo 2 n 1 dtcm 8260 ring 2 in_edges 1 sdram 20 "
                        "synapses 1 events 0.01 packets 0.01\n"
                        "edge 0 2 rows 2 synapses 2\n"
                        "edge 1 3 rows 1 synapses 1\n");
    free(got);
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* ---- random networks against snn_expand ------------------------------ */

/* The edges recounted from every synapse snn_expand makes: a dense
 * (pre slice, post slice) table of synapses, and of rows through a
 * (pre neuron, post slice) mark. */
static void check_against_expand(const struct snn_map *map)
{
    const struct snn_net *net = map->net;
    uint32_t S = map->n_slices;
    uint64_t *syn = calloc((size_t)S * S, sizeof *syn);
    uint32_t *rows = calloc((size_t)S * S, sizeof *rows);
    assert_true(syn && rows);
    uint32_t total = 0;
    for (uint32_t p = 0; p < net->n_pops; p++)
        total += net->pops[p].size;
    /* mark[global pre neuron][post slice] */
    unsigned char *mark = calloc((size_t)total * S, 1);
    uint32_t *base = calloc(net->n_pops, sizeof *base);
    assert_true(mark && base);
    for (uint32_t p = 1; p < net->n_pops; p++)
        base[p] = base[p - 1] + net->pops[p - 1].size;
    for (uint32_t j = 0; j < net->n_projs; j++) {
        const struct snn_proj *pj = &net->projs[j];
        struct snn_synapses sy = {0};
        assert_int_equal(snn_expand(net, j, 0, UINT32_MAX, 0, UINT32_MAX, &sy, NULL), 0);
        for (uint64_t k = 0; k < sy.n; k++) {
            uint32_t a = map->pop_slice[pj->pre], b = map->pop_slice[pj->post];
            while (map->slices[a].lo + map->slices[a].n <= sy.pre[k])
                a++;
            while (map->slices[b].lo + map->slices[b].n <= sy.post[k])
                b++;
            syn[(size_t)a * S + b]++;
            unsigned char *mk = &mark[(size_t)(base[pj->pre] + sy.pre[k]) * S + b];
            if (!*mk) {
                *mk = 1;
                rows[(size_t)a * S + b]++;
            }
        }
        snn_synapses_free(&sy);
    }
    uint64_t j = 0;
    for (uint32_t a = 0; a < S; a++)
        for (uint32_t b = 0; b < S; b++) {
            if (!syn[(size_t)a * S + b])
                continue;
            check_edge(map, j, a, b, rows[(size_t)a * S + b], (uint32_t)syn[(size_t)a * S + b]);
            j++;
        }
    assert_int_equal(j, map->n_edges);
    free(syn);
    free(rows);
    free(mark);
    free(base);
}

static struct snn_net *random_net(void)
{
    struct snn_net *net = net_new(1.0, rnd(3) ? 0.0 : 50.0);
    uint32_t np = 2 + rnd(5);
    char name[16];
    for (uint32_t p = 0; p < np; p++) {
        snprintf(name, sizeof name, "p%u", p);
        enum snn_model model = rnd(4) ? SNN_MODEL_LIF_CURR_EXP : SNN_MODEL_SPIKE_SOURCE_POISSON;
        uint32_t q = pop(net, name, model, 1 + rnd(60));
        if (rnd(3) == 0 && model != SNN_MODEL_SPIKE_SOURCE_POISSON)
            net->pops[q].record = SNN_REC_SPIKES | SNN_REC_V;
    }
    uint32_t nj = rnd(8);
    for (uint32_t k = 0; k < nj; k++) {
        uint32_t a = rnd(np), b = rnd(np);
        if (net->pops[b].model == SNN_MODEL_SPIKE_SOURCE_POISSON)
            continue;
        static const enum snn_conn_kind kinds[] = {SNN_CONN_ALL_TO_ALL, SNN_CONN_ONE_TO_ONE,
                                                   SNN_CONN_FIXED_PROBABILITY,
                                                   SNN_CONN_FIXED_PROBABILITY};
        enum snn_conn_kind kind = kinds[rnd(4)];
        if (kind == SNN_CONN_ONE_TO_ONE && net->pops[a].size != net->pops[b].size)
            kind = SNN_CONN_ALL_TO_ALL;
        struct snn_proj *pj = proj(net, a, b, kind, 1.0 + rnd(20));
        pj->conn.p = 0.05 + 0.1 * rnd(5);
        pj->conn.allow_self = true;
    }
    return net;
}

static void test_random_against_expand(void **state)
{
    (void)state;
    rng_state = 0x9E3779B97F4A7C15ull;
    unsigned too_big = 0, fits = 0;
    for (int iter = 0; iter < 80; iter++) {
        struct snn_net *net = random_net();
        struct snn_machine *m = machine();
        /* small budgets now and then, so rounds happen */
        if (rnd(2)) {
            m->dtcm_bytes = 8192 + 1200 + rnd(3000);
            m->max_synaptic_events = 1 + rnd(4);
            m->sdram_bytes = 17 * (3000 + (uint64_t)rnd(5000));
        }
        ready(m);
        struct snn_map *map = map_new(net, m, rnd(3) ? 1 + rnd(20) : 0);
        map->opt.rate_hz = rnd(4) ? 10.0 : 300.0;
        struct sink s;
        sink_open(&s);
        int rc = snn_map_partition(map, s.d);
        if (rc == 0) {
            assert_int_equal(snn__map_verify_partition(map, s.d), 0);
            check_against_expand(map);
            /* deterministic: a second run dumps the same */
            struct snn_map *again = map_new(net, m, map->opt.neurons_per_core);
            again->opt.rate_hz = map->opt.rate_hz;
            assert_int_equal(snn_map_partition(again, NULL), 0);
            char *x = dump_text(map), *y = dump_text(again);
            assert_string_equal(x, y);
            free(x);
            free(y);
            map_free(again);
            fits++;
        } else {
            too_big++;
            assert_int_equal(rc, SNN_ETOOBIG);
            assert_non_null(strstr(sink_text(&s), "one neuron"));
        }
        sink_close(&s);
        map_free(map);
        snn_machine_free(m);
        snn_net_free(net);
    }
    /* both outcomes were exercised */
    assert_true(fits > 40 && too_big > 0);
}

/* Enough work for two counting threads (mapper/partition.c,
 * PARALLEL_WORK): the merged edges are exactly those of the synapses. */
static void test_two_threads(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0);
    char name[16];
    for (uint32_t p = 0; p < 8; p++) {
        snprintf(name, sizeof name, "p%u", p);
        pop(net, name, SNN_MODEL_LIF_CURR_EXP, 8192 - 300 * p);
    }
    for (uint32_t k = 0; k < 32; k++)
        proj(net, k % 8, (k * 3 + k / 8) % 8, SNN_CONN_FIXED_PROBABILITY, 1.0)->conn.p = 0.001;
    struct snn_machine *m = machine();
    ready(m);
    struct snn_map *map = map_new(net, m, 0);
    partition_ok(map);
    check_against_expand(map);
    map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
}

/* A larger fixed_probability network: twice the same dump. */
static void test_determinism(void **state)
{
    (void)state;
    struct snn_net *net = net_new(1.0, 0);
    char name[16];
    for (uint32_t p = 0; p < 6; p++) {
        snprintf(name, sizeof name, "p%u", p);
        pop(net, name, SNN_MODEL_LIF_CURR_EXP, 1000 + 300 * p);
    }
    for (uint32_t p = 0; p < 6; p++)
        for (uint32_t q = 0; q < 6; q++)
            if ((p + 2 * q) % 3 == 0)
                proj(net, p, q, SNN_CONN_FIXED_PROBABILITY, 1.0 + p)->conn.p = 0.01;
    struct snn_machine *m = machine();
    ready(m);
    struct snn_map *a = map_new(net, m, 0), *b = map_new(net, m, 0);
    partition_ok(a);
    partition_ok(b);
    char *x = dump_text(a), *y = dump_text(b);
    assert_string_equal(x, y);
    assert_true(a->n_edges > 100);
    free(x);
    free(y);
    map_free(a);
    map_free(b);
    snn_machine_free(m);
    snn_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_small),
        cmocka_unit_test(test_one_to_one_diagonal),
        cmocka_unit_test(test_all_to_all_pairs),
        cmocka_unit_test(test_from_list_exact),
        cmocka_unit_test(test_dtcm_long_delays),
        cmocka_unit_test(test_dtcm_key_table_round),
        cmocka_unit_test(test_dtcm_key_table_model),
        cmocka_unit_test(test_sdram_round),
        cmocka_unit_test(test_events_round),
        cmocka_unit_test(test_array_rate),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_verify_catches),
        cmocka_unit_test(test_verify_foreign_pair),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_random_against_expand),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_monitor.c: the monitor (firmware/monitor.c) and its
 * protocol (abi/monitor.h).
 *
 * A small chip (5 cores: the monitor on 0, core 3 dead, 1 KiB of DTCM
 * each, 4 KiB of SDRAM, 8 router entries; every memory between guard
 * words) takes INFO, WRITE and READ of every space, ROUTES with its
 * checks, a hand-made spike-source image LOADed, STARTed, ticked and
 * read back, and a request that must produce every status code.  A
 * corrupt-request sweep (every prefix of valid requests, random words)
 * must give an error and change no memory; random well-framed requests
 * may do anything but write outside the memories.
 *
 * Then a real network: synfire is mapped onto spinn3, every core's image
 * is written into one monitor per chip with many WRITE commands, the
 * routing tables with WRITE ROUTER and ROUTES, each core LOADed and
 * STARTed; the test ticks the RUNNING cores in lock-step beside kernels
 * loaded directly from the same images, and every step's spikes, the
 * counters STATUS gives and the recordings READ gives must be equal.
 *
 * With SNN_MONITOR_CORPUS=DIR in the environment it writes the fuzzer's
 * seeds there (tests/fuzz/corpus/monitor/, the format of
 * tests/fuzz/fuzz_monitor.c, whose chip is the small chip here).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "abi/monitor.h"
#include "firmware/monitor.h"
#include "frontend/frontend.h"
#include "mapper/mapper.h"
#include "target/target.h"

#define GUARD 16u
#define GUARD_WORD 0xA5C3F00Du

/* ---- the small chip -------------------------------------------------------- */

#define N_CORES 5u
#define DEAD_CORE 3u
#define DTCM_BYTES 1024u
#define SDRAM_BYTES 4096u
#define ROUTES 8u
#define PRESENT ((1u << 1) | (1u << 2) | (1u << 4))

/* A memory with GUARD guard words on each side. */
struct guarded {
    uint32_t *base; /* GUARD + words + GUARD */
    uint32_t words;
};

static uint32_t *guarded_new(struct guarded *g, uint32_t words)
{
    g->words = words;
    g->base = malloc((size_t)(words + 2 * GUARD) * 4);
    assert_non_null(g->base);
    for (uint32_t k = 0; k < words + 2 * GUARD; k++)
        g->base[k] = GUARD_WORD;
    return g->base + GUARD;
}

static void guarded_check(const struct guarded *g)
{
    for (uint32_t k = 0; k < GUARD; k++) {
        assert_int_equal(g->base[k], GUARD_WORD);
        assert_int_equal(g->base[GUARD + g->words + k], GUARD_WORD);
    }
}

struct chip {
    struct snn_monitor mon;
    struct guarded mem[N_CORES + 3];
    uint32_t n_mem;
    uint32_t *dtcm[N_CORES];
    uint32_t *sdram;
    struct snn_image_route *staging, *table;
    uint32_t req[SNN_MON_MAX_WORDS + 64];
    struct guarded resp_g;
    uint32_t *resp;
    uint32_t resp_words;
};

static struct chip *chip_new(void)
{
    struct chip *c = calloc(1, sizeof *c);
    assert_non_null(c);
    struct snn_monitor_platform p = {.n_cores = N_CORES, .monitor_core = 0, .present = {PRESENT, 0}};
    for (uint32_t k = 0; k < N_CORES; k++) {
        if (!((PRESENT >> k) & 1u))
            continue;
        c->dtcm[k] = guarded_new(&c->mem[c->n_mem++], DTCM_BYTES / 4);
        memset(c->dtcm[k], 0, DTCM_BYTES);
        p.dtcm[k] = c->dtcm[k];
        p.dtcm_bytes[k] = DTCM_BYTES;
    }
    c->sdram = guarded_new(&c->mem[c->n_mem++], SDRAM_BYTES / 4);
    memset(c->sdram, 0, SDRAM_BYTES);
    c->staging = (struct snn_image_route *)guarded_new(&c->mem[c->n_mem++], ROUTES * 4);
    c->table = (struct snn_image_route *)guarded_new(&c->mem[c->n_mem++], ROUTES * 4);
    c->resp = guarded_new(&c->resp_g, SNN_MON_MAX_WORDS);
    p.sdram = c->sdram;
    p.sdram_bytes = SDRAM_BYTES;
    p.staging = c->staging;
    p.table = c->table;
    p.router_entries = ROUTES;
    assert_int_equal(snn_monitor_init(&c->mon, &p), SNN_MON_OK);
    return c;
}

static void chip_check(const struct chip *c)
{
    for (uint32_t k = 0; k < c->n_mem; k++)
        guarded_check(&c->mem[k]);
    guarded_check(&c->resp_g);
}

static void chip_free(struct chip *c)
{
    chip_check(c);
    for (uint32_t k = 0; k < c->n_mem; k++)
        free(c->mem[k].base);
    free(c->resp_g.base);
    free(c);
}

/* Sends req_words words of c->req; checks the response's frame. */
static uint32_t send_raw(struct chip *c, uint32_t req_words, uint32_t cap)
{
    uint32_t n = snn_monitor_handle(&c->mon, c->req, req_words, c->resp, cap);
    assert_true(n >= SNN_MON_HEADER_WORDS && n <= cap);
    assert_int_equal(n, SNN_MON_HEADER_WORDS + c->resp[3]);
    assert_true(c->resp[0] <= SNN_MON_STATUS_LAST);
    if (c->resp[0] != SNN_MON_OK)
        assert_int_equal(c->resp[3], 0);
    c->resp_words = n;
    chip_check(c);
    return c->resp[0];
}

/* A request: op, core, three arguments, a payload; its status. */
static uint32_t cmd(struct chip *c, uint32_t op, uint32_t core, uint32_t a0, uint32_t a1,
                    uint32_t a2, const uint32_t *payload, uint32_t n)
{
    static uint32_t seq = 100;
    const uint32_t h[8] = {op, ++seq, core, n, a0, a1, a2, 0};
    memcpy(c->req, h, sizeof h);
    if (n)
        memcpy(c->req + 8, payload, (size_t)n * 4);
    uint32_t st = send_raw(c, 8 + n, SNN_MON_MAX_WORDS);
    assert_int_equal(c->resp[1], seq);
    assert_int_equal(c->resp[2], op);
    return st;
}

#define V(c, i) ((c)->resp[4 + (i)])
#define P(c) ((c)->resp + 8)

/* The hand-made image: two spike_source_array neurons, key 0x100;
 * neuron 0 fires in steps 1 and 3, neuron 1 in step 2; spikes recorded
 * for 8 steps.  DTCM: header, two cursors (152 bytes).  SDRAM: three
 * spike times, then the recording (8 words): 44 bytes, 12 stored. */
#define SRC_KEY 0x100u
static void source_image(uint32_t dtcm[38], uint32_t sdram[3])
{
    struct snn_core_header h = {0};
    h.version = SNN_CORE_IMAGE_VERSION;
    h.model = FX_MODEL_SPIKE_SOURCE_ARRAY;
    h.n = 2;
    h.key = SRC_KEY;
    h.n_steps = 8;
    h.flags = SNN_CORE_RECORD_SPIKES;
    h.params_off = 136;
    h.state_off = h.keys_off = h.dtcm_image_bytes = 152;
    h.times_off = 0;
    h.times_bytes = 12;
    h.spikes_off = 12;
    h.spikes_bytes = 32;
    h.v_off = 44;
    h.sdram_bytes = 44;
    memcpy(dtcm, &h, sizeof h);
    const uint32_t cursors[4] = {0, 2, 2, 3};
    memcpy(dtcm + 34, cursors, sizeof cursors);
    const uint32_t times[3] = {1, 3, 2};
    memcpy(sdram, times, sizeof times);
}

/* Writes the source image into core `core`'s DTCM and its block at
 * block_off; LOADs it. */
static uint32_t load_source(struct chip *c, uint32_t core, uint32_t block_off)
{
    uint32_t dt[38], sd[3];
    source_image(dt, sd);
    assert_int_equal(cmd(c, SNN_MON_WRITE, core, SNN_MON_DTCM, 0, 0, dt, 38), SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_SDRAM, block_off, 0, sd, 3), SNN_MON_OK);
    return cmd(c, SNN_MON_LOAD, core, block_off, 44, 12, NULL, 0);
}

static void test_info(void **state)
{
    (void)state;
    struct chip *c = chip_new();
    assert_int_equal(cmd(c, SNN_MON_INFO, 0, 0, 0, 0, NULL, 0), SNN_MON_OK);
    assert_int_equal(c->resp[3], sizeof(struct snn_mon_info) / 4);
    struct snn_mon_info in;
    memcpy(&in, P(c), sizeof in);
    assert_int_equal(in.version, SNN_MON_VERSION);
    assert_int_equal(in.core_image_version, SNN_CORE_IMAGE_VERSION);
    assert_int_equal(in.n_cores, N_CORES);
    assert_int_equal(in.monitor_core, 0);
    assert_int_equal(in.cores_lo, PRESENT);
    assert_int_equal(in.cores_hi, 0);
    assert_int_equal(in.dtcm_bytes, DTCM_BYTES);
    assert_int_equal(in.sdram_bytes, SDRAM_BYTES);
    assert_int_equal(in.router_entries, ROUTES);
    assert_int_equal(in.routes_committed, 0);
    assert_int_equal(in.max_payload_words, SNN_MON_MAX_PAYLOAD_WORDS);
    chip_free(c);
}

static void test_init_checks(void **state)
{
    (void)state;
    struct snn_monitor *m = malloc(sizeof *m);
    uint32_t mem[64];
    struct snn_image_route rt[2];
    struct snn_monitor_platform p = {.n_cores = 4, .monitor_core = 0, .present = {0x6, 0},
                                     .sdram = mem, .sdram_bytes = 64, .staging = rt, .table = rt + 1,
                                     .router_entries = 1};
    p.dtcm[1] = p.dtcm[2] = mem;
    p.dtcm_bytes[1] = p.dtcm_bytes[2] = 64;
    assert_int_equal(snn_monitor_init(m, &p), SNN_MON_OK);
    p.present[0] = 0x17; /* core 4 past the chip */
    assert_int_equal(snn_monitor_init(m, &p), SNN_MON_BAD_CORE);
    p.present[0] = 0x7; /* the monitor's bit is ignored */
    assert_int_equal(snn_monitor_init(m, &p), SNN_MON_OK);
    assert_int_equal(m->present[0], 0x6);
    p.present[0] = 0xE; /* core 3 without DTCM */
    assert_int_equal(snn_monitor_init(m, &p), SNN_MON_BAD_CORE);
    p.present[0] = 0x6;
    p.dtcm_bytes[2] = 62;
    assert_int_equal(snn_monitor_init(m, &p), SNN_MON_BAD_ALIGN);
    p.dtcm_bytes[2] = 64;
    p.monitor_core = 4;
    assert_int_equal(snn_monitor_init(m, &p), SNN_MON_BAD_CORE);
    p.monitor_core = 0;
    p.n_cores = SNN_MON_MAX_CORES + 1;
    assert_int_equal(snn_monitor_init(m, &p), SNN_MON_BAD_CORE);
    p.n_cores = 4;
    p.sdram = NULL;
    assert_int_equal(snn_monitor_init(m, &p), SNN_MON_OUT_OF_RANGE);
    free(m);
}

static void test_write_read(void **state)
{
    (void)state;
    struct chip *c = chip_new();
    uint32_t w[256];
    for (uint32_t k = 0; k < 256; k++)
        w[k] = 0x1000u * k + 7;
    /* DTCM of cores 1, 2 and 4, the last words of each */
    for (uint32_t core = 1; core < N_CORES; core++) {
        if (core == DEAD_CORE)
            continue;
        assert_int_equal(cmd(c, SNN_MON_WRITE, core, SNN_MON_DTCM, DTCM_BYTES - 40, 0, w + core,
                             10),
                         SNN_MON_OK);
        assert_int_equal(V(c, 0), 10);
        assert_memory_equal(c->dtcm[core] + DTCM_BYTES / 4 - 10, w + core, 40);
    }
    for (uint32_t core = 1; core < N_CORES; core++) {
        if (core == DEAD_CORE)
            continue;
        assert_int_equal(cmd(c, SNN_MON_READ, core, SNN_MON_DTCM, DTCM_BYTES - 40, 10, NULL, 0),
                         SNN_MON_OK);
        assert_int_equal(c->resp[3], 10);
        assert_memory_equal(P(c), w + core, 40);
    }
    /* SDRAM: a full payload at the very end */
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_SDRAM, SDRAM_BYTES - 1024, 0, w, 256),
                     SNN_MON_OK);
    assert_memory_equal(c->sdram + SDRAM_BYTES / 4 - 256, w, 1024);
    assert_int_equal(cmd(c, SNN_MON_READ, 0, SNN_MON_SDRAM, SDRAM_BYTES - 1024, 256, NULL, 0),
                     SNN_MON_OK);
    assert_memory_equal(P(c), w, 1024);
    /* zero words: fine anywhere inside, even at the end */
    assert_int_equal(cmd(c, SNN_MON_READ, 0, SNN_MON_SDRAM, SDRAM_BYTES, 0, NULL, 0), SNN_MON_OK);
    /* the router's staging table, then the committed one */
    const struct snn_image_route r[2] = {{0x100, 0xFFFFFF00u, 1u << 6, 0}, {0x200, 0xFFFFFF00u, 0x3, 0}};
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_ROUTER, 16, 0, (const uint32_t *)r, 8),
                     SNN_MON_OK);
    assert_memory_equal(&c->staging[1], r, sizeof r);
    assert_int_equal(cmd(c, SNN_MON_READ, 0, SNN_MON_ROUTER, 16, 8, NULL, 0), SNN_MON_OK);
    assert_memory_equal(P(c), r, sizeof r);
    assert_int_equal(cmd(c, SNN_MON_READ, 0, SNN_MON_TABLE, 0, 1, NULL, 0), SNN_MON_OUT_OF_RANGE);
    assert_int_equal(V(c, 0), 0);
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_ROUTER, 0, 0, (const uint32_t *)r, 4),
                     SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_ROUTES, 0, 3, 0, 0, NULL, 0), SNN_MON_OK);
    assert_int_equal(V(c, 0), 3);
    assert_int_equal(cmd(c, SNN_MON_READ, 0, SNN_MON_TABLE, 16, 8, NULL, 0), SNN_MON_OK);
    assert_memory_equal(P(c), r, sizeof r);
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_TABLE, 0, 0, w, 1), SNN_MON_BAD_SPACE);
    /* one buffer for the request and its response, as the monitor core has */
    uint32_t buf[SNN_MON_MAX_WORDS];
    const uint32_t hw[8] = {SNN_MON_WRITE, 41, 0, 100, SNN_MON_SDRAM, 400, 0, 0};
    memcpy(buf, hw, sizeof hw);
    memcpy(buf + 8, w + 50, 400);
    assert_int_equal(snn_monitor_handle(&c->mon, buf, 108, buf, SNN_MON_MAX_WORDS), 8);
    assert_int_equal(buf[0], SNN_MON_OK);
    assert_int_equal(buf[1], 41);
    assert_memory_equal(c->sdram + 100, w + 50, 400);
    const uint32_t hr[8] = {SNN_MON_READ, 42, 0, 0, SNN_MON_SDRAM, 400, 100, 0};
    memcpy(buf, hr, sizeof hr);
    assert_int_equal(snn_monitor_handle(&c->mon, buf, 8, buf, SNN_MON_MAX_WORDS), 108);
    assert_int_equal(buf[0], SNN_MON_OK);
    assert_int_equal(buf[1], 42);
    assert_int_equal(buf[2], SNN_MON_READ);
    assert_memory_equal(buf + 8, w + 50, 400);
    chip_free(c);
}

static void test_routes(void **state)
{
    (void)state;
    struct chip *c = chip_new();
    struct snn_image_route r[ROUTES];
    for (uint32_t k = 0; k < ROUTES; k++)
        r[k] = (struct snn_image_route){k << 8, 0xFFFFFF00u, (1u << 6) << (k % N_CORES), 0};
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_ROUTER, 0, 0, (const uint32_t *)r,
                         ROUTES * 4),
                     SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_ROUTES, 0, ROUTES + 1, 0, 0, NULL, 0), SNN_MON_OUT_OF_RANGE);
    assert_int_equal(V(c, 0), ROUTES);
    assert_int_equal(cmd(c, SNN_MON_ROUTES, 0, ROUTES, 0, 0, NULL, 0), SNN_MON_OK);
    uint32_t n;
    const struct snn_image_route *t = snn_monitor_routes(&c->mon, &n);
    assert_int_equal(n, ROUTES);
    assert_memory_equal(t, r, sizeof r);
    /* a key bit outside its mask can never match: staging takes it (the
     * check is at commit), ROUTES refuses entry 5 and keeps the table */
    struct snn_image_route bad = {0x1FF, 0xFFFFFF00u, 1, 0};
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_ROUTER, 5 * 16, 0, (const uint32_t *)&bad,
                         4),
                     SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_ROUTES, 0, ROUTES, 0, 0, NULL, 0), SNN_MON_BAD_ROUTE);
    assert_int_equal(V(c, 0), 5);
    assert_int_equal(V(c, 1), 1);
    t = snn_monitor_routes(&c->mon, &n);
    assert_int_equal(n, ROUTES);
    assert_memory_equal(t, r, sizeof r);
    /* ... but the entries before it commit */
    assert_int_equal(cmd(c, SNN_MON_ROUTES, 0, 5, 0, 0, NULL, 0), SNN_MON_OK);
    snn_monitor_routes(&c->mon, &n);
    assert_int_equal(n, 5);
    assert_int_equal(cmd(c, SNN_MON_INFO, 0, 0, 0, 0, NULL, 0), SNN_MON_OK);
    assert_int_equal(P(c)[9], 5); /* routes_committed */
    chip_free(c);
}

/* ROUTES's checks entry by entry; routes to the chip's cores and links only. */
static void test_route_checks(void **state)
{
    (void)state;
    struct chip *c = chip_new();
    struct snn_image_route r[3] = {{0x100, 0xFFFFFF00u, 1u << 6, 0},
                                   {0x1FF, 0xFFFFFF00u, 1, 0},
                                   {0x300, 0xFFFFFF00u, 1u << (6 + N_CORES), 0}};
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_ROUTER, 0, 0, (const uint32_t *)r, 12),
                     SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_ROUTES, 0, 1, 0, 0, NULL, 0), SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_ROUTES, 0, 2, 0, 0, NULL, 0), SNN_MON_BAD_ROUTE);
    assert_int_equal(V(c, 0), 1);
    assert_int_equal(V(c, 1), 1);
    uint32_t n;
    snn_monitor_routes(&c->mon, &n);
    assert_int_equal(n, 1); /* the refused commit changed nothing */
    r[1].key = 0x200;
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_ROUTER, 16, 0, (const uint32_t *)&r[1], 4),
                     SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_ROUTES, 0, 2, 0, 0, NULL, 0), SNN_MON_OK);
    /* a route to core 5 of a 5-core chip */
    assert_int_equal(cmd(c, SNN_MON_ROUTES, 0, 3, 0, 0, NULL, 0), SNN_MON_BAD_ROUTE);
    assert_int_equal(V(c, 0), 2);
    assert_int_equal(V(c, 1), 2);
    /* the last core and every link are fine; core bits in the high word too */
    r[2].route_lo = 0x3F | 1u << (6 + N_CORES - 1);
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_ROUTER, 32, 0, (const uint32_t *)&r[2], 4),
                     SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_ROUTES, 0, 3, 0, 0, NULL, 0), SNN_MON_OK);
    r[2].route_hi = 1;
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_ROUTER, 32, 0, (const uint32_t *)&r[2], 4),
                     SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_ROUTES, 0, 3, 0, 0, NULL, 0), SNN_MON_BAD_ROUTE);
    /* an empty table is a table */
    assert_int_equal(cmd(c, SNN_MON_ROUTES, 0, 0, 0, 0, NULL, 0), SNN_MON_OK);
    snn_monitor_routes(&c->mon, &n);
    assert_int_equal(n, 0);
    chip_free(c);
}

static void test_load_run(void **state)
{
    (void)state;
    struct chip *c = chip_new();
    assert_int_equal(load_source(c, 2, 64), SNN_MON_OK);
    assert_int_equal(V(c, 0), 152); /* the ring right after the image */
    assert_int_equal(V(c, 1), (DTCM_BYTES - 152) / 4);
    assert_int_equal(snn_monitor_state(&c->mon, 2), SNN_MON_LOADED);
    assert_non_null(snn_monitor_core(&c->mon, 2));
    assert_null(snn_monitor_core(&c->mon, 1));
    uint32_t run[2];
    snn_monitor_running(&c->mon, run);
    assert_int_equal(run[0], 0);
    assert_int_equal(cmd(c, SNN_MON_START, 0, 1u << 2, 0, 0, NULL, 0), SNN_MON_OK);
    assert_int_equal(V(c, 0), 1u << 2);
    snn_monitor_running(&c->mon, run);
    assert_int_equal(run[0], 1u << 2);
    assert_int_equal(run[1], 0);
    /* the platform ticks: 0: -, 1: n0, 2: n1 + injected n0, 3: n0 */
    struct snn_core *k = snn_monitor_core(&c->mon, 2);
    uint32_t out[2], expect_n[5] = {0, 1, 2, 1, 0};
    for (uint32_t t = 0; t < 5; t++) {
        if (t == 2) {
            const uint32_t inj[2] = {0, 7}; /* 7: past the slice, ignored */
            assert_int_equal(cmd(c, SNN_MON_INJECT, 2, 0, 0, 0, inj, 2), SNN_MON_OK);
            assert_int_equal(V(c, 0), 2);
        }
        assert_int_equal(snn_core_tick(k, out), expect_n[t]);
    }
    assert_int_equal(cmd(c, SNN_MON_STATUS, 2, 0, 0, 0, NULL, 0), SNN_MON_OK);
    struct snn_mon_core_status st;
    memcpy(&st, P(c), sizeof st);
    assert_int_equal(st.state, SNN_MON_RUNNING);
    assert_int_equal(st.now, 4);
    assert_int_equal(st.steps, 5);
    assert_int_equal(st.spikes, 4);
    assert_int_equal(st.block_off, 64);
    assert_int_equal(st.block_bytes, 44);
    assert_int_equal(st.ring_off, 152);
    assert_int_equal(st.dtcm_bytes, DTCM_BYTES);
    assert_int_equal(V(c, 0), SNN_MON_RUNNING);
    assert_int_equal(V(c, 1), 4);
    /* the recording: step 1 n0, step 2 n0 and n1, step 3 n0 */
    assert_int_equal(cmd(c, SNN_MON_READ, 0, SNN_MON_SDRAM, 64 + 12, 8, NULL, 0), SNN_MON_OK);
    const uint32_t rec[8] = {0, 1, 3, 1, 0, 0, 0, 0};
    assert_memory_equal(P(c), rec, sizeof rec);
    /* STOP, START, RESET */
    assert_int_equal(cmd(c, SNN_MON_STOP, 0, 1u << 2, 0, 0, NULL, 0), SNN_MON_OK);
    assert_int_equal(snn_monitor_state(&c->mon, 2), SNN_MON_STOPPED);
    assert_int_equal(V(c, 0), 0);
    assert_int_equal(cmd(c, SNN_MON_START, 0, 1u << 2, 0, 0, NULL, 0), SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_START, 0, 1u << 2, 0, 0, NULL, 0), SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_RESET, 0, 1u << 2, 0, 0, NULL, 0), SNN_MON_OK);
    assert_int_equal(snn_monitor_state(&c->mon, 2), SNN_MON_EMPTY);
    assert_null(snn_monitor_core(&c->mon, 2));
    assert_int_equal(cmd(c, SNN_MON_STATUS, 2, 0, 0, 0, NULL, 0), SNN_MON_OK);
    memcpy(&st, P(c), sizeof st);
    assert_int_equal(st.state, SNN_MON_EMPTY);
    assert_int_equal(st.steps, 0);
    assert_int_equal(st.now, 0xFFFFFFFFu);
    /* after RESET the DTCM is writable and the core loads again; the
     * recording region is zeroed by LOAD */
    assert_int_equal(load_source(c, 2, 64), SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_READ, 0, SNN_MON_SDRAM, 64 + 12, 8, NULL, 0), SNN_MON_OK);
    const uint32_t zero[8] = {0};
    assert_memory_equal(P(c), zero, sizeof zero);
    chip_free(c);
}

/* A request that must give `status`, for every status code. */
static void test_statuses(void **state)
{
    (void)state;
    struct chip *c = chip_new();
    uint32_t w[300] = {0};
    int seen[SNN_MON_STATUS_LAST + 1] = {0};
#define EXPECT(st, call)                                                                           \
    do {                                                                                           \
        assert_int_equal((call), (st));                                                            \
        seen[st] = 1;                                                                              \
    } while (0)
    /* lengths: a truncated header, n_words past the end, or short of it */
    for (uint32_t n = 0; n < 8; n++) {
        const uint32_t h[8] = {SNN_MON_INFO, 77, 0, 0, 0, 0, 0, 0};
        memcpy(c->req, h, sizeof h);
        EXPECT(SNN_MON_BAD_LENGTH, send_raw(c, n, SNN_MON_MAX_WORDS));
        assert_int_equal(c->resp[1], n >= 2 ? 77 : 0);
        assert_int_equal(c->resp[2], n >= 1 ? SNN_MON_INFO : 0);
        assert_int_equal(V(c, 1), n);
    }
    const uint32_t h5[8] = {SNN_MON_WRITE, 1, 1, 5, SNN_MON_DTCM, 0, 0, 0};
    memcpy(c->req, h5, sizeof h5);
    EXPECT(SNN_MON_BAD_LENGTH, send_raw(c, 8 + 3, SNN_MON_MAX_WORDS));
    EXPECT(SNN_MON_BAD_LENGTH, send_raw(c, 8 + 6, SNN_MON_MAX_WORDS));
    EXPECT(SNN_MON_BAD_LENGTH, cmd(c, SNN_MON_INFO, 0, 0, 0, 0, w, 1)); /* INFO takes none */
    EXPECT(SNN_MON_BAD_LENGTH, cmd(c, SNN_MON_LOAD, 1, 0, 0, 0, w, 2));
    /* too big: a payload above 256 words, said or asked */
    EXPECT(SNN_MON_TOO_BIG, cmd(c, SNN_MON_WRITE, 0, SNN_MON_SDRAM, 0, 0, w, 257));
    assert_int_equal(V(c, 0), SNN_MON_MAX_PAYLOAD_WORDS);
    EXPECT(SNN_MON_TOO_BIG, cmd(c, SNN_MON_READ, 0, SNN_MON_SDRAM, 0, 257, NULL, 0));
    const uint32_t hb[8] = {SNN_MON_WRITE, 1, 0, 0xFFFFFFFFu, SNN_MON_SDRAM, 0, 0, 0};
    memcpy(c->req, hb, sizeof hb);
    EXPECT(SNN_MON_TOO_BIG, send_raw(c, 8, SNN_MON_MAX_WORDS));
    /* ... or a response larger than the buffer given */
    const uint32_t hr[8] = {SNN_MON_READ, 1, 0, 0, SNN_MON_SDRAM, 0, 16, 0};
    memcpy(c->req, hr, sizeof hr);
    EXPECT(SNN_MON_TOO_BIG, send_raw(c, 8, 8 + 15));
    assert_int_equal(V(c, 0), 15);
    assert_int_equal(send_raw(c, 8, 8 + 16), SNN_MON_OK);
    const uint32_t hinfo[8] = {SNN_MON_INFO, 1, 0, 0, 0, 0, 0, 0};
    memcpy(c->req, hinfo, sizeof hinfo);
    EXPECT(SNN_MON_TOO_BIG, send_raw(c, 8, 8 + 11));
    const uint32_t hs[8] = {SNN_MON_STATUS, 1, 1, 0, 0, 0, 0, 0};
    memcpy(c->req, hs, sizeof hs);
    EXPECT(SNN_MON_TOO_BIG, send_raw(c, 8, 8 + 15));
    /* a buffer without room for a header gets nothing */
    c->resp[0] = 0x12345678u;
    assert_int_equal(snn_monitor_handle(&c->mon, c->req, 8, c->resp, 7), 0);
    assert_int_equal(c->resp[0], 0x12345678u);
    /* ops */
    EXPECT(SNN_MON_BAD_OP, cmd(c, 0, 0, 0, 0, 0, NULL, 0));
    EXPECT(SNN_MON_BAD_OP, cmd(c, SNN_MON_OP_LAST + 1, 0, 0, 0, 0, NULL, 0));
    EXPECT(SNN_MON_BAD_OP, cmd(c, 0xFFFFFFFFu, 0, 0, 0, 0, NULL, 0));
    assert_int_equal(V(c, 0), 0xFFFFFFFFu);
    /* cores: the monitor's, a dead one, past the chip, far past it */
    const uint32_t bad_cores[] = {0, DEAD_CORE, N_CORES, 63, 64, 0xFFFFFFFFu};
    for (size_t k = 0; k < sizeof bad_cores / sizeof *bad_cores; k++) {
        uint32_t core = bad_cores[k];
        EXPECT(SNN_MON_BAD_CORE, cmd(c, SNN_MON_WRITE, core, SNN_MON_DTCM, 0, 0, w, 1));
        assert_int_equal(V(c, 0), core);
        EXPECT(SNN_MON_BAD_CORE, cmd(c, SNN_MON_READ, core, SNN_MON_DTCM, 0, 1, NULL, 0));
        EXPECT(SNN_MON_BAD_CORE, cmd(c, SNN_MON_LOAD, core, 0, 0, 0, NULL, 0));
        EXPECT(SNN_MON_BAD_CORE, cmd(c, SNN_MON_STATUS, core, 0, 0, 0, NULL, 0));
        EXPECT(SNN_MON_BAD_CORE, cmd(c, SNN_MON_INJECT, core, 0, 0, 0, w, 1));
        if (core < 64) {
            uint32_t lo = core < 32 ? 1u << core : 0, hi = core >= 32 ? 1u << (core - 32) : 0;
            EXPECT(SNN_MON_BAD_CORE, cmd(c, SNN_MON_START, 0, lo, hi, 0, NULL, 0));
            assert_int_equal(V(c, 0), core);
            EXPECT(SNN_MON_BAD_CORE, cmd(c, SNN_MON_STOP, 0, lo, hi, 0, NULL, 0));
            EXPECT(SNN_MON_BAD_CORE, cmd(c, SNN_MON_RESET, 0, lo | 2u, hi, 0, NULL, 0));
        }
    }
    /* spaces */
    EXPECT(SNN_MON_BAD_SPACE, cmd(c, SNN_MON_READ, 1, 0, 0, 1, NULL, 0));
    EXPECT(SNN_MON_BAD_SPACE, cmd(c, SNN_MON_READ, 1, 5, 0, 1, NULL, 0));
    EXPECT(SNN_MON_BAD_SPACE, cmd(c, SNN_MON_WRITE, 0, SNN_MON_TABLE, 0, 0, w, 0));
    /* ranges: past the end, and offsets near 2^32 that would wrap */
    EXPECT(SNN_MON_OUT_OF_RANGE, cmd(c, SNN_MON_WRITE, 1, SNN_MON_DTCM, DTCM_BYTES - 4, 0, w, 2));
    assert_int_equal(V(c, 0), DTCM_BYTES);
    EXPECT(SNN_MON_OUT_OF_RANGE, cmd(c, SNN_MON_READ, 1, SNN_MON_DTCM, DTCM_BYTES, 1, NULL, 0));
    EXPECT(SNN_MON_OUT_OF_RANGE, cmd(c, SNN_MON_WRITE, 0, SNN_MON_SDRAM, 0xFFFFFFFCu, 0, w, 2));
    EXPECT(SNN_MON_OUT_OF_RANGE, cmd(c, SNN_MON_READ, 0, SNN_MON_SDRAM, 0xFFFFFF00u, 256, NULL, 0));
    EXPECT(SNN_MON_OUT_OF_RANGE, cmd(c, SNN_MON_WRITE, 0, SNN_MON_ROUTER, ROUTES * 16, 0, w, 1));
    EXPECT(SNN_MON_OUT_OF_RANGE, cmd(c, SNN_MON_LOAD, 1, 0xFFFFFFFCu, 8, 0, NULL, 0));
    EXPECT(SNN_MON_OUT_OF_RANGE, cmd(c, SNN_MON_LOAD, 1, 0, 8, 12, NULL, 0));
    EXPECT(SNN_MON_OUT_OF_RANGE, cmd(c, SNN_MON_ROUTES, 0, 0xFFFFFFFFu, 0, 0, NULL, 0));
    /* alignment */
    EXPECT(SNN_MON_BAD_ALIGN, cmd(c, SNN_MON_WRITE, 1, SNN_MON_DTCM, 2, 0, w, 1));
    assert_int_equal(V(c, 0), 2);
    EXPECT(SNN_MON_BAD_ALIGN, cmd(c, SNN_MON_READ, 0, SNN_MON_SDRAM, 0xFFFFFFFFu, 1, NULL, 0));
    EXPECT(SNN_MON_BAD_ALIGN, cmd(c, SNN_MON_LOAD, 1, 2, 44, 12, NULL, 0));
    EXPECT(SNN_MON_BAD_ALIGN, cmd(c, SNN_MON_LOAD, 1, 0, 42, 12, NULL, 0));
    /* states: START, STOP, INJECT before LOAD */
    EXPECT(SNN_MON_BAD_STATE, cmd(c, SNN_MON_START, 0, 1u << 1, 0, 0, NULL, 0));
    assert_int_equal(V(c, 0), SNN_MON_EMPTY);
    assert_int_equal(V(c, 1), 1);
    EXPECT(SNN_MON_BAD_STATE, cmd(c, SNN_MON_STOP, 0, 1u << 1, 0, 0, NULL, 0));
    EXPECT(SNN_MON_BAD_STATE, cmd(c, SNN_MON_INJECT, 1, 0, 0, 0, w, 1));
    /* refused: garbage (version 0, then a model that is none) */
    memset(c->dtcm[1], 0, DTCM_BYTES);
    EXPECT(SNN_MON_REFUSED, cmd(c, SNN_MON_LOAD, 1, 0, 64, 0, NULL, 0));
    assert_int_equal(V(c, 0), SNN_CORE_BAD_VERSION);
    assert_int_equal(snn_monitor_state(&c->mon, 1), SNN_MON_EMPTY);
    c->dtcm[1][0] = SNN_CORE_IMAGE_VERSION;
    c->dtcm[1][1] = 99;
    EXPECT(SNN_MON_REFUSED, cmd(c, SNN_MON_LOAD, 1, 0, 64, 0, NULL, 0));
    assert_int_equal(V(c, 0), SNN_CORE_BAD_MODEL);
    /* an image whose size says more than the DTCM holds */
    uint32_t dt[38], sd[3];
    source_image(dt, sd);
    dt[offsetof(struct snn_core_header, dtcm_image_bytes) / 4] = 0xFFFFFFFFu;
    memcpy(c->dtcm[1], dt, sizeof dt);
    EXPECT(SNN_MON_REFUSED, cmd(c, SNN_MON_LOAD, 1, 0, 64, 0, NULL, 0));
    assert_int_equal(V(c, 0), SNN_CORE_BAD_SIZE);
    /* states of a loaded and a running core */
    assert_int_equal(load_source(c, 1, 0), SNN_MON_OK);
    EXPECT(SNN_MON_BAD_STATE, cmd(c, SNN_MON_WRITE, 1, SNN_MON_DTCM, 0, 0, w, 1));
    assert_int_equal(V(c, 0), SNN_MON_LOADED);
    EXPECT(SNN_MON_BAD_STATE, cmd(c, SNN_MON_LOAD, 1, 0, 44, 12, NULL, 0));
    EXPECT(SNN_MON_BAD_STATE, cmd(c, SNN_MON_STOP, 0, 1u << 1, 0, 0, NULL, 0));
    assert_int_equal(cmd(c, SNN_MON_START, 0, 1u << 1, 0, 0, NULL, 0), SNN_MON_OK);
    EXPECT(SNN_MON_BAD_STATE, cmd(c, SNN_MON_WRITE, 1, SNN_MON_DTCM, 0, 0, w, 1));
    assert_int_equal(V(c, 0), SNN_MON_RUNNING);
    assert_int_equal(V(c, 1), 1);
    /* a mask is all or nothing: core 2 is EMPTY, so core 1 keeps running */
    EXPECT(SNN_MON_BAD_STATE, cmd(c, SNN_MON_STOP, 0, (1u << 1) | (1u << 2), 0, 0, NULL, 0));
    assert_int_equal(V(c, 1), 2);
    assert_int_equal(snn_monitor_state(&c->mon, 1), SNN_MON_RUNNING);
    /* overlap: a second block on the first, a write into a running block */
    uint32_t dt2[38], sd2[3];
    source_image(dt2, sd2);
    assert_int_equal(cmd(c, SNN_MON_WRITE, 2, SNN_MON_DTCM, 0, 0, dt2, 38), SNN_MON_OK);
    EXPECT(SNN_MON_OVERLAP, cmd(c, SNN_MON_LOAD, 2, 40, 44, 0, NULL, 0));
    assert_int_equal(V(c, 0), 1);
    EXPECT(SNN_MON_OVERLAP, cmd(c, SNN_MON_WRITE, 0, SNN_MON_SDRAM, 40, 0, w, 2));
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_SDRAM, 44, 0, w, 2), SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_LOAD, 2, 44, 0, 0, NULL, 0), SNN_MON_REFUSED); /* no block */
    /* a stopped core's block may be written again */
    assert_int_equal(cmd(c, SNN_MON_STOP, 0, 1u << 1, 0, 0, NULL, 0), SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_SDRAM, 40, 0, w, 2), SNN_MON_OK);
    /* a route that can never match */
    const struct snn_image_route bad = {1, 0xFFFFFF00u, 0, 0};
    assert_int_equal(cmd(c, SNN_MON_WRITE, 0, SNN_MON_ROUTER, 0, 0, (const uint32_t *)&bad, 4),
                     SNN_MON_OK);
    EXPECT(SNN_MON_BAD_ROUTE, cmd(c, SNN_MON_ROUTES, 0, 1, 0, 0, NULL, 0));
    for (uint32_t s = 1; s <= SNN_MON_STATUS_LAST; s++)
        if (!seen[s])
            fail_msg("status %u was never produced", s);
#undef EXPECT
    chip_free(c);
}

/* ---- the sweep ------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* A copy of every memory of the chip (guards included). */
static uint32_t *snapshot(const struct chip *c, size_t *words)
{
    size_t n = 0;
    for (uint32_t k = 0; k < c->n_mem; k++)
        n += c->mem[k].words + 2 * GUARD;
    uint32_t *s = malloc(n * 4), *p = s;
    assert_non_null(s);
    for (uint32_t k = 0; k < c->n_mem; k++) {
        memcpy(p, c->mem[k].base, (size_t)(c->mem[k].words + 2 * GUARD) * 4);
        p += c->mem[k].words + 2 * GUARD;
    }
    *words = n;
    return s;
}

static void same_as(const struct chip *c, const uint32_t *s)
{
    for (uint32_t k = 0; k < c->n_mem; k++) {
        assert_memory_equal(s, c->mem[k].base, (size_t)(c->mem[k].words + 2 * GUARD) * 4);
        s += c->mem[k].words + 2 * GUARD;
    }
}

static void test_sweep(void **state)
{
    (void)state;
    struct chip *c = chip_new();
    assert_int_equal(load_source(c, 4, 256), SNN_MON_OK);
    assert_int_equal(cmd(c, SNN_MON_START, 0, 1u << 4, 0, 0, NULL, 0), SNN_MON_OK);
    /* every proper prefix of valid requests of every op: an error, and no
     * memory changed */
    uint32_t pay[40];
    for (uint32_t k = 0; k < 40; k++)
        pay[k] = 0xC0DE0000u + k;
    const uint32_t valid[][8] = {
        {SNN_MON_INFO, 1, 0, 0, 0, 0, 0, 0},
        {SNN_MON_WRITE, 2, 1, 40, SNN_MON_DTCM, 16, 0, 0},
        {SNN_MON_WRITE, 3, 0, 40, SNN_MON_SDRAM, 1024, 0, 0},
        {SNN_MON_WRITE, 4, 0, 8, SNN_MON_ROUTER, 0, 0, 0},
        {SNN_MON_READ, 5, 1, 0, SNN_MON_DTCM, 0, 4, 0},
        {SNN_MON_ROUTES, 6, 0, 0, 0, 0, 0, 0},
        {SNN_MON_STATUS, 7, 4, 0, 0, 0, 0, 0},
        {SNN_MON_STOP, 8, 0, 0, 1u << 4, 0, 0, 0},
        {SNN_MON_INJECT, 9, 4, 1, 0, 0, 0, 0},
    };
    size_t words;
    uint32_t *before = snapshot(c, &words);
    for (size_t v = 0; v < sizeof valid / sizeof *valid; v++) {
        uint32_t len = 8 + valid[v][3];
        for (uint32_t n = 0; n < len; n++) {
            memcpy(c->req, valid[v], sizeof valid[v]);
            memcpy(c->req + 8, pay, sizeof pay);
            assert_int_not_equal(send_raw(c, n, SNN_MON_MAX_WORDS), SNN_MON_OK);
            same_as(c, before);
        }
    }
    assert_int_equal(snn_monitor_state(&c->mon, 4), SNN_MON_RUNNING);
    /* random words: errors, nothing written */
    for (uint32_t it = 0; it < 20000; it++) {
        uint32_t n = rnd32() % (SNN_MON_MAX_WORDS + 16);
        for (uint32_t k = 0; k < n; k++)
            c->req[k] = rnd32();
        assert_int_not_equal(send_raw(c, n, SNN_MON_MAX_WORDS), SNN_MON_OK);
    }
    same_as(c, before);
    free(before);
    /* random framed requests with small arguments: anything may happen
     * except a write outside the memories (the guards) or a bad frame */
    for (uint32_t it = 0; it < 50000; it++) {
        uint32_t n = rnd32() % 40;
        c->req[0] = 1 + rnd32() % (SNN_MON_OP_LAST + 1);
        c->req[1] = it;
        c->req[2] = rnd32() % 8;
        c->req[3] = n;
        c->req[4] = rnd32() % 6;
        c->req[5] = (rnd32() % 2 ? DTCM_BYTES : SDRAM_BYTES) - 4 * (rnd32() % 64);
        c->req[6] = rnd32() % 80;
        c->req[7] = rnd32() % 64;
        if (c->req[0] == SNN_MON_ROUTES || c->req[0] >= SNN_MON_START)
            c->req[4] = rnd32() % 64;
        for (uint32_t k = 0; k < n; k++)
            c->req[8 + k] = rnd32() % 4 ? rnd32() % 512 : rnd32();
        send_raw(c, 8 + n, 8 + rnd32() % (SNN_MON_MAX_PAYLOAD_WORDS + 1));
        assert_int_equal(c->resp[1], it);
        uint32_t out[256], run[2];
        snn_monitor_running(&c->mon, run);
        for (uint32_t core = 0; core < N_CORES; core++)
            if ((run[0] >> core) & 1u)
                snn_core_tick(snn_monitor_core(&c->mon, core), out);
        chip_check(c);
    }
    chip_free(c);
}

/* ---- a real network through one monitor per chip ----------------------------- */

struct board {
    struct snn_net *net;
    struct snn_machine *m;
    struct snn_map *map;
    struct snn_monitor *mon;   /* by chip */
    uint32_t **dtcm, **sdram;  /* the monitors' memories: [chip * cores + core], [chip] */
    uint32_t *sdram_bytes;
    struct snn_image_route *staging, *table;
    /* the reference: kernels loaded directly */
    struct snn_core *ref;
    uint32_t **rdtcm, **rsdram;
    int32_t **rring;
};

static uint32_t req_buf[SNN_MON_MAX_WORDS], resp_buf[SNN_MON_MAX_WORDS];

static uint32_t mcmd(struct snn_monitor *mon, uint32_t op, uint32_t core, uint32_t a0, uint32_t a1,
                     uint32_t a2, const uint32_t *payload, uint32_t n)
{
    const uint32_t h[8] = {op, 1, core, n, a0, a1, a2, 0};
    memcpy(req_buf, h, sizeof h);
    if (n)
        memcpy(req_buf + 8, payload, (size_t)n * 4);
    uint32_t got = snn_monitor_handle(mon, req_buf, 8 + n, resp_buf, SNN_MON_MAX_WORDS);
    assert_int_equal(got, 8 + resp_buf[3]);
    return resp_buf[0];
}

/* Writes n words at byte offset off of a space, `chunk` words a command. */
static void write_all(struct snn_monitor *mon, uint32_t core, uint32_t space, uint32_t off,
                      const uint32_t *w, uint32_t n, uint32_t chunk)
{
    for (uint32_t k = 0; k < n; k += chunk) {
        uint32_t m = n - k < chunk ? n - k : chunk;
        assert_int_equal(mcmd(mon, SNN_MON_WRITE, core, space, off + 4 * k, 0, w + k, m),
                         SNN_MON_OK);
    }
}

static void board_new(struct board *b, const char *example, const char *target, uint32_t npc)
{
    memset(b, 0, sizeof *b);
    char path[512];
    snprintf(path, sizeof path, "%s/examples/%s", SNN_SOURCE_DIR, example);
    assert_int_equal(snn_frontend_load(path, NULL, &b->net), 0);
    assert_int_equal(snn_target_load(target, NULL, &b->m), 0);
    struct snn_map_options o;
    snn_map_options_init(&o);
    o.neurons_per_core = npc;
    assert_int_equal(snn_map_new(b->net, b->m, &o, &b->map), 0);
    assert_int_equal(snn_map_run(b->map, SNN_PASS_LAYOUT, 0, NULL, NULL), 0);
    const struct snn_machine *m = b->m;
    uint32_t C = m->width * m->height, K = m->cores, S = b->map->n_slices;
    assert_true(K <= SNN_MON_MAX_CORES && m->monitor_cores == 1);
    b->mon = calloc(C, sizeof *b->mon);
    b->dtcm = calloc((size_t)C * K, sizeof *b->dtcm);
    b->sdram = calloc(C, sizeof *b->sdram);
    b->sdram_bytes = calloc(C, sizeof *b->sdram_bytes);
    b->staging = calloc((size_t)C * m->router_entries, sizeof *b->staging);
    b->table = calloc((size_t)C * m->router_entries, sizeof *b->table);
    assert_non_null(b->table);
    /* each chip's SDRAM: its blocks, laid out from 0 */
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_slice *sl = &b->map->slices[s];
        const struct snn_core_image *im = &b->map->images[s];
        uint32_t chip = sl->y * m->width + sl->x;
        uint64_t end = im->chip_offset + im->sdram_bytes;
        assert_true(end < UINT32_MAX);
        if (end > b->sdram_bytes[chip])
            b->sdram_bytes[chip] = (uint32_t)end;
    }
    /* the part of a core's DTCM images and rings get: all but the
     * kernel's own data, of which the header is part (docs/core-image.md) */
    uint32_t dtcm_bytes = m->dtcm_bytes - 8192 + (uint32_t)sizeof(struct snn_core_header);
    for (uint32_t chip = 0; chip < C; chip++) {
        struct snn_monitor_platform p = {.n_cores = K, .monitor_core = 0};
        uint64_t app = m->chip[chip].app_cores;
        p.present[0] = (uint32_t)app;
        p.present[1] = (uint32_t)(app >> 32);
        for (uint32_t k = 0; k < K; k++)
            if ((app >> k) & 1u) {
                b->dtcm[chip * K + k] = calloc(dtcm_bytes / 4, 4);
                p.dtcm[k] = b->dtcm[chip * K + k];
                p.dtcm_bytes[k] = dtcm_bytes;
            }
        b->sdram[chip] = calloc(b->sdram_bytes[chip] / 4 + 1, 4);
        p.sdram = b->sdram[chip];
        p.sdram_bytes = (b->sdram_bytes[chip] + 3) & ~3u;
        p.staging = b->staging + (size_t)chip * m->router_entries;
        p.table = b->table + (size_t)chip * m->router_entries;
        p.router_entries = m->router_entries;
        assert_int_equal(snn_monitor_init(&b->mon[chip], &p), SNN_MON_OK);
    }
    /* the host's load: INFO, images, routes, LOAD, START */
    for (uint32_t chip = 0; chip < C; chip++) {
        assert_int_equal(mcmd(&b->mon[chip], SNN_MON_INFO, 0, 0, 0, 0, NULL, 0), SNN_MON_OK);
        struct snn_mon_info in;
        memcpy(&in, resp_buf + 8, sizeof in);
        assert_int_equal(in.n_cores, K);
        assert_int_equal(in.router_entries, m->router_entries);
    }
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_slice *sl = &b->map->slices[s];
        const struct snn_core_image *im = &b->map->images[s];
        struct snn_monitor *mon = &b->mon[sl->y * m->width + sl->x];
        uint32_t chunk = 1 + (s * 37) % SNN_MON_MAX_PAYLOAD_WORDS; /* many sizes */
        write_all(mon, sl->core, SNN_MON_DTCM, 0, im->dtcm, im->dtcm_words, chunk);
        write_all(mon, 0, SNN_MON_SDRAM, (uint32_t)im->chip_offset, im->sdram, im->sdram_words,
                  SNN_MON_MAX_PAYLOAD_WORDS);
    }
    for (uint32_t chip = 0; chip < C; chip++) {
        const struct snn_rtable *t = &b->map->tables[chip];
        for (uint32_t k = 0; k < t->n; k++) {
            const struct snn_image_route r = {t->e[k].key, t->e[k].mask, (uint32_t)t->e[k].route,
                                              (uint32_t)(t->e[k].route >> 32)};
            assert_int_equal(mcmd(&b->mon[chip], SNN_MON_WRITE, 0, SNN_MON_ROUTER, 16 * k, 0,
                                  (const uint32_t *)&r, 4),
                             SNN_MON_OK);
        }
        assert_int_equal(mcmd(&b->mon[chip], SNN_MON_ROUTES, 0, t->n, 0, 0, NULL, 0), SNN_MON_OK);
    }
    uint32_t mask[64][2] = {{0}};
    assert_true(C <= 64);
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_slice *sl = &b->map->slices[s];
        const struct snn_core_image *im = &b->map->images[s];
        uint32_t chip = sl->y * m->width + sl->x;
        uint32_t st = mcmd(&b->mon[chip], SNN_MON_LOAD, sl->core, (uint32_t)im->chip_offset,
                           im->sdram_bytes, im->sdram_words * 4, NULL, 0);
        if (st != SNN_MON_OK)
            fail_msg("slice %u: LOAD gave status %u (detail %u)", s, st, resp_buf[4]);
        mask[chip][sl->core / 32] |= 1u << (sl->core % 32);
    }
    for (uint32_t chip = 0; chip < C; chip++)
        assert_int_equal(mcmd(&b->mon[chip], SNN_MON_START, 0, mask[chip][0], mask[chip][1], 0,
                              NULL, 0),
                         SNN_MON_OK);
    /* the reference */
    b->ref = calloc(S, sizeof *b->ref);
    b->rdtcm = calloc(S, sizeof *b->rdtcm);
    b->rsdram = calloc(S, sizeof *b->rsdram);
    b->rring = calloc(S, sizeof *b->rring);
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_core_image *im = &b->map->images[s];
        const struct snn_slice *sl = &b->map->slices[s];
        b->rdtcm[s] = malloc((size_t)im->dtcm_words * 4);
        b->rsdram[s] = calloc(im->sdram_bytes / 4 + 1, 4);
        size_t rw = 2 * (size_t)sl->use.ring_slots * sl->n + 1;
        b->rring[s] = malloc(rw * 4);
        memcpy(b->rdtcm[s], im->dtcm, (size_t)im->dtcm_words * 4);
        memcpy(b->rsdram[s], im->sdram, (size_t)im->sdram_words * 4);
        assert_int_equal(snn_core_load(&b->ref[s], b->rdtcm[s], im->dtcm_words * 4, b->rsdram[s],
                                       im->sdram_bytes, b->rring[s], (uint32_t)rw),
                         SNN_CORE_OK);
    }
}

static void board_free(struct board *b)
{
    uint32_t C = b->m->width * b->m->height, K = b->m->cores;
    for (uint32_t k = 0; k < C * K; k++)
        free(b->dtcm[k]);
    for (uint32_t chip = 0; chip < C; chip++)
        free(b->sdram[chip]);
    for (uint32_t s = 0; s < b->map->n_slices; s++) {
        free(b->rdtcm[s]);
        free(b->rsdram[s]);
        free(b->rring[s]);
    }
    free(b->dtcm);
    free(b->sdram);
    free(b->sdram_bytes);
    free(b->staging);
    free(b->table);
    free(b->mon);
    free(b->ref);
    free(b->rdtcm);
    free(b->rsdram);
    free(b->rring);
    snn_map_free(b->map);
    snn_machine_free(b->m);
    snn_net_free(b->net);
}

/* Reads n words at byte offset off of chip SDRAM through READ. */
static void read_all(struct snn_monitor *mon, uint32_t off, uint32_t *out, uint32_t n)
{
    for (uint32_t k = 0; k < n; k += SNN_MON_MAX_PAYLOAD_WORDS) {
        uint32_t m = n - k < SNN_MON_MAX_PAYLOAD_WORDS ? n - k : SNN_MON_MAX_PAYLOAD_WORDS;
        assert_int_equal(mcmd(mon, SNN_MON_READ, 0, SNN_MON_SDRAM, off + 4 * k, m, NULL, 0),
                         SNN_MON_OK);
        memcpy(out + k, resp_buf + 8, (size_t)m * 4);
    }
}

static void test_real_network(void **state)
{
    (void)state;
    struct board b;
    board_new(&b, "synfire.yaml", "spinn3", 32);
    const struct snn_machine *m = b.m;
    uint32_t S = b.map->n_slices, C = m->width * m->height;
    const uint32_t steps = 600;
    uint32_t *keys = malloc((size_t)S * 256 * 4), out[256], rout[256];
    uint64_t total = 0;
    for (uint32_t chip = 0; chip < C; chip++) {
        /* the committed table is the mapper's */
        uint32_t n;
        const struct snn_image_route *t = snn_monitor_routes(&b.mon[chip], &n);
        assert_int_equal(n, b.map->tables[chip].n);
        for (uint32_t k = 0; k < n; k++) {
            assert_int_equal(t[k].key, b.map->tables[chip].e[k].key);
            assert_int_equal(t[k].mask, b.map->tables[chip].e[k].mask);
            assert_int_equal((uint64_t)t[k].route_hi << 32 | t[k].route_lo,
                             b.map->tables[chip].e[k].route);
        }
    }
    for (uint32_t t = 0; t < steps; t++) {
        uint32_t nk = 0;
        for (uint32_t s = 0; s < S; s++) {
            const struct snn_slice *sl = &b.map->slices[s];
            struct snn_monitor *mon = &b.mon[sl->y * m->width + sl->x];
            uint32_t run[2];
            snn_monitor_running(mon, run);
            assert_true((run[sl->core / 32] >> (sl->core % 32)) & 1u);
            struct snn_core *k = snn_monitor_core(mon, sl->core);
            assert_non_null(k);
            uint32_t nf = snn_core_tick(k, out), rnf = snn_core_tick(&b.ref[s], rout);
            if (nf != rnf)
                fail_msg("step %u slice %u: %u spikes through the monitor, %u directly", t, s, nf,
                         rnf);
            assert_memory_equal(out, rout, (size_t)nf * 4);
            memcpy(keys + nk, out, (size_t)nf * 4);
            nk += nf;
        }
        total += nk;
        for (uint32_t k = 0; k < nk; k++)
            for (uint32_t s = 0; s < S; s++) {
                const struct snn_slice *sl = &b.map->slices[s];
                snn_core_packet(snn_monitor_core(&b.mon[sl->y * m->width + sl->x], sl->core),
                                keys[k]);
                snn_core_packet(&b.ref[s], keys[k]);
            }
    }
    assert_true(total > 100); /* the chain fired */
    /* counters through STATUS, recordings through READ */
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_slice *sl = &b.map->slices[s];
        const struct snn_core_image *im = &b.map->images[s];
        struct snn_monitor *mon = &b.mon[sl->y * m->width + sl->x];
        assert_int_equal(mcmd(mon, SNN_MON_STATUS, sl->core, 0, 0, 0, NULL, 0), SNN_MON_OK);
        struct snn_mon_core_status st;
        memcpy(&st, resp_buf + 8, sizeof st);
        const struct snn_core_counters *rc = &b.ref[s].c;
        assert_int_equal(st.state, SNN_MON_RUNNING);
        assert_int_equal(st.now, steps - 1);
        assert_int_equal(st.packets, rc->packets);
        assert_int_equal(st.unknown, rc->unknown);
        assert_int_equal(st.empty, rc->empty);
        assert_int_equal(st.rows, rc->rows);
        assert_int_equal(st.synapses, rc->synapses);
        assert_int_equal(st.spikes, rc->spikes);
        assert_int_equal(st.steps, steps);
        assert_int_equal(st.queue_max, rc->queue_max);
        assert_int_equal(st.saturations, rc->saturations);
        assert_int_equal(st.reserved2, 0);
        assert_int_equal(st.block_off, im->chip_offset);
        assert_int_equal(st.block_bytes, im->sdram_bytes);
        const struct snn_core_header *h = &b.ref[s].h;
        uint32_t *got = malloc(h->spikes_bytes + h->v_bytes + 4);
        read_all(mon, (uint32_t)im->chip_offset + h->spikes_off, got, h->spikes_bytes / 4);
        assert_memory_equal(got, b.rsdram[s] + h->spikes_off / 4, h->spikes_bytes);
        read_all(mon, (uint32_t)im->chip_offset + h->v_off, got, h->v_bytes / 4);
        assert_memory_equal(got, b.rsdram[s] + h->v_off / 4, h->v_bytes);
        free(got);
    }
    /* STOP every chip: nothing runs */
    for (uint32_t chip = 0; chip < C; chip++) {
        uint32_t run[2];
        snn_monitor_running(&b.mon[chip], run);
        assert_int_equal(mcmd(&b.mon[chip], SNN_MON_STOP, 0, run[0], run[1], 0, NULL, 0),
                         SNN_MON_OK);
        snn_monitor_running(&b.mon[chip], run);
        assert_int_equal(run[0] | run[1], 0);
    }
    free(keys);
    board_free(&b);
}

/* ---- the fuzzer's seeds ---------------------------------------------------- */

/* A record of tests/fuzz/fuzz_monitor.c's input: a control word (the
 * words given, bit 31: tick the running cores afterwards), then them. */
static void seed_rec(FILE *f, uint32_t tick, const uint32_t *h, const uint32_t *payload)
{
    uint32_t n = 8 + h[3], ctrl = n | (tick ? 1u << 31 : 0);
    assert_int_equal(fwrite(&ctrl, 4, 1, f), 1);
    assert_int_equal(fwrite(h, 4, 8, f), 8);
    if (h[3])
        assert_int_equal(fwrite(payload, 4, h[3], f), h[3]);
}

static FILE *seed_open(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    return f;
}

static void write_corpus(const char *dir)
{
    uint32_t dt[38], sd[3];
    source_image(dt, sd);
    FILE *f = seed_open(dir, "load_run.bin");
    const uint32_t info[8] = {SNN_MON_INFO, 1, 0, 0, 0, 0, 0, 0};
    const uint32_t wd[8] = {SNN_MON_WRITE, 2, 1, 38, SNN_MON_DTCM, 0, 0, 0};
    const uint32_t ws[8] = {SNN_MON_WRITE, 3, 0, 3, SNN_MON_SDRAM, 64, 0, 0};
    const uint32_t ld[8] = {SNN_MON_LOAD, 4, 1, 0, 64, 44, 12, 0};
    const uint32_t go[8] = {SNN_MON_START, 5, 0, 0, 1u << 1, 0, 0, 0};
    const uint32_t st[8] = {SNN_MON_STATUS, 6, 1, 0, 0, 0, 0, 0};
    const uint32_t rd[8] = {SNN_MON_READ, 7, 0, 0, SNN_MON_SDRAM, 76, 8, 0};
    const uint32_t stop[8] = {SNN_MON_STOP, 8, 0, 0, 1u << 1, 0, 0, 0};
    const uint32_t rs[8] = {SNN_MON_RESET, 9, 0, 0, 1u << 1, 0, 0, 0};
    const uint32_t inj[8] = {SNN_MON_INJECT, 10, 1, 2, 0, 0, 0, 0}, injw[2] = {0, 1};
    seed_rec(f, 0, info, NULL);
    seed_rec(f, 0, wd, dt);
    seed_rec(f, 0, ws, sd);
    seed_rec(f, 0, ld, NULL);
    seed_rec(f, 0, go, NULL);
    for (int k = 0; k < 4; k++)
        seed_rec(f, 1, st, NULL);
    seed_rec(f, 1, inj, injw);
    seed_rec(f, 0, rd, NULL);
    seed_rec(f, 0, stop, NULL);
    seed_rec(f, 0, rs, NULL);
    fclose(f);
    f = seed_open(dir, "routes.bin");
    const struct snn_image_route r[2] = {{0x100, 0xFFFFFF00u, 1u << 7, 0}, {0x200, 0xFFFFFF00u, 0x3, 0}};
    const uint32_t wr[8] = {SNN_MON_WRITE, 1, 0, 8, SNN_MON_ROUTER, 0, 0, 0};
    const uint32_t co[8] = {SNN_MON_ROUTES, 2, 0, 0, 2, 0, 0, 0};
    const uint32_t rt[8] = {SNN_MON_READ, 3, 0, 0, SNN_MON_TABLE, 0, 8, 0};
    seed_rec(f, 0, wr, (const uint32_t *)r);
    seed_rec(f, 0, co, NULL);
    seed_rec(f, 0, rt, NULL);
    fclose(f);
    f = seed_open(dir, "errors.bin");
    const uint32_t bad_core[8] = {SNN_MON_WRITE, 1, 3, 1, SNN_MON_DTCM, 0, 0, 0}, one = 1;
    const uint32_t wrap[8] = {SNN_MON_READ, 2, 0, 0, SNN_MON_SDRAM, 0xFFFFFFFCu, 2, 0};
    const uint32_t early[8] = {SNN_MON_START, 3, 0, 0, 1u << 2, 0, 0, 0};
    const uint32_t garbage[8] = {SNN_MON_LOAD, 4, 2, 0, 0, 64, 0, 0};
    seed_rec(f, 0, bad_core, &one);
    seed_rec(f, 0, wrap, NULL);
    seed_rec(f, 0, early, NULL);
    seed_rec(f, 0, garbage, NULL);
    uint32_t ctrl = 5;
    assert_int_equal(fwrite(&ctrl, 4, 1, f), 1);
    assert_int_equal(fwrite(info, 4, 5, f), 5); /* a truncated header */
    fclose(f);
}

int main(void)
{
    const char *corpus = getenv("SNN_MONITOR_CORPUS");
    if (corpus)
        write_corpus(corpus);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_init_checks),
        cmocka_unit_test(test_write_read),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_route_checks),
        cmocka_unit_test(test_load_run),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_real_network),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

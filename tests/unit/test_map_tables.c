/*
 * tests/unit/test_map_tables.c: the tables pass (mapper/tables.c) and the
 * table checker (mapper/check.c, snn__map_verify_tables).
 *
 * Maps are built by hand (slices, places, keys, edges, trees), so these
 * tests need only the keys pass, which is tested on its own.  Covered:
 * exact entries and dump for a hand-built case, the default-route
 * omission, the checker accepting the generated tables, tables merged by
 * population, and correct overlapping splits; the checker catching a
 * missing entry, a wrong route, a default-routed packet caught by a
 * broader entry, a packet dropped at its source, a loop, two routes
 * meeting, a link off the machine and a dead link, a partial delivery,
 * malformed entries, and the report bound; a differential test against
 * a key-by-key walk on random small cases with randomly broken tables;
 * determinism; allocation failures; and the checker's speed on a
 * synthetic network (SNN_MAP_BIG=1 for the benchmark's size).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/ir.h"
#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"
#include "target/target.h"
#include "map_testlib.h"

/* ---- helpers --------------------------------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static struct snn_machine *machine(uint32_t w, uint32_t h, bool wrap, uint32_t cores,
                                   const struct snn_link_ref *dead, size_t n_dead)
{
    struct snn_machine *m = snn_machine_new();
    assert_non_null(m);
    m->name = "test";
    m->width = w;
    m->height = h;
    m->wrap = wrap;
    m->cores = cores;
    if (n_dead) {
        m->dead_links = snn_arena_array(m->arena, n_dead, sizeof *dead);
        memcpy(m->dead_links, dead, n_dead * sizeof *dead);
        m->n_dead_links = n_dead;
    }
    assert_int_equal(snn_machine_verify(m, NULL), 0);
    assert_int_equal(snn_machine_index(m), 0);
    return m;
}

struct fix {
    struct snn_net *net;
    struct snn_map *map;
};

/* Populations "a", "b", ... (n_slices[p] slices each of n neurons), all
 * slices on chip (0,0) core 1 until placed. */
static struct fix make(const struct snn_machine *m, uint32_t n_pops, const uint32_t *n_slices,
                       uint32_t n)
{
    struct fix f;
    f.net = snn_net_new();
    assert_non_null(f.net);
    uint32_t total = 0;
    for (uint32_t p = 0; p < n_pops; p++) {
        char name[16];
        if (p < 26)
            snprintf(name, sizeof name, "%c", 'a' + p);
        else
            snprintf(name, sizeof name, "p%u", p);
        assert_non_null(snn_net_add_pop(f.net, name, (enum snn_model)0, 1));
        total += n_slices[p];
    }
    /* By hand rather than snn_map_new, so the test needs no other pass. */
    struct snn_map *map = calloc(1, sizeof *map);
    assert_non_null(map);
    map->arena = snn_arena_new();
    assert_non_null(map->arena);
    map->net = f.net;
    map->m = m;
    map->n_slices = total;
    map->slices = snn_arena_array(map->arena, total + 1, sizeof *map->slices);
    map->pop_slice = snn_arena_array(map->arena, n_pops + 1, sizeof *map->pop_slice);
    map->edge_first = snn_arena_array(map->arena, total + 2, sizeof *map->edge_first);
    map->hop_first = snn_arena_array(map->arena, total + 2, sizeof *map->hop_first);
    assert_non_null(map->hop_first);
    uint32_t s = 0;
    for (uint32_t p = 0; p < n_pops; p++) {
        map->pop_slice[p] = s;
        for (uint32_t i = 0; i < n_slices[p]; i++, s++)
            map->slices[s] = (struct snn_slice){.pop = p, .lo = i * n, .n = n, .core = 1};
    }
    map->pop_slice[n_pops] = s;
    f.map = map;
    return f;
}

static void unmake(struct fix *f)
{
    snn_arena_free(f->map->arena);
    free(f->map);
    snn_net_free(f->net);
}

static void place(struct snn_map *map, uint32_t s, uint16_t x, uint16_t y, uint8_t core)
{
    map->slices[s].x = x;
    map->slices[s].y = y;
    map->slices[s].core = core;
}

static void set_key(struct snn_map *map, uint32_t s, uint32_t key, uint32_t mask)
{
    map->slices[s].key = key;
    map->slices[s].mask = mask;
}

/* A hop as written in the tests: chip (x, y), arriving link, route. */
struct h {
    uint32_t s;
    uint16_t x, y;
    int8_t in;
    uint64_t route;
};

/* The trees from hops listed slice by slice, in tree order. */
static void set_hops(struct snn_map *map, const struct h *hs, size_t n)
{
    map->hops = snn_arena_array(map->arena, n + 1, sizeof *map->hops);
    assert_non_null(map->hops);
    map->n_hops = n;
    size_t i = 0;
    for (uint32_t s = 0; s < map->n_slices; s++) {
        map->hop_first[s] = i;
        while (i < n && hs[i].s == s) {
            map->hops[i] = (struct snn_hop){.chip = snn__map_chip(map, hs[i].x, hs[i].y),
                                            .in_link = hs[i].in, .route = hs[i].route};
            i++;
        }
    }
    assert_int_equal(i, n);
    map->hop_first[map->n_slices] = n;
}

#define L(l) SNN_ROUTE_LINK(l)
#define C(c) SNN_ROUTE_CORE(c)
enum { E, NE, N, W, SW, S };

/* Trees built by shortest paths (diagonal first, then straight) from each
 * slice's chip to every chip of its edges' post slices, merged where they
 * meet; the post slices' cores on the chips they are on. */
static void auto_trees(struct snn_map *map)
{
    const struct snn_machine *m = map->m;
    size_t grid = (size_t)m->width * m->height;
    uint32_t *at = malloc(grid * sizeof *at), *stamp = calloc(grid, sizeof *stamp);
    size_t cap = 1024, n = 0;
    struct snn_hop *hops = malloc(cap * sizeof *hops);
    assert_true(at && stamp && hops);
    for (uint32_t s = 0; s < map->n_slices; s++) {
        map->hop_first[s] = n;
        if (map->edge_first[s] == map->edge_first[s + 1])
            continue;
        const struct snn_slice *a = &map->slices[s];
        uint32_t home = snn__map_chip(map, a->x, a->y);
        if (n + grid + 1 > cap) {
            cap = 2 * cap + grid;
            hops = realloc(hops, cap * sizeof *hops);
            assert_non_null(hops);
        }
        size_t first = n;
        hops[n] = (struct snn_hop){.chip = home, .in_link = -1, .route = 0};
        stamp[home] = s + 1;
        at[home] = (uint32_t)n++;
        for (uint64_t e = map->edge_first[s]; e < map->edge_first[s + 1]; e++) {
            const struct snn_slice *b = &map->slices[map->edges[e].post];
            uint32_t x = a->x, y = a->y;
            int dx, dy;
            snn_machine_distance(m, x, y, b->x, b->y, &dx, &dy);
            if (!m->wrap) {
                dx = (int)b->x - (int)x;
                dy = (int)b->y - (int)y;
            }
            while (dx || dy) {
                unsigned l = dx > 0 && dy > 0 ? NE : dx < 0 && dy < 0 ? SW : dx > 0 ? E
                             : dx < 0 ? W : dy > 0 ? N : S;
                int sx, sy;
                snn_link_delta(l, &sx, &sy);
                dx -= sx;
                dy -= sy;
                uint32_t nx, ny;
                assert_true(snn_machine_neighbour(m, x, y, l, &nx, &ny));
                uint32_t c = snn__map_chip(map, x, y), nc = snn__map_chip(map, nx, ny);
                if (stamp[nc] != s + 1) {
                    hops[at[c]].route |= L(l);
                    hops[n] = (struct snn_hop){.chip = nc, .in_link = (int8_t)snn_link_opposite(l)};
                    stamp[nc] = s + 1;
                    at[nc] = (uint32_t)n++;
                }
                x = nx;
                y = ny;
            }
            hops[at[snn__map_chip(map, x, y)]].route |= C(b->core);
        }
        assert_true(n - first <= grid);
    }
    map->hop_first[map->n_slices] = n;
    map->hops = snn_arena_array(map->arena, n + 1, sizeof *map->hops);
    assert_non_null(map->hops);
    memcpy(map->hops, hops, n * sizeof *hops);
    map->n_hops = n;
    free(hops);
    free(at);
    free(stamp);
}

/* Replaces chip (x, y)'s table by n entries. */
static void set_table(struct snn_map *map, uint32_t x, uint32_t y, const struct snn_rentry *e,
                      uint32_t n)
{
    struct snn_rtable *t = &map->tables[snn__map_chip(map, x, y)];
    t->e = snn_arena_array(map->arena, n + 1, sizeof *e);
    assert_non_null(t->e);
    if (n)
        memcpy(t->e, e, n * sizeof *e);
    t->n = n;
}

/* A copy of every table in fresh arrays (to restore after mutating). */
static struct snn_rtable *save_tables(const struct snn_map *map)
{
    size_t grid = (size_t)map->m->width * map->m->height;
    struct snn_rtable *t = snn_arena_array(map->arena, grid, sizeof *t);
    assert_non_null(t);
    for (size_t c = 0; c < grid; c++) {
        t[c] = map->tables[c];
        t[c].e = snn_arena_array(map->arena, t[c].n + 1, sizeof *t[c].e);
        assert_non_null(t[c].e);
        if (t[c].n)
            memcpy(t[c].e, map->tables[c].e, t[c].n * sizeof *t[c].e);
    }
    return t;
}

static void restore_tables(struct snn_map *map, const struct snn_rtable *saved)
{
    size_t grid = (size_t)map->m->width * map->m->height;
    for (size_t c = 0; c < grid; c++) {
        set_table(map, (uint32_t)(c % map->m->width), (uint32_t)(c / map->m->width),
                  saved[c].e, saved[c].n);
    }
}

static int check_diag(const struct snn_map *map, char **out)
{
    return map_verify_diag(snn__map_verify_tables, map, out);
}

static char *dump(const struct snn_map *map)
{
    return map_dump_text(snn__map_dump_tables, map);
}

/* Expects the checker to fail with every string of want[] in its report. */
static void expect_faults(const struct snn_map *map, const char *const *want, size_t n)
{
    char *text = NULL;
    assert_int_equal(check_diag(map, &text), SNN_EINVAL);
    for (size_t i = 0; i < n; i++)
        if (!strstr(text, want[i]))
            fail_msg("'%s' not in:\n%s", want[i], text);
    free(text);
}

static void expect_ok(const struct snn_map *map)
{
    char *text = NULL;
    int rc = check_diag(map, &text);
    if (rc)
        fail_msg("checker failed (%d):\n%s", rc, text);
    free(text);
}

/* ---- the hand-built case --------------------------------------------- */

/* A 3x3 grid without wrap.  Population a: slice 0 on (0,0) core 1, keys
 * 0x100/0xffffff00.  Population b: slice 1 on (2,0) core 2, slice 2 on
 * (2,1) core 3 (keys 0x300), slice 3 on (0,0) core 2.  Edges 0->1, 0->2,
 * 0->3 and 2->3.  Trees:
 *   slice 0: (0,0) E c2; (1,0) from W, E (straight on: no entry);
 *            (2,0) from W, N c2; (2,1) from S, c3
 *   slice 2: (2,1) W; (1,1) from E, SW; (0,0) from NE, c2 */
static struct fix hand_case(const struct snn_machine *m)
{
    uint32_t ns[] = {1, 3};
    struct fix f = make(m, 2, ns, 256);
    struct snn_map *map = f.map;
    place(map, 0, 0, 0, 1);
    place(map, 1, 2, 0, 2);
    place(map, 2, 2, 1, 3);
    place(map, 3, 0, 0, 2);
    set_key(map, 0, 0x100, 0xffffff00u);
    set_key(map, 1, 0x200, 0xffffff00u);
    set_key(map, 2, 0x300, 0xffffff00u);
    set_key(map, 3, 0x000, 0xffffff00u);
    uint32_t pairs[][2] = {{0, 1}, {0, 2}, {0, 3}, {2, 3}};
    set_edges(map, pairs, 4);
    static const struct h hs[] = {
        {0, 0, 0, -1, L(E) | C(2)}, {0, 1, 0, W, L(E)}, {0, 2, 0, W, L(N) | C(2)},
        {0, 2, 1, S, C(3)},         {2, 2, 1, -1, L(W)}, {2, 1, 1, E, L(SW)},
        {2, 0, 0, NE, C(2)},
    };
    set_hops(map, hs, sizeof hs / sizeof *hs);
    return f;
}

static void test_exact_entries(void **state)
{
    (void)state;
    struct snn_machine *m = machine(3, 3, false, 18, NULL, 0);
    struct fix f = hand_case(m);
    struct snn_map *map = f.map;
    assert_int_equal(snn_map_tables(map, NULL), 0);
    const struct snn_rtable *t00 = &map->tables[snn__map_chip(map, 0, 0)];
    assert_int_equal(t00->n, 2);
    assert_int_equal(t00->n_before, 2);
    assert_int_equal(t00->e[0].key, 0x100);
    assert_int_equal(t00->e[0].mask, 0xffffff00u);
    assert_int_equal(t00->e[0].route, L(E) | C(2));
    assert_int_equal(t00->e[0].source, 0);
    assert_int_equal(t00->e[1].key, 0x300);
    assert_int_equal(t00->e[1].route, C(2));
    assert_int_equal(t00->e[1].source, 2);
    assert_int_equal(map->tables[snn__map_chip(map, 1, 0)].n, 0); /* straight on */
    assert_null(map->tables[snn__map_chip(map, 1, 0)].e);

    char *text = dump(map);
    assert_string_equal(text,
                        "tables: 6 entries (6 before compression) on 4 chips, largest 2, "
                        "router holds 1023\n"
                        "chip (0,0): 2 entries\n"
                        "0x00000100/0xffffff00 -> E c2\n"
                        "0x00000300/0xffffff00 -> c2\n"
                        "chip (2,0): 1 entry\n"
                        "0x00000100/0xffffff00 -> N c2\n"
                        "chip (1,1): 1 entry\n"
                        "0x00000300/0xffffff00 -> SW\n"
                        "chip (2,1): 2 entries\n"
                        "0x00000100/0xffffff00 -> c3\n"
                        "0x00000300/0xffffff00 -> W\n");
    free(text);
    expect_ok(map);
    unmake(&f);
    snn_machine_free(m);
}

/* Only "arrived over a link, leaves only by the opposite one, no core" is
 * left out: a turn, a straight hop that also delivers, a straight hop
 * that also branches, and the source chip sending straight all stay. */
static void test_default_route_omission(void **state)
{
    (void)state;
    struct snn_machine *m = machine(4, 4, true, 18, NULL, 0);
    uint32_t ns[] = {1};
    struct fix f = make(m, 1, ns, 4);
    static const struct h hs[] = {
        {0, 0, 0, -1, L(E)},          /* source: kept */
        {0, 1, 0, W, L(E)},           /* straight: left out */
        {0, 2, 0, W, L(E) | C(1)},    /* straight and delivers: kept */
        {0, 3, 0, W, L(N)},           /* turns: kept */
        {0, 3, 1, S, L(N) | L(E)},    /* straight and branches: kept */
        {0, 3, 2, S, L(N)},           /* straight: left out */
        {0, 0, 1, W, L(W)},           /* back the way it came: kept */
    };
    set_hops(f.map, hs, sizeof hs / sizeof *hs);
    set_key(f.map, 0, 0x40, 0xfffffffcu);
    assert_int_equal(snn_map_tables(f.map, NULL), 0);
    static const uint16_t kept[][2] = {{0, 0}, {2, 0}, {3, 0}, {3, 1}, {0, 1}};
    static const uint16_t gone[][2] = {{1, 0}, {3, 2}};
    for (int i = 0; i < 5; i++) {
        const struct snn_rtable *t = &f.map->tables[snn__map_chip(f.map, kept[i][0], kept[i][1])];
        assert_int_equal(t->n, 1);
        assert_int_equal(t->e[0].key, 0x40);
        assert_int_equal(t->e[0].mask, 0xfffffffcu);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(f.map->tables[snn__map_chip(f.map, gone[i][0], gone[i][1])].n, 0);
    unmake(&f);
    snn_machine_free(m);
}

/* Entries of several sources on one chip come out by key, whatever the
 * slice order. */
static void test_entry_order(void **state)
{
    (void)state;
    struct snn_machine *m = machine(2, 2, true, 18, NULL, 0);
    uint32_t ns[] = {4};
    struct fix f = make(m, 1, ns, 1);
    static const uint32_t keys[] = {0x30, 0x10, 0x40, 0x20};
    for (uint32_t s = 0; s < 4; s++)
        set_key(f.map, s, keys[s], 0xffffffffu);
    static const struct h hs[] = {
        {0, 0, 0, -1, C(2)}, {1, 0, 0, -1, C(3)}, {2, 0, 0, -1, C(4)}, {3, 0, 0, -1, C(5)},
    };
    set_hops(f.map, hs, 4);
    assert_int_equal(snn_map_tables(f.map, NULL), 0);
    const struct snn_rtable *t = &f.map->tables[0];
    assert_int_equal(t->n, 4);
    static const uint32_t want_key[] = {0x10, 0x20, 0x30, 0x40}, want_src[] = {1, 3, 0, 2};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(t->e[i].key, want_key[i]);
        assert_int_equal(t->e[i].source, want_src[i]);
    }
    unmake(&f);
    snn_machine_free(m);
}

/* ---- the checker on the hand-built case ------------------------------ */

static void test_check_faults(void **state)
{
    (void)state;
    struct snn_machine *m = machine(3, 3, false, 18, NULL, 0);
    struct fix f = hand_case(m);
    struct snn_map *map = f.map;
    assert_int_equal(snn_map_tables(map, NULL), 0);
    struct snn_rtable *saved = save_tables(map);
    const uint32_t K = 0x100, M = 0xffffff00u;

    /* A missing entry: at (2,0) the packets go straight on, off the grid. */
    set_table(map, 2, 0, NULL, 0);
    {
        const char *want[] = {
            ("population 'a' slice 0 (neurons [0, 256)), keys 0x00000100/0xffffff00, at chip "
             "(2,0): default-routed straight on over link E, which leads nowhere"),
            "at chip (2,0): 0 of the 256 keys reach core 2, which runs population 'b' slice 0",
            "at chip (2,1): 0 of the 256 keys reach core 3, which runs population 'b' slice 1",
        };
        expect_faults(map, want, 3);
    }
    restore_tables(map, saved);
    expect_ok(map);

    /* A wrong route: core 4 instead of 3. */
    set_table(map, 2, 1, (struct snn_rentry[]){{K, M, C(4), 0}, {0x300, M, L(W), 2}}, 2);
    {
        const char *want[] = {"at chip (2,1): delivered to core 4, which runs no slice these "
                              "keys are for",
                              "at chip (2,1): 0 of the 256 keys reach core 3"};
        expect_faults(map, want, 2);
    }
    restore_tables(map, saved);

    /* A broader entry at (1,0), where the packets went straight on by
     * default, turns them north. */
    set_table(map, 1, 0, (struct snn_rentry[]){{0x000, 0xfffffc00u, L(N), 0}}, 1);
    {
        const char *want[] = {"at chip (1,2): default-routed straight on over link N, which "
                              "leads nowhere",
                              "at chip (2,0): 0 of the 256 keys reach core 2"};
        expect_faults(map, want, 2);
    }
    /* The same broader entry sending them the way they went anyway is
     * harmless. */
    set_table(map, 1, 0, (struct snn_rentry[]){{0x000, 0xfffffc00u, L(E), 0}}, 1);
    expect_ok(map);
    restore_tables(map, saved);

    /* Dropped at the source: no entry for slice 0 at (0,0). */
    set_table(map, 0, 0, (struct snn_rentry[]){{0x300, M, C(2), 2}}, 1);
    {
        const char *want[] = {"keys 0x00000100/0xffffff00, at chip (0,0): no entry matches at "
                              "the source chip: the packets are dropped"};
        expect_faults(map, want, 1);
    }
    restore_tables(map, saved);

    /* A loop: (2,0) sends them back west; (1,0) passes them on to (0,0). */
    set_table(map, 2, 0, (struct snn_rentry[]){{K, M, L(W) | C(2), 0}}, 1);
    {
        const char *want[] = {"at chip (1,0): the packets loop back to this chip"};
        expect_faults(map, want, 1);
    }
    restore_tables(map, saved);

    /* Two routes meeting: (0,0) also sends north, (0,1) east, and (1,1)
     * passes them on east to (2,1), which (2,0) reaches too. */
    set_table(map, 0, 0,
              (struct snn_rentry[]){{K, M, L(E) | L(N) | C(2), 0}, {0x300, M, C(2), 2}}, 2);
    set_table(map, 0, 1, (struct snn_rentry[]){{K, M, L(E), 0}}, 1);
    {
        const char *want[] = {"at chip (2,1): the packets reach this chip a second time by "
                              "another route"};
        expect_faults(map, want, 1);
    }
    restore_tables(map, saved);

    /* Off the edge of the machine. */
    set_table(map, 2, 1, (struct snn_rentry[]){{K, M, C(3) | L(E), 0}, {0x300, M, L(W), 2}}, 2);
    {
        const char *want[] = {"at chip (2,1): sent over link E, which leads nowhere"};
        expect_faults(map, want, 1);
    }
    restore_tables(map, saved);

    /* Half the keys delivered: the other half goes on north by default. */
    set_table(map, 2, 1,
              (struct snn_rentry[]){{0x180, 0xffffff80u, C(3), 0}, {0x300, M, L(W), 2}}, 2);
    {
        const char *want[] = {"keys 0x00000100/0xffffff80, at chip (2,2): default-routed "
                              "straight on over link N, which leads nowhere",
                              "at chip (2,1): 128 of the 256 keys reach core 3"};
        expect_faults(map, want, 2);
    }
    /* ... and the rest caught by a broader entry after it: correct. */
    set_table(map, 2, 1,
              (struct snn_rentry[]){{0x180, 0xffffff80u, C(3), 0}, {K, M, C(3), 0},
                                    {0x300, M, L(W), 2}},
              3);
    expect_ok(map);
    /* Overlapping entries where the first decides: split on a middle bit,
     * the half with bit 4 set to core 3, the rest by a catch-all. */
    set_table(map, 2, 1,
              (struct snn_rentry[]){{0x300, M, L(W), 2}, {0x010, 0x00000010u, C(3), 0},
                                    {0x000, 0x00000000u, C(3), 0}},
              3);
    expect_ok(map);
    restore_tables(map, saved);

    /* A malformed entry (key bits outside its mask) matches nothing. */
    set_table(map, 2, 1,
              (struct snn_rentry[]){{0x101, M, C(3), 0}, {K, M, C(3), 0}, {0x300, M, L(W), 2}},
              3);
    {
        const char *want[] = {"chip (2,1) entry 0, 0x00000101/0xffffff00, has key bits outside "
                              "its mask"};
        expect_faults(map, want, 1);
    }
    restore_tables(map, saved);
    expect_ok(map);
    unmake(&f);
    snn_machine_free(m);
}

/* Entries leaving a middle bit free, on more sources than the checker
 * tests one by one: eight blocks of 4 keys (0, 4, .. 28) on (0,0), all
 * for core 9 there.  Two entries fixing bit 3 (0, then 1) and leaving bit
 * 4 free send them to core 9; a catch-all after them to core 10 must
 * never be taken. */
static void test_check_middle_bits(void **state)
{
    (void)state;
    struct snn_machine *m = machine(2, 2, true, 18, NULL, 0);
    uint32_t ns[] = {8, 1};
    struct fix f = make(m, 2, ns, 4);
    struct snn_map *map = f.map;
    uint32_t pairs[8][2];
    struct h hs[8];
    for (uint32_t s = 0; s < 8; s++) {
        place(map, s, 0, 0, (uint8_t)(1 + s));
        set_key(map, s, 4 * s, 0xfffffffcu);
        pairs[s][0] = s;
        pairs[s][1] = 8;
        hs[s] = (struct h){s, 0, 0, -1, C(9)};
    }
    place(map, 8, 0, 0, 9);
    set_key(map, 8, 0x100, 0xfffffffcu);
    set_edges(map, pairs, 8);
    set_hops(map, hs, 8);
    assert_int_equal(snn_map_tables(map, NULL), 0);
    expect_ok(map);
    set_table(map, 0, 0,
              (struct snn_rentry[]){{0x00, 0xffffffe8u, C(9), 0}, {0x08, 0xffffffe8u, C(9), 0},
                                    {0x00, 0xffffffe0u, C(10), 0}},
              3);
    expect_ok(map);
    /* Without the second, blocks 8, 12, 24 and 28 go to core 10. */
    set_table(map, 0, 0,
              (struct snn_rentry[]){{0x00, 0xffffffe8u, C(9), 0}, {0x00, 0xffffffe0u, C(10), 0}},
              2);
    {
        const char *want[] = {"population 'a' slice 2 (neurons [8, 12)), keys "
                              "0x00000008/0xfffffffc, at chip (0,0): delivered to core 10",
                              "slice 7 (neurons [28, 32)), keys 0x0000001c/0xfffffffc, at chip "
                              "(0,0): 0 of the 4 keys reach core 9"};
        expect_faults(map, want, 2);
    }
    unmake(&f);
    snn_machine_free(m);
}

/* A dead link on the tree: the tables send slice 2 over it. */
static void test_check_dead_link(void **state)
{
    (void)state;
    struct snn_link_ref dead = {1, 1, SW};
    struct snn_machine *m = machine(3, 3, false, 18, &dead, 1);
    struct fix f = hand_case(m);
    assert_int_equal(snn_map_tables(f.map, NULL), 0);
    const char *want[] = {"population 'b' slice 1 (neurons [256, 512)), keys "
                          "0x00000300/0xffffff00, at chip (1,1): sent over link SW, which leads "
                          "nowhere",
                          "at chip (0,0): 0 of the 256 keys reach core 2, which runs population "
                          "'b' slice 2"};
    expect_faults(f.map, want, 2);
    unmake(&f);
    snn_machine_free(m);
}

/* Many faults: 20 reported, then how many more. */
static void test_check_bounded(void **state)
{
    (void)state;
    struct snn_machine *m = machine(4, 4, true, 18, NULL, 0);
    uint32_t ns[] = {30};
    struct fix f = make(m, 1, ns, 1);
    uint32_t pairs[30][2];
    for (uint32_t s = 0; s < 30; s++) {
        place(f.map, s, (uint16_t)(s % 4), (uint16_t)(s / 4 % 4), (uint8_t)(1 + s / 16));
        pairs[s][0] = s;
        pairs[s][1] = (s + 1) % 30;
    }
    set_edges(f.map, pairs, 30);
    assert_int_equal(snn_map_keys(f.map, NULL), 0);
    auto_trees(f.map);
    assert_int_equal(snn_map_tables(f.map, NULL), 0);
    expect_ok(f.map);
    for (uint32_t c = 0; c < 16; c++)
        set_table(f.map, c % 4, c / 4, NULL, 0);
    char *text = NULL;
    assert_int_equal(check_diag(f.map, &text), SNN_EINVAL);
    int lines = 0;
    for (const char *p = text; (p = strstr(p, "error:")); p++)
        lines++;
    assert_int_equal(lines, 21);
    /* Each of the 30 sources: dropped at its chip, its one target missed. */
    assert_non_null(strstr(text, "tables: 40 more faults not shown"));
    free(text);
    unmake(&f);
    snn_machine_free(m);
}

/* ---- random cases ------------------------------------------------------ */

/* A random small network on a w x h machine: populations of random slice
 * counts and sizes on random cores, random edges, keys by the keys pass,
 * trees by auto_trees. */
static struct fix random_case(const struct snn_machine *m, uint32_t n_pops, uint32_t max_slices,
                              uint32_t max_n, uint32_t n_edges)
{
    uint32_t ns[64];
    for (uint32_t p = 0; p < n_pops; p++)
        ns[p] = 1 + rnd(max_slices);
    struct fix f = make(m, n_pops, ns, 1);
    struct snn_map *map = f.map;
    uint32_t app = m->cores - 1;
    uint32_t grid = m->width * m->height;
    SNN_ASSERT(map->n_slices <= grid * app);
    /* Distinct cores: a random permutation of the machine's cores. */
    uint32_t *slot = malloc(grid * app * sizeof *slot);
    for (uint32_t i = 0; i < grid * app; i++)
        slot[i] = i;
    for (uint32_t i = 0; i < map->n_slices; i++) {
        uint32_t j = i + rnd(grid * app - i), t = slot[i];
        slot[i] = slot[j];
        slot[j] = t;
        uint32_t chip = slot[i] / app;
        place(map, i, (uint16_t)(chip % m->width), (uint16_t)(chip / m->width),
              (uint8_t)(1 + slot[i] % app));
        map->slices[i].n = 1 + rnd(max_n);
    }
    free(slot);
    uint32_t (*pairs)[2] = malloc((n_edges + 1) * sizeof *pairs);
    for (uint32_t i = 0; i < n_edges; i++) {
        pairs[i][0] = rnd(map->n_slices);
        pairs[i][1] = rnd(map->n_slices);
    }
    set_edges(map, pairs, n_edges);
    free(pairs);
    assert_int_equal(snn_map_keys(map, NULL), 0);
    auto_trees(map);
    return f;
}

/* Key by key, as a router would: whether every key of slice s's block
 * reaches exactly its targets, once each, without a fault. */
static bool brute_ok(const struct snn_map *map, uint32_t s)
{
    const struct snn_machine *m = map->m;
    size_t grid = (size_t)m->width * m->height;
    const struct snn_slice *a = &map->slices[s];
    uint32_t *seen = calloc(grid, sizeof *seen);
    uint8_t *got = malloc(grid * 64);
    uint32_t *stack = malloc(grid * 8 * sizeof *stack);
    bool ok = true;
    uint32_t size = ~a->mask + 1;
    for (uint32_t i = 0; i < size && ok; i++) {
        uint32_t key = a->key | i;
        memset(got, 0, grid * 64);
        size_t sp = 0;
        stack[sp++] = snn__map_chip(map, a->x, a->y) << 3 | 7; /* 7: from a core */
        while (sp && ok) {
            uint32_t top = stack[--sp], c = top >> 3, in = top & 7;
            if (seen[c] == i + 1) {
                ok = false; /* a chip twice */
                break;
            }
            seen[c] = i + 1;
            const struct snn_rtable *t = &map->tables[c];
            uint64_t route = 0;
            uint32_t j = 0;
            for (; j < t->n; j++)
                if ((key & t->e[j].mask) == t->e[j].key) {
                    route = t->e[j].route;
                    break;
                }
            if (j == t->n) {
                if (in == 7) {
                    ok = false;
                    break;
                }
                route = SNN_ROUTE_LINK((in + 3) % 6);
            }
            for (unsigned core = 0; core < 58; core++)
                if (route & SNN_ROUTE_CORE(core))
                    got[c * 64 + core]++;
            for (unsigned l = 0; l < 6; l++) {
                if (!(route & SNN_ROUTE_LINK(l)))
                    continue;
                uint32_t nx, ny;
                if (!snn_machine_neighbour(m, c % m->width, c / m->width, l, &nx, &ny)) {
                    ok = false;
                    break;
                }
                stack[sp++] = snn__map_chip(map, nx, ny) << 3 | snn_link_opposite(l);
            }
        }
        if (!ok)
            break;
        /* Exactly the targets, once each. */
        for (uint64_t e = map->edge_first[s]; e < map->edge_first[s + 1]; e++) {
            const struct snn_slice *b = &map->slices[map->edges[e].post];
            uint8_t *g = &got[snn__map_chip(map, b->x, b->y) * 64 + b->core];
            if (*g != 1)
                ok = false;
            *g = 0;
        }
        for (size_t k = 0; k < grid * 64; k++)
            if (got[k])
                ok = false;
    }
    free(seen);
    free(got);
    free(stack);
    return ok;
}

/* The checker's verdict on slice s alone: the others' edges hidden. */
static bool check_one(struct snn_map *map, uint32_t s, uint64_t *saved_first)
{
    uint32_t n = map->n_slices;
    memcpy(saved_first, map->edge_first, (n + 1) * sizeof *saved_first);
    for (uint32_t t = 0; t <= n; t++)
        map->edge_first[t] = t <= s ? saved_first[s] : saved_first[s + 1];
    int rc = snn__map_verify_tables(map, NULL);
    memcpy(map->edge_first, saved_first, (n + 1) * sizeof *saved_first);
    assert_true(rc == 0 || rc == SNN_EINVAL);
    return rc == 0;
}

/* A random entry in the small key space (keys below 64), in the form a
 * compressor might produce or get wrong. */
static struct snn_rentry random_entry(const struct snn_map *map, uint32_t cores)
{
    struct snn_rentry e;
    e.mask = 0xffffffc0u | rnd(64);
    if (rnd(3) == 0) /* a prefix mask, as merging aligned blocks gives */
        e.mask = ~(uint32_t)0 << rnd(7);
    e.key = rnd(64) & e.mask;
    e.route = 0;
    if (rnd(2))
        e.route |= SNN_ROUTE_LINK(rnd(6));
    if (rnd(3) == 0)
        e.route |= SNN_ROUTE_LINK(rnd(6));
    if (rnd(2))
        e.route |= SNN_ROUTE_CORE(1 + rnd(cores - 1));
    e.source = rnd(map->n_slices);
    return e;
}

/* Small random cases with randomly broken tables: the block checker and
 * a key-by-key walk agree on every source. */
static void test_differential(void **state)
{
    (void)state;
    rng_state = 0x2545f4914f6cdd1du;
    unsigned agree_ok = 0, agree_bad = 0;
    for (int round = 0; round < 400; round++) {
        bool wrap = rnd(2);
        uint32_t w = 2 + rnd(3), h = 2 + rnd(3), cores = 4 + rnd(3);
        struct snn_machine *m = machine(w, h, wrap, cores, NULL, 0);
        struct fix f = random_case(m, 1 + rnd(3), 3, 4, 1 + rnd(12));
        struct snn_map *map = f.map;
        /* Every key below 64, so random entries hit them. */
        for (uint32_t s = 0; s < map->n_slices; s++)
            assert_true((map->slices[s].key | ~map->slices[s].mask) < 64);
        assert_int_equal(snn_map_tables(map, NULL), 0);
        uint64_t *tmp = malloc((map->n_slices + 2) * sizeof *tmp);
        /* Fresh tables are right. */
        for (uint32_t s = 0; s < map->n_slices; s++)
            if (map->edge_first[s] < map->edge_first[s + 1]) {
                assert_true(brute_ok(map, s));
                assert_true(check_one(map, s, tmp));
            }
        /* Break them: insert, delete, reroute, widen. */
        uint32_t n_mut = 1 + rnd(4);
        for (uint32_t k = 0; k < n_mut; k++) {
            uint32_t c = rnd(w * h);
            struct snn_rtable *t = &map->tables[c];
            struct snn_rentry *e = snn_arena_array(map->arena, t->n + 2, sizeof *e);
            if (t->n)
                memcpy(e, t->e, t->n * sizeof *e);
            uint32_t n = t->n, what = rnd(7);
            if (what == 0 || n == 0) {
                uint32_t at = rnd(n + 1);
                memmove(e + at + 1, e + at, (n - at) * sizeof *e);
                e[at] = random_entry(map, cores);
                if (n && rnd(2)) /* a route already there: maybe harmless */
                    e[at].route = e[rnd(n + 1)].route;
                n++;
            } else if (what >= 4) {
                /* Part of an entry's block put first: with the same route
                 * (a correct split), or (what 5) the rest rerouted, or
                 * (what 6) that part rerouted. */
                uint32_t at = rnd(n), bit = (uint32_t)1 << rnd(6);
                memmove(e + at + 1, e + at, (n - at) * sizeof *e);
                e[at].mask |= bit;
                e[at].key = (e[at].key & ~bit) | (rnd(2) ? bit : 0);
                if (what == 5)
                    e[at + 1].route ^= (uint64_t)1 << rnd(6 + cores);
                if (what == 6)
                    e[at].route ^= (uint64_t)1 << rnd(6 + cores);
                n++;
            } else if (what == 1) {
                uint32_t at = rnd(n);
                memmove(e + at, e + at + 1, (n - at - 1) * sizeof *e);
                n--;
            } else if (what == 2) {
                uint32_t at = rnd(n), bit = rnd(6 + cores);
                e[at].route ^= (uint64_t)1 << bit;
            } else {
                uint32_t at = rnd(n);
                e[at].mask &= ~((uint32_t)1 << rnd(6));
                e[at].key &= e[at].mask;
            }
            t->e = e;
            t->n = n;
        }
        for (uint32_t s = 0; s < map->n_slices; s++) {
            if (map->edge_first[s] == map->edge_first[s + 1])
                continue;
            bool want = brute_ok(map, s), got = check_one(map, s, tmp);
            if (want != got)
                fail_msg("round %d slice %u: key by key %d, checker %d", round, s, want, got);
            if (want)
                agree_ok++;
            else
                agree_bad++;
        }
        free(tmp);
        unmake(&f);
        snn_machine_free(m);
    }
    /* Both verdicts were exercised often. */
    assert_true(agree_ok > 100);
    assert_true(agree_bad > 100);
}

/* Entries of one population on one chip merged into one entry for the
 * population's block when every slice of it has the same route there:
 * what a compressor does first.  Correct, since every slice's packets
 * take that route anyway (a slice default-routed there keeps no entry,
 * so its population is not merged). */
static void merge_by_population(struct snn_map *map)
{
    size_t grid = (size_t)map->m->width * map->m->height;
    for (size_t c = 0; c < grid; c++) {
        struct snn_rtable *t = &map->tables[c];
        uint32_t out = 0;
        for (uint32_t i = 0; i < t->n;) {
            uint32_t p = map->slices[t->e[i].source].pop;
            uint32_t k = map->pop_slice[p + 1] - map->pop_slice[p], j = i;
            while (j < t->n && map->slices[t->e[j].source].pop == p &&
                   t->e[j].route == t->e[i].route)
                j++;
            struct snn_rentry e = t->e[i];
            if (j - i == k && k > 1) {
                uint32_t lo = e.key, hi = t->e[j - 1].key | ~t->e[j - 1].mask;
                uint32_t span = lo ^ hi, bits = 0;
                while (bits < 32 && (span >> bits))
                    bits++;
                e.mask = bits >= 32 ? 0 : ~(uint32_t)0 << bits;
                e.key &= e.mask;
                i = j;
            } else {
                i++;
            }
            t->e[out++] = e;
        }
        t->n = out;
    }
}

static void test_merged_tables(void **state)
{
    (void)state;
    rng_state = 77;
    struct snn_machine *m = machine(6, 6, true, 18, NULL, 0);
    uint32_t ns[12];
    for (int p = 0; p < 12; p++)
        ns[p] = 4;
    struct fix f = make(m, 12, ns, 100);
    struct snn_map *map = f.map;
    for (uint32_t s = 0; s < map->n_slices; s++)
        place(map, s, (uint16_t)(s / 4 % 6), (uint16_t)(s / 24), (uint8_t)(1 + s % 4));
    uint32_t pairs[12 * 3 * 16][2];
    size_t n = 0;
    for (uint32_t p = 0; p < 12; p++)
        for (uint32_t q = 0; q < 3; q++) {
            uint32_t r = rnd(12);
            for (uint32_t i = 0; i < 4; i++)
                for (uint32_t j = 0; j < 4; j++) {
                    pairs[n][0] = 4 * p + i;
                    pairs[n][1] = 4 * r + j;
                    n++;
                }
        }
    set_edges(map, pairs, n);
    assert_int_equal(snn_map_keys(map, NULL), 0);
    auto_trees(map);
    assert_int_equal(snn_map_tables(map, NULL), 0);
    expect_ok(map);
    uint64_t before = 0, after = 0;
    for (size_t c = 0; c < 36; c++)
        before += map->tables[c].n;
    merge_by_population(map);
    for (size_t c = 0; c < 36; c++)
        after += map->tables[c].n;
    assert_true(after < before);
    expect_ok(map);
    unmake(&f);
    snn_machine_free(m);
}

/* Same input, same tables, byte for byte. */
static void test_deterministic(void **state)
{
    (void)state;
    char *text[2];
    for (int run = 0; run < 2; run++) {
        rng_state = 4242;
        struct snn_machine *m = machine(5, 4, true, 8, NULL, 0);
        struct fix f = random_case(m, 6, 5, 40, 60);
        assert_int_equal(snn_map_tables(f.map, NULL), 0);
        expect_ok(f.map);
        text[run] = dump(f.map);
        unmake(&f);
        snn_machine_free(m);
    }
    assert_string_equal(text[0], text[1]);
    free(text[0]);
    free(text[1]);
}

/* Every allocation failing in turn: the pass returns SNN_ENOMEM and leaves
 * no tables; the checker returns SNN_ENOMEM; then both succeed. */
static void test_alloc_failures(void **state)
{
    (void)state;
    rng_state = 99;
    struct snn_machine *m = machine(4, 4, false, 6, NULL, 0);
    struct fix f = random_case(m, 4, 4, 20, 40);
    int ok = 0;
    for (long n = 0; n < 200 && !ok; n++) {
        snn_alloc_fail_after(n);
        int rc = snn_map_tables(f.map, NULL);
        snn_alloc_fail_after(-1);
        if (rc == 0)
            ok = 1;
        else {
            assert_int_equal(rc, SNN_ENOMEM);
            assert_null(f.map->tables);
        }
    }
    assert_true(ok);
    /* A split on the way, so the checker's piece lists are exercised: at
     * a source's chip, half its block first by an entry of the same route. */
    uint32_t s = 0;
    while (f.map->edge_first[s] == f.map->edge_first[s + 1] || f.map->slices[s].mask == ~0u)
        s++;
    const struct snn_slice *a = &f.map->slices[s];
    struct snn_rtable *t = &f.map->tables[snn__map_chip(f.map, a->x, a->y)];
    uint32_t i = 0;
    while (t->e[i].source != s)
        i++;
    struct snn_rentry e[64];
    assert_true(t->n < 63);
    memcpy(e, t->e, t->n * sizeof *e);
    memmove(e + i + 1, e + i, (t->n - i) * sizeof *e);
    uint32_t half = (~a->mask + 1) / 2;
    e[i].key |= half;
    e[i].mask |= half;
    set_table(f.map, a->x, a->y, e, t->n + 1);
    expect_ok(f.map);
    ok = 0;
    for (long n = 0; n < 400 && !ok; n++) {
        snn_alloc_fail_after(n);
        int rc = snn__map_verify_tables(f.map, NULL);
        snn_alloc_fail_after(-1);
        if (rc == 0)
            ok = 1;
        else
            assert_int_equal(rc, SNN_ENOMEM);
    }
    assert_true(ok);
    unmake(&f);
    snn_machine_free(m);
}

/* ---- speed ------------------------------------------------------------- */

/* A synthetic network like the benchmark's: n_pops populations of 16
 * slices, each joined all-to-all to `fan` random others, placed a
 * population per chip along the rows; tables generated, merged by
 * population (as compression would), and checked.  Prints the times. */
static void speed_case(uint32_t side, uint32_t n_pops, uint32_t fan)
{
    rng_state = 2024;
    struct snn_machine *m = machine(side, side, true, 18, NULL, 0);
    uint32_t *ns = malloc(n_pops * sizeof *ns);
    for (uint32_t p = 0; p < n_pops; p++)
        ns[p] = 16;
    struct fix f = make(m, n_pops, ns, 256);
    free(ns);
    struct snn_map *map = f.map;
    for (uint32_t s = 0; s < map->n_slices; s++) {
        uint32_t chip = (s / 16) % (side * side);
        place(map, s, (uint16_t)(chip % side), (uint16_t)(chip / side), (uint8_t)(1 + s % 16));
    }
    size_t n = (size_t)n_pops * fan * 256, k = 0;
    uint32_t (*pairs)[2] = malloc(n * sizeof *pairs);
    assert_non_null(pairs);
    for (uint32_t p = 0; p < n_pops; p++)
        for (uint32_t q = 0; q < fan; q++) {
            uint32_t r = rnd(n_pops);
            for (uint32_t i = 0; i < 16; i++)
                for (uint32_t j = 0; j < 16; j++) {
                    pairs[k][0] = 16 * p + i;
                    pairs[k][1] = 16 * r + j;
                    k++;
                }
        }
    set_edges(map, pairs, n);
    free(pairs);
    assert_int_equal(snn_map_keys(map, NULL), 0);
    auto_trees(map);
    double t0 = now_s();
    assert_int_equal(snn_map_tables(map, NULL), 0);
    double t1 = now_s();
    expect_ok(map);
    double t2 = now_s();
    uint64_t before = 0, after = 0;
    size_t grid = (size_t)side * side;
    for (size_t c = 0; c < grid; c++)
        before += map->tables[c].n;
    merge_by_population(map);
    for (size_t c = 0; c < grid; c++)
        after += map->tables[c].n;
    double t3 = now_s();
    expect_ok(map);
    double t4 = now_s();
    print_message("speed: %u slices, %llu edges, %llu hops on %ux%u chips: tables %.3f s "
                  "(%llu entries); check %.3f s; merged to %llu entries, check %.3f s\n",
                  map->n_slices, (unsigned long long)map->n_edges,
                  (unsigned long long)map->n_hops, side, side, t1 - t0,
                  (unsigned long long)before, t2 - t1, (unsigned long long)after, t4 - t3);
    unmake(&f);
    snn_machine_free(m);
}

static void test_speed(void **state)
{
    (void)state;
    const char *big = getenv("SNN_MAP_BIG");
    if (big && *big == '1')
        speed_case(36, 1000, 40); /* the benchmark's size */
    else
        speed_case(12, 100, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_entries),
        cmocka_unit_test(test_default_route_omission),
        cmocka_unit_test(test_entry_order),
        cmocka_unit_test(test_check_faults),
        cmocka_unit_test(test_check_middle_bits),
        cmocka_unit_test(test_check_dead_link),
        cmocka_unit_test(test_check_bounded),
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_merged_tables),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_map_route.c: the route pass (mapper/route.c).
 *
 * The map is built by hand (slices placed at given cores, edges), so these
 * tests do not depend on partition or place.  Covered: exact trees (hops,
 * in_link, route words) on a one-chip machine, a 2x2 torus and a 4x4 grid
 * without wrap; detours around a dead link (by another shortest path, and
 * by a longer one) and a dead chip; the error when a target cannot be
 * reached; link_packets sums; allocation failures; the verifier catching
 * a missing target, a chip visited twice, a link back into the tree and a
 * wrong load; determinism; the dump; and a property test over random
 * machines (dead chips and links, a SpiNN-5 board) and placements whose
 * trees are followed by an independent checker: each delivers exactly its
 * targets, over working links, each by a shortest path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"
#include "target/target.h"
#include "map_testlib.h"

#define E 0
#define NE 1
#define N 2
#define W 3
#define SW 4
#define S 5
#define L(l) SNN_ROUTE_LINK(l)
#define C(c) SNN_ROUTE_CORE(c)

/* ---- helpers --------------------------------------------------------- */

struct place {
    uint32_t pop;
    uint16_t x, y;
    uint8_t core;
};

struct fix {
    struct snn_net *net;
    struct snn_map *map;
};

/* A network of n_pops populations ("p0", "p1", ...) and a map onto m
 * with n slices placed as given, each sending pps packets per step.
 * By hand rather than snn_map_new, so the test needs no other pass. */
static struct fix make(const struct snn_machine *m, uint32_t n_pops, const struct place *pl,
                       uint32_t n, double pps)
{
    struct fix f;
    f.net = snn_net_new();
    assert_non_null(f.net);
    char name[16];
    for (uint32_t p = 0; p < n_pops; p++) {
        snprintf(name, sizeof name, "p%u", p);
        assert_non_null(snn_net_add_pop(f.net, name, (enum snn_model)0, 64));
    }
    struct snn_map *map = calloc(1, sizeof *map);
    assert_non_null(map);
    map->arena = snn_arena_new();
    assert_non_null(map->arena);
    map->net = f.net;
    map->m = m;
    map->n_slices = n;
    map->slices = snn_arena_array(map->arena, n + 1, sizeof *map->slices);
    map->edge_first = snn_arena_array(map->arena, n + 1, sizeof *map->edge_first);
    assert_non_null(map->slices);
    assert_non_null(map->edge_first);
    for (uint32_t s = 0; s < n; s++) {
        map->slices[s] = (struct snn_slice){.pop = pl[s].pop, .lo = s, .n = 1, .x = pl[s].x,
                                            .y = pl[s].y, .core = pl[s].core};
        map->slices[s].use.packets_per_step = pps;
    }
    f.map = map;
    return f;
}

static void unmake(struct fix *f)
{
    snn_arena_free(f->map->arena);
    free(f->map);
    snn_net_free(f->net);
}

/* Runs fn with a sink printing to a string; returns the code, *out the text. */
static int run_diag(int (*fn)(struct snn_map *, struct snn_diag *), struct snn_map *map,
                    char **out)
{
    return map_diag(fn, map, out);
}

static int verify_fn(struct snn_map *map, struct snn_diag *d)
{
    return snn__map_verify_route(map, d);
}

static void route_ok(struct snn_map *map)
{
    char *text = NULL;
    int rc = run_diag(snn_map_route, map, &text);
    if (rc)
        fail_msg("route failed: %s", text);
    free(text);
    rc = run_diag(verify_fn, map, &text);
    if (rc)
        fail_msg("verify failed: %s", text);
    free(text);
}

struct hop_want {
    uint32_t x, y;
    int in_link;
    uint64_t route;
};

static void expect_tree(const struct snn_map *map, uint32_t s, const struct hop_want *want,
                        uint32_t n)
{
    uint64_t lo = map->hop_first[s], hi = map->hop_first[s + 1];
    if (hi - lo != n)
        fail_msg("tree %u has %llu hops, want %u", s, (unsigned long long)(hi - lo), n);
    for (uint32_t i = 0; i < n; i++) {
        const struct snn_hop *h = &map->hops[lo + i];
        uint32_t chip = want[i].y * map->m->width + want[i].x;
        if (h->chip != chip || h->in_link != want[i].in_link || h->route != want[i].route)
            fail_msg("tree %u hop %u: chip %u in %d route %#llx, want chip %u (%u,%u) in %d "
                     "route %#llx",
                     s, i, h->chip, h->in_link, (unsigned long long)h->route, chip, want[i].x,
                     want[i].y, want[i].in_link, (unsigned long long)want[i].route);
    }
}

static double load(const struct snn_map *map, uint32_t x, uint32_t y, unsigned link)
{
    return map->link_packets[(size_t)(y * map->m->width + x) * 6 + link];
}

static double load_sum(const struct snn_map *map)
{
    double t = 0;
    for (size_t i = 0; i < (size_t)map->m->width * map->m->height * 6; i++)
        t += map->link_packets[i];
    return t;
}

/* ---- hand-checked trees ---------------------------------------------- */

/* One chip: only local delivery, no links. */
static void test_one_chip(void **state)
{
    (void)state;
    struct snn_machine *m = grid_machine(1, 1, false, 6);
    ready(m);
    struct place pl[] = {{0, 0, 0, 1}, {0, 0, 0, 2}, {1, 0, 0, 3}, {1, 0, 0, 5}};
    struct fix f = make(m, 2, pl, 4, 1.0);
    uint32_t pairs[][2] = {{0, 1}, {0, 0}, {0, 2}, {1, 2}, {3, 3}};
    set_edges(f.map, pairs, 5);
    route_ok(f.map);
    assert_int_equal(f.map->n_hops, 3);
    expect_tree(f.map, 0, (struct hop_want[]){{0, 0, -1, C(1) | C(2) | C(3)}}, 1);
    expect_tree(f.map, 1, (struct hop_want[]){{0, 0, -1, C(3)}}, 1);
    expect_tree(f.map, 2, NULL, 0);
    expect_tree(f.map, 3, (struct hop_want[]){{0, 0, -1, C(5)}}, 1);
    assert_true(load_sum(f.map) == 0);
    unmake(&f);
    snn_machine_free(m);
}

/* A 2x2 torus: every chip is one hop from every other.  From (0,0) the
 * vectors are E, N and NE; from (1,1) to (0,0) the tie between (-1,-1)
 * and (1,1) goes to the non-negative one: NE across the wrap. */
static void test_torus_2x2(void **state)
{
    (void)state;
    struct snn_machine *m = grid_machine(2, 2, true, 4);
    ready(m);
    struct place pl[] = {{0, 0, 0, 1}, {0, 1, 0, 1}, {0, 0, 1, 2}, {1, 1, 1, 3}, {1, 1, 1, 1}};
    struct fix f = make(m, 2, pl, 5, 2.0);
    uint32_t pairs[][2] = {{0, 1}, {0, 2}, {0, 3}, {4, 0}, {4, 3}};
    set_edges(f.map, pairs, 5);
    f.map->slices[4].use.packets_per_step = 0.25;
    route_ok(f.map);
    expect_tree(f.map, 0,
                (struct hop_want[]){{0, 0, -1, L(E) | L(NE) | L(N)},
                                    {1, 0, W, C(1)},
                                    {0, 1, S, C(2)},
                                    {1, 1, SW, C(3)}},
                4);
    expect_tree(f.map, 4, (struct hop_want[]){{1, 1, -1, L(NE) | C(3)}, {0, 0, SW, C(1)}}, 2);
    assert_true(load(f.map, 0, 0, E) == 2.0);
    assert_true(load(f.map, 0, 0, N) == 2.0);
    assert_true(load(f.map, 0, 0, NE) == 2.0);
    assert_true(load(f.map, 1, 1, NE) == 0.25);
    assert_true(load_sum(f.map) == 6.25);
    unmake(&f);
    snn_machine_free(m);
}

/* A 4x4 grid without wrap.  Slice 0 at (0,0) reaches (2,0) (nearest,
 * E E), then (3,1) (one NE from (2,0), the deepest tree chip of its
 * parallelogram), (3,2) (2 NE + 1 E: joins at (1,0), then NE NE) and (1,3)
 * (2 N + 1 NE: from the source, N N NE).  Slice 4 at (2,0) shares the
 * link NE of (2,0) with it, so that link carries both slices' packets. */
static void test_grid_4x4(void **state)
{
    (void)state;
    struct snn_machine *m = grid_machine(4, 4, false, 4);
    ready(m);
    struct place pl[] = {{0, 0, 0, 1}, {1, 3, 1, 2}, {1, 3, 2, 1}, {1, 1, 3, 3}, {0, 2, 0, 1}};
    struct fix f = make(m, 2, pl, 5, 2.5);
    f.map->slices[4].use.packets_per_step = 0.5;
    uint32_t pairs[][2] = {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {4, 1}};
    set_edges(f.map, pairs, 5);
    route_ok(f.map);
    expect_tree(f.map, 0,
                (struct hop_want[]){{0, 0, -1, L(E) | L(N)},
                                    {1, 0, W, L(E) | L(NE)},
                                    {2, 0, W, L(NE) | C(1)},
                                    {3, 1, SW, C(2)},
                                    {2, 1, SW, L(NE)},
                                    {3, 2, SW, C(1)},
                                    {0, 1, S, L(N)},
                                    {0, 2, S, L(NE)},
                                    {1, 3, SW, C(3)}},
                9);
    expect_tree(f.map, 4, (struct hop_want[]){{2, 0, -1, L(NE)}, {3, 1, SW, C(2)}}, 2);
    expect_tree(f.map, 1, NULL, 0);
    assert_int_equal(f.map->n_hops, 11);
    assert_true(load(f.map, 2, 0, NE) == 3.0);
    assert_true(load(f.map, 0, 0, E) == 2.5);
    assert_true(load(f.map, 1, 0, NE) == 2.5);
    assert_true(load(f.map, 0, 2, NE) == 2.5);
    assert_true(load(f.map, 0, 0, NE) == 0);
    assert_true(load_sum(f.map) == 8 * 2.5 + 0.5);
    unmake(&f);
    snn_machine_free(m);
}

/* The link E of (1,0) is dead: (2,0) is three hops away, and the detour
 * found backwards from it is NE, E, S. */
static void test_dead_link(void **state)
{
    (void)state;
    struct snn_machine *m = grid_machine(4, 4, false, 4);
    dead_links(m, (struct snn_link_ref[]){{1, 0, E}}, 1);
    ready(m);
    struct place pl[] = {{0, 0, 0, 1}, {0, 2, 0, 3}};
    struct fix f = make(m, 1, pl, 2, 1.0);
    uint32_t pairs[][2] = {{0, 1}};
    set_edges(f.map, pairs, 1);
    route_ok(f.map);
    expect_tree(f.map, 0,
                (struct hop_want[]){{0, 0, -1, L(NE)}, {1, 1, SW, L(E)}, {2, 1, W, L(S)},
                                    {2, 0, N, C(3)}},
                4);
    assert_true(load(f.map, 1, 0, E) == 0);
    assert_true(load(f.map, 2, 1, S) == 1.0);
    unmake(&f);
    snn_machine_free(m);
}

/* The link NE of (1,0) is dead: (2,1) is still two hops away, by the
 * other shortest path NE, E instead of E, NE; the direct tree goes on
 * with (3,0) by E, E, E. */
static void test_dead_link_shortest(void **state)
{
    (void)state;
    struct snn_machine *m = grid_machine(4, 4, false, 4);
    dead_links(m, (struct snn_link_ref[]){{1, 0, NE}}, 1);
    ready(m);
    struct place pl[] = {{0, 0, 0, 1}, {0, 3, 0, 2}, {0, 2, 1, 3}};
    struct fix f = make(m, 1, pl, 3, 1.0);
    uint32_t pairs[][2] = {{0, 1}, {0, 2}};
    set_edges(f.map, pairs, 2);
    route_ok(f.map);
    expect_tree(f.map, 0,
                (struct hop_want[]){{0, 0, -1, L(NE) | L(E)},
                                    {1, 1, SW, L(E)},
                                    {2, 1, W, C(3)},
                                    {1, 0, W, L(E)},
                                    {2, 0, W, L(E)},
                                    {3, 0, W, C(2)}},
                6);
    unmake(&f);
    snn_machine_free(m);
}

/* Chip (1,1) is dead: (2,2) is three hops away instead of two, by N, NE, E. */
static void test_dead_chip(void **state)
{
    (void)state;
    struct snn_machine *m = grid_machine(4, 4, false, 4);
    dead_chips(m, (struct snn_chip_ref[]){{1, 1}}, 1);
    ready(m);
    struct place pl[] = {{0, 0, 0, 1}, {0, 2, 2, 2}, {0, 3, 0, 1}};
    struct fix f = make(m, 1, pl, 3, 1.0);
    /* Slice 2's targets are not blocked: its tree is the direct one. */
    uint32_t pairs[][2] = {{0, 1}, {2, 1}};
    set_edges(f.map, pairs, 2);
    route_ok(f.map);
    expect_tree(f.map, 0,
                (struct hop_want[]){{0, 0, -1, L(N)}, {0, 1, S, L(NE)}, {1, 2, SW, L(E)},
                                    {2, 2, W, C(2)}},
                4);
    /* From (3,0) to (2,2): W + 2 N, major N: N N W. */
    expect_tree(f.map, 2,
                (struct hop_want[]){{3, 0, -1, L(N)}, {3, 1, S, L(N)}, {3, 2, S, L(W)},
                                    {2, 2, E, C(2)}},
                4);
    unmake(&f);
    snn_machine_free(m);
}

/* A dead chip cuts a 3x1 row in two: the error names the source and the
 * target chip, and the map is left as it was. */
static void test_unreachable(void **state)
{
    (void)state;
    struct snn_machine *m = grid_machine(3, 1, false, 4);
    dead_chips(m, (struct snn_chip_ref[]){{1, 0}}, 1);
    ready(m);
    struct place pl[] = {{0, 0, 0, 1}, {1, 0, 0, 2}, {1, 2, 0, 1}};
    struct fix f = make(m, 2, pl, 3, 1.0);
    uint32_t pairs[][2] = {{0, 1}, {0, 2}};
    set_edges(f.map, pairs, 2);
    char *text = NULL;
    assert_int_equal(run_diag(snn_map_route, f.map, &text), SNN_EUNSUPPORTED);
    assert_non_null(strstr(text, "population 'p0' slice 0"));
    assert_non_null(strstr(text, "chip 2,0"));
    assert_non_null(strstr(text, "population 'p1' slice 2"));
    assert_non_null(strstr(text, "no working path"));
    free(text);
    assert_null(f.map->hops);
    assert_null(f.map->hop_first);
    assert_null(f.map->link_packets);
    assert_int_equal(f.map->n_hops, 0);
    unmake(&f);
    snn_machine_free(m);
}

static void test_dump(void **state)
{
    (void)state;
    struct snn_machine *m = grid_machine(2, 2, true, 4);
    ready(m);
    struct place pl[] = {{0, 0, 0, 1}, {1, 1, 1, 3}, {1, 1, 0, 2}};
    struct fix f = make(m, 2, pl, 3, 0.5);
    uint32_t pairs[][2] = {{0, 1}, {0, 2}, {0, 0}};
    set_edges(f.map, pairs, 3);
    route_ok(f.map);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    snn__map_dump_route(f.map, out);
    fclose(out);
    assert_string_equal(text, "route: 3 slices, 3 hops\n"
                              "tree 0 pop p0 hops 3\n"
                              "  chip 0,0 in - out E,NE cores 1\n"
                              "  chip 1,1 in SW out - cores 3\n"
                              "  chip 1,0 in W out - cores 2\n"
                              "link 0,0 E packets 0.5\n"
                              "link 0,0 NE packets 0.5\n");
    free(text);
    unmake(&f);
    snn_machine_free(m);
}

/* ---- an independent checker -------------------------------------------- */

/* Distances from (x0, y0) over working links, -1 where unreachable. */
static void bfs(const struct snn_machine *m, uint32_t x0, uint32_t y0, int *dist)
{
    uint32_t w = m->width, grid = w * m->height;
    uint32_t *q = malloc(grid * sizeof *q);
    assert_non_null(q);
    for (uint32_t i = 0; i < grid; i++)
        dist[i] = -1;
    uint32_t head = 0, tail = 0;
    dist[y0 * w + x0] = 0;
    q[tail++] = y0 * w + x0;
    while (head < tail) {
        uint32_t c = q[head++];
        for (unsigned l = 0; l < 6; l++) {
            uint32_t nx, ny;
            if (!snn_machine_neighbour(m, c % w, c / w, l, &nx, &ny))
                continue;
            if (dist[ny * w + nx] < 0) {
                dist[ny * w + nx] = dist[c] + 1;
                q[tail++] = ny * w + nx;
            }
        }
    }
    free(q);
}

/* Follows every tree from its source over its link bits (not trusting the
 * hop order or in_link), checking it is a tree over working links that
 * delivers exactly to the targets, each at its shortest distance; and
 * sums the loads.  0 when some target was unreachable (then route must
 * have failed), else 1. */
static int check_trees(const struct snn_map *map)
{
    const struct snn_machine *m = map->m;
    uint32_t w = m->width, grid = w * m->height;
    int *dist = malloc(grid * sizeof *dist);
    int *depth = malloc(grid * sizeof *depth);
    uint64_t *want = malloc(grid * sizeof *want), *got = malloc(grid * sizeof *got);
    long *where = malloc(grid * sizeof *where);
    uint32_t *stack = malloc(grid * sizeof *stack);
    double *lp = calloc((size_t)grid * 6, sizeof *lp);
    assert_true(dist && depth && want && got && where && stack && lp);
    int ok = 1;
    for (uint32_t s = 0; s < map->n_slices && ok; s++) {
        const struct snn_slice *a = &map->slices[s];
        bfs(m, a->x, a->y, dist);
        for (uint64_t e = map->edge_first[s]; e < map->edge_first[s + 1]; e++) {
            const struct snn_slice *b = &map->slices[map->edges[e].post];
            if (dist[b->y * w + b->x] < 0)
                ok = 0;
        }
    }
    for (uint32_t s = 0; s < map->n_slices && ok; s++) {
        const struct snn_slice *a = &map->slices[s];
        bfs(m, a->x, a->y, dist);
        memset(want, 0, grid * sizeof *want);
        memset(got, 0, grid * sizeof *got);
        for (uint64_t e = map->edge_first[s]; e < map->edge_first[s + 1]; e++) {
            const struct snn_slice *b = &map->slices[map->edges[e].post];
            want[b->y * w + b->x] |= C(b->core);
        }
        uint64_t lo = map->hop_first[s], hi = map->hop_first[s + 1];
        if (map->edge_first[s] == map->edge_first[s + 1]) {
            assert_int_equal(lo, hi);
            continue;
        }
        for (uint32_t c = 0; c < grid; c++)
            where[c] = -1, depth[c] = -1;
        for (uint64_t i = lo; i < hi; i++) {
            assert_true(map->hops[i].chip < grid);
            assert_int_equal(where[map->hops[i].chip], -1); /* each chip once */
            where[map->hops[i].chip] = (long)i;
        }
        uint32_t src = a->y * w + a->x, sp = 0, seen = 0;
        assert_true(where[src] == (long)lo);
        depth[src] = 0;
        stack[sp++] = src;
        while (sp) {
            uint32_t c = stack[--sp];
            seen++;
            uint64_t r = map->hops[where[c]].route;
            got[c] = r & ~(uint64_t)SNN_ROUTE_LINKS;
            for (unsigned l = 0; l < 6; l++) {
                if (!(r & L(l)))
                    continue;
                uint32_t nx, ny;
                assert_true(snn_machine_neighbour(m, c % w, c / w, l, &nx, &ny));
                uint32_t nc = ny * w + nx;
                assert_true(where[nc] >= 0);
                assert_int_equal(depth[nc], -1); /* reached once: no cycle, no merge */
                assert_int_equal(map->hops[where[nc]].in_link, (int)snn_link_opposite(l));
                assert_true(where[nc] > where[c]);
                depth[nc] = depth[c] + 1;
                stack[sp++] = nc;
                lp[(size_t)c * 6 + l] += a->use.packets_per_step;
            }
        }
        assert_int_equal(seen, hi - lo); /* every hop reached from the source */
        for (uint32_t c = 0; c < grid; c++) {
            if (got[c] != want[c])
                fail_msg("slice %u chip %u: delivers %#llx, want %#llx", s, c,
                         (unsigned long long)got[c], (unsigned long long)want[c]);
            if (want[c])
                assert_int_equal(depth[c], dist[c]); /* a shortest path */
        }
    }
    for (size_t i = 0; ok && i < (size_t)grid * 6; i++)
        if (lp[i] != map->link_packets[i])
            fail_msg("link %zu: %g, want %g", i, map->link_packets[i], lp[i]);
    free(dist), free(depth), free(want), free(got), free(where), free(stack), free(lp);
    return ok;
}

/* A random machine (maybe a torus, maybe with dead chips and links), and
 * n slices on random distinct usable application cores, edges random
 * (each slice to about deg others, self edges included). */
static struct snn_machine *random_machine(void)
{
    uint32_t w = 1 + rnd(9), h = 1 + rnd(9);
    bool wrap = w >= 2 && h >= 2 && rnd(2);
    struct snn_machine *m = grid_machine(w, h, wrap, 2 + rnd(8));
    uint32_t nd = rnd(4) == 0 ? rnd(w * h / 4 + 1) : 0;
    struct snn_chip_ref *dc = calloc(nd + 1, sizeof *dc);
    uint32_t k = 0;
    for (uint32_t i = 0; i < nd; i++) {
        struct snn_chip_ref c;
        c.x = (uint16_t)rnd(w);
        c.y = (uint16_t)rnd(h);
        bool dup = false;
        for (uint32_t j = 0; j < k; j++)
            dup |= dc[j].x == c.x && dc[j].y == c.y;
        if (!dup && k + 1 < w * h)
            dc[k++] = c;
    }
    if (k)
        dead_chips(m, dc, k);
    uint32_t nl = rnd(3) == 0 ? rnd(w * h + 1) : 0;
    struct snn_link_ref *dl = calloc(nl + 1, sizeof *dl);
    uint32_t kl = 0;
    for (uint32_t i = 0; i < nl; i++) {
        struct snn_link_ref l;
        l.x = (uint16_t)rnd(w);
        l.y = (uint16_t)rnd(h);
        l.link = (uint8_t)rnd(6);
        bool bad = false;
        for (uint32_t j = 0; j < kl; j++)
            bad |= dl[j].x == l.x && dl[j].y == l.y && dl[j].link == l.link;
        for (uint32_t j = 0; j < k; j++)
            bad |= dc[j].x == l.x && dc[j].y == l.y;
        if (!bad)
            dl[kl++] = l;
    }
    if (kl)
        dead_links(m, dl, kl);
    free(dc);
    free(dl);
    if (snn_machine_verify(m, NULL) != 0) {
        /* A rule this generator does not know (e.g. a dead link's other
         * end listed too): drop the dead links. */
        m->n_dead_links = 0;
    }
    ready(m);
    return m;
}

static struct fix random_fix(const struct snn_machine *m, uint32_t min_slices, uint32_t max_slices,
                             uint32_t deg)
{
    uint32_t w = m->width, grid = w * m->height;
    uint32_t *free_core = malloc(((size_t)grid * 64 + 1) * sizeof *free_core);
    assert_non_null(free_core);
    uint32_t nf = 0;
    for (uint32_t c = 0; c < grid; c++) {
        uint64_t app = snn_machine_app_cores(m, c % w, c / w);
        for (unsigned k = 0; k < 64; k++)
            if (app >> k & 1)
                free_core[nf++] = c * 64 + k;
    }
    uint32_t n = min_slices + rnd(max_slices - min_slices + 1);
    if (n > nf)
        n = nf;
    struct place *pl = calloc(n, sizeof *pl);
    for (uint32_t s = 0; s < n; s++) {
        uint32_t i = rnd(nf);
        uint32_t v = free_core[i];
        free_core[i] = free_core[--nf];
        pl[s] = (struct place){rnd(3), (uint16_t)(v / 64 % w), (uint16_t)(v / 64 / w),
                               (uint8_t)(v % 64)};
    }
    struct fix f = make(m, 3, pl, n, 1.0);
    for (uint32_t s = 0; s < n; s++)
        f.map->slices[s].use.packets_per_step = (double)(1 + rnd(8)) / 4;
    size_t np = (size_t)n * deg;
    uint32_t(*pairs)[2] = malloc((np + 1) * sizeof *pairs);
    size_t k = 0;
    for (uint32_t s = 0; s < n; s++) {
        uint32_t d = rnd(2 * deg + 1);
        for (uint32_t i = 0; i < d && k < np; i++) {
            pairs[k][0] = s;
            pairs[k][1] = rnd(n);
            k++;
        }
    }
    set_edges(f.map, pairs, k);
    free(pairs);
    free(pl);
    free(free_core);
    return f;
}

static void test_random(void **state)
{
    (void)state;
    rng_state = 0x9e3779b97f4a7c15u;
    int routed = 0, failed = 0;
    for (int round = 0; round < 400; round++) {
        struct snn_machine *m = random_machine();
        struct fix f = random_fix(m, 1, 60, 6);
        char *text = NULL;
        int rc = run_diag(snn_map_route, f.map, &text);
        if (rc == 0) {
            free(text);
            rc = run_diag(verify_fn, f.map, &text);
            if (rc)
                fail_msg("round %d: verify: %s", round, text);
            assert_int_equal(check_trees(f.map), 1);
            routed++;
        } else {
            assert_int_equal(rc, SNN_EUNSUPPORTED);
            assert_non_null(strstr(text, "no working path"));
            assert_null(f.map->hops);
            assert_int_equal(check_trees(f.map), 0);
            failed++;
        }
        free(text);
        unmake(&f);
        snn_machine_free(m);
    }
    /* One SpiNN-5 board: 48 of the 8x8 grid's chips exist. */
    for (int round = 0; round < 40; round++) {
        struct snn_machine *m = grid_machine(8, 8, false, 18);
        m->layout = SNN_LAYOUT_SPINN5_BOARD;
        ready(m);
        struct fix f = random_fix(m, 1, 200, 30);
        route_ok(f.map);
        assert_int_equal(check_trees(f.map), 1);
        unmake(&f);
        snn_machine_free(m);
    }
    /* Both outcomes were exercised. */
    assert_true(routed > 300);
    assert_true(failed > 0);
}

/* Many targets spread over a torus: trees share branches (fewer hops than
 * the sum of the distances) and still reach every target by a shortest
 * path. */
static void test_sharing(void **state)
{
    (void)state;
    struct snn_machine *m = grid_machine(12, 12, true, 18);
    ready(m);
    rng_state = 12345;
    struct fix f = random_fix(m, 400, 400, 60);
    route_ok(f.map);
    assert_int_equal(check_trees(f.map), 1);
    uint64_t sum_dist = 0;
    for (uint32_t s = 0; s < f.map->n_slices; s++) {
        const struct snn_slice *a = &f.map->slices[s];
        uint64_t seen[144 / 64 + 1] = {0};
        for (uint64_t e = f.map->edge_first[s]; e < f.map->edge_first[s + 1]; e++) {
            const struct snn_slice *b = &f.map->slices[f.map->edges[e].post];
            uint32_t c = b->y * 12u + b->x;
            if (seen[c / 64] >> (c % 64) & 1)
                continue;
            seen[c / 64] |= (uint64_t)1 << (c % 64);
            sum_dist += snn_machine_distance(m, a->x, a->y, b->x, b->y, NULL, NULL);
        }
    }
    /* Links used (hops beyond each source) against separate paths. */
    uint64_t links = f.map->n_hops;
    for (uint32_t s = 0; s < f.map->n_slices; s++)
        if (f.map->hop_first[s + 1] > f.map->hop_first[s])
            links--;
    assert_true(links * 2 < sum_dist);
    unmake(&f);
    snn_machine_free(m);
}

/* ---- determinism, allocation failures, the verifier --------------------- */

static void test_deterministic(void **state)
{
    (void)state;
    struct snn_machine *m = grid_machine(8, 8, true, 10);
    dead_links(m, (struct snn_link_ref[]){{3, 3, NE}, {4, 2, N}}, 2);
    dead_chips(m, (struct snn_chip_ref[]){{5, 5}}, 1);
    ready(m);
    rng_state = 777;
    struct fix a = random_fix(m, 1, 200, 20);
    rng_state = 777;
    struct fix b = random_fix(m, 1, 200, 20);
    route_ok(a.map);
    route_ok(b.map);
    assert_int_equal(a.map->n_hops, b.map->n_hops);
    assert_memory_equal(a.map->hop_first, b.map->hop_first,
                        (a.map->n_slices + 1) * sizeof *a.map->hop_first);
    for (uint64_t i = 0; i < a.map->n_hops; i++) {
        assert_int_equal(a.map->hops[i].chip, b.map->hops[i].chip);
        assert_int_equal(a.map->hops[i].in_link, b.map->hops[i].in_link);
        assert_int_equal(a.map->hops[i].route, b.map->hops[i].route);
    }
    assert_memory_equal(a.map->link_packets, b.map->link_packets, 8 * 8 * 6 * sizeof(double));
    unmake(&a);
    unmake(&b);
    snn_machine_free(m);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    struct snn_machine *m = grid_machine(6, 6, true, 18);
    dead_links(m, (struct snn_link_ref[]){{1, 1, E}}, 1);
    ready(m);
    rng_state = 99;
    struct fix f = random_fix(m, 1, 300, 40);
    int failed = 0;
    for (long n = 0;; n++) {
        snn_alloc_fail_after(n);
        int rc = snn_map_route(f.map, NULL);
        snn_alloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SNN_ENOMEM);
        assert_null(f.map->hops);
        assert_null(f.map->hop_first);
        assert_null(f.map->link_packets);
        failed++;
        assert_true(n < 1000);
    }
    assert_true(failed >= 10);
    assert_int_equal(check_trees(f.map), 1);
    for (long n = 0;; n++) {
        snn_alloc_fail_after(n);
        int rc = snn__map_verify_route(f.map, NULL);
        snn_alloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SNN_ENOMEM);
        assert_true(n < 10);
    }
    unmake(&f);
    snn_machine_free(m);
}

static void expect_verify_error(struct snn_map *map, const char *needle)
{
    char *text = NULL;
    assert_int_equal(run_diag(verify_fn, map, &text), SNN_EINVAL);
    if (!strstr(text, needle))
        fail_msg("verifier said '%s', want '%s'", text, needle);
    free(text);
}

static void test_verify_catches(void **state)
{
    (void)state;
    struct snn_machine *m = grid_machine(4, 4, false, 4);
    ready(m);
    struct place pl[] = {{0, 0, 0, 1}, {1, 3, 1, 2}, {1, 3, 2, 1}, {1, 1, 3, 3}, {0, 2, 0, 1}};
    struct fix f = make(m, 2, pl, 5, 2.5);
    uint32_t pairs[][2] = {{0, 1}, {0, 2}, {0, 3}, {0, 4}};
    set_edges(f.map, pairs, 4);
    route_ok(f.map);
    struct snn_hop *h = f.map->hops; /* the tree of test_grid_4x4 */
    struct snn_hop saved[9];
    memcpy(saved, h, sizeof saved);

    /* A missing target: (3,2) core 1 not delivered. */
    h[5].route &= ~C(1);
    expect_verify_error(f.map, "misses core 1 of chip 3,2");
    memcpy(h, saved, sizeof saved);

    /* A core that is no target. */
    h[3].route |= C(3);
    expect_verify_error(f.map, "delivers to core 3 of chip 3,1");
    memcpy(h, saved, sizeof saved);

    /* A cycle: (1,3) sends back SW to (0,2), its parent. */
    h[8].route |= L(SW);
    expect_verify_error(f.map, "sends from chip 1,3 over link SW to chip 0,2");
    memcpy(h, saved, sizeof saved);

    /* The same chip twice. */
    h[7].chip = 0;
    expect_verify_error(f.map, "visits chip 0,0 twice");
    memcpy(h, saved, sizeof saved);

    /* A target no hop reaches: drop the last hop (1,3). */
    f.map->hop_first[1] -= 1;
    f.map->hop_first[2] -= 1;
    f.map->hop_first[3] -= 1;
    f.map->hop_first[4] -= 1;
    f.map->hop_first[5] -= 1;
    f.map->n_hops -= 1;
    expect_verify_error(f.map, "never reaches chip 1,3");
    f.map->n_hops += 1;
    for (int i = 1; i <= 5; i++)
        f.map->hop_first[i] += 1;

    /* A hop entering by a dead end. */
    h[6].in_link = W;
    expect_verify_error(f.map, "enters chip 0,1 by link 3, which does not work");
    memcpy(h, saved, sizeof saved);

    /* A wrong load. */
    f.map->link_packets[0 * 6 + E] += 1;
    expect_verify_error(f.map, "link E of chip 0,0 carries 3.5 packets per step");
    f.map->link_packets[0 * 6 + E] -= 1;

    /* The source hop with an in_link. */
    h[0].in_link = E;
    expect_verify_error(f.map, "starts at chip 0,0 in_link 0");
    memcpy(h, saved, sizeof saved);

    /* Trees that do not add up to n_hops. */
    f.map->hop_first[5] += 1;
    expect_verify_error(f.map, "hop_first runs from 0 to 10, not from 0 to 9");
    f.map->hop_first[5] -= 1;

    /* A slice with edges and no tree: the last edge moved to slice 1. */
    f.map->edge_first[1] -= 1;
    expect_verify_error(f.map, "slice 1 (population 'p1') has 1 edges but no tree");
    f.map->edge_first[1] += 1;

    /* Restored: clean again. */
    char *text = NULL;
    assert_int_equal(run_diag(verify_fn, f.map, &text), 0);
    free(text);
    unmake(&f);
    snn_machine_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_chip),
        cmocka_unit_test(test_torus_2x2),
        cmocka_unit_test(test_grid_4x4),
        cmocka_unit_test(test_dead_link),
        cmocka_unit_test(test_dead_link_shortest),
        cmocka_unit_test(test_dead_chip),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_sharing),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_verify_catches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

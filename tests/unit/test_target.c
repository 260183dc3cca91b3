/*
 * tests/unit/test_target.c: the machine model (target/target.c).
 *
 * Machines are built by hand here (the parser has its own tests in
 * test_target_yaml.c): chip and core counts of the three built-in
 * shapes, the SpiNN-5 board footprint chip by chip, neighbours with and
 * without wrap, at edges and around dead chips and links, the monitor
 * and application cores, every rule of the verifier with its message,
 * and allocation failures in the verifier and the index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/arena.h"
#include "support/err.h"
#include "target/target.h"

/* ---- helpers --------------------------------------------------------- */

static struct snn_machine *machine(uint32_t w, uint32_t h, bool wrap, enum snn_layout layout)
{
    struct snn_machine *m = snn_machine_new();
    assert_non_null(m);
    m->name = "test";
    m->width = w;
    m->height = h;
    m->wrap = wrap;
    m->layout = layout;
    return m;
}

/* Verifies (must pass) and indexes m. */
static void ready(struct snn_machine *m)
{
    assert_int_equal(snn_machine_verify(m, NULL), 0);
    assert_int_equal(snn_machine_index(m), 0);
}

static void dead_chips(struct snn_machine *m, const struct snn_chip_ref *c, size_t n)
{
    m->dead_chips = snn_arena_array(m->arena, n, sizeof *c);
    memcpy(m->dead_chips, c, n * sizeof *c);
    m->n_dead_chips = n;
}

static void dead_cores(struct snn_machine *m, const struct snn_core_ref *c, size_t n)
{
    m->dead_cores = snn_arena_array(m->arena, n, sizeof *c);
    memcpy(m->dead_cores, c, n * sizeof *c);
    m->n_dead_cores = n;
}

static void dead_links(struct snn_machine *m, const struct snn_link_ref *l, size_t n)
{
    m->dead_links = snn_arena_array(m->arena, n, sizeof *l);
    memcpy(m->dead_links, l, n * sizeof *l);
    m->n_dead_links = n;
}

/* The neighbour over link as "x,y", or "none". */
static const char *nb(const struct snn_machine *m, uint32_t x, uint32_t y, unsigned link)
{
    static char buf[32];
    uint32_t nx = 99999, ny = 99999;
    if (!snn_machine_neighbour(m, x, y, link, &nx, &ny))
        return "none";
    snprintf(buf, sizeof buf, "%u,%u", nx, ny);
    return buf;
}

/* Verifies m, which must fail with a message containing want. */
static void verify_fails(const struct snn_machine *m, const char *want)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    struct snn_diag *d = snn_diag_new(f);
    assert_non_null(d);
    int rc = snn_machine_verify(m, d);
    unsigned errors = snn_diag_errors(d);
    snn_diag_free(d);
    fclose(f);
    if (rc != SNN_ESEMA || !strstr(out, want) || errors == 0)
        fail_msg("verify gave %d, want SNN_ESEMA and '%s'; printed:\n%s", rc, want, out);
    free(out);
}

/* ---- geometry ------------------------------------------------------------ */

static void test_links(void **state)
{
    (void)state;
    static const int want_dx[] = {1, 1, 0, -1, -1, 0}, want_dy[] = {0, 1, 1, 0, -1, -1};
    static const char *const names[] = {"E", "NE", "N", "W", "SW", "S"};
    for (unsigned l = 0; l < 6; l++) {
        int dx, dy, ox, oy;
        snn_link_delta(l, &dx, &dy);
        assert_int_equal(dx, want_dx[l]);
        assert_int_equal(dy, want_dy[l]);
        assert_int_equal(snn_link_opposite(l), (l + 3) % 6);
        snn_link_delta(snn_link_opposite(l), &ox, &oy);
        assert_int_equal(dx + ox, 0);
        assert_int_equal(dy + oy, 0);
        assert_string_equal(snn_link_name(l), names[l]);
        assert_int_equal(snn_link_from_name(names[l]), (int)l);
    }
    assert_string_equal(snn_link_name(6), "?");
    assert_int_equal(snn_link_from_name("NW"), -1);
    assert_int_equal(snn_link_from_name("e"), -1);
    assert_string_equal(snn_layout_name(SNN_LAYOUT_FULL), "full");
    assert_string_equal(snn_layout_name(SNN_LAYOUT_SPINN5_BOARD), "spinn5_board");
}

static void test_defaults(void **state)
{
    (void)state;
    struct snn_machine *m = snn_machine_new();
    assert_non_null(m);
    assert_string_equal(m->family, "spinn");
    assert_int_equal(m->cores, 18);
    assert_int_equal(m->monitor_cores, 1);
    assert_int_equal(m->clock_mhz, 200);
    assert_int_equal(m->dtcm_bytes, 65536);
    assert_int_equal(m->itcm_bytes, 32768);
    assert_int_equal(m->sdram_bytes, 134217728);
    assert_int_equal(m->router_entries, 1024);
    assert_int_equal(m->router_reserved, 1);
    assert_int_equal(m->max_neurons, 256);
    assert_int_equal(m->max_synaptic_events, 4000);
    assert_int_equal(snn_machine_router_free(m), 1023);
    m->name = "one";
    ready(m); /* one chip, no wrap */
    assert_int_equal(m->n_chips, 1);
    assert_int_equal(m->n_app_cores, 17);
    for (unsigned l = 0; l < 6; l++)
        assert_string_equal(nb(m, 0, 0, l), "none");
    snn_machine_free(m);
    snn_machine_free(NULL);
}

/* The SpiNN-5 footprint, row by row. */
static void test_spinn5_footprint(void **state)
{
    (void)state;
    static const char *const rows[8] = {
        "#####...", "######..", "#######.", "########",
        ".#######", "..######", "...#####", "....####",
    };
    struct snn_machine *m = machine(8, 8, false, SNN_LAYOUT_SPINN5_BOARD);
    ready(m);
    unsigned count = 0;
    for (uint32_t y = 0; y < 8; y++)
        for (uint32_t x = 0; x < 8; x++) {
            bool want = rows[y][x] == '#';
            count += want;
            if (snn_machine_chip_exists(m, x, y) != want)
                fail_msg("chip (%u, %u): exists %d, want %d", x, y,
                         snn_machine_chip_exists(m, x, y), want);
            assert_int_equal(snn_machine_chip_usable(m, x, y), want);
            assert_int_equal(snn_machine_n_app_cores(m, x, y), want ? 17 : 0);
        }
    assert_int_equal(count, 48);
    assert_int_equal(m->n_chips, 48);
    assert_int_equal(m->n_usable_chips, 48);
    assert_int_equal(m->n_app_cores, 48 * 17);
    assert_false(snn_machine_chip_exists(m, 8, 0));
    assert_false(snn_machine_chip_exists(m, 0, 8));
    assert_false(snn_machine_chip_usable(m, 100, 100));
    snn_machine_free(m);
}

/* The three shapes of the built-in targets. */
static void test_counts(void **state)
{
    (void)state;
    struct snn_machine *m = machine(2, 2, true, SNN_LAYOUT_FULL);
    ready(m);
    assert_int_equal(m->n_chips, 4);
    assert_int_equal(m->n_app_cores, 4 * 17);
    snn_machine_free(m);
    m = machine(36, 36, true, SNN_LAYOUT_FULL);
    ready(m);
    assert_int_equal(m->n_chips, 1296);
    assert_int_equal(m->n_usable_chips, 1296);
    assert_int_equal(m->n_app_cores, 1296 * 17);
    snn_machine_free(m);
}

static void test_neighbours_wrap(void **state)
{
    (void)state;
    struct snn_machine *m = machine(36, 36, true, SNN_LAYOUT_FULL);
    ready(m);
    assert_string_equal(nb(m, 0, 0, 0), "1,0");
    assert_string_equal(nb(m, 0, 0, 1), "1,1");
    assert_string_equal(nb(m, 0, 0, 2), "0,1");
    assert_string_equal(nb(m, 0, 0, 3), "35,0");
    assert_string_equal(nb(m, 0, 0, 4), "35,35");
    assert_string_equal(nb(m, 0, 0, 5), "0,35");
    assert_string_equal(nb(m, 35, 35, 1), "0,0");
    assert_string_equal(nb(m, 35, 0, 0), "0,0");
    assert_string_equal(nb(m, 17, 20, 4), "16,19");
    assert_string_equal(nb(m, 0, 0, 6), "none");
    assert_string_equal(nb(m, 36, 0, 0), "none");
    /* 2x2: both ways round lead to the same chip. */
    struct snn_machine *s = machine(2, 2, true, SNN_LAYOUT_FULL);
    ready(s);
    assert_string_equal(nb(s, 0, 0, 0), "1,0");
    assert_string_equal(nb(s, 0, 0, 3), "1,0");
    assert_string_equal(nb(s, 1, 1, 1), "0,0");
    assert_string_equal(nb(s, 0, 0, 4), "1,1");
    snn_machine_free(s);
    snn_machine_free(m);
}

static void test_neighbours_edges(void **state)
{
    (void)state;
    struct snn_machine *m = machine(8, 8, false, SNN_LAYOUT_SPINN5_BOARD);
    ready(m);
    assert_string_equal(nb(m, 0, 0, 0), "1,0");
    assert_string_equal(nb(m, 0, 0, 1), "1,1");
    assert_string_equal(nb(m, 0, 0, 2), "0,1");
    assert_string_equal(nb(m, 0, 0, 3), "none"); /* off the grid */
    assert_string_equal(nb(m, 0, 0, 4), "none");
    assert_string_equal(nb(m, 0, 0, 5), "none");
    assert_string_equal(nb(m, 4, 0, 0), "none"); /* (5, 0) is not on the board */
    assert_string_equal(nb(m, 4, 0, 1), "5,1");
    assert_string_equal(nb(m, 0, 3, 2), "none"); /* (0, 4) is not on the board */
    assert_string_equal(nb(m, 0, 3, 1), "1,4");
    assert_string_equal(nb(m, 7, 7, 2), "none");
    assert_string_equal(nb(m, 7, 7, 4), "6,6");
    assert_string_equal(nb(m, 5, 0, 0), "none"); /* from a chip that does not exist */
    /* Every link a board chip has is matched by its reverse. */
    unsigned links = 0;
    for (uint32_t y = 0; y < 8; y++)
        for (uint32_t x = 0; x < 8; x++)
            for (unsigned l = 0; l < 6; l++) {
                uint32_t nx, ny, bx, by;
                if (!snn_machine_neighbour(m, x, y, l, &nx, &ny))
                    continue;
                links++;
                assert_true(snn_machine_neighbour(m, nx, ny, snn_link_opposite(l), &bx, &by));
                assert_int_equal(bx, x);
                assert_int_equal(by, y);
            }
    /* 48 chips have 288 link ends; the 48 that leave the board are the
     * ones that join boards, so 120 links lie inside it. */
    assert_int_equal(links, 2 * 120);
    snn_machine_free(m);
}

static void test_dead_parts(void **state)
{
    (void)state;
    struct snn_machine *m = machine(8, 8, false, SNN_LAYOUT_SPINN5_BOARD);
    dead_chips(m, (struct snn_chip_ref[]){{1, 1}}, 1);
    dead_cores(m, (struct snn_core_ref[]){{0, 0, 5}, {2, 0, 0}, {3, 0, 17}}, 3);
    dead_links(m, (struct snn_link_ref[]){{0, 0, 2}, {3, 3, 3}}, 2);
    ready(m);
    assert_int_equal(m->n_chips, 48);
    assert_int_equal(m->n_usable_chips, 47);
    assert_int_equal(m->n_app_cores, 47 * 17 - 3);
    /* Dead chip: not usable, no cores, unreachable, no links out. */
    assert_true(snn_machine_chip_exists(m, 1, 1));
    assert_false(snn_machine_chip_usable(m, 1, 1));
    assert_int_equal(snn_machine_app_cores(m, 1, 1), 0);
    assert_string_equal(nb(m, 0, 0, 1), "none");
    assert_string_equal(nb(m, 2, 1, 3), "none");
    assert_string_equal(nb(m, 2, 2, 4), "none");
    for (unsigned l = 0; l < 6; l++)
        assert_string_equal(nb(m, 1, 1, l), "none");
    /* Dead link: gone from both ends; the others stay. */
    assert_string_equal(nb(m, 0, 0, 2), "none");
    assert_string_equal(nb(m, 0, 1, 5), "none");
    assert_string_equal(nb(m, 0, 0, 0), "1,0");
    assert_string_equal(nb(m, 3, 3, 3), "none");
    assert_string_equal(nb(m, 2, 3, 0), "none");
    assert_string_equal(nb(m, 2, 3, 2), "2,4");
    /* Dead cores: core 0 monitors unless it is dead, then core 1 does. */
    uint64_t all = ((uint64_t)1 << 18) - 1;
    assert_int_equal(snn_machine_app_cores(m, 0, 0), all & ~(uint64_t)1 & ~((uint64_t)1 << 5));
    assert_int_equal(snn_machine_app_cores(m, 2, 0), all & ~(uint64_t)3);
    assert_int_equal(snn_machine_app_cores(m, 3, 0), all & ~(uint64_t)1 & ~((uint64_t)1 << 17));
    assert_int_equal(snn_machine_app_cores(m, 4, 0), all & ~(uint64_t)1);
    assert_int_equal(snn_machine_n_app_cores(m, 0, 0), 16);
    /* Index again after a change: the counts follow. */
    m->monitor_cores = 2;
    ready(m);
    assert_int_equal(snn_machine_n_app_cores(m, 4, 0), 16);
    assert_int_equal(snn_machine_app_cores(m, 2, 0), all & ~(uint64_t)7);
    assert_int_equal(m->n_app_cores, 47 * 16 - 3);
    snn_machine_free(m);
}

/* snn_machine_same: equal machines, and the first difference named. */
static void test_same(void **state)
{
    (void)state;
    struct snn_machine *a = machine(8, 8, false, SNN_LAYOUT_SPINN5_BOARD);
    struct snn_machine *b = machine(8, 8, false, SNN_LAYOUT_SPINN5_BOARD);
    dead_chips(a, (struct snn_chip_ref[]){{1, 1}}, 1);
    dead_links(a, (struct snn_link_ref[]){{0, 0, 2}, {3, 3, 3}}, 2);
    dead_links(b, (struct snn_link_ref[]){{3, 3, 3}, {0, 0, 2}}, 2); /* another order */
    ready(a);
    ready(b);
    char why[200];
    assert_false(snn_machine_same(a, b, why, sizeof why));
    assert_string_equal(why, "1 dead chips, 0 dead cores and 2 dead links, not 0, 0 and 2");
    dead_chips(b, (struct snn_chip_ref[]){{2, 2}}, 1);
    ready(b);
    assert_false(snn_machine_same(a, b, why, sizeof why));
    assert_string_equal(why, "chip (1, 1) dead, not working");
    dead_chips(b, (struct snn_chip_ref[]){{1, 1}}, 1);
    ready(b);
    assert_true(snn_machine_same(a, b, why, sizeof why));
    assert_string_equal(why, "");
    assert_true(snn_machine_same(b, a, why, sizeof why));
    b->name = "another name"; /* names do not matter */
    assert_true(snn_machine_same(a, b, why, sizeof why));
    b->dtcm_bytes = a->dtcm_bytes + 4096;
    assert_false(snn_machine_same(a, b, why, sizeof why));
    char expect[200];
    snprintf(expect, sizeof expect, "%u bytes of DTCM and %u of ITCM a core, not %u and %u",
             a->dtcm_bytes, a->itcm_bytes, b->dtcm_bytes, b->itcm_bytes);
    assert_string_equal(why, expect);
    struct snn_machine *c = machine(4, 4, true, SNN_LAYOUT_FULL);
    ready(c);
    assert_false(snn_machine_same(a, c, why, sizeof why));
    assert_string_equal(why, "8x8 chips, not 4x4");
    c->width = c->height = 8;
    assert_false(snn_machine_same(a, c, why, sizeof why));
    assert_string_equal(why, "no wrap-around, not a torus");
    snn_machine_free(a);
    snn_machine_free(b);
    snn_machine_free(c);
}

/* A dead link on a wrapped edge dies at both ends, across the wrap. */
static void test_dead_link_wrap(void **state)
{
    (void)state;
    struct snn_machine *m = machine(12, 12, true, SNN_LAYOUT_FULL);
    dead_links(m, (struct snn_link_ref[]){{11, 11, 1}}, 1);
    ready(m);
    assert_string_equal(nb(m, 11, 11, 1), "none");
    assert_string_equal(nb(m, 0, 0, 4), "none");
    assert_string_equal(nb(m, 0, 0, 3), "11,0");
    snn_machine_free(m);
}

/* ---- the verifier ------------------------------------------------------- */

static void test_verify_rules(void **state)
{
    (void)state;
    struct snn_machine *m;
#define CASE(setup, want)                                                   \
    do {                                                                    \
        m = machine(8, 8, false, SNN_LAYOUT_FULL);                          \
        setup;                                                              \
        verify_fails(m, want);                                              \
        snn_machine_free(m);                                                \
    } while (0)
    CASE(m->name = NULL, "the machine has no name");
    CASE(m->name = "", "the machine has no name");
    CASE(m->family = "loihi", "family 'loihi' is not supported");
    CASE(m->width = 0, "a 0x8 grid: width and height must be 1 .. 256");
    CASE(m->height = 257, "a 8x257 grid");
    CASE(m->layout = (enum snn_layout)7, "unknown layout 7");
    CASE((m->layout = SNN_LAYOUT_SPINN5_BOARD, m->width = 9),
         "the spinn5_board layout needs an 8x8 grid, not 9x8");
    CASE((m->layout = SNN_LAYOUT_SPINN5_BOARD, m->wrap = true), "is one board and cannot wrap");
    CASE((m->wrap = true, m->width = 1), "wrap needs at least 2x2");
    CASE(m->cores = 0, "0 cores per chip: must be 1 .. 58");
    CASE(m->cores = 65, "65 cores per chip");
    CASE(m->monitor_cores = 18, "18 monitor cores of 18 leave no application core");
    CASE(m->clock_mhz = 0, "the clock must be above 0 MHz");
    CASE(m->dtcm_bytes = 0, "DTCM must be above 0 bytes");
    CASE(m->itcm_bytes = 0, "ITCM must be above 0 bytes");
    CASE(m->sdram_bytes = 0, "SDRAM must be above 0 bytes");
    CASE(m->router_entries = 0, "the router table must have entries");
    CASE(m->router_reserved = 1024, "1024 of 1024 router entries reserved");
    CASE(m->max_neurons = 0, "max_neurons must be above 0");
    CASE(m->max_synaptic_events = 0, "max_synaptic_events must be above 0");
    CASE(dead_chips(m, (struct snn_chip_ref[]){{8, 0}}, 1),
         "dead chip (8, 0) is outside the 8x8 grid");
    CASE((m->layout = SNN_LAYOUT_SPINN5_BOARD, dead_chips(m, (struct snn_chip_ref[]){{7, 0}}, 1)),
         "dead chip (7, 0) is not a chip of the spinn5_board layout");
    CASE(dead_chips(m, (struct snn_chip_ref[]){{1, 2}, {3, 4}, {1, 2}}, 3),
         "dead chip (1, 2) is listed twice");
    CASE(dead_cores(m, (struct snn_core_ref[]){{1, 2, 18}}, 1),
         "dead core (1, 2, 18): a chip has cores 0 .. 17");
    CASE(dead_cores(m, (struct snn_core_ref[]){{0, 9, 1}}, 1),
         "dead core on chip (0, 9) is outside the 8x8 grid");
    CASE(dead_cores(m, (struct snn_core_ref[]){{1, 2, 3}, {1, 2, 3}}, 2),
         "dead core (1, 2, 3) is listed twice");
    CASE(dead_links(m, (struct snn_link_ref[]){{1, 2, 6}}, 1),
         "dead link (1, 2, 6): links are 0 .. 5");
    CASE(dead_links(m, (struct snn_link_ref[]){{1, 2, 4}, {1, 2, 4}}, 2),
         "dead link (1, 2, SW) is listed twice");
    CASE((m->width = m->height = 1, dead_chips(m, (struct snn_chip_ref[]){{0, 0}}, 1)),
         "no chip has a usable application core");
    CASE((m->width = m->height = 1, m->cores = 2,
          dead_cores(m, (struct snn_core_ref[]){{0, 0, 1}}, 1)),
         "no chip has a usable application core");
#undef CASE
    /* Each broken rule is its own report. */
    m = machine(0, 8, false, SNN_LAYOUT_FULL);
    m->cores = 0;
    m->clock_mhz = 0;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    struct snn_diag *d = snn_diag_new(f);
    assert_int_equal(snn_machine_verify(m, d), SNN_ESEMA);
    assert_int_equal(snn_diag_errors(d), 3);
    snn_diag_free(d);
    fclose(f);
    assert_non_null(strstr(out, "target 'test': "));
    free(out);
    snn_machine_free(m);
    /* A dead chip, core and link on a good machine are fine. */
    m = machine(8, 8, false, SNN_LAYOUT_SPINN5_BOARD);
    dead_chips(m, (struct snn_chip_ref[]){{0, 0}}, 1);
    dead_cores(m, (struct snn_core_ref[]){{0, 0, 1}, {7, 7, 17}}, 2);
    dead_links(m, (struct snn_link_ref[]){{7, 7, 2}}, 1);
    assert_int_equal(snn_machine_verify(m, NULL), 0);
    snn_machine_free(m);
}

/* Every allocation failure in verify and index returns SNN_ENOMEM and
 * leaves the machine as it was. */
/* snn_machine_distance against a breadth-first search over the links, on
 * grids with and without wrap, odd and even sides; and the vector it
 * returns leads to the chip in that many hops. */
static void test_distance(void **state)
{
    (void)state;
    static const struct {
        uint32_t w, h;
        bool wrap;
    } grids[] = {{5, 4, false}, {7, 7, true}, {6, 4, true}, {2, 2, true}, {12, 12, true}};
    for (size_t g = 0; g < sizeof grids / sizeof grids[0]; g++) {
        struct snn_machine *m = machine(grids[g].w, grids[g].h, grids[g].wrap, SNN_LAYOUT_FULL);
        ready(m);
        uint32_t n = m->width * m->height;
        uint32_t *dist = malloc(n * sizeof *dist), *queue = malloc(n * sizeof *queue);
        assert_non_null(dist);
        assert_non_null(queue);
        for (uint32_t s = 0; s < n; s++) {
            for (uint32_t i = 0; i < n; i++)
                dist[i] = UINT32_MAX;
            uint32_t head = 0, tail = 0;
            dist[s] = 0;
            queue[tail++] = s;
            while (head < tail) {
                uint32_t c = queue[head++], nx, ny;
                for (unsigned l = 0; l < 6; l++) {
                    if (snn_machine_neighbour(m, c % m->width, c / m->width, l, &nx, &ny) &&
                        dist[ny * m->width + nx] == UINT32_MAX) {
                        dist[ny * m->width + nx] = dist[c] + 1;
                        queue[tail++] = ny * m->width + nx;
                    }
                }
            }
            uint32_t x0 = s % m->width, y0 = s / m->width;
            for (uint32_t t = 0; t < n; t++) {
                uint32_t x1 = t % m->width, y1 = t / m->width;
                int dx, dy;
                uint32_t d = snn_machine_distance(m, x0, y0, x1, y1, &dx, &dy);
                assert_int_equal(d, dist[t]);
                /* The vector reaches (x1, y1), wrapping where the grid does. */
                int64_t tx = (int64_t)x0 + dx, ty = (int64_t)y0 + dy;
                if (m->wrap) {
                    tx = ((tx % m->width) + m->width) % m->width;
                    ty = ((ty % m->height) + m->height) % m->height;
                }
                assert_int_equal(tx, x1);
                assert_int_equal(ty, y1);
                int ax = dx < 0 ? -dx : dx, ay = dy < 0 ? -dy : dy;
                uint32_t hops = (dx >= 0) == (dy >= 0) ? (uint32_t)(ax > ay ? ax : ay)
                                                       : (uint32_t)(ax + ay);
                assert_int_equal(hops, d);
            }
        }
        free(dist);
        free(queue);
        snn_machine_free(m);
    }
}

static void test_alloc_failures(void **state)
{
    (void)state;
    struct snn_machine *m = machine(36, 36, true, SNN_LAYOUT_FULL);
    dead_chips(m, (struct snn_chip_ref[]){{1, 1}, {2, 2}}, 2);
    dead_cores(m, (struct snn_core_ref[]){{0, 0, 5}, {3, 3, 3}}, 2);
    dead_links(m, (struct snn_link_ref[]){{0, 0, 2}, {5, 5, 0}}, 2);
    int failed = 0;
    for (long n = 0; n < 64; n++) {
        snn_alloc_fail_after(n);
        int rc = snn_machine_verify(m, NULL);
        snn_alloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SNN_ENOMEM);
        failed++;
    }
    assert_true(failed > 0);
    for (long n = 0;; n++) {
        snn_alloc_fail_after(n);
        int rc = snn_machine_index(m);
        snn_alloc_fail_after(-1);
        if (rc == 0)
            break;
        assert_int_equal(rc, SNN_ENOMEM);
        assert_null(m->chip);
        assert_true(n < 64);
    }
    assert_int_equal(m->n_usable_chips, 1294);
    snn_machine_free(m);
    for (long n = 0; n < 4; n++) {
        snn_alloc_fail_after(n);
        struct snn_machine *x = snn_machine_new();
        snn_alloc_fail_after(-1);
        snn_machine_free(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_links),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_spinn5_footprint),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_neighbours_wrap),
        cmocka_unit_test(test_neighbours_edges),
        cmocka_unit_test(test_dead_parts), cmocka_unit_test(test_same),
        cmocka_unit_test(test_dead_link_wrap),
        cmocka_unit_test(test_verify_rules),
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

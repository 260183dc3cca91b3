/*
 * tests/unit/test_map_compress.c: the compress pass (mapper/compress.c).
 *
 * Tables are built by hand, so these tests do not depend on the tables
 * pass; maps are assembled field by field (no other pass runs).  Covered:
 * hand-checked tables with their exact compressed form (a block of one
 * route, the order-exploiting case pairs cannot reach, default-routed
 * keys that must stay unmatched, a cube with one corner missing; the
 * pre-merge of aligned buddies, alone (FIT with room for exactly its
 * result) and followed by ordered covering, and left out on a table of
 * overlapping entries where it would be wrong); the pre-merge against a
 * slow reference on random aligned-block tables, and brute-force
 * equivalence on them with and without overlapping entries put in;
 * equivalence by brute force over every key of a 12-bit space on many
 * random tables (disjoint and overlapping, with default-routed keys),
 * ordered covering never worse than pair merging there; FIT stopping as
 * soon as the table fits and leaving fitting tables untouched; the pass
 * on random maps checked hop by hop by an exact ternary checker (entries
 * no packet uses dropped, default-routed blocks unmatched); the error
 * text; allocation failures; determinism; and a synthetic case the size
 * of the benchmark, timed (figures printed with SNN_COMPRESS_BENCH=1).
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

#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"
#include "target/target.h"
#include "map_testlib.h"

/* ---- helpers --------------------------------------------------------- */

static void seed(uint64_t s)
{
    rng_state = s * 0x9E3779B97F4A7C15u + 1;
}

/* 12-bit key spaces are padded with fixed upper bits, so the compressor
 * sees full 32-bit keys with most bits defined. */
#define PAD 0xA5C3E000u
#define PAD_MASK 0xFFFFF000u

static struct snn_rentry ent(uint32_t key, uint32_t mask, uint64_t route)
{
    return (struct snn_rentry){PAD | key, PAD_MASK | mask, route, 0};
}

/* The route of key in e[0 .. n), first match; 0 when nothing matches
 * (no test route is 0). */
static uint64_t lookup(const struct snn_rentry *e, uint32_t n, uint32_t key)
{
    for (uint32_t i = 0; i < n; i++)
        if ((key & e[i].mask) == (e[i].key & e[i].mask))
            return e[i].route;
    return 0;
}

static bool in_sets(const struct snn__keyset *d, uint32_t nd, uint32_t key)
{
    for (uint32_t i = 0; i < nd; i++)
        if ((key & d[i].mask) == (d[i].key & d[i].mask))
            return true;
    return false;
}

/* Every key of the padded 12-bit space: a key routed by before keeps its
 * route after; a default key matches nothing after. */
static void check_equivalent(const struct snn_rentry *before, uint32_t nb,
                             const struct snn_rentry *after, uint32_t na,
                             const struct snn__keyset *d, uint32_t nd)
{
    for (uint32_t k = 0; k < 4096; k++) {
        uint32_t key = PAD | k;
        uint64_t r = lookup(before, nb, key);
        if (r)
            assert_int_equal(lookup(after, na, key), r);
        else if (in_sets(d, nd, key))
            assert_int_equal(lookup(after, na, key), 0);
    }
}

static bool meets(uint32_t k1, uint32_t m1, uint32_t k2, uint32_t m2)
{
    return ((k1 ^ k2) & m1 & m2) == 0;
}

/*
 * Exactly whether every key of the set (k, m) first-matches, from entry
 * `from` on, an entry of route r (none: matches no entry).  A set an entry
 * only partly overlaps is split on a bit the entry fixes.
 */
static bool set_ok(const struct snn_rentry *e, uint32_t n, uint32_t from, uint32_t k,
                   uint32_t m, bool none, uint64_t r)
{
    k &= m;
    for (uint32_t i = from; i < n; i++) {
        uint32_t ek = e[i].key & e[i].mask, em = e[i].mask;
        if (!meets(k, m, ek, em))
            continue;
        uint32_t split = em & ~m;
        if (!split)
            return !none && e[i].route == r;
        split &= -split;
        return set_ok(e, n, i, k, m | split, none, r) &&
               set_ok(e, n, i, k | split, m | split, none, r);
    }
    return none;
}

static void shuffle(struct snn_rentry *e, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rnd(i);
        struct snn_rentry t = e[i - 1];
        e[i - 1] = e[j];
        e[j] = t;
    }
}

static const uint64_t routes[] = {
    SNN_ROUTE_LINK(0), SNN_ROUTE_LINK(2), SNN_ROUTE_CORE(3),
    SNN_ROUTE_LINK(1) | SNN_ROUTE_CORE(5), SNN_ROUTE_CORE(57),
};

/* A random table of disjoint cubes over the 12-bit space: the space is
 * split on random bits; each piece becomes an entry (of one of n_routes
 * routes), a default-routed set, or nothing. */
static void split_space(uint32_t key, uint32_t mask, int depth, uint32_t n_routes,
                        struct snn_rentry *e, uint32_t *n, struct snn__keyset *d, uint32_t *nd)
{
    uint32_t free_bits = 0xFFFu & ~mask;
    if (free_bits && (depth < 3 || rnd(100) < 75)) {
        uint32_t k = (uint32_t)__builtin_popcount(free_bits), pick = rnd(k), bit = 0;
        for (uint32_t b = free_bits; b; b &= b - 1, pick--)
            if (pick == 0) {
                bit = b & -b;
                break;
            }
        split_space(key, mask | bit, depth + 1, n_routes, e, n, d, nd);
        split_space(key | bit, mask | bit, depth + 1, n_routes, e, n, d, nd);
        return;
    }
    uint32_t what = rnd(100);
    if (what < 62)
        e[(*n)++] = ent(key, mask, routes[rnd(n_routes)]);
    else if (what < 80)
        d[(*nd)++] = (struct snn__keyset){PAD | key, PAD_MASK | mask};
}

/* A machine of w x h chips with a router of `entries` entries (one kept
 * by the system). */
static struct snn_machine *machine(uint32_t w, uint32_t h, uint32_t entries)
{
    struct snn_machine *m = snn_machine_new();
    assert_non_null(m);
    m->name = "test";
    m->width = w;
    m->height = h;
    m->wrap = w >= 2 && h >= 2;
    m->router_entries = entries;
    m->router_reserved = 1;
    assert_int_equal(snn_machine_verify(m, NULL), 0);
    assert_int_equal(snn_machine_index(m), 0);
    return m;
}

/* A map assembled by hand (no pass runs): tables, and optionally slices
 * and hops.  Built without map.c so only the pass under test is linked. */
static struct snn_map *new_map(const struct snn_machine *m, enum snn_compress_mode mode)
{
    struct snn_map *map = calloc(1, sizeof *map);
    assert_non_null(map);
    map->arena = snn_arena_new();
    assert_non_null(map->arena);
    map->m = m;
    map->opt.compress = mode;
    map->opt.rate_hz = 10.0;
    map->tables = snn_arena_array(map->arena, (size_t)m->width * m->height, sizeof *map->tables);
    assert_non_null(map->tables);
    return map;
}

static void free_map(struct snn_map *map)
{
    snn_arena_free(map->arena);
    free(map);
}

static void set_table(struct snn_map *map, uint32_t c, const struct snn_rentry *e, uint32_t n)
{
    struct snn_rentry *copy = snn_arena_array(map->arena, n ? n : 1, sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, e, n * sizeof *copy);
    map->tables[c] = (struct snn_rtable){copy, n, n};
}

/* A copy of every table (entries and counts), to compare. */
struct snapshot {
    struct snn_rentry **e;
    uint32_t *n;
    struct snn_rentry **ptr;
    uint32_t n_chips;
};

static struct snapshot snap(const struct snn_map *map)
{
    struct snapshot s;
    s.n_chips = map->m->width * map->m->height;
    s.e = calloc(s.n_chips, sizeof *s.e);
    s.n = calloc(s.n_chips, sizeof *s.n);
    s.ptr = calloc(s.n_chips, sizeof *s.ptr);
    for (uint32_t c = 0; c < s.n_chips; c++) {
        s.n[c] = map->tables[c].n;
        s.ptr[c] = map->tables[c].e;
        s.e[c] = malloc((s.n[c] ? s.n[c] : 1) * sizeof **s.e);
        if (s.n[c])
            memcpy(s.e[c], map->tables[c].e, s.n[c] * sizeof **s.e);
    }
    return s;
}

static bool same_tables(const struct snapshot *s, const struct snn_map *map)
{
    for (uint32_t c = 0; c < s->n_chips; c++) {
        if (map->tables[c].n != s->n[c])
            return false;
        if (s->n[c] && memcmp(map->tables[c].e, s->e[c], s->n[c] * sizeof **s->e) != 0)
            return false;
    }
    return true;
}

static void snap_free(struct snapshot *s)
{
    for (uint32_t c = 0; c < s->n_chips; c++)
        free(s->e[c]);
    free(s->e);
    free(s->n);
    free(s->ptr);
}

/* Checks every hop of the map against the current tables: a default-
 * routed hop's block matches nothing, any other is routed as its hop. */
static void check_hops(const struct snn_map *map)
{
    for (uint32_t s = 0; s < map->n_slices; s++) {
        const struct snn_slice *sl = &map->slices[s];
        for (uint64_t h = map->hop_first[s]; h < map->hop_first[s + 1]; h++) {
            const struct snn_hop *hop = &map->hops[h];
            const struct snn_rtable *t = &map->tables[hop->chip];
            bool straight = hop->in_link >= 0 &&
                            hop->route == SNN_ROUTE_LINK((unsigned)(hop->in_link + 3) % 6);
            if (!set_ok(t->e, t->n, 0, sl->key, sl->mask, straight, hop->route))
                fail_msg("slice %u on chip %u: %s", s, hop->chip,
                         straight ? "default-routed block matched" : "wrong route");
        }
    }
}

static char *diag_text(void (*fn)(struct snn_diag *, void *), void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    struct snn_diag *d = snn_diag_new(f);
    assert_non_null(d);
    fn(d, arg);
    snn_diag_free(d);
    fclose(f);
    return buf;
}

/* ---- hand-checked tables --------------------------------------------- */

/* Sixteen consecutive keys of one route (in scrambled order) become one
 * entry; a seventeenth of another route stays beside it. */
static void test_block_of_one_route(void **state)
{
    (void)state;
    struct snn_rentry e[17];
    for (uint32_t i = 0; i < 16; i++)
        e[i] = ent(0x100 | ((i * 7) & 15), 0xFFF, SNN_ROUTE_LINK(0));
    e[16] = ent(0x200, 0xF00, SNN_ROUTE_LINK(2));
    uint32_t n;
    assert_int_equal(snn__map_compress_table(e, 17, NULL, 0, 0, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].key, PAD | 0x100);
    assert_int_equal(e[0].mask, PAD_MASK | 0xFF0);
    assert_true(e[0].route == SNN_ROUTE_LINK(0));
    assert_int_equal(e[1].key, PAD | 0x200);
    assert_int_equal(e[1].mask, PAD_MASK | 0xF00);
    assert_true(e[1].route == SNN_ROUTE_LINK(2));
}

/* 0000, 0001, 0010 -> N and 0011 -> E: ordered covering puts 0011 first
 * and covers the rest with 00XX (2 entries, the minimum); pair merging,
 * which keeps entries disjoint, needs 3. */
static void test_order_beats_pairs(void **state)
{
    (void)state;
    const uint64_t N = SNN_ROUTE_LINK(2), E = SNN_ROUTE_LINK(0);
    struct snn_rentry t[4] = {ent(0, 0xFFF, N), ent(1, 0xFFF, N), ent(2, 0xFFF, N),
                              ent(3, 0xFFF, E)};
    struct snn_rentry e[4], p[4];
    memcpy(e, t, sizeof t);
    memcpy(p, t, sizeof t);
    uint32_t n, np;
    assert_int_equal(snn__map_compress_table(e, 4, NULL, 0, 0, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].key, PAD | 3);
    assert_int_equal(e[0].mask, PAD_MASK | 0xFFF);
    assert_true(e[0].route == E);
    assert_int_equal(e[1].key, PAD | 0);
    assert_int_equal(e[1].mask, PAD_MASK | 0xFFC);
    assert_true(e[1].route == N);
    assert_int_equal(snn__map_compress_pairs(p, 4, NULL, 0, &np), 0);
    assert_int_equal(np, 3);
    check_equivalent(t, 4, e, n, NULL, 0);
    check_equivalent(t, 4, p, np, NULL, 0);
}

/* Four N keys no two of which are aligned buddies (so the pre-merge
 * leaves them), 111 default-routed: XXX would catch it.  Each of bits 0,
 * 1, 2 would cost two entries; the down-check fixes the lowest, bit 0, to
 * 0: XX0 merges 000 and 110, and 011 and 101 stay, more specific, first
 * (no two cubes can do it: any cube holding 011 and 101 holds 111, and
 * neither of theirs can also hold both 000 and 110 without 111). */
static void test_default_keys_stay_unmatched(void **state)
{
    (void)state;
    const uint64_t N = SNN_ROUTE_LINK(2);
    struct snn_rentry e[4] = {ent(0, 0xFFF, N), ent(3, 0xFFF, N), ent(5, 0xFFF, N),
                              ent(6, 0xFFF, N)};
    struct snn_rentry t[4];
    memcpy(t, e, sizeof e);
    struct snn__keyset d = {PAD | 7, PAD_MASK | 0xFFF};
    uint32_t n;
    assert_int_equal(snn__map_compress_table(e, 4, &d, 1, 0, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(e[0].key, PAD | 3);
    assert_int_equal(e[0].mask, PAD_MASK | 0xFFF);
    assert_int_equal(e[1].key, PAD | 5);
    assert_int_equal(e[1].mask, PAD_MASK | 0xFFF);
    assert_int_equal(e[2].key, PAD | 0);
    assert_int_equal(e[2].mask, PAD_MASK | 0xFF9);
    check_equivalent(t, 4, e, n, &d, 1);
    /* Without the default set the same table takes one entry. */
    memcpy(e, t, sizeof t);
    assert_int_equal(snn__map_compress_table(e, 4, NULL, 0, 0, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].key, PAD | 0);
    assert_int_equal(e[0].mask, PAD_MASK | 0xFF8);

    /* 000, 001, 010 -> N with 011 default-routed: the pre-merge joins the
     * buddies 000 and 001 into 00X; 0XX would catch 011, and fixing bit
     * 0 or bit 1 (one entry each; bit 0, the lowest) leaves one entry, so
     * 010 stays, more specific, first. */
    struct snn_rentry f[3] = {ent(0, 0xFFF, N), ent(1, 0xFFF, N), ent(2, 0xFFF, N)};
    struct snn_rentry tf[3];
    memcpy(tf, f, sizeof f);
    struct snn__keyset d3 = {PAD | 3, PAD_MASK | 0xFFF};
    assert_int_equal(snn__map_compress_table(f, 3, &d3, 1, 0, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(f[0].key, PAD | 2);
    assert_int_equal(f[0].mask, PAD_MASK | 0xFFF);
    assert_int_equal(f[1].key, PAD | 0);
    assert_int_equal(f[1].mask, PAD_MASK | 0xFFE);
    check_equivalent(tf, 3, f, n, &d3, 1);
}

/* Known minima: seven corners of a 3-cube with the eighth default-routed
 * need three cubes; with the eighth of another route, two entries (the
 * odd one first, then XXX). */
static void test_known_minima(void **state)
{
    (void)state;
    const uint64_t A = SNN_ROUTE_CORE(1), B = SNN_ROUTE_CORE(2);
    struct snn_rentry e[8], t[8];
    uint32_t n = 0;
    for (uint32_t k = 0; k < 8; k++)
        if (k != 5)
            e[n++] = ent(k, 0xFFF, A);
    memcpy(t, e, sizeof e);
    struct snn__keyset d = {PAD | 5, PAD_MASK | 0xFFF};
    uint32_t out;
    assert_int_equal(snn__map_compress_table(e, n, &d, 1, 0, &out), 0);
    assert_int_equal(out, 3);
    check_equivalent(t, n, e, out, &d, 1);

    n = 0;
    for (uint32_t k = 0; k < 8; k++)
        e[n++] = ent(k, 0xFFF, k == 5 ? B : A);
    memcpy(t, e, sizeof e);
    assert_int_equal(snn__map_compress_table(e, n, NULL, 0, 0, &out), 0);
    assert_int_equal(out, 2);
    assert_int_equal(e[0].key, PAD | 5);
    assert_true(e[0].route == B);
    assert_int_equal(e[1].mask, PAD_MASK | 0xFF8);
    assert_true(e[1].route == A);
    check_equivalent(t, 8, e, out, NULL, 0);
}

/* An entry hidden behind an earlier one goes; overlapping entries whose
 * order matters (a general one first) are not reordered. */
static void test_hidden_and_order_kept(void **state)
{
    (void)state;
    const uint64_t A = SNN_ROUTE_LINK(3), B = SNN_ROUTE_LINK(4);
    /* 0x10X -> A first, 0x100 -> B hidden behind it. */
    struct snn_rentry e[3] = {ent(0x100, 0xFFE, A), ent(0x100, 0xFFF, B), ent(0x300, 0xFFF, B)};
    struct snn_rentry t[3];
    memcpy(t, e, sizeof e);
    uint32_t n;
    assert_int_equal(snn__map_compress_table(e, 3, NULL, 0, 0, &n), 0);
    assert_int_equal(n, 2);
    check_equivalent(t, 3, e, n, NULL, 0);
    /* A general entry before a specific one it overlaps, routes differ,
     * plus a same-route specific entry: sorting by generality would
     * change routes, so the order stays and the result is equivalent. */
    struct snn_rentry g[4] = {ent(0x000, 0xF00, A), ent(0x001, 0xFFF, B), ent(0x101, 0xFFF, B),
                              ent(0x201, 0xFFF, A)};
    struct snn_rentry t4[4];
    memcpy(t4, g, sizeof g);
    assert_int_equal(snn__map_compress_table(g, 4, NULL, 0, 0, &n), 0);
    check_equivalent(t4, 4, g, n, NULL, 0);
    assert_true(n <= 4);
}

/* ---- random tables, brute force -------------------------------------- */

/* Disjoint random tables: MIN and FIT (random targets) keep every route
 * and leave default keys unmatched; MIN is never longer than pair merging;
 * FIT reaches its target whenever MIN does. */
static void test_random_disjoint(void **state)
{
    (void)state;
    static struct snn_rentry t[4096], e[4096], p[4096];
    static struct snn__keyset d[4096];
    uint64_t sum_oc = 0, sum_pairs = 0, sum_in = 0;
    for (uint64_t s = 1; s <= 400; s++) {
        seed(s);
        uint32_t n = 0, nd = 0;
        split_space(0, 0, 0, 2 + rnd(4), t, &n, d, &nd);
        shuffle(t, n);
        memcpy(e, t, n * sizeof *t);
        uint32_t n_min, n_pairs, n_fit;
        assert_int_equal(snn__map_compress_table(e, n, d, nd, 0, &n_min), 0);
        check_equivalent(t, n, e, n_min, d, nd);
        memcpy(p, t, n * sizeof *t);
        assert_int_equal(snn__map_compress_pairs(p, n, d, nd, &n_pairs), 0);
        check_equivalent(t, n, p, n_pairs, d, nd);
        assert_true(n_min <= n_pairs);
        sum_in += n;
        sum_oc += n_min;
        sum_pairs += n_pairs;

        uint32_t target = n ? rnd(n + 1) : 0;
        memcpy(e, t, n * sizeof *t);
        assert_int_equal(snn__map_compress_table(e, n, d, nd, target, &n_fit), 0);
        check_equivalent(t, n, e, n_fit, d, nd);
        if (n <= target)
            assert_int_equal(n_fit, n);
        else if (n_min <= target)
            assert_true(n_fit <= target);
        else
            assert_int_equal(n_fit, n_min);
    }
    assert_true(sum_oc < sum_pairs);
    if (getenv("SNN_COMPRESS_BENCH"))
        print_message("random disjoint: %llu entries -> ordered covering %llu, pairs %llu\n",
                      (unsigned long long)sum_in, (unsigned long long)sum_oc,
                      (unsigned long long)sum_pairs);
}

/* Overlapping random tables (priority matters): every key any entry
 * routes keeps its first-match route; default keys stay unmatched. */
static void test_random_overlapping(void **state)
{
    (void)state;
    struct snn_rentry t[120], e[120];
    struct snn__keyset d[40];
    for (uint64_t s = 1; s <= 400; s++) {
        seed(1000 + s);
        uint32_t n = 2 + rnd(100), nd = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t xbits = 0;
            uint32_t nx = rnd(7);
            for (uint32_t k = 0; k < nx; k++)
                xbits |= 1u << rnd(12);
            t[i] = ent(rnd(4096) & ~xbits, 0xFFF & ~xbits, routes[rnd(3)]);
        }
        /* Default sets: keys no entry routes. */
        for (uint32_t tries = 0; tries < 200 && nd < 40; tries++) {
            uint32_t k = rnd(4096) & ~1u;
            struct snn__keyset c = {PAD | k, PAD_MASK | 0xFFE};
            bool free_set = true;
            for (uint32_t i = 0; i < n && free_set; i++)
                free_set = !meets(c.key, c.mask, t[i].key, t[i].mask);
            if (free_set)
                d[nd++] = c;
        }
        memcpy(e, t, n * sizeof *t);
        uint32_t out;
        assert_int_equal(snn__map_compress_table(e, n, d, nd, 0, &out), 0);
        assert_true(out <= n);
        check_equivalent(t, n, e, out, d, nd);
    }
}

/* ---- the pre-merge ---------------------------------------------------- */

/* Entries equal field by field (the struct has padding). */
static void assert_entries(const struct snn_rentry *a, const struct snn_rentry *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(a[i].key, b[i].key);
        assert_int_equal(a[i].mask, b[i].mask);
        assert_true(a[i].route == b[i].route);
        assert_int_equal(a[i].source, b[i].source);
    }
}

/* Aligned buddies of one route merge first, whatever the table order; the
 * merged entry keeps the place and source of its earliest part.  With
 * room for exactly what the pre-merge leaves, FIT returns its result. */
static void test_premerge_hand(void **state)
{
    (void)state;
    const uint64_t A = SNN_ROUTE_LINK(1), B = SNN_ROUTE_CORE(4), C = SNN_ROUTE_CORE(7);
    struct snn_rentry t[8] = {
        ent(0x105, 0xFFF, A), ent(0x100, 0xFFC, A), ent(0x104, 0xFFF, A), ent(0x200, 0xFFF, B),
        ent(0x106, 0xFFE, A), ent(0x201, 0xFFF, B), ent(0x108, 0xFFF, A), ent(0x202, 0xFFF, C),
    };
    for (uint32_t i = 0; i < 8; i++)
        t[i].source = 10 + i;
    struct snn_rentry e[8];
    memcpy(e, t, sizeof t);
    uint32_t n;
    /* 104 + 105 = 10[01]X, + 106/7 = 1[01]XX, + 100..103 = 10XXX (at
     * 105's place, its source); 108 has no buddy; 200 + 201 = 20[0]X;
     * 202 is C's alone. */
    assert_int_equal(snn__map_compress_table(e, 8, NULL, 0, 4, &n), 0);
    assert_int_equal(n, 4);
    const struct snn_rentry want[4] = {
        {PAD | 0x100, PAD_MASK | 0xFF8, A, 10},
        {PAD | 0x200, PAD_MASK | 0xFFE, B, 13},
        {PAD | 0x108, PAD_MASK | 0xFFF, A, 16},
        {PAD | 0x202, PAD_MASK | 0xFFF, C, 17},
    };
    assert_entries(e, want, 4);
    check_equivalent(t, 8, e, n, NULL, 0);

    /* MIN goes on: 10XXX and 108 make 1XXXX (A), placed after the more
     * specific 202 (C) and 20X (B); 108 was first in the sorted table, so
     * the merge takes its source. */
    memcpy(e, t, sizeof t);
    assert_int_equal(snn__map_compress_table(e, 8, NULL, 0, 0, &n), 0);
    assert_int_equal(n, 3);
    const struct snn_rentry want_min[3] = {
        {PAD | 0x202, PAD_MASK | 0xFFF, C, 17},
        {PAD | 0x200, PAD_MASK | 0xFFE, B, 13},
        {PAD | 0x100, PAD_MASK | 0xFF0, A, 16},
    };
    assert_entries(e, want_min, 3);
    check_equivalent(t, 8, e, n, NULL, 0);

    /* FIT with room for 12 of 16 consecutive keys (4 routes of 4): the
     * pre-merge stops as soon as it fits: 0..3 (route 0) become 00XX,
     * then 10 and 11 (route 1) make 1[0]X at 10's place; the rest stay. */
    struct snn_rentry f[16], tf[16];
    for (uint32_t r = 0; r < 4; r++)
        for (uint32_t i = 0; i < 4; i++) {
            f[r * 4 + i] = ent(r << 4 | i, 0xFFF, routes[r]);
            f[r * 4 + i].source = r * 4 + i;
        }
    memcpy(tf, f, sizeof f);
    assert_int_equal(snn__map_compress_table(f, 16, NULL, 0, 12, &n), 0);
    assert_int_equal(n, 12);
    assert_int_equal(f[0].key, PAD | 0x00);
    assert_int_equal(f[0].mask, PAD_MASK | 0xFFC);
    assert_int_equal(f[1].key, PAD | 0x10);
    assert_int_equal(f[1].mask, PAD_MASK | 0xFFE);
    assert_int_equal(f[1].source, 4);
    assert_entries(&f[2], &tf[6], 10);
    check_equivalent(tf, 16, f, n, NULL, 0);
}

/* Overlapping entries: 10X (B) first, then 102 (A), then 10[1]X (B):
 * 100..101 and 102..103 are aligned buddies of route B, but 102 must
 * still go to A, which their union placed first would take.  The
 * pre-merge must leave this table alone; with room for 2, a wrong merge
 * would stop right there. */
static void test_premerge_not_on_overlaps(void **state)
{
    (void)state;
    const uint64_t A = SNN_ROUTE_LINK(5), B = SNN_ROUTE_CORE(0);
    struct snn_rentry t[3] = {ent(0x100, 0xFFE, B), ent(0x102, 0xFFF, A),
                              ent(0x102, 0xFFE, B)};
    struct snn_rentry e[3];
    for (uint32_t target = 0; target <= 2; target += 2) {
        memcpy(e, t, sizeof t);
        uint32_t n;
        assert_int_equal(snn__map_compress_table(e, 3, NULL, 0, target, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(e[0].key, PAD | 0x102);
        assert_int_equal(e[0].mask, PAD_MASK | 0xFFF);
        assert_true(e[0].route == A);
        assert_int_equal(e[1].key, PAD | 0x100);
        assert_int_equal(e[1].mask, PAD_MASK | 0xFFC);
        assert_true(e[1].route == B);
        check_equivalent(t, 3, e, n, NULL, 0);
    }
}

/* A random table of aligned blocks (prefix masks) over the 12-bit space,
 * as the tables pass makes them: a block is halved (its halves keeping
 * its route mostly), or becomes an entry, a default-routed set, or
 * nothing. */
static void split_prefix(uint32_t key, uint32_t bits, int depth, uint64_t route,
                         uint32_t n_routes, struct snn_rentry *e, uint32_t *n,
                         struct snn__keyset *d, uint32_t *nd)
{
    if (rnd(100) < 15)
        route = routes[rnd(n_routes)];
    if (bits > 0 && (depth < 3 || rnd(100) < 85)) {
        uint32_t half = 1u << (bits - 1);
        split_prefix(key, bits - 1, depth + 1, route, n_routes, e, n, d, nd);
        split_prefix(key | half, bits - 1, depth + 1, route, n_routes, e, n, d, nd);
        return;
    }
    uint32_t what = rnd(100), mask = 0xFFFu & ~((1u << bits) - 1);
    if (what < 75)
        e[(*n)++] = ent(key, mask, route);
    else if (what < 88)
        d[(*nd)++] = (struct snn__keyset){PAD | key, PAD_MASK | mask};
}

/* What the pre-merge must give, the slow way: merge any pair of aligned
 * buddies of one route (into the earlier one's place, with its source)
 * until none is left. */
static uint32_t buddy_reference(struct snn_rentry *e, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        e[i].key &= e[i].mask;
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t i = 0; i < n && !changed; i++)
            for (uint32_t j = 0; j < n && !changed; j++) {
                uint32_t low = e[i].mask & -e[i].mask;
                if (i == j || e[i].route != e[j].route || e[i].mask != e[j].mask || !low ||
                    (e[i].key & low) || e[j].key != (e[i].key | low))
                    continue;
                uint32_t a = i < j ? i : j, b = i < j ? j : i;
                e[a].key = e[i].key;
                e[a].mask &= ~low;
                memmove(&e[b], &e[b + 1], (n - b - 1) * sizeof *e);
                n--;
                changed = true;
            }
    }
    return n;
}

/* Random aligned-block tables (in key order or shuffled): with room for
 * exactly what buddy merging leaves, the result is the reference, entry
 * for entry; MIN keeps every route and default key, never worse than
 * pairs; random FIT targets are met whenever MIN meets them.  Then the
 * same tables with a few overlapping blocks of other routes put in at
 * random places (the pre-merge must step aside): brute-force equivalence
 * for MIN and FIT. */
static void test_premerge_random(void **state)
{
    (void)state;
    static struct snn_rentry t[4200], e[4200], r[4200], p[4200];
    static struct snn__keyset d[4096];
    uint64_t sum_in = 0, sum_ref = 0, sum_min = 0;
    for (uint64_t s = 1; s <= 300; s++) {
        seed(9000 + s);
        uint32_t n = 0, nd = 0, n_routes = 2 + rnd(4);
        split_prefix(0, 12, 0, routes[rnd(n_routes)], n_routes, t, &n, d, &nd);
        if (s % 2)
            shuffle(t, n);
        for (uint32_t i = 0; i < n; i++)
            t[i].source = i;
        memcpy(r, t, n * sizeof *t);
        uint32_t n_ref = buddy_reference(r, n), out;
        memcpy(e, t, n * sizeof *t);
        assert_int_equal(snn__map_compress_table(e, n, d, nd, n_ref, &out), 0);
        assert_int_equal(out, n_ref);
        assert_entries(e, r, n_ref);
        check_equivalent(t, n, e, out, d, nd);

        uint32_t n_min, n_pairs, n_fit;
        memcpy(e, t, n * sizeof *t);
        assert_int_equal(snn__map_compress_table(e, n, d, nd, 0, &n_min), 0);
        check_equivalent(t, n, e, n_min, d, nd);
        assert_true(n_min <= n_ref);
        if (n <= 300) { /* pair merging is slow */
            memcpy(p, t, n * sizeof *t);
            assert_int_equal(snn__map_compress_pairs(p, n, d, nd, &n_pairs), 0);
            assert_true(n_min <= n_pairs);
        }
        uint32_t target = n ? rnd(n + 1) : 0;
        memcpy(e, t, n * sizeof *t);
        assert_int_equal(snn__map_compress_table(e, n, d, nd, target, &n_fit), 0);
        check_equivalent(t, n, e, n_fit, d, nd);
        if (n <= target)
            assert_int_equal(n_fit, n);
        else if (n_min <= target)
            assert_true(n_fit <= target);
        sum_in += n;
        sum_ref += n_ref;
        sum_min += n_min;

        /* Overlaps: aligned blocks of a random route meeting no default
         * set, put in at random places. */
        uint32_t extra = 1 + rnd(8);
        for (uint32_t x = 0; x < extra && n < 4200; x++) {
            uint32_t bits = rnd(7), key = rnd(4096) & ~((1u << bits) - 1);
            struct snn_rentry o = ent(key, 0xFFFu & ~((1u << bits) - 1), routes[rnd(n_routes)]);
            bool clear = true;
            for (uint32_t k = 0; k < nd && clear; k++)
                clear = !meets(o.key, o.mask, d[k].key, d[k].mask);
            if (!clear)
                continue;
            uint32_t at = rnd(n + 1);
            memmove(&t[at + 1], &t[at], (n - at) * sizeof *t);
            t[at] = o;
            n++;
        }
        memcpy(e, t, n * sizeof *t);
        assert_int_equal(snn__map_compress_table(e, n, d, nd, 0, &n_min), 0);
        check_equivalent(t, n, e, n_min, d, nd);
        target = rnd(n + 1);
        memcpy(e, t, n * sizeof *t);
        assert_int_equal(snn__map_compress_table(e, n, d, nd, target, &n_fit), 0);
        check_equivalent(t, n, e, n_fit, d, nd);
    }
    assert_true(sum_ref < sum_in);
    assert_true(sum_min < sum_ref);
    if (getenv("SNN_COMPRESS_BENCH"))
        print_message("random aligned blocks: %llu entries -> pre-merge %llu, min %llu\n",
                      (unsigned long long)sum_in, (unsigned long long)sum_ref,
                      (unsigned long long)sum_min);
}

/* ---- FIT ------------------------------------------------------------- */

/* Keys 000, 011, 101, 110 of block b: no two are aligned buddies, so
 * the pre-merge leaves them, and together they make one entry XXX. */
static const uint32_t spread[4] = {0, 3, 5, 6};

/* Four routes of four mergeable entries each (16): with room for 12, FIT
 * applies the best merge (saving 3, 13 left), then one more (10) and
 * stops; MIN goes to 4. */
static void test_fit_stops_when_it_fits(void **state)
{
    (void)state;
    struct snn_rentry e[16], t[16];
    for (uint32_t r = 0; r < 4; r++)
        for (uint32_t i = 0; i < 4; i++)
            e[r * 4 + i] = ent(r << 4 | spread[i], 0xFFF, routes[r]);
    memcpy(t, e, sizeof e);
    uint32_t n;
    assert_int_equal(snn__map_compress_table(e, 16, NULL, 0, 12, &n), 0);
    assert_int_equal(n, 10);
    check_equivalent(t, 16, e, n, NULL, 0);
    memcpy(e, t, sizeof t);
    assert_int_equal(snn__map_compress_table(e, 16, NULL, 0, 13, &n), 0);
    assert_int_equal(n, 13);
    memcpy(e, t, sizeof t);
    assert_int_equal(snn__map_compress_table(e, 16, NULL, 0, 16, &n), 0);
    assert_int_equal(n, 16);
    assert_memory_equal(e, t, sizeof t); /* fits: untouched, order kept */
    memcpy(e, t, sizeof t);
    assert_int_equal(snn__map_compress_table(e, 16, NULL, 0, 0, &n), 0);
    assert_int_equal(n, 4);
}

/* Through the pass: with a router of 13 entries (12 free) the 16-entry
 * table becomes 10, a 12-entry table on another chip is left exactly as
 * it was (same array), and n_before is untouched. */
static void test_fit_pass(void **state)
{
    (void)state;
    struct snn_machine *m = machine(2, 2, 13);
    struct snn_map *map = new_map(m, SNN_COMPRESS_FIT);
    struct snn_rentry e[16];
    for (uint32_t r = 0; r < 4; r++)
        for (uint32_t i = 0; i < 4; i++)
            e[r * 4 + i] = ent(r << 4 | spread[i], 0xFFF, routes[r]);
    set_table(map, 1, e, 16);
    set_table(map, 2, e, 12);
    struct snn_rentry *kept = map->tables[2].e;
    assert_int_equal(snn_map_compress(map, NULL), 0);
    assert_int_equal(map->tables[1].n, 10);
    assert_int_equal(map->tables[1].n_before, 16);
    check_equivalent(e, 16, map->tables[1].e, 10, NULL, 0);
    assert_ptr_equal(map->tables[2].e, kept);
    assert_int_equal(map->tables[2].n, 12);
    assert_int_equal(map->tables[0].n, 0);

    /* NONE leaves everything; MIN takes both tables down. */
    struct snn_map *none = new_map(m, SNN_COMPRESS_NONE);
    set_table(none, 2, e, 12);
    kept = none->tables[2].e;
    assert_int_equal(snn_map_compress(none, NULL), 0);
    assert_ptr_equal(none->tables[2].e, kept);
    assert_int_equal(none->tables[2].n, 12);
    free_map(none);

    struct snn_map *min = new_map(m, SNN_COMPRESS_MIN);
    set_table(min, 1, e, 16);
    set_table(min, 2, e, 12);
    assert_int_equal(snn_map_compress(min, NULL), 0);
    assert_int_equal(min->tables[1].n, 4);
    assert_int_equal(min->tables[2].n, 3);
    assert_int_equal(min->tables[2].n_before, 12);
    free_map(min);
    free_map(map);
    snn_machine_free(m);
}

/* ---- the error ------------------------------------------------------- */

struct too_big {
    struct snn_map *map;
    int rc;
};

static void run_compress(struct snn_diag *d, void *arg)
{
    struct too_big *tb = arg;
    tb->rc = snn_map_compress(tb->map, d);
}

/* Twenty entries of twenty routes cannot shrink: with 8 free entries the
 * pass fails, names the chip, the sizes and what to try, and changes no
 * table. */
static void test_too_big(void **state)
{
    (void)state;
    struct snn_machine *m = machine(3, 2, 9);
    struct snn_rentry e[20];
    for (uint32_t i = 0; i < 20; i++)
        e[i] = ent(i, 0xFFF, SNN_ROUTE_CORE(i));
    const enum snn_compress_mode modes[3] = {SNN_COMPRESS_FIT, SNN_COMPRESS_MIN,
                                             SNN_COMPRESS_NONE};
    for (int k = 0; k < 3; k++) {
        struct snn_map *map = new_map(m, modes[k]);
        set_table(map, 4, e, 20);    /* chip (1, 1) */
        set_table(map, 5, e, 15);    /* chip (2, 1) */
        struct snn_rentry ok[4] = {ent(0, 0xFFF, 1), ent(1, 0xFFF, 1), ent(2, 0xFFF, 1),
                                   ent(3, 0xFFF, 1)};
        set_table(map, 0, ok, 4);
        struct snapshot s = snap(map);
        struct too_big tb = {map, 0};
        char *text = diag_text(run_compress, &tb);
        assert_int_equal(tb.rc, SNN_ETOOBIG);
        if (modes[k] == SNN_COMPRESS_NONE) {
            assert_non_null(strstr(text, "chip (1, 1): the routing table needs 20 entries "
                                         "(compression is off), the router holds 8; try "
                                         "--compress=fit"));
        } else {
            assert_non_null(strstr(text, "chip (1, 1): the routing table needs 20 entries after "
                                         "compression, the router holds 8; try a bigger machine "
                                         "(it spreads the traffic over more routers)"));
        }
        if (modes[k] == SNN_COMPRESS_FIT)
            assert_non_null(strstr(text, "--compress=min would not help"));
        assert_non_null(strstr(text, "1 more chip does not fit either (the largest needs 15"));
        assert_true(same_tables(&s, map));
        for (uint32_t c = 0; c < s.n_chips; c++)
            assert_ptr_equal(map->tables[c].e, s.ptr[c]);
        snap_free(&s);
        free(text);
        free_map(map);
    }
    snn_machine_free(m);
}

/* ---- random maps, through the pass ----------------------------------- */

struct hop4 {
    uint32_t slice, chip;
    int8_t in_link;
    uint64_t route;
};

static int cmp_hop4(const void *a, const void *b)
{
    const struct hop4 *x = a, *y = b;
    if (x->slice != y->slice)
        return x->slice < y->slice ? -1 : 1;
    return (x->chip > y->chip) - (x->chip < y->chip);
}

/* Fills map's slices and hops from h[0 .. nh) (any order; one hop per
 * slice and chip) and every chip's table: one entry per hop that is not
 * default-routed, in slice order, plus `junk` entries per chip over keys
 * of slices that do not pass it (no packet uses them). */
static void build_traffic(struct snn_map *map, uint32_t n_slices, uint32_t key_shift,
                          struct hop4 *h, uint64_t nh, uint32_t junk)
{
    uint32_t n_chips = map->m->width * map->m->height;
    qsort(h, nh, sizeof *h, cmp_hop4);
    map->n_slices = n_slices;
    map->slices = snn_arena_array(map->arena, n_slices, sizeof *map->slices);
    map->hop_first = snn_arena_array(map->arena, n_slices + 1, sizeof *map->hop_first);
    map->hops = snn_arena_array(map->arena, nh ? nh : 1, sizeof *map->hops);
    assert_non_null(map->slices);
    assert_non_null(map->hop_first);
    assert_non_null(map->hops);
    map->n_hops = nh;
    for (uint32_t s = 0; s < n_slices; s++) {
        map->slices[s].key = s << key_shift;
        map->slices[s].mask = ~((1u << key_shift) - 1);
        map->slices[s].n = 1u << key_shift;
    }
    uint32_t *count = calloc(n_chips, sizeof *count);
    uint8_t *passes = calloc((size_t)n_chips * n_slices, 1);
    for (uint64_t i = 0; i < nh; i++) {
        map->hop_first[h[i].slice + 1]++;
        map->hops[i] = (struct snn_hop){h[i].chip, h[i].in_link, h[i].route};
        bool straight = h[i].in_link >= 0 &&
                        h[i].route == SNN_ROUTE_LINK((unsigned)(h[i].in_link + 3) % 6);
        if (!straight)
            count[h[i].chip]++;
        passes[(size_t)h[i].chip * n_slices + h[i].slice] = 1;
    }
    for (uint32_t s = 0; s < n_slices; s++)
        map->hop_first[s + 1] += map->hop_first[s];
    for (uint32_t c = 0; c < n_chips; c++) {
        struct snn_rentry *e = snn_arena_array(map->arena, count[c] + junk + 1, sizeof *e);
        assert_non_null(e);
        map->tables[c] = (struct snn_rtable){e, 0, 0};
    }
    for (uint64_t i = 0; i < nh; i++) {
        bool straight = h[i].in_link >= 0 &&
                        h[i].route == SNN_ROUTE_LINK((unsigned)(h[i].in_link + 3) % 6);
        if (straight)
            continue;
        struct snn_rtable *t = &map->tables[h[i].chip];
        const struct snn_slice *sl = &map->slices[h[i].slice];
        t->e[t->n++] = (struct snn_rentry){sl->key, sl->mask, h[i].route, h[i].slice};
    }
    for (uint32_t c = 0; c < n_chips; c++) {
        struct snn_rtable *t = &map->tables[c];
        for (uint32_t j = 0; j < junk; j++) {
            uint32_t s = rnd(n_slices);
            if (passes[(size_t)c * n_slices + s])
                continue;
            t->e[t->n++] = (struct snn_rentry){map->slices[s].key, map->slices[s].mask,
                                               routes[rnd(3)], s};
        }
        t->n_before = t->n;
    }
    free(passes);
    free(count);
}

/* Random traffic over 2..4 x 2..4 chips; every hop has a random in-link
 * and either goes straight through (no entry) or takes one of a few
 * routes. */
static void random_map(struct snn_map *map, uint32_t n_slices, uint32_t junk)
{
    uint32_t n_chips = map->m->width * map->m->height;
    struct hop4 *h = calloc((size_t)n_slices * n_chips, sizeof *h);
    uint64_t nh = 0;
    for (uint32_t s = 0; s < n_slices; s++)
        for (uint32_t c = 0; c < n_chips; c++) {
            if (rnd(100) >= 60)
                continue;
            int8_t in = (int8_t)((int)rnd(7) - 1);
            uint64_t r;
            if (in >= 0 && rnd(100) < 30)
                r = SNN_ROUTE_LINK((unsigned)(in + 3) % 6);
            else
                r = routes[rnd(3)];
            h[nh++] = (struct hop4){s, c, in, r};
        }
    build_traffic(map, n_slices, 2, h, nh, junk);
    free(h);
}

static void test_random_maps(void **state)
{
    (void)state;
    for (uint64_t s = 1; s <= 60; s++) {
        seed(5000 + s);
        struct snn_machine *m = machine(2 + rnd(3), 2 + rnd(3), 1024);
        enum snn_compress_mode mode = s % 3 == 0 ? SNN_COMPRESS_FIT : SNN_COMPRESS_MIN;
        struct snn_map *map = new_map(m, mode);
        random_map(map, 20 + rnd(200), 3);
        check_hops(map); /* the generator's tables are right */
        if (mode == SNN_COMPRESS_FIT) {
            /* Make FIT work: a router just smaller than the largest table. */
            uint32_t big = 0;
            for (uint32_t c = 0; c < m->width * m->height; c++)
                if (map->tables[c].n > big)
                    big = map->tables[c].n;
            m->router_entries = big; /* room: big - 1 */
        }
        uint64_t before = 0, after = 0;
        for (uint32_t c = 0; c < m->width * m->height; c++)
            before += map->tables[c].n;
        int rc = snn_map_compress(map, NULL);
        assert_int_equal(rc, 0);
        check_hops(map);
        for (uint32_t c = 0; c < m->width * m->height; c++) {
            after += map->tables[c].n;
            assert_true(map->tables[c].n <= snn_machine_router_free(m));
            assert_true(map->tables[c].n <= map->tables[c].n_before);
        }
        assert_true(after < before);
        free_map(map);
        snn_machine_free(m);
    }
}

/* Entries for keys that do not pass the chip go; a hop whose route is
 * straight through needs no entry, and an entry made for it is dropped
 * when nothing below would catch its packets. */
static void test_unneeded_entries_dropped(void **state)
{
    (void)state;
    struct snn_machine *m = machine(2, 2, 1024);
    struct snn_map *map = new_map(m, SNN_COMPRESS_MIN);
    /* Slice 0 enters chip 0 from W (link 3) and leaves E (link 0):
     * default-routed.  Slice 1 starts on chip 0 and goes to core 2. */
    struct hop4 h[2] = {{0, 0, 3, SNN_ROUTE_LINK(0)}, {1, 0, -1, SNN_ROUTE_CORE(2)}};
    build_traffic(map, 4, 4, h, 2, 0);
    struct snn_rtable *t = &map->tables[0];
    assert_int_equal(t->n, 1);
    /* An explicit entry for slice 0 (link 0), one for slice 3 (not on
     * this chip). */
    struct snn_rentry *e = snn_arena_array(map->arena, 3, sizeof *e);
    e[0] = (struct snn_rentry){map->slices[0].key, map->slices[0].mask, SNN_ROUTE_LINK(0), 0};
    e[1] = t->e[0];
    e[2] = (struct snn_rentry){map->slices[3].key, map->slices[3].mask, SNN_ROUTE_CORE(9), 3};
    *t = (struct snn_rtable){e, 3, 3};
    assert_int_equal(snn_map_compress(map, NULL), 0);
    assert_int_equal(t->n, 1);
    assert_int_equal(t->e[0].key, map->slices[1].key);
    assert_true(t->e[0].route == SNN_ROUTE_CORE(2));
    check_hops(map);
    free_map(map);
    snn_machine_free(m);
}

/* ---- allocation failures, determinism -------------------------------- */

static void test_alloc_failures(void **state)
{
    (void)state;
    seed(77);
    struct snn_machine *m = machine(3, 3, 1024);
    struct snn_map *map = new_map(m, SNN_COMPRESS_MIN);
    random_map(map, 150, 2);
    struct snapshot s = snap(map);
    int rc = SNN_ENOMEM;
    long k;
    for (k = 0; rc == SNN_ENOMEM && k < 1000; k++) {
        snn_alloc_fail_after(k);
        rc = snn_map_compress(map, NULL);
        snn_alloc_fail_after(-1);
        if (rc == SNN_ENOMEM) {
            assert_true(same_tables(&s, map));
            for (uint32_t c = 0; c < s.n_chips; c++)
                assert_ptr_equal(map->tables[c].e, s.ptr[c]);
        }
    }
    assert_int_equal(rc, 0);
    assert_true(k > 5);
    check_hops(map);
    snap_free(&s);

    /* The one-table entry point: e unchanged on failure. */
    struct snn_rentry e[16], t[16];
    for (uint32_t i = 0; i < 16; i++)
        t[i] = ent(i, 0xFFF, routes[i % 2]);
    rc = SNN_ENOMEM;
    for (k = 0; rc == SNN_ENOMEM && k < 100; k++) {
        memcpy(e, t, sizeof t);
        uint32_t n;
        snn_alloc_fail_after(k);
        rc = snn__map_compress_table(e, 16, NULL, 0, 0, &n);
        snn_alloc_fail_after(-1);
        if (rc == SNN_ENOMEM)
            assert_memory_equal(e, t, sizeof t);
        else
            assert_int_equal(n, 2);
    }
    assert_int_equal(rc, 0);
    free_map(map);
    snn_machine_free(m);
}

static void test_deterministic(void **state)
{
    (void)state;
    struct snn_machine *m = machine(4, 3, 1024);
    struct snn_map *a = new_map(m, SNN_COMPRESS_MIN), *b = new_map(m, SNN_COMPRESS_MIN);
    seed(99);
    random_map(a, 200, 3);
    seed(99);
    random_map(b, 200, 3);
    assert_int_equal(snn_map_compress(a, NULL), 0);
    assert_int_equal(snn_map_compress(b, NULL), 0);
    struct snapshot s = snap(a);
    assert_true(same_tables(&s, b));
    snap_free(&s);
    free_map(a);
    free_map(b);
    snn_machine_free(m);
}

/* ---- a case the size of the benchmark -------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/*
 * 1,296 chips, 1,000 populations of 16 slices of 256 keys (a population's
 * keys one aligned block).  Each chip routes a few dozen populations: the
 * slices of one mostly share a route, some are missing, a few go another
 * way; other populations pass straight through.  About 300,000 entries,
 * the largest table about 700.
 */
static void synthetic(struct snn_map *map)
{
    const uint32_t n_pops = 1000, per = 16, n_chips = 1296;
    uint64_t cap = 0, nh = 0;
    struct hop4 *h = NULL;
    uint8_t *used = malloc(n_pops);
    for (uint32_t c = 0; c < n_chips; c++) {
        uint32_t routed = rnd(100) < 4 ? 36 + rnd(13) : 4 + rnd(25);
        uint32_t straight = 10 + rnd(20);
        if (cap < nh + (uint64_t)(routed + straight) * per) {
            cap = 2 * cap + (uint64_t)(routed + straight) * per;
            h = realloc(h, cap * sizeof *h);
        }
        memset(used, 0, n_pops);
        for (uint32_t k = 0; k < routed + straight; k++) {
            uint32_t p = rnd(n_pops);
            if (used[p])
                continue;
            used[p] = 1;
            if (k < routed) {
                uint64_t r = SNN_ROUTE_LINK(rnd(6)) | (rnd(3) ? 0 : SNN_ROUTE_CORE(1 + rnd(17)));
                for (uint32_t s = 0; s < per; s++) {
                    if (rnd(100) < 8)
                        continue;
                    uint64_t rs = rnd(100) < 12 ? SNN_ROUTE_LINK(rnd(6)) | SNN_ROUTE_CORE(rnd(18))
                                                : r;
                    int8_t in = (int8_t)((int)rnd(7) - 1);
                    if (in >= 0 && rs == SNN_ROUTE_LINK((unsigned)(in + 3) % 6))
                        in = -1;
                    h[nh++] = (struct hop4){p * per + s, c, in, rs};
                }
            } else {
                unsigned in = rnd(6);
                for (uint32_t s = 0; s < per; s++)
                    if (rnd(100) < 95)
                        h[nh++] = (struct hop4){p * per + s, c, (int8_t)in,
                                                SNN_ROUTE_LINK((in + 3) % 6)};
            }
        }
    }
    build_traffic(map, n_pops * per, 8, h, nh, 0);
    free(used);
    free(h);
}

static void test_benchmark_scale(void **state)
{
    (void)state;
    seed(2024);
    struct snn_machine *m = machine(36, 36, 1024);
    struct snn_map *map = new_map(m, SNN_COMPRESS_MIN);
    synthetic(map);
    uint64_t before = 0;
    uint32_t before_max = 0;
    for (uint32_t c = 0; c < 1296; c++) {
        before += map->tables[c].n;
        if (map->tables[c].n > before_max)
            before_max = map->tables[c].n;
    }
    bool bench = getenv("SNN_COMPRESS_BENCH") != NULL;
    /* Pair merging per table, for comparison (slow: only when asked). */
    uint64_t pairs = 0;
    uint32_t pairs_max = 0;
    double pairs_s = 0;
    if (bench) {
        double t0 = now_s();
        for (uint32_t c = 0; c < 1296; c++) {
            const struct snn_rtable *t = &map->tables[c];
            struct snn_rentry *e = malloc((t->n + 1) * sizeof *e);
            memcpy(e, t->e, t->n * sizeof *e);
            struct snn__keyset *d = malloc((map->n_hops + 1) * sizeof *d);
            uint32_t nd = 0, n;
            for (uint32_t s = 0; s < map->n_slices; s++)
                for (uint64_t k = map->hop_first[s]; k < map->hop_first[s + 1]; k++) {
                    const struct snn_hop *hop = &map->hops[k];
                    if (hop->chip == c && hop->in_link >= 0 &&
                        hop->route == SNN_ROUTE_LINK((unsigned)(hop->in_link + 3) % 6))
                        d[nd++] = (struct snn__keyset){map->slices[s].key, map->slices[s].mask};
                }
            assert_int_equal(snn__map_compress_pairs(e, t->n, d, nd, &n), 0);
            pairs += n;
            if (n > pairs_max)
                pairs_max = n;
            free(d);
            free(e);
        }
        pairs_s = now_s() - t0;
    }
    double t0 = now_s();
    assert_int_equal(snn_map_compress(map, NULL), 0);
    double dt = now_s() - t0;
    uint64_t after = 0;
    uint32_t after_max = 0;
    for (uint32_t c = 0; c < 1296; c++) {
        after += map->tables[c].n;
        if (map->tables[c].n > after_max)
            after_max = map->tables[c].n;
    }
    check_hops(map);
    assert_true(before > 200000);
    assert_true(after < before / 2);
    if (bench) {
        print_message("synthetic: %llu entries (largest %u), %llu hops\n",
                      (unsigned long long)before, before_max, (unsigned long long)map->n_hops);
        print_message("  ordered covering (min): %llu entries, largest %u, %.3f s\n",
                      (unsigned long long)after, after_max, dt);
        print_message("  pair merging:           %llu entries, largest %u, %.3f s\n",
                      (unsigned long long)pairs, pairs_max, pairs_s);
    }
    free_map(map);
    snn_machine_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_of_one_route),
        cmocka_unit_test(test_order_beats_pairs),
        cmocka_unit_test(test_default_keys_stay_unmatched),
        cmocka_unit_test(test_known_minima),
        cmocka_unit_test(test_hidden_and_order_kept),
        cmocka_unit_test(test_random_disjoint),
        cmocka_unit_test(test_random_overlapping),
        cmocka_unit_test(test_premerge_hand),
        cmocka_unit_test(test_premerge_not_on_overlaps),
        cmocka_unit_test(test_premerge_random),
        cmocka_unit_test(test_fit_stops_when_it_fits),
        cmocka_unit_test(test_fit_pass),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_random_maps),
        cmocka_unit_test(test_unneeded_entries_dropped),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_benchmark_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_map_keys.c: the keys pass (mapper/keys.c).
 *
 * The map is built by hand (slices, their populations and places), so
 * these tests need no other pass.  Covered: exact keys for a small case,
 * populations ordered by place, the largest-first repacking when the
 * locality order does not fit, the key-bits error (its text, slices left
 * untouched), a property test over random populations and placements
 * (every invariant and the population blocks checked independently), the
 * verifier catching each broken invariant, the dump, determinism and
 * allocation failures.
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

/* ---- helpers --------------------------------------------------------- */

static struct snn_machine *machine(uint32_t w, uint32_t h)
{
    struct snn_machine *m = snn_machine_new();
    assert_non_null(m);
    m->name = "test";
    m->width = w;
    m->height = h;
    assert_int_equal(snn_machine_verify(m, NULL), 0);
    assert_int_equal(snn_machine_index(m), 0);
    return m;
}

struct fix {
    struct snn_net *net;
    struct snn_map *map;
};

/* Populations "p0", "p1", ...; population p has n_slices[p] slices whose
 * sizes come from sizes[] in order (all slices of all populations).
 * Slices sit on chip (0,0) core 1 and carry a sentinel key. */
static struct fix make(const struct snn_machine *m, uint32_t n_pops, const uint32_t *n_slices,
                       const uint32_t *sizes)
{
    struct fix f;
    f.net = snn_net_new();
    assert_non_null(f.net);
    uint32_t total = 0;
    for (uint32_t p = 0; p < n_pops; p++) {
        char name[16];
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
    map->edge_first = snn_arena_array(map->arena, total + 1, sizeof *map->edge_first);
    assert_non_null(map->slices);
    uint32_t s = 0;
    for (uint32_t p = 0; p < n_pops; p++) {
        map->pop_slice[p] = s;
        uint32_t lo = 0;
        for (uint32_t i = 0; i < n_slices[p]; i++, s++) {
            map->slices[s] = (struct snn_slice){.pop = p, .lo = lo, .n = sizes[s], .x = 0,
                                                .y = 0, .core = 1, .key = 0xdeadbeef,
                                                .mask = 0x12345678};
            lo += sizes[s];
        }
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

/* Places population p's slices on chip (x, y), cores 1, 2, ... */
static void put(struct snn_map *map, uint32_t p, uint16_t x, uint16_t y)
{
    for (uint32_t s = map->pop_slice[p]; s < map->pop_slice[p + 1]; s++) {
        map->slices[s].x = x;
        map->slices[s].y = y;
        map->slices[s].core = (uint8_t)(1 + s - map->pop_slice[p]);
    }
}

typedef int (*pass_fn)(struct snn_map *, struct snn_diag *);

/* Runs a pass with a sink writing to a string; the code, *out the text. */
static int run_diag(pass_fn fn, struct snn_map *map, char **out)
{
    return map_diag(fn, map, out);
}

static int verify_diag(const struct snn_map *map, char **out)
{
    return map_verify_diag(snn__map_verify_keys, map, out);
}

static char *dump(const struct snn_map *map)
{
    return map_dump_text(snn__map_dump_keys, map);
}

static unsigned bits_for(uint64_t n)
{
    unsigned b = 0;
    while (((uint64_t)1 << b) < n)
        b++;
    return b;
}

/* An independent check of every invariant and of the population blocks:
 * slices of a population share one mask with 2^b >= their largest n,
 * take consecutive keys from an aligned block of 2^(b + ceil log2 k)
 * keys; all blocks are disjoint and no key passes 32 bits. */
static void check_keys(const struct snn_map *map)
{
    uint32_t n_pops = map->net->n_pops;
    for (uint32_t p = 0; p < n_pops; p++) {
        uint32_t s0 = map->pop_slice[p], s1 = map->pop_slice[p + 1];
        uint32_t max_n = 1;
        for (uint32_t s = s0; s < s1; s++)
            if (map->slices[s].n > max_n)
                max_n = map->slices[s].n;
        unsigned b = bits_for(max_n), B = b + bits_for(s1 - s0);
        uint32_t mask = b >= 32 ? 0 : ~(uint32_t)0 << b;
        uint32_t base = map->slices[s0].key;
        assert_true(B >= 32 || (base & (((uint64_t)1 << B) - 1)) == 0);
        for (uint32_t s = s0; s < s1; s++) {
            const struct snn_slice *a = &map->slices[s];
            assert_int_equal(a->mask, mask);
            assert_int_equal(a->key, base + ((uint64_t)(s - s0) << b));
            assert_int_equal(a->key & ~a->mask, 0);
            assert_true((uint64_t)(~a->mask) + 1 >= a->n);
        }
    }
    for (uint32_t s = 0; s < map->n_slices; s++) {
        const struct snn_slice *a = &map->slices[s];
        for (uint32_t t = s + 1; t < map->n_slices; t++) {
            const struct snn_slice *b = &map->slices[t];
            /* Two aligned blocks meet when they agree on the bits both fix. */
            assert_true(((a->key ^ b->key) & a->mask & b->mask) != 0);
        }
    }
}

/* ---- tests ----------------------------------------------------------- */

/* Two populations on a 2x2 grid: p1 (one neuron) on chip (0,0), Hilbert
 * index 0; p0 (256 + 256 + 100 neurons) on chip (1,0), Hilbert index 3.
 * p1 comes first, at key 0 with a full mask; p0's block of 4 x 256 keys is
 * aligned to 1024. */
static void test_exact_small(void **state)
{
    (void)state;
    struct snn_machine *m = machine(2, 2);
    uint32_t ns[] = {3, 1}, sizes[] = {256, 256, 100, 1};
    struct fix f = make(m, 2, ns, sizes);
    put(f.map, 0, 1, 0);
    put(f.map, 1, 0, 0);
    assert_int_equal(snn_map_keys(f.map, NULL), 0);
    assert_int_equal(f.map->slices[3].key, 0);
    assert_int_equal(f.map->slices[3].mask, 0xffffffffu);
    assert_int_equal(f.map->slices[0].key, 0x400);
    assert_int_equal(f.map->slices[1].key, 0x500);
    assert_int_equal(f.map->slices[2].key, 0x600);
    for (int s = 0; s < 3; s++)
        assert_int_equal(f.map->slices[s].mask, 0xffffff00u);
    assert_int_equal(snn__map_verify_keys(f.map, NULL), 0);

    char *text = dump(f.map);
    assert_string_equal(text,
                        "keys: 4 slices, 11 key bits used\n"
                        "pop p0: 3 slices, block 0x00000400/0xfffffc00\n"
                        "slice 0 [0, 256) chip 1,0 core 1 key 0x00000400 mask 0xffffff00\n"
                        "slice 1 [256, 512) chip 1,0 core 2 key 0x00000500 mask 0xffffff00\n"
                        "slice 2 [512, 612) chip 1,0 core 3 key 0x00000600 mask 0xffffff00\n"
                        "pop p1: 1 slices, block 0x00000000/0xffffffff\n"
                        "slice 3 [0, 1) chip 0,0 core 1 key 0x00000000 mask 0xffffffff\n");
    free(text);
    unmake(&f);
    snn_machine_free(m);
}

/* Populations take blocks in the order of their first slice's place
 * along the Hilbert curve, whatever their index. */
static void test_locality_order(void **state)
{
    (void)state;
    struct snn_machine *m = machine(4, 4);
    /* The Hilbert curve over 4x4 visits (0,0) (1,0) (1,1) (0,1) (0,2) ... */
    static const uint16_t xy[][2] = {{0, 2}, {1, 1}, {0, 0}, {0, 1}, {1, 0}};
    static const uint32_t want_rank[] = {4, 2, 0, 3, 1};
    uint32_t ns[] = {2, 2, 2, 2, 2}, sizes[10];
    for (int i = 0; i < 10; i++)
        sizes[i] = 16;
    struct fix f = make(m, 5, ns, sizes);
    for (uint32_t p = 0; p < 5; p++)
        put(f.map, p, xy[p][0], xy[p][1]);
    assert_int_equal(snn_map_keys(f.map, NULL), 0);
    check_keys(f.map);
    /* Equal blocks of 2 x 16 keys, packed without gaps in rank order. */
    for (uint32_t p = 0; p < 5; p++)
        assert_int_equal(f.map->slices[f.map->pop_slice[p]].key, want_rank[p] * 32);
    unmake(&f);
    snn_machine_free(m);
}

/* Placement order p0 (1 key), p1 (2^31), p2 (2^30): aligned in that
 * order they would end at 2^32 + 2^30, so they are packed largest first:
 * p1 at 0, p2 at 2^31, p0 at 2^31 + 2^30. */
static void test_repack_largest_first(void **state)
{
    (void)state;
    struct snn_machine *m = machine(4, 4);
    uint32_t ns[] = {1, 1, 1}, sizes[] = {1, 0x80000000u, 0x40000000u};
    struct fix f = make(m, 3, ns, sizes);
    put(f.map, 0, 0, 0);
    put(f.map, 1, 1, 0);
    put(f.map, 2, 1, 1);
    assert_int_equal(snn_map_keys(f.map, NULL), 0);
    assert_int_equal(f.map->slices[1].key, 0);
    assert_int_equal(f.map->slices[1].mask, 0x80000000u);
    assert_int_equal(f.map->slices[2].key, 0x80000000u);
    assert_int_equal(f.map->slices[2].mask, 0xc0000000u);
    assert_int_equal(f.map->slices[0].key, 0xc0000000u);
    assert_int_equal(f.map->slices[0].mask, 0xffffffffu);
    assert_int_equal(snn__map_verify_keys(f.map, NULL), 0);
    unmake(&f);
    snn_machine_free(m);
}

/* Three slices of 2^31 neurons need a block of 2^33 keys: the pass fails,
 * says how many bits and what to try, and leaves the keys alone. */
static void test_too_many_bits(void **state)
{
    (void)state;
    struct snn_machine *m = machine(2, 2);
    uint32_t ns[] = {1, 3}, sizes[] = {5, 0x80000000u, 0x80000000u, 0x80000000u};
    struct fix f = make(m, 2, ns, sizes);
    put(f.map, 0, 0, 0);
    put(f.map, 1, 1, 0);
    char *text = NULL;
    assert_int_equal(run_diag(snn_map_keys, f.map, &text), SNN_ETOOBIG);
    assert_non_null(strstr(text, "needs 34 key bits and keys have 32"));
    assert_non_null(strstr(text, "population 'p1', takes 2^33 (3 slices of up to 2^31 neurons)"));
    assert_non_null(strstr(text, "try "));
    free(text);
    for (uint32_t s = 0; s < f.map->n_slices; s++) {
        assert_int_equal(f.map->slices[s].key, 0xdeadbeef);
        assert_int_equal(f.map->slices[s].mask, 0x12345678);
    }
    unmake(&f);

    /* Exactly 2^32 keys in all fit. */
    uint32_t ns2[] = {2, 1, 1}, sizes2[] = {0x40000000u, 0x40000000u, 0x40000000u, 0x40000000u};
    f = make(m, 3, ns2, sizes2);
    put(f.map, 0, 1, 1);
    put(f.map, 1, 0, 0);
    put(f.map, 2, 1, 0);
    assert_int_equal(snn_map_keys(f.map, NULL), 0);
    assert_int_equal(snn__map_verify_keys(f.map, NULL), 0);
    check_keys(f.map);
    unmake(&f);
    snn_machine_free(m);
}

/* Random populations, slice sizes and places: every invariant holds,
 * and without repacking the population blocks follow the locality order. */
static void test_random(void **state)
{
    (void)state;
    rng_state = 0x9e3779b97f4a7c15u;
    struct snn_machine *m = machine(8, 8);
    for (int round = 0; round < 200; round++) {
        uint32_t n_pops = 1 + rnd(12), ns[12], sizes[12 * 9], total = 0;
        for (uint32_t p = 0; p < n_pops; p++) {
            ns[p] = 1 + rnd(9);
            uint32_t big = 1 + rnd(1000);
            for (uint32_t i = 0; i < ns[p]; i++)
                sizes[total++] = i + 1 < ns[p] || rnd(2) ? big : 1 + rnd(big);
        }
        struct fix f = make(m, n_pops, ns, sizes);
        for (uint32_t s = 0; s < f.map->n_slices; s++) {
            f.map->slices[s].x = (uint16_t)rnd(8);
            f.map->slices[s].y = (uint16_t)rnd(8);
            f.map->slices[s].core = (uint8_t)(1 + rnd(17));
        }
        assert_int_equal(snn_map_keys(f.map, NULL), 0);
        check_keys(f.map);
        assert_int_equal(snn__map_verify_keys(f.map, NULL), 0);
        /* Populations whose first slices share a chip: the lower core
         * has the lower block (nothing here needs repacking). */
        for (uint32_t p = 0; p < n_pops; p++)
            for (uint32_t q = 0; q < n_pops; q++) {
                const struct snn_slice *a = &f.map->slices[f.map->pop_slice[p]];
                const struct snn_slice *b = &f.map->slices[f.map->pop_slice[q]];
                if (a->x == b->x && a->y == b->y && (a->core < b->core ||
                                                     (a->core == b->core && p < q)))
                    assert_true(a->key < b->key);
            }
        char *a = dump(f.map);
        assert_int_equal(snn_map_keys(f.map, NULL), 0);
        char *b = dump(f.map);
        assert_string_equal(a, b);
        free(a);
        free(b);
        unmake(&f);
    }
    snn_machine_free(m);
}

/* The verifier reports each broken invariant. */
static void test_verifier(void **state)
{
    (void)state;
    struct snn_machine *m = machine(2, 2);
    uint32_t ns[] = {2, 1}, sizes[] = {256, 200, 3};
    struct fix f = make(m, 2, ns, sizes);
    put(f.map, 0, 0, 0);
    put(f.map, 1, 1, 0);
    assert_int_equal(snn_map_keys(f.map, NULL), 0);
    assert_int_equal(snn__map_verify_keys(f.map, NULL), 0);
    struct snn_slice saved[3];
    memcpy(saved, f.map->slices, sizeof saved);

    static const struct {
        uint32_t s, key, mask;
        const char *msg;
    } cases[] = {
        {1, 0x000, 0xffffff00u, "overlap"},
        {0, 0x000, 0xffffff0fu, "the mask is not ones above zeros"},
        {0, 0x001, 0xffffff00u, "the key has bits below the mask"},
        {0, 0x000, 0xffffff80u, "the block is smaller than the slice"},
        {2, 0x000, 0xfffffe00u, "overlap"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(f.map->slices, saved, sizeof saved);
        f.map->slices[cases[i].s].key = cases[i].key;
        f.map->slices[cases[i].s].mask = cases[i].mask;
        char *text = NULL;
        assert_int_equal(verify_diag(f.map, &text), SNN_EINVAL);
        if (!strstr(text, cases[i].msg))
            fail_msg("case %zu: '%s' not in: %s", i, cases[i].msg, text);
        free(text);
    }
    unmake(&f);
    snn_machine_free(m);
}

/* Many broken slices: 20 reported, then a count. */
static void test_verifier_bounded(void **state)
{
    (void)state;
    struct snn_machine *m = machine(2, 2);
    uint32_t ns[] = {50}, sizes[50];
    for (int i = 0; i < 50; i++)
        sizes[i] = 4;
    struct fix f = make(m, 1, ns, sizes);
    for (uint32_t s = 0; s < 50; s++) {
        f.map->slices[s].key = 0;
        f.map->slices[s].mask = 0xfffffffcu;
    }
    char *text = NULL;
    assert_int_equal(verify_diag(f.map, &text), SNN_EINVAL);
    int lines = 0;
    for (const char *p = text; (p = strstr(p, "error:")); p++)
        lines++;
    assert_int_equal(lines, 21);
    assert_non_null(strstr(text, "29 more violations not shown"));
    free(text);
    unmake(&f);
    snn_machine_free(m);
}

/* Same input, same keys, byte for byte, from two separate maps. */
static void test_deterministic(void **state)
{
    (void)state;
    struct snn_machine *m = machine(8, 8);
    char *text[2];
    for (int run = 0; run < 2; run++) {
        rng_state = 12345;
        uint32_t ns[20], sizes[20 * 5], total = 0;
        for (uint32_t p = 0; p < 20; p++) {
            ns[p] = 1 + rnd(5);
            for (uint32_t i = 0; i < ns[p]; i++)
                sizes[total++] = 1 + rnd(300);
        }
        struct fix f = make(m, 20, ns, sizes);
        for (uint32_t p = 0; p < 20; p++)
            put(f.map, p, (uint16_t)rnd(8), (uint16_t)rnd(8));
        assert_int_equal(snn_map_keys(f.map, NULL), 0);
        text[run] = dump(f.map);
        unmake(&f);
    }
    assert_string_equal(text[0], text[1]);
    free(text[0]);
    free(text[1]);
    snn_machine_free(m);
}

/* Every allocation failing in turn: SNN_ENOMEM and the keys untouched,
 * until the pass succeeds; the verifier likewise. */
static void test_alloc_failures(void **state)
{
    (void)state;
    struct snn_machine *m = machine(4, 4);
    uint32_t ns[] = {3, 2, 4}, sizes[] = {10, 10, 5, 7, 7, 1, 1, 1, 1};
    struct fix f = make(m, 3, ns, sizes);
    put(f.map, 0, 3, 3);
    put(f.map, 1, 0, 0);
    put(f.map, 2, 2, 1);
    int ok = 0;
    for (long n = 0; n < 100 && !ok; n++) {
        snn_alloc_fail_after(n);
        int rc = snn_map_keys(f.map, NULL);
        snn_alloc_fail_after(-1);
        if (rc == 0) {
            ok = 1;
            break;
        }
        assert_int_equal(rc, SNN_ENOMEM);
        for (uint32_t s = 0; s < f.map->n_slices; s++)
            assert_int_equal(f.map->slices[s].key, 0xdeadbeef);
    }
    assert_true(ok);
    check_keys(f.map);
    ok = 0;
    for (long n = 0; n < 100 && !ok; n++) {
        snn_alloc_fail_after(n);
        int rc = snn__map_verify_keys(f.map, NULL);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_small),
        cmocka_unit_test(test_locality_order),
        cmocka_unit_test(test_repack_largest_first),
        cmocka_unit_test(test_too_many_bits),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_verifier),
        cmocka_unit_test(test_verifier_bounded),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/map_testlib.h: what the mapper's test programs share.
 *
 * Included by one test program each (it defines static state): a small
 * seeded generator for random cases, machines built by hand, and edges
 * set from slice pairs.
 */
#ifndef SNN_TESTS_MAP_TESTLIB_H
#define SNN_TESTS_MAP_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapper/mapper.h"
#include "support/arena.h"
#include "support/diag.h"
#include "target/target.h"

/* xorshift64: set rng_state (not 0) to seed it. */
static uint64_t rng_state;

/* A number in [0, n). */
static inline uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* A w x h machine of SpiNNaker chips with `cores` cores each, not yet
 * verified or indexed (see ready()). */
static inline struct snn_machine *grid_machine(uint32_t w, uint32_t h, bool wrap, uint32_t cores)
{
    struct snn_machine *m = snn_machine_new();
    assert_non_null(m);
    m->name = "test";
    m->width = w;
    m->height = h;
    m->wrap = wrap;
    m->cores = cores;
    return m;
}

/* Verifies (must pass) and indexes m. */
static inline void ready(struct snn_machine *m)
{
    assert_int_equal(snn_machine_verify(m, NULL), 0);
    assert_int_equal(snn_machine_index(m), 0);
}

static inline void dead_chips(struct snn_machine *m, const struct snn_chip_ref *c, size_t n)
{
    m->dead_chips = snn_arena_array(m->arena, n, sizeof *c);
    memcpy(m->dead_chips, c, n * sizeof *c);
    m->n_dead_chips = n;
}

static inline void dead_cores(struct snn_machine *m, const struct snn_core_ref *c, size_t n)
{
    m->dead_cores = snn_arena_array(m->arena, n, sizeof *c);
    memcpy(m->dead_cores, c, n * sizeof *c);
    m->n_dead_cores = n;
}

static inline void dead_links(struct snn_machine *m, const struct snn_link_ref *l, size_t n)
{
    m->dead_links = snn_arena_array(m->arena, n, sizeof *l);
    memcpy(m->dead_links, l, n * sizeof *l);
    m->n_dead_links = n;
}

static inline int cmp_pair(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* Sets map's edges from n (pre, post) slice pairs, sorted and made unique
 * here, each with one row and one synapse; map->edge_first must hold
 * n_slices + 1 entries. */
static inline void set_edges(struct snn_map *map, uint32_t (*pairs)[2], size_t n)
{
    if (n)
        qsort(pairs, n, sizeof *pairs, cmp_pair);
    map->edges = snn_arena_array(map->arena, n + 1, sizeof *map->edges);
    assert_non_null(map->edges);
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && pairs[i][0] == pairs[i - 1][0] && pairs[i][1] == pairs[i - 1][1])
            continue;
        map->edges[k++] = (struct snn_edge){pairs[i][0], pairs[i][1], 1, 1};
    }
    map->n_edges = k;
    uint64_t e = 0;
    for (uint32_t s = 0; s <= map->n_slices; s++) {
        while (e < k && map->edges[e].pre < s)
            e++;
        map->edge_first[s] = e;
    }
}

/* Runs a pass fn(map, d) with a diagnostics sink writing to a string:
 * its code, and *out the text (free()). */
static inline int map_diag(int (*fn)(struct snn_map *, struct snn_diag *), struct snn_map *map,
                           char **out)
{
    size_t len = 0;
    FILE *f = open_memstream(out, &len);
    assert_non_null(f);
    struct snn_diag *d = snn_diag_new(f);
    assert_non_null(d);
    int rc = fn(map, d);
    snn_diag_free(d);
    fclose(f);
    return rc;
}

/* The same for a verifier, which takes the map read-only. */
static inline int map_verify_diag(int (*fn)(const struct snn_map *, struct snn_diag *),
                                  const struct snn_map *map, char **out)
{
    size_t len = 0;
    FILE *f = open_memstream(out, &len);
    assert_non_null(f);
    struct snn_diag *d = snn_diag_new(f);
    assert_non_null(d);
    int rc = fn(map, d);
    snn_diag_free(d);
    fclose(f);
    return rc;
}

/* What a dump function prints for map, as a string (free()). */
static inline char *map_dump_text(void (*fn)(const struct snn_map *, FILE *),
                                  const struct snn_map *map)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    fn(map, f);
    fclose(f);
    return text;
}

#endif

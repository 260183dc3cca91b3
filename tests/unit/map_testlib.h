/*
 * tests/unit/map_testlib.h: what the mapper's test programs share.
 *
 * Included by one test program each (it defines static state): a small
 * seeded generator for random cases, and machines built by hand.
 */
#ifndef SNN_TESTS_MAP_TESTLIB_H
#define SNN_TESTS_MAP_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "support/arena.h"
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

#endif

/*
 * mapper/mapper_int.h: what the mapper's passes share and nobody else.
 */
#ifndef SNN_MAPPER_MAPPER_INT_H
#define SNN_MAPPER_MAPPER_INT_H

#include "mapper/mapper.h"

/* The index of chip (x, y) in per-chip arrays. */
static inline uint32_t snn__map_chip(const struct snn_map *map, uint32_t x, uint32_t y)
{
    return y * map->m->width + x;
}

/* Population p's name and location for messages ("?" and NULL when the
 * map has no such population: tests build maps by hand). */
static inline const char *snn__map_pop_name(const struct snn_map *map, uint32_t p)
{
    if (map->net && p < map->net->n_pops && map->net->pops[p].name)
        return map->net->pops[p].name;
    return "?";
}

static inline const struct snn_loc *snn__map_pop_loc(const struct snn_map *map, uint32_t p)
{
    if (map->net && p < map->net->n_pops)
        return &map->net->pops[p].loc;
    return NULL;
}

/* The place of (x, y) along a Hilbert curve over a side x side square
 * (side a power of two): chips near on the curve are near on the grid.
 * Placement orders chips by it, keys order populations by it. */
uint64_t snn__map_hilbert(uint32_t side, uint32_t x, uint32_t y);

/* DTCM a core's kernel needs whatever it runs: about 4 KiB of stack (the
 * packet and timer interrupts nest on it), two 1 KiB DMA buffers for
 * synaptic rows in flight, the incoming-spike queue (256 keys, 1 KiB),
 * the recording buffers being flushed and the slice's header (1 KiB,
 * the first words of its DTCM image).
 * Rounded up to 8 KiB, an eighth of SpiNNaker's 64 KiB. */
#define SNN_MAP_DTCM_OVERHEAD 8192u

/* Timesteps a run of net records: duration / dt rounded up (float noise
 * forgiven), capped at 2^32 - 1; 0 for duration 0 (partition.c). */
uint64_t snn__map_record_steps(const struct snn_net *net);
/* The SDRAM a slice may use: the chip's shared by its application cores. */
uint64_t snn__map_sdram_budget(const struct snn_machine *m);

/* ---- dumps: each pass prints what it provides (snn_map_dump) ---------- */
void snn__map_dump_partition(const struct snn_map *map, FILE *out);
void snn__map_dump_place(const struct snn_map *map, FILE *out);
void snn__map_dump_route(const struct snn_map *map, FILE *out);
void snn__map_dump_keys(const struct snn_map *map, FILE *out);
void snn__map_dump_tables(const struct snn_map *map, FILE *out); /* tables and compress */
void snn__map_dump_layout(const struct snn_map *map, FILE *out);

/* ---- verifiers: each checks the invariants of what its pass provides,
 * reporting every violation to d; 0, SNN_EINVAL or SNN_ENOMEM ---------- */
int snn__map_verify_partition(const struct snn_map *map, struct snn_diag *d);
int snn__map_verify_place(const struct snn_map *map, struct snn_diag *d);
int snn__map_verify_route(const struct snn_map *map, struct snn_diag *d);
int snn__map_verify_keys(const struct snn_map *map, struct snn_diag *d);
/* Follows the tables from every source slice, key block by key block, as
 * the routers would (first match wins; an unmatched packet that arrived
 * on a link goes straight through; an unmatched packet from a local core,
 * a packet sent off the machine or into a dead link, and a loop are
 * faults) and checks every key reaches exactly the cores of its slice's
 * edges.  Used after tables and after compress. */
int snn__map_verify_tables(const struct snn_map *map, struct snn_diag *d);
/* Checks every core image against the slices, edges and keys it was made
 * from (docs/core-image.md): headers, sizes against partition's account
 * and the target, key tables, row indices, and every synaptic word's
 * index, delay and weight bound. */
int snn__map_verify_layout(const struct snn_map *map, struct snn_diag *d);

/* ---- compress.c: one table at a time (tests and benchmarks) ---------- */

/* A ternary key set: the keys k with (k & mask) == (key & mask). */
struct snn__keyset {
    uint32_t key, mask;
};

/* Compresses table e[0 .. n) (priority order) in place by ordered
 * covering until it holds at most target entries, or as far as it goes
 * (target 0).  dflt[0 .. n_dflt) are the keys the router sends straight
 * through, which must stay unmatched; keys in neither are free.  *n_out
 * the new count.  0 or SNN_ENOMEM (e unchanged). */
int snn__map_compress_table(struct snn_rentry *e, uint32_t n, const struct snn__keyset *dflt,
                            uint32_t n_dflt, uint32_t target, uint32_t *n_out);
/* For comparison only: merges pairs of same-route entries whose merge
 * meets no entry of another route and no dflt set, until none does.
 * Requires entries of different routes not to overlap. */
int snn__map_compress_pairs(struct snn_rentry *e, uint32_t n, const struct snn__keyset *dflt,
                            uint32_t n_dflt, uint32_t *n_out);

#endif

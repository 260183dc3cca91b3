/*
 * mapper/keys.c: the keys pass, a multicast key and mask for every slice.
 *
 * Requires place (map->slices with their chips, map->pop_slice); provides
 * slices[s].key and .mask for every slice.  Nothing else is written, and
 * the slices are only written once every key has been found, so a failure
 * leaves them as they were.
 *
 * Invariants of the result (snn__map_verify_keys checks them):
 *   - mask = ~(2^b - 1) for some b in 0 .. 32 (ones above the neuron
 *     index, zeros below), and key has no bit outside the mask;
 *   - 2^b >= the slice's n, so neuron i (0 .. n-1) sends key | i and
 *     (key, mask) matches exactly the slice's 2^b keys ("its block");
 *   - the blocks of different slices are disjoint.
 *
 * The allocation, chosen so routing tables compress well (a chip's
 * entries for neighbouring keys with the same route merge into one entry
 * with a shorter mask):
 *
 *   1. Slice bits.  Population p's slices all get the same b_p, the
 *      fewest bits holding its largest slice: 2^b_p >= max n.  (The same
 *      width for every slice of a population lets any aligned run of
 *      them merge.)
 *   2. Population block.  Its k_p slices take consecutive slots of
 *      2^b_p keys in slice order, in one block of 2^B_p keys aligned to
 *      its size, B_p = b_p + ceil(log2 k_p): slice j of p (j counted from
 *      pop_slice[p]) gets key base_p + j * 2^b_p.  So every aligned run of
 *      2^r of its slices is itself one block with mask ~(2^(b_p + r) - 1),
 *      and all of them together are the block (base_p, ~(2^B_p - 1)).
 *   3. Population order.  Populations are sorted by where their first
 *      slice was placed: the Hilbert-curve index of its chip (over the
 *      smallest power-of-two square holding the grid), then its core,
 *      then the population index.  Populations placed near each other get
 *      neighbouring blocks, so their keys share prefixes and a chip they
 *      both route the same way can merge their entries.
 *   4. Packing.  In that order, each population takes the next free
 *      address aligned to its block size.  When that needs more than 32
 *      bits (alignment gaps can waste up to half the space when block
 *      sizes vary), the blocks are packed again largest first (ties in
 *      the order of 3), which leaves no gap: the key space then needed is
 *      the sum of the block sizes.  When even that exceeds 2^32 the pass
 *      fails with SNN_ETOOBIG, saying how many key bits are needed.
 *
 * Everything is a function of the slices and their placement: the result
 * is deterministic.
 */
#include <stdlib.h>
#include <string.h>

#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"

/* Keys are 32 bits, as the routers' keys and masks are. */
#define KEY_BITS 32u

/* The fewest bits b with 2^b >= n (n >= 1; 0 for n == 1). */
static unsigned bits_for(uint64_t n)
{
    unsigned b = 0;
    while (b < 64 && ((uint64_t)1 << b) < n)
        b++;
    return b;
}

/* One population's block while allocating. */
struct pblock {
    uint64_t order;  /* the locality order: hilbert << 8 | core */
    uint32_t pop;
    uint8_t b;       /* bits of a slice's neuron index */
    uint8_t B;       /* bits of the whole block */
    uint64_t base;
};

static int cmp_locality(const void *pa, const void *pb)
{
    const struct pblock *a = pa, *b = pb;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    return (a->pop > b->pop) - (a->pop < b->pop);
}

static int cmp_size_then_locality(const void *pa, const void *pb)
{
    const struct pblock *a = pa, *b = pb;
    if (a->B != b->B)
        return a->B > b->B ? -1 : 1;
    return cmp_locality(pa, pb);
}

/* Bases in the current order, each aligned to its size; the end of the
 * last block (may exceed 2^32). */
static uint64_t pack(struct pblock *pb, uint32_t n)
{
    uint64_t next = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t size = (uint64_t)1 << pb[i].B;
        next = (next + size - 1) & ~(size - 1);
        pb[i].base = next;
        next += size;
    }
    return next;
}

int snn_map_keys(struct snn_map *map, struct snn_diag *d)
{
    const struct snn_net *net = map->net;
    const struct snn_machine *m = map->m;
    uint32_t n_pops = net->n_pops;
    struct pblock *pb = snn_malloc(((size_t)n_pops + 1) * sizeof *pb);
    if (!pb)
        return SNN_ENOMEM;

    uint32_t side = 1;
    while (side < m->width || side < m->height)
        side *= 2;

    uint32_t n = 0;
    uint64_t sum = 0;         /* the blocks' sizes, summed */
    uint32_t biggest = 0;     /* index in pb of the largest block */
    for (uint32_t p = 0; p < n_pops; p++) {
        uint32_t s0 = map->pop_slice[p], s1 = map->pop_slice[p + 1];
        if (s0 == s1)
            continue;
        uint32_t max_n = 1;
        for (uint32_t s = s0; s < s1; s++)
            if (map->slices[s].n > max_n)
                max_n = map->slices[s].n;
        struct pblock *q = &pb[n];
        const struct snn_slice *first = &map->slices[s0];
        q->order = snn__map_hilbert(side, first->x, first->y) << 8 | first->core;
        q->pop = p;
        q->b = (uint8_t)bits_for(max_n);
        q->B = (uint8_t)(q->b + bits_for(s1 - s0));
        q->base = 0;
        /* B can reach 64 (2^32 slices of 2^32 neurons): the sum saturates,
         * which is only ever compared with 2^32 and reported. */
        uint64_t size = q->B >= 63 ? UINT64_MAX : (uint64_t)1 << q->B;
        sum = sum > UINT64_MAX - size ? UINT64_MAX : sum + size;
        if (n == 0 || q->B > pb[biggest].B)
            biggest = n;
        n++;
    }

    if (sum > ((uint64_t)1 << KEY_BITS)) {
        const struct pblock *q = &pb[biggest];
        uint32_t p = q->pop;
        uint32_t k = map->pop_slice[p + 1] - map->pop_slice[p];
        unsigned need = bits_for(sum);
        if (need < q->B)
            need = q->B;
        snn_diag_error(d, &net->pops[p].loc,
                       "the network needs %u key bits and keys have %u: each population takes "
                       "a block of (slices rounded up to a power of two) x (neurons of its "
                       "largest slice rounded up to a power of two) keys; the largest, "
                       "population '%s', takes 2^%u (%u slices of up to 2^%u neurons); try "
                       "fewer or smaller populations, or slice sizes and slice counts that "
                       "are powers of two (--neurons-per-core)",
                       need, KEY_BITS, snn__map_pop_name(map, p), q->B, k, q->b);
        snn_free(pb);
        return SNN_ETOOBIG;
    }

    /* Every population has a block and the sizes sum to at most 2^32:
     * the largest-first packing always fits, the locality one may not. */
    qsort(pb, n, sizeof *pb, cmp_locality);
    if (pack(pb, n) > ((uint64_t)1 << KEY_BITS)) {
        qsort(pb, n, sizeof *pb, cmp_size_then_locality);
        uint64_t end = pack(pb, n);
        SNN_ASSERT(end <= ((uint64_t)1 << KEY_BITS));
    }

    for (uint32_t i = 0; i < n; i++) {
        uint32_t p = pb[i].pop;
        uint32_t s0 = map->pop_slice[p], s1 = map->pop_slice[p + 1];
        uint32_t mask = pb[i].b >= KEY_BITS ? 0 : ~(uint32_t)0 << pb[i].b;
        for (uint32_t s = s0; s < s1; s++) {
            map->slices[s].key = (uint32_t)(pb[i].base + ((uint64_t)(s - s0) << pb[i].b));
            map->slices[s].mask = mask;
        }
    }
    snn_free(pb);
    return 0;
}

/* ---- verifier -------------------------------------------------------------*/

/* At most this many violations are reported one by one; a broken pass
 * would otherwise print one line per slice. */
#define MAX_REPORTS 20u

struct kspan {
    uint64_t lo, hi; /* the block is keys [lo, hi] */
    uint32_t slice;
};

static int cmp_kspan(const void *pa, const void *pb)
{
    const struct kspan *a = pa, *b = pb;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return (a->slice > b->slice) - (a->slice < b->slice);
}

int snn__map_verify_keys(const struct snn_map *map, struct snn_diag *d)
{
    unsigned bad = 0;
    struct kspan *sp = snn_malloc(((size_t)map->n_slices + 1) * sizeof *sp);
    if (!sp)
        return SNN_ENOMEM;
    for (uint32_t s = 0; s < map->n_slices; s++) {
        const struct snn_slice *a = &map->slices[s];
        uint32_t free_bits = ~a->mask;
        const char *why = NULL;
        if ((free_bits & (free_bits + 1)) != 0)
            why = "the mask is not ones above zeros";
        else if (a->key & free_bits)
            why = "the key has bits below the mask";
        else if ((uint64_t)free_bits + 1 < a->n)
            why = "the block is smaller than the slice";
        if (why && bad++ < MAX_REPORTS)
            snn_diag_error(d, NULL, "keys: slice %u (population '%s' [%u, %u)) key 0x%08x "
                           "mask 0x%08x: %s", s, snn__map_pop_name(map, a->pop), a->lo, a->lo + a->n,
                           a->key, a->mask, why);
        sp[s].lo = a->key & a->mask;
        sp[s].hi = (uint64_t)(a->key | free_bits);
        sp[s].slice = s;
    }
    qsort(sp, map->n_slices, sizeof *sp, cmp_kspan);
    /* Sorted by start, blocks are disjoint when each ends before the next
     * starts; the block reaching furthest so far catches every overlap. */
    uint32_t reach = 0;
    for (uint32_t i = 1; i < map->n_slices; i++) {
        if (sp[i].lo <= sp[reach].hi) {
            const struct snn_slice *a = &map->slices[sp[reach].slice];
            const struct snn_slice *b = &map->slices[sp[i].slice];
            if (bad++ < MAX_REPORTS)
                snn_diag_error(d, NULL, "keys: the blocks of slice %u (population '%s', "
                               "0x%08x/0x%08x) and slice %u (population '%s', 0x%08x/0x%08x) "
                               "overlap", sp[reach].slice, snn__map_pop_name(map, a->pop), a->key,
                               a->mask, sp[i].slice, snn__map_pop_name(map, b->pop), b->key, b->mask);
        }
        if (sp[i].hi > sp[reach].hi)
            reach = i;
    }
    snn_free(sp);
    if (bad > MAX_REPORTS)
        snn_diag_error(d, NULL, "keys: %u more violations not shown", bad - MAX_REPORTS);
    return bad ? SNN_EINVAL : 0;
}

/* ---- dump ---------------------------------------------------------------- */

void snn__map_dump_keys(const struct snn_map *map, FILE *out)
{
    uint64_t top = 0;
    for (uint32_t s = 0; s < map->n_slices; s++) {
        uint64_t hi = (uint64_t)(map->slices[s].key | ~map->slices[s].mask) + 1;
        if (hi > top)
            top = hi;
    }
    fprintf(out, "keys: %u slices, %u key bits used\n", map->n_slices, bits_for(top));
    uint32_t n_pops = map->net ? map->net->n_pops : 0;
    for (uint32_t p = 0; p < n_pops; p++) {
        uint32_t s0 = map->pop_slice[p], s1 = map->pop_slice[p + 1];
        if (s0 == s1)
            continue;
        /* The population's block: the smallest aligned one holding all its
         * slices' keys. */
        uint32_t lo = UINT32_MAX, hi = 0;
        for (uint32_t s = s0; s < s1; s++) {
            const struct snn_slice *a = &map->slices[s];
            if ((a->key & a->mask) < lo)
                lo = a->key & a->mask;
            if ((a->key | ~a->mask) > hi)
                hi = a->key | ~a->mask;
        }
        unsigned B = bits_for((uint64_t)(lo ^ hi) + 1);
        uint32_t pmask = B >= KEY_BITS ? 0 : ~(uint32_t)0 << B;
        fprintf(out, "pop %s: %u slices, block 0x%08x/0x%08x\n", snn__map_pop_name(map, p), s1 - s0,
                lo & pmask, pmask);
        for (uint32_t s = s0; s < s1; s++) {
            const struct snn_slice *a = &map->slices[s];
            fprintf(out, "slice %u [%u, %u) chip %u,%u core %u key 0x%08x mask 0x%08x\n", s,
                    a->lo, a->lo + a->n, a->x, a->y, a->core, a->key, a->mask);
        }
    }
}

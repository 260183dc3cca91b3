/*
 * mapper/check.c: following the routing tables as the routers would.
 *
 * snn__map_verify_tables takes the slices (keys, places), the edges and
 * map->tables (after tables or after compress) and proves, exactly and
 * for every key, that each source slice's packets reach exactly the cores
 * of its edges' post slices, each once; every fault is reported to the
 * diagnostics sink (the first MAX_REPORTS one by one, then a count) and
 * the result is SNN_EINVAL.  It reads the map and writes nothing to it.
 *
 * The router's rules, as docs/mapping.md states them: a table is in
 * priority order and a packet takes the route of the first entry with
 * key & mask == entry.key; one that matches nothing and arrived over
 * link L leaves by link (L + 3) mod 6; one that matches nothing at the
 * chip of the core that sent it is dropped.  An entry whose key has a bit
 * outside its mask can match nothing; it is reported.
 *
 * Blocks instead of keys.  A source slice sends the keys of its block
 * (key, mask); a set of keys of the form (k, m) - the bits in m fixed to
 * k's, the others free - is a ternary block.  Against an entry (ek, em)
 * a block either misses it entirely ((k ^ ek) & m & em != 0), is covered
 * entirely (it intersects and em & ~m == 0: the entry fixes no bit the
 * block leaves free), or is covered in part.  In the last case the block
 * is split on the bits F = em & ~m: the part with F as in ek is covered
 * and the rest is, for each bit f of F from the highest, the block with
 * the bits above f in F as in ek and f the other way; those pieces miss
 * the entry and go on to the next entries.  The pieces are disjoint and
 * cover the block, so what the walk concludes for a piece holds for every
 * key of it: the check is exact and never enumerates keys.
 *
 * The walk.  From the slice's chip (as if from a local core) each piece
 * is looked up, then delivered to the cores of its route and sent over
 * its links to the neighbours (snn_machine_neighbour), arriving there on
 * the opposite link.  Faults:
 *   - no entry matches at the source chip (the packets are dropped);
 *   - a link, chosen by an entry or by default routing, that leads
 *     nowhere (off the edge of the machine, to a dead chip or over a
 *     dead link);
 *   - a chip reached a second time by some key (a loop when the chip is
 *     on the path that brought the key there, else two routes meeting:
 *     either way the router would send copies), which ends that branch;
 *   - a key delivered to a core that runs no post slice of the source's
 *     edges;
 *   - a post slice's core that does not receive every key of the block
 *     (counted exactly: the pieces delivered to one core are disjoint, so
 *     their sizes sum to the block's size exactly when all arrived).
 * Slices with no outgoing edge send nothing and are not followed.
 *
 * Speed.  Scanning a whole table at every chip of every tree would cost
 * entries x hops.  Instead, per chip, every entry is matched once against
 * all source blocks, sorted by key: an entry whose free bits are low bits
 * (every entry of a fresh table, and any merge of aligned blocks) is one
 * key range, found by two binary searches; any other walks down the
 * implicit binary trie of the sorted keys, following its fixed bits and
 * both ways on its free ones, pruning empty key ranges, until what it
 * leaves free below is low bits again.  Per (chip, source) the first
 * entry that intersects the source's block is kept, with whether it
 * covers the block entirely.  The walk then finds a whole block's route
 * in O(1); only a block covered in part (compression merged entries
 * across it) scans the table, from that first intersecting entry on.
 * This relies on the source blocks being aligned and disjoint
 * (snn__map_verify_keys), which is re-checked here first.  Measured on
 * the benchmark's synthetic network (16,000 slices, 10 million edges,
 * 1,296 chips): about 0.2 s after tables and after compress.
 * Memory: 12 + 8 bytes per (chip, source) pair found, a few arrays per
 * chip and per slice, and per source the pieces in flight.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"

/* Faults reported one by one before only counting: one broken table can
 * break every tree through it, and thousands of lines help nobody. */
#define MAX_REPORTS 20u

/* A (chip, source) result: the first intersecting entry, and this bit
 * when it covers the source's block only in part. */
#define PARTIAL 0x80000000u
#define NONE UINT32_MAX

struct src {
    uint32_t lo, mask; /* the block: keys lo .. lo | ~mask */
    uint32_t slice;
};

struct pair {
    uint32_t slice, chip, val;
};

struct cres {
    uint32_t chip, val;
};

/* A piece of a block in flight towards a chip. */
struct item {
    uint32_t chip;
    uint32_t key, mask;
    uint32_t parent; /* the visit it came from, or NONE */
    int8_t in_link;  /* -1: from a local core */
};

/* A piece that reached a chip. */
struct visit {
    uint32_t chip, key, mask;
    uint32_t parent; /* the visit before it on its path, or NONE */
    uint32_t next;   /* the previous visit of the same chip by this source */
};

/* What a chip's table does with a piece. */
struct outcome {
    uint32_t key, mask;
    uint64_t route;
    bool by_default;
};

/* A piece to scan a table for, from entry `from` on. */
struct piece {
    uint32_t key, mask, from;
};

struct chk {
    const struct snn_map *map;
    struct snn_diag *d;
    uint64_t faults;
    size_t grid;
    int32_t *nbr;            /* grid * 6: the neighbour over each link, or -1 */

    struct src *src;         /* slices with outgoing edges, by key */
    uint32_t n_src;
    uint32_t *src_at;        /* n_slices: the slice's place in src */

    struct pair *pairs;
    size_t n_pairs, cap_pairs;
    uint32_t *sl_stamp;      /* n_slices: chip + 1 that set sl_val */
    uint64_t *pfirst;        /* n_slices + 1: each slice's results */
    struct cres *res;

    /* per chip, valid for the source whose stamp they carry */
    uint32_t *res_stamp, *res_val;
    uint32_t *want_stamp;
    uint64_t *want, *got_full; /* core masks */
    uint32_t *vis_stamp, *vis_head;
    uint32_t *part_stamp, *part_slot;

    /* per source, grown as needed */
    struct item *items;
    size_t n_items, cap_items;
    struct visit *vis;
    size_t n_vis, cap_vis;
    struct outcome *outs;
    size_t n_outs, cap_outs;
    struct piece *pieces;
    size_t n_pieces, cap_pieces;
    uint64_t *psum;          /* slots of SNN_ROUTE_MAX_CORES key counts */
    size_t n_slots, cap_slots;
};

/* Grows *arr to hold one more element; 0 or SNN_ENOMEM. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    void *p = snn_realloc(*arr, nc * size);
    if (!p)
        return SNN_ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

static void chip_xy(const struct chk *k, uint32_t chip, unsigned *x, unsigned *y)
{
    *x = chip % k->map->m->width;
    *y = chip / k->map->m->width;
}

/* Reports a fault of slice s's keys (key, mask) at chip (NONE: none in
 * particular). */
__attribute__((format(printf, 6, 7))) static void fault(struct chk *k, uint32_t s, uint32_t key,
                                                         uint32_t mask, uint32_t chip,
                                                         const char *fmt, ...)
{
    if (++k->faults > MAX_REPORTS)
        return;
    const struct snn_map *map = k->map;
    const struct snn_slice *a = &map->slices[s];
    char what[256], where[48] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (chip != NONE) {
        unsigned x, y;
        chip_xy(k, chip, &x, &y);
        snprintf(where, sizeof where, ", at chip (%u,%u)", x, y);
    }
    snn_diag_error(k->d, NULL,
                   "tables: population '%s' slice %u (neurons [%u, %u)), keys 0x%08x/0x%08x%s: "
                   "%s",
                   snn__map_pop_name(map, a->pop), s - map->pop_slice[a->pop], a->lo, a->lo + a->n, key,
                   mask, where, what);
}

/* A slice's place and its chip index, or false when off the grid. */
static bool slice_chip(const struct chk *k, uint32_t s, uint32_t *chip)
{
    const struct snn_slice *a = &k->map->slices[s];
    if (a->x >= k->map->m->width || a->y >= k->map->m->height)
        return false;
    *chip = snn__map_chip(k->map, a->x, a->y);
    return true;
}

/* ---- preparation --------------------------------------------------------- */

static int cmp_src(const void *pa, const void *pb)
{
    const struct src *a = pa, *b = pb;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return (a->slice > b->slice) - (a->slice < b->slice);
}

/* The sources sorted by key; false (reported) when their blocks are not
 * aligned and disjoint, which the exact check needs. */
static bool collect_sources(struct chk *k)
{
    const struct snn_map *map = k->map;
    bool ok = true;
    k->n_src = 0;
    for (uint32_t s = 0; s < map->n_slices; s++) {
        if (map->edge_first[s] == map->edge_first[s + 1])
            continue;
        const struct snn_slice *a = &map->slices[s];
        uint32_t free_bits = ~a->mask;
        if ((free_bits & (free_bits + 1)) || (a->key & free_bits)) {
            fault(k, s, a->key, a->mask, NONE, "the key block is not aligned; cannot follow it");
            ok = false;
        }
        uint32_t chip;
        if (!slice_chip(k, s, &chip)) {
            fault(k, s, a->key, a->mask, NONE, "the slice is off the grid at (%u,%u)", a->x, a->y);
            ok = false;
        }
        k->src[k->n_src++] = (struct src){.lo = a->key & a->mask, .mask = a->mask, .slice = s};
    }
    qsort(k->src, k->n_src, sizeof *k->src, cmp_src);
    for (uint32_t i = 0; i < k->n_src; i++) {
        k->src_at[k->src[i].slice] = i;
        if (i && k->src[i].lo <= (k->src[i - 1].lo | ~k->src[i - 1].mask)) {
            fault(k, k->src[i].slice, k->src[i].lo, k->src[i].mask, NONE,
                  "the key block overlaps that of slice %u; cannot follow it",
                  k->src[i - 1].slice);
            ok = false;
        }
    }
    return ok;
}

/* Records entry ei of chip's table as the first to intersect source j's
 * block, unless an earlier entry was. */
static int note(struct chk *k, uint32_t chip, uint32_t ei, const struct snn_rentry *e, uint32_t j)
{
    const struct src *b = &k->src[j];
    if ((b->lo ^ e->key) & b->mask & e->mask)
        return 0; /* misses */
    if (k->sl_stamp[b->slice] == chip + 1)
        return 0; /* an earlier entry intersects it */
    k->sl_stamp[b->slice] = chip + 1;
    if (grow((void **)&k->pairs, &k->cap_pairs, k->n_pairs, sizeof *k->pairs))
        return SNN_ENOMEM;
    uint32_t val = ei | ((e->mask & ~b->mask) ? PARTIAL : 0);
    k->pairs[k->n_pairs++] = (struct pair){.slice = b->slice, .chip = chip, .val = val};
    return 0;
}

/* The first source at or after i0 (before i1) whose block starts at or
 * above key. */
static uint32_t lower_bound(const struct chk *k, uint32_t i0, uint32_t i1, uint32_t key)
{
    while (i0 < i1) {
        uint32_t mid = i0 + (i1 - i0) / 2;
        if (k->src[mid].lo < key)
            i0 = mid + 1;
        else
            i1 = mid;
    }
    return i0;
}

/* Finds the sources [i0, i1) intersecting entry e, all of whose blocks
 * start in the region of keys with the top `depth` bits of v: down the
 * trie of the sorted keys, one bit per level, both ways where e leaves
 * the bit free.  Exact at the leaves (note() tests each block). */
static int descend(struct chk *k, uint32_t chip, uint32_t ei, const struct snn_rentry *e,
                   uint32_t i0, uint32_t i1, uint32_t v, unsigned depth)
{
    for (;;) {
        if (i0 >= i1)
            return 0;
        uint32_t below = depth >= 32 ? 0 : UINT32_MAX >> depth;
        if (i1 - i0 <= 1 || !(e->mask & below)) {
            for (uint32_t j = i0; j < i1; j++)
                if (note(k, chip, ei, e, j))
                    return SNN_ENOMEM;
            return 0;
        }
        uint32_t rem = ~e->mask & below;
        if (!(rem & (rem + 1))) {
            /* What e leaves free here is a run of low bits: within this
             * region e is the aligned key range [lo, lo | rem], and the
             * aligned blocks meeting it start in it or contain it. */
            uint32_t lo = v | (e->key & below);
            uint32_t j0 = lower_bound(k, i0, i1, lo);
            if (j0 > i0 && (k->src[j0 - 1].lo | ~k->src[j0 - 1].mask) >= lo)
                j0--;
            uint32_t j1 = (lo | rem) == UINT32_MAX ? i1 : lower_bound(k, j0, i1, (lo | rem) + 1);
            for (uint32_t j = j0; j < j1; j++)
                if (note(k, chip, ei, e, j))
                    return SNN_ENOMEM;
            return 0;
        }
        uint32_t bit = (uint32_t)1 << (31 - depth);
        uint32_t mid = lower_bound(k, i0, i1, v | bit);
        depth++;
        if (e->mask & bit) {
            if (e->key & bit) {
                i0 = mid;
                v |= bit;
            } else {
                i1 = mid;
            }
        } else {
            int rc = descend(k, chip, ei, e, i0, mid, v, depth);
            if (rc)
                return rc;
            i0 = mid;
            v |= bit;
        }
    }
}

/* For every chip and source, the first entry intersecting the source's
 * block; the results in k->res by source (k->pfirst).  Malformed entries
 * are reported and skipped (they match nothing). */
static int first_matches(struct chk *k)
{
    const struct snn_map *map = k->map;
    for (uint32_t s = 0; s < map->n_slices; s++)
        k->sl_stamp[s] = 0;
    for (size_t c = 0; c < k->grid; c++) {
        const struct snn_rtable *t = &map->tables[c];
        for (uint32_t i = 0; i < t->n; i++) {
            const struct snn_rentry *e = &t->e[i];
            if (e->key & ~e->mask) {
                if (++k->faults <= MAX_REPORTS)
                    snn_diag_error(k->d, NULL, "tables: chip (%u,%u) entry %u, 0x%08x/0x%08x, "
                                   "has key bits outside its mask and matches nothing",
                                   (unsigned)(c % map->m->width), (unsigned)(c / map->m->width),
                                   i, e->key, e->mask);
                continue;
            }
            int rc = descend(k, (uint32_t)c, i, e, 0, k->n_src, 0, 0);
            if (rc)
                return rc;
        }
    }
    /* Pairs come out by chip; the walk wants them by source: a counting
     * sort (stable, so by chip within a source). */
    for (uint32_t s = 0; s <= map->n_slices; s++)
        k->pfirst[s] = 0;
    for (size_t i = 0; i < k->n_pairs; i++)
        k->pfirst[k->pairs[i].slice + 1]++;
    for (uint32_t s = 0; s < map->n_slices; s++)
        k->pfirst[s + 1] += k->pfirst[s];
    k->res = snn_malloc((k->n_pairs + 1) * sizeof *k->res);
    if (!k->res)
        return SNN_ENOMEM;
    for (size_t i = 0; i < k->n_pairs; i++)
        k->res[k->pfirst[k->pairs[i].slice]++] =
            (struct cres){.chip = k->pairs[i].chip, .val = k->pairs[i].val};
    for (uint32_t s = map->n_slices; s > 0; s--)
        k->pfirst[s] = k->pfirst[s - 1];
    k->pfirst[0] = 0;
    snn_free(k->pairs);
    k->pairs = NULL;
    return 0;
}

/* ---- the walk ------------------------------------------------------------ */

static int push_item(struct chk *k, uint32_t chip, int in_link, uint32_t key, uint32_t mask,
                     uint32_t parent)
{
    if (grow((void **)&k->items, &k->cap_items, k->n_items, sizeof *k->items))
        return SNN_ENOMEM;
    k->items[k->n_items++] = (struct item){
        .chip = chip, .key = key, .mask = mask, .parent = parent, .in_link = (int8_t)in_link};
    return 0;
}

static int push_out(struct chk *k, uint32_t key, uint32_t mask, uint64_t route, bool by_default)
{
    if (grow((void **)&k->outs, &k->cap_outs, k->n_outs, sizeof *k->outs))
        return SNN_ENOMEM;
    k->outs[k->n_outs++] =
        (struct outcome){.key = key, .mask = mask, .route = route, .by_default = by_default};
    return 0;
}

static int push_piece(struct chk *k, uint32_t key, uint32_t mask, uint32_t from)
{
    if (grow((void **)&k->pieces, &k->cap_pieces, k->n_pieces, sizeof *k->pieces))
        return SNN_ENOMEM;
    k->pieces[k->n_pieces++] = (struct piece){.key = key, .mask = mask, .from = from};
    return 0;
}

/* What table t does with the block (key, mask), scanning from entry
 * `from` (none before it intersects the block): the outcomes in k->outs,
 * disjoint pieces covering the block. */
static int split_lookup(struct chk *k, const struct snn_rtable *t, uint32_t key, uint32_t mask,
                        uint32_t from)
{
    k->n_pieces = 0;
    if (push_piece(k, key, mask, from))
        return SNN_ENOMEM;
    while (k->n_pieces) {
        struct piece p = k->pieces[--k->n_pieces];
        uint32_t i = p.from;
        for (; i < t->n; i++) {
            const struct snn_rentry *e = &t->e[i];
            if ((e->key & ~e->mask) || ((p.key ^ e->key) & p.mask & e->mask))
                continue;
            uint32_t f = e->mask & ~p.mask;
            /* The pieces of p outside e: for each bit of f from the
             * highest, the bits above it as in e, it the other way. */
            uint32_t fixed = 0;
            while (f) {
                uint32_t bit = (uint32_t)1 << (31 - __builtin_clz(f));
                uint32_t k2 = (p.key & ~(fixed | bit)) | (e->key & fixed) | (~e->key & bit);
                if (push_piece(k, k2, p.mask | fixed | bit, i + 1))
                    return SNN_ENOMEM;
                fixed |= bit;
                f &= ~bit;
            }
            p.key = (p.key & ~fixed) | (e->key & fixed);
            p.mask |= fixed;
            if (push_out(k, p.key, p.mask, e->route, false))
                return SNN_ENOMEM;
            break;
        }
        if (i == t->n && push_out(k, p.key, p.mask, 0, true))
            return SNN_ENOMEM;
    }
    return 0;
}

/* Whether the path that brought visit v passes through chip. */
static bool on_path(const struct chk *k, uint32_t v, uint32_t chip)
{
    for (; v != NONE; v = k->vis[v].parent)
        if (k->vis[v].chip == chip)
            return true;
    return false;
}

/* Delivers a piece to route's cores of chip and sends it over its links. */
static int forward(struct chk *k, uint32_t s, uint32_t gen, uint32_t chip, uint32_t key,
                   uint32_t mask, uint64_t route, uint32_t visit, bool full, bool by_default)
{
    uint64_t cores = route >> 6;
    if (cores) {
        uint64_t want = k->want_stamp[chip] == gen ? k->want[chip] : 0;
        uint64_t extra = cores & ~want;
        if (extra) {
            unsigned c = (unsigned)__builtin_ctzll(extra);
            int more = __builtin_popcountll(extra) - 1;
            if (more)
                fault(k, s, key, mask, chip, "delivered to core %u and %d more, which run no "
                      "slice these keys are for", c, more);
            else
                fault(k, s, key, mask, chip, "delivered to core %u, which runs no slice these "
                      "keys are for", c);
        }
        cores &= want;
        if (cores && full) {
            k->got_full[chip] |= cores;
        } else if (cores) {
            if (k->part_stamp[chip] != gen) {
                if (grow((void **)&k->psum, &k->cap_slots, k->n_slots,
                         SNN_ROUTE_MAX_CORES * sizeof *k->psum))
                    return SNN_ENOMEM;
                /* grow() counts slots: the array holds cap_slots of them. */
                memset(k->psum + k->n_slots * SNN_ROUTE_MAX_CORES, 0,
                       SNN_ROUTE_MAX_CORES * sizeof *k->psum);
                k->part_stamp[chip] = gen;
                k->part_slot[chip] = (uint32_t)k->n_slots++;
            }
            uint64_t *sum = k->psum + (size_t)k->part_slot[chip] * SNN_ROUTE_MAX_CORES;
            uint64_t size = (uint64_t)1 << __builtin_popcount(~mask);
            for (uint64_t c = cores; c; c &= c - 1)
                sum[__builtin_ctzll(c)] += size;
        }
    }
    for (unsigned l = 0; l < SNN_MACHINE_LINKS; l++) {
        if (!(route & SNN_ROUTE_LINK(l)))
            continue;
        int32_t n = k->nbr[(size_t)chip * SNN_MACHINE_LINKS + l];
        if (n < 0) {
            fault(k, s, key, mask, chip, "%s over link %s, which leads nowhere (the edge of "
                  "the machine, a dead chip or a dead link)",
                  by_default ? "default-routed straight on" : "sent", snn_link_name(l));
            continue;
        }
        if (push_item(k, (uint32_t)n, (int)snn_link_opposite(l), key, mask, visit))
            return SNN_ENOMEM;
    }
    return 0;
}

/* One item: the loop check, the lookup, then every outcome forwarded. */
static int step(struct chk *k, uint32_t s, uint32_t gen, const struct src *b, struct item it)
{
    const struct snn_map *map = k->map;
    bool full = it.key == b->lo && it.mask == b->mask;
    if (k->vis_stamp[it.chip] == gen) {
        for (uint32_t v = k->vis_head[it.chip]; v != NONE; v = k->vis[v].next) {
            if ((k->vis[v].key ^ it.key) & k->vis[v].mask & it.mask)
                continue;
            if (on_path(k, it.parent, it.chip))
                fault(k, s, it.key, it.mask, it.chip, "the packets loop back to this chip");
            else
                fault(k, s, it.key, it.mask, it.chip, "the packets reach this chip a second "
                      "time by another route");
            return 0;
        }
    } else {
        k->vis_stamp[it.chip] = gen;
        k->vis_head[it.chip] = NONE;
    }
    if (grow((void **)&k->vis, &k->cap_vis, k->n_vis, sizeof *k->vis))
        return SNN_ENOMEM;
    uint32_t visit = (uint32_t)k->n_vis++;
    k->vis[visit] = (struct visit){.chip = it.chip, .key = it.key, .mask = it.mask,
                                   .parent = it.parent, .next = k->vis_head[it.chip]};
    k->vis_head[it.chip] = visit;

    const struct snn_rtable *t = &map->tables[it.chip];
    uint32_t val = k->res_stamp[it.chip] == gen ? k->res_val[it.chip] : NONE;
    k->n_outs = 0;
    if (val == NONE) {
        /* No entry intersects the source's block, nor so any piece of it. */
        if (push_out(k, it.key, it.mask, 0, true))
            return SNN_ENOMEM;
    } else if (full && !(val & PARTIAL)) {
        if (push_out(k, it.key, it.mask, t->e[val].route, false))
            return SNN_ENOMEM;
    } else if (split_lookup(k, t, it.key, it.mask, val & ~PARTIAL)) {
        return SNN_ENOMEM;
    }
    for (size_t i = 0; i < k->n_outs; i++) {
        struct outcome o = k->outs[i];
        bool whole = full && o.key == it.key && o.mask == it.mask;
        if (o.by_default) {
            if (it.in_link < 0) {
                fault(k, s, o.key, o.mask, it.chip, "no entry matches at the source chip: the "
                      "packets are dropped");
                continue;
            }
            o.route = SNN_ROUTE_LINK(snn_link_opposite((unsigned)it.in_link));
        }
        int rc = forward(k, s, gen, it.chip, o.key, o.mask, o.route, visit, whole,
                         o.by_default);
        if (rc)
            return rc;
    }
    return 0;
}

/* Follows source slice s's block from its chip and checks what arrived. */
static int walk(struct chk *k, uint32_t s)
{
    const struct snn_map *map = k->map;
    const struct src *b = &k->src[k->src_at[s]];
    uint32_t gen = s + 1;
    uint32_t home;
    if (!slice_chip(k, s, &home))
        return 0; /* reported by collect_sources */

    for (uint64_t e = map->edge_first[s]; e < map->edge_first[s + 1]; e++) {
        uint32_t t = map->edges[e].post, c;
        if (t >= map->n_slices || !slice_chip(k, t, &c)) {
            fault(k, s, b->lo, b->mask, home, "edge %llu leads to slice %u, which is not on "
                  "the machine", (unsigned long long)e, t);
            continue;
        }
        if (k->want_stamp[c] != gen) {
            k->want_stamp[c] = gen;
            k->want[c] = 0;
            k->got_full[c] = 0;
        }
        k->want[c] |= (uint64_t)1 << map->slices[t].core;
    }
    for (uint64_t i = k->pfirst[s]; i < k->pfirst[s + 1]; i++) {
        k->res_stamp[k->res[i].chip] = gen;
        k->res_val[k->res[i].chip] = k->res[i].val;
    }

    k->n_items = k->n_vis = k->n_slots = 0;
    if (push_item(k, home, -1, b->lo, b->mask, NONE))
        return SNN_ENOMEM;
    while (k->n_items) {
        struct item it = k->items[--k->n_items];
        int rc = step(k, s, gen, b, it);
        if (rc)
            return rc;
    }

    uint64_t size = (uint64_t)1 << __builtin_popcount(~b->mask);
    for (uint64_t e = map->edge_first[s]; e < map->edge_first[s + 1]; e++) {
        uint32_t t = map->edges[e].post, c;
        if (t >= map->n_slices || !slice_chip(k, t, &c))
            continue;
        const struct snn_slice *post = &map->slices[t];
        if (k->got_full[c] >> post->core & 1)
            continue;
        uint64_t got = k->part_stamp[c] == gen
                           ? k->psum[(size_t)k->part_slot[c] * SNN_ROUTE_MAX_CORES + post->core]
                           : 0;
        if (got == size)
            continue;
        fault(k, s, b->lo, b->mask, c, "%llu of the %llu keys reach core %u, which runs "
              "population '%s' slice %u", (unsigned long long)got, (unsigned long long)size,
              post->core, snn__map_pop_name(map, post->pop), t - map->pop_slice[post->pop]);
    }
    return 0;
}

/* ---- entry point ------------------------------------------------------- */

static void chk_free(struct chk *k)
{
    snn_free(k->nbr);
    snn_free(k->src);
    snn_free(k->src_at);
    snn_free(k->pairs);
    snn_free(k->sl_stamp);
    snn_free(k->pfirst);
    snn_free(k->res);
    snn_free(k->res_stamp);
    snn_free(k->res_val);
    snn_free(k->want_stamp);
    snn_free(k->want);
    snn_free(k->got_full);
    snn_free(k->vis_stamp);
    snn_free(k->vis_head);
    snn_free(k->part_stamp);
    snn_free(k->part_slot);
    snn_free(k->items);
    snn_free(k->vis);
    snn_free(k->outs);
    snn_free(k->pieces);
    snn_free(k->psum);
}

int snn__map_verify_tables(const struct snn_map *map, struct snn_diag *d)
{
    const struct snn_machine *m = map->m;
    struct chk k = {.map = map, .d = d, .grid = (size_t)m->width * m->height};
    if (!map->tables) {
        snn_diag_error(d, NULL, "tables: there are no routing tables");
        return SNN_EINVAL;
    }
    size_t ns = (size_t)map->n_slices + 1, g = k.grid + 1;
    k.nbr = snn_malloc(g * SNN_MACHINE_LINKS * sizeof *k.nbr);
    k.src = snn_malloc(ns * sizeof *k.src);
    k.src_at = snn_malloc(ns * sizeof *k.src_at);
    k.sl_stamp = snn_malloc(ns * sizeof *k.sl_stamp);
    k.pfirst = snn_malloc((ns + 1) * sizeof *k.pfirst);
    k.res_stamp = snn_calloc(g, sizeof *k.res_stamp);
    k.res_val = snn_malloc(g * sizeof *k.res_val);
    k.want_stamp = snn_calloc(g, sizeof *k.want_stamp);
    k.want = snn_malloc(g * sizeof *k.want);
    k.got_full = snn_malloc(g * sizeof *k.got_full);
    k.vis_stamp = snn_calloc(g, sizeof *k.vis_stamp);
    k.vis_head = snn_malloc(g * sizeof *k.vis_head);
    k.part_stamp = snn_calloc(g, sizeof *k.part_stamp);
    k.part_slot = snn_malloc(g * sizeof *k.part_slot);
    int rc = SNN_ENOMEM;
    if (!k.nbr || !k.src || !k.src_at || !k.sl_stamp || !k.pfirst || !k.res_stamp ||
        !k.res_val || !k.want_stamp || !k.want || !k.got_full || !k.vis_stamp || !k.vis_head ||
        !k.part_stamp || !k.part_slot)
        goto out;

    for (size_t c = 0; c < k.grid; c++) {
        for (unsigned l = 0; l < SNN_MACHINE_LINKS; l++) {
            uint32_t nx, ny;
            bool ok = snn_machine_neighbour(m, (uint32_t)(c % m->width),
                                            (uint32_t)(c / m->width), l, &nx, &ny);
            k.nbr[c * SNN_MACHINE_LINKS + l] = ok ? (int32_t)snn__map_chip(map, nx, ny) : -1;
        }
        if (map->tables[c].n && !map->tables[c].e) {
            snn_diag_error(d, NULL, "tables: chip (%u,%u) has %u entries but no array",
                           (unsigned)(c % m->width), (unsigned)(c / m->width),
                           map->tables[c].n);
            rc = SNN_EINVAL;
            goto out;
        }
    }
    if (!collect_sources(&k)) {
        rc = SNN_EINVAL;
        goto out;
    }
    rc = first_matches(&k);
    if (rc)
        goto out;
    /* In slice order, so reports read in network order. */
    for (uint32_t s = 0; s < map->n_slices; s++) {
        if (map->edge_first[s] == map->edge_first[s + 1])
            continue;
        rc = walk(&k, s);
        if (rc)
            goto out;
    }
    rc = 0;
out:
    if (k.faults > MAX_REPORTS)
        snn_diag_error(d, NULL, "tables: %llu more faults not shown",
                       (unsigned long long)(k.faults - MAX_REPORTS));
    if (rc == 0 && k.faults)
        rc = SNN_EINVAL;
    chk_free(&k);
    return rc;
}

/*
 * mapper/compress.c: the compress pass: smaller routing tables, same routes.
 *
 * Takes map->tables (one table per chip, first match wins, from the
 * tables pass), the multicast trees (map->hops) and the slices' key
 * blocks; gives the same tables, replaced in place by smaller ones (new
 * entry arrays in map->arena, n updated, n_before untouched).
 *
 * What must not change.  A chip sees only the packets of the trees that
 * pass through it.  For every such packet the first matching entry must
 * keep its route, and a packet the router sends straight through with no
 * entry (a hop arriving on link L whose route is exactly link (L+3) mod 6:
 * the "default-routed" traffic) must still match no entry.  Keys no tree
 * brings to the chip are free: an entry may cover them or not.  Entries
 * are ternary: key bits where mask is 1, X (either) where it is 0.
 *
 * How, per table:
 *   1. Entries no packet uses are dropped, and so are entries whose every
 *      packet would go the same way with no entry (default routing);
 *      entries wholly hidden behind an earlier one are dropped.
 *   2. The pre-merge: when no two entries share a key (as the tables pass
 *      makes them), aligned buddies (one route, one mask, keys differing
 *      only in the mask's lowest bit) are merged until none is left: the
 *      result covers exactly their union, so nothing needs checking, and
 *      it costs O(n log n).  The slices of a population hold consecutive
 *      keys of one aligned block and mostly share a route on a chip, so
 *      this does most of the work.
 *   3. Ordered covering (Mundy, Heathcote and Garside, "On-chip
 *      order-exploiting routing table minimization for a multicast
 *      supercomputer network", 2016): the table is sorted by generality
 *      (the number of X bits; stably, and only when no two overlapping
 *      entries with different routes would swap), then repeatedly the
 *      best merge is applied.  A merge takes the entries of one route,
 *      replaces them with the smallest ternary entry covering them all,
 *      placed just before the first entry at least as general.  Before
 *      that it is refined:
 *        down-check: the merged entry must not catch a packet that would
 *          reach an entry below it with another route, nor a default-
 *          routed packet (default sets in ascending, disjoint key ranges,
 *          as the pass gives them, are found by binary search).  The
 *          packets an entry really routes are its "aliases": the original
 *          entries merged into it (one exact set for a pre-merged entry).
 *          A conflict is cured by removing from the merge the entries
 *          that give it an X at a bit where the conflicting alias has a
 *          fixed value; the bit that removes fewest is chosen.
 *        up-check: an entry moved down to the merged entry's place must
 *          not pass an entry with another route that overlaps it; if it
 *          would, it leaves the merge.
 *      The merge saving most entries wins (ties: the route with most
 *      entries, then the route seen first, so the result is deterministic).
 *      When no route's entries merge as a whole (on scattered tables the
 *      refinement of a large merge can end with nothing), pairs of entries
 *      of one route are tried under the same checks, so no two entries
 *      of one route that could merge under them are left.
 *   4. Modes (opt.compress): FIT stops as soon as the table fits the
 *      router (snn_machine_router_free), in the pre-merge too, and leaves
 *      tables that already fit untouched; MIN goes on while any merge
 *      saves an entry; NONE changes nothing.  A table that does not fit
 *      in the end is SNN_ETOOBIG.
 *
 * The pass builds every new table in scratch memory first and replaces
 * the tables only when all succeed: on any error the map is unchanged.
 *
 * snn__map_compress_pairs() is a simple pair-merging compressor kept for
 * comparison in tests and benchmarks only; the pass never uses it.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"

#define NIL UINT32_MAX   /* ends an alias list */
#define NO_LINK 0xFFu    /* a route that is not exactly one link */

/* ---- ternary key sets ------------------------------------------------ */

/* Bits set in x (portable: no popcount instruction assumed). */
static inline uint32_t ones(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (x * 0x01010101u) >> 24;
}

/* X bits of a mask. */
static inline uint32_t generality(uint32_t mask)
{
    return 32u - ones(mask);
}

/* Whether two key sets share a key. */
static inline bool meets(uint32_t k1, uint32_t m1, uint32_t k2, uint32_t m2)
{
    return ((k1 ^ k2) & m1 & m2) == 0;
}

/* Whether set (ki, mi) lies within set (ko, mo). */
static inline bool within(uint32_t ki, uint32_t mi, uint32_t ko, uint32_t mo)
{
    return (mo & ~mi) == 0 && ((ki ^ ko) & mo) == 0;
}

/* The link of a route that is exactly one link, else NO_LINK. */
static inline unsigned single_link(uint64_t route)
{
    for (unsigned l = 0; l < SNN_MACHINE_LINKS; l++)
        if (route == SNN_ROUTE_LINK(l))
            return l;
    return NO_LINK;
}

/* ---- the working table ----------------------------------------------- */

/* One entry of the table being compressed. */
struct went {
    uint32_t key, mask; /* key has no bit outside mask */
    uint32_t cls;       /* route class: equal routes, equal class */
    uint32_t source;
    uint32_t alias, alias_tail; /* its alias list in ws.al, first and last */
    uint32_t gen;               /* generality(mask) */
};

/* An original entry merged into a working one: the keys it routes. */
struct walias {
    uint32_t key, mask;
    uint32_t next; /* NIL ends the list */
};

/* A candidate merge: the entries ws.sel[0 .. ns) (ascending indices, each
 * flagged in ws.in_s) of class cls, and the entry they would become,
 * inserted before index p. */
struct merge {
    uint32_t cls, ns;
    uint32_t key, mask, gen, p;
};

/* Scratch for one table of up to cap entries, reused across chips. */
struct ws {
    uint32_t cap;
    struct went *t, *tmp;
    struct walias *al;
    uint64_t *croute;      /* class -> route */
    uint32_t *ccount;      /* class -> entries of the table in it */
    uint32_t *corder;      /* classes, in the order merges are tried */
    uint32_t *sel, *best;  /* the merge being refined; the best so far */
    uint8_t *in_s;         /* per table index: in sel */
    uint8_t *dead;         /* per table index: to be dropped */
    uint64_t *order;       /* sorting keys */
    uint32_t *hash;        /* route -> class, 2 * cap rounded up to a power of two */
    uint32_t hash_size;
    uint32_t n_cls;
    bool dflt_sorted;      /* the default sets' key ranges ascend, disjoint */
};

static void ws_free(struct ws *w)
{
    snn_free(w->t);
    snn_free(w->tmp);
    snn_free(w->al);
    snn_free(w->croute);
    snn_free(w->ccount);
    snn_free(w->corder);
    snn_free(w->sel);
    snn_free(w->best);
    snn_free(w->in_s);
    snn_free(w->dead);
    snn_free(w->order);
    snn_free(w->hash);
    memset(w, 0, sizeof *w);
}

static int ws_init(struct ws *w, uint32_t cap)
{
    memset(w, 0, sizeof *w);
    if (cap == 0)
        cap = 1;
    w->cap = cap;
    w->hash_size = 2;
    while (w->hash_size < 2u * cap)
        w->hash_size *= 2;
    w->t = snn_malloc(cap * sizeof *w->t);
    w->tmp = snn_malloc(cap * sizeof *w->tmp);
    w->al = snn_malloc(cap * sizeof *w->al);
    w->croute = snn_malloc(cap * sizeof *w->croute);
    w->ccount = snn_malloc(cap * sizeof *w->ccount);
    w->corder = snn_malloc(cap * sizeof *w->corder);
    w->sel = snn_malloc(cap * sizeof *w->sel);
    w->best = snn_malloc(cap * sizeof *w->best);
    w->in_s = snn_calloc(cap, 1);
    w->dead = snn_calloc(cap, 1);
    w->order = snn_malloc(cap * sizeof *w->order);
    w->hash = snn_malloc(w->hash_size * sizeof *w->hash);
    if (!w->t || !w->tmp || !w->al || !w->croute || !w->ccount || !w->corder || !w->sel ||
        !w->best || !w->in_s || !w->dead || !w->order || !w->hash) {
        ws_free(w);
        return SNN_ENOMEM;
    }
    return 0;
}

/* Loads e[0 .. n) into the working table: keys masked, each entry its
 * own alias, route classes numbered by first appearance. */
static void load(struct ws *w, const struct snn_rentry *e, uint32_t n)
{
    SNN_ASSERT(n <= w->cap);
    memset(w->hash, 0xFF, w->hash_size * sizeof *w->hash);
    w->n_cls = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t r = e[i].route;
        uint32_t h = (uint32_t)((r * 0x9E3779B97F4A7C15u) >> 32) & (w->hash_size - 1);
        while (w->hash[h] != NIL && w->croute[w->hash[h]] != r)
            h = (h + 1) & (w->hash_size - 1);
        if (w->hash[h] == NIL) {
            w->hash[h] = w->n_cls;
            w->croute[w->n_cls] = r;
            w->ccount[w->n_cls] = 0;
            w->n_cls++;
        }
        uint32_t c = w->hash[h];
        w->ccount[c]++;
        w->al[i] = (struct walias){e[i].key & e[i].mask, e[i].mask, NIL};
        w->t[i] = (struct went){
            .key = e[i].key & e[i].mask,
            .mask = e[i].mask,
            .cls = c,
            .source = e[i].source,
            .alias = i,
            .alias_tail = i,
            .gen = generality(e[i].mask),
        };
    }
}

static void store(const struct ws *w, uint32_t n, struct snn_rentry *out)
{
    for (uint32_t i = 0; i < n; i++)
        out[i] = (struct snn_rentry){w->t[i].key, w->t[i].mask, w->croute[w->t[i].cls],
                                     w->t[i].source};
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/*
 * Drops the entries flagged in w->dead: j is dead when an earlier entry i
 * holds all its keys, so no packet reaches it.  When i has j's route, j's
 * aliases move to i (its packets are i's now).  When the routes differ,
 * j is dropped only at first (initial: every entry still routes exactly
 * its own keys, and j routes none); later j's aliases may hold packets
 * routed above i, so j stays.  *sortable says whether a stable sort by
 * generality keeps every route: no overlapping pair with different routes
 * has the more general entry first.  Returns the new count.
 *
 * Cost: entries are ordered by their lowest key; when the key ranges
 * [key, key | ~mask] do not overlap (the usual table: disjoint blocks) no
 * two entries meet and the scan ends there; otherwise every pair is
 * compared.
 */
static uint32_t prune(struct ws *w, uint32_t n, bool initial, bool *sortable)
{
    struct went *t = w->t;
    *sortable = true;
    if (n < 2)
        return n;
    bool sorted = true;
    for (uint32_t i = 1; i < n && sorted; i++)
        sorted = t[i].key > (t[i - 1].key | ~t[i - 1].mask);
    if (!sorted) {
        for (uint32_t i = 0; i < n; i++)
            w->order[i] = (uint64_t)t[i].key << 32 | i;
        qsort(w->order, n, sizeof *w->order, cmp_u64);
        bool disjoint = true;
        uint32_t hi = 0;
        for (uint32_t k = 0; k < n && disjoint; k++) {
            const struct went *e = &t[(uint32_t)w->order[k]];
            if (k > 0 && e->key <= hi)
                disjoint = false;
            hi = e->key | ~e->mask;
        }
        sorted = disjoint;
    }
    if (sorted)
        return n;

    memset(w->dead, 0, n);
    for (uint32_t i = 0; i < n; i++) {
        if (w->dead[i])
            continue;
        uint32_t ki = t[i].key, mi = t[i].mask;
        for (uint32_t j = i + 1; j < n; j++) {
            if (w->dead[j] || !meets(ki, mi, t[j].key, t[j].mask))
                continue;
            if (within(t[j].key, t[j].mask, ki, mi)) {
                if (t[j].cls == t[i].cls) {
                    w->al[t[i].alias_tail].next = t[j].alias;
                    t[i].alias_tail = t[j].alias_tail;
                    w->dead[j] = 1;
                    continue;
                }
                if (initial) {
                    w->dead[j] = 1;
                    continue;
                }
            }
            if (t[j].cls != t[i].cls && t[i].gen > t[j].gen)
                *sortable = false;
        }
    }
    uint32_t o = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (w->dead[i])
            w->ccount[t[i].cls]--;
        else
            t[o++] = t[i];
    }
    return o;
}

/* Stable sort by generality (counting sort over 0 .. 32). */
static void sort_by_generality(struct ws *w, uint32_t n)
{
    uint32_t start[34] = {0};
    for (uint32_t i = 0; i < n; i++)
        start[w->t[i].gen + 1]++;
    for (uint32_t g = 1; g < 34; g++)
        start[g] += start[g - 1];
    for (uint32_t i = 0; i < n; i++)
        w->tmp[start[w->t[i].gen]++] = w->t[i];
    struct went *x = w->t;
    w->t = w->tmp;
    w->tmp = x;
}

/* ---- the exact pre-merge --------------------------------------------- */

/*
 * When no two entries share a key, two entries of one route and one mask
 * whose keys differ only in the lowest bit the mask keeps (aligned
 * buddies) cover exactly their union as one entry with that bit an X:
 * no other entry, no default-routed key and no priority is involved, so
 * no check is needed.  Merging them until no pair is left is cheap
 * (O(n log n)) and takes most of the work off ordered covering: the
 * tables pass gives one entry per slice, and the slices of a population
 * hold consecutive keys of one aligned block and mostly share a route.
 *
 * Disjointness is tested on key ranges [key, key | ~mask] (sufficient for
 * any mask, exact for prefix masks); a table failing it is left alone.
 * In a table passing it, buddies have no X above the bit they differ in
 * (else the lower one's range would hold the upper one's key), so the
 * entries of a route taken in key order, merged on a stack as they come,
 * reach the same result as merging buddies in any order.  The merged
 * entry takes the place and source of the earlier of the two in the
 * table, and one alias: the keys it covers, which are exactly those it
 * routes.  Merging stops once the table holds target entries (FIT stops
 * as soon as the table fits).  Returns the new count.
 */
static uint32_t premerge(struct ws *w, uint32_t n, uint32_t target)
{
    struct went *t = w->t;
    if (n < 2 || n <= target)
        return n;
    /* key_order: the entries by key (w->sel). */
    uint32_t *key_order = w->sel;
    bool sorted = true;
    for (uint32_t i = 1; i < n && sorted; i++)
        sorted = t[i].key > (t[i - 1].key | ~t[i - 1].mask);
    if (sorted) {
        for (uint32_t i = 0; i < n; i++)
            key_order[i] = i;
    } else {
        for (uint32_t i = 0; i < n; i++)
            w->order[i] = (uint64_t)t[i].key << 32 | i;
        qsort(w->order, n, sizeof *w->order, cmp_u64);
        uint32_t hi = 0;
        for (uint32_t k = 0; k < n; k++) {
            const struct went *e = &t[(uint32_t)w->order[k]];
            if (k > 0 && e->key <= hi)
                return n; /* ranges overlap: maybe the entries do */
            hi = e->key | ~e->mask;
            key_order[k] = (uint32_t)w->order[k];
        }
    }
    /* by_cls: the entries by (class, key), a stable counting sort of
     * key_order (w->best); class starts in w->corder. */
    uint32_t *by_cls = w->best, *start = w->corder;
    memset(start, 0, w->n_cls * sizeof *start);
    for (uint32_t i = 0; i < n; i++)
        start[t[i].cls]++;
    uint32_t sum = 0;
    for (uint32_t c = 0; c < w->n_cls; c++) {
        uint32_t k = start[c];
        start[c] = sum;
        sum += k;
    }
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = key_order[k];
        by_cls[start[t[i].cls]++] = i;
    }
    /* The stack (w->tmp), each element with its table position (pos,
     * reusing w->sel, done with). */
    struct went *st = w->tmp;
    uint32_t *pos = w->sel, ns = 0, left = n;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = by_cls[k];
        st[ns] = t[i];
        pos[ns++] = i;
        while (ns >= 2 && left > target) {
            struct went *x = &st[ns - 2];
            const struct went *y = &st[ns - 1];
            uint32_t low = x->mask & -x->mask;
            if (x->cls != y->cls || x->mask != y->mask || low == 0 || (x->key & low) ||
                y->key != (x->key | low))
                break;
            if (pos[ns - 1] < pos[ns - 2]) {
                x->source = y->source;
                pos[ns - 2] = pos[ns - 1];
            }
            x->mask &= ~low;
            x->gen++;
            /* In a disjoint table an entry routes exactly its keys; the
             * other nodes of the two alias lists are left unused. */
            w->al[x->alias] = (struct walias){x->key, x->mask, NIL};
            x->alias_tail = x->alias;
            w->ccount[x->cls]--;
            ns--;
            left--;
        }
    }
    if (ns == n)
        return n;
    /* Back to table order: slot[p] is the stack element at position p. */
    uint32_t *slot = w->corder;
    for (uint32_t i = 0; i < n; i++)
        slot[i] = NIL;
    for (uint32_t s = 0; s < ns; s++)
        slot[pos[s]] = s;
    uint32_t o = 0;
    for (uint32_t i = 0; i < n; i++)
        if (slot[i] != NIL)
            t[o++] = st[slot[i]];
    return o;
}

/* ---- ordered covering ------------------------------------------------ */

/* Recomputes the merged entry of mg's selection and where it would go:
 * after the last entry less general than it. */
static void merge_update(const struct ws *w, uint32_t n, struct merge *mg)
{
    uint32_t all1 = ~0u, any1 = 0, allm = ~0u;
    for (uint32_t s = 0; s < mg->ns; s++) {
        const struct went *e = &w->t[w->sel[s]];
        all1 &= e->key;
        any1 |= e->key;
        allm &= e->mask;
    }
    mg->mask = allm & ~(any1 ^ all1);
    mg->key = all1 & mg->mask;
    mg->gen = generality(mg->mask);
    uint32_t p = n;
    while (p > 0 && w->t[p - 1].gen >= mg->gen)
        p--;
    mg->p = p;
}

/* Removes from the selection every entry with an X or the given value at
 * bit, so the merged entry gets the other value there. */
static void sel_remove_if(struct ws *w, struct merge *mg, uint32_t bit, uint32_t value)
{
    uint32_t o = 0;
    for (uint32_t s = 0; s < mg->ns; s++) {
        uint32_t i = w->sel[s];
        const struct went *e = &w->t[i];
        bool x = !(e->mask & bit);
        bool v = (e->key & bit) != 0;
        if (x || v == (value != 0))
            w->in_s[i] = 0;
        else
            w->sel[o++] = i;
    }
    mg->ns = o;
}

/* Records a key set the merged entry must not cover: the one with the
 * fewest bits the merge could fix to avoid it is kept.  False when the
 * merge cannot avoid it at all, or (fragile) cannot lose an entry. */
static bool conflict(const struct merge *mg, bool fragile, uint32_t k, uint32_t m,
                     uint32_t *best_k, uint32_t *best_set, unsigned *best_pc)
{
    if (!meets(mg->key, mg->mask, k, m))
        return true;
    if (fragile)
        return false; /* any cure would take the merge down to nothing */
    uint32_t settable = m & ~mg->mask;
    unsigned pc = ones(settable);
    if (pc == 0)
        return false;
    if (pc < *best_pc) {
        *best_pc = pc;
        *best_set = settable;
        *best_k = k;
    }
    return true;
}

/*
 * The down-check: shrinks the selection until the merged entry catches no
 * packet of an entry below it with another route (those entries' aliases)
 * and no default-routed packet (dflt).  False when the merge falls to
 * min_goodness or below, or cannot be cured.
 */
static bool downcheck(struct ws *w, uint32_t n, const struct snn__keyset *dflt, uint32_t nd,
                      uint32_t min_goodness, struct merge *mg)
{
    for (;;) {
        if (mg->ns <= min_goodness + 1)
            return false;
        merge_update(w, n, mg);
        bool fragile = mg->ns <= min_goodness + 2;
        uint32_t best_k = 0, best_set = 0;
        unsigned best_pc = 33;
        for (uint32_t j = mg->p; j < n && best_pc > 1; j++) {
            const struct went *e = &w->t[j];
            if (e->cls == mg->cls || !meets(mg->key, mg->mask, e->key, e->mask))
                continue;
            for (uint32_t a = e->alias; a != NIL; a = w->al[a].next)
                if (!conflict(mg, fragile, w->al[a].key, w->al[a].mask, &best_k, &best_set, &best_pc))
                    return false;
        }
        /* Default sets in ascending, disjoint key ranges: only those whose
         * range meets the merged entry's can meet it (a set lies within
         * its range), and they are a run found by binary search. */
        uint32_t j = 0, hi = mg->key | ~mg->mask;
        if (w->dflt_sorted) {
            uint32_t up = nd;
            while (j < up) {
                uint32_t mid = j + (up - j) / 2;
                if (((dflt[mid].key & dflt[mid].mask) | ~dflt[mid].mask) < mg->key)
                    j = mid + 1;
                else
                    up = mid;
            }
        }
        for (; j < nd && best_pc > 1; j++) {
            uint32_t dk = dflt[j].key & dflt[j].mask;
            if (w->dflt_sorted && dk > hi)
                break;
            if (!conflict(mg, fragile, dk, dflt[j].mask, &best_k, &best_set, &best_pc))
                return false;
        }
        if (best_pc == 33)
            return true;
        /* Fix one settable bit to the value the conflicting set lacks,
         * removing the entries that have the set's value or an X there;
         * the bit removing fewest wins (the lowest on a tie). */
        uint32_t pick = 0, pick_cost = UINT32_MAX;
        for (uint32_t bits = best_set; bits; bits &= bits - 1) {
            uint32_t bit = bits & -bits, value = best_k & bit, cost = 0;
            for (uint32_t s = 0; s < mg->ns; s++) {
                const struct went *x = &w->t[w->sel[s]];
                cost += !(x->mask & bit) || (x->key & bit) == value;
            }
            if (cost < pick_cost) {
                pick_cost = cost;
                pick = bit;
            }
        }
        sel_remove_if(w, mg, pick, best_k & pick);
    }
}

/*
 * The up-check: an entry of the selection above the insertion point moves
 * down to it; if an entry with another route between the two overlaps it,
 * some of its packets would be caught there, so it leaves the selection.
 * Taken from the bottom up; the insertion point only rises as entries
 * leave.  Returns whether the selection changed.
 */
static bool upcheck(struct ws *w, uint32_t n, uint32_t min_goodness, struct merge *mg)
{
    bool changed = false;
    for (uint32_t s = mg->ns; s-- > 0;) {
        uint32_t i = w->sel[s];
        if (i >= mg->p)
            continue;
        const struct went *e = &w->t[i];
        for (uint32_t j = i + 1; j < mg->p; j++) {
            const struct went *o = &w->t[j];
            if (o->cls == mg->cls || !meets(e->key, e->mask, o->key, o->mask))
                continue;
            w->in_s[i] = 0;
            memmove(&w->sel[s], &w->sel[s + 1], (mg->ns - s - 1) * sizeof *w->sel);
            mg->ns--;
            changed = true;
            if (mg->ns <= min_goodness + 1)
                return true;
            merge_update(w, n, mg);
            break;
        }
    }
    return changed;
}

/* The goodness (entries saved) of the best merge of class cls better
 * than min_goodness, its selection left in w->sel and mg; 0 if none. */
static uint32_t refine(struct ws *w, uint32_t n, const struct snn__keyset *dflt, uint32_t nd,
                       uint32_t min_goodness, struct merge *mg)
{
    if (!downcheck(w, n, dflt, nd, min_goodness, mg))
        return 0;
    if (upcheck(w, n, min_goodness, mg)) {
        /* The up-check only shrinks the merge, which can then be placed
         * higher, so more entries lie below it: check them again.  The
         * down-check in turn only raises the insertion point, which the
         * up-check's answers survive. */
        if (!downcheck(w, n, dflt, nd, min_goodness, mg))
            return 0;
    }
    return mg->ns - 1;
}

static void clear_sel(struct ws *w, const struct merge *mg)
{
    for (uint32_t s = 0; s < mg->ns; s++)
        w->in_s[w->sel[s]] = 0;
}

/* Classes by entry count, most first, then by class number. */
static void order_classes(struct ws *w)
{
    uint32_t k = 0;
    for (uint32_t c = 0; c < w->n_cls; c++)
        if (w->ccount[c] >= 2)
            w->order[k++] = (uint64_t)(UINT32_MAX - w->ccount[c]) << 32 | c;
    qsort(w->order, k, sizeof *w->order, cmp_u64);
    for (uint32_t i = 0; i < k; i++)
        w->corder[i] = (uint32_t)w->order[i];
    for (uint32_t i = k; i < w->n_cls; i++)
        w->corder[i] = NIL;
}

/* Replaces the selection with its merged entry; returns the new count. */
static uint32_t apply(struct ws *w, uint32_t n, const struct merge *mg)
{
    const struct went *first = &w->t[w->sel[0]];
    struct went m = {
        .key = mg->key,
        .mask = mg->mask,
        .cls = mg->cls,
        .source = first->source,
        .alias = first->alias,
        .alias_tail = first->alias_tail,
        .gen = mg->gen,
    };
    for (uint32_t s = 1; s < mg->ns; s++) {
        const struct went *e = &w->t[w->sel[s]];
        w->al[m.alias_tail].next = e->alias;
        m.alias_tail = e->alias_tail;
    }
    uint32_t o = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i == mg->p)
            w->tmp[o++] = m;
        if (!w->in_s[i])
            w->tmp[o++] = w->t[i];
    }
    if (mg->p == n)
        w->tmp[o++] = m;
    clear_sel(w, mg);
    w->ccount[mg->cls] -= mg->ns - 1;
    struct went *x = w->t;
    w->t = w->tmp;
    w->tmp = x;
    return o;
}

/*
 * When no route's entries merge as a whole (the refinement of a large,
 * scattered merge can end with nothing), the first pair of entries of one
 * route, in table order, that merges under the same checks.  Leaves the
 * pair selected in w->sel and *mg; false when there is none.
 */
static bool pair_merge(struct ws *w, uint32_t n, const struct snn__keyset *dflt, uint32_t nd,
                       uint32_t *resume, struct merge *mg)
{
    /* next[i]: the next entry of i's class in table order. */
    uint32_t *next = w->best, *last = w->corder;
    for (uint32_t c = 0; c < w->n_cls; c++)
        last[c] = NIL;
    for (uint32_t i = n; i-- > 0;) {
        next[i] = last[w->t[i].cls];
        last[w->t[i].cls] = i;
    }
    /* Pairs that failed before mostly fail again: start where the last
     * pair was found, and go once round the table. */
    uint32_t start = *resume < n ? *resume : 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = start + k < n ? start + k : start + k - n;
        for (uint32_t j = next[i]; j != NIL; j = next[j]) {
            *mg = (struct merge){.cls = w->t[i].cls, .ns = 2};
            w->sel[0] = i;
            w->sel[1] = j;
            w->in_s[i] = w->in_s[j] = 1;
            if (refine(w, n, dflt, nd, 0, mg) > 0) {
                *resume = i;
                return true;
            }
            clear_sel(w, mg);
        }
    }
    return false;
}

/* Applies the best merge while the table is longer than target and some
 * merge saves an entry.  Returns the new count. */
static uint32_t cover(struct ws *w, uint32_t n, const struct snn__keyset *dflt, uint32_t nd,
                      uint32_t target)
{
    uint32_t resume = 0;
    while (n > target) {
        order_classes(w);
        uint32_t best_g = 0, best_ns = 0;
        struct merge best = {0};
        for (uint32_t k = 0; k < w->n_cls && w->corder[k] != NIL; k++) {
            uint32_t c = w->corder[k];
            if (w->ccount[c] - 1 <= best_g)
                break; /* every later class is no bigger */
            struct merge mg = {.cls = c};
            for (uint32_t i = 0; i < n; i++)
                if (w->t[i].cls == c) {
                    w->sel[mg.ns++] = i;
                    w->in_s[i] = 1;
                }
            uint32_t g = refine(w, n, dflt, nd, best_g, &mg);
            if (g > best_g) {
                best_g = g;
                best = mg;
                best_ns = mg.ns;
                memcpy(w->best, w->sel, best_ns * sizeof *w->sel);
            }
            clear_sel(w, &mg);
        }
        if (best_g == 0) {
            /* No route's entries merge as a whole: try pairs. */
            if (!pair_merge(w, n, dflt, nd, &resume, &best))
                break;
            n = apply(w, n, &best);
            continue;
        }
        memcpy(w->sel, w->best, best_ns * sizeof *w->sel);
        for (uint32_t s = 0; s < best_ns; s++)
            w->in_s[w->sel[s]] = 1;
        n = apply(w, n, &best);
    }
    return n;
}

/* Compresses the loaded table of n entries to at most target entries if
 * it can (target 0: as far as it can).  Returns the new count. */
static uint32_t compress_loaded(struct ws *w, uint32_t n, const struct snn__keyset *dflt,
                                uint32_t nd, uint32_t target)
{
    if (n <= target)
        return n;
    bool sortable;
    n = prune(w, n, true, &sortable);
    if (n <= target)
        return n;
    n = premerge(w, n, target);
    if (n <= target)
        return n;
    if (sortable)
        sort_by_generality(w, n);
    w->dflt_sorted = true;
    for (uint32_t j = 1; j < nd && w->dflt_sorted; j++)
        w->dflt_sorted = (dflt[j].key & dflt[j].mask) >
                         ((dflt[j - 1].key & dflt[j - 1].mask) | ~dflt[j - 1].mask);
    for (;;) {
        n = cover(w, n, dflt, nd, target);
        if (n <= target)
            return n;
        /* A merged entry can hide an entry of its route below it; that one
         * goes, and its aliases with it, which may free further merges. */
        uint32_t before = n;
        n = prune(w, n, false, &sortable);
        if (n == before)
            return n;
    }
}

int snn__map_compress_table(struct snn_rentry *e, uint32_t n, const struct snn__keyset *dflt,
                            uint32_t n_dflt, uint32_t target, uint32_t *n_out)
{
    *n_out = n;
    if (n <= target || n < 2)
        return 0;
    struct ws w;
    if (ws_init(&w, n))
        return SNN_ENOMEM;
    load(&w, e, n);
    uint32_t k = compress_loaded(&w, n, dflt, n_dflt, target);
    store(&w, k, e);
    *n_out = k;
    ws_free(&w);
    return 0;
}

/* ---- pair merging (for comparison only) ------------------------------ */

int snn__map_compress_pairs(struct snn_rentry *e, uint32_t n, const struct snn__keyset *dflt,
                            uint32_t n_dflt, uint32_t *n_out)
{
    for (uint32_t i = 0; i < n; i++)
        e[i].key &= e[i].mask;
    bool changed = true;
    while (changed) {
        changed = false;
        for (uint32_t i = 0; i < n; i++) {
            for (uint32_t j = i + 1; j < n; j++) {
                if (e[j].route != e[i].route)
                    continue;
                uint32_t mask = e[i].mask & e[j].mask & ~(e[i].key ^ e[j].key);
                uint32_t key = e[i].key & mask;
                bool ok = true;
                for (uint32_t k = 0; k < n && ok; k++)
                    ok = e[k].route == e[i].route || !meets(key, mask, e[k].key, e[k].mask);
                for (uint32_t k = 0; k < n_dflt && ok; k++)
                    ok = !meets(key, mask, dflt[k].key & dflt[k].mask, dflt[k].mask);
                if (!ok)
                    continue;
                e[i].key = key;
                e[i].mask = mask;
                memmove(&e[j], &e[j + 1], (n - j - 1) * sizeof *e);
                n--;
                j = i; /* the merged entry may now pair with earlier candidates */
                changed = true;
            }
        }
    }
    *n_out = n;
    return 0;
}

/* ---- the pass -------------------------------------------------------- */

/* A key block passing through a chip. */
struct blk {
    uint32_t key, mask;
    uint8_t straight; /* the link it leaves by when default-routed, else NO_LINK */
};

/* Per-chip key blocks of every tree passing the chips being compressed,
 * each chip's blocks in key order. */
struct traffic {
    uint64_t *first; /* n_chips + 1 */
    struct blk *b;
};

static void traffic_free(struct traffic *tr)
{
    snn_free(tr->first);
    snn_free(tr->b);
    tr->first = NULL;
    tr->b = NULL;
}

/* Slice order by key, for the blocks to come out sorted. */
struct slice_key {
    uint32_t key, s;
};

static int cmp_slice_key_pair(const void *a, const void *b)
{
    const struct slice_key *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->s > y->s) - (x->s < y->s);
}

static int traffic_build(const struct snn_map *map, const uint8_t *work, uint32_t n_chips,
                         struct traffic *tr)
{
    memset(tr, 0, sizeof *tr);
    tr->first = snn_calloc((size_t)n_chips + 1, sizeof *tr->first);
    if (!tr->first)
        return SNN_ENOMEM;
    if (!map->hops || !map->hop_first || map->n_slices == 0)
        return 0;
    struct slice_key *order = snn_malloc((size_t)map->n_slices * sizeof *order);
    if (!order) {
        traffic_free(tr);
        return SNN_ENOMEM;
    }
    for (uint32_t s = 0; s < map->n_slices; s++)
        order[s] = (struct slice_key){map->slices[s].key & map->slices[s].mask, s};
    qsort(order, map->n_slices, sizeof *order, cmp_slice_key_pair);

    for (uint64_t h = 0; h < map->n_hops; h++) {
        uint32_t c = map->hops[h].chip;
        SNN_ASSERT(c < n_chips);
        if (work[c])
            tr->first[c + 1]++;
    }
    for (uint32_t c = 0; c < n_chips; c++)
        tr->first[c + 1] += tr->first[c];
    uint64_t total = tr->first[n_chips];
    tr->b = snn_malloc((total ? total : 1) * sizeof *tr->b);
    uint64_t *pos = snn_malloc((size_t)n_chips * sizeof *pos);
    if (!tr->b || !pos) {
        snn_free(pos);
        snn_free(order);
        traffic_free(tr);
        return SNN_ENOMEM;
    }
    memcpy(pos, tr->first, (size_t)n_chips * sizeof *pos);
    for (uint32_t k = 0; k < map->n_slices; k++) {
        uint32_t s = order[k].s;
        const struct snn_slice *sl = &map->slices[s];
        for (uint64_t h = map->hop_first[s]; h < map->hop_first[s + 1]; h++) {
            const struct snn_hop *hop = &map->hops[h];
            if (!work[hop->chip])
                continue;
            uint8_t straight = NO_LINK;
            if (hop->in_link >= 0) {
                unsigned out = snn_link_opposite((unsigned)hop->in_link);
                if (hop->route == SNN_ROUTE_LINK(out))
                    straight = (uint8_t)out;
            }
            tr->b[pos[hop->chip]++] = (struct blk){sl->key & sl->mask, sl->mask, straight};
        }
    }
    snn_free(pos);
    snn_free(order);
    return 0;
}

/*
 * Drops the entries of e[0 .. n) no packet needs: those no block passing
 * the chip meets, and those whose every block is default-routed out of
 * the entry's one link and, without the entry, would meet no later entry.
 * b[0 .. nb) are the chip's blocks, disjoint and in key order.  Returns
 * the new count.
 */
static uint32_t drop_unneeded(struct snn_rentry *e, uint32_t n, const struct blk *b, uint64_t nb)
{
    uint32_t o = 0, prev_k = 0;
    uint64_t cur = 0; /* the first block ending at or after prev_k */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = e[i].key & e[i].mask, m = e[i].mask, hi = k | ~m;
        unsigned link = single_link(e[i].route);
        /* The first block ending at or after k.  Block ends ascend;
         * tables come mostly in key order, so the search gallops on from
         * the previous entry's block when k has not gone down. */
        uint64_t lo = 0, up = nb;
        if (k >= prev_k) {
            uint64_t step = 1;
            lo = cur;
            up = cur;
            while (up < nb && (b[up].key | ~b[up].mask) < k) {
                lo = up + 1;
                up += step;
                step *= 2;
            }
            if (up > nb)
                up = nb;
        }
        while (lo < up) {
            uint64_t mid = lo + (up - lo) / 2;
            if ((b[mid].key | ~b[mid].mask) < k)
                lo = mid + 1;
            else
                up = mid;
        }
        cur = lo;
        prev_k = k;
        bool needed = false;
        for (uint64_t j = lo; j < nb && b[j].key <= hi && !needed; j++) {
            if (!meets(k, m, b[j].key, b[j].mask))
                continue;
            if (link == NO_LINK || b[j].straight != link) {
                needed = true;
                break;
            }
            /* The block's keys this entry routes would fall through. */
            uint32_t ck = (k | b[j].key) & (m | b[j].mask), cm = m | b[j].mask;
            for (uint32_t l = i + 1; l < n && !needed; l++)
                needed = meets(ck, cm, e[l].key & e[l].mask, e[l].mask);
        }
        if (needed)
            e[o++] = e[i];
    }
    return o;
}

/* The default-routed blocks of b[0 .. nb), pairs of halves of one aligned
 * block joined, into d.  Returns how many. */
static uint32_t default_sets(const struct blk *b, uint64_t nb, struct snn__keyset *d)
{
    uint32_t nd = 0;
    for (uint64_t j = 0; j < nb; j++) {
        if (b[j].straight == NO_LINK)
            continue;
        d[nd++] = (struct snn__keyset){b[j].key, b[j].mask};
        while (nd >= 2) {
            struct snn__keyset *x = &d[nd - 2], *y = &d[nd - 1];
            uint32_t low = x->mask & -x->mask;
            if (x->mask != y->mask || low == 0 || (x->key ^ y->key) != low || (x->key & low))
                break;
            x->mask &= ~low;
            nd--;
        }
    }
    return nd;
}

/* The population with most entries in e[0 .. n), or UINT32_MAX. */
static int busiest_pop(const struct snn_map *map, const struct snn_rentry *e, uint32_t n,
                       uint32_t *pop)
{
    *pop = UINT32_MAX;
    if (!map->net || !map->slices || map->net->n_pops == 0)
        return 0;
    uint32_t *count = snn_calloc(map->net->n_pops, sizeof *count);
    if (!count)
        return SNN_ENOMEM;
    uint32_t best = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (e[i].source >= map->n_slices)
            continue;
        uint32_t p = map->slices[e[i].source].pop;
        if (p < map->net->n_pops && ++count[p] > best) {
            best = count[p];
            *pop = p;
        }
    }
    snn_free(count);
    return 0;
}

/* Reports chip c's table of n entries (e: the table as generated) not
 * fitting room entries, and how many other chips do not fit either. */
static int report_too_big(const struct snn_map *map, struct snn_diag *d, uint32_t c,
                          uint32_t n, uint32_t room, uint32_t n_other, uint32_t max_other)
{
    const struct snn_machine *m = map->m;
    uint32_t x = c % m->width, y = c / m->width;
    uint32_t pop;
    int rc = busiest_pop(map, map->tables[c].e, map->tables[c].n, &pop);
    if (rc)
        return rc;
    const struct snn_loc *loc = pop != UINT32_MAX ? &map->net->pops[pop].loc : NULL;
    char who[160] = "";
    if (pop != UINT32_MAX)
        snprintf(who, sizeof who, "; most entries route population '%s'",
                 map->net->pops[pop].name);
    if (map->opt.compress == SNN_COMPRESS_NONE)
        snn_diag_error(d, loc,
                       "chip (%u, %u): the routing table needs %u entries (compression is "
                       "off), the router holds %u%s; try --compress=fit (the default) or "
                       "--compress=min, or a bigger machine (it spreads the traffic over more "
                       "routers)",
                       x, y, n, room, who);
    else
        snn_diag_error(d, loc,
                       "chip (%u, %u): the routing table needs %u entries after compression, "
                       "the router holds %u%s; try a bigger machine (it spreads the traffic "
                       "over more routers)%s",
                       x, y, n, room, who,
                       map->opt.compress == SNN_COMPRESS_FIT
                           ? "; --compress=min would not help: a table that does not fit is "
                             "already compressed as far as it goes"
                           : "");
    if (n_other)
        snn_diag_note(d, NULL, "%u more %s not fit either (the largest needs %u entries)",
                      n_other, n_other == 1 ? "chip does" : "chips do", max_other);
    return SNN_ETOOBIG;
}

int snn_map_compress(struct snn_map *map, struct snn_diag *d)
{
    const struct snn_machine *m = map->m;
    uint32_t n_chips = m->width * m->height;
    uint32_t room = snn_machine_router_free(m);
    enum snn_compress_mode mode = map->opt.compress;
    if (!map->tables)
        return 0;

    /* Which tables to work on, and the sizes of the scratch. */
    uint8_t *work = snn_calloc(n_chips ? n_chips : 1, 1);
    if (!work)
        return SNN_ENOMEM;
    uint32_t cap = 0, n_work = 0;
    uint64_t pool_n = 0;
    for (uint32_t c = 0; c < n_chips; c++) {
        uint32_t n = map->tables[c].n;
        bool w = mode == SNN_COMPRESS_MIN ? n > 0 : mode == SNN_COMPRESS_FIT && n > room;
        if (!w)
            continue;
        work[c] = 1;
        n_work++;
        pool_n += n;
        if (n > cap)
            cap = n;
    }

    int rc = 0;
    struct traffic tr = {0};
    struct ws w = {0};
    struct snn_rentry *pool = NULL;
    struct snn__keyset *dsets = NULL;
    uint32_t *new_n = NULL;
    uint64_t *at = NULL;
    if (n_work) {
        uint64_t max_blocks = 0;
        rc = traffic_build(map, work, n_chips, &tr);
        if (rc)
            goto out;
        for (uint32_t c = 0; c < n_chips; c++)
            if (tr.first[c + 1] - tr.first[c] > max_blocks)
                max_blocks = tr.first[c + 1] - tr.first[c];
        pool = snn_malloc(pool_n * sizeof *pool);
        dsets = snn_malloc((max_blocks ? max_blocks : 1) * sizeof *dsets);
        new_n = snn_malloc((size_t)n_chips * sizeof *new_n);
        at = snn_malloc((size_t)n_chips * sizeof *at);
        if (!pool || !dsets || !new_n || !at || ws_init(&w, cap)) {
            rc = SNN_ENOMEM;
            goto out;
        }
    }

    /* Compress each table into the pool; the map is not touched yet. */
    uint32_t bad = UINT32_MAX, bad_n = 0, n_other = 0, max_other = 0;
    uint64_t off = 0, total = 0;
    bool have_traffic = map->hops && map->hop_first && map->n_hops > 0;
    for (uint32_t c = 0; c < n_chips; c++) {
        uint32_t n = map->tables[c].n;
        if (work[c]) {
            struct snn_rentry *e = &pool[off];
            memcpy(e, map->tables[c].e, (size_t)n * sizeof *e);
            const struct blk *b = tr.b ? &tr.b[tr.first[c]] : NULL;
            uint64_t nb = tr.first[c + 1] - tr.first[c];
            uint32_t target = mode == SNN_COMPRESS_MIN ? 0 : room;
            if (have_traffic)
                n = drop_unneeded(e, n, b, nb);
            if (n > target && n >= 2) {
                uint32_t nd = default_sets(b, nb, dsets);
                load(&w, e, n);
                n = compress_loaded(&w, n, dsets, nd, target);
                store(&w, n, e);
            }
            at[c] = off;
            new_n[c] = n;
            off += map->tables[c].n;
            total += n;
        }
        if (n > room) {
            if (bad == UINT32_MAX) {
                bad = c;
                bad_n = n;
            } else {
                n_other++;
                if (n > max_other)
                    max_other = n;
            }
        }
    }
    if (bad != UINT32_MAX) {
        rc = report_too_big(map, d, bad, bad_n, room, n_other, max_other);
        goto out;
    }
    if (n_work) {
        struct snn_rentry *dst = NULL;
        if (total) {
            dst = snn_arena_array(map->arena, total, sizeof *dst);
            if (!dst) {
                rc = SNN_ENOMEM;
                goto out;
            }
        }
        uint64_t k = 0;
        for (uint32_t c = 0; c < n_chips; c++) {
            if (!work[c])
                continue;
            if (new_n[c])
                memcpy(&dst[k], &pool[at[c]], (size_t)new_n[c] * sizeof *dst);
            map->tables[c].e = new_n[c] ? &dst[k] : NULL;
            map->tables[c].n = new_n[c];
            k += new_n[c];
        }
    }
out:
    ws_free(&w);
    traffic_free(&tr);
    snn_free(pool);
    snn_free(dsets);
    snn_free(new_n);
    snn_free(at);
    snn_free(work);
    return rc;
}

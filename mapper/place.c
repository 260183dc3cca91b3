/*
 * mapper/place.c: the place pass, a core for every slice.
 *
 * Requires partition (map->slices, pop_slice, edges, edge_first); provides
 * slices[s].x, .y, .core for every slice.  Nothing else of the map is
 * written, and the slices are only written once the whole placement has
 * been found, so a failure leaves them as they were.
 *
 * Invariants of the result (snn__map_verify_place checks them):
 *   - every slice is on a usable application core of a usable chip
 *     (snn_machine_app_cores): dead chips, dead cores and monitors are
 *     never used;
 *   - at most one slice per core;
 *   - on every chip the slices' use.sdram_bytes sum to at most the chip's
 *     sdram_bytes.
 *
 * Objective.  The traffic-weighted hop distance: the sum over edges of the
 * pre slice's packets_per_step times snn_machine_distance between the two
 * slices' chips; and a population's slices together on as few, adjacent
 * chips as possible, since slices of one population usually share their
 * targets and their routes and keys then merge downstream.
 *
 * The algorithm, constructive then refined, all of it in a fixed order:
 *
 *   1. Populations in an order that brings connected ones close: the
 *      population graph (undirected, summed from the slice edges) is
 *      walked greedily, starting at the heaviest population and always
 *      taking next the unplaced one with the most traffic to those
 *      already taken (ties: more traffic in all, then the lower index).
 *      A disconnected part is started at its heaviest population.
 *   2. The usable chips in the order of a Hilbert curve over the grid
 *      (its square of a power-of-two side, the chips that exist picked
 *      out): chips near on the curve are near on the machine.
 *   3. Cores filled along the chip order, population by population.  A
 *      population that does not fit in what is left of the current chip
 *      starts on a fresh chip while there are spare cores to waste (the
 *      machine's application cores minus the slices), so a population of
 *      up to a chip's cores sits on one chip and a bigger one on as few
 *      as possible.  A slice whose SDRAM does not fit the chip moves on
 *      to the next.  If wasting cores leaves some slices without a chip
 *      (SDRAM can make the count of spare cores optimistic), the fill is
 *      redone packed.
 *   4. The chips' contents so far ("bins") laid out again in two
 *      dimensions: the bin graph is summed from the slice edges, plus a
 *      cohesion edge between consecutive bins of one population (worth
 *      the smaller part's traffic: what two separate trees would cost per
 *      hop of separation over a merged one).  In fill order, each bin
 *      takes the free chip that costs least against the bins already
 *      laid, of: the next free chip along the curve, and the free chip
 *      nearest each of its three heaviest laid neighbours.  (Skipped on
 *      machines so big that bins x chips exceeds CONSTRUCT_BUDGET.)
 *   5. Refinement: each round visits the bins in order and tries moving
 *      a bin next to its own chip and next to its three heaviest
 *      neighbours (their chip and its six neighbours), swapping with
 *      whatever bin is there when both fit; the move that lowers the
 *      weighted cost most is taken.  At most REFINE_ROUNDS rounds,
 *      stopping after a round that gains less than REFINE_MIN_GAIN of the
 *      cost.  Moving whole chips' contents keeps every chip's SDRAM sum
 *      and a population's chip count.
 *   6. Within a chip, its slices take the lowest application cores in
 *      fill order.
 *
 * Every edge counts EDGE_MIN_WEIGHT packets per step beyond its pre
 * slice's rate, so edges of silent sources (which still need routes and
 * table entries) still pull their slices together.
 *
 * The placement needs no randomness: opt.seed is not consulted, and every
 * seed gives the same placement.
 *
 * Cost: O(edges) twice (the population and bin graphs), O(slices +
 * chips log chips), O(bins x chips) to lay the bins out, and per
 * refinement round O(bins x 27 x degree).  On the benchmark's scale
 * (16,000 slices, 10 million edges, 1,296 chips) about 0.1 s.
 * Scratch memory is freed before returning; nothing goes to the arena.
 */
#include <stdlib.h>
#include <string.h>

#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"

#define NONE UINT32_MAX

/* A silent edge still costs routes and table entries: a thousandth of a
 * packet per step, under half a percent of a typical slice's rate (256
 * neurons at 10 Hz with 0.1 ms steps send 0.256), pulls its slices
 * together without outweighing real traffic. */
#define EDGE_MIN_WEIGHT 1e-3
/* Rounds of refinement: each is O(bins x candidates x degree), about
 * 13 ms on the 16,000-slice benchmark; refinement stops earlier when a
 * round gains less than REFINE_MIN_GAIN of the cost, as later rounds then
 * gain less still. */
#define REFINE_ROUNDS 16
#define REFINE_MIN_GAIN 0.005
/* Neighbours whose surroundings a bin tries in refinement. */
#define REFINE_TOP 3
/* Laying bins out looks at every free chip for each bin; beyond this
 * many bin x chip steps (about 0.1 s) the curve's layout is kept.  The
 * benchmark takes 1.3 million. */
#define CONSTRUCT_BUDGET ((uint64_t)64 << 20)
/* An improvement smaller than this is rounding noise, not a gain. */
#define REFINE_EPS 1e-9

/* An undirected weighted graph in CSR: node a's neighbours are
 * adj[first[a] .. first[a+1]) with weights w[...]; no self loops, each
 * neighbour listed once. */
struct ugraph {
    uint32_t n;
    uint64_t *first;
    uint32_t *adj;
    double *w;
};

/* A directed weighted edge while a graph is collected. */
struct arc {
    uint32_t a, b;
    double w;
};

struct arcs {
    struct arc *v;
    size_t n, cap;
};

struct placer {
    const struct snn_map *map;
    const struct snn_machine *m;
    uint32_t n_slices, n_pops;

    /* distance of a chip vector: dtab[(dy + h - 1) * (2w - 1) + dx + w - 1] */
    uint16_t *dtab;
    uint32_t dstride;

    /* the usable chips with application cores, in curve order */
    uint32_t n_chips;
    uint16_t *cx, *cy;
    uint8_t *cap;     /* application cores */
    uint32_t *chip_at; /* width * height: the chip's place in the order, or NONE */
    uint64_t total_cap;

    struct ugraph pg; /* populations */
    uint32_t *order;  /* populations in placement order */

    /* the fill: bin b holds slices fill[bin_first[b] .. bin_first[b+1]) and
     * sits on chip bin_at[b] (a place in the chip order) */
    uint32_t *fill, *bin_first, *bin_at, *bin_of;
    uint32_t n_bins;
    uint32_t *occupant; /* per chip: its bin, or NONE */

    struct ugraph bg; /* bins */
};

/* ---- small helpers ------------------------------------------------------ */

/* v with thousands separators ("16,384") into buf. */
static const char *fmt_count(char buf[32], uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    int o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *machine_name(const struct snn_machine *m)
{
    return m->name ? m->name : "(unnamed)";
}

static double edge_weight(const struct snn_map *map, uint32_t s)
{
    return map->slices[s].use.packets_per_step + EDGE_MIN_WEIGHT;
}

static inline uint32_t dist(const struct placer *P, uint32_t a, uint32_t b)
{
    int dx = (int)P->cx[b] - (int)P->cx[a] + (int)P->m->width - 1;
    int dy = (int)P->cy[b] - (int)P->cy[a] + (int)P->m->height - 1;
    return P->dtab[(size_t)dy * P->dstride + (size_t)dx];
}

static void ugraph_free(struct ugraph *g)
{
    snn_free(g->first);
    snn_free(g->adj);
    snn_free(g->w);
    memset(g, 0, sizeof *g);
}

static void placer_free(struct placer *P)
{
    snn_free(P->dtab);
    snn_free(P->cx);
    snn_free(P->cy);
    snn_free(P->cap);
    snn_free(P->chip_at);
    ugraph_free(&P->pg);
    snn_free(P->order);
    snn_free(P->fill);
    snn_free(P->bin_first);
    snn_free(P->bin_at);
    snn_free(P->bin_of);
    snn_free(P->occupant);
    ugraph_free(&P->bg);
}

/* ---- does it fit at all ------------------------------------------------- */

static int check_fits(const struct snn_map *map, struct snn_diag *d)
{
    const struct snn_machine *m = map->m;
    char a[32], b[32], c[32];
    if ((uint64_t)map->n_slices > m->n_app_cores) {
        snn_diag_error(d, NULL,
                       "the network needs %s cores in %s slices; target '%s' has %s usable "
                       "application cores; try a bigger machine (snnc targets lists them) or "
                       "more neurons per core",
                       fmt_count(a, map->n_slices), fmt_count(b, map->n_slices),
                       machine_name(m), fmt_count(c, m->n_app_cores));
        return SNN_ETOOBIG;
    }
    uint64_t total = 0;
    for (uint32_t s = 0; s < map->n_slices; s++) {
        const struct snn_slice *sl = &map->slices[s];
        if (sl->use.sdram_bytes > m->sdram_bytes) {
            snn_diag_error(d, snn__map_pop_loc(map, sl->pop),
                           "population '%s', neurons [%u, %u), needs %s bytes of SDRAM on "
                           "its chip; a chip of target '%s' has %s bytes; try fewer neurons "
                           "per core or sparser projections",
                           snn__map_pop_name(map, sl->pop), sl->lo, sl->lo + sl->n,
                           fmt_count(a, sl->use.sdram_bytes), machine_name(m),
                           fmt_count(b, m->sdram_bytes));
            return SNN_ETOOBIG;
        }
        total += sl->use.sdram_bytes;
    }
    /* Chips without an application core hold nothing. */
    uint64_t chips = 0;
    for (uint32_t y = 0; y < m->height; y++)
        for (uint32_t x = 0; x < m->width; x++)
            chips += snn_machine_app_cores(m, x, y) != 0;
    if (total > chips * m->sdram_bytes) {
        snn_diag_error(d, NULL,
                       "the network's synapses need %s MiB of SDRAM; target '%s' has %s MiB "
                       "on its %s usable chips; try a bigger machine (snnc targets lists them)",
                       fmt_count(a, (total + (1u << 20) - 1) >> 20), machine_name(m),
                       fmt_count(b, (chips * m->sdram_bytes) >> 20), fmt_count(c, chips));
        return SNN_ETOOBIG;
    }
    return 0;
}

/* ---- the machine: distances and the chip order ------------------------- */

static int build_dist(struct placer *P)
{
    const struct snn_machine *m = P->m;
    uint32_t w = m->width, h = m->height;
    P->dstride = 2 * w - 1;
    P->dtab = snn_malloc((size_t)(2 * h - 1) * P->dstride * sizeof *P->dtab);
    if (!P->dtab)
        return SNN_ENOMEM;
    /* Distances on the grid and the torus depend on the vector only. */
    for (int dy = -(int)h + 1; dy < (int)h; dy++) {
        for (int dx = -(int)w + 1; dx < (int)w; dx++) {
            uint32_t x0 = dx < 0 ? (uint32_t)-dx : 0, y0 = dy < 0 ? (uint32_t)-dy : 0;
            uint32_t dd = snn_machine_distance(m, x0, y0, x0 + (uint32_t)dx, y0 + (uint32_t)dy,
                                               NULL, NULL);
            P->dtab[(size_t)(dy + (int)h - 1) * P->dstride + (size_t)(dx + (int)w - 1)] =
                (uint16_t)dd;
        }
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int build_chips(struct placer *P)
{
    const struct snn_machine *m = P->m;
    size_t grid = (size_t)m->width * m->height;
    uint32_t side = 1;
    while (side < m->width || side < m->height)
        side *= 2;
    uint64_t *key = snn_malloc(grid * sizeof *key);
    P->chip_at = snn_malloc(grid * sizeof *P->chip_at);
    if (!key || !P->chip_at) {
        snn_free(key);
        return SNN_ENOMEM;
    }
    /* Curve index above, chip number below: side <= 256, so the index
     * takes 16 bits and the chip 16. */
    uint32_t n = 0;
    for (uint32_t y = 0; y < m->height; y++) {
        for (uint32_t x = 0; x < m->width; x++) {
            P->chip_at[y * m->width + x] = NONE;
            if (snn_machine_app_cores(m, x, y))
                key[n++] = snn__map_hilbert(side, x, y) << 32 | (y * m->width + x);
        }
    }
    qsort(key, n, sizeof *key, cmp_u64);
    P->n_chips = n;
    P->cx = snn_malloc((size_t)n * sizeof *P->cx + 1);
    P->cy = snn_malloc((size_t)n * sizeof *P->cy + 1);
    P->cap = snn_malloc((size_t)n + 1);
    if (!P->cx || !P->cy || !P->cap) {
        snn_free(key);
        return SNN_ENOMEM;
    }
    P->total_cap = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t c = (uint32_t)key[i];
        P->cx[i] = (uint16_t)(c % m->width);
        P->cy[i] = (uint16_t)(c / m->width);
        P->cap[i] = (uint8_t)snn_machine_n_app_cores(m, P->cx[i], P->cy[i]);
        P->chip_at[c] = i;
        P->total_cap += P->cap[i];
    }
    snn_free(key);
    return 0;
}

/* ---- graphs ------------------------------------------------------------- */

static int arcs_push(struct arcs *A, uint32_t a, uint32_t b, double w)
{
    if (A->n == A->cap) {
        size_t cap = A->cap ? A->cap * 2 : 1024;
        struct arc *v = snn_realloc(A->v, cap * sizeof *v);
        if (!v)
            return SNN_ENOMEM;
        A->v = v;
        A->cap = cap;
    }
    A->v[A->n++] = (struct arc){a, b, w};
    return 0;
}

/* The directed traffic between groups of slices: group a's members are
 * member[first[a] .. first[a+1]) (member NULL: the indices themselves),
 * node_of[s] is slice s's group.  Appends one arc per (group, other
 * group) pair with traffic, in a fixed order. */
static int collect_arcs(const struct snn_map *map, uint32_t n_nodes, const uint32_t *first,
                        const uint32_t *member, const uint32_t *node_of, struct arcs *A)
{
    double *acc = snn_malloc((size_t)n_nodes * sizeof *acc + 1);
    uint32_t *mark = snn_malloc((size_t)n_nodes * sizeof *mark + 1);
    uint32_t *touched = snn_malloc((size_t)n_nodes * sizeof *touched + 1);
    int rc = 0;
    if (!acc || !mark || !touched) {
        rc = SNN_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < n_nodes; i++)
        mark[i] = NONE;
    for (uint32_t a = 0; a < n_nodes && !rc; a++) {
        uint32_t nt = 0;
        for (uint32_t i = first[a]; i < first[a + 1]; i++) {
            uint32_t s = member ? member[i] : i;
            double w = edge_weight(map, s);
            for (uint64_t e = map->edge_first[s]; e < map->edge_first[s + 1]; e++) {
                uint32_t b = node_of[map->edges[e].post];
                if (b == a)
                    continue;
                if (mark[b] != a) {
                    mark[b] = a;
                    acc[b] = 0;
                    touched[nt++] = b;
                }
                acc[b] += w;
            }
        }
        for (uint32_t k = 0; k < nt && !rc; k++)
            rc = arcs_push(A, a, touched[k], acc[touched[k]]);
    }
out:
    snn_free(acc);
    snn_free(mark);
    snn_free(touched);
    return rc;
}

/* The undirected graph of the arcs: w(a, b) = sum of arcs a->b and b->a. */
static int undirect(uint32_t n, const struct arcs *A, struct ugraph *g)
{
    int rc = SNN_ENOMEM;
    double *acc = NULL;
    uint32_t *mark = NULL;
    g->n = n;
    g->first = snn_calloc((size_t)n + 1, sizeof *g->first);
    g->adj = snn_malloc(2 * A->n * sizeof *g->adj + 1);
    g->w = snn_malloc(2 * A->n * sizeof *g->w + 1);
    acc = snn_malloc((size_t)n * sizeof *acc + 1);
    mark = snn_malloc((size_t)n * sizeof *mark + 1);
    if (!g->first || !g->adj || !g->w || !acc || !mark)
        goto out;
    for (size_t i = 0; i < A->n; i++) {
        g->first[A->v[i].a + 1]++;
        g->first[A->v[i].b + 1]++;
    }
    for (uint32_t a = 0; a < n; a++)
        g->first[a + 1] += g->first[a];
    /* Fill, using first[a] as the cursor of row a, then shift back. */
    for (size_t i = 0; i < A->n; i++) {
        const struct arc *r = &A->v[i];
        uint64_t ia = g->first[r->a]++, ib = g->first[r->b]++;
        g->adj[ia] = r->b;
        g->w[ia] = r->w;
        g->adj[ib] = r->a;
        g->w[ib] = r->w;
    }
    for (uint32_t a = n; a > 0; a--)
        g->first[a] = g->first[a - 1];
    g->first[0] = 0;
    /* Merge the two directions of a pair, compacting in place. */
    for (uint32_t i = 0; i < n; i++)
        mark[i] = NONE;
    uint64_t out = 0;
    for (uint32_t a = 0; a < n; a++) {
        uint64_t lo = g->first[a], hi = g->first[a + 1], start = out;
        g->first[a] = start;
        for (uint64_t i = lo; i < hi; i++) {
            uint32_t b = g->adj[i];
            if (mark[b] != a) {
                mark[b] = a;
                acc[b] = 0;
                g->adj[out++] = b;
            }
            acc[b] += g->w[i];
        }
        for (uint64_t i = start; i < out; i++)
            g->w[i] = acc[g->adj[i]];
    }
    g->first[n] = out;
    rc = 0;
out:
    snn_free(acc);
    snn_free(mark);
    return rc;
}

/* ---- 1. the population order --------------------------------------------- */

struct heap {
    uint32_t *h, *at, n;
    const double *conn, *total;
};

/* Whether population a goes before b. */
static bool heap_before(const struct heap *q, uint32_t a, uint32_t b)
{
    if (q->conn[a] != q->conn[b])
        return q->conn[a] > q->conn[b];
    if (q->total[a] != q->total[b])
        return q->total[a] > q->total[b];
    return a < b;
}

static void heap_set(struct heap *q, uint32_t i, uint32_t p)
{
    q->h[i] = p;
    q->at[p] = i;
}

static void heap_up(struct heap *q, uint32_t i)
{
    uint32_t p = q->h[i];
    while (i > 0 && heap_before(q, p, q->h[(i - 1) / 2])) {
        heap_set(q, i, q->h[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(q, i, p);
}

static void heap_down(struct heap *q, uint32_t i)
{
    uint32_t p = q->h[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= q->n)
            break;
        if (c + 1 < q->n && heap_before(q, q->h[c + 1], q->h[c]))
            c++;
        if (!heap_before(q, q->h[c], p))
            break;
        heap_set(q, i, q->h[c]);
        i = c;
    }
    heap_set(q, i, p);
}

static int order_pops(struct placer *P)
{
    const struct snn_map *map = P->map;
    uint32_t np = P->n_pops;
    int rc = SNN_ENOMEM;
    struct arcs A = {0};
    uint32_t *node_of = snn_malloc((size_t)P->n_slices * sizeof *node_of + 1);
    double *conn = snn_calloc((size_t)np + 1, sizeof *conn);
    double *total = snn_calloc((size_t)np + 1, sizeof *total);
    struct heap q = {.h = snn_malloc((size_t)np * sizeof *q.h + 1),
                     .at = snn_malloc((size_t)np * sizeof *q.at + 1)};
    P->order = snn_malloc((size_t)np * sizeof *P->order + 1);
    if (!node_of || !conn || !total || !q.h || !q.at || !P->order)
        goto out;
    for (uint32_t s = 0; s < P->n_slices; s++)
        node_of[s] = map->slices[s].pop;
    rc = collect_arcs(map, np, map->pop_slice, NULL, node_of, &A);
    if (!rc)
        rc = undirect(np, &A, &P->pg);
    if (rc)
        goto out;
    for (uint32_t p = 0; p < np; p++)
        for (uint64_t i = P->pg.first[p]; i < P->pg.first[p + 1]; i++)
            total[p] += P->pg.w[i];
    q.conn = conn;
    q.total = total;
    for (uint32_t p = 0; p < np; p++) {
        q.n++;
        heap_set(&q, p, p);
        heap_up(&q, p);
    }
    for (uint32_t k = 0; k < np; k++) {
        uint32_t p = q.h[0];
        q.at[p] = NONE;
        if (--q.n > 0) {
            heap_set(&q, 0, q.h[q.n]);
            heap_down(&q, 0);
        }
        P->order[k] = p;
        for (uint64_t i = P->pg.first[p]; i < P->pg.first[p + 1]; i++) {
            uint32_t r = P->pg.adj[i];
            if (q.at[r] == NONE)
                continue;
            conn[r] += P->pg.w[i];
            heap_up(&q, q.at[r]);
        }
    }
    rc = 0;
out:
    snn_free(A.v);
    snn_free(node_of);
    snn_free(conn);
    snn_free(total);
    snn_free(q.h);
    snn_free(q.at);
    return rc;
}

/* ---- 3. the fill ---------------------------------------------------------- */

/* Fills cores along the chip order; with align, a population that does
 * not fit the rest of the current chip starts a fresh one while spare
 * cores last.  false when the chips run out. */
static bool fill(struct placer *P, bool align)
{
    const struct snn_map *map = P->map;
    uint64_t chip_sdram = P->m->sdram_bytes;
    uint64_t spare = P->total_cap - P->n_slices;
    uint32_t ci = 0, used = 0, nb = 0, at = 0;
    uint64_t sdram = 0;
    for (uint32_t k = 0; k < P->n_pops; k++) {
        uint32_t p = P->order[k];
        uint32_t lo = map->pop_slice[p], hi = map->pop_slice[p + 1];
        if (lo == hi)
            continue;
        if (align && used > 0 && ci < P->n_chips) {
            uint32_t left = P->cap[ci] - used;
            if (hi - lo > left && left <= spare) {
                spare -= left;
                ci++;
                used = 0;
                sdram = 0;
            }
        }
        for (uint32_t s = lo; s < hi; s++) {
            uint64_t need = map->slices[s].use.sdram_bytes;
            while (ci < P->n_chips && (used == P->cap[ci] || sdram + need > chip_sdram)) {
                ci++;
                used = 0;
                sdram = 0;
            }
            if (ci == P->n_chips)
                return false;
            if (used == 0) {
                P->bin_first[nb] = at;
                P->bin_at[nb] = ci;
                nb++;
            }
            P->fill[at] = s;
            P->bin_of[s] = nb - 1;
            at++;
            used++;
            sdram += need;
        }
    }
    P->bin_first[nb] = at;
    P->n_bins = nb;
    return true;
}

/* ---- 4. refinement ------------------------------------------------------- */

/* The cost change of putting bin a on chip to and whatever bin is there on
 * a's chip. */
static double swap_delta(const struct placer *P, uint32_t a, uint32_t to)
{
    const struct ugraph *g = &P->bg;
    uint32_t from = P->bin_at[a], b = P->occupant[to];
    double delta = 0;
    for (uint64_t i = g->first[a]; i < g->first[a + 1]; i++) {
        uint32_t c = g->adj[i];
        if (c == b)
            continue;
        uint32_t pc = P->bin_at[c];
        delta += g->w[i] * ((double)dist(P, to, pc) - (double)dist(P, from, pc));
    }
    if (b != NONE) {
        for (uint64_t i = g->first[b]; i < g->first[b + 1]; i++) {
            uint32_t c = g->adj[i];
            if (c == a)
                continue;
            uint32_t pc = P->bin_at[c];
            delta += g->w[i] * ((double)dist(P, from, pc) - (double)dist(P, to, pc));
        }
    }
    return delta;
}

static uint32_t bin_size(const struct placer *P, uint32_t b)
{
    return P->bin_first[b + 1] - P->bin_first[b];
}

/* The chips around chip c (itself first, then over each working link). */
static uint32_t around(const struct placer *P, uint32_t c, uint32_t *out)
{
    uint32_t n = 0;
    out[n++] = c;
    for (unsigned l = 0; l < SNN_MACHINE_LINKS; l++) {
        uint32_t nx, ny;
        if (!snn_machine_neighbour(P->m, P->cx[c], P->cy[c], l, &nx, &ny))
            continue;
        uint32_t at = P->chip_at[ny * P->m->width + nx];
        if (at != NONE)
            out[n++] = at;
    }
    return n;
}

/* The heaviest neighbours of bin a (at most REFINE_TOP, heaviest first,
 * the first seen winning ties) among those with at[] != NONE (at NULL:
 * all).  Their number. */
static uint32_t heaviest(const struct placer *P, uint32_t a, const uint32_t *at, uint32_t *top)
{
    const struct ugraph *g = &P->bg;
    double topw[REFINE_TOP];
    uint32_t nt = 0;
    for (uint64_t i = g->first[a]; i < g->first[a + 1]; i++) {
        if (at && at[g->adj[i]] == NONE)
            continue;
        double w = g->w[i];
        if (nt == REFINE_TOP && !(w > topw[REFINE_TOP - 1]))
            continue;
        uint32_t k = nt < REFINE_TOP ? nt++ : REFINE_TOP - 1;
        while (k > 0 && w > topw[k - 1]) {
            top[k] = top[k - 1];
            topw[k] = topw[k - 1];
            k--;
        }
        top[k] = g->adj[i];
        topw[k] = w;
    }
    return nt;
}

/* Lays the bins out again, in fill order, each on the free chip (with
 * room for it) that costs least against the bins already laid: the
 * candidates are the next free chip along the curve and the free chip
 * nearest each of its REFINE_TOP heaviest laid neighbours (ties: earlier
 * on the curve).  This turns the curve's one-dimensional neighbourhoods
 * into two-dimensional ones.  Should a bin find no free chip with room
 * (possible with dead cores, as smaller bins may take the fuller chips),
 * the curve's layout is kept. */
static int construct(struct placer *P)
{
    const struct ugraph *g = &P->bg;
    uint32_t nb = P->n_bins;
    uint32_t *at = snn_malloc((size_t)nb * sizeof *at + 1);
    uint32_t *occ = snn_malloc((size_t)P->n_chips * sizeof *occ + 1);
    if (!at || !occ) {
        snn_free(at);
        snn_free(occ);
        return SNN_ENOMEM;
    }
    for (uint32_t c = 0; c < P->n_chips; c++)
        occ[c] = NONE;
    for (uint32_t b = 0; b < nb; b++)
        at[b] = NONE;
    uint32_t cursor = 0;
    bool ok = true;
    for (uint32_t a = 0; a < nb && ok; a++) {
        uint32_t size = bin_size(P, a), top[REFINE_TOP], cand[REFINE_TOP + 1], nc = 0;
        while (cursor < P->n_chips && (occ[cursor] != NONE || P->cap[cursor] < size))
            cursor++;
        if (cursor < P->n_chips)
            cand[nc++] = cursor;
        uint32_t nt = heaviest(P, a, at, top);
        for (uint32_t t = 0; t < nt; t++) {
            uint32_t from = at[top[t]], near = NONE, nd = UINT32_MAX;
            for (uint32_t j = 0; j < P->n_chips; j++) {
                if (occ[j] != NONE || P->cap[j] < size)
                    continue;
                uint32_t dd = dist(P, from, j);
                if (dd < nd) {
                    nd = dd;
                    near = j;
                }
            }
            if (near != NONE)
                cand[nc++] = near;
        }
        ok = nc > 0;
        uint32_t best = NONE;
        double best_cost = 0;
        for (uint32_t k = 0; k < nc; k++) {
            double c = 0;
            for (uint64_t i = g->first[a]; i < g->first[a + 1]; i++)
                if (at[g->adj[i]] != NONE)
                    c += g->w[i] * (double)dist(P, cand[k], at[g->adj[i]]);
            if (best == NONE || c < best_cost) {
                best_cost = c;
                best = cand[k];
            }
        }
        if (ok) {
            at[a] = best;
            occ[best] = a;
        }
    }
    if (ok) {
        memcpy(P->bin_at, at, (size_t)nb * sizeof *at);
        memcpy(P->occupant, occ, (size_t)P->n_chips * sizeof *occ);
    }
    snn_free(at);
    snn_free(occ);
    return 0;
}

static int refine(struct placer *P)
{
    const struct snn_map *map = P->map;
    uint32_t nb = P->n_bins;
    int rc;
    struct arcs A = {0};
    P->occupant = snn_malloc((size_t)P->n_chips * sizeof *P->occupant + 1);
    if (!P->occupant)
        return SNN_ENOMEM;
    for (uint32_t c = 0; c < P->n_chips; c++)
        P->occupant[c] = NONE;
    for (uint32_t b = 0; b < nb; b++)
        P->occupant[P->bin_at[b]] = b;

    rc = collect_arcs(map, nb, P->bin_first, P->fill, P->bin_of, &A);
    /* Cohesion: a population's bins are consecutive in the fill. */
    for (uint32_t b = 0; b + 1 < nb && !rc; b++) {
        uint32_t last = P->fill[P->bin_first[b + 1] - 1], next = P->fill[P->bin_first[b + 1]];
        uint32_t p = map->slices[last].pop;
        if (map->slices[next].pop != p)
            continue;
        double wa = 0, wb = 0;
        for (uint32_t i = P->bin_first[b]; i < P->bin_first[b + 1]; i++)
            if (map->slices[P->fill[i]].pop == p)
                wa += edge_weight(map, P->fill[i]);
        for (uint32_t i = P->bin_first[b + 1]; i < P->bin_first[b + 2]; i++)
            if (map->slices[P->fill[i]].pop == p)
                wb += edge_weight(map, P->fill[i]);
        rc = arcs_push(&A, b, b + 1, wa < wb ? wa : wb);
    }
    if (!rc)
        rc = undirect(nb, &A, &P->bg);
    snn_free(A.v);
    if (rc)
        return rc;

    const struct ugraph *g = &P->bg;
    if ((uint64_t)nb * P->n_chips <= CONSTRUCT_BUDGET) {
        rc = construct(P);
        if (rc)
            return rc;
    }
    double cost = 0;
    for (uint32_t a = 0; a < nb; a++)
        for (uint64_t i = g->first[a]; i < g->first[a + 1]; i++)
            cost += 0.5 * g->w[i] * (double)dist(P, P->bin_at[a], P->bin_at[g->adj[i]]);
    for (int round = 0; round < REFINE_ROUNDS; round++) {
        double gain = 0;
        for (uint32_t a = 0; a < nb; a++) {
            uint32_t top[REFINE_TOP];
            uint32_t nt = heaviest(P, a, NULL, top);
            uint32_t cand[(REFINE_TOP + 1) * (SNN_MACHINE_LINKS + 1)];
            uint32_t nc = around(P, P->bin_at[a], cand);
            for (uint32_t t = 0; t < nt; t++)
                nc += around(P, P->bin_at[top[t]], cand + nc);
            uint32_t from = P->bin_at[a], best = NONE;
            double best_delta = -REFINE_EPS;
            for (uint32_t k = 0; k < nc; k++) {
                uint32_t to = cand[k], b = P->occupant[to];
                if (to == from || P->cap[to] < bin_size(P, a))
                    continue;
                if (b != NONE && P->cap[from] < bin_size(P, b))
                    continue;
                bool seen = false;
                for (uint32_t j = 0; j < k && !seen; j++)
                    seen = cand[j] == to;
                if (seen)
                    continue;
                double delta = swap_delta(P, a, to);
                if (delta < best_delta) {
                    best_delta = delta;
                    best = to;
                }
            }
            if (best == NONE)
                continue;
            uint32_t b = P->occupant[best];
            P->occupant[best] = a;
            P->occupant[from] = b;
            P->bin_at[a] = best;
            if (b != NONE)
                P->bin_at[b] = from;
            gain -= best_delta;
        }
        if (gain < REFINE_MIN_GAIN * cost)
            break;
        cost -= gain;
    }
    return 0;
}

/* ---- the pass ------------------------------------------------------------ */

int snn_map_place(struct snn_map *map, struct snn_diag *d)
{
    SNN_ASSERT(map->net && map->m && map->m->chip);
    if (map->n_slices == 0)
        return 0;
    int rc = check_fits(map, d);
    if (rc)
        return rc;
    struct placer P = {.map = map,
                       .m = map->m,
                       .n_slices = map->n_slices,
                       .n_pops = map->net->n_pops};
    rc = SNN_ENOMEM;
    if (build_dist(&P) || build_chips(&P) || order_pops(&P))
        goto out;
    P.fill = snn_malloc((size_t)map->n_slices * sizeof *P.fill);
    P.bin_of = snn_malloc((size_t)map->n_slices * sizeof *P.bin_of);
    P.bin_first = snn_malloc(((size_t)map->n_slices + 1) * sizeof *P.bin_first);
    P.bin_at = snn_malloc((size_t)map->n_slices * sizeof *P.bin_at);
    if (!P.fill || !P.bin_of || !P.bin_first || !P.bin_at)
        goto out;
    if (!fill(&P, true) && !fill(&P, false)) {
        char a[32], b[32], c[32], e[32];
        uint64_t total = 0;
        for (uint32_t s = 0; s < map->n_slices; s++)
            total += map->slices[s].use.sdram_bytes;
        snn_diag_error(d, NULL,
                       "the network's %s slices with %s MiB of SDRAM do not pack onto the %s "
                       "usable chips of target '%s' (%s MiB each); try a bigger machine "
                       "(snnc targets lists them) or fewer neurons per core",
                       fmt_count(a, map->n_slices), fmt_count(b, (total + (1u << 20) - 1) >> 20),
                       fmt_count(c, P.n_chips), machine_name(map->m),
                       fmt_count(e, map->m->sdram_bytes >> 20));
        rc = SNN_ETOOBIG;
        goto out;
    }
    if (refine(&P))
        goto out;
    /* Commit: the bin's slices take the chip's lowest application cores. */
    for (uint32_t b = 0; b < P.n_bins; b++) {
        uint32_t ci = P.bin_at[b];
        uint64_t cores = snn_machine_app_cores(map->m, P.cx[ci], P.cy[ci]);
        for (uint32_t i = P.bin_first[b]; i < P.bin_first[b + 1]; i++) {
            SNN_ASSERT(cores != 0);
            struct snn_slice *sl = &map->slices[P.fill[i]];
            sl->x = P.cx[ci];
            sl->y = P.cy[ci];
            sl->core = (uint8_t)__builtin_ctzll(cores);
            cores &= cores - 1;
        }
    }
    rc = 0;
out:
    placer_free(&P);
    return rc;
}

/* ---- dump and verifier ----------------------------------------------------- */

void snn__map_dump_place(const struct snn_map *map, FILE *out)
{
    const struct snn_machine *m = map->m;
    double cost = 0;
    for (uint32_t s = 0; s < map->n_slices; s++) {
        const struct snn_slice *a = &map->slices[s];
        for (uint64_t e = map->edge_first[s]; e < map->edge_first[s + 1]; e++) {
            const struct snn_slice *b = &map->slices[map->edges[e].post];
            cost += a->use.packets_per_step *
                    (double)snn_machine_distance(m, a->x, a->y, b->x, b->y, NULL, NULL);
        }
    }
    fprintf(out, "place: %u slices, traffic-weighted hops %.6g\n", map->n_slices, cost);
    for (uint32_t s = 0; s < map->n_slices; s++) {
        const struct snn_slice *a = &map->slices[s];
        fprintf(out, "slice %u pop %s [%u, %u) chip %u,%u core %u\n", s, snn__map_pop_name(map, a->pop),
                a->lo, a->lo + a->n, a->x, a->y, a->core);
    }
    /* Per chip, in chip order: its slices and their SDRAM. */
    size_t grid = (size_t)m->width * m->height;
    uint32_t *first = snn_calloc(grid + 1, sizeof *first);
    uint32_t *by_chip = snn_malloc((size_t)map->n_slices * sizeof *by_chip + 1);
    if (!first || !by_chip) {
        fprintf(out, "# chips: out of memory\n");
        goto out;
    }
    for (uint32_t s = 0; s < map->n_slices; s++)
        first[snn__map_chip(map, map->slices[s].x, map->slices[s].y) + 1]++;
    for (size_t c = 0; c < grid; c++)
        first[c + 1] += first[c];
    for (uint32_t s = 0; s < map->n_slices; s++)
        by_chip[first[snn__map_chip(map, map->slices[s].x, map->slices[s].y)]++] = s;
    uint32_t lo = 0, chips = 0;
    for (size_t c = 0; c < grid; c++) {
        uint32_t hi = first[c];
        if (hi == lo)
            continue;
        uint64_t sdram = 0;
        chips++;
        fprintf(out, "chip %u,%u slices", (unsigned)(c % m->width), (unsigned)(c / m->width));
        for (uint32_t i = lo; i < hi; i++) {
            fprintf(out, " %u", by_chip[i]);
            sdram += map->slices[by_chip[i]].use.sdram_bytes;
        }
        fprintf(out, " sdram %llu\n", (unsigned long long)sdram);
        lo = hi;
    }
    fprintf(out, "chips used %u\n", chips);
out:
    snn_free(first);
    snn_free(by_chip);
}

int snn__map_verify_place(const struct snn_map *map, struct snn_diag *d)
{
    const struct snn_machine *m = map->m;
    size_t grid = (size_t)m->width * m->height;
    uint64_t *sdram = snn_calloc(grid + 1, sizeof *sdram);
    uint64_t *key = snn_malloc((size_t)map->n_slices * sizeof *key + 1);
    int rc = SNN_ENOMEM;
    if (!sdram || !key)
        goto out;
    rc = 0;
    uint32_t n = 0;
    for (uint32_t s = 0; s < map->n_slices; s++) {
        const struct snn_slice *a = &map->slices[s];
        if (a->x >= m->width || a->y >= m->height || a->core >= 64 ||
            !(snn_machine_app_cores(m, a->x, a->y) >> a->core & 1)) {
            snn_diag_error(d, NULL,
                           "place: slice %u (population '%s') is on chip %u,%u core %u, which "
                           "is not a usable application core",
                           s, snn__map_pop_name(map, a->pop), a->x, a->y, a->core);
            rc = SNN_EINVAL;
            continue;
        }
        uint32_t c = snn__map_chip(map, a->x, a->y);
        sdram[c] += a->use.sdram_bytes;
        /* (chip, core) above, the slice below: sorting brings sharers together. */
        key[n++] = ((uint64_t)c << 8 | a->core) << 32 | s;
    }
    qsort(key, n, sizeof *key, cmp_u64);
    for (uint32_t i = 1; i < n; i++) {
        if (key[i] >> 32 != key[i - 1] >> 32)
            continue;
        uint32_t s = (uint32_t)key[i], t = (uint32_t)key[i - 1];
        const struct snn_slice *a = &map->slices[s];
        snn_diag_error(d, NULL, "place: slices %u and %u are both on chip %u,%u core %u", t, s,
                       a->x, a->y, a->core);
        rc = SNN_EINVAL;
    }
    for (size_t c = 0; c < grid; c++) {
        if (sdram[c] <= m->sdram_bytes)
            continue;
        snn_diag_error(d, NULL,
                       "place: the slices on chip %u,%u need %llu bytes of SDRAM; the chip "
                       "has %llu",
                       (unsigned)(c % m->width), (unsigned)(c / m->width),
                       (unsigned long long)sdram[c], (unsigned long long)m->sdram_bytes);
        rc = SNN_EINVAL;
    }
out:
    snn_free(sdram);
    snn_free(key);
    return rc;
}

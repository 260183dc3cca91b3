/*
 * mapper/route.c: the route pass, a multicast tree for every source slice.
 *
 * Requires place: slices[].x, .y, .core for every slice, the edges
 * (edges, edge_first: CSR by pre slice) and use.packets_per_step.
 * Provides map->hops, n_hops, hop_first (slice s's tree is
 * hops[hop_first[s] .. hop_first[s+1]), empty for a slice without
 * outgoing edges) and map->link_packets.  Nothing of the map is written
 * until every tree is built, so a failure leaves it as it was.
 *
 * Invariants of the result (snn__map_verify_route checks them):
 *   - a tree's first hop is its slice's chip, with in_link -1;
 *   - every other hop's in_link is a working link of its chip
 *     (snn_machine_neighbour) whose far end, the parent, is an earlier hop
 *     of the same tree that sends out of the link's other end; every link
 *     bit of a route leads over a working link to a hop of the tree that
 *     arrives by it.  So the hops form a tree rooted at the source chip,
 *     each chip at most once, and every chip comes after its parent;
 *   - the core bits of a tree are exactly the cores of the post slices of
 *     the slice's edges (its own core too when it has a self edge), and
 *     every hop forwards or delivers;
 *   - link_packets[c * 6 + L] is the sum, over the trees sending out of
 *     link L of chip c, of their slice's packets_per_step.
 *
 * Tree construction, for one source slice s on chip S:
 *
 *   1. Targets.  The edges of s in order give the target chips (each
 *      listed once, in order of first appearance) and, per chip, the mask
 *      of the target slices' cores.
 *   2. Order.  Each target T gets the shortest vector from S
 *      (snn_machine_distance: across the wrap on a torus, its tie rule;
 *      tabulated once per run for every raw coordinate difference).  The
 *      targets are taken nearest first (hex distance; ties in order of
 *      first appearance).
 *   3. Shortest-path region.  The vector is written a A + b B, with A and
 *      B the two link directions 60 degrees apart that span it (E and
 *      NE, NE and N, N and W, W and SW, SW and S, S and E), a >= b >= 0
 *      (A is the major direction; on a tie, E or W when in the pair,
 *      else N or S).  Every step of a shortest path from S to T along
 *      this vector is an A or a B step, so those paths are exactly the
 *      monotone lattice paths through the parallelogram of chips
 *      S + iA + jB, 0 <= i <= a, 0 <= j <= b, and chip (i, j) is at
 *      distance i + j from S.  (On a torus where two vectors tie, only
 *      the one snn_machine_distance gives is used.)
 *   4. Greedy arborescence.  The tree starts as S alone.  A target
 *      already in the tree needs nothing more.  Otherwise its
 *      parallelogram is scanned level by level, from level a + b - 1 (the
 *      chips next to T) down to 0 (S itself), within a level i
 *      descending, and the first tree chip found, N at (i, j), is a
 *      deepest tree chip lying on a shortest path to T.  The new branch
 *      runs from N to T, the direction with more steps left first: a - i
 *      steps of A then b - j of B when a - i >= b - j, else the B steps
 *      first.  Every chip of the branch lies deeper than N in the
 *      parallelogram, and all of those were scanned, so the branch only
 *      adds chips new to the tree.  Each tree chip sits at its hex
 *      distance from S, so every target is reached by a shortest path,
 *      and each target joins the tree where the longest shortest-path
 *      prefix already exists.  (This is the greedy heuristic for
 *      rectilinear Steiner arborescences, on the hexagonal mesh.)  The
 *      hops are appended as chips join: S, then each branch from its tree
 *      chip outwards, so every chip follows its parent.
 *   5. Dead parts.  When the branch of 4 needs a link that does not work
 *      (a dead link, a dead or missing chip; the edge of a grid without
 *      wrap cannot be in the way, the parallelogram lies inside the
 *      bounding box of S and T), any other shortest path from the tree is
 *      looked for: a search backwards from T over working links, level by
 *      level (level = hex distance from S), from each frontier chip in
 *      turn through its links in order 0..5 to the neighbours one level
 *      nearer S, stops at the first tree chip reached, and the branch
 *      retraces the search from it to T.  Only when no working shortest
 *      path exists at all is the whole tree thrown away and built again
 *      on the graph of working links: a breadth-first search from S (links
 *      0..5 in order from each chip, stopping once every target is
 *      labelled) gives every chip its true distance; the targets are taken
 *      nearest first by it (ties as before), and each joins the tree by
 *      the same backward search with the breadth-first levels.  Trees stay
 *      shortest on the damaged machine.  A target the breadth-first search
 *      never labels is unreachable: SNN_EUNSUPPORTED, naming the source
 *      population and slice and the target chip.
 *   6. Delivery and load.  Each target chip's hop gets its core bits; each
 *      link bit of the tree adds the slice's packets_per_step to
 *      link_packets.
 *
 * Everything runs in a fixed order from the input alone: the same map
 * gives byte-identical trees.
 *
 * Cost: per tree O(edges + targets + hops + lattice chips scanned); with
 * dead parts, the rebuilt trees also O(chips the search labels).  Per-chip
 * scratch is marked with generation counters instead of being cleared,
 * the hops of all trees accumulate in one growing scratch buffer copied
 * into map->arena at the end, and nothing is allocated per tree.
 */
#include <string.h>

#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"

#define NONE UINT32_MAX
#define LINKS SNN_MACHINE_LINKS
/* What a direct tree build returns when a step needs a link that does not
 * work; never seen outside this file. */
#define BLOCKED 1

/* Per-chip scratch state; a field is valid only when its mark equals the
 * current counter of ctx, so nothing is cleared between trees.  Split in
 * three arrays by the loops that use them, so the hot ones stay small
 * (the parallelogram scan reads only tree[], 8 bytes a chip). */
struct tree_slot {
    uint32_t mark; /* == hgen: in the current tree, at hops[start + hop] */
    uint32_t hop;
};

struct target_slot {
    uint64_t cores; /* target cores of the current tree here */
    uint32_t mark;  /* == tgen: a target chip of the current tree */
};

struct chip_scratch {
    uint32_t bmark; /* == hgen: labelled by the search from the source, at dist */
    uint32_t dist;
    uint32_t smark; /* == sgen: reached by the current backward search */
    uint32_t succ;  /* ... from this chip (one step towards the target) */
    uint8_t slink;  /* ... which this chip sends to over this link */
};

/* The shortest vector of a raw difference and its length. */
struct vec {
    int16_t dx, dy;
    uint16_t dist;
};

struct ctx {
    const struct snn_map *map;
    const struct snn_machine *m;
    uint32_t w, h, grid;

    uint32_t *nbr;  /* grid * 6: the chip over each working link, or NONE */
    struct vec *vtab; /* vtab[(ty - sy + h - 1) * (2w - 1) + tx - sx + w - 1] */
    uint32_t *place;          /* per slice: its chip << 6 | its core */
    struct tree_slot *tree;   /* grid each */
    struct target_slot *tgt;
    struct chip_scratch *cs;
    uint32_t tgen, hgen, sgen;

    uint32_t *targets, *tdist, *order, *bucket; /* grid, grid, grid, grid + 1 */
    uint32_t *queue, *front, *next;             /* grid each */
    uint32_t n_targets;

    struct snn_hop *hops; /* the scratch buffer of every tree so far */
    uint64_t n_hops, cap_hops;
    uint64_t start;       /* the current tree's first hop */
};

static int ctx_init(struct ctx *c, const struct snn_map *map)
{
    memset(c, 0, sizeof *c);
    c->map = map;
    c->m = map->m;
    c->w = map->m->width;
    c->h = map->m->height;
    c->grid = c->w * c->h;
    size_t g = c->grid, vw = 2 * (size_t)c->w - 1, vh = 2 * (size_t)c->h - 1;
    c->nbr = snn_malloc(g * LINKS * sizeof *c->nbr);
    c->vtab = snn_malloc(vw * vh * sizeof *c->vtab);
    c->place = snn_malloc(((size_t)map->n_slices + 1) * sizeof *c->place);
    c->tree = snn_calloc(g, sizeof *c->tree);
    c->tgt = snn_calloc(g, sizeof *c->tgt);
    c->cs = snn_calloc(g, sizeof *c->cs);
    c->targets = snn_malloc(g * sizeof *c->targets);
    c->tdist = snn_malloc(g * sizeof *c->tdist);
    c->order = snn_malloc(g * sizeof *c->order);
    c->bucket = snn_malloc((g + 1) * sizeof *c->bucket);
    c->queue = snn_malloc(g * sizeof *c->queue);
    c->front = snn_malloc(g * sizeof *c->front);
    c->next = snn_malloc(g * sizeof *c->next);
    if (!c->nbr || !c->vtab || !c->place || !c->tree || !c->tgt || !c->cs || !c->targets ||
        !c->tdist || !c->order || !c->bucket || !c->queue || !c->front || !c->next)
        return SNN_ENOMEM;
    for (uint32_t y = 0; y < c->h; y++)
        for (uint32_t x = 0; x < c->w; x++)
            for (unsigned l = 0; l < LINKS; l++) {
                uint32_t nx, ny;
                c->nbr[(size_t)(y * c->w + x) * LINKS + l] =
                    snn_machine_neighbour(c->m, x, y, l, &nx, &ny) ? ny * c->w + nx : NONE;
            }
    for (uint32_t s = 0; s < map->n_slices; s++) {
        const struct snn_slice *sl = &map->slices[s];
        SNN_ASSERT(sl->x < c->w && sl->y < c->h && sl->core < SNN_ROUTE_MAX_CORES);
        c->place[s] = ((uint32_t)sl->y * c->w + sl->x) << 6 | sl->core;
    }
    /* The vector depends only on the raw difference (its tie rule looks at
     * the raw sign), so one entry per difference reproduces it exactly. */
    for (size_t j = 0; j < vh; j++)
        for (size_t i = 0; i < vw; i++) {
            int rx = (int)i - (int)c->w + 1, ry = (int)j - (int)c->h + 1;
            uint32_t x0 = rx < 0 ? (uint32_t)-rx : 0, y0 = ry < 0 ? (uint32_t)-ry : 0;
            int dx, dy;
            uint32_t d = snn_machine_distance(c->m, x0, y0, (uint32_t)((int)x0 + rx),
                                              (uint32_t)((int)y0 + ry), &dx, &dy);
            c->vtab[j * vw + i] = (struct vec){(int16_t)dx, (int16_t)dy, (uint16_t)d};
        }
    return 0;
}

static void ctx_free(struct ctx *c)
{
    snn_free(c->nbr);
    snn_free(c->vtab);
    snn_free(c->place);
    snn_free(c->tree);
    snn_free(c->tgt);
    snn_free(c->cs);
    snn_free(c->targets);
    snn_free(c->tdist);
    snn_free(c->order);
    snn_free(c->bucket);
    snn_free(c->queue);
    snn_free(c->front);
    snn_free(c->next);
    snn_free(c->hops);
}

static const struct vec *vector(const struct ctx *c, uint32_t from, uint32_t to)
{
    int rx = (int)(to % c->w) - (int)(from % c->w), ry = (int)(to / c->w) - (int)(from / c->w);
    return &c->vtab[(size_t)(ry + (int)c->h - 1) * (2 * c->w - 1) + (size_t)(rx + (int)c->w - 1)];
}

/* Room for one more tree: a tree has at most one hop per chip. */
static int reserve_tree(struct ctx *c)
{
    uint64_t need = c->n_hops + c->grid;
    if (need <= c->cap_hops)
        return 0;
    uint64_t cap = c->cap_hops ? c->cap_hops : 1024;
    while (cap < need)
        cap += cap / 2 + c->grid;
    if (cap > SIZE_MAX / sizeof *c->hops)
        return SNN_ENOMEM;
    struct snn_hop *p = snn_realloc(c->hops, (size_t)cap * sizeof *p);
    if (!p)
        return SNN_ENOMEM;
    c->hops = p;
    c->cap_hops = cap;
    return 0;
}

/* Counters that are about to wrap: clear every mark and start again.  A
 * tree moves tgen and hgen by at most 2 and sgen by at most 2 * grid. */
static void renew_marks(struct ctx *c)
{
    if (c->tgen < UINT32_MAX - 4 && c->hgen < UINT32_MAX - 4 &&
        c->sgen < UINT32_MAX - 2 * (uint64_t)c->grid - 4)
        return;
    memset(c->tree, 0, (size_t)c->grid * sizeof *c->tree);
    memset(c->tgt, 0, (size_t)c->grid * sizeof *c->tgt);
    memset(c->cs, 0, (size_t)c->grid * sizeof *c->cs);
    c->tgen = c->hgen = c->sgen = 0;
}

static void add_hop(struct ctx *c, uint32_t chip, int in_link)
{
    SNN_ASSERT(c->n_hops < c->cap_hops);
    c->hops[c->n_hops] = (struct snn_hop){.chip = chip, .in_link = (int8_t)in_link, .route = 0};
    c->tree[chip].mark = c->hgen;
    c->tree[chip].hop = (uint32_t)(c->n_hops - c->start);
    c->n_hops++;
}

/* Grows the tree from chip `from` (in it) over link l to a new chip. */
static void grow(struct ctx *c, uint32_t from, unsigned l, uint32_t to)
{
    SNN_ASSERT(c->tree[from].mark == c->hgen && c->tree[to].mark != c->hgen);
    c->hops[c->start + c->tree[from].hop].route |= SNN_ROUTE_LINK(l);
    add_hop(c, to, (int)snn_link_opposite(l));
}

/* order[] = the targets sorted by tdist, stably (a counting sort). */
static void sort_targets(struct ctx *c)
{
    uint32_t maxd = 0;
    for (uint32_t k = 0; k < c->n_targets; k++)
        if (c->tdist[k] > maxd)
            maxd = c->tdist[k];
    memset(c->bucket, 0, ((size_t)maxd + 2) * sizeof *c->bucket);
    for (uint32_t k = 0; k < c->n_targets; k++)
        c->bucket[c->tdist[k] + 1]++;
    for (uint32_t d = 0; d <= maxd; d++)
        c->bucket[d + 1] += c->bucket[d];
    for (uint32_t k = 0; k < c->n_targets; k++)
        c->order[c->bucket[c->tdist[k]]++] = c->targets[k];
}

/* The two directions spanning (dx, dy), A the major, and their counts. */
static void span(int dx, int dy, unsigned *da, uint32_t *na, unsigned *db, uint32_t *nb)
{
    unsigned d1, d2;
    int n1, n2;
    if (dx >= 0 && dy >= 0) {
        d1 = dx >= dy ? 0u : 2u; /* E or N, with NE */
        n1 = dx >= dy ? dx - dy : dy - dx;
        d2 = 1;
        n2 = dx < dy ? dx : dy;
    } else if (dx <= 0 && dy <= 0) {
        d1 = dx <= dy ? 3u : 5u; /* W or S, with SW */
        n1 = dx <= dy ? dy - dx : dx - dy;
        d2 = 4;
        n2 = dx > dy ? -dx : -dy;
    } else if (dx > 0) { /* E and S */
        d1 = 0;
        n1 = dx;
        d2 = 5;
        n2 = -dy;
    } else { /* W and N */
        d1 = 3;
        n1 = -dx;
        d2 = 2;
        n2 = dy;
    }
    /* The major direction has the larger count; on a tie d1 (E or W when
     * in the pair, else N or S). */
    if (n2 > n1) {
        *da = d2, *na = (uint32_t)n2, *db = d1, *nb = (uint32_t)n1;
    } else {
        *da = d1, *na = (uint32_t)n1, *db = d2, *nb = (uint32_t)n2;
    }
}

/* v folded into [0, side) on a torus; v is within a few sides of it (a
 * shortest vector is shorter than two sides), so no division is needed. */
static inline int fold(int v, int side)
{
    while (v < 0)
        v += side;
    while (v >= side)
        v -= side;
    return v;
}

/* The distance of chip p from src the searches go by: the hex distance
 * (hex), or the breadth-first search's over working links (NONE where it
 * did not reach). */
static uint32_t level(const struct ctx *c, uint32_t src, uint32_t p, bool hex)
{
    if (hex)
        return vector(c, src, p)->dist;
    return c->cs[p].bmark == c->hgen ? c->cs[p].dist : NONE;
}

/* Searches backwards from target t (not in the tree) over working links,
 * one level nearer src at a time (from each frontier chip in turn, its
 * links in order 0..5, to the neighbours one level nearer), for the first
 * tree chip; each chip reached remembers the chip and link it leads on
 * by.  The tree chip, or NONE when the search dies out first. */
static uint32_t back_search(struct ctx *c, uint32_t src, uint32_t t, bool hex)
{
    struct chip_scratch *cs = c->cs;
    c->sgen++;
    cs[t].smark = c->sgen;
    uint32_t n_front = 1, lev = level(c, src, t, hex);
    c->front[0] = t;
    while (n_front > 0 && lev > 0) {
        uint32_t n_next = 0;
        for (uint32_t f = 0; f < n_front; f++) {
            uint32_t u = c->front[f];
            for (unsigned l = 0; l < LINKS; l++) {
                uint32_t p = c->nbr[(size_t)u * LINKS + l];
                if (p == NONE || cs[p].smark == c->sgen || level(c, src, p, hex) != lev - 1)
                    continue;
                cs[p].smark = c->sgen;
                cs[p].succ = u;
                cs[p].slink = (uint8_t)snn_link_opposite(l);
                if (c->tree[p].mark == c->hgen)
                    return p;
                c->next[n_next++] = p;
            }
        }
        uint32_t *tmp = c->front;
        c->front = c->next;
        c->next = tmp;
        n_front = n_next;
        lev--;
    }
    return NONE;
}

/* Grows the branch back_search found, from tree chip `from` to t. */
static void retrace(struct ctx *c, uint32_t from, uint32_t t)
{
    while (from != t) {
        uint32_t to = c->cs[from].succ;
        grow(c, from, c->cs[from].slink, to);
        from = to;
    }
}

/* Steps 2-4 of the file comment and the first half of 5: 0, or BLOCKED
 * when some target has no working shortest path (the caller discards the
 * tree and builds it on the working links). */
static int tree_direct(struct ctx *c, uint32_t src)
{
    for (uint32_t k = 0; k < c->n_targets; k++)
        c->tdist[k] = vector(c, src, c->targets[k])->dist;
    sort_targets(c);
    add_hop(c, src, -1);
    int sx = (int)(src % c->w), sy = (int)(src / c->w), w = (int)c->w, h = (int)c->h;
    for (uint32_t k = 0; k < c->n_targets; k++) {
        uint32_t t = c->order[k];
        if (c->tree[t].mark == c->hgen)
            continue;
        const struct vec *v = vector(c, src, t);
        unsigned da, db;
        uint32_t na, nb;
        span(v->dx, v->dy, &da, &na, &db, &nb);
        int ax, ay, bx, by;
        snn_link_delta(da, &ax, &ay);
        snn_link_delta(db, &bx, &by);
        /* The deepest tree chip of the parallelogram; level 0 is the source. */
        uint32_t fi = 0, fj = 0, from = src;
        for (uint32_t lev = na + nb - 1; lev > 0; lev--) {
            uint32_t ilo = lev > nb ? lev - nb : 0, ihi = lev < na ? lev : na;
            bool found = false;
            /* From (ihi, lev - ihi), each next chip one A back and one B on. */
            int x = fold(sx + (int)ihi * ax + (int)(lev - ihi) * bx, w);
            int y = fold(sy + (int)ihi * ay + (int)(lev - ihi) * by, h);
            for (uint32_t i = ihi + 1; i-- > ilo;) {
                uint32_t chip = (uint32_t)(y * w + x);
                if (c->tree[chip].mark == c->hgen) {
                    fi = i, fj = lev - i, from = chip, found = true;
                    break;
                }
                x = fold(x + bx - ax, w);
                y = fold(y + by - ay, h);
            }
            if (found)
                break;
        }
        /* The branch, the direction with more steps left first. */
        uint32_t ra = na - fi, rb = nb - fj;
        unsigned first = ra >= rb ? da : db, second = ra >= rb ? db : da;
        uint32_t n_first = ra >= rb ? ra : rb, n_second = ra >= rb ? rb : ra;
        uint32_t end = from;
        for (uint32_t step = 0; step < n_first + n_second && end != NONE; step++)
            end = c->nbr[(size_t)end * LINKS + (step < n_first ? first : second)];
        if (end == NONE) {
            /* A dead part on the branch: any other shortest path from the tree. */
            from = back_search(c, src, t, true);
            if (from == NONE)
                return BLOCKED;
            retrace(c, from, t);
            continue;
        }
        for (uint32_t step = 0; step < n_first + n_second; step++) {
            unsigned l = step < n_first ? first : second;
            uint32_t to = c->nbr[(size_t)from * LINKS + l];
            grow(c, from, l, to);
            from = to;
        }
        SNN_ASSERT(from == t);
    }
    return 0;
}

/* Step 5: the tree on the working links.  0, or SNN_EUNSUPPORTED with *lost
 * the first target (in edge order) no working path reaches. */
static int tree_detour(struct ctx *c, uint32_t src, uint32_t *lost)
{
    struct chip_scratch *cs = c->cs;
    uint32_t left = c->n_targets, head = 0, tail = 0;
    cs[src].bmark = c->hgen;
    cs[src].dist = 0;
    c->queue[tail++] = src;
    if (c->tgt[src].mark == c->tgen)
        left--;
    while (head < tail && left > 0) {
        uint32_t u = c->queue[head++];
        for (unsigned l = 0; l < LINKS; l++) {
            uint32_t v = c->nbr[(size_t)u * LINKS + l];
            if (v == NONE || cs[v].bmark == c->hgen)
                continue;
            cs[v].bmark = c->hgen;
            cs[v].dist = cs[u].dist + 1;
            c->queue[tail++] = v;
            if (c->tgt[v].mark == c->tgen)
                left--;
        }
    }
    for (uint32_t k = 0; k < c->n_targets; k++) {
        uint32_t t = c->targets[k];
        if (cs[t].bmark != c->hgen) {
            *lost = t;
            return SNN_EUNSUPPORTED;
        }
        c->tdist[k] = cs[t].dist;
    }
    sort_targets(c);
    add_hop(c, src, -1);
    for (uint32_t k = 0; k < c->n_targets; k++) {
        uint32_t t = c->order[k];
        if (c->tree[t].mark == c->hgen)
            continue;
        uint32_t from = back_search(c, src, t, false);
        SNN_ASSERT(from != NONE); /* the source at least: t was labelled */
        retrace(c, from, t);
    }
    return 0;
}

static void report_lost(const struct ctx *c, uint32_t s, uint32_t lost, struct snn_diag *d)
{
    const struct snn_map *map = c->map;
    const struct snn_slice *a = &map->slices[s];
    uint32_t t = NONE;
    for (uint64_t e = map->edge_first[s]; e < map->edge_first[s + 1] && t == NONE; e++)
        if (c->place[map->edges[e].post] >> 6 == lost)
            t = map->edges[e].post;
    SNN_ASSERT(t != NONE);
    const struct snn_slice *b = &map->slices[t];
    snn_diag_error(d, snn__map_pop_loc(map, a->pop),
                   "route: population '%s' slice %u (neurons [%u, %u)) on chip %u,%u cannot "
                   "reach chip %u,%u (population '%s' slice %u, core %u): no working path "
                   "exists between the two chips, the dead chips and links of machine '%s' "
                   "cut them apart; place the populations on connected chips or use a machine "
                   "with fewer dead parts",
                   snn__map_pop_name(map, a->pop), s, a->lo, a->lo + a->n, a->x, a->y, lost % c->w,
                   lost / c->w, snn__map_pop_name(map, b->pop), t, b->core,
                   c->m->name ? c->m->name : "?");
}

/* Slice s's tree, appended to c->hops. */
static int build_tree(struct ctx *c, uint32_t s, double *link_packets, struct snn_diag *d)
{
    const struct snn_map *map = c->map;
    renew_marks(c);
    c->tgen++;
    c->n_targets = 0;
    const struct snn_edge *edges = map->edges;
    uint64_t e1 = map->edge_first[s + 1];
    uint32_t n_slices = map->n_slices;
    for (uint64_t e = map->edge_first[s]; e < e1; e++) {
        uint32_t post = edges[e].post;
        SNN_ASSERT(post < n_slices);
        uint32_t chip = c->place[post] >> 6;
        struct target_slot *t = &c->tgt[chip];
        if (t->mark != c->tgen) {
            t->mark = c->tgen;
            t->cores = 0;
            c->targets[c->n_targets++] = chip;
        }
        t->cores |= SNN_ROUTE_CORE(c->place[post] & 63);
    }
    if (c->n_targets == 0)
        return 0;
    uint32_t src = c->place[s] >> 6;
    uint64_t start = c->n_hops;
    c->start = start;
    c->hgen++;
    if (tree_direct(c, src) == BLOCKED) {
        c->n_hops = start;
        c->hgen++;
        uint32_t lost = NONE;
        if (tree_detour(c, src, &lost)) {
            c->n_hops = start;
            report_lost(c, s, lost, d);
            return SNN_EUNSUPPORTED;
        }
    }
    for (uint32_t k = 0; k < c->n_targets; k++) {
        uint32_t chip = c->targets[k];
        SNN_ASSERT(c->tree[chip].mark == c->hgen);
        c->hops[start + c->tree[chip].hop].route |= c->tgt[chip].cores;
    }
    double pps = map->slices[s].use.packets_per_step;
    for (uint64_t i = start; i < c->n_hops; i++) {
        const struct snn_hop *hp = &c->hops[i];
        for (unsigned l = 0; l < LINKS; l++)
            if (hp->route & SNN_ROUTE_LINK(l))
                link_packets[(size_t)hp->chip * LINKS + l] += pps;
    }
    return 0;
}

int snn_map_route(struct snn_map *map, struct snn_diag *d)
{
    struct ctx c;
    int rc = ctx_init(&c, map);
    if (rc)
        goto out;
    rc = SNN_ENOMEM;
    uint64_t *hop_first = snn_arena_array(map->arena, (size_t)map->n_slices + 1, sizeof *hop_first);
    double *link_packets =
        snn_arena_array(map->arena, (size_t)c.grid * LINKS, sizeof *link_packets);
    if (!hop_first || !link_packets)
        goto out;
    for (uint32_t s = 0; s < map->n_slices; s++) {
        hop_first[s] = c.n_hops;
        rc = reserve_tree(&c);
        if (rc)
            goto out;
        rc = build_tree(&c, s, link_packets, d);
        if (rc)
            goto out;
    }
    hop_first[map->n_slices] = c.n_hops;
    rc = SNN_ENOMEM;
    struct snn_hop *hops = snn_arena_array(map->arena, (size_t)c.n_hops + 1, sizeof *hops);
    if (!hops)
        goto out;
    if (c.n_hops)
        memcpy(hops, c.hops, (size_t)c.n_hops * sizeof *hops);
    map->hops = hops;
    map->n_hops = c.n_hops;
    map->hop_first = hop_first;
    map->link_packets = link_packets;
    rc = 0;
out:
    ctx_free(&c);
    return rc;
}

/* ---- dump -------------------------------------------------------------- */

static void print_links(FILE *out, uint64_t route)
{
    if (!(route & SNN_ROUTE_LINKS)) {
        fputs(" -", out);
        return;
    }
    const char *sep = " ";
    for (unsigned l = 0; l < LINKS; l++)
        if (route & SNN_ROUTE_LINK(l)) {
            fprintf(out, "%s%s", sep, snn_link_name(l));
            sep = ",";
        }
}

static void print_cores(FILE *out, uint64_t route)
{
    if (!(route >> 6)) {
        fputs(" -", out);
        return;
    }
    const char *sep = " ";
    for (unsigned k = 0; k < SNN_ROUTE_MAX_CORES; k++)
        if (route & SNN_ROUTE_CORE(k)) {
            fprintf(out, "%s%u", sep, k);
            sep = ",";
        }
}

void snn__map_dump_route(const struct snn_map *map, FILE *out)
{
    uint32_t w = map->m->width, grid = w * map->m->height;
    fprintf(out, "route: %u slices, %llu hops\n", map->n_slices, (unsigned long long)map->n_hops);
    for (uint32_t s = 0; s < map->n_slices; s++) {
        uint64_t lo = map->hop_first[s], hi = map->hop_first[s + 1];
        if (lo == hi)
            continue;
        fprintf(out, "tree %u pop %s hops %llu\n", s, snn__map_pop_name(map, map->slices[s].pop),
                (unsigned long long)(hi - lo));
        for (uint64_t i = lo; i < hi; i++) {
            const struct snn_hop *hp = &map->hops[i];
            fprintf(out, "  chip %u,%u in %s out", hp->chip % w, hp->chip / w,
                    hp->in_link < 0 ? "-" : snn_link_name((unsigned)hp->in_link));
            print_links(out, hp->route);
            fputs(" cores", out);
            print_cores(out, hp->route);
            fputc('\n', out);
        }
    }
    for (uint32_t c = 0; c < grid; c++)
        for (unsigned l = 0; l < LINKS; l++) {
            double v = map->link_packets[(size_t)c * LINKS + l];
            if (v != 0)
                fprintf(out, "link %u,%u %s packets %.6g\n", c % w, c / w, snn_link_name(l), v);
        }
}

/* ---- verify ------------------------------------------------------------ */

struct vscratch {
    uint64_t want;  /* cores the tree must deliver here (wmark) */
    uint32_t wmark; /* == gen: a target chip */
    uint32_t hmark; /* == gen: in the tree, at hops[hop] */
    uint64_t hop;
};

/* Checks slice s's tree; the count of violations found. */
static unsigned verify_tree(const struct snn_map *map, uint32_t s, struct vscratch *vs,
                            uint32_t gen, double *load, struct snn_diag *d)
{
    const struct snn_machine *m = map->m;
    const struct snn_slice *a = &map->slices[s];
    const char *pn = snn__map_pop_name(map, a->pop);
    uint32_t w = m->width, grid = w * m->height;
    uint64_t lo = map->hop_first[s], hi = map->hop_first[s + 1];
    uint64_t e0 = map->edge_first[s], e1 = map->edge_first[s + 1];
    unsigned bad = 0;
#define BAD(...) (snn_diag_error(d, NULL, __VA_ARGS__), bad++)
    if (lo == hi) {
        if (e0 != e1)
            BAD("route: slice %u (population '%s') has %llu edges but no tree", s, pn,
                (unsigned long long)(e1 - e0));
        return bad;
    }
    if (e0 == e1)
        BAD("route: slice %u (population '%s') has a tree but no edges", s, pn);
    for (uint64_t e = e0; e < e1; e++) {
        const struct snn_slice *b = &map->slices[map->edges[e].post];
        uint32_t chip = (uint32_t)b->y * w + b->x;
        if (vs[chip].wmark != gen) {
            vs[chip].wmark = gen;
            vs[chip].want = 0;
        }
        vs[chip].want |= SNN_ROUTE_CORE(b->core);
    }
    /* Pass 1: chips, parents, cores; pass 2 (below): every link leads to a child. */
    for (uint64_t i = lo; i < hi; i++) {
        const struct snn_hop *hp = &map->hops[i];
        if (hp->chip >= grid || !snn_machine_chip_usable(m, hp->chip % w, hp->chip / w)) {
            BAD("route: tree of slice %u (population '%s') uses chip %u, which is not a usable "
                "chip",
                s, pn, hp->chip);
            return bad;
        }
        uint32_t x = hp->chip % w, y = hp->chip / w;
        if (vs[hp->chip].hmark == gen) {
            BAD("route: tree of slice %u (population '%s') visits chip %u,%u twice", s, pn, x,
                y);
            return bad;
        }
        vs[hp->chip].hmark = gen;
        vs[hp->chip].hop = i;
        if (i == lo) {
            if (x != a->x || y != a->y || hp->in_link != -1)
                BAD("route: tree of slice %u (population '%s') starts at chip %u,%u in_link %d, "
                    "not at its chip %u,%u with in_link -1",
                    s, pn, x, y, hp->in_link, a->x, a->y);
        } else {
            uint32_t px, py;
            if (hp->in_link < 0 || hp->in_link >= (int)LINKS ||
                !snn_machine_neighbour(m, x, y, (unsigned)hp->in_link, &px, &py)) {
                BAD("route: tree of slice %u (population '%s') enters chip %u,%u by link %d, "
                    "which does not work",
                    s, pn, x, y, hp->in_link);
            } else {
                uint32_t pc = py * w + px;
                unsigned back = snn_link_opposite((unsigned)hp->in_link);
                if (vs[pc].hmark != gen || !(map->hops[vs[pc].hop].route & SNN_ROUTE_LINK(back)))
                    BAD("route: tree of slice %u (population '%s') enters chip %u,%u from chip "
                        "%u,%u, which is not earlier in the tree sending over link %s",
                        s, pn, x, y, px, py, snn_link_name(back));
            }
        }
        uint64_t cores = hp->route >> 6;
        uint64_t want = vs[hp->chip].wmark == gen ? vs[hp->chip].want : 0;
        /* 6 link bits and SNN_ROUTE_MAX_CORES core bits fill the word. */
        _Static_assert(6 + SNN_ROUTE_MAX_CORES == 64, "a route word is 64 bits");
        if ((hp->route & ~(uint64_t)SNN_ROUTE_LINKS) != want) {
            uint64_t miss = (want & ~hp->route) >> 6, extra = cores & ~(want >> 6);
            if (miss)
                BAD("route: tree of slice %u (population '%s') misses core %d of chip %u,%u, a "
                    "target",
                    s, pn, __builtin_ctzll(miss), x, y);
            if (extra)
                BAD("route: tree of slice %u (population '%s') delivers to core %d of chip "
                    "%u,%u, not a target",
                    s, pn, __builtin_ctzll(extra), x, y);
        }
        if (hp->route == 0)
            BAD("route: tree of slice %u (population '%s') neither forwards nor delivers at "
                "chip %u,%u",
                s, pn, x, y);
    }
    for (uint64_t i = lo; i < hi; i++) {
        const struct snn_hop *hp = &map->hops[i];
        uint32_t x = hp->chip % w, y = hp->chip / w;
        for (unsigned l = 0; l < LINKS; l++) {
            if (!(hp->route & SNN_ROUTE_LINK(l)))
                continue;
            uint32_t nx, ny;
            if (!snn_machine_neighbour(m, x, y, l, &nx, &ny)) {
                BAD("route: tree of slice %u (population '%s') sends out of link %s of chip "
                    "%u,%u, which does not work",
                    s, pn, snn_link_name(l), x, y);
                continue;
            }
            uint32_t nc = ny * w + nx;
            if (vs[nc].hmark != gen ||
                map->hops[vs[nc].hop].in_link != (int)snn_link_opposite(l) || vs[nc].hop <= i)
                BAD("route: tree of slice %u (population '%s') sends from chip %u,%u over link "
                    "%s to chip %u,%u, which is not a later hop entering by that link",
                    s, pn, x, y, snn_link_name(l), nx, ny);
            load[(size_t)hp->chip * LINKS + l] += a->use.packets_per_step;
        }
    }
    for (uint64_t e = e0; e < e1; e++) {
        const struct snn_slice *b = &map->slices[map->edges[e].post];
        uint32_t chip = (uint32_t)b->y * w + b->x;
        if (vs[chip].hmark != gen) {
            BAD("route: tree of slice %u (population '%s') never reaches chip %u,%u, where "
                "slice %u is",
                s, pn, b->x, b->y, map->edges[e].post);
            vs[chip].hmark = gen; /* once per chip */
            vs[chip].hop = lo;
        }
    }
#undef BAD
    return bad;
}

int snn__map_verify_route(const struct snn_map *map, struct snn_diag *d)
{
    const struct snn_machine *m = map->m;
    uint32_t grid = m->width * m->height;
    if (!map->hop_first || !map->link_packets || (map->n_hops && !map->hops)) {
        snn_diag_error(d, NULL, "route: the trees or the link loads are missing");
        return SNN_EINVAL;
    }
    if (map->hop_first[0] != 0 || map->hop_first[map->n_slices] != map->n_hops) {
        snn_diag_error(d, NULL, "route: hop_first runs from %llu to %llu, not from 0 to %llu",
                       (unsigned long long)map->hop_first[0],
                       (unsigned long long)map->hop_first[map->n_slices],
                       (unsigned long long)map->n_hops);
        return SNN_EINVAL;
    }
    for (uint32_t s = 0; s < map->n_slices; s++)
        if (map->hop_first[s + 1] < map->hop_first[s]) {
            snn_diag_error(d, NULL, "route: hop_first decreases at slice %u", s);
            return SNN_EINVAL;
        }
    struct vscratch *vs = snn_calloc(grid, sizeof *vs);
    double *load = snn_calloc((size_t)grid * LINKS, sizeof *load);
    int rc = SNN_ENOMEM;
    if (!vs || !load)
        goto out;
    unsigned bad = 0;
    for (uint32_t s = 0; s < map->n_slices; s++) {
        SNN_ASSERT(s + 1 < UINT32_MAX);
        bad += verify_tree(map, s, vs, s + 1, load, d);
    }
    for (uint32_t c = 0; c < grid; c++)
        for (unsigned l = 0; l < LINKS; l++) {
            double got = map->link_packets[(size_t)c * LINKS + l];
            double want = load[(size_t)c * LINKS + l];
            double tol = 1e-9 * (want < 0 ? -want : want);
            if (got - want > tol || want - got > tol) {
                snn_diag_error(d, NULL,
                               "route: link %s of chip %u,%u carries %.6g packets per step, "
                               "the trees over it send %.6g",
                               snn_link_name(l), c % m->width, c / m->width, got, want);
                bad++;
            }
        }
    rc = bad ? SNN_EINVAL : 0;
out:
    snn_free(vs);
    snn_free(load);
    return rc;
}

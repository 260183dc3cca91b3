/*
 * ir/expand.c: connector rules to synapses, and per-neuron values.
 *
 * Takes a network and a projection (and a rectangle of it, a "slice");
 * gives the synapses of that slice, sorted by (pre, post), appended to a
 * caller-owned struct snn_synapses, or just their number per (pre, post
 * slice) without weights, delays or allocation.  Also gives per-neuron
 * parameter and initial values, the fan-in and delay bounds used for
 * sizing, and the ms-to-steps rounding of delays.
 *
 * Invariants (docs/connectivity.md is the full contract):
 *  - Every random choice is one Philox4x32-10 call keyed by net->seed
 *    whose counter names what it is for; no state is carried from one
 *    draw to the next except inside one row (fixed_probability's gaps,
 *    fixed_number_post) or one column (fixed_number_pre), whose scan
 *    always starts at neuron 0.
 *    So a slice is exactly the full expansion restricted to it, whatever
 *    the other slices asked for, and firmware can regenerate one row.
 *  - Only IEEE double +, -, *, /, sqrt and ir/detmath.c touch the real
 *    numbers, so weights and delays are the same bits on every machine.
 *  - On error nothing is appended: out->n is restored and the arrays stay
 *    valid (possibly with more capacity).
 *  - snn_expand_count() counts exactly what snn_expand() appends; the
 *    shortcuts of fixed_probability (bounds that skip a logarithm, rows
 *    taken in batches) change no decision.
 *  - Logarithms are taken several at a time where there are several to
 *    take (gaps drawn ahead, normal values filled after the synapses are
 *    chosen); snn_det_log_n gives each snn_det_log's bits, so no value
 *    changes.
 */
#include "ir/expand.h"

#include "abi/philox.h"
#include "ir/detmath.h"
#include "support/arena.h"
#include "support/err.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Counter word c1 for draws of from_list entries: no neuron has this
 * index (indices are below 2^32 - 1), so they never meet a pair's draws. */
#define FROM_LIST_C1 0xFFFFFFFFu
/* Redraws of a bounded normal.  With bounds that hold even 1% of the mass
 * the chance of running out is 0.99^1024 < 4e-5; after that the last draw
 * is clamped, so expansion always ends. */
#define MAX_ATTEMPTS 1024u

void snn_synapses_free(struct snn_synapses *s)
{
    if (!s)
        return;
    snn_free(s->pre);
    snn_free(s->post);
    snn_free(s->weight);
    snn_free(s->delay_steps);
    memset(s, 0, sizeof *s);
}

uint32_t snn_delay_steps(double ms, double dt_ms)
{
    double x = ms / dt_ms + 0.5;
    if (!(x >= 1.0)) /* also NaN */
        return 1;
    if (x >= (double)SNN_MAX_DELAY_STEPS)
        return SNN_MAX_DELAY_STEPS;
    return (uint32_t)x; /* truncation is floor for x >= 1 */
}

/* ---- values ------------------------------------------------------------ */

/* A NORMAL value from one draw's log(1 - u1) and cos(2 pi u2): Box-Muller. */
static inline double box_muller(const struct snn_value *v, double log_1mu1, double cos_u2)
{
    double z = sqrt(-2.0 * log_1mu1) * cos_u2;
    return v->a + v->b * z;
}

/* One draw of a UNIFORM or NORMAL value with counter
 * (c0, c1, c2, stream | attempt << 8). */
static double draw(const struct snn_value *v, uint32_t c0, uint32_t c1, uint32_t c2,
                   uint32_t stream, uint64_t key)
{
    if (v->kind == SNN_VAL_UNIFORM) {
        struct snn_philox_out o = snn_philox4x32(c0, c1, c2, stream, key);
        return v->a + (v->b - v->a) * snn_u01(o.v[0], o.v[1]);
    }
    SNN_ASSERT(v->kind == SNN_VAL_NORMAL);
    double w = v->a;
    for (uint32_t attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        struct snn_philox_out o = snn_philox4x32(c0, c1, c2, stream | attempt << 8, key);
        double u1 = snn_u01(o.v[0], o.v[1]);
        w = box_muller(v, snn_det_log(1.0 - u1), snn_det_cos2pi(snn_u01(o.v[2], o.v[3])));
        if (!v->bounded || (w >= v->lo && w <= v->hi))
            return w;
        if (v->bound_mode == SNN_BOUND_CLIP)
            break;
    }
    return w < v->lo ? v->lo : w > v->hi ? v->hi : w;
}

/* Value number k of v (LIST), or its draw at counter (c0, c1, c2). */
static double value_at(const struct snn_value *v, uint64_t k, uint32_t c0, uint32_t c1,
                       uint32_t c2, uint32_t stream, uint64_t key)
{
    switch (v->kind) {
    case SNN_VAL_CONST: return v->c;
    case SNN_VAL_LIST: SNN_ASSERT(k < v->n); return v->list[k];
    default: return draw(v, c0, c1, c2, stream, key);
    }
}

double snn_value_neuron(const struct snn_net *net, uint32_t pop, unsigned slot, bool is_init,
                        uint32_t neuron)
{
    SNN_ASSERT(pop < net->n_pops);
    const struct snn_pop *p = &net->pops[pop];
    const struct snn_value *v = is_init ? &p->init[slot] : &p->params[slot];
    return value_at(v, neuron, neuron, slot, pop, is_init ? SNN_RNG_INIT : SNN_RNG_PARAM,
                    net->seed);
}

/* ---- output ------------------------------------------------------------ */

/* Makes room for `need` synapses in s.  A failure leaves s as it was
 * (an array already grown is merely larger than s->cap). */
static int reserve(struct snn_synapses *s, uint64_t need)
{
    if (need <= s->cap)
        return 0;
    if (need > SIZE_MAX / sizeof(double) / 2)
        return SNN_ENOMEM;
    uint64_t cap = s->cap > 32 ? s->cap : 32;
    while (cap < need)
        cap *= 2;
    void *p;
    if (!(p = snn_realloc(s->pre, cap * sizeof *s->pre)))
        return SNN_ENOMEM;
    s->pre = p;
    if (!(p = snn_realloc(s->post, cap * sizeof *s->post)))
        return SNN_ENOMEM;
    s->post = p;
    if (!(p = snn_realloc(s->weight, cap * sizeof *s->weight)))
        return SNN_ENOMEM;
    s->weight = p;
    if (!(p = snn_realloc(s->delay_steps, cap * sizeof *s->delay_steps)))
        return SNN_ENOMEM;
    s->delay_steps = p;
    s->cap = cap;
    return 0;
}

/* One expansion call: the projection, its slice (clamped) and shortcuts. */
struct ex {
    const struct snn_proj *pj;
    const struct snn_connector *cn;
    uint32_t proj;
    uint64_t key;
    double dt_ms;
    uint32_t n_pre, n_post;
    bool no_self;              /* pre == post population and i -> i excluded */
    uint32_t pl, ph, ql, qh;   /* pre [pl, ph) x post [ql, qh) */
    bool w_const, d_const;
    double w_c;
    uint32_t d_c;
    bool need_k;               /* a LIST weight or delay: track natural order */
    bool later_w, later_d;     /* NORMAL weights, delays: left to fill_normals() */
};

/* Delay in steps of synapse (i, j), number k in the natural order. */
static inline uint32_t delay_of(const struct ex *x, uint32_t i, uint32_t j, uint64_t k)
{
    if (x->d_const)
        return x->d_c;
    if (x->later_d)
        return 0; /* fill_normals() draws it */
    return snn_delay_steps(value_at(&x->pj->delay, k, j, i, x->proj, SNN_RNG_DELAY, x->key),
                           x->dt_ms);
}

/* Appends synapse (i, j), number k in the connector's natural order, with
 * the projection's weight and delay.  Room was reserved. */
static inline void push(const struct ex *x, struct snn_synapses *s, uint32_t i, uint32_t j,
                        uint64_t k)
{
    uint64_t n = s->n++;
    s->pre[n] = i;
    s->post[n] = j;
    if (x->w_const)
        s->weight[n] = x->w_c;
    else if (x->later_w)
        s->weight[n] = 0.0; /* fill_normals() draws it */
    else
        s->weight[n] = value_at(&x->pj->weight, k, j, i, x->proj, SNN_RNG_WEIGHT, x->key);
    s->delay_steps[n] = delay_of(x, i, j, k);
}

/* The NORMAL weights and delays of synapses n0 .. s->n - 1 that push()
 * and delay_of() left: draw()'s values, bit for bit, with the first
 * attempts' logarithms and cosines taken several at a time (a value out of
 * its bounds is drawn again by draw() itself, from its first attempt). */
static void fill_normals(const struct ex *x, struct snn_synapses *s, uint64_t n0)
{
    enum { B = 64 };
    double om[B], u2[B];
    struct snn_philox_out o[B];
    for (int is_delay = 0; is_delay < 2; is_delay++) {
        if (!(is_delay ? x->later_d : x->later_w))
            continue;
        const struct snn_value *v = is_delay ? &x->pj->delay : &x->pj->weight;
        uint32_t stream = is_delay ? SNN_RNG_DELAY : SNN_RNG_WEIGHT;
        for (uint64_t n = n0; n < s->n; n += B) {
            uint32_t m = s->n - n < B ? (uint32_t)(s->n - n) : B;
            snn_philox4x32_n(s->post + n, s->pre + n, x->proj, stream, x->key, o, m);
            for (uint32_t b = 0; b < m; b++) {
                om[b] = 1.0 - snn_u01(o[b].v[0], o[b].v[1]);
                u2[b] = snn_u01(o[b].v[2], o[b].v[3]);
            }
            snn_det_log_n(om, om, m);
            snn_det_cos2pi_n(u2, u2, m);
            for (uint32_t b = 0; b < m; b++) {
                double w = box_muller(v, om[b], u2[b]);
                if (v->bounded && !(w >= v->lo && w <= v->hi))
                    w = draw(v, s->post[n + b], s->pre[n + b], x->proj, stream, x->key);
                if (is_delay)
                    s->delay_steps[n + b] = snn_delay_steps(w, x->dt_ms);
                else
                    s->weight[n + b] = w;
            }
        }
    }
}

/* ---- connectors ---------------------------------------------------------- */

/* ---- fixed_probability: geometric gaps ------------------------------------ */

/* Counter tag of the gap draws: c3 = CONNECT | 1 << 8 keeps them apart
 * from the pair draws of fixed_number_* (c3 = CONNECT). */
#define FP_GAP_TAG (1u << 8)
/* "No further post" from fp_next (posts are below 2^32). */
#define FP_END UINT64_MAX

enum fp_mode { FP_NONE, FP_ALL, FP_GAPS };

/* The rule of one fixed_probability projection. */
struct fp {
    enum fp_mode mode;
    double p;        /* the probability, for sizing batches of gaps */
    double log_q;    /* snn_det_log(1 - p) < 0, for FP_GAPS */
    double zero_gap; /* 1 - u at or above this: the gap is 0 (see fp_rule) */
};

static struct fp fp_rule(double p)
{
    struct fp r = {FP_NONE, p, 0.0, 2.0};
    if (!(p > 0.0)) /* also NaN */
        return r;
    if (p >= 1.0 - 0x1p-33) {
        r.mode = FP_ALL;
        return r;
    }
    double q = 1.0 - p; /* p below 2^-54 rounds this to 1: nothing connects */
    if (q == 1.0)
        return r;
    r.log_q = snn_det_log(q);
    SNN_ASSERT(r.log_q < 0.0);
    /* A bound that spares the logarithm of gaps that are 0, about a
     * fraction p of them (it changes no result): if 1 - u >= q (1 + 2^-30)
     * the true log(1 - u) exceeds log q by about 2^-30, far more than the
     * few-ULP errors of both logarithms (|log q| <= 24 as p < 1 - 2^-33),
     * so the computed quotient is below 1. */
    r.zero_gap = q * (1.0 + 0x1p-30);
    r.mode = FP_GAPS;
    return r;
}

/* The most gaps of a row whose logarithms are taken together: sixteen,
 * whose words come from eight Philox blocks drawn together. */
#define FP_BATCH 16u

/* The scan of one row: connected posts in ascending order, below end.
 * Its gaps are drawn ahead in batches (om, lg), so that their logarithms
 * are taken several at a time; a batch is sized by the gaps the rest of
 * the row should have, and a single gap keeps its logarithm for when it
 * is needed (the last gap of a sparse row seldom needs one). */
struct fp_row {
    const struct fp *rule;
    uint32_t i, proj;
    uint64_t key;
    uint64_t c;         /* next candidate post */
    uint64_t k;         /* gaps drawn so far */
    uint64_t end;       /* the scan stops at end (<= N_post) */
    double passes_end;  /* 1 - u at or below this: the gap reaches end */
    struct snn_philox_out o;
    uint32_t nb, ib;    /* gaps drawn ahead, the next of them to take */
    double om[FP_BATCH], lg[FP_BATCH]; /* their 1 - u, and its log (nb > 1) */
};

/*
 * A bound that spares the logarithm for most gaps of a sparse row that
 * end it (it changes no result).  With T = exp(end L) (1 - 2^-30), if
 * 1 - u <= T the true log(1 - u) is below end L - 2^-31 <= rem L - 2^-31
 * for the rem <= end posts left, and the computed quotient
 * log(1 - u) / L, off by a few ULP (relative 2^-50 at most), is still
 * >= rem: T >= 2^-53 only where |end L| <= 37, and there the margin
 * 2^-31 / |L| exceeds the error 37 / |L| 2^-50 many times over.
 */
static double fp_passes_end(const struct fp *rule, uint64_t end)
{
    if (rule->mode != FP_GAPS || end == 0)
        return -1.0;
    return snn_det_exp((double)end * rule->log_q) * (1.0 - 0x1p-30);
}

static inline void fp_start(struct fp_row *r, const struct fp *rule, const struct ex *x,
                            uint32_t i, uint64_t end, double passes_end)
{
    r->rule = rule;
    r->i = i;
    r->proj = x->proj;
    r->key = x->key;
    r->c = 0;
    r->k = 0;
    r->end = rule->mode == FP_NONE ? 0 : end;
    r->passes_end = passes_end;
    r->nb = r->ib = 0;
}

/* Draws the next batch of gaps of the row: about as many as the posts
 * left should take (FP_BATCH at most), or one.  Gap k takes words 0 and 1
 * of block k / 2 when k is even, words 2 and 3 when odd; a full batch
 * needs eight blocks after the one it may start in, drawn together. */
static void fp_draw(struct fp_row *r)
{
    double left = (double)(r->end - r->c) * r->rule->p;
    uint32_t n = left >= FP_BATCH ? FP_BATCH : left >= 8.0 ? 8 : left >= 4.0 ? 4 : 1;
    struct snn_philox_out o[FP_BATCH / 2];
    uint64_t first = (r->k + 1) >> 1; /* the first block not drawn yet */
    if (n == FP_BATCH) {
        uint32_t c0[FP_BATCH / 2], c1[FP_BATCH / 2];
        for (uint32_t j = 0; j < FP_BATCH / 2; j++) {
            c0[j] = (uint32_t)(first + j);
            c1[j] = r->i;
        }
        snn_philox4x32_n(c0, c1, r->proj, SNN_RNG_CONNECT | FP_GAP_TAG, r->key, o,
                         FP_BATCH / 2);
    }
    for (uint32_t b = 0; b < n; b++) {
        unsigned h = (unsigned)(r->k & 1) * 2; /* even gaps: v[0], v[1]; odd: v[2], v[3] */
        if (h == 0)
            r->o = n == FP_BATCH ? o[(r->k >> 1) - first]
                                 : snn_philox4x32((uint32_t)(r->k >> 1), r->i, r->proj,
                                                  SNN_RNG_CONNECT | FP_GAP_TAG, r->key);
        r->k++;
        r->om[b] = 1.0 - snn_u01(r->o.v[h], r->o.v[h + 1]); /* exact, >= 2^-53 */
    }
    if (n > 1)
        snn_det_log_n(r->om, r->lg, n);
    r->nb = n;
    r->ib = 0;
}

/* The next connected post of the row below end (an excluded self pair
 * included: the caller drops it), or FP_END. */
static inline uint64_t fp_next(struct fp_row *r)
{
    if (r->c >= r->end)
        return FP_END;
    if (r->rule->mode == FP_ALL)
        return r->c++;
    if (r->ib == r->nb)
        fp_draw(r);
    uint32_t b = r->ib++;
    double one_minus_u = r->om[b];
    if (one_minus_u <= r->passes_end) {
        r->c = r->end;
        return FP_END;
    }
    if (one_minus_u >= r->rule->zero_gap)
        return r->c++;
    double lg = r->nb > 1 ? r->lg[b] : snn_det_log(one_minus_u);
    double g = lg / r->rule->log_q; /* >= 0 (or -0) */
    /* Compared in double first: g may be far beyond 2^64 for tiny p. */
    if (g >= (double)(r->end - r->c)) {
        r->c = r->end;
        return FP_END;
    }
    uint64_t j = r->c + (uint64_t)g; /* truncation is floor here */
    r->c = j + 1;
    return j;
}

/* Synapses of fixed_probability row i with post below end. */
static uint64_t fp_count(const struct ex *x, const struct fp *rule, uint32_t i, uint64_t end)
{
    struct fp_row r;
    fp_start(&r, rule, x, i, end, -1.0);
    uint64_t c = 0;
    for (uint64_t j; (j = fp_next(&r)) != FP_END;)
        c += !(x->no_self && j == i);
    return c;
}

static int expand_fixed_probability(const struct ex *x, struct snn_synapses *s)
{
    struct fp rule = fp_rule(x->cn->p);
    if (rule.mode == FP_NONE)
        return 0;
    uint64_t before = 0; /* synapses in rows before i (LIST only) */
    if (x->need_k)
        for (uint32_t i = 0; i < x->pl; i++)
            before += fp_count(x, &rule, i, x->n_post);
    double passes_end = fp_passes_end(&rule, x->qh);
    for (uint32_t i = x->pl; i < x->ph; i++) {
        /* The scan starts at post 0 whatever the slice: each gap starts
         * where the previous one ended. */
        struct fp_row r;
        fp_start(&r, &rule, x, i, x->qh, passes_end);
        uint64_t k = before;
        for (uint64_t j; (j = fp_next(&r)) != FP_END;) {
            if (x->no_self && j == i)
                continue;
            if (j >= x->ql) {
                if (s->n == s->cap && reserve(s, s->n + 1))
                    return SNN_ENOMEM;
                push(x, s, i, (uint32_t)j, k);
            }
            k++;
        }
        if (x->need_k)
            before += fp_count(x, &rule, i, x->n_post);
    }
    return 0;
}

static int expand_all_to_all(const struct ex *x, struct snn_synapses *s)
{
    for (uint32_t i = x->pl; i < x->ph; i++) {
        if (reserve(s, s->n + (x->qh - x->ql)))
            return SNN_ENOMEM;
        for (uint32_t j = x->ql; j < x->qh; j++) {
            if (x->no_self && i == j)
                continue;
            /* Natural order: row-major, skipped self pairs not counted. */
            uint64_t k = (uint64_t)i * x->n_post + j;
            if (x->no_self)
                k -= i + (j > i);
            push(x, s, i, j, k);
        }
    }
    return 0;
}

static int expand_one_to_one(const struct ex *x, struct snn_synapses *s)
{
    uint32_t lo = x->pl > x->ql ? x->pl : x->ql;
    uint32_t hi = x->ph < x->qh ? x->ph : x->qh;
    if (lo >= hi)
        return 0;
    if (reserve(s, s->n + (hi - lo)))
        return SNN_ENOMEM;
    for (uint32_t i = lo; i < hi; i++)
        push(x, s, i, i, i);
    return 0;
}

/* Selection sampling: candidate number kc of m, r still to choose. */
static inline bool select_next(uint32_t u, uint64_t m, uint64_t kc, uint64_t r)
{
    return (uint64_t)u * (m - kc) < r << 32;
}

static int expand_fixed_number_post(const struct ex *x, struct snn_synapses *s)
{
    uint32_t n = x->cn->n;
    uint64_t m = (uint64_t)x->n_post - x->no_self;
    uint64_t room = n < x->qh - x->ql ? n : x->qh - x->ql;
    for (uint32_t i = x->pl; i < x->ph; i++) {
        if (reserve(s, s->n + room))
            return SNN_ENOMEM;
        uint64_t r = n, kc = 0, rank = 0;
        uint64_t g = UINT64_MAX;
        struct snn_philox_out o = {{0}};
        /* The scan starts at post 0 whatever the slice: the choice at a
         * candidate depends on how many were chosen before it. */
        for (uint32_t j = 0; j < x->qh && r > 0; j++) {
            if (x->no_self && i == j)
                continue;
            if (j >> 2 != g) {
                g = j >> 2;
                o = snn_philox4x32((uint32_t)g, i, x->proj, SNN_RNG_CONNECT, x->key);
            }
            if (select_next(o.v[j & 3], m, kc, r)) {
                r--;
                if (j >= x->ql)
                    push(x, s, i, j, (uint64_t)i * n + rank);
                rank++;
            }
            kc++;
        }
    }
    return 0;
}

/* Appends src to dst ordered by (pre, post): src holds whole columns in
 * ascending post, each in ascending pre, so a stable counting sort by pre
 * gives the order. */
static int merge_columns(const struct ex *x, const struct snn_synapses *src,
                         struct snn_synapses *dst)
{
    size_t rows = (size_t)(x->ph - x->pl);
    uint64_t *start = snn_calloc(rows + 1, sizeof *start);
    if (!start || reserve(dst, dst->n + src->n)) {
        snn_free(start);
        return SNN_ENOMEM;
    }
    for (uint64_t e = 0; e < src->n; e++)
        start[src->pre[e] - x->pl + 1]++;
    for (size_t r = 0; r < rows; r++)
        start[r + 1] += start[r];
    for (uint64_t e = 0; e < src->n; e++) {
        uint64_t to = dst->n + start[src->pre[e] - x->pl]++;
        dst->pre[to] = src->pre[e];
        dst->post[to] = src->post[e];
        dst->weight[to] = src->weight[e];
        dst->delay_steps[to] = src->delay_steps[e];
    }
    dst->n += src->n;
    snn_free(start);
    return 0;
}

static int expand_fixed_number_pre(const struct ex *x, struct snn_synapses *s)
{
    uint32_t n = x->cn->n;
    uint64_t m = (uint64_t)x->n_pre - x->no_self;
    uint64_t room = n < x->ph - x->pl ? n : x->ph - x->pl;
    struct snn_synapses cols = {0};
    int rc = 0;
    for (uint32_t j = x->ql; j < x->qh && rc == 0; j++) {
        if ((rc = reserve(&cols, cols.n + room)))
            break;
        uint64_t r = n, kc = 0, rank = 0;
        uint64_t g = UINT64_MAX;
        struct snn_philox_out o = {{0}};
        for (uint32_t i = 0; i < x->ph && r > 0; i++) {
            if (x->no_self && i == j)
                continue;
            if (i >> 2 != g) {
                g = i >> 2;
                o = snn_philox4x32((uint32_t)g, j, x->proj, SNN_RNG_CONNECT, x->key);
            }
            if (select_next(o.v[i & 3], m, kc, r)) {
                r--;
                /* Natural order: by post, then pre. */
                if (i >= x->pl)
                    push(x, &cols, i, j, (uint64_t)j * n + rank);
                rank++;
            }
            kc++;
        }
    }
    if (rc == 0 && cols.n)
        rc = merge_columns(x, &cols, s);
    snn_synapses_free(&cols);
    return rc;
}

static int expand_matrix(const struct ex *x, struct snn_synapses *s)
{
    const double *mat = x->cn->matrix;
    uint64_t k = 0; /* nonzero entries before the current one (LIST delays) */
    if (x->need_k)
        for (uint64_t e = 0; e < (uint64_t)x->pl * x->n_post; e++)
            k += mat[e] != 0.0;
    for (uint32_t i = x->pl; i < x->ph; i++) {
        if (reserve(s, s->n + (x->qh - x->ql)))
            return SNN_ENOMEM;
        const double *row = mat + (size_t)i * x->n_post;
        if (x->need_k)
            for (uint32_t j = 0; j < x->ql; j++)
                k += row[j] != 0.0;
        for (uint32_t j = x->ql; j < x->qh; j++) {
            if (row[j] == 0.0)
                continue;
            uint64_t n = s->n++;
            s->pre[n] = i;
            s->post[n] = j;
            s->weight[n] = row[j]; /* the matrix gives the weight */
            s->delay_steps[n] = delay_of(x, i, j, k++);
        }
        if (x->need_k)
            for (uint32_t j = x->qh; j < x->n_post; j++)
                k += row[j] != 0.0;
    }
    return 0;
}

/* Stable merge sort of entry indices by (pre, post). */
static bool entry_less(const struct snn_connector *cn, uint32_t a, uint32_t b)
{
    if (cn->list_pre[a] != cn->list_pre[b])
        return cn->list_pre[a] < cn->list_pre[b];
    return cn->list_post[a] < cn->list_post[b];
}

static void sort_entries(const struct snn_connector *cn, uint32_t *a, uint32_t *tmp, size_t n)
{
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n;
            size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t p = lo, q = mid, o = lo;
            while (p < mid && q < hi)
                tmp[o++] = entry_less(cn, a[q], a[p]) ? a[q++] : a[p++];
            while (p < mid)
                tmp[o++] = a[p++];
            while (q < hi)
                tmp[o++] = a[q++];
        }
        memcpy(a, tmp, n * sizeof *a);
    }
}

static int expand_from_list(const struct ex *x, struct snn_synapses *s)
{
    const struct snn_connector *cn = x->cn;
    size_t m = 0;
    bool sorted = true;
    for (uint32_t e = 0; e < cn->n; e++)
        if (cn->list_pre[e] >= x->pl && cn->list_pre[e] < x->ph && cn->list_post[e] >= x->ql &&
            cn->list_post[e] < x->qh)
            m++;
    if (m == 0)
        return 0;
    uint32_t *idx = snn_malloc(m * sizeof *idx);
    if (!idx || reserve(s, s->n + m)) {
        snn_free(idx);
        return SNN_ENOMEM;
    }
    m = 0;
    for (uint32_t e = 0; e < cn->n; e++) {
        if (cn->list_pre[e] >= x->pl && cn->list_pre[e] < x->ph && cn->list_post[e] >= x->ql &&
            cn->list_post[e] < x->qh) {
            if (m && entry_less(cn, e, idx[m - 1]))
                sorted = false;
            idx[m++] = e;
        }
    }
    if (!sorted) {
        uint32_t *tmp = snn_malloc(m * sizeof *tmp);
        if (!tmp) {
            snn_free(idx);
            return SNN_ENOMEM;
        }
        sort_entries(cn, idx, tmp, m);
        snn_free(tmp);
    }
    for (size_t q = 0; q < m; q++) {
        uint32_t e = idx[q];
        uint64_t n = s->n++;
        s->pre[n] = cn->list_pre[e];
        s->post[n] = cn->list_post[e];
        s->weight[n] = cn->list_w ? cn->list_w[e]
                                  : value_at(&x->pj->weight, e, e, FROM_LIST_C1, x->proj,
                                             SNN_RNG_WEIGHT, x->key);
        double d_ms = cn->list_d ? cn->list_d[e]
                                 : value_at(&x->pj->delay, e, e, FROM_LIST_C1, x->proj,
                                            SNN_RNG_DELAY, x->key);
        s->delay_steps[n] = snn_delay_steps(d_ms, x->dt_ms);
    }
    snn_free(idx);
    return 0;
}

/* ---- checks ---------------------------------------------------------------*/

const char *snn_expand_label(const struct snn_proj *pj, uint32_t proj, char *buf, size_t size)
{
    if (pj->name && pj->name[0])
        snprintf(buf, size, "projection '%s'", pj->name);
    else
        snprintf(buf, size, "projection #%u", (unsigned)proj);
    return buf;
}

/* The number of synapses of the whole projection (for LIST lengths). */
static uint64_t total_synapses(const struct ex *x)
{
    const struct snn_connector *cn = x->cn;
    switch (cn->kind) {
    case SNN_CONN_ALL_TO_ALL:
        return (uint64_t)x->n_pre * x->n_post - (x->no_self ? x->n_pre : 0);
    case SNN_CONN_ONE_TO_ONE: return x->n_pre < x->n_post ? x->n_pre : x->n_post;
    case SNN_CONN_FIXED_PROBABILITY: {
        struct fp rule = fp_rule(cn->p);
        uint64_t c = 0;
        if (rule.mode != FP_NONE)
            for (uint32_t i = 0; i < x->n_pre; i++)
                c += fp_count(x, &rule, i, x->n_post);
        return c;
    }
    case SNN_CONN_FIXED_NUMBER_POST: return (uint64_t)x->n_pre * cn->n;
    case SNN_CONN_FIXED_NUMBER_PRE: return (uint64_t)x->n_post * cn->n;
    case SNN_CONN_FROM_LIST: return cn->n;
    case SNN_CONN_MATRIX: {
        uint64_t c = 0;
        for (uint64_t e = 0; e < (uint64_t)x->n_pre * x->n_post; e++)
            c += cn->matrix[e] != 0.0;
        return c;
    }
    default: SNN_ASSERT(!"unknown connector"); return 0;
    }
}

/* Reports what makes the projection impossible to expand; 0 or SNN_ESEMA. */
static int check(const struct ex *x, struct snn_diag *d)
{
    const struct snn_proj *pj = x->pj;
    const struct snn_connector *cn = x->cn;
    char buf[160];
    if (cn->kind == SNN_CONN_FIXED_NUMBER_POST && x->n_pre > 0 &&
        cn->n > (uint64_t)x->n_post - x->no_self) {
        snn_diag_error(d, &pj->loc, "%s: fixed_number_post n = %u but only %llu post neurons",
                       snn_expand_label(pj, x->proj, buf, sizeof buf), (unsigned)cn->n,
                       (unsigned long long)((uint64_t)x->n_post - x->no_self));
        return SNN_ESEMA;
    }
    if (cn->kind == SNN_CONN_FIXED_NUMBER_PRE && x->n_post > 0 &&
        cn->n > (uint64_t)x->n_pre - x->no_self) {
        snn_diag_error(d, &pj->loc, "%s: fixed_number_pre n = %u but only %llu pre neurons",
                       snn_expand_label(pj, x->proj, buf, sizeof buf), (unsigned)cn->n,
                       (unsigned long long)((uint64_t)x->n_pre - x->no_self));
        return SNN_ESEMA;
    }
    if (cn->kind == SNN_CONN_FROM_LIST)
        for (uint32_t e = 0; e < cn->n; e++)
            if (cn->list_pre[e] >= x->n_pre || cn->list_post[e] >= x->n_post) {
                snn_diag_error(d, &pj->loc, "%s: list entry %u (%u, %u) is outside %u x %u",
                               snn_expand_label(pj, x->proj, buf, sizeof buf), (unsigned)e,
                               (unsigned)cn->list_pre[e], (unsigned)cn->list_post[e],
                               (unsigned)x->n_pre, (unsigned)x->n_post);
                return SNN_ESEMA;
            }
    bool w_list = pj->weight.kind == SNN_VAL_LIST && cn->kind != SNN_CONN_MATRIX &&
                  !(cn->kind == SNN_CONN_FROM_LIST && cn->list_w);
    bool d_list = pj->delay.kind == SNN_VAL_LIST && !(cn->kind == SNN_CONN_FROM_LIST && cn->list_d);
    if (!w_list && !d_list)
        return 0;
    uint64_t total = total_synapses(x);
    const struct snn_value *v[2] = {w_list ? &pj->weight : NULL, d_list ? &pj->delay : NULL};
    static const char *const what[2] = {"weights", "delays"};
    for (int q = 0; q < 2; q++)
        if (v[q] && v[q]->n != total) {
            snn_diag_error(d, &v[q]->loc, "%s: %u %s listed but the connector makes %llu synapses",
                           snn_expand_label(pj, x->proj, buf, sizeof buf), (unsigned)v[q]->n,
                           what[q], (unsigned long long)total);
            return SNN_ESEMA;
        }
    return 0;
}

static void setup(struct ex *x, const struct snn_net *net, uint32_t proj)
{
    SNN_ASSERT(proj < net->n_projs);
    const struct snn_proj *pj = &net->projs[proj];
    SNN_ASSERT(pj->pre < net->n_pops && pj->post < net->n_pops);
    memset(x, 0, sizeof *x);
    x->pj = pj;
    x->cn = &pj->conn;
    x->proj = proj;
    x->key = net->seed;
    x->dt_ms = net->dt_ms;
    x->n_pre = net->pops[pj->pre].size;
    x->n_post = net->pops[pj->post].size;
    bool self_rule = pj->conn.kind == SNN_CONN_ALL_TO_ALL ||
                     pj->conn.kind == SNN_CONN_FIXED_PROBABILITY ||
                     pj->conn.kind == SNN_CONN_FIXED_NUMBER_POST ||
                     pj->conn.kind == SNN_CONN_FIXED_NUMBER_PRE;
    x->no_self = self_rule && pj->pre == pj->post && !pj->conn.allow_self;
    x->w_const = pj->weight.kind == SNN_VAL_CONST;
    x->w_c = pj->weight.c;
    x->d_const = pj->delay.kind == SNN_VAL_CONST;
    x->d_c = snn_delay_steps(pj->delay.c, net->dt_ms);
    x->need_k = pj->weight.kind == SNN_VAL_LIST || pj->delay.kind == SNN_VAL_LIST;
    /* from_list draws by entry, not by (pre, post): it draws as it goes;
     * a matrix gives the weights itself */
    bool pairs = pj->conn.kind != SNN_CONN_FROM_LIST;
    x->later_w = pairs && pj->conn.kind != SNN_CONN_MATRIX && pj->weight.kind == SNN_VAL_NORMAL;
    x->later_d = pairs && pj->delay.kind == SNN_VAL_NORMAL;
}

int snn_expand(const struct snn_net *net, uint32_t proj, uint32_t pre_lo, uint32_t pre_hi,
               uint32_t post_lo, uint32_t post_hi, struct snn_synapses *out, struct snn_diag *d)
{
    struct ex x;
    setup(&x, net, proj);
    x.pl = pre_lo;
    x.ph = pre_hi < x.n_pre ? pre_hi : x.n_pre;
    x.ql = post_lo;
    x.qh = post_hi < x.n_post ? post_hi : x.n_post;
    int rc = check(&x, d);
    if (rc)
        return rc;
    if (x.pl >= x.ph || x.ql >= x.qh)
        return 0;
    uint64_t n0 = out->n;
    switch (x.cn->kind) {
    case SNN_CONN_ALL_TO_ALL: rc = expand_all_to_all(&x, out); break;
    case SNN_CONN_ONE_TO_ONE: rc = expand_one_to_one(&x, out); break;
    case SNN_CONN_FIXED_PROBABILITY: rc = expand_fixed_probability(&x, out); break;
    case SNN_CONN_FIXED_NUMBER_POST: rc = expand_fixed_number_post(&x, out); break;
    case SNN_CONN_FIXED_NUMBER_PRE: rc = expand_fixed_number_pre(&x, out); break;
    case SNN_CONN_FROM_LIST: rc = expand_from_list(&x, out); break;
    case SNN_CONN_MATRIX: rc = expand_matrix(&x, out); break;
    default: SNN_ASSERT(!"unknown connector");
    }
    if (rc == 0)
        fill_normals(&x, out, n0);
    if (rc) {
        char buf[160];
        out->n = n0;
        snn_diag_error(d, &x.pj->loc, "%s: out of memory expanding its synapses",
                       snn_expand_label(x.pj, proj, buf, sizeof buf));
    }
    return rc;
}

bool snn_expand_slices_cheaply(const struct snn_net *net, uint32_t proj)
{
    struct ex x;
    setup(&x, net, proj);
    switch (x.cn->kind) {
    case SNN_CONN_ALL_TO_ALL:
    case SNN_CONN_ONE_TO_ONE:
    case SNN_CONN_FIXED_NUMBER_POST: return true; /* a list's order is arithmetic */
    case SNN_CONN_FIXED_PROBABILITY:
    case SNN_CONN_MATRIX: return !x.need_k;
    default: return false; /* fixed_number_pre draws by column, from_list sorts */
    }
}

uint64_t snn_expand_max_fan_in(const struct snn_net *net, uint32_t proj)
{
    struct ex x;
    setup(&x, net, proj);
    const struct snn_connector *cn = x.cn;
    if (x.n_pre == 0 || x.n_post == 0)
        return 0;
    uint64_t all = (uint64_t)x.n_pre - x.no_self; /* every candidate pre */
    switch (cn->kind) {
    case SNN_CONN_ALL_TO_ALL: return all;
    case SNN_CONN_FIXED_PROBABILITY: return fp_rule(cn->p).mode != FP_NONE ? all : 0;
    case SNN_CONN_FIXED_NUMBER_POST: return cn->n ? all : 0;
    case SNN_CONN_ONE_TO_ONE: return 1;
    case SNN_CONN_FIXED_NUMBER_PRE: return cn->n;
    case SNN_CONN_FROM_LIST: {
        uint32_t *cnt = snn_calloc(x.n_post, sizeof *cnt);
        if (!cnt) /* no memory to count: the bound every entry gives */
            return cn->n;
        uint64_t best = 0;
        for (uint32_t e = 0; e < cn->n; e++)
            if (cn->list_post[e] < x.n_post && cn->list_pre[e] < x.n_pre &&
                ++cnt[cn->list_post[e]] > best)
                best = cnt[cn->list_post[e]];
        snn_free(cnt);
        return best;
    }
    case SNN_CONN_MATRIX: {
        uint64_t best = 0;
        for (uint32_t j = 0; j < x.n_post; j++) {
            uint64_t c = 0;
            for (uint32_t i = 0; i < x.n_pre; i++)
                c += cn->matrix[(size_t)i * x.n_post + j] != 0.0;
            best = c > best ? c : best;
        }
        return best;
    }
    default: SNN_ASSERT(!"unknown connector"); return 0;
    }
}

/* ---- counting ---------------------------------------------------------------- */

/* Where snn_expand_count() adds: post slice k is [b[k], b[k + 1]), k < n;
 * the row of pre i starts at counts[(i - pre_lo) n]. */
struct tally {
    const uint32_t *b;
    uint32_t n;
    uint32_t *counts;
    uint32_t pre_lo;
};

static inline uint32_t *row_of(const struct tally *t, uint32_t i)
{
    return t->counts + (size_t)(i - t->pre_lo) * t->n;
}

/* The slice holding post j, or t->n if none does (binary search; equal
 * bounds make empty slices, which the search passes over). */
static uint32_t slice_of(const struct tally *t, uint64_t j)
{
    if (j < t->b[0] || j >= t->b[t->n])
        return t->n;
    uint32_t lo = 0, hi = t->n; /* b[lo] <= j < b[hi] */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->b[mid] <= j)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Walks the slices along a row: posts come in ascending order. */
struct walk {
    const struct tally *t;
    uint32_t k;
};

/* Adds post j of a row, whose counts are row[], to its slice. */
static inline void walk_add(struct walk *w, uint32_t *row, uint64_t j)
{
    const struct tally *t = w->t;
    if (j < t->b[0])
        return;
    while (w->k < t->n && j >= t->b[w->k + 1])
        w->k++;
    if (w->k < t->n)
        row[w->k]++;
}

static void count_all_to_all(const struct ex *x, const struct tally *t)
{
    for (uint32_t i = x->pl; i < x->ph; i++) {
        uint32_t *row = row_of(t, i);
        for (uint32_t k = 0; k < t->n; k++) {
            uint32_t lo = t->b[k] < x->n_post ? t->b[k] : x->n_post;
            uint32_t hi = t->b[k + 1] < x->n_post ? t->b[k + 1] : x->n_post;
            if (lo < hi)
                row[k] += hi - lo - (x->no_self && i >= lo && i < hi);
        }
    }
}

static void count_one_to_one(const struct ex *x, const struct tally *t)
{
    for (uint32_t i = x->pl; i < x->ph && i < x->n_post; i++) {
        uint32_t k = slice_of(t, i);
        if (k < t->n)
            row_of(t, i)[k]++;
    }
}

/* Rows of fixed_probability counted together: enough independent gaps in
 * flight to keep the pipeline busy, few enough for the stack. */
#define FP_ROWS 64u

/* The first draws (counter (0, i0 + q, proj, CONNECT | FP_GAP_TAG)) of
 * rows i0 .. i0 + FP_ROWS - 1: Philox4x32-10 written lane by lane (rounds
 * outside, rows inside) so that compilers turn it into vector code; the
 * same bits as snn_philox4x32() (the tests compare counts and synapses). */
static void fp_first_draws(uint32_t v[4][FP_ROWS], uint32_t i0, uint32_t proj, uint64_t key)
{
    uint32_t c0[FP_ROWS], c1[FP_ROWS], c2[FP_ROWS], c3[FP_ROWS];
    for (uint32_t q = 0; q < FP_ROWS; q++) {
        c0[q] = 0;
        c1[q] = i0 + q;
        c2[q] = proj;
        c3[q] = SNN_RNG_CONNECT | FP_GAP_TAG;
    }
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int r = 0; r < 10; r++) {
        for (uint32_t q = 0; q < FP_ROWS; q++) {
            uint64_t p0 = (uint64_t)0xD2511F53u * c0[q];
            uint64_t p1 = (uint64_t)0xCD9E8D57u * c2[q];
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[q] ^ k0;
            uint32_t n1 = (uint32_t)p1;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[q] ^ k1;
            uint32_t n3 = (uint32_t)p0;
            c0[q] = n0;
            c1[q] = n1;
            c2[q] = n2;
            c3[q] = n3;
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    memcpy(v[0], c0, sizeof c0);
    memcpy(v[1], c1, sizeof c1);
    memcpy(v[2], c2, sizeof c2);
    memcpy(v[3], c3, sizeof c3);
}

/*
 * Counts rows i0 .. i0 + nrows - 1 (nrows <= FP_ROWS) of a FP_GAPS rule
 * below end: exactly fp_next()'s gaps, but taken in waves, one gap of
 * every row still open per wave, so that the logarithms and draws of
 * different rows overlap instead of waiting on each other.
 */
static void count_fp_rows(const struct ex *x, const struct fp *rule, const struct tally *t,
                          uint32_t i0, uint32_t nrows, uint64_t end, double passes_end)
{
    uint32_t v[4][FP_ROWS];
    uint64_t c[FP_ROWS], k[FP_ROWS];
    uint32_t at[FP_ROWS]; /* slice of the last post counted (a struct walk's k) */
    uint32_t open[FP_ROWS];
    double om[FP_ROWS], g[FP_ROWS], lg[FP_ROWS];
    fp_first_draws(v, i0, x->proj, x->key);
    for (uint32_t q = 0; q < nrows; q++) {
        c[q] = k[q] = 0;
        at[q] = 0;
        open[q] = q;
    }
    uint32_t n_open = end ? nrows : 0;
    while (n_open) {
        /* This gap's u; the rows whose gap surely reaches end close. */
        uint32_t m = 0;
        for (uint32_t a = 0; a < n_open; a++) {
            uint32_t q = open[a];
            if ((k[q] & 1) == 0 && k[q] > 0) {
                struct snn_philox_out o = snn_philox4x32(
                    (uint32_t)(k[q] >> 1), i0 + q, x->proj, SNN_RNG_CONNECT | FP_GAP_TAG, x->key);
                for (int l = 0; l < 4; l++)
                    v[l][q] = o.v[l];
            }
            unsigned h = (unsigned)(k[q] & 1) * 2;
            k[q]++;
            om[q] = 1.0 - snn_u01(v[h][q], v[h + 1][q]);
            open[m] = q; /* m <= a: kept rows are packed in place */
            m += om[q] > passes_end;
        }
        n_open = m;
        for (uint32_t a = 0; a < n_open; a++)
            lg[a] = om[open[a]];
        snn_det_log_n(lg, lg, n_open); /* with those that zero_gap spares: no matter */
        for (uint32_t a = 0; a < n_open; a++) {
            uint32_t q = open[a];
            g[q] = om[q] >= rule->zero_gap ? 0.0 : lg[a] / rule->log_q;
        }
        m = 0;
        for (uint32_t a = 0; a < n_open; a++) {
            uint32_t q = open[a];
            if (g[q] >= (double)(end - c[q]))
                continue;
            uint64_t j = c[q] + (uint64_t)g[q];
            c[q] = j + 1;
            if (!(x->no_self && j == i0 + q)) {
                struct walk w = {t, at[q]};
                walk_add(&w, row_of(t, i0 + q), j);
                at[q] = w.k;
            }
            if (c[q] < end)
                open[m++] = q;
        }
        n_open = m;
    }
}

static void count_fixed_probability(const struct ex *x, const struct tally *t)
{
    struct fp rule = fp_rule(x->cn->p);
    uint64_t end = x->qh; /* the last bound, clamped to N_post */
    if (rule.mode == FP_GAPS) {
        double passes_end = fp_passes_end(&rule, end);
        for (uint32_t i = x->pl; i < x->ph; i += FP_ROWS) {
            uint32_t n = x->ph - i < FP_ROWS ? x->ph - i : FP_ROWS;
            count_fp_rows(x, &rule, t, i, n, end, passes_end);
            if (n < FP_ROWS)
                break; /* also keeps i from wrapping */
        }
        return;
    }
    for (uint32_t i = x->pl; i < x->ph; i++) {
        struct fp_row r;
        fp_start(&r, &rule, x, i, end, -1.0);
        struct walk w = {t, 0};
        uint32_t *row = row_of(t, i);
        for (uint64_t j; (j = fp_next(&r)) != FP_END;)
            if (!(x->no_self && j == i))
                walk_add(&w, row, j);
    }
}

static void count_fixed_number_post(const struct ex *x, const struct tally *t)
{
    uint32_t n = x->cn->n;
    uint64_t m = (uint64_t)x->n_post - x->no_self;
    for (uint32_t i = x->pl; i < x->ph; i++) {
        struct walk w = {t, 0};
        uint32_t *row = row_of(t, i);
        uint64_t r = n, kc = 0;
        uint64_t g = UINT64_MAX;
        struct snn_philox_out o = {{0}};
        for (uint32_t j = 0; j < x->qh && r > 0; j++) { /* as expand_fixed_number_post */
            if (x->no_self && i == j)
                continue;
            if (j >> 2 != g) {
                g = j >> 2;
                o = snn_philox4x32((uint32_t)g, i, x->proj, SNN_RNG_CONNECT, x->key);
            }
            if (select_next(o.v[j & 3], m, kc, r)) {
                r--;
                walk_add(&w, row, j);
            }
            kc++;
        }
    }
}

static void count_fixed_number_pre(const struct ex *x, const struct tally *t)
{
    uint32_t n = x->cn->n;
    uint64_t m = (uint64_t)x->n_pre - x->no_self;
    uint32_t k = 0;
    for (uint32_t j = x->ql; j < x->qh; j++) { /* columns in ascending post */
        while (k < t->n && j >= t->b[k + 1])
            k++;
        if (k == t->n)
            break;
        if (j < t->b[k])
            continue;
        uint64_t r = n, kc = 0;
        uint64_t g = UINT64_MAX;
        struct snn_philox_out o = {{0}};
        for (uint32_t i = 0; i < x->ph && r > 0; i++) { /* as expand_fixed_number_pre */
            if (x->no_self && i == j)
                continue;
            if (i >> 2 != g) {
                g = i >> 2;
                o = snn_philox4x32((uint32_t)g, j, x->proj, SNN_RNG_CONNECT, x->key);
            }
            if (select_next(o.v[i & 3], m, kc, r)) {
                r--;
                if (i >= x->pl)
                    row_of(t, i)[k]++;
            }
            kc++;
        }
    }
}

static void count_from_list(const struct ex *x, const struct tally *t)
{
    const struct snn_connector *cn = x->cn;
    for (uint32_t e = 0; e < cn->n; e++) {
        uint32_t i = cn->list_pre[e];
        if (i < x->pl || i >= x->ph)
            continue;
        uint32_t k = slice_of(t, cn->list_post[e]);
        if (k < t->n)
            row_of(t, i)[k]++;
    }
}

static void count_matrix(const struct ex *x, const struct tally *t)
{
    for (uint32_t i = x->pl; i < x->ph; i++) {
        const double *mrow = x->cn->matrix + (size_t)i * x->n_post;
        uint32_t *row = row_of(t, i);
        for (uint32_t k = 0; k < t->n; k++) {
            uint32_t lo = t->b[k] < x->n_post ? t->b[k] : x->n_post;
            uint32_t hi = t->b[k + 1] < x->n_post ? t->b[k + 1] : x->n_post;
            uint32_t c = 0;
            for (uint32_t j = lo; j < hi; j++)
                c += mrow[j] != 0.0;
            row[k] += c;
        }
    }
}

int snn_expand_count(const struct snn_net *net, uint32_t proj, uint32_t pre_lo, uint32_t pre_hi,
                     const uint32_t *post_bounds, uint32_t n_post_slices, uint32_t *counts,
                     struct snn_diag *d)
{
    struct ex x;
    setup(&x, net, proj);
    int rc = check(&x, d); /* the errors snn_expand() would report */
    if (rc)
        return rc;
    if (n_post_slices == 0)
        return 0;
    x.pl = pre_lo;
    x.ph = pre_hi < x.n_pre ? pre_hi : x.n_pre;
    x.ql = post_bounds[0];
    x.qh = post_bounds[n_post_slices] < x.n_post ? post_bounds[n_post_slices] : x.n_post;
    if (x.pl >= x.ph || x.ql >= x.qh)
        return 0;
    struct tally t = {post_bounds, n_post_slices, counts, pre_lo};
    switch (x.cn->kind) {
    case SNN_CONN_ALL_TO_ALL: count_all_to_all(&x, &t); break;
    case SNN_CONN_ONE_TO_ONE: count_one_to_one(&x, &t); break;
    case SNN_CONN_FIXED_PROBABILITY: count_fixed_probability(&x, &t); break;
    case SNN_CONN_FIXED_NUMBER_POST: count_fixed_number_post(&x, &t); break;
    case SNN_CONN_FIXED_NUMBER_PRE: count_fixed_number_pre(&x, &t); break;
    case SNN_CONN_FROM_LIST: count_from_list(&x, &t); break;
    case SNN_CONN_MATRIX: count_matrix(&x, &t); break;
    default: SNN_ASSERT(!"unknown connector");
    }
    return 0;
}

/* ---- the largest delay ------------------------------------------------------- */

/* |z| of a normal draw is at most sqrt(-2 log 2^-53) = 8.5717 (1 - u1 >=
 * 2^-53, |cos| <= 1); the factor 1 + 2^-20 covers the few-ULP errors of
 * snn_det_log and snn_det_cos2pi. */
static double normal_z_bound(void)
{
    return sqrt(-2.0 * snn_det_log(0x1p-53)) * (1.0 + 0x1p-20);
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

/* The most steps a delay value can give.  Rounding to steps is
 * nondecreasing in ms, and so is each rounded operation of a draw in its
 * operands, so the largest draw bounds the largest delay. */
static uint32_t value_max_steps(const struct snn_value *v, double dt_ms)
{
    switch (v->kind) {
    case SNN_VAL_CONST: return snn_delay_steps(v->c, dt_ms);
    case SNN_VAL_UNIFORM: {
        /* a + (b - a) u: largest at u = 1 - 2^-53 if b >= a, at u = 0 (a) if not. */
        double top = v->a + (v->b - v->a) * (1.0 - 0x1p-53);
        return max_u32(snn_delay_steps(top, dt_ms), snn_delay_steps(v->a, dt_ms));
    }
    case SNN_VAL_NORMAL: {
        double sd = v->b < 0 ? -v->b : v->b;
        double w = v->a + sd * normal_z_bound();
        if (!v->bounded)
            return snn_delay_steps(w, dt_ms);
        /* Clip and redraw both end in [lo, hi]: at most the clamped
         * largest draw; with lo > hi the clamp can also give lo. */
        w = w < v->lo ? v->lo : w > v->hi ? v->hi : w;
        return max_u32(snn_delay_steps(w, dt_ms), snn_delay_steps(v->lo, dt_ms));
    }
    case SNN_VAL_LIST: {
        uint32_t m = 1;
        for (uint32_t k = 0; k < v->n; k++)
            m = max_u32(m, snn_delay_steps(v->list[k], dt_ms));
        return m;
    }
    default: SNN_ASSERT(!"unknown value kind"); return SNN_MAX_DELAY_STEPS;
    }
}

uint32_t snn_expand_max_delay_steps(const struct snn_net *net, uint32_t proj)
{
    SNN_ASSERT(proj < net->n_projs);
    const struct snn_proj *pj = &net->projs[proj];
    const struct snn_connector *cn = &pj->conn;
    if (cn->kind == SNN_CONN_FROM_LIST && cn->list_d) {
        uint32_t m = 1; /* the list's own delays replace the projection's */
        for (uint32_t k = 0; k < cn->n; k++)
            m = max_u32(m, snn_delay_steps(cn->list_d[k], net->dt_ms));
        return m;
    }
    return value_max_steps(&pj->delay, net->dt_ms);
}

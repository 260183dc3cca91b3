/*
 * tests/unit/test_expand.c: connectivity expansion (ir/expand.c) against
 * the rules of docs/connectivity.md.
 *
 * Covers, for every connector: the key property that any grid of slices
 * reassembles the full expansion exactly (with distribution weights and
 * delays); sorted output; determinism and seed dependence; exact counts
 * (fixed_number_*); statistics (fixed_probability count, column spread,
 * adjacent pairs and the post after a dropped self pair; uniform and
 * normal weights, selection fairness); self pairs; list weights in the
 * natural order; fixed_probability (with its shortcuts) against the gap
 * rule written out step by step, for p from 0 and tiny to 1, its gap
 * counters pinned, and the mapper's 4096 x 4096 at p = 0.0001 (count,
 * slices); snn_expand_count() against snn_expand() over random networks,
 * ranges and bounds; the delay bound of every kind of value; errors (list
 * length, impossible n, list entries out of range); allocation failures;
 * fan-in bounds; per-neuron values; and a tiny case whose synapses are
 * pinned (they match the Python reference of docs/connectivity.md: a
 * change to any draw shows up here).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/philox.h"
#include "ir/detmath.h"
#include "ir/expand.h"
#include "ir/ir.h"
#include "support/arena.h"
#include "support/diag.h"
#include "support/err.h"

/* ---- helpers -------------------------------------------------------------- */

/* A network of one or two populations and one projection between them. */
static struct snn_net *make_net(uint64_t seed, uint32_t n_pre, uint32_t n_post, bool same)
{
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    net->seed = seed;
    net->dt_ms = 0.1;
    assert_non_null(snn_net_add_pop(net, "a", SNN_MODEL_LIF_CURR_EXP, n_pre));
    if (!same)
        assert_non_null(snn_net_add_pop(net, "b", SNN_MODEL_LIF_CURR_EXP, n_post));
    assert_non_null(snn_net_add_proj(net, 0, same ? 0 : 1));
    return net;
}

static struct snn_proj *proj0(struct snn_net *net)
{
    return &net->projs[0];
}

static void expand_full(const struct snn_net *net, struct snn_synapses *s)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(snn_expand(net, 0, 0, UINT32_MAX, 0, UINT32_MAX, s, NULL), 0);
}

static void assert_same(const struct snn_synapses *a, const struct snn_synapses *b)
{
    assert_int_equal(a->n, b->n);
    if (a->n == 0)
        return;
    assert_memory_equal(a->pre, b->pre, a->n * sizeof *a->pre);
    assert_memory_equal(a->post, b->post, a->n * sizeof *a->post);
    assert_memory_equal(a->weight, b->weight, a->n * sizeof *a->weight); /* bit for bit */
    assert_memory_equal(a->delay_steps, b->delay_steps, a->n * sizeof *a->delay_steps);
}

static bool differ(const struct snn_synapses *a, const struct snn_synapses *b)
{
    if (a->n != b->n)
        return true;
    return a->n && (memcmp(a->pre, b->pre, a->n * sizeof *a->pre) ||
                    memcmp(a->post, b->post, a->n * sizeof *a->post) ||
                    memcmp(a->weight, b->weight, a->n * sizeof *a->weight) ||
                    memcmp(a->delay_steps, b->delay_steps, a->n * sizeof *a->delay_steps));
}

/* Sorted by (pre, post); strictly unless duplicates are allowed. */
static void assert_sorted(const struct snn_synapses *s, bool dups)
{
    for (uint64_t e = 1; e < s->n; e++) {
        uint64_t a = (uint64_t)s->pre[e - 1] << 32 | s->post[e - 1];
        uint64_t b = (uint64_t)s->pre[e] << 32 | s->post[e];
        if (dups)
            assert_true(a <= b);
        else
            assert_true(a < b);
    }
    for (uint64_t e = 0; e < s->n; e++)
        assert_in_range(s->delay_steps[e], 1, SNN_MAX_DELAY_STEPS);
}

static void append1(struct snn_synapses *d, const struct snn_synapses *s, uint64_t e)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        d->pre = realloc(d->pre, d->cap * sizeof *d->pre);
        d->post = realloc(d->post, d->cap * sizeof *d->post);
        d->weight = realloc(d->weight, d->cap * sizeof *d->weight);
        d->delay_steps = realloc(d->delay_steps, d->cap * sizeof *d->delay_steps);
        assert_true(d->pre && d->post && d->weight && d->delay_steps);
    }
    d->pre[d->n] = s->pre[e];
    d->post[d->n] = s->post[e];
    d->weight[d->n] = s->weight[e];
    d->delay_steps[d->n] = s->delay_steps[e];
    d->n++;
}

static void free_plain(struct snn_synapses *s)
{
    free(s->pre);
    free(s->post);
    free(s->weight);
    free(s->delay_steps);
    memset(s, 0, sizeof *s);
}

/*
 * Expands every slice of the grid given by the cut points (ascending,
 * starting at 0, ending at or past the sizes), each into its own struct,
 * checks each slice holds only its own rectangle, sorted, and reassembles
 * them row by row: the result must equal the full expansion exactly.
 */
static void check_slices(const struct snn_net *net, const uint32_t *pc, int npc, const uint32_t *qc,
                         int nqc)
{
    struct snn_synapses full;
    expand_full(net, &full);
    int np = npc - 1, nq = nqc - 1;
    struct snn_synapses *sl = calloc((size_t)(np * nq), sizeof *sl);
    uint64_t *cur = calloc((size_t)(np * nq), sizeof *cur);
    assert_non_null(sl);
    assert_non_null(cur);
    for (int a = 0; a < np; a++)
        for (int b = 0; b < nq; b++) {
            struct snn_synapses *s = &sl[a * nq + b];
            assert_int_equal(snn_expand(net, 0, pc[a], pc[a + 1], qc[b], qc[b + 1], s, NULL), 0);
            assert_sorted(s, net->projs[0].conn.kind == SNN_CONN_FROM_LIST);
            for (uint64_t e = 0; e < s->n; e++) {
                assert_true(s->pre[e] >= pc[a] && s->pre[e] < pc[a + 1]);
                assert_true(s->post[e] >= qc[b] && s->post[e] < qc[b + 1]);
            }
        }
    struct snn_synapses re = {0};
    uint32_t n_pre = net->pops[net->projs[0].pre].size;
    for (int a = 0; a < np; a++)
        for (uint32_t i = pc[a]; i < pc[a + 1] && i < n_pre; i++)
            for (int b = 0; b < nq; b++) {
                struct snn_synapses *s = &sl[a * nq + b];
                uint64_t *c = &cur[a * nq + b];
                while (*c < s->n && s->pre[*c] == i)
                    append1(&re, s, (*c)++);
            }
    for (int k = 0; k < np * nq; k++) {
        assert_int_equal(cur[k], sl[k].n); /* every slice synapse was used */
        snn_synapses_free(&sl[k]);
    }
    assert_same(&re, &full);
    free_plain(&re);
    free(sl);
    free(cur);
    snn_synapses_free(&full);
}

static void set_uniform(struct snn_value *v, double a, double b)
{
    memset(v, 0, sizeof *v);
    v->kind = SNN_VAL_UNIFORM;
    v->a = a;
    v->b = b;
}

static void set_normal(struct snn_value *v, double mean, double sd)
{
    memset(v, 0, sizeof *v);
    v->kind = SNN_VAL_NORMAL;
    v->a = mean;
    v->b = sd;
}

static void set_bounds(struct snn_value *v, double lo, double hi, enum snn_bound_mode mode)
{
    v->bounded = true;
    v->lo = lo;
    v->hi = hi;
    v->bound_mode = mode;
}

/* ---- the slice property for every connector ------------------------------- */

static const uint32_t cuts_a[] = {0, 1, 7, 8, 33, 64, 90, UINT32_MAX};
static const uint32_t cuts_b[] = {0, 5, 6, 31, 32, 61, 128, 129, 200, UINT32_MAX};
#define N_A (int)(sizeof cuts_a / sizeof cuts_a[0])
#define N_B (int)(sizeof cuts_b / sizeof cuts_b[0])

/* Distribution weights and delays on a projection. */
static void random_values(struct snn_proj *p)
{
    set_normal(&p->weight, 0.5, 0.2);
    set_bounds(&p->weight, 0.1, 0.9, SNN_BOUND_REDRAW);
    set_uniform(&p->delay, 0.1, 2.0);
}

static void test_slices_fixed_probability(void **state)
{
    (void)state;
    /* 300 posts: blocks of the vector path, a remainder, unaligned cuts. */
    struct snn_net *net = make_net(11, 120, 300, false);
    struct snn_proj *p = proj0(net);
    p->conn.kind = SNN_CONN_FIXED_PROBABILITY;
    p->conn.p = 0.1;
    random_values(p);
    check_slices(net, cuts_a, N_A, cuts_b, N_B);
    snn_net_free(net);

    net = make_net(12, 150, 150, true); /* self pairs excluded */
    p = proj0(net);
    p->conn.kind = SNN_CONN_FIXED_PROBABILITY;
    p->conn.p = 0.3;
    p->conn.allow_self = false;
    random_values(p);
    check_slices(net, cuts_b, N_B, cuts_a, N_A);
    snn_net_free(net);
}

static void test_slices_all_kinds(void **state)
{
    (void)state;
    for (int kind = 0; kind < SNN_CONN_COUNT; kind++) {
        for (int same = 0; same < 2; same++) {
            uint32_t n_pre = 97, n_post = same ? 97 : 133;
            struct snn_net *net = make_net(99 + (uint64_t)kind, n_pre, n_post, same);
            struct snn_proj *p = proj0(net);
            p->conn.kind = (enum snn_conn_kind)kind;
            p->conn.allow_self = !same;
            random_values(p);
            static uint32_t lp[500], lq[500];
            static double lw[500], ld[500], mat[97 * 133];
            switch (p->conn.kind) {
            case SNN_CONN_FIXED_PROBABILITY: p->conn.p = 0.2; break;
            case SNN_CONN_FIXED_NUMBER_POST: p->conn.n = 9; break;
            case SNN_CONN_FIXED_NUMBER_PRE: p->conn.n = 13; break;
            case SNN_CONN_FROM_LIST:
                /* Unsorted, with repeated pairs; per-entry delays on one run. */
                for (int e = 0; e < 500; e++) {
                    lp[e] = (uint32_t)(e * 7919 % 97);
                    lq[e] = (uint32_t)(e * 104729 % 61 + (e % 3) * 31) % n_post;
                    lw[e] = e * 0.01;
                    ld[e] = 0.1 * (1 + e % 7);
                }
                lp[1] = lp[0], lq[1] = lq[0]; /* a duplicate */
                p->conn.n = 500;
                p->conn.list_pre = lp;
                p->conn.list_post = lq;
                if (same) {
                    p->conn.list_w = lw;
                    p->conn.list_d = ld;
                }
                break;
            case SNN_CONN_MATRIX:
                for (uint32_t e = 0; e < n_pre * n_post; e++)
                    mat[e] = e % 5 == 0 ? 0.25 + e : 0.0;
                p->conn.matrix = mat;
                break;
            default: break;
            }
            check_slices(net, cuts_a, N_A, cuts_b, N_B);
            snn_net_free(net);
        }
    }
}

/* ---- rules ------------------------------------------------------------------ */

/* fixed_probability row i written out from docs/connectivity.md, step by
 * step (no shortcuts): its posts go to out (if not NULL); gives their
 * number. */
static uint64_t fp_ref_row(uint64_t seed, uint32_t proj, double p, uint32_t i, uint32_t n_post,
                           bool no_self, uint32_t *out)
{
    uint64_t n = 0;
    if (!(p > 0.0))
        return 0;
    if (p >= 1.0 - 0x1p-33) {
        for (uint32_t j = 0; j < n_post; j++)
            if (!(no_self && j == i)) {
                if (out)
                    out[n] = j;
                n++;
            }
        return n;
    }
    double q = 1.0 - p;
    if (q == 1.0)
        return 0;
    double L = snn_det_log(q);
    uint64_t c = 0, k = 0;
    while (c < n_post) {
        struct snn_philox_out v =
            snn_philox4x32((uint32_t)(k >> 1), i, proj, SNN_RNG_CONNECT | 1u << 8, seed);
        unsigned h = (unsigned)(k & 1) * 2;
        k++;
        double g = snn_det_log(1.0 - snn_u01(v.v[h], v.v[h + 1])) / L;
        if (g >= (double)(n_post - c))
            break;
        uint64_t j = c + (uint64_t)g;
        if (!(no_self && j == i)) {
            if (out)
                out[n] = (uint32_t)j;
            n++;
        }
        c = j + 1;
    }
    return n;
}

/* The expansion (with its shortcuts) gives exactly the rule written out,
 * for every kind of p: none, tiny (huge gaps), sparse, dense, all. */
static void test_fixed_probability_rule(void **state)
{
    (void)state;
    const double ps[] = {0.0,   -0.5,      NAN,    1e-300,           0x1p-55,         0x1p-53,
                         1e-15, 1e-9,      1e-4,   0.05,             0.5,             0.999,
                         0.9999999, 1.0 - 0x1p-34, 1.0 - 0x1p-33, 1.0, 2.0};
    static uint32_t row[301];
    for (size_t q = 0; q < sizeof ps / sizeof ps[0]; q++) {
        /* Square, self pairs excluded. */
        struct snn_net *net = make_net(0xABCDEF0123456789u, 301, 301, true);
        struct snn_proj *p = proj0(net);
        p->conn.kind = SNN_CONN_FIXED_PROBABILITY;
        p->conn.p = ps[q];
        p->conn.allow_self = false;
        struct snn_synapses s;
        expand_full(net, &s);
        uint64_t e = 0;
        for (uint32_t i = 0; i < 301; i++) {
            uint64_t n = fp_ref_row(net->seed, 0, ps[q], i, 301, true, row);
            for (uint64_t r = 0; r < n; r++, e++) {
                assert_true(e < s.n);
                assert_int_equal(s.pre[e], i);
                assert_int_equal(s.post[e], row[r]);
            }
        }
        assert_int_equal(e, s.n);
        if (ps[q] >= 1.0 - 0x1p-33)
            assert_int_equal(s.n, 301 * 300);
        if (!(ps[q] > 0x1p-54))
            assert_int_equal(s.n, 0);
        if (ps[q] > 0.01 && ps[q] < 0.9)
            assert_true(s.n > 0 && s.n < 301 * 300);
        snn_synapses_free(&s);
        snn_net_free(net);
    }
}

/* fixed_number_post / _pre against selection sampling written out. */
static void test_fixed_number_rule(void **state)
{
    (void)state;
    for (int pre_side = 0; pre_side < 2; pre_side++) {
        struct snn_net *net = make_net(0x5EED, 45, 45, true);
        struct snn_proj *p = proj0(net);
        p->conn.kind = pre_side ? SNN_CONN_FIXED_NUMBER_PRE : SNN_CONN_FIXED_NUMBER_POST;
        p->conn.n = 6;
        p->conn.allow_self = false;
        struct snn_synapses s;
        expand_full(net, &s);
        assert_int_equal(s.n, 45 * 6);
        /* Mark the expected pairs: row a (pre for _post, post for _pre)
         * scans candidates b ascending, skipping b == a. */
        static bool want[45][45];
        memset(want, 0, sizeof want);
        for (uint32_t a = 0; a < 45; a++) {
            uint64_t m = 44, kc = 0, r = 6;
            for (uint32_t b = 0; b < 45 && r > 0; b++) {
                if (a == b)
                    continue;
                uint32_t u = snn_philox4x32(b >> 2, a, 0, SNN_RNG_CONNECT, net->seed).v[b & 3];
                if ((uint64_t)u * (m - kc) < r << 32) {
                    r--;
                    if (pre_side)
                        want[b][a] = true; /* pre b of post a */
                    else
                        want[a][b] = true;
                }
                kc++;
            }
            assert_int_equal(r, 0);
        }
        uint64_t e = 0;
        for (uint32_t i = 0; i < 45; i++)
            for (uint32_t j = 0; j < 45; j++)
                if (want[i][j]) {
                    assert_true(e < s.n);
                    assert_int_equal(s.pre[e], i);
                    assert_int_equal(s.post[e], j);
                    e++;
                }
        assert_int_equal(e, s.n);
        snn_synapses_free(&s);
        snn_net_free(net);
    }
}

/* The counters of the gaps, pinned: row 0 of a 1 x 1000 projection at
 * p = 0.01 has its first posts at the gaps of (0, 0, proj, CONNECT | 256)
 * v[0..1] and v[2..3], then of (1, 0, proj, ...) v[0..1]; the projection
 * index is c2 and a post slice stops the scan at its end. */
static void test_fixed_probability_gaps(void **state)
{
    (void)state;
    struct snn_net *net = make_net(31, 1, 1000, false);
    assert_non_null(snn_net_add_proj(net, 0, 1));
    struct snn_proj *p = &net->projs[1];
    p->conn.kind = SNN_CONN_FIXED_PROBABILITY;
    p->conn.p = 0.01;
    double L = snn_det_log(1.0 - 0.01);
    uint64_t want[3], c = 0;
    for (uint32_t k = 0; k < 3; k++) {
        struct snn_philox_out o = snn_philox4x32(k >> 1, 0, 1, 257, 31);
        double g = snn_det_log(1.0 - snn_u01(o.v[2 * (k & 1)], o.v[2 * (k & 1) + 1])) / L;
        assert_true(g < 1000.0 - (double)c); /* holds for this seed */
        want[k] = c + (uint64_t)g;
        c = want[k] + 1;
    }
    struct snn_synapses s = {0};
    assert_int_equal(snn_expand(net, 1, 0, 1, 0, UINT32_MAX, &s, NULL), 0);
    assert_true(s.n >= 3);
    for (int k = 0; k < 3; k++)
        assert_int_equal(s.post[k], want[k]);
    /* The slice [want[1], want[2] + 1) holds exactly want[1] and want[2]. */
    s.n = 0;
    assert_int_equal(
        snn_expand(net, 1, 0, 1, (uint32_t)want[1], (uint32_t)want[2] + 1, &s, NULL), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.post[0], want[1]);
    assert_int_equal(s.post[1], want[2]);
    snn_synapses_free(&s);
    snn_net_free(net);
}

/* The connection probability: the number of synapses, their spread over
 * the posts, adjacent pairs (gaps of 0), and the post after a dropped
 * self pair. */
static void test_fixed_probability_count(void **state)
{
    (void)state;
    struct snn_net *net = make_net(7, 1000, 1000, true);
    struct snn_proj *p = proj0(net);
    p->conn.kind = SNN_CONN_FIXED_PROBABILITY;
    p->conn.p = 0.1;
    p->conn.allow_self = false;
    struct snn_synapses s;
    expand_full(net, &s);
    double pairs = 1000.0 * 999.0;
    double mean = pairs * 0.1, sd = sqrt(pairs * 0.1 * 0.9);
    assert_true(fabs((double)s.n - mean) < 5 * sd);
    assert_sorted(&s, false);
    static uint32_t col[1000];
    memset(col, 0, sizeof col);
    uint64_t adjacent = 0, after_self = 0;
    for (uint64_t e = 0; e < s.n; e++) {
        assert_true(s.pre[e] != s.post[e]);
        col[s.post[e]]++;
        adjacent += e > 0 && s.pre[e - 1] == s.pre[e] && s.post[e - 1] + 1 == s.post[e];
        after_self += s.post[e] == s.pre[e] + 1;
    }
    /* Columns: chi-square with 1000 degrees of freedom (mean 1000, sd 45). */
    double chi2 = 0;
    for (int j = 0; j < 1000; j++) {
        double m = 999.0 * 0.1; /* each column has 999 candidate pres */
        chi2 += (col[j] - m) * (col[j] - m) / (m * 0.9);
    }
    assert_true(fabs(chi2 - 1000.0) < 6 * sqrt(2000.0));
    /* Adjacent connected posts (pairs (j, j + 1), j + 1 != i, j != i). */
    double adj_mean = 1000.0 * 997.0 * 0.01;
    assert_true(fabs((double)adjacent - adj_mean) < 6 * sqrt(adj_mean));
    /* Post i + 1 of row i is still connected with probability p. */
    assert_true(fabs((double)after_self - 99.9) < 5 * sqrt(999 * 0.1 * 0.9));
    snn_synapses_free(&s);
    snn_net_free(net);
}

/* The mapper's case: 4096 x 4096 at p = 0.0001.  The number of synapses
 * is within 5 sigma of p N^2; slices of 256 (and unaligned ones) expand
 * to exactly the whole, and snn_expand_count agrees slice by slice. */
static void test_fixed_probability_sparse(void **state)
{
    (void)state;
    struct snn_net *net = make_net(2024, 4096, 4096, false);
    struct snn_proj *p = proj0(net);
    p->conn.kind = SNN_CONN_FIXED_PROBABILITY;
    p->conn.p = 0.0001;
    set_uniform(&p->weight, 0.0, 1.0);
    set_uniform(&p->delay, 0.1, 3.0);
    struct snn_synapses s;
    expand_full(net, &s);
    double mean = 4096.0 * 4096.0 * 0.0001, sd = sqrt(mean * 0.9999);
    assert_true(fabs((double)s.n - mean) < 5 * sd);
    uint64_t e = 0;
    static uint32_t row[4096];
    for (uint32_t i = 0; i < 4096; i++) {
        uint64_t n = fp_ref_row(2024, 0, 0.0001, i, 4096, false, row);
        for (uint64_t r = 0; r < n; r++, e++) {
            assert_int_equal(s.pre[e], i);
            assert_int_equal(s.post[e], row[r]);
        }
    }
    assert_int_equal(e, s.n);
    static const uint32_t pc[] = {0, 256, 512, 1000, 1001, 3840, 4096, UINT32_MAX};
    static const uint32_t qc[] = {0, 256, 300, 2048, 2304, 4095, 4096};
    check_slices(net, pc, 8, qc, 7);
    uint32_t b[17];
    for (uint32_t k = 0; k <= 16; k++)
        b[k] = 256 * k;
    static uint32_t counts[256 * 16];
    uint64_t total = 0, ei = 0;
    for (uint32_t a = 0; a < 16; a++) {
        memset(counts, 0, sizeof counts);
        assert_int_equal(snn_expand_count(net, 0, 256 * a, 256 * a + 256, b, 16, counts, NULL), 0);
        for (uint32_t i = 256 * a; i < 256 * a + 256; i++)
            for (uint32_t k = 0; k < 16; k++) {
                uint32_t n = 0;
                for (; ei < s.n && s.pre[ei] == i && s.post[ei] < b[k + 1]; ei++)
                    n++;
                assert_int_equal(counts[(i - 256 * a) * 16 + k], n);
                total += n;
            }
    }
    assert_int_equal(total, s.n);
    snn_synapses_free(&s);
    snn_net_free(net);
}

static void test_fixed_number_post(void **state)
{
    (void)state;
    /* 2000 pres pick 5 of 50 posts each, self excluded: exact counts,
     * distinct, never i -> i, and every post picked about equally. */
    struct snn_net *net = make_net(5, 50, 50, true);
    struct snn_proj *p = proj0(net);
    p->conn.kind = SNN_CONN_FIXED_NUMBER_POST;
    p->conn.n = 5;
    p->conn.allow_self = false;
    struct snn_synapses s;
    expand_full(net, &s);
    assert_int_equal(s.n, 50 * 5);
    assert_sorted(&s, false);
    for (uint64_t e = 0; e < s.n; e++) {
        assert_int_equal(s.pre[e], e / 5);
        assert_true(s.pre[e] != s.post[e]);
    }
    snn_synapses_free(&s);
    snn_net_free(net);

    net = make_net(6, 2000, 50, false);
    p = proj0(net);
    p->conn.kind = SNN_CONN_FIXED_NUMBER_POST;
    p->conn.n = 5;
    expand_full(net, &s);
    assert_int_equal(s.n, 2000 * 5);
    uint32_t cnt[50] = {0};
    for (uint64_t e = 0; e < s.n; e++)
        cnt[s.post[e]]++;
    double sd = sqrt(2000 * 0.1 * 0.9);
    for (int j = 0; j < 50; j++)
        assert_true(fabs(cnt[j] - 200.0) < 5 * sd);
    snn_synapses_free(&s);

    /* n equal to the candidates: all of them. */
    p->conn.n = 50;
    expand_full(net, &s);
    assert_int_equal(s.n, 2000 * 50);
    snn_synapses_free(&s);
    snn_net_free(net);
}

static void test_fixed_number_pre(void **state)
{
    (void)state;
    struct snn_net *net = make_net(8, 60, 60, true);
    struct snn_proj *p = proj0(net);
    p->conn.kind = SNN_CONN_FIXED_NUMBER_PRE;
    p->conn.n = 7;
    p->conn.allow_self = false;
    struct snn_synapses s;
    expand_full(net, &s);
    assert_int_equal(s.n, 60 * 7);
    assert_sorted(&s, false);
    uint32_t cnt[60] = {0};
    for (uint64_t e = 0; e < s.n; e++) {
        cnt[s.post[e]]++;
        assert_true(s.pre[e] != s.post[e]);
    }
    for (int j = 0; j < 60; j++)
        assert_int_equal(cnt[j], 7);
    snn_synapses_free(&s);
    snn_net_free(net);
}

static void test_all_to_all_one_to_one_matrix(void **state)
{
    (void)state;
    struct snn_net *net = make_net(1, 20, 20, true);
    struct snn_proj *p = proj0(net);
    p->conn.allow_self = false;
    p->weight.c = 0.5;
    p->delay.c = 1.0;
    struct snn_synapses s;
    expand_full(net, &s);
    assert_int_equal(s.n, 20 * 19);
    assert_sorted(&s, false);
    for (uint64_t e = 0; e < s.n; e++) {
        assert_true(s.pre[e] != s.post[e]);
        assert_true(s.weight[e] == 0.5);
        assert_int_equal(s.delay_steps[e], 10);
    }
    snn_synapses_free(&s);

    p->conn.kind = SNN_CONN_ONE_TO_ONE;
    expand_full(net, &s);
    assert_int_equal(s.n, 20); /* allow_self does not apply */
    for (uint64_t e = 0; e < s.n; e++)
        assert_true(s.pre[e] == e && s.post[e] == e);
    snn_synapses_free(&s);
    snn_net_free(net);

    net = make_net(1, 2, 3, false);
    p = proj0(net);
    static const double m[6] = {0, 1.5, 0, -2, 0, 3};
    p->conn.kind = SNN_CONN_MATRIX;
    p->conn.matrix = m;
    p->weight.c = 99; /* unused: the matrix gives the weights */
    expand_full(net, &s);
    assert_int_equal(s.n, 3);
    assert_true(s.pre[0] == 0 && s.post[0] == 1 && s.weight[0] == 1.5);
    assert_true(s.pre[1] == 1 && s.post[1] == 0 && s.weight[1] == -2);
    assert_true(s.pre[2] == 1 && s.post[2] == 2 && s.weight[2] == 3);
    snn_synapses_free(&s);
    snn_net_free(net);
}

static void test_from_list(void **state)
{
    (void)state;
    struct snn_net *net = make_net(1, 4, 4, false);
    struct snn_proj *p = proj0(net);
    static const uint32_t lp[] = {3, 0, 2, 0, 3};
    static const uint32_t lq[] = {1, 2, 2, 2, 0};
    static const double lw[] = {1, 2, 3, 4, 5};
    p->conn.kind = SNN_CONN_FROM_LIST;
    p->conn.n = 5;
    p->conn.list_pre = lp;
    p->conn.list_post = lq;
    p->conn.list_w = lw;
    p->delay.c = 0.3;
    struct snn_synapses s;
    expand_full(net, &s);
    assert_int_equal(s.n, 5);
    /* Sorted stably: the duplicate (0, 2) keeps entry order (w 2 then 4). */
    const uint32_t wp[] = {0, 0, 2, 3, 3}, wq[] = {2, 2, 2, 0, 1};
    const double ww[] = {2, 4, 3, 5, 1};
    for (int e = 0; e < 5; e++) {
        assert_int_equal(s.pre[e], wp[e]);
        assert_int_equal(s.post[e], wq[e]);
        assert_true(s.weight[e] == ww[e]);
        assert_int_equal(s.delay_steps[e], 3);
    }
    snn_synapses_free(&s);

    /* Distribution weights: repeated pairs get distinct draws. */
    p->conn.list_w = NULL;
    set_uniform(&p->weight, 0.0, 1.0);
    expand_full(net, &s);
    assert_true(s.weight[0] != s.weight[1]);
    snn_synapses_free(&s);
    snn_net_free(net);
}

/* LIST weights follow the natural order of the connector. */
static void test_list_weights(void **state)
{
    (void)state;
    static double w[100 * 100];
    for (int e = 0; e < 100 * 100; e++)
        w[e] = e;
    /* all_to_all, self excluded: row-major, skipped pairs not counted. */
    struct snn_net *net = make_net(3, 10, 10, true);
    struct snn_proj *p = proj0(net);
    p->conn.allow_self = false;
    p->weight.kind = SNN_VAL_LIST;
    p->weight.list = w;
    p->weight.n = 90;
    struct snn_synapses s;
    expand_full(net, &s);
    assert_int_equal(s.n, 90);
    for (uint64_t e = 0; e < s.n; e++)
        assert_true(s.weight[e] == (double)e);
    snn_synapses_free(&s);
    /* one_to_one: i. */
    p->conn.kind = SNN_CONN_ONE_TO_ONE;
    p->weight.n = 10;
    expand_full(net, &s);
    for (uint64_t e = 0; e < s.n; e++)
        assert_true(s.weight[e] == (double)e);
    snn_synapses_free(&s);
    /* fixed_number_post and fixed_probability: (pre, post) order. */
    p->conn.kind = SNN_CONN_FIXED_NUMBER_POST;
    p->conn.n = 3;
    p->weight.n = 30;
    expand_full(net, &s);
    for (uint64_t e = 0; e < s.n; e++)
        assert_true(s.weight[e] == (double)e);
    snn_synapses_free(&s);
    p->conn.kind = SNN_CONN_FIXED_PROBABILITY;
    p->conn.p = 0.5;
    p->weight.kind = SNN_VAL_CONST;
    expand_full(net, &s);
    p->weight.kind = SNN_VAL_LIST;
    p->weight.n = (uint32_t)s.n;
    snn_synapses_free(&s);
    expand_full(net, &s);
    for (uint64_t e = 0; e < s.n; e++)
        assert_true(s.weight[e] == (double)e);
    snn_synapses_free(&s);
    /* fixed_number_pre: by post, then pre. */
    p->conn.kind = SNN_CONN_FIXED_NUMBER_PRE;
    p->conn.n = 2;
    p->weight.n = 20;
    expand_full(net, &s);
    assert_int_equal(s.n, 20);
    for (uint64_t e = 0; e < s.n; e++) {
        /* The other pre of the same post: before it in the natural order
         * iff its index is smaller. */
        uint64_t other = s.n;
        for (uint64_t f = 0; f < s.n; f++)
            if (f != e && s.post[f] == s.post[e])
                other = f;
        assert_true(other < s.n);
        double k = 2.0 * s.post[e] + (s.pre[other] < s.pre[e]);
        assert_true(s.weight[e] == k);
    }
    snn_synapses_free(&s);
    /* Slices of list-weighted projections still reassemble. */
    p->conn.kind = SNN_CONN_FIXED_PROBABILITY;
    p->weight.kind = SNN_VAL_CONST;
    expand_full(net, &s);
    p->weight.kind = SNN_VAL_LIST;
    p->weight.n = (uint32_t)s.n;
    snn_synapses_free(&s);
    static const uint32_t c[] = {0, 3, 4, 9, 10};
    check_slices(net, c, 5, c, 5);
    snn_net_free(net);
}

static void test_weight_statistics(void **state)
{
    (void)state;
    struct snn_net *net = make_net(21, 300, 300, false);
    struct snn_proj *p = proj0(net);
    set_uniform(&p->weight, -1.0, 3.0);
    set_normal(&p->delay, 1.0, 0.0);
    struct snn_synapses s;
    expand_full(net, &s);
    double n = (double)s.n, sum = 0, sq = 0;
    for (uint64_t e = 0; e < s.n; e++) {
        assert_true(s.weight[e] >= -1.0 && s.weight[e] <= 3.0);
        assert_int_equal(s.delay_steps[e], 10); /* sd 0: the mean */
        sum += s.weight[e];
    }
    double mean = sum / n;
    for (uint64_t e = 0; e < s.n; e++)
        sq += (s.weight[e] - mean) * (s.weight[e] - mean);
    double sd = sqrt(sq / (n - 1)), want_sd = 4.0 / sqrt(12.0);
    assert_true(fabs(mean - 1.0) < 5 * want_sd / sqrt(n));
    assert_true(fabs(sd - want_sd) < 0.01 * want_sd);
    snn_synapses_free(&s);

    set_normal(&p->weight, 2.0, 0.5);
    expand_full(net, &s);
    sum = sq = 0;
    double m3 = 0, m4 = 0;
    for (uint64_t e = 0; e < s.n; e++)
        sum += s.weight[e];
    mean = sum / n;
    for (uint64_t e = 0; e < s.n; e++) {
        double d = (s.weight[e] - mean) / 0.5;
        sq += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
    }
    assert_true(fabs(mean - 2.0) < 5 * 0.5 / sqrt(n));
    assert_true(fabs(sqrt(sq / n) - 1.0) < 0.01);
    assert_true(fabs(m3 / n) < 0.05);       /* symmetric */
    assert_true(fabs(m4 / n - 3.0) < 0.1);  /* normal kurtosis */
    snn_synapses_free(&s);

    /* Bounds: redraw stays inside, clip piles up on the bounds. */
    set_bounds(&p->weight, 1.5, 2.5, SNN_BOUND_REDRAW);
    expand_full(net, &s);
    uint64_t at_bound = 0;
    for (uint64_t e = 0; e < s.n; e++) {
        assert_true(s.weight[e] >= 1.5 && s.weight[e] <= 2.5);
        at_bound += s.weight[e] == 1.5 || s.weight[e] == 2.5;
    }
    assert_true(at_bound < 10);
    snn_synapses_free(&s);
    p->weight.bound_mode = SNN_BOUND_CLIP;
    expand_full(net, &s);
    at_bound = 0;
    for (uint64_t e = 0; e < s.n; e++) {
        assert_true(s.weight[e] >= 1.5 && s.weight[e] <= 2.5);
        at_bound += s.weight[e] == 1.5 || s.weight[e] == 2.5;
    }
    /* P(|z| > 1) = 0.3173 */
    assert_true(fabs(at_bound / n - 0.3173) < 0.01);
    snn_synapses_free(&s);
    /* Bounds that cannot be met: 1024 attempts, then the bound. */
    set_bounds(&p->weight, 100.0, 101.0, SNN_BOUND_REDRAW);
    assert_int_equal(snn_expand(net, 0, 0, 2, 0, 2, &s, NULL), 0);
    for (uint64_t e = 0; e < s.n; e++)
        assert_true(s.weight[e] == 100.0);
    snn_synapses_free(&s);
    snn_net_free(net);
}

/* A NORMAL value of synapse (pre, post) by the rule of docs/connectivity.md,
 * written out: Box-Muller on the draw (post, pre, proj, stream | attempt
 * << 8), redrawn or clamped at the bounds. */
static double normal_by_rule(const struct snn_value *v, uint64_t seed, uint32_t proj,
                             uint32_t stream, uint32_t pre, uint32_t post)
{
    double w = v->a;
    for (uint32_t attempt = 0; attempt < 1024; attempt++) {
        struct snn_philox_out o = snn_philox4x32(post, pre, proj, stream | attempt << 8, seed);
        double z = sqrt(-2 * snn_det_log(1 - snn_u01(o.v[0], o.v[1]))) *
                   snn_det_cos2pi(snn_u01(o.v[2], o.v[3]));
        w = v->a + v->b * z;
        if (!v->bounded || (w >= v->lo && w <= v->hi))
            return w;
        if (v->bound_mode == SNN_BOUND_CLIP)
            break;
    }
    return w < v->lo ? v->lo : w > v->hi ? v->hi : w;
}

/* Normal weights and delays of every connector that draws them by
 * (pre, post), over whole projections and slices, against the rule: the
 * expansion takes their logarithms in batches, which must change no bit.
 * Tight bounds make redraws common; a matrix keeps its own weights. */
static void test_normal_values_by_rule(void **state)
{
    (void)state;
    static double mat[23 * 37];
    for (size_t e = 0; e < sizeof mat / sizeof mat[0]; e++)
        mat[e] = e % 3 ? 0.0 : 0.25 * (double)(e % 7) + 0.5;
    const enum snn_conn_kind kinds[] = {SNN_CONN_ALL_TO_ALL, SNN_CONN_ONE_TO_ONE,
                                        SNN_CONN_FIXED_PROBABILITY, SNN_CONN_FIXED_NUMBER_POST,
                                        SNN_CONN_FIXED_NUMBER_PRE, SNN_CONN_MATRIX};
    for (size_t c = 0; c < sizeof kinds / sizeof kinds[0]; c++)
        for (int mode = 0; mode < 3; mode++) {
            struct snn_net *net = make_net(77 + (uint64_t)mode, 23, 37, c == 1);
            struct snn_proj *p = proj0(net);
            p->conn.kind = kinds[c];
            p->conn.p = 0.6;
            p->conn.n = 9;
            p->conn.matrix = mat;
            set_normal(&p->weight, 1.0, 0.5);
            set_normal(&p->delay, 1.0, 0.4);
            if (mode)
                set_bounds(&p->weight, 0.8, 1.3,
                           mode == 1 ? SNN_BOUND_REDRAW : SNN_BOUND_CLIP);
            if (mode == 1)
                set_bounds(&p->delay, 0.5, 1.2, SNN_BOUND_REDRAW);
            struct snn_synapses s;
            expand_full(net, &s);
            assert_true(s.n > (c == 1 ? 20u : 64u)); /* more than a batch, and a tail */
            for (uint64_t e = 0; e < s.n; e++) {
                double w = kinds[c] == SNN_CONN_MATRIX
                               ? mat[(size_t)s.pre[e] * 37 + s.post[e]]
                               : normal_by_rule(&p->weight, net->seed, 0, SNN_RNG_WEIGHT,
                                                s.pre[e], s.post[e]);
                uint32_t d = snn_delay_steps(
                    normal_by_rule(&p->delay, net->seed, 0, SNN_RNG_DELAY, s.pre[e], s.post[e]),
                    0.1);
                if (s.weight[e] != w || s.delay_steps[e] != d)
                    fail_msg("connector %d mode %d, synapse (%u, %u): %a, %u; the rule: %a, %u",
                             (int)kinds[c], mode, s.pre[e], s.post[e], s.weight[e],
                             s.delay_steps[e], w, d);
            }
            /* a slice has the same values */
            struct snn_synapses t = {0};
            assert_int_equal(snn_expand(net, 0, 5, 17, 3, 30, &t, NULL), 0);
            for (uint64_t e = 0, f = 0; e < t.n; e++) {
                while (f < s.n && (s.pre[f] != t.pre[e] || s.post[f] != t.post[e]))
                    f++;
                assert_true(f < s.n);
                assert_true(s.weight[f] == t.weight[e] && s.delay_steps[f] == t.delay_steps[e]);
            }
            snn_synapses_free(&t);
            snn_synapses_free(&s);
            snn_net_free(net);
        }
}

static void test_determinism_and_seed(void **state)
{
    (void)state;
    for (int kind = 0; kind < SNN_CONN_COUNT; kind++) {
        if (kind == SNN_CONN_FROM_LIST || kind == SNN_CONN_MATRIX || kind == SNN_CONN_ALL_TO_ALL ||
            kind == SNN_CONN_ONE_TO_ONE)
            continue; /* these choose nothing; their weights are checked below */
        struct snn_net *net = make_net(1, 50, 60, false);
        struct snn_proj *p = proj0(net);
        p->conn.kind = (enum snn_conn_kind)kind;
        p->conn.p = 0.3;
        p->conn.n = 4;
        struct snn_synapses a, b, c;
        expand_full(net, &a);
        expand_full(net, &b);
        assert_same(&a, &b);
        net->seed = 2;
        expand_full(net, &c);
        assert_true(differ(&a, &c));
        /* The projection index is in the counter too. */
        assert_non_null(snn_net_add_proj(net, 0, 1));
        net->projs[1] = net->projs[0];
        struct snn_synapses d = {0};
        assert_int_equal(snn_expand(net, 1, 0, UINT32_MAX, 0, UINT32_MAX, &d, NULL), 0);
        assert_true(differ(&c, &d));
        snn_synapses_free(&a);
        snn_synapses_free(&b);
        snn_synapses_free(&c);
        snn_synapses_free(&d);
        snn_net_free(net);
    }
    struct snn_net *net = make_net(1, 10, 10, false);
    set_uniform(&proj0(net)->weight, 0, 1);
    struct snn_synapses a, c;
    expand_full(net, &a);
    net->seed = (uint64_t)1 << 40; /* the high word of the key matters too */
    expand_full(net, &c);
    assert_true(differ(&a, &c));
    snn_synapses_free(&a);
    snn_synapses_free(&c);
    snn_net_free(net);
}

/* Golden: a 3 x 5 fixed_probability with uniform weights and normal
 * delays, seed 42.  The synapses and weights are those the Python
 * reference in docs/connectivity.md prints (written from the document
 * alone); the delays were computed once with this implementation. */
static void test_golden_tiny(void **state)
{
    (void)state;
    struct snn_net *net = make_net(42, 3, 5, false);
    struct snn_proj *p = proj0(net);
    p->conn.kind = SNN_CONN_FIXED_PROBABILITY;
    p->conn.p = 0.5;
    set_uniform(&p->weight, 0.0, 1.0);
    set_normal(&p->delay, 1.0, 0.3);
    struct snn_synapses s;
    expand_full(net, &s);
    if (getenv("SNN_PRINT_GOLDEN")) {
        for (uint64_t e = 0; e < s.n; e++)
            printf("        {%u, %u, %a, %u},\n", s.pre[e], s.post[e], s.weight[e],
                   s.delay_steps[e]);
        snn_synapses_free(&s);
        snn_net_free(net);
        return;
    }
    static const struct {
        uint32_t pre, post;
        double w;
        uint32_t d;
    } want[] = {
        {0, 0, 0x1.4f03e9c8bfd6ep-2, 8},
        {0, 2, 0x1.88f78e493b21dp-1, 12},
        {0, 3, 0x1.9a4722bdd308p-3, 4},
        {0, 4, 0x1.d6105d7113cbep-2, 8},
        {2, 0, 0x1.19949338f0636p-2, 14},
        {2, 1, 0x1.ab76dc045aa94p-1, 8},
    };
    assert_int_equal(s.n, sizeof want / sizeof want[0]);
    for (uint64_t e = 0; e < s.n; e++) {
        assert_int_equal(s.pre[e], want[e].pre);
        assert_int_equal(s.post[e], want[e].post);
        assert_true(s.weight[e] == want[e].w);
        assert_int_equal(s.delay_steps[e], want[e].d);
    }
    snn_synapses_free(&s);
    snn_net_free(net);
}

/* ---- errors ---------------------------------------------------------------- */

static char diag_buf[4096];

static struct snn_diag *mem_diag(FILE **f)
{
    memset(diag_buf, 0, sizeof diag_buf);
    *f = fmemopen(diag_buf, sizeof diag_buf - 1, "w");
    assert_non_null(*f);
    struct snn_diag *d = snn_diag_new(*f);
    assert_non_null(d);
    return d;
}

static void test_errors(void **state)
{
    (void)state;
    static const double w[8] = {0};
    struct snn_net *net = make_net(1, 3, 3, false);
    struct snn_proj *p = proj0(net);
    p->name = "e2e";
    p->weight.kind = SNN_VAL_LIST;
    p->weight.list = w;
    p->weight.n = 8; /* 9 synapses */
    p->weight.loc = (struct snn_loc){"net.yaml", 4, 7, 1};
    FILE *f;
    struct snn_diag *d = mem_diag(&f);
    struct snn_synapses s = {0};
    assert_int_equal(snn_expand(net, 0, 0, UINT32_MAX, 0, UINT32_MAX, &s, d), SNN_ESEMA);
    assert_int_equal(s.n, 0);
    assert_int_equal(snn_diag_errors(d), 1);
    fflush(f);
    assert_non_null(strstr(diag_buf, "net.yaml:4:7"));
    assert_non_null(strstr(diag_buf, "8 weights listed"));
    assert_non_null(strstr(diag_buf, "9 synapses"));
    /* The same for delays, and a slice checks the whole projection. */
    p->weight.kind = SNN_VAL_CONST;
    p->delay.kind = SNN_VAL_LIST;
    p->delay.list = w;
    p->delay.n = 8;
    assert_int_equal(snn_expand(net, 0, 0, 1, 0, 1, &s, d), SNN_ESEMA);
    p->delay.kind = SNN_VAL_CONST;
    /* More than the candidates. */
    p->conn.kind = SNN_CONN_FIXED_NUMBER_POST;
    p->conn.n = 4;
    assert_int_equal(snn_expand(net, 0, 0, UINT32_MAX, 0, UINT32_MAX, &s, d), SNN_ESEMA);
    p->conn.kind = SNN_CONN_FIXED_NUMBER_PRE;
    assert_int_equal(snn_expand(net, 0, 0, UINT32_MAX, 0, UINT32_MAX, &s, d), SNN_ESEMA);
    /* A list entry outside the populations. */
    static const uint32_t lp[] = {0, 3}, lq[] = {0, 0};
    p->conn.kind = SNN_CONN_FROM_LIST;
    p->conn.n = 2;
    p->conn.list_pre = lp;
    p->conn.list_post = lq;
    assert_int_equal(snn_expand(net, 0, 0, UINT32_MAX, 0, UINT32_MAX, &s, d), SNN_ESEMA);
    assert_int_equal(snn_diag_errors(d), 5);
    assert_int_equal(s.n, 0);
    snn_diag_free(d);
    fclose(f);
    snn_net_free(net);
}

/* Every allocation of every connector fails in turn: SNN_ENOMEM, out as it
 * was (old synapses intact), nothing leaked; then the expansion succeeds
 * and matches a run without failures. */
static void test_alloc_failure(void **state)
{
    (void)state;
    for (int kind = 0; kind < SNN_CONN_COUNT; kind++) {
        struct snn_net *net = make_net(4, 40, 70, false);
        struct snn_proj *p = proj0(net);
        static uint32_t lp[300], lq[300];
        static double mat[40 * 70];
        for (int e = 0; e < 300; e++) {
            lp[e] = (uint32_t)(299 - e) % 40;
            lq[e] = (uint32_t)e % 70;
        }
        for (int e = 0; e < 40 * 70; e++)
            mat[e] = e % 3 ? 1.0 : 0.0;
        p->conn.kind = (enum snn_conn_kind)kind;
        p->conn.p = 0.3;
        p->conn.n = kind == SNN_CONN_FROM_LIST ? 300 : 5;
        p->conn.list_pre = lp;
        p->conn.list_post = lq;
        p->conn.matrix = mat;
        random_values(p);
        struct snn_synapses ref = {0};
        assert_int_equal(snn_expand(net, 0, 0, 1, 0, UINT32_MAX, &ref, NULL), 0);
        uint64_t base = ref.n;
        assert_int_equal(snn_expand(net, 0, 1, UINT32_MAX, 0, UINT32_MAX, &ref, NULL), 0);
        int failures = 0;
        for (long k = 0;; k++) {
            struct snn_synapses s = {0};
            assert_int_equal(snn_expand(net, 0, 0, 1, 0, UINT32_MAX, &s, NULL), 0);
            FILE *f;
            struct snn_diag *d = mem_diag(&f);
            snn_alloc_fail_after(k);
            int rc = snn_expand(net, 0, 1, UINT32_MAX, 0, UINT32_MAX, &s, d);
            snn_alloc_fail_after(-1);
            if (rc == 0) {
                assert_same(&s, &ref);
                snn_synapses_free(&s);
                snn_diag_free(d);
                fclose(f);
                break;
            }
            failures++;
            assert_int_equal(rc, SNN_ENOMEM);
            assert_int_equal(s.n, base);
            assert_int_equal(snn_diag_errors(d), 1);
            /* Still usable: finishing the expansion now works. */
            assert_int_equal(snn_expand(net, 0, 1, UINT32_MAX, 0, UINT32_MAX, &s, NULL), 0);
            assert_same(&s, &ref);
            snn_synapses_free(&s);
            snn_diag_free(d);
            fclose(f);
        }
        assert_true(failures > 0);
        snn_synapses_free(&ref);
        snn_net_free(net);
    }
}

/* ---- counting ------------------------------------------------------------------ */

static uint64_t lcg_state;

static uint32_t rnd(uint32_t n) /* 0 .. n - 1 */
{
    lcg_state = lcg_state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)((lcg_state >> 33) % n);
}

/* snn_expand_count() against snn_expand() over random networks of every
 * connector, random pre ranges and random post bounds (repeated bounds,
 * gaps before the first and after the last, bounds past N_post). */
static void test_count_matches_expand(void **state)
{
    (void)state;
    lcg_state = 12345;
    static uint32_t lp[400], lq[400];
    static double mat[120 * 120];
    static uint32_t counts[130 * 8];
    for (int round = 0; round < 350; round++) {
        int kind = round % SNN_CONN_COUNT;
        bool same = rnd(2);
        uint32_t n_pre = 1 + rnd(120), n_post = same ? n_pre : 1 + rnd(120);
        struct snn_net *net = make_net(1000 + (uint64_t)round, n_pre, n_post, same);
        struct snn_proj *p = proj0(net);
        p->conn.kind = (enum snn_conn_kind)kind;
        p->conn.allow_self = rnd(2);
        static const double ps[] = {0.0, 0.001, 0.05, 0.3, 0.9, 1.0};
        p->conn.p = ps[rnd(6)];
        if (kind == SNN_CONN_FIXED_NUMBER_POST)
            p->conn.n = rnd(n_post - (same && !p->conn.allow_self) + 1);
        if (kind == SNN_CONN_FIXED_NUMBER_PRE)
            p->conn.n = rnd(n_pre - (same && !p->conn.allow_self) + 1);
        if (kind == SNN_CONN_FROM_LIST) {
            p->conn.n = rnd(400);
            for (uint32_t e = 0; e < p->conn.n; e++) {
                lp[e] = rnd(n_pre);
                lq[e] = e && rnd(4) == 0 ? lq[e - 1] : rnd(n_post); /* repeats */
            }
            p->conn.list_pre = lp;
            p->conn.list_post = lq;
        }
        if (kind == SNN_CONN_MATRIX) {
            for (uint32_t e = 0; e < n_pre * n_post; e++)
                mat[e] = rnd(3) == 0 ? 1.0 + e : 0.0;
            p->conn.matrix = mat;
        }
        uint32_t ns = 1 + rnd(7), b[9];
        for (uint32_t k = 0; k <= ns; k++)
            b[k] = rnd(n_post + 20);
        for (uint32_t k = 1; k <= ns; k++) /* insertion sort */
            for (uint32_t m = k; m > 0 && b[m - 1] > b[m]; m--) {
                uint32_t t = b[m];
                b[m] = b[m - 1];
                b[m - 1] = t;
            }
        if (rnd(3) == 0)
            b[ns] = UINT32_MAX;
        uint32_t pl = rnd(n_pre + 3), ph = pl + rnd(n_pre + 10);
        uint32_t rows = ph - pl;
        for (uint32_t e = 0; e < rows * ns; e++)
            counts[e] = 7; /* added to, not cleared */
        assert_int_equal(snn_expand_count(net, 0, pl, ph, b, ns, counts, NULL), 0);
        for (uint32_t k = 0; k < ns; k++) {
            struct snn_synapses s = {0};
            assert_int_equal(snn_expand(net, 0, pl, ph, b[k], b[k + 1], &s, NULL), 0);
            uint64_t e = 0;
            for (uint32_t i = pl; i < ph; i++) {
                uint32_t n = 0;
                while (e < s.n && s.pre[e] == i)
                    n++, e++;
                assert_int_equal(counts[(i - pl) * ns + k] - 7, n);
            }
            assert_int_equal(e, s.n);
            snn_synapses_free(&s);
        }
        snn_net_free(net);
    }
}

/* The errors of snn_expand(), reported the same way; nothing counted. */
static void test_count_errors(void **state)
{
    (void)state;
    static const double w[8] = {0};
    struct snn_net *net = make_net(1, 3, 3, false);
    struct snn_proj *p = proj0(net);
    p->weight.kind = SNN_VAL_LIST;
    p->weight.list = w;
    p->weight.n = 8; /* 9 synapses */
    FILE *f;
    struct snn_diag *d = mem_diag(&f);
    uint32_t b[2] = {0, 3}, counts[3] = {0};
    assert_int_equal(snn_expand_count(net, 0, 0, 3, b, 1, counts, d), SNN_ESEMA);
    assert_int_equal(snn_diag_errors(d), 1);
    p->weight.kind = SNN_VAL_CONST;
    p->conn.kind = SNN_CONN_FIXED_NUMBER_PRE;
    p->conn.n = 4;
    assert_int_equal(snn_expand_count(net, 0, 0, 3, b, 1, counts, d), SNN_ESEMA);
    assert_int_equal(snn_diag_errors(d), 2);
    fflush(f);
    assert_non_null(strstr(diag_buf, "fixed_number_pre n = 4"));
    for (int k = 0; k < 3; k++)
        assert_int_equal(counts[k], 0);
    p->conn.n = 3; /* every pre of every post */
    assert_int_equal(snn_expand_count(net, 0, 0, 3, b, 1, counts, d), 0);
    for (int k = 0; k < 3; k++)
        assert_int_equal(counts[k], 3);
    snn_diag_free(d);
    fclose(f);
    snn_net_free(net);
}

/* snn_expand_max_delay_steps() for every kind of delay value: never below
 * a delay the expansion makes, and the documented value. */
static void test_max_delay_steps(void **state)
{
    (void)state;
    struct snn_net *net = make_net(3, 150, 150, false);
    struct snn_proj *p = proj0(net); /* all_to_all: 22,500 delays */
    static double dl[150 * 150];
    struct {
        int kind; /* 0 const, 1 uniform, 2 normal, 3 list */
        double a, b;
        int bounded; /* 0 no, 1 clip, 2 redraw */
        double lo, hi;
        uint32_t want;
        bool exact; /* the expansion reaches the bound */
    } cases[] = {
        {0, 1.0, 0, 0, 0, 0, 10, true},
        {0, 100.0, 0, 0, 0, 0, 255, true},
        {0, -1.0, 0, 0, 0, 0, 1, true},
        {1, 0.1, 2.0, 0, 0, 0, 20, true},
        {1, 2.0, 0.5, 0, 0, 0, 20, true}, /* reversed: largest at u = 0 */
        {2, 1.0, 0.5, 0, 0, 0, 53, false}, /* 1 + 0.5 * 8.5717 ms */
        {2, 1.0, -0.5, 0, 0, 0, 53, false},
        {2, 1.0, 0.5, 1, 0.5, 1.2, 12, true},
        {2, 1.0, 0.5, 2, 0.5, 1.2, 12, true},
        {2, 1.0, 0.5, 2, 0.5, 100.0, 53, false},
        {2, 1.0, 0.5, 1, 3.0, 4.0, 40, false}, /* mostly clamped to lo: 30 */
        {3, 0, 0, 0, 0, 0, 23, true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct snn_value *v = &p->delay;
        memset(v, 0, sizeof *v);
        switch (cases[c].kind) {
        case 0: v->kind = SNN_VAL_CONST, v->c = cases[c].a; break;
        case 1: set_uniform(v, cases[c].a, cases[c].b); break;
        case 2: set_normal(v, cases[c].a, cases[c].b); break;
        default:
            for (int e = 0; e < 150 * 150; e++)
                dl[e] = 0.1 + (e % 97) * 0.01; /* largest 1.06 ... */
            dl[777] = 2.34; /* ... but this: 23.9 -> 23 steps */
            v->kind = SNN_VAL_LIST, v->list = dl, v->n = 150 * 150;
        }
        if (cases[c].bounded)
            set_bounds(v, cases[c].lo, cases[c].hi,
                       cases[c].bounded == 1 ? SNN_BOUND_CLIP : SNN_BOUND_REDRAW);
        uint32_t bound = snn_expand_max_delay_steps(net, 0);
        assert_int_equal(bound, cases[c].want);
        struct snn_synapses s;
        expand_full(net, &s);
        uint32_t most = 0;
        for (uint64_t e = 0; e < s.n; e++)
            most = s.delay_steps[e] > most ? s.delay_steps[e] : most;
        assert_true(most <= bound);
        if (cases[c].exact)
            assert_int_equal(most, bound);
        snn_synapses_free(&s);
    }
    /* from_list: its own delays replace the projection's; without them,
     * the projection's value counts. */
    static const uint32_t lp[] = {0, 1, 2}, lq[] = {2, 1, 0};
    static const double ld[] = {0.3, 0.75, 0.2};
    p->conn.kind = SNN_CONN_FROM_LIST;
    p->conn.n = 3;
    p->conn.list_pre = lp;
    p->conn.list_post = lq;
    p->delay.kind = SNN_VAL_CONST;
    p->delay.c = 5.0;
    assert_int_equal(snn_expand_max_delay_steps(net, 0), 50);
    p->conn.list_d = ld;
    assert_int_equal(snn_expand_max_delay_steps(net, 0), 8); /* 7.5 + 0.5 */
    p->conn.n = 0;
    assert_int_equal(snn_expand_max_delay_steps(net, 0), 1);
    snn_net_free(net);
}

/* ---- the rest of the interface ------------------------------------------------ */

static void test_fan_in(void **state)
{
    (void)state;
    for (int kind = 0; kind < SNN_CONN_COUNT; kind++)
        for (int same = 0; same < 2; same++) {
            struct snn_net *net = make_net(9, 30, 30, same);
            struct snn_proj *p = proj0(net);
            static uint32_t lp[100], lq[100];
            static double mat[30 * 30];
            for (int e = 0; e < 100; e++) {
                lp[e] = (uint32_t)e % 30;
                lq[e] = (uint32_t)(e * e) % 30;
            }
            for (int e = 0; e < 900; e++)
                mat[e] = (e * 7) % 11 == 0;
            p->conn.kind = (enum snn_conn_kind)kind;
            p->conn.allow_self = !same;
            p->conn.p = 0.5;
            p->conn.n = kind == SNN_CONN_FROM_LIST ? 100 : 6;
            p->conn.list_pre = lp;
            p->conn.list_post = lq;
            p->conn.matrix = mat;
            struct snn_synapses s;
            expand_full(net, &s);
            uint64_t cnt[30] = {0}, best = 0;
            for (uint64_t e = 0; e < s.n; e++)
                if (++cnt[s.post[e]] > best)
                    best = cnt[s.post[e]];
            uint64_t bound = snn_expand_max_fan_in(net, 0);
            assert_true(best <= bound);
            switch (p->conn.kind) {
            case SNN_CONN_ALL_TO_ALL:
            case SNN_CONN_ONE_TO_ONE:
            case SNN_CONN_FIXED_NUMBER_PRE:
            case SNN_CONN_FROM_LIST:
            case SNN_CONN_MATRIX: assert_int_equal(best, bound); break;
            case SNN_CONN_FIXED_PROBABILITY:
            case SNN_CONN_FIXED_NUMBER_POST: assert_int_equal(bound, same ? 29 : 30); break;
            default: break;
            }
            p->conn.p = 0.0;
            if (p->conn.kind == SNN_CONN_FIXED_PROBABILITY)
                assert_int_equal(snn_expand_max_fan_in(net, 0), 0);
            snn_synapses_free(&s);
            snn_net_free(net);
        }
}

static void test_delay_steps(void **state)
{
    (void)state;
    assert_int_equal(snn_delay_steps(1.0, 0.1), 10);
    assert_int_equal(snn_delay_steps(0.1, 0.1), 1);
    assert_int_equal(snn_delay_steps(0.75, 0.5), 2); /* 1.5: half up */
    assert_int_equal(snn_delay_steps(0.7, 0.5), 1);
    assert_int_equal(snn_delay_steps(0.0, 0.1), 1);  /* at least one step */
    assert_int_equal(snn_delay_steps(-3.0, 0.1), 1);
    assert_int_equal(snn_delay_steps(NAN, 0.1), 1);
    assert_int_equal(snn_delay_steps(25.5, 0.1), 255);
    assert_int_equal(snn_delay_steps(1e9, 0.1), SNN_MAX_DELAY_STEPS);
}

static void test_value_neuron(void **state)
{
    (void)state;
    struct snn_net *net = make_net(77, 5000, 1, true);
    struct snn_pop *pop = &net->pops[0];
    assert_true(snn_value_neuron(net, 0, 0, false, 3) == 20.0); /* tau_m default */
    static const double v[3] = {1, 2, 3};
    pop->init[0].kind = SNN_VAL_LIST;
    pop->init[0].list = v;
    pop->init[0].n = 3;
    assert_true(snn_value_neuron(net, 0, 0, true, 2) == 3.0);
    set_uniform(&pop->params[2], -70.0, -60.0);
    set_normal(&pop->params[4], -55.0, 2.0);
    double sum = 0;
    for (uint32_t n = 0; n < 5000; n++) {
        double x = snn_value_neuron(net, 0, 2, false, n);
        assert_true(x >= -70.0 && x <= -60.0);
        assert_true(x == snn_value_neuron(net, 0, 2, false, n));
        sum += snn_value_neuron(net, 0, 4, false, n);
    }
    assert_true(fabs(sum / 5000 + 55.0) < 5 * 2.0 / sqrt(5000.0));
    /* Counter (n, slot, pop, PARAM): pinned against the rule. */
    struct snn_philox_out o = snn_philox4x32(17, 2, 0, SNN_RNG_PARAM, 77);
    assert_true(snn_value_neuron(net, 0, 2, false, 17) ==
                -70.0 + 10.0 * snn_u01(o.v[0], o.v[1]));
    /* INIT draws differ from PARAM draws of the same slot. */
    set_uniform(&pop->init[0], -70.0, -60.0);
    assert_true(snn_value_neuron(net, 0, 0, true, 17) != snn_value_neuron(net, 0, 2, false, 17) ||
                snn_value_neuron(net, 0, 0, true, 18) != snn_value_neuron(net, 0, 2, false, 18));
    snn_net_free(net);
}

static void test_weight_rule(void **state)
{
    (void)state;
    /* Weight and delay of synapse (i, j): the documented counters. */
    struct snn_net *net = make_net(0x1234567890u, 4, 4, false);
    struct snn_proj *p = proj0(net);
    set_uniform(&p->weight, 0.5, 1.5);
    set_normal(&p->delay, 2.0, 0.5);
    struct snn_synapses s;
    expand_full(net, &s);
    assert_int_equal(s.n, 16);
    for (uint64_t e = 0; e < s.n; e++) {
        uint32_t i = s.pre[e], j = s.post[e];
        struct snn_philox_out o = snn_philox4x32(j, i, 0, SNN_RNG_WEIGHT, net->seed);
        assert_true(s.weight[e] == 0.5 + 1.0 * snn_u01(o.v[0], o.v[1]));
        o = snn_philox4x32(j, i, 0, SNN_RNG_DELAY, net->seed);
        double z = sqrt(-2.0 * snn_det_log(1.0 - snn_u01(o.v[0], o.v[1]))) *
                   snn_det_cos2pi(snn_u01(o.v[2], o.v[3]));
        assert_int_equal(s.delay_steps[e], snn_delay_steps(2.0 + 0.5 * z, 0.1));
    }
    snn_synapses_free(&s);
    /* Bounded normal with redraws: attempt a uses c3 = WEIGHT | a << 8. */
    set_normal(&p->weight, 0.0, 1.0);
    set_bounds(&p->weight, -0.2, 0.3, SNN_BOUND_REDRAW);
    expand_full(net, &s);
    int redrawn = 0;
    for (uint64_t e = 0; e < s.n; e++) {
        uint32_t i = s.pre[e], j = s.post[e];
        double w = 0;
        for (uint32_t a = 0; a < 1024; a++) {
            struct snn_philox_out o =
                snn_philox4x32(j, i, 0, SNN_RNG_WEIGHT | a << 8, net->seed);
            w = sqrt(-2.0 * snn_det_log(1.0 - snn_u01(o.v[0], o.v[1]))) *
                snn_det_cos2pi(snn_u01(o.v[2], o.v[3]));
            if (w >= -0.2 && w <= 0.3)
                break;
            redrawn++;
        }
        assert_true(s.weight[e] == w);
    }
    assert_true(redrawn > 0);
    snn_synapses_free(&s);
    set_uniform(&p->weight, 0.5, 1.5);
    /* from_list: counter (k, 0xFFFFFFFF, proj, stream) with k the entry. */
    static const uint32_t lp[] = {2, 1, 2}, lq[] = {3, 0, 3};
    p->conn.kind = SNN_CONN_FROM_LIST;
    p->conn.n = 3;
    p->conn.list_pre = lp;
    p->conn.list_post = lq;
    expand_full(net, &s);
    assert_int_equal(s.n, 3);
    const uint32_t entry[3] = {1, 0, 2}; /* sorted order: (1,0), (2,3) twice */
    for (uint64_t e = 0; e < s.n; e++) {
        struct snn_philox_out o =
            snn_philox4x32(entry[e], 0xFFFFFFFFu, 0, SNN_RNG_WEIGHT, net->seed);
        assert_true(s.weight[e] == 0.5 + 1.0 * snn_u01(o.v[0], o.v[1]));
    }
    snn_synapses_free(&s);
    snn_net_free(net);
}

static void test_empty_slices(void **state)
{
    (void)state;
    struct snn_net *net = make_net(1, 10, 10, false);
    struct snn_synapses s = {0};
    assert_int_equal(snn_expand(net, 0, 5, 5, 0, 10, &s, NULL), 0);
    assert_int_equal(snn_expand(net, 0, 8, 3, 0, 10, &s, NULL), 0);
    assert_int_equal(snn_expand(net, 0, 0, 10, 10, 20, &s, NULL), 0);
    assert_int_equal(snn_expand(net, 0, 12, 20, 0, 10, &s, NULL), 0);
    assert_int_equal(s.n, 0);
    /* Appending: two calls in a row add up. */
    assert_int_equal(snn_expand(net, 0, 0, 1, 0, 10, &s, NULL), 0);
    assert_int_equal(snn_expand(net, 0, 1, 2, 0, 10, &s, NULL), 0);
    assert_int_equal(s.n, 20);
    assert_int_equal(s.pre[10], 1);
    snn_synapses_free(&s);
    snn_synapses_free(&s); /* freed struct is zeroed: harmless twice */
    snn_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slices_fixed_probability),
        cmocka_unit_test(test_slices_all_kinds),
        cmocka_unit_test(test_fixed_probability_rule),
        cmocka_unit_test(test_fixed_probability_count),
        cmocka_unit_test(test_fixed_probability_gaps),
        cmocka_unit_test(test_fixed_probability_sparse),
        cmocka_unit_test(test_fixed_number_rule),
        cmocka_unit_test(test_fixed_number_post),
        cmocka_unit_test(test_fixed_number_pre),
        cmocka_unit_test(test_all_to_all_one_to_one_matrix),
        cmocka_unit_test(test_from_list),
        cmocka_unit_test(test_list_weights),
        cmocka_unit_test(test_weight_statistics),
        cmocka_unit_test(test_determinism_and_seed),
        cmocka_unit_test(test_golden_tiny),
        cmocka_unit_test(test_normal_values_by_rule),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_count_matches_expand),
        cmocka_unit_test(test_count_errors),
        cmocka_unit_test(test_max_delay_steps),
        cmocka_unit_test(test_fan_in),
        cmocka_unit_test(test_delay_steps),
        cmocka_unit_test(test_value_neuron),
        cmocka_unit_test(test_weight_rule),
        cmocka_unit_test(test_empty_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

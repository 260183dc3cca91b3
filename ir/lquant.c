/*
 * ir/lquant.c: the layer quantize pass (ir/lquant.h; docs/numerics.md,
 * "The layer view", is the contract).
 *
 * Takes a verified layer graph with its real numbers; gives, per node, the
 * integers every executor uses, and a report of what rounding cost.  One
 * pass over the nodes in order: a node's inputs are quantized before it,
 * so the largest value of every spikes or counts tensor (vmax) is known
 * when a layer that accumulates it is bounded.
 *
 * Invariants of the result: every weight is within the int8 (int4) range;
 * every requantization has |m| <= 2^23 and 0 <= sh <= 62; every layer's
 * accumulator bound is below 2^31, so the wrapping sums of the executors
 * never wrap; thresholds are positive Q15.16.  Real numbers go through
 * IEEE-754 +, -, x, / and sqrt only, so the result is the same bits on
 * every machine.
 */
#include "ir/lquant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "abi/fixed.h"
#include "abi/philox.h"
#include "ir/detmath.h"
#include "support/arena.h"
#include "support/err.h"

/* An LSQ-trained weight must be a whole number of its scale to within this
 * many of its LSBs.  Training stores w = round(w / s) * s in float32: the
 * product's rounding is up to 127 x 2^-24 (7.6e-6) LSB off a whole number,
 * while a weight that is truly off the grid is off by far more. */
#define LSQ_TOLERANCE 1e-4
/* The requantization multiplier keeps 23 significant bits: with a 32-bit
 * accumulator the product fits the sdt neuron unit's 32 x 24-bit
 * multiplier (docs/sdt-accelerator.md). */
#define M_BITS 23

struct lq {
    const struct snn_net *net;
    const struct snn_layer_graph *g;
    struct snn_lquant *lq;
    struct snn_diag *d;
    int err;
};

static void add_report(struct lq *q, const char *where, const char *what, const char *unit,
                       double value, double abs_err, double rel_err)
{
    struct snn_lquant *lq = q->lq;
    void *arr = lq->errs;
    if (snn_arena_grow(lq->arena, &arr, &lq->errs_cap, lq->n_errs + 1, sizeof *lq->errs)) {
        q->err = SNN_ENOMEM;
        return;
    }
    lq->errs = arr;
    lq->errs[lq->n_errs++] = (struct snn_qerr){where, what, value, abs_err, rel_err, unit};
}

/* Reports a value the integer form cannot hold. */
#define FAIL(q, n, ...)                                                                       \
    do {                                                                                      \
        snn_diag_error((q)->d, &(n)->loc, __VA_ARGS__);                                       \
        (q)->err = SNN_ERANGE;                                                                \
    } while (0)

/* ---- the generator --------------------------------------------------------- */

uint8_t snn_lquant_gen_input(uint64_t seed, uint32_t node, uint32_t element, uint32_t step,
                             enum snn_tkind kind, double density)
{
    struct snn_philox_out o = snn_philox4x32(step, element, node, SNN_RNG_LAYER_INPUT, seed);
    if (kind == SNN_T_COUNTS)
        return (uint8_t)(o.v[0] >> 24);
    /* P(1) = p / 2^32 with p in 0 .. 2^32, so density 1 always fires */
    uint64_t p = (uint64_t)floor(density * 4294967296.0 + 0.5);
    return o.v[0] < p;
}

double snn_lquant_gen_weight(uint64_t seed, uint32_t node, uint32_t element, double lo,
                             double hi)
{
    struct snn_philox_out o = snn_philox4x32(element, 0, node, SNN_RNG_LAYER_WEIGHT, seed);
    return lo + (hi - lo) * snn_u01(o.v[0], o.v[1]);
}

void snn_lquant_input(const struct snn_lquant *lq, const struct snn_layer_graph *g,
                      uint32_t node, uint32_t step, uint8_t *out)
{
    const struct snn_lnode *n = &g->nodes[node];
    const struct snn_lq_node *qn = &lq->nodes[node];
    SNN_ASSERT(n->op == SNN_L_INPUT);
    size_t size = (size_t)n->shape.c * n->shape.h * n->shape.w;
    if (qn->data) {
        uint32_t t = qn->data_steps == 1 ? 0 : step;
        SNN_ASSERT(t < qn->data_steps);
        memcpy(out, qn->data + (size_t)t * size, size);
        return;
    }
    for (size_t e = 0; e < size; e++)
        out[e] = snn_lquant_gen_input(lq->seed, node, (uint32_t)e, step, n->kind,
                                      n->u.input.gen.density);
}

/* ---- rounding ---------------------------------------------------------------- */

/* Nearest integer, ties away from zero. */
static double round_away(double x) { return x >= 0 ? floor(x + 0.5) : -floor(-x + 0.5); }

/*
 * The requantization of one layer from real multipliers per accumulator
 * LSB, in Q15.16 units (mult16[o]), and real offsets (offset[o], real
 * units): sh from the largest |mult16| (23 significant bits), m and b
 * rounded half up, as every coefficient of docs/numerics.md.
 */
static void requant(struct lq *q, const struct snn_lnode *n, const double *mult16,
                    const double *offset, struct snn_lq_requant *rq)
{
    struct snn_arena *a = q->lq->arena;
    uint32_t nc = n->shape.c;
    rq->n = nc;
    rq->m = snn_arena_array(a, nc, sizeof *rq->m);
    rq->b = snn_arena_array(a, nc, sizeof *rq->b);
    if (!rq->m || !rq->b) {
        q->err = SNN_ENOMEM;
        return;
    }
    double xmax = 0, largest = 0;
    for (uint32_t o = 0; o < nc; o++)
        if (fabs(mult16[o]) > xmax) {
            xmax = fabs(mult16[o]);
            largest = mult16[o];
        }
    int sh = 0;
    if (xmax > 0) {
        int e;
        frexp(xmax, &e); /* 2^(e-1) <= xmax < 2^e */
        sh = M_BITS - e;
        if (sh < 0) {
            FAIL(q, n,
                 "layer '%s': requantization multiplier %g (per accumulator unit, in Q15.16 "
                 "units) is too large: the integer form needs it below 2^23 (the weight "
                 "scale times the batch-norm gain must be below 128)",
                 n->name, largest);
            return;
        }
        if (sh > FX_MULT_MAX_SHIFT)
            sh = FX_MULT_MAX_SHIFT;
    }
    rq->sh = (uint32_t)sh;
    double m_abs = 0, m_rel = 0, b_abs = 0, b_rel = 0, b_largest = 0;
    for (uint32_t o = 0; o < nc; o++) {
        double m = floor(ldexp(mult16[o], sh) + 0.5);
        rq->m[o] = (int32_t)m;
        double ae = fabs(ldexp(m, -sh) - mult16[o]) / 65536.0;
        m_abs = fmax(m_abs, ae);
        if (mult16[o] != 0)
            m_rel = fmax(m_rel, ae * 65536.0 / fabs(mult16[o]));
        double b16 = ldexp(offset ? offset[o] : 0.0, FX_V_FRAC_BITS);
        if (!(fabs(b16) < 2147483647.0)) {
            FAIL(q, n,
                 "layer '%s': the bias of channel %u (with batch norm folded) is %g, outside "
                 "the Q15.16 range (magnitude below 32768)",
                 n->name, o, offset[o]);
            return;
        }
        rq->b[o] = (int32_t)floor(b16 + 0.5);
        if (offset) {
            double be = fabs(ldexp((double)rq->b[o], -FX_V_FRAC_BITS) - offset[o]);
            b_abs = fmax(b_abs, be);
            if (offset[o] != 0)
                b_rel = fmax(b_rel, be / fabs(offset[o]));
            if (fabs(offset[o]) > fabs(b_largest))
                b_largest = offset[o];
        }
    }
    add_report(q, n->name, "requantization multiplier m / 2^sh", "", largest / 65536.0, m_abs,
               m_rel);
    if (offset)
        add_report(q, n->name, "requantization bias b", "", b_largest, b_abs, b_rel);
}

/* The accumulator bound of docs/numerics.md: fan-in x largest input x
 * largest |weight| must stay below 2^31. */
static void bound_acc(struct lq *q, const struct snn_lnode *n, struct snn_lq_node *qn,
                      uint64_t fan_in, uint64_t vmax, uint64_t wmax)
{
    uint64_t bound = fan_in * vmax * wmax; /* each below 2^21: no overflow */
    qn->acc_bound = bound;
    if (bound >= (uint64_t)1 << 31)
        FAIL(q, n,
             "layer '%s': accumulator range: fan-in %llu x largest input %llu x largest "
             "|weight| %llu = %llu reaches 2^31",
             n->name, (unsigned long long)fan_in, (unsigned long long)vmax,
             (unsigned long long)wmax, (unsigned long long)bound);
}

/* Q15.16 of a positive threshold. */
static void threshold(struct lq *q, const struct snn_lnode *n, double theta, int32_t *out)
{
    double t16 = ldexp(theta, FX_V_FRAC_BITS);
    double r = floor(t16 + 0.5);
    if (!(r >= 1 && r < 2147483647.0)) {
        FAIL(q, n,
             "layer '%s': threshold %g cannot be represented in Q15.16 (it must round to a "
             "value from 2^-16 to below 32768)",
             n->name, theta);
        return;
    }
    *out = (int32_t)r;
    double ae = fabs(ldexp(r, -FX_V_FRAC_BITS) - theta);
    add_report(q, n->name, "threshold", "", theta, ae, ae / theta);
}

/* ---- nodes ------------------------------------------------------------------- */

static void quantize_input(struct lq *q, uint32_t i)
{
    const struct snn_lnode *n = &q->g->nodes[i];
    struct snn_lq_node *qn = &q->lq->nodes[i];
    qn->vmax = n->kind == SNN_T_SPIKES ? 1 : 255;
    const struct snn_array *a = &n->u.input.data;
    if (!a->v)
        return;
    struct snn_shape s = n->shape;
    size_t size = (size_t)s.c * s.h * s.w;
    qn->data_steps = a->ndim == 4 ? a->dims[0] : 1;
    qn->data = snn_arena_array(q->lq->arena, qn->data_steps, size);
    if (!qn->data) {
        q->err = SNN_ENOMEM;
        return;
    }
    for (size_t e = 0; e < size * qn->data_steps; e++) {
        double v = a->v[e];
        bool ok = n->kind == SNN_T_SPIKES ? (v == 0 || v == 1)
                                          : (v >= 0 && v <= 255 && v == floor(v));
        if (!ok) {
            size_t t = e / size, r = e % size;
            uint32_t c = (uint32_t)(r / ((size_t)s.h * s.w)), y = (uint32_t)(r / s.w % s.h),
                     x = (uint32_t)(r % s.w);
            char at[64];
            if (a->ndim == 4)
                snprintf(at, sizeof at, "[%zu, %u, %u, %u]", t, c, y, x);
            else
                snprintf(at, sizeof at, "[%u, %u, %u]", c, y, x);
            FAIL(q, n, "layer '%s': input data (%s) element %s is %g: %s", n->name,
                 a->src ? a->src : "?", at, v,
                 n->kind == SNN_T_SPIKES ? "spikes must be 0 or 1"
                                         : "counts (pixels) must be whole numbers from 0 to 255");
            return;
        }
        qn->data[e] = (uint8_t)v;
    }
}

static void quantize_conv(struct lq *q, uint32_t i)
{
    const struct snn_lnode *n = &q->g->nodes[i];
    const struct snn_lnode *src = &q->g->nodes[n->in[0]];
    const struct snn_lconv *cv = &n->u.conv;
    struct snn_lq_node *qn = &q->lq->nodes[i];
    struct snn_arena *ar = q->lq->arena;
    uint32_t nout = n->shape.c, per_out = (cv->depthwise ? 1 : src->shape.c) * cv->kernel *
                                          cv->kernel;
    uint32_t count = nout * per_out;
    int32_t qmax = cv->bits == 8 ? 127 : 7;
    qn->w_count = count;
    qn->w = snn_arena_array(ar, count, sizeof *qn->w);
    qn->w_scale = snn_arena_array(ar, nout, sizeof *qn->w_scale);
    qn->f_gain = snn_arena_array(ar, nout, sizeof *qn->f_gain);
    qn->f_offset = snn_arena_array(ar, nout, sizeof *qn->f_offset);
    double *mult16 = snn_arena_array(ar, nout, sizeof *mult16);
    double *w_real = (double *)cv->weight.v;
    if (!w_real) {
        w_real = snn_arena_array(ar, count, sizeof *w_real);
        for (uint32_t e = 0; w_real && e < count; e++)
            w_real[e] = snn_lquant_gen_weight(q->lq->seed, i, e, cv->weight_gen.lo,
                                              cv->weight_gen.hi);
    }
    if (!qn->w || !qn->w_scale || !qn->f_gain || !qn->f_offset || !mult16 || !w_real) {
        q->err = SNN_ENOMEM;
        return;
    }
    qn->w_real = w_real;

    /* Weights: one scale per output channel. */
    double w_abs = 0, w_rel = 0, w_largest = 0;
    int32_t wmax = 0;
    for (uint32_t o = 0; o < nout; o++) {
        const double *wr = w_real + (size_t)o * per_out;
        double mx = 0, s;
        for (uint32_t e = 0; e < per_out; e++)
            mx = fmax(mx, fabs(wr[e]));
        if (cv->scale.v) {
            s = cv->scale.v[o];
            if (!(s > 0 && isfinite(s))) {
                FAIL(q, n, "layer '%s': the weight scale of channel %u is %g: it must be "
                           "positive",
                     n->name, o, s);
                return;
            }
        } else {
            s = mx / qmax;
        }
        qn->w_scale[o] = s;
        double ch_err = 0;
        for (uint32_t e = 0; e < per_out; e++) {
            double wq = 0;
            if (s > 0) {
                double x = wr[e] / s;
                wq = round_away(x);
                /* given weights with their LSQ scales must already be integers;
                 * generated ones are rounded to the given scale (and saturate) */
                if (cv->scale.v && cv->weight.v &&
                    !(fabs(x - wq) <= LSQ_TOLERANCE && fabs(wq) <= qmax)) {
                    uint32_t k2 = cv->kernel * cv->kernel;
                    FAIL(q, n,
                         "layer '%s': weight [%u, %u, %u, %u] = %g is %.9g times the scale "
                         "of its channel (%g): %s",
                         n->name, o, e / k2, e % k2 / cv->kernel, e % cv->kernel, wr[e], x, s,
                         fabs(x - wq) > LSQ_TOLERANCE
                             ? "a scaled weight must be a whole number"
                             : (cv->bits == 8 ? "outside the int8 range -127 .. 127"
                                              : "outside the int4 range -7 .. 7"));
                    return;
                }
                if (wq > qmax) /* by an ulp of the division, or a generated weight */
                    wq = qmax;
                if (wq < -qmax)
                    wq = -qmax;
            }
            qn->w[(size_t)o * per_out + e] = (int8_t)wq;
            if (abs((int)wq) > wmax)
                wmax = abs((int)wq);
            ch_err = fmax(ch_err, fabs(wq * s - wr[e]));
        }
        w_abs = fmax(w_abs, ch_err);
        if (mx > 0)
            w_rel = fmax(w_rel, ch_err / mx);
        w_largest = fmax(w_largest, mx);
    }
    qn->w_max = wmax;
    add_report(q, n->name, cv->bits == 8 ? "weight (int8, per-channel scale)"
                                         : "weight (int4, per-channel scale)",
               "", w_largest, w_abs, w_rel);
    bound_acc(q, n, qn, per_out, q->lq->nodes[n->in[0]].vmax, (uint64_t)wmax);
    if (q->err)
        return;

    /* Fold scale, bias and batch norm: x = acc * scale * g + (bias - mean) * g + beta. */
    for (uint32_t o = 0; o < nout; o++) {
        double gain = 1, bias = cv->bias.v ? cv->bias.v[o] : 0, off = bias;
        if (cv->bn) {
            gain = cv->bn_gamma.v[o] / sqrt(cv->bn_var.v[o] + cv->bn_eps);
            off = (bias - cv->bn_mean.v[o]) * gain + cv->bn_beta.v[o];
        }
        qn->f_gain[o] = gain;
        qn->f_offset[o] = off;
        mult16[o] = ldexp(qn->w_scale[o] * gain, FX_V_FRAC_BITS);
    }
    requant(q, n, mult16, qn->f_offset, &qn->rq);
}

/* Sum pool and SDSA v2: one real multiplier for every channel, no bias. */
static void quantize_scaled(struct lq *q, uint32_t i, double gain, uint64_t fan_in,
                            uint64_t vmax)
{
    const struct snn_lnode *n = &q->g->nodes[i];
    struct snn_lq_node *qn = &q->lq->nodes[i];
    struct snn_arena *ar = q->lq->arena;
    uint32_t nc = n->shape.c;
    qn->f_gain = snn_arena_array(ar, nc, sizeof *qn->f_gain);
    qn->f_offset = snn_arena_array(ar, nc, sizeof *qn->f_offset);
    double *mult16 = snn_arena_array(ar, nc, sizeof *mult16);
    if (!qn->f_gain || !qn->f_offset || !mult16) {
        q->err = SNN_ENOMEM;
        return;
    }
    for (uint32_t o = 0; o < nc; o++) {
        qn->f_gain[o] = gain;
        mult16[o] = ldexp(gain, FX_V_FRAC_BITS);
    }
    bound_acc(q, n, qn, fan_in, vmax, 1);
    if (!q->err)
        requant(q, n, mult16, NULL, &qn->rq);
}

static void quantize_node(struct lq *q, uint32_t i)
{
    const struct snn_lnode *n = &q->g->nodes[i];
    struct snn_lq_node *qn = &q->lq->nodes[i];
    const struct snn_lq_node *in0 = n->n_in ? &q->lq->nodes[n->in[0]] : NULL;
    const struct snn_lnode *src = n->n_in ? &q->g->nodes[n->in[0]] : NULL;
    switch (n->op) {
    case SNN_L_INPUT: quantize_input(q, i); break;
    case SNN_L_CONV: quantize_conv(q, i); break;
    case SNN_L_LIF:
        qn->vmax = 1;
        qn->theta_real = n->u.lif.threshold;
        threshold(q, n, n->u.lif.threshold, &qn->theta);
        break;
    case SNN_L_ILIF: qn->vmax = n->u.ilif.d_max; break;
    case SNN_L_SDSA1:
        qn->vmax = 1;
        qn->theta_real = n->u.sdsa1.threshold;
        threshold(q, n, n->u.sdsa1.threshold, &qn->theta);
        break;
    case SNN_L_SUMPOOL: {
        uint64_t hw = (uint64_t)src->shape.h * src->shape.w;
        quantize_scaled(q, i, n->u.sumpool.mean ? 1.0 / (double)hw : 1.0, hw, in0->vmax);
        break;
    }
    case SNN_L_SDSA2:
        /* Y = sum over d channels of Q (0/1) x KV, KV <= the number of tokens */
        quantize_scaled(q, i, n->u.sdsa2.scale, src->shape.c / n->u.sdsa2.heads, src->shape.h);
        break;
    case SNN_L_MAXPOOL:
    case SNN_L_TOKENS:
    case SNN_L_FLATTEN: qn->vmax = in0->vmax; break;
    case SNN_L_ADD: break;
    }
}

int snn_layers_quantize(const struct snn_net *net, struct snn_diag *d, struct snn_lquant **out)
{
    *out = NULL;
    const struct snn_layer_graph *g = net->layers;
    SNN_ASSERT(g && g->n_nodes > 0);
    struct snn_arena *a = snn_arena_new();
    if (!a)
        return SNN_ENOMEM;
    struct snn_lquant *lq = snn_arena_alloc(a, sizeof *lq);
    struct lq q = {.net = net, .g = g, .lq = lq, .d = d};
    if (lq) {
        lq->arena = a;
        lq->seed = net->seed;
        lq->n_nodes = g->n_nodes;
        lq->nodes = snn_arena_array(a, g->n_nodes, sizeof *lq->nodes);
    }
    if (!lq || !lq->nodes)
        q.err = SNN_ENOMEM;
    for (uint32_t i = 0; i < g->n_nodes && !q.err; i++)
        quantize_node(&q, i);
    if (q.err) {
        snn_arena_free(a);
        return q.err;
    }
    *out = lq;
    return 0;
}

void snn_lquant_free(struct snn_lquant *lq)
{
    if (lq)
        snn_arena_free(lq->arena);
}

void snn_lquant_print_report(const struct snn_lquant *lq, FILE *out)
{
    fprintf(out, "%-20s %-40s %14s %12s %12s\n", "where", "value", "largest", "abs error",
            "rel error");
    for (size_t i = 0; i < lq->n_errs; i++) {
        const struct snn_qerr *e = &lq->errs[i];
        char largest[64];
        snprintf(largest, sizeof largest, "%.6g%s%s", e->value, *e->unit ? " " : "", e->unit);
        fprintf(out, "%-20s %-40s %14s %12.3g %12.3g\n", e->where, e->what, largest, e->abs_err,
                e->rel_err);
    }
}

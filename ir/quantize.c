/*
 * ir/quantize.c: the quantize pass (docs/numerics.md is the contract).
 *
 * Takes a verified network in physical units; gives, per population, the
 * fixed-point parameters and initial state of every neuron (abi/neuron.h)
 * and the weight unit of each receptor, plus a report of the error every
 * parameter and weight suffers.  Coefficients are computed in double with
 * the deterministic functions of ir/detmath.h, so the result is the same
 * bits on every machine.
 *
 * A coefficient column (one coefficient over the neurons of a population)
 * shares one shift, chosen from its largest magnitude; that keeps at least
 * 30 significant bits for the largest value and lets vector kernels use
 * one shift per population.
 */
#include "ir/quant.h"
#include "ir/coef_int.h" /* the coefficients, shared with the float64 simulator */
#include "ir/detmath.h"
#include "ir/expand.h"
#include "support/arena.h"
#include "support/err.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Weights are 16-bit in synaptic rows (docs/numerics.md, "Weights"). */
#define W_MAX_LSB 32767

struct q {
    const struct snn_net *net;
    struct snn_qnet *qn;
    struct snn_diag *d;
    double *tmp;      /* scratch column, size of the largest population */
    const struct snn_loc *loc; /* the population being quantized */
    uint32_t n;       /* its parameter records computed: 1 when they are all the same */
    void *par;        /* its parameter records (alloc_model) */
    size_t par_size;
    int err;
};

static void add_report(struct q *q, const char *where, const char *what, const char *unit,
                       double value, double abs_err, double rel_err)
{
    struct snn_qnet *qn = q->qn;
    void *arr = qn->errs;
    if (snn_arena_grow(qn->arena, &arr, &qn->errs_cap, qn->n_errs + 1, sizeof *qn->errs)) {
        q->err = SNN_ENOMEM;
        return;
    }
    qn->errs = arr;
    qn->errs[qn->n_errs++] = (struct snn_qerr){where, what, value, abs_err, rel_err, unit};
}

int snn_quantize_mult(double x, double xmax, struct fx_mult *out)
{
    if (!isfinite(x) || !isfinite(xmax))
        return SNN_ERANGE;
    xmax = fabs(xmax);
    if (xmax == 0) {
        *out = (struct fx_mult){0, 0};
        return x == 0 ? 0 : SNN_ERANGE;
    }
    int e;
    frexp(xmax, &e); /* xmax < 2^e */
    int s = 30 - e;  /* so |m| < 2^30 for the largest value */
    if (s < 0)
        return SNN_ERANGE;
    if (s > FX_MULT_MAX_SHIFT)
        s = FX_MULT_MAX_SHIFT;
    double m = floor(ldexp(x, s) + 0.5);
    if (fabs(m) > (double)INT32_MAX)
        return SNN_ERANGE;
    *out = (struct fx_mult){(int32_t)m, s};
    return 0;
}

static double mult_value(struct fx_mult k) { return ldexp((double)k.m, -k.s); }

/* Quantizes column x[0..n) of coefficients into the struct fx_mult at
 * byte offset off of n records of stride bytes starting at base. */
static void put_mults(struct q *q, const char *where, const char *what, const double *x,
                      uint32_t n, void *base, size_t stride, size_t off)
{
    double xmax = 0, largest = 0, abs_err = 0, rel_err = 0;
    for (uint32_t i = 0; i < n; i++)
        if (fabs(x[i]) > xmax) {
            xmax = fabs(x[i]);
            largest = x[i];
        }
    for (uint32_t i = 0; i < n; i++) {
        struct fx_mult k;
        if (snn_quantize_mult(x[i], xmax, &k)) {
            snn_diag_error(q->d, q->loc,
                           "population '%s': %s = %g cannot be represented as a fixed-point "
                           "coefficient (magnitude must be below 2^30)",
                           where, what, x[i]);
            q->err = SNN_ERANGE;
            return;
        }
        memcpy((char *)base + i * stride + off, &k, sizeof k);
        double ae = fabs(mult_value(k) - x[i]);
        if (ae > abs_err)
            abs_err = ae;
        if (x[i] != 0 && ae / fabs(x[i]) > rel_err)
            rel_err = ae / fabs(x[i]);
        else if (x[i] == 0 && k.m != 0)
            rel_err = INFINITY;
    }
    add_report(q, where, what, "", largest, abs_err, rel_err);
}

/* Quantizes three columns of coefficients that a model sums before
 * rounding once (fx_dot3), with one shift for all three into the int32 at
 * offset off_shift: the largest value of the three keeps 30 significant
 * bits, as the largest of a column of its own would. */
static void put_dot3(struct q *q, const char *where, const char *const what[3],
                     const double *const x[3], uint32_t n, void *base, size_t stride,
                     const size_t off[3], size_t off_shift)
{
    double xmax = 0;
    for (int k = 0; k < 3; k++)
        for (uint32_t i = 0; i < n; i++)
            if (!(fabs(x[k][i]) <= xmax)) /* NaN counts as infinite: it fails below */
                xmax = x[k][i] == x[k][i] ? fabs(x[k][i]) : INFINITY;
    int e = 0;
    if (isfinite(xmax))
        frexp(xmax, &e); /* xmax < 2^e */
    int32_t s = xmax == 0 ? 30 : 30 - e < 1 ? 1 : 30 - e > 60 ? 60 : 30 - e;
    for (int k = 0; k < 3; k++) {
        double largest = 0, abs_err = 0, rel_err = 0;
        for (uint32_t i = 0; i < n; i++) {
            double m = floor(ldexp(x[k][i], s) + 0.5);
            if (!(fabs(m) <= (double)INT32_MAX)) {
                snn_diag_error(q->d, q->loc,
                               "population '%s': %s = %g cannot be represented as a fixed-point "
                               "coefficient (magnitude must be below 2^30)",
                               where, what[k], x[k][i]);
                q->err = SNN_ERANGE;
                return;
            }
            int32_t m32 = (int32_t)m;
            memcpy((char *)base + i * stride + off[k], &m32, sizeof m32);
            memcpy((char *)base + i * stride + off_shift, &s, sizeof s);
            double ae = fabs(ldexp(m, -s) - x[k][i]);
            if (fabs(x[k][i]) > fabs(largest))
                largest = x[k][i];
            if (ae > abs_err)
                abs_err = ae;
            if (x[k][i] != 0 && ae / fabs(x[k][i]) > rel_err)
                rel_err = ae / fabs(x[k][i]);
            else if (x[k][i] == 0 && m != 0)
                rel_err = INFINITY;
        }
        add_report(q, where, what[k], "", largest, abs_err, rel_err);
    }
}

/* Quantizes a column of values in `unit` scaled by 2^frac (Q(31-frac).frac)
 * into the int32 at offset off. */
static void put_fixed(struct q *q, const char *where, const char *what, const char *unit,
                      int frac, const double *x, uint32_t n, void *base, size_t stride,
                      size_t off)
{
    double xmax = 0, abs_err = 0, rel_err = 0;
    for (uint32_t i = 0; i < n; i++) {
        double scaled = ldexp(x[i], frac);
        if (!(fabs(scaled) < 2147483647.0)) {
            snn_diag_error(q->d, q->loc,
                           "population '%s': %s = %g%s%s is outside the fixed-point range "
                           "(magnitude below %g%s%s)",
                           where, what, x[i], *unit ? " " : "", unit, ldexp(1, 31 - frac),
                           *unit ? " " : "", unit);
            q->err = SNN_ERANGE;
            return;
        }
        int32_t v = (int32_t)floor(scaled + 0.5);
        memcpy((char *)base + i * stride + off, &v, sizeof v);
        double ae = fabs(ldexp((double)v, -frac) - x[i]);
        if (fabs(x[i]) > fabs(xmax))
            xmax = x[i];
        if (ae > abs_err)
            abs_err = ae;
        if (x[i] != 0 && ae / fabs(x[i]) > rel_err)
            rel_err = ae / fabs(x[i]);
    }
    add_report(q, where, what, unit, xmax, abs_err, rel_err);
}

static void put_q16(struct q *q, const char *where, const char *what, const char *unit,
                    const double *x, uint32_t n, void *base, size_t stride, size_t off)
{
    put_fixed(q, where, what, unit, FX_V_FRAC_BITS, x, n, base, stride, off);
}

/* Whole timesteps of a duration: round half up. */
static uint64_t steps_of(double ms, double dt)
{
    double s = floor(ms / dt + 0.5);
    return s <= 0 ? 0 : s >= 4294967295.0 ? UINT32_MAX : (uint64_t)s;
}

static void put_steps(struct q *q, const char *where, const char *what, const double *x,
                      uint32_t n, void *base, size_t stride, size_t off)
{
    double dt = q->net->dt_ms, xmax = 0, abs_err = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t s = steps_of(x[i], dt);
        uint32_t s32 = (uint32_t)s;
        memcpy((char *)base + i * stride + off, &s32, sizeof s32);
        double ae = fabs((double)s * dt - x[i]);
        if (ae > abs_err)
            abs_err = ae;
        if (fabs(x[i]) > xmax)
            xmax = fabs(x[i]);
    }
    add_report(q, where, what, "ms", xmax, abs_err, xmax > 0 ? abs_err / xmax : 0);
}

/* Fills q->tmp with parameter `name` of the first q->n neurons of
 * population p. */
static const double *col(struct q *q, uint32_t p, const char *name)
{
    const struct snn_pop *pop = &q->net->pops[p];
    int slot = snn_model_param(pop->model, name);
    SNN_ASSERT(slot >= 0);
    for (uint32_t i = 0; i < q->n; i++)
        q->tmp[i] = snn_value_neuron(q->net, p, (unsigned)slot, false, i);
    return q->tmp;
}

static const double *col_init(struct q *q, uint32_t p, const char *name)
{
    const struct snn_pop *pop = &q->net->pops[p];
    int slot = snn_model_state(pop->model, name);
    SNN_ASSERT(slot >= 0);
    for (uint32_t i = 0; i < pop->size; i++)
        q->tmp[i] = snn_value_neuron(q->net, p, (unsigned)slot, true, i);
    return q->tmp;
}

/* Column scratch beyond tmp: five more arrays of the same size. */
struct cols {
    double *a, *b, *c, *d, *e;
};

/*
 * The largest |weight| any projection onto (post, receptor) can carry, and
 * the largest number of synapses that can end on one of its neurons.
 */
static double value_bound(const struct snn_value *v, double scale)
{
    double b = 0;
    switch (v->kind) {
    case SNN_VAL_CONST: b = fabs(v->c); break;
    case SNN_VAL_LIST:
        for (uint32_t i = 0; i < v->n; i++)
            if (fabs(v->list[i]) > b)
                b = fabs(v->list[i]);
        break;
    case SNN_VAL_UNIFORM: b = fmax(fabs(v->a), fabs(v->b)); break;
    case SNN_VAL_NORMAL:
        /* Unbounded normal draws beyond 8 sd (probability ~1e-15) saturate. */
        b = v->bounded ? fmax(fabs(v->lo), fabs(v->hi)) : fabs(v->a) + 8 * fabs(v->b);
        break;
    }
    return b * scale;
}

/* The largest |weight| projection pj can carry (matrix and from_list
 * entries are weights already, in internal units). */
static double proj_weight_bound(const struct snn_net *net, const struct snn_proj *pj)
{
    const struct snn_connector *c = &pj->conn;
    double b = 0;
    if (c->kind == SNN_CONN_MATRIX) {
        uint64_t cells = (uint64_t)net->pops[pj->pre].size * net->pops[pj->post].size;
        for (uint64_t k = 0; k < cells; k++)
            b = fmax(b, fabs(c->matrix[k]));
        return b;
    }
    if (c->kind == SNN_CONN_FROM_LIST && c->list_w) {
        for (uint32_t k = 0; k < c->n; k++)
            b = fmax(b, fabs(c->list_w[k]));
        return b;
    }
    return value_bound(&pj->weight, 1.0);
}

static void choose_weight_units(struct q *q)
{
    const struct snn_net *net = q->net;
    for (uint32_t p = 0; p < net->n_pops; p++) {
        struct snn_qpop *qp = &q->qn->pops[p];
        for (int r = 0; r < 2; r++) {
            double bound = 0;
            uint64_t fan_in = 0;
            for (uint32_t j = 0; j < net->n_projs; j++) {
                const struct snn_proj *pj = &net->projs[j];
                if (pj->post != p || (int)pj->receptor != r)
                    continue;
                bound = fmax(bound, proj_weight_bound(net, pj));
                fan_in += snn_expand_max_fan_in(net, j);
            }
            /* Summing fan_in weights of w_max never leaves int32, so ring
             * buffers never wrap (docs/numerics.md, "Synaptic input"). */
            uint64_t w_max = W_MAX_LSB;
            if (fan_in > 0 && (uint64_t)INT32_MAX / fan_in < w_max)
                w_max = (uint64_t)INT32_MAX / fan_in;
            if (w_max == 0) {
                snn_diag_error(q->d, &net->pops[p].loc,
                               "population '%s': %llu synapses can end on one neuron, more than "
                               "the 2^31 - 1 a step's input may sum (docs/numerics.md)",
                               net->pops[p].name, (unsigned long long)fan_in);
                q->err = SNN_ERANGE;
                return;
            }
            qp->w_max[r] = (int32_t)w_max;
            /* No weight can arrive: a unit of 0 makes every coefficient of the
             * receptor 0 instead of an arbitrary, possibly unrepresentable one. */
            qp->w_lsb[r] = bound > 0 ? bound / (double)w_max : 0.0;
        }
    }
}

static void report_weights(struct q *q)
{
    const struct snn_net *net = q->net;
    for (uint32_t j = 0; j < net->n_projs; j++) {
        const struct snn_proj *pj = &net->projs[j];
        const struct snn_qpop *qp = &q->qn->pops[pj->post];
        const char *unit = snn_dim_unit(snn_models[net->pops[pj->post].model].syn ==
                                                SNN_SYN_CURRENT
                                            ? SNN_DIM_CURRENT
                                        : snn_models[net->pops[pj->post].model].syn ==
                                                SNN_SYN_CONDUCTANCE
                                            ? SNN_DIM_CONDUCTANCE
                                            : SNN_DIM_VOLTAGE);
        double lsb = qp->w_lsb[pj->receptor];
        const char *where = pj->name;
        if (!where) {
            char buf[160];
            snprintf(buf, sizeof buf, "#%u %s->%s", j, net->pops[pj->pre].name,
                     net->pops[pj->post].name);
            where = snn_arena_strdup(q->qn->arena, buf);
            if (!where) {
                q->err = SNN_ENOMEM;
                return;
            }
        }
        if (pj->weight.kind == SNN_VAL_CONST && pj->conn.kind != SNN_CONN_MATRIX &&
            !(pj->conn.kind == SNN_CONN_FROM_LIST && pj->conn.list_w)) {
            double w = pj->weight.c;
            double ae = fabs(snn_quantize_weight(qp, pj->receptor, w) * lsb - w);
            add_report(q, where, "weight", unit, fabs(w), ae, w != 0 ? ae / fabs(w) : 0);
        } else {
            /* Per-synapse weights: round to nearest, so at most half an LSB. */
            double b = proj_weight_bound(net, pj);
            add_report(q, where, "weight (per synapse, bound)", unit, b, lsb / 2,
                       b > 0 ? lsb / 2 / b : 0);
        }
    }
}

static int alloc_model(struct q *q, struct snn_qpop *qp, uint32_t n)
{
    struct snn_arena *a = q->qn->arena;
    void *p = NULL, *s = NULL;
#define RECORDS(field) \
    (q->par_size = sizeof *qp->field, p = qp->field = snn_arena_array(a, n, q->par_size))
    switch (qp->model) {
    case FX_MODEL_LIF_CURR_EXP: RECORDS(lif_curr_exp); break;
    case FX_MODEL_LIF_COND_EXP: RECORDS(lif_cond_exp); break;
    case FX_MODEL_IF_CURR_DELTA: RECORDS(if_curr_delta); break;
    case FX_MODEL_IZHIKEVICH: RECORDS(izhikevich); break;
    case FX_MODEL_IF: RECORDS(if_); break;
    case FX_MODEL_SPIKE_SOURCE_POISSON: RECORDS(poisson); break;
    case FX_MODEL_SPIKE_SOURCE_ARRAY:
        q->par_size = 0; /* no parameters: its spike steps, per neuron */
        p = qp->src_off = snn_arena_array(a, (size_t)n + 1, sizeof(uint32_t));
        break;
    }
#undef RECORDS
    switch (qp->model) {
    case FX_MODEL_LIF_CURR_EXP:
    case FX_MODEL_LIF_COND_EXP:
    case FX_MODEL_IF_CURR_DELTA: s = qp->lif0 = snn_arena_array(a, n, sizeof *qp->lif0); break;
    case FX_MODEL_IZHIKEVICH: s = qp->izh0 = snn_arena_array(a, n, sizeof *qp->izh0); break;
    case FX_MODEL_IF: s = qp->if0 = snn_arena_array(a, n, sizeof *qp->if0); break;
    default: s = p; break;
    }
    q->par = p;
    return p && s ? 0 : SNN_ENOMEM;
}

#define PUT_MULT(T, field, what, x) \
    put_mults(q, name, what, x, n, arr, sizeof(T), offsetof(T, field))
#define PUT_Q16(T, field, what, unit, x) \
    put_q16(q, name, what, unit, x, n, arr, sizeof(T), offsetof(T, field))

/*
 * Where the three leaky models keep their common fields: k_in[r] is the
 * synaptic coefficient of receptor r (kg for conductances, k_in for delta
 * synapses), p11 the leak (for the Euler-integrated conductance model
 * k_leak: an int32 in Q1.30, not a struct fx_mult).  lif_curr_exp's p11,
 * p21e and p21i share one shift and are written by put_dot3.
 */
struct lif_layout {
    size_t size, v_rest, v_reset, v_thresh, v_off, refrac, p11, k_in[2], p22[2];
};

#define LIF_COMMON(T) sizeof(T), offsetof(T, v_rest), offsetof(T, v_reset), \
    offsetof(T, v_thresh), offsetof(T, v_off), offsetof(T, refrac_steps)

static const struct lif_layout lif_layouts[] = {
    [SNN_MODEL_LIF_CURR_EXP] = {LIF_COMMON(struct fx_lif_curr_exp), 0, {0, 0}, /* put_dot3 */
                                {offsetof(struct fx_lif_curr_exp, p22e),
                                 offsetof(struct fx_lif_curr_exp, p22i)}},
    [SNN_MODEL_LIF_COND_EXP] = {LIF_COMMON(struct fx_lif_cond_exp),
                                offsetof(struct fx_lif_cond_exp, k_leak),
                                {offsetof(struct fx_lif_cond_exp, kg_e),
                                 offsetof(struct fx_lif_cond_exp, kg_i)},
                                {offsetof(struct fx_lif_cond_exp, p22e),
                                 offsetof(struct fx_lif_cond_exp, p22i)}},
    [SNN_MODEL_IF_CURR_DELTA] = {LIF_COMMON(struct fx_if_curr_delta),
                                 offsetof(struct fx_if_curr_delta, p11),
                                 {offsetof(struct fx_if_curr_delta, k_in_e),
                                  offsetof(struct fx_if_curr_delta, k_in_i)},
                                 {0, 0}},
};

/* Delta synapses: a weight LSB as a Q15.16 voltage, per receptor. */
static void put_k_in(struct q *q, const char *name, const struct snn_qpop *qp, void *arr,
                     size_t stride, size_t off_e, size_t off_i)
{
    uint32_t n = q->n;
    static const char *const what[2] = {"k_in_e (weight LSB in Q16 mV)",
                                        "k_in_i (weight LSB in Q16 mV)"};
    for (int r = 0; r < 2; r++) {
        for (uint32_t i = 0; i < n; i++)
            q->tmp[i] = ldexp(qp->w_lsb[r], FX_V_FRAC_BITS);
        put_mults(q, name, what[r], q->tmp, n, arr, stride, r ? off_i : off_e);
    }
}

static void quantize_pop(struct q *q, uint32_t p, struct cols *c)
{
    const struct snn_net *net = q->net;
    const struct snn_pop *pop = &net->pops[p];
    struct snn_qpop *qp = &q->qn->pops[p];
    const char *name = pop->name;
    uint32_t size = pop->size;
    double h = net->dt_ms;
    q->loc = pop->loc.file ? &pop->loc : NULL;
    qp->size = size;
    qp->model = (enum fx_model)(pop->model + 1); /* enum snn_model + 1 == enum fx_model */
    if (alloc_model(q, qp, size)) {
        q->err = SNN_ENOMEM;
        return;
    }
    /* Parameters shared by the whole population are quantized for one
     * neuron and copied: the same bits and the same report as neuron by
     * neuron.  n counts the parameter records computed; initial states
     * are per neuron. */
    bool shared = q->par_size > 0 && size > 1;
    for (unsigned k = 0; shared && k < snn_models[pop->model].n_params; k++)
        shared = pop->params[k].kind == SNN_VAL_CONST;
    uint32_t n = q->n = shared ? 1 : size;

    switch (pop->model) {
    case SNN_MODEL_LIF_CURR_EXP:
    case SNN_MODEL_LIF_COND_EXP:
    case SNN_MODEL_IF_CURR_DELTA: {
        const struct lif_layout *L = &lif_layouts[pop->model];
        void *arr = qp->lif_curr_exp ? (void *)qp->lif_curr_exp
                  : qp->lif_cond_exp ? (void *)qp->lif_cond_exp : (void *)qp->if_curr_delta;
        bool cond = pop->model == SNN_MODEL_LIF_COND_EXP;
        put_q16(q, name, "v_rest", "mV", col(q, p, "v_rest"), n, arr, L->size, L->v_rest);
        put_q16(q, name, "v_reset", "mV", col(q, p, "v_reset"), n, arr, L->size, L->v_reset);
        put_q16(q, name, "v_thresh", "mV", col(q, p, "v_thresh"), n, arr, L->size, L->v_thresh);
        put_steps(q, name, "tau_refrac (whole steps)", col(q, p, "tau_refrac"), n, arr, L->size,
                  L->refrac);
        memcpy(c->a, col(q, p, "tau_m"), n * sizeof(double));
        memcpy(c->b, col(q, p, "cm"), n * sizeof(double));
        memcpy(c->c, col(q, p, "i_offset"), n * sizeof(double));
        for (uint32_t i = 0; i < n; i++)
            q->tmp[i] = cond ? snn__coef_cond_v_off(h, c->b[i], c->c[i])
                             : snn__coef_v_off(h, c->a[i], c->b[i], c->c[i]);
        put_q16(q, name, "v_off (i_offset per step)", "mV", q->tmp, n, arr, L->size, L->v_off);
        /* lif_curr_exp's p11 waits in c->d for p21e and p21i (put_dot3) */
        double *leak = qp->lif_curr_exp ? c->d : q->tmp;
        for (uint32_t i = 0; i < n; i++)
            leak[i] = cond ? h / c->a[i] : snn_det_exp(-h / c->a[i]);
        if (cond)
            put_fixed(q, name, "k_leak = dt/tau_m (Q1.30)", "", FX_COND_GAMMA_SHIFT, q->tmp, n,
                      arr, L->size, L->p11);
        else if (!qp->lif_curr_exp) /* if_curr_delta */
            put_mults(q, name, "p11 = exp(-dt/tau_m)", q->tmp, n, arr, L->size, L->p11);
        put_q16(q, name, "initial v", "mV", col_init(q, p, "v"), size, qp->lif0,
                sizeof *qp->lif0, offsetof(struct fx_lif_state, v));
        if (!cond && !qp->lif_curr_exp) { /* if_curr_delta */
            put_k_in(q, name, qp, arr, L->size, L->k_in[0], L->k_in[1]);
            break;
        }
        static const char *const tau_name[2] = {"tau_syn_E", "tau_syn_I"};
        static const char *const k_what[2][2] = {
            {"p21e (exc. current LSB -> Q16 mV)", "p21i (inh. current LSB -> Q16 mV)"},
            {"kg_e = lsb*dt/cm (Q1.30)", "kg_i = lsb*dt/cm (Q1.30)"}};
        static const char *const p22_what[2] = {"p22e = exp(-dt/tau_syn_E)",
                                                "p22i = exp(-dt/tau_syn_I)"};
        for (int r = 0; r < 2; r++) {
            const double *ts = col(q, p, tau_name[r]);
            double *k_in = cond ? c->c : r ? c->e : c->c; /* lif_curr_exp's wait too */
            for (uint32_t i = 0; i < n; i++)
                k_in[i] = cond ? ldexp(qp->w_lsb[r] * h / c->b[i], FX_COND_GAMMA_SHIFT)
                               : ldexp(snn__coef_p21(h, c->a[i], c->b[i], ts[i]) * qp->w_lsb[r],
                                       FX_V_FRAC_BITS);
            if (cond)
                put_mults(q, name, k_what[cond][r], k_in, n, arr, L->size, L->k_in[r]);
            for (uint32_t i = 0; i < n; i++)
                q->tmp[i] = snn_det_exp(-h / ts[i]);
            put_mults(q, name, p22_what[r], q->tmp, n, arr, L->size, L->p22[r]);
        }
        if (cond) {
            PUT_Q16(struct fx_lif_cond_exp, e_rev_e, "e_rev_E", "mV", col(q, p, "e_rev_E"));
            PUT_Q16(struct fx_lif_cond_exp, e_rev_i, "e_rev_I", "mV", col(q, p, "e_rev_I"));
        } else {
            static const char *const what[3] = {"p11 = exp(-dt/tau_m)",
                                                "p21e (exc. current LSB -> Q16 mV)",
                                                "p21i (inh. current LSB -> Q16 mV)"};
            const double *const x[3] = {c->d, c->c, c->e};
            typedef struct fx_lif_curr_exp T;
            const size_t off[3] = {offsetof(T, p11), offsetof(T, p21e), offsetof(T, p21i)};
            put_dot3(q, name, what, x, n, arr, L->size, off, offsetof(T, shift));
        }
        break;
    }
    case SNN_MODEL_IZHIKEVICH: {
        void *arr = qp->izhikevich;
        typedef struct fx_izhikevich T;
        for (uint32_t i = 0; i < n; i++)
            q->tmp[i] = 0.04 * h;
        PUT_MULT(T, k_v2, "k_v2 = 0.04 dt", q->tmp);
        for (uint32_t i = 0; i < n; i++)
            q->tmp[i] = 5.0 * h;
        PUT_MULT(T, k_v1, "k_v1 = 5 dt", q->tmp);
        for (uint32_t i = 0; i < n; i++)
            q->tmp[i] = h;
        PUT_MULT(T, k_u, "k_u = dt", q->tmp);
        const double *io = col(q, p, "i_offset");
        for (uint32_t i = 0; i < n; i++)
            c->a[i] = (140.0 + io[i]) * h;
        PUT_Q16(T, c0, "c0 = (140 + i_offset) dt", "mV", c->a);
        memcpy(c->a, col(q, p, "a"), n * sizeof(double));
        const double *b = col(q, p, "b");
        for (uint32_t i = 0; i < n; i++)
            c->b[i] = c->a[i] * b[i] * h;
        PUT_MULT(T, ab_h, "ab_h = a b dt", c->b);
        for (uint32_t i = 0; i < n; i++)
            c->b[i] = c->a[i] * h;
        PUT_MULT(T, a_h, "a_h = a dt", c->b);
        PUT_Q16(T, c, "c", "mV", col(q, p, "c"));
        PUT_Q16(T, d, "d", "mV/ms", col(q, p, "d"));
        PUT_Q16(T, v_thresh, "v_thresh", "mV", col(q, p, "v_thresh"));
        put_k_in(q, name, qp, arr, sizeof(T), offsetof(T, k_in_e), offsetof(T, k_in_i));
        put_q16(q, name, "initial v", "mV", col_init(q, p, "v"), size, qp->izh0,
                sizeof *qp->izh0, offsetof(struct fx_izh_state, v));
        put_q16(q, name, "initial u", "mV/ms", col_init(q, p, "u"), size, qp->izh0,
                sizeof *qp->izh0, offsetof(struct fx_izh_state, u));
        break;
    }
    case SNN_MODEL_IF: {
        void *arr = qp->if_;
        typedef struct fx_if T;
        PUT_Q16(T, v_thresh, "v_thresh", "mV", col(q, p, "v_thresh"));
        PUT_Q16(T, v_reset, "v_reset", "mV", col(q, p, "v_reset"));
        PUT_Q16(T, bias, "bias", "mV", col(q, p, "bias"));
        put_k_in(q, name, qp, arr, sizeof(T), offsetof(T, k_in_e), offsetof(T, k_in_i));
        for (uint32_t i = 0; i < n; i++)
            qp->if_[i].reset_subtract = pop->reset == SNN_RESET_SUBTRACT;
        put_q16(q, name, "initial v", "mV", col_init(q, p, "v"), size, qp->if0,
                sizeof *qp->if0, offsetof(struct fx_if_state, v));
        break;
    }
    case SNN_MODEL_SPIKE_SOURCE_POISSON: {
        memcpy(c->a, col(q, p, "rate"), n * sizeof(double));
        memcpy(c->b, col(q, p, "start"), n * sizeof(double));
        const double *dur = col(q, p, "duration");
        double pmax = 0, abs_err = 0;
        for (uint32_t i = 0; i < n; i++) {
            double prob = snn__coef_poisson_p(c->a[i], h);
            double t = floor(ldexp(prob, 32) + 0.5);
            qp->poisson[i].p32 = t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
            qp->poisson[i].start_step = (uint32_t)steps_of(c->b[i], h);
            double end = c->b[i] + dur[i];
            qp->poisson[i].end_step = end / h >= 4294967295.0 ? UINT32_MAX : (uint32_t)steps_of(end, h);
            pmax = fmax(pmax, prob);
            abs_err = fmax(abs_err, fabs(ldexp(qp->poisson[i].p32, -32) - prob));
        }
        add_report(q, name, "spike probability per step", "", pmax, abs_err,
                   pmax > 0 ? abs_err / pmax : 0);
        break;
    }
    case SNN_MODEL_SPIKE_SOURCE_ARRAY: {
        /* Times to steps, round half up; repeats within a step merge. */
        uint32_t total = pop->times_off ? pop->times_off[n] : 0;
        qp->src_steps = snn_arena_array(q->qn->arena, total ? total : 1, sizeof(uint32_t));
        if (!qp->src_steps) {
            q->err = SNN_ENOMEM;
            return;
        }
        uint32_t k = 0, merged = 0;
        double abs_err = 0, tmax = 0;
        for (uint32_t i = 0; i < n; i++) {
            qp->src_off[i] = k;
            uint32_t lo = pop->times_off ? pop->times_off[i] : 0;
            uint32_t hi = pop->times_off ? pop->times_off[i + 1] : 0;
            for (uint32_t j = lo; j < hi; j++) {
                uint32_t s = (uint32_t)steps_of(pop->times[j], h);
                abs_err = fmax(abs_err, fabs(s * h - pop->times[j]));
                tmax = fmax(tmax, pop->times[j]);
                if (k > qp->src_off[i] && qp->src_steps[k - 1] == s) {
                    merged++;
                    continue;
                }
                qp->src_steps[k++] = s;
            }
        }
        qp->src_off[n] = k;
        if (merged)
            snn_diag_warning(q->d, &pop->loc,
                             "population '%s': %u spike times fall in a step that already has a "
                             "spike of the same neuron and were merged (dt = %g ms)",
                             name, merged, h);
        add_report(q, name, "spike times (whole steps)", "ms", tmax, abs_err,
                   tmax > 0 ? abs_err / tmax : 0);
        break;
    }
    case SNN_MODEL_COUNT: SNN_ASSERT(0);
    }
    if (shared && !q->err)
        for (uint32_t i = 1; i < size; i++)
            memcpy((char *)q->par + i * q->par_size, q->par, q->par_size);
}

int snn_quantize(const struct snn_net *net, struct snn_diag *d, struct snn_qnet **out)
{
    *out = NULL;
    struct snn_arena *a = snn_arena_new();
    if (!a)
        return SNN_ENOMEM;
    struct snn_qnet *qn = snn_arena_alloc(a, sizeof *qn);
    uint32_t maxn = 1;
    for (uint32_t p = 0; p < net->n_pops; p++)
        if (net->pops[p].size > maxn)
            maxn = net->pops[p].size;
    struct q q = {.net = net, .qn = qn, .d = d};
    struct cols c = {0};
    if (qn) {
        qn->arena = a;
        qn->n_pops = net->n_pops;
        qn->pops = snn_arena_array(a, net->n_pops ? net->n_pops : 1, sizeof *qn->pops);
        q.tmp = snn_malloc(maxn * sizeof(double));
        c.a = snn_malloc(maxn * sizeof(double));
        c.b = snn_malloc(maxn * sizeof(double));
        c.c = snn_malloc(maxn * sizeof(double));
        c.d = snn_malloc(maxn * sizeof(double));
        c.e = snn_malloc(maxn * sizeof(double));
    }
    if (!qn || !qn->pops || !q.tmp || !c.a || !c.b || !c.c || !c.d || !c.e) {
        q.err = SNN_ENOMEM;
    } else {
        choose_weight_units(&q);
        for (uint32_t p = 0; p < net->n_pops && !q.err; p++)
            quantize_pop(&q, p, &c);
        if (!q.err)
            report_weights(&q);
    }
    snn_free(q.tmp);
    snn_free(c.a);
    snn_free(c.b);
    snn_free(c.c);
    snn_free(c.d);
    snn_free(c.e);
    if (q.err) {
        snn_arena_free(a);
        return q.err;
    }
    *out = qn;
    return 0;
}

void snn_qnet_free(struct snn_qnet *q)
{
    if (q)
        snn_arena_free(q->arena);
}

void snn_qnet_print_report(const struct snn_qnet *q, FILE *out)
{
    fprintf(out, "%-20s %-40s %14s %12s %12s\n", "where", "value", "largest", "abs error",
            "rel error");
    for (size_t i = 0; i < q->n_errs; i++) {
        const struct snn_qerr *e = &q->errs[i];
        char largest[64];
        snprintf(largest, sizeof largest, "%.6g%s%s", e->value, *e->unit ? " " : "", e->unit);
        fprintf(out, "%-20s %-40s %14s %12.3g %12.3g\n", e->where, e->what, largest, e->abs_err,
                e->rel_err);
    }
}

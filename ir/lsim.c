/*
 * ir/lsim.c: the layer reference simulator (ir/lsim.h; docs/numerics.md,
 * "The layer view", is the contract).
 *
 * Takes a verified graph and its quantization; gives, step by step, every
 * spiking node's nonzero outputs and the head's values.  Each node has one
 * dense output buffer, kept position-major ((y·W + x)·C + c, the sdt DMEM
 * layout), so a scan of it yields events in (y, x, c) order and a linear
 * layer's inner loop runs over contiguous output channels.  Convolutions
 * are event-driven as on the accelerator: every nonzero input adds its
 * weights to the outputs it reaches (weights transposed to [c][ky][kx][o]
 * for that), in wrapping 32-bit sums.
 *
 * The integer form and the float64 mode are separate kernels over the
 * same walk; a simulator holds one or the other (int32 or double
 * buffers), never both.  Memory is allocated once in snn_lsim_new; a step
 * allocates nothing.
 */
#include "ir/lsim.h"

#include <math.h>
#include <string.h>

#include "abi/fixed.h"
#include "support/arena.h"
#include "support/err.h"

struct rt {
    int32_t *out;       /* integer form: the output, position-major */
    double *outf;       /* float64 mode */
    bool alias;         /* out/outf belong to the input node (tokens) */
    int32_t *v, *s;     /* neuron state: V, and I-LIF's last spike */
    double *vf, *sf;
    int32_t *wt;        /* conv: transposed weights */
    double *wtf;
};

struct snn_lsim {
    const struct snn_layer_graph *g;
    const struct snn_lquant *lq;
    bool f64;
    uint32_t step;
    struct rt *rt;
    uint32_t *acc;      /* scratch accumulator: the largest conv, sumpool or SDSA output */
    double *accf;
    int32_t *kv;        /* SDSA v2's KV, [C][d] of the largest */
    uint8_t *inbuf;     /* an input step, [c][h][w] */
    struct snn_levent *ev;
    int32_t *head;      /* the head, [c][h][w] */
    double *headf;
};

static size_t tsize(struct snn_shape s) { return (size_t)s.c * s.h * s.w; }

bool snn_lsim_is_spiking(const struct snn_lnode *n)
{
    switch (n->op) {
    case SNN_L_LIF:
    case SNN_L_ILIF:
    case SNN_L_SDSA1: return true;
    case SNN_L_MAXPOOL: return n->kind != SNN_T_Q16;
    default: return false;
    }
}

/* ---- setup ------------------------------------------------------------------- */

void snn_lsim_free(struct snn_lsim *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; s->rt && i < s->g->n_nodes; i++) {
        struct rt *r = &s->rt[i];
        if (!r->alias) {
            snn_free(r->out);
            snn_free(r->outf);
        }
        snn_free(r->v);
        snn_free(r->s);
        snn_free(r->vf);
        snn_free(r->sf);
        snn_free(r->wt);
        snn_free(r->wtf);
    }
    snn_free(s->rt);
    snn_free(s->acc);
    snn_free(s->accf);
    snn_free(s->kv);
    snn_free(s->inbuf);
    snn_free(s->ev);
    snn_free(s->head);
    snn_free(s->headf);
    snn_free(s);
}

/* A zeroed array of n elements of size bytes, at least one. */
static void *zalloc(size_t n, size_t size) { return snn_calloc(n ? n : 1, size); }

/* Conv weights, [out][in per group][ky][kx] -> dense [c][ky][kx][out] or
 * depthwise [ky][kx][c]. */
static int transpose_weights(struct snn_lsim *s, uint32_t i)
{
    const struct snn_lnode *n = &s->g->nodes[i];
    const struct snn_lq_node *qn = &s->lq->nodes[i];
    struct rt *r = &s->rt[i];
    uint32_t nout = n->shape.c;
    uint32_t per_out = qn->w_count / nout;
    if (s->f64)
        r->wtf = zalloc(qn->w_count, sizeof *r->wtf);
    else
        r->wt = zalloc(qn->w_count, sizeof *r->wt);
    if (!r->wt && !r->wtf)
        return SNN_ENOMEM;
    for (uint32_t o = 0; o < nout; o++)
        for (uint32_t e = 0; e < per_out; e++) {
            size_t src = (size_t)o * per_out + e;
            /* e = c·k² + tap (depthwise: e = tap, the input channel is o) */
            size_t dst = (size_t)e * nout + o;
            if (s->f64)
                r->wtf[dst] = qn->w_real[src];
            else
                r->wt[dst] = qn->w[src];
        }
    return 0;
}

static int setup_node(struct snn_lsim *s, uint32_t i, size_t *acc_max, size_t *kv_max,
                      size_t *in_max, size_t *ev_max)
{
    const struct snn_lnode *n = &s->g->nodes[i];
    struct rt *r = &s->rt[i];
    size_t size = tsize(n->shape);
    if (n->op == SNN_L_TOKENS) { /* the same data: position t = y·W + x */
        r->alias = true;
        r->out = s->rt[n->in[0]].out;
        r->outf = s->rt[n->in[0]].outf;
        return 0;
    }
    if (s->f64)
        r->outf = zalloc(size, sizeof *r->outf);
    else
        r->out = zalloc(size, sizeof *r->out);
    if (!r->out && !r->outf)
        return SNN_ENOMEM;
    size_t state = 0;
    switch (n->op) {
    case SNN_L_INPUT: *in_max = size > *in_max ? size : *in_max; break;
    case SNN_L_CONV:
        *acc_max = size > *acc_max ? size : *acc_max;
        if (transpose_weights(s, i))
            return SNN_ENOMEM;
        break;
    case SNN_L_SUMPOOL: *acc_max = size > *acc_max ? size : *acc_max; break;
    case SNN_L_SDSA2: {
        size_t kv = (size_t)n->shape.c * (n->shape.c / n->u.sdsa2.heads);
        *kv_max = kv > *kv_max ? kv : *kv_max;
        *acc_max = size > *acc_max ? size : *acc_max;
        break;
    }
    case SNN_L_SDSA1:
        state = n->shape.c;
        *acc_max = state > *acc_max ? state : *acc_max;
        break;
    case SNN_L_LIF:
    case SNN_L_ILIF: state = size; break;
    default: break;
    }
    if (snn_lsim_is_spiking(n))
        *ev_max = size > *ev_max ? size : *ev_max;
    if (state) {
        bool two = n->op == SNN_L_ILIF;
        if (s->f64) {
            r->vf = zalloc(state, sizeof *r->vf);
            r->sf = two ? zalloc(state, sizeof *r->sf) : NULL;
            if (!r->vf || (two && !r->sf))
                return SNN_ENOMEM;
        } else {
            r->v = zalloc(state, sizeof *r->v);
            r->s = two ? zalloc(state, sizeof *r->s) : NULL;
            if (!r->v || (two && !r->s))
                return SNN_ENOMEM;
        }
    }
    return 0;
}

int snn_lsim_new(const struct snn_net *net, const struct snn_lquant *lq, bool float64,
                 struct snn_lsim **out)
{
    *out = NULL;
    const struct snn_layer_graph *g = net->layers;
    SNN_ASSERT(g && lq->n_nodes == g->n_nodes && g->has_output);
    struct snn_lsim *s = snn_calloc(1, sizeof *s);
    if (!s)
        return SNN_ENOMEM;
    s->g = g;
    s->lq = lq;
    s->f64 = float64;
    s->rt = zalloc(g->n_nodes, sizeof *s->rt);
    if (!s->rt) {
        snn_free(s);
        return SNN_ENOMEM;
    }
    size_t acc_max = 0, kv_max = 0, in_max = 0, ev_max = 0;
    int err = 0;
    for (uint32_t i = 0; i < g->n_nodes && !err; i++)
        err = setup_node(s, i, &acc_max, &kv_max, &in_max, &ev_max);
    size_t head = tsize(g->nodes[g->output].shape);
    if (!err) {
        if (float64) {
            s->accf = zalloc(acc_max, sizeof *s->accf);
            s->headf = zalloc(head, sizeof *s->headf);
        } else {
            s->acc = zalloc(acc_max, sizeof *s->acc);
            s->head = zalloc(head, sizeof *s->head);
        }
        s->kv = zalloc(kv_max, sizeof *s->kv);
        s->inbuf = zalloc(in_max, 1);
        s->ev = zalloc(ev_max, sizeof *s->ev);
        if ((!s->acc && !s->accf) || (!s->head && !s->headf) || !s->kv || !s->inbuf || !s->ev)
            err = SNN_ENOMEM;
    }
    if (err) {
        snn_lsim_free(s);
        return err;
    }
    *out = s;
    return 0;
}

uint32_t snn_lsim_steps(const struct snn_lsim *s) { return s->step; }

/* ---- the integer form ------------------------------------------------------ */

/* A wrapping int32 sum read as int32, without implementation-defined
 * conversion. */
static int32_t wrap32(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : (int32_t)(u - 2147483648u) + INT32_MIN;
}

static int64_t rshr(int64_t v, uint32_t sh)
{
    return sh == 0 ? v : (v + ((int64_t)1 << (sh - 1))) >> sh;
}

static int32_t requant(int32_t acc, int32_t m, int32_t b, uint32_t sh)
{
    return fx_sat32(rshr((int64_t)acc * m, sh) + b);
}

/* Nearest integer of h / 2^16, a tie to the even one. */
static int64_t round_half_even_q16(int32_t h)
{
    int64_t q = (int64_t)h >> 16, r = (int64_t)h & 0xFFFF;
    if (r > 0x8000 || (r == 0x8000 && (q & 1)))
        q++;
    return q;
}

/* One LIF update of state *v by input x; returns the spike. */
static int32_t lif(int32_t *v, int32_t x, uint32_t k, int32_t theta)
{
    int64_t V = *v;
    int32_t h = fx_sat32(V + (((int64_t)x - V) >> k));
    int32_t spike = h >= theta;
    *v = spike ? 0 : h;
    return spike;
}

static void conv_i(struct snn_lsim *s, uint32_t i)
{
    const struct snn_lnode *n = &s->g->nodes[i], *src = &s->g->nodes[n->in[0]];
    const struct snn_lq_node *qn = &s->lq->nodes[i];
    const struct snn_lconv *cv = &n->u.conv;
    uint32_t C = src->shape.c, H = src->shape.h, W = src->shape.w;
    uint32_t O = n->shape.c, Ho = n->shape.h, Wo = n->shape.w;
    int k = (int)cv->kernel, st = (int)cv->stride, p = (int)cv->pad;
    uint32_t *acc = s->acc;
    const int32_t *in = s->rt[n->in[0]].out, *wt = s->rt[i].wt;
    memset(acc, 0, tsize(n->shape) * sizeof *acc);
    for (uint32_t yi = 0; yi < H; yi++)
        for (uint32_t xi = 0; xi < W; xi++) {
            const int32_t *px = in + ((size_t)yi * W + xi) * C;
            for (uint32_t c = 0; c < C; c++) {
                int32_t v = px[c];
                if (!v)
                    continue;
                for (int ky = 0; ky < k; ky++) {
                    int ny = (int)yi + p - ky;
                    if (ny < 0 || ny % st || ny / st >= (int)Ho)
                        continue;
                    for (int kx = 0; kx < k; kx++) {
                        int nx = (int)xi + p - kx;
                        if (nx < 0 || nx % st || nx / st >= (int)Wo)
                            continue;
                        uint32_t *ar = acc + ((size_t)(ny / st) * Wo + (uint32_t)(nx / st)) * O;
                        size_t tap = (size_t)ky * (size_t)k + (size_t)kx;
                        if (cv->depthwise) {
                            ar[c] += (uint32_t)(wt[tap * O + c] * v);
                        } else {
                            const int32_t *wr = wt + ((size_t)c * (size_t)(k * k) + tap) * O;
                            for (uint32_t o = 0; o < O; o++)
                                ar[o] += (uint32_t)(wr[o] * v);
                        }
                    }
                }
            }
        }
    int32_t *out = s->rt[i].out;
    const struct snn_lq_requant *rq = &qn->rq;
    for (size_t pos = 0; pos < (size_t)Ho * Wo; pos++)
        for (uint32_t o = 0; o < O; o++)
            out[pos * O + o] = requant(wrap32(acc[pos * O + o]), rq->m[o], rq->b[o], rq->sh);
}

static void maxpool_i(struct snn_lsim *s, uint32_t i)
{
    const struct snn_lnode *n = &s->g->nodes[i], *src = &s->g->nodes[n->in[0]];
    uint32_t C = src->shape.c, H = src->shape.h, W = src->shape.w;
    int k = (int)n->u.pool.kernel, st = (int)n->u.pool.stride, p = (int)n->u.pool.pad;
    const int32_t *in = s->rt[n->in[0]].out;
    int32_t *out = s->rt[i].out;
    for (uint32_t y = 0; y < n->shape.h; y++)
        for (uint32_t x = 0; x < n->shape.w; x++) {
            int32_t *o = out + ((size_t)y * n->shape.w + x) * C;
            for (uint32_t c = 0; c < C; c++)
                o[c] = INT32_MIN;
            for (int ky = 0; ky < k; ky++) {
                int yi = (int)y * st - p + ky;
                if (yi < 0 || yi >= (int)H)
                    continue;
                for (int kx = 0; kx < k; kx++) {
                    int xi = (int)x * st - p + kx;
                    if (xi < 0 || xi >= (int)W)
                        continue;
                    const int32_t *px = in + ((size_t)yi * W + (uint32_t)xi) * C;
                    for (uint32_t c = 0; c < C; c++)
                        if (px[c] > o[c])
                            o[c] = px[c];
                }
            }
        }
}

static void sdsa2_i(struct snn_lsim *s, uint32_t i)
{
    const struct snn_lnode *n = &s->g->nodes[i];
    uint32_t C = n->shape.c, N = n->shape.h, d = C / n->u.sdsa2.heads;
    const int32_t *Q = s->rt[n->in[0]].out, *K = s->rt[n->in[1]].out, *V = s->rt[n->in[2]].out;
    int32_t *kv = s->kv;
    uint32_t *acc = s->acc;
    memset(kv, 0, (size_t)C * d * sizeof *kv);
    memset(acc, 0, (size_t)C * N * sizeof *acc);
    for (uint32_t t = 0; t < N; t++)
        for (uint32_t r = 0; r < C; r++)
            if (K[(size_t)t * C + r]) {
                const int32_t *vr = V + (size_t)t * C + r / d * d;
                for (uint32_t j = 0; j < d; j++)
                    kv[(size_t)r * d + j] += vr[j];
            }
    for (uint32_t t = 0; t < N; t++)
        for (uint32_t r = 0; r < C; r++)
            if (Q[(size_t)t * C + r]) {
                uint32_t *ar = acc + (size_t)t * C + r / d * d;
                for (uint32_t j = 0; j < d; j++)
                    ar[j] += (uint32_t)kv[(size_t)r * d + j];
            }
    const struct snn_lq_requant *rq = &s->lq->nodes[i].rq;
    int32_t *out = s->rt[i].out;
    for (size_t e = 0; e < (size_t)C * N; e++)
        out[e] = requant(wrap32(acc[e]), rq->m[e % C], rq->b[e % C], rq->sh);
}

static void node_i(struct snn_lsim *s, uint32_t i)
{
    const struct snn_lnode *n = &s->g->nodes[i];
    const struct snn_lq_node *qn = &s->lq->nodes[i];
    struct rt *r = &s->rt[i];
    size_t size = tsize(n->shape);
    const int32_t *a = n->n_in > 0 ? s->rt[n->in[0]].out : NULL;
    const int32_t *b = n->n_in > 1 ? s->rt[n->in[1]].out : NULL;
    int32_t *out = r->out;
    switch (n->op) {
    case SNN_L_INPUT: {
        size_t hw = (size_t)n->shape.h * n->shape.w;
        snn_lquant_input(s->lq, s->g, i, s->step, s->inbuf);
        for (size_t p = 0; p < hw; p++)
            for (uint32_t c = 0; c < n->shape.c; c++)
                out[p * n->shape.c + c] = s->inbuf[c * hw + p];
        break;
    }
    case SNN_L_CONV: conv_i(s, i); break;
    case SNN_L_LIF:
        for (size_t e = 0; e < size; e++)
            out[e] = lif(&r->v[e], a[e], n->u.lif.tau_shift, qn->theta);
        break;
    case SNN_L_ILIF: {
        uint32_t k = n->u.ilif.decay_shift;
        int64_t dmax = n->u.ilif.d_max;
        for (size_t e = 0; e < size; e++) {
            int32_t h = fx_sat32((((int64_t)r->v[e] - (int64_t)r->s[e] * 65536) >> k) + a[e]);
            int64_t q = round_half_even_q16(h);
            r->s[e] = (int32_t)(q < 0 ? 0 : q > dmax ? dmax : q);
            r->v[e] = h;
            out[e] = r->s[e];
        }
        break;
    }
    case SNN_L_ADD:
        for (size_t e = 0; e < size; e++)
            out[e] = fx_add(a[e], b[e]);
        break;
    case SNN_L_MAXPOOL: maxpool_i(s, i); break;
    case SNN_L_SUMPOOL: {
        const struct snn_lnode *src = &s->g->nodes[n->in[0]];
        uint32_t C = n->shape.c;
        size_t hw = (size_t)src->shape.h * src->shape.w;
        for (uint32_t c = 0; c < C; c++) {
            uint32_t sum = 0;
            for (size_t p = 0; p < hw; p++)
                sum += (uint32_t)a[p * C + c];
            out[c] = requant(wrap32(sum), qn->rq.m[c], qn->rq.b[c], qn->rq.sh);
        }
        break;
    }
    case SNN_L_SDSA1: {
        uint32_t C = n->shape.c, N = n->shape.h;
        const int32_t *V = s->rt[n->in[2]].out;
        int32_t *att = (int32_t *)s->acc;
        for (uint32_t c = 0; c < C; c++) {
            int64_t cnt = 0;
            for (uint32_t t = 0; t < N; t++)
                cnt += b[(size_t)t * C + c] & V[(size_t)t * C + c];
            att[c] = lif(&r->v[c], fx_sat32(cnt * 65536), n->u.sdsa1.tau_shift, qn->theta);
        }
        for (uint32_t t = 0; t < N; t++)
            for (uint32_t c = 0; c < C; c++)
                out[(size_t)t * C + c] = a[(size_t)t * C + c] & att[c];
        break;
    }
    case SNN_L_SDSA2: sdsa2_i(s, i); break;
    case SNN_L_TOKENS: break;
    case SNN_L_FLATTEN: {
        /* feature f = c·H·W + y·W + x (tensor order), stored at f */
        const struct snn_lnode *src = &s->g->nodes[n->in[0]];
        uint32_t C = src->shape.c;
        size_t hw = (size_t)src->shape.h * src->shape.w;
        for (size_t p = 0; p < hw; p++)
            for (uint32_t c = 0; c < C; c++)
                out[c * hw + p] = a[p * C + c];
        break;
    }
    }
}

/* ---- the float64 mode --------------------------------------------------------- */

static double round_half_even(double x)
{
    double f = floor(x), d = x - f;
    if (d > 0.5 || (d == 0.5 && fmod(f, 2.0) != 0))
        f += 1;
    return f;
}

static double lif_f(double *v, double x, uint32_t k, double theta)
{
    double h = *v + (x - *v) / ldexp(1.0, (int)k);
    double spike = h >= theta ? 1.0 : 0.0;
    *v = spike ? 0.0 : h;
    return spike;
}

static void conv_f(struct snn_lsim *s, uint32_t i)
{
    const struct snn_lnode *n = &s->g->nodes[i], *src = &s->g->nodes[n->in[0]];
    const struct snn_lq_node *qn = &s->lq->nodes[i];
    const struct snn_lconv *cv = &n->u.conv;
    uint32_t C = src->shape.c, H = src->shape.h, W = src->shape.w;
    uint32_t O = n->shape.c, Ho = n->shape.h, Wo = n->shape.w;
    int k = (int)cv->kernel, st = (int)cv->stride, p = (int)cv->pad;
    double *acc = s->accf;
    const double *in = s->rt[n->in[0]].outf, *wt = s->rt[i].wtf;
    memset(acc, 0, tsize(n->shape) * sizeof *acc);
    for (uint32_t yi = 0; yi < H; yi++)
        for (uint32_t xi = 0; xi < W; xi++) {
            const double *px = in + ((size_t)yi * W + xi) * C;
            for (uint32_t c = 0; c < C; c++) {
                double v = px[c];
                if (v == 0)
                    continue;
                for (int ky = 0; ky < k; ky++) {
                    int ny = (int)yi + p - ky;
                    if (ny < 0 || ny % st || ny / st >= (int)Ho)
                        continue;
                    for (int kx = 0; kx < k; kx++) {
                        int nx = (int)xi + p - kx;
                        if (nx < 0 || nx % st || nx / st >= (int)Wo)
                            continue;
                        double *ar = acc + ((size_t)(ny / st) * Wo + (uint32_t)(nx / st)) * O;
                        size_t tap = (size_t)ky * (size_t)k + (size_t)kx;
                        if (cv->depthwise) {
                            ar[c] += wt[tap * O + c] * v;
                        } else {
                            const double *wr = wt + ((size_t)c * (size_t)(k * k) + tap) * O;
                            for (uint32_t o = 0; o < O; o++)
                                ar[o] += wr[o] * v;
                        }
                    }
                }
            }
        }
    double *out = s->rt[i].outf;
    for (size_t pos = 0; pos < (size_t)Ho * Wo; pos++)
        for (uint32_t o = 0; o < O; o++)
            out[pos * O + o] = acc[pos * O + o] * qn->f_gain[o] + qn->f_offset[o];
}

static void maxpool_f(struct snn_lsim *s, uint32_t i)
{
    const struct snn_lnode *n = &s->g->nodes[i], *src = &s->g->nodes[n->in[0]];
    uint32_t C = src->shape.c, H = src->shape.h, W = src->shape.w;
    int k = (int)n->u.pool.kernel, st = (int)n->u.pool.stride, p = (int)n->u.pool.pad;
    const double *in = s->rt[n->in[0]].outf;
    double *out = s->rt[i].outf;
    for (uint32_t y = 0; y < n->shape.h; y++)
        for (uint32_t x = 0; x < n->shape.w; x++) {
            double *o = out + ((size_t)y * n->shape.w + x) * C;
            for (uint32_t c = 0; c < C; c++)
                o[c] = -INFINITY;
            for (int ky = 0; ky < k; ky++) {
                int yi = (int)y * st - p + ky;
                if (yi < 0 || yi >= (int)H)
                    continue;
                for (int kx = 0; kx < k; kx++) {
                    int xi = (int)x * st - p + kx;
                    if (xi < 0 || xi >= (int)W)
                        continue;
                    const double *px = in + ((size_t)yi * W + (uint32_t)xi) * C;
                    for (uint32_t c = 0; c < C; c++)
                        if (px[c] > o[c])
                            o[c] = px[c];
                }
            }
        }
}

static void sdsa2_f(struct snn_lsim *s, uint32_t i)
{
    const struct snn_lnode *n = &s->g->nodes[i];
    const struct snn_lq_node *qn = &s->lq->nodes[i];
    uint32_t C = n->shape.c, N = n->shape.h, d = C / n->u.sdsa2.heads;
    const double *Q = s->rt[n->in[0]].outf, *K = s->rt[n->in[1]].outf,
                 *V = s->rt[n->in[2]].outf;
    int32_t *kv = s->kv; /* counts: exact in integers */
    double *acc = s->accf;
    memset(kv, 0, (size_t)C * d * sizeof *kv);
    memset(acc, 0, (size_t)C * N * sizeof *acc);
    for (uint32_t t = 0; t < N; t++)
        for (uint32_t r = 0; r < C; r++)
            if (K[(size_t)t * C + r] != 0) {
                const double *vr = V + (size_t)t * C + r / d * d;
                for (uint32_t j = 0; j < d; j++)
                    kv[(size_t)r * d + j] += vr[j] != 0;
            }
    for (uint32_t t = 0; t < N; t++)
        for (uint32_t r = 0; r < C; r++)
            if (Q[(size_t)t * C + r] != 0) {
                double *ar = acc + (size_t)t * C + r / d * d;
                for (uint32_t j = 0; j < d; j++)
                    ar[j] += kv[(size_t)r * d + j];
            }
    double *out = s->rt[i].outf;
    for (size_t e = 0; e < (size_t)C * N; e++)
        out[e] = acc[e] * qn->f_gain[e % C];
}

static void node_f(struct snn_lsim *s, uint32_t i)
{
    const struct snn_lnode *n = &s->g->nodes[i];
    const struct snn_lq_node *qn = &s->lq->nodes[i];
    struct rt *r = &s->rt[i];
    size_t size = tsize(n->shape);
    const double *a = n->n_in > 0 ? s->rt[n->in[0]].outf : NULL;
    const double *b = n->n_in > 1 ? s->rt[n->in[1]].outf : NULL;
    double *out = r->outf;
    switch (n->op) {
    case SNN_L_INPUT: {
        size_t hw = (size_t)n->shape.h * n->shape.w;
        snn_lquant_input(s->lq, s->g, i, s->step, s->inbuf);
        for (size_t p = 0; p < hw; p++)
            for (uint32_t c = 0; c < n->shape.c; c++)
                out[p * n->shape.c + c] = s->inbuf[c * hw + p];
        break;
    }
    case SNN_L_CONV: conv_f(s, i); break;
    case SNN_L_LIF:
        for (size_t e = 0; e < size; e++)
            out[e] = lif_f(&r->vf[e], a[e], n->u.lif.tau_shift, qn->theta_real);
        break;
    case SNN_L_ILIF: {
        double decay = ldexp(1.0, -(int)n->u.ilif.decay_shift), dmax = n->u.ilif.d_max;
        for (size_t e = 0; e < size; e++) {
            double h = (r->vf[e] - r->sf[e]) * decay + a[e];
            double q = round_half_even(h);
            r->sf[e] = q < 0 ? 0 : q > dmax ? dmax : q;
            r->vf[e] = h;
            out[e] = r->sf[e];
        }
        break;
    }
    case SNN_L_ADD:
        for (size_t e = 0; e < size; e++)
            out[e] = a[e] + b[e];
        break;
    case SNN_L_MAXPOOL: maxpool_f(s, i); break;
    case SNN_L_SUMPOOL: {
        const struct snn_lnode *src = &s->g->nodes[n->in[0]];
        uint32_t C = n->shape.c;
        size_t hw = (size_t)src->shape.h * src->shape.w;
        for (uint32_t c = 0; c < C; c++) {
            double sum = 0;
            for (size_t p = 0; p < hw; p++)
                sum += a[p * C + c];
            out[c] = sum * qn->f_gain[c];
        }
        break;
    }
    case SNN_L_SDSA1: {
        uint32_t C = n->shape.c, N = n->shape.h;
        const double *V = s->rt[n->in[2]].outf;
        double *att = s->accf;
        for (uint32_t c = 0; c < C; c++) {
            double cnt = 0;
            for (uint32_t t = 0; t < N; t++)
                cnt += (b[(size_t)t * C + c] != 0 && V[(size_t)t * C + c] != 0);
            att[c] = lif_f(&r->vf[c], cnt, n->u.sdsa1.tau_shift, qn->theta_real);
        }
        for (uint32_t t = 0; t < N; t++)
            for (uint32_t c = 0; c < C; c++)
                out[(size_t)t * C + c] = a[(size_t)t * C + c] != 0 ? att[c] : 0.0;
        break;
    }
    case SNN_L_SDSA2: sdsa2_f(s, i); break;
    case SNN_L_TOKENS: break;
    case SNN_L_FLATTEN: {
        const struct snn_lnode *src = &s->g->nodes[n->in[0]];
        uint32_t C = src->shape.c;
        size_t hw = (size_t)src->shape.h * src->shape.w;
        for (size_t p = 0; p < hw; p++)
            for (uint32_t c = 0; c < C; c++)
                out[c * hw + p] = a[p * C + c];
        break;
    }
    }
}

/* ---- stepping ----------------------------------------------------------------- */

void snn_lsim_read(const struct snn_lsim *s, uint32_t node, int32_t *out)
{
    const struct snn_lnode *n = &s->g->nodes[node];
    const struct rt *r = &s->rt[node];
    size_t hw = (size_t)n->shape.h * n->shape.w;
    bool q16 = n->kind == SNN_T_Q16;
    for (size_t p = 0; p < hw; p++)
        for (uint32_t c = 0; c < n->shape.c; c++) {
            size_t from = p * n->shape.c + c;
            int32_t v = r->out ? r->out[from] : 0;
            if (s->f64) /* a real value seen as Q15.16; spikes and counts are exact */
                v = q16 ? fx_sat32((int64_t)fmax(fmin(floor(r->outf[from] * 65536.0 + 0.5),
                                                      4e18), -4e18))
                        : (int32_t)r->outf[from];
            out[c * hw + p] = v;
        }
}

void snn_lsim_read_f64(const struct snn_lsim *s, uint32_t node, double *out)
{
    const struct snn_lnode *n = &s->g->nodes[node];
    const struct rt *r = &s->rt[node];
    size_t hw = (size_t)n->shape.h * n->shape.w;
    double unit = n->kind == SNN_T_Q16 ? 65536.0 : 1.0;
    for (size_t p = 0; p < hw; p++)
        for (uint32_t c = 0; c < n->shape.c; c++) {
            size_t from = p * n->shape.c + c;
            out[c * hw + p] = s->f64 ? r->outf[from] : (double)r->out[from] / unit;
        }
}

void snn_lsim_read_state(const struct snn_lsim *s, uint32_t node, int32_t *out,
                         double *out_f64)
{
    const struct snn_lnode *n = &s->g->nodes[node];
    const struct rt *r = &s->rt[node];
    if (n->op == SNN_L_SDSA1) {
        for (uint32_t c = 0; c < n->shape.c; c++) {
            if (s->f64 && out_f64)
                out_f64[c] = r->vf[c];
            else if (!s->f64 && out)
                out[c] = r->v[c];
        }
        return;
    }
    if (n->op != SNN_L_LIF && n->op != SNN_L_ILIF)
        return;
    size_t hw = (size_t)n->shape.h * n->shape.w;
    for (size_t p = 0; p < hw; p++)
        for (uint32_t c = 0; c < n->shape.c; c++) {
            size_t from = p * n->shape.c + c;
            if (s->f64 && out_f64)
                out_f64[c * hw + p] = r->vf[from];
            else if (!s->f64 && out)
                out[c * hw + p] = r->v[from];
        }
}

/* The nonzero outputs of node i in (y, x, c) order into s->ev; their count. */
static uint32_t events(struct snn_lsim *s, uint32_t i)
{
    const struct snn_lnode *n = &s->g->nodes[i];
    const struct rt *r = &s->rt[i];
    uint32_t C = n->shape.c, W = n->shape.w, cnt = 0;
    size_t size = tsize(n->shape);
    for (size_t e = 0; e < size; e++) {
        int32_t v = s->f64 ? (int32_t)r->outf[e] : r->out[e];
        if (!v)
            continue;
        size_t p = e / C;
        s->ev[cnt++] = (struct snn_levent){(uint16_t)(e % C), (uint16_t)(p / W),
                                           (uint16_t)(p % W), (uint16_t)v};
    }
    return cnt;
}

int snn_lsim_step(struct snn_lsim *s, const struct snn_lsim_opts *o)
{
    const struct snn_layer_graph *g = s->g;
    if (s->step >= g->timesteps)
        return SNN_EINVAL;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        if (s->f64)
            node_f(s, i);
        else
            node_i(s, i);
        if (o && o->on_events && snn_lsim_is_spiking(&g->nodes[i])) {
            uint32_t cnt = events(s, i);
            int err = o->on_events(o->ctx, s->step, i, s->ev, cnt);
            if (err)
                return err;
        }
    }
    uint32_t step = s->step++;
    if (o && o->on_head) {
        size_t n = tsize(g->nodes[g->output].shape);
        if (s->f64)
            snn_lsim_read_f64(s, g->output, s->headf);
        else
            snn_lsim_read(s, g->output, s->head);
        return o->on_head(o->ctx, step, s->f64 ? NULL : s->head, s->f64 ? s->headf : NULL,
                          (uint32_t)n);
    }
    return 0;
}

/* ---- a whole run ------------------------------------------------------------ */

void snn_lsim_result_free(struct snn_lsim_result *r)
{
    if (!r)
        return;
    snn_free(r->head_sum);
    snn_free(r->head_mean);
    snn_free(r->node_events);
    memset(r, 0, sizeof *r);
}

struct run {
    const struct snn_lsim_opts *user;
    struct snn_lsim_result *res;
    double *sum_f;
};

static int run_events(void *ctx, uint32_t step, uint32_t node, const struct snn_levent *ev,
                      uint32_t n)
{
    struct run *r = ctx;
    if (r->res)
        r->res->node_events[node] += n;
    return r->user->on_events ? r->user->on_events(r->user->ctx, step, node, ev, n) : 0;
}

static int run_head(void *ctx, uint32_t step, const int32_t *q16, const double *f64,
                    uint32_t n)
{
    struct run *r = ctx;
    if (r->res)
        for (uint32_t e = 0; e < n; e++) {
            if (q16)
                r->res->head_sum[e] += q16[e];
            else
                r->sum_f[e] += f64[e];
        }
    return r->user->on_head ? r->user->on_head(r->user->ctx, step, q16, f64, n) : 0;
}

int snn_lsim_run(const struct snn_net *net, const struct snn_lquant *lq,
                 const struct snn_lsim_opts *o, struct snn_lsim_result *res)
{
    const struct snn_layer_graph *g = net->layers;
    const struct snn_lnode *head = &g->nodes[g->output];
    uint32_t n_head = (uint32_t)tsize(head->shape);
    const struct snn_lsim_opts none = {0};
    if (!o)
        o = &none;
    struct run r = {o, res, NULL};
    if (res) {
        memset(res, 0, sizeof *res);
        res->n_head = n_head;
        res->n_nodes = g->n_nodes;
        res->head_sum = zalloc(n_head, sizeof *res->head_sum);
        res->head_mean = zalloc(n_head, sizeof *res->head_mean);
        res->node_events = zalloc(g->n_nodes, sizeof *res->node_events);
        r.sum_f = res->head_mean; /* float64 mode sums here, then divides */
        if (!res->head_sum || !res->head_mean || !res->node_events) {
            snn_lsim_result_free(res);
            return SNN_ENOMEM;
        }
    }
    struct snn_lsim *s;
    int err = snn_lsim_new(net, lq, o->float64, &s);
    struct snn_lsim_opts wrap = {.float64 = o->float64, .ctx = &r,
                                 .on_events = (o->on_events || res) ? run_events : NULL,
                                 .on_head = run_head};
    for (uint32_t t = 0; !err && t < g->timesteps; t++)
        err = snn_lsim_step(s, &wrap);
    snn_lsim_free(s);
    if (err) {
        snn_lsim_result_free(res);
        return err;
    }
    if (res) {
        double T = g->timesteps, unit = head->kind == SNN_T_Q16 && !o->float64 ? 65536.0 : 1.0;
        res->steps = g->timesteps;
        for (uint32_t e = 0; e < n_head; e++) {
            res->head_mean[e] =
                o->float64 ? res->head_mean[e] / T : (double)res->head_sum[e] / unit / T;
            if (res->head_mean[e] > res->head_mean[res->argmax])
                res->argmax = e;
        }
    }
    return 0;
}

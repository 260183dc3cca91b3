/*
 * tests/unit/test_lsim.c: the layer reference simulator (ir/lsim.h).
 *
 * Every op on small cases computed by hand from docs/numerics.md, "The
 * layer view" (LIF with tau 2 and 4, I-LIF's half-even ties, convolutions
 * with stride, padding and groups, bit-serial counts, maxpool on negative
 * q16, sum-pool means, SDSA v1 and v2 against their formulas, saturating
 * adds, flatten order); random graphs against a deliberately naive second
 * implementation written here (tensor order, gathering convolutions,
 * bit-serial products, divisions instead of shifts); event order;
 * determinism; the float64 mode; allocation failures; and the speed of a
 * small spiking transformer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/ir.h"
#include "ir/layer.h"
#include "ir/lquant.h"
#include "ir/lsim.h"
#include "support/arena.h"
#include "support/err.h"

#include "sink.h"

/* ---- building graphs ------------------------------------------------------- */

static struct snn_array arr(struct snn_net *net, uint32_t ndim, const uint32_t *dims,
                            const double *v)
{
    struct snn_array a = {.ndim = ndim, .src = "test"};
    size_t n = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        a.dims[i] = dims[i];
        n *= dims[i];
    }
    a.v = snn_arena_array(net->arena, n, sizeof(double));
    assert_non_null(a.v);
    if (v)
        memcpy(a.v, v, n * sizeof(double));
    return a;
}

static struct snn_lnode *add(struct snn_net *net, const char *name, enum snn_lop op, int a,
                             int b, int c)
{
    struct snn_lnode *n = snn_layers_add(net, name, op);
    assert_non_null(n);
    int in[3] = {a, b, c};
    for (int i = 0; i < 3 && in[i] >= 0; i++)
        n->in[n->n_in++] = (uint32_t)in[i];
    return n;
}

static struct snn_lnode *input(struct snn_net *net, const char *name, enum snn_tkind kind,
                               uint32_t c, uint32_t h, uint32_t w)
{
    struct snn_lnode *n = add(net, name, SNN_L_INPUT, -1, -1, -1);
    n->u.input.shape = (struct snn_shape){c, h, w};
    n->u.input.kind = kind;
    return n;
}

/* Input data [T, c, h, w] (T = the graph's timesteps). */
static void input_data(struct snn_net *net, struct snn_lnode *n, const double *v)
{
    struct snn_shape s = n->u.input.shape;
    uint32_t d[4] = {net->layers->timesteps, s.c, s.h, s.w};
    n->u.input.data = arr(net, 4, d, v);
}

/* A conv whose weights are the integers w with LSQ scale `scale` each. */
static struct snn_lnode *conv(struct snn_net *net, const char *name, int src, uint32_t out,
                              uint32_t cin, uint32_t k, const double *w, double scale)
{
    struct snn_lnode *n = add(net, name, SNN_L_CONV, src, -1, -1);
    n->u.conv.out_channels = out;
    n->u.conv.kernel = k;
    uint32_t d[4] = {out, cin, k, k};
    n->u.conv.weight = arr(net, 4, d, NULL);
    for (uint32_t e = 0; e < out * cin * k * k; e++)
        n->u.conv.weight.v[e] = w[e] * scale;
    uint32_t d1[1] = {out};
    n->u.conv.scale = arr(net, 1, d1, NULL);
    for (uint32_t o = 0; o < out; o++)
        n->u.conv.scale.v[o] = scale;
    return n;
}

/*
 * A driver: counts input "in" [c, h, w] with the given data (T steps) and
 * a depthwise 1 x 1 conv "x" (node 1) whose requantization the test sets
 * (drive_set) so that x = count x m + b in q16 exactly.
 */
static void drive(struct snn_net *net, uint32_t T, uint32_t c, uint32_t h, uint32_t w,
                  const double *counts)
{
    snn_net_layers(net)->timesteps = T;
    struct snn_lnode *in = input(net, "in", SNN_T_COUNTS, c, h, w);
    input_data(net, in, counts);
    struct snn_lnode *x = add(net, "x", SNN_L_CONV, 0, -1, -1);
    x->u.conv.depthwise = true;
    x->u.conv.out_channels = c;
    uint32_t d[4] = {c, 1, 1, 1};
    x->u.conv.weight = arr(net, 4, d, NULL);
    for (uint32_t o = 0; o < c; o++)
        x->u.conv.weight.v[o] = 1;
}

static void drive_set(struct snn_lquant *lq, uint32_t c, int32_t m, const int32_t *b)
{
    struct snn_lq_node *q = &lq->nodes[1];
    q->rq.sh = 0;
    for (uint32_t o = 0; o < c; o++) {
        q->w[o] = 1;
        q->rq.m[o] = m;
        q->rq.b[o] = b[o];
    }
}

static struct snn_lquant *prepare(struct snn_net *net)
{
    struct sink s;
    sink_open(&s);
    int err = snn_layers_verify(net, s.d);
    struct snn_lquant *lq = NULL;
    if (!err)
        err = snn_layers_quantize(net, s.d, &lq);
    if (err)
        fprintf(stderr, "%s", sink_text(&s));
    assert_int_equal(err, 0);
    sink_close(&s);
    return lq;
}

static struct snn_lsim *start(struct snn_net *net, struct snn_lquant *lq, bool f64)
{
    struct snn_lsim *s;
    assert_int_equal(snn_lsim_new(net, lq, f64, &s), 0);
    return s;
}

/* Node i's output after the last step, [c][h][w], in a static buffer. */
static const int32_t *out_of(struct snn_lsim *s, uint32_t i)
{
    static int32_t buf[1 << 16];
    snn_lsim_read(s, i, buf);
    return buf;
}

/* ---- neurons ---------------------------------------------------------------- */

static void test_lif_tau2_and_tau4(void **state)
{
    (void)state;
    /* x in sixteenths: 0.625, 0.625, 0.625, 1.5, -1.25, -0.0625 */
    const double xs[6] = {0.625, 0.625, 0.625, 1.5, -1.25, -0.0625};
    double counts[6];
    for (int t = 0; t < 6; t++)
        counts[t] = 128 + xs[t] * 16;
    struct snn_net *net = snn_net_new();
    drive(net, 6, 1, 1, 1, counts);
    add(net, "l2", SNN_L_LIF, 1, -1, -1)->u.lif.tau_shift = 1;
    add(net, "l4", SNN_L_LIF, 1, -1, -1)->u.lif.tau_shift = 2;
    struct snn_lquant *lq = prepare(net);
    const int32_t b = -128 * 4096;
    drive_set(lq, 1, 4096, &b);
    assert_int_equal(lq->nodes[2].theta, 65536);
    struct snn_lsim *s = start(net, lq, false);
    /*
     * tau 2: H = V + floor((X - V) / 2), X = 40960 (0.625):
     *   20480, 30720, 35840, then X = 98304: 35840 + 31232 = 67072 >= 65536:
     *   a spike, V = 0; X = -81920: -40960; X = -4096: -40960 + 18432.
     * tau 4: 10240, 17920, 23680, 42336, 11272, 7430 (no spike).
     */
    const int32_t x2[6] = {40960, 40960, 40960, 98304, -81920, -4096};
    const int32_t v2[6] = {20480, 30720, 35840, 0, -40960, -22528};
    const int32_t s2[6] = {0, 0, 0, 1, 0, 0};
    const int32_t v4[6] = {10240, 17920, 23680, 42336, 11272, 7430};
    for (int t = 0; t < 6; t++) {
        assert_int_equal(snn_lsim_step(s, NULL), 0);
        int32_t v;
        assert_int_equal(out_of(s, 1)[0], x2[t]);
        assert_int_equal(out_of(s, 2)[0], s2[t]);
        snn_lsim_read_state(s, 2, &v, NULL);
        assert_int_equal(v, v2[t]);
        assert_int_equal(out_of(s, 3)[0], 0);
        snn_lsim_read_state(s, 3, &v, NULL);
        assert_int_equal(v, v4[t]);
    }
    /* T steps are all there are */
    assert_int_equal(snn_lsim_step(s, NULL), SNN_EINVAL);
    assert_int_equal(snn_lsim_steps(s), 6);
    snn_lsim_free(s);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_lif_rounds_towards_minus_infinity(void **state)
{
    (void)state;
    const double counts[3] = {127, 127, 133}; /* x = -1, -1, 5 */
    struct snn_net *net = snn_net_new();
    drive(net, 3, 1, 1, 1, counts);
    add(net, "l", SNN_L_LIF, 1, -1, -1);
    struct snn_lquant *lq = prepare(net);
    const int32_t b = -128;
    drive_set(lq, 1, 1, &b);
    lq->nodes[2].theta = 2;
    struct snn_lsim *s = start(net, lq, false);
    /* floor(-1 / 2) = -1 (truncation would give 0); -1 + floor(0 / 2);
     * -1 + floor(6 / 2) = 2 >= 2: a spike */
    const int32_t v[3] = {-1, -1, 0}, sp[3] = {0, 0, 1};
    for (int t = 0; t < 3; t++) {
        assert_int_equal(snn_lsim_step(s, NULL), 0);
        int32_t got;
        snn_lsim_read_state(s, 2, &got, NULL);
        assert_int_equal(got, v[t]);
        assert_int_equal(out_of(s, 2)[0], sp[t]);
    }
    snn_lsim_free(s);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_ilif_half_even(void **state)
{
    (void)state;
    /* four neurons, x in halves (count = 128 + 2x) */
    const double xs[4][5] = {{1.5, 0, 2.5, -1, 7.5},
                             {0.5, 0.5, 0.5, 0, 0},
                             {3.5, 0, 0, 0, 0},
                             {2.5, -2.5, -0.5, 0, 0}};
    double counts[5 * 4];
    for (int t = 0; t < 5; t++)
        for (int c = 0; c < 4; c++)
            counts[t * 4 + c] = 128 + 2 * xs[c][t];
    struct snn_net *net = snn_net_new();
    drive(net, 5, 4, 1, 1, counts);
    struct snn_lnode *n = add(net, "il", SNN_L_ILIF, 1, -1, -1);
    n->u.ilif.decay_shift = 2;
    n->u.ilif.d_max = 4;
    struct snn_lquant *lq = prepare(net);
    const int32_t b[4] = {-128 * 32768, -128 * 32768, -128 * 32768, -128 * 32768};
    drive_set(lq, 4, 32768, b);
    struct snn_lsim *s = start(net, lq, false);
    /*
     * H = floor((V - S 2^16) / 4) + X, S = clamp(round_half_even(H / 2^16), 0, 4):
     * neuron 0: 1.5 -> 2 (tie to even); floor((98304 - 131072) / 4) = -8192 -> 0;
     *   -2048 + 2.5 = 161792 (2.47) -> 2; 7680 - 65536 -> -0.88 -> -1 -> 0;
     *   -14464 + 7.5 -> 7.28 -> 4 (D);
     * neuron 1: 0.5 -> 0 (tie to even); 8192 + 0.5 = 0.625 -> 1; ...
     * neuron 2: 3.5 -> 4 (tie to even); neuron 3: 2.5 -> 2.
     */
    const int32_t S[4][5] = {{2, 0, 2, 0, 4}, {0, 1, 0, 0, 0}, {4, 0, 0, 0, 0}, {2, 0, 0, 0, 0}};
    const int32_t H[4][5] = {{98304, -8192, 161792, -57856, 477056},
                             {32768, 40960, 26624, 6656, 1664},
                             {229376, -8192, -2048, -512, -128},
                             {163840, -155648, -71680, -17920, -4480}};
    for (int t = 0; t < 5; t++) {
        assert_int_equal(snn_lsim_step(s, NULL), 0);
        int32_t v[4];
        snn_lsim_read_state(s, 2, v, NULL);
        const int32_t *o = out_of(s, 2);
        for (int c = 0; c < 4; c++) {
            assert_int_equal(o[c], S[c][t]);
            assert_int_equal(v[c], H[c][t]);
        }
    }
    snn_lsim_free(s);
    snn_lquant_free(lq);
    snn_net_free(net);
}

/* ---- convolutions ---------------------------------------------------------- */

static void test_conv_stride2_padding(void **state)
{
    (void)state;
    /* spikes at (0, 0), (1, 2), (3, 3) of a 4 x 4 input */
    double img[16] = {0};
    img[0] = img[1 * 4 + 2] = img[3 * 4 + 3] = 1;
    const double w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    struct snn_net *net = snn_net_new();
    input_data(net, input(net, "in", SNN_T_SPIKES, 1, 4, 4), img);
    struct snn_lnode *c = conv(net, "s2", 0, 1, 1, 3, w, 1.0);
    c->u.conv.stride = 2;
    uint32_t d1[1] = {1};
    c->u.conv.bias = arr(net, 1, d1, (const double[]){0.5});
    c = conv(net, "p0", 0, 1, 1, 3, w, 1.0);
    c->u.conv.pad = 0;
    struct snn_lquant *lq = prepare(net);
    /* scale 1: m = 2^22, sh = 6, so x = acc x 2^16 exactly */
    assert_int_equal(lq->nodes[1].rq.m[0], 1 << 22);
    assert_int_equal(lq->nodes[1].rq.sh, 6);
    assert_int_equal(lq->nodes[1].rq.b[0], 32768);
    struct snn_lsim *s = start(net, lq, false);
    assert_int_equal(snn_lsim_step(s, NULL), 0);
    /*
     * stride 2, pad 1: output (y, x) meets input (2y - 1 + ky, 2x - 1 + kx):
     * (0,0): (0,0) at tap (1,1) = 5; (0,1): (1,2) at (2,1) = 8; (1,0): none;
     * (1,1): (1,2) at (0,1) = 2 and (3,3) at (2,2) = 9: 11.  Plus the bias.
     */
    const int32_t *o = out_of(s, 1);
    const int32_t want[4] = {5, 8, 0, 11};
    for (int e = 0; e < 4; e++)
        assert_int_equal(o[e], want[e] * 65536 + 32768);
    /* stride 1, pad 0: (0,0): 1 + 6; (0,1): 5; (1,0): 3; (1,1): 2 + 9 */
    o = out_of(s, 2);
    const int32_t want0[4] = {7, 5, 3, 11};
    for (int e = 0; e < 4; e++)
        assert_int_equal(o[e], want0[e] * 65536);
    snn_lsim_free(s);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_conv_depthwise(void **state)
{
    (void)state;
    double img[18] = {0};
    img[0 * 9 + 4] = 1; /* channel 0 at (1, 1) */
    img[1 * 9 + 0] = 1; /* channel 1 at (0, 0) */
    double w[18];
    for (int e = 0; e < 18; e++)
        w[e] = e + 1; /* channel 0: 1 .. 9, channel 1: 10 .. 18 */
    struct snn_net *net = snn_net_new();
    input_data(net, input(net, "in", SNN_T_SPIKES, 2, 3, 3), img);
    struct snn_lnode *c = conv(net, "dw", 0, 2, 1, 3, w, 1.0);
    c->u.conv.depthwise = true;
    struct snn_lquant *lq = prepare(net);
    struct snn_lsim *s = start(net, lq, false);
    assert_int_equal(snn_lsim_step(s, NULL), 0);
    const int32_t *o = out_of(s, 1);
    /* channel 0: out(y, x) = w0[2 - y][2 - x]; channel 1 (spike at the
     * corner): w1[1 - y][1 - x] where both are taps, 0 elsewhere */
    const int32_t want[18] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 14, 13, 0, 11, 10, 0, 0, 0, 0};
    for (int e = 0; e < 18; e++)
        assert_int_equal(o[e], want[e] * 65536);
    snn_lsim_free(s);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_counts_bit_serial_equals_multiplication(void **state)
{
    (void)state;
    const double img[12] = {200, 7, 255, 1, 0, 128, 99, 33, 64, 255, 254, 3};
    const double w[6] = {-127, 3, 64, 5, -1, 127};
    struct snn_net *net = snn_net_new();
    input_data(net, input(net, "in", SNN_T_COUNTS, 3, 2, 2), img);
    /* weight LSB 2^-10: x = acc x 2^6 exactly (m = 2^22, sh = 16) */
    conv(net, "fc", 0, 2, 3, 1, w, 1.0 / 1024);
    struct snn_lquant *lq = prepare(net);
    assert_int_equal(lq->nodes[1].rq.sh, 16);
    struct snn_lsim *s = start(net, lq, false);
    assert_int_equal(snn_lsim_step(s, NULL), 0);
    const int32_t *o = out_of(s, 1);
    for (int oc = 0; oc < 2; oc++)
        for (int p = 0; p < 4; p++) {
            /* the accelerator's way: for each set bit b of v, add w << b */
            uint32_t acc = 0;
            for (int c = 0; c < 3; c++) {
                unsigned v = (unsigned)img[c * 4 + p];
                for (int bit = 0; bit < 8; bit++)
                    if (v >> bit & 1)
                        acc += (uint32_t)(int32_t)w[oc * 3 + c] << bit;
            }
            assert_int_equal(o[oc * 4 + p], (int32_t)acc * 64);
        }
    snn_lsim_free(s);
    snn_lquant_free(lq);
    snn_net_free(net);
}

/* ---- pools, attention, add, views --------------------------------------------- */

static void test_maxpool_negative_q16_and_spikes(void **state)
{
    (void)state;
    /* x = count - 128: every value negative, padding must not win */
    const double counts[9] = {100, 110, 120, 90, 0, 60, 10, 20, 30};
    struct snn_net *net = snn_net_new();
    drive(net, 1, 1, 3, 3, counts);
    add(net, "mp", SNN_L_MAXPOOL, 1, -1, -1); /* 3 x 3, stride 2, pad 1 */
    struct snn_lquant *lq = prepare(net);
    const int32_t b = -128 * 65536;
    drive_set(lq, 1, 65536, &b);
    struct snn_lsim *s = start(net, lq, false);
    assert_int_equal(snn_lsim_step(s, NULL), 0);
    /* x: -28 -18 -8 / -38 -128 -68 / -118 -108 -98; windows of 2 x 2 valid cells */
    const int32_t want[4] = {-18, -8, -38, -68};
    const int32_t *o = out_of(s, 2);
    for (int e = 0; e < 4; e++)
        assert_int_equal(o[e], want[e] * 65536);
    snn_lsim_free(s);
    snn_lquant_free(lq);
    snn_net_free(net);

    /* on spikes it is OR, and a spiking output */
    const double img[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
    net = snn_net_new();
    input_data(net, input(net, "in", SNN_T_SPIKES, 1, 3, 3), img);
    struct snn_lnode *p = add(net, "or", SNN_L_MAXPOOL, 0, -1, -1);
    p->u.pool.kernel = 3;
    p->u.pool.stride = 1;
    lq = prepare(net);
    assert_true(snn_lsim_is_spiking(&net->layers->nodes[1]));
    s = start(net, lq, false);
    assert_int_equal(snn_lsim_step(s, NULL), 0);
    const int32_t want_or[9] = {0, 0, 0, 0, 1, 1, 0, 1, 1};
    o = out_of(s, 1);
    for (int e = 0; e < 9; e++)
        assert_int_equal(o[e], want_or[e]);
    snn_lsim_free(s);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_sumpool_mean(void **state)
{
    (void)state;
    const double img[6] = {1, 2, 4, 0, 0, 5};
    struct snn_net *net = snn_net_new();
    input_data(net, input(net, "in", SNN_T_COUNTS, 2, 1, 3), img);
    add(net, "mean", SNN_L_SUMPOOL, 0, -1, -1)->u.sumpool.mean = true;
    add(net, "sum", SNN_L_SUMPOOL, 0, -1, -1);
    struct snn_lquant *lq = prepare(net);
    struct snn_lsim *s = start(net, lq, false);
    assert_int_equal(snn_lsim_step(s, NULL), 0);
    /* m = 5592405, sh = 8: (7 m + 128) >> 8 = 152917 (7/3 = 152917.3),
     * (5 m + 128) >> 8 = 109227 (5/3 = 109226.7) */
    const int32_t *o = out_of(s, 1);
    assert_int_equal(o[0], 152917);
    assert_int_equal(o[1], 109227);
    o = out_of(s, 2);
    assert_int_equal(o[0], 7 * 65536);
    assert_int_equal(o[1], 5 * 65536);
    snn_lsim_free(s);
    snn_lquant_free(lq);
    snn_net_free(net);
}

/* Three generated spike inputs [C, N, 1] and SDSA v1 and v2 on them. */
static struct snn_net *attention_net(uint32_t C, uint32_t N, uint32_t T, uint64_t seed)
{
    struct snn_net *net = snn_net_new();
    net->seed = seed;
    snn_net_layers(net)->timesteps = T;
    const char *names[3] = {"q", "k", "v"};
    for (int i = 0; i < 3; i++)
        input(net, names[i], SNN_T_SPIKES, C, N, 1)->u.input.gen =
            (struct snn_gen){.on = true, .density = 0.5};
    struct snn_lnode *a = add(net, "a1", SNN_L_SDSA1, 0, 1, 2);
    a->u.sdsa1.threshold = 1.5;
    a->u.sdsa1.tau_shift = 1;
    a = add(net, "a2", SNN_L_SDSA2, 0, 1, 2);
    a->u.sdsa2.heads = 2;
    a->u.sdsa2.scale = 0.25;
    return net;
}

static void test_sdsa_against_formulas(void **state)
{
    (void)state;
    enum { C = 6, N = 7, T = 6, D = C / 2 };
    struct snn_net *net = attention_net(C, N, T, 5);
    struct snn_lquant *lq = prepare(net);
    struct snn_lsim *s = start(net, lq, false);
    double vatt[C] = {0};
    int fired = 0, quiet = 0;
    for (int t = 0; t < T; t++) {
        assert_int_equal(snn_lsim_step(s, NULL), 0);
        int32_t q[C * N], k[C * N], v[C * N], o1[C * N], o2[C * N];
        snn_lsim_read(s, 0, q);
        snn_lsim_read(s, 1, k);
        snn_lsim_read(s, 2, v);
        snn_lsim_read(s, 3, o1);
        snn_lsim_read(s, 4, o2);
        /* v1: n[c] = sum_t K AND V; the attention LIF (tau 2, 1.5) in
         * real numbers, exact here (halves of integers); out = Q AND A */
        for (int c = 0; c < C; c++) {
            int n = 0;
            for (int tok = 0; tok < N; tok++)
                n += k[c * N + tok] && v[c * N + tok];
            double h = vatt[c] + (n - vatt[c]) / 2;
            h = floor(h * 65536) / 65536; /* the floor of the Q15.16 shift */
            int a = h >= 1.5;
            vatt[c] = a ? 0 : h;
            fired += a;
            quiet += !a;
            for (int tok = 0; tok < N; tok++)
                assert_int_equal(o1[c * N + tok], q[c * N + tok] && a);
        }
        /* v2: KV[g, i, j] = sum_t K[gd + i] AND V[gd + j];
         * Y[gd + j, t] = sum_i Q[gd + i, t] KV[g, i, j]; out = Y x 0.25 in Q15.16 */
        for (int g = 0; g < 2; g++)
            for (int j = 0; j < D; j++)
                for (int tok = 0; tok < N; tok++) {
                    int y = 0;
                    for (int i = 0; i < D; i++) {
                        int kv = 0;
                        for (int u = 0; u < N; u++)
                            kv += k[(g * D + i) * N + u] && v[(g * D + j) * N + u];
                        y += q[(g * D + i) * N + tok] * kv;
                    }
                    assert_int_equal(o2[(g * D + j) * N + tok], y * 16384);
                }
    }
    assert_true(fired > 0 && quiet > 0); /* the case exercises both */
    snn_lsim_free(s);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_add_saturates(void **state)
{
    (void)state;
    const double counts[3] = {0, 0, 3};
    struct snn_net *net = snn_net_new();
    drive(net, 1, 3, 1, 1, counts);
    add(net, "sum", SNN_L_ADD, 1, 1, -1);
    struct snn_lquant *lq = prepare(net);
    const int32_t b[3] = {1500000000, -1500000000, -7};
    drive_set(lq, 3, 1, b);
    struct snn_lsim *s = start(net, lq, false);
    assert_int_equal(snn_lsim_step(s, NULL), 0);
    const int32_t *o = out_of(s, 2);
    assert_int_equal(o[0], INT32_MAX);
    assert_int_equal(o[1], INT32_MIN);
    assert_int_equal(o[2], -8);
    snn_lsim_free(s);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_tokens_and_flatten_order(void **state)
{
    (void)state;
    double img[8];
    for (int e = 0; e < 8; e++)
        img[e] = e + 1;
    struct snn_net *net = snn_net_new();
    input_data(net, input(net, "in", SNN_T_COUNTS, 2, 2, 2), img);
    add(net, "tok", SNN_L_TOKENS, 0, -1, -1);
    add(net, "flat", SNN_L_FLATTEN, 0, -1, -1);
    struct snn_lquant *lq = prepare(net);
    struct snn_lsim *s = start(net, lq, false);
    assert_int_equal(snn_lsim_step(s, NULL), 0);
    /* both keep tensor order: token t = y W + x; feature f = c H W + y W + x */
    for (int i = 1; i <= 2; i++) {
        const int32_t *o = out_of(s, (uint32_t)i);
        for (int e = 0; e < 8; e++)
            assert_int_equal(o[e], e + 1);
    }
    snn_lsim_free(s);
    snn_lquant_free(lq);
    snn_net_free(net);
}

/* ---- events --------------------------------------------------------------------- */

#define REC_MAX 16384

struct rec {
    uint32_t n;
    uint32_t step[REC_MAX], node[REC_MAX];
    struct snn_levent ev[REC_MAX];
};

static int record(void *ctx, uint32_t step, uint32_t node, const struct snn_levent *ev,
                  uint32_t n)
{
    struct rec *r = ctx;
    for (uint32_t i = 0; i < n; i++) {
        if (r->n == REC_MAX)
            return SNN_ETOOBIG;
        r->step[r->n] = step;
        r->node[r->n] = node;
        r->ev[r->n++] = ev[i];
    }
    return 0;
}

static void test_events_in_yxc_order(void **state)
{
    (void)state;
    /* counts 0 .. 5 in a [3, 2, 2] I-LIF (D 15): every nonzero becomes an event */
    double counts[12];
    for (int e = 0; e < 12; e++)
        counts[e] = 128 + (e * 5 % 7);
    struct snn_net *net = snn_net_new();
    drive(net, 1, 3, 2, 2, counts);
    struct snn_lnode *n = add(net, "il", SNN_L_ILIF, 1, -1, -1);
    n->u.ilif.d_max = 15;
    struct snn_lquant *lq = prepare(net);
    const int32_t b[3] = {-128 * 65536, -128 * 65536, -128 * 65536};
    drive_set(lq, 3, 65536, b);
    struct rec *r = calloc(1, sizeof *r);
    struct snn_lsim_opts o = {.ctx = r, .on_events = record};
    struct snn_lsim_result res;
    assert_int_equal(snn_lsim_run(net, lq, &o, &res), 0);
    /* expected: scan y, x, then c; value = counts[c][y][x] - 128 */
    uint32_t k = 0;
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++)
            for (int c = 0; c < 3; c++) {
                int v = (int)counts[c * 4 + y * 2 + x] - 128;
                if (!v)
                    continue;
                assert_true(k < r->n);
                assert_int_equal(r->node[k], 2);
                assert_int_equal(r->ev[k].c, c);
                assert_int_equal(r->ev[k].y, y);
                assert_int_equal(r->ev[k].x, x);
                assert_int_equal(r->ev[k].value, v);
                k++;
            }
    assert_int_equal(k, r->n);
    assert_int_equal(res.node_events[2], r->n);
    assert_int_equal(res.steps, 1);
    snn_lsim_result_free(&res);
    free(r);
    snn_lquant_free(lq);
    snn_net_free(net);
}

/* ---- a naive second implementation ------------------------------------------------ */

static int64_t floordiv(int64_t a, int64_t d)
{
    int64_t q = a / d;
    if (a % d != 0 && a < 0)
        q--;
    return q;
}

static int32_t clamp32(int64_t x) { return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int32_t)x; }

static int32_t naive_requant(uint32_t acc, int32_t m, int32_t b, uint32_t sh)
{
    int64_t a = acc >= 0x80000000u ? (int64_t)acc - 4294967296ll : (int64_t)acc;
    int64_t p = a * m;
    if (sh)
        p = floordiv(p + ((int64_t)1 << (sh - 1)), (int64_t)1 << sh);
    return clamp32(p + b);
}

static int32_t naive_lif(int32_t *v, int32_t x, uint32_t k, int32_t theta)
{
    int32_t h = clamp32(*v + floordiv((int64_t)x - *v, (int64_t)1 << k));
    *v = h >= theta ? 0 : h;
    return h >= theta;
}

struct naive {
    int32_t *out[64], *v[64], *s[64];
};

static size_t nsize(struct snn_shape s) { return (size_t)s.c * s.h * s.w; }

static void naive_step(struct naive *nv, const struct snn_layer_graph *g,
                       const struct snn_lquant *lq, uint32_t t)
{
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct snn_lnode *n = &g->nodes[i];
        const struct snn_lq_node *q = &lq->nodes[i];
        struct snn_shape S = n->shape, A = n->n_in ? g->nodes[n->in[0]].shape : S;
        int32_t *out = nv->out[i];
        const int32_t *a = n->n_in ? nv->out[n->in[0]] : NULL;
        const int32_t *b = n->n_in > 1 ? nv->out[n->in[1]] : NULL;
        const int32_t *c3 = n->n_in > 2 ? nv->out[n->in[2]] : NULL;
        switch (n->op) {
        case SNN_L_INPUT: {
            uint8_t buf[4096];
            snn_lquant_input(lq, g, i, t, buf);
            for (size_t e = 0; e < nsize(S); e++)
                out[e] = buf[e];
            break;
        }
        case SNN_L_CONV: {
            const struct snn_lconv *cv = &n->u.conv;
            uint32_t k = cv->kernel, cin = cv->depthwise ? 1 : A.c;
            for (uint32_t o = 0; o < S.c; o++)
                for (uint32_t y = 0; y < S.h; y++)
                    for (uint32_t x = 0; x < S.w; x++) {
                        uint32_t acc = 0;
                        for (uint32_t ci = 0; ci < cin; ci++)
                            for (uint32_t ky = 0; ky < k; ky++)
                                for (uint32_t kx = 0; kx < k; kx++) {
                                    long yi = (long)(y * cv->stride + ky) - (long)cv->pad;
                                    long xi = (long)(x * cv->stride + kx) - (long)cv->pad;
                                    if (yi < 0 || xi < 0 || yi >= (long)A.h || xi >= (long)A.w)
                                        continue;
                                    uint32_t c = cv->depthwise ? o : ci;
                                    int32_t v = a[(c * A.h + (uint32_t)yi) * A.w + (uint32_t)xi];
                                    int32_t w = q->w[((o * cin + ci) * k + ky) * k + kx];
                                    for (int bit = 0; bit < 8; bit++) /* bit-serial */
                                        if (v >> bit & 1)
                                            acc += (uint32_t)w << bit;
                                }
                        out[(o * S.h + y) * S.w + x] =
                            naive_requant(acc, q->rq.m[o], q->rq.b[o], q->rq.sh);
                    }
            break;
        }
        case SNN_L_LIF:
            for (size_t e = 0; e < nsize(S); e++)
                out[e] = naive_lif(&nv->v[i][e], a[e], n->u.lif.tau_shift, q->theta);
            break;
        case SNN_L_ILIF:
            for (size_t e = 0; e < nsize(S); e++) {
                int32_t h = clamp32(floordiv((int64_t)nv->v[i][e] - nv->s[i][e] * 65536ll,
                                             (int64_t)1 << n->u.ilif.decay_shift) +
                                    a[e]);
                int64_t fl = floordiv(h, 65536), rem = h - fl * 65536;
                int64_t r = rem > 32768 ? fl + 1 : rem < 32768 ? fl : fl + (fl % 2 != 0);
                nv->s[i][e] = (int32_t)(r < 0 ? 0 : r > n->u.ilif.d_max ? n->u.ilif.d_max : r);
                nv->v[i][e] = h;
                out[e] = nv->s[i][e];
            }
            break;
        case SNN_L_ADD:
            for (size_t e = 0; e < nsize(S); e++)
                out[e] = clamp32((int64_t)a[e] + b[e]);
            break;
        case SNN_L_MAXPOOL: {
            const struct snn_lpool *p = &n->u.pool;
            for (uint32_t c = 0; c < S.c; c++)
                for (uint32_t y = 0; y < S.h; y++)
                    for (uint32_t x = 0; x < S.w; x++) {
                        int64_t best = INT64_MIN;
                        for (uint32_t ky = 0; ky < p->kernel; ky++)
                            for (uint32_t kx = 0; kx < p->kernel; kx++) {
                                long yi = (long)(y * p->stride + ky) - (long)p->pad;
                                long xi = (long)(x * p->stride + kx) - (long)p->pad;
                                if (yi < 0 || xi < 0 || yi >= (long)A.h || xi >= (long)A.w)
                                    continue;
                                int32_t v = a[(c * A.h + (uint32_t)yi) * A.w + (uint32_t)xi];
                                if (v > best)
                                    best = v;
                            }
                        assert_true(best != INT64_MIN);
                        out[(c * S.h + y) * S.w + x] = (int32_t)best;
                    }
            break;
        }
        case SNN_L_SUMPOOL:
            for (uint32_t c = 0; c < S.c; c++) {
                uint32_t acc = 0;
                for (size_t e = 0; e < (size_t)A.h * A.w; e++)
                    acc += (uint32_t)a[c * A.h * A.w + e];
                out[c] = naive_requant(acc, q->rq.m[c], q->rq.b[c], q->rq.sh);
            }
            break;
        case SNN_L_SDSA1:
            for (uint32_t c = 0; c < S.c; c++) {
                int64_t cnt = 0;
                for (uint32_t tok = 0; tok < S.h; tok++)
                    cnt += b[c * S.h + tok] && c3[c * S.h + tok];
                int32_t att = naive_lif(&nv->v[i][c], clamp32(cnt * 65536),
                                        n->u.sdsa1.tau_shift, q->theta);
                for (uint32_t tok = 0; tok < S.h; tok++)
                    out[c * S.h + tok] = a[c * S.h + tok] && att;
            }
            break;
        case SNN_L_SDSA2: {
            uint32_t d = S.c / n->u.sdsa2.heads;
            for (uint32_t ch = 0; ch < S.c; ch++) {
                uint32_t g0 = ch / d * d, j = ch % d;
                for (uint32_t tok = 0; tok < S.h; tok++) {
                    uint32_t y = 0;
                    for (uint32_t ii = 0; ii < d; ii++) {
                        uint32_t kv = 0;
                        for (uint32_t u = 0; u < S.h; u++)
                            kv += b[(g0 + ii) * S.h + u] && c3[(g0 + j) * S.h + u];
                        y += (uint32_t)a[(g0 + ii) * S.h + tok] * kv;
                    }
                    out[ch * S.h + tok] = naive_requant(y, q->rq.m[ch], q->rq.b[ch], q->rq.sh);
                }
            }
            break;
        }
        case SNN_L_TOKENS:
        case SNN_L_FLATTEN: memcpy(out, a, nsize(S) * sizeof *out); break;
        }
    }
}

/* A random verified graph; nodes are tried and dropped when they do not verify. */
static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}
static double rndf(double lo, double hi) { return lo + (hi - lo) * rnd(1000000) / 1e6; }

static struct snn_array rnd_vec(struct snn_net *net, uint32_t n, double lo, double hi)
{
    uint32_t d[1] = {n};
    struct snn_array a = arr(net, 1, d, NULL);
    for (uint32_t i = 0; i < n; i++)
        a.v[i] = rndf(lo, hi);
    return a;
}

static bool try_node(struct snn_net *net)
{
    struct snn_layer_graph *g = net->layers;
    uint32_t nn = g->n_nodes;
    uint32_t src = nn - 1 - (rnd(3) == 0 ? rnd(nn) : 0);
    const struct snn_lnode *s = &g->nodes[src];
    char name[16];
    snprintf(name, sizeof name, "n%u", nn);
    struct snn_lnode *n;
    if (s->kind == SNN_T_Q16) {
        switch (rnd(5)) {
        case 0:
        case 1:
            n = add(net, name, SNN_L_LIF, (int)src, -1, -1);
            n->u.lif.tau_shift = 1 + rnd(3);
            n->u.lif.threshold = rndf(0.1, 1.5);
            break;
        case 2:
            n = add(net, name, SNN_L_ILIF, (int)src, -1, -1);
            n->u.ilif.decay_shift = rnd(4);
            n->u.ilif.d_max = 1 + rnd(15);
            break;
        case 3: {
            uint32_t other = rnd(nn);
            n = add(net, name, SNN_L_ADD, (int)src, (int)other, -1);
            break;
        }
        default:
            n = add(net, name, SNN_L_MAXPOOL, (int)src, -1, -1);
            n->u.pool.kernel = 1 + 2 * rnd(2);
            n->u.pool.stride = 1 + rnd(2);
            n->u.pool.pad = rnd(n->u.pool.kernel / 2 + 1);
            break;
        }
    } else {
        uint32_t r = rnd(10);
        if (r < 5) {
            n = add(net, name, SNN_L_CONV, (int)src, -1, -1);
            struct snn_lconv *cv = &n->u.conv;
            uint32_t out = 1 + rnd(8);
            cv->depthwise = rnd(4) == 0;
            cv->out_channels = cv->depthwise ? 0 : out;
            out = cv->depthwise ? s->shape.c : out;
            cv->kernel = 1 + 2 * rnd(3);
            cv->stride = 1 + rnd(2);
            cv->pad = rnd(cv->kernel / 2 + 1);
            cv->bits = rnd(3) ? 8 : 4;
            cv->weight_gen = (struct snn_gen){.on = true, .lo = rndf(-1, 0), .hi = rndf(0.1, 1)};
            if (rnd(2))
                cv->bias = rnd_vec(net, out, -0.5, 0.5);
            if (rnd(3) == 0) {
                cv->bn = true;
                cv->bn_gamma = rnd_vec(net, out, 0.5, 1.5);
                cv->bn_beta = rnd_vec(net, out, -0.5, 0.5);
                cv->bn_mean = rnd_vec(net, out, -0.3, 0.3);
                cv->bn_var = rnd_vec(net, out, 0.5, 2);
            }
        } else if (r == 5) {
            n = add(net, name, SNN_L_SUMPOOL, (int)src, -1, -1);
            n->u.sumpool.mean = rnd(2);
        } else if (r == 6) {
            n = add(net, name, SNN_L_MAXPOOL, (int)src, -1, -1);
            n->u.pool.kernel = 1 + 2 * rnd(2);
            n->u.pool.stride = 1 + rnd(2);
            n->u.pool.pad = rnd(n->u.pool.kernel / 2 + 1);
        } else if (r == 7) {
            n = add(net, name, rnd(2) ? SNN_L_TOKENS : SNN_L_FLATTEN, (int)src, -1, -1);
        } else {
            /* attention on tokens: K and V another spikes node of the shape, or src */
            uint32_t k = src, v = src;
            for (uint32_t j = 0; j < nn; j++) {
                const struct snn_lnode *o = &g->nodes[j];
                if (o->kind == SNN_T_SPIKES && o->shape.c == s->shape.c &&
                    o->shape.h == s->shape.h && o->shape.w == s->shape.w && rnd(2))
                    *(rnd(2) ? &k : &v) = j;
            }
            if (rnd(2)) {
                n = add(net, name, SNN_L_SDSA1, (int)src, (int)k, (int)v);
                n->u.sdsa1.tau_shift = 1 + rnd(2);
                n->u.sdsa1.threshold = rndf(0.5, 3);
            } else {
                n = add(net, name, SNN_L_SDSA2, (int)src, (int)k, (int)v);
                n->u.sdsa2.heads = rnd(2) ? 1 : s->shape.c;
                n->u.sdsa2.scale = rndf(0.05, 0.5);
            }
        }
    }
    g->has_output = false;
    if (snn_layers_verify(net, NULL)) {
        g->n_nodes--;
        g->has_output = false;
        assert_int_equal(snn_layers_verify(net, NULL), 0);
        return false;
    }
    return true;
}

static struct snn_net *random_net(uint64_t seed)
{
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    struct snn_net *net = snn_net_new();
    net->seed = seed;
    snn_net_layers(net)->timesteps = 1 + rnd(5);
    enum snn_tkind kind = rnd(2) ? SNN_T_SPIKES : SNN_T_COUNTS;
    struct snn_lnode *in = input(net, "in", kind, 1 + rnd(5), 1 + rnd(8), 1 + rnd(8));
    in->u.input.gen = (struct snn_gen){.on = true, .density = rndf(0.1, 0.9)};
    assert_int_equal(snn_layers_verify(net, NULL), 0);
    uint32_t want = 4 + rnd(12);
    for (int tries = 0; tries < 200 && net->layers->n_nodes < want; tries++)
        try_node(net);
    net->layers->has_output = false;
    assert_int_equal(snn_layers_verify(net, NULL), 0);
    return net;
}

static void test_random_graphs_against_naive(void **state)
{
    (void)state;
    unsigned ops[SNN_L_FLATTEN + 1] = {0}, events = 0;
    struct rec *r = malloc(sizeof *r);
    for (uint64_t seed = 1; seed <= 300; seed++) {
        struct snn_net *net = random_net(seed);
        const struct snn_layer_graph *g = net->layers;
        struct snn_lquant *lq = prepare(net);
        struct snn_lsim *s = start(net, lq, false);
        struct naive nv;
        assert_true(g->n_nodes <= 64);
        for (uint32_t i = 0; i < g->n_nodes; i++) {
            size_t sz = nsize(g->nodes[i].shape);
            assert_true(sz <= 4096);
            nv.out[i] = calloc(sz, sizeof(int32_t));
            nv.v[i] = calloc(sz, sizeof(int32_t));
            nv.s[i] = calloc(sz, sizeof(int32_t));
            ops[g->nodes[i].op]++;
        }
        struct snn_lsim_opts o = {.ctx = r, .on_events = record};
        for (uint32_t t = 0; t < g->timesteps; t++) {
            r->n = 0;
            assert_int_equal(snn_lsim_step(s, &o), 0);
            naive_step(&nv, g, lq, t);
            uint32_t k = 0;
            for (uint32_t i = 0; i < g->n_nodes; i++) {
                const struct snn_lnode *n = &g->nodes[i];
                const int32_t *got = out_of(s, i);
                for (size_t e = 0; e < nsize(n->shape); e++)
                    if (got[e] != nv.out[i][e]) {
                        fprintf(stderr, "seed %llu step %u node %u (%s) element %zu: %d, naive %d\n",
                                (unsigned long long)seed, t, i, snn_lop_name(n->op), e, got[e],
                                nv.out[i][e]);
                        fail();
                    }
                if (!snn_lsim_is_spiking(n))
                    continue;
                /* the events: the nonzeros in (y, x, c) order */
                for (uint32_t y = 0; y < n->shape.h; y++)
                    for (uint32_t x = 0; x < n->shape.w; x++)
                        for (uint32_t c = 0; c < n->shape.c; c++) {
                            int32_t v = nv.out[i][(c * n->shape.h + y) * n->shape.w + x];
                            if (!v)
                                continue;
                            assert_true(k < r->n);
                            assert_int_equal(r->node[k], i);
                            assert_true(r->ev[k].c == c && r->ev[k].y == y && r->ev[k].x == x &&
                                        r->ev[k].value == v);
                            k++;
                            events++;
                        }
            }
            assert_int_equal(k, r->n);
        }
        for (uint32_t i = 0; i < g->n_nodes; i++) {
            free(nv.out[i]);
            free(nv.v[i]);
            free(nv.s[i]);
        }
        snn_lsim_free(s);
        /* the float64 mode runs the same graphs */
        s = start(net, lq, true);
        for (uint32_t t = 0; t < g->timesteps; t++)
            assert_int_equal(snn_lsim_step(s, NULL), 0);
        snn_lsim_free(s);
        snn_lquant_free(lq);
        snn_net_free(net);
    }
    free(r);
    /* every op was drawn, and spikes flowed */
    for (int op = 0; op <= SNN_L_FLATTEN; op++) {
        if (ops[op] < 5)
            fprintf(stderr, "op %s drawn %u times\n", snn_lop_name((enum snn_lop)op), ops[op]);
        assert_true(ops[op] >= 5);
    }
    assert_true(events > 1000);
}

/* ---- determinism, float64, failures, speed ----------------------------------------- */

static struct snn_net *small_cnn(uint64_t seed)
{
    struct snn_net *net = snn_net_new();
    net->seed = seed;
    snn_net_layers(net)->timesteps = 4;
    input(net, "img", SNN_T_COUNTS, 3, 8, 8)->u.input.gen = (struct snn_gen){.on = true};
    struct snn_lnode *c = add(net, "c1", SNN_L_CONV, 0, -1, -1);
    c->u.conv.out_channels = 8;
    c->u.conv.kernel = 3;
    c->u.conv.weight_gen = (struct snn_gen){.on = true, .lo = -0.01, .hi = 0.01};
    add(net, "l1", SNN_L_LIF, 1, -1, -1)->u.lif.threshold = 0.5;
    c = add(net, "c2", SNN_L_CONV, 2, -1, -1);
    c->u.conv.out_channels = 8;
    c->u.conv.kernel = 3;
    c->u.conv.stride = 2;
    c->u.conv.weight_gen = (struct snn_gen){.on = true, .lo = -0.5, .hi = 1};
    add(net, "l2", SNN_L_ILIF, 3, -1, -1);
    add(net, "pool", SNN_L_SUMPOOL, 4, -1, -1)->u.sumpool.mean = true;
    c = add(net, "head", SNN_L_CONV, 4, -1, -1); /* on l2 (counts) */
    c->u.conv.out_channels = 4;
    c->u.conv.weight_gen = (struct snn_gen){.on = true, .lo = -1, .hi = 1};
    add(net, "gap", SNN_L_MAXPOOL, 6, -1, -1);
    net->layers->output = 5;
    net->layers->has_output = true;
    return net;
}

static int record_head(void *ctx, uint32_t step, const int32_t *q16, const double *f64,
                       uint32_t n)
{
    (void)step;
    (void)f64;
    struct rec *r = ctx;
    assert_non_null(q16);
    r->n += n;
    return 0;
}

static void test_determinism(void **state)
{
    (void)state;
    struct rec *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    struct snn_lsim_result ra, rb;
    for (int run = 0; run < 2; run++) {
        struct rec *r = run ? b : a;
        struct snn_net *net = small_cnn(42);
        struct snn_lquant *lq = prepare(net);
        struct snn_lsim_opts o = {.ctx = r, .on_events = record};
        assert_int_equal(snn_lsim_run(net, lq, &o, run ? &rb : &ra), 0);
        snn_lquant_free(lq);
        snn_net_free(net);
    }
    assert_true(a->n > 100);
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->ev, b->ev, a->n * sizeof a->ev[0]);
    assert_memory_equal(a->step, b->step, a->n * sizeof a->step[0]);
    assert_int_equal(ra.n_head, 8);
    assert_memory_equal(ra.head_sum, rb.head_sum, ra.n_head * sizeof ra.head_sum[0]);
    for (uint32_t e = 0; e < ra.n_head; e++) {
        assert_true(ra.head_mean[e] == (double)ra.head_sum[e] / 65536 / 4);
        assert_true(ra.head_mean[e] <= ra.head_mean[ra.argmax]);
    }
    snn_lsim_result_free(&rb);
    /* another seed: other inputs and weights */
    struct snn_net *net = small_cnn(43);
    struct snn_lquant *lq = prepare(net);
    b->n = 0;
    struct snn_lsim_opts o = {.ctx = b, .on_events = record};
    assert_int_equal(snn_lsim_run(net, lq, &o, &rb), 0);
    assert_true(a->n != b->n || memcmp(a->ev, b->ev, a->n * sizeof a->ev[0]));
    snn_lsim_result_free(&ra);
    snn_lsim_result_free(&rb);
    /* the head callback sees what the sums add up */
    b->n = 0;
    o = (struct snn_lsim_opts){.ctx = b, .on_head = record_head};
    assert_int_equal(snn_lsim_run(net, lq, &o, NULL), 0);
    assert_int_equal(b->n, 4 * 8);
    /* a callback's error stops the run */
    a->n = REC_MAX - 1;
    o = (struct snn_lsim_opts){.ctx = a, .on_events = record};
    assert_int_equal(snn_lsim_run(net, lq, &o, &ra), SNN_ETOOBIG);
    snn_lquant_free(lq);
    snn_net_free(net);
    free(a);
    free(b);
}

static void test_float64_mode(void **state)
{
    (void)state;
    /* a conv with batch norm in double: x = (sum in w + bias - mean) g + beta */
    const double img[4] = {3, 0, 7, 1};
    struct snn_net *net = snn_net_new();
    input_data(net, input(net, "in", SNN_T_COUNTS, 4, 1, 1), img);
    struct snn_lnode *c = add(net, "fc", SNN_L_CONV, 0, -1, -1);
    c->u.conv.out_channels = 2;
    uint32_t d[4] = {2, 4, 1, 1}, d1[1] = {2};
    const double w[8] = {0.013, -0.2, 0.07, 0.031, -0.05, 0.11, 0.0, 0.3};
    c->u.conv.weight = arr(net, 4, d, w);
    c->u.conv.bias = arr(net, 1, d1, (const double[]){0.1, -0.2});
    c->u.conv.bn = true;
    c->u.conv.bn_gamma = arr(net, 1, d1, (const double[]){1.5, 0.5});
    c->u.conv.bn_beta = arr(net, 1, d1, (const double[]){0.0, 0.25});
    c->u.conv.bn_mean = arr(net, 1, d1, (const double[]){0.2, -0.1});
    c->u.conv.bn_var = arr(net, 1, d1, (const double[]){1.0, 4.0});
    add(net, "lif", SNN_L_LIF, 1, -1, -1)->u.lif.threshold = 0.2;
    struct snn_lquant *lq = prepare(net);
    struct snn_lsim *sf = start(net, lq, true), *si = start(net, lq, false);
    assert_int_equal(snn_lsim_step(sf, NULL), 0);
    assert_int_equal(snn_lsim_step(si, NULL), 0);
    double xf[2], vf[2];
    snn_lsim_read_f64(sf, 1, xf);
    for (int o = 0; o < 2; o++) {
        double acc = 0;
        for (int i = 0; i < 4; i++)
            acc += img[i] * w[o * 4 + i];
        double g = (o ? 0.5 : 1.5) / sqrt((o ? 4.0 : 1.0) + 1e-5);
        double want = acc * g + ((o ? -0.2 : 0.1) - (o ? -0.1 : 0.2)) * g + (o ? 0.25 : 0.0);
        assert_true(fabs(xf[o] - want) < 1e-12);
        /* the integer form is within the rounding of weights and multipliers */
        int32_t xi[2];
        snn_lsim_read(si, 1, xi);
        assert_true(fabs(xi[o] / 65536.0 - want) < 0.02);
    }
    /* the LIF in double: H = x / 2 (tau 2, from 0) against 0.2 */
    snn_lsim_read_state(sf, 2, NULL, vf);
    double sp[2];
    snn_lsim_read_f64(sf, 2, sp);
    for (int o = 0; o < 2; o++) {
        double h = xf[o] / 2;
        assert_true(sp[o] == (h >= 0.2));
        assert_true(vf[o] == (h >= 0.2 ? 0 : h));
    }
    snn_lsim_free(sf);
    snn_lsim_free(si);
    snn_lquant_free(lq);
    snn_net_free(net);

    /* a whole CNN: the float64 head mean is close to the integer one */
    net = small_cnn(7);
    lq = prepare(net);
    struct snn_lsim_result ri, rf;
    struct snn_lsim_opts oi = {0}, of = {.float64 = true};
    assert_int_equal(snn_lsim_run(net, lq, &oi, &ri), 0);
    assert_int_equal(snn_lsim_run(net, lq, &of, &rf), 0);
    double diff = 0, mag = 0;
    for (uint32_t e = 0; e < ri.n_head; e++) {
        diff += fabs(ri.head_mean[e] - rf.head_mean[e]);
        mag += fabs(rf.head_mean[e]);
    }
    assert_true(mag > 0);
    assert_true(diff <= 0.25 * mag);
    snn_lsim_result_free(&ri);
    snn_lsim_result_free(&rf);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_allocation_failures_are_clean(void **state)
{
    (void)state;
    struct snn_net *net = small_cnn(3);
    struct snn_lquant *lq = prepare(net);
    struct snn_lsim_result ref;
    struct snn_lsim_opts o = {0};
    assert_int_equal(snn_lsim_run(net, lq, &o, &ref), 0);
    int ok = 0;
    for (int f64 = 0; f64 < 2; f64++)
        for (long n = 0; n < 80; n++) {
            struct snn_lsim_result r;
            o.float64 = f64;
            snn_alloc_fail_after(n);
            int err = snn_lsim_run(net, lq, &o, &r);
            snn_alloc_fail_after(-1);
            if (err == 0) {
                if (!f64)
                    assert_memory_equal(r.head_sum, ref.head_sum,
                                        ref.n_head * sizeof ref.head_sum[0]);
                snn_lsim_result_free(&r);
                ok++;
            } else {
                assert_int_equal(err, SNN_ENOMEM);
                assert_null(r.head_sum);
            }
        }
    assert_true(ok > 0);
    snn_lsim_result_free(&ref);
    snn_lquant_free(lq);
    snn_net_free(net);
}

/*
 * A small spike-driven transformer on 32 x 32 x 3 pixels, T = 4: a
 * convolutional stem down to 8 x 8 x 64, then one encoder block (SDSA v1
 * with membrane shortcuts, an MLP), then a classifier.  Reports its time.
 */
static struct snn_lnode *gconv(struct snn_net *net, const char *name, int src, uint32_t out,
                               uint32_t k, uint32_t stride, double range)
{
    struct snn_lnode *c = add(net, name, SNN_L_CONV, src, -1, -1);
    c->u.conv.out_channels = out;
    c->u.conv.kernel = k;
    c->u.conv.stride = stride;
    c->u.conv.weight_gen = (struct snn_gen){.on = true, .lo = -range, .hi = range};
    return c;
}

/* The index of the node added last. */
static int last(const struct snn_net *net) { return (int)net->layers->n_nodes - 1; }

static void test_tiny_transformer_speed(void **state)
{
    (void)state;
    struct snn_net *net = snn_net_new();
    net->seed = 1;
    snn_net_layers(net)->timesteps = 4;
    input(net, "img", SNN_T_COUNTS, 3, 32, 32)->u.input.gen = (struct snn_gen){.on = true};
    gconv(net, "stem1", 0, 32, 3, 1, 0.005);
    add(net, "s1", SNN_L_LIF, last(net), -1, -1);
    gconv(net, "stem2", last(net), 64, 3, 2, 0.2);
    add(net, "s2", SNN_L_LIF, last(net), -1, -1);
    gconv(net, "stem3", last(net), 64, 3, 2, 0.2);
    int stem = last(net); /* q16 [64, 8, 8] */
    add(net, "s3", SNN_L_LIF, stem, -1, -1);
    add(net, "tok", SNN_L_TOKENS, last(net), -1, -1);
    int tok = last(net); /* spikes [64, 64, 1] */
    int qkv[3];
    const char *nm[3][2] = {{"q", "qs"}, {"k", "ks"}, {"v", "vs"}};
    for (int i = 0; i < 3; i++) {
        gconv(net, nm[i][0], tok, 64, 1, 1, 0.2);
        add(net, nm[i][1], SNN_L_LIF, last(net), -1, -1);
        qkv[i] = last(net);
    }
    add(net, "att", SNN_L_SDSA1, qkv[0], qkv[1], qkv[2]);
    gconv(net, "proj", last(net), 64, 1, 1, 0.2);
    int proj = last(net);
    /* the membrane shortcut: the stem's currents as tokens plus the projection */
    add(net, "stemtok", SNN_L_TOKENS, stem, -1, -1);
    add(net, "res", SNN_L_ADD, proj, last(net), -1);
    add(net, "rs", SNN_L_LIF, last(net), -1, -1);
    gconv(net, "mlp1", last(net), 128, 1, 1, 0.2);
    add(net, "m1", SNN_L_LIF, last(net), -1, -1);
    gconv(net, "mlp2", last(net), 64, 1, 1, 0.2);
    add(net, "m2", SNN_L_LIF, last(net), -1, -1);
    add(net, "gap", SNN_L_SUMPOOL, last(net), -1, -1)->u.sumpool.mean = true;
    add(net, "gs", SNN_L_LIF, last(net), -1, -1)->u.lif.threshold = 0.1;
    add(net, "flat", SNN_L_FLATTEN, last(net), -1, -1);
    gconv(net, "fc", last(net), 10, 1, 1, 0.5);
    struct snn_lquant *lq = prepare(net);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct snn_lsim_result res;
    struct snn_lsim_opts o = {0};
    assert_int_equal(snn_lsim_run(net, lq, &o, &res), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    uint64_t spikes = 0;
    for (uint32_t i = 0; i < res.n_nodes; i++)
        spikes += res.node_events[i];
    fprintf(stderr, "tiny transformer: %u layers, T = 4, %llu spikes, %.3f s\n",
            net->layers->n_nodes, (unsigned long long)spikes, s);
    assert_true(spikes > 1000);
    assert_int_equal(res.n_head, 10);
    assert_true(s < 10); /* well under a second unsanitized; generous for sanitizers */
    snn_lsim_result_free(&res);
    snn_lquant_free(lq);
    snn_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lif_tau2_and_tau4),
        cmocka_unit_test(test_lif_rounds_towards_minus_infinity),
        cmocka_unit_test(test_ilif_half_even),
        cmocka_unit_test(test_conv_stride2_padding),
        cmocka_unit_test(test_conv_depthwise),
        cmocka_unit_test(test_counts_bit_serial_equals_multiplication),
        cmocka_unit_test(test_maxpool_negative_q16_and_spikes),
        cmocka_unit_test(test_sumpool_mean),
        cmocka_unit_test(test_sdsa_against_formulas),
        cmocka_unit_test(test_add_saturates),
        cmocka_unit_test(test_tokens_and_flatten_order),
        cmocka_unit_test(test_events_in_yxc_order),
        cmocka_unit_test(test_random_graphs_against_naive),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_float64_mode),
        cmocka_unit_test(test_allocation_failures_are_clean),
        cmocka_unit_test(test_tiny_transformer_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_lquant.c: the layer quantize pass (ir/lquant.h) against
 * values computed by hand from docs/numerics.md, "The layer view": weight
 * scales (per channel, LSQ, int4), batch-norm folding into (m, b, sh),
 * the accumulator bound, thresholds, sum-pool means, the SDSA v2 scale,
 * inputs (their checks and the generator), the report, and every error
 * the pass must give.
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

#include "ir/ir.h"
#include "ir/layer.h"
#include "ir/lquant.h"
#include "support/arena.h"
#include "support/err.h"

#include "sink.h"

/* An array of the net's arena holding v[0 .. product of dims). */
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
    memcpy(a.v, v, n * sizeof(double));
    return a;
}

static struct snn_array vec(struct snn_net *net, uint32_t n, const double *v)
{
    uint32_t d[1] = {n};
    return arr(net, 1, d, v);
}

/* A net with a generated input [c, h, w] of kind k as node 0. */
static struct snn_net *net_with_input(uint32_t c, uint32_t h, uint32_t w, enum snn_tkind k)
{
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    struct snn_lnode *in = snn_layers_add(net, "in", SNN_L_INPUT);
    assert_non_null(in);
    in->u.input.shape = (struct snn_shape){c, h, w};
    in->u.input.kind = k;
    in->u.input.gen = (struct snn_gen){.on = true, .density = 0.5};
    return net;
}

/* Appends a conv on node src with the given weights [out, in, k, k]. */
static struct snn_lnode *add_conv(struct snn_net *net, const char *name, uint32_t src,
                                  uint32_t out, uint32_t cin, uint32_t k, const double *w)
{
    struct snn_lnode *n = snn_layers_add(net, name, SNN_L_CONV);
    assert_non_null(n);
    n->in[0] = src;
    n->n_in = 1;
    n->u.conv.out_channels = out;
    n->u.conv.kernel = k;
    uint32_t d[4] = {out, cin, k, k};
    n->u.conv.weight = arr(net, 4, d, w);
    return n;
}

static void verify(struct snn_net *net)
{
    struct sink s;
    sink_open(&s);
    int err = snn_layers_verify(net, s.d);
    if (err)
        fprintf(stderr, "%s", sink_text(&s));
    assert_int_equal(err, 0);
    sink_close(&s);
}

/* Quantizes, expecting err; the message goes to *msg (caller frees). */
static int quantize(struct snn_net *net, struct snn_lquant **lq, char **msg)
{
    struct sink s;
    sink_open(&s);
    int err = snn_layers_quantize(net, s.d, lq);
    if (msg)
        *msg = strdup(sink_text(&s));
    else if (err)
        fprintf(stderr, "%s", sink_text(&s));
    sink_close(&s);
    return err;
}

static void expect_error(struct snn_net *net, const char *words)
{
    struct snn_lquant *lq = (struct snn_lquant *)1;
    char *msg;
    assert_int_equal(quantize(net, &lq, &msg), SNN_ERANGE);
    assert_null(lq);
    if (!strstr(msg, words))
        fprintf(stderr, "message: %s\nexpected: %s\n", msg, words);
    assert_non_null(strstr(msg, words));
    free(msg);
}

/* ---- weights --------------------------------------------------------------- */

static void test_int8_scale_per_channel(void **state)
{
    (void)state;
    struct snn_net *net = net_with_input(2, 1, 1, SNN_T_SPIKES);
    const double w[4] = {1.0, -0.5, 0.25, 0.1};
    add_conv(net, "fc", 0, 2, 2, 1, w);
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    const struct snn_lq_node *q = &lq->nodes[1];
    assert_int_equal(q->w_count, 4);
    /* channel 0: scale 1/127; -0.5 / (1/127) = -63.5, a tie, away from zero */
    assert_int_equal(q->w[0], 127);
    assert_int_equal(q->w[1], -64);
    /* channel 1: scale 0.25/127; 0.1 / scale = 50.8 */
    assert_int_equal(q->w[2], 127);
    assert_int_equal(q->w[3], 51);
    assert_true(fabs(q->w_scale[0] - 1.0 / 127) < 1e-18);
    assert_true(fabs(q->w_scale[1] - 0.25 / 127) < 1e-18);
    assert_int_equal(q->w_max, 127);
    /* acc bound: fan-in 2 x spikes 1 x 127 */
    assert_int_equal(q->acc_bound, 254);
    /* the real weights stay for the float64 mode */
    assert_true(q->w_real[1] == -0.5);
    /* the report: the largest weight error is channel 0's half LSB, relative to 1.0 */
    bool found = false;
    for (size_t i = 0; i < lq->n_errs; i++)
        if (!strcmp(lq->errs[i].where, "fc") && strstr(lq->errs[i].what, "weight (int8")) {
            found = true;
            assert_true(lq->errs[i].value == 1.0);
            assert_true(fabs(lq->errs[i].abs_err - 0.5 / 127) < 1e-12);
            assert_true(fabs(lq->errs[i].rel_err - 0.5 / 127) < 1e-12);
        }
    assert_true(found);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_int4_and_zero_channel(void **state)
{
    (void)state;
    struct snn_net *net = net_with_input(3, 1, 1, SNN_T_SPIKES);
    const double w[6] = {0.7, -0.35, 0.2, 0, 0, 0};
    struct snn_lnode *c = add_conv(net, "fc", 0, 2, 3, 1, w);
    c->u.conv.bits = 4;
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    const struct snn_lq_node *q = &lq->nodes[1];
    /* scale 0.1: 7, -3.5 -> -4, 2 */
    assert_int_equal(q->w[0], 7);
    assert_int_equal(q->w[1], -4);
    assert_int_equal(q->w[2], 2);
    /* an all-zero channel: scale 0, weights 0, multiplier 0 */
    assert_int_equal(q->w[3], 0);
    assert_true(q->w_scale[1] == 0);
    assert_int_equal(q->rq.m[1], 0);
    assert_int_equal(q->w_max, 7);
    assert_int_equal(q->acc_bound, 3 * 7);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_lsq_scales(void **state)
{
    (void)state;
    struct snn_net *net = net_with_input(2, 1, 1, SNN_T_SPIKES);
    /* multiples of the scale, within float32 rounding */
    const double w[4] = {0.03, -0.0500000001, 1.27, -1.27};
    const double sc[2] = {0.01, 0.01};
    struct snn_lnode *c = add_conv(net, "fc", 0, 2, 2, 1, w);
    c->u.conv.scale = vec(net, 2, sc);
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    const struct snn_lq_node *q = &lq->nodes[1];
    assert_int_equal(q->w[0], 3);
    assert_int_equal(q->w[1], -5);
    assert_int_equal(q->w[2], 127);
    assert_int_equal(q->w[3], -127);
    assert_true(q->w_scale[0] == 0.01);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_lsq_errors(void **state)
{
    (void)state;
    {
        struct snn_net *net = net_with_input(2, 1, 1, SNN_T_SPIKES);
        const double w[2] = {0.03, 0.035};
        const double sc[1] = {0.01};
        struct snn_lnode *c = add_conv(net, "proj", 0, 1, 2, 1, w);
        c->u.conv.scale = vec(net, 1, sc);
        verify(net);
        expect_error(net, "layer 'proj': weight [0, 1, 0, 0] = 0.035 is 3.5");
        expect_error(net, "a scaled weight must be a whole number");
        snn_net_free(net);
    }
    {
        struct snn_net *net = net_with_input(1, 1, 1, SNN_T_SPIKES);
        const double w[1] = {1.28};
        const double sc[1] = {0.01};
        struct snn_lnode *c = add_conv(net, "proj", 0, 1, 1, 1, w);
        c->u.conv.scale = vec(net, 1, sc);
        verify(net);
        expect_error(net, "outside the int8 range");
        snn_net_free(net);
    }
    {
        struct snn_net *net = net_with_input(1, 1, 1, SNN_T_SPIKES);
        const double w[1] = {0.8};
        const double sc[1] = {0.1};
        struct snn_lnode *c = add_conv(net, "proj", 0, 1, 1, 1, w);
        c->u.conv.scale = vec(net, 1, sc);
        c->u.conv.bits = 4;
        verify(net);
        expect_error(net, "outside the int4 range");
        snn_net_free(net);
    }
    {
        struct snn_net *net = net_with_input(1, 1, 1, SNN_T_SPIKES);
        const double w[1] = {0.8};
        const double sc[1] = {0};
        struct snn_lnode *c = add_conv(net, "proj", 0, 1, 1, 1, w);
        c->u.conv.scale = vec(net, 1, sc);
        verify(net);
        expect_error(net, "the weight scale of channel 0 is 0");
        snn_net_free(net);
    }
}

/* ---- requantization ------------------------------------------------------- */

static void test_batch_norm_folding_by_hand(void **state)
{
    (void)state;
    struct snn_net *net = net_with_input(1, 1, 1, SNN_T_SPIKES);
    const double w[2] = {0.5, -0.02};
    const double sc[2] = {0.01, 0.001}, bias[2] = {0.2, 0};
    const double gamma[2] = {2, 1}, beta[2] = {0.1, -3}, mean[2] = {0.3, 1}, var[2] = {15, 0};
    struct snn_lnode *c = add_conv(net, "bn", 0, 2, 1, 1, w);
    c->u.conv.scale = vec(net, 2, sc);
    c->u.conv.bias = vec(net, 2, bias);
    c->u.conv.bn = true;
    c->u.conv.bn_eps = 1.0;
    c->u.conv.bn_gamma = vec(net, 2, gamma);
    c->u.conv.bn_beta = vec(net, 2, beta);
    c->u.conv.bn_mean = vec(net, 2, mean);
    c->u.conv.bn_var = vec(net, 2, var);
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    const struct snn_lq_node *q = &lq->nodes[1];
    assert_int_equal(q->w[0], 50);
    assert_int_equal(q->w[1], -20);
    /*
     * channel 0: gain g = 2 / sqrt(15 + 1) = 0.5; multiplier per acc LSB
     * 0.01 x 0.5 = 0.005, in Q15.16 327.68, 2^8 <= 327.68 < 2^9 so
     * sh = 23 - 9 = 14 and m = floor(327.68 x 2^14 + 0.5) = 5368709;
     * bias (0.2 - 0.3) x 0.5 + 0.1 = 0.05 -> floor(3276.8 + 0.5) = 3277.
     * channel 1: g = 1 / sqrt(0 + 1) = 1, multiplier 0.001 -> 65.536 x
     * 2^14 = 1073741.824 -> 1073742; bias (0 - 1) x 1 - 3 = -4 -> -262144.
     */
    assert_int_equal(q->rq.sh, 14);
    assert_int_equal(q->rq.m[0], 5368709);
    assert_int_equal(q->rq.b[0], 3277);
    assert_int_equal(q->rq.m[1], 1073742);
    assert_int_equal(q->rq.b[1], -262144);
    /* float64 mode keeps the real gain and offset */
    assert_true(q->f_gain[0] == 0.5);
    assert_true(fabs(q->f_offset[0] - 0.05) < 1e-15);
    assert_true(q->f_offset[1] == -4);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_shift_keeps_23_bits(void **state)
{
    (void)state;
    /* without scales: scale = max|w| / 127, so the multiplier is max|w| / 127 */
    struct snn_net *net = net_with_input(1, 1, 1, SNN_T_SPIKES);
    const double w[3] = {1.0, 127.0, 1e-6};
    add_conv(net, "fc", 0, 3, 1, 1, w);
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    const struct snn_lq_node *q = &lq->nodes[1];
    /* largest: 1.0 (127 / 127) x 2^16 = 2^16: e = 17, sh = 6, m = 2^22 */
    assert_int_equal(q->rq.sh, 6);
    assert_int_equal(q->rq.m[1], 1 << 22);
    /* 1/127 x 2^16 x 2^6 = 33026.0157... -> 33026 */
    assert_int_equal(q->rq.m[0], 33026);
    /* 1e-6/127 x 2^22 = 0.033 -> 0: too small for the layer's shift */
    assert_int_equal(q->rq.m[2], 0);
    for (int o = 0; o < 3; o++)
        assert_int_equal(q->rq.b[o], 0);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_requant_errors(void **state)
{
    (void)state;
    {
        /* multiplier 200 per acc LSB: 200 x 2^16 >= 2^23 */
        struct snn_net *net = net_with_input(1, 1, 1, SNN_T_SPIKES);
        const double w[1] = {200};
        const double sc[1] = {200};
        struct snn_lnode *c = add_conv(net, "big", 0, 1, 1, 1, w);
        c->u.conv.scale = vec(net, 1, sc);
        verify(net);
        expect_error(net, "layer 'big': requantization multiplier");
        snn_net_free(net);
    }
    {
        struct snn_net *net = net_with_input(1, 1, 1, SNN_T_SPIKES);
        const double w[1] = {1}, bias[1] = {40000};
        struct snn_lnode *c = add_conv(net, "b", 0, 1, 1, 1, w);
        c->u.conv.bias = vec(net, 1, bias);
        verify(net);
        expect_error(net, "layer 'b': the bias of channel 0");
        snn_net_free(net);
    }
}

static void test_accumulator_bound(void **state)
{
    (void)state;
    /* pixels (255) through a 7 x 7 kernel over 512 channels: 512 x 49 x 255 x 127 < 2^31 */
    struct snn_net *net = net_with_input(512, 7, 7, SNN_T_COUNTS);
    struct snn_lnode *c = snn_layers_add(net, "wide", SNN_L_CONV);
    c->in[0] = 0;
    c->n_in = 1;
    c->u.conv.out_channels = 1;
    c->u.conv.kernel = 7;
    c->u.conv.weight_gen = (struct snn_gen){.on = true, .lo = -1, .hi = 1};
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    assert_int_equal(lq->nodes[1].acc_bound, 512ull * 49 * 255 * 127);
    snn_lquant_free(lq);
    /*
     * The verifier's limits (1024 channels, 7 x 7) keep every int8 layer
     * below 2^31; the check stands for the day they change.  Widen the
     * input behind the verifier's back to reach it: 70000 x 255 x 127.
     */
    net->layers->nodes[0].shape.c = 70000;
    net->layers->nodes[1].u.conv.kernel = 1;
    net->layers->nodes[1].u.conv.pad = 0;
    expect_error(net, "layer 'wide': accumulator range: fan-in 70000 x largest input 255 x "
                      "largest |weight| 127");
    snn_net_free(net);
}

/* ---- thresholds, pools, attention ------------------------------------------ */

static void test_thresholds(void **state)
{
    (void)state;
    struct snn_net *net = net_with_input(1, 1, 1, SNN_T_SPIKES);
    const double w[1] = {1};
    add_conv(net, "fc", 0, 1, 1, 1, w);
    struct snn_lnode *l = snn_layers_add(net, "lif", SNN_L_LIF);
    l->in[0] = 1;
    l->n_in = 1;
    l->u.lif.threshold = 0.3;
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    /* 0.3 x 65536 = 19660.8 -> 19661 */
    assert_int_equal(lq->nodes[2].theta, 19661);
    assert_true(lq->nodes[2].theta_real == 0.3);
    assert_int_equal(lq->nodes[2].vmax, 1);
    bool found = false;
    for (size_t i = 0; i < lq->n_errs; i++)
        if (!strcmp(lq->errs[i].where, "lif") && !strcmp(lq->errs[i].what, "threshold")) {
            found = true;
            assert_true(fabs(lq->errs[i].abs_err - 0.2 / 65536) < 1e-12);
        }
    assert_true(found);
    snn_lquant_free(lq);
    /* a threshold that rounds to 0 cannot be represented */
    net->layers->nodes[2].u.lif.threshold = 1e-6;
    expect_error(net, "layer 'lif': threshold 1e-06 cannot be represented");
    /* nor one that rounds to 2^31 - 1 or more */
    net->layers->nodes[2].u.lif.threshold = 32767.99999;
    expect_error(net, "cannot be represented in Q15.16");
    snn_net_free(net);
}

static void test_sumpool_and_ilif_vmax(void **state)
{
    (void)state;
    struct snn_net *net = net_with_input(2, 3, 3, SNN_T_SPIKES);
    const double w[4] = {1, 0, 0, 1};
    add_conv(net, "fc", 0, 2, 2, 1, w);
    struct snn_lnode *n = snn_layers_add(net, "il", SNN_L_ILIF);
    n->in[0] = 1;
    n->n_in = 1;
    n->u.ilif.d_max = 9;
    n = snn_layers_add(net, "mean", SNN_L_SUMPOOL);
    n->in[0] = 2;
    n->n_in = 1;
    n->u.sumpool.mean = true;
    n = snn_layers_add(net, "sum", SNN_L_SUMPOOL);
    n->in[0] = 2;
    n->n_in = 1;
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    assert_int_equal(lq->nodes[2].vmax, 9);
    /* mean over 9 positions: 65536 / 9 = 7281.78, 2^12 <= it < 2^13, sh = 10,
     * m = floor(7281.78 x 1024 + 0.5) = 7456540 */
    assert_int_equal(lq->nodes[3].rq.sh, 10);
    assert_int_equal(lq->nodes[3].rq.m[0], 7456540);
    assert_int_equal(lq->nodes[3].rq.m[1], 7456540);
    assert_int_equal(lq->nodes[3].rq.b[1], 0);
    assert_int_equal(lq->nodes[3].acc_bound, 9 * 9);
    /* a plain sum: x 2^16 exactly as m = 2^22, sh = 6 */
    assert_int_equal(lq->nodes[4].rq.sh, 6);
    assert_int_equal(lq->nodes[4].rq.m[0], 1 << 22);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_sdsa(void **state)
{
    (void)state;
    struct snn_net *net = net_with_input(8, 5, 1, SNN_T_SPIKES);
    struct snn_lnode *n = snn_layers_add(net, "a1", SNN_L_SDSA1);
    n->in[0] = n->in[1] = n->in[2] = 0;
    n->n_in = 3;
    n->u.sdsa1.threshold = 0.5;
    n = snn_layers_add(net, "a2", SNN_L_SDSA2);
    n->in[0] = n->in[1] = n->in[2] = 0;
    n->n_in = 3;
    n->u.sdsa2.heads = 2;
    n->u.sdsa2.scale = 0.125;
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    assert_int_equal(lq->nodes[1].theta, 32768);
    /* 0.125 x 2^16 = 2^13: e = 14, sh = 9, m = 2^22 */
    assert_int_equal(lq->nodes[2].rq.sh, 9);
    assert_int_equal(lq->nodes[2].rq.m[7], 1 << 22);
    assert_true(lq->nodes[2].f_gain[3] == 0.125);
    /* d = 4 channels a head, 5 tokens */
    assert_int_equal(lq->nodes[2].acc_bound, 4 * 5);
    snn_lquant_free(lq);
    snn_net_free(net);
}

/* ---- inputs ------------------------------------------------------------------ */

static void test_input_data(void **state)
{
    (void)state;
    struct snn_net *net = snn_net_new();
    struct snn_layer_graph *g = snn_net_layers(net);
    g->timesteps = 2;
    struct snn_lnode *in = snn_layers_add(net, "img", SNN_L_INPUT);
    in->u.input.shape = (struct snn_shape){1, 1, 3};
    in->u.input.kind = SNN_T_COUNTS;
    const double v[6] = {0, 17, 255, 3, 2, 1};
    uint32_t d4[4] = {2, 1, 1, 3};
    in->u.input.data = arr(net, 4, d4, v);
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    assert_int_equal(lq->nodes[0].data_steps, 2);
    uint8_t got[3];
    snn_lquant_input(lq, g, 0, 1, got);
    assert_int_equal(got[0], 3);
    assert_int_equal(got[1], 2);
    assert_int_equal(got[2], 1);
    snn_lquant_free(lq);
    /* counts must be whole numbers 0 .. 255 */
    g->nodes[0].u.input.data.v[4] = 2.5;
    expect_error(net, "layer 'img': input data (test) element [1, 0, 0, 1] is 2.5");
    g->nodes[0].u.input.data.v[4] = 256;
    expect_error(net, "must be whole numbers from 0 to 255");
    /* spikes must be 0 or 1: a [c, h, w] array repeats every step */
    g->nodes[0].u.input.kind = g->nodes[0].kind = SNN_T_SPIKES;
    const double s[3] = {1, 0, 1};
    uint32_t d3[3] = {1, 1, 3};
    g->nodes[0].u.input.data = arr(net, 3, d3, s);
    assert_int_equal(quantize(net, &lq, NULL), 0);
    assert_int_equal(lq->nodes[0].data_steps, 1);
    snn_lquant_input(lq, g, 0, 1, got);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 0);
    assert_int_equal(got[2], 1);
    snn_lquant_free(lq);
    g->nodes[0].u.input.data.v[1] = 2;
    expect_error(net, "element [0, 0, 1] is 2: spikes must be 0 or 1");
    snn_net_free(net);
}

static void test_generated_inputs_and_weights(void **state)
{
    (void)state;
    /* density 0 and 1 are exact */
    for (uint32_t e = 0; e < 1000; e++) {
        assert_int_equal(snn_lquant_gen_input(7, 0, e, 3, SNN_T_SPIKES, 0.0), 0);
        assert_int_equal(snn_lquant_gen_input(7, 0, e, 3, SNN_T_SPIKES, 1.0), 1);
    }
    /* density 0.3: about 30 % of 100000 draws; pixels cover 0 .. 255 evenly */
    unsigned ones = 0, hist[256] = {0};
    for (uint32_t e = 0; e < 100000; e++) {
        ones += snn_lquant_gen_input(7, 2, e, 0, SNN_T_SPIKES, 0.3);
        hist[snn_lquant_gen_input(7, 2, e, 0, SNN_T_COUNTS, 0)]++;
    }
    assert_true(ones > 29500 && ones < 30500);
    for (int v = 0; v < 256; v++)
        assert_true(hist[v] > 300 && hist[v] < 500);
    /* every step, element and node draws anew; the same counter draws the same */
    unsigned same = 0;
    for (uint32_t e = 0; e < 1000; e++)
        same += snn_lquant_gen_input(7, 2, e, 0, SNN_T_COUNTS, 0) ==
                snn_lquant_gen_input(7, 2, e, 1, SNN_T_COUNTS, 0);
    assert_true(same < 20);
    assert_int_equal(snn_lquant_gen_input(9, 1, 5, 2, SNN_T_COUNTS, 0),
                     snn_lquant_gen_input(9, 1, 5, 2, SNN_T_COUNTS, 0));
    /* weights: uniform [lo, hi) */
    double lo = 1, hi = -1, sum = 0;
    for (uint32_t e = 0; e < 10000; e++) {
        double w = snn_lquant_gen_weight(3, 1, e, -0.5, 0.25);
        lo = fmin(lo, w);
        hi = fmax(hi, w);
        sum += w;
    }
    assert_true(lo >= -0.5 && lo < -0.49 && hi < 0.25 && hi > 0.24);
    assert_true(fabs(sum / 10000 - (-0.125)) < 0.01);

    /* a generated layer quantizes its draws */
    struct snn_net *net = net_with_input(4, 2, 2, SNN_T_SPIKES);
    net->seed = 11;
    struct snn_lnode *c = snn_layers_add(net, "g", SNN_L_CONV);
    c->in[0] = 0;
    c->n_in = 1;
    c->u.conv.out_channels = 3;
    c->u.conv.kernel = 3;
    c->u.conv.weight_gen = (struct snn_gen){.on = true, .lo = -2, .hi = 2};
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    const struct snn_lq_node *q = &lq->nodes[1];
    assert_int_equal(q->w_count, 3 * 4 * 9);
    for (uint32_t e = 0; e < q->w_count; e++) {
        double w = snn_lquant_gen_weight(11, 1, e, -2, 2);
        assert_true(q->w_real[e] == w);
        uint32_t o = e / 36;
        double x = w / q->w_scale[o];
        assert_true(fabs(q->w[e] - x) <= 0.5 + 1e-9);
    }
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_generated_weights_with_given_scale(void **state)
{
    (void)state;
    /* generated weights are not trained: a given scale is their LSB, rounded
     * (ties away from zero) and saturated, never an error */
    struct snn_net *net = net_with_input(2, 3, 3, SNN_T_SPIKES);
    for (int i = 0; i < 2; i++) {
        struct snn_lnode *c = snn_layers_add(net, i ? "sat" : "coarse", SNN_L_CONV);
        c->in[0] = 0;
        c->n_in = 1;
        c->u.conv.out_channels = 2;
        c->u.conv.kernel = 3;
        c->u.conv.weight_gen = (struct snn_gen){.on = true, .lo = -1, .hi = 1};
        const double sc[2] = {i ? 0.001 : 0.5, i ? 0.001 : 0.5};
        c->u.conv.scale = vec(net, 2, sc);
    }
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    unsigned saturated = 0;
    for (int i = 1; i <= 2; i++) {
        const struct snn_lq_node *q = &lq->nodes[i];
        for (uint32_t e = 0; e < q->w_count; e++) {
            double x = q->w_real[e] / q->w_scale[e / 18];
            double want = x >= 0 ? floor(x + 0.5) : -floor(-x + 0.5);
            want = fmax(-127, fmin(127, want));
            assert_true(q->w[e] == want);
            saturated += fabs(x) > 127.5;
        }
    }
    assert_true(saturated > 10);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_report_prints(void **state)
{
    (void)state;
    struct snn_net *net = net_with_input(2, 1, 1, SNN_T_SPIKES);
    const double w[4] = {1.0, -0.5, 0.25, 0.1};
    add_conv(net, "fc", 0, 2, 2, 1, w);
    verify(net);
    struct snn_lquant *lq;
    assert_int_equal(quantize(net, &lq, NULL), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    snn_lquant_print_report(lq, f);
    fclose(f);
    assert_non_null(strstr(buf, "where"));
    assert_non_null(strstr(buf, "weight (int8, per-channel scale)"));
    assert_non_null(strstr(buf, "requantization multiplier m / 2^sh"));
    assert_non_null(strstr(buf, "requantization bias b"));
    free(buf);
    snn_lquant_free(lq);
    snn_net_free(net);
}

static void test_allocation_failures_are_clean(void **state)
{
    (void)state;
    struct snn_net *net = net_with_input(3, 4, 4, SNN_T_COUNTS);
    struct snn_lnode *c = snn_layers_add(net, "c", SNN_L_CONV);
    c->in[0] = 0;
    c->n_in = 1;
    c->u.conv.out_channels = 4;
    c->u.conv.kernel = 3;
    c->u.conv.weight_gen = (struct snn_gen){.on = true, .lo = -1, .hi = 1};
    struct snn_lnode *l = snn_layers_add(net, "l", SNN_L_LIF);
    l->in[0] = 1;
    l->n_in = 1;
    struct snn_lnode *p = snn_layers_add(net, "p", SNN_L_SUMPOOL);
    p->in[0] = 2;
    p->n_in = 1;
    p->u.sumpool.mean = true;
    verify(net);
    int ok = 0;
    for (long n = 0; n < 200; n++) {
        struct snn_lquant *lq = (struct snn_lquant *)1;
        snn_alloc_fail_after(n);
        int err = snn_layers_quantize(net, NULL, &lq);
        snn_alloc_fail_after(-1);
        if (err == 0) {
            assert_int_equal(lq->nodes[3].rq.sh, 10); /* 65536 / 16 = 2^12 */
            snn_lquant_free(lq);
            ok++;
        } else {
            assert_int_equal(err, SNN_ENOMEM);
            assert_null(lq);
        }
    }
    assert_true(ok > 0);
    snn_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int8_scale_per_channel),
        cmocka_unit_test(test_int4_and_zero_channel),
        cmocka_unit_test(test_lsq_scales),
        cmocka_unit_test(test_lsq_errors),
        cmocka_unit_test(test_batch_norm_folding_by_hand),
        cmocka_unit_test(test_shift_keeps_23_bits),
        cmocka_unit_test(test_requant_errors),
        cmocka_unit_test(test_accumulator_bound),
        cmocka_unit_test(test_thresholds),
        cmocka_unit_test(test_sumpool_and_ilif_vmax),
        cmocka_unit_test(test_sdsa),
        cmocka_unit_test(test_input_data),
        cmocka_unit_test(test_generated_inputs_and_weights),
        cmocka_unit_test(test_generated_weights_with_given_scale),
        cmocka_unit_test(test_report_prints),
        cmocka_unit_test(test_allocation_failures_are_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_layer.c: layer graphs: the verifier (ir/layer.c), the
 * YAML front end's `layers:` (frontend/yaml.c) and the `node` statements
 * of the IR text form (ir/text.c).
 *
 * The verifier: shapes and kinds inferred through every op, and every
 * rule it enforces, each with its message.  The front end: the examples
 * and a file with every op and .npy arrays of every dtype parse and
 * verify; unknown keys, wrong types, missing files, a tau that is not a
 * power of two and unknown inputs are errors at file:line:col.  The text
 * form: print -> parse -> print is the same text, field for field; every
 * parser error of the layer statements; a changed .npy file is refused by
 * its digest.  Allocation-failure sweeps run the YAML and text readers
 * out of memory at every allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "frontend/frontend.h"
#include "frontend/npy.h"
#include "ir/ir.h"
#include "ir/layer.h"
#include "support/arena.h"
#include "support/diag.h"
#include "support/err.h"

#include "sink.h"

/* ---- building graphs ---------------------------------------------------- */

static struct snn_lnode *add(struct snn_net *net, const char *name, enum snn_lop op,
                             const char *in0, const char *in1, const char *in2)
{
    const char *ins[3] = {in0, in1, in2};
    uint32_t in[3], n = 0;
    for (int i = 0; i < 3 && ins[i]; i++) {
        int k = snn_layers_find(net->layers, ins[i]);
        assert_true(k >= 0);
        in[n++] = (uint32_t)k;
    }
    struct snn_lnode *l = snn_layers_add(net, name, op);
    assert_non_null(l);
    memcpy(l->in, in, sizeof in);
    l->n_in = n;
    return l;
}

static struct snn_lnode *input(struct snn_net *net, uint32_t c, uint32_t h, uint32_t w,
                               enum snn_tkind kind)
{
    struct snn_lnode *l = add(net, "x", SNN_L_INPUT, NULL, NULL, NULL);
    l->u.input.shape = (struct snn_shape){c, h, w};
    l->u.input.kind = kind;
    l->u.input.gen = (struct snn_gen){.on = true, .density = 0.5};
    return l;
}

static struct snn_lnode *conv(struct snn_net *net, const char *name, const char *in,
                              uint32_t out, uint32_t k, uint32_t s)
{
    struct snn_lnode *l = add(net, name, SNN_L_CONV, in, NULL, NULL);
    l->u.conv.out_channels = out;
    l->u.conv.kernel = k;
    l->u.conv.stride = s;
    l->u.conv.weight_gen = (struct snn_gen){.on = true, .lo = -1, .hi = 1};
    return l;
}

static struct snn_array vec(struct snn_net *net, uint32_t n, double x)
{
    struct snn_array a = {.ndim = 1, .dims = {n}, .src = "inline"};
    a.v = snn_arena_array(net->arena, n ? n : 1, sizeof *a.v);
    assert_non_null(a.v);
    for (uint32_t i = 0; i < n; i++)
        a.v[i] = x;
    return a;
}

static const struct snn_lnode *node(const struct snn_net *net, const char *name)
{
    int k = snn_layers_find(net->layers, name);
    assert_true(k >= 0);
    return &net->layers->nodes[k];
}

static void shape_is(const struct snn_net *net, const char *name, uint32_t c, uint32_t h,
                     uint32_t w, enum snn_tkind kind)
{
    const struct snn_lnode *l = node(net, name);
    if (l->shape.c != c || l->shape.h != h || l->shape.w != w || l->kind != kind) {
        print_error("%s: [%u, %u, %u] %s, want [%u, %u, %u] %s\n", name, l->shape.c, l->shape.h,
                    l->shape.w, snn_tkind_name(l->kind), c, h, w, snn_tkind_name(kind));
        fail();
    }
}

/* Verifies net: it must fail with a message holding want (or pass when
 * want is NULL). */
static void verify_says(struct snn_net *net, const char *want)
{
    struct sink s;
    sink_open(&s);
    int rc = snn_layers_verify(net, s.d);
    const char *msg = sink_text(&s);
    if (want ? rc != SNN_ESEMA || !strstr(msg, want) : rc != 0) {
        print_error("want %s, got %d and: %s\n", want ? want : "success", rc, msg);
        fail();
    }
    sink_close(&s);
}

/* ---- the verifier: shapes ------------------------------------------------- */

static void shapes_through_every_op(void **state)
{
    (void)state;
    struct snn_net *net = snn_net_new();
    input(net, 3, 32, 32, SNN_T_COUNTS);
    conv(net, "c1", "x", 16, 3, 2);                      /* (32 + 2 - 3) / 2 + 1 = 16 */
    add(net, "l1", SNN_L_LIF, "c1", NULL, NULL);
    struct snn_lnode *p = add(net, "p1", SNN_L_MAXPOOL, "l1", NULL, NULL); /* 3, 2, auto */
    (void)p;
    struct snn_lnode *c5 = conv(net, "c5", "p1", 8, 5, 1);
    c5->u.conv.pad = 0;                                  /* 8 - 5 + 1 = 4 */
    add(net, "i5", SNN_L_ILIF, "c5", NULL, NULL);
    struct snn_lnode *dw = conv(net, "dw", "i5", 0, 3, 1);
    dw->u.conv.depthwise = true;
    add(net, "mq", SNN_L_MAXPOOL, "dw", NULL, NULL);     /* q16 stays q16: 4 -> 2 */
    add(net, "t", SNN_L_TOKENS, "p1", NULL, NULL);       /* [16, 64, 1] */
    add(net, "a1", SNN_L_SDSA1, "t", "t", "t");
    struct snn_lnode *a2 = add(net, "a2", SNN_L_SDSA2, "t", "a1", "t");
    a2->u.sdsa2.heads = 4;
    add(net, "l2", SNN_L_LIF, "a2", NULL, NULL);
    conv(net, "lin", "l2", 16, 1, 1);
    add(net, "r", SNN_L_ADD, "a2", "lin", NULL);
    add(net, "sp", SNN_L_SUMPOOL, "l2", NULL, NULL);
    add(net, "ls", SNN_L_LIF, "sp", NULL, NULL);
    add(net, "f", SNN_L_FLATTEN, "i5", NULL, NULL);      /* 8 * 4 * 4 = 128 */
    conv(net, "head", "f", 10, 1, 1);
    verify_says(net, NULL);
    shape_is(net, "x", 3, 32, 32, SNN_T_COUNTS);
    shape_is(net, "c1", 16, 16, 16, SNN_T_Q16);
    shape_is(net, "l1", 16, 16, 16, SNN_T_SPIKES);
    shape_is(net, "p1", 16, 8, 8, SNN_T_SPIKES);
    shape_is(net, "c5", 8, 4, 4, SNN_T_Q16);
    shape_is(net, "i5", 8, 4, 4, SNN_T_COUNTS);
    shape_is(net, "dw", 8, 4, 4, SNN_T_Q16);
    shape_is(net, "mq", 8, 2, 2, SNN_T_Q16);
    shape_is(net, "t", 16, 64, 1, SNN_T_SPIKES);
    shape_is(net, "a1", 16, 64, 1, SNN_T_SPIKES);
    shape_is(net, "a2", 16, 64, 1, SNN_T_Q16);
    shape_is(net, "r", 16, 64, 1, SNN_T_Q16);
    shape_is(net, "sp", 16, 1, 1, SNN_T_Q16);
    shape_is(net, "ls", 16, 1, 1, SNN_T_SPIKES);
    shape_is(net, "f", 128, 1, 1, SNN_T_COUNTS);
    shape_is(net, "head", 10, 1, 1, SNN_T_Q16);
    /* defaults filled in: paddings, the depthwise channel count, the output */
    assert_int_equal(node(net, "c1")->u.conv.pad, 1);
    assert_int_equal(node(net, "p1")->u.pool.pad, 1);
    assert_int_equal(node(net, "dw")->u.conv.out_channels, 8);
    assert_true(net->layers->has_output);
    assert_int_equal(net->layers->output, net->layers->n_nodes - 1);
    snn_net_free(net);
}

/* ---- the verifier: every rule ---------------------------------------------- */

/* A fresh graph x -> c (conv 8, 3x3) -> l (lif); change() breaks it. */
typedef void breaker(struct snn_net *net);

static void broken(breaker *change, const char *want)
{
    struct snn_net *net = snn_net_new();
    snn_net_layers(net)->timesteps = 4;
    input(net, 4, 8, 8, SNN_T_SPIKES);
    conv(net, "c", "x", 8, 3, 1);
    add(net, "l", SNN_L_LIF, "c", NULL, NULL);
    change(net);
    verify_says(net, want);
    snn_net_free(net);
}

static struct snn_lnode *N(struct snn_net *net, const char *name)
{
    return &net->layers->nodes[snn_layers_find(net->layers, name)];
}

#define BREAK(fn, ...)                                                                         \
    static void fn(struct snn_net *net) { __VA_ARGS__; }

BREAK(b_nothing, (void)net)
BREAK(b_inputs, N(net, "c")->n_in = 2)
BREAK(b_forward, N(net, "c")->in[0] = 2)
BREAK(b_empty, N(net, "x")->u.input.shape.h = 0)
BREAK(b_big, N(net, "x")->u.input.shape.c = 1025)
BREAK(b_q16_in, N(net, "x")->u.input.kind = SNN_T_Q16)
BREAK(b_no_data, N(net, "x")->u.input.gen.on = false)
BREAK(b_density, N(net, "x")->u.input.gen.density = 1.5)
BREAK(b_data_shape, N(net, "x")->u.input.data = vec(net, 5, 1))
BREAK(b_data_nan, {
    struct snn_array a = {.ndim = 3, .dims = {4, 8, 8}, .src = "x.npy"};
    a.v = snn_arena_array(net->arena, 256, sizeof *a.v);
    a.v[17] = NAN;
    N(net, "x")->u.input.data = a;
})
BREAK(b_data_t, {
    struct snn_array a = {.ndim = 4, .dims = {3, 4, 8, 8}, .src = "x.npy"};
    a.v = snn_arena_array(net->arena, 768, sizeof *a.v);
    N(net, "x")->u.input.data = a;
})
BREAK(b_conv_q16, {
    add(net, "c2", SNN_L_CONV, "c", NULL, NULL)->u.conv.out_channels = 2;
})
BREAK(b_kernel, N(net, "c")->u.conv.kernel = 4)
BREAK(b_kernel9, N(net, "c")->u.conv.kernel = 9)
BREAK(b_stride, N(net, "c")->u.conv.stride = 3)
BREAK(b_pad, N(net, "c")->u.conv.pad = 2)
BREAK(b_bits, N(net, "c")->u.conv.bits = 6)
BREAK(b_dw, {
    N(net, "c")->u.conv.depthwise = true;
    N(net, "c")->u.conv.out_channels = 3;
})
BREAK(b_conv_empty, {
    N(net, "c")->u.conv.kernel = 7;
    N(net, "x")->u.input.shape = (struct snn_shape){4, 4, 4};
    N(net, "c")->u.conv.pad = 1;
})
BREAK(b_no_channels, N(net, "c")->u.conv.out_channels = 0)
BREAK(b_weight_shape, {
    struct snn_array w = {.ndim = 4, .dims = {8, 4, 3, 1}, .src = "w.npy"};
    w.v = snn_arena_array(net->arena, 96, sizeof *w.v);
    N(net, "c")->u.conv.weight = w;
})
BREAK(b_no_weights, N(net, "c")->u.conv.weight_gen.on = false)
BREAK(b_gen_lohi, N(net, "c")->u.conv.weight_gen.lo = 1)
BREAK(b_scale, N(net, "c")->u.conv.scale = vec(net, 7, 1))
BREAK(b_bias, N(net, "c")->u.conv.bias = vec(net, 9, 1))
BREAK(b_bn_missing, {
    N(net, "c")->u.conv.bn = true;
    N(net, "c")->u.conv.bn_gamma = vec(net, 8, 1);
    N(net, "c")->u.conv.bn_beta = vec(net, 8, 0);
    N(net, "c")->u.conv.bn_mean = vec(net, 8, 0);
})
BREAK(b_bn_var, {
    struct snn_lconv *c = &N(net, "c")->u.conv;
    c->bn = true;
    c->bn_gamma = vec(net, 8, 1);
    c->bn_beta = vec(net, 8, 0);
    c->bn_mean = vec(net, 8, 0);
    c->bn_var = vec(net, 8, 1);
    c->bn_var.v[5] = -1e-5;
})
BREAK(b_lif_spikes, add(net, "l2", SNN_L_LIF, "l", NULL, NULL))
BREAK(b_tau, N(net, "l")->u.lif.tau_shift = 0)
BREAK(b_tau9, N(net, "l")->u.lif.tau_shift = 9)
BREAK(b_thr, N(net, "l")->u.lif.threshold = 0)
BREAK(b_thr_big, N(net, "l")->u.lif.threshold = 40000)
BREAK(b_ilif_decay, add(net, "i", SNN_L_ILIF, "c", NULL, NULL)->u.ilif.decay_shift = 9)
BREAK(b_ilif_d, add(net, "i", SNN_L_ILIF, "c", NULL, NULL)->u.ilif.d_max = 16)
BREAK(b_ilif_d0, add(net, "i", SNN_L_ILIF, "c", NULL, NULL)->u.ilif.d_max = 0)
BREAK(b_add_kind, add(net, "a", SNN_L_ADD, "c", "l", NULL))
BREAK(b_add_shape, {
    conv(net, "c2", "x", 8, 3, 2);
    add(net, "a", SNN_L_ADD, "c", "c2", NULL);
})
BREAK(b_pool_k, add(net, "p", SNN_L_MAXPOOL, "l", NULL, NULL)->u.pool.kernel = 2)
BREAK(b_pool_pad, add(net, "p", SNN_L_MAXPOOL, "l", NULL, NULL)->u.pool.pad = 5)
BREAK(b_sumpool_q16, add(net, "s", SNN_L_SUMPOOL, "c", NULL, NULL))
BREAK(b_sdsa_kind, {
    add(net, "t", SNN_L_TOKENS, "l", NULL, NULL);
    add(net, "tc", SNN_L_TOKENS, "c", NULL, NULL);
    add(net, "a", SNN_L_SDSA1, "t", "tc", "t");
})
BREAK(b_sdsa_tokens, add(net, "a", SNN_L_SDSA1, "l", "l", "l"))
BREAK(b_sdsa_same, {
    add(net, "t", SNN_L_TOKENS, "l", NULL, NULL);
    add(net, "p", SNN_L_MAXPOOL, "l", NULL, NULL);
    add(net, "tp", SNN_L_TOKENS, "p", NULL, NULL);
    add(net, "a", SNN_L_SDSA2, "t", "t", "tp");
})
BREAK(b_heads, {
    add(net, "t", SNN_L_TOKENS, "l", NULL, NULL);
    add(net, "a", SNN_L_SDSA2, "t", "t", "t")->u.sdsa2.heads = 3;
})
BREAK(b_attn_scale, {
    add(net, "t", SNN_L_TOKENS, "l", NULL, NULL);
    add(net, "a", SNN_L_SDSA2, "t", "t", "t")->u.sdsa2.scale = 0;
})
BREAK(b_sdsa1_tau, {
    add(net, "t", SNN_L_TOKENS, "l", NULL, NULL);
    add(net, "a", SNN_L_SDSA1, "t", "t", "t")->u.sdsa1.tau_shift = 12;
})
BREAK(b_sdsa1_thr, {
    add(net, "t", SNN_L_TOKENS, "l", NULL, NULL);
    add(net, "a", SNN_L_SDSA1, "t", "t", "t")->u.sdsa1.threshold = -1;
})
BREAK(b_tokens_big, {
    N(net, "x")->u.input.shape = (struct snn_shape){4, 16, 16};
    add(net, "t", SNN_L_TOKENS, "l", NULL, NULL);
})
BREAK(b_flatten_big, {
    N(net, "x")->u.input.shape = (struct snn_shape){4, 32, 32};
    add(net, "f", SNN_L_FLATTEN, "l", NULL, NULL);
})
BREAK(b_dup, add(net, "l", SNN_L_LIF, "c", NULL, NULL))
BREAK(b_timesteps, net->layers->timesteps = 0)
BREAK(b_timesteps_big, net->layers->timesteps = 65536)
BREAK(b_output, {
    net->layers->has_output = true;
    net->layers->output = 3;
})
BREAK(b_pops, snn_net_add_pop(net, "p", SNN_MODEL_IF, 1))

static void every_rule(void **state)
{
    (void)state;
    static const struct {
        breaker *fn;
        const char *want;
    } cases[] = {
        {b_nothing, NULL},
        {b_inputs, "layer 'c': a conv layer takes 1 input, not 2"},
        {b_forward, "layer 'c': input 1 is not an earlier layer"},
        {b_empty, "layer 'x': the input has an empty dimension [4, 0, 8]"},
        {b_big, "the input [1025, 8, 8] is too large: at most 1024 channels"},
        {b_q16_in, "an input is spikes or counts (pixels), not q16"},
        {b_no_data, "layer 'x': no input data: give a .npy file or say how to generate it"},
        {b_density, "a spike density must be in [0, 1], not 1.5"},
        {b_data_shape, "input data (inline) has shape [5], not [4, 8, 8]"},
        {b_data_nan, "input data (x.npy) holds a value that is not a finite number, at index 17"},
        {b_data_t, "input data (x.npy) has shape [3, 4, 8, 8], not [4, 4, 8, 8]"},
        {b_conv_q16, "a convolution takes spikes or counts, and 'c' gives q16 (put a spiking"},
        {b_kernel, "layer 'c': kernel 4: it must be 1, 3, 5 or 7"},
        {b_kernel9, "kernel 9: it must be 1, 3, 5 or 7"},
        {b_stride, "layer 'c': stride 3: it must be 1 or 2"},
        {b_pad, "layer 'c': padding 2 is more than half the kernel (1)"},
        {b_bits, "layer 'c': weights of 6 bits: they must be 8 or 4"},
        {b_dw, "a depthwise convolution has as many outputs as inputs (4), not 3"},
        {b_conv_empty, "layer 'c': the output has an empty dimension [8, 0, 0]"},
        {b_no_channels, "layer 'c': the output has an empty dimension [0, 8, 8]"},
        {b_weight_shape, "weight (w.npy) has shape [8, 4, 3, 1], not [8, 4, 3, 3]"},
        {b_no_weights, "layer 'c': no weights: give a .npy file or say how to generate them"},
        {b_gen_lohi, "generated weights need lo < hi"},
        {b_scale, "scale (inline) has shape [7], not [8]"},
        {b_bias, "bias (inline) has shape [9], not [8]"},
        {b_bn_missing, "layer 'c': no batch-norm running variance given"},
        {b_bn_var, "batch-norm variance + eps of channel 5 is not positive"},
        {b_lif_spikes, "a spiking layer takes q16 (a layer's output), and 'l' gives spikes"},
        {b_tau, "layer 'l': tau must be a power of two from 2 to 256"},
        {b_tau9, "tau must be a power of two from 2 to 256"},
        {b_thr, "threshold 0: it must be positive and below 32768"},
        {b_thr_big, "threshold 40000: it must be positive"},
        {b_ilif_decay, "layer 'i': the decay must be 2^-k for k from 0 to 8"},
        {b_ilif_d, "layer 'i': D 16: it must be from 1 to 15"},
        {b_ilif_d0, "D 0: it must be from 1 to 15"},
        {b_add_kind, "an add takes two q16 tensors (layer outputs), not q16 and spikes"},
        {b_add_shape, "'c' is [8, 8, 8] and 'c2' is [8, 4, 4]: an add needs equal shapes"},
        {b_pool_k, "layer 'p': kernel 2: it must be 1, 3, 5 or 7"},
        {b_pool_pad, "layer 'p': padding 5 is more than half the kernel (1)"},
        {b_sumpool_q16, "a sum pool takes spikes or counts, and 'c' gives q16"},
        {b_sdsa_kind, "attention takes spikes for Q, K and V; 'tc' gives q16"},
        {b_sdsa_tokens, "Q, K and V must be the same tokens [channels, n, 1]; 'l' is [8, 8, 8]"},
        {b_sdsa_same, "'tp' is [8, 16, 1]"},
        {b_heads, "layer 'a': 3 heads do not divide 8 channels"},
        {b_attn_scale, "layer 'a': the attention scale must be positive"},
        {b_sdsa1_tau, "layer 'a': tau must be a power of two"},
        {b_sdsa1_thr, "threshold -1: it must be positive"},
        {b_tokens_big, "layer 't': the tokens [8, 256, 1] is too large"},
        {b_flatten_big, "flattening [8, 32, 32] gives more than 1024 features"},
        {b_dup, "layer 'l' is defined twice"},
        {b_timesteps, "timesteps 0: it must be from 1 to 65535"},
        {b_timesteps_big, "timesteps 65536"},
        {b_output, "the output is not a layer of the graph"},
        {b_pops, "a network has populations or layers, not both"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        broken(cases[i].fn, cases[i].want);
}

static void graph_rules(void **state)
{
    (void)state;
    struct snn_net *net = snn_net_new();
    assert_int_equal(snn_layers_verify(net, NULL), 0); /* no layer graph: nothing to check */
    snn_net_layers(net);
    verify_says(net, "the layer graph has no layers");
    /* the first layer must be the input */
    struct snn_lnode *t = snn_layers_add(net, "t", SNN_L_TOKENS);
    (void)t;
    verify_says(net, "a tokens layer takes 1 input, not 0");
    snn_net_free(net);

    net = snn_net_new();
    input(net, 2, 2, 2, SNN_T_SPIKES);
    struct snn_lnode *x2 = snn_layers_add(net, "y", SNN_L_INPUT);
    x2->u.input.shape = (struct snn_shape){2, 2, 2};
    x2->u.input.gen.on = true;
    verify_says(net, NULL);
    assert_int_equal(net->layers->output, 1); /* the last layer by default */
    /* ... and an input that failed hides the errors of the layers after it */
    net->layers->nodes[0].u.input.shape.c = 0;
    conv(net, "c", "x", 2, 1, 1);
    struct sink s;
    sink_open(&s);
    assert_int_equal(snn_layers_verify(net, s.d), SNN_ESEMA);
    assert_int_equal(snn_diag_errors(s.d), 1);
    sink_close(&s);
    snn_net_free(net);
}

/* ---- the YAML front end -------------------------------------------------- */

/* Parses text as the file path (so .npy paths resolve from its folder). */
static int yaml(const char *path, const char *text, struct sink *s, struct snn_net **net)
{
    snn_diag_add_source(s->d, path, text, strlen(text));
    return snn_yaml_parse(path, text, strlen(text), s->d, net);
}

static void yaml_says(const char *text, const char *want)
{
    struct sink s;
    sink_open(&s);
    struct snn_net *net = NULL;
    int rc = yaml(SNN_SOURCE_DIR "/tests/golden/t.yaml", text, &s, &net);
    const char *msg = sink_text(&s);
    if (want ? rc == 0 || !strstr(msg, want) : rc != 0) {
        print_error("want %s, got %d and: %s\n", want ? want : "success", rc, msg);
        if (!getenv("LF_SOFT"))
            fail();
    }
    assert_true(!rc == !!net);
    snn_net_free(net);
    sink_close(&s);
}

#define HEAD "snn: 1\nlayers:\n  nodes:\n    - {name: x, op: input, shape: [2, 4, 4], generate: {density: 0.5}}\n"

static void yaml_errors(void **state)
{
    (void)state;
    yaml_says(HEAD "    - {name: c, op: conv, in: x, channels: 4, generate: {}}\n", NULL);
    yaml_says(HEAD "    - {name: c, op: conv, in: x, chanels: 4, generate: {}}\n",
              "t.yaml:5:34: error: unknown key 'chanels' in layer 'c' (did you mean 'channels'?)");
    yaml_says(HEAD "    - {name: c, op: conv, in: x, channels: 4, generate: {}}\n"
                   "    - {name: l, op: lif, in: c, tau: 3}\n",
              "t.yaml:6:38: error: tau 3: tau must be a power of two");
    yaml_says(HEAD "    - {name: c, op: conv, in: x, channels: 4, generate: {}}\n"
                   "    - {name: l, op: lif, in: c, tau: 512}\n",
              "t.yaml:6:7: error: layer 'l': tau must be a power of two from 2 to 256");
    yaml_says(HEAD "    - {name: c, op: conv, in: x, channels: four, generate: {}}\n",
              "t.yaml:5:44: error: 'channels' must be a whole number, got 'four'");
    yaml_says(HEAD "    - {name: c, op: conv, in: x, channels: 4, weight: missing.npy}\n",
              "t.yaml:5:55: error: cannot read '" SNN_SOURCE_DIR "/tests/golden/missing.npy'");
    yaml_says(HEAD "    - {name: c, op: conv, in: x, channels: 4, weight: w.bin}\n",
              "t.yaml:5:55: error: 'weight' names a file, and it must end in .npy");
    yaml_says(HEAD "    - {name: c, op: conv, in: x, channels: 8, weight: layers_npy_w.npy}\n",
              "t.yaml:5:7: error: layer 'c': weight (layers_npy_w.npy) has shape [8, 4, 3, 3], "
              "not [8, 2, 1, 1]");
    yaml_says(HEAD "    - {name: c, op: conv, in: x, channels: 8, generate: {}, "
                   "weight: layers_npy_w.npy}\n",
              "a convolution takes 'weight' or 'generate', not both");
    yaml_says(HEAD "    - {name: c, op: conv, in: y, channels: 4, generate: {}}\n",
              "t.yaml:5:31: error: no layer 'y' above this one (did you mean 'x'?)");
    yaml_says(HEAD "    - {name: c, op: conv, in: c, channels: 4, generate: {}}\n",
              "no layer 'c' above this one");
    yaml_says(HEAD "    - {name: c, op: convolution, in: x}\n",
              "t.yaml:5:21: error: unknown op 'convolution'");
    yaml_says(HEAD "    - {name: c, op: add, in: [x, x, x, x]}\n",
              "'in' lists 4 layers; a layer takes at most 3 inputs");
    yaml_says(HEAD "    - {name: c, op: lif}\n", "layer 'c' has no 'in'");
    yaml_says(HEAD "    - {name: x, op: tokens, in: x}\n", "t.yaml:5:14: error: layer 'x' is "
                                                          "defined twice");
    yaml_says(HEAD "    - {name: 2c, op: tokens, in: x}\n", "layer name '2c' is not an identifier");
    yaml_says(HEAD "    - {name: c, op: conv, in: x, depthwise: true, bias: 0.5, generate: {}}\n",
              "'bias': one value for every channel needs 'channels'");
    yaml_says(HEAD "    - {name: c, op: conv, in: x, channels: 4, bias: {a: 1}, generate: {}}\n",
              "'bias' must be a .npy file, a number or a list of numbers, not a mapping");
    yaml_says(HEAD "    - {name: c, op: conv, in: x, channels: 4, bn: {weight: 1, bias: 0}, "
                   "generate: {}}\n",
              "'bn' has no 'mean'");
    yaml_says(HEAD "    - {name: c, op: conv, in: x, channels: 4, generate: {}}\n"
                   "    - {name: i, op: ilif, in: c, decay: 0.3}\n",
              "t.yaml:6:41: error: decay 0.3: it must be a power of two");
    yaml_says(HEAD "    - {name: c, op: conv, in: x, channels: 4, generate: {mean: 1}}\n",
              "unknown key 'mean' in 'generate' of weights");
    yaml_says("snn: 1\nlayers:\n  nodes:\n    - {name: x, op: input, shape: [2, 4, 4], "
              "generate: {}}\n",
              "'generate' of a spike input needs 'density'");
    yaml_says("snn: 1\nlayers:\n  nodes:\n    - {name: x, op: input, shape: [2, 4, 4], "
              "kind: counts, generate: {density: 0.1}}\n",
              "'density' applies to spike inputs");
    yaml_says("snn: 1\nlayers:\n  nodes:\n    - {name: x, op: input, shape: [2, 4], "
              "generate: {density: 0.1}}\n",
              "'shape' takes [channels, height, width]");
    yaml_says("snn: 1\nlayers:\n  nodes:\n    - {name: x, op: input, shape: [2, 4, 4], "
              "kind: q16, generate: {density: 0.1}}\n",
              "unknown kind 'q16'");
    yaml_says(HEAD "  output: nope\n", "'output': no layer is called 'nope'");
    yaml_says(HEAD "  timesteps: 0\n", "'timesteps' must be 1 .. 65535, got '0'");
    yaml_says("snn: 1\nlayers: {nodes: []}\n", "'nodes' must be a list of layers, not an empty "
                                               "list");
    yaml_says("snn: 1\nlayers: {timesteps: 2}\n", "'layers' has no 'nodes'");
    yaml_says("snn: 1\nlayers: {nodes: [{op: tokens}]}\n", "layer 1 has no 'name'");
    yaml_says("snn: 1\npopulations: {a: {size: 1, model: if}}\n" "layers: {nodes: []}\n",
              "t.yaml:2:1: error: a network has populations or layers, not both");
    yaml_says("snn: 1\nlayer: {nodes: []}\n", "unknown key 'layer' in the network (did you "
                                              "mean 'layers'?)");
}

/* Every field of struct snn_lnode that the front end sets, from one file. */
static void yaml_fields(void **state)
{
    (void)state;
    struct sink s;
    sink_open(&s);
    struct snn_net *net = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/tests/golden/layers_npy.yaml", SNN_SOURCE_DIR);
    assert_int_equal(snn_frontend_load(path, s.d, &net), 0);
    const struct snn_layer_graph *g = net->layers;
    assert_int_equal(g->timesteps, 2);
    assert_string_equal(g->nodes[g->output].name, "head");
    const struct snn_lnode *x = node(net, "x");
    assert_int_equal(x->u.input.kind, SNN_T_SPIKES);
    assert_int_equal(x->u.input.data.ndim, 4);
    assert_string_equal(x->u.input.data.src, "layers_npy_x.npy");
    const struct snn_lconv *c1 = &node(net, "c1")->u.conv;
    assert_true(c1->bn && c1->bn_eps == 0.001 && c1->kernel == 3 && c1->out_channels == 8);
    assert_true(c1->weight.v[0] == (float)(-8 / 16.0) && c1->scale.v[7] == 1.0 / 64);
    assert_true(c1->bias.v[0] == -4 && c1->bn_gamma.v[2] == -1 && c1->bn_var.v[7] == 8);
    assert_true(c1->bn_beta.v[7] == -3 && c1->bn_mean.v[3] == 2);
    assert_int_equal(node(net, "l1")->u.lif.tau_shift, 2);
    assert_true(node(net, "l1")->u.lif.threshold == 0.75);
    assert_int_equal(node(net, "a1")->u.sdsa1.tau_shift, 3);
    assert_true(node(net, "a1")->u.sdsa1.threshold == 0.25);
    assert_int_equal(node(net, "a2")->u.sdsa2.heads, 2);
    assert_true(node(net, "a2")->u.sdsa2.scale == 0.25);
    assert_int_equal(node(net, "il")->u.ilif.decay_shift, 1);
    assert_int_equal(node(net, "il")->u.ilif.d_max, 15);
    const struct snn_lconv *dw = &node(net, "dw")->u.conv;
    assert_true(dw->depthwise && dw->out_channels == 8 && dw->weight_gen.on &&
                dw->weight_gen.lo == -0.5 && dw->bias.v[7] == 3.5);
    const struct snn_lconv *h = &node(net, "head")->u.conv;
    assert_true(h->bits == 4 && h->pad == 0 && h->weight_gen.lo == -1 && h->weight_gen.hi == 1);
    assert_int_equal(node(net, "a2")->n_in, 3);
    assert_int_equal(node(net, "a2")->in[1], (uint32_t)snn_layers_find(g, "a1"));
    snn_net_free(net);
    sink_close(&s);
}

/* ---- the text form ---------------------------------------------------------- */

static char *print_net(const struct snn_net *net)
{
    char *buf;
    size_t size;
    FILE *f = open_memstream(&buf, &size);
    assert_non_null(f);
    int rc = snn_ir_print(net, f);
    fclose(f);
    assert_int_equal(rc, 0);
    return buf;
}

static void same_array(const struct snn_array *a, const struct snn_array *b)
{
    assert_int_equal(!a->v, !b->v);
    if (!a->v)
        return;
    assert_int_equal(a->ndim, b->ndim);
    assert_memory_equal(a->dims, b->dims, sizeof a->dims);
    uint64_t n = 1;
    for (uint32_t i = 0; i < a->ndim; i++)
        n *= a->dims[i];
    assert_memory_equal(a->v, b->v, n * sizeof *a->v);
    assert_string_equal(a->src, b->src);
}

static void same_graph(const struct snn_net *x, const struct snn_net *y)
{
    const struct snn_layer_graph *a = x->layers, *b = y->layers;
    assert_int_equal(a->timesteps, b->timesteps);
    assert_int_equal(a->n_nodes, b->n_nodes);
    assert_int_equal(a->output, b->output);
    assert_int_equal(a->has_output, b->has_output);
    for (uint32_t i = 0; i < a->n_nodes; i++) {
        const struct snn_lnode *p = &a->nodes[i], *q = &b->nodes[i];
        assert_string_equal(p->name, q->name);
        assert_int_equal(p->op, q->op);
        assert_int_equal(p->n_in, q->n_in);
        assert_memory_equal(p->in, q->in, p->n_in * sizeof p->in[0]);
        assert_memory_equal(&p->shape, &q->shape, sizeof p->shape);
        assert_int_equal(p->kind, q->kind);
        if (p->op == SNN_L_INPUT) {
            assert_memory_equal(&p->u.input.shape, &q->u.input.shape, sizeof p->u.input.shape);
            assert_int_equal(p->u.input.kind, q->u.input.kind);
            same_array(&p->u.input.data, &q->u.input.data);
            assert_memory_equal(&p->u.input.gen, &q->u.input.gen, sizeof p->u.input.gen);
        } else if (p->op == SNN_L_CONV) {
            const struct snn_lconv *c = &p->u.conv, *d = &q->u.conv;
            assert_true(c->out_channels == d->out_channels && c->kernel == d->kernel &&
                        c->stride == d->stride && c->pad == d->pad &&
                        c->depthwise == d->depthwise && c->bits == d->bits && c->bn == d->bn);
            assert_memory_equal(&c->weight_gen, &d->weight_gen, sizeof c->weight_gen);
            assert_memory_equal(&c->bn_eps, &d->bn_eps, sizeof c->bn_eps);
            same_array(&c->weight, &d->weight);
            same_array(&c->scale, &d->scale);
            same_array(&c->bias, &d->bias);
            same_array(&c->bn_gamma, &d->bn_gamma);
            same_array(&c->bn_beta, &d->bn_beta);
            same_array(&c->bn_mean, &d->bn_mean);
            same_array(&c->bn_var, &d->bn_var);
        } else {
            assert_memory_equal(&p->u, &q->u, sizeof p->u.sdsa2);
        }
    }
}

static void round_trips(void **state)
{
    (void)state;
    static const char *const files[] = {"examples/convnet.yaml", "examples/sdt_tiny.yaml",
                                        "tests/golden/layers_npy.yaml"};
    for (size_t i = 0; i < 3; i++) {
        struct sink s;
        sink_open(&s);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", SNN_SOURCE_DIR, files[i]);
        struct snn_net *net = NULL, *again = NULL;
        assert_int_equal(snn_frontend_load(path, s.d, &net), 0);
        char *t1 = print_net(net);
        /* the text sits beside the YAML, so the .npy paths resolve alike */
        assert_int_equal(snn_ir_parse_with(path, t1, strlen(t1), &snn_npy_reader, s.d, &again),
                         0);
        assert_int_equal(snn_ir_verify(again, s.d), 0);
        assert_int_equal(snn_layers_verify(again, s.d), 0);
        same_graph(net, again);
        char *t2 = print_net(again);
        assert_string_equal(t1, t2);
        free(t1);
        free(t2);
        snn_net_free(net);
        snn_net_free(again);
        sink_close(&s);
    }
}

/* A graph built by hand with odd values: unverified, it still prints and
 * reads back (pad auto, no output, a depthwise flag, a mean flag). */
static void round_trip_unverified(void **state)
{
    (void)state;
    struct snn_net *net = snn_net_new();
    snn_net_layers(net)->timesteps = 3;
    struct snn_lnode *x = input(net, 1, 2, 3, SNN_T_COUNTS);
    x->u.input.gen = (struct snn_gen){.on = true};
    struct snn_lnode *c = conv(net, "c", "x", 0, 5, 2);
    c->u.conv.depthwise = true;
    c->u.conv.weight_gen.lo = 0.1;
    c->u.conv.bias = vec(net, 3, 1.0 / 3);
    add(net, "s", SNN_L_SUMPOOL, "c", NULL, NULL)->u.sumpool.mean = true;
    add(net, "p", SNN_L_MAXPOOL, "s", NULL, NULL);
    add(net, "i", SNN_L_ILIF, "p", NULL, NULL)->u.ilif.d_max = 99;
    char *t1 = print_net(net);
    assert_non_null(strstr(t1, "\nnode \"c\" conv \"x\"\n  channels 0\n  kernel 5\n  stride 2\n"
                               "  pad auto\n  depthwise\n  bits 8\n  generate lo 0.1 hi 1\n"
                               "  bias [0.3333333333333333 0.3333333333333333 0.3333333333333333]\n"));
    assert_null(strstr(t1, "output"));
    struct snn_net *again = NULL;
    assert_int_equal(snn_ir_parse("u.ir", t1, strlen(t1), NULL, &again), 0);
    same_graph(net, again);
    char *t2 = print_net(again);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    snn_net_free(again);
    /* what the text cannot name does not print */
    net->layers->nodes[1].in[0] = 2;
    char *buf;
    size_t size;
    FILE *f = open_memstream(&buf, &size);
    assert_int_equal(snn_ir_print(net, f), SNN_EINVAL);
    fclose(f);
    assert_int_equal(size, 0);
    free(buf);
    snn_net_free(net);
}

static void digest(void **state)
{
    (void)state;
    /* FNV-1a 64 of no bytes is its offset basis; of 1.0 (0x3ff0000000000000,
     * least significant byte first), computed here by hand. */
    struct snn_array a = {.ndim = 1, .dims = {0}};
    double one = 1.0;
    a.v = &one;
    assert_true(snn_array_digest(&a) == 0xcbf29ce484222325ull);
    a.dims[0] = 1;
    uint64_t h = 0xcbf29ce484222325ull;
    unsigned char bytes[8] = {0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
    for (int i = 0; i < 8; i++)
        h = (h ^ bytes[i]) * 0x100000001b3ull;
    assert_true(snn_array_digest(&a) == h);
}

static void text_says(const char *text, const struct snn_array_reader *rd, const char *want)
{
    struct sink s;
    sink_open(&s);
    struct snn_net *net = NULL;
    int rc = snn_ir_parse_with(SNN_SOURCE_DIR "/tests/golden/t.ir", text, strlen(text), rd, s.d,
                               &net);
    const char *msg = sink_text(&s);
    if (want ? rc == 0 || !strstr(msg, want) : rc != 0) {
        print_error("want %s, got %d and: %s\n", want ? want : "success", rc, msg);
        fail();
    }
    snn_net_free(net);
    sink_close(&s);
}

#define IR "snn-ir 1\ntimesteps 2\nnode \"x\" input\n  shape 1 2 2\n  generate density 0.5\n"

static void text_errors(void **state)
{
    (void)state;
    const struct snn_array_reader *rd = &snn_npy_reader;
    text_says(IR "end\n", NULL, NULL);
    text_says(IR "node \"c\" conv \"x\"\n  channels 2\nend\n", NULL, NULL);
    text_says(IR "node \"c\" convo \"x\"\nend\n", NULL,
              "t.ir:6:10: error: unknown layer op 'convo' (did you mean 'conv'?)");
    text_says(IR "node \"c\" conv \"y\"\nend\n", NULL,
              "t.ir:6:15: error: no layer is called \"y\" (a layer's inputs come before it)");
    text_says(IR "node \"x\" tokens \"x\"\nend\n", NULL, "layer name \"x\" is used twice");
    text_says(IR "node \"a\" add \"x\" \"x\" \"x\" \"x\"\nend\n", NULL,
              "a layer takes at most 3 inputs");
    text_says(IR "node \"l\" lif \"x\"\n  kernel 3\nend\n", NULL,
              "t.ir:7:3: error: 'kernel' does not apply to a lif layer");
    text_says(IR "  shape 1 1 1\nend\n", NULL, "t.ir:6:3: error: shape is given twice");
    text_says(IR "  reset value\nend\n", NULL,
              "'reset' does not belong inside a layer block ('node ...')");
    text_says("snn-ir 1\nkernel 3\nend\n", NULL,
              "t.ir:2:1: error: 'kernel' belongs inside a layer block ('node ...')");
    text_says(IR "timesteps 3\nend\n", NULL, "'timesteps' belongs to the header");
    text_says(IR "output \"x\"\noutput \"x\"\nend\n", NULL, "output is given twice");
    text_says(IR "output \"z\"\nend\n", NULL, "no layer is called \"z\"");
    text_says(IR "  kind pixels\nend\n", NULL, "expected 'spikes', 'counts' or 'q16'");
    text_says(IR "node \"c\" conv \"x\"\n  pad some\nend\n", NULL,
              "expected a whole number for pad");
    text_says(IR "node \"c\" conv \"x\"\n  generate lo 1\nend\n", NULL, "expected 'hi' after 'lo'");
    text_says(IR "node \"c\" conv \"x\"\n  weight 3\nend\n", NULL,
              "expected a file name and its digest, or a list, for the weights");
    text_says(IR "node \"c\" conv \"x\"\n  weight \"layers_npy_w.npy\" 123\nend\n", rd,
              "expected the digest of the weights, fnv1a: and 16 hex digits");
    text_says(IR "node \"c\" conv \"x\"\n  weight \"layers_npy_w.npy\" fnv1a:cbe34e8695b721ef\n"
                 "end\n",
              NULL, "t.ir:7:10: error: \"layers_npy_w.npy\" (the weights): arrays are not read from files here");
    text_says(IR "node \"c\" conv \"x\"\n  weight \"layers_npy_w.npy\" fnv1a:cbe34e8695b721ef\n"
                 "end\n",
              rd, NULL);
    text_says(IR "node \"c\" conv \"x\"\n  weight \"layers_npy_w.npy\" fnv1a:cbe34e8695b721ee\n"
                 "end\n",
              rd, "t.ir:7:29: error: \"layers_npy_w.npy\" has changed since the text was "
                  "written: its digest is fnv1a:cbe34e8695b721ef, not fnv1a:cbe34e8695b721ee");
    text_says(IR "node \"c\" conv \"x\"\n  weight \"none.npy\" fnv1a:cbe34e8695b721ef\nend\n", rd,
              "t.ir:7:10: error: cannot read '" SNN_SOURCE_DIR "/tests/golden/none.npy'");
}

/* ---- running out of memory ---------------------------------------------------- */

static void out_of_memory(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/tests/golden/layers_npy.yaml", SNN_SOURCE_DIR);
    struct snn_net *net = NULL;
    assert_int_equal(snn_frontend_load(path, NULL, &net), 0);
    char *text = print_net(net);
    snn_net_free(net);
    int done_yaml = 0, done_text = 0;
    for (long n = 0; n < 100000 && !(done_yaml && done_text); n++) {
        struct snn_net *a = NULL, *b = NULL;
        snn_alloc_fail_after(n);
        int ry = done_yaml ? 0 : snn_frontend_load(path, NULL, &a);
        snn_alloc_fail_after(n);
        int rt = done_text ? 0
                           : snn_ir_parse_with(path, text, strlen(text), &snn_npy_reader, NULL,
                                               &b);
        snn_alloc_fail_after(-1);
        assert_true(ry == 0 || ry == SNN_ENOMEM);
        assert_true(rt == 0 || rt == SNN_ENOMEM);
        assert_true(!ry || !a);
        assert_true(!rt || !b);
        if (!done_yaml && !ry)
            done_yaml = 1;
        if (!done_text && !rt)
            done_text = 1;
        snn_net_free(a);
        snn_net_free(b);
    }
    assert_true(done_yaml && done_text);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shapes_through_every_op),
        cmocka_unit_test(every_rule),
        cmocka_unit_test(graph_rules),
        cmocka_unit_test(yaml_errors),
        cmocka_unit_test(yaml_fields),
        cmocka_unit_test(round_trips),
        cmocka_unit_test(round_trip_unverified),
        cmocka_unit_test(digest),
        cmocka_unit_test(text_errors),
        cmocka_unit_test(out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

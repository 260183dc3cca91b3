/*
 * tests/unit/test_sdt_backend.c: the sdt backend (backends/sdt) and the sdt
 * parts of the target parser and the image reader.
 *
 * Without the accelerator (the RTL is the executor, tests/unit/
 * test_sdt_rtl.c), what can be held to the contract is held to it: the
 * descriptors of small graphs field by field, WMEM and QMEM against the
 * layouts of docs/sdt-accelerator.md, DMEM and EVT regions that never
 * overlap and fit, list registers by liveness (a CLEAR before every
 * reuse), the fusion cases, every "does not fit" and "unsupported" error,
 * the same image bytes on every run, and the reader refusing corrupted
 * images.  An allocation-failure sweep covers the lowering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/image.h"
#include "abi/sdt.h"
#include "backends/sdt/sdt.h"
#include "frontend/frontend.h"
#include "ir/lquant.h"
#include "ir/lsim.h"
#include "runtime/image.h"
#include "support/arena.h"
#include "support/crc32.h"
#include "support/err.h"

#include "image_testlib.h"
#include "sink.h"

#define NONE SNN_SDT_NONE

/* A graph, its quantization, a target and the program. */
struct fx {
    struct snn_net *net;
    struct snn_lquant *lq;
    struct snn_sdt_target *t;
    struct snn_sdt_program *p;
    struct sink s;
    int rc;
};

/* A small target: 4 lanes, memories of 2^log2 words. */
static struct snn_sdt_target *small_target(uint32_t log2)
{
    struct snn_sdt_target *t = snn_sdt_target_new();
    assert_non_null(t);
    t->name = "test4";
    t->lanes = 4;
    t->pmem_log2 = t->wmem_log2 = t->qmem_log2 = t->dmem_log2 = t->evt_log2 = log2;
    assert_int_equal(snn_sdt_target_verify(t, NULL), 0);
    return t;
}

static const char *const HEAD =
    "snn: 1\nname: t\nseed: 3\nlayers:\n  timesteps: 3\n  output: %s\n  nodes:\n";

/* Parses the nodes (YAML lines under `nodes:`) with output `out`, lowers
 * for t (consumed); f->rc is the lowering's code. */
static void build(struct fx *f, const char *out, const char *nodes, struct snn_sdt_target *t)
{
    memset(f, 0, sizeof *f);
    sink_open(&f->s);
    char text[8192];
    snprintf(text, sizeof text, HEAD, out);
    strncat(text, nodes, sizeof text - strlen(text) - 1);
    if (snn_yaml_parse("t.yaml", text, strlen(text), f->s.d, &f->net))
        fail_msg("%s", sink_text(&f->s));
    assert_int_equal(snn_layers_quantize(f->net, f->s.d, &f->lq), 0);
    f->t = t;
    f->rc = snn_sdt_lower(f->net, f->lq, t, f->s.d, &f->p);
    if (f->rc)
        assert_null(f->p);
}

/* The same from a file of examples/. */
static void build_file(struct fx *f, const char *example, struct snn_sdt_target *t)
{
    memset(f, 0, sizeof *f);
    sink_open(&f->s);
    char path[512];
    snprintf(path, sizeof path, "%s/examples/%s", SNN_SOURCE_DIR, example);
    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    assert_int_equal(snn_yaml_parse(path, text, n, f->s.d, &f->net), 0);
    assert_int_equal(snn_layers_quantize(f->net, f->s.d, &f->lq), 0);
    f->t = t;
    f->rc = snn_sdt_lower(f->net, f->lq, t, f->s.d, &f->p);
}

static void done(struct fx *f)
{
    snn_sdt_program_free(f->p);
    snn_lquant_free(f->lq);
    snn_net_free(f->net);
    snn_sdt_target_free(f->t);
    sink_close(&f->s);
}

static uint32_t idx(const struct fx *f, const char *name)
{
    int i = snn_layers_find(f->net->layers, name);
    assert_true(i >= 0);
    return (uint32_t)i;
}

static const struct snn_sdt_node_info *info(const struct fx *f, const char *name)
{
    return &f->p->node[idx(f, name)];
}

/* Descriptor k of the program. */
static const uint32_t *desc(const struct fx *f, uint32_t k)
{
    assert_true(k < f->p->n_desc);
    return f->p->desc[k];
}

/* The program's descriptors without the CLEARs, in order, into out. */
static uint32_t ops(const struct fx *f, uint32_t *out, uint32_t cap)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < f->p->n_desc && n < cap; k++)
        if (SNN_SDT_OPCODE(f->p->desc[k][0]) != SNN_SDT_OP_CLEAR)
            out[n++] = k;
    return n;
}

/* A weight as WMEM holds it (dense int8/int4, or depthwise). */
static int wmem_weight(const struct fx *f, uint32_t base, uint32_t o, uint32_t c, uint32_t tap,
                       uint32_t taps, uint32_t c_out, int int4, int dw)
{
    uint32_t L = f->p->hw.lanes, g = (c_out + L - 1) / L, g2 = (g + 1) & ~1u;
    const uint8_t *w = f->p->wmem;
    if (dw)
        return (int8_t)w[(base + tap * g + o / L) * L + o % L];
    if (!int4)
        return (int8_t)w[(base + (c * taps + tap) * g + o / L) * L + o % L];
    uint32_t i = (c * taps + tap) * g2 + o / L;
    uint32_t nib = (w[(base + i / 2) * L + o % L] >> (4 * (i % 2))) & 0xF;
    return nib >= 8 ? (int)nib - 16 : (int)nib;
}

static void qmem_pair(const struct fx *f, uint32_t base, uint32_t o, int32_t *m, int32_t *b)
{
    uint32_t L = f->p->hw.lanes;
    const int32_t *q = f->p->qmem + ((size_t)(base + o / L) * L + o % L) * 2;
    *m = q[0];
    *b = q[1];
}

/* ---- descriptors field by field ---------------------------------------------- */

static void test_conv_lif(void **state)
{
    (void)state;
    struct fx f;
    build(&f, "lif",
          "    - {name: in, op: input, shape: [2, 5, 5], kind: spikes, generate: {density: 0.5}}\n"
          "    - {name: conv, op: conv, in: in, channels: 6, kernel: 3, generate: {lo: -1, hi: 1}}\n"
          "    - {name: lif, op: lif, in: conv, tau: 4, threshold: 0.75}\n",
          small_target(12));
    assert_int_equal(f.rc, 0);
    const struct snn_sdt_program *p = f.p;
    assert_int_equal(p->n_desc, 3);
    const struct snn_sdt_node_info *ci = info(&f, "conv"), *li = info(&f, "lif");
    const uint32_t *d = desc(&f, 0);
    assert_int_equal(SNN_SDT_OPCODE(d[0]), SNN_SDT_OP_CONV);
    assert_int_equal(SNN_SDT_FLAGS(d[0]), 0);
    assert_int_equal(SNN_SDT_CIN(d[1]), 2);
    assert_int_equal(SNN_SDT_COUT(d[1]), 6);
    assert_int_equal(d[2], snn_sdt_w2(5, 5, 5, 5));
    assert_int_equal(SNN_SDT_K(d[3]), 3);
    assert_int_equal(SNN_SDT_STRIDE(d[3]), 1);
    assert_int_equal(SNN_SDT_PAD(d[3]), 1);
    assert_int_equal(SNN_SDT_DEPTHWISE(d[3]) | SNN_SDT_INT4(d[3]) | SNN_SDT_COUNTS(d[3]), 0);
    assert_int_equal(SNN_SDT_LIN(d[4]), 0);
    assert_int_equal(d[SNN_SDT_W_ACC], ci->acc);
    assert_int_equal(d[SNN_SDT_W_WMEM], ci->wmem);
    for (uint32_t w = 5; w < 16; w++)
        if (w != SNN_SDT_W_ACC && w != SNN_SDT_W_WMEM)
            assert_int_equal(d[w], 0);
    /* the LIF: the conv's accumulator, cleared as read, its requantization */
    d = desc(&f, 1);
    assert_int_equal(SNN_SDT_OPCODE(d[0]), SNN_SDT_OP_NEURON);
    assert_int_equal(SNN_SDT_COUT(d[1]), 6);
    assert_int_equal(d[2], snn_sdt_w2(0, 0, 5, 5));
    assert_int_equal(SNN_SDT_LOUT(d[4]), 1);
    assert_int_equal(d[SNN_SDT_W_ACC], ci->acc);
    assert_int_equal(d[SNN_SDT_W_OUT], li->dense);
    assert_int_equal(d[SNN_SDT_W_STATE], li->state);
    assert_int_equal(d[SNN_SDT_W_QMEM], ci->qmem);
    uint32_t np = d[SNN_SDT_W_NP];
    assert_int_equal(SNN_SDT_MODE(np), SNN_SDT_MODE_LIF);
    assert_int_equal(SNN_SDT_SH(np), f.lq->nodes[idx(&f, "conv")].rq.sh);
    assert_int_equal(SNN_SDT_LIFK(np), 2);
    assert_int_equal(SNN_SDT_CLEARACC(np), 1);
    assert_int_equal(SNN_SDT_RESIDUAL(np), 0);
    assert_int_equal((int32_t)d[SNN_SDT_W_THETA], 49152);
    assert_int_equal(ci->fused_into, idx(&f, "lif"));
    assert_int_equal(ci->dense, NONE);
    assert_int_equal(SNN_SDT_OPCODE(desc(&f, 2)[0]), SNN_SDT_OP_END);
    /* WMEM: every weight where the dense int8 layout says */
    const struct snn_lq_node *q = &f.lq->nodes[idx(&f, "conv")];
    assert_int_equal(ci->wmem_words, 2 * 9 * 2);
    for (uint32_t o = 0; o < 6; o++)
        for (uint32_t c = 0; c < 2; c++)
            for (uint32_t t = 0; t < 9; t++)
                assert_int_equal(wmem_weight(&f, ci->wmem, o, c, t, 9, 6, 0, 0),
                                 q->w[(o * 2 + c) * 9 + t]);
    /* lanes past C_out hold 0 */
    for (uint32_t wd = 0; wd < ci->wmem_words; wd += 2)
        for (uint32_t l = 2; l < 4; l++)
            assert_int_equal(p->wmem[(ci->wmem + wd + 1) * 4 + l], 0);
    /* QMEM: {m, b} per channel */
    for (uint32_t o = 0; o < 6; o++) {
        int32_t m, b;
        qmem_pair(&f, ci->qmem, o, &m, &b);
        assert_int_equal(m, q->rq.m[o]);
        assert_int_equal(b, q->rq.b[o]);
    }
    /* the input's events, step by step, against the quantized input */
    assert_int_equal(p->input.c, 2);
    assert_int_equal(p->input.steps, 3);
    assert_int_equal(p->list_cap[0], 50);
    uint8_t buf[50];
    for (uint32_t t = 0; t < 3; t++) {
        snn_lquant_input(f.lq, f.net->layers, 0, t, buf);
        uint32_t e = p->in_off[t];
        for (uint32_t y = 0; y < 5; y++)
            for (uint32_t x = 0; x < 5; x++)
                for (uint32_t c = 0; c < 2; c++)
                    if (buf[(c * 5 + y) * 5 + x])
                        assert_int_equal(p->in_events[e++], SNN_SDT_EVENT(y, x, c, 1));
        assert_int_equal(e, p->in_off[t + 1]);
    }
    /* the outputs: the LIF, which is the head */
    assert_int_equal(p->n_out, 1);
    assert_int_equal(p->out[0].dmem, li->dense);
    assert_int_equal(p->out[0].state, li->state);
    assert_int_equal(p->out[0].flags, SNN_SDT_OUT_HEAD | SNN_SDT_OUT_SPIKING);
    assert_int_equal(p->out[0].list, 1);
    done(&f);
}

static void test_int4_and_depthwise(void **state)
{
    (void)state;
    struct fx f;
    build(&f, "b",
          "    - {name: in, op: input, shape: [5, 3, 3], kind: counts, generate: {}}\n"
          "    - {name: c4, op: conv, in: in, channels: 9, kernel: 3, bits: 4, generate: {lo: -1, hi: 1}}\n"
          "    - {name: a, op: ilif, in: c4, decay: 0.25, d_max: 3}\n"
          "    - {name: dw, op: conv, in: a, channels: 9, depthwise: true, kernel: 3, generate: {lo: -1, hi: 1}}\n"
          "    - {name: b, op: lif, in: dw}\n",
          small_target(12));
    assert_int_equal(f.rc, 0);
    const struct snn_sdt_node_info *c4 = info(&f, "c4"), *dw = info(&f, "dw");
    uint32_t k[8], n = ops(&f, k, 8);
    assert_int_equal(n, 5);
    const uint32_t *d = desc(&f, k[0]);
    assert_int_equal(SNN_SDT_INT4(d[3]), 1);
    assert_int_equal(SNN_SDT_COUNTS(d[3]), 1); /* pixels: bit-serial */
    /* 9 outputs: 3 groups, rounded up to 4, two a word */
    assert_int_equal(c4->wmem_words, 5 * 9 * 4 / 2);
    const struct snn_lq_node *q = &f.lq->nodes[idx(&f, "c4")];
    for (uint32_t o = 0; o < 9; o++)
        for (uint32_t c = 0; c < 5; c++)
            for (uint32_t t = 0; t < 9; t++)
                assert_int_equal(wmem_weight(&f, c4->wmem, o, c, t, 9, 9, 1, 0),
                                 q->w[(o * 5 + c) * 9 + t]);
    d = desc(&f, k[1]);
    assert_int_equal(SNN_SDT_MODE(d[SNN_SDT_W_NP]), SNN_SDT_MODE_ILIF);
    assert_int_equal(SNN_SDT_D(d[SNN_SDT_W_NP]), 3);
    assert_int_equal(SNN_SDT_LIFK(d[SNN_SDT_W_NP]), 2);
    d = desc(&f, k[2]);
    assert_int_equal(SNN_SDT_DEPTHWISE(d[3]), 1);
    assert_int_equal(SNN_SDT_COUNTS(d[3]), 1); /* I-LIF counts */
    assert_int_equal(SNN_SDT_LIN(d[4]), info(&f, "a")->list);
    assert_int_equal(dw->wmem_words, 9 * 3);
    q = &f.lq->nodes[idx(&f, "dw")];
    for (uint32_t o = 0; o < 9; o++)
        for (uint32_t t = 0; t < 9; t++)
            assert_int_equal(wmem_weight(&f, dw->wmem, o, 0, t, 9, 9, 0, 1), q->w[o * 9 + t]);
    done(&f);
}

/* ---- fusion ------------------------------------------------------------------------ */

static const char *const RES_NODES =
    "    - {name: in, op: input, shape: [4, 4, 4], kind: spikes, generate: {density: 0.4}}\n"
    "    - {name: c0, op: conv, in: in, channels: 8, generate: {lo: -1, hi: 1}}\n"
    "    - {name: l0, op: lif, in: c0}\n"
    "    - {name: c1, op: conv, in: l0, channels: 8, generate: {lo: -1, hi: 1}}\n"
    "    - {name: x, op: add, in: [c0, c1]}\n"
    "    - {name: l1, op: lif, in: x}\n";

static void test_conv_add_lif(void **state)
{
    (void)state;
    struct fx f;
    /* c0 has two consumers (l0 and x): materialised; c1 -> x -> l1 fuses */
    build(&f, "l1", RES_NODES, small_target(12));
    assert_int_equal(f.rc, 0);
    uint32_t k[16], n = ops(&f, k, 16);
    /* CONV c0, NEURON store c0, NEURON l0, CONV c1, NEURON l1, END */
    assert_int_equal(n, 6);
    static const uint32_t want[] = {SNN_SDT_OP_CONV, SNN_SDT_OP_NEURON, SNN_SDT_OP_NEURON,
                                    SNN_SDT_OP_CONV, SNN_SDT_OP_NEURON, SNN_SDT_OP_END};
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(SNN_SDT_OPCODE(desc(&f, k[i])[0]), want[i]);
    const struct snn_sdt_node_info *c0 = info(&f, "c0"), *c1 = info(&f, "c1"), *x = info(&f, "x");
    assert_int_not_equal(c0->dense, NONE);
    assert_int_equal(SNN_SDT_MODE(desc(&f, k[1])[SNN_SDT_W_NP]), SNN_SDT_MODE_STORE);
    /* l0 reads c0's tensor through the identity requantization, not clearing it */
    const uint32_t *d = desc(&f, k[2]);
    assert_int_equal(d[SNN_SDT_W_ACC], c0->dense);
    assert_int_equal(SNN_SDT_SH(d[SNN_SDT_W_NP]), 0);
    assert_int_equal(SNN_SDT_CLEARACC(d[SNN_SDT_W_NP]), 0);
    for (uint32_t o = 0; o < 8; o++) {
        int32_t m, b;
        qmem_pair(&f, d[SNN_SDT_W_QMEM], o, &m, &b);
        assert_int_equal(m, 1);
        assert_int_equal(b, 0);
    }
    /* l1: c1's accumulator, c0's tensor as the residual */
    d = desc(&f, k[4]);
    assert_int_equal(d[SNN_SDT_W_ACC], c1->acc);
    assert_int_equal(d[SNN_SDT_W_QMEM], c1->qmem);
    assert_int_equal(SNN_SDT_RESIDUAL(d[SNN_SDT_W_NP]), 1);
    assert_int_equal(SNN_SDT_CLEARACC(d[SNN_SDT_W_NP]), 1);
    assert_int_equal(d[SNN_SDT_W_B], c0->dense);
    assert_int_equal(x->dense, NONE);
    assert_int_equal(x->fused_into, idx(&f, "l1"));
    assert_int_equal(c1->fused_into, idx(&f, "x"));
    done(&f);
}

static void test_add_stored(void **state)
{
    (void)state;
    struct fx f;
    /* the add has two consumers: NEURON store with the residual flag */
    char nodes[2048];
    snprintf(nodes, sizeof nodes, "%s%s", RES_NODES,
             "    - {name: l2, op: lif, in: x}\n");
    build(&f, "l2", nodes, small_target(12));
    assert_int_equal(f.rc, 0);
    const struct snn_sdt_node_info *x = info(&f, "x"), *c1 = info(&f, "c1");
    assert_int_not_equal(x->dense, NONE);
    const uint32_t *d = desc(&f, x->first_desc);
    assert_int_equal(x->n_desc, 1);
    assert_int_equal(SNN_SDT_OPCODE(d[0]), SNN_SDT_OP_NEURON);
    assert_int_equal(SNN_SDT_MODE(d[SNN_SDT_W_NP]), SNN_SDT_MODE_STORE);
    assert_int_equal(SNN_SDT_RESIDUAL(d[SNN_SDT_W_NP]), 1);
    assert_int_equal(d[SNN_SDT_W_ACC], c1->acc);
    assert_int_equal(d[SNN_SDT_W_OUT], x->dense);
    assert_int_equal(d[SNN_SDT_W_B], info(&f, "c0")->dense);
    /* both LIFs read x's tensor */
    assert_int_equal(desc(&f, info(&f, "l1")->first_desc + info(&f, "l1")->n_desc - 1)[SNN_SDT_W_ACC],
                     x->dense);
    assert_int_equal(desc(&f, info(&f, "l2")->first_desc + info(&f, "l2")->n_desc - 1)[SNN_SDT_W_ACC],
                     x->dense);
    done(&f);
}

static void test_conv_maxpool_lif(void **state)
{
    (void)state;
    struct fx f;
    build(&f, "l",
          "    - {name: in, op: input, shape: [3, 6, 6], kind: spikes, generate: {density: 0.3}}\n"
          "    - {name: c, op: conv, in: in, channels: 5, kernel: 3, generate: {lo: -1, hi: 1}}\n"
          "    - {name: mp, op: maxpool, in: c, kernel: 3, stride: 2}\n"
          "    - {name: l, op: lif, in: mp}\n",
          small_target(12));
    assert_int_equal(f.rc, 0);
    uint32_t k[8], n = ops(&f, k, 8);
    assert_int_equal(n, 5); /* CONV, NEURON store, MAXPOOL, NEURON lif, END */
    const uint32_t *d = desc(&f, k[2]);
    assert_int_equal(SNN_SDT_OPCODE(d[0]), SNN_SDT_OP_MAXPOOL);
    assert_int_equal(SNN_SDT_COUNTS(d[3]), 1); /* q16: no event list */
    assert_int_equal(d[2], snn_sdt_w2(6, 6, 3, 3));
    assert_int_equal(d[SNN_SDT_W_A], info(&f, "c")->dense);
    assert_int_equal(d[SNN_SDT_W_OUT], info(&f, "mp")->dense);
    d = desc(&f, k[3]);
    assert_int_equal(d[SNN_SDT_W_ACC], info(&f, "mp")->dense);
    assert_int_equal(SNN_SDT_CLEARACC(d[SNN_SDT_W_NP]), 0);
    assert_int_equal(SNN_SDT_SH(d[SNN_SDT_W_NP]), 0);
    done(&f);
}

static void test_shared_q16(void **state)
{
    (void)state;
    struct fx f;
    build(&f, "b",
          "    - {name: in, op: input, shape: [4, 3, 3], kind: spikes, generate: {density: 0.5}}\n"
          "    - {name: c, op: conv, in: in, channels: 4, generate: {lo: -1, hi: 1}}\n"
          "    - {name: a, op: lif, in: c}\n"
          "    - {name: b, op: lif, in: c, threshold: 0.5}\n",
          small_target(12));
    assert_int_equal(f.rc, 0);
    const struct snn_sdt_node_info *c = info(&f, "c");
    assert_int_not_equal(c->dense, NONE);
    assert_int_equal(c->fused_into, NONE);
    const char *names[2] = {"a", "b"};
    for (int j = 0; j < 2; j++) {
        const struct snn_sdt_node_info *l = info(&f, names[j]);
        const uint32_t *d = desc(&f, l->first_desc + l->n_desc - 1);
        assert_int_equal(d[SNN_SDT_W_ACC], c->dense);
        assert_int_equal(SNN_SDT_CLEARACC(d[SNN_SDT_W_NP]), 0);
    }
    /* both LIFs' lists are read by nobody: one register, cleared before reuse */
    assert_int_equal(info(&f, "a")->list, info(&f, "b")->list);
    const uint32_t *cl = desc(&f, info(&f, "b")->first_desc);
    assert_int_equal(SNN_SDT_OPCODE(cl[0]), SNN_SDT_OP_CLEAR);
    assert_int_equal(SNN_SDT_FLAGS(cl[0]), SNN_SDT_FLAG_CLEAR_LIST);
    assert_int_equal(SNN_SDT_LOUT(cl[4]), info(&f, "b")->list);
    assert_int_equal(cl[SNN_SDT_W_SCRATCH], 0);
    done(&f);
}

/* ---- regions and lists on the examples ----------------------------------------------- */

/* Every DMEM region inside DMEM, every EVT region inside EVT, none
 * overlapping another of its memory. */
static void check_regions(const struct fx *f)
{
    const struct snn_sdt_program *p = f->p;
    for (uint32_t i = 0; i < p->n_regions; i++) {
        const struct snn_sdt_region *a = &p->regions[i];
        bool evt = !strcmp(a->what, "list");
        uint64_t cap = (uint64_t)1 << (evt ? p->hw.evt_log2 : p->hw.dmem_log2);
        assert_true((uint64_t)a->base + a->words <= (evt ? p->evt_words : p->dmem_words));
        assert_true((uint64_t)a->base + a->words <= cap);
        for (uint32_t j = 0; j < i; j++) {
            const struct snn_sdt_region *b = &p->regions[j];
            if (evt != !strcmp(b->what, "list"))
                continue;
            assert_false(a->base < b->base + b->words && b->base < a->base + a->words);
        }
    }
}

/* Walks the program: every list read is the list its register last
 * received, whose writer is still the one that reader expects, and a
 * register written by a second node is CLEARed in between. */
static void check_lists(const struct fx *f)
{
    const struct snn_sdt_program *p = f->p;
    uint32_t owner[SNN_SDT_LISTS];
    bool dirty[SNN_SDT_LISTS] = {false};
    for (uint32_t r = 0; r < SNN_SDT_LISTS; r++)
        owner[r] = NONE;
    for (uint32_t i = 0; i < p->n_nodes; i++)
        if (p->node[i].list == SNN_SDT_LIST_INPUT)
            owner[0] = i;
    for (uint32_t k = 0; k < p->n_desc; k++) {
        const uint32_t *d = p->desc[k];
        uint32_t op = SNN_SDT_OPCODE(d[0]), np = d[SNN_SDT_W_NP];
        uint32_t lout = SNN_SDT_LOUT(d[4]), lin = SNN_SDT_LIN(d[4]);
        if (op == SNN_SDT_OP_CLEAR && (SNN_SDT_FLAGS(d[0]) & 1))
            dirty[lout] = false;
        bool writes = (op == SNN_SDT_OP_NEURON && SNN_SDT_MODE(np) != 0) ||
                      op == SNN_SDT_OP_SDSA1 || (op == SNN_SDT_OP_MAXPOOL && !SNN_SDT_COUNTS(d[3]));
        if (writes) {
            assert_true(lout >= 1 && lout <= 14);
            uint32_t w = NONE;
            for (uint32_t i = 0; i < p->n_nodes; i++)
                if (p->node[i].list == lout && p->node[i].list_first == k)
                    w = i;
            assert_int_not_equal(w, NONE);
            assert_false(dirty[lout]); /* START or a CLEAR zeroed the count */
            /* the previous owner's list is read no more */
            if (owner[lout] != NONE)
                assert_true(p->node[owner[lout]].list_last == NONE ||
                            p->node[owner[lout]].list_last < k);
            owner[lout] = w;
            dirty[lout] = true;
        }
        bool reads = op == SNN_SDT_OP_CONV || op == SNN_SDT_OP_SUMPOOL || op == SNN_SDT_OP_KV ||
                     op == SNN_SDT_OP_QKV;
        if (reads) {
            assert_int_not_equal(owner[lin], NONE);
            assert_true(p->node[owner[lin]].list_last >= k);
            /* the list holds the whole tensor's events */
            const struct snn_lnode *src = &f->net->layers->nodes[owner[lin]];
            assert_true(p->list_cap[lin] >= src->shape.c * src->shape.h * src->shape.w);
        }
    }
}

static void test_examples(void **state)
{
    (void)state;
    static const char *const files[] = {"convnet.yaml", "sdt_tiny.yaml"};
    for (int i = 0; i < 2; i++) {
        struct fx f;
        struct snn_sdt_target *t = NULL;
        assert_int_equal(snn_target_load_any("sdt", NULL, &(struct snn_machine *){NULL}, &t), 0);
        build_file(&f, files[i], t);
        assert_int_equal(f.rc, 0);
        check_regions(&f);
        check_lists(&f);
        for (uint32_t k = 0; k < f.p->n_desc; k++)
            assert_int_equal(snn_sdt_check_desc(f.p->desc[k], &f.p->hw, f.p->list_base,
                                                f.p->list_cap),
                             0);
        /* every spiking layer and the head in the table */
        uint32_t spiking = 0;
        for (uint32_t j = 0; j < f.net->layers->n_nodes; j++)
            spiking += snn_lsim_is_spiking(&f.net->layers->nodes[j]);
        assert_true(f.p->n_out == spiking || f.p->n_out == spiking + 1);
        done(&f);
    }
}

/* convnet's classifier: a linear layer over a flattened [64, 4, 4] as one
 * 5 x 5 window of stride 2 and padding 1. */
static void test_flatten_window(void **state)
{
    (void)state;
    struct fx f;
    struct snn_sdt_target *t = NULL;
    assert_int_equal(snn_target_load_any("sdt", NULL, &(struct snn_machine *){NULL}, &t), 0);
    build_file(&f, "convnet.yaml", t);
    assert_int_equal(f.rc, 0);
    const struct snn_sdt_node_info *fc = info(&f, "fc");
    const uint32_t *d = desc(&f, fc->first_desc);
    assert_int_equal(SNN_SDT_OPCODE(d[0]), SNN_SDT_OP_CONV);
    assert_int_equal(SNN_SDT_CIN(d[1]), 64);
    assert_int_equal(d[2], snn_sdt_w2(4, 4, 1, 1));
    assert_int_equal(SNN_SDT_K(d[3]), 5);
    assert_int_equal(SNN_SDT_STRIDE(d[3]), 2);
    assert_int_equal(SNN_SDT_PAD(d[3]), 1);
    assert_int_equal(SNN_SDT_INT4(d[3]), 1);
    assert_int_equal(SNN_SDT_LIN(d[4]), info(&f, "pool3")->list);
    const struct snn_lq_node *q = &f.lq->nodes[idx(&f, "fc")];
    for (uint32_t o = 0; o < 10; o++)
        for (uint32_t feat = 0; feat < 1024; feat++) {
            uint32_t c = feat / 16, y = feat / 4 % 4, x = feat % 4;
            assert_int_equal(wmem_weight(&f, fc->wmem, o, c, (y + 1) * 5 + x + 1, 25, 10, 1, 0),
                             q->w[o * 1024 + feat]);
            /* the taps no input reaches hold 0 */
            assert_int_equal(wmem_weight(&f, fc->wmem, o, c, x, 25, 10, 1, 0), 0);
        }
    done(&f);
}

/* ---- errors ---------------------------------------------------------------------------- */

static void expect_error(struct fx *f, int rc, const char *words)
{
    const char *text = sink_text(&f->s);
    if (f->rc != rc)
        fail_msg("want code %d (%s), got %d: %s", rc, words, f->rc, text);
    if (!strstr(text, words))
        fail_msg("want '%s' in: %s", words, text);
    done(f);
}

static const char *const BIG =
    "    - {name: in, op: input, shape: [16, 16, 16], kind: spikes, generate: {density: 0.1}}\n"
    "    - {name: conv, op: conv, in: in, channels: 16, kernel: 3, generate: {lo: -1, hi: 1}}\n"
    "    - {name: lif, op: lif, in: conv}\n";

static void test_does_not_fit(void **state)
{
    (void)state;
    struct fx f;
    struct snn_sdt_target *t = small_target(12);
    t->dmem_log2 = 10; /* the input's 1024 words, then nothing */
    build(&f, "lif", BIG, t);
    expect_error(&f, SNN_ETOOBIG, "layer 'conv': DMEM: its acc needs 1024 words from word 1024");
    t = small_target(12);
    t->wmem_log2 = 8;
    build(&f, "lif", BIG, t);
    expect_error(&f, SNN_ETOOBIG, "layer 'conv': WMEM: its weights need 576 words");
    t = small_target(12);
    t->qmem_log2 = 4;
    t->lanes = 4;
    build(&f, "b",
          "    - {name: in, op: input, shape: [4, 2, 2], kind: spikes, generate: {density: 0.5}}\n"
          "    - {name: c1, op: conv, in: in, channels: 80, generate: {lo: -1, hi: 1}}\n"
          "    - {name: b, op: lif, in: c1}\n",
          t);
    expect_error(&f, SNN_ETOOBIG, "layer 'c1': QMEM: its requantization needs 20 words from word 0; QMEM has 16");
    t = small_target(12);
    t->evt_log2 = 12; /* the input's 4096 events, then the LIF's */
    build(&f, "lif", BIG, t);
    expect_error(&f, SNN_ETOOBIG, "EVT: the event lists need 8192 words");
    t = small_target(12);
    t->pmem_log2 = 5; /* two descriptors */
    build(&f, "lif", BIG, t);
    expect_error(&f, SNN_ETOOBIG, "PMEM: the program has 3 descriptors");
    /* fifteen lists alive at once: 14 registers */
    char nodes[8192] = "    - {name: in, op: input, shape: [4, 2, 2], kind: spikes, generate: {density: 0.5}}\n";
    for (int i = 0; i < 15; i++)
        snprintf(nodes + strlen(nodes), sizeof nodes - strlen(nodes),
                 "    - {name: c%d, op: conv, in: in, channels: 4, generate: {lo: -1, hi: 1}}\n"
                 "    - {name: l%d, op: lif, in: c%d}\n",
                 i, i, i);
    for (int i = 0; i < 15; i++)
        snprintf(nodes + strlen(nodes), sizeof nodes - strlen(nodes),
                 "    - {name: d%d, op: conv, in: l%d, channels: 4, generate: {lo: -1, hi: 1}}\n",
                 i, i);
    build(&f, "d14", nodes, small_target(14));
    expect_error(&f, SNN_ETOOBIG, "layer 'l14': its spikes need an event list while 14 others");
}

static void test_unsupported(void **state)
{
    (void)state;
    struct fx f;
    /* SDSA v2 with heads of 2 channels on 4 lanes */
    build(&f, "a",
          "    - {name: in, op: input, shape: [8, 4, 1], kind: spikes, generate: {density: 0.5}}\n"
          "    - {name: a, op: sdsa2, in: [in, in, in], heads: 4}\n",
          small_target(12));
    expect_error(&f, SNN_EUNSUPPORTED, "layer 'a': 4 heads of 2 channels");
    /* a LIF over a flattened [4, 2, 2] q16 tensor */
    build(&f, "l",
          "    - {name: in, op: input, shape: [2, 2, 2], kind: spikes, generate: {density: 0.5}}\n"
          "    - {name: c, op: conv, in: in, channels: 4, generate: {lo: -1, hi: 1}}\n"
          "    - {name: f, op: flatten, in: c}\n"
          "    - {name: l, op: lif, in: f}\n",
          small_target(12));
    expect_error(&f, SNN_EUNSUPPORTED, "layer 'l': reads 'f', a flattened [4, 2, 2] tensor");
    /* int4 depthwise */
    build(&f, "l",
          "    - {name: in, op: input, shape: [4, 3, 3], kind: spikes, generate: {density: 0.5}}\n"
          "    - {name: c, op: conv, in: in, channels: 4, depthwise: true, kernel: 3, bits: 4, generate: {lo: -1, hi: 1}}\n"
          "    - {name: l, op: lif, in: c}\n",
          small_target(12));
    expect_error(&f, SNN_EUNSUPPORTED, "layer 'c': a depthwise convolution with int4 weights");
    /* a conv over a maxpool of counts: no event list */
    build(&f, "c",
          "    - {name: in, op: input, shape: [4, 4, 4], kind: counts, generate: {}}\n"
          "    - {name: mp, op: maxpool, in: in, kernel: 3, stride: 2}\n"
          "    - {name: c, op: conv, in: mp, channels: 4, generate: {lo: -1, hi: 1}}\n",
          small_target(12));
    expect_error(&f, SNN_EUNSUPPORTED, "layer 'c': reads 'mp' (maxpool, counts) as events");
    /* two inputs */
    build(&f, "l",
          "    - {name: in, op: input, shape: [4, 2, 2], kind: spikes, generate: {density: 0.5}}\n"
          "    - {name: in2, op: input, shape: [4, 2, 2], kind: spikes, generate: {density: 0.5}}\n"
          "    - {name: c, op: conv, in: in2, channels: 4, generate: {lo: -1, hi: 1}}\n"
          "    - {name: l, op: lif, in: c}\n",
          small_target(12));
    expect_error(&f, SNN_EUNSUPPORTED, "layer 'in2': a second input");
    /* a linear layer over a flattened tensor too wide for a 7 x 7 window */
    build(&f, "fc",
          "    - {name: in, op: input, shape: [2, 8, 8], kind: spikes, generate: {density: 0.5}}\n"
          "    - {name: f, op: flatten, in: in}\n"
          "    - {name: fc, op: conv, in: f, channels: 4, generate: {lo: -1, hi: 1}}\n",
          small_target(12));
    expect_error(&f, SNN_EUNSUPPORTED, "no odd window of at most 7 x 7 covers 8 x 8");
}

/* ---- images ------------------------------------------------------------------------------- */

static uint8_t *write_image(const struct snn_sdt_program *p, size_t *n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(snn_sdt_image_write(p, f, NULL), 0);
    fclose(f);
    /* 8-aligned, as a loader's buffer is */
    uint8_t *img = aligned_alloc(8, (len + 7) & ~(size_t)7);
    memcpy(img, buf, len);
    free(buf);
    *n = len;
    return img;
}

static void test_image_deterministic(void **state)
{
    (void)state;
    size_t n[2];
    uint8_t *img[2];
    for (int r = 0; r < 2; r++) {
        struct fx f;
        struct snn_sdt_target *t = NULL;
        assert_int_equal(snn_target_load_any("sdt", NULL, &(struct snn_machine *){NULL}, &t), 0);
        build_file(&f, "sdt_tiny.yaml", t);
        assert_int_equal(f.rc, 0);
        img[r] = write_image(f.p, &n[r]);
        done(&f);
    }
    assert_int_equal(n[0], n[1]);
    assert_memory_equal(img[0], img[1], n[0]);
    /* and the reader takes it, every section where it says */
    struct snn_image *im = NULL;
    assert_int_equal(snn_image_open(img[0], n[0], "tiny", NULL, &im), 0);
    assert_int_equal(snn_image_header(im)->family, SNN_IMAGE_FAMILY_SDT);
    const struct snn_sdt_image_config *g = snn_image_sdt_config(im);
    assert_string_equal(g->name, "sdt");
    assert_int_equal(g->lanes, 16);
    assert_int_equal(g->timesteps, 4);
    assert_int_equal(g->e_ac_aj, 900000);
    assert_int_equal(g->e_mac_aj, 4600000);
    uint32_t nd, no;
    const uint8_t *prog = snn_image_sdt_program(im, &nd);
    assert_int_equal(nd, g->n_desc);
    uint32_t last[16];
    memcpy(last, prog + (size_t)(nd - 1) * 64, 64);
    assert_int_equal(SNN_SDT_OPCODE(last[0]), SNN_SDT_OP_END);
    const struct snn_sdt_image_output *o = snn_image_sdt_outputs(im, &no);
    assert_string_equal(snn_image_sdt_output_name(im, no - 1), "head");
    assert_int_equal(o[no - 1].flags, SNN_SDT_OUT_HEAD);
    assert_int_equal(o[no - 1].kind, SNN_SDT_KIND_Q16);
    snn_image_free(im);
    free(img[0]);
    free(img[1]);
}

static uint32_t sec_off(const uint8_t *img, uint32_t k)
{
    struct snn_image_section s;
    memcpy(&s, img + 48 + 24 * k, sizeof s);
    return s.off_lo;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void expect_refused(const uint8_t *orig, size_t n, void (*change)(uint8_t *), bool seal,
                           const char *words)
{
    uint8_t *img = aligned_alloc(8, (n + 7) & ~(size_t)7);
    memcpy(img, orig, n);
    change(img);
    if (seal)
        snn_test_reseal(img);
    struct sink s;
    sink_open(&s);
    struct snn_image *im = NULL;
    assert_int_equal(snn_image_open(img, n, "x.snnb", s.d, &im), SNN_EPARSE);
    assert_null(im);
    if (!strstr(sink_text(&s), words))
        fail_msg("want '%s' in: %s", words, sink_text(&s));
    sink_close(&s);
    free(img);
}

/* Program descriptor 0 is a CONV (the first layer of convnet). */
static void bad_opcode(uint8_t *img) { img[sec_off(img, 1)] = 0x0A; }
static void bad_kernel(uint8_t *img)
{
    uint8_t *d = img + sec_off(img, 1);
    put32(d + 12, (get32(d + 12) & ~0xFu) | 4u);
}
static void bad_region(uint8_t *img) { put32(img + sec_off(img, 1) + 32, 0x7FFFFu); }
static void no_end(uint8_t *img)
{
    struct snn_sdt_image_config g;
    memcpy(&g, img + sec_off(img, 0), sizeof g);
    uint8_t *d = img + sec_off(img, 1) + (size_t)(g.n_desc - 1) * 64;
    put32(d, SNN_SDT_OP_CLEAR);
}
static void lists_overlap(uint8_t *img)
{
    uint8_t *l = img + sec_off(img, 4);
    put32(l + 8, get32(l) + 1); /* register 1 starts inside register 0 */
}
static void bad_event(uint8_t *img)
{
    uint8_t *in = img + sec_off(img, 5);
    struct snn_sdt_image_input h;
    memcpy(&h, in, sizeof h);
    put32(in + sizeof h + 4 * (h.steps + 1), SNN_SDT_EVENT(0, 0, 900, 1));
}
static void bad_config(uint8_t *img) { put32(img + sec_off(img, 0) + 64, 0x12345678u); }
static void bad_multiplier(uint8_t *img) { put32(img + sec_off(img, 3), 1u << 24); }
static void flip(uint8_t *img) { img[sec_off(img, 2) + 5] ^= 0x40; }
static void wrong_kind(uint8_t *img) { put32(img + 48 + 24 * 3, SNN_SEC_SDT_WMEM); }
static void bad_output(uint8_t *img) { put32(img + sec_off(img, 6) + 8 + 24, 0x7FFFFu); }

static void test_reader_refuses(void **state)
{
    (void)state;
    struct fx f;
    struct snn_sdt_target *t = NULL;
    assert_int_equal(snn_target_load_any("sdt", NULL, &(struct snn_machine *){NULL}, &t), 0);
    build_file(&f, "convnet.yaml", t);
    assert_int_equal(f.rc, 0);
    size_t n;
    uint8_t *img = write_image(f.p, &n);
    done(&f);
    struct snn_image *im = NULL;
    assert_int_equal(snn_image_open(img, n, "ok", NULL, &im), 0);
    snn_image_free(im);
    expect_refused(img, n, bad_opcode, true, "descriptor 0: unknown opcode 0x0a");
    expect_refused(img, n, bad_kernel, true, "descriptor 0 (CONV");
    expect_refused(img, n, bad_kernel, true, "a shape out of range or inconsistent");
    expect_refused(img, n, bad_region, true, "a region outside its memory");
    expect_refused(img, n, no_end, true, "the last, is not END");
    expect_refused(img, n, lists_overlap, true, "list register 1's region overlaps register 0's");
    expect_refused(img, n, bad_event, true, "outside the [2, 32, 32] spikes input");
    expect_refused(img, n, bad_config, true, "CONFIG 0x12345678, but the fields above make");
    expect_refused(img, n, bad_multiplier, true, "|m| must be below 2^24");
    expect_refused(img, n, flip, false, "checksum");
    expect_refused(img, n, wrong_kind, true, "section 3 must be QMEM");
    expect_refused(img, n, bad_output, true, "past the 7362 DMEM words used");
    free(img);
}

/* ---- targets ------------------------------------------------------------------------------ */

static void test_targets(void **state)
{
    (void)state;
    struct snn_machine *m = NULL;
    struct snn_sdt_target *t = NULL;
    assert_int_equal(snn_target_load_any("sdt", NULL, &m, &t), 0);
    assert_null(m);
    assert_non_null(t);
    assert_string_equal(t->name, "sdt");
    assert_int_equal(t->lanes, 16);
    assert_int_equal(t->pmem_log2, 14);
    assert_int_equal(t->wmem_log2, 16);
    assert_int_equal(t->qmem_log2, 12);
    assert_int_equal(t->dmem_log2, 16);
    assert_int_equal(t->evt_log2, 18);
    assert_int_equal(t->fifo_log2, 6);
    assert_int_equal(t->clock_mhz, 200);
    assert_true(t->energy.ac_pj == 0.9 && t->energy.mac_pj == 4.6);
    assert_non_null(strstr(t->energy.source, "Horowitz"));
    snn_sdt_target_free(t);
    /* a spinn loader refuses it, naming the family */
    struct sink s;
    sink_open(&s);
    assert_int_equal(snn_target_load("sdt", s.d, &m), SNN_ESEMA);
    assert_non_null(strstr(sink_text(&s), "an sdt target"));
    sink_close(&s);
    /* a file of one's own: defaults for what it leaves out */
    static const char ok[] = "snn-target: 1\nname: mine\nfamily: sdt\n"
                             "accelerator: {lanes: 8, dmem_words: 1024}\n"
                             "energy: {ac: 300 fJ, source: test}\n";
    assert_int_equal(snn_target_parse_any("m.yaml", ok, strlen(ok), NULL, &m, &t), 0);
    assert_int_equal(t->lanes, 8);
    assert_int_equal(t->dmem_log2, 10);
    assert_int_equal(t->wmem_log2, 16);
    assert_true(t->energy.ac_pj == 0.3);
    assert_string_equal(t->energy.source, "test");
    snn_sdt_target_free(t);
    /* errors at file:line:col */
    static const char bad[] = "snn-target: 1\nname: bad\nfamily: sdt\n"
                              "accelerator: {lanes: 12, dmem_words: 1000, chips: 2}\n"
                              "energy: {ac: 1 MJ}\n";
    sink_open(&s);
    assert_int_equal(snn_target_parse_any("b.yaml", bad, strlen(bad), s.d, &m, &t), SNN_ESEMA);
    assert_null(t);
    assert_null(m);
    const char *txt = sink_text(&s);
    assert_non_null(strstr(txt, "b.yaml:4:22: error: 'lanes' must be a power of two"));
    assert_non_null(strstr(txt, "'dmem_words' must be a power of two"));
    assert_non_null(strstr(txt, "unknown key 'chips'"));
    assert_non_null(strstr(txt, "b.yaml:5:14: error: 'ac': unknown unit 'MJ'"));
    sink_close(&s);
}

/* ---- allocation failures ------------------------------------------------------------------ */

static void test_alloc_failures(void **state)
{
    (void)state;
    struct fx f;
    build(&f, "l1", RES_NODES, small_target(12));
    assert_int_equal(f.rc, 0);
    size_t n0;
    uint8_t *want = write_image(f.p, &n0);
    int fails = 0;
    for (long n = 0;; n++) {
        struct snn_sdt_program *p = NULL;
        snn_alloc_fail_after(n);
        int rc = snn_sdt_lower(f.net, f.lq, f.t, NULL, &p);
        snn_alloc_fail_after(-1);
        if (rc == 0) {
            size_t n1;
            uint8_t *got = write_image(p, &n1);
            assert_int_equal(n1, n0);
            assert_memory_equal(got, want, n0);
            free(got);
            snn_sdt_program_free(p);
            break;
        }
        assert_int_equal(rc, SNN_ENOMEM);
        assert_null(p);
        fails++;
    }
    assert_true(fails >= 1);
    free(want);
    done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_lif),
        cmocka_unit_test(test_int4_and_depthwise),
        cmocka_unit_test(test_conv_add_lif),
        cmocka_unit_test(test_add_stored),
        cmocka_unit_test(test_conv_maxpool_lif),
        cmocka_unit_test(test_shared_q16),
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_flatten_window),
        cmocka_unit_test(test_does_not_fit),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_image_deterministic),
        cmocka_unit_test(test_reader_refuses),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

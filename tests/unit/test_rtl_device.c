/*
 * tests/unit/test_rtl_device.c: sdt images on the accelerator's RTL model
 * (runtime/rtl.h) and through the device API (runtime/device.h, "rtl"),
 * against the layer reference simulator (ir/lsim.h), bit for bit.
 *
 * Cases: every example layer graph (on the small model, target sdt4, when
 * it fits, else on the default one, target sdt); random layer graphs from a
 * seed (sizes, densities, int8 and int4 weights, depthwise, strides,
 * residual adds, max-pooling, SDSA v1 and v2, q16 and spiking heads, T)
 * built for sdt4 and compared after every step, every output tensor, with
 * the stream of the device API checked against the same reference; illegal
 * descriptors written into PMEM (an error status naming the step, the
 * descriptor and the code, never a hang), the same patched into an image
 * (refused by the reader), the cycle limit; an image for a machine no model
 * has (refused, naming the models); the device API's refusals; an
 * allocation-failure sweep of loading.
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
#include "runtime/device.h"
#include "runtime/image.h"
#include "runtime/rtl.h"
#include "sim-hw/harness.h"
#include "support/arena.h"
#include "support/crc32.h"
#include "support/err.h"

#include "image_testlib.h"
#include "sink.h"

/* ---------------------------------------------------------------- helpers */

/* A layer graph built into an image for a target. */
struct fx {
    struct sink s;
    struct snn_net *net;
    struct snn_lquant *lq;
    uint8_t *img;            /* 8-aligned */
    size_t size;
    struct snn_image *view;
    int rc;                  /* the lowering's code */
};

static struct snn_sdt_target *target(const char *name)
{
    struct snn_machine *m = NULL;
    struct snn_sdt_target *t = NULL;
    assert_int_equal(snn_target_load_any(name, NULL, &m, &t), 0);
    assert_null(m);
    assert_non_null(t);
    return t;
}

/* Parses text (named file), lowers it for t and writes the image; f->rc is
 * the lowering's code (the image is made only when it is 0). */
static void build(struct fx *f, const char *file, const char *text, const struct snn_sdt_target *t)
{
    memset(f, 0, sizeof *f);
    sink_open(&f->s);
    if (snn_yaml_parse(file, text, strlen(text), f->s.d, &f->net))
        fail_msg("%s", sink_text(&f->s));
    assert_int_equal(snn_layers_quantize(f->net, f->s.d, &f->lq), 0);
    struct snn_sdt_program *p = NULL;
    f->rc = snn_sdt_lower(f->net, f->lq, t, f->s.d, &p);
    if (f->rc)
        return;
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    assert_non_null(o);
    assert_int_equal(snn_sdt_image_write(p, o, NULL), 0);
    fclose(o);
    snn_sdt_program_free(p);
    f->img = aligned_alloc(8, (len + 7) & ~(size_t)7);
    memcpy(f->img, buf, len);
    free(buf);
    f->size = len;
    if (snn_image_open(f->img, f->size, file, f->s.d, &f->view))
        fail_msg("%s", sink_text(&f->s));
}

static void done(struct fx *f)
{
    snn_image_free(f->view);
    free(f->img);
    snn_lquant_free(f->lq);
    snn_net_free(f->net);
    sink_close(&f->s);
}

/* Runs f's image on the RTL and the reference side by side: every output
 * tensor after every step, element for element.  Returns the cycles. */
static uint64_t compare_rtl(struct fx *f, const char *what, uint64_t *nonzero_out)
{
    struct snn_rtl *r = NULL;
    if (snn_rtl_new(f->view, NULL, f->s.d, &r))
        fail_msg("%s: %s", what, sink_text(&f->s));
    struct snn_lsim *ls = NULL;
    assert_int_equal(snn_lsim_new(f->net, f->lq, false, &ls), 0);
    uint32_t T = snn_rtl_steps(r);
    assert_int_equal(T, f->net->layers->timesteps);
    uint64_t nonzero = 0;
    for (uint32_t s = 0; s < T; s++) {
        if (snn_rtl_step(r, f->s.d))
            fail_msg("%s: step %u: %s", what, s, sink_text(&f->s));
        assert_int_equal(snn_lsim_step(ls, NULL), 0);
        for (uint32_t i = 0; i < snn_rtl_n_outputs(r); i++) {
            const struct snn_sdt_image_output *o = snn_rtl_output_info(r, i);
            uint32_t n = o->c * o->h * o->w;
            int32_t *ref = malloc((size_t)n * sizeof *ref);
            snn_lsim_read(ls, o->node, ref);
            const int32_t *v = snn_rtl_output(r, i);
            for (uint32_t k = 0; k < n; k++) {
                if (ref[k] != v[k])
                    fail_msg("%s: step %u, '%s', element %u: reference %d, RTL %d", what, s,
                             snn_rtl_output_name(r, i), k, ref[k], v[k]);
                nonzero += ref[k] != 0;
            }
            free(ref);
        }
    }
    /* one more step than the input holds is refused */
    assert_int_equal(snn_rtl_step(r, NULL), SNN_EINVAL);
    uint64_t c[SNN_SDT_COUNTERS];
    snn_rtl_counters(r, c);
    assert_true(c[SNN_SDT_COUNTER_CYCLES] > 0);
    assert_true(c[SNN_SDT_COUNTER_CYCLES] < snn_rtl_cycle_limit(r) * T);
    assert_int_equal(c[SNN_SDT_COUNTER_WMEM_WRITES], 0);
    assert_int_equal(c[SNN_SDT_COUNTER_QMEM_WRITES], 0);
    assert_true(c[SNN_SDT_COUNTER_PE_LANES] <= c[SNN_SDT_COUNTER_PE_CYCLES] * snn_image_sdt_config(f->view)->lanes);
    assert_int_equal(c[SNN_SDT_COUNTER_ACCUMULATES], c[SNN_SDT_COUNTER_PE_LANES]);
    uint64_t last[SNN_SDT_COUNTERS];
    snn_rtl_step_counters(r, last);
    assert_true(last[SNN_SDT_COUNTER_CYCLES] > 0 &&
                last[SNN_SDT_COUNTER_CYCLES] <= c[SNN_SDT_COUNTER_CYCLES]);
    assert_int_equal(snn_rtl_fifo_events(r), 0); /* the backend leaves list 15 unused */
    snn_lsim_free(ls);
    snn_rtl_free(r);
    if (nonzero_out)
        *nonzero_out += nonzero;
    return c[SNN_SDT_COUNTER_CYCLES];
}

/* The device API's stream against the reference: the callback steps the
 * reference at each step's first population. */
struct stream {
    struct snn_device *dev;
    struct snn_lsim *ls;
    const struct snn_image *img;
    uint32_t step;
    uint64_t spikes;
    const char *what;
};

static int on_spikes(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons, uint32_t n)
{
    struct stream *st = ctx;
    if (pop == 0) {
        assert_int_equal(step, st->step);
        assert_int_equal(snn_lsim_step(st->ls, NULL), 0);
        st->step++;
    }
    uint32_t n_out;
    const struct snn_sdt_image_output *o = &snn_image_sdt_outputs(st->img, &n_out)[pop];
    uint32_t size = o->c * o->h * o->w;
    assert_int_equal(snn_device_pop_size(st->dev, pop), size);
    int32_t *ref = malloc((size_t)size * sizeof *ref), *got = malloc((size_t)size * sizeof *got);
    snn_lsim_read(st->ls, o->node, ref);
    assert_int_equal(snn_device_read_output(st->dev, pop, got, NULL), 0);
    uint32_t j = 0;
    for (uint32_t k = 0; k < size; k++) {
        if (ref[k] != got[k])
            fail_msg("%s: device, step %u, pop %u, element %u: %d vs %d", st->what, step, pop, k,
                     ref[k], got[k]);
        if (ref[k]) {
            if (j >= n || neurons[j] != k)
                fail_msg("%s: device stream, step %u, pop %u: element %u missing", st->what,
                         step, pop, k);
            j++;
        }
    }
    assert_int_equal(j, n);
    if (o->flags & SNN_SDT_OUT_SPIKING)
        st->spikes += n;
    free(ref);
    free(got);
    return 0;
}

static void compare_device(struct fx *f, const char *what)
{
    struct snn_device *dev = NULL;
    assert_int_equal(snn_device_open("rtl", NULL, &dev), 0);
    if (snn_device_load(dev, f->img, f->size, what, f->s.d))
        fail_msg("%s: %s", what, sink_text(&f->s));
    uint32_t n_out;
    snn_image_sdt_outputs(f->view, &n_out);
    assert_int_equal(snn_device_n_pops(dev), n_out);
    for (uint32_t i = 0; i < n_out; i++)
        assert_string_equal(snn_device_pop_name(dev, i), snn_image_sdt_output_name(f->view, i));
    assert_int_equal(snn_device_recorded_steps(dev), 0);
    struct stream st = {.dev = dev, .img = f->view, .what = what};
    assert_int_equal(snn_lsim_new(f->net, f->lq, false, &st.ls), 0);
    uint32_t T = f->net->layers->timesteps, first = T / 2;
    /* in two runs: the second goes on where the first stopped */
    assert_int_equal(snn_device_run(dev, first, on_spikes, &st, NULL), 0);
    assert_int_equal(snn_device_run(dev, T - first, on_spikes, &st, NULL), 0);
    assert_int_equal(st.step, T);
    assert_int_equal(snn_device_run(dev, 1, NULL, NULL, NULL), SNN_EINVAL);
    struct snn_device_counters c;
    snn_device_counters(dev, &c);
    assert_int_equal(c.steps, T);
    assert_int_equal(c.spikes, st.spikes);
    assert_int_equal(c.lanes, snn_image_sdt_config(f->view)->lanes);
    assert_true(c.cycles > 0 && c.sram_reads[SNN_SDT_MEMSEL_DMEM] > 0);
    assert_int_equal(c.sram_reads[SNN_SDT_MEMSEL_PMEM], 0);
    assert_int_equal(c.sram_writes[SNN_SDT_MEMSEL_WMEM], 0);
    snn_lsim_free(st.ls);
    snn_device_close(dev);
}

/* ---------------------------------------------------------------- examples */

static void test_examples(void **state)
{
    (void)state;
    static const char *const files[] = {"sdt_tiny.yaml", "convnet.yaml"};
    struct snn_sdt_target *small = target("sdt4"), *big = target("sdt");
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/examples/%s", SNN_SOURCE_DIR, files[i]);
        FILE *in = fopen(path, "rb");
        assert_non_null(in);
        static char text[1 << 16];
        size_t n = fread(text, 1, sizeof text - 1, in);
        fclose(in);
        text[n] = 0;
        struct fx f;
        build(&f, files[i], text, small);
        if (f.rc == SNN_ETOOBIG) { /* does not fit the test model: the default one */
            done(&f);
            if (snn_sdt_models(NULL, 0) < 2) { /* built with SNN_SDT_RTL_FULL=OFF */
                print_message("%s: skipped, no 16-lane model\n", files[i]);
                continue;
            }
            build(&f, files[i], text, big);
        }
        assert_int_equal(f.rc, 0);
        uint64_t nz = 0, cycles = compare_rtl(&f, files[i], &nz);
        assert_true(nz > 0);
        print_message("%s on '%s': %llu cycles\n", files[i], snn_image_sdt_config(f.view)->name,
                      (unsigned long long)cycles);
        done(&f);
    }
    snn_sdt_target_free(small);
    snn_sdt_target_free(big);
}

/* ---------------------------------------------------------------- random graphs */

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

struct gen {
    char text[16384];
    size_t len;
    int id;
    /* the current spiking tensor */
    char cur[16];
    uint32_t c, h, w;
    bool tokens;      /* [c, n, 1] */
    bool counts;      /* of kind counts (maxpool then makes no events) */
    bool attention;   /* one attention block per graph (PMEM holds 64 descriptors) */
};

static void put(struct gen *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g->len += (size_t)vsnprintf(g->text + g->len, sizeof g->text - g->len, fmt, ap);
    va_end(ap);
    assert_true(g->len < sizeof g->text);
}

static const char *weights(void)
{
    static const char *const w[] = {"{lo: -0.5, hi: 1.0}", "{lo: -1.0, hi: 1.0}",
                                    "{lo: -0.25, hi: 0.75}"};
    return w[rnd(3)];
}

/* A neuron layer on q16 tensor `in`; the spiking result becomes current. */
static void neuron(struct gen *g, const char *in, uint32_t c, uint32_t h, uint32_t w)
{
    static const char *const taus[] = {"2", "4", "8", "16"};
    int id = ++g->id;
    g->counts = rnd(4) == 0;
    if (g->counts)
        put(g, "    - {name: n%d, op: ilif, in: %s, decay: %s, d_max: %u}\n", id, in,
            rnd(2) ? "0.5" : "0.25", 1 + rnd(5));
    else
        put(g, "    - {name: n%d, op: lif, in: %s, tau: %s, threshold: %.2f}\n", id, in,
            taus[rnd(4)], 0.25 + 0.25 * rnd(5));
    snprintf(g->cur, sizeof g->cur, "n%d", id);
    g->c = c;
    g->h = h;
    g->w = w;
}

/* conv of the current tensor; its name into name, its shape out. */
static void conv(struct gen *g, char *name, uint32_t ch, uint32_t k, uint32_t stride, bool dw,
                 uint32_t *h, uint32_t *w)
{
    int id = ++g->id;
    snprintf(name, 16, "c%d", id);
    uint32_t p = (k - 1) / 2;
    *h = (g->h + 2 * p - k) / stride + 1;
    *w = (g->w + 2 * p - k) / stride + 1;
    if (dw)
        put(g, "    - {name: %s, op: conv, in: %s, depthwise: true, kernel: %u, generate: %s}\n",
            name, g->cur, k, weights());
    else
        put(g, "    - {name: %s, op: conv, in: %s, channels: %u, kernel: %u, stride: %u, bits: %u, "
               "generate: %s, bias: %.2f}\n",
            name, g->cur, ch, k, stride, rnd(3) == 0 ? 4u : 8u, weights(), 0.1 * rnd(4));
}

static void block(struct gen *g)
{
    char a[16], b[16];
    uint32_t h, w, h2, w2;
    uint32_t r = rnd(10);
    if (r >= 7 && !g->attention && g->h * g->w <= 64 && g->w > 1) {
        /* attention: tokens of a conv, LIF, Q K V, SDSA v1 or v2 */
        g->attention = true;
        uint32_t ch = rnd(2) ? 8 : 4;
        conv(g, a, ch, 1, 1, false, &h, &w);
        int id = ++g->id;
        put(g, "    - {name: t%d, op: tokens, in: %s}\n", id, a);
        snprintf(b, sizeof b, "t%d", id);
        neuron(g, b, ch, h * w, 1);
        char base[16], q[16], k[16], v[16];
        snprintf(base, sizeof base, "%s", g->cur);
        char *qkv[3] = {q, k, v};
        for (int i = 0; i < 3; i++) {
            snprintf(g->cur, sizeof g->cur, "%s", base);
            g->c = ch;
            conv(g, a, ch, 1, 1, false, &h2, &w2);
            id = ++g->id;
            g->counts = false;
            put(g, "    - {name: l%d, op: lif, in: %s, threshold: %.2f}\n", id, a,
                0.25 + 0.25 * rnd(3));
            snprintf(qkv[i], 16, "l%d", id);
        }
        id = ++g->id;
        if (rnd(2)) {
            put(g, "    - {name: s%d, op: sdsa1, in: [%s, %s, %s], threshold: %.2f}\n", id, q, k,
                v, 0.5 + 0.5 * rnd(3));
            snprintf(g->cur, sizeof g->cur, "s%d", id);
            g->counts = false;
        } else {
            put(g, "    - {name: s%d, op: sdsa2, in: [%s, %s, %s], heads: %u, scale: 0.25}\n", id,
                q, k, v, ch / 4);
            snprintf(b, sizeof b, "s%d", id);
            neuron(g, b, ch, h * w, 1);
        }
        g->c = ch;
        g->h = h * w;
        g->w = 1;
        g->tokens = true;
    } else if (r >= 5 && r < 7) {
        /* residual: two convolutions added, then a neuron */
        uint32_t ch = 1 + rnd(10), k = g->w >= 3 && rnd(2) ? 3 : 1;
        conv(g, a, ch, k, 1, false, &h, &w);
        conv(g, b, ch, k, 1, false, &h2, &w2);
        int id = ++g->id;
        put(g, "    - {name: x%d, op: add, in: [%s, %s]}\n", id, a, b);
        snprintf(a, sizeof a, "x%d", id);
        neuron(g, a, ch, h, w);
    } else if (r == 4 && g->h >= 3 && g->w >= 3 && !g->counts) {
        int id = ++g->id;
        put(g, "    - {name: m%d, op: maxpool, in: %s, kernel: 3, stride: 2}\n", id, g->cur);
        snprintf(g->cur, sizeof g->cur, "m%d", id);
        g->h = (g->h - 1) / 2 + 1;
        g->w = (g->w - 1) / 2 + 1;
    } else {
        /* conv -> neuron: dense or depthwise, 1x1 or 3x3, stride 1 or 2 */
        bool tok = g->tokens;
        uint32_t k = !tok && g->h >= 3 && g->w >= 3 && rnd(2) ? 3 : 1;
        uint32_t stride = !tok && k == 3 && g->h >= 5 && g->w >= 5 && rnd(3) == 0 ? 2 : 1;
        bool dw = k == 3 && stride == 1 && rnd(4) == 0;
        uint32_t ch = dw ? g->c : 1 + rnd(12);
        conv(g, a, ch, k, stride, dw, &h, &w);
        neuron(g, a, ch, h, w);
    }
}

/* A random layer graph whose seed is seed (its text in g). */
static void random_graph(struct gen *g, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    rng = seed * 0x9E3779B97F4A7C15ull + 1;
    uint32_t T = 1 + rnd(5);
    g->c = 1 + rnd(8);
    g->h = 2 + rnd(7);
    g->w = 2 + rnd(7);
    bool counts = rnd(4) == 0;
    g->counts = counts;
    put(g, "snn: 1\nname: r%llu\nseed: %llu\nlayers:\n  timesteps: %u\n  output: OUT\n  nodes:\n",
        (unsigned long long)seed, (unsigned long long)seed, T);
    if (counts)
        put(g, "    - {name: in, op: input, shape: [%u, %u, %u], kind: counts, generate: {}}\n",
            g->c, g->h, g->w);
    else
        put(g, "    - {name: in, op: input, shape: [%u, %u, %u], kind: spikes, generate: "
               "{density: %.2f}}\n",
            g->c, g->h, g->w, 0.1 + 0.1 * rnd(6));
    snprintf(g->cur, sizeof g->cur, "in");
    uint32_t blocks = 1 + rnd(4);
    for (uint32_t b = 0; b < blocks; b++)
        block(g);
    /* the head: the last spiking layer, a conv (q16) or a sum-pool */
    char out[16];
    uint32_t r = rnd(3), h, w;
    if (r == 0 && strcmp(g->cur, "in")) {
        snprintf(out, sizeof out, "%s", g->cur);
    } else if (r == 1) {
        int id = ++g->id;
        put(g, "    - {name: p%d, op: sumpool, in: %s}\n", id, g->cur);
        snprintf(out, sizeof out, "p%d", id);
    } else {
        conv(g, out, 1 + rnd(6), 1, 1, false, &h, &w);
    }
    /* the output's name in place of OUT */
    char *at = strstr(g->text, "output: OUT");
    char rest[16384];
    snprintf(rest, sizeof rest, "%s", at + strlen("output: OUT"));
    g->len = (size_t)(at - g->text);
    put(g, "output: %s%s", out, rest);
}

static void test_random_graphs(void **state)
{
    (void)state;
    struct snn_sdt_target *t = target("sdt4");
    enum { GRAPHS = 60 }; /* about a second of RTL time on the test model */
    int ran = 0, too_big = 0;
    uint64_t cycles = 0, nonzero = 0;
    for (uint64_t seed = 1; seed <= GRAPHS; seed++) {
        struct gen *g = malloc(sizeof *g);
        random_graph(g, seed);
        struct fx f;
        build(&f, "random.yaml", g->text, t);
        char what[64];
        snprintf(what, sizeof what, "random graph %llu", (unsigned long long)seed);
        if (f.rc == SNN_ETOOBIG) {
            too_big++;
        } else {
            if (f.rc)
                fail_msg("%s: %s\n%s", what, sink_text(&f.s), g->text);
            cycles += compare_rtl(&f, what, &nonzero);
            if (seed % 3 == 0)
                compare_device(&f, what);
            ran++;
        }
        done(&f);
        free(g);
    }
    print_message("%d random graphs ran (%d did not fit), %llu cycles, %llu nonzero outputs\n",
                  ran, too_big, (unsigned long long)cycles, (unsigned long long)nonzero);
    assert_true(ran >= GRAPHS * 3 / 4);
    assert_true(nonzero > 1000);
    snn_sdt_target_free(t);
}

/* ---------------------------------------------------------------- faults */

static const char *const SMALL =
    "snn: 1\nname: small\nseed: 4\nlayers:\n  timesteps: 3\n  output: l2\n  nodes:\n"
    "    - {name: in, op: input, shape: [3, 5, 5], kind: spikes, generate: {density: 0.4}}\n"
    "    - {name: c1, op: conv, in: in, channels: 6, kernel: 3, generate: {lo: -0.5, hi: 1}}\n"
    "    - {name: l1, op: lif, in: c1, threshold: 0.5}\n"
    "    - {name: c2, op: conv, in: l1, channels: 5, kernel: 3, generate: {lo: -0.5, hi: 1}}\n"
    "    - {name: l2, op: lif, in: c2, threshold: 0.5}\n";

static void small_fx(struct fx *f)
{
    struct snn_sdt_target *t = target("sdt4");
    build(f, "small.yaml", SMALL, t);
    assert_int_equal(f->rc, 0);
    snn_sdt_target_free(t);
}

/* Descriptor k of the image's program, copied. */
static void image_desc(const struct fx *f, uint32_t k, uint32_t *d)
{
    uint32_t n;
    const unsigned char *p = snn_image_sdt_program(f->view, &n);
    assert_true(k < n);
    memcpy(d, p + (size_t)k * SNN_SDT_DESC_BYTES, SNN_SDT_DESC_BYTES);
}

/* Writes descriptor k (changed by change) and runs: the step stops with an
 * error whose report holds words. */
static void expect_stop(uint32_t k, void (*change)(uint32_t *d), uint32_t step,
                        const char *words)
{
    struct fx f;
    small_fx(&f);
    struct snn_rtl *r = NULL;
    assert_int_equal(snn_rtl_new(f.view, NULL, f.s.d, &r), 0);
    for (uint32_t s = 0; s < step; s++)
        assert_int_equal(snn_rtl_step(r, f.s.d), 0);
    uint32_t d[SNN_SDT_DESC_WORDS];
    image_desc(&f, k, d);
    change(d);
    assert_int_equal(snn_rtl_write_desc(r, k, d, f.s.d), 0);
    assert_int_equal(snn_rtl_step(r, f.s.d), SNN_EDEVICE);
    if (!strstr(sink_text(&f.s), words))
        fail_msg("want '%s' in: %s", words, sink_text(&f.s));
    /* stopped: no further step */
    assert_int_equal(snn_rtl_step(r, f.s.d), SNN_EINVAL);
    assert_int_equal(snn_rtl_steps_run(r), step);
    snn_rtl_free(r);
    done(&f);
}

static void opcode_0a(uint32_t *d) { d[0] = (d[0] & ~0xFFu) | 0x0Au; }
static void acc_far(uint32_t *d) { d[SNN_SDT_W_ACC] = 0xFFFFFu; }
static void bad_kernel(uint32_t *d) { d[3] = (d[3] & ~0xFu) | 4u; }
static void tiny_list(uint32_t *d)
{
    /* the LIF's output list register: 14, which the backend leaves empty
     * (capacity 0), so the first spike overflows it */
    d[4] = (d[4] & ~0xF0u) | (14u << 4);
}

static void test_illegal_descriptors(void **state)
{
    (void)state;
    expect_stop(0, opcode_0a, 0, "step 0: the accelerator stopped with error 1 (unknown opcode) "
                                 "at descriptor 0");
    expect_stop(0, acc_far, 1, "step 1: the accelerator stopped with error 3 (a region outside "
                               "its memory) at descriptor 0 (CONV)");
    expect_stop(2, bad_kernel, 2, "error 2 (a shape out of range or inconsistent) at descriptor 2");
    expect_stop(1, tiny_list, 0, "at descriptor 1 (NEURON)");
}

/* The same faults patched into an image (its checksums made right): the
 * reader refuses them before any model sees them. */
static void test_patched_image(void **state)
{
    (void)state;
    struct fx f;
    small_fx(&f);
    struct snn_image_section prog;
    memcpy(&prog, f.img + 48 + 24 * 1, sizeof prog);
    for (int which = 0; which < 2; which++) {
        uint8_t *img = aligned_alloc(8, (f.size + 7) & ~(size_t)7);
        memcpy(img, f.img, f.size);
        if (which == 0)
            img[prog.off_lo] = 0x0A;
        else
            memset(img + prog.off_lo + 4 * SNN_SDT_W_ACC, 0xFF, 3);
        snn_test_reseal(img);
        struct sink s;
        sink_open(&s);
        struct snn_device *dev = NULL;
        assert_int_equal(snn_device_open("rtl", s.d, &dev), 0);
        assert_int_equal(snn_device_load(dev, img, f.size, "bad.snnb", s.d), SNN_EPARSE);
        assert_non_null(strstr(sink_text(&s), "bad.snnb: error: byte"));
        assert_int_equal(snn_device_n_pops(dev), 0);
        assert_int_equal(snn_device_run(dev, 1, NULL, NULL, s.d), SNN_EINVAL);
        snn_device_close(dev);
        sink_close(&s);
        free(img);
    }
    done(&f);
}

static void test_cycle_limit(void **state)
{
    (void)state;
    struct fx f;
    small_fx(&f);
    struct snn_rtl *r = NULL;
    struct snn_rtl_options o = {.max_cycles = 40};
    assert_int_equal(snn_rtl_new(f.view, &o, f.s.d, &r), 0);
    assert_int_equal(snn_rtl_cycle_limit(r), 40);
    assert_int_equal(snn_rtl_step(r, f.s.d), SNN_EDEVICE);
    assert_non_null(strstr(sink_text(&f.s), "step 0: the accelerator did not finish within 40 "
                                            "cycles (descriptor "));
    assert_int_equal(snn_rtl_step(r, f.s.d), SNN_EINVAL);
    snn_rtl_free(r);
    /* the computed limit is far above what a step takes, and finite */
    assert_int_equal(snn_rtl_new(f.view, NULL, f.s.d, &r), 0);
    assert_int_equal(snn_rtl_step(r, f.s.d), 0);
    uint64_t c[SNN_SDT_COUNTERS];
    snn_rtl_counters(r, c);
    assert_true(snn_rtl_cycle_limit(r) > 2 * c[SNN_SDT_COUNTER_CYCLES]);
    assert_true(snn_rtl_cycle_limit(r) < 10000000u);
    snn_rtl_free(r);
    done(&f);
}

/* An image for a machine no model has: 8 lanes. */
static void test_wrong_config(void **state)
{
    (void)state;
    struct snn_sdt_target *t = target("sdt4");
    t->name = "sdt8";
    t->lanes = 8;
    struct fx f;
    build(&f, "small.yaml", SMALL, t);
    assert_int_equal(f.rc, 0);
    struct snn_rtl *r = NULL;
    assert_int_equal(snn_rtl_new(f.view, NULL, f.s.d, &r), SNN_EUNSUPPORTED);
    assert_null(r);
    const char *msg = sink_text(&f.s);
    if (!strstr(msg, "this image is for an sdt with 8 lanes") ||
        !strstr(msg, "(target 'sdt8'); snnc's RTL models are: 4 lanes, PMEM 2^10"))
        fail_msg("%s", msg);
    struct snn_device *dev = NULL;
    assert_int_equal(snn_device_open("rtl", NULL, &dev), 0);
    assert_int_equal(snn_device_load(dev, f.img, f.size, "x", NULL), SNN_EUNSUPPORTED);
    snn_device_close(dev);
    done(&f);
    /* a FIFO of another depth is another machine too */
    t->name = "sdt4f";
    t->lanes = 4;
    t->fifo_log2 = 5;
    build(&f, "small.yaml", SMALL, t);
    assert_int_equal(snn_rtl_new(f.view, NULL, f.s.d, &r), SNN_EUNSUPPORTED);
    assert_non_null(strstr(sink_text(&f.s), "a 32-event FIFO"));
    done(&f);
    snn_sdt_target_free(t);
}

/* The device API: an sdt image is not the emulator's; the rtl device
 * records and takes no input. */
static void test_device_refusals(void **state)
{
    (void)state;
    struct fx f;
    small_fx(&f);
    struct sink s;
    sink_open(&s);
    struct snn_device *dev = NULL;
    assert_int_equal(snn_device_open("emu", s.d, &dev), 0);
    assert_int_equal(snn_device_load(dev, f.img, f.size, "small.snnb", s.d), SNN_EUNSUPPORTED);
    assert_non_null(strstr(sink_text(&s), "rtl device"));
    int32_t v[256];
    assert_int_equal(snn_device_read_output(dev, 0, v, s.d), SNN_EINVAL);
    snn_device_close(dev);
    assert_int_equal(snn_device_open("nope", s.d, &dev), SNN_EINVAL);
    assert_non_null(strstr(sink_text(&s), "rtl (the sdt accelerator's RTL model)"));
    assert_int_equal(snn_device_open("rtl", s.d, &dev), 0);
    assert_int_equal(snn_device_load(dev, f.img, f.size, "small.snnb", s.d), 0);
    assert_int_equal(snn_device_read_output(dev, 0, v, s.d), SNN_EINVAL); /* no step yet */
    assert_int_equal(snn_device_read_spike(dev, 0, 0, 0, s.d), SNN_EINVAL);
    assert_int_equal(snn_device_inject(dev, 0, 0, 0, s.d), SNN_EINVAL);
    assert_int_equal(snn_device_run(dev, 4, NULL, NULL, s.d), SNN_EINVAL); /* T is 3 */
    assert_int_equal(snn_device_run(dev, 3, NULL, NULL, s.d), 0);
    assert_int_equal(snn_device_read_output(dev, 9, v, s.d), SNN_EINVAL);
    /* loading again starts over */
    assert_int_equal(snn_device_load(dev, f.img, f.size, "small.snnb", s.d), 0);
    assert_int_equal(snn_device_run(dev, 3, NULL, NULL, s.d), 0);
    snn_device_close(dev);
    sink_close(&s);
    done(&f);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    struct fx f;
    small_fx(&f);
    int ok = 0;
    for (long n = 0; n < 200 && !ok; n++) {
        struct snn_rtl *r = NULL;
        snn_alloc_fail_after(n);
        int rc = snn_rtl_new(f.view, NULL, NULL, &r);
        snn_alloc_fail_after(-1);
        if (rc == 0) {
            ok = 1;
            assert_int_equal(snn_rtl_step(r, NULL), 0);
        } else {
            assert_int_equal(rc, SNN_ENOMEM);
            assert_null(r);
        }
        snn_rtl_free(r);
    }
    assert_true(ok);
    done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples),        cmocka_unit_test(test_random_graphs),
        cmocka_unit_test(test_illegal_descriptors), cmocka_unit_test(test_patched_image),
        cmocka_unit_test(test_cycle_limit),     cmocka_unit_test(test_wrong_config),
        cmocka_unit_test(test_device_refusals), cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

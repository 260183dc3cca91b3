/*
 * tests/unit/test_sdt_rtl.c: the sdt accelerator's RTL (sim-hw/), through
 * the harness, against a small C model of the layer view's numerics
 * (docs/numerics.md) written here on dense int arrays.
 *
 * Programs are built by hand with the descriptor encoding of
 * docs/sdt-accelerator.md; tensors, weights and requantization pairs are
 * laid out as that page says.  Cases: every op the RTL implements, random
 * CONV + NEURON programs over several steps (state carried), illegal
 * programs (each error code, never a hang), the cost of a zero-spike input,
 * and the counters.  With SNN_SDT_TRACE set to a path, the program runs one
 * small step with an FST trace there and exits (tests/rtl/trace.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim-hw/harness.h"
#include "support/arena.h"
#include "support/err.h"

/* A step of these tests ends well within this many cycles; a hang would not. */
#define MAX_CYCLES 2000000u

static struct snn_sdt_rtl *rtl;
static unsigned L;        /* lanes of the model under test */

/* ---------------------------------------------------------------- model */

static int32_t sat32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* floor(v / 2^s) for any sign. */
static int64_t asr(int64_t v, unsigned s)
{
    return v >= 0 ? v >> s : -((-v + ((INT64_C(1) << s) - 1)) >> s);
}

static int64_t rshr(int64_t v, unsigned sh)
{
    return sh == 0 ? v : asr(v + (INT64_C(1) << (sh - 1)), sh);
}

struct geom {
    unsigned cin, cout, hin, win, hout, wout, k, s, p;
    bool dw, int4, counts;
};

static unsigned out_size(unsigned n, unsigned k, unsigned s, unsigned p)
{
    return (n + 2 * p - k) / s + 1;
}

/* acc[o][y][x] += sum in[c][y'][x'] * w[o][c][ky][kx]; w is [cout][cin or 1][k][k]. */
static void conv_ref(const struct geom *g, const int32_t *in, const int8_t *w, int32_t *acc)
{
    unsigned k = g->k;
    for (unsigned c = 0; c < g->cin; c++)
        for (unsigned yi = 0; yi < g->hin; yi++)
            for (unsigned xi = 0; xi < g->win; xi++) {
                int32_t v = in[(c * g->hin + yi) * g->win + xi];
                if (!v)
                    continue;
                for (unsigned ky = 0; ky < k; ky++)
                    for (unsigned kx = 0; kx < k; kx++) {
                        int ty = (int)yi + (int)g->p - (int)ky, tx = (int)xi + (int)g->p - (int)kx;
                        if (ty < 0 || tx < 0 || ty % (int)g->s || tx % (int)g->s)
                            continue;
                        unsigned y = (unsigned)ty / g->s, x = (unsigned)tx / g->s;
                        if (y >= g->hout || x >= g->wout)
                            continue;
                        for (unsigned o = 0; o < g->cout; o++) {
                            if (g->dw && o != c)
                                continue;
                            int8_t wv = g->dw ? w[(o * k + ky) * k + kx]
                                              : w[((o * g->cin + c) * k + ky) * k + kx];
                            uint32_t *a = (uint32_t *)&acc[(o * g->hout + y) * g->wout + x];
                            *a += (uint32_t)((int32_t)wv * v);   /* wrapping */
                        }
                    }
            }
}

struct nparams {
    unsigned mode, sh, k, dmax;
    int32_t theta;
    bool res, clr;
};

/* One element of NEURON: returns the stored value; updates *v and *s. */
static int32_t neuron_ref(const struct nparams *np, int32_t acc, int32_t m, int32_t b, int32_t res,
                          int32_t *v, int32_t *s)
{
    int32_t x = sat32(rshr((int64_t)acc * m, np->sh) + b);
    if (np->res)
        x = sat32((int64_t)x + res);
    if (np->mode == 0)
        return x;
    if (np->mode == 1) {
        int32_t h = sat32(*v + asr((int64_t)x - *v, np->k));
        int32_t sp = h >= np->theta;
        *v = sp ? 0 : h;
        return sp;
    }
    int32_t h = sat32(asr((int64_t)*v - (int64_t)*s * 65536, np->k) + x);
    int64_t q = asr(h, 16);
    int32_t r = h & 0xFFFF;
    if (r > 0x8000 || (r == 0x8000 && (q & 1)))
        q++;
    if (q < 0)
        q = 0;
    if (q > (int64_t)np->dmax)
        q = np->dmax;
    *v = h;
    *s = (int32_t)q;
    return (int32_t)q;
}

static uint32_t event_word(unsigned y, unsigned x, unsigned c, unsigned v)
{
    return (uint32_t)y << 25 | (uint32_t)x << 18 | (uint32_t)c << 8 | v;
}

/* The event list of a dense [C, H, W] tensor, in (y, x, c) order. */
static size_t events_of(const int32_t *t, unsigned c_n, unsigned h, unsigned w, uint32_t *ev)
{
    size_t n = 0;
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++)
            for (unsigned c = 0; c < c_n; c++) {
                int32_t v = t[(c * h + y) * w + x];
                if (v)
                    ev[n++] = event_word(y, x, c, (unsigned)v & 0xFF);
            }
    return n;
}

/* ---------------------------------------------------------------- layouts */

static unsigned groups(unsigned c)
{
    return (c + L - 1) / L;
}

/* A dense [C, H, W] tensor into DMEM at base (or back). */
static void tensor_store(uint32_t base, const int32_t *t, unsigned c_n, unsigned h, unsigned w)
{
    unsigned g = groups(c_n);
    size_t n = (size_t)h * w * g * L;
    uint32_t *buf = calloc(n, sizeof *buf);
    assert_non_null(buf);
    for (unsigned c = 0; c < c_n; c++)
        for (unsigned y = 0; y < h; y++)
            for (unsigned x = 0; x < w; x++)
                buf[((size_t)(y * w + x) * g + c / L) * L + c % L] = (uint32_t)t[(c * h + y) * w + x];
    assert_int_equal(snn_sdt_mem_load(rtl, SNN_SDT_DMEM, base, buf, n), 0);
    free(buf);
}

/* Reads a tensor back; checks that lanes past C are 0. */
static void tensor_load(uint32_t base, int32_t *t, unsigned c_n, unsigned h, unsigned w)
{
    unsigned g = groups(c_n);
    size_t n = (size_t)h * w * g * L;
    uint32_t *buf = calloc(n, sizeof *buf);
    assert_non_null(buf);
    assert_int_equal(snn_sdt_mem_dump(rtl, SNN_SDT_DMEM, base, buf, n), 0);
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++)
            for (unsigned cc = 0; cc < g * L; cc++) {
                uint32_t v = buf[((size_t)(y * w + x) * g + cc / L) * L + cc % L];
                if (cc < c_n)
                    t[(cc * h + y) * w + x] = (int32_t)v;
                else
                    assert_int_equal(v, 0);
            }
    free(buf);
}

/* Weights into WMEM at base per the layouts; returns the words used. */
static uint32_t weights_store(uint32_t base, const struct geom *g, const int8_t *w)
{
    unsigned k = g->k, taps = k * k, go = groups(g->cout);
    unsigned go2 = go + (go & 1);
    uint32_t words = g->dw ? taps * groups(g->cin)
                   : g->int4 ? g->cin * taps * go2 / 2 : g->cin * taps * go;
    uint8_t *bytes = calloc((size_t)words * L, 1);
    assert_non_null(bytes);
    for (unsigned o = 0; o < g->cout; o++)
        for (unsigned c = 0; c < (g->dw ? 1 : g->cin); c++)
            for (unsigned t = 0; t < taps; t++) {
                int8_t wv = w[(o * (g->dw ? 1 : g->cin) + c) * taps + t];
                if (g->dw) {
                    bytes[((size_t)t * groups(g->cin) + o / L) * L + o % L] = (uint8_t)wv;
                } else if (g->int4) {
                    size_t word = ((size_t)(c * taps + t) * go2 + o / L) / 2;
                    unsigned sh = 4 * ((o / L) % 2);
                    bytes[word * L + o % L] |= (uint8_t)(((unsigned)wv & 0xF) << sh);
                } else {
                    bytes[((size_t)(c * taps + t) * go + o / L) * L + o % L] = (uint8_t)wv;
                }
            }
    size_t n = (size_t)words * L / 4;
    uint32_t *sl = calloc(n ? n : 1, sizeof *sl);
    assert_non_null(sl);
    for (size_t i = 0; i < n; i++)
        sl[i] = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 |
                (uint32_t)bytes[4 * i + 2] << 16 | (uint32_t)bytes[4 * i + 3] << 24;
    assert_int_equal(snn_sdt_mem_load(rtl, SNN_SDT_WMEM, base, sl, n), 0);
    free(sl);
    free(bytes);
    return words;
}

static void qmem_store(uint32_t base, const int32_t *m, const int32_t *b, unsigned c_n)
{
    unsigned g = groups(c_n);
    size_t n = (size_t)g * 2 * L;
    uint32_t *buf = calloc(n, sizeof *buf);
    assert_non_null(buf);
    for (unsigned o = 0; o < c_n; o++) {
        buf[(o / L) * 2 * L + 2 * (o % L)] = (uint32_t)m[o];
        buf[(o / L) * 2 * L + 2 * (o % L) + 1] = (uint32_t)b[o];
    }
    assert_int_equal(snn_sdt_mem_load(rtl, SNN_SDT_QMEM, base, buf, n), 0);
    free(buf);
}

/* ---------------------------------------------------------------- descriptors */

enum { OP_CONV = 1, OP_NEURON = 2, OP_ADD = 3, OP_MAXPOOL = 4, OP_SUMPOOL = 5, OP_SDSA1 = 6, OP_KV = 7,
       OP_QKV = 8, OP_CLEAR = 9, OP_END = 15 };

struct prog {
    uint32_t w[64][16];
    unsigned n;
};

static uint32_t *desc(struct prog *p, unsigned op)
{
    assert_true(p->n < 64);
    uint32_t *d = p->w[p->n++];
    memset(d, 0, 16 * sizeof *d);
    d[0] = op;
    return d;
}

static void shape(uint32_t *d, const struct geom *g)
{
    d[1] = g->cin | g->cout << 16;
    d[2] = g->hin | g->win << 8 | g->hout << 16 | g->wout << 24;
    d[3] = g->k | g->s << 4 | g->p << 8 | (uint32_t)g->dw << 12 | (uint32_t)g->int4 << 13 |
           (uint32_t)g->counts << 14;
}

static void p_conv(struct prog *p, const struct geom *g, unsigned lin, uint32_t acc, uint32_t wb)
{
    uint32_t *d = desc(p, OP_CONV);
    shape(d, g);
    d[4] = lin;
    d[8] = acc;
    d[10] = wb;
}

static void p_neuron(struct prog *p, unsigned cout, unsigned h, unsigned w, const struct nparams *np,
                     unsigned lout, uint32_t res, uint32_t out, uint32_t acc, uint32_t state,
                     uint32_t q)
{
    uint32_t *d = desc(p, OP_NEURON);
    d[1] = cout << 16;
    d[2] = h << 16 | w << 24;
    d[4] = lout << 4;
    d[6] = res;
    d[7] = out;
    d[8] = acc;
    d[9] = state;
    d[11] = q;
    d[12] = np->sh | np->k << 8 | np->mode << 12 | (uint32_t)np->res << 14 |
            (uint32_t)np->clr << 15 | np->dmax << 16;
    d[13] = (uint32_t)np->theta;
}

static void p_clear(struct prog *p, uint32_t base, uint32_t words, int list)
{
    uint32_t *d = desc(p, OP_CLEAR);
    if (list >= 0) {
        d[0] |= 1u << 8;
        d[4] = (uint32_t)list << 4;
    }
    d[7] = base;
    d[15] = words;
}

static void p_end(struct prog *p)
{
    desc(p, OP_END);
}

static void prog_load(const struct prog *p)
{
    assert_int_equal(snn_sdt_mem_load(rtl, SNN_SDT_PMEM, 0, &p->w[0][0], (size_t)p->n * 16), 0);
}

/* Runs one step; returns how it stopped. */
static enum snn_sdt_stop step(void)
{
    enum snn_sdt_stop stop;
    assert_int_equal(snn_sdt_run(rtl, MAX_CYCLES, &stop), 0);
    return stop;
}

static void expect_error(unsigned code, unsigned pc)
{
    assert_int_equal(step(), SNN_SDT_STOP_ERROR);
    unsigned c, p;
    assert_int_equal(snn_sdt_error_info(rtl, &c, &p), 0);
    assert_int_equal(c, code);
    assert_int_equal(p, pc);
}

static void events_load(unsigned r, uint32_t base, uint32_t cap, const uint32_t *ev, size_t n)
{
    if (n)
        assert_int_equal(snn_sdt_mem_load(rtl, SNN_SDT_EVT, base, ev, n), 0);
    assert_int_equal(snn_sdt_list_set(rtl, r, base, cap, (uint32_t)n), 0);
}

static size_t fifo_take(uint32_t *ev, size_t cap)
{
    size_t n;
    assert_int_equal(snn_sdt_fifo_drain(rtl, ev, cap, &n), 0);
    return n;
}

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

static int32_t rnd_range(int32_t lo, int32_t hi)
{
    return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

/* ---------------------------------------------------------------- fixtures */

static int setup(void **state)
{
    (void)state;
    if (snn_sdt_open(NULL, &rtl) != 0)
        return -1;
    struct snn_sdt_rtl_config cfg;
    if (snn_sdt_config(rtl, &cfg) != 0)
        return -1;
    L = cfg.lanes;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    print_message("%llu clock cycles simulated\n", (unsigned long long)snn_sdt_cycles(rtl));
    snn_sdt_close(rtl);
    rtl = NULL;
    return 0;
}

/* Empties the FIFO buffer and resets the counters before a case. */
static int fresh(void **state)
{
    (void)state;
    uint32_t ev[64];
    size_t n;
    do {
        if (snn_sdt_fifo_drain(rtl, ev, 64, &n) != 0)
            return -1;
    } while (n);
    return snn_sdt_counters_reset(rtl);
}

/* ---------------------------------------------------------------- cases */

static void test_identity(void **state)
{
    (void)state;
    uint32_t v;
    assert_int_equal(snn_sdt_reg_read(rtl, SNN_SDT_ADDR_ID, &v), 0);
    assert_int_equal(v, 0x31544453);
    struct snn_sdt_rtl_config cfg;
    assert_int_equal(snn_sdt_config(rtl, &cfg), 0);
    assert_int_equal(cfg.lanes, 4);
    assert_int_equal(cfg.pmem_log2, 10);
    assert_int_equal(cfg.wmem_log2, 12);
    assert_int_equal(cfg.qmem_log2, 8);
    assert_int_equal(cfg.dmem_log2, 12);
    assert_int_equal(cfg.evt_log2, 12);
    assert_int_equal(snn_sdt_reg_read(rtl, SNN_SDT_ADDR_STATUS, &v), 0);
    assert_int_equal(v & 7, 0);
}

static void test_memories(void **state)
{
    (void)state;
    static const enum snn_sdt_mem mems[] = {SNN_SDT_PMEM, SNN_SDT_WMEM, SNN_SDT_QMEM,
                                            SNN_SDT_DMEM, SNN_SDT_EVT};
    static const unsigned slices[] = {1, 1, 8, 4, 1};
    static const uint32_t last[] = {1023, 4095, 255, 4095, 4095};
    for (unsigned i = 0; i < 5; i++) {
        for (unsigned s = 0; s < slices[i]; s++) {
            assert_int_equal(snn_sdt_mem_write(rtl, mems[i], 7, s, 0xA5000000u + 16 * i + s), 0);
            assert_int_equal(snn_sdt_mem_write(rtl, mems[i], last[i], s, 0x5A000000u + 16 * i + s), 0);
        }
        for (unsigned s = 0; s < slices[i]; s++) {
            uint32_t v;
            assert_int_equal(snn_sdt_mem_read(rtl, mems[i], 7, s, &v), 0);
            assert_int_equal(v, 0xA5000000u + 16 * i + s);
            assert_int_equal(snn_sdt_mem_read(rtl, mems[i], last[i], s, &v), 0);
            assert_int_equal(v, 0x5A000000u + 16 * i + s);
        }
        uint32_t v;
        assert_int_equal(snn_sdt_mem_write(rtl, mems[i], last[i] + 1, 0, 1), SNN_EINVAL);
        assert_int_equal(snn_sdt_mem_read(rtl, mems[i], 0, slices[i], &v), SNN_EINVAL);
    }
}

static void test_clear_end(void **state)
{
    (void)state;
    uint32_t ones[4 * 12];
    for (unsigned i = 0; i < 4 * 12; i++)
        ones[i] = 0x1111u * (i + 1);
    assert_int_equal(snn_sdt_mem_load(rtl, SNN_SDT_DMEM, 100, ones, 4 * 12), 0);
    /* The host's input list 0 keeps its count at START; CLEAR's flag zeroes it. */
    uint32_t e5[5] = {1, 2, 3, 4, 5};
    events_load(0, 0, 10, e5, 5);
    struct prog p = {0};
    p_clear(&p, 101, 10, 0);
    p_end(&p);
    prog_load(&p);
    assert_int_equal(step(), SNN_SDT_STOP_DONE);
    uint32_t got[4 * 12];
    assert_int_equal(snn_sdt_mem_dump(rtl, SNN_SDT_DMEM, 100, got, 4 * 12), 0);
    for (unsigned i = 0; i < 4 * 12; i++) {
        bool cleared = i >= 4 && i < 44;
        assert_int_equal(got[i], cleared ? 0 : ones[i]);
    }
    uint64_t c[SNN_SDT_COUNTERS];
    assert_int_equal(snn_sdt_counters(rtl, c), 0);
    assert_int_equal(c[SNN_SDT_COUNTER_DMEM_WRITES], 10);
    assert_int_equal(c[SNN_SDT_COUNTER_PE_CYCLES], 0);
    assert_true(c[SNN_SDT_COUNTER_CYCLES] > 2 * 17 && c[SNN_SDT_COUNTER_CYCLES] < 2 * 17 + 20);
    uint32_t pc, cnt;
    assert_int_equal(snn_sdt_reg_read(rtl, SNN_SDT_ADDR_PC, &pc), 0);
    assert_int_equal(pc, 1);
    assert_int_equal(snn_sdt_list_count(rtl, 0, &cnt), 0);
    assert_int_equal(cnt, 0);
}

/*
 * One layer: CLEAR acc; CONV; NEURON; END, run for steps, checked against
 * the model after every step: the dense output, the state, the accumulator
 * (cleared or not), the events of list 15 (FIFO) and the counters.
 */
struct layer {
    struct geom g;
    struct nparams np;
    unsigned steps;
    unsigned density_pct;   /* of nonzero inputs */
    int8_t *w;
    int32_t *m, *b;
};

enum { A_ACC = 0, A_OUT = 512, A_STATE = 1024, A_RES = 2048, A_EVIN = 0, A_EVOUT = 2048 };

static void run_layer(const struct layer *ly)
{
    const struct geom *g = &ly->g;
    unsigned nin = g->cin * g->hin * g->win, nout = g->cout * g->hout * g->wout;
    int32_t *in = calloc(nin, sizeof *in), *res = calloc(nout, sizeof *res);
    int32_t *acc = calloc(nout, sizeof *acc), *v = calloc(nout, sizeof *v);
    int32_t *s = calloc(nout, sizeof *s), *out = calloc(nout, sizeof *out);
    int32_t *got = calloc(nout, sizeof *got);
    uint32_t *ev = calloc(nin + nout + 1, sizeof *ev), *evg = calloc(nout + 1, sizeof *evg);
    assert_true(in && res && acc && v && s && out && got && ev && evg);

    weights_store(0, g, ly->w);
    qmem_store(0, ly->m, ly->b, g->cout);
    unsigned nwords = groups(g->cout) * g->hout * g->wout;
    tensor_store(A_STATE, v, g->cout, g->hout, g->wout);
    if (ly->np.mode == 2)
        tensor_store(A_STATE + nwords, s, g->cout, g->hout, g->wout);
    /* Guard words just past every region the program writes. */
    const uint32_t guards[3] = {A_ACC + nwords, A_OUT + nwords,
                                A_STATE + (ly->np.mode == 2 ? 2 : 1) * nwords};
    for (unsigned i = 0; i < 3; i++)
        for (unsigned l = 0; l < L; l++)
            assert_int_equal(snn_sdt_mem_write(rtl, SNN_SDT_DMEM, guards[i], l, 0xDEAD0000u + l), 0);
    struct prog p = {0};
    p_clear(&p, A_ACC, nwords, -1);
    p_conv(&p, g, 0, A_ACC, 0);
    p_neuron(&p, g->cout, g->hout, g->wout, &ly->np, 15, A_RES, A_OUT, A_ACC, A_STATE, 0);
    p_end(&p);
    prog_load(&p);
    assert_int_equal(snn_sdt_list_set(rtl, 15, A_EVOUT, nout, 0), 0);

    for (unsigned t = 0; t < ly->steps; t++) {
        for (unsigned i = 0; i < nin; i++)
            in[i] = (rnd() % 100 < ly->density_pct) ? (g->counts ? rnd_range(1, 255) : 1) : 0;
        for (unsigned i = 0; i < nout; i++)
            res[i] = rnd_range(-300000, 300000);
        size_t nev = events_of(in, g->cin, g->hin, g->win, ev);
        events_load(0, A_EVIN, (uint32_t)nin, ev, nev);
        if (ly->np.res)
            tensor_store(A_RES, res, g->cout, g->hout, g->wout);
        assert_int_equal(snn_sdt_counters_reset(rtl), 0);
        assert_int_equal(step(), SNN_SDT_STOP_DONE);

        memset(acc, 0, nout * sizeof *acc);
        conv_ref(g, in, ly->w, acc);
        for (unsigned i = 0; i < nout; i++) {
            unsigned o = i / (g->hout * g->wout);
            out[i] = neuron_ref(&ly->np, acc[i], ly->m[o], ly->b[o], res[i], &v[i], &s[i]);
        }
        tensor_load(A_OUT, got, g->cout, g->hout, g->wout);
        for (unsigned i = 0; i < nout; i++)
            if (got[i] != out[i])
                fail_msg("step %u: out[%u] = %d, expected %d (acc %d)", t, i, got[i], out[i], acc[i]);
        if (ly->np.mode != 0) {
            tensor_load(A_STATE, got, g->cout, g->hout, g->wout);
            for (unsigned i = 0; i < nout; i++)
                if (got[i] != v[i])
                    fail_msg("step %u: V[%u] = %d, expected %d", t, i, got[i], v[i]);
        }
        if (ly->np.mode == 2) {
            tensor_load(A_STATE + nwords, got, g->cout, g->hout, g->wout);
            for (unsigned i = 0; i < nout; i++)
                assert_int_equal(got[i], s[i]);
        }
        tensor_load(A_ACC, got, g->cout, g->hout, g->wout);
        for (unsigned i = 0; i < nout; i++)
            assert_int_equal(got[i], ly->np.clr ? 0 : acc[i]);
        for (unsigned i = 0; i < 3; i++)
            for (unsigned l = 0; l < L; l++) {
                uint32_t gv;
                assert_int_equal(snn_sdt_mem_read(rtl, SNN_SDT_DMEM, guards[i], l, &gv), 0);
                assert_int_equal(gv, 0xDEAD0000u + l);
            }

        /* Events: the FIFO and list 15 in EVT, both in (y, x, c) order. */
        size_t nexp = ly->np.mode ? events_of(out, g->cout, g->hout, g->wout, ev) : 0;
        size_t ngot = fifo_take(evg, nout + 1);
        assert_int_equal(ngot, nexp);
        for (size_t i = 0; i < nexp; i++)
            assert_int_equal(evg[i], ev[i]);
        uint32_t cnt;
        assert_int_equal(snn_sdt_list_count(rtl, 15, &cnt), 0);
        assert_int_equal(cnt, nexp);
        if (nexp) {
            assert_int_equal(snn_sdt_mem_dump(rtl, SNN_SDT_EVT, A_EVOUT, evg, nexp), 0);
            for (size_t i = 0; i < nexp; i++)
                assert_int_equal(evg[i], ev[i]);
        }

        /* Counters: one accumulate per (set bit, valid tap, output channel). */
        uint64_t c[SNN_SDT_COUNTERS];
        assert_int_equal(snn_sdt_counters(rtl, c), 0);
        uint64_t adds = 0, words = 0;
        for (unsigned ci = 0; ci < g->cin; ci++)
            for (unsigned yi = 0; yi < g->hin; yi++)
                for (unsigned xi = 0; xi < g->win; xi++) {
                    int32_t val = in[(ci * g->hin + yi) * g->win + xi];
                    if (!val)
                        continue;
                    unsigned passes = g->counts ? (unsigned)__builtin_popcount((unsigned)val) : 1;
                    unsigned taps = 0;
                    for (unsigned ky = 0; ky < g->k; ky++)
                        for (unsigned kx = 0; kx < g->k; kx++) {
                            int ty = (int)yi + (int)g->p - (int)ky, tx = (int)xi + (int)g->p - (int)kx;
                            if (ty >= 0 && tx >= 0 && ty % (int)g->s == 0 && tx % (int)g->s == 0 &&
                                (unsigned)ty / g->s < g->hout && (unsigned)tx / g->s < g->wout)
                                taps++;
                        }
                    adds += (uint64_t)passes * taps * (g->dw ? 1 : g->cout);
                    words += (uint64_t)passes * taps * (g->dw ? 1 : groups(g->cout));
                }
        assert_int_equal(c[SNN_SDT_COUNTER_ACCUMULATES], adds);
        assert_int_equal(c[SNN_SDT_COUNTER_PE_LANES], adds);
        assert_int_equal(c[SNN_SDT_COUNTER_PE_CYCLES], words);
        assert_int_equal(c[SNN_SDT_COUNTER_WMEM_READS], words);
        assert_int_equal(c[SNN_SDT_COUNTER_EVENTS_IN], nev);
        assert_int_equal(c[SNN_SDT_COUNTER_MULTIPLIES], nout);
        assert_int_equal(c[SNN_SDT_COUNTER_NEURON_LANES], nout);
        assert_int_equal(c[SNN_SDT_COUNTER_SPIKES_OUT], nexp);
        assert_int_equal(c[SNN_SDT_COUNTER_QMEM_READS], nwords);
    }
    free(in); free(res); free(acc); free(v); free(s); free(out); free(got); free(ev); free(evg);
}

static void layer_init(struct layer *ly)
{
    const struct geom *g = &ly->g;
    unsigned taps = g->k * g->k;
    size_t nw = (size_t)g->cout * (g->dw ? 1 : g->cin) * taps;
    ly->w = malloc(nw);
    ly->m = malloc(g->cout * sizeof *ly->m);
    ly->b = malloc(g->cout * sizeof *ly->b);
    assert_true(ly->w && ly->m && ly->b);
    int lim = g->int4 ? 7 : 127;
    for (size_t i = 0; i < nw; i++)
        ly->w[i] = (int8_t)rnd_range(-lim, lim);
    for (unsigned o = 0; o < g->cout; o++) {
        ly->m[o] = rnd_range(-(1 << 23), (1 << 23) - 1) | (rnd() & 1 ? 0 : 1 << 23);
        if (rnd() & 1)
            ly->m[o] = -ly->m[o];
        ly->b[o] = rnd_range(-200000, 200000);
    }
}

static void layer_free(struct layer *ly)
{
    free(ly->w);
    free(ly->m);
    free(ly->b);
}

/* The hand-picked layers: every feature once, with sizes spanning groups. */
static void test_layers(void **state)
{
    (void)state;
    static const struct {
        struct geom g;
        struct nparams np;
        unsigned density;
    } cases[] = {
        /* spikes, int8, dense 3x3, stride 1, pad 1, LIF */
        {{6, 7, 5, 5, 5, 5, 3, 1, 1, false, false, false}, {1, 16, 1, 0, 65536, false, true}, 40},
        /* stride 2, I-LIF */
        {{3, 5, 7, 6, 4, 3, 3, 2, 1, false, false, false}, {2, 14, 2, 4, 0, false, true}, 50},
        /* depthwise 3x3, store q16 */
        {{9, 9, 4, 4, 4, 4, 3, 1, 1, true, false, false}, {0, 10, 0, 0, 0, false, true}, 60},
        /* int4, odd output groups (G_out = 3) */
        {{5, 9, 4, 5, 4, 5, 3, 1, 1, false, true, false}, {1, 12, 2, 0, 30000, false, true}, 50},
        /* counts, bit-serial, 1x1 (linear on tokens), residual */
        {{8, 4, 6, 1, 6, 1, 1, 1, 0, false, false, true}, {1, 20, 1, 0, 65536, true, true}, 70},
        /* 5x5 without padding, stride 2, acc kept */
        {{2, 3, 9, 8, 3, 2, 5, 2, 0, false, false, false}, {0, 0, 0, 0, 0, false, false}, 50},
        /* counts, int4, I-LIF with residual and D = 15 */
        {{4, 6, 3, 3, 3, 3, 3, 1, 1, false, true, true}, {2, 18, 1, 15, 0, true, true}, 60},
        /* fully connected: [F, 1, 1], 1x1, shift 0 */
        {{13, 6, 1, 1, 1, 1, 1, 1, 0, false, false, false}, {1, 0, 3, 0, 100000000, false, true}, 60},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct layer ly = {.g = cases[i].g, .np = cases[i].np, .steps = 3,
                           .density_pct = cases[i].density};
        assert_int_equal(out_size(ly.g.hin, ly.g.k, ly.g.s, ly.g.p), ly.g.hout);
        assert_int_equal(out_size(ly.g.win, ly.g.k, ly.g.s, ly.g.p), ly.g.wout);
        layer_init(&ly);
        if (i == 7)
            for (unsigned o = 0; o < ly.g.cout; o++)
                ly.m[o] = 1 << 16;   /* acc in units of 1.0 */
        run_layer(&ly);
        layer_free(&ly);
    }
}

static void test_random_layers(void **state)
{
    (void)state;
    for (unsigned iter = 0; iter < 200; iter++) {
        struct layer ly = {0};
        struct geom *g = &ly.g;
        g->k = 1 + 2 * (rnd() % 3);
        g->s = 1 + rnd() % 2;
        g->p = (rnd() & 1) ? (g->k - 1) / 2 : rnd() % g->k;
        g->hin = 1 + rnd() % 7;
        g->win = 1 + rnd() % 7;
        if (g->hin + 2 * g->p < g->k)
            g->hin = g->k;
        if (g->win + 2 * g->p < g->k)
            g->win = g->k;
        g->hout = out_size(g->hin, g->k, g->s, g->p);
        g->wout = out_size(g->win, g->k, g->s, g->p);
        g->cin = 1 + rnd() % 10;
        g->dw = rnd() % 4 == 0;
        g->cout = g->dw ? g->cin : 1 + rnd() % 10;
        g->int4 = !g->dw && rnd() % 3 == 0;
        g->counts = rnd() % 3 == 0;
        ly.np.mode = rnd() % 3;
        ly.np.sh = rnd() % 40;
        ly.np.k = 1 + rnd() % 4;
        ly.np.dmax = 1 + rnd() % 15;
        ly.np.theta = rnd_range(0, 200000);
        ly.np.res = rnd() & 1;
        ly.np.clr = rnd() % 4 != 0;
        ly.steps = 1 + rnd() % 3;
        ly.density_pct = rnd() % 101;
        layer_init(&ly);
        run_layer(&ly);
        layer_free(&ly);
    }
}

/* NEURON on chosen accumulators: I-LIF's ties (round half to even), its
 * clamp at 0 and D, LIF's H == theta, saturation, two steps of state. */
static void test_neuron_edges(void **state)
{
    (void)state;
    static const int32_t accs[16] = {
        0x8000, 0x18000, 0x28000, 0x38000, -0x8000, 0x7FFF, 0x8001, 0x17FFF,
        -0x18000, 0x7FFFFFFF, INT32_MIN, 0x10000, 0x48000, 0x58000, 0xF8000, 0,
    };
    /* I-LIF with k = 1, D = 15, V = S = 0: H = acc, S = round_half_even(acc / 2^16). */
    static const int32_t ilif_first[16] = {0, 2, 2, 4, 0, 0, 1, 1, 0, 15, 0, 1, 4, 6, 15, 0};
    for (unsigned mode = 1; mode <= 2; mode++) {
        struct nparams np = {mode, 0, 1, 15, 0x10000, false, false};
        int32_t m[4] = {1, 1, 1, 1}, b[4] = {0}, zero[32] = {0}, got[16];
        int32_t v[16] = {0}, s[16] = {0}, exp[16];
        qmem_store(0, m, b, 4);
        tensor_store(0, accs, 4, 2, 2);
        tensor_store(128, zero, 4, 2, 2);
        tensor_store(132, zero, 4, 2, 2);
        struct prog p = {0};
        p_neuron(&p, 4, 2, 2, &np, 15, 0, 64, 0, 128, 0);
        p_end(&p);
        prog_load(&p);
        assert_int_equal(snn_sdt_list_set(rtl, 15, 100, 16, 0), 0);
        for (unsigned t = 0; t < 2; t++) {
            assert_int_equal(step(), SNN_SDT_STOP_DONE);
            for (unsigned i = 0; i < 16; i++)
                exp[i] = neuron_ref(&np, accs[i], 1, 0, 0, &v[i], &s[i]);
            if (mode == 2 && t == 0)
                for (unsigned i = 0; i < 16; i++)
                    assert_int_equal(exp[i], ilif_first[i]);   /* the model itself */
            tensor_load(64, got, 4, 2, 2);
            for (unsigned i = 0; i < 16; i++)
                if (got[i] != exp[i])
                    fail_msg("mode %u step %u: out[%u] = %d, expected %d", mode, t, i, got[i], exp[i]);
            tensor_load(128, got, 4, 2, 2);
            for (unsigned i = 0; i < 16; i++)
                assert_int_equal(got[i], v[i]);
            uint32_t evs[32];
            (void)fifo_take(evs, 32);
        }
    }
}

/* A zero-spike input costs the op's fixed overhead and nothing that grows
 * with the layer; each event then adds its work. */
static void test_zero_spikes(void **state)
{
    (void)state;
    uint64_t base_cycles = 0;
    static const struct geom gs[] = {
        {4, 4, 4, 4, 4, 4, 3, 1, 1, false, false, false},
        {16, 16, 16, 16, 16, 16, 3, 1, 1, false, false, false},
    };
    uint64_t cyc[2];
    struct prog p0 = {0};
    p_end(&p0);
    prog_load(&p0);
    events_load(0, 0, 100, NULL, 0);
    assert_int_equal(snn_sdt_counters_reset(rtl), 0);
    assert_int_equal(step(), SNN_SDT_STOP_DONE);
    uint64_t c[SNN_SDT_COUNTERS];
    assert_int_equal(snn_sdt_counters(rtl, c), 0);
    base_cycles = c[SNN_SDT_COUNTER_CYCLES];
    for (unsigned i = 0; i < 2; i++) {
        struct prog p = {0};
        p_conv(&p, &gs[i], 0, 0, 0);
        p_end(&p);
        prog_load(&p);
        events_load(0, 0, 100, NULL, 0);
        assert_int_equal(snn_sdt_counters_reset(rtl), 0);
        assert_int_equal(step(), SNN_SDT_STOP_DONE);
        assert_int_equal(snn_sdt_counters(rtl, c), 0);
        cyc[i] = c[SNN_SDT_COUNTER_CYCLES];
        assert_int_equal(c[SNN_SDT_COUNTER_PE_CYCLES], 0);
        assert_int_equal(c[SNN_SDT_COUNTER_DMEM_READS], 0);
        assert_int_equal(c[SNN_SDT_COUNTER_EVT_READS], 0);
    }
    assert_int_equal(cyc[0], cyc[1]);
    /* fetch (17) + check + the empty walk + the next fetch's setup */
    assert_true(cyc[0] - base_cycles <= 21);
    print_message("zero-spike CONV overhead: %llu cycles\n",
                  (unsigned long long)(cyc[0] - base_cycles));

    /* One event in the middle of a 3x3 layer of 16 outputs: 9 taps x 4
     * groups, one a cycle, plus a cycle to decode the event. */
    uint32_t e = event_word(5, 5, 2, 1);
    struct prog p = {0};
    p_conv(&p, &gs[1], 0, 0, 0);
    p_end(&p);
    prog_load(&p);
    events_load(0, 0, 100, &e, 1);
    assert_int_equal(snn_sdt_counters_reset(rtl), 0);
    assert_int_equal(step(), SNN_SDT_STOP_DONE);
    assert_int_equal(snn_sdt_counters(rtl, c), 0);
    assert_int_equal(c[SNN_SDT_COUNTER_PE_CYCLES], 36);
    assert_int_equal(c[SNN_SDT_COUNTER_PE_LANES], 36 * 4);
    assert_int_equal(c[SNN_SDT_COUNTER_CYCLES], cyc[1] + 36 + 1);
}

/* Lane utilisation of a dense layer whose C_out fills the groups. */
static void test_utilisation(void **state)
{
    (void)state;
    struct layer ly = {.g = {16, 16, 8, 8, 8, 8, 3, 1, 1, false, false, false},
                       .np = {1, 16, 1, 0, 65536, false, true}, .steps = 1, .density_pct = 30};
    layer_init(&ly);
    run_layer(&ly);
    uint64_t c[SNN_SDT_COUNTERS];
    assert_int_equal(snn_sdt_counters(rtl, c), 0);
    double util = (double)c[SNN_SDT_COUNTER_PE_LANES] / ((double)L * (double)c[SNN_SDT_COUNTER_PE_CYCLES]);
    print_message("dense 16 -> 16 3x3: lane utilisation %.3f, %llu PE cycles of %llu\n", util,
                  (unsigned long long)c[SNN_SDT_COUNTER_PE_CYCLES],
                  (unsigned long long)c[SNN_SDT_COUNTER_CYCLES]);
    assert_true(util >= 0.8);
    layer_free(&ly);
}

static void test_add(void **state)
{
    (void)state;
    unsigned c_n = 6, h = 3, w = 2, n = c_n * h * w;
    int32_t a[36], b[36], got[36];
    for (unsigned i = 0; i < n; i++) {
        a[i] = rnd_range(-100000, 100000);
        b[i] = rnd_range(-100000, 100000);
    }
    a[0] = INT32_MAX - 5; b[0] = 100;            /* saturates up */
    a[1] = INT32_MIN + 5; b[1] = -100;           /* saturates down */
    tensor_store(100, a, c_n, h, w);
    tensor_store(200, b, c_n, h, w);
    struct prog p = {0};
    uint32_t *d = desc(&p, OP_ADD);
    d[1] = c_n << 16;
    d[2] = h << 16 | w << 24;
    d[5] = 100;
    d[6] = 200;
    d[7] = 300;
    p_end(&p);
    prog_load(&p);
    assert_int_equal(step(), SNN_SDT_STOP_DONE);
    tensor_load(300, got, c_n, h, w);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(got[i], sat32((int64_t)a[i] + b[i]));
}

static void test_maxpool(void **state)
{
    (void)state;
    for (unsigned spikes = 0; spikes < 2; spikes++) {
        struct geom g = {5, 5, 7, 6, 0, 0, 3, 2, 1, false, false, !spikes};
        g.hout = out_size(g.hin, 3, 2, 1);
        g.wout = out_size(g.win, 3, 2, 1);
        unsigned nin = g.cin * g.hin * g.win, nout = g.cout * g.hout * g.wout;
        int32_t in[5 * 7 * 6], got[5 * 4 * 3], exp[5 * 4 * 3];
        for (unsigned i = 0; i < nin; i++)
            in[i] = spikes ? (rnd() % 3 == 0) : rnd_range(-1000000, 1000000);
        for (unsigned o = 0; o < g.cout; o++)
            for (unsigned y = 0; y < g.hout; y++)
                for (unsigned x = 0; x < g.wout; x++) {
                    int64_t m = INT64_MIN;
                    for (unsigned ky = 0; ky < 3; ky++)
                        for (unsigned kx = 0; kx < 3; kx++) {
                            int iy = (int)(2 * y + ky) - 1, ix = (int)(2 * x + kx) - 1;
                            if (iy < 0 || ix < 0 || iy >= (int)g.hin || ix >= (int)g.win)
                                continue;
                            int32_t v = in[(o * g.hin + (unsigned)iy) * g.win + (unsigned)ix];
                            if (v > m)
                                m = v;
                        }
                    exp[(o * g.hout + y) * g.wout + x] = (int32_t)m;
                }
        tensor_store(100, in, g.cin, g.hin, g.win);
        struct prog p = {0};
        uint32_t *d = desc(&p, OP_MAXPOOL);
        shape(d, &g);
        d[4] = 15 << 4;
        d[5] = 100;
        d[7] = 1000;
        p_end(&p);
        prog_load(&p);
        assert_int_equal(snn_sdt_list_set(rtl, 15, 2048, nout, 0), 0);
        assert_int_equal(step(), SNN_SDT_STOP_DONE);
        tensor_load(1000, got, g.cout, g.hout, g.wout);
        for (unsigned i = 0; i < nout; i++)
            assert_int_equal(got[i], exp[i]);
        uint32_t ev[64], evg[64];
        size_t nexp = spikes ? events_of(exp, g.cout, g.hout, g.wout, ev) : 0;
        size_t ngot = fifo_take(evg, 64);
        assert_int_equal(ngot, nexp);
        for (size_t i = 0; i < nexp; i++)
            assert_int_equal(evg[i], ev[i]);
    }
}

static void test_sumpool(void **state)
{
    (void)state;
    unsigned c_n = 7, h = 4, w = 3;
    int32_t in[7 * 4 * 3];
    int64_t sum[7] = {0};
    for (unsigned i = 0; i < c_n * h * w; i++) {
        in[i] = (rnd() % 2) ? rnd_range(1, 255) : 0;
        sum[i / (h * w)] += in[i];
    }
    uint32_t ev[7 * 4 * 3];
    size_t n = events_of(in, c_n, h, w, ev);
    events_load(0, 300, 200, ev, n);   /* START keeps only list 0's count */
    int32_t zero[7] = {0}, got[7];
    tensor_store(40, zero, c_n, 1, 1);
    struct prog p = {0};
    uint32_t *d = desc(&p, OP_SUMPOOL);
    d[1] = c_n;
    d[8] = 40;
    p_end(&p);
    prog_load(&p);
    assert_int_equal(snn_sdt_counters_reset(rtl), 0);
    assert_int_equal(step(), SNN_SDT_STOP_DONE);
    tensor_load(40, got, c_n, 1, 1);
    for (unsigned c = 0; c < c_n; c++)
        assert_int_equal(got[c], sum[c]);
    uint64_t cn[SNN_SDT_COUNTERS];
    assert_int_equal(snn_sdt_counters(rtl, cn), 0);
    assert_int_equal(cn[SNN_SDT_COUNTER_EVENTS_IN], n);
    assert_int_equal(cn[SNN_SDT_COUNTER_PE_CYCLES], n);
}

/* SDSA v2's linear form: KV from K's events and V (step 1), then QKV from
 * Q's events (step 2), which also zeroes KV; against the sums of
 * docs/numerics.md. */
static void p_kv(struct prog *p, unsigned op, unsigned c_n, unsigned n_tok, unsigned heads,
                 uint32_t tok, uint32_t kv)
{
    uint32_t *d = desc(p, op);
    d[1] = c_n;
    d[2] = n_tok | 1u << 8;
    d[op == OP_KV ? 6 : 7] = tok;
    d[8] = kv;
    d[12] = heads << 20;
}

static void test_kv_qkv(void **state)
{
    (void)state;
    static const unsigned shapes[][3] = {{8, 5, 2}, {16, 7, 2}, {12, 4, 1}, {16, 3, 4}};
    for (unsigned si = 0; si < 4; si++) {
        unsigned c_n = shapes[si][0], n_tok = shapes[si][1], heads = shapes[si][2];
        unsigned d = c_n / heads, dw = d / L, nel = c_n * n_tok;
        int32_t k[16 * 7], v[16 * 7], q[16 * 7], acc[16 * 7], got[16 * 7];
        int32_t kvm[16][16] = {{0}};
        for (unsigned i = 0; i < nel; i++) {
            k[i] = rnd() % 2;
            v[i] = rnd() % 2;
            q[i] = rnd() % 3 == 0;
            acc[i] = rnd_range(-1000, 1000);
        }
        for (unsigned g = 0; g < heads; g++)
            for (unsigned i = 0; i < d; i++)
                for (unsigned j = 0; j < d; j++)
                    for (unsigned t = 0; t < n_tok; t++)
                        kvm[g * d + i][j] += k[(g * d + i) * n_tok + t] & v[(g * d + j) * n_tok + t];
        enum { V_AT = 100, ACC_AT = 300, KV_AT = 600 };
        tensor_store(V_AT, v, c_n, n_tok, 1);
        tensor_store(ACC_AT, acc, c_n, n_tok, 1);
        uint32_t ev[16 * 7];
        size_t nk = events_of(k, c_n, n_tok, 1, ev);
        events_load(0, 0, nel, ev, nk);
        struct prog p = {0};
        p_clear(&p, KV_AT, c_n * dw, -1);
        p_kv(&p, OP_KV, c_n, n_tok, heads, V_AT, KV_AT);
        p_end(&p);
        prog_load(&p);
        assert_int_equal(snn_sdt_counters_reset(rtl), 0);
        assert_int_equal(step(), SNN_SDT_STOP_DONE);
        uint64_t cn[SNN_SDT_COUNTERS];
        assert_int_equal(snn_sdt_counters(rtl, cn), 0);
        assert_int_equal(cn[SNN_SDT_COUNTER_EVENTS_IN], nk);
        assert_int_equal(cn[SNN_SDT_COUNTER_PE_CYCLES], nk * dw);
        uint32_t rows[16 * 16];
        assert_int_equal(snn_sdt_mem_dump(rtl, SNN_SDT_DMEM, KV_AT, rows, (size_t)c_n * dw * L), 0);
        for (unsigned i = 0; i < c_n; i++)
            for (unsigned j = 0; j < d; j++)
                assert_int_equal(rows[(i * dw + j / L) * L + j % L], kvm[i][j]);

        size_t nq = events_of(q, c_n, n_tok, 1, ev);
        events_load(0, 0, nel, ev, nq);
        memset(&p, 0, sizeof p);
        p_kv(&p, OP_QKV, c_n, n_tok, heads, ACC_AT, KV_AT);
        p_end(&p);
        prog_load(&p);
        assert_int_equal(step(), SNN_SDT_STOP_DONE);
        for (unsigned g = 0; g < heads; g++)
            for (unsigned j = 0; j < d; j++)
                for (unsigned t = 0; t < n_tok; t++)
                    for (unsigned i = 0; i < d; i++)
                        acc[(g * d + j) * n_tok + t] += q[(g * d + i) * n_tok + t] * kvm[g * d + i][j];
        tensor_load(ACC_AT, got, c_n, n_tok, 1);
        for (unsigned i = 0; i < nel; i++)
            assert_int_equal(got[i], acc[i]);
        assert_int_equal(snn_sdt_mem_dump(rtl, SNN_SDT_DMEM, KV_AT, rows, (size_t)c_n * dw * L), 0);
        for (unsigned i = 0; i < c_n * dw * L; i++)
            assert_int_equal(rows[i], 0);
    }
    /* A head that does not start on a word (d = 6, L = 4) is refused; so is
     * a token event with a column. */
    struct prog p = {0};
    p_kv(&p, OP_KV, 12, 4, 2, 100, 600);
    p_end(&p);
    prog_load(&p);
    events_load(0, 0, 10, NULL, 0);
    expect_error(2, 0);
    uint32_t bad = event_word(1, 1, 0, 1);
    memset(&p, 0, sizeof p);
    p_kv(&p, OP_KV, 8, 4, 2, 100, 600);
    p_end(&p);
    prog_load(&p);
    events_load(0, 0, 10, &bad, 1);
    expect_error(6, 0);
}

/* SDSA v1 over two steps (the attention LIF's state carried): out, its
 * events, the state, and the scratch left zero. */
static void test_sdsa1(void **state)
{
    (void)state;
    enum { C = 6, N = 5, K_AT = 100, V_AT = 200, OUT_AT = 300, Q_AT = 400, ST_AT = 500, SC_AT = 600 };
    int32_t k[C * N], v[C * N], q[C * N], out[C * N], got[C * N], zero[C] = {0};
    int32_t vst[C] = {0};
    tensor_store(ST_AT, zero, C, 1, 1);
    tensor_store(SC_AT, zero, C, 1, 1);
    struct prog p = {0};
    uint32_t *d = desc(&p, OP_SDSA1);
    d[1] = C | C << 16;
    d[2] = N | 1u << 8 | N << 16 | 1u << 24;
    d[4] = 15 << 4;
    d[5] = K_AT;
    d[6] = V_AT;
    d[7] = OUT_AT;
    d[8] = Q_AT;
    d[9] = ST_AT;
    d[12] = 1 << 8;
    d[13] = 0x14000;   /* 1.25: some channels integrate over steps */
    d[15] = SC_AT;
    p_end(&p);
    prog_load(&p);
    for (unsigned t = 0; t < 3; t++) {
        for (unsigned i = 0; i < C * N; i++) {
            k[i] = rnd() % 3 != 0;
            v[i] = rnd() % 2;
            q[i] = rnd() % 2;
        }
        tensor_store(K_AT, k, C, N, 1);
        tensor_store(V_AT, v, C, N, 1);
        tensor_store(Q_AT, q, C, N, 1);
        assert_int_equal(snn_sdt_list_set(rtl, 15, 1000, C * N, 0), 0);
        assert_int_equal(step(), SNN_SDT_STOP_DONE);
        struct nparams np = {1, 0, 1, 0, 0x14000, false, false};
        int32_t a[C], s_unused = 0;
        for (unsigned c = 0; c < C; c++) {
            int32_t n = 0;
            for (unsigned i = 0; i < N; i++)
                n += k[c * N + i] & v[c * N + i];
            a[c] = neuron_ref(&np, n, 65536, 0, 0, &vst[c], &s_unused);
        }
        for (unsigned c = 0; c < C; c++)
            for (unsigned i = 0; i < N; i++)
                out[c * N + i] = q[c * N + i] & a[c];
        tensor_load(OUT_AT, got, C, N, 1);
        for (unsigned i = 0; i < C * N; i++)
            assert_int_equal(got[i], out[i]);
        tensor_load(ST_AT, got, C, 1, 1);
        for (unsigned c = 0; c < C; c++)
            assert_int_equal(got[c], vst[c]);
        tensor_load(SC_AT, got, C, 1, 1);
        for (unsigned c = 0; c < C; c++)
            assert_int_equal(got[c], 0);
        uint32_t ev[C * N], evg[C * N + 1];
        size_t nexp = events_of(out, C, N, 1, ev);
        assert_int_equal(fifo_take(evg, C * N + 1), nexp);
        for (size_t i = 0; i < nexp; i++)
            assert_int_equal(evg[i], ev[i]);
    }
}

/* Illegal programs stop with the right code and PC, never hang. */
static void test_errors(void **state)
{
    (void)state;
    struct geom g = {4, 4, 4, 4, 4, 4, 3, 1, 1, false, false, false};
    struct nparams np = {1, 16, 1, 0, 65536, false, true};


    /* 1: an unknown opcode, after a good descriptor */
    struct prog p = {0};
    p_clear(&p, 0, 1, -1);
    desc(&p, 0x0E);
    p_end(&p);
    prog_load(&p);
    expect_error(1, 1);

    /* 2: shapes: an even k; a wrong output size; a depthwise C_out != C_in;
     * a bad neuron mode; sh > 62 */
    for (unsigned i = 0; i < 5; i++) {
        memset(&p, 0, sizeof p);
        struct geom gg = g;
        struct nparams nn = np;
        if (i == 0)
            gg.k = 2;
        if (i == 1)
            gg.hout = 3;
        if (i == 2) {
            gg.dw = true;
            gg.cout = 5;
        }
        if (i == 3)
            nn.mode = 3;
        if (i == 4)
            nn.sh = 63;
        if (i < 3)
            p_conv(&p, &gg, 0, 0, 0);
        else
            p_neuron(&p, 4, 4, 4, &nn, 15, 0, 64, 0, 128, 0);
        p_end(&p);
        prog_load(&p);
        events_load(0, 0, 10, NULL, 0);
        assert_int_equal(snn_sdt_list_set(rtl, 15, 100, 100, 0), 0);
        expect_error(2, 0);
    }

    /* 3: regions outside their memories: acc, weights, out, the list */
    for (unsigned i = 0; i < 4; i++) {
        memset(&p, 0, sizeof p);
        p_clear(&p, 0, 0, -1);
        if (i == 0)
            p_conv(&p, &g, 0, 4096 - 15, 0);                  /* 16 words needed */
        else if (i == 1)
            p_conv(&p, &g, 0, 0, 4096 - 35);                  /* 4 * 9 words */
        else if (i == 2)
            p_neuron(&p, 4, 4, 4, &np, 15, 0, 0xFFFFFFF8u, 0, 128, 0);
        else
            p_clear(&p, 4000, 97, -1);
        p_end(&p);
        prog_load(&p);
        events_load(0, 0, 10, NULL, 0);
        assert_int_equal(snn_sdt_list_set(rtl, 15, 100, 100, 0), 0);
        expect_error(3, 1);
    }
    memset(&p, 0, sizeof p);
    p_conv(&p, &g, 0, 0, 0);
    p_end(&p);
    prog_load(&p);
    events_load(0, 4000, 100, NULL, 0);                        /* list past EVT */
    expect_error(3, 0);

    /* 4: the output list overflows (capacity 2, more spikes); an input
     * list whose count exceeds its capacity */
    int32_t big[16];
    for (unsigned i = 0; i < 16; i++)
        big[i] = 1 << 20;
    tensor_store(0, big, 4, 2, 2);
    int32_t m1[4] = {1, 1, 1, 1}, b0[4] = {0};
    qmem_store(0, m1, b0, 4);
    int32_t zero[16] = {0};
    tensor_store(128, zero, 4, 2, 2);
    memset(&p, 0, sizeof p);
    p_neuron(&p, 4, 2, 2, &(struct nparams){1, 0, 1, 0, 65536, false, false}, 15, 0, 64, 0, 128, 0);
    p_end(&p);
    prog_load(&p);
    assert_int_equal(snn_sdt_list_set(rtl, 15, 100, 2, 0), 0);
    expect_error(4, 0);
    uint32_t cnt;
    assert_int_equal(snn_sdt_list_count(rtl, 15, &cnt), 0);
    assert_int_equal(cnt, 2);
    uint32_t evs[8];
    assert_int_equal(fifo_take(evs, 8), 2);
    memset(&p, 0, sizeof p);
    p_conv(&p, &g, 0, 0, 0);
    p_end(&p);
    prog_load(&p);
    assert_int_equal(snn_sdt_list_set(rtl, 0, 0, 3, 4), 0);
    expect_error(4, 0);

    /* 5: no END: the PC runs past the last descriptor of PMEM */
    memset(&p, 0, sizeof p);
    for (unsigned i = 0; i < 64; i++)
        p_clear(&p, 0, 1, -1);
    prog_load(&p);
    expect_error(5, 64);

    /* 6: an event whose channel (or row) is outside the layer; nothing
     * after it is accumulated */
    uint32_t ev[3] = {event_word(0, 0, 1, 1), event_word(1, 1, 4, 1), event_word(4, 0, 0, 1)};
    for (unsigned i = 1; i < 3; i++) {
        memset(&p, 0, sizeof p);
        p_clear(&p, 0, 16, -1);
        p_conv(&p, &g, 0, 0, 0);
        p_end(&p);
        prog_load(&p);
        uint32_t two[2] = {ev[0], ev[i]};
        events_load(0, 0, 10, two, 2);
        expect_error(6, 1);
    }

    /* The machine runs again after an error. */
    memset(&p, 0, sizeof p);
    p_end(&p);
    prog_load(&p);
    assert_int_equal(step(), SNN_SDT_STOP_DONE);
    uint32_t status;
    assert_int_equal(snn_sdt_reg_read(rtl, SNN_SDT_ADDR_STATUS, &status), 0);
    assert_int_equal(status & 7, 2);
}

/* With nobody draining it, the full FIFO holds the machine (BUSY, FIFO
 * full) and loses nothing; draining lets the step finish, events in order. */
static void test_fifo_stall(void **state)
{
    (void)state;
    int32_t big[64], zero[64] = {0}, m1[4] = {1, 1, 1, 1}, b0[4] = {0};
    for (unsigned i = 0; i < 64; i++)
        big[i] = (1 << 20) + (int32_t)i;
    tensor_store(0, big, 4, 4, 4);
    tensor_store(128, zero, 4, 4, 4);
    qmem_store(0, m1, b0, 4);
    struct prog p = {0};
    p_neuron(&p, 4, 4, 4, &(struct nparams){1, 0, 1, 0, 65536, false, false}, 15, 0, 64, 0, 128, 0);
    p_end(&p);
    prog_load(&p);
    assert_int_equal(snn_sdt_list_set(rtl, 15, 100, 64, 0), 0);
    assert_int_equal(snn_sdt_reg_write(rtl, SNN_SDT_ADDR_CTRL, 1), 0);
    uint32_t st = 0, fc = 0;
    for (unsigned i = 0; i < 2000; i++)
        assert_int_equal(snn_sdt_reg_read(rtl, SNN_SDT_ADDR_STATUS, &st), 0);
    assert_int_equal(st & 0x1F, 0x19);                      /* BUSY, events, full */
    assert_int_equal(snn_sdt_reg_read(rtl, SNN_SDT_ADDR_FIFO_COUNT, &fc), 0);
    assert_int_equal(fc, 16);
    unsigned got = 0;
    for (unsigned i = 0; i < 10000 && ((st & 1) || (st & 8)); i++) {
        if (st & 8) {
            uint32_t e;
            assert_int_equal(snn_sdt_reg_read(rtl, SNN_SDT_ADDR_FIFO_DATA, &e), 0);
            unsigned y = got / 16, x = (got / 4) % 4, c = got % 4;
            assert_int_equal(e, event_word(y, x, c, 1));
            got++;
        }
        assert_int_equal(snn_sdt_reg_read(rtl, SNN_SDT_ADDR_STATUS, &st), 0);
    }
    assert_int_equal(got, 64);
    assert_int_equal(st & 7, 2);
}

/* A cycle limit stops the harness, not the machine; run resumes the step. */
static void test_cycle_limit(void **state)
{
    (void)state;
    struct prog p = {0};
    p_clear(&p, 0, 1000, -1);
    p_end(&p);
    prog_load(&p);
    enum snn_sdt_stop stop;
    assert_int_equal(snn_sdt_run(rtl, 100, &stop), 0);
    assert_int_equal(stop, SNN_SDT_STOP_LIMIT);
    uint32_t v;
    assert_int_equal(snn_sdt_mem_read(rtl, SNN_SDT_DMEM, 0, 0, &v), SNN_EINVAL);   /* busy */
    assert_int_equal(snn_sdt_run(rtl, MAX_CYCLES, &stop), 0);
    assert_int_equal(stop, SNN_SDT_STOP_DONE);
}

/* Allocation failures: open gives SNN_ENOMEM and nothing; a bad trace path
 * gives SNN_EIO. */
static void test_open_failures(void **state)
{
    (void)state;
    struct snn_sdt_rtl *h = (struct snn_sdt_rtl *)1;
    snn_alloc_fail_after(0);
    assert_int_equal(snn_sdt_open(NULL, &h), SNN_ENOMEM);
    snn_alloc_fail_after(-1);
    assert_null(h);
    struct snn_sdt_rtl_options o = {.trace_path = "/nonexistent-dir/x.fst"};
    assert_int_equal(snn_sdt_open(&o, &h), SNN_EIO);
    assert_null(h);
    assert_int_equal(snn_sdt_open(NULL, NULL), SNN_EINVAL);
}

/* One small traced step (tests/rtl/trace.sh checks the VCD). */
static int trace_only(const char *path)
{
    struct snn_sdt_rtl_options o = {.trace_path = path};
    if (snn_sdt_open(&o, &rtl) != 0)
        return 1;
    struct snn_sdt_rtl_config cfg;
    snn_sdt_config(rtl, &cfg);
    L = cfg.lanes;
    uint32_t e[2] = {event_word(0, 0, 0, 1), event_word(1, 1, 1, 1)};
    uint32_t w[4 * 9];
    for (unsigned i = 0; i < 4 * 9; i++)
        w[i] = 0x01010101u;
    struct geom g = {2, 4, 2, 2, 2, 2, 3, 1, 1, false, false, false};
    struct prog p = {0};
    p_clear(&p, 0, 4, -1);
    p_conv(&p, &g, 0, 0, 0);
    p_end(&p);
    enum snn_sdt_stop stop = SNN_SDT_STOP_LIMIT;
    int err = snn_sdt_mem_load(rtl, SNN_SDT_WMEM, 0, w, 18);
    if (!err)
        err = snn_sdt_mem_load(rtl, SNN_SDT_PMEM, 0, &p.w[0][0], (size_t)p.n * 16);
    if (!err)
        err = snn_sdt_mem_load(rtl, SNN_SDT_EVT, 0, e, 2);
    if (!err)
        err = snn_sdt_list_set(rtl, 0, 0, 2, 2);
    if (!err)
        err = snn_sdt_run(rtl, 10000, &stop);
    snn_sdt_close(rtl);
    return err || stop != SNN_SDT_STOP_DONE;
}

int main(void)
{
    const char *trace = getenv("SNN_SDT_TRACE");
    if (trace)
        return trace_only(trace);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_identity, fresh),
        cmocka_unit_test_setup(test_memories, fresh),
        cmocka_unit_test_setup(test_clear_end, fresh),
        cmocka_unit_test_setup(test_layers, fresh),
        cmocka_unit_test_setup(test_random_layers, fresh),
        cmocka_unit_test_setup(test_neuron_edges, fresh),
        cmocka_unit_test_setup(test_zero_spikes, fresh),
        cmocka_unit_test_setup(test_utilisation, fresh),
        cmocka_unit_test_setup(test_add, fresh),
        cmocka_unit_test_setup(test_maxpool, fresh),
        cmocka_unit_test_setup(test_sumpool, fresh),
        cmocka_unit_test_setup(test_kv_qkv, fresh),
        cmocka_unit_test_setup(test_sdsa1, fresh),
        cmocka_unit_test_setup(test_errors, fresh),
        cmocka_unit_test_setup(test_cycle_limit, fresh),
        cmocka_unit_test_setup(test_fifo_stall, fresh),
        cmocka_unit_test(test_open_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * tests/unit/test_numerics.c: the fixed-point arithmetic of abi/fixed.h and
 * the neuron steps of abi/neuron.h against docs/numerics.md.
 *
 * The reference values here are computed independently of abi/: with
 * 128-bit integers straight from the formulas of the document, or by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "abi/fixed.h"
#include "abi/neuron.h"
#include "ir/quant.h"
#include "support/err.h"

/* docs/numerics.md's product, written from the text with __int128. */
static int32_t ref_mul(int32_t a, int32_t m, int s)
{
    __int128 p = (__int128)a * m;
    if (s > 0) {
        __int128 q = p + ((__int128)1 << (s - 1));
        /* floor division by 2^s */
        __int128 d = (__int128)1 << s;
        __int128 r = q / d;
        if ((q % d) != 0 && q < 0)
            r -= 1;
        p = r;
    }
    if (p > INT32_MAX)
        return INT32_MAX;
    if (p < INT32_MIN)
        return INT32_MIN;
    return (int32_t)p;
}

static void test_mul_rounds_half_up(void **state)
{
    (void)state;
    assert_int_equal(fx_mul(3, (struct fx_mult){1, 1}), 2);    /* 1.5 -> 2 */
    assert_int_equal(fx_mul(-3, (struct fx_mult){1, 1}), -1);  /* -1.5 -> -1 */
    assert_int_equal(fx_mul(5, (struct fx_mult){1, 2}), 1);    /* 1.25 -> 1 */
    assert_int_equal(fx_mul(-5, (struct fx_mult){1, 2}), -1);  /* -1.25 -> -1 */
    assert_int_equal(fx_mul(-7, (struct fx_mult){1, 2}), -2);  /* -1.75 -> -2 */
    assert_int_equal(fx_mul(7, (struct fx_mult){3, 0}), 21);
}

static void test_mul_saturates(void **state)
{
    (void)state;
    assert_int_equal(fx_mul(INT32_MAX, (struct fx_mult){INT32_MAX, 0}), INT32_MAX);
    assert_int_equal(fx_mul(INT32_MIN, (struct fx_mult){INT32_MAX, 0}), INT32_MIN);
    assert_int_equal(fx_mul(INT32_MIN, (struct fx_mult){INT32_MIN, 0}), INT32_MAX);
    assert_int_equal(fx_mul(INT32_MIN, (struct fx_mult){INT32_MIN, 62}), 1);
    assert_int_equal(fx_add(INT32_MAX, 1), INT32_MAX);
    assert_int_equal(fx_add(INT32_MIN, -1), INT32_MIN);
}

static void test_mul_matches_reference(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int32_t a = (int32_t)(uint32_t)x;
        int32_t m = (int32_t)(uint32_t)(x >> 32);
        int s = (int)((x >> 20) % 63);
        if (i % 3 == 0)
            a >>= (x >> 40) % 31;
        int32_t got = fx_mul(a, (struct fx_mult){m, s});
        int32_t want = ref_mul(a, m, s);
        if (got != want)
            fail_msg("fx_mul(%d, {%d, %d}) = %d, want %d", a, m, s, got, want);
    }
}

/* docs/numerics.md's fx_dot3, from the text with __int128. */
static int32_t ref_dot3(int32_t a0, int32_t k0, int32_t a1, int32_t k1, int32_t a2, int32_t k2,
                        int s)
{
    __int128 q = (__int128)a0 * k0 + (__int128)a1 * k1 + (__int128)a2 * k2 +
                 ((__int128)1 << (s - 1));
    __int128 d = (__int128)1 << s, r = q / d;
    if ((q % d) != 0 && q < 0)
        r -= 1;
    return r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : (int32_t)r;
}

static void test_dot3_rounds_once(void **state)
{
    (void)state;
    const int32_t half = 1 << 29, one = 1 << 30;
    /* three thirds of a half: one rounding gives 1, three would give 0 */
    assert_int_equal(fx_dot3(1, 0x15555556, 1, 0x15555556, 1, 0x15555556, 30), 1);
    assert_int_equal(fx_dot3(1, half, -1, half, 1, half, 30), 1);   /* 0.5 -> 1 */
    assert_int_equal(fx_dot3(-1, half, -1, half, 1, half, 30), 0);  /* -0.5 -> 0 */
    assert_int_equal(fx_dot3(-3, half, 0, 0, 0, 0, 30), -1);        /* -1.5 -> -1 */
    assert_int_equal(fx_dot3(7, one, 5, one, -2, one, 30), 10);
    /* the sum needs 65 bits: 3 * 2^62, and every sign */
    assert_int_equal(fx_dot3(INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, 30),
                     INT32_MAX);
    assert_int_equal(fx_dot3(INT32_MIN, INT32_MAX, INT32_MIN, INT32_MAX, INT32_MIN, INT32_MAX, 30),
                     INT32_MIN);
    assert_int_equal(fx_dot3(INT32_MIN, INT32_MIN, INT32_MIN, INT32_MAX, 0, 0, 30), 2); /* 2^31 */
    uint64_t x = 0x2545F4914F6CDD1Du;
    for (int i = 0; i < 300000; i++) {
        int32_t a[6];
        for (int j = 0; j < 6; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            a[j] = (int32_t)(uint32_t)x;
            if ((x >> 40) % 4 == 0)
                a[j] >>= (x >> 44) % 31;
            else if ((x >> 40) % 4 == 1)
                a[j] = (x >> 50) % 2 ? INT32_MIN : INT32_MAX;
        }
        int s = i % 4 ? 30 : 1 + (int)((x >> 8) % 60); /* the lif models' shifts: 1 .. 60 */
        int32_t got = fx_dot3(a[0], a[1], a[2], a[3], a[4], a[5], s);
        int32_t want = ref_dot3(a[0], a[1], a[2], a[3], a[4], a[5], s);
        if (got != want)
            fail_msg("fx_dot3(%d, %d, %d, %d, %d, %d, %d) = %d, want %d", a[0], a[1], a[2], a[3],
                     a[4], a[5], s, got, want);
    }
}

/* The shifts a loader checks: each model's first shift out of range, by its offset. */
static void test_params_bad_shift(void **state)
{
    (void)state;
    struct fx_lif_curr_exp u = {.shift = 30, .p22e = {1, 30}, .p22i = {1, 30}};
    assert_int_equal(fx_params_bad_shift(FX_MODEL_LIF_CURR_EXP, &u), -1);
    u.shift = 61;
    assert_int_equal(fx_params_bad_shift(FX_MODEL_LIF_CURR_EXP, &u),
                     offsetof(struct fx_lif_curr_exp, shift));
    u.shift = 60, u.p22e.s = -1;
    assert_int_equal(fx_params_bad_shift(FX_MODEL_LIF_CURR_EXP, &u),
                     offsetof(struct fx_lif_curr_exp, p22e.s));
    struct fx_lif_cond_exp c = {.kg_e = {1, 62}, .kg_i = {1, 0}};
    assert_int_equal(fx_params_bad_shift(FX_MODEL_LIF_COND_EXP, &c), -1);
    c.kg_i.s = 63;
    assert_int_equal(fx_params_bad_shift(FX_MODEL_LIF_COND_EXP, &c),
                     offsetof(struct fx_lif_cond_exp, kg_i.s));
    struct fx_if_curr_delta d = {0};
    assert_int_equal(fx_params_bad_shift(FX_MODEL_IF_CURR_DELTA, &d), -1);
    d.k_in_i.s = 63;
    assert_int_equal(fx_params_bad_shift(FX_MODEL_IF_CURR_DELTA, &d),
                     offsetof(struct fx_if_curr_delta, k_in_i.s));
    struct fx_izhikevich z = {0};
    assert_int_equal(fx_params_bad_shift(FX_MODEL_IZHIKEVICH, &z), -1);
    z.ab_h.s = -5;
    assert_int_equal(fx_params_bad_shift(FX_MODEL_IZHIKEVICH, &z),
                     offsetof(struct fx_izhikevich, ab_h.s));
    struct fx_if f = {0};
    assert_int_equal(fx_params_bad_shift(FX_MODEL_IF, &f), -1);
    f.k_in_e.s = 99;
    assert_int_equal(fx_params_bad_shift(FX_MODEL_IF, &f), offsetof(struct fx_if, k_in_e.s));
    struct fx_poisson q = {UINT32_MAX, 0, UINT32_MAX}; /* sources have no shifts */
    assert_int_equal(fx_params_bad_shift(FX_MODEL_SPIKE_SOURCE_POISSON, &q), -1);
}

static void test_acc_is_order_independent(void **state)
{
    (void)state;
    int32_t w[64];
    for (int i = 0; i < 64; i++)
        w[i] = (i * 7919 % 65535) - 32767;
    int32_t fwd = 0, back = 0;
    for (int i = 0; i < 64; i++)
        fwd = fx_acc(fwd, w[i]);
    for (int i = 63; i >= 0; i--)
        back = fx_acc(back, w[(i * 5) % 64]);
    int64_t exact = 0;
    for (int i = 0; i < 64; i++)
        exact += w[i];
    assert_int_equal(fwd, back);
    assert_int_equal(fwd, exact);
}

static void test_quantize_mult(void **state)
{
    (void)state;
    struct fx_mult k;
    assert_int_equal(snn_quantize_mult(0.5, 0.5, &k), 0);
    /* 0.5 < 2^0: e = 0, s = 30, m = 2^29 */
    assert_int_equal(k.s, 30);
    assert_int_equal(k.m, 1 << 29);
    assert_int_equal(snn_quantize_mult(0.995012479192682, 0.995012479192682, &k), 0);
    assert_int_equal(k.s, 30);
    assert_int_equal(k.m, (int32_t)floor(0.995012479192682 * 1073741824.0 + 0.5));
    /* a smaller member of a column keeps the column's shift */
    assert_int_equal(snn_quantize_mult(0.001, 0.5, &k), 0);
    assert_int_equal(k.s, 30);
    /* too large to represent */
    assert_int_equal(snn_quantize_mult(3e9, 3e9, &k), SNN_ERANGE);
    /* tiny values use the largest shift */
    assert_int_equal(snn_quantize_mult(1e-30, 1e-30, &k), 0);
    assert_int_equal(k.s, FX_MULT_MAX_SHIFT);
    assert_int_equal(k.m, 0);
}

/* lif_curr_exp step, written from docs/numerics.md with __int128. */
static int ref_lif_step(const struct fx_lif_curr_exp *p, struct fx_lif_state *s, int32_t ie,
                        int32_t ii)
{
    int fired = 0;
    __int128 xe = (__int128)s->xe + ie, xi = (__int128)s->xi + ii;
    s->xe = xe > INT32_MAX ? INT32_MAX : xe < INT32_MIN ? INT32_MIN : (int32_t)xe;
    s->xi = xi > INT32_MAX ? INT32_MAX : xi < INT32_MIN ? INT32_MIN : (int32_t)xi;
    if (s->refrac) {
        s->refrac--;
    } else {
        __int128 dv = (__int128)s->v - p->v_rest;
        int32_t d32 = dv > INT32_MAX ? INT32_MAX : dv < INT32_MIN ? INT32_MIN : (int32_t)dv;
        __int128 v = (__int128)p->v_rest +
                     ref_dot3(d32, p->p11, s->xe, p->p21e, s->xi, p->p21i, p->shift) + p->v_off;
        s->v = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
        if (s->v >= p->v_thresh) {
            s->v = p->v_reset;
            s->refrac = p->refrac_steps;
            fired = 1;
        }
    }
    s->xe = ref_mul(s->xe, p->p22e.m, p->p22e.s);
    s->xi = ref_mul(s->xi, p->p22i.m, p->p22i.s);
    return fired;
}

static void test_lif_curr_exp_matches_reference(void **state)
{
    (void)state;
    struct fx_lif_curr_exp p = {
        .v_rest = -65 * FX_ONE_MV, .v_reset = -70 * FX_ONE_MV, .v_thresh = -50 * FX_ONE_MV,
        .v_off = 3000, .shift = 30, .p11 = 1068389413, .p21e = 1234567 << 8, .p21i = 987654 << 8,
        .p22e = {1052476340, 30}, .p22i = {1062790613, 30}, .refrac_steps = 20,
    };
    struct fx_lif_state a = {.v = -65 * FX_ONE_MV}, b = a;
    uint64_t x = 12345;
    int spikes = 0;
    for (int t = 0; t < 100000; t++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int32_t ie = (x & 7) == 0 ? (int32_t)(x >> 40 & 0xffff) : 0;
        int32_t ii = (x & 31) == 1 ? -(int32_t)(x >> 20 & 0x7fff) : 0;
        int fa = fx_lif_curr_exp_step(&p, &a, ie, ii);
        int fb = ref_lif_step(&p, &b, ie, ii);
        spikes += fa;
        if (fa != fb || a.v != b.v || a.xe != b.xe || a.xi != b.xi || a.refrac != b.refrac)
            fail_msg("step %d: state differs from the reference", t);
    }
    assert_true(spikes > 10);
}


static int32_t sat128(__int128 x)
{
    return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int32_t)x;
}

#define RM(a, k) ref_mul((a), (k).m, (k).s)

/* lif_cond_exp, written from docs/numerics.md. */
static int ref_cond_step(const struct fx_lif_cond_exp *p, struct fx_lif_state *s, int32_t ie,
                         int32_t ii)
{
    int fired = 0;
    s->xe = sat128((__int128)s->xe + ie);
    s->xi = sat128((__int128)s->xi + ii);
    if (s->refrac) {
        s->refrac--;
    } else {
        int32_t ge = RM(s->xe, p->kg_e), gi = RM(s->xi, p->kg_i);
        int32_t dv = ref_dot3(sat128((__int128)p->v_rest - s->v), p->k_leak,
                              sat128((__int128)p->e_rev_e - s->v), ge,
                              sat128((__int128)p->e_rev_i - s->v), gi, 30);
        s->v = sat128((__int128)s->v + dv + p->v_off);
        if (s->v >= p->v_thresh) {
            s->v = p->v_reset;
            s->refrac = p->refrac_steps;
            fired = 1;
        }
    }
    s->xe = RM(s->xe, p->p22e);
    s->xi = RM(s->xi, p->p22i);
    return fired;
}

/* izhikevich, written from docs/numerics.md. */
static int ref_izh_step(const struct fx_izhikevich *p, struct fx_izh_state *s, int32_t ie,
                        int32_t ii)
{
    int32_t v1 = sat128((__int128)s->v + RM(ie, p->k_in_e) + RM(ii, p->k_in_i));
    __int128 sq = (__int128)v1 * v1 + (1 << 15);
    int32_t v2 = sat128(sq >= 0 ? sq / 65536 : -((-sq + 65535) / 65536));
    int32_t u = s->u;
    s->v = sat128((__int128)v1 + RM(v2, p->k_v2) + RM(v1, p->k_v1) + p->c0 - RM(u, p->k_u));
    s->u = sat128((__int128)u + RM(v1, p->ab_h) - RM(u, p->a_h));
    if (s->v >= p->v_thresh) {
        s->v = p->c;
        s->u = sat128((__int128)s->u + p->d);
        return 1;
    }
    return 0;
}

/* if_curr_delta, written from docs/numerics.md. */
static int ref_delta_step(const struct fx_if_curr_delta *p, struct fx_lif_state *s, int32_t ie,
                          int32_t ii)
{
    if (s->refrac) {
        s->refrac--;
        return 0;
    }
    s->v = sat128((__int128)p->v_rest + RM(sat128((__int128)s->v - p->v_rest), p->p11) +
                  p->v_off + RM(ie, p->k_in_e) + RM(ii, p->k_in_i));
    if (s->v >= p->v_thresh) {
        s->v = p->v_reset;
        s->refrac = p->refrac_steps;
        return 1;
    }
    return 0;
}

static uint64_t xs = 0x0123456789ABCDEFu;
static uint32_t rnd(void)
{
    xs ^= xs << 13, xs ^= xs >> 7, xs ^= xs << 17;
    return (uint32_t)(xs >> 11);
}

static int32_t rin(void)
{
    uint32_t r = rnd();
    return (r & 7) == 0 ? (int32_t)(rnd() % 65536) - 32768 : (r & 7) == 1 ? (int32_t)rnd() : 0;
}

static void test_other_models_match_reference(void **state)
{
    (void)state;
    int spikes[3] = {0, 0, 0};
    for (int trial = 0; trial < 30; trial++) {
        struct fx_lif_cond_exp c = {
            .v_rest = -60 * FX_ONE_MV, .v_reset = -60 * FX_ONE_MV,
            .v_thresh = -50 * FX_ONE_MV, .e_rev_e = 0, .e_rev_i = -80 * FX_ONE_MV,
            .v_off = (int32_t)(rnd() % 40000), .k_leak = (int32_t)(rnd() % (1u << 23)),
            .kg_e = {(int32_t)(rnd() % (1u << 30)), 20 + (int32_t)(rnd() % 10)},
            .kg_i = {(int32_t)(rnd() % (1u << 30)), 20 + (int32_t)(rnd() % 10)},
            .p22e = {(int32_t)(rnd() % (1u << 30)), 30}, .p22i = {(int32_t)(rnd() % (1u << 30)), 30},
            .refrac_steps = rnd() % 40};
        struct fx_izhikevich z = {
            .k_v2 = {1374389535, 35}, .k_v1 = {1 << 29, 30}, .c0 = 14 * FX_ONE_MV + (int32_t)(rnd() % 65536),
            .k_u = {1717986918, 34}, .a_h = {(int32_t)(rnd() % (1u << 30)), 38},
            .ab_h = {(int32_t)(rnd() % (1u << 30)), 38}, .c = -65 * FX_ONE_MV,
            .d = (int32_t)(rnd() % (8 * FX_ONE_MV)), .v_thresh = 30 * FX_ONE_MV,
            .k_in_e = {FX_ONE_MV, 4}, .k_in_i = {FX_ONE_MV, 4}};
        struct fx_if_curr_delta dl = {
            .v_rest = -65 * FX_ONE_MV, .v_reset = -70 * FX_ONE_MV, .v_thresh = -50 * FX_ONE_MV,
            .v_off = (int32_t)(rnd() % 30000), .p11 = {(int32_t)(rnd() % (1u << 30)), 30},
            .k_in_e = {FX_ONE_MV, 8}, .k_in_i = {FX_ONE_MV, 8}, .refrac_steps = rnd() % 20};
        struct fx_lif_state ca = {-60 * FX_ONE_MV, 0, 0, 0}, cb = ca, da = {-65 * FX_ONE_MV, 0, 0, 0}, db = da;
        struct fx_izh_state za = {-70 * FX_ONE_MV, -14 * FX_ONE_MV}, zb = za;
        if (trial == 0) { /* the extremes */
            ca.v = cb.v = INT32_MIN;
            za.v = zb.v = INT32_MAX;
            da.v = db.v = INT32_MIN;
        }
        for (int t = 0; t < 20000; t++) {
            int32_t ie = rin(), ii = rin();
            int f1 = fx_lif_cond_exp_step(&c, &ca, ie & 0x7fffffff, ii & 0x7fffffff);
            int f2 = ref_cond_step(&c, &cb, ie & 0x7fffffff, ii & 0x7fffffff);
            int g1 = fx_izhikevich_step(&z, &za, ie, ii), g2 = ref_izh_step(&z, &zb, ie, ii);
            int h1 = fx_if_curr_delta_step(&dl, &da, ie, ii), h2 = ref_delta_step(&dl, &db, ie, ii);
            if (f1 != f2 || memcmp(&ca, &cb, sizeof ca))
                fail_msg("lif_cond_exp trial %d step %d differs from the reference", trial, t);
            if (g1 != g2 || memcmp(&za, &zb, sizeof za))
                fail_msg("izhikevich trial %d step %d differs from the reference", trial, t);
            if (h1 != h2 || memcmp(&da, &db, sizeof da))
                fail_msg("if_curr_delta trial %d step %d differs from the reference", trial, t);
            spikes[0] += f1, spikes[1] += g1, spikes[2] += h1;
        }
    }
    assert_true(spikes[0] > 100 && spikes[1] > 100 && spikes[2] > 100);
}

static void test_refractory_holds_exactly(void **state)
{
    (void)state;
    /* Constant drive far above threshold: fires every refrac_steps + 1 steps. */
    struct fx_lif_curr_exp p = {
        .v_rest = 0, .v_reset = 0, .v_thresh = FX_ONE_MV, .v_off = 2 * FX_ONE_MV,
        .shift = 30, .p11 = 1 << 29, .p21e = 0, .p21i = 0,
        .p22e = {0, 0}, .p22i = {0, 0}, .refrac_steps = 4,
    };
    struct fx_lif_state s = {0};
    int last = -1;
    for (int t = 0; t < 50; t++) {
        if (fx_lif_curr_exp_step(&p, &s, 0, 0)) {
            if (last >= 0)
                assert_int_equal(t - last, 5);
            else
                assert_int_equal(t, 0);
            last = t;
        } else if (last >= 0 && t - last <= 4) {
            assert_int_equal(s.v, 0); /* held at v_reset */
        }
    }
    assert_int_equal(last, 45);
}

static void test_if_subtract_reset(void **state)
{
    (void)state;
    /* bias 0.3 mV per step, threshold 1 mV, reset by subtraction: the
     * excess carries over. 19661/65536 mV per step. */
    struct fx_if p = {.v_thresh = FX_ONE_MV, .v_reset = 0, .bias = 19661,
                      .k_in_e = {0, 0}, .k_in_i = {0, 0}, .reset_subtract = 1};
    struct fx_if_state s = {0};
    int fired[20], n = 0;
    for (int t = 0; t < 20; t++)
        if (fx_if_step(&p, &s, 0, 0))
            fired[n++] = t;
    /* v after t+1 steps is (t+1)*19661 minus 65536 per spike */
    int expect[] = {3, 6, 9, 13, 16, 19};
    assert_int_equal(n, 6);
    for (int i = 0; i < n; i++)
        assert_int_equal(fired[i], expect[i]);
    assert_int_equal(s.v, 20 * 19661 - 6 * 65536);
    p.reset_subtract = 0;
    s.v = 0;
    n = 0;
    for (int t = 0; t < 20; t++)
        if (fx_if_step(&p, &s, 0, 0))
            fired[n++] = t;
    assert_int_equal(n, 5); /* 3, 7, 11, 15, 19: restarts from 0 each time */
    assert_int_equal(fired[1], 7);
}

static void test_if_curr_delta_discards_refractory_input(void **state)
{
    (void)state;
    struct fx_if_curr_delta p = {.v_rest = 0, .v_reset = 0, .v_thresh = 10 * FX_ONE_MV,
                                 .v_off = 0, .p11 = {1 << 30, 30},
                                 .k_in_e = {FX_ONE_MV, 0}, .k_in_i = {FX_ONE_MV, 0},
                                 .refrac_steps = 2};
    struct fx_lif_state s = {0};
    assert_int_equal(fx_if_curr_delta_step(&p, &s, 11, 0), 1); /* 11 mV jump fires */
    assert_int_equal(fx_if_curr_delta_step(&p, &s, 5, 0), 0);  /* refractory: dropped */
    assert_int_equal(fx_if_curr_delta_step(&p, &s, 5, 0), 0);
    assert_int_equal(s.v, 0);
    assert_int_equal(fx_if_curr_delta_step(&p, &s, 5, -2), 0);  /* counted again */
    assert_int_equal(s.v, 3 * FX_ONE_MV);
}

static void test_poisson_threshold_and_window(void **state)
{
    (void)state;
    struct fx_poisson never = {0, 0, UINT32_MAX}, always = {UINT32_MAX, 10, 20};
    int a = 0;
    for (uint32_t t = 0; t < 1000; t++) {
        assert_int_equal(fx_poisson_fires(&never, 1, 0, 0, t), 0);
        a += fx_poisson_fires(&always, 1, 0, 0, t);
    }
    assert_int_equal(a, 10); /* only steps 10..19, and u < 2^32-1 almost surely */
    /* p = 1/8 over 80000 trials: 10000 expected, sd ~94 */
    struct fx_poisson eighth = {1u << 29, 0, UINT32_MAX};
    int n = 0;
    for (uint32_t t = 0; t < 800; t++)
        for (uint32_t i = 0; i < 100; i++)
            n += fx_poisson_fires(&eighth, 42, 3, i, t);
    assert_in_range(n, 10000 - 500, 10000 + 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mul_rounds_half_up),
        cmocka_unit_test(test_mul_saturates),
        cmocka_unit_test(test_mul_matches_reference),
        cmocka_unit_test(test_dot3_rounds_once),
        cmocka_unit_test(test_params_bad_shift),
        cmocka_unit_test(test_acc_is_order_independent),
        cmocka_unit_test(test_quantize_mult),
        cmocka_unit_test(test_lif_curr_exp_matches_reference),
        cmocka_unit_test(test_other_models_match_reference),
        cmocka_unit_test(test_refractory_holds_exactly),
        cmocka_unit_test(test_if_subtract_reset),
        cmocka_unit_test(test_if_curr_delta_discards_refractory_input),
        cmocka_unit_test(test_poisson_threshold_and_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

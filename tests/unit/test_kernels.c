/*
 * tests/unit/test_kernels.c: the slice steps of abi/neuron_soa.h (each
 * form: portable, AVX2, AVX-512; a form this processor cannot run shows as
 * skipped) against the neuron steps of abi/neuron.h, state for
 * state, on random parameters and inputs, including saturating ones, and
 * on realistic parameters with words straddling the bounds under which the
 * vector forms drop their saturations (fx_soa_bounds); and the float64
 * slice steps of ir/sim_float.h against fl_step, bit for bit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "abi/neuron.h"
#include "abi/neuron_soa.h"
#include "ir/sim_float.h"

#define N 203 /* not a multiple of 8: the vector loop's tail runs too */

/* The forms of the slice steps: each is tested on its own where this
 * processor can run it, and skipped (cmocka says so) where it cannot. */
enum form { PORTABLE, AVX2, AVX512 };

static bool runs(enum form f)
{
#ifdef FX_HAVE_X86_SIMD
    if (f == AVX512)
        return __builtin_cpu_supports("avx512f");
    if (f == AVX2)
        return __builtin_cpu_supports("avx2");
#endif
    return f == PORTABLE;
}

static uint32_t curr_form(enum form f, const struct fx_lif_curr_exp *p, uint32_t lo, uint32_t hi,
                          struct fx_lif_soa s, int32_t *ie, int32_t *ii, uint32_t *fired)
{
    switch (f) {
#ifdef FX_HAVE_X86_SIMD
    case AVX512: return fx_lif_curr_exp_soa_avx512(p, lo, hi, s, ie, ii, fired);
    case AVX2: return fx_lif_curr_exp_soa_avx2(p, lo, hi, s, ie, ii, fired);
#endif
    default: return fx_lif_curr_exp_soa_scalar(p, lo, hi, s, ie, ii, fired);
    }
}

static uint32_t cond_form(enum form f, const struct fx_lif_cond_exp *p, uint32_t lo, uint32_t hi,
                          struct fx_lif_soa s, int32_t *ie, int32_t *ii, uint32_t *fired)
{
    switch (f) {
#ifdef FX_HAVE_X86_SIMD
    case AVX512: return fx_lif_cond_exp_soa_avx512(p, lo, hi, s, ie, ii, fired);
    case AVX2: return fx_lif_cond_exp_soa_avx2(p, lo, hi, s, ie, ii, fired);
#endif
    default: return fx_lif_cond_exp_soa_scalar(p, lo, hi, s, ie, ii, fired);
    }
}

static uint32_t float_form(enum form f, bool cond, const struct fl_par *p, uint32_t lo,
                           uint32_t hi, struct fl_lif_soa s, double *ie, double *ii,
                           uint32_t *fired)
{
    switch (f) {
#ifdef FX_HAVE_X86_SIMD
    case AVX512: return fl_lif_soa_avx512(cond, p, lo, hi, s, ie, ii, fired);
    case AVX2: return fl_lif_soa_avx2(cond, p, lo, hi, s, ie, ii, fired);
#endif
    default: return fl_lif_soa_scalar(cond, p, lo, hi, s, ie, ii, fired);
    }
}

static uint64_t rng = 0x243F6A8885A308D3u;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static struct fx_mult coef(int lo_shift)
{
    return (struct fx_mult){(int32_t)(next() % (1u << 30)) - (next() % 8 == 0 ? (1 << 29) : 0),
                            lo_shift + (int32_t)(next() % 20)};
}

/* A Q1.30 coefficient of either sign (lif_cond_exp's k_leak). */
static int32_t q30(void)
{
    return ((int32_t)(next() % (1u << 30)) >> (next() % 20)) -
           (next() % 8 == 0 ? (1 << 29) : 0);
}

/* A decay factor in [0, 1], as valid parameters give.  Shifts reach 31,
 * which the AVX2 forms cannot bring to their common shift of 30. */
static struct fx_mult decay(void)
{
    int32_t s = 20 + (int32_t)(next() % 12);
    uint32_t top = s < 31 ? (1u << s) + 1 : 1u << 31;
    return (struct fx_mult){(int32_t)(next() % top), s};
}

static int32_t input(int wide)
{
    switch (next() % 8) {
    case 0: return wide ? (int32_t)next() : (int32_t)(next() % 65536) - 32768;
    case 1: return (int32_t)(next() % 2048) - 1024;
    default: return 0;
    }
}

/* A word at the edge of [-2^bits, 2^bits), at a few times that (where a
 * too wide test would let saturating values through), or of int32. */
static int32_t edge(int bits)
{
    int32_t d = (int32_t)(next() % 4) - 2;
    int sh = bits + (int)(next() % 3);
    sh = sh > 30 ? 30 : sh;
    switch (next() % 4) {
    case 0: return (int32_t)((uint32_t)1 << sh) + d;
    case 1: return -(int32_t)((uint32_t)1 << sh) + d;
    case 2: return INT32_MAX - (int32_t)(next() % 3);
    default: return INT32_MIN + (int32_t)(next() % 3);
    }
}

/* Trials from EDGE_TRIAL on take realistic parameters (those of
 * examples/cuba.yaml and examples/coba.yaml, quantized) and, every step,
 * put some neurons' state and input words at the edges of the fast forms'
 * bounds: both sides of each bound, and the int32 limits. */
#define EDGE_TRIAL 40
#define TRIALS 60

static int outside(int32_t x, int bits)
{
    return x < -((int32_t)1 << bits) || x >= ((int32_t)1 << bits);
}

/* The edge trials' step: a neuron whose state left the fast forms' bounds
 * mostly gets a fresh, realistic one (else soon nearly every group of
 * sixteen would hold one and take the exact form for good), and a few
 * neurons get a word at an edge, one word at a time. */
static void edges(struct fx_soa_bounds b, int32_t v0, struct fx_lif_state *ref,
                  struct fx_lif_soa s, int32_t *ie, int32_t *ie0, int32_t *ii, int32_t *ii0)
{
    for (int i = 0; i < N; i++) {
        if ((outside(s.v[i], b.v_bits) || outside(s.xe[i], b.xe_bits) ||
             outside(s.xi[i], b.xi_bits)) &&
            next() % 4) {
            ref[i].v = s.v[i] = v0 + (int32_t)(next() % 1000000);
            ref[i].xe = s.xe[i] = (int32_t)(next() % 100000);
            ref[i].xi = s.xi[i] = (int32_t)(next() % 100000);
        }
        switch (next() % 96) {
        case 0: ref[i].v = s.v[i] = edge(b.v_bits); break;
        case 1: ref[i].xe = s.xe[i] = edge(b.xe_bits); break;
        case 2: ref[i].xi = s.xi[i] = edge(b.xi_bits); break;
        case 3: ie0[i] = ie[i] = edge(b.xe_bits); break;
        case 4: ii0[i] = ii[i] = edge(b.xi_bits); break;
        default: break;
        }
    }
}

static void run_curr(enum form f)
{
    if (!runs(f))
        skip();
    for (int trial = 0; trial < TRIALS; trial++) {
        struct fx_lif_curr_exp p = {
            .v_rest = -65 * FX_ONE_MV + (int32_t)(next() % 65536),
            .v_reset = -70 * FX_ONE_MV, .v_thresh = -50 * FX_ONE_MV - (int32_t)(next() % 100000),
            .v_off = (int32_t)(next() % 20000), .shift = 20 + (int32_t)(next() % 21),
            .p11 = (int32_t)(next() % (1u << 30)), .p21e = coef(14).m, .p21i = coef(14).m,
            .p22e = decay(), .p22i = decay(), .refrac_steps = next() % 30,
        };
        if (trial == 0) { /* extremes: saturation everywhere */
            p.p21e = INT32_MAX, p.shift = 1;
            p.v_off = INT32_MAX;
            p.v_rest = INT32_MIN;
        }
        if (trial >= EDGE_TRIAL) { /* CUBA's */
            p.v_rest = -3211264, p.v_off = (int32_t)(next() % 20000);
            p.shift = 30, p.p11 = 1068386514, p.p21e = 17179223, p.p21i = 95917727;
            p.p22e = (struct fx_mult){1052480311, 30}, p.p22i = (struct fx_mult){1063057914, 30};
            if (trial % 4 == 3) /* v_rest as far out as the voltages' bound allows */
                p.v_rest = -(INT32_MAX - (1 << FX_SOA_V_BITS)), p.p11 = 107374182;
        }
        assert_true(fx_soa_curr_ok(&p));
        struct fx_soa_bounds b = fx_soa_curr_bounds(&p);
        const int32_t v_fresh = -70 * FX_ONE_MV;
        if (trial >= EDGE_TRIAL)
            assert_true(b.xe_bits >= 16 && b.xi_bits >= 16);
        struct fx_lif_state ref[N];
        int32_t v[N], xe[N], xi[N];
        uint32_t refrac[N];
        int32_t ie[N], ii[N], ie0[N], ii0[N];
        uint32_t fired[N];
        for (int i = 0; i < N; i++) {
            ref[i] = (struct fx_lif_state){(int32_t)next(), (int32_t)next() >> (next() % 32),
                                           (int32_t)next() >> (next() % 32), next() % 3};
            if (trial == 1) /* the extremes of the state */
                ref[i].v = i % 2 ? INT32_MIN : INT32_MAX, ref[i].xe = INT32_MIN,
                ref[i].xi = INT32_MAX;
            v[i] = ref[i].v, xe[i] = ref[i].xe, xi[i] = ref[i].xi, refrac[i] = ref[i].refrac;
        }
        struct fx_lif_soa s = {v, xe, xi, refrac};
        for (int step = 0; step < 300; step++) {
            for (int i = 0; i < N; i++)
                ie0[i] = ie[i] = input(trial < 4), ii0[i] = ii[i] = -input(trial < 4);
            if (trial >= EDGE_TRIAL)
                edges(b, v_fresh, ref, s, ie, ie0, ii, ii0);
            uint32_t lo = step % 2 ? 0 : (uint32_t)(step % 7), hi = N - (uint32_t)(step % 5);
            uint32_t nf = curr_form(f, &p, lo, hi, s, ie, ii, fired), k = 0;
            for (uint32_t i = lo; i < hi; i++) {
                int fire = fx_lif_curr_exp_step(&p, &ref[i], ie0[i], ii0[i]);
                if (ie[i] || ii[i])
                    fail_msg("input word %u not consumed", i);
                if (fire) {
                    assert_true(k < nf);
                    assert_int_equal(fired[k++], i);
                }
                if (ref[i].v != v[i] || ref[i].xe != xe[i] || ref[i].xi != xi[i] ||
                    ref[i].refrac != refrac[i])
                    fail_msg("curr trial %d step %d neuron %u differs (form %d)", trial, step,
                             i, f);
            }
            assert_int_equal(k, nf);
        }
    }
}

static void run_cond(enum form f)
{
    if (!runs(f))
        skip();
    for (int trial = 0; trial < TRIALS; trial++) {
        struct fx_lif_cond_exp p = {
            .v_rest = -60 * FX_ONE_MV, .v_reset = -60 * FX_ONE_MV,
            .v_thresh = -50 * FX_ONE_MV + (int32_t)(next() % 100000),
            .e_rev_e = 0, .e_rev_i = -80 * FX_ONE_MV, .v_off = (int32_t)(next() % 20000),
            /* kg_i's shifts reach 33, past the AVX2 form's 32 */
            .k_leak = q30(), .kg_e = coef(10), .kg_i = coef(14), .p22e = decay(),
            .p22i = decay(), .refrac_steps = next() % 50,
        };
        if (trial == 0) {
            p.kg_e = (struct fx_mult){INT32_MAX, 1};
            p.e_rev_e = INT32_MAX;
            p.k_leak = INT32_MIN; /* with the others, sums beyond 64 bits */
        }
        if (trial >= EDGE_TRIAL) {
            p.v_rest = p.v_reset = -3932160, p.e_rev_e = 0, p.e_rev_i = -5242880;
            p.k_leak = 5368709;
            p.kg_e = (struct fx_mult){824658887, 23}, p.kg_i = (struct fx_mult){575543182, 19};
            p.p22e = (struct fx_mult){1052480311, 30}, p.p22i = (struct fx_mult){1063057914, 30};
            if (trial % 4 == 3) /* v_rest as far out as the voltages' bound allows */
                p.v_rest = -(INT32_MAX - (1 << FX_SOA_V_BITS)), p.k_leak = 107374182;
            if (trial % 4 == 1) /* a leak of -2, whose negation int32 cannot hold */
                p.k_leak = INT32_MIN;
        }
        assert_true(fx_soa_cond_ok(&p));
        struct fx_soa_bounds b = fx_soa_cond_bounds(&p);
        const int32_t v_fresh = -60 * FX_ONE_MV;
        if (trial >= EDGE_TRIAL)
            assert_true(b.xe_bits >= 16 && b.xi_bits >= 16);
        struct fx_lif_state ref[N];
        int32_t v[N], xe[N], xi[N];
        uint32_t refrac[N];
        int32_t ie[N], ii[N], ie0[N], ii0[N];
        uint32_t fired[N];
        for (int i = 0; i < N; i++) {
            ref[i] = (struct fx_lif_state){-55 * FX_ONE_MV + (int32_t)(next() % 600000),
                                           (int32_t)(next() % 100000),
                                           (int32_t)(next() % 100000), next() % 3};
            v[i] = ref[i].v, xe[i] = ref[i].xe, xi[i] = ref[i].xi, refrac[i] = ref[i].refrac;
        }
        struct fx_lif_soa s = {v, xe, xi, refrac};
        for (int step = 0; step < 300; step++) {
            for (int i = 0; i < N; i++)
                ie0[i] = ie[i] = input(trial < 4) & 0x7fffffff,
                ii0[i] = ii[i] = input(trial < 4) & 0x7fffffff;
            if (trial >= EDGE_TRIAL)
                edges(b, v_fresh, ref, s, ie, ie0, ii, ii0);
            uint32_t lo = step % 2 ? 0 : (uint32_t)(step % 17), hi = N - (uint32_t)(step % 19);
            uint32_t nf = cond_form(f, &p, lo, hi, s, ie, ii, fired), k = 0;
            for (uint32_t i = 0; i < N; i++) {
                if (i < lo || i >= hi) { /* outside the slice: untouched */
                    if (ie[i] != ie0[i] || ii[i] != ii0[i] || ref[i].v != v[i] ||
                        ref[i].xe != xe[i] || ref[i].xi != xi[i] || ref[i].refrac != refrac[i])
                        fail_msg("cond step %d touched neuron %u outside [%u, %u)", step, i,
                                 lo, hi);
                    continue;
                }
                if (ie[i] || ii[i])
                    fail_msg("input word %u not consumed", i);
                if (fx_lif_cond_exp_step(&p, &ref[i], ie0[i], ii0[i])) {
                    assert_true(k < nf);
                    assert_int_equal(fired[k++], i);
                }
                if (ref[i].v != v[i] || ref[i].xe != xe[i] || ref[i].xi != xi[i] ||
                    ref[i].refrac != refrac[i])
                    fail_msg("cond trial %d step %d neuron %u differs (form %d)", trial, step,
                             i, f);
            }
            assert_int_equal(k, nf);
        }
    }
}

/* Sixteen neurons at the corners of the bounds b: lane bit 0 puts v at
 * -2^v_bits or 2^v_bits - 1, bit 1 the excitatory state and input both at
 * -2^xe_bits or both at 2^xe_bits - 1, bit 2 likewise the inhibitory ones,
 * bit 3 the inhibitory ones at zero instead.  Every word is inside, so the
 * fast form steps the group: its sums are the largest the bounds allow. */
static void corners(struct fx_soa_bounds b, int32_t *v, int32_t *xe, int32_t *xi,
                    uint32_t *refrac, int32_t *ie, int32_t *ii)
{
    for (int k = 0; k < 16; k++) {
        int32_t e = k & 2 ? (int32_t)((1u << b.xe_bits) - 1) : -(int32_t)(1u << b.xe_bits);
        int32_t i = k & 2 ? (int32_t)((1u << b.xi_bits) - 1) : -(int32_t)(1u << b.xi_bits);
        i = k & 8 ? 0 : k & 4 ? i : -i - 1;
        v[k] = k & 1 ? (int32_t)((1u << b.v_bits) - 1) : -(int32_t)(1u << b.v_bits);
        xe[k] = ie[k] = e, xi[k] = ii[k] = i, refrac[k] = 0;
    }
}

/* The fast forms at the corners of their widest bounds, where a bound
 * that claimed too much would wrap a sum (the random trials reach these
 * corners rarely): COBA's and CUBA's parameters, where the bounds of the
 * single products bind, and variants where the bound of the sum binds. */
static void run_corners(enum form f)
{
    if (!runs(f))
        skip();
    const struct fx_lif_cond_exp coba = {
        .v_rest = -3932160, .v_reset = -3932160, .v_thresh = INT32_MAX, .e_rev_i = -5242880,
        .v_off = 13107, .k_leak = 5368709, .kg_e = {824658887, 23}, .kg_i = {575543182, 19},
        .p22e = {1052480311, 30}, .p22i = {1063057914, 30}};
    const struct fx_lif_curr_exp cuba = {
        .v_rest = -3211264, .v_reset = -3211264, .v_thresh = INT32_MAX, .shift = 19,
        .p11 = 521673, .p21e = INT32_MAX >> 1, .p21i = 46835, .p22e = {1052480311, 30},
        .p22i = {1063057914, 30}};
    for (int t = 0; t < 5; t++) {
        struct fx_lif_cond_exp c = coba;
        struct fx_lif_curr_exp u = cuba;
        int curr = t >= 3;
        if (t == 1 || t == 2) {
            /* both reversal potentials 8192 mV above, and conductances
             * of almost 2 (Q1.30) at the bounds: the two terms can reach
             * 3/4 of 2^32 together */
            c.e_rev_e = c.e_rev_i = 1 << 29;
            c.kg_e = c.kg_i = (struct fx_mult){1073715200, 18};
        }
        if (t == 2)
            c.v_off = 1 << 30;
        if (t == 4) /* both synaptic terms near 2^30 */
            u.p21i = u.p21e, u.v_off = 1 << 26;
        struct fx_soa_bounds b = curr ? fx_soa_curr_bounds(&u) : fx_soa_cond_bounds(&c);
        assert_true(b.xe_bits > 0);
        int32_t v[16], xe[16], xi[16], ie[16], ii[16], ie0[16], ii0[16];
        uint32_t refrac[16], fired[16];
        corners(b, v, xe, xi, refrac, ie, ii);
        struct fx_lif_state ref[16];
        for (int k = 0; k < 16; k++)
            ref[k] = (struct fx_lif_state){v[k], xe[k], xi[k], refrac[k]};
        memcpy(ie0, ie, sizeof ie);
        memcpy(ii0, ii, sizeof ii);
        struct fx_lif_soa s = {v, xe, xi, refrac};
        uint32_t nf = curr ? curr_form(f, &u, 0, 16, s, ie, ii, fired)
                           : cond_form(f, &c, 0, 16, s, ie, ii, fired);
        assert_int_equal(nf, 0);
        for (int k = 0; k < 16; k++) {
            if (curr)
                fx_lif_curr_exp_step(&u, &ref[k], ie0[k], ii0[k]);
            else
                fx_lif_cond_exp_step(&c, &ref[k], ie0[k], ii0[k]);
            if (ref[k].v != v[k] || ref[k].xe != xe[k] || ref[k].xi != xi[k])
                fail_msg("case %d (bounds %d, %d) corner %d: v %d xe %d xi %d, want %d %d %d", t,
                         b.xe_bits, b.xi_bits, k, v[k], xe[k], xi[k], ref[k].v, ref[k].xe,
                         ref[k].xi);
        }
    }
}

/* The threshold itself: both models with a membrane that only adds v_off
 * (lif_curr_exp: p11 = 1; lif_cond_exp: no leak, no conductance), so that
 * each neuron's new voltage is its old one plus v_off, set to the
 * threshold, one below and one above; some neurons refractory. */
static void run_threshold(enum form f)
{
    if (!runs(f))
        skip();
    const int32_t thresh = -50 * FX_ONE_MV, v_off = 7 * FX_ONE_MV / 100;
    const struct fx_lif_curr_exp cuba = {
        .v_rest = -49 * FX_ONE_MV, .v_reset = -60 * FX_ONE_MV, .v_thresh = thresh,
        .v_off = v_off, .p11 = 1 << 30, .p21e = 17179223, .p21i = 95917727, .shift = 30,
        .p22e = {1052480311, 30}, .p22i = {1063057914, 30}, .refrac_steps = 20};
    const struct fx_lif_cond_exp coba = {
        .v_rest = -60 * FX_ONE_MV, .v_reset = -60 * FX_ONE_MV, .v_thresh = thresh,
        .e_rev_i = -80 * FX_ONE_MV, .v_off = v_off, .p22e = {1052480311, 30},
        .p22i = {1063057914, 30}, .refrac_steps = 20};
    for (int curr = 0; curr < 2; curr++) {
        enum { M = 43 };
        int32_t v[M], xe[M] = {0}, xi[M] = {0}, ie[M] = {0}, ii[M] = {0};
        uint32_t refrac[M], fired[M];
        struct fx_lif_state ref[M];
        for (int k = 0; k < M; k++) {
            v[k] = thresh - v_off + k % 3 - 1;
            refrac[k] = k % 7 == 3 ? 2 : 0;
            ref[k] = (struct fx_lif_state){v[k], 0, 0, refrac[k]};
        }
        struct fx_lif_soa s = {v, xe, xi, refrac};
        uint32_t nf = curr ? curr_form(f, &cuba, 0, M, s, ie, ii, fired)
                           : cond_form(f, &coba, 0, M, s, ie, ii, fired);
        uint32_t n = 0;
        for (uint32_t k = 0; k < M; k++) {
            int fire = curr ? fx_lif_curr_exp_step(&cuba, &ref[k], 0, 0)
                            : fx_lif_cond_exp_step(&coba, &ref[k], 0, 0);
            if (fire) {
                assert_true(n < nf);
                assert_int_equal(fired[n++], k);
            }
            if (ref[k].v != v[k] || ref[k].refrac != refrac[k])
                fail_msg("%s neuron %u: v %d refrac %u, want %d %u", curr ? "curr" : "cond", k,
                         v[k], refrac[k], ref[k].v, ref[k].refrac);
        }
        assert_int_equal(n, nf);
        assert_int_equal(nf, 24); /* those not refractory, at or above it */
    }
}

/* One test per form, so that a skipped form shows as skipped. */
#define FORM_TESTS(name, call)                                                              \
    static void name##_portable(void **state) { (void)state; call(PORTABLE); }             \
    static void name##_avx2(void **state) { (void)state; call(AVX2); }                     \
    static void name##_avx512(void **state) { (void)state; call(AVX512); }
#define FORM_ENTRIES(name)                                                                  \
    cmocka_unit_test(name##_portable), cmocka_unit_test(name##_avx2),                       \
        cmocka_unit_test(name##_avx512)

static void run_float_curr(enum form f);
static void run_float_cond(enum form f);
FORM_TESTS(test_curr, run_curr)
FORM_TESTS(test_cond, run_cond)
FORM_TESTS(test_threshold, run_threshold)
FORM_TESTS(test_corners, run_corners)
FORM_TESTS(test_float_curr, run_float_curr)
FORM_TESTS(test_float_cond, run_float_cond)

/* The call chooses the widest form this processor runs. */
static void test_dispatch(void **state)
{
    (void)state;
#ifdef FX_HAVE_X86_SIMD
    enum fx_isa want = runs(AVX512) ? FX_ISA_AVX512 : runs(AVX2) ? FX_ISA_AVX2 : FX_ISA_PORTABLE;
    assert_int_equal(fx_soa_isa(), want);
    print_message("slice steps here: %s\n", want == FX_ISA_AVX512 ? "AVX-512"
                                             : want == FX_ISA_AVX2  ? "AVX2"
                                                                    : "portable");
#endif
}

static void test_eligibility(void **state)
{
    (void)state;
    struct fx_lif_curr_exp p = {.p11 = 1 << 29, .p21e = 5, .p21i = 0, .shift = 30,
                                .p22e = {1 << 30, 30}, .p22i = {0, 1}};
    assert_true(fx_soa_curr_ok(&p));
    p.shift = 0; /* outside fx_dot3's shifts */
    assert_false(fx_soa_curr_ok(&p));
    p.shift = 61;
    assert_false(fx_soa_curr_ok(&p));
    p.shift = 60;
    assert_true(fx_soa_curr_ok(&p));
    p.p22e = (struct fx_mult){(1 << 30) + 1, 30}; /* a decay above 1 */
    assert_false(fx_soa_curr_ok(&p));
    p.p22e = (struct fx_mult){-1, 30}; /* a negative decay */
    assert_false(fx_soa_curr_ok(&p));
    struct fx_lif_cond_exp c = {.k_leak = 3, .kg_e = {1, 1}, .kg_i = {1, 1},
                                .p22e = {1, 1}, .p22i = {2, 1}};
    assert_true(fx_soa_cond_ok(&c));
    c.p22i = (struct fx_mult){3, 1};
    assert_false(fx_soa_cond_ok(&c));
#ifdef FX_HAVE_X86_SIMD
    /* the AVX2 form takes shifts up to 32 */
    p.shift = 32, p.p22e = (struct fx_mult){1, 32};
    assert_true(fx_soa_curr_avx2_ok(&p));
    p.shift = 33;
    assert_false(fx_soa_curr_avx2_ok(&p));
    p.shift = 32, p.p22i = (struct fx_mult){1, 33};
    assert_false(fx_soa_curr_avx2_ok(&p));
    c.p22i = (struct fx_mult){1, 1}, c.kg_e = (struct fx_mult){1, 32};
    assert_true(fx_soa_cond_avx2_ok(&c));
    c.kg_i = (struct fx_mult){1, 33};
    assert_false(fx_soa_cond_avx2_ok(&c));
    c.kg_i = (struct fx_mult){1, 32}, c.k_leak = INT32_MIN; /* -k_leak beyond int32 */
    assert_false(fx_soa_cond_avx2_ok(&c));
    c.k_leak = INT32_MIN + 1;
    assert_true(fx_soa_cond_avx2_ok(&c));
#endif
}

/* Whether b is a widest set of bounds: it fits, and no bound can grow alone. */
static int widest(int (*fits)(const void *, struct fx_soa_bounds), const void *p,
                  struct fx_soa_bounds b)
{
    struct fx_soa_bounds e = b, i = b;
    e.xe_bits++, i.xi_bits++;
    return fits(p, b) && (b.xe_bits == 30 || !fits(p, e)) && (b.xi_bits == 30 || !fits(p, i));
}

/* The bounds by a linear search from the top, which the bisection of
 * fx_soa_widest must match. */
static struct fx_soa_bounds linear_widest(int (*fits)(const void *, struct fx_soa_bounds),
                                          const void *p)
{
    struct fx_soa_bounds b = {8, 8, FX_SOA_V_BITS};
    if (!fits(p, b))
        return (struct fx_soa_bounds){0, 0, 0};
    for (int x = 30; x > 8; x--)
        if (fits(p, (struct fx_soa_bounds){x, x, FX_SOA_V_BITS})) {
            b.xe_bits = b.xi_bits = x;
            break;
        }
    for (int x = 30; x > b.xe_bits; x--)
        if (fits(p, (struct fx_soa_bounds){x, b.xi_bits, FX_SOA_V_BITS})) {
            b.xe_bits = x;
            break;
        }
    for (int x = 30; x > b.xi_bits; x--)
        if (fits(p, (struct fx_soa_bounds){b.xe_bits, x, FX_SOA_V_BITS})) {
            b.xi_bits = x;
            break;
        }
    return b;
}

static void same_bounds(struct fx_soa_bounds a, struct fx_soa_bounds b)
{
    if (a.xe_bits != b.xe_bits || a.xi_bits != b.xi_bits || a.v_bits != b.v_bits)
        fail_msg("bounds %d %d %d, linear search %d %d %d", a.xe_bits, a.xi_bits, a.v_bits,
                 b.xe_bits, b.xi_bits, b.v_bits);
}

/* The bounds are the widest that pass the fits test, each receptor's its
 * own, and extreme parameters get none. */
static void test_bounds(void **state)
{
    (void)state;
    struct fx_lif_curr_exp p = {.v_rest = -3211264, .shift = 30, .p11 = 1068386514,
                                .p21e = 17179223, .p21i = 95917727, .p22e = {1, 1},
                                .p22i = {1, 1}};
    struct fx_soa_bounds b = fx_soa_curr_bounds(&p);
    assert_int_equal(b.xe_bits, 30);
    assert_int_equal(b.xi_bits, 30);
    assert_int_equal(b.v_bits, FX_SOA_V_BITS);
    /* 2^11 per LSB (and the others at the shift that allows): inputs below 2^19 */
    p.shift = 19, p.p11 = 521673, p.p21e = INT32_MAX >> 1, p.p21i = 46835;
    b = fx_soa_curr_bounds(&p);
    assert_true(widest(fx_soa_curr_fits_any, &p, b));
    assert_int_equal(b.xe_bits, 18);
    assert_int_equal(b.xi_bits, 30); /* the inhibitory side keeps its range */
    p.v_off = INT32_MAX;
    assert_int_equal(fx_soa_curr_bounds(&p).xe_bits, 0);
    /* COBA's: an inhibitory weight LSB is about eleven times an
     * excitatory one in conductance, so the excitatory input goes further */
    struct fx_lif_cond_exp c = {.v_rest = -3932160, .e_rev_i = -5242880,
                                .k_leak = 5368709, .kg_e = {824658887, 23},
                                .kg_i = {575543182, 19}, .p22e = {1, 1}, .p22i = {1, 1}};
    b = fx_soa_cond_bounds(&c);
    assert_true(widest(fx_soa_cond_fits_any, &c, b));
    assert_true(b.xi_bits >= 16);
    assert_true(b.xe_bits >= b.xi_bits + 3);
    c.e_rev_e = INT32_MAX;
    assert_int_equal(fx_soa_cond_bounds(&c).xe_bits, 0);
    /* the bisection finds what a linear search finds, on parameters whose
     * bounds spread over the whole range */
    for (int t = 0; t < 3000; t++) {
        struct fx_lif_curr_exp u = {
            .v_rest = -(int32_t)(next() % (1u << (next() % 31))), .shift = 1 + (int)(next() % 60),
            .p11 = (int32_t)(next() >> (next() % 32)), .p21e = (int32_t)(next() >> (next() % 32)),
            .p21i = (int32_t)(next() >> (next() % 32)), .v_off = (int32_t)(next() >> (next() % 32)),
            .p22e = {1, 1}, .p22i = {1, 1}};
        same_bounds(fx_soa_curr_bounds(&u), linear_widest(fx_soa_curr_fits_any, &u));
        struct fx_lif_cond_exp k = {
            .v_rest = -3932160, .e_rev_i = -5242880, .e_rev_e = (int32_t)(next() % (1u << 28)),
            .k_leak = (int32_t)(next() >> (next() % 32)), .kg_e = coef(10), .kg_i = coef(10),
            .v_off = (int32_t)(next() >> (next() % 32)), .p22e = {1, 1}, .p22i = {1, 1}};
        same_bounds(fx_soa_cond_bounds(&k), linear_widest(fx_soa_cond_fits_any, &k));
    }
}

/* ---- float64: the slice steps of ir/sim_float.h against fl_step ---------------- *
 *
 * Bit for bit (the same IEEE operations in the same order), on random
 * parameters, states (refractory or not) and inputs (in one trial up to
 * 1e300, far beyond any network's), on slices with ragged ends. */

#define FL_TRIALS 40
#define FL_STEPS 300

/* Uniform in [a, b), all 53 bits random. */
static double uni(double a, double b)
{
    uint64_t r = (uint64_t)next() << 32 | next();
    return a + (b - a) * ldexp((double)(r >> 11), -53);
}

static struct fl_par fl_params(bool cond)
{
    struct fl_par p = {0};
    p.v_rest = uni(-70, -50);
    p.v_reset = uni(-70, -55);
    p.v_thresh = uni(-55, -40);
    p.v_off = uni(-0.01, 0.05);
    p.p22e = uni(0.9, 1);
    p.p22i = uni(0.9, 1);
    if (cond) {
        p.k_leak = uni(0.001, 0.02);
        p.ke = p.ki = uni(0.1, 1);
        p.e_rev_e = uni(-5, 5);
        p.e_rev_i = uni(-90, -70);
    } else {
        p.p11 = uni(0.99, 1);
        p.p21e = uni(0, 0.5);
        p.p21i = uni(0, 0.5);
    }
    p.refrac_steps = (uint32_t)(next() % 30);
    return p;
}

static bool same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void run_float(bool cond, enum form f)
{
    if (!runs(f))
        skip();
    const enum snn_model m = cond ? SNN_MODEL_LIF_COND_EXP : SNN_MODEL_LIF_CURR_EXP;
    int spikes = 0;
    for (int trial = 0; trial < FL_TRIALS; trial++) {
        struct fl_par p = fl_params(cond);
        struct fl_state ref[N];
        double v[N], xe[N], xi[N], ie[N], ii[N], ie0[N], ii0[N];
        uint32_t refrac[N], fired[N];
        for (int i = 0; i < N; i++) {
            ref[i] = (struct fl_state){uni(-70, -45), uni(0, 0.1), uni(0, 0.1), 0.0,
                                       next() % 4 ? 0 : (uint32_t)(next() % 5)};
            v[i] = ref[i].v, xe[i] = ref[i].xe, xi[i] = ref[i].xi, refrac[i] = ref[i].refrac;
        }
        struct fl_lif_soa s = {v, xe, xi, refrac};
        for (int step = 0; step < FL_STEPS; step++) {
            for (int i = 0; i < N; i++) {
                ie0[i] = ie[i] = next() % 3 ? 0.0 : uni(0, trial == 0 ? 1e300 : 0.05);
                ii0[i] = ii[i] = next() % 3 ? 0.0 : uni(0, 0.05);
            }
            uint32_t lo = (uint32_t)(step % 21), hi = N - (uint32_t)(step % 19);
            uint32_t nf = float_form(f, cond, &p, lo, hi, s, ie, ii, fired);
            uint32_t k = 0;
            for (uint32_t i = 0; i < N; i++) {
                if (i < lo || i >= hi) {
                    if (!same_bits(ie[i], ie0[i]) || !same_bits(ii[i], ii0[i]) ||
                        !same_bits(v[i], ref[i].v) || !same_bits(xe[i], ref[i].xe) ||
                        !same_bits(xi[i], ref[i].xi) || refrac[i] != ref[i].refrac)
                        fail_msg("step %d touched neuron %u outside [%u, %u)", step, i, lo, hi);
                    continue;
                }
                if (ie[i] != 0.0 || ii[i] != 0.0)
                    fail_msg("input word %u not consumed", i);
                if (fl_step(m, &p, &ref[i], ie0[i], ii0[i])) {
                    assert_true(k < nf);
                    assert_int_equal(fired[k++], i);
                }
                if (!same_bits(v[i], ref[i].v) || !same_bits(xe[i], ref[i].xe) ||
                    !same_bits(xi[i], ref[i].xi) || refrac[i] != ref[i].refrac)
                    fail_msg("%s trial %d step %d neuron %u: v %.17g xe %.17g refrac %u, "
                             "want %.17g %.17g %u (form %d)",
                             cond ? "cond" : "curr", trial, step, i, v[i], xe[i], refrac[i],
                             ref[i].v, ref[i].xe, ref[i].refrac, f);
            }
            assert_int_equal(k, nf);
            spikes += (int)nf;
        }
    }
    assert_true(spikes > 1000); /* thresholds and resets were exercised */
}

static void run_float_curr(enum form f) { run_float(false, f); }
static void run_float_cond(enum form f) { run_float(true, f); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        FORM_ENTRIES(test_curr),       FORM_ENTRIES(test_cond),
        FORM_ENTRIES(test_corners),    FORM_ENTRIES(test_threshold),
        FORM_ENTRIES(test_float_curr),
        FORM_ENTRIES(test_float_cond), cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_eligibility), cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_kernels.c: the population kernels of ir/kernels.c (vector
 * and portable forms) against the neuron steps of abi/neuron.h, state for
 * state, on random parameters and inputs, including saturating ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "abi/neuron.h"
#include "ir/kernels_int.h"

#define N 203 /* not a multiple of 8: the vector loop's tail runs too */

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

static int32_t input(int wide)
{
    switch (next() % 8) {
    case 0: return wide ? (int32_t)next() : (int32_t)(next() % 65536) - 32768;
    case 1: return (int32_t)(next() % 2048) - 1024;
    default: return 0;
    }
}

static void run_curr(int scalar)
{
    snn__kernels_scalar_only = scalar;
    for (int trial = 0; trial < 40; trial++) {
        struct fx_lif_curr_exp p = {
            .v_rest = -65 * FX_ONE_MV + (int32_t)(next() % 65536),
            .v_reset = -70 * FX_ONE_MV, .v_thresh = -50 * FX_ONE_MV - (int32_t)(next() % 100000),
            .v_off = (int32_t)(next() % 20000), .p11 = coef(20), .p21e = coef(14),
            .p21i = coef(14), .p22e = coef(20), .p22i = coef(20),
            .refrac_steps = next() % 30,
        };
        if (trial == 0) { /* extremes: saturation everywhere */
            p.p21e = (struct fx_mult){INT32_MAX, 1};
            p.v_off = INT32_MAX;
            p.v_rest = INT32_MIN;
        }
        struct fx_lif_state ref[N];
        int32_t v[N], xe[N], xi[N], ie[N], ii[N];
        uint32_t refrac[N], fired[N];
        for (int i = 0; i < N; i++) {
            ref[i] = (struct fx_lif_state){(int32_t)next(), (int32_t)next() >> (next() % 32),
                                           (int32_t)next() >> (next() % 32), next() % 3};
            v[i] = ref[i].v, xe[i] = ref[i].xe, xi[i] = ref[i].xi, refrac[i] = ref[i].refrac;
        }
        struct snn__lif_soa s = {v, xe, xi, refrac};
        for (int step = 0; step < 300; step++) {
            for (int i = 0; i < N; i++)
                ie[i] = input(trial < 4), ii[i] = -input(trial < 4);
            uint32_t lo = step % 2 ? 0 : (uint32_t)(step % 7), hi = N - (uint32_t)(step % 5);
            uint32_t nf = snn__lif_curr_exp_soa(&p, lo, hi, s, ie, ii, fired), k = 0;
            for (uint32_t i = lo; i < hi; i++) {
                int f = fx_lif_curr_exp_step(&p, &ref[i], ie[i], ii[i]);
                if (f) {
                    assert_true(k < nf);
                    assert_int_equal(fired[k++], i);
                }
                if (ref[i].v != v[i] || ref[i].xe != xe[i] || ref[i].xi != xi[i] ||
                    ref[i].refrac != refrac[i])
                    fail_msg("curr trial %d step %d neuron %u differs (scalar=%d)", trial, step,
                             i, scalar);
            }
            assert_int_equal(k, nf);
        }
    }
}

static void run_cond(int scalar)
{
    snn__kernels_scalar_only = scalar;
    for (int trial = 0; trial < 40; trial++) {
        struct fx_lif_cond_exp p = {
            .v_rest = -60 * FX_ONE_MV, .v_reset = -60 * FX_ONE_MV,
            .v_thresh = -50 * FX_ONE_MV + (int32_t)(next() % 100000),
            .e_rev_e = 0, .e_rev_i = -80 * FX_ONE_MV, .v_off = (int32_t)(next() % 20000),
            .k_leak = coef(30), .kg_e = coef(10), .kg_i = coef(10), .p22e = coef(20),
            .p22i = coef(20), .refrac_steps = next() % 50,
        };
        if (trial == 0) {
            p.kg_e = (struct fx_mult){INT32_MAX, 1};
            p.e_rev_e = INT32_MAX;
        }
        struct fx_lif_state ref[N];
        int32_t v[N], xe[N], xi[N], ie[N], ii[N];
        uint32_t refrac[N], fired[N];
        for (int i = 0; i < N; i++) {
            ref[i] = (struct fx_lif_state){-55 * FX_ONE_MV + (int32_t)(next() % 600000),
                                           (int32_t)(next() % 100000),
                                           (int32_t)(next() % 100000), next() % 3};
            v[i] = ref[i].v, xe[i] = ref[i].xe, xi[i] = ref[i].xi, refrac[i] = ref[i].refrac;
        }
        struct snn__lif_soa s = {v, xe, xi, refrac};
        for (int step = 0; step < 300; step++) {
            for (int i = 0; i < N; i++)
                ie[i] = input(trial < 4) & 0x7fffffff, ii[i] = input(trial < 4) & 0x7fffffff;
            uint32_t nf = snn__lif_cond_exp_soa(&p, 0, N, s, ie, ii, fired), k = 0;
            for (uint32_t i = 0; i < N; i++) {
                if (fx_lif_cond_exp_step(&p, &ref[i], ie[i], ii[i])) {
                    assert_true(k < nf);
                    assert_int_equal(fired[k++], i);
                }
                if (ref[i].v != v[i] || ref[i].xe != xe[i] || ref[i].xi != xi[i] ||
                    ref[i].refrac != refrac[i])
                    fail_msg("cond trial %d step %d neuron %u differs (scalar=%d)", trial, step,
                             i, scalar);
            }
            assert_int_equal(k, nf);
        }
    }
}

static void test_curr_vector(void **state) { (void)state; run_curr(0); }
static void test_curr_scalar(void **state) { (void)state; run_curr(1); }
static void test_cond_vector(void **state) { (void)state; run_cond(0); }
static void test_cond_scalar(void **state) { (void)state; run_cond(1); }

static void test_eligibility(void **state)
{
    (void)state;
    assert_true(snn__soa_eligible((struct fx_mult){5, 3}));
    assert_true(snn__soa_eligible((struct fx_mult){0, 0}));
    assert_false(snn__soa_eligible((struct fx_mult){5, 0}));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curr_vector), cmocka_unit_test(test_curr_scalar),
        cmocka_unit_test(test_cond_vector), cmocka_unit_test(test_cond_scalar),
        cmocka_unit_test(test_eligibility),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

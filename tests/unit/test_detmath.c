/*
 * tests/unit/test_detmath.c: ir/detmath.c against libm.
 *
 * The reference is libm in long double (64-bit significand on x86-64),
 * whose error is far below one ULP of a double; the error of the function
 * under test is measured in ULPs of the double result.  cos(2 pi u) is
 * referenced through a reduction of its own (to the nearest quarter turn,
 * then sinl/cosl of a small angle) so that results near its zeros are
 * judged by their relative error, not by the error of 2 pi u.  Where long
 * double is no wider than double the ULP tests are skipped.
 *
 * The points come from a fixed xorshift generator: the run is the same
 * every time.  Pinned bit patterns (computed once with this
 * implementation, not from any outside source) catch any change of the
 * results, which would change every random weight a network has.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/detmath.h"

/* The error bound the tests hold the functions to. */
#define MAX_ULP 2.0L

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t next_u64(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* Uniform in [lo, hi). */
static double uniform(double lo, double hi)
{
    return lo + (hi - lo) * ((double)(next_u64() >> 11) * 0x1p-53);
}

static uint64_t bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static double from_bits(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* |got - ref| in ULPs of the double nearest ref. */
static long double ulp_err(double got, long double ref)
{
    double r = (double)ref;
    if (r == 0.0 && got == 0.0)
        return 0;
    double a = fabs(r);
    long double ulp;
    if (a < DBL_MIN)
        ulp = 0x1p-1074L;
    else {
        int e;
        frexp(a, &e); /* a = m 2^e, m in [0.5, 1) */
        ulp = ldexpl(1.0L, e - 53);
    }
    return fabsl((long double)got - ref) / ulp;
}

static bool wide_long_double(void)
{
    return LDBL_MANT_DIG >= 64;
}

struct worst {
    long double err;
    double at;
};

static void track(struct worst *w, long double err, double x)
{
    if (err > w->err) {
        w->err = err;
        w->at = x;
    }
}

static void test_exp_accuracy(void **state)
{
    (void)state;
    if (!wide_long_double())
        skip();
    struct worst w = {0, 0};
    for (int t = 0; t < 400000; t++) {
        double x;
        switch (t % 4) {
        case 0: x = uniform(-745.0, 709.78); break;
        case 1: x = uniform(-1.0, 1.0); break;
        case 2: x = uniform(-20.0, 20.0); break;
        default: x = uniform(-1.0, 1.0) * ldexp(1.0, -(int)(next_u64() % 60)); break;
        }
        track(&w, ulp_err(snn_det_exp(x), expl((long double)x)), x);
    }
    /* Deep underflow: results are subnormal. */
    for (int t = 0; t < 20000; t++) {
        double x = uniform(-745.1, -708.0);
        track(&w, ulp_err(snn_det_exp(x), expl((long double)x)), x);
    }
    print_message("exp: worst %.3Lf ULP at %.17g\n", w.err, w.at);
    assert_true(w.err <= MAX_ULP);
}

static void test_expm1_accuracy(void **state)
{
    (void)state;
    if (!wide_long_double())
        skip();
    struct worst w = {0, 0};
    for (int t = 0; t < 400000; t++) {
        double x;
        switch (t % 4) {
        case 0: x = uniform(-45.0, 709.78); break;
        case 1: x = uniform(-1.5, 1.5); break;
        case 2: x = uniform(-0.6, 0.6); break;
        default: x = uniform(-1.0, 1.0) * ldexp(1.0, -(int)(next_u64() % 1000)); break;
        }
        track(&w, ulp_err(snn_det_expm1(x), expm1l((long double)x)), x);
    }
    print_message("expm1: worst %.3Lf ULP at %.17g\n", w.err, w.at);
    assert_true(w.err <= MAX_ULP);
}

static void test_log_accuracy(void **state)
{
    (void)state;
    if (!wide_long_double())
        skip();
    struct worst w = {0, 0};
    for (int t = 0; t < 400000; t++) {
        double x;
        switch (t % 4) {
        case 0: /* any positive finite double, subnormals included */
            do
                x = from_bits(next_u64() >> 1);
            while (x == 0.0 || !isfinite(x));
            break;
        case 1: x = uniform(0.5, 2.0); break;
        case 2: x = 1.0 + uniform(-1.0, 1.0) * ldexp(1.0, -(int)(next_u64() % 50)); break;
        default: x = uniform(0.0, 1.0) * ldexp(1.0, -1022); break; /* subnormal */
        }
        if (x <= 0.0)
            continue;
        track(&w, ulp_err(snn_det_log(x), logl((long double)x)), x);
    }
    print_message("log: worst %.3Lf ULP at %.17g\n", w.err, w.at);
    assert_true(w.err <= MAX_ULP);
}

/* cos(2 pi u) in long double, reduced to the nearest quarter turn. */
static long double cos2pi_ref(double u)
{
    long double f = (long double)u - truncl((long double)u); /* exact */
    if (f < 0)
        f += 1.0L; /* exact in long double: f has at most 53 significant bits */
    long double n = roundl(4.0L * f);
    long double d = f - n / 4.0L; /* exact: |d| <= 1/8 */
    long double a = 2.0L * 3.14159265358979323846264338327950288L * d;
    switch ((int)n) {
    case 0:
    case 4: return cosl(a);
    case 1: return -sinl(a);
    case 2: return -cosl(a);
    default: return sinl(a);
    }
}

static void test_cos2pi_accuracy(void **state)
{
    (void)state;
    if (!wide_long_double())
        skip();
    struct worst w = {0, 0};
    for (int t = 0; t < 400000; t++) {
        double u;
        switch (t % 4) {
        case 0: u = uniform(0.0, 1.0); break;
        case 1: u = uniform(-1000.0, 1000.0); break;
        case 2: /* near the zeros and extremes */
            u = (double)(next_u64() % 8) / 8.0 +
                uniform(-1.0, 1.0) * ldexp(1.0, -(int)(next_u64() % 50));
            break;
        default: u = uniform(-1.0, 1.0) * ldexp(1.0, (int)(next_u64() % 52)); break;
        }
        track(&w, ulp_err(snn_det_cos2pi(u), cos2pi_ref(u)), u);
    }
    print_message("cos2pi: worst %.3Lf ULP at %.17g\n", w.err, w.at);
    assert_true(w.err <= MAX_ULP);
}

static void test_special_values(void **state)
{
    (void)state;
    double inf = INFINITY;
    assert_true(snn_det_exp(0.0) == 1.0);
    assert_true(snn_det_exp(-inf) == 0.0);
    assert_true(snn_det_exp(inf) == inf);
    assert_true(snn_det_exp(710.0) == inf);
    assert_true(snn_det_exp(-746.0) == 0.0);
    assert_true(isnan(snn_det_exp(NAN)));
    assert_true(snn_det_exp(709.78) < inf && snn_det_exp(709.78) > 1e308);
    assert_true(snn_det_exp(-745.0) > 0.0); /* subnormal, not flushed */
    assert_true(snn_det_exp(1e-300) == 1.0);

    assert_true(snn_det_expm1(0.0) == 0.0);
    assert_true(signbit(snn_det_expm1(-0.0)));
    assert_true(snn_det_expm1(1e-300) == 1e-300);
    assert_true(snn_det_expm1(-inf) == -1.0);
    assert_true(snn_det_expm1(-50.0) == -1.0);
    assert_true(snn_det_expm1(inf) == inf);
    assert_true(isnan(snn_det_expm1(NAN)));

    assert_true(snn_det_log(1.0) == 0.0);
    assert_true(snn_det_log(0.0) == -inf);
    assert_true(snn_det_log(inf) == inf);
    assert_true(isnan(snn_det_log(-1.0)));
    assert_true(isnan(snn_det_log(NAN)));
    assert_true(snn_det_log(2.0) == 0x1.62e42fefa39efp-1); /* ln 2 correctly rounded */
    assert_true(fabs(snn_det_log(0x1p-1074) + 744.44007192138126) < 1e-12);

    assert_true(snn_det_cos2pi(0.0) == 1.0);
    assert_true(snn_det_cos2pi(0.25) == 0.0);
    assert_true(snn_det_cos2pi(0.5) == -1.0);
    assert_true(snn_det_cos2pi(0.75) == 0.0);
    assert_true(snn_det_cos2pi(1.0) == 1.0);
    assert_true(snn_det_cos2pi(-0.25) == 0.0);
    assert_true(snn_det_cos2pi(-3.5) == -1.0);
    assert_true(snn_det_cos2pi(1e300) == 1.0);
    assert_true(snn_det_cos2pi(0x1p52 + 1.0) == 1.0);
    assert_true(fabs(snn_det_cos2pi(0.125) - 0.70710678118654752) < 2e-16);
    assert_true(isnan(snn_det_cos2pi(inf)));
    assert_true(isnan(snn_det_cos2pi(NAN)));
    /* Periodic and even exactly, wherever u mod 1 is exact. */
    for (int t = 0; t < 10000; t++) {
        double u = uniform(0.0, 1.0);
        assert_true(snn_det_cos2pi(u) == snn_det_cos2pi(-u));
        assert_true(snn_det_cos2pi(u + 7.0) == snn_det_cos2pi((u + 7.0) - 7.0));
    }
}

static void test_u01(void **state)
{
    (void)state;
    assert_true(snn_u01(0, 0) == 0.0);
    assert_true(snn_u01(0, 1u << 11) == 0x1p-53);
    assert_true(snn_u01(0, (1u << 11) - 1) == 0.0); /* low 11 bits of lo unused */
    assert_true(snn_u01(1, 0) == 0x1p-32);
    assert_true(snn_u01(0x80000000u, 0) == 0.5);
    assert_true(snn_u01(UINT32_MAX, UINT32_MAX) == 1.0 - 0x1p-53);
    assert_true(snn_u01(UINT32_MAX, UINT32_MAX) < 1.0);
}

/* batched(x) into y, and in place in z (a copy of x), give one()'s bits
 * for each of x[0 .. n), NaNs' too. */
static void check_batched(const char *name, void (*batched)(const double *, double *, size_t),
                          double (*one)(double), const double *x, double *y, double *z,
                          size_t n)
{
    batched(x, y, n);
    memcpy(z, x, n * sizeof *x);
    batched(z, z, n);
    for (size_t i = 0; i < n; i++) {
        uint64_t want = bits(one(x[i]));
        if (bits(y[i]) != want || bits(z[i]) != want)
            fail_msg("%s(%a): batched %a / %a, alone %a", name, x[i], y[i], z[i],
                     from_bits(want));
    }
}

/* Short runs of a batched function (the last group of a batch), values in
 * [lo, hi) with one odd lane anywhere: one()'s bits, NaNs' too, and
 * nothing written past the end. */
static void short_runs(const char *name, void (*batched)(const double *, double *, size_t),
                       double (*one)(double), const double *odd, size_t n_odd, double lo,
                       double hi)
{
    double x[8], y[8];
    for (size_t len = 1; len <= 7; len++)
        for (size_t at = 0; at <= len; at++)
            for (size_t w = 0; w < n_odd; w++) {
                for (size_t i = 0; i < len; i++)
                    x[i] = i == at ? odd[w] : uniform(lo, hi);
                y[len] = 42.0;
                batched(x, y, len);
                assert_true(y[len] == 42.0);
                for (size_t i = 0; i < len; i++)
                    if (bits(y[i]) != bits(one(x[i])))
                        fail_msg("%s(%a) of %zu: batched %a, alone %a", name, x[i], len, y[i],
                                 one(x[i]));
            }
}

/* snn_det_log_n gives snn_det_log's bits: on positive doubles of every
 * size (the vector form's exponent and its sqrt(2) fold), on 1 - u (what
 * expansion asks), and on groups of four with one lane the vector form
 * must not take (zero, subnormal, negative, infinite, NaN: one at a
 * time), at every length and in place. */
static void test_log_batched(void **state)
{
    (void)state;
    enum { N = 6151 };
    static double x[N], y[N], z[N];
    const double odd[] = {0.0,  -0.0, 0x1p-1074, 1e-310, -1.0,     -INFINITY,
                          INFINITY, NAN, DBL_MAX, DBL_MIN, 0x1.6a09e667f3bcdp0,
                          0x1.6a09e667f3bccp0, 0x1.6a09e667f3bcep0};
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < N; i++) {
            switch ((i + round) % 5) {
            case 0:
                do
                    x[i] = from_bits(next_u64() >> 1);
                while (x[i] == 0.0 || !isfinite(x[i]) || x[i] < DBL_MIN);
                break;
            case 1: x[i] = 1.0 - (double)(next_u64() >> 11) * 0x1p-53; break;
            case 2: x[i] = uniform(0.6, 1.5); break;
            case 3: x[i] = ldexp(uniform(1.0, 2.0), (int)(next_u64() % 2000) - 1000); break;
            default: x[i] = 1.0 + uniform(-1.0, 1.0) * ldexp(1.0, -(int)(next_u64() % 50)); break;
            }
        }
        if (round % 2) /* one odd lane in some groups */
            for (int i = round; i < N; i += 37)
                x[i] = odd[(size_t)i % (sizeof odd / sizeof odd[0])];
        check_batched("log", snn_det_log_n, snn_det_log, x, y, z, N - (size_t)round % 4);
    }
    short_runs("log", snn_det_log_n, snn_det_log, odd, sizeof odd / sizeof odd[0], 0.01, 100.0);
    /* Where the significand is sqrt(2), or next to it, at every exponent:
     * the two ways of folding it give different last bits at some. */
    size_t n = 0;
    for (int e = -1022; e <= 1023; e++)
        for (int d = -1; d <= 1; d++)
            x[n++] = ldexp(from_bits(bits(0x1.6a09e667f3bcdp0) + (uint64_t)(int64_t)d), e);
    snn_det_log_n(x, y, n);
    for (size_t i = 0; i < n; i++)
        if (bits(y[i]) != bits(snn_det_log(x[i])))
            fail_msg("log(%a): batched %a, alone %a", x[i], y[i], snn_det_log(x[i]));
}

/* snn_det_cos2pi_n gives snn_det_cos2pi's bits: on u in [0, 1) (what
 * expansion asks), on doubles of every size and sign, at and next to the
 * points where the reduction changes branch (k/8, and the zeros of u mod
 * 1), and on groups of four with one lane the vector form must not take
 * (NaN of either sign, infinite, 2^52 and up; a NaN's bits too), at every
 * length and in place. */
static void test_cos2pi_batched(void **state)
{
    (void)state;
    enum { N = 6151 };
    static double x[N], y[N], z[N];
    const double odd[] = {NAN, -NAN, INFINITY, -INFINITY, 0x1p52, -0x1p52, 0x1p60, DBL_MAX,
                          -0.0};
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < N; i++) {
            switch ((i + round) % 5) {
            case 0: x[i] = (double)(next_u64() >> 11) * 0x1p-53; break;
            case 1: x[i] = uniform(-3.0, 3.0); break;
            case 2: {
                double k = (double)(next_u64() % 17) / 8.0 - 1.0, d = ldexp(1.0, -50);
                x[i] = k + (double)((int)(next_u64() % 5) - 2) * d;
                break;
            }
            case 3: x[i] = ldexp(uniform(-1.0, 1.0), (int)(next_u64() % 120) - 60); break;
            default:
                do
                    x[i] = from_bits(next_u64());
                while (isnan(x[i]));
                break;
            }
        }
        if (round % 2)
            for (int i = round; i < N; i += 37)
                x[i] = odd[(size_t)i % (sizeof odd / sizeof odd[0])];
        check_batched("cos2pi", snn_det_cos2pi_n, snn_det_cos2pi, x, y, z,
                      N - (size_t)round % 4);
    }
    short_runs("cos2pi", snn_det_cos2pi_n, snn_det_cos2pi, odd, sizeof odd / sizeof odd[0], 0.0,
               1.0);
}

/* snn_philox4x32_n gives snn_philox4x32's words for every counter, at
 * every length up to 40 and from every offset (the vector form takes
 * eight counters, the rest go one by one), with keys whose halves and
 * counters whose words take every bit, and counters at their extremes. */
static void test_philox_batched(void **state)
{
    (void)state;
    enum { N = 48 };
    uint32_t c0[N], c1[N];
    struct snn_philox_out out[N + 1];
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < N; i++) {
            uint64_t r = next_u64();
            c0[i] = (uint32_t)r;
            c1[i] = (uint32_t)(r >> 32);
            if ((i + round) % 7 == 0)
                c0[i] = (i & 1) ? UINT32_MAX : 0;
            if ((i + round) % 5 == 0)
                c1[i] = (i & 2) ? UINT32_MAX : 0;
        }
        uint64_t key = round % 3 == 0 ? (uint64_t)round : next_u64();
        uint32_t c2 = (uint32_t)next_u64(), c3 = round % 2 ? UINT32_MAX : (uint32_t)round;
        size_t n = (size_t)round % 41, off = (size_t)round % 8;
        out[n] = (struct snn_philox_out){{0x5A5A5A5Au, 1, 2, 3}}; /* one past: untouched */
        snn_philox4x32_n(c0 + off, c1 + off, c2, c3, key, out, n);
        for (size_t i = 0; i < n; i++) {
            struct snn_philox_out want = snn_philox4x32(c0[off + i], c1[off + i], c2, c3, key);
            if (memcmp(&out[i], &want, sizeof want))
                fail_msg("round %d, counter %zu of %zu: %08x %08x %08x %08x, want %08x %08x "
                         "%08x %08x", round, i, n, out[i].v[0], out[i].v[1], out[i].v[2],
                         out[i].v[3], want.v[0], want.v[1], want.v[2], want.v[3]);
        }
        assert_int_equal(out[n].v[0], 0x5A5A5A5Au);
    }
}

/* Golden bit patterns, computed once with this implementation. */
static void test_pinned_bits(void **state)
{
    (void)state;
    struct {
        double (*f)(double);
        double x;
        uint64_t want;
    } pins[] = {
        {snn_det_exp, 1.0, 0x4005bf0a8b14576au},
        {snn_det_exp, -0.1, 0x3fecf46d99d52b3au},
        {snn_det_exp, 123.456, 0x4b11428e1cbc0143u},
        {snn_det_expm1, 1e-3, 0x3f506466dfb8cf3au},
        {snn_det_expm1, -0.75, 0xbfe0e25f8a081941u},
        {snn_det_log, 3.0, 0x3ff193ea7aad030bu},
        {snn_det_log, 1e-310, 0xc0864e69394d9508u},
        {snn_det_cos2pi, 0.1, 0x3fe9e3779b97f4a8u},
        {snn_det_cos2pi, 0.3, 0xbfd3c6ef372fe94eu},
        {snn_det_cos2pi, 12.34, 0xbfe1257e3c182b4au},
    };
    bool print = getenv("SNN_PRINT_PINS") != NULL;
    for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++) {
        uint64_t got = bits(pins[i].f(pins[i].x));
        if (print)
            printf("pin %zu: 0x%016llxu\n", i, (unsigned long long)got);
        else
            assert_int_equal(got, pins[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_accuracy),   cmocka_unit_test(test_expm1_accuracy),
        cmocka_unit_test(test_log_accuracy),   cmocka_unit_test(test_cos2pi_accuracy),
        cmocka_unit_test(test_special_values), cmocka_unit_test(test_u01),
        cmocka_unit_test(test_pinned_bits),    cmocka_unit_test(test_log_batched),
        cmocka_unit_test(test_cos2pi_batched), cmocka_unit_test(test_philox_batched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

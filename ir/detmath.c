/*
 * ir/detmath.c: exp, expm1, log and cos(2 pi u) that give the same bits on
 * every machine, and the 53-bit uniform double of two 32-bit draws.
 *
 * Takes doubles, gives doubles.  Only IEEE-754 double +, -, *, / and sqrt
 * (each correctly rounded, so the same everywhere) and exact bit
 * manipulation are used: no libm call, no long double, no table that a C
 * library could fill differently.  The build turns floating-point
 * contraction off (-ffp-contract=off), and the #error below refuses a
 * compiler that evaluates doubles in a wider format, so every operation
 * rounds once, to double, as written.
 *
 * Method (each polynomial is a truncated Taylor series whose first
 * omitted term is below 2^-60 of the result over the reduced range, with
 * coefficients correctly rounded to double):
 *   exp, expm1: x = k ln2 + r with |r| <= ln2/2 (Cody-Waite: ln2 split in
 *     a 32-bit head, so k * LN2_HI is exact, and a tail); expm1(r) by a
 *     degree-17 series; exp(x) = 2^k (1 + expm1(r)), expm1(x) =
 *     2^k expm1(r) + (2^k - 1), both scalings exact.  |x| <= 1/2 goes to
 *     the series directly for expm1, which keeps its relative accuracy.
 *   log: x = 2^e m, m in [sqrt(2)/2, sqrt(2)), f = m - 1 (exact),
 *     s = f / (2 + f), log(1 + f) = 2 atanh(s) rearranged as
 *     f - (f^2/2 - s (f^2/2 + R(s^2))) so that the large part f is exact.
 *   cos2pi: u mod 1 is exact in doubles; the symmetries of cos about 0,
 *     1/4 and 1/2 (each subtraction exact by Sterbenz's lemma) bring the
 *     argument to [0, 1/8], where a series in t for cos(2 pi t) or
 *     sin(2 pi t) is evaluated.  cos2pi(1/4) is exactly 0.
 * Measured worst error against libm in long double over 400,000 points
 * each (tests/unit/test_detmath.c, which requires <= 2 ULP): exp 0.93,
 * expm1 1.06, log 1.12, cos2pi 1.54 ULP.
 */
#include "ir/detmath.h"

#include <float.h>
#include <stdbool.h>
#include <string.h>

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "detmath needs double arithmetic evaluated in double (FLT_EVAL_METHOD == 0)"
#endif

/* ln 2 = LN2_HI + LN2_LO; LN2_HI has 32 significant bits (low 21 bits of
 * its significand zero), so k * LN2_HI is exact for |k| < 2^21. */
static const double LN2_HI = 0.69314718036912382;   /* 0x3FE62E42FEE00000 */
static const double LN2_LO = 1.9082149292705877e-10;
static const double INV_LN2 = 1.4426950408889634;
static const double SQRT2 = 1.4142135623730951;

static double from_bits(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static uint64_t to_bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* 2^k for normal exponents, -1022 <= k <= 1023. */
static double pow2(int k)
{
    return from_bits((uint64_t)(k + 1023) << 52);
}

/* y * 2^k with one rounding (the last multiply), for y in [0.5, 2] and
 * any k the callers produce (-1080 .. 1025). */
static double scale(double y, int k)
{
    if (k > 1023)
        return y * pow2(1023) * pow2(k - 1023);
    if (k < -1020) /* result may be subnormal: exact step, then one rounding */
        return y * pow2(k + 600) * pow2(-600);
    return y * pow2(k);
}

/* Nearest integer to x (ties away from zero), for |x| < 2^31. */
static int round_int(double x)
{
    return (int)(x >= 0 ? x + 0.5 : x - 0.5);
}

/* expm1(r) for |r| <= 1/2: r + r^2 (1/2! + r/3! + ... + r^15/17!). */
static double expm1_series(double r)
{
    static const double c[] = {
        0.5,
        0.16666666666666666,
        0.041666666666666664,
        0.0083333333333333332,
        0.0013888888888888889,
        0.00019841269841269841,
        2.4801587301587302e-05,
        2.7557319223985893e-06,
        2.7557319223985888e-07,
        2.505210838544172e-08,
        2.08767569878681e-09,
        1.6059043836821613e-10,
        1.1470745597729725e-11,
        7.6471637318198164e-13,
        4.7794773323873853e-14,
        2.8114572543455206e-15,
    };
    enum { N = sizeof c / sizeof c[0] };
    double p = c[N - 1];
    for (int i = N - 2; i >= 0; i--)
        p = c[i] + r * p;
    return r + (r * r) * p;
}

/* x = k ln2 + r, |r| <= ln2/2 (plus rounding). */
static double reduce_ln2(double x, int *k)
{
    *k = round_int(x * INV_LN2);
    double dk = *k;
    return (x - dk * LN2_HI) - dk * LN2_LO;
}

/* Beyond these exp(x) rounds to +inf or to +0: ln(DBL_MAX) = 709.78..,
 * ln(2^-1075) = -745.13.. (half the smallest subnormal rounds to 0). */
#define EXP_OVER 709.8
#define EXP_UNDER (-745.2)

double snn_det_exp(double x)
{
    if (x != x)
        return x + x; /* NaN */
    if (x > EXP_OVER)
        return from_bits(0x7FF0000000000000u);
    if (x < EXP_UNDER)
        return 0.0;
    int k;
    double r = reduce_ln2(x, &k);
    return scale(1.0 + expm1_series(r), k);
}

double snn_det_expm1(double x)
{
    if (x != x)
        return x + x;
    if (x > EXP_OVER)
        return from_bits(0x7FF0000000000000u);
    if (x < -40.0) /* e^x < 2^-57: the result rounds to -1 */
        return -1.0;
    if (x == 0.0)
        return x; /* keeps the sign of zero */
    if (x >= -0.5 && x <= 0.5)
        return expm1_series(x);
    int k;
    double r = reduce_ln2(x, &k);
    double em = expm1_series(r);
    if (k > 56) /* 2^k - 1 is not exact and the -1 is below half an ULP */
        return scale(1.0 + em, k) - 1.0;
    /* 2^k em is exact; 2^k - 1 is exact for -53 <= k <= 53, and k >= -58
     * here, where 2^k - 1 rounds like the whole result would anyway. */
    double p = pow2(k);
    return p * em + (p - 1.0);
}

/* The series of log: 2 / (2n + 1), n = 1 .. 11. */
static const double LOG_C[] = {
    0.66666666666666663,  0.40000000000000002, 0.2857142857142857,   0.22222222222222221,
    0.18181818181818182,  0.15384615384615385, 0.13333333333333333,  0.11764705882352941,
    0.10526315789473684,  0.095238095238095233, 0.086956521739130432,
};
enum { LOG_N = sizeof LOG_C / sizeof LOG_C[0] };

double snn_det_log(double x)
{
    uint64_t b = to_bits(x);
    if (x != x || x == from_bits(0x7FF0000000000000u))
        return x + x; /* NaN, +inf */
    if (x == 0.0)
        return -from_bits(0x7FF0000000000000u);
    if (x < 0.0)
        return (x - x) / (x - x); /* NaN */
    int e = 0;
    if ((b >> 52) == 0) { /* subnormal: scale into the normal range, exactly */
        x *= pow2(54);
        e = -54;
        b = to_bits(x);
    }
    e += (int)(b >> 52) - 1023;
    double m = from_bits((b & 0x000FFFFFFFFFFFFFu) | 0x3FF0000000000000u); /* [1, 2) */
    if (m > SQRT2) {
        m *= 0.5;
        e += 1;
    }
    double f = m - 1.0; /* exact: m in [0.70, 1.42] */
    double s = f / (2.0 + f);
    double z = s * s;
    double p = LOG_C[LOG_N - 1];
    for (int i = LOG_N - 2; i >= 0; i--)
        p = LOG_C[i] + z * p;
    double R = z * p; /* 2 atanh(s) = 2 s + s R */
    double hfsq = 0.5 * f * f;
    double log1pf = f - (hfsq - s * (hfsq + R));
    double de = e;
    /* e * LN2_HI is exact; the small terms are summed first. */
    return de * LN2_HI + (log1pf + de * LN2_LO);
}

/*
 * The batched logarithm: four at a time with AVX2 where the processor has
 * it (chosen at run time; the binary stays portable), one at a time
 * otherwise.  The vector form is snn_det_log's arithmetic, operation for
 * operation in the same order, on four positive normal doubles: the
 * exponent is taken from the bits (2^52 + E, minus 2^52, minus 1023: all
 * exact), the rest is IEEE +, -, *, / lane by lane, so every lane has
 * snn_det_log's bits.  A group with a lane that is not a positive normal
 * double (zero, subnormal, negative, infinite, NaN) goes one at a time.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DET_X86 1
#include <immintrin.h>

/* The logarithms of the four lanes of x into *y, if all four are
 * positive normal doubles; false (and *y untouched) otherwise. */
__attribute__((target("avx2"))) static inline bool log4_avx2(__m256d x, __m256d *y)
{
    const __m256d one = _mm256_set1_pd(1.0), half = _mm256_set1_pd(0.5);
    __m256i b = _mm256_castpd_si256(x);
    __m256i E = _mm256_srli_epi64(b, 52); /* sign and exponent */
    __m256i normal = _mm256_and_si256(_mm256_cmpgt_epi64(E, _mm256_setzero_si256()),
                                      _mm256_cmpgt_epi64(_mm256_set1_epi64x(0x7FF), E));
    if (_mm256_movemask_pd(_mm256_castsi256_pd(normal)) != 0xF)
        return false;
    __m256d m = _mm256_castsi256_pd(_mm256_or_si256(
        _mm256_and_si256(b, _mm256_set1_epi64x(0x000FFFFFFFFFFFFF)),
        _mm256_set1_epi64x(0x3FF0000000000000)));
    __m256d e52 = _mm256_castsi256_pd(_mm256_or_si256(E, _mm256_set1_epi64x(0x4330000000000000)));
    __m256d de = _mm256_sub_pd(_mm256_sub_pd(e52, _mm256_set1_pd(0x1p52)), _mm256_set1_pd(1023.0));
    __m256d big = _mm256_cmp_pd(m, _mm256_set1_pd(SQRT2), _CMP_GT_OQ);
    m = _mm256_blendv_pd(m, _mm256_mul_pd(m, half), big);
    de = _mm256_add_pd(de, _mm256_and_pd(big, one));
    __m256d f = _mm256_sub_pd(m, one);
    __m256d s = _mm256_div_pd(f, _mm256_add_pd(_mm256_set1_pd(2.0), f));
    __m256d z = _mm256_mul_pd(s, s);
    __m256d p = _mm256_set1_pd(LOG_C[LOG_N - 1]);
    for (int k = LOG_N - 2; k >= 0; k--)
        p = _mm256_add_pd(_mm256_set1_pd(LOG_C[k]), _mm256_mul_pd(z, p));
    __m256d R = _mm256_mul_pd(z, p);
    __m256d hfsq = _mm256_mul_pd(_mm256_mul_pd(half, f), f);
    __m256d log1pf =
        _mm256_sub_pd(f, _mm256_sub_pd(hfsq, _mm256_mul_pd(s, _mm256_add_pd(hfsq, R))));
    __m256d lo = _mm256_add_pd(log1pf, _mm256_mul_pd(de, _mm256_set1_pd(LN2_LO)));
    *y = _mm256_add_pd(_mm256_mul_pd(de, _mm256_set1_pd(LN2_HI)), lo);
    return true;
}

/* y[i] = one(x[i]) for i < n, four at a time by four(), which may decline
 * a group (one() then takes its lanes).  A last two or three go as a
 * group of four whose other lanes are `fill`; a last one alone goes by
 * itself, which is no slower.  Inlined with the functions as constants,
 * so four() is inlined too. */
__attribute__((target("avx2"), always_inline)) static inline void
batch_avx2(bool (*four)(__m256d, __m256d *), double (*one)(double), double fill, const double *x,
           double *y, size_t n)
{
    size_t i = 0;
    __m256d r;
    for (; i + 4 <= n; i += 4) {
        if (four(_mm256_loadu_pd(x + i), &r))
            _mm256_storeu_pd(y + i, r);
        else
            for (size_t k = i; k < i + 4; k++)
                y[k] = one(x[k]);
    }
    if (i + 1 >= n) {
        if (i < n)
            y[i] = one(x[i]);
        return;
    }
    __m256i lanes = _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(n - i)),
                                       _mm256_setr_epi64x(0, 1, 2, 3));
    __m256d t = _mm256_blendv_pd(_mm256_set1_pd(fill), _mm256_maskload_pd(x + i, lanes),
                                 _mm256_castsi256_pd(lanes));
    if (four(t, &r))
        _mm256_maskstore_pd(y + i, lanes, r);
    else
        for (; i < n; i++)
            y[i] = one(x[i]);
}

__attribute__((target("avx2"))) static void log_n_avx2(const double *x, double *y, size_t n)
{
    batch_avx2(log4_avx2, snn_det_log, 1.0, x, y, n);
}

static bool have_avx2(void)
{
    static int have = -1; /* threads may ask at once: atomics */
    int h = __atomic_load_n(&have, __ATOMIC_RELAXED);
    if (h < 0) {
        h = __builtin_cpu_supports("avx2") ? 1 : 0;
        __atomic_store_n(&have, h, __ATOMIC_RELAXED);
    }
    return h;
}
#endif

void snn_det_log_n(const double *x, double *y, size_t n)
{
#ifdef DET_X86
    if (have_avx2()) {
        log_n_avx2(x, y, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++)
        y[i] = snn_det_log(x[i]);
}

/* cos(2 pi t) = sum COS_C[n] t^(2n), sin(2 pi t) = t sum SIN_C[n] t^(2n),
 * for t in [0, 1/8]. */
static const double COS_C[] = { /* (-1)^n (2 pi)^(2n) / (2n)!, n = 0 .. 10 */
    1.0,
    -19.739208802178716,
    64.939394022668296,
    -85.456817206693728,
    60.244641371876661,
    -26.426256783374399,
    7.9035363713184692,
    -1.714390711088672,
    0.28200596845579123,
    -0.036382841142545669,
    0.0037798342006800396,
};
static const double SIN_C[] = { /* (-1)^n (2 pi)^(2n+1) / (2n+1)!, n = 0 .. 9 */
    6.2831853071795862,
    -41.341702240399762,
    81.605249276075057,
    -76.705859753061389,
    42.058693944897655,
    -15.09464257682299,
    3.819952584848282,
    -0.71812230177850056,
    0.10422916220813984,
    -0.012031585942120627,
};
enum { COS_N = sizeof COS_C / sizeof COS_C[0], SIN_N = sizeof SIN_C / sizeof SIN_C[0] };

static double cos_kernel(double t)
{
    double z = t * t;
    double p = COS_C[COS_N - 1];
    for (int i = COS_N - 2; i >= 1; i--)
        p = COS_C[i] + z * p;
    return 1.0 + z * p;
}

static double sin_kernel(double t)
{
    double z = t * t;
    double p = SIN_C[SIN_N - 1];
    for (int i = SIN_N - 2; i >= 0; i--)
        p = SIN_C[i] + z * p;
    return t * p;
}

double snn_det_cos2pi(double u)
{
    if (u != u || u - u != 0.0)
        return (u - u) / (u - u); /* NaN, +-inf: NaN */
    /* From 2^52 up every double is an integer, and cos(2 pi n) = 1. */
    if (u >= 4503599627370496.0 || u <= -4503599627370496.0)
        return 1.0;
    double f = u - (double)(int64_t)u; /* u mod 1, exact, in (-1, 1) */
    if (f < 0)
        f = -f;                 /* cos is even */
    if (f > 0.5)
        f = 1.0 - f;            /* cos(2 pi f) = cos(2 pi (1 - f)) */
    bool neg = false;
    if (f > 0.25) {
        f = 0.5 - f;            /* cos(2 pi f) = -cos(2 pi (1/2 - f)) */
        neg = true;
    }
    double r = f > 0.125 ? sin_kernel(0.25 - f) /* cos(2 pi f) = sin(2 pi (1/4 - f)) */
                         : cos_kernel(f);
    return neg ? -r : r;
}

#ifdef DET_X86
/* cos(2 pi u) of the four lanes of u into *y, if all four lie within
 * |u| < 2^52 (not NaN); false (and *y untouched) otherwise.  The steps of
 * snn_det_cos2pi lane by lane, with both series evaluated and each lane
 * keeping its own.  Where they differ (u mod 1 is -0 or +0, |f| of -0),
 * the result does not: cos_kernel(-0) and cos_kernel(+0) are both 1. */
__attribute__((target("avx2"))) static inline bool cos2pi4_avx2(__m256d u, __m256d *y)
{
    const __m256d sign = _mm256_set1_pd(-0.0), one = _mm256_set1_pd(1.0),
                  half = _mm256_set1_pd(0.5), quarter = _mm256_set1_pd(0.25);
    __m256d inside = _mm256_cmp_pd(_mm256_andnot_pd(sign, u), _mm256_set1_pd(0x1p52), _CMP_LT_OQ);
    if (_mm256_movemask_pd(inside) != 0xF)
        return false;
    __m256d f = _mm256_sub_pd(u, _mm256_round_pd(u, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC));
    f = _mm256_andnot_pd(sign, f);
    f = _mm256_blendv_pd(f, _mm256_sub_pd(one, f), _mm256_cmp_pd(f, half, _CMP_GT_OQ));
    __m256d neg = _mm256_cmp_pd(f, quarter, _CMP_GT_OQ);
    f = _mm256_blendv_pd(f, _mm256_sub_pd(half, f), neg);
    __m256d use_sin = _mm256_cmp_pd(f, _mm256_set1_pd(0.125), _CMP_GT_OQ);
    __m256d t = _mm256_blendv_pd(f, _mm256_sub_pd(quarter, f), use_sin);
    __m256d z = _mm256_mul_pd(t, t);
    __m256d c = _mm256_set1_pd(COS_C[COS_N - 1]), sn = _mm256_set1_pd(SIN_C[SIN_N - 1]);
    for (int i = COS_N - 2; i >= 1; i--)
        c = _mm256_add_pd(_mm256_set1_pd(COS_C[i]), _mm256_mul_pd(z, c));
    c = _mm256_add_pd(one, _mm256_mul_pd(z, c));
    for (int i = SIN_N - 2; i >= 0; i--)
        sn = _mm256_add_pd(_mm256_set1_pd(SIN_C[i]), _mm256_mul_pd(z, sn));
    sn = _mm256_mul_pd(t, sn);
    *y = _mm256_xor_pd(_mm256_blendv_pd(c, sn, use_sin), _mm256_and_pd(neg, sign));
    return true;
}

__attribute__((target("avx2"))) static void cos2pi_n_avx2(const double *x, double *y, size_t n)
{
    batch_avx2(cos2pi4_avx2, snn_det_cos2pi, 0.0, x, y, n);
}
#endif

void snn_det_cos2pi_n(const double *x, double *y, size_t n)
{
#ifdef DET_X86
    if (have_avx2()) {
        cos2pi_n_avx2(x, y, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++)
        y[i] = snn_det_cos2pi(x[i]);
}

/* ---- Philox, several counters at a time --------------------------------- */

#ifdef DET_X86
/* Eight counters at once: lane j of x0..x3 is counter j's word.  The
 * 32x32->64 products of the even lanes and, shifted down, of the odd ones
 * are put back in their lanes (low and high halves). */
__attribute__((target("avx2"))) static void philox8_avx2(const uint32_t *c0, const uint32_t *c1,
                                                         uint32_t c2, uint32_t c3, uint64_t key,
                                                         struct snn_philox_out *out)
{
    __m256i x0 = _mm256_loadu_si256((const __m256i *)c0);
    __m256i x1 = _mm256_loadu_si256((const __m256i *)c1);
    __m256i x2 = _mm256_set1_epi32((int32_t)c2), x3 = _mm256_set1_epi32((int32_t)c3);
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    const __m256i m0 = _mm256_set1_epi64x(0xD2511F53), m1 = _mm256_set1_epi64x(0xCD9E8D57);
    for (int r = 0; r < 10; r++) {
        __m256i e0 = _mm256_mul_epu32(x0, m0), o0 = _mm256_mul_epu32(_mm256_srli_epi64(x0, 32), m0);
        __m256i e1 = _mm256_mul_epu32(x2, m1), o1 = _mm256_mul_epu32(_mm256_srli_epi64(x2, 32), m1);
        __m256i lo0 = _mm256_blend_epi32(e0, _mm256_slli_epi64(o0, 32), 0xAA);
        __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(e0, 32), o0, 0xAA);
        __m256i lo1 = _mm256_blend_epi32(e1, _mm256_slli_epi64(o1, 32), 0xAA);
        __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(e1, 32), o1, 0xAA);
        x0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), _mm256_set1_epi32((int32_t)k0));
        x1 = lo1;
        x2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), _mm256_set1_epi32((int32_t)k1));
        x3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    uint32_t w[4][8];
    _mm256_storeu_si256((__m256i *)w[0], x0);
    _mm256_storeu_si256((__m256i *)w[1], x1);
    _mm256_storeu_si256((__m256i *)w[2], x2);
    _mm256_storeu_si256((__m256i *)w[3], x3);
    for (int j = 0; j < 8; j++)
        out[j] = (struct snn_philox_out){{w[0][j], w[1][j], w[2][j], w[3][j]}};
}
#endif

void snn_philox4x32_n(const uint32_t *c0, const uint32_t *c1, uint32_t c2, uint32_t c3,
                      uint64_t key, struct snn_philox_out *out, size_t n)
{
    size_t i = 0;
#ifdef DET_X86
    if (have_avx2())
        for (; i + 8 <= n; i += 8)
            philox8_avx2(c0 + i, c1 + i, c2, c3, key, out + i);
#endif
    for (; i < n; i++)
        out[i] = snn_philox4x32(c0[i], c1[i], c2, c3, key);
}

/*
 * ir/kernels.c: population steps for shared parameters (see
 * ir/kernels_int.h).
 *
 * The arithmetic is that of abi/fixed.h restated on 64-bit lanes: a
 * signed 32x32 product, the rounding term, an arithmetic shift, one
 * saturation; selects take the place of abi/neuron.h's branches.  A
 * decay coefficient in [0, 1] maps an int32 to an int32, so its product
 * skips the saturation (snn__soa_*_ok checks the coefficients once).
 * Each kernel has a portable scalar form and, on x86-64, an AVX-512 form
 * of eight neurons a step.
 */
#include "ir/kernels_int.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX512 1
#endif

static inline int64_t sat(int64_t x)
{
    return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : x;
}

/* A coefficient with its rounding term; the kernels need s > 0, and
 * m = 0 with s = 0 is the same as s = 1. */
struct kmul {
    int32_t m;
    int s;
    int64_t r;
};

static inline struct kmul kmul(struct fx_mult k)
{
    int s = k.s > 0 ? k.s : 1;
    return (struct kmul){k.m, s, (int64_t)1 << (s - 1)};
}

static inline int64_t mul(int64_t a, struct kmul k)
{
    return sat(((int64_t)(int32_t)a * k.m + k.r) >> k.s);
}

static int usable(struct fx_mult k) { return k.s > 0 || k.m == 0; }

static int unit(struct fx_mult k)
{
    return usable(k) && k.m >= 0 && k.s < 62 && (int64_t)k.m <= (int64_t)1 << k.s;
}

int snn__soa_curr_ok(const struct fx_lif_curr_exp *p)
{
    return unit(p->p11) && usable(p->p21e) && usable(p->p21i) && unit(p->p22e) &&
           unit(p->p22i);
}

int snn__soa_cond_ok(const struct fx_lif_cond_exp *p)
{
    return usable(p->k_leak) && usable(p->kg_e) && usable(p->kg_i) && unit(p->p22e) &&
           unit(p->p22i);
}

/* ---- scalar forms ---------------------------------------------------------- */

static uint32_t curr_scalar(const struct fx_lif_curr_exp *p, uint32_t lo, uint32_t hi,
                            struct snn__lif_soa s, int32_t *ie, int32_t *ii, uint32_t *fired)
{
    const struct kmul p11 = kmul(p->p11), p21e = kmul(p->p21e), p21i = kmul(p->p21i),
                      p22e = kmul(p->p22e), p22i = kmul(p->p22i);
    uint32_t nf = 0;
    for (uint32_t i = lo; i < hi; i++) {
        int64_t e = sat(s.xe[i] + ie[i]), in = sat(s.xi[i] + ii[i]);
        ie[i] = ii[i] = 0;
        if (s.refrac[i]) {
            s.refrac[i]--;
        } else {
            int64_t v = sat(p->v_rest + mul(sat(s.v[i] - p->v_rest), p11) + mul(e, p21e) +
                            mul(in, p21i) + p->v_off);
            if (v >= p->v_thresh) {
                v = p->v_reset;
                s.refrac[i] = p->refrac_steps;
                fired[nf++] = i;
            }
            s.v[i] = v;
        }
        s.xe[i] = mul(e, p22e);
        s.xi[i] = mul(in, p22i);
    }
    return nf;
}

static uint32_t cond_scalar(const struct fx_lif_cond_exp *p, uint32_t lo, uint32_t hi,
                            struct snn__lif_soa s, int32_t *ie, int32_t *ii, uint32_t *fired)
{
    const struct kmul k_leak = kmul(p->k_leak), kg_e = kmul(p->kg_e), kg_i = kmul(p->kg_i),
                      p22e = kmul(p->p22e), p22i = kmul(p->p22i);
    const int64_t rg = (int64_t)1 << (FX_COND_GAMMA_SHIFT - 1);
    uint32_t nf = 0;
    for (uint32_t i = lo; i < hi; i++) {
        int64_t e = sat(s.xe[i] + ie[i]), in = sat(s.xi[i] + ii[i]);
        ie[i] = ii[i] = 0;
        if (s.refrac[i]) {
            s.refrac[i]--;
        } else {
            int64_t v = s.v[i];
            struct kmul ge = {(int32_t)mul(e, kg_e), FX_COND_GAMMA_SHIFT, rg};
            struct kmul gi = {(int32_t)mul(in, kg_i), FX_COND_GAMMA_SHIFT, rg};
            v = sat(v + mul(sat(p->v_rest - v), k_leak) + mul(sat(p->e_rev_e - v), ge) +
                    mul(sat(p->e_rev_i - v), gi) + p->v_off);
            if (v >= p->v_thresh) {
                v = p->v_reset;
                s.refrac[i] = p->refrac_steps;
                fired[nf++] = i;
            }
            s.v[i] = v;
        }
        s.xe[i] = mul(e, p22e);
        s.xi[i] = mul(in, p22i);
    }
    return nf;
}

/* ---- AVX-512 forms ---------------------------------------------------------- */

#ifdef HAVE_AVX512
#define AVX512 __attribute__((target("avx512f")))

struct vmul {
    __m512i m, r;
    __m128i s;
};

AVX512 static inline struct vmul vmul(struct fx_mult k)
{
    struct kmul q = kmul(k);
    return (struct vmul){_mm512_set1_epi64(q.m), _mm512_set1_epi64(q.r), _mm_cvtsi32_si128(q.s)};
}

AVX512 static inline __m512i vsat(__m512i x)
{
    x = _mm512_min_epi64(x, _mm512_set1_epi64(INT32_MAX));
    return _mm512_max_epi64(x, _mm512_set1_epi64(INT32_MIN));
}

/* Lanes hold int32 values sign-extended to 64 bits; _mm512_mul_epi32
 * multiplies the low halves as signed numbers into a 64-bit product. */
AVX512 static inline __m512i vprod(__m512i a, struct vmul k)
{
    return _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, k.m), k.r), k.s);
}

#define VMUL(a, k) vsat(vprod((a), (k)))

AVX512 static inline __m512i vload(const int64_t *p) { return _mm512_loadu_si512(p); }

/* Consumes eight input words: returns them widened and stores zeros. */
AVX512 static inline __m512i vtake(int32_t *p)
{
    __m512i x = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)p));
    _mm256_storeu_si256((__m256i *)p, _mm256_setzero_si256());
    return x;
}

/* The refractory and threshold logic shared by both models: nv is the
 * integrated voltage, used where the neuron is not refractory. */
AVX512 static inline uint32_t finish(uint32_t i, struct snn__lif_soa s, __m512i v, __m512i nv,
                                     __m512i thresh, __m512i reset, __m512i steps,
                                     uint32_t *fired)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i r = vload(s.refrac + i);
    __mmask8 free = _mm512_cmpeq_epi64_mask(r, zero);
    __mmask8 fire = _mm512_mask_cmpge_epi64_mask(free, nv, thresh);
    v = _mm512_mask_blend_epi64(free, v, nv);
    v = _mm512_mask_blend_epi64(fire, v, reset);
    r = _mm512_mask_sub_epi64(zero, (__mmask8)~free, r, _mm512_set1_epi64(1));
    r = _mm512_mask_blend_epi64(fire, r, steps);
    _mm512_storeu_si512(s.v + i, v);
    _mm512_storeu_si512(s.refrac + i, r);
    uint32_t nf = 0;
    for (unsigned m = fire; m; m &= m - 1)
        fired[nf++] = i + (uint32_t)__builtin_ctz(m);
    return nf;
}

AVX512 static uint32_t curr_avx512(const struct fx_lif_curr_exp *p, uint32_t lo, uint32_t hi,
                                   struct snn__lif_soa s, int32_t *ie, int32_t *ii,
                                   uint32_t *fired)
{
    const struct vmul p11 = vmul(p->p11), p21e = vmul(p->p21e), p21i = vmul(p->p21i),
                      p22e = vmul(p->p22e), p22i = vmul(p->p22i);
    const __m512i v_rest = _mm512_set1_epi64(p->v_rest), v_off = _mm512_set1_epi64(p->v_off);
    const __m512i thresh = _mm512_set1_epi64(p->v_thresh), reset = _mm512_set1_epi64(p->v_reset);
    const __m512i steps = _mm512_set1_epi64(p->refrac_steps);
    uint32_t nf = 0, i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m512i e = vsat(_mm512_add_epi64(vload(s.xe + i), vtake(ie + i)));
        __m512i in = vsat(_mm512_add_epi64(vload(s.xi + i), vtake(ii + i)));
        __m512i v = vload(s.v + i);
        __m512i nv = _mm512_add_epi64(v_rest, vprod(vsat(_mm512_sub_epi64(v, v_rest)), p11));
        nv = _mm512_add_epi64(nv, VMUL(e, p21e));
        nv = _mm512_add_epi64(nv, VMUL(in, p21i));
        nv = vsat(_mm512_add_epi64(nv, v_off));
        nf += finish(i, s, v, nv, thresh, reset, steps, fired + nf);
        _mm512_storeu_si512(s.xe + i, vprod(e, p22e));
        _mm512_storeu_si512(s.xi + i, vprod(in, p22i));
    }
    return nf + curr_scalar(p, i, hi, s, ie, ii, fired + nf);
}

AVX512 static uint32_t cond_avx512(const struct fx_lif_cond_exp *p, uint32_t lo, uint32_t hi,
                                   struct snn__lif_soa s, int32_t *ie, int32_t *ii,
                                   uint32_t *fired)
{
    const struct vmul k_leak = vmul(p->k_leak), kg_e = vmul(p->kg_e), kg_i = vmul(p->kg_i),
                      p22e = vmul(p->p22e), p22i = vmul(p->p22i);
    const __m512i v_rest = _mm512_set1_epi64(p->v_rest), v_off = _mm512_set1_epi64(p->v_off);
    const __m512i e_rev_e = _mm512_set1_epi64(p->e_rev_e), e_rev_i = _mm512_set1_epi64(p->e_rev_i);
    const __m512i thresh = _mm512_set1_epi64(p->v_thresh), reset = _mm512_set1_epi64(p->v_reset);
    const __m512i steps = _mm512_set1_epi64(p->refrac_steps);
    const __m512i rg = _mm512_set1_epi64((int64_t)1 << (FX_COND_GAMMA_SHIFT - 1));
    const __m128i sg = _mm_cvtsi32_si128(FX_COND_GAMMA_SHIFT);
    uint32_t nf = 0, i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m512i e = vsat(_mm512_add_epi64(vload(s.xe + i), vtake(ie + i)));
        __m512i in = vsat(_mm512_add_epi64(vload(s.xi + i), vtake(ii + i)));
        __m512i v = vload(s.v + i);
        struct vmul ge = {VMUL(e, kg_e), rg, sg}, gi = {VMUL(in, kg_i), rg, sg};
        __m512i dv = VMUL(vsat(_mm512_sub_epi64(v_rest, v)), k_leak);
        dv = _mm512_add_epi64(dv, VMUL(vsat(_mm512_sub_epi64(e_rev_e, v)), ge));
        dv = _mm512_add_epi64(dv, VMUL(vsat(_mm512_sub_epi64(e_rev_i, v)), gi));
        __m512i nv = vsat(_mm512_add_epi64(v, _mm512_add_epi64(dv, v_off)));
        nf += finish(i, s, v, nv, thresh, reset, steps, fired + nf);
        _mm512_storeu_si512(s.xe + i, vprod(e, p22e));
        _mm512_storeu_si512(s.xi + i, vprod(in, p22i));
    }
    return nf + cond_scalar(p, i, hi, s, ie, ii, fired + nf);
}
#endif

int snn__kernels_scalar_only;

static int use_avx512(void)
{
#ifdef HAVE_AVX512
    static int have = -1;
    if (have < 0)
        have = __builtin_cpu_supports("avx512f");
    return have && !snn__kernels_scalar_only;
#else
    return 0;
#endif
}

uint32_t snn__lif_curr_exp_soa(const struct fx_lif_curr_exp *p, uint32_t lo, uint32_t hi,
                               struct snn__lif_soa s, int32_t *ie, int32_t *ii, uint32_t *fired)
{
#ifdef HAVE_AVX512
    if (use_avx512())
        return curr_avx512(p, lo, hi, s, ie, ii, fired);
#endif
    return curr_scalar(p, lo, hi, s, ie, ii, fired);
}

uint32_t snn__lif_cond_exp_soa(const struct fx_lif_cond_exp *p, uint32_t lo, uint32_t hi,
                               struct snn__lif_soa s, int32_t *ie, int32_t *ii, uint32_t *fired)
{
#ifdef HAVE_AVX512
    if (use_avx512())
        return cond_avx512(p, lo, hi, s, ie, ii, fired);
#endif
    return cond_scalar(p, lo, hi, s, ie, ii, fired);
}

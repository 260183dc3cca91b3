/*
 * ir/kernels.c: population steps for shared parameters (see ir/kernels_int.h).
 *
 * The arithmetic is that of abi/fixed.h restated on 64-bit lanes: a
 * signed 32x32 product, the rounding term, an arithmetic shift, one
 * saturation; selects take the place of abi/neuron.h's branches.  Each
 * kernel has a portable scalar form and, on x86-64, an AVX-512 form of
 * eight neurons a step, chosen at run time when the processor has it.
 */
#include "ir/kernels_int.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX512 1
#endif

static inline int32_t sat(int64_t x)
{
    return (int32_t)(x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : x);
}

/* A coefficient with its rounding term.  The kernels need s > 0; m = 0
 * with s = 0 is the same as s = 1 (snn__soa_eligible). */
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

static inline int32_t mul(int32_t a, struct kmul k)
{
    return sat(((int64_t)a * k.m + k.r) >> k.s);
}

int snn__soa_eligible(struct fx_mult k)
{
    return k.s > 0 || k.m == 0;
}

/* ---- scalar forms ---------------------------------------------------------- */

static uint32_t curr_scalar(const struct fx_lif_curr_exp *p, uint32_t lo, uint32_t hi,
                            struct snn__lif_soa s, const int32_t *ie, const int32_t *ii,
                            uint32_t *fired)
{
    const struct kmul p11 = kmul(p->p11), p21e = kmul(p->p21e), p21i = kmul(p->p21i),
                      p22e = kmul(p->p22e), p22i = kmul(p->p22i);
    uint32_t nf = 0;
    for (uint32_t i = lo; i < hi; i++) {
        int32_t e = sat((int64_t)s.xe[i] + ie[i]);
        int32_t in = sat((int64_t)s.xi[i] + ii[i]);
        uint32_t r = s.refrac[i];
        if (r) {
            s.refrac[i] = r - 1;
        } else {
            int32_t v = sat((int64_t)p->v_rest + mul(sat((int64_t)s.v[i] - p->v_rest), p11) +
                            mul(e, p21e) + mul(in, p21i) + p->v_off);
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
                            struct snn__lif_soa s, const int32_t *ie, const int32_t *ii,
                            uint32_t *fired)
{
    const struct kmul k_leak = kmul(p->k_leak), kg_e = kmul(p->kg_e), kg_i = kmul(p->kg_i),
                      p22e = kmul(p->p22e), p22i = kmul(p->p22i);
    const int64_t rg = (int64_t)1 << (FX_COND_GAMMA_SHIFT - 1);
    uint32_t nf = 0;
    for (uint32_t i = lo; i < hi; i++) {
        int32_t e = sat((int64_t)s.xe[i] + ie[i]);
        int32_t in = sat((int64_t)s.xi[i] + ii[i]);
        uint32_t r = s.refrac[i];
        if (r) {
            s.refrac[i] = r - 1;
        } else {
            int32_t v = s.v[i];
            struct kmul ge = {mul(e, kg_e), FX_COND_GAMMA_SHIFT, rg};
            struct kmul gi = {mul(in, kg_i), FX_COND_GAMMA_SHIFT, rg};
            int64_t dv = (int64_t)mul(sat((int64_t)p->v_rest - v), k_leak) +
                         mul(sat((int64_t)p->e_rev_e - v), ge) +
                         mul(sat((int64_t)p->e_rev_i - v), gi) + p->v_off;
            v = sat(v + dv);
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

/* Lanes hold sign-extended int32 values; _mm512_mul_epi32 multiplies the
 * low 32 bits of each lane as signed numbers into a 64-bit product. */
AVX512 static inline __m512i vmulk(__m512i a, struct vmul k)
{
    return vsat(_mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, k.m), k.r), k.s));
}

AVX512 static inline __m512i load32(const int32_t *p)
{
    return _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)p));
}

AVX512 static inline __m512i loadu32(const uint32_t *p)
{
    return _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)p));
}

AVX512 static inline void store32(void *p, __m512i x)
{
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtepi64_epi32(x));
}

/* The refractory and threshold logic shared by both models: nv is the
 * integrated voltage, valid where the neuron is not refractory. */
AVX512 static inline uint32_t finish(uint32_t i, struct snn__lif_soa s, __m512i v, __m512i nv,
                                     __m512i r, __m512i thresh, __m512i reset, __m512i steps,
                                     uint32_t *fired)
{
    const __m512i zero = _mm512_setzero_si512();
    __mmask8 free = _mm512_cmpeq_epi64_mask(r, zero);
    __mmask8 fire = free & _mm512_cmpge_epi64_mask(nv, thresh);
    v = _mm512_mask_blend_epi64(free, v, nv);
    v = _mm512_mask_blend_epi64(fire, v, reset);
    r = _mm512_mask_blend_epi64(free, _mm512_sub_epi64(r, _mm512_set1_epi64(1)), zero);
    r = _mm512_mask_blend_epi64(fire, r, steps);
    store32(s.v + i, v);
    store32(s.refrac + i, r);
    uint32_t nf = 0;
    for (unsigned m = fire; m; m &= m - 1)
        fired[nf++] = i + (uint32_t)__builtin_ctz(m);
    return nf;
}

AVX512 static uint32_t curr_avx512(const struct fx_lif_curr_exp *p, uint32_t lo, uint32_t hi,
                                   struct snn__lif_soa s, const int32_t *ie, const int32_t *ii,
                                   uint32_t *fired)
{
    const struct vmul p11 = vmul(p->p11), p21e = vmul(p->p21e), p21i = vmul(p->p21i),
                      p22e = vmul(p->p22e), p22i = vmul(p->p22i);
    const __m512i v_rest = _mm512_set1_epi64(p->v_rest), v_off = _mm512_set1_epi64(p->v_off);
    const __m512i thresh = _mm512_set1_epi64(p->v_thresh), reset = _mm512_set1_epi64(p->v_reset);
    const __m512i steps = _mm512_set1_epi64(p->refrac_steps);
    uint32_t nf = 0, i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m512i e = vsat(_mm512_add_epi64(load32(s.xe + i), load32(ie + i)));
        __m512i in = vsat(_mm512_add_epi64(load32(s.xi + i), load32(ii + i)));
        __m512i v = load32(s.v + i);
        __m512i nv = _mm512_add_epi64(v_rest, vmulk(vsat(_mm512_sub_epi64(v, v_rest)), p11));
        nv = _mm512_add_epi64(nv, vmulk(e, p21e));
        nv = _mm512_add_epi64(nv, vmulk(in, p21i));
        nv = vsat(_mm512_add_epi64(nv, v_off));
        nf += finish(i, s, v, nv, loadu32(s.refrac + i), thresh, reset, steps, fired + nf);
        store32(s.xe + i, vmulk(e, p22e));
        store32(s.xi + i, vmulk(in, p22i));
    }
    return nf + curr_scalar(p, i, hi, s, ie, ii, fired + nf);
}

AVX512 static uint32_t cond_avx512(const struct fx_lif_cond_exp *p, uint32_t lo, uint32_t hi,
                                   struct snn__lif_soa s, const int32_t *ie, const int32_t *ii,
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
        __m512i e = vsat(_mm512_add_epi64(load32(s.xe + i), load32(ie + i)));
        __m512i in = vsat(_mm512_add_epi64(load32(s.xi + i), load32(ii + i)));
        __m512i v = load32(s.v + i);
        struct vmul ge = {vmulk(e, kg_e), rg, sg}, gi = {vmulk(in, kg_i), rg, sg};
        __m512i dv = vmulk(vsat(_mm512_sub_epi64(v_rest, v)), k_leak);
        dv = _mm512_add_epi64(dv, vmulk(vsat(_mm512_sub_epi64(e_rev_e, v)), ge));
        dv = _mm512_add_epi64(dv, vmulk(vsat(_mm512_sub_epi64(e_rev_i, v)), gi));
        __m512i nv = vsat(_mm512_add_epi64(v, _mm512_add_epi64(dv, v_off)));
        nf += finish(i, s, v, nv, loadu32(s.refrac + i), thresh, reset, steps, fired + nf);
        store32(s.xe + i, vmulk(e, p22e));
        store32(s.xi + i, vmulk(in, p22i));
    }
    return nf + cond_scalar(p, i, hi, s, ie, ii, fired + nf);
}

int snn__kernels_scalar_only;

static int use_avx512(void)
{
    static int have = -1;
    if (have < 0)
        have = __builtin_cpu_supports("avx512f");
    return have && !snn__kernels_scalar_only;
}
#else
int snn__kernels_scalar_only;
#endif

uint32_t snn__lif_curr_exp_soa(const struct fx_lif_curr_exp *p, uint32_t lo, uint32_t hi,
                               struct snn__lif_soa s, const int32_t *ie, const int32_t *ii,
                               uint32_t *fired)
{
#ifdef HAVE_AVX512
    if (use_avx512())
        return curr_avx512(p, lo, hi, s, ie, ii, fired);
#endif
    return curr_scalar(p, lo, hi, s, ie, ii, fired);
}

uint32_t snn__lif_cond_exp_soa(const struct fx_lif_cond_exp *p, uint32_t lo, uint32_t hi,
                               struct snn__lif_soa s, const int32_t *ie, const int32_t *ii,
                               uint32_t *fired)
{
#ifdef HAVE_AVX512
    if (use_avx512())
        return cond_avx512(p, lo, hi, s, ie, ii, fired);
#endif
    return cond_scalar(p, lo, hi, s, ie, ii, fired);
}

/*
 * abi/neuron_soa.h: whole-slice steps of the LIF models, for neurons that
 * share one parameter set.
 *
 * A population with constant parameters (the common case) steps all its
 * neurons with one loop: state as arrays (one per field, the layout of a
 * core's state region, docs/core-image.md), written without branches,
 * with an AVX-512 form chosen at run time on x86-64 hosts that have it
 * (the binary stays portable; the ARM build has the portable form only).
 * Each computes exactly what the matching step of abi/neuron.h computes,
 * neuron by neuron; tests/unit/test_kernels.c holds them to it.  The
 * reference simulator and the firmware kernel both use them.
 *
 * A step takes neurons [lo, hi), consumes their input words (setting them
 * to 0), writes the indices of the neurons that fired to fired[] in
 * ascending order and returns how many.  Values are worked on in 64 bits
 * and stored as the int32 words of the state.
 *
 * Freestanding: no libc, no allocation, no floating point.
 */
#ifndef SNN_ABI_NEURON_SOA_H
#define SNN_ABI_NEURON_SOA_H

#include <stdint.h>

#include "abi/neuron.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FX_HAVE_AVX512 1
#define FX_AVX512 __attribute__((target("avx512f")))
#endif

/* The state of a slice's LIF neurons, field by field (struct fx_lif_state
 * transposed). */
struct fx_lif_soa {
    int32_t *v, *xe, *xi;
    uint32_t *refrac;
};

static inline int64_t fx_soa_sat(int64_t x)
{
    return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : x;
}

/* A coefficient with its rounding term; the loops need s > 0, and m = 0
 * with s = 0 is the same as s = 1. */
struct fx_kmul {
    int32_t m;
    int s;
    int64_t r;
};

static inline struct fx_kmul fx_kmul(struct fx_mult k)
{
    int s = k.s > 0 ? k.s : 1;
    return (struct fx_kmul){k.m, s, (int64_t)1 << (s - 1)};
}

static inline int64_t fx_kmul_sat(int64_t a, struct fx_kmul k)
{
    return fx_soa_sat(((int64_t)(int32_t)a * k.m + k.r) >> k.s);
}

static inline int fx_soa_usable(struct fx_mult k) { return k.s > 0 || k.m == 0; }

static inline int fx_soa_unit(struct fx_mult k)
{
    return fx_soa_usable(k) && k.m >= 0 && k.s < 62 && (int64_t)k.m <= (int64_t)1 << k.s;
}

/* Whether a shared parameter set suits these loops: every coefficient
 * needs a shift > 0 (or a zero multiplier), and the decays (p11, p22:
 * always in [0, 1] for valid parameters) must be in [0, 1], so their
 * products cannot leave int32 and need no saturation. */
static inline int fx_soa_curr_ok(const struct fx_lif_curr_exp *p)
{
    return fx_soa_unit(p->p11) && fx_soa_usable(p->p21e) && fx_soa_usable(p->p21i) &&
           fx_soa_unit(p->p22e) && fx_soa_unit(p->p22i);
}

static inline int fx_soa_cond_ok(const struct fx_lif_cond_exp *p)
{
    return fx_soa_usable(p->k_leak) && fx_soa_usable(p->kg_e) && fx_soa_usable(p->kg_i) &&
           fx_soa_unit(p->p22e) && fx_soa_unit(p->p22i);
}

/* ---- portable forms ---------------------------------------------------------- */

static inline uint32_t fx_lif_curr_exp_soa_scalar(const struct fx_lif_curr_exp *p, uint32_t lo,
                                                  uint32_t hi, struct fx_lif_soa s, int32_t *ie,
                                                  int32_t *ii, uint32_t *fired)
{
    const struct fx_kmul p11 = fx_kmul(p->p11), p21e = fx_kmul(p->p21e),
                         p21i = fx_kmul(p->p21i), p22e = fx_kmul(p->p22e),
                         p22i = fx_kmul(p->p22i);
    uint32_t nf = 0;
    for (uint32_t i = lo; i < hi; i++) {
        int64_t e = fx_soa_sat((int64_t)s.xe[i] + ie[i]);
        int64_t in = fx_soa_sat((int64_t)s.xi[i] + ii[i]);
        ie[i] = ii[i] = 0;
        if (s.refrac[i]) {
            s.refrac[i]--;
        } else {
            int64_t leak = fx_kmul_sat(fx_soa_sat((int64_t)s.v[i] - p->v_rest), p11);
            int64_t v = fx_soa_sat(p->v_rest + leak + fx_kmul_sat(e, p21e) +
                                   fx_kmul_sat(in, p21i) + p->v_off);
            if (v >= p->v_thresh) {
                v = p->v_reset;
                s.refrac[i] = p->refrac_steps;
                fired[nf++] = i;
            }
            s.v[i] = (int32_t)v;
        }
        s.xe[i] = (int32_t)fx_kmul_sat(e, p22e);
        s.xi[i] = (int32_t)fx_kmul_sat(in, p22i);
    }
    return nf;
}

static inline uint32_t fx_lif_cond_exp_soa_scalar(const struct fx_lif_cond_exp *p, uint32_t lo,
                                                  uint32_t hi, struct fx_lif_soa s, int32_t *ie,
                                                  int32_t *ii, uint32_t *fired)
{
    const struct fx_kmul k_leak = fx_kmul(p->k_leak), kg_e = fx_kmul(p->kg_e),
                         kg_i = fx_kmul(p->kg_i), p22e = fx_kmul(p->p22e),
                         p22i = fx_kmul(p->p22i);
    const int64_t rg = (int64_t)1 << (FX_COND_GAMMA_SHIFT - 1);
    uint32_t nf = 0;
    for (uint32_t i = lo; i < hi; i++) {
        int64_t e = fx_soa_sat((int64_t)s.xe[i] + ie[i]);
        int64_t in = fx_soa_sat((int64_t)s.xi[i] + ii[i]);
        ie[i] = ii[i] = 0;
        if (s.refrac[i]) {
            s.refrac[i]--;
        } else {
            int64_t v = s.v[i];
            struct fx_kmul ge = {(int32_t)fx_kmul_sat(e, kg_e), FX_COND_GAMMA_SHIFT, rg};
            struct fx_kmul gi = {(int32_t)fx_kmul_sat(in, kg_i), FX_COND_GAMMA_SHIFT, rg};
            v = fx_soa_sat(v + fx_kmul_sat(fx_soa_sat(p->v_rest - v), k_leak) +
                           fx_kmul_sat(fx_soa_sat(p->e_rev_e - v), ge) +
                           fx_kmul_sat(fx_soa_sat(p->e_rev_i - v), gi) + p->v_off);
            if (v >= p->v_thresh) {
                v = p->v_reset;
                s.refrac[i] = p->refrac_steps;
                fired[nf++] = i;
            }
            s.v[i] = (int32_t)v;
        }
        s.xe[i] = (int32_t)fx_kmul_sat(e, p22e);
        s.xi[i] = (int32_t)fx_kmul_sat(in, p22i);
    }
    return nf;
}

/* ---- AVX-512 forms: eight neurons a step ---------------------------------------- */

#ifdef FX_HAVE_AVX512
struct fx_vmul {
    __m512i m, r;
    __m128i s;
};

FX_AVX512 static inline struct fx_vmul fx_vmul(struct fx_mult k)
{
    struct fx_kmul q = fx_kmul(k);
    return (struct fx_vmul){_mm512_set1_epi64(q.m), _mm512_set1_epi64(q.r),
                            _mm_cvtsi32_si128(q.s)};
}

FX_AVX512 static inline __m512i fx_vsat(__m512i x)
{
    x = _mm512_min_epi64(x, _mm512_set1_epi64(INT32_MAX));
    return _mm512_max_epi64(x, _mm512_set1_epi64(INT32_MIN));
}

/* Lanes hold int32 values sign-extended to 64 bits; _mm512_mul_epi32
 * multiplies the low halves as signed numbers into a 64-bit product. */
FX_AVX512 static inline __m512i fx_vprod(__m512i a, struct fx_vmul k)
{
    return _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, k.m), k.r), k.s);
}

FX_AVX512 static inline __m512i fx_vmul_sat(__m512i a, struct fx_vmul k)
{
    return fx_vsat(fx_vprod(a, k));
}

/* Eight int32 words widened to 64-bit lanes, and back (the values are in
 * the int32 range: the truncation is exact). */
FX_AVX512 static inline __m512i fx_vload(const void *p)
{
    return _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)p));
}

FX_AVX512 static inline void fx_vstore(void *p, __m512i x)
{
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtepi64_epi32(x));
}

/* Consumes eight input words: returns them widened and stores zeros. */
FX_AVX512 static inline __m512i fx_vtake(int32_t *p)
{
    __m512i x = fx_vload(p);
    _mm256_storeu_si256((__m256i *)p, _mm256_setzero_si256());
    return x;
}

/* The refractory and threshold logic shared by both models: nv is the
 * integrated voltage, used where the neuron is not refractory. */
FX_AVX512 static inline uint32_t fx_vfinish(uint32_t i, struct fx_lif_soa s, __m512i v,
                                            __m512i nv, __m512i thresh, __m512i reset,
                                            __m512i steps, uint32_t *fired)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i r = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(s.refrac + i)));
    __mmask8 free = _mm512_cmpeq_epi64_mask(r, zero);
    __mmask8 fire = _mm512_mask_cmpge_epi64_mask(free, nv, thresh);
    v = _mm512_mask_blend_epi64(free, v, nv);
    v = _mm512_mask_blend_epi64(fire, v, reset);
    r = _mm512_mask_sub_epi64(zero, (__mmask8)~free, r, _mm512_set1_epi64(1));
    r = _mm512_mask_blend_epi64(fire, r, steps);
    fx_vstore(s.v + i, v);
    fx_vstore(s.refrac + i, r);
    uint32_t nf = 0;
    for (unsigned m = fire; m; m &= m - 1)
        fired[nf++] = i + (uint32_t)__builtin_ctz(m);
    return nf;
}

FX_AVX512 static inline uint32_t fx_lif_curr_exp_soa_avx512(const struct fx_lif_curr_exp *p,
                                                            uint32_t lo, uint32_t hi,
                                                            struct fx_lif_soa s, int32_t *ie,
                                                            int32_t *ii, uint32_t *fired)
{
    const struct fx_vmul p11 = fx_vmul(p->p11), p21e = fx_vmul(p->p21e),
                         p21i = fx_vmul(p->p21i), p22e = fx_vmul(p->p22e),
                         p22i = fx_vmul(p->p22i);
    const __m512i v_rest = _mm512_set1_epi64(p->v_rest), v_off = _mm512_set1_epi64(p->v_off);
    const __m512i thresh = _mm512_set1_epi64(p->v_thresh);
    const __m512i reset = _mm512_set1_epi64(p->v_reset);
    const __m512i steps = _mm512_set1_epi64(p->refrac_steps);
    uint32_t nf = 0, i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m512i e = fx_vsat(_mm512_add_epi64(fx_vload(s.xe + i), fx_vtake(ie + i)));
        __m512i in = fx_vsat(_mm512_add_epi64(fx_vload(s.xi + i), fx_vtake(ii + i)));
        __m512i v = fx_vload(s.v + i);
        __m512i nv =
            _mm512_add_epi64(v_rest, fx_vprod(fx_vsat(_mm512_sub_epi64(v, v_rest)), p11));
        nv = _mm512_add_epi64(nv, fx_vmul_sat(e, p21e));
        nv = _mm512_add_epi64(nv, fx_vmul_sat(in, p21i));
        nv = fx_vsat(_mm512_add_epi64(nv, v_off));
        nf += fx_vfinish(i, s, v, nv, thresh, reset, steps, fired + nf);
        fx_vstore(s.xe + i, fx_vprod(e, p22e));
        fx_vstore(s.xi + i, fx_vprod(in, p22i));
    }
    return nf + fx_lif_curr_exp_soa_scalar(p, i, hi, s, ie, ii, fired + nf);
}

FX_AVX512 static inline uint32_t fx_lif_cond_exp_soa_avx512(const struct fx_lif_cond_exp *p,
                                                            uint32_t lo, uint32_t hi,
                                                            struct fx_lif_soa s, int32_t *ie,
                                                            int32_t *ii, uint32_t *fired)
{
    const struct fx_vmul k_leak = fx_vmul(p->k_leak), kg_e = fx_vmul(p->kg_e),
                         kg_i = fx_vmul(p->kg_i), p22e = fx_vmul(p->p22e),
                         p22i = fx_vmul(p->p22i);
    const __m512i v_rest = _mm512_set1_epi64(p->v_rest), v_off = _mm512_set1_epi64(p->v_off);
    const __m512i e_rev_e = _mm512_set1_epi64(p->e_rev_e);
    const __m512i e_rev_i = _mm512_set1_epi64(p->e_rev_i);
    const __m512i thresh = _mm512_set1_epi64(p->v_thresh);
    const __m512i reset = _mm512_set1_epi64(p->v_reset);
    const __m512i steps = _mm512_set1_epi64(p->refrac_steps);
    const __m512i rg = _mm512_set1_epi64((int64_t)1 << (FX_COND_GAMMA_SHIFT - 1));
    const __m128i sg = _mm_cvtsi32_si128(FX_COND_GAMMA_SHIFT);
    uint32_t nf = 0, i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m512i e = fx_vsat(_mm512_add_epi64(fx_vload(s.xe + i), fx_vtake(ie + i)));
        __m512i in = fx_vsat(_mm512_add_epi64(fx_vload(s.xi + i), fx_vtake(ii + i)));
        __m512i v = fx_vload(s.v + i);
        struct fx_vmul ge = {fx_vmul_sat(e, kg_e), rg, sg}, gi = {fx_vmul_sat(in, kg_i), rg, sg};
        __m512i dv = fx_vmul_sat(fx_vsat(_mm512_sub_epi64(v_rest, v)), k_leak);
        dv = _mm512_add_epi64(dv, fx_vmul_sat(fx_vsat(_mm512_sub_epi64(e_rev_e, v)), ge));
        dv = _mm512_add_epi64(dv, fx_vmul_sat(fx_vsat(_mm512_sub_epi64(e_rev_i, v)), gi));
        __m512i nv = fx_vsat(_mm512_add_epi64(v, _mm512_add_epi64(dv, v_off)));
        nf += fx_vfinish(i, s, v, nv, thresh, reset, steps, fired + nf);
        fx_vstore(s.xe + i, fx_vprod(e, p22e));
        fx_vstore(s.xi + i, fx_vprod(in, p22i));
    }
    return nf + fx_lif_cond_exp_soa_scalar(p, i, hi, s, ie, ii, fired + nf);
}

/* Whether this processor has AVX-512F (asked once per program part that
 * includes this header). */
static inline int fx_soa_have_avx512(void)
{
    static int have = -1;
    if (have < 0)
        have = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return have;
}
#endif

/* ---- the forms to call --------------------------------------------------------- */

static inline uint32_t fx_lif_curr_exp_soa(const struct fx_lif_curr_exp *p, uint32_t lo,
                                           uint32_t hi, struct fx_lif_soa s, int32_t *ie,
                                           int32_t *ii, uint32_t *fired)
{
#ifdef FX_HAVE_AVX512
    if (fx_soa_have_avx512())
        return fx_lif_curr_exp_soa_avx512(p, lo, hi, s, ie, ii, fired);
#endif
    return fx_lif_curr_exp_soa_scalar(p, lo, hi, s, ie, ii, fired);
}

static inline uint32_t fx_lif_cond_exp_soa(const struct fx_lif_cond_exp *p, uint32_t lo,
                                           uint32_t hi, struct fx_lif_soa s, int32_t *ie,
                                           int32_t *ii, uint32_t *fired)
{
#ifdef FX_HAVE_AVX512
    if (fx_soa_have_avx512())
        return fx_lif_cond_exp_soa_avx512(p, lo, hi, s, ie, ii, fired);
#endif
    return fx_lif_cond_exp_soa_scalar(p, lo, hi, s, ie, ii, fired);
}

#endif

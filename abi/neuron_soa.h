/*
 * abi/neuron_soa.h: whole-slice steps of the LIF models, for neurons that
 * share one parameter set.
 *
 * A population with constant parameters (the common case) steps all its
 * neurons with one loop: state as arrays (one per field, the layout of a
 * core's state region, docs/core-image.md), written without branches,
 * with AVX-512 and AVX2 forms chosen at run time on x86-64 hosts that have
 * them (the binary stays portable; the ARM build has the portable form
 * only).
 * Each computes exactly what the matching step of abi/neuron.h computes,
 * neuron by neuron; tests/unit/test_kernels.c holds them to it.  The
 * reference simulator and the firmware kernel both use them.
 *
 * A step takes neurons [lo, hi), consumes their input words (setting them
 * to 0), writes the indices of the neurons that fired to fired[] in
 * ascending order and returns how many.  The portable forms work on
 * values in 64 bits and store them as the int32 words of the state.  The
 * vector forms step sixteen (AVX-512) or eight (AVX2) neurons at a time in
 * 32-bit lanes where their words lie within bounds derived from the
 * parameters under which no saturation can bind (fx_soa_bounds, with the
 * proof); otherwise AVX-512 steps eight at a time in 64-bit lanes with
 * every saturation, and AVX2 takes the portable form.
 *
 * Freestanding: no libc, no allocation, no floating point.
 */
#ifndef SNN_ABI_NEURON_SOA_H
#define SNN_ABI_NEURON_SOA_H

#include <stdint.h>

#include "abi/neuron.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FX_HAVE_X86_SIMD 1
#define FX_AVX512 __attribute__((target("avx512f")))
#define FX_AVX2 __attribute__((target("avx2")))
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
 * needs a shift > 0 (or a zero multiplier), the membrane's shift the range
 * fx_dot3 takes, and the decays (p22: always in [0, 1] for valid
 * parameters) must be in [0, 1], so their products cannot leave int32 and
 * need no saturation. */
static inline int fx_soa_curr_ok(const struct fx_lif_curr_exp *p)
{
    return p->shift >= 1 && p->shift <= 60 && fx_soa_unit(p->p22e) && fx_soa_unit(p->p22i);
}

static inline int fx_soa_cond_ok(const struct fx_lif_cond_exp *p)
{
    return fx_soa_usable(p->kg_e) && fx_soa_usable(p->kg_i) && fx_soa_unit(p->p22e) &&
           fx_soa_unit(p->p22i);
}

/* ---- where saturation cannot happen ------------------------------------------ *
 *
 * In a live network the values stay far from the int32 limits, so the
 * vector forms test each group of sixteen neurons once: when every
 * excitatory input word and synaptic state lies in [-2^xe_bits, 2^xe_bits),
 * every inhibitory one in [-2^xi_bits, 2^xi_bits) and every voltage in
 * [-2^v_bits, 2^v_bits), none of the step's saturations can change a
 * value, and a form without them computes the same bits; otherwise the
 * group takes the exact form.  The bounds come from the parameters, once
 * per call, by the proofs below (xe_bits = 0: no fast form for them).  The
 * two receptors have bounds of their own: their weights' LSBs differ, and
 * with one bound for both the receptor with the larger coefficient would
 * hold the other to its range.
 *
 * The product of a with |a| <= A and a coefficient {m, s} (s >= 1) is
 * floor((a m + 2^(s-1)) / 2^s), which lies in [-P, P] for
 * P = floor(A |m| / 2^s) + 1 (fx_soa_pbound; A |m| <= 2^62 fits uint64).
 * So its saturation is a no-op when P <= INT32_MAX.  With X = 2^xe_bits
 * (xe_bits <= 30), likewise for the inhibitory side, and V = 2^v_bits:
 *   e = xe + ie lies in [-2X, 2X - 2], inside int32: no saturation, |e| <= 2X;
 *   c - v for a constant c lies within |c| + V: no saturation if that is
 *   <= INT32_MAX;
 *   a sum of terms whose bounds add up to at most INT32_MAX cannot saturate.
 * The decays (p22) never saturate (fx_soa_unit), fast form or not. */
struct fx_soa_bounds {
    int xe_bits, xi_bits, v_bits;
};

/* Not far from any realistic membrane voltage (+-4096 mV); a voltage
 * beyond it only sends its group to the exact form. */
#define FX_SOA_V_BITS 28

static inline uint64_t fx_soa_abs(int64_t x) { return x < 0 ? (uint64_t)-x : (uint64_t)x; }

static inline uint64_t fx_soa_pbound(uint64_t a, struct fx_kmul k)
{
    return ((a * fx_soa_abs(k.m)) >> k.s) + 1;
}

/* lif_curr_exp: v' = sat(v_rest + dot3(sat(v - v_rest), p11, e, p21e, i,
 * p21i) + v_off): the difference within d = |v_rest| + V <= INT32_MAX; the
 * products' magnitudes then sum to at most S = d |p11| + 2X |p21e| +
 * 2I |p21i| < 3 2^62, so the rounded sum lies within D = S / 2^shift + 1,
 * and |v_rest| + D + |v_off| <= INT32_MAX keeps the 64-bit sum far from
 * overflow and the saturations of the sum and of v' no-ops. */
static inline int fx_soa_curr_fits(const struct fx_lif_curr_exp *p, struct fx_soa_bounds b)
{
    const uint64_t lim = INT32_MAX, e = (uint64_t)2 << b.xe_bits, i = (uint64_t)2 << b.xi_bits;
    uint64_t d = ((uint64_t)1 << b.v_bits) + fx_soa_abs(p->v_rest);
    if (d > lim)
        return 0;
    uint64_t s = d * fx_soa_abs(p->p11) + e * fx_soa_abs(p->p21e) + i * fx_soa_abs(p->p21i);
    return fx_soa_abs(p->v_rest) + (s >> p->shift) + 1 + fx_soa_abs(p->v_off) <= lim;
}

/* lif_cond_exp: ge = sat(kg_e e) and gi need bounds Ge, Gi <= INT32_MAX;
 * v' = sat(v + dot3(sat(v_rest - v), k_leak, sat(e_rev_e - v), ge,
 * sat(e_rev_i - v), gi) + v_off): each difference within |c| + V <=
 * INT32_MAX; the three products' magnitudes then sum to at most
 * S = dl |k_leak| + de Ge + di Gi < 3 2^62 (no uint64 overflow), so the
 * rounded sum lies within D = S / 2^30 + 1.  V + D + |v_off| <= INT32_MAX
 * keeps the 64-bit sum far from overflow and the saturations of the sum
 * and of v' no-ops. */
static inline int fx_soa_cond_fits(const struct fx_lif_cond_exp *p, struct fx_soa_bounds b)
{
    const uint64_t lim = INT32_MAX, e = (uint64_t)2 << b.xe_bits, i = (uint64_t)2 << b.xi_bits,
                   v = (uint64_t)1 << b.v_bits;
    uint64_t dl = v + fx_soa_abs(p->v_rest), de = v + fx_soa_abs(p->e_rev_e),
             di = v + fx_soa_abs(p->e_rev_i);
    if (dl > lim || de > lim || di > lim)
        return 0;
    uint64_t ge = fx_soa_pbound(e, fx_kmul(p->kg_e)), gi = fx_soa_pbound(i, fx_kmul(p->kg_i));
    if (ge > lim || gi > lim)
        return 0;
    uint64_t d = ((dl * fx_soa_abs(p->k_leak) + de * ge + di * gi) >> FX_COND_GAMMA_SHIFT) + 1;
    return v + d + fx_soa_abs(p->v_off) <= lim;
}

/* b with the excitatory bound (e), the inhibitory one (i) or both set to x. */
static inline struct fx_soa_bounds fx_soa_with(struct fx_soa_bounds b, int e, int i, int x)
{
    if (e)
        b.xe_bits = x;
    if (i)
        b.xi_bits = x;
    return b;
}

/* The largest x in [lo, 30] for which b with those bounds set to x fits,
 * given that x = lo does: a bisection, as the test is monotone. */
static inline int fx_soa_last_fit(int (*fits)(const void *, struct fx_soa_bounds), const void *p,
                                  struct fx_soa_bounds b, int e, int i, int lo)
{
    int good = lo, bad = 31;
    while (bad - good > 1) {
        int mid = (good + bad) / 2;
        if (fits(p, fx_soa_with(b, e, i, mid)))
            good = mid;
        else
            bad = mid;
    }
    return good;
}

/* The widest input ranges that fit, for voltages within 2^FX_SOA_V_BITS:
 * the widest range common to both receptors, then the excitatory one
 * widened as far as it goes, then the inhibitory one (the excitatory input
 * is the larger in most networks).  The test is monotone in each bound, so
 * each is found by bisection (the steps ask for the bounds every call:
 * fifteen tests or so).  Below 2^8 the test would rarely pass, and the
 * fast form is left off. */
static inline struct fx_soa_bounds fx_soa_widest(int (*fits)(const void *, struct fx_soa_bounds),
                                                 const void *p)
{
    struct fx_soa_bounds b = {8, 8, FX_SOA_V_BITS};
    if (!fits(p, b))
        return (struct fx_soa_bounds){0, 0, 0};
    b.xe_bits = b.xi_bits = fx_soa_last_fit(fits, p, b, 1, 1, 8);
    b.xe_bits = fx_soa_last_fit(fits, p, b, 1, 0, b.xe_bits);
    b.xi_bits = fx_soa_last_fit(fits, p, b, 0, 1, b.xi_bits);
    return b;
}

static inline int fx_soa_curr_fits_any(const void *p, struct fx_soa_bounds b)
{
    return fx_soa_curr_fits((const struct fx_lif_curr_exp *)p, b);
}

static inline int fx_soa_cond_fits_any(const void *p, struct fx_soa_bounds b)
{
    return fx_soa_cond_fits((const struct fx_lif_cond_exp *)p, b);
}

static inline struct fx_soa_bounds fx_soa_curr_bounds(const struct fx_lif_curr_exp *p)
{
    return fx_soa_widest(fx_soa_curr_fits_any, p);
}

static inline struct fx_soa_bounds fx_soa_cond_bounds(const struct fx_lif_cond_exp *p)
{
    return fx_soa_widest(fx_soa_cond_fits_any, p);
}

/* ---- portable forms ---------------------------------------------------------- */

static inline uint32_t fx_lif_curr_exp_soa_scalar(const struct fx_lif_curr_exp *p, uint32_t lo,
                                                  uint32_t hi, struct fx_lif_soa s, int32_t *ie,
                                                  int32_t *ii, uint32_t *fired)
{
    const struct fx_kmul p22e = fx_kmul(p->p22e), p22i = fx_kmul(p->p22i);
    uint32_t nf = 0;
    for (uint32_t i = lo; i < hi; i++) {
        int64_t e = fx_soa_sat((int64_t)s.xe[i] + ie[i]);
        int64_t in = fx_soa_sat((int64_t)s.xi[i] + ii[i]);
        ie[i] = ii[i] = 0;
        if (s.refrac[i]) {
            s.refrac[i]--;
        } else {
            int32_t d = (int32_t)fx_soa_sat((int64_t)s.v[i] - p->v_rest);
            int64_t v = fx_soa_sat((int64_t)p->v_rest +
                                   fx_dot3(d, p->p11, (int32_t)e, p->p21e, (int32_t)in,
                                           p->p21i, p->shift) +
                                   p->v_off);
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
    const struct fx_kmul kg_e = fx_kmul(p->kg_e), kg_i = fx_kmul(p->kg_i),
                         p22e = fx_kmul(p->p22e), p22i = fx_kmul(p->p22i);
    uint32_t nf = 0;
    for (uint32_t i = lo; i < hi; i++) {
        int64_t e = fx_soa_sat((int64_t)s.xe[i] + ie[i]);
        int64_t in = fx_soa_sat((int64_t)s.xi[i] + ii[i]);
        ie[i] = ii[i] = 0;
        if (s.refrac[i]) {
            s.refrac[i]--;
        } else {
            int64_t v = s.v[i];
            int32_t ge = (int32_t)fx_kmul_sat(e, kg_e), gi = (int32_t)fx_kmul_sat(in, kg_i);
            v = fx_soa_sat(v +
                           fx_dot3((int32_t)fx_soa_sat(p->v_rest - v), p->k_leak,
                                   (int32_t)fx_soa_sat(p->e_rev_e - v), ge,
                                   (int32_t)fx_soa_sat(p->e_rev_i - v), gi, FX_COND_GAMMA_SHIFT) +
                           p->v_off);
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

/* ---- AVX-512 forms: sixteen neurons a step ------------------------------------- *
 *
 * A group of sixteen whose words pass the test of fx_soa_bounds is stepped
 * in 32-bit lanes: sums and differences in int32 are exact there, and a
 * product takes the even lanes (_mm512_mul_epi32 reads the low half of each
 * 64-bit lane) and the odd ones (shifted down) into 64-bit products, whose
 * shifted results are packed back into 32-bit lanes.  Any other group, and
 * the last ones short of sixteen, go eight at a time through the exact
 * form with values in 64-bit lanes and every saturation of the portable
 * form; the last few neurons through the portable form itself. */

#ifdef FX_HAVE_X86_SIMD
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

/* The product of each lane's low int32 half, in a 64-bit lane:
 * _mm512_mul_epi32 multiplies the low halves as signed numbers. */
FX_AVX512 static inline __m512i fx_vprod(__m512i a, struct fx_vmul k)
{
    return _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, k.m), k.r), k.s);
}

FX_AVX512 static inline __m512i fx_vmul_sat(__m512i a, struct fx_vmul k)
{
    return fx_vsat(fx_vprod(a, k));
}

/* The odd int32 lanes moved down into the low halves. */
FX_AVX512 static inline __m512i fx_vodd(__m512i a) { return _mm512_srli_epi64(a, 32); }

/* Sixteen int32 lanes from the low halves of even's and odd's 64-bit
 * lanes (even lanes from even, odd lanes from odd): the low 32 bits. */
FX_AVX512 static inline __m512i fx_vpack(__m512i even, __m512i odd)
{
    return _mm512_mask_shuffle_epi32(even, (__mmask16)0xAAAA, odd, _MM_PERM_CDAB);
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

FX_AVX512 static inline __m512i fx_vload16(const void *p)
{
    return _mm512_loadu_si512(p);
}

/* Eight 64-bit lanes (values within int32) as the low int32 lanes. */
FX_AVX512 static inline __m512i fx_vlow(__m512i x)
{
    return _mm512_zextsi256_si512(_mm512_cvtepi64_epi32(x));
}

/* The parameters of the refractory and threshold logic, as int32 lanes. */
struct fx_vfix {
    __m512i thresh, reset, steps;
};

FX_AVX512 static inline struct fx_vfix fx_vfix(int32_t thresh, int32_t reset, uint32_t steps)
{
    return (struct fx_vfix){_mm512_set1_epi32(thresh), _mm512_set1_epi32(reset),
                            _mm512_set1_epi32((int32_t)steps)};
}

/* The refractory and threshold logic shared by both models and both
 * widths, on n = 8 or 16 neurons from i whose words are the low lanes of
 * v (the voltage before the step) and nv (the integrated voltage, within
 * int32, used where the neuron is not refractory). */
FX_AVX512 static inline uint32_t fx_vfinish(uint32_t i, unsigned n, struct fx_lif_soa s,
                                            __m512i v, __m512i nv, const struct fx_vfix *c,
                                            uint32_t *fired)
{
    const __mmask16 lanes = (__mmask16)((1u << n) - 1);
    __m512i r = _mm512_maskz_loadu_epi32(lanes, s.refrac + i);
    __mmask16 free = _mm512_mask_testn_epi32_mask(lanes, r, r);
    __mmask16 fire = _mm512_mask_cmpge_epi32_mask(free, nv, c->thresh);
    v = _mm512_mask_mov_epi32(v, free, nv);
    v = _mm512_mask_mov_epi32(v, fire, c->reset);
    r = _mm512_mask_sub_epi32(r, (__mmask16)(lanes & ~free), r, _mm512_set1_epi32(1));
    r = _mm512_mask_mov_epi32(r, fire, c->steps);
    _mm512_mask_storeu_epi32(s.v + i, lanes, v);
    _mm512_mask_storeu_epi32(s.refrac + i, lanes, r);
    uint32_t nf = 0;
    for (unsigned m = fire; m; m &= m - 1)
        fired[nf++] = i + (uint32_t)__builtin_ctz(m);
    return nf;
}

/* Consumes sixteen input words: returns them and stores zeros. */
FX_AVX512 static inline __m512i fx_vtake16(int32_t *p)
{
    __m512i x = _mm512_loadu_si512(p);
    _mm512_storeu_si512(p, _mm512_setzero_si512());
    return x;
}

/* Consumes eight input words: returns them widened and stores zeros. */
FX_AVX512 static inline __m512i fx_vtake(int32_t *p)
{
    __m512i x = fx_vload(p);
    _mm256_storeu_si256((__m256i *)p, _mm256_setzero_si256());
    return x;
}

/* The range test of fx_soa_bounds on sixteen neurons' words: adding 2^b
 * maps [-2^b, 2^b) onto [0, 2^(b+1)) (mod 2^32, without wrapping for
 * b <= 30), so a word is inside iff its sum has no bit at or above b + 1. */
struct fx_vlim {
    __m512i eadd, emask, iadd, imask, vadd, vmask;
    int on;
};

/* The words of that test: the addend 2^b and the mask of bits b + 1 up,
 * for the excitatory, inhibitory and voltage bounds. */
static inline void fx_soa_lim(struct fx_soa_bounds b, int32_t w[6])
{
    const int bits[3] = {b.xe_bits, b.xi_bits, b.v_bits};
    for (int k = 0; k < 3; k++) {
        uint32_t a = (uint32_t)1 << bits[k];
        w[2 * k] = (int32_t)a;
        w[2 * k + 1] = (int32_t)~(2 * a - 1);
    }
}

FX_AVX512 static inline struct fx_vlim fx_vlim(struct fx_soa_bounds b)
{
    int32_t w[6];
    fx_soa_lim(b, w);
    return (struct fx_vlim){_mm512_set1_epi32(w[0]), _mm512_set1_epi32(w[1]),
                            _mm512_set1_epi32(w[2]), _mm512_set1_epi32(w[3]),
                            _mm512_set1_epi32(w[4]), _mm512_set1_epi32(w[5]), b.xe_bits > 0};
}

FX_AVX512 static inline int fx_vinside(const struct fx_vlim *l, __m512i v, __m512i xe,
                                       __m512i ie, __m512i xi, __m512i ii)
{
    __m512i e = _mm512_or_si512(_mm512_add_epi32(xe, l->eadd), _mm512_add_epi32(ie, l->eadd));
    __m512i i = _mm512_or_si512(_mm512_add_epi32(xi, l->iadd), _mm512_add_epi32(ii, l->iadd));
    __mmask16 out = _mm512_kor(_mm512_test_epi32_mask(e, l->emask),
                               _mm512_test_epi32_mask(i, l->imask));
    out = _mm512_kor(out, _mm512_test_epi32_mask(_mm512_add_epi32(v, l->vadd), l->vmask));
    return out == 0;
}

/* fx_dot3 of three products in each 64-bit lane at shift s, as it
 * computes it. */
FX_AVX512 static inline __m512i fx_vdot3(__m512i p0, __m512i p1, __m512i p2, int s)
{
    const __m128i n = _mm_cvtsi32_si128(s);
    const __m512i mask = _mm512_set1_epi64(((int64_t)1 << s) - 1);
    __m512i whole = _mm512_add_epi64(_mm512_add_epi64(_mm512_sra_epi64(p0, n),
                                                      _mm512_sra_epi64(p1, n)),
                                     _mm512_sra_epi64(p2, n));
    __m512i rest = _mm512_add_epi64(_mm512_add_epi64(_mm512_and_si512(p0, mask),
                                                     _mm512_and_si512(p1, mask)),
                                    _mm512_and_si512(p2, mask));
    rest = _mm512_add_epi64(rest, _mm512_set1_epi64((int64_t)1 << (s - 1)));
    return fx_vsat(_mm512_add_epi64(whole, _mm512_sra_epi64(rest, n)));
}

/* lif_curr_exp, the exact form on neurons [i, i + 8). */
FX_AVX512 static inline uint32_t fx_curr8(const struct fx_lif_curr_exp *p, uint32_t i,
                                          struct fx_lif_soa s, int32_t *ie, int32_t *ii,
                                          const struct fx_vfix *fix, uint32_t *fired)
{
    const struct fx_vmul p22e = fx_vmul(p->p22e), p22i = fx_vmul(p->p22i);
    const __m512i v_rest = _mm512_set1_epi64(p->v_rest), v_off = _mm512_set1_epi64(p->v_off);
    __m512i e = fx_vsat(_mm512_add_epi64(fx_vload(s.xe + i), fx_vtake(ie + i)));
    __m512i in = fx_vsat(_mm512_add_epi64(fx_vload(s.xi + i), fx_vtake(ii + i)));
    __m512i v = fx_vload(s.v + i);
    __m512i pl = _mm512_mul_epi32(fx_vsat(_mm512_sub_epi64(v, v_rest)),
                                  _mm512_set1_epi64(p->p11));
    __m512i pe = _mm512_mul_epi32(e, _mm512_set1_epi64(p->p21e));
    __m512i pi = _mm512_mul_epi32(in, _mm512_set1_epi64(p->p21i));
    __m512i nv = fx_vsat(_mm512_add_epi64(_mm512_add_epi64(v_rest, v_off),
                                          fx_vdot3(pl, pe, pi, p->shift)));
    uint32_t nf = fx_vfinish(i, 8, s, fx_vlow(v), fx_vlow(nv), fix, fired);
    fx_vstore(s.xe + i, fx_vprod(e, p22e));
    fx_vstore(s.xi + i, fx_vprod(in, p22i));
    return nf;
}

/* lif_cond_exp, the exact form on neurons [i, i + 8). */
FX_AVX512 static inline uint32_t fx_cond8(const struct fx_lif_cond_exp *p, uint32_t i,
                                          struct fx_lif_soa s, int32_t *ie, int32_t *ii,
                                          const struct fx_vfix *fix, uint32_t *fired)
{
    const struct fx_vmul kg_e = fx_vmul(p->kg_e), kg_i = fx_vmul(p->kg_i),
                         p22e = fx_vmul(p->p22e), p22i = fx_vmul(p->p22i);
    const __m512i v_rest = _mm512_set1_epi64(p->v_rest), v_off = _mm512_set1_epi64(p->v_off);
    const __m512i e_rev_e = _mm512_set1_epi64(p->e_rev_e);
    const __m512i e_rev_i = _mm512_set1_epi64(p->e_rev_i);
    const __m512i k_leak = _mm512_set1_epi64(p->k_leak);
    __m512i e = fx_vsat(_mm512_add_epi64(fx_vload(s.xe + i), fx_vtake(ie + i)));
    __m512i in = fx_vsat(_mm512_add_epi64(fx_vload(s.xi + i), fx_vtake(ii + i)));
    __m512i v = fx_vload(s.v + i);
    __m512i pl = _mm512_mul_epi32(fx_vsat(_mm512_sub_epi64(v_rest, v)), k_leak);
    __m512i pe = _mm512_mul_epi32(fx_vsat(_mm512_sub_epi64(e_rev_e, v)), fx_vmul_sat(e, kg_e));
    __m512i pi = _mm512_mul_epi32(fx_vsat(_mm512_sub_epi64(e_rev_i, v)), fx_vmul_sat(in, kg_i));
    __m512i nv = fx_vsat(_mm512_add_epi64(_mm512_add_epi64(v, v_off),
                                          fx_vdot3(pl, pe, pi, FX_COND_GAMMA_SHIFT)));
    uint32_t nf = fx_vfinish(i, 8, s, fx_vlow(v), fx_vlow(nv), fix, fired);
    fx_vstore(s.xe + i, fx_vprod(e, p22e));
    fx_vstore(s.xi + i, fx_vprod(in, p22i));
    return nf;
}

/* The fast forms below hold by fx_soa_curr_fits and fx_soa_cond_fits: no
 * saturation binds, every true intermediate of the portable form is what
 * the int32 and int64 lanes hold (the final sums wrap mod 2^32 at most in
 * between, and their true values lie within int32, so the low 32 bits are
 * exact). */
FX_AVX512 static inline uint32_t fx_lif_curr_exp_soa_avx512(const struct fx_lif_curr_exp *p,
                                                            uint32_t lo, uint32_t hi,
                                                            struct fx_lif_soa s, int32_t *ie,
                                                            int32_t *ii, uint32_t *fired)
{
    const struct fx_vmul p22e = fx_vmul(p->p22e), p22i = fx_vmul(p->p22i);
    const __m512i p11 = _mm512_set1_epi64(p->p11), p21e = _mm512_set1_epi64(p->p21e),
                  p21i = _mm512_set1_epi64(p->p21i);
    const __m512i rv = _mm512_set1_epi64((int64_t)1 << (p->shift - 1));
    const __m128i sv = _mm_cvtsi32_si128(p->shift);
    const __m512i v_rest = _mm512_set1_epi32(p->v_rest);
    const __m512i base = _mm512_set1_epi32((int32_t)((uint32_t)p->v_rest + (uint32_t)p->v_off));
    const struct fx_vfix fix = fx_vfix(p->v_thresh, p->v_reset, p->refrac_steps);
    const struct fx_vlim lim = fx_vlim(fx_soa_curr_bounds(p));
    uint32_t nf = 0, i = lo;
    for (; i + 16 <= hi; i += 16) {
        __m512i v = fx_vload16(s.v + i), xe = fx_vload16(s.xe + i), xi = fx_vload16(s.xi + i);
        __m512i we = fx_vload16(ie + i), wi = fx_vload16(ii + i);
        if (!lim.on || !fx_vinside(&lim, v, xe, we, xi, wi)) {
            nf += fx_curr8(p, i, s, ie, ii, &fix, fired + nf);
            nf += fx_curr8(p, i + 8, s, ie, ii, &fix, fired + nf);
            continue;
        }
        _mm512_storeu_si512(ie + i, _mm512_setzero_si512());
        _mm512_storeu_si512(ii + i, _mm512_setzero_si512());
        __m512i e = _mm512_add_epi32(xe, we), in = _mm512_add_epi32(xi, wi);
        __m512i eo = fx_vodd(e), ino = fx_vodd(in), d = _mm512_sub_epi32(v, v_rest),
                do_ = fx_vodd(d);
        /* the three products' sum, rounded once */
        __m512i lo64 = _mm512_add_epi64(
            _mm512_add_epi64(_mm512_mul_epi32(d, p11), _mm512_mul_epi32(e, p21e)),
            _mm512_add_epi64(_mm512_mul_epi32(in, p21i), rv));
        __m512i hi64 = _mm512_add_epi64(
            _mm512_add_epi64(_mm512_mul_epi32(do_, p11), _mm512_mul_epi32(eo, p21e)),
            _mm512_add_epi64(_mm512_mul_epi32(ino, p21i), rv));
        lo64 = _mm512_sra_epi64(lo64, sv);
        hi64 = _mm512_sra_epi64(hi64, sv);
        __m512i nv = _mm512_add_epi32(base, fx_vpack(lo64, hi64));
        nf += fx_vfinish(i, 16, s, v, nv, &fix, fired + nf);
        _mm512_storeu_si512(s.xe + i, fx_vpack(fx_vprod(e, p22e), fx_vprod(eo, p22e)));
        _mm512_storeu_si512(s.xi + i, fx_vpack(fx_vprod(in, p22i), fx_vprod(ino, p22i)));
    }
    for (; i + 8 <= hi; i += 8)
        nf += fx_curr8(p, i, s, ie, ii, &fix, fired + nf);
    return nf + fx_lif_curr_exp_soa_scalar(p, i, hi, s, ie, ii, fired + nf);
}

FX_AVX512 static inline uint32_t fx_lif_cond_exp_soa_avx512(const struct fx_lif_cond_exp *p,
                                                            uint32_t lo, uint32_t hi,
                                                            struct fx_lif_soa s, int32_t *ie,
                                                            int32_t *ii, uint32_t *fired)
{
    const struct fx_vmul kg_e = fx_vmul(p->kg_e), kg_i = fx_vmul(p->kg_i),
                         p22e = fx_vmul(p->p22e), p22i = fx_vmul(p->p22i);
    const __m512i v_rest = _mm512_set1_epi32(p->v_rest), v_off = _mm512_set1_epi32(p->v_off);
    const __m512i e_rev_e = _mm512_set1_epi32(p->e_rev_e);
    const __m512i e_rev_i = _mm512_set1_epi32(p->e_rev_i);
    const __m512i k_leak = _mm512_set1_epi64(p->k_leak);
    const __m512i rg = _mm512_set1_epi64((int64_t)1 << (FX_COND_GAMMA_SHIFT - 1));
    const struct fx_vfix fix = fx_vfix(p->v_thresh, p->v_reset, p->refrac_steps);
    const struct fx_vlim lim = fx_vlim(fx_soa_cond_bounds(p));
    uint32_t nf = 0, i = lo;
    for (; i + 16 <= hi; i += 16) {
        __m512i v = fx_vload16(s.v + i), xe = fx_vload16(s.xe + i), xi = fx_vload16(s.xi + i);
        __m512i we = fx_vload16(ie + i), wi = fx_vload16(ii + i);
        if (!lim.on || !fx_vinside(&lim, v, xe, we, xi, wi)) {
            nf += fx_cond8(p, i, s, ie, ii, &fix, fired + nf);
            nf += fx_cond8(p, i + 8, s, ie, ii, &fix, fired + nf);
            continue;
        }
        _mm512_storeu_si512(ie + i, _mm512_setzero_si512());
        _mm512_storeu_si512(ii + i, _mm512_setzero_si512());
        __m512i e = _mm512_add_epi32(xe, we), in = _mm512_add_epi32(xi, wi);
        __m512i eo = fx_vodd(e), ino = fx_vodd(in);
        /* ge, gi stay in 64-bit lanes: the multipliers of the next products,
         * whose sum is rounded once */
        __m512i gel = fx_vprod(e, kg_e), geh = fx_vprod(eo, kg_e);
        __m512i gil = fx_vprod(in, kg_i), gih = fx_vprod(ino, kg_i);
        __m512i dl = _mm512_sub_epi32(v_rest, v), de = _mm512_sub_epi32(e_rev_e, v),
                di = _mm512_sub_epi32(e_rev_i, v);
        __m512i lo64 = _mm512_add_epi64(_mm512_add_epi64(_mm512_mul_epi32(dl, k_leak),
                                                         _mm512_mul_epi32(de, gel)),
                                        _mm512_add_epi64(_mm512_mul_epi32(di, gil), rg));
        __m512i hi64 = _mm512_add_epi64(
            _mm512_add_epi64(_mm512_mul_epi32(fx_vodd(dl), k_leak),
                             _mm512_mul_epi32(fx_vodd(de), geh)),
            _mm512_add_epi64(_mm512_mul_epi32(fx_vodd(di), gih), rg));
        lo64 = _mm512_srai_epi64(lo64, FX_COND_GAMMA_SHIFT);
        hi64 = _mm512_srai_epi64(hi64, FX_COND_GAMMA_SHIFT);
        __m512i nv = _mm512_add_epi32(_mm512_add_epi32(v, v_off), fx_vpack(lo64, hi64));
        nf += fx_vfinish(i, 16, s, v, nv, &fix, fired + nf);
        _mm512_storeu_si512(s.xe + i, fx_vpack(fx_vprod(e, p22e), fx_vprod(eo, p22e)));
        _mm512_storeu_si512(s.xi + i, fx_vpack(fx_vprod(in, p22i), fx_vprod(ino, p22i)));
    }
    for (; i + 8 <= hi; i += 8)
        nf += fx_cond8(p, i, s, ie, ii, &fix, fired + nf);
    return nf + fx_lif_cond_exp_soa_scalar(p, i, hi, s, ie, ii, fired + nf);
}

/* ---- AVX2 forms: eight neurons a step ------------------------------------------ *
 *
 * The fast form of the AVX-512 forms, in eight 32-bit lanes, for x86-64
 * processors with AVX2 and without AVX-512.  AVX2 has no 64-bit arithmetic
 * shift and no 64-bit minimum or maximum, so:
 *   - a product's result is read as bits s .. s + 31 of its 64-bit sum (a
 *     logical shift right by s for the even lanes; left by 32 - s for the
 *     odd ones, which puts those bits in the high half, where the blend
 *     takes them).  For s <= 32 they are the low 32 bits of the arithmetic
 *     shift, and where the bounds hold its true value lies in int32, so
 *     they are the value.  A parameter set with a shift above 32 takes the
 *     portable form (fx_soa_avx2_ok);
 *   - the sums are taken mod 2^64, which changes none of those bits, so the
 *     constant terms of the new voltage (v_rest's share of the leak, v_off,
 *     and for lif_curr_exp v_rest itself) join the rounding term, shifted
 *     up by s: one constant where there were three;
 *   - a group whose words fail the range test takes the portable form, as
 *     do the last neurons short of eight.  The test here is |x| < 2^b, one
 *     value narrower than the interval of fx_soa_bounds (-2^b fails it),
 *     and needs one mask a bound where the interval needs two words.
 * Sixteen registers cannot hold every constant of a step, and the ones
 * that spill cost a load each time they are used.  So where every shift
 * of a parameter set can be brought to 30 (fx_kmul_at: the decays and
 * lif_curr_exp's p11 of 1/2 or more, i.e. time constants of 1.45
 * timesteps or more, and p21e, p21i below 2), the loop is compiled with its
 * shifts as constants, which need no register and share one rounding
 * term; other sets run the same loop with the shifts read at run time.
 * Threshold and refractory counters are lane operations; the neurons
 * that fired (rare: a few in a thousand a step) get their reset values
 * after the loop. */

#define FX_AVX2_INLINE FX_AVX2 __attribute__((always_inline)) static inline

/* k as a coefficient with shift s >= k's: the multiplier scaled by
 * 2^(s - k.s), which gives the same products bit for bit
 * (floor((a m 2^j + 2^(k.s + j - 1)) / 2^(k.s + j)) is
 * floor((a m + 2^(k.s - 1)) / 2^k.s)), if it fits int32. */
static inline int fx_kmul_at(struct fx_kmul *k, int s)
{
    if (k->s > s)
        return 0;
    int64_t m = (int64_t)k->m * ((int64_t)1 << (s - k->s));
    if (m > INT32_MAX || m < INT32_MIN)
        return 0;
    *k = (struct fx_kmul){(int32_t)m, s, (int64_t)1 << (s - 1)};
    return 1;
}

static inline int fx_soa_avx2_shift(struct fx_mult k) { return fx_kmul(k).s <= 32; }

static inline int fx_soa_curr_avx2_ok(const struct fx_lif_curr_exp *p)
{
    return p->shift <= 32 && fx_soa_avx2_shift(p->p22e) && fx_soa_avx2_shift(p->p22i);
}

/* lif_cond_exp's loop multiplies by -k_leak, which int32 must hold. */
static inline int fx_soa_cond_avx2_ok(const struct fx_lif_cond_exp *p)
{
    _Static_assert(FX_COND_GAMMA_SHIFT <= 32, "the AVX2 form shifts by at most 32");
    return fx_soa_avx2_shift(p->kg_e) && fx_soa_avx2_shift(p->kg_i) &&
           fx_soa_avx2_shift(p->p22e) && fx_soa_avx2_shift(p->p22i) && p->k_leak != INT32_MIN;
}

/* The shift of the common case: every decay's, and in practice the
 * membrane coefficients' of lif_curr_exp. */
#define FX_YSHIFT 30

FX_AVX2 static inline __m256i fx_yodd(__m256i a) { return _mm256_srli_epi64(a, 32); }

/* Bits s .. s + 31 of the 64-bit sums lo (the even lanes) and hi (the odd
 * ones), as eight int32 lanes. */
FX_AVX2_INLINE __m256i fx_ybits(__m256i lo, __m256i hi, int s)
{
    return _mm256_blend_epi32(_mm256_srli_epi64(lo, s), _mm256_slli_epi64(hi, 32 - s), 0xAA);
}

/* The products of eight int32 lanes a (odd lanes ao = a >> 32 per 64-bit
 * lane) with k = m 2^-s, r = 2^(s - 1), as int32 lanes. */
FX_AVX2_INLINE __m256i fx_yprod(__m256i a, __m256i ao, __m256i m, __m256i r, int s)
{
    return fx_ybits(_mm256_add_epi64(_mm256_mul_epi32(a, m), r),
                    _mm256_add_epi64(_mm256_mul_epi32(ao, m), r), s);
}

/* The same for one half: bits s .. s + 31 in the low half of each 64-bit
 * lane, where _mm256_mul_epi32 reads its operand. */
FX_AVX2_INLINE __m256i fx_yhalf(__m256i a, __m256i m, __m256i r, int s)
{
    return _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(a, m), r), s);
}

/* The range test: every excitatory word (state and input) within
 * |x| < 2^xe_bits, every inhibitory one within 2^xi_bits, the voltage
 * within 2^v_bits; each mask has the bits from b up. */
struct fx_ylim {
    __m256i e, i, v;
};

FX_AVX2 static inline struct fx_ylim fx_ylim(struct fx_soa_bounds b)
{
    return (struct fx_ylim){_mm256_set1_epi32((int32_t)(UINT32_MAX << b.xe_bits)),
                            _mm256_set1_epi32((int32_t)(UINT32_MAX << b.xi_bits)),
                            _mm256_set1_epi32((int32_t)(UINT32_MAX << b.v_bits))};
}

/* |INT32_MIN| is INT32_MIN, whose top bit fails every mask. */
FX_AVX2_INLINE int fx_yinside(const struct fx_ylim *l, __m256i v, __m256i xe, __m256i ie,
                              __m256i xi, __m256i ii)
{
    __m256i e = _mm256_or_si256(_mm256_abs_epi32(xe), _mm256_abs_epi32(ie));
    __m256i i = _mm256_or_si256(_mm256_abs_epi32(xi), _mm256_abs_epi32(ii));
    __m256i out = _mm256_or_si256(_mm256_and_si256(e, l->e), _mm256_and_si256(i, l->i));
    out = _mm256_or_si256(out, _mm256_and_si256(_mm256_abs_epi32(v), l->v));
    return _mm256_testz_si256(out, out);
}

/* Eight neurons from i whose words pass the test: their voltages and
 * synaptic states with this step's input added, which is consumed.  A
 * group that fails is left untouched, and 0 returned. */
FX_AVX2_INLINE int fx_ytake(const struct fx_ylim *l, uint32_t i, struct fx_lif_soa s,
                            int32_t *ie, int32_t *ii, __m256i *v, __m256i *e, __m256i *in)
{
    __m256i xe = _mm256_loadu_si256((const __m256i *)(s.xe + i));
    __m256i xi = _mm256_loadu_si256((const __m256i *)(s.xi + i));
    __m256i we = _mm256_loadu_si256((const __m256i *)(ie + i));
    __m256i wi = _mm256_loadu_si256((const __m256i *)(ii + i));
    *v = _mm256_loadu_si256((const __m256i *)(s.v + i));
    if (!fx_yinside(l, *v, xe, we, xi, wi))
        return 0;
    _mm256_storeu_si256((__m256i *)(ie + i), _mm256_setzero_si256());
    _mm256_storeu_si256((__m256i *)(ii + i), _mm256_setzero_si256());
    *e = _mm256_add_epi32(xe, we);
    *in = _mm256_add_epi32(xi, wi);
    return 1;
}

/* Threshold and refractory counters of eight neurons from i, as
 * fx_vfinish but for the reset: v the voltages before the step, nv the
 * integrated ones.  The neurons that fired are written to fired[]; their
 * reset values come after the loop (fx_yreset), which keeps the loop's
 * registers for the loop. */
FX_AVX2_INLINE uint32_t fx_yfinish(uint32_t i, struct fx_lif_soa s, __m256i v, __m256i nv,
                                   __m256i thresh, uint32_t *fired)
{
    __m256i r = _mm256_loadu_si256((const __m256i *)(s.refrac + i));
    __m256i free = _mm256_cmpeq_epi32(r, _mm256_setzero_si256());
    __m256i fire = _mm256_andnot_si256(_mm256_cmpgt_epi32(thresh, nv), free);
    _mm256_storeu_si256((__m256i *)(s.v + i), _mm256_blendv_epi8(v, nv, free));
    /* r - 1 where r > 0; 0 stays 0 (the wrapped r - 1 is the larger) */
    r = _mm256_min_epu32(_mm256_sub_epi32(r, _mm256_set1_epi32(1)), r);
    _mm256_storeu_si256((__m256i *)(s.refrac + i), r);
    uint32_t nf = 0;
    for (unsigned m = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(fire)); m; m &= m - 1)
        fired[nf++] = i + (uint32_t)__builtin_ctz(m);
    return nf;
}

/* The reset of the n neurons that fired (those the portable form stepped
 * have theirs already; setting them again changes nothing). */
static inline void fx_yreset(struct fx_lif_soa s, const uint32_t *fired, uint32_t n,
                             int32_t reset, uint32_t steps)
{
    for (uint32_t j = 0; j < n; j++) {
        s.v[fired[j]] = reset;
        s.refrac[fired[j]] = steps;
    }
}

/* lif_curr_exp's loop, on the coefficients k (p11, p21e, p21i at shift sd;
 * p22e at se, p22i at si), the shifts given apart so that a caller
 * passing constants gets them as immediates.  The membrane's sum is
 * p11 v + p21e e + p21i i + c with c = 2^(sd - 1) - p11 v_rest +
 * (v_rest + v_off) 2^sd: bits sd .. sd + 31 are v', as fx_dot3 and the
 * additions around it give it. */
FX_AVX2_INLINE uint32_t fx_ycurr_loop(const struct fx_lif_curr_exp *p, struct fx_soa_bounds b,
                                      const struct fx_kmul k[5], int sd, int se, int si,
                                      uint32_t lo, uint32_t hi, struct fx_lif_soa s, int32_t *ie,
                                      int32_t *ii, uint32_t *fired)
{
    const __m256i p11 = _mm256_set1_epi64x(k[0].m), p21e = _mm256_set1_epi64x(k[1].m),
                  p21i = _mm256_set1_epi64x(k[2].m);
    const __m256i c = _mm256_set1_epi64x(
        (int64_t)(((uint64_t)1 << (sd - 1)) - (uint64_t)((int64_t)k[0].m * p->v_rest) +
                  ((uint64_t)((int64_t)p->v_rest + p->v_off) << sd)));
    const __m256i me = _mm256_set1_epi64x(k[3].m), mi = _mm256_set1_epi64x(k[4].m);
    const __m256i re = _mm256_set1_epi64x((int64_t)1 << (se - 1)),
                  ri = _mm256_set1_epi64x((int64_t)1 << (si - 1));
    const __m256i thresh = _mm256_set1_epi32(p->v_thresh);
    const struct fx_ylim lim = fx_ylim(b);
    uint32_t nf = 0, i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m256i v, e, in;
        if (!fx_ytake(&lim, i, s, ie, ii, &v, &e, &in)) {
            nf += fx_lif_curr_exp_soa_scalar(p, i, i + 8, s, ie, ii, fired + nf);
            continue;
        }
        __m256i eo = fx_yodd(e), ino = fx_yodd(in);
        __m256i lo64 = _mm256_add_epi64(
            _mm256_add_epi64(_mm256_mul_epi32(v, p11), _mm256_mul_epi32(e, p21e)),
            _mm256_add_epi64(_mm256_mul_epi32(in, p21i), c));
        __m256i hi64 = _mm256_add_epi64(
            _mm256_add_epi64(_mm256_mul_epi32(fx_yodd(v), p11), _mm256_mul_epi32(eo, p21e)),
            _mm256_add_epi64(_mm256_mul_epi32(ino, p21i), c));
        nf += fx_yfinish(i, s, v, fx_ybits(lo64, hi64, sd), thresh, fired + nf);
        _mm256_storeu_si256((__m256i *)(s.xe + i), fx_yprod(e, eo, me, re, se));
        _mm256_storeu_si256((__m256i *)(s.xi + i), fx_yprod(in, ino, mi, ri, si));
    }
    fx_yreset(s, fired, nf, p->v_reset, p->refrac_steps);
    return nf + fx_lif_curr_exp_soa_scalar(p, i, hi, s, ie, ii, fired + nf);
}

FX_AVX2 static inline uint32_t fx_lif_curr_exp_soa_avx2(const struct fx_lif_curr_exp *p,
                                                        uint32_t lo, uint32_t hi,
                                                        struct fx_lif_soa s, int32_t *ie,
                                                        int32_t *ii, uint32_t *fired)
{
    const struct fx_soa_bounds b = fx_soa_curr_bounds(p);
    if (!b.xe_bits || !fx_soa_curr_avx2_ok(p))
        return fx_lif_curr_exp_soa_scalar(p, lo, hi, s, ie, ii, fired);
    const struct fx_kmul k[5] = {{p->p11, p->shift, 0}, {p->p21e, p->shift, 0},
                                 {p->p21i, p->shift, 0}, fx_kmul(p->p22e), fx_kmul(p->p22i)};
    struct fx_kmul at[5];
    int all = 1;
    for (int j = 0; j < 5; j++) {
        at[j] = k[j];
        all = all && fx_kmul_at(&at[j], FX_YSHIFT);
    }
    if (all)
        return fx_ycurr_loop(p, b, at, FX_YSHIFT, FX_YSHIFT, FX_YSHIFT, lo, hi, s, ie, ii,
                             fired);
    return fx_ycurr_loop(p, b, k, p->shift, k[3].s, k[4].s, lo, hi, s, ie, ii, fired);
}

/* lif_cond_exp's loop: the conductances' shifts (se, si) and the decays'
 * (de, di) given apart, as for lif_curr_exp.  The leak's term is
 * k_leak (v_rest - v) = k_leak v_rest - k_leak v, the first part in the
 * constant with v_off. */
FX_AVX2_INLINE uint32_t fx_ycond_loop(const struct fx_lif_cond_exp *p, struct fx_soa_bounds b,
                                      const struct fx_kmul k[4], int se, int si, int de, int di,
                                      uint32_t lo, uint32_t hi, struct fx_lif_soa s, int32_t *ie,
                                      int32_t *ii, uint32_t *fired)
{
    const int g = FX_COND_GAMMA_SHIFT;
    const __m256i mge = _mm256_set1_epi64x(k[0].m), mgi = _mm256_set1_epi64x(k[1].m);
    const __m256i rge = _mm256_set1_epi64x((int64_t)1 << (se - 1)),
                  rgi = _mm256_set1_epi64x((int64_t)1 << (si - 1));
    const __m256i me = _mm256_set1_epi64x(k[2].m), mi = _mm256_set1_epi64x(k[3].m);
    const __m256i re = _mm256_set1_epi64x((int64_t)1 << (de - 1)),
                  ri = _mm256_set1_epi64x((int64_t)1 << (di - 1));
    const __m256i e_rev_e = _mm256_set1_epi32(p->e_rev_e), e_rev_i = _mm256_set1_epi32(p->e_rev_i);
    const __m256i nleak = _mm256_set1_epi64x(-(int64_t)p->k_leak);
    const __m256i c = _mm256_set1_epi64x(
        (int64_t)(((uint64_t)1 << (g - 1)) + (uint64_t)((int64_t)p->k_leak * p->v_rest) +
                  ((uint64_t)(int64_t)p->v_off << g)));
    const __m256i thresh = _mm256_set1_epi32(p->v_thresh);
    const struct fx_ylim lim = fx_ylim(b);
    uint32_t nf = 0, i = lo;
    for (; i + 8 <= hi; i += 8) {
        __m256i v, e, in;
        if (!fx_ytake(&lim, i, s, ie, ii, &v, &e, &in)) {
            nf += fx_lif_cond_exp_soa_scalar(p, i, i + 8, s, ie, ii, fired + nf);
            continue;
        }
        __m256i eo = fx_yodd(e), ino = fx_yodd(in);
        /* ge, gi as halves: the multipliers of the next products, whose sum
         * is rounded once */
        __m256i gel = fx_yhalf(e, mge, rge, se), geh = fx_yhalf(eo, mge, rge, se);
        __m256i gil = fx_yhalf(in, mgi, rgi, si), gih = fx_yhalf(ino, mgi, rgi, si);
        __m256i dxe = _mm256_sub_epi32(e_rev_e, v), dxi = _mm256_sub_epi32(e_rev_i, v);
        __m256i lo64 = _mm256_add_epi64(
            _mm256_add_epi64(_mm256_mul_epi32(v, nleak), _mm256_mul_epi32(dxe, gel)),
            _mm256_add_epi64(_mm256_mul_epi32(dxi, gil), c));
        __m256i hi64 = _mm256_add_epi64(
            _mm256_add_epi64(_mm256_mul_epi32(fx_yodd(v), nleak),
                             _mm256_mul_epi32(fx_yodd(dxe), geh)),
            _mm256_add_epi64(_mm256_mul_epi32(fx_yodd(dxi), gih), c));
        nf += fx_yfinish(i, s, v, _mm256_add_epi32(v, fx_ybits(lo64, hi64, g)), thresh,
                         fired + nf);
        _mm256_storeu_si256((__m256i *)(s.xe + i), fx_yprod(e, eo, me, re, de));
        _mm256_storeu_si256((__m256i *)(s.xi + i), fx_yprod(in, ino, mi, ri, di));
    }
    fx_yreset(s, fired, nf, p->v_reset, p->refrac_steps);
    return nf + fx_lif_cond_exp_soa_scalar(p, i, hi, s, ie, ii, fired + nf);
}

FX_AVX2 static inline uint32_t fx_lif_cond_exp_soa_avx2(const struct fx_lif_cond_exp *p,
                                                        uint32_t lo, uint32_t hi,
                                                        struct fx_lif_soa s, int32_t *ie,
                                                        int32_t *ii, uint32_t *fired)
{
    const struct fx_soa_bounds b = fx_soa_cond_bounds(p);
    if (!b.xe_bits || !fx_soa_cond_avx2_ok(p))
        return fx_lif_cond_exp_soa_scalar(p, lo, hi, s, ie, ii, fired);
    const struct fx_kmul k[4] = {fx_kmul(p->kg_e), fx_kmul(p->kg_i), fx_kmul(p->p22e),
                                 fx_kmul(p->p22i)};
    struct fx_kmul at[4] = {k[0], k[1], k[2], k[3]};
    if (fx_kmul_at(&at[2], FX_YSHIFT) && fx_kmul_at(&at[3], FX_YSHIFT))
        return fx_ycond_loop(p, b, at, k[0].s, k[1].s, FX_YSHIFT, FX_YSHIFT, lo, hi, s, ie, ii,
                             fired);
    return fx_ycond_loop(p, b, k, k[0].s, k[1].s, k[2].s, k[3].s, lo, hi, s, ie, ii, fired);
}

/* The instruction set the slice steps use on this processor (asked once
 * per program part that includes this header; threads may ask at once,
 * hence the atomics). */
enum fx_isa { FX_ISA_PORTABLE, FX_ISA_AVX2, FX_ISA_AVX512 };

static inline enum fx_isa fx_soa_isa(void)
{
    static int isa = -1;
    int h = __atomic_load_n(&isa, __ATOMIC_RELAXED);
    if (h < 0) {
        h = __builtin_cpu_supports("avx512f") ? FX_ISA_AVX512
            : __builtin_cpu_supports("avx2")  ? FX_ISA_AVX2
                                              : FX_ISA_PORTABLE;
        __atomic_store_n(&isa, h, __ATOMIC_RELAXED);
    }
    return (enum fx_isa)h;
}
#endif

/* ---- the forms to call --------------------------------------------------------- */

static inline uint32_t fx_lif_curr_exp_soa(const struct fx_lif_curr_exp *p, uint32_t lo,
                                           uint32_t hi, struct fx_lif_soa s, int32_t *ie,
                                           int32_t *ii, uint32_t *fired)
{
#ifdef FX_HAVE_X86_SIMD
    switch (fx_soa_isa()) {
    case FX_ISA_AVX512: return fx_lif_curr_exp_soa_avx512(p, lo, hi, s, ie, ii, fired);
    case FX_ISA_AVX2: return fx_lif_curr_exp_soa_avx2(p, lo, hi, s, ie, ii, fired);
    default: break;
    }
#endif
    return fx_lif_curr_exp_soa_scalar(p, lo, hi, s, ie, ii, fired);
}

static inline uint32_t fx_lif_cond_exp_soa(const struct fx_lif_cond_exp *p, uint32_t lo,
                                           uint32_t hi, struct fx_lif_soa s, int32_t *ie,
                                           int32_t *ii, uint32_t *fired)
{
#ifdef FX_HAVE_X86_SIMD
    switch (fx_soa_isa()) {
    case FX_ISA_AVX512: return fx_lif_cond_exp_soa_avx512(p, lo, hi, s, ie, ii, fired);
    case FX_ISA_AVX2: return fx_lif_cond_exp_soa_avx2(p, lo, hi, s, ie, ii, fired);
    default: break;
    }
#endif
    return fx_lif_cond_exp_soa_scalar(p, lo, hi, s, ie, ii, fired);
}

#endif

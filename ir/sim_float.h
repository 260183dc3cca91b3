/*
 * ir/sim_float.h: the float64 mode's neuron steps (the reference
 * simulator's, docs/numerics.md "The float64 mode").
 *
 * fl_step is the equations of abi/neuron.h in double precision, one
 * neuron at a time.  For the LIF models with one parameter set for the
 * whole population there are also whole-slice steps on state kept as
 * arrays, as abi/neuron_soa.h has for fixed point: a portable form, an
 * AVX2 form and an AVX-512 form, chosen at run time.  Each operation is
 * the same IEEE-754 double operation in the same order as fl_step's (the
 * build turns floating-point contraction off), so they give fl_step's
 * bits, neuron by neuron; tests/unit/test_kernels.c holds them to it.
 *
 * A slice step takes neurons [lo, hi), consumes their input words
 * (setting them to 0), writes the indices of the neurons that fired to
 * fired[] in ascending order and returns how many.
 */
#ifndef SNN_IR_SIM_FLOAT_H
#define SNN_IR_SIM_FLOAT_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/neuron_soa.h" /* FX_HAVE_X86_SIMD, fx_soa_isa */
#include "ir/ir.h"
#include "support/err.h"

/* The same equations as abi/neuron.h in double precision; weights in
 * internal units (nA, uS, mV), synaptic state likewise. */
struct fl_par {
    double v_rest, v_reset, v_thresh, v_off;
    double p11, p21e, p21i, p22e, p22i; /* lif_curr_exp; p11 also if_curr_delta */
    double k_leak, ke, ki, e_rev_e, e_rev_i; /* lif_cond_exp: ke = h/cm */
    double a, b, c, d, c0, h;                /* izhikevich */
    double bias;                             /* if */
    uint32_t refrac_steps, reset_subtract;
};

struct fl_state {
    double v, xe, xi, u;
    uint32_t refrac;
};

static inline int fl_step(enum snn_model m, const struct fl_par *p, struct fl_state *s,
                          double in_e, double in_i)
{
    switch (m) {
    case SNN_MODEL_LIF_CURR_EXP:
    case SNN_MODEL_LIF_COND_EXP: {
        s->xe += in_e;
        s->xi += in_i;
        int fired = 0;
        if (s->refrac) {
            s->refrac--;
        } else {
            if (m == SNN_MODEL_LIF_CURR_EXP)
                s->v = p->v_rest + (s->v - p->v_rest) * p->p11 + s->xe * p->p21e +
                       s->xi * p->p21i + p->v_off;
            else
                s->v += (p->v_rest - s->v) * p->k_leak + (p->e_rev_e - s->v) * (s->xe * p->ke) +
                        (p->e_rev_i - s->v) * (s->xi * p->ki) + p->v_off;
            if (s->v >= p->v_thresh) {
                s->v = p->v_reset;
                s->refrac = p->refrac_steps;
                fired = 1;
            }
        }
        s->xe *= p->p22e;
        s->xi *= p->p22i;
        return fired;
    }
    case SNN_MODEL_IF_CURR_DELTA:
        if (s->refrac) {
            s->refrac--;
            return 0;
        }
        s->v = p->v_rest + (s->v - p->v_rest) * p->p11 + p->v_off + in_e + in_i;
        if (s->v >= p->v_thresh) {
            s->v = p->v_reset;
            s->refrac = p->refrac_steps;
            return 1;
        }
        return 0;
    case SNN_MODEL_IZHIKEVICH: {
        double v = s->v + in_e + in_i, h = p->h;
        double dv = 0.04 * h * (v * v) + 5.0 * h * v + p->c0 - h * s->u;
        double du = p->a * p->b * h * v - p->a * h * s->u;
        s->v = v + dv;
        s->u += du;
        if (s->v >= p->v_thresh) {
            s->v = p->c;
            s->u += p->d;
            return 1;
        }
        return 0;
    }
    case SNN_MODEL_IF:
        s->v += p->bias + in_e + in_i;
        if (s->v >= p->v_thresh) {
            s->v = p->reset_subtract ? s->v - p->v_thresh : p->v_reset;
            return 1;
        }
        return 0;
    default:
        SNN_ASSERT(0);
    }
}

/* The state of a slice's LIF neurons, field by field. */
struct fl_lif_soa {
    double *v, *xe, *xi;
    uint32_t *refrac;
};

/* One LIF neuron of a slice: fl_step's LIF case on the arrays. */
static inline int fl_lif_one(bool cond, const struct fl_par *p, struct fl_lif_soa s, uint32_t i,
                             double *ie, double *ii)
{
    struct fl_state st = {s.v[i], s.xe[i], s.xi[i], 0.0, s.refrac[i]};
    int f = fl_step(cond ? SNN_MODEL_LIF_COND_EXP : SNN_MODEL_LIF_CURR_EXP, p, &st, ie[i], ii[i]);
    s.v[i] = st.v, s.xe[i] = st.xe, s.xi[i] = st.xi, s.refrac[i] = st.refrac;
    ie[i] = ii[i] = 0.0;
    return f;
}

static inline uint32_t fl_lif_soa_scalar(bool cond, const struct fl_par *p, uint32_t lo,
                                         uint32_t hi, struct fl_lif_soa s, double *ie,
                                         double *ii, uint32_t *fired)
{
    const struct fl_par q = *p; /* a local copy the compiler keeps in registers */
    uint32_t nf = 0;
    for (uint32_t i = lo; i < hi; i++)
        if (fl_lif_one(cond, &q, s, i, ie, ii))
            fired[nf++] = i;
    return nf;
}

#ifdef FX_HAVE_X86_SIMD
/* Sixteen neurons from i: two halves of eight doubles, one vector of
 * sixteen refractory counters. */
FX_AVX512 static inline uint32_t fl_lif16(bool cond, const struct fl_par *p, uint32_t i,
                                          struct fl_lif_soa s, double *ie, double *ii,
                                          uint32_t *fired)
{
    __m512i r = _mm512_loadu_si512(s.refrac + i);
    __mmask16 free = _mm512_testn_epi32_mask(r, r), fire = 0;
    for (unsigned h = 0; h < 2; h++) {
        uint32_t j = i + 8 * h;
        __mmask8 fr = (__mmask8)(free >> (8 * h));
        __m512d v = _mm512_loadu_pd(s.v + j);
        __m512d e = _mm512_add_pd(_mm512_loadu_pd(s.xe + j), _mm512_loadu_pd(ie + j));
        __m512d in = _mm512_add_pd(_mm512_loadu_pd(s.xi + j), _mm512_loadu_pd(ii + j));
        _mm512_storeu_pd(ie + j, _mm512_setzero_pd());
        _mm512_storeu_pd(ii + j, _mm512_setzero_pd());
        __m512d v_rest = _mm512_set1_pd(p->v_rest), nv;
        if (cond) { /* v + ((((v_rest - v) kl + (Ee - v)(e ke)) + (Ei - v)(i ki)) + v_off) */
            __m512d d = _mm512_mul_pd(_mm512_sub_pd(v_rest, v), _mm512_set1_pd(p->k_leak));
            d = _mm512_add_pd(d, _mm512_mul_pd(_mm512_sub_pd(_mm512_set1_pd(p->e_rev_e), v),
                                               _mm512_mul_pd(e, _mm512_set1_pd(p->ke))));
            d = _mm512_add_pd(d, _mm512_mul_pd(_mm512_sub_pd(_mm512_set1_pd(p->e_rev_i), v),
                                               _mm512_mul_pd(in, _mm512_set1_pd(p->ki))));
            nv = _mm512_add_pd(v, _mm512_add_pd(d, _mm512_set1_pd(p->v_off)));
        } else { /* (((v_rest + (v - v_rest) p11) + e p21e) + i p21i) + v_off */
            nv = _mm512_add_pd(v_rest, _mm512_mul_pd(_mm512_sub_pd(v, v_rest),
                                                     _mm512_set1_pd(p->p11)));
            nv = _mm512_add_pd(nv, _mm512_mul_pd(e, _mm512_set1_pd(p->p21e)));
            nv = _mm512_add_pd(nv, _mm512_mul_pd(in, _mm512_set1_pd(p->p21i)));
            nv = _mm512_add_pd(nv, _mm512_set1_pd(p->v_off));
        }
        __mmask8 fi = _mm512_mask_cmp_pd_mask(fr, nv, _mm512_set1_pd(p->v_thresh), _CMP_GE_OQ);
        v = _mm512_mask_mov_pd(v, fr, nv);
        v = _mm512_mask_mov_pd(v, fi, _mm512_set1_pd(p->v_reset));
        _mm512_storeu_pd(s.v + j, v);
        _mm512_storeu_pd(s.xe + j, _mm512_mul_pd(e, _mm512_set1_pd(p->p22e)));
        _mm512_storeu_pd(s.xi + j, _mm512_mul_pd(in, _mm512_set1_pd(p->p22i)));
        fire |= (__mmask16)((unsigned)fi << (8 * h));
    }
    r = _mm512_mask_sub_epi32(r, (__mmask16)~free, r, _mm512_set1_epi32(1));
    r = _mm512_mask_mov_epi32(r, fire, _mm512_set1_epi32((int32_t)p->refrac_steps));
    _mm512_storeu_si512(s.refrac + i, r);
    uint32_t nf = 0;
    for (unsigned m = fire; m; m &= m - 1)
        fired[nf++] = i + (uint32_t)__builtin_ctz(m);
    return nf;
}

FX_AVX512 static inline uint32_t fl_lif_soa_avx512(bool cond, const struct fl_par *p, uint32_t lo,
                                                   uint32_t hi, struct fl_lif_soa s, double *ie,
                                                   double *ii, uint32_t *fired)
{
    const struct fl_par q = *p;
    uint32_t nf = 0, i = lo;
    for (; i + 16 <= hi; i += 16)
        nf += cond ? fl_lif16(true, &q, i, s, ie, ii, fired + nf)
                   : fl_lif16(false, &q, i, s, ie, ii, fired + nf);
    return nf + fl_lif_soa_scalar(cond, &q, i, hi, s, ie, ii, fired + nf);
}

/* Eight neurons from i: two halves of four doubles, one vector of eight
 * refractory counters; a neuron that fired gets its reset values after
 * the stores. */
FX_AVX2 static inline uint32_t fl_lif8(bool cond, const struct fl_par *p, uint32_t i,
                                       struct fl_lif_soa s, double *ie, double *ii,
                                       uint32_t *fired)
{
    __m256i r = _mm256_loadu_si256((const __m256i *)(s.refrac + i));
    __m256i free = _mm256_cmpeq_epi32(r, _mm256_setzero_si256());
    unsigned fire = 0;
    for (unsigned h = 0; h < 2; h++) {
        uint32_t j = i + 4 * h;
        __m256d fr = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(
            h ? _mm256_extracti128_si256(free, 1) : _mm256_castsi256_si128(free)));
        __m256d v = _mm256_loadu_pd(s.v + j);
        __m256d e = _mm256_add_pd(_mm256_loadu_pd(s.xe + j), _mm256_loadu_pd(ie + j));
        __m256d in = _mm256_add_pd(_mm256_loadu_pd(s.xi + j), _mm256_loadu_pd(ii + j));
        _mm256_storeu_pd(ie + j, _mm256_setzero_pd());
        _mm256_storeu_pd(ii + j, _mm256_setzero_pd());
        __m256d v_rest = _mm256_set1_pd(p->v_rest), nv;
        if (cond) { /* as fl_lif16 */
            __m256d d = _mm256_mul_pd(_mm256_sub_pd(v_rest, v), _mm256_set1_pd(p->k_leak));
            d = _mm256_add_pd(d, _mm256_mul_pd(_mm256_sub_pd(_mm256_set1_pd(p->e_rev_e), v),
                                               _mm256_mul_pd(e, _mm256_set1_pd(p->ke))));
            d = _mm256_add_pd(d, _mm256_mul_pd(_mm256_sub_pd(_mm256_set1_pd(p->e_rev_i), v),
                                               _mm256_mul_pd(in, _mm256_set1_pd(p->ki))));
            nv = _mm256_add_pd(v, _mm256_add_pd(d, _mm256_set1_pd(p->v_off)));
        } else {
            nv = _mm256_add_pd(v_rest, _mm256_mul_pd(_mm256_sub_pd(v, v_rest),
                                                     _mm256_set1_pd(p->p11)));
            nv = _mm256_add_pd(nv, _mm256_mul_pd(e, _mm256_set1_pd(p->p21e)));
            nv = _mm256_add_pd(nv, _mm256_mul_pd(in, _mm256_set1_pd(p->p21i)));
            nv = _mm256_add_pd(nv, _mm256_set1_pd(p->v_off));
        }
        __m256d fi = _mm256_and_pd(_mm256_cmp_pd(nv, _mm256_set1_pd(p->v_thresh), _CMP_GE_OQ), fr);
        _mm256_storeu_pd(s.v + j, _mm256_blendv_pd(v, nv, fr));
        _mm256_storeu_pd(s.xe + j, _mm256_mul_pd(e, _mm256_set1_pd(p->p22e)));
        _mm256_storeu_pd(s.xi + j, _mm256_mul_pd(in, _mm256_set1_pd(p->p22i)));
        fire |= (unsigned)_mm256_movemask_pd(fi) << (4 * h);
    }
    /* r - 1 where r > 0; 0 stays 0 (the wrapped r - 1 is the larger) */
    r = _mm256_min_epu32(_mm256_sub_epi32(r, _mm256_set1_epi32(1)), r);
    _mm256_storeu_si256((__m256i *)(s.refrac + i), r);
    uint32_t nf = 0;
    for (unsigned m = fire; m; m &= m - 1) {
        uint32_t k = i + (uint32_t)__builtin_ctz(m);
        s.v[k] = p->v_reset;
        s.refrac[k] = p->refrac_steps;
        fired[nf++] = k;
    }
    return nf;
}

FX_AVX2 static inline uint32_t fl_lif_soa_avx2(bool cond, const struct fl_par *p, uint32_t lo,
                                               uint32_t hi, struct fl_lif_soa s, double *ie,
                                               double *ii, uint32_t *fired)
{
    const struct fl_par q = *p;
    uint32_t nf = 0, i = lo;
    for (; i + 8 <= hi; i += 8)
        nf += cond ? fl_lif8(true, &q, i, s, ie, ii, fired + nf)
                   : fl_lif8(false, &q, i, s, ie, ii, fired + nf);
    return nf + fl_lif_soa_scalar(cond, &q, i, hi, s, ie, ii, fired + nf);
}
#endif

/* The slice step to call: cond selects lif_cond_exp over lif_curr_exp. */
static inline uint32_t fl_lif_soa(bool cond, const struct fl_par *p, uint32_t lo, uint32_t hi,
                                  struct fl_lif_soa s, double *ie, double *ii, uint32_t *fired)
{
#ifdef FX_HAVE_X86_SIMD
    switch (fx_soa_isa()) {
    case FX_ISA_AVX512: return fl_lif_soa_avx512(cond, p, lo, hi, s, ie, ii, fired);
    case FX_ISA_AVX2: return fl_lif_soa_avx2(cond, p, lo, hi, s, ie, ii, fired);
    default: break;
    }
#endif
    return fl_lif_soa_scalar(cond, p, lo, hi, s, ie, ii, fired);
}

#endif

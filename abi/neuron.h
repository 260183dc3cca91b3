/*
 * abi/neuron.h: one timestep of every neuron model, in fixed point.
 *
 * This is the executable form of docs/numerics.md, section "Neuron
 * models": the reference simulator and the board firmware both call these
 * functions, and the accelerator RTL and generated kernels are tested
 * against them.  Parameters are what the quantize pass precomputes from
 * the physical-unit IR (per neuron); state is what a core keeps.
 *
 * Every step function takes the step's summed synaptic input per receptor
 * (in_e, in_i: ring-buffer words, in weight LSBs), advances the neuron by
 * one timestep and returns 1 when it fired in this step, 0 otherwise.
 * The order inside a step is fixed: input arrives, state updates,
 * threshold, reset, refractory.  Spike emission is the caller's.
 *
 * Freestanding: no libc, no allocation, no floating point.
 */
#ifndef SNN_ABI_NEURON_H
#define SNN_ABI_NEURON_H

#include <stdint.h>

#include "abi/fixed.h"
#include "abi/philox.h"

/* Model codes as stored in images; never renumber. */
enum fx_model {
    FX_MODEL_LIF_CURR_EXP = 1,
    FX_MODEL_LIF_COND_EXP = 2,
    FX_MODEL_IF_CURR_DELTA = 3,
    FX_MODEL_IZHIKEVICH = 4,
    FX_MODEL_IF = 5,
    FX_MODEL_SPIKE_SOURCE_ARRAY = 6,
    FX_MODEL_SPIKE_SOURCE_POISSON = 7
};

/* ---- lif_curr_exp: exact integration of a leaky membrane driven by two
 * exponentially decaying currents (NEST iaf_psc_exp's propagators). */
struct fx_lif_curr_exp {
    int32_t v_rest, v_reset, v_thresh; /* Q15.16 mV */
    int32_t v_off;                     /* i_offset's voltage per step, Q15.16 mV */
    /* The membrane's coefficients, each m / 2^shift with one shift: p11 =
     * exp(-h/tau_m); p21e, p21i: synaptic state LSB -> Q16 mV after one
     * step.  shift is 1 .. 60. */
    int32_t p11, p21e, p21i, shift;
    struct fx_mult p22e, p22i;         /* exp(-h/tau_syn) */
    uint32_t refrac_steps;
};

struct fx_lif_state {
    int32_t v;          /* Q15.16 mV */
    int32_t xe, xi;     /* synaptic state, weight LSBs (current or conductance) */
    uint32_t refrac;    /* steps of refractoriness left */
};

static inline int fx_lif_curr_exp_step(const struct fx_lif_curr_exp *p, struct fx_lif_state *s,
                                       int32_t in_e, int32_t in_i)
{
    int fired = 0;
    s->xe = fx_add(s->xe, in_e);
    s->xi = fx_add(s->xi, in_i);
    if (s->refrac) {
        s->refrac--;
    } else {
        int32_t above_rest = fx_dot3(fx_sat32((int64_t)s->v - p->v_rest), p->p11, s->xe,
                                     p->p21e, s->xi, p->p21i, p->shift);
        s->v = fx_sat32((int64_t)p->v_rest + above_rest + p->v_off);
        if (s->v >= p->v_thresh) {
            s->v = p->v_reset;
            s->refrac = p->refrac_steps;
            fired = 1;
        }
    }
    s->xe = fx_mul(s->xe, p->p22e);
    s->xi = fx_mul(s->xi, p->p22i);
    return fired;
}

/* ---- lif_cond_exp: forward Euler of a leaky membrane with two
 * exponentially decaying conductances (the decay itself is exact). */
struct fx_lif_cond_exp {
    int32_t v_rest, v_reset, v_thresh; /* Q15.16 mV */
    int32_t e_rev_e, e_rev_i;          /* Q15.16 mV */
    int32_t v_off;                     /* h * i_offset / cm, Q15.16 mV */
    int32_t k_leak;                    /* h / tau_m, Q1.30 */
    struct fx_mult kg_e, kg_i;         /* conductance LSB -> h*g/cm in Q1.30 */
    struct fx_mult p22e, p22i;         /* exp(-h/tau_syn) */
    uint32_t refrac_steps;
};

/* The fraction bits of gamma and k_leak, and the one rounding shift of the
 * membrane's three terms. */
#define FX_COND_GAMMA_SHIFT 30

static inline int fx_lif_cond_exp_step(const struct fx_lif_cond_exp *p, struct fx_lif_state *s,
                                       int32_t in_e, int32_t in_i)
{
    int fired = 0;
    s->xe = fx_add(s->xe, in_e);
    s->xi = fx_add(s->xi, in_i);
    if (s->refrac) {
        s->refrac--;
    } else {
        int32_t ge = fx_mul(s->xe, p->kg_e), gi = fx_mul(s->xi, p->kg_i);
        int32_t dv = fx_dot3(fx_sat32((int64_t)p->v_rest - s->v), p->k_leak,
                             fx_sat32((int64_t)p->e_rev_e - s->v), ge,
                             fx_sat32((int64_t)p->e_rev_i - s->v), gi, FX_COND_GAMMA_SHIFT);
        s->v = fx_sat32((int64_t)s->v + dv + p->v_off);
        if (s->v >= p->v_thresh) {
            s->v = p->v_reset;
            s->refrac = p->refrac_steps;
            fired = 1;
        }
    }
    s->xe = fx_mul(s->xe, p->p22e);
    s->xi = fx_mul(s->xi, p->p22i);
    return fired;
}

/* ---- if_curr_delta: leaky membrane (exact), synaptic input jumps the
 * voltage; input arriving during refractoriness is discarded (as NEST's
 * iaf_psc_delta). */
struct fx_if_curr_delta {
    int32_t v_rest, v_reset, v_thresh, v_off; /* Q15.16 mV */
    struct fx_mult p11;                        /* exp(-h/tau_m) */
    struct fx_mult k_in_e, k_in_i;             /* weight LSB -> Q15.16 mV */
    uint32_t refrac_steps;
};

static inline int fx_if_curr_delta_step(const struct fx_if_curr_delta *p, struct fx_lif_state *s,
                                        int32_t in_e, int32_t in_i)
{
    if (s->refrac) {
        s->refrac--;
        return 0;
    }
    int64_t v = (int64_t)p->v_rest + fx_mul(fx_sat32((int64_t)s->v - p->v_rest), p->p11) +
                p->v_off + fx_mul(in_e, p->k_in_e) + fx_mul(in_i, p->k_in_i);
    s->v = fx_sat32(v);
    if (s->v >= p->v_thresh) {
        s->v = p->v_reset;
        s->refrac = p->refrac_steps;
        return 1;
    }
    return 0;
}

/* ---- izhikevich: forward Euler of Izhikevich (2003), delta synapses. */
struct fx_izhikevich {
    struct fx_mult k_v2;    /* 0.04 h   (applied to v^2 in Q15.16 mV^2) */
    struct fx_mult k_v1;    /* 5 h */
    int32_t c0;             /* (140 + i_offset) h, Q15.16 mV */
    struct fx_mult k_u;     /* h */
    struct fx_mult a_h;     /* a h */
    struct fx_mult ab_h;    /* a b h */
    int32_t c, d;           /* reset voltage (Q15.16 mV), recovery jump (Q15.16 mV/ms) */
    int32_t v_thresh;       /* Q15.16 mV (30 mV) */
    struct fx_mult k_in_e, k_in_i;
};

struct fx_izh_state {
    int32_t v, u; /* Q15.16 mV, Q15.16 mV/ms */
};

static inline int fx_izhikevich_step(const struct fx_izhikevich *p, struct fx_izh_state *s,
                                     int32_t in_e, int32_t in_i)
{
    int32_t v = fx_sat32((int64_t)s->v + fx_mul(in_e, p->k_in_e) + fx_mul(in_i, p->k_in_i));
    int32_t v2 = fx_sat32(((int64_t)v * v + ((int64_t)1 << (FX_V_FRAC_BITS - 1))) >> FX_V_FRAC_BITS);
    int64_t dv = (int64_t)fx_mul(v2, p->k_v2) + fx_mul(v, p->k_v1) + p->c0 - fx_mul(s->u, p->k_u);
    int64_t du = (int64_t)fx_mul(v, p->ab_h) - fx_mul(s->u, p->a_h);
    s->v = fx_sat32(v + dv);
    s->u = fx_sat32(s->u + du);
    if (s->v >= p->v_thresh) {
        s->v = p->c;
        s->u = fx_add(s->u, p->d);
        return 1;
    }
    return 0;
}

/* ---- if: non-leaky integrate-and-fire (NIR's IF), delta synapses. */
struct fx_if {
    int32_t v_thresh, v_reset, bias; /* Q15.16 mV; bias is added every step */
    struct fx_mult k_in_e, k_in_i;
    uint32_t reset_subtract;         /* 1: v -= v_thresh; 0: v = v_reset */
};

struct fx_if_state {
    int32_t v;
};

static inline int fx_if_step(const struct fx_if *p, struct fx_if_state *s, int32_t in_e,
                             int32_t in_i)
{
    s->v = fx_sat32((int64_t)s->v + p->bias + fx_mul(in_e, p->k_in_e) + fx_mul(in_i, p->k_in_i));
    if (s->v >= p->v_thresh) {
        s->v = p->reset_subtract ? fx_sat32((int64_t)s->v - p->v_thresh) : p->v_reset;
        return 1;
    }
    return 0;
}

/* ---- spike_source_poisson: one Bernoulli draw per neuron and step. */
struct fx_poisson {
    uint32_t p32;        /* fires iff draw < p32: min(round((1 - exp(-rate h / 1000)) 2^32),
                          * 2^32 - 1), rate in Hz, h in ms */
    uint32_t start_step; /* first step it may fire */
    uint32_t end_step;   /* first step it may not; UINT32_MAX: never ends */
};

static inline int fx_poisson_fires(const struct fx_poisson *p, uint64_t seed, uint32_t pop,
                                   uint32_t neuron, uint32_t step)
{
    if (step < p->start_step || step >= p->end_step)
        return 0;
    return snn_philox4x32(step, neuron, pop, SNN_RNG_POISSON, seed).v[0] < p->p32;
}

/* ---- parameters from outside -------------------------------------------------- */

/* Whether a coefficient's shift is one fx_mul takes. */
static inline int fx_mult_ok(struct fx_mult k) { return k.s >= 0 && k.s <= FX_MULT_MAX_SHIFT; }

#define FX_SHIFT_OK_(T, field)                                                               \
    do {                                                                                     \
        T q_;                                                                                \
        __builtin_memcpy(&q_, params, sizeof q_);                                            \
        if (!fx_mult_ok(q_.field))                                                           \
            return (int)(__builtin_offsetof(T, field) + __builtin_offsetof(struct fx_mult, s)); \
    } while (0)

/* The byte offset, in one neuron's parameters of model m (any alignment),
 * of the first shift (an int32) outside what its arithmetic takes (fx_mul:
 * 0 .. 62; lif_curr_exp's fx_dot3: 1 .. 60), or -1 when there is none.  The steps
 * above assume their shifts in range; a loader of parameters from outside
 * (an image) checks them with this. */
static inline int fx_params_bad_shift(enum fx_model m, const void *params)
{
    switch (m) {
    case FX_MODEL_LIF_CURR_EXP: {
        struct fx_lif_curr_exp q;
        __builtin_memcpy(&q, params, sizeof q);
        if (q.shift < 1 || q.shift > 60)
            return (int)__builtin_offsetof(struct fx_lif_curr_exp, shift);
        FX_SHIFT_OK_(struct fx_lif_curr_exp, p22e);
        FX_SHIFT_OK_(struct fx_lif_curr_exp, p22i);
        return -1;
    }
    case FX_MODEL_LIF_COND_EXP:
        FX_SHIFT_OK_(struct fx_lif_cond_exp, kg_e);
        FX_SHIFT_OK_(struct fx_lif_cond_exp, kg_i);
        FX_SHIFT_OK_(struct fx_lif_cond_exp, p22e);
        FX_SHIFT_OK_(struct fx_lif_cond_exp, p22i);
        return -1;
    case FX_MODEL_IF_CURR_DELTA:
        FX_SHIFT_OK_(struct fx_if_curr_delta, p11);
        FX_SHIFT_OK_(struct fx_if_curr_delta, k_in_e);
        FX_SHIFT_OK_(struct fx_if_curr_delta, k_in_i);
        return -1;
    case FX_MODEL_IZHIKEVICH:
        FX_SHIFT_OK_(struct fx_izhikevich, k_v2);
        FX_SHIFT_OK_(struct fx_izhikevich, k_v1);
        FX_SHIFT_OK_(struct fx_izhikevich, k_u);
        FX_SHIFT_OK_(struct fx_izhikevich, a_h);
        FX_SHIFT_OK_(struct fx_izhikevich, ab_h);
        FX_SHIFT_OK_(struct fx_izhikevich, k_in_e);
        FX_SHIFT_OK_(struct fx_izhikevich, k_in_i);
        return -1;
    case FX_MODEL_IF:
        FX_SHIFT_OK_(struct fx_if, k_in_e);
        FX_SHIFT_OK_(struct fx_if, k_in_i);
        return -1;
    default: /* the sources have no shifts */
        return -1;
    }
}

#undef FX_SHIFT_OK_

#endif

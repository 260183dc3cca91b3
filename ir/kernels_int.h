/*
 * ir/kernels_int.h: vector kernels of the reference simulator (private to ir/).
 *
 * For a population whose neurons all share one parameter set (the common
 * case: constant parameters) the simulator keeps state as arrays and steps
 * the whole population with these loops, written without branches, with
 * an AVX-512 form chosen at run time where the processor has it (the
 * binary stays portable).  Each computes exactly what the matching step of
 * abi/neuron.h computes, neuron by neuron; tests/unit/test_kernels.c holds
 * them to it.
 *
 * State is kept in 64-bit words (the values stay in the int32 range the
 * contract gives them), so the vector form loads and stores lanes as they
 * are.  A kernel steps neurons [lo, hi), consumes their input words
 * (setting them to 0), writes the indices of the neurons that fired to
 * fired[] in ascending order and returns how many.
 */
#ifndef SNN_IR_KERNELS_INT_H
#define SNN_IR_KERNELS_INT_H

#include <stdint.h>

#include "abi/neuron.h"

/* Arrays of a population's state, one element per neuron. */
struct snn__lif_soa {
    int64_t *v, *xe, *xi, *refrac;
};

/* Whether a population's shared parameters suit the kernels: every
 * coefficient needs a shift > 0 (or a zero multiplier), and the decays
 * (p11, p22: always in [0, 1] for valid parameters) must be in [0, 1], so
 * their products cannot leave int32 and need no saturation. */
int snn__soa_curr_ok(const struct fx_lif_curr_exp *p);
int snn__soa_cond_ok(const struct fx_lif_cond_exp *p);

uint32_t snn__lif_curr_exp_soa(const struct fx_lif_curr_exp *p, uint32_t lo, uint32_t hi,
                               struct snn__lif_soa s, int32_t *ie, int32_t *ii,
                               uint32_t *fired);
uint32_t snn__lif_cond_exp_soa(const struct fx_lif_cond_exp *p, uint32_t lo, uint32_t hi,
                               struct snn__lif_soa s, int32_t *ie, int32_t *ii,
                               uint32_t *fired);

/* Tests set this to check the portable forms on machines that have the
 * vector ones. */
extern int snn__kernels_scalar_only;

#endif

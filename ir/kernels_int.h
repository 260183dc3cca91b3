/*
 * ir/kernels_int.h: vector kernels of the reference simulator (private to ir/).
 *
 * For a population whose neurons all share one parameter set (the common
 * case: constant parameters) the simulator keeps state as arrays and steps
 * the whole population with these loops, written without branches so the
 * compiler vectorizes them, built for several instruction sets and chosen
 * at run time (the binary stays portable).  Each computes exactly what the
 * matching step of abi/neuron.h computes, neuron by neuron; a unit test
 * (tests/unit/test_kernels.c) holds them to it.
 *
 * A kernel steps neurons [lo, hi), writes the indices of those that fired
 * to fired[] in ascending order and returns how many.
 */
#ifndef SNN_IR_KERNELS_INT_H
#define SNN_IR_KERNELS_INT_H

#include <stdint.h>

#include "abi/neuron.h"

/* Arrays of a population's state, one element per neuron. */
struct snn__lif_soa {
    int32_t *v, *xe, *xi;
    uint32_t *refrac;
};

/* Whether a coefficient suits the kernels (they need a shift > 0, or a
 * zero multiplier). */
int snn__soa_eligible(struct fx_mult k);

uint32_t snn__lif_curr_exp_soa(const struct fx_lif_curr_exp *p, uint32_t lo, uint32_t hi,
                               struct snn__lif_soa s, const int32_t *ie, const int32_t *ii,
                               uint32_t *fired);
uint32_t snn__lif_cond_exp_soa(const struct fx_lif_cond_exp *p, uint32_t lo, uint32_t hi,
                               struct snn__lif_soa s, const int32_t *ie, const int32_t *ii,
                               uint32_t *fired);

/* Tests set this to check the portable forms on machines that have the
 * vector ones. */
extern int snn__kernels_scalar_only;

#endif

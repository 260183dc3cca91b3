/*
 * ir/expand.h: turning connector rules into synapses.
 *
 * Expansion is a pure function of (network, seed, projection, the slice
 * asked for): every random choice is one Philox draw whose counter names
 * the projection, the neurons and the purpose (docs/connectivity.md), so
 * the reference simulator, the mapper and the board images see exactly the
 * same synapses on any machine, and any slice of a projection can be
 * regenerated alone.
 */
#ifndef SNN_IR_EXPAND_H
#define SNN_IR_EXPAND_H

#include <stdint.h>

#include "ir/ir.h"

/* Largest delay in timesteps the numeric contract allows; targets may
 * allow less.  8 bits of delay per synapse. */
#define SNN_MAX_DELAY_STEPS 255u

/* Synapses of one slice, sorted by (pre, post), then by the connector's
 * own order for repeated pairs (from_list).  Heap-owned. */
struct snn_synapses {
    uint64_t n, cap;
    uint32_t *pre, *post;     /* population-local neuron indices */
    double *weight;           /* internal units: nA, uS or mV */
    uint32_t *delay_steps;    /* 1 .. SNN_MAX_DELAY_STEPS */
};

void snn_synapses_free(struct snn_synapses *s);

/*
 * Expands projection proj restricted to pre neurons [pre_lo, pre_hi) and
 * post neurons [post_lo, post_hi) (use 0, UINT32_MAX for everything) and
 * appends the synapses to *out (which may start zeroed).  Errors (a list
 * whose length does not match, out of memory) are reported to d.
 * 0, SNN_ENOMEM, or SNN_ESEMA.
 */
int snn_expand(const struct snn_net *net, uint32_t proj, uint32_t pre_lo, uint32_t pre_hi,
               uint32_t post_lo, uint32_t post_hi, struct snn_synapses *out, struct snn_diag *d);

/*
 * Value number `index` of a per-neuron parameter or initial-state value
 * (pop, slot: the parameter's index; is_init selects init[] over params[]).
 */
double snn_value_neuron(const struct snn_net *net, uint32_t pop, unsigned slot, bool is_init,
                        uint32_t neuron);

/*
 * Counts the synapses of projection proj from each pre neuron of
 * [pre_lo, pre_hi) onto each post slice, slice k being post neurons
 * [post_bounds[k], post_bounds[k + 1]) for k < n_post_slices (bounds
 * ascending; posts outside them are not counted).  counts holds
 * (pre_hi - pre_lo) x n_post_slices entries, row-major by pre, and is
 * added to, not cleared.  Exactly the synapses snn_expand() makes, without
 * their weights and delays.  0, SNN_ENOMEM or SNN_ESEMA (reported to d).
 */
int snn_expand_count(const struct snn_net *net, uint32_t proj, uint32_t pre_lo, uint32_t pre_hi,
                     const uint32_t *post_bounds, uint32_t n_post_slices, uint32_t *counts,
                     struct snn_diag *d);

/* "projection 'NAME'", or "projection #proj" for one without a name, in
 * buf: how the errors of expansion name a projection. */
const char *snn_expand_label(const struct snn_proj *pj, uint32_t proj, char *buf, size_t size);

/* Whether expanding a slice of pre neurons of projection proj costs in
 * proportion to the slice, so that slices can be expanded apart (by
 * different threads) for about the price of the whole: the connectors
 * drawn row by row (all_to_all, one_to_one, fixed_probability,
 * fixed_number_post, a matrix), unless a list of weights or delays makes
 * every slice count the synapses of the rows before it.  The synapses do
 * not depend on the slicing either way. */
bool snn_expand_slices_cheaply(const struct snn_net *net, uint32_t proj);

/* A bound on the delay in timesteps of every synapse of projection proj,
 * from its delay value without expanding (docs/connectivity.md): exact
 * for a constant, a uniform and a list (or from_list's own delays); for a
 * normal, mean + |sd| 8.5717.. (the largest |z| a draw can give) clamped
 * to its bounds. */
uint32_t snn_expand_max_delay_steps(const struct snn_net *net, uint32_t proj);

/* Largest number of synapses of projection proj that can end on one post
 * neuron: exact for list-like connectors, the worst case for random ones. */
uint64_t snn_expand_max_fan_in(const struct snn_net *net, uint32_t proj);

/* The delay in timesteps that a delay of ms milliseconds is, by the
 * rounding rule of docs/connectivity.md (round half up, clamp to
 * [1, SNN_MAX_DELAY_STEPS]). */
uint32_t snn_delay_steps(double ms, double dt_ms);

#endif

/*
 * ir/sim.h: the reference simulator.
 *
 * Executes a network exactly as docs/numerics.md says: the quantized
 * integer form (the oracle every executor must match bit for bit) or, in
 * float64 mode, the same equations in double precision, which measures
 * what quantization costs.  Synaptic delivery is event-driven through
 * per-population delay ring buffers.  Deterministic: the same network and
 * seed give the same spikes on every run and machine.
 *
 * Results stream out through callbacks, step by step, so a long run does
 * not have to hold its spikes in memory.
 */
#ifndef SNN_IR_SIM_H
#define SNN_IR_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/* Spikes as (step, population, neuron) triples; heap-owned. */
struct snn_spike_list {
    uint64_t n, cap;
    uint32_t *step, *pop, *neuron;
};

int snn_spike_list_push(struct snn_spike_list *l, uint32_t step, uint32_t pop, uint32_t neuron);
/* Sorts by (step, pop, neuron) and drops exact repeats. */
void snn_spike_list_sort(struct snn_spike_list *l);
void snn_spike_list_free(struct snn_spike_list *l);

struct snn_sim_opts {
    uint64_t steps;                      /* 0: the network's duration / dt */
    bool float64;                        /* float64 mode instead of fixed point */
    unsigned threads;                    /* 0: one per idle processor, big networks */
    const struct snn_spike_list *input;  /* extra spikes for spike sources, or NULL */
    void *ctx;
    /* The callbacks are called one at a time, in step order, each call
     * seeing what the ones before it did, but not always from the same
     * thread when the run has several (they take turns writing the
     * outputs of 64 steps).
     * The spikes of one population in one step, neurons ascending; called
     * in step order, then population order; only for recorded populations
     * (record spikes) unless all_spikes is set.  Non-zero aborts the run:
     * snn_sim_run returns it, with errno as the failing call left it
     * (whichever thread made it). */
    int (*on_spikes)(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons, uint32_t n);
    bool all_spikes;
    /* Membrane voltage (mV) of a recorded neuron after step `step`. */
    int (*on_v)(void *ctx, uint32_t step, uint32_t pop, uint32_t neuron, double v_mv);
    /* Called now and then with the step reached. */
    void (*on_progress)(void *ctx, uint64_t step, uint64_t steps);
    /* With several threads, every balance_steps steps (0: 1024) the
     * threads' parts of the network are resized to the pace each kept, so
     * that a slower processor holds the others back less; results never
     * depend on it.  For tests, balance_shuffle != 0 seeds shares chosen
     * at random instead, some of them empty. */
    uint32_t balance_steps;
    uint64_t balance_shuffle;
};

struct snn_sim_stats {
    uint64_t steps;
    uint64_t synapses;        /* expanded */
    uint64_t syn_events;      /* synaptic events delivered */
    uint64_t *pop_spikes;     /* caller's array of n_pops counters, or NULL */
    double build_s, run_s;    /* wall time: expansion and setup, the step loop */
    size_t bytes;             /* memory held by the simulation */
    unsigned threads;         /* used; results do not depend on it */
    /* With several threads: how many times their parts were resized
     * (snn_sim_opts.balance_steps), and the smallest and largest share of
     * the network a thread held at the end. */
    uint64_t share_moves;
    double share_min, share_max;
};

/*
 * Runs a verified network.  0, SNN_ERANGE (a value that the integer form
 * cannot represent), SNN_ETOOBIG (the expanded network does not fit in
 * memory; the message says how much it would need), SNN_ENOMEM, or the
 * non-zero value a callback returned (SNN_EIO by convention).
 */
int snn_sim_run(const struct snn_net *net, const struct snn_sim_opts *o, struct snn_diag *d,
                struct snn_sim_stats *stats);

#endif

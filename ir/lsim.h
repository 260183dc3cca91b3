/*
 * ir/lsim.h: the layer reference simulator.
 *
 * Runs a quantized layer graph (ir/lquant.h) for T steps exactly as
 * docs/numerics.md, section "The layer view", says: the oracle the sdt
 * accelerator must match spike for spike.  In float64 mode it runs the
 * same graph in double precision (the real weights, batch norm and
 * thresholds, the same inputs), which measures what quantization costs.
 * Neuron state persists from step to step; within a step every node runs
 * once, in graph order.  Deterministic: the same graph and seed give the
 * same bytes on every run and machine.
 *
 * Results stream out through callbacks, step by step: the nonzero outputs
 * of every spiking node, in (y, x, c) order (the accelerator's event
 * order), and the head's values.  A stepping interface lets an executor's
 * harness compare every node's output after every step.
 *
 * Public arrays are in tensor order, [c][h][w] row-major.
 */
#ifndef SNN_IR_LSIM_H
#define SNN_IR_LSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/layer.h"
#include "ir/lquant.h"

/* One nonzero output of a spiking node: channel, row, column, value (1 for
 * a spike, 1 .. 255 for counts). */
struct snn_levent {
    uint16_t c, y, x;
    uint16_t value;
};

/* A spiking node: one whose output is spikes or counts and is computed
 * (LIF, I-LIF, SDSA v1, maxpool on spikes or counts); the input and the
 * views (tokens, flatten) are not. */
bool snn_lsim_is_spiking(const struct snn_lnode *n);

struct snn_lsim_opts {
    bool float64;       /* float64 mode instead of the integer form */
    void *ctx;
    /* The nonzero outputs of spiking node `node` in step `step`, (y, x, c)
     * order; called for every spiking node (n may be 0), in step order,
     * then node order.  Non-zero aborts the run with that value. */
    int (*on_events)(void *ctx, uint32_t step, uint32_t node, const struct snn_levent *ev,
                     uint32_t n);
    /* The head's values after step `step`, [c][h][w]: q16 (or the spikes
     * or counts themselves, for a head of that kind) in the integer form,
     * f64 NULL; in float64 mode q16 is NULL and f64 holds real values.
     * Non-zero aborts the run. */
    int (*on_head)(void *ctx, uint32_t step, const int32_t *q16, const double *f64, uint32_t n);
};

/* What a run leaves; heap-owned (snn_lsim_result_free). */
struct snn_lsim_result {
    uint32_t steps;
    uint32_t n_head;         /* elements of the head */
    int64_t *head_sum;       /* [n_head]: the head summed over the steps (integer form) */
    double *head_mean;       /* [n_head]: that sum / T, in real units (Q15.16 read as a
                              * number; spikes and counts as they are); float64 mode: the
                              * real mean */
    uint32_t argmax;         /* the index of the largest mean (the first of equals) */
    uint32_t n_nodes;
    uint64_t *node_events;   /* [n_nodes]: nonzero outputs over the run (spiking nodes) */
};

void snn_lsim_result_free(struct snn_lsim_result *r);

/*
 * Runs the graph for its T steps.  net is verified, lq its quantization,
 * o may be NULL (the integer form, no callbacks).  0 and *res (may be NULL:
 * only the callbacks), SNN_ENOMEM, or the value a callback returned.
 */
int snn_lsim_run(const struct snn_net *net, const struct snn_lquant *lq,
                 const struct snn_lsim_opts *o, struct snn_lsim_result *res);

/* ---- stepping ------------------------------------------------------------- */

struct snn_lsim;

/* A simulator at step 0, its state zero.  0 and *out, or SNN_ENOMEM.
 * net and lq must outlive it. */
int snn_lsim_new(const struct snn_net *net, const struct snn_lquant *lq, bool float64,
                 struct snn_lsim **out);
void snn_lsim_free(struct snn_lsim *s);

/* Runs the next step, calling o's callbacks (o may be NULL).  0, SNN_EINVAL
 * after the T-th step, or a callback's value. */
int snn_lsim_step(struct snn_lsim *s, const struct snn_lsim_opts *o);

/* Steps run so far. */
uint32_t snn_lsim_steps(const struct snn_lsim *s);

/* Node i's output after the last step, [c][h][w] into out.  snn_lsim_read
 * gives the integer form (spikes, counts or q16; in float64 mode a real
 * q16 value is rounded to Q15.16), snn_lsim_read_f64 real values (q16 as
 * its number, x / 2^16, in the integer form). */
void snn_lsim_read(const struct snn_lsim *s, uint32_t node, int32_t *out);
void snn_lsim_read_f64(const struct snn_lsim *s, uint32_t node, double *out);

/* The membrane state V after the last step, for comparing an executor's
 * neuron state: LIF and I-LIF [c][h][w], SDSA v1's attention LIF [c]
 * (Q15.16; real in float64 mode, read through out_f64).  Other nodes
 * have none: nothing is written. */
void snn_lsim_read_state(const struct snn_lsim *s, uint32_t node, int32_t *out,
                         double *out_f64);

#endif

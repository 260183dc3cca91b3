/*
 * ir/quant.h: the quantize pass: physical-unit IR -> the integer form of
 * docs/numerics.md.
 *
 * For every population it precomputes, per neuron, the fixed-point
 * parameters of the model's step (abi/neuron.h) and the initial state; for
 * every (population, receptor) it chooses the weight unit.  It reports the
 * quantization error of every parameter and weight; a value that cannot
 * be represented is an error naming it and saying why.
 */
#ifndef SNN_IR_QUANT_H
#define SNN_IR_QUANT_H

#include <math.h>
#include <stdio.h>

#include "abi/neuron.h"
#include "ir/ir.h"

/* The quantized form of one population. */
struct snn_qpop {
    enum fx_model model;
    uint32_t size;
    /* Weight unit per receptor (SNN_RECEPTOR_EXC, _INH): internal units
     * (nA, uS or mV) per LSB, and the largest weight magnitude in LSBs. */
    double w_lsb[2];
    int32_t w_max[2];
    /* Per-neuron parameters: the array matching model (the others NULL). */
    struct fx_lif_curr_exp *lif_curr_exp;
    struct fx_lif_cond_exp *lif_cond_exp;
    struct fx_if_curr_delta *if_curr_delta;
    struct fx_izhikevich *izhikevich;
    struct fx_if *if_;
    struct fx_poisson *poisson;
    /* Initial state per neuron: lif_* and if_curr_delta use lif0,
     * izhikevich izh0, if if0. */
    struct fx_lif_state *lif0;
    struct fx_izh_state *izh0;
    struct fx_if_state *if0;
    /* spike_source_array: neuron i fires in steps steps[off[i] .. off[i+1]),
     * ascending, without repeats. */
    uint32_t *src_off, *src_steps;
};

/* One line of the quantization report. */
struct snn_qerr {
    const char *where;  /* population or projection name */
    const char *what;   /* "p11 = exp(-dt/tau_m)", "weight", "tau_refrac" ... */
    double value;       /* exact value of largest magnitude over the neurons */
    double abs_err;     /* largest |quantized - exact| over neurons */
    double rel_err;     /* largest relative error over neurons (0 when exact is 0) */
    const char *unit;
};

struct snn_qnet {
    struct snn_arena *arena;
    uint32_t n_pops;
    struct snn_qpop *pops;
    struct snn_qerr *errs;
    size_t n_errs, errs_cap;
};

/* Quantizes a verified network.  0 and *out, or SNN_ERANGE (reported to
 * d: which value, why), SNN_ENOMEM. */
int snn_quantize(const struct snn_net *net, struct snn_diag *d, struct snn_qnet **out);
void snn_qnet_free(struct snn_qnet *q);

/* A weight (internal units) onto population qp's receptor r in LSBs:
 * rounded to nearest (ties away from zero), saturated to +-w_max.  Inline:
 * the simulator's setup calls it for every synapse. */
static inline int32_t snn_quantize_weight(const struct snn_qpop *qp, enum snn_receptor r,
                                          double w)
{
    if (qp->w_lsb[r] == 0)
        return 0; /* only zero weights reach a receptor whose bound is 0 */
    double x = w / qp->w_lsb[r];
    double m = qp->w_max[r];
    if (!(x < m))
        return x != x ? 0 : qp->w_max[r];
    if (!(x > -m))
        return -qp->w_max[r];
    return (int32_t)(x < 0 ? -floor(-x + 0.5) : floor(x + 0.5));
}

/* Prints the quantization report as an aligned table. */
void snn_qnet_print_report(const struct snn_qnet *q, FILE *out);

/* Quantizes a real coefficient x given the largest magnitude xmax among
 * the values sharing its shift (docs/numerics.md, "Coefficients"). */
int snn_quantize_mult(double x, double xmax, struct fx_mult *out);

#endif

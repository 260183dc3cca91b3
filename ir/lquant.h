/*
 * ir/lquant.h: the layer quantize pass: a verified layer graph (ir/layer.h)
 * -> the integers of docs/numerics.md, section "The layer view".
 *
 * For every node it gives what an executor needs and nothing it must
 * recompute: a convolution's int8/int4 weights and its requantization
 * (per-channel multiplier m and bias b, one shift sh per layer), the
 * Q15.16 thresholds of LIF and SDSA v1, the requantization of a sum pool
 * and of SDSA v2, the inputs of every step, and the largest value every
 * spikes or counts tensor can hold (for the accumulator bound).  The
 * reference simulator (ir/lsim.h) and the sdt backend both read this
 * form; neither sees a real number.  The real values the float64 mode
 * runs on (weights, batch-norm gain and offset, thresholds) are kept
 * beside them.
 *
 * Every public array is in tensor order: [c][h][w] row-major, weights
 * [out][in per group][ky][kx], as the arrays of the graph are.
 *
 * Memory: everything lives in the result's own arena (snn_lquant_free);
 * real arrays given by the graph are referenced, not copied, so the
 * network must outlive the result.
 */
#ifndef SNN_IR_LQUANT_H
#define SNN_IR_LQUANT_H

#include <stdint.h>
#include <stdio.h>

#include "ir/layer.h"
#include "ir/quant.h" /* struct snn_qerr, the report's line */

/* A requantization: x[o] = sat32(rshr(acc * m[o], sh) + b[o]) (docs/
 * numerics.md, "Requantization"), one pair per output channel. */
struct snn_lq_requant {
    uint32_t n;     /* channels */
    int32_t *m;     /* [n], |m| <= 2^23 */
    int32_t *b;     /* [n], Q15.16 */
    uint32_t sh;    /* 0 .. 62, one per layer */
};

struct snn_lq_node {
    /* SNN_L_INPUT: the values of every step.  data holds data_steps
     * tensors [c][h][w] (1: the same every step; T: one per step), or is
     * NULL when the input is generated from the seed (snn_lquant_input). */
    uint8_t *data;
    uint32_t data_steps;

    /* SNN_L_CONV */
    int8_t *w;              /* [out][in per group][k][k]: -127..127, or -7..7 for int4 */
    uint32_t w_count;       /* number of weights */
    int32_t w_max;          /* the largest |w| (127 or 7 for an unscaled layer) */
    double *w_scale;        /* [out]: the real value of one weight LSB */
    const double *w_real;   /* [out][in per group][k][k]: the real weights (float64 mode) */

    /* SNN_L_CONV, SNN_L_SUMPOOL, SNN_L_SDSA2 */
    struct snn_lq_requant rq;
    uint64_t acc_bound;     /* the largest |acc| the inputs allow (< 2^31) */
    /* float64 mode: x[o] = acc_real * f_gain[o] + f_offset[o] in real
     * units, acc_real summed with the real weights (conv) or the integer
     * inputs (sumpool, SDSA v2) */
    double *f_gain, *f_offset;

    /* SNN_L_LIF, SNN_L_SDSA1: the threshold, Q15.16 (positive) and real */
    int32_t theta;
    double theta_real;

    /* Every node of kind spikes or counts: its largest value (1, D, 255). */
    uint32_t vmax;
};

struct snn_lquant {
    struct snn_arena *arena;
    uint64_t seed;              /* the network's, for generated inputs */
    uint32_t n_nodes;
    struct snn_lq_node *nodes;  /* [n_nodes], parallel to the graph's nodes */
    struct snn_qerr *errs;      /* the quantization report */
    size_t n_errs, errs_cap;
};

/*
 * Quantizes a verified layer graph (snn_layers_verify has run: shapes and
 * kinds are set).  0 and *out, or SNN_ERANGE (a value the integer form
 * cannot hold, an input value of the wrong kind, an accumulator bound of
 * 2^31 or more: each reported to d at the node with its name), SNN_ENOMEM.
 * Nothing is returned on failure.
 */
int snn_layers_quantize(const struct snn_net *net, struct snn_diag *d, struct snn_lquant **out);
void snn_lquant_free(struct snn_lquant *lq);

/* The input node's values in step `step` (0-based), [c][h][w] into out
 * (c·h·w bytes): its data, or the generated draws (docs/numerics.md,
 * "Inputs"). */
void snn_lquant_input(const struct snn_lquant *lq, const struct snn_layer_graph *g,
                      uint32_t node, uint32_t step, uint8_t *out);

/* Prints the quantization report as an aligned table (the network view's
 * format: where, value, largest, abs error, rel error). */
void snn_lquant_print_report(const struct snn_lquant *lq, FILE *out);

/* The philox draws of the layer view (abi/philox.h streams
 * SNN_RNG_LAYER_INPUT and SNN_RNG_LAYER_WEIGHT), for other executors and
 * tests: a generated input element (spikes: 0 or 1; counts: 0 .. 255) and
 * a generated weight's real value. */
uint8_t snn_lquant_gen_input(uint64_t seed, uint32_t node, uint32_t element, uint32_t step,
                             enum snn_tkind kind, double density);
double snn_lquant_gen_weight(uint64_t seed, uint32_t node, uint32_t element, double lo,
                             double hi);

#endif

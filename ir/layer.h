/*
 * ir/layer.h: the graph IR of snnc, layer view.
 *
 * A layer graph is what training frameworks export: tensors flowing
 * through convolution and linear layers, spiking neuron layers (LIF,
 * I-LIF), residual adds, pooling and spike-driven self-attention, run for
 * T timesteps, a spike crossing every layer within one step.  Its
 * arithmetic is docs/numerics.md, section "The layer view"; the sdt
 * accelerator runs it directly (docs/sdt-accelerator.md).
 *
 * Nodes are kept in topological order: a node's inputs are earlier nodes.
 * Every tensor is [c, h, w] (a sequence of N tokens is [c, N, 1]).  Real
 * numbers (weights, batch-norm statistics, thresholds) are stored as the
 * user gave them, in double; the layer quantize pass turns them into the
 * integers every executor uses.
 *
 * Memory: the graph lives in its network's arena (struct snn_net.layers);
 * every pointer inside points into it.
 */
#ifndef SNN_IR_LAYER_H
#define SNN_IR_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "support/diag.h"

struct snn_arena;

enum snn_lop {
    SNN_L_INPUT,   /* the graph's input, one tensor per step */
    SNN_L_CONV,    /* convolution or linear layer (+ bias, batch norm): q16 out */
    SNN_L_LIF,     /* q16 in, spikes out */
    SNN_L_ILIF,    /* q16 in, counts 0 .. D out */
    SNN_L_ADD,     /* q16 + q16 -> q16 (residual, "membrane shortcut") */
    SNN_L_MAXPOOL, /* q16 -> q16, or spikes -> spikes */
    SNN_L_SUMPOOL, /* spikes or counts [c, h, w] -> q16 [c, 1, 1]: sum (or mean) over positions */
    SNN_L_SDSA1,   /* Q, K, V spikes [c, n, 1] -> spikes: SDSA v1 */
    SNN_L_SDSA2,   /* Q, K, V spikes [c, n, 1] -> q16: SDSA v2's linear form, scaled */
    SNN_L_TOKENS,  /* [c, h, w] -> [c, h * w, 1], no data moves */
    SNN_L_FLATTEN  /* [c, h, w] -> [c * h * w, 1, 1], no data moves */
};

enum snn_tkind {
    SNN_T_SPIKES, /* 0 or 1 */
    SNN_T_COUNTS, /* 0 .. 255 */
    SNN_T_Q16     /* int32, Q15.16 */
};

struct snn_shape {
    uint32_t c, h, w;
};

/* Real numbers of some shape (row-major, at most 4 dimensions), from a
 * .npy file or generated from the seed; src names where they came from,
 * for messages. */
struct snn_array {
    uint32_t ndim;
    uint32_t dims[4];
    double *v;          /* dims[0] x ... x dims[ndim - 1] values; NULL when absent */
    const char *src;    /* "file.npy", or "generated" */
};

/* How an input or weight tensor is generated when no file gives it: every
 * draw is keyed by (seed, node, element) with the counter-based generator
 * (abi/philox.h), so any part can be regenerated alone. */
struct snn_gen {
    bool on;
    double density;     /* input spikes: P(1); pixels: ignored */
    double lo, hi;      /* weights: uniform in [lo, hi); pixels: 0 .. 255 */
};

struct snn_lnode {
    const char *name;
    enum snn_lop op;
    uint32_t in[3];           /* input nodes (earlier indices) */
    uint32_t n_in;
    struct snn_shape shape;   /* the output's, set by snn_layers_verify */
    enum snn_tkind kind;      /* the output's, set by snn_layers_verify */
    struct snn_loc loc;
    union {
        struct {                  /* SNN_L_INPUT */
            struct snn_shape shape;
            enum snn_tkind kind;      /* spikes or counts (pixels) */
            struct snn_array data;    /* [c, h, w] (every step) or [T, c, h, w] */
            struct snn_gen gen;
        } input;
        struct snn_lconv {        /* SNN_L_CONV */
            uint32_t out_channels;
            uint32_t kernel;          /* 1, 3, 5, 7 */
            uint32_t stride;          /* 1, 2 */
            uint32_t pad;             /* default (kernel - 1) / 2 */
            bool depthwise;           /* groups = channels */
            uint32_t bits;            /* weight bits: 8 or 4 */
            struct snn_array weight;  /* [out, in (1 if depthwise), k, k] */
            struct snn_gen weight_gen;
            struct snn_array scale;   /* [out]: per-channel weight scales (LSQ), or absent */
            struct snn_array bias;    /* [out], or absent */
            bool bn;                  /* batch norm after the layer, folded */
            struct snn_array bn_gamma, bn_beta, bn_mean, bn_var; /* [out] each */
            double bn_eps;
        } conv;
        struct {                  /* SNN_L_LIF, and SDSA1's attention LIF */
            uint32_t tau_shift;       /* tau = 2^tau_shift */
            double threshold;
        } lif;
        struct {                  /* SNN_L_ILIF */
            uint32_t decay_shift;     /* decay = 2^-decay_shift */
            uint32_t d_max;           /* D */
        } ilif;
        struct snn_lpool {        /* SNN_L_MAXPOOL */
            uint32_t kernel, stride, pad;
        } pool;
        struct {                  /* SNN_L_SUMPOOL */
            bool mean;                /* divide by h * w */
        } sumpool;
        struct {                  /* SNN_L_SDSA1 */
            uint32_t tau_shift;
            double threshold;         /* default 0.5 */
        } sdsa1;
        struct {                  /* SNN_L_SDSA2 */
            uint32_t heads;
            double scale;             /* the attention scale, for example 0.125 */
        } sdsa2;
    } u;
};

struct snn_layer_graph {
    uint32_t timesteps;       /* T */
    struct snn_lnode *nodes;
    uint32_t n_nodes;
    size_t nodes_cap;
    uint32_t output;          /* the head: a node index */
    bool has_output;
};

/* The network's layer graph, created empty (T = 1) on first use; NULL on
 * ENOMEM.  A network has a layer graph or populations, not both (checked by
 * snn_layers_verify). */
struct snn_layer_graph *snn_net_layers(struct snn_net *net);

/* Appends a node with the op's defaults (conv: kernel 1, stride 1, pad
 * auto, 8 bits; lif: tau 2, threshold 1; ilif: decay 1/4, D 4; sdsa1: tau
 * 2, threshold 0.5; sdsa2: 1 head, scale 1), its name copied into the
 * arena.  Returns it (valid until the next append), or NULL on ENOMEM. */
struct snn_lnode *snn_layers_add(struct snn_net *net, const char *name, enum snn_lop op);

/* The index of the node called name, or -1. */
int snn_layers_find(const struct snn_layer_graph *g, const char *name);

/* Checks the graph and infers every node's output shape and kind: input
 * counts and kinds, shapes (a convolution's geometry, equal shapes at an
 * add, tokens at attention, heads dividing channels), parameter ranges
 * (tau a power of two, D 1 .. 15, kernel odd and at most 7, stride 1 or 2,
 * bits 8 or 4), array shapes against what they must be, and the sdt
 * limits that are the format's own (channels <= 1024, h and w <= 128).
 * Each violation is reported with the node's location.  0 or SNN_ESEMA. */
int snn_layers_verify(struct snn_net *net, struct snn_diag *d);

/* ---- arrays in the text form (ir/text.c, docs/ir-text.md) -------------- */

/* How snn_ir_parse_with() reads an array that a `node` statement names by
 * file: the front end's .npy reader (frontend/npy.h) fills *out (values in
 * arena) from the file at path, or reports why not to d at `at`. */
struct snn_array_reader {
    int (*read)(void *ctx, const char *path, struct snn_arena *arena, struct snn_diag *d,
                const struct snn_loc *at, struct snn_array *out);
    void *ctx;
};

/* snn_ir_parse(), reading the array files of `node` statements through rd
 * (a relative path is taken from the folder of file) and refusing a file
 * whose digest is not the one written.  With rd NULL such a statement is
 * an error; snn_ir_parse() is this with rd NULL. */
int snn_ir_parse_with(const char *file, const char *text, size_t len,
                      const struct snn_array_reader *rd, struct snn_diag *d,
                      struct snn_net **out);

/* The digest the text form prints for a file-backed array: FNV-1a 64 over
 * its values as IEEE-754 doubles, each as its 8 bytes least significant
 * first (dims are not included). */
uint64_t snn_array_digest(const struct snn_array *a);

/* Names, for messages and the text form. */
const char *snn_lop_name(enum snn_lop op);
const char *snn_tkind_name(enum snn_tkind k);

#endif

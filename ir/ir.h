/*
 * ir/ir.h: the graph IR of snnc, network view.
 *
 * A network is populations of neurons (or spike sources) joined by
 * projections.  Every quantity is stored in PyNN's units: ms, mV, nA, uS,
 * nF, Hz (izhikevich's a and b in 1/ms, d in mV/ms); the front end
 * converts whatever the user wrote.  Connectivity stays a seeded rule
 * (struct snn_connector) until ir/expand.c turns it into synapses; the
 * rules and the counters of every random draw are in docs/connectivity.md.
 *
 * Memory: a struct snn_net owns one arena; every pointer inside it points
 * into that arena and lives until snn_net_free().
 *
 * The layer view (NIR-style nodes, ir/layer.h) sits beside pops and projs
 * in struct snn_net; the text form prints it as `node` blocks.
 */
#ifndef SNN_IR_IR_H
#define SNN_IR_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/diag.h"

struct snn_arena;
struct snn_layer_graph;

/* ---- neuron models ---------------------------------------------------- */

enum snn_model {
    SNN_MODEL_LIF_CURR_EXP,
    SNN_MODEL_LIF_COND_EXP,
    SNN_MODEL_IF_CURR_DELTA,
    SNN_MODEL_IZHIKEVICH,
    SNN_MODEL_IF,
    SNN_MODEL_SPIKE_SOURCE_ARRAY,
    SNN_MODEL_SPIKE_SOURCE_POISSON,
    SNN_MODEL_COUNT
};

/* Physical dimensions, each with its internal unit. */
enum snn_dim {
    SNN_DIM_NONE,        /* dimensionless */
    SNN_DIM_TIME,        /* ms */
    SNN_DIM_VOLTAGE,     /* mV */
    SNN_DIM_CURRENT,     /* nA */
    SNN_DIM_CONDUCTANCE, /* uS */
    SNN_DIM_CAPACITANCE, /* nF */
    SNN_DIM_RATE,        /* Hz */
    SNN_DIM_PER_TIME,    /* 1/ms */
    SNN_DIM_VOLTAGE_RATE /* mV/ms */
};

/* What a synaptic weight onto a model means. */
enum snn_syn_kind {
    SNN_SYN_NONE,        /* spike sources: no input */
    SNN_SYN_CURRENT,     /* weight in nA, exponentially decaying current */
    SNN_SYN_CONDUCTANCE, /* weight in uS, exponentially decaying conductance, >= 0 */
    SNN_SYN_DELTA        /* weight in mV, an instantaneous jump of v */
};

enum snn_reset { SNN_RESET_TO_VALUE, SNN_RESET_SUBTRACT };

struct snn_param_desc {
    const char *name;     /* PyNN's name: tau_m, v_rest, ... */
    enum snn_dim dim;
    double default_value; /* PyNN's default, internal units */
};

struct snn_model_desc {
    const char *name;     /* as written in the YAML and the IR text */
    enum snn_syn_kind syn;
    bool is_source;
    unsigned n_params;
    const struct snn_param_desc *params;
    unsigned n_state;     /* initial-state variables: v first where there is one */
    const struct snn_param_desc *state;
};

/* Every model's descriptor; index with enum snn_model. */
extern const struct snn_model_desc snn_models[SNN_MODEL_COUNT];
/* The model called name, or -1. */
int snn_model_lookup(const char *name);
/* Index of a parameter (or state variable) of model m by name, or -1. */
int snn_model_param(enum snn_model m, const char *name);
int snn_model_state(enum snn_model m, const char *name);
/* "ms", "mV", ... the internal unit of a dimension ("" for none). */
const char *snn_dim_unit(enum snn_dim d);

/* ---- values: constant, per-neuron list, or a seeded distribution ------- */

enum snn_value_kind { SNN_VAL_CONST, SNN_VAL_LIST, SNN_VAL_UNIFORM, SNN_VAL_NORMAL };

/* What a bounded normal does with a draw outside [lo, hi]. */
enum snn_bound_mode { SNN_BOUND_CLIP, SNN_BOUND_REDRAW };

struct snn_value {
    enum snn_value_kind kind;
    double c;              /* CONST */
    const double *list;    /* LIST: n values, one per neuron or synapse */
    uint32_t n;
    double a, b;           /* UNIFORM: [low, high); NORMAL: mean, sd */
    bool bounded;          /* NORMAL only */
    double lo, hi;         /* NORMAL bounds */
    enum snn_bound_mode bound_mode;
    struct snn_loc loc;
};

/* ---- populations and spike sources ------------------------------------ */

enum { SNN_REC_SPIKES = 1u << 0, SNN_REC_V = 1u << 1 };

struct snn_pop {
    const char *name;
    uint32_t size;
    enum snn_model model;
    struct snn_value *params;  /* [snn_models[model].n_params] */
    struct snn_value *init;    /* [snn_models[model].n_state] */
    enum snn_reset reset;      /* `if` only; others reset to v_reset */
    unsigned record;           /* SNN_REC_* */
    const uint32_t *record_v;  /* neurons whose v is recorded; NULL: all */
    uint32_t n_record_v;
    /* spike_source_array: neuron i fires at times[times_off[i] ..
     * times_off[i+1]) (ms, ascending).  times_off has size + 1 entries. */
    const uint32_t *times_off;
    const double *times;
    struct snn_loc loc;
};

/* ---- projections ------------------------------------------------------- */

enum snn_conn_kind {
    SNN_CONN_ALL_TO_ALL,
    SNN_CONN_ONE_TO_ONE,
    SNN_CONN_FIXED_PROBABILITY,
    SNN_CONN_FIXED_NUMBER_PRE,  /* each post neuron gets exactly n pre neurons */
    SNN_CONN_FIXED_NUMBER_POST, /* each pre neuron reaches exactly n post neurons */
    SNN_CONN_FROM_LIST,
    SNN_CONN_MATRIX,
    SNN_CONN_COUNT
};

extern const char *const snn_conn_names[SNN_CONN_COUNT];

struct snn_connector {
    enum snn_conn_kind kind;
    bool allow_self;           /* all_to_all, fixed_*: when pre == post, may i connect to i */
    double p;                  /* FIXED_PROBABILITY */
    uint32_t n;                /* FIXED_NUMBER_*; FROM_LIST: entries */
    /* FROM_LIST: n entries (pre[k], post[k]), with per-entry weight and
     * delay when w / d are not NULL (else the projection's weight/delay). */
    const uint32_t *list_pre, *list_post;
    const double *list_w, *list_d;
    /* MATRIX: n_pre x n_post weights, row-major by pre; 0 means no synapse. */
    const double *matrix;
};

enum snn_receptor { SNN_RECEPTOR_EXC, SNN_RECEPTOR_INH };

struct snn_proj {
    const char *name;          /* the user's label, or NULL */
    uint32_t pre, post;        /* population indices */
    struct snn_connector conn;
    struct snn_value weight;   /* nA, uS or mV by the post model's synapse kind */
    struct snn_value delay;    /* ms; whole timesteps, at least one */
    enum snn_receptor receptor;
    struct snn_loc loc;
};

/* ---- the network ---------------------------------------------------------*/

struct snn_net {
    struct snn_arena *arena;
    const char *name;
    double dt_ms;
    double duration_ms;
    uint64_t seed;
    struct snn_pop *pops;
    uint32_t n_pops;
    struct snn_proj *projs;
    uint32_t n_projs;
    size_t pops_cap, projs_cap;  /* builder bookkeeping */
    struct snn_layer_graph *layers; /* the layer view (ir/layer.h), or NULL */
};

/* A new empty network (dt 0.1 ms, duration 0, seed 0), or NULL. */
struct snn_net *snn_net_new(void);
void snn_net_free(struct snn_net *net);

/* Appends a population with the model's default parameters and initial
 * state; returns it (valid until the next add), or NULL on ENOMEM. */
struct snn_pop *snn_net_add_pop(struct snn_net *net, const char *name, enum snn_model model,
                                uint32_t size);
/* Appends a projection (all_to_all, weight 0, delay dt, excitatory). */
struct snn_proj *snn_net_add_proj(struct snn_net *net, uint32_t pre, uint32_t post);
/* Index of the population called name, or -1. */
int snn_net_find_pop(const struct snn_net *net, const char *name);

/* Checks every invariant of the IR (sizes, parameter ranges, connector
 * arguments, units of weights against the post model, delays against dt)
 * and reports each violation to d.  0, or SNN_ESEMA. */
int snn_ir_verify(const struct snn_net *net, struct snn_diag *d);

/* The text form (docs/ir-text.md): printing then parsing gives the same
 * network, and printing that gives the same text, byte for byte.  0, or
 * SNN_EINVAL, writing nothing, for what the text cannot hold (as
 * snn_ir_printable says). */
int snn_ir_print(const struct snn_net *net, FILE *out);
/* Whether snn_ir_print can write net: 0; SNN_ETOOBIG for spike times of a
 * population of more than SNN_IR_TEXT_MAX_TIMES_NEURONS neurons (the
 * reader's bound), reported at the population; SNN_ESEMA, reported, for a
 * network that is not well formed. */
#define SNN_IR_TEXT_MAX_TIMES_NEURONS (1u << 24)
int snn_ir_printable(const struct snn_net *net, struct snn_diag *d);
/* Parses text (named file for diagnostics) into a new network.  0 and
 * *out, or SNN_EPARSE / SNN_ENOMEM with errors reported to d. */
int snn_ir_parse(const char *file, const char *text, size_t len, struct snn_diag *d,
                 struct snn_net **out);

#endif

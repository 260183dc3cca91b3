/*
 * ir/model.c: the neuron models snnc knows, with PyNN's parameter names,
 * units and defaults (PyNN 0.10 standard cells).
 *
 * Adding a model: a descriptor here, its fixed-point step in
 * abi/neuron.h, its coefficients in ir/quantize.c and its float64 step in
 * ir/sim.c; docs/numerics.md and docs/network-format.md describe it.
 */
#include "ir/ir.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct snn_param_desc lif_curr_exp_p[] = {
    {"tau_m", SNN_DIM_TIME, 20.0},       {"cm", SNN_DIM_CAPACITANCE, 1.0},
    {"v_rest", SNN_DIM_VOLTAGE, -65.0},  {"v_reset", SNN_DIM_VOLTAGE, -65.0},
    {"v_thresh", SNN_DIM_VOLTAGE, -50.0}, {"tau_refrac", SNN_DIM_TIME, 0.1},
    {"tau_syn_E", SNN_DIM_TIME, 5.0},    {"tau_syn_I", SNN_DIM_TIME, 5.0},
    {"i_offset", SNN_DIM_CURRENT, 0.0},
};

static const struct snn_param_desc lif_cond_exp_p[] = {
    {"tau_m", SNN_DIM_TIME, 20.0},       {"cm", SNN_DIM_CAPACITANCE, 1.0},
    {"v_rest", SNN_DIM_VOLTAGE, -65.0},  {"v_reset", SNN_DIM_VOLTAGE, -65.0},
    {"v_thresh", SNN_DIM_VOLTAGE, -50.0}, {"tau_refrac", SNN_DIM_TIME, 0.1},
    {"tau_syn_E", SNN_DIM_TIME, 5.0},    {"tau_syn_I", SNN_DIM_TIME, 5.0},
    {"i_offset", SNN_DIM_CURRENT, 0.0},  {"e_rev_E", SNN_DIM_VOLTAGE, 0.0},
    {"e_rev_I", SNN_DIM_VOLTAGE, -70.0},
};

static const struct snn_param_desc if_curr_delta_p[] = {
    {"tau_m", SNN_DIM_TIME, 20.0},       {"cm", SNN_DIM_CAPACITANCE, 1.0},
    {"v_rest", SNN_DIM_VOLTAGE, -65.0},  {"v_reset", SNN_DIM_VOLTAGE, -65.0},
    {"v_thresh", SNN_DIM_VOLTAGE, -50.0}, {"tau_refrac", SNN_DIM_TIME, 0.1},
    {"i_offset", SNN_DIM_CURRENT, 0.0},
};

static const struct snn_param_desc izhikevich_p[] = {
    {"a", SNN_DIM_PER_TIME, 0.02},     {"b", SNN_DIM_PER_TIME, 0.2},
    {"c", SNN_DIM_VOLTAGE, -65.0},     {"d", SNN_DIM_VOLTAGE_RATE, 2.0},
    {"i_offset", SNN_DIM_CURRENT, 0.0}, {"v_thresh", SNN_DIM_VOLTAGE, 30.0},
};

static const struct snn_param_desc if_p[] = {
    {"v_thresh", SNN_DIM_VOLTAGE, 1.0},
    {"v_reset", SNN_DIM_VOLTAGE, 0.0},
    {"bias", SNN_DIM_VOLTAGE, 0.0},
};

static const struct snn_param_desc poisson_p[] = {
    {"rate", SNN_DIM_RATE, 1.0},
    {"start", SNN_DIM_TIME, 0.0},
    {"duration", SNN_DIM_TIME, 1e10},
};

static const struct snn_param_desc v_state[] = {{"v", SNN_DIM_VOLTAGE, -65.0}};
static const struct snn_param_desc izh_state[] = {
    {"v", SNN_DIM_VOLTAGE, -70.0},
    {"u", SNN_DIM_VOLTAGE_RATE, -14.0},
};
static const struct snn_param_desc if_state[] = {{"v", SNN_DIM_VOLTAGE, 0.0}};

const struct snn_model_desc snn_models[SNN_MODEL_COUNT] = {
    [SNN_MODEL_LIF_CURR_EXP] = {"lif_curr_exp", SNN_SYN_CURRENT, false, N(lif_curr_exp_p),
                                lif_curr_exp_p, N(v_state), v_state},
    [SNN_MODEL_LIF_COND_EXP] = {"lif_cond_exp", SNN_SYN_CONDUCTANCE, false, N(lif_cond_exp_p),
                                lif_cond_exp_p, N(v_state), v_state},
    [SNN_MODEL_IF_CURR_DELTA] = {"if_curr_delta", SNN_SYN_DELTA, false, N(if_curr_delta_p),
                                 if_curr_delta_p, N(v_state), v_state},
    [SNN_MODEL_IZHIKEVICH] = {"izhikevich", SNN_SYN_DELTA, false, N(izhikevich_p), izhikevich_p,
                              N(izh_state), izh_state},
    [SNN_MODEL_IF] = {"if", SNN_SYN_DELTA, false, N(if_p), if_p, N(if_state), if_state},
    [SNN_MODEL_SPIKE_SOURCE_ARRAY] = {"spike_source_array", SNN_SYN_NONE, true, 0, NULL, 0, NULL},
    [SNN_MODEL_SPIKE_SOURCE_POISSON] = {"spike_source_poisson", SNN_SYN_NONE, true, N(poisson_p),
                                        poisson_p, 0, NULL},
};

const char *const snn_conn_names[SNN_CONN_COUNT] = {
    [SNN_CONN_ALL_TO_ALL] = "all_to_all",
    [SNN_CONN_ONE_TO_ONE] = "one_to_one",
    [SNN_CONN_FIXED_PROBABILITY] = "fixed_probability",
    [SNN_CONN_FIXED_NUMBER_PRE] = "fixed_number_pre",
    [SNN_CONN_FIXED_NUMBER_POST] = "fixed_number_post",
    [SNN_CONN_FROM_LIST] = "from_list",
    [SNN_CONN_MATRIX] = "matrix",
};

int snn_model_lookup(const char *name)
{
    for (int m = 0; m < SNN_MODEL_COUNT; m++)
        if (strcmp(snn_models[m].name, name) == 0)
            return m;
    return -1;
}

static int find(const struct snn_param_desc *d, unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(d[i].name, name) == 0)
            return (int)i;
    return -1;
}

int snn_model_param(enum snn_model m, const char *name)
{
    return find(snn_models[m].params, snn_models[m].n_params, name);
}

int snn_model_state(enum snn_model m, const char *name)
{
    return find(snn_models[m].state, snn_models[m].n_state, name);
}

const char *snn_dim_unit(enum snn_dim d)
{
    static const char *const units[] = {
        [SNN_DIM_NONE] = "",         [SNN_DIM_TIME] = "ms",        [SNN_DIM_VOLTAGE] = "mV",
        [SNN_DIM_CURRENT] = "nA",    [SNN_DIM_CONDUCTANCE] = "uS", [SNN_DIM_CAPACITANCE] = "nF",
        [SNN_DIM_RATE] = "Hz",       [SNN_DIM_PER_TIME] = "1/ms",  [SNN_DIM_VOLTAGE_RATE] = "mV/ms",
    };
    return units[d];
}

/*
 * tests/unit/test_verify.c: the IR verifier (ir/verify.c).
 *
 * A valid network with every model and connector passes with no report.
 * Then, one test per rule: the valid network is broken in exactly one way
 * and the verifier must return SNN_ESEMA with exactly one error whose text
 * names the population or projection, the parameter and the value.  A few
 * tests check where reports are placed and that several violations are
 * all reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "ir/ir.h"
#include "support/arena.h"
#include "support/diag.h"
#include "support/err.h"

enum { SRC, POI, EXC, COND, IZH, IFP, DELTA };
enum { P_SRC_EXC, P_POI_COND, P_EXC_EXC, P_EXC_IF, P_IZH_IZH, P_LIST, P_MATRIX, P_EXC_IZH };

static double *darr(struct snn_net *net, size_t n, const double *v)
{
    double *a = snn_arena_array(net->arena, n, sizeof *a);
    assert_non_null(a);
    memcpy(a, v, n * sizeof *a);
    return a;
}

static uint32_t *uarr(struct snn_net *net, size_t n, const uint32_t *v)
{
    uint32_t *a = snn_arena_array(net->arena, n, sizeof *a);
    assert_non_null(a);
    memcpy(a, v, n * sizeof *a);
    return a;
}

static struct snn_value list_value(struct snn_net *net, size_t n, const double *v)
{
    struct snn_value x = {.kind = SNN_VAL_LIST, .n = (uint32_t)n};
    x.list = darr(net, n, v);
    return x;
}

static struct snn_value const_value(double c)
{
    return (struct snn_value){.kind = SNN_VAL_CONST, .c = c};
}

static struct snn_value *param(struct snn_net *net, uint32_t pop, const char *name)
{
    int k = snn_model_param(net->pops[pop].model, name);
    assert_true(k >= 0);
    return &net->pops[pop].params[k];
}

/* A valid network using every model and connector. */
static struct snn_net *base_net(void)
{
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    net->dt_ms = 0.1;
    net->duration_ms = 100;
    net->seed = 1;
    assert_non_null(snn_net_add_pop(net, "src", SNN_MODEL_SPIKE_SOURCE_ARRAY, 2));
    assert_non_null(snn_net_add_pop(net, "poi", SNN_MODEL_SPIKE_SOURCE_POISSON, 3));
    assert_non_null(snn_net_add_pop(net, "exc", SNN_MODEL_LIF_CURR_EXP, 4));
    assert_non_null(snn_net_add_pop(net, "cond", SNN_MODEL_LIF_COND_EXP, 4));
    assert_non_null(snn_net_add_pop(net, "izh", SNN_MODEL_IZHIKEVICH, 2));
    assert_non_null(snn_net_add_pop(net, "if", SNN_MODEL_IF, 3));
    assert_non_null(snn_net_add_pop(net, "delta", SNN_MODEL_IF_CURR_DELTA, 2));

    struct snn_pop *src = &net->pops[SRC];
    src->times_off = uarr(net, 3, (const uint32_t[]){0, 2, 3});
    src->times = darr(net, 3, (const double[]){1, 5, 2});
    src->record = SNN_REC_SPIKES;
    *param(net, POI, "rate") = const_value(10);
    struct snn_pop *exc = &net->pops[EXC];
    exc->record = SNN_REC_SPIKES | SNN_REC_V;
    exc->record_v = uarr(net, 2, (const uint32_t[]){0, 2});
    exc->n_record_v = 2;
    exc->init[0] = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = -65, .b = -55};
    /* Overlapping ranges cannot be decided: no error. */
    *param(net, COND, "v_reset") = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = -70, .b = -49};
    *param(net, IZH, "a") = const_value(-0.02); /* a and b may be anything finite */
    net->pops[IFP].reset = SNN_RESET_SUBTRACT;

    struct snn_proj *pj;
    pj = snn_net_add_proj(net, SRC, EXC);
    pj->weight = const_value(0.5);
    pj->delay = const_value(1);
    pj = snn_net_add_proj(net, POI, COND);
    pj->name = "p2c";
    pj->conn.kind = SNN_CONN_FIXED_PROBABILITY;
    pj->conn.p = 0.5;
    pj->weight = const_value(0.01);
    pj->delay = const_value(0.2);
    pj = snn_net_add_proj(net, EXC, EXC);
    pj->conn.kind = SNN_CONN_FIXED_NUMBER_PRE;
    pj->conn.n = 3;
    pj->conn.allow_self = false;
    pj->weight = const_value(-1);
    pj->receptor = SNN_RECEPTOR_INH;
    pj = snn_net_add_proj(net, EXC, IFP);
    pj->conn.kind = SNN_CONN_FIXED_NUMBER_POST;
    pj->conn.n = 3;
    pj = snn_net_add_proj(net, IZH, IZH);
    pj->conn.kind = SNN_CONN_ONE_TO_ONE;
    pj->delay = const_value(0.3); /* 0.3 / 0.1 is 2.9999999999999996 */
    pj = snn_net_add_proj(net, SRC, COND);
    pj->conn.kind = SNN_CONN_FROM_LIST;
    pj->conn.n = 2;
    pj->conn.list_pre = uarr(net, 2, (const uint32_t[]){0, 1});
    pj->conn.list_post = uarr(net, 2, (const uint32_t[]){1, 3});
    pj->conn.list_w = darr(net, 2, (const double[]){0.1, 0});
    pj->conn.list_d = darr(net, 2, (const double[]){0.1, 25.5});
    pj = snn_net_add_proj(net, POI, COND);
    pj->name = "m";
    pj->conn.kind = SNN_CONN_MATRIX;
    double m[12];
    for (int i = 0; i < 12; i++)
        m[i] = i % 3 ? 0.1 : 0;
    pj->conn.matrix = darr(net, 12, m);
    pj = snn_net_add_proj(net, EXC, IZH);
    pj->weight = (struct snn_value){.kind = SNN_VAL_NORMAL,
                                    .a = 1,
                                    .b = 0.5,
                                    .bounded = true,
                                    .lo = 0,
                                    .hi = 2,
                                    .bound_mode = SNN_BOUND_REDRAW};
    pj->delay = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = 0.05, .b = 0.5};
    return net;
}

/* Runs the verifier; returns its code and the report text in *text. */
static int verify(struct snn_net *net, char **text, unsigned *errors)
{
    size_t size;
    FILE *f = open_memstream(text, &size);
    assert_non_null(f);
    struct snn_diag *d = snn_diag_new(f);
    assert_non_null(d);
    int rc = snn_ir_verify(net, d);
    *errors = snn_diag_errors(d);
    snn_diag_free(d);
    fclose(f);
    return rc;
}

static void test_valid_net_passes(void **state)
{
    (void)state;
    struct snn_net *net = base_net();
    char *text;
    unsigned errors;
    int rc = verify(net, &text, &errors);
    if (rc)
        fprintf(stderr, "%s", text);
    assert_int_equal(rc, 0);
    assert_int_equal(errors, 0);
    assert_string_equal(text, "");
    free(text);
    snn_net_free(net);
}

/* ---- one rule per case -------------------------------------------------- */

struct rule_case {
    const char *name;
    void (*breakit)(struct snn_net *net);
    const char *expect; /* a substring of the one error's text */
};

static struct snn_proj *proj(struct snn_net *net, unsigned i) { return &net->projs[i]; }

static void b_dt_zero(struct snn_net *n) { n->dt_ms = 0; }
static void b_dt_nan(struct snn_net *n) { n->dt_ms = NAN; }
static void b_duration_neg(struct snn_net *n) { n->duration_ms = -1; }
static void b_duration_inf(struct snn_net *n) { n->duration_ms = INFINITY; }
static void b_empty_name(struct snn_net *n) { n->pops[DELTA].name = ""; }
static void b_dup_name(struct snn_net *n) { n->pops[DELTA].name = "exc"; }
static void b_size_zero(struct snn_net *n) { n->pops[DELTA].size = 0; }
static void b_size_big(struct snn_net *n) { n->pops[DELTA].size = 2147483648u; }
static void b_model(struct snn_net *n) { n->pops[DELTA].model = (enum snn_model)99; }
static void b_tau_m(struct snn_net *n) { *param(n, EXC, "tau_m") = const_value(-20); }
static void b_cm(struct snn_net *n) { *param(n, DELTA, "cm") = const_value(0); }
static void b_tau_syn_e(struct snn_net *n)
{
    *param(n, EXC, "tau_syn_E") = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = -1, .b = 5};
}
static void b_tau_syn_i(struct snn_net *n)
{
    *param(n, COND, "tau_syn_I") = (struct snn_value){.kind = SNN_VAL_NORMAL, .a = 5, .b = 1};
}
static void b_tau_syn_clip(struct snn_net *n)
{
    *param(n, EXC, "tau_syn_I") = (struct snn_value){
        .kind = SNN_VAL_NORMAL, .a = 5, .b = 1, .bounded = true, .lo = -1, .hi = 9};
}
static void b_tau_refrac(struct snn_net *n) { *param(n, EXC, "tau_refrac") = const_value(-0.1); }
static void b_list_len(struct snn_net *n)
{
    *param(n, EXC, "tau_m") = list_value(n, 3, (const double[]){10, 20, 30});
}
static void b_list_entry(struct snn_net *n)
{
    *param(n, EXC, "tau_m") = list_value(n, 4, (const double[]){10, 20, -1, -2});
}
static void b_inf(struct snn_net *n) { *param(n, EXC, "v_rest") = const_value(INFINITY); }
static void b_list_nan(struct snn_net *n)
{
    *param(n, EXC, "i_offset") = list_value(n, 4, (const double[]){0, NAN, 0, 0});
}
static void b_uniform_order(struct snn_net *n)
{
    *param(n, EXC, "v_rest") = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = -50, .b = -60};
}
static void b_normal_sd(struct snn_net *n)
{
    *param(n, EXC, "v_rest") = (struct snn_value){.kind = SNN_VAL_NORMAL, .a = -65, .b = -1};
}
static void b_normal_bounds(struct snn_net *n)
{
    *param(n, EXC, "v_rest") = (struct snn_value){
        .kind = SNN_VAL_NORMAL, .a = -65, .b = 1, .bounded = true, .lo = -60, .hi = -70};
}
static void b_normal_redraw(struct snn_net *n)
{
    *param(n, EXC, "v_rest") = (struct snn_value){.kind = SNN_VAL_NORMAL,
                                                  .a = -65,
                                                  .b = 0,
                                                  .bounded = true,
                                                  .lo = -60,
                                                  .hi = -50,
                                                  .bound_mode = SNN_BOUND_REDRAW};
}
static void b_reset_const(struct snn_net *n) { *param(n, EXC, "v_reset") = const_value(-45); }
static void b_reset_list(struct snn_net *n)
{
    *param(n, DELTA, "v_reset") = list_value(n, 2, (const double[]){-70, -50});
}
static void b_reset_range(struct snn_net *n)
{
    *param(n, EXC, "v_reset") = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = -50, .b = -40};
}
static void b_if_reset(struct snn_net *n)
{
    n->pops[IFP].reset = SNN_RESET_TO_VALUE;
    *param(n, IFP, "v_reset") = const_value(1);
}
static void b_izh_c(struct snn_net *n) { *param(n, IZH, "v_thresh") = const_value(-70); }
static void b_izh_b(struct snn_net *n) { *param(n, IZH, "b") = const_value(NAN); }
static void b_rate(struct snn_net *n) { *param(n, POI, "rate") = const_value(-1); }
static void b_start(struct snn_net *n) { *param(n, POI, "start") = const_value(-5); }
static void b_pduration(struct snn_net *n)
{
    *param(n, POI, "duration") = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = -1, .b = 1};
}
static void b_e_rev(struct snn_net *n) { *param(n, COND, "e_rev_E") = const_value(NAN); }
static void b_init_len(struct snn_net *n)
{
    n->pops[EXC].init[0] = list_value(n, 5, (const double[]){1, 2, 3, 4, 5});
}
static void b_init_inf(struct snn_net *n) { n->pops[IZH].init[1] = const_value(-INFINITY); }
static void b_subtract(struct snn_net *n) { n->pops[EXC].reset = SNN_RESET_SUBTRACT; }
static void b_record_v_range(struct snn_net *n)
{
    n->pops[EXC].record_v = uarr(n, 3, (const uint32_t[]){0, 9, 1});
    n->pops[EXC].n_record_v = 3;
}
static void b_record_v_dup(struct snn_net *n)
{
    n->pops[EXC].record_v = uarr(n, 3, (const uint32_t[]){2, 0, 2});
    n->pops[EXC].n_record_v = 3;
}
static void b_record_v_source(struct snn_net *n) { n->pops[POI].record |= SNN_REC_V; }
static void b_time_neg(struct snn_net *n) { ((double *)n->pops[SRC].times)[2] = -1; }
static void b_time_order(struct snn_net *n) { ((double *)n->pops[SRC].times)[1] = 0.5; }
static void b_times_off(struct snn_net *n)
{
    n->pops[SRC].times_off = uarr(n, 3, (const uint32_t[]){0, 3, 2});
}
static void b_times_model(struct snn_net *n)
{
    n->pops[DELTA].times_off = uarr(n, 3, (const uint32_t[]){0, 0, 1});
    n->pops[DELTA].times = darr(n, 1, (const double[]){1});
}
static void b_pre_range(struct snn_net *n) { proj(n, P_SRC_EXC)->pre = 99; }
static void b_post_source(struct snn_net *n) { proj(n, P_SRC_EXC)->post = SRC; }
static void b_p(struct snn_net *n) { proj(n, P_POI_COND)->conn.p = 1.5; }
static void b_fnpre(struct snn_net *n)
{
    proj(n, P_EXC_IF)->conn.kind = SNN_CONN_FIXED_NUMBER_PRE;
    proj(n, P_EXC_IF)->conn.n = 5;
}
static void b_fnpre_self(struct snn_net *n) { proj(n, P_EXC_EXC)->conn.n = 4; }
static void b_fnpost(struct snn_net *n) { proj(n, P_EXC_IF)->conn.n = 4; }
static void b_one_to_one(struct snn_net *n) { proj(n, P_IZH_IZH)->post = EXC; }
static void b_from_list_range(struct snn_net *n)
{
    proj(n, P_LIST)->conn.list_post = uarr(n, 2, (const uint32_t[]){1, 7});
}
static void b_matrix_null(struct snn_net *n) { proj(n, P_MATRIX)->conn.matrix = NULL; }
static void b_cond_const(struct snn_net *n) { proj(n, P_POI_COND)->weight = const_value(-0.1); }
static void b_cond_list(struct snn_net *n)
{
    struct snn_proj *pj = proj(n, P_LIST);
    pj->conn.list_w = NULL;
    pj->weight = list_value(n, 2, (const double[]){0.5, -0.5});
}
static void b_cond_matrix(struct snn_net *n) { ((double *)proj(n, P_MATRIX)->conn.matrix)[6] = -1; }
static void b_cond_entry(struct snn_net *n)
{
    proj(n, P_LIST)->conn.list_w = darr(n, 2, (const double[]){0.1, -0.2});
}
static void b_cond_uniform(struct snn_net *n)
{
    proj(n, P_POI_COND)->weight = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = -0.1, .b = 1};
}
static void b_cond_normal(struct snn_net *n)
{
    proj(n, P_POI_COND)->weight = (struct snn_value){.kind = SNN_VAL_NORMAL, .a = 1, .b = 0.1};
}
static void b_cond_normal_lo(struct snn_net *n)
{
    proj(n, P_POI_COND)->weight = (struct snn_value){
        .kind = SNN_VAL_NORMAL, .a = 1, .b = 0.1, .bounded = true, .lo = -0.5, .hi = 2};
}
static void b_weight_nan(struct snn_net *n) { proj(n, P_SRC_EXC)->weight = const_value(NAN); }
static void b_weight_list_conn(struct snn_net *n)
{
    proj(n, P_POI_COND)->weight = list_value(n, 2, (const double[]){0.1, 0.2});
}
static void b_delay_list_conn(struct snn_net *n)
{
    proj(n, P_MATRIX)->delay = list_value(n, 2, (const double[]){1, 2});
}
static void b_weight_list_len(struct snn_net *n)
{
    proj(n, P_SRC_EXC)->weight = list_value(n, 3, (const double[]){1, 2, 3});
}
static void b_delay_fraction(struct snn_net *n) { proj(n, P_SRC_EXC)->delay = const_value(0.15); }
static void b_delay_zero(struct snn_net *n) { proj(n, P_SRC_EXC)->delay = const_value(0); }
static void b_delay_long(struct snn_net *n) { proj(n, P_SRC_EXC)->delay = const_value(30); }
static void b_delay_list(struct snn_net *n)
{
    proj(n, P_IZH_IZH)->delay = list_value(n, 2, (const double[]){0.2, 0.25});
}
static void b_delay_dist(struct snn_net *n)
{
    proj(n, P_EXC_IZH)->delay = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = 0.01, .b = 0.05};
}
static void b_delay_entry(struct snn_net *n)
{
    proj(n, P_LIST)->conn.list_d = darr(n, 2, (const double[]){0.05, 1});
}
static void b_receptor(struct snn_net *n) { proj(n, P_SRC_EXC)->receptor = (enum snn_receptor)7; }
static void b_conn_kind(struct snn_net *n)
{
    proj(n, P_SRC_EXC)->conn.kind = (enum snn_conn_kind)42;
}

static const struct rule_case cases[] = {
    {"dt_zero", b_dt_zero, "dt must be a positive finite time, got 0 ms"},
    {"dt_nan", b_dt_nan, "dt must be a positive finite time, got nan ms"},
    {"duration_negative", b_duration_neg, "duration must be a finite time >= 0 ms, got -1 ms"},
    {"duration_infinite", b_duration_inf, "duration must be a finite time >= 0 ms, got inf ms"},
    {"empty_name", b_empty_name, "population 6 has an empty name"},
    {"duplicate_name", b_dup_name, "population name 'exc' is used twice (populations 2 and 6)"},
    {"size_zero", b_size_zero, "population 'delta': size must be 1 .. 2147483647, got 0"},
    {"size_too_big", b_size_big,
     "population 'delta': size must be 1 .. 2147483647, got 2147483648"},
    {"unknown_model", b_model, "population 'delta': unknown neuron model 99"},
    {"tau_m_positive", b_tau_m, "population 'exc': tau_m must be > 0 ms, got -20 ms"},
    {"cm_positive", b_cm, "population 'delta': cm must be > 0 nF, got 0 nF"},
    {"tau_syn_E_uniform", b_tau_syn_e,
     "population 'exc': tau_syn_E must be > 0 ms, but uniform low is -1 ms"},
    {"tau_syn_I_unbounded_normal", b_tau_syn_i,
     "population 'cond': tau_syn_I must be > 0 ms, but an unbounded normal can draw any value"},
    {"tau_syn_I_clipped_normal", b_tau_syn_clip,
     "population 'exc': tau_syn_I must be > 0 ms, but the normal can draw -1 ms"},
    {"tau_refrac_nonneg", b_tau_refrac,
     "population 'exc': tau_refrac must be >= 0 ms, got -0.1 ms"},
    {"list_length", b_list_len,
     "population 'exc': tau_m lists 3 values, expected one per neuron (4)"},
    {"list_entry", b_list_entry, "population 'exc': tau_m must be > 0 ms, got -1 ms for neuron 2"},
    {"finite_const", b_inf, "population 'exc': v_rest must be finite, got inf"},
    {"finite_list", b_list_nan, "population 'exc': i_offset must be finite, got nan for neuron 1"},
    {"uniform_order", b_uniform_order,
     "population 'exc': v_rest: uniform low -50 mV is above high -60 mV"},
    {"normal_sd", b_normal_sd, "population 'exc': v_rest: normal sd must be >= 0 mV, got -1 mV"},
    {"normal_bounds", b_normal_bounds,
     "population 'exc': v_rest: normal bounds are reversed (-60 mV > -70 mV)"},
    {"normal_redraw_impossible", b_normal_redraw,
     "population 'exc': v_rest: normal(-65, 0) redrawn into [-60, -50] can never succeed"},
    {"v_reset_below_thresh", b_reset_const,
     "population 'exc': v_reset must be < v_thresh, got v_reset -45 mV and v_thresh -50 mV"},
    {"v_reset_list", b_reset_list,
     "population 'delta': v_reset must be < v_thresh, got v_reset -50 mV and v_thresh -50 mV "
     "for neuron 1"},
    {"v_reset_range", b_reset_range,
     "population 'exc': v_reset must be < v_thresh, but v_reset is at least -50 mV and "
     "v_thresh at most -50 mV"},
    {"if_reset_to_value", b_if_reset,
     "population 'if': v_reset must be < v_thresh, got v_reset 1 mV and v_thresh 1 mV"},
    {"izhikevich_thresh_above_c", b_izh_c,
     "population 'izh': c must be < v_thresh, got c -65 mV and v_thresh -70 mV"},
    {"izhikevich_b_finite", b_izh_b, "population 'izh': b must be finite, got nan"},
    {"poisson_rate", b_rate, "population 'poi': rate must be >= 0 Hz, got -1 Hz"},
    {"poisson_start", b_start, "population 'poi': start must be >= 0 ms, got -5 ms"},
    {"poisson_duration", b_pduration,
     "population 'poi': duration must be >= 0 ms, but uniform low is -1 ms"},
    {"e_rev_finite", b_e_rev, "population 'cond': e_rev_E must be finite, got nan"},
    {"init_list_length", b_init_len,
     "population 'exc': initial v lists 5 values, expected one per neuron (4)"},
    {"init_finite", b_init_inf, "population 'izh': initial u must be finite, got -inf"},
    {"subtract_only_if", b_subtract,
     "population 'exc': reset by subtraction is only for model 'if', not 'lif_curr_exp'"},
    {"record_v_range", b_record_v_range,
     "population 'exc': record_v names neuron 9, but the population has 4 neurons"},
    {"record_v_duplicate", b_record_v_dup, "population 'exc': record_v lists neuron 2 twice"},
    {"record_v_source", b_record_v_source,
     "population 'poi': a spike source has no membrane potential to record"},
    {"spike_time_negative", b_time_neg,
     "population 'src': spike time -1 ms of neuron 1 must be finite and >= 0 ms"},
    {"spike_time_order", b_time_order,
     "population 'src': spike times of neuron 0 are not ascending (0.5 ms after 1 ms)"},
    {"times_off_order", b_times_off,
     "population 'src': times_off decreases at neuron 1 (2 after 3)"},
    {"times_model", b_times_model,
     "population 'delta': spike times are only for spike_source_array, not if_curr_delta"},
    {"pre_range", b_pre_range,
     "projection 0: pre population 99 does not exist (the network has 7)"},
    {"post_source", b_post_source,
     "projection 0 ('src' -> 'src'): post population 'src' is a spike source and cannot "
     "receive synapses"},
    {"probability", b_p, "projection 'p2c': fixed_probability p must be in [0, 1], got 1.5"},
    {"fixed_number_pre", b_fnpre,
     "projection 3 ('exc' -> 'if'): fixed_number_pre n = 5 exceeds the 4 possible pre neurons"},
    {"fixed_number_pre_self", b_fnpre_self,
     "projection 2 ('exc' -> 'exc'): fixed_number_pre n = 4 exceeds the 3 possible pre neurons "
     "(self-connections are not allowed)"},
    {"fixed_number_post", b_fnpost,
     "projection 3 ('exc' -> 'if'): fixed_number_post n = 4 exceeds the 3 possible post "
     "neurons"},
    {"one_to_one_sizes", b_one_to_one,
     "projection 4 ('izh' -> 'exc'): one_to_one needs populations of equal size, got 2 and 4"},
    {"from_list_range", b_from_list_range,
     "projection 5 ('src' -> 'cond'): from_list entry 1 (1 -> 7) is out of range "
     "(2 pre, 4 post neurons)"},
    {"matrix_null", b_matrix_null, "projection 'm': matrix connector has no matrix"},
    {"conductance_const", b_cond_const, "projection 'p2c': weight must be >= 0 uS, got -0.1 uS"},
    {"conductance_list", b_cond_list,
     "projection 5 ('src' -> 'cond'): weight must be >= 0 uS, got -0.5 uS for synapse 1"},
    {"conductance_matrix", b_cond_matrix,
     "projection 'm': matrix entry (1, 2): weight must be >= 0 uS, got -1 uS"},
    {"conductance_from_list", b_cond_entry,
     "projection 5 ('src' -> 'cond'): from_list entry 1: weight must be >= 0 uS, got -0.2 uS"},
    {"conductance_uniform", b_cond_uniform,
     "projection 'p2c': weight must be >= 0 uS, but uniform low is -0.1 uS"},
    {"conductance_normal_unbounded", b_cond_normal,
     "projection 'p2c': weight must be >= 0 uS, but an unbounded normal can draw any value"},
    {"conductance_normal_lo", b_cond_normal_lo,
     "projection 'p2c': weight must be >= 0 uS, but the normal can draw -0.5 uS"},
    {"weight_finite", b_weight_nan,
     "projection 0 ('src' -> 'exc'): weight must be finite, got nan"},
    {"weight_list_connector", b_weight_list_conn,
     "projection 'p2c': a list of weights needs all_to_all, one_to_one or from_list, not "
     "fixed_probability"},
    {"delay_list_connector", b_delay_list_conn,
     "projection 'm': a list of delays needs all_to_all, one_to_one or from_list, not matrix"},
    {"weight_list_length", b_weight_list_len,
     "projection 0 ('src' -> 'exc'): weight lists 3 values, expected one per synapse (8)"},
    {"delay_whole_steps", b_delay_fraction,
     "projection 0 ('src' -> 'exc'): delay 0.15 ms is not a whole number of timesteps "
     "(dt = 0.1 ms)"},
    {"delay_at_least_one_step", b_delay_zero,
     "projection 0 ('src' -> 'exc'): delay 0 ms is shorter than one timestep (dt = 0.1 ms)"},
    {"delay_at_most_max", b_delay_long,
     "projection 0 ('src' -> 'exc'): delay 30 ms is 300 timesteps, more than the maximum of "
     "255 (dt = 0.1 ms)"},
    {"delay_list_entry", b_delay_list,
     "projection 4 ('izh' -> 'izh'): delay 0.25 ms of synapse 1 is not a whole number of "
     "timesteps (dt = 0.1 ms)"},
    {"delay_distribution_reach", b_delay_dist,
     "projection 7 ('exc' -> 'izh'): delay distribution never reaches one timestep (its top "
     "is 0.05 ms, dt = 0.1 ms)"},
    {"delay_from_list_entry", b_delay_entry,
     "projection 5 ('src' -> 'cond'): from_list entry 0: delay 0.05 ms is shorter than one "
     "timestep (dt = 0.1 ms)"},
    {"receptor_known", b_receptor, "projection 0 ('src' -> 'exc'): unknown receptor 7"},
    {"connector_known", b_conn_kind, "projection 0 ('src' -> 'exc'): unknown connector kind 42"},
};

#define N_CASES (sizeof cases / sizeof cases[0])

static void test_rule(void **state)
{
    const struct rule_case *rc = *state;
    struct snn_net *net = base_net();
    rc->breakit(net);
    char *text;
    unsigned errors;
    int code = verify(net, &text, &errors);
    if (errors != 1 || !strstr(text, rc->expect))
        fprintf(stderr, "case %s: expected one error containing\n  %s\ngot %u:\n%s", rc->name,
                rc->expect, errors, text);
    assert_int_equal(code, SNN_ESEMA);
    assert_int_equal(errors, 1);
    assert_non_null(strstr(text, rc->expect));
    /* No location was set anywhere: the report has the command's prefix. */
    assert_true(strncmp(text, "snnc: error: ", 13) == 0);
    free(text);
    snn_net_free(net);
}

/* ---- locations and several errors -------------------------------------- */

static void test_location_value(void **state)
{
    (void)state;
    struct snn_net *net = base_net();
    net->pops[EXC].loc = (struct snn_loc){"net.yaml", 10, 3, 5};
    *param(net, EXC, "tau_m") = const_value(-20);
    param(net, EXC, "tau_m")->loc = (struct snn_loc){"net.yaml", 12, 14, 6};
    char *text;
    unsigned errors;
    assert_int_equal(verify(net, &text, &errors), SNN_ESEMA);
    assert_true(
        strncmp(text, "net.yaml:12:14: error: population 'exc': tau_m must be > 0 ms, got -20 ms\n",
                strlen("net.yaml:12:14: error: population 'exc': tau_m must be > 0 ms, "
                       "got -20 ms\n")) == 0);
    free(text);
    snn_net_free(net);
}

static void test_location_fallback(void **state)
{
    (void)state;
    struct snn_net *net = base_net();
    net->pops[EXC].loc = (struct snn_loc){"net.yaml", 10, 3, 5};
    net->projs[P_POI_COND].loc = (struct snn_loc){"net.yaml", 40, 5, 1};
    *param(net, EXC, "cm") = const_value(-1);
    net->projs[P_POI_COND].conn.p = -0.5;
    char *text;
    unsigned errors;
    assert_int_equal(verify(net, &text, &errors), SNN_ESEMA);
    assert_int_equal(errors, 2);
    assert_non_null(strstr(text, "net.yaml:10:3: error: population 'exc': cm must be > 0 nF"));
    assert_non_null(
        strstr(text, "net.yaml:40:5: error: projection 'p2c': fixed_probability p must be"));
    free(text);
    snn_net_free(net);
}

static void test_every_violation_reported(void **state)
{
    (void)state;
    struct snn_net *net = base_net();
    net->duration_ms = -1;
    *param(net, EXC, "tau_m") = const_value(-20);
    *param(net, EXC, "cm") = const_value(0);
    net->projs[P_SRC_EXC].delay = const_value(0.15);
    net->projs[P_POI_COND].weight = const_value(-1);
    char *text;
    unsigned errors;
    assert_int_equal(verify(net, &text, &errors), SNN_ESEMA);
    assert_int_equal(errors, 5);
    assert_non_null(strstr(text, "duration must be"));
    assert_non_null(strstr(text, "tau_m must be > 0 ms"));
    assert_non_null(strstr(text, "cm must be > 0 nF"));
    assert_non_null(strstr(text, "delay 0.15 ms is not a whole number"));
    assert_non_null(strstr(text, "weight must be >= 0 uS, got -1 uS"));
    free(text);
    snn_net_free(net);
}

/* A NULL sink drops the reports but the verdict stands. */
static void test_null_sink(void **state)
{
    (void)state;
    struct snn_net *net = base_net();
    assert_int_equal(snn_ir_verify(net, NULL), 0);
    net->dt_ms = -1;
    assert_int_equal(snn_ir_verify(net, NULL), SNN_ESEMA);
    snn_net_free(net);
}

/* With no scratch memory the duplicate checks still find duplicates. */
static void test_duplicates_without_memory(void **state)
{
    (void)state;
    struct snn_net *net = base_net();
    b_dup_name(net);
    b_record_v_dup(net);
    snn_alloc_fail_after(0);
    int rc = snn_ir_verify(net, NULL);
    snn_alloc_fail_after(-1);
    assert_int_equal(rc, SNN_ESEMA);
    char *text;
    unsigned errors;
    assert_int_equal(verify(net, &text, &errors), SNN_ESEMA);
    assert_int_equal(errors, 2);
    free(text);
    snn_net_free(net);
}

int main(void)
{
    struct CMUnitTest tests[N_CASES + 6];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_valid_net_passes);
    for (size_t i = 0; i < N_CASES; i++)
        tests[n++] = (struct CMUnitTest){cases[i].name, test_rule, NULL, NULL, (void *)&cases[i]};
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_location_value);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_location_fallback);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_every_violation_reported);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_null_sink);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_duplicates_without_memory);
    return cmocka_run_group_tests_name("verify", tests, NULL, NULL);
}

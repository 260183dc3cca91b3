/*
 * tests/unit/test_frontend.c: the YAML front end (frontend/yaml.c).
 *
 * Each test parses a small network from a string and checks the IR it
 * builds, or the exact diagnostics it prints (file:line:col, message,
 * quoted line, caret) into a memory stream.  Also: every example under
 * examples/ parses and verifies; alias bombs, deep nesting and oversized
 * inputs fail fast; and an allocation-failure sweep checks that every
 * allocation failure returns SNN_ENOMEM cleanly (run it under ASan for
 * leaks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "frontend/frontend_int.h"
#include "support/arena.h"
#include "support/err.h"

/* ---- helpers --------------------------------------------------------- */

struct run {
    int rc;
    struct snn_net *net;
    char *out; /* everything the sink printed */
    unsigned errors;
};

static struct run parse(const char *text)
{
    struct run r = {0};
    size_t len = 0;
    FILE *f = open_memstream(&r.out, &len);
    assert_non_null(f);
    struct snn_diag *d = snn_diag_new(f);
    assert_non_null(d);
    assert_int_equal(snn_diag_add_source(d, "t.yaml", text, strlen(text)), 0);
    r.rc = snn_yaml_parse("t.yaml", text, strlen(text), d, &r.net);
    r.errors = snn_diag_errors(d);
    snn_diag_free(d);
    fclose(f);
    if (r.rc)
        assert_null(r.net);
    return r;
}

static void done(struct run *r)
{
    snn_net_free(r->net);
    free(r->out);
}

/* Parses text that must be valid. */
static struct run ok(const char *text)
{
    struct run r = parse(text);
    if (r.rc != 0)
        fail_msg("parse failed (%d):\n%s", r.rc, r.out);
    assert_string_equal(r.out, "");
    return r;
}

/* Mismatches of bad() in the current test: each is printed, and the test
 * fails at its end (teardown), so one run shows them all. */
static int mismatches;

/* Parses text that must fail with rc, printing (a line of) want. */
static void bad(const char *text, int rc, const char *want)
{
    struct run r = parse(text);
    if (r.rc != rc || !strstr(r.out, want)) {
        print_error("rc %d (want %d); output:\n%s\nwanted to contain:\n%s\n", r.rc, rc, r.out,
                    want);
        mismatches++;
    }
    done(&r);
}

static int check_mismatches(void **state)
{
    (void)state;
    int n = mismatches;
    mismatches = 0;
    return n ? -1 : 0;
}

static const struct snn_pop *pop(const struct snn_net *net, const char *name)
{
    int i = snn_net_find_pop(net, name);
    assert_true(i >= 0);
    return &net->pops[i];
}

static const struct snn_value *param(const struct snn_pop *p, const char *name)
{
    int i = snn_model_param(p->model, name);
    assert_true(i >= 0);
    return &p->params[i];
}

#define HEAD "snn: 1\n"
#define ONE_POP HEAD "populations:\n  p: {size: 4, model: lif_curr_exp}\n"

/* ---- the examples ----------------------------------------------------- */

static void examples_parse_and_verify(void **state)
{
    (void)state;
    static const char *const names[] = {"cuba", "coba", "synfire", "izhikevich", "poisson"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/examples/%s.yaml", SNN_SOURCE_DIR, names[i]);
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        struct snn_diag *d = snn_diag_new(f);
        struct snn_net *net = NULL;
        int rc = snn_frontend_load(path, d, &net);
        snn_diag_free(d);
        fclose(f);
        if (rc)
            fail_msg("%s: %d\n%s", path, rc, out);
        assert_string_equal(out, "");
        assert_string_equal(net->name, names[i]);
        free(out);
        snn_net_free(net);
    }
}

/* CUBA exactly as specified: sizes, parameters, init, the four projections. */
static void example_cuba_contents(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/examples/cuba.yaml", SNN_SOURCE_DIR);
    struct snn_net *net = NULL;
    assert_int_equal(snn_frontend_load(path, NULL, &net), 0);
    assert_true(net->dt_ms == 0.1 && net->duration_ms == 1000 && net->seed == 1);
    assert_int_equal(net->n_pops, 2);
    assert_int_equal(net->pops[0].size, 3200);
    assert_int_equal(net->pops[1].size, 800);
    static const struct {
        const char *name;
        double v;
    } want[] = {{"tau_m", 20},      {"cm", 0.2},          {"v_rest", -49},
                {"v_reset", -60},   {"v_thresh", -50},    {"tau_refrac", 5},
                {"tau_syn_E", 5},   {"tau_syn_I", 10},    {"i_offset", 0}};
    for (int p = 0; p < 2; p++) {
        const struct snn_pop *P = &net->pops[p];
        assert_int_equal(P->model, SNN_MODEL_LIF_CURR_EXP);
        assert_int_equal(P->record, SNN_REC_SPIKES);
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            const struct snn_value *v = param(P, want[i].name);
            assert_int_equal(v->kind, SNN_VAL_CONST);
            assert_true(v->c == want[i].v);
        }
        assert_int_equal(P->init[0].kind, SNN_VAL_UNIFORM);
        assert_true(P->init[0].a == -60 && P->init[0].b == -50);
    }
    assert_int_equal(net->n_projs, 4);
    static const struct {
        uint32_t pre, post;
        enum snn_receptor rec;
        double w;
    } pw[] = {{0, 0, SNN_RECEPTOR_EXC, 0.0162},
              {0, 1, SNN_RECEPTOR_EXC, 0.0162},
              {1, 0, SNN_RECEPTOR_INH, -0.09},
              {1, 1, SNN_RECEPTOR_INH, -0.09}};
    for (int i = 0; i < 4; i++) {
        const struct snn_proj *p = &net->projs[i];
        assert_int_equal(p->pre, pw[i].pre);
        assert_int_equal(p->post, pw[i].post);
        assert_int_equal(p->receptor, pw[i].rec);
        assert_int_equal(p->conn.kind, SNN_CONN_FIXED_PROBABILITY);
        assert_true(p->conn.p == 0.02 && p->conn.allow_self);
        assert_true(p->weight.kind == SNN_VAL_CONST && p->weight.c == pw[i].w);
        assert_true(p->delay.kind == SNN_VAL_CONST && p->delay.c == 0.1);
    }
    snn_net_free(net);
}

/* ---- the document ------------------------------------------------------ */

static void top_level_keys(void **state)
{
    (void)state;
    struct run r = ok(HEAD "name: net1\ntimestep: 0.25 ms\nduration: 2 s\nseed: 18446744073709551615\n"
                           "populations: {p: {size: 1, model: if}}\n");
    assert_string_equal(r.net->name, "net1");
    assert_true(r.net->dt_ms == 0.25);
    assert_true(r.net->duration_ms == 2000);
    assert_true(r.net->seed == UINT64_MAX);
    assert_int_equal(r.net->n_projs, 0);
    done(&r);
    /* Defaults. */
    r = ok(HEAD "populations: {p: {size: 1, model: if}}\n");
    assert_string_equal(r.net->name, "");
    assert_true(r.net->dt_ms == 0.1 && r.net->duration_ms == 0 && r.net->seed == 0);
    done(&r);
    /* definitions: is a home for anchors, not read otherwise. */
    r = ok(HEAD "definitions: {anything: [goes, {here: 1}], lif: &l {size: 2, model: if}}\n"
                "populations: {p: *l}\n");
    assert_int_equal(r.net->pops[0].size, 2);
    done(&r);
}

static void version_and_root(void **state)
{
    (void)state;
    bad("populations: {p: {size: 1, model: if}}\n", SNN_ESEMA,
        "t.yaml:1:1: error: missing 'snn: 1', the version of the format\n");
    bad("snn: 2\n", SNN_ESEMA,
        "t.yaml:1:6: error: unsupported format version 2 (this snnc reads 'snn: 1')\n"
        "    1 | snn: 2\n"
        "      |      ^\n");
    bad("", SNN_ESEMA, "t.yaml:1:1: error: the file is empty: expected a network starting with "
                       "'snn: 1'\n");
    bad("# only a comment\n", SNN_ESEMA, "error: the file is empty");
    bad("[1, 2]\n", SNN_ESEMA,
        "t.yaml:1:1: error: expected a network: a mapping that starts with 'snn: 1'\n");
    bad(HEAD, SNN_ESEMA, "t.yaml:1:1: error: the network has no 'populations'\n");
    bad(HEAD "populations: {}\n", SNN_ESEMA,
        "t.yaml:2:14: error: 'populations' is empty: a network needs at least one\n");
    bad(HEAD "timestep: 0 ms\npopulations: {p: {size: 1, model: if}}\n", SNN_ESEMA,
        "t.yaml:2:11: error: 'timestep' must be above 0 ms\n");
    bad(HEAD "duration: -1 ms\npopulations: {p: {size: 1, model: if}}\n", SNN_ESEMA,
        "t.yaml:2:11: error: 'duration' must not be negative\n");
    bad(HEAD "seed: 18446744073709551616\npopulations: {p: {size: 1, model: if}}\n", SNN_ESEMA,
        "t.yaml:2:7: error: 'seed' must be 0 .. 18446744073709551615, got "
        "'18446744073709551616'\n");
    bad(HEAD "naem: x\npopulations: {p: {size: 1, model: if}}\n", SNN_ESEMA,
        "t.yaml:2:1: error: unknown key 'naem' in the network (did you mean 'name'?)\n"
        "    2 | naem: x\n"
        "      | ^~~~\n");
}

/* ---- values -------------------------------------------------------------- */

static void value_kinds(void **state)
{
    (void)state;
    struct run r = ok(HEAD "populations:\n"
                           "  p:\n"
                           "    size: 3\n"
                           "    model: lif_curr_exp\n"
                           "    params:\n"
                           "      tau_m: 10 ms\n"
                           "      cm: [0.1 nF, 200 pF, 0.3 nF]\n"
                           "      v_rest: {uniform: [-70 mV, -60 mV]}\n"
                           "      v_thresh: {normal: [-50 mV, 1 mV]}\n"
                           "      v_reset: {normal: [-65 mV, 2 mV], bounds: [-70 mV, -60 mV]}\n"
                           "      tau_refrac: {normal: [2 ms, 1 ms], bounds: [0 ms, 4 ms], "
                           "out_of_bounds: redraw}\n"
                           "    init: {v: [-65 mV, -66 mV, -67 mV]}\n");
    const struct snn_pop *p = pop(r.net, "p");
    const struct snn_value *v = param(p, "tau_m");
    assert_true(v->kind == SNN_VAL_CONST && v->c == 10);
    assert_int_equal(v->loc.line, 7);
    assert_int_equal(v->loc.col, 14);
    assert_int_equal(v->loc.len, 5);
    assert_string_equal(v->loc.file, "t.yaml");
    v = param(p, "cm");
    assert_int_equal(v->kind, SNN_VAL_LIST);
    assert_int_equal(v->n, 3);
    assert_true(v->list[0] == 0.1 && v->list[1] == 0.2 && v->list[2] == 0.3);
    assert_int_equal(v->loc.line, 8);
    assert_int_equal(v->loc.col, 11);
    v = param(p, "v_rest");
    assert_true(v->kind == SNN_VAL_UNIFORM && v->a == -70 && v->b == -60);
    v = param(p, "v_thresh");
    assert_true(v->kind == SNN_VAL_NORMAL && v->a == -50 && v->b == 1 && !v->bounded);
    v = param(p, "v_reset");
    assert_true(v->kind == SNN_VAL_NORMAL && v->bounded && v->lo == -70 && v->hi == -60);
    assert_int_equal(v->bound_mode, SNN_BOUND_CLIP);
    v = param(p, "tau_refrac");
    assert_true(v->bounded && v->lo == 0 && v->hi == 4);
    assert_int_equal(v->bound_mode, SNN_BOUND_REDRAW);
    /* Unspecified parameters keep the model's defaults. */
    v = param(p, "tau_syn_E");
    assert_true(v->kind == SNN_VAL_CONST && v->c == 5.0);
    assert_null(v->loc.file);
    assert_int_equal(p->init[0].kind, SNN_VAL_LIST);
    assert_true(p->init[0].list[2] == -67);
    done(&r);
}

static void value_errors(void **state)
{
    (void)state;
    bad(HEAD "populations:\n  p: {size: 3, model: if, params: {bias: [1 mV, 2 mV]}}\n", SNN_ESEMA,
        "t.yaml:3:42: error: 'bias' lists 2 values for 3 neurons\n");
    bad(HEAD "populations:\n  p: {size: 3, model: if, params: {bias: [1 mV, 2, 3 mV]}}\n",
        SNN_ESEMA, "t.yaml:3:49: error: 'bias': missing unit: write '2 mV' (a voltage)\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, params: {bias: {uniform: [2 mV, 1 mV]}}}\n",
        SNN_ESEMA, "t.yaml:3:52: error: 'uniform': low is above high\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, params: {bias: {normal: [0 mV, -1 mV]}}}\n",
        SNN_ESEMA, "t.yaml:3:51: error: 'normal': the standard deviation is negative\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, params: {bias: {normal: [0 mV, 1 mV], "
             "out_of_bounds: clip}}}\n",
        SNN_ESEMA, "t.yaml:3:65: error: 'out_of_bounds' needs 'bounds: [low, high]'\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, params: {bias: {normal: [0 mV, 1 mV], "
             "bounds: [1 mV, 0 mV]}}}\n",
        SNN_ESEMA, "t.yaml:3:73: error: 'bounds': low is above high\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, params: {bias: {normal: [0 mV, 1 mV], "
             "bounds: [0 mV, 1 mV], out_of_bounds: clamp}}}\n",
        SNN_ESEMA, "t.yaml:3:102: error: unknown out_of_bounds 'clamp' (did you mean 'clip'?)\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, params: {bias: {uniform: [0 mV, 1 mV], "
             "bounds: [0 mV, 1 mV]}}}\n",
        SNN_ESEMA,
        "t.yaml:3:66: error: 'bounds' of a uniform distribution: bounds apply to 'normal' only\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, params: {bias: {uniform: [0 mV, 1 mV], "
             "normal: [0 mV, 1 mV]}}}\n",
        SNN_ESEMA, "t.yaml:3:42: error: 'bias' as a mapping takes one distribution");
    bad(HEAD "populations:\n  p: {size: 1, model: if, params: {bias: {uniform: [0 mV]}}}\n",
        SNN_ESEMA, "t.yaml:3:52: error: 'uniform' takes a list of two values, like [1 mV, 2 mV]\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, params: {bias: {unifrom: [0 mV, 1 mV]}}}\n",
        SNN_ESEMA,
        "t.yaml:3:43: error: unknown key 'unifrom' in the distribution of 'bias' (did you mean "
        "'uniform'?)\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, params: {bias: }}\n", SNN_ESEMA,
        "error: 'bias' must be a single value, not nothing\n");
}

/* ---- populations ---------------------------------------------------------- */

static void population_errors(void **state)
{
    (void)state;
    bad(HEAD "populations:\n  p: {model: if}\n", SNN_ESEMA,
        "t.yaml:3:3: error: population 'p' has no 'size'\n");
    bad(HEAD "populations:\n  p: {size: 3}\n", SNN_ESEMA,
        "t.yaml:3:3: error: population 'p' has no 'model'\n");
    bad(HEAD "populations:\n  p: {size: 0, model: if}\n", SNN_ESEMA,
        "t.yaml:3:13: error: 'size' must be 1 .. 2147483647, got '0'\n");
    bad(HEAD "populations:\n  p: {size: 2147483648, model: if}\n", SNN_ESEMA,
        "t.yaml:3:13: error: 'size' must be 1 .. 2147483647, got '2147483648'\n");
    bad(HEAD "populations:\n  p: {size: 1e3, model: if}\n", SNN_ESEMA,
        "t.yaml:3:13: error: 'size' must be a whole number, got '1e3'\n");
    bad(HEAD "populations:\n  p: {size: 1, model: lif_cur_exp}\n", SNN_ESEMA,
        "t.yaml:3:23: error: unknown neuron model 'lif_cur_exp' (did you mean 'lif_curr_exp'?)\n"
        "    3 |   p: {size: 1, model: lif_cur_exp}\n"
        "      |                       ^~~~~~~~~~~\n");
    bad(HEAD "populations:\n  p: {size: 1, model: hodgkin}\n", SNN_ESEMA,
        "t.yaml:3:23: error: unknown neuron model 'hodgkin'\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, sise: 3}\n", SNN_ESEMA,
        "t.yaml:3:27: error: unknown key 'sise' in population 'p' (did you mean 'size'?)\n");
    bad(HEAD "populations:\n  p: {size: 1, model: lif_curr_exp, params: {tau_n: 1 ms}}\n",
        SNN_ESEMA,
        "t.yaml:3:46: error: model 'lif_curr_exp' has no parameter 'tau_n' (did you mean "
        "'tau_m'?)\n");
    bad(HEAD "populations:\n  p: {size: 1, model: izhikevich, init: {w: 1 mV}}\n", SNN_ESEMA,
        "t.yaml:3:42: error: model 'izhikevich' has no state variable 'w' (did you mean 'v'?)\n");
    bad(HEAD "populations:\n  p: {size: 1, model: spike_source_array, params: {rate: 1 Hz}}\n",
        SNN_ESEMA,
        "t.yaml:3:52: error: model 'spike_source_array' has no parameters; 'rate' is not one\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, params: [1]}\n", SNN_ESEMA,
        "t.yaml:3:35: error: 'params' must be a mapping, not a list\n");
    bad(HEAD "populations:\n  2p: {size: 1, model: if}\n", SNN_ESEMA,
        "t.yaml:3:3: error: population name '2p' is not an identifier");
    bad(HEAD "populations:\n  p: 3\n", SNN_ESEMA,
        "t.yaml:3:6: error: population 'p' must be a mapping with 'size' and 'model'\n");
    bad(HEAD "populations:\n  p: {size: 1, model: izhikevich, reset: subtract}\n", SNN_ESEMA,
        "t.yaml:3:35: error: 'reset' applies only to model 'if', not 'izhikevich'\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, reset: substract}\n", SNN_ESEMA,
        "t.yaml:3:34: error: unknown reset 'substract' (did you mean 'subtract'?)\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, spike_times: [1 ms]}\n", SNN_ESEMA,
        "t.yaml:3:27: error: 'spike_times' applies only to model 'spike_source_array', not "
        "'if'\n");
}

static void if_reset(void **state)
{
    (void)state;
    struct run r = ok(HEAD "populations:\n  a: {size: 1, model: if, reset: subtract}\n"
                           "  b: {size: 1, model: if}\n  c: {size: 1, model: if, reset: to_value}\n");
    assert_int_equal(pop(r.net, "a")->reset, SNN_RESET_SUBTRACT);
    assert_int_equal(pop(r.net, "b")->reset, SNN_RESET_TO_VALUE);
    assert_int_equal(pop(r.net, "c")->reset, SNN_RESET_TO_VALUE);
    done(&r);
}

static void spike_times(void **state)
{
    (void)state;
    struct run r = ok(HEAD "populations:\n"
                           "  shared: {size: 3, model: spike_source_array, "
                           "spike_times: [1 ms, 2.5 ms, 0.01 s]}\n"
                           "  each: {size: 3, model: spike_source_array, "
                           "spike_times: [[1 ms, 5 ms], [], [3 ms]]}\n"
                           "  none: {size: 2, model: spike_source_array}\n");
    const struct snn_pop *p = pop(r.net, "shared");
    for (uint32_t i = 0; i <= 3; i++)
        assert_int_equal(p->times_off[i], 3 * i);
    assert_true(p->times[0] == 1 && p->times[1] == 2.5 && p->times[2] == 10);
    assert_true(p->times[6] == 1 && p->times[8] == 10);
    p = pop(r.net, "each");
    assert_int_equal(p->times_off[0], 0);
    assert_int_equal(p->times_off[1], 2);
    assert_int_equal(p->times_off[2], 2);
    assert_int_equal(p->times_off[3], 3);
    assert_true(p->times[0] == 1 && p->times[1] == 5 && p->times[2] == 3);
    p = pop(r.net, "none");
    assert_non_null(p->times_off);
    assert_int_equal(p->times_off[2], 0);
    done(&r);

    bad(HEAD "populations:\n  s: {size: 3, model: spike_source_array, spike_times: [[1 ms], "
             "[2 ms]]}\n",
        SNN_ESEMA, "t.yaml:3:56: error: 'spike_times' has 2 lists for 3 neurons\n");
    bad(HEAD "populations:\n  s: {size: 1, model: spike_source_array, spike_times: [2 ms, 1 ms]}\n",
        SNN_ESEMA, "t.yaml:3:63: error: 'spike_times' must be in ascending order\n");
    bad(HEAD "populations:\n  s: {size: 1, model: spike_source_array, spike_times: [-1 ms]}\n",
        SNN_ESEMA, "t.yaml:3:57: error: 'spike_times': a spike time is negative\n");
    bad(HEAD "populations:\n  s: {size: 2, model: spike_source_array, spike_times: [[1 ms], 2 ms]}"
             "\n",
        SNN_ESEMA, "t.yaml:3:65: error: 'spike_times': expected the list of times of neuron 1\n");
    /* One shared list for two billion neurons would not fit: say how much. */
    bad(HEAD "populations:\n  s: {size: 2000000000, model: spike_source_array, "
             "spike_times: [1 ms, 2 ms]}\n",
        SNN_ETOOBIG,
        "t.yaml:3:65: error: 'spike_times' for 2000000000 neurons with 4000000000 spikes in all "
        "would need 38147.0 MiB (the limit is 1024 MiB)\n");
}

static void recording(void **state)
{
    (void)state;
    struct run r = ok(HEAD "populations:\n"
                           "  a: {size: 10, model: if, record: [spikes]}\n"
                           "  b: {size: 10, model: if, record: [spikes, v]}\n"
                           "  c: {size: 10, model: if, record: {spikes: true, v: [9, 0, 5]}}\n"
                           "  d: {size: 10, model: if, record: {v: true}}\n"
                           "  e: {size: 10, model: if, record: v}\n"
                           "  f: {size: 10, model: if}\n"
                           "  g: {size: 10, model: spike_source_poisson, record: spikes}\n");
    assert_int_equal(pop(r.net, "a")->record, SNN_REC_SPIKES);
    assert_int_equal(pop(r.net, "b")->record, SNN_REC_SPIKES | SNN_REC_V);
    assert_null(pop(r.net, "b")->record_v);
    const struct snn_pop *c = pop(r.net, "c");
    assert_int_equal(c->record, SNN_REC_SPIKES | SNN_REC_V);
    assert_int_equal(c->n_record_v, 3);
    assert_int_equal(c->record_v[0], 0);
    assert_int_equal(c->record_v[1], 5);
    assert_int_equal(c->record_v[2], 9);
    assert_int_equal(pop(r.net, "d")->record, SNN_REC_V);
    assert_int_equal(pop(r.net, "e")->record, SNN_REC_V);
    assert_int_equal(pop(r.net, "f")->record, 0);
    assert_int_equal(pop(r.net, "g")->record, SNN_REC_SPIKES);
    done(&r);

    bad(HEAD "populations:\n  a: {size: 10, model: if, record: [spike]}\n", SNN_ESEMA,
        "t.yaml:3:37: error: unknown recording 'spike' (did you mean 'spikes'?)\n");
    bad(HEAD "populations:\n  a: {size: 10, model: if, record: {v: [10]}}\n", SNN_ESEMA,
        "t.yaml:3:41: error: recorded neuron index 10 is out of range: population 'a' has 10 "
        "neurons (0 .. 9)\n");
    bad(HEAD "populations:\n  a: {size: 10, model: if, record: {v: [1, 1]}}\n", SNN_ESEMA,
        "t.yaml:3:40: error: 'v' lists neuron 1 twice\n");
    bad(HEAD "populations:\n  a: {size: 10, model: if, record: {spikes: yes}}\n", SNN_ESEMA,
        "t.yaml:3:45: error: 'spikes' must be true or false, got 'yes'\n");
    bad(HEAD "populations:\n  a: {size: 1, model: spike_source_poisson, record: [spikes, v]}\n",
        SNN_ESEMA,
        "t.yaml:3:62: error: population 'a' is a spike source (spike_source_poisson): it has no "
        "'v' to record\n");
}

/* ---- projections and connectors ------------------------------------------- */

#define TWO_POPS                                                                               \
    HEAD "populations:\n  a: {size: 3, model: lif_curr_exp}\n  b: {size: 2, model: lif_cond_exp}\n" \
         "projections:\n"

static void connectors(void **state)
{
    (void)state;
    struct run r = ok(TWO_POPS
                      "  - {pre: a, post: a, connector: all_to_all, weight: 1 nA}\n"
                      "  - {pre: a, post: a, connector: {all_to_all: {allow_self: false}}, "
                      "weight: 1 nA}\n"
                      "  - {pre: a, post: a, connector: {all_to_all: , allow_self: false}, "
                      "weight: 1 nA}\n"
                      "  - {pre: a, post: a, connector: one_to_one, weight: 1 nA, delay: 2 ms}\n"
                      "  - {pre: a, post: b, connector: {fixed_probability: 0.5, allow_self: false},"
                      " weight: 6 nS, receptor: inhibitory}\n"
                      "  - {pre: a, post: b, connector: {fixed_number_pre: 3}, weight: 1 uS}\n"
                      "  - {pre: b, post: a, connector: {fixed_number_post: 3}, weight: 1 nA}\n"
                      "  - {pre: a, post: b, connector: {from_list: [[0, 1], [2, 0]]}, "
                      "weight: 1 nS}\n"
                      "  - {pre: a, post: b, connector: {from_list: [[0, 1, 2 nS], [2, 0, 3 nS]]}}\n"
                      "  - {pre: a, post: b, connector: {from_list: [[0, 1, 2 nS, 1 ms], "
                      "[2, 0, 3 nS, 0.2 ms]]}}\n"
                      "  - {pre: a, post: b, connector: {matrix: [[1, 0], [0, 2], [0.5, 0]]}, "
                      "weight: 2 nS}\n"
                      "  - {name: last, pre: b, post: b, connector: {from_list: []}, weight: 1 nS}\n");
    const struct snn_proj *p = r.net->projs;
    assert_int_equal(r.net->n_projs, 12);
    assert_int_equal(p[0].conn.kind, SNN_CONN_ALL_TO_ALL);
    assert_true(p[0].conn.allow_self);
    assert_true(p[0].weight.c == 1 && p[0].delay.c == 0.1); /* default delay: one step */
    assert_int_equal(p[0].receptor, SNN_RECEPTOR_EXC);
    assert_null(p[0].name);
    assert_int_equal(p[1].conn.kind, SNN_CONN_ALL_TO_ALL);
    assert_false(p[1].conn.allow_self);
    assert_false(p[2].conn.allow_self);
    assert_int_equal(p[3].conn.kind, SNN_CONN_ONE_TO_ONE);
    assert_true(p[3].delay.c == 2);
    assert_int_equal(p[4].conn.kind, SNN_CONN_FIXED_PROBABILITY);
    assert_true(p[4].conn.p == 0.5 && !p[4].conn.allow_self);
    assert_true(p[4].weight.c == 0.006);
    assert_int_equal(p[4].receptor, SNN_RECEPTOR_INH);
    assert_int_equal(p[5].conn.kind, SNN_CONN_FIXED_NUMBER_PRE);
    assert_int_equal(p[5].conn.n, 3);
    assert_int_equal(p[6].conn.kind, SNN_CONN_FIXED_NUMBER_POST);
    assert_int_equal(p[6].conn.n, 3);
    assert_int_equal(p[7].conn.kind, SNN_CONN_FROM_LIST);
    assert_int_equal(p[7].conn.n, 2);
    assert_int_equal(p[7].conn.list_pre[1], 2);
    assert_int_equal(p[7].conn.list_post[1], 0);
    assert_null(p[7].conn.list_w);
    assert_null(p[7].conn.list_d);
    assert_true(p[8].conn.list_w[0] == 0.002 && p[8].conn.list_w[1] == 0.003);
    assert_null(p[8].conn.list_d);
    assert_true(p[9].conn.list_d[0] == 1 && p[9].conn.list_d[1] == 0.2);
    assert_int_equal(p[10].conn.kind, SNN_CONN_MATRIX);
    static const double m[] = {0.002, 0, 0, 0.004, 0.001, 0};
    for (int i = 0; i < 6; i++)
        assert_true(p[10].conn.matrix[i] == m[i]);
    assert_int_equal(p[11].conn.n, 0);
    assert_string_equal(p[11].name, "last");
    assert_int_equal(p[11].loc.line, 17);
    assert_int_equal(p[11].loc.col, 5);
    done(&r);
}

static void per_synapse_lists(void **state)
{
    (void)state;
    struct run r = ok(TWO_POPS
                      "  - {pre: a, post: b, connector: all_to_all, weight: [1 nS, 2 nS, 3 nS, "
                      "4 nS, 5 nS, 6 nS], delay: [1 ms, 1 ms, 1 ms, 2 ms, 2 ms, 2 ms]}\n"
                      "  - {pre: a, post: a, connector: {all_to_all: {allow_self: false}}, "
                      "weight: [1 nA, 2 nA, 3 nA, 4 nA, 5 nA, 6 nA]}\n"
                      "  - {pre: a, post: a, connector: one_to_one, weight: [1 nA, 2 nA, 3 nA]}\n"
                      "  - {pre: a, post: b, connector: {from_list: [[0, 0], [1, 1]]}, "
                      "weight: [1 nS, 2 nS]}\n");
    assert_int_equal(r.net->projs[0].weight.kind, SNN_VAL_LIST);
    assert_int_equal(r.net->projs[0].weight.n, 6);
    assert_true(r.net->projs[0].weight.list[5] == 0.006);
    assert_int_equal(r.net->projs[0].delay.n, 6);
    assert_int_equal(r.net->projs[1].weight.n, 6);
    assert_int_equal(r.net->projs[2].weight.n, 3);
    assert_int_equal(r.net->projs[3].weight.n, 2);
    done(&r);
    bad(TWO_POPS "  - {pre: a, post: b, connector: all_to_all, weight: [1 nS, 2 nS]}\n", SNN_ESEMA,
        "t.yaml:6:54: error: 'weight' lists 2 values for 6 synapses\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {fixed_probability: 0.1}, weight: [1 nS]}\n",
        SNN_ESEMA,
        "t.yaml:6:68: error: 'weight' is a list, but only all_to_all, one_to_one and from_list "
        "fix the order of their synapses; use a single value or a distribution\n");
}

static void projection_errors(void **state)
{
    (void)state;
    bad(TWO_POPS "  - {pre: aa, post: b, connector: all_to_all, weight: 1 nS}\n", SNN_ESEMA,
        "t.yaml:6:11: error: 'pre': unknown population 'aa' (did you mean 'a'?)\n");
    bad(TWO_POPS "  - {pre: a, post: zzz, connector: all_to_all, weight: 1 nS}\n", SNN_ESEMA,
        "t.yaml:6:20: error: 'post': unknown population 'zzz'\n");
    bad(TWO_POPS "  - {post: b, connector: all_to_all, weight: 1 nS}\n", SNN_ESEMA,
        "t.yaml:6:5: error: projection 1 has no 'pre'\n");
    bad(TWO_POPS "  - {pre: a, post: b, weight: 1 nS}\n", SNN_ESEMA,
        "t.yaml:6:5: error: projection 1 has no 'connector'\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: all_to_all}\n", SNN_ESEMA,
        "t.yaml:6:5: error: projection 1 has no 'weight' (in uS)\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: all_to_all, weight: 1 nA}\n", SNN_ESEMA,
        "t.yaml:6:54: error: 'weight': expected a conductance (uS), got 'nA', a current\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: all_to_al, weight: 1 nS}\n", SNN_ESEMA,
        "t.yaml:6:34: error: unknown connector 'all_to_al' (did you mean 'all_to_all'?)\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {fixed_probabilty: 0.1}, weight: 1 nS}\n",
        SNN_ESEMA,
        "t.yaml:6:35: error: unknown key 'fixed_probabilty' in the connector (did you mean "
        "'fixed_probability'?)\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: fixed_probability, weight: 1 nS}\n", SNN_ESEMA,
        "t.yaml:6:34: error: connector 'fixed_probability' needs an argument: write "
        "{fixed_probability: ...}\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {fixed_probability: 1.5}, weight: 1 nS}\n",
        SNN_ESEMA, "t.yaml:6:54: error: 'fixed_probability' must be 0 .. 1, got 1.5\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {fixed_probability: 0.1 Hz}, weight: 1 nS}\n",
        SNN_ESEMA, "t.yaml:6:54: error: 'fixed_probability': expected a bare number, got unit "
                   "'Hz'\n");
    bad(TWO_POPS "  - {pre: a, post: a, connector: {fixed_number_pre: 3, allow_self: false}, "
                 "weight: 1 nA}\n",
        SNN_ESEMA,
        "t.yaml:6:53: error: 'fixed_number_pre' asks for 3 distinct pre neurons, but only 2 are "
        "available\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {fixed_number_post: 3}, weight: 1 nS}\n",
        SNN_ESEMA,
        "t.yaml:6:54: error: 'fixed_number_post' asks for 3 distinct post neurons, but only 2 "
        "are available\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: one_to_one, weight: 1 nS}\n", SNN_ESEMA,
        "t.yaml:6:34: error: 'one_to_one' needs populations of the same size, not 3 and 2\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {one_to_one: , allow_self: true}, weight: 1 nS}"
                 "\n",
        SNN_ESEMA, "t.yaml:6:61: error: 'allow_self' does not apply to 'one_to_one'\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {all_to_all: 3}, weight: 1 nS}\n", SNN_ESEMA,
        "t.yaml:6:47: error: 'all_to_all' takes no argument\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {all_to_all: , one_to_one: }, weight: 1 nS}\n",
        SNN_ESEMA,
        "t.yaml:6:49: error: a projection has one connector, not 'all_to_all' and 'one_to_one'\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {from_list: [[0, 2]]}, weight: 1 nS}\n",
        SNN_ESEMA,
        "t.yaml:6:51: error: post index 2 is out of range: population 'b' has 2 neurons "
        "(0 .. 1)\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {from_list: [[0, 1], [0, 1, 2 nS]]}, "
                 "weight: 1 nS}\n",
        SNN_ESEMA, "t.yaml:6:55: error: 'from_list' row 1 has 3 entries, the first row has 2\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {from_list: [[0]]}, weight: 1 nS}\n", SNN_ESEMA,
        "t.yaml:6:47: error: a 'from_list' row is [pre, post], [pre, post, weight] or [pre, "
        "post, weight, delay]\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {from_list: [[0, 1, 2 nS]]}, weight: 1 nS}\n",
        SNN_ESEMA,
        "t.yaml:6:63: error: 'weight' given twice: in the rows of 'from_list' and here\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {matrix: [[1, 0], [0, 1]]}, weight: 1 nS}\n",
        SNN_ESEMA, "t.yaml:6:43: error: 'matrix' has 2 rows, but pre population 'a' has 3 "
                   "neurons\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {matrix: [[1, 0], [0, 1], [1]]}, weight: 1 nS}"
                 "\n",
        SNN_ESEMA,
        "t.yaml:6:60: error: 'matrix' row 2 has 1 entries, but post population 'b' has 2 "
        "neurons\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: {matrix: [[1, 0], [0, 1], [1, 0]]}, "
                 "weight: {uniform: [1 nS, 2 nS]}}\n",
        SNN_ESEMA,
        "t.yaml:6:78: error: with 'matrix', 'weight' must be a single quantity: the matrix "
        "entries are multiples of it\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: all_to_all, weight: 1 nS, receptor: excit}\n",
        SNN_ESEMA, "t.yaml:6:70: error: unknown receptor 'excit' (expected one of 'excitatory', "
                   "'inhibitory')\n");
    bad(TWO_POPS "  - {pre: a, post: b, connector: all_to_all, weight: 1 nS, name: 'x y'}\n",
        SNN_ESEMA, "t.yaml:6:66: error: projection name 'x y' is not an identifier\n");
    bad(HEAD "populations:\n  s: {size: 1, model: spike_source_poisson}\n"
             "projections:\n  - {pre: s, post: s, connector: all_to_all, weight: 1 nA}\n",
        SNN_ESEMA,
        "t.yaml:5:20: error: population 's' is a spike source (spike_source_poisson) and cannot "
        "receive a projection\n");
    bad(TWO_POPS "  {pre: a}\n", SNN_ESEMA, "t.yaml:6:3: error: 'projections' must be a list, "
                                           "not a mapping\n");
    bad(TWO_POPS "  - 3\n", SNN_ESEMA,
        "t.yaml:6:5: error: projection 1 must be a mapping with 'pre', 'post', 'connector' and "
        "'weight'\n");
}

static void weight_units_follow_post_model(void **state)
{
    (void)state;
    struct run r = ok(HEAD "populations:\n"
                           "  s: {size: 1, model: spike_source_poisson}\n"
                           "  cur: {size: 1, model: lif_curr_exp}\n"
                           "  cond: {size: 1, model: lif_cond_exp}\n"
                           "  delta: {size: 1, model: if_curr_delta}\n"
                           "  izh: {size: 1, model: izhikevich}\n"
                           "  i: {size: 1, model: if}\n"
                           "projections:\n"
                           "  - {pre: s, post: cur, connector: all_to_all, weight: 270 pA}\n"
                           "  - {pre: s, post: cond, connector: all_to_all, weight: 6 nS}\n"
                           "  - {pre: s, post: delta, connector: all_to_all, weight: 0.5 mV}\n"
                           "  - {pre: s, post: izh, connector: all_to_all, weight: 0.001 V}\n"
                           "  - {pre: s, post: i, connector: all_to_all, weight: 100 uV}\n");
    assert_true(r.net->projs[0].weight.c == 0.27);
    assert_true(r.net->projs[1].weight.c == 0.006);
    assert_true(r.net->projs[2].weight.c == 0.5);
    assert_true(r.net->projs[3].weight.c == 1);
    assert_true(r.net->projs[4].weight.c == 0.1);
    done(&r);
}

/* ---- anchors, aliases, merge keys ---------------------------------------- */

static void anchors_and_merges(void **state)
{
    (void)state;
    struct run r = ok(HEAD "populations:\n"
                           "  a:\n"
                           "    size: 2\n"
                           "    model: lif_curr_exp\n"
                           "    params: &lif {tau_m: 10 ms, cm: 0.5 nF, v_thresh: -52 mV}\n"
                           "  b: {size: 2, model: lif_curr_exp, params: *lif}\n"
                           "  c: {size: 2, model: lif_curr_exp, params: {<<: *lif, tau_m: 30 ms}}\n"
                           "  d: {size: 2, model: lif_curr_exp, params: {<<: [{tau_m: 1 ms}, "
                           "{tau_m: 2 ms, cm: 2 nF}, *lif]}}\n"
                           "  e: &whole {size: 7, model: if}\n"
                           "  f: {<<: *whole, size: 3}\n"
                           "projections:\n"
                           "  - &proj {pre: a, post: b, connector: one_to_one, weight: 1 nA}\n"
                           "  - {<<: *proj, post: c}\n");
    assert_true(param(pop(r.net, "b"), "tau_m")->c == 10);
    assert_true(param(pop(r.net, "b"), "cm")->c == 0.5);
    assert_true(param(pop(r.net, "c"), "tau_m")->c == 30); /* own key wins */
    assert_true(param(pop(r.net, "c"), "v_thresh")->c == -52);
    assert_true(param(pop(r.net, "d"), "tau_m")->c == 1); /* earlier source wins */
    assert_true(param(pop(r.net, "d"), "cm")->c == 2);
    assert_true(param(pop(r.net, "d"), "v_thresh")->c == -52);
    assert_int_equal(pop(r.net, "e")->size, 7);
    assert_int_equal(pop(r.net, "f")->size, 3);
    assert_int_equal(pop(r.net, "f")->model, SNN_MODEL_IF);
    assert_int_equal(r.net->projs[1].post, 2);
    assert_int_equal(r.net->projs[1].conn.kind, SNN_CONN_ONE_TO_ONE);
    /* Values inside an aliased mapping are located where they are written. */
    assert_int_equal(param(pop(r.net, "b"), "tau_m")->loc.line, 6);
    assert_int_equal(param(pop(r.net, "b"), "tau_m")->loc.col, 26);
    done(&r);

    /* The error on an aliased list points at the use. */
    bad(HEAD "populations:\n  a: {size: 2, model: if, params: {bias: &l [1 mV, 2 mV]}}\n"
             "  b: {size: 3, model: if, params: {bias: *l}}\n",
        SNN_ESEMA, "t.yaml:4:42: error: 'bias' lists 2 values for 3 neurons\n");
    bad(HEAD "populations: {p: {size: 1, model: if, params: *nope}}\n", SNN_EPARSE,
        "t.yaml:2:47: error: unknown anchor: '*nope' is not defined before this alias\n");
    bad(HEAD "populations: &a {p: *a}\n", SNN_EPARSE,
        "t.yaml:2:21: error: alias '*a' refers to a node that contains it; recursive aliases "
        "are not allowed\n");
    bad(HEAD "populations: {p: {<<: 3, size: 1, model: if}}\n", SNN_ESEMA,
        "t.yaml:2:23: error: '<<' merges a mapping or a list of mappings, not a scalar\n");
    bad(HEAD "populations: {p: {<<: [3], size: 1, model: if}}\n", SNN_ESEMA,
        "t.yaml:2:24: error: '<<' merges mappings, not a scalar\n");
}

static void duplicates(void **state)
{
    (void)state;
    bad(HEAD "populations:\n  p: {size: 1, model: if}\n  p: {size: 2, model: if}\n", SNN_ESEMA,
        "t.yaml:4:3: error: duplicate population 'p'\n"
        "    4 |   p: {size: 2, model: if}\n"
        "      |   ^\n"
        "t.yaml:3:3: note: 'p' first given here\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, size: 2}\n", SNN_ESEMA,
        "t.yaml:3:27: error: duplicate key 'size'\n");
    bad(HEAD "populations:\n  p: {size: 1, model: if, params: {bias: 1 mV, bias: 2 mV}}\n",
        SNN_ESEMA, "t.yaml:3:48: error: duplicate parameter 'bias'\n");
    bad(HEAD "snn: 1\npopulations:\n  p: {size: 1, model: if}\n", SNN_ESEMA,
        "t.yaml:2:1: error: duplicate key 'snn'\n");
    /* A merged key that repeats an own key is not a duplicate. */
    struct run r = ok(HEAD "populations:\n  p: {<<: {size: 5}, size: 1, model: if}\n");
    assert_int_equal(r.net->pops[0].size, 1);
    done(&r);
}

/* ---- malformed YAML and hostile inputs ------------------------------------ */

static void malformed_yaml(void **state)
{
    (void)state;
    bad(HEAD "populations:\n  a: {size: 1, model: if\n  b: 2\n", SNN_EPARSE,
        "t.yaml:4:4: error: did not find expected ',' or '}'\n"
        "    4 |   b: 2\n"
        "      |    ^\n"
        "t.yaml:3:6: note: while parsing a flow mapping\n");
    bad("snn: 1\n  bad: x\n", SNN_EPARSE,
        "t.yaml:2:6: error: mapping values are not allowed in this context\n");
    bad("snn: 1\nx: \"unterminated\n", SNN_EPARSE,
        "t.yaml:3:1: error: found unexpected end of stream\n");
    bad("snn: 1\nx: @\n", SNN_EPARSE,
        "t.yaml:2:4: error: found character that cannot start any token\n");
    bad("snn: 1\n---\nsnn: 1\n", SNN_EPARSE,
        "t.yaml:2:1: error: a second YAML document: a file describes one network\n");
    bad("snn: 1\nname: \"a\\0b\"\n", SNN_EPARSE,
        "t.yaml:2:7: error: a NUL character inside a string is not allowed\n");
    bad("snn: 1\nname: caf\xc3\xa9 \xff\n", SNN_EPARSE,
        "t.yaml:2:13: error: invalid leading UTF-8 octet (byte 0xff)\n");
    /* NUL bytes in the text itself. */
    struct run r = {0};
    static const char nul_text[] = "snn: 1\nna\0me: x\n";
    size_t len = 0;
    FILE *f = open_memstream(&r.out, &len);
    struct snn_diag *d = snn_diag_new(f);
    r.rc = snn_yaml_parse("t.yaml", nul_text, sizeof nul_text - 1, d, &r.net);
    snn_diag_free(d);
    fclose(f);
    assert_int_equal(r.rc, SNN_EPARSE);
    assert_non_null(strstr(r.out, "t.yaml:2:3: error: control characters are not allowed"));
    done(&r);
}

/* Columns are bytes for the caret, though libyaml counts characters. */
static void columns_after_multibyte_characters(void **state)
{
    (void)state;
    static const char text[] = HEAD "populations: {p: {size: 1, model: if, params: {bias: 0 mV, "
                                    "v_reset: \"\xc3\xa9\xc3\xa9\", v_thresh: 1 mX}}}\n";
    bad(text, SNN_ESEMA,
        "t.yaml:2:69: error: 'v_reset': expected a voltage such as '1 mV', got '\xc3\xa9\xc3\xa9'\n");
    /* Four bytes, two characters before it: byte column 87, not 85. */
    bad(text, SNN_ESEMA,
        "t.yaml:2:87: error: 'v_thresh': unknown unit 'mX' for a voltage (did you mean 'mV'?)\n");
}

static void alias_bomb(void **state)
{
    (void)state;
    char text[4096] = HEAD "definitions:\n  a0: &a0 [1 ms, 1 ms, 1 ms, 1 ms, 1 ms, 1 ms, 1 ms, 1 "
                          "ms, 1 ms, 1 ms]\n";
    for (int i = 1; i < 10; i++) {
        char line[200];
        snprintf(line, sizeof line,
                 "  a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
                 i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        strcat(text, line);
    }
    strcat(text, "populations: {s: {size: 1, model: spike_source_array, spike_times: *a9}}\n");
    clock_t t0 = clock();
    bad(text, SNN_ETOOBIG,
        "t.yaml:10:7: error: this node expands to more than 33554432 nodes through aliases; "
        "refusing what looks like an alias bomb\n");
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);

    /* Merge keys cannot expand without limit either: each level merges the
     * previous one twice, and only the visit budget stops the walk. */
    char m[8192] = HEAD "definitions:\n  m0: &m0 {size: 1}\n";
    for (int i = 1; i < 40; i++) {
        char line[200];
        snprintf(line, sizeof line, "  m%d: &m%d {<<: [*m%d, *m%d]}\n", i, i, i - 1, i - 1);
        strcat(m, line);
    }
    strcat(m, "populations: {p: {<<: *m39, model: if}}\n");
    t0 = clock();
    struct run r = parse(m);
    assert_int_not_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "alias bomb"));
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
    done(&r);
}

static void deep_nesting(void **state)
{
    (void)state;
    char text[600] = HEAD "x: ";
    for (int i = 0; i < 100; i++)
        strcat(text, "[");
    for (int i = 0; i < 100; i++)
        strcat(text, "]");
    strcat(text, "\n");
    bad(text, SNN_EPARSE, "t.yaml:2:67: error: collections nested deeper than 64 levels\n");
    /* A long chain of merge keys. */
    char m[16384] = HEAD "definitions:\n  m0: &m0 {size: 1}\n";
    for (int i = 1; i < 80; i++) {
        char line[100];
        snprintf(line, sizeof line, "  m%d: &m%d {<<: *m%d}\n", i, i, i - 1);
        strcat(m, line);
    }
    strcat(m, "populations: {p: {<<: *m79, model: if}}\n");
    bad(m, SNN_EPARSE, "error: merge keys ('<<') chained deeper than 64 levels\n");
}

static void many_errors_in_one_run(void **state)
{
    (void)state;
    struct run r = parse(HEAD "populations:\n"
                              "  a: {size: 1, model: if, params: {bias: 1}}\n"
                              "  b: {size: 1, model: iff}\n"
                              "  c: {size: -1, model: if}\n"
                              "projections:\n"
                              "  - {pre: a, post: a, connector: all_to_all, weight: 1 nA}\n");
    assert_int_equal(r.rc, SNN_ESEMA);
    assert_int_equal(r.errors, 3); /* the projection onto broken 'a' is skipped quietly */
    assert_non_null(strstr(r.out, "t.yaml:3:42:"));
    assert_non_null(strstr(r.out, "t.yaml:4:23:"));
    assert_non_null(strstr(r.out, "t.yaml:5:13:"));
    done(&r);
    /* Past the cap the reader stops. */
    char text[8192] = HEAD "populations:\n  p: {size: 1, model: if}\n";
    for (int i = 0; i < 70; i++) {
        char line[64];
        snprintf(line, sizeof line, "k%d: 1\n", i);
        strcat(text, line);
    }
    r = parse(text);
    assert_int_equal(r.rc, SNN_ESEMA);
    assert_int_equal(r.errors, SNN_FE_MAX_ERRORS);
    assert_non_null(strstr(r.out, "snnc: note: too many errors (50); stopping\n"));
    done(&r);
}

static void verifier_runs(void **state)
{
    (void)state;
    /* A negative time constant is the verifier's to find. */
    struct run r = parse(ONE_POP);
    assert_int_equal(r.rc, 0);
    done(&r);
    r = parse(HEAD "populations:\n  p: {size: 4, model: lif_curr_exp, params: {tau_m: -1 ms}}\n");
    assert_int_equal(r.rc, SNN_ESEMA);
    assert_null(r.net);
    assert_non_null(strstr(r.out, "t.yaml:3:53: error: population 'p': tau_m must be > 0 ms"));
    done(&r);
}

static void null_sink(void **state)
{
    (void)state;
    struct snn_net *net = NULL;
    const char *t = ONE_POP;
    assert_int_equal(snn_yaml_parse("x", t, strlen(t), NULL, &net), 0);
    assert_int_equal(net->pops[0].size, 4);
    snn_net_free(net);
    t = HEAD "populations: 3\n";
    assert_int_equal(snn_yaml_parse("x", t, strlen(t), NULL, &net), SNN_ESEMA);
    assert_null(net);
}

/* ---- files ------------------------------------------------------------------ */

static void load_files(void **state)
{
    (void)state;
    char path[] = "/tmp/snn_fe_testXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *t = ONE_POP "  q: {size: 1, model: iff}\n";
    assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
    close(fd);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    struct snn_diag *d = snn_diag_new(f);
    struct snn_net *net = NULL;
    assert_int_equal(snn_frontend_load(path, d, &net), SNN_ESEMA);
    assert_int_equal(snn_frontend_load("/nonexistent/x.yaml", d, &net), SNN_EIO);
    assert_int_equal(snn_frontend_load("/nonexistent/x.nir", d, &net), SNN_EUNSUPPORTED);
    /* A file over the size limit is refused before reading it. */
    assert_int_equal(truncate(path, (off_t)SNN_FE_MAX_FILE_BYTES + 1), 0);
    assert_int_equal(snn_frontend_load(path, d, &net), SNN_ETOOBIG);
    unlink(path);
    snn_diag_free(d);
    fclose(f);
    char want[256];
    snprintf(want, sizeof want,
             "%s:4:23: error: unknown neuron model 'iff' (did you mean 'if'?)\n"
             "    4 |   q: {size: 1, model: iff}\n"
             "      |                       ^~~\n",
             path);
    if (!strstr(out, want))
        fail_msg("%s", out);
    assert_non_null(strstr(out, "/nonexistent/x.yaml: error: cannot open: No such file"));
    assert_non_null(strstr(out, "/nonexistent/x.nir: error: NIR files are not supported yet"));
    snprintf(want, sizeof want, "%s: error: the file is larger than 256 MiB\n", path);
    assert_non_null(strstr(out, want));
    free(out);
}

/* ---- allocation failures ---------------------------------------------------- */

static const char sweep_text[] =
    HEAD "name: sweep\n"
         "definitions:\n  lif: &lif {tau_m: 10 ms, cm: [0.2 nF, 0.3 nF, 0.4 nF]}\n"
         "populations:\n"
         "  a: {size: 3, model: lif_curr_exp, params: *lif, init: {v: {uniform: [-70 mV, -60 mV]}},"
         " record: {spikes: true, v: [2, 0]}}\n"
         "  b: {size: 3, model: lif_cond_exp, params: {<<: *lif, e_rev_I: -80 mV}}\n"
         "  s: {size: 2, model: spike_source_array, spike_times: [[1 ms], [2 ms, 3 ms]]}\n"
         "  t: {size: 2, model: spike_source_array, spike_times: [1 ms, 2 ms]}\n"
         "  n: {size: 5, model: spike_source_poisson, params: {rate: 5 Hz}}\n"
         "projections:\n"
         "  - {pre: s, post: a, connector: all_to_all, weight: [1 nA, 2 nA, 3 nA, 4 nA, 5 nA, 6 nA]}\n"
         "  - {pre: a, post: b, connector: {from_list: [[0, 1, 1 nS, 1 ms], [2, 2, 2 nS, 2 ms]]}}\n"
         "  - {pre: a, post: b, connector: {matrix: [[1, 0, 1], [0, 1, 0], [1, 1, 1]]}, "
         "weight: 1 nS}\n"
         "  - {pre: n, post: b, connector: {fixed_probability: 0.5}, weight: {normal: [1 nS, "
         "0.1 nS], bounds: [0 nS, 2 nS]}, receptor: inhibitory}\n";

/* Fails allocation n, n+1, ... of parsing text for every n until the parse
 * succeeds; returns how many allocations the parse makes.  Errors are
 * printed to a sink (its allocations are made before the sweep starts). */
static long sweep(const char *text, uint32_t pops, uint32_t projs)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    struct snn_diag *d = snn_diag_new(f);
    assert_non_null(d);
    assert_int_equal(snn_diag_add_source(d, "t.yaml", text, strlen(text)), 0);
    long n = 0;
    for (;; n++) {
        struct snn_net *net = NULL;
        snn_alloc_fail_after(n);
        int rc = snn_yaml_parse("t.yaml", text, strlen(text), d, &net);
        snn_alloc_fail_after(-1);
        if (rc == 0) {
            assert_non_null(net);
            assert_int_equal(net->n_pops, pops);
            assert_int_equal(net->n_projs, projs);
            snn_net_free(net);
            break;
        }
        if (rc != SNN_ENOMEM)
            fail_msg("after %ld allocations: rc %d, want SNN_ENOMEM", n, rc);
        assert_null(net);
        assert_true(n < 100000);
    }
    snn_diag_free(d);
    fclose(f);
    assert_string_equal(out, ""); /* out of memory is a code, not a report */
    free(out);
    return n;
}

static void allocation_failure_sweep(void **state)
{
    (void)state;
    long n = sweep(sweep_text, 5, 4);
    assert_true(n > 5); /* it went through several allocation sites */
    /* Bigger lists: many arena chunks, many kids-stack reallocations. */
    size_t cap = 1 << 20, len = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    len += (size_t)snprintf(t + len, cap - len,
                            HEAD "populations:\n  a: {size: 3000, model: if, params: {bias: [");
    for (int i = 0; i < 3000; i++)
        len += (size_t)snprintf(t + len, cap - len, "%s%d mV", i ? ", " : "", i % 7);
    len += (size_t)snprintf(t + len, cap - len,
                            "]}}\nprojections:\n  - {pre: a, post: a, weight: 1 mV, "
                            "connector: {from_list: [");
    for (int i = 0; i < 3000; i++)
        len += (size_t)snprintf(t + len, cap - len, "%s[%d, %d]", i ? ", " : "", i, 2999 - i);
    snprintf(t + len, cap - len, "]}}\n");
    long m = sweep(t, 1, 1);
    assert_true(m > n);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(examples_parse_and_verify, check_mismatches),
        cmocka_unit_test_teardown(example_cuba_contents, check_mismatches),
        cmocka_unit_test_teardown(top_level_keys, check_mismatches),
        cmocka_unit_test_teardown(version_and_root, check_mismatches),
        cmocka_unit_test_teardown(value_kinds, check_mismatches),
        cmocka_unit_test_teardown(value_errors, check_mismatches),
        cmocka_unit_test_teardown(population_errors, check_mismatches),
        cmocka_unit_test_teardown(if_reset, check_mismatches),
        cmocka_unit_test_teardown(spike_times, check_mismatches),
        cmocka_unit_test_teardown(recording, check_mismatches),
        cmocka_unit_test_teardown(connectors, check_mismatches),
        cmocka_unit_test_teardown(per_synapse_lists, check_mismatches),
        cmocka_unit_test_teardown(projection_errors, check_mismatches),
        cmocka_unit_test_teardown(weight_units_follow_post_model, check_mismatches),
        cmocka_unit_test_teardown(anchors_and_merges, check_mismatches),
        cmocka_unit_test_teardown(duplicates, check_mismatches),
        cmocka_unit_test_teardown(malformed_yaml, check_mismatches),
        cmocka_unit_test_teardown(columns_after_multibyte_characters, check_mismatches),
        cmocka_unit_test_teardown(alias_bomb, check_mismatches),
        cmocka_unit_test_teardown(deep_nesting, check_mismatches),
        cmocka_unit_test_teardown(many_errors_in_one_run, check_mismatches),
        cmocka_unit_test_teardown(verifier_runs, check_mismatches),
        cmocka_unit_test_teardown(null_sink, check_mismatches),
        cmocka_unit_test_teardown(load_files, check_mismatches),
        cmocka_unit_test_teardown(allocation_failure_sweep, check_mismatches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_ir_text.c: the IR text form (ir/text.c).
 *
 * Round trips on hand-built networks that cover every model, every value
 * kind, every connector, recording, spike sources, reset modes, odd names
 * and awkward doubles: parse(print(x)) must equal x field by field and
 * print(parse(print(x))) must be the same bytes.  A small fixed network
 * is compared with its expected text.  Parser errors are checked with
 * their file:line:col; every prefix and many one-byte mutations of a text
 * must parse or fail cleanly; and an allocation-failure sweep runs the
 * parser out of memory at every allocation.
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

/* ---- helpers ----------------------------------------------------------- */

static double *darr(struct snn_net *net, size_t n, const double *v)
{
    double *a = snn_arena_array(net->arena, n ? n : 1, sizeof *a);
    assert_non_null(a);
    if (n)
        memcpy(a, v, n * sizeof *a);
    return a;
}

static uint32_t *uarr(struct snn_net *net, size_t n, const uint32_t *v)
{
    uint32_t *a = snn_arena_array(net->arena, n ? n : 1, sizeof *a);
    assert_non_null(a);
    if (n)
        memcpy(a, v, n * sizeof *a);
    return a;
}

static char *print_net(const struct snn_net *net)
{
    char *buf;
    size_t size;
    FILE *f = open_memstream(&buf, &size);
    assert_non_null(f);
    int rc = snn_ir_print(net, f);
    fclose(f);
    assert_int_equal(rc, 0);
    return buf;
}

/* Parses text; returns the code, the network in *out and the reports in
 * *msgs (both may be NULL). */
static int parse(const char *text, size_t len, struct snn_net **out, char **msgs)
{
    char *buf = NULL;
    size_t size;
    FILE *f = msgs ? open_memstream(&buf, &size) : NULL;
    struct snn_diag *d = f ? snn_diag_new(f) : NULL;
    struct snn_net *net = NULL;
    int rc = snn_ir_parse("t.ir", text, len, d, &net);
    if (rc)
        assert_null(net);
    else
        assert_non_null(net);
    snn_diag_free(d);
    if (f)
        fclose(f);
    if (msgs)
        *msgs = buf;
    if (out)
        *out = net;
    else
        snn_net_free(net);
    return rc;
}

/* ---- field-by-field equality ------------------------------------------ */

static bool same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static bool same_doubles(const double *a, const double *b, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (!same_double(a[i], b[i]))
            return false;
    return true;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_value(const struct snn_value *a, const struct snn_value *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case SNN_VAL_CONST: return same_double(a->c, b->c);
    case SNN_VAL_LIST: return a->n == b->n && same_doubles(a->list, b->list, a->n);
    case SNN_VAL_UNIFORM: return same_double(a->a, b->a) && same_double(a->b, b->b);
    case SNN_VAL_NORMAL:
        if (!same_double(a->a, b->a) || !same_double(a->b, b->b) || a->bounded != b->bounded)
            return false;
        return !a->bounded || (same_double(a->lo, b->lo) && same_double(a->hi, b->hi) &&
                               a->bound_mode == b->bound_mode);
    }
    return false;
}

/* NULL when equal, else the name of the first field that differs. */
static const char *net_diff(const struct snn_net *x, const struct snn_net *y)
{
    if (!same_str(x->name, y->name))
        return "net name";
    if (!same_double(x->dt_ms, y->dt_ms) || !same_double(x->duration_ms, y->duration_ms))
        return "dt/duration";
    if (x->seed != y->seed)
        return "seed";
    if (x->n_pops != y->n_pops || x->n_projs != y->n_projs)
        return "counts";
    for (uint32_t i = 0; i < x->n_pops; i++) {
        const struct snn_pop *a = &x->pops[i], *b = &y->pops[i];
        if (!same_str(a->name, b->name) || a->size != b->size || a->model != b->model)
            return "pop header";
        const struct snn_model_desc *md = &snn_models[a->model];
        for (unsigned k = 0; k < md->n_params; k++)
            if (!same_value(&a->params[k], &b->params[k]))
                return "pop param";
        for (unsigned k = 0; k < md->n_state; k++)
            if (!same_value(&a->init[k], &b->init[k]))
                return "pop init";
        if (a->reset != b->reset || a->record != b->record)
            return "pop reset/record";
        if (!a->record_v != !b->record_v || a->n_record_v != b->n_record_v ||
            (a->n_record_v &&
             memcmp(a->record_v, b->record_v, a->n_record_v * sizeof *a->record_v)))
            return "pop record_v";
        if (!a->times_off != !b->times_off)
            return "pop times_off presence";
        if (a->times_off) {
            if (memcmp(a->times_off, b->times_off, ((size_t)a->size + 1) * sizeof(uint32_t)))
                return "pop times_off";
            if (!same_doubles(a->times, b->times, a->times_off[a->size]))
                return "pop times";
        }
    }
    for (uint32_t i = 0; i < x->n_projs; i++) {
        const struct snn_proj *a = &x->projs[i], *b = &y->projs[i];
        const struct snn_connector *ca = &a->conn, *cb = &b->conn;
        if (!same_str(a->name, b->name) || a->pre != b->pre || a->post != b->post)
            return "proj header";
        if (ca->kind != cb->kind || ca->allow_self != cb->allow_self)
            return "proj connector";
        switch (ca->kind) {
        case SNN_CONN_FIXED_PROBABILITY:
            if (!same_double(ca->p, cb->p))
                return "proj p";
            break;
        case SNN_CONN_FIXED_NUMBER_PRE:
        case SNN_CONN_FIXED_NUMBER_POST:
            if (ca->n != cb->n)
                return "proj n";
            break;
        case SNN_CONN_FROM_LIST:
            if (ca->n != cb->n || !ca->list_w != !cb->list_w || !ca->list_d != !cb->list_d)
                return "proj from_list shape";
            if ((ca->n && (memcmp(ca->list_pre, cb->list_pre, ca->n * sizeof(uint32_t)) ||
                           memcmp(ca->list_post, cb->list_post, ca->n * sizeof(uint32_t)))) ||
                (ca->list_w && !same_doubles(ca->list_w, cb->list_w, ca->n)) ||
                (ca->list_d && !same_doubles(ca->list_d, cb->list_d, ca->n)))
                return "proj from_list entries";
            break;
        case SNN_CONN_MATRIX:
            if (!ca->matrix != !cb->matrix)
                return "proj matrix presence";
            if (ca->matrix && !same_doubles(ca->matrix, cb->matrix,
                                            (uint64_t)x->pops[a->pre].size * x->pops[a->post].size))
                return "proj matrix";
            break;
        default: break;
        }
        if (!same_value(&a->weight, &b->weight))
            return "proj weight";
        if (!same_value(&a->delay, &b->delay))
            return "proj delay";
        if (a->receptor != b->receptor)
            return "proj receptor";
    }
    return NULL;
}

/* print -> parse -> compare -> print again -> same bytes. */
static void check_round_trip(const struct snn_net *net)
{
    char *t1 = print_net(net);
    struct snn_net *back;
    char *msgs;
    int rc = parse(t1, strlen(t1), &back, &msgs);
    if (rc)
        fprintf(stderr, "%s\n---\n%s", msgs, t1);
    assert_int_equal(rc, 0);
    assert_string_equal(msgs, "");
    const char *diff = net_diff(net, back);
    if (diff)
        fprintf(stderr, "round trip differs in %s\n%s", diff, t1);
    assert_null(diff);
    char *t2 = print_net(back);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    free(msgs);
    snn_net_free(back);
}

/* ---- networks ---------------------------------------------------------- */

/* Doubles that a sloppy printer would not round trip. */
static const double awkward[] = {
    0.1,
    1.0 / 3,
    -0.0,
    5e-324,
    2.2250738585072014e-308,
    1e300,
    -1.7976931348623157e308,
    123456789012345678.0,
    1e21,
    1e-7,
    0.30000000000000004,
    100,
    -65,
    2.5e-5,
    9007199254740993.0,
};
#define N_AWK (sizeof awkward / sizeof awkward[0])

static struct snn_value vlist(struct snn_net *net, uint32_t n, double base)
{
    double tmp[64];
    assert_true(n <= 64);
    for (uint32_t i = 0; i < n; i++)
        tmp[i] = i % 2 ? awkward[i % N_AWK] : base + awkward[i % N_AWK] * (i % 3 ? 1 : -1);
    return (struct snn_value){.kind = SNN_VAL_LIST, .n = n, .list = darr(net, n, tmp)};
}

/* The value of kind number k (cycled), for a population of n neurons. */
static struct snn_value some_value(struct snn_net *net, unsigned k, uint32_t n)
{
    switch (k % 6) {
    case 0: return (struct snn_value){.kind = SNN_VAL_CONST, .c = awkward[k % N_AWK]};
    case 1: return vlist(net, n, (double)k);
    case 2: return (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = -0.1 * k, .b = 1.0 / 7};
    case 3: return (struct snn_value){.kind = SNN_VAL_NORMAL, .a = k / 3.0, .b = 0.7};
    case 4:
        return (struct snn_value){.kind = SNN_VAL_NORMAL,
                                  .a = -(double)k,
                                  .b = 2,
                                  .bounded = true,
                                  .lo = -(double)k - 3.5,
                                  .hi = -(double)k + 1e-9,
                                  .bound_mode = SNN_BOUND_CLIP};
    default:
        return (struct snn_value){.kind = SNN_VAL_NORMAL,
                                  .a = k,
                                  .b = 0.25,
                                  .bounded = true,
                                  .lo = 0,
                                  .hi = 2 * k,
                                  .bound_mode = SNN_BOUND_REDRAW};
    }
}

/* Every model (each twice, with different value kinds), sources with and
 * without spikes, record modes, reset modes and odd names. */
static struct snn_net *full_net(void)
{
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    net->name = "odd \"net\" \\ name\n\ttab \xc3\xbcnic\xc3\xb6"
                "de -> # [x] \x7f";
    net->dt_ms = 0.025;
    net->duration_ms = 1234.5;
    net->seed = UINT64_MAX;
    static const char *const names[] = {
        "exc",    "inh pop",           "q\"uote",   "back\\slash", "#hash", "[br]",
        "->",     "\xe2\x86\x92 utf8", "new\nline", "tab\tx",      "",      " lead",
        "trail ", "dup-ish",           "x",
    };
    unsigned k = 0, ni = 0;
    for (int m = 0; m < SNN_MODEL_COUNT; m++) {
        for (int rep = 0; rep < 2; rep++) {
            uint32_t size = rep ? 40 : 3;
            char name[64];
            snprintf(name, sizeof name, "%s/%d", names[ni++ % (sizeof names / sizeof names[0])],
                     m * 2 + rep);
            struct snn_pop *p = snn_net_add_pop(net, name, (enum snn_model)m, size);
            assert_non_null(p);
            const struct snn_model_desc *md = &snn_models[m];
            for (unsigned i = 0; i < md->n_params; i++)
                p->params[i] = some_value(net, k++, size);
            for (unsigned i = 0; i < md->n_state; i++)
                p->init[i] = some_value(net, k++, size);
            p->record = (unsigned)(m + rep) % 4;
            if (m == SNN_MODEL_IF && rep)
                p->reset = SNN_RESET_SUBTRACT;
            if (rep && !md->is_source) {
                uint32_t rv[20];
                for (uint32_t i = 0; i < 20; i++)
                    rv[i] = 39 - 2 * i;
                p->record_v = uarr(net, 20, rv);
                p->n_record_v = 20;
            } else if (m == SNN_MODEL_LIF_COND_EXP) {
                p->record_v = uarr(net, 0, NULL); /* an empty, non-NULL selection */
            }
        }
    }
    /* Spike sources: 40 neurons, spikes on some; 3 neurons, no spikes but
     * offsets present; and (the first one) no offsets at all. */
    struct snn_pop *s = &net->pops[2 * SNN_MODEL_SPIKE_SOURCE_ARRAY + 1];
    assert_int_equal(s->model, SNN_MODEL_SPIKE_SOURCE_ARRAY);
    uint32_t off[41];
    double times[64];
    uint32_t nt = 0;
    for (uint32_t i = 0; i < 40; i++) {
        off[i] = nt;
        uint32_t cnt = i == 0 ? 2 : i == 5 ? 20 : i == 38 ? 1 : 0;
        for (uint32_t j = 0; j < cnt; j++)
            times[nt++] = 0.1 * (j + 1) + i;
    }
    off[40] = nt;
    s->times_off = uarr(net, 41, off);
    s->times = darr(net, nt, times);
    struct snn_pop *s0 = &net->pops[2 * SNN_MODEL_SPIKE_SOURCE_ARRAY];
    assert_int_equal(s0->model, SNN_MODEL_SPIKE_SOURCE_ARRAY);
    s0->times_off = uarr(net, 4, (const uint32_t[]){0, 0, 0, 0});
    net->pops[net->n_pops - 1].name = ""; /* invalid, but the text carries it */
    return net;
}

/* Projections of every connector kind between the populations of
 * full_net(). */
static void add_projs(struct snn_net *net)
{
    uint32_t a = 0, b = 1, big = 3, cond = 2; /* lif_curr_exp 3, 40; lif_cond_exp 3 */
    struct snn_proj *pj;
    pj = snn_net_add_proj(net, a, b);
    pj->weight = (struct snn_value){.kind = SNN_VAL_LIST, .n = 120};
    double w[120];
    for (int i = 0; i < 120; i++)
        w[i] = awkward[i % N_AWK] * (i & 1 ? -1 : 1);
    pj->weight.list = darr(net, 120, w);
    pj->delay = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = 0.1, .b = 2};
    pj = snn_net_add_proj(net, b, b);
    pj->name = "self \"loop\"";
    pj->conn.kind = SNN_CONN_FIXED_NUMBER_PRE;
    pj->conn.n = 39;
    pj->conn.allow_self = false;
    pj->receptor = SNN_RECEPTOR_INH;
    pj->weight = (struct snn_value){.kind = SNN_VAL_NORMAL, .a = -0.5, .b = 0.1};
    pj = snn_net_add_proj(net, b, big);
    pj->name = "";
    pj->conn.kind = SNN_CONN_FIXED_NUMBER_POST;
    pj->conn.n = 7;
    pj = snn_net_add_proj(net, a, cond);
    pj->conn.kind = SNN_CONN_ONE_TO_ONE;
    pj->weight = (struct snn_value){.kind = SNN_VAL_LIST, .n = 3};
    pj->weight.list = darr(net, 3, (const double[]){0.01, 0.02, 1e-9});
    pj->delay = (struct snn_value){.kind = SNN_VAL_LIST, .n = 3};
    pj->delay.list = darr(net, 3, (const double[]){0.025, 0.05, 6.375});
    pj = snn_net_add_proj(net, b, cond);
    pj->conn.kind = SNN_CONN_FIXED_PROBABILITY;
    pj->conn.p = 0.1;
    pj->weight = (struct snn_value){.kind = SNN_VAL_NORMAL,
                                    .a = 0.5,
                                    .b = 0.1,
                                    .bounded = true,
                                    .lo = 0,
                                    .hi = 1,
                                    .bound_mode = SNN_BOUND_REDRAW};
    /* from_list: with weights and delays, weights only, neither, empty. */
    for (int variant = 0; variant < 4; variant++) {
        pj = snn_net_add_proj(net, big, a);
        pj->conn.kind = SNN_CONN_FROM_LIST;
        uint32_t n = variant == 3 ? 0 : 5;
        pj->conn.n = n;
        pj->conn.list_pre = uarr(net, n, (const uint32_t[]){0, 39, 7, 7, 0});
        pj->conn.list_post = uarr(net, n, (const uint32_t[]){2, 0, 1, 1, 2});
        if (variant <= 1)
            pj->conn.list_w = darr(net, n, (const double[]){1, -2.5, 0.1, 1.0 / 3, -0.0});
        if (variant == 0)
            pj->conn.list_d = darr(net, n, (const double[]){0.025, 1, 2.5, 0.1, 6.375});
        pj->delay.c = 0.075;
    }
    pj = snn_net_add_proj(net, a, big);
    pj->name = "matrix";
    pj->conn.kind = SNN_CONN_MATRIX;
    double m[120];
    for (int i = 0; i < 120; i++)
        m[i] = i % 7 ? 0 : awkward[i % N_AWK];
    pj->conn.matrix = darr(net, 120, m);
    pj = snn_net_add_proj(net, a, big);
    pj->conn.kind = SNN_CONN_MATRIX; /* no matrix: invalid, but printable */
    pj->conn.allow_self = false;
}

static void test_round_trip_full(void **state)
{
    (void)state;
    struct snn_net *net = full_net();
    add_projs(net);
    check_round_trip(net);
    snn_net_free(net);
}

static void test_round_trip_empty(void **state)
{
    (void)state;
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    check_round_trip(net);
    char *t = print_net(net);
    assert_string_equal(t, "snn-ir 1\nnet \"\"\ndt 0.1 ms\nduration 0 ms\nseed 0\n\nend\n");
    free(t);
    snn_net_free(net);
}

/* Special doubles everywhere a double goes: nan and infinities too (the
 * verifier rejects them, but the text must still carry them). */
static void test_round_trip_special_doubles(void **state)
{
    (void)state;
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    net->dt_ms = INFINITY;
    net->duration_ms = NAN;
    struct snn_pop *p = snn_net_add_pop(net, "p", SNN_MODEL_LIF_CURR_EXP, 4);
    assert_non_null(p);
    p->params[0].c = -INFINITY;
    p->params[1] = (struct snn_value){.kind = SNN_VAL_LIST, .n = 4};
    p->params[1].list =
        darr(net, 4, (const double[]){NAN, INFINITY, -0.0, 4.9406564584124654e-324});
    p->params[2] = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = -INFINITY, .b = NAN};
    check_round_trip(net);
    snn_net_free(net);
}

/* Every shortest form reads back: powers of ten and their neighbours. */
static void test_round_trip_number_sweep(void **state)
{
    (void)state;
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    struct snn_pop *p = snn_net_add_pop(net, "p", SNN_MODEL_IF, 1);
    assert_non_null(p);
    enum { N = 2000 };
    double v[N];
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (i % 2) {
            double d;
            uint64_t bits = x & 0x7fefffffffffffffu; /* finite */
            memcpy(&d, &bits, sizeof d);
            v[i] = d;
        } else {
            v[i] = nextafter(pow(10, (i % 600) - 300), i % 4 ? INFINITY : 0);
        }
    }
    p->params[0] = (struct snn_value){.kind = SNN_VAL_LIST, .n = N, .list = v};
    check_round_trip(net);
    snn_net_free(net);
}

/* ---- the fixed text ---------------------------------------------------- */

static struct snn_net *tiny_net(void)
{
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    net->name = "tiny";
    net->duration_ms = 50;
    net->seed = 42;
    struct snn_pop *in = snn_net_add_pop(net, "in", SNN_MODEL_SPIKE_SOURCE_ARRAY, 3);
    assert_non_null(in);
    in->record = SNN_REC_SPIKES;
    in->times_off = uarr(net, 4, (const uint32_t[]){0, 2, 2, 3});
    in->times = darr(net, 3, (const double[]){1, 2.5, 10});
    struct snn_pop *out = snn_net_add_pop(net, "out", SNN_MODEL_LIF_CURR_EXP, 2);
    assert_non_null(out);
    out->record = SNN_REC_SPIKES | SNN_REC_V;
    out->record_v = uarr(net, 1, (const uint32_t[]){1});
    out->n_record_v = 1;
    out->params[0] = (struct snn_value){.kind = SNN_VAL_LIST, .n = 2};
    out->params[0].list = darr(net, 2, (const double[]){20, 10.5});
    out->init[0] = (struct snn_value){.kind = SNN_VAL_NORMAL,
                                      .a = -65,
                                      .b = 2,
                                      .bounded = true,
                                      .lo = -70,
                                      .hi = -60,
                                      .bound_mode = SNN_BOUND_CLIP};
    struct snn_proj *pj = snn_net_add_proj(net, 0, 1);
    assert_non_null(pj);
    pj->name = "drive";
    pj->weight.c = 0.25;
    pj->delay.c = 1;
    return net;
}

static const char tiny_text[] = "snn-ir 1\n"
                                "net \"tiny\"\n"
                                "dt 0.1 ms\n"
                                "duration 50 ms\n"
                                "seed 42\n"
                                "\n"
                                "pop \"in\" spike_source_array 3\n"
                                "  reset value\n"
                                "  record spikes\n"
                                "  spike_times 3\n"
                                "  spikes 0 [1 2.5] ms\n"
                                "  spikes 2 [10] ms\n"
                                "\n"
                                "pop \"out\" lif_curr_exp 2\n"
                                "  reset value\n"
                                "  record spikes v\n"
                                "  record_v [1]\n"
                                "  param tau_m [20 10.5] ms\n"
                                "  param cm 1 nF\n"
                                "  param v_rest -65 mV\n"
                                "  param v_reset -65 mV\n"
                                "  param v_thresh -50 mV\n"
                                "  param tau_refrac 0.1 ms\n"
                                "  param tau_syn_E 5 ms\n"
                                "  param tau_syn_I 5 ms\n"
                                "  param i_offset 0 nA\n"
                                "  init v normal -65 2 clip -70 -60 mV\n"
                                "\n"
                                "proj \"in\" -> \"out\"\n"
                                "  label \"drive\"\n"
                                "  connector all_to_all allow_self\n"
                                "  weight 0.25 nA\n"
                                "  delay 1 ms\n"
                                "  receptor excitatory\n"
                                "\n"
                                "end\n";

static void test_fixed_text(void **state)
{
    (void)state;
    struct snn_net *net = tiny_net();
    char *t = print_net(net);
    assert_string_equal(t, tiny_text);
    free(t);
    check_round_trip(net);
    /* The parsed network is valid and carries locations into the text. */
    struct snn_net *back;
    assert_int_equal(parse(tiny_text, strlen(tiny_text), &back, NULL), 0);
    assert_int_equal(snn_ir_verify(back, NULL), 0);
    assert_string_equal(back->pops[1].params[0].loc.file, "t.ir");
    assert_int_equal(back->pops[1].params[0].loc.line, 18);
    assert_int_equal(back->pops[1].params[0].loc.col, 15);
    assert_int_equal(back->pops[1].loc.line, 14);
    assert_int_equal(back->projs[0].loc.line, 29);
    snn_net_free(back);
    snn_net_free(net);
}

/* Long lists wrap, LIST_PER_LINE numbers a line. */
static void test_list_wrapping(void **state)
{
    (void)state;
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    struct snn_pop *p = snn_net_add_pop(net, "p", SNN_MODEL_IF, 20);
    assert_non_null(p);
    double v[20];
    for (int i = 0; i < 20; i++)
        v[i] = i;
    p->params[2] = (struct snn_value){.kind = SNN_VAL_LIST, .n = 20, .list = v};
    char *t = print_net(net);
    assert_non_null(strstr(t, "  param bias [0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"
                              "      16 17 18 19] mV\n"));
    free(t);
    snn_net_free(net);
}

/* Hand-written text: comments, no units, CRLF, extra blank lines, any
 * statement order inside a block, missing parameters left at defaults. */
static void test_parse_lenient(void **state)
{
    (void)state;
    const char *text = "# a comment first\r\n"
                       "snn-ir 1   # version\r\n"
                       "seed 42\r\n"
                       "duration 50\r\n"
                       "net \"tiny\"\r\n"
                       "\r\n\r\n"
                       "pop \"in\" spike_source_array 3\r\n"
                       "  spike_times 3\n"
                       "  spikes 0 [1\n   2.5]\n"
                       "  record spikes\n"
                       "  spikes 2 [ 10 ]\n"
                       "pop \"out\" lif_curr_exp 2\n"
                       "\tinit v normal -65 2 clip -70 -60\n"
                       "  param tau_m [20 # twenty\n 10.5] ms\n"
                       "  record v spikes\n"
                       "  record_v [1]\n"
                       "proj \"in\" -> \"out\"\n"
                       "  delay 1\n"
                       "  receptor excitatory\n"
                       "  weight 0.25\n"
                       "  label \"drive\"\n"
                       "  connector all_to_all\n"
                       "end";
    struct snn_net *net, *want = tiny_net();
    char *msgs;
    int rc = parse(text, strlen(text), &net, &msgs);
    if (rc)
        fprintf(stderr, "%s", msgs);
    assert_int_equal(rc, 0);
    assert_null(net_diff(net, want));
    char *t = print_net(net);
    assert_string_equal(t, tiny_text);
    free(t);
    free(msgs);
    snn_net_free(net);
    snn_net_free(want);
}

/* ---- parser errors ----------------------------------------------------- */

struct err_case {
    const char *text;
    const char *expect; /* the first line of the report */
};

#define HDR "snn-ir 1\n"
#define POP "pop \"a\" if 2\n"
#define LIF "pop \"l\" lif_curr_exp 2\n"

static const struct err_case err_cases[] = {
    {"", "t.ir:1:1: error: expected the version line 'snn-ir 1', got end of input"},
    {"snn-ir\n", "t.ir:1:7: error: expected a whole number for the version, got end of line"},
    {"snn-ir 2\nend\n", "t.ir:1:8: error: unsupported IR text version 2 (this snnc reads 1)"},
    {"snn-ir 1 x\nend\n", "t.ir:1:10: error: expected end of line, got 'x'"},
    {HDR, "t.ir:2:1: error: missing 'end' (the text may be truncated)"},
    {HDR POP "  reset value", "t.ir:3:14: error: missing 'end' (the text may be truncated)"},
    {HDR "node \"conv1\" conv \"x\"\nend\n",
     "t.ir:2:19: error: no layer is called \"x\" (a layer's inputs come before it)"},
    {HDR "pops \"a\" if 2\nend\n",
     "t.ir:2:1: error: unknown statement 'pops' (did you mean 'pop'?)"},
    {HDR "[\nend\n", "t.ir:2:1: error: expected a statement, got '['"},
    {HDR "pop \"a\" lif_cur_exp 2\nend\n",
     "t.ir:2:9: error: unknown neuron model 'lif_cur_exp' (did you mean 'lif_curr_exp'?)"},
    {HDR "pop a if 2\nend\n", "t.ir:2:5: error: expected a quoted population name, got 'a'"},
    {HDR "pop \"a\" if -2\nend\n",
     "t.ir:2:12: error: expected a whole number for population size, got '-2'"},
    {HDR "pop \"a\" if 4294967296\nend\n",
     "t.ir:2:12: error: population size '4294967296' is too large (at most 4294967295)"},
    {HDR POP POP "end\n", "t.ir:3:5: error: population name \"a\" is used twice"},
    {HDR LIF "  param tau_n 20 ms\nend\n",
     "t.ir:3:9: error: model lif_curr_exp has no parameter 'tau_n' (did you mean 'tau_m'?)"},
    {HDR LIF "  init u 20 ms\nend\n",
     "t.ir:3:8: error: model lif_curr_exp has no state variable 'u' (did you mean 'v'?)"},
    {HDR LIF "  param tau_m 20 mV\nend\n",
     "t.ir:3:18: error: tau_m is written in ms (the text form uses internal units), got 'mV'"},
    {HDR LIF "  param tau_m 2x0 ms\nend\n",
     "t.ir:3:15: error: expected a number for tau_m, got '2x0'"},
    {HDR LIF "  param tau_m 1e999 ms\nend\n", "t.ir:3:15: error: number 1e999 is out of range"},
    {HDR LIF "  param tau_m infinity\nend\n",
     "t.ir:3:15: error: expected a number for tau_m, got 'infinity'"},
    {HDR LIF "  param tau_m 20\n  param tau_m 20\nend\n",
     "t.ir:4:9: error: param tau_m is given twice"},
    {HDR LIF "  param tau_m [1 2\nend\n",
     "t.ir:3:15: error: unterminated list of tau_m (missing ']')"},
    {HDR LIF "  param tau_m [1 \"2\"]\nend\n",
     "t.ir:3:18: error: expected a number in the list of tau_m, got a string"},
    {HDR LIF "  param tau_m uniform 1\nend\n",
     "t.ir:3:24: error: expected a number for tau_m, got end of line"},
    {HDR LIF "  param tau_m normal 1 2 cut 0 1\nend\n",
     "t.ir:3:26: error: tau_m is written in ms (the text form uses internal units), got 'cut'"},
    {HDR "  param tau_m 20\nend\n",
     "t.ir:2:3: error: 'param' belongs inside a population block ('pop ...')"},
    {HDR POP "  reset sometimes\nend\n",
     "t.ir:3:9: error: expected 'value' or 'subtract' after reset, got 'sometimes'"},
    {HDR POP "  record spikes spikes\nend\n", "t.ir:3:17: error: 'spikes' is recorded twice"},
    {HDR POP "  record\nend\n",
     "t.ir:3:9: error: expected 'none', 'spikes' or 'v' after record, got end of line"},
    {HDR POP "  record_v [0 -1]\nend\n",
     "t.ir:3:15: error: expected a whole number for record_v, got '-1'"},
    {HDR POP "dt 0.1 ms\nend\n",
     "t.ir:3:1: error: 'dt' belongs to the header, before the first population"},
    {HDR "dt 0.1 s\nend\n",
     "t.ir:2:8: error: dt is written in ms (the text form uses internal units), got 's'"},
    {HDR "seed 18446744073709551616\nend\n",
     "t.ir:2:6: error: seed '18446744073709551616' is too large (at most 18446744073709551615)"},
    {HDR "net \"a\"\nnet \"b\"\nend\n", "t.ir:3:5: error: net is given twice"},
    {HDR "net \"abc\nend\n", "t.ir:2:5: error: unterminated string"},
    {HDR "net \"a\\nb\"\nend\n",
     "t.ir:2:7: error: unknown escape in a string (use \\\", \\\\ or \\xHH)"},
    {HDR "net \"a\\x00b\"\nend\n", "t.ir:2:7: error: a string may not contain a NUL byte"},
    {HDR "net \"a\tb\"\nend\n",
     "t.ir:2:7: error: control byte 0x09 in a string (write it as \\x09)"},
    {HDR "\x01\nend\n", "t.ir:2:1: error: unexpected byte 0x01"},
    {HDR "end\npop \"a\" if 1\n", "t.ir:3:1: error: unexpected 'pop' after 'end'"},
    {HDR "end x\n", "t.ir:2:5: error: expected end of line, got 'x'"},
    {HDR "pop \"s\" spike_source_array 2\n  spikes 0 [1] ms\nend\n",
     "t.ir:3:3: error: 'spikes' needs a 'spike_times' line before it"},
    {HDR "pop \"s\" spike_source_array 2\n  spike_times 2\n  spikes 2 [1] ms\nend\n",
     "t.ir:4:10: error: neuron 2 is out of range (the population has 2)"},
    {HDR "pop \"s\" spike_source_array 2\n  spike_times 2\n  spikes 1 [1]\n  spikes 0 [2]\nend\n",
     "t.ir:5:10: error: spikes lines must name neurons in ascending order (0 after 1)"},
    {HDR "pop \"s\" spike_source_array 2\n  spike_times 2\n  spikes 1 [1 2 3]\nend\n",
     "t.ir:4:12: error: list of spike times has 3 entries, more than the 2 allowed"},
    {HDR "pop \"s\" spike_source_array 2\n  spike_times 3\n  spikes 1 [1 2]\nend\n",
     "t.ir:3:15: error: spike_times declares 3 times, the spikes lines give 2"},
    {HDR "pop \"s\" spike_source_array 2\n  spike_times 4000\nend\n",
     "t.ir:3:15: error: spike_times declares 4000 times, more than the text holds"},
    {HDR "pop \"s\" spike_source_array 20000000\n  spike_times 0\nend\n",
     "t.ir:3:15: error: spike times are supported for populations of at most 16777216 neurons, "
     "this one has 20000000"},
    {HDR POP "proj \"a\" -> \"b\"\nend\n",
     "t.ir:3:13: error: no population is called \"b\" (populations come before projections)"},
    {HDR POP "proj \"a\" \"a\"\nend\n",
     "t.ir:3:10: error: expected '->' between the populations, got a string"},
    {HDR POP "proj \"a\" -> \"a\"\n  connector all_to_one\nend\n",
     "t.ir:4:13: error: unknown connector 'all_to_one' (did you mean 'all_to_all'?)"},
    {HDR POP "proj \"a\" -> \"a\"\n  connector all_to_all maybe_self\nend\n",
     "t.ir:4:24: error: expected end of line, got 'maybe_self'"},
    {HDR POP "proj \"a\" -> \"a\"\n  connector one_to_one\n  connector one_to_one\nend\n",
     "t.ir:5:13: error: connector is given twice"},
    {HDR POP "proj \"a\" -> \"a\"\n  weight 1 nA\nend\n",
     "t.ir:4:12: error: weight is written in mV (the text form uses internal units), got 'nA'"},
    {HDR POP "proj \"a\" -> \"a\"\n  receptor both\nend\n",
     "t.ir:4:12: error: expected 'excitatory' or 'inhibitory', got 'both'"},
    {HDR POP "proj \"a\" -> \"a\"\n  syn 0 1\nend\n",
     "t.ir:4:3: error: 'syn' lines belong to a 'connector from_list' projection"},
    {HDR POP "proj \"a\" -> \"a\"\n  connector from_list 2\n  syn 0 1\nend\n",
     "t.ir:4:13: error: from_list declares 2 entries, the syn lines give 1"},
    {HDR POP "proj \"a\" -> \"a\"\n  connector from_list 1 weights\n  syn 0 1\nend\n",
     "t.ir:5:10: error: expected a number for weight, got end of line"},
    {HDR POP "proj \"a\" -> \"a\"\n  connector from_list 1\n  syn 0 1\n  syn 1 1\nend\n",
     "t.ir:6:3: error: more syn lines than the 1 entries from_list declares"},
    {HDR POP "proj \"a\" -> \"a\"\n  connector from_list 1000\nend\n",
     "t.ir:4:23: error: from_list declares 1000 entries, more than the text holds"},
    {HDR POP "proj \"a\" -> \"a\"\n  connector matrix\n  row [1 2 3]\nend\n",
     "t.ir:5:7: error: list of matrix weights has 3 entries, more than the 2 allowed"},
    {HDR POP "proj \"a\" -> \"a\"\n  connector matrix\n  row [1]\nend\n",
     "t.ir:5:7: error: a matrix row needs 2 weights (one per post neuron), got 1"},
    {HDR POP "proj \"a\" -> \"a\"\n  connector matrix\n  row [1 2]\nend\n",
     "t.ir:4:13: error: the matrix needs 2 rows (one per pre neuron), got 1"},
    {HDR POP "proj \"a\" -> \"a\"\n  connector matrix none\n  row [1 2]\nend\n",
     "t.ir:5:3: error: 'row' lines belong to a 'connector matrix' projection"},
    {HDR "pop \"a\" if 100000\nproj \"a\" -> \"a\"\n  connector matrix\nend\n",
     "t.ir:4:13: error: a 100000 x 100000 matrix does not fit in the rest of the text"},
    {HDR POP "  label \"x\"\nend\n",
     "t.ir:3:3: error: 'label' belongs inside a projection block ('proj ...')"},
};

#define N_ERR (sizeof err_cases / sizeof err_cases[0])

static void test_parse_errors(void **state)
{
    (void)state;
    unsigned bad = 0;
    for (size_t i = 0; i < N_ERR; i++) {
        const struct err_case *c = &err_cases[i];
        char *msgs;
        int rc = parse(c->text, strlen(c->text), NULL, &msgs);
        size_t n = strlen(c->expect);
        if (rc != SNN_EPARSE || strncmp(msgs, c->expect, n) != 0 || msgs[n] != '\n' ||
            strstr(msgs + n, "error:")) {
            fprintf(stderr, "case %zu (rc %d):\n  want: %s\n  got:  %s", i, rc, c->expect, msgs);
            bad++;
        }
        free(msgs);
    }
    assert_int_equal(bad, 0);
}

/* A NUL byte inside the text is an error, not the end of the text. */
static void test_parse_embedded_nul(void **state)
{
    (void)state;
    static const char text[] = "snn-ir 1\nend\n\0garbage";
    char *msgs;
    assert_int_equal(parse(text, sizeof text - 1, NULL, &msgs), SNN_EPARSE);
    assert_non_null(strstr(msgs, "t.ir:3:1: error: unexpected byte 0x00"));
    free(msgs);
    assert_int_equal(parse(text, 13, NULL, NULL), 0);
}

/* Verifier reports on a parsed text point into the text. */
static void test_verify_locations(void **state)
{
    (void)state;
    const char *text = HDR LIF "  param tau_m -20 ms\nproj \"l\" -> \"l\"\n  delay 0.15 ms\nend\n";
    struct snn_net *net;
    assert_int_equal(parse(text, strlen(text), &net, NULL), 0);
    char *buf;
    size_t size;
    FILE *f = open_memstream(&buf, &size);
    struct snn_diag *d = snn_diag_new(f);
    assert_int_equal(snn_ir_verify(net, d), SNN_ESEMA);
    snn_diag_free(d);
    fclose(f);
    assert_non_null(
        strstr(buf, "t.ir:3:15: error: population 'l': tau_m must be > 0 ms, got -20 ms\n"));
    assert_non_null(strstr(buf, "t.ir:5:9: error: projection 0 ('l' -> 'l'): delay 0.15 ms is not "
                                "a whole number of timesteps (dt = 0.1 ms)\n"));
    free(buf);
    snn_net_free(net);
}

/* ---- robustness -------------------------------------------------------- */

/* Every strict prefix of a text (short of the final newline) lacks `end`
 * or is cut inside a statement: each must fail cleanly. */
static void test_truncation(void **state)
{
    (void)state;
    struct snn_net *net = full_net();
    add_projs(net);
    char *t = print_net(net);
    size_t len = strlen(t);
    for (size_t cut = 0; cut + 1 < len; cut += cut < 2000 ? 1 : 7) {
        int rc = parse(t, cut, NULL, NULL);
        if (rc != SNN_EPARSE)
            fprintf(stderr, "prefix of %zu bytes gave %d\n", cut, rc);
        assert_int_equal(rc, SNN_EPARSE);
    }
    assert_int_equal(parse(t, len - 1, NULL, NULL), 0);
    free(t);
    snn_net_free(net);
}

/* One-byte changes anywhere: the parser fails cleanly or reads a network
 * whose printed text is again a fixed point. */
static void test_mutations(void **state)
{
    (void)state;
    static const char repl[] = {'\0', '\n', '"', '[', ']', '#', '-', '9', 'x', ' ', '\\', '.'};
    size_t len = strlen(tiny_text);
    char *buf = malloc(len);
    assert_non_null(buf);
    unsigned ok = 0;
    for (size_t i = 0; i < len; i++)
        for (size_t r = 0; r < sizeof repl; r++) {
            memcpy(buf, tiny_text, len);
            buf[i] = repl[r];
            struct snn_net *net;
            int rc = parse(buf, len, &net, NULL);
            assert_true(rc == 0 || rc == SNN_EPARSE);
            if (rc)
                continue;
            ok++;
            char *t1 = print_net(net);
            struct snn_net *again;
            assert_int_equal(parse(t1, strlen(t1), &again, NULL), 0);
            assert_null(net_diff(net, again));
            char *t2 = print_net(again);
            assert_string_equal(t1, t2);
            free(t1);
            free(t2);
            snn_net_free(again);
            snn_net_free(net);
        }
    assert_true(ok > 0); /* e.g. a digit changed inside a number */
    free(buf);
}

/* Every allocation of the parser fails in turn: SNN_ENOMEM each time,
 * nothing returned, nothing leaked (checked under the sanitizers), and
 * the network once enough memory is left. */
static void test_parse_out_of_memory(void **state)
{
    (void)state;
    struct snn_net *net = full_net();
    add_projs(net);
    /* Big lists take arena blocks of their own, many populations grow the
     * population array: many allocations to fail. */
    enum { BIG = 3000 };
    double *v = snn_arena_array(net->arena, BIG, sizeof *v);
    assert_non_null(v);
    for (int i = 0; i < BIG; i++)
        v[i] = 1.0 + i / 7.0;
    for (int i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof name, "many%d", i);
        struct snn_pop *p = snn_net_add_pop(net, name, SNN_MODEL_LIF_CURR_EXP, i < 6 ? BIG : 1);
        assert_non_null(p);
        if (i < 6)
            p->params[i] = (struct snn_value){.kind = SNN_VAL_LIST, .n = BIG, .list = v};
    }
    char *t = print_net(net);
    size_t len = strlen(t);
    long n;
    for (n = 0; n < 100000; n++) {
        struct snn_net *out = (struct snn_net *)1;
        snn_alloc_fail_after(n);
        int rc = snn_ir_parse("t.ir", t, len, NULL, &out);
        snn_alloc_fail_after(-1);
        if (rc == 0) {
            assert_null(net_diff(net, out));
            snn_net_free(out);
            break;
        }
        assert_int_equal(rc, SNN_ENOMEM);
        assert_null(out);
    }
    assert_true(n > 10 && n < 100000);
    free(t);
    snn_net_free(net);
}

/* Networks the text cannot name are refused, printing nothing. */
static void test_print_refuses_broken(void **state)
{
    (void)state;
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    assert_non_null(snn_net_add_pop(net, "a", SNN_MODEL_IF, 2));
    struct snn_proj *pj = snn_net_add_proj(net, 0, 5);
    assert_non_null(pj);
    char *buf;
    size_t size;
    FILE *f = open_memstream(&buf, &size);
    assert_int_equal(snn_ir_print(net, f), SNN_EINVAL);
    fflush(f);
    assert_int_equal(size, 0);
    pj->post = 0;
    assert_int_equal(snn_ir_print(net, f), 0);
    /* Two populations of one name: a projection could not say which. */
    assert_non_null(snn_net_add_pop(net, "a", SNN_MODEL_IF, 1));
    long before = ftell(f);
    assert_int_equal(snn_ir_print(net, f), SNN_EINVAL);
    fclose(f);
    assert_true(size > 0);
    assert_int_equal((long)size, before);
    free(buf);
    snn_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_full),
        cmocka_unit_test(test_round_trip_empty),
        cmocka_unit_test(test_round_trip_special_doubles),
        cmocka_unit_test(test_round_trip_number_sweep),
        cmocka_unit_test(test_fixed_text),
        cmocka_unit_test(test_list_wrapping),
        cmocka_unit_test(test_parse_lenient),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_embedded_nul),
        cmocka_unit_test(test_verify_locations),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_parse_out_of_memory),
        cmocka_unit_test(test_print_refuses_broken),
    };
    return cmocka_run_group_tests_name("ir_text", tests, NULL, NULL);
}

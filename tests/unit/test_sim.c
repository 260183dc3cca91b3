/*
 * tests/unit/test_sim.c: the reference simulator on small networks whose
 * behaviour is known: exact delays, input spikes, analytic first-spike
 * times and PSP peaks, Poisson rates, determinism, fixed point against
 * float64, and the errors it must give.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/expand.h"
#include "ir/ir.h"
#include "ir/sim.h"
#include "support/arena.h"
#include "support/err.h"

/* Collects every spike of a run. */
static int collect(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons, uint32_t n)
{
    struct snn_spike_list *l = ctx;
    for (uint32_t i = 0; i < n; i++)
        if (snn_spike_list_push(l, step, pop, neurons[i]))
            return SNN_ENOMEM;
    return 0;
}

static int run(const struct snn_net *net, bool fl, uint64_t steps, const struct snn_spike_list *in,
               struct snn_spike_list *out, uint64_t *pop_spikes)
{
    struct snn_sim_opts o = {.steps = steps, .float64 = fl, .input = in, .ctx = out,
                             .on_spikes = collect, .all_spikes = true};
    struct snn_sim_stats st = {.pop_spikes = pop_spikes};
    return snn_sim_run(net, &o, NULL, &st);
}

static void set(struct snn_pop *p, const char *name, double v)
{
    int i = snn_model_param(p->model, name);
    assert_true(i >= 0);
    p->params[i].kind = SNN_VAL_CONST;
    p->params[i].c = v;
}

/* One spike source neuron firing at the given time, into one neuron. */
static struct snn_net *relay(enum snn_model post_model, double t_ms, double w, double delay_ms)
{
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    net->dt_ms = 0.1;
    net->duration_ms = 10;
    net->seed = 7;
    struct snn_pop *src = snn_net_add_pop(net, "src", SNN_MODEL_SPIKE_SOURCE_ARRAY, 1);
    assert_non_null(src);
    uint32_t *off = snn_arena_alloc(net->arena, 2 * sizeof *off);
    double *times = snn_arena_alloc(net->arena, sizeof *times);
    off[0] = 0;
    off[1] = t_ms < 0 ? 0 : 1;
    times[0] = t_ms;
    src->times_off = off;
    src->times = times;
    struct snn_pop *post = snn_net_add_pop(net, "post", post_model, 1);
    assert_non_null(post);
    post->record = SNN_REC_SPIKES;
    struct snn_proj *pj = snn_net_add_proj(net, 0, 1);
    pj->conn.kind = SNN_CONN_ONE_TO_ONE;
    pj->weight.c = w;
    pj->delay.c = delay_ms;
    assert_int_equal(snn_ir_verify(net, NULL), 0);
    return net;
}

/* A spike at 0.5 ms (step 5) through a 0.3 ms delay arrives in step 8 and,
 * with a 20 mV jump over a 15 mV gap, fires the neuron in step 8. */
static void test_delay_is_exact(void **state)
{
    (void)state;
    for (int fl = 0; fl < 2; fl++) {
        struct snn_net *net = relay(SNN_MODEL_IF_CURR_DELTA, 0.5, 20.0, 0.3);
        struct snn_spike_list out = {0};
        assert_int_equal(run(net, fl, 100, NULL, &out, NULL), 0);
        assert_int_equal(out.n, 2);
        assert_int_equal(out.step[0], 5);
        assert_int_equal(out.pop[0], 0);
        assert_int_equal(out.step[1], 8);
        assert_int_equal(out.pop[1], 1);
        snn_spike_list_free(&out);
        snn_net_free(net);
    }
}

static void test_input_spikes_drive_sources(void **state)
{
    (void)state;
    struct snn_net *net = relay(SNN_MODEL_IF_CURR_DELTA, -1, 20.0, 1.0); /* no own spikes */
    struct snn_spike_list in = {0}, out = {0};
    assert_int_equal(snn_spike_list_push(&in, 40, 0, 0), 0);
    assert_int_equal(snn_spike_list_push(&in, 20, 0, 0), 0);
    assert_int_equal(snn_spike_list_push(&in, 20, 0, 0), 0); /* a repeat counts once */
    snn_spike_list_sort(&in);
    assert_int_equal(in.n, 2);
    assert_int_equal(run(net, false, 100, &in, &out, NULL), 0);
    assert_int_equal(out.n, 4);
    assert_int_equal(out.step[0], 20);
    assert_int_equal(out.step[1], 30); /* delay 1 ms = 10 steps */
    assert_int_equal(out.step[2], 40);
    assert_int_equal(out.step[3], 50);
    /* input naming a neuron that is not a source is refused */
    struct snn_spike_list bad = {0};
    assert_int_equal(snn_spike_list_push(&bad, 1, 1, 0), 0);
    struct snn_spike_list none = {0};
    assert_int_equal(run(net, false, 10, &bad, &none, NULL), SNN_EINVAL);
    snn_spike_list_free(&bad);
    snn_spike_list_free(&none);
    snn_spike_list_free(&in);
    snn_spike_list_free(&out);
    snn_net_free(net);
}

/* A constant current on lif_curr_exp: v after step t is
 * v_rest + I R (1 - p11^(t+1)); the first step reaching v_thresh is known. */
static void test_lif_first_spike_is_analytic(void **state)
{
    (void)state;
    double tau_m = 20, cm = 0.25, io = 1.0, v_rest = -65, v_th = -50, h = 0.1;
    double p11 = exp(-h / tau_m), vinf = io * tau_m / cm; /* 80 mV above rest */
    int want = -1;
    for (int t = 0; t < 100000 && want < 0; t++)
        if (v_rest + vinf * (1 - pow(p11, t + 1)) >= v_th)
            want = t;
    for (int fl = 0; fl < 2; fl++) {
        struct snn_net *net = snn_net_new();
        net->dt_ms = h;
        struct snn_pop *p = snn_net_add_pop(net, "n", SNN_MODEL_LIF_CURR_EXP, 1);
        set(p, "tau_m", tau_m);
        set(p, "cm", cm);
        set(p, "i_offset", io);
        set(p, "v_rest", v_rest);
        set(p, "v_thresh", v_th);
        set(p, "tau_refrac", 2.0);
        p->init[0].c = v_rest;
        struct snn_spike_list out = {0};
        assert_int_equal(run(net, fl, 1000, NULL, &out, NULL), 0);
        assert_true(out.n >= 2);
        assert_int_equal(out.step[0], want);
        /* after a spike: 20 steps refractory, then the same climb from v_reset */
        assert_int_equal(out.step[1], want + 20 + 1 + want);
        snn_spike_list_free(&out);
        snn_net_free(net);
    }
}

/* Voltage callback for the PSP test: keeps the maximum. */
static int peak_v(void *ctx, uint32_t step, uint32_t pop, uint32_t neuron, double v)
{
    double *peak = ctx;
    if (pop == 1 && v > *peak)
        *peak = v;
    return 0;
}

/* The peak of a current-based PSP:
 * w/cm * tau_m tau_s/(tau_m - tau_s) * (x^(tau_s/(tau_m-tau_s)) - x^(tau_m/(tau_m-tau_s)))
 * at x = tau_s/tau_m; sampled at steps, so slightly below it. */
static void test_psp_peak(void **state)
{
    (void)state;
    double tau_m = 20, tau_s = 5, cm = 0.2, w = 0.1;
    double x = tau_s / tau_m, r = tau_m - tau_s;
    double peak = w / cm * tau_m * tau_s / r * (pow(x, tau_s / r) - pow(x, tau_m / r));
    for (int fl = 0; fl < 2; fl++) {
        struct snn_net *net = relay(SNN_MODEL_LIF_CURR_EXP, 1.0, w, 0.1);
        struct snn_pop *p = &net->pops[1];
        set(p, "tau_m", tau_m);
        set(p, "cm", cm);
        set(p, "tau_syn_E", tau_s);
        set(p, "v_rest", -65);
        p->init[0].c = -65;
        p->record = SNN_REC_V;
        double got = -1e9;
        struct snn_sim_opts o = {.steps = 1000, .float64 = fl, .ctx = &got, .on_v = peak_v};
        assert_int_equal(snn_sim_run(net, &o, NULL, NULL), 0);
        double psp = got + 65;
        if (fabs(psp - peak) > 0.002 * peak)
            fail_msg("%s PSP peak %.6f mV, analytic %.6f mV", fl ? "float" : "fixed", psp, peak);
        snn_net_free(net);
    }
}

static void test_poisson_rate(void **state)
{
    (void)state;
    struct snn_net *net = snn_net_new();
    net->dt_ms = 1.0;
    net->seed = 99;
    struct snn_pop *p = snn_net_add_pop(net, "noise", SNN_MODEL_SPIKE_SOURCE_POISSON, 1000);
    set(p, "rate", 50.0);
    set(p, "start", 100.0);
    set(p, "duration", 500.0);
    uint64_t counts[1];
    struct snn_spike_list out = {0};
    assert_int_equal(run(net, false, 1000, NULL, &out, counts), 0);
    /* 500 steps x 1000 neurons at p = 1 - exp(-0.05) */
    double mean = 500.0 * 1000 * (1 - exp(-0.05)), sd = sqrt(mean * exp(-0.05));
    assert_true(fabs((double)counts[0] - mean) < 5 * sd);
    for (uint64_t k = 0; k < out.n; k++)
        assert_true(out.step[k] >= 100 && out.step[k] < 600);
    /* float64 mode draws the same numbers */
    struct snn_spike_list out2 = {0};
    assert_int_equal(run(net, true, 1000, NULL, &out2, NULL), 0);
    assert_true(out2.n > 0.99 * out.n && out2.n < 1.01 * out.n);
    snn_spike_list_free(&out);
    snn_spike_list_free(&out2);
    snn_net_free(net);
}

/* A small recurrent network driven by Poisson noise. */
static struct snn_net *small_net(uint64_t seed)
{
    struct snn_net *net = snn_net_new();
    net->dt_ms = 0.1;
    net->seed = seed;
    struct snn_pop *in = snn_net_add_pop(net, "in", SNN_MODEL_SPIKE_SOURCE_POISSON, 100);
    set(in, "rate", 100.0);
    struct snn_pop *e = snn_net_add_pop(net, "e", SNN_MODEL_LIF_CURR_EXP, 400);
    set(e, "cm", 0.2);
    set(e, "tau_refrac", 2.0);
    e->init[0].kind = SNN_VAL_UNIFORM;
    e->init[0].a = -65;
    e->init[0].b = -52;
    e->record = SNN_REC_SPIKES;
    struct snn_proj *pj = snn_net_add_proj(net, 0, 1);
    pj->conn.kind = SNN_CONN_FIXED_PROBABILITY;
    pj->conn.p = 0.2;
    pj->weight.c = 0.1;
    pj->delay.c = 1.0;
    pj = snn_net_add_proj(net, 1, 1);
    pj->conn.kind = SNN_CONN_FIXED_PROBABILITY;
    pj->conn.p = 0.05;
    pj->weight.kind = SNN_VAL_UNIFORM;
    pj->weight.a = -0.1;
    pj->weight.b = 0.05;
    pj->delay.kind = SNN_VAL_UNIFORM;
    pj->delay.a = 0.1;
    pj->delay.b = 3.0;
    pj->receptor = SNN_RECEPTOR_INH;
    assert_int_equal(snn_ir_verify(net, NULL), 0);
    return net;
}

static bool same(const struct snn_spike_list *a, const struct snn_spike_list *b)
{
    return a->n == b->n && !memcmp(a->step, b->step, a->n * 4) &&
           !memcmp(a->pop, b->pop, a->n * 4) && !memcmp(a->neuron, b->neuron, a->n * 4);
}

static void test_deterministic_and_seeded(void **state)
{
    (void)state;
    struct snn_net *net = small_net(5);
    struct snn_spike_list a = {0}, b = {0}, c = {0}, fa = {0}, fb = {0};
    uint64_t ca[2], cf[2];
    assert_int_equal(run(net, false, 5000, NULL, &a, ca), 0);
    assert_int_equal(run(net, false, 5000, NULL, &b, NULL), 0);
    assert_true(a.n > 1000);
    assert_true(same(&a, &b));
    assert_int_equal(run(net, true, 5000, NULL, &fa, cf), 0);
    assert_int_equal(run(net, true, 5000, NULL, &fb, NULL), 0);
    assert_true(same(&fa, &fb));
    /* quantization changes little: the recurrent population's rate */
    double rel = fabs((double)ca[1] - (double)cf[1]) / (double)cf[1];
    if (rel > 0.03)
        fail_msg("fixed %llu vs float %llu spikes", (unsigned long long)ca[1],
                 (unsigned long long)cf[1]);
    net->seed = 6;
    assert_int_equal(run(net, false, 5000, NULL, &c, NULL), 0);
    assert_false(same(&a, &c));
    snn_spike_list_free(&a);
    snn_spike_list_free(&b);
    snn_spike_list_free(&c);
    snn_spike_list_free(&fa);
    snn_spike_list_free(&fb);
    snn_net_free(net);
}

/* Threads change nothing: every thread count gives the same spikes, in
 * fixed point and in float64 (whose sums keep their order). */
static void test_threads_change_nothing(void **state)
{
    (void)state;
    struct snn_net *net = small_net(11);
    for (int fl = 0; fl < 2; fl++) {
        struct snn_spike_list ref = {0};
        struct snn_sim_opts o = {.steps = 3000, .float64 = fl, .threads = 1, .ctx = &ref,
                                 .on_spikes = collect, .all_spikes = true};
        struct snn_sim_stats st = {0};
        assert_int_equal(snn_sim_run(net, &o, NULL, &st), 0);
        assert_int_equal(st.threads, 1);
        assert_true(ref.n > 500);
        for (unsigned t = 2; t <= 5; t++) {
            struct snn_spike_list got = {0};
            o.threads = t;
            o.ctx = &got;
            assert_int_equal(snn_sim_run(net, &o, NULL, &st), 0);
            assert_int_equal(st.threads, t);
            if (!same(&ref, &got))
                fail_msg("%u threads (%s) differ from one", t, fl ? "float64" : "fixed");
            snn_spike_list_free(&got);
        }
        snn_spike_list_free(&ref);
    }
    snn_net_free(net);
}

/* An output that fails stops every thread at the same step: the run
 * returns the callback's error and never hangs, whatever the threads. */
static int fail_after(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons, uint32_t n)
{
    int *left = ctx;
    if (--*left > 0)
        return 0;
    errno = ENOSPC; /* as a full disk leaves it */
    return SNN_EIO;
}

static void test_failing_output_stops_all_threads(void **state)
{
    (void)state;
    struct snn_net *net = small_net(3);
    for (int round = 0; round < 60; round++) {
        /* some in the first steps, most later, written by every thread
         * (they take turns of 64 steps; about two calls a step) */
        int left = round < 10 ? 1 + round : 1 + round * 13 % 800;
        struct snn_sim_opts o = {.steps = 3000, .threads = 2 + round % 4, .ctx = &left,
                                 .on_spikes = fail_after, .all_spikes = true};
        errno = 0;
        assert_int_equal(snn_sim_run(net, &o, NULL, NULL), SNN_EIO);
        assert_int_equal(errno, ENOSPC); /* the failing call's, from any thread */
        assert_int_equal(left, 0);       /* not called again after it failed */
    }
    snn_net_free(net);
}

/* Voltages recorded with several threads equal those of one. */
struct vlog {
    double *v;
    size_t n, cap;
};

static int log_v(void *ctx, uint32_t step, uint32_t pop, uint32_t neuron, double v)
{
    struct vlog *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4096;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            return SNN_ENOMEM;
    }
    l->v[l->n++] = v + step * 1e-9 + neuron * 1e-12;
    return 0;
}

static void test_voltages_with_threads(void **state)
{
    (void)state;
    struct snn_net *net = small_net(4);
    net->pops[1].record |= SNN_REC_V;
    for (int fl = 0; fl < 2; fl++) {
        struct vlog a = {0}, b = {0};
        struct snn_sim_opts o = {.steps = 500, .float64 = fl, .threads = 1, .ctx = &a,
                                 .on_v = log_v};
        assert_int_equal(snn_sim_run(net, &o, NULL, NULL), 0);
        o.threads = 3;
        o.ctx = &b;
        assert_int_equal(snn_sim_run(net, &o, NULL, NULL), 0);
        assert_int_equal(a.n, 500 * 400);
        assert_int_equal(a.n, b.n);
        assert_memory_equal(a.v, b.v, a.n * sizeof *a.v);
        free(a.v);
        free(b.v);
    }
    snn_net_free(net);
}

/* A network of every kind of state the simulator keeps: a Poisson source;
 * lif_curr_exp with shared parameters (state as arrays); lif_cond_exp
 * with a threshold per neuron and izhikevich (state per neuron); delays
 * of one to thirty steps; voltages recorded everywhere. */
static struct snn_net *mixed_net(uint64_t seed)
{
    struct snn_net *net = small_net(seed);
    struct snn_pop *c = snn_net_add_pop(net, "c", SNN_MODEL_LIF_COND_EXP, 300);
    int th = snn_model_param(SNN_MODEL_LIF_COND_EXP, "v_thresh");
    c->params[th].kind = SNN_VAL_UNIFORM;
    c->params[th].a = -54;
    c->params[th].b = -50;
    set(c, "tau_refrac", 2.0);
    struct snn_pop *z = snn_net_add_pop(net, "z", SNN_MODEL_IZHIKEVICH, 200);
    int io = snn_model_param(SNN_MODEL_IZHIKEVICH, "i_offset");
    z->params[io].kind = SNN_VAL_UNIFORM;
    z->params[io].a = 0;
    z->params[io].b = 0.01;
    static const struct { uint32_t pre, post; double p, w, d0, d1; } links[] = {
        {0, 2, 0.2, 0.02, 0.1, 0.1}, {0, 3, 0.2, 4.0, 0.5, 0.5}, {1, 2, 0.05, 0.01, 0.1, 3.0},
        {2, 1, 0.05, 0.1, 0.2, 2.0}, {1, 3, 0.05, 2.0, 0.1, 1.0}, {3, 1, 0.05, -0.1, 0.1, 3.0},
    };
    for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
        struct snn_proj *pj = snn_net_add_proj(net, links[i].pre, links[i].post);
        pj->conn.kind = SNN_CONN_FIXED_PROBABILITY;
        pj->conn.p = links[i].p;
        pj->weight.c = fabs(links[i].w);
        pj->receptor = links[i].w < 0 ? SNN_RECEPTOR_INH : SNN_RECEPTOR_EXC;
        pj->delay.kind = links[i].d0 == links[i].d1 ? SNN_VAL_CONST : SNN_VAL_UNIFORM;
        pj->delay.c = pj->delay.a = links[i].d0;
        pj->delay.b = links[i].d1;
    }
    for (uint32_t p = 1; p < net->n_pops; p++)
        net->pops[p].record |= SNN_REC_V;
    assert_int_equal(snn_ir_verify(net, NULL), 0);
    return net;
}

struct trace {
    struct snn_spike_list spikes;
    struct vlog v;
};

static int trace_spikes(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons,
                        uint32_t n)
{
    return collect(&((struct trace *)ctx)->spikes, step, pop, neurons, n);
}

static int trace_v(void *ctx, uint32_t step, uint32_t pop, uint32_t neuron, double v)
{
    return log_v(&((struct trace *)ctx)->v, step, pop, neuron, v);
}

/* One thread's run of net with options o (steps and arithmetic set) into
 * ref, which every population must fire at least 100 times in; o is left
 * for the runs to compare with it, st with the run's figures. */
static void reference_run(const struct snn_net *net, struct snn_sim_opts *o, struct trace *ref,
                          struct snn_sim_stats *st)
{
    uint64_t pop_spikes[8];
    assert_true(net->n_pops <= 8);
    *st = (struct snn_sim_stats){.pop_spikes = pop_spikes};
    o->threads = 1;
    o->ctx = ref;
    o->on_spikes = trace_spikes;
    o->all_spikes = true;
    o->on_v = trace_v;
    assert_int_equal(snn_sim_run(net, o, NULL, st), 0);
    for (uint32_t p = 0; p < net->n_pops; p++)
        if (pop_spikes[p] < 100)
            fail_msg("population %u fired only %llu times", p, (unsigned long long)pop_spikes[p]);
    st->pop_spikes = NULL;
}

static bool same_trace(const struct trace *a, const struct trace *b)
{
    return same(&a->spikes, &b->spikes) && a->v.n == b->v.n &&
           !memcmp(a->v.v, b->v.v, a->v.n * sizeof *a->v.v);
}

static void trace_free(struct trace *t)
{
    snn_spike_list_free(&t->spikes);
    free(t->v.v);
}

/* The threads' parts move as the run goes (at random here, some of them
 * empty, as often as every step): spikes and voltages stay those of one
 * thread, in both arithmetics.  So does the measured balancing itself. */
static void test_moving_shares_change_nothing(void **state)
{
    (void)state;
    struct snn_net *net = mixed_net(21);
    static const struct { unsigned threads; uint32_t every; uint64_t shuffle; } runs[] = {
        {2, 1, 1}, {2, 5, 2}, {3, 1, 3}, {3, 7, 4}, {5, 2, 5}, {2, 1, 0}, {4, 3, 0},
    };
    for (int fl = 0; fl < 2; fl++) {
        struct trace ref = {0};
        struct snn_sim_opts o = {.steps = 1200, .float64 = fl};
        struct snn_sim_stats st;
        reference_run(net, &o, &ref, &st);
        for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
            struct trace got = {0};
            o.threads = runs[r].threads;
            o.balance_steps = runs[r].every;
            o.balance_shuffle = runs[r].shuffle;
            o.ctx = &got;
            assert_int_equal(snn_sim_run(net, &o, NULL, &st), 0);
            /* at random, the shares change at nearly every look */
            if (runs[r].shuffle && st.share_moves < 1200 / runs[r].every / 2)
                fail_msg("shares moved %llu times in %u looks", (unsigned long long)st.share_moves,
                         1200 / runs[r].every);
            if (!same_trace(&ref, &got))
                fail_msg("%s, %u threads, shares moved every %u steps (shuffle %llu): "
                         "the run differs from one thread's",
                         fl ? "float64" : "fixed point", runs[r].threads, runs[r].every,
                         (unsigned long long)runs[r].shuffle);
            trace_free(&got);
        }
        trace_free(&ref);
    }
    snn_net_free(net);
}

/* Projections big enough to be expanded in slices by the threads at once
 * (and one that is not): fixed_probability with weights and delays drawn
 * per synapse; a matrix whose weight is the same within each slice but not
 * between the halves; all_to_all with a list of delays, likewise;
 * fixed_number_post. */
static struct snn_net *sliced_net(uint64_t seed)
{
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    double *matrix = snn_arena_array(net->arena, 128 * 256, sizeof *matrix);
    double *delays = snn_arena_array(net->arena, 128 * 256, sizeof *delays);
    assert_true(matrix && delays);
    net->dt_ms = 0.1;
    net->seed = seed;
    struct snn_pop *in = snn_net_add_pop(net, "in", SNN_MODEL_SPIKE_SOURCE_POISSON, 128);
    set(in, "rate", 40.0);
    struct snn_pop *a = snn_net_add_pop(net, "a", SNN_MODEL_LIF_CURR_EXP, 500);
    struct snn_pop *b = snn_net_add_pop(net, "b", SNN_MODEL_LIF_COND_EXP, 256);
    set(a, "tau_refrac", 2.0);
    set(b, "tau_refrac", 2.0);
    a->record = b->record = SNN_REC_V;
    /* fixed_probability: one slice (about 6400 synapses), then slices */
    static const struct { uint32_t pre; double w0, w1, d1; enum snn_receptor rec; } fp[] = {
        {0, 0.05, 0.5, 2.0, SNN_RECEPTOR_EXC}, {1, 0.01, 0.06, 3.0, SNN_RECEPTOR_INH},
    };
    struct snn_proj *pj;
    for (int k = 0; k < 2; k++) {
        pj = snn_net_add_proj(net, fp[k].pre, 1);
        pj->conn.kind = SNN_CONN_FIXED_PROBABILITY;
        pj->conn.p = 0.1;
        pj->weight.kind = SNN_VAL_UNIFORM;
        pj->weight.a = fp[k].w0;
        pj->weight.b = fp[k].w1;
        pj->delay.kind = SNN_VAL_UNIFORM;
        pj->delay.a = 0.1;
        pj->delay.b = fp[k].d1;
        pj->receptor = fp[k].rec;
    }
    pj = snn_net_add_proj(net, 0, 2); /* 128 x 256: two weights, by rows */
    pj->conn.kind = SNN_CONN_MATRIX;
    for (uint32_t i = 0; i < 128; i++)
        for (uint32_t j = 0; j < 256; j++)
            matrix[i * 256 + j] = i < 64 ? 0.002 : 0.004;
    pj->conn.matrix = matrix;
    pj = snn_net_add_proj(net, 0, 2); /* 128 x 256: two delays, by rows */
    pj->conn.kind = SNN_CONN_ALL_TO_ALL;
    pj->weight.c = 0.001;
    pj->delay.kind = SNN_VAL_LIST;
    pj->delay.n = 128 * 256;
    for (uint32_t k = 0; k < 128 * 256; k++)
        delays[k] = k < 64 * 256 ? 0.1 : 1.5;
    pj->delay.list = delays;
    pj = snn_net_add_proj(net, 1, 2); /* 500 x 20 */
    pj->conn.kind = SNN_CONN_FIXED_NUMBER_POST;
    pj->conn.n = 20;
    pj->weight.c = 0.002;
    pj->delay.c = 0.7;
    assert_int_equal(snn_ir_verify(net, NULL), 0);
    return net;
}

/* Slicing the expansion among threads changes no synapse: spikes and
 * voltages are one thread's, bit for bit, in both arithmetics. */
static void test_sliced_expansion_changes_nothing(void **state)
{
    (void)state;
    struct snn_net *net = sliced_net(5);
    for (int fl = 0; fl < 2; fl++) {
        struct trace ref = {0};
        struct snn_sim_opts o = {.steps = 600, .float64 = fl};
        struct snn_sim_stats st;
        reference_run(net, &o, &ref, &st);
        uint64_t synapses = st.synapses;
        for (unsigned threads = 2; threads <= 5; threads += 3) {
            struct trace got = {0};
            o.threads = threads;
            o.ctx = &got;
            assert_int_equal(snn_sim_run(net, &o, NULL, &st), 0);
            assert_int_equal(st.synapses, synapses);
            if (!same_trace(&ref, &got))
                fail_msg("%s, %u threads: the run differs from one thread's",
                         fl ? "float64" : "fixed point", threads);
            trace_free(&got);
        }
        trace_free(&ref);
    }
    snn_net_free(net);
}

/* A projection that cannot be expanded is reported once, with its place,
 * whether the threads would have sliced it or not. */
static void test_bad_projection_reported_once(void **state)
{
    (void)state;
    for (unsigned threads = 1; threads <= 2; threads++) {
        struct snn_net *net = snn_net_new();
        net->dt_ms = 0.1;
        snn_net_add_pop(net, "a", SNN_MODEL_LIF_CURR_EXP, 20000);
        snn_net_add_pop(net, "b", SNN_MODEL_LIF_CURR_EXP, 10);
        struct snn_proj *pj = snn_net_add_proj(net, 0, 1);
        pj->conn.kind = SNN_CONN_FIXED_NUMBER_POST;
        pj->conn.n = 11;
        pj->weight.c = 0.1;
        pj->loc = (struct snn_loc){"net.yaml", 7, 5, 1};
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        struct snn_diag *d = snn_diag_new(f);
        struct snn_sim_opts o = {.steps = 1, .threads = threads};
        assert_int_equal(snn_sim_run(net, &o, d, NULL), SNN_ESEMA);
        assert_int_equal(snn_diag_errors(d), 1);
        snn_diag_free(d);
        fclose(f);
        assert_non_null(strstr(text, "net.yaml:7:5: error: "));
        assert_non_null(strstr(text, "fixed_number_post n = 11 but only 10 post neurons"));
        free(text);
        snn_net_free(net);
    }
}

static void test_events_are_counted(void **state)
{
    (void)state;
    struct snn_net *net = relay(SNN_MODEL_IF_CURR_DELTA, 0.5, 1.0, 0.1);
    struct snn_sim_stats st = {0};
    struct snn_sim_opts o = {.steps = 50};
    assert_int_equal(snn_sim_run(net, &o, NULL, &st), 0);
    assert_int_equal(st.synapses, 1);
    assert_int_equal(st.syn_events, 1);
    assert_int_equal(st.steps, 50);
    snn_net_free(net);
}

/* One source spike (step 5) fans out to n neurons with per-synapse
 * weights (each above the 15 mV gap) and delays: neuron j fires once, in
 * step 5 + its delay, in both arithmetics and with one to three threads.
 * With n above 2^16 the rows hold wide post indices, below it narrow
 * ones; both must land on the right neuron and slot. */
static void fan_out(uint32_t n)
{
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    net->dt_ms = 0.1;
    net->seed = 11;
    struct snn_pop *src = snn_net_add_pop(net, "src", SNN_MODEL_SPIKE_SOURCE_ARRAY, 1);
    uint32_t *off = snn_arena_alloc(net->arena, 2 * sizeof *off);
    double *times = snn_arena_alloc(net->arena, sizeof *times);
    off[0] = 0;
    off[1] = 1;
    times[0] = 0.5;
    src->times_off = off;
    src->times = times;
    struct snn_pop *post = snn_net_add_pop(net, "post", SNN_MODEL_IF_CURR_DELTA, n);
    assert_non_null(post);
    post->record = SNN_REC_SPIKES;
    struct snn_proj *pj = snn_net_add_proj(net, 0, 1);
    pj->conn.kind = SNN_CONN_ALL_TO_ALL;
    pj->weight.kind = SNN_VAL_UNIFORM;
    pj->weight.a = 20.0;
    pj->weight.b = 30.0;
    pj->delay.kind = SNN_VAL_UNIFORM;
    pj->delay.a = 0.1;
    pj->delay.b = 2.5;
    assert_int_equal(snn_ir_verify(net, NULL), 0);
    struct snn_synapses syn = {0};
    assert_int_equal(snn_expand(net, 0, 0, UINT32_MAX, 0, UINT32_MAX, &syn, NULL), 0);
    assert_int_equal(syn.n, n);
    bool differ = false;
    for (uint32_t k = 1; k < n; k++)
        differ |= syn.delay_steps[k] != syn.delay_steps[0];
    assert_true(differ);
    /* three threads: their parts moved at random every step, while the
     * spike's input waits in the ring and rows are split anew */
    for (int fl = 0; fl < 2; fl++)
        for (unsigned T = 1; T <= 3; T++) {
            struct snn_spike_list out = {0};
            struct snn_sim_opts o = {.steps = 40, .float64 = fl, .threads = T, .ctx = &out,
                                     .on_spikes = collect, .all_spikes = true,
                                     .balance_steps = 1, .balance_shuffle = T == 3 ? 9 : 0};
            assert_int_equal(snn_sim_run(net, &o, NULL, NULL), 0);
            assert_int_equal(out.n, 1 + (uint64_t)n);
            assert_int_equal(out.pop[0], 0);
            assert_int_equal(out.step[0], 5);
            uint32_t *seen = calloc(n, sizeof *seen);
            assert_non_null(seen);
            for (uint64_t k = 1; k < out.n; k++) {
                uint32_t j = out.neuron[k];
                assert_int_equal(out.pop[k], 1);
                assert_true(j < n);
                assert_int_equal(seen[j]++, 0);
                assert_int_equal(syn.post[j], j);
                assert_int_equal(out.step[k], 5 + syn.delay_steps[j]);
            }
            free(seen);
            snn_spike_list_free(&out);
        }
    snn_synapses_free(&syn);
    snn_net_free(net);
}

static void test_fan_out_narrow_and_wide_rows(void **state)
{
    (void)state;
    fan_out(1000);
    fan_out(70000);
}

static void test_too_big_is_an_error(void **state)
{
    (void)state;
    struct snn_net *net = snn_net_new();
    snn_net_add_pop(net, "a", SNN_MODEL_LIF_CURR_EXP, 2000000000u);
    struct snn_proj *pj = snn_net_add_proj(net, 0, 0);
    pj->weight.c = 0.1;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    struct snn_diag *d = snn_diag_new(f);
    struct snn_sim_opts o = {.steps = 1};
    assert_int_equal(snn_sim_run(net, &o, d, NULL), SNN_ETOOBIG);
    snn_diag_free(d);
    fclose(f);
    assert_non_null(strstr(text, "GiB"));
    free(text);
    snn_net_free(net);
}

static void test_allocation_failures_are_clean(void **state)
{
    (void)state;
    struct snn_net *net = small_net(1);
    struct snn_spike_list ref = {0};
    assert_int_equal(run(net, false, 20, NULL, &ref, NULL), 0);
    int ok = 0;
    for (long n = 0; n < 400; n++) {
        struct snn_spike_list out = {0};
        snn_alloc_fail_after(n);
        int err = run(net, false, 20, NULL, &out, NULL);
        snn_alloc_fail_after(-1);
        if (err == 0) {
            assert_true(same(&ref, &out));
            ok++;
        } else {
            assert_int_equal(err, SNN_ENOMEM);
        }
        snn_spike_list_free(&out);
    }
    assert_true(ok > 0);
    snn_spike_list_free(&ref);
    snn_net_free(net);
}

/* The same when the threads expanding a projection's slices run out of
 * memory, at any of their allocations. */
static void test_allocation_failures_in_slices_are_clean(void **state)
{
    (void)state;
    struct snn_net *net = sliced_net(5);
    struct snn_spike_list ref = {0};
    struct snn_sim_opts o = {.steps = 400, .threads = 2, .ctx = &ref, .on_spikes = collect,
                             .all_spikes = true};
    assert_int_equal(snn_sim_run(net, &o, NULL, NULL), 0);
    for (int once = 0; once < 2; once++) {
        int failed = 0, ok = 0;
        for (long n = 0; n < 3000 && ok < 3; n += n < 600 ? 1 : 13) {
            struct snn_spike_list out = {0};
            o.ctx = &out;
            if (once)
                snn_alloc_fail_once(n);
            else
                snn_alloc_fail_after(n);
            int err = snn_sim_run(net, &o, NULL, NULL);
            snn_alloc_fail_after(-1);
            if (err == 0) {
                if (!same(&ref, &out))
                    fail_msg("allocation %ld failed%s: a different run", n, once ? " alone" : "");
                ok++;
            } else {
                assert_int_equal(err, SNN_ENOMEM);
                failed++;
            }
            snn_spike_list_free(&out);
        }
        assert_true(ok == 3 && failed > 300);
    }
    snn_spike_list_free(&ref);
    snn_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delay_is_exact),
        cmocka_unit_test(test_input_spikes_drive_sources),
        cmocka_unit_test(test_lif_first_spike_is_analytic),
        cmocka_unit_test(test_psp_peak),
        cmocka_unit_test(test_poisson_rate),
        cmocka_unit_test(test_deterministic_and_seeded),
        cmocka_unit_test(test_threads_change_nothing),
        cmocka_unit_test(test_failing_output_stops_all_threads),
        cmocka_unit_test(test_voltages_with_threads),
        cmocka_unit_test(test_moving_shares_change_nothing),
        cmocka_unit_test(test_sliced_expansion_changes_nothing),
        cmocka_unit_test(test_bad_projection_reported_once),
        cmocka_unit_test(test_events_are_counted),
        cmocka_unit_test(test_fan_out_narrow_and_wide_rows),
        cmocka_unit_test(test_too_big_is_an_error),
        cmocka_unit_test(test_allocation_failures_are_clean),
        cmocka_unit_test(test_allocation_failures_in_slices_are_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

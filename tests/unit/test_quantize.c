/*
 * tests/unit/test_quantize.c: the quantize pass over whole populations.
 * Parameters shared by a population are quantized once and copied; that
 * must give the records and the report that quantizing every neuron's own
 * copy gives, and per-neuron values must stay per neuron.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/expand.h"
#include "ir/ir.h"
#include "ir/quant.h"
#include "support/arena.h"

enum { N = 37 };

/* One population of every model with parameters, each with an input so
 * that the weight units are set; as_lists gives every population's
 * parameters as lists of N equal values instead of constants. */
static struct snn_net *every_model(bool as_lists)
{
    static const enum snn_model models[] = {
        SNN_MODEL_LIF_CURR_EXP, SNN_MODEL_LIF_COND_EXP, SNN_MODEL_IF_CURR_DELTA,
        SNN_MODEL_IZHIKEVICH,   SNN_MODEL_IF,           SNN_MODEL_SPIKE_SOURCE_POISSON,
    };
    static const char *const names[] = {"curr", "cond", "delta", "izh", "if", "poisson"};
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    net->dt_ms = 0.1;
    net->seed = 3;
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        struct snn_pop *pop = snn_net_add_pop(net, names[m], models[m], N);
        assert_non_null(pop);
        pop->init[0].kind = SNN_VAL_UNIFORM; /* initial states stay per neuron */
        pop->init[0].a = -70;
        pop->init[0].b = -60;
        for (unsigned k = 0; as_lists && k < snn_models[models[m]].n_params; k++) {
            double *l = snn_arena_array(net->arena, N, sizeof *l);
            assert_non_null(l);
            for (uint32_t i = 0; i < N; i++)
                l[i] = pop->params[k].c;
            pop->params[k].kind = SNN_VAL_LIST;
            pop->params[k].list = l;
            pop->params[k].n = N;
        }
    }
    for (uint32_t p = 0; p + 1 < net->n_pops; p++) {
        struct snn_proj *pj = snn_net_add_proj(net, 5, p);
        assert_non_null(pj);
        pj->weight.c = net->pops[p].model == SNN_MODEL_LIF_COND_EXP ? 0.002 : 0.5;
    }
    assert_int_equal(snn_ir_verify(net, NULL), 0);
    return net;
}

/* The parameter records of a population and their size. */
static const void *records(const struct snn_qpop *qp, size_t *size)
{
    switch (qp->model) {
    case FX_MODEL_LIF_CURR_EXP: *size = sizeof *qp->lif_curr_exp; return qp->lif_curr_exp;
    case FX_MODEL_LIF_COND_EXP: *size = sizeof *qp->lif_cond_exp; return qp->lif_cond_exp;
    case FX_MODEL_IF_CURR_DELTA: *size = sizeof *qp->if_curr_delta; return qp->if_curr_delta;
    case FX_MODEL_IZHIKEVICH: *size = sizeof *qp->izhikevich; return qp->izhikevich;
    case FX_MODEL_IF: *size = sizeof *qp->if_; return qp->if_;
    case FX_MODEL_SPIKE_SOURCE_POISSON: *size = sizeof *qp->poisson; return qp->poisson;
    default: fail_msg("model %d has no parameter records", (int)qp->model); return NULL;
    }
}

static void test_shared_parameters_are_quantized_as_per_neuron(void **state)
{
    (void)state;
    struct snn_net *shared = every_model(false), *lists = every_model(true);
    struct snn_qnet *a = NULL, *b = NULL;
    assert_int_equal(snn_quantize(shared, NULL, &a), 0);
    assert_int_equal(snn_quantize(lists, NULL, &b), 0);
    assert_int_equal(a->n_pops, b->n_pops);
    for (uint32_t p = 0; p < a->n_pops; p++) {
        size_t sa = 0, sb = 0;
        const char *ra = records(&a->pops[p], &sa), *rb = records(&b->pops[p], &sb);
        assert_int_equal(sa, sb);
        assert_int_equal(a->pops[p].size, N);
        if (memcmp(ra, rb, N * sa))
            fail_msg("population '%s': shared parameters quantize differently from lists",
                     shared->pops[p].name);
    }
    const struct fx_lif_state *v0 = a->pops[0].lif0;
    bool differ = false;
    for (uint32_t i = 1; i < N; i++)
        differ |= v0[i].v != v0[0].v;
    assert_true(differ);
    for (uint32_t p = 0; p < 3; p++)
        assert_memory_equal(a->pops[p].lif0, b->pops[p].lif0, N * sizeof *v0);
    assert_memory_equal(a->pops[3].izh0, b->pops[3].izh0, N * sizeof *a->pops[3].izh0);
    assert_memory_equal(a->pops[4].if0, b->pops[4].if0, N * sizeof *a->pops[4].if0);
    assert_int_equal(a->n_errs, b->n_errs);
    for (size_t k = 0; k < a->n_errs; k++) {
        const struct snn_qerr *x = &a->errs[k], *y = &b->errs[k];
        assert_string_equal(x->where, y->where);
        assert_string_equal(x->what, y->what);
        if (memcmp(&x->value, &y->value, sizeof x->value) ||
            memcmp(&x->abs_err, &y->abs_err, sizeof x->abs_err) ||
            memcmp(&x->rel_err, &y->rel_err, sizeof x->rel_err))
            fail_msg("%s %s: the report differs", x->where, x->what);
    }
    snn_qnet_free(a);
    snn_qnet_free(b);
    snn_net_free(shared);
    snn_net_free(lists);
}

/* One parameter drawn per neuron makes every record the neuron's own. */
static void test_per_neuron_parameters_stay_per_neuron(void **state)
{
    (void)state;
    struct snn_net *net = every_model(false);
    struct snn_pop *pop = &net->pops[1]; /* lif_cond_exp */
    int th = snn_model_param(pop->model, "v_thresh");
    pop->params[th].kind = SNN_VAL_UNIFORM;
    pop->params[th].a = -55;
    pop->params[th].b = -50;
    struct snn_qnet *q = NULL;
    assert_int_equal(snn_quantize(net, NULL, &q), 0);
    for (uint32_t i = 0; i < N; i++) {
        double v = snn_value_neuron(net, 1, (unsigned)th, false, i);
        assert_int_equal(q->pops[1].lif_cond_exp[i].v_thresh, (int32_t)floor(ldexp(v, 16) + 0.5));
        /* the other parameters are the same for every neuron */
        assert_int_equal(q->pops[1].lif_cond_exp[i].p22e.m, q->pops[1].lif_cond_exp[0].p22e.m);
    }
    assert_int_not_equal(q->pops[1].lif_cond_exp[0].v_thresh,
                         q->pops[1].lif_cond_exp[1].v_thresh);
    snn_qnet_free(q);
    snn_net_free(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_parameters_are_quantized_as_per_neuron),
        cmocka_unit_test(test_per_neuron_parameters_stay_per_neuron),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/net_testlib.h: networks built in tests: small builders and
 * a seeded generator of random networks (every model, every connector,
 * both receptors, shared rows, delays up to 255 steps, recording).
 * Included by one test program each (static functions), after cmocka
 * and map_testlib.h (its rnd() drives the generator).
 */
#ifndef SNN_TESTS_NET_TESTLIB_H
#define SNN_TESTS_NET_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"
#include "support/arena.h"
#include "map_testlib.h"

static inline struct snn_net *net_new(double dt_ms, double duration_ms, uint64_t seed)
{
    struct snn_net *net = snn_net_new();
    assert_non_null(net);
    net->dt_ms = dt_ms;
    net->duration_ms = duration_ms;
    net->seed = seed;
    return net;
}

static inline uint32_t pop(struct snn_net *net, const char *name, enum snn_model model,
                           uint32_t size)
{
    assert_non_null(snn_net_add_pop(net, name, model, size));
    return net->n_pops - 1;
}

static inline struct snn_proj *proj(struct snn_net *net, uint32_t a, uint32_t b,
                                    enum snn_conn_kind kind, enum snn_receptor r, double weight,
                                    double delay_ms)
{
    struct snn_proj *pj = snn_net_add_proj(net, a, b);
    assert_non_null(pj);
    pj->conn.kind = kind;
    pj->receptor = r;
    pj->weight = (struct snn_value){.kind = SNN_VAL_CONST, .c = weight};
    pj->delay = (struct snn_value){.kind = SNN_VAL_CONST, .c = delay_ms};
    return pj;
}

static inline double urand(double lo, double hi)
{
    return lo + (hi - lo) * rnd(1u << 20) / (double)(1u << 20);
}

static inline void random_weight(struct snn_value *v, bool nonneg)
{
    double lo = nonneg ? 0.0 : -2.0;
    if (rnd(2))
        *v = (struct snn_value){.kind = SNN_VAL_CONST, .c = urand(lo, 2.0)};
    else
        *v = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = lo, .b = urand(0.1, 3.0)};
}

/* Arrays a random network points to (the network holds const pointers). */
static inline double *mem_d(struct snn_net *net, size_t n)
{
    double *p = snn_arena_array(net->arena, n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

static inline uint32_t *mem_u(struct snn_net *net, size_t n)
{
    uint32_t *p = snn_arena_array(net->arena, n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

/* A random network of 2 to 5 populations of at most max_size neurons and
 * 1 to 7 projections; long_delays allows delays up to 255 steps. */
static inline struct snn_net *random_net(uint32_t max_size, bool long_delays)
{
    double dt = rnd(3) ? 1.0 : 0.5;
    struct snn_net *net = net_new(dt, rnd(2) ? 0.0 : 20.0, 1 + rnd(1000));
    uint32_t np = 2 + rnd(4);
    char name[16];
    for (uint32_t p = 0; p < np; p++) {
        snprintf(name, sizeof name, "p%u", p);
        enum snn_model model = (enum snn_model)rnd(SNN_MODEL_COUNT);
        if (p == np - 1 && model >= SNN_MODEL_SPIKE_SOURCE_ARRAY)
            model = SNN_MODEL_LIF_CURR_EXP; /* something to project onto */
        uint32_t q = pop(net, name, model, 1 + rnd(max_size));
        struct snn_pop *P = &net->pops[q];
        if (model == SNN_MODEL_SPIKE_SOURCE_ARRAY) {
            uint32_t *off = mem_u(net, P->size + 1ull);
            double *t = mem_d(net, 4ull * P->size);
            off[0] = 0;
            for (uint32_t i = 0; i < P->size; i++) {
                uint32_t k = rnd(5);
                double at = 0;
                for (uint32_t j = 0; j < k; j++) {
                    at += urand(0.1, 6.0);
                    t[off[i] + j] = at;
                }
                off[i + 1] = off[i] + k;
            }
            P->times_off = off;
            P->times = t;
        }
        if (rnd(3) == 0) {
            /* a spike source has no v to record */
            P->record = snn_models[model].is_source ? SNN_REC_SPIKES : 1 + rnd(3);
            if ((P->record & SNN_REC_V) && rnd(2)) {
                uint32_t *rv = mem_u(net, P->size);
                uint32_t n = 0;
                for (uint32_t i = 0; i < P->size; i++)
                    if (rnd(3) == 0)
                        rv[n++] = i;
                P->record_v = rv;
                P->n_record_v = n;
            }
        }
    }
    uint32_t nj = 1 + rnd(7);
    for (uint32_t k = 0; k < nj; k++) {
        uint32_t a = rnd(np), b = rnd(np);
        if (snn_models[net->pops[b].model].is_source)
            b = np - 1;
        uint32_t na = net->pops[a].size, nb = net->pops[b].size;
        bool nonneg = snn_models[net->pops[b].model].syn == SNN_SYN_CONDUCTANCE;
        uint32_t maxd = long_delays && rnd(2) ? 255 : 8;
        enum snn_conn_kind kind = (enum snn_conn_kind)rnd(SNN_CONN_FROM_LIST + 1);
        if (kind == SNN_CONN_ONE_TO_ONE && na != nb)
            kind = SNN_CONN_FIXED_PROBABILITY;
        enum snn_receptor r = rnd(2) ? SNN_RECEPTOR_INH : SNN_RECEPTOR_EXC;
        struct snn_proj *pj = proj(net, a, b, kind, r, 1.0, dt * (1 + rnd(maxd)));
        random_weight(&pj->weight, nonneg);
        if (rnd(2) && kind != SNN_CONN_FROM_LIST)
            pj->delay = (struct snn_value){.kind = SNN_VAL_UNIFORM, .a = dt,
                                           .b = dt * (2 + rnd(maxd - 1))};
        pj->conn.allow_self = true;
        switch (kind) {
        case SNN_CONN_FIXED_PROBABILITY: pj->conn.p = 0.05 + 0.1 * rnd(8); break;
        case SNN_CONN_FIXED_NUMBER_PRE: pj->conn.n = rnd(na + 1); break;
        case SNN_CONN_FIXED_NUMBER_POST: pj->conn.n = rnd(nb + 1); break;
        case SNN_CONN_FROM_LIST: {
            uint32_t n = rnd(3 * (na + nb));
            uint32_t *lp = mem_u(net, n), *lq = mem_u(net, n);
            double *lw = NULL, *ld = NULL;
            if (rnd(2)) {
                lw = mem_d(net, n);
                ld = mem_d(net, n);
            }
            for (uint32_t i = 0; i < n; i++) {
                lp[i] = rnd(na);
                lq[i] = rnd(nb);
                if (i > 0 && rnd(5) == 0) { /* a repeated pair */
                    lp[i] = lp[i - 1];
                    lq[i] = lq[i - 1];
                }
                if (lw) {
                    lw[i] = urand(nonneg ? 0.0 : -2.0, 2.0);
                    ld[i] = dt * (1 + rnd(maxd));
                }
            }
            pj->conn.n = n;
            pj->conn.list_pre = lp;
            pj->conn.list_post = lq;
            pj->conn.list_w = lw;
            pj->conn.list_d = ld;
            break;
        }
        default: break;
        }
        if (kind == SNN_CONN_ONE_TO_ONE && rnd(2)) { /* a weight per synapse */
            double *w = mem_d(net, na);
            for (uint32_t i = 0; i < na; i++)
                w[i] = urand(nonneg ? 0.0 : -1.0, 1.0);
            pj->weight = (struct snn_value){.kind = SNN_VAL_LIST, .list = w, .n = na};
        }
    }
    return net;
}

#endif

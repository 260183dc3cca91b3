/*
 * ir/net.c: creating and growing a network.
 *
 * Populations and projections live in arena arrays that double as they
 * grow; a pointer returned by an add function is valid until the next
 * add of the same kind.
 */
#include "ir/ir.h"
#include "support/arena.h"

#include <string.h>

struct snn_net *snn_net_new(void)
{
    struct snn_arena *a = snn_arena_new();
    if (!a)
        return NULL;
    struct snn_net *net = snn_arena_alloc(a, sizeof *net);
    if (!net) {
        snn_arena_free(a);
        return NULL;
    }
    net->arena = a;
    net->name = "";
    net->dt_ms = 0.1;
    return net;
}

void snn_net_free(struct snn_net *net)
{
    if (net)
        snn_arena_free(net->arena); /* net itself lives in the arena */
}

static void set_defaults(struct snn_value *v, const struct snn_param_desc *d, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        v[i].kind = SNN_VAL_CONST;
        v[i].c = d[i].default_value;
    }
}

struct snn_pop *snn_net_add_pop(struct snn_net *net, const char *name, enum snn_model model,
                                uint32_t size)
{
    void *arr = net->pops;
    if (snn_arena_grow(net->arena, &arr, &net->pops_cap, (size_t)net->n_pops + 1,
                       sizeof(struct snn_pop)))
        return NULL;
    net->pops = arr;
    const struct snn_model_desc *md = &snn_models[model];
    struct snn_pop p = {.size = size, .model = model, .record = 0};
    p.name = snn_arena_strdup(net->arena, name);
    p.params = snn_arena_array(net->arena, md->n_params ? md->n_params : 1, sizeof *p.params);
    p.init = snn_arena_array(net->arena, md->n_state ? md->n_state : 1, sizeof *p.init);
    if (!p.name || !p.params || !p.init)
        return NULL;
    set_defaults(p.params, md->params, md->n_params);
    set_defaults(p.init, md->state, md->n_state);
    net->pops[net->n_pops] = p;
    return &net->pops[net->n_pops++];
}

struct snn_proj *snn_net_add_proj(struct snn_net *net, uint32_t pre, uint32_t post)
{
    void *arr = net->projs;
    if (snn_arena_grow(net->arena, &arr, &net->projs_cap, (size_t)net->n_projs + 1,
                       sizeof(struct snn_proj)))
        return NULL;
    net->projs = arr;
    struct snn_proj p = {.pre = pre, .post = post};
    p.conn.kind = SNN_CONN_ALL_TO_ALL;
    p.conn.allow_self = true;
    p.weight.kind = SNN_VAL_CONST;
    p.delay.kind = SNN_VAL_CONST;
    p.delay.c = net->dt_ms;
    p.receptor = SNN_RECEPTOR_EXC;
    net->projs[net->n_projs] = p;
    return &net->projs[net->n_projs++];
}

int snn_net_find_pop(const struct snn_net *net, const char *name)
{
    for (uint32_t i = 0; i < net->n_pops; i++)
        if (strcmp(net->pops[i].name, name) == 0)
            return (int)i;
    return -1;
}

/*
 * frontend/yaml.c: YAML network descriptions (docs/network-format.md)
 * into the IR.
 *
 * Takes the text of one file; gives a struct snn_net that passed
 * snn_ir_verify(), or an error code with every problem reported to the
 * diagnostics sink at file:line:col.  Nothing half-built is returned.
 *
 * Two steps, the first and the reading helpers shared with the target
 * parser (frontend/ytree.c, frontend/ytree_int.h):
 *  1. libyaml's event parser feeds a small tree of our own (struct yn)
 *     kept in a scratch arena, with the node count, the nesting depth and
 *     alias expansion capped while it parses and every node's position
 *     kept.  An alias stays a node pointing at its anchor's node, so the
 *     tree is a DAG whose size is linear in the text.
 *  2. A walker reads the tree by the schema of the format and fills the
 *     network.  It follows aliases and merge keys (<<) as it goes and
 *     counts every node it visits; past SNN_FE_MAX_VISITS it stops, so an
 *     alias bomb gets an error instead of exponential work.  After a
 *     semantic error it goes on with the next key, so one run reports as
 *     many problems as it sensibly can (up to SNN_FE_MAX_ERRORS).
 *
 * A file with `layers:` is a layer graph (ir/layer.h): its nodes are read
 * in order (an input names a layer above), their .npy arrays read from
 * the folder of the file (frontend/npy.h), and snn_layers_verify() infers
 * the shapes once the file has been read.
 */
#include "frontend/frontend.h"
#include "frontend/frontend_int.h"
#include "frontend/npy.h"
#include "frontend/units.h"
#include "frontend/ytree_int.h"
#include "ir/layer.h"
#include "support/arena.h"
#include "support/diag.h"
#include "support/err.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the reader's state ------------------------------------------------ */

/* A population name and where it went in the net (-1: it had errors). */
struct popname {
    const char *name;
    int index;
};

struct ctx {
    struct snn__yr y; /* the reader: tree, scratch arena, errors */
    struct snn_net *net;
    struct popname *pops; /* sorted by name once all are read */
    size_t n_pops;
};

/* The shared reader's helpers (frontend/ytree_int.h) under short names. */
#define err(c, ...) snn__yr_err(&(c)->y, __VA_ARGS__)

static void nomem(struct ctx *c)
{
    snn__yr_nomem(&c->y);
}

static struct snn_loc loc_of(struct ctx *c, const struct yn *n)
{
    return snn__yr_loc(&c->y, n);
}

static struct yn *R(struct ctx *c, struct yn *n)
{
    return snn__yr_resolve(&c->y, n);
}

static bool charge(struct ctx *c, const struct yn *at, uint64_t k)
{
    return snn__yr_charge(&c->y, at, k);
}

static bool is_null(const struct yn *n)
{
    return snn__yr_is_null(n);
}

static const char *kind_name(const struct yn *n)
{
    return snn__yr_kind_name(n);
}

static bool get_scalar(struct ctx *c, struct yn *n, const char *key, const char **out)
{
    return snn__yr_scalar(&c->y, n, key, out);
}

static bool get_uint(struct ctx *c, struct yn *n, const char *key, uint64_t lo, uint64_t hi,
                     uint64_t *out)
{
    return snn__yr_uint(&c->y, n, key, lo, hi, out);
}

static bool get_bool(struct ctx *c, struct yn *n, const char *key, bool *out)
{
    return snn__yr_bool(&c->y, n, key, out);
}

static bool get_quantity(struct ctx *c, struct yn *n, const char *key, enum snn_dim dim,
                         double *out)
{
    return snn__yr_quantity(&c->y, n, key, dim, out);
}

static int get_choice(struct ctx *c, struct yn *node, const char *key, const char *const *names,
                      size_t n)
{
    return snn__yr_choice(&c->y, node, key, names, n);
}

static bool flatten(struct ctx *c, struct yn *map, const char *what, struct kvs *out)
{
    return snn__yr_flatten(&c->y, map, what, out);
}

static void check_keys(struct ctx *c, const struct kvs *m, const char *const *names, size_t n,
                       const char *where)
{
    snn__yr_check_keys(&c->y, m, names, n, where);
}

static struct kv *find(const struct kvs *m, const char *name)
{
    return snn__yr_find(m, name);
}

static struct yn *get(struct ctx *c, const struct kvs *m, const char *name)
{
    return snn__yr_get(&c->y, m, name);
}

static bool get_map(struct ctx *c, struct yn *n, const char *key, const char *what, bool null_ok,
                    struct kvs *out)
{
    return snn__yr_map(&c->y, n, key, what, null_ok, out);
}

/* A neuron index of population pop. */
static bool get_index(struct ctx *c, struct yn *n, const char *key, const struct snn_pop *pop,
                      uint32_t *out)
{
    uint64_t x;
    if (!get_uint(c, n, key, 0, UINT64_MAX, &x))
        return false;
    if (x >= pop->size) {
        err(c, SNN_ESEMA, n,
            "%s index %llu is out of range: population '%s' has %u neurons (0 .. %u)", key,
            (unsigned long long)x, pop->name, pop->size, pop->size - 1);
        return false;
    }
    *out = (uint32_t)x;
    return true;
}

/* Names of populations and projections are identifiers, so the IR text
 * form can print them bare. */
static bool is_ident(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (size_t i = 0; s[i]; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_') ||
            i >= 255)
            return false;
    return true;
}

/* ---- values ------------------------------------------------------------- */

/* The connector does not fix the order of its synapses (fixed_*,
 * matrix), so a per-synapse list has nothing to line up with. */
#define COUNT_NO_LIST UINT64_MAX
/* Number of synapses unknown because the connector had errors: lists are
 * read (for their own errors) but their length is not checked. */
#define COUNT_UNCHECKED (UINT64_MAX - 1)

static double *alloc_doubles(struct ctx *c, const struct yn *at, uint64_t n, const char *what)
{
    if (n > SNN_FE_MAX_ARRAY_BYTES / sizeof(double)) {
        err(c, SNN_ETOOBIG, at, "%s would need %.1f MiB (the limit is %zu MiB)", what,
            (double)n * sizeof(double) / (1 << 20), SNN_FE_MAX_ARRAY_BYTES >> 20);
        return NULL;
    }
    double *p = snn_arena_array(c->net->arena, n ? n : 1, sizeof *p);
    if (!p)
        nomem(c);
    return p;
}

/* Reads a two-element list of quantities [x, y]. */
static bool get_pair(struct ctx *c, struct yn *n, const char *key, enum snn_dim dim, double *x,
                     double *y)
{
    if (n->kind != Y_SEQ || n->n != 2) {
        err(c, SNN_ESEMA, n, "'%s' takes a list of two values, like [1 %s, 2 %s]", key,
            snn_dim_unit(dim), snn_dim_unit(dim));
        return false;
    }
    return get_quantity(c, R(c, n->u.items[0]), key, dim, x) &&
           get_quantity(c, R(c, n->u.items[1]), key, dim, y);
}

/*
 * Reads a value of dimension dim into out: a quantity (constant), a list
 * (count values, one per `per`: "neurons" or "synapses"; count may be
 * COUNT_NO_LIST or COUNT_UNCHECKED), or a distribution.  The value's location is the node as
 * written (an alias points at its use, not at the anchor).
 */
static bool get_value(struct ctx *c, struct yn *node, const char *key, enum snn_dim dim,
                      uint64_t count, const char *per, struct snn_value *out)
{
    struct yn *n = R(c, node);
    struct snn_value v = {.kind = SNN_VAL_CONST, .loc = loc_of(c, node)};
    char buf[96];
    if (n->kind == Y_SCALAR) {
        if (!get_quantity(c, n, key, dim, &v.c))
            return false;
    } else if (n->kind == Y_SEQ) {
        if (count == COUNT_NO_LIST) {
            err(c, SNN_ESEMA, node,
                "'%s' is a list, but only all_to_all, one_to_one and from_list fix the order "
                "of their synapses; use a single value or a distribution",
                key);
            return false;
        }
        if (count != COUNT_UNCHECKED && n->n != count) {
            err(c, SNN_ESEMA, node, "'%s' lists %u values for %llu %s", key, n->n,
                (unsigned long long)count, per);
            return false;
        }
        if (!charge(c, node, n->n))
            return false;
        snprintf(buf, sizeof buf, "the list of '%s'", key);
        double *list = alloc_doubles(c, node, n->n, buf);
        if (!list)
            return false;
        for (uint32_t i = 0; i < n->n; i++)
            if (!get_quantity(c, R(c, n->u.items[i]), key, dim, &list[i]))
                return false;
        v.kind = SNN_VAL_LIST;
        v.list = list;
        v.n = n->n;
    } else {
        static const char *const keys[] = {"uniform", "normal", "bounds", "out_of_bounds"};
        struct kvs m;
        if (!flatten(c, n, "key", &m))
            return false;
        snprintf(buf, sizeof buf, "the distribution of '%s'", key);
        unsigned before = c->y.errors;
        check_keys(c, &m, keys, 4, buf);
        if (c->y.errors != before)
            return false;
        struct yn *u = get(c, &m, "uniform"), *no = get(c, &m, "normal");
        struct yn *bo = get(c, &m, "bounds"), *oob = get(c, &m, "out_of_bounds");
        if (!u == !no) {
            err(c, SNN_ESEMA, node,
                "'%s' as a mapping takes one distribution: {uniform: [low, high]} or "
                "{normal: [mean, sd]}",
                key);
            return false;
        }
        if (u) {
            if (bo || oob) {
                err(c, SNN_ESEMA, find(&m, bo ? "bounds" : "out_of_bounds")->key,
                    "'%s' of a uniform distribution: bounds apply to 'normal' only",
                    bo ? "bounds" : "out_of_bounds");
                return false;
            }
            if (!get_pair(c, u, "uniform", dim, &v.a, &v.b))
                return false;
            if (!(v.a <= v.b)) {
                err(c, SNN_ESEMA, u, "'uniform': low is above high");
                return false;
            }
            v.kind = SNN_VAL_UNIFORM;
        } else {
            if (!get_pair(c, no, "normal", dim, &v.a, &v.b))
                return false;
            if (v.b < 0) {
                err(c, SNN_ESEMA, no, "'normal': the standard deviation is negative");
                return false;
            }
            v.kind = SNN_VAL_NORMAL;
            if (oob && !bo) {
                err(c, SNN_ESEMA, find(&m, "out_of_bounds")->key,
                    "'out_of_bounds' needs 'bounds: [low, high]'");
                return false;
            }
            if (bo) {
                if (!get_pair(c, bo, "bounds", dim, &v.lo, &v.hi))
                    return false;
                if (!(v.lo <= v.hi)) {
                    err(c, SNN_ESEMA, bo, "'bounds': low is above high");
                    return false;
                }
                v.bounded = true;
                v.bound_mode = SNN_BOUND_CLIP;
            }
            if (oob) {
                static const char *const modes[] = {"clip", "redraw"};
                int mode = get_choice(c, oob, "out_of_bounds", modes, 2);
                if (mode < 0)
                    return false;
                v.bound_mode = mode ? SNN_BOUND_REDRAW : SNN_BOUND_CLIP;
            }
        }
    }
    *out = v;
    return true;
}

/* ---- populations --------------------------------------------------------- */

/* params or init of a population: name -> value. */
static void read_values(struct ctx *c, struct snn_pop *pop, struct yn *node, bool init)
{
    const struct snn_model_desc *md = &snn_models[pop->model];
    const char *key = init ? "init" : "params";
    struct kvs m;
    if (!get_map(c, R(c, node), key, "parameter", true, &m))
        return;
    unsigned n = init ? md->n_state : md->n_params;
    const struct snn_param_desc *desc = init ? md->state : md->params;
    const char *names[32];
    SNN_ASSERT(n <= 32);
    for (unsigned i = 0; i < n; i++)
        names[i] = desc[i].name;
    for (size_t i = 0; i < m.n && !c->y.stop; i++) {
        const char *name = m.v[i].name;
        int idx = init ? snn_model_state(pop->model, name) : snn_model_param(pop->model, name);
        if (idx < 0) {
            const char *sug = snn_suggest(name, names, n);
            const char *what = init ? "state variable" : "parameter";
            if (sug)
                err(c, SNN_ESEMA, m.v[i].key, "model '%s' has no %s '%.60s' (did you mean '%s'?)",
                    md->name, what, name, sug);
            else if (n == 0)
                err(c, SNN_ESEMA, m.v[i].key, "model '%s' has no %ss; '%.60s' is not one",
                    md->name, what, name);
            else
                err(c, SNN_ESEMA, m.v[i].key, "model '%s' has no %s '%.60s'", md->name, what, name);
            continue;
        }
        struct snn_value *dst = init ? &pop->init[idx] : &pop->params[idx];
        get_value(c, m.v[i].val, name, desc[idx].dim, pop->size, "neurons", dst);
    }
}

/* Reads one neuron's spike times into t[0 .. n). */
static bool read_times(struct ctx *c, struct yn *seq, double *t)
{
    for (uint32_t i = 0; i < seq->n; i++) {
        struct yn *e = R(c, seq->u.items[i]);
        if (!get_quantity(c, e, "spike_times", SNN_DIM_TIME, &t[i]))
            return false;
        if (t[i] < 0) {
            err(c, SNN_ESEMA, e, "'spike_times': a spike time is negative");
            return false;
        }
        if (i && t[i] < t[i - 1]) {
            err(c, SNN_ESEMA, e, "'spike_times' must be in ascending order");
            return false;
        }
    }
    return true;
}

static bool times_fit(struct ctx *c, const struct yn *at, uint64_t neurons, uint64_t total)
{
    double bytes = (double)total * sizeof(double) + (double)(neurons + 1) * sizeof(uint32_t);
    if (total > UINT32_MAX || bytes > (double)SNN_FE_MAX_ARRAY_BYTES) {
        err(c, SNN_ETOOBIG, at,
            "'spike_times' for %llu neurons with %llu spikes in all would need %.1f MiB (the "
            "limit is %zu MiB)",
            (unsigned long long)neurons, (unsigned long long)total, bytes / (1 << 20),
            SNN_FE_MAX_ARRAY_BYTES >> 20);
        return false;
    }
    return true;
}

/* spike_times: one list for every neuron, or a list of lists. */
static void read_spike_times(struct ctx *c, struct snn_pop *pop, struct yn *node)
{
    struct snn_arena *a = c->net->arena;
    uint64_t size = pop->size;
    struct yn *n = node ? R(c, node) : NULL;
    if (n && !is_null(n) && n->kind != Y_SEQ) {
        err(c, SNN_ESEMA, n, "'spike_times' must be a list of times or a list of lists, not %s",
            kind_name(n));
        return;
    }
    bool nested = false;
    if (n && n->kind == Y_SEQ && n->n) {
        struct yn *first = R(c, n->u.items[0]);
        nested = first->kind == Y_SEQ;
    }
    if (!nested) {
        /* The same times (maybe none) for every neuron. */
        uint32_t k = n && n->kind == Y_SEQ ? n->n : 0;
        if (!times_fit(c, node, size, size * k))
            return;
        double *one = snn_arena_array(c->y.tmp, k ? k : 1, sizeof *one);
        uint32_t *off = snn_arena_array(a, size + 1, sizeof *off);
        double *t = snn_arena_array(a, size * k != 0 ? size * k : 1, sizeof *t);
        if (!one || !off || !t) {
            nomem(c);
            return;
        }
        if (k && !read_times(c, n, one))
            return;
        for (uint64_t i = 0; i < size; i++) {
            off[i] = (uint32_t)(i * k);
            memcpy(t + i * k, one, k * sizeof *one);
        }
        off[size] = (uint32_t)(size * k);
        pop->times_off = off;
        pop->times = t;
        return;
    }
    if (n->n != size) {
        err(c, SNN_ESEMA, node, "'spike_times' has %u lists for %llu neurons", n->n,
            (unsigned long long)size);
        return;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < n->n && !c->y.stop; i++) {
        struct yn *e = R(c, n->u.items[i]);
        if (e->kind != Y_SEQ && !is_null(e)) {
            err(c, SNN_ESEMA, e, "'spike_times': expected the list of times of neuron %u", i);
            return;
        }
        total += e->kind == Y_SEQ ? e->n : 0;
    }
    if (c->y.stop || !times_fit(c, node, size, total) || !charge(c, node, total))
        return;
    uint32_t *off = snn_arena_array(a, size + 1, sizeof *off);
    double *t = snn_arena_array(a, total ? total : 1, sizeof *t);
    if (!off || !t) {
        nomem(c);
        return;
    }
    uint64_t at = 0;
    for (uint32_t i = 0; i < n->n; i++) {
        struct yn *e = n->u.items[i]->kind == Y_ALIAS ? n->u.items[i]->u.target : n->u.items[i];
        off[i] = (uint32_t)at;
        if (e->kind == Y_SEQ) {
            if (!read_times(c, e, t + at))
                return;
            at += e->n;
        }
    }
    off[size] = (uint32_t)at;
    pop->times_off = off;
    pop->times = t;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* record: spikes | v | [spikes, v] | {spikes: bool, v: bool or [indices]} */
static void read_record(struct ctx *c, struct snn_pop *pop, struct yn *node)
{
    static const char *const what[] = {"spikes", "v"};
    bool source = snn_models[pop->model].is_source;
    struct yn *n = R(c, node);
    struct yn *v_at = NULL; /* where v was asked for */
    unsigned rec = 0;
    if (is_null(n))
        return;
    if (n->kind == Y_SCALAR || n->kind == Y_SEQ) {
        uint32_t k = n->kind == Y_SEQ ? n->n : 1;
        for (uint32_t i = 0; i < k && !c->y.stop; i++) {
            struct yn *e = n->kind == Y_SEQ ? R(c, n->u.items[i]) : n;
            int w = get_choice(c, e, "recording", what, 2);
            if (w == 1)
                v_at = e;
            if (w >= 0)
                rec |= w ? SNN_REC_V : SNN_REC_SPIKES;
        }
    } else {
        static const char *const keys[] = {"spikes", "v"};
        struct kvs m;
        if (!flatten(c, n, "key", &m))
            return;
        check_keys(c, &m, keys, 2, "'record'");
        struct yn *s = get(c, &m, "spikes"), *v = get(c, &m, "v");
        bool b;
        if (s && get_bool(c, s, "spikes", &b) && b)
            rec |= SNN_REC_SPIKES;
        if (v && v->kind == Y_SEQ) {
            v_at = v;
            if (!charge(c, v, v->n))
                return;
            uint32_t *idx = snn_arena_array(c->net->arena, v->n ? v->n : 1, sizeof *idx);
            if (!idx) {
                nomem(c);
                return;
            }
            for (uint32_t i = 0; i < v->n; i++)
                if (!get_index(c, R(c, v->u.items[i]), "recorded neuron", pop, &idx[i]))
                    return;
            qsort(idx, v->n, sizeof *idx, cmp_u32);
            for (uint32_t i = 1; i < v->n; i++)
                if (idx[i] == idx[i - 1]) {
                    err(c, SNN_ESEMA, v, "'v' lists neuron %u twice", idx[i]);
                    return;
                }
            if (v->n) {
                rec |= SNN_REC_V;
                pop->record_v = idx;
                pop->n_record_v = v->n;
            }
        } else if (v && get_bool(c, v, "v", &b) && b) {
            v_at = v;
            rec |= SNN_REC_V;
        }
    }
    if ((rec & SNN_REC_V) && source) {
        err(c, SNN_ESEMA, v_at, "population '%s' is a spike source (%s): it has no 'v' to record",
            pop->name, snn_models[pop->model].name);
        rec &= ~(unsigned)SNN_REC_V;
        pop->record_v = NULL;
        pop->n_record_v = 0;
    }
    pop->record = rec;
}

/* One population; its index in the net, or -1 after errors. */
static int read_pop(struct ctx *c, struct yn *key, struct yn *node)
{
    static const char *const keys[] = {"size", "model", "params", "init",
                                       "record", "reset", "spike_times"};
    const char *name = key->u.s;
    char where[96];
    snprintf(where, sizeof where, "population '%.60s'", name);
    struct yn *n = R(c, node);
    if (n->kind != Y_MAP) {
        err(c, SNN_ESEMA, node, "population '%.60s' must be a mapping with 'size' and 'model'",
            name);
        return -1;
    }
    struct kvs m;
    if (!flatten(c, n, "key", &m))
        return -1;
    check_keys(c, &m, keys, sizeof keys / sizeof keys[0], where);
    struct yn *size_n = get(c, &m, "size"), *model_n = get(c, &m, "model");
    uint64_t size = 0;
    int model = -1;
    if (!size_n)
        err(c, SNN_ESEMA, key, "population '%.60s' has no 'size'", name);
    else
        get_uint(c, size_n, "size", 1, SNN_FE_MAX_POP_SIZE, &size);
    if (!model_n) {
        err(c, SNN_ESEMA, key, "population '%.60s' has no 'model'", name);
    } else {
        const char *s;
        if (get_scalar(c, model_n, "model", &s)) {
            model = snn_model_lookup(s);
            if (model < 0) {
                const char *names[SNN_MODEL_COUNT];
                for (int i = 0; i < SNN_MODEL_COUNT; i++)
                    names[i] = snn_models[i].name;
                const char *sug = snn_suggest(s, names, SNN_MODEL_COUNT);
                if (sug)
                    err(c, SNN_ESEMA, model_n,
                        "unknown neuron model '%.60s' (did you mean '%s'?)", s, sug);
                else
                    err(c, SNN_ESEMA, model_n, "unknown neuron model '%.60s'", s);
            }
        }
    }
    if (!size || model < 0 || c->y.stop)
        return -1;
    unsigned errors = c->y.errors;
    struct snn_pop *pop = snn_net_add_pop(c->net, name, (enum snn_model)model, (uint32_t)size);
    if (!pop) {
        nomem(c);
        return -1;
    }
    pop->loc = loc_of(c, key);
    struct yn *x;
    if ((x = get(c, &m, "params")))
        read_values(c, pop, x, false);
    if ((x = get(c, &m, "init")))
        read_values(c, pop, x, true);
    if ((x = get(c, &m, "reset"))) {
        static const char *const resets[] = {"to_value", "subtract"};
        if (model != SNN_MODEL_IF) {
            err(c, SNN_ESEMA, find(&m, "reset")->key,
                "'reset' applies only to model 'if', not '%s'", snn_models[model].name);
        } else {
            int r = get_choice(c, x, "reset", resets, 2);
            if (r >= 0)
                pop->reset = r ? SNN_RESET_SUBTRACT : SNN_RESET_TO_VALUE;
        }
    }
    x = get(c, &m, "spike_times");
    if (model == SNN_MODEL_SPIKE_SOURCE_ARRAY)
        read_spike_times(c, pop, x);
    else if (x)
        err(c, SNN_ESEMA, find(&m, "spike_times")->key,
            "'spike_times' applies only to model 'spike_source_array', not '%s'",
            snn_models[model].name);
    if ((x = get(c, &m, "record")))
        read_record(c, pop, x);
    return c->y.errors == errors && !c->y.stop ? (int)(c->net->n_pops - 1) : -1;
}

static int cmp_popname(const void *a, const void *b)
{
    return strcmp(((const struct popname *)a)->name, ((const struct popname *)b)->name);
}

static void read_pops(struct ctx *c, struct yn *node, struct yn *root)
{
    if (!node) {
        err(c, SNN_ESEMA, root, "the network has no 'populations'");
        return;
    }
    struct yn *n = R(c, node);
    struct kvs m;
    if (!get_map(c, n, "populations", "population", false, &m))
        return;
    if (m.n == 0) {
        err(c, SNN_ESEMA, n, "'populations' is empty: a network needs at least one");
        return;
    }
    c->pops = snn_arena_array(c->y.tmp, m.n, sizeof *c->pops);
    if (!c->pops) {
        nomem(c);
        return;
    }
    for (size_t i = 0; i < m.n && !c->y.stop; i++) {
        struct popname *p = &c->pops[c->n_pops++];
        p->name = m.v[i].name;
        p->index = -1;
        if (!is_ident(p->name)) {
            err(c, SNN_ESEMA, m.v[i].key,
                "population name '%.60s' is not an identifier (letters, digits and '_', not "
                "starting with a digit)",
                p->name);
            continue;
        }
        p->index = read_pop(c, m.v[i].key, m.v[i].val);
    }
    qsort(c->pops, c->n_pops, sizeof *c->pops, cmp_popname);
}

/* ---- projections --------------------------------------------------------- */

static bool lookup_pop(struct ctx *c, struct yn *n, const char *key, int *index)
{
    const char *s;
    if (!get_scalar(c, n, key, &s))
        return false;
    struct popname k = {s, 0};
    const struct popname *p = c->pops ? bsearch(&k, c->pops, c->n_pops, sizeof k, cmp_popname)
                                      : NULL;
    if (p) {
        *index = p->index;
        return true;
    }
    const char **names = snn_arena_array(c->y.tmp, c->n_pops ? c->n_pops : 1, sizeof *names);
    if (!names) {
        nomem(c);
        return false;
    }
    for (size_t i = 0; i < c->n_pops; i++)
        names[i] = c->pops[i].name;
    const char *sug = snn_suggest(s, names, c->n_pops);
    if (sug)
        err(c, SNN_ESEMA, n, "'%s': unknown population '%.60s' (did you mean '%s'?)", key, s, sug);
    else
        err(c, SNN_ESEMA, n, "'%s': unknown population '%.60s'", key, s);
    return false;
}

/* The weight's dimension for a post model. */
static enum snn_dim weight_dim(enum snn_model m)
{
    switch (snn_models[m].syn) {
    case SNN_SYN_CURRENT: return SNN_DIM_CURRENT;
    case SNN_SYN_CONDUCTANCE: return SNN_DIM_CONDUCTANCE;
    default: return SNN_DIM_VOLTAGE;
    }
}

/* from_list rows [pre, post], [pre, post, weight] or [pre, post, weight, delay]. */
static bool read_from_list(struct ctx *c, struct yn *rows, const struct snn_pop *pre,
                           const struct snn_pop *post, struct snn_connector *conn)
{
    if (rows->kind != Y_SEQ) {
        err(c, SNN_ESEMA, rows, "'from_list' takes a list of [pre, post] rows, not %s",
            kind_name(rows));
        return false;
    }
    uint32_t nr = rows->n, cols = 2;
    if (nr) {
        struct yn *r0 = R(c, rows->u.items[0]);
        cols = r0->kind == Y_SEQ ? r0->n : 0;
        if (cols < 2 || cols > 4) {
            err(c, SNN_ESEMA, r0,
                "a 'from_list' row is [pre, post], [pre, post, weight] or "
                "[pre, post, weight, delay]");
            return false;
        }
    }
    if (!charge(c, rows, (uint64_t)nr * cols))
        return false;
    /* nr is at most the node count, so these fit in memory. */
    struct snn_arena *a = c->net->arena;
    uint32_t *lp = snn_arena_array(a, nr ? nr : 1, sizeof *lp);
    uint32_t *lq = snn_arena_array(a, nr ? nr : 1, sizeof *lq);
    double *lw = cols >= 3 ? snn_arena_array(a, nr ? nr : 1, sizeof *lw) : NULL;
    double *ld = cols >= 4 ? snn_arena_array(a, nr ? nr : 1, sizeof *ld) : NULL;
    if (!lp || !lq || (cols >= 3 && !lw) || (cols >= 4 && !ld)) {
        nomem(c);
        return false;
    }
    enum snn_dim wd = weight_dim(post->model);
    for (uint32_t i = 0; i < nr; i++) {
        struct yn *r = R(c, rows->u.items[i]);
        if (r->kind != Y_SEQ || r->n != cols) {
            err(c, SNN_ESEMA, r, "'from_list' row %u has %u entries, the first row has %u", i,
                r->kind == Y_SEQ ? r->n : 1, cols);
            return false;
        }
        if (!get_index(c, R(c, r->u.items[0]), "pre", pre, &lp[i]) ||
            !get_index(c, R(c, r->u.items[1]), "post", post, &lq[i]))
            return false;
        if (cols >= 3 && !get_quantity(c, R(c, r->u.items[2]), "weight", wd, &lw[i]))
            return false;
        if (cols >= 4 && !get_quantity(c, R(c, r->u.items[3]), "delay", SNN_DIM_TIME, &ld[i]))
            return false;
    }
    conn->n = nr;
    conn->list_pre = lp;
    conn->list_post = lq;
    conn->list_w = lw;
    conn->list_d = ld;
    return true;
}

/* matrix: n_pre rows of n_post bare numbers, the factors of the weight
 * (read_proj multiplies them by it: the IR holds the weights). */
static bool read_matrix(struct ctx *c, struct yn *rows, const struct snn_pop *pre,
                        const struct snn_pop *post, struct snn_connector *conn)
{
    if (rows->kind != Y_SEQ) {
        err(c, SNN_ESEMA, rows, "'matrix' takes a list of rows, not %s", kind_name(rows));
        return false;
    }
    if (rows->n != pre->size) {
        err(c, SNN_ESEMA, rows, "'matrix' has %u rows, but pre population '%s' has %u neurons",
            rows->n, pre->name, pre->size);
        return false;
    }
    /* Every shape check before the allocation of n_pre x n_post. */
    for (uint32_t i = 0; i < rows->n; i++) {
        struct yn *r = R(c, rows->u.items[i]);
        if (c->y.stop)
            return false;
        if (r->kind != Y_SEQ || r->n != post->size) {
            err(c, SNN_ESEMA, r,
                "'matrix' row %u has %u entries, but post population '%s' has %u neurons", i,
                r->kind == Y_SEQ ? r->n : 1, post->name, post->size);
            return false;
        }
    }
    uint64_t cells = (uint64_t)pre->size * post->size;
    if (!charge(c, rows, cells))
        return false;
    double *mx = alloc_doubles(c, rows, cells, "the 'matrix'");
    if (!mx)
        return false;
    for (uint32_t i = 0; i < rows->n; i++) {
        struct yn *r = rows->u.items[i]->kind == Y_ALIAS ? rows->u.items[i]->u.target
                                                          : rows->u.items[i];
        for (uint32_t j = 0; j < r->n; j++) {
            double *x = &mx[(uint64_t)i * post->size + j];
            if (!get_quantity(c, R(c, r->u.items[j]), "matrix", SNN_DIM_NONE, x))
                return false;
        }
    }
    conn->matrix = mx;
    return true;
}

/* The connector of a projection; *count gets the number of synapses it
 * makes, the length of a per-synapse list (COUNT_NO_LIST when lists do
 * not apply). */
static bool read_connector(struct ctx *c, struct yn *node, uint32_t pre_i, uint32_t post_i,
                           struct snn_connector *conn, uint64_t *count)
{
    const struct snn_pop *pre = &c->net->pops[pre_i], *post = &c->net->pops[post_i];
    struct yn *n = R(c, node);
    int kind = -1;
    struct yn *arg = NULL, *self = NULL, *at = n;
    if (n->kind == Y_SCALAR) {
        kind = get_choice(c, n, "connector", snn_conn_names, SNN_CONN_COUNT);
        if (kind < 0)
            return false;
        if (kind != SNN_CONN_ALL_TO_ALL && kind != SNN_CONN_ONE_TO_ONE) {
            err(c, SNN_ESEMA, n, "connector '%s' needs an argument: write {%s: ...}",
                snn_conn_names[kind], snn_conn_names[kind]);
            return false;
        }
    } else if (n->kind == Y_MAP) {
        struct kvs m;
        if (!flatten(c, n, "key", &m))
            return false;
        const char *names[SNN_CONN_COUNT + 1];
        for (int i = 0; i < SNN_CONN_COUNT; i++)
            names[i] = snn_conn_names[i];
        names[SNN_CONN_COUNT] = "allow_self";
        unsigned before = c->y.errors;
        check_keys(c, &m, names, SNN_CONN_COUNT + 1, "the connector");
        for (size_t i = 0; i < m.n; i++) {
            int k = -1;
            for (int j = 0; j < SNN_CONN_COUNT; j++)
                if (!strcmp(m.v[i].name, snn_conn_names[j]))
                    k = j;
            if (k < 0)
                continue;
            if (kind >= 0) {
                err(c, SNN_ESEMA, m.v[i].key, "a projection has one connector, not '%s' and '%s'",
                    snn_conn_names[kind], snn_conn_names[k]);
                return false;
            }
            kind = k;
            arg = R(c, m.v[i].val);
            at = m.v[i].key;
        }
        if (kind < 0) {
            if (c->y.errors == before)
                err(c, SNN_ESEMA, n, "the connector mapping names no connector (e.g. "
                                     "{fixed_probability: 0.1})");
            return false;
        }
        self = get(c, &m, "allow_self");
        /* all_to_all: {all_to_all: {allow_self: false}} nests the option. */
        if (kind == SNN_CONN_ALL_TO_ALL && arg && arg->kind == Y_MAP) {
            static const char *const opt[] = {"allow_self"};
            struct kvs o;
            if (!flatten(c, arg, "key", &o))
                return false;
            check_keys(c, &o, opt, 1, "'all_to_all'");
            struct yn *s2 = get(c, &o, "allow_self");
            if (s2 && self) {
                err(c, SNN_ESEMA, s2, "'allow_self' given twice");
                return false;
            }
            if (s2)
                self = s2;
            arg = NULL;
        }
        if ((kind == SNN_CONN_ALL_TO_ALL || kind == SNN_CONN_ONE_TO_ONE) && arg &&
            !is_null(arg) && !(arg->kind == Y_MAP && arg->n == 0)) {
            err(c, SNN_ESEMA, arg, "'%s' takes no argument", snn_conn_names[kind]);
            return false;
        }
    } else {
        err(c, SNN_ESEMA, n, "'connector' must be a name or a mapping, not %s", kind_name(n));
        return false;
    }
    conn->kind = (enum snn_conn_kind)kind;
    conn->allow_self = true;
    if (self) {
        if (kind == SNN_CONN_ONE_TO_ONE || kind == SNN_CONN_FROM_LIST || kind == SNN_CONN_MATRIX) {
            err(c, SNN_ESEMA, self, "'allow_self' does not apply to '%s'", snn_conn_names[kind]);
            return false;
        }
        bool b;
        if (!get_bool(c, self, "allow_self", &b))
            return false;
        conn->allow_self = b;
    }
    bool same = pre_i == post_i;
    uint64_t np = pre->size, nq = post->size, v;
    switch (kind) {
    case SNN_CONN_ALL_TO_ALL:
        *count = np * nq - (same && !conn->allow_self ? np : 0);
        return true;
    case SNN_CONN_ONE_TO_ONE:
        if (np != nq) {
            err(c, SNN_ESEMA, at, "'one_to_one' needs populations of the same size, not %llu and "
                                  "%llu", (unsigned long long)np, (unsigned long long)nq);
            return false;
        }
        *count = np;
        return true;
    case SNN_CONN_FIXED_PROBABILITY: {
        double p;
        if (!get_quantity(c, arg, "fixed_probability", SNN_DIM_NONE, &p))
            return false;
        if (!(p >= 0 && p <= 1)) {
            err(c, SNN_ESEMA, arg, "'fixed_probability' must be 0 .. 1, got %g", p);
            return false;
        }
        conn->p = p;
        *count = COUNT_NO_LIST;
        return true;
    }
    case SNN_CONN_FIXED_NUMBER_PRE:
    case SNN_CONN_FIXED_NUMBER_POST: {
        bool is_pre = kind == SNN_CONN_FIXED_NUMBER_PRE;
        uint64_t avail = (is_pre ? np : nq) - (same && !conn->allow_self ? 1 : 0);
        if (!get_uint(c, arg, snn_conn_names[kind], 0, UINT32_MAX, &v))
            return false;
        if (v > avail) {
            err(c, SNN_ESEMA, arg,
                "'%s' asks for %llu distinct %s neurons, but only %llu are available",
                snn_conn_names[kind], (unsigned long long)v, is_pre ? "pre" : "post",
                (unsigned long long)avail);
            return false;
        }
        conn->n = (uint32_t)v;
        *count = COUNT_NO_LIST;
        return true;
    }
    case SNN_CONN_FROM_LIST:
        if (!read_from_list(c, arg, pre, post, conn))
            return false;
        *count = conn->n;
        return true;
    default:
        *count = COUNT_NO_LIST;
        return read_matrix(c, arg, pre, post, conn);
    }
}

static void read_proj(struct ctx *c, uint32_t index, struct yn *node)
{
    static const char *const keys[] = {"name", "pre", "post", "connector",
                                       "receptor", "weight", "delay"};
    char where[48];
    snprintf(where, sizeof where, "projection %u", index + 1);
    struct yn *n = R(c, node);
    if (n->kind != Y_MAP) {
        err(c, SNN_ESEMA, node, "projection %u must be a mapping with 'pre', 'post', "
                                "'connector' and 'weight'", index + 1);
        return;
    }
    struct kvs m;
    if (!flatten(c, n, "key", &m))
        return;
    check_keys(c, &m, keys, sizeof keys / sizeof keys[0], where);
    struct yn *x;
    const char *label = NULL;
    if ((x = get(c, &m, "name")) && get_scalar(c, x, "name", &label) && !is_ident(label)) {
        err(c, SNN_ESEMA, x, "projection name '%.60s' is not an identifier", label);
        label = NULL;
    }
    int pre = -1, post = -1;
    bool ok = true;
    for (int side = 0; side < 2; side++) {
        const char *k = side ? "post" : "pre";
        if (!(x = get(c, &m, k))) {
            err(c, SNN_ESEMA, node, "%s has no '%s'", where, k);
            ok = false;
        } else if (!lookup_pop(c, x, k, side ? &post : &pre)) {
            ok = false;
        }
    }
    if (!ok || pre < 0 || post < 0 || c->y.stop)
        return; /* a missing name, or a population that already had errors */
    const struct snn_pop *pp = &c->net->pops[post];
    if (snn_models[pp->model].is_source) {
        err(c, SNN_ESEMA, get(c, &m, "post"),
            "population '%s' is a spike source (%s) and cannot receive a projection", pp->name,
            snn_models[pp->model].name);
        return;
    }
    enum snn_dim wd = weight_dim(pp->model);
    struct snn_proj *p = snn_net_add_proj(c->net, (uint32_t)pre, (uint32_t)post);
    if (!p) {
        nomem(c);
        return;
    }
    p->loc = loc_of(c, node);
    if (label && !(p->name = snn_arena_strdup(c->net->arena, label))) {
        nomem(c);
        return;
    }
    if ((x = get(c, &m, "receptor"))) {
        static const char *const recs[] = {"excitatory", "inhibitory"};
        int r = get_choice(c, x, "receptor", recs, 2);
        if (r >= 0)
            p->receptor = r ? SNN_RECEPTOR_INH : SNN_RECEPTOR_EXC;
    }
    uint64_t count = 0;
    if (!(x = get(c, &m, "connector"))) {
        err(c, SNN_ESEMA, node, "%s has no 'connector'", where);
        count = COUNT_UNCHECKED;
    } else if (!read_connector(c, x, (uint32_t)pre, (uint32_t)post, &p->conn, &count)) {
        count = COUNT_UNCHECKED; /* still check weight and delay */
    }
    if (c->y.stop)
        return;
    struct yn *w = get(c, &m, "weight"), *dl = get(c, &m, "delay");
    if (p->conn.list_w && w) {
        err(c, SNN_ESEMA, find(&m, "weight")->key,
            "'weight' given twice: in the rows of 'from_list' and here");
    } else if (w) {
        struct yn *wn = find(&m, "weight")->val;
        if (get_value(c, wn, "weight", wd, count, "synapses", &p->weight) &&
            p->conn.kind == SNN_CONN_MATRIX && p->conn.matrix) {
            if (p->weight.kind != SNN_VAL_CONST) {
                err(c, SNN_ESEMA, wn,
                    "with 'matrix', 'weight' must be a single quantity: the matrix entries "
                    "are multiples of it");
            } else {
                /* The IR holds the weights themselves; the matrix is ours. */
                double *mx = (double *)p->conn.matrix;
                uint64_t cells = (uint64_t)c->net->pops[pre].size * pp->size;
                for (uint64_t k = 0; k < cells; k++)
                    mx[k] *= p->weight.c;
            }
        }
    } else if (!p->conn.list_w) {
        err(c, SNN_ESEMA, node, "%s has no 'weight' (in %s)", where, snn_dim_unit(wd));
    }
    if (p->conn.list_d && dl)
        err(c, SNN_ESEMA, find(&m, "delay")->key,
            "'delay' given twice: in the rows of 'from_list' and here");
    else if (dl)
        get_value(c, find(&m, "delay")->val, "delay", SNN_DIM_TIME, count, "synapses", &p->delay);
}

static void read_projs(struct ctx *c, struct yn *node)
{
    struct yn *n = R(c, node);
    if (is_null(n))
        return;
    if (n->kind != Y_SEQ) {
        err(c, SNN_ESEMA, node, "'projections' must be a list, not %s", kind_name(n));
        return;
    }
    for (uint32_t i = 0; i < n->n && !c->y.stop; i++)
        read_proj(c, i, n->u.items[i]);
}

/* ---- layer graphs (docs/network-format.md, "Layer graphs") ---------------- */

/* A path from the description, relative to the folder of its file (an
 * absolute path is kept), in the scratch arena. */
static char *rel_path(struct ctx *c, const char *path)
{
    const char *slash = strrchr(c->y.file ? c->y.file : "", '/');
    size_t dir = path[0] == '/' || !slash ? 0 : (size_t)(slash - c->y.file) + 1;
    size_t n = strlen(path);
    char *s = snn_arena_alloc(c->y.tmp, dir + n + 1);
    if (!s) {
        nomem(c);
        return NULL;
    }
    memcpy(s, c->y.file, dir);
    memcpy(s + dir, path, n + 1);
    return s;
}

static bool is_npy_name(const char *s)
{
    size_t n = strlen(s);
    return n > 4 && !strcmp(s + n - 4, ".npy");
}

/* Reads the .npy file named by the scalar n into *out (values in the
 * network's arena, src the path as written). */
static bool read_npy(struct ctx *c, struct yn *n, const char *key, struct snn_array *out)
{
    const char *s;
    if (!get_scalar(c, n, key, &s))
        return false;
    if (!is_npy_name(s)) {
        err(c, SNN_ESEMA, n, "'%s' names a file, and it must end in .npy, got '%.60s'", key, s);
        return false;
    }
    char *path = rel_path(c, s);
    const char *src = snn_arena_strdup(c->net->arena, s);
    if (!path || !src) {
        nomem(c);
        return false;
    }
    struct snn_loc at = loc_of(c, n);
    struct snn_array a = {0};
    int rc = snn_npy_read(path, c->net->arena, c->y.stop ? NULL : c->y.d, &at, &a);
    if (rc == SNN_ENOMEM) {
        nomem(c);
        return false;
    }
    if (rc) {
        /* snn_npy_read has reported it: count it as one of ours. */
        if (!c->y.rc || (rc == SNN_ETOOBIG && c->y.rc == SNN_ESEMA))
            c->y.rc = rc == SNN_ETOOBIG ? SNN_ETOOBIG : SNN_ESEMA;
        if (++c->y.errors >= SNN_FE_MAX_ERRORS)
            c->y.stop = true;
        return false;
    }
    a.src = src;
    *out = a;
    return true;
}

/* A per-channel array: a .npy file, one number for all `channels` (0:
 * unknown yet), or a list of numbers. */
static bool read_vector(struct ctx *c, struct yn *node, const char *key, uint32_t channels,
                        struct snn_array *out)
{
    struct yn *n = R(c, node);
    struct snn_array a = {.ndim = 1, .src = "inline"};
    if (n->kind == Y_SCALAR && !is_null(n) && is_npy_name(n->u.s))
        return read_npy(c, n, key, out);
    if (n->kind == Y_SCALAR && !is_null(n)) {
        double x;
        if (!get_quantity(c, n, key, SNN_DIM_NONE, &x))
            return false;
        if (!channels) {
            err(c, SNN_ESEMA, n, "'%s': one value for every channel needs 'channels' on the "
                                 "layer (or give a list or a .npy file)", key);
            return false;
        }
        if (!(a.v = alloc_doubles(c, n, channels, key)))
            return false;
        for (uint32_t i = 0; i < channels; i++)
            a.v[i] = x;
        a.dims[0] = channels;
    } else if (n->kind == Y_SEQ) {
        if (!charge(c, n, n->n) || !(a.v = alloc_doubles(c, n, n->n, key)))
            return false;
        for (uint32_t i = 0; i < n->n; i++)
            if (!get_quantity(c, R(c, n->u.items[i]), key, SNN_DIM_NONE, &a.v[i]))
                return false;
        a.dims[0] = n->n;
    } else {
        err(c, SNN_ESEMA, node, "'%s' must be a .npy file, a number or a list of numbers, not %s",
            key, kind_name(n));
        return false;
    }
    *out = a;
    return true;
}

/* Whether x = 2^k for a whole k in [lo, hi]; *k gets it. */
static bool log2_exact(double x, int lo, int hi, int *k)
{
    for (*k = lo; *k <= hi; ++*k)
        if (x == ldexp(1.0, *k))
            return true;
    return false;
}

/* tau: a power of two (the verifier checks 2 .. 256). */
static bool read_tau(struct ctx *c, struct yn *n, uint32_t *shift)
{
    double t;
    if (!get_quantity(c, n, "tau", SNN_DIM_NONE, &t))
        return false;
    int k;
    if (!log2_exact(t, 0, 31, &k)) {
        err(c, SNN_ESEMA, n, "tau %g: tau must be a power of two (2, 4, 8, ... 256): the decay "
                             "is a shift", t);
        return false;
    }
    *shift = (uint32_t)k;
    return true;
}

static bool read_u32(struct ctx *c, struct yn *n, const char *key, uint32_t *out)
{
    uint64_t v;
    if (!get_uint(c, n, key, 0, UINT32_MAX, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool read_real(struct ctx *c, struct yn *n, const char *key, double *out)
{
    return get_quantity(c, n, key, SNN_DIM_NONE, out);
}

/* generate: {density: D} for a spike input, {} for pixels, {lo: L, hi: H}
 * for weights (default [-1, 1)). */
static void read_gen(struct ctx *c, struct yn *node, struct snn_lnode *ln, struct snn_gen *g)
{
    struct kvs m;
    if (!get_map(c, R(c, node), "generate", "key", true, &m))
        return;
    struct snn_gen x = {.on = true};
    struct yn *v;
    if (ln->op == SNN_L_INPUT) {
        static const char *const keys[] = {"density"};
        check_keys(c, &m, keys, 1, "'generate' of an input");
        v = get(c, &m, "density");
        if (ln->u.input.kind == SNN_T_SPIKES) {
            if (!v)
                err(c, SNN_ESEMA, node, "'generate' of a spike input needs 'density', the "
                                        "probability of a spike (0 .. 1)");
            else
                read_real(c, v, "density", &x.density);
        } else if (v) {
            err(c, SNN_ESEMA, find(&m, "density")->key,
                "'density' applies to spike inputs; pixels are drawn from 0 .. 255");
        }
    } else {
        static const char *const keys[] = {"lo", "hi"};
        check_keys(c, &m, keys, 2, "'generate' of weights");
        x.lo = -1;
        x.hi = 1;
        if ((v = get(c, &m, "lo")))
            read_real(c, v, "lo", &x.lo);
        if ((v = get(c, &m, "hi")))
            read_real(c, v, "hi", &x.hi);
    }
    *g = x;
}

/* bn: {weight, bias, mean, var, eps}: batch norm after a convolution. */
static void read_bn(struct ctx *c, struct yn *node, struct snn_lconv *cv)
{
    static const char *const keys[] = {"weight", "bias", "mean", "var", "eps"};
    struct kvs m;
    if (!get_map(c, R(c, node), "bn", "key", false, &m))
        return;
    check_keys(c, &m, keys, 5, "'bn'");
    cv->bn = true;
    struct snn_array *dst[] = {&cv->bn_gamma, &cv->bn_beta, &cv->bn_mean, &cv->bn_var};
    for (int i = 0; i < 4; i++) {
        struct kv *p = find(&m, keys[i]);
        if (!p)
            err(c, SNN_ESEMA, node, "'bn' has no '%s'", keys[i]);
        else
            read_vector(c, p->val, keys[i], cv->depthwise ? 0 : cv->out_channels, dst[i]);
    }
    struct yn *v = get(c, &m, "eps");
    if (v)
        read_real(c, v, "eps", &cv->bn_eps);
}

/* The keys each op takes (name, op and in aside). */
static const char *const *op_keys(enum snn_lop op, size_t *n)
{
    static const char *const input[] = {"shape", "kind", "data", "generate"};
    static const char *const conv[] = {"channels", "kernel", "stride", "pad", "depthwise",
                                       "bits", "weight", "generate", "scale", "bias", "bn"};
    static const char *const lif[] = {"tau", "threshold"};
    static const char *const ilif[] = {"decay", "d_max"};
    static const char *const pool[] = {"kernel", "stride", "pad"};
    static const char *const sumpool[] = {"mean"};
    static const char *const sdsa2[] = {"heads", "scale"};
#define KEYS(a) (*n = sizeof a / sizeof a[0], a)
    switch (op) {
    case SNN_L_INPUT: return KEYS(input);
    case SNN_L_CONV: return KEYS(conv);
    case SNN_L_LIF:
    case SNN_L_SDSA1: return KEYS(lif);
    case SNN_L_ILIF: return KEYS(ilif);
    case SNN_L_MAXPOOL: return KEYS(pool);
    case SNN_L_SUMPOOL: return KEYS(sumpool);
    case SNN_L_SDSA2: return KEYS(sdsa2);
    default: *n = 0; return NULL;
    }
#undef KEYS
}

/* in: a layer's name or a list of names, each an earlier layer. */
static bool read_inputs(struct ctx *c, struct yn *node, struct snn_lnode *ln)
{
    const struct snn_layer_graph *g = c->net->layers;
    struct yn *n = R(c, node);
    uint32_t k = n->kind == Y_SEQ ? n->n : 1;
    if (k > 3) {
        err(c, SNN_ESEMA, node, "'in' lists %u layers; a layer takes at most 3 inputs", k);
        return false;
    }
    for (uint32_t i = 0; i < k; i++) {
        struct yn *e = n->kind == Y_SEQ ? R(c, n->u.items[i]) : n;
        const char *s;
        if (!get_scalar(c, e, "in", &s))
            return false;
        int at = snn_layers_find(g, s);
        if (at < 0 || (uint32_t)at + 1 >= g->n_nodes) { /* unknown, or this layer itself */
            /* candidates: the nearest layers above */
            const char *names[64];
            size_t m = 0;
            for (uint32_t j = g->n_nodes - 1; j-- > 0 && m < 64;)
                names[m++] = g->nodes[j].name;
            const char *sug = snn_suggest(s, names, m);
            if (sug)
                err(c, SNN_ESEMA, e, "no layer '%.60s' above this one (did you mean '%s'?)", s,
                    sug);
            else
                err(c, SNN_ESEMA, e, "no layer '%.60s' above this one (a layer's inputs come "
                                     "before it)", s);
            return false;
        }
        ln->in[i] = (uint32_t)at;
    }
    ln->n_in = k;
    return true;
}

static void read_node(struct ctx *c, uint32_t index, struct yn *node)
{
    char where[80];
    snprintf(where, sizeof where, "layer %u", index + 1);
    struct yn *n = R(c, node);
    if (n->kind != Y_MAP) {
        err(c, SNN_ESEMA, node, "%s must be a mapping with 'name' and 'op'", where);
        return;
    }
    struct kvs m;
    if (!flatten(c, n, "key", &m))
        return;
    struct yn *x;
    const char *name = NULL;
    if (!(x = get(c, &m, "name"))) {
        err(c, SNN_ESEMA, node, "%s has no 'name'", where);
    } else if (get_scalar(c, x, "name", &name)) {
        if (!is_ident(name)) {
            err(c, SNN_ESEMA, x, "layer name '%.60s' is not an identifier", name);
            name = NULL;
        } else if (snn_layers_find(c->net->layers, name) >= 0) {
            err(c, SNN_ESEMA, x, "layer '%.60s' is defined twice", name);
            name = NULL;
        }
    }
    const char *ops[SNN_L_FLATTEN + 1];
    for (int i = 0; i <= SNN_L_FLATTEN; i++)
        ops[i] = snn_lop_name((enum snn_lop)i);
    int op = -1;
    if (!(x = get(c, &m, "op")))
        err(c, SNN_ESEMA, node, "%s has no 'op' (%s, %s, %s, ...)", where, ops[0], ops[1],
            ops[2]);
    else
        op = get_choice(c, x, "op", ops, SNN_L_FLATTEN + 1);
    if (name)
        snprintf(where, sizeof where, "layer '%.60s'", name);
    if (op < 0)
        return;
    size_t nk;
    const char *const *ok = op_keys((enum snn_lop)op, &nk);
    const char *keys[16] = {"name", "op", "in"};
    size_t nkeys = op == SNN_L_INPUT ? 2 : 3;
    for (size_t i = 0; i < nk; i++)
        keys[nkeys++] = ok[i];
    check_keys(c, &m, keys, nkeys, where);
    if (op != SNN_L_INPUT && !find(&m, "in"))
        err(c, SNN_ESEMA, node, "%s has no 'in' (the layer or layers it reads)", where);
    if (!name || c->y.stop)
        return;
    struct snn_lnode *ln = snn_layers_add(c->net, name, (enum snn_lop)op);
    if (!ln) {
        nomem(c);
        return;
    }
    ln->loc = loc_of(c, node);
    if ((x = get(c, &m, "in")) && !read_inputs(c, find(&m, "in")->val, ln))
        ln->n_in = 0;
    switch (ln->op) {
    case SNN_L_INPUT: {
        if ((x = get(c, &m, "shape"))) {
            uint32_t *d3[3] = {&ln->u.input.shape.c, &ln->u.input.shape.h, &ln->u.input.shape.w};
            if (x->kind != Y_SEQ || x->n != 3)
                err(c, SNN_ESEMA, x, "'shape' takes [channels, height, width]");
            else
                for (int i = 0; i < 3; i++)
                    if (!read_u32(c, R(c, x->u.items[i]), "shape", d3[i]))
                        break;
        } else {
            err(c, SNN_ESEMA, node, "%s has no 'shape' ([channels, height, width])", where);
        }
        if ((x = get(c, &m, "kind"))) {
            static const char *const kinds[] = {"spikes", "counts"};
            int k = get_choice(c, x, "kind", kinds, 2);
            if (k >= 0)
                ln->u.input.kind = k ? SNN_T_COUNTS : SNN_T_SPIKES;
        }
        struct yn *data = get(c, &m, "data"), *gen = get(c, &m, "generate");
        if (data && gen)
            err(c, SNN_ESEMA, find(&m, "generate")->key,
                "an input takes 'data' or 'generate', not both");
        else if (data)
            read_npy(c, data, "data", &ln->u.input.data);
        else if (gen)
            read_gen(c, find(&m, "generate")->val, ln, &ln->u.input.gen);
        break;
    }
    case SNN_L_CONV: {
        struct snn_lconv *cv = &ln->u.conv;
        if ((x = get(c, &m, "depthwise")))
            get_bool(c, x, "depthwise", &cv->depthwise);
        if ((x = get(c, &m, "channels")))
            read_u32(c, x, "channels", &cv->out_channels);
        else if (!cv->depthwise)
            err(c, SNN_ESEMA, node, "%s has no 'channels' (its output channels)", where);
        if ((x = get(c, &m, "kernel")))
            read_u32(c, x, "kernel", &cv->kernel);
        if ((x = get(c, &m, "stride")))
            read_u32(c, x, "stride", &cv->stride);
        if ((x = get(c, &m, "pad")))
            read_u32(c, x, "pad", &cv->pad);
        if ((x = get(c, &m, "bits")))
            read_u32(c, x, "bits", &cv->bits);
        struct yn *w = get(c, &m, "weight"), *gen = get(c, &m, "generate");
        if (w && gen)
            err(c, SNN_ESEMA, find(&m, "generate")->key,
                "a convolution takes 'weight' or 'generate', not both");
        else if (w)
            read_npy(c, w, "weight", &cv->weight);
        else if (gen)
            read_gen(c, find(&m, "generate")->val, ln, &cv->weight_gen);
        uint32_t ch = cv->out_channels;
        if ((x = find(&m, "scale") ? find(&m, "scale")->val : NULL))
            read_vector(c, x, "scale", ch, &cv->scale);
        if ((x = find(&m, "bias") ? find(&m, "bias")->val : NULL))
            read_vector(c, x, "bias", ch, &cv->bias);
        if ((x = find(&m, "bn") ? find(&m, "bn")->val : NULL))
            read_bn(c, x, cv);
        break;
    }
    case SNN_L_LIF:
    case SNN_L_SDSA1: {
        uint32_t *tau = ln->op == SNN_L_LIF ? &ln->u.lif.tau_shift : &ln->u.sdsa1.tau_shift;
        double *th = ln->op == SNN_L_LIF ? &ln->u.lif.threshold : &ln->u.sdsa1.threshold;
        if ((x = get(c, &m, "tau")))
            read_tau(c, x, tau);
        if ((x = get(c, &m, "threshold")))
            read_real(c, x, "threshold", th);
        break;
    }
    case SNN_L_ILIF:
        if ((x = get(c, &m, "decay"))) {
            double dcy;
            if (read_real(c, x, "decay", &dcy)) {
                int k;
                if (!log2_exact(dcy, -31, 0, &k))
                    err(c, SNN_ESEMA, x, "decay %g: it must be a power of two (1, 0.5, 0.25, "
                                         "... 1/256): the decay is a shift", dcy);
                else
                    ln->u.ilif.decay_shift = (uint32_t)-k;
            }
        }
        if ((x = get(c, &m, "d_max")))
            read_u32(c, x, "d_max", &ln->u.ilif.d_max);
        break;
    case SNN_L_MAXPOOL:
        if ((x = get(c, &m, "kernel")))
            read_u32(c, x, "kernel", &ln->u.pool.kernel);
        if ((x = get(c, &m, "stride")))
            read_u32(c, x, "stride", &ln->u.pool.stride);
        if ((x = get(c, &m, "pad")))
            read_u32(c, x, "pad", &ln->u.pool.pad);
        break;
    case SNN_L_SUMPOOL:
        if ((x = get(c, &m, "mean")))
            get_bool(c, x, "mean", &ln->u.sumpool.mean);
        break;
    case SNN_L_SDSA2:
        if ((x = get(c, &m, "heads")))
            read_u32(c, x, "heads", &ln->u.sdsa2.heads);
        if ((x = get(c, &m, "scale")))
            read_real(c, x, "scale", &ln->u.sdsa2.scale);
        break;
    default: break;
    }
}

/* layers: {timesteps, output, nodes} */
static void read_layers(struct ctx *c, struct yn *node)
{
    static const char *const keys[] = {"timesteps", "output", "nodes"};
    struct kvs m;
    if (!get_map(c, R(c, node), "layers", "key", false, &m))
        return;
    check_keys(c, &m, keys, 3, "'layers'");
    struct snn_layer_graph *g = snn_net_layers(c->net);
    if (!g) {
        nomem(c);
        return;
    }
    struct yn *x;
    uint64_t t;
    if ((x = get(c, &m, "timesteps")) && get_uint(c, x, "timesteps", 1, 65535, &t))
        g->timesteps = (uint32_t)t;
    struct yn *nodes = get(c, &m, "nodes");
    if (!nodes) {
        err(c, SNN_ESEMA, node, "'layers' has no 'nodes' (the list of layers)");
        return;
    }
    if (nodes->kind != Y_SEQ || nodes->n == 0) {
        err(c, SNN_ESEMA, nodes, "'nodes' must be a list of layers, not %s",
            nodes->kind == Y_SEQ ? "an empty list" : kind_name(nodes));
        return;
    }
    for (uint32_t i = 0; i < nodes->n && !c->y.stop; i++)
        read_node(c, i, nodes->u.items[i]);
    const char *s;
    if ((x = get(c, &m, "output")) && get_scalar(c, x, "output", &s)) {
        int at = snn_layers_find(g, s);
        if (at < 0) {
            err(c, SNN_ESEMA, x, "'output': no layer is called '%.60s'", s);
        } else {
            g->output = (uint32_t)at;
            g->has_output = true;
        }
    }
}

/* ---- the document -------------------------------------------------------- */

static void read_root(struct ctx *c, struct yn *root)
{
    static const char *const keys[] = {"snn",         "name",        "timestep",
                                       "duration",    "seed",        "populations",
                                       "projections", "definitions", "layers"};
    struct yn *n = R(c, root);
    if (n->kind != Y_MAP) {
        err(c, SNN_ESEMA, root, "expected a network: a mapping that starts with 'snn: 1'");
        return;
    }
    struct kvs m;
    if (!flatten(c, n, "key", &m))
        return;
    struct yn *x = get(c, &m, "snn");
    uint64_t version;
    if (!x) {
        err(c, SNN_ESEMA, root, "missing 'snn: 1', the version of the format");
    } else if (x->kind == Y_SCALAR && !strcmp(x->u.s, "1")) {
        /* version 1 */
    } else {
        if (get_uint(c, x, "snn", 0, UINT64_MAX, &version))
            err(c, SNN_ESEMA, x, "unsupported format version %llu (this snnc reads 'snn: 1')",
                (unsigned long long)version);
        return;
    }
    check_keys(c, &m, keys, sizeof keys / sizeof keys[0], "the network");
    const char *s;
    if ((x = get(c, &m, "name")) && get_scalar(c, x, "name", &s) &&
        !(c->net->name = snn_arena_strdup(c->net->arena, s)))
        nomem(c);
    double t;
    if ((x = get(c, &m, "timestep")) && get_quantity(c, x, "timestep", SNN_DIM_TIME, &t)) {
        if (t > 0)
            c->net->dt_ms = t;
        else
            err(c, SNN_ESEMA, x, "'timestep' must be above 0 ms");
    }
    if ((x = get(c, &m, "duration")) && get_quantity(c, x, "duration", SNN_DIM_TIME, &t)) {
        if (t >= 0)
            c->net->duration_ms = t;
        else
            err(c, SNN_ESEMA, x, "'duration' must not be negative");
    }
    uint64_t seed;
    if ((x = get(c, &m, "seed")) && get_uint(c, x, "seed", 0, UINT64_MAX, &seed))
        c->net->seed = seed;
    if ((x = find(&m, "layers") ? find(&m, "layers")->val : NULL)) {
        struct kv *p = find(&m, "populations") ? find(&m, "populations")
                                               : find(&m, "projections");
        if (p)
            err(c, SNN_ESEMA, p->key, "a network has populations or layers, not both");
        else if (!c->y.stop)
            read_layers(c, x);
        return;
    }
    if (!c->y.stop)
        read_pops(c, find(&m, "populations") ? find(&m, "populations")->val : NULL, root);
    if (!c->y.stop && (x = find(&m, "projections") ? find(&m, "projections")->val : NULL))
        read_projs(c, x);
}

int snn_yaml_parse(const char *file, const char *text, size_t len, struct snn_diag *d,
                   struct snn_net **out)
{
    *out = NULL;
    struct ctx c = {0};
    if (snn__yr_init(&c.y, file, text, len, d, "network"))
        return SNN_ENOMEM;
    c.net = snn_net_new();
    if (!c.net) {
        snn__yr_fini(&c.y);
        return SNN_ENOMEM;
    }
    struct yn *root = NULL;
    if (!snn__yr_build(&c.y, &root)) {
        if (!root) {
            struct yn at = {.width = 1};
            err(&c, SNN_ESEMA, &at, "the file is empty: expected a network starting with 'snn: 1'");
        } else {
            read_root(&c, root);
        }
    }
    snn__yr_fini(&c.y);
    if (!c.y.rc && c.y.errors)
        c.y.rc = SNN_ESEMA;
    if (!c.y.rc) {
        int rc = snn_ir_verify(c.net, d);
        if (!rc)
            rc = snn_layers_verify(c.net, d);
        if (rc)
            c.y.rc = rc;
    }
    if (c.y.rc) {
        snn_net_free(c.net);
        return c.y.rc;
    }
    *out = c.net;
    return 0;
}

/* ---- files --------------------------------------------------------------- */

int snn_frontend_load(const char *path, struct snn_diag *d, struct snn_net **out)
{
    *out = NULL;
    struct snn_loc file_loc = {path, 0, 0, 0};
    size_t plen = strlen(path);
    if (plen > 4 && !strcmp(path + plen - 4, ".nir")) {
        snn_diag_error(d, &file_loc, "NIR files are not supported yet");
        return SNN_EUNSUPPORTED;
    }
    char *text = NULL;
    size_t len = 0;
    int rc = snn__fe_read_file(path, d, &text, &len);
    if (rc)
        return rc;
    rc = snn_diag_add_source(d, path, text, len);
    if (!rc)
        rc = snn_yaml_parse(path, text, len, d, out);
    snn_free(text);
    return rc;
}

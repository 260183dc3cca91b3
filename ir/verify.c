/*
 * ir/verify.c: the verifier of the network view.
 *
 * Takes a network (built by a front end, the text parser or a pass) and a
 * diagnostics sink; reports every broken invariant it finds to the sink
 * and returns SNN_ESEMA if there was any, else 0.  It never changes the
 * network and never fails for lack of memory (the duplicate checks fall
 * back to a quadratic scan when no scratch memory is available).
 *
 * Each message names the population or projection and the parameter, and
 * is placed at the value's own location when the front end recorded one,
 * else at the population's or projection's, else nowhere.  A list with
 * many bad entries is reported once (its first bad entry), so one mistake
 * cannot flood the output.  The rules are listed in docs/ir-text.md,
 * "What the verifier checks".
 *
 * Distributions are checked by their range: uniform(low, high) draws from
 * [low, high); a bounded normal from [lo, hi]; an unbounded normal with
 * sd > 0 can draw anything.  A one-sided rule (tau_m > 0) must hold on the
 * whole range; a rule between two parameters (v_reset < v_thresh) is
 * checked neuron by neuron when both are constants or lists, and otherwise
 * only reported when the ranges make it fail for every draw.
 */
#include "ir/expand.h"
#include "ir/ir.h"
#include "ir/ir_int.h"
#include "support/arena.h"
#include "support/err.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest population: indices and counts are signed 32-bit in several
 * targets' tables, so sizes stay below 2^31. */
#define MAX_POP_SIZE 2147483647u

/* How close delay / dt must be to a whole number to count as one: far
 * below any dt a user writes, far above the rounding error of a division. */
#define DELAY_STEP_TOL 1e-6

struct vctx {
    const struct snn_net *net;
    struct snn_diag *d;
    unsigned errors;
};

/* What a population's or projection's messages start with. */
struct who {
    char s[200];
};

/* Reports one error: "<who>: <message>". */
static void report(struct vctx *c, const struct snn_loc *loc, const struct who *w, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
static void report(struct vctx *c, const struct snn_loc *loc, const struct who *w, const char *fmt,
                   ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->errors++;
    if (w)
        snn_diag_error(c->d, loc, "%s: %s", w->s, msg);
    else
        snn_diag_error(c->d, loc, "%s", msg);
}

/* The best location: the value's own, else the fallback, else none. */
static const struct snn_loc *pick(const struct snn_value *v, const struct snn_loc *fb)
{
    if (v && v->loc.file)
        return &v->loc;
    if (fb && fb->file)
        return fb;
    return NULL;
}

/* "20 ms", "-65 mV", "0.5" (a quantity for messages). */
struct qty {
    char s[48];
};

static struct qty q(double x, const char *unit)
{
    struct qty r;
    snprintf(r.s, sizeof r.s, "%g%s%s", x, unit && *unit ? " " : "", unit ? unit : "");
    return r;
}

static bool model_ok(enum snn_model m) { return (unsigned)m < SNN_MODEL_COUNT; }

static struct who pop_who(const struct snn_pop *p)
{
    struct who w;
    snprintf(w.s, sizeof w.s, "population '%.80s'", p->name ? p->name : "");
    return w;
}

static struct who proj_who(const struct snn_net *net, uint32_t i)
{
    const struct snn_proj *pj = &net->projs[i];
    struct who w;
    if (pj->name && *pj->name)
        snprintf(w.s, sizeof w.s, "projection '%.80s'", pj->name);
    else if (pj->pre < net->n_pops && pj->post < net->n_pops)
        snprintf(w.s, sizeof w.s, "projection %u ('%.50s' -> '%.50s')", i,
                 net->pops[pj->pre].name ? net->pops[pj->pre].name : "",
                 net->pops[pj->post].name ? net->pops[pj->post].name : "");
    else
        snprintf(w.s, sizeof w.s, "projection %u", i);
    return w;
}

/* ---- values ------------------------------------------------------------ */

/* A one-sided rule on every value a parameter can take. */
enum rule { R_FINITE, R_POSITIVE, R_NONNEG };

static const char *rule_text(enum rule r) { return r == R_POSITIVE ? "> 0" : ">= 0"; }

static bool rule_holds(enum rule r, double x)
{
    return r == R_FINITE || (r == R_POSITIVE ? x > 0 : x >= 0);
}

/* The set of values a well-formed value can take: [lo, hi], or anything
 * when !bounded (an unbounded normal with sd > 0). */
struct range {
    bool bounded;
    double lo, hi;
};

static struct range value_range(const struct snn_value *v)
{
    struct range r = {true, v->c, v->c};
    switch (v->kind) {
    case SNN_VAL_CONST: break;
    case SNN_VAL_LIST:
        r.lo = INFINITY;
        r.hi = -INFINITY;
        for (uint32_t i = 0; i < v->n; i++) {
            if (v->list[i] < r.lo)
                r.lo = v->list[i];
            if (v->list[i] > r.hi)
                r.hi = v->list[i];
        }
        break;
    case SNN_VAL_UNIFORM:
        r.lo = v->a;
        r.hi = v->b;
        break;
    case SNN_VAL_NORMAL:
        if (v->bounded) {
            r.lo = v->lo;
            r.hi = v->hi;
        } else if (v->b == 0) {
            r.lo = r.hi = v->a;
        } else {
            r.bounded = false;
        }
        break;
    }
    return r;
}

/* What a value describes, for the checks of its shape and range. */
struct vdesc {
    const struct who *who;
    const char *name;         /* "tau_m", "weight", "initial v" */
    const char *unit;         /* internal unit, "" for none */
    const char *item;         /* what a list entry is: "neuron", "synapse" */
    uint64_t want_n;          /* required list length; UINT64_MAX: any */
    const struct snn_loc *fb; /* fallback location */
};

/*
 * Checks a value's shape (a known kind, finite numbers, a list of the
 * right length, low <= high, sd >= 0, lo <= hi) and then rule r on its
 * whole range.  Returns true when no error was reported.
 */
static bool check_value(struct vctx *c, const struct vdesc *vd, const struct snn_value *v,
                        enum rule r)
{
    const struct snn_loc *loc = pick(v, vd->fb);
    unsigned before = c->errors;
    const char *u = vd->unit;
    switch (v->kind) {
    case SNN_VAL_CONST:
        if (!isfinite(v->c))
            report(c, loc, vd->who, "%s must be finite, got %g", vd->name, v->c);
        else if (!rule_holds(r, v->c))
            report(c, loc, vd->who, "%s must be %s %s, got %s", vd->name, rule_text(r), u,
                   q(v->c, u).s);
        break;
    case SNN_VAL_LIST:
        if (v->n > 0 && !v->list) {
            report(c, loc, vd->who, "%s is a list of %u values with no storage", vd->name, v->n);
            break;
        }
        if (vd->want_n != UINT64_MAX && v->n != vd->want_n)
            report(c, loc, vd->who, "%s lists %u values, expected one per %s (%llu)", vd->name,
                   v->n, vd->item, (unsigned long long)vd->want_n);
        for (uint32_t i = 0; i < v->n; i++) {
            double x = v->list[i];
            if (!isfinite(x)) {
                report(c, loc, vd->who, "%s must be finite, got %g for %s %u", vd->name, x,
                       vd->item, i);
                break;
            }
            if (!rule_holds(r, x)) {
                report(c, loc, vd->who, "%s must be %s %s, got %s for %s %u", vd->name,
                       rule_text(r), u, q(x, u).s, vd->item, i);
                break;
            }
        }
        break;
    case SNN_VAL_UNIFORM:
        if (!isfinite(v->a) || !isfinite(v->b)) {
            report(c, loc, vd->who, "%s: uniform bounds must be finite, got %g and %g", vd->name,
                   v->a, v->b);
        } else if (v->a > v->b) {
            report(c, loc, vd->who, "%s: uniform low %s is above high %s", vd->name, q(v->a, u).s,
                   q(v->b, u).s);
        } else if (!rule_holds(r, v->a)) {
            report(c, loc, vd->who, "%s must be %s %s, but uniform low is %s", vd->name,
                   rule_text(r), u, q(v->a, u).s);
        }
        break;
    case SNN_VAL_NORMAL:
        if (!isfinite(v->a) || !isfinite(v->b)) {
            report(c, loc, vd->who, "%s: normal mean and sd must be finite, got %g and %g",
                   vd->name, v->a, v->b);
            break;
        }
        if (v->b < 0) {
            report(c, loc, vd->who, "%s: normal sd must be >= 0 %s, got %s", vd->name, u,
                   q(v->b, u).s);
            break;
        }
        if (v->bounded) {
            if (!isfinite(v->lo) || !isfinite(v->hi)) {
                report(c, loc, vd->who, "%s: normal bounds must be finite, got %g and %g", vd->name,
                       v->lo, v->hi);
                break;
            }
            if (v->lo > v->hi) {
                report(c, loc, vd->who, "%s: normal bounds are reversed (%s > %s)", vd->name,
                       q(v->lo, u).s, q(v->hi, u).s);
                break;
            }
            if ((unsigned)v->bound_mode > SNN_BOUND_REDRAW) {
                report(c, loc, vd->who, "%s: unknown bound mode %d", vd->name, (int)v->bound_mode);
                break;
            }
            /* Redrawing from a set of zero probability never ends. */
            if (v->bound_mode == SNN_BOUND_REDRAW &&
                ((v->b == 0 && (v->a < v->lo || v->a > v->hi)) || (v->b > 0 && v->lo == v->hi))) {
                report(c, loc, vd->who,
                       "%s: normal(%g, %g) redrawn into [%g, %g] can never succeed", vd->name, v->a,
                       v->b, v->lo, v->hi);
                break;
            }
        }
        if (r != R_FINITE) {
            struct range rg = value_range(v);
            if (!rg.bounded)
                report(c, loc, vd->who,
                       "%s must be %s %s, but an unbounded normal can draw any value "
                       "(give it bounds)",
                       vd->name, rule_text(r), u);
            else if (!rule_holds(r, rg.lo))
                report(c, loc, vd->who, "%s must be %s %s, but the normal can draw %s", vd->name,
                       rule_text(r), u, q(rg.lo, u).s);
        }
        break;
    default:
        report(c, loc, vd->who, "%s has an unknown value kind %d", vd->name, (int)v->kind);
        break;
    }
    return c->errors == before;
}

/* Value of a constant or list value for one neuron. */
static double at(const struct snn_value *v, uint32_t i)
{
    return v->kind == SNN_VAL_CONST ? v->c : v->list[i];
}

/*
 * Checks lower < upper between two parameters of a population that both
 * passed check_value().  Constants and lists: neuron by neuron (the first
 * failure is reported).  Otherwise an error only when every draw fails.
 */
static void check_less(struct vctx *c, const struct snn_pop *p, const struct who *w, unsigned lower,
                       unsigned upper)
{
    const struct snn_param_desc *pd = snn_models[p->model].params;
    const struct snn_value *a = &p->params[lower], *b = &p->params[upper];
    const char *u = snn_dim_unit(pd[lower].dim);
    const struct snn_loc *loc = pick(a, &p->loc);
    bool exact_a = a->kind == SNN_VAL_CONST || a->kind == SNN_VAL_LIST;
    bool exact_b = b->kind == SNN_VAL_CONST || b->kind == SNN_VAL_LIST;
    if (exact_a && exact_b) {
        uint32_t n = 1;
        if (a->kind == SNN_VAL_LIST || b->kind == SNN_VAL_LIST)
            n = p->size;
        for (uint32_t i = 0; i < n; i++) {
            if (at(a, i) < at(b, i))
                continue;
            char where[40] = "";
            if (a->kind == SNN_VAL_LIST || b->kind == SNN_VAL_LIST)
                snprintf(where, sizeof where, " for neuron %u", i);
            report(c, loc, w, "%s must be < %s, got %s %s and %s %s%s", pd[lower].name,
                   pd[upper].name, pd[lower].name, q(at(a, i), u).s, pd[upper].name,
                   q(at(b, i), u).s, where);
            return;
        }
        return;
    }
    struct range ra = value_range(a), rb = value_range(b);
    if (ra.bounded && rb.bounded && ra.lo >= rb.hi)
        report(c, loc, w, "%s must be < %s, but %s is at least %s and %s at most %s",
               pd[lower].name, pd[upper].name, pd[lower].name, q(ra.lo, u).s, pd[upper].name,
               q(rb.hi, u).s);
}

/* ---- populations ------------------------------------------------------- */

/* The rule of a parameter by model and name; R_FINITE when not listed. */
static enum rule param_rule(enum snn_model m, const char *name)
{
    static const struct {
        enum snn_model m;
        const char *name;
        enum rule r;
    } rules[] = {
        {SNN_MODEL_LIF_CURR_EXP, "tau_m", R_POSITIVE},
        {SNN_MODEL_LIF_CURR_EXP, "cm", R_POSITIVE},
        {SNN_MODEL_LIF_CURR_EXP, "tau_syn_E", R_POSITIVE},
        {SNN_MODEL_LIF_CURR_EXP, "tau_syn_I", R_POSITIVE},
        {SNN_MODEL_LIF_CURR_EXP, "tau_refrac", R_NONNEG},
        {SNN_MODEL_LIF_COND_EXP, "tau_m", R_POSITIVE},
        {SNN_MODEL_LIF_COND_EXP, "cm", R_POSITIVE},
        {SNN_MODEL_LIF_COND_EXP, "tau_syn_E", R_POSITIVE},
        {SNN_MODEL_LIF_COND_EXP, "tau_syn_I", R_POSITIVE},
        {SNN_MODEL_LIF_COND_EXP, "tau_refrac", R_NONNEG},
        {SNN_MODEL_IF_CURR_DELTA, "tau_m", R_POSITIVE},
        {SNN_MODEL_IF_CURR_DELTA, "cm", R_POSITIVE},
        {SNN_MODEL_IF_CURR_DELTA, "tau_refrac", R_NONNEG},
        {SNN_MODEL_SPIKE_SOURCE_POISSON, "rate", R_NONNEG},
        {SNN_MODEL_SPIKE_SOURCE_POISSON, "start", R_NONNEG},
        {SNN_MODEL_SPIKE_SOURCE_POISSON, "duration", R_NONNEG},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].m == m && strcmp(rules[i].name, name) == 0)
            return rules[i].r;
    return R_FINITE;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* record_v: indices in range, no index twice. */
static void check_record_v(struct vctx *c, const struct snn_pop *p, const struct who *w)
{
    const struct snn_loc *loc = pick(NULL, &p->loc);
    if (!p->record_v)
        return;
    for (uint32_t i = 0; i < p->n_record_v; i++)
        if (p->record_v[i] >= p->size) {
            report(c, loc, w, "record_v names neuron %u, but the population has %u neurons",
                   p->record_v[i], p->size);
            return;
        }
    uint32_t *s = p->n_record_v > 1 ? snn_malloc((size_t)p->n_record_v * sizeof *s) : NULL;
    if (s) {
        memcpy(s, p->record_v, (size_t)p->n_record_v * sizeof *s);
        qsort(s, p->n_record_v, sizeof *s, cmp_u32);
        for (uint32_t i = 1; i < p->n_record_v; i++)
            if (s[i] == s[i - 1]) {
                report(c, loc, w, "record_v lists neuron %u twice", s[i]);
                break;
            }
        snn_free(s);
        return;
    }
    /* No scratch memory: the quadratic scan gives the same answer. */
    for (uint32_t i = 0; i < p->n_record_v; i++)
        for (uint32_t j = 0; j < i; j++)
            if (p->record_v[i] == p->record_v[j]) {
                report(c, loc, w, "record_v lists neuron %u twice", p->record_v[i]);
                return;
            }
}

/* spike_source_array times: offsets ascending from 0; times finite, >= 0,
 * ascending for each neuron. */
static void check_times(struct vctx *c, const struct snn_pop *p, const struct who *w)
{
    const struct snn_loc *loc = pick(NULL, &p->loc);
    if (!p->times_off)
        return;
    if (p->model != SNN_MODEL_SPIKE_SOURCE_ARRAY) {
        report(c, loc, w, "spike times are only for spike_source_array, not %s",
               snn_models[p->model].name);
        return;
    }
    if (p->times_off[0] != 0) {
        report(c, loc, w, "times_off must start at 0, got %u", p->times_off[0]);
        return;
    }
    for (uint32_t i = 0; i < p->size; i++)
        if (p->times_off[i + 1] < p->times_off[i]) {
            report(c, loc, w, "times_off decreases at neuron %u (%u after %u)", i,
                   p->times_off[i + 1], p->times_off[i]);
            return;
        }
    if (p->times_off[p->size] > 0 && !p->times) {
        report(c, loc, w, "times_off counts %u spike times but there are none",
               p->times_off[p->size]);
        return;
    }
    bool bad_val = false, bad_order = false;
    for (uint32_t i = 0; i < p->size; i++) {
        for (uint32_t k = p->times_off[i]; k < p->times_off[i + 1]; k++) {
            double t = p->times[k];
            if (!bad_val && (!isfinite(t) || t < 0)) {
                report(c, loc, w, "spike time %g ms of neuron %u must be finite and >= 0 ms", t, i);
                bad_val = true;
            }
            if (!bad_order && k > p->times_off[i] && t < p->times[k - 1]) {
                report(c, loc, w, "spike times of neuron %u are not ascending (%g ms after %g ms)",
                       i, t, p->times[k - 1]);
                bad_order = true;
            }
        }
    }
}

static void check_pop(struct vctx *c, const struct snn_pop *p)
{
    struct who w = pop_who(p);
    const struct snn_loc *ploc = pick(NULL, &p->loc);
    if (!model_ok(p->model)) {
        report(c, ploc, &w, "unknown neuron model %d", (int)p->model);
        return;
    }
    const struct snn_model_desc *md = &snn_models[p->model];
    if (p->size < 1 || p->size > MAX_POP_SIZE)
        report(c, ploc, &w, "size must be 1 .. %u, got %u", MAX_POP_SIZE, p->size);

    /* Parameters and initial state: shape and one-sided rules. */
    bool params_ok = true;
    for (unsigned i = 0; i < md->n_params; i++) {
        const struct snn_param_desc *pd = &md->params[i];
        struct vdesc vd = {&w, pd->name, snn_dim_unit(pd->dim), "neuron", p->size, &p->loc};
        if (!check_value(c, &vd, &p->params[i], param_rule(p->model, pd->name)))
            params_ok = false;
    }
    for (unsigned i = 0; i < md->n_state; i++) {
        const struct snn_param_desc *pd = &md->state[i];
        char name[64];
        snprintf(name, sizeof name, "initial %s", pd->name);
        struct vdesc vd = {&w, name, snn_dim_unit(pd->dim), "neuron", p->size, &p->loc};
        check_value(c, &vd, &p->init[i], R_FINITE);
    }

    /* Rules between parameters, once each parameter is well formed. */
    int thresh = snn_model_param(p->model, "v_thresh");
    int reset = snn_model_param(p->model, "v_reset");
    int cpar = snn_model_param(p->model, "c");
    if (params_ok && thresh >= 0 && reset >= 0 && p->reset == SNN_RESET_TO_VALUE)
        check_less(c, p, &w, (unsigned)reset, (unsigned)thresh);
    if (params_ok && p->model == SNN_MODEL_IZHIKEVICH && thresh >= 0 && cpar >= 0)
        check_less(c, p, &w, (unsigned)cpar, (unsigned)thresh);

    if (p->reset != SNN_RESET_TO_VALUE && p->reset != SNN_RESET_SUBTRACT)
        report(c, ploc, &w, "unknown reset mode %d", (int)p->reset);
    else if (p->reset == SNN_RESET_SUBTRACT && p->model != SNN_MODEL_IF)
        report(c, ploc, &w, "reset by subtraction is only for model 'if', not '%s'", md->name);

    if (p->record & ~(unsigned)(SNN_REC_SPIKES | SNN_REC_V))
        report(c, ploc, &w, "unknown record flags 0x%x", p->record);
    if ((p->record & SNN_REC_V) && md->is_source)
        report(c, ploc, &w, "a spike source has no membrane potential to record");
    /* record_v with no entries records no neuron: allowed. */
    if (!p->record_v && p->n_record_v)
        report(c, ploc, &w, "record_v counts %u neurons but lists none", p->n_record_v);
    check_record_v(c, p, &w);
    check_times(c, p, &w);
}

struct name_ref {
    const char *name;
    uint32_t index;
};

static int cmp_name(const void *a, const void *b)
{
    const struct name_ref *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    return r ? r : (x->index > y->index) - (x->index < y->index);
}

static bool counts(const char *name, bool skip_empty) { return name && (*name || !skip_empty); }

uint32_t snn__pop_name_dups(const struct snn_net *net, bool skip_empty,
                            void (*dup)(void *ctx, uint32_t first, uint32_t again), void *ctx)
{
    uint32_t found = 0;
    struct name_ref *s = net->n_pops > 1 ? snn_malloc(net->n_pops * sizeof *s) : NULL;
    if (s) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < net->n_pops; i++)
            if (counts(net->pops[i].name, skip_empty))
                s[n++] = (struct name_ref){net->pops[i].name, i};
        qsort(s, n, sizeof *s, cmp_name);
        for (uint32_t i = 1, first = 0; i < n; i++) {
            if (strcmp(s[i].name, s[first].name) != 0) {
                first = i;
                continue;
            }
            found++;
            if (dup)
                dup(ctx, s[first].index, s[i].index);
        }
        snn_free(s);
        return found;
    }
    /* No scratch memory: the quadratic scan gives the same answer. */
    for (uint32_t i = 0; i < net->n_pops; i++)
        for (uint32_t j = 0; j < i; j++) {
            const char *a = net->pops[i].name, *b = net->pops[j].name;
            if (counts(a, skip_empty) && b && strcmp(a, b) == 0) {
                found++;
                if (dup)
                    dup(ctx, j, i);
                break;
            }
        }
    return found;
}

static void report_dup(void *ctx, uint32_t first, uint32_t again)
{
    struct vctx *c = ctx;
    const struct snn_pop *p = &c->net->pops[again];
    report(c, pick(NULL, &p->loc), NULL,
           "population name '%.80s' is used twice (populations %u and %u)", p->name, first,
           again);
}

/* Population names: not empty, none twice (reported at the later one). */
static void check_names(struct vctx *c)
{
    const struct snn_net *net = c->net;
    for (uint32_t i = 0; i < net->n_pops; i++)
        if (!net->pops[i].name || !*net->pops[i].name)
            report(c, pick(NULL, &net->pops[i].loc), NULL, "population %u has an empty name", i);
    snn__pop_name_dups(net, true, report_dup, c);
}

/* ---- projections ------------------------------------------------------- */

/* Checks one delay of ms milliseconds (dt is valid).  The message reads
 * "<what> <ms> ms<where> is ...". */
static bool check_delay_ms(struct vctx *c, const struct snn_loc *loc, const struct who *w,
                           const char *what, const char *where, double ms)
{
    double dt = c->net->dt_ms;
    if (!isfinite(ms)) {
        report(c, loc, w, "%s%s must be finite, got %g", what, where, ms);
        return false;
    }
    double k = ms / dt, r = floor(k + 0.5);
    if (k < 1 - DELAY_STEP_TOL) {
        report(c, loc, w, "%s %g ms%s is shorter than one timestep (dt = %g ms)", what, ms, where,
               dt);
        return false;
    }
    if (fabs(k - r) > DELAY_STEP_TOL) {
        report(c, loc, w, "%s %g ms%s is not a whole number of timesteps (dt = %g ms)", what, ms,
               where, dt);
        return false;
    }
    if (r > SNN_MAX_DELAY_STEPS) {
        report(c, loc, w, "%s %g ms%s is %.0f timesteps, more than the maximum of %u (dt = %g ms)",
               what, ms, where, r, SNN_MAX_DELAY_STEPS, dt);
        return false;
    }
    return true;
}

/* The projection's delay value: its shape, then timesteps (constants and
 * list entries exactly; distributions must reach one step, since their
 * draws are rounded to steps and clamped to [1, SNN_MAX_DELAY_STEPS]). */
static void check_delay(struct vctx *c, const struct snn_proj *pj, const struct who *w,
                        uint64_t n_syn)
{
    struct vdesc vd = {w, "delay", "ms", "synapse", n_syn, &pj->loc};
    const struct snn_value *v = &pj->delay;
    if (!check_value(c, &vd, v, R_FINITE))
        return;
    double dt = c->net->dt_ms;
    if (!(dt > 0) || !isfinite(dt))
        return; /* reported once for the network */
    const struct snn_loc *loc = pick(v, &pj->loc);
    if (v->kind == SNN_VAL_CONST) {
        check_delay_ms(c, loc, w, "delay", "", v->c);
    } else if (v->kind == SNN_VAL_LIST) {
        for (uint32_t i = 0; i < v->n; i++) {
            char where[40];
            snprintf(where, sizeof where, " of synapse %u", i);
            if (!check_delay_ms(c, loc, w, "delay", where, v->list[i]))
                break;
        }
    } else {
        double hi = v->kind == SNN_VAL_UNIFORM ? v->b : v->bounded ? v->hi : v->a;
        if (hi / dt < 1 - DELAY_STEP_TOL)
            report(c, loc, w,
                   "delay distribution never reaches one timestep (its top is %g ms, dt = %g ms)",
                   hi, dt);
    }
}

/* Number of synapses a connector makes when that number is fixed by the
 * rule (the length a per-synapse list must have), or UINT64_MAX. */
static uint64_t fixed_synapse_count(const struct snn_proj *pj, uint32_t n_pre, uint32_t n_post)
{
    switch (pj->conn.kind) {
    case SNN_CONN_ALL_TO_ALL: {
        uint64_t n = (uint64_t)n_pre * n_post;
        if (pj->pre == pj->post && !pj->conn.allow_self)
            n -= n_pre;
        return n;
    }
    case SNN_CONN_ONE_TO_ONE: return n_pre;
    case SNN_CONN_FROM_LIST: return pj->conn.n;
    default: return UINT64_MAX;
    }
}

static void check_proj(struct vctx *c, uint32_t index)
{
    const struct snn_net *net = c->net;
    const struct snn_proj *pj = &net->projs[index];
    const struct snn_connector *cn = &pj->conn;
    struct who w = proj_who(net, index);
    const struct snn_loc *loc = pick(NULL, &pj->loc);
    bool ends_ok = true;
    if (pj->pre >= net->n_pops) {
        report(c, loc, &w, "pre population %u does not exist (the network has %u)", pj->pre,
               net->n_pops);
        ends_ok = false;
    }
    if (pj->post >= net->n_pops) {
        report(c, loc, &w, "post population %u does not exist (the network has %u)", pj->post,
               net->n_pops);
        ends_ok = false;
    }
    const struct snn_pop *pre = ends_ok ? &net->pops[pj->pre] : NULL;
    const struct snn_pop *post = ends_ok ? &net->pops[pj->post] : NULL;
    if (ends_ok && (!model_ok(pre->model) || !model_ok(post->model)))
        ends_ok = false; /* reported with the population */
    enum snn_syn_kind syn = ends_ok ? snn_models[post->model].syn : SNN_SYN_CURRENT;
    if (ends_ok && snn_models[post->model].is_source) {
        report(c, loc, &w, "post population '%.80s' is a spike source and cannot receive synapses",
               post->name ? post->name : "");
        ends_ok = false;
    }
    if (pj->receptor != SNN_RECEPTOR_EXC && pj->receptor != SNN_RECEPTOR_INH)
        report(c, loc, &w, "unknown receptor %d", (int)pj->receptor);
    if ((unsigned)cn->kind >= SNN_CONN_COUNT) {
        report(c, loc, &w, "unknown connector kind %d", (int)cn->kind);
        return;
    }

    const char *wu = syn == SNN_SYN_CONDUCTANCE ? "uS" : syn == SNN_SYN_DELTA ? "mV" : "nA";
    enum rule wrule = syn == SNN_SYN_CONDUCTANCE ? R_NONNEG : R_FINITE;
    const char *kname = snn_conn_names[cn->kind];
    uint32_t n_pre = ends_ok ? pre->size : 0, n_post = ends_ok ? post->size : 0;
    bool self = ends_ok && pj->pre == pj->post && !cn->allow_self;

    /* Connector arguments. */
    switch (cn->kind) {
    case SNN_CONN_FIXED_PROBABILITY:
        if (!(cn->p >= 0 && cn->p <= 1))
            report(c, loc, &w, "fixed_probability p must be in [0, 1], got %g", cn->p);
        break;
    case SNN_CONN_FIXED_NUMBER_PRE:
    case SNN_CONN_FIXED_NUMBER_POST: {
        if (!ends_ok)
            break;
        bool is_pre = cn->kind == SNN_CONN_FIXED_NUMBER_PRE;
        uint32_t avail = is_pre ? n_pre : n_post;
        if (self && avail > 0)
            avail--;
        if (cn->n > avail)
            report(c, loc, &w, "%s n = %u exceeds the %u possible %s neurons%s", kname, cn->n,
                   avail, is_pre ? "pre" : "post",
                   self ? " (self-connections are not allowed)" : "");
        break;
    }
    case SNN_CONN_ONE_TO_ONE:
        if (ends_ok && n_pre != n_post)
            report(c, loc, &w, "one_to_one needs populations of equal size, got %u and %u", n_pre,
                   n_post);
        break;
    case SNN_CONN_FROM_LIST:
        if (cn->n > 0 && (!cn->list_pre || !cn->list_post)) {
            report(c, loc, &w, "from_list has %u entries with no storage", cn->n);
            break;
        }
        for (uint32_t k = 0; ends_ok && k < cn->n; k++)
            if (cn->list_pre[k] >= n_pre || cn->list_post[k] >= n_post) {
                report(c, loc, &w,
                       "from_list entry %u (%u -> %u) is out of range (%u pre, %u post neurons)", k,
                       cn->list_pre[k], cn->list_post[k], n_pre, n_post);
                break;
            }
        for (uint32_t k = 0; cn->list_w && k < cn->n; k++) {
            double x = cn->list_w[k];
            if (!isfinite(x)) {
                report(c, loc, &w, "from_list entry %u: weight must be finite, got %g", k, x);
                break;
            }
            if (!rule_holds(wrule, x)) {
                report(c, loc, &w, "from_list entry %u: weight must be %s %s, got %s", k,
                       rule_text(wrule), wu, q(x, wu).s);
                break;
            }
        }
        if (cn->list_d && net->dt_ms > 0 && isfinite(net->dt_ms))
            for (uint32_t k = 0; k < cn->n; k++) {
                char what[48];
                snprintf(what, sizeof what, "from_list entry %u: delay", k);
                if (!check_delay_ms(c, loc, &w, what, "", cn->list_d[k]))
                    break;
            }
        break;
    case SNN_CONN_MATRIX:
        if (!cn->matrix) {
            report(c, loc, &w, "matrix connector has no matrix");
            break;
        }
        if (!ends_ok)
            break;
        for (uint64_t k = 0; k < (uint64_t)n_pre * n_post; k++) {
            double x = cn->matrix[k];
            if (!isfinite(x) || !rule_holds(wrule, x)) {
                char what[64];
                snprintf(what, sizeof what, "matrix entry (%llu, %llu)",
                         (unsigned long long)(k / n_post), (unsigned long long)(k % n_post));
                if (!isfinite(x))
                    report(c, loc, &w, "%s: weight must be finite, got %g", what, x);
                else
                    report(c, loc, &w, "%s: weight must be %s %s, got %s", what, rule_text(wrule),
                           wu, q(x, wu).s);
                break;
            }
        }
        break;
    default: break;
    }

    /* Per-synapse lists only where the connector fixes the synapse order:
     * all_to_all (by pre, then post), one_to_one (by neuron), from_list
     * (by entry). */
    uint64_t n_syn = ends_ok ? fixed_synapse_count(pj, n_pre, n_post) : UINT64_MAX;
    bool list_ok = cn->kind == SNN_CONN_ALL_TO_ALL || cn->kind == SNN_CONN_ONE_TO_ONE ||
                   cn->kind == SNN_CONN_FROM_LIST;
    if (!list_ok && pj->weight.kind == SNN_VAL_LIST)
        report(c, pick(&pj->weight, &pj->loc), &w,
               "a list of weights needs all_to_all, one_to_one or from_list, not %s", kname);
    if (!list_ok && pj->delay.kind == SNN_VAL_LIST)
        report(c, pick(&pj->delay, &pj->loc), &w,
               "a list of delays needs all_to_all, one_to_one or from_list, not %s", kname);

    /* Weights: finite; never negative onto a conductance synapse, where a
     * normal needs bounds with lo >= 0. */
    struct vdesc vd = {&w, "weight", wu, "synapse", list_ok ? n_syn : UINT64_MAX, &pj->loc};
    check_value(c, &vd, &pj->weight, wrule);
    check_delay(c, pj, &w, list_ok ? n_syn : UINT64_MAX);
}

/* ---- the network ------------------------------------------------------- */

int snn_ir_verify(const struct snn_net *net, struct snn_diag *d)
{
    SNN_ASSERT(net);
    struct vctx c = {.net = net, .d = d};
    if (!(net->dt_ms > 0) || !isfinite(net->dt_ms))
        report(&c, NULL, NULL, "dt must be a positive finite time, got %g ms", net->dt_ms);
    if (!(net->duration_ms >= 0) || !isfinite(net->duration_ms))
        report(&c, NULL, NULL, "duration must be a finite time >= 0 ms, got %g ms",
               net->duration_ms);
    check_names(&c);
    for (uint32_t i = 0; i < net->n_pops; i++)
        check_pop(&c, &net->pops[i]);
    for (uint32_t i = 0; i < net->n_projs; i++)
        check_proj(&c, i);
    return c.errors ? SNN_ESEMA : 0;
}

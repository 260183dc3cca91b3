/*
 * ir/text.c: the text form of the IR (docs/ir-text.md): printer and parser.
 *
 * snn_ir_print() writes a network as line-oriented text: a version line,
 * the network header, one block per population and per projection in
 * declaration order, every parameter in model order (defaults included),
 * and a closing `end` line.  Numbers are printed in the shortest form that
 * reads back as the same double, so parse(print(x)) equals x field by
 * field and print(parse(print(x))) is the same text byte for byte.
 * Source locations are not printed.
 *
 * snn_ir_parse() reads that text back into a new network.  It checks
 * syntax and structure (known words, list lengths that the structure
 * fixes, references to populations); what the values mean is left to
 * snn_ir_verify().  It stops at the first error, reported at
 * file:line:col.  It is written for hostile input: no recursion, every
 * number range-checked, and every allocation sized by what the text
 * itself contains (a list is counted before it is stored), except the
 * spike-time offsets of a population, which are bounded by
 * MAX_TIMES_NEURONS.  Every value, population and projection it builds
 * carries its location in the text, so the verifier's messages point
 * into the .ir file.
 *
 * The layer view (ir/layer.h) prints as `timesteps`, `node` blocks and
 * `output`.  An array read from a .npy file prints as its path and the
 * FNV-1a digest of its values, not in full; parsing reads the file again
 * through the caller's reader (snn_ir_parse_with; the IR library reads no
 * file format of its own) and refuses a digest that differs.  Inputs and
 * the output name layers above them, so the text reads in one pass.
 */
#include "ir/ir.h"
#include "ir/ir_int.h"
#include "ir/layer.h"
#include "support/arena.h"
#include "support/err.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IR_TEXT_VERSION 1

/* Numbers per printed line inside a list: short enough to read and to
 * diff, long enough that a list of 10^5 values stays a few thousand lines. */
#define LIST_PER_LINE 16

/* Largest population that may carry spike times.  Its offsets array is
 * the one allocation the text cannot bound (neurons without spikes are
 * not written); 2^24 neurons (64 MiB of offsets) is far beyond any
 * hand-listed spike source. */
#define MAX_TIMES_NEURONS SNN_IR_TEXT_MAX_TIMES_NEURONS

/* Longest number token: the printer writes at most 24 characters. */
#define MAX_NUMBER_CHARS 63

/* ====================================================================== */
/* Printing                                                               */
/* ====================================================================== */

static bool reads_back(const char *s, double x)
{
    double y = strtod(s, NULL);
    return memcmp(&x, &y, sizeof x) == 0;
}

/*
 * The fewest significant digits (1 to 17) that read back as exactly x,
 * in %g form, except that a number below 10^17 whose exponent is not
 * smaller than its digit count is written out plainly (50, not 5e+01).
 */
static void fmt_num(char *buf, size_t size, double x)
{
    if (isnan(x)) {
        snprintf(buf, size, "nan");
        return;
    }
    if (isinf(x)) {
        snprintf(buf, size, x < 0 ? "-inf" : "inf");
        return;
    }
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (reads_back(buf, x))
            break;
    }
    char e[40];
    snprintf(e, sizeof e, "%.*e", prec - 1, x);
    int exp10 = atoi(strchr(e, 'e') + 1);
    for (int q = prec; q <= 17; q++) {
        /* %g switches to an exponent when it is >= the precision. */
        int p = exp10 >= q && exp10 < 17 ? exp10 + 1 : q;
        snprintf(buf, size, "%.*g", p, x);
        if (reads_back(buf, x))
            return;
    }
}

static void put_num(FILE *out, double x)
{
    char buf[40];
    fmt_num(buf, sizeof buf, x);
    fputs(buf, out);
}

/* A quoted string: '"' and '\' escaped, control bytes as \xHH, every
 * other byte (UTF-8 included) as it is. */
static void put_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* "[a b c]", LIST_PER_LINE numbers a line, continuation lines indented. */
static void put_list(FILE *out, const double *d, const uint32_t *u, uint64_t n)
{
    fputc('[', out);
    for (uint64_t i = 0; i < n; i++) {
        if (i)
            fputs(i % LIST_PER_LINE ? " " : "\n      ", out);
        if (d)
            put_num(out, d[i]);
        else
            fprintf(out, "%" PRIu32, u[i]);
    }
    fputc(']', out);
}

static void put_unit(FILE *out, const char *unit)
{
    if (unit && *unit)
        fprintf(out, " %s", unit);
}

static void put_value(FILE *out, const struct snn_value *v, const char *unit)
{
    switch (v->kind) {
    case SNN_VAL_CONST: put_num(out, v->c); break;
    case SNN_VAL_LIST: put_list(out, v->list, NULL, v->n); break;
    case SNN_VAL_UNIFORM:
        fputs("uniform ", out);
        put_num(out, v->a);
        fputc(' ', out);
        put_num(out, v->b);
        break;
    case SNN_VAL_NORMAL:
        fputs("normal ", out);
        put_num(out, v->a);
        fputc(' ', out);
        put_num(out, v->b);
        if (v->bounded) {
            fputs(v->bound_mode == SNN_BOUND_REDRAW ? " redraw " : " clip ", out);
            put_num(out, v->lo);
            fputc(' ', out);
            put_num(out, v->hi);
        }
        break;
    }
    put_unit(out, unit);
}

/* The unit of weights onto a model, by its synapse kind. */
static const char *weight_unit(enum snn_model post)
{
    switch (snn_models[post].syn) {
    case SNN_SYN_CURRENT: return "nA";
    case SNN_SYN_CONDUCTANCE: return "uS";
    case SNN_SYN_DELTA: return "mV";
    default: return "";
    }
}

static bool value_printable(const struct snn_value *v)
{
    if ((unsigned)v->kind > SNN_VAL_NORMAL)
        return false;
    if (v->kind == SNN_VAL_LIST && v->n && !v->list)
        return false;
    return v->kind != SNN_VAL_NORMAL || !v->bounded || (unsigned)v->bound_mode <= SNN_BOUND_REDRAW;
}

/* Whether the reader takes p's spike times back. */
static bool times_fit(const struct snn_pop *p)
{
    return !p->times_off || p->size <= MAX_TIMES_NEURONS;
}

/* What the text can represent: known enums, storage behind every count,
 * projections between existing populations, unique population names,
 * spike offsets from 0 up. */
static bool printable(const struct snn_net *net)
{
    for (uint32_t i = 0; i < net->n_pops; i++) {
        const struct snn_pop *p = &net->pops[i];
        if ((unsigned)p->model >= SNN_MODEL_COUNT || !p->name)
            return false;
        if ((unsigned)p->reset > SNN_RESET_SUBTRACT || (p->record & ~3u))
            return false;
        if (p->n_record_v && !p->record_v)
            return false;
        const struct snn_model_desc *md = &snn_models[p->model];
        for (unsigned k = 0; k < md->n_params; k++)
            if (!value_printable(&p->params[k]))
                return false;
        for (unsigned k = 0; k < md->n_state; k++)
            if (!value_printable(&p->init[k]))
                return false;
        if (p->times_off) {
            if (p->times_off[0] != 0 || !times_fit(p))
                return false;
            for (uint32_t k = 0; k < p->size; k++)
                if (p->times_off[k + 1] < p->times_off[k])
                    return false;
            if (p->times_off[p->size] && !p->times)
                return false;
        }
    }
    for (uint32_t i = 0; i < net->n_projs; i++) {
        const struct snn_proj *pj = &net->projs[i];
        const struct snn_connector *c = &pj->conn;
        if (pj->pre >= net->n_pops || pj->post >= net->n_pops)
            return false;
        if ((unsigned)c->kind >= SNN_CONN_COUNT || (unsigned)pj->receptor > SNN_RECEPTOR_INH)
            return false;
        if (c->kind == SNN_CONN_FROM_LIST && c->n && (!c->list_pre || !c->list_post))
            return false;
        if (!value_printable(&pj->weight) || !value_printable(&pj->delay))
            return false;
    }
    /* Projections name their populations: two of one name are ambiguous. */
    return snn__pop_name_dups(net, false, NULL, NULL) == 0;
}

static void print_pop(FILE *out, const struct snn_pop *p)
{
    const struct snn_model_desc *md = &snn_models[p->model];
    fputs("pop ", out);
    put_str(out, p->name);
    fprintf(out, " %s %" PRIu32 "\n", md->name, p->size);
    fprintf(out, "  reset %s\n", p->reset == SNN_RESET_SUBTRACT ? "subtract" : "value");
    fputs("  record", out);
    if (!p->record)
        fputs(" none", out);
    if (p->record & SNN_REC_SPIKES)
        fputs(" spikes", out);
    if (p->record & SNN_REC_V)
        fputs(" v", out);
    fputc('\n', out);
    if (p->record_v) {
        fputs("  record_v ", out);
        put_list(out, NULL, p->record_v, p->n_record_v);
        fputc('\n', out);
    }
    for (unsigned k = 0; k < md->n_params; k++) {
        fprintf(out, "  param %s ", md->params[k].name);
        put_value(out, &p->params[k], snn_dim_unit(md->params[k].dim));
        fputc('\n', out);
    }
    for (unsigned k = 0; k < md->n_state; k++) {
        fprintf(out, "  init %s ", md->state[k].name);
        put_value(out, &p->init[k], snn_dim_unit(md->state[k].dim));
        fputc('\n', out);
    }
    if (p->times_off) {
        fprintf(out, "  spike_times %" PRIu32 "\n", p->times_off[p->size]);
        for (uint32_t i = 0; i < p->size; i++) {
            uint32_t a = p->times_off[i], b = p->times_off[i + 1];
            if (a == b)
                continue;
            fprintf(out, "  spikes %" PRIu32 " ", i);
            put_list(out, p->times + a, NULL, b - a);
            fputs(" ms\n", out);
        }
    }
}

static void print_proj(FILE *out, const struct snn_net *net, const struct snn_proj *pj)
{
    const struct snn_connector *c = &pj->conn;
    const struct snn_pop *pre = &net->pops[pj->pre], *post = &net->pops[pj->post];
    fputs("proj ", out);
    put_str(out, pre->name);
    fputs(" -> ", out);
    put_str(out, post->name);
    fputc('\n', out);
    if (pj->name) {
        fputs("  label ", out);
        put_str(out, pj->name);
        fputc('\n', out);
    }
    fprintf(out, "  connector %s", snn_conn_names[c->kind]);
    switch (c->kind) {
    case SNN_CONN_FIXED_PROBABILITY:
        fputc(' ', out);
        put_num(out, c->p);
        break;
    case SNN_CONN_FIXED_NUMBER_PRE:
    case SNN_CONN_FIXED_NUMBER_POST: fprintf(out, " %" PRIu32, c->n); break;
    case SNN_CONN_FROM_LIST:
        fprintf(out, " %" PRIu32 "%s%s", c->n, c->list_w ? " weights" : "",
                c->list_d ? " delays" : "");
        break;
    case SNN_CONN_MATRIX:
        if (!c->matrix)
            fputs(" none", out);
        break;
    default: break;
    }
    fprintf(out, " %s\n", c->allow_self ? "allow_self" : "no_self");
    const char *wu = weight_unit(post->model);
    fputs("  weight ", out);
    put_value(out, &pj->weight, wu);
    fputs("\n  delay ", out);
    put_value(out, &pj->delay, "ms");
    fprintf(out, "\n  receptor %s\n",
            pj->receptor == SNN_RECEPTOR_INH ? "inhibitory" : "excitatory");
    if (c->kind == SNN_CONN_FROM_LIST) {
        for (uint32_t k = 0; k < c->n; k++) {
            fprintf(out, "  syn %" PRIu32 " %" PRIu32, c->list_pre[k], c->list_post[k]);
            if (c->list_w) {
                fputc(' ', out);
                put_num(out, c->list_w[k]);
            }
            if (c->list_d) {
                fputc(' ', out);
                put_num(out, c->list_d[k]);
            }
            fputc('\n', out);
        }
    }
    if (c->kind == SNN_CONN_MATRIX && c->matrix) {
        for (uint32_t i = 0; i < pre->size; i++) {
            fputs("  row ", out);
            put_list(out, c->matrix + (uint64_t)i * post->size, NULL, post->size);
            fputc('\n', out);
        }
    }
}

/* ---- the layer view ------------------------------------------------------ */

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* The number of values of an array (dims multiplied; 1 for a scalar). */
static uint64_t array_count(const struct snn_array *a)
{
    uint64_t n = 1;
    for (uint32_t i = 0; i < a->ndim && i < 4; i++)
        n *= a->dims[i];
    return n;
}

uint64_t snn_array_digest(const struct snn_array *a)
{
    uint64_t h = FNV_OFFSET, n = a->v ? array_count(a) : 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &a->v[i], sizeof bits);
        for (int b = 0; b < 8; b++) {
            h ^= (bits >> (8 * b)) & 0xff;
            h *= FNV_PRIME;
        }
    }
    return h;
}

/* An array that was written out in the description itself (a list or a
 * single value), not read from a file: the text prints its values. */
static bool array_inline(const struct snn_array *a)
{
    return !a->src || strcmp(a->src, "inline") == 0;
}

static bool array_printable(const struct snn_array *a)
{
    if (!a->v)
        return true;
    if (a->ndim > 4)
        return false;
    return !array_inline(a) || a->ndim == 1;
}

static bool layers_printable(const struct snn_net *net)
{
    const struct snn_layer_graph *g = net->layers;
    if (!g)
        return true;
    if (g->n_nodes && !g->nodes)
        return false;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct snn_lnode *n = &g->nodes[i];
        if ((unsigned)n->op > SNN_L_FLATTEN || !n->name || n->n_in > 3)
            return false;
        for (uint32_t j = 0; j < n->n_in; j++)
            if (n->in[j] >= i) /* inputs are named, so they must come first */
                return false;
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(g->nodes[j].name, n->name))
                return false;
        if (n->op == SNN_L_INPUT &&
            ((unsigned)n->u.input.kind > SNN_T_Q16 || !array_printable(&n->u.input.data)))
            return false;
        if (n->op == SNN_L_CONV) {
            const struct snn_lconv *c = &n->u.conv;
            const struct snn_array *arr[] = {&c->weight,   &c->scale,   &c->bias,   &c->bn_gamma,
                                             &c->bn_beta,  &c->bn_mean, &c->bn_var};
            for (size_t k = 0; k < sizeof arr / sizeof arr[0]; k++)
                if (!array_printable(arr[k]))
                    return false;
        }
    }
    return !g->has_output || g->output < g->n_nodes;
}

static void put_array(FILE *out, const char *kw, const struct snn_array *a)
{
    if (!a->v)
        return;
    fprintf(out, "  %s ", kw);
    if (array_inline(a)) {
        put_list(out, a->v, NULL, a->dims[0]);
    } else {
        put_str(out, a->src);
        fprintf(out, " fnv1a:%016" PRIx64, snn_array_digest(a));
    }
    fputc('\n', out);
}

static void put_u32(FILE *out, const char *kw, uint32_t x)
{
    fprintf(out, "  %s %" PRIu32 "\n", kw, x);
}

static void put_real(FILE *out, const char *kw, double x)
{
    fprintf(out, "  %s ", kw);
    put_num(out, x);
    fputc('\n', out);
}

static void put_pad(FILE *out, uint32_t pad)
{
    if (pad == UINT32_MAX)
        fputs("  pad auto\n", out);
    else
        put_u32(out, "pad", pad);
}

static void print_node(FILE *out, const struct snn_layer_graph *g, const struct snn_lnode *n)
{
    fputs("node ", out);
    put_str(out, n->name);
    fprintf(out, " %s", snn_lop_name(n->op));
    for (uint32_t j = 0; j < n->n_in; j++) {
        fputc(' ', out);
        put_str(out, g->nodes[n->in[j]].name);
    }
    if (n->shape.c) /* set by the verifier: for the reader, the parser skips it */
        fprintf(out, "  # [%" PRIu32 ", %" PRIu32 ", %" PRIu32 "] %s", n->shape.c, n->shape.h,
                n->shape.w, snn_tkind_name(n->kind));
    fputc('\n', out);
    switch (n->op) {
    case SNN_L_INPUT:
        fprintf(out, "  shape %" PRIu32 " %" PRIu32 " %" PRIu32 "\n", n->u.input.shape.c,
                n->u.input.shape.h, n->u.input.shape.w);
        fprintf(out, "  kind %s\n", snn_tkind_name(n->u.input.kind));
        put_array(out, "data", &n->u.input.data);
        if (n->u.input.gen.on) {
            fputs("  generate", out);
            if (n->u.input.kind == SNN_T_SPIKES) {
                fputs(" density ", out);
                put_num(out, n->u.input.gen.density);
            }
            fputc('\n', out);
        }
        break;
    case SNN_L_CONV: {
        const struct snn_lconv *c = &n->u.conv;
        put_u32(out, "channels", c->out_channels);
        put_u32(out, "kernel", c->kernel);
        put_u32(out, "stride", c->stride);
        put_pad(out, c->pad);
        if (c->depthwise)
            fputs("  depthwise\n", out);
        put_u32(out, "bits", c->bits);
        put_array(out, "weight", &c->weight);
        if (c->weight_gen.on) {
            fputs("  generate lo ", out);
            put_num(out, c->weight_gen.lo);
            fputs(" hi ", out);
            put_num(out, c->weight_gen.hi);
            fputc('\n', out);
        }
        put_array(out, "scale", &c->scale);
        put_array(out, "bias", &c->bias);
        if (c->bn)
            put_real(out, "bn", c->bn_eps);
        put_array(out, "bn_gamma", &c->bn_gamma);
        put_array(out, "bn_beta", &c->bn_beta);
        put_array(out, "bn_mean", &c->bn_mean);
        put_array(out, "bn_var", &c->bn_var);
        break;
    }
    case SNN_L_LIF:
        put_u32(out, "tau_shift", n->u.lif.tau_shift);
        put_real(out, "threshold", n->u.lif.threshold);
        break;
    case SNN_L_ILIF:
        put_u32(out, "decay_shift", n->u.ilif.decay_shift);
        put_u32(out, "d_max", n->u.ilif.d_max);
        break;
    case SNN_L_MAXPOOL:
        put_u32(out, "kernel", n->u.pool.kernel);
        put_u32(out, "stride", n->u.pool.stride);
        put_pad(out, n->u.pool.pad);
        break;
    case SNN_L_SUMPOOL:
        if (n->u.sumpool.mean)
            fputs("  mean\n", out);
        break;
    case SNN_L_SDSA1:
        put_u32(out, "tau_shift", n->u.sdsa1.tau_shift);
        put_real(out, "threshold", n->u.sdsa1.threshold);
        break;
    case SNN_L_SDSA2:
        put_u32(out, "heads", n->u.sdsa2.heads);
        put_real(out, "scale", n->u.sdsa2.scale);
        break;
    default: break;
    }
}

static void print_layers(FILE *out, const struct snn_layer_graph *g)
{
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        fputc('\n', out);
        print_node(out, g, &g->nodes[i]);
    }
    if (g->has_output) {
        fputs("\noutput ", out);
        put_str(out, g->nodes[g->output].name);
        fputc('\n', out);
    }
}

int snn_ir_printable(const struct snn_net *net, struct snn_diag *d)
{
    SNN_ASSERT(net);
    for (uint32_t i = 0; i < net->n_pops; i++)
        if (!times_fit(&net->pops[i])) {
            snn_diag_error(d, &net->pops[i].loc,
                           "the IR text holds spike times for populations of at most %u "
                           "neurons; '%s' has %" PRIu32,
                           MAX_TIMES_NEURONS, net->pops[i].name, net->pops[i].size);
            return SNN_ETOOBIG;
        }
    if (!printable(net) || !layers_printable(net)) {
        snn_diag_error(d, NULL, "the network is not well formed: the IR text cannot hold it");
        return SNN_ESEMA;
    }
    return 0;
}

int snn_ir_print(const struct snn_net *net, FILE *out)
{
    SNN_ASSERT(net && out);
    if (!printable(net) || !layers_printable(net))
        return SNN_EINVAL;
    fprintf(out, "snn-ir %d\n", IR_TEXT_VERSION);
    fputs("net ", out);
    put_str(out, net->name);
    fputs("\ndt ", out);
    put_num(out, net->dt_ms);
    fputs(" ms\nduration ", out);
    put_num(out, net->duration_ms);
    fprintf(out, " ms\nseed %" PRIu64 "\n", net->seed);
    if (net->layers)
        fprintf(out, "timesteps %" PRIu32 "\n", net->layers->timesteps);
    for (uint32_t i = 0; i < net->n_pops; i++) {
        fputc('\n', out);
        print_pop(out, &net->pops[i]);
    }
    for (uint32_t i = 0; i < net->n_projs; i++) {
        fputc('\n', out);
        print_proj(out, net, &net->projs[i]);
    }
    if (net->layers)
        print_layers(out, net->layers);
    fputs("\nend\n", out);
    return ferror(out) ? SNN_EIO : 0;
}

/* ====================================================================== */
/* Lexing                                                                 */
/* ====================================================================== */

enum tok_kind { TK_EOF, TK_NL, TK_WORD, TK_STR, TK_LBRACK, TK_RBRACK };

struct tok {
    enum tok_kind kind;
    const char *s; /* WORD: the word; STR: the raw text between the quotes */
    size_t n;
    struct snn_loc loc;
};

struct lexer {
    const char *p, *end;
    const char *line_start;
    uint32_t line;
};

struct parser {
    struct lexer lx;
    struct tok tok; /* the current token (one token of lookahead) */
    struct snn_diag *d;
    const char *file; /* in the net's arena */
    struct snn_net *net;
    int err; /* the first error, or 0 */

    /* The open block: a population, a projection, or none. */
    enum { B_NONE, B_POP, B_PROJ, B_NODE } block;
    uint32_t cur;
    struct snn_loc kw_loc; /* the current statement's keyword */
    bool seen_net, seen_dt, seen_duration, seen_seed;

    /* Population block. */
    uint32_t seen_params, seen_init;
    bool seen_reset, seen_record, seen_record_v, seen_times;
    uint32_t *times_off;
    double *times;
    uint32_t times_total, times_filled;
    int64_t last_spiker;
    struct snn_loc times_loc;

    /* Projection block. */
    bool seen_label, seen_conn, seen_weight, seen_delay, seen_receptor;
    uint32_t *lpre, *lpost;
    double *lw, *ld, *matrix;
    uint32_t filled; /* syn lines or matrix rows so far */
    struct snn_loc conn_loc;

    /* The layer view: how arrays are read from files, and the statements
     * of the open layer block seen so far (a bit per node_kw entry). */
    const struct snn_array_reader *rd;
    uint32_t node_seen;
};

static void perror_at(struct parser *P, const struct snn_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void perror_at(struct parser *P, const struct snn_loc *loc, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!P->err)
        snn_diag_error(P->d, loc, "%s", msg);
    P->err = SNN_EPARSE;
}

static int nomem(struct parser *P)
{
    if (P->err != SNN_ENOMEM)
        snn_diag_error(P->d, NULL, "out of memory while reading %s", P->file);
    P->err = SNN_ENOMEM;
    return SNN_ENOMEM;
}

static uint32_t sat32(uint64_t x) { return x > UINT32_MAX ? UINT32_MAX : (uint32_t)x; }

static struct snn_loc here(const struct parser *P, const char *at, size_t len)
{
    struct snn_loc l = {P->file, P->lx.line, sat32((uint64_t)(at - P->lx.line_start) + 1),
                        sat32(len ? len : 1)};
    return l;
}

static bool is_word_byte(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '[' && c != ']' && c != '"' && c != '#';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the next token into P->tok.  0 or SNN_EPARSE (reported). */
static int next(struct parser *P)
{
    struct lexer *lx = &P->lx;
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r'))
        lx->p++;
    if (lx->p < lx->end && *lx->p == '#') /* a comment runs to the end of the line */
        while (lx->p < lx->end && *lx->p != '\n')
            lx->p++;
    struct tok *t = &P->tok;
    t->s = lx->p;
    t->n = 0;
    if (lx->p >= lx->end) {
        t->kind = TK_EOF;
        t->loc = here(P, lx->p, 1);
        return 0;
    }
    unsigned char c = (unsigned char)*lx->p;
    if (c == '\n') {
        t->kind = TK_NL;
        t->loc = here(P, lx->p, 1);
        lx->p++;
        if (lx->line < UINT32_MAX)
            lx->line++;
        lx->line_start = lx->p;
        return 0;
    }
    if (c == '[' || c == ']') {
        t->kind = c == '[' ? TK_LBRACK : TK_RBRACK;
        t->n = 1;
        t->loc = here(P, lx->p, 1);
        lx->p++;
        return 0;
    }
    if (c == '"') {
        const char *start = lx->p++;
        t->kind = TK_STR;
        t->s = lx->p;
        for (;;) {
            if (lx->p >= lx->end || *lx->p == '\n') {
                struct snn_loc l = here(P, start, 1);
                perror_at(P, &l, "unterminated string");
                return SNN_EPARSE;
            }
            unsigned char b = (unsigned char)*lx->p;
            if (b == '"')
                break;
            if (b < 0x20 || b == 0x7f) {
                struct snn_loc l = here(P, lx->p, 1);
                perror_at(P, &l, "control byte 0x%02x in a string (write it as \\x%02x)", b, b);
                return SNN_EPARSE;
            }
            if (b == '\\') {
                struct snn_loc l = here(P, lx->p, 2);
                if (lx->end - lx->p >= 2 && (lx->p[1] == '"' || lx->p[1] == '\\')) {
                    lx->p += 2;
                    continue;
                }
                if (lx->end - lx->p >= 4 && lx->p[1] == 'x' && hexval(lx->p[2]) >= 0 &&
                    hexval(lx->p[3]) >= 0) {
                    if (hexval(lx->p[2]) == 0 && hexval(lx->p[3]) == 0) {
                        l.len = 4;
                        perror_at(P, &l, "a string may not contain a NUL byte");
                        return SNN_EPARSE;
                    }
                    lx->p += 4;
                    continue;
                }
                perror_at(P, &l, "unknown escape in a string (use \\\", \\\\ or \\xHH)");
                return SNN_EPARSE;
            }
            lx->p++;
        }
        t->n = (size_t)(lx->p - t->s);
        lx->p++; /* the closing quote */
        t->loc = here(P, start, (size_t)(lx->p - start));
        return 0;
    }
    if (!is_word_byte(c)) {
        struct snn_loc l = here(P, lx->p, 1);
        perror_at(P, &l, "unexpected byte 0x%02x", c);
        return SNN_EPARSE;
    }
    t->kind = TK_WORD;
    while (lx->p < lx->end && is_word_byte((unsigned char)*lx->p))
        lx->p++;
    t->n = (size_t)(lx->p - t->s);
    t->loc = here(P, t->s, t->n);
    return 0;
}

/* ====================================================================== */
/* Parsing helpers                                                        */
/* ====================================================================== */

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

static bool is(const struct tok *t, const char *w)
{
    size_t n = strlen(w);
    return t->kind == TK_WORD && t->n == n && memcmp(t->s, w, n) == 0;
}

/* A printable description of the current token for messages. */
struct shown {
    char s[64];
};

static struct shown show(const struct tok *t)
{
    struct shown r;
    switch (t->kind) {
    case TK_EOF: snprintf(r.s, sizeof r.s, "end of input"); break;
    case TK_NL: snprintf(r.s, sizeof r.s, "end of line"); break;
    case TK_STR: snprintf(r.s, sizeof r.s, "a string"); break;
    case TK_LBRACK: snprintf(r.s, sizeof r.s, "'['"); break;
    case TK_RBRACK: snprintf(r.s, sizeof r.s, "']'"); break;
    case TK_WORD:
        snprintf(r.s, sizeof r.s, "'%.*s%s'", (int)(t->n > 40 ? 40 : t->n), t->s,
                 t->n > 40 ? "..." : "");
        break;
    }
    return r;
}

static int fail(struct parser *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports an error at the current token. */
static int fail(struct parser *P, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    perror_at(P, &P->tok.loc, "%s", msg);
    return SNN_EPARSE;
}

/* The current word, NUL-terminated, in buf; false when it is not a word
 * or does not fit (no keyword, name or unit is that long). */
static bool word(const struct parser *P, char *buf, size_t size)
{
    if (P->tok.kind != TK_WORD || P->tok.n >= size)
        return false;
    memcpy(buf, P->tok.s, P->tok.n);
    buf[P->tok.n] = 0;
    return true;
}

/* A number token: -?digits[.digits][e[+-]digits], or inf, -inf, nan. */
static bool number_syntax(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if ((n - i == 3 && memcmp(s + i, "inf", 3) == 0) || (i == 0 && n == 3 && !memcmp(s, "nan", 3)))
        return true;
    size_t digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ed = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, ed++;
        if (!ed)
            return false;
    }
    return i == n;
}

/* Reads a number and moves past it. */
static int parse_num(struct parser *P, double *out, const char *what)
{
    const struct tok *t = &P->tok;
    if (t->kind != TK_WORD || !number_syntax(t->s, t->n))
        return fail(P, "expected a number for %s, got %s", what, show(t).s);
    if (t->n > MAX_NUMBER_CHARS)
        return fail(P, "number too long (at most %d characters)", MAX_NUMBER_CHARS);
    char buf[MAX_NUMBER_CHARS + 1];
    memcpy(buf, t->s, t->n);
    buf[t->n] = 0;
    double x = strtod(buf, NULL);
    if (isinf(x) && !strchr(buf, 'i'))
        return fail(P, "number %s is out of range", buf);
    *out = x;
    return next(P);
}

/* Reads an unsigned decimal integer <= max and moves past it. */
static int parse_uint(struct parser *P, uint64_t *out, uint64_t max, const char *what)
{
    const struct tok *t = &P->tok;
    if (t->kind != TK_WORD || t->n == 0)
        return fail(P, "expected a whole number for %s, got %s", what, show(t).s);
    uint64_t x = 0;
    for (size_t i = 0; i < t->n; i++) {
        unsigned dgt = (unsigned)(unsigned char)t->s[i] - '0';
        if (dgt > 9)
            return fail(P, "expected a whole number for %s, got %s", what, show(t).s);
        if (x > (max - dgt) / 10)
            return fail(P, "%s %s is too large (at most %" PRIu64 ")", what, show(t).s, max);
        x = x * 10 + dgt;
    }
    *out = x;
    return next(P);
}

static int parse_u32(struct parser *P, uint32_t *out, const char *what)
{
    uint64_t x;
    TRY(parse_uint(P, &x, UINT32_MAX, what));
    *out = (uint32_t)x;
    return 0;
}

/* Reads a string into a new NUL-terminated arena copy and moves past it. */
static int parse_str(struct parser *P, const char **out, const char *what)
{
    const struct tok *t = &P->tok;
    if (t->kind != TK_STR)
        return fail(P, "expected a quoted %s, got %s", what, show(t).s);
    char *s = snn_arena_alloc(P->net->arena, t->n + 1);
    if (!s)
        return nomem(P);
    size_t j = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->s[i] != '\\') {
            s[j++] = t->s[i];
        } else if (t->s[i + 1] == 'x') { /* the lexer checked the escape */
            s[j++] = (char)(hexval(t->s[i + 2]) * 16 + hexval(t->s[i + 3]));
            i += 3;
        } else {
            s[j++] = t->s[++i];
        }
    }
    s[j] = 0;
    *out = s;
    return next(P);
}

/* The statement must end here. */
static int expect_eol(struct parser *P)
{
    if (P->tok.kind != TK_NL && P->tok.kind != TK_EOF)
        return fail(P, "expected end of line, got %s", show(&P->tok).s);
    return 0;
}

/*
 * Reads "[x y ...]" (which may span lines) of doubles or of uint32s.  The
 * list is counted first, then stored: into dest when dest is given (at
 * most cap entries, else an error naming what), else into a new arena
 * array (*out).  *n gets the count.
 */
static int parse_list(struct parser *P, bool ints, void **out, uint32_t *n, void *dest,
                      uint64_t cap, const char *what)
{
    if (P->tok.kind != TK_LBRACK)
        return fail(P, "expected '[' to start the list of %s, got %s", what, show(&P->tok).s);
    struct snn_loc open = P->tok.loc;
    struct lexer saved = P->lx;
    struct tok saved_tok = P->tok;
    uint64_t count = 0;
    TRY(next(P));
    while (P->tok.kind != TK_RBRACK) {
        if (P->tok.kind == TK_NL) {
            TRY(next(P));
            continue;
        }
        if (P->tok.kind == TK_EOF) {
            perror_at(P, &open, "unterminated list of %s (missing ']')", what);
            return SNN_EPARSE;
        }
        if (P->tok.kind != TK_WORD)
            return fail(P, "expected a number in the list of %s, got %s", what, show(&P->tok).s);
        if (++count > UINT32_MAX)
            return fail(P, "list of %s is too long", what);
        TRY(next(P));
    }
    if (dest && count > cap) {
        perror_at(P, &open, "list of %s has %" PRIu64 " entries, more than the %" PRIu64 " allowed",
                  what, count, cap);
        return SNN_EPARSE;
    }
    P->lx = saved;
    P->tok = saved_tok;
    void *arr = dest;
    if (!arr) {
        arr = snn_arena_array(P->net->arena, count ? count : 1,
                              ints ? sizeof(uint32_t) : sizeof(double));
        if (!arr)
            return nomem(P);
    }
    TRY(next(P));
    for (uint64_t i = 0; P->tok.kind != TK_RBRACK;) {
        if (P->tok.kind == TK_NL) {
            TRY(next(P));
            continue;
        }
        if (ints)
            TRY(parse_u32(P, &((uint32_t *)arr)[i++], what));
        else
            TRY(parse_num(P, &((double *)arr)[i++], what));
    }
    TRY(next(P));
    if (out)
        *out = arr;
    *n = (uint32_t)count;
    return 0;
}

/* An optional unit after a value: it must be the internal one. */
static int parse_unit(struct parser *P, const char *unit, const char *what)
{
    if (P->tok.kind != TK_WORD)
        return 0;
    if (unit && *unit && is(&P->tok, unit))
        return next(P);
    if (unit && *unit)
        return fail(P, "%s is written in %s (the text form uses internal units), got %s", what,
                    unit, show(&P->tok).s);
    return fail(P, "%s takes no unit, got %s", what, show(&P->tok).s);
}

/* VALUE [UNIT]: a number, [list], uniform LOW HIGH, or
 * normal MEAN SD [clip|redraw LO HI]. */
static int parse_value(struct parser *P, struct snn_value *out, const char *unit, const char *what)
{
    struct snn_value v = {.kind = SNN_VAL_CONST, .loc = P->tok.loc};
    if (P->tok.kind == TK_LBRACK) {
        void *arr;
        v.kind = SNN_VAL_LIST;
        TRY(parse_list(P, false, &arr, &v.n, NULL, 0, what));
        v.list = arr;
    } else if (is(&P->tok, "uniform")) {
        v.kind = SNN_VAL_UNIFORM;
        TRY(next(P));
        TRY(parse_num(P, &v.a, what));
        TRY(parse_num(P, &v.b, what));
    } else if (is(&P->tok, "normal")) {
        v.kind = SNN_VAL_NORMAL;
        TRY(next(P));
        TRY(parse_num(P, &v.a, what));
        TRY(parse_num(P, &v.b, what));
        if (is(&P->tok, "clip") || is(&P->tok, "redraw")) {
            v.bounded = true;
            v.bound_mode = is(&P->tok, "clip") ? SNN_BOUND_CLIP : SNN_BOUND_REDRAW;
            TRY(next(P));
            TRY(parse_num(P, &v.lo, what));
            TRY(parse_num(P, &v.hi, what));
        }
    } else {
        TRY(parse_num(P, &v.c, what));
    }
    TRY(parse_unit(P, unit, what));
    *out = v;
    return 0;
}

/* Bytes of text not read yet: a bound on how many entries can follow. */
static uint64_t remaining(const struct parser *P) { return (uint64_t)(P->lx.end - P->lx.p); }

/* ====================================================================== */
/* Blocks                                                                 */
/* ====================================================================== */

static struct snn_pop *cur_pop(struct parser *P) { return &P->net->pops[P->cur]; }
static struct snn_proj *cur_proj(struct parser *P) { return &P->net->projs[P->cur]; }

/* Closes the open block, checking that its counted parts are complete. */
static int end_block(struct parser *P)
{
    if (P->block == B_POP && P->seen_times) {
        struct snn_pop *p = cur_pop(P);
        if (P->times_filled != P->times_total) {
            perror_at(P, &P->times_loc,
                      "spike_times declares %" PRIu32 " times, the spikes lines give %" PRIu32,
                      P->times_total, P->times_filled);
            return SNN_EPARSE;
        }
        for (uint64_t j = (uint64_t)(P->last_spiker + 1); j <= p->size; j++)
            P->times_off[j] = P->times_filled;
    }
    if (P->block == B_PROJ && P->seen_conn) {
        struct snn_proj *pj = cur_proj(P);
        if (pj->conn.kind == SNN_CONN_FROM_LIST && P->filled != pj->conn.n) {
            perror_at(P, &P->conn_loc,
                      "from_list declares %" PRIu32 " entries, the syn lines give %" PRIu32,
                      pj->conn.n, P->filled);
            return SNN_EPARSE;
        }
        uint32_t rows = P->net->pops[pj->pre].size;
        if (pj->conn.kind == SNN_CONN_MATRIX && P->matrix && P->filled != rows) {
            perror_at(P, &P->conn_loc,
                      "the matrix needs %" PRIu32 " rows (one per pre neuron), got %" PRIu32, rows,
                      P->filled);
            return SNN_EPARSE;
        }
    }
    P->block = B_NONE;
    return 0;
}

static int begin_block(struct parser *P, int kind, uint32_t index)
{
    P->block = kind;
    P->cur = index;
    P->seen_params = P->seen_init = 0;
    P->seen_reset = P->seen_record = P->seen_record_v = P->seen_times = false;
    P->times_off = NULL;
    P->times = NULL;
    P->times_total = P->times_filled = 0;
    P->last_spiker = -1;
    P->seen_label = P->seen_conn = P->seen_weight = P->seen_delay = P->seen_receptor = false;
    P->lpre = P->lpost = NULL;
    P->lw = P->ld = P->matrix = NULL;
    P->filled = 0;
    return 0;
}

/* pop "NAME" MODEL SIZE */
static int st_pop(struct parser *P)
{
    TRY(end_block(P));
    struct snn_loc loc = P->tok.loc;
    const char *name;
    TRY(parse_str(P, &name, "population name"));
    for (uint32_t i = 0; i < P->net->n_pops; i++)
        if (strcmp(P->net->pops[i].name, name) == 0) {
            perror_at(P, &loc, "population name \"%.80s\" is used twice", name);
            return SNN_EPARSE;
        }
    char mname[32];
    bool fits = word(P, mname, sizeof mname);
    int m = fits ? snn_model_lookup(mname) : -1;
    if (m < 0) {
        if (P->tok.kind != TK_WORD)
            return fail(P, "expected a neuron model, got %s", show(&P->tok).s);
        const char *names[SNN_MODEL_COUNT];
        for (int i = 0; i < SNN_MODEL_COUNT; i++)
            names[i] = snn_models[i].name;
        const char *hint = fits ? snn_suggest(mname, names, SNN_MODEL_COUNT) : NULL;
        return fail(P, "unknown neuron model %s%s%s%s", show(&P->tok).s,
                    hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    }
    TRY(next(P));
    uint32_t size;
    TRY(parse_u32(P, &size, "population size"));
    struct snn_pop *p = snn_net_add_pop(P->net, name, (enum snn_model)m, size);
    if (!p)
        return nomem(P);
    p->loc = loc;
    return begin_block(P, B_POP, P->net->n_pops - 1);
}

/* param NAME VALUE [UNIT] and init NAME VALUE [UNIT] */
static int st_param(struct parser *P, bool is_init)
{
    struct snn_pop *p = cur_pop(P);
    const struct snn_model_desc *md = &snn_models[p->model];
    const struct snn_param_desc *descs = is_init ? md->state : md->params;
    unsigned nd = is_init ? md->n_state : md->n_params;
    char name[32];
    int k = -1;
    bool fits = word(P, name, sizeof name);
    if (fits)
        k = is_init ? snn_model_state(p->model, name) : snn_model_param(p->model, name);
    if (k < 0) {
        if (P->tok.kind != TK_WORD)
            return fail(P, "expected a %s name, got %s", is_init ? "state variable" : "parameter",
                        show(&P->tok).s);
        const char *names[16];
        unsigned nn = nd < 16 ? nd : 16;
        for (unsigned i = 0; i < nn; i++)
            names[i] = descs[i].name;
        const char *hint = fits ? snn_suggest(name, names, nn) : NULL;
        return fail(P, "model %s has no %s %s%s%s%s", md->name,
                    is_init ? "state variable" : "parameter", show(&P->tok).s,
                    hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    }
    uint32_t *seen = is_init ? &P->seen_init : &P->seen_params;
    if (*seen & (1u << k))
        return fail(P, "%s %s is given twice", is_init ? "init" : "param", descs[k].name);
    *seen |= 1u << k;
    TRY(next(P));
    struct snn_value *v = is_init ? &p->init[k] : &p->params[k];
    return parse_value(P, v, snn_dim_unit(descs[k].dim), descs[k].name);
}

/* reset value|subtract */
static int st_reset(struct parser *P)
{
    if (P->seen_reset)
        return fail(P, "reset is given twice");
    P->seen_reset = true;
    if (is(&P->tok, "value"))
        cur_pop(P)->reset = SNN_RESET_TO_VALUE;
    else if (is(&P->tok, "subtract"))
        cur_pop(P)->reset = SNN_RESET_SUBTRACT;
    else
        return fail(P, "expected 'value' or 'subtract' after reset, got %s", show(&P->tok).s);
    return next(P);
}

/* record none | record [spikes] [v] */
static int st_record(struct parser *P)
{
    if (P->seen_record)
        return fail(P, "record is given twice");
    P->seen_record = true;
    unsigned rec = 0;
    if (is(&P->tok, "none")) {
        TRY(next(P));
    } else {
        if (P->tok.kind != TK_WORD)
            return fail(P, "expected 'none', 'spikes' or 'v' after record, got %s",
                        show(&P->tok).s);
        while (P->tok.kind == TK_WORD) {
            unsigned bit = is(&P->tok, "spikes") ? SNN_REC_SPIKES
                           : is(&P->tok, "v")    ? SNN_REC_V
                                                 : 0;
            if (!bit)
                return fail(P, "expected 'spikes' or 'v' after record, got %s", show(&P->tok).s);
            if (rec & bit)
                return fail(P, "%s is recorded twice", show(&P->tok).s);
            rec |= bit;
            TRY(next(P));
        }
    }
    cur_pop(P)->record = rec;
    return 0;
}

/* record_v [i j ...] */
static int st_record_v(struct parser *P)
{
    if (P->seen_record_v)
        return fail(P, "record_v is given twice");
    P->seen_record_v = true;
    void *arr;
    uint32_t n;
    TRY(parse_list(P, true, &arr, &n, NULL, 0, "record_v"));
    cur_pop(P)->record_v = arr;
    cur_pop(P)->n_record_v = n;
    return 0;
}

/* spike_times TOTAL */
static int st_spike_times(struct parser *P)
{
    struct snn_pop *p = cur_pop(P);
    if (P->seen_times)
        return fail(P, "spike_times is given twice");
    P->seen_times = true;
    P->times_loc = P->tok.loc;
    uint32_t total;
    TRY(parse_u32(P, &total, "spike_times"));
    if (p->size > MAX_TIMES_NEURONS) {
        perror_at(P, &P->times_loc,
                  "spike times are supported for populations of at most %u neurons, this one has "
                  "%" PRIu32,
                  MAX_TIMES_NEURONS, p->size);
        return SNN_EPARSE;
    }
    if (total > remaining(P) / 2) { /* each time takes at least two bytes */
        perror_at(P, &P->times_loc,
                  "spike_times declares %" PRIu32 " times, more than the text holds", total);
        return SNN_EPARSE;
    }
    P->times_off = snn_arena_array(P->net->arena, (size_t)p->size + 1, sizeof *P->times_off);
    P->times = snn_arena_array(P->net->arena, total ? total : 1, sizeof *P->times);
    if (!P->times_off || !P->times)
        return nomem(P);
    P->times_total = total;
    p->times_off = P->times_off;
    p->times = P->times;
    return 0;
}

/* spikes NEURON [t ...] [ms] */
static int st_spikes(struct parser *P)
{
    struct snn_pop *p = cur_pop(P);
    if (!P->seen_times) {
        perror_at(P, &P->kw_loc, "'spikes' needs a 'spike_times' line before it");
        return SNN_EPARSE;
    }
    uint32_t i;
    struct snn_loc nloc = P->tok.loc;
    TRY(parse_u32(P, &i, "neuron"));
    if (i >= p->size) {
        perror_at(P, &nloc, "neuron %" PRIu32 " is out of range (the population has %" PRIu32 ")",
                  i, p->size);
        return SNN_EPARSE;
    }
    if ((int64_t)i <= P->last_spiker) {
        perror_at(P, &nloc,
                  "spikes lines must name neurons in ascending order (%" PRIu32 " after %" PRId64
                  ")",
                  i, P->last_spiker);
        return SNN_EPARSE;
    }
    uint32_t n;
    TRY(parse_list(P, false, NULL, &n, P->times + P->times_filled, P->times_total - P->times_filled,
                   "spike times"));
    TRY(parse_unit(P, "ms", "spike times"));
    for (uint64_t j = (uint64_t)(P->last_spiker + 1); j <= i; j++)
        P->times_off[j] = P->times_filled;
    P->times_filled += n;
    P->times_off[i + 1] = P->times_filled;
    P->last_spiker = i;
    return 0;
}

/* Finds a population by the (decoded) name in the current string token. */
static int parse_pop_ref(struct parser *P, uint32_t *out)
{
    struct snn_loc loc = P->tok.loc;
    const char *name;
    TRY(parse_str(P, &name, "population name"));
    int i = snn_net_find_pop(P->net, name);
    if (i < 0) {
        perror_at(P, &loc,
                  "no population is called \"%.80s\" (populations come before projections)", name);
        return SNN_EPARSE;
    }
    *out = (uint32_t)i;
    return 0;
}

/* proj "PRE" -> "POST" */
static int st_proj(struct parser *P)
{
    TRY(end_block(P));
    struct snn_loc loc = P->tok.loc;
    uint32_t pre, post;
    TRY(parse_pop_ref(P, &pre));
    if (!is(&P->tok, "->"))
        return fail(P, "expected '->' between the populations, got %s", show(&P->tok).s);
    TRY(next(P));
    TRY(parse_pop_ref(P, &post));
    struct snn_proj *pj = snn_net_add_proj(P->net, pre, post);
    if (!pj)
        return nomem(P);
    pj->loc = loc;
    return begin_block(P, B_PROJ, P->net->n_projs - 1);
}

/* connector KIND [ARGS] [allow_self|no_self] */
static int st_connector(struct parser *P)
{
    struct snn_proj *pj = cur_proj(P);
    struct snn_connector *c = &pj->conn;
    if (P->seen_conn)
        return fail(P, "connector is given twice");
    P->seen_conn = true;
    P->conn_loc = P->tok.loc;
    char kname[32];
    int kind = -1;
    bool fits = word(P, kname, sizeof kname);
    if (fits)
        for (int k = 0; k < SNN_CONN_COUNT; k++)
            if (strcmp(kname, snn_conn_names[k]) == 0)
                kind = k;
    if (kind < 0) {
        const char *hint = fits ? snn_suggest(kname, snn_conn_names, SNN_CONN_COUNT) : NULL;
        return fail(P, "unknown connector %s%s%s%s", show(&P->tok).s,
                    hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    }
    TRY(next(P));
    struct snn_connector nc = {.kind = (enum snn_conn_kind)kind, .allow_self = true};
    struct snn_arena *a = P->net->arena;
    switch (nc.kind) {
    case SNN_CONN_FIXED_PROBABILITY: TRY(parse_num(P, &nc.p, "p")); break;
    case SNN_CONN_FIXED_NUMBER_PRE:
    case SNN_CONN_FIXED_NUMBER_POST: TRY(parse_u32(P, &nc.n, "n")); break;
    case SNN_CONN_FROM_LIST: {
        struct snn_loc nloc = P->tok.loc;
        TRY(parse_u32(P, &nc.n, "the number of entries"));
        bool w = false, d = false;
        if (is(&P->tok, "weights")) {
            w = true;
            TRY(next(P));
        }
        if (is(&P->tok, "delays")) {
            d = true;
            TRY(next(P));
        }
        if (nc.n > remaining(P) / 4) { /* each entry is a line of at least 4 bytes */
            perror_at(P, &nloc, "from_list declares %" PRIu32 " entries, more than the text holds",
                      nc.n);
            return SNN_EPARSE;
        }
        size_t cnt = nc.n ? nc.n : 1;
        P->lpre = snn_arena_array(a, cnt, sizeof *P->lpre);
        P->lpost = snn_arena_array(a, cnt, sizeof *P->lpost);
        P->lw = w ? snn_arena_array(a, cnt, sizeof *P->lw) : NULL;
        P->ld = d ? snn_arena_array(a, cnt, sizeof *P->ld) : NULL;
        if (!P->lpre || !P->lpost || (w && !P->lw) || (d && !P->ld))
            return nomem(P);
        nc.list_pre = P->lpre;
        nc.list_post = P->lpost;
        nc.list_w = P->lw;
        nc.list_d = P->ld;
        break;
    }
    case SNN_CONN_MATRIX:
        if (is(&P->tok, "none")) {
            TRY(next(P));
        } else {
            uint64_t cells = (uint64_t)P->net->pops[pj->pre].size * P->net->pops[pj->post].size;
            if (cells > remaining(P) / 2) { /* each entry takes at least two bytes */
                perror_at(P, &P->conn_loc,
                          "a %" PRIu32 " x %" PRIu32 " matrix does not fit in the rest of the text",
                          P->net->pops[pj->pre].size, P->net->pops[pj->post].size);
                return SNN_EPARSE;
            }
            P->matrix = snn_arena_array(a, cells ? (size_t)cells : 1, sizeof *P->matrix);
            if (!P->matrix)
                return nomem(P);
            nc.matrix = P->matrix;
        }
        break;
    default: break;
    }
    if (is(&P->tok, "allow_self") || is(&P->tok, "no_self")) {
        nc.allow_self = is(&P->tok, "allow_self");
        TRY(next(P));
    }
    *c = nc;
    return 0;
}

/* syn PRE POST [WEIGHT] [DELAY] (a from_list entry) */
static int st_syn(struct parser *P)
{
    struct snn_proj *pj = cur_proj(P);
    if (!P->seen_conn || pj->conn.kind != SNN_CONN_FROM_LIST) {
        perror_at(P, &P->kw_loc, "'syn' lines belong to a 'connector from_list' projection");
        return SNN_EPARSE;
    }
    if (P->filled >= pj->conn.n) {
        perror_at(P, &P->kw_loc, "more syn lines than the %" PRIu32 " entries from_list declares",
                  pj->conn.n);
        return SNN_EPARSE;
    }
    uint32_t k = P->filled;
    TRY(parse_u32(P, &P->lpre[k], "pre neuron"));
    TRY(parse_u32(P, &P->lpost[k], "post neuron"));
    if (P->lw)
        TRY(parse_num(P, &P->lw[k], "weight"));
    if (P->ld)
        TRY(parse_num(P, &P->ld[k], "delay"));
    P->filled++;
    return 0;
}

/* row [w ...] (a matrix row, one per pre neuron) */
static int st_row(struct parser *P)
{
    struct snn_proj *pj = cur_proj(P);
    if (!P->seen_conn || pj->conn.kind != SNN_CONN_MATRIX || !P->matrix) {
        perror_at(P, &P->kw_loc, "'row' lines belong to a 'connector matrix' projection");
        return SNN_EPARSE;
    }
    uint32_t rows = P->net->pops[pj->pre].size, cols = P->net->pops[pj->post].size;
    if (P->filled >= rows) {
        perror_at(P, &P->kw_loc, "more rows than the %" PRIu32 " pre neurons", rows);
        return SNN_EPARSE;
    }
    struct snn_loc loc = P->tok.loc;
    uint32_t n;
    TRY(parse_list(P, false, NULL, &n, P->matrix + (uint64_t)P->filled * cols, cols,
                   "matrix weights"));
    if (n != cols) {
        perror_at(P, &loc,
                  "a matrix row needs %" PRIu32 " weights (one per post neuron), got %" PRIu32,
                  cols, n);
        return SNN_EPARSE;
    }
    P->filled++;
    return 0;
}

/* label, weight, delay, receptor */
static int st_proj_field(struct parser *P, const char *kw)
{
    struct snn_proj *pj = cur_proj(P);
    if (strcmp(kw, "label") == 0) {
        if (P->seen_label)
            return fail(P, "label is given twice");
        P->seen_label = true;
        return parse_str(P, &pj->name, "label");
    }
    if (strcmp(kw, "weight") == 0) {
        if (P->seen_weight)
            return fail(P, "weight is given twice");
        P->seen_weight = true;
        return parse_value(P, &pj->weight, weight_unit(P->net->pops[pj->post].model), "weight");
    }
    if (strcmp(kw, "delay") == 0) {
        if (P->seen_delay)
            return fail(P, "delay is given twice");
        P->seen_delay = true;
        return parse_value(P, &pj->delay, "ms", "delay");
    }
    SNN_ASSERT(strcmp(kw, "receptor") == 0);
    if (P->seen_receptor)
        return fail(P, "receptor is given twice");
    P->seen_receptor = true;
    if (is(&P->tok, "excitatory"))
        pj->receptor = SNN_RECEPTOR_EXC;
    else if (is(&P->tok, "inhibitory"))
        pj->receptor = SNN_RECEPTOR_INH;
    else
        return fail(P, "expected 'excitatory' or 'inhibitory', got %s", show(&P->tok).s);
    return next(P);
}

/* net "NAME", dt T [ms], duration T [ms], seed N */
static int st_header(struct parser *P, const char *kw)
{
    struct snn_net *net = P->net;
    bool *seen = strcmp(kw, "net") == 0        ? &P->seen_net
                 : strcmp(kw, "dt") == 0       ? &P->seen_dt
                 : strcmp(kw, "duration") == 0 ? &P->seen_duration
                                               : &P->seen_seed;
    if (*seen)
        return fail(P, "%s is given twice", kw);
    *seen = true;
    if (strcmp(kw, "net") == 0)
        return parse_str(P, &net->name, "network name");
    if (strcmp(kw, "seed") == 0)
        return parse_uint(P, &net->seed, UINT64_MAX, "seed");
    double *x = strcmp(kw, "dt") == 0 ? &net->dt_ms : &net->duration_ms;
    TRY(parse_num(P, x, kw));
    return parse_unit(P, "ms", kw);
}

/* ---- the layer view ------------------------------------------------------ */

static struct snn_lnode *cur_node(struct parser *P) { return &P->net->layers->nodes[P->cur]; }

/* timesteps T (header) */
static int st_timesteps(struct parser *P)
{
    struct snn_layer_graph *g = snn_net_layers(P->net);
    if (!g)
        return nomem(P);
    return parse_u32(P, &g->timesteps, "timesteps");
}

/* Finds an earlier layer by the (decoded) name in the current string token. */
static int parse_node_ref(struct parser *P, uint32_t *out, const char *what)
{
    struct snn_loc loc = P->tok.loc;
    const char *name;
    TRY(parse_str(P, &name, what));
    int i = snn_layers_find(P->net->layers, name);
    if (i < 0) {
        perror_at(P, &loc, "no layer is called \"%.80s\" (a layer's inputs come before it)",
                  name);
        return SNN_EPARSE;
    }
    *out = (uint32_t)i;
    return 0;
}

/* node "NAME" OP ["IN" ...] */
static int st_node(struct parser *P)
{
    TRY(end_block(P));
    struct snn_loc loc = P->tok.loc;
    const char *name;
    TRY(parse_str(P, &name, "layer name"));
    if (snn_layers_find(P->net->layers, name) >= 0) {
        perror_at(P, &loc, "layer name \"%.80s\" is used twice", name);
        return SNN_EPARSE;
    }
    const char *ops[SNN_L_FLATTEN + 1];
    for (int i = 0; i <= SNN_L_FLATTEN; i++)
        ops[i] = snn_lop_name((enum snn_lop)i);
    char oname[16];
    bool fits = word(P, oname, sizeof oname);
    int op = -1;
    for (int i = 0; fits && i <= SNN_L_FLATTEN; i++)
        if (!strcmp(oname, ops[i]))
            op = i;
    if (op < 0) {
        if (P->tok.kind != TK_WORD)
            return fail(P, "expected a layer op, got %s", show(&P->tok).s);
        const char *hint = fits ? snn_suggest(oname, ops, SNN_L_FLATTEN + 1) : NULL;
        return fail(P, "unknown layer op %s%s%s%s", show(&P->tok).s,
                    hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    }
    TRY(next(P));
    uint32_t in[3], n_in = 0;
    while (P->tok.kind == TK_STR) {
        if (n_in == 3)
            return fail(P, "a layer takes at most 3 inputs");
        TRY(parse_node_ref(P, &in[n_in], "input layer"));
        n_in++;
    }
    struct snn_lnode *n = snn_layers_add(P->net, name, (enum snn_lop)op);
    if (!n)
        return nomem(P);
    n->loc = loc;
    memcpy(n->in, in, n_in * sizeof in[0]);
    n->n_in = n_in;
    TRY(begin_block(P, B_NODE, P->net->layers->n_nodes - 1));
    P->node_seen = 0;
    return 0;
}

/* output "NAME" */
static int st_output(struct parser *P)
{
    struct snn_layer_graph *g = P->net->layers;
    if (g && g->has_output)
        return fail(P, "output is given twice");
    uint32_t i;
    TRY(parse_node_ref(P, &i, "output layer"));
    P->net->layers->has_output = true;
    P->net->layers->output = i;
    return 0;
}

/* The folder of the text's file joined with a relative path, in a new
 * snn_malloc'd string; an absolute path is kept. */
static char *join_path(const char *file, const char *path)
{
    const char *slash = strrchr(file, '/');
    size_t dir = path[0] == '/' || !slash ? 0 : (size_t)(slash - file) + 1;
    size_t n = strlen(path);
    char *s = snn_malloc(dir + n + 1);
    if (s) {
        memcpy(s, file, dir);
        memcpy(s + dir, path, n + 1);
    }
    return s;
}

/* An array: "PATH" fnv1a:DIGEST (a file, read through P->rd and checked
 * against the digest) or [x ...] (values written out). */
static int parse_array(struct parser *P, struct snn_array *out, const char *what)
{
    struct snn_array a = {0};
    if (P->tok.kind == TK_LBRACK) {
        void *arr;
        TRY(parse_list(P, false, &arr, &a.dims[0], NULL, 0, what));
        a.ndim = 1;
        a.v = arr;
        a.src = "inline";
        *out = a;
        return 0;
    }
    if (P->tok.kind != TK_STR)
        return fail(P, "expected a file name and its digest, or a list, for %s, got %s", what,
                    show(&P->tok).s);
    struct snn_loc ploc = P->tok.loc;
    const char *path;
    TRY(parse_str(P, &path, what));
    const struct tok *t = &P->tok;
    uint64_t want = 0;
    bool ok = t->kind == TK_WORD && t->n == 22 && !memcmp(t->s, "fnv1a:", 6);
    for (size_t i = 6; ok && i < 22; i++) {
        int h = hexval(t->s[i]);
        ok = h >= 0 && !(t->s[i] >= 'A' && t->s[i] <= 'F');
        want = want << 4 | (uint64_t)(h < 0 ? 0 : h);
    }
    if (!ok)
        return fail(P, "expected the digest of %s, fnv1a: and 16 hex digits, got %s", what,
                    show(t).s);
    struct snn_loc dloc = t->loc;
    if (!P->rd) {
        perror_at(P, &ploc, "\"%.80s\" (%s): arrays are not read from files here", path,
                  what);
        return SNN_EPARSE;
    }
    char *full = join_path(P->file, path);
    if (!full)
        return nomem(P);
    int rc = P->rd->read(P->rd->ctx, full, P->net->arena, P->d, &ploc, &a);
    snn_free(full);
    if (rc) {
        /* reported by the reader; a file that cannot be read or parsed is
         * an error in the input, like the text itself */
        P->err = rc == SNN_ENOMEM || rc == SNN_ETOOBIG ? rc : SNN_EPARSE;
        return P->err;
    }
    a.src = path;
    uint64_t got = snn_array_digest(&a);
    if (got != want) {
        perror_at(P, &dloc,
                  "\"%.80s\" has changed since the text was written: its digest is "
                  "fnv1a:%016" PRIx64 ", not fnv1a:%016" PRIx64,
                  path, got, want);
        return SNN_EPARSE;
    }
    *out = a;
    return next(P);
}

/* generate [density D] [lo L hi H] */
static int parse_gen(struct parser *P, struct snn_gen *g)
{
    struct snn_gen x = {.on = true};
    if (is(&P->tok, "density")) {
        TRY(next(P));
        TRY(parse_num(P, &x.density, "density"));
    }
    if (is(&P->tok, "lo")) {
        TRY(next(P));
        TRY(parse_num(P, &x.lo, "lo"));
        if (!is(&P->tok, "hi"))
            return fail(P, "expected 'hi' after 'lo', got %s", show(&P->tok).s);
        TRY(next(P));
        TRY(parse_num(P, &x.hi, "hi"));
    }
    *g = x;
    return 0;
}

/* pad P | auto */
static int parse_pad(struct parser *P, uint32_t *out)
{
    if (is(&P->tok, "auto")) {
        *out = UINT32_MAX;
        return next(P);
    }
    return parse_u32(P, out, "pad");
}

#define OPS(...) (0u __VA_ARGS__)
#define O(op) | 1u << (op)

/* The statements of a layer block and the ops that have them. */
static const struct {
    const char *kw;
    unsigned ops;
} node_kw[] = {
    {"shape", OPS(O(SNN_L_INPUT))},
    {"kind", OPS(O(SNN_L_INPUT))},
    {"data", OPS(O(SNN_L_INPUT))},
    {"generate", OPS(O(SNN_L_INPUT) O(SNN_L_CONV))},
    {"channels", OPS(O(SNN_L_CONV))},
    {"kernel", OPS(O(SNN_L_CONV) O(SNN_L_MAXPOOL))},
    {"stride", OPS(O(SNN_L_CONV) O(SNN_L_MAXPOOL))},
    {"pad", OPS(O(SNN_L_CONV) O(SNN_L_MAXPOOL))},
    {"depthwise", OPS(O(SNN_L_CONV))},
    {"bits", OPS(O(SNN_L_CONV))},
    {"weight", OPS(O(SNN_L_CONV))},
    {"scale", OPS(O(SNN_L_CONV) O(SNN_L_SDSA2))},
    {"bias", OPS(O(SNN_L_CONV))},
    {"bn", OPS(O(SNN_L_CONV))},
    {"bn_gamma", OPS(O(SNN_L_CONV))},
    {"bn_beta", OPS(O(SNN_L_CONV))},
    {"bn_mean", OPS(O(SNN_L_CONV))},
    {"bn_var", OPS(O(SNN_L_CONV))},
    {"tau_shift", OPS(O(SNN_L_LIF) O(SNN_L_SDSA1))},
    {"threshold", OPS(O(SNN_L_LIF) O(SNN_L_SDSA1))},
    {"decay_shift", OPS(O(SNN_L_ILIF))},
    {"d_max", OPS(O(SNN_L_ILIF))},
    {"mean", OPS(O(SNN_L_SUMPOOL))},
    {"heads", OPS(O(SNN_L_SDSA2))},
};
#define N_NODE_KW (sizeof node_kw / sizeof node_kw[0])

static int node_kw_index(const char *kw)
{
    for (size_t i = 0; i < N_NODE_KW; i++)
        if (!strcmp(kw, node_kw[i].kw))
            return (int)i;
    return -1;
}

/* One statement of a layer block, its keyword kw (index k) already read. */
static int st_node_field(struct parser *P, int k, const struct snn_loc *kloc)
{
    struct snn_lnode *n = cur_node(P);
    const char *kw = node_kw[k].kw;
    if (!(node_kw[k].ops & 1u << n->op)) {
        perror_at(P, kloc, "'%s' does not apply to a %s layer", kw, snn_lop_name(n->op));
        return SNN_EPARSE;
    }
    if (P->node_seen & 1u << k) {
        perror_at(P, kloc, "%s is given twice", kw);
        return SNN_EPARSE;
    }
    P->node_seen |= 1u << k;
    struct snn_lconv *c = &n->u.conv;
    bool sdsa1 = n->op == SNN_L_SDSA1, pool = n->op == SNN_L_MAXPOOL;
    if (!strcmp(kw, "shape")) {
        TRY(parse_u32(P, &n->u.input.shape.c, "channels"));
        TRY(parse_u32(P, &n->u.input.shape.h, "height"));
        return parse_u32(P, &n->u.input.shape.w, "width");
    }
    if (!strcmp(kw, "kind")) {
        for (int i = 0; i <= SNN_T_Q16; i++)
            if (is(&P->tok, snn_tkind_name((enum snn_tkind)i))) {
                n->u.input.kind = (enum snn_tkind)i;
                return next(P);
            }
        return fail(P, "expected 'spikes', 'counts' or 'q16', got %s", show(&P->tok).s);
    }
    if (!strcmp(kw, "data"))
        return parse_array(P, &n->u.input.data, "the input data");
    if (!strcmp(kw, "generate"))
        return parse_gen(P, n->op == SNN_L_INPUT ? &n->u.input.gen : &c->weight_gen);
    if (!strcmp(kw, "channels"))
        return parse_u32(P, &c->out_channels, "channels");
    if (!strcmp(kw, "kernel"))
        return parse_u32(P, pool ? &n->u.pool.kernel : &c->kernel, "kernel");
    if (!strcmp(kw, "stride"))
        return parse_u32(P, pool ? &n->u.pool.stride : &c->stride, "stride");
    if (!strcmp(kw, "pad"))
        return parse_pad(P, pool ? &n->u.pool.pad : &c->pad);
    if (!strcmp(kw, "depthwise")) {
        c->depthwise = true;
        return 0;
    }
    if (!strcmp(kw, "bits"))
        return parse_u32(P, &c->bits, "bits");
    if (!strcmp(kw, "weight"))
        return parse_array(P, &c->weight, "the weights");
    if (!strcmp(kw, "scale"))
        return n->op == SNN_L_SDSA2 ? parse_num(P, &n->u.sdsa2.scale, "scale")
                                    : parse_array(P, &c->scale, "the weight scales");
    if (!strcmp(kw, "bias"))
        return parse_array(P, &c->bias, "the bias");
    if (!strcmp(kw, "bn")) {
        c->bn = true;
        return parse_num(P, &c->bn_eps, "the batch-norm eps");
    }
    if (!strcmp(kw, "bn_gamma"))
        return parse_array(P, &c->bn_gamma, "bn_gamma");
    if (!strcmp(kw, "bn_beta"))
        return parse_array(P, &c->bn_beta, "bn_beta");
    if (!strcmp(kw, "bn_mean"))
        return parse_array(P, &c->bn_mean, "bn_mean");
    if (!strcmp(kw, "bn_var"))
        return parse_array(P, &c->bn_var, "bn_var");
    if (!strcmp(kw, "tau_shift"))
        return parse_u32(P, sdsa1 ? &n->u.sdsa1.tau_shift : &n->u.lif.tau_shift, "tau_shift");
    if (!strcmp(kw, "threshold"))
        return parse_num(P, sdsa1 ? &n->u.sdsa1.threshold : &n->u.lif.threshold, "threshold");
    if (!strcmp(kw, "decay_shift"))
        return parse_u32(P, &n->u.ilif.decay_shift, "decay_shift");
    if (!strcmp(kw, "d_max"))
        return parse_u32(P, &n->u.ilif.d_max, "d_max");
    if (!strcmp(kw, "mean")) {
        n->u.sumpool.mean = true;
        return 0;
    }
    SNN_ASSERT(!strcmp(kw, "heads"));
    return parse_u32(P, &n->u.sdsa2.heads, "heads");
}

static const char *const keywords[] = {
    "net",   "dt",        "duration", "seed",  "pop",      "proj",        "end",
    "reset", "record",    "record_v", "param", "init",     "spike_times", "spikes",
    "label", "connector", "weight",   "delay", "receptor", "syn",         "row",
    /* the layer view */
    "timesteps", "node", "output", "shape", "kind", "data", "generate", "channels", "kernel",
    "stride", "pad", "depthwise", "bits", "scale", "bias", "bn", "bn_gamma", "bn_beta",
    "bn_mean", "bn_var", "tau_shift", "threshold", "decay_shift", "d_max", "mean", "heads",
};

/* One statement, its first word being the current token. */
static int statement(struct parser *P)
{
    size_t nkw = sizeof keywords / sizeof keywords[0];
    if (P->tok.kind != TK_WORD)
        return fail(P, "expected a statement, got %s", show(&P->tok).s);
    char kw[16];
    bool fits = word(P, kw, sizeof kw), known = false;
    for (size_t i = 0; fits && i < nkw; i++)
        known |= strcmp(kw, keywords[i]) == 0;
    if (!known) {
        const char *hint = fits ? snn_suggest(kw, keywords, nkw) : NULL;
        return fail(P, "unknown statement %s%s%s%s", show(&P->tok).s,
                    hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    }
    struct snn_loc kloc = P->kw_loc = P->tok.loc;
    TRY(next(P));
    static const char *const header[] = {"net", "dt", "duration", "seed"};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(kw, header[i]) == 0) {
            if (P->net->n_pops || (P->net->layers && P->net->layers->n_nodes)) {
                perror_at(P, &kloc, "'%s' belongs to the header, before the first population", kw);
                return SNN_EPARSE;
            }
            return st_header(P, kw);
        }
    /* The layer view. */
    if (strcmp(kw, "timesteps") == 0) {
        if (P->net->n_pops || (P->net->layers && P->net->layers->n_nodes)) {
            perror_at(P, &kloc, "'timesteps' belongs to the header, before the first layer");
            return SNN_EPARSE;
        }
        return st_timesteps(P);
    }
    if (strcmp(kw, "node") == 0)
        return st_node(P);
    if (strcmp(kw, "output") == 0) {
        TRY(end_block(P));
        return st_output(P);
    }
    int nk = node_kw_index(kw);
    if (P->block == B_NODE && strcmp(kw, "pop") != 0 && strcmp(kw, "proj") != 0) {
        if (nk < 0) {
            perror_at(P, &kloc, "'%s' does not belong inside a layer block ('node ...')", kw);
            return SNN_EPARSE;
        }
        return st_node_field(P, nk, &kloc);
    }
    if (nk >= 0 && strcmp(kw, "weight") != 0) {
        perror_at(P, &kloc, "'%s' belongs inside a layer block ('node ...')", kw);
        return SNN_EPARSE;
    }
    if (strcmp(kw, "pop") == 0)
        return st_pop(P);
    if (strcmp(kw, "proj") == 0)
        return st_proj(P);
    static const char *const pop_kw[] = {"reset", "record",      "record_v", "param",
                                         "init",  "spike_times", "spikes"};
    for (size_t i = 0; i < sizeof pop_kw / sizeof pop_kw[0]; i++)
        if (strcmp(kw, pop_kw[i]) == 0) {
            if (P->block != B_POP) {
                perror_at(P, &kloc, "'%s' belongs inside a population block ('pop ...')", kw);
                return SNN_EPARSE;
            }
            switch (i) {
            case 0: return st_reset(P);
            case 1: return st_record(P);
            case 2: return st_record_v(P);
            case 3: return st_param(P, false);
            case 4: return st_param(P, true);
            case 5: return st_spike_times(P);
            default: return st_spikes(P);
            }
        }
    /* The rest belong to a projection. */
    if (P->block != B_PROJ) {
        perror_at(P, &kloc, "'%s' belongs inside a projection block ('proj ...')", kw);
        return SNN_EPARSE;
    }
    if (strcmp(kw, "connector") == 0)
        return st_connector(P);
    if (strcmp(kw, "syn") == 0)
        return st_syn(P);
    if (strcmp(kw, "row") == 0)
        return st_row(P);
    return st_proj_field(P, kw);
}

static int skip_newlines(struct parser *P)
{
    while (P->tok.kind == TK_NL)
        TRY(next(P));
    return 0;
}

static int parse_all(struct parser *P)
{
    TRY(next(P));
    TRY(skip_newlines(P));
    if (!is(&P->tok, "snn-ir"))
        return fail(P, "expected the version line 'snn-ir %d', got %s", IR_TEXT_VERSION,
                    show(&P->tok).s);
    TRY(next(P));
    uint64_t version;
    struct snn_loc vloc = P->tok.loc;
    TRY(parse_uint(P, &version, UINT32_MAX, "the version"));
    if (version != IR_TEXT_VERSION) {
        perror_at(P, &vloc, "unsupported IR text version %" PRIu64 " (this snnc reads %d)", version,
                  IR_TEXT_VERSION);
        return SNN_EPARSE;
    }
    TRY(expect_eol(P));
    for (;;) {
        TRY(skip_newlines(P));
        if (P->tok.kind == TK_EOF)
            return fail(P, "missing 'end' (the text may be truncated)");
        if (is(&P->tok, "end")) {
            TRY(end_block(P));
            TRY(next(P));
            TRY(expect_eol(P));
            TRY(skip_newlines(P));
            if (P->tok.kind != TK_EOF)
                return fail(P, "unexpected %s after 'end'", show(&P->tok).s);
            return 0;
        }
        TRY(statement(P));
        TRY(expect_eol(P));
    }
}

int snn_ir_parse(const char *file, const char *text, size_t len, struct snn_diag *d,
                 struct snn_net **out)
{
    return snn_ir_parse_with(file, text, len, NULL, d, out);
}

int snn_ir_parse_with(const char *file, const char *text, size_t len,
                      const struct snn_array_reader *rd, struct snn_diag *d,
                      struct snn_net **out)
{
    SNN_ASSERT(out && (text || !len));
    *out = NULL;
    struct parser P = {.d = d, .rd = rd};
    P.net = snn_net_new();
    if (!P.net) {
        snn_diag_error(d, NULL, "out of memory");
        return SNN_ENOMEM;
    }
    P.file = snn_arena_strdup(P.net->arena, file ? file : "<input>");
    if (!P.file) {
        snn_net_free(P.net);
        snn_diag_error(d, NULL, "out of memory");
        return SNN_ENOMEM;
    }
    P.lx.p = P.lx.line_start = text ? text : "";
    P.lx.end = P.lx.p + len;
    P.lx.line = 1;
    int rc = parse_all(&P);
    if (rc) {
        snn_net_free(P.net);
        return rc;
    }
    *out = P.net;
    return 0;
}

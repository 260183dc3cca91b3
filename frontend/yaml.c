/*
 * frontend/yaml.c: YAML network descriptions (docs/network-format.md)
 * into the IR.
 *
 * Takes the text of one file; gives a struct snn_net that passed
 * snn_ir_verify(), or an error code with every problem reported to the
 * diagnostics sink at file:line:col.  Nothing half-built is returned.
 *
 * Two steps:
 *  1. libyaml's event parser feeds a small tree of our own (struct yn)
 *     kept in a scratch arena.  Building it ourselves, rather than with
 *     yaml_parser_load, lets us cap the node count and the nesting depth
 *     while parsing, refuse recursive aliases, allocate through snn_malloc
 *     (so allocation failures can be injected) and keep every node's
 *     position.  An alias stays a node pointing at its anchor's node, so
 *     the tree is a DAG whose size is linear in the text.
 *  2. A walker reads the tree by the schema of the format and fills the
 *     network.  It follows aliases and merge keys (<<) as it goes and
 *     counts every node it visits; past SNN_FE_MAX_VISITS it stops, so an
 *     alias bomb gets an error instead of exponential work.  After a
 *     semantic error it goes on with the next key, so one run reports as
 *     many problems as it sensibly can (up to SNN_FE_MAX_ERRORS).
 *
 * libyaml's marks count lines and columns from 0 in characters; snnc's
 * locations count from 1 in bytes (the caret is drawn under bytes), so
 * loc_at() converts.
 */
#include "frontend/frontend.h"
#include "frontend/frontend_int.h"
#include "frontend/units.h"
#include "support/arena.h"
#include "support/diag.h"
#include "support/err.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

/* ---- the document tree ------------------------------------------------ */

enum ykind { Y_SCALAR, Y_SEQ, Y_MAP, Y_ALIAS };

enum { YF_PLAIN = 1, YF_DUPS_CHECKED = 2 };

/* One node: 24 bytes on 64-bit hosts (see SNN_FE_MAX_NODES). */
struct yn {
    uint32_t line, col; /* libyaml's mark: 0-based, characters */
    uint32_t n;         /* SCALAR: bytes; SEQ: items; MAP: pairs */
    uint16_t width;     /* characters on the first line, for the caret */
    uint8_t kind;
    uint8_t flags;      /* YF_*: PLAIN means plain style, no tag */
    union {
        const char *s;      /* SCALAR: NUL-terminated, no NUL inside */
        struct yn **items;  /* SEQ: n items; MAP: key, value, key, value ... */
        struct yn *target;  /* ALIAS: the anchored node */
    } u;
};

/* ---- the reader's state ------------------------------------------------ */

/* A population name and where it went in the net (-1: it had errors). */
struct popname {
    const char *name;
    int index;
};

struct ctx {
    const char *file;
    const char *text;
    size_t len;
    struct snn_diag *d;
    struct snn_arena *tmp; /* the tree and scratch: freed at the end */
    char *pool;            /* packed strings of the tree */
    size_t pool_left;
    struct snn_net *net;
    size_t visits;
    unsigned errors;
    int rc;    /* the worst error so far */
    bool stop; /* give up: out of memory, alias bomb, too many errors */
    bool ascii;
    /* Cursor of the character-to-byte column conversion. */
    uint32_t cur_line;
    size_t cur_off;
    struct popname *pops; /* sorted by name once all are read */
    size_t n_pops;
};

/* Ranks error codes so the one returned is the most telling. */
static int rank(int rc)
{
    switch (rc) {
    case SNN_ENOMEM: return 4;
    case SNN_EPARSE: return 3;
    case SNN_ETOOBIG: return 2;
    case 0: return 0;
    default: return 1;
    }
}

static void set_rc(struct ctx *c, int rc)
{
    if (rank(rc) > rank(c->rc))
        c->rc = rc;
}

static void nomem(struct ctx *c)
{
    set_rc(c, SNN_ENOMEM);
    c->stop = true;
}

/* The byte offset within its line of character col of line (both 0-based). */
static uint32_t byte_col(struct ctx *c, uint32_t line, uint32_t col)
{
    if (c->ascii)
        return col;
    if (line < c->cur_line) {
        c->cur_line = 0;
        c->cur_off = 0;
    }
    const char *t = c->text;
    size_t off = c->cur_off;
    uint32_t l = c->cur_line;
    while (l < line) {
        const char *nl = memchr(t + off, '\n', c->len - off);
        if (!nl)
            return col;
        off = (size_t)(nl - t) + 1;
        l++;
    }
    c->cur_line = l;
    c->cur_off = off;
    size_t i = off;
    if (line == 0 && c->len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0)
        i += 3; /* libyaml does not count the byte-order mark */
    for (uint32_t k = 0; k < col && i < c->len && t[i] != '\n'; k++) {
        unsigned char ch = (unsigned char)t[i];
        i += ch < 0xC0 ? 1 : ch < 0xE0 ? 2 : ch < 0xF0 ? 3 : 4;
    }
    if (i > c->len)
        i = c->len;
    return (uint32_t)(i - off);
}

static struct snn_loc loc_at(struct ctx *c, uint32_t line, uint32_t col, uint32_t width)
{
    struct snn_loc l = {c->file, line + 1, byte_col(c, line, col) + 1, width ? width : 1};
    return l;
}

static struct snn_loc loc_of(struct ctx *c, const struct yn *n)
{
    return loc_at(c, n->line, n->col, n->width);
}

/* Reports an error at node n (NULL: the file as a whole). */
__attribute__((format(printf, 4, 5))) static void err(struct ctx *c, int rc, const struct yn *n,
                                                      const char *fmt, ...)
{
    set_rc(c, rc);
    if (c->stop)
        return;
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct snn_loc l = {c->file, 0, 0, 0};
    if (n)
        l = loc_of(c, n);
    snn_diag_error(c->d, &l, "%s", msg);
    if (++c->errors >= SNN_FE_MAX_ERRORS) {
        snn_diag_note(c->d, NULL, "too many errors (%d); stopping", SNN_FE_MAX_ERRORS);
        c->stop = true;
    }
}

static void note(struct ctx *c, const struct yn *n, const char *msg)
{
    if (c->stop)
        return;
    struct snn_loc l = loc_of(c, n);
    snn_diag_note(c->d, &l, "%s", msg);
}

/* Copies n bytes into the packed string pool of the tree, or NULL. */
static char *pool_dup(struct ctx *c, const char *s, size_t n)
{
    if (n + 1 > c->pool_left) {
        size_t size = n + 1 > 65536 ? n + 1 : 65536;
        c->pool = snn_arena_alloc(c->tmp, size);
        if (!c->pool) {
            c->pool_left = 0;
            return NULL;
        }
        c->pool_left = size;
    }
    char *r = c->pool;
    memcpy(r, s, n);
    r[n] = 0;
    c->pool += n + 1;
    c->pool_left -= n + 1;
    return r;
}

/* ---- step 1: libyaml events into the tree ------------------------------ */

struct anchor {
    const char *name;
    struct yn *node;
    uint64_t expanded; /* nodes in the subtree with aliases expanded */
};

struct frame {
    struct yn *node;
    size_t first;       /* its first child in builder.kids */
    const char *anchor; /* registered when the collection ends */
    uint64_t expanded;  /* nodes of the finished children, aliases expanded */
};

struct builder {
    struct yn **kids; /* children of the open collections, innermost last */
    size_t n_kids, kids_cap;
    struct frame stack[SNN_FE_MAX_DEPTH];
    int depth;
    struct anchor *anchors; /* open addressing; cap is a power of two */
    size_t n_anchors, anchors_cap;
    struct yn *root;
    size_t nodes;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static struct anchor *anchor_slot(struct anchor *tab, size_t cap, const char *name)
{
    size_t i = (size_t)hash_str(name) & (cap - 1);
    while (tab[i].name && strcmp(tab[i].name, name) != 0)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* Binds name to node; a later anchor of the same name replaces an earlier
 * one, as YAML says.  0 or SNN_ENOMEM. */
static int anchor_set(struct builder *b, const char *name, struct yn *node, uint64_t expanded)
{
    if (2 * (b->n_anchors + 1) > b->anchors_cap) {
        size_t cap = b->anchors_cap ? 2 * b->anchors_cap : 64;
        struct anchor *tab = snn_calloc(cap, sizeof *tab);
        if (!tab)
            return SNN_ENOMEM;
        for (size_t i = 0; i < b->anchors_cap; i++)
            if (b->anchors[i].name)
                *anchor_slot(tab, cap, b->anchors[i].name) = b->anchors[i];
        snn_free(b->anchors);
        b->anchors = tab;
        b->anchors_cap = cap;
    }
    struct anchor *a = anchor_slot(b->anchors, b->anchors_cap, name);
    if (!a->name)
        b->n_anchors++;
    a->name = name;
    a->node = node;
    a->expanded = expanded;
    return 0;
}

static const struct anchor *anchor_get(struct builder *b, const char *name)
{
    if (!b->anchors_cap)
        return NULL;
    const struct anchor *a = anchor_slot(b->anchors, b->anchors_cap, name);
    return a->name ? a : NULL;
}

static struct yn *new_node(struct ctx *c, struct builder *b, enum ykind kind,
                           const yaml_event_t *ev)
{
    if (b->nodes >= SNN_FE_MAX_NODES) {
        struct yn at = {.line = (uint32_t)ev->start_mark.line,
                        .col = (uint32_t)ev->start_mark.column, .width = 1};
        err(c, SNN_ETOOBIG, &at,
            "the document has more than %zu YAML nodes, which would need over %zu MiB to read; "
            "write large connectivity as a connector rule",
            SNN_FE_MAX_NODES, SNN_FE_MAX_NODES * 40 >> 20);
        c->stop = true;
        return NULL;
    }
    struct yn *n = snn_arena_alloc(c->tmp, sizeof *n);
    if (!n) {
        nomem(c);
        return NULL;
    }
    b->nodes++;
    n->kind = (uint8_t)kind;
    n->line = (uint32_t)ev->start_mark.line;
    n->col = (uint32_t)ev->start_mark.column;
    n->width = 1;
    if (ev->end_mark.line == ev->start_mark.line && ev->end_mark.column > ev->start_mark.column) {
        size_t w = ev->end_mark.column - ev->start_mark.column;
        n->width = (uint16_t)(w > 0xFFFF ? 0xFFFF : w);
    }
    return n;
}

/* Hands a finished node to the open collection, or makes it the root.
 * expanded is its size with aliases expanded: a document that would grow
 * past SNN_FE_MAX_VISITS nodes that way is refused here, whether or not
 * the network uses the part that grows (billion laughs). */
static int attach(struct ctx *c, struct builder *b, struct yn *n, uint64_t expanded)
{
    if (expanded > SNN_FE_MAX_VISITS) {
        err(c, SNN_ETOOBIG, n,
            "this node expands to more than %zu nodes through aliases; refusing what looks "
            "like an alias bomb",
            SNN_FE_MAX_VISITS);
        c->stop = true;
        return c->rc;
    }
    if (b->depth == 0) {
        b->root = n;
        return 0;
    }
    struct frame *parent = &b->stack[b->depth - 1];
    parent->expanded += expanded;
    if (parent->expanded > SNN_FE_MAX_VISITS) {
        err(c, SNN_ETOOBIG, parent->node,
            "this node expands to more than %zu nodes through aliases; refusing what looks "
            "like an alias bomb",
            SNN_FE_MAX_VISITS);
        c->stop = true;
        return c->rc;
    }
    if (b->n_kids == b->kids_cap) {
        size_t cap = b->kids_cap ? 2 * b->kids_cap : 256;
        struct yn **k = snn_realloc(b->kids, cap * sizeof *k);
        if (!k) {
            nomem(c);
            return SNN_ENOMEM;
        }
        b->kids = k;
        b->kids_cap = cap;
    }
    b->kids[b->n_kids++] = n;
    return 0;
}

static const char *anchor_name(struct ctx *c, const yaml_char_t *a)
{
    if (!a)
        return NULL;
    const char *s = pool_dup(c, (const char *)a, strlen((const char *)a));
    if (!s)
        nomem(c);
    return s;
}

/* Turns one event into tree nodes.  0, or an error already reported. */
static int on_event(struct ctx *c, struct builder *b, const yaml_event_t *ev)
{
    struct yn *n;
    const char *anchor;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = new_node(c, b, Y_SCALAR, ev);
        if (!n)
            return c->rc;
        if (memchr(ev->data.scalar.value, 0, ev->data.scalar.length)) {
            err(c, SNN_EPARSE, n, "a NUL character inside a string is not allowed");
            return c->rc;
        }
        n->n = (uint32_t)ev->data.scalar.length;
        n->u.s = pool_dup(c, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!n->u.s) {
            nomem(c);
            return c->rc;
        }
        if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag)
            n->flags |= YF_PLAIN;
        anchor = anchor_name(c, ev->data.scalar.anchor);
        if (c->stop)
            return c->rc;
        if (anchor && anchor_set(b, anchor, n, 1)) {
            nomem(c);
            return c->rc;
        }
        return attach(c, b, n, 1);
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        n = new_node(c, b, Y_ALIAS, ev);
        if (!n)
            return c->rc;
        for (int i = 0; i < b->depth; i++)
            if (b->stack[i].anchor && strcmp(b->stack[i].anchor, name) == 0) {
                err(c, SNN_EPARSE, n,
                    "alias '*%s' refers to a node that contains it; recursive aliases are not "
                    "allowed",
                    name);
                return c->rc;
            }
        const struct anchor *a = anchor_get(b, name);
        if (!a) {
            err(c, SNN_EPARSE, n, "unknown anchor: '*%s' is not defined before this alias", name);
            return c->rc;
        }
        n->u.target = a->node;
        return attach(c, b, n, a->expanded);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        n = new_node(c, b, seq ? Y_SEQ : Y_MAP, ev);
        if (!n)
            return c->rc;
        n->width = 1;
        if (b->depth == SNN_FE_MAX_DEPTH) {
            err(c, SNN_EPARSE, n, "collections nested deeper than %d levels", SNN_FE_MAX_DEPTH);
            c->stop = true;
            return c->rc;
        }
        anchor = anchor_name(c, seq ? ev->data.sequence_start.anchor
                                    : ev->data.mapping_start.anchor);
        if (c->stop)
            return c->rc;
        b->stack[b->depth++] = (struct frame){n, b->n_kids, anchor, 1};
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        SNN_ASSERT(b->depth > 0);
        struct frame f = b->stack[--b->depth];
        size_t count = b->n_kids - f.first;
        n = f.node;
        if (count) {
            n->u.items = snn_arena_array(c->tmp, count, sizeof *n->u.items);
            if (!n->u.items) {
                nomem(c);
                return c->rc;
            }
            memcpy(n->u.items, b->kids + f.first, count * sizeof *n->u.items);
        }
        b->n_kids = f.first;
        n->n = (uint32_t)(n->kind == Y_MAP ? count / 2 : count);
        if (f.anchor && anchor_set(b, f.anchor, n, f.expanded)) {
            nomem(c);
            return c->rc;
        }
        return attach(c, b, n, f.expanded);
    }
    default:
        return 0;
    }
}

/* Reports libyaml's own error (malformed YAML) at its position. */
static int yaml_error(struct ctx *c, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR) {
        nomem(c);
        return c->rc;
    }
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset, not a mark. */
        size_t off = p->problem_offset < c->len ? p->problem_offset : c->len;
        uint32_t line = 0;
        size_t start = 0;
        for (size_t i = 0; i < off; i++)
            if (c->text[i] == '\n')
                line++, start = i + 1;
        struct snn_loc l = {c->file, line + 1, (uint32_t)(off - start) + 1, 1};
        set_rc(c, SNN_EPARSE);
        snn_diag_error(c->d, &l, "%s (byte 0x%02x)", problem, (unsigned)p->problem_value & 0xff);
        c->errors++;
        return c->rc;
    }
    struct yn at = {.line = (uint32_t)p->problem_mark.line,
                    .col = (uint32_t)p->problem_mark.column, .width = 1};
    err(c, SNN_EPARSE, &at, "%s", problem);
    if (p->context) {
        struct yn ctxn = {.line = (uint32_t)p->context_mark.line,
                          .col = (uint32_t)p->context_mark.column, .width = 1};
        note(c, &ctxn, p->context);
    }
    return c->rc;
}

/* Parses c->text into a tree.  *root is NULL for an empty document. */
static int build_tree(struct ctx *c, struct yn **root)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        nomem(c);
        return c->rc;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)c->text, c->len);
    struct builder b = {0};
    int rc = 0, docs = 0;
    for (bool done = false; !done && !rc;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = yaml_error(c, &p);
            break;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            done = true;
        } else if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            struct yn at = {.line = (uint32_t)ev.start_mark.line,
                            .col = (uint32_t)ev.start_mark.column, .width = 3};
            err(c, SNN_EPARSE, &at, "a second YAML document: a file describes one network");
            rc = c->rc;
        } else {
            rc = on_event(c, &b, &ev);
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    snn_free(b.kids);
    snn_free(b.anchors);
    *root = rc ? NULL : b.root;
    return rc;
}

/* ---- step 2: reading the tree ------------------------------------------ */

/* Follows an alias and counts the visit.  Past the visit cap every walk
 * stops (c->stop), which is how an alias bomb ends. */
static struct yn *R(struct ctx *c, struct yn *n)
{
    if (n->kind == Y_ALIAS)
        n = n->u.target;
    if (++c->visits > SNN_FE_MAX_VISITS && !c->stop) {
        err(c, SNN_ETOOBIG, n,
            "more than %zu nodes to read once aliases are expanded; refusing what looks like an "
            "alias bomb",
            SNN_FE_MAX_VISITS);
        c->stop = true;
    }
    return n;
}

/* Charges k visits at once, before allocating for k nodes. */
static bool charge(struct ctx *c, const struct yn *at, uint64_t k)
{
    if (c->stop)
        return false;
    if (k > SNN_FE_MAX_VISITS - (c->visits < SNN_FE_MAX_VISITS ? c->visits : SNN_FE_MAX_VISITS)) {
        err(c, SNN_ETOOBIG, at,
            "more than %zu nodes to read once aliases are expanded; refusing what looks like an "
            "alias bomb",
            SNN_FE_MAX_VISITS);
        c->stop = true;
        return false;
    }
    c->visits += k;
    return true;
}

static bool is_null(const struct yn *n)
{
    if (n->kind != Y_SCALAR || !(n->flags & YF_PLAIN))
        return false;
    const char *s = n->u.s;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

static const char *kind_name(const struct yn *n)
{
    if (is_null(n))
        return "nothing";
    switch (n->kind) {
    case Y_SCALAR: return "a scalar";
    case Y_SEQ: return "a list";
    default: return "a mapping";
    }
}

/* Shortens a scalar for quoting in a message. */
static const char *show(const struct yn *n, char *buf, size_t len)
{
    if (n->kind != Y_SCALAR)
        return kind_name(n);
    snprintf(buf, len, "'%.*s%s'", 40, n->u.s, n->n > 40 ? "..." : "");
    return buf;
}

static bool get_scalar(struct ctx *c, struct yn *n, const char *key, const char **out)
{
    if (n->kind != Y_SCALAR || is_null(n)) {
        err(c, SNN_ESEMA, n, "'%s' must be a single value, not %s", key, kind_name(n));
        return false;
    }
    *out = n->u.s;
    return true;
}

/* A whole number in [lo, hi]. */
static bool get_uint(struct ctx *c, struct yn *n, const char *key, uint64_t lo, uint64_t hi,
                     uint64_t *out)
{
    const char *s;
    if (!get_scalar(c, n, key, &s))
        return false;
    const char *p = s + (*s == '+');
    uint64_t v = 0;
    bool ok = *p != 0, range = true;
    for (; *p && ok; p++) {
        if (*p < '0' || *p > '9')
            ok = false;
        else if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            range = false;
        else
            v = v * 10 + (uint64_t)(*p - '0');
    }
    char buf[64];
    if (!ok) {
        err(c, SNN_ESEMA, n, "'%s' must be a whole number, got %s", key, show(n, buf, sizeof buf));
        return false;
    }
    if (!range || v < lo || v > hi) {
        err(c, SNN_ESEMA, n, "'%s' must be %llu .. %llu, got %s", key, (unsigned long long)lo,
            (unsigned long long)hi, show(n, buf, sizeof buf));
        return false;
    }
    *out = v;
    return true;
}

static bool get_bool(struct ctx *c, struct yn *n, const char *key, bool *out)
{
    static const char *const t[] = {"true", "True", "TRUE"}, *const f[] = {"false", "False", "FALSE"};
    if (n->kind == Y_SCALAR && (n->flags & YF_PLAIN))
        for (int i = 0; i < 3; i++) {
            if (!strcmp(n->u.s, t[i]))
                return *out = true, true;
            if (!strcmp(n->u.s, f[i]))
                return *out = false, true;
        }
    char buf[64];
    err(c, SNN_ESEMA, n, "'%s' must be true or false, got %s", key, show(n, buf, sizeof buf));
    return false;
}

static bool get_quantity(struct ctx *c, struct yn *n, const char *key, enum snn_dim dim,
                         double *out)
{
    const char *s;
    if (!get_scalar(c, n, key, &s))
        return false;
    char why[160];
    if (snn_parse_quantity(s, dim, out, why, sizeof why)) {
        err(c, SNN_ESEMA, n, "'%s': %s", key, why);
        return false;
    }
    return true;
}

/* One of names[0 .. n) (an enumeration), with "did you mean". */
static int get_choice(struct ctx *c, struct yn *node, const char *key, const char *const *names,
                      size_t n)
{
    const char *s;
    if (!get_scalar(c, node, key, &s))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return (int)i;
    const char *sug = snn_suggest(s, names, n);
    char list[160] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s'%s'", i ? ", " : "",
                 names[i]);
    if (sug)
        err(c, SNN_ESEMA, node, "unknown %s '%.40s' (did you mean '%s'?)", key, s, sug);
    else
        err(c, SNN_ESEMA, node, "unknown %s '%.40s' (expected one of %s)", key, s, list);
    return -1;
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

/* ---- mappings, merge keys, duplicates ---------------------------------- */

struct kv {
    struct yn *key, *val;
    const char *name;
    uint32_t prio; /* 0: written in the mapping itself; more: merged, later ones lose */
    uint32_t pos;
    const struct yn *src; /* the mapping the pair is written in */
};

struct kvs {
    struct kv *v;
    size_t n, cap;
};

static int cmp_name(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    if (r)
        return r;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int cmp_order(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Appends the pairs of map (then those of its merge sources) to out,
 * numbering priorities in depth-first order: a mapping's own keys win over
 * merged ones, earlier merge sources over later ones (YAML's merge key). */
static void collect(struct ctx *c, struct yn *map, struct kvs *out, uint32_t *prio, int depth)
{
    if (depth > SNN_FE_MAX_DEPTH) {
        err(c, SNN_EPARSE, map, "merge keys ('<<') chained deeper than %d levels",
            SNN_FE_MAX_DEPTH);
        c->stop = true;
        return;
    }
    uint32_t mine = (*prio)++;
    if (snn_arena_grow(c->tmp, (void **)&out->v, &out->cap, out->n + map->n, sizeof *out->v)) {
        nomem(c);
        return;
    }
    for (uint32_t i = 0; i < map->n && !c->stop; i++) {
        struct yn *k = R(c, map->u.items[2 * i]);
        if (k->kind != Y_SCALAR) {
            err(c, SNN_ESEMA, k, "a key must be a plain name, not %s", kind_name(k));
            continue;
        }
        out->v[out->n++] =
            (struct kv){k, map->u.items[2 * i + 1], k->u.s, mine, i, map};
    }
    /* Merge sources, in the order written. */
    for (uint32_t i = 0; i < map->n && !c->stop; i++) {
        struct yn *k = map->u.items[2 * i];
        if (k->kind == Y_ALIAS)
            k = k->u.target;
        if (k->kind != Y_SCALAR || !(k->flags & YF_PLAIN) || strcmp(k->u.s, "<<") != 0)
            continue;
        struct yn *v = R(c, map->u.items[2 * i + 1]);
        if (v->kind == Y_MAP) {
            collect(c, v, out, prio, depth + 1);
        } else if (v->kind == Y_SEQ) {
            for (uint32_t j = 0; j < v->n && !c->stop; j++) {
                struct yn *m = R(c, v->u.items[j]);
                if (m->kind == Y_MAP)
                    collect(c, m, out, prio, depth + 1);
                else
                    err(c, SNN_ESEMA, m, "'<<' merges mappings, not %s", kind_name(m));
            }
        } else {
            err(c, SNN_ESEMA, v, "'<<' merges a mapping or a list of mappings, not %s",
                kind_name(v));
        }
    }
}

/* The pairs of a mapping with merge keys applied and "<<" removed, in the
 * order written (own keys first).  Duplicate keys are reported once per
 * mapping; what names the keys in that message ("key", "population").
 * false when out of memory or stopped. */
static bool flatten(struct ctx *c, struct yn *map, const char *what, struct kvs *out)
{
    SNN_ASSERT(map->kind == Y_MAP);
    *out = (struct kvs){0};
    uint32_t prio = 0;
    collect(c, map, out, &prio, 0);
    if (c->stop)
        return false;
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_name);
    size_t w = 0;
    for (size_t i = 0; i < out->n; i++) {
        struct kv *p = &out->v[i];
        if (w && !strcmp(out->v[w - 1].name, p->name)) {
            const struct kv *first = &out->v[w - 1];
            if (first->src == p->src && !(p->src->flags & YF_DUPS_CHECKED)) {
                char msg[128];
                err(c, SNN_ESEMA, p->key, "duplicate %s '%.60s'", what, p->name);
                snprintf(msg, sizeof msg, "'%.60s' first given here", p->name);
                note(c, first->key, msg);
            }
            continue; /* the first one (highest priority) stands */
        }
        out->v[w++] = *p;
    }
    map->flags |= YF_DUPS_CHECKED;
    for (size_t i = 0; i < out->n; i++) /* every mapping touched has been checked */
        ((struct yn *)out->v[i].src)->flags |= YF_DUPS_CHECKED;
    out->n = w;
    size_t k = 0; /* drop the merge keys themselves */
    for (size_t i = 0; i < out->n; i++)
        if (!(out->v[i].key->flags & YF_PLAIN) || strcmp(out->v[i].name, "<<") != 0)
            out->v[k++] = out->v[i];
    out->n = k;
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_order);
    return true;
}

/* Reports every key not among names (with "did you mean"). */
static void check_keys(struct ctx *c, const struct kvs *m, const char *const *names, size_t n,
                       const char *where)
{
    for (size_t i = 0; i < m->n && !c->stop; i++) {
        size_t j = 0;
        while (j < n && strcmp(m->v[i].name, names[j]) != 0)
            j++;
        if (j < n)
            continue;
        const char *sug = snn_suggest(m->v[i].name, names, n);
        if (sug)
            err(c, SNN_ESEMA, m->v[i].key, "unknown key '%.60s' in %s (did you mean '%s'?)",
                m->v[i].name, where, sug);
        else
            err(c, SNN_ESEMA, m->v[i].key, "unknown key '%.60s' in %s", m->v[i].name, where);
    }
}

static struct kv *find(const struct kvs *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].name, name))
            return &m->v[i];
    return NULL;
}

/* The value of key name, resolved, or NULL when absent. */
static struct yn *get(struct ctx *c, const struct kvs *m, const char *name)
{
    struct kv *p = find(m, name);
    return p ? R(c, p->val) : NULL;
}

/* Resolves n and checks it is a mapping; a null counts as empty when
 * null_ok.  Returns the flattened pairs in out. */
static bool get_map(struct ctx *c, struct yn *n, const char *key, const char *what, bool null_ok,
                    struct kvs *out)
{
    *out = (struct kvs){0};
    if (null_ok && is_null(n))
        return true;
    if (n->kind != Y_MAP) {
        err(c, SNN_ESEMA, n, "'%s' must be a mapping, not %s", key, kind_name(n));
        return false;
    }
    return flatten(c, n, what, out);
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
        unsigned before = c->errors;
        check_keys(c, &m, keys, 4, buf);
        if (c->errors != before)
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
    for (size_t i = 0; i < m.n && !c->stop; i++) {
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
        double *one = snn_arena_array(c->tmp, k ? k : 1, sizeof *one);
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
    for (uint32_t i = 0; i < n->n && !c->stop; i++) {
        struct yn *e = R(c, n->u.items[i]);
        if (e->kind != Y_SEQ && !is_null(e)) {
            err(c, SNN_ESEMA, e, "'spike_times': expected the list of times of neuron %u", i);
            return;
        }
        total += e->kind == Y_SEQ ? e->n : 0;
    }
    if (c->stop || !times_fit(c, node, size, total) || !charge(c, node, total))
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
        for (uint32_t i = 0; i < k && !c->stop; i++) {
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
    if (!size || model < 0 || c->stop)
        return -1;
    unsigned errors = c->errors;
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
    return c->errors == errors && !c->stop ? (int)(c->net->n_pops - 1) : -1;
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
    c->pops = snn_arena_array(c->tmp, m.n, sizeof *c->pops);
    if (!c->pops) {
        nomem(c);
        return;
    }
    for (size_t i = 0; i < m.n && !c->stop; i++) {
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
    const char **names = snn_arena_array(c->tmp, c->n_pops ? c->n_pops : 1, sizeof *names);
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
        if (c->stop)
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
        unsigned before = c->errors;
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
            if (c->errors == before)
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
    if (!ok || pre < 0 || post < 0 || c->stop)
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
    if (c->stop)
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
    for (uint32_t i = 0; i < n->n && !c->stop; i++)
        read_proj(c, i, n->u.items[i]);
}

/* ---- the document -------------------------------------------------------- */

static void read_root(struct ctx *c, struct yn *root)
{
    static const char *const keys[] = {"snn",  "name",        "timestep",   "duration",
                                       "seed", "populations", "projections", "definitions"};
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
    if (!c->stop)
        read_pops(c, find(&m, "populations") ? find(&m, "populations")->val : NULL, root);
    if (!c->stop && (x = find(&m, "projections") ? find(&m, "projections")->val : NULL))
        read_projs(c, x);
}

int snn_yaml_parse(const char *file, const char *text, size_t len, struct snn_diag *d,
                   struct snn_net **out)
{
    *out = NULL;
    struct ctx c = {.file = file, .text = text, .len = len, .d = d, .ascii = true};
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] >= 0x80) {
            c.ascii = false;
            break;
        }
    c.tmp = snn_arena_new();
    c.net = snn_net_new();
    if (!c.tmp || !c.net) {
        snn_arena_free(c.tmp);
        snn_net_free(c.net);
        return SNN_ENOMEM;
    }
    struct yn *root = NULL;
    if (!build_tree(&c, &root)) {
        if (!root) {
            struct yn at = {.width = 1};
            err(&c, SNN_ESEMA, &at, "the file is empty: expected a network starting with 'snn: 1'");
        } else {
            read_root(&c, root);
        }
    }
    snn_arena_free(c.tmp);
    if (!c.rc && c.errors)
        c.rc = SNN_ESEMA;
    if (!c.rc) {
        int rc = snn_ir_verify(c.net, d);
        if (rc)
            c.rc = rc;
    }
    if (c.rc) {
        snn_net_free(c.net);
        return c.rc;
    }
    *out = c.net;
    return 0;
}

/* ---- files --------------------------------------------------------------- */

/* Reads all of f into a snn_malloc'd buffer.  0, SNN_EIO, SNN_ETOOBIG or
 * SNN_ENOMEM. */
static int read_all(FILE *f, char **text, size_t *len)
{
    size_t cap = 0, n = 0;
    char *buf = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        if ((uint64_t)st.st_size > SNN_FE_MAX_FILE_BYTES)
            return SNN_ETOOBIG;
        cap = (size_t)st.st_size + 1;
    }
    for (;;) {
        if (n == cap) {
            if (cap > SNN_FE_MAX_FILE_BYTES) {
                snn_free(buf);
                return SNN_ETOOBIG;
            }
            cap = cap ? 2 * cap : 65536;
            char *nb = snn_realloc(buf, cap + 1);
            if (!nb) {
                snn_free(buf);
                return SNN_ENOMEM;
            }
            buf = nb;
        } else if (!buf) {
            buf = snn_malloc(cap + 1);
            if (!buf)
                return SNN_ENOMEM;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                snn_free(buf);
                return SNN_EIO;
            }
            break;
        }
    }
    if (n > SNN_FE_MAX_FILE_BYTES) {
        snn_free(buf);
        return SNN_ETOOBIG;
    }
    buf[n] = 0;
    *text = buf;
    *len = n;
    return 0;
}

int snn_frontend_load(const char *path, struct snn_diag *d, struct snn_net **out)
{
    *out = NULL;
    struct snn_loc file_loc = {path, 0, 0, 0};
    size_t plen = strlen(path);
    if (plen > 4 && !strcmp(path + plen - 4, ".nir")) {
        snn_diag_error(d, &file_loc, "NIR files are not supported yet");
        return SNN_EUNSUPPORTED;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snn_diag_error(d, &file_loc, "cannot open: %s", strerror(errno));
        return SNN_EIO;
    }
    char *text = NULL;
    size_t len = 0;
    int rc = read_all(f, &text, &len);
    fclose(f);
    if (rc == SNN_ETOOBIG)
        snn_diag_error(d, &file_loc, "the file is larger than %zu MiB",
                       SNN_FE_MAX_FILE_BYTES >> 20);
    else if (rc == SNN_EIO)
        snn_diag_error(d, &file_loc, "cannot read: %s", strerror(errno));
    if (rc)
        return rc;
    rc = snn_diag_add_source(d, path, text, len);
    if (!rc)
        rc = snn_yaml_parse(path, text, len, d, out);
    snn_free(text);
    return rc;
}

/*
 * frontend/ytree.c: the bounded YAML reader of frontend/ytree_int.h,
 * shared by the network parser (yaml.c) and the target parser
 * (target_yaml.c).
 *
 * Takes the text of one file; gives a tree of struct yn in a scratch
 * arena (step 1) and the helpers that read it by a schema (step 2), every
 * problem reported at file:line:col.  Building the tree ourselves, rather
 * than with yaml_parser_load, lets us cap the node count and the nesting
 * depth while parsing, refuse recursive aliases, allocate through
 * snn_malloc (so allocation failures can be injected) and keep every
 * node's position.  An alias stays a node pointing at its anchor's node,
 * so the tree is a DAG whose size is linear in the text; the walkers
 * count every visit, so an alias bomb gets an error instead of
 * exponential work.
 *
 * libyaml's marks count lines and columns from 0 in characters; snnc's
 * locations count from 1 in bytes (the caret is drawn under bytes), so
 * loc_at() converts.
 */
#include "frontend/ytree_int.h"
#include "frontend/frontend_int.h"
#include "frontend/units.h"
#include "support/arena.h"
#include "support/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

/* ---- the reader ---------------------------------------------------------- */

int snn__yr_init(struct snn__yr *c, const char *file, const char *text, size_t len,
                 struct snn_diag *d, const char *what)
{
    *c = (struct snn__yr){.file = file, .text = text, .len = len, .d = d, .what = what,
                          .ascii = true};
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] >= 0x80) {
            c->ascii = false;
            break;
        }
    c->tmp = snn_arena_new();
    return c->tmp ? 0 : SNN_ENOMEM;
}

void snn__yr_fini(struct snn__yr *c)
{
    snn_arena_free(c->tmp);
    c->tmp = NULL;
}

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

static void set_rc(struct snn__yr *c, int rc)
{
    if (rank(rc) > rank(c->rc))
        c->rc = rc;
}

void snn__yr_nomem(struct snn__yr *c)
{
    set_rc(c, SNN_ENOMEM);
    c->stop = true;
}

/* The byte offset within its line of character col of line (both 0-based). */
static uint32_t byte_col(struct snn__yr *c, uint32_t line, uint32_t col)
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

static struct snn_loc loc_at(struct snn__yr *c, uint32_t line, uint32_t col, uint32_t width)
{
    struct snn_loc l = {c->file, line + 1, byte_col(c, line, col) + 1, width ? width : 1};
    return l;
}

struct snn_loc snn__yr_loc(struct snn__yr *c, const struct yn *n)
{
    return loc_at(c, n->line, n->col, n->width);
}

/* Reports an error at node n (NULL: the file as a whole). */
void snn__yr_err(struct snn__yr *c, int rc, const struct yn *n,
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
        l = snn__yr_loc(c, n);
    snn_diag_error(c->d, &l, "%s", msg);
    if (++c->errors >= SNN_FE_MAX_ERRORS) {
        snn_diag_note(c->d, NULL, "too many errors (%d); stopping", SNN_FE_MAX_ERRORS);
        c->stop = true;
    }
}

void snn__yr_note(struct snn__yr *c, const struct yn *n, const char *msg)
{
    if (c->stop)
        return;
    struct snn_loc l = snn__yr_loc(c, n);
    snn_diag_note(c->d, &l, "%s", msg);
}

/* Copies n bytes into the packed string pool of the tree, or NULL. */
static char *pool_dup(struct snn__yr *c, const char *s, size_t n)
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

static struct yn *new_node(struct snn__yr *c, struct builder *b, enum ykind kind,
                           const yaml_event_t *ev)
{
    if (b->nodes >= SNN_FE_MAX_NODES) {
        struct yn at = {.line = (uint32_t)ev->start_mark.line,
                        .col = (uint32_t)ev->start_mark.column, .width = 1};
        snn__yr_err(c, SNN_ETOOBIG, &at,
            "the document has more than %zu YAML nodes, which would need over %zu MiB to read; "
            "write large connectivity as a connector rule",
            SNN_FE_MAX_NODES, SNN_FE_MAX_NODES * 40 >> 20);
        c->stop = true;
        return NULL;
    }
    struct yn *n = snn_arena_alloc(c->tmp, sizeof *n);
    if (!n) {
        snn__yr_nomem(c);
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
static int attach(struct snn__yr *c, struct builder *b, struct yn *n, uint64_t expanded)
{
    if (expanded > SNN_FE_MAX_VISITS) {
        snn__yr_err(c, SNN_ETOOBIG, n,
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
        snn__yr_err(c, SNN_ETOOBIG, parent->node,
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
            snn__yr_nomem(c);
            return SNN_ENOMEM;
        }
        b->kids = k;
        b->kids_cap = cap;
    }
    b->kids[b->n_kids++] = n;
    return 0;
}

static const char *anchor_name(struct snn__yr *c, const yaml_char_t *a)
{
    if (!a)
        return NULL;
    const char *s = pool_dup(c, (const char *)a, strlen((const char *)a));
    if (!s)
        snn__yr_nomem(c);
    return s;
}

/* Turns one event into tree nodes.  0, or an error already reported. */
static int on_event(struct snn__yr *c, struct builder *b, const yaml_event_t *ev)
{
    struct yn *n;
    const char *anchor;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = new_node(c, b, Y_SCALAR, ev);
        if (!n)
            return c->rc;
        if (memchr(ev->data.scalar.value, 0, ev->data.scalar.length)) {
            snn__yr_err(c, SNN_EPARSE, n, "a NUL character inside a string is not allowed");
            return c->rc;
        }
        n->n = (uint32_t)ev->data.scalar.length;
        n->u.s = pool_dup(c, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!n->u.s) {
            snn__yr_nomem(c);
            return c->rc;
        }
        if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag)
            n->flags |= YF_PLAIN;
        anchor = anchor_name(c, ev->data.scalar.anchor);
        if (c->stop)
            return c->rc;
        if (anchor && anchor_set(b, anchor, n, 1)) {
            snn__yr_nomem(c);
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
                snn__yr_err(c, SNN_EPARSE, n,
                    "alias '*%s' refers to a node that contains it; recursive aliases are not "
                    "allowed",
                    name);
                return c->rc;
            }
        const struct anchor *a = anchor_get(b, name);
        if (!a) {
            snn__yr_err(c, SNN_EPARSE, n, "unknown anchor: '*%s' is not defined before this alias",
                        name);
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
            snn__yr_err(c, SNN_EPARSE, n, "collections nested deeper than %d levels",
                        SNN_FE_MAX_DEPTH);
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
                snn__yr_nomem(c);
                return c->rc;
            }
            memcpy(n->u.items, b->kids + f.first, count * sizeof *n->u.items);
        }
        b->n_kids = f.first;
        n->n = (uint32_t)(n->kind == Y_MAP ? count / 2 : count);
        if (f.anchor && anchor_set(b, f.anchor, n, f.expanded)) {
            snn__yr_nomem(c);
            return c->rc;
        }
        return attach(c, b, n, f.expanded);
    }
    default:
        return 0;
    }
}

/* Reports libyaml's own error (malformed YAML) at its position. */
static int yaml_error(struct snn__yr *c, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR) {
        snn__yr_nomem(c);
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
    snn__yr_err(c, SNN_EPARSE, &at, "%s", problem);
    if (p->context) {
        struct yn ctxn = {.line = (uint32_t)p->context_mark.line,
                          .col = (uint32_t)p->context_mark.column, .width = 1};
        snn__yr_note(c, &ctxn, p->context);
    }
    return c->rc;
}

/* Parses c->text into a tree.  *root is NULL for an empty document. */
int snn__yr_build(struct snn__yr *c, struct yn **root)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        snn__yr_nomem(c);
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
            snn__yr_err(c, SNN_EPARSE, &at, "a second YAML document: a file describes one %s",
                        c->what);
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
struct yn *snn__yr_resolve(struct snn__yr *c, struct yn *n)
{
    if (n->kind == Y_ALIAS)
        n = n->u.target;
    if (++c->visits > SNN_FE_MAX_VISITS && !c->stop) {
        snn__yr_err(c, SNN_ETOOBIG, n,
            "more than %zu nodes to read once aliases are expanded; refusing what looks like an "
            "alias bomb",
            SNN_FE_MAX_VISITS);
        c->stop = true;
    }
    return n;
}

/* Charges k visits at once, before allocating for k nodes. */
bool snn__yr_charge(struct snn__yr *c, const struct yn *at, uint64_t k)
{
    if (c->stop)
        return false;
    if (k > SNN_FE_MAX_VISITS - (c->visits < SNN_FE_MAX_VISITS ? c->visits : SNN_FE_MAX_VISITS)) {
        snn__yr_err(c, SNN_ETOOBIG, at,
            "more than %zu nodes to read once aliases are expanded; refusing what looks like an "
            "alias bomb",
            SNN_FE_MAX_VISITS);
        c->stop = true;
        return false;
    }
    c->visits += k;
    return true;
}

bool snn__yr_is_null(const struct yn *n)
{
    if (n->kind != Y_SCALAR || !(n->flags & YF_PLAIN))
        return false;
    const char *s = n->u.s;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

const char *snn__yr_kind_name(const struct yn *n)
{
    if (snn__yr_is_null(n))
        return "nothing";
    switch (n->kind) {
    case Y_SCALAR: return "a scalar";
    case Y_SEQ: return "a list";
    default: return "a mapping";
    }
}

/* Shortens a scalar for quoting in a message. */
const char *snn__yr_show(const struct yn *n, char *buf, size_t len)
{
    if (n->kind != Y_SCALAR)
        return snn__yr_kind_name(n);
    snprintf(buf, len, "'%.*s%s'", 40, n->u.s, n->n > 40 ? "..." : "");
    return buf;
}

bool snn__yr_scalar(struct snn__yr *c, struct yn *n, const char *key, const char **out)
{
    if (n->kind != Y_SCALAR || snn__yr_is_null(n)) {
        snn__yr_err(c, SNN_ESEMA, n, "'%s' must be a single value, not %s",
                    key, snn__yr_kind_name(n));
        return false;
    }
    *out = n->u.s;
    return true;
}

/* A whole number in [lo, hi]. */
bool snn__yr_uint(struct snn__yr *c, struct yn *n, const char *key, uint64_t lo, uint64_t hi,
                     uint64_t *out)
{
    const char *s;
    if (!snn__yr_scalar(c, n, key, &s))
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
        snn__yr_err(c, SNN_ESEMA, n, "'%s' must be a whole number, got %s",
                    key, snn__yr_show(n, buf, sizeof buf));
        return false;
    }
    if (!range || v < lo || v > hi) {
        snn__yr_err(c, SNN_ESEMA, n, "'%s' must be %llu .. %llu, got %s",
                    key, (unsigned long long)lo,
            (unsigned long long)hi, snn__yr_show(n, buf, sizeof buf));
        return false;
    }
    *out = v;
    return true;
}

bool snn__yr_bool(struct snn__yr *c, struct yn *n, const char *key, bool *out)
{
    static const char *const t[] = {"true", "True", "TRUE"};
    static const char *const f[] = {"false", "False", "FALSE"};
    if (n->kind == Y_SCALAR && (n->flags & YF_PLAIN))
        for (int i = 0; i < 3; i++) {
            if (!strcmp(n->u.s, t[i]))
                return *out = true, true;
            if (!strcmp(n->u.s, f[i]))
                return *out = false, true;
        }
    char buf[64];
    snn__yr_err(c, SNN_ESEMA, n, "'%s' must be true or false, got %s",
                key, snn__yr_show(n, buf, sizeof buf));
    return false;
}

bool snn__yr_quantity(struct snn__yr *c, struct yn *n, const char *key, enum snn_dim dim,
                         double *out)
{
    const char *s;
    if (!snn__yr_scalar(c, n, key, &s))
        return false;
    char why[160];
    if (snn_parse_quantity(s, dim, out, why, sizeof why)) {
        snn__yr_err(c, SNN_ESEMA, n, "'%s': %s", key, why);
        return false;
    }
    return true;
}

/* One of names[0 .. n) (an enumeration), with "did you mean". */
int snn__yr_choice(struct snn__yr *c, struct yn *node, const char *key, const char *const *names,
                      size_t n)
{
    const char *s;
    if (!snn__yr_scalar(c, node, key, &s))
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
        snn__yr_err(c, SNN_ESEMA, node, "unknown %s '%.40s' (did you mean '%s'?)", key, s, sug);
    else
        snn__yr_err(c, SNN_ESEMA, node, "unknown %s '%.40s' (expected one of %s)", key, s, list);
    return -1;
}

/* ---- mappings, merge keys, duplicates ---------------------------------- */

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
static void collect(struct snn__yr *c, struct yn *map, struct kvs *out, uint32_t *prio, int depth)
{
    if (depth > SNN_FE_MAX_DEPTH) {
        snn__yr_err(c, SNN_EPARSE, map, "merge keys ('<<') chained deeper than %d levels",
            SNN_FE_MAX_DEPTH);
        c->stop = true;
        return;
    }
    uint32_t mine = (*prio)++;
    if (snn_arena_grow(c->tmp, (void **)&out->v, &out->cap, out->n + map->n, sizeof *out->v)) {
        snn__yr_nomem(c);
        return;
    }
    for (uint32_t i = 0; i < map->n && !c->stop; i++) {
        struct yn *k = snn__yr_resolve(c, map->u.items[2 * i]);
        if (k->kind != Y_SCALAR) {
            snn__yr_err(c, SNN_ESEMA, k, "a key must be a plain name, not %s",
                        snn__yr_kind_name(k));
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
        struct yn *v = snn__yr_resolve(c, map->u.items[2 * i + 1]);
        if (v->kind == Y_MAP) {
            collect(c, v, out, prio, depth + 1);
        } else if (v->kind == Y_SEQ) {
            for (uint32_t j = 0; j < v->n && !c->stop; j++) {
                struct yn *m = snn__yr_resolve(c, v->u.items[j]);
                if (m->kind == Y_MAP)
                    collect(c, m, out, prio, depth + 1);
                else
                    snn__yr_err(c, SNN_ESEMA, m, "'<<' merges mappings, not %s",
                                snn__yr_kind_name(m));
            }
        } else {
            snn__yr_err(c, SNN_ESEMA, v, "'<<' merges a mapping or a list of mappings, not %s",
                snn__yr_kind_name(v));
        }
    }
}

/* The pairs of a mapping with merge keys applied and "<<" removed, in the
 * order written (own keys first).  Duplicate keys are reported once per
 * mapping; what names the keys in that message ("key", "population").
 * false when out of memory or stopped. */
bool snn__yr_flatten(struct snn__yr *c, struct yn *map, const char *what, struct kvs *out)
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
                snn__yr_err(c, SNN_ESEMA, p->key, "duplicate %s '%.60s'", what, p->name);
                snprintf(msg, sizeof msg, "'%.60s' first given here", p->name);
                snn__yr_note(c, first->key, msg);
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
void snn__yr_check_keys(struct snn__yr *c, const struct kvs *m, const char *const *names, size_t n,
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
            snn__yr_err(c, SNN_ESEMA, m->v[i].key, "unknown key '%.60s' in %s (did you mean '%s'?)",
                m->v[i].name, where, sug);
        else
            snn__yr_err(c, SNN_ESEMA, m->v[i].key, "unknown key '%.60s' in %s",
                        m->v[i].name, where);
    }
}

struct kv *snn__yr_find(const struct kvs *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->v[i].name, name))
            return &m->v[i];
    return NULL;
}

/* The value of key name, resolved, or NULL when absent. */
struct yn *snn__yr_get(struct snn__yr *c, const struct kvs *m, const char *name)
{
    struct kv *p = snn__yr_find(m, name);
    return p ? snn__yr_resolve(c, p->val) : NULL;
}

/* Resolves n and checks it is a mapping; a null counts as empty when
 * null_ok.  Returns the flattened pairs in out. */
bool snn__yr_map(struct snn__yr *c, struct yn *n, const char *key, const char *what, bool null_ok,
                    struct kvs *out)
{
    *out = (struct kvs){0};
    if (null_ok && snn__yr_is_null(n))
        return true;
    if (n->kind != Y_MAP) {
        snn__yr_err(c, SNN_ESEMA, n, "'%s' must be a mapping, not %s", key, snn__yr_kind_name(n));
        return false;
    }
    return snn__yr_flatten(c, n, what, out);
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

int snn__fe_read_file(const char *path, struct snn_diag *d, char **text, size_t *len)
{
    struct snn_loc file_loc = {path, 0, 0, 0};
    *text = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snn_diag_error(d, &file_loc, "cannot open: %s", strerror(errno));
        return SNN_EIO;
    }
    int rc = read_all(f, text, len);
    int saved = errno;
    fclose(f);
    if (rc == SNN_ETOOBIG)
        snn_diag_error(d, &file_loc, "the file is larger than %zu MiB",
                       SNN_FE_MAX_FILE_BYTES >> 20);
    else if (rc == SNN_EIO)
        snn_diag_error(d, &file_loc, "cannot read: %s", strerror(saved));
    return rc;
}

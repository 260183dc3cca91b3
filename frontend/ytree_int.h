/*
 * frontend/ytree_int.h: the bounded YAML reader shared by the front end's
 * YAML parsers (network descriptions in yaml.c, machine descriptions in
 * target_yaml.c).
 *
 * Two steps, as yaml.c's opening comment describes in full:
 *  1. snn__yr_build() turns libyaml's events into a small tree of struct
 *     yn kept in a scratch arena, capping the node count, the nesting
 *     depth and alias expansion while it parses, refusing recursive
 *     aliases and keeping every node's position.
 *  2. The parser walks the tree by its schema with the helpers below:
 *     they follow aliases and merge keys (<<), count every visit against
 *     SNN_FE_MAX_VISITS, report problems at file:line:col with the key
 *     named, suggest the closest key or name ("did you mean"), and keep
 *     going after an error, up to SNN_FE_MAX_ERRORS.
 *
 * A reader (struct snn__yr) lives for one parse: snn__yr_init() before,
 * snn__yr_fini() after, which frees the tree and every scratch list.  The
 * helpers returning bool report their own errors and return false; after
 * c->stop (out of memory, an alias bomb, too many errors) the parser
 * should give up.  c->rc is the most telling error code so far.
 */
#ifndef SNN_FRONTEND_YTREE_INT_H
#define SNN_FRONTEND_YTREE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"
#include "support/diag.h"

struct snn_arena;

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

/* One pair of a flattened mapping. */
struct kv {
    struct yn *key, *val;
    const char *name;
    uint32_t prio; /* 0: written in the mapping itself; more: merged, later ones lose */
    uint32_t pos;
    const struct yn *src; /* the mapping the pair is written in */
};

struct kvs {
    struct kv *v; /* in the scratch arena */
    size_t n, cap;
};

/* ---- the reader ---------------------------------------------------------- */

struct snn__yr {
    const char *file;
    const char *text;
    size_t len;
    struct snn_diag *d;
    const char *what;      /* what one file describes, for messages: "network" */
    struct snn_arena *tmp; /* the tree and scratch: freed by snn__yr_fini */
    char *pool;            /* packed strings of the tree */
    size_t pool_left;
    size_t visits;
    unsigned errors;
    int rc;    /* the worst error so far */
    bool stop; /* give up: out of memory, alias bomb, too many errors */
    bool ascii;
    /* Cursor of the character-to-byte column conversion. */
    uint32_t cur_line;
    size_t cur_off;
};

/* Sets up a reader of text (file names it in diagnostics; what says what
 * a file describes, "network").  0 or SNN_ENOMEM. */
int snn__yr_init(struct snn__yr *c, const char *file, const char *text, size_t len,
                 struct snn_diag *d, const char *what);
void snn__yr_fini(struct snn__yr *c);

/* Step 1: parses the text into a tree.  *root is NULL for an empty
 * document.  0, or an error already reported (c->rc). */
int snn__yr_build(struct snn__yr *c, struct yn **root);

/* ---- reporting ------------------------------------------------------------ */

/* Records an out-of-memory failure and stops the reader. */
void snn__yr_nomem(struct snn__yr *c);
/* The location of node n (1-based line and byte column). */
struct snn_loc snn__yr_loc(struct snn__yr *c, const struct yn *n);
/* Reports an error with code rc at node n (NULL: the file as a whole). */
void snn__yr_err(struct snn__yr *c, int rc, const struct yn *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void snn__yr_note(struct snn__yr *c, const struct yn *n, const char *msg);

/* ---- step 2: reading the tree ---------------------------------------------- */

/* Follows an alias and counts the visit. */
struct yn *snn__yr_resolve(struct snn__yr *c, struct yn *n);
/* Charges k visits at once, before allocating for k nodes. */
bool snn__yr_charge(struct snn__yr *c, const struct yn *at, uint64_t k);

bool snn__yr_is_null(const struct yn *n);
/* "a scalar", "a list", "a mapping", "nothing". */
const char *snn__yr_kind_name(const struct yn *n);
/* A scalar quoted and shortened for a message, or its kind. */
const char *snn__yr_show(const struct yn *n, char *buf, size_t len);

/* A single value (not null, not a collection). */
bool snn__yr_scalar(struct snn__yr *c, struct yn *n, const char *key, const char **out);
/* A whole number in [lo, hi]. */
bool snn__yr_uint(struct snn__yr *c, struct yn *n, const char *key, uint64_t lo, uint64_t hi,
                  uint64_t *out);
bool snn__yr_bool(struct snn__yr *c, struct yn *n, const char *key, bool *out);
/* A quantity of dimension dim (frontend/units.h). */
bool snn__yr_quantity(struct snn__yr *c, struct yn *n, const char *key, enum snn_dim dim,
                      double *out);
/* One of names[0 .. n) (an enumeration), with "did you mean"; -1 after
 * reporting anything else. */
int snn__yr_choice(struct snn__yr *c, struct yn *node, const char *key, const char *const *names,
                   size_t n);

/* The pairs of a mapping with merge keys applied and "<<" removed, in the
 * order written.  Duplicate keys are reported; what names the keys in
 * that message ("key", "population").  false when out of memory or
 * stopped. */
bool snn__yr_flatten(struct snn__yr *c, struct yn *map, const char *what, struct kvs *out);
/* Reports every key not among names (with "did you mean"); where names
 * the mapping ("the network"). */
void snn__yr_check_keys(struct snn__yr *c, const struct kvs *m, const char *const *names,
                        size_t n, const char *where);
/* The pair of key name, or NULL. */
struct kv *snn__yr_find(const struct kvs *m, const char *name);
/* The value of key name, resolved, or NULL when absent. */
struct yn *snn__yr_get(struct snn__yr *c, const struct kvs *m, const char *name);
/* Checks n (resolved) is a mapping, flattened into out; a null counts as
 * empty when null_ok. */
bool snn__yr_map(struct snn__yr *c, struct yn *n, const char *key, const char *what,
                 bool null_ok, struct kvs *out);

/* ---- files --------------------------------------------------------------- */

/* Reads the file at path whole into a snn_malloc'd, NUL-terminated
 * buffer, reporting failures to d at the file's name.  0, SNN_EIO,
 * SNN_ETOOBIG (over SNN_FE_MAX_FILE_BYTES) or SNN_ENOMEM. */
int snn__fe_read_file(const char *path, struct snn_diag *d, char **text, size_t *len);

#endif

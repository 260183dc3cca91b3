/*
 * backends/sdt/lower.c: a quantized layer graph -> an sdt program
 * (backends/sdt/sdt.h; the plan is docs/sdt-accelerator.md, "Lowering").
 *
 * Two passes over the nodes, in graph order:
 *
 *   1. decide: who reads whom (through the views tokens and flatten, which
 *      move no data), which q16 producers are fused into the NEURON of
 *      their only consumer (conv -> LIF, conv -> add -> LIF, conv -> add
 *      stored with the residual flag, add -> LIF with the identity
 *      requantization), and the last node that reads each event list;
 *   2. emit: every node's descriptors at its place in the order (a fused
 *      producer's NEURON at its consumer's), allocating DMEM, WMEM and QMEM
 *      as it goes (once for the whole run: nothing is reused, so regions
 *      never overlap) and list registers by liveness (1 .. 14: 0 is the
 *      host's input, 15 the output FIFO, left unused), a CLEAR of the count
 *      before a register is reused within the step.
 *
 * Then EVT is laid out (one region per register, the largest list it
 * holds), the program ends with END, and every descriptor is checked as
 * the sequencer will (snn_sdt_check_desc): a failure there is a bug of
 * this file, reported rather than emitted.
 *
 * Invariants the program keeps (and the tests check): every accumulator
 * is zero before its producer runs (DMEM starts zeroed; each NEURON reading
 * an accumulator clears it), lanes past a tensor's channels stay 0, every
 * list register's region holds the largest tensor assigned to it.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "backends/sdt/sdt.h"
#include "ir/lsim.h"
#include "support/arena.h"
#include "support/err.h"

#define NONE SNN_SDT_NONE
/* List registers the backend assigns: 0 and 15 are the host's. */
#define FIRST_REG 1u
#define LAST_REG 14u

/* How a node is realised. */
enum how {
    H_NONE,        /* the input, a view, or a node whose NEURON is its consumer's */
    H_MAT,         /* a dense tensor of its own */
    H_DEFER,       /* an accumulator producer read by its consumer's NEURON */
    H_ADD_LIF,     /* an add realised inside the following LIF's NEURON */
    H_ADD_NEURON,  /* an add of a deferred producer and a tensor: NEURON mode 0 + residual */
    H_ADD_OP       /* an add of two tensors: ADD */
};

struct lw {
    const struct snn_layer_graph *g;
    const struct snn_lquant *lq;
    const struct snn_sdt_target *t;
    struct snn_diag *d;
    struct snn_sdt_program *p;
    struct snn_arena *a;
    uint32_t L;
    uint32_t *uses;     /* consumers, +1 for the head */
    int32_t *user;      /* the consumer when there is exactly one (not the head), or -1 */
    uint8_t *how;
    uint32_t *absorbed; /* ADD: the deferred producer it absorbed, or NONE */
    uint32_t *ev_last;  /* a node with events: the last node reading them, or NONE */
    size_t desc_cap, wmem_cap, qmem_cap, reg_cap;
    uint32_t ident_q;   /* QMEM: the identity requantization (m = 1, b = 0), or NONE */
    uint32_t max_g;
    uint32_t reg_owner[SNN_SDT_LISTS];
    bool reg_used[SNN_SDT_LISTS];
};

static uint64_t tsize(struct snn_shape s)
{
    return (uint64_t)s.c * s.h * s.w;
}

static const struct snn_lnode *node(const struct lw *w, uint32_t i)
{
    return &w->g->nodes[i];
}

static uint32_t groups(const struct lw *w, uint32_t c)
{
    return snn_sdt_groups(c, w->L);
}

/* Words of a dense tensor of shape s. */
static uint64_t twords(const struct lw *w, struct snn_shape s)
{
    return (uint64_t)groups(w, s.c) * s.h * s.w;
}

static bool is_accp(enum snn_lop op)
{
    return op == SNN_L_CONV || op == SNN_L_SUMPOOL || op == SNN_L_SDSA2;
}

static bool is_neuron(enum snn_lop op)
{
    return op == SNN_L_LIF || op == SNN_L_ILIF;
}

/* A view that keeps the DMEM layout: tokens always (token t of [C, H·W, 1]
 * is position t of [C, H, W], the same word), flatten of a [C, 1, 1]. */
static bool is_same_view(const struct lw *w, uint32_t i)
{
    const struct snn_lnode *n = node(w, i);
    if (n->op == SNN_L_TOKENS)
        return true;
    if (n->op == SNN_L_FLATTEN) {
        struct snn_shape s = node(w, n->in[0])->shape;
        return s.h == 1 && s.w == 1;
    }
    return false;
}

/* The node whose storage node i's output is: through layout-keeping views. */
static uint32_t resolve(const struct lw *w, uint32_t i)
{
    while (is_same_view(w, i))
        i = node(w, i)->in[0];
    return i;
}

/* The only consumer of i, through layout-keeping views, or -1. */
static int32_t sole_user(const struct lw *w, uint32_t i)
{
    for (;;) {
        if (w->uses[i] != 1 || w->user[i] < 0)
            return -1;
        uint32_t j = (uint32_t)w->user[i];
        if (!is_same_view(w, j))
            return (int32_t)j;
        i = j;
    }
}

static bool has_events(const struct snn_lnode *n)
{
    return n->op == SNN_L_INPUT || n->op == SNN_L_LIF || n->op == SNN_L_ILIF ||
           n->op == SNN_L_SDSA1 || (n->op == SNN_L_MAXPOOL && n->kind == SNN_T_SPIKES);
}

/* ---- reporting ---------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static int fail(struct lw *w, int rc, uint32_t i,
                                                      const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const struct snn_lnode *n = node(w, i);
    snn_diag_error(w->d, &n->loc, "layer '%s': %s", n->name, msg);
    return rc;
}

/* ---- allocation ------------------------------------------------------------------ */

static int region(struct lw *w, const char *what, uint32_t owner, uint32_t base, uint32_t words)
{
    struct snn_sdt_program *p = w->p;
    void *arr = p->regions;
    if (snn_arena_grow(w->a, &arr, &w->reg_cap, (size_t)p->n_regions + 1, sizeof *p->regions))
        return SNN_ENOMEM;
    p->regions = arr;
    p->regions[p->n_regions++] = (struct snn_sdt_region){what, owner, base, words};
    return 0;
}

/* n words of DMEM for node i's `what`: *base, or an error naming the layer. */
static int dmem(struct lw *w, uint32_t i, const char *what, uint64_t n, uint32_t *base)
{
    uint64_t cap = (uint64_t)1 << w->t->dmem_log2;
    if (w->p->dmem_words + n > cap)
        return fail(w, SNN_ETOOBIG, i,
                    "DMEM: its %s needs %llu words from word %u; DMEM has %llu words (target '%s')",
                    what, (unsigned long long)n, w->p->dmem_words, (unsigned long long)cap,
                    w->p->name);
    *base = w->p->dmem_words;
    w->p->dmem_words += (uint32_t)n;
    return region(w, what, i, *base, (uint32_t)n);
}

/* n words of WMEM (zeroed) for node i: *base. */
static int wmem(struct lw *w, uint32_t i, uint64_t n, uint32_t *base)
{
    struct snn_sdt_program *p = w->p;
    uint64_t cap = (uint64_t)1 << w->t->wmem_log2;
    if (p->wmem_words + n > cap)
        return fail(w, SNN_ETOOBIG, i,
                    "WMEM: its weights need %llu words from word %u; WMEM has %llu words of %u "
                    "lanes (target '%s')",
                    (unsigned long long)n, p->wmem_words, (unsigned long long)cap, w->L, p->name);
    void *arr = p->wmem;
    if (snn_arena_grow(w->a, &arr, &w->wmem_cap, (size_t)(p->wmem_words + n) * w->L, 1))
        return SNN_ENOMEM;
    p->wmem = arr;
    *base = p->wmem_words;
    p->wmem_words += (uint32_t)n;
    return 0;
}

/* n words of QMEM (zeroed) for node i: *base. */
static int qmem(struct lw *w, uint32_t i, uint64_t n, uint32_t *base)
{
    struct snn_sdt_program *p = w->p;
    uint64_t cap = (uint64_t)1 << w->t->qmem_log2;
    if (p->qmem_words + n > cap)
        return fail(w, SNN_ETOOBIG, i,
                    "QMEM: its requantization needs %llu words from word %u; QMEM has %llu "
                    "words (target '%s')",
                    (unsigned long long)n, p->qmem_words, (unsigned long long)cap, p->name);
    void *arr = p->qmem;
    if (snn_arena_grow(w->a, &arr, &w->qmem_cap, (size_t)(p->qmem_words + n) * w->L * 2,
                       sizeof *p->qmem))
        return SNN_ENOMEM;
    p->qmem = arr;
    *base = p->qmem_words;
    p->qmem_words += (uint32_t)n;
    return 0;
}

static void qset(struct lw *w, uint32_t base, uint32_t o, int32_t m, int32_t b)
{
    int32_t *q = w->p->qmem + ((size_t)(base + o / w->L) * w->L + o % w->L) * 2;
    q[0] = m;
    q[1] = b;
}

/* Node i's requantization pairs into QMEM. */
static int put_requant(struct lw *w, uint32_t i, uint32_t *base)
{
    const struct snn_lq_requant *rq = &w->lq->nodes[i].rq;
    int rc = qmem(w, i, groups(w, rq->n), base);
    for (uint32_t o = 0; !rc && o < rq->n; o++)
        qset(w, *base, o, rq->m[o], rq->b[o]);
    return rc;
}

/* The identity requantization (m = 1, b = 0, for every lane of the
 * widest tensor), laid out once. */
static int ident(struct lw *w, uint32_t i, uint32_t *base)
{
    if (w->ident_q == NONE) {
        int rc = qmem(w, i, w->max_g, &w->ident_q);
        if (rc)
            return rc;
        for (uint32_t o = 0; o < w->max_g * w->L; o++)
            qset(w, w->ident_q, o, 1, 0);
    }
    *base = w->ident_q;
    return 0;
}

/* A new descriptor of opcode op for node i (zeroed but word 0). */
static uint32_t *emit(struct lw *w, uint32_t i, uint32_t op, uint32_t flags)
{
    struct snn_sdt_program *p = w->p;
    void *arr = p->desc;
    if (snn_arena_grow(w->a, &arr, &w->desc_cap, (size_t)p->n_desc + 1, sizeof *p->desc))
        return NULL;
    p->desc = arr;
    uint32_t *d = p->desc[p->n_desc];
    memset(d, 0, SNN_SDT_DESC_BYTES);
    d[0] = snn_sdt_w0(op, flags);
    struct snn_sdt_node_info *ni = &p->node[i];
    if (ni->first_desc == NONE)
        ni->first_desc = p->n_desc;
    ni->n_desc++;
    p->n_desc++;
    return d;
}

/* ---- list registers ---------------------------------------------------------------- */

/* A register for node i's events (its tensor of n elements), freeing the
 * registers whose lists nobody reads from i on; a CLEAR of the count
 * first when the register held another list earlier in the step. */
static int take_list(struct lw *w, uint32_t i, uint32_t *reg)
{
    struct snn_sdt_program *p = w->p;
    for (uint32_t r = FIRST_REG; r <= LAST_REG; r++) {
        uint32_t o = w->reg_owner[r];
        if (o != NONE && w->ev_last[o] < i)
            w->reg_owner[r] = NONE;
    }
    uint32_t r = FIRST_REG;
    while (r <= LAST_REG && w->reg_owner[r] != NONE)
        r++;
    if (r > LAST_REG) {
        char live[200] = "";
        for (uint32_t k = FIRST_REG; k <= LAST_REG && strlen(live) < 150; k++)
            snprintf(live + strlen(live), sizeof live - strlen(live), "%s'%s'",
                     k == FIRST_REG ? "" : ", ", node(w, w->reg_owner[k])->name);
        return fail(w, SNN_ETOOBIG, i,
                    "its spikes need an event list while %u others are still to be read (%s); "
                    "the accelerator has %u list registers for them",
                    LAST_REG - FIRST_REG + 1, live, LAST_REG - FIRST_REG + 1);
    }
    if (w->reg_used[r]) {
        uint32_t *d = emit(w, i, SNN_SDT_OP_CLEAR, SNN_SDT_FLAG_CLEAR_LIST);
        if (!d)
            return SNN_ENOMEM;
        d[SNN_SDT_W_LISTS] = snn_sdt_w4(0, r);
    }
    w->reg_owner[r] = i;
    w->reg_used[r] = true;
    uint64_t n = tsize(node(w, i)->shape);
    if (n > p->list_cap[r])
        p->list_cap[r] = (uint32_t)n;
    p->node[i].list = r;
    p->node[i].list_first = p->n_desc;
    *reg = r;
    return 0;
}

/* Notes that the descriptor about to be emitted reads src's events. */
static void read_list(struct lw *w, uint32_t src)
{
    w->p->node[src].list_last = w->p->n_desc;
}

/* The node whose event list a consumer i of input `in` reads: through
 * views that keep the events' fields (tokens of a [C, H, 1], flatten of a
 * [C, 1, 1]); NONE after an error reported. */
static uint32_t event_source(struct lw *w, uint32_t i, uint32_t in)
{
    uint32_t s = in;
    for (;;) {
        const struct snn_lnode *n = node(w, s);
        if (n->op == SNN_L_TOKENS) {
            struct snn_shape src = node(w, n->in[0])->shape;
            if (src.w != 1) {
                fail(w, SNN_EUNSUPPORTED, i,
                     "reads the events of '%s', tokens of a [%u, %u, %u] tensor: the "
                     "accelerator's events keep the row and column, so tokens of a tensor "
                     "wider than one column cannot be walked as events (apply the tokens view "
                     "before the spiking layer)",
                     n->name, src.c, src.h, src.w);
                return NONE;
            }
            s = n->in[0];
        } else if (n->op == SNN_L_FLATTEN) {
            struct snn_shape src = node(w, n->in[0])->shape;
            if (src.h != 1 || src.w != 1) {
                fail(w, SNN_EUNSUPPORTED, i,
                     "reads the events of '%s', a flattened [%u, %u, %u] tensor; only a "
                     "linear layer (kernel 1) can read a flattened tensor",
                     n->name, src.c, src.h, src.w);
                return NONE;
            }
            s = n->in[0];
        } else {
            break;
        }
    }
    const struct snn_lnode *n = node(w, s);
    if (!has_events(n)) {
        fail(w, SNN_EUNSUPPORTED, i,
             "reads '%s' (%s, %s) as events, but the accelerator makes an event list only for "
             "spikes (input, LIF, I-LIF, SDSA v1, maxpool on spikes)",
             n->name, snn_lop_name(n->op), snn_tkind_name(n->kind));
        return NONE;
    }
    return s;
}

/* ---- pass 1: decisions ------------------------------------------------------------ */

static void count_uses(struct lw *w)
{
    const struct snn_layer_graph *g = w->g;
    for (uint32_t i = 0; i < g->n_nodes; i++)
        w->user[i] = -1;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct snn_lnode *n = node(w, i);
        for (uint32_t k = 0; k < n->n_in; k++) {
            uint32_t s = n->in[k];
            w->uses[s]++;
            w->user[s] = (int32_t)i;
        }
    }
    w->uses[g->output]++;
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (w->uses[i] != 1 || i == g->output)
            w->user[i] = -1;
}

/* Which producers fuse into which consumers (enum how). */
static void decide(struct lw *w)
{
    const struct snn_layer_graph *g = w->g;
    for (uint32_t i = 0; i < g->n_nodes; i++)
        w->absorbed[i] = NONE;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct snn_lnode *n = node(w, i);
        if (n->op == SNN_L_INPUT || n->op == SNN_L_TOKENS || n->op == SNN_L_FLATTEN) {
            w->how[i] = H_NONE;
        } else if (is_accp(n->op)) {
            int32_t u = sole_user(w, i);
            w->how[i] = H_MAT;
            if (u >= 0 && is_neuron(node(w, (uint32_t)u)->op)) {
                w->how[i] = H_DEFER;
            } else if (u >= 0 && node(w, (uint32_t)u)->op == SNN_L_ADD) {
                /* the add absorbs one producer, the first decided */
                const struct snn_lnode *a = node(w, (uint32_t)u);
                uint32_t x = resolve(w, a->in[0]), y = resolve(w, a->in[1]);
                if (x != y && w->absorbed[u] == NONE) {
                    w->how[i] = H_DEFER;
                    w->absorbed[u] = i;
                }
            }
            if (w->how[i] == H_DEFER)
                w->p->node[i].fused_into = (uint32_t)u;
        } else if (n->op == SNN_L_ADD) {
            int32_t u = sole_user(w, i);
            bool to_lif = u >= 0 && is_neuron(node(w, (uint32_t)u)->op);
            if (to_lif)
                w->how[i] = H_ADD_LIF;
            else
                w->how[i] = w->absorbed[i] != NONE ? H_ADD_NEURON : H_ADD_OP;
            if (to_lif)
                w->p->node[i].fused_into = (uint32_t)u;
        } else {
            w->how[i] = H_MAT;
        }
    }
}

/* The last node that reads each event list. */
static void find_readers(struct lw *w)
{
    const struct snn_layer_graph *g = w->g;
    for (uint32_t i = 0; i < g->n_nodes; i++)
        w->ev_last[i] = i; /* a list nobody reads is free after its producer */
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct snn_lnode *n = node(w, i);
        uint32_t ins[2], k = 0;
        if (n->op == SNN_L_CONV || n->op == SNN_L_SUMPOOL)
            ins[k++] = n->in[0];
        if (n->op == SNN_L_SDSA2) {
            ins[k++] = n->in[0];
            ins[k++] = n->in[1];
        }
        for (uint32_t j = 0; j < k; j++) {
            uint32_t s = ins[j];
            while (node(w, s)->op == SNN_L_TOKENS || node(w, s)->op == SNN_L_FLATTEN)
                s = node(w, s)->in[0];
            if (w->ev_last[s] < i)
                w->ev_last[s] = i;
        }
    }
}

/* ---- pass 2: emission --------------------------------------------------------------- */

/* The dense tensor holding input `in` of consumer i, or an error. */
static int dense_of(struct lw *w, uint32_t i, uint32_t in, uint32_t *base)
{
    uint32_t s = resolve(w, in);
    const struct snn_lnode *n = node(w, s);
    if (n->op == SNN_L_FLATTEN) {
        struct snn_shape src = node(w, n->in[0])->shape;
        return fail(w, SNN_EUNSUPPORTED, i,
                    "reads '%s', a flattened [%u, %u, %u] tensor, as a dense tensor; flattening "
                    "reorders the elements, which the accelerator does not do (only a linear "
                    "layer can read a flattened tensor)",
                    n->name, src.c, src.h, src.w);
    }
    SNN_ASSERT(w->p->node[s].dense != NONE);
    *base = w->p->node[s].dense;
    return 0;
}

/* A [C, 1, 1] linear layer over a flattened [C, H, W] tensor as one k x k
 * window that covers the whole tensor and gives one output: k odd, pad p,
 * stride s with H + 2p >= k, (H + 2p - k) / s == 0 and H + p <= k (every
 * row reaches the output through tap y + p), the same for W.  false when
 * no window of at most 7 x 7 does. */
static bool full_window(uint32_t h, uint32_t wd, uint32_t *k, uint32_t *pad, uint32_t *stride)
{
    for (uint32_t kk = 1; kk <= 7; kk += 2)
        for (uint32_t p = 0; p < kk; p++)
            for (uint32_t s = 1; s <= 2; s++) {
                bool ok = true;
                const uint32_t sides[2] = {h, wd};
                for (int j = 0; j < 2; j++) {
                    uint32_t n = sides[j];
                    ok = ok && n + 2 * p >= kk && (n + 2 * p - kk) / s == 0 && n + p <= kk;
                }
                if (ok) {
                    *k = kk;
                    *pad = p;
                    *stride = s;
                    return true;
                }
            }
    return false;
}

static int emit_conv(struct lw *w, uint32_t i)
{
    const struct snn_lnode *n = node(w, i);
    const struct snn_lconv *cv = &n->u.conv;
    const struct snn_lq_node *q = &w->lq->nodes[i];
    struct snn_sdt_node_info *ni = &w->p->node[i];
    /* the input as the accelerator walks it */
    uint32_t in = n->in[0];
    struct snn_shape is = node(w, in)->shape;
    uint32_t k = cv->kernel, pad = cv->pad, stride = cv->stride;
    bool flat = false;
    uint32_t s = in;
    while (node(w, s)->op == SNN_L_TOKENS)
        s = node(w, s)->in[0];
    if (node(w, s)->op == SNN_L_FLATTEN && !is_same_view(w, s)) {
        struct snn_shape fs = node(w, node(w, s)->in[0])->shape;
        if (k != 1)
            return fail(w, SNN_EUNSUPPORTED, i,
                        "a %ux%u convolution of a flattened tensor; only a linear layer (kernel "
                        "1) can read one",
                        k, k);
        if (!full_window(fs.h, fs.w, &k, &pad, &stride))
            return fail(w, SNN_EUNSUPPORTED, i,
                        "a linear layer over a flattened [%u, %u, %u] tensor runs as one window "
                        "over its rows and columns, and no odd window of at most 7 x 7 covers "
                        "%u x %u",
                        fs.c, fs.h, fs.w, fs.h, fs.w);
        flat = true;
        in = node(w, s)->in[0];
        is = fs;
    }
    uint32_t src = event_source(w, i, in);
    if (src == NONE)
        return SNN_EUNSUPPORTED;
    bool counts = node(w, src)->kind == SNN_T_COUNTS;
    bool int4 = cv->bits == 4;
    if (cv->depthwise && int4)
        return fail(w, SNN_EUNSUPPORTED, i,
                    "a depthwise convolution with int4 weights; the accelerator's depthwise "
                    "layers are int8 (bits: 8)");
    uint32_t C = is.c, O = n->shape.c, L = w->L, T = k * k;
    uint32_t Ho = flat ? 1 : n->shape.h, Wo = flat ? 1 : n->shape.w;
    uint32_t gin = groups(w, C), gout = groups(w, O), gout2 = (gout + 1) & ~1u;
    uint64_t wn = cv->depthwise ? (uint64_t)T * gin
                  : int4        ? (uint64_t)C * T * gout2 / 2
                                : (uint64_t)C * T * gout;
    int rc = wmem(w, i, wn, &ni->wmem);
    if (rc)
        return rc;
    ni->wmem_words = (uint32_t)wn;
    uint8_t *wm = w->p->wmem;
    uint32_t ck = cv->kernel, per = cv->depthwise ? 1 : C;
    /* q->w is [O][per][ck][ck]; flat: per = C·H·W features, one tap each */
    for (uint32_t o = 0; o < O; o++)
        for (uint32_t c = 0; c < (flat ? C * is.h * is.w : per); c++)
            for (uint32_t t = 0; t < (flat ? 1 : ck * ck); t++) {
                int8_t v = q->w[((size_t)o * (flat ? C * is.h * is.w : per) + c) * (flat ? 1 : ck * ck) + t];
                uint32_t ch = c, tap = t;
                if (flat) { /* feature c = ch·H·W + y·W + x meets the output at tap (y + p, x + p) */
                    ch = c / (is.h * is.w);
                    uint32_t y = c / is.w % is.h, x = c % is.w;
                    tap = (y + pad) * k + x + pad;
                }
                uint64_t word, lane = o % L;
                if (cv->depthwise) {
                    word = (uint64_t)tap * gin + o / L;
                    wm[(ni->wmem + word) * L + lane] = (uint8_t)v;
                } else if (int4) {
                    uint64_t idx = ((uint64_t)ch * T + tap) * gout2 + o / L;
                    uint8_t *b = &wm[(ni->wmem + idx / 2) * L + lane];
                    uint32_t sh = (uint32_t)(idx % 2) * 4;
                    *b = (uint8_t)((*b & ~(0xFu << sh)) | (((uint32_t)v & 0xFu) << sh));
                } else {
                    word = ((uint64_t)ch * T + tap) * gout + o / L;
                    wm[(ni->wmem + word) * L + lane] = (uint8_t)v;
                }
            }
    if ((rc = put_requant(w, i, &ni->qmem)))
        return rc;
    if ((rc = dmem(w, i, "acc", (uint64_t)gout * Ho * Wo, &ni->acc)))
        return rc;
    read_list(w, src);
    uint32_t *d = emit(w, i, SNN_SDT_OP_CONV, 0);
    if (!d)
        return SNN_ENOMEM;
    d[SNN_SDT_W_CH] = snn_sdt_w1(C, O);
    d[SNN_SDT_W_HW] = snn_sdt_w2(is.h, is.w, Ho, Wo);
    d[SNN_SDT_W_GEOM] = snn_sdt_w3(k, stride, pad, cv->depthwise, int4, counts);
    d[SNN_SDT_W_LISTS] = snn_sdt_w4(w->p->node[src].list, 0);
    d[SNN_SDT_W_ACC] = ni->acc;
    d[SNN_SDT_W_WMEM] = ni->wmem;
    return 0;
}

/* A NEURON of node `owner` (its descriptor count) over shape s. */
struct neuron {
    uint32_t mode, acc, q, sh, clear, res, res_base, out, state, list, k, d_max;
    int32_t theta;
};

static int emit_neuron(struct lw *w, uint32_t owner, struct snn_shape s, const struct neuron *nr)
{
    uint32_t *d = emit(w, owner, SNN_SDT_OP_NEURON, 0);
    if (!d)
        return SNN_ENOMEM;
    d[SNN_SDT_W_CH] = snn_sdt_w1(0, s.c);
    d[SNN_SDT_W_HW] = snn_sdt_w2(0, 0, s.h, s.w);
    d[SNN_SDT_W_LISTS] = snn_sdt_w4(0, nr->mode == SNN_SDT_MODE_STORE ? 0 : nr->list);
    d[SNN_SDT_W_B] = nr->res ? nr->res_base : 0;
    d[SNN_SDT_W_OUT] = nr->out;
    d[SNN_SDT_W_ACC] = nr->acc;
    d[SNN_SDT_W_STATE] = nr->mode == SNN_SDT_MODE_STORE ? 0 : nr->state;
    d[SNN_SDT_W_QMEM] = nr->q;
    d[SNN_SDT_W_NP] = snn_sdt_w12(nr->sh, nr->k, nr->mode, nr->res, nr->clear, nr->d_max, 0);
    d[SNN_SDT_W_THETA] = (uint32_t)nr->theta;
    return 0;
}

/* The requantized accumulator of a deferred producer p into nr. */
static void from_acc(struct lw *w, uint32_t p, struct neuron *nr)
{
    nr->acc = w->p->node[p].acc;
    nr->q = w->p->node[p].qmem;
    nr->sh = w->lq->nodes[p].rq.sh;
    nr->clear = 1;
}

/* A tensor read through the identity requantization into nr. */
static int from_tensor(struct lw *w, uint32_t i, uint32_t in, struct neuron *nr)
{
    int rc = dense_of(w, i, in, &nr->acc);
    rc = rc ? rc : ident(w, i, &nr->q);
    nr->sh = 0;
    nr->clear = 0;
    return rc;
}

/* An accumulator producer's q16 stored as a tensor (NEURON mode 0). */
static int materialise(struct lw *w, uint32_t i)
{
    const struct snn_lnode *n = node(w, i);
    struct snn_sdt_node_info *ni = &w->p->node[i];
    struct neuron nr = {0};
    int rc = dmem(w, i, "out", twords(w, n->shape), &ni->dense);
    if (rc)
        return rc;
    from_acc(w, i, &nr);
    nr.mode = SNN_SDT_MODE_STORE;
    nr.out = ni->dense;
    return emit_neuron(w, i, n->shape, &nr);
}

static int emit_lif(struct lw *w, uint32_t i)
{
    const struct snn_lnode *n = node(w, i);
    struct snn_sdt_node_info *ni = &w->p->node[i];
    struct neuron nr = {0};
    uint32_t s = resolve(w, n->in[0]);
    int rc = 0;
    if (w->how[s] == H_DEFER) {
        from_acc(w, s, &nr);
    } else if (w->how[s] == H_ADD_LIF) {
        const struct snn_lnode *a = node(w, s);
        uint32_t p = w->absorbed[s];
        nr.res = 1;
        if (p != NONE) {
            from_acc(w, p, &nr);
            uint32_t r = resolve(w, a->in[0]) == p ? a->in[1] : a->in[0];
            rc = dense_of(w, i, r, &nr.res_base);
        } else {
            rc = from_tensor(w, i, a->in[0], &nr);
            rc = rc ? rc : dense_of(w, i, a->in[1], &nr.res_base);
        }
    } else {
        rc = from_tensor(w, i, n->in[0], &nr);
    }
    uint64_t words = twords(w, n->shape);
    bool ilif = n->op == SNN_L_ILIF;
    rc = rc ? rc : dmem(w, i, "state", ilif ? 2 * words : words, &ni->state);
    rc = rc ? rc : dmem(w, i, "out", words, &ni->dense);
    rc = rc ? rc : take_list(w, i, &nr.list);
    if (rc)
        return rc;
    nr.mode = ilif ? SNN_SDT_MODE_ILIF : SNN_SDT_MODE_LIF;
    nr.out = ni->dense;
    nr.state = ni->state;
    if (ilif) {
        nr.k = n->u.ilif.decay_shift;
        nr.d_max = n->u.ilif.d_max;
    } else {
        nr.k = n->u.lif.tau_shift;
        nr.theta = w->lq->nodes[i].theta;
    }
    return emit_neuron(w, i, n->shape, &nr);
}

static int emit_add(struct lw *w, uint32_t i)
{
    const struct snn_lnode *n = node(w, i);
    struct snn_sdt_node_info *ni = &w->p->node[i];
    if (w->how[i] == H_ADD_LIF)
        return 0;
    int rc = dmem(w, i, "out", twords(w, n->shape), &ni->dense);
    if (rc)
        return rc;
    if (w->how[i] == H_ADD_NEURON) {
        uint32_t p = w->absorbed[i];
        struct neuron nr = {0};
        from_acc(w, p, &nr);
        uint32_t r = resolve(w, n->in[0]) == p ? n->in[1] : n->in[0];
        nr.res = 1;
        if ((rc = dense_of(w, i, r, &nr.res_base)))
            return rc;
        nr.mode = SNN_SDT_MODE_STORE;
        nr.out = ni->dense;
        return emit_neuron(w, i, n->shape, &nr);
    }
    uint32_t a, b;
    if ((rc = dense_of(w, i, n->in[0], &a)) || (rc = dense_of(w, i, n->in[1], &b)))
        return rc;
    uint32_t *d = emit(w, i, SNN_SDT_OP_ADD, 0);
    if (!d)
        return SNN_ENOMEM;
    d[SNN_SDT_W_CH] = snn_sdt_w1(n->shape.c, n->shape.c);
    d[SNN_SDT_W_HW] = snn_sdt_w2(n->shape.h, n->shape.w, n->shape.h, n->shape.w);
    d[SNN_SDT_W_A] = a;
    d[SNN_SDT_W_B] = b;
    d[SNN_SDT_W_OUT] = ni->dense;
    return 0;
}

static int emit_maxpool(struct lw *w, uint32_t i)
{
    const struct snn_lnode *n = node(w, i);
    struct snn_sdt_node_info *ni = &w->p->node[i];
    struct snn_shape is = node(w, n->in[0])->shape;
    uint32_t a, reg = 0;
    int rc = dense_of(w, i, n->in[0], &a);
    rc = rc ? rc : dmem(w, i, "out", twords(w, n->shape), &ni->dense);
    bool spikes = n->kind == SNN_T_SPIKES;
    if (!rc && spikes)
        rc = take_list(w, i, &reg);
    if (rc)
        return rc;
    uint32_t *d = emit(w, i, SNN_SDT_OP_MAXPOOL, 0);
    if (!d)
        return SNN_ENOMEM;
    d[SNN_SDT_W_CH] = snn_sdt_w1(is.c, n->shape.c);
    d[SNN_SDT_W_HW] = snn_sdt_w2(is.h, is.w, n->shape.h, n->shape.w);
    /* counts and q16 compare alike; bit 14 set: no event list */
    d[SNN_SDT_W_GEOM] = snn_sdt_w3(n->u.pool.kernel, n->u.pool.stride, n->u.pool.pad, 0, 0, !spikes);
    d[SNN_SDT_W_LISTS] = snn_sdt_w4(0, reg);
    d[SNN_SDT_W_A] = a;
    d[SNN_SDT_W_OUT] = ni->dense;
    return 0;
}

static int emit_sumpool(struct lw *w, uint32_t i)
{
    const struct snn_lnode *n = node(w, i);
    struct snn_sdt_node_info *ni = &w->p->node[i];
    uint32_t src = event_source(w, i, n->in[0]);
    if (src == NONE)
        return SNN_EUNSUPPORTED;
    int rc = put_requant(w, i, &ni->qmem);
    rc = rc ? rc : dmem(w, i, "acc", groups(w, n->shape.c), &ni->acc);
    if (rc)
        return rc;
    read_list(w, src);
    uint32_t *d = emit(w, i, SNN_SDT_OP_SUMPOOL, 0);
    if (!d)
        return SNN_ENOMEM;
    d[SNN_SDT_W_CH] = snn_sdt_w1(n->shape.c, n->shape.c);
    d[SNN_SDT_W_LISTS] = snn_sdt_w4(w->p->node[src].list, 0);
    d[SNN_SDT_W_ACC] = ni->acc;
    return 0;
}

static int emit_sdsa1(struct lw *w, uint32_t i)
{
    const struct snn_lnode *n = node(w, i);
    struct snn_sdt_node_info *ni = &w->p->node[i];
    uint32_t C = n->shape.c, N = n->shape.h, G = groups(w, C), q, k, v, scratch, reg;
    int rc = dense_of(w, i, n->in[0], &q);
    rc = rc ? rc : dense_of(w, i, n->in[1], &k);
    rc = rc ? rc : dense_of(w, i, n->in[2], &v);
    rc = rc ? rc : dmem(w, i, "state", G, &ni->state);
    rc = rc ? rc : dmem(w, i, "scratch", G, &scratch);
    rc = rc ? rc : dmem(w, i, "out", (uint64_t)G * N, &ni->dense);
    rc = rc ? rc : take_list(w, i, &reg);
    if (rc)
        return rc;
    uint32_t *d = emit(w, i, SNN_SDT_OP_SDSA1, 0);
    if (!d)
        return SNN_ENOMEM;
    d[SNN_SDT_W_CH] = snn_sdt_w1(C, C);
    d[SNN_SDT_W_HW] = snn_sdt_w2(N, 1, N, 1);
    d[SNN_SDT_W_LISTS] = snn_sdt_w4(0, reg);
    d[SNN_SDT_W_A] = k;
    d[SNN_SDT_W_B] = v;
    d[SNN_SDT_W_OUT] = ni->dense;
    d[SNN_SDT_W_ACC] = q;
    d[SNN_SDT_W_STATE] = ni->state;
    d[SNN_SDT_W_NP] = snn_sdt_w12(0, n->u.sdsa1.tau_shift, 0, 0, 0, 0, 0);
    d[SNN_SDT_W_THETA] = (uint32_t)w->lq->nodes[i].theta;
    d[SNN_SDT_W_SCRATCH] = scratch;
    return 0;
}

static int emit_sdsa2(struct lw *w, uint32_t i)
{
    const struct snn_lnode *n = node(w, i);
    struct snn_sdt_node_info *ni = &w->p->node[i];
    uint32_t C = n->shape.c, N = n->shape.h, h = n->u.sdsa2.heads, dh = C / h;
    if (dh % w->L)
        return fail(w, SNN_EUNSUPPORTED, i,
                    "%u heads of %u channels; the accelerator needs a head's channels to be a "
                    "multiple of its %u lanes (a head starts on a word)",
                    h, dh, w->L);
    if (h > 255)
        return fail(w, SNN_EUNSUPPORTED, i, "%u heads; a descriptor holds at most 255", h);
    uint32_t qs = event_source(w, i, n->in[0]);
    uint32_t ks = qs == NONE ? NONE : event_source(w, i, n->in[1]);
    if (ks == NONE)
        return SNN_EUNSUPPORTED;
    uint32_t v, kv;
    int rc = dense_of(w, i, n->in[2], &v);
    rc = rc ? rc : put_requant(w, i, &ni->qmem);
    rc = rc ? rc : dmem(w, i, "kv", (uint64_t)C * dh / w->L, &kv);
    rc = rc ? rc : dmem(w, i, "acc", (uint64_t)groups(w, C) * N, &ni->acc);
    if (rc)
        return rc;
    for (int step = 0; step < 2; step++) {
        uint32_t src = step ? qs : ks;
        read_list(w, src);
        uint32_t *d = emit(w, i, step ? SNN_SDT_OP_QKV : SNN_SDT_OP_KV, 0);
        if (!d)
            return SNN_ENOMEM;
        d[SNN_SDT_W_CH] = snn_sdt_w1(C, 0);
        d[SNN_SDT_W_HW] = snn_sdt_w2(N, 1, 0, 0);
        d[SNN_SDT_W_LISTS] = snn_sdt_w4(w->p->node[src].list, 0);
        d[step ? SNN_SDT_W_OUT : SNN_SDT_W_B] = step ? ni->acc : v;
        d[SNN_SDT_W_ACC] = kv;
        d[SNN_SDT_W_NP] = snn_sdt_w12(0, 0, 0, 0, 0, 0, h);
    }
    return 0;
}

static int emit_input(struct lw *w, uint32_t i)
{
    const struct snn_lnode *n = node(w, i);
    struct snn_sdt_program *p = w->p;
    struct snn_sdt_node_info *ni = &p->node[i];
    if (p->input.c)
        return fail(w, SNN_EUNSUPPORTED, i,
                    "a second input: the accelerator has one host-written event list (register "
                    "0), so a graph has one input");
    int rc = dmem(w, i, "input", twords(w, n->shape), &ni->dense);
    if (rc)
        return rc;
    ni->list = SNN_SDT_LIST_INPUT;
    p->list_cap[SNN_SDT_LIST_INPUT] = (uint32_t)tsize(n->shape);
    struct snn_sdt_image_input *in = &p->input;
    *in = (struct snn_sdt_image_input){.node = i, .c = n->shape.c, .h = n->shape.h,
                                       .w = n->shape.w, .kind = n->kind == SNN_T_COUNTS,
                                       .steps = w->g->timesteps, .dmem = ni->dense,
                                       .list = SNN_SDT_LIST_INPUT};
    /* every step's events, in (y, x, c) order */
    size_t size = (size_t)tsize(n->shape);
    uint8_t *buf = snn_arena_alloc(w->a, size ? size : 1);
    uint32_t T = w->g->timesteps;
    p->in_off = snn_arena_array(w->a, (size_t)T + 1, sizeof *p->in_off);
    if (!buf || !p->in_off)
        return SNN_ENOMEM;
    size_t cap = 0, cnt = 0;
    void *arr = NULL;
    uint32_t H = n->shape.h, W = n->shape.w, C = n->shape.c;
    for (uint32_t t = 0; t < T; t++) {
        snn_lquant_input(w->lq, w->g, i, t, buf);
        p->in_off[t] = (uint32_t)cnt;
        for (uint32_t y = 0; y < H; y++)
            for (uint32_t x = 0; x < W; x++)
                for (uint32_t c = 0; c < C; c++) {
                    uint8_t v = buf[((size_t)c * H + y) * W + x];
                    if (!v)
                        continue;
                    if (snn_arena_grow(w->a, &arr, &cap, cnt + 1, sizeof(uint32_t)))
                        return SNN_ENOMEM;
                    ((uint32_t *)arr)[cnt++] = SNN_SDT_EVENT(y, x, c, v);
                }
    }
    p->in_off[T] = (uint32_t)cnt;
    p->in_events = arr;
    in->n_events = (uint32_t)cnt;
    return 0;
}

static int emit_node(struct lw *w, uint32_t i)
{
    const struct snn_lnode *n = node(w, i);
    int rc = 0;
    switch (n->op) {
    case SNN_L_INPUT: return emit_input(w, i);
    case SNN_L_CONV: rc = emit_conv(w, i); break;
    case SNN_L_SUMPOOL: rc = emit_sumpool(w, i); break;
    case SNN_L_SDSA2: rc = emit_sdsa2(w, i); break;
    case SNN_L_LIF:
    case SNN_L_ILIF: return emit_lif(w, i);
    case SNN_L_ADD: return emit_add(w, i);
    case SNN_L_MAXPOOL: return emit_maxpool(w, i);
    case SNN_L_SDSA1: return emit_sdsa1(w, i);
    case SNN_L_TOKENS:
    case SNN_L_FLATTEN: return 0;
    }
    if (!rc && w->how[i] == H_MAT)
        rc = materialise(w, i);
    return rc;
}

/* ---- the outputs, EVT, the final checks ---------------------------------------------- */

static int add_output(struct lw *w, uint32_t i, uint32_t flags)
{
    struct snn_sdt_program *p = w->p;
    const struct snn_lnode *n = node(w, i);
    uint32_t s = resolve(w, i);
    if (node(w, s)->op == SNN_L_FLATTEN || p->node[s].dense == NONE)
        return fail(w, SNN_EUNSUPPORTED, i,
                    "the graph's output is a flattened [%u, %u, %u] tensor, which the "
                    "accelerator does not store in tensor order; make the output the layer "
                    "before the flatten",
                    node(w, node(w, s)->in[0])->shape.c, node(w, node(w, s)->in[0])->shape.h,
                    node(w, node(w, s)->in[0])->shape.w);
    struct snn_sdt_image_output *o = &p->out[p->n_out];
    *o = (struct snn_sdt_image_output){.node = i,
                                       .kind = n->kind == SNN_T_SPIKES   ? SNN_SDT_KIND_SPIKES
                                               : n->kind == SNN_T_COUNTS ? SNN_SDT_KIND_COUNTS
                                                                         : SNN_SDT_KIND_Q16,
                                       .c = n->shape.c, .h = n->shape.h, .w = n->shape.w,
                                       .dmem = p->node[s].dense, .state = p->node[s].state,
                                       .flags = flags, .list = p->node[s].list};
    if (n->op == SNN_L_SDSA1 || is_neuron(n->op))
        o->state = p->node[i].state;
    else
        o->state = NONE;
    p->out_name[p->n_out++] = n->name;
    return 0;
}

static int outputs(struct lw *w)
{
    struct snn_sdt_program *p = w->p;
    const struct snn_layer_graph *g = w->g;
    p->out = snn_arena_array(w->a, (size_t)g->n_nodes + 1, sizeof *p->out);
    p->out_name = snn_arena_array(w->a, (size_t)g->n_nodes + 1, sizeof *p->out_name);
    if (!p->out || !p->out_name)
        return SNN_ENOMEM;
    int rc = 0;
    bool head_done = false;
    for (uint32_t i = 0; i < g->n_nodes && !rc; i++)
        if (snn_lsim_is_spiking(node(w, i))) {
            uint32_t flags = SNN_SDT_OUT_SPIKING;
            if (i == g->output) {
                flags |= SNN_SDT_OUT_HEAD;
                head_done = true;
            }
            rc = add_output(w, i, flags);
        }
    if (!rc && !head_done)
        rc = add_output(w, g->output, SNN_SDT_OUT_HEAD);
    return rc;
}

static int lay_out_lists(struct lw *w)
{
    struct snn_sdt_program *p = w->p;
    uint64_t at = 0, cap = (uint64_t)1 << w->t->evt_log2;
    for (uint32_t r = 0; r < SNN_SDT_LISTS; r++) {
        if (!p->list_cap[r]) {
            p->list_base[r] = 0;
            continue;
        }
        if (at > SNN_SDT_LIST_BASE_MAX || at + p->list_cap[r] > cap) {
            snn_diag_error(w->d, NULL,
                           "EVT: the event lists need %llu words or more (list register %u "
                           "from word %llu, %u words); EVT has %llu words (target '%s')",
                           (unsigned long long)(at + p->list_cap[r]), r, (unsigned long long)at,
                           p->list_cap[r], (unsigned long long)cap, p->name);
            return SNN_ETOOBIG;
        }
        p->list_base[r] = (uint32_t)at;
        int rc = region(w, "list", r, (uint32_t)at, p->list_cap[r]);
        if (rc)
            return rc;
        at += p->list_cap[r];
    }
    p->evt_words = (uint32_t)at;
    return 0;
}

/* The node a descriptor belongs to. */
static uint32_t owner_of(const struct snn_sdt_program *p, uint32_t k)
{
    for (uint32_t i = 0; i < p->n_nodes; i++)
        if (p->node[i].first_desc != NONE && k >= p->node[i].first_desc &&
            k < p->node[i].first_desc + p->node[i].n_desc)
            return i;
    return NONE;
}

static int finish(struct lw *w)
{
    struct snn_sdt_program *p = w->p;
    uint32_t last = w->g->n_nodes ? w->g->n_nodes - 1 : 0;
    if (!emit(w, last, SNN_SDT_OP_END, 0))
        return SNN_ENOMEM;
    p->node[last].n_desc--; /* END belongs to no node */
    if (p->node[last].n_desc == 0)
        p->node[last].first_desc = NONE;
    uint64_t max_desc = ((uint64_t)1 << w->t->pmem_log2) / SNN_SDT_DESC_WORDS;
    if (p->n_desc > max_desc) {
        uint32_t o = owner_of(p, (uint32_t)max_desc - 1);
        snn_diag_error(w->d, o == NONE ? NULL : &node(w, o)->loc,
                       "PMEM: the program has %u descriptors%s%s%s; PMEM holds %llu (%u words, "
                       "target '%s')",
                       p->n_desc, o == NONE ? "" : " (full at layer '",
                       o == NONE ? "" : node(w, o)->name, o == NONE ? "" : "')",
                       (unsigned long long)max_desc, 1u << w->t->pmem_log2, p->name);
        return SNN_ETOOBIG;
    }
    int rc = lay_out_lists(w);
    if (rc)
        return rc;
    for (uint32_t k = 0; k < p->n_desc; k++) {
        uint32_t code = snn_sdt_check_desc(p->desc[k], &p->hw, p->list_base, p->list_cap);
        if (code) {
            uint32_t o = owner_of(p, k);
            snn_diag_error(w->d, o == NONE ? NULL : &node(w, o)->loc,
                           "internal error: descriptor %u (layer '%s') fails the accelerator's "
                           "check with code %u",
                           k, o == NONE ? "?" : node(w, o)->name, code);
            return SNN_EUNSUPPORTED;
        }
    }
    return 0;
}

/* ---- the driver ------------------------------------------------------------------------ */

int snn_sdt_lower(const struct snn_net *net, const struct snn_lquant *lq,
                  const struct snn_sdt_target *t, struct snn_diag *d,
                  struct snn_sdt_program **out)
{
    *out = NULL;
    const struct snn_layer_graph *g = net->layers;
    if (!g || !g->has_output || !lq || lq->n_nodes != g->n_nodes)
        return SNN_EINVAL;
    struct snn_arena *a = snn_arena_new();
    if (!a)
        return SNN_ENOMEM;
    struct snn_sdt_program *p = snn_arena_alloc(a, sizeof *p);
    struct lw w = {.g = g, .lq = lq, .t = t, .d = d, .p = p, .a = a, .L = t->lanes,
                   .ident_q = NONE};
    uint32_t N = g->n_nodes;
    if (p) {
        p->node = snn_arena_array(a, N ? N : 1, sizeof *p->node);
        w.uses = snn_arena_array(a, N ? N : 1, sizeof *w.uses);
        w.user = snn_arena_array(a, N ? N : 1, sizeof *w.user);
        w.how = snn_arena_array(a, N ? N : 1, 1);
        w.absorbed = snn_arena_array(a, N ? N : 1, sizeof *w.absorbed);
        w.ev_last = snn_arena_array(a, N ? N : 1, sizeof *w.ev_last);
    }
    if (!p || !p->node || !w.uses || !w.user || !w.how || !w.absorbed || !w.ev_last) {
        snn_arena_free(a);
        return SNN_ENOMEM;
    }
    p->arena = a;
    snprintf(p->name, sizeof p->name, "%s", t->name ? t->name : "");
    p->hw = (struct snn_sdt_hw){t->lanes, t->pmem_log2, t->wmem_log2, t->qmem_log2,
                                t->dmem_log2, t->evt_log2};
    p->fifo_log2 = t->fifo_log2;
    p->clock_mhz = t->clock_mhz;
    p->energy = t->energy;
    p->energy.source = snn_arena_strdup(a, t->energy.source ? t->energy.source : "");
    p->timesteps = g->timesteps;
    p->seed = net->seed;
    p->n_nodes = N;
    for (uint32_t i = 0; i < N; i++) {
        p->node[i] = (struct snn_sdt_node_info){NONE, NONE, NONE, NONE, 0, NONE, NONE,
                                                NONE, NONE, NONE, NONE, 0};
        uint32_t gi = groups(&w, g->nodes[i].shape.c);
        if (gi > w.max_g)
            w.max_g = gi;
    }
    for (uint32_t r = 0; r < SNN_SDT_LISTS; r++)
        w.reg_owner[r] = NONE;
    int rc = p->energy.source ? 0 : SNN_ENOMEM;
    if (!rc) {
        count_uses(&w);
        decide(&w);
        find_readers(&w);
    }
    for (uint32_t i = 0; i < N && !rc; i++)
        rc = emit_node(&w, i);
    if (!rc && !p->input.c) {
        snn_diag_error(d, NULL, "the layer graph has no input; the accelerator needs one");
        rc = SNN_EUNSUPPORTED;
    }
    rc = rc ? rc : outputs(&w);
    rc = rc ? rc : finish(&w);
    if (rc) {
        snn_arena_free(a);
        return rc;
    }
    *out = p;
    return 0;
}

void snn_sdt_program_free(struct snn_sdt_program *p)
{
    if (p)
        snn_arena_free(p->arena);
}

/*
 * ir/sim.c: the reference simulator (see ir/sim.h; docs/numerics.md is
 * the contract it executes).
 *
 * Setup expands every projection into compressed rows (per pre neuron:
 * post index, weight, delay), quantizes weights into each receptor's unit
 * and prepares one delay ring buffer per population: D slots of two
 * receptor arrays, D a power of two above the largest delay, so slot
 * (t + d) mod D is never the slot being consumed.
 *
 * A step, in the order of docs/numerics.md: every population consumes and
 * clears its ring slot for the step and updates its neurons in index
 * order (sources decide whether they fire), then the step's spikes are
 * delivered into later slots, population by population, neuron by neuron.
 * Integer delivery order does not matter (wrapping sums); float64 delivery
 * order is fixed by this loop, so float runs are deterministic too.
 *
 * Threads: each population's neurons are split into T contiguous ranges,
 * one per thread.  A thread updates its neurons, hands its spikes to the
 * others and waits for theirs, then delivers every spike of the step into
 * its own neurons' ring words only (rows are sorted by post neuron and
 * pre-split at the range edges), so no word is written by two threads and
 * float sums keep their order: the results do not depend on T.  The
 * threads take turns writing the outputs, 64 steps each.  Every 1024 steps
 * the ranges are resized to the pace each thread kept (balance()), and
 * the results do not depend on that either.
 */
#define _DEFAULT_SOURCE /* getloadavg(), for the default thread count */
#include "ir/sim.h"
#include "abi/neuron.h"
#include "abi/neuron_soa.h"
#include "ir/coef_int.h"
#include "ir/expand.h"
#include "ir/quant.h"
#include "ir/sim_float.h"
#include "support/arena.h"
#include "support/barrier.h"
#include "support/err.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- spike lists ------------------------------------------------------- */

int snn_spike_list_push(struct snn_spike_list *l, uint32_t step, uint32_t pop, uint32_t neuron)
{
    if (l->n == l->cap) {
        uint64_t cap = l->cap ? l->cap * 2 : 256;
        uint32_t *s = snn_realloc(l->step, cap * sizeof *s);
        if (!s)
            return SNN_ENOMEM;
        l->step = s;
        uint32_t *p = snn_realloc(l->pop, cap * sizeof *p);
        if (!p)
            return SNN_ENOMEM;
        l->pop = p;
        uint32_t *n = snn_realloc(l->neuron, cap * sizeof *n);
        if (!n)
            return SNN_ENOMEM;
        l->neuron = n;
        l->cap = cap;
    }
    l->step[l->n] = step;
    l->pop[l->n] = pop;
    l->neuron[l->n] = neuron;
    l->n++;
    return 0;
}

struct triple {
    uint32_t step, pop, neuron;
};

static int cmp_triple(const void *a, const void *b)
{
    const struct triple *x = a, *y = b;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    if (x->pop != y->pop)
        return x->pop < y->pop ? -1 : 1;
    return (x->neuron > y->neuron) - (x->neuron < y->neuron);
}

void snn_spike_list_sort(struct snn_spike_list *l)
{
    if (l->n < 2)
        return;
    struct triple *t = snn_malloc(l->n * sizeof *t);
    if (!t) { /* fall back to an in-place insertion sort: slow but correct */
        for (uint64_t i = 1; i < l->n; i++)
            for (uint64_t j = i; j > 0; j--) {
                struct triple a = {l->step[j - 1], l->pop[j - 1], l->neuron[j - 1]};
                struct triple b = {l->step[j], l->pop[j], l->neuron[j]};
                if (cmp_triple(&a, &b) <= 0)
                    break;
                l->step[j - 1] = b.step, l->pop[j - 1] = b.pop, l->neuron[j - 1] = b.neuron;
                l->step[j] = a.step, l->pop[j] = a.pop, l->neuron[j] = a.neuron;
            }
        t = NULL;
    } else {
        for (uint64_t i = 0; i < l->n; i++)
            t[i] = (struct triple){l->step[i], l->pop[i], l->neuron[i]};
        qsort(t, l->n, sizeof *t, cmp_triple);
        for (uint64_t i = 0; i < l->n; i++)
            l->step[i] = t[i].step, l->pop[i] = t[i].pop, l->neuron[i] = t[i].neuron;
        snn_free(t);
    }
    uint64_t k = 0;
    for (uint64_t i = 0; i < l->n; i++) {
        if (k && l->step[k - 1] == l->step[i] && l->pop[k - 1] == l->pop[i] &&
            l->neuron[k - 1] == l->neuron[i])
            continue;
        l->step[k] = l->step[i], l->pop[k] = l->pop[i], l->neuron[k] = l->neuron[i];
        k++;
    }
    l->n = k;
}

void snn_spike_list_free(struct snn_spike_list *l)
{
    snn_free(l->step);
    snn_free(l->pop);
    snn_free(l->neuron);
    memset(l, 0, sizeof *l);
}

/* ---- float64 models ---------------------------------------------------- */

/* Whether every coefficient of a float64 neuron is a finite number. */
static bool fl_par_finite(const struct fl_par *f)
{
    const double v[] = {f->v_rest, f->v_reset, f->v_thresh, f->v_off, f->p11, f->p21e,
                        f->p21i, f->p22e, f->p22i, f->k_leak, f->ke, f->ki, f->e_rev_e,
                        f->e_rev_i, f->a, f->b, f->c, f->d, f->c0, f->h, f->bias};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

/* A population whose neurons share one parameter set: the model is fixed
 * per loop and the parameters sit in a local copy, so the compiler keeps
 * them in registers.  The same fl_step, so the same results. */
#define FL_LOOP(M)                                                            \
    for (uint32_t i = lo; i < hi; i++)                                        \
        if (fl_step((M), &q, &st[i], ie[i], ii[i]))                           \
            fired[nf++] = i;                                                  \
    break

static uint32_t fl_step_shared(enum snn_model m, const struct fl_par *p, struct fl_state *st,
                               const double *ie, const double *ii, uint32_t lo, uint32_t hi,
                               uint32_t *fired)
{
    const struct fl_par q = *p;
    uint32_t nf = 0;
    switch (m) { /* the LIF models step as arrays (fl_lif_soa) */
    case SNN_MODEL_IF_CURR_DELTA: FL_LOOP(SNN_MODEL_IF_CURR_DELTA);
    case SNN_MODEL_IZHIKEVICH: FL_LOOP(SNN_MODEL_IZHIKEVICH);
    case SNN_MODEL_IF: FL_LOOP(SNN_MODEL_IF);
    default: SNN_ASSERT(0);
    }
    return nf;
}

/* ---- the simulation state ---------------------------------------------- */

/* Threads of one simulation: a limit that keeps per-population tables small. */
#define SNN__MAX_THREADS 64
/* Elements after each thread's part of a per-neuron array (see struct
 * rt_pop): 4 KiB at least, the smallest element being a 32-bit word.  The
 * hardware prefetchers of x86-64 and ARM cores stop at a 4 KiB page, so
 * with this pad no page holds elements of two threads' parts, and a core
 * streaming through its part never pulls lines the other core writes.
 * With a smaller pad (128 words) that pulling made a run on two vCPUs of
 * a virtual machine half as slow again whenever the host placed them
 * apart (on cores that share no cache), and cost little otherwise. */
#define PAD 1024
/* Per-neuron arrays start on a cache line and their rows are whole lines:
 * the vector steps load sixteen words at a time, and a load that straddles
 * two lines costs two. */
#define LINE_WORDS 16

struct rt_proj {
    uint32_t pre, post;
    unsigned rec;
    /* Row i's synapses for thread k's post neurons are
     * seg[i * (T + 1) + k] .. seg[i * (T + 1) + k + 1]: rows are sorted by
     * post neuron, so each thread delivers into its own neurons only. */
    uint64_t *seg;
    /* Post neuron: tgt16 when the post population has at most 2^16
     * neurons (a quarter of the row bytes the step loop streams through
     * for a constant weight and delay), else tgt. */
    uint32_t *tgt;
    uint16_t *tgt16;
    int32_t *wq;             /* fixed: weight in LSBs; NULL when all are wq_c */
    double *wf;              /* float64: weight in internal units; NULL when all are wf_c */
    int32_t wq_c;
    double wf_c;
    bool fixed;              /* fixed point (wq, wq_c), else float64 (wf, wf_c) */
    uint8_t *delay;          /* steps; NULL when all are same_delay */
    uint32_t same_delay;     /* the delay of every synapse, or 0 when they differ */
};

struct rt_pop {
    enum snn_model model;
    uint32_t n;
    int32_t *ring;           /* fixed: D slots x 2 receptors x ns words */
    double *ringf;           /* float64: the same */
    void *state;             /* fixed: fx_*_state[ns]; float: fl_state[ns] */
    struct fl_par *fpar;     /* float64 parameters */
    bool fshared;            /* float64: every neuron has fpar[0]'s parameters */
    /* Neurons [lo[k], lo[k + 1]) belong to thread k, which lists the ones
     * that fire in its post (struct post).  fired: the step's spikes
     * merged, for outputs (by the thread writing the step's outputs). */
    uint32_t lo[SNN__MAX_THREADS + 1];
    /* Per-neuron arrays that threads write (state, ring words) keep thread
     * k's neurons at index i + k * pad, and every row ends with pad unused
     * elements: PAD after each thread's part, so the prefetchers of one
     * core do not pull lines the other writes, whether they belong to the
     * same row or to the next row or array.  ns elements per array row: n
     * rounded up to whole lines, plus T pads when there are threads. */
    uint32_t pad, ns;
    uint32_t state_sz;       /* bytes of a neuron's state in state[] */
    uint32_t *fired;
    /* sources: per-neuron schedule (own spike times and input), cursor */
    uint32_t *sched_off, *sched, *cursor;
    double *fprob;           /* float64 Poisson: spike probability per step */
    uint32_t *fwin;          /* float64 Poisson: [start step, end step) per neuron */
    uint32_t *out_proj;      /* outgoing projection indices */
    uint32_t n_out;
    bool rec_v_all;
    bool rec_spikes;
    /* Shared parameters (lif models): state as arrays, stepped by the
     * slice steps of abi/neuron_soa.h (fixed point) or ir/sim_float.h
     * (float64, fsoa). */
    bool soa, fsoa;
    struct fx_lif_soa lif;
    struct fl_lif_soa flif;
};

/* The edge of a part of n neurons at the fraction c of them: on a whole
 * line, so that the vector steps load whole lines.  Monotone in c. */
static uint32_t edge(uint32_t n, double c)
{
    if (!(c < 1))
        return n;
    double b = ceil(n * c / LINE_WORDS) * LINE_WORDS;
    return b > 0 ? (b < n ? (uint32_t)b : n) : 0;
}

/* Where neuron i's entries sit in the padded per-neuron arrays. */
static size_t sidx(const struct rt_pop *rp, uint32_t i)
{
    unsigned k = 0;
    while (rp->pad && i >= rp->lo[k + 1])
        k++;
    return i + (size_t)k * rp->pad;
}

struct sim {
    const struct snn_net *net;
    const struct snn_sim_opts *o;
    struct snn_diag *d;
    struct snn_arena *arena;
    struct snn_qnet *q;
    struct rt_pop *pops;
    struct rt_proj *projs;
    uint32_t mask;           /* D - 1 */
    uint64_t synapses;
    struct snn_sim_stats *stats;
    unsigned T;              /* threads */
    uint64_t steps;
    /* Thread k's posts, for even and odd steps: post_at(s, k, t). */
    unsigned char *posts;
    size_t post_bytes;
    /* The thread that writes step t's outputs publishes t + 1 here once it
     * has read the voltages of step t, when voltages are recorded (the
     * others may not step on before).  Written once a step and read by
     * every thread, it has a line of its own, as has sleepers (written
     * only by threads going to sleep, read at every publication). */
    _Alignas(64) atomic_uint v_read;
    _Alignas(64) atomic_uint sleepers;
    /* When an output fails in step t, the thread writing it sets abort_err
     * and abort_step = t + 1; every thread stops once it has every post of
     * abort_step, so all of them stop at the same step.  abort_errno keeps
     * the errno the failing callback left, which is that thread's: run()
     * gives it to the caller's. */
    _Alignas(64) atomic_int abort_err;
    _Atomic uint64_t abort_step;
    int abort_errno;
    atomic_int go;           /* start gate: 1 run, -1 give up */
    uint64_t events[SNN__MAX_THREADS]; /* synaptic events, stored at the end */
    /* The threads' shares (balance()).  Every `look` steps (0: never) the
     * threads meet at bar, each having stored in busy[k] how long it
     * worked (not waited) since the last meeting, and thread 0 moves the
     * edges of their parts.  Thread k's part of a population of n neurons
     * is [edge(n, cum[k]), edge(n, cum[k + 1])).  shuffle: the state of
     * the generator that sets the shares at random instead (tests). */
    uint32_t look;
    uint64_t shuffle, moves;
    struct snn_barrier bar;
    double cum[SNN__MAX_THREADS + 1];
    double busy[SNN__MAX_THREADS];
};

/* A thread's step, handed to the others: its spikes of the step, and
 * seq = t + 1 published once they are all written.  The words are the
 * spike counts of its neurons per population, then their indices,
 * population after population, in neuron order.  With the few spikes of a
 * step they share seq's cache line or spill into the next: a thread
 * fetches that much from each other thread per step, and nothing else.
 * A thread writes the post of step t + 1 while the others may still read
 * the one of step t, so it has two, used by step parity. */
struct post {
    _Alignas(64) atomic_uint seq;
    uint32_t words[];
};

static struct post *post_at(const struct sim *s, unsigned k, uint32_t t)
{
    return (struct post *)(s->posts + (2 * (size_t)k + (t & 1)) * s->post_bytes);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Synapses a projection will expand to: exact where the rule says, the
 * expectation for fixed_probability.  For the memory check only. */
static double expected_synapses(const struct snn_net *net, const struct snn_proj *pj)
{
    double npre = net->pops[pj->pre].size, npost = net->pops[pj->post].size;
    switch (pj->conn.kind) {
    case SNN_CONN_ALL_TO_ALL: return npre * npost;
    case SNN_CONN_ONE_TO_ONE: return npre;
    case SNN_CONN_FIXED_PROBABILITY: return pj->conn.p * npre * npost;
    case SNN_CONN_FIXED_NUMBER_PRE: return (double)pj->conn.n * npost;
    case SNN_CONN_FIXED_NUMBER_POST: return (double)pj->conn.n * npre;
    case SNN_CONN_FROM_LIST: return pj->conn.n;
    case SNN_CONN_MATRIX: return npre * npost;
    default: return 0;
    }
}

/* Bytes per synapse: expansion buffer (24) while a projection is built,
 * rows (4 + 4 or 8 + 1) for the run. */
#define ROW_BYTES_PER_SYN 17.0

/* Refuses, before allocating, a simulation that cannot fit in this
 * machine's memory: synaptic rows (plus the expansion buffer of the
 * largest projection) and, per neuron, D ring slots of two words, state
 * and spike lists.  D is the ring depth (2 before the delays are known). */
static int check_memory(struct sim *s, uint32_t D)
{
    const struct snn_net *net = s->net;
    double syn = 0, biggest = 0, neurons = 0;
    for (uint32_t j = 0; j < net->n_projs; j++) {
        double e = expected_synapses(net, &net->projs[j]);
        syn += e;
        if (e > biggest)
            biggest = e;
    }
    for (uint32_t p = 0; p < net->n_pops; p++)
        neurons += net->pops[p].size;
    double word = s->o->float64 ? 8.0 : 4.0;
    double need = syn * ROW_BYTES_PER_SYN + biggest * 24.0 +
                  neurons * (D * 2.0 * word + 64.0 + 12.0);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double have = pages > 0 && page > 0 ? (double)pages * (double)page : 1e15;
    if (need > have * 0.9) {
        snn_diag_error(s->d, NULL,
                       "the simulation (%.3g neurons, about %.3g synapses, delays up to %u steps) "
                       "needs about %.1f GiB; this machine has %.1f GiB: use a smaller network "
                       "or a board",
                       neurons, syn, D - 1, need / 1073741824.0, have / 1073741824.0);
        return SNN_ETOOBIG;
    }
    return 0;
}

/* ---- expansion into rows ------------------------------------------------ */

/* A big projection is expanded in slices of its pre neurons by all the
 * threads at once, when slices cost what their share of the rows does
 * (snn_expand_slices_cheaply()): about SLICES_PER_THREAD a thread, taken
 * in turn so that a slow one holds no other up; fewer than
 * SLICE_MIN_SYNAPSES synapses expected make one slice.  The synapses of a
 * slice do not depend on the others (docs/connectivity.md), so the rows
 * are the same for any slicing and any number of threads. */
#define SLICES_PER_THREAD 8u
#define SLICE_MIN_SYNAPSES 8192.0
#define MAX_SLICES (SNN__MAX_THREADS * SLICES_PER_THREAD)

struct slice {
    struct snn_synapses syn; /* its buffer keeps its capacity from one projection to the next */
    uint32_t lo, hi;         /* pre neurons */
    uint64_t off;            /* where its synapses start in the projection's rows */
    uint32_t max_delay;
    bool same_delay, same_weight; /* every synapse has the slice's first delay, weight (bits) */
    int err;
};

/* The slices of projection j, the threads' work in one of two phases:
 * expanding them, then writing them into the rows. */
struct expansion {
    struct sim *s;
    uint32_t j;
    struct slice *sl;
    uint32_t n_sl;
    int phase;
    struct snn_diag *d;      /* s->d when one thread expands, else NULL */
    atomic_uint next;        /* the next slice to take */
};

static void expand_slice(const struct expansion *x, struct slice *sl)
{
    struct snn_synapses *syn = &sl->syn;
    syn->n = 0;
    sl->err = snn_expand(x->s->net, x->j, sl->lo, sl->hi, 0, UINT32_MAX, syn, x->d);
    sl->max_delay = 1;
    sl->same_delay = sl->same_weight = true;
    for (uint64_t k = 0; k < syn->n && !sl->err; k++) {
        SNN_ASSERT(syn->delay_steps[k] >= 1 && syn->delay_steps[k] <= SNN_MAX_DELAY_STEPS);
        if (syn->delay_steps[k] > sl->max_delay)
            sl->max_delay = syn->delay_steps[k];
        sl->same_delay &= syn->delay_steps[k] == syn->delay_steps[0];
        sl->same_weight &= !memcmp(&syn->weight[k], &syn->weight[0], sizeof(double));
    }
}

/* Writes a slice's synapses into the rows at sl->off, and the starts of
 * its rows' segments: each row split at the post population's thread
 * boundaries (posts ascend within a row). */
static void fill_slice(const struct expansion *x, const struct slice *sl)
{
    const struct sim *s = x->s;
    const struct rt_proj *rp = &s->projs[x->j];
    const struct snn_proj *pj = &s->net->projs[x->j];
    const struct snn_synapses *syn = &sl->syn;
    const struct snn_qpop *qp = rp->fixed ? &s->q->pops[pj->post] : NULL;
    uint64_t o = sl->off, n = syn->n;
    for (uint64_t k = 0; k < n; k++) {
        if (rp->tgt16)
            rp->tgt16[o + k] = (uint16_t)syn->post[k];
        else
            rp->tgt[o + k] = syn->post[k];
        if (rp->delay)
            rp->delay[o + k] = (uint8_t)syn->delay_steps[k];
        if (rp->wq)
            rp->wq[o + k] = snn_quantize_weight(qp, pj->receptor, syn->weight[k]);
        else if (rp->wf)
            rp->wf[o + k] = syn->weight[k];
    }
    unsigned T = s->T;
    const uint32_t *bound = s->pops[pj->post].lo;
    uint64_t k = 0;
    for (uint32_t i = sl->lo; i < sl->hi; i++) {
        uint64_t *seg = &rp->seg[(size_t)i * (T + 1)];
        for (unsigned b = 0; b < T; b++) {
            while (k < n && syn->pre[k] == i && syn->post[k] < bound[b])
                k++;
            seg[b] = o + k;
        }
        while (k < n && syn->pre[k] == i)
            k++;
        seg[T] = o + k;
    }
}

static void expansion_work(struct expansion *x)
{
    for (unsigned c; (c = atomic_fetch_add(&x->next, 1)) < x->n_sl;)
        if (x->phase == 0)
            expand_slice(x, &x->sl[c]);
        else
            fill_slice(x, &x->sl[c]);
}

static void *expansion_main(void *arg)
{
    expansion_work(arg);
    return NULL;
}

/* Runs a phase on up to `threads` threads (this one among them): the
 * slices are shared out as the threads come, so fewer than asked (a
 * thread that could not be started) only take longer. */
static void expansion_phase(struct expansion *x, int phase, unsigned threads)
{
    pthread_t th[SNN__MAX_THREADS];
    unsigned started = 0;
    x->phase = phase;
    atomic_store(&x->next, 0);
    if (threads > x->n_sl)
        threads = x->n_sl;
    for (unsigned k = 1; k < threads; k++)
        if (!pthread_create(&th[started], NULL, expansion_main, x))
            started++;
    expansion_work(x);
    for (unsigned k = 0; k < started; k++)
        pthread_join(th[k], NULL);
}

/* Expands projection j into rows, using the slice buffers sl (MAX_SLICES
 * of them).  A weight or delay shared by every synapse is kept once, not
 * per synapse. */
static int build_proj(struct sim *s, uint32_t j, struct slice *sl, uint32_t *max_delay)
{
    const struct snn_net *net = s->net;
    const struct snn_proj *pj = &net->projs[j];
    struct rt_proj *rp = &s->projs[j];
    uint32_t npre = net->pops[pj->pre].size;
    unsigned T = s->T;
    uint32_t n_sl = 1;
    if (T > 1 && expected_synapses(net, pj) >= SLICE_MIN_SYNAPSES &&
        snn_expand_slices_cheaply(net, j))
        n_sl = npre < T * SLICES_PER_THREAD ? (npre ? npre : 1) : T * SLICES_PER_THREAD;
    struct expansion x = {.s = s, .j = j, .sl = sl, .n_sl = n_sl, .d = s->d};
    if (n_sl > 1) {
        /* An empty slice reports what makes the projection impossible to
         * expand (a slice could only run out of memory then, reported
         * below): the threads' slices report nothing. */
        struct snn_synapses none = {0};
        int err = snn_expand(net, j, 0, 0, 0, UINT32_MAX, &none, s->d);
        snn_synapses_free(&none);
        if (err)
            return err;
        x.d = NULL;
    }
    for (uint32_t c = 0; c < n_sl; c++) {
        sl[c].lo = (uint32_t)((uint64_t)npre * c / n_sl);
        sl[c].hi = (uint32_t)((uint64_t)npre * (c + 1) / n_sl);
    }
    expansion_phase(&x, 0, T);
    uint64_t n = 0;
    const struct slice *first = NULL; /* the first slice with synapses */
    bool wsame = true;
    rp->same_delay = 1;
    for (uint32_t c = 0; c < n_sl; c++) {
        if (sl[c].err) {
            char buf[160];
            if (sl[c].err == SNN_ENOMEM && !x.d) /* as snn_expand() says it */
                snn_diag_error(s->d, &pj->loc, "%s: out of memory expanding its synapses",
                               snn_expand_label(pj, j, buf, sizeof buf));
            return sl[c].err;
        }
        sl[c].off = n;
        n += sl[c].syn.n;
        if (!sl[c].syn.n)
            continue;
        if (sl[c].max_delay > *max_delay)
            *max_delay = sl[c].max_delay;
        if (!first) {
            first = &sl[c];
            rp->same_delay = first->syn.delay_steps[0];
        }
        if (!sl[c].same_delay || sl[c].syn.delay_steps[0] != rp->same_delay)
            rp->same_delay = 0;
        if (!sl[c].same_weight ||
            memcmp(&sl[c].syn.weight[0], &first->syn.weight[0], sizeof(double)))
            wsame = false;
    }
    rp->pre = pj->pre;
    rp->post = pj->post;
    rp->rec = pj->receptor == SNN_RECEPTOR_INH;
    rp->fixed = !s->o->float64;
    size_t cells = n ? n : 1;
    rp->seg = snn_arena_array(s->arena, (size_t)npre * (T + 1) + 1, sizeof *rp->seg);
    if (net->pops[pj->post].size <= 65536)
        rp->tgt16 = snn_arena_array(s->arena, cells, sizeof *rp->tgt16);
    else
        rp->tgt = snn_arena_array(s->arena, cells, sizeof *rp->tgt);
    if (!rp->same_delay)
        rp->delay = snn_arena_array(s->arena, cells, 1);
    if (!wsame && rp->fixed)
        rp->wq = snn_arena_array(s->arena, cells, sizeof *rp->wq);
    else if (!wsame)
        rp->wf = snn_arena_array(s->arena, cells, sizeof *rp->wf);
    if (!rp->seg || (!rp->tgt16 && !rp->tgt) || (!rp->same_delay && !rp->delay) ||
        (!wsame && !rp->wq && !rp->wf))
        return SNN_ENOMEM;
    if (wsame && first) {
        if (rp->fixed)
            rp->wq_c = snn_quantize_weight(&s->q->pops[pj->post], pj->receptor,
                                           first->syn.weight[0]);
        else
            rp->wf_c = first->syn.weight[0];
    }
    expansion_phase(&x, 1, T);
    s->synapses += n;
    return 0;
}

static void fill_float_params(struct sim *s, uint32_t p, struct fl_par *fp, struct fl_state *st)
{
    const struct snn_net *net = s->net;
    const struct snn_pop *pop = &net->pops[p];
    double h = net->dt_ms;
#define PV(name) snn_value_neuron(net, p, (unsigned)snn_model_param(pop->model, name), false, i)
#define IV(name) snn_value_neuron(net, p, (unsigned)snn_model_state(pop->model, name), true, i)
    for (uint32_t i = 0; i < pop->size; i++) {
        struct fl_par *f = &fp[i];
        f->h = h;
        switch (pop->model) {
        case SNN_MODEL_LIF_CURR_EXP:
        case SNN_MODEL_LIF_COND_EXP:
        case SNN_MODEL_IF_CURR_DELTA: {
            double tau_m = PV("tau_m"), cm = PV("cm"), io = PV("i_offset");
            f->v_rest = PV("v_rest");
            f->v_reset = PV("v_reset");
            f->v_thresh = PV("v_thresh");
            double r = floor(PV("tau_refrac") / h + 0.5);
            f->refrac_steps = r <= 0 ? 0 : r >= 4294967295.0 ? UINT32_MAX : (uint32_t)r;
            f->p11 = snn_det_exp(-h / tau_m);
            if (pop->model == SNN_MODEL_LIF_COND_EXP) {
                f->v_off = snn__coef_cond_v_off(h, cm, io);
                f->k_leak = h / tau_m;
                f->ke = f->ki = h / cm;
                f->e_rev_e = PV("e_rev_E");
                f->e_rev_i = PV("e_rev_I");
            } else {
                f->v_off = snn__coef_v_off(h, tau_m, cm, io);
            }
            if (pop->model != SNN_MODEL_IF_CURR_DELTA) {
                double tse = PV("tau_syn_E"), tsi = PV("tau_syn_I");
                f->p22e = snn_det_exp(-h / tse);
                f->p22i = snn_det_exp(-h / tsi);
                f->p21e = snn__coef_p21(h, tau_m, cm, tse);
                f->p21i = snn__coef_p21(h, tau_m, cm, tsi);
            }
            st[i].v = IV("v");
            break;
        }
        case SNN_MODEL_IZHIKEVICH:
            f->a = PV("a");
            f->b = PV("b");
            f->c = PV("c");
            f->d = PV("d");
            f->c0 = (140.0 + PV("i_offset")) * h;
            f->v_thresh = PV("v_thresh");
            st[i].v = IV("v");
            st[i].u = IV("u");
            break;
        case SNN_MODEL_IF:
            f->v_thresh = PV("v_thresh");
            f->v_reset = PV("v_reset");
            f->bias = PV("bias");
            f->reset_subtract = pop->reset == SNN_RESET_SUBTRACT;
            st[i].v = IV("v");
            break;
        default:
            break;
        }
    }
#undef PV
#undef IV
}

/* Per-neuron schedules of source populations: own spike times (arrays)
 * merged with the input spikes for that population. */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int build_schedules(struct sim *s)
{
    const struct snn_net *net = s->net;
    const struct snn_spike_list *in = s->o->input;
    double h = net->dt_ms;
    for (uint32_t p = 0; p < net->n_pops; p++) {
        struct rt_pop *rp = &s->pops[p];
        const struct snn_pop *pop = &net->pops[p];
        if (!snn_models[rp->model].is_source)
            continue;
        uint32_t n = rp->n;
        const uint32_t *own_off = rp->model == SNN_MODEL_SPIKE_SOURCE_ARRAY ? pop->times_off : NULL;
        rp->sched_off = snn_arena_array(s->arena, (size_t)n + 1, sizeof(uint32_t));
        rp->cursor = snn_arena_array(s->arena, n, sizeof(uint32_t));
        if (!rp->sched_off || !rp->cursor)
            return SNN_ENOMEM;
        /* Count each neuron's own spike times and input rows. */
        for (uint32_t i = 0; i < n; i++)
            rp->sched_off[i + 1] = own_off ? own_off[i + 1] - own_off[i] : 0;
        for (uint64_t k = 0; in && k < in->n; k++)
            if (in->pop[k] == p)
                rp->sched_off[in->neuron[k] + 1]++;
        for (uint32_t i = 0; i < n; i++)
            rp->sched_off[i + 1] += rp->sched_off[i];
        rp->sched = snn_arena_array(s->arena, rp->sched_off[n] ? rp->sched_off[n] : 1,
                                    sizeof(uint32_t));
        if (!rp->sched)
            return SNN_ENOMEM;
        /* Own times become steps by the rounding rule of the quantize pass
         * (docs/numerics.md, "Durations"), in both modes. */
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k = rp->sched_off[i];
            for (uint32_t j = own_off ? own_off[i] : 0; own_off && j < own_off[i + 1]; j++) {
                double st = floor(pop->times[j] / h + 0.5);
                rp->sched[k++] = st <= 0 ? 0 : st >= 4294967295.0 ? UINT32_MAX : (uint32_t)st;
            }
            rp->cursor[i] = k; /* input rows go after */
        }
        for (uint64_t k = 0; in && k < in->n; k++)
            if (in->pop[k] == p)
                rp->sched[rp->cursor[in->neuron[k]]++] = in->step[k];
        /* Sort each neuron's schedule; repeats stay and fire once (the step
         * loop skips every entry below the current step). */
        for (uint32_t i = 0; i < n; i++) {
            qsort(rp->sched + rp->sched_off[i], rp->sched_off[i + 1] - rp->sched_off[i],
                  sizeof(uint32_t), cmp_u32);
            rp->cursor[i] = rp->sched_off[i];
        }
    }
    return 0;
}

/* A zeroed array of count elements that starts on a cache line. */
static void *line_array(struct sim *s, size_t count, size_t size)
{
    if (size && count > (SIZE_MAX - 64) / size)
        return NULL;
    unsigned char *raw = snn_arena_alloc(s->arena, count * size + 64);
    return raw ? raw + (64 - (uintptr_t)raw % 64) % 64 : NULL;
}

/* Does every neuron of the population share the first one's parameters? */
static bool shared(const void *par, size_t size, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)
        if (memcmp((const char *)par + i * size, par, size))
            return false;
    return true;
}

static int setup_soa(struct sim *s, struct rt_pop *rp, const struct snn_qpop *qp)
{
    uint32_t n = rp->n;
    if (rp->model == SNN_MODEL_LIF_CURR_EXP)
        rp->soa = fx_soa_curr_ok(qp->lif_curr_exp) &&
                  shared(qp->lif_curr_exp, sizeof *qp->lif_curr_exp, n);
    else if (rp->model == SNN_MODEL_LIF_COND_EXP)
        rp->soa = fx_soa_cond_ok(qp->lif_cond_exp) &&
                  shared(qp->lif_cond_exp, sizeof *qp->lif_cond_exp, n);
    if (!rp->soa)
        return 0;
    rp->lif.v = line_array(s, rp->ns, sizeof(int32_t));
    rp->lif.xe = line_array(s, rp->ns, sizeof(int32_t));
    rp->lif.xi = line_array(s, rp->ns, sizeof(int32_t));
    rp->lif.refrac = line_array(s, rp->ns, sizeof(uint32_t));
    if (!rp->lif.v || !rp->lif.xe || !rp->lif.xi || !rp->lif.refrac)
        return SNN_ENOMEM;
    const struct fx_lif_state *st = rp->state;
    for (uint32_t i = 0; i < n; i++) {
        size_t x = sidx(rp, i);
        rp->lif.v[x] = st[x].v;
        rp->lif.xe[x] = st[x].xe;
        rp->lif.xi[x] = st[x].xi;
        rp->lif.refrac[x] = st[x].refrac;
    }
    return 0;
}

/* float64 lif populations with shared parameters: the state as arrays. */
static int setup_fsoa(struct sim *s, struct rt_pop *rp)
{
    rp->fsoa = rp->fshared &&
               (rp->model == SNN_MODEL_LIF_CURR_EXP || rp->model == SNN_MODEL_LIF_COND_EXP);
    if (!rp->fsoa)
        return 0;
    rp->flif.v = line_array(s, rp->ns, sizeof(double));
    rp->flif.xe = line_array(s, rp->ns, sizeof(double));
    rp->flif.xi = line_array(s, rp->ns, sizeof(double));
    rp->flif.refrac = line_array(s, rp->ns, sizeof(uint32_t));
    if (!rp->flif.v || !rp->flif.xe || !rp->flif.xi || !rp->flif.refrac)
        return SNN_ENOMEM;
    const struct fl_state *st = rp->state;
    for (uint32_t i = 0; i < rp->n; i++) {
        size_t x = sidx(rp, i);
        rp->flif.v[x] = st[x].v;
        rp->flif.xe[x] = st[x].xe;
        rp->flif.xi[x] = st[x].xi;
        rp->flif.refrac[x] = st[x].refrac;
    }
    return 0;
}

static int setup(struct sim *s)
{
    const struct snn_net *net = s->net;
    bool fl = s->o->float64;
    int err = check_memory(s, 2);
    if (err)
        return err;
    if (!fl && (err = snn_quantize(net, s->d, &s->q)))
        return err;
    s->pops = snn_arena_array(s->arena, net->n_pops ? net->n_pops : 1, sizeof *s->pops);
    s->projs = snn_arena_array(s->arena, net->n_projs ? net->n_projs : 1, sizeof *s->projs);
    if (!s->pops || !s->projs)
        return SNN_ENOMEM;
    for (unsigned k = 0; k <= s->T; k++)
        s->cum[k] = k == s->T ? 1.0 : (double)k / s->T;
    for (uint32_t p = 0; p < net->n_pops; p++) {
        /* Thread ranges: equal shares to begin with. */
        struct rt_pop *rp = &s->pops[p];
        uint32_t n = net->pops[p].size;
        rp->pad = s->T > 1 ? PAD : 0;
        uint64_t ns = ((uint64_t)n + LINE_WORDS - 1) / LINE_WORDS * LINE_WORDS +
                      (uint64_t)s->T * rp->pad;
        if (ns > UINT32_MAX) {
            snn_diag_error(s->d, &net->pops[p].loc, "population '%s': %u neurons are too many "
                           "for the simulator's arrays", net->pops[p].name, n);
            return SNN_ETOOBIG;
        }
        rp->ns = (uint32_t)ns;
        for (unsigned k = 0; k <= s->T; k++)
            rp->lo[k] = edge(n, s->cum[k]);
    }
    /* Posts: room for the counts and for a spike of every neuron (a
     * thread's part can grow to most of a population), in whole lines, and
     * a pad after each for the prefetchers.  Only the words a step uses
     * are touched. */
    uint64_t words = net->n_pops;
    for (uint32_t p = 0; p < net->n_pops; p++)
        words += net->pops[p].size;
    s->post_bytes = (sizeof(struct post) + words * sizeof(uint32_t) + 63) / 64 * 64 +
                    (s->T > 1 ? PAD * sizeof(uint32_t) : 0);
    if (!(s->posts = line_array(s, 2 * (size_t)s->T, s->post_bytes)))
        return SNN_ENOMEM;
    for (unsigned k = 0; k < 2 * s->T; k++)
        atomic_init(&((struct post *)(s->posts + k * s->post_bytes))->seq, 0);
    uint32_t max_delay = 1;
    struct slice *sl = snn_calloc(MAX_SLICES, sizeof *sl);
    if (!sl)
        return SNN_ENOMEM;
    for (uint32_t j = 0; j < net->n_projs && !err; j++)
        err = build_proj(s, j, sl, &max_delay);
    for (uint32_t c = 0; c < MAX_SLICES; c++)
        snn_synapses_free(&sl[c].syn);
    snn_free(sl);
    if (err)
        return err;
    uint32_t D = 2;
    while (D <= max_delay)
        D *= 2;
    s->mask = D - 1;
    if ((err = check_memory(s, D)))
        return err;
    for (uint32_t p = 0; p < net->n_pops; p++) {
        const struct snn_pop *pop = &net->pops[p];
        struct rt_pop *rp = &s->pops[p];
        rp->model = pop->model;
        rp->n = pop->size;
        rp->rec_spikes = pop->record & SNN_REC_SPIKES;
        rp->rec_v_all = (pop->record & SNN_REC_V) && !pop->record_v;
        rp->fired = snn_arena_array(s->arena, pop->size, sizeof *rp->fired);
        if (!rp->fired)
            return SNN_ENOMEM;
        for (uint32_t j = 0; j < net->n_projs; j++)
            if (net->projs[j].pre == p)
                rp->n_out++;
        rp->out_proj = snn_arena_array(s->arena, rp->n_out ? rp->n_out : 1, sizeof(uint32_t));
        if (!rp->out_proj)
            return SNN_ENOMEM;
        for (uint32_t j = 0, k = 0; j < net->n_projs; j++)
            if (net->projs[j].pre == p)
                rp->out_proj[k++] = j;
        if (pop->model == SNN_MODEL_SPIKE_SOURCE_POISSON && fl) {
            rp->fprob = snn_arena_array(s->arena, pop->size, sizeof(double));
            rp->fwin = snn_arena_array(s->arena, pop->size, 2 * sizeof(uint32_t));
            if (!rp->fprob || !rp->fwin)
                return SNN_ENOMEM;
            double h = net->dt_ms;
            for (uint32_t i = 0; i < pop->size; i++) {
                double rate = snn_value_neuron(net, p, 0, false, i);
                double start = snn_value_neuron(net, p, 1, false, i);
                double dur = snn_value_neuron(net, p, 2, false, i);
                double s0 = floor(start / h + 0.5), s1 = floor((start + dur) / h + 0.5);
                rp->fprob[i] = snn__coef_poisson_p(rate, h);
                rp->fwin[2 * i] = s0 >= 4294967295.0 ? UINT32_MAX : (uint32_t)s0;
                rp->fwin[2 * i + 1] = s1 >= 4294967295.0 ? UINT32_MAX : (uint32_t)s1;
            }
        }
        if (snn_models[pop->model].is_source)
            continue;
        size_t cells = (size_t)D * 2 * rp->ns;
        if (fl) {
            rp->ringf = line_array(s, cells, sizeof(double));
            rp->fpar = snn_arena_array(s->arena, pop->size, sizeof(struct fl_par));
            struct fl_state *st = snn_arena_array(s->arena, pop->size, sizeof(struct fl_state));
            rp->state = line_array(s, rp->ns, sizeof(struct fl_state));
            if (!rp->ringf || !rp->fpar || !st || !rp->state)
                return SNN_ENOMEM;
            fill_float_params(s, p, rp->fpar, st);
            for (uint32_t i = 0; i < pop->size; i++)
                if (!fl_par_finite(&rp->fpar[i])) {
                    snn_diag_error(s->d, &pop->loc,
                                   "population '%s': neuron %u's parameters give a coefficient "
                                   "that is not a finite number (a time constant far below dt?)",
                                   pop->name, i);
                    return SNN_ERANGE;
                }
            for (uint32_t i = 0; i < pop->size; i++)
                ((struct fl_state *)rp->state)[sidx(rp, i)] = st[i];
            rp->state_sz = sizeof(struct fl_state);
            rp->fshared = shared(rp->fpar, sizeof *rp->fpar, pop->size);
            if ((err = setup_fsoa(s, rp)))
                return err;
            continue;
        }
        rp->ring = line_array(s, cells, sizeof(int32_t));
        const struct snn_qpop *qp = &s->q->pops[p];
        size_t sz = qp->lif0 ? sizeof *qp->lif0 : qp->izh0 ? sizeof *qp->izh0 : sizeof *qp->if0;
        const void *init = qp->lif0 ? (const void *)qp->lif0
                         : qp->izh0 ? (const void *)qp->izh0 : (const void *)qp->if0;
        rp->state = line_array(s, rp->ns, sz);
        if (!rp->ring || !rp->state)
            return SNN_ENOMEM;
        rp->state_sz = (uint32_t)sz;
        for (unsigned k = 0; k < s->T; k++)
            memcpy((char *)rp->state + (rp->lo[k] + (size_t)k * rp->pad) * sz,
                   (const char *)init + rp->lo[k] * sz, (rp->lo[k + 1] - rp->lo[k]) * sz);
        if ((err = setup_soa(s, rp, qp)))
            return err;
    }
    return build_schedules(s);
}

/* Thread k's step t of population p: updates neurons [lo[k], lo[k + 1]),
 * consuming their ring-buffer words, lists the ones that fired in fired[]
 * and returns how many. */
static uint32_t step_pop(struct sim *s, uint32_t p, uint32_t t, unsigned k, uint32_t *fired)
{
    struct rt_pop *rp = &s->pops[p];
    uint32_t lo = rp->lo[k], hi = rp->lo[k + 1], nf = 0;
    if (snn_models[rp->model].is_source) {
        const struct fx_poisson *pp = s->q ? s->q->pops[p].poisson : NULL;
        for (uint32_t i = lo; i < hi; i++) {
            bool f = false;
            uint32_t *c = &rp->cursor[i];
            while (*c < rp->sched_off[i + 1] && rp->sched[*c] < t)
                (*c)++;
            if (*c < rp->sched_off[i + 1] && rp->sched[*c] == t)
                f = true;
            if (rp->model == SNN_MODEL_SPIKE_SOURCE_POISSON && !f) {
                if (pp) {
                    f = fx_poisson_fires(&pp[i], s->net->seed, p, i, t);
                } else { /* float64 mode: the same draw against a double threshold */
                    uint32_t u = snn_philox4x32(t, i, p, SNN_RNG_POISSON, s->net->seed).v[0];
                    f = t >= rp->fwin[2 * i] && t < rp->fwin[2 * i + 1] &&
                        ldexp((double)u, -32) < rp->fprob[i];
                }
            }
            if (f)
                fired[nf++] = i;
        }
        return nf;
    }
    /* Thread k's parts of the padded arrays, indexed by neuron. */
    size_t off = (size_t)k * rp->pad, slot = (size_t)(t & s->mask) * 2 * rp->ns + off;
    if (rp->fsoa) { /* the kernels clear the words they read */
        struct fl_lif_soa st = {rp->flif.v + off, rp->flif.xe + off, rp->flif.xi + off,
                                rp->flif.refrac + off};
        double *ie = rp->ringf + slot, *ii = ie + rp->ns;
        return fl_lif_soa(rp->model == SNN_MODEL_LIF_COND_EXP, &rp->fpar[0], lo, hi, st, ie, ii,
                          fired);
    }
    if (rp->ringf) {
        double *ie = rp->ringf + slot, *ii = ie + rp->ns;
        struct fl_state *st = (struct fl_state *)rp->state + off;
        if (rp->fshared)
            nf = fl_step_shared(rp->model, &rp->fpar[0], st, ie, ii, lo, hi, fired);
        else
            for (uint32_t i = lo; i < hi; i++)
                if (fl_step(rp->model, &rp->fpar[i], &st[i], ie[i], ii[i]))
                    fired[nf++] = i;
        memset(ie + lo, 0, (hi - lo) * sizeof *ie);
        memset(ii + lo, 0, (hi - lo) * sizeof *ii);
        return nf;
    }
    int32_t *ie = rp->ring + slot, *ii = ie + rp->ns;
    const struct snn_qpop *qp = &s->q->pops[p];
    if (rp->soa) {
        struct fx_lif_soa st = {rp->lif.v + off, rp->lif.xe + off, rp->lif.xi + off,
                                rp->lif.refrac + off};
        if (rp->model == SNN_MODEL_LIF_CURR_EXP) /* the kernels clear the words they read */
            nf = fx_lif_curr_exp_soa(qp->lif_curr_exp, lo, hi, st, ie, ii, fired);
        else
            nf = fx_lif_cond_exp_soa(qp->lif_cond_exp, lo, hi, st, ie, ii, fired);
        return nf;
    }
    switch (rp->model) {
    case SNN_MODEL_LIF_CURR_EXP: {
        struct fx_lif_state *st = (struct fx_lif_state *)rp->state + off;
        const struct fx_lif_curr_exp *par = qp->lif_curr_exp;
        for (uint32_t i = lo; i < hi; i++)
            if (fx_lif_curr_exp_step(&par[i], &st[i], ie[i], ii[i]))
                fired[nf++] = i;
        break;
    }
    case SNN_MODEL_LIF_COND_EXP: {
        struct fx_lif_state *st = (struct fx_lif_state *)rp->state + off;
        const struct fx_lif_cond_exp *par = qp->lif_cond_exp;
        for (uint32_t i = lo; i < hi; i++)
            if (fx_lif_cond_exp_step(&par[i], &st[i], ie[i], ii[i]))
                fired[nf++] = i;
        break;
    }
    case SNN_MODEL_IF_CURR_DELTA: {
        struct fx_lif_state *st = (struct fx_lif_state *)rp->state + off;
        const struct fx_if_curr_delta *par = qp->if_curr_delta;
        for (uint32_t i = lo; i < hi; i++)
            if (fx_if_curr_delta_step(&par[i], &st[i], ie[i], ii[i]))
                fired[nf++] = i;
        break;
    }
    case SNN_MODEL_IZHIKEVICH: {
        struct fx_izh_state *st = (struct fx_izh_state *)rp->state + off;
        const struct fx_izhikevich *par = qp->izhikevich;
        for (uint32_t i = lo; i < hi; i++)
            if (fx_izhikevich_step(&par[i], &st[i], ie[i], ii[i]))
                fired[nf++] = i;
        break;
    }
    case SNN_MODEL_IF: {
        struct fx_if_state *st = (struct fx_if_state *)rp->state + off;
        const struct fx_if *par = qp->if_;
        for (uint32_t i = lo; i < hi; i++)
            if (fx_if_step(&par[i], &st[i], ie[i], ii[i]))
                fired[nf++] = i;
        break;
    }
    default:
        SNN_ASSERT(0);
    }
    memset(ie + lo, 0, (hi - lo) * sizeof *ie);
    memset(ii + lo, 0, (hi - lo) * sizeof *ii);
    return nf;
}

/* The membrane voltage of neuron i of a (non-source) population, in mV. */
static double v_of(const struct sim *s, const struct rt_pop *rp, uint32_t i)
{
    size_t x = sidx(rp, i);
    if (rp->fsoa)
        return rp->flif.v[x];
    if (rp->ringf)
        return ((const struct fl_state *)rp->state)[x].v;
    if (rp->soa)
        return ldexp((double)rp->lif.v[x], -FX_V_FRAC_BITS);
    int32_t v;
    switch (rp->model) {
    case SNN_MODEL_IZHIKEVICH: v = ((const struct fx_izh_state *)rp->state)[x].v; break;
    case SNN_MODEL_IF: v = ((const struct fx_if_state *)rp->state)[x].v; break;
    default: v = ((const struct fx_lif_state *)rp->state)[x].v; break;
    }
    return ldexp((double)v, -FX_V_FRAC_BITS);
}

/* Adds the rows of the spiking neurons fired[0 .. nf) to the ring, each
 * row's synapses [seg[0], seg[1]) for seg = segs + fired[f] * seg_step:
 * integer words wrap (fx_acc), float words add in row order; returns the
 * synapses added.  One body for every layout (narrow or wide targets,
 * shared or per-synapse weight and delay): the flags are constants where
 * it is inlined, so each layout gets a loop of its own without branches. */
static inline __attribute__((always_inline)) uint64_t
add_rows(const struct rt_proj *pj, void *restrict ring, size_t stride, uint32_t mask, uint32_t t,
         const uint64_t *segs, size_t seg_step, const uint32_t *fired, uint32_t nf, bool fixed,
         bool narrow, bool wsame, bool dsame)
{
    const uint16_t *restrict t16 = pj->tgt16;
    const uint32_t *restrict t32 = pj->tgt;
    const uint8_t *restrict delay = pj->delay;
    const int32_t *restrict wq = pj->wq;
    const double *restrict wf = pj->wf;
    size_t base = (size_t)((t + pj->same_delay) & mask) * stride;
    uint64_t events = 0;
    for (uint32_t f = 0; f < nf; f++) {
        const uint64_t *seg = segs + (size_t)fired[f] * seg_step;
        /* Rows are far apart: fetch the bounds of the row after next and
         * the synapses of the next one (its bounds fetched a row ago). */
        if (f + 2 < nf)
            __builtin_prefetch(segs + (size_t)fired[f + 2] * seg_step);
        if (f + 1 < nf) {
            uint64_t next = segs[(size_t)fired[f + 1] * seg_step];
            __builtin_prefetch(narrow ? (const void *)(t16 + next) : (const void *)(t32 + next));
        }
        uint64_t lo = seg[0], hi = seg[1];
        events += hi - lo;
        for (uint64_t q = lo; q < hi; q++) {
            size_t x = (dsame ? base : (size_t)((t + delay[q]) & mask) * stride) +
                       (narrow ? t16[q] : t32[q]);
            if (fixed) {
                uint32_t *cell = (uint32_t *)ring + x; /* fx_acc: a wrapping sum */
                *cell += (uint32_t)(wsame ? pj->wq_c : wq[q]);
            } else {
                ((double *)ring)[x] += wsame ? pj->wf_c : wf[q];
            }
        }
    }
    return events;
}

#define ADD_ROWS_D(F, N, W)                                                                  \
    (pj->same_delay                                                                          \
         ? add_rows(pj, ring, stride, mask, t, segs, seg_step, fired, nf, F, N, W, true)     \
         : add_rows(pj, ring, stride, mask, t, segs, seg_step, fired, nf, F, N, W, false))
#define ADD_ROWS_W(F, N)                                                                     \
    (((F) ? !pj->wq : !pj->wf) ? ADD_ROWS_D(F, N, true) : ADD_ROWS_D(F, N, false))

static uint64_t add_rows_any(const struct rt_proj *pj, void *restrict ring, size_t stride,
                             uint32_t mask, uint32_t t, const uint64_t *segs, size_t seg_step,
                             const uint32_t *fired, uint32_t nf)
{
    if (pj->fixed)
        return pj->tgt16 ? ADD_ROWS_W(true, true) : ADD_ROWS_W(true, false);
    return pj->tgt16 ? ADD_ROWS_W(false, true) : ADD_ROWS_W(false, false);
}

/* Thread k delivers step t's spikes of population p into its own post
 * neurons: for every spike, the part of the row that lands in its range.
 * The spikes are fired_by[i][0 .. nf_by[i]) for i < n, delivered in that
 * order. */
static uint64_t deliver(struct sim *s, uint32_t p, uint32_t t, unsigned k,
                        const uint32_t *const *fired_by, const uint32_t *nf_by, unsigned n)
{
    struct rt_pop *rp = &s->pops[p];
    unsigned T = s->T;
    uint64_t events = 0;
    for (uint32_t o = 0; o < rp->n_out; o++) {
        const struct rt_proj *pj = &s->projs[rp->out_proj[o]];
        struct rt_pop *post = &s->pops[pj->post];
        size_t stride = 2 * (size_t)post->ns;
        size_t base = pj->rec * (size_t)post->ns + (size_t)k * post->pad;
        void *ring = pj->fixed ? (void *)(post->ring + base) : (void *)(post->ringf + base);
        for (unsigned i = 0; i < n; i++)
            if (nf_by[i])
                events += add_rows_any(pj, ring, stride, s->mask, t, pj->seg + k, T + 1,
                                       fired_by[i], nf_by[i]);
    }
    return events;
}

/* Thread k delivers thread j's spikes of step t, population by
 * population. */
static uint64_t deliver_post(struct sim *s, uint32_t t, unsigned k, unsigned j)
{
    const struct post *po = post_at(s, j, t);
    const uint32_t *fired = po->words + s->net->n_pops;
    uint64_t events = 0;
    for (uint32_t p = 0; p < s->net->n_pops; p++) {
        uint32_t nf = po->words[p];
        if (nf)
            events += deliver(s, p, t, k, &fired, &nf, 1);
        fired += nf;
    }
    return events;
}

/* Where each thread's spikes of population p of step t begin in its post,
 * given where its spikes of population p - 1 began (p > 0). */
static void spikes_of(const struct sim *s, uint32_t p, uint32_t t, const uint32_t **fired_by,
                      uint32_t *nf_by)
{
    for (unsigned j = 0; j < s->T; j++) {
        const struct post *po = post_at(s, j, t);
        fired_by[j] = p ? fired_by[j] + nf_by[j] : po->words + s->net->n_pops;
        nf_by[j] = po->words[p];
    }
}

/* Steps whose outputs one thread writes in a row. */
#define OUT_TURN 64

/* Thread out_thread(s, t), after delivering step t: merged spike lists,
 * callbacks, counts.  0 or the error a callback returned.  The threads
 * take turns so that this work does not hold the same thread back every
 * step, OUT_TURN steps at a time: what it writes (the merged lists, the
 * counts, whatever the callbacks keep) then stays in one core's cache for
 * as many steps, where turns of one step made those lines cross between
 * cores every step.  The calls stay in order: a thread writes step t's
 * outputs before it publishes step t + 1, which the one writing step
 * t + 1 waits for. */
static unsigned out_thread(const struct sim *s, uint32_t t)
{
    return (unsigned)(t / OUT_TURN % s->T);
}

static int outputs(struct sim *s, uint32_t t)
{
    const struct snn_net *net = s->net;
    const struct snn_sim_opts *o = s->o;
    const uint32_t *fired_by[SNN__MAX_THREADS];
    uint32_t nf_by[SNN__MAX_THREADS];
    for (uint32_t p = 0; p < net->n_pops; p++) {
        struct rt_pop *rp = &s->pops[p];
        uint32_t nf = 0;
        spikes_of(s, p, t, fired_by, nf_by);
        for (unsigned j = 0; j < s->T; j++) {
            if (nf_by[j])
                memcpy(rp->fired + nf, fired_by[j], nf_by[j] * sizeof *rp->fired);
            nf += nf_by[j];
        }
        if (s->stats && s->stats->pop_spikes)
            s->stats->pop_spikes[p] += nf;
        if (o->on_spikes && nf && (rp->rec_spikes || o->all_spikes)) {
            int err = o->on_spikes(o->ctx, t, p, rp->fired, nf);
            if (err)
                return err;
        }
    }
    for (uint32_t p = 0; o->on_v && p < net->n_pops; p++) {
        struct rt_pop *rp = &s->pops[p];
        const struct snn_pop *pop = &net->pops[p];
        if (!(pop->record & SNN_REC_V) || snn_models[rp->model].is_source)
            continue;
        uint32_t n = rp->rec_v_all ? rp->n : pop->n_record_v;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = rp->rec_v_all ? k : pop->record_v[k];
            int err = o->on_v(o->ctx, t, p, i, v_of(s, rp, i));
            if (err)
                return err;
        }
    }
    uint64_t every = s->steps / 200 + 1;
    if (o->on_progress && t % every == 0)
        o->on_progress(o->ctx, t, s->steps);
    return 0;
}

/* ---- the threads' shares ------------------------------------------------ *
 *
 * Each thread owns a contiguous part of every population, the same
 * fraction of each.  Threads that meet every step go at the pace of the
 * slowest, and the processors of a machine do not always go at one pace
 * (a virtual machine's processors least: another guest may hold part of
 * one).  So every `look` steps the threads meet, and thread 0 gives the
 * faster ones larger parts: it moves the edges between parts, and with
 * them the state and ring words of the neurons that change hands and the
 * splits of the rows that lead to them.  Parts stay contiguous and in
 * thread order, so spikes, sums and outputs are the same for any shares. */

/* Moves elements [i0, i1) of rows of a padded array from one thread's
 * part (offset from, in elements) to another's (offset to). */
static void move_elems(void *a, size_t size, size_t rows, size_t stride, uint32_t i0, uint32_t i1,
                       size_t from, size_t to)
{
    for (size_t r = 0; r < rows; r++) {
        char *row = (char *)a + r * stride * size;
        memmove(row + (i0 + to) * size, row + (i0 + from) * size, (size_t)(i1 - i0) * size);
    }
}

/* The same for the four arrays of a LIF population's state (struct
 * fx_lif_soa or fl_lif_soa). */
#define MOVE_LIF(st, ns, i0, i1, from, to)                                                   \
    do {                                                                                     \
        move_elems((st).v, sizeof *(st).v, 1, ns, i0, i1, from, to);                         \
        move_elems((st).xe, sizeof *(st).xe, 1, ns, i0, i1, from, to);                       \
        move_elems((st).xi, sizeof *(st).xi, 1, ns, i0, i1, from, to);                       \
        move_elems((st).refrac, sizeof *(st).refrac, 1, ns, i0, i1, from, to);               \
    } while (0)

/* The post neuron of synapse q of a projection. */
static uint32_t tgt_at(const struct rt_proj *pj, uint64_t q)
{
    return pj->tgt16 ? pj->tgt16[q] : pj->tgt[q];
}

/* Moves the edge between the parts of threads k - 1 and k of population p
 * to b, which lies between the edges beside it. */
static void move_edge(struct sim *s, uint32_t p, unsigned k, uint32_t b)
{
    struct rt_pop *rp = &s->pops[p];
    uint32_t a = rp->lo[k];
    SNN_ASSERT(k > 0 && k < s->T && b >= rp->lo[k - 1] && b <= rp->lo[k + 1]);
    if (a == b)
        return;
    /* Neurons [a, b) go to thread k - 1 or [b, a) to thread k. */
    uint32_t i0 = a < b ? a : b, i1 = a < b ? b : a;
    size_t from = (size_t)(a < b ? k : k - 1) * rp->pad, to = (size_t)(a < b ? k - 1 : k) * rp->pad;
    if (!snn_models[rp->model].is_source) {
        size_t rows = (size_t)(s->mask + 1) * 2;
        if (rp->ring)
            move_elems(rp->ring, sizeof *rp->ring, rows, rp->ns, i0, i1, from, to);
        else
            move_elems(rp->ringf, sizeof *rp->ringf, rows, rp->ns, i0, i1, from, to);
        if (rp->soa)
            MOVE_LIF(rp->lif, rp->ns, i0, i1, from, to);
        else if (rp->fsoa)
            MOVE_LIF(rp->flif, rp->ns, i0, i1, from, to);
        else
            move_elems(rp->state, rp->state_sz, 1, rp->ns, i0, i1, from, to);
    }
    /* Each row into p splits at the first synapse to a neuron >= b: from
     * the split at a, a few synapses on or back (a row is sorted by post
     * neuron, and the split stays between the two beside it). */
    unsigned T = s->T;
    for (uint32_t j = 0; j < s->net->n_projs; j++) {
        struct rt_proj *pj = &s->projs[j];
        if (pj->post != p)
            continue;
        uint32_t npre = s->net->pops[pj->pre].size;
        for (uint32_t i = 0; i < npre; i++) {
            uint64_t *g = pj->seg + (size_t)i * (T + 1), q = g[k];
            while (q < g[k + 1] && tgt_at(pj, q) < b)
                q++;
            while (q > g[k - 1] && tgt_at(pj, q - 1) >= b)
                q--;
            g[k] = q;
        }
    }
    rp->lo[k] = b;
}

/* A number in [0, 1) from the shuffle generator (xorshift64*). */
static double shuffle_draw(struct sim *s)
{
    s->shuffle ^= s->shuffle >> 12;
    s->shuffle ^= s->shuffle << 25;
    s->shuffle ^= s->shuffle >> 27;
    return (double)((s->shuffle * 0x2545F4914F6CDD1DULL) >> 11) * 0x1p-53;
}

/* Thread 0, while the others wait: new shares, then every edge moved to
 * them.  A thread's speed is its share over its time at work; the shares
 * go halfway towards being proportional to the speeds (a stretch's times
 * are noisy), and not at all when that would change no share by 1% or
 * more.  No share drops below a quarter of an equal one, so that a thread
 * held up for a whole stretch gets back to work soon after. */
static void balance(struct sim *s)
{
    unsigned T = s->T;
    double share[SNN__MAX_THREADS], sum = 0;
    if (s->shuffle) {
        /* any shares, some of them nothing */
        for (unsigned k = 0; k < T; k++) {
            double u = shuffle_draw(s);
            sum += share[k] = u < 0.2 ? 0 : u * u;
        }
        if (sum == 0)
            share[0] = sum = 1;
    } else {
        double speed[SNN__MAX_THREADS], all = 0, most = 0;
        for (unsigned k = 0; k < T; k++) {
            double b = s->busy[k] > 1e-9 ? s->busy[k] : 1e-9;
            all += speed[k] = (s->cum[k + 1] - s->cum[k]) / b;
        }
        for (unsigned k = 0; k < T; k++) {
            double now = s->cum[k + 1] - s->cum[k], want = now + 0.5 * (speed[k] / all - now);
            if (fabs(want - now) > most)
                most = fabs(want - now);
            sum += share[k] = want > 0.25 / T ? want : 0.25 / T;
        }
        if (most < 0.01)
            return;
    }
    double c = 0;
    for (unsigned k = 0; k < T; k++) {
        s->cum[k] = c / sum;
        c += share[k];
    }
    s->cum[T] = 1;
    /* Edges moving down first, from the lowest, then edges moving up, from
     * the highest: each then stays between the edges beside it. */
    bool moved = false;
    for (uint32_t p = 0; p < s->net->n_pops; p++) {
        uint32_t n = s->pops[p].n;
        for (unsigned k = 1; k < T; k++)
            if (edge(n, s->cum[k]) < s->pops[p].lo[k]) {
                move_edge(s, p, k, edge(n, s->cum[k]));
                moved = true;
            }
        for (unsigned k = T - 1; k >= 1; k--)
            if (edge(n, s->cum[k]) > s->pops[p].lo[k]) {
                move_edge(s, p, k, edge(n, s->cum[k]));
                moved = true;
            }
    }
    s->moves += moved;
}

/* Waits for *w to hold v, adding the time it waited to *waited when the
 * shares are measured. */
static void await(struct sim *s, atomic_uint *w, unsigned v, double *waited)
{
    if (atomic_load(w) == v)
        return;
    double t0 = s->look ? now_s() : 0;
    snn_word_wait(w, v, &s->sleepers);
    if (s->look)
        *waited += now_s() - t0;
}

/* The step loop of thread k.  A thread updates its neurons, publishes
 * its post and delivers every post of the step, waiting for each other
 * thread's to arrive; a thread's ring words are touched by it alone, so
 * the next update waits for nothing more.  Recording voltages adds a wait
 * for the thread writing the step's outputs to have read them before the
 * others step on. */
static void loop(struct sim *s, unsigned k)
{
    const struct snn_net *net = s->net;
    bool v_wait = s->o->on_v != NULL;
    const uint32_t *fired_by[SNN__MAX_THREADS];
    uint32_t nf_by[SNN__MAX_THREADS];
    uint64_t events = 0;
    double start = s->look ? now_s() : 0, waited = 0;
    for (uint64_t t64 = 0; t64 < s->steps; t64++) {
        uint32_t t = (uint32_t)t64;
        struct post *mine = post_at(s, k, t);
        uint32_t *list = mine->words + net->n_pops;
        for (uint32_t p = 0; p < net->n_pops; p++) {
            uint32_t nf = step_pop(s, p, t, k, list);
            mine->words[p] = nf;
            list += nf;
        }
        snn_word_publish(&mine->seq, t + 1, &s->sleepers);
        if (s->o->float64) {
            /* Float sums keep one order for any T: every post first, then
             * population by population, thread by thread. */
            for (unsigned j = 0; j < s->T; j++)
                if (j != k)
                    await(s, &post_at(s, j, t)->seq, t + 1, &waited);
            for (uint32_t p = 0; p < net->n_pops; p++) {
                spikes_of(s, p, t, fired_by, nf_by);
                events += deliver(s, p, t, k, fired_by, nf_by, s->T);
            }
        } else {
            /* Fixed-point ring words are wrapping sums, the same in any
             * order: a thread delivers its own spikes while the others'
             * posts are on their way, then each other post as it comes. */
            for (unsigned i = 0; i < s->T; i++) {
                unsigned j = (k + i) % s->T;
                if (j != k)
                    await(s, &post_at(s, j, t)->seq, t + 1, &waited);
                events += deliver_post(s, t, k, j);
            }
        }
        /* After every post of the step: an abort set in step t - 1's
         * outputs is seen here by all (a stopping run's ring is never read
         * again, so what was delivered before this check does not matter). */
        uint64_t stop = atomic_load(&s->abort_step);
        if (stop && t64 >= stop)
            break;
        bool mine_out = out_thread(s, t) == k;
        if (mine_out && !stop) {
            int err = outputs(s, t);
            if (err) {
                s->abort_errno = errno;
                atomic_store(&s->abort_err, err);
                atomic_store(&s->abort_step, t64 + 1);
            }
        }
        if (v_wait && mine_out)
            snn_word_publish(&s->v_read, t + 1, &s->sleepers);
        else if (v_wait)
            await(s, &s->v_read, t + 1, &waited);
        /* Every thread has delivered step t and its outputs are written:
         * the shares may change (a stopping run has left by now, every
         * thread at the same step). */
        if (s->look && (t64 + 1) % s->look == 0 && t64 + 1 < s->steps) {
            s->busy[k] = now_s() - start - waited;
            snn_barrier_wait(&s->bar);
            if (k == 0)
                balance(s);
            snn_barrier_wait(&s->bar);
            start = now_s();
            waited = 0;
        }
    }
    s->events[k] = events;
}

struct worker {
    struct sim *s;
    unsigned k;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int go;
    while (!(go = atomic_load(&w->s->go)))
        sched_yield();
    if (go > 0)
        loop(w->s, w->k);
    return NULL;
}

static int run(struct sim *s)
{
    struct worker w[SNN__MAX_THREADS];
    pthread_t th[SNN__MAX_THREADS];
    unsigned started = 1;
    for (unsigned k = 1; k < s->T; k++) {
        w[k] = (struct worker){s, k};
        if (pthread_create(&th[k], NULL, worker_main, &w[k]))
            break;
        started++;
    }
    /* The threads wait at a gate until all have started; if one could not
     * be, the others are sent home and the run reports it. */
    atomic_store(&s->go, started == s->T ? 1 : -1);
    if (started == s->T)
        loop(s, 0);
    for (unsigned k = 1; k < started; k++)
        pthread_join(th[k], NULL);
    if (started < s->T) {
        snn_diag_error(s->d, NULL, "could not start %u threads; try --threads 1", s->T);
        return SNN_EDEVICE;
    }
    int err = atomic_load(&s->abort_err);
    if (err)
        errno = s->abort_errno;
    return err;
}

/* Threads running besides this one now: the fewest of three looks a
 * millisecond apart at /proc/loadavg's fourth field, "runnable/total",
 * which counts this thread among the runnable (one look could catch a
 * process of the same shell pipeline starting); a look that sees none
 * ends them.  The load average would do where that is missing, but it
 * remembers the last minute, in which a script's previous run of snnc
 * kept both cores busy. */
static double others_running(void)
{
    unsigned fewest = UINT32_MAX;
    for (int look = 0; look < 3 && fewest != 0; look++) {
        if (look)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        FILE *f = fopen("/proc/loadavg", "r");
        unsigned running = 0, total = 0;
        double l1, l5, l15;
        if (f && fscanf(f, "%lf %lf %lf %u/%u", &l1, &l5, &l15, &running, &total) == 5 &&
            running >= 1 && running - 1 < fewest)
            fewest = running - 1;
        if (f)
            fclose(f);
    }
    if (fewest != UINT32_MAX)
        return fewest;
    double load[1];
    return getloadavg(load, 1) == 1 ? load[0] : 0;
}

/* Threads: as asked, else one per idle processor (online processors less
 * the threads running now) for networks big enough to pay for a hand-over
 * a step.  Threads that share a busy core wait on each other every step,
 * so other work matters more than the processor count; results never
 * depend on it. */
static unsigned choose_threads(const struct snn_net *net, const struct snn_sim_opts *o)
{
    unsigned t = o->threads;
    if (!t) {
        uint64_t neurons = 0;
        for (uint32_t p = 0; p < net->n_pops; p++)
            neurons += net->pops[p].size;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        double idle = neurons < 2048 || cpus < 2 ? 1 : (double)cpus - others_running();
        t = idle < 1.5 ? 1 : (unsigned)(idle + 0.5);
    }
    return t > SNN__MAX_THREADS ? SNN__MAX_THREADS : t;
}

int snn_sim_run(const struct snn_net *net, const struct snn_sim_opts *o, struct snn_diag *d,
                struct snn_sim_stats *stats)
{
    struct sim s = {.net = net, .o = o, .d = d, .stats = stats};
    double t0 = now_s();
    uint64_t steps = o->steps;
    if (!steps) {
        double st = floor(net->duration_ms / net->dt_ms + 0.5);
        if (!(st < 4294967295.0)) {
            snn_diag_error(d, NULL, "duration %g ms is %.3g steps of %g ms; at most 2^32 - 1",
                           net->duration_ms, st, net->dt_ms);
            return SNN_ERANGE;
        }
        steps = (uint64_t)st;
    }
    if (steps > UINT32_MAX) {
        snn_diag_error(d, NULL, "%llu steps requested; at most 2^32 - 1",
                       (unsigned long long)steps);
        return SNN_ERANGE;
    }
    for (uint64_t k = 0; o->input && k < o->input->n; k++) {
        uint32_t p = o->input->pop[k];
        if (p >= net->n_pops || !snn_models[net->pops[p].model].is_source ||
            o->input->neuron[k] >= net->pops[p].size) {
            snn_diag_error(d, NULL, "input spike %llu does not name a neuron of a spike source",
                           (unsigned long long)k);
            return SNN_EINVAL;
        }
    }
    s.steps = steps;
    s.T = choose_threads(net, o);
    if (s.T > 1) {
        s.look = o->balance_steps ? o->balance_steps : 1024;
        s.shuffle = o->balance_shuffle;
        snn_barrier_init(&s.bar, s.T);
    }
    atomic_init(&s.v_read, 0);
    atomic_init(&s.sleepers, 0);
    s.arena = snn_arena_new();
    if (!s.arena)
        return SNN_ENOMEM;
    if (stats && stats->pop_spikes)
        memset(stats->pop_spikes, 0, net->n_pops * sizeof *stats->pop_spikes);
    int err = setup(&s);
    double t1 = now_s();
    if (!err)
        err = run(&s);
    double t2 = now_s();
    if (stats) {
        stats->steps = steps;
        stats->synapses = s.synapses;
        stats->syn_events = 0;
        for (unsigned k = 0; k < s.T; k++)
            stats->syn_events += s.events[k];
        stats->build_s = t1 - t0;
        stats->run_s = t2 - t1;
        stats->bytes = snn_arena_used(s.arena);
        stats->threads = s.T;
        stats->share_moves = s.moves;
        stats->share_min = stats->share_max = 1;
        for (unsigned k = 0; k < s.T && s.T > 1; k++) {
            double sh = s.cum[k + 1] - s.cum[k];
            if (k == 0 || sh < stats->share_min)
                stats->share_min = sh;
            if (k == 0 || sh > stats->share_max)
                stats->share_max = sh;
        }
    }
    if (err == SNN_ENOMEM)
        snn_diag_error(d, NULL, "out of memory while simulating");
    snn_qnet_free(s.q);
    snn_arena_free(s.arena);
    return err;
}

/*
 * mapper/partition.c: the partition pass, populations cut into slices.
 *
 * Requires nothing but the network and the machine.  Provides
 * map->slices (pop, lo, n and use; place and keys fill the rest),
 * n_slices, pop_slice, edges, n_edges and edge_first (mapper/mapper.h).
 * Every population is cut, spike sources too: they run on cores like
 * neurons.  Nothing of the map is written until the whole partition has
 * been found, so a failure leaves the map as it was.
 *
 * Slices.  A population of size N is cut into slices of s neurons, the
 * last one smaller: [0, s), [s, 2s), ..., [(k-1)s, N), k = ceil(N / s).
 * s starts at the least of N, opt.neurons_per_core (when not 0), the
 * target's max_neurons, 256 (SNN_CORE_MAX_NEURONS: the synaptic word
 * indexes the slice in 8 bits), and the most neurons whose count-independent
 * DTCM (below, without the key table) fits a core.
 *
 * The resource model (the bytes the board firmware will use):
 *
 *   DTCM of a slice of n neurons (budget: the target's dtcm_bytes)
 *     8192                   SNN_MAP_DTCM_OVERHEAD: the kernel's own data
 *                            (stack, DMA buffers, queues; see below)
 *   + n x per-neuron bytes   the model's parameter and state structs of
 *                            abi/neuron.h as the core holds them:
 *                              lif_curr_exp        60 + 16 = 76
 *                              lif_cond_exp        68 + 16 = 84
 *                              if_curr_delta       44 + 16 = 60
 *                              izhikevich          72 +  8 = 80
 *                              if                  32 +  4 = 36
 *                              spike_source_poisson     12 (struct fx_poisson)
 *                              spike_source_array        8 (next-spike offset
 *                                                  and end; the times are in SDRAM)
 *   + n x 2 x R x 4          ring buffers: two receptors, R delay slots of
 *                            one int32 wrapping accumulator each; R is the
 *                            smallest power of two >= D + 1 and at least 2,
 *                            D the largest delay in steps of any projection
 *                            onto the population (snn_expand_max_delay_steps;
 *                            0 without any).  Spike sources have no input:
 *                            no ring buffers, R = 0.
 *   + 16 x E                 the key table: E incoming edges, each one entry
 *                            of key, mask, row-index offset and neuron count
 *                            (4 bytes each).
 *
 *   SDRAM of a slice (budget: the chip's sdram_bytes divided by its
 *   application cores, cores - monitor_cores, rounded down)
 *     for every incoming edge from a pre slice of m neurons:
 *       8 x ceil(m / 32)     the row index's groups: a bit per pre neuron
 *                            (has a row) and the rows before the group
 *     + 8 x r + 4 x syn      r rows (the pre neurons with at least one
 *                            synapse on the slice): the row's offset in
 *                            the index, a 4-byte header and a 4-byte word
 *                            per synapse.  One row holds the synapses of
 *                            every projection from that pre population
 *                            onto the slice (abi/core_image.h).
 *   + T x ceil(n / 32) x 4   spike recording, when recorded (a bit per
 *                            neuron and step)
 *   + T x v x 4              v recording, when recorded: v the recorded
 *                            neurons of the slice
 *   + 4 x spikes             spike_source_array: the slice's spike times
 *   where T = duration_ms / dt_ms rounded up (a quotient within 1e-9 of a
 *   whole number counts as that number, so float noise does not add a
 *   step); duration 0 records nothing.
 *
 *   Synaptic events per step (budget: the target's max_synaptic_events)
 *     sum over incoming edges of syn x rate(pre slice) x dt_ms / 1000
 *   (within a relative 1e-9 of the budget counts as within: float noise)
 *   and the packets a slice sends per step: n x rate(slice) x dt_ms / 1000,
 *   with rates in Hz:
 *     spike_source_poisson   its rate parameter, the mean of the slice's
 *                            per-neuron values (start and duration are
 *                            ignored: the rate while it fires is the load
 *                            the core must take)
 *     spike_source_array     the slice's spikes / (n x duration); with
 *                            duration 0 the population's spike-time span
 *                            (last - first time, at least one dt) stands
 *                            for the duration
 *     neuron populations     opt.rate_hz
 *
 * Edges are exact: snn_expand_count counts every projection's synapses
 * per (pre neuron, post slice), one pre slice at a time; projections
 * between the same two populations are summed before rows are counted,
 * since they share rows.  Edges come out sorted by (pre slice, post
 * slice) because they are made in that order: pre populations, their
 * slices, then the (pre, post) population pairs by post population and
 * the post slices in order.  Pairs with no synapse are not edges.
 *
 * Reslicing.  When a slice breaks a budget, its population's s drops to
 * what the measured need suggests (n x budget / need, with the DTCM
 * overhead taken out first; for DTCM, a model in which the key table
 * grows as every population shrinks, see dtcm_scaled()), at most s - 1, and from a population's third
 * shrink on at most s / 2 so every population settles within
 * 2 + log2(s) shrinks.  Only the (pre, post) pairs touching a resliced
 * population are counted again; the other edges are copied over.  A
 * one-neuron slice that still breaks a budget cannot be helped: the pass
 * fails with SNN_ETOOBIG and a message naming the resource, the
 * population, the need, what a core has and what to try.  At most
 * SNN_MAP_PARTITION_ROUNDS rounds are run.
 *
 * Invariants of the result (snn__map_verify_partition checks them):
 *   - the slices of population p are pop_slice[p] .. pop_slice[p+1] - 1,
 *     cover [0, size) in order without overlap, all of the same n but the
 *     last (which is not larger), each 1 <= n <= max_neurons (and
 *     neurons_per_core when set);
 *   - edges are sorted by (pre, post), unique, with 1 <= n_rows <=
 *     min(pre slice's n, n_synapses), only between populations joined by
 *     a projection; edge_first indexes them by pre slice;
 *   - every slice's use is the model above, computed from its edges, and
 *     within every budget.
 *
 * Threads.  When the counting is large (PARALLEL_WORK), two threads
 * count: one the pre populations before the point where half the
 * estimated work is done, the other the rest, each into its own edge
 * buffer; the second buffer is appended to the first, so the edges are
 * those one thread makes, in the same order.  Should a thread fail other
 * than for memory, the count is redone by one thread, which reports.
 *
 * Determinism: everything is in index order; no pointers, hashes or
 * times decide anything.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/core_image.h"
#include "abi/neuron.h"
#include "ir/expand.h"
#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"

/* ---- the resource model's constants ---------------------------------- */

/* A key-table entry: key, mask, row-index offset, neuron count. */
#define KEY_ENTRY_BYTES 16u
/* Ring buffers: two receptors (exc, inh) of int32 accumulators. */
#define RING_RECEPTORS 2u
#define RING_WORD_BYTES 4u
/* A spike_source_array neuron in DTCM: its next spike's offset and end. */
#define ARRAY_NEURON_BYTES 8u
/* SDRAM words. */
#define ROW_GROUP_BYTES 8u  /* per 32 pre neurons of an incoming edge */
#define ROW_BYTES 8u        /* per row: its offset in the index, its header */
#define SYNAPSE_BYTES 4u    /* per synapse */
#define SPIKE_TIME_BYTES 4u /* per spike_source_array spike */
#define RECORD_WORD_BYTES 4u

/* The per-neuron structs the numbers in the comment above are. */
_Static_assert(sizeof(struct fx_lif_curr_exp) == 52 && sizeof(struct fx_lif_state) == 16,
               "update the resource model in the comment above");
_Static_assert(sizeof(struct fx_lif_cond_exp) == 64, "update the resource model");
_Static_assert(sizeof(struct fx_if_curr_delta) == 44, "update the resource model");
_Static_assert(sizeof(struct fx_izhikevich) == 72 && sizeof(struct fx_izh_state) == 8,
               "update the resource model");
_Static_assert(sizeof(struct fx_if) == 32 && sizeof(struct fx_if_state) == 4,
               "update the resource model");
_Static_assert(sizeof(struct fx_poisson) == 12, "update the resource model");

/* Rounds of reslicing: each one shrinks at least one population and none
 * more than 2 + log2(s) times, so this is only reached by long cascades
 * (a shrunk pre population lengthening key tables elsewhere); 64 leaves
 * ample room for those while bounding the time spent. */
#define SNN_MAP_PARTITION_ROUNDS 64u
/* Entries of the count matrix (pre neurons x post slices) worked on at
 * once: 4 MiB, so a pre slice facing a finely cut population is counted
 * in chunks of pre neurons instead of one huge matrix. */
#define COUNT_CAP ((size_t)1 << 20)
/* Estimated counting work (count-matrix cells plus counting calls per pre
 * neuron) above which two threads count: below it, about a millisecond,
 * starting a thread is not worth it (and unit tests stay single-threaded,
 * as the allocation-failure hook requires). */
#define PARALLEL_WORK ((uint64_t)1 << 22)
/* Violations the verifier reports one by one before summarising. */
#define VERIFY_REPORT_MAX 20u

/* ---- the model, shared by the pass and its verifier ------------------- */

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint32_t neuron_bytes(enum snn_model model)
{
    switch (model) {
    case SNN_MODEL_LIF_CURR_EXP:
        return (uint32_t)(sizeof(struct fx_lif_curr_exp) + sizeof(struct fx_lif_state));
    case SNN_MODEL_LIF_COND_EXP:
        return (uint32_t)(sizeof(struct fx_lif_cond_exp) + sizeof(struct fx_lif_state));
    case SNN_MODEL_IF_CURR_DELTA:
        return (uint32_t)(sizeof(struct fx_if_curr_delta) + sizeof(struct fx_lif_state));
    case SNN_MODEL_IZHIKEVICH:
        return (uint32_t)(sizeof(struct fx_izhikevich) + sizeof(struct fx_izh_state));
    case SNN_MODEL_IF: return (uint32_t)(sizeof(struct fx_if) + sizeof(struct fx_if_state));
    case SNN_MODEL_SPIKE_SOURCE_ARRAY: return ARRAY_NEURON_BYTES;
    case SNN_MODEL_SPIKE_SOURCE_POISSON: return (uint32_t)sizeof(struct fx_poisson);
    case SNN_MODEL_COUNT: break;
    }
    SNN_ASSERT(!"no such model");
    return 0;
}

static bool is_source(const struct snn_net *net, uint32_t p)
{
    return snn_models[net->pops[p].model].is_source;
}

/* Ring slots for a largest incoming delay of max_delay steps. */
static uint32_t ring_slots_for(uint32_t max_delay)
{
    uint32_t r = 2;
    while (r < max_delay + 1u)
        r <<= 1;
    return r;
}

/* Ring bytes per neuron. */
static uint64_t ring_bytes(uint32_t ring)
{
    return (uint64_t)RING_RECEPTORS * ring * RING_WORD_BYTES;
}

/* DTCM of n neurons of population p without the key table. */
static uint64_t dtcm_base(const struct snn_net *net, uint32_t p, uint64_t n, uint32_t ring)
{
    return SNN_MAP_DTCM_OVERHEAD + n * (neuron_bytes(net->pops[p].model) + ring_bytes(ring));
}

/* Recorded timesteps: duration / dt rounded up, float noise forgiven;
 * capped at 2^32 - 1 (the simulator's own limit). */
uint64_t snn__map_record_steps(const struct snn_net *net)
{
    if (!(net->duration_ms > 0) || !(net->dt_ms > 0))
        return 0;
    double r = net->duration_ms / net->dt_ms;
    if (!(r < 4294967295.0))
        return UINT32_MAX;
    double k = floor(r + 0.5);
    if (r > k + 1e-9 * k)
        k += 1;
    return (uint64_t)k;
}

/* The parts of a slice's SDRAM that do not depend on edges. */
struct sdram_base {
    uint64_t record, times;
};

static struct sdram_base sdram_base(const struct snn_net *net, uint32_t p, uint32_t lo,
                                    uint32_t n, uint32_t n_record_v, uint64_t steps)
{
    const struct snn_pop *pop = &net->pops[p];
    struct sdram_base b = {0, 0};
    if (pop->record & SNN_REC_SPIKES)
        b.record = mul_sat(steps, ((uint64_t)n + 31) / 32 * RECORD_WORD_BYTES);
    if ((pop->record & SNN_REC_V) && !is_source(net, p))
        b.record = add_sat(b.record, mul_sat(steps, (uint64_t)n_record_v * RECORD_WORD_BYTES));
    if (pop->model == SNN_MODEL_SPIKE_SOURCE_ARRAY && pop->times_off)
        b.times = (uint64_t)(pop->times_off[lo + n] - pop->times_off[lo]) * SPIKE_TIME_BYTES;
    return b;
}

/* The spike-time span of a spike_source_array in ms (0 without spikes). */
static double array_span_ms(const struct snn_pop *pop)
{
    if (pop->model != SNN_MODEL_SPIKE_SOURCE_ARRAY || !pop->times_off)
        return 0;
    double lo = INFINITY, hi = -INFINITY;
    for (uint32_t i = 0; i < pop->size; i++) {
        uint32_t a = pop->times_off[i], b = pop->times_off[i + 1];
        if (a < b) {
            lo = fmin(lo, pop->times[a]);
            hi = fmax(hi, pop->times[b - 1]);
        }
    }
    return hi >= lo ? hi - lo : 0;
}

/* The expected firing rate in Hz of neurons [lo, lo + n) of population p;
 * span_ms is array_span_ms of the population. */
static double slice_rate_hz(const struct snn_map *map, uint32_t p, uint32_t lo, uint32_t n,
                            double span_ms)
{
    const struct snn_net *net = map->net;
    const struct snn_pop *pop = &net->pops[p];
    if (pop->model == SNN_MODEL_SPIKE_SOURCE_POISSON) {
        int slot = snn_model_param(pop->model, "rate");
        SNN_ASSERT(slot >= 0);
        if (pop->params[slot].kind == SNN_VAL_CONST)
            return pop->params[slot].c;
        double sum = 0;
        for (uint32_t i = 0; i < n; i++)
            sum += snn_value_neuron(net, p, (unsigned)slot, false, lo + i);
        return sum / n;
    }
    if (pop->model == SNN_MODEL_SPIKE_SOURCE_ARRAY) {
        if (!pop->times_off)
            return 0;
        double spikes = (double)(pop->times_off[lo + n] - pop->times_off[lo]);
        double t = net->duration_ms > 0 ? net->duration_ms : fmax(span_ms, net->dt_ms);
        return spikes == 0 ? 0 : spikes * 1000.0 / ((double)n * t);
    }
    return map->opt.rate_hz;
}

/* Expected events per step of syn synapses from neurons firing at rate_hz. */
static double events_of(const struct snn_net *net, uint64_t syn, double rate_hz)
{
    return (double)syn * rate_hz * net->dt_ms / 1000.0;
}

/* Whether expected events break the budget: within a relative 1e-9 of it
 * is float noise of the sum, not an overrun. */
static bool events_over(double events, uint32_t budget)
{
    return events > (double)budget * (1.0 + 1e-9);
}

/* SDRAM of one incoming edge from a pre slice of pre_n neurons. */
static uint64_t edge_sdram(uint32_t pre_n, const struct snn_edge *e)
{
    return (uint64_t)ROW_GROUP_BYTES * ((pre_n + 31) / 32) + (uint64_t)ROW_BYTES * e->n_rows +
           (uint64_t)SYNAPSE_BYTES * e->n_synapses;
}

/* The most neurons a slice may have: the target's limit, the option's,
 * and the synaptic word's 8-bit neuron index (abi/core_image.h). */
static uint32_t slice_cap(const struct snn_map *map)
{
    uint32_t cap = map->m->max_neurons;
    if (cap > SNN_CORE_MAX_NEURONS)
        cap = SNN_CORE_MAX_NEURONS;
    if (map->opt.neurons_per_core && map->opt.neurons_per_core < cap)
        cap = map->opt.neurons_per_core;
    return cap;
}

/* Slice SDRAM budget: the chip's SDRAM shared by its application cores. */
uint64_t snn__map_sdram_budget(const struct snn_machine *m)
{
    return m->sdram_bytes / (m->cores - m->monitor_cores);
}

/* Largest incoming delay of every population (0: no projection). OUT:
 * md[n_pops]. */
static void max_delays(const struct snn_net *net, uint32_t *md)
{
    memset(md, 0, net->n_pops * sizeof *md);
    for (uint32_t j = 0; j < net->n_projs; j++) {
        uint32_t q = net->projs[j].post, dl = snn_expand_max_delay_steps(net, j);
        if (dl > md[q])
            md[q] = dl;
    }
}

static uint32_t pop_ring(const struct snn_net *net, uint32_t p, const uint32_t *md)
{
    return is_source(net, p) ? 0 : ring_slots_for(md[p]);
}

/* "123 bytes", "64 KiB", "70.2 KiB", "7.5 MiB". */
static const char *fmt_bytes(char *buf, size_t size, uint64_t n)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        snprintf(buf, size, "%llu bytes", (unsigned long long)n);
        return buf;
    }
    unsigned u = 0;
    uint64_t div = 1024;
    while (u + 1 < sizeof unit / sizeof *unit && n >= div * 1024) {
        div *= 1024;
        u++;
    }
    if (n % div == 0)
        snprintf(buf, size, "%llu %s", (unsigned long long)(n / div), unit[u]);
    else
        snprintf(buf, size, "%.1f %s", (double)n / (double)div, unit[u]);
    return buf;
}

/* ---- the pass's state -------------------------------------------------- */

/* What one counting thread owns: its scratch and the edges it makes. */
struct counter {
    struct snn_edge *e;
    uint64_t n_e, cap_e;
    uint32_t *cnt; /* pre neurons x post slices */
    size_t cnt_cap;
    uint32_t *rows; /* per post slice of the pair being counted */
    uint64_t *syn;
    size_t acc_cap;
    struct snn_diag *d; /* NULL in the parallel attempt */
};

/* Projections between one (pre, post) population pair. */
struct group {
    uint32_t pre, post;
    uint32_t first, n; /* gproj[first .. first + n) */
};

struct part {
    struct snn_map *map;
    const struct snn_net *net;
    const struct snn_machine *m;
    struct snn_diag *d;
    uint32_t n_pops;
    uint64_t steps;
    uint64_t sdram_budget;

    /* per population */
    uint32_t *s;         /* slice size */
    uint32_t *nsl;       /* slices */
    uint32_t *shrinks;   /* times s was lowered by the rounds */
    uint32_t *max_delay; /* largest incoming delay in steps */
    uint32_t *suggest;   /* this round's suggested s (UINT32_MAX: fine) */
    unsigned char *affected; /* resliced for this round */
    double *span_ms;     /* spike_source_array spike-time span */
    uint32_t *first;     /* n_pops + 1: first slice */
    uint32_t *old_first; /* n_pops + 1: the previous round's */

    /* projections grouped by (pre, post) pair, sorted; pre_group[p] ..
     * pre_group[p + 1] are the pairs with pre p, by post */
    uint32_t *gproj;
    struct group *groups;
    uint32_t n_groups;
    uint32_t *pre_group;

    /* per slice of this round (and the previous one's, for copying) */
    uint32_t n_slices, old_n_slices;
    uint32_t *slice_pop, *old_slice_pop;
    uint32_t *bounds; /* per population nsl + 1 bounds at first[p] + p */
    double *rate;     /* Hz */
    uint32_t *rec_v;  /* recorded-v neurons */
    struct snn_slice_use *use;

    /* edges of this round and the previous one */
    struct snn_edge *e, *old_e;
    uint64_t n_e, cap_e, old_n_e;
    uint64_t *efirst, *old_efirst; /* n_slices + 1 */

    /* the counting threads' scratch */
    struct counter c[2];
};

static void part_free(struct part *pt)
{
    void *arrays[] = {pt->s,         pt->nsl,         pt->shrinks,  pt->max_delay, pt->suggest,
                      pt->affected,  pt->span_ms,     pt->first,    pt->old_first, pt->gproj,
                      pt->groups,    pt->pre_group,   pt->slice_pop, pt->old_slice_pop,
                      pt->bounds,    pt->rate,        pt->rec_v,    pt->use,       pt->e,
                      pt->old_e,     pt->efirst,      pt->old_efirst};
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
        snn_free(arrays[i]);
    for (int t = 0; t < 2; t++) {
        snn_free(pt->c[t].e);
        snn_free(pt->c[t].cnt);
        snn_free(pt->c[t].rows);
        snn_free(pt->c[t].syn);
    }
}

static void *alloc_array(size_t count, size_t size)
{
    return snn_calloc(count ? count : 1, size);
}

/* Sorts the projections by (pre, post, index) (two stable counting
 * passes) and builds the groups and pre_group. */
static int build_groups(struct part *pt)
{
    const struct snn_net *net = pt->net;
    uint32_t J = net->n_projs, P = pt->n_pops;
    uint32_t *tmp = alloc_array(J, sizeof *tmp), *cnt = alloc_array((size_t)P + 1, sizeof *cnt);
    pt->gproj = alloc_array(J, sizeof *pt->gproj);
    pt->groups = alloc_array(J, sizeof *pt->groups);
    pt->pre_group = alloc_array((size_t)P + 1, sizeof *pt->pre_group);
    if (!tmp || !cnt || !pt->gproj || !pt->groups || !pt->pre_group) {
        snn_free(tmp);
        snn_free(cnt);
        return SNN_ENOMEM;
    }
    /* by post, then stably by pre */
    for (uint32_t j = 0; j < J; j++)
        cnt[net->projs[j].post + 1]++;
    for (uint32_t p = 0; p < P; p++)
        cnt[p + 1] += cnt[p];
    for (uint32_t j = 0; j < J; j++)
        tmp[cnt[net->projs[j].post]++] = j;
    memset(cnt, 0, ((size_t)P + 1) * sizeof *cnt);
    for (uint32_t j = 0; j < J; j++)
        cnt[net->projs[j].pre + 1]++;
    for (uint32_t p = 0; p < P; p++)
        cnt[p + 1] += cnt[p];
    for (uint32_t k = 0; k < J; k++)
        pt->gproj[cnt[net->projs[tmp[k]].pre]++] = tmp[k];
    snn_free(tmp);
    snn_free(cnt);

    uint32_t g = 0;
    for (uint32_t k = 0; k < J; k++) {
        const struct snn_proj *pj = &net->projs[pt->gproj[k]];
        if (g && pt->groups[g - 1].pre == pj->pre && pt->groups[g - 1].post == pj->post) {
            pt->groups[g - 1].n++;
            continue;
        }
        pt->groups[g++] = (struct group){pj->pre, pj->post, k, 1};
    }
    pt->n_groups = g;
    for (uint32_t k = 0; k < g; k++)
        pt->pre_group[pt->groups[k].pre + 1]++;
    for (uint32_t p = 0; p < P; p++)
        pt->pre_group[p + 1] += pt->pre_group[p];
    return 0;
}

/* ---- too big: the messages --------------------------------------------- */

enum resource { RES_DTCM, RES_SDRAM, RES_EVENTS };

/* Reports that one neuron of population p (the slice at lo, n = 1, with
 * rec_v recorded-v neurons and use u, dtcm_bytes filled in) does not fit. */
static void report_too_big(const struct part *pt, uint32_t p, uint32_t lo, uint32_t rec_v,
                           const struct snn_slice_use *u, enum resource r)
{
    const struct snn_net *net = pt->net;
    const struct snn_machine *m = pt->m;
    const struct snn_pop *pop = &net->pops[p];
    char need[32], have[32], part[32];
    if (r == RES_DTCM) {
        uint64_t ring = ring_bytes(u->ring_slots), keys = (uint64_t)KEY_ENTRY_BYTES * u->n_in_edges;
        fmt_bytes(need, sizeof need, u->dtcm_bytes);
        fmt_bytes(have, sizeof have, m->dtcm_bytes);
        /* The whole account, and the advice for its largest part that
         * the network controls. */
        char kernel[32], state[32], keytab[96] = "";
        fmt_bytes(kernel, sizeof kernel, SNN_MAP_DTCM_OVERHEAD);
        fmt_bytes(state, sizeof state, neuron_bytes(pop->model));
        fmt_bytes(part, sizeof part, ring);
        if (keys > 0) {
            char kb[32];
            snprintf(keytab, sizeof keytab, ", key table of %u incoming edges %s",
                     u->n_in_edges, fmt_bytes(kb, sizeof kb, keys));
        }
        const char *try = ring >= keys && ring > 0 ? "shorter delays or "
                          : keys > 0 ? "fewer projections onto it, larger presynaptic slices or "
                                     : "";
        snn_diag_error(pt->d, &pop->loc,
                       "population '%s': one neuron needs %s of DTCM (kernel data %s, neuron "
                       "state and parameters %s, ring buffers for delays up to %u step%s %s%s), "
                       "a core has %s; try %sa target with more DTCM",
                       pop->name, need, kernel, state, pt->max_delay[p],
                       pt->max_delay[p] == 1 ? "" : "s", part, keytab, have, try);
    } else if (r == RES_SDRAM) {
        struct sdram_base b = sdram_base(net, p, lo, 1, rec_v, pt->steps);
        uint64_t rows = u->sdram_bytes - b.record - b.times;
        fmt_bytes(need, sizeof need, u->sdram_bytes);
        fmt_bytes(have, sizeof have, pt->sdram_budget);
        char chip[32];
        fmt_bytes(chip, sizeof chip, m->sdram_bytes);
        const char *try;
        uint64_t amount;
        char detail[96];
        if (rows >= b.record && rows >= b.times) {
            amount = rows;
            snprintf(detail, sizeof detail, "synaptic rows and row index for %llu synapses",
                     (unsigned long long)u->n_synapses_in);
            try = "fewer synapses onto it, or a target with more SDRAM";
        } else if (b.record >= b.times) {
            amount = b.record;
            snprintf(detail, sizeof detail, "recording %llu steps", (unsigned long long)pt->steps);
            try = "recording less (fewer variables or a shorter run), or a target with more "
                  "SDRAM";
        } else {
            amount = b.times;
            snprintf(detail, sizeof detail, "%llu spike times",
                     (unsigned long long)(b.times / SPIKE_TIME_BYTES));
            try = "fewer spike times per neuron, or a target with more SDRAM";
        }
        snn_diag_error(pt->d, &pop->loc,
                       "population '%s': one neuron needs %s of SDRAM (%s: %s), a core's share "
                       "is %s (%s over %u application cores); try %s",
                       pop->name, need, detail, fmt_bytes(part, sizeof part, amount), have, chip,
                       m->cores - m->monitor_cores, try);
    } else {
        snn_diag_error(pt->d, &pop->loc,
                       "population '%s': one neuron receives %.6g synaptic events per step "
                       "(%llu synapses at the assumed rates), a core processes %u; try fewer "
                       "synapses onto it, lower presynaptic rates (rate_hz %g for neuron "
                       "populations), or a target with a larger max_synaptic_events",
                       pop->name, u->events_per_step, (unsigned long long)u->n_synapses_in,
                       m->max_synaptic_events, pt->map->opt.rate_hz);
    }
}

/* ---- slicing ------------------------------------------------------------ */

/* Lays out the slices of this round from s[]: first, nsl, slice_pop,
 * bounds, rate, rec_v; (re)allocates the per-slice arrays. */
static int lay_out(struct part *pt)
{
    const struct snn_net *net = pt->net;
    uint32_t P = pt->n_pops;
    uint64_t total = 0;
    for (uint32_t p = 0; p < P; p++) {
        uint32_t size = net->pops[p].size;
        pt->nsl[p] = size ? (uint32_t)(((uint64_t)size + pt->s[p] - 1) / pt->s[p]) : 0;
        pt->first[p] = (uint32_t)total;
        total += pt->nsl[p];
        if (total >= UINT32_MAX - P) {
            snn_diag_error(pt->d, &net->pops[p].loc,
                           "population '%s': the network needs more than 2^32 slices; try "
                           "fewer neurons",
                           net->pops[p].name);
            return SNN_ETOOBIG;
        }
    }
    pt->first[P] = (uint32_t)total;
    pt->n_slices = (uint32_t)total;

    snn_free(pt->bounds);
    snn_free(pt->rate);
    snn_free(pt->rec_v);
    snn_free(pt->use);
    pt->bounds = alloc_array(total + P, sizeof *pt->bounds);
    pt->rate = alloc_array(total, sizeof *pt->rate);
    pt->rec_v = alloc_array(total, sizeof *pt->rec_v);
    pt->use = alloc_array(total, sizeof *pt->use);
    uint32_t *sp = alloc_array(total, sizeof *sp);
    if (!pt->bounds || !pt->rate || !pt->rec_v || !pt->use || !sp) {
        snn_free(sp);
        return SNN_ENOMEM;
    }
    snn_free(pt->slice_pop);
    pt->slice_pop = sp;

    for (uint32_t p = 0; p < P; p++) {
        const struct snn_pop *pop = &net->pops[p];
        uint32_t *bd = pt->bounds + pt->first[p] + p;
        for (uint32_t k = 0; k < pt->nsl[p]; k++) {
            uint32_t sl = pt->first[p] + k, lo = k * pt->s[p];
            uint32_t n = pop->size - lo < pt->s[p] ? pop->size - lo : pt->s[p];
            bd[k] = lo;
            sp[sl] = p;
            pt->rate[sl] = slice_rate_hz(pt->map, p, lo, n, pt->span_ms[p]);
            if ((pop->record & SNN_REC_V) && !pop->record_v)
                pt->rec_v[sl] = n;
        }
        bd[pt->nsl[p]] = pop->size;
        if ((pop->record & SNN_REC_V) && pop->record_v)
            for (uint32_t i = 0; i < pop->n_record_v; i++)
                if (pop->record_v[i] < pop->size)
                    pt->rec_v[pt->first[p] + pop->record_v[i] / pt->s[p]]++;
    }
    return 0;
}

static int push_edge(struct counter *c, struct snn_edge e)
{
    if (c->n_e == c->cap_e) {
        uint64_t cap = c->cap_e ? c->cap_e * 2 : 1024;
        if (cap > SIZE_MAX / sizeof *c->e)
            return SNN_ENOMEM;
        struct snn_edge *ne = snn_realloc(c->e, (size_t)cap * sizeof *ne);
        if (!ne)
            return SNN_ENOMEM;
        c->e = ne;
        c->cap_e = cap;
    }
    c->e[c->n_e++] = e;
    return 0;
}

/* Counts the synapses of group g from pre slice `pre` (neurons [lo, lo +
 * n)) onto every slice of the post population and appends the edges. */
static int count_group(const struct part *pt, struct counter *ct, const struct group *g,
                       uint32_t pre, uint32_t lo, uint32_t n)
{
    uint32_t B = g->post, nb = pt->nsl[B];
    if (nb == 0)
        return 0;
    const uint32_t *bd = pt->bounds + pt->first[B] + B;
    size_t chunk = ct->cnt_cap / nb;
    if (chunk > n)
        chunk = n;
    SNN_ASSERT(chunk >= 1 && nb <= ct->acc_cap);
    uint32_t *rows = ct->rows;
    uint64_t *syn = ct->syn;
    memset(rows, 0, nb * sizeof *rows);
    memset(syn, 0, nb * sizeof *syn);
    for (uint32_t c0 = lo; c0 < lo + n; c0 += (uint32_t)chunk) {
        uint32_t c1 = lo + n - c0 < chunk ? lo + n : c0 + (uint32_t)chunk;
        size_t cells = (size_t)(c1 - c0) * nb;
        memset(ct->cnt, 0, cells * sizeof *ct->cnt);
        for (uint32_t k = 0; k < g->n; k++) {
            int rc = snn_expand_count(pt->net, pt->gproj[g->first + k], c0, c1, bd, nb, ct->cnt,
                                      ct->d);
            if (rc)
                return rc;
        }
        /* Sparse connectivity leaves most rows empty: an OR over the row
         * (which vectorises) skips them. */
        const uint32_t *c = ct->cnt;
        for (uint32_t r = c0; r < c1; r++, c += nb) {
            uint32_t any = 0;
            for (uint32_t k = 0; k < nb; k++)
                any |= c[k];
            if (!any)
                continue;
            for (uint32_t k = 0; k < nb; k++) {
                rows[k] += c[k] != 0;
                syn[k] += c[k];
            }
        }
    }
    for (uint32_t k = 0; k < nb; k++) {
        if (!syn[k])
            continue;
        if (syn[k] > UINT32_MAX) {
            const struct snn_pop *a = &pt->net->pops[g->pre], *b = &pt->net->pops[B];
            snn_diag_error(ct->d, &b->loc,
                           "population '%s': %llu synapses from one slice of '%s' onto one of "
                           "its slices; at most 2^32 - 1; try fewer synapses",
                           b->name, (unsigned long long)syn[k], a->name);
            return SNN_ETOOBIG;
        }
        int rc = push_edge(ct, (struct snn_edge){pre, pt->first[B] + k, rows[k],
                                                 (uint32_t)syn[k]});
        if (rc)
            return rc;
    }
    return 0;
}

/* Makes the edges of pre populations [a0, a1) into c: counting the
 * pairs touching a resliced population (every pair in the first round),
 * copying the others from the previous round.  efirst[] of those pre
 * slices gets offsets into c->e. */
static int count_pops(const struct part *pt, struct counter *c, uint32_t a0, uint32_t a1,
                      bool have_old)
{
    const struct snn_net *net = pt->net;
    c->n_e = 0;
    for (uint32_t A = a0; A < a1; A++) {
        bool copy_a = have_old && !pt->affected[A];
        for (uint32_t i = 0; i < pt->nsl[A]; i++) {
            uint32_t pre = pt->first[A] + i, lo = i * pt->s[A];
            uint32_t n = net->pops[A].size - lo < pt->s[A] ? net->pops[A].size - lo : pt->s[A];
            pt->efirst[pre] = c->n_e;
            uint64_t oj = 0, oend = 0;
            if (copy_a) {
                uint32_t opre = pt->old_first[A] + i;
                oj = pt->old_efirst[opre];
                oend = pt->old_efirst[opre + 1];
            }
            for (uint32_t g = pt->pre_group[A]; g < pt->pre_group[A + 1]; g++) {
                uint32_t B = pt->groups[g].post;
                if (copy_a && !pt->affected[B]) {
                    /* The old run is by post population too: skip the
                     * pairs before B (recounted), copy B's. */
                    while (oj < oend && pt->old_slice_pop[pt->old_e[oj].post] < B)
                        oj++;
                    for (; oj < oend && pt->old_slice_pop[pt->old_e[oj].post] == B; oj++) {
                        struct snn_edge e = pt->old_e[oj];
                        e.pre = pre;
                        e.post = pt->first[B] + (e.post - pt->old_first[B]);
                        int rc = push_edge(c, e);
                        if (rc)
                            return rc;
                    }
                } else {
                    int rc = count_group(pt, c, &pt->groups[g], pre, lo, n);
                    if (rc)
                        return rc;
                }
            }
        }
    }
    return 0;
}

static int counter_ready(struct counter *c, size_t need_cnt, size_t need_acc)
{
    if (need_cnt > c->cnt_cap) {
        snn_free(c->cnt);
        c->cnt_cap = 0;
        c->cnt = alloc_array(need_cnt, sizeof *c->cnt);
        if (!c->cnt)
            return SNN_ENOMEM;
        c->cnt_cap = need_cnt;
    }
    if (need_acc > c->acc_cap) {
        snn_free(c->rows);
        snn_free(c->syn);
        c->acc_cap = 0;
        c->rows = alloc_array(need_acc, sizeof *c->rows);
        c->syn = alloc_array(need_acc, sizeof *c->syn);
        if (!c->rows || !c->syn)
            return SNN_ENOMEM;
        c->acc_cap = need_acc;
    }
    return 0;
}

struct job {
    const struct part *pt;
    struct counter *c;
    uint32_t a0, a1;
    bool have_old;
    int rc;
};

static void *count_thread(void *arg)
{
    struct job *j = arg;
    j->rc = count_pops(j->pt, j->c, j->a0, j->a1, j->have_old);
    return NULL;
}

/* Counts in two threads, pre populations [0, mid) and [mid, n_pops), and
 * appends the second half's edges to the first's: the same edges in the
 * same order as one thread makes.  Reports nothing (the threads have no
 * sink): 0, SNN_ENOMEM, or 1 when the caller should count alone (no
 * thread, or an error to be reported by the serial count). */
static int count_parallel(struct part *pt, uint32_t mid, bool have_old)
{
    struct counter *c0 = &pt->c[0], *c1 = &pt->c[1];
    c0->d = c1->d = NULL;
    struct job j = {pt, c1, mid, pt->n_pops, have_old, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, count_thread, &j))
        return 1;
    int rc0 = count_pops(pt, c0, 0, mid, have_old);
    pthread_join(th, NULL);
    if (rc0 == SNN_ENOMEM || j.rc == SNN_ENOMEM)
        return SNN_ENOMEM;
    if (rc0 || j.rc)
        return 1;
    uint64_t n = c0->n_e + c1->n_e;
    if (n > c0->cap_e) {
        struct snn_edge *ne = snn_realloc(c0->e, (size_t)n * sizeof *ne);
        if (!ne)
            return SNN_ENOMEM;
        c0->e = ne;
        c0->cap_e = n;
    }
    if (c1->n_e)
        memcpy(c0->e + c0->n_e, c1->e, (size_t)c1->n_e * sizeof *c1->e);
    for (uint32_t sl = pt->first[mid]; sl < pt->n_slices; sl++)
        pt->efirst[sl] += c0->n_e;
    c0->n_e = n;
    /* its copy is made: free it now, it is the largest thing held */
    snn_free(c1->e);
    c1->e = NULL;
    c1->n_e = c1->cap_e = 0;
    return 0;
}

/* Makes this round's edges into pt->e, efirst. */
static int build_edges(struct part *pt, bool have_old)
{
    uint32_t P = pt->n_pops;

    /* scratch for counting, sized for this round, and the work of each
     * pre population (matrix cells and counting calls) to split it */
    size_t need_acc = 1, need_cnt = 1;
    uint64_t work = 0;
    for (uint32_t g = 0; g < pt->n_groups; g++) {
        const struct group *gr = &pt->groups[g];
        size_t nb = pt->nsl[gr->post];
        size_t cells = nb * pt->s[gr->pre];
        if (cells > COUNT_CAP)
            cells = COUNT_CAP;
        if (cells < nb)
            cells = nb;
        if (cells > need_cnt)
            need_cnt = cells;
        if (nb > need_acc)
            need_acc = nb;
        work += (uint64_t)pt->net->pops[gr->pre].size * (nb + gr->n);
    }
    int rc = counter_ready(&pt->c[0], need_cnt, need_acc);
    if (rc)
        return rc;
    snn_free(pt->efirst);
    pt->efirst = alloc_array((size_t)pt->n_slices + 1, sizeof *pt->efirst);
    if (!pt->efirst)
        return SNN_ENOMEM;

    rc = 1;
    if (work >= PARALLEL_WORK && P >= 2) {
        /* the first population at which half the work is done */
        uint64_t done = 0;
        uint32_t mid = 0;
        for (uint32_t g = 0; g < pt->n_groups && done < work / 2; g++) {
            const struct group *gr = &pt->groups[g];
            done += (uint64_t)pt->net->pops[gr->pre].size * (pt->nsl[gr->post] + gr->n);
            mid = gr->pre + 1;
        }
        if (mid > 0 && mid < P) {
            rc = counter_ready(&pt->c[1], need_cnt, need_acc);
            if (!rc)
                rc = count_parallel(pt, mid, have_old);
            if (rc < 0)
                return rc;
        }
    }
    if (rc) {
        pt->c[0].d = pt->d;
        if ((rc = count_pops(pt, &pt->c[0], 0, P, have_old)) != 0)
            return rc;
    }
    /* the edges move to the round */
    pt->e = pt->c[0].e;
    pt->n_e = pt->c[0].n_e;
    pt->cap_e = pt->c[0].cap_e;
    pt->c[0].e = NULL;
    pt->c[0].n_e = pt->c[0].cap_e = 0;
    pt->efirst[pt->n_slices] = pt->n_e;
    return 0;
}

/* Fills use[] from the slices and edges of this round. */
static void compute_use(struct part *pt)
{
    const struct snn_net *net = pt->net;
    for (uint32_t p = 0; p < pt->n_pops; p++) {
        uint32_t ring = pop_ring(net, p, pt->max_delay);
        for (uint32_t k = 0; k < pt->nsl[p]; k++) {
            uint32_t sl = pt->first[p] + k, lo = k * pt->s[p];
            uint32_t n = net->pops[p].size - lo < pt->s[p] ? net->pops[p].size - lo : pt->s[p];
            struct sdram_base b = sdram_base(net, p, lo, n, pt->rec_v[sl], pt->steps);
            struct snn_slice_use *u = &pt->use[sl];
            *u = (struct snn_slice_use){0};
            u->ring_slots = ring;
            /* dtcm_bytes: slice_dtcm(), once the key table is known */
            u->sdram_bytes = add_sat(b.record, b.times);
            u->packets_per_step = (double)n * pt->rate[sl] * net->dt_ms / 1000.0;
        }
    }
    for (uint64_t j = 0; j < pt->n_e; j++) {
        const struct snn_edge *e = &pt->e[j];
        uint32_t ppop = pt->slice_pop[e->pre];
        uint32_t pre_lo = (e->pre - pt->first[ppop]) * pt->s[ppop];
        uint32_t pre_n = net->pops[ppop].size - pre_lo < pt->s[ppop]
                             ? net->pops[ppop].size - pre_lo
                             : pt->s[ppop];
        struct snn_slice_use *u = &pt->use[e->post];
        u->n_in_edges++;
        u->sdram_bytes = add_sat(u->sdram_bytes, edge_sdram(pre_n, e));
        u->n_synapses_in += e->n_synapses;
        u->events_per_step += events_of(net, e->n_synapses, pt->rate[e->pre]);
    }
}

/* The DTCM of a slice, from its use so far. */
static uint64_t slice_dtcm(const struct part *pt, uint32_t sl, uint32_t n)
{
    return dtcm_base(pt->net, pt->slice_pop[sl], n, pt->use[sl].ring_slots) +
           (uint64_t)KEY_ENTRY_BYTES * pt->use[sl].n_in_edges;
}

/* The largest n that a need of `need` over `budget` at n neurons
 * suggests, of which `fixed` does not scale with n. */
static uint32_t scaled(uint32_t n, uint64_t need, uint64_t budget, uint64_t fixed)
{
    if (budget <= fixed || need <= fixed)
        return 1;
    double x = floor((double)n * (double)(budget - fixed) / (double)(need - fixed));
    return x < 1 ? 1 : x >= n ? n - 1 : (uint32_t)x;
}

/* The s suggested by a slice of n neurons whose DTCM need (keys of it
 * the key table) is over budget.  The neurons' part scales with s, but
 * the key table grows as the pre populations shrink too (a pre slice cut
 * in k has k entries): with every population scaled by f, the need is
 * about O + f A + K / f (A the neurons' bytes, K the key table's), within
 * budget for f up to the larger root of A f^2 - (B - O) f + K = 0.  Where
 * there is none (the key table alone is too big at any uniform scale),
 * the linear rule of scaled() applies. */
static uint32_t dtcm_scaled(uint32_t n, uint64_t need, uint64_t keys, uint64_t budget)
{
    uint64_t fixed = SNN_MAP_DTCM_OVERHEAD;
    if (budget <= fixed || need <= fixed + keys || keys == 0)
        return scaled(n, need, budget, fixed);
    double room = (double)(budget - fixed), A = (double)(need - fixed - keys), K = (double)keys;
    double disc = room * room - 4.0 * A * K;
    if (disc < 0)
        return scaled(n, need, budget, fixed);
    double x = floor((double)n * (room + sqrt(disc)) / (2.0 * A));
    return x < 1 ? 1 : x >= n ? n - 1 : (uint32_t)x;
}

/* Checks every slice's budgets; sets suggest[] for the populations that
 * must shrink.  0 and *fits, or SNN_ETOOBIG for a one-neuron slice that
 * breaks a budget (reported). */
static int check_budgets(struct part *pt, bool *fits)
{
    const struct snn_net *net = pt->net;
    const struct snn_machine *m = pt->m;
    *fits = true;
    for (uint32_t p = 0; p < pt->n_pops; p++) {
        pt->suggest[p] = UINT32_MAX;
        for (uint32_t k = 0; k < pt->nsl[p]; k++) {
            uint32_t sl = pt->first[p] + k, lo = k * pt->s[p];
            uint32_t n = net->pops[p].size - lo < pt->s[p] ? net->pops[p].size - lo : pt->s[p];
            const struct snn_slice_use *u = &pt->use[sl];
            uint64_t dtcm = slice_dtcm(pt, sl, n);
            uint32_t want = UINT32_MAX;
            enum resource r = RES_DTCM;
            if (events_over(u->events_per_step, m->max_synaptic_events)) {
                r = RES_EVENTS;
                double x = floor((double)n * m->max_synaptic_events / u->events_per_step + 1e-9);
                want = x < 1 ? 1 : x >= n ? n - 1 : (uint32_t)x;
            }
            if (u->sdram_bytes > pt->sdram_budget) {
                uint32_t w = scaled(n, u->sdram_bytes, pt->sdram_budget, 0);
                r = RES_SDRAM;
                want = w < want ? w : want;
            }
            if (dtcm > m->dtcm_bytes) {
                uint32_t w = dtcm_scaled(n, dtcm, (uint64_t)KEY_ENTRY_BYTES * u->n_in_edges,
                                         m->dtcm_bytes);
                r = RES_DTCM;
                want = w < want ? w : want;
            }
            if (want == UINT32_MAX)
                continue;
            *fits = false;
            if (n == 1) {
                struct snn_slice_use one = *u;
                one.dtcm_bytes = dtcm > UINT32_MAX ? UINT32_MAX : (uint32_t)dtcm;
                report_too_big(pt, p, lo, pt->rec_v[sl], &one, r);
                return SNN_ETOOBIG;
            }
            if (want < pt->suggest[p])
                pt->suggest[p] = want;
        }
    }
    return 0;
}

/* ---- the pass ---------------------------------------------------------- */

/* Per-population setup: delays, spans, the first s. */
static int setup(struct part *pt)
{
    const struct snn_net *net = pt->net;
    const struct snn_machine *m = pt->m;
    uint32_t P = pt->n_pops;
    pt->s = alloc_array(P, sizeof *pt->s);
    pt->nsl = alloc_array(P, sizeof *pt->nsl);
    pt->shrinks = alloc_array(P, sizeof *pt->shrinks);
    pt->max_delay = alloc_array(P, sizeof *pt->max_delay);
    pt->suggest = alloc_array(P, sizeof *pt->suggest);
    pt->affected = alloc_array(P, sizeof *pt->affected);
    pt->span_ms = alloc_array(P, sizeof *pt->span_ms);
    pt->first = alloc_array((size_t)P + 1, sizeof *pt->first);
    pt->old_first = alloc_array((size_t)P + 1, sizeof *pt->old_first);
    if (!pt->s || !pt->nsl || !pt->shrinks || !pt->max_delay || !pt->suggest || !pt->affected ||
        !pt->span_ms || !pt->first || !pt->old_first)
        return SNN_ENOMEM;
    max_delays(net, pt->max_delay);
    pt->steps = snn__map_record_steps(net);
    pt->sdram_budget = snn__map_sdram_budget(m);

    uint32_t cap = slice_cap(pt->map);
    for (uint32_t p = 0; p < P; p++) {
        const struct snn_pop *pop = &net->pops[p];
        pt->span_ms[p] = array_span_ms(pop);
        uint32_t ring = pop_ring(net, p, pt->max_delay);
        uint64_t one = dtcm_base(net, p, 1, ring);
        if (one > m->dtcm_bytes) {
            /* Before any counting: even without a key table it does not fit. */
            struct snn_slice_use u = {.ring_slots = ring};
            u.dtcm_bytes = one > UINT32_MAX ? UINT32_MAX : (uint32_t)one;
            report_too_big(pt, p, 0, 0, &u, RES_DTCM);
            return SNN_ETOOBIG;
        }
        uint64_t fit = (m->dtcm_bytes - SNN_MAP_DTCM_OVERHEAD) / (one - SNN_MAP_DTCM_OVERHEAD);
        uint32_t s = cap < pop->size ? cap : pop->size;
        if (fit < s)
            s = (uint32_t)fit;
        pt->s[p] = s ? s : 1;
    }
    return build_groups(pt);
}

/* The previous round's slices and edges become old_*; this round's are
 * made afresh. */
static void age(struct part *pt)
{
    snn_free(pt->old_e);
    snn_free(pt->old_efirst);
    snn_free(pt->old_slice_pop);
    pt->old_e = pt->e;
    pt->old_n_e = pt->n_e;
    pt->old_efirst = pt->efirst;
    pt->old_slice_pop = pt->slice_pop;
    pt->old_n_slices = pt->n_slices;
    memcpy(pt->old_first, pt->first, ((size_t)pt->n_pops + 1) * sizeof *pt->first);
    pt->e = NULL;
    pt->n_e = pt->cap_e = 0;
    pt->efirst = NULL;
    pt->slice_pop = NULL;
}

/* Copies the result into the map's arena; the map is written only when
 * everything has been allocated. */
static int publish(struct part *pt)
{
    struct snn_map *map = pt->map;
    const struct snn_net *net = pt->net;
    struct snn_slice *sl = snn_arena_array(map->arena, pt->n_slices ? pt->n_slices : 1,
                                           sizeof *sl);
    uint32_t *ps = snn_arena_array(map->arena, (size_t)pt->n_pops + 1, sizeof *ps);
    struct snn_edge *e = snn_arena_array(map->arena, pt->n_e ? pt->n_e : 1, sizeof *e);
    uint64_t *ef = snn_arena_array(map->arena, (size_t)pt->n_slices + 1, sizeof *ef);
    if (!sl || !ps || !e || !ef)
        return SNN_ENOMEM;
    for (uint32_t p = 0; p < pt->n_pops; p++) {
        ps[p] = pt->first[p];
        for (uint32_t k = 0; k < pt->nsl[p]; k++) {
            uint32_t i = pt->first[p] + k, lo = k * pt->s[p];
            uint32_t n = net->pops[p].size - lo < pt->s[p] ? net->pops[p].size - lo : pt->s[p];
            struct snn_slice_use u = pt->use[i];
            u.dtcm_bytes = (uint32_t)slice_dtcm(pt, i, n); /* within budget: fits */
            sl[i] = (struct snn_slice){.pop = p, .lo = lo, .n = n, .use = u};
        }
    }
    ps[pt->n_pops] = pt->n_slices;
    if (pt->n_e)
        memcpy(e, pt->e, pt->n_e * sizeof *e);
    memcpy(ef, pt->efirst, ((size_t)pt->n_slices + 1) * sizeof *ef);
    map->slices = sl;
    map->n_slices = pt->n_slices;
    map->pop_slice = ps;
    map->edges = e;
    map->n_edges = pt->n_e;
    map->edge_first = ef;
    return 0;
}

static int partition(struct part *pt)
{
    int rc = setup(pt);
    if (rc)
        return rc;
    for (unsigned round = 0;; round++) {
        if (round == SNN_MAP_PARTITION_ROUNDS) {
            snn_diag_error(pt->d, NULL,
                           "the partition did not settle after %u rounds of reslicing; try a "
                           "smaller neurons_per_core",
                           SNN_MAP_PARTITION_ROUNDS);
            return SNN_ETOOBIG;
        }
        if (round)
            age(pt);
        if ((rc = lay_out(pt)) != 0 || (rc = build_edges(pt, round > 0)) != 0)
            return rc;
        compute_use(pt);
        bool fits;
        if ((rc = check_budgets(pt, &fits)) != 0)
            return rc;
        if (fits)
            return publish(pt);
        for (uint32_t p = 0; p < pt->n_pops; p++) {
            pt->affected[p] = pt->suggest[p] != UINT32_MAX;
            if (!pt->affected[p])
                continue;
            uint32_t s = pt->suggest[p] < pt->s[p] ? pt->suggest[p] : pt->s[p] - 1;
            if (pt->shrinks[p] >= 2 && s > pt->s[p] / 2)
                s = pt->s[p] / 2;
            pt->s[p] = s ? s : 1;
            pt->shrinks[p]++;
        }
    }
}

int snn_map_partition(struct snn_map *map, struct snn_diag *d)
{
    struct part pt = {.map = map, .net = map->net, .m = map->m, .d = d,
                      .n_pops = map->net->n_pops};
    int rc = partition(&pt);
    part_free(&pt);
    return rc;
}

/* ---- dump ---------------------------------------------------------------- */

void snn__map_dump_partition(const struct snn_map *map, FILE *out)
{
    const struct snn_net *net = map->net;
    fprintf(out, "slices %u edges %llu\n", map->n_slices, (unsigned long long)map->n_edges);
    for (uint32_t p = 0; p < net->n_pops && map->pop_slice; p++)
        fprintf(out, "pop %u '%s' size %u slices %u %u\n", p, net->pops[p].name,
                net->pops[p].size, map->pop_slice[p], map->pop_slice[p + 1]);
    for (uint32_t i = 0; i < map->n_slices; i++) {
        const struct snn_slice *s = &map->slices[i];
        const struct snn_slice_use *u = &s->use;
        fprintf(out,
                "slice %u pop %u lo %u n %u dtcm %u ring %u in_edges %u sdram %llu "
                "synapses %llu events %.6g packets %.6g\n",
                i, s->pop, s->lo, s->n, u->dtcm_bytes, u->ring_slots, u->n_in_edges,
                (unsigned long long)u->sdram_bytes, (unsigned long long)u->n_synapses_in,
                u->events_per_step, u->packets_per_step);
    }
    for (uint64_t j = 0; j < map->n_edges; j++) {
        const struct snn_edge *e = &map->edges[j];
        fprintf(out, "edge %u %u rows %u synapses %u\n", e->pre, e->post, e->n_rows,
                e->n_synapses);
    }
}

/* ---- verifier ------------------------------------------------------------ */

struct vctx {
    struct snn_diag *d;
    unsigned n;
};

#define VIOLATION(v, ...)                                                                     \
    do {                                                                                      \
        if ((v)->n++ < VERIFY_REPORT_MAX)                                                     \
            snn_diag_error((v)->d, NULL, __VA_ARGS__);                                        \
    } while (0)

/* Whether a projection joins populations a and b; pairs is the sorted
 * list of (pre, post) pairs as pre * n_pops + post. */
static bool has_pair(const uint64_t *pairs, uint32_t n, uint64_t key)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (pairs[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && pairs[lo] == key;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Slice layout and edge structure; returns false when the layout is too
 * broken to check the resources. */
static bool verify_layout(const struct snn_map *map, struct vctx *v)
{
    const struct snn_net *net = map->net;
    uint32_t P = net->n_pops;
    if (!map->pop_slice || !map->edge_first || (map->n_slices && !map->slices) ||
        (map->n_edges && !map->edges)) {
        VIOLATION(v, "partition: missing slice or edge arrays");
        return false;
    }
    if (map->pop_slice[0] != 0 || map->pop_slice[P] != map->n_slices) {
        VIOLATION(v, "partition: pop_slice runs from %u to %u, not 0 to %u slices",
                  map->pop_slice[0], map->pop_slice[P], map->n_slices);
        return false;
    }
    for (uint32_t p = 0; p < P; p++)
        if (map->pop_slice[p + 1] < map->pop_slice[p]) {
            VIOLATION(v, "partition: pop_slice decreases at population %u", p);
            return false;
        }
    bool ok = true;
    uint32_t cap = slice_cap(map);
    for (uint32_t p = 0; p < P; p++) {
        const struct snn_pop *pop = &net->pops[p];
        uint32_t a = map->pop_slice[p], b = map->pop_slice[p + 1];
        uint64_t next = 0;
        for (uint32_t i = a; i < b; i++) {
            const struct snn_slice *s = &map->slices[i];
            if (s->pop != p || s->lo != next || s->n == 0 || s->n > cap ||
                (uint64_t)s->lo + s->n > pop->size ||
                (i + 1 < b && s->n != map->slices[a].n) || s->n > map->slices[a].n) {
                VIOLATION(v,
                          "partition: slice %u (pop %u, lo %u, n %u) does not continue "
                          "population '%s' (%u neurons) at %llu in slices of %u, at most %u",
                          i, s->pop, s->lo, s->n, pop->name, pop->size,
                          (unsigned long long)next, map->slices[a].n, cap);
                ok = false;
                break;
            }
            next = (uint64_t)s->lo + s->n;
        }
        if (ok && next != pop->size) {
            VIOLATION(v, "partition: the slices of population '%s' cover %llu of %u neurons",
                      pop->name, (unsigned long long)next, pop->size);
            ok = false;
        }
    }
    if (map->edge_first[0] != 0 || map->edge_first[map->n_slices] != map->n_edges) {
        VIOLATION(v, "partition: edge_first runs from %llu to %llu, not 0 to %llu edges",
                  (unsigned long long)map->edge_first[0],
                  (unsigned long long)map->edge_first[map->n_slices],
                  (unsigned long long)map->n_edges);
        return false;
    }
    for (uint32_t s = 0; s < map->n_slices; s++)
        if (map->edge_first[s + 1] < map->edge_first[s]) {
            VIOLATION(v, "partition: edge_first decreases at slice %u", s);
            return false;
        }
    return ok;
}

static int verify_edges(const struct snn_map *map, struct vctx *v)
{
    const struct snn_net *net = map->net;
    uint32_t P = net->n_pops;
    uint64_t *pairs = alloc_array(net->n_projs, sizeof *pairs);
    if (!pairs)
        return SNN_ENOMEM;
    for (uint32_t j = 0; j < net->n_projs; j++)
        pairs[j] = (uint64_t)net->projs[j].pre * P + net->projs[j].post;
    qsort(pairs, net->n_projs, sizeof *pairs, cmp_u64);
    for (uint32_t s = 0; s < map->n_slices; s++) {
        for (uint64_t j = map->edge_first[s]; j < map->edge_first[s + 1]; j++) {
            const struct snn_edge *e = &map->edges[j];
            if (e->pre != s || e->post >= map->n_slices ||
                (j > map->edge_first[s] && e->post <= map->edges[j - 1].post)) {
                VIOLATION(v, "partition: edge %llu (%u -> %u) is out of order or place",
                          (unsigned long long)j, e->pre, e->post);
                continue;
            }
            const struct snn_slice *a = &map->slices[e->pre], *b = &map->slices[e->post];
            uint32_t most = a->n < e->n_synapses ? a->n : e->n_synapses;
            if (e->n_synapses == 0 || e->n_rows == 0 || e->n_rows > most)
                VIOLATION(v, "partition: edge %llu (%u -> %u) has %u rows of %u synapses "
                          "from %u neurons",
                          (unsigned long long)j, e->pre, e->post, e->n_rows, e->n_synapses,
                          a->n);
            if (!has_pair(pairs, net->n_projs, (uint64_t)a->pop * P + b->pop))
                VIOLATION(v, "partition: edge %llu joins '%s' to '%s', which no projection does",
                          (unsigned long long)j, net->pops[a->pop].name, net->pops[b->pop].name);
        }
    }
    snn_free(pairs);
    return 0;
}

/* Recomputes every slice's use from the model and its edges. */
static int verify_use(const struct snn_map *map, struct vctx *v)
{
    const struct snn_net *net = map->net;
    const struct snn_machine *m = map->m;
    uint32_t P = net->n_pops, S = map->n_slices;
    uint32_t *md = alloc_array(P, sizeof *md), *rec_v = alloc_array(S, sizeof *rec_v);
    double *rate = alloc_array(S, sizeof *rate);
    struct snn_slice_use *u = alloc_array(S, sizeof *u);
    if (!md || !rec_v || !rate || !u) {
        snn_free(md);
        snn_free(rec_v);
        snn_free(rate);
        snn_free(u);
        return SNN_ENOMEM;
    }
    max_delays(net, md);
    uint64_t steps = snn__map_record_steps(net), budget = snn__map_sdram_budget(m);
    for (uint32_t p = 0; p < P; p++) {
        const struct snn_pop *pop = &net->pops[p];
        uint32_t a = map->pop_slice[p], b = map->pop_slice[p + 1];
        double span = array_span_ms(pop);
        for (uint32_t i = a; i < b; i++) {
            const struct snn_slice *s = &map->slices[i];
            rate[i] = slice_rate_hz(map, p, s->lo, s->n, span);
            if ((pop->record & SNN_REC_V) && !pop->record_v)
                rec_v[i] = s->n;
        }
        if ((pop->record & SNN_REC_V) && pop->record_v)
            for (uint32_t k = 0; k < pop->n_record_v; k++) {
                uint32_t x = pop->record_v[k], lo = a, hi = b;
                while (hi - lo > 1) { /* the last slice with lo <= x */
                    uint32_t mid = lo + (hi - lo) / 2;
                    if (map->slices[mid].lo <= x)
                        lo = mid;
                    else
                        hi = mid;
                }
                if (lo < b && x < pop->size)
                    rec_v[lo]++;
            }
        uint32_t ring = pop_ring(net, p, md);
        for (uint32_t i = a; i < b; i++) {
            const struct snn_slice *s = &map->slices[i];
            struct sdram_base sb = sdram_base(net, p, s->lo, s->n, rec_v[i], steps);
            u[i] = (struct snn_slice_use){.ring_slots = ring,
                                          .sdram_bytes = add_sat(sb.record, sb.times),
                                          .packets_per_step =
                                              (double)s->n * rate[i] * net->dt_ms / 1000.0};
        }
    }
    for (uint64_t j = 0; j < map->n_edges; j++) {
        const struct snn_edge *e = &map->edges[j];
        if (e->pre >= S || e->post >= S)
            continue; /* reported by verify_edges */
        struct snn_slice_use *x = &u[e->post];
        x->n_in_edges++;
        x->sdram_bytes = add_sat(x->sdram_bytes, edge_sdram(map->slices[e->pre].n, e));
        x->n_synapses_in += e->n_synapses;
        x->events_per_step += events_of(net, e->n_synapses, rate[e->pre]);
    }
    for (uint32_t i = 0; i < S; i++) {
        const struct snn_slice *s = &map->slices[i];
        struct snn_slice_use *x = &u[i];
        uint64_t dtcm = dtcm_base(net, s->pop, s->n, x->ring_slots) +
                        (uint64_t)KEY_ENTRY_BYTES * x->n_in_edges;
        const struct snn_slice_use *y = &s->use;
        double tol_e = 1e-9 * fmax(1.0, x->events_per_step);
        double tol_p = 1e-9 * fmax(1.0, x->packets_per_step);
        if (y->dtcm_bytes != dtcm || y->ring_slots != x->ring_slots ||
            y->n_in_edges != x->n_in_edges || y->sdram_bytes != x->sdram_bytes ||
            y->n_synapses_in != x->n_synapses_in ||
            !(fabs(y->events_per_step - x->events_per_step) <= tol_e) ||
            !(fabs(y->packets_per_step - x->packets_per_step) <= tol_p))
            VIOLATION(v,
                      "partition: slice %u of '%s' says dtcm %u ring %u in_edges %u sdram %llu "
                      "synapses %llu events %.6g packets %.6g; its edges make dtcm %llu "
                      "ring %u in_edges %u sdram %llu synapses %llu events %.6g packets %.6g",
                      i, net->pops[s->pop].name, y->dtcm_bytes, y->ring_slots, y->n_in_edges,
                      (unsigned long long)y->sdram_bytes, (unsigned long long)y->n_synapses_in,
                      y->events_per_step, y->packets_per_step, (unsigned long long)dtcm,
                      x->ring_slots, x->n_in_edges, (unsigned long long)x->sdram_bytes,
                      (unsigned long long)x->n_synapses_in, x->events_per_step,
                      x->packets_per_step);
        if (dtcm > m->dtcm_bytes || x->sdram_bytes > budget ||
            events_over(x->events_per_step, m->max_synaptic_events))
            VIOLATION(v,
                      "partition: slice %u of '%s' needs dtcm %llu (of %u), sdram %llu (of "
                      "%llu), events %.6g (of %u)",
                      i, net->pops[s->pop].name, (unsigned long long)dtcm, m->dtcm_bytes,
                      (unsigned long long)x->sdram_bytes, (unsigned long long)budget,
                      x->events_per_step, m->max_synaptic_events);
    }
    snn_free(md);
    snn_free(rec_v);
    snn_free(rate);
    snn_free(u);
    return 0;
}

int snn__map_verify_partition(const struct snn_map *map, struct snn_diag *d)
{
    struct vctx v = {d, 0};
    if (verify_layout(map, &v)) {
        int rc = verify_edges(map, &v);
        if (!rc && !v.n)
            rc = verify_use(map, &v);
        if (rc)
            return rc;
    }
    if (v.n > VERIFY_REPORT_MAX)
        snn_diag_error(d, NULL, "partition: %u more violations", v.n - VERIFY_REPORT_MAX);
    return v.n ? SNN_EINVAL : 0;
}

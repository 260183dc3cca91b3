/*
 * runtime/emu.c: the board emulator (runtime/emu.h).
 *
 * Built from an image that snn_image_open accepted: the sections are
 * read through abi/image.h's structures (copied out with memcpy, so the
 * image needs no alignment), the machine is rebuilt as a target
 * description (target/target.h gives the links' neighbours), and each
 * chip the image uses gets a monitor (firmware/monitor.c, the code a
 * board's monitor core runs) over the memories the emulator gives it.  The
 * image is loaded as a host loads a board: commands of abi/monitor.h
 * write every core's DTCM image, its SDRAM block and the routing table,
 * commit the table, LOAD each core (the kernel checks its image; its ring
 * buffers go in its DTCM after the image) and START it.
 *
 * A step, on each thread, for each of its cores: the packets routed to
 * the core during the previous step are given to its kernel, the kernel
 * ticks, and each spike it sends is routed at once through the routers,
 * from chip to chip, into the inboxes of the cores it reaches.  Inboxes
 * and the kernels' spike lists are double-buffered by step parity, so a
 * thread writes only this step's buffers while the owners of last step's
 * read them; one barrier ends a step.  Thread 0 reports the previous
 * step's spikes while the others work on the current one.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "abi/core_image.h"
#include "abi/image.h"
#include "firmware/core.h"
#include "firmware/monitor.h"
#include "runtime/emu.h"
#include "support/arena.h"
#include "support/barrier.h"
#include "support/err.h"
#include "target/target.h"

#define MAX_THREADS 2u

struct keys {
    uint32_t *k;
    uint32_t n, cap;
};

struct route_entry {
    uint32_t key, mask;
    uint64_t route;
};

/* A chip: its monitor (firmware/monitor.h) over the memories the
 * emulator gives it, and the router's committed table as the routing
 * below reads it. */
struct chip {
    struct route_entry *e;
    uint32_t n;
    int32_t core_slice[SNN_MACHINE_MAX_CORES]; /* the slice a core runs, or -1 */
    struct snn_monitor *mon;                   /* NULL for a chip the image does not use */
    uint32_t *sdram;                           /* the extent of SDRAM the image uses */
    uint32_t *dtcm[SNN_MACHINE_MAX_CORES];     /* the cores that run slices */
    struct snn_image_route *staging, *table;
    bool routes_loaded;
};

struct hop {
    uint32_t chip;
    int32_t in_link;
};

/* What one thread counts; summed when asked. */
struct tcount {
    struct snn_emu_counters c;
    uint64_t *link;  /* chips x 6 */
    struct snn_emu_router *router; /* by chip */
    struct hop *stack;
    uint32_t stack_cap;
};

struct slice_info {
    uint32_t pop, lo, n, key, chip;
};

/* A slice's input spikes, (step << 32 | neuron) ascending from cur on. */
struct inputs {
    uint64_t *v;
    uint32_t n, cap, cur;
    bool sorted;
};

struct snn_emu {
    struct snn_machine *m;
    struct chip *chips;      /* width x height */
    uint32_t n_chips, n_slices, n_pops, n_steps;
    struct slice_info *slices;
    uint32_t *pop_first;     /* n_pops + 1: population p's slices */
    uint32_t *pop_size;      /* n_pops */
    char *names;             /* the run section's names, NUL-terminated */
    uint32_t *name_off;      /* n_pops */
    uint32_t dt_ns;
    struct snn_core **cores; /* by slice: the kernels, inside their chips' monitors */
    uint32_t msg[SNN_MON_MAX_WORDS], resp[SNN_MON_MAX_WORDS]; /* a command and its answer */
    struct keys *inbox;      /* [parity][thread][slice], rows of inbox_row */
    size_t inbox_row;
    uint32_t *fired;         /* [parity][slice][256] */
    uint32_t *n_fired;       /* [parity][slice], a cache line each (N_FIRED_STRIDE) */
    uint32_t *report;        /* a population's spikes, for the callback */
    struct inputs *in;       /* by slice */
    unsigned threads;
    struct tcount tc[MAX_THREADS];
    uint32_t t;              /* steps run so far */
    uint32_t hop_limit;
    /* a run in progress */
    struct snn_barrier barrier;
    uint32_t run_end;
    int (*on_spikes)(void *, uint32_t, uint32_t, const uint32_t *, uint32_t);
    void *ctx;
    _Atomic int stop;
    int stop_rc;
    uint32_t stopped_at;     /* the step a stopped run finished */
};

/* A thread's inboxes, the ones it writes, are a row of their own, and the
 * rows are a cache line apart (INBOX_GAP): a thread's pushes do not take
 * lines from the other's.  Each thread empties its own row of this step's
 * parity before it routes; the owners of the slices only read. */
#define INBOX_GAP (64 / sizeof(struct keys) + 1)

static struct keys *inbox(struct snn_emu *e, uint32_t parity, unsigned thread, uint32_t s)
{
    return &e->inbox[((size_t)parity * e->threads + thread) * e->inbox_row + s];
}

/* n_fired words per slice: each written by the thread owning the slice,
 * on a cache line of its own. */
#define N_FIRED_STRIDE 16u

static uint32_t *n_fired(struct snn_emu *e, uint32_t parity, uint32_t s)
{
    return &e->n_fired[((size_t)parity * e->n_slices + s) * N_FIRED_STRIDE];
}

static int keys_push(struct keys *b, uint32_t k)
{
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? 2 * b->cap : 16;
        uint32_t *p = snn_realloc(b->k, (size_t)cap * sizeof *p);
        if (!p)
            return SNN_ENOMEM;
        b->k = p;
        b->cap = cap;
    }
    b->k[b->n++] = k;
    return 0;
}

/* ---- building -------------------------------------------------------------- */

static int bad(struct snn_diag *d, const char *what)
{
    snn_diag_error(d, NULL, "the emulator cannot run this image: %s", what);
    return SNN_EPARSE;
}

static const uint8_t *section(const uint8_t *img, uint32_t k, struct snn_image_section *s)
{
    memcpy(s, img + sizeof(struct snn_image_header) + (size_t)k * sizeof *s, sizeof *s);
    return img + ((uint64_t)s->off_lo | (uint64_t)s->off_hi << 32);
}

static int build_machine(struct snn_emu *e, const uint8_t *p, uint32_t bytes,
                         const struct snn_machine *expect, struct snn_diag *d)
{
    struct snn_image_machine im;
    if (bytes < sizeof im)
        return bad(d, "its machine section is short");
    memcpy(&im, p, sizeof im);
    struct snn_machine *m = snn_machine_new();
    if (!m)
        return SNN_ENOMEM;
    e->m = m;
    char name[sizeof im.name + 1];
    memcpy(name, im.name, sizeof im.name);
    name[sizeof im.name] = 0;
    m->name = snn_arena_strdup(m->arena, name);
    m->width = im.width;
    m->height = im.height;
    m->wrap = im.wrap != 0;
    m->layout = im.layout ? SNN_LAYOUT_SPINN5_BOARD : SNN_LAYOUT_FULL;
    m->cores = im.cores;
    m->monitor_cores = im.monitor_cores;
    m->clock_mhz = im.clock_mhz;
    m->dtcm_bytes = im.dtcm_bytes;
    m->itcm_bytes = im.itcm_bytes;
    m->sdram_bytes = (uint64_t)im.sdram_lo | (uint64_t)im.sdram_hi << 32;
    m->router_entries = im.router_entries;
    m->router_reserved = im.router_reserved;
    m->max_neurons = im.max_neurons;
    m->max_synaptic_events = im.max_synaptic_events;
    uint64_t nd = (uint64_t)im.n_dead_chips + im.n_dead_cores + im.n_dead_links;
    if (bytes != sizeof im + 4 * nd)
        return bad(d, "its machine section's size disagrees with its dead parts");
    const uint8_t *w = p + sizeof im;
    m->dead_chips = snn_arena_array(m->arena, im.n_dead_chips + 1, sizeof *m->dead_chips);
    m->dead_cores = snn_arena_array(m->arena, im.n_dead_cores + 1, sizeof *m->dead_cores);
    m->dead_links = snn_arena_array(m->arena, im.n_dead_links + 1, sizeof *m->dead_links);
    if (!m->name || !m->dead_chips || !m->dead_cores || !m->dead_links)
        return SNN_ENOMEM;
    for (uint32_t k = 0; k < im.n_dead_chips; k++, w += 4) {
        uint32_t x;
        memcpy(&x, w, 4);
        m->dead_chips[k] = (struct snn_chip_ref){(uint16_t)SNN_IMAGE_WHERE_X(x),
                                                 (uint16_t)SNN_IMAGE_WHERE_Y(x)};
    }
    for (uint32_t k = 0; k < im.n_dead_cores; k++, w += 4) {
        uint32_t x;
        memcpy(&x, w, 4);
        m->dead_cores[k] = (struct snn_core_ref){(uint16_t)SNN_IMAGE_WHERE_X(x),
                                                 (uint16_t)SNN_IMAGE_WHERE_Y(x),
                                                 (uint8_t)SNN_IMAGE_WHERE_CORE(x)};
    }
    for (uint32_t k = 0; k < im.n_dead_links; k++, w += 4) {
        uint32_t x;
        memcpy(&x, w, 4);
        m->dead_links[k] = (struct snn_link_ref){(uint16_t)SNN_IMAGE_WHERE_X(x),
                                                 (uint16_t)SNN_IMAGE_WHERE_Y(x),
                                                 (uint8_t)SNN_IMAGE_WHERE_CORE(x)};
    }
    m->n_dead_chips = im.n_dead_chips;
    m->n_dead_cores = im.n_dead_cores;
    m->n_dead_links = im.n_dead_links;
    int rc = snn_machine_verify(m, d);
    if (rc)
        return rc == SNN_ENOMEM ? rc : bad(d, "its machine does not verify");
    char why[160];
    if (expect && !snn_machine_same(m, expect, why, sizeof why)) {
        snn_diag_error(d, NULL,
                       "the image was built for machine '%s', not for '%s': it has %s",
                       m->name, expect->name ? expect->name : "?", why);
        return SNN_EPARSE;
    }
    rc = snn_machine_index(m);
    if (rc)
        return rc;
    e->n_chips = m->width * m->height;
    e->chips = snn_calloc(e->n_chips, sizeof *e->chips);
    if (!e->chips)
        return SNN_ENOMEM;
    for (uint32_t c = 0; c < e->n_chips; c++)
        for (uint32_t k = 0; k < SNN_MACHINE_MAX_CORES; k++)
            e->chips[c].core_slice[k] = -1;
    /* A packet that crosses more links than a tree over every chip has is
     * looping. */
    e->hop_limit = 6 * e->n_chips + 6;
    return 0;
}

static int build_run(struct snn_emu *e, const uint8_t *p, uint32_t bytes, struct snn_diag *d)
{
    struct snn_image_run r;
    if (bytes < sizeof r)
        return bad(d, "its run section is short");
    memcpy(&r, p, sizeof r);
    uint64_t need = sizeof r + (uint64_t)r.n_pops * sizeof(struct snn_image_pop) +
                    (uint64_t)r.n_slices * sizeof(struct snn_image_slice);
    if (need > bytes)
        return bad(d, "its run section is short");
    if (r.names_bytes != bytes - need || r.names_bytes == 0 || p[bytes - 1] != 0)
        return bad(d, "its population names are malformed");
    e->n_pops = r.n_pops;
    e->n_slices = r.n_slices;
    e->n_steps = r.n_steps;
    e->dt_ns = r.dt_ns;
    e->slices = snn_calloc(r.n_slices + 1, sizeof *e->slices);
    e->pop_first = snn_calloc((size_t)r.n_pops + 1, sizeof *e->pop_first);
    e->pop_size = snn_calloc((size_t)r.n_pops + 1, sizeof *e->pop_size);
    e->name_off = snn_calloc((size_t)r.n_pops + 1, sizeof *e->name_off);
    e->names = snn_malloc(r.names_bytes);
    if (!e->slices || !e->pop_first || !e->pop_size || !e->name_off || !e->names)
        return SNN_ENOMEM;
    memcpy(e->names, p + need, r.names_bytes);
    const uint8_t *at = p + sizeof r;
    uint32_t most = 1;
    for (uint32_t k = 0; k < r.n_pops; k++, at += sizeof(struct snn_image_pop)) {
        struct snn_image_pop ip;
        memcpy(&ip, at, sizeof ip);
        if (ip.first_slice != e->pop_first[k] || ip.n_slices > r.n_slices - ip.first_slice)
            return bad(d, "its populations' slices are out of order");
        if (ip.name_off >= r.names_bytes)
            return bad(d, "a population's name lies outside the names");
        e->pop_first[k + 1] = ip.first_slice + ip.n_slices;
        e->pop_size[k] = ip.size;
        e->name_off[k] = ip.name_off;
        most = ip.size > most ? ip.size : most;
    }
    if (e->pop_first[r.n_pops] != r.n_slices)
        return bad(d, "its populations do not cover its slices");
    for (uint32_t s = 0; s < r.n_slices; s++, at += sizeof(struct snn_image_slice)) {
        struct snn_image_slice is;
        memcpy(&is, at, sizeof is);
        uint32_t x = SNN_IMAGE_WHERE_X(is.where), y = SNN_IMAGE_WHERE_Y(is.where),
                 core = SNN_IMAGE_WHERE_CORE(is.where);
        if (x >= e->m->width || y >= e->m->height || core >= e->m->cores || is.pop >= r.n_pops)
            return bad(d, "a slice lies outside the machine");
        uint32_t c = y * e->m->width + x;
        if (e->chips[c].core_slice[core] >= 0)
            return bad(d, "two slices share a core");
        e->chips[c].core_slice[core] = (int32_t)s;
        e->slices[s] = (struct slice_info){is.pop, is.lo, is.n, is.key, c};
    }
    e->report = snn_malloc((size_t)most * sizeof *e->report);
    return e->report ? 0 : SNN_ENOMEM;
}

/* ---- loading through the monitors ------------------------------------------ */

/* The kernel's own data in DTCM, the 136-byte header included: partition
 * keeps it free (docs/core-image.md), so a core's image and ring buffers
 * get the rest. */
#define KERNEL_DATA_BYTES 8192u

static const char *op_name(uint32_t op)
{
    switch (op) {
    case SNN_MON_WRITE: return "WRITE";
    case SNN_MON_ROUTES: return "ROUTES";
    case SNN_MON_LOAD: return "LOAD";
    case SNN_MON_START: return "START";
    default: return "a command";
    }
}

/* Sends one command to chip c's monitor: 0, or SNN_EPARSE with the
 * monitor's refusal reported (status and its first detail). */
static int mon_call(struct snn_emu *e, uint32_t c, uint32_t op, uint32_t core,
                    const uint32_t arg[4], const void *payload, uint32_t n_words,
                    struct snn_diag *d)
{
    struct snn_mon_req rq = {op, 0, core, n_words, {arg[0], arg[1], arg[2], arg[3]}};
    memcpy(e->msg, &rq, sizeof rq);
    if (n_words)
        memcpy(e->msg + SNN_MON_HEADER_WORDS, payload, 4 * (size_t)n_words);
    snn_monitor_handle(e->chips[c].mon, e->msg, SNN_MON_HEADER_WORDS + n_words, e->resp,
                       SNN_MON_MAX_WORDS);
    struct snn_mon_resp r;
    memcpy(&r, e->resp, sizeof r);
    if (r.status == SNN_MON_OK)
        return 0;
    snn_diag_error(d, NULL,
                   "the monitor of chip (%u, %u) refused %s for core %u: status %u (%u) "
                   "(docs/monitor.md)",
                   c % e->m->width, c / e->m->width, op_name(op), core, r.status, r.value[0]);
    return SNN_EPARSE;
}

/* WRITEs bytes (a multiple of 4) into a space of chip c, from offset on,
 * in commands of the protocol's largest payload. */
static int mon_write(struct snn_emu *e, uint32_t c, uint32_t space, uint32_t core, uint32_t off,
                     const uint8_t *p, uint32_t bytes, struct snn_diag *d)
{
    for (uint32_t done = 0; done < bytes;) {
        uint32_t n = (bytes - done) / 4;
        if (n > SNN_MON_MAX_PAYLOAD_WORDS)
            n = SNN_MON_MAX_PAYLOAD_WORDS;
        const uint32_t arg[4] = {space, off + done, 0, 0};
        int rc = mon_call(e, c, SNN_MON_WRITE, core, arg, p + done, n, d);
        if (rc)
            return rc;
        done += 4 * n;
    }
    return 0;
}

/* The chip index of a section's place, or -1 outside the machine. */
static int32_t chip_at(const struct snn_emu *e, uint32_t where)
{
    uint32_t x = SNN_IMAGE_WHERE_X(where), y = SNN_IMAGE_WHERE_Y(where);
    return x < e->m->width && y < e->m->height ? (int32_t)(y * e->m->width + x) : -1;
}

/* Gives every chip the image uses a monitor: its SDRAM (as much as the
 * image's blocks reach), a DTCM buffer for each core that runs a slice
 * (the machine's DTCM less the kernel's own data; only those cores are
 * present), and the router's tables. */
static int setup_chips(struct snn_emu *e, const uint8_t *img, const struct snn_image_header *h,
                       struct snn_diag *d)
{
    uint64_t *extent = snn_calloc(e->n_chips + 1, sizeof *extent);
    bool *used = snn_calloc(e->n_chips + 1, sizeof *used);
    int rc = extent && used ? 0 : SNN_ENOMEM;
    for (uint32_t k = 0; !rc && k < h->n_sections; k++) {
        struct snn_image_section s;
        const uint8_t *p = section(img, k, &s);
        if (s.kind != SNN_SEC_ROUTES && s.kind != SNN_SEC_CORE_SDRAM)
            continue;
        int32_t c = chip_at(e, s.where);
        if (c < 0) {
            rc = bad(d, "a section lies outside the machine");
            break;
        }
        used[c] = true;
        struct snn_image_sdram pre;
        if (s.kind == SNN_SEC_CORE_SDRAM && s.bytes >= sizeof pre) {
            memcpy(&pre, p, sizeof pre);
            uint64_t end = ((uint64_t)pre.chip_off_lo | (uint64_t)pre.chip_off_hi << 32) +
                           pre.block_bytes;
            if (end > extent[c])
                extent[c] = end;
        }
    }
    uint32_t dtcm = e->m->dtcm_bytes > KERNEL_DATA_BYTES
                        ? e->m->dtcm_bytes - KERNEL_DATA_BYTES + sizeof(struct snn_core_header)
                        : 0;
    for (uint32_t c = 0; !rc && c < e->n_chips; c++) {
        struct chip *ch = &e->chips[c];
        if (!used[c])
            continue;
        if (extent[c] > e->m->sdram_bytes || extent[c] > UINT32_MAX - 4)
            rc = bad(d, "a chip's SDRAM blocks reach past its SDRAM");
        uint32_t entries = e->m->router_entries;
        struct snn_monitor_platform pl = {0};
        if (!rc) {
            ch->mon = snn_malloc(sizeof *ch->mon);
            ch->sdram = snn_calloc(extent[c] / 4 + 1, 4);
            ch->staging = snn_calloc(entries + 1, sizeof *ch->staging);
            ch->table = snn_calloc(entries + 1, sizeof *ch->table);
            if (!ch->mon || !ch->sdram || !ch->staging || !ch->table)
                rc = SNN_ENOMEM;
        }
        pl.n_cores = e->m->cores < SNN_MON_MAX_CORES ? e->m->cores : SNN_MON_MAX_CORES;
        pl.monitor_core = pl.n_cores; /* set below: the first core running nothing */
        for (uint32_t k = 0; !rc && k < pl.n_cores; k++) {
            if (ch->core_slice[k] < 0) {
                if (pl.monitor_core == pl.n_cores)
                    pl.monitor_core = k;
                continue;
            }
            ch->dtcm[k] = snn_calloc(dtcm / 4 + 1, 4);
            if (!ch->dtcm[k]) {
                rc = SNN_ENOMEM;
                break;
            }
            pl.present[k / 32] |= 1u << (k % 32);
            pl.dtcm[k] = ch->dtcm[k];
            pl.dtcm_bytes[k] = dtcm;
        }
        if (rc)
            break;
        if (pl.monitor_core == pl.n_cores) {
            rc = bad(d, "a chip has no core left for its monitor");
            break;
        }
        pl.sdram = ch->sdram;
        pl.sdram_bytes = (uint32_t)extent[c];
        pl.staging = ch->staging;
        pl.table = ch->table;
        pl.router_entries = entries;
        if (snn_monitor_init(ch->mon, &pl) != SNN_MON_OK)
            rc = bad(d, "a chip's monitor cannot be set up");
    }
    snn_free(extent);
    snn_free(used);
    return rc;
}

/* A chip's routing table: staged and committed through its monitor, then
 * read back from the committed table the router holds. */
static int build_routes(struct snn_emu *e, uint32_t where, const uint8_t *p, uint32_t bytes,
                        struct snn_diag *d)
{
    int32_t c = chip_at(e, where);
    if (c < 0 || bytes % sizeof(struct snn_image_route))
        return bad(d, "a routing table lies outside the machine");
    struct chip *ch = &e->chips[c];
    if (ch->routes_loaded)
        return bad(d, "a chip has two routing tables");
    ch->routes_loaded = true;
    uint32_t n = bytes / sizeof(struct snn_image_route);
    const uint32_t commit[4] = {n, 0, 0, 0};
    int rc = mon_write(e, (uint32_t)c, SNN_MON_ROUTER, 0, 0, p, bytes, d);
    if (!rc)
        rc = mon_call(e, (uint32_t)c, SNN_MON_ROUTES, 0, commit, NULL, 0, d);
    if (rc)
        return rc;
    const struct snn_image_route *t = snn_monitor_routes(ch->mon, &n);
    ch->e = snn_malloc((size_t)(n ? n : 1) * sizeof *ch->e);
    if (!ch->e)
        return SNN_ENOMEM;
    for (uint32_t k = 0; k < n; k++)
        ch->e[k] = (struct route_entry){t[k].key, t[k].mask,
                                        (uint64_t)t[k].route_lo | (uint64_t)t[k].route_hi << 32};
    ch->n = n;
    return 0;
}

static int32_t slice_at(const struct snn_emu *e, uint32_t where)
{
    uint32_t x = SNN_IMAGE_WHERE_X(where), y = SNN_IMAGE_WHERE_Y(where),
             core = SNN_IMAGE_WHERE_CORE(where);
    if (x >= e->m->width || y >= e->m->height || core >= SNN_MACHINE_MAX_CORES)
        return -1;
    return e->chips[y * e->m->width + x].core_slice[core];
}

/* A core's images, written by its chip's monitor into its DTCM and the
 * chip's SDRAM, then LOADed (the kernel checks them) and STARTed. */
static int build_core(struct snn_emu *e, uint32_t where, const uint8_t *dt, uint32_t dt_bytes,
                      const uint8_t *sd, uint32_t sd_bytes, struct snn_diag *d)
{
    int32_t s = slice_at(e, where);
    struct snn_image_sdram pre;
    if (s < 0 || sd_bytes < sizeof pre || dt_bytes < sizeof(struct snn_core_header) ||
        e->cores[s])
        return bad(d, "a core's sections do not match its slice");
    memcpy(&pre, sd, sizeof pre);
    if (pre.stored_bytes != sd_bytes - sizeof pre || pre.stored_bytes > pre.block_bytes ||
        (pre.block_bytes & 3) || (dt_bytes & 3) || pre.chip_off_hi)
        return bad(d, "a core's SDRAM section is inconsistent");
    struct snn_core_header h;
    memcpy(&h, dt, sizeof h);
    const struct slice_info *si = &e->slices[s];
    if (h.lo != si->lo || h.n != si->n || h.key != si->key || h.pop != si->pop)
        return bad(d, "a core's header disagrees with its slice");
    uint32_t c = (uint32_t)chip_at(e, where), core = SNN_IMAGE_WHERE_CORE(where);
    const uint32_t load[4] = {pre.chip_off_lo, pre.block_bytes, pre.stored_bytes, 0};
    const uint32_t start[4] = {core < 32 ? 1u << core : 0, core >= 32 ? 1u << (core - 32) : 0,
                               0, 0};
    int rc = mon_write(e, c, SNN_MON_DTCM, core, 0, dt, dt_bytes, d);
    if (!rc)
        rc = mon_write(e, c, SNN_MON_SDRAM, core, pre.chip_off_lo, sd + sizeof pre,
                       pre.stored_bytes, d);
    if (!rc)
        rc = mon_call(e, c, SNN_MON_LOAD, core, load, NULL, 0, d);
    if (!rc)
        rc = mon_call(e, c, SNN_MON_START, 0, start, NULL, 0, d);
    if (!rc)
        e->cores[s] = snn_monitor_core(e->chips[c].mon, core);
    return rc;
}

int snn_emu_new(const void *image, uint64_t size, const struct snn_emu_options *o,
                struct snn_diag *d, struct snn_emu **out)
{
    *out = NULL;
    const uint8_t *img = image;
    struct snn_image_header h;
    if (size < sizeof h)
        return bad(d, "it is shorter than a header");
    memcpy(&h, img, sizeof h);
    if (h.magic != SNN_IMAGE_MAGIC || h.family != SNN_IMAGE_FAMILY_SPINN ||
        h.version != SNN_IMAGE_VERSION)
        return bad(d, "it is not a spinn image of this version");
    struct snn_emu *e = snn_calloc(1, sizeof *e);
    if (!e)
        return SNN_ENOMEM;
    e->threads = o && o->threads ? o->threads : 2;
    if (e->threads > MAX_THREADS)
        e->threads = MAX_THREADS;
    int rc = 0;
    bool have_machine = false, have_run = false;
    for (uint32_t k = 0; k < h.n_sections && !rc; k++) {
        struct snn_image_section s;
        const uint8_t *p = section(img, k, &s);
        if (s.kind == SNN_SEC_MACHINE) {
            rc = have_machine ? bad(d, "two machine sections")
                              : build_machine(e, p, s.bytes, o ? o->machine : NULL, d);
            have_machine = true;
        } else if (s.kind == SNN_SEC_RUN) {
            if (!have_machine || have_run) {
                rc = bad(d, "its run section is out of place");
                break;
            }
            rc = build_run(e, p, s.bytes, d);
            have_run = true;
            if (!rc) {
                uint32_t S = e->n_slices;
                e->cores = snn_calloc(S + 1, sizeof *e->cores);
                e->in = snn_calloc(S + 1, sizeof *e->in);
                e->inbox_row = S + INBOX_GAP;
                e->inbox = snn_calloc(2 * (size_t)e->threads * e->inbox_row, sizeof *e->inbox);
                e->fired = snn_malloc(2 * ((size_t)S + 1) * SNN_CORE_MAX_NEURONS * sizeof *e->fired);
                e->n_fired = snn_calloc(2 * ((size_t)S + 1) * N_FIRED_STRIDE, sizeof *e->n_fired);
                if (!e->cores || !e->in || !e->inbox || !e->fired || !e->n_fired)
                    rc = SNN_ENOMEM;
            }
            if (!rc)
                rc = setup_chips(e, img, &h, d);
        } else if (s.kind == SNN_SEC_ROUTES) {
            rc = have_run ? build_routes(e, s.where, p, s.bytes, d)
                          : bad(d, "a routing table comes before the run section");
        } else if (s.kind == SNN_SEC_CORE_DTCM) {
            struct snn_image_section s2;
            if (!have_run || k + 1 >= h.n_sections) {
                rc = bad(d, "a core's sections are out of place");
                break;
            }
            const uint8_t *p2 = section(img, ++k, &s2);
            if (s2.kind != SNN_SEC_CORE_SDRAM || s2.where != s.where) {
                rc = bad(d, "a core's DTCM section is not followed by its SDRAM section");
                break;
            }
            rc = build_core(e, s.where, p, s.bytes, p2, s2.bytes, d);
        } else {
            rc = bad(d, "it holds a section this emulator does not know");
        }
    }
    if (!rc && (!have_run || !have_machine))
        rc = bad(d, "it lacks its machine or run section");
    for (uint32_t s = 0; !rc && s < e->n_slices; s++)
        if (!e->cores[s])
            rc = bad(d, "a slice has no core image");
    for (unsigned k = 0; !rc && k < e->threads; k++) {
        e->tc[k].link = snn_calloc((size_t)e->n_chips * SNN_MACHINE_LINKS, sizeof *e->tc[k].link);
        e->tc[k].router = snn_calloc(e->n_chips, sizeof *e->tc[k].router);
        if (!e->tc[k].link || !e->tc[k].router)
            rc = SNN_ENOMEM;
    }
    if (rc) {
        snn_emu_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void snn_emu_free(struct snn_emu *e)
{
    if (!e)
        return;
    for (uint32_t s = 0; e->in && s < e->n_slices; s++)
        snn_free(e->in[s].v);
    snn_free(e->in);
    for (size_t k = 0; e->inbox && k < 2 * (size_t)e->threads * e->inbox_row; k++)
        snn_free(e->inbox[k].k);
    for (uint32_t c = 0; e->chips && c < e->n_chips; c++) {
        struct chip *ch = &e->chips[c];
        snn_free(ch->e);
        snn_free(ch->mon);
        snn_free(ch->sdram);
        snn_free(ch->staging);
        snn_free(ch->table);
        for (uint32_t k = 0; k < SNN_MACHINE_MAX_CORES; k++)
            snn_free(ch->dtcm[k]);
    }
    for (unsigned k = 0; k < MAX_THREADS; k++) {
        snn_free(e->tc[k].link);
        snn_free(e->tc[k].router);
        snn_free(e->tc[k].stack);
    }
    snn_free(e->inbox);
    snn_free(e->fired);
    snn_free(e->n_fired);
    snn_free(e->cores);
    snn_free(e->chips);
    snn_free(e->slices);
    snn_free(e->pop_first);
    snn_free(e->pop_size);
    snn_free(e->name_off);
    snn_free(e->names);
    snn_free(e->report);
    snn_machine_free(e->m);
    snn_free(e);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ---- running ------------------------------------------------------------------ */

/* Routes one packet sent by a core of chip c0, on thread k, into this
 * step's inboxes (parity par).  0 or SNN_ENOMEM. */
static int route(struct snn_emu *e, unsigned k, uint32_t par, uint32_t c0, uint32_t key)
{
    struct tcount *tc = &e->tc[k];
    uint32_t sp = 0, hops = 0, W = e->m->width;
    if (!tc->stack_cap) {
        tc->stack = snn_malloc(64 * sizeof *tc->stack);
        if (!tc->stack)
            return SNN_ENOMEM;
        tc->stack_cap = 64;
    }
    tc->stack[sp++] = (struct hop){c0, -1};
    while (sp) {
        struct hop h = tc->stack[--sp];
        const struct chip *ch = &e->chips[h.chip];
        struct snn_emu_router *rc = &tc->router[h.chip];
        uint64_t r = 0;
        uint32_t q = 0;
        while (q < ch->n && (key & ch->e[q].mask) != ch->e[q].key)
            q++;
        if (q < ch->n) {
            r = ch->e[q].route;
            rc->matched++;
        } else if (h.in_link < 0) {
            tc->c.unrouted++;
            rc->unrouted++;
            continue;
        } else {
            r = SNN_IMAGE_ROUTE_LINK(snn_link_opposite((unsigned)h.in_link));
            tc->c.default_routed++;
            rc->default_routed++;
        }
        for (uint64_t cores = r >> 6; cores; cores &= cores - 1) {
            unsigned c = (unsigned)__builtin_ctzll(cores);
            int32_t s = c < SNN_MACHINE_MAX_CORES ? ch->core_slice[c] : -1;
            if (s < 0) {
                tc->c.no_core++;
                rc->no_core++;
                continue;
            }
            if (keys_push(inbox(e, par, k, (uint32_t)s), key))
                return SNN_ENOMEM;
            tc->c.deliveries++;
            rc->delivered++;
        }
        for (unsigned l = 0; l < SNN_MACHINE_LINKS; l++) {
            if (!(r & SNN_IMAGE_ROUTE_LINK(l)))
                continue;
            uint32_t nx, ny;
            if (!snn_machine_neighbour(e->m, h.chip % W, h.chip / W, l, &nx, &ny)) {
                tc->c.dead_link++;
                rc->dead_link++;
                continue;
            }
            if (++hops > e->hop_limit) {
                tc->c.loops++;
                return 0;
            }
            tc->link[(size_t)h.chip * SNN_MACHINE_LINKS + l]++;
            tc->c.hops++;
            if (sp == tc->stack_cap) {
                struct hop *ns = snn_realloc(tc->stack, 2 * (size_t)sp * sizeof *ns);
                if (!ns)
                    return SNN_ENOMEM;
                tc->stack = ns;
                tc->stack_cap = 2 * sp;
            }
            tc->stack[sp++] = (struct hop){ny * W + nx, (int32_t)snn_link_opposite(l)};
        }
    }
    return 0;
}

/* Reports step t's spikes (parity par) population by population. */
static int report(struct snn_emu *e, uint32_t t, uint32_t par)
{
    for (uint32_t p = 0; p < e->n_pops; p++) {
        uint32_t n = 0;
        for (uint32_t s = e->pop_first[p]; s < e->pop_first[p + 1]; s++) {
            const uint32_t *f = e->fired + ((size_t)par * e->n_slices + s) * SNN_CORE_MAX_NEURONS;
            uint32_t nf = *n_fired(e, par, s);
            for (uint32_t j = 0; j < nf; j++)
                e->report[n++] = e->slices[s].lo + (f[j] - e->slices[s].key);
        }
        if (n) {
            int rc = e->on_spikes(e->ctx, t, p, e->report, n);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* A thread, doing the work of lanes [k0, k1): lane k ticks the slices
 * [S k / T, S (k + 1) / T) and writes inboxes [.][k][.].  Normally one
 * lane each; one thread takes every lane when a second cannot be started.
 * The slices of a lane are consecutive, so that a chip's cores, whose
 * kernels' states lie side by side in its monitor, are split between the
 * threads once at most rather than core by core. */
struct worker {
    struct snn_emu *e;
    unsigned k0, k1;
    int rc;
};

/* Lane k's part of step t: its cores take last step's packets, tick,
 * and route what they send.  0 or SNN_ENOMEM. */
static int lane_step(struct snn_emu *e, unsigned k, uint32_t t)
{
    unsigned T = e->threads;
    uint32_t par = t & 1, prev = par ^ 1;
    /* This parity's inboxes were read in the last step: empty them. */
    for (uint32_t s = 0; s < e->n_slices; s++)
        inbox(e, par, k, s)->n = 0;
    uint32_t S = e->n_slices, s_end = (uint32_t)((uint64_t)S * (k + 1) / T);
    for (uint32_t s = (uint32_t)((uint64_t)S * k / T); s < s_end; s++) {
        struct snn_core *c = e->cores[s];
        struct inputs *in = &e->in[s];
        for (; in->cur < in->n && (uint32_t)(in->v[in->cur] >> 32) == t; in->cur++)
            snn_core_inject(c, (uint32_t)in->v[in->cur]);
        for (unsigned j = 0; j < T; j++) {
            const struct keys *b = inbox(e, prev, j, s);
            for (uint32_t q = 0; q < b->n; q++)
                snn_core_packet(c, b->k[q]);
        }
        uint32_t *f = e->fired + ((size_t)par * e->n_slices + s) * SNN_CORE_MAX_NEURONS;
        uint32_t nf = snn_core_tick(c, f);
        *n_fired(e, par, s) = nf;
        e->tc[k].c.spikes += nf;
        for (uint32_t q = 0; q < nf && !(c->h.flags & SNN_CORE_SILENT); q++) {
            int rc = route(e, k, par, e->slices[s].chip, f[q]);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct snn_emu *e = w->e;
    for (uint32_t t = e->t; t < e->run_end; t++) {
        for (unsigned k = w->k0; k < w->k1 && !w->rc; k++)
            w->rc = lane_step(e, k, t);
        if (w->rc)
            atomic_store(&e->stop, 1);
        /* Thread 0 reports the previous step, which every lane finished
         * before the last barrier and nobody writes in this one. */
        if (w->k0 == 0 && t > e->t && e->on_spikes && !atomic_load(&e->stop)) {
            int rc = report(e, t - 1, (t - 1) & 1);
            if (rc) {
                e->stop_rc = rc;
                atomic_store(&e->stop, 1);
            }
        }
        snn_barrier_wait(&e->barrier);
        if (atomic_load(&e->stop)) {
            if (w->k0 == 0)
                e->stopped_at = t;
            break;
        }
    }
    return NULL;
}

int snn_emu_run(struct snn_emu *e, uint32_t steps,
                int (*on_spikes)(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons,
                                 uint32_t n),
                void *ctx)
{
    if (steps == 0)
        return 0;
    if (steps > UINT32_MAX - e->t)
        steps = UINT32_MAX - e->t;
    e->run_end = e->t + steps;
    for (uint32_t s = 0; s < e->n_slices; s++) {
        struct inputs *in = &e->in[s];
        if (!in->sorted && in->n > in->cur) /* (v is NULL until the first input) */
            qsort(in->v + in->cur, in->n - in->cur, sizeof *in->v, compare_u64);
        in->sorted = true;
    }
    e->on_spikes = on_spikes;
    e->ctx = ctx;
    atomic_store(&e->stop, 0);
    e->stop_rc = 0;
    unsigned T = e->threads;
    struct worker w[2] = {{e, 0, T, 0}, {e, 1, 2, 0}};
    pthread_t th;
    bool two = false;
    if (T == 2) {
        /* The second thread takes lane 1; if it cannot start, the first
         * does both lanes (the same bytes, one thread). */
        w[0].k1 = 1;
        snn_barrier_init(&e->barrier, 2);
        two = pthread_create(&th, NULL, work, &w[1]) == 0;
        if (!two)
            w[0].k1 = 2;
    }
    if (!two)
        snn_barrier_init(&e->barrier, 1);
    work(&w[0]);
    if (two)
        pthread_join(th, NULL);
    int rc = w[0].rc ? w[0].rc : two ? w[1].rc : 0;
    rc = rc ? rc : e->stop_rc;
    if (rc) {
        e->t = e->stopped_at + 1;
        return rc;
    }
    /* The last step's spikes, once every thread has finished it. */
    if (on_spikes)
        rc = report(e, e->run_end - 1, (e->run_end - 1) & 1);
    e->t = e->run_end;
    return rc;
}

int snn_emu_inject(struct snn_emu *e, uint32_t pop, uint32_t neuron, uint32_t step)
{
    if (pop >= e->n_pops || neuron >= e->pop_size[pop] || step < e->t)
        return SNN_EINVAL;
    uint32_t s = e->pop_first[pop];
    while (s < e->pop_first[pop + 1] && neuron - e->slices[s].lo >= e->slices[s].n)
        s++;
    if (s == e->pop_first[pop + 1] || (e->cores[s]->h.model != FX_MODEL_SPIKE_SOURCE_ARRAY &&
                                       e->cores[s]->h.model != FX_MODEL_SPIKE_SOURCE_POISSON))
        return SNN_EINVAL;
    struct inputs *in = &e->in[s];
    if (in->n == in->cap) {
        uint32_t cap = in->cap ? 2 * in->cap : 16;
        uint64_t *v = snn_realloc(in->v, (size_t)cap * sizeof *v);
        if (!v)
            return SNN_ENOMEM;
        in->v = v;
        in->cap = cap;
    }
    in->v[in->n++] = (uint64_t)step << 32 | (neuron - e->slices[s].lo);
    in->sorted = false;
    return 0;
}

void snn_emu_counters(const struct snn_emu *e, struct snn_emu_counters *out)
{
    memset(out, 0, sizeof *out);
    out->steps = e->t;
    for (unsigned k = 0; k < e->threads; k++) {
        const struct snn_emu_counters *c = &e->tc[k].c;
        out->spikes += c->spikes;
        out->deliveries += c->deliveries;
        out->hops += c->hops;
        out->default_routed += c->default_routed;
        out->unrouted += c->unrouted;
        out->dead_link += c->dead_link;
        out->no_core += c->no_core;
        out->loops += c->loops;
    }
    for (uint32_t s = 0; s < e->n_slices; s++) {
        const struct snn_core_counters *c = &e->cores[s]->c;
        out->packets_in += c->packets;
        out->unknown += c->unknown;
        out->empty += c->empty;
        out->rows += c->rows;
        out->synapses += c->synapses;
        out->saturations += c->saturations;
        if (c->queue_max > out->queue_max) {
            out->queue_max = c->queue_max;
            out->queue_max_slice = s;
        }
    }
}

void snn_emu_router(const struct snn_emu *e, uint32_t x, uint32_t y, struct snn_emu_router *out)
{
    struct snn_emu_router z = {0};
    *out = z;
    if (x >= e->m->width || y >= e->m->height)
        return;
    for (unsigned k = 0; k < e->threads; k++) {
        const struct snn_emu_router *r = &e->tc[k].router[(size_t)y * e->m->width + x];
        out->matched += r->matched;
        out->default_routed += r->default_routed;
        out->delivered += r->delivered;
        out->unrouted += r->unrouted;
        out->dead_link += r->dead_link;
        out->no_core += r->no_core;
    }
}

void snn_emu_machine_size(const struct snn_emu *e, uint32_t *width, uint32_t *height)
{
    *width = e->m->width;
    *height = e->m->height;
}

uint64_t snn_emu_link_packets(const struct snn_emu *e, uint32_t x, uint32_t y, unsigned link)
{
    if (x >= e->m->width || y >= e->m->height || link >= SNN_MACHINE_LINKS)
        return 0;
    uint64_t n = 0;
    for (unsigned k = 0; k < e->threads; k++)
        n += e->tc[k].link[((size_t)y * e->m->width + x) * SNN_MACHINE_LINKS + link];
    return n;
}

const struct snn_core *snn_emu_core(const struct snn_emu *e, uint32_t s)
{
    return s < e->n_slices ? e->cores[s] : NULL;
}

uint32_t snn_emu_n_slices(const struct snn_emu *e)
{
    return e->n_slices;
}

uint32_t snn_emu_n_steps(const struct snn_emu *e)
{
    return e->n_steps;
}

uint32_t snn_emu_n_pops(const struct snn_emu *e)
{
    return e->n_pops;
}

const char *snn_emu_pop_name(const struct snn_emu *e, uint32_t p)
{
    return p < e->n_pops ? e->names + e->name_off[p] : NULL;
}

uint32_t snn_emu_pop_size(const struct snn_emu *e, uint32_t p)
{
    return p < e->n_pops ? e->pop_size[p] : 0;
}

void snn_emu_pop_slices(const struct snn_emu *e, uint32_t p, uint32_t *first, uint32_t *count)
{
    *first = p < e->n_pops ? e->pop_first[p] : 0;
    *count = p < e->n_pops ? e->pop_first[p + 1] - e->pop_first[p] : 0;
}

uint32_t snn_emu_steps_run(const struct snn_emu *e)
{
    return e->t;
}

uint32_t snn_emu_dt_ns(const struct snn_emu *e)
{
    return e->dt_ns;
}

const char *snn_emu_machine_name(const struct snn_emu *e)
{
    return e->m->name;
}

/*
 * firmware/monitor.c: the monitor (firmware/monitor.h), the protocol of
 * abi/monitor.h.
 *
 * A request is checked in a fixed order and the first check that fails
 * gives the status (docs/monitor.md lists the order): the header's
 * length, the payload's bound and length, the op, then the op's own
 * checks (core, state, space, alignment, range, overlap) before anything
 * is written.  So a refused request changes nothing, and a request that
 * passes writes only inside the memories the platform gave: every offset
 * and length is compared in 64 bits, never added in 32.
 *
 * Invariants: a core's kernel (struct snn_core) is zero unless the core
 * is bound (LOADED, RUNNING, STOPPED); a bound core's DTCM is not written
 * (the kernel trusts its key table and spike-array cursors after load),
 * nor is a RUNNING core's SDRAM block; the bound cores' blocks do not
 * overlap (each kernel writes its own recording regions).
 *
 * Core masks and 64-bit quantities are kept as two 32-bit words: the
 * ARM968 build then needs no libgcc helper for variable 64-bit shifts,
 * and nothing here divides.
 */
#include "firmware/monitor.h"

#include <stddef.h>

#define HDR SNN_MON_HEADER_WORDS
#define ALL_BITS 0xFFFFFFFFu

_Static_assert(sizeof(struct snn_core_counters) == 9 * 4,
               "STATUS carries the kernel's nine counters in order");

/* The response being built: status and values; payload words are written
 * straight into the caller's buffer. */
struct reply {
    uint32_t status;
    uint32_t value[4];
    uint32_t n_words;
};

static uint32_t fail(struct reply *r, uint32_t status, uint32_t v0, uint32_t v1)
{
    r->status = status;
    r->value[0] = v0;
    r->value[1] = v1;
    return status;
}

static uint32_t bit(const uint32_t w[2], uint32_t c)
{
    return c < 64 ? (w[c >> 5] >> (c & 31u)) & 1u : 0u;
}

static void set_bit(uint32_t w[2], uint32_t c, uint32_t on)
{
    uint32_t b = 1u << (c & 31u);
    w[c >> 5] = on ? w[c >> 5] | b : w[c >> 5] & ~b;
}

/* Whether c is an application core the monitor manages. */
static int present(const struct snn_monitor *m, uint32_t c)
{
    return c < m->n_cores && bit(m->present, c);
}

static int bound(const struct snn_monitor_core *mc)
{
    return mc->state != SNN_MON_EMPTY;
}

static void unbind(struct snn_monitor_core *mc)
{
    mc->state = SNN_MON_EMPTY;
    mc->ring_off = mc->ring_words = 0;
    mc->block_off = mc->block_bytes = 0;
    mc->k = (struct snn_core){0};
}

uint32_t snn_monitor_init(struct snn_monitor *m, const struct snn_monitor_platform *p)
{
    if (p->n_cores == 0 || p->n_cores > SNN_MON_MAX_CORES || p->monitor_core >= p->n_cores)
        return SNN_MON_BAD_CORE;
    uint32_t pres[2] = {p->present[0], p->present[1]};
    set_bit(pres, p->monitor_core, 0);
    for (uint32_t c = 0; c < 64; c++) {
        if (!bit(pres, c))
            continue;
        if (c >= p->n_cores || !p->dtcm[c])
            return SNN_MON_BAD_CORE;
        if (p->dtcm_bytes[c] & 3u)
            return SNN_MON_BAD_ALIGN;
    }
    if (p->sdram_bytes & 3u)
        return SNN_MON_BAD_ALIGN;
    /* The router space is addressed in bytes by a 32-bit offset. */
    if (!p->sdram || !p->staging || !p->table || p->router_entries > (ALL_BITS >> 4))
        return SNN_MON_OUT_OF_RANGE;
    m->n_cores = p->n_cores;
    m->monitor_core = p->monitor_core;
    m->present[0] = pres[0];
    m->present[1] = pres[1];
    for (uint32_t c = 0; c < SNN_MON_MAX_CORES; c++) {
        struct snn_monitor_core *mc = &m->core[c];
        int here = bit(pres, c);
        mc->dtcm = here ? p->dtcm[c] : 0;
        mc->dtcm_bytes = here ? p->dtcm_bytes[c] : 0;
        unbind(mc);
    }
    m->sdram = p->sdram;
    m->sdram_bytes = p->sdram_bytes;
    m->staging = p->staging;
    m->table = p->table;
    m->router_entries = p->router_entries;
    m->committed = 0;
    return SNN_MON_OK;
}

/* The core a request names, or NULL with BAD_CORE in r. */
static struct snn_monitor_core *core_of(struct snn_monitor *m, uint32_t c, struct reply *r)
{
    if (!present(m, c)) {
        fail(r, SNN_MON_BAD_CORE, c, 0);
        return 0;
    }
    return &m->core[c];
}

/* Whether [off, off + len) and [off2, off2 + len2) share a byte. */
static int overlaps(uint32_t off, uint64_t len, uint32_t off2, uint32_t len2)
{
    return len && len2 && (uint64_t)off < (uint64_t)off2 + len2 && (uint64_t)off2 < off + len;
}

/* The first core other than `self` whose SDRAM block meets [off, off +
 * len) and whose state is `state` (any bound state for SNN_MON_EMPTY),
 * or SNN_MON_MAX_CORES. */
static uint32_t block_user(const struct snn_monitor *m, uint32_t off, uint64_t len, uint32_t self,
                           uint32_t state)
{
    for (uint32_t c = 0; c < m->n_cores; c++) {
        const struct snn_monitor_core *mc = &m->core[c];
        if (c == self || !present(m, c) || !bound(mc) ||
            (state != SNN_MON_EMPTY && mc->state != state))
            continue;
        if (overlaps(off, len, mc->block_off, mc->block_bytes))
            return c;
    }
    return SNN_MON_MAX_CORES;
}

/* The memory of a WRITE or READ: *base and *bytes, or an error in r. */
static uint32_t space_of(struct snn_monitor *m, const struct snn_mon_req *h, int writing,
                         uint32_t **base, uint32_t *bytes, struct reply *r)
{
    switch (h->arg[0]) {
    case SNN_MON_DTCM: {
        struct snn_monitor_core *mc = core_of(m, h->core, r);
        if (!mc)
            return r->status;
        if (writing && bound(mc))
            return fail(r, SNN_MON_BAD_STATE, mc->state, h->core);
        *base = mc->dtcm;
        *bytes = mc->dtcm_bytes;
        return SNN_MON_OK;
    }
    case SNN_MON_SDRAM:
        *base = m->sdram;
        *bytes = m->sdram_bytes;
        return SNN_MON_OK;
    case SNN_MON_ROUTER:
        *base = (uint32_t *)m->staging;
        *bytes = m->router_entries * (uint32_t)sizeof(struct snn_image_route);
        return SNN_MON_OK;
    case SNN_MON_TABLE:
        if (writing)
            return fail(r, SNN_MON_BAD_SPACE, h->arg[0], 0);
        *base = (uint32_t *)m->table;
        *bytes = m->committed * (uint32_t)sizeof(struct snn_image_route);
        return SNN_MON_OK;
    }
    return fail(r, SNN_MON_BAD_SPACE, h->arg[0], 0);
}

/* Whether words words at byte offset off lie inside bytes; else the
 * error in r. */
static uint32_t range_ok(uint32_t off, uint32_t words, uint32_t bytes, struct reply *r)
{
    if (off & 3u)
        return fail(r, SNN_MON_BAD_ALIGN, off, 0);
    if ((uint64_t)off + 4ull * words > bytes)
        return fail(r, SNN_MON_OUT_OF_RANGE, bytes, 0);
    return SNN_MON_OK;
}

static void op_write(struct snn_monitor *m, const struct snn_mon_req *h, const uint32_t *payload,
                     struct reply *r)
{
    uint32_t *base = 0, bytes = 0, off = h->arg[1], n = h->n_words;
    if (space_of(m, h, 1, &base, &bytes, r) || range_ok(off, n, bytes, r))
        return;
    if (h->arg[0] == SNN_MON_SDRAM) {
        uint32_t c = block_user(m, off, 4ull * n, SNN_MON_MAX_CORES, SNN_MON_RUNNING);
        if (c != SNN_MON_MAX_CORES) {
            fail(r, SNN_MON_OVERLAP, c, 0);
            return;
        }
    }
    uint32_t *dst = base + off / 4;
    for (uint32_t k = 0; k < n; k++)
        dst[k] = payload[k];
    r->value[0] = n;
}

static void op_read(struct snn_monitor *m, const struct snn_mon_req *h, uint32_t *out,
                    uint32_t room, struct reply *r)
{
    uint32_t *base = 0, bytes = 0, off = h->arg[1], n = h->arg[2];
    if (n > SNN_MON_MAX_PAYLOAD_WORDS || n > room) {
        fail(r, SNN_MON_TOO_BIG, n > SNN_MON_MAX_PAYLOAD_WORDS ? SNN_MON_MAX_PAYLOAD_WORDS : room,
             0);
        return;
    }
    if (space_of(m, h, 0, &base, &bytes, r) || range_ok(off, n, bytes, r))
        return;
    const uint32_t *src = base + off / 4;
    for (uint32_t k = 0; k < n; k++)
        out[k] = src[k];
    r->n_words = n;
    r->value[0] = n;
}

/* The route bits a chip of n_cores cores can use: six links, then a bit
 * per core (abi/image.h), as two words. */
static void route_bits(uint32_t n_cores, uint32_t out[2])
{
    uint32_t b = 6 + n_cores; /* <= 64 */
    out[0] = b >= 32 ? ALL_BITS : (1u << b) - 1u;
    out[1] = b <= 32 ? 0u : b - 32 >= 32 ? ALL_BITS : (1u << (b - 32)) - 1u;
}

static void op_routes(struct snn_monitor *m, const struct snn_mon_req *h, struct reply *r)
{
    uint32_t n = h->arg[0], ok[2];
    if (n > m->router_entries) {
        fail(r, SNN_MON_OUT_OF_RANGE, m->router_entries, 0);
        return;
    }
    route_bits(m->n_cores, ok);
    for (uint32_t k = 0; k < n; k++) {
        const struct snn_image_route *e = &m->staging[k];
        /* (key & mask) == e->key is impossible for a key bit outside the mask */
        if (e->key & ~e->mask) {
            fail(r, SNN_MON_BAD_ROUTE, k, 1);
            return;
        }
        if ((e->route_lo & ~ok[0]) || (e->route_hi & ~ok[1])) {
            fail(r, SNN_MON_BAD_ROUTE, k, 2);
            return;
        }
    }
    for (uint32_t k = 0; k < n; k++)
        m->table[k] = m->staging[k];
    m->committed = n;
    r->value[0] = n;
}

static void op_load(struct snn_monitor *m, const struct snn_mon_req *h, struct reply *r)
{
    struct snn_monitor_core *mc = core_of(m, h->core, r);
    if (!mc)
        return;
    if (bound(mc)) {
        fail(r, SNN_MON_BAD_STATE, mc->state, h->core);
        return;
    }
    uint32_t off = h->arg[0], bytes = h->arg[1], stored = h->arg[2];
    if ((off | bytes | stored) & 3u) {
        fail(r, SNN_MON_BAD_ALIGN, off & 3u ? off : bytes & 3u ? bytes : stored, 0);
        return;
    }
    if ((uint64_t)off + bytes > m->sdram_bytes || stored > bytes) {
        fail(r, SNN_MON_OUT_OF_RANGE, m->sdram_bytes, 0);
        return;
    }
    uint32_t other = block_user(m, off, bytes, h->core, SNN_MON_EMPTY);
    if (other != SNN_MON_MAX_CORES) {
        fail(r, SNN_MON_OVERLAP, other, 0);
        return;
    }
    /* The ring buffers follow the image, word-aligned; the header's size
     * is outside data, so it is clamped to the buffer (the kernel then
     * refuses an image larger than its DTCM). */
    uint64_t img = mc->dtcm_bytes;
    if (mc->dtcm_bytes >= sizeof(struct snn_core_header))
        img = mc->dtcm[offsetof(struct snn_core_header, dtcm_image_bytes) / 4];
    uint64_t ring_off = (img + 3u) & ~(uint64_t)3u;
    if (ring_off > mc->dtcm_bytes)
        ring_off = mc->dtcm_bytes;
    uint32_t ring_words = (uint32_t)((mc->dtcm_bytes - ring_off) >> 2);
    int32_t *ring = (int32_t *)(mc->dtcm + (ring_off >> 2));
    enum snn_core_error e = snn_core_load(&mc->k, mc->dtcm, mc->dtcm_bytes, m->sdram + off / 4,
                                          bytes, ring, ring_words);
    if (e != SNN_CORE_OK) {
        unbind(mc);
        fail(r, SNN_MON_REFUSED, (uint32_t)e, 0);
        return;
    }
    /* The recording regions after the stored words start at zero. */
    for (uint32_t w = (off + stored) / 4; w < (off + bytes) / 4; w++)
        m->sdram[w] = 0;
    mc->state = SNN_MON_LOADED;
    mc->ring_off = (uint32_t)ring_off;
    mc->ring_words = ring_words;
    mc->block_off = off;
    mc->block_bytes = bytes;
    r->value[0] = (uint32_t)ring_off;
    r->value[1] = ring_words;
}

/* START, STOP and RESET on the cores of a mask: all of them or none. */
static void op_mask(struct snn_monitor *m, const struct snn_mon_req *h, struct reply *r)
{
    const uint32_t mask[2] = {h->arg[0], h->arg[1]};
    for (uint32_t c = 0; c < 64; c++) {
        if (!bit(mask, c))
            continue;
        if (!present(m, c)) {
            fail(r, SNN_MON_BAD_CORE, c, 0);
            return;
        }
        uint32_t s = m->core[c].state;
        if ((h->op == SNN_MON_START && s == SNN_MON_EMPTY) ||
            (h->op == SNN_MON_STOP && s != SNN_MON_RUNNING && s != SNN_MON_STOPPED)) {
            fail(r, SNN_MON_BAD_STATE, s, c);
            return;
        }
    }
    for (uint32_t c = 0; c < 64; c++) {
        if (!bit(mask, c))
            continue;
        struct snn_monitor_core *mc = &m->core[c];
        if (h->op == SNN_MON_START)
            mc->state = SNN_MON_RUNNING;
        else if (h->op == SNN_MON_STOP)
            mc->state = SNN_MON_STOPPED;
        else
            unbind(mc);
    }
    uint32_t run[2];
    snn_monitor_running(m, run);
    r->value[0] = run[0];
    r->value[1] = run[1];
}

static void op_status(struct snn_monitor *m, const struct snn_mon_req *h, uint32_t *out,
                      uint32_t room, struct reply *r)
{
    const uint32_t n = sizeof(struct snn_mon_core_status) / 4;
    struct snn_monitor_core *mc = core_of(m, h->core, r);
    if (!mc)
        return;
    if (room < n) {
        fail(r, SNN_MON_TOO_BIG, room, 0);
        return;
    }
    const struct snn_core_counters *k = &mc->k.c;
    const uint32_t w[18] = {mc->state,     bound(mc) ? mc->k.now : ALL_BITS,
                            mc->dtcm_bytes, mc->ring_off,
                            mc->ring_words, mc->block_off,
                            mc->block_bytes, 0,
                            k->packets,     k->unknown,
                            k->empty,       k->rows,
                            k->synapses,    k->spikes,
                            k->steps,       k->queue_max,
                            k->saturations, 0};
    _Static_assert(sizeof w == sizeof(struct snn_mon_core_status), "STATUS's payload");
    for (uint32_t i = 0; i < n; i++)
        out[i] = w[i];
    r->n_words = n;
    r->value[0] = w[0];
    r->value[1] = w[1];
}

static void op_info(struct snn_monitor *m, uint32_t *out, uint32_t room, struct reply *r)
{
    const uint32_t n = sizeof(struct snn_mon_info) / 4;
    if (room < n) {
        fail(r, SNN_MON_TOO_BIG, room, 0);
        return;
    }
    uint32_t dtcm = 0;
    int first = 1;
    for (uint32_t c = 0; c < m->n_cores; c++)
        if (present(m, c) && (first || m->core[c].dtcm_bytes < dtcm)) {
            dtcm = m->core[c].dtcm_bytes;
            first = 0;
        }
    const uint32_t w[12] = {SNN_MON_VERSION, SNN_CORE_IMAGE_VERSION, m->n_cores, m->monitor_core,
                            m->present[0], m->present[1], dtcm, m->sdram_bytes,
                            m->router_entries, m->committed, SNN_MON_MAX_PAYLOAD_WORDS, 0};
    _Static_assert(sizeof w == sizeof(struct snn_mon_info), "INFO's payload");
    for (uint32_t i = 0; i < n; i++)
        out[i] = w[i];
    r->n_words = n;
}

static void op_inject(struct snn_monitor *m, const struct snn_mon_req *h, const uint32_t *payload,
                      struct reply *r)
{
    struct snn_monitor_core *mc = core_of(m, h->core, r);
    if (!mc)
        return;
    if (!bound(mc)) {
        fail(r, SNN_MON_BAD_STATE, mc->state, h->core);
        return;
    }
    for (uint32_t k = 0; k < h->n_words; k++)
        snn_core_inject(&mc->k, payload[k]);
    r->value[0] = h->n_words;
}

uint32_t snn_monitor_handle(struct snn_monitor *m, const uint32_t *req, uint32_t req_words,
                            uint32_t *resp, uint32_t resp_cap_words)
{
    if (resp_cap_words < HDR)
        return 0;
    /* The header, copied before anything is written (resp may be req). */
    uint32_t w[HDR] = {0};
    for (uint32_t k = 0; k < HDR && k < req_words; k++)
        w[k] = req[k];
    const struct snn_mon_req h = {w[0], w[1], w[2], w[3], {w[4], w[5], w[6], w[7]}};
    struct reply r = {SNN_MON_OK, {0, 0, 0, 0}, 0};
    uint32_t room = resp_cap_words - HDR;
    uint32_t *out = resp + HDR;
    if (req_words < HDR) {
        fail(&r, SNN_MON_BAD_LENGTH, HDR, req_words);
    } else if (h.n_words > SNN_MON_MAX_PAYLOAD_WORDS) {
        fail(&r, SNN_MON_TOO_BIG, SNN_MON_MAX_PAYLOAD_WORDS, 0);
    } else if (req_words - HDR != h.n_words) {
        fail(&r, SNN_MON_BAD_LENGTH, HDR + h.n_words, req_words);
    } else if (h.op == 0 || h.op > SNN_MON_OP_LAST) {
        fail(&r, SNN_MON_BAD_OP, h.op, 0);
    } else if (h.n_words && h.op != SNN_MON_WRITE && h.op != SNN_MON_INJECT) {
        /* only WRITE and INJECT carry a payload */
        fail(&r, SNN_MON_BAD_LENGTH, HDR, req_words);
    } else {
        switch (h.op) {
        case SNN_MON_INFO: op_info(m, out, room, &r); break;
        case SNN_MON_WRITE: op_write(m, &h, req + HDR, &r); break;
        case SNN_MON_READ: op_read(m, &h, out, room, &r); break;
        case SNN_MON_ROUTES: op_routes(m, &h, &r); break;
        case SNN_MON_LOAD: op_load(m, &h, &r); break;
        case SNN_MON_START:
        case SNN_MON_STOP:
        case SNN_MON_RESET: op_mask(m, &h, &r); break;
        case SNN_MON_STATUS: op_status(m, &h, out, room, &r); break;
        case SNN_MON_INJECT: op_inject(m, &h, req + HDR, &r); break;
        }
    }
    if (r.status != SNN_MON_OK)
        r.n_words = 0;
    const uint32_t head[HDR] = {r.status, h.seq, h.op, r.n_words,
                                r.value[0], r.value[1], r.value[2], r.value[3]};
    for (uint32_t k = 0; k < HDR; k++)
        resp[k] = head[k];
    return HDR + r.n_words;
}

void snn_monitor_running(const struct snn_monitor *m, uint32_t out[2])
{
    out[0] = out[1] = 0;
    for (uint32_t c = 0; c < m->n_cores; c++)
        if (present(m, c) && m->core[c].state == SNN_MON_RUNNING)
            set_bit(out, c, 1);
}

uint32_t snn_monitor_state(const struct snn_monitor *m, uint32_t c)
{
    return present(m, c) ? m->core[c].state : SNN_MON_EMPTY;
}

struct snn_core *snn_monitor_core(struct snn_monitor *m, uint32_t c)
{
    return present(m, c) && bound(&m->core[c]) ? &m->core[c].k : 0;
}

const struct snn_image_route *snn_monitor_routes(const struct snn_monitor *m, uint32_t *n)
{
    *n = m->committed;
    return m->table;
}

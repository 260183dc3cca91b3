/*
 * backends/spinn/image.c: a mapping's board image (docs/image-format.md).
 *
 * Two passes over the sections: the first sizes every payload and
 * computes its CRC-32 (payloads that the map already holds, the core
 * images above all, are checksummed where they lie; the small ones,
 * machine, run and routing tables, are built in memory first), which
 * fixes the section table and the header; the second writes header,
 * table and payloads in order, zero-padded to 8 bytes.  Nothing depends
 * on pointers, times or threads, so a mapping gives the same bytes every
 * time.
 *
 * Words are written as the host holds them: the format is
 * little-endian, and so must the host be (checked at compile time).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "abi/core_image.h"
#include "abi/image.h"
#include "backends/spinn/spinn.h"
#include "ir/quant.h"
#include "support/arena.h"
#include "support/crc32.h"
#include "support/err.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "images are little-endian; this writer stores host words as they are"
#endif


/* A payload in up to two pieces (a prefix and the words it describes). */
struct piece {
    const void *p;
    uint64_t n;
};

struct sec {
    struct snn_image_section e;
    struct piece part[2];
};

struct writer {
    const struct snn_map *map;
    struct snn_diag *d;
    struct snn_arena *a;
    struct sec *secs;
    uint32_t n, cap;
};

static uint64_t align8(uint64_t x)
{
    return (x + 7) & ~(uint64_t)7;
}

static int add(struct writer *w, uint32_t kind, uint32_t where, const void *p0, uint64_t n0,
               const void *p1, uint64_t n1)
{
    if (n0 + n1 > UINT32_MAX) {
        snn_diag_error(w->d, NULL,
                       "a section of the image (kind %u) would hold %llu bytes; sections hold "
                       "less than 4 GiB: try fewer neurons per core",
                       kind, (unsigned long long)(n0 + n1));
        return SNN_ETOOBIG;
    }
    if (w->n == w->cap) {
        size_t cap = w->cap;
        void *arr = w->secs;
        if (snn_arena_grow(w->a, &arr, &cap, (size_t)w->n + 1, sizeof *w->secs))
            return SNN_ENOMEM;
        w->secs = arr;
        w->cap = (uint32_t)cap;
    }
    struct sec *s = &w->secs[w->n++];
    memset(s, 0, sizeof *s);
    s->e.kind = kind;
    s->e.where = where;
    s->e.bytes = (uint32_t)(n0 + n1);
    s->part[0] = (struct piece){p0, n0};
    s->part[1] = (struct piece){p1, n1};
    uint32_t crc = snn_crc32(0, p0, (size_t)n0);
    s->e.crc = n1 ? snn_crc32(crc, p1, (size_t)n1) : crc;
    return 0;
}

/* ---- the whole-image sections ------------------------------------------ */

static int add_machine(struct writer *w)
{
    const struct snn_machine *m = w->map->m;
    uint64_t n_dead = (uint64_t)m->n_dead_chips + m->n_dead_cores + m->n_dead_links;
    size_t bytes = sizeof(struct snn_image_machine) + (size_t)n_dead * 4;
    uint8_t *buf = snn_arena_alloc(w->a, bytes);
    if (!buf)
        return SNN_ENOMEM;
    struct snn_image_machine im = {0};
    strncpy(im.name, m->name ? m->name : "", sizeof im.name - 1);
    im.width = m->width;
    im.height = m->height;
    im.wrap = m->wrap;
    im.layout = m->layout == SNN_LAYOUT_SPINN5_BOARD;
    im.cores = m->cores;
    im.monitor_cores = m->monitor_cores;
    im.clock_mhz = m->clock_mhz;
    im.dtcm_bytes = m->dtcm_bytes;
    im.itcm_bytes = m->itcm_bytes;
    im.sdram_lo = (uint32_t)m->sdram_bytes;
    im.sdram_hi = (uint32_t)(m->sdram_bytes >> 32);
    im.router_entries = m->router_entries;
    im.router_reserved = m->router_reserved;
    im.max_neurons = m->max_neurons;
    im.max_synaptic_events = m->max_synaptic_events;
    im.n_dead_chips = (uint32_t)m->n_dead_chips;
    im.n_dead_cores = (uint32_t)m->n_dead_cores;
    im.n_dead_links = (uint32_t)m->n_dead_links;
    memcpy(buf, &im, sizeof im);
    uint32_t *dead = (uint32_t *)(buf + sizeof im);
    for (size_t k = 0; k < m->n_dead_chips; k++)
        *dead++ = SNN_IMAGE_WHERE(m->dead_chips[k].x, m->dead_chips[k].y, 0);
    for (size_t k = 0; k < m->n_dead_cores; k++)
        *dead++ = SNN_IMAGE_WHERE(m->dead_cores[k].x, m->dead_cores[k].y, m->dead_cores[k].core);
    for (size_t k = 0; k < m->n_dead_links; k++)
        *dead++ = SNN_IMAGE_WHERE(m->dead_links[k].x, m->dead_links[k].y, m->dead_links[k].link);
    return add(w, SNN_SEC_MACHINE, SNN_IMAGE_WHOLE, buf, bytes, NULL, 0);
}

static int add_run(struct writer *w)
{
    const struct snn_map *map = w->map;
    const struct snn_net *net = map->net;
    double ns = net->dt_ms * 1e6, whole = floor(ns + 0.5);
    if (!(whole >= 1 && whole <= UINT32_MAX && fabs(ns - whole) <= 1e-6 * whole)) {
        snn_diag_error(w->d, NULL,
                       "the timestep %g ms is not a whole number of nanoseconds from 1 ns to "
                       "4.29 s, which an image stores",
                       net->dt_ms);
        return SNN_EUNSUPPORTED;
    }
    uint64_t names = 0;
    for (uint32_t p = 0; p < net->n_pops; p++)
        names += strlen(net->pops[p].name) + 1;
    size_t bytes = sizeof(struct snn_image_run) + (size_t)net->n_pops * sizeof(struct snn_image_pop) +
                   (size_t)map->n_slices * sizeof(struct snn_image_slice) + (size_t)names;
    uint8_t *buf = snn_arena_alloc(w->a, bytes);
    if (!buf)
        return SNN_ENOMEM;
    struct snn_image_run r = {0};
    r.dt_ns = (uint32_t)whole;
    r.n_steps = 0;
    r.seed_lo = (uint32_t)net->seed;
    r.seed_hi = (uint32_t)(net->seed >> 32);
    r.n_pops = net->n_pops;
    r.n_slices = map->n_slices;
    r.names_bytes = (uint32_t)names;
    if (map->n_slices) {
        struct snn_core_header h;
        memcpy(&h, map->images[0].dtcm, sizeof h);
        r.n_steps = h.n_steps;
    }
    memcpy(buf, &r, sizeof r);
    uint8_t *at = buf + sizeof r;
    uint32_t name_off = 0;
    for (uint32_t p = 0; p < net->n_pops; p++) {
        struct snn_image_pop ip = {0};
        ip.size = net->pops[p].size;
        ip.model = (uint32_t)map->q->pops[p].model;
        if (net->pops[p].record & SNN_REC_SPIKES)
            ip.record |= SNN_CORE_RECORD_SPIKES;
        if ((net->pops[p].record & SNN_REC_V) && !snn_models[net->pops[p].model].is_source)
            ip.record |= SNN_CORE_RECORD_V;
        ip.first_slice = map->pop_slice[p];
        ip.n_slices = map->pop_slice[p + 1] - map->pop_slice[p];
        ip.name_off = name_off;
        name_off += (uint32_t)strlen(net->pops[p].name) + 1;
        memcpy(at, &ip, sizeof ip);
        at += sizeof ip;
    }
    for (uint32_t s = 0; s < map->n_slices; s++) {
        const struct snn_slice *sl = &map->slices[s];
        struct snn_image_slice is = {sl->pop, sl->lo, sl->n,
                                     SNN_IMAGE_WHERE(sl->x, sl->y, sl->core), sl->key, sl->mask};
        memcpy(at, &is, sizeof is);
        at += sizeof is;
    }
    for (uint32_t p = 0; p < net->n_pops; p++) {
        size_t len = strlen(net->pops[p].name) + 1;
        memcpy(at, net->pops[p].name, len);
        at += len;
    }
    return add(w, SNN_SEC_RUN, SNN_IMAGE_WHOLE, buf, bytes, NULL, 0);
}

/* ---- per chip and per core ------------------------------------------------ */

static int add_routes(struct writer *w)
{
    const struct snn_map *map = w->map;
    const struct snn_machine *m = map->m;
    for (uint32_t y = 0; y < m->height; y++)
        for (uint32_t x = 0; x < m->width; x++) {
            const struct snn_rtable *t = &map->tables[y * m->width + x];
            if (!t->n)
                continue;
            struct snn_image_route *r = snn_arena_array(w->a, t->n, sizeof *r);
            if (!r)
                return SNN_ENOMEM;
            for (uint32_t k = 0; k < t->n; k++)
                r[k] = (struct snn_image_route){t->e[k].key, t->e[k].mask,
                                                (uint32_t)t->e[k].route,
                                                (uint32_t)(t->e[k].route >> 32)};
            int rc = add(w, SNN_SEC_ROUTES, SNN_IMAGE_WHERE(x, y, SNN_IMAGE_NO_CORE), r,
                         (uint64_t)t->n * sizeof *r, NULL, 0);
            if (rc)
                return rc;
        }
    return 0;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int add_cores(struct writer *w)
{
    const struct snn_map *map = w->map;
    uint32_t S = map->n_slices;
    uint64_t *order = snn_arena_array(w->a, S ? S : 1, sizeof *order);
    struct snn_image_sdram *pre = snn_arena_array(w->a, S ? S : 1, sizeof *pre);
    if (!order || !pre)
        return SNN_ENOMEM;
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_slice *sl = &map->slices[s];
        order[s] = ((uint64_t)(sl->y * map->m->width + sl->x) << 40) |
                   ((uint64_t)sl->core << 32) | s;
    }
    qsort(order, S, sizeof *order, compare_u64);
    for (uint32_t k = 0; k < S; k++) {
        uint32_t s = (uint32_t)order[k];
        const struct snn_slice *sl = &map->slices[s];
        const struct snn_core_image *im = &map->images[s];
        uint32_t where = SNN_IMAGE_WHERE(sl->x, sl->y, sl->core);
        int rc = add(w, SNN_SEC_CORE_DTCM, where, im->dtcm, (uint64_t)im->dtcm_words * 4, NULL, 0);
        if (rc)
            return rc;
        pre[k] = (struct snn_image_sdram){(uint32_t)im->chip_offset,
                                          (uint32_t)(im->chip_offset >> 32), im->sdram_bytes,
                                          im->sdram_words * 4u};
        rc = add(w, SNN_SEC_CORE_SDRAM, where, &pre[k], sizeof pre[k], im->sdram,
                 (uint64_t)im->sdram_words * 4);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- writing ------------------------------------------------------------------ */

static int put(FILE *out, const void *p, uint64_t n)
{
    const uint8_t *b = p;
    while (n) {
        size_t k = n > ((size_t)1 << 30) ? (size_t)1 << 30 : (size_t)n;
        if (fwrite(b, 1, k, out) != k)
            return SNN_EIO;
        b += k;
        n -= k;
    }
    return 0;
}

static int write_all(struct writer *w, FILE *out)
{
    uint64_t table_bytes = (uint64_t)w->n * sizeof(struct snn_image_section);
    uint64_t at = align8(sizeof(struct snn_image_header) + table_bytes);
    struct snn_image_section *table = snn_arena_array(w->a, w->n ? w->n : 1, sizeof *table);
    if (!table)
        return SNN_ENOMEM;
    for (uint32_t k = 0; k < w->n; k++) {
        w->secs[k].e.off_lo = (uint32_t)at;
        w->secs[k].e.off_hi = (uint32_t)(at >> 32);
        table[k] = w->secs[k].e;
        at = align8(at + w->secs[k].e.bytes);
    }
    struct snn_image_header h = {0};
    h.magic = SNN_IMAGE_MAGIC;
    h.version = SNN_IMAGE_VERSION;
    h.family = SNN_IMAGE_FAMILY_SPINN;
    h.header_bytes = sizeof h;
    h.n_sections = w->n;
    h.table_off = sizeof h;
    h.total_lo = (uint32_t)at;
    h.total_hi = (uint32_t)(at >> 32);
    h.table_crc = snn_crc32(0, table, (size_t)table_bytes);
    h.header_crc = snn_crc32(0, &h, offsetof(struct snn_image_header, header_crc));

    static const uint8_t zeros[8];
    uint64_t pos = sizeof h + table_bytes;
    int rc = put(out, &h, sizeof h);
    rc = rc ? rc : put(out, table, table_bytes);
    for (uint32_t k = 0; k < w->n && !rc; k++) {
        uint64_t off = (uint64_t)w->secs[k].e.off_lo | (uint64_t)w->secs[k].e.off_hi << 32;
        rc = put(out, zeros, off - pos);
        for (int j = 0; j < 2 && !rc; j++)
            rc = put(out, w->secs[k].part[j].p, w->secs[k].part[j].n);
        pos = off + w->secs[k].e.bytes;
    }
    rc = rc ? rc : put(out, zeros, at - pos);
    return rc;
}

int snn_spinn_image_write(const struct snn_map *map, FILE *out, struct snn_diag *d)
{
    unsigned need = SNN_MAP_HAVE(SNN_PASS_COUNT) - 1;
    if ((map->have & need) != need || !map->images || !map->q)
        return SNN_EINVAL;
    struct writer w = {.map = map, .d = d, .a = snn_arena_new()};
    if (!w.a)
        return SNN_ENOMEM;
    int rc = add_machine(&w);
    rc = rc ? rc : add_run(&w);
    rc = rc ? rc : add_routes(&w);
    rc = rc ? rc : add_cores(&w);
    if (!rc) {
        rc = write_all(&w, out);
        if (rc == SNN_EIO)
            snn_diag_error(d, NULL, "cannot write the image: %s", strerror(errno));
    }
    snn_arena_free(w.a);
    return rc;
}

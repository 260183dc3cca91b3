/*
 * runtime/image.c: the image reader (runtime/image.h).
 *
 * Checks an image in the order its parts depend on each other, each step
 * trusting only what the steps before it proved:
 *
 *   1. the header: size, magic, version, checksum, family, sizes, flags,
 *      total = the size given;
 *   2. the section table: inside the image, its checksum;
 *   3. the payloads: 8-aligned, after the table, inside the image, not
 *      overlapping; every byte between them zero; every checksum;
 *   4. spinn: MACHINE first, RUN second (their contents, including the
 *      slices against the machine), then the routing tables by chip (y,
 *      then x), then for every core (y, x, core) its CORE_DTCM and
 *      CORE_SDRAM, matched one to one with the run's slices, each payload
 *      checked against its slice, population and machine, down to the
 *      row indices and synaptic words.
 *
 * Every count in the image is bounded by the bytes that hold it before
 * it sizes an allocation or a loop, and every word is copied out with
 * memcpy, so any bytes at any alignment are safe.  The first problem
 * found is reported ("NAME: error: byte OFFSET: ...") and ends the check.
 * Memory: one arena per image (its copies and the check's scratch),
 * freed by snn_image_free or on failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "abi/core_image.h"
#include "abi/image.h"
#include "abi/neuron.h"
#include "runtime/image.h"
#include "support/arena.h"
#include "support/crc32.h"
#include "support/err.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "images are little-endian; this reader copies their words as the host holds them"
#endif


#define HEADER_BYTES 48u
#define ENTRY_BYTES 24u
#define NONE 0xFFFFFFFFu
/* The machine's limits (target/target.h): a side of 256 chips fits the
 * 8 bits a place gives x and y; 58 cores fit the route word's bits
 * 6 .. 63. */
#define MAX_SIDE 256u
#define MAX_CORES 58u
#define LINKS 6u
/* A core's place as one ordered number: by y, then x, then core. */
#define ORDER(w) ((SNN_IMAGE_WHERE_Y(w) << 16) | (SNN_IMAGE_WHERE_X(w) << 8) | SNN_IMAGE_WHERE_CORE(w))
#define DEAD_CHIP ((uint64_t)1 << 63)

struct snn_image {
    struct snn_arena *arena;
    void *owned;                  /* snn_image_read_file's buffer */
    const uint8_t *data;
    uint64_t size;
    struct snn_image_header h;
    struct snn_image_section *sec; /* h.n_sections */
    struct snn_image_machine machine;
    uint32_t *dead;               /* chips, cores, links */
    struct snn_image_run run;
    struct snn_image_pop *pops;
    struct snn_image_slice *slices;
    const char *names;
    uint32_t *slice_sec;          /* per slice: its CORE_DTCM section (CORE_SDRAM is next) */
    uint32_t *chip_routes;        /* per chip (y * width + x): its ROUTES section or NONE */
    /* totals, for describe */
    uint64_t n_routes, dtcm_bytes, sdram_bytes, stored_bytes, synapses;
    uint32_t route_chips;
};

/* ---- reporting ------------------------------------------------------------ */

struct ck {
    struct snn_image *img;
    const char *name;
    struct snn_diag *d;
    struct snn_arena *a;
    uint64_t *chip_dead;          /* per chip: bit c core c dead, DEAD_CHIP the chip */
    uint32_t *by_place;           /* slices sorted by place */
    uint64_t (*blocks)[3];        /* the current chip's SDRAM blocks: start, end, section */
    uint32_t n_blocks;
    uint64_t (*edges)[2];         /* a core's edges: index_off, end */
};

static const char *const kind_names[] = {NULL, "MACHINE", "RUN", "ROUTES", "CORE_DTCM",
                                         "CORE_SDRAM"};

static const char *kind_name(uint32_t kind)
{
    return kind >= 1 && kind <= 5 ? kind_names[kind] : NULL;
}

/* "section 3 (ROUTES of chip (1, 0))" into buf. */
static void sec_desc(char *buf, size_t n, uint32_t k, const struct snn_image_section *s)
{
    char kind[24], place[48] = "";
    const char *kn = kind_name(s->kind);
    if (kn)
        snprintf(kind, sizeof kind, "%s", kn);
    else
        snprintf(kind, sizeof kind, "kind %u", s->kind);
    uint32_t w = s->where;
    if (w >> 24 && w != SNN_IMAGE_WHOLE)
        snprintf(place, sizeof place, " at 0x%08x", w);
    else if (w != SNN_IMAGE_WHOLE && SNN_IMAGE_WHERE_CORE(w) == SNN_IMAGE_NO_CORE)
        snprintf(place, sizeof place, " of chip (%u, %u)", SNN_IMAGE_WHERE_X(w),
                 SNN_IMAGE_WHERE_Y(w));
    else if (w != SNN_IMAGE_WHOLE)
        snprintf(place, sizeof place, " of chip (%u, %u) core %u", SNN_IMAGE_WHERE_X(w),
                 SNN_IMAGE_WHERE_Y(w), SNN_IMAGE_WHERE_CORE(w));
    snprintf(buf, n, "section %u (%s%s)", k, kind, place);
}

static int vfail(struct ck *c, uint64_t off, const char *what, const char *fmt, va_list ap)
{
    char msg[400];
    vsnprintf(msg, sizeof msg, fmt, ap);
    struct snn_loc loc = {c->name, 0, 0, 0};
    snn_diag_error(c->d, &loc, "byte %llu: %s%s%s", (unsigned long long)off, what ? what : "",
                   what ? ": " : "", msg);
    return SNN_EPARSE;
}

/* Reports the problem at byte off; returns SNN_EPARSE. */
__attribute__((format(printf, 3, 4))) static int fail(struct ck *c, uint64_t off,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(c, off, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

/* The same, naming section k. */
__attribute__((format(printf, 4, 5))) static int fail_sec(struct ck *c, uint64_t off, uint32_t k,
                                                          const char *fmt, ...)
{
    char what[96];
    sec_desc(what, sizeof what, k, &c->img->sec[k]);
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(c, off, what, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- helpers ---------------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

static uint64_t u64(uint32_t lo, uint32_t hi)
{
    return (uint64_t)lo | (uint64_t)hi << 32;
}

static uint64_t sec_off(const struct snn_image_section *s)
{
    return u64(s->off_lo, s->off_hi);
}

static const uint8_t *payload(const struct snn_image *img, uint32_t k)
{
    return img->data + sec_off(&img->sec[k]);
}

static uint32_t popcount(uint32_t w)
{
    return snn_popcount32(w);
}

static bool is_source(uint32_t model)
{
    return model == FX_MODEL_SPIKE_SOURCE_ARRAY || model == FX_MODEL_SPIKE_SOURCE_POISSON;
}

static const char *model_name(uint32_t model)
{
    static const char *const names[] = {NULL,         "lif_curr_exp", "lif_cond_exp",
                                        "if_curr_delta", "izhikevich", "if",
                                        "spike_source_array", "spike_source_poisson"};
    return model >= 1 && model <= 7 ? names[model] : "?";
}

/* ---- 1, 2: the header and the table ------------------------------------------ */

static int check_header(struct ck *c)
{
    struct snn_image *img = c->img;
    if (img->size < HEADER_BYTES)
        return fail(c, img->size,
                    "the image ends inside its header: %llu bytes, the header alone is 48",
                    (unsigned long long)img->size);
    struct snn_image_header *h = &img->h;
    memcpy(h, img->data, sizeof *h);
    if (h->magic != SNN_IMAGE_MAGIC)
        return fail(c, 0, "not an image: the magic is 0x%08x, an image's is 0x%08x (\"SNNB\")",
                    h->magic, SNN_IMAGE_MAGIC);
    if (h->version != SNN_IMAGE_VERSION)
        return fail(c, 4, "image version %u; this reader reads version %u", h->version,
                    SNN_IMAGE_VERSION);
    uint32_t crc = snn_crc32(0, img->data, offsetof(struct snn_image_header, header_crc));
    if (crc != h->header_crc)
        return fail(c, 44, "header checksum 0x%08x, the header's is 0x%08x", h->header_crc, crc);
    if (h->family == SNN_IMAGE_FAMILY_SDT)
        return fail(c, 8, "an sdt image (family 2); this reader reads spinn images (family 1)");
    if (h->family != SNN_IMAGE_FAMILY_SPINN)
        return fail(c, 8, "unknown family %u (1 is spinn, 2 sdt)", h->family);
    if (h->header_bytes != HEADER_BYTES)
        return fail(c, 12, "header_bytes is %u, not 48", h->header_bytes);
    if (h->table_off != HEADER_BYTES)
        return fail(c, 20, "table_off is %u, not 48 (the table follows the header)",
                    h->table_off);
    if (h->flags)
        return fail(c, 32, "unknown flags 0x%08x (this reader knows none)", h->flags);
    if (h->reserved)
        return fail(c, 36, "the reserved word is 0x%08x, not 0", h->reserved);
    uint64_t total = u64(h->total_lo, h->total_hi);
    if (total != img->size)
        return fail(c, 24, "the header says the image is %llu bytes; it is %llu%s",
                    (unsigned long long)total, (unsigned long long)img->size,
                    total > img->size ? " (truncated?)" : "");
    return 0;
}

static int check_table(struct ck *c)
{
    struct snn_image *img = c->img;
    uint32_t n = img->h.n_sections;
    uint64_t end = HEADER_BYTES + (uint64_t)n * ENTRY_BYTES;
    if (end > img->size)
        return fail(c, 16, "%u sections need a table up to byte %llu, past the image's end (%llu)",
                    n, (unsigned long long)end, (unsigned long long)img->size);
    uint32_t crc = snn_crc32(0, img->data + HEADER_BYTES, (size_t)(end - HEADER_BYTES));
    if (crc != img->h.table_crc)
        return fail(c, 40, "section table checksum 0x%08x, the table's is 0x%08x",
                    img->h.table_crc, crc);
    img->sec = snn_arena_array(c->a, n ? n : 1, sizeof *img->sec);
    if (!img->sec)
        return SNN_ENOMEM;
    memcpy(img->sec, img->data + HEADER_BYTES, (size_t)n * ENTRY_BYTES);
    return 0;
}

/* ---- 3: the payloads --------------------------------------------------------- */

struct span {
    uint64_t off, end;
    uint32_t k;
};

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

static int check_payloads(struct ck *c)
{
    struct snn_image *img = c->img;
    uint32_t n = img->h.n_sections;
    uint64_t table_end = HEADER_BYTES + (uint64_t)n * ENTRY_BYTES;
    struct span *sp = snn_arena_array(c->a, n ? n : 1, sizeof *sp);
    if (!sp)
        return SNN_ENOMEM;
    for (uint32_t k = 0; k < n; k++) {
        const struct snn_image_section *s = &img->sec[k];
        uint64_t eo = HEADER_BYTES + (uint64_t)k * ENTRY_BYTES, off = sec_off(s);
        if (off % 8)
            return fail_sec(c, eo + 8, k, "its payload's offset %llu is not a multiple of 8",
                            (unsigned long long)off);
        if (off < table_end)
            return fail_sec(c, eo + 8, k,
                            "its payload at byte %llu lies in the header or the section table "
                            "(they end at byte %llu)",
                            (unsigned long long)off, (unsigned long long)table_end);
        if (off > img->size || s->bytes > img->size - off)
            return fail_sec(c, eo + 8, k,
                            "its payload [%llu, %llu) runs past the image's end (%llu)",
                            (unsigned long long)off, (unsigned long long)(off + s->bytes),
                            (unsigned long long)img->size);
        sp[k] = (struct span){off, off + s->bytes, k};
    }
    qsort(sp, n, sizeof *sp, cmp_span);
    /* Overlaps, and every byte outside the payloads is zero. */
    uint64_t pos = table_end;
    uint32_t owner = NONE;
    for (uint32_t i = 0; i <= n; i++) {
        uint64_t next = i < n ? sp[i].off : img->size;
        if (i < n && sp[i].off < pos && sp[i].end > sp[i].off) {
            const struct snn_image_section *o = &img->sec[owner];
            return fail_sec(c, sp[i].off, sp[i].k,
                            "its payload [%llu, %llu) overlaps section %u's [%llu, %llu)",
                            (unsigned long long)sp[i].off, (unsigned long long)sp[i].end, owner,
                            (unsigned long long)sec_off(o),
                            (unsigned long long)(sec_off(o) + o->bytes));
        }
        for (uint64_t b = pos; b < next; b++)
            if (img->data[b])
                return fail(c, b, "0x%02x between payloads, where the image holds zeros",
                            img->data[b]);
        if (i < n && sp[i].end > pos) {
            pos = sp[i].end;
            owner = sp[i].k;
        }
    }
    for (uint32_t k = 0; k < n; k++) {
        const struct snn_image_section *s = &img->sec[k];
        uint32_t crc = snn_crc32(0, payload(img, k), s->bytes);
        if (crc != s->crc)
            return fail_sec(c, sec_off(s), k, "checksum 0x%08x in the table, the payload's is 0x%08x",
                            s->crc, crc);
    }
    return 0;
}

/* ---- 4: spinn: MACHINE ---------------------------------------------------------- */

static int check_machine(struct ck *c, uint32_t k)
{
    struct snn_image *img = c->img;
    const struct snn_image_section *s = &img->sec[k];
    const uint8_t *p = payload(img, k);
    uint64_t at = sec_off(s);
    struct snn_image_machine *m = &img->machine;
    if (s->bytes < sizeof *m)
        return fail_sec(c, at, k, "%u bytes, shorter than the 104-byte machine", s->bytes);
    memcpy(m, p, sizeof *m);
    uint64_t n_dead = (uint64_t)m->n_dead_chips + m->n_dead_cores + m->n_dead_links;
    if (sizeof *m + 4 * n_dead != s->bytes)
        return fail_sec(c, at + 92, k,
                        "%u bytes; a machine with %llu dead parts is 104 + 4 x %llu = %llu bytes",
                        s->bytes, (unsigned long long)n_dead, (unsigned long long)n_dead,
                        (unsigned long long)(sizeof *m + 4 * n_dead));
    const char *nul = memchr(m->name, 0, sizeof m->name);
    if (!nul)
        return fail_sec(c, at, k, "the target's name is not NUL-terminated within 32 bytes");
    for (const char *q = nul; q < m->name + sizeof m->name; q++)
        if (*q)
            return fail_sec(c, at + (uint64_t)(q - m->name), k,
                            "the target's name is not NUL-padded");
    if (m->width < 1 || m->width > MAX_SIDE || m->height < 1 || m->height > MAX_SIDE)
        return fail_sec(c, at + 32, k, "a %u x %u grid; sides are 1 .. 256 chips", m->width,
                        m->height);
    if (m->wrap > 1)
        return fail_sec(c, at + 40, k, "wrap is %u, not 0 or 1", m->wrap);
    if (m->layout > 1)
        return fail_sec(c, at + 44, k, "layout is %u, not 0 (full grid) or 1 (SpiNN-5 board)",
                        m->layout);
    if (m->cores < 1 || m->cores > MAX_CORES)
        return fail_sec(c, at + 48, k, "%u cores per chip; chips have 1 .. 58", m->cores);
    if (m->monitor_cores >= m->cores)
        return fail_sec(c, at + 52, k, "%u monitor cores of %u: none left to run slices",
                        m->monitor_cores, m->cores);
    if (m->router_reserved > m->router_entries)
        return fail_sec(c, at + 80, k, "%u router entries reserved of %u", m->router_reserved,
                        m->router_entries);
    img->dead = snn_arena_array(c->a, n_dead ? n_dead : 1, 4);
    c->chip_dead = snn_arena_array(c->a, (size_t)m->width * m->height, sizeof *c->chip_dead);
    if (!img->dead || !c->chip_dead)
        return SNN_ENOMEM;
    memcpy(img->dead, p + sizeof *m, 4 * n_dead);
    for (uint64_t i = 0; i < n_dead; i++) {
        uint32_t w = img->dead[i], x = SNN_IMAGE_WHERE_X(w), y = SNN_IMAGE_WHERE_Y(w),
                 third = SNN_IMAGE_WHERE_CORE(w);
        const char *what = i < m->n_dead_chips                      ? "chip"
                           : i < m->n_dead_chips + m->n_dead_cores ? "core"
                                                                   : "link";
        uint64_t o = at + sizeof *m + 4 * i;
        if (w >> 24 || x >= m->width || y >= m->height)
            return fail_sec(c, o, k, "a dead %s 0x%08x outside the %u x %u grid", what, w,
                            m->width, m->height);
        uint64_t *cd = &c->chip_dead[(size_t)y * m->width + x];
        if (i < m->n_dead_chips) {
            if (third)
                return fail_sec(c, o, k, "a dead chip 0x%08x with a core", w);
            *cd |= DEAD_CHIP;
        } else if (i < m->n_dead_chips + m->n_dead_cores) {
            if (third >= m->cores)
                return fail_sec(c, o, k, "dead core %u of chip (%u, %u); chips have %u cores",
                                third, x, y, m->cores);
            *cd |= (uint64_t)1 << third;
        } else if (third >= LINKS) {
            return fail_sec(c, o, k, "dead link %u of chip (%u, %u); links are 0 .. 5", third, x,
                            y);
        }
    }
    img->chip_routes = snn_arena_array(c->a, (size_t)m->width * m->height, 4);
    if (!img->chip_routes)
        return SNN_ENOMEM;
    for (size_t i = 0; i < (size_t)m->width * m->height; i++)
        img->chip_routes[i] = NONE;
    return 0;
}

/* ---- RUN -------------------------------------------------------------------------- */

/* Sorts idx[0 .. n) by the slices' places, stably, with a bottom-up merge
 * sort (qsort's comparator cannot take the slices as a context). */
static void sort_by_place(uint32_t *idx, uint32_t *tmp, uint32_t n, const struct snn_image_slice *sl)
{
    for (uint32_t w = 1; w < n; w *= 2) {
        for (uint32_t lo = 0; lo < n; lo += 2 * w) {
            uint32_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            uint32_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                tmp[o++] = ORDER(sl[idx[j]].where) < ORDER(sl[idx[i]].where) ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[o++] = idx[i++];
            while (j < hi)
                tmp[o++] = idx[j++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

static int check_run(struct ck *c, uint32_t k)
{
    struct snn_image *img = c->img;
    const struct snn_image_section *s = &img->sec[k];
    const struct snn_image_machine *m = &img->machine;
    const uint8_t *p = payload(img, k);
    uint64_t at = sec_off(s);
    struct snn_image_run *r = &img->run;
    if (s->bytes < sizeof *r)
        return fail_sec(c, at, k, "%u bytes, shorter than the 32-byte run header", s->bytes);
    memcpy(r, p, sizeof *r);
    uint64_t need = sizeof *r + 24ull * r->n_pops + 24ull * r->n_slices + r->names_bytes;
    if (need != s->bytes)
        return fail_sec(c, at + 16, k,
                        "%u bytes; %u populations, %u slices and %u bytes of names make %llu",
                        s->bytes, r->n_pops, r->n_slices, r->names_bytes,
                        (unsigned long long)need);
    if (r->dt_ns == 0)
        return fail_sec(c, at, k, "a timestep of 0 ns");
    if (r->reserved)
        return fail_sec(c, at + 28, k, "the reserved word is 0x%08x, not 0", r->reserved);
    img->pops = snn_arena_array(c->a, r->n_pops ? r->n_pops : 1, sizeof *img->pops);
    img->slices = snn_arena_array(c->a, r->n_slices ? r->n_slices : 1, sizeof *img->slices);
    img->slice_sec = snn_arena_array(c->a, r->n_slices ? r->n_slices : 1, 4);
    c->by_place = snn_arena_array(c->a, r->n_slices ? r->n_slices : 1, 4);
    uint32_t *tmp = snn_arena_array(c->a, r->n_slices ? r->n_slices : 1, 4);
    if (!img->pops || !img->slices || !img->slice_sec || !c->by_place || !tmp)
        return SNN_ENOMEM;
    uint64_t pops_at = at + sizeof *r, slices_at = pops_at + 24ull * r->n_pops;
    memcpy(img->pops, p + sizeof *r, 24ull * r->n_pops);
    memcpy(img->slices, p + (slices_at - at), 24ull * r->n_slices);
    img->names = (const char *)p + (slices_at - at) + 24ull * r->n_slices;

    uint32_t next_slice = 0;
    for (uint32_t i = 0; i < r->n_pops; i++) {
        const struct snn_image_pop *pp = &img->pops[i];
        uint64_t o = pops_at + 24ull * i;
        if (pp->size == 0)
            return fail_sec(c, o, k, "population %u has no neurons", i);
        if (!snn_core_params_bytes(pp->model))
            return fail_sec(c, o + 4, k, "population %u: unknown model %u", i, pp->model);
        if (pp->record & ~(uint32_t)(SNN_CORE_RECORD_SPIKES | SNN_CORE_RECORD_V))
            return fail_sec(c, o + 8, k, "population %u: unknown recording bits 0x%x", i,
                            pp->record);
        if (pp->first_slice != next_slice || pp->n_slices == 0 ||
            pp->n_slices > r->n_slices - next_slice)
            return fail_sec(c, o + 12, k,
                            "population %u's slices [%u, +%u) do not follow the previous "
                            "population's (next is %u of %u)",
                            i, pp->first_slice, pp->n_slices, next_slice, r->n_slices);
        next_slice += pp->n_slices;
        if (pp->name_off >= r->names_bytes ||
            !memchr(img->names + pp->name_off, 0, r->names_bytes - pp->name_off))
            return fail_sec(c, o + 20, k,
                            "population %u's name at %u is not NUL-terminated within the %u "
                            "bytes of names",
                            i, pp->name_off, r->names_bytes);
        uint32_t lo = 0;
        for (uint32_t j = pp->first_slice; j < pp->first_slice + pp->n_slices; j++) {
            const struct snn_image_slice *sl = &img->slices[j];
            uint64_t so = slices_at + 24ull * j;
            if (sl->pop != i)
                return fail_sec(c, so, k, "slice %u belongs to population %u, not %u", j,
                                sl->pop, i);
            if (sl->lo != lo || sl->n == 0 || sl->n > SNN_CORE_MAX_NEURONS ||
                sl->n > pp->size - lo)
                return fail_sec(c, so + 4, k,
                                "slice %u holds [%u, +%u) of population %u; next is neuron %u "
                                "of %u, and a slice holds 1 .. 256",
                                j, sl->lo, sl->n, i, lo, pp->size);
            lo += sl->n;
            uint32_t w = sl->where, x = SNN_IMAGE_WHERE_X(w), y = SNN_IMAGE_WHERE_Y(w),
                     core = SNN_IMAGE_WHERE_CORE(w);
            if (w >> 24 || x >= m->width || y >= m->height || core >= m->cores)
                return fail_sec(c, so + 12, k,
                                "slice %u is on chip (%u, %u) core %u, outside the machine "
                                "(%u x %u chips of %u cores)",
                                j, x, y, core, m->width, m->height, m->cores);
            uint64_t dead = c->chip_dead[(size_t)y * m->width + x];
            if ((dead & DEAD_CHIP) || (dead >> core & 1))
                return fail_sec(c, so + 12, k, "slice %u is on chip (%u, %u) core %u, which is dead",
                                j, x, y, core);
            uint32_t free_bits = ~sl->mask;
            if ((free_bits & (free_bits + 1)) || (sl->key & free_bits) || sl->n - 1 > free_bits)
                return fail_sec(c, so + 16, k,
                                "slice %u's key 0x%08x / mask 0x%08x is not a block of at least "
                                "its %u neurons' keys",
                                j, sl->key, sl->mask, sl->n);
        }
        if (lo != pp->size)
            return fail_sec(c, o + 16, k, "population %u's slices cover %u of its %u neurons", i,
                            lo, pp->size);
    }
    if (next_slice != r->n_slices)
        return fail_sec(c, at + 20, k, "%u slices, the populations' cover %u", r->n_slices,
                        next_slice);
    for (uint32_t j = 0; j < r->n_slices; j++) {
        c->by_place[j] = j;
        img->slice_sec[j] = NONE;
    }
    sort_by_place(c->by_place, tmp, r->n_slices, img->slices);
    for (uint32_t j = 1; j < r->n_slices; j++) {
        const struct snn_image_slice *a = &img->slices[c->by_place[j - 1]],
                                     *b = &img->slices[c->by_place[j]];
        if (a->where == b->where)
            return fail_sec(c, slices_at + 24ull * c->by_place[j] + 12, k,
                            "slices %u and %u are both on chip (%u, %u) core %u",
                            c->by_place[j - 1], c->by_place[j], SNN_IMAGE_WHERE_X(a->where),
                            SNN_IMAGE_WHERE_Y(a->where), SNN_IMAGE_WHERE_CORE(a->where));
    }
    return 0;
}

/* ---- ROUTES ------------------------------------------------------------------------ */

static int check_routes(struct ck *c, uint32_t k)
{
    struct snn_image *img = c->img;
    const struct snn_image_section *s = &img->sec[k];
    const struct snn_image_machine *m = &img->machine;
    const uint8_t *p = payload(img, k);
    uint64_t at = sec_off(s);
    if (s->bytes == 0 || s->bytes % sizeof(struct snn_image_route))
        return fail_sec(c, at, k, "%u bytes, not a whole number (1 or more) of 16-byte entries",
                        s->bytes);
    uint32_t n = s->bytes / sizeof(struct snn_image_route),
             room = m->router_entries - m->router_reserved;
    if (n > room)
        return fail_sec(c, at, k, "%u entries; the router has room for %u (%u less %u reserved)",
                        n, room, m->router_entries, m->router_reserved);
    uint64_t allowed = 0x3Fu | ((((uint64_t)1 << m->cores) - 1) << 6);
    for (uint32_t i = 0; i < n; i++) {
        struct snn_image_route e;
        memcpy(&e, p + 16ull * i, sizeof e);
        uint64_t route = u64(e.route_lo, e.route_hi), bad = route & ~allowed;
        if (bad) {
            unsigned b = 0;
            while (!(bad >> b & 1))
                b++;
            return fail_sec(c, at + 16ull * i + 8, k,
                            "entry %u routes to core %u; the machine's chips have %u cores", i,
                            b - 6, m->cores);
        }
    }
    img->n_routes += n;
    img->route_chips++;
    return 0;
}

/* ---- CORE_DTCM and CORE_SDRAM ----------------------------------------------------- */

#define AGREE(field, want)                                                                   \
    do {                                                                                     \
        if (h->field != (want))                                                              \
            return fail_sec(c, at + offsetof(struct snn_core_header, field), k,              \
                            "the core header's " #field " is %u; slice %u's is %u", h->field, \
                            s, (unsigned)(want));                                            \
    } while (0)

/* The DTCM image of slice s in section k; its header in *h. */
static int check_dtcm(struct ck *c, uint32_t k, uint32_t s, struct snn_core_header *h)
{
    struct snn_image *img = c->img;
    const struct snn_image_section *sec = &img->sec[k];
    const struct snn_image_slice *sl = &img->slices[s];
    const struct snn_image_pop *pp = &img->pops[sl->pop];
    const uint8_t *p = payload(img, k);
    uint64_t at = sec_off(sec);
    if (sec->bytes < sizeof *h)
        return fail_sec(c, at, k, "%u bytes, shorter than the 136-byte core header", sec->bytes);
    memcpy(h, p, sizeof *h);
    if (h->version != SNN_CORE_IMAGE_VERSION)
        return fail_sec(c, at, k, "core image version %u; this reader reads %u", h->version,
                        SNN_CORE_IMAGE_VERSION);
    AGREE(model, pp->model);
    AGREE(pop, sl->pop);
    AGREE(lo, sl->lo);
    AGREE(n, sl->n);
    AGREE(key, sl->key);
    AGREE(n_steps, img->run.n_steps);
    AGREE(seed_lo, img->run.seed_lo);
    AGREE(seed_hi, img->run.seed_hi);
    if (h->flags & ~(uint32_t)(SNN_CORE_RECORD_SPIKES | SNN_CORE_RECORD_V | SNN_CORE_SILENT))
        return fail_sec(c, at + offsetof(struct snn_core_header, flags), k,
                        "unknown core flags 0x%x", h->flags);
    if ((h->flags & (SNN_CORE_RECORD_SPIKES | SNN_CORE_RECORD_V)) != pp->record)
        return fail_sec(c, at + offsetof(struct snn_core_header, flags), k,
                        "records 0x%x; its population records 0x%x", h->flags & 3u, pp->record);
    uint32_t nv = 0;
    for (uint32_t g = 0; g < SNN_CORE_MAX_NEURONS / 32; g++) {
        uint32_t w = h->record_v_mask[g], below = 32 * g >= h->n ? 0
                                                  : h->n - 32 * g >= 32 ? 0xFFFFFFFFu
                                                                        : (1u << (h->n - 32 * g)) - 1;
        if ((w & ~below) || (w && !(h->flags & SNN_CORE_RECORD_V)))
            return fail_sec(c, at + offsetof(struct snn_core_header, record_v_mask) + 4 * g, k,
                            "record_v_mask word %u is 0x%08x: a neuron outside the %u of the "
                            "slice, or v not recorded",
                            g, w, h->n);
        nv += popcount(w);
    }
    if (h->n_record_v != nv)
        return fail_sec(c, at + offsetof(struct snn_core_header, n_record_v), k,
                        "n_record_v is %u; the mask has %u neurons", h->n_record_v, nv);
    bool src = is_source(h->model);
    if (src ? h->ring_slots != 0 || h->n_keys != 0
            : h->ring_slots < 2 || (h->ring_slots & (h->ring_slots - 1)))
        return fail_sec(c, at + offsetof(struct snn_core_header, ring_slots), k,
                        "ring_slots %u, n_keys %u: a source has 0 and 0, a neuron a power of two "
                        "of at least 2 slots",
                        h->ring_slots, h->n_keys);
    uint64_t state_off = 136ull + (uint64_t)h->n * snn_core_params_bytes(h->model),
             keys_off = state_off + (uint64_t)h->n * snn_core_state_bytes(h->model),
             img_bytes = keys_off + 16ull * h->n_keys;
    if (h->params_off != 136 || h->state_off != state_off || h->keys_off != keys_off ||
        h->dtcm_image_bytes != img_bytes || img_bytes != sec->bytes)
        return fail_sec(c, at + offsetof(struct snn_core_header, params_off), k,
                        "parts at %u, %u, %u, %u bytes in all, in a %u-byte payload; %u neurons "
                        "of %s with %u keys put them at 136, %llu, %llu, %llu bytes",
                        h->params_off, h->state_off, h->keys_off, h->dtcm_image_bytes, sec->bytes,
                        h->n, model_name(h->model), h->n_keys, (unsigned long long)state_off,
                        (unsigned long long)keys_off, (unsigned long long)img_bytes);
    uint64_t ring = 8ull * h->ring_slots * h->n;
    if (img_bytes - 136 + ring > img->machine.dtcm_bytes)
        return fail_sec(c, at + offsetof(struct snn_core_header, ring_slots), k,
                        "the image (%llu bytes after its header) and ring buffers (%llu) exceed "
                        "the core's %u bytes of DTCM",
                        (unsigned long long)(img_bytes - 136), (unsigned long long)ring,
                        img->machine.dtcm_bytes);
    /* SDRAM: rows, times, spikes, v, one after another from 0. */
    uint64_t spikes = (h->flags & SNN_CORE_RECORD_SPIKES) ? 4ull * h->n_steps * ((h->n + 31) / 32) : 0,
             v = (h->flags & SNN_CORE_RECORD_V) ? 4ull * h->n_steps * h->n_record_v : 0;
    uint64_t times_off = h->rows_bytes, spikes_off = times_off + h->times_bytes,
             v_off = spikes_off + h->spikes_bytes, end = v_off + h->v_bytes;
    if (h->rows_off != 0 || h->rows_bytes % 4 || h->times_bytes % 4 || h->times_off != times_off ||
        (h->times_bytes && h->model != FX_MODEL_SPIKE_SOURCE_ARRAY) ||
        h->spikes_off != spikes_off || h->spikes_bytes != spikes || h->v_off != v_off ||
        h->v_bytes != v || h->sdram_bytes != end)
        return fail_sec(c, at + offsetof(struct snn_core_header, rows_off), k,
                        "SDRAM regions rows %u+%u, times %u+%u, spikes %u+%u, v %u+%u in %u bytes "
                        "do not follow one another from 0 with the recording's sizes "
                        "(spikes %llu, v %llu)",
                        h->rows_off, h->rows_bytes, h->times_off, h->times_bytes, h->spikes_off,
                        h->spikes_bytes, h->v_off, h->v_bytes, h->sdram_bytes,
                        (unsigned long long)spikes, (unsigned long long)v);
    if (h->model == FX_MODEL_SPIKE_SOURCE_ARRAY)
        for (uint32_t i = 0; i < h->n; i++) {
            struct snn_array_neuron an;
            memcpy(&an, p + 136 + 8ull * i, sizeof an);
            if (an.first > an.end || an.end > h->times_bytes / 4)
                return fail_sec(c, at + 136 + 8ull * i, k,
                                "neuron %u's spike times [%u, %u) are outside the %u words of "
                                "times",
                                i, an.first, an.end, h->times_bytes / 4);
        }
    /* The key table: sorted, disjoint blocks, each index's groups in the rows. */
    uint64_t prev_end = 0;
    for (uint32_t j = 0; j < h->n_keys; j++) {
        struct snn_key_entry e;
        uint64_t eo = keys_off + 16ull * j;
        memcpy(&e, p + eo, sizeof e);
        uint32_t free_bits = ~e.mask;
        if ((free_bits & (free_bits + 1)) || (e.key & free_bits) || (j && e.key < prev_end))
            return fail_sec(c, at + eo, k,
                            "key entry %u (0x%08x / 0x%08x) is not a block after the previous "
                            "entry's",
                            j, e.key, e.mask);
        prev_end = (uint64_t)e.key + free_bits + 1;
        uint64_t groups = (e.n_pre + 31) / 32;
        if (e.n_pre == 0 || e.n_pre > SNN_CORE_MAX_NEURONS || e.n_pre - 1 > free_bits)
            return fail_sec(c, at + eo + 12, k,
                            "key entry %u has %u pre neurons; 1 .. 256 and within its block", j,
                            e.n_pre);
        if (e.index_off % 4 || e.index_off > h->rows_bytes ||
            8 * groups > h->rows_bytes - e.index_off)
            return fail_sec(c, at + eo + 8, k,
                            "key entry %u's row index at %u (%llu bytes of groups) is outside "
                            "the %u bytes of rows",
                            j, e.index_off, (unsigned long long)(8 * groups), h->rows_bytes);
    }
    return 0;
}

static int cmp_edge(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* The SDRAM block of slice s in section k (its DTCM image, header h, is
 * section k - 1): placement, sizes, and every edge's row index and rows. */
static int check_sdram(struct ck *c, uint32_t k, uint32_t s, const struct snn_core_header *h)
{
    struct snn_image *img = c->img;
    const struct snn_image_section *sec = &img->sec[k];
    const uint8_t *p = payload(img, k), *dtcm = payload(img, k - 1);
    uint64_t at = sec_off(sec), sdram = u64(img->machine.sdram_lo, img->machine.sdram_hi);
    struct snn_image_sdram pre;
    if (sec->bytes < sizeof pre)
        return fail_sec(c, at, k, "%u bytes, shorter than its 16-byte placement", sec->bytes);
    memcpy(&pre, p, sizeof pre);
    uint64_t chip_off = u64(pre.chip_off_lo, pre.chip_off_hi);
    if (pre.stored_bytes != sec->bytes - sizeof pre ||
        pre.stored_bytes != (uint64_t)h->rows_bytes + h->times_bytes)
        return fail_sec(c, at + 12, k,
                        "stored_bytes %u; the payload holds %u after its placement and the core "
                        "header's rows and times are %llu",
                        pre.stored_bytes, sec->bytes - 16,
                        (unsigned long long)h->rows_bytes + h->times_bytes);
    if (pre.block_bytes != h->sdram_bytes)
        return fail_sec(c, at + 8, k, "block_bytes %u; the core header's sdram_bytes is %u",
                        pre.block_bytes, h->sdram_bytes);
    if (chip_off > sdram || pre.block_bytes > sdram - chip_off)
        return fail_sec(c, at, k, "the block [%llu, +%u) is outside the chip's %llu bytes of SDRAM",
                        (unsigned long long)chip_off, pre.block_bytes, (unsigned long long)sdram);
    if (pre.block_bytes) {
        uint64_t *b = c->blocks[c->n_blocks++];
        b[0] = chip_off;
        b[1] = chip_off + pre.block_bytes;
        b[2] = k;
    }
    const uint8_t *rows = p + sizeof pre;
    uint64_t rows_at = at + sizeof pre;
    /* Each edge: groups, row offsets, rows, consecutively; the edges tile
     * the rows region (so each word is checked once). */
    for (uint32_t j = 0; j < h->n_keys; j++) {
        struct snn_key_entry e;
        memcpy(&e, dtcm + h->keys_off + 16ull * j, sizeof e);
        uint32_t groups = (e.n_pre + 31) / 32, before = 0;
        uint64_t io = e.index_off;
        for (uint32_t g = 0; g < groups; g++) {
            struct snn_row_group rg;
            memcpy(&rg, rows + io + 8ull * g, sizeof rg);
            uint32_t valid = e.n_pre - 32 * g >= 32 ? 0xFFFFFFFFu : (1u << (e.n_pre - 32 * g)) - 1;
            if (rg.before != before || (rg.bits & ~valid))
                return fail_sec(c, rows_at + io + 8ull * g, k,
                                "edge %u's row group %u (bits 0x%08x, before %u): %u rows come "
                                "before it, and it has %u pre neurons",
                                j, g, rg.bits, rg.before, before,
                                e.n_pre - 32 * g < 32 ? e.n_pre - 32 * g : 32);
            before += popcount(rg.bits);
        }
        uint64_t row = io + 8ull * groups + 4ull * before;
        if (row > h->rows_bytes)
            return fail_sec(c, rows_at + io, k,
                            "edge %u's row index (%u rows) runs past the %u bytes of rows", j,
                            before, h->rows_bytes);
        for (uint32_t r = 0; r < before; r++) {
            uint64_t ro = io + 8ull * groups + 4ull * r;
            uint32_t off = rd32(rows + ro);
            if (off != row || row + 4 > h->rows_bytes)
                return fail_sec(c, rows_at + ro, k,
                                "edge %u's row %u is at %u; it goes at %llu, after the one "
                                "before, within the %u bytes of rows",
                                j, r, off, (unsigned long long)row, h->rows_bytes);
            uint32_t head = rd32(rows + row);
            uint64_t n_syn = (uint64_t)snn_row_n_exc(head) + snn_row_n_inh(head);
            if (4 * n_syn > h->rows_bytes - row - 4)
                return fail_sec(c, rows_at + row, k,
                                "edge %u's row %u has %llu synapses, past the %u bytes of rows",
                                j, r, (unsigned long long)n_syn, h->rows_bytes);
            for (uint64_t i = 0; i < n_syn; i++) {
                uint32_t w = rd32(rows + row + 4 + 4 * i);
                if (snn_syn_index(w) >= h->n || snn_syn_delay(w) < 1 ||
                    snn_syn_delay(w) >= h->ring_slots)
                    return fail_sec(c, rows_at + row + 4 + 4 * i, k,
                                    "synaptic word 0x%08x: neuron %u of %u, delay %u; delays "
                                    "are 1 .. %u",
                                    w, snn_syn_index(w), h->n, snn_syn_delay(w),
                                    h->ring_slots - 1);
            }
            img->synapses += n_syn;
            row += 4 + 4 * n_syn;
        }
        c->edges[j][0] = io;
        c->edges[j][1] = row;
    }
    qsort(c->edges, h->n_keys, sizeof *c->edges, cmp_edge);
    uint64_t pos = 0;
    for (uint32_t j = 0; j < h->n_keys; j++) {
        if (c->edges[j][0] != pos)
            return fail_sec(c, rows_at + (c->edges[j][0] < pos ? c->edges[j][0] : pos), k,
                            "the edges' row indices and rows %s at byte %llu of the rows",
                            c->edges[j][0] < pos ? "overlap" : "leave a gap",
                            (unsigned long long)(c->edges[j][0] < pos ? c->edges[j][0] : pos));
        pos = c->edges[j][1];
    }
    if (pos != h->rows_bytes)
        return fail_sec(c, rows_at + pos, k,
                        "the edges' row indices and rows end at %llu of the %u bytes of rows",
                        (unsigned long long)pos, h->rows_bytes);
    img->dtcm_bytes += h->dtcm_image_bytes;
    img->sdram_bytes += pre.block_bytes;
    img->stored_bytes += pre.stored_bytes;
    (void)s;
    return 0;
}

static int cmp_block(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* The SDRAM blocks gathered for one chip do not overlap. */
static int check_blocks(struct ck *c)
{
    qsort(c->blocks, c->n_blocks, sizeof *c->blocks, cmp_block);
    for (uint32_t i = 1; i < c->n_blocks; i++)
        if (c->blocks[i][0] < c->blocks[i - 1][1]) {
            uint32_t k = (uint32_t)c->blocks[i][2];
            return fail_sec(c, sec_off(&c->img->sec[k]), k,
                            "its SDRAM block [%llu, %llu) overlaps section %u's [%llu, %llu)",
                            (unsigned long long)c->blocks[i][0],
                            (unsigned long long)c->blocks[i][1], (uint32_t)c->blocks[i - 1][2],
                            (unsigned long long)c->blocks[i - 1][0],
                            (unsigned long long)c->blocks[i - 1][1]);
        }
    c->n_blocks = 0;
    return 0;
}

/* ---- the spinn sections' order ------------------------------------------------------- */

static int check_place(struct ck *c, uint32_t k)
{
    const struct snn_image_section *s = &c->img->sec[k];
    uint64_t eo = HEADER_BYTES + (uint64_t)k * ENTRY_BYTES + 4;
    uint32_t w = s->where;
    if (!kind_name(s->kind))
        return fail_sec(c, eo - 4, k, "unknown kind %u", s->kind);
    if (s->kind <= SNN_SEC_RUN)
        return w == SNN_IMAGE_WHOLE ? 0
                                    : fail_sec(c, eo, k, "a whole-image section with a place "
                                                         "(0x%08x)", w);
    if (w >> 24)
        return fail_sec(c, eo, k, "the place 0x%08x is neither a chip nor a core", w);
    const struct snn_image_machine *m = &c->img->machine;
    uint32_t x = SNN_IMAGE_WHERE_X(w), y = SNN_IMAGE_WHERE_Y(w), core = SNN_IMAGE_WHERE_CORE(w);
    if (s->kind == SNN_SEC_ROUTES && core != SNN_IMAGE_NO_CORE)
        return fail_sec(c, eo, k, "a chip's section with a core (%u)", core);
    if (s->kind != SNN_SEC_ROUTES && core == SNN_IMAGE_NO_CORE)
        return fail_sec(c, eo, k, "a core's section without a core");
    if (x >= m->width || y >= m->height || (core != SNN_IMAGE_NO_CORE && core >= m->cores))
        return fail_sec(c, eo, k, "outside the machine (%u x %u chips of %u cores)", m->width,
                        m->height, m->cores);
    return 0;
}

static int check_spinn(struct ck *c)
{
    struct snn_image *img = c->img;
    uint32_t n = img->h.n_sections;
    if (n < 2)
        return fail(c, 16,
                    "%u section%s; a spinn image starts with a MACHINE and a RUN section", n,
                    n == 1 ? "" : "s");
    static const uint32_t first[2] = {SNN_SEC_MACHINE, SNN_SEC_RUN};
    for (uint32_t k = 0; k < 2; k++)
        if (img->sec[k].kind != first[k])
            return fail_sec(c, HEADER_BYTES + (uint64_t)k * ENTRY_BYTES, k,
                            "section %u must be %s (it is missing or out of place)", k,
                            kind_names[first[k]]);
    int rc;
    if ((rc = check_place(c, 0)) || (rc = check_machine(c, 0)) || (rc = check_place(c, 1)) ||
        (rc = check_run(c, 1)))
        return rc;
    const struct snn_image_machine *m = &img->machine;
    uint32_t S = img->run.n_slices;
    c->blocks = snn_arena_array(c->a, S ? S : 1, sizeof *c->blocks);
    c->edges = snn_arena_array(c->a, 1, sizeof *c->edges);
    if (!c->blocks || !c->edges)
        return SNN_ENOMEM;
    size_t edges_cap = 1;
    uint32_t prev_chip = NONE, prev_core = NONE, matched = 0, pending = NONE;
    uint32_t pending_slice = 0, block_chip = NONE;
    struct snn_core_header h;
    uint64_t slices_at = sec_off(&img->sec[1]) + sizeof img->run + 24ull * img->run.n_pops;
    for (uint32_t k = 2; k <= n; k++) {
        const struct snn_image_section *s = k < n ? &img->sec[k] : NULL;
        uint64_t eo = HEADER_BYTES + (uint64_t)k * ENTRY_BYTES;
        if (pending != NONE && (!s || s->kind != SNN_SEC_CORE_SDRAM || s->where != img->sec[pending].where))
            return fail_sec(c, HEADER_BYTES + (uint64_t)pending * ENTRY_BYTES, pending,
                            "no CORE_SDRAM section follows it (each core has its CORE_DTCM, then "
                            "its CORE_SDRAM)");
        if (s && (rc = check_place(c, k)))
            return rc;
        uint32_t chip = s ? SNN_IMAGE_WHERE_Y(s->where) * m->width + SNN_IMAGE_WHERE_X(s->where)
                          : NONE;
        if (block_chip != NONE && (!s || s->kind == SNN_SEC_CORE_DTCM) && chip != block_chip) {
            if ((rc = check_blocks(c)))
                return rc;
            block_chip = NONE;
        }
        if (!s)
            break;
        switch (s->kind) {
        case SNN_SEC_MACHINE:
        case SNN_SEC_RUN:
            return fail_sec(c, eo, k, "a second %s section", kind_names[s->kind]);
        case SNN_SEC_ROUTES:
            if (prev_core != NONE)
                return fail_sec(c, eo, k, "a routing table after the cores' sections (the tables "
                                          "come first)");
            if (prev_chip != NONE && ORDER(s->where) <= prev_chip)
                return fail_sec(c, eo + 4, k,
                                ORDER(s->where) == prev_chip
                                    ? "a second routing table for the chip"
                                    : "out of order: the tables go by chip, y then x");
            prev_chip = ORDER(s->where);
            img->chip_routes[chip] = k;
            if ((rc = check_routes(c, k)))
                return rc;
            break;
        case SNN_SEC_CORE_DTCM: {
            uint32_t o = ORDER(s->where);
            if (prev_core != NONE && o <= prev_core)
                return fail_sec(c, eo + 4, k,
                                o == prev_core ? "a second CORE_DTCM for the core"
                                               : "out of order: the cores go by chip (y then x) "
                                                 "and core");
            prev_core = o;
            /* the slice on this core: a binary search of the slices by place */
            uint32_t lo = 0, hi = S;
            while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (ORDER(img->slices[c->by_place[mid]].where) < o)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo == S || ORDER(img->slices[c->by_place[lo]].where) != o)
                return fail_sec(c, eo + 4, k, "no slice of the run is on this core");
            matched++;
            pending_slice = c->by_place[lo];
            img->slice_sec[pending_slice] = k;
            if ((rc = check_dtcm(c, k, pending_slice, &h)))
                return rc;
            if (h.n_keys > edges_cap) {
                size_t cap = edges_cap;
                void *arr = c->edges;
                if (snn_arena_grow(c->a, &arr, &cap, h.n_keys, sizeof *c->edges))
                    return SNN_ENOMEM;
                c->edges = arr;
                edges_cap = cap;
            }
            pending = k;
            block_chip = chip;
            break;
        }
        case SNN_SEC_CORE_SDRAM:
            if (pending == NONE)
                return fail_sec(c, eo, k, "no CORE_DTCM section of its core before it");
            if ((rc = check_sdram(c, k, pending_slice, &h)))
                return rc;
            pending = NONE;
            break;
        }
    }
    /* Cores are in strictly increasing order, so each slice matched at
     * most once: fewer matches than slices means some slice has none. */
    for (uint32_t j = 0; matched < S && j < S; j++)
        if (img->slice_sec[j] == NONE)
            return fail(c, slices_at + 24ull * j + 12,
                        "slice %u on chip (%u, %u) core %u has no CORE_DTCM section", j,
                        SNN_IMAGE_WHERE_X(img->slices[j].where),
                        SNN_IMAGE_WHERE_Y(img->slices[j].where),
                        SNN_IMAGE_WHERE_CORE(img->slices[j].where));
    return 0;
}

/* ---- opening ------------------------------------------------------------------------ */

int snn_image_open(const void *data, uint64_t size, const char *name, struct snn_diag *d,
                   struct snn_image **out)
{
    SNN_ASSERT(out && (data || size == 0));
    *out = NULL;
    struct snn_arena *a = snn_arena_new();
    if (!a)
        return SNN_ENOMEM;
    struct snn_image *img = snn_arena_alloc(a, sizeof *img);
    if (!img) {
        snn_arena_free(a);
        return SNN_ENOMEM;
    }
    img->arena = a;
    img->data = data;
    img->size = size;
    struct ck c = {.img = img, .name = name ? name : "image", .d = d, .a = a};
    int rc = check_header(&c);
    rc = rc ? rc : check_table(&c);
    rc = rc ? rc : check_payloads(&c);
    rc = rc ? rc : check_spinn(&c);
    if (rc) {
        snn_arena_free(a);
        return rc;
    }
    *out = img;
    return 0;
}

int snn_image_read_file(const char *path, struct snn_diag *d, struct snn_image **out)
{
    *out = NULL;
    struct snn_loc loc = {path, 0, 0, 0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        snn_diag_error(d, &loc, "cannot open the image: %s", strerror(errno));
        return SNN_EIO;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = snn_malloc(cap);
    int rc = buf ? 0 : SNN_ENOMEM;
    while (!rc) {
        if (n == cap) {
            uint8_t *nb = cap > SIZE_MAX / 2 ? NULL : snn_realloc(buf, cap * 2);
            if (!nb) {
                rc = SNN_ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                snn_diag_error(d, &loc, "cannot read the image: %s", strerror(errno));
                rc = SNN_EIO;
            }
            break;
        }
    }
    fclose(f);
    if (!rc)
        rc = snn_image_open(buf, n, path, d, out);
    if (rc) {
        snn_free(buf);
        return rc;
    }
    (*out)->owned = buf;
    return 0;
}

void snn_image_free(struct snn_image *img)
{
    if (!img)
        return;
    snn_free(img->owned);
    snn_arena_free(img->arena);
}

/* ---- accessors ---------------------------------------------------------------------- */

const void *snn_image_data(const struct snn_image *img, uint64_t *size)
{
    *size = img->size;
    return img->data;
}

const struct snn_image_header *snn_image_header(const struct snn_image *img)
{
    return &img->h;
}

const struct snn_image_section *snn_image_sections(const struct snn_image *img)
{
    return img->sec;
}

const struct snn_image_machine *snn_image_machine(const struct snn_image *img,
                                                  const uint32_t **dead)
{
    if (dead)
        *dead = img->dead;
    return &img->machine;
}

const struct snn_image_run *snn_image_run(const struct snn_image *img)
{
    return &img->run;
}

const struct snn_image_pop *snn_image_pops(const struct snn_image *img)
{
    return img->pops;
}

const struct snn_image_slice *snn_image_slices(const struct snn_image *img)
{
    return img->slices;
}

const char *snn_image_pop_name(const struct snn_image *img, uint32_t p)
{
    SNN_ASSERT(p < img->run.n_pops);
    return img->names + img->pops[p].name_off;
}

const void *snn_image_slice_dtcm(const struct snn_image *img, uint32_t s, uint32_t *bytes)
{
    SNN_ASSERT(s < img->run.n_slices);
    uint32_t k = img->slice_sec[s];
    *bytes = img->sec[k].bytes;
    return payload(img, k);
}

const void *snn_image_slice_sdram(const struct snn_image *img, uint32_t s,
                                  struct snn_image_sdram *where)
{
    SNN_ASSERT(s < img->run.n_slices);
    uint32_t k = img->slice_sec[s] + 1;
    memcpy(where, payload(img, k), sizeof *where);
    return payload(img, k) + sizeof *where;
}

const void *snn_image_routes(const struct snn_image *img, uint32_t x, uint32_t y, uint32_t *n)
{
    *n = 0;
    if (x >= img->machine.width || y >= img->machine.height)
        return NULL;
    uint32_t k = img->chip_routes[(size_t)y * img->machine.width + x];
    if (k == NONE)
        return NULL;
    *n = img->sec[k].bytes / sizeof(struct snn_image_route);
    return payload(img, k);
}

/* ---- describing ---------------------------------------------------------------------- */

void snn_image_describe(const struct snn_image *img, bool sections, FILE *out)
{
    const struct snn_image_machine *m = &img->machine;
    const struct snn_image_run *r = &img->run;
    fprintf(out, "image: spinn, version %u, %llu bytes, %u sections\n", img->h.version,
            (unsigned long long)img->size, img->h.n_sections);
    fprintf(out,
            "target: '%s', %u x %u chips%s%s, %u cores per chip (%u monitor), %llu bytes of "
            "SDRAM per chip, %u router entries (%u reserved); dead: %u chips, %u cores, %u "
            "links\n",
            m->name, m->width, m->height, m->wrap ? ", wrapped" : "",
            m->layout ? ", SpiNN-5 board" : "", m->cores, m->monitor_cores,
            (unsigned long long)u64(m->sdram_lo, m->sdram_hi), m->router_entries,
            m->router_reserved, m->n_dead_chips, m->n_dead_cores, m->n_dead_links);
    fprintf(out, "run: timestep %g ms, %u steps recorded, seed %llu\n", r->dt_ns / 1e6,
            r->n_steps, (unsigned long long)u64(r->seed_lo, r->seed_hi));
    for (uint32_t p = 0; p < r->n_pops; p++) {
        const struct snn_image_pop *pp = &img->pops[p];
        fprintf(out, "population %u '%s': %u neurons, %s, %u slice%s, records %s\n", p,
                snn_image_pop_name(img, p), pp->size, model_name(pp->model), pp->n_slices,
                pp->n_slices == 1 ? "" : "s",
                pp->record == 3   ? "spikes and v"
                : pp->record == 1 ? "spikes"
                : pp->record == 2 ? "v"
                                  : "nothing");
    }
    fprintf(out,
            "totals: %u slices, %llu routing entries on %u chip%s, %llu bytes of DTCM images, "
            "%llu bytes of SDRAM blocks (%llu stored), %llu synapse words\n",
            r->n_slices, (unsigned long long)img->n_routes, img->route_chips,
            img->route_chips == 1 ? "" : "s",
            (unsigned long long)img->dtcm_bytes, (unsigned long long)img->sdram_bytes,
            (unsigned long long)img->stored_bytes, (unsigned long long)img->synapses);
    if (!sections)
        return;
    fprintf(out, "sections:\n");
    for (uint32_t k = 0; k < img->h.n_sections; k++) {
        const struct snn_image_section *s = &img->sec[k];
        char place[40];
        uint32_t w = s->where;
        if (w == SNN_IMAGE_WHOLE)
            snprintf(place, sizeof place, "image");
        else if (SNN_IMAGE_WHERE_CORE(w) == SNN_IMAGE_NO_CORE)
            snprintf(place, sizeof place, "chip (%u, %u)", SNN_IMAGE_WHERE_X(w),
                     SNN_IMAGE_WHERE_Y(w));
        else
            snprintf(place, sizeof place, "chip (%u, %u) core %u", SNN_IMAGE_WHERE_X(w),
                     SNN_IMAGE_WHERE_Y(w), SNN_IMAGE_WHERE_CORE(w));
        fprintf(out, "  %5u %-10s %-22s offset %10llu bytes %10u crc 0x%08x\n", k,
                kind_name(s->kind) ? kind_name(s->kind) : "?", place, (unsigned long long)sec_off(s), s->bytes, s->crc);
    }
}

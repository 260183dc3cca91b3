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
#include "abi/sdt.h"
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
    /* sdt: copies of the small structures; the rest points into data */
    struct snn_sdt_image_config sdt;
    struct snn_sdt_image_list sdt_lists[SNN_SDT_LISTS];
    struct snn_sdt_image_input sdt_input;
    struct snn_sdt_image_output *sdt_out;
    uint32_t sdt_n_out;
    const char *sdt_names;
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

static const char *const sdt_kind_names[] = {"CONFIG", "PROGRAM", "WMEM",   "QMEM",
                                             "LISTS",  "INPUT",   "OUTPUTS"};

static const char *kind_name(uint32_t kind)
{
    if (kind >= SNN_SEC_SDT_CONFIG && kind < SNN_SEC_SDT_CONFIG + SNN_SDT_SECTIONS)
        return sdt_kind_names[kind - SNN_SEC_SDT_CONFIG];
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
    if (h->family != SNN_IMAGE_FAMILY_SPINN && h->family != SNN_IMAGE_FAMILY_SDT)
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
    /* Parameters: every shift one the kernel's arithmetic takes. */
    uint32_t P = snn_core_params_bytes(h->model);
    for (uint32_t i = 0; i < h->n; i++) {
        const uint8_t *par = p + 136 + (uint64_t)i * P;
        int off = fx_params_bad_shift((enum fx_model)h->model, par);
        if (off >= 0) {
            int32_t shift;
            memcpy(&shift, par + off, sizeof shift);
            return fail_sec(c, at + 136 + (uint64_t)i * P + (uint64_t)off, k,
                            "neuron %u's %s parameters hold a shift of %d (byte %d of them), "
                            "outside the range of its arithmetic (docs/numerics.md)",
                            i, model_name(h->model), shift, off);
        }
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

/* ---- 4: sdt ----------------------------------------------------------------------- */

static const char *const sdt_op_names[16] = {NULL,    "CONV", "NEURON", "ADD",  "MAXPOOL",
                                             "SUMPOOL", "SDSA1", "KV",   "QKV",  "CLEAR",
                                             NULL,    NULL,   NULL,     NULL,   NULL,
                                             "END"};

static int check_sdt_config(struct ck *c, uint32_t k)
{
    struct snn_image *img = c->img;
    const struct snn_image_section *s = &img->sec[k];
    uint64_t at = sec_off(s);
    struct snn_sdt_image_config *g = &img->sdt;
    if (s->bytes != sizeof *g)
        return fail_sec(c, at, k, "%u bytes; the configuration is 128", s->bytes);
    memcpy(g, payload(img, k), sizeof *g);
    const char *nul = memchr(g->name, 0, sizeof g->name);
    if (!nul)
        return fail_sec(c, at, k, "the target's name is not NUL-terminated within 32 bytes");
    for (const char *q = nul; q < g->name + sizeof g->name; q++)
        if (*q)
            return fail_sec(c, at + (uint64_t)(q - g->name), k,
                            "the target's name is not NUL-padded");
    uint32_t L = g->lanes;
    if (L < SNN_SDT_MIN_LANES || L > SNN_SDT_MAX_LANES || (L & (L - 1)))
        return fail_sec(c, at + 32, k, "%u lanes; lanes are a power of two from 4 to 128", L);
    const uint32_t logs[5] = {g->pmem_log2, g->wmem_log2, g->qmem_log2, g->dmem_log2,
                              g->evt_log2};
    for (uint32_t i = 0; i < 5; i++)
        if (logs[i] < SNN_SDT_MIN_LOG2 || logs[i] > SNN_SDT_MAX_LOG2)
            return fail_sec(c, at + 36 + 4 * i, k, "a memory of 2^%u words; memories have 2^4 .. "
                                                   "2^19", logs[i]);
    if (g->fifo_log2 < 1 || g->fifo_log2 > 16)
        return fail_sec(c, at + 56, k, "a FIFO of 2^%u events; it holds 2^1 .. 2^16",
                        g->fifo_log2);
    uint32_t want = SNN_SDT_CONFIG(L, g->pmem_log2, g->wmem_log2, g->qmem_log2, g->dmem_log2,
                                   g->evt_log2);
    if (g->config_reg != want)
        return fail_sec(c, at + 64, k, "CONFIG 0x%08x, but the fields above make 0x%08x",
                        g->config_reg, want);
    if (g->timesteps < 1)
        return fail_sec(c, at + 68, k, "0 timesteps");
    uint64_t pmem_desc = ((uint64_t)1 << g->pmem_log2) / SNN_SDT_DESC_WORDS;
    if (g->n_desc < 1 || g->n_desc > pmem_desc)
        return fail_sec(c, at + 80, k, "%u descriptors; PMEM holds 1 .. %llu", g->n_desc,
                        (unsigned long long)pmem_desc);
    const uint32_t used[4] = {g->wmem_words, g->qmem_words, g->dmem_words, g->evt_words};
    const uint32_t ulogs[4] = {g->wmem_log2, g->qmem_log2, g->dmem_log2, g->evt_log2};
    static const char *const mem[4] = {"WMEM", "QMEM", "DMEM", "EVT"};
    for (uint32_t i = 0; i < 4; i++)
        if ((uint64_t)used[i] > ((uint64_t)1 << ulogs[i]))
            return fail_sec(c, at + 84 + 4 * i, k, "%u words of %s used; it has %llu", used[i],
                            mem[i], (unsigned long long)((uint64_t)1 << ulogs[i]));
    for (uint32_t i = 0; i < 3; i++)
        if (g->reserved[i])
            return fail_sec(c, at + 116 + 4 * i, k, "a reserved word is 0x%08x, not 0",
                            g->reserved[i]);
    return 0;
}

static int check_sdt_lists(struct ck *c, uint32_t k)
{
    struct snn_image *img = c->img;
    const struct snn_image_section *s = &img->sec[k];
    uint64_t at = sec_off(s);
    if (s->bytes != sizeof img->sdt_lists)
        return fail_sec(c, at, k, "%u bytes; the 16 list registers are 128", s->bytes);
    memcpy(img->sdt_lists, payload(img, k), sizeof img->sdt_lists);
    for (uint32_t r = 0; r < SNN_SDT_LISTS; r++) {
        const struct snn_sdt_image_list *l = &img->sdt_lists[r];
        if (!l->capacity)
            continue;
        if (l->base > SNN_SDT_LIST_BASE_MAX || (uint64_t)l->base + l->capacity > img->sdt.evt_words)
            return fail_sec(c, at + 8 * r, k,
                            "list register %u's region [%u, %llu) is outside the %u words of EVT "
                            "used",
                            r, l->base, (unsigned long long)l->base + l->capacity,
                            img->sdt.evt_words);
        for (uint32_t q = 0; q < r; q++) {
            const struct snn_sdt_image_list *m = &img->sdt_lists[q];
            if (m->capacity && l->base < m->base + m->capacity && m->base < l->base + l->capacity)
                return fail_sec(c, at + 8 * r, k, "list register %u's region overlaps register "
                                                  "%u's",
                                r, q);
        }
    }
    return 0;
}

/* "NEURON C 64 H 8 W 8 ..." for descriptor d into buf. */
static void sdt_desc_line(const uint32_t *d, char *buf, size_t n)
{
    uint32_t op = SNN_SDT_OPCODE(d[0]);
    const char *name = op < 16 && sdt_op_names[op] ? sdt_op_names[op] : "?";
    uint32_t np = d[SNN_SDT_W_NP];
    switch (op) {
    case SNN_SDT_OP_CONV:
        snprintf(buf, n,
                 "CONV    [%u, %u, %u] -> [%u, %u, %u] k %u stride %u pad %u%s%s%s list %u acc %u "
                 "w %u",
                 SNN_SDT_CIN(d[1]), SNN_SDT_HIN(d[2]), SNN_SDT_WIN(d[2]), SNN_SDT_COUT(d[1]),
                 SNN_SDT_HOUT(d[2]), SNN_SDT_WOUT(d[2]), SNN_SDT_K(d[3]), SNN_SDT_STRIDE(d[3]),
                 SNN_SDT_PAD(d[3]), SNN_SDT_DEPTHWISE(d[3]) ? " depthwise" : "",
                 SNN_SDT_INT4(d[3]) ? " int4" : "", SNN_SDT_COUNTS(d[3]) ? " counts" : "",
                 SNN_SDT_LIN(d[4]), d[8], d[10]);
        break;
    case SNN_SDT_OP_NEURON: {
        static const char *const modes[4] = {"store", "lif", "ilif", "?"};
        snprintf(buf, n,
                 "NEURON  [%u, %u, %u] %s acc %u%s q %u sh %u%s out %u state %u list %u k %u D %u "
                 "theta %d",
                 SNN_SDT_COUT(d[1]), SNN_SDT_HOUT(d[2]), SNN_SDT_WOUT(d[2]),
                 modes[SNN_SDT_MODE(np)], d[8], SNN_SDT_CLEARACC(np) ? " (cleared)" : "", d[11],
                 SNN_SDT_SH(np), SNN_SDT_RESIDUAL(np) ? " +residual" : "", d[7], d[9],
                 SNN_SDT_LOUT(d[4]), SNN_SDT_LIFK(np), SNN_SDT_D(np), (int32_t)d[13]);
        if (SNN_SDT_RESIDUAL(np))
            snprintf(buf + strlen(buf), n - strlen(buf), " residual %u", d[6]);
        break;
    }
    case SNN_SDT_OP_ADD:
        snprintf(buf, n, "ADD     [%u, %u, %u] %u + %u -> %u", SNN_SDT_COUT(d[1]),
                 SNN_SDT_HOUT(d[2]), SNN_SDT_WOUT(d[2]), d[5], d[6], d[7]);
        break;
    case SNN_SDT_OP_MAXPOOL:
        snprintf(buf, n, "MAXPOOL [%u, %u, %u] -> [%u, %u, %u] k %u stride %u pad %u %s %u -> %u list %u",
                 SNN_SDT_CIN(d[1]), SNN_SDT_HIN(d[2]), SNN_SDT_WIN(d[2]), SNN_SDT_COUT(d[1]),
                 SNN_SDT_HOUT(d[2]), SNN_SDT_WOUT(d[2]), SNN_SDT_K(d[3]), SNN_SDT_STRIDE(d[3]),
                 SNN_SDT_PAD(d[3]), SNN_SDT_COUNTS(d[3]) ? "dense" : "spikes", d[5], d[7],
                 SNN_SDT_LOUT(d[4]));
        break;
    case SNN_SDT_OP_SUMPOOL:
        snprintf(buf, n, "SUMPOOL [%u] list %u acc %u", SNN_SDT_CIN(d[1]), SNN_SDT_LIN(d[4]), d[8]);
        break;
    case SNN_SDT_OP_SDSA1:
        snprintf(buf, n, "SDSA1   [%u, %u, 1] q %u k %u v %u out %u state %u scratch %u list %u "
                         "k %u theta %d",
                 SNN_SDT_CIN(d[1]), SNN_SDT_HIN(d[2]), d[8], d[5], d[6], d[7], d[9], d[15],
                 SNN_SDT_LOUT(d[4]), SNN_SDT_LIFK(np), (int32_t)d[13]);
        break;
    case SNN_SDT_OP_KV:
    case SNN_SDT_OP_QKV:
        snprintf(buf, n, "%-7s [%u, %u, 1] heads %u list %u %s %u kv %u", name, SNN_SDT_CIN(d[1]),
                 SNN_SDT_HIN(d[2]), SNN_SDT_HEADS(np), SNN_SDT_LIN(d[4]),
                 op == SNN_SDT_OP_KV ? "v" : "acc", op == SNN_SDT_OP_KV ? d[6] : d[7], d[8]);
        break;
    case SNN_SDT_OP_CLEAR:
        snprintf(buf, n, "CLEAR   %u words at %u", d[15], d[7]);
        if (SNN_SDT_FLAGS(d[0]) & SNN_SDT_FLAG_CLEAR_LIST)
            snprintf(buf + strlen(buf), n - strlen(buf), ", list %u's count", SNN_SDT_LOUT(d[4]));
        break;
    default:
        snprintf(buf, n, "%s", name);
    }
}

static int check_sdt_program(struct ck *c, uint32_t k)
{
    struct snn_image *img = c->img;
    const struct snn_image_section *s = &img->sec[k];
    const struct snn_sdt_image_config *g = &img->sdt;
    uint64_t at = sec_off(s);
    if ((uint64_t)s->bytes != (uint64_t)g->n_desc * SNN_SDT_DESC_BYTES)
        return fail_sec(c, at, k, "%u bytes; %u descriptors are %llu", s->bytes, g->n_desc,
                        (unsigned long long)g->n_desc * SNN_SDT_DESC_BYTES);
    struct snn_sdt_hw hw = {g->lanes, g->pmem_log2, g->wmem_log2, g->qmem_log2, g->dmem_log2,
                            g->evt_log2};
    uint32_t base[SNN_SDT_LISTS], cap[SNN_SDT_LISTS];
    for (uint32_t r = 0; r < SNN_SDT_LISTS; r++) {
        base[r] = img->sdt_lists[r].base;
        cap[r] = img->sdt_lists[r].capacity;
    }
    const uint8_t *p = payload(img, k);
    for (uint32_t i = 0; i < g->n_desc; i++) {
        uint32_t d[SNN_SDT_DESC_WORDS];
        memcpy(d, p + (size_t)i * SNN_SDT_DESC_BYTES, sizeof d);
        uint64_t o = at + (uint64_t)i * SNN_SDT_DESC_BYTES;
        uint32_t op = SNN_SDT_OPCODE(d[0]);
        uint32_t code = snn_sdt_check_desc(d, &hw, base, cap);
        if (code == SNN_SDT_ERR_OPCODE)
            return fail_sec(c, o, k, "descriptor %u: unknown opcode 0x%02x", i, op);
        if (code) {
            char line[200];
            sdt_desc_line(d, line, sizeof line);
            return fail_sec(c, o, k, "descriptor %u (%s): %s", i, line,
                            code == SNN_SDT_ERR_SHAPE ? "a shape out of range or inconsistent"
                                                      : "a region outside its memory");
        }
        if ((op == SNN_SDT_OP_END) != (i + 1 == g->n_desc))
            return fail_sec(c, o, k, op == SNN_SDT_OP_END
                                         ? "descriptor %u is END before the last"
                                         : "descriptor %u, the last, is not END",
                            i);
        if (op == SNN_SDT_OP_CLEAR && (SNN_SDT_FLAGS(d[0]) & ~SNN_SDT_FLAG_CLEAR_LIST))
            return fail_sec(c, o, k, "descriptor %u: unknown flags 0x%02x", i, SNN_SDT_FLAGS(d[0]));
        if (op != SNN_SDT_OP_CLEAR && SNN_SDT_FLAGS(d[0]))
            return fail_sec(c, o, k, "descriptor %u: unknown flags 0x%02x", i, SNN_SDT_FLAGS(d[0]));
        /* bases inside the memories the image loads and the DMEM it uses */
        if (d[SNN_SDT_W_WMEM] > g->wmem_words || d[SNN_SDT_W_QMEM] > g->qmem_words)
            return fail_sec(c, o, k, "descriptor %u: weights at %u or pairs at %u, past the %u "
                                     "WMEM and %u QMEM words the image holds",
                            i, d[SNN_SDT_W_WMEM], d[SNN_SDT_W_QMEM], g->wmem_words,
                            g->qmem_words);
        static const uint32_t dm[] = {SNN_SDT_W_A, SNN_SDT_W_B, SNN_SDT_W_OUT, SNN_SDT_W_ACC,
                                      SNN_SDT_W_STATE};
        for (uint32_t j = 0; j < 5; j++)
            if (d[dm[j]] > g->dmem_words)
                return fail_sec(c, o, k, "descriptor %u: word %u is DMEM %u, past the %u words "
                                         "the program uses",
                                i, dm[j], d[dm[j]], g->dmem_words);
    }
    return 0;
}

static int check_sdt_mems(struct ck *c, uint32_t kw, uint32_t kq)
{
    struct snn_image *img = c->img;
    const struct snn_sdt_image_config *g = &img->sdt;
    const struct snn_image_section *w = &img->sec[kw], *q = &img->sec[kq];
    if ((uint64_t)w->bytes != (uint64_t)g->wmem_words * g->lanes)
        return fail_sec(c, sec_off(w), kw, "%u bytes; %u WMEM words of %u lanes are %llu", w->bytes,
                        g->wmem_words, g->lanes, (unsigned long long)g->wmem_words * g->lanes);
    if ((uint64_t)q->bytes != (uint64_t)g->qmem_words * g->lanes * 8)
        return fail_sec(c, sec_off(q), kq, "%u bytes; %u QMEM words of %u lanes are %llu", q->bytes,
                        g->qmem_words, g->lanes,
                        (unsigned long long)g->qmem_words * g->lanes * 8);
    const uint8_t *p = payload(img, kq);
    for (uint64_t i = 0; i < q->bytes; i += 8) {
        int32_t m;
        memcpy(&m, p + i, 4);
        if (m <= -(1 << 24) || m >= (1 << 24))
            return fail_sec(c, sec_off(q) + i, kq,
                            "multiplier %d of lane %llu of word %llu: |m| must be below 2^24", m,
                            (unsigned long long)(i / 8 % g->lanes),
                            (unsigned long long)(i / 8 / g->lanes));
    }
    return 0;
}

static int check_sdt_input(struct ck *c, uint32_t k)
{
    struct snn_image *img = c->img;
    const struct snn_image_section *s = &img->sec[k];
    const struct snn_sdt_image_config *g = &img->sdt;
    uint64_t at = sec_off(s);
    struct snn_sdt_image_input *in = &img->sdt_input;
    if (s->bytes < sizeof *in)
        return fail_sec(c, at, k, "%u bytes, shorter than the 40-byte input", s->bytes);
    memcpy(in, payload(img, k), sizeof *in);
    if (!snn_sdt_chan_ok(in->c) || !snn_sdt_side_ok(in->h) || !snn_sdt_side_ok(in->w))
        return fail_sec(c, at + 4, k, "an input of [%u, %u, %u]; channels are 1 .. 1024, rows "
                                      "and columns 1 .. 128",
                        in->c, in->h, in->w);
    if (in->kind > 1)
        return fail_sec(c, at + 16, k, "kind %u, not 0 (spikes) or 1 (counts)", in->kind);
    if (in->steps != g->timesteps)
        return fail_sec(c, at + 20, k, "%u steps of input for a run of %u", in->steps,
                        g->timesteps);
    uint64_t words = (uint64_t)snn_sdt_groups(in->c, g->lanes) * in->h * in->w;
    if ((uint64_t)in->dmem + words > g->dmem_words)
        return fail_sec(c, at + 24, k, "its tensor [%u, %llu) is past the %u DMEM words used",
                        in->dmem, (unsigned long long)(in->dmem + words), g->dmem_words);
    if (in->list != SNN_SDT_LIST_INPUT || in->reserved)
        return fail_sec(c, at + 28, k, "list register %u (the input's is 0) or a reserved word "
                                       "not 0",
                        in->list);
    uint64_t need = sizeof *in + 4ull * (in->steps + 1ull) + 4ull * in->n_events;
    if (need != s->bytes)
        return fail_sec(c, at + 32, k, "%u bytes; %u steps and %u events make %llu", s->bytes,
                        in->steps, in->n_events, (unsigned long long)need);
    const uint8_t *p = payload(img, k) + sizeof *in;
    const uint8_t *ev = p + 4ull * (in->steps + 1ull);
    uint32_t cap = img->sdt_lists[SNN_SDT_LIST_INPUT].capacity, prev = 0;
    for (uint32_t t = 0; t <= in->steps; t++) {
        uint32_t off = rd32(p + 4ull * t);
        uint64_t o = at + sizeof *in + 4ull * t;
        if ((t == 0 && off != 0) || off < prev || off > in->n_events ||
            (t == in->steps && off != in->n_events))
            return fail_sec(c, o, k, "step %u's events start at %u, after %u, of %u", t, off,
                            prev, in->n_events);
        if (t > 0 && off - prev > cap)
            return fail_sec(c, o, k, "step %u has %u events; list register 0 holds %u", t - 1,
                            off - prev, cap);
        if (t > 0) {
            uint64_t last = 0;
            for (uint32_t e = prev; e < off; e++) {
                uint32_t w = rd32(ev + 4ull * e);
                uint32_t y = SNN_SDT_EV_Y(w), x = SNN_SDT_EV_X(w), ch = SNN_SDT_EV_C(w),
                         v = SNN_SDT_EV_VALUE(w);
                uint64_t key = ((uint64_t)y * in->w + x) * in->c + ch + 1;
                uint64_t eo = at + (uint64_t)(ev - payload(img, k)) + 4ull * e;
                if (y >= in->h || x >= in->w || ch >= in->c || v == 0 ||
                    (in->kind == 0 && v != 1))
                    return fail_sec(c, eo, k, "step %u: event 0x%08x (row %u, column %u, channel "
                                              "%u, value %u) outside the [%u, %u, %u] %s input",
                                    t - 1, w, y, x, ch, v, in->c, in->h, in->w,
                                    in->kind ? "counts" : "spikes");
                if (key <= last)
                    return fail_sec(c, eo, k, "step %u: event 0x%08x out of (y, x, c) order",
                                    t - 1, w);
                last = key;
            }
        }
        prev = off;
    }
    return 0;
}

static int check_sdt_outputs(struct ck *c, uint32_t k)
{
    struct snn_image *img = c->img;
    const struct snn_image_section *s = &img->sec[k];
    const struct snn_sdt_image_config *g = &img->sdt;
    uint64_t at = sec_off(s);
    struct snn_sdt_image_outputs oh;
    if (s->bytes < sizeof oh)
        return fail_sec(c, at, k, "%u bytes, shorter than its 8-byte prefix", s->bytes);
    memcpy(&oh, payload(img, k), sizeof oh);
    uint64_t need = sizeof oh + (uint64_t)oh.n * sizeof(struct snn_sdt_image_output) +
                    oh.names_bytes;
    if (need != s->bytes)
        return fail_sec(c, at, k, "%u bytes; %u outputs and %u bytes of names make %llu",
                        s->bytes, oh.n, oh.names_bytes, (unsigned long long)need);
    img->sdt_n_out = oh.n;
    img->sdt_out = snn_arena_array(c->a, oh.n ? oh.n : 1, sizeof *img->sdt_out);
    if (!img->sdt_out)
        return SNN_ENOMEM;
    memcpy(img->sdt_out, payload(img, k) + sizeof oh, (size_t)oh.n * sizeof *img->sdt_out);
    img->sdt_names = (const char *)payload(img, k) + sizeof oh +
                     (size_t)oh.n * sizeof *img->sdt_out;
    if (oh.names_bytes && img->sdt_names[oh.names_bytes - 1])
        return fail_sec(c, at + need - 1, k, "the names do not end with a NUL");
    uint32_t heads = 0;
    for (uint32_t i = 0; i < oh.n; i++) {
        const struct snn_sdt_image_output *o = &img->sdt_out[i];
        uint64_t eo = at + sizeof oh + (uint64_t)i * sizeof *o;
        if (o->name_off >= oh.names_bytes)
            return fail_sec(c, eo + 4, k, "output %u's name at %u, past the %u bytes of names",
                            i, o->name_off, oh.names_bytes);
        if (o->kind > SNN_SDT_KIND_Q16 || o->flags > 3 || !o->flags)
            return fail_sec(c, eo + 8, k, "output %u: kind %u, flags 0x%x", i, o->kind,
                            o->flags);
        if (!snn_sdt_chan_ok(o->c) || !o->h || !o->w || o->h > 16384 || o->w > 128)
            return fail_sec(c, eo + 12, k, "output %u: a shape of [%u, %u, %u]", i, o->c, o->h,
                            o->w);
        uint64_t words = (uint64_t)snn_sdt_groups(o->c, g->lanes) * o->h * o->w;
        if ((uint64_t)o->dmem + words > g->dmem_words)
            return fail_sec(c, eo + 24, k, "output %u: its tensor [%u, %llu) is past the %u "
                                           "DMEM words used",
                            i, o->dmem, (unsigned long long)(o->dmem + words), g->dmem_words);
        if (o->state != SNN_SDT_NONE && o->state >= g->dmem_words)
            return fail_sec(c, eo + 28, k, "output %u: its state at %u is past the %u DMEM words "
                                           "used",
                            i, o->state, g->dmem_words);
        if (o->list != SNN_SDT_NONE && o->list >= SNN_SDT_LISTS)
            return fail_sec(c, eo + 36, k, "output %u: list register %u", i, o->list);
        heads += o->flags & SNN_SDT_OUT_HEAD;
    }
    if (heads != 1)
        return fail_sec(c, at, k, "%u outputs are the head; an image has one", heads);
    return 0;
}

static int check_sdt(struct ck *c)
{
    struct snn_image *img = c->img;
    uint32_t n = img->h.n_sections;
    if (n != SNN_SDT_SECTIONS)
        return fail(c, 16, "%u sections; an sdt image has 7 (CONFIG, PROGRAM, WMEM, QMEM, LISTS, "
                           "INPUT, OUTPUTS)",
                    n);
    for (uint32_t k = 0; k < n; k++) {
        const struct snn_image_section *s = &img->sec[k];
        uint64_t eo = HEADER_BYTES + (uint64_t)k * ENTRY_BYTES;
        if (s->kind != SNN_SEC_SDT_CONFIG + k)
            return fail_sec(c, eo, k, "section %u must be %s", k, sdt_kind_names[k]);
        if (s->where != SNN_IMAGE_WHOLE)
            return fail_sec(c, eo + 4, k, "an sdt section of place 0x%08x, not the whole image",
                            s->where);
    }
    int rc;
    if ((rc = check_sdt_config(c, 0)) || (rc = check_sdt_lists(c, 4)) ||
        (rc = check_sdt_mems(c, 2, 3)) || (rc = check_sdt_program(c, 1)) ||
        (rc = check_sdt_input(c, 5)) || (rc = check_sdt_outputs(c, 6)))
        return rc;
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
    if (!rc)
        rc = img->h.family == SNN_IMAGE_FAMILY_SDT ? check_sdt(&c) : check_spinn(&c);
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

/* ---- sdt accessors ----------------------------------------------------------------- */

const struct snn_sdt_image_config *snn_image_sdt_config(const struct snn_image *img)
{
    SNN_ASSERT(img->h.family == SNN_IMAGE_FAMILY_SDT);
    return &img->sdt;
}

const void *snn_image_sdt_program(const struct snn_image *img, uint32_t *n_desc)
{
    *n_desc = img->sdt.n_desc;
    return payload(img, 1);
}

const void *snn_image_sdt_wmem(const struct snn_image *img, uint32_t *bytes)
{
    *bytes = img->sec[2].bytes;
    return payload(img, 2);
}

const void *snn_image_sdt_qmem(const struct snn_image *img, uint32_t *bytes)
{
    *bytes = img->sec[3].bytes;
    return payload(img, 3);
}

const struct snn_sdt_image_list *snn_image_sdt_lists(const struct snn_image *img)
{
    return img->sdt_lists;
}

const struct snn_sdt_image_input *snn_image_sdt_input(const struct snn_image *img,
                                                      const void **offsets, const void **events)
{
    const uint8_t *p = payload(img, 5) + sizeof img->sdt_input;
    if (offsets)
        *offsets = p;
    if (events)
        *events = p + 4ull * (img->sdt_input.steps + 1ull);
    return &img->sdt_input;
}

const struct snn_sdt_image_output *snn_image_sdt_outputs(const struct snn_image *img, uint32_t *n)
{
    *n = img->sdt_n_out;
    return img->sdt_out;
}

const char *snn_image_sdt_output_name(const struct snn_image *img, uint32_t i)
{
    SNN_ASSERT(i < img->sdt_n_out);
    return img->sdt_names + img->sdt_out[i].name_off;
}

void snn_image_describe_program(const struct snn_image *img, FILE *out)
{
    if (img->h.family != SNN_IMAGE_FAMILY_SDT) {
        fprintf(out, "program: none (a spinn image runs the core kernel)\n");
        return;
    }
    fprintf(out, "program: %u descriptors\n", img->sdt.n_desc);
    const uint8_t *p = payload(img, 1);
    for (uint32_t i = 0; i < img->sdt.n_desc; i++) {
        uint32_t d[SNN_SDT_DESC_WORDS];
        char line[256];
        memcpy(d, p + (size_t)i * SNN_SDT_DESC_BYTES, sizeof d);
        sdt_desc_line(d, line, sizeof line);
        fprintf(out, "  %5u %s\n", i, line);
    }
}

static void describe_sdt(const struct snn_image *img, FILE *out)
{
    const struct snn_sdt_image_config *g = &img->sdt;
    const struct snn_sdt_image_input *in = &img->sdt_input;
    fprintf(out, "image: sdt, version %u, %llu bytes, %u sections\n", img->h.version,
            (unsigned long long)img->size, img->h.n_sections);
    fprintf(out,
            "target: '%s', %u lanes, %u MHz; PMEM %u, WMEM %u, QMEM %u, DMEM %u, EVT %u words; "
            "FIFO %u events (CONFIG 0x%08x)\n",
            g->name, g->lanes, g->clock_mhz, 1u << g->pmem_log2, 1u << g->wmem_log2,
            1u << g->qmem_log2, 1u << g->dmem_log2, 1u << g->evt_log2, 1u << g->fifo_log2,
            g->config_reg);
    fprintf(out, "run: %u steps, seed %llu\n", g->timesteps,
            (unsigned long long)u64(g->seed_lo, g->seed_hi));
    uint32_t ops[16] = {0};
    const uint8_t *p = payload(img, 1);
    for (uint32_t i = 0; i < g->n_desc; i++)
        ops[SNN_SDT_OPCODE(rd32(p + (size_t)i * SNN_SDT_DESC_BYTES)) & 15]++;
    fprintf(out, "program: %u descriptors (", g->n_desc);
    bool first = true;
    for (uint32_t o = 1; o < 16; o++)
        if (ops[o] && sdt_op_names[o]) {
            fprintf(out, "%s%u %s", first ? "" : ", ", ops[o], sdt_op_names[o]);
            first = false;
        }
    fprintf(out, ")\n");
    fprintf(out, "memory used: WMEM %u words, QMEM %u words, DMEM %u words, EVT %u words\n",
            g->wmem_words, g->qmem_words, g->dmem_words, g->evt_words);
    fprintf(out, "lists:");
    for (uint32_t r = 0; r < SNN_SDT_LISTS; r++)
        if (img->sdt_lists[r].capacity)
            fprintf(out, " %u:[%u, +%u)", r, img->sdt_lists[r].base, img->sdt_lists[r].capacity);
    fprintf(out, "\n");
    fprintf(out, "input: [%u, %u, %u] %s at DMEM %u, %u events over %u steps\n", in->c, in->h,
            in->w, in->kind ? "counts" : "spikes", in->dmem, in->n_events, in->steps);
    static const char *const kinds[3] = {"spikes", "counts", "q16"};
    for (uint32_t i = 0; i < img->sdt_n_out; i++) {
        const struct snn_sdt_image_output *o = &img->sdt_out[i];
        fprintf(out, "%s '%s': [%u, %u, %u] %s at DMEM %u", o->flags & SNN_SDT_OUT_HEAD ? "head" : "layer",
                snn_image_sdt_output_name(img, i), o->c, o->h, o->w, kinds[o->kind], o->dmem);
        if (o->state != SNN_SDT_NONE)
            fprintf(out, ", state %u", o->state);
        if (o->list != SNN_SDT_NONE)
            fprintf(out, ", list %u", o->list);
        fprintf(out, "\n");
    }
}

void snn_image_describe(const struct snn_image *img, bool sections, FILE *out)
{
    if (img->h.family == SNN_IMAGE_FAMILY_SDT) {
        describe_sdt(img, out);
        goto sections;
    }
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
sections:
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

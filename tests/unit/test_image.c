/*
 * tests/unit/test_image.c: the image reader (runtime/image.h).
 *
 * A small spinn image is described field by field here (a 2 x 2 machine
 * with a dead core, a spike_source_array and a two-slice lif_curr_exp
 * population, two routing tables, three cores with key tables, row
 * indices and rows) and assembled by hand, header, table and CRCs
 * computed with abi/image.h's bitwise CRC, so the reader is tested
 * without the writer.  The valid image must open and every accessor
 * return exactly what was put in; then every kind of damage must be
 * rejected with SNN_EPARSE and one error naming the problem: every
 * truncation, every single flipped byte, and one case per check.  An
 * allocation-failure sweep covers the ENOMEM paths, and an end-to-end
 * test maps examples/cuba.yaml on spinn3, writes it with the spinn
 * backend and compares what the reader gives with the map.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "abi/core_image.h"
#include "abi/image.h"
#include "abi/neuron.h"
#include "backends/spinn/spinn.h"
#include "frontend/frontend.h"
#include "mapper/mapper.h"
#include "runtime/image.h"
#include "support/arena.h"
#include "support/err.h"
#include "sink.h"

/* ---- assembling ------------------------------------------------------------- */

struct part {
    uint32_t kind, where;
    const void *p;
    uint32_t bytes;
    const void *p2; /* a second piece appended (an SDRAM prefix's words) */
    uint32_t bytes2;
};

#define MAX_PARTS 16
#define MAX_IMAGE 8192

static uint64_t align8(uint64_t x)
{
    return (x + 7) & ~(uint64_t)7;
}

/* Recomputes the payload CRCs (when payloads), the table's and the
 * header's CRC of the image in buf. */
static void fix_crcs(uint8_t *buf, bool payloads)
{
    struct snn_image_header h;
    memcpy(&h, buf, sizeof h);
    for (uint32_t k = 0; payloads && k < h.n_sections; k++) {
        struct snn_image_section s;
        memcpy(&s, buf + 48 + 24 * k, sizeof s);
        s.crc = snn_crc32_update(0, buf + s.off_lo, s.bytes);
        memcpy(buf + 48 + 24 * k, &s, sizeof s);
    }
    if (h.n_sections <= MAX_PARTS + 2) /* not past the buffer when a test sets a huge count */
        h.table_crc = snn_crc32_update(0, buf + 48, 24 * h.n_sections);
    h.header_crc = snn_crc32_update(0, &h, 44);
    memcpy(buf, &h, sizeof h);
}

/* The image of the n parts, malloc'd, its size in *size. */
static uint8_t *assemble(const struct part *p, uint32_t n, uint64_t *size)
{
    uint8_t *buf = calloc(1, MAX_IMAGE);
    assert_non_null(buf);
    uint64_t at = align8(48 + 24ull * n);
    for (uint32_t k = 0; k < n; k++) {
        struct snn_image_section s = {p[k].kind, p[k].where, (uint32_t)at, 0,
                                      p[k].bytes + p[k].bytes2, 0};
        assert_true(at + s.bytes <= MAX_IMAGE);
        memcpy(buf + at, p[k].p, p[k].bytes);
        if (p[k].bytes2)
            memcpy(buf + at + p[k].bytes, p[k].p2, p[k].bytes2);
        memcpy(buf + 48 + 24 * k, &s, sizeof s);
        at = align8(at + s.bytes);
    }
    struct snn_image_header h = {SNN_IMAGE_MAGIC, SNN_IMAGE_VERSION, SNN_IMAGE_FAMILY_SPINN, 48, n,
                                 48, (uint32_t)at, 0, 0, 0, 0, 0};
    memcpy(buf, &h, sizeof h);
    fix_crcs(buf, true);
    *size = at;
    return buf;
}

/* ---- the fixture: a small, valid spinn image ----------------------------------- */

#define N_SLICES 3

struct fixture {
    struct {
        struct snn_image_machine m;
        uint32_t dead[1];
    } machine;
    struct {
        struct snn_image_run r;
        struct snn_image_pop pops[2];
        struct snn_image_slice sl[N_SLICES];
        char names[8];
    } run;
    struct snn_image_route rt00[1], rt10[1];
    uint32_t dtcm[N_SLICES][96];
    uint32_t dtcm_bytes[N_SLICES];
    struct snn_image_sdram sd[N_SLICES];
    uint32_t stored[N_SLICES][16];
};

static struct snn_core_header *hdr(struct fixture *f, uint32_t s)
{
    return (struct snn_core_header *)f->dtcm[s];
}

/* The core header of slice s of f, offsets laid out as layout does. */
static void core(struct fixture *f, uint32_t s, uint32_t ring, uint32_t flags, uint32_t vmask,
                 uint32_t n_keys, uint32_t rows_bytes, uint32_t times_bytes)
{
    const struct snn_image_slice *sl = &f->run.sl[s];
    const struct snn_image_pop *pp = &f->run.pops[sl->pop];
    struct snn_core_header *h = hdr(f, s);
    bool src = pp->model == FX_MODEL_SPIKE_SOURCE_ARRAY;
    uint32_t P = src ? 8 : sizeof(struct fx_lif_curr_exp), S = src ? 0 : sizeof(struct fx_lif_state);
    *h = (struct snn_core_header){.version = SNN_CORE_IMAGE_VERSION, .model = pp->model, .pop = sl->pop, .lo = sl->lo,
                                  .n = sl->n, .key = sl->key, .ring_slots = ring,
                                  .n_keys = n_keys, .n_steps = 4, .seed_lo = 2, .seed_hi = 1,
                                  .flags = flags};
    h->record_v_mask[0] = vmask;
    h->n_record_v = (uint32_t)__builtin_popcount(vmask);
    h->params_off = 136;
    h->state_off = 136 + sl->n * P;
    h->keys_off = h->state_off + sl->n * S;
    h->dtcm_image_bytes = h->keys_off + 16 * n_keys;
    h->rows_off = 0;
    h->rows_bytes = rows_bytes;
    h->times_off = rows_bytes;
    h->times_bytes = times_bytes;
    h->spikes_off = rows_bytes + times_bytes;
    h->spikes_bytes = (flags & 1) ? 4 * 4 * ((sl->n + 31) / 32) : 0;
    h->v_off = h->spikes_off + h->spikes_bytes;
    h->v_bytes = (flags & 2) ? 4 * 4 * h->n_record_v : 0;
    h->sdram_bytes = h->v_off + h->v_bytes;
    f->dtcm_bytes[s] = h->dtcm_image_bytes;
    /* parameters and state: a recognisable pattern, with shifts the
     * arithmetic takes (the loader checks them) */
    for (uint32_t w = 136 / 4; w < h->keys_off / 4; w++)
        f->dtcm[s][w] = 0x01000000u * (s + 1) + w;
    for (uint32_t i = 0; !src && i < sl->n; i++) {
        uint32_t *par = &f->dtcm[s][(136 + i * P) / 4];
        par[offsetof(struct fx_lif_curr_exp, shift) / 4] = 20 + i;
        par[offsetof(struct fx_lif_curr_exp, p22e.s) / 4] = 30 + i;
        par[offsetof(struct fx_lif_curr_exp, p22i.s) / 4] = 40 + i;
    }
    f->sd[s] = (struct snn_image_sdram){0, 0, h->sdram_bytes, rows_bytes + times_bytes};
}

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    struct snn_image_machine *m = &f->machine.m;
    strcpy(m->name, "tiny");
    m->width = 2;
    m->height = 2;
    m->cores = 4;
    m->monitor_cores = 1;
    m->clock_mhz = 200;
    m->dtcm_bytes = 65536;
    m->itcm_bytes = 32768;
    m->sdram_lo = 1 << 20;
    m->router_entries = 16;
    m->router_reserved = 2;
    m->max_neurons = 256;
    m->max_synaptic_events = 1000;
    m->n_dead_cores = 1;
    f->machine.dead[0] = SNN_IMAGE_WHERE(1, 1, 3);

    f->run.r = (struct snn_image_run){100000, 4, 2, 1, 2, N_SLICES, 7, 0};
    f->run.pops[0] = (struct snn_image_pop){2, FX_MODEL_SPIKE_SOURCE_ARRAY, 1, 0, 1, 0};
    f->run.pops[1] = (struct snn_image_pop){3, FX_MODEL_LIF_CURR_EXP, 3, 1, 2, 3};
    f->run.sl[0] = (struct snn_image_slice){0, 0, 2, SNN_IMAGE_WHERE(0, 0, 1), 0x0, 0xFFFFFFFEu};
    f->run.sl[1] = (struct snn_image_slice){1, 0, 2, SNN_IMAGE_WHERE(1, 0, 1), 0x4, 0xFFFFFFFEu};
    f->run.sl[2] = (struct snn_image_slice){1, 2, 1, SNN_IMAGE_WHERE(0, 0, 2), 0x8, 0xFFFFFFFEu};
    memcpy(f->run.names, "in\0exc\0", 8);

    /* slice 0's spikes go to core 2 here and east to chip (1, 0) core 1 */
    f->rt00[0] = (struct snn_image_route){0x0, 0xFFFFFFFEu,
                                          (uint32_t)(SNN_IMAGE_ROUTE_LINK(0) | SNN_IMAGE_ROUTE_CORE(2)), 0};
    f->rt10[0] = (struct snn_image_route){0x0, 0xFFFFFFFEu, (uint32_t)SNN_IMAGE_ROUTE_CORE(1), 0};

    /* slice 0: spike_source_array, neuron 0 fires at steps 1, 3, neuron 1 at 2 */
    core(f, 0, 0, SNN_CORE_RECORD_SPIKES, 0, 0, 0, 12);
    f->dtcm[0][34] = 0, f->dtcm[0][35] = 2, f->dtcm[0][36] = 2, f->dtcm[0][37] = 3;
    f->stored[0][0] = 1, f->stored[0][1] = 3, f->stored[0][2] = 2;

    /* slice 1: neurons 0, 1 of exc; from slice 0 only neuron 0 has a row */
    core(f, 1, 4, 3, 0x2, 1, 20, 0);
    struct snn_core_header *h = hdr(f, 1);
    struct snn_key_entry ke = {0x0, 0xFFFFFFFEu, 0, 2};
    memcpy((uint8_t *)f->dtcm[1] + h->keys_off, &ke, sizeof ke);
    uint32_t s1[] = {0x1, 0, 12, snn_row_header(1, 0), snn_syn_word(7, 3, 1)};
    memcpy(f->stored[1], s1, sizeof s1);

    /* slice 2: neuron 2 of exc; both neurons of slice 0 have a row */
    core(f, 2, 4, 3, 0x1, 1, 32, 0);
    h = hdr(f, 2);
    memcpy((uint8_t *)f->dtcm[2] + h->keys_off, &ke, sizeof ke);
    uint32_t s2[] = {0x3, 0, 16, 24, snn_row_header(1, 0), snn_syn_word(100, 1, 0),
                     snn_row_header(0, 1), snn_syn_word(-50, 2, 0)};
    memcpy(f->stored[2], s2, sizeof s2);
    f->sd[2].chip_off_lo = 32; /* after slice 0's block on chip (0, 0) */
}

/* The fixture's parts in image order; returns how many. */
static uint32_t parts(const struct fixture *f, struct part *p)
{
    uint32_t n = 0;
    p[n++] = (struct part){SNN_SEC_MACHINE, SNN_IMAGE_WHOLE, &f->machine,
                           104 + 4 * (f->machine.m.n_dead_chips + f->machine.m.n_dead_cores +
                                      f->machine.m.n_dead_links),
                           NULL, 0};
    p[n++] = (struct part){SNN_SEC_RUN, SNN_IMAGE_WHOLE, &f->run, 32 + 24 * 2 + 24 * N_SLICES + 7,
                           NULL, 0};
    p[n++] = (struct part){SNN_SEC_ROUTES, SNN_IMAGE_WHERE(0, 0, 0xFF), f->rt00, 16, NULL, 0};
    p[n++] = (struct part){SNN_SEC_ROUTES, SNN_IMAGE_WHERE(1, 0, 0xFF), f->rt10, 16, NULL, 0};
    static const uint32_t order[N_SLICES] = {0, 2, 1}; /* by chip, then core */
    for (uint32_t i = 0; i < N_SLICES; i++) {
        uint32_t s = order[i];
        p[n++] = (struct part){SNN_SEC_CORE_DTCM, f->run.sl[s].where, f->dtcm[s], f->dtcm_bytes[s],
                               NULL, 0};
        p[n++] = (struct part){SNN_SEC_CORE_SDRAM, f->run.sl[s].where, &f->sd[s], 16, f->stored[s],
                               f->sd[s].stored_bytes};
    }
    return n;
}

static uint8_t *build(const struct fixture *f, uint64_t *size)
{
    struct part p[MAX_PARTS];
    uint32_t n = parts(f, p);
    return assemble(p, n, size);
}

/* ---- checking ------------------------------------------------------------------- */


/* Opens a copy of the size bytes at buf in a buffer of exactly that size
 * (so the sanitizer sees any read past it); the result's code. */
static int open_copy(const uint8_t *buf, uint64_t size, struct sink *s, struct snn_image **img)
{
    uint8_t *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    memcpy(copy, buf, size);
    int rc = snn_image_open(copy, size, "t.snnb", s->d, img);
    if (rc == 0) {
        snn_image_free(*img); /* the view would outlive copy */
        *img = NULL;
    }
    free(copy);
    return rc;
}

/* buf (size bytes) is rejected with one error containing want. */
static void rejects(const uint8_t *buf, uint64_t size, const char *want)
{
    struct sink s;
    sink_open(&s);
    struct snn_image *img = (struct snn_image *)&s; /* must be cleared */
    int rc = open_copy(buf, size, &s, &img);
    if (rc != SNN_EPARSE || !strstr(sink_text(&s), want) || snn_diag_errors(s.d) != 1 || img)
        fail_msg("expected one error with '%s', got rc %d and:\n%s", want, rc, sink_text(&s));
    assert_non_null(strstr(sink_text(&s), "t.snnb: error: byte "));
    sink_close(&s);
}

static void rejects_fixture(const struct fixture *f, const char *want)
{
    uint64_t size;
    uint8_t *buf = build(f, &size);
    rejects(buf, size, want);
    free(buf);
}

static void rejects_parts(const struct part *p, uint32_t n, const char *want)
{
    uint64_t size;
    uint8_t *buf = assemble(p, n, &size);
    rejects(buf, size, want);
    free(buf);
}

/* Section k's table entry of the image in buf. */
static struct snn_image_section entry(const uint8_t *buf, uint32_t k)
{
    struct snn_image_section s;
    memcpy(&s, buf + 48 + 24 * k, sizeof s);
    return s;
}

static void set_entry(uint8_t *buf, uint32_t k, const struct snn_image_section *s)
{
    memcpy(buf + 48 + 24 * k, s, sizeof *s);
    fix_crcs(buf, false);
}

/* ---- the valid image ---------------------------------------------------------------- */

static void test_valid(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    uint64_t size;
    uint8_t *buf = build(&f, &size);
    struct sink s;
    sink_open(&s);
    struct snn_image *img = NULL;
    int rc = snn_image_open(buf, size, "t.snnb", s.d, &img);
    if (rc)
        fail_msg("the valid image is rejected: %s", sink_text(&s));
    uint64_t got_size;
    assert_ptr_equal(snn_image_data(img, &got_size), buf);
    assert_int_equal(got_size, size);
    assert_int_equal(snn_image_header(img)->n_sections, 10);
    assert_int_equal(snn_image_sections(img)[4].kind, SNN_SEC_CORE_DTCM);
    assert_int_equal(snn_image_sections(img)[4].where, SNN_IMAGE_WHERE(0, 0, 1));

    const uint32_t *dead = NULL;
    const struct snn_image_machine *m = snn_image_machine(img, &dead);
    assert_memory_equal(m, &f.machine.m, sizeof *m);
    assert_int_equal(dead[0], SNN_IMAGE_WHERE(1, 1, 3));
    assert_memory_equal(snn_image_run(img), &f.run.r, sizeof f.run.r);
    assert_memory_equal(snn_image_pops(img), f.run.pops, sizeof f.run.pops);
    assert_memory_equal(snn_image_slices(img), f.run.sl, sizeof f.run.sl);
    assert_string_equal(snn_image_pop_name(img, 0), "in");
    assert_string_equal(snn_image_pop_name(img, 1), "exc");

    for (uint32_t sl = 0; sl < N_SLICES; sl++) {
        uint32_t bytes = 0;
        const void *dt = snn_image_slice_dtcm(img, sl, &bytes);
        assert_int_equal(bytes, f.dtcm_bytes[sl]);
        assert_memory_equal(dt, f.dtcm[sl], bytes);
        struct snn_image_sdram where;
        const void *words = snn_image_slice_sdram(img, sl, &where);
        assert_memory_equal(&where, &f.sd[sl], sizeof where);
        if (where.stored_bytes)
            assert_memory_equal(words, f.stored[sl], where.stored_bytes);
        assert_true((uintptr_t)dt % 8 == 0 && ((uintptr_t)words - 16) % 8 == 0);
    }
    uint32_t n = 99;
    const void *r = snn_image_routes(img, 0, 0, &n);
    assert_int_equal(n, 1);
    assert_memory_equal(r, f.rt00, 16);
    r = snn_image_routes(img, 1, 0, &n);
    assert_int_equal(n, 1);
    assert_memory_equal(r, f.rt10, 16);
    assert_null(snn_image_routes(img, 0, 1, &n));
    assert_int_equal(n, 0);
    assert_null(snn_image_routes(img, 2, 0, &n));

    /* describe: stable text with what was put in */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    snn_image_describe(img, true, out);
    fclose(out);
    static const char *const want[] = {
        "image: spinn, version 1, ",
        "target: 'tiny', 2 x 2 chips, 4 cores per chip (1 monitor)",
        "dead: 0 chips, 1 cores, 0 links",
        "run: timestep 0.1 ms, 4 steps recorded, seed 4294967298",
        "population 0 'in': 2 neurons, spike_source_array, 1 slice, records spikes\n",
        "population 1 'exc': 3 neurons, lif_curr_exp, 2 slices, records spikes and v\n",
        "3 slices, 2 routing entries on 2 chips",
        "3 synapse words",
        "MACHINE    image",
        "ROUTES     chip (1, 0)  ",
        "CORE_SDRAM chip (1, 0) core 1",
        "crc 0x",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(text, want[i]))
            fail_msg("describe lacks '%s':\n%s", want[i], text);
    /* without sections: no section lines */
    char *text2 = NULL;
    out = open_memstream(&text2, &len);
    snn_image_describe(img, false, out);
    fclose(out);
    assert_null(strstr(text2, "CORE_DTCM"));
    assert_non_null(strstr(text2, "totals:"));
    free(text);
    free(text2);
    snn_image_free(img);
    assert_int_equal(snn_diag_errors(s.d), 0);

    /* any alignment: the same bytes one past an aligned address */
    uint8_t *odd = malloc(size + 1);
    memcpy(odd + 1, buf, size);
    assert_int_equal(snn_image_open(odd + 1, size, "t.snnb", s.d, &img), 0);
    assert_int_equal(snn_image_slices(img)[2].lo, 2);
    snn_image_free(img);
    free(odd);
    snn_image_free(NULL);
    sink_close(&s);
    free(buf);
}

/* ---- damage ------------------------------------------------------------------------- */

static void test_truncated(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    uint64_t size;
    uint8_t *buf = build(&f, &size);
    for (uint64_t len = 0; len < size; len++)
        rejects(buf, len, len < 48 ? "ends inside its header" : "the header says the image is");
    /* and one byte more */
    uint8_t *more = calloc(1, size + 8);
    memcpy(more, buf, size);
    rejects(more, size + 8, "the header says the image is");
    free(more);
    free(buf);
}

static void test_every_byte(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    uint64_t size;
    uint8_t *buf = build(&f, &size);
    uint8_t *copy = malloc(size);
    for (uint64_t i = 0; i < size; i++) {
        memcpy(copy, buf, size);
        copy[i] ^= (uint8_t)(1u << (i % 8));
        struct sink s;
        sink_open(&s);
        struct snn_image *img = NULL;
        int rc = open_copy(copy, size, &s, &img);
        if (rc != SNN_EPARSE || snn_diag_errors(s.d) != 1)
            fail_msg("byte %llu flipped: rc %d, %s", (unsigned long long)i, rc, sink_text(&s));
        sink_close(&s);
    }
    free(copy);
    free(buf);
}

static void test_header(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    uint64_t size;
    uint8_t *buf = build(&f, &size);
    uint8_t *b = malloc(size);
    struct {
        uint32_t word, value;
        const char *want;
    } cases[] = {
        {0, 0x12345678, "not an image: the magic is 0x12345678"},
        {1, 2, "byte 4: image version 2; this reader reads version 1"},
        {2, 3, "byte 8: unknown family 3"},
        {2, 2, "an sdt image"},
        {3, 52, "byte 12: header_bytes is 52"},
        {5, 56, "byte 20: table_off is 56"},
        {6, 8, "byte 24: the header says the image is 8 bytes"},
        {7, 1, "the header says the image is 42949"},
        {8, 4, "byte 32: unknown flags 0x00000004"},
        {9, 1, "byte 36: the reserved word"},
        {4, 1000, "byte 16: 1000 sections need a table"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(b, buf, size);
        memcpy(b + 4 * cases[i].word, &cases[i].value, 4);
        fix_crcs(b, false);
        rejects(b, size, cases[i].want);
    }
    /* checksums */
    memcpy(b, buf, size);
    b[44] ^= 1;
    rejects(b, size, "byte 44: header checksum");
    memcpy(b, buf, size);
    {
        struct snn_image_header h;
        memcpy(&h, b, sizeof h);
        h.table_crc ^= 1;
        h.header_crc = snn_crc32_update(0, &h, 44);
        memcpy(b, &h, sizeof h);
    }
    rejects(b, size, "byte 40: section table checksum");
    /* a payload's checksum */
    memcpy(b, buf, size);
    struct snn_image_section e = entry(b, 2);
    b[e.off_lo + 3] ^= 0x10;
    rejects(b, size, "section 2 (ROUTES of chip (0, 0)): checksum 0x");
    /* a non-zero byte between payloads (after the RUN's 127 bytes) */
    memcpy(b, buf, size);
    e = entry(b, 1);
    b[e.off_lo + e.bytes] = 1;
    rejects(b, size, "between payloads");
    rejects(b, 0, "ends inside its header");
    free(b);
    free(buf);
}

static void test_table(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    uint64_t size;
    uint8_t *buf = build(&f, &size);
    uint8_t *b = malloc(size);
    struct snn_image_section e;

    memcpy(b, buf, size); /* overlapping: section 3 where section 2 is */
    e = entry(b, 3);
    e.off_lo = entry(b, 2).off_lo;
    set_entry(b, 3, &e);
    rejects(b, size, "overlaps section 2's");

    memcpy(b, buf, size); /* a payload partly over the next one */
    e = entry(b, 2);
    e.bytes += 8;
    set_entry(b, 2, &e);
    rejects(b, size, "overlaps section 2's");

    memcpy(b, buf, size);
    e = entry(b, 3);
    e.off_lo += 4;
    set_entry(b, 3, &e);
    rejects(b, size, "section 3 (ROUTES of chip (1, 0)): its payload's offset");

    memcpy(b, buf, size);
    e = entry(b, 9);
    e.bytes = 0x10000;
    set_entry(b, 9, &e);
    rejects(b, size, "runs past the image's end");

    memcpy(b, buf, size);
    e = entry(b, 4);
    e.off_hi = 1;
    set_entry(b, 4, &e);
    rejects(b, size, "runs past the image's end");

    memcpy(b, buf, size);
    e = entry(b, 0);
    e.off_lo = 40;
    set_entry(b, 0, &e);
    rejects(b, size, "lies in the header or the section table");

    memcpy(b, buf, size);
    e = entry(b, 2);
    e.kind = 9;
    set_entry(b, 2, &e);
    rejects(b, size, "byte 96: section 2 (kind 9 of chip (0, 0)): unknown kind 9");

    memcpy(b, buf, size); /* a chip's section with a core */
    e = entry(b, 2);
    e.where = SNN_IMAGE_WHERE(0, 0, 1);
    set_entry(b, 2, &e);
    rejects(b, size, "a chip's section with a core");

    memcpy(b, buf, size); /* a core outside the machine */
    e = entry(b, 8);
    e.where = SNN_IMAGE_WHERE(1, 0, 7);
    set_entry(b, 8, &e);
    rejects(b, size, "outside the machine");

    memcpy(b, buf, size);
    e = entry(b, 0);
    e.where = 0;
    set_entry(b, 0, &e);
    rejects(b, size, "a whole-image section with a place");
    free(b);
    free(buf);
}

static void test_sections(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct part p[MAX_PARTS], q[MAX_PARTS];
    uint32_t n = parts(&f, p);

    /* missing CORE_SDRAM: the last one */
    rejects_parts(p, n - 1, "section 8 (CORE_DTCM of chip (1, 0) core 1): no CORE_SDRAM section");
    /* missing CORE_SDRAM in the middle */
    memcpy(q, p, sizeof p);
    memmove(&q[5], &q[6], (n - 6) * sizeof *q);
    rejects_parts(q, n - 1, "section 4 (CORE_DTCM of chip (0, 0) core 1): no CORE_SDRAM");
    /* a slice without sections */
    rejects_parts(p, n - 2, "slice 1 on chip (1, 0) core 1 has no CORE_DTCM section");
    /* no RUN, no MACHINE */
    rejects_parts(p, 1, "1 section; a spinn image starts with a MACHINE and a RUN");
    rejects_parts(&p[1], n - 1, "section 0 must be MACHINE");
    memcpy(q, p, sizeof p);
    q[1] = p[2];
    rejects_parts(q, n, "section 1 must be RUN");
    /* repeated sections */
    memcpy(q, p, 3 * sizeof *p);
    memcpy(&q[3], &p[2], (n - 2) * sizeof *p);
    rejects_parts(q, n + 1, "section 3 (ROUTES of chip (0, 0)): a second routing table");
    memcpy(q, p, sizeof p);
    q[n] = p[0];
    rejects_parts(q, n + 1, "a second MACHINE section");
    memcpy(q, p, sizeof p);
    q[n] = p[8], q[n + 1] = p[9];
    rejects_parts(q, n + 2, "section 10 (CORE_DTCM of chip (1, 0) core 1): a second CORE_DTCM");
    /* out of order */
    memcpy(q, p, sizeof p);
    q[2] = p[3], q[3] = p[2];
    rejects_parts(q, n, "section 3 (ROUTES of chip (0, 0)): out of order");
    memcpy(q, p, sizeof p);
    q[4] = p[6], q[5] = p[7], q[6] = p[4], q[7] = p[5];
    rejects_parts(q, n, "section 6 (CORE_DTCM of chip (0, 0) core 1): out of order");
    memcpy(q, p, 2 * sizeof *p);
    memcpy(&q[2], &p[4], (n - 4) * sizeof *p);
    q[n - 2] = p[2];
    rejects_parts(q, n - 1, "a routing table after the cores' sections");
    /* SDRAM before DTCM */
    memcpy(q, p, sizeof p);
    q[4] = p[5], q[5] = p[4];
    rejects_parts(q, n, "section 4 (CORE_SDRAM of chip (0, 0) core 1): no CORE_DTCM");
    /* a core no slice runs on */
    memcpy(q, p, sizeof p);
    q[n] = p[8], q[n + 1] = p[9];
    q[n].where = q[n + 1].where = SNN_IMAGE_WHERE(1, 1, 1);
    rejects_parts(q, n + 2, "no slice of the run is on this core");
}

static void test_machine_run(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    f.machine.m.width = 0;
    rejects_fixture(&f, "a 0 x 2 grid");
    fixture_init(&f);
    f.machine.m.cores = 59;
    rejects_fixture(&f, "59 cores per chip");
    fixture_init(&f);
    f.machine.m.monitor_cores = 4;
    rejects_fixture(&f, "4 monitor cores of 4");
    fixture_init(&f);
    memset(f.machine.m.name, 'x', 32);
    rejects_fixture(&f, "not NUL-terminated within 32 bytes");
    fixture_init(&f);
    f.machine.dead[0] = SNN_IMAGE_WHERE(2, 0, 1);
    rejects_fixture(&f, "a dead core 0x00010002 outside the 2 x 2 grid");
    fixture_init(&f);
    struct part p[MAX_PARTS];
    uint32_t n = parts(&f, p);
    p[0].bytes = 112; /* the size no longer agrees with the counts */
    rejects_parts(p, n, "112 bytes; a machine with 1 dead parts is 104 + 4 x 1 = 108 bytes");

    /* slices */
    fixture_init(&f);
    f.run.sl[1].where = SNN_IMAGE_WHERE(2, 0, 1);
    rejects_fixture(&f, "slice 1 is on chip (2, 0) core 1, outside the machine");
    fixture_init(&f);
    f.run.sl[1].where = SNN_IMAGE_WHERE(0, 0, 4);
    rejects_fixture(&f, "slice 1 is on chip (0, 0) core 4, outside the machine");
    fixture_init(&f);
    f.run.sl[1].where = SNN_IMAGE_WHERE(1, 1, 3);
    rejects_fixture(&f, "which is dead");
    fixture_init(&f);
    f.run.sl[1].where = f.run.sl[2].where;
    rejects_fixture(&f, "slices 1 and 2 are both on chip (0, 0) core 2");
    fixture_init(&f);
    f.run.sl[2].lo = 1;
    rejects_fixture(&f, "slice 2 holds [1, +1) of population 1; next is neuron 2");
    fixture_init(&f);
    f.run.pops[1].size = 4;
    rejects_fixture(&f, "population 1's slices cover 3 of its 4 neurons");
    fixture_init(&f);
    f.run.pops[1].first_slice = 0;
    rejects_fixture(&f, "population 1's slices [0, +2) do not follow");
    fixture_init(&f);
    f.run.pops[1].name_off = 7;
    rejects_fixture(&f, "population 1's name at 7 is not NUL-terminated");
    fixture_init(&f);
    f.run.names[6] = 'x';
    rejects_fixture(&f, "population 1's name at 3 is not NUL-terminated");
    fixture_init(&f);
    f.run.pops[0].model = 9;
    rejects_fixture(&f, "population 0: unknown model 9");
    fixture_init(&f);
    f.run.sl[0].mask = 0xFFFFFFFFu;
    rejects_fixture(&f, "slice 0's key 0x00000000 / mask 0xffffffff is not a block");
    fixture_init(&f);
    f.run.r.n_slices = 4; /* the size no longer agrees */
    rejects_fixture(&f, "2 populations, 4 slices and 7 bytes of names make 183");
}

static void test_routes(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    f.machine.m.router_reserved = 16;
    rejects_fixture(&f, "section 2 (ROUTES of chip (0, 0)): 1 entries; the router has room for 0");
    fixture_init(&f);
    f.rt10[0].route_lo = (uint32_t)SNN_IMAGE_ROUTE_CORE(4);
    rejects_fixture(&f, "section 3 (ROUTES of chip (1, 0)): entry 0 routes to core 4; the "
                        "machine's chips have 4 cores");
    fixture_init(&f);
    f.rt10[0].route_hi = 0x80000000u;
    rejects_fixture(&f, "routes to core 57");
    fixture_init(&f);
    struct part p[MAX_PARTS];
    uint32_t n = parts(&f, p);
    p[2].bytes = 12;
    rejects_parts(p, n, "12 bytes, not a whole number");
    p[2].bytes = 0;
    rejects_parts(p, n, "0 bytes, not a whole number");
    fixture_init(&f);
    n = parts(&f, p);
    p[3].where = SNN_IMAGE_WHERE(2, 0, 0xFF);
    rejects_parts(p, n, "outside the machine");
}

static void test_cores(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    hdr(&f, 2)->lo = 1;
    rejects_fixture(&f, "section 6 (CORE_DTCM of chip (0, 0) core 2): the core header's lo is 1; "
                        "slice 2's is 2");
    fixture_init(&f);
    hdr(&f, 1)->key = 0x8;
    rejects_fixture(&f, "the core header's key is 8; slice 1's is 4");
    fixture_init(&f);
    hdr(&f, 0)->model = FX_MODEL_SPIKE_SOURCE_POISSON;
    rejects_fixture(&f, "the core header's model is 7; slice 0's is 6");
    fixture_init(&f);
    hdr(&f, 0)->version = SNN_CORE_IMAGE_VERSION + 1;
    char want[80];
    snprintf(want, sizeof want, "core image version %u; this reader reads %u",
             SNN_CORE_IMAGE_VERSION + 1, SNN_CORE_IMAGE_VERSION);
    rejects_fixture(&f, want);
    fixture_init(&f);
    hdr(&f, 1)->n_steps = 5;
    rejects_fixture(&f, "n_steps is 5");
    fixture_init(&f);
    hdr(&f, 1)->flags = SNN_CORE_RECORD_SPIKES;
    rejects_fixture(&f, "records 0x1; its population records 0x3");
    fixture_init(&f);
    hdr(&f, 1)->ring_slots = 3;
    rejects_fixture(&f, "ring_slots 3");
    fixture_init(&f);
    hdr(&f, 1)->record_v_mask[0] = 0x4;
    rejects_fixture(&f, "record_v_mask word 0 is 0x00000004");
    fixture_init(&f); /* shifts outside fx_dot3's 1 .. 60 and fx_mul's 0 .. 62 */
    const size_t P = sizeof(struct fx_lif_curr_exp);
    f.dtcm[1][(136 + P + offsetof(struct fx_lif_curr_exp, shift)) / 4] = 0;
    rejects_fixture(&f, "neuron 1's lif_curr_exp parameters hold a shift of 0 (byte 28");
    fixture_init(&f);
    f.dtcm[1][(136 + offsetof(struct fx_lif_curr_exp, p22i.s)) / 4] = 63;
    rejects_fixture(&f, "neuron 0's lif_curr_exp parameters hold a shift of 63 (byte 44");
    fixture_init(&f);
    hdr(&f, 1)->state_off += 4;
    rejects_fixture(&f, "parts at 136, 244, ");
    fixture_init(&f);
    f.dtcm_bytes[1] += 4; /* a payload longer than the header says */
    rejects_fixture(&f, "in a 292-byte payload");
    fixture_init(&f);
    hdr(&f, 1)->spikes_bytes = 4;
    rejects_fixture(&f, "SDRAM regions rows");
    fixture_init(&f);
    f.dtcm[0][35] = 4; /* neuron 0's times past the 3 words */
    rejects_fixture(&f, "neuron 0's spike times [0, 4)");
    /* the key table */
    fixture_init(&f);
    struct snn_key_entry *ke = (struct snn_key_entry *)((uint8_t *)f.dtcm[2] + hdr(&f, 2)->keys_off);
    ke->n_pre = 3;
    rejects_fixture(&f, "key entry 0 has 3 pre neurons");
    fixture_init(&f);
    ke->index_off = 32;
    rejects_fixture(&f, "key entry 0's row index at 32");
    fixture_init(&f);
    ke->key = 1;
    rejects_fixture(&f, "key entry 0 (0x00000001 / 0xfffffffe) is not a block");

    /* SDRAM */
    fixture_init(&f);
    f.sd[2].chip_off_lo = 16;
    rejects_fixture(&f, "section 7 (CORE_SDRAM of chip (0, 0) core 2): its SDRAM block [16, 80) "
                        "overlaps section 5's [0, 28)");
    fixture_init(&f);
    f.sd[1].chip_off_lo = (1 << 20) - 8;
    rejects_fixture(&f, "outside the chip's 1048576 bytes of SDRAM");
    fixture_init(&f);
    f.sd[1].block_bytes = 48;
    rejects_fixture(&f, "block_bytes 48; the core header's sdram_bytes is 52");
    fixture_init(&f);
    f.sd[1].stored_bytes = 16;
    rejects_fixture(&f, "stored_bytes 16");
    /* row indices, rows, synapses */
    fixture_init(&f);
    f.stored[2][0] = 0x7; /* a bit for a third pre neuron */
    rejects_fixture(&f, "edge 0's row group 0 (bits 0x00000007");
    fixture_init(&f);
    f.stored[2][1] = 1;
    rejects_fixture(&f, "before 1): 0 rows come before it");
    fixture_init(&f);
    f.stored[2][3] = 28;
    rejects_fixture(&f, "edge 0's row 1 is at 28; it goes at 24");
    fixture_init(&f);
    f.stored[2][6] = snn_row_header(0, 2);
    rejects_fixture(&f, "edge 0's row 1 has 2 synapses, past the 32 bytes of rows");
    fixture_init(&f);
    f.stored[2][5] = snn_syn_word(100, 4, 0);
    rejects_fixture(&f, "synaptic word 0x00640400: neuron 0 of 1, delay 4; delays are 1 .. 3");
    fixture_init(&f);
    f.stored[1][4] = snn_syn_word(7, 1, 2);
    rejects_fixture(&f, "neuron 2 of 2");
    fixture_init(&f);
    f.stored[1][4] = snn_syn_word(7, 0, 1);
    rejects_fixture(&f, "delay 0");
    /* a word of the rows region no edge covers */
    fixture_init(&f);
    hdr(&f, 1)->rows_bytes = 24;
    core(&f, 1, 4, 3, 0x2, 1, 24, 0);
    ke = (struct snn_key_entry *)((uint8_t *)f.dtcm[1] + hdr(&f, 1)->keys_off);
    *ke = (struct snn_key_entry){0x0, 0xFFFFFFFEu, 0, 2};
    rejects_fixture(&f, "the edges' row indices and rows end at 20 of the 24 bytes of rows");
}

/* ---- memory and files ----------------------------------------------------------------- */

static void test_alloc_failures(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    uint64_t size;
    uint8_t *buf = build(&f, &size);
    struct sink s;
    sink_open(&s);
    int rc = SNN_ENOMEM;
    long n;
    for (n = 0; n < 1000 && rc; n++) {
        struct snn_image *img = (struct snn_image *)&s;
        snn_alloc_fail_after(n);
        rc = snn_image_open(buf, size, "t.snnb", s.d, &img);
        snn_alloc_fail_after(-1);
        if (rc) {
            assert_int_equal(rc, SNN_ENOMEM);
            assert_null(img);
        } else {
            assert_int_equal(snn_image_slices(img)[1].where, SNN_IMAGE_WHERE(1, 0, 1));
            snn_image_free(img);
        }
    }
    assert_int_equal(rc, 0);
    assert_true(n > 1);
    assert_int_equal(snn_diag_errors(s.d), 0);
    sink_close(&s);
    free(buf);
}

static void test_read_file(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    uint64_t size;
    uint8_t *buf = build(&f, &size);
    char path[] = "/tmp/test_image_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *out = fdopen(fd, "wb");
    assert_int_equal(fwrite(buf, 1, size, out), size);
    fclose(out);
    struct sink s;
    sink_open(&s);
    struct snn_image *img = NULL;
    assert_int_equal(snn_image_read_file(path, s.d, &img), 0);
    uint64_t got;
    assert_memory_equal(snn_image_data(img, &got), buf, size);
    assert_int_equal(got, size);
    snn_image_free(img);
    /* a damaged file: the file's name in the message */
    out = fopen(path, "wb");
    assert_int_equal(fwrite(buf, 1, size - 8, out), size - 8);
    fclose(out);
    assert_int_equal(snn_image_read_file(path, s.d, &img), SNN_EPARSE);
    assert_null(img);
    assert_non_null(strstr(sink_text(&s), path));
    remove(path);
    assert_int_equal(snn_image_read_file("/nonexistent/x.snnb", s.d, &img), SNN_EIO);
    assert_non_null(strstr(sink_text(&s), "/nonexistent/x.snnb: error: cannot open the image"));
    sink_close(&s);
    free(buf);
}

/* ---- end to end: the writer's image of a real mapping ---------------------------------- */

static void test_writer(void **state)
{
    (void)state;
    struct sink s;
    sink_open(&s);
    struct snn_net *net = NULL;
    struct snn_machine *m = NULL;
    if (snn_frontend_load(SNN_SOURCE_DIR "/examples/cuba.yaml", s.d, &net) ||
        snn_ir_verify(net, s.d) || snn_target_load("spinn3", s.d, &m))
        fail_msg("loading: %s", sink_text(&s));
    struct snn_map_options o;
    snn_map_options_init(&o);
    o.neurons_per_core = 64;
    struct snn_map *map = NULL;
    assert_int_equal(snn_map_new(net, m, &o, &map), 0);
    if (snn_map_run(map, SNN_PASS_LAYOUT, 0, NULL, s.d))
        fail_msg("mapping: %s", sink_text(&s));
    char *bytes = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&bytes, &size);
    assert_int_equal(snn_spinn_image_write(map, out, s.d), 0);
    fclose(out);
    struct snn_image *img = NULL;
    if (snn_image_open(bytes, size, "cuba.snnb", s.d, &img))
        fail_msg("the writer's image is rejected: %s", sink_text(&s));

    const struct snn_image_machine *im = snn_image_machine(img, NULL);
    assert_string_equal(im->name, m->name);
    assert_int_equal(im->width, m->width);
    assert_int_equal(im->cores, m->cores);
    const struct snn_image_run *r = snn_image_run(img);
    assert_int_equal(r->n_pops, net->n_pops);
    assert_int_equal(r->n_slices, map->n_slices);
    assert_true(map->n_slices > 2);
    for (uint32_t p = 0; p < net->n_pops; p++) {
        assert_string_equal(snn_image_pop_name(img, p), net->pops[p].name);
        assert_int_equal(snn_image_pops(img)[p].size, net->pops[p].size);
        assert_int_equal(snn_image_pops(img)[p].first_slice, map->pop_slice[p]);
    }
    for (uint32_t sl = 0; sl < map->n_slices; sl++) {
        const struct snn_slice *ms = &map->slices[sl];
        const struct snn_image_slice *is = &snn_image_slices(img)[sl];
        assert_int_equal(is->pop, ms->pop);
        assert_int_equal(is->lo, ms->lo);
        assert_int_equal(is->n, ms->n);
        assert_int_equal(is->where, SNN_IMAGE_WHERE(ms->x, ms->y, ms->core));
        assert_int_equal(is->key, ms->key);
        assert_int_equal(is->mask, ms->mask);
        const struct snn_core_image *ci = &map->images[sl];
        uint32_t db = 0;
        const void *dt = snn_image_slice_dtcm(img, sl, &db);
        assert_int_equal(db, ci->dtcm_words * 4);
        assert_memory_equal(dt, ci->dtcm, db);
        struct snn_image_sdram where;
        const void *words = snn_image_slice_sdram(img, sl, &where);
        assert_int_equal(where.stored_bytes, ci->sdram_words * 4);
        assert_int_equal(where.block_bytes, ci->sdram_bytes);
        assert_int_equal(((uint64_t)where.chip_off_hi << 32) | where.chip_off_lo, ci->chip_offset);
        if (where.stored_bytes)
            assert_memory_equal(words, ci->sdram, where.stored_bytes);
    }
    uint64_t entries = 0;
    for (uint32_t y = 0; y < m->height; y++)
        for (uint32_t x = 0; x < m->width; x++) {
            const struct snn_rtable *t = &map->tables[y * m->width + x];
            uint32_t n = 0;
            const struct snn_image_route *rt = snn_image_routes(img, x, y, &n);
            assert_int_equal(n, t->n);
            for (uint32_t k = 0; k < n; k++) {
                assert_int_equal(rt[k].key, t->e[k].key);
                assert_int_equal(rt[k].mask, t->e[k].mask);
                assert_int_equal(((uint64_t)rt[k].route_hi << 32) | rt[k].route_lo, t->e[k].route);
            }
            entries += n;
        }
    assert_true(entries > 0);
    snn_image_free(img);
    assert_int_equal(snn_diag_errors(s.d), 0);
    free(bytes);
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
    sink_close(&s);
}

/* With SNN_IMAGE_CORPUS=DIR in the environment, writes the fuzzer's seeds
 * (tests/fuzz/corpus/image/) there: the valid image and a few damaged ones. */
static void write_seed(const char *dir, const char *name, const uint8_t *buf, uint64_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, size, f), size);
    fclose(f);
}

static void write_corpus(const char *dir)
{
    struct fixture f;
    fixture_init(&f);
    struct part p[MAX_PARTS];
    uint32_t n = parts(&f, p);
    uint64_t size;
    uint8_t *buf = assemble(p, n, &size);
    write_seed(dir, "valid.snnb", buf, size);
    write_seed(dir, "truncated.snnb", buf, size / 2);
    buf[size / 2] ^= 0x40;
    write_seed(dir, "bad_crc.snnb", buf, size);
    free(buf);
    buf = assemble(p, n - 1, &size);
    write_seed(dir, "no_sdram.snnb", buf, size);
    free(buf);
    buf = assemble(p, 4, &size);
    write_seed(dir, "routes_only.snnb", buf, size);
    free(buf);
    hdr(&f, 2)->lo = 1;
    buf = build(&f, &size);
    write_seed(dir, "dtcm_disagrees.snnb", buf, size);
    free(buf);
}

int main(void)
{
    const char *corpus = getenv("SNN_IMAGE_CORPUS");
    if (corpus)
        write_corpus(corpus);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_machine_run),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_cores),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/fuzz/fuzz_image.c: libFuzzer target for the image reader
 * (runtime/image.c).
 *
 * Each input is opened twice: as it is, and as a copy whose checksums
 * (every payload's that lies inside the input, the table's, the header's)
 * are made right, so mutations get past the CRCs into the checks of the
 * sections' contents.  The contract: either 0 and an image whose every
 * accessor can be walked (describe; for spinn images every slice's DTCM
 * image and SDRAM words and every chip's routes, for sdt images the
 * configuration, program, memories, lists, input events and outputs; all
 * read byte by byte), or SNN_EPARSE with
 * exactly one error, or SNN_ENOMEM.  Crashes, sanitizer reports (reads
 * outside the input above all), leaks and hangs are the findings.
 * Seeds: tests/fuzz/corpus/image/ (written by tests/unit/test_image).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/image.h"
#include "abi/sdt.h"
#include "runtime/image.h"
#include "support/crc32.h"
#include "support/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t sum(const void *p, uint64_t n)
{
    const uint8_t *b = p;
    uint32_t s = 0;
    for (uint64_t i = 0; i < n; i++)
        s += b[i];
    return s;
}

/* An sdt image: every part the accessors give, read byte by byte. */
static void walk_sdt(const struct snn_image *img, FILE *sink)
{
    const struct snn_sdt_image_config *c = snn_image_sdt_config(img);
    uint32_t acc = sum(c, sizeof *c), n, bytes;
    const void *prog = snn_image_sdt_program(img, &n);
    acc += sum(prog, 4ull * SNN_SDT_DESC_WORDS * n);
    const void *w = snn_image_sdt_wmem(img, &bytes);
    acc += sum(w, bytes);
    const void *q = snn_image_sdt_qmem(img, &bytes);
    acc += sum(q, bytes);
    acc += sum(snn_image_sdt_lists(img), 16 * sizeof(struct snn_sdt_image_list));
    const void *offsets, *events;
    const struct snn_sdt_image_input *in = snn_image_sdt_input(img, &offsets, &events);
    acc += sum(in, sizeof *in);
    if (offsets)
        acc += sum(offsets, 4ull * (in->steps + 1));
    if (events)
        acc += sum(events, 4ull * in->n_events);
    const struct snn_sdt_image_output *o = snn_image_sdt_outputs(img, &n);
    acc += sum(o, sizeof *o * (uint64_t)n);
    for (uint32_t i = 0; i < n; i++)
        acc += (uint32_t)strlen(snn_image_sdt_output_name(img, i));
    fprintf(sink, "%u\n", acc);
}

static void walk(const struct snn_image *img, FILE *sink)
{
    snn_image_describe(img, true, sink);
    if (snn_image_header(img)->family == SNN_IMAGE_FAMILY_SDT) {
        walk_sdt(img, sink);
        return;
    }
    const uint32_t *dead;
    const struct snn_image_machine *m = snn_image_machine(img, &dead);
    const struct snn_image_run *r = snn_image_run(img);
    uint32_t acc = sum(dead, 4ull * (m->n_dead_chips + m->n_dead_cores + m->n_dead_links));
    for (uint32_t p = 0; p < r->n_pops; p++)
        acc += (uint32_t)strlen(snn_image_pop_name(img, p));
    for (uint32_t s = 0; s < r->n_slices; s++) {
        uint32_t bytes;
        const void *dt = snn_image_slice_dtcm(img, s, &bytes);
        acc += sum(dt, bytes);
        struct snn_image_sdram where;
        const void *words = snn_image_slice_sdram(img, s, &where);
        acc += sum(words, where.stored_bytes);
        SNN_ASSERT(snn_image_slices(img)[s].n >= 1);
    }
    for (uint32_t y = 0; y < m->height; y++)
        for (uint32_t x = 0; x < m->width; x++) {
            uint32_t n;
            const void *rt = snn_image_routes(img, x, y, &n);
            SNN_ASSERT((rt == NULL) == (n == 0));
            acc += sum(rt, 16ull * n);
        }
    fprintf(sink, "%u\n", acc);
}

static void try_open(const uint8_t *data, size_t size, FILE *sink)
{
    struct snn_diag *d = snn_diag_new(sink);
    if (!d)
        return;
    struct snn_image *img = NULL;
    int rc = snn_image_open(data, size, "fuzz.snnb", d, &img);
    SNN_ASSERT((rc == 0) == (img != NULL));
    SNN_ASSERT(rc == 0 || rc == SNN_ENOMEM || (rc == SNN_EPARSE && snn_diag_errors(d) == 1));
    if (img)
        walk(img, sink);
    snn_image_free(img);
    snn_diag_free(d);
}

/* Makes the checksums of the image in buf right where they can be. */
static void fix_crcs(uint8_t *buf, size_t size)
{
    if (size < sizeof(struct snn_image_header))
        return;
    struct snn_image_header h;
    memcpy(&h, buf, sizeof h);
    uint64_t n = h.n_sections, end = 48 + 24 * n;
    if (end <= size) {
        for (uint64_t k = 0; k < n; k++) {
            struct snn_image_section s;
            memcpy(&s, buf + 48 + 24 * k, sizeof s);
            uint64_t off = (uint64_t)s.off_lo | (uint64_t)s.off_hi << 32;
            if (off <= size && s.bytes <= size - off) {
                s.crc = snn_crc32(0, buf + off, s.bytes);
                memcpy(buf + 48 + 24 * k, &s, sizeof s);
            }
        }
        h.table_crc = snn_crc32(0, buf + 48, (size_t)(end - 48));
    }
    h.header_crc = snn_crc32(0, &h, 44);
    memcpy(buf, &h, sizeof h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    try_open(data, size, sink);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    try_open(copy, size, sink);
    free(copy);
    return 0;
}

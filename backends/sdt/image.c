/*
 * backends/sdt/image.c: an sdt program's image (docs/image-format.md,
 * "sdt sections").
 *
 * Seven sections of the whole image, in this order: CONFIG (the target
 * and the run), PROGRAM (PMEM from word 0), WMEM, QMEM (their images from
 * word 0), LISTS (the 16 list registers), INPUT (the input's events of
 * every step) and OUTPUTS (where every spiking layer and the head live in
 * DMEM).  Every payload is built in memory, checksummed, then written
 * after the header and the table, zero-padded to 8 bytes.  Nothing
 * depends on pointers, times or threads: the same program gives the same
 * bytes.
 *
 * Words are written as the host holds them: the format is little-endian,
 * and so must the host be (checked at compile time).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <string.h>

#include "abi/image.h"
#include "abi/sdt.h"
#include "backends/sdt/sdt.h"
#include "support/arena.h"
#include "support/crc32.h"
#include "support/err.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "images are little-endian; this writer stores host words as they are"
#endif

struct sec {
    uint32_t kind;
    const void *p;
    uint64_t n;
};

static uint64_t align8(uint64_t x)
{
    return (x + 7) & ~(uint64_t)7;
}

/* An energy in picojoules as attojoules (rounded; the target verifier
 * bounds it by 1 nJ, 10^9 aJ). */
static uint32_t attojoules(double pj)
{
    return (uint32_t)floor(pj * 1e6 + 0.5);
}

static int put(FILE *out, const void *p, uint64_t n)
{
    if (n && fwrite(p, 1, (size_t)n, out) != n)
        return SNN_EIO;
    return 0;
}

int snn_sdt_image_write(const struct snn_sdt_program *p, FILE *out, struct snn_diag *d)
{
    struct snn_arena *a = snn_arena_new();
    if (!a)
        return SNN_ENOMEM;
    uint32_t L = p->hw.lanes;
    struct snn_sdt_image_config cfg;
    memset(&cfg, 0, sizeof cfg);
    memcpy(cfg.name, p->name, strnlen(p->name, sizeof cfg.name - 1));
    cfg.lanes = L;
    cfg.pmem_log2 = p->hw.pmem_log2;
    cfg.wmem_log2 = p->hw.wmem_log2;
    cfg.qmem_log2 = p->hw.qmem_log2;
    cfg.dmem_log2 = p->hw.dmem_log2;
    cfg.evt_log2 = p->hw.evt_log2;
    cfg.fifo_log2 = p->fifo_log2;
    cfg.clock_mhz = p->clock_mhz;
    cfg.config_reg = SNN_SDT_CONFIG(L, p->hw.pmem_log2, p->hw.wmem_log2, p->hw.qmem_log2,
                                    p->hw.dmem_log2, p->hw.evt_log2);
    cfg.timesteps = p->timesteps;
    cfg.seed_lo = (uint32_t)p->seed;
    cfg.seed_hi = (uint32_t)(p->seed >> 32);
    cfg.n_desc = p->n_desc;
    cfg.wmem_words = p->wmem_words;
    cfg.qmem_words = p->qmem_words;
    cfg.dmem_words = p->dmem_words;
    cfg.evt_words = p->evt_words;
    cfg.e_ac_aj = attojoules(p->energy.ac_pj);
    cfg.e_mac_aj = attojoules(p->energy.mac_pj);
    cfg.e_read_bit_aj = attojoules(p->energy.read_bit_pj);
    cfg.e_write_bit_aj = attojoules(p->energy.write_bit_pj);

    struct snn_sdt_image_list lists[SNN_SDT_LISTS];
    for (uint32_t r = 0; r < SNN_SDT_LISTS; r++)
        lists[r] = (struct snn_sdt_image_list){p->list_base[r], p->list_cap[r]};

    uint32_t T = p->input.steps;
    uint64_t in_bytes = sizeof p->input + 4ull * (T + 1) + 4ull * p->input.n_events;
    uint64_t names = 0;
    for (uint32_t k = 0; k < p->n_out; k++)
        names += strlen(p->out_name[k]) + 1;
    uint64_t out_bytes = sizeof(struct snn_sdt_image_outputs) +
                         (uint64_t)p->n_out * sizeof(struct snn_sdt_image_output) + names;
    uint8_t *in = snn_arena_alloc(a, (size_t)in_bytes);
    uint8_t *ob = snn_arena_alloc(a, (size_t)out_bytes);
    if (!in || !ob) {
        snn_arena_free(a);
        return SNN_ENOMEM;
    }
    memcpy(in, &p->input, sizeof p->input);
    memcpy(in + sizeof p->input, p->in_off, 4ull * (T + 1));
    if (p->input.n_events)
        memcpy(in + sizeof p->input + 4ull * (T + 1), p->in_events, 4ull * p->input.n_events);
    struct snn_sdt_image_outputs oh = {p->n_out, (uint32_t)names};
    memcpy(ob, &oh, sizeof oh);
    uint8_t *at = ob + sizeof oh;
    uint32_t name_off = 0;
    char *nm = (char *)ob + sizeof oh + (size_t)p->n_out * sizeof(struct snn_sdt_image_output);
    for (uint32_t k = 0; k < p->n_out; k++) {
        struct snn_sdt_image_output o = p->out[k];
        size_t len = strlen(p->out_name[k]) + 1;
        o.name_off = name_off;
        memcpy(at, &o, sizeof o);
        at += sizeof o;
        memcpy(nm + name_off, p->out_name[k], len);
        name_off += (uint32_t)len;
    }

    const struct sec secs[SNN_SDT_SECTIONS] = {
        {SNN_SEC_SDT_CONFIG, &cfg, sizeof cfg},
        {SNN_SEC_SDT_PROGRAM, p->desc, (uint64_t)p->n_desc * SNN_SDT_DESC_BYTES},
        {SNN_SEC_SDT_WMEM, p->wmem, (uint64_t)p->wmem_words * L},
        {SNN_SEC_SDT_QMEM, p->qmem, (uint64_t)p->qmem_words * L * 8},
        {SNN_SEC_SDT_LISTS, lists, sizeof lists},
        {SNN_SEC_SDT_INPUT, in, in_bytes},
        {SNN_SEC_SDT_OUTPUTS, ob, out_bytes},
    };
    struct snn_image_section table[SNN_SDT_SECTIONS];
    uint64_t table_bytes = sizeof table;
    uint64_t pos = align8(sizeof(struct snn_image_header) + table_bytes);
    for (uint32_t k = 0; k < SNN_SDT_SECTIONS; k++) {
        /* sizes: the lowering bounds every memory by 2^19 words of at most
         * 1 KiB, and the input by T x 2^21 events: all below 4 GiB */
        table[k] = (struct snn_image_section){secs[k].kind, SNN_IMAGE_WHOLE, (uint32_t)pos,
                                              (uint32_t)(pos >> 32), (uint32_t)secs[k].n,
                                              snn_crc32(0, secs[k].p, (size_t)secs[k].n)};
        pos = align8(pos + secs[k].n);
    }
    struct snn_image_header h;
    memset(&h, 0, sizeof h);
    h.magic = SNN_IMAGE_MAGIC;
    h.version = SNN_IMAGE_VERSION;
    h.family = SNN_IMAGE_FAMILY_SDT;
    h.header_bytes = sizeof h;
    h.n_sections = SNN_SDT_SECTIONS;
    h.table_off = sizeof h;
    h.total_lo = (uint32_t)pos;
    h.total_hi = (uint32_t)(pos >> 32);
    h.table_crc = snn_crc32(0, table, sizeof table);
    h.header_crc = snn_crc32(0, &h, offsetof(struct snn_image_header, header_crc));

    static const uint8_t zeros[8];
    uint64_t cur = sizeof h + table_bytes;
    int rc = put(out, &h, sizeof h);
    rc = rc ? rc : put(out, table, table_bytes);
    for (uint32_t k = 0; k < SNN_SDT_SECTIONS && !rc; k++) {
        uint64_t off = table[k].off_lo | (uint64_t)table[k].off_hi << 32;
        rc = put(out, zeros, off - cur);
        rc = rc ? rc : put(out, secs[k].p, secs[k].n);
        cur = off + secs[k].n;
    }
    rc = rc ? rc : put(out, zeros, pos - cur);
    if (rc == SNN_EIO)
        snn_diag_error(d, NULL, "cannot write the image: %s", strerror(errno));
    snn_arena_free(a);
    return rc;
}

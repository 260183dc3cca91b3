/*
 * abi/image.h: the image container, what `snnc build` writes and every
 * loader reads (docs/image-format.md is the byte-level description).
 *
 * An image is a header, a table of sections and the sections' payloads.
 * Each section has a kind, a place (a chip, a core, or the whole image),
 * an offset, a size and a CRC-32 of its payload; the header has CRC-32s
 * of itself and of the table, so a loader can reject a truncated,
 * corrupted or foreign image before it uses a byte of it.  All numbers
 * are little-endian 32-bit words (64-bit values as two words, low
 * first); payloads start at multiples of 8 bytes.
 *
 * The container is shared by the target families: spinn images (board
 * images: a target description, run information, a routing table per
 * chip, a DTCM image and an SDRAM block per core, abi/core_image.h) and,
 * later, sdt programs.
 *
 * Freestanding: no libc, no allocation.
 */
#ifndef SNN_ABI_IMAGE_H
#define SNN_ABI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* "SNNB" in the file's first four bytes. */
#define SNN_IMAGE_MAGIC 0x424E4E53u
/* The container's version; changes whenever this header's structures
 * or a section's payload format do. */
#define SNN_IMAGE_VERSION 1u

enum snn_image_family {
    SNN_IMAGE_FAMILY_SPINN = 1,
    SNN_IMAGE_FAMILY_SDT = 2
};

/* At offset 0: 48 bytes. */
struct snn_image_header {
    uint32_t magic;        /* SNN_IMAGE_MAGIC */
    uint32_t version;      /* SNN_IMAGE_VERSION */
    uint32_t family;       /* enum snn_image_family */
    uint32_t header_bytes; /* sizeof (struct snn_image_header) */
    uint32_t n_sections;
    uint32_t table_off;    /* the section table's byte offset (header_bytes) */
    uint32_t total_lo, total_hi; /* the image's size in bytes */
    uint32_t flags;        /* 0; a loader rejects bits it does not know */
    uint32_t reserved;     /* 0 */
    uint32_t table_crc;    /* CRC-32 of the section table */
    uint32_t header_crc;   /* CRC-32 of the 44 bytes before this word */
};

/* A section's place: chip (x, y) and core, or the whole image. */
#define SNN_IMAGE_WHERE(x, y, core) ((uint32_t)(x) | (uint32_t)(y) << 8 | (uint32_t)(core) << 16)
#define SNN_IMAGE_WHERE_X(w) ((w) & 0xFFu)
#define SNN_IMAGE_WHERE_Y(w) (((w) >> 8) & 0xFFu)
#define SNN_IMAGE_WHERE_CORE(w) (((w) >> 16) & 0xFFu)
#define SNN_IMAGE_WHOLE 0xFFFFFFFFu
#define SNN_IMAGE_NO_CORE 0xFFu /* a chip's section (a routing table) */

/* One entry of the section table: 24 bytes. */
struct snn_image_section {
    uint32_t kind;          /* enum snn_image_kind */
    uint32_t where;         /* SNN_IMAGE_WHERE(...) or SNN_IMAGE_WHOLE */
    uint32_t off_lo, off_hi; /* the payload's byte offset, a multiple of 8 */
    uint32_t bytes;         /* the payload's size */
    uint32_t crc;           /* CRC-32 of the payload */
};

enum snn_image_kind {
    /* spinn */
    SNN_SEC_MACHINE = 1,    /* whole: the target the image is for (struct snn_image_machine) */
    SNN_SEC_RUN = 2,        /* whole: timestep, steps, seed, populations and slices */
    SNN_SEC_ROUTES = 3,     /* a chip: its routing table, struct snn_image_route entries */
    SNN_SEC_CORE_DTCM = 4,  /* a core: its DTCM image (abi/core_image.h) */
    SNN_SEC_CORE_SDRAM = 5  /* a core: struct snn_image_sdram, then its block's stored words */
};

/* ---- spinn payloads ---------------------------------------------------- */

/* SNN_SEC_MACHINE: the machine as its target file describes it, then the
 * dead parts: n_dead_chips words SNN_IMAGE_WHERE(x, y, 0), n_dead_cores
 * words SNN_IMAGE_WHERE(x, y, core), n_dead_links words
 * SNN_IMAGE_WHERE(x, y, link).  A loader checks the machine it loads
 * onto is this one. */
struct snn_image_machine {
    char name[32];          /* NUL-padded */
    uint32_t width, height;
    uint32_t wrap;          /* 0 or 1 */
    uint32_t layout;        /* 0 full grid, 1 SpiNN-5 board */
    uint32_t cores, monitor_cores, clock_mhz;
    uint32_t dtcm_bytes, itcm_bytes;
    uint32_t sdram_lo, sdram_hi; /* per chip */
    uint32_t router_entries, router_reserved;
    uint32_t max_neurons, max_synaptic_events;
    uint32_t n_dead_chips, n_dead_cores, n_dead_links;
};

/* SNN_SEC_RUN: struct snn_image_run, then n_pops struct snn_image_pop,
 * then n_slices struct snn_image_slice (in slice order: each
 * population's slices in neuron order), then names_bytes of
 * NUL-terminated population names (name_off indexes them). */
struct snn_image_run {
    uint32_t dt_ns;         /* the timestep in nanoseconds (0.1 ms = 100,000) */
    uint32_t n_steps;       /* steps the recording regions hold */
    uint32_t seed_lo, seed_hi;
    uint32_t n_pops, n_slices;
    uint32_t names_bytes;
    uint32_t reserved;
};

struct snn_image_pop {
    uint32_t size;
    uint32_t model;         /* enum fx_model */
    uint32_t record;        /* SNN_CORE_RECORD_* */
    uint32_t first_slice, n_slices;
    uint32_t name_off;
};

struct snn_image_slice {
    uint32_t pop, lo, n;
    uint32_t where;         /* SNN_IMAGE_WHERE(x, y, core) */
    uint32_t key, mask;
};

/* A route word: bit l (0 .. 5) sends out of link l (E, NE, N, W, SW, S),
 * bit 6 + c delivers to core c of the chip. */
#define SNN_IMAGE_ROUTE_LINK(l) ((uint64_t)1 << (l))
#define SNN_IMAGE_ROUTE_CORE(c) ((uint64_t)1 << (6u + (c)))

/* SNN_SEC_ROUTES: one per chip with entries, in priority order. */
struct snn_image_route {
    uint32_t key, mask;
    uint32_t route_lo, route_hi; /* links bits 0..5, core c bit 6 + c */
};

/* SNN_SEC_CORE_SDRAM: where the block goes, then its stored words (rows
 * and spike times; the recording regions after them are zeroed by the
 * loader). */
struct snn_image_sdram {
    uint32_t chip_off_lo, chip_off_hi; /* the block's offset in its chip's SDRAM */
    uint32_t block_bytes;              /* the whole block, recording regions included */
    uint32_t stored_bytes;             /* the words that follow */
};

/* The sizes docs/image-format.md gives, held to by every compiler. */
_Static_assert(sizeof(struct snn_image_header) == 48, "header is 48 bytes");
_Static_assert(sizeof(struct snn_image_section) == 24, "a section entry is 24 bytes");
_Static_assert(sizeof(struct snn_image_machine) == 104, "machine is 104 bytes");
_Static_assert(sizeof(struct snn_image_run) == 32, "run is 32 bytes");
_Static_assert(sizeof(struct snn_image_pop) == 24, "pop is 24 bytes");
_Static_assert(sizeof(struct snn_image_slice) == 24, "slice is 24 bytes");
_Static_assert(sizeof(struct snn_image_route) == 16, "route is 16 bytes");
_Static_assert(sizeof(struct snn_image_sdram) == 16, "sdram prefix is 16 bytes");

/* ---- CRC-32 ------------------------------------------------------------------
 *
 * The CRC of zlib, PNG and Ethernet (reflected polynomial 0xEDB88320,
 * initial and final XOR 0xFFFFFFFF): crc("123456789") = 0xCBF43926.
 * snn_crc32_update continues a CRC over more bytes; start from 0. */
static inline uint32_t snn_crc32_update(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

#endif

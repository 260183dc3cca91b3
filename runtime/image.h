/*
 * runtime/image.h: the image reader, which checks an image
 * (docs/image-format.md, abi/image.h) before anything uses it.
 *
 * snn_image_open takes the bytes of a whole image and checks all that
 * docs/image-format.md's "What a loader checks" lists (for the sdt family:
 * every section's size, the configuration, every descriptor decoded and
 * checked as the sequencer will against it, the list registers, the
 * input's events and the output table), for the spinn family: the header, the section table, every payload's place and
 * checksum (and that the gaps between payloads are zero, so no byte of
 * the image goes unchecked), the sections' kinds, places and order, and
 * every payload's contents against the others (the machine, the run's
 * populations and slices, the routing tables, each core's DTCM image
 * and SDRAM block, down to the row indices and synaptic words).  A
 * rejected image gives ONE error to the diagnostics sink,
 *
 *   NAME: error: byte OFFSET: what is wrong
 *
 * (OFFSET is where in the image the offending field or payload is) and
 * SNN_EPARSE; no byte outside [data, data + size) is ever read, whatever
 * the image holds.  On success the image is a read-only view: the small
 * structures (header, section table, machine, dead parts, run,
 * populations, slices) are copied out, aligned; the names, routing
 * tables, DTCM images and SDRAM words are pointers into the caller's
 * bytes.
 *
 * Ownership and alignment:
 *   - snn_image_open borrows data: it must outlive the image and not
 *     change.  snn_image_read_file owns its buffer (freed by
 *     snn_image_free).
 *   - data needs no alignment: the reader copies every word it checks
 *     with memcpy.  The pointers the accessors return are `const void *`
 *     at payload offsets, which are multiples of 8 from data; when data
 *     is 8-aligned (malloc's buffers and snn_image_read_file's are) they
 *     can be read as the abi structures directly, otherwise copy them.
 *
 * Indices: sections, populations and slices are numbered from 0 in the
 * image's order (slices in the RUN section's order: each population's
 * in neuron order, not the sections' chip order).
 */
#ifndef SNN_RUNTIME_IMAGE_H
#define SNN_RUNTIME_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "abi/image.h"
#include "abi/sdt.h"
#include "support/diag.h"

struct snn_image;

/* Checks the size bytes at data, an image named name in messages (NULL:
 * "image"), and gives a view of it in *out (NULL on failure).  0,
 * SNN_EPARSE (reported to d), or SNN_ENOMEM.  Borrows data (above). */
int snn_image_open(const void *data, uint64_t size, const char *name, struct snn_diag *d,
                   struct snn_image **out);

/* Reads the file at path whole and opens it (named path in messages).
 * 0, SNN_EIO (the file cannot be read, reported), SNN_EPARSE or
 * SNN_ENOMEM. */
int snn_image_read_file(const char *path, struct snn_diag *d, struct snn_image **out);

/* Frees img (and the buffer snn_image_read_file read).  NULL is a no-op. */
void snn_image_free(struct snn_image *img);

/* ---- the container ------------------------------------------------------ */

/* The image's bytes (size in *size): what snn_emu_new takes. */
const void *snn_image_data(const struct snn_image *img, uint64_t *size);
const struct snn_image_header *snn_image_header(const struct snn_image *img);
/* The section table, header->n_sections entries. */
const struct snn_image_section *snn_image_sections(const struct snn_image *img);

/* ---- spinn: the machine and the run -------------------------------------- */

/* The target.  *dead (when dead is not NULL) receives the dead parts,
 * n_dead_chips + n_dead_cores + n_dead_links words, in that order, as
 * the MACHINE section holds them (SNN_IMAGE_WHERE(x, y, core or link)). */
const struct snn_image_machine *snn_image_machine(const struct snn_image *img,
                                                  const uint32_t **dead);
/* The run: timestep, steps, seed, counts. */
const struct snn_image_run *snn_image_run(const struct snn_image *img);
/* run->n_pops populations and run->n_slices slices. */
const struct snn_image_pop *snn_image_pops(const struct snn_image *img);
const struct snn_image_slice *snn_image_slices(const struct snn_image *img);
/* Population p's name (NUL-terminated, in the image); p < n_pops. */
const char *snn_image_pop_name(const struct snn_image *img, uint32_t p);

/* ---- spinn: per slice and per chip --------------------------------------- */

/* Slice s's DTCM image (struct snn_core_header first), *bytes long;
 * s < n_slices. */
const void *snn_image_slice_dtcm(const struct snn_image *img, uint32_t s, uint32_t *bytes);
/* Slice s's SDRAM block: its placement in *where (chip offset, block
 * size, stored_bytes) and, returned, the stored_bytes of rows and spike
 * times that start the block (the rest of the block is zero). */
const void *snn_image_slice_sdram(const struct snn_image *img, uint32_t s,
                                  struct snn_image_sdram *where);
/* The routing table of chip (x, y): *n entries of struct snn_image_route
 * in priority order, or NULL and *n = 0 when the chip has none (or is
 * outside the grid). */
const void *snn_image_routes(const struct snn_image *img, uint32_t x, uint32_t y, uint32_t *n);

/* ---- sdt: the program and what the host loads (abi/sdt.h) ------------------ */

/* These take an image of family sdt (snn_image_header(img)->family). */
const struct snn_sdt_image_config *snn_image_sdt_config(const struct snn_image *img);
/* *n_desc descriptors of 16 words: PMEM from word 0. */
const void *snn_image_sdt_program(const struct snn_image *img, uint32_t *n_desc);
/* WMEM's and QMEM's images from word 0, *bytes long (LANES bytes a WMEM
 * word; LANES {m, b} int32 pairs a QMEM word). */
const void *snn_image_sdt_wmem(const struct snn_image *img, uint32_t *bytes);
const void *snn_image_sdt_qmem(const struct snn_image *img, uint32_t *bytes);
/* The 16 list registers' regions. */
const struct snn_sdt_image_list *snn_image_sdt_lists(const struct snn_image *img);
/* The input; *offsets (steps + 1 words) and *events (n_events words)
 * point into the image (either may be NULL). */
const struct snn_sdt_image_input *snn_image_sdt_input(const struct snn_image *img,
                                                      const void **offsets, const void **events);
/* The outputs to read back after each step (*n entries) and their names. */
const struct snn_sdt_image_output *snn_image_sdt_outputs(const struct snn_image *img, uint32_t *n);
const char *snn_image_sdt_output_name(const struct snn_image *img, uint32_t i);

/* ---- inspecting ------------------------------------------------------------ */

/* What `snnc inspect` prints: the container, the target, the run, each
 * population, totals, and with sections one line per section.  Stable
 * text: the same image prints the same bytes. */
void snn_image_describe(const struct snn_image *img, bool sections, FILE *out);

/* An sdt image's program, one line per descriptor (`snnc inspect
 * --program`); for a spinn image, a line saying it has none. */
void snn_image_describe_program(const struct snn_image *img, FILE *out);

#endif

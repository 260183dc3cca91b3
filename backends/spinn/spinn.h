/*
 * backends/spinn/spinn.h: the board image of a spinn machine.
 *
 * From a complete mapping (every pass run, layout included) to the image
 * container of docs/image-format.md: the machine, the run's parameters
 * and slices, every chip's routing table, every core's DTCM image and
 * SDRAM block.  The same mapping gives the same bytes.
 */
#ifndef SNN_BACKENDS_SPINN_SPINN_H
#define SNN_BACKENDS_SPINN_SPINN_H

#include <stdio.h>

#include "mapper/mapper.h"
#include "support/diag.h"

/* Writes map's image to out (binary, from its current position).  0,
 * SNN_EINVAL (the map lacks a pass; a bug in the caller), SNN_ETOOBIG
 * (a section over 4 GiB, reported), SNN_ENOMEM or SNN_EIO (a failed
 * write, reported).  On failure out holds a partial image: write to a
 * temporary file and rename it into place once this returns 0. */
int snn_spinn_image_write(const struct snn_map *map, FILE *out, struct snn_diag *d);

#endif

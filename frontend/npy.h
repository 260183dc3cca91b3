/*
 * frontend/npy.h: a reader of NumPy .npy files, for the arrays of layer
 * graphs (weights, biases, batch-norm statistics, input data).
 *
 * The format (NumPy's "format.rst"), versions 1.0, 2.0 and 3.0:
 *
 *   OFFSET  SIZE  DESCRIPTION
 *   0       6     magic: 0x93 'N' 'U' 'M' 'P' 'Y'
 *   6       1     major version: 1, 2 or 3
 *   7       1     minor version: 0
 *   8       2     1.0: header length HLEN, little-endian
 *   8       4     2.0, 3.0: header length HLEN, little-endian
 *   10|12   HLEN  header: a Python dict literal with the keys 'descr',
 *                 'fortran_order' and 'shape', padded with spaces and
 *                 ended by '\n' (3.0: UTF-8; else Latin-1)
 *   10|12+HLEN    the values, row-major, exactly prod(shape) x itemsize bytes
 *
 * Read: dtypes '<f4', '<f8', '|i1', '|u1', '<i2', '<i4', '<i8' and '|b1'
 * (bytes 0 or 1); C order only; at most 4 dimensions.  Every value becomes
 * a double.  Every malformed file is an error naming the file and the byte
 * offset where it goes wrong; sizes are checked against the file's real
 * length before anything is allocated.
 */
#ifndef SNN_FRONTEND_NPY_H
#define SNN_FRONTEND_NPY_H

#include <stddef.h>

#include "ir/layer.h"
#include "support/diag.h"

struct snn_arena;

/* Parses the bytes of a .npy file (name names it in messages) into *out:
 * ndim, dims and values (in arena); out->src is left to the caller.
 * Problems are reported to d at `at` (where the file is named, say a YAML
 * key; may be NULL).  0, SNN_EPARSE (malformed), SNN_ETOOBIG (more values
 * than SNN_FE_MAX_ARRAY_BYTES of doubles) or SNN_ENOMEM; *out is untouched
 * on error. */
int snn_npy_parse(const char *name, const void *data, size_t len, struct snn_arena *arena,
                  struct snn_diag *d, const struct snn_loc *at, struct snn_array *out);

/* Reads the file at path whole (a regular file of at most
 * SNN_FE_MAX_FILE_BYTES) and parses it.  SNN_EIO when it cannot be read,
 * else as snn_npy_parse. */
int snn_npy_read(const char *path, struct snn_arena *arena, struct snn_diag *d,
                 const struct snn_loc *at, struct snn_array *out);

/* snn_npy_read as the IR text parser's array reader (snn_ir_parse_with). */
extern const struct snn_array_reader snn_npy_reader;

#endif

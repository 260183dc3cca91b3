/*
 * frontend/units.h: quantities with units ("20 ms", "-65 mV", "0.27 nA").
 *
 * A quantity is a number, optional white space, and a unit whose dimension
 * must be the one expected; the value comes back in snnc's internal unit
 * for that dimension (ms, mV, nA, uS, nF, Hz, 1/ms, mV/ms).  The accepted
 * units are listed in docs/network-format.md.
 */
#ifndef SNN_FRONTEND_UNITS_H
#define SNN_FRONTEND_UNITS_H

#include <stddef.h>

#include "ir/ir.h"

/*
 * Parses s as a quantity of dimension dim.  0 and *out, or SNN_EPARSE with
 * a one-line reason in why (e.g. "expected a voltage (mV), got 'ms'",
 * "missing unit: write '20 ms'").  A dimensionless quantity takes a bare
 * number.  Non-finite numbers are rejected.
 */
int snn_parse_quantity(const char *s, enum snn_dim dim, double *out, char *why, size_t why_len);

/* The name of a dimension for messages: "time", "voltage", ... */
const char *snn_dim_name(enum snn_dim dim);

#endif

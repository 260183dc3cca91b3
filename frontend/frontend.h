/*
 * frontend/frontend.h: reading network descriptions into the IR.
 *
 * The YAML format is specified in docs/network-format.md.  Every problem
 * is reported to the diagnostics sink at file:line:col with the offending
 * key; the result is either a network that passes snn_ir_verify() or an
 * error code and no network (nothing half-built is returned).
 */
#ifndef SNN_FRONTEND_FRONTEND_H
#define SNN_FRONTEND_FRONTEND_H

#include <stddef.h>

#include "ir/ir.h"
#include "ir/sim.h"

/* Parses YAML text (file names it in diagnostics).  0 and *out, or
 * SNN_EPARSE (malformed YAML), SNN_ESEMA (a valid document that is not a
 * valid network), SNN_ETOOBIG (sizes that cannot fit in memory), SNN_ENOMEM. */
int snn_yaml_parse(const char *file, const char *text, size_t len, struct snn_diag *d,
                   struct snn_net **out);

/* Reads the file at path, registers its text with d (for quoted source
 * lines) and parses it: YAML network descriptions now, NIR later.
 * SNN_EIO when it cannot be read. */
int snn_frontend_load(const char *path, struct snn_diag *d, struct snn_net **out);

/* Parses a spike CSV (docs/cli.md, "Spike files") whose rows name spike
 * sources of net, appending them to *out sorted by (step, population,
 * neuron).  0, SNN_EPARSE (reported at file:line:col), SNN_ENOMEM. */
int snn_spikes_parse_csv(const char *file, const char *text, size_t len,
                         const struct snn_net *net, struct snn_diag *d,
                         struct snn_spike_list *out);

#endif

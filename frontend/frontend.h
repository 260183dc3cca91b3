/*
 * frontend/frontend.h: reading network descriptions into the IR, and
 * machine descriptions (targets, docs/targets.md) into struct snn_machine.
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
#include "target/sdt.h"
#include "target/target.h"

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

/* ---- machine descriptions (docs/targets.md) ---------------------------- */

/* Parses a target file's text (file names it in diagnostics) into a
 * machine that passed snn_machine_verify() and has its index built.
 * 0 and *out, or SNN_EPARSE (malformed YAML), SNN_ESEMA (not a valid
 * target), SNN_ETOOBIG, SNN_ENOMEM; every problem is reported to d at
 * file:line:col. */
int snn_target_parse(const char *file, const char *text, size_t len, struct snn_diag *d,
                     struct snn_machine **out);

/* snn_target_parse for a target of either family: one of family sdt
 * (docs/targets.md, "sdt targets") gives *t, verified, and *m NULL; one of
 * family spinn gives *m as snn_target_parse does, and *t NULL.  The same
 * codes. */
int snn_target_parse_any(const char *file, const char *text, size_t len, struct snn_diag *d,
                         struct snn_machine **m, struct snn_sdt_target **t);

/* The name of built-in target i (0, 1, ... in name order), NULL past the
 * last. */
const char *snn_target_builtin_name(size_t i);

/* The text of the built-in target name (its targets/NAME.yaml, embedded
 * at build time) and its length in *len (may be NULL); NULL when there is
 * no such built-in. */
const char *snn_target_builtin_text(const char *name, size_t *len);

/* Loads a target: the built-in of that name, else the file at that path
 * (its text registered with d for quoted lines).  A name that is neither
 * gets an error with the closest built-in name.  0 and *out, SNN_EIO
 * (no such target, or the file cannot be read), or snn_target_parse's
 * codes. */
int snn_target_load(const char *name, struct snn_diag *d, struct snn_machine **out);

/* snn_target_load for a target of either family (as snn_target_parse_any):
 * exactly one of *m and *t is set on success.  snn_target_load refuses
 * an sdt target with an error naming it. */
int snn_target_load_any(const char *name, struct snn_diag *d, struct snn_machine **m,
                        struct snn_sdt_target **t);

#endif

/*
 * support/diag.h: the diagnostics sink.
 *
 * Library code never prints and never exits: a user-facing problem is
 * reported here with its location and the function returns an SNN_E*
 * code.  The sink prints like a compiler:
 *
 *   net.yaml:12:7: error: unknown neuron model 'lif_cur_exp' (did you mean 'lif_curr_exp'?)
 *      12 |     model: lif_cur_exp
 *         |            ^~~~~~~~~~~
 *
 * The source line and caret appear when the file's text was registered
 * with snn_diag_add_source().
 */
#ifndef SNN_SUPPORT_DIAG_H
#define SNN_SUPPORT_DIAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A place in an input file.  line and col count from 1; 0 means unknown.
 * len is the width of the caret underline (at least 1 is drawn). */
struct snn_loc {
    const char *file;
    uint32_t line, col, len;
};

enum snn_severity { SNN_SEV_NOTE, SNN_SEV_WARNING, SNN_SEV_ERROR };

struct snn_diag;

/* A sink printing to out (stderr for the command line, a memory stream in
 * tests).  NULL when memory is exhausted. */
struct snn_diag *snn_diag_new(FILE *out);
void snn_diag_free(struct snn_diag *d);

/* Registers a file's text so reports can quote its lines.  The sink keeps
 * its own copy.  0 or SNN_ENOMEM. */
int snn_diag_add_source(struct snn_diag *d, const char *file, const char *text, size_t len);

/* Reports a problem.  loc may be NULL (no location).  A NULL sink is
 * allowed and drops the report, so library calls can run silently. */
void snn_diag_report(struct snn_diag *d, enum snn_severity sev, const struct snn_loc *loc,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define snn_diag_error(d, loc, ...) snn_diag_report((d), SNN_SEV_ERROR, (loc), __VA_ARGS__)
#define snn_diag_warning(d, loc, ...) snn_diag_report((d), SNN_SEV_WARNING, (loc), __VA_ARGS__)
#define snn_diag_note(d, loc, ...) snn_diag_report((d), SNN_SEV_NOTE, (loc), __VA_ARGS__)

/* Errors and warnings reported so far. */
unsigned snn_diag_errors(const struct snn_diag *d);
unsigned snn_diag_warnings(const struct snn_diag *d);

/*
 * The closest of the n candidates to word by edit distance, or NULL when
 * none is close enough to be a plausible typo.  For "did you mean".
 */
const char *snn_suggest(const char *word, const char *const *cands, size_t n);

#endif

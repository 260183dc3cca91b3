/*
 * support/diag.c: compiler-style reports with the source line and a caret.
 *
 * Sources are kept as private copies in a small list; lookups are linear,
 * which is fine for the handful of files one compile reads.
 */
#include "support/diag.h"
#include "support/arena.h"
#include "support/err.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

struct source {
    struct source *next;
    char *file;
    char *text;
    size_t len;
};

struct snn_diag {
    FILE *out;
    struct source *sources;
    unsigned errors, warnings;
};

struct snn_diag *snn_diag_new(FILE *out)
{
    struct snn_diag *d = snn_calloc(1, sizeof *d);
    if (d)
        d->out = out;
    return d;
}

void snn_diag_free(struct snn_diag *d)
{
    if (!d)
        return;
    for (struct source *s = d->sources, *n; s; s = n) {
        n = s->next;
        snn_free(s->file);
        snn_free(s->text);
        snn_free(s);
    }
    snn_free(d);
}

int snn_diag_add_source(struct snn_diag *d, const char *file, const char *text, size_t len)
{
    if (!d)
        return 0;
    struct source *s = snn_calloc(1, sizeof *s);
    size_t flen = strlen(file);
    if (s) {
        s->file = snn_malloc(flen + 1);
        s->text = snn_malloc(len + 1);
    }
    if (!s || !s->file || !s->text) {
        if (s) {
            snn_free(s->file);
            snn_free(s->text);
        }
        snn_free(s);
        return SNN_ENOMEM;
    }
    memcpy(s->file, file, flen + 1);
    memcpy(s->text, text, len);
    s->text[len] = 0;
    s->len = len;
    s->next = d->sources;
    d->sources = s;
    return 0;
}

static const struct source *find_source(const struct snn_diag *d, const char *file)
{
    for (const struct source *s = d->sources; s; s = s->next)
        if (strcmp(s->file, file) == 0)
            return s;
    return NULL;
}

/* Prints line loc->line of the source with a caret under loc->col. */
static void quote_line(const struct snn_diag *d, const struct snn_loc *loc)
{
    const struct source *s = find_source(d, loc->file);
    if (!s || loc->line == 0)
        return;
    const char *p = s->text, *end = s->text + s->len;
    for (uint32_t l = 1; l < loc->line && p < end; p++)
        if (*p == '\n')
            l++;
    if (p >= end && loc->line > 1)
        return;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        eol = end;
    size_t width = (size_t)(eol - p);
    if (width && p[width - 1] == '\r')
        width--;
    if (width > 400) /* a pathological line: quote its start only */
        width = 400;
    fprintf(d->out, "%5u | ", loc->line);
    for (size_t i = 0; i < width; i++) {
        unsigned char c = (unsigned char)p[i];
        fputc(c == '\t' ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : c, d->out);
    }
    fputs("\n      | ", d->out);
    uint32_t col = loc->col ? loc->col : 1;
    for (uint32_t i = 1; i < col && i <= width; i++)
        fputc(' ', d->out);
    fputc('^', d->out);
    for (uint32_t i = 1; i < loc->len && col + i <= width; i++)
        fputc('~', d->out);
    fputc('\n', d->out);
}

void snn_diag_report(struct snn_diag *d, enum snn_severity sev, const struct snn_loc *loc,
                     const char *fmt, ...)
{
    if (!d)
        return;
    static const char *const names[] = {"note", "warning", "error"};
    if (sev == SNN_SEV_ERROR)
        d->errors++;
    else if (sev == SNN_SEV_WARNING)
        d->warnings++;
    if (loc && loc->file) {
        fprintf(d->out, "%s:", loc->file);
        if (loc->line)
            fprintf(d->out, "%u:%u:", loc->line, loc->col ? loc->col : 1);
        fputc(' ', d->out);
    } else {
        fputs("snnc: ", d->out);
    }
    fprintf(d->out, "%s: ", names[sev]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->out, fmt, ap);
    va_end(ap);
    fputc('\n', d->out);
    if (loc && loc->file)
        quote_line(d, loc);
    fflush(d->out);
}

unsigned snn_diag_errors(const struct snn_diag *d) { return d ? d->errors : 0; }
unsigned snn_diag_warnings(const struct snn_diag *d) { return d ? d->warnings : 0; }

/* Edit distance counting insertions, deletions, substitutions and swaps
 * of neighbours ("smi" -> "sim" is one edit); names over 64 characters
 * are never close. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

const char *snn_suggest(const char *word, const char *const *cands, size_t n)
{
    size_t len = strlen(word);
    size_t cap = len < 4 ? 1 : len < 9 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = cap + 1;
    for (size_t i = 0; i < n; i++) {
        size_t dist = edit_distance(word, cands[i]);
        if (dist < best_d) {
            best_d = dist;
            best = cands[i];
        }
    }
    return best;
}

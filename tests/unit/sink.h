/*
 * tests/unit/sink.h: a diagnostics sink writing to memory, so a test can
 * check the words of an error message.  Included by one test program
 * each (static functions); the program includes cmocka first.
 */
#ifndef SNN_TESTS_SINK_H
#define SNN_TESTS_SINK_H

#include <stdio.h>
#include <stdlib.h>

#include "support/diag.h"

struct sink {
    char *buf;
    size_t len;
    FILE *f;
    struct snn_diag *d;
};

static inline void sink_open(struct sink *s)
{
    s->buf = NULL;
    s->len = 0;
    s->f = open_memstream(&s->buf, &s->len);
    assert_non_null(s->f);
    s->d = snn_diag_new(s->f);
    assert_non_null(s->d);
}

/* What was reported so far. */
static inline const char *sink_text(struct sink *s)
{
    fflush(s->f);
    return s->buf ? s->buf : "";
}

static inline void sink_close(struct sink *s)
{
    snn_diag_free(s->d);
    fclose(s->f);
    free(s->buf);
}

#endif

/* support/err.c: messages for the SNN_E* codes, and the assertion hook. */
#include "support/err.h"

#include <stdio.h>
#include <stdlib.h>

const char *snn_strerror(int err)
{
    switch (err) {
    case SNN_OK: return "success";
#define SNN_ERR_CASE_(name, msg) case SNN_E##name: return msg;
    SNN_ERRNO_MAP(SNN_ERR_CASE_)
#undef SNN_ERR_CASE_
    default: return "unknown error";
    }
}

void snn__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: internal error: assertion '%s' failed\n", file, line, expr);
    abort();
}

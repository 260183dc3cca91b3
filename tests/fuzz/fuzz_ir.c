/*
 * tests/fuzz/fuzz_ir.c: libFuzzer target for the IR text parser
 * (ir/text.c).  A network it accepts must print, and the printed text
 * must parse again to the same text (the round-trip property).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "support/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print(const struct snn_net *net, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        abort();
    if (snn_ir_print(net, f))
        abort();
    fclose(f);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink && !(sink = fopen("/dev/null", "w")))
        abort();
    struct snn_diag *d = snn_diag_new(sink);
    if (!d)
        return 0;
    struct snn_net *net = NULL;
    if (snn_ir_parse("fuzz.ir", (const char *)data, size, d, &net) == 0 &&
        snn_ir_verify(net, NULL) == 0) {
        size_t l1, l2;
        char *t1 = print(net, &l1);
        struct snn_net *again = NULL;
        if (snn_ir_parse("again.ir", t1, l1, NULL, &again))
            abort();
        char *t2 = print(again, &l2);
        if (l1 != l2 || memcmp(t1, t2, l1))
            abort();
        free(t1);
        free(t2);
        snn_net_free(again);
    }
    snn_net_free(net);
    snn_diag_free(d);
    return 0;
}

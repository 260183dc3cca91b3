/*
 * tests/fuzz/fuzz_yaml.c: libFuzzer target for the YAML front end.
 *
 * Feeds arbitrary bytes to snn_yaml_parse() with a diagnostics sink that
 * quotes source lines (so the caret code runs too) and checks the
 * contract: either 0 and a network, or an error code and none.  Crashes,
 * sanitizer reports, leaks, hangs and runaway memory are the findings.
 * Seeds: tests/fuzz/corpus/yaml/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/frontend.h"
#include "support/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    struct snn_diag *d = snn_diag_new(sink);
    if (!d)
        return 0;
    const char *text = (const char *)data;
    struct snn_net *net = NULL;
    if (snn_diag_add_source(d, "fuzz.yaml", text, size) == 0) {
        int rc = snn_yaml_parse("fuzz.yaml", text, size, d, &net);
        SNN_ASSERT((rc == 0) == (net != NULL));
        SNN_ASSERT(rc == 0 || snn_diag_errors(d) > 0 || rc == SNN_ENOMEM);
        snn_net_free(net);
    }
    snn_diag_free(d);
    return 0;
}

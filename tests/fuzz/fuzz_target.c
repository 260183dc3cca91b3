/*
 * tests/fuzz/fuzz_target.c: libFuzzer target for the target parser
 * (frontend/target_yaml.c) and the machine model it fills.
 *
 * Feeds arbitrary bytes to snn_target_parse() with a diagnostics sink
 * that quotes source lines and checks the contract: either 0 and a
 * machine that verifies, whose index agrees with its queries (every link
 * has its reverse, the counts add up), or an error code and none.
 * Crashes, sanitizer reports, leaks, hangs and runaway memory are the
 * findings.  Seeds: tests/fuzz/corpus/target/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/frontend.h"
#include "support/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The index agrees with the queries on every chip. */
static void check_machine(const struct snn_machine *m)
{
    SNN_ASSERT(snn_machine_verify(m, NULL) == 0);
    uint32_t chips = 0, usable = 0;
    uint64_t cores = 0;
    for (uint32_t y = 0; y < m->height; y++)
        for (uint32_t x = 0; x < m->width; x++) {
            chips += snn_machine_chip_exists(m, x, y);
            usable += snn_machine_chip_usable(m, x, y);
            cores += snn_machine_n_app_cores(m, x, y);
            SNN_ASSERT(!snn_machine_chip_usable(m, x, y) || snn_machine_chip_exists(m, x, y));
            for (unsigned l = 0; l < SNN_MACHINE_LINKS; l++) {
                uint32_t nx, ny, bx, by;
                if (!snn_machine_neighbour(m, x, y, l, &nx, &ny))
                    continue;
                SNN_ASSERT(snn_machine_chip_usable(m, x, y) && snn_machine_chip_usable(m, nx, ny));
                SNN_ASSERT(snn_machine_neighbour(m, nx, ny, snn_link_opposite(l), &bx, &by));
                SNN_ASSERT(bx == x && by == y);
            }
        }
    SNN_ASSERT(chips == m->n_chips && usable == m->n_usable_chips && cores == m->n_app_cores);
    SNN_ASSERT(cores > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    struct snn_diag *d = snn_diag_new(sink);
    if (!d)
        return 0;
    const char *text = (const char *)data;
    struct snn_machine *m = NULL;
    if (snn_diag_add_source(d, "fuzz.yaml", text, size) == 0) {
        int rc = snn_target_parse("fuzz.yaml", text, size, d, &m);
        SNN_ASSERT((rc == 0) == (m != NULL));
        SNN_ASSERT(rc == 0 || snn_diag_errors(d) > 0 || rc == SNN_ENOMEM);
        if (m)
            check_machine(m);
        snn_machine_free(m);
    }
    snn_diag_free(d);
    return 0;
}

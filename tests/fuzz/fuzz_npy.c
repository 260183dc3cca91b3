/*
 * tests/fuzz/fuzz_npy.c: libFuzzer target for the .npy reader
 * (frontend/npy.c).  Any bytes must give an array or an error, never a
 * crash, a hang, a leak or an allocation the file's size does not
 * justify; an accepted array must have at most 4 dimensions and exactly
 * as many values as its shape says, which the file must have held.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "frontend/npy.h"
#include "support/arena.h"
#include "support/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink && !(sink = fopen("/dev/null", "w")))
        abort();
    struct snn_diag *d = snn_diag_new(sink);
    struct snn_arena *a = snn_arena_new();
    if (!d || !a)
        abort();
    struct snn_array arr = {0};
    if (snn_npy_parse("fuzz.npy", data, size, a, d, NULL, &arr) == 0) {
        if (arr.ndim > 4 || !arr.v)
            abort();
        uint64_t n = 1;
        for (uint32_t i = 0; i < arr.ndim; i++)
            n *= arr.dims[i];
        if (n > size) /* every value takes at least a byte of the file */
            abort();
        volatile double sum = 0;
        for (uint64_t i = 0; i < n; i++) /* every value was written */
            sum += arr.v[i];
        (void)sum;
        (void)snn_array_digest(&arr);
    }
    snn_arena_free(a);
    snn_diag_free(d);
    return 0;
}

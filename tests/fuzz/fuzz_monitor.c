/*
 * tests/fuzz/fuzz_monitor.c: libFuzzer target for the monitor
 * (firmware/monitor.c) and, through it, the core kernel's load checks.
 *
 * One input is a sequence of records fed to one monitor over a small
 * chip: 5 cores (the monitor on 0, core 3 dead), 1 KiB of DTCM per core,
 * 4 KiB of SDRAM, 8 router entries: tests/unit/test_monitor.c's chip.
 * A record is a control word, then the words of one request:
 *
 *   bits  8..0   the request's length in words (at most 8 + 256 + 8;
 *                fewer if the input ends)
 *   bit   9      set the header's n_words to agree with that length,
 *                so mutations get past the length check
 *   bits 11..10  the response buffer: 0 or 3 the largest message,
 *                1 8 + bits 17..12 words, 2 bits 15..12 words (maybe
 *                too small for a header)
 *   bit  31      after the request, tick every RUNNING core once and
 *                give the spikes each sent to every bound core
 *
 * Every memory, the request and the response buffer are separate
 * allocations of exactly their size, so AddressSanitizer reports any
 * access outside them.  The contract checked besides: a response is
 * 0 words only for a buffer below a header, otherwise header + n_words
 * words within the buffer, a known status, no payload on an error.
 * Seeds: tests/fuzz/corpus/monitor/ (written by tests/unit/test_monitor).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "abi/monitor.h"
#include "firmware/monitor.h"
#include "support/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_CORES 5u
#define DTCM_BYTES 1024u
#define SDRAM_BYTES 4096u
#define ROUTES 8u
#define PRESENT ((1u << 1) | (1u << 2) | (1u << 4))

static uint32_t word_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Ticks the RUNNING cores once; each core's spikes go to every bound core
 * (the kernels drop what their key tables do not hold). */
static void tick(struct snn_monitor *m)
{
    uint32_t run[2], out[SNN_CORE_MAX_NEURONS];
    snn_monitor_running(m, run);
    for (uint32_t c = 0; c < N_CORES; c++) {
        if (!((run[0] >> c) & 1u))
            continue;
        struct snn_core *k = snn_monitor_core(m, c);
        SNN_ASSERT(k);
        uint32_t nf = snn_core_tick(k, out);
        SNN_ASSERT(nf <= k->h.n);
        for (uint32_t d = 0; d < N_CORES; d++) {
            struct snn_core *to = snn_monitor_core(m, d);
            for (uint32_t i = 0; to && i < nf; i++)
                snn_core_packet(to, out[i]);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct snn_monitor mon;
    struct snn_monitor_platform p = {.n_cores = N_CORES, .monitor_core = 0,
                                     .present = {PRESENT, 0}};
    uint32_t *mem[N_CORES] = {0};
    for (uint32_t c = 0; c < N_CORES; c++)
        if ((PRESENT >> c) & 1u) {
            mem[c] = calloc(DTCM_BYTES / 4, 4);
            p.dtcm[c] = mem[c];
            p.dtcm_bytes[c] = DTCM_BYTES;
        }
    p.sdram = calloc(SDRAM_BYTES / 4, 4);
    p.sdram_bytes = SDRAM_BYTES;
    p.staging = calloc(ROUTES, sizeof *p.staging);
    p.table = calloc(ROUTES, sizeof *p.table);
    p.router_entries = ROUTES;
    SNN_ASSERT(p.sdram && p.staging && p.table);
    SNN_ASSERT(snn_monitor_init(&mon, &p) == SNN_MON_OK);
    size_t at = 0;
    while (at + 4 <= size) {
        uint32_t ctrl = word_at(data + at);
        at += 4;
        uint32_t n = ctrl & 0x1FFu;
        if (n > SNN_MON_MAX_WORDS + 8)
            n = SNN_MON_MAX_WORDS + 8;
        if (n > (size - at) / 4)
            n = (uint32_t)((size - at) / 4);
        uint32_t *req = malloc(n ? (size_t)n * 4 : 1);
        SNN_ASSERT(req);
        for (uint32_t k = 0; k < n; k++)
            req[k] = word_at(data + at + 4 * k);
        at += 4 * (size_t)n;
        if ((ctrl & (1u << 9)) && n >= SNN_MON_HEADER_WORDS)
            req[3] = n - SNN_MON_HEADER_WORDS;
        uint32_t cap = SNN_MON_MAX_WORDS;
        switch ((ctrl >> 10) & 3u) {
        case 1: cap = SNN_MON_HEADER_WORDS + ((ctrl >> 12) & 0x3Fu); break;
        case 2: cap = (ctrl >> 12) & 0xFu; break;
        }
        uint32_t *resp = malloc(cap ? (size_t)cap * 4 : 1);
        SNN_ASSERT(resp);
        uint32_t got = snn_monitor_handle(&mon, req, n, resp, cap);
        if (cap < SNN_MON_HEADER_WORDS) {
            SNN_ASSERT(got == 0);
        } else {
            SNN_ASSERT(got >= SNN_MON_HEADER_WORDS && got <= cap);
            SNN_ASSERT(got == SNN_MON_HEADER_WORDS + resp[3]);
            SNN_ASSERT(resp[0] <= SNN_MON_STATUS_LAST);
            SNN_ASSERT(resp[0] == SNN_MON_OK || resp[3] == 0);
        }
        free(req);
        free(resp);
        if (ctrl >> 31)
            tick(&mon);
    }
    for (uint32_t c = 0; c < N_CORES; c++)
        free(mem[c]);
    free(p.sdram);
    free(p.staging);
    free(p.table);
    return 0;
}

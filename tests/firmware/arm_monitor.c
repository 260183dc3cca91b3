/*
 * tests/firmware/arm_monitor.c: the monitor's ARM build against its host
 * build, bit for bit.
 *
 * Cross-compiled for the ARM968 (-mcpu=arm968e-s, freestanding, no C
 * library: firmware/arm/start.c) with the monitor (firmware/monitor.c)
 * and the kernel (firmware/core.c), and the transcript tests/firmware/
 * monitor_vectors.c made with the host build: every request it sent the
 * small chip of tests/firmware/monitor_chip.h with the host monitor's
 * response, and every timestep's packets with what the chip's running
 * cores sent.  Run under qemu-arm: the same chip is set up, every
 * request is sent and every step run in the transcript's order, and
 * each response and step's output must equal the host's word for word,
 * whatever its length (a STATUS payload that grows with the kernel's
 * counters is compared whole).  The first difference is printed with
 * its record, its label and the word, and the exit status is 1.
 */
#include <stdint.h>

#include "firmware/arm/start.h"
#include "monitor_chip.h"
#include "monitor_vectors.h"

static struct mon_chip chip;
/* A request of the transcript: at most a full message and a few words
 * more (the length checks send more words than a header says). */
static uint32_t req[SNN_MON_MAX_WORDS + 16];
static uint32_t resp[SNN_MON_MAX_WORDS];
static uint32_t step_out[MON_CHIP_STEP_WORDS];

static void puthex(uint32_t v)
{
    char b[10] = {'0', 'x'};
    for (int k = 0; k < 8; k++)
        b[2 + k] = "0123456789abcdef"[(v >> (28 - 4 * k)) & 15u];
    snn_arm_write(b, 10);
}

static int broken(uint32_t rec, const char *what)
{
    snn_arm_puts("FAIL: record ");
    snn_arm_putu(rec);
    snn_arm_puts(" (");
    snn_arm_puts(rec < MON_RECORDS ? mon_labels[rec] : "past the transcript");
    snn_arm_puts("): ");
    snn_arm_puts(what);
    return 1;
}

static int fail(uint32_t rec, const char *what, uint32_t word, uint32_t got, uint32_t want)
{
    broken(rec, what);
    snn_arm_puts(" ");
    snn_arm_putu(word);
    snn_arm_puts(" is ");
    puthex(got);
    snn_arm_puts(", the host's ");
    puthex(want);
    snn_arm_puts("\n");
    return 1;
}

/* The words got[0 .. n) against the record's expected ones. */
static int compare(uint32_t rec, const uint32_t *got, uint32_t n, const uint32_t *want,
                   uint32_t n_want)
{
    if (n != n_want) {
        broken(rec, "");
        snn_arm_putu(n);
        snn_arm_puts(" words, the host's ");
        snn_arm_putu(n_want);
        snn_arm_puts("\n");
        return 1;
    }
    for (uint32_t k = 0; k < n; k++)
        if (got[k] != want[k])
            return fail(rec, "word", k, got[k], want[k]);
    return 0;
}

int snn_arm_main(void)
{
    const uint32_t total = sizeof mon_script / sizeof *mon_script;
    uint32_t at = 0, rec = 0, requests = 0, steps = 0, spikes = 0, statuses = 0;
    if (mon_chip_init(&chip) != SNN_MON_OK)
        return broken(0, "the chip was refused\n");
    while (at < total) {
        if (total - at < 4 || rec >= MON_RECORDS)
            return broken(rec, "the transcript is damaged\n");
        uint32_t kind = mon_script[at], arg = mon_script[at + 1], n_in = mon_script[at + 2],
                 n_out = mon_script[at + 3];
        const uint32_t *in = mon_script + at + 4, *want = in + n_in;
        if (n_in > total - at - 4 || n_out > total - at - 4 - n_in)
            return broken(rec, "the transcript is damaged\n");
        if (kind == MON_STEP) {
            if (n_out > MON_CHIP_STEP_WORDS)
                return broken(rec, "a step too large for this program\n");
            uint32_t w = mon_chip_step(&chip, in, n_in, step_out);
            if (compare(rec, step_out, w, want, n_out))
                return 1;
            for (uint32_t i = 0; i + 1 < w; i += 2 + step_out[i + 1])
                spikes += step_out[i + 1];
            steps++;
        } else {
            if (n_in > sizeof req / sizeof *req || arg > SNN_MON_MAX_WORDS)
                return broken(rec, "a request too large for this program\n");
            for (uint32_t k = 0; k < n_in; k++)
                req[k] = in[k];
            uint32_t *out = kind == MON_REQ_IN_PLACE ? req : resp;
            uint32_t n = snn_monitor_handle(&chip.m, req, n_in, out, arg);
            if (compare(rec, out, n, want, n_out))
                return 1;
            if (n)
                statuses |= 1u << (out[0] & 31u);
            requests++;
            snn_arm_puts("ok: ");
            snn_arm_puts(mon_labels[rec]);
            snn_arm_puts("\n");
        }
        at += 4 + n_in + n_out;
        rec++;
    }
    if (rec != MON_RECORDS)
        return broken(rec, "fewer records than labels\n");
    snn_arm_puts("ok: ");
    snn_arm_putu(requests);
    snn_arm_puts(" monitor requests (statuses ");
    puthex(statuses);
    snn_arm_puts(") and ");
    snn_arm_putu(steps);
    snn_arm_puts(" steps (");
    snn_arm_putu(spikes);
    snn_arm_puts(" spikes) as the host build, word for word\n");
    return 0;
}

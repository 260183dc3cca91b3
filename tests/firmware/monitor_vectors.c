/*
 * tests/firmware/monitor_vectors.c: a transcript of the monitor's host
 * build, for its ARM build to replay (tests/firmware/arm_monitor.c).
 *
 * usage: monitor_vectors OUT.h
 *
 * Built with the kernel's vectors (vectors.h, made by tests/firmware/
 * vectors.c) and the firmware's host build.  It sets up the small chip
 * of tests/firmware/monitor_chip.h, sends its monitor a scripted
 * sequence of requests and runs the chip's timesteps between them, and
 * writes to OUT.h every request with the response the host monitor gave
 * and every step's packets with what the cores sent.  The script loads
 * the first two cores of the first vector network (synfire: a spike
 * source array and a LIF slice): INFO; WRITE of their DTCM images and
 * SDRAM blocks in commands of at most 256 words; WRITE ROUTER and
 * ROUTES; LOAD; START; STATUS; READ back; steps with the vector's
 * packets (whose spikes must be the vector's: the monitor's path and the
 * direct one agree on the host); STATUS and READ of the recordings;
 * INJECT; STOP; RESET; and refusals reaching every status code.  Each
 * request states the status it expects, so the script is checked here
 * before the ARM build sees it.
 *
 * OUT.h holds mon_script: records of
 *   kind   MON_REQ (handled into a separate buffer), MON_REQ_IN_PLACE
 *          (the response written over the request) or MON_STEP
 *   arg    the response buffer's room in words (requests), the step
 *   n_in   the request's words, or the step's packets
 *   n_out  the response's words, or the step's output words
 *   in[n_in], out[n_out]
 * and mon_labels, one line saying what each record is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor_chip.h"
#include "vectors.h"

#define MON_REQ 1u
#define MON_REQ_IN_PLACE 2u
#define MON_STEP 3u

/* The kernel's vectors, as tests/firmware/arm_vectors.c reads them. */
static const struct vector vectors[] = {VECTOR_LIST};

/* The steps run with the vector's packets and checked against its
 * spikes: enough for the LIF slice to fire. */
#define STEPS 300u

static struct mon_chip chip;
static uint32_t buf[SNN_MON_MAX_WORDS + 16];
static uint32_t resp[SNN_MON_MAX_WORDS];
static uint32_t step_out[MON_CHIP_STEP_WORDS];

static struct {
    uint32_t *w;
    size_t n, cap;
} script;
static char **labels;
static size_t n_labels, cap_labels;
static uint32_t statuses_seen; /* bit s: a response of status s */
static uint32_t seq = 0x100;

static void die(const char *what)
{
    fprintf(stderr, "monitor_vectors: %s\n", what);
    exit(1);
}

static void push(uint32_t v)
{
    if (script.n == script.cap) {
        script.cap = script.cap ? 2 * script.cap : 4096;
        script.w = realloc(script.w, script.cap * sizeof *script.w);
        if (!script.w)
            die("out of memory");
    }
    script.w[script.n++] = v;
}

static void label(const char *fmt, ...)
{
    char line[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n_labels == cap_labels) {
        cap_labels = cap_labels ? 2 * cap_labels : 256;
        labels = realloc(labels, cap_labels * sizeof *labels);
        if (!labels)
            die("out of memory");
    }
    labels[n_labels] = strdup(line);
    if (!labels[n_labels++])
        die("out of memory");
}

static void record(uint32_t kind, uint32_t arg, const uint32_t *in, uint32_t n_in,
                   const uint32_t *out, uint32_t n_out)
{
    push(kind);
    push(arg);
    push(n_in);
    push(n_out);
    for (uint32_t k = 0; k < n_in; k++)
        push(in[k]);
    for (uint32_t k = 0; k < n_out; k++)
        push(out[k]);
}

/* Sends n words of buf (any content) with room for cap response words,
 * records both, and checks the status (or, for cap below a header, that
 * nothing came back).  Returns the response (resp, or buf in place). */
static const uint32_t *raw(uint32_t n, uint32_t cap, int in_place, uint32_t want,
                           const char *what)
{
    uint32_t in[SNN_MON_MAX_WORDS + 16];
    memcpy(in, buf, n * sizeof *in);
    uint32_t *out = in_place ? buf : resp;
    uint32_t got = snn_monitor_handle(&chip.m, buf, n, out, cap);
    if (cap < SNN_MON_HEADER_WORDS ? got != 0 : got < SNN_MON_HEADER_WORDS || out[0] != want) {
        fprintf(stderr, "monitor_vectors: %s: status %u, not %u\n", what,
                got ? out[0] : 0xFFFFFFFFu, want);
        exit(1);
    }
    if (got)
        statuses_seen |= 1u << out[0];
    record(in_place ? MON_REQ_IN_PLACE : MON_REQ, cap, in, n, out, got);
    label("%s: status %u, %u words", what, got ? out[0] : 0u, got);
    return out;
}

/* A well-formed request: header, then n payload words. */
static const uint32_t *req(uint32_t want, const char *what, uint32_t op, uint32_t core,
                           uint32_t a0, uint32_t a1, uint32_t a2, const uint32_t *payload,
                           uint32_t n)
{
    const uint32_t h[SNN_MON_HEADER_WORDS] = {op, seq++, core, n, a0, a1, a2, 0};
    memcpy(buf, h, sizeof h);
    if (n)
        memcpy(buf + SNN_MON_HEADER_WORDS, payload, n * sizeof *buf);
    return raw(SNN_MON_HEADER_WORDS + n, SNN_MON_MAX_WORDS, 0, want, what);
}

/* WRITE of n words at byte offset off, in commands of at most 256. */
static void write_words(const char *what, uint32_t space, uint32_t core, uint32_t off,
                        const uint32_t *w, uint32_t n)
{
    for (uint32_t k = 0; k < n; k += SNN_MON_MAX_PAYLOAD_WORDS) {
        uint32_t m = n - k < SNN_MON_MAX_PAYLOAD_WORDS ? n - k : SNN_MON_MAX_PAYLOAD_WORDS;
        char line[128];
        snprintf(line, sizeof line, "WRITE %s words %u..%u", what, k, k + m - 1);
        req(SNN_MON_OK, line, SNN_MON_WRITE, core, space, off + 4 * k, 0, w + k, m);
    }
}

/* READ of n words from byte offset off, in commands of at most 256. */
static void read_words(const char *what, uint32_t space, uint32_t core, uint32_t off, uint32_t n)
{
    for (uint32_t k = 0; k < n; k += SNN_MON_MAX_PAYLOAD_WORDS) {
        uint32_t m = n - k < SNN_MON_MAX_PAYLOAD_WORDS ? n - k : SNN_MON_MAX_PAYLOAD_WORDS;
        char line[128];
        snprintf(line, sizeof line, "READ %s words %u..%u", what, k, k + m - 1);
        req(SNN_MON_OK, line, SNN_MON_READ, core, space, off + 4 * k, m, NULL, 0);
    }
}

/* Step t with the vector's packets; with check, the cores' spikes must
 * be the vector's (core 1 runs vectors[0], core 2 vectors[1]). */
static void step(uint32_t t, int check)
{
    const struct vector *v = &vectors[0];
    const uint32_t *keys = v->packets + v->packet_first[t];
    uint32_t n = v->packet_first[t + 1] - v->packet_first[t];
    uint32_t w = mon_chip_step(&chip, keys, n, step_out);
    for (uint32_t i = 0; check && i < w; i += 2 + step_out[i + 1]) {
        const struct vector *cv = &vectors[step_out[i] - 1];
        uint32_t lo = cv->sent_first[t], hi = cv->sent_first[t + 1];
        if (step_out[i + 1] != hi - lo ||
            memcmp(step_out + i + 2, cv->sent + lo, (hi - lo) * sizeof *step_out))
            die("the monitor's cores do not send what the vector's did");
    }
    record(MON_STEP, t, keys, n, step_out, w);
    uint32_t spikes = 0;
    for (uint32_t i = 0; i < w; i += 2 + step_out[i + 1])
        spikes += step_out[i + 1];
    label("step %u: %u packets in, %u spikes out", t, n, spikes);
}

static void script_run(void)
{
    const struct vector *a = &vectors[0], *b = &vectors[1];
    /* Core 1 runs a, core 2 runs b; a's block at 0, b's right after it. */
    const uint32_t a_off = 0, b_off = a->sdram_bytes, free_off = 24576;
    if (sizeof vectors / sizeof *vectors < 2 || a->packets != b->packets ||
        a->dtcm_bytes + 4 * a->ring_words > MON_CHIP_DTCM1_BYTES ||
        b->dtcm_bytes + 4 * b->ring_words > MON_CHIP_DTCM2_BYTES ||
        b_off + b->sdram_bytes > free_off || a->steps <= STEPS + 2)
        die("the first two cores of the vectors do not fit the chip of monitor_chip.h");
    if (mon_chip_init(&chip) != SNN_MON_OK)
        die("the chip was refused");
    char line[128];

    /* What the chip is, and responses that do not fit. */
    req(SNN_MON_OK, "INFO", SNN_MON_INFO, 0, 0, 0, 0, NULL, 0);
    const uint32_t info[SNN_MON_HEADER_WORDS] = {SNN_MON_INFO, seq++, 0, 0, 0, 0, 0, 0};
    memcpy(buf, info, sizeof info);
    raw(SNN_MON_HEADER_WORDS, SNN_MON_HEADER_WORDS + 11, 0, SNN_MON_TOO_BIG,
        "INFO into 11 words of room");
    raw(SNN_MON_HEADER_WORDS, SNN_MON_HEADER_WORDS - 1, 0, 0, "INFO into less than a header");
    req(SNN_MON_OK, "STATUS core 3 (EMPTY)", SNN_MON_STATUS, 3, 0, 0, 0, NULL, 0);

    /* The images. */
    snprintf(line, sizeof line, "DTCM core 1 (model %u image)", a->model);
    write_words(line, SNN_MON_DTCM, 1, 0, a->dtcm, a->dtcm_bytes / 4);
    snprintf(line, sizeof line, "DTCM core 2 (model %u image)", b->model);
    write_words(line, SNN_MON_DTCM, 2, 0, b->dtcm, b->dtcm_bytes / 4);
    const uint32_t rd[SNN_MON_HEADER_WORDS] = {SNN_MON_READ, seq++, 2, 0, SNN_MON_DTCM, 0,
                                               SNN_MON_MAX_PAYLOAD_WORDS, 0};
    memcpy(buf, rd, sizeof rd);
    raw(SNN_MON_HEADER_WORDS, SNN_MON_MAX_WORDS, 1, SNN_MON_OK,
        "READ DTCM core 2 words 0..255, the response over the request");
    write_words("SDRAM core 1 block", SNN_MON_SDRAM, 0, a_off, a->sdram, a->stored_bytes / 4);
    uint32_t junk[16];
    for (uint32_t k = 0; k < 16; k++)
        junk[k] = 0xDEAD0000u + k;
    req(SNN_MON_OK, "WRITE SDRAM junk over core 2's recordings (LOAD zeroes them)",
        SNN_MON_WRITE, 0, SNN_MON_SDRAM, b_off + b->stored_bytes, 0, junk, 16);
    write_words("SDRAM core 2 block", SNN_MON_SDRAM, 0, b_off, b->sdram, b->stored_bytes / 4);

    /* The routing table: one entry that matches nothing of synfire's,
     * one that sends everything to cores 1 and 2; the checks on a third. */
    struct snn_image_route r[3] = {{0xFFFF0000u, 0xFFFF0000u, 1u, 0},
                                   {0, 0, (1u << 7) | (1u << 8), 0},
                                   {1u, 0, 1u << 7, 0}};
    req(SNN_MON_OK, "WRITE ROUTER 3 entries", SNN_MON_WRITE, 0, SNN_MON_ROUTER, 0, 0,
        (const uint32_t *)r, 12);
    req(SNN_MON_BAD_ROUTE, "ROUTES 3 (entry 2: key outside its mask)", SNN_MON_ROUTES, 0, 3, 0,
        0, NULL, 0);
    r[2] = (struct snn_image_route){0, 0, 1u << (6 + MON_CHIP_CORES), 0};
    req(SNN_MON_OK, "WRITE ROUTER entry 2", SNN_MON_WRITE, 0, SNN_MON_ROUTER, 32, 0,
        (const uint32_t *)&r[2], 4);
    req(SNN_MON_BAD_ROUTE, "ROUTES 3 (entry 2: a core past the chip)", SNN_MON_ROUTES, 0, 3, 0,
        0, NULL, 0);
    req(SNN_MON_OUT_OF_RANGE, "ROUTES 9 (above the capacity)", SNN_MON_ROUTES, 0, 9, 0, 0, NULL,
        0);
    req(SNN_MON_OK, "ROUTES 2", SNN_MON_ROUTES, 0, 2, 0, 0, NULL, 0);
    req(SNN_MON_OK, "READ TABLE", SNN_MON_READ, 0, SNN_MON_TABLE, 0, 8, NULL, 0);
    req(SNN_MON_OUT_OF_RANGE, "READ TABLE past its 2 entries", SNN_MON_READ, 0, SNN_MON_TABLE, 0,
        12, NULL, 0);
    req(SNN_MON_BAD_SPACE, "WRITE TABLE (read only)", SNN_MON_WRITE, 0, SNN_MON_TABLE, 0, 0,
        (const uint32_t *)r, 4);

    /* LOAD, and its refusals. */
    req(SNN_MON_OK, "LOAD core 1", SNN_MON_LOAD, 1, a_off, a->sdram_bytes, a->stored_bytes, NULL,
        0);
    req(SNN_MON_OK, "LOAD core 2", SNN_MON_LOAD, 2, b_off, b->sdram_bytes, b->stored_bytes, NULL,
        0);
    req(SNN_MON_REFUSED, "LOAD core 3 (no image: its DTCM is zero)", SNN_MON_LOAD, 3, free_off,
        1024, 0, NULL, 0);
    req(SNN_MON_BAD_CORE, "LOAD core 4 (dead)", SNN_MON_LOAD, MON_CHIP_DEAD, free_off, 1024, 0,
        NULL, 0);
    req(SNN_MON_BAD_CORE, "LOAD core 0 (the monitor's)", SNN_MON_LOAD, 0, free_off, 1024, 0, NULL,
        0);
    req(SNN_MON_BAD_CORE, "LOAD core 9 (past the chip)", SNN_MON_LOAD, 9, free_off, 1024, 0, NULL,
        0);
    req(SNN_MON_BAD_STATE, "LOAD core 2 again (LOADED)", SNN_MON_LOAD, 2, free_off, 1024, 0, NULL,
        0);
    req(SNN_MON_OVERLAP, "LOAD core 3 over core 1's block", SNN_MON_LOAD, 3, 4096, 1024, 0, NULL,
        0);
    req(SNN_MON_BAD_ALIGN, "LOAD core 3 at byte 2", SNN_MON_LOAD, 3, 2, 1024, 0, NULL, 0);
    req(SNN_MON_OUT_OF_RANGE, "LOAD core 3 past the SDRAM", SNN_MON_LOAD, 3,
        MON_CHIP_SDRAM_BYTES - 4, 8, 0, NULL, 0);
    req(SNN_MON_OUT_OF_RANGE, "LOAD core 3 storing more than its block", SNN_MON_LOAD, 3,
        free_off, 16, 32, NULL, 0);
    req(SNN_MON_OK, "STATUS core 1 (LOADED)", SNN_MON_STATUS, 1, 0, 0, 0, NULL, 0);
    req(SNN_MON_OK, "STATUS core 2 (LOADED)", SNN_MON_STATUS, 2, 0, 0, 0, NULL, 0);
    read_words("SDRAM core 2 block (recordings zeroed)", SNN_MON_SDRAM, 0, b_off,
               b->sdram_bytes / 4);

    /* START, and what a running core refuses. */
    req(SNN_MON_BAD_STATE, "START core 3 (EMPTY)", SNN_MON_START, 0, 1u << 3, 0, 0, NULL, 0);
    req(SNN_MON_BAD_CORE, "START core 4 (dead)", SNN_MON_START, 0, 1u << 4, 0, 0, NULL, 0);
    req(SNN_MON_BAD_CORE, "START core 40 (past the chip)", SNN_MON_START, 0, 0, 1u << 8, 0, NULL,
        0);
    req(SNN_MON_OK, "START cores 1 and 2", SNN_MON_START, 0, 0x6, 0, 0, NULL, 0);
    req(SNN_MON_OK, "STATUS core 2 (RUNNING)", SNN_MON_STATUS, 2, 0, 0, 0, NULL, 0);
    req(SNN_MON_BAD_STATE, "WRITE DTCM core 2 (RUNNING)", SNN_MON_WRITE, 2, SNN_MON_DTCM, 0, 0,
        junk, 4);
    req(SNN_MON_OVERLAP, "WRITE SDRAM into core 2's block (RUNNING)", SNN_MON_WRITE, 0,
        SNN_MON_SDRAM, b_off + b->sdram_bytes - 8, 0, junk, 4);
    req(SNN_MON_OK, "WRITE SDRAM outside every block", SNN_MON_WRITE, 0, SNN_MON_SDRAM, free_off,
        0, junk, 16);

    /* The run: the vector's packets through the committed table. */
    for (uint32_t t = 0; t < STEPS; t++)
        step(t, 1);
    req(SNN_MON_OK, "STATUS core 1 after the steps", SNN_MON_STATUS, 1, 0, 0, 0, NULL, 0);
    req(SNN_MON_OK, "STATUS core 2 after the steps", SNN_MON_STATUS, 2, 0, 0, 0, NULL, 0);
    read_words("DTCM core 2 (image, state, rings)", SNN_MON_DTCM, 2, 0,
               MON_CHIP_DTCM2_BYTES / 4);
    read_words("SDRAM core 1 recordings", SNN_MON_SDRAM, 0, a_off + a->stored_bytes,
               (a->sdram_bytes - a->stored_bytes) / 4);
    read_words("SDRAM core 2 recordings", SNN_MON_SDRAM, 0, b_off + b->stored_bytes,
               (b->sdram_bytes - b->stored_bytes) / 4);

    /* INJECT: core 1's neurons fire at the next step. */
    const uint32_t neurons[3] = {0, 5, 300};
    req(SNN_MON_OK, "INJECT core 1 neurons 0, 5, 300", SNN_MON_INJECT, 1, 0, 0, 0, neurons, 3);
    req(SNN_MON_BAD_STATE, "INJECT core 3 (EMPTY)", SNN_MON_INJECT, 3, 0, 0, 0, neurons, 1);
    req(SNN_MON_BAD_CORE, "INJECT core 4 (dead)", SNN_MON_INJECT, MON_CHIP_DEAD, 0, 0, 0,
        neurons, 1);
    step(STEPS, 0);

    /* STOP, START, STOP, RESET. */
    req(SNN_MON_OK, "STOP core 1", SNN_MON_STOP, 0, 0x2, 0, 0, NULL, 0);
    step(STEPS + 1, 0);
    req(SNN_MON_BAD_STATE, "STOP core 3 (EMPTY)", SNN_MON_STOP, 0, 0x8, 0, 0, NULL, 0);
    req(SNN_MON_OK, "STOP cores 1 and 2", SNN_MON_STOP, 0, 0x6, 0, 0, NULL, 0);
    step(STEPS + 2, 0);
    req(SNN_MON_OK, "STATUS core 1 (STOPPED)", SNN_MON_STATUS, 1, 0, 0, 0, NULL, 0);
    req(SNN_MON_OK, "STATUS core 2 (STOPPED)", SNN_MON_STATUS, 2, 0, 0, 0, NULL, 0);
    read_words("SDRAM core 1 recordings after the stop", SNN_MON_SDRAM, 0,
               a_off + a->stored_bytes, (a->sdram_bytes - a->stored_bytes) / 4);
    req(SNN_MON_OK, "WRITE SDRAM into core 2's block (STOPPED)", SNN_MON_WRITE, 0, SNN_MON_SDRAM,
        b_off + b->sdram_bytes - 8, 0, junk, 2);
    req(SNN_MON_OK, "START core 2 again", SNN_MON_START, 0, 0x4, 0, 0, NULL, 0);
    req(SNN_MON_OK, "STOP core 2", SNN_MON_STOP, 0, 0x4, 0, 0, NULL, 0);
    req(SNN_MON_BAD_CORE, "RESET core 4 (dead)", SNN_MON_RESET, 0, 1u << 4, 0, 0, NULL, 0);
    req(SNN_MON_OK, "RESET core 1", SNN_MON_RESET, 0, 0x2, 0, 0, NULL, 0);
    req(SNN_MON_OK, "STATUS core 1 (EMPTY again)", SNN_MON_STATUS, 1, 0, 0, 0, NULL, 0);
    const uint32_t zeros[SNN_MON_MAX_PAYLOAD_WORDS] = {0};
    write_words("DTCM core 1 with zeros", SNN_MON_DTCM, 1, 0, zeros, a->dtcm_bytes / 4);
    req(SNN_MON_REFUSED, "LOAD core 1 (its image zeroed)", SNN_MON_LOAD, 1, a_off, a->sdram_bytes,
        a->stored_bytes, NULL, 0);
    req(SNN_MON_OK, "RESET cores 1, 2 and 3", SNN_MON_RESET, 0, 0xE, 0, 0, NULL, 0);
    req(SNN_MON_OK, "STATUS core 2 (EMPTY again)", SNN_MON_STATUS, 2, 0, 0, 0, NULL, 0);

    /* Malformed requests and every other refusal. */
    const uint32_t bad_op[3] = {0, SNN_MON_OP_LAST + 1, 0xFFFFFFFFu};
    for (int k = 0; k < 3; k++) {
        snprintf(line, sizeof line, "op %u (unknown)", bad_op[k]);
        req(SNN_MON_BAD_OP, line, bad_op[k], 0, 0, 0, 0, NULL, 0);
    }
    const uint32_t st[SNN_MON_HEADER_WORDS] = {SNN_MON_STATUS, seq++, 1, 0, 0, 0, 0, 0};
    memcpy(buf, st, sizeof st);
    raw(0, SNN_MON_MAX_WORDS, 0, SNN_MON_BAD_LENGTH, "an empty request");
    raw(5, SNN_MON_MAX_WORDS, 0, SNN_MON_BAD_LENGTH, "STATUS truncated to 5 words");
    raw(SNN_MON_HEADER_WORDS + 2, SNN_MON_MAX_WORDS, 0, SNN_MON_BAD_LENGTH,
        "STATUS with 2 words after its header");
    buf[3] = 4;
    raw(SNN_MON_HEADER_WORDS + 2, SNN_MON_MAX_WORDS, 0, SNN_MON_BAD_LENGTH,
        "STATUS saying 4 payload words, given 2");
    const uint32_t wr[SNN_MON_HEADER_WORDS] = {SNN_MON_WRITE, seq++, 0, 4, SNN_MON_SDRAM,
                                               free_off, 0, 0};
    memcpy(buf, wr, sizeof wr);
    raw(SNN_MON_HEADER_WORDS + 6, SNN_MON_MAX_WORDS, 0, SNN_MON_BAD_LENGTH,
        "WRITE saying 4 payload words, given 6");
    raw(SNN_MON_HEADER_WORDS + 2, SNN_MON_MAX_WORDS, 0, SNN_MON_BAD_LENGTH,
        "WRITE saying 4 payload words, given 2");
    buf[3] = SNN_MON_MAX_PAYLOAD_WORDS + 1;
    raw(SNN_MON_HEADER_WORDS + 4, SNN_MON_MAX_WORDS, 0, SNN_MON_TOO_BIG,
        "WRITE saying 257 payload words");
    req(SNN_MON_BAD_LENGTH, "INFO with a payload", SNN_MON_INFO, 0, 0, 0, 0, junk, 2);
    req(SNN_MON_OUT_OF_RANGE, "WRITE DTCM core 1 past its end", SNN_MON_WRITE, 1, SNN_MON_DTCM,
        MON_CHIP_DTCM1_BYTES - 8, 0, junk, 4);
    req(SNN_MON_OUT_OF_RANGE, "WRITE SDRAM past its end", SNN_MON_WRITE, 0, SNN_MON_SDRAM,
        MON_CHIP_SDRAM_BYTES - 4, 0, junk, 2);
    req(SNN_MON_OUT_OF_RANGE, "WRITE ROUTER past its 8 entries", SNN_MON_WRITE, 0,
        SNN_MON_ROUTER, 7 * 16, 0, (const uint32_t *)r, 8);
    req(SNN_MON_OUT_OF_RANGE, "READ DTCM core 3 past its end", SNN_MON_READ, 3, SNN_MON_DTCM,
        MON_CHIP_DTCM3_BYTES - 4, 2, NULL, 0);
    req(SNN_MON_OUT_OF_RANGE, "READ SDRAM at byte 0xFFFFFFFC (no wrap)", SNN_MON_READ, 0,
        SNN_MON_SDRAM, 0xFFFFFFFCu, 2, NULL, 0);
    req(SNN_MON_TOO_BIG, "READ of 257 words", SNN_MON_READ, 0, SNN_MON_SDRAM, 0, 257, NULL, 0);
    const uint32_t small[SNN_MON_HEADER_WORDS] = {SNN_MON_READ, seq++, 0, 0, SNN_MON_SDRAM, 0, 16,
                                                  0};
    memcpy(buf, small, sizeof small);
    raw(SNN_MON_HEADER_WORDS, SNN_MON_HEADER_WORDS + 10, 0, SNN_MON_TOO_BIG,
        "READ of 16 words into 10 words of room");
    const uint32_t status[SNN_MON_HEADER_WORDS] = {SNN_MON_STATUS, seq++, 2, 0, 0, 0, 0, 0};
    memcpy(buf, status, sizeof status);
    raw(SNN_MON_HEADER_WORDS, SNN_MON_HEADER_WORDS + 15, 0, SNN_MON_TOO_BIG,
        "STATUS into 15 words of room");
    req(SNN_MON_BAD_SPACE, "READ space 9", SNN_MON_READ, 0, 9, 0, 1, NULL, 0);
    req(SNN_MON_BAD_SPACE, "WRITE space 0", SNN_MON_WRITE, 0, 0, 0, 0, junk, 1);
    req(SNN_MON_BAD_CORE, "READ DTCM core 4 (dead)", SNN_MON_READ, MON_CHIP_DEAD, SNN_MON_DTCM, 0,
        1, NULL, 0);
    req(SNN_MON_BAD_CORE, "STATUS core 0 (the monitor's)", SNN_MON_STATUS, 0, 0, 0, 0, NULL, 0);
    req(SNN_MON_BAD_ALIGN, "WRITE SDRAM at byte 6", SNN_MON_WRITE, 0, SNN_MON_SDRAM, 6, 0, junk,
        1);
    req(SNN_MON_BAD_ALIGN, "READ TABLE at byte 2", SNN_MON_READ, 0, SNN_MON_TABLE, 2, 1, NULL, 0);
    req(SNN_MON_OK, "INFO at the end", SNN_MON_INFO, 0, 0, 0, 0, NULL, 0);

    if (statuses_seen != (2u << SNN_MON_STATUS_LAST) - 1u)
        die("the script does not reach every status code");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: monitor_vectors OUT.h\n");
        return 2;
    }
    script_run();
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 1;
    fprintf(f, "/* Generated by tests/firmware/monitor_vectors.c: do not edit. */\n");
    fprintf(f, "#define MON_REQ %uu\n#define MON_REQ_IN_PLACE %uu\n#define MON_STEP %uu\n",
            MON_REQ, MON_REQ_IN_PLACE, MON_STEP);
    fprintf(f, "#define MON_RECORDS %zuu\n", n_labels);
    fprintf(f, "static const uint32_t mon_script[%zu] = {", script.n);
    for (size_t k = 0; k < script.n; k++)
        fprintf(f, "%s0x%08xu,", k % 8 ? " " : "\n    ", script.w[k]);
    fprintf(f, "\n};\nstatic const char *const mon_labels[%zu] = {\n", n_labels);
    for (size_t k = 0; k < n_labels; k++) {
        fprintf(f, "    \"%s\",\n", labels[k]);
        free(labels[k]);
    }
    fprintf(f, "};\n");
    free(labels);
    free(script.w);
    return fclose(f) ? 1 : 0;
}

/*
 * tests/firmware/arm_vectors.c: the kernel's ARM build against the host
 * build, bit for bit.
 *
 * Cross-compiled for the ARM968 (-mcpu=arm968e-s, freestanding, no C
 * library: firmware/arm/start.c) with the kernel (firmware/core.c) and
 * the vectors tests/firmware/vectors.c made with the host build: for a
 * few cores of a few networks, the DTCM image, the SDRAM block, every
 * step's packets, and what the host kernel sent each step, its counters
 * and a checksum of its recordings.  Run under qemu-arm: each core is
 * loaded, given the same packets, ticked the same steps; any difference
 * is printed with its step, and the exit status is 1.
 */
#include <stdint.h>

#include "firmware/arm/start.h"
#include "firmware/core.h"
#include "vectors.h"

static const struct vector vectors[] = {VECTOR_LIST};

/* The core's memories: DTCM and ring as on the chip; a block of SDRAM. */
static uint32_t dtcm[16384];
static uint32_t sdram[65536];
static int32_t ring[2 * 256 * 256 + 1];
static uint32_t out[256];

static uint32_t fnv(const uint32_t *w, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t k = 0; k < n; k++)
        for (unsigned b = 0; b < 32; b += 8) {
            h ^= (w[k] >> b) & 0xFFu;
            h *= 16777619u;
        }
    return h;
}

static int fail(const struct vector *v, const char *what, uint32_t step)
{
    snn_arm_puts("FAIL: ");
    snn_arm_puts(v->network);
    snn_arm_puts(" model ");
    snn_arm_putu(v->model);
    snn_arm_puts(": ");
    snn_arm_puts(what);
    snn_arm_puts(" at step ");
    snn_arm_putu(step);
    snn_arm_puts("\n");
    return 1;
}

static int check(const struct vector *v)
{
    if (v->dtcm_bytes > sizeof dtcm || v->sdram_bytes > sizeof sdram ||
        v->ring_words > sizeof ring / sizeof *ring)
        return fail(v, "the vector does not fit this program", 0);
    for (uint32_t k = 0; k < v->dtcm_bytes / 4; k++)
        dtcm[k] = v->dtcm[k];
    for (uint32_t k = 0; k < v->sdram_bytes / 4; k++)
        sdram[k] = k < v->stored_bytes / 4 ? v->sdram[k] : 0;
    struct snn_core c;
    if (snn_core_load(&c, dtcm, v->dtcm_bytes, sdram, v->sdram_bytes, ring, v->ring_words) !=
        SNN_CORE_OK)
        return fail(v, "the image was refused", 0);
    for (uint32_t t = 0; t < v->steps; t++) {
        for (uint32_t k = v->packet_first[t]; k < v->packet_first[t + 1]; k++)
            snn_core_packet(&c, v->packets[k]);
        uint32_t nf = snn_core_tick(&c, out);
        uint32_t lo = v->sent_first[t], hi = v->sent_first[t + 1];
        if (nf != hi - lo)
            return fail(v, "a different number of spikes", t);
        for (uint32_t k = 0; k < nf; k++)
            if (out[k] != v->sent[lo + k])
                return fail(v, "a different spike", t);
    }
    const uint32_t got[10] = {c.c.packets,   c.c.unknown, c.c.empty, c.c.rows,
                              c.c.synapses,  c.c.spikes,  c.c.steps, c.c.queue_max,
                              c.c.saturations, fnv(sdram, v->sdram_bytes / 4)};
    static const char *const names[10] = {
        "packets", "unknown packets", "empty packets", "rows",        "synaptic events",
        "spikes",  "steps",           "queue depth",   "saturations", "the recordings"};
    for (int k = 0; k < 10; k++)
        if (got[k] != v->result[k])
            return fail(v, names[k], v->steps);
    snn_arm_puts("ok: ");
    snn_arm_puts(v->network);
    snn_arm_puts(" model ");
    snn_arm_putu(v->model);
    snn_arm_puts(": ");
    snn_arm_putu(v->steps);
    snn_arm_puts(" steps, ");
    snn_arm_putu(c.c.spikes);
    snn_arm_puts(" spikes, ");
    snn_arm_putu(c.c.synapses);
    snn_arm_puts(" synaptic events, as the host build\n");
    return 0;
}

int snn_arm_main(void)
{
    int bad = 0;
    for (uint32_t k = 0; k < sizeof vectors / sizeof *vectors; k++)
        bad |= check(&vectors[k]);
    return bad;
}

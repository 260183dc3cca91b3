/*
 * tests/firmware/monitor_chip.h: the small chip the monitor's transcript
 * runs on, the same in the host generator (tests/firmware/
 * monitor_vectors.c) and in the ARM program that replays it (tests/
 * firmware/arm_monitor.c), so both monitors see the same memories.
 *
 * Five cores: the monitor on 0; application cores 1 (2 KiB of DTCM),
 * 2 (8 KiB) and 3 (1 KiB, never given an image); core 4 dead.  32 KiB of
 * SDRAM and 8 router entries.  The sizes are the smallest that hold the
 * two synfire cores of the kernel's vectors (tests/firmware/vectors.c)
 * with their ring buffers and blocks, and keep the ARM program's static
 * memory small.  The memories start zeroed (static storage) on both
 * sides.
 *
 * mon_chip_step is the platform's part of one timestep, as the board's
 * start-up code and the emulator do it: each packet is looked up in the
 * committed table (first match wins) and given to the RUNNING cores its
 * route names, then every RUNNING core ticks; it writes, for each of
 * them in core order, the core, how many neurons fired and their keys.
 *
 * Freestanding (stdint.h and the firmware's headers only): it is
 * compiled for the host and for the ARM968.
 */
#ifndef SNN_TESTS_FIRMWARE_MONITOR_CHIP_H
#define SNN_TESTS_FIRMWARE_MONITOR_CHIP_H

#include <stdint.h>

#include "abi/monitor.h"
#include "firmware/core.h"
#include "firmware/monitor.h"

#define MON_CHIP_CORES 5u
#define MON_CHIP_MONITOR 0u
#define MON_CHIP_DEAD 4u
#define MON_CHIP_PRESENT ((1u << 1) | (1u << 2) | (1u << 3))
#define MON_CHIP_DTCM1_BYTES 2048u
#define MON_CHIP_DTCM2_BYTES 8192u
#define MON_CHIP_DTCM3_BYTES 1024u
#define MON_CHIP_SDRAM_BYTES 32768u
#define MON_CHIP_ROUTES 8u
/* The most words mon_chip_step writes: every core, all of its neurons. */
#define MON_CHIP_STEP_WORDS (MON_CHIP_CORES * (2u + SNN_CORE_MAX_NEURONS))

struct mon_chip {
    uint32_t dtcm1[MON_CHIP_DTCM1_BYTES / 4];
    uint32_t dtcm2[MON_CHIP_DTCM2_BYTES / 4];
    uint32_t dtcm3[MON_CHIP_DTCM3_BYTES / 4];
    uint32_t sdram[MON_CHIP_SDRAM_BYTES / 4];
    struct snn_image_route staging[MON_CHIP_ROUTES], table[MON_CHIP_ROUTES];
    struct snn_monitor m;
    uint32_t fired[SNN_CORE_MAX_NEURONS];
};

/* Gives the chip's memories (zeroed by the caller) to its monitor;
 * returns snn_monitor_init's status. */
static inline uint32_t mon_chip_init(struct mon_chip *ch)
{
    struct snn_monitor_platform p = {0};
    p.n_cores = MON_CHIP_CORES;
    p.monitor_core = MON_CHIP_MONITOR;
    p.present[0] = MON_CHIP_PRESENT;
    p.dtcm[1] = ch->dtcm1;
    p.dtcm_bytes[1] = MON_CHIP_DTCM1_BYTES;
    p.dtcm[2] = ch->dtcm2;
    p.dtcm_bytes[2] = MON_CHIP_DTCM2_BYTES;
    p.dtcm[3] = ch->dtcm3;
    p.dtcm_bytes[3] = MON_CHIP_DTCM3_BYTES;
    p.sdram = ch->sdram;
    p.sdram_bytes = MON_CHIP_SDRAM_BYTES;
    p.staging = ch->staging;
    p.table = ch->table;
    p.router_entries = MON_CHIP_ROUTES;
    return snn_monitor_init(&ch->m, &p);
}

static inline uint32_t mon_chip_bit(uint32_t lo, uint32_t hi, uint32_t b)
{
    return b < 32 ? (lo >> b) & 1u : (hi >> (b - 32)) & 1u;
}

/* One timestep: the n packets keys[] (those of the step, sent in the step
 * before) routed to the RUNNING cores, then their ticks.  Writes out
 * (MON_CHIP_STEP_WORDS words) and returns the words written. */
static inline uint32_t mon_chip_step(struct mon_chip *ch, const uint32_t *keys, uint32_t n,
                                     uint32_t *out)
{
    uint32_t run[2], n_routes, w = 0;
    const struct snn_image_route *t = snn_monitor_routes(&ch->m, &n_routes);
    snn_monitor_running(&ch->m, run);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t e = 0;
        while (e < n_routes && (keys[k] & t[e].mask) != t[e].key)
            e++;
        if (e == n_routes)
            continue; /* unrouted: dropped */
        for (uint32_t c = 0; c < MON_CHIP_CORES; c++)
            if (mon_chip_bit(t[e].route_lo, t[e].route_hi, 6 + c) &&
                mon_chip_bit(run[0], run[1], c))
                snn_core_packet(snn_monitor_core(&ch->m, c), keys[k]);
    }
    for (uint32_t c = 0; c < MON_CHIP_CORES; c++) {
        if (!mon_chip_bit(run[0], run[1], c))
            continue;
        uint32_t nf = snn_core_tick(snn_monitor_core(&ch->m, c), ch->fired);
        out[w++] = c;
        out[w++] = nf;
        for (uint32_t q = 0; q < nf; q++)
            out[w++] = ch->fired[q];
    }
    return w;
}

#endif

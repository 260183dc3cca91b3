/*
 * firmware/monitor.h: the monitor, what one core of every spinn chip runs
 * to let a host load and run the others (the protocol: abi/monitor.h,
 * docs/monitor.md).
 *
 * The platform (the board's start-up code, or the emulator) gives the
 * monitor the chip's memories once, at init: for each application core
 * its DTCM buffer, the chip's SDRAM, and the router's staging and
 * committed tables; and says which cores are present (dead cores and
 * the monitor's own are not).  Then every request goes through
 * snn_monitor_handle, which writes and reads those memories, commits the
 * routing table and binds the core kernel (firmware/core.h) of each
 * application core: its DTCM image at the start of its DTCM buffer, its
 * ring buffers right after the image (word-aligned), its SDRAM block
 * where LOAD says.
 *
 * The monitor never touches memory outside what the platform gave it,
 * whatever a request says; it allocates nothing and keeps no state
 * outside struct snn_monitor.  The timer tick and packet delivery stay
 * with the platform: it calls snn_core_tick and snn_core_packet on the
 * RUNNING cores (snn_monitor_running, snn_monitor_core), routing what
 * they send through the committed table (snn_monitor_routes), and calls
 * snn_monitor_handle only between steps.
 *
 * Freestanding: no libc, no division; builds for the host and for the
 * ARM968 (which then needs only the kernel, memset and memcpy).
 */
#ifndef SNN_FIRMWARE_MONITOR_H
#define SNN_FIRMWARE_MONITOR_H

#include <stdint.h>

#include "abi/image.h"
#include "abi/monitor.h"
#include "firmware/core.h"

/* What the platform gives: the chip as it is.  Every pointer is
 * word-aligned and every size a multiple of 4 bytes; the memories do not
 * overlap one another. */
struct snn_monitor_platform {
    uint32_t n_cores;       /* the chip's cores, the monitor's included, <= SNN_MON_MAX_CORES */
    uint32_t monitor_core;  /* the core this monitor runs on, < n_cores */
    uint32_t present[2];    /* bit c (word c / 32): application core c works; the monitor's
                             * bit is ignored */
    uint32_t *dtcm[SNN_MON_MAX_CORES];          /* a present core's DTCM buffer */
    uint32_t dtcm_bytes[SNN_MON_MAX_CORES];     /* ... and its bytes */
    uint32_t *sdram;        /* the chip's SDRAM */
    uint32_t sdram_bytes;
    struct snn_image_route *staging; /* router_entries entries each (not NULL, even for 0) */
    struct snn_image_route *table;
    uint32_t router_entries;
};

/* One application core as the monitor keeps it. */
struct snn_monitor_core {
    uint32_t *dtcm;
    uint32_t dtcm_bytes;
    uint32_t state;         /* enum snn_mon_state */
    uint32_t ring_off, ring_words;   /* bound cores: the ring buffers in DTCM */
    uint32_t block_off, block_bytes; /* bound cores: the SDRAM block */
    struct snn_core k;      /* the kernel's state (zero while EMPTY) */
};

struct snn_monitor {
    uint32_t n_cores, monitor_core;
    uint32_t present[2];
    struct snn_monitor_core core[SNN_MON_MAX_CORES];
    uint32_t *sdram;
    uint32_t sdram_bytes;
    struct snn_image_route *staging, *table;
    uint32_t router_entries;
    uint32_t committed;     /* entries of table in use */
};

/* Takes the chip from p: every core EMPTY, no routes committed (the
 * tables are not read).  Returns SNN_MON_OK, or SNN_MON_BAD_CORE (more
 * than SNN_MON_MAX_CORES cores, the monitor's core past them, a present
 * core past them or without DTCM), SNN_MON_BAD_ALIGN (a size not a
 * multiple of 4) or SNN_MON_OUT_OF_RANGE (no SDRAM or router tables, or
 * a router too large for 32-bit byte offsets).  p itself is not kept. */
uint32_t snn_monitor_init(struct snn_monitor *m, const struct snn_monitor_platform *p);

/* Handles one request (req_words words, any content) and writes its
 * response to resp (room for resp_cap_words words); returns the
 * response's length in words: 0 only when resp_cap_words is below
 * SNN_MON_HEADER_WORDS.  resp may be req: the request is read before
 * the response is written wherever the two could meet. */
uint32_t snn_monitor_handle(struct snn_monitor *m, const uint32_t *req, uint32_t req_words,
                            uint32_t *resp, uint32_t resp_cap_words);

/* ---- what the platform runs the chip with ---------------------------------- */

/* The RUNNING cores: bit c of word c / 32. */
void snn_monitor_running(const struct snn_monitor *m, uint32_t out[2]);

/* Core c's state (enum snn_mon_state); SNN_MON_EMPTY for a core that is
 * not present. */
uint32_t snn_monitor_state(const struct snn_monitor *m, uint32_t c);

/* Core c's kernel, or NULL when c is not bound (EMPTY or not present). */
struct snn_core *snn_monitor_core(struct snn_monitor *m, uint32_t c);

/* The committed routing table (priority order) and its length in *n. */
const struct snn_image_route *snn_monitor_routes(const struct snn_monitor *m, uint32_t *n);

#endif

/*
 * target/sdt.h: machine descriptions of the sdt family, the accelerator of
 * docs/sdt-accelerator.md.
 *
 * A struct snn_sdt_target is plain data: the datapath's width (LANES), the
 * size of each memory as log2 of its words, the output FIFO's depth, the
 * clock, and the energy constants `snnc run --device rtl` turns counters
 * into.  It is filled by snn_sdt_target_new()'s defaults (the contract's
 * default configuration) and the front end's target parser
 * (frontend/target_yaml.c, format in docs/targets.md); nothing here parses
 * text.  The spinn family keeps struct snn_machine (target/target.h).
 *
 * Memory: a target owns one arena; name, description and the energy
 * source string point into it and live until snn_sdt_target_free().
 */
#ifndef SNN_TARGET_SDT_H
#define SNN_TARGET_SDT_H

#include <stdint.h>

#include "support/diag.h"

struct snn_arena;

/* The contract's default configuration (docs/sdt-accelerator.md). */
#define SNN_SDT_DEFAULT_LANES 16u
#define SNN_SDT_DEFAULT_PMEM_LOG2 14u /* 16,384 words: 1,024 descriptors */
#define SNN_SDT_DEFAULT_WMEM_LOG2 16u /* 65,536 words: 1 MiB at 16 lanes */
#define SNN_SDT_DEFAULT_QMEM_LOG2 12u /* 4,096 words */
#define SNN_SDT_DEFAULT_DMEM_LOG2 16u /* 65,536 words: 4 MiB at 16 lanes */
#define SNN_SDT_DEFAULT_EVT_LOG2 18u  /* 262,144 event words */
#define SNN_SDT_DEFAULT_FIFO_LOG2 6u  /* 64 events */
#define SNN_SDT_DEFAULT_CLOCK_MHZ 200u
/* The output FIFO holds 2^1 .. 2^16 events: a deeper one only costs area. */
#define SNN_SDT_MAX_FIFO_LOG2 16u

/* Energy per operation, in picojoules.  Defaults: M. Horowitz, "Computing's
 * energy problem (and what we can do about it)", ISSCC 2014, 45 nm, as the
 * spiking-transformer literature uses them: E_AC = 0.9 pJ (a 32-bit float
 * add) and E_MAC = 4.6 pJ (a 32-bit float multiply, 3.7 pJ, and add); SRAM
 * from the same talk's table of memory reads, 20 pJ per 64-bit access of a
 * 32 KB array (0.3125 pJ a bit; 8 KB: 10 pJ, 1 MB: 100 pJ), the same figure
 * for writes (the table gives one). */
#define SNN_SDT_DEFAULT_E_AC_PJ 0.9
#define SNN_SDT_DEFAULT_E_MAC_PJ 4.6
#define SNN_SDT_DEFAULT_E_READ_BIT_PJ 0.3125
#define SNN_SDT_DEFAULT_E_WRITE_BIT_PJ 0.3125
#define SNN_SDT_DEFAULT_E_SOURCE                                                               \
    "Horowitz, Computing's energy problem, ISSCC 2014, 45 nm: E_AC 0.9 pJ, E_MAC 4.6 pJ "      \
    "(32-bit float add, multiply-accumulate); SRAM 20 pJ per 64-bit access of 32 KB"
/* Largest energy constant: 1 nJ, far above any SRAM access or operation;
 * an image stores them in attojoules in 32 bits (up to 4.29 uJ). */
#define SNN_SDT_MAX_ENERGY_PJ 1000.0

struct snn_sdt_energy {
    double ac_pj;          /* one accumulate (a PE lane's add) */
    double mac_pj;         /* one multiply-accumulate, for the ANN comparison */
    double read_bit_pj;    /* one SRAM bit read */
    double write_bit_pj;   /* one SRAM bit written */
    const char *source;    /* the citation printed beside the estimate */
};

struct snn_sdt_target {
    struct snn_arena *arena;
    const char *name;        /* short, as given to --target */
    const char *description; /* one line; may be NULL */
    uint32_t lanes;          /* a power of two, 4 .. 128 */
    uint32_t pmem_log2, wmem_log2, qmem_log2, dmem_log2, evt_log2; /* 4 .. 19 each */
    uint32_t fifo_log2;      /* 1 .. 16 */
    uint32_t clock_mhz;
    struct snn_sdt_energy energy;
};

/* A target with the default configuration and energy constants, no name,
 * and its own arena; NULL on ENOMEM. */
struct snn_sdt_target *snn_sdt_target_new(void);
void snn_sdt_target_free(struct snn_sdt_target *t);

/* Checks every rule of docs/targets.md ("sdt targets"): LANES a power of
 * two from 4 to 128, every memory 2^4 .. 2^19 words, the FIFO 2^1 .. 2^16
 * events, a clock above 0, energy constants from 0 to 1 nJ.  Each broken
 * rule is reported to d (may be NULL).  0 or SNN_ESEMA. */
int snn_sdt_target_verify(const struct snn_sdt_target *t, struct snn_diag *d);

/* Words of each memory. */
static inline uint32_t snn_sdt_words(uint32_t log2)
{
    return (uint32_t)1 << log2;
}

#endif

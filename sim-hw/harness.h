/*
 * sim-hw/harness.h: a C API over the Verilator models of the sdt accelerator
 * (docs/sdt-accelerator.md, "The harness").
 *
 * Takes options (an FST trace file or none, the configuration wanted or
 * the test model); gives a handle that drives the model's host bus cycle
 * by cycle: the load port into every memory, the registers, one step
 * (START until DONE, ERROR or a cycle limit), the counters and the output
 * FIFO.  The hardware parameters are those a model was built with (CMake's
 * verilate() calls, sim-hw/CMakeLists.txt); snn_sdt_models lists the
 * models there are, snn_sdt_config reads the open one's from the CONFIG
 * register.
 *
 * Invariants: every function that acts returns 0 or a negative SNN_E* code
 * (support/err.h); memory accesses are refused (SNN_EINVAL) while the
 * machine is BUSY and outside the memory or its 32-bit slices; the events
 * the machine pushes into the FIFO during a run are drained into the
 * handle's buffer as they come, so a full FIFO only delays a step.
 */
#ifndef SNN_SIM_HW_HARNESS_H
#define SNN_SIM_HW_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "abi/sdt.h"

#ifdef __cplusplus
extern "C" {
#endif

struct snn_sdt_rtl;

/* The hardware parameters, from CONFIG (and the model's FIFO depth, which
 * CONFIG does not hold). */
struct snn_sdt_rtl_config {
    unsigned lanes;
    unsigned pmem_log2, wmem_log2, qmem_log2, dmem_log2, evt_log2;
    unsigned fifo_log2;
};

struct snn_sdt_rtl_options {
    const char *trace_path; /* FST trace file, or NULL for no trace */
    /* The model to open: the one built with exactly these parameters, or
     * NULL for the test model (4 lanes, small memories). */
    const struct snn_sdt_rtl_config *config;
};

/* The memories, in MEM_SEL's numbering (abi/sdt.h). */
enum snn_sdt_mem {
    SNN_SDT_PMEM = SNN_SDT_MEMSEL_PMEM,
    SNN_SDT_WMEM = SNN_SDT_MEMSEL_WMEM,
    SNN_SDT_QMEM = SNN_SDT_MEMSEL_QMEM,
    SNN_SDT_DMEM = SNN_SDT_MEMSEL_DMEM,
    SNN_SDT_EVT = SNN_SDT_MEMSEL_EVT
};

/* Register addresses, bits and codes: abi/sdt.h (SNN_SDT_ADDR_*, ...). */

/* The counters: abi/sdt.h (SNN_SDT_COUNTER_*, SNN_SDT_COUNTERS of them). */

/* How a step ended. */
enum snn_sdt_stop {
    SNN_SDT_STOP_DONE = 1,
    SNN_SDT_STOP_ERROR = 2,
    SNN_SDT_STOP_LIMIT = 3  /* the cycle limit came first; the machine is still BUSY */
};

/* The models built, the test model first: copies up to cap configurations
 * into cfgs (NULL when cap is 0) and returns how many models there are. */
size_t snn_sdt_models(struct snn_sdt_rtl_config *cfgs, size_t cap);

/* Builds the model, resets it, opens the trace if asked.  OUT: *rtl.
 * SNN_EUNSUPPORTED when opt->config matches no model built. */
int snn_sdt_open(const struct snn_sdt_rtl_options *opt, struct snn_sdt_rtl **rtl);
/* Flushes and closes the trace, frees everything; NULL is ignored. */
void snn_sdt_close(struct snn_sdt_rtl *rtl);

int snn_sdt_config(struct snn_sdt_rtl *rtl, struct snn_sdt_rtl_config *cfg);
/* Register access: one bus cycle each. */
int snn_sdt_reg_write(struct snn_sdt_rtl *rtl, uint32_t addr, uint32_t value);
int snn_sdt_reg_read(struct snn_sdt_rtl *rtl, uint32_t addr, uint32_t *value);

/* One 32-bit slice (lane) of a memory word; lane is 0 for PMEM and EVT,
 * < L / 4 for WMEM, < 2L for QMEM, < L for DMEM. */
int snn_sdt_mem_write(struct snn_sdt_rtl *rtl, enum snn_sdt_mem mem, uint32_t addr,
                      uint32_t lane, uint32_t value);
int snn_sdt_mem_read(struct snn_sdt_rtl *rtl, enum snn_sdt_mem mem, uint32_t addr,
                     uint32_t lane, uint32_t *value);
/* n consecutive slices from word addr, slice 0 first: a whole wide word is
 * its slices in order. */
int snn_sdt_mem_load(struct snn_sdt_rtl *rtl, enum snn_sdt_mem mem, uint32_t addr,
                     const uint32_t *slices, size_t n);
int snn_sdt_mem_dump(struct snn_sdt_rtl *rtl, enum snn_sdt_mem mem, uint32_t addr,
                     uint32_t *slices, size_t n);

/* List register r (0 .. 15): base, capacity and count. */
int snn_sdt_list_set(struct snn_sdt_rtl *rtl, unsigned r, uint32_t base, uint32_t cap,
                     uint32_t count);
int snn_sdt_list_count(struct snn_sdt_rtl *rtl, unsigned r, uint32_t *count);

/* START, then clock until DONE, ERROR or max_cycles.  OUT: *stop. */
int snn_sdt_run(struct snn_sdt_rtl *rtl, uint64_t max_cycles, enum snn_sdt_stop *stop);
/* ERROR_INFO's fields. */
int snn_sdt_error_info(struct snn_sdt_rtl *rtl, unsigned *code, unsigned *pc);

int snn_sdt_counters(struct snn_sdt_rtl *rtl, uint64_t counters[SNN_SDT_COUNTERS]);
int snn_sdt_counters_reset(struct snn_sdt_rtl *rtl);

/* Moves the FIFO's remaining events into the handle's buffer, then copies
 * up to cap buffered events, oldest first, into events and removes them.
 * OUT: *n, how many were copied. */
int snn_sdt_fifo_drain(struct snn_sdt_rtl *rtl, uint32_t *events, size_t cap, size_t *n);

/* Clock cycles simulated since open (bus cycles included). */
uint64_t snn_sdt_cycles(const struct snn_sdt_rtl *rtl);

#ifdef __cplusplus
}
#endif

#endif

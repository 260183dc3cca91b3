/*
 * runtime/rtl.h: sdt images run on the accelerator's RTL model
 * (docs/sdt-accelerator.md, "Host interface" and "Running an image").
 *
 * Takes an sdt image the reader checked (runtime/image.h); opens the
 * harness model (sim-hw/harness.h) whose parameters are the image's, or
 * refuses with the models there are; loads it as the contract says (DMEM
 * zeroed, PMEM, WMEM and QMEM written, the list registers set, the
 * counters cleared); then runs it a step at a time: the step's input
 * events written (dense tensor and input list), START, the machine clocked
 * until DONE or ERROR under a cycle limit, the output FIFO drained, every
 * tensor of the image's OUTPUTS table read back from DMEM and the counters
 * read.  Gives each step's outputs (dense, [c][h][w] order) and the
 * counters, per step and over the run.
 *
 * Errors are values and reports: an ERROR status is SNN_EDEVICE with the
 * step, the descriptor, its op and the error code's name; so is a step
 * that does not end within the cycle limit (never a hang), after which the
 * handle refuses to run further.  No call prints.
 *
 * Memory: a handle owns its buffers (snn_malloc'd) and the harness model;
 * it borrows the image, which must outlive it.
 */
#ifndef SNN_RUNTIME_RTL_H
#define SNN_RUNTIME_RTL_H

#include <stdbool.h>
#include <stdint.h>

#include "abi/sdt.h"
#include "runtime/image.h"
#include "support/diag.h"

struct snn_rtl;

struct snn_rtl_options {
    const char *trace_path; /* an FST trace of the whole run, or NULL */
    /* The cycle limit of one step; 0: snn_rtl_cycle_bound's, from the
     * program and the contract's cycle costs. */
    uint64_t max_cycles;
};

/* Whether this snnc was built with the RTL models (Verilator present). */
bool snn_rtl_available(void);

/* Opens the model matching img's configuration and loads img (borrowed;
 * family sdt, checked).  0 and *out, or SNN_EUNSUPPORTED (no model of that
 * configuration, or snnc built without Verilator; reported with the
 * models there are), SNN_EIO (the trace cannot be written, reported),
 * SNN_EINVAL (not an sdt image), SNN_ENOMEM.  opt may be NULL. */
int snn_rtl_new(const struct snn_image *img, const struct snn_rtl_options *opt,
                struct snn_diag *d, struct snn_rtl **out);
void snn_rtl_free(struct snn_rtl *r);

/* Runs the next step (steps 0 .. T - 1 of the image's input).  0,
 * SNN_EDEVICE (the machine stopped with an error or hit the cycle limit:
 * reported), SNN_EINVAL (all T steps have run, or a previous step failed;
 * reported), SNN_ENOMEM. */
int snn_rtl_step(struct snn_rtl *r, struct snn_diag *d);

/* Steps run so far, and the image's T. */
uint32_t snn_rtl_steps_run(const struct snn_rtl *r);
uint32_t snn_rtl_steps(const struct snn_rtl *r);

/* The image's outputs (its OUTPUTS table, in order: the spiking layers in
 * graph order, then the head when it is not one of them). */
uint32_t snn_rtl_n_outputs(const struct snn_rtl *r);
const struct snn_sdt_image_output *snn_rtl_output_info(const struct snn_rtl *r, uint32_t i);
const char *snn_rtl_output_name(const struct snn_rtl *r, uint32_t i);
/* Output i after the last step: c·h·w values in [c][h][w] order (0/1 for
 * spikes, 0 .. 255 for counts, Q15.16 for q16); valid until the next step.
 * Zeros before the first step. */
const int32_t *snn_rtl_output(const struct snn_rtl *r, uint32_t i);

/* The machine's counters (abi/sdt.h, SNN_SDT_COUNTER_*): summed over the
 * steps run, and of the last step alone. */
void snn_rtl_counters(const struct snn_rtl *r, uint64_t out[SNN_SDT_COUNTERS]);
void snn_rtl_step_counters(const struct snn_rtl *r, uint64_t out[SNN_SDT_COUNTERS]);
/* Events the output FIFO carried over the run (the backend appends none:
 * its outputs are read from DMEM). */
uint64_t snn_rtl_fifo_events(const struct snn_rtl *r);
/* The cycle limit of a step in force. */
uint64_t snn_rtl_cycle_limit(const struct snn_rtl *r);
/* Every clock cycle the model has been given since it was opened: the
 * machine's and the host bus's (loading, input, read-back); what a
 * simulation speed is measured in. */
uint64_t snn_rtl_model_cycles(const struct snn_rtl *r);

/*
 * An upper bound on the cycles one step of the program takes: every
 * descriptor at the contract's cycle costs with its lists full, each event
 * at its most expensive (every bit of a count set, every tap valid), twice
 * over, plus 10,000 cycles of slack.  lists are the 16 registers' regions.
 */
uint64_t snn_rtl_cycle_bound(const uint32_t *prog, uint32_t n_desc, uint32_t lanes,
                             const struct snn_sdt_image_list *lists);

/* Replaces descriptor k (< 2^PMEM_LOG2 / 16) in the loaded PMEM, between
 * steps: fault injection for tests.  An image's program was checked when
 * it was read, so this is the only way an illegal descriptor reaches the
 * machine.  0, or SNN_EINVAL (reported). */
int snn_rtl_write_desc(struct snn_rtl *r, uint32_t k, const uint32_t words[SNN_SDT_DESC_WORDS],
                       struct snn_diag *d);

/* The name of an ERROR_INFO code ("unknown opcode", ...), "unknown error"
 * for any other. */
const char *snn_rtl_error_name(uint32_t code);

#endif

/*
 * runtime/device.h: one API for every place an image runs
 * (docs/device-api.md).
 *
 * A device is opened by name, loaded with an image (checked completely
 * first, runtime/image.h), run for a number of timesteps while its spikes
 * stream out, then asked for what it recorded and counted.  The
 * transports behind it: "emu", the board emulator in this process
 * (runtime/emu.h), which runs spinn images; "rtl", the sdt accelerator's
 * RTL model under Verilator (runtime/rtl.h), which runs sdt images; the
 * USB boards will answer the same calls.
 *
 * Errors are values and reports, as everywhere: a call that cannot be
 * made in the device's state (running before loading) is SNN_EINVAL with
 * a message; a refused image is SNN_EPARSE naming the byte.
 */
#ifndef SNN_RUNTIME_DEVICE_H
#define SNN_RUNTIME_DEVICE_H

#include <stdint.h>

#include "support/diag.h"

struct snn_device;

/* What a device counts over all its runs. */
struct snn_device_counters {
    uint64_t steps;
    uint64_t spikes;          /* neurons that fired */
    uint64_t deliveries;      /* packets handed to cores */
    uint64_t hops;            /* packets carried over links */
    uint64_t default_routed;  /* packets a router passed straight through */
    uint64_t dropped;         /* packets lost: unrouted, dead links, no core, loops */
    uint64_t unknown;         /* packets a core could not place */
    uint64_t synaptic_events; /* synaptic words added into ring buffers */
    uint64_t saturations;     /* ring words clamped on their way into a neuron */
    uint64_t queue_max;       /* the most packets a core received in one step */
    /* The accelerator (rtl; 0 on the other devices): its counters
     * (docs/sdt-accelerator.md, "Counters") over every step run. */
    uint32_t lanes;
    uint64_t cycles;
    uint64_t pe_lane_cycles;     /* busy lane-cycles of the PE array */
    uint64_t pe_cycles;          /* cycles the PE array was issued a word */
    uint64_t neuron_lane_cycles; /* busy lane-cycles of the neuron unit */
    uint64_t sram_reads[5], sram_writes[5]; /* by memory, in MEM_SEL's order: PMEM (not
                                             * counted: 0), WMEM, QMEM, DMEM, EVT */
    uint64_t events_in;          /* events consumed */
    uint64_t spikes_out;         /* events appended */
    uint64_t accumulates;        /* lane additions of weights */
    uint64_t multiplies;         /* requantization multiplies */
};

/* Spikes of population pop in step step, neurons ascending; called in
 * step order, then population order.  Non-zero stops the run.  On the rtl
 * device a population is an output tensor of the layer graph and a neuron
 * its element's index in [c][h][w] order; "spikes" are its nonzero
 * elements (a count's value, a q16 head's: snn_device_read_output). */
typedef int (*snn_device_spikes_fn)(void *ctx, uint32_t step, uint32_t pop,
                                    const uint32_t *neurons, uint32_t n);

/* Opens the device called name ("emu" or "rtl").  0, SNN_EINVAL (no such device,
 * reported: it names the ones there are) or SNN_ENOMEM. */
int snn_device_open(const char *name, struct snn_diag *d, struct snn_device **out);
void snn_device_close(struct snn_device *dev);

/* Checks the image (size bytes, read only during the call) and loads it,
 * replacing what was loaded.  0, SNN_EPARSE (reported, the device keeps
 * what it had), SNN_EUNSUPPORTED (an image of a family this device does
 * not run) or SNN_ENOMEM. */
int snn_device_load(struct snn_device *dev, const void *image, uint64_t size, const char *name,
                    struct snn_diag *d);

/* Runs steps timesteps from where the last run stopped, streaming the
 * spikes of every population to on_spikes (may be NULL).  0, SNN_EINVAL
 * (nothing loaded), or what on_spikes returned. */
int snn_device_run(struct snn_device *dev, uint32_t steps, snn_device_spikes_fn on_spikes,
                   void *ctx, struct snn_diag *d);

/* The loaded image's populations: how many, their names and sizes, and
 * the steps its recording regions hold (0 when nothing is loaded). */
uint32_t snn_device_n_pops(const struct snn_device *dev);
const char *snn_device_pop_name(const struct snn_device *dev, uint32_t pop);
uint32_t snn_device_pop_size(const struct snn_device *dev, uint32_t pop);
uint32_t snn_device_recorded_steps(const struct snn_device *dev);

/* Whether neuron `neuron` of population pop fired in step step, from the
 * device's spike recording: 1 fired, 0 did not.  SNN_EINVAL (reported)
 * when the population records no spikes, the step is not recorded (the
 * recording holds steps 0 .. recorded_steps - 1) or not yet run, or the
 * neuron does not exist. */
int snn_device_read_spike(const struct snn_device *dev, uint32_t pop, uint32_t neuron,
                          uint32_t step, struct snn_diag *d);

/* The membrane voltage of a recorded neuron after step step, in the
 * fixed-point form of docs/numerics.md (Q15.16 mV) into *v.  0, or
 * SNN_EINVAL (reported) as above or when its v is not recorded. */
int snn_device_read_v(const struct snn_device *dev, uint32_t pop, uint32_t neuron, uint32_t step,
                      int32_t *v, struct snn_diag *d);

/* Input: neuron `neuron` of spike-source population pop fires in step
 * `step`, besides its own spikes (as `snnc sim --input` does); call before
 * the run that reaches the step.  0, or SNN_EINVAL (reported): nothing
 * loaded, no such neuron, a population that is no spike source, a step
 * already run; SNN_ENOMEM. */
int snn_device_inject(struct snn_device *dev, uint32_t pop, uint32_t neuron, uint32_t step,
                      struct snn_diag *d);

void snn_device_counters(const struct snn_device *dev, struct snn_device_counters *out);

/* The values of population pop after the last step run, pop_size of them
 * into values ([c][h][w] order: 0/1 spikes, counts, or Q15.16 for q16).
 * The rtl device only.  0, or SNN_EINVAL (reported): another device,
 * nothing run, no such population. */
int snn_device_read_output(const struct snn_device *dev, uint32_t pop, int32_t *values,
                           struct snn_diag *d);

#endif

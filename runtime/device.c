/*
 * runtime/device.c: the device API (runtime/device.h) over its transports:
 * the board emulator ("emu", spinn images) and the sdt accelerator's RTL
 * model ("rtl", sdt images, runtime/rtl.h).
 *
 * An emu device holds the emulator of the image last loaded.  Loading checks
 * the image with the reader first (runtime/image.h), so the emulator only
 * ever sees images whose every byte was checked; a refused image leaves
 * the device as it was.  Recordings are read from the cores' recording
 * regions, where the kernel wrote them (docs/core-image.md): a bit per
 * neuron and step, v of the recorded neurons in neuron order.
 *
 * An rtl device holds a copy of the image last loaded (the caller's bytes
 * are read only during the load), the reader's view of it and the model
 * running it.  Its populations are the image's output tensors; it records
 * nothing (the stream and snn_device_read_output give the outputs).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "abi/core_image.h"
#include "abi/image.h"
#include "firmware/core.h"
#include "runtime/device.h"
#include "runtime/emu.h"
#include "runtime/image.h"
#include "runtime/rtl.h"
#include "support/arena.h"
#include "support/err.h"

struct snn_device {
    bool is_rtl;         /* the "rtl" device */
    struct snn_emu *emu; /* emu: the loaded image's machine, or NULL */
    /* rtl: the loaded image (a copy, its view) and its model, or NULL */
    void *rtl_bytes;
    struct snn_image *rtl_img;
    struct snn_rtl *rtl;
    uint64_t rtl_spikes; /* nonzero outputs streamed */
    uint32_t *rtl_nz;    /* the nonzero elements of one output, for the stream */
};

static void rtl_unload(struct snn_device *dev)
{
    snn_rtl_free(dev->rtl);
    snn_image_free(dev->rtl_img);
    snn_free(dev->rtl_bytes);
    snn_free(dev->rtl_nz);
    dev->rtl = NULL;
    dev->rtl_img = NULL;
    dev->rtl_bytes = NULL;
    dev->rtl_nz = NULL;
    dev->rtl_spikes = 0;
}

int snn_device_open(const char *name, struct snn_diag *d, struct snn_device **out)
{
    *out = NULL;
    bool rtl = !strcmp(name, "rtl");
    if (strcmp(name, "emu") != 0 && !rtl) {
        snn_diag_error(d, NULL,
                       "no device called '%s'; the devices are: emu (the board emulator), rtl "
                       "(the sdt accelerator's RTL model)",
                       name);
        return SNN_EINVAL;
    }
    if (rtl && !snn_rtl_available()) {
        snn_diag_error(d, NULL, "the rtl device is not in this snnc: it was built without "
                                "Verilator (scripts/bootstrap installs it)");
        return SNN_EUNSUPPORTED;
    }
    struct snn_device *dev = snn_calloc(1, sizeof *dev);
    if (!dev)
        return SNN_ENOMEM;
    dev->is_rtl = rtl;
    *out = dev;
    return 0;
}

void snn_device_close(struct snn_device *dev)
{
    if (!dev)
        return;
    snn_emu_free(dev->emu);
    rtl_unload(dev);
    snn_free(dev);
}

/* Loads an sdt image (checked as img, a view of the caller's bytes) on the
 * rtl device: the bytes copied, checked again as the copy, the model
 * opened; the device keeps what it had on failure. */
static int rtl_load(struct snn_device *dev, const void *image, uint64_t size, const char *name,
                    struct snn_diag *d)
{
    if (size > SIZE_MAX)
        return SNN_ENOMEM;
    void *bytes = snn_malloc(size ? (size_t)size : 1);
    if (!bytes)
        return SNN_ENOMEM;
    memcpy(bytes, image, (size_t)size);
    struct snn_image *img = NULL;
    struct snn_rtl *r = NULL;
    uint32_t *nz = NULL, n_out, most = 1;
    int rc = snn_image_open(bytes, size, name, d, &img);
    if (!rc) {
        const struct snn_sdt_image_output *o = snn_image_sdt_outputs(img, &n_out);
        for (uint32_t i = 0; i < n_out; i++)
            if (o[i].c * o[i].h * o[i].w > most)
                most = o[i].c * o[i].h * o[i].w;
        if (!(nz = snn_malloc((size_t)most * sizeof *nz)))
            rc = SNN_ENOMEM;
    }
    if (!rc)
        rc = snn_rtl_new(img, NULL, d, &r);
    if (rc) {
        snn_free(nz);
        snn_image_free(img);
        snn_free(bytes);
        return rc;
    }
    rtl_unload(dev);
    dev->rtl_bytes = bytes;
    dev->rtl_img = img;
    dev->rtl = r;
    dev->rtl_nz = nz;
    return 0;
}

/* Runs steps steps of the loaded sdt image, streaming every output's
 * nonzero elements. */
static int rtl_run(struct snn_device *dev, uint32_t steps, snn_device_spikes_fn on_spikes,
                   void *ctx, struct snn_diag *d)
{
    struct snn_rtl *r = dev->rtl;
    uint32_t done = snn_rtl_steps_run(r), T = snn_rtl_steps(r);
    if (steps > T - done) {
        snn_diag_error(d, NULL,
                       "the image's input holds %u steps and %u have run: %u more cannot run",
                       T, done, steps);
        return SNN_EINVAL;
    }
    for (uint32_t s = 0; s < steps; s++) {
        int rc = snn_rtl_step(r, d);
        if (rc)
            return rc;
        for (uint32_t i = 0; i < snn_rtl_n_outputs(r); i++) {
            const struct snn_sdt_image_output *o = snn_rtl_output_info(r, i);
            const int32_t *v = snn_rtl_output(r, i);
            uint32_t n = 0, size = o->c * o->h * o->w;
            for (uint32_t k = 0; k < size; k++)
                if (v[k])
                    dev->rtl_nz[n++] = k;
            if (o->flags & SNN_SDT_OUT_SPIKING)
                dev->rtl_spikes += n;
            if (on_spikes && (rc = on_spikes(ctx, done + s, i, dev->rtl_nz, n)))
                return rc;
        }
    }
    return 0;
}

int snn_device_load(struct snn_device *dev, const void *image, uint64_t size, const char *name,
                    struct snn_diag *d)
{
    struct snn_image *img = NULL;
    int rc = snn_image_open(image, size, name, d, &img);
    if (rc)
        return rc;
    uint32_t family = snn_image_header(img)->family;
    if (dev->is_rtl) {
        snn_image_free(img);
        if (family != SNN_IMAGE_FAMILY_SDT) {
            snn_diag_error(d, NULL,
                           "%s: a spinn image; the rtl device runs sdt images (build the "
                           "network for an sdt target)",
                           name ? name : "image");
            return SNN_EUNSUPPORTED;
        }
        return rtl_load(dev, image, size, name, d);
    }
    if (family != SNN_IMAGE_FAMILY_SPINN) {
        snn_image_free(img);
        snn_diag_error(d, NULL, "%s: the emulator runs spinn images only (an sdt image runs on "
                                "the rtl device)",
                       name ? name : "image");
        return SNN_EUNSUPPORTED;
    }
    struct snn_emu *e = NULL;
    rc = snn_emu_new(image, size, NULL, d, &e);
    snn_image_free(img);
    if (rc)
        return rc;
    snn_emu_free(dev->emu);
    dev->emu = e;
    return 0;
}

int snn_device_run(struct snn_device *dev, uint32_t steps, snn_device_spikes_fn on_spikes,
                   void *ctx, struct snn_diag *d)
{
    if (dev->rtl)
        return rtl_run(dev, steps, on_spikes, ctx, d);
    if (!dev->emu) {
        snn_diag_error(d, NULL, "the device has no image loaded to run");
        return SNN_EINVAL;
    }
    return snn_emu_run(dev->emu, steps, on_spikes, ctx);
}

uint32_t snn_device_n_pops(const struct snn_device *dev)
{
    if (dev->rtl)
        return snn_rtl_n_outputs(dev->rtl);
    return dev->emu ? snn_emu_n_pops(dev->emu) : 0;
}

const char *snn_device_pop_name(const struct snn_device *dev, uint32_t pop)
{
    if (dev->rtl)
        return snn_rtl_output_name(dev->rtl, pop);
    return dev->emu ? snn_emu_pop_name(dev->emu, pop) : NULL;
}

uint32_t snn_device_pop_size(const struct snn_device *dev, uint32_t pop)
{
    if (dev->rtl) {
        const struct snn_sdt_image_output *o = snn_rtl_output_info(dev->rtl, pop);
        return o ? o->c * o->h * o->w : 0;
    }
    return dev->emu ? snn_emu_pop_size(dev->emu, pop) : 0;
}

uint32_t snn_device_recorded_steps(const struct snn_device *dev)
{
    return dev->emu ? snn_emu_n_steps(dev->emu) : 0;
}

/* The core running neuron `neuron` of pop, after checking the question
 * can be answered: the neuron exists, what is asked (flag) is recorded,
 * the step is recorded and has run. */
static const struct snn_core *recorder(const struct snn_device *dev, uint32_t pop,
                                       uint32_t neuron, uint32_t step, uint32_t flag,
                                       struct snn_diag *d)
{
    const char *what = flag == SNN_CORE_RECORD_V ? "v" : "spikes";
    if (dev->rtl) {
        snn_diag_error(d, NULL, "the rtl device records no %s: take them from the run's "
                                "stream or snn_device_read_output",
                       what);
        return NULL;
    }
    if (!dev->emu) {
        snn_diag_error(d, NULL, "the device has no image loaded");
        return NULL;
    }
    if (pop >= snn_emu_n_pops(dev->emu) || neuron >= snn_emu_pop_size(dev->emu, pop)) {
        snn_diag_error(d, NULL, "no neuron %u in population %u", neuron, pop);
        return NULL;
    }
    if (step >= snn_emu_n_steps(dev->emu) || step >= snn_emu_steps_run(dev->emu)) {
        snn_diag_error(d, NULL,
                       "step %u of '%s' is not recorded: the recording holds steps 0 to %u and "
                       "%u steps have run",
                       step, snn_emu_pop_name(dev->emu, pop), snn_emu_n_steps(dev->emu) - 1,
                       snn_emu_steps_run(dev->emu));
        return NULL;
    }
    uint32_t first, count;
    snn_emu_pop_slices(dev->emu, pop, &first, &count);
    for (uint32_t s = first; s < first + count; s++) {
        const struct snn_core *c = snn_emu_core(dev->emu, s);
        if (neuron < c->h.lo || neuron - c->h.lo >= c->h.n)
            continue;
        uint32_t i = neuron - c->h.lo;
        bool on = (c->h.flags & flag) &&
                  (flag != SNN_CORE_RECORD_V || ((c->h.record_v_mask[i / 32] >> (i % 32)) & 1u));
        if (!on) {
            snn_diag_error(d, NULL, "population '%s' does not record %s%s",
                           snn_emu_pop_name(dev->emu, pop), what,
                           flag == SNN_CORE_RECORD_V ? " of that neuron" : "");
            return NULL;
        }
        return c;
    }
    return NULL; /* the image's slices cover every population: not reached */
}

int snn_device_read_spike(const struct snn_device *dev, uint32_t pop, uint32_t neuron,
                          uint32_t step, struct snn_diag *d)
{
    const struct snn_core *c = recorder(dev, pop, neuron, step, SNN_CORE_RECORD_SPIKES, d);
    if (!c)
        return SNN_EINVAL;
    uint32_t i = neuron - c->h.lo, words = (c->h.n + 31) / 32;
    return (c->spikes_rec[(uint64_t)step * words + i / 32] >> (i % 32)) & 1u;
}

int snn_device_read_v(const struct snn_device *dev, uint32_t pop, uint32_t neuron, uint32_t step,
                      int32_t *v, struct snn_diag *d)
{
    const struct snn_core *c = recorder(dev, pop, neuron, step, SNN_CORE_RECORD_V, d);
    if (!c)
        return SNN_EINVAL;
    uint32_t i = neuron - c->h.lo, rank = 0;
    for (uint32_t q = 0; q < i; q++)
        rank += (c->h.record_v_mask[q / 32] >> (q % 32)) & 1u;
    *v = (int32_t)c->v_rec[(uint64_t)step * c->h.n_record_v + rank];
    return 0;
}

int snn_device_inject(struct snn_device *dev, uint32_t pop, uint32_t neuron, uint32_t step,
                      struct snn_diag *d)
{
    if (dev->rtl) {
        snn_diag_error(d, NULL, "the rtl device takes its input from the image (every step's "
                                "events): nothing can be injected");
        return SNN_EINVAL;
    }
    if (!dev->emu) {
        snn_diag_error(d, NULL, "the device has no image loaded");
        return SNN_EINVAL;
    }
    int rc = snn_emu_inject(dev->emu, pop, neuron, step);
    if (rc == SNN_EINVAL)
        snn_diag_error(d, NULL,
                       "cannot inject a spike of neuron %u of population %u in step %u: no such "
                       "neuron, not a spike source, or a step already run (%u have run)",
                       neuron, pop, step, snn_emu_steps_run(dev->emu));
    return rc;
}

void snn_device_counters(const struct snn_device *dev, struct snn_device_counters *out)
{
    memset(out, 0, sizeof *out);
    if (dev->rtl) {
        uint64_t c[SNN_SDT_COUNTERS];
        snn_rtl_counters(dev->rtl, c);
        out->steps = snn_rtl_steps_run(dev->rtl);
        out->spikes = dev->rtl_spikes;
        out->lanes = snn_image_sdt_config(dev->rtl_img)->lanes;
        out->cycles = c[SNN_SDT_COUNTER_CYCLES];
        out->pe_lane_cycles = c[SNN_SDT_COUNTER_PE_LANES];
        out->pe_cycles = c[SNN_SDT_COUNTER_PE_CYCLES];
        out->neuron_lane_cycles = c[SNN_SDT_COUNTER_NEURON_LANES];
        for (unsigned m = SNN_SDT_MEMSEL_WMEM; m <= SNN_SDT_MEMSEL_EVT; m++) {
            out->sram_reads[m] = c[SNN_SDT_COUNTER_WMEM_READS + 2 * (m - 1)];
            out->sram_writes[m] = c[SNN_SDT_COUNTER_WMEM_WRITES + 2 * (m - 1)];
        }
        out->events_in = c[SNN_SDT_COUNTER_EVENTS_IN];
        out->spikes_out = c[SNN_SDT_COUNTER_SPIKES_OUT];
        out->accumulates = c[SNN_SDT_COUNTER_ACCUMULATES];
        out->multiplies = c[SNN_SDT_COUNTER_MULTIPLIES];
        return;
    }
    if (!dev->emu)
        return;
    struct snn_emu_counters c;
    snn_emu_counters(dev->emu, &c);
    out->steps = c.steps;
    out->spikes = c.spikes;
    out->deliveries = c.deliveries;
    out->hops = c.hops;
    out->default_routed = c.default_routed;
    out->dropped = c.unrouted + c.dead_link + c.no_core + c.loops;
    out->unknown = c.unknown;
    out->synaptic_events = c.synapses;
    out->saturations = c.saturations;
    out->queue_max = c.queue_max;
}

int snn_device_read_output(const struct snn_device *dev, uint32_t pop, int32_t *values,
                           struct snn_diag *d)
{
    if (!dev->rtl) {
        snn_diag_error(d, NULL, "only the rtl device gives output tensors (the emulator "
                                "records spikes and v: snn_device_read_spike)");
        return SNN_EINVAL;
    }
    const struct snn_sdt_image_output *o = snn_rtl_output_info(dev->rtl, pop);
    if (!o) {
        snn_diag_error(d, NULL, "no output %u", pop);
        return SNN_EINVAL;
    }
    if (!snn_rtl_steps_run(dev->rtl)) {
        snn_diag_error(d, NULL, "no step has run");
        return SNN_EINVAL;
    }
    memcpy(values, snn_rtl_output(dev->rtl, pop), (size_t)o->c * o->h * o->w * sizeof *values);
    return 0;
}

/*
 * runtime/device.c: the device API (runtime/device.h) over its one
 * transport so far, the board emulator.
 *
 * A device holds the emulator of the image last loaded.  Loading checks
 * the image with the reader first (runtime/image.h), so the emulator only
 * ever sees images whose every byte was checked; a refused image leaves
 * the device as it was.  Recordings are read from the cores' recording
 * regions, where the kernel wrote them (docs/core-image.md): a bit per
 * neuron and step, v of the recorded neurons in neuron order.
 */
#include <string.h>

#include "abi/core_image.h"
#include "abi/image.h"
#include "firmware/core.h"
#include "runtime/device.h"
#include "runtime/emu.h"
#include "runtime/image.h"
#include "support/arena.h"
#include "support/err.h"

struct snn_device {
    struct snn_emu *emu; /* the loaded image's machine, or NULL */
};

int snn_device_open(const char *name, struct snn_diag *d, struct snn_device **out)
{
    *out = NULL;
    if (strcmp(name, "emu") != 0) {
        snn_diag_error(d, NULL, "no device called '%s'; the devices are: emu (the board emulator)",
                       name);
        return SNN_EINVAL;
    }
    struct snn_device *dev = snn_calloc(1, sizeof *dev);
    if (!dev)
        return SNN_ENOMEM;
    *out = dev;
    return 0;
}

void snn_device_close(struct snn_device *dev)
{
    if (!dev)
        return;
    snn_emu_free(dev->emu);
    snn_free(dev);
}

int snn_device_load(struct snn_device *dev, const void *image, uint64_t size, const char *name,
                    struct snn_diag *d)
{
    struct snn_image *img = NULL;
    int rc = snn_image_open(image, size, name, d, &img);
    if (rc)
        return rc;
    if (snn_image_header(img)->family != SNN_IMAGE_FAMILY_SPINN) {
        snn_image_free(img);
        snn_diag_error(d, NULL, "%s: the emulator runs spinn images only", name ? name : "image");
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
    if (!dev->emu) {
        snn_diag_error(d, NULL, "the device has no image loaded to run");
        return SNN_EINVAL;
    }
    return snn_emu_run(dev->emu, steps, on_spikes, ctx);
}

uint32_t snn_device_n_pops(const struct snn_device *dev)
{
    return dev->emu ? snn_emu_n_pops(dev->emu) : 0;
}

const char *snn_device_pop_name(const struct snn_device *dev, uint32_t pop)
{
    return dev->emu ? snn_emu_pop_name(dev->emu, pop) : NULL;
}

uint32_t snn_device_pop_size(const struct snn_device *dev, uint32_t pop)
{
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

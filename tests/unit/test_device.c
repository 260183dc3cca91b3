/*
 * tests/unit/test_device.c: the device API (runtime/device.c) on the
 * emulator: what streams out and what is read back from the recordings
 * against the reference simulator; its errors.
 *
 * The Poisson example (500 Poisson sources driving 100 conductance-based
 * cells that record spikes and the v of four) is built for the 4-chip
 * board at 32 neurons per core, loaded and run in two pieces: the
 * streamed spikes must be the simulator's; every recorded spike bit and
 * v, read back step by step, must agree with the simulator's spikes and
 * voltages; counters add up.  Spikes injected into the Poisson sources
 * give the simulator's run with the same input.  Errors: an unknown device, running with no
 * image, a damaged image (refused, the loaded one kept), reading a step
 * not run or not recorded, a neuron that does not exist, v that is not
 * recorded.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backends/spinn/spinn.h"
#include "frontend/frontend.h"
#include "ir/sim.h"
#include "mapper/mapper.h"
#include "runtime/device.h"
#include "support/err.h"
#include "target/target.h"
#include "sink.h"

#define STEPS 1500u

struct ref {
    struct snn_spike_list spikes;
    int32_t v[4][STEPS]; /* cells 0..3 */
};

static int ref_spikes(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons, uint32_t n)
{
    struct ref *r = ctx;
    for (uint32_t k = 0; k < n; k++)
        if (snn_spike_list_push(&r->spikes, step, pop, neurons[k]))
            return -1;
    return 0;
}

static int ref_v(void *ctx, uint32_t step, uint32_t pop, uint32_t neuron, double v_mv)
{
    struct ref *r = ctx;
    (void)pop;
    if (neuron < 4 && step < STEPS)
        r->v[neuron][step] = (int32_t)ldexp(v_mv, 16);
    return 0;
}

static int got_spikes(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons, uint32_t n)
{
    return ref_spikes(ctx, step, pop, neurons, n);
}

static void build(struct snn_net **net, char **img, size_t *size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/examples/poisson.yaml", SNN_SOURCE_DIR);
    assert_int_equal(snn_frontend_load(path, NULL, net), 0);
    struct snn_machine *m;
    assert_int_equal(snn_target_load("spinn3", NULL, &m), 0);
    struct snn_map_options o;
    snn_map_options_init(&o);
    o.neurons_per_core = 32;
    o.seed = (*net)->seed;
    struct snn_map *map;
    assert_int_equal(snn_map_new(*net, m, &o, &map), 0);
    assert_int_equal(snn_map_run(map, SNN_PASS_LAYOUT, 0, NULL, NULL), 0);
    FILE *f = open_memstream(img, size);
    assert_int_equal(snn_spinn_image_write(map, f, NULL), 0);
    assert_int_equal(fclose(f), 0);
    snn_map_free(map);
    snn_machine_free(m);
}

static void test_run_and_read(void **state)
{
    (void)state;
    struct snn_net *net;
    char *img;
    size_t size;
    build(&net, &img, &size);
    struct ref *r = calloc(1, sizeof *r);
    struct snn_sim_opts so = {.steps = STEPS, .threads = 1, .ctx = r, .on_spikes = ref_spikes,
                              .all_spikes = true, .on_v = ref_v};
    assert_int_equal(snn_sim_run(net, &so, NULL, NULL), 0);
    snn_spike_list_sort(&r->spikes);

    struct snn_device *dev;
    assert_int_equal(snn_device_open("emu", NULL, &dev), 0);
    assert_int_equal(snn_device_load(dev, img, size, "poisson.snnb", NULL), 0);
    assert_int_equal(snn_device_n_pops(dev), 2);
    assert_string_equal(snn_device_pop_name(dev, 1), "cells");
    assert_int_equal(snn_device_pop_size(dev, 0), 500);
    assert_int_equal(snn_device_recorded_steps(dev), 5000);
    struct snn_spike_list got = {0};
    assert_int_equal(snn_device_run(dev, 700, got_spikes, &got, NULL), 0);
    assert_int_equal(snn_device_run(dev, STEPS - 700, got_spikes, &got, NULL), 0);
    snn_spike_list_sort(&got);
    assert_int_equal(got.n, r->spikes.n);
    assert_true(got.n > 0);
    for (uint64_t k = 0; k < got.n; k++) {
        assert_int_equal(got.step[k], r->spikes.step[k]);
        assert_int_equal(got.pop[k], r->spikes.pop[k]);
        assert_int_equal(got.neuron[k], r->spikes.neuron[k]);
    }
    /* The recordings, read back: every bit of both populations. */
    uint64_t k = 0, fired = 0;
    for (uint32_t t = 0; t < STEPS; t++)
        for (uint32_t p = 0; p < 2; p++)
            for (uint32_t i = 0; i < snn_device_pop_size(dev, p); i++) {
                int want = k < r->spikes.n && r->spikes.step[k] == t && r->spikes.pop[k] == p &&
                           r->spikes.neuron[k] == i;
                k += want;
                int bit = snn_device_read_spike(dev, p, i, t, NULL);
                assert_int_equal(bit, want);
                fired += (uint64_t)bit;
            }
    assert_int_equal(fired, r->spikes.n);
    for (uint32_t i = 0; i < 4; i++)
        for (uint32_t t = 0; t < STEPS; t++) {
            int32_t v;
            assert_int_equal(snn_device_read_v(dev, 1, i, t, &v, NULL), 0);
            if (v != r->v[i][t])
                fail_msg("v of cell %u after step %u: device %d, simulator %d", i, t, v,
                         r->v[i][t]);
        }
    struct snn_device_counters c;
    snn_device_counters(dev, &c);
    assert_int_equal(c.steps, STEPS);
    assert_int_equal(c.spikes, r->spikes.n);
    assert_int_equal(c.dropped, 0);
    assert_int_equal(c.unknown, 0);
    assert_true(c.synaptic_events > 0 && c.deliveries > 0);

    /* Questions it cannot answer. */
    struct sink s;
    sink_open(&s);
    int32_t v;
    assert_int_equal(snn_device_read_spike(dev, 1, 0, STEPS, s.d), SNN_EINVAL);
    assert_non_null(strstr(sink_text(&s), "is not recorded"));
    assert_int_equal(snn_device_read_v(dev, 1, 4, 0, &v, s.d), SNN_EINVAL);
    assert_non_null(strstr(sink_text(&s), "does not record v of that neuron"));
    assert_int_equal(snn_device_read_v(dev, 0, 0, 0, &v, s.d), SNN_EINVAL);
    assert_int_equal(snn_device_read_spike(dev, 1, 100, 0, s.d), SNN_EINVAL);
    assert_non_null(strstr(sink_text(&s), "no neuron 100 in population 1"));
    assert_int_equal(snn_device_read_spike(dev, 2, 0, 0, s.d), SNN_EINVAL);
    /* A damaged image is refused and the loaded one kept. */
    img[size / 2] ^= 0x40;
    assert_int_equal(snn_device_load(dev, img, size, "bad.snnb", s.d), SNN_EPARSE);
    assert_non_null(strstr(sink_text(&s), "bad.snnb"));
    /* the first spike is still read from the loaded image */
    assert_int_equal(snn_device_read_spike(dev, got.pop[0], got.neuron[0], got.step[0], NULL), 1);
    assert_int_equal(snn_device_run(dev, 10, NULL, NULL, NULL), 0);
    sink_close(&s);
    snn_device_close(dev);
    snn_spike_list_free(&got);
    snn_spike_list_free(&r->spikes);
    free(r);
    free(img);
    snn_net_free(net);
}

/* Input spikes: injected into the Poisson sources (before their start at
 * 50 ms and after), the run equals the simulator's with the same input. */
static void test_inject(void **state)
{
    (void)state;
    struct snn_net *net;
    char *img;
    size_t size;
    build(&net, &img, &size);
    struct snn_spike_list in = {0};
    static const uint32_t when[] = {3, 40, 40, 120, 480, 900, 1200, 1499};
    for (uint32_t k = 0; k < 8; k++)
        for (uint32_t i = k; i < 500; i += 37)
            assert_int_equal(snn_spike_list_push(&in, when[k], 0, i), 0);
    struct ref *r = calloc(1, sizeof *r);
    struct snn_sim_opts so = {.steps = STEPS, .threads = 1, .ctx = r, .on_spikes = ref_spikes,
                              .all_spikes = true, .input = &in};
    assert_int_equal(snn_sim_run(net, &so, NULL, NULL), 0);
    snn_spike_list_sort(&r->spikes);
    struct snn_device *dev;
    struct sink s;
    sink_open(&s);
    assert_int_equal(snn_device_open("emu", NULL, &dev), 0);
    assert_int_equal(snn_device_inject(dev, 0, 0, 0, s.d), SNN_EINVAL); /* nothing loaded */
    assert_int_equal(snn_device_load(dev, img, size, "poisson.snnb", NULL), 0);
    /* in reverse order: the device sorts them */
    for (uint64_t k = in.n; k-- > 0;)
        assert_int_equal(snn_device_inject(dev, in.pop[k], in.neuron[k], in.step[k], NULL), 0);
    assert_int_equal(snn_device_inject(dev, 1, 0, 10, s.d), SNN_EINVAL); /* cells: no source */
    assert_non_null(strstr(sink_text(&s), "not a spike source"));
    assert_int_equal(snn_device_inject(dev, 0, 500, 10, s.d), SNN_EINVAL);
    struct snn_spike_list got = {0};
    assert_int_equal(snn_device_run(dev, 100, got_spikes, &got, NULL), 0);
    assert_int_equal(snn_device_inject(dev, 0, 1, 99, s.d), SNN_EINVAL); /* already run */
    assert_int_equal(snn_device_run(dev, STEPS - 100, got_spikes, &got, NULL), 0);
    snn_spike_list_sort(&got);
    assert_int_equal(got.n, r->spikes.n);
    for (uint64_t k = 0; k < got.n; k++) {
        assert_int_equal(got.step[k], r->spikes.step[k]);
        assert_int_equal(got.pop[k], r->spikes.pop[k]);
        assert_int_equal(got.neuron[k], r->spikes.neuron[k]);
    }
    /* the injected spikes are there, and recorded */
    assert_int_equal(snn_device_read_spike(dev, 0, 0, 3, NULL), 1);
    assert_int_equal(snn_device_read_spike(dev, 0, 1, 40, NULL), 1);
    sink_close(&s);
    snn_device_close(dev);
    snn_spike_list_free(&got);
    snn_spike_list_free(&r->spikes);
    snn_spike_list_free(&in);
    free(r);
    free(img);
    snn_net_free(net);
}

static void test_errors(void **state)
{
    (void)state;
    struct sink s;
    sink_open(&s);
    struct snn_device *dev = NULL;
    assert_int_equal(snn_device_open("usb", s.d, &dev), SNN_EINVAL);
    assert_null(dev);
    assert_non_null(strstr(sink_text(&s), "no device called 'usb'; the devices are: emu"));
    assert_int_equal(snn_device_open("emu", s.d, &dev), 0);
    assert_int_equal(snn_device_run(dev, 1, NULL, NULL, s.d), SNN_EINVAL);
    assert_non_null(strstr(sink_text(&s), "no image loaded"));
    assert_int_equal(snn_device_n_pops(dev), 0);
    assert_int_equal(snn_device_load(dev, "SNNB", 4, "tiny.snnb", s.d), SNN_EPARSE);
    int32_t v;
    assert_int_equal(snn_device_read_v(dev, 0, 0, 0, &v, s.d), SNN_EINVAL);
    snn_device_close(dev);
    sink_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_and_read),
        cmocka_unit_test(test_inject),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/fuzz/fuzz_spikes.c: libFuzzer target for the spike CSV reader
 * (frontend/spikes.c), against a fixed network with two spike sources and
 * one neuron population.  Any input must give 0 or an error, never a
 * crash, a hang or a leak; accepted rows must be in range and sorted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "frontend/frontend.h"
#include "ir/sim.h"
#include "support/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct snn_net *the_net(void)
{
    static struct snn_net *net;
    if (!net) {
        net = snn_net_new();
        if (!net || !snn_net_add_pop(net, "stim", SNN_MODEL_SPIKE_SOURCE_ARRAY, 10) ||
            !snn_net_add_pop(net, "noise", SNN_MODEL_SPIKE_SOURCE_POISSON, 3) ||
            !snn_net_add_pop(net, "cells", SNN_MODEL_LIF_CURR_EXP, 5))
            abort();
    }
    return net;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink && !(sink = fopen("/dev/null", "w")))
        abort();
    struct snn_net *net = the_net();
    struct snn_diag *d = snn_diag_new(sink);
    if (!d)
        return 0;
    snn_diag_add_source(d, "fuzz.csv", (const char *)data, size);
    struct snn_spike_list l = {0};
    if (snn_spikes_parse_csv("fuzz.csv", (const char *)data, size, net, d, &l) == 0) {
        for (uint64_t k = 0; k < l.n; k++) {
            if (l.pop[k] > 1 || l.neuron[k] >= net->pops[l.pop[k]].size)
                abort();
            if (k && (l.step[k - 1] > l.step[k] ||
                      (l.step[k - 1] == l.step[k] && l.pop[k - 1] > l.pop[k])))
                abort();
        }
    }
    snn_spike_list_free(&l);
    snn_diag_free(d);
    return 0;
}

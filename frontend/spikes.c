/*
 * frontend/spikes.c: spike trains as CSV, the format `snnc sim` writes and
 * `--input` reads (docs/cli.md, "Spike files"):
 *
 *   step,population,neuron
 *   0,stim,3
 *
 * step is the 0-based timestep, population a population's name, neuron
 * its 0-based index.  Input rows must name spike sources; rows may come
 * in any order and are sorted on reading.  Every problem is reported at
 * file:line:col.
 */
#include "frontend/frontend.h"
#include "support/err.h"

#include <string.h>

static const char HEADER[] = "step,population,neuron";

/* Parses an unsigned decimal integer below 2^32 from [p, end). */
static int parse_u32(const char *p, const char *end, uint32_t *out)
{
    if (p == end || end - p > 10)
        return -1;
    uint64_t v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int snn_spikes_parse_csv(const char *file, const char *text, size_t len,
                         const struct snn_net *net, struct snn_diag *d,
                         struct snn_spike_list *out)
{
    const char *p = text, *end = text + len;
    uint32_t line = 0;
    unsigned errors = 0;
    int err = 0;
    while (p < end && errors < 20) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *lend = eol;
        if (lend > p && lend[-1] == '\r')
            lend--;
        line++;
        struct snn_loc loc = {file, line, 1, (uint32_t)(lend - p)};
        if (line == 1) {
            if ((size_t)(lend - p) != sizeof HEADER - 1 || memcmp(p, HEADER, sizeof HEADER - 1)) {
                snn_diag_error(d, &loc, "a spike file starts with the header '%s'", HEADER);
                return SNN_EPARSE;
            }
        } else if (lend > p) {
            const char *c1 = memchr(p, ',', (size_t)(lend - p));
            const char *c2 = c1 ? memchr(c1 + 1, ',', (size_t)(lend - c1 - 1)) : NULL;
            uint32_t step, neuron;
            if (!c1 || !c2 || memchr(c2 + 1, ',', (size_t)(lend - c2 - 1))) {
                snn_diag_error(d, &loc, "expected three fields: step,population,neuron");
                errors++;
            } else if (parse_u32(p, c1, &step)) {
                loc.len = (uint32_t)(c1 - p);
                snn_diag_error(d, &loc, "step must be a whole number from 0 to 4294967295");
                errors++;
            } else if (parse_u32(c2 + 1, lend, &neuron)) {
                loc.col = (uint32_t)(c2 + 1 - p) + 1;
                loc.len = (uint32_t)(lend - c2 - 1);
                snn_diag_error(d, &loc, "neuron must be a whole number from 0 to 4294967295");
                errors++;
            } else {
                int pop = -1;
                size_t nlen = (size_t)(c2 - c1 - 1);
                for (uint32_t i = 0; i < net->n_pops; i++)
                    if (strlen(net->pops[i].name) == nlen &&
                        memcmp(net->pops[i].name, c1 + 1, nlen) == 0)
                        pop = (int)i;
                loc.col = (uint32_t)(c1 + 1 - p) + 1;
                loc.len = (uint32_t)nlen;
                if (pop < 0) {
                    snn_diag_error(d, &loc, "no population called '%.*s'", (int)(nlen > 64 ? 64 : nlen),
                                   c1 + 1);
                    errors++;
                } else if (!snn_models[net->pops[pop].model].is_source) {
                    snn_diag_error(d, &loc,
                                   "population '%s' is not a spike source; input spikes drive "
                                   "spike_source_array or spike_source_poisson populations",
                                   net->pops[pop].name);
                    errors++;
                } else if (neuron >= net->pops[pop].size) {
                    loc.col = (uint32_t)(c2 + 1 - p) + 1;
                    loc.len = (uint32_t)(lend - c2 - 1);
                    snn_diag_error(d, &loc, "neuron %u is out of range: '%s' has %u neurons",
                                   neuron, net->pops[pop].name, net->pops[pop].size);
                    errors++;
                } else if ((err = snn_spike_list_push(out, step, (uint32_t)pop, neuron))) {
                    snn_diag_error(d, &loc, "out of memory reading spikes");
                    return err;
                }
            }
        }
        p = eol < end ? eol + 1 : end;
    }
    if (line == 0) {
        struct snn_loc loc = {file, 1, 1, 1};
        snn_diag_error(d, &loc, "empty spike file: it needs the header '%s'", HEADER);
        return SNN_EPARSE;
    }
    if (errors)
        return SNN_EPARSE;
    snn_spike_list_sort(out);
    return 0;
}

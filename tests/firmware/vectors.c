/*
 * tests/firmware/vectors.c: test vectors for the kernel's ARM build.
 *
 * usage: vectors OUT.h NETWORK TARGET NEURONS_PER_CORE STEPS [NETWORK ...]
 *
 * For each network: maps it (every pass), runs every core's kernel, built
 * for this host, in lock-step (each step's packets given to every core),
 * and writes to OUT.h, as C arrays, what a few of its cores (one of each
 * model, small images) were given and did: the core's DTCM image and
 * stored SDRAM words, the packets of every step, and what the kernel
 * sent each step, its counters and a checksum of its recording regions
 * at the end.  tests/firmware/arm_vectors.c, cross-compiled, replays the
 * same inputs on the ARM build under qemu-arm and must give the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/core.h"
#include "frontend/frontend.h"
#include "mapper/mapper.h"
#include "target/target.h"

/* The largest SDRAM block a vector may carry: keeps the header small. */
#define MAX_SDRAM_BYTES (256u * 1024u)

static uint32_t fnv(const uint32_t *w, uint64_t n)
{
    uint32_t h = 2166136261u;
    for (uint64_t k = 0; k < n; k++)
        for (unsigned b = 0; b < 32; b += 8) {
            h ^= (w[k] >> b) & 0xFFu;
            h *= 16777619u;
        }
    return h;
}

static void array(FILE *f, const char *name, const uint32_t *w, uint64_t n)
{
    fprintf(f, "static const uint32_t %s[%llu] = {", name, (unsigned long long)(n ? n : 1));
    for (uint64_t k = 0; k < n; k++)
        fprintf(f, "%s0x%08xu,", k % 8 ? " " : "\n    ", w[k]);
    fprintf(f, "%s};\n", n ? "\n" : "0");
}

struct grow {
    uint32_t *w;
    uint64_t n, cap;
};

static void push(struct grow *g, uint32_t v)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 1024;
        g->w = realloc(g->w, g->cap * sizeof *g->w);
        if (!g->w) {
            fprintf(stderr, "vectors: out of memory\n");
            exit(1);
        }
    }
    g->w[g->n++] = v;
}

static int run(FILE *out, unsigned r, const char *network, const char *target, uint32_t npc,
               uint32_t steps, unsigned *n_cores_total, char *list)
{
    struct snn_diag *d = snn_diag_new(stderr);
    struct snn_net *net;
    struct snn_machine *m;
    struct snn_map *map;
    if (snn_frontend_load(network, d, &net) || snn_target_load(target, d, &m))
        return 1;
    struct snn_map_options o;
    snn_map_options_init(&o);
    o.neurons_per_core = npc;
    o.seed = net->seed;
    if (snn_map_new(net, m, &o, &map) || snn_map_run(map, SNN_PASS_LAYOUT, 0, NULL, d))
        return 1;
    uint32_t S = map->n_slices;
    struct snn_core *cores = calloc(S, sizeof *cores);
    uint32_t **dtcm = calloc(S, sizeof *dtcm), **sdram = calloc(S, sizeof *sdram);
    int32_t **ring = calloc(S, sizeof *ring);
    /* the cores the vectors keep: the first of each model with a small block */
    uint32_t keep[8], n_keep = 0, seen = 0;
    for (uint32_t s = 0; s < S; s++) {
        const struct snn_core_image *im = &map->images[s];
        size_t rw = 2 * (size_t)map->slices[s].use.ring_slots * map->slices[s].n + 1;
        dtcm[s] = malloc((size_t)im->dtcm_words * 4);
        sdram[s] = calloc(im->sdram_bytes / 4 + 1, 4);
        ring[s] = malloc(rw * 4);
        memcpy(dtcm[s], im->dtcm, (size_t)im->dtcm_words * 4);
        memcpy(sdram[s], im->sdram, (size_t)im->sdram_words * 4);
        if (snn_core_load(&cores[s], dtcm[s], im->dtcm_words * 4, sdram[s], im->sdram_bytes,
                          ring[s], (uint32_t)rw) != SNN_CORE_OK) {
            fprintf(stderr, "vectors: core %u refused its image\n", s);
            return 1;
        }
        uint32_t model = cores[s].h.model;
        if (!(seen & (1u << model)) && im->sdram_bytes <= MAX_SDRAM_BYTES && n_keep < 8) {
            seen |= 1u << model;
            keep[n_keep++] = s;
            /* the image as loaded, before it runs */
            char name[64];
            snprintf(name, sizeof name, "r%u_c%u_dtcm", r, n_keep - 1);
            array(out, name, im->dtcm, im->dtcm_words);
            snprintf(name, sizeof name, "r%u_c%u_sdram", r, n_keep - 1);
            array(out, name, im->sdram, im->sdram_words);
        }
    }
    /* Lock-step: step t's packets are those sent in step t - 1. */
    struct grow packets = {0}, pfirst = {0}, sent[8] = {{0}}, sfirst[8] = {{0}};
    uint32_t *fired = malloc(256 * sizeof *fired);
    struct grow now = {0}, next = {0};
    for (uint32_t t = 0; t < steps; t++) {
        push(&pfirst, (uint32_t)packets.n);
        for (uint64_t k = 0; k < now.n; k++)
            push(&packets, now.w[k]);
        for (uint32_t s = 0; s < S; s++)
            for (uint64_t k = 0; k < now.n; k++)
                snn_core_packet(&cores[s], now.w[k]);
        next.n = 0;
        for (uint32_t s = 0; s < S; s++) {
            uint32_t nf = snn_core_tick(&cores[s], fired);
            for (uint32_t q = 0; q < nf && !(cores[s].h.flags & SNN_CORE_SILENT); q++)
                push(&next, fired[q]);
            for (uint32_t k = 0; k < n_keep; k++)
                if (keep[k] == s) {
                    push(&sfirst[k], (uint32_t)sent[k].n);
                    for (uint32_t q = 0; q < nf; q++)
                        push(&sent[k], fired[q]);
                }
        }
        struct grow x = now;
        now = next;
        next = x;
    }
    push(&pfirst, (uint32_t)packets.n);
    char name[64];
    snprintf(name, sizeof name, "r%u_packets", r);
    array(out, name, packets.w, packets.n);
    snprintf(name, sizeof name, "r%u_packet_first", r);
    array(out, name, pfirst.w, pfirst.n);
    for (uint32_t k = 0; k < n_keep; k++) {
        const struct snn_core *c = &cores[keep[k]];
        const struct snn_core_image *im = &map->images[keep[k]];
        push(&sfirst[k], (uint32_t)sent[k].n);
        snprintf(name, sizeof name, "r%u_c%u_sent", r, k);
        array(out, name, sent[k].w, sent[k].n);
        snprintf(name, sizeof name, "r%u_c%u_sent_first", r, k);
        array(out, name, sfirst[k].w, sfirst[k].n);
        uint32_t result[10] = {c->c.packets,   c->c.unknown,     c->c.empty, c->c.rows,
                               c->c.synapses,  c->c.spikes,      c->c.steps, c->c.queue_max,
                               c->c.saturations, fnv(sdram[keep[k]], im->sdram_bytes / 4)};
        snprintf(name, sizeof name, "r%u_c%u_result", r, k);
        array(out, name, result, 10);
        fprintf(out,
                "#define R%u_C%u {\"%s\", %u, r%u_c%u_dtcm, %uu, r%u_c%u_sdram, %uu, %uu, "
                "r%u_packets, r%u_packet_first, r%u_c%u_sent, r%u_c%u_sent_first, "
                "r%u_c%u_result, %uu, %uu}\n",
                r, k, network, c->h.model, r, k, im->dtcm_words * 4, r, k, im->sdram_words * 4,
                im->sdram_bytes, r, r, r, k, r, k, r, k,
                2 * c->h.ring_slots * c->h.n + 1, steps);
        char item[32];
        snprintf(item, sizeof item, "%sR%u_C%u", *list ? ", " : "", r, k);
        strncat(list, item, 4095 - strlen(list));
        (*n_cores_total)++;
    }
    for (uint32_t k = 0; k < n_keep; k++) {
        free(sent[k].w);
        free(sfirst[k].w);
    }
    for (uint32_t s = 0; s < S; s++) {
        free(dtcm[s]);
        free(sdram[s]);
        free(ring[s]);
    }
    free(packets.w);
    free(pfirst.w);
    free(now.w);
    free(next.w);
    free(fired);
    free(cores);
    free(dtcm);
    free(sdram);
    free(ring);
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
    snn_diag_free(d);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 6 || (argc - 2) % 4) {
        fprintf(stderr, "usage: vectors OUT.h NETWORK TARGET NEURONS_PER_CORE STEPS [...]\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out)
        return 1;
    fprintf(out, "/* Generated by tests/firmware/vectors.c: do not edit. */\n"
                 "#include <stdint.h>\n\n"
                 "/* One core of one network: its DTCM image, its SDRAM block (stored_bytes\n"
                 " * of it given), every step's packets, and what the host kernel sent and\n"
                 " * counted. */\n"
                 "struct vector {\n"
                 "    const char *network;\n"
                 "    uint32_t model;\n"
                 "    const uint32_t *dtcm;\n"
                 "    uint32_t dtcm_bytes;\n"
                 "    const uint32_t *sdram;\n"
                 "    uint32_t stored_bytes, sdram_bytes;\n"
                 "    const uint32_t *packets, *packet_first, *sent, *sent_first, *result;\n"
                 "    uint32_t ring_words, steps;\n"
                 "};\n\n");
    unsigned runs = 0, cores = 0;
    static char list[4096];
    for (int a = 2; a + 3 < argc; a += 4, runs++)
        if (run(out, runs, argv[a], argv[a + 1], (uint32_t)strtoul(argv[a + 2], NULL, 10),
                (uint32_t)strtoul(argv[a + 3], NULL, 10), &cores, list))
            return 1;
    fprintf(out, "#define VECTOR_LIST %s\n#define VECTOR_CORES %u\n", list, cores);
    return fclose(out) ? 1 : 0;
}

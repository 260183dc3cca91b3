/*
 * mapper/report.c: what a mapping came to, for people and for programs.
 *
 * snn_map_summarize() reduces the map to the figures `snnc map` prints;
 * the text and JSON reports print the same figures (docs/mapping.md
 * documents the JSON).  Times and peak memory are the only fields that
 * change from run to run.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"

void snn_map_summarize(const struct snn_map *map, struct snn_map_summary *s)
{
    const struct snn_machine *m = map->m;
    memset(s, 0, sizeof *s);
    if (!(map->have & SNN_MAP_HAVE(SNN_PASS_PARTITION)))
        return;
    s->n_slices = map->n_slices;
    s->n_edges = map->n_edges;
    for (uint64_t e = 0; e < map->n_edges; e++)
        s->n_synapses += map->edges[e].n_synapses;
    for (uint32_t i = 0; i < map->n_slices; i++) {
        const struct snn_slice_use *u = &map->slices[i].use;
        s->dtcm_total += u->dtcm_bytes;
        s->sdram_total += u->sdram_bytes;
        if (u->dtcm_bytes > s->dtcm_max)
            s->dtcm_max = u->dtcm_bytes;
        if (u->events_per_step > s->events_max)
            s->events_max = u->events_per_step;
    }
    if (map->have & SNN_MAP_HAVE(SNN_PASS_PLACE)) {
        /* Per-chip sums over a grid-sized array: small next to the slices. */
        uint64_t n_chips = (uint64_t)m->width * m->height;
        s->cores_used = map->n_slices; /* one slice per core */
        uint64_t *sdram = snn_calloc(n_chips, sizeof *sdram);
        uint8_t *used = snn_calloc(n_chips, 1);
        if (sdram && used) {
            for (uint32_t i = 0; i < map->n_slices; i++) {
                const struct snn_slice *sl = &map->slices[i];
                uint32_t c = snn__map_chip(map, sl->x, sl->y);
                s->chips_used += !used[c];
                used[c] = 1;
                sdram[c] += sl->use.sdram_bytes;
                if (sdram[c] > s->sdram_chip_max)
                    s->sdram_chip_max = sdram[c];
            }
        }
        snn_free(sdram);
        snn_free(used);
    }
    if (map->have & SNN_MAP_HAVE(SNN_PASS_ROUTE)) {
        s->n_hops = map->n_hops;
        uint64_t n = (uint64_t)m->width * m->height * SNN_MACHINE_LINKS;
        for (uint64_t i = 0; i < n; i++) {
            if (map->link_packets[i] > s->link_max) {
                s->link_max = map->link_packets[i];
                s->link_max_x = (uint32_t)(i / SNN_MACHINE_LINKS % m->width);
                s->link_max_y = (uint32_t)(i / SNN_MACHINE_LINKS / m->width);
                s->link_max_link = (uint32_t)(i % SNN_MACHINE_LINKS);
            }
        }
    }
    if (map->have & SNN_MAP_HAVE(SNN_PASS_TABLES)) {
        uint64_t n_chips = (uint64_t)m->width * m->height;
        for (uint64_t c = 0; c < n_chips; c++) {
            const struct snn_rtable *t = &map->tables[c];
            if (t->n_before)
                s->tables_used++;
            s->entries_before += t->n_before;
            s->entries_after += t->n;
            if (t->n_before > s->entries_before_max)
                s->entries_before_max = t->n_before;
            if (t->n > s->entries_after_max)
                s->entries_after_max = t->n;
        }
    }
    if (map->have & SNN_MAP_HAVE(SNN_PASS_LAYOUT)) {
        for (uint32_t i = 0; i < map->n_slices; i++) {
            const struct snn_core_image *im = &map->images[i];
            s->image_dtcm_bytes += 4ull * im->dtcm_words;
            s->image_sdram_bytes += im->sdram_bytes;
            s->image_sdram_stored_bytes += 4ull * im->sdram_words;
        }
    }
}

static const char *compress_name(enum snn_compress_mode c)
{
    switch (c) {
    case SNN_COMPRESS_FIT: return "fit";
    case SNN_COMPRESS_MIN: return "min";
    case SNN_COMPRESS_NONE: return "none";
    }
    return "?";
}

/* Bytes in the largest binary unit that keeps the number readable. */
static const char *bytes(uint64_t b, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    unsigned u = 0;
    while (u < 4 && v >= 1024) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%" PRIu64 " B", b);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

void snn_map_report_text(const struct snn_map *map, uint64_t peak_bytes, double total_s,
                         FILE *out)
{
    const struct snn_net *net = map->net;
    const struct snn_machine *m = map->m;
    struct snn_map_summary s;
    char a[32], b[32], c[32];
    snn_map_summarize(map, &s);
    fprintf(out, "%s on %s: %u chips, %" PRIu64 " application cores\n", net->name, m->name,
            m->n_usable_chips, m->n_app_cores);
    if (map->have & SNN_MAP_HAVE(SNN_PASS_PARTITION)) {
        fprintf(out, "  %-24s %10s %8s %9s\n", "population", "neurons", "slices", "per core");
        for (uint32_t p = 0; p < net->n_pops; p++) {
            uint32_t lo = map->pop_slice[p], hi = map->pop_slice[p + 1], most = 0;
            for (uint32_t i = lo; i < hi; i++)
                if (map->slices[i].n > most)
                    most = map->slices[i].n;
            fprintf(out, "  %-24s %10u %8u %9u\n", net->pops[p].name, net->pops[p].size, hi - lo,
                    most);
        }
        fprintf(out, "  slices        %u", s.n_slices);
        if (map->have & SNN_MAP_HAVE(SNN_PASS_PLACE))
            fprintf(out, " on %u cores of %u chips", s.cores_used, s.chips_used);
        fprintf(out, "\n  edges         %" PRIu64 " slice pairs, %" PRIu64 " synapses\n", s.n_edges,
                s.n_synapses);
        fprintf(out, "  DTCM          fullest core %s of %s; all cores %s\n", bytes(s.dtcm_max, a, 32),
                bytes(m->dtcm_bytes, b, 32), bytes(s.dtcm_total, c, 32));
        if (map->have & SNN_MAP_HAVE(SNN_PASS_PLACE))
            fprintf(out, "  SDRAM         fullest chip %s of %s; ", bytes(s.sdram_chip_max, a, 32),
                    bytes(m->sdram_bytes, b, 32));
        else
            fprintf(out, "  SDRAM         ");
        fprintf(out, "all chips %s\n", bytes(s.sdram_total, a, 32));
        fprintf(out,
                "  events        busiest core %.1f of %u synaptic events per timestep "
                "(neurons assumed at %g Hz)\n",
                s.events_max, m->max_synaptic_events, map->opt.rate_hz);
    }
    if (map->have & SNN_MAP_HAVE(SNN_PASS_ROUTE)) {
        if (s.link_max > 0)
            fprintf(out, "  busiest link  chip (%u, %u) %s: %.2f packets per timestep\n",
                    s.link_max_x, s.link_max_y, snn_link_name(s.link_max_link), s.link_max);
        else
            fprintf(out, "  busiest link  none used\n");
    }
    if (map->have & SNN_MAP_HAVE(SNN_PASS_TABLES)) {
        fprintf(out, "  router        before compression %" PRIu64 " entries, largest table %u\n",
                s.entries_before, s.entries_before_max);
        if (map->have & SNN_MAP_HAVE(SNN_PASS_COMPRESS))
            fprintf(out,
                    "                after (%s) %" PRIu64 " entries, largest table %u of %u\n",
                    compress_name(map->opt.compress), s.entries_after, s.entries_after_max,
                    snn_machine_router_free(m));
    }
    if (map->have & SNN_MAP_HAVE(SNN_PASS_LAYOUT))
        fprintf(out, "  images        DTCM %s, SDRAM blocks %s (rows and spike times %s)\n",
                bytes(s.image_dtcm_bytes, a, 32), bytes(s.image_sdram_bytes, b, 32),
                bytes(s.image_sdram_stored_bytes, c, 32));
    fprintf(out, "  time         ");
    for (int p = 0; p < SNN_PASS_COUNT; p++)
        if (map->have & SNN_MAP_HAVE(p))
            fprintf(out, " %s %.3f s,", snn_map_pass_name(p), map->pass_seconds[p]);
    if (total_s > 0)
        fprintf(out, " whole run %.3f s", total_s);
    fputc('\n', out);
    if (peak_bytes)
        fprintf(out, "  memory        peak %s\n", bytes(peak_bytes, a, 32));
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* A finite double as JSON (JSON has no NaN or infinity). */
static void json_num(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.6g", v);
    else
        fputs("null", out);
}

void snn_map_report_json(const struct snn_map *map, uint64_t peak_bytes, double total_s,
                         FILE *out)
{
    const struct snn_net *net = map->net;
    const struct snn_machine *m = map->m;
    struct snn_map_summary s;
    snn_map_summarize(map, &s);
    fputs("{\n  \"format\": \"snnc-map-report 1\",\n  \"network\": ", out);
    json_str(out, net->name);
    fputs(",\n  \"target\": {\"name\": ", out);
    json_str(out, m->name);
    fprintf(out,
            ", \"chips\": %u, \"app_cores\": %" PRIu64 ", \"dtcm_bytes\": %u, "
            "\"sdram_bytes\": %" PRIu64 ", \"router_entries\": %u, "
            "\"max_synaptic_events\": %u},\n",
            m->n_usable_chips, m->n_app_cores, m->dtcm_bytes, m->sdram_bytes,
            snn_machine_router_free(m), m->max_synaptic_events);
    fprintf(out,
            "  \"options\": {\"seed\": %" PRIu64 ", \"neurons_per_core\": %u, \"rate_hz\": ",
            map->opt.seed, map->opt.neurons_per_core);
    json_num(out, map->opt.rate_hz);
    fprintf(out, ", \"compress\": \"%s\"},\n", compress_name(map->opt.compress));
    fputs("  \"passes\": [", out);
    for (int p = 0, first = 1; p < SNN_PASS_COUNT; p++) {
        if (!(map->have & SNN_MAP_HAVE(p)))
            continue;
        fprintf(out, "%s{\"name\": \"%s\", \"seconds\": %.6f}", first ? "" : ", ",
                snn_map_pass_name(p), map->pass_seconds[p]);
        first = 0;
    }
    fputs("],\n", out);
    fputs("  \"total_seconds\": ", out);
    json_num(out, total_s);
    fprintf(out, ",\n  \"peak_memory_bytes\": %" PRIu64, peak_bytes);
    if (map->have & SNN_MAP_HAVE(SNN_PASS_PARTITION)) {
        fputs(",\n  \"populations\": [", out);
        for (uint32_t p = 0; p < net->n_pops; p++) {
            uint32_t lo = map->pop_slice[p], hi = map->pop_slice[p + 1], most = 0;
            for (uint32_t i = lo; i < hi; i++)
                if (map->slices[i].n > most)
                    most = map->slices[i].n;
            fputs(p ? ",\n    {\"name\": " : "\n    {\"name\": ", out);
            json_str(out, net->pops[p].name);
            fprintf(out, ", \"neurons\": %u, \"slices\": %u, \"neurons_per_core\": %u}",
                    net->pops[p].size, hi - lo, most);
        }
        fprintf(out,
                "\n  ],\n  \"slices\": %u,\n  \"edges\": %" PRIu64 ",\n  \"synapses\": %" PRIu64
                ",\n  \"dtcm\": {\"max_core_bytes\": %u, \"total_bytes\": %" PRIu64 "},\n",
                s.n_slices, s.n_edges, s.n_synapses, s.dtcm_max, s.dtcm_total);
        fprintf(out, "  \"synaptic_events\": {\"max_core_per_step\": ");
        json_num(out, s.events_max);
        fputs("}", out);
    }
    if (map->have & SNN_MAP_HAVE(SNN_PASS_PLACE))
        fprintf(out,
                ",\n  \"cores_used\": %u,\n  \"chips_used\": %u,\n"
                "  \"sdram\": {\"max_chip_bytes\": %" PRIu64 ", \"total_bytes\": %" PRIu64 "}",
                s.cores_used, s.chips_used, s.sdram_chip_max, s.sdram_total);
    if (map->have & SNN_MAP_HAVE(SNN_PASS_ROUTE)) {
        fprintf(out, ",\n  \"tree_hops\": %" PRIu64 ",\n  \"busiest_link\": ", s.n_hops);
        if (s.link_max > 0) {
            fprintf(out, "{\"x\": %u, \"y\": %u, \"link\": \"%s\", \"packets_per_step\": ",
                    s.link_max_x, s.link_max_y, snn_link_name(s.link_max_link));
            json_num(out, s.link_max);
            fputc('}', out);
        } else {
            fputs("null", out);
        }
    }
    if (map->have & SNN_MAP_HAVE(SNN_PASS_TABLES)) {
        fprintf(out,
                ",\n  \"router\": {\"chips_with_entries\": %u, \"before\": {\"total\": %" PRIu64
                ", \"max\": %u}",
                s.tables_used, s.entries_before, s.entries_before_max);
        if (map->have & SNN_MAP_HAVE(SNN_PASS_COMPRESS))
            fprintf(out, ", \"after\": {\"total\": %" PRIu64 ", \"max\": %u}", s.entries_after,
                    s.entries_after_max);
        fputc('}', out);
    }
    if (map->have & SNN_MAP_HAVE(SNN_PASS_LAYOUT))
        fprintf(out,
                ",\n  \"images\": {\"dtcm_bytes\": %" PRIu64 ", \"sdram_bytes\": %" PRIu64
                ", \"sdram_stored_bytes\": %" PRIu64 "}",
                s.image_dtcm_bytes, s.image_sdram_bytes, s.image_sdram_stored_bytes);
    fputs("\n}\n", out);
}

/*
 * mapper/tables.c: the tables pass, every chip's multicast routing table.
 *
 * Requires route (map->hops, hop_first: a tree per source slice) and keys
 * (slices[s].key, .mask); provides map->tables: width * height tables,
 * chip (x, y) at y * width + x, each with its entries in priority order
 * and n_before = n.  map->tables is only set once every table is built,
 * so a failure leaves the map as it was (the arena keeps what was
 * allocated until the map is freed).
 *
 * Every hop of slice s's tree gives one entry (s's key, s's mask, the
 * hop's route, source s) in the table of the hop's chip, except a hop the
 * router's default routing already handles: the packet arrives over a
 * link (in_link >= 0) and leaves only by the opposite link, delivering
 * to no core (route == SNN_ROUTE_LINK((in_link + 3) % 6)).  A packet that
 * matches no entry and arrived over link L leaves by link (L + 3) mod 6,
 * so such an entry would only repeat what happens without it.
 *
 * Order: within a table, entries by ascending key.  The slices' key
 * blocks are disjoint, so no two entries of a fresh table match the same
 * packet and any order is correct; ascending keys is deterministic and
 * puts the entries that may merge (neighbouring keys) next to each other.
 *
 * A table may hold more entries than the router does
 * (snn_machine_router_free): making tables fit is compress's job, and
 * SNN_COMPRESS_NONE reports it.  Nothing here fails for that.
 */
#include <stdlib.h>
#include <string.h>

#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"

/* Whether default routing sends a packet arriving over in_link where the
 * hop's route does. */
static bool default_routed(const struct snn_hop *h)
{
    return h->in_link >= 0 && h->route == SNN_ROUTE_LINK((unsigned)(h->in_link + 3) % 6u);
}

struct kslice {
    uint32_t key, slice;
};

static int cmp_kslice(const void *pa, const void *pb)
{
    const struct kslice *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->slice > b->slice) - (a->slice < b->slice);
}

int snn_map_tables(struct snn_map *map, struct snn_diag *d)
{
    (void)d;
    const struct snn_machine *m = map->m;
    size_t grid = (size_t)m->width * m->height;
    struct snn_rtable *tables = snn_arena_array(map->arena, grid ? grid : 1, sizeof *tables);
    if (!tables)
        return SNN_ENOMEM;

    /* Count each chip's entries. */
    uint64_t total = 0;
    for (uint64_t i = 0; i < map->n_hops; i++) {
        const struct snn_hop *h = &map->hops[i];
        SNN_ASSERT(h->chip < grid);
        if (!default_routed(h)) {
            tables[h->chip].n++;
            total++;
        }
    }
    struct snn_rentry *all = snn_arena_array(map->arena, total ? total : 1, sizeof *all);
    struct kslice *order = snn_malloc(((size_t)map->n_slices + 1) * sizeof *order);
    if (!all || !order) {
        snn_free(order);
        return SNN_ENOMEM;
    }
    uint64_t at = 0;
    for (size_t c = 0; c < grid; c++) {
        tables[c].e = tables[c].n ? all + at : NULL;
        at += tables[c].n;
        tables[c].n_before = tables[c].n;
        tables[c].n = 0; /* refilled below */
    }

    /* Sources in key order, so every table fills in key order. */
    for (uint32_t s = 0; s < map->n_slices; s++) {
        order[s].key = map->slices[s].key;
        order[s].slice = s;
    }
    qsort(order, map->n_slices, sizeof *order, cmp_kslice);
    for (uint32_t i = 0; i < map->n_slices; i++) {
        uint32_t s = order[i].slice;
        const struct snn_slice *a = &map->slices[s];
        for (uint64_t k = map->hop_first[s]; k < map->hop_first[s + 1]; k++) {
            const struct snn_hop *h = &map->hops[k];
            if (default_routed(h))
                continue;
            struct snn_rtable *t = &tables[h->chip];
            t->e[t->n++] = (struct snn_rentry){.key = a->key & a->mask, .mask = a->mask,
                                               .route = h->route, .source = s};
        }
    }
    snn_free(order);
    for (size_t c = 0; c < grid; c++)
        SNN_ASSERT(tables[c].n == tables[c].n_before);
    map->tables = tables;
    return 0;
}

/* ---- dump ---------------------------------------------------------------- */

void snn__map_dump_tables(const struct snn_map *map, FILE *out)
{
    const struct snn_machine *m = map->m;
    size_t grid = (size_t)m->width * m->height;
    uint64_t total = 0, before = 0;
    uint32_t used = 0, largest = 0;
    for (size_t c = 0; c < grid; c++) {
        const struct snn_rtable *t = &map->tables[c];
        total += t->n;
        before += t->n_before;
        used += t->n ? 1 : 0;
        if (t->n > largest)
            largest = t->n;
    }
    fprintf(out, "tables: %llu entries (%llu before compression) on %u chips, largest %u, "
            "router holds %u\n", (unsigned long long)total, (unsigned long long)before, used,
            largest, snn_machine_router_free(m));
    for (size_t c = 0; c < grid; c++) {
        const struct snn_rtable *t = &map->tables[c];
        if (!t->n)
            continue;
        fprintf(out, "chip (%u,%u): %u entr%s\n", (unsigned)(c % m->width),
                (unsigned)(c / m->width), t->n, t->n == 1 ? "y" : "ies");
        for (uint32_t i = 0; i < t->n; i++) {
            const struct snn_rentry *e = &t->e[i];
            fprintf(out, "0x%08x/0x%08x ->", e->key, e->mask);
            if (!e->route)
                fputs(" drop", out);
            for (unsigned l = 0; l < SNN_MACHINE_LINKS; l++)
                if (e->route & SNN_ROUTE_LINK(l))
                    fprintf(out, " %s", snn_link_name(l));
            for (unsigned c2 = 0; c2 < SNN_ROUTE_MAX_CORES; c2++)
                if (e->route & SNN_ROUTE_CORE(c2))
                    fprintf(out, " c%u", c2);
            fputc('\n', out);
        }
    }
}

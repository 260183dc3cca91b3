/*
 * mapper/map.c: the mapper's driver.
 *
 * Holds the map's lifetime and runs the passes as a straight list, each
 * after checking that the facts it requires are there (mapper/mapper.h
 * lists them), timing it, and verifying the result when asked.
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>
#include <time.h>

#include "ir/quant.h"
#include "mapper/mapper_int.h"
#include "support/arena.h"
#include "support/err.h"

static const char *const pass_names[SNN_PASS_COUNT] = {
    [SNN_PASS_PARTITION] = "partition", [SNN_PASS_PLACE] = "place",
    [SNN_PASS_ROUTE] = "route",         [SNN_PASS_KEYS] = "keys",
    [SNN_PASS_TABLES] = "tables",       [SNN_PASS_COMPRESS] = "compress",
    [SNN_PASS_LAYOUT] = "layout",
};

const char *snn_map_pass_name(enum snn_map_pass p)
{
    return (unsigned)p < SNN_PASS_COUNT ? pass_names[p] : NULL;
}

int snn_map_pass_lookup(const char *name)
{
    for (int p = 0; p < SNN_PASS_COUNT; p++)
        if (strcmp(pass_names[p], name) == 0)
            return p;
    return -1;
}

void snn_map_options_init(struct snn_map_options *o)
{
    memset(o, 0, sizeof *o);
    o->rate_hz = 10.0;
    o->compress = SNN_COMPRESS_FIT;
#ifdef SNN_DEBUG
    o->verify = true;
#endif
}

int snn_map_new(const struct snn_net *net, const struct snn_machine *m,
                const struct snn_map_options *o, struct snn_map **out)
{
    *out = NULL;
    struct snn_map *map = snn_calloc(1, sizeof *map);
    if (!map)
        return SNN_ENOMEM;
    map->arena = snn_arena_new();
    if (!map->arena) {
        snn_free(map);
        return SNN_ENOMEM;
    }
    map->net = net;
    map->m = m;
    if (o)
        map->opt = *o;
    else
        snn_map_options_init(&map->opt);
    *out = map;
    return 0;
}

void snn_map_free(struct snn_map *map)
{
    if (!map)
        return;
    snn_qnet_free(map->q);
    snn_arena_free(map->arena);
    snn_free(map);
}

/* What each pass requires, as SNN_MAP_HAVE bits. */
static const unsigned pass_requires[SNN_PASS_COUNT] = {
    [SNN_PASS_PARTITION] = 0,
    [SNN_PASS_PLACE] = SNN_MAP_HAVE(SNN_PASS_PARTITION),
    [SNN_PASS_ROUTE] = SNN_MAP_HAVE(SNN_PASS_PLACE),
    [SNN_PASS_KEYS] = SNN_MAP_HAVE(SNN_PASS_PLACE),
    [SNN_PASS_TABLES] = SNN_MAP_HAVE(SNN_PASS_ROUTE) | SNN_MAP_HAVE(SNN_PASS_KEYS),
    [SNN_PASS_COMPRESS] = SNN_MAP_HAVE(SNN_PASS_TABLES),
    [SNN_PASS_LAYOUT] = SNN_MAP_HAVE(SNN_PASS_PLACE) | SNN_MAP_HAVE(SNN_PASS_KEYS),
};

static int (*const pass_fn[SNN_PASS_COUNT])(struct snn_map *, struct snn_diag *) = {
    [SNN_PASS_PARTITION] = snn_map_partition, [SNN_PASS_PLACE] = snn_map_place,
    [SNN_PASS_ROUTE] = snn_map_route,         [SNN_PASS_KEYS] = snn_map_keys,
    [SNN_PASS_TABLES] = snn_map_tables,       [SNN_PASS_COMPRESS] = snn_map_compress,
    [SNN_PASS_LAYOUT] = snn_map_layout,
};

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int snn_map_run(struct snn_map *map, enum snn_map_pass last, unsigned dump_after, FILE *dump,
                struct snn_diag *d)
{
    SNN_ASSERT((unsigned)last < SNN_PASS_COUNT);
    for (unsigned p = 0; p <= (unsigned)last; p++) {
        if (map->have & SNN_MAP_HAVE(p))
            continue;
        /* The list above runs every pass after its requirements. */
        SNN_ASSERT((map->have & pass_requires[p]) == pass_requires[p]);
        double t0 = now_seconds();
        int rc = pass_fn[p](map, d);
        map->pass_seconds[p] = now_seconds() - t0;
        if (rc)
            return rc;
        map->have |= SNN_MAP_HAVE(p);
        if (map->opt.verify) {
            rc = snn_map_verify(map, d);
            if (rc) {
                snn_diag_error(d, NULL, "internal error: the mapping is inconsistent after %s",
                               pass_names[p]);
                return rc;
            }
        }
        if (dump && (dump_after & SNN_MAP_HAVE(p)))
            snn_map_dump(map, (enum snn_map_pass)p, dump);
    }
    return 0;
}

void snn_map_dump(const struct snn_map *map, enum snn_map_pass p, FILE *out)
{
    SNN_ASSERT((unsigned)p < SNN_PASS_COUNT);
    fprintf(out, "# after %s\n", pass_names[p]);
    switch (p) {
    case SNN_PASS_PARTITION: snn__map_dump_partition(map, out); break;
    case SNN_PASS_PLACE: snn__map_dump_place(map, out); break;
    case SNN_PASS_ROUTE: snn__map_dump_route(map, out); break;
    case SNN_PASS_KEYS: snn__map_dump_keys(map, out); break;
    case SNN_PASS_TABLES:
    case SNN_PASS_COMPRESS: snn__map_dump_tables(map, out); break;
    case SNN_PASS_LAYOUT: snn__map_dump_layout(map, out); break;
    default: SNN_ASSERT(!"no such pass");
    }
}

int snn_map_verify(const struct snn_map *map, struct snn_diag *d)
{
    int rc = 0;
    /* In pipeline order, stopping at the first failure: later facts rest on
     * earlier ones (a tree is only checkable on a sound placement). */
    if (map->have & SNN_MAP_HAVE(SNN_PASS_PARTITION))
        rc = rc ? rc : snn__map_verify_partition(map, d);
    if (map->have & SNN_MAP_HAVE(SNN_PASS_PLACE))
        rc = rc ? rc : snn__map_verify_place(map, d);
    if (map->have & SNN_MAP_HAVE(SNN_PASS_ROUTE))
        rc = rc ? rc : snn__map_verify_route(map, d);
    if (map->have & SNN_MAP_HAVE(SNN_PASS_KEYS))
        rc = rc ? rc : snn__map_verify_keys(map, d);
    if (map->have & SNN_MAP_HAVE(SNN_PASS_TABLES))
        rc = rc ? rc : snn__map_verify_tables(map, d);
    if (map->have & SNN_MAP_HAVE(SNN_PASS_LAYOUT))
        rc = rc ? rc : snn__map_verify_layout(map, d);
    return rc;
}

/* The place of (x, y) along a Hilbert curve over a side x side square
 * (side a power of two): each level picks the quadrant, numbered along
 * the curve, then reflects the rest so the sub-curves join.  Shared by
 * place and keys. */
uint64_t snn__map_hilbert(uint32_t side, uint32_t x, uint32_t y)
{
    uint64_t d = 0;
    for (uint32_t s = side / 2; s > 0; s /= 2) {
        uint32_t rx = (x & s) ? 1 : 0, ry = (y & s) ? 1 : 0;
        d += (uint64_t)s * s * ((3 * rx) ^ ry);
        x &= s - 1;
        y &= s - 1;
        if (ry == 0) {
            if (rx == 1) {
                x = s - 1 - x;
                y = s - 1 - y;
            }
            uint32_t t = x;
            x = y;
            y = t;
        }
    }
    return d;
}

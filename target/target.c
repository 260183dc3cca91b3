/*
 * target/target.c: the machine model of target/target.h: defaults, the
 * verifier, the per-chip index and the geometry queries.
 *
 * Takes a struct snn_machine filled by hand or by the target parser;
 * gives reports of every broken rule (snn_machine_verify) and, for a
 * machine that verifies, a per-chip table (snn_machine_index) from which
 * every query answers in constant time.  The queries never read the dead
 * lists themselves: a mapper asks them millions of times.
 */
#include "target/target.h"
#include "support/arena.h"
#include "support/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- construction -------------------------------------------------------- */

struct snn_machine *snn_machine_new(void)
{
    struct snn_machine *m = snn_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->arena = snn_arena_new();
    if (!m->arena) {
        snn_free(m);
        return NULL;
    }
    m->family = "spinn";
    m->width = m->height = 1;
    m->layout = SNN_LAYOUT_FULL;
    m->cores = SNN_SPINN_CORES;
    m->monitor_cores = SNN_SPINN_MONITOR_CORES;
    m->clock_mhz = SNN_SPINN_CLOCK_MHZ;
    m->dtcm_bytes = SNN_SPINN_DTCM_BYTES;
    m->itcm_bytes = SNN_SPINN_ITCM_BYTES;
    m->sdram_bytes = SNN_SPINN_SDRAM_BYTES;
    m->router_entries = SNN_SPINN_ROUTER_ENTRIES;
    m->router_reserved = SNN_SPINN_ROUTER_RESERVED;
    m->max_neurons = SNN_SPINN_MAX_NEURONS;
    m->max_synaptic_events = SNN_SPINN_MAX_SYNAPTIC_EVENTS;
    return m;
}

void snn_machine_free(struct snn_machine *m)
{
    if (!m)
        return;
    snn_arena_free(m->arena);
    snn_free(m);
}

/* ---- geometry -------------------------------------------------------------- */

static const int link_dx[SNN_MACHINE_LINKS] = {1, 1, 0, -1, -1, 0};
static const int link_dy[SNN_MACHINE_LINKS] = {0, 1, 1, 0, -1, -1};
static const char *const link_names[SNN_MACHINE_LINKS] = {"E", "NE", "N", "W", "SW", "S"};

void snn_link_delta(unsigned link, int *dx, int *dy)
{
    SNN_ASSERT(link < SNN_MACHINE_LINKS);
    *dx = link_dx[link];
    *dy = link_dy[link];
}

unsigned snn_link_opposite(unsigned link)
{
    SNN_ASSERT(link < SNN_MACHINE_LINKS);
    return (link + 3) % SNN_MACHINE_LINKS;
}

const char *snn_link_name(unsigned link)
{
    return link < SNN_MACHINE_LINKS ? link_names[link] : "?";
}

int snn_link_from_name(const char *name)
{
    for (unsigned i = 0; i < SNN_MACHINE_LINKS; i++)
        if (!strcmp(name, link_names[i]))
            return (int)i;
    return -1;
}

const char *snn_layout_name(enum snn_layout l)
{
    switch (l) {
    case SNN_LAYOUT_FULL: return "full";
    case SNN_LAYOUT_SPINN5_BOARD: return "spinn5_board";
    }
    return "?";
}

/* The SpiNN-5 board: row y holds the chips x in [lo[y], hi[y]], 48 in
 * all, a hexagon in the triangular mesh.  Three boards tile a 12x12
 * torus, which is why multi-board machines are full wrapped grids. */
static const uint8_t spinn5_lo[8] = {0, 0, 0, 0, 1, 2, 3, 4};
static const uint8_t spinn5_hi[8] = {4, 5, 6, 7, 7, 7, 7, 7};

bool snn_machine_chip_exists(const struct snn_machine *m, uint32_t x, uint32_t y)
{
    if (x >= m->width || y >= m->height)
        return false;
    if (m->layout == SNN_LAYOUT_SPINN5_BOARD)
        return y < 8 && x >= spinn5_lo[y] && x <= spinn5_hi[y];
    return true;
}

/* The coordinates over link of (x, y), wrapping on a torus; false when
 * the step leaves a grid without wrap.  Whether the chip exists is not
 * checked. */
static bool step(const struct snn_machine *m, uint32_t x, uint32_t y, unsigned link, uint32_t *nx,
                 uint32_t *ny)
{
    int64_t tx = (int64_t)x + link_dx[link], ty = (int64_t)y + link_dy[link];
    if (m->wrap) {
        tx = (tx + m->width) % m->width;
        ty = (ty + m->height) % m->height;
    } else if (tx < 0 || ty < 0 || tx >= m->width || ty >= m->height) {
        return false;
    }
    *nx = (uint32_t)tx;
    *ny = (uint32_t)ty;
    return true;
}

/* ---- the verifier ----------------------------------------------------------- */

struct vctx {
    const struct snn_machine *m;
    struct snn_diag *d;
    unsigned errors;
};

__attribute__((format(printf, 2, 3))) static void bad(struct vctx *v, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snn_diag_error(v->d, NULL, "target '%s': %s", v->m->name ? v->m->name : "(unnamed)", msg);
    v->errors++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Reports, through say, every key repeated among the n keys (once
 * each).  0 or SNN_ENOMEM. */
static int check_repeats(struct vctx *v, const uint64_t *keys, size_t n,
                         void (*say)(struct vctx *, uint64_t))
{
    if (n < 2)
        return 0;
    uint64_t *k = snn_malloc(n * sizeof *k);
    if (!k)
        return SNN_ENOMEM;
    memcpy(k, keys, n * sizeof *k);
    qsort(k, n, sizeof *k, cmp_u64);
    for (size_t i = 1; i < n; i++)
        if (k[i] == k[i - 1] && (i < 2 || k[i - 1] != k[i - 2]))
            say(v, k[i]);
    snn_free(k);
    return 0;
}

/* Keys: x << 32 | y << 8 | (core or link). */
static uint64_t key_of(uint32_t x, uint32_t y, uint32_t z)
{
    return (uint64_t)x << 32 | (uint64_t)y << 8 | z;
}

static void say_chip(struct vctx *v, uint64_t k)
{
    bad(v, "dead chip (%u, %u) is listed twice", (unsigned)(k >> 32),
        (unsigned)(k >> 8 & 0xFFFFFF));
}

static void say_core(struct vctx *v, uint64_t k)
{
    bad(v, "dead core (%u, %u, %u) is listed twice", (unsigned)(k >> 32),
        (unsigned)(k >> 8 & 0xFFFFFF), (unsigned)(k & 0xFF));
}

static void say_link(struct vctx *v, uint64_t k)
{
    bad(v, "dead link (%u, %u, %s) is listed twice", (unsigned)(k >> 32),
        (unsigned)(k >> 8 & 0xFFFFFF), snn_link_name((unsigned)(k & 0xFF)));
}

/* Whether (x, y) is a chip of the machine; reports it when not. */
static bool check_chip(struct vctx *v, uint32_t x, uint32_t y, const char *what)
{
    const struct snn_machine *m = v->m;
    if (x >= m->width || y >= m->height) {
        bad(v, "%s (%u, %u) is outside the %ux%u grid", what, x, y, m->width, m->height);
        return false;
    }
    if (!snn_machine_chip_exists(m, x, y)) {
        bad(v, "%s (%u, %u) is not a chip of the %s layout", what, x, y,
            snn_layout_name(m->layout));
        return false;
    }
    return true;
}

int snn_machine_verify(const struct snn_machine *m, struct snn_diag *d)
{
    struct vctx v = {m, d, 0};
    if (!m->name || !*m->name)
        bad(&v, "the machine has no name");
    if (!m->family || strcmp(m->family, "spinn") != 0)
        bad(&v, "family '%s' is not supported (only 'spinn')", m->family ? m->family : "");
    bool grid_ok = true;
    if (m->width == 0 || m->height == 0 || m->width > SNN_MACHINE_MAX_SIDE ||
        m->height > SNN_MACHINE_MAX_SIDE) {
        bad(&v, "a %ux%u grid: width and height must be 1 .. %u", m->width, m->height,
            SNN_MACHINE_MAX_SIDE);
        grid_ok = false;
    }
    if (m->layout != SNN_LAYOUT_FULL && m->layout != SNN_LAYOUT_SPINN5_BOARD) {
        bad(&v, "unknown layout %d", (int)m->layout);
        grid_ok = false;
    }
    if (m->layout == SNN_LAYOUT_SPINN5_BOARD && (m->width != 8 || m->height != 8)) {
        bad(&v, "the spinn5_board layout needs an 8x8 grid, not %ux%u", m->width, m->height);
        grid_ok = false;
    }
    if (m->layout == SNN_LAYOUT_SPINN5_BOARD && m->wrap)
        bad(&v, "the spinn5_board layout is one board and cannot wrap; machines of several "
                "boards are full wrapped grids (12x12 per 3 boards)");
    if (m->wrap && grid_ok && (m->width < 2 || m->height < 2))
        bad(&v, "a wrapped %ux%u grid would link chips to themselves; wrap needs at least 2x2",
            m->width, m->height);
    bool cores_ok = m->cores >= 1 && m->cores <= SNN_MACHINE_MAX_CORES;
    if (!cores_ok)
        bad(&v, "%u cores per chip: must be 1 .. %u", m->cores, SNN_MACHINE_MAX_CORES);
    if (cores_ok && m->monitor_cores >= m->cores)
        bad(&v, "%u monitor cores of %u leave no application core: monitor_cores must be "
                "below cores",
            m->monitor_cores, m->cores);
    if (m->clock_mhz == 0)
        bad(&v, "the clock must be above 0 MHz");
    if (m->dtcm_bytes == 0)
        bad(&v, "DTCM must be above 0 bytes");
    if (m->itcm_bytes == 0)
        bad(&v, "ITCM must be above 0 bytes");
    if (m->sdram_bytes == 0)
        bad(&v, "SDRAM must be above 0 bytes");
    if (m->router_entries == 0)
        bad(&v, "the router table must have entries");
    else if (m->router_reserved >= m->router_entries)
        bad(&v, "%u of %u router entries reserved leave none for the mapper",
            m->router_reserved, m->router_entries);
    if (m->max_neurons == 0)
        bad(&v, "max_neurons must be above 0");
    if (m->max_synaptic_events == 0)
        bad(&v, "max_synaptic_events must be above 0");
    if (!grid_ok)
        return SNN_ESEMA;

    /* Dead parts: in the grid, on chips that exist, listed once. */
    size_t most = m->n_dead_chips > m->n_dead_cores ? m->n_dead_chips : m->n_dead_cores;
    most = most > m->n_dead_links ? most : m->n_dead_links;
    uint64_t *keys = most ? snn_malloc(most * sizeof *keys) : NULL;
    if (most && !keys)
        return SNN_ENOMEM;
    int rc = 0;
    size_t n = 0;
    for (size_t i = 0; i < m->n_dead_chips; i++) {
        const struct snn_chip_ref *c = &m->dead_chips[i];
        if (check_chip(&v, c->x, c->y, "dead chip"))
            keys[n++] = key_of(c->x, c->y, 0);
    }
    rc = rc ? rc : check_repeats(&v, keys, n, say_chip);
    n = 0;
    for (size_t i = 0; i < m->n_dead_cores; i++) {
        const struct snn_core_ref *c = &m->dead_cores[i];
        if (!check_chip(&v, c->x, c->y, "dead core on chip"))
            continue;
        if (cores_ok && c->core >= m->cores)
            bad(&v, "dead core (%u, %u, %u): a chip has cores 0 .. %u", c->x, c->y, c->core,
                m->cores - 1);
        else
            keys[n++] = key_of(c->x, c->y, c->core);
    }
    rc = rc ? rc : check_repeats(&v, keys, n, say_core);
    n = 0;
    for (size_t i = 0; i < m->n_dead_links; i++) {
        const struct snn_link_ref *l = &m->dead_links[i];
        if (!check_chip(&v, l->x, l->y, "dead link on chip"))
            continue;
        if (l->link >= SNN_MACHINE_LINKS)
            bad(&v, "dead link (%u, %u, %u): links are 0 .. 5", l->x, l->y, l->link);
        else
            keys[n++] = key_of(l->x, l->y, l->link);
    }
    rc = rc ? rc : check_repeats(&v, keys, n, say_link);
    snn_free(keys);
    if (rc)
        return rc;

    /* Something to map onto: a usable chip with an application core.
     * Counted without the index, which needs a machine that verifies:
     * working[chip] is its working cores, 0 for a dead chip. */
    if (!v.errors) {
        size_t nchips = (size_t)m->width * m->height;
        uint8_t *working = snn_malloc(nchips);
        if (!working)
            return SNN_ENOMEM;
        memset(working, (int)m->cores, nchips);
        for (size_t i = 0; i < m->n_dead_cores; i++)
            working[(size_t)m->dead_cores[i].y * m->width + m->dead_cores[i].x]--;
        for (size_t i = 0; i < m->n_dead_chips; i++)
            working[(size_t)m->dead_chips[i].y * m->width + m->dead_chips[i].x] = 0;
        bool any = false;
        for (uint32_t y = 0; y < m->height && !any; y++)
            for (uint32_t x = 0; x < m->width && !any; x++)
                any = snn_machine_chip_exists(m, x, y) &&
                      working[(size_t)y * m->width + x] > m->monitor_cores;
        snn_free(working);
        if (!any)
            bad(&v, "no chip has a usable application core");
    }
    return v.errors ? SNN_ESEMA : 0;
}

/* ---- the index ------------------------------------------------------------ */

int snn_machine_index(struct snn_machine *m)
{
    size_t n = (size_t)m->width * m->height;
    struct snn_chip_state *ch = snn_arena_array(m->arena, n, sizeof *ch);
    if (!ch)
        return SNN_ENOMEM;
    uint64_t all = m->cores >= 64 ? UINT64_MAX : ((uint64_t)1 << m->cores) - 1;
    for (uint32_t y = 0; y < m->height; y++)
        for (uint32_t x = 0; x < m->width; x++)
            if (snn_machine_chip_exists(m, x, y)) {
                struct snn_chip_state *c = &ch[(size_t)y * m->width + x];
                c->flags = SNN_CHIP_EXISTS | SNN_CHIP_USABLE;
                c->app_cores = all; /* working cores, for now */
                c->links = 0x3F;    /* links not dead, for now */
            }
    for (size_t i = 0; i < m->n_dead_chips; i++) {
        struct snn_chip_state *c = &ch[(size_t)m->dead_chips[i].y * m->width + m->dead_chips[i].x];
        c->flags &= (uint8_t)~SNN_CHIP_USABLE;
    }
    for (size_t i = 0; i < m->n_dead_cores; i++) {
        const struct snn_core_ref *r = &m->dead_cores[i];
        ch[(size_t)r->y * m->width + r->x].app_cores &= ~((uint64_t)1 << r->core);
    }
    for (size_t i = 0; i < m->n_dead_links; i++) {
        const struct snn_link_ref *r = &m->dead_links[i];
        ch[(size_t)r->y * m->width + r->x].links &= (uint8_t) ~(1u << r->link);
        uint32_t nx, ny;
        if (step(m, r->x, r->y, r->link, &nx, &ny))
            ch[(size_t)ny * m->width + nx].links &=
                (uint8_t) ~(1u << snn_link_opposite(r->link));
    }
    uint32_t chips = 0, usable = 0;
    uint64_t cores = 0;
    for (uint32_t y = 0; y < m->height; y++)
        for (uint32_t x = 0; x < m->width; x++) {
            struct snn_chip_state *c = &ch[(size_t)y * m->width + x];
            if (!(c->flags & SNN_CHIP_EXISTS))
                continue;
            chips++;
            if (!(c->flags & SNN_CHIP_USABLE)) {
                c->app_cores = 0;
                c->links = 0;
                continue;
            }
            usable++;
            /* The lowest-numbered working cores are the monitors. */
            for (uint32_t k = 0; k < m->monitor_cores && c->app_cores; k++)
                c->app_cores &= c->app_cores - 1;
            cores += (uint64_t)__builtin_popcountll(c->app_cores);
            uint8_t links = 0;
            for (unsigned l = 0; l < SNN_MACHINE_LINKS; l++) {
                uint32_t nx, ny;
                if ((c->links >> l & 1) && step(m, x, y, l, &nx, &ny) &&
                    snn_machine_chip_exists(m, nx, ny) &&
                    !(nx == x && ny == y)) {
                    links |= (uint8_t)(1u << l);
                }
            }
            c->links = links;
        }
    /* Links towards dead chips: known only once every chip is marked. */
    for (size_t i = 0; i < n; i++)
        for (unsigned l = 0; l < SNN_MACHINE_LINKS; l++) {
            uint32_t x = (uint32_t)(i % m->width), y = (uint32_t)(i / m->width), nx, ny;
            if ((ch[i].links >> l & 1) && step(m, x, y, l, &nx, &ny) &&
                !(ch[(size_t)ny * m->width + nx].flags & SNN_CHIP_USABLE))
                ch[i].links &= (uint8_t) ~(1u << l);
        }
    m->chip = ch;
    m->n_chips = chips;
    m->n_usable_chips = usable;
    m->n_app_cores = cores;
    return 0;
}

/* ---- queries --------------------------------------------------------------- */

static const struct snn_chip_state *state(const struct snn_machine *m, uint32_t x, uint32_t y)
{
    SNN_ASSERT(m->chip);
    if (x >= m->width || y >= m->height)
        return NULL;
    return &m->chip[(size_t)y * m->width + x];
}

bool snn_machine_chip_usable(const struct snn_machine *m, uint32_t x, uint32_t y)
{
    const struct snn_chip_state *c = state(m, x, y);
    return c && (c->flags & SNN_CHIP_USABLE);
}

bool snn_machine_neighbour(const struct snn_machine *m, uint32_t x, uint32_t y, unsigned link,
                           uint32_t *nx, uint32_t *ny)
{
    const struct snn_chip_state *c = state(m, x, y);
    if (!c || link >= SNN_MACHINE_LINKS || !(c->links >> link & 1))
        return false;
    return step(m, x, y, link, nx, ny);
}

uint64_t snn_machine_app_cores(const struct snn_machine *m, uint32_t x, uint32_t y)
{
    const struct snn_chip_state *c = state(m, x, y);
    return c ? c->app_cores : 0;
}

unsigned snn_machine_n_app_cores(const struct snn_machine *m, uint32_t x, uint32_t y)
{
    return (unsigned)__builtin_popcountll(snn_machine_app_cores(m, x, y));
}

uint32_t snn_machine_router_free(const struct snn_machine *m)
{
    return m->router_entries - m->router_reserved;
}

static uint32_t hex_hops(int dx, int dy)
{
    uint32_t ax = (uint32_t)(dx < 0 ? -dx : dx), ay = (uint32_t)(dy < 0 ? -dy : dy);
    if ((dx >= 0) == (dy >= 0))
        return ax > ay ? ax : ay;
    return ax + ay;
}

uint32_t snn_machine_distance(const struct snn_machine *m, uint32_t x0, uint32_t y0, uint32_t x1,
                              uint32_t y1, int *dx, int *dy)
{
    int bx = (int)x1 - (int)x0, by = (int)y1 - (int)y0;
    uint32_t best = hex_hops(bx, by);
    if (m->wrap) {
        int w = (int)m->width, h = (int)m->height;
        int cx0 = bx, cy0 = by;
        /* Candidates in a fixed order, so ties resolve the same way everywhere. */
        for (int i = -1; i <= 1; i++) {
            for (int j = -1; j <= 1; j++) {
                int cx = cx0 + i * w, cy = cy0 + j * h;
                uint32_t d = hex_hops(cx, cy);
                int acx = cx < 0 ? -cx : cx, abx = bx < 0 ? -bx : bx;
                if (d < best || (d == best && (acx < abx || (acx == abx && cx >= 0 && bx < 0)))) {
                    best = d;
                    bx = cx;
                    by = cy;
                }
            }
        }
    }
    if (dx)
        *dx = bx;
    if (dy)
        *dy = by;
    return best;
}

/* ---- comparing machines ------------------------------------------------- */

static bool has_chip(const struct snn_machine *m, struct snn_chip_ref r)
{
    for (size_t k = 0; k < m->n_dead_chips; k++)
        if (m->dead_chips[k].x == r.x && m->dead_chips[k].y == r.y)
            return true;
    return false;
}

static bool has_core(const struct snn_machine *m, struct snn_core_ref r)
{
    for (size_t k = 0; k < m->n_dead_cores; k++)
        if (m->dead_cores[k].x == r.x && m->dead_cores[k].y == r.y &&
            m->dead_cores[k].core == r.core)
            return true;
    return false;
}

static bool has_link(const struct snn_machine *m, struct snn_link_ref r)
{
    for (size_t k = 0; k < m->n_dead_links; k++)
        if (m->dead_links[k].x == r.x && m->dead_links[k].y == r.y &&
            m->dead_links[k].link == r.link)
            return true;
    return false;
}

bool snn_machine_same(const struct snn_machine *a, const struct snn_machine *b, char *why,
                      size_t cap)
{
#define DIFF(...) return snprintf(why, cap, __VA_ARGS__), false
    if (a->width != b->width || a->height != b->height)
        DIFF("%ux%u chips, not %ux%u", a->width, a->height, b->width, b->height);
    if (a->wrap != b->wrap)
        DIFF("%s, not %s", a->wrap ? "a torus" : "no wrap-around",
             b->wrap ? "a torus" : "no wrap-around");
    if (a->layout != b->layout)
        DIFF("the %s layout, not %s", snn_layout_name(a->layout), snn_layout_name(b->layout));
    if (a->cores != b->cores || a->monitor_cores != b->monitor_cores)
        DIFF("%u cores a chip (%u monitors), not %u (%u)", a->cores, a->monitor_cores, b->cores,
             b->monitor_cores);
    if (a->dtcm_bytes != b->dtcm_bytes || a->itcm_bytes != b->itcm_bytes)
        DIFF("%u bytes of DTCM and %u of ITCM a core, not %u and %u", a->dtcm_bytes,
             a->itcm_bytes, b->dtcm_bytes, b->itcm_bytes);
    if (a->sdram_bytes != b->sdram_bytes)
        DIFF("%llu bytes of SDRAM a chip, not %llu", (unsigned long long)a->sdram_bytes,
             (unsigned long long)b->sdram_bytes);
    if (a->router_entries != b->router_entries || a->router_reserved != b->router_reserved)
        DIFF("%u router entries (%u reserved), not %u (%u)", a->router_entries,
             a->router_reserved, b->router_entries, b->router_reserved);
    if (a->max_neurons != b->max_neurons || a->max_synaptic_events != b->max_synaptic_events)
        DIFF("at most %u neurons and %u synaptic events a core, not %u and %u", a->max_neurons,
             a->max_synaptic_events, b->max_neurons, b->max_synaptic_events);
    if (a->clock_mhz != b->clock_mhz)
        DIFF("a %u MHz clock, not %u MHz", a->clock_mhz, b->clock_mhz);
    if (a->n_dead_chips != b->n_dead_chips || a->n_dead_cores != b->n_dead_cores ||
        a->n_dead_links != b->n_dead_links)
        DIFF("%zu dead chips, %zu dead cores and %zu dead links, not %zu, %zu and %zu",
             a->n_dead_chips, a->n_dead_cores, a->n_dead_links, b->n_dead_chips,
             b->n_dead_cores, b->n_dead_links);
    for (size_t k = 0; k < a->n_dead_chips; k++)
        if (!has_chip(b, a->dead_chips[k]))
            DIFF("chip (%u, %u) dead, not working", a->dead_chips[k].x, a->dead_chips[k].y);
    for (size_t k = 0; k < a->n_dead_cores; k++)
        if (!has_core(b, a->dead_cores[k]))
            DIFF("core %u of chip (%u, %u) dead, not working", a->dead_cores[k].core, a->dead_cores[k].x,
                 a->dead_cores[k].y);
    for (size_t k = 0; k < a->n_dead_links; k++)
        if (!has_link(b, a->dead_links[k]))
            DIFF("link %s of chip (%u, %u) dead, not working", snn_link_name(a->dead_links[k].link),
                 a->dead_links[k].x, a->dead_links[k].y);
#undef DIFF
    if (cap)
        why[0] = 0;
    return true;
}

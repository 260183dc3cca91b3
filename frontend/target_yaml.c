/*
 * frontend/target_yaml.c: machine descriptions (targets/NAME.yaml, format in
 * docs/targets.md) into the target model (target/target.h), and the
 * built-in targets embedded at build time.
 *
 * Takes the text of one file; gives a struct snn_machine that passed
 * snn_machine_verify() and has its index built, or an error code with
 * every problem reported at file:line:col, the key named.  Nothing
 * half-built is returned.  The YAML is read with the bounded reader
 * shared with the network parser (frontend/ytree_int.h), so aliases,
 * merge keys, caps and "did you mean" behave the same in both.
 *
 * Every rule of the verifier is checked here first, where the offending
 * key's location is known; the verifier then runs as a backstop.
 *
 * Sizes ("64 KiB") and frequencies ("200 MHz") are parsed here rather
 * than by frontend/units.h: they are whole numbers of bytes and of MHz,
 * which the double-valued quantities of the network format do not fit.
 */
#include "frontend/frontend.h"
#include "frontend/frontend_int.h"
#include "frontend/target_int.h"
#include "frontend/ytree_int.h"
#include "support/arena.h"
#include "support/diag.h"
#include "support/err.h"
#include "abi/sdt.h"
#include "target/sdt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Most SDRAM per chip: far above any SpiNNaker-like chip, low enough that
 * a machine's total (at most 65,536 chips) fits in 64 bits. */
#define MAX_SDRAM_BYTES ((uint64_t)1 << 40)
/* Largest router table: SpiNNaker2's is 2048 entries; 2^20 leaves room
 * for any design while keeping a mapper's per-chip tables small. */
#define MAX_ROUTER_ENTRIES ((uint32_t)1 << 20)
/* Longest target name: it is typed on the command line. */
#define MAX_NAME_LEN 64

struct tctx {
    struct snn__yr y;
    struct snn_machine *m;
    struct snn_sdt_target *t; /* family sdt: what is filled instead of m */
    bool grid_ok;  /* width, height and layout were read without error */
    bool cores_ok; /* cores was read without error */
};

/* ---- values ---------------------------------------------------------------- */

static bool get_u32(struct tctx *c, struct yn *n, const char *key, uint32_t lo, uint32_t hi,
                    uint32_t *out)
{
    uint64_t v;
    if (!snn__yr_uint(&c->y, n, key, lo, hi, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

struct unit {
    const char *name;
    uint64_t scale;
};

static const struct unit size_units[] = {
    {"B", 1}, {"KiB", 1u << 10}, {"MiB", 1u << 20}, {"GiB", 1u << 30}, {"TiB", (uint64_t)1 << 40},
};

/*
 * A whole quantity "NUMBER UNIT" in the given units: a decimal number
 * (digits, optionally a point and up to 9 more), optional spaces, a unit
 * of the table.  The value in the table's base unit must be whole and in
 * [lo, hi]; what names the quantity in messages ("a size"), example is
 * one written right ("64 KiB").
 */
static bool get_whole(struct tctx *c, struct yn *n, const char *key, const struct unit *units,
                      size_t n_units, const char *what, const char *example, uint64_t lo,
                      uint64_t hi, uint64_t *out)
{
    const char *s;
    if (!snn__yr_scalar(&c->y, n, key, &s))
        return false;
    const char *names[8];
    char list[96] = "";
    for (size_t i = 0; i < n_units; i++) {
        names[i] = units[i].name;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 i == 0 ? "" : i + 1 == n_units ? " or " : ", ", units[i].name);
    }
    const char *p = s;
    uint64_t whole = 0, frac = 0, frac_div = 1;
    bool digits = false, range = true;
    for (; *p >= '0' && *p <= '9'; p++, digits = true) {
        if (whole > (UINT64_MAX - 9) / 10)
            range = false;
        else
            whole = whole * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++, digits = true) {
            if (frac_div >= 1000000000) {
                snn__yr_err(&c->y, SNN_ESEMA, n, "'%s': too many decimals in '%.40s'", key, s);
                return false;
            }
            frac = frac * 10 + (uint64_t)(*p - '0');
            frac_div *= 10;
        }
    }
    if (!digits) {
        snn__yr_err(&c->y, SNN_ESEMA, n, "'%s' must be %s like '%s', got '%.40s'", key, what,
                    example, s);
        return false;
    }
    while (*p == ' ')
        p++;
    if (!*p) {
        snn__yr_err(&c->y, SNN_ESEMA, n, "'%s': missing unit, as in '%s' (units: %s)", key,
                    example, list);
        return false;
    }
    size_t u = 0;
    while (u < n_units && strcmp(p, units[u].name) != 0)
        u++;
    if (u == n_units) {
        const char *sug = snn_suggest(p, names, n_units);
        /* "MB" and the like: sizes are binary here, as memories are. */
        static const char *const binary[] = {"KiB", "MiB", "GiB", "TiB"};
        const char *dec = strchr("kKMGT", p[0]);
        if (units == size_units && p[0] && dec && !strcmp(p + 1, "B"))
            sug = binary[dec - "kKMGT" < 2 ? 0 : dec - "kKMGT" - 1];
        if (sug)
            snn__yr_err(&c->y, SNN_ESEMA, n, "'%s': unknown unit '%.20s' (did you mean '%s'?)",
                        key, p, sug);
        else
            snn__yr_err(&c->y, SNN_ESEMA, n, "'%s': unknown unit '%.20s' for %s (units: %s)",
                        key, p, what, list);
        return false;
    }
    uint64_t scale = units[u].scale;
    /* whole * scale + frac * scale / frac_div, exactly. */
    if (!range || (scale && whole > UINT64_MAX / scale) || frac > UINT64_MAX / scale) {
        snn__yr_err(&c->y, SNN_ESEMA, n, "'%s': '%.40s' is too large", key, s);
        return false;
    }
    uint64_t part = frac * scale;
    if (part % frac_div) {
        snn__yr_err(&c->y, SNN_ESEMA, n, "'%s': '%.40s' is not a whole number of %s", key, s,
                    units[0].name);
        return false;
    }
    uint64_t v = whole * scale;
    if (v > UINT64_MAX - part / frac_div) {
        snn__yr_err(&c->y, SNN_ESEMA, n, "'%s': '%.40s' is too large", key, s);
        return false;
    }
    v += part / frac_div;
    if (v < lo || v > hi) {
        snn__yr_err(&c->y, SNN_ESEMA, n, "'%s' must be %llu .. %llu %s, got '%.40s'", key,
                    (unsigned long long)lo, (unsigned long long)hi, units[0].name, s);
        return false;
    }
    *out = v;
    return true;
}

static bool get_bytes(struct tctx *c, struct yn *n, const char *key, uint64_t hi, uint64_t *out)
{
    return get_whole(c, n, key, size_units, 5, "a size", "64 KiB", 1, hi, out);
}

static bool get_bytes32(struct tctx *c, struct yn *n, const char *key, uint32_t *out)
{
    uint64_t v;
    if (!get_bytes(c, n, key, UINT32_MAX, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

static const struct unit freq_units[] = {{"MHz", 1}, {"GHz", 1000}};

static bool get_mhz(struct tctx *c, struct yn *n, const char *key, uint32_t *out)
{
    uint64_t v;
    if (!get_whole(c, n, key, freq_units, 2, "a frequency", "200 MHz", 1, 1000000, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

/* A string copied into the machine's arena. */
static bool get_string(struct tctx *c, struct yn *n, const char *key, const char **out)
{
    const char *s;
    if (!snn__yr_scalar(&c->y, n, key, &s))
        return false;
    if (!(*out = snn_arena_strdup(c->m->arena, s))) {
        snn__yr_nomem(&c->y);
        return false;
    }
    return true;
}

/* Target names are typed on the command line: letters, digits, '_', '-'
 * and '.', starting with a letter or digit. */
static bool is_name(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '_' && ch != '-' && ch != '.')))
            return false;
    }
    return i > 0 && i <= MAX_NAME_LEN;
}

/* Reads node as a mapping named key (null: empty when null_ok) and checks
 * its keys.  false after an error. */
static bool open_map(struct tctx *c, struct yn *node, const char *key, bool null_ok,
                     const char *const *keys, size_t n_keys, struct kvs *m)
{
    if (!snn__yr_map(&c->y, node, key, "key", null_ok, m))
        return false;
    char where[64];
    snprintf(where, sizeof where, "'%s'", key);
    snn__yr_check_keys(&c->y, m, keys, n_keys, where);
    return !c->y.stop;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- sections ---------------------------------------------------------------- */

static void read_chips(struct tctx *c, struct yn *node)
{
    static const char *const keys[] = {"width", "height", "wrap", "layout"};
    static const char *const layouts[] = {"full", "spinn5_board"};
    struct snn_machine *m = c->m;
    struct kvs kv;
    if (!open_map(c, node, "chips", false, keys, N_OF(keys), &kv))
        return;
    unsigned before = c->y.errors;
    struct yn *w = snn__yr_get(&c->y, &kv, "width"), *h = snn__yr_get(&c->y, &kv, "height");
    struct yn *wrap = snn__yr_get(&c->y, &kv, "wrap"), *lay = snn__yr_get(&c->y, &kv, "layout");
    if (!w)
        snn__yr_err(&c->y, SNN_ESEMA, node, "'chips' needs 'width', the chips in x");
    else
        get_u32(c, w, "width", 1, SNN_MACHINE_MAX_SIDE, &m->width);
    if (!h)
        snn__yr_err(&c->y, SNN_ESEMA, node, "'chips' needs 'height', the chips in y");
    else
        get_u32(c, h, "height", 1, SNN_MACHINE_MAX_SIDE, &m->height);
    if (wrap)
        snn__yr_bool(&c->y, wrap, "wrap", &m->wrap);
    if (lay) {
        int l = snn__yr_choice(&c->y, lay, "layout", layouts, N_OF(layouts));
        if (l >= 0)
            m->layout = (enum snn_layout)l;
    }
    if (c->y.errors != before)
        return;
    if (m->layout == SNN_LAYOUT_SPINN5_BOARD && (m->width != 8 || m->height != 8)) {
        snn__yr_err(&c->y, SNN_ESEMA, lay,
                    "layout 'spinn5_board' is one board in an 8x8 grid, not %ux%u", m->width,
                    m->height);
        return;
    }
    if (m->layout == SNN_LAYOUT_SPINN5_BOARD && m->wrap) {
        snn__yr_err(&c->y, SNN_ESEMA, wrap,
                    "'wrap': one spinn5_board cannot wrap; machines of several boards are "
                    "full wrapped grids of 12x12 chips per 3 boards");
        return;
    }
    if (m->wrap && (m->width < 2 || m->height < 2)) {
        snn__yr_err(&c->y, SNN_ESEMA, wrap,
                    "'wrap': a wrapped %ux%u grid would link chips to themselves; wrap needs "
                    "at least 2x2",
                    m->width, m->height);
        return;
    }
    c->grid_ok = true;
}

static void read_chip(struct tctx *c, struct yn *node)
{
    static const char *const keys[] = {"cores",  "monitor_cores",  "clock",
                                       "sdram",  "router_entries", "router_reserved"};
    struct snn_machine *m = c->m;
    struct kvs kv;
    if (!open_map(c, node, "chip", true, keys, N_OF(keys), &kv))
        return;
    struct yn *x, *cores = snn__yr_get(&c->y, &kv, "cores");
    struct yn *mon = snn__yr_get(&c->y, &kv, "monitor_cores");
    c->cores_ok = !cores || get_u32(c, cores, "cores", 1, SNN_MACHINE_MAX_CORES, &m->cores);
    bool mon_ok = !mon || get_u32(c, mon, "monitor_cores", 0, SNN_MACHINE_MAX_CORES,
                                  &m->monitor_cores);
    if (c->cores_ok && mon_ok && m->monitor_cores >= m->cores) {
        snn__yr_err(&c->y, SNN_ESEMA, mon ? mon : cores,
                    "%u monitor cores of %u cores leave no application core: 'monitor_cores' "
                    "must be below 'cores'",
                    m->monitor_cores, m->cores);
        c->cores_ok = false;
    }
    if ((x = snn__yr_get(&c->y, &kv, "clock")))
        get_mhz(c, x, "clock", &m->clock_mhz);
    if ((x = snn__yr_get(&c->y, &kv, "sdram")))
        get_bytes(c, x, "sdram", MAX_SDRAM_BYTES, &m->sdram_bytes);
    struct yn *ent = snn__yr_get(&c->y, &kv, "router_entries");
    struct yn *res = snn__yr_get(&c->y, &kv, "router_reserved");
    bool ent_ok = !ent || get_u32(c, ent, "router_entries", 1, MAX_ROUTER_ENTRIES,
                                  &m->router_entries);
    bool res_ok = !res || get_u32(c, res, "router_reserved", 0, MAX_ROUTER_ENTRIES,
                                  &m->router_reserved);
    if (ent_ok && res_ok && m->router_reserved >= m->router_entries)
        snn__yr_err(&c->y, SNN_ESEMA, res ? res : ent,
                    "%u of %u router entries reserved leave none for the mapper: "
                    "'router_reserved' must be below 'router_entries'",
                    m->router_reserved, m->router_entries);
}

static void read_core(struct tctx *c, struct yn *node)
{
    static const char *const keys[] = {"dtcm", "itcm", "max_neurons", "max_synaptic_events"};
    struct snn_machine *m = c->m;
    struct kvs kv;
    if (!open_map(c, node, "core", true, keys, N_OF(keys), &kv))
        return;
    struct yn *x;
    if ((x = snn__yr_get(&c->y, &kv, "dtcm")))
        get_bytes32(c, x, "dtcm", &m->dtcm_bytes);
    if ((x = snn__yr_get(&c->y, &kv, "itcm")))
        get_bytes32(c, x, "itcm", &m->itcm_bytes);
    if ((x = snn__yr_get(&c->y, &kv, "max_neurons")))
        get_u32(c, x, "max_neurons", 1, UINT32_MAX, &m->max_neurons);
    if ((x = snn__yr_get(&c->y, &kv, "max_synaptic_events")))
        get_u32(c, x, "max_synaptic_events", 1, UINT32_MAX, &m->max_synaptic_events);
}

/* ---- dead parts -------------------------------------------------------------- */

/* One entry of a dead list: [x, y] (chips) or [x, y, z] (cores: z is a
 * core; links: z is a link, a number or a name).  Checks the chip is in
 * the grid and the layout.  false after an error. */
static bool read_ref(struct tctx *c, struct yn *node, const char *key, unsigned n_items,
                     uint32_t *x, uint32_t *y, uint32_t *z)
{
    static const char *const shape[] = {"", "", "[x, y]", "[x, y, core]"};
    const struct snn_machine *m = c->m;
    struct yn *e = snn__yr_resolve(&c->y, node);
    bool links = !strcmp(key, "links");
    if (e->kind != Y_SEQ || e->n != n_items) {
        snn__yr_err(&c->y, SNN_ESEMA, node, "each entry of 'dead.%s' is %s, not %s", key,
                    links ? "[x, y, link]" : shape[n_items],
                    e->kind == Y_SEQ ? "a list of another length" : snn__yr_kind_name(e));
        return false;
    }
    struct yn *xn = snn__yr_resolve(&c->y, e->u.items[0]);
    struct yn *yn = snn__yr_resolve(&c->y, e->u.items[1]);
    if (!get_u32(c, xn, "x", 0, UINT32_MAX, x) || !get_u32(c, yn, "y", 0, UINT32_MAX, y))
        return false;
    if (*x >= m->width || *y >= m->height) {
        snn__yr_err(&c->y, SNN_ESEMA, *x >= m->width ? xn : yn,
                    "'dead.%s': %s %u is outside the %ux%u grid (%s 0 .. %u)", key,
                    *x >= m->width ? "x" : "y", *x >= m->width ? *x : *y, m->width, m->height,
                    *x >= m->width ? "x" : "y", *x >= m->width ? m->width - 1 : m->height - 1);
        return false;
    }
    if (!snn_machine_chip_exists(m, *x, *y)) {
        snn__yr_err(&c->y, SNN_ESEMA, node,
                    "'dead.%s': chip (%u, %u) is not part of the %s layout", key, *x, *y,
                    snn_layout_name(m->layout));
        return false;
    }
    if (n_items < 3)
        return true;
    struct yn *zn = snn__yr_resolve(&c->y, e->u.items[2]);
    if (!links) {
        if (!get_u32(c, zn, "core", 0, UINT32_MAX, z))
            return false;
        if (*z >= m->cores)
            snn__yr_err(&c->y, SNN_ESEMA, zn,
                        "'dead.cores': core %u does not exist: a chip has cores 0 .. %u", *z,
                        m->cores - 1);
        return *z < m->cores;
    }
    if (zn->kind == Y_SCALAR && snn_link_from_name(zn->u.s) >= 0) {
        *z = (uint32_t)snn_link_from_name(zn->u.s);
        return true;
    }
    if (zn->kind == Y_SCALAR && zn->u.s[0] >= '0' && zn->u.s[0] <= '9')
        return get_u32(c, zn, "link", 0, SNN_MACHINE_LINKS - 1, z);
    static const char *const names[] = {"E", "NE", "N", "W", "SW", "S"};
    int l = snn__yr_choice(&c->y, zn, "link", names, N_OF(names));
    *z = (uint32_t)l;
    return l >= 0;
}

/* Reads one dead list (key: chips, cores, links) into the machine.
 * seen marks the parts already listed (a bit per chip, per core or per
 * link), so a repeat is reported where it is written. */
static void read_dead_list(struct tctx *c, struct yn *node, const char *key)
{
    struct snn_machine *m = c->m;
    struct yn *list = snn__yr_resolve(&c->y, node);
    if (snn__yr_is_null(list))
        return;
    if (list->kind != Y_SEQ) {
        snn__yr_err(&c->y, SNN_ESEMA, node, "'dead.%s' must be a list, not %s", key,
                    snn__yr_kind_name(list));
        return;
    }
    bool chips = !strcmp(key, "chips"), cores = !strcmp(key, "cores");
    unsigned per = chips ? 1 : cores ? m->cores : SNN_MACHINE_LINKS;
    size_t bits = (size_t)m->width * m->height * per;
    uint8_t *seen = snn_arena_alloc(c->y.tmp, (bits + 7) / 8);
    size_t n = list->n;
    void *arr = n ? snn_arena_array(m->arena, n, chips   ? sizeof(struct snn_chip_ref)
                                                  : cores ? sizeof(struct snn_core_ref)
                                                          : sizeof(struct snn_link_ref))
                  : NULL;
    if (!seen || (n && !arr)) {
        snn__yr_nomem(&c->y);
        return;
    }
    size_t k = 0;
    for (uint32_t i = 0; i < list->n && !c->y.stop; i++) {
        uint32_t x, y, z = 0;
        if (!read_ref(c, list->u.items[i], key, chips ? 2 : 3, &x, &y, &z))
            continue;
        size_t bit = ((size_t)y * m->width + x) * per + z;
        if (seen[bit / 8] >> (bit % 8) & 1) {
            if (chips)
                snn__yr_err(&c->y, SNN_ESEMA, list->u.items[i],
                            "dead chip (%u, %u) is listed twice", x, y);
            else if (cores)
                snn__yr_err(&c->y, SNN_ESEMA, list->u.items[i],
                            "dead core (%u, %u, %u) is listed twice", x, y, z);
            else
                snn__yr_err(&c->y, SNN_ESEMA, list->u.items[i],
                            "dead link (%u, %u, %s) is listed twice", x, y, snn_link_name(z));
            continue;
        }
        seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
        if (chips)
            ((struct snn_chip_ref *)arr)[k++] = (struct snn_chip_ref){(uint16_t)x, (uint16_t)y};
        else if (cores)
            ((struct snn_core_ref *)arr)[k++] =
                (struct snn_core_ref){(uint16_t)x, (uint16_t)y, (uint8_t)z};
        else
            ((struct snn_link_ref *)arr)[k++] =
                (struct snn_link_ref){(uint16_t)x, (uint16_t)y, (uint8_t)z};
    }
    if (chips) {
        m->dead_chips = arr;
        m->n_dead_chips = k;
    } else if (cores) {
        m->dead_cores = arr;
        m->n_dead_cores = k;
    } else {
        m->dead_links = arr;
        m->n_dead_links = k;
    }
}

static void read_dead(struct tctx *c, struct yn *node)
{
    static const char *const keys[] = {"chips", "cores", "links"};
    struct kvs kv;
    if (!open_map(c, node, "dead", true, keys, N_OF(keys), &kv))
        return;
    for (size_t i = 0; i < N_OF(keys) && !c->y.stop; i++) {
        struct kv *p = snn__yr_find(&kv, keys[i]);
        if (!p)
            continue;
        if (!c->grid_ok || (i == 1 && !c->cores_ok))
            continue; /* the grid or the cores had errors: nothing to check against */
        read_dead_list(c, p->val, keys[i]);
    }
}

/* ---- the sdt family ------------------------------------------------------------ */

/* A memory's size in words: a power of two from 2^4 to 2^19 (abi/sdt.h). */
static void get_words_log2(struct tctx *c, struct yn *n, const char *key, uint32_t *out)
{
    uint64_t v;
    if (!snn__yr_uint(&c->y, n, key, (uint64_t)1 << SNN_SDT_MIN_LOG2,
                      (uint64_t)1 << SNN_SDT_MAX_LOG2, &v))
        return;
    if (v & (v - 1)) {
        snn__yr_err(&c->y, SNN_ESEMA, n, "'%s' must be a power of two (a memory of 2^n words), "
                                         "got %llu", key, (unsigned long long)v);
        return;
    }
    uint32_t l = 0;
    while (((uint64_t)1 << l) < v)
        l++;
    *out = l;
}

static const struct unit energy_units[] = {{"pJ", 1000}, {"fJ", 1}, {"nJ", 1000000}};

/* An energy "NUMBER UNIT" (pJ, fJ or nJ) into picojoules. */
static void get_energy(struct tctx *c, struct yn *n, const char *key, double *out)
{
    const char *s;
    if (!snn__yr_scalar(&c->y, n, key, &s))
        return;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0)) {
        snn__yr_err(&c->y, SNN_ESEMA, n,
                    "'%s' must be a non-negative energy like '0.9 pJ', got '%.40s'", key, s);
        return;
    }
    while (*end == ' ')
        end++;
    for (size_t u = 0; u < N_OF(energy_units); u++)
        if (!strcmp(end, energy_units[u].name)) {
            double pj = v * (double)energy_units[u].scale / 1000.0;
            if (pj > SNN_SDT_MAX_ENERGY_PJ)
                snn__yr_err(&c->y, SNN_ESEMA, n, "'%s': %g pJ is more than 1 nJ", key, pj);
            else
                *out = pj;
            return;
        }
    snn__yr_err(&c->y, SNN_ESEMA, n, "'%s': unknown unit '%.20s' for an energy (units: pJ, fJ, nJ)",
                key, end);
}

static void read_sdt_block(struct tctx *c, struct yn *node)
{
    static const char *const keys[] = {"lanes",      "pmem_words", "wmem_words", "qmem_words",
                                       "dmem_words", "evt_words",  "fifo_events", "clock"};
    struct snn_sdt_target *t = c->t;
    struct kvs m;
    if (!open_map(c, node, "accelerator", false, keys, N_OF(keys), &m))
        return;
    struct yn *x;
    uint64_t v;
    if ((x = snn__yr_get(&c->y, &m, "lanes")) &&
        snn__yr_uint(&c->y, x, "lanes", SNN_SDT_MIN_LANES, SNN_SDT_MAX_LANES, &v)) {
        if (v & (v - 1))
            snn__yr_err(&c->y, SNN_ESEMA, x, "'lanes' must be a power of two (4 .. 128), got %llu",
                        (unsigned long long)v);
        else
            t->lanes = (uint32_t)v;
    }
    if ((x = snn__yr_get(&c->y, &m, "pmem_words")))
        get_words_log2(c, x, "pmem_words", &t->pmem_log2);
    if ((x = snn__yr_get(&c->y, &m, "wmem_words")))
        get_words_log2(c, x, "wmem_words", &t->wmem_log2);
    if ((x = snn__yr_get(&c->y, &m, "qmem_words")))
        get_words_log2(c, x, "qmem_words", &t->qmem_log2);
    if ((x = snn__yr_get(&c->y, &m, "dmem_words")))
        get_words_log2(c, x, "dmem_words", &t->dmem_log2);
    if ((x = snn__yr_get(&c->y, &m, "evt_words")))
        get_words_log2(c, x, "evt_words", &t->evt_log2);
    if ((x = snn__yr_get(&c->y, &m, "fifo_events")) &&
        snn__yr_uint(&c->y, x, "fifo_events", 2, (uint64_t)1 << SNN_SDT_MAX_FIFO_LOG2, &v)) {
        if (v & (v - 1))
            snn__yr_err(&c->y, SNN_ESEMA, x, "'fifo_events' must be a power of two, got %llu",
                        (unsigned long long)v);
        else
            for (t->fifo_log2 = 0; ((uint64_t)1 << t->fifo_log2) < v; t->fifo_log2++)
                ;
    }
    if ((x = snn__yr_get(&c->y, &m, "clock")))
        get_mhz(c, x, "clock", &t->clock_mhz);
}

static void read_energy(struct tctx *c, struct yn *node)
{
    static const char *const keys[] = {"ac", "mac", "sram_read_bit", "sram_write_bit", "source"};
    struct snn_sdt_energy *e = &c->t->energy;
    struct kvs m;
    if (!open_map(c, node, "energy", false, keys, N_OF(keys), &m))
        return;
    struct yn *x;
    if ((x = snn__yr_get(&c->y, &m, "ac")))
        get_energy(c, x, "ac", &e->ac_pj);
    if ((x = snn__yr_get(&c->y, &m, "mac")))
        get_energy(c, x, "mac", &e->mac_pj);
    if ((x = snn__yr_get(&c->y, &m, "sram_read_bit")))
        get_energy(c, x, "sram_read_bit", &e->read_bit_pj);
    if ((x = snn__yr_get(&c->y, &m, "sram_write_bit")))
        get_energy(c, x, "sram_write_bit", &e->write_bit_pj);
    const char *s;
    if ((x = snn__yr_get(&c->y, &m, "source")) && snn__yr_scalar(&c->y, x, "source", &s) &&
        !(e->source = snn_arena_strdup(c->t->arena, s)))
        snn__yr_nomem(&c->y);
}

/* The rest of a document whose family is sdt (kv: its top-level keys). */
static void read_sdt_root(struct tctx *c, struct yn *root, struct kvs *kv)
{
    static const char *const keys[] = {"snn-target", "name",        "family",
                                       "description", "accelerator", "energy"};
    struct snn_sdt_target *t = c->t;
    snn__yr_check_keys(&c->y, kv, keys, N_OF(keys), "an sdt target");
    struct yn *x;
    const char *s;
    if (!(x = snn__yr_get(&c->y, kv, "name"))) {
        snn__yr_err(&c->y, SNN_ESEMA, root, "missing 'name', the target's short name");
    } else if (snn__yr_scalar(&c->y, x, "name", &s)) {
        if (!(t->name = snn_arena_strdup(t->arena, s)))
            snn__yr_nomem(&c->y);
        else if (!is_name(t->name))
            snn__yr_err(&c->y, SNN_ESEMA, x,
                        "'name' must be 1 to %d letters, digits, '_', '-' or '.', starting with "
                        "a letter or digit",
                        MAX_NAME_LEN);
    }
    if ((x = snn__yr_get(&c->y, kv, "description")) &&
        snn__yr_scalar(&c->y, x, "description", &s) &&
        !(t->description = snn_arena_strdup(t->arena, s)))
        snn__yr_nomem(&c->y);
    if (c->y.stop)
        return;
    if (snn__yr_find(kv, "accelerator"))
        read_sdt_block(c, snn__yr_find(kv, "accelerator")->val);
    if (!c->y.stop && snn__yr_find(kv, "energy"))
        read_energy(c, snn__yr_find(kv, "energy")->val);
}

/* ---- the document ---------------------------------------------------------- */

static void read_root(struct tctx *c, struct yn *root)
{
    static const char *const keys[] = {"snn-target", "name", "family", "description",
                                       "chips",      "chip", "core",   "dead"};
    static const char *const families[] = {"spinn", "sdt"};
    struct snn_machine *m = c->m;
    struct yn *n = snn__yr_resolve(&c->y, root);
    if (n->kind != Y_MAP) {
        snn__yr_err(&c->y, SNN_ESEMA, root,
                    "expected a target: a mapping that starts with 'snn-target: 1'");
        return;
    }
    struct kvs kv;
    if (!snn__yr_flatten(&c->y, n, "key", &kv))
        return;
    struct yn *x = snn__yr_get(&c->y, &kv, "snn-target");
    uint64_t version;
    if (!x) {
        snn__yr_err(&c->y, SNN_ESEMA, root, "missing 'snn-target: 1', the version of the format");
        if (snn__yr_find(&kv, "snn"))
            snn__yr_note(&c->y, snn__yr_find(&kv, "snn")->key,
                         "'snn: 1' starts a network description, not a target");
        return;
    }
    if (!(x->kind == Y_SCALAR && !strcmp(x->u.s, "1"))) {
        if (snn__yr_uint(&c->y, x, "snn-target", 0, UINT64_MAX, &version))
            snn__yr_err(&c->y, SNN_ESEMA, x,
                        "unsupported target format version %llu (this snnc reads "
                        "'snn-target: 1')",
                        (unsigned long long)version);
        return;
    }
    if ((x = snn__yr_get(&c->y, &kv, "family")) && x->kind == Y_SCALAR &&
        !strcmp(x->u.s, "sdt")) {
        if (c->t)
            read_sdt_root(c, root, &kv);
        else
            snn__yr_err(&c->y, SNN_ESEMA, x,
                        "an sdt target (an accelerator for layer graphs, docs/sdt-accelerator.md) "
                        "where a spinn machine is needed");
        return;
    }
    snn__yr_check_keys(&c->y, &kv, keys, N_OF(keys), "the target");
    m->family = "spinn";
    if (!(x = snn__yr_get(&c->y, &kv, "name"))) {
        snn__yr_err(&c->y, SNN_ESEMA, root, "missing 'name', the target's short name");
    } else if (get_string(c, x, "name", &m->name) && !is_name(m->name)) {
        snn__yr_err(&c->y, SNN_ESEMA, x,
                    "'name' must be 1 to %d letters, digits, '_', '-' or '.', starting with a "
                    "letter or digit",
                    MAX_NAME_LEN);
    }
    if ((x = snn__yr_get(&c->y, &kv, "family")))
        snn__yr_choice(&c->y, x, "family", families, N_OF(families));
    if ((x = snn__yr_get(&c->y, &kv, "description")))
        get_string(c, x, "description", &m->description);
    if (c->y.stop)
        return;
    struct kv *chips = snn__yr_find(&kv, "chips");
    if (!chips)
        snn__yr_err(&c->y, SNN_ESEMA, root, "missing 'chips', the grid: {width: W, height: H}");
    else
        read_chips(c, chips->val);
    c->cores_ok = true;
    if (!c->y.stop && snn__yr_find(&kv, "chip"))
        read_chip(c, snn__yr_find(&kv, "chip")->val);
    if (!c->y.stop && snn__yr_find(&kv, "core"))
        read_core(c, snn__yr_find(&kv, "core")->val);
    if (!c->y.stop && snn__yr_find(&kv, "dead"))
        read_dead(c, snn__yr_find(&kv, "dead")->val);
}

/* Parses a target of either family: with want_sdt a document of family
 * sdt fills *t, and one of family spinn *m; without, sdt is an error. */
static int parse_any(const char *file, const char *text, size_t len, struct snn_diag *d,
                     bool want_sdt, struct snn_machine **mout, struct snn_sdt_target **tout)
{
    *mout = NULL;
    if (tout)
        *tout = NULL;
    struct tctx c = {0};
    if (snn__yr_init(&c.y, file, text, len, d, "target"))
        return SNN_ENOMEM;
    c.m = snn_machine_new();
    c.t = want_sdt ? snn_sdt_target_new() : NULL;
    if (!c.m || (want_sdt && !c.t)) {
        snn_machine_free(c.m);
        snn_sdt_target_free(c.t);
        snn__yr_fini(&c.y);
        return SNN_ENOMEM;
    }
    struct yn *root = NULL;
    if (!snn__yr_build(&c.y, &root)) {
        if (!root) {
            struct yn at = {.width = 1};
            snn__yr_err(&c.y, SNN_ESEMA, &at,
                        "the file is empty: expected a target starting with 'snn-target: 1'");
        } else {
            read_root(&c, root);
        }
    }
    snn__yr_fini(&c.y);
    int rc = c.y.rc;
    if (!rc && c.y.errors)
        rc = SNN_ESEMA;
    bool sdt = c.t && c.t->name; /* read_sdt_root ran and found a name */
    if (sdt) {
        snn_machine_free(c.m);
        c.m = NULL;
        if (!rc)
            rc = snn_sdt_target_verify(c.t, d);
        if (rc) {
            snn_sdt_target_free(c.t);
            return rc;
        }
        *tout = c.t;
        return 0;
    }
    snn_sdt_target_free(c.t);
    if (!rc)
        rc = snn_machine_verify(c.m, d);
    if (!rc)
        rc = snn_machine_index(c.m);
    if (rc) {
        snn_machine_free(c.m);
        return rc;
    }
    *mout = c.m;
    return 0;
}

int snn_target_parse(const char *file, const char *text, size_t len, struct snn_diag *d,
                     struct snn_machine **out)
{
    return parse_any(file, text, len, d, false, out, NULL);
}

int snn_target_parse_any(const char *file, const char *text, size_t len, struct snn_diag *d,
                         struct snn_machine **m, struct snn_sdt_target **t)
{
    return parse_any(file, text, len, d, true, m, t);
}

/* ---- built-in targets and loading ------------------------------------------ */

const char *snn_target_builtin_name(size_t i)
{
    return i < snn__n_target_builtins ? snn__target_builtins[i].name : NULL;
}

const char *snn_target_builtin_text(const char *name, size_t *len)
{
    for (size_t i = 0; i < snn__n_target_builtins; i++)
        if (!strcmp(name, snn__target_builtins[i].name)) {
            if (len)
                *len = snn__target_builtins[i].len;
            return (const char *)snn__target_builtins[i].text;
        }
    return NULL;
}

/* snn_target_load and snn_target_load_any: want_sdt as in parse_any. */
static int load(const char *name, struct snn_diag *d, bool want_sdt, struct snn_machine **out,
                struct snn_sdt_target **tout)
{
    *out = NULL;
    if (tout)
        *tout = NULL;
    size_t len;
    const char *text = snn_target_builtin_text(name, &len);
    if (text) {
        char file[MAX_NAME_LEN + 32];
        snprintf(file, sizeof file, "targets/%s.yaml", name);
        int rc = snn_diag_add_source(d, file, text, len);
        return rc ? rc : parse_any(file, text, len, d, want_sdt, out, tout);
    }
    /* Not a built-in: a file, when it looks like a path or exists. */
    bool path = strchr(name, '/') || strchr(name, '.') || access(name, F_OK) == 0;
    if (!path) {
        const char *names[64];
        size_t n = 0;
        char list[256] = "";
        for (; n < snn__n_target_builtins && n < 64; n++) {
            names[n] = snn__target_builtins[n].name;
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", n ? ", " : "",
                     names[n]);
        }
        const char *sug = snn_suggest(name, names, n);
        if (sug)
            snn_diag_error(d, NULL,
                           "unknown target '%.64s': not a built-in target nor a file (did you "
                           "mean '%s'?)",
                           name, sug);
        else
            snn_diag_error(d, NULL,
                           "unknown target '%.64s': not a built-in target (%s) nor a file", name,
                           list);
        return SNN_EIO;
    }
    char *buf = NULL;
    int rc = snn__fe_read_file(name, d, &buf, &len);
    if (rc)
        return rc;
    rc = snn_diag_add_source(d, name, buf, len);
    if (!rc)
        rc = parse_any(name, buf, len, d, want_sdt, out, tout);
    snn_free(buf);
    return rc;
}

int snn_target_load(const char *name, struct snn_diag *d, struct snn_machine **out)
{
    return load(name, d, false, out, NULL);
}

int snn_target_load_any(const char *name, struct snn_diag *d, struct snn_machine **m,
                        struct snn_sdt_target **t)
{
    return load(name, d, true, m, t);
}

/*
 * tests/unit/test_target_yaml.c: the target parser (frontend/target_yaml.c)
 * and the built-in targets.
 *
 * Each test parses a target from a string and checks the machine it
 * builds (every key, the defaults), or the exact diagnostics it prints
 * (file:line:col and message) into a memory stream: unknown keys and
 * names with "did you mean", units, ranges, dead parts.  The built-ins
 * are listed, load, verify, have the sizes the issue asks for, and are
 * byte for byte the files under targets/.  Loading by name and by path,
 * and an allocation-failure sweep (run it under ASan for leaks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "support/arena.h"
#include "support/err.h"

/* ---- helpers --------------------------------------------------------- */

struct run {
    int rc;
    struct snn_machine *m;
    char *out; /* everything the sink printed */
};

static struct run parse(const char *text)
{
    struct run r = {0};
    size_t len = 0;
    FILE *f = open_memstream(&r.out, &len);
    assert_non_null(f);
    struct snn_diag *d = snn_diag_new(f);
    assert_non_null(d);
    assert_int_equal(snn_diag_add_source(d, "t.yaml", text, strlen(text)), 0);
    r.rc = snn_target_parse("t.yaml", text, strlen(text), d, &r.m);
    snn_diag_free(d);
    fclose(f);
    if (r.rc)
        assert_null(r.m);
    else
        assert_non_null(r.m);
    return r;
}

static void done(struct run *r)
{
    snn_machine_free(r->m);
    free(r->out);
}

static struct run ok(const char *text)
{
    struct run r = parse(text);
    if (r.rc != 0)
        fail_msg("parse failed (%d):\n%s", r.rc, r.out);
    assert_string_equal(r.out, "");
    return r;
}

static int mismatches;

/* Parses text that must fail with rc, printing want. */
static void bad(const char *text, int rc, const char *want)
{
    struct run r = parse(text);
    if (r.rc != rc || !strstr(r.out, want)) {
        print_error("for:\n%s\nwant rc %d and '%s'\ngot rc %d:\n%s\n", text, rc, want, r.rc,
                    r.out);
        mismatches++;
    }
    done(&r);
}

static int check_mismatches(void **state)
{
    (void)state;
    int n = mismatches;
    mismatches = 0;
    if (n)
        fail_msg("%d mismatches (printed above)", n);
    return 0;
}

#define HEAD "snn-target: 1\nname: t\n"
#define GRID "chips: {width: 8, height: 8}\n"

/* ---- reading ------------------------------------------------------------ */

static void test_every_key(void **state)
{
    (void)state;
    struct run r = ok("snn-target: 1\n"
                      "name: my-board.v2\n"
                      "family: spinn\n"
                      "description: a test board\n"
                      "chips: {width: 8, height: 8, wrap: false, layout: spinn5_board}\n"
                      "chip:\n"
                      "  cores: 20\n"
                      "  monitor_cores: 2\n"
                      "  clock: 0.3 GHz\n"
                      "  sdram: 1.5 GiB\n"
                      "  router_entries: 2048\n"
                      "  router_reserved: 8\n"
                      "core:\n"
                      "  dtcm: 128 KiB\n"
                      "  itcm: 32768 B\n"
                      "  max_neurons: 512\n"
                      "  max_synaptic_events: 9000\n"
                      "dead:\n"
                      "  chips: [[1, 1], [7, 7]]\n"
                      "  cores: [[0, 0, 5], [2, 2, 19]]\n"
                      "  links: [[0, 0, 2], [3, 3, SW], [4, 4, E]]\n");
    const struct snn_machine *m = r.m;
    assert_string_equal(m->name, "my-board.v2");
    assert_string_equal(m->family, "spinn");
    assert_string_equal(m->description, "a test board");
    assert_int_equal(m->width, 8);
    assert_int_equal(m->height, 8);
    assert_false(m->wrap);
    assert_int_equal(m->layout, SNN_LAYOUT_SPINN5_BOARD);
    assert_int_equal(m->cores, 20);
    assert_int_equal(m->monitor_cores, 2);
    assert_int_equal(m->clock_mhz, 300);
    assert_int_equal(m->sdram_bytes, (uint64_t)3 << 29);
    assert_int_equal(m->router_entries, 2048);
    assert_int_equal(m->router_reserved, 8);
    assert_int_equal(m->dtcm_bytes, 131072);
    assert_int_equal(m->itcm_bytes, 32768);
    assert_int_equal(m->max_neurons, 512);
    assert_int_equal(m->max_synaptic_events, 9000);
    assert_int_equal(m->n_dead_chips, 2);
    assert_int_equal(m->dead_chips[1].x, 7);
    assert_int_equal(m->dead_chips[1].y, 7);
    assert_int_equal(m->n_dead_cores, 2);
    assert_int_equal(m->dead_cores[1].x, 2);
    assert_int_equal(m->dead_cores[1].core, 19);
    assert_int_equal(m->n_dead_links, 3);
    assert_int_equal(m->dead_links[0].link, 2);
    assert_int_equal(m->dead_links[1].link, 4);
    assert_int_equal(m->dead_links[2].link, 0);
    /* The index was built. */
    assert_int_equal(m->n_chips, 48);
    assert_int_equal(m->n_usable_chips, 46);
    assert_int_equal(m->n_app_cores, 46 * 18 - 2);
    uint32_t x, y;
    assert_false(snn_machine_neighbour(m, 0, 0, 2, &x, &y));
    assert_false(snn_machine_neighbour(m, 4, 4, 0, &x, &y));
    assert_true(snn_machine_neighbour(m, 4, 4, 2, &x, &y));
    done(&r);
}

static void test_defaults(void **state)
{
    (void)state;
    struct run r = ok(HEAD "chips: {width: 3, height: 2}\n");
    const struct snn_machine *m = r.m;
    assert_string_equal(m->name, "t");
    assert_string_equal(m->family, "spinn");
    assert_null(m->description);
    assert_false(m->wrap);
    assert_int_equal(m->layout, SNN_LAYOUT_FULL);
    assert_int_equal(m->cores, 18);
    assert_int_equal(m->monitor_cores, 1);
    assert_int_equal(m->clock_mhz, 200);
    assert_int_equal(m->sdram_bytes, 128 << 20);
    assert_int_equal(m->router_entries, 1024);
    assert_int_equal(m->router_reserved, 1);
    assert_int_equal(m->dtcm_bytes, 64 << 10);
    assert_int_equal(m->itcm_bytes, 32 << 10);
    assert_int_equal(m->max_neurons, 256);
    assert_int_equal(m->max_synaptic_events, 4000);
    assert_int_equal(m->n_dead_chips + m->n_dead_cores + m->n_dead_links, 0);
    assert_int_equal(m->n_chips, 6);
    done(&r);
    /* Empty sections, merge keys and anchors. */
    r = ok(HEAD "chips: &g {width: 2, height: 2, wrap: true}\nchip:\ncore: {<<: {dtcm: 32 KiB}, "
                "itcm: 16 KiB}\ndead: {chips: [], cores: ~}\n");
    assert_true(r.m->wrap);
    assert_int_equal(r.m->dtcm_bytes, 32 << 10);
    assert_int_equal(r.m->itcm_bytes, 16 << 10);
    assert_int_equal(r.m->cores, 18);
    done(&r);
}

static void test_sizes_and_clock(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t bytes;
    } sizes[] = {
        {"1 B", 1},           {"1024B", 1024},          {"64 KiB", 65536},
        {"0.5 KiB", 512},     {"128 MiB", 128 << 20},   {"2 GiB", (uint64_t)2 << 30},
        {"1 TiB", (uint64_t)1 << 40}, {"0.25 MiB", 1 << 18},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, HEAD GRID "chip: {sdram: %s}\n", sizes[i].text);
        struct run r = ok(text);
        assert_int_equal(r.m->sdram_bytes, sizes[i].bytes);
        done(&r);
    }
    struct run r = ok(HEAD GRID "chip: {clock: 1 GHz}\n");
    assert_int_equal(r.m->clock_mhz, 1000);
    done(&r);
}

/* ---- errors -------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    bad("", SNN_ESEMA, "t.yaml:1:1: error: the file is empty: expected a target starting with "
                       "'snn-target: 1'");
    bad("- 1\n", SNN_ESEMA, "t.yaml:1:1: error: expected a target: a mapping that starts with "
                            "'snn-target: 1'");
    bad("name: t\n" GRID, SNN_ESEMA,
        "t.yaml:1:1: error: missing 'snn-target: 1', the version of the format");
    bad("snn: 1\nname: t\n", SNN_ESEMA,
        "t.yaml:1:1: note: 'snn: 1' starts a network description, not a target");
    bad("snn-target: 2\nname: t\n" GRID, SNN_ESEMA,
        "t.yaml:1:13: error: unsupported target format version 2 (this snnc reads "
        "'snn-target: 1')");
    bad("snn-target: 1\n" GRID, SNN_ESEMA, "t.yaml:1:1: error: missing 'name'");
    bad("snn-target: 1\nname: 'a b'\n" GRID, SNN_ESEMA,
        "t.yaml:2:7: error: 'name' must be 1 to 64");
    bad("snn-target: 1\nname: -x\n" GRID, SNN_ESEMA, "t.yaml:2:7: error: 'name' must be");
    bad(HEAD, SNN_ESEMA, "t.yaml:1:1: error: missing 'chips', the grid");
    bad(HEAD GRID "famliy: spinn\n", SNN_ESEMA,
        "t.yaml:4:1: error: unknown key 'famliy' in the target (did you mean 'family'?)");
    bad(HEAD GRID "family: spin\n", SNN_ESEMA,
        "t.yaml:4:9: error: unknown family 'spin' (did you mean 'spinn'?)");
    bad(HEAD GRID "name: u\n", SNN_ESEMA, "t.yaml:4:1: error: duplicate key 'name'");
    bad(HEAD "chips: {width: 8}\n", SNN_ESEMA, "t.yaml:3:8: error: 'chips' needs 'height'");
    bad(HEAD "chips: {height: 8}\n", SNN_ESEMA, "t.yaml:3:8: error: 'chips' needs 'width'");
    bad(HEAD "chips: {width: 0, height: 8}\n", SNN_ESEMA,
        "t.yaml:3:16: error: 'width' must be 1 .. 256, got '0'");
    bad(HEAD "chips: {width: 8, height: 257}\n", SNN_ESEMA,
        "t.yaml:3:27: error: 'height' must be 1 .. 256, got '257'");
    bad(HEAD "chips: {width: 8, height: 8, wrap: yes}\n", SNN_ESEMA,
        "t.yaml:3:36: error: 'wrap' must be true or false, got 'yes'");
    bad(HEAD "chips: {width: 8, height: 8, wdith: 8}\n", SNN_ESEMA,
        "t.yaml:3:30: error: unknown key 'wdith' in 'chips' (did you mean 'width'?)");
    bad(HEAD "chips: {width: 8, height: 8, layout: spinn5}\n", SNN_ESEMA,
        "t.yaml:3:38: error: unknown layout 'spinn5' (expected one of 'full', 'spinn5_board')");
    bad(HEAD "chips: {width: 8, height: 8, layout: spinn5_bord}\n", SNN_ESEMA,
        "t.yaml:3:38: error: unknown layout 'spinn5_bord' (did you mean 'spinn5_board'?)");
    bad(HEAD "chips: {width: 12, height: 8, layout: spinn5_board}\n", SNN_ESEMA,
        "t.yaml:3:39: error: layout 'spinn5_board' is one board in an 8x8 grid, not 12x8");
    bad(HEAD "chips: {width: 8, height: 8, wrap: true, layout: spinn5_board}\n", SNN_ESEMA,
        "t.yaml:3:36: error: 'wrap': one spinn5_board cannot wrap");
    bad(HEAD "chips: {width: 1, height: 8, wrap: true}\n", SNN_ESEMA,
        "t.yaml:3:36: error: 'wrap': a wrapped 1x8 grid would link chips to themselves");
    bad(HEAD "chips: [8, 8]\n", SNN_ESEMA,
        "t.yaml:3:8: error: 'chips' must be a mapping, not a list");
    bad(HEAD "chips:\n", SNN_ESEMA, "t.yaml:3:7: error: 'chips' must be a mapping, not nothing");
}

static void test_chip_core_errors(void **state)
{
    (void)state;
    bad(HEAD GRID "chip: {cores: 0}\n", SNN_ESEMA,
        "t.yaml:4:15: error: 'cores' must be 1 .. 58, got '0'");
    bad(HEAD GRID "chip: {cores: 59}\n", SNN_ESEMA, "t.yaml:4:15: error: 'cores' must be 1 .. 58");
    bad(HEAD GRID "chip: {cores: 4, monitor_cores: 4}\n", SNN_ESEMA,
        "t.yaml:4:33: error: 4 monitor cores of 4 cores leave no application core");
    bad(HEAD GRID "chip: {cores: 1}\n", SNN_ESEMA,
        "t.yaml:4:15: error: 1 monitor cores of 1 cores leave no application core");
    bad(HEAD GRID "chip: {cors: 4}\n", SNN_ESEMA,
        "t.yaml:4:8: error: unknown key 'cors' in 'chip' (did you mean 'cores'?)");
    bad(HEAD GRID "chip: {clock: 200}\n", SNN_ESEMA,
        "t.yaml:4:15: error: 'clock': missing unit, as in '200 MHz' (units: MHz or GHz)");
    bad(HEAD GRID "chip: {clock: 200 Mhz}\n", SNN_ESEMA,
        "t.yaml:4:15: error: 'clock': unknown unit 'Mhz' (did you mean 'MHz'?)");
    bad(HEAD GRID "chip: {clock: 0.0001 GHz}\n", SNN_ESEMA,
        "t.yaml:4:15: error: 'clock': '0.0001 GHz' is not a whole number of MHz");
    bad(HEAD GRID "chip: {clock: 0 MHz}\n", SNN_ESEMA,
        "t.yaml:4:15: error: 'clock' must be 1 .. 1000000 MHz, got '0 MHz'");
    bad(HEAD GRID "chip: {clock: fast}\n", SNN_ESEMA,
        "t.yaml:4:15: error: 'clock' must be a frequency like '200 MHz', got 'fast'");
    bad(HEAD GRID "chip: {sdram: 128 MB}\n", SNN_ESEMA,
        "t.yaml:4:15: error: 'sdram': unknown unit 'MB' (did you mean 'MiB'?)");
    bad(HEAD GRID "chip: {sdram: 1 kB}\n", SNN_ESEMA, "unknown unit 'kB' (did you mean 'KiB'?)");
    bad(HEAD GRID "chip: {sdram: 2 TiB}\n", SNN_ESEMA,
        "t.yaml:4:15: error: 'sdram' must be 1 .. 1099511627776 B, got '2 TiB'");
    bad(HEAD GRID "chip: {sdram: 0.3 B}\n", SNN_ESEMA, "is not a whole number of B");
    bad(HEAD GRID "chip: {sdram: 99999999999999999999 B}\n", SNN_ESEMA, "is too large");
    bad(HEAD GRID "chip: {sdram: 1.0000000001 GiB}\n", SNN_ESEMA, "too many decimals");
    bad(HEAD GRID "chip: {sdram: [1]}\n", SNN_ESEMA,
        "t.yaml:4:15: error: 'sdram' must be a single value, not a list");
    bad(HEAD GRID "chip: {router_entries: 16, router_reserved: 16}\n", SNN_ESEMA,
        "t.yaml:4:45: error: 16 of 16 router entries reserved leave none for the mapper");
    bad(HEAD GRID "chip: {router_entries: 0}\n", SNN_ESEMA,
        "t.yaml:4:24: error: 'router_entries' must be 1 .. 1048576, got '0'");
    bad(HEAD GRID "core: {dtcm: 4 GiB}\n", SNN_ESEMA,
        "t.yaml:4:14: error: 'dtcm' must be 1 .. 4294967295 B, got '4 GiB'");
    bad(HEAD GRID "core: {itcm: 0 KiB}\n", SNN_ESEMA, "t.yaml:4:14: error: 'itcm' must be 1 ..");
    bad(HEAD GRID "core: {max_neurons: 0}\n", SNN_ESEMA,
        "t.yaml:4:21: error: 'max_neurons' must be 1 .. 4294967295, got '0'");
    bad(HEAD GRID "core: {max_synaptic_events: -1}\n", SNN_ESEMA,
        "t.yaml:4:29: error: 'max_synaptic_events' must be a whole number, got '-1'");
    bad(HEAD GRID "core: {max_neuron: 100}\n", SNN_ESEMA,
        "t.yaml:4:8: error: unknown key 'max_neuron' in 'core' (did you mean 'max_neurons'?)");
}

static void test_dead_errors(void **state)
{
    (void)state;
    bad(HEAD GRID "dead: {chip: [[0, 0]]}\n", SNN_ESEMA,
        "t.yaml:4:8: error: unknown key 'chip' in 'dead' (did you mean 'chips'?)");
    bad(HEAD GRID "dead: {chips: [0, 0]}\n", SNN_ESEMA,
        "t.yaml:4:16: error: each entry of 'dead.chips' is [x, y], not a scalar");
    bad(HEAD GRID "dead: {chips: [[0, 0, 1]]}\n", SNN_ESEMA,
        "t.yaml:4:16: error: each entry of 'dead.chips' is [x, y], not a list of another length");
    bad(HEAD GRID "dead: {cores: [[0, 0]]}\n", SNN_ESEMA,
        "t.yaml:4:16: error: each entry of 'dead.cores' is [x, y, core]");
    bad(HEAD GRID "dead: {links: [[0, 0]]}\n", SNN_ESEMA,
        "t.yaml:4:16: error: each entry of 'dead.links' is [x, y, link]");
    bad(HEAD GRID "dead: {chips: {x: 1}}\n", SNN_ESEMA,
        "t.yaml:4:15: error: 'dead.chips' must be a list, not a mapping");
    bad(HEAD GRID "dead: {chips: [[8, 0]]}\n", SNN_ESEMA,
        "t.yaml:4:17: error: 'dead.chips': x 8 is outside the 8x8 grid (x 0 .. 7)");
    bad(HEAD GRID "dead: {cores: [[0, 9, 1]]}\n", SNN_ESEMA,
        "t.yaml:4:20: error: 'dead.cores': y 9 is outside the 8x8 grid (y 0 .. 7)");
    bad(HEAD GRID "dead: {chips: [[x, 0]]}\n", SNN_ESEMA,
        "t.yaml:4:17: error: 'x' must be a whole number, got 'x'");
    bad(HEAD "chips: {width: 8, height: 8, layout: spinn5_board}\ndead: {chips: [[7, 0]]}\n",
        SNN_ESEMA, "t.yaml:4:16: error: 'dead.chips': chip (7, 0) is not part of the "
                   "spinn5_board layout");
    bad(HEAD GRID "dead: {chips: [[1, 2], [3, 4], [1, 2]]}\n", SNN_ESEMA,
        "t.yaml:4:32: error: dead chip (1, 2) is listed twice");
    bad(HEAD GRID "dead: {cores: [[0, 0, 18]]}\n", SNN_ESEMA,
        "t.yaml:4:23: error: 'dead.cores': core 18 does not exist: a chip has cores 0 .. 17");
    bad(HEAD GRID "dead: {cores: [[0, 0, 3], [0, 0, 3]]}\n", SNN_ESEMA,
        "t.yaml:4:27: error: dead core (0, 0, 3) is listed twice");
    bad(HEAD GRID "dead: {links: [[0, 0, 6]]}\n", SNN_ESEMA,
        "t.yaml:4:23: error: 'link' must be 0 .. 5, got '6'");
    bad(HEAD GRID "dead: {links: [[0, 0, NW]]}\n", SNN_ESEMA,
        "t.yaml:4:23: error: unknown link 'NW' (did you mean 'NE'?)");
    bad(HEAD GRID "dead: {links: [[0, 0, 2], [0, 0, N]]}\n", SNN_ESEMA,
        "t.yaml:4:27: error: dead link (0, 0, N) is listed twice");
    bad(HEAD "chips: {width: 1, height: 1}\ndead: {chips: [[0, 0]]}\n", SNN_ESEMA,
        "error: target 't': no chip has a usable application core");
    /* Dead lists are not read against a grid that had errors. */
    struct run r = parse(HEAD "chips: {width: 0, height: 8}\ndead: {chips: [[9, 9]]}\n");
    assert_int_equal(r.rc, SNN_ESEMA);
    assert_null(strstr(r.out, "dead"));
    done(&r);
}

static void test_yaml_errors(void **state)
{
    (void)state;
    bad(HEAD "chips: {width: 8\n", SNN_EPARSE,
        "t.yaml:4:1: error: did not find expected ',' or '}'");
    bad(HEAD GRID "---\nsnn-target: 1\n", SNN_EPARSE,
        "t.yaml:4:1: error: a second YAML document: a file describes one target");
    bad(HEAD GRID "chip: *nope\n", SNN_EPARSE,
        "t.yaml:4:7: error: unknown anchor: '*nope' is not defined before this alias");
    /* Many errors: it goes on, and stops at the cap. */
    char text[8192] = HEAD GRID "dead:\n  chips:\n";
    for (int i = 0; i < 80; i++)
        strcat(text, "    - [99, 0]\n");
    struct run r = parse(text);
    assert_int_equal(r.rc, SNN_ESEMA);
    assert_non_null(strstr(r.out, "too many errors"));
    done(&r);
}

/* ---- built-ins and loading ---------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 16);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static void test_builtins(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint32_t chips, width;
        bool wrap;
        enum snn_layout layout;
    } want[] = {
        {"spinn3", 4, 2, true, SNN_LAYOUT_FULL},
        {"spinn5", 48, 8, false, SNN_LAYOUT_SPINN5_BOARD},
        {"spinn5x27", 1296, 36, true, SNN_LAYOUT_FULL},
    };
    size_t n = 0;
    while (snn_target_builtin_name(n))
        n++;
    /* "sdt" and "sdt4" sort first: the accelerator and its RTL test model
     * (tests/unit/test_sdt_backend.c, test_rtl_device.c) */
    assert_int_equal(n, 5);
    assert_string_equal(snn_target_builtin_name(0), "sdt");
    assert_string_equal(snn_target_builtin_name(1), "sdt4");
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(snn_target_builtin_name(i + 2), want[i].name);
        struct snn_machine *m = NULL;
        assert_int_equal(snn_target_load(want[i].name, NULL, &m), 0);
        assert_string_equal(m->name, want[i].name);
        assert_int_equal(m->n_chips, want[i].chips);
        assert_int_equal(m->n_usable_chips, want[i].chips);
        assert_int_equal(m->n_app_cores, (uint64_t)want[i].chips * 17);
        assert_int_equal(m->width, want[i].width);
        assert_int_equal(m->height, want[i].width);
        assert_int_equal(m->wrap, want[i].wrap);
        assert_int_equal(m->layout, want[i].layout);
        assert_int_equal(m->cores, 18);
        assert_int_equal(m->clock_mhz, 200);
        assert_int_equal(m->sdram_bytes, 128 << 20);
        assert_int_equal(m->dtcm_bytes, 64 << 10);
        assert_int_equal(m->itcm_bytes, 32 << 10);
        assert_int_equal(m->router_entries, 1024);
        assert_int_equal(m->router_reserved, 1);
        assert_int_equal(snn_machine_verify(m, NULL), 0);
        snn_machine_free(m);
        /* The embedded text is the file. */
        char path[512];
        snprintf(path, sizeof path, "%s/targets/%s.yaml", SNN_SOURCE_DIR, want[i].name);
        size_t flen, blen;
        char *file = slurp(path, &flen);
        const char *text = snn_target_builtin_text(want[i].name, &blen);
        assert_non_null(text);
        assert_int_equal(blen, flen);
        assert_memory_equal(text, file, flen);
        assert_int_equal(text[blen], 0);
        free(file);
    }
    assert_null(snn_target_builtin_name(5));
    assert_null(snn_target_builtin_text("spinn4", NULL));
}

static void test_load(void **state)
{
    (void)state;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    struct snn_diag *d = snn_diag_new(f);
    struct snn_machine *m = NULL;
    assert_int_equal(snn_target_load("spin5", d, &m), SNN_EIO);
    assert_null(m);
    assert_int_equal(snn_target_load("nothing", d, &m), SNN_EIO);
    /* A file of one's own, by path; its errors quote its lines. */
    char path[] = "/tmp/snn_target_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char mine[] = "snn-target: 1\nname: mine\nchips: {width: 4, height: 3}\n";
    assert_int_equal(write(fd, mine, sizeof mine - 1), (ssize_t)(sizeof mine - 1));
    close(fd);
    assert_int_equal(snn_target_load(path, d, &m), 0);
    assert_string_equal(m->name, "mine");
    assert_int_equal(m->n_chips, 12);
    snn_machine_free(m);
    FILE *w = fopen(path, "w");
    fputs("snn-target: 1\nname: mine\nchips: {width: 4, heigth: 3}\n", w);
    fclose(w);
    assert_int_equal(snn_target_load(path, d, &m), SNN_ESEMA);
    assert_null(m);
    unlink(path);
    assert_int_equal(snn_target_load(path, d, &m), SNN_EIO);
    snn_diag_free(d);
    fclose(f);
    assert_non_null(strstr(out, "unknown target 'spin5': not a built-in target nor a file "
                                "(did you mean 'spinn5'?)"));
    assert_non_null(strstr(out, "unknown target 'nothing': not a built-in target (sdt, sdt4, "
                                "spinn3, spinn5, spinn5x27) nor a file"));
    assert_non_null(strstr(out, ":3:19: error: unknown key 'heigth' in 'chips' (did you mean "
                                "'height'?)"));
    assert_non_null(strstr(out, "3 | chips: {width: 4, heigth: 3}"));
    assert_non_null(strstr(out, "cannot open"));
    free(out);
}

/* Every allocation failure gives SNN_ENOMEM and no machine. */
static void test_alloc_failures(void **state)
{
    (void)state;
    static const char text[] =
        HEAD "description: d\n"
             "chips: {width: 8, height: 8, layout: spinn5_board}\n"
             "chip: {sdram: 64 MiB}\n"
             "dead: {chips: [[1, 1]], cores: [[0, 0, 5]], links: [[0, 0, N]]}\n";
    long n = 0;
    for (;; n++) {
        struct snn_machine *m = NULL;
        snn_alloc_fail_after(n);
        int rc = snn_target_parse("t.yaml", text, sizeof text - 1, NULL, &m);
        snn_alloc_fail_after(-1);
        if (rc == 0) {
            assert_non_null(m);
            assert_int_equal(m->n_usable_chips, 47);
            snn_machine_free(m);
            break;
        }
        assert_int_equal(rc, SNN_ENOMEM);
        assert_null(m);
        assert_true(n < 10000);
    }
    assert_true(n > 5);
    for (long k = 0; k < 8; k++) {
        struct snn_machine *m = NULL;
        snn_alloc_fail_after(k);
        int rc = snn_target_load("spinn5x27", NULL, &m);
        snn_alloc_fail_after(-1);
        assert_true(rc == SNN_ENOMEM || (rc == 0 && m));
        snn_machine_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_sizes_and_clock),
        cmocka_unit_test_teardown(test_errors, check_mismatches),
        cmocka_unit_test_teardown(test_chip_core_errors, check_mismatches),
        cmocka_unit_test_teardown(test_dead_errors, check_mismatches),
        cmocka_unit_test_teardown(test_yaml_errors, check_mismatches),
        cmocka_unit_test(test_builtins),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tools/snnc.c: the snnc command.
 *
 *   snnc check FILE      parse, verify and quantize a network; report
 *   snnc ir FILE         print the IR text form
 *   snnc sim FILE        run the reference simulator
 *   snnc targets [NAME]  list the built-in machine descriptions, or show one
 *   snnc map FILE        map a network onto a machine; report
 *
 * Exit status (docs/cli.md; every later command keeps it): 0 success,
 * 1 errors in the input (including "does not fit"), 2 usage errors,
 * 3 a verification mismatch, 4 a device or run-time fault.
 *
 * Output files are written beside their final name and renamed into place
 * only when complete, so a failed run leaves nothing half-written.
 */
#include "backends/sdt/sdt.h"
#include "backends/spinn/spinn.h"
#include "frontend/frontend.h"
#include "firmware/core.h"
#include "frontend/npy.h"
#include "ir/ir.h"
#include "ir/layer.h"
#include "ir/lquant.h"
#include "ir/lsim.h"
#include "ir/quant.h"
#include "ir/sim.h"
#include "mapper/mapper.h"
#include "runtime/emu.h"
#include "runtime/image.h"
#include "runtime/rtl.h"
#include "support/arena.h"
#include "support/err.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SNN_VERSION
#define SNN_VERSION "unknown"
#endif

enum { EXIT_INPUT = 1, EXIT_USAGE = 2, EXIT_MISMATCH = 3, EXIT_DEVICE = 4 };

static const char MAIN_HELP[] =
    "usage: snnc <command> [options] FILE\n"
    "\n"
    "Compiles spiking neural networks for neuromorphic hardware and runs them.\n"
    "\n"
    "commands:\n"
    "  check FILE   parse and verify a network, quantize it, report problems\n"
    "  ir FILE      print the network's IR in its text form\n"
    "  sim FILE     simulate the network with the bit-exact reference simulator\n"
    "  map FILE     map a network onto a machine (--target NAME) and report\n"
    "  build FILE   compile a network into a board image (--target NAME -o F)\n"
    "  inspect IMG  show what an image holds: target, sections, sizes, checksums\n"
    "  run FILE     run a network or an image on the board emulator, or an sdt\n"
    "               image on the accelerator's RTL model (--device rtl)\n"
    "  verify FILE  run a network on the reference simulator and the emulator (or\n"
    "               the accelerator's RTL), and check they agree, bit for bit\n"
    "  targets      list the machines snnc maps onto; 'targets NAME' shows one\n"
    "\n"
    "FILE is a network description (YAML, docs/network-format.md) or IR text\n"
    "(docs/ir-text.md).  'snnc <command> --help' describes a command.\n"
    "\n"
    "options:\n"
    "  -h, --help     this help\n"
    "  --version      print the version\n"
    "\n"
    "exit status: 0 success, 1 errors in the input, 2 usage errors,\n"
    "3 verification mismatch, 4 device or run-time fault (docs/cli.md).\n";

static const char CHECK_HELP[] =
    "usage: snnc check [--quant] FILE\n"
    "\n"
    "Parses FILE, verifies the network and quantizes it to the integer form\n"
    "every executor runs (docs/numerics.md).  Prints a one-line summary, or\n"
    "the errors with their locations.\n"
    "\n"
    "options:\n"
    "  --quant      also print the quantization report: every parameter and\n"
    "               weight, its largest value and its quantization error\n"
    "  -h, --help   this help\n";

static const char IR_HELP[] =
    "usage: snnc ir [-o OUT] FILE\n"
    "\n"
    "Prints the network in FILE as IR text (docs/ir-text.md).  IR text is\n"
    "itself a valid FILE: 'snnc ir' of its output prints the same text.\n"
    "\n"
    "options:\n"
    "  -o OUT       write to OUT instead of standard output\n"
    "  -h, --help   this help\n";

static const char SIM_HELP[] =
    "usage: snnc sim [options] FILE\n"
    "\n"
    "Simulates the network with the reference simulator: the bit-exact\n"
    "integer arithmetic of docs/numerics.md (or float64 with --float).\n"
    "A summary (spikes and mean rate per population, time taken) goes to\n"
    "standard error.\n"
    "\n"
    "options:\n"
    "  -o FILE          write the recorded spikes as CSV (step,population,neuron;\n"
    "                   '-' for standard output)\n"
    "  --v-out FILE     write recorded membrane voltages as CSV\n"
    "                   (step,population,neuron,v_mV)\n"
    "  --all            write the spikes of every population, recorded or not\n"
    "  --float          float64 arithmetic instead of fixed point\n"
    "  --steps N        simulate N timesteps (default: the network's duration)\n"
    "  --seed N         use seed N instead of the network's\n"
    "  --input FILE     extra spikes for spike sources, in the CSV format above\n"
    "  --threads N      use N threads (default: one per idle processor for networks\n"
    "                   of 2048 neurons or more); results do not depend on it\n"
    "  -q, --quiet      no summary and no progress\n"
    "  -h, --help       this help\n"
    "\n"
    "A layer graph runs for its T timesteps (docs/numerics.md, \"The layer\n"
    "view\"); the summary gives every spiking layer's spikes and density per\n"
    "step and the output's mean over T with its largest class, and -o writes\n"
    "every nonzero output of every spiking layer (step,layer,c,y,x,value).\n"
    "--v-out and --input do not apply to it, and --steps is ignored, with\n"
    "a note.\n";

static const char TARGETS_HELP[] =
    "usage: snnc targets [--yaml] [NAME|FILE]\n"
    "\n"
    "Without an argument, lists the built-in targets (machine descriptions,\n"
    "docs/targets.md): name, chips, usable application cores, SDRAM per chip,\n"
    "grid, board layout and whether the links wrap around.  With NAME (a\n"
    "built-in) or FILE (a target file of your own), checks that target and\n"
    "prints all of it, dead chips, cores and links included.\n"
    "\n"
    "options:\n"
    "  --yaml       print the built-in target NAME's file, a start for your own\n"
    "  -h, --help   this help\n";

static const char MAP_HELP[] =
    "usage: snnc map --target NAME|FILE [options] FILE\n"
    "\n"
    "Maps the network in FILE onto a machine: splits populations into slices\n"
    "that fit one core, places them, routes spikes between them, gives them\n"
    "keys, builds and compresses every chip's routing table and lays out\n"
    "every core's memory image: synaptic rows, key table, neuron state\n"
    "(docs/mapping.md).  Prints the slices per population, the cores and chips\n"
    "used, memory and router use, the busiest link and each pass's time.  A\n"
    "network that does not fit is an error naming what ran out.\n"
    "Options taking a value accept --name=value too.\n"
    "\n"
    "options:\n"
    "  --target T           a built-in target (snnc targets lists them) or a\n"
    "                       target file (docs/targets.md); required\n"
    "  --report FILE        also write the report as JSON ('-' for standard output)\n"
    "  --compress MODE      fit: until every table fits its router (default);\n"
    "                       min: as small as possible; none: leave them\n"
    "  --neurons-per-core N at most N neurons on a core (default: the target's)\n"
    "  --rate HZ            firing rate assumed for neurons when estimating\n"
    "                       traffic and synaptic events (default 10)\n"
    "  --seed N             placement seed (default: the network's)\n"
    "  --dump-after PASS    print the state after PASS: partition, place, route,\n"
    "                       keys, tables, compress, layout, or all of them; may be\n"
    "                       repeated\n"
    "  --until PASS         stop after PASS (default: layout, the last)\n"
    "  --verify             check every invariant after every pass\n"
    "  -q, --quiet          no report on standard output\n"
    "  -h, --help           this help\n";

static const char BUILD_HELP[] =
    "usage: snnc build --target NAME|FILE -o IMAGE [options] FILE\n"
    "\n"
    "Compiles the network in FILE into a board image for a machine: maps it\n"
    "as 'snnc map' does (every pass, the memory layout included) and writes\n"
    "the image (docs/image-format.md): the machine, the run, every chip's\n"
    "routing table and every core's memory image.  The same network, target,\n"
    "options and seed give a byte-identical image.  Prints one line: the\n"
    "image's size, slices and chips.\n"
    "\n"
    "For a target of the sdt family (snnc targets; docs/sdt-accelerator.md)\n"
    "FILE is a layer graph: it is quantized and lowered to an accelerator\n"
    "program, and the image holds the program, the weights, the input of\n"
    "every step and where every layer's output lives; the mapping options\n"
    "do not apply.  Prints the image's size and its descriptors.\n"
    "Options taking a value accept --name=value too.\n"
    "\n"
    "options:\n"
    "  --target T           a built-in target (snnc targets) or a target file; required\n"
    "  -o IMAGE             where the image goes ('-' for standard output); required\n"
    "  --report FILE        also write the mapping's JSON report (docs/mapping.md)\n"
    "  --compress MODE      fit (default), min or none, as for 'snnc map'\n"
    "  --neurons-per-core N at most N neurons on a core (default: the target's)\n"
    "  --rate HZ            firing rate assumed for neurons (default 10)\n"
    "  --seed N             placement seed (default: the network's)\n"
    "  --dump-after PASS    print the state after PASS (as 'snnc map')\n"
    "  --verify             check every invariant after every pass\n"
    "  -q, --quiet          print nothing on success\n"
    "  -h, --help           this help\n";

static const char RUN_HELP[] =
    "usage: snnc run [options] FILE|IMAGE\n"
    "\n"
    "Runs a board image (snnc build), or a network compiled on the spot for\n"
    "--target, on the board emulator: the machine's routers and links, every\n"
    "core running the firmware's kernel, timesteps in lock-step.  Prints the\n"
    "spikes per population and the machine's traffic: packets, hops over links,\n"
    "synaptic events, and every packet dropped (with why).\n"
    "\n"
    "options:\n"
    "  --target T           the machine, for a network FILE (as 'snnc map'); with\n"
    "                       an IMAGE, the machine it must have been built for\n"
    "  --neurons-per-core N at most N neurons on a core (a network FILE)\n"
    "  --device D           where to run: emu, the board emulator (default), or rtl,\n"
    "                       the sdt accelerator's RTL model, for sdt images (or a\n"
    "                       layer graph built for --target, default sdt): prints\n"
    "                       cycles, lane utilisation, SRAM traffic per memory and\n"
    "                       the energy estimate; -o writes snnc sim -o's CSV\n"
    "  --trace OUT.fst      --device rtl: write the run's waveform (FST)\n"
    "  --steps N            timesteps to run (default: the run's duration)\n"
    "  --input SPIKES.csv   extra spikes for spike sources (step,population,neuron),\n"
    "                       as 'snnc sim --input'; with a network FILE\n"
    "  -o SPIKES.csv        write every spike (step,population,neuron; '-' for\n"
    "                       standard output), as 'snnc sim -o --all' does\n"
    "  --counters FILE.csv  write every router's and link's counts\n"
    "                       (x,y,counter,count; docs/emulator.md)\n"
    "  --threads N          emulator threads, 1 or 2 (default 2)\n"
    "  -q, --quiet          no summary\n"
    "  -h, --help           this help\n";

static const char VERIFY_HELP[] =
    "usage: snnc verify --target NAME|FILE [options] FILE\n"
    "\n"
    "Compiles the network for the machine, runs it on the board emulator and\n"
    "on the reference simulator, and compares every spike of every population,\n"
    "step by step.  Prints the first difference (step, population, neuron) and\n"
    "exits with status 3 if there is one; 0 when they are identical.\n"
    "\n"
    "With an sdt target (sdt, sdt4) FILE is a layer graph: the reference\n"
    "simulator against the image the backend builds, run on the accelerator's\n"
    "RTL model; every output tensor after every step, element for element (a\n"
    "difference: step, layer, element index).\n"
    "\n"
    "options:\n"
    "  --target T           the machine (required)\n"
    "  --neurons-per-core N at most N neurons on a core\n"
    "  --steps N            timesteps (default: the network's duration)\n"
    "  --threads N          emulator threads, 1 or 2 (default 2)\n"
    "  -q, --quiet          print only a difference\n"
    "  -h, --help           this help\n";

static const char INSPECT_HELP[] =
    "usage: snnc inspect [--sections] [--program] IMAGE\n"
    "\n"
    "Checks an image (docs/image-format.md: sizes, checksums, every section\n"
    "against the others) and shows what it holds: the family and version,\n"
    "the target, the run (timestep, steps, seed), the populations and their\n"
    "slices, routing entries and memory totals.  A damaged image is an error\n"
    "naming the byte and what is wrong (exit status 1).\n"
    "\n"
    "options:\n"
    "  --sections   also list every section: kind, place, offset, size, checksum\n"
    "  --program    also list an sdt image's program, one descriptor a line\n"
    "  -h, --help   this help\n";

/* ---- small helpers ------------------------------------------------------- */

/* An argument's option name: "--name=value" gives "--name" (copied into
 * name, of size bytes) and *value "value", as if it were "--name value";
 * any other argument is its own name, *value NULL. */
static const char *option_name(const char *arg, char *name, size_t size, const char **value)
{
    const char *eq = strchr(arg, '=');
    *value = NULL;
    if (arg[0] == '-' && arg[1] == '-' && eq && (size_t)(eq - arg) < size) {
        memcpy(name, arg, (size_t)(eq - arg));
        name[eq - arg] = 0;
        *value = eq + 1;
        return name;
    }
    return arg;
}

static int usage_error(const char *help, const char *fmt, const char *arg)
{
    fprintf(stderr, "snnc: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", help);
    return EXIT_USAGE;
}

static int exit_code_of(int err)
{
    switch (err) {
    case 0: return 0;
    case SNN_EINVAL: return EXIT_USAGE;
    case SNN_EMISMATCH: return EXIT_MISMATCH;
    case SNN_EDEVICE: return EXIT_DEVICE;
    case SNN_EIO: return EXIT_DEVICE;
    default: return EXIT_INPUT;
    }
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Reads a whole file into a heap buffer.  SNN_EIO with errno kept. */
static int read_file(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return SNN_EIO;
    size_t cap = 1 << 16, n = 0;
    char *buf = snn_malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        char *nb = cap > ((size_t)1 << 30) ? NULL : snn_realloc(buf, cap * 2);
        if (!nb) {
            snn_free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        snn_free(buf);
        return bad ? SNN_EIO : SNN_ENOMEM;
    }
    *text = buf;
    *len = n;
    return 0;
}

/* Loads a network from YAML or IR text (recognised by its first line). */
static int load_net(const char *path, struct snn_diag *d, struct snn_net **net)
{
    char *text;
    size_t len;
    int err = read_file(path, &text, &len);
    if (err) {
        fprintf(stderr, "snnc: error: cannot read '%s': %s\n", path,
                err == SNN_EIO ? strerror(errno) : snn_strerror(err));
        /* An unreadable input is an error in the input (exit 1), not a
         * run-time fault. */
        return err == SNN_EIO ? SNN_EPARSE : err;
    }
    if (len >= 7 && memcmp(text, "snn-ir ", 7) == 0) {
        err = snn_diag_add_source(d, path, text, len);
        if (!err)
            err = snn_ir_parse_with(path, text, len, &snn_npy_reader, d, net);
        if (!err && ((err = snn_ir_verify(*net, d)) || (err = snn_layers_verify(*net, d)))) {
            snn_net_free(*net);
            *net = NULL;
        }
    } else {
        err = snn_diag_add_source(d, path, text, len);
        if (!err)
            err = snn_yaml_parse(path, text, len, d, net);
    }
    snn_free(text);
    return err;
}

/* An output file written under a temporary name and renamed when done. */
struct out_file {
    FILE *f;
    char *path, *tmp;
    char *buf;
};

static int out_open(struct out_file *o, const char *path)
{
    memset(o, 0, sizeof *o);
    if (strcmp(path, "-") == 0) {
        o->f = stdout;
        return 0;
    }
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* A device, a pipe or a symbolic link: write to it as it is;
         * renaming a file over it would replace it. */
        if (!(o->f = fopen(path, "w"))) {
            fprintf(stderr, "snnc: error: cannot write '%s': %s\n", path, strerror(errno));
            return SNN_EIO;
        }
        o->path = (char *)path;
        return 0;
    }
    size_t n = strlen(path);
    o->tmp = snn_malloc(n + 16);
    if (!o->tmp)
        return SNN_ENOMEM;
    snprintf(o->tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
        fprintf(stderr, "snnc: error: cannot write '%s': %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(o->tmp);
        }
        snn_free(o->tmp);
        o->tmp = NULL;
        return SNN_EIO;
    }
    /* mkstemp creates the file for its owner only; give it the mode a new
     * file would have had. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    o->path = (char *)path;
    o->buf = snn_malloc(1 << 20);
    if (o->buf)
        setvbuf(o->f, o->buf, _IOFBF, 1 << 20);
    return 0;
}

/* Flushes standard output: 0, or SNN_EIO when a write to it failed, which
 * is reported here, once (the error flag is cleared). */
static int stdout_status(void)
{
    errno = 0;
    if (!fflush(stdout) && !ferror(stdout))
        return 0;
    fprintf(stderr, "snnc: error: writing to standard output failed%s%s\n", errno ? ": " : "",
            errno ? strerror(errno) : "");
    clearerr(stdout);
    return SNN_EIO;
}

/* Commits (ok) or discards the file. */
static int out_close(struct out_file *o, int ok)
{
    int err = 0;
    if (!o->f)
        return 0;
    if (o->f == stdout) {
        o->f = NULL;
        return stdout_status();
    }
    int bad = ferror(o->f);
    bad |= fclose(o->f);
    if (bad)
        err = SNN_EIO;
    if (!o->tmp) { /* written in place */
        if (err)
            fprintf(stderr, "snnc: error: cannot write '%s': %s\n", o->path, strerror(errno));
        snn_free(o->buf);
        o->f = NULL;
        return err;
    }
    if (ok && !err && rename(o->tmp, o->path))
        err = SNN_EIO;
    if (err || !ok)
        unlink(o->tmp);
    if (err && ok)
        fprintf(stderr, "snnc: error: cannot write '%s': %s\n", o->path, strerror(errno));
    snn_free(o->tmp);
    snn_free(o->buf);
    o->f = NULL;
    return err;
}

/* ---- snnc check ---------------------------------------------------------- */

static int cmd_check(int argc, char **argv)
{
    const char *file = NULL;
    int quant = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(CHECK_HELP, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--quant")) {
            quant = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error(CHECK_HELP, "unknown option '%s'", argv[i]);
        } else if (file) {
            return usage_error(CHECK_HELP, "unexpected argument '%s'", argv[i]);
        } else {
            file = argv[i];
        }
    }
    if (!file)
        return usage_error(CHECK_HELP, "%s", "missing FILE");
    struct snn_diag *d = snn_diag_new(stderr);
    struct snn_net *net = NULL;
    struct snn_qnet *q = NULL;
    int err = d ? load_net(file, d, &net) : SNN_ENOMEM;
    if (!err && net->layers) {
        /* A layer graph: verified while loading, then quantized. */
        struct snn_lquant *lq = NULL;
        err = snn_layers_quantize(net, d, &lq);
        const struct snn_layer_graph *g = net->layers;
        const struct snn_lnode *o = &g->nodes[g->output];
        if (!err)
            printf("%s: network '%s': %u layers, %u timesteps, output '%s' [%u, %u, %u] %s: "
                   "ok\n",
                   file, net->name ? net->name : "", g->n_nodes, g->timesteps, o->name,
                   o->shape.c, o->shape.h, o->shape.w, snn_tkind_name(o->kind));
        if (!err && quant)
            snn_lquant_print_report(lq, stdout);
        snn_lquant_free(lq);
    } else if (!err) {
        err = snn_quantize(net, d, &q);
    }
    if (!err && !net->layers) {
        uint64_t neurons = 0;
        for (uint32_t p = 0; p < net->n_pops; p++)
            neurons += net->pops[p].size;
        printf("%s: network '%s': %u populations (%llu neurons), %u projections: ok\n", file,
               net->name, net->n_pops, (unsigned long long)neurons, net->n_projs);
        if (quant)
            snn_qnet_print_report(q, stdout);
    }
    snn_qnet_free(q);
    snn_net_free(net);
    snn_diag_free(d);
    return exit_code_of(err);
}

/* ---- snnc ir ------------------------------------------------------------- */

static int cmd_ir(int argc, char **argv)
{
    const char *file = NULL, *out = "-";
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(IR_HELP, stdout);
            return 0;
        } else if (!strcmp(argv[i], "-o")) {
            if (++i == argc)
                return usage_error(IR_HELP, "%s", "-o needs a file name");
            out = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error(IR_HELP, "unknown option '%s'", argv[i]);
        } else if (file) {
            return usage_error(IR_HELP, "unexpected argument '%s'", argv[i]);
        } else {
            file = argv[i];
        }
    }
    if (!file)
        return usage_error(IR_HELP, "%s", "missing FILE");
    struct snn_diag *d = snn_diag_new(stderr);
    struct snn_net *net = NULL;
    int err = d ? load_net(file, d, &net) : SNN_ENOMEM;
    if (!err)
        err = snn_ir_printable(net, d);
    if (!err) {
        struct out_file o;
        err = out_open(&o, out);
        if (!err) {
            err = snn_ir_print(net, o.f);
            int cerr = out_close(&o, !err);
            if (!err)
                err = cerr;
        }
    }
    snn_net_free(net);
    snn_diag_free(d);
    return exit_code_of(err);
}

/* ---- snnc sim ------------------------------------------------------------ */

struct sim_ctx {
    const struct snn_net *net;
    FILE *spikes, *volts;
    int progress;
    double last_progress;
    double t0;
};

/* The decimal digits of v at the end of buf (room for 10), returning
 * where they start. */
static char *digits(char *end, uint32_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* One step's spikes of one population as "step,name,neuron" lines, the
 * bytes fprintf("%u,%s,%u\n") would write, formatted here in blocks: a
 * busy network writes hundreds of thousands of lines and fprintf's
 * format parsing was a tenth of a whole simulation. */
static int put_spikes(FILE *f, uint32_t step, const char *name, const uint32_t *neurons,
                      uint32_t n)
{
    char head[16 + 256], buf[8192];
    char *p = digits(head + 16, step);
    size_t hn = (size_t)(head + 16 - p), nl = strlen(name);
    if (nl > 255) { /* names are identifiers far shorter; such a one goes slowly */
        for (uint32_t i = 0; i < n; i++)
            fprintf(f, "%u,%s,%u\n", step, name, neurons[i]);
        return ferror(f) ? SNN_EIO : 0;
    }
    memmove(head, p, hn);
    head[hn++] = ',';
    memcpy(head + hn, name, nl);
    hn += nl;
    head[hn++] = ',';
    size_t used = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (used + hn + 12 > sizeof buf) {
            if (fwrite(buf, 1, used, f) != used)
                return SNN_EIO;
            used = 0;
        }
        memcpy(buf + used, head, hn);
        used += hn;
        char num[10], *q = digits(num + 10, neurons[i]);
        memcpy(buf + used, q, (size_t)(num + 10 - q));
        used += (size_t)(num + 10 - q);
        buf[used++] = '\n';
    }
    /* fwrite's count says whether it failed: ferror would take the stream's lock again */
    return fwrite(buf, 1, used, f) == used ? 0 : SNN_EIO;
}

static int write_spikes(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons,
                        uint32_t n)
{
    struct sim_ctx *c = ctx;
    if (!c->spikes)
        return 0;
    return put_spikes(c->spikes, step, c->net->pops[pop].name, neurons, n);
}

static int write_v(void *ctx, uint32_t step, uint32_t pop, uint32_t neuron, double v)
{
    struct sim_ctx *c = ctx;
    fprintf(c->volts, "%u,%s,%u,%.17g\n", step, c->net->pops[pop].name, neuron, v);
    return ferror(c->volts) ? SNN_EIO : 0;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void show_progress(void *ctx, uint64_t step, uint64_t steps)
{
    struct sim_ctx *c = ctx;
    double now = wall_s();
    if (!c->progress || now - c->last_progress < 0.2)
        return;
    c->last_progress = now;
    fprintf(stderr, "\rsimulating: %3.0f%%  step %llu of %llu", 100.0 * (double)step / (double)steps,
            (unsigned long long)step, (unsigned long long)steps);
    fflush(stderr);
}

static void print_summary(const struct snn_net *net, const struct snn_sim_stats *st, int fl)
{
    double sim_ms = (double)st->steps * net->dt_ms;
    fprintf(stderr, "%s: %llu steps of %g ms (%g ms), %s, %u thread%s", net->name,
            (unsigned long long)st->steps, net->dt_ms, sim_ms, fl ? "float64" : "fixed point",
            st->threads, st->threads == 1 ? "" : "s");
    if (st->threads > 1)
        fprintf(stderr, " (parts resized %llu time%s; shares %.0f-%.0f%% at the end)",
                (unsigned long long)st->share_moves, st->share_moves == 1 ? "" : "s",
                100 * st->share_min, 100 * st->share_max);
    fputc('\n', stderr);
    fprintf(stderr, "  %-24s %10s %12s %12s\n", "population", "neurons", "spikes", "rate (Hz)");
    for (uint32_t p = 0; p < net->n_pops; p++) {
        const struct snn_pop *pop = &net->pops[p];
        double rate = sim_ms > 0 ? (double)st->pop_spikes[p] / pop->size / (sim_ms / 1000.0) : 0;
        fprintf(stderr, "  %-24s %10u %12llu %12.3f\n", pop->name, pop->size,
                (unsigned long long)st->pop_spikes[p], rate);
    }
    fprintf(stderr, "  synapses %llu, synaptic events %llu (%.3g per second of wall time)\n",
            (unsigned long long)st->synapses, (unsigned long long)st->syn_events,
            st->run_s > 0 ? (double)st->syn_events / st->run_s : 0.0);
    fprintf(stderr, "  time: setup %.3f s, simulation %.3f s, memory %.1f MiB\n", st->build_s,
            st->run_s, (double)st->bytes / 1048576.0);
}

/* snnc sim on a layer graph: the layer reference simulator (ir/lsim.h). */
struct lsim_ctx {
    const struct snn_layer_graph *g;
    FILE *out;
    uint32_t *counts; /* [T][n_nodes]: nonzero outputs per step and layer */
};

static int lsim_write(void *ctx, uint32_t step, uint32_t node, const struct snn_levent *ev,
                      uint32_t n)
{
    struct lsim_ctx *c = ctx;
    c->counts[(size_t)step * c->g->n_nodes + node] = n;
    if (!c->out)
        return 0;
    const char *name = c->g->nodes[node].name;
    for (uint32_t i = 0; i < n; i++)
        fprintf(c->out, "%u,%s,%u,%u,%u,%u\n", step, name, ev[i].c, ev[i].y, ev[i].x,
                ev[i].value);
    return ferror(c->out) ? SNN_EIO : 0;
}

/* The per-layer, per-step table and the output's mean over T. */
static void print_layer_summary(const struct snn_net *net, const struct lsim_ctx *c,
                                const struct snn_lsim_result *r, int fl, double run_s)
{
    const struct snn_layer_graph *g = net->layers;
    enum { MAX_STEP_COLUMNS = 8, MAX_HEAD_VALUES = 16 }; /* what a terminal line holds */
    fprintf(stderr, "%s: layer graph, %u steps, %s, %.3f s\n", net->name ? net->name : "",
            r->steps, fl ? "float64" : "fixed point", run_s);
    fprintf(stderr, "  %-20s %9s", "layer", "size");
    uint32_t cols = r->steps <= MAX_STEP_COLUMNS ? r->steps : 0;
    for (uint32_t t = 0; t < cols; t++) {
        char h[32];
        snprintf(h, sizeof h, "step %u", t);
        fprintf(stderr, " %15s", h);
    }
    fprintf(stderr, " %12s %8s\n", "total", "density");
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const struct snn_lnode *n = &g->nodes[i];
        if (!snn_lsim_is_spiking(n))
            continue;
        double size = (double)n->shape.c * n->shape.h * n->shape.w;
        fprintf(stderr, "  %-20s %9.0f", n->name, size);
        for (uint32_t t = 0; t < cols; t++) {
            char v[48];
            uint32_t k = c->counts[(size_t)t * g->n_nodes + i];
            snprintf(v, sizeof v, "%u (%.1f%%)", k, 100.0 * k / size);
            fprintf(stderr, " %15s", v);
        }
        fprintf(stderr, " %12llu %7.2f%%\n", (unsigned long long)r->node_events[i],
                100.0 * (double)r->node_events[i] / (size * r->steps));
    }
    const struct snn_lnode *o = &g->nodes[g->output];
    fprintf(stderr, "  output '%s' [%u, %u, %u] %s, mean over %u steps:", o->name, o->shape.c,
            o->shape.h, o->shape.w, snn_tkind_name(o->kind), r->steps);
    for (uint32_t e = 0; e < r->n_head && e < MAX_HEAD_VALUES; e++)
        fprintf(stderr, " %.6g", r->head_mean[e]);
    fprintf(stderr, "%s\n  largest: %u (%.6g)\n", r->n_head > MAX_HEAD_VALUES ? " ..." : "",
            r->argmax, r->head_mean[r->argmax]);
}

static int sim_layers(struct snn_net *net, struct snn_diag *d, const char *out, int fl,
                      int quiet)
{
    const struct snn_layer_graph *g = net->layers;
    struct snn_lquant *lq = NULL;
    struct out_file so = {0};
    struct lsim_ctx c = {.g = g};
    struct snn_lsim_result r = {0};
    int err = snn_layers_verify(net, d);
    if (!err)
        err = snn_layers_quantize(net, d, &lq);
    if (!err && !(c.counts = snn_calloc((size_t)g->timesteps * g->n_nodes, sizeof *c.counts)))
        err = SNN_ENOMEM;
    if (!err && out && !(err = out_open(&so, out))) {
        c.out = so.f;
        fputs("step,layer,c,y,x,value\n", so.f);
    }
    double t0 = wall_s();
    if (!err) {
        struct snn_lsim_opts o = {.float64 = fl, .ctx = &c, .on_events = lsim_write};
        err = snn_lsim_run(net, lq, &o, &r);
        if (err == SNN_EIO)
            fprintf(stderr, "snnc: error: writing the results failed: %s\n", strerror(errno));
    }
    double run_s = wall_s() - t0;
    int cerr = out_close(&so, !err);
    if (!err)
        err = cerr;
    if (!err && !quiet)
        print_layer_summary(net, &c, &r, fl, run_s);
    snn_lsim_result_free(&r);
    snn_free(c.counts);
    snn_lquant_free(lq);
    return err;
}

static int cmd_sim(int argc, char **argv)
{
    const char *file = NULL, *out = NULL, *vout = NULL, *input = NULL;
    struct snn_sim_opts opts = {0};
    uint64_t seed = 0;
    int have_seed = 0, quiet = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        int takes = !strcmp(a, "-o") || !strcmp(a, "--v-out") || !strcmp(a, "--steps") ||
                    !strcmp(a, "--seed") || !strcmp(a, "--input") || !strcmp(a, "--threads");
        if (takes) {
            if (++i == argc)
                return usage_error(SIM_HELP, "option '%s' needs a value", a);
            val = argv[i];
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(SIM_HELP, stdout);
            return 0;
        } else if (!strcmp(a, "-o")) {
            out = val;
        } else if (!strcmp(a, "--v-out")) {
            vout = val;
        } else if (!strcmp(a, "--input")) {
            input = val;
        } else if (!strcmp(a, "--steps")) {
            if (parse_u64(val, &opts.steps) || opts.steps == 0 || opts.steps > UINT32_MAX)
                return usage_error(SIM_HELP, "--steps takes a whole number from 1 to 4294967295, not '%s'", val);
        } else if (!strcmp(a, "--threads")) {
            uint64_t n;
            if (parse_u64(val, &n) || n == 0 || n > 64)
                return usage_error(SIM_HELP, "--threads takes a whole number from 1 to 64, not '%s'", val);
            opts.threads = (unsigned)n;
        } else if (!strcmp(a, "--seed")) {
            if (parse_u64(val, &seed))
                return usage_error(SIM_HELP, "--seed takes a whole number, not '%s'", val);
            have_seed = 1;
        } else if (!strcmp(a, "--float")) {
            opts.float64 = true;
        } else if (!strcmp(a, "--all")) {
            opts.all_spikes = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            return usage_error(SIM_HELP, "unknown option '%s'", a);
        } else if (file) {
            return usage_error(SIM_HELP, "unexpected argument '%s'", a);
        } else {
            file = a;
        }
    }
    if (!file)
        return usage_error(SIM_HELP, "%s", "missing FILE");
    if (out && vout && !strcmp(out, "-") && !strcmp(vout, "-"))
        return usage_error(SIM_HELP, "%s", "-o - and --v-out - would mix two files on standard output");

    struct snn_diag *d = snn_diag_new(stderr);
    struct snn_net *net = NULL;
    struct snn_spike_list in = {0};
    struct out_file so = {0}, vo = {0};
    uint64_t *counts = NULL;
    int err = d ? load_net(file, d, &net) : SNN_ENOMEM;
    if (!err && have_seed)
        net->seed = seed;
    if (!err && net->layers) {
        /* --all and --threads change nothing here (every spiking layer is
         * written; one thread); --steps is the graph's own T */
        const char *bad = vout ? "--v-out" : input ? "--input" : NULL;
        if (bad) {
            snn_net_free(net);
            snn_diag_free(d);
            return usage_error(SIM_HELP, "%s does not apply to a layer graph", bad);
        }
        if (opts.steps && opts.steps != net->layers->timesteps && !quiet)
            fprintf(stderr, "snnc: note: a layer graph runs for its %u timesteps; --steps "
                            "is ignored\n",
                    net->layers->timesteps);
        err = sim_layers(net, d, out, opts.float64, quiet);
        snn_net_free(net);
        snn_diag_free(d);
        return exit_code_of(err);
    }
    if (!err && input) {
        char *text;
        size_t len;
        if ((err = read_file(input, &text, &len))) {
            fprintf(stderr, "snnc: error: cannot read '%s': %s\n", input, strerror(errno));
            err = SNN_EPARSE;
        } else {
            err = snn_diag_add_source(d, input, text, len);
            if (!err)
                err = snn_spikes_parse_csv(input, text, len, net, d, &in);
            snn_free(text);
        }
        opts.input = &in;
    }
    if (!err && !(counts = snn_calloc(net->n_pops, sizeof *counts)))
        err = SNN_ENOMEM;
    struct sim_ctx ctx = {.net = net, .progress = !quiet && isatty(2)};
    if (!err && out && !(err = out_open(&so, out))) {
        ctx.spikes = so.f;
        fputs("step,population,neuron\n", so.f);
    }
    if (!err && vout && !(err = out_open(&vo, vout))) {
        ctx.volts = vo.f;
        fputs("step,population,neuron,v_mV\n", vo.f);
    }
    struct snn_sim_stats st = {.pop_spikes = counts};
    if (!err) {
        opts.ctx = &ctx;
        opts.on_spikes = write_spikes;
        opts.on_v = vout ? write_v : NULL;
        opts.on_progress = show_progress;
        err = snn_sim_run(net, &opts, d, &st);
        if (ctx.progress)
            fputs("\r\033[K", stderr);
        if (err == SNN_EIO)
            fprintf(stderr, "snnc: error: writing the results failed: %s\n", strerror(errno));
    }
    int cerr = out_close(&so, !err);
    int verr = out_close(&vo, !err);
    if (!err)
        err = cerr ? cerr : verr;
    if (!err && !quiet)
        print_summary(net, &st, opts.float64);
    snn_free(counts);
    snn_spike_list_free(&in);
    snn_net_free(net);
    snn_diag_free(d);
    return exit_code_of(err);
}

/* ---- snnc targets -------------------------------------------------------- */

/* A size in the largest binary unit that keeps it whole: "128 MiB". */
static const char *format_bytes(uint64_t b, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    while (u < 4 && b >= 1024 && b % 1024 == 0) {
        b /= 1024;
        u++;
    }
    snprintf(buf, len, "%llu %s", (unsigned long long)b, units[u]);
    return buf;
}

static void print_target_row(const struct snn_machine *m)
{
    char sdram[32], grid[32];
    snprintf(grid, sizeof grid, "%ux%u", m->width, m->height);
    printf("%-12s %6u %10llu %11s  %-6s %-13s %-4s  %s\n", m->name, m->n_chips,
           (unsigned long long)m->n_app_cores, format_bytes(m->sdram_bytes, sdram, sizeof sdram),
           grid, snn_layout_name(m->layout), m->wrap ? "yes" : "no",
           m->description ? m->description : "");
}

static void print_sdt_row(const struct snn_sdt_target *t)
{
    printf("%-12s %-6s %5u %8u %8u %8u %8u %8u  %s\n", t->name, "sdt", t->lanes,
           1u << t->pmem_log2, 1u << t->wmem_log2, 1u << t->qmem_log2, 1u << t->dmem_log2,
           1u << t->evt_log2, t->description ? t->description : "");
}

static void print_sdt_target(const struct snn_sdt_target *t)
{
    char a[32], b[32];
    printf("target %s%s%s\n", t->name, t->description ? ": " : "",
           t->description ? t->description : "");
    printf("  family             sdt\n");
    printf("  lanes              %u, %u MHz\n", t->lanes, t->clock_mhz);
    printf("  PMEM               %u words (%u descriptors)\n", 1u << t->pmem_log2,
           (1u << t->pmem_log2) / 16);
    printf("  WMEM               %u words (%s)\n", 1u << t->wmem_log2,
           format_bytes((uint64_t)t->lanes << t->wmem_log2, a, sizeof a));
    printf("  QMEM               %u words\n", 1u << t->qmem_log2);
    printf("  DMEM               %u words (%s)\n", 1u << t->dmem_log2,
           format_bytes((uint64_t)t->lanes * 4 << t->dmem_log2, b, sizeof b));
    printf("  EVT                %u words\n", 1u << t->evt_log2);
    printf("  output FIFO        %u events\n", 1u << t->fifo_log2);
    printf("  energy             %g pJ per accumulate, %g pJ per MAC, %g pJ per SRAM bit read, "
           "%g written\n",
           t->energy.ac_pj, t->energy.mac_pj, t->energy.read_bit_pj, t->energy.write_bit_pj);
    printf("  energy source      %s\n", t->energy.source ? t->energy.source : "");
}

static void print_target(const struct snn_machine *m)
{
    char a[32], b[32];
    printf("target %s%s%s\n", m->name, m->description ? ": " : "",
           m->description ? m->description : "");
    printf("  family             %s\n", m->family);
    printf("  grid               %ux%u, layout %s, %s\n", m->width, m->height,
           snn_layout_name(m->layout), m->wrap ? "wrapped (torus)" : "not wrapped");
    printf("  chips              %u (%u usable)\n", m->n_chips, m->n_usable_chips);
    printf("  application cores  %llu usable\n", (unsigned long long)m->n_app_cores);
    printf("  per chip           %u cores (%u monitor), %u MHz, SDRAM %s\n", m->cores,
           m->monitor_cores, m->clock_mhz, format_bytes(m->sdram_bytes, a, sizeof a));
    printf("  router             %u entries (%u reserved, %u for the mapper)\n",
           m->router_entries, m->router_reserved, snn_machine_router_free(m));
    printf("  per core           DTCM %s, ITCM %s\n", format_bytes(m->dtcm_bytes, a, sizeof a),
           format_bytes(m->itcm_bytes, b, sizeof b));
    printf("  per-core limits    %u neurons, %u synaptic events per timestep\n", m->max_neurons,
           m->max_synaptic_events);
    printf("  dead chips        ");
    for (size_t i = 0; i < m->n_dead_chips; i++)
        printf(" (%u, %u)", m->dead_chips[i].x, m->dead_chips[i].y);
    printf("%s\n  dead cores        ", m->n_dead_chips ? "" : " none");
    for (size_t i = 0; i < m->n_dead_cores; i++)
        printf(" (%u, %u, %u)", m->dead_cores[i].x, m->dead_cores[i].y, m->dead_cores[i].core);
    printf("%s\n  dead links        ", m->n_dead_cores ? "" : " none");
    for (size_t i = 0; i < m->n_dead_links; i++)
        printf(" (%u, %u, %s)", m->dead_links[i].x, m->dead_links[i].y,
               snn_link_name(m->dead_links[i].link));
    printf("%s\n", m->n_dead_links ? "" : " none");
}

static int cmd_targets(int argc, char **argv)
{
    const char *name = NULL;
    int yaml = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(TARGETS_HELP, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--yaml")) {
            yaml = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage_error(TARGETS_HELP, "unknown option '%s'", argv[i]);
        } else if (name) {
            return usage_error(TARGETS_HELP, "unexpected argument '%s'", argv[i]);
        } else {
            name = argv[i];
        }
    }
    if (yaml) {
        size_t len;
        const char *text = name ? snn_target_builtin_text(name, &len) : NULL;
        if (!text)
            return usage_error(TARGETS_HELP, "%s", "--yaml needs the NAME of a built-in target");
        fwrite(text, 1, len, stdout);
        return stdout_status() ? EXIT_DEVICE : 0;
    }
    struct snn_diag *d = snn_diag_new(stderr);
    if (!d)
        return EXIT_INPUT;
    int err = 0;
    if (name) {
        struct snn_machine *m = NULL;
        struct snn_sdt_target *t = NULL;
        err = snn_target_load_any(name, d, &m, &t);
        if (!err && m)
            print_target(m);
        if (!err && t)
            print_sdt_target(t);
        snn_machine_free(m);
        snn_sdt_target_free(t);
    } else {
        /* spinn machines first, then the accelerators, each in a table */
        printf("%-12s %6s %10s %11s  %-6s %-13s %-4s  %s\n", "name", "chips", "app cores",
               "SDRAM/chip", "grid", "layout", "wrap", "description");
        const char *b;
        int n_sdt = 0;
        for (int pass = 0; pass < 2 && !err; pass++)
            for (size_t i = 0; !err && (b = snn_target_builtin_name(i)); i++) {
                struct snn_machine *m = NULL;
                struct snn_sdt_target *t = NULL;
                err = snn_target_load_any(b, d, &m, &t);
                if (!err && m && pass == 0)
                    print_target_row(m);
                if (!err && t && pass == 1) {
                    if (!n_sdt++)
                        printf("\n%-12s %-6s %5s %8s %8s %8s %8s %8s  %s\n", "name", "family",
                               "lanes", "PMEM", "WMEM", "QMEM", "DMEM", "EVT", "description");
                    print_sdt_row(t);
                }
                snn_machine_free(m);
                snn_sdt_target_free(t);
            }
    }
    snn_diag_free(d);
    /* A target that cannot be found or read is an error in the input. */
    return err == SNN_EIO ? EXIT_INPUT : exit_code_of(err);
}

/* ---- snnc inspect -------------------------------------------------------- */

static int cmd_inspect(int argc, char **argv)
{
    const char *file = NULL;
    bool sections = false, program = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(INSPECT_HELP, stdout);
            return 0;
        } else if (!strcmp(a, "--sections")) {
            sections = true;
        } else if (!strcmp(a, "--program")) {
            program = true;
        } else if (a[0] == '-' && a[1]) {
            return usage_error(INSPECT_HELP, "unknown option '%s'", a);
        } else if (file) {
            return usage_error(INSPECT_HELP, "unexpected argument '%s'", a);
        } else {
            file = a;
        }
    }
    if (!file)
        return usage_error(INSPECT_HELP, "%s", "missing IMAGE");
    struct snn_diag *d = snn_diag_new(stderr);
    struct snn_image *img = NULL;
    int err = d ? snn_image_read_file(file, d, &img) : SNN_ENOMEM;
    if (!err) {
        snn_image_describe(img, sections, stdout);
        if (program)
            snn_image_describe_program(img, stdout);
    }
    snn_image_free(img);
    snn_diag_free(d);
    /* An image that cannot be read is an error in the input (a failed
     * write to standard output is main's to report). */
    return err == SNN_EIO ? EXIT_INPUT : exit_code_of(err);
}

/* ---- snnc run, snnc verify ---------------------------------------------- */

/* Whether path's file starts with an image's magic. */
static bool is_image(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char m[4] = {0};
    bool yes = f && fread(m, 1, 4, f) == 4 && m[0] == 'S' && m[1] == 'N' && m[2] == 'N' &&
               m[3] == 'B';
    if (f)
        fclose(f);
    return yes;
}

/* Ends an image written to an open_memstream stream f (NULL: it could not
 * be opened, err says so): closes it, and on any error frees the bytes and
 * sets *bytes to NULL.  The write's error, or SNN_ENOMEM. */
static int memory_done(FILE *f, int err, char **bytes)
{
    if (!f) { /* nothing was allocated */
        *bytes = NULL;
        return err;
    }
    if (fclose(f) && !err)
        err = SNN_ENOMEM;
    if (err) {
        free(*bytes);
        *bytes = NULL;
    }
    return err;
}

/* Compiles the network net for target (every mapping pass) into an image
 * in memory (*img, *size; free()). */
static int build_in_memory(const struct snn_net *net, const char *target, uint32_t npc,
                           struct snn_diag *d, char **img, size_t *size)
{
    struct snn_machine *m = NULL;
    struct snn_map *map = NULL;
    int err = snn_target_load(target, d, &m);
    if (err == SNN_EIO)
        err = SNN_EPARSE;
    struct snn_map_options opt;
    snn_map_options_init(&opt);
    opt.neurons_per_core = npc;
    opt.seed = net->seed;
    if (!err)
        err = snn_map_new(net, m, &opt, &map);
    if (!err)
        err = snn_map_run(map, SNN_PASS_LAYOUT, 0, NULL, d);
    if (!err) {
        FILE *f = open_memstream(img, size);
        err = memory_done(f, f ? snn_spinn_image_write(map, f, d) : SNN_ENOMEM, img);
    }
    snn_map_free(map);
    snn_machine_free(m);
    return err;
}

struct run_ctx {
    struct snn_emu *e;
    FILE *spikes;
    uint64_t *pop_spikes;
};

static int run_spikes(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons, uint32_t n)
{
    struct run_ctx *c = ctx;
    c->pop_spikes[pop] += n;
    if (!c->spikes)
        return 0;
    return put_spikes(c->spikes, step, snn_emu_pop_name(c->e, pop), neurons, n);
}

static void print_emu_summary(const struct snn_emu *e, uint32_t steps, double wall,
                              const uint64_t *pop_spikes)
{
    double dt_ms = snn_emu_dt_ns(e) * 1e-6, sim_ms = steps * dt_ms;
    struct snn_emu_counters c;
    snn_emu_counters(e, &c);
    fprintf(stderr, "emulated %u steps of %g ms (%g ms) on %s in %.3f s\n", steps, dt_ms, sim_ms,
            snn_emu_machine_name(e), wall);
    fprintf(stderr, "  %-24s %10s %12s %12s\n", "population", "neurons", "spikes", "rate (Hz)");
    for (uint32_t p = 0; p < snn_emu_n_pops(e); p++) {
        uint32_t size = snn_emu_pop_size(e, p);
        double rate = sim_ms > 0 && size ? (double)pop_spikes[p] / size / (sim_ms / 1000.0) : 0;
        fprintf(stderr, "  %-24s %10u %12llu %12.3f\n", snn_emu_pop_name(e, p), size,
                (unsigned long long)pop_spikes[p], rate);
    }
    fprintf(stderr,
            "  packets %llu delivered to cores, %llu hops over links, %llu default-routed; "
            "synaptic events %llu (%.3g per second of wall time)\n",
            (unsigned long long)c.deliveries, (unsigned long long)c.hops,
            (unsigned long long)c.default_routed, (unsigned long long)c.synapses,
            wall > 0 ? (double)c.synapses / wall : 0.0);
    if (c.unrouted + c.dead_link + c.no_core + c.loops + c.unknown)
        fprintf(stderr,
                "  dropped: %llu unrouted from a local core, %llu into a dead link or off the "
                "machine, %llu to a core running nothing, %llu looping; %llu unknown to the "
                "cores reached\n",
                (unsigned long long)c.unrouted, (unsigned long long)c.dead_link,
                (unsigned long long)c.no_core, (unsigned long long)c.loops,
                (unsigned long long)c.unknown);
    else
        fprintf(stderr, "  no packet dropped\n");
    const struct snn_core *qc = snn_emu_core(e, c.queue_max_slice);
    if (c.queue_max && qc)
        fprintf(stderr,
                "  deepest core inbox: %llu packets in one step (%s, neurons %u to %u)\n",
                (unsigned long long)c.queue_max, snn_emu_pop_name(e, qc->h.pop), qc->h.lo,
                qc->h.lo + qc->h.n - 1);
    if (c.saturations)
        fprintf(stderr,
                "  %llu ring-buffer words saturated on their way into a neuron: weights too "
                "large for this activity (docs/emulator.md)\n",
                (unsigned long long)c.saturations);
    /* Where traffic is heaviest: the busiest link and router. */
    uint32_t W, H, lx = 0, ly = 0, rx = 0, ry = 0;
    unsigned ll = 0;
    uint64_t lmax = 0, rmax = 0;
    snn_emu_machine_size(e, &W, &H);
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++) {
            struct snn_emu_router r;
            snn_emu_router(e, x, y, &r);
            uint64_t handled = r.matched + r.default_routed + r.unrouted;
            if (handled > rmax)
                rmax = handled, rx = x, ry = y;
            for (unsigned l = 0; l < SNN_MACHINE_LINKS; l++) {
                uint64_t n = snn_emu_link_packets(e, x, y, l);
                if (n > lmax)
                    lmax = n, lx = x, ly = y, ll = l;
            }
        }
    if (rmax)
        fprintf(stderr, "  busiest router: chip (%u, %u), %llu packets (%.3g per step)\n", rx, ry,
                (unsigned long long)rmax, steps ? (double)rmax / steps : 0.0);
    if (lmax)
        fprintf(stderr, "  busiest link: chip (%u, %u) %s, %llu packets (%.3g per step)\n", lx, ly,
                snn_link_name(ll), (unsigned long long)lmax, steps ? (double)lmax / steps : 0.0);
}

/* --counters: every nonzero count of every router and link, a line each:
 * x,y,counter,count. */
static int write_counters(const struct snn_emu *e, FILE *f)
{
    uint32_t W, H;
    snn_emu_machine_size(e, &W, &H);
    fputs("x,y,counter,count\n", f);
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++) {
            struct snn_emu_router r;
            snn_emu_router(e, x, y, &r);
            const struct {
                const char *name;
                uint64_t n;
            } c[] = {{"router.matched", r.matched},       {"router.default", r.default_routed},
                     {"router.delivered", r.delivered},   {"router.unrouted", r.unrouted},
                     {"router.dead_link", r.dead_link},   {"router.no_core", r.no_core}};
            for (size_t k = 0; k < sizeof c / sizeof c[0]; k++)
                if (c[k].n)
                    fprintf(f, "%u,%u,%s,%llu\n", x, y, c[k].name, (unsigned long long)c[k].n);
            for (unsigned l = 0; l < SNN_MACHINE_LINKS; l++) {
                uint64_t n = snn_emu_link_packets(e, x, y, l);
                if (n)
                    fprintf(f, "%u,%u,link.%s,%llu\n", x, y, snn_link_name(l),
                            (unsigned long long)n);
            }
        }
    return ferror(f) ? SNN_EIO : 0;
}

/* The options run and verify share. */
struct exec_opts {
    const char *file, *target, *out, *input, *counters;
    const char *device, *trace; /* --device (NULL: emu), --trace (rtl) */
    uint32_t npc, threads;
    uint64_t steps;
    int quiet;
};

static int parse_exec(int argc, char **argv, const char *help, bool verify, struct exec_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        char name[32];
        const char *v, *a = option_name(argv[i], name, sizeof name, &v);
        int has_arg = !strcmp(a, "--target") || !strcmp(a, "--neurons-per-core") ||
                      !strcmp(a, "--steps") || !strcmp(a, "--threads") ||
                      (!verify && (!strcmp(a, "-o") || !strcmp(a, "--device") ||
                                   !strcmp(a, "--input") || !strcmp(a, "--counters") ||
                                   !strcmp(a, "--trace")));
        if (v && !has_arg)
            return usage_error(help, "unknown option '%s'", argv[i]);
        if (has_arg && !v) {
            if (i + 1 == argc)
                return usage_error(help, "%s needs a value", a);
            v = argv[++i];
        }
        uint64_t u;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            return -1;
        } else if (!strcmp(a, "--target")) {
            o->target = v;
        } else if (!strcmp(a, "-o")) {
            o->out = v;
        } else if (!strcmp(a, "--input")) {
            o->input = v;
        } else if (!strcmp(a, "--counters")) {
            o->counters = v;
        } else if (!strcmp(a, "--device")) {
            if (strcmp(v, "emu") && strcmp(v, "rtl"))
                return usage_error(help, "--device: '%s' is not a device snnc has (emu, rtl)", v);
            o->device = v;
        } else if (!strcmp(a, "--trace")) {
            o->trace = v;
        } else if (!strcmp(a, "--neurons-per-core")) {
            if (parse_u64(v, &u) || u == 0 || u > UINT32_MAX)
                return usage_error(help, "--neurons-per-core: '%s' is not a positive count", v);
            o->npc = (uint32_t)u;
        } else if (!strcmp(a, "--steps")) {
            if (parse_u64(v, &u) || u == 0 || u > UINT32_MAX)
                return usage_error(help, "--steps takes a whole number from 1 to 4294967295, "
                                         "not '%s'", v);
            o->steps = u;
        } else if (!strcmp(a, "--threads")) {
            if (parse_u64(v, &u) || u == 0 || u > 2)
                return usage_error(help, "--threads: '%s' is not 1 or 2", v);
            o->threads = (uint32_t)u;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o->quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            return usage_error(help, "unknown option '%s'", a);
        } else if (o->file) {
            return usage_error(help, "unexpected argument '%s'", a);
        } else {
            o->file = a;
        }
    }
    if (!o->file)
        return usage_error(help, "%s", "missing FILE");
    return 0;
}

/* What run and verify load: the network (when FILE is one), the image
 * (checked from a file, or built in memory), the emulator and the steps. */
struct exec_state {
    struct snn_diag *d;
    struct snn_net *net;
    struct snn_image *checked;
    char *img;
    size_t size;
    struct snn_emu *e;
    uint32_t steps;
};

static int exec_load(const struct exec_opts *o, bool image, struct exec_state *x)
{
    memset(x, 0, sizeof *x);
    x->d = snn_diag_new(stderr);
    int err = x->d ? 0 : SNN_ENOMEM;
    if (!err && image) {
        err = snn_image_read_file(o->file, x->d, &x->checked);
        if (err == SNN_EIO)
            err = SNN_EPARSE; /* an image that cannot be read is an error in the input */
        if (!err && snn_image_header(x->checked)->family == SNN_IMAGE_FAMILY_SDT) {
            fprintf(stderr, "snnc: error: %s is an sdt image (for the accelerator); the "
                            "emulator runs spinn images: run it with --device rtl\n",
                    o->file);
            err = SNN_EUNSUPPORTED;
        }
    } else if (!err) {
        err = load_net(o->file, x->d, &x->net);
        if (!err)
            err = build_in_memory(x->net, o->target, o->npc, x->d, &x->img, &x->size);
    }
    struct snn_emu_options eo = {.threads = o->threads};
    struct snn_machine *m = NULL;
    if (!err && image && o->target) /* the image must be for this machine */
        err = snn_target_load(o->target, x->d, &m);
    eo.machine = m;
    if (!err) {
        uint64_t n = x->size;
        const void *bytes = x->checked ? snn_image_data(x->checked, &n) : x->img;
        err = snn_emu_new(bytes, n, &eo, x->d, &x->e);
    }
    snn_machine_free(m);
    x->steps = o->steps ? (uint32_t)o->steps : x->e ? snn_emu_n_steps(x->e) : 0;
    if (!err && x->steps == 0) {
        fprintf(stderr, "snnc: error: the run has no duration: give --steps\n");
        err = SNN_EPARSE;
    }
    return err;
}

static void exec_free(struct exec_state *x)
{
    snn_emu_free(x->e);
    snn_image_free(x->checked);
    free(x->img);
    snn_net_free(x->net);
    snn_diag_free(x->d);
}

/* ---- sdt images on the RTL model (run --device rtl, verify --target sdt) -- */

/* The layer graph net quantized (*lq) and lowered for sdt target t
 * (*prog); a network of populations is an error naming file.  The caller
 * frees both, whatever the result. */
static int sdt_lower_net(const struct snn_net *net, const struct snn_sdt_target *t,
                         const char *file, struct snn_diag *d, struct snn_lquant **lq,
                         struct snn_sdt_program **prog)
{
    if (!net->layers) {
        snn_diag_error(d, NULL,
                       "%s: target '%s' is an sdt accelerator, which runs layer graphs "
                       "(docs/network-format.md, \"Layer graphs\"); this network has "
                       "populations (use a spinn target)",
                       file, t->name);
        return SNN_EUNSUPPORTED;
    }
    int err = snn_layers_quantize(net, d, lq);
    return err ? err : snn_sdt_lower(net, *lq, t, d, prog);
}

/* Compiles the layer graph net for sdt target t into an image in memory
 * (*bytes, *size; free()). */
static int sdt_image_in_memory(const struct snn_net *net, const struct snn_sdt_target *t,
                               const char *file, struct snn_diag *d, char **bytes, size_t *size)
{
    *bytes = NULL;
    struct snn_lquant *lq = NULL;
    struct snn_sdt_program *prog = NULL;
    int err = sdt_lower_net(net, t, file, d, &lq, &prog);
    if (!err) {
        FILE *f = open_memstream(bytes, size);
        err = memory_done(f, f ? snn_sdt_image_write(prog, f, d) : SNN_ENOMEM, bytes);
    }
    snn_sdt_program_free(prog);
    snn_lquant_free(lq);
    return err;
}

/* Loads the sdt target name (a built-in or a file); a spinn target is an
 * error naming it.  SNN_EIO (no such target) is an input error here. */
static int load_sdt_target(const char *name, struct snn_diag *d, struct snn_sdt_target **t)
{
    struct snn_machine *m = NULL;
    int err = snn_target_load_any(name, d, &m, t);
    if (err == SNN_EIO)
        err = SNN_EPARSE;
    if (!err && m) {
        fprintf(stderr, "snnc: error: target '%s' is a board (spinn family); the rtl device "
                        "runs the sdt accelerator: give an sdt target (snnc targets)\n", name);
        snn_machine_free(m);
        err = SNN_EUNSUPPORTED;
    }
    return err;
}

/* Whether the image's configuration is target t's. */
static bool sdt_config_is(const struct snn_sdt_image_config *g, const struct snn_sdt_target *t)
{
    return g->lanes == t->lanes && g->pmem_log2 == t->pmem_log2 && g->wmem_log2 == t->wmem_log2 &&
           g->qmem_log2 == t->qmem_log2 && g->dmem_log2 == t->dmem_log2 &&
           g->evt_log2 == t->evt_log2 && g->fifo_log2 == t->fifo_log2;
}

/* What an sdt run needs: the image (read from a file, or built from a
 * network for --target, default sdt), its checked view and the target
 * file when one was loaded. */
struct sdt_exec {
    struct snn_diag *d;
    struct snn_net *net;
    struct snn_sdt_target *t;
    char *bytes;
    size_t size;
    struct snn_image *img;
};

static int sdt_exec_load(const struct exec_opts *o, bool image, struct sdt_exec *x)
{
    memset(x, 0, sizeof *x);
    x->d = snn_diag_new(stderr);
    if (!x->d)
        return SNN_ENOMEM;
    int err = 0;
    if (image) {
        err = snn_image_read_file(o->file, x->d, &x->img);
        if (err == SNN_EIO)
            err = SNN_EPARSE;
        if (!err && snn_image_header(x->img)->family != SNN_IMAGE_FAMILY_SDT) {
            fprintf(stderr, "snnc: error: %s is a spinn image (for a board); the rtl device "
                            "runs sdt images (snnc build --target sdt), the emulator this one "
                            "(--device emu)\n", o->file);
            err = SNN_EUNSUPPORTED;
        }
        if (!err && o->target) {
            err = load_sdt_target(o->target, x->d, &x->t);
            const struct snn_sdt_image_config *g = err ? NULL : snn_image_sdt_config(x->img);
            if (g && !sdt_config_is(g, x->t)) {
                fprintf(stderr, "snnc: error: %s was built for target '%s' (%u lanes), whose "
                                "configuration is not target '%s''s (%u lanes)\n",
                        o->file, g->name, g->lanes, x->t->name, x->t->lanes);
                err = SNN_EPARSE;
            }
        }
    } else {
        err = load_net(o->file, x->d, &x->net);
        if (!err)
            err = load_sdt_target(o->target ? o->target : "sdt", x->d, &x->t);
        if (!err)
            err = sdt_image_in_memory(x->net, x->t, o->file, x->d, &x->bytes, &x->size);
        if (!err)
            err = snn_image_open(x->bytes, x->size, o->file, x->d, &x->img);
    }
    return err;
}

static void sdt_exec_free(struct sdt_exec *x)
{
    snn_image_free(x->img);
    free(x->bytes);
    snn_sdt_target_free(x->t);
    snn_net_free(x->net);
    snn_diag_free(x->d);
}

/* The multiply-accumulates a dense (ANN) execution of the program's
 * synaptic layers makes in a step: every CONV tap of every input element
 * (inputs all nonzero), and KV and QKV with every token of K and Q. */
static uint64_t dense_macs(const struct snn_image *img)
{
    uint32_t n;
    const unsigned char *p = snn_image_sdt_program(img, &n);
    uint64_t macs = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t d[SNN_SDT_DESC_WORDS];
        memcpy(d, p + (size_t)i * SNN_SDT_DESC_BYTES, sizeof d);
        uint64_t cin = SNN_SDT_CIN(d[1]), cout = SNN_SDT_COUT(d[1]);
        uint64_t hin = SNN_SDT_HIN(d[2]), hout = SNN_SDT_HOUT(d[2]), wout = SNN_SDT_WOUT(d[2]);
        uint64_t k = SNN_SDT_K(d[3]), h = SNN_SDT_HEADS(d[SNN_SDT_W_NP]);
        switch (SNN_SDT_OPCODE(d[0])) {
        case SNN_SDT_OP_CONV:
            macs += (SNN_SDT_DEPTHWISE(d[3]) ? 1 : cin) * k * k * cout * hout * wout;
            break;
        case SNN_SDT_OP_KV:
        case SNN_SDT_OP_QKV:
            macs += h ? hin * cin * (cin / h) : 0;
            break;
        default:
            break;
        }
    }
    return macs;
}

/* The run's report: cycles, lane utilisation, SRAM traffic per memory,
 * spikes per layer and the energy estimate (docs/sdt-accelerator.md,
 * "Running an image"). */
static void print_rtl_summary(const struct snn_rtl *r, const struct snn_image *img,
                              const struct snn_sdt_target *t, const uint64_t *layer_spikes,
                              uint32_t steps, double wall)
{
    /* Where the constants come from, when a target file says it: the one
     * given, else the built-in target the image names if it is the same
     * machine with the same constants. */
    const char *source = t ? t->energy.source : NULL;
    struct snn_sdt_target *named = NULL;
    struct snn_machine *spinn = NULL;
    const struct snn_sdt_image_config *gi = snn_image_sdt_config(img);
    if (!t && snn_target_builtin_text(gi->name, NULL) &&
        snn_target_load_any(gi->name, NULL, &spinn, &named) == 0 && named &&
        sdt_config_is(gi, named) && (uint32_t)lround(named->energy.ac_pj * 1e6) == gi->e_ac_aj &&
        (uint32_t)lround(named->energy.mac_pj * 1e6) == gi->e_mac_aj)
        source = named->energy.source;
    const struct snn_sdt_image_config *g = snn_image_sdt_config(img);
    uint64_t c[SNN_SDT_COUNTERS];
    snn_rtl_counters(r, c);
    uint64_t L = g->lanes, cyc = c[SNN_SDT_COUNTER_CYCLES];
    double us = g->clock_mhz ? (double)cyc / g->clock_mhz : 0;
    fprintf(stderr,
            "ran %u steps on the sdt RTL model (target '%s': %u lanes, %u MHz) in %.3f s\n", steps,
            g->name, g->lanes, g->clock_mhz, wall);
    fprintf(stderr, "  cycles %llu (%.1f a step), %.3f us at %u MHz\n", (unsigned long long)cyc,
            steps ? (double)cyc / steps : 0.0, us, g->clock_mhz);
    fprintf(stderr, "  %-24s %10s %12s %9s\n", "layer", "size", "spikes", "density");
    for (uint32_t i = 0; i < snn_rtl_n_outputs(r); i++) {
        const struct snn_sdt_image_output *o = snn_rtl_output_info(r, i);
        if (!(o->flags & SNN_SDT_OUT_SPIKING))
            continue;
        double size = (double)o->c * o->h * o->w;
        fprintf(stderr, "  %-24s %10.0f %12llu %8.2f%%\n", snn_rtl_output_name(r, i), size,
                (unsigned long long)layer_spikes[i],
                steps ? 100.0 * (double)layer_spikes[i] / (size * steps) : 0.0);
    }
    uint64_t pe = c[SNN_SDT_COUNTER_PE_LANES], pe_cyc = c[SNN_SDT_COUNTER_PE_CYCLES];
    fprintf(stderr,
            "  lane utilisation %.2f%% (busy lane-cycles %llu / (%llu lanes x %llu cycles)); "
            "%.2f%% of the PE array's issued cycles (%llu); neuron unit %.2f%%\n",
            cyc ? 100.0 * (double)pe / (double)(L * cyc) : 0.0, (unsigned long long)pe,
            (unsigned long long)L, (unsigned long long)cyc,
            pe_cyc ? 100.0 * (double)pe / (double)(L * pe_cyc) : 0.0, (unsigned long long)pe_cyc,
            cyc ? 100.0 * (double)c[SNN_SDT_COUNTER_NEURON_LANES] / (double)(L * cyc) : 0.0);
    static const char *const mems[] = {"WMEM", "QMEM", "DMEM", "EVT"};
    const uint64_t bits[] = {L * 8, L * 64, L * 32, 32};
    uint64_t rd_bits = 0, wr_bits = 0;
    fprintf(stderr, "  SRAM %-6s %12s %12s %6s %14s\n", "", "reads", "writes", "bits", "bits moved");
    for (unsigned m = 0; m < 4; m++) {
        uint64_t rd = c[SNN_SDT_COUNTER_WMEM_READS + 2 * m];
        uint64_t wr = c[SNN_SDT_COUNTER_WMEM_WRITES + 2 * m];
        rd_bits += rd * bits[m];
        wr_bits += wr * bits[m];
        fprintf(stderr, "       %-6s %12llu %12llu %6llu %14llu\n", mems[m],
                (unsigned long long)rd, (unsigned long long)wr, (unsigned long long)bits[m],
                (unsigned long long)((rd + wr) * bits[m]));
    }
    fprintf(stderr, "  events in %llu, spikes out %llu, accumulates %llu, multiplies %llu\n",
            (unsigned long long)c[SNN_SDT_COUNTER_EVENTS_IN],
            (unsigned long long)c[SNN_SDT_COUNTER_SPIKES_OUT],
            (unsigned long long)c[SNN_SDT_COUNTER_ACCUMULATES],
            (unsigned long long)c[SNN_SDT_COUNTER_MULTIPLIES]);
    /* The constants: the image's (attojoules), unless it holds none. */
    double ac = g->e_ac_aj * 1e-6, mac = g->e_mac_aj * 1e-6, rb = g->e_read_bit_aj * 1e-6,
           wb = g->e_write_bit_aj * 1e-6;
    const char *from = "the image";
    if (!g->e_ac_aj && !g->e_mac_aj && !g->e_read_bit_aj && !g->e_write_bit_aj) {
        from = t ? "the target file (the image holds none)"
                 : "the defaults of target sdt (the image holds none)";
        ac = t ? t->energy.ac_pj : SNN_SDT_DEFAULT_E_AC_PJ;
        mac = t ? t->energy.mac_pj : SNN_SDT_DEFAULT_E_MAC_PJ;
        rb = t ? t->energy.read_bit_pj : SNN_SDT_DEFAULT_E_READ_BIT_PJ;
        wb = t ? t->energy.write_bit_pj : SNN_SDT_DEFAULT_E_WRITE_BIT_PJ;
    }
    double e_ac = (double)c[SNN_SDT_COUNTER_ACCUMULATES] * ac;
    double e_mul = (double)c[SNN_SDT_COUNTER_MULTIPLIES] * mac;
    double e_sram = (double)rd_bits * rb + (double)wr_bits * wb;
    double total = e_ac + e_mul + e_sram;
    fprintf(stderr,
            "  energy (estimate) %.4g uJ = AC %.4g uJ + MUL %.4g uJ + SRAM %.4g uJ "
            "(%.4g uJ a step)\n",
            total * 1e-6, e_ac * 1e-6, e_mul * 1e-6, e_sram * 1e-6,
            steps ? total * 1e-6 / steps : 0.0);
    fprintf(stderr,
            "    E = AC x E_AC + MUL x E_MAC + bits read x E_rd + bits written x E_wr; from %s "
            "(target '%s'): E_AC %g pJ, E_MAC %g pJ, E_rd %g pJ/bit, E_wr %g pJ/bit%s%s\n",
            from, g->name, ac, mac, rb, wb, source ? "; " : "", source ? source : "");
    uint64_t macs = dense_macs(img) * steps;
    fprintf(stderr,
            "    the same synaptic layers dense (an ANN, every input multiplied): %llu MACs x "
            "E_MAC = %.4g uJ, %.3gx the estimate's AC + MUL\n",
            (unsigned long long)macs, (double)macs * mac * 1e-6,
            e_ac + e_mul > 0 ? (double)macs * mac / (e_ac + e_mul) : 0.0);
    snn_machine_free(spinn);
    snn_sdt_target_free(named);
}

/* snnc run --device rtl: an sdt image (or a layer graph built on the spot)
 * on the accelerator's RTL model. */
static int run_rtl(const struct exec_opts *o, bool image)
{
    struct sdt_exec x;
    int err = sdt_exec_load(o, image, &x);
    struct snn_rtl *r = NULL;
    struct out_file so = {0};
    uint64_t *layer_spikes = NULL;
    uint32_t steps = 0;
    if (!err) {
        struct snn_rtl_options ro = {.trace_path = o->trace};
        err = snn_rtl_new(x.img, &ro, x.d, &r);
        if (err == SNN_EUNSUPPORTED || err == SNN_EINVAL)
            err = SNN_EPARSE; /* an image this snnc cannot run is an error in the input */
    }
    if (!err) {
        uint32_t T = snn_rtl_steps(r);
        steps = o->steps ? (uint32_t)o->steps : T;
        if (steps > T) {
            fprintf(stderr, "snnc: error: the image's input holds %u steps, not %u\n", T, steps);
            err = SNN_EPARSE;
        }
    }
    if (!err && !(layer_spikes = snn_calloc(snn_rtl_n_outputs(r) + 1, sizeof *layer_spikes)))
        err = SNN_ENOMEM;
    if (!err && o->out && !(err = out_open(&so, o->out)))
        fputs("step,layer,c,y,x,value\n", so.f);
    double t0 = wall_s();
    uint64_t clocked = r ? snn_rtl_model_cycles(r) : 0;
    for (uint32_t s = 0; !err && s < steps; s++) {
        if ((err = snn_rtl_step(r, x.d)))
            break;
        /* Every nonzero output of every spiking layer, in (y, x, c) order,
         * as snnc sim -o writes them. */
        for (uint32_t i = 0; i < snn_rtl_n_outputs(r); i++) {
            const struct snn_sdt_image_output *oi = snn_rtl_output_info(r, i);
            if (!(oi->flags & SNN_SDT_OUT_SPIKING))
                continue;
            const int32_t *v = snn_rtl_output(r, i);
            const char *name = snn_rtl_output_name(r, i);
            for (uint32_t y = 0; y < oi->h; y++)
                for (uint32_t xx = 0; xx < oi->w; xx++)
                    for (uint32_t ch = 0; ch < oi->c; ch++) {
                        int32_t val = v[((size_t)ch * oi->h + y) * oi->w + xx];
                        if (!val)
                            continue;
                        layer_spikes[i]++;
                        if (so.f)
                            fprintf(so.f, "%u,%s,%u,%u,%u,%d\n", s, name, ch, y, xx, val);
                    }
        }
        if (so.f && ferror(so.f)) {
            fprintf(stderr, "snnc: error: writing the spikes failed: %s\n", strerror(errno));
            err = SNN_EIO;
        }
    }
    double wall = wall_s() - t0;
    clocked = r ? snn_rtl_model_cycles(r) - clocked : 0;
    int cerr = out_close(&so, !err);
    err = err ? err : cerr;
    if (!err && !o->quiet) {
        print_rtl_summary(r, x.img, x.t, layer_spikes, steps, wall);
        fprintf(stderr,
                "  model: %llu cycles in %.3f s, %.3g a second (every clock the model was "
                "given in the steps: the machine's and the host bus's)\n",
                (unsigned long long)clocked, wall, wall > 0 ? (double)clocked / wall : 0.0);
    }
    snn_rtl_free(r); /* closes the trace */
    snn_free(layer_spikes);
    sdt_exec_free(&x);
    return exit_code_of(err);
}

/* snnc verify for an sdt target: the reference simulator (lquant + lsim)
 * against the backend's image on the RTL model, every output tensor of
 * every step, bit for bit. */
static int verify_sdt(const struct exec_opts *o)
{
    struct sdt_exec x;
    int err = sdt_exec_load(o, false, &x);
    struct snn_lquant *lq = NULL;
    struct snn_lsim *ls = NULL;
    struct snn_rtl *r = NULL;
    int32_t *ref = NULL;
    uint32_t steps = 0;
    uint64_t spikes = 0, values = 0;
    double t_ref = 0, t_rtl = 0;
    if (!err)
        err = snn_layers_quantize(x.net, x.d, &lq);
    if (!err)
        err = snn_lsim_new(x.net, lq, false, &ls);
    if (!err) {
        err = snn_rtl_new(x.img, NULL, x.d, &r);
        if (err == SNN_EUNSUPPORTED)
            err = SNN_EPARSE;
    }
    if (!err) {
        uint32_t T = snn_rtl_steps(r), most = 1;
        steps = o->steps && o->steps < T ? (uint32_t)o->steps : T;
        if (o->steps > T)
            fprintf(stderr, "snnc: note: a layer graph runs for its %u timesteps; --steps %llu "
                            "is more\n", T, (unsigned long long)o->steps);
        for (uint32_t i = 0; i < snn_rtl_n_outputs(r); i++) {
            const struct snn_sdt_image_output *oi = snn_rtl_output_info(r, i);
            if (oi->c * oi->h * oi->w > most)
                most = oi->c * oi->h * oi->w;
        }
        if (!(ref = snn_malloc((size_t)most * sizeof *ref)))
            err = SNN_ENOMEM;
    }
    for (uint32_t s = 0; !err && s < steps; s++) {
        double t0 = wall_s();
        err = snn_lsim_step(ls, NULL);
        t_ref += wall_s() - t0;
        t0 = wall_s();
        if (!err)
            err = snn_rtl_step(r, x.d);
        t_rtl += wall_s() - t0;
        /* Outputs in the table's order (graph order), elements in [c][h][w]
         * order: the first index where they differ is the first difference. */
        for (uint32_t i = 0; !err && i < snn_rtl_n_outputs(r); i++) {
            const struct snn_sdt_image_output *oi = snn_rtl_output_info(r, i);
            const int32_t *v = snn_rtl_output(r, i);
            uint32_t size = oi->c * oi->h * oi->w, k = 0;
            snn_lsim_read(ls, oi->node, ref);
            while (k < size && ref[k] == v[k])
                k++;
            values += size;
            if (oi->flags & SNN_SDT_OUT_SPIKING)
                for (uint32_t e = 0; e < size; e++)
                    spikes += ref[e] != 0;
            if (k < size) {
                static const char *const kinds[] = {"spikes", "counts", "q16"};
                uint32_t hw = oi->h * oi->w;
                printf("first difference: step %u, layer '%s' [%u, %u, %u] %s, element %u "
                       "(c %u, y %u, x %u): %d on the reference simulator, %d on the "
                       "accelerator\n",
                       s, snn_rtl_output_name(r, i), oi->c, oi->h, oi->w,
                       kinds[oi->kind < 3 ? oi->kind : 2], k, k / hw, k % hw / oi->w, k % oi->w,
                       ref[k], v[k]);
                err = SNN_EMISMATCH;
            }
        }
    }
    if (!err && !o->quiet) {
        uint64_t c[SNN_SDT_COUNTERS];
        snn_rtl_counters(r, c);
        printf("%s on %s: %llu spikes in %u steps, identical on the reference simulator "
               "(%.3f s) and the accelerator's RTL (%.3f s, %llu cycles); %llu output values "
               "compared\n",
               x.net->name ? x.net->name : o->file, x.t->name, (unsigned long long)spikes, steps,
               t_ref, t_rtl, (unsigned long long)c[SNN_SDT_COUNTER_CYCLES],
               (unsigned long long)values);
    }
    snn_free(ref);
    snn_rtl_free(r);
    snn_lsim_free(ls);
    snn_lquant_free(lq);
    sdt_exec_free(&x);
    return exit_code_of(err);
}

static int cmd_run(int argc, char **argv)
{
    struct exec_opts o;
    int u = parse_exec(argc, argv, RUN_HELP, false, &o);
    if (u)
        return u < 0 ? 0 : u;
    bool image = is_image(o.file);
    bool rtl = o.device && !strcmp(o.device, "rtl");
    if (o.trace && !rtl)
        return usage_error(RUN_HELP, "%s", "--trace is for --device rtl");
    if (rtl && (o.input || o.counters || o.npc || o.threads))
        return usage_error(RUN_HELP, "%s",
                           "--input, --counters, --neurons-per-core and --threads are for the "
                           "emulator, not --device rtl");
    if (rtl)
        return run_rtl(&o, image);
    if (!image && !o.target)
        return usage_error(RUN_HELP, "%s",
                           "a network needs --target (or give an image: snnc build)");
    if (image && o.input)
        return usage_error(RUN_HELP, "%s",
                           "--input names populations of a network: give the network FILE");
    struct exec_state x;
    int err = exec_load(&o, image, &x);
    struct snn_emu *e = x.e;
    uint32_t steps = x.steps;
    uint64_t *pop_spikes = NULL;
    if (!err && o.input) {
        char *text;
        size_t len;
        struct snn_spike_list in = {0};
        if ((err = read_file(o.input, &text, &len))) {
            fprintf(stderr, "snnc: error: cannot read '%s': %s\n", o.input, strerror(errno));
            err = SNN_EPARSE;
        } else {
            err = snn_diag_add_source(x.d, o.input, text, len);
            if (!err)
                err = snn_spikes_parse_csv(o.input, text, len, x.net, x.d, &in);
            snn_free(text);
        }
        for (uint64_t k = 0; !err && k < in.n; k++)
            if ((err = snn_emu_inject(e, in.pop[k], in.neuron[k], in.step[k])) == SNN_EINVAL) {
                fprintf(stderr,
                        "snnc: error: %s: spike %llu names neuron %u of '%s', which is no "
                        "spike source\n",
                        o.input, (unsigned long long)k + 1, in.neuron[k],
                        x.net->pops[in.pop[k]].name);
                err = SNN_EPARSE;
            }
        snn_spike_list_free(&in);
    }
    struct out_file so = {0};
    struct run_ctx ctx = {.e = e};
    if (!err && !(pop_spikes = snn_calloc(snn_emu_n_pops(e) + 1, sizeof *pop_spikes)))
        err = SNN_ENOMEM;
    ctx.pop_spikes = pop_spikes;
    if (!err && o.out && !(err = out_open(&so, o.out))) {
        ctx.spikes = so.f;
        fputs("step,population,neuron\n", so.f);
    }
    double t0 = wall_s();
    if (!err) {
        err = snn_emu_run(e, steps, run_spikes, &ctx);
        if (err == SNN_EIO)
            fprintf(stderr, "snnc: error: writing the spikes failed: %s\n", strerror(errno));
    }
    double wall = wall_s() - t0;
    int cerr = out_close(&so, !err);
    err = err ? err : cerr;
    if (!err && o.counters) {
        struct out_file co;
        err = out_open(&co, o.counters);
        if (!err) {
            err = write_counters(e, co.f);
            int e2 = out_close(&co, !err);
            err = err ? err : e2;
        }
    }
    if (!err && !o.quiet)
        print_emu_summary(e, steps, wall, pop_spikes);
    snn_free(pop_spikes);
    exec_free(&x);
    return exit_code_of(err);
}

/* Spikes of both executors, for verify. */
static int collect_spikes(void *ctx, uint32_t step, uint32_t pop, const uint32_t *neurons,
                          uint32_t n)
{
    struct snn_spike_list *l = ctx;
    for (uint32_t k = 0; k < n; k++)
        if (snn_spike_list_push(l, step, pop, neurons[k]))
            return SNN_ENOMEM;
    return 0;
}

static int cmd_verify(int argc, char **argv)
{
    struct exec_opts o;
    int u = parse_exec(argc, argv, VERIFY_HELP, true, &o);
    if (u)
        return u < 0 ? 0 : u;
    if (!o.target)
        return usage_error(VERIFY_HELP, "%s", "missing --target (snnc targets lists the built-in ones)");
    {
        /* An sdt target: the reference simulator against the RTL model. */
        struct snn_machine *m = NULL;
        struct snn_sdt_target *t = NULL;
        struct snn_diag *d = snn_diag_new(stderr);
        int err = d ? snn_target_load_any(o.target, d, &m, &t) : SNN_ENOMEM;
        snn_machine_free(m);
        snn_sdt_target_free(t);
        snn_diag_free(d);
        if (err) /* reported */
            return exit_code_of(err == SNN_EIO ? SNN_EPARSE : err);
        if (t)
            return verify_sdt(&o);
    }
    struct exec_state x;
    int err = exec_load(&o, false, &x);
    struct snn_net *net = x.net;
    struct snn_emu *e = x.e;
    struct snn_diag *d = x.d;
    uint32_t steps = x.steps;
    struct snn_spike_list ref = {0}, emu = {0};
    double t_ref = 0, t_emu = 0;
    if (!err) {
        struct snn_sim_opts so = {.steps = steps, .ctx = &ref, .on_spikes = collect_spikes,
                                  .all_spikes = true};
        double t0 = wall_s();
        err = snn_sim_run(net, &so, d, NULL);
        t_ref = wall_s() - t0;
    }
    if (!err) {
        double t0 = wall_s();
        err = snn_emu_run(e, steps, collect_spikes, &emu);
        t_emu = wall_s() - t0;
    }
    if (!err) {
        /* Both report step by step, population by population, neurons
         * ascending: the first index where they differ is the first
         * difference in time. */
        uint64_t k = 0;
        while (k < ref.n && k < emu.n && ref.step[k] == emu.step[k] && ref.pop[k] == emu.pop[k] &&
               ref.neuron[k] == emu.neuron[k])
            k++;
        if (k < ref.n || k < emu.n) {
            bool in_ref = k < ref.n;
            /* the earlier of the two spikes at k is the one the other lacks */
            if (k < ref.n && k < emu.n &&
                (emu.step[k] < ref.step[k] ||
                 (emu.step[k] == ref.step[k] &&
                  (emu.pop[k] < ref.pop[k] ||
                   (emu.pop[k] == ref.pop[k] && emu.neuron[k] < ref.neuron[k])))))
                in_ref = false;
            const struct snn_spike_list *l = in_ref ? &ref : &emu;
            printf("first difference: step %u, population '%s', neuron %u fired on the %s only\n",
                   l->step[k], net->pops[l->pop[k]].name, l->neuron[k],
                   in_ref ? "reference simulator" : "emulator");
            printf("(%llu spikes from the reference simulator, %llu from the emulator)\n",
                   (unsigned long long)ref.n, (unsigned long long)emu.n);
            err = SNN_EMISMATCH;
        } else if (!o.quiet) {
            printf("%s on %s: %llu spikes in %u steps, identical on the reference simulator "
                   "(%.3f s) and the emulator (%.3f s)\n",
                   net->name, o.target, (unsigned long long)ref.n, steps, t_ref, t_emu);
        }
    }
    snn_spike_list_free(&ref);
    snn_spike_list_free(&emu);
    exec_free(&x);
    return exit_code_of(err);
}

/* ---- snnc map, snnc build ------------------------------------------------ */

/* snnc build for an sdt target: the layer graph quantized, lowered and
 * written as an sdt image. */
static int build_sdt(const struct snn_net *net, const struct snn_sdt_target *t,
                     const char *file, const char *output, int quiet, struct snn_diag *d)
{
    struct snn_lquant *lq = NULL;
    struct snn_sdt_program *prog = NULL;
    int err = sdt_lower_net(net, t, file, d, &lq, &prog);
    if (!err) {
        struct out_file o;
        err = out_open(&o, output);
        if (!err) {
            err = snn_sdt_image_write(prog, o.f, d);
            long size = o.f != stdout ? ftell(o.f) : -1;
            int close_err = out_close(&o, !err);
            err = err ? err : close_err;
            if (!err && !quiet && o.path)
                printf("%s: %ld bytes, %u descriptors, %u words of DMEM on %s\n", output, size,
                       prog->n_desc, prog->dmem_words, t->name);
        }
    }
    if (!err)
        err = stdout_status();
    snn_sdt_program_free(prog);
    snn_lquant_free(lq);
    return err;
}

/* snnc map and snnc build: the same options; build also writes the image
 * (-o), runs every pass and prints only a line about the image. */
static int cmd_map(int argc, char **argv, bool build)
{
    const char *help = build ? BUILD_HELP : MAP_HELP;
    const char *file = NULL, *target = NULL, *report = NULL, *output = NULL;
    struct snn_map_options opt;
    snn_map_options_init(&opt);
    unsigned dump_after = 0;
    enum snn_map_pass until = SNN_PASS_LAYOUT;
    int quiet = 0, have_seed = 0;
    for (int i = 0; i < argc; i++) {
        char name[32];
        const char *v, *a = option_name(argv[i], name, sizeof name, &v);
        int has_arg = !strcmp(a, "--target") || !strcmp(a, "--report") ||
                      !strcmp(a, "--compress") || !strcmp(a, "--neurons-per-core") ||
                      !strcmp(a, "--rate") || !strcmp(a, "--seed") || !strcmp(a, "--dump-after") ||
                      (!build && !strcmp(a, "--until")) || (build && !strcmp(a, "-o"));
        if (v && !has_arg)
            return usage_error(help, "unknown option '%s'", argv[i]);
        if (has_arg && !v) {
            if (i + 1 == argc)
                return usage_error(help, "%s needs a value", a);
            v = argv[++i];
        }
        uint64_t u;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            return 0;
        } else if (!strcmp(a, "--target")) {
            target = v;
        } else if (!strcmp(a, "--report")) {
            report = v;
        } else if (!strcmp(a, "--compress")) {
            if (!strcmp(v, "fit"))
                opt.compress = SNN_COMPRESS_FIT;
            else if (!strcmp(v, "min"))
                opt.compress = SNN_COMPRESS_MIN;
            else if (!strcmp(v, "none"))
                opt.compress = SNN_COMPRESS_NONE;
            else
                return usage_error(help, "--compress: '%s' is not fit, min or none", v);
        } else if (!strcmp(a, "--neurons-per-core")) {
            if (parse_u64(v, &u) || u == 0 || u > UINT32_MAX)
                return usage_error(help, "--neurons-per-core: '%s' is not a positive count",
                                   v);
            opt.neurons_per_core = (uint32_t)u;
        } else if (!strcmp(a, "--rate")) {
            char *end;
            errno = 0;
            double r = strtod(v, &end);
            if (errno || *end || !*v || !(r >= 0) || r > 1e6)
                return usage_error(help, "--rate: '%s' is not a rate in Hz (0 .. 1e6)", v);
            opt.rate_hz = r;
        } else if (!strcmp(a, "--seed")) {
            if (parse_u64(v, &opt.seed))
                return usage_error(help, "--seed: '%s' is not a number", v);
            have_seed = 1;
        } else if (!strcmp(a, "--dump-after")) {
            int p = snn_map_pass_lookup(v);
            if (!strcmp(v, "all"))
                dump_after = SNN_MAP_HAVE(SNN_PASS_COUNT) - 1;
            else if (p >= 0)
                dump_after |= SNN_MAP_HAVE(p);
            else
                return usage_error(help, "--dump-after: no pass called '%s'", v);
        } else if (build && !strcmp(a, "-o")) {
            output = v;
        } else if (!build && !strcmp(a, "--until")) {
            int p = snn_map_pass_lookup(v);
            if (p < 0)
                return usage_error(help, "--until: no pass called '%s'", v);
            until = (enum snn_map_pass)p;
        } else if (!strcmp(a, "--verify")) {
            opt.verify = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            return usage_error(help, "unknown option '%s'", a);
        } else if (file) {
            return usage_error(help, "unexpected argument '%s'", a);
        } else {
            file = a;
        }
    }
    if (!file)
        return usage_error(help, "%s", "missing FILE");
    if (!target)
        return usage_error(help, "%s", "missing --target (snnc targets lists the built-in ones)");
    if (build && !output)
        return usage_error(help, "%s", "missing -o FILE (where the image goes)");
    double t0 = wall_s();
    struct snn_diag *d = snn_diag_new(stderr);
    struct snn_net *net = NULL;
    struct snn_machine *m = NULL;
    struct snn_map *map = NULL;
    struct snn_sdt_target *sdt = NULL;
    int err = d ? load_net(file, d, &net) : SNN_ENOMEM;
    if (!err) {
        err = build ? snn_target_load_any(target, d, &m, &sdt) : snn_target_load(target, d, &m);
        if (err == SNN_EIO)
            err = SNN_EPARSE; /* a target that cannot be read is an error in the input */
    }
    if (!err && sdt) {
        err = build_sdt(net, sdt, file, output, quiet, d);
        snn_sdt_target_free(sdt);
        snn_net_free(net);
        snn_diag_free(d);
        return exit_code_of(err);
    }
    if (!err && !have_seed)
        opt.seed = net->seed;
    if (!err)
        err = snn_map_new(net, m, &opt, &map);
    if (!err)
        err = snn_map_run(map, until, dump_after, stdout, d);
    if (!err) {
        struct rusage ru;
        uint64_t peak = getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_maxrss * 1024 : 0;
        double total = wall_s() - t0;
        if (build) {
            struct out_file o;
            err = out_open(&o, output);
            if (!err) {
                err = snn_spinn_image_write(map, o.f, d);
                long size = o.f != stdout ? ftell(o.f) : -1;
                int close_err = out_close(&o, !err);
                err = err ? err : close_err;
                if (!err && !quiet && o.path) {
                    struct snn_map_summary sum;
                    snn_map_summarize(map, &sum);
                    printf("%s: %ld bytes, %u slice%s on %u chip%s of %s\n", output, size,
                           map->n_slices, map->n_slices == 1 ? "" : "s", sum.chips_used,
                           sum.chips_used == 1 ? "" : "s", m->name);
                }
            }
        } else if (!quiet) {
            snn_map_report_text(map, peak, total, stdout);
        }
        if (!err && report) {
            struct out_file o;
            err = out_open(&o, report);
            if (!err) {
                snn_map_report_json(map, peak, total, o.f);
                err = out_close(&o, 1);
            }
        }
        if (!err)
            err = stdout_status();
    }
    snn_map_free(map);
    snn_machine_free(m);
    snn_net_free(net);
    snn_diag_free(d);
    return exit_code_of(err);
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        fputs(MAIN_HELP, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(MAIN_HELP, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("snnc %s\n", SNN_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 2, argv + 2);
    if (!strcmp(cmd, "ir"))
        return cmd_ir(argc - 2, argv + 2);
    if (!strcmp(cmd, "sim"))
        return cmd_sim(argc - 2, argv + 2);
    if (!strcmp(cmd, "targets"))
        return cmd_targets(argc - 2, argv + 2);
    if (!strcmp(cmd, "map"))
        return cmd_map(argc - 2, argv + 2, false);
    if (!strcmp(cmd, "build"))
        return cmd_map(argc - 2, argv + 2, true);
    if (!strcmp(cmd, "inspect"))
        return cmd_inspect(argc - 2, argv + 2);
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "verify"))
        return cmd_verify(argc - 2, argv + 2);
    static const char *const cmds[] = {"check", "ir",    "sim",     "targets", "map",
                                       "build", "inspect", "run",   "verify"};
    const char *s = snn_suggest(cmd, cmds, 9);
    fprintf(stderr, "snnc: unknown command '%s'", cmd);
    if (s)
        fprintf(stderr, " (did you mean '%s'?)", s);
    fputs("\n\n", stderr);
    fputs(MAIN_HELP, stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);
    /* What a command printed on standard output must have got there: a
     * full disk is a run-time fault (exit status 4), even when the command
     * itself went well. */
    if (stdout_status() && rc == 0)
        rc = EXIT_DEVICE;
    return rc;
}

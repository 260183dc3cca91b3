/*
 * runtime/rtl.c: sdt images on the accelerator's RTL model (runtime/rtl.h).
 *
 * Takes a checked sdt image and drives the harness (sim-hw/harness.h) as
 * docs/sdt-accelerator.md's host interface says; gives every step's
 * outputs, read back from DMEM, and the counters.  Built without Verilator
 * (no target snn_sdt_rtl, so no SNN_HAVE_SDT_RTL), every entry point that
 * would need the model refuses with a report instead.
 *
 * The input tensor: the contract has the host zero the step's dense input
 * tensor before storing the step's events.  Only elements an event set can
 * be nonzero (DMEM starts zeroed and the program never writes the input's
 * region), so the loader zeroes exactly the elements the previous step's
 * events set: the same memory contents for far fewer bus cycles.
 *
 * Invariants: a handle whose step failed (an error status, the cycle limit)
 * runs no further step; the outputs' buffers always hold the last step's
 * values (zeros before the first).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runtime/rtl.h"
#include "support/arena.h"
#include "support/err.h"

#ifdef SNN_HAVE_SDT_RTL
#include "sim-hw/harness.h"
#endif

const char *snn_rtl_error_name(uint32_t code)
{
    switch (code) {
    case SNN_SDT_ERR_OPCODE: return "unknown opcode";
    case SNN_SDT_ERR_SHAPE: return "a shape out of range or inconsistent";
    case SNN_SDT_ERR_REGION: return "a region outside its memory";
    case SNN_SDT_ERR_OVERFLOW: return "an event list overflowed";
    case SNN_SDT_ERR_PC: return "the program ran past the end of PMEM";
    case SNN_SDT_ERR_EVENT: return "an event field out of range";
    default: return "unknown error";
    }
}

uint64_t snn_rtl_cycle_bound(const uint32_t *prog, uint32_t n_desc, uint32_t lanes,
                             const struct snn_sdt_image_list *lists)
{
    uint64_t total = 0, L = lanes;
    for (uint32_t i = 0; i < n_desc; i++) {
        const uint32_t *d = prog + (size_t)i * SNN_SDT_DESC_WORDS;
        uint32_t op = SNN_SDT_OPCODE(d[0]);
        uint64_t cin = SNN_SDT_CIN(d[1]), cout = SNN_SDT_COUT(d[1]);
        uint64_t hin = SNN_SDT_HIN(d[2]), hout = SNN_SDT_HOUT(d[2]), wout = SNN_SDT_WOUT(d[2]);
        uint64_t k = SNN_SDT_K(d[3]);
        uint64_t gin = (cin + L - 1) / L, gout = (cout + L - 1) / L;
        uint64_t n_out = gout * hout * wout;
        uint64_t cap = lists[SNN_SDT_LIN(d[4])].capacity;
        total += 19; /* fetch 17, check 1, next 1 */
        switch (op) {
        case SNN_SDT_OP_CONV: total += 1 + cap * (1 + 8 * k * k * gout); break;
        case SNN_SDT_OP_NEURON: total += n_out * (10 + L) + 1; break;
        case SNN_SDT_OP_ADD: total += 2 * n_out + 1; break;
        case SNN_SDT_OP_MAXPOOL: total += n_out * (k * k + 4 + L) + 1; break;
        case SNN_SDT_OP_SUMPOOL: total += 1 + cap * 9; break;
        case SNN_SDT_OP_SDSA1: total += gin * (3 * hin + 4) + gin * hin * (3 + L) + gin + 2; break;
        case SNN_SDT_OP_KV:
        case SNN_SDT_OP_QKV: {
            uint64_t h = SNN_SDT_HEADS(d[SNN_SDT_W_NP]), dh = h ? cin / h : cin;
            uint64_t row = (dh + L - 1) / L;
            total += 2 + cap * (1 + 3 * row) + cin * row;
            break;
        }
        case SNN_SDT_OP_CLEAR: total += (uint64_t)d[SNN_SDT_W_SCRATCH] + 1; break;
        default: break;
        }
        if (op == SNN_SDT_OP_END)
            break;
    }
    return 2 * total + 10000;
}

#ifndef SNN_HAVE_SDT_RTL

/* ---- built without Verilator ---------------------------------------------- */

bool snn_rtl_available(void)
{
    return false;
}

int snn_rtl_new(const struct snn_image *img, const struct snn_rtl_options *opt,
                struct snn_diag *d, struct snn_rtl **out)
{
    (void)img;
    (void)opt;
    *out = NULL;
    snn_diag_error(d, NULL,
                   "this snnc was built without the accelerator's RTL models (Verilator was "
                   "missing; scripts/bootstrap installs it)");
    return SNN_EUNSUPPORTED;
}

void snn_rtl_free(struct snn_rtl *r) { (void)r; }
int snn_rtl_step(struct snn_rtl *r, struct snn_diag *d) { (void)r; (void)d; return SNN_EINVAL; }
uint32_t snn_rtl_steps_run(const struct snn_rtl *r) { (void)r; return 0; }
uint32_t snn_rtl_steps(const struct snn_rtl *r) { (void)r; return 0; }
uint32_t snn_rtl_n_outputs(const struct snn_rtl *r) { (void)r; return 0; }
const struct snn_sdt_image_output *snn_rtl_output_info(const struct snn_rtl *r, uint32_t i)
{
    (void)r;
    (void)i;
    return NULL;
}
const char *snn_rtl_output_name(const struct snn_rtl *r, uint32_t i)
{
    (void)r;
    (void)i;
    return NULL;
}
const int32_t *snn_rtl_output(const struct snn_rtl *r, uint32_t i)
{
    (void)r;
    (void)i;
    return NULL;
}
void snn_rtl_counters(const struct snn_rtl *r, uint64_t out[SNN_SDT_COUNTERS])
{
    (void)r;
    memset(out, 0, SNN_SDT_COUNTERS * sizeof *out);
}
void snn_rtl_step_counters(const struct snn_rtl *r, uint64_t out[SNN_SDT_COUNTERS])
{
    (void)r;
    memset(out, 0, SNN_SDT_COUNTERS * sizeof *out);
}
uint64_t snn_rtl_fifo_events(const struct snn_rtl *r) { (void)r; return 0; }
uint64_t snn_rtl_cycle_limit(const struct snn_rtl *r) { (void)r; return 0; }
uint64_t snn_rtl_model_cycles(const struct snn_rtl *r) { (void)r; return 0; }
int snn_rtl_write_desc(struct snn_rtl *r, uint32_t k, const uint32_t words[SNN_SDT_DESC_WORDS],
                       struct snn_diag *d)
{
    (void)r;
    (void)k;
    (void)words;
    (void)d;
    return SNN_EINVAL;
}

#else

/* ---- with the models -------------------------------------------------------- */

struct snn_rtl {
    const struct snn_image *img;
    struct snn_sdt_rtl *h;
    struct snn_sdt_image_config cfg;
    struct snn_sdt_image_list lists[SNN_SDT_LISTS];
    struct snn_sdt_image_input in;
    const unsigned char *in_off, *in_ev; /* the input's offsets and events, in the image */
    uint32_t n_out;
    const struct snn_sdt_image_output *out;
    int32_t **vals;          /* [n_out][c·h·w] */
    uint32_t *prog;          /* PMEM's descriptors as loaded: [n_prog][16] */
    uint32_t n_prog;
    uint32_t *prev_ev;       /* the events of the last step's input, to clear */
    uint32_t n_prev;
    uint32_t *buf;           /* one DMEM word's slices, or a chunk to load */
    size_t buf_n;
    uint32_t steps_run;
    bool failed;
    bool limit_fixed;        /* the caller chose the cycle limit */
    uint64_t limit;
    uint64_t total[SNN_SDT_COUNTERS], last[SNN_SDT_COUNTERS];
    uint64_t fifo_events;
};

static const char *const op_names[16] = {NULL,      "CONV",  "NEURON", "ADD", "MAXPOOL",
                                         "SUMPOOL", "SDSA1", "KV",     "QKV", "CLEAR",
                                         NULL,      NULL,    NULL,     NULL,  NULL,
                                         "END"};

bool snn_rtl_available(void)
{
    return true;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* "16 lanes, PMEM 2^14, WMEM 2^16, QMEM 2^12, DMEM 2^16, EVT 2^18 words, a
 * 64-event FIFO" */
static void describe_config(char *s, size_t n, const struct snn_sdt_rtl_config *c)
{
    snprintf(s, n,
             "%u lanes, PMEM 2^%u, WMEM 2^%u, QMEM 2^%u, DMEM 2^%u, EVT 2^%u words, a %u-event "
             "FIFO",
             c->lanes, c->pmem_log2, c->wmem_log2, c->qmem_log2, c->dmem_log2, c->evt_log2,
             1u << c->fifo_log2);
}

/* The refusal of an image no model matches, naming the models there are. */
static void report_no_model(const struct snn_sdt_image_config *g,
                            const struct snn_sdt_rtl_config *want, struct snn_diag *d)
{
    enum { MAX_MODELS = 8 }; /* CMake builds two */
    struct snn_sdt_rtl_config have[MAX_MODELS];
    size_t n = snn_sdt_models(have, MAX_MODELS);
    char list[1024] = "", one[160], w[160];
    describe_config(w, sizeof w, want);
    for (size_t i = 0; i < n && i < MAX_MODELS; i++) {
        describe_config(one, sizeof one, &have[i]);
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", i ? "; " : "", one);
    }
    snn_diag_error(d, NULL,
                   "this image is for an sdt with %s (target '%s'); snnc's RTL models are: %s "
                   "(build the network for a target of one of them, e.g. sdt or sdt4)",
                   w, g->name, list);
}

/* A harness call that failed: ENOMEM as it is, anything else (a refused
 * access: a bug here or in the model) as a reported device fault. */
static int fail_io(int rc, const char *what, struct snn_diag *d)
{
    if (rc == SNN_ENOMEM)
        return rc;
    snn_diag_error(d, NULL, "the RTL model refused %s (%s)", what, snn_strerror(rc));
    return SNN_EDEVICE;
}

/* Zeroes words [0, words) of memory mem, of slices 32-bit slices a word. */
static int load_zero(struct snn_rtl *r, enum snn_sdt_mem mem, uint32_t words, uint32_t slices)
{
    memset(r->buf, 0, r->buf_n * sizeof *r->buf);
    uint32_t per = (uint32_t)(r->buf_n / slices); /* whole words a chunk */
    for (uint64_t w = 0; w < words; w += per) {
        uint32_t k = words - w < per ? (uint32_t)(words - w) : per;
        int rc = snn_sdt_mem_load(r->h, mem, (uint32_t)w, r->buf, (size_t)k * slices);
        if (rc)
            return rc;
    }
    return 0;
}

/* Loads bytes of a memory image (little-endian 32-bit slices in order). */
static int load_bytes(struct snn_rtl *r, enum snn_sdt_mem mem, const unsigned char *p,
                      uint64_t bytes, uint32_t slices)
{
    uint64_t n = bytes / 4, per = r->buf_n / slices * slices;
    for (uint64_t i = 0; i < n; i += per) {
        uint64_t k = n - i < per ? n - i : per;
        for (uint64_t j = 0; j < k; j++)
            r->buf[j] = le32(p + 4 * (i + j));
        int rc = snn_sdt_mem_load(r->h, mem, (uint32_t)(i / slices), r->buf, (size_t)k);
        if (rc)
            return rc;
    }
    return 0;
}

static int load(struct snn_rtl *r)
{
    const struct snn_sdt_image_config *g = &r->cfg;
    uint32_t L = g->lanes, bytes, n_desc;
    int rc = load_zero(r, SNN_SDT_DMEM, g->dmem_words, L);
    const unsigned char *p = snn_image_sdt_program(r->img, &n_desc);
    if (!rc)
        rc = load_bytes(r, SNN_SDT_PMEM, p, (uint64_t)n_desc * SNN_SDT_DESC_BYTES, 1);
    p = snn_image_sdt_wmem(r->img, &bytes);
    if (!rc)
        rc = load_bytes(r, SNN_SDT_WMEM, p, bytes, L / 4);
    p = snn_image_sdt_qmem(r->img, &bytes);
    if (!rc)
        rc = load_bytes(r, SNN_SDT_QMEM, p, bytes, 2 * L);
    for (unsigned k = 0; k < SNN_SDT_LISTS && !rc; k++)
        rc = snn_sdt_list_set(r->h, k, r->lists[k].base, r->lists[k].capacity, 0);
    if (!rc)
        rc = snn_sdt_counters_reset(r->h);
    return rc;
}

void snn_rtl_free(struct snn_rtl *r)
{
    if (!r)
        return;
    snn_sdt_close(r->h);
    if (r->vals)
        for (uint32_t i = 0; i < r->n_out; i++)
            snn_free(r->vals[i]);
    snn_free(r->vals);
    snn_free(r->prog);
    snn_free(r->prev_ev);
    snn_free(r->buf);
    snn_free(r);
}

int snn_rtl_new(const struct snn_image *img, const struct snn_rtl_options *opt,
                struct snn_diag *d, struct snn_rtl **out)
{
    *out = NULL;
    if (snn_image_header(img)->family != SNN_IMAGE_FAMILY_SDT) {
        snn_diag_error(d, NULL, "the rtl device runs sdt images; this is a spinn image (build "
                                "the network for an sdt target)");
        return SNN_EINVAL;
    }
    struct snn_rtl *r = snn_calloc(1, sizeof *r);
    if (!r)
        return SNN_ENOMEM;
    r->img = img;
    r->cfg = *snn_image_sdt_config(img);
    memcpy(r->lists, snn_image_sdt_lists(img), sizeof r->lists);
    const void *off, *ev;
    r->in = *snn_image_sdt_input(img, &off, &ev);
    r->in_off = off;
    r->in_ev = ev;
    r->out = snn_image_sdt_outputs(img, &r->n_out);
    const struct snn_sdt_image_config *g = &r->cfg;
    uint32_t L = g->lanes, n_desc;
    const unsigned char *prog = snn_image_sdt_program(img, &n_desc);
    /* A loading chunk: 4 Ki slices, a whole number of any memory's words
     * (2L slices at most, L <= 128). */
    r->buf_n = 4096;
    r->buf = snn_malloc(r->buf_n * sizeof *r->buf);
    r->prog = snn_malloc((size_t)n_desc * SNN_SDT_DESC_BYTES);
    r->prev_ev = snn_malloc(((size_t)r->lists[r->in.list].capacity + 1) * sizeof *r->prev_ev);
    r->vals = snn_calloc(r->n_out + 1, sizeof *r->vals);
    if (!r->buf || !r->prog || !r->prev_ev || !r->vals) {
        snn_rtl_free(r);
        return SNN_ENOMEM;
    }
    for (uint32_t i = 0; i < r->n_out; i++) {
        const struct snn_sdt_image_output *o = &r->out[i];
        if (!(r->vals[i] = snn_calloc((size_t)o->c * o->h * o->w, sizeof **r->vals))) {
            snn_rtl_free(r);
            return SNN_ENOMEM;
        }
    }
    r->n_prog = n_desc;
    for (size_t i = 0; i < (size_t)n_desc * SNN_SDT_DESC_WORDS; i++)
        r->prog[i] = le32(prog + 4 * i);
    r->limit_fixed = opt && opt->max_cycles;
    r->limit = r->limit_fixed ? opt->max_cycles
                                      : snn_rtl_cycle_bound(r->prog, n_desc, L, r->lists);

    struct snn_sdt_rtl_config want = {g->lanes,     g->pmem_log2, g->wmem_log2, g->qmem_log2,
                                      g->dmem_log2, g->evt_log2,  g->fifo_log2};
    struct snn_sdt_rtl_options ho = {.trace_path = opt ? opt->trace_path : NULL,
                                     .config = &want};
    int rc = snn_sdt_open(&ho, &r->h);
    if (rc == SNN_EUNSUPPORTED) {
        report_no_model(g, &want, d);
    } else if (rc == SNN_EIO) {
        snn_diag_error(d, NULL, "cannot write the trace '%s'", ho.trace_path);
    } else if (!rc) {
        rc = load(r);
        if (rc)
            rc = fail_io(rc, "the image's memories", d);
    }
    if (rc) {
        snn_rtl_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* The DMEM word and lane of element (c, y, x) of a [C, H, W] tensor at
 * base (docs/sdt-accelerator.md, "Data layouts"). */
static void element(const struct snn_rtl *r, uint32_t base, uint32_t C, uint32_t W, uint32_t c,
                    uint32_t y, uint32_t x, uint32_t *word, uint32_t *lane)
{
    uint32_t L = r->cfg.lanes, G = snn_sdt_groups(C, L);
    *word = base + (y * W + x) * G + c / L;
    *lane = c % L;
}

/* Writes step t's input: the last step's elements cleared, this step's
 * values stored, the events into the input list and its count. */
static int write_input(struct snn_rtl *r, uint32_t t)
{
    const struct snn_sdt_image_input *in = &r->in;
    uint32_t word, lane;
    for (uint32_t i = 0; i < r->n_prev; i++) {
        uint32_t e = r->prev_ev[i];
        element(r, in->dmem, in->c, in->w, SNN_SDT_EV_C(e), SNN_SDT_EV_Y(e), SNN_SDT_EV_X(e),
                &word, &lane);
        int rc = snn_sdt_mem_write(r->h, SNN_SDT_DMEM, word, lane, 0);
        if (rc)
            return rc;
    }
    uint32_t first = le32(r->in_off + 4 * (size_t)t), end = le32(r->in_off + 4 * (size_t)t + 4);
    r->n_prev = end - first;
    for (uint32_t i = 0; i < r->n_prev; i++) {
        uint32_t e = le32(r->in_ev + 4 * (size_t)(first + i));
        r->prev_ev[i] = e;
        element(r, in->dmem, in->c, in->w, SNN_SDT_EV_C(e), SNN_SDT_EV_Y(e), SNN_SDT_EV_X(e),
                &word, &lane);
        int rc = snn_sdt_mem_write(r->h, SNN_SDT_DMEM, word, lane, SNN_SDT_EV_VALUE(e));
        if (rc)
            return rc;
    }
    int rc = snn_sdt_mem_load(r->h, SNN_SDT_EVT, r->lists[in->list].base, r->prev_ev, r->n_prev);
    if (!rc)
        rc = snn_sdt_reg_write(r->h, SNN_SDT_ADDR_LIST_COUNT + 4 * in->list, r->n_prev);
    return rc;
}

/* Reads every output tensor back from DMEM into vals. */
static int read_outputs(struct snn_rtl *r)
{
    uint32_t L = r->cfg.lanes;
    for (uint32_t i = 0; i < r->n_out; i++) {
        const struct snn_sdt_image_output *o = &r->out[i];
        uint32_t G = snn_sdt_groups(o->c, L);
        int32_t *v = r->vals[i];
        for (uint32_t y = 0; y < o->h; y++)
            for (uint32_t x = 0; x < o->w; x++)
                for (uint32_t g = 0; g < G; g++) {
                    uint32_t n = o->c - g * L < L ? o->c - g * L : L;
                    int rc = snn_sdt_mem_dump(r->h, SNN_SDT_DMEM, o->dmem + (y * o->w + x) * G + g,
                                              r->buf, n);
                    if (rc)
                        return rc;
                    for (uint32_t l = 0; l < n; l++)
                        v[((size_t)(g * L + l) * o->h + y) * o->w + x] = (int32_t)r->buf[l];
                }
    }
    return 0;
}

/* A step that failed half-way leaves the machine in no known state: the
 * handle runs no further step. */
static int step_fail(struct snn_rtl *r, int rc, const char *what, struct snn_diag *d)
{
    r->failed = true;
    return fail_io(rc, what, d);
}

/* The op of descriptor pc as loaded ("?" for an unknown opcode, "empty"
 * past the program: PMEM there is zero). */
static const char *op_name(const struct snn_rtl *r, uint32_t pc)
{
    if (pc >= r->n_prog)
        return "empty";
    uint32_t op = SNN_SDT_OPCODE(r->prog[(size_t)pc * SNN_SDT_DESC_WORDS]);
    return op < 16 && op_names[op] ? op_names[op] : "?";
}

int snn_rtl_step(struct snn_rtl *r, struct snn_diag *d)
{
    uint32_t t = r->steps_run;
    if (r->failed) {
        snn_diag_error(d, NULL, "the accelerator stopped in step %u; it runs no further step",
                       t);
        return SNN_EINVAL;
    }
    if (t >= r->in.steps) {
        snn_diag_error(d, NULL, "the image's input holds %u steps, all run", r->in.steps);
        return SNN_EINVAL;
    }
    int rc = write_input(r, t);
    if (rc)
        return step_fail(r, rc, "the step's input", d);
    enum snn_sdt_stop stop;
    if ((rc = snn_sdt_run(r->h, r->limit, &stop)))
        return step_fail(r, rc, "the run", d);
    if (stop != SNN_SDT_STOP_DONE) {
        r->failed = true;
        if (stop == SNN_SDT_STOP_ERROR) {
            unsigned code = 0, pc = 0;
            snn_sdt_error_info(r->h, &code, &pc);
            if (code == SNN_SDT_ERR_PC)
                snn_diag_error(d, NULL,
                               "step %u: the accelerator stopped with error %u (%s) after "
                               "descriptor %u",
                               t, code, snn_rtl_error_name(code), pc ? pc - 1 : 0);
            else
                snn_diag_error(d, NULL,
                               "step %u: the accelerator stopped with error %u (%s) at "
                               "descriptor %u (%s)",
                               t, code, snn_rtl_error_name(code), pc, op_name(r, pc));
        } else {
            uint32_t pc = 0;
            snn_sdt_reg_read(r->h, SNN_SDT_ADDR_PC, &pc);
            snn_diag_error(d, NULL,
                           "step %u: the accelerator did not finish within %" PRIu64
                           " cycles (descriptor %u, %s, was running); stopped",
                           t, r->limit, pc, op_name(r, pc));
        }
        return SNN_EDEVICE;
    }
    /* The FIFO: list 15's events, which this backend does not use. */
    size_t n;
    do {
        if ((rc = snn_sdt_fifo_drain(r->h, r->buf, r->buf_n, &n)))
            return step_fail(r, rc, "draining the FIFO", d);
        r->fifo_events += n;
    } while (n == r->buf_n);
    if ((rc = read_outputs(r)))
        return step_fail(r, rc, "reading the outputs", d);
    uint64_t c[SNN_SDT_COUNTERS];
    if ((rc = snn_sdt_counters(r->h, c)))
        return step_fail(r, rc, "reading the counters", d);
    for (unsigned k = 0; k < SNN_SDT_COUNTERS; k++) {
        r->last[k] = c[k] - r->total[k];
        r->total[k] = c[k];
    }
    r->steps_run++;
    return 0;
}

uint32_t snn_rtl_steps_run(const struct snn_rtl *r)
{
    return r->steps_run;
}

uint32_t snn_rtl_steps(const struct snn_rtl *r)
{
    return r->in.steps;
}

uint32_t snn_rtl_n_outputs(const struct snn_rtl *r)
{
    return r->n_out;
}

const struct snn_sdt_image_output *snn_rtl_output_info(const struct snn_rtl *r, uint32_t i)
{
    return i < r->n_out ? &r->out[i] : NULL;
}

const char *snn_rtl_output_name(const struct snn_rtl *r, uint32_t i)
{
    return i < r->n_out ? snn_image_sdt_output_name(r->img, i) : NULL;
}

const int32_t *snn_rtl_output(const struct snn_rtl *r, uint32_t i)
{
    return i < r->n_out ? r->vals[i] : NULL;
}

void snn_rtl_counters(const struct snn_rtl *r, uint64_t out[SNN_SDT_COUNTERS])
{
    memcpy(out, r->total, sizeof r->total);
}

void snn_rtl_step_counters(const struct snn_rtl *r, uint64_t out[SNN_SDT_COUNTERS])
{
    memcpy(out, r->last, sizeof r->last);
}

uint64_t snn_rtl_fifo_events(const struct snn_rtl *r)
{
    return r->fifo_events;
}

uint64_t snn_rtl_cycle_limit(const struct snn_rtl *r)
{
    return r->limit;
}

uint64_t snn_rtl_model_cycles(const struct snn_rtl *r)
{
    return snn_sdt_cycles(r->h);
}

int snn_rtl_write_desc(struct snn_rtl *r, uint32_t k, const uint32_t words[SNN_SDT_DESC_WORDS],
                       struct snn_diag *d)
{
    uint64_t slots = ((uint64_t)1 << r->cfg.pmem_log2) / SNN_SDT_DESC_WORDS;
    if (k >= slots || r->failed) {
        snn_diag_error(d, NULL, "cannot write descriptor %u: PMEM holds %" PRIu64 "%s", k, slots,
                       r->failed ? " and the machine has stopped" : "");
        return SNN_EINVAL;
    }
    if (k >= r->n_prog) {
        uint32_t *p = snn_realloc(r->prog, ((size_t)k + 1) * SNN_SDT_DESC_BYTES);
        if (!p)
            return SNN_ENOMEM;
        memset(p + (size_t)r->n_prog * SNN_SDT_DESC_WORDS, 0,
               ((size_t)k + 1 - r->n_prog) * SNN_SDT_DESC_BYTES);
        r->prog = p;
        r->n_prog = k + 1;
    }
    int rc = snn_sdt_mem_load(r->h, SNN_SDT_PMEM, k * SNN_SDT_DESC_WORDS, words,
                              SNN_SDT_DESC_WORDS);
    if (rc)
        return fail_io(rc, "the descriptor", d);
    memcpy(r->prog + (size_t)k * SNN_SDT_DESC_WORDS, words, SNN_SDT_DESC_BYTES);
    if (!r->limit_fixed)
        r->limit = snn_rtl_cycle_bound(r->prog, r->n_prog, r->cfg.lanes, r->lists);
    return 0;
}

#endif

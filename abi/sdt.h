/*
 * abi/sdt.h: the sdt accelerator's binary contract (docs/sdt-accelerator.md)
 * and the payloads of sdt images (docs/image-format.md, "sdt sections").
 *
 * One definition of everything that crosses between the backend
 * (backends/sdt), the image reader (runtime/image.c), the runtime and the
 * RTL's tests: opcodes, the packing of the 16-word descriptor (encode
 * helpers and field-extract macros), error codes, register addresses,
 * counter indices, the event word, the image sections, and the static
 * checks the sequencer makes before it runs a descriptor
 * (snn_sdt_check_desc: codes 1, 2 and 3 exactly as the RTL decides them;
 * code 4 depends on run-time counts and code 6 on event contents, so
 * neither is decided here).
 *
 * sim-hw/harness.h takes its register map, memory numbers and counters
 * from here.
 *
 * Freestanding: stdint only, no allocation, every function static inline.
 */
#ifndef SNN_ABI_SDT_H
#define SNN_ABI_SDT_H

#include <stdint.h>

/* ---- limits ------------------------------------------------------------ */

/* The event word's fields: 10 bits of channel, 7 of row and column. */
#define SNN_SDT_MAX_CHANNELS 1024u
#define SNN_SDT_MAX_SIDE 128u
/* LANES: a power of two, a WMEM word a whole number of 32-bit slices. */
#define SNN_SDT_MIN_LANES 4u
#define SNN_SDT_MAX_LANES 128u
/* Every memory has 2^4 .. 2^19 words (PMEM at most 2^19: a PC, counted in
 * descriptors, then fits ERROR_INFO's 16 bits). */
#define SNN_SDT_MIN_LOG2 4u
#define SNN_SDT_MAX_LOG2 19u
#define SNN_SDT_MAX_SH 62u
#define SNN_SDT_MAX_D 15u
/* List registers: 0 is the host's input list, 15 feeds the output FIFO. */
#define SNN_SDT_LISTS 16u
#define SNN_SDT_LIST_INPUT 0u
#define SNN_SDT_LIST_FIFO 15u
/* A LIST register holds an 18-bit base. */
#define SNN_SDT_LIST_BASE_MAX ((1u << 18) - 1u)
#define SNN_SDT_DESC_WORDS 16u
#define SNN_SDT_DESC_BYTES 64u

/* "SDT1" in the ID register. */
#define SNN_SDT_ID 0x31544453u

/* ---- opcodes, flags, errors --------------------------------------------- */

enum snn_sdt_op {
    SNN_SDT_OP_CONV = 0x01,
    SNN_SDT_OP_NEURON = 0x02,
    SNN_SDT_OP_ADD = 0x03,
    SNN_SDT_OP_MAXPOOL = 0x04,
    SNN_SDT_OP_SUMPOOL = 0x05,
    SNN_SDT_OP_SDSA1 = 0x06,
    SNN_SDT_OP_KV = 0x07,
    SNN_SDT_OP_QKV = 0x08,
    SNN_SDT_OP_CLEAR = 0x09,
    SNN_SDT_OP_END = 0x0F
};

/* CLEAR's flag bit 0: also zero the output list's count. */
#define SNN_SDT_FLAG_CLEAR_LIST 0x01u

/* NEURON modes (word 12, bits 13..12). */
enum snn_sdt_mode { SNN_SDT_MODE_STORE = 0, SNN_SDT_MODE_LIF = 1, SNN_SDT_MODE_ILIF = 2 };

/* ERROR_INFO's code. */
enum snn_sdt_error {
    SNN_SDT_ERR_OPCODE = 1,   /* unknown opcode */
    SNN_SDT_ERR_SHAPE = 2,    /* a shape out of range or inconsistent */
    SNN_SDT_ERR_REGION = 3,   /* a region outside its memory */
    SNN_SDT_ERR_OVERFLOW = 4, /* an event list overflowed */
    SNN_SDT_ERR_PC = 5,       /* the program ran past the end of PMEM */
    SNN_SDT_ERR_EVENT = 6     /* an event field out of range */
};

/* ---- the descriptor ------------------------------------------------------ */

/* Word indices of the fields that are whole words. */
enum {
    SNN_SDT_W_OP = 0,      /* opcode 7..0, flags 15..8 */
    SNN_SDT_W_CH = 1,      /* C_in 15..0, C_out 31..16 */
    SNN_SDT_W_HW = 2,      /* H_in, W_in, H_out, W_out: a byte each */
    SNN_SDT_W_GEOM = 3,    /* k, stride, pad, depthwise, int4, counts */
    SNN_SDT_W_LISTS = 4,   /* input list 3..0, output list 7..4 */
    SNN_SDT_W_A = 5,       /* DMEM: input tensor A (K for SDSA1) */
    SNN_SDT_W_B = 6,       /* DMEM: input tensor B (residual, V) */
    SNN_SDT_W_OUT = 7,     /* DMEM: output tensor */
    SNN_SDT_W_ACC = 8,     /* DMEM: accumulator (Q for SDSA1, KV for KV and QKV) */
    SNN_SDT_W_STATE = 9,   /* DMEM: neuron state */
    SNN_SDT_W_WMEM = 10,   /* WMEM: weights */
    SNN_SDT_W_QMEM = 11,   /* QMEM: requantization pairs */
    SNN_SDT_W_NP = 12,     /* sh, k, mode, residual, clear, D, heads */
    SNN_SDT_W_THETA = 13,  /* Q15.16 */
    SNN_SDT_W_SCRATCH = 15 /* DMEM: scratch (SDSA1), or CLEAR's word count */
};

#define SNN_SDT_OPCODE(w0) ((w0) & 0xFFu)
#define SNN_SDT_FLAGS(w0) (((w0) >> 8) & 0xFFu)
#define SNN_SDT_CIN(w1) ((w1) & 0xFFFFu)
#define SNN_SDT_COUT(w1) ((w1) >> 16)
#define SNN_SDT_HIN(w2) ((w2) & 0xFFu)
#define SNN_SDT_WIN(w2) (((w2) >> 8) & 0xFFu)
#define SNN_SDT_HOUT(w2) (((w2) >> 16) & 0xFFu)
#define SNN_SDT_WOUT(w2) ((w2) >> 24)
#define SNN_SDT_K(w3) ((w3) & 0xFu)
#define SNN_SDT_STRIDE(w3) (((w3) >> 4) & 0xFu)
#define SNN_SDT_PAD(w3) (((w3) >> 8) & 0xFu)
#define SNN_SDT_DEPTHWISE(w3) (((w3) >> 12) & 1u)
#define SNN_SDT_INT4(w3) (((w3) >> 13) & 1u)
#define SNN_SDT_COUNTS(w3) (((w3) >> 14) & 1u)
#define SNN_SDT_LIN(w4) ((w4) & 0xFu)
#define SNN_SDT_LOUT(w4) (((w4) >> 4) & 0xFu)
#define SNN_SDT_SH(w12) ((w12) & 0x3Fu)
#define SNN_SDT_LIFK(w12) (((w12) >> 8) & 0xFu)
#define SNN_SDT_MODE(w12) (((w12) >> 12) & 3u)
#define SNN_SDT_RESIDUAL(w12) (((w12) >> 14) & 1u)
#define SNN_SDT_CLEARACC(w12) (((w12) >> 15) & 1u)
#define SNN_SDT_D(w12) (((w12) >> 16) & 0xFu)
#define SNN_SDT_HEADS(w12) (((w12) >> 20) & 0xFFu)

static inline uint32_t snn_sdt_w0(uint32_t op, uint32_t flags)
{
    return (op & 0xFFu) | (flags & 0xFFu) << 8;
}

static inline uint32_t snn_sdt_w1(uint32_t c_in, uint32_t c_out)
{
    return (c_in & 0xFFFFu) | (c_out & 0xFFFFu) << 16;
}

static inline uint32_t snn_sdt_w2(uint32_t h_in, uint32_t w_in, uint32_t h_out, uint32_t w_out)
{
    return (h_in & 0xFFu) | (w_in & 0xFFu) << 8 | (h_out & 0xFFu) << 16 | (w_out & 0xFFu) << 24;
}

static inline uint32_t snn_sdt_w3(uint32_t k, uint32_t stride, uint32_t pad, uint32_t depthwise,
                                  uint32_t int4, uint32_t counts)
{
    return (k & 0xFu) | (stride & 0xFu) << 4 | (pad & 0xFu) << 8 | (depthwise & 1u) << 12 |
           (int4 & 1u) << 13 | (counts & 1u) << 14;
}

static inline uint32_t snn_sdt_w4(uint32_t list_in, uint32_t list_out)
{
    return (list_in & 0xFu) | (list_out & 0xFu) << 4;
}

static inline uint32_t snn_sdt_w12(uint32_t sh, uint32_t k, uint32_t mode, uint32_t residual,
                                   uint32_t clear_acc, uint32_t d, uint32_t heads)
{
    return (sh & 0x3Fu) | (k & 0xFu) << 8 | (mode & 3u) << 12 | (residual & 1u) << 14 |
           (clear_acc & 1u) << 15 | (d & 0xFu) << 16 | (heads & 0xFFu) << 20;
}

/* ---- the event word ------------------------------------------------------ */

#define SNN_SDT_EVENT(y, x, c, v)                                                              \
    ((uint32_t)(y) << 25 | ((uint32_t)(x) & 0x7Fu) << 18 | ((uint32_t)(c) & 0x3FFu) << 8 |      \
     ((uint32_t)(v) & 0xFFu))
#define SNN_SDT_EV_VALUE(e) ((e) & 0xFFu)
#define SNN_SDT_EV_C(e) (((e) >> 8) & 0x3FFu)
#define SNN_SDT_EV_X(e) (((e) >> 18) & 0x7Fu)
#define SNN_SDT_EV_Y(e) ((e) >> 25)

/* ---- the host interface -------------------------------------------------- */

enum {
    SNN_SDT_ADDR_ID = 0x00,
    SNN_SDT_ADDR_CONFIG = 0x04,
    SNN_SDT_ADDR_CTRL = 0x08,
    SNN_SDT_ADDR_STATUS = 0x0C,
    SNN_SDT_ADDR_ERROR_INFO = 0x10,
    SNN_SDT_ADDR_PC = 0x14,
    SNN_SDT_ADDR_FIFO_DATA = 0x18,
    SNN_SDT_ADDR_FIFO_COUNT = 0x1C,
    SNN_SDT_ADDR_LIST = 0x20,       /* + 4r */
    SNN_SDT_ADDR_LIST_CAP = 0x60,   /* + 4r */
    SNN_SDT_ADDR_LIST_COUNT = 0xA0, /* + 4r */
    SNN_SDT_ADDR_MEM_SEL = 0xE0,
    SNN_SDT_ADDR_MEM_ADDR = 0xE4,
    SNN_SDT_ADDR_MEM_LANE = 0xE8,
    SNN_SDT_ADDR_MEM_WDATA = 0xEC,
    SNN_SDT_ADDR_MEM_RDATA = 0xF0,
    SNN_SDT_ADDR_COUNTERS = 0x100   /* + 8n, low word first */
};

/* CONFIG: LANES 7..0, then each memory's log2 of words minus 4. */
#define SNN_SDT_CONFIG(lanes, pmem, wmem, qmem, dmem, evt)                                     \
    ((uint32_t)(lanes) | ((uint32_t)(pmem) - 4u) << 8 | ((uint32_t)(wmem) - 4u) << 12 |          \
     ((uint32_t)(qmem) - 4u) << 16 | ((uint32_t)(dmem) - 4u) << 20 | ((uint32_t)(evt) - 4u) << 24)

#define SNN_SDT_CTRL_START 0x1u
#define SNN_SDT_CTRL_RESET_COUNTERS 0x2u
#define SNN_SDT_CTRL_FIFO_EMPTY 0x4u
#define SNN_SDT_STATUS_BUSY 0x01u
#define SNN_SDT_STATUS_DONE 0x02u
#define SNN_SDT_STATUS_ERROR 0x04u
#define SNN_SDT_STATUS_FIFO_NONEMPTY 0x08u
#define SNN_SDT_STATUS_FIFO_FULL 0x10u
#define SNN_SDT_ERROR_CODE(info) ((info) & 0xFFu)
#define SNN_SDT_ERROR_PC(info) ((info) >> 16)

/* MEM_SEL. */
enum snn_sdt_memsel {
    SNN_SDT_MEMSEL_PMEM = 0,
    SNN_SDT_MEMSEL_WMEM = 1,
    SNN_SDT_MEMSEL_QMEM = 2,
    SNN_SDT_MEMSEL_DMEM = 3,
    SNN_SDT_MEMSEL_EVT = 4
};

/* The counters, 64-bit each at SNN_SDT_ADDR_COUNTERS + 8n. */
enum snn_sdt_counter_index {
    SNN_SDT_COUNTER_CYCLES = 0,
    SNN_SDT_COUNTER_PE_LANES = 1,
    SNN_SDT_COUNTER_PE_CYCLES = 2,
    SNN_SDT_COUNTER_NEURON_LANES = 3,
    SNN_SDT_COUNTER_WMEM_READS = 4,
    SNN_SDT_COUNTER_WMEM_WRITES = 5,
    SNN_SDT_COUNTER_QMEM_READS = 6,
    SNN_SDT_COUNTER_QMEM_WRITES = 7,
    SNN_SDT_COUNTER_DMEM_READS = 8,
    SNN_SDT_COUNTER_DMEM_WRITES = 9,
    SNN_SDT_COUNTER_EVT_READS = 10,
    SNN_SDT_COUNTER_EVT_WRITES = 11,
    SNN_SDT_COUNTER_EVENTS_IN = 12,
    SNN_SDT_COUNTER_SPIKES_OUT = 13,
    SNN_SDT_COUNTER_ACCUMULATES = 14,
    SNN_SDT_COUNTER_MULTIPLIES = 15,
    SNN_SDT_COUNTERS = 16
};

/* ---- image sections (docs/image-format.md, "sdt sections") ------------- */

/* Section kinds of an sdt image, all of the whole image, in this order.
 * They do not reuse the spinn codes, so a table is never ambiguous. */
enum snn_sdt_section {
    SNN_SEC_SDT_CONFIG = 16,  /* struct snn_sdt_image_config */
    SNN_SEC_SDT_PROGRAM = 17, /* n_desc descriptors of 16 words: PMEM from word 0 */
    SNN_SEC_SDT_WMEM = 18,    /* wmem_words words of LANES bytes: WMEM from word 0 */
    SNN_SEC_SDT_QMEM = 19,    /* qmem_words words of LANES {m, b} int32 pairs */
    SNN_SEC_SDT_LISTS = 20,   /* 16 struct snn_sdt_image_list */
    SNN_SEC_SDT_INPUT = 21,   /* struct snn_sdt_image_input, offsets, event words */
    SNN_SEC_SDT_OUTPUTS = 22  /* struct snn_sdt_image_outputs, entries, names */
};
#define SNN_SDT_SECTIONS 7u

/* SNN_SEC_SDT_CONFIG: the machine the program was built for (a device
 * refuses another), the run, and the memory each part uses.  DMEM words
 * [0, dmem_words) are zero before the first step (the loader clears
 * them: accumulators, neuron state, KV and scratch start at 0). */
struct snn_sdt_image_config {
    char name[32];              /* the target's name, NUL-padded */
    uint32_t lanes;
    uint32_t pmem_log2, wmem_log2, qmem_log2, dmem_log2, evt_log2;
    uint32_t fifo_log2;
    uint32_t clock_mhz;
    uint32_t config_reg;        /* SNN_SDT_CONFIG(...) of the fields above */
    uint32_t timesteps;         /* T: steps the input section holds */
    uint32_t seed_lo, seed_hi;  /* the network's seed */
    uint32_t n_desc;            /* descriptors in the program, END included */
    uint32_t wmem_words, qmem_words, dmem_words, evt_words; /* used, from word 0 */
    /* Energy constants in attojoules (10^-18 J): an accumulate, a
     * multiply-accumulate (the ANN comparison), an SRAM bit read and
     * written (docs/targets.md, "energy"). */
    uint32_t e_ac_aj, e_mac_aj, e_read_bit_aj, e_write_bit_aj;
    uint32_t reserved[3];       /* 0 */
};

/* SNN_SEC_SDT_LISTS: each list register's region in EVT (a capacity of
 * 0: the register is unused). */
struct snn_sdt_image_list {
    uint32_t base, capacity;
};

/* SNN_SEC_SDT_INPUT: the graph's input.  Followed by steps + 1 words of
 * offsets (step t's events are [off[t], off[t + 1]) of the event words,
 * off[0] = 0, off[steps] = n_events), then n_events event words, each
 * step's in (y, x, c) order.  Per step the host zeroes the dense tensor
 * [c, h, w] at dmem, stores every event's value there, writes the events
 * at list register `list`'s base and sets its count. */
struct snn_sdt_image_input {
    uint32_t node;              /* its index in the layer graph */
    uint32_t c, h, w;
    uint32_t kind;              /* 0 spikes, 1 counts */
    uint32_t steps;             /* = the config's timesteps */
    uint32_t dmem;              /* the dense tensor's base */
    uint32_t list;              /* 0 */
    uint32_t n_events;
    uint32_t reserved;          /* 0 */
};

/* SNN_SEC_SDT_OUTPUTS: where each spiking layer's output (and the head)
 * lives in DMEM, to read back after each step.  Followed by n entries,
 * then names_bytes of NUL-terminated names. */
struct snn_sdt_image_outputs {
    uint32_t n;
    uint32_t names_bytes;
};

enum snn_sdt_out_kind { SNN_SDT_KIND_SPIKES = 0, SNN_SDT_KIND_COUNTS = 1, SNN_SDT_KIND_Q16 = 2 };
#define SNN_SDT_OUT_HEAD 0x1u     /* the graph's output */
#define SNN_SDT_OUT_SPIKING 0x2u  /* a spiking layer (docs/numerics.md) */
#define SNN_SDT_NONE 0xFFFFFFFFu

struct snn_sdt_image_output {
    uint32_t node;              /* its index in the layer graph */
    uint32_t name_off;          /* into the names */
    uint32_t kind;              /* enum snn_sdt_out_kind */
    uint32_t c, h, w;           /* the layer's shape (layout: docs/sdt-accelerator.md) */
    uint32_t dmem;              /* the dense tensor's base */
    uint32_t state;             /* V's base (LIF, I-LIF: G·H·W words, I-LIF's S after
                                 * them; SDSA v1: the attention LIF's G words), or NONE */
    uint32_t flags;             /* SNN_SDT_OUT_* */
    uint32_t list;              /* its event list's register, or NONE */
};

_Static_assert(sizeof(struct snn_sdt_image_config) == 128, "config is 128 bytes");
_Static_assert(sizeof(struct snn_sdt_image_list) == 8, "a list is 8 bytes");
_Static_assert(sizeof(struct snn_sdt_image_input) == 40, "input is 40 bytes");
_Static_assert(sizeof(struct snn_sdt_image_outputs) == 8, "outputs prefix is 8 bytes");
_Static_assert(sizeof(struct snn_sdt_image_output) == 40, "an output is 40 bytes");

/* ---- the static checks ---------------------------------------------------- */

/* The hardware parameters a program is checked against. */
struct snn_sdt_hw {
    uint32_t lanes;
    uint32_t pmem_log2, wmem_log2, qmem_log2, dmem_log2, evt_log2;
};

/* Channel groups of c channels: words per position. */
static inline uint32_t snn_sdt_groups(uint32_t c, uint32_t lanes)
{
    return (c + lanes - 1u) / lanes;
}

/* Whether [base, base + n) lies in a memory of 2^log2 words (in 64 bits,
 * so nothing wraps). */
static inline int snn_sdt_inside(uint32_t base, uint64_t n, uint32_t log2)
{
    return (uint64_t)base + n <= ((uint64_t)1 << log2);
}

static inline int snn_sdt_chan_ok(uint32_t c)
{
    return c >= 1u && c <= SNN_SDT_MAX_CHANNELS;
}

static inline int snn_sdt_side_ok(uint32_t s)
{
    return s >= 1u && s <= SNN_SDT_MAX_SIDE;
}

/* A k x k window of stride s and padding p over n gives out. */
static inline int snn_sdt_window_ok(uint32_t n, uint32_t out, uint32_t k, uint32_t s, uint32_t p)
{
    return n + 2u * p >= k && out == (n + 2u * p - k) / s + 1u;
}

/* The descriptor's static check, as the sequencer makes it before it
 * runs it: 0, SNN_SDT_ERR_OPCODE, or the smaller of SNN_SDT_ERR_SHAPE and
 * SNN_SDT_ERR_REGION when either fails.  list_base and list_cap are the
 * 16 list registers. */
static inline uint32_t snn_sdt_check_desc(const uint32_t *d, const struct snn_sdt_hw *hw,
                                          const uint32_t *list_base, const uint32_t *list_cap)
{
    uint32_t op = SNN_SDT_OPCODE(d[0]), L = hw->lanes;
    uint32_t cin = SNN_SDT_CIN(d[1]), cout = SNN_SDT_COUT(d[1]);
    uint32_t hin = SNN_SDT_HIN(d[2]), win = SNN_SDT_WIN(d[2]), hout = SNN_SDT_HOUT(d[2]),
             wout = SNN_SDT_WOUT(d[2]);
    uint32_t k = SNN_SDT_K(d[3]), s = SNN_SDT_STRIDE(d[3]), p = SNN_SDT_PAD(d[3]);
    uint32_t dw = SNN_SDT_DEPTHWISE(d[3]), i4 = SNN_SDT_INT4(d[3]), cnt = SNN_SDT_COUNTS(d[3]);
    uint32_t lin = SNN_SDT_LIN(d[4]), lout = SNN_SDT_LOUT(d[4]);
    uint32_t np = d[SNN_SDT_W_NP];
    uint32_t gin = snn_sdt_groups(cin, L), gout = snn_sdt_groups(cout, L);
    uint64_t n_out = (uint64_t)gout * hout * wout;
    uint32_t D = hw->dmem_log2;
    int shape = 1, region = 1;
    int list_in = snn_sdt_inside(list_base[lin], list_cap[lin], hw->evt_log2);
    int list_out = snn_sdt_inside(list_base[lout], list_cap[lout], hw->evt_log2);
    switch (op) {
    case SNN_SDT_OP_CONV: {
        shape = snn_sdt_chan_ok(cin) && snn_sdt_chan_ok(cout) && snn_sdt_side_ok(hin) &&
                snn_sdt_side_ok(win) && snn_sdt_side_ok(hout) && snn_sdt_side_ok(wout) &&
                (k == 1 || k == 3 || k == 5 || k == 7) && (s == 1 || s == 2) && p < k &&
                snn_sdt_window_ok(hin, hout, k, s, p) && snn_sdt_window_ok(win, wout, k, s, p) &&
                (!dw || (cout == cin && !i4));
        uint64_t taps = (uint64_t)k * k, wn;
        if (dw)
            wn = taps * gin;
        else if (i4)
            wn = (uint64_t)cin * taps * ((gout + 1u) & ~1u) / 2u;
        else
            wn = (uint64_t)cin * taps * gout;
        region = snn_sdt_inside(d[SNN_SDT_W_ACC], n_out, D) &&
                 snn_sdt_inside(d[SNN_SDT_W_WMEM], wn, hw->wmem_log2) && list_in;
        break;
    }
    case SNN_SDT_OP_NEURON: {
        uint32_t mode = SNN_SDT_MODE(np);
        shape = snn_sdt_chan_ok(cout) && snn_sdt_side_ok(hout) && snn_sdt_side_ok(wout) &&
                mode <= 2u && SNN_SDT_SH(np) <= SNN_SDT_MAX_SH;
        region = snn_sdt_inside(d[SNN_SDT_W_ACC], n_out, D) &&
                 snn_sdt_inside(d[SNN_SDT_W_OUT], n_out, D) &&
                 (!SNN_SDT_RESIDUAL(np) || snn_sdt_inside(d[SNN_SDT_W_B], n_out, D)) &&
                 (mode != SNN_SDT_MODE_LIF || snn_sdt_inside(d[SNN_SDT_W_STATE], n_out, D)) &&
                 (mode != SNN_SDT_MODE_ILIF || snn_sdt_inside(d[SNN_SDT_W_STATE], 2u * n_out, D)) &&
                 snn_sdt_inside(d[SNN_SDT_W_QMEM], gout, hw->qmem_log2) &&
                 (mode == SNN_SDT_MODE_STORE || list_out);
        break;
    }
    case SNN_SDT_OP_ADD:
        shape = snn_sdt_chan_ok(cout) && snn_sdt_side_ok(hout) && snn_sdt_side_ok(wout);
        region = snn_sdt_inside(d[SNN_SDT_W_A], n_out, D) &&
                 snn_sdt_inside(d[SNN_SDT_W_B], n_out, D) &&
                 snn_sdt_inside(d[SNN_SDT_W_OUT], n_out, D);
        break;
    case SNN_SDT_OP_MAXPOOL:
        shape = snn_sdt_chan_ok(cin) && cout == cin && snn_sdt_side_ok(hin) &&
                snn_sdt_side_ok(win) && snn_sdt_side_ok(hout) && snn_sdt_side_ok(wout) &&
                (k == 1 || k == 3 || k == 5 || k == 7) && (s == 1 || s == 2) && 2u * p < k &&
                snn_sdt_window_ok(hin, hout, k, s, p) && snn_sdt_window_ok(win, wout, k, s, p);
        region = snn_sdt_inside(d[SNN_SDT_W_A], (uint64_t)gin * hin * win, D) &&
                 snn_sdt_inside(d[SNN_SDT_W_OUT], n_out, D) && (cnt || list_out);
        break;
    case SNN_SDT_OP_SUMPOOL:
        shape = snn_sdt_chan_ok(cin);
        region = snn_sdt_inside(d[SNN_SDT_W_ACC], gin, D) && list_in;
        break;
    case SNN_SDT_OP_SDSA1: {
        uint64_t gn = (uint64_t)gin * hin;
        shape = snn_sdt_chan_ok(cin) && cout == cin && snn_sdt_side_ok(hin) && hout == hin &&
                win == 1u && wout == 1u;
        region = snn_sdt_inside(d[SNN_SDT_W_A], gn, D) && snn_sdt_inside(d[SNN_SDT_W_B], gn, D) &&
                 snn_sdt_inside(d[SNN_SDT_W_OUT], gn, D) &&
                 snn_sdt_inside(d[SNN_SDT_W_ACC], gn, D) &&
                 snn_sdt_inside(d[SNN_SDT_W_STATE], gin, D) &&
                 snn_sdt_inside(d[SNN_SDT_W_SCRATCH], gin, D) && list_out;
        break;
    }
    case SNN_SDT_OP_KV:
    case SNN_SDT_OP_QKV: {
        uint32_t h = SNN_SDT_HEADS(np);
        uint32_t dh = h ? cin / h : 0;
        shape = snn_sdt_chan_ok(cin) && snn_sdt_side_ok(hin) && win == 1u && h >= 1u &&
                cin % h == 0u && dh % L == 0u;
        uint32_t tok = d[op == SNN_SDT_OP_KV ? SNN_SDT_W_B : SNN_SDT_W_OUT];
        region = snn_sdt_inside(tok, (uint64_t)gin * hin, D) &&
                 snn_sdt_inside(d[SNN_SDT_W_ACC], (uint64_t)cin * dh / L, D) && list_in;
        break;
    }
    case SNN_SDT_OP_CLEAR:
        shape = 1;
        region = snn_sdt_inside(d[SNN_SDT_W_OUT], d[SNN_SDT_W_SCRATCH], D);
        break;
    case SNN_SDT_OP_END:
        break;
    default:
        return SNN_SDT_ERR_OPCODE;
    }
    (void)cnt;
    if (!shape)
        return SNN_SDT_ERR_SHAPE;
    if (!region)
        return SNN_SDT_ERR_REGION;
    return 0;
}

#endif

/*
 * sim-hw/harness.cpp: the C shim over Verilator's models of sdt_top
 * (sim-hw/harness.h is the contract).
 *
 * Takes the models CMake verilated (Vsdt_top, the test model, and
 * Vsdt_top16 when built), opens the one asked for and drives its host bus:
 * one bus access is one clock cycle (inputs set, falling then rising edge).
 * The models differ only in their parameters, so one small virtual wrapper
 * (struct model) hides which class is behind a handle; the bus code reads
 * and writes the ports through pointers.  Gives the C API of harness.h.  Invariants: no C++ exception leaves this
 * file (allocation failures become SNN_ENOMEM); the handle and the event
 * buffer come from snn_calloc/snn_realloc so tests can inject failures; the
 * model's own allocations are Verilator's (operator new, caught).
 */
/* abi/sdt.h (through harness.h) is C17: its static assertions read as
 * C++'s. */
#define _Static_assert static_assert
#include "sim-hw/harness.h"
#undef _Static_assert

#include <new>

#include "Vsdt_top.h"
#ifdef SNN_SDT_MODEL16_FIFO_LOG2
#include "Vsdt_top16.h"
#endif
#include "verilated.h"
#include "verilated_fst_c.h"

/* support/err.h is C17: its one _Noreturn declaration reads as C++'s
 * attribute here. */
#define _Noreturn [[noreturn]]
extern "C" {
#include "support/arena.h"
#include "support/err.h"
}
#undef _Noreturn

/* One verilated model of sdt_top, whatever its parameters: its ports (as
 * Verilator declares them, 8, 16 and 32 bits) and the calls the harness
 * makes. */
struct model {
    uint8_t *clk, *rst, *we, *re;
    uint16_t *addr;
    uint32_t *wdata, *rdata;
    virtual ~model() {}
    virtual void eval() = 0;
    virtual void final_() = 0;
    virtual void trace(VerilatedFstC *fst, int levels) = 0;
};

template <class T> struct model_of : model {
    T top;
    explicit model_of(VerilatedContext *ctx) : top{ctx}
    {
        clk = &top.clk;
        rst = &top.rst;
        we = &top.we;
        re = &top.re;
        addr = &top.addr;
        wdata = &top.wdata;
        rdata = &top.rdata;
    }
    void eval() override { top.eval(); }
    void final_() override { top.final(); }
    void trace(VerilatedFstC *fst, int levels) override { top.trace(fst, levels); }
};

/* The models built, in the order snn_sdt_models lists them; the first is
 * the test model, opened when no configuration is asked for.  The
 * parameters are sim-hw/CMakeLists.txt's (the FIFO's depth comes from
 * there too: CONFIG does not hold it). */
struct model_kind {
    struct snn_sdt_rtl_config cfg;
    model *(*make)(VerilatedContext *ctx);
};

template <class T> static model *make_model(VerilatedContext *ctx)
{
    return new model_of<T>(ctx);
}

static const struct model_kind kinds[] = {
    {{4, 10, 12, 8, 12, 12, SNN_SDT_MODEL4_FIFO_LOG2}, make_model<Vsdt_top>},
#ifdef SNN_SDT_MODEL16_FIFO_LOG2
    {{16, 14, 16, 12, 16, 18, SNN_SDT_MODEL16_FIFO_LOG2}, make_model<Vsdt_top16>},
#endif
};
static const size_t n_kinds = sizeof kinds / sizeof kinds[0];

static bool same_config(const struct snn_sdt_rtl_config *a, const struct snn_sdt_rtl_config *b)
{
    return a->lanes == b->lanes && a->pmem_log2 == b->pmem_log2 &&
           a->wmem_log2 == b->wmem_log2 && a->qmem_log2 == b->qmem_log2 &&
           a->dmem_log2 == b->dmem_log2 && a->evt_log2 == b->evt_log2 &&
           a->fifo_log2 == b->fifo_log2;
}

struct snn_sdt_rtl {
    VerilatedContext *ctx;
    model *top;
    VerilatedFstC *fst;
    uint64_t cycles;
    struct snn_sdt_rtl_config cfg;
    bool busy;              /* a step is under way (the last run hit its limit) */
    int sel, lane;          /* the load port's registers as last written; -1: unknown */
    int64_t maddr;
    uint32_t *ev;           /* events drained from the FIFO, oldest first */
    size_t ev_n, ev_cap;
};

static void tick(struct snn_sdt_rtl *h)
{
    *h->top->clk = 0;
    h->top->eval();
    if (h->fst) {
        h->ctx->timeInc(1);
        h->fst->dump(h->ctx->time());
    }
    *h->top->clk = 1;
    h->top->eval();
    if (h->fst) {
        h->ctx->timeInc(1);
        h->fst->dump(h->ctx->time());
    }
    h->cycles++;
}

static void bus_write(struct snn_sdt_rtl *h, uint32_t addr, uint32_t value)
{
    *h->top->addr = static_cast<uint16_t>(addr & 0xFFF);
    *h->top->wdata = value;
    *h->top->we = 1;
    *h->top->re = 0;
    tick(h);
    *h->top->we = 0;
}

static uint32_t bus_read(struct snn_sdt_rtl *h, uint32_t addr)
{
    *h->top->addr = static_cast<uint16_t>(addr & 0xFFF);
    *h->top->we = 0;
    *h->top->re = 1;
    tick(h);
    *h->top->re = 0;
    return *h->top->rdata;
}

static void idle(struct snn_sdt_rtl *h)
{
    *h->top->we = 0;
    *h->top->re = 0;
    tick(h);
}

/* Room for one more event in the buffer, made before the FIFO is popped so
 * that a failed allocation loses nothing. */
static int reserve_event(struct snn_sdt_rtl *h)
{
    if (h->ev_n == h->ev_cap) {
        size_t cap = h->ev_cap ? 2 * h->ev_cap : 256;
        uint32_t *p = static_cast<uint32_t *>(snn_realloc(h->ev, cap * sizeof *p));
        if (!p)
            return SNN_ENOMEM;
        h->ev = p;
        h->ev_cap = cap;
    }
    return 0;
}

/* Pops one event from the FIFO into the buffer. */
static int pop_event(struct snn_sdt_rtl *h)
{
    int err = reserve_event(h);
    if (err)
        return err;
    h->ev[h->ev_n++] = bus_read(h, SNN_SDT_ADDR_FIFO_DATA);
    return 0;
}

static void destroy(struct snn_sdt_rtl *h)
{
    if (h->fst) {
        h->fst->close();
        delete h->fst;
    }
    if (h->top) {
        h->top->final_();
        delete h->top;
    }
    delete h->ctx;
    snn_free(h->ev);
    snn_free(h);
}

extern "C" int snn_sdt_open(const struct snn_sdt_rtl_options *opt, struct snn_sdt_rtl **rtl)
{
    if (!rtl)
        return SNN_EINVAL;
    *rtl = nullptr;
    const struct model_kind *kind = &kinds[0];
    if (opt && opt->config) {
        kind = nullptr;
        for (size_t i = 0; i < n_kinds && !kind; i++)
            if (same_config(&kinds[i].cfg, opt->config))
                kind = &kinds[i];
        if (!kind)
            return SNN_EUNSUPPORTED;
    }
    struct snn_sdt_rtl *h = static_cast<struct snn_sdt_rtl *>(snn_calloc(1, sizeof *h));
    if (!h)
        return SNN_ENOMEM;
    h->sel = h->lane = -1;
    h->maddr = -1;
    try {
        h->ctx = new VerilatedContext;
        h->ctx->traceEverOn(opt && opt->trace_path);
        h->top = kind->make(h->ctx);
        if (opt && opt->trace_path) {
            h->fst = new VerilatedFstC;
            h->top->trace(h->fst, 99);
            h->fst->open(opt->trace_path);
            if (!h->fst->isOpen()) {
                destroy(h);
                return SNN_EIO;
            }
        }
    } catch (const std::bad_alloc &) {
        destroy(h);
        return SNN_ENOMEM;
    }
    *h->top->clk = 0;
    *h->top->we = 0;
    *h->top->re = 0;
    *h->top->rst = 1;
    tick(h);
    tick(h);
    *h->top->rst = 0;
    tick(h);
    uint32_t cfg = bus_read(h, SNN_SDT_ADDR_CONFIG);
    h->cfg.lanes = cfg & 0xFF;
    h->cfg.pmem_log2 = ((cfg >> 8) & 0xF) + 4;
    h->cfg.wmem_log2 = ((cfg >> 12) & 0xF) + 4;
    h->cfg.qmem_log2 = ((cfg >> 16) & 0xF) + 4;
    h->cfg.dmem_log2 = ((cfg >> 20) & 0xF) + 4;
    h->cfg.evt_log2 = ((cfg >> 24) & 0x1F) + 4;
    h->cfg.fifo_log2 = kind->cfg.fifo_log2;
    *rtl = h;
    return 0;
}

extern "C" size_t snn_sdt_models(struct snn_sdt_rtl_config *cfgs, size_t cap)
{
    for (size_t i = 0; i < n_kinds && i < cap; i++)
        cfgs[i] = kinds[i].cfg;
    return n_kinds;
}

extern "C" void snn_sdt_close(struct snn_sdt_rtl *rtl)
{
    if (rtl)
        destroy(rtl);
}

extern "C" int snn_sdt_config(struct snn_sdt_rtl *rtl, struct snn_sdt_rtl_config *cfg)
{
    if (!rtl || !cfg)
        return SNN_EINVAL;
    *cfg = rtl->cfg;
    return 0;
}

extern "C" int snn_sdt_reg_write(struct snn_sdt_rtl *rtl, uint32_t addr, uint32_t value)
{
    if (!rtl || (addr & 3) || addr > 0xFFC)
        return SNN_EINVAL;
    bus_write(rtl, addr, value);
    /* The load port's cached registers follow the host's writes. */
    if (addr == SNN_SDT_ADDR_MEM_SEL)
        rtl->sel = static_cast<int>(value & 7);
    else if (addr == SNN_SDT_ADDR_MEM_ADDR)
        rtl->maddr = value;
    else if (addr == SNN_SDT_ADDR_MEM_LANE)
        rtl->lane = static_cast<int>(value & 0xFF);
    return 0;
}

extern "C" int snn_sdt_reg_read(struct snn_sdt_rtl *rtl, uint32_t addr, uint32_t *value)
{
    if (!rtl || !value || (addr & 3) || addr > 0xFFC)
        return SNN_EINVAL;
    *value = bus_read(rtl, addr);
    return 0;
}

/* The number of 32-bit slices of a memory's word and its log2 size. */
static int mem_shape(const struct snn_sdt_rtl *h, enum snn_sdt_mem mem, uint32_t *slices,
                     unsigned *log2)
{
    switch (mem) {
    case SNN_SDT_PMEM: *slices = 1; *log2 = h->cfg.pmem_log2; return 0;
    case SNN_SDT_WMEM: *slices = h->cfg.lanes / 4; *log2 = h->cfg.wmem_log2; return 0;
    case SNN_SDT_QMEM: *slices = h->cfg.lanes * 2; *log2 = h->cfg.qmem_log2; return 0;
    case SNN_SDT_DMEM: *slices = h->cfg.lanes; *log2 = h->cfg.dmem_log2; return 0;
    case SNN_SDT_EVT: *slices = 1; *log2 = h->cfg.evt_log2; return 0;
    }
    return SNN_EINVAL;
}

static int port_set(struct snn_sdt_rtl *h, enum snn_sdt_mem mem, uint32_t addr, uint32_t lane)
{
    uint32_t slices;
    unsigned log2;
    if (h->busy || mem_shape(h, mem, &slices, &log2) != 0)
        return SNN_EINVAL;
    if (lane >= slices || (uint64_t)addr >= (UINT64_C(1) << log2))
        return SNN_EINVAL;
    if (h->sel != static_cast<int>(mem)) {
        bus_write(h, SNN_SDT_ADDR_MEM_SEL, mem);
        h->sel = mem;
    }
    if (h->maddr != static_cast<int64_t>(addr)) {
        bus_write(h, SNN_SDT_ADDR_MEM_ADDR, addr);
        h->maddr = addr;
    }
    if (h->lane != static_cast<int>(lane)) {
        bus_write(h, SNN_SDT_ADDR_MEM_LANE, lane);
        h->lane = static_cast<int>(lane);
    }
    return 0;
}

extern "C" int snn_sdt_mem_write(struct snn_sdt_rtl *rtl, enum snn_sdt_mem mem, uint32_t addr,
                                 uint32_t lane, uint32_t value)
{
    if (!rtl)
        return SNN_EINVAL;
    int err = port_set(rtl, mem, addr, lane);
    if (err)
        return err;
    bus_write(rtl, SNN_SDT_ADDR_MEM_WDATA, value);
    return 0;
}

extern "C" int snn_sdt_mem_read(struct snn_sdt_rtl *rtl, enum snn_sdt_mem mem, uint32_t addr,
                                uint32_t lane, uint32_t *value)
{
    if (!rtl || !value)
        return SNN_EINVAL;
    int err = port_set(rtl, mem, addr, lane);
    if (err)
        return err;
    /* MEM_RDATA holds the slice read two cycles after the last change. */
    idle(rtl);
    *value = bus_read(rtl, SNN_SDT_ADDR_MEM_RDATA);
    return 0;
}

extern "C" int snn_sdt_mem_load(struct snn_sdt_rtl *rtl, enum snn_sdt_mem mem, uint32_t addr,
                                const uint32_t *slices, size_t n)
{
    uint32_t s;
    unsigned log2;
    if (!rtl || (n && !slices) || mem_shape(rtl, mem, &s, &log2) != 0)
        return SNN_EINVAL;
    if ((uint64_t)addr + (n + s - 1) / s > (UINT64_C(1) << log2))
        return SNN_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int err = snn_sdt_mem_write(rtl, mem, addr + static_cast<uint32_t>(i / s),
                                    static_cast<uint32_t>(i % s), slices[i]);
        if (err)
            return err;
    }
    return 0;
}

extern "C" int snn_sdt_mem_dump(struct snn_sdt_rtl *rtl, enum snn_sdt_mem mem, uint32_t addr,
                                uint32_t *slices, size_t n)
{
    uint32_t s;
    unsigned log2;
    if (!rtl || (n && !slices) || mem_shape(rtl, mem, &s, &log2) != 0)
        return SNN_EINVAL;
    if ((uint64_t)addr + (n + s - 1) / s > (UINT64_C(1) << log2))
        return SNN_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int err = snn_sdt_mem_read(rtl, mem, addr + static_cast<uint32_t>(i / s),
                                   static_cast<uint32_t>(i % s), &slices[i]);
        if (err)
            return err;
    }
    return 0;
}

extern "C" int snn_sdt_list_set(struct snn_sdt_rtl *rtl, unsigned r, uint32_t base, uint32_t cap,
                                uint32_t count)
{
    if (!rtl || r > 15 || rtl->busy)
        return SNN_EINVAL;
    bus_write(rtl, SNN_SDT_ADDR_LIST + 4 * r, base);
    bus_write(rtl, SNN_SDT_ADDR_LIST_CAP + 4 * r, cap);
    bus_write(rtl, SNN_SDT_ADDR_LIST_COUNT + 4 * r, count);
    return 0;
}

extern "C" int snn_sdt_list_count(struct snn_sdt_rtl *rtl, unsigned r, uint32_t *count)
{
    if (!rtl || !count || r > 15)
        return SNN_EINVAL;
    *count = bus_read(rtl, SNN_SDT_ADDR_LIST_COUNT + 4 * r);
    return 0;
}

extern "C" int snn_sdt_run(struct snn_sdt_rtl *rtl, uint64_t max_cycles, enum snn_sdt_stop *stop)
{
    if (!rtl || !stop)
        return SNN_EINVAL;
    if (!rtl->busy)
        bus_write(rtl, SNN_SDT_ADDR_CTRL, 1);
    rtl->busy = true;
    /* STATUS is read every cycle the FIFO is not being drained; the bus
     * does not slow the machine, which runs on between the reads. */
    for (uint64_t c = 0; c < max_cycles; c++) {
        uint32_t status = bus_read(rtl, SNN_SDT_ADDR_STATUS);
        if (status & 8) {
            int err = pop_event(rtl);
            if (err)
                return err;
            c++;
        }
        if (!(status & 1)) {
            rtl->busy = false;
            *stop = (status & 4) ? SNN_SDT_STOP_ERROR : SNN_SDT_STOP_DONE;
            return 0;
        }
    }
    *stop = SNN_SDT_STOP_LIMIT;
    return 0;
}

extern "C" int snn_sdt_error_info(struct snn_sdt_rtl *rtl, unsigned *code, unsigned *pc)
{
    if (!rtl || !code || !pc)
        return SNN_EINVAL;
    uint32_t v = bus_read(rtl, SNN_SDT_ADDR_ERROR_INFO);
    *code = v & 0xFF;
    *pc = v >> 16;
    return 0;
}

extern "C" int snn_sdt_counters(struct snn_sdt_rtl *rtl, uint64_t counters[SNN_SDT_COUNTERS])
{
    if (!rtl || !counters)
        return SNN_EINVAL;
    for (unsigned n = 0; n < SNN_SDT_COUNTERS; n++) {
        uint64_t lo = bus_read(rtl, SNN_SDT_ADDR_COUNTERS + 8 * n);
        uint64_t hi = bus_read(rtl, SNN_SDT_ADDR_COUNTERS + 8 * n + 4);
        counters[n] = lo | hi << 32;
    }
    return 0;
}

extern "C" int snn_sdt_counters_reset(struct snn_sdt_rtl *rtl)
{
    if (!rtl)
        return SNN_EINVAL;
    bus_write(rtl, SNN_SDT_ADDR_CTRL, 2);
    return 0;
}

extern "C" int snn_sdt_fifo_drain(struct snn_sdt_rtl *rtl, uint32_t *events, size_t cap, size_t *n)
{
    if (!rtl || !n || (cap && !events))
        return SNN_EINVAL;
    *n = 0;
    uint32_t left = bus_read(rtl, SNN_SDT_ADDR_FIFO_COUNT);
    for (uint32_t i = 0; i < left; i++) {
        int err = pop_event(rtl);
        if (err)
            return err;
    }
    size_t k = rtl->ev_n < cap ? rtl->ev_n : cap;
    for (size_t i = 0; i < k; i++)
        events[i] = rtl->ev[i];
    for (size_t i = k; i < rtl->ev_n; i++)
        rtl->ev[i - k] = rtl->ev[i];
    rtl->ev_n -= k;
    *n = k;
    return 0;
}

extern "C" uint64_t snn_sdt_cycles(const struct snn_sdt_rtl *rtl)
{
    return rtl ? rtl->cycles : 0;
}

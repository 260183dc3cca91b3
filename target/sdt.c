/*
 * target/sdt.c: the sdt family's machine description (target/sdt.h): its
 * defaults and its verifier.
 *
 * Takes a struct snn_sdt_target filled by hand or by the target parser;
 * gives a report of every broken rule.  The limits are the contract's
 * (docs/sdt-accelerator.md, abi/sdt.h), so a target that verifies is one
 * the RTL can be built for.
 */
#include "target/sdt.h"
#include "abi/sdt.h"
#include "support/arena.h"
#include "support/err.h"

struct snn_sdt_target *snn_sdt_target_new(void)
{
    struct snn_sdt_target *t = snn_calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->arena = snn_arena_new();
    if (!t->arena) {
        snn_free(t);
        return NULL;
    }
    t->lanes = SNN_SDT_DEFAULT_LANES;
    t->pmem_log2 = SNN_SDT_DEFAULT_PMEM_LOG2;
    t->wmem_log2 = SNN_SDT_DEFAULT_WMEM_LOG2;
    t->qmem_log2 = SNN_SDT_DEFAULT_QMEM_LOG2;
    t->dmem_log2 = SNN_SDT_DEFAULT_DMEM_LOG2;
    t->evt_log2 = SNN_SDT_DEFAULT_EVT_LOG2;
    t->fifo_log2 = SNN_SDT_DEFAULT_FIFO_LOG2;
    t->clock_mhz = SNN_SDT_DEFAULT_CLOCK_MHZ;
    t->energy.ac_pj = SNN_SDT_DEFAULT_E_AC_PJ;
    t->energy.mac_pj = SNN_SDT_DEFAULT_E_MAC_PJ;
    t->energy.read_bit_pj = SNN_SDT_DEFAULT_E_READ_BIT_PJ;
    t->energy.write_bit_pj = SNN_SDT_DEFAULT_E_WRITE_BIT_PJ;
    t->energy.source = SNN_SDT_DEFAULT_E_SOURCE;
    return t;
}

void snn_sdt_target_free(struct snn_sdt_target *t)
{
    if (!t)
        return;
    snn_arena_free(t->arena);
    snn_free(t);
}

static int check_log2(const char *what, uint32_t v, struct snn_diag *d)
{
    if (v >= SNN_SDT_MIN_LOG2 && v <= SNN_SDT_MAX_LOG2)
        return 0;
    snn_diag_error(d, NULL, "sdt target: %s has 2^%u words; memories have 2^4 .. 2^19", what, v);
    return SNN_ESEMA;
}

static int check_energy(const char *what, double pj, struct snn_diag *d)
{
    if (pj >= 0 && pj <= SNN_SDT_MAX_ENERGY_PJ)
        return 0;
    snn_diag_error(d, NULL, "sdt target: energy '%s' is %g pJ; it must be from 0 to 1000 pJ",
                   what, pj);
    return SNN_ESEMA;
}

int snn_sdt_target_verify(const struct snn_sdt_target *t, struct snn_diag *d)
{
    int rc = 0;
    uint32_t L = t->lanes;
    if (L < SNN_SDT_MIN_LANES || L > SNN_SDT_MAX_LANES || (L & (L - 1))) {
        snn_diag_error(d, NULL, "sdt target: %u lanes; lanes are a power of two from 4 to 128",
                       L);
        rc = SNN_ESEMA;
    }
    static const char *const names[] = {"pmem", "wmem", "qmem", "dmem", "evt"};
    const uint32_t logs[] = {t->pmem_log2, t->wmem_log2, t->qmem_log2, t->dmem_log2,
                             t->evt_log2};
    for (unsigned i = 0; i < 5; i++)
        if (check_log2(names[i], logs[i], d))
            rc = SNN_ESEMA;
    if (t->fifo_log2 < 1 || t->fifo_log2 > SNN_SDT_MAX_FIFO_LOG2) {
        snn_diag_error(d, NULL, "sdt target: a FIFO of 2^%u events; it holds 2^1 .. 2^16",
                       t->fifo_log2);
        rc = SNN_ESEMA;
    }
    if (t->clock_mhz == 0) {
        snn_diag_error(d, NULL, "sdt target: the clock is 0 MHz");
        rc = SNN_ESEMA;
    }
    if (check_energy("ac", t->energy.ac_pj, d) || check_energy("mac", t->energy.mac_pj, d) ||
        check_energy("sram_read_bit", t->energy.read_bit_pj, d) ||
        check_energy("sram_write_bit", t->energy.write_bit_pj, d))
        rc = SNN_ESEMA;
    return rc;
}

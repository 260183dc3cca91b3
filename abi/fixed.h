/*
 * abi/fixed.h: the integer arithmetic every executor of snnc shares.
 *
 * docs/numerics.md is the specification; this header is its one
 * implementation for C executors (the reference simulator and the board
 * firmware include it; the RTL follows the same document).  Header-only
 * and freestanding: no libc, no allocation, no floating point.
 *
 * Formats:
 *   voltage            int32, Q15.16 mV: 1 LSB = 2^-16 mV
 *   synaptic state     int32, in LSBs of the receiving population's weight
 *                      unit for that receptor (chosen by the quantizer)
 *   coefficient        struct fx_mult {m, s}: the real number m * 2^-s,
 *                      m a signed 32-bit integer, 0 <= s <= 62
 *
 * The one product: fx_mul(a, k) = sat32(floor((a * m + 2^(s-1)) / 2^s))
 * computed exactly in 64 bits (|a * m| <= 2^62, so the rounding addend
 * cannot overflow): round half up, then saturate to int32.  fx_dot3 rounds
 * a sum of three such products once, in the same way.
 */
#ifndef SNN_ABI_FIXED_H
#define SNN_ABI_FIXED_H

#include <stdint.h>

#define FX_V_FRAC_BITS 16
#define FX_ONE_MV ((int32_t)1 << FX_V_FRAC_BITS)
#define FX_MULT_MAX_SHIFT 62

/* Arithmetic right shift of negative values is what every compiler snnc
 * supports does; C17 leaves it implementation-defined, so check it. */
_Static_assert((-3 >> 1) == -2, "snnc needs arithmetic right shifts");

struct fx_mult {
    int32_t m;
    int32_t s;
};

static inline int32_t fx_sat32(int64_t x)
{
    return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int32_t)x;
}

/* Saturating int32 addition. */
static inline int32_t fx_add(int32_t a, int32_t b) { return fx_sat32((int64_t)a + b); }

/* a * k, rounded half up, saturated. */
static inline int32_t fx_mul(int32_t a, struct fx_mult k)
{
    int64_t p = (int64_t)a * k.m;
    if (k.s > 0)
        p = (p + ((int64_t)1 << (k.s - 1))) >> k.s;
    return fx_sat32(p);
}

/* a0 k0 + a1 k1 + a2 k2, rounded once: sat32(floor((sum + 2^(s-1)) / 2^s))
 * for 1 <= s <= 60.  The sum can need 65 bits, so each product is split
 * into floor(p / 2^s) and its remainder p mod 2^s, and the two parts are
 * summed apart (neither sum can overflow): the result is exact. */
static inline int32_t fx_dot3(int32_t a0, int32_t k0, int32_t a1, int32_t k1, int32_t a2,
                              int32_t k2, int s)
{
    int64_t p0 = (int64_t)a0 * k0, p1 = (int64_t)a1 * k1, p2 = (int64_t)a2 * k2;
    int64_t mask = ((int64_t)1 << s) - 1;
    int64_t whole = (p0 >> s) + (p1 >> s) + (p2 >> s);
    int64_t rest = (p0 & mask) + (p1 & mask) + (p2 & mask) + ((int64_t)1 << (s - 1));
    return fx_sat32(whole + (rest >> s));
}

/*
 * Synaptic input is summed in a ring-buffer word with wrapping 32-bit
 * addition, which gives the same result in any order.  The quantizer
 * bounds weights so the true sum can never leave int32 (docs/numerics.md,
 * "Synaptic input"), so wrapping never happens and the sum is exact.
 */
static inline int32_t fx_acc(int32_t acc, int32_t w)
{
    return (int32_t)((uint32_t)acc + (uint32_t)w);
}

#endif

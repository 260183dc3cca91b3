/*
 * ir/detmath.h: elementary functions that give the same bits on every
 * machine.
 *
 * libm's exp and log are accurate but not correctly rounded, and differ
 * between C libraries and versions; a one-ULP difference in a decay factor
 * can flip the rounding of a fixed-point coefficient and so change
 * spikes.  Everything snnc derives from real numbers at compile time
 * (decays, Poisson thresholds, normal deviates) goes through these, which
 * use only IEEE-754 double +, -, *, / and sqrt (each correctly rounded),
 * compiled without floating-point contraction.  Accuracy: a few ULP.
 */
#ifndef SNN_IR_DETMATH_H
#define SNN_IR_DETMATH_H

#include <stddef.h>
#include <stdint.h>

#include "abi/philox.h"

double snn_det_exp(double x);
double snn_det_expm1(double x);
double snn_det_log(double x);  /* x > 0 */
/* y[i] = snn_det_log(x[i]) for i < n, the same bits, several at a time
 * (x and y may be the same array). */
void snn_det_log_n(const double *x, double *y, size_t n);
double snn_det_cos2pi(double u); /* cos(2 pi u) */
/* y[i] = snn_det_cos2pi(x[i]) for i < n, the same bits, several at a time
 * (x and y may be the same array). */
void snn_det_cos2pi_n(const double *x, double *y, size_t n);

/* out[i] = snn_philox4x32(c0[i], c1[i], c2, c3, key) for i < n, the same
 * bits, several at a time. */
void snn_philox4x32_n(const uint32_t *c0, const uint32_t *c1, uint32_t c2, uint32_t c3,
                      uint64_t key, struct snn_philox_out *out, size_t n);

/* A uniform double in [0, 1) from two 32-bit draws: all 32 bits of hi
 * above the top 21 of lo, exact in a double.  Inline: expansion calls it
 * for every draw. */
static inline double snn_u01(uint32_t hi, uint32_t lo)
{
    return (double)((uint64_t)hi << 21 | lo >> 11) * 0x1p-53;
}

#endif

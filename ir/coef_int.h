/*
 * ir/coef_int.h: the real-valued coefficients of the neuron models.
 *
 * One definition used twice: the quantize pass rounds them to fixed point
 * and the float64 simulator uses them as they are, so the two modes differ
 * only by quantization.  Formulas and derivations: docs/numerics.md.
 * Private to ir/.
 */
#ifndef SNN_IR_COEF_INT_H
#define SNN_IR_COEF_INT_H

#include "ir/detmath.h"

/* Membrane response (mV) after one step of h ms to a unit current (1 nA)
 * present at the step's start and decaying with tau_s, on a membrane of
 * tau_m, cm: exact integration (the propagator P21 of iaf_psc_exp):
 *   (1/cm) (exp(-h/tau_s) - exp(-h/tau_m)) / (1/tau_m - 1/tau_s).
 * With x = h (1/tau_m - 1/tau_s) small the difference cancels, so it is
 * written (1/cm) exp(-h/tau_m) h expm1(x)/x (limit h exp(-h/tau_m)/cm as
 * tau_s approaches tau_m); with |x| > 1 there is nothing to cancel, and
 * the direct form avoids 0 * infinity when h/tau_m is huge. */
static inline double snn__coef_p21(double h, double tau_m, double cm, double tau_s)
{
    double x = h * (1.0 / tau_m - 1.0 / tau_s);
    if (x > 1.0 || x < -1.0)
        return (snn_det_exp(-h / tau_s) - snn_det_exp(-h / tau_m)) /
               (1.0 / tau_m - 1.0 / tau_s) / cm;
    double g = x == 0 ? 1.0 : snn_det_expm1(x) / x;
    return snn_det_exp(-h / tau_m) * h * g / cm;
}

/* Voltage gained in one step from a constant current i_offset (nA) on a
 * leaky membrane, exact: i_offset (tau_m/cm) (1 - exp(-h/tau_m)). */
static inline double snn__coef_v_off(double h, double tau_m, double cm, double i_offset)
{
    return i_offset * (tau_m / cm) * -snn_det_expm1(-h / tau_m);
}

/* The same for the Euler-integrated conductance model: h i_offset / cm. */
static inline double snn__coef_cond_v_off(double h, double cm, double i_offset)
{
    return h * i_offset / cm;
}

/* Probability that a Poisson process of rate_hz fires in a step of h ms. */
static inline double snn__coef_poisson_p(double rate_hz, double h)
{
    return -snn_det_expm1(-rate_hz * h / 1000.0);
}

#endif

/*
 * frontend/units.c: quantities with units ("20 ms", "-65 mV", "6 nS").
 *
 * Takes the text of one YAML scalar and the dimension the key expects;
 * gives the value in snnc's internal unit of that dimension (ir/ir.h), or
 * a one-line reason for the diagnostics.  Units are case-sensitive, as in
 * SI ("mV" is a millivolt, "MV" would be a megavolt and is not accepted).
 *
 * Scaling is by exact powers of ten, multiplying to go up and dividing to
 * go down, so "100 us" gives the same double as "0.1 ms": the decimal is
 * rounded once by strtod and once, correctly, by the division.
 */
#include "frontend/units.h"
#include "support/diag.h"
#include "support/err.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit {
    const char *name;
    enum snn_dim dim;
    int exp10; /* value in the internal unit = number * 10^exp10 */
};

/* Every accepted unit.  "u" is the ASCII spelling of micro; the micro
 * sign (U+00B5) and Greek mu (U+03BC) are accepted for it as well. */
static const struct unit units[] = {
    {"s", SNN_DIM_TIME, 3},           {"ms", SNN_DIM_TIME, 0},
    {"us", SNN_DIM_TIME, -3},         {"V", SNN_DIM_VOLTAGE, 3},
    {"mV", SNN_DIM_VOLTAGE, 0},       {"uV", SNN_DIM_VOLTAGE, -3},
    {"A", SNN_DIM_CURRENT, 9},        {"mA", SNN_DIM_CURRENT, 6},
    {"uA", SNN_DIM_CURRENT, 3},       {"nA", SNN_DIM_CURRENT, 0},
    {"pA", SNN_DIM_CURRENT, -3},      {"S", SNN_DIM_CONDUCTANCE, 6},
    {"mS", SNN_DIM_CONDUCTANCE, 3},   {"uS", SNN_DIM_CONDUCTANCE, 0},
    {"nS", SNN_DIM_CONDUCTANCE, -3},  {"F", SNN_DIM_CAPACITANCE, 9},
    {"mF", SNN_DIM_CAPACITANCE, 6},   {"uF", SNN_DIM_CAPACITANCE, 3},
    {"nF", SNN_DIM_CAPACITANCE, 0},   {"pF", SNN_DIM_CAPACITANCE, -3},
    {"Hz", SNN_DIM_RATE, 0},          {"kHz", SNN_DIM_RATE, 3},
    {"1/ms", SNN_DIM_PER_TIME, 0},    {"/ms", SNN_DIM_PER_TIME, 0},
    {"1/s", SNN_DIM_PER_TIME, -3},    {"/s", SNN_DIM_PER_TIME, -3},
    {"mV/ms", SNN_DIM_VOLTAGE_RATE, 0}, {"V/s", SNN_DIM_VOLTAGE_RATE, 0},
};
#define N_UNITS (sizeof units / sizeof units[0])

const char *snn_dim_name(enum snn_dim dim)
{
    switch (dim) {
    case SNN_DIM_NONE: return "bare number";
    case SNN_DIM_TIME: return "time";
    case SNN_DIM_VOLTAGE: return "voltage";
    case SNN_DIM_CURRENT: return "current";
    case SNN_DIM_CONDUCTANCE: return "conductance";
    case SNN_DIM_CAPACITANCE: return "capacitance";
    case SNN_DIM_RATE: return "rate";
    case SNN_DIM_PER_TIME: return "inverse time";
    case SNN_DIM_VOLTAGE_RATE: return "voltage rate";
    }
    return "quantity";
}

/* The article for a dimension's name: "a time", "an inverse time". */
static const char *an(enum snn_dim dim)
{
    return strchr("aeiou", snn_dim_name(dim)[0]) ? "an" : "a";
}

/* Length of a decimal number at s ([+-] digits [. digits] [e [+-] digits],
 * with at least one digit in the mantissa), or 0 when there is none.
 * Hex floats, "inf" and "nan", which strtod would take, are not numbers
 * here. */
static size_t number_len(const char *s)
{
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    while (s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits)
        return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '+' || s[j] == '-')
            j++;
        if (s[j] >= '0' && s[j] <= '9') {
            while (s[j] >= '0' && s[j] <= '9')
                j++;
            i = j;
        }
    }
    return i;
}

/* Longest number accepted: 17 significant digits say everything a double
 * can hold, so 100 characters leave ample room for zeros and an exponent. */
enum { MAX_NUMBER_LEN = 100 };

/* strtod of the n-byte number at s, whatever the C library's locale says
 * the decimal point is. */
static double to_double(const char *s, size_t n)
{
    char buf[MAX_NUMBER_LEN + 1];
    SNN_ASSERT(n <= MAX_NUMBER_LEN);
    memcpy(buf, s, n);
    buf[n] = 0;
    const char *point = localeconv()->decimal_point;
    if (point && point[0] && strcmp(point, ".") != 0 && !point[1]) {
        char *dot = strchr(buf, '.');
        if (dot)
            *dot = point[0];
    }
    errno = 0;
    return strtod(buf, NULL);
}

/* Rewrites the micro sign or Greek mu at the start of u into 'u'.  Returns
 * the ASCII spelling in buf. */
static const char *ascii_unit(const char *u, char *buf, size_t len)
{
    const char *rest = u;
    if ((unsigned char)u[0] == 0xC2 && (unsigned char)u[1] == 0xB5)
        rest = u + 2;
    else if ((unsigned char)u[0] == 0xCE && (unsigned char)u[1] == 0xBC)
        rest = u + 2;
    if (rest == u)
        return u;
    snprintf(buf, len, "u%s", rest);
    return buf;
}

static double scale(double x, int exp10)
{
    static const double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    int e = exp10 < 0 ? -exp10 : exp10;
    SNN_ASSERT(e < (int)(sizeof pow10 / sizeof pow10[0]));
    return exp10 >= 0 ? x * pow10[e] : x / pow10[e];
}

int snn_parse_quantity(const char *s, enum snn_dim dim, double *out, char *why, size_t why_len)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t nlen = number_len(s);
    if (!nlen) {
        if (dim == SNN_DIM_NONE)
            snprintf(why, why_len, "expected a number, got '%.40s'", s);
        else
            snprintf(why, why_len, "expected %s %s such as '1 %s', got '%.40s'", an(dim),
                     snn_dim_name(dim), snn_dim_unit(dim), s);
        return SNN_EPARSE;
    }
    if (nlen > MAX_NUMBER_LEN) {
        snprintf(why, why_len, "number '%.20s...' is longer than %d characters", s, MAX_NUMBER_LEN);
        return SNN_EPARSE;
    }
    double x = to_double(s, nlen);
    if (!isfinite(x)) {
        snprintf(why, why_len, "number '%.*s' is out of range", (int)(nlen > 40 ? 40 : nlen), s);
        return SNN_EPARSE;
    }
    const char *u = s + nlen;
    while (*u == ' ' || *u == '\t')
        u++;
    size_t ulen = strlen(u);
    while (ulen && (u[ulen - 1] == ' ' || u[ulen - 1] == '\t'))
        ulen--;
    if (ulen == 0) {
        if (dim == SNN_DIM_NONE) {
            *out = x;
            return 0;
        }
        snprintf(why, why_len, "missing unit: write '%.*s %s' (%s %s)",
                 (int)(nlen > 40 ? 40 : nlen), s, snn_dim_unit(dim), an(dim), snn_dim_name(dim));
        return SNN_EPARSE;
    }
    char ubuf[32], abuf[40];
    if (ulen >= sizeof ubuf) {
        snprintf(why, why_len, "unknown unit '%.20s...'", u);
        return SNN_EPARSE;
    }
    memcpy(ubuf, u, ulen);
    ubuf[ulen] = 0;
    const char *name = ascii_unit(ubuf, abuf, sizeof abuf);
    if (dim == SNN_DIM_NONE) {
        snprintf(why, why_len, "expected a bare number, got unit '%s'", ubuf);
        return SNN_EPARSE;
    }
    const struct unit *found = NULL;
    for (size_t i = 0; i < N_UNITS; i++)
        if (strcmp(units[i].name, name) == 0)
            found = &units[i];
    if (!found) {
        const char *cands[N_UNITS];
        size_t n = 0;
        for (size_t i = 0; i < N_UNITS; i++)
            if (units[i].dim == dim)
                cands[n++] = units[i].name;
        const char *sug = snn_suggest(name, cands, n);
        if (sug)
            snprintf(why, why_len, "unknown unit '%s' for %s %s (did you mean '%s'?)", ubuf,
                     an(dim), snn_dim_name(dim), sug);
        else
            snprintf(why, why_len, "unknown unit '%s' for %s %s (%s)", ubuf, an(dim),
                     snn_dim_name(dim), snn_dim_unit(dim));
        return SNN_EPARSE;
    }
    if (found->dim != dim) {
        snprintf(why, why_len, "expected %s %s (%s), got '%s', %s %s", an(dim), snn_dim_name(dim),
                 snn_dim_unit(dim), ubuf, an(found->dim), snn_dim_name(found->dim));
        return SNN_EPARSE;
    }
    double v = scale(x, found->exp10);
    if (!isfinite(v)) {
        snprintf(why, why_len, "'%.*s %s' is out of range", (int)(nlen > 40 ? 40 : nlen), s, ubuf);
        return SNN_EPARSE;
    }
    *out = v;
    return 0;
}

/*
 * tests/unit/test_units.c: quantities with units (frontend/units.c).
 *
 * Every accepted unit converts to the internal unit of its dimension with
 * the exact double the equivalent internal-unit text gives; every kind of
 * wrong input is refused with its one-line reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "frontend/units.h"
#include "support/err.h"

struct ok_case {
    const char *text;
    enum snn_dim dim;
    double want;
};

static void accepts_every_unit(void **state)
{
    (void)state;
    static const struct ok_case cases[] = {
        {"20 ms", SNN_DIM_TIME, 20.0},
        {"0.02 s", SNN_DIM_TIME, 20.0},
        {"100 us", SNN_DIM_TIME, 0.1},
        {"100 \xc2\xb5s", SNN_DIM_TIME, 0.1}, /* micro sign */
        {"100 \xce\xbcs", SNN_DIM_TIME, 0.1}, /* Greek mu */
        {"20ms", SNN_DIM_TIME, 20.0},
        {"  1e-1 ms  ", SNN_DIM_TIME, 0.1},
        {"-65 mV", SNN_DIM_VOLTAGE, -65.0},
        {"-0.065 V", SNN_DIM_VOLTAGE, -65.0},
        {"500 uV", SNN_DIM_VOLTAGE, 0.5},
        {"1 A", SNN_DIM_CURRENT, 1e9},
        {"2 mA", SNN_DIM_CURRENT, 2e6},
        {"3 uA", SNN_DIM_CURRENT, 3000.0},
        {"0.27 nA", SNN_DIM_CURRENT, 0.27},
        {"270 pA", SNN_DIM_CURRENT, 0.27},
        {"1 S", SNN_DIM_CONDUCTANCE, 1e6},
        {"2 mS", SNN_DIM_CONDUCTANCE, 2000.0},
        {"3 uS", SNN_DIM_CONDUCTANCE, 3.0},
        {"6 nS", SNN_DIM_CONDUCTANCE, 0.006},
        {"1 F", SNN_DIM_CAPACITANCE, 1e9},
        {"1 uF", SNN_DIM_CAPACITANCE, 1000.0},
        {"0.2 nF", SNN_DIM_CAPACITANCE, 0.2},
        {"200 pF", SNN_DIM_CAPACITANCE, 0.2},
        {"5 Hz", SNN_DIM_RATE, 5.0},
        {"1.5 kHz", SNN_DIM_RATE, 1500.0},
        {"0.02 1/ms", SNN_DIM_PER_TIME, 0.02},
        {"0.02 /ms", SNN_DIM_PER_TIME, 0.02},
        {"20 1/s", SNN_DIM_PER_TIME, 0.02},
        {"20 /s", SNN_DIM_PER_TIME, 0.02},
        {"2 mV/ms", SNN_DIM_VOLTAGE_RATE, 2.0},
        {"2 V/s", SNN_DIM_VOLTAGE_RATE, 2.0},
        {"0.5", SNN_DIM_NONE, 0.5},
        {"+.5", SNN_DIM_NONE, 0.5},
        {"-3", SNN_DIM_NONE, -3.0},
        {"7.", SNN_DIM_NONE, 7.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = -12345;
        char why[160] = "";
        int rc = snn_parse_quantity(cases[i].text, cases[i].dim, &got, why, sizeof why);
        if (rc != 0 || got != cases[i].want)
            fail_msg("'%s': rc %d, got %.17g, want %.17g (%s)", cases[i].text, rc, got,
                     cases[i].want, why);
    }
}

struct bad_case {
    const char *text;
    enum snn_dim dim;
    const char *why;
};

static void rejects_with_reason(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"20", SNN_DIM_TIME, "missing unit: write '20 ms' (a time)"},
        {"-65", SNN_DIM_VOLTAGE, "missing unit: write '-65 mV' (a voltage)"},
        {"1", SNN_DIM_CURRENT, "missing unit: write '1 nA' (a current)"},
        {"6", SNN_DIM_CONDUCTANCE, "missing unit: write '6 uS' (a conductance)"},
        {"1", SNN_DIM_CAPACITANCE, "missing unit: write '1 nF' (a capacitance)"},
        {"5", SNN_DIM_RATE, "missing unit: write '5 Hz' (a rate)"},
        {"0.02", SNN_DIM_PER_TIME, "missing unit: write '0.02 1/ms' (an inverse time)"},
        {"2", SNN_DIM_VOLTAGE_RATE, "missing unit: write '2 mV/ms' (a voltage rate)"},
        {"20 ms", SNN_DIM_VOLTAGE, "expected a voltage (mV), got 'ms', a time"},
        {"1 mV", SNN_DIM_TIME, "expected a time (ms), got 'mV', a voltage"},
        {"1 nS", SNN_DIM_CURRENT, "expected a current (nA), got 'nS', a conductance"},
        {"1 nA", SNN_DIM_CONDUCTANCE, "expected a conductance (uS), got 'nA', a current"},
        {"1 mV", SNN_DIM_CAPACITANCE, "expected a capacitance (nF), got 'mV', a voltage"},
        {"1 /ms", SNN_DIM_RATE, "expected a rate (Hz), got '/ms', an inverse time"},
        {"1 Hz", SNN_DIM_PER_TIME, "expected an inverse time (1/ms), got 'Hz', a rate"},
        {"1 mV", SNN_DIM_VOLTAGE_RATE, "expected a voltage rate (mV/ms), got 'mV', a voltage"},
        {"20 mss", SNN_DIM_TIME, "unknown unit 'mss' for a time (did you mean 'ms'?)"},
        {"-65 mv", SNN_DIM_VOLTAGE, "unknown unit 'mv' for a voltage (did you mean 'mV'?)"},
        {"1 furlong", SNN_DIM_TIME, "unknown unit 'furlong' for a time (ms)"},
        {"0.5 ms", SNN_DIM_NONE, "expected a bare number, got unit 'ms'"},
        {"abc", SNN_DIM_NONE, "expected a number, got 'abc'"},
        {"ms", SNN_DIM_TIME, "expected a time such as '1 ms', got 'ms'"},
        {"", SNN_DIM_TIME, "expected a time such as '1 ms', got ''"},
        {"inf ms", SNN_DIM_TIME, "expected a time such as '1 ms', got 'inf ms'"},
        {"nan", SNN_DIM_NONE, "expected a number, got 'nan'"},
        {"0x10", SNN_DIM_NONE, "expected a bare number, got unit 'x10'"},
        {"1e400 ms", SNN_DIM_TIME, "number '1e400' is out of range"},
        {"1e300 A", SNN_DIM_CURRENT, "'1e300 A' is out of range"},
        {"1.2.3 ms", SNN_DIM_TIME, "unknown unit '.3 ms' for a time (ms)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = -12345;
        char why[160] = "";
        int rc = snn_parse_quantity(cases[i].text, cases[i].dim, &got, why, sizeof why);
        if (rc != SNN_EPARSE || strcmp(why, cases[i].why) != 0 || got != -12345)
            fail_msg("'%s': rc %d, why '%s', want '%s'", cases[i].text, rc, why, cases[i].why);
    }
}

static void rejects_overlong_number(void **state)
{
    (void)state;
    char text[200];
    memset(text, '1', 150);
    strcpy(text + 150, " ms");
    double got = 0;
    char why[160];
    assert_int_equal(snn_parse_quantity(text, SNN_DIM_TIME, &got, why, sizeof why), SNN_EPARSE);
    assert_non_null(strstr(why, "longer than 100 characters"));
    /* 100 characters with an exponent are fine. */
    memset(text, '0', 95);
    strcpy(text + 95, "1e2 ms");
    assert_int_equal(snn_parse_quantity(text, SNN_DIM_TIME, &got, why, sizeof why), 0);
    assert_true(got == 100.0);
}

static void truncates_reason_safely(void **state)
{
    (void)state;
    char why[8];
    double got;
    assert_int_equal(snn_parse_quantity("20 mss", SNN_DIM_TIME, &got, why, sizeof why),
                     SNN_EPARSE);
    assert_string_equal(why, "unknown");
}

static void dimension_names(void **state)
{
    (void)state;
    assert_string_equal(snn_dim_name(SNN_DIM_TIME), "time");
    assert_string_equal(snn_dim_name(SNN_DIM_VOLTAGE), "voltage");
    assert_string_equal(snn_dim_name(SNN_DIM_CURRENT), "current");
    assert_string_equal(snn_dim_name(SNN_DIM_CONDUCTANCE), "conductance");
    assert_string_equal(snn_dim_name(SNN_DIM_CAPACITANCE), "capacitance");
    assert_string_equal(snn_dim_name(SNN_DIM_RATE), "rate");
    assert_string_equal(snn_dim_name(SNN_DIM_PER_TIME), "inverse time");
    assert_string_equal(snn_dim_name(SNN_DIM_VOLTAGE_RATE), "voltage rate");
    assert_string_equal(snn_dim_name(SNN_DIM_NONE), "bare number");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_every_unit),
        cmocka_unit_test(rejects_with_reason),
        cmocka_unit_test(rejects_overlong_number),
        cmocka_unit_test(truncates_reason_safely),
        cmocka_unit_test(dimension_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_crc32.c: the image checksum, two ways.
 *
 * support/crc32.c (eight bytes at a time, for the host) and abi/image.h's
 * snn_crc32_update (a bit at a time, for the firmware) must be the same
 * function: zlib's CRC-32.  Checked on the standard check value, on
 * known zlib results, and on random buffers of every length up to 100 at
 * every alignment, whole and split in two (continuation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "abi/image.h"
#include "support/crc32.h"

static void test_check_values(void **state)
{
    (void)state;
    assert_int_equal(snn_crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(snn_crc32_update(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(snn_crc32(0, "", 0), 0);
    assert_int_equal(snn_crc32(0, "a", 1), 0xE8B7BE43u);
    static const char fox[] = "The quick brown fox jumps over the lazy dog";
    assert_int_equal(snn_crc32(0, fox, sizeof fox - 1), 0x414FA339u);
    assert_int_equal(snn_crc32_update(0, fox, sizeof fox - 1), 0x414FA339u);
}

static void test_fast_equals_bitwise(void **state)
{
    (void)state;
    uint8_t buf[128];
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= 100; n++) {
            uint32_t want = snn_crc32_update(0, buf + off, n);
            assert_int_equal(snn_crc32(0, buf + off, n), want);
            for (size_t cut = 0; cut <= n; cut += 3)
                assert_int_equal(snn_crc32(snn_crc32(0, buf + off, cut), buf + off + cut, n - cut),
                                 want);
        }
    /* one flipped bit changes it */
    uint32_t a = snn_crc32(0, buf, 64);
    buf[17] ^= 4;
    assert_int_not_equal(snn_crc32(0, buf, 64), a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_values),
        cmocka_unit_test(test_fast_equals_bitwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_npy.c: the .npy reader (frontend/npy.c).
 *
 * Files are built byte by byte here: every dtype the reader takes, with
 * negative, large and fractional values, in format versions 1.0, 2.0 and
 * 3.0, and shapes from a scalar to 4 dimensions, are read back value for
 * value.  Every malformation the reader knows is checked for its message
 * and the byte offset it names; a header claiming 2^40 elements is
 * refused without an allocation; reading from disk (a missing file, a
 * folder) and running out of memory fail cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "frontend/npy.h"
#include "support/arena.h"
#include "support/diag.h"
#include "support/err.h"

#include "sink.h"

/* ---- building files ------------------------------------------------------ */

struct file {
    unsigned char b[4096];
    size_t n;
};

/* A .npy file: magic, version, header length, the dict (padded with
 * spaces to a multiple of 64 and ended by '\n', as NumPy writes it), the
 * data bytes. */
static void mk(struct file *f, int major, const char *dict, const void *data, size_t dlen)
{
    size_t pre = major == 1 ? 10 : 12, h = strlen(dict) + 1;
    size_t pad = (64 - (pre + h) % 64) % 64;
    size_t hlen = h + pad;
    memcpy(f->b, "\x93NUMPY", 6);
    f->b[6] = (unsigned char)major;
    f->b[7] = 0;
    for (size_t i = 0; i < (major == 1 ? 2u : 4u); i++)
        f->b[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(f->b + pre, dict, h - 1);
    memset(f->b + pre + h - 1, ' ', pad);
    f->b[pre + hlen - 1] = '\n';
    f->n = pre + hlen;
    assert_true(f->n + dlen <= sizeof f->b);
    if (dlen)
        memcpy(f->b + f->n, data, dlen);
    f->n += dlen;
}

/* Little-endian bytes of x, n of them. */
static void put_le(unsigned char *p, uint64_t x, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(x >> (8 * i));
}

struct fixture {
    struct snn_arena *arena;
    struct sink s;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    fx->arena = snn_arena_new();
    sink_open(&fx->s);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    snn_arena_free(fx->arena);
    sink_close(&fx->s);
    free(fx);
    return 0;
}

static int parse(struct fixture *fx, const struct file *f, struct snn_array *a)
{
    return snn_npy_parse("t.npy", f->b, f->n, fx->arena, fx->s.d, NULL, a);
}

/* ---- values ------------------------------------------------------------- */

static void every_dtype(void **state)
{
    struct fixture *fx = *state;
    unsigned char d[64];
    struct file f;
    struct snn_array a;

    float f4[3] = {1.5f, -0.25f, 3e10f};
    for (int i = 0; i < 3; i++) {
        uint32_t u;
        memcpy(&u, &f4[i], 4);
        put_le(d + 4 * i, u, 4);
    }
    mk(&f, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", d, 12);
    assert_int_equal(parse(fx, &f, &a), 0);
    assert_int_equal(a.ndim, 1);
    assert_int_equal(a.dims[0], 3);
    assert_true(a.v[0] == 1.5 && a.v[1] == -0.25 && a.v[2] == (double)3e10f);

    double f8[2] = {0.1, -1e300};
    for (int i = 0; i < 2; i++) {
        uint64_t u;
        memcpy(&u, &f8[i], 8);
        put_le(d + 8 * i, u, 8);
    }
    mk(&f, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", d, 16);
    assert_int_equal(parse(fx, &f, &a), 0);
    assert_true(a.v[0] == 0.1 && a.v[1] == -1e300);

    unsigned char i1[4] = {0x00, 0x7f, 0x80, 0xff};
    mk(&f, 1, "{'descr': '|i1', 'fortran_order': False, 'shape': (4,), }", i1, 4);
    assert_int_equal(parse(fx, &f, &a), 0);
    assert_true(a.v[0] == 0 && a.v[1] == 127 && a.v[2] == -128 && a.v[3] == -1);

    mk(&f, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", i1, 4);
    assert_int_equal(parse(fx, &f, &a), 0);
    assert_true(a.v[0] == 0 && a.v[1] == 127 && a.v[2] == 128 && a.v[3] == 255);

    put_le(d, (uint16_t)-300, 2);
    put_le(d + 2, 32767, 2);
    mk(&f, 1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }", d, 4);
    assert_int_equal(parse(fx, &f, &a), 0);
    assert_true(a.v[0] == -300 && a.v[1] == 32767);

    put_le(d, (uint32_t)-2147483647 - 1, 4);
    put_le(d + 4, 123456789, 4);
    mk(&f, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", d, 8);
    assert_int_equal(parse(fx, &f, &a), 0);
    assert_true(a.v[0] == -2147483648.0 && a.v[1] == 123456789);

    put_le(d, (uint64_t)-5, 8);
    put_le(d + 8, (uint64_t)1 << 40, 8);
    mk(&f, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", d, 16);
    assert_int_equal(parse(fx, &f, &a), 0);
    assert_true(a.v[0] == -5 && a.v[1] == 1099511627776.0);

    unsigned char b1[3] = {1, 0, 1};
    mk(&f, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", b1, 3);
    assert_int_equal(parse(fx, &f, &a), 0);
    assert_true(a.v[0] == 1 && a.v[1] == 0 && a.v[2] == 1);
    assert_int_equal(snn_diag_errors(fx->s.d), 0);
}

static void versions_and_shapes(void **state)
{
    struct fixture *fx = *state;
    unsigned char d[120];
    for (int i = 0; i < 120; i++)
        d[i] = (unsigned char)i;
    struct file f;
    struct snn_array a;
    for (int v = 1; v <= 3; v++) {
        mk(&f, v, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4, 5), }", d, 120);
        memset(&a, 0, sizeof a);
        assert_int_equal(parse(fx, &f, &a), 0);
        assert_int_equal(a.ndim, 4);
        assert_true(a.dims[0] == 2 && a.dims[1] == 3 && a.dims[2] == 4 && a.dims[3] == 5);
        assert_true(a.v[0] == 0 && a.v[119] == 119 && a.v[61] == 61);
    }
    /* a scalar, keys in another order, double quotes, Python 2's long */
    mk(&f, 1, "{\"shape\": (), \"fortran_order\": False, \"descr\": \"|u1\"}", d + 7, 1);
    assert_int_equal(parse(fx, &f, &a), 0);
    assert_int_equal(a.ndim, 0);
    assert_true(a.v[0] == 7);
    mk(&f, 1, "{'descr':'|u1','fortran_order':False,'shape':(2L,3L)}", d, 6);
    assert_int_equal(parse(fx, &f, &a), 0);
    assert_true(a.ndim == 2 && a.dims[0] == 2 && a.dims[1] == 3 && a.v[5] == 5);
    /* an empty array is read (the verifier judges its shape) */
    mk(&f, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", NULL, 0);
    assert_int_equal(parse(fx, &f, &a), 0);
    assert_true(a.ndim == 2 && a.dims[0] == 0 && a.v != NULL);
    assert_int_equal(snn_diag_errors(fx->s.d), 0);
}

/* ---- malformations --------------------------------------------------------- */

/* f must be refused with rc, the message holding want (and the file's name). */
static void refused(struct fixture *fx, const struct file *f, int rc, const char *want)
{
    struct snn_array a = {.ndim = 99};
    size_t before = strlen(sink_text(&fx->s));
    int got = parse(fx, f, &a);
    const char *msg = sink_text(&fx->s) + before;
    if (got != rc || !strstr(msg, want) || !strstr(msg, "'t.npy', byte ")) {
        print_error("want %d and \"%s\", got %d and: %s\n", rc, want, got, msg);
        fail();
    }
    assert_int_equal(a.ndim, 99); /* untouched */
}

static void raw(struct file *f, const char *bytes, size_t n)
{
    memcpy(f->b, bytes, n);
    f->n = n;
}

#define DICT(d, s) "{'descr': '" d "', 'fortran_order': False, 'shape': " s ", }"

static void malformed(void **state)
{
    struct fixture *fx = *state;
    struct file f;
    unsigned char d[64] = {0};

    raw(&f, "", 0);
    refused(fx, &f, SNN_EPARSE, "byte 0: not a .npy file");
    raw(&f, "\x93NUMPZ\x01\x00\x10\x00", 10);
    refused(fx, &f, SNN_EPARSE, "byte 5: not a .npy file");
    raw(&f, "PK\x03\x04", 4);
    refused(fx, &f, SNN_EPARSE, "byte 0: not a .npy file");
    raw(&f, "\x93NUMPY\x01\x00", 8);
    refused(fx, &f, SNN_EPARSE, "byte 8: the file ends inside");
    raw(&f, "\x93NUMPY\x04\x00\x10\x00", 10);
    refused(fx, &f, SNN_EPARSE, "byte 6: format version 4.0 is not read");
    raw(&f, "\x93NUMPY\x01\x01\x10\x00", 10);
    refused(fx, &f, SNN_EPARSE, "format version 1.1");
    raw(&f, "\x93NUMPY\x02\x00\x10\x00\x00", 11);
    refused(fx, &f, SNN_EPARSE, "byte 11: the file ends inside the header length");
    raw(&f, "\x93NUMPY\x01\x00\xff\x00{}", 12);
    refused(fx, &f, SNN_EPARSE, "byte 8: the header length 255 runs past the end");
    raw(&f, "\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14);
    refused(fx, &f, SNN_EPARSE, "byte 8: the header length 4294967295");

    mk(&f, 1, "['descr']", d, 0);
    refused(fx, &f, SNN_EPARSE, "byte 10: expected '{'");
    mk(&f, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", d, 4);
    refused(fx, &f, SNN_EPARSE, "unknown header key 'x'");
    mk(&f, 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", d, 4);
    refused(fx, &f, SNN_EPARSE, "byte 27: header key 'descr' given twice");
    mk(&f, 1, "{'descr': '<f4', 'fortran_order': False}", d, 4);
    refused(fx, &f, SNN_EPARSE, "the header has no 'shape'");
    mk(&f, 1, "{'fortran_order': False, 'shape': (1,)}", d, 4);
    refused(fx, &f, SNN_EPARSE, "the header has no 'descr'");
    mk(&f, 1, DICT(">f4", "(1,)"), d, 4);
    refused(fx, &f, SNN_EPARSE, "dtype '>f4' is not read");
    mk(&f, 1, DICT("<c16", "(1,)"), d, 16);
    refused(fx, &f, SNN_EPARSE, "dtype '<c16' is not read");
    mk(&f, 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", d, 4);
    refused(fx, &f, SNN_EPARSE, "byte 20: 'descr' must be a dtype string");
    mk(&f, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", d, 16);
    refused(fx, &f, SNN_EPARSE, "fortran_order is True: only C order");
    mk(&f, 1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", d, 4);
    refused(fx, &f, SNN_EPARSE, "'fortran_order' must be True or False");
    mk(&f, 1, DICT("|u1", "(1, 1, 1, 1, 1)"), d, 1);
    refused(fx, &f, SNN_EPARSE, "more than 4 dimensions");
    mk(&f, 1, DICT("|u1", "(99999999999,)"), d, 1);
    refused(fx, &f, SNN_EPARSE, "a dimension of the shape is too large");
    mk(&f, 1, DICT("|u1", "(-1,)"), d, 1);
    refused(fx, &f, SNN_EPARSE, "expected a whole number in the shape");
    mk(&f, 1, DICT("|u1", "(1 2)"), d, 1);
    refused(fx, &f, SNN_EPARSE, "expected ',' or ')' in the shape");
    mk(&f, 1, DICT("|u1", "[1]"), d, 1);
    refused(fx, &f, SNN_EPARSE, "expected '(' to open the shape");
    mk(&f, 1, "{'descr': '<f4", d, 0);
    refused(fx, &f, SNN_EPARSE, "byte 63: unexpected byte 0x0a in a header string");
    raw(&f, "\x93NUMPY\x01\x00\x0e\x00{'descr': '<f4", 24);
    refused(fx, &f, SNN_EPARSE, "byte 20: unterminated string");
    mk(&f, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", d, 4);
    refused(fx, &f, SNN_EPARSE, "unexpected byte 0x78 after the header dict");
    mk(&f, 1, "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", d, 4);
    refused(fx, &f, SNN_EPARSE, "byte 26: expected ',' or '}'");
    mk(&f, 1, "{'de\\scr': '<f4'}", d, 0);
    refused(fx, &f, SNN_EPARSE, "byte 14: unexpected byte 0x5c");

    /* data against the shape */
    mk(&f, 1, DICT("<f4", "(2, 3)"), d, 20);
    refused(fx, &f, SNN_EPARSE, "the shape needs 6 values of 4 bytes, but only 20 bytes follow "
                                "the header (at byte 128)");
    mk(&f, 1, DICT("<f4", "(2, 3)"), d, 25);
    refused(fx, &f, SNN_EPARSE, "byte 152: 1 bytes follow the 6 values the shape gives");
    unsigned char b[2] = {1, 2};
    mk(&f, 1, DICT("|b1", "(2,)"), b, 2);
    refused(fx, &f, SNN_EPARSE, "byte 129: a boolean value is 2, not 0 or 1");
}

/* A header claiming 2^40 (or 2^128) elements is judged against the file's
 * real size: refused with nothing allocated. */
static void huge_claims(void **state)
{
    struct fixture *fx = *state;
    struct file f;
    unsigned char d[8] = {0};
    mk(&f, 1, DICT("<f8", "(1048576, 1048576)"), d, 8);
    snn_alloc_fail_after(0); /* any allocation would fail, and be ENOMEM */
    refused(fx, &f, SNN_EPARSE, "the shape needs 1099511627776 values of 8 bytes, but only 8");
    mk(&f, 1, DICT("<f8", "(4294967295, 4294967295, 4294967295, 4294967295)"), d, 8);
    refused(fx, &f, SNN_EPARSE, "needs more than");
    snn_alloc_fail_after(-1);
}

static void messages_name_the_place(void **state)
{
    struct fixture *fx = *state;
    struct snn_loc at = {"net.yaml", 12, 7, 5};
    struct snn_array a;
    assert_int_equal(snn_npy_parse("w.npy", "nope", 4, fx->arena, fx->s.d, &at, &a), SNN_EPARSE);
    assert_non_null(strstr(sink_text(&fx->s), "net.yaml:12:7: error: 'w.npy', byte 0: not a .npy"));
}

static void out_of_memory(void **state)
{
    struct fixture *fx = *state;
    struct file f;
    unsigned char d[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    mk(&f, 1, DICT("|u1", "(8,)"), d, 8);
    struct snn_array a = {.ndim = 99};
    snn_alloc_fail_after(0);
    int rc = parse(fx, &f, &a);
    snn_alloc_fail_after(-1);
    assert_int_equal(rc, SNN_ENOMEM);
    assert_int_equal(a.ndim, 99);
    assert_int_equal(parse(fx, &f, &a), 0);
    assert_true(a.v[7] == 8);
}

/* ---- files ----------------------------------------------------------------- */

static void files(void **state)
{
    struct fixture *fx = *state;
    struct snn_array a = {.ndim = 99};
    assert_int_equal(snn_npy_read("/nonexistent/x.npy", fx->arena, fx->s.d, NULL, &a), SNN_EIO);
    assert_non_null(strstr(sink_text(&fx->s), "cannot read '/nonexistent/x.npy'"));
    assert_int_equal(snn_npy_read("/", fx->arena, fx->s.d, NULL, &a), SNN_EIO);
    assert_non_null(strstr(sink_text(&fx->s), "not a regular file"));
    assert_int_equal(a.ndim, 99);

    char path[] = "/tmp/snn-npy-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    struct file f;
    unsigned char d[4] = {9, 8, 7, 6};
    mk(&f, 2, DICT("|i1", "(2, 2)"), d, 4);
    assert_int_equal(write(fd, f.b, f.n), (ssize_t)f.n);
    close(fd);
    int rc = snn_npy_read(path, fx->arena, fx->s.d, NULL, &a);
    unlink(path);
    assert_int_equal(rc, 0);
    assert_true(a.ndim == 2 && a.dims[1] == 2 && a.v[0] == 9 && a.v[3] == 6);

    /* the same through the IR text parser's reader */
    assert_non_null(snn_npy_reader.read);
}

/* Every truncation of a valid file is refused cleanly. */
static void truncations(void **state)
{
    struct fixture *fx = *state;
    struct file f;
    unsigned char d[24];
    for (int i = 0; i < 24; i++)
        d[i] = (unsigned char)(i * 11);
    mk(&f, 3, DICT("<i2", "(3, 4)"), d, 24);
    for (size_t n = 0; n < f.n; n++) {
        struct snn_array a;
        assert_int_equal(snn_npy_parse("t.npy", f.b, n, fx->arena, NULL, NULL, &a), SNN_EPARSE);
    }
    struct snn_array a;
    assert_int_equal(snn_npy_parse("t.npy", f.b, f.n, fx->arena, NULL, NULL, &a), 0);
    assert_true(a.v[1] == (double)(int16_t)(33 << 8 | 22));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_dtype, setup, teardown),
        cmocka_unit_test_setup_teardown(versions_and_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(huge_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(messages_name_the_place, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(files, setup, teardown),
        cmocka_unit_test_setup_teardown(truncations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

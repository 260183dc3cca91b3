/*
 * frontend/npy.c: the .npy reader of frontend/npy.h.
 *
 * Takes the bytes of one file; gives a struct snn_array of doubles in the
 * caller's arena, or an error reported at the place that named the file,
 * with the file's name and the byte offset where it goes wrong.  The
 * header is scanned in place (nothing is allocated for it); the data's
 * size is computed from the shape with overflow checks and compared with
 * the bytes the file really has before the values are allocated, so a
 * header claiming 2^40 elements costs nothing.  Values are decoded byte by
 * byte as little-endian, so the reader does not depend on the host's
 * byte order.
 */
#include "frontend/npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/frontend_int.h"
#include "support/arena.h"
#include "support/err.h"

struct npy {
    const char *name;
    const unsigned char *p; /* the whole file */
    size_t len;
    struct snn_diag *d;
    const struct snn_loc *at;
};

static int bad(const struct npy *f, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports "NAME, byte OFF: message" and returns SNN_EPARSE. */
static int bad(const struct npy *f, size_t off, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snn_diag_error(f->d, f->at, "'%s', byte %zu: %s", f->name, off, msg);
    return SNN_EPARSE;
}

/* ---- the header dict ---------------------------------------------------- */

/* A cursor over the header [pos, end). */
struct hdr {
    const struct npy *f;
    size_t pos, end;
};

static void skip_ws(struct hdr *h)
{
    while (h->pos < h->end && (h->f->p[h->pos] == ' ' || h->f->p[h->pos] == '\t' ||
                               h->f->p[h->pos] == '\n' || h->f->p[h->pos] == '\r'))
        h->pos++;
}

static bool at_char(struct hdr *h, char ch)
{
    skip_ws(h);
    return h->pos < h->end && h->f->p[h->pos] == (unsigned char)ch;
}

static int expect_char(struct hdr *h, char ch, const char *what)
{
    if (!at_char(h, ch))
        return bad(h->f, h->pos, "expected '%c' %s in the header", ch, what);
    h->pos++;
    return 0;
}

/* A quoted string (either quote, no escapes): its bytes in [*s, *s + *n). */
static int quoted(struct hdr *h, const unsigned char **s, size_t *n)
{
    skip_ws(h);
    if (h->pos >= h->end || (h->f->p[h->pos] != '\'' && h->f->p[h->pos] != '"'))
        return bad(h->f, h->pos, "expected a quoted string in the header");
    unsigned char q = h->f->p[h->pos];
    size_t start = ++h->pos;
    while (h->pos < h->end && h->f->p[h->pos] != q) {
        if (h->f->p[h->pos] == '\\' || h->f->p[h->pos] == '\n')
            return bad(h->f, h->pos, "unexpected byte 0x%02x in a header string",
                       h->f->p[h->pos]);
        h->pos++;
    }
    if (h->pos >= h->end)
        return bad(h->f, start - 1, "unterminated string in the header");
    *s = h->f->p + start;
    *n = h->pos - start;
    h->pos++;
    return 0;
}

static bool word_is(const struct hdr *h, const char *w)
{
    size_t n = strlen(w);
    return h->end - h->pos >= n && memcmp(h->f->p + h->pos, w, n) == 0;
}

/* A dimension: decimal digits (a trailing L, as Python 2 wrote, is
 * accepted); at most UINT32_MAX, the IR's dimension type. */
static int dim(struct hdr *h, uint32_t *out)
{
    skip_ws(h);
    size_t start = h->pos;
    uint64_t x = 0;
    while (h->pos < h->end && h->f->p[h->pos] >= '0' && h->f->p[h->pos] <= '9') {
        x = x * 10 + (h->f->p[h->pos] - '0');
        if (x > UINT32_MAX)
            return bad(h->f, start, "a dimension of the shape is too large (at most %u)",
                       UINT32_MAX);
        h->pos++;
    }
    if (h->pos == start)
        return bad(h->f, start, "expected a whole number in the shape");
    if (h->pos < h->end && h->f->p[h->pos] == 'L')
        h->pos++;
    *out = (uint32_t)x;
    return 0;
}

/* (d0, d1, ...): at most 4 dimensions, a trailing comma allowed. */
static int shape(struct hdr *h, struct snn_array *a)
{
    int rc = expect_char(h, '(', "to open the shape");
    if (rc)
        return rc;
    a->ndim = 0;
    while (!at_char(h, ')')) {
        if (a->ndim == 4)
            return bad(h->f, h->pos, "the shape has more than 4 dimensions");
        if ((rc = dim(h, &a->dims[a->ndim])))
            return rc;
        a->ndim++;
        if (at_char(h, ','))
            h->pos++;
        else if (!at_char(h, ')'))
            return bad(h->f, h->pos, "expected ',' or ')' in the shape");
    }
    h->pos++;
    return 0;
}

enum dkind { D_F, D_I, D_U, D_B };

struct dtype {
    const char *descr;
    enum dkind kind;
    unsigned size;
};

static const struct dtype dtypes[] = {
    {"<f4", D_F, 4}, {"<f8", D_F, 8}, {"|i1", D_I, 1}, {"|u1", D_U, 1},
    {"<i2", D_I, 2}, {"<i4", D_I, 4}, {"<i8", D_I, 8}, {"|b1", D_B, 1},
};

struct header {
    const struct dtype *dt;
    bool fortran;
    struct snn_array shape;
};

static int dict(struct hdr *h, struct header *out)
{
    int rc = expect_char(h, '{', "to open the header dict");
    if (rc)
        return rc;
    size_t key_at[3] = {0, 0, 0};
    bool seen[3] = {false, false, false};
    while (!at_char(h, '}')) {
        const unsigned char *k;
        size_t kn;
        skip_ws(h);
        size_t kpos = h->pos;
        if ((rc = quoted(h, &k, &kn)))
            return rc;
        int which = kn == 5 && !memcmp(k, "descr", 5)           ? 0
                    : kn == 13 && !memcmp(k, "fortran_order", 13) ? 1
                    : kn == 5 && !memcmp(k, "shape", 5)           ? 2
                                                                  : -1;
        if (which < 0)
            return bad(h->f, kpos, "unknown header key '%.*s' (expected 'descr', "
                                   "'fortran_order' and 'shape')",
                       (int)(kn > 40 ? 40 : kn), (const char *)k);
        if (seen[which])
            return bad(h->f, kpos, "header key '%.*s' given twice", (int)kn, (const char *)k);
        seen[which] = true;
        key_at[which] = kpos;
        if ((rc = expect_char(h, ':', "after a header key")))
            return rc;
        skip_ws(h);
        size_t vpos = h->pos;
        if (which == 0) {
            const unsigned char *s;
            size_t n;
            if (h->pos < h->end && h->f->p[h->pos] != '\'' && h->f->p[h->pos] != '"')
                return bad(h->f, vpos, "'descr' must be a dtype string such as '<f4' "
                                       "(structured dtypes are not read)");
            if ((rc = quoted(h, &s, &n)))
                return rc;
            out->dt = NULL;
            for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
                if (strlen(dtypes[i].descr) == n && !memcmp(dtypes[i].descr, s, n))
                    out->dt = &dtypes[i];
            if (!out->dt)
                return bad(h->f, vpos,
                           "dtype '%.*s' is not read (use <f4, <f8, |i1, |u1, <i2, <i4, <i8 or "
                           "|b1: little-endian numbers)",
                           (int)(n > 20 ? 20 : n), (const char *)s);
        } else if (which == 1) {
            if (word_is(h, "True")) {
                out->fortran = true;
                h->pos += 4;
            } else if (word_is(h, "False")) {
                out->fortran = false;
                h->pos += 5;
            } else {
                return bad(h->f, vpos, "'fortran_order' must be True or False");
            }
        } else if ((rc = shape(h, &out->shape))) {
            return rc;
        }
        if (at_char(h, ','))
            h->pos++;
        else if (!at_char(h, '}'))
            return bad(h->f, h->pos, "expected ',' or '}' in the header dict");
    }
    h->pos++;
    static const char *const names[3] = {"descr", "fortran_order", "shape"};
    for (int i = 0; i < 3; i++)
        if (!seen[i])
            return bad(h->f, h->pos, "the header has no '%s'", names[i]);
    skip_ws(h);
    if (h->pos < h->end)
        return bad(h->f, h->pos, "unexpected byte 0x%02x after the header dict",
                   h->f->p[h->pos]);
    if (out->fortran)
        return bad(h->f, key_at[1], "fortran_order is True: only C order (row-major) is read; "
                                    "save np.ascontiguousarray(x)");
    return 0;
}

/* ---- values ------------------------------------------------------------- */

static uint64_t le(const unsigned char *p, unsigned n)
{
    uint64_t x = 0;
    for (unsigned i = n; i-- > 0;)
        x = x << 8 | p[i];
    return x;
}

static double decode(const struct dtype *dt, const unsigned char *p)
{
    uint64_t x = le(p, dt->size);
    switch (dt->kind) {
    case D_F:
        if (dt->size == 4) {
            float f;
            uint32_t u = (uint32_t)x;
            memcpy(&f, &u, sizeof f);
            return f;
        } else {
            double v;
            memcpy(&v, &x, sizeof v);
            return v;
        }
    case D_I: {
        unsigned bits = 8 * dt->size;
        if (bits < 64 && (x >> (bits - 1)) & 1)
            x |= ~(uint64_t)0 << bits; /* sign-extend */
        return (double)(int64_t)x;
    }
    default: return (double)x;
    }
}

int snn_npy_parse(const char *name, const void *data, size_t len, struct snn_arena *arena,
                  struct snn_diag *d, const struct snn_loc *at, struct snn_array *out)
{
    struct npy f = {name ? name : "<npy>", data, len, d, at};
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (len < 6 || memcmp(f.p, magic, 6) != 0) {
        size_t off = 0;
        while (off < len && off < 6 && f.p[off] == magic[off])
            off++;
        return bad(&f, off, "not a .npy file (it does not start with \\x93NUMPY)");
    }
    if (len < 10)
        return bad(&f, len, "the file ends inside the version and header length");
    unsigned major = f.p[6], minor = f.p[7];
    if (major < 1 || major > 3 || minor != 0)
        return bad(&f, 6, "format version %u.%u is not read (1.0, 2.0 and 3.0 are)", major,
                   minor);
    size_t hstart = major == 1 ? 10 : 12;
    if (len < hstart)
        return bad(&f, len, "the file ends inside the header length");
    uint64_t hlen = le(f.p + 8, major == 1 ? 2 : 4);
    if (hlen > len - hstart)
        return bad(&f, 8, "the header length %llu runs past the end of the file (%zu bytes)",
                   (unsigned long long)hlen, len);
    struct header h = {0};
    struct hdr cur = {&f, hstart, hstart + (size_t)hlen};
    int rc = dict(&cur, &h);
    if (rc)
        return rc;
    /* The element count, saturating: any count the file cannot hold is
     * refused below without being multiplied out. */
    size_t dstart = hstart + (size_t)hlen, avail = len - dstart;
    uint64_t count = 1;
    bool zero = false;
    for (uint32_t i = 0; i < h.shape.ndim; i++) {
        if (h.shape.dims[i] == 0)
            zero = true;
        else if (count > UINT64_MAX / h.shape.dims[i])
            count = UINT64_MAX;
        else
            count *= h.shape.dims[i];
    }
    if (zero)
        count = 0;
    unsigned isz = h.dt->size;
    if (count > avail / isz)
        return bad(&f, len,
                   "the shape needs %s%llu values of %u bytes, but only %zu bytes follow the "
                   "header (at byte %zu)",
                   count == UINT64_MAX ? "more than " : "", (unsigned long long)count, isz,
                   avail, dstart);
    if (count * isz != avail)
        return bad(&f, dstart + count * isz,
                   "%zu bytes follow the %llu values the shape gives", avail - count * isz,
                   (unsigned long long)count);
    if (count > SNN_FE_MAX_ARRAY_BYTES / sizeof(double)) {
        snn_diag_error(d, at, "'%s': %llu values would need %.1f MiB (the limit is %zu MiB)",
                       f.name, (unsigned long long)count,
                       (double)count * sizeof(double) / (1 << 20), SNN_FE_MAX_ARRAY_BYTES >> 20);
        return SNN_ETOOBIG;
    }
    double *v = snn_arena_array(arena, count ? (size_t)count : 1, sizeof *v);
    if (!v) {
        snn_diag_error(d, at, "out of memory reading '%s'", f.name);
        return SNN_ENOMEM;
    }
    for (uint64_t i = 0; i < count; i++) {
        const unsigned char *p = f.p + dstart + i * isz;
        if (h.dt->kind == D_B && *p > 1)
            return bad(&f, dstart + i * isz, "a boolean value is %u, not 0 or 1", *p);
        v[i] = decode(h.dt, p);
    }
    out->ndim = h.shape.ndim;
    memcpy(out->dims, h.shape.dims, sizeof out->dims);
    out->v = v;
    return 0;
}

/* ---- files -------------------------------------------------------------- */

int snn_npy_read(const char *path, struct snn_arena *arena, struct snn_diag *d,
                 const struct snn_loc *at, struct snn_array *out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snn_diag_error(d, at, "cannot read '%s': %s", path, strerror(errno));
        return SNN_EIO;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        snn_diag_error(d, at, "cannot read '%s': not a regular file", path);
        fclose(fp);
        return SNN_EIO;
    }
    if ((uint64_t)st.st_size > SNN_FE_MAX_FILE_BYTES) {
        snn_diag_error(d, at, "'%s' is %.1f MiB, more than the %zu MiB limit", path,
                       (double)st.st_size / (1 << 20), SNN_FE_MAX_FILE_BYTES >> 20);
        fclose(fp);
        return SNN_ETOOBIG;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *buf = snn_malloc(size ? size : 1);
    if (!buf) {
        snn_diag_error(d, at, "out of memory reading '%s'", path);
        fclose(fp);
        return SNN_ENOMEM;
    }
    size_t got = fread(buf, 1, size, fp);
    int err = ferror(fp);
    fclose(fp);
    int rc;
    if (err || got != size) {
        snn_diag_error(d, at, "cannot read '%s': %s", path,
                       err ? strerror(errno) : "the file changed while it was read");
        rc = SNN_EIO;
    } else {
        rc = snn_npy_parse(path, buf, size, arena, d, at, out);
    }
    snn_free(buf);
    return rc;
}

static int reader_read(void *ctx, const char *path, struct snn_arena *arena, struct snn_diag *d,
                       const struct snn_loc *at, struct snn_array *out)
{
    (void)ctx;
    return snn_npy_read(path, arena, d, at, out);
}

const struct snn_array_reader snn_npy_reader = {reader_read, NULL};

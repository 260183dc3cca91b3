/*
 * support/err.h: error codes shared by every host library of snnc.
 *
 * Functions that act return int: 0 on success or a negative SNN_E* code.
 * The codes and their messages come from one X-macro table so the two
 * can never drift apart.  User-facing detail (which key, which line) goes
 * to a diagnostics sink (support/diag.h); the code only says what kind of
 * failure it was, which the snnc command maps to its exit status.
 */
#ifndef SNN_SUPPORT_ERR_H
#define SNN_SUPPORT_ERR_H

#define SNN_ERRNO_MAP(X)                                                   \
    X(NOMEM, "out of memory")                                              \
    X(INVAL, "invalid argument")                                           \
    X(IO, "input/output error")                                            \
    X(PARSE, "malformed input")                                            \
    X(SEMA, "invalid network description")                                 \
    X(RANGE, "value cannot be represented")                                \
    X(TOOBIG, "does not fit")                                              \
    X(MISMATCH, "verification mismatch")                                   \
    X(DEVICE, "device or run-time fault")                                  \
    X(UNSUPPORTED, "not supported")

enum snn_err {
    SNN_OK = 0,
#define SNN_ERR_ENUM_(name, msg) SNN_E##name,
    SNN_E_FIRST_ = -1000,
    SNN_ERRNO_MAP(SNN_ERR_ENUM_)
#undef SNN_ERR_ENUM_
    SNN_E_LAST_
};

/* The message of an error code; "unknown error" for anything else. */
const char *snn_strerror(int err);

/* Assertion for bugs, not for user errors: prints file and line, aborts. */
#define SNN_ASSERT(cond)                                                   \
    ((cond) ? (void)0 : snn__assert_fail(#cond, __FILE__, __LINE__))
_Noreturn void snn__assert_fail(const char *expr, const char *file, int line);

#endif

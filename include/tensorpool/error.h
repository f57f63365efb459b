/*
 * tensorpool error codes and the thread-local error of the calling thread.
 *
 * Every fallible function returns -1 (or a negative sentinel on hot paths) and, for -1,
 * records a code and a message for the calling thread. Both stay valid until the next
 * tensorpool call on the same thread that fails or clears the error.
 */
#ifndef TENSORPOOL_ERROR_H
#define TENSORPOOL_ERROR_H

#include "tensorpool/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, description): the single table of error codes (STYLE.md rule 3). */
#define TP_ERROR_TABLE(X)                                                        \
    X(TP_OK, 0, "no error")                                                      \
    X(TP_EINVAL, 1, "invalid argument")                                          \
    X(TP_ENOMEM, 2, "out of memory")                                             \
    X(TP_EIO, 3, "system call failed")                                           \
    X(TP_EMALFORMED, 4, "malformed message")                                     \
    X(TP_EUNKNOWN_MSG, 5, "unknown schema or template")                          \
    X(TP_EVERSION, 6, "unsupported version")                                     \
    X(TP_EURI, 7, "invalid region URI")                                          \
    X(TP_EPATH, 8, "path rejected by containment rules")                         \
    X(TP_EREGION, 9, "region does not match what was announced")                 \
    X(TP_EHUGEPAGES, 10, "hugepage backing required but not available")          \
    X(TP_ETENSOR, 11, "invalid tensor header")                                   \
    X(TP_ESTATE, 12, "operation not valid in the current state")                 \
    X(TP_ETIMEOUT, 13, "timed out")                                              \
    X(TP_ETOOBIG, 14, "value too large")                                         \
    X(TP_ECONFIG, 15, "invalid configuration")                                   \
    X(TP_ECHANNEL, 16, "invalid or unsupported channel")                         \
    X(TP_ELAPPED, 17, "subscription lost data and rejoined at the tail")         \
    X(TP_ECLOSED, 18, "closed")                                                  \
    X(TP_EAERON, 19, "Aeron client or media driver error (Aeron's message follows)")

typedef enum tp_error_code {
#define TP_ERROR_ENUM(name, value, desc) name = value,
    TP_ERROR_TABLE(TP_ERROR_ENUM)
#undef TP_ERROR_ENUM
} tp_error_code_t;

/* Code of the last error on this thread (TP_OK if none). Thread-safe (thread-local). */
TP_API int tp_errcode(void);

/* Message of the last error on this thread; never NULL. The pointer is owned by the library
 * and valid until the next tensorpool call on this thread. */
TP_API const char *tp_errmsg(void);

/* Symbolic name of a code ("TP_EINVAL"), or "TP_UNKNOWN". Static storage. */
TP_API const char *tp_errname(int code);

/* One-line description of a code. Static storage. */
TP_API const char *tp_errdesc(int code);

#ifdef __cplusplus
}
#endif
#endif

/*
 * Thread-local error code + message (STYLE.md rule 3).
 *
 * Functions return 0 / -1 (or counts); on -1 the thread-local code and message say why.
 * Callers that pass an error upwards prepend their own context with tp_err_push(), so
 * tp_errmsg() reads like a short stack trace:
 *     "region map: superblock: epoch 4 != announced 3"
 * Hot paths never set errors; they return sentinels.
 */
#ifndef TP_UTIL_ERROR_H
#define TP_UTIL_ERROR_H

#include "tensorpool/error.h"

#if defined(__GNUC__)
#define TP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TP_PRINTF(a, b)
#endif

/* Replace the thread-local error with (code, formatted message). Always returns -1. */
int tp_err_set(int code, const char *fmt, ...) TP_PRINTF(2, 3);

/* Like tp_err_set, appending ": strerror(errnum)". Always returns -1. */
int tp_err_set_errno(int code, int errnum, const char *fmt, ...) TP_PRINTF(3, 4);

/* Keep the code, prepend "<context>: " to the message. Always returns -1. */
int tp_err_push(const char *fmt, ...) TP_PRINTF(1, 2);

/* Reset to TP_OK / "". */
void tp_err_clear(void);

#endif

#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TP_ERRMSG_MAX 1024

static _Thread_local int err_code;
static _Thread_local char err_msg[TP_ERRMSG_MAX];

int tp_errcode(void) { return err_code; }

const char *tp_errmsg(void) { return err_msg; }

const char *tp_errname(int code)
{
    switch (code) {
#define TP_ERROR_NAME(name, value, desc) case value: return #name;
        TP_ERROR_TABLE(TP_ERROR_NAME)
#undef TP_ERROR_NAME
    default: return "TP_UNKNOWN";
    }
}

const char *tp_errdesc(int code)
{
    switch (code) {
#define TP_ERROR_DESC(name, value, desc) case value: return desc;
        TP_ERROR_TABLE(TP_ERROR_DESC)
#undef TP_ERROR_DESC
    default: return "unknown error";
    }
}

int tp_err_set(int code, const char *fmt, ...)
{
    va_list ap;
    err_code = code;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    return -1;
}

int tp_err_set_errno(int code, int errnum, const char *fmt, ...)
{
    va_list ap;
    size_t n;
    err_code = code;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    n = strlen(err_msg);
    snprintf(err_msg + n, sizeof err_msg - n, ": %s", strerror(errnum));
    return -1;
}

int tp_err_push(const char *fmt, ...)
{
    char prefix[256];
    char old[TP_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t np, no;
    memcpy(old, err_msg, sizeof old);
    /* Build "<prefix>: <old>" by hand so truncation is explicit (and warning-free). */
    np = strnlen(prefix, sizeof prefix - 1);
    if (np > sizeof err_msg - 3) np = sizeof err_msg - 3;
    memcpy(err_msg, prefix, np);
    err_msg[np] = ':';
    err_msg[np + 1] = ' ';
    no = strnlen(old, sizeof old - 1);
    if (no > sizeof err_msg - np - 3) no = sizeof err_msg - np - 3;
    memcpy(err_msg + np + 2, old, no);
    err_msg[np + 2 + no] = '\0';
    return -1;
}

void tp_err_clear(void)
{
    err_code = TP_OK;
    err_msg[0] = '\0';
}

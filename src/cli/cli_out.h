/*
 * Output helpers of `tensorpool inspect` and `tensorpool stat`: JSON strings and the
 * liveness of a pid. Header-only (static functions): each command includes what it uses.
 */
#ifndef TP_CLI_OUT_H
#define TP_CLI_OUT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A JSON string literal (quotes included): \" \\ and control bytes escaped, bytes >= 0x7f as
 * \u00XX so the output stays ASCII whatever a file holds. */
static inline void tp_cli_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* A value for key=value output: printable ASCII without spaces and '=' stays, anything else
 * becomes '_' (so a line always splits on spaces). Writes into buf (cap > 0). */
static inline const char *tp_cli_kv_safe(const char *s, char *buf, size_t cap)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c > 0x20 && c < 0x7f && c != '=') ? (char)c : '_';
    }
    buf[i] = '\0';
    if (i == 0 && cap > 1) {
        buf[0] = '-';
        buf[1] = '\0';
    }
    return buf;
}

/* Milliseconds between two CLOCK_MONOTONIC stamps (then <= now), negative when then > now. */
static inline double tp_cli_age_ms(uint64_t now_ns, uint64_t then_ns)
{
    return now_ns >= then_ns ? (double)(now_ns - then_ns) / 1e6
                             : -(double)(then_ns - now_ns) / 1e6;
}

#endif

#include "util/log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEVEL_UNSET (-1)

/* Relaxed is enough: the level is an independent word; a racing first read at worst parses
 * TP_LOG_LEVEL twice and stores the same value. */
static atomic_int log_level = LEVEL_UNSET;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int tp_log_parse_level(const char *s)
{
    static const struct { const char *name; int level; } names[] = {
        {"error", TP_LOG_ERROR}, {"warn", TP_LOG_WARN}, {"warning", TP_LOG_WARN},
        {"info", TP_LOG_INFO},   {"debug", TP_LOG_DEBUG},
    };
    if (s == NULL || *s == '\0')
        return -1;
    if (s[1] == '\0' && s[0] >= '0' && s[0] <= '3')
        return s[0] - '0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i].name), j;
        if (strlen(s) != n)
            continue;
        for (j = 0; j < n && tolower((unsigned char)s[j]) == names[i].name[j]; j++) {
        }
        if (j == n)
            return names[i].level;
    }
    return -1;
}

int tp_log_level(void)
{
    int level = atomic_load_explicit(&log_level, memory_order_relaxed);
    if (level == LEVEL_UNSET) {
        level = tp_log_parse_level(getenv("TP_LOG_LEVEL"));
        if (level < 0)
            level = TP_LOG_INFO;
        atomic_store_explicit(&log_level, level, memory_order_relaxed);
    }
    return level;
}

void tp_log_set_level(int level)
{
    if (level < TP_LOG_ERROR)
        level = TP_LOG_ERROR;
    if (level > TP_LOG_DEBUG)
        level = TP_LOG_DEBUG;
    atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

void tp_log(int level, const char *component, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n;

    if (level < TP_LOG_ERROR || level > TP_LOG_DEBUG || !tp_log_enabled(level))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, ts.tv_nsec / 1000000L, level_names[level],
                 component ? component : "tensorpool");
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* one line: newlines inside a message would break log parsers */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "%s\n", line);
}

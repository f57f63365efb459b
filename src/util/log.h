/*
 * Logging to stderr with levels (DESIGN.md §1 util). One line per event:
 *
 *     2026-11-26T08:54:09.123Z info  driver: started instance=driver-01 pid=4242
 *
 * The level comes from TP_LOG_LEVEL (error, warn, info, debug; default info), read once on
 * first use; tp_log_set_level overrides it. Daemons log lifecycle events at info and
 * per-message events only at debug, so nothing is logged per message by default.
 *
 * Threading: any thread may log; each line is written with one fprintf (stdio locks the
 * stream), so lines from different threads do not interleave. Not for hot paths: check
 * tp_log_enabled() first when building the arguments costs anything.
 */
#ifndef TP_UTIL_LOG_H
#define TP_UTIL_LOG_H

#include <stdbool.h>

#include "util/error.h" /* TP_PRINTF */

typedef enum tp_log_level {
    TP_LOG_ERROR = 0,
    TP_LOG_WARN = 1,
    TP_LOG_INFO = 2,
    TP_LOG_DEBUG = 3
} tp_log_level_t;

/* Current level (TP_LOG_LEVEL on first call). */
int tp_log_level(void);

/* Override the level (tests, command-line flags). */
void tp_log_set_level(int level);

/* Parse "error", "warn"/"warning", "info", "debug" (case-insensitive) or a digit 0-3.
 * Returns the level or -1. */
int tp_log_parse_level(const char *s);

static inline bool tp_log_enabled(int level) { return level <= tp_log_level(); }

/* Write one line at `level` for `component` when the level is enabled. */
void tp_log(int level, const char *component, const char *fmt, ...) TP_PRINTF(3, 4);

#define tp_log_error(comp, ...) tp_log(TP_LOG_ERROR, comp, __VA_ARGS__)
#define tp_log_warn(comp, ...) tp_log(TP_LOG_WARN, comp, __VA_ARGS__)
#define tp_log_info(comp, ...) tp_log(TP_LOG_INFO, comp, __VA_ARGS__)
#define tp_log_debug(comp, ...) \
    do { if (tp_log_enabled(TP_LOG_DEBUG)) tp_log(TP_LOG_DEBUG, comp, __VA_ARGS__); } while (0)

#endif

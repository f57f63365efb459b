/*
 * Reading settings from the environment at *_config_init time (STYLE.md rule 2: the
 * variable named beside each knob, read once at init). Numbers are decimal (DRIVER D-89).
 * Each reader leaves *v unchanged when the variable is unset or empty; a malformed value is
 * logged as a warning of `component` and ignored. Not for hot paths (getenv, logging).
 */
#ifndef TP_UTIL_ENV_H
#define TP_UTIL_ENV_H

#include <stddef.h>
#include <stdint.h>

/* Decimal, no sign, at most max. */
void tp_env_u64(const char *component, const char *name, uint64_t *v, uint64_t max);
void tp_env_u32(const char *component, const char *name, uint32_t *v);
/* 1/true/yes or 0/false/no, case-insensitive. */
void tp_env_bool(const char *component, const char *name, int *v);
/* Copied when it fits cap bytes with its NUL (an empty value is copied too). */
void tp_env_str(const char *component, const char *name, char *dst, size_t cap);

#endif

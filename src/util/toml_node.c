/*
 * Read-only access to a parsed TOML document: node kinds, positions, lookups by key and by
 * path, scalar values and the RFC 3339 form of date/times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/toml_internal.h"

tp_toml_kind_t tp_toml_kind(const tp_toml_node_t *n) { return n->kind; }

const char *tp_toml_kind_name(tp_toml_kind_t kind)
{
    switch (kind) {
    case TP_TOML_TABLE: return "table";
    case TP_TOML_ARRAY: return "array";
    case TP_TOML_STRING: return "string";
    case TP_TOML_INTEGER: return "integer";
    case TP_TOML_FLOAT: return "float";
    case TP_TOML_BOOL: return "bool";
    case TP_TOML_DATETIME: return "datetime";
    case TP_TOML_DATETIME_LOCAL: return "datetime-local";
    case TP_TOML_DATE_LOCAL: return "date-local";
    case TP_TOML_TIME_LOCAL: return "time-local";
    }
    return "unknown";
}

int tp_toml_line(const tp_toml_node_t *n) { return n->line; }

int tp_toml_column(const tp_toml_node_t *n) { return n->column; }

const char *tp_toml_key(const tp_toml_node_t *n, size_t *len)
{
    if (len)
        *len = n->key ? n->keylen : 0;
    return n->key;
}

static int is_list(const tp_toml_node_t *n)
{
    return n && (n->kind == TP_TOML_TABLE || n->kind == TP_TOML_ARRAY);
}

size_t tp_toml_count(const tp_toml_node_t *n) { return is_list(n) ? n->u.list.count : 0; }

const tp_toml_node_t *tp_toml_at(const tp_toml_node_t *n, size_t i)
{
    return is_list(n) && i < n->u.list.count ? n->u.list.items[i] : NULL;
}

const tp_toml_node_t *tp_toml_get_n(const tp_toml_node_t *n, const char *key, size_t len)
{
    if (!n || n->kind != TP_TOML_TABLE)
        return NULL;
    return tp_toml_index_find(n->doc, n, key, len);
}

const tp_toml_node_t *tp_toml_get(const tp_toml_node_t *n, const char *key)
{
    return tp_toml_get_n(n, key, strlen(key));
}

/* "[N]" at *s: the N-th element of array n. */
static const tp_toml_node_t *path_index(const tp_toml_node_t *n, const char **s)
{
    const char *p = *s + 1;
    size_t i = 0;
    if (*p < '0' || *p > '9')
        return NULL;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (i > ((size_t)-1 - 9) / 10)
            return NULL;
        i = i * 10 + (size_t)(*p - '0');
    }
    if (*p != ']' || n->kind != TP_TOML_ARRAY)
        return NULL;
    *s = p + 1;
    return tp_toml_at(n, i);
}

const tp_toml_node_t *tp_toml_path(const tp_toml_node_t *n, const char *path)
{
    const char *s = path;
    if (!n)
        return NULL;
    for (;;) {
        size_t len = strcspn(s, ".[");
        /* A name is required except where the path starts with an index. */
        if (len == 0 && !(s == path && *s == '['))
            return NULL;
        if (len && !(n = tp_toml_get_n(n, s, len)))
            return NULL;
        s += len;
        while (*s == '[')
            if (!(n = path_index(n, &s)))
                return NULL;
        if (*s == '\0')
            return n;
        if (*s++ != '.')
            return NULL;
    }
}

static int wrong_kind(const tp_toml_node_t *n, const char *want)
{
    return tp_err_set(TP_EINVAL, "line %d, column %d: expected %s, found %s", n->line,
                      n->column, want, tp_toml_kind_name(n->kind));
}

int tp_toml_string(const tp_toml_node_t *n, const char **s, size_t *len)
{
    if (n->kind != TP_TOML_STRING)
        return wrong_kind(n, "a string");
    *s = n->u.str.ptr;
    if (len)
        *len = n->u.str.len;
    return 0;
}

int tp_toml_int(const tp_toml_node_t *n, int64_t *v)
{
    if (n->kind != TP_TOML_INTEGER)
        return wrong_kind(n, "an integer");
    *v = n->u.i;
    return 0;
}

int tp_toml_float(const tp_toml_node_t *n, double *v)
{
    if (n->kind != TP_TOML_FLOAT)
        return wrong_kind(n, "a float");
    *v = n->u.f;
    return 0;
}

int tp_toml_bool(const tp_toml_node_t *n, int *v)
{
    if (n->kind != TP_TOML_BOOL)
        return wrong_kind(n, "a bool");
    *v = n->u.b;
    return 0;
}

static int is_datetime_kind(tp_toml_kind_t k)
{
    return k == TP_TOML_DATETIME || k == TP_TOML_DATETIME_LOCAL || k == TP_TOML_DATE_LOCAL ||
           k == TP_TOML_TIME_LOCAL;
}

int tp_toml_datetime(const tp_toml_node_t *n, const tp_toml_datetime_t **dt)
{
    if (!is_datetime_kind(n->kind))
        return wrong_kind(n, "a date or time");
    *dt = &n->u.dt;
    return 0;
}

/* "HH:MM:SS[.fff]" with the fraction padded to milliseconds, as toml-test writes it. */
static int format_time(const tp_toml_datetime_t *dt, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%02d:%02d:%02d", dt->hour, dt->minute, dt->second);
    if (dt->frac_digits > 0) {
        int digits = dt->frac_digits < 3 ? 3 : dt->frac_digits;
        uint32_t frac = dt->nanosecond, div = 1;
        int i;
        for (i = digits; i < 9; i++)
            div *= 10;
        n += snprintf(out + n, cap > (size_t)n ? cap - (size_t)n : 0, ".%0*u", digits,
                      (unsigned)(frac / div));
    }
    return n;
}

int tp_toml_datetime_format(const tp_toml_datetime_t *dt, tp_toml_kind_t kind, char *buf,
                            size_t cap)
{
    char date[48], time[64], offset[32] = "";
    if (!is_datetime_kind(kind))
        return -1;
    snprintf(date, sizeof date, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
    format_time(dt, time, sizeof time);
    if (kind == TP_TOML_DATETIME && dt->offset_form == 'Z')
        snprintf(offset, sizeof offset, "Z");
    else if (kind == TP_TOML_DATETIME)
        snprintf(offset, sizeof offset, "%c%02d:%02d", dt->offset_form,
                 abs(dt->offset_minutes) / 60, abs(dt->offset_minutes) % 60);
    switch (kind) {
    case TP_TOML_DATE_LOCAL: return snprintf(buf, cap, "%s", date);
    case TP_TOML_TIME_LOCAL: return snprintf(buf, cap, "%s", time);
    default: return snprintf(buf, cap, "%sT%s%s", date, time, offset);
    }
}

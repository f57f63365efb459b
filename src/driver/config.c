/*
 * Driver configuration (DRIVER §18, D-84 .. D-90; issue 4 "Configuration").
 *
 * Loading is three passes over one tp_driver_config_t:
 *   1. TOML: every key of D-85 read with its type checked (wrong type, out-of-range integer:
 *      error; unknown key: warning), the TOML line of each key remembered for messages;
 *   2. environment (D-89): KEY upper-cased with '.' -> '_' overrides the file, aliases
 *      AERON_DIR / TP_CONTROL_CHANNEL / TP_CONTROL_STREAM_ID (and TP_TRANSPORT,
 *      LAUNCH_MEDIA_DRIVER for the tensorpool keys of issue 7) only when the DRIVER_* name is
 *      unset; then the derived defaults (announce = control, allowed_base_dirs = [base_dir]);
 *   3. validation (D-86, D-73, D-74, D-88 DECISION, D-94 DECISION, WIRE W-37, W-53).
 * Every problem is collected (not just the first) and names the key, the value, where it came
 * from and the rule: `profiles.camera.header_nslots = 100 (line 30): must be a power of two
 * (DRIVER D-86)`.
 */
#include "driver/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "transport/transport.h"
#include "util/error.h"
#include "util/toml.h"

extern char **environ;

/* ---- the scalar keys of [driver], [shm], [policies] ------------------------------------- */

typedef enum key_type {
    K_STR,   /* string, cap bytes including the NUL */
    K_U32,
    K_U64,
    K_BOOL,
    K_MODE,  /* octal permission string "660" */
    K_RANGE, /* "a-b", "a,b", [a, b] or "" (D-88) */
    K_DIRS   /* array of strings (shm.allowed_base_dirs; no environment override) */
} key_type_t;

typedef struct cfg_key {
    const char *key;   /* "driver.control_stream_id" */
    key_type_t type;
    size_t off;
    size_t cap;        /* K_STR */
    const char *alias; /* D-89 alias, used only when the canonical variable is unset */
} cfg_key_t;

#define OFF(f) offsetof(tp_driver_config_t, f)
#define STR(k, f, alias) { k, K_STR, OFF(f), sizeof(((tp_driver_config_t *)0)->f), alias }
#define NUM(k, t, f, alias) { k, t, OFF(f), 0, alias }

static const cfg_key_t KEYS[] = {
    STR("driver.instance_id", instance_id, NULL),
    STR("driver.aeron_dir", aeron_dir, "AERON_DIR"),
    STR("driver.transport", transport, "TP_TRANSPORT"),
    NUM("driver.launch_media_driver", K_BOOL, launch_media_driver, "LAUNCH_MEDIA_DRIVER"),
    STR("driver.control_channel", control_channel, "TP_CONTROL_CHANNEL"),
    NUM("driver.control_stream_id", K_U32, control_stream_id, "TP_CONTROL_STREAM_ID"),
    STR("driver.announce_channel", announce_channel, NULL),
    NUM("driver.announce_stream_id", K_U32, announce_stream_id, NULL),
    STR("driver.qos_channel", qos_channel, NULL),
    NUM("driver.qos_stream_id", K_U32, qos_stream_id, NULL),
    NUM("driver.stream_id_range", K_RANGE, stream_id_range, NULL),
    NUM("driver.descriptor_stream_id_range", K_RANGE, descriptor_stream_id_range, NULL),
    NUM("driver.control_stream_id_range", K_RANGE, control_stream_id_range, NULL),
    STR("shm.base_dir", base_dir, NULL),
    STR("shm.namespace", namespace_, NULL),
    NUM("shm.require_hugepages", K_BOOL, require_hugepages, NULL),
    NUM("shm.page_size_bytes", K_U32, page_size_bytes, NULL),
    NUM("shm.permissions_mode", K_MODE, permissions_mode, NULL),
    NUM("shm.allowed_base_dirs", K_DIRS, allowed_base_dirs, NULL),
    NUM("policies.allow_dynamic_streams", K_BOOL, allow_dynamic_streams, NULL),
    STR("policies.default_profile", default_profile, NULL),
    NUM("policies.announce_period_ms", K_U32, announce_period_ms, NULL),
    NUM("policies.lease_keepalive_interval_ms", K_U32, lease_keepalive_interval_ms, NULL),
    NUM("policies.lease_expiry_grace_intervals", K_U32, lease_expiry_grace_intervals, NULL),
    NUM("policies.prefault_shm", K_BOOL, prefault_shm, NULL),
    NUM("policies.reuse_existing_shm", K_BOOL, reuse_existing_shm, NULL),
    NUM("policies.mlock_shm", K_BOOL, mlock_shm, NULL),
    NUM("policies.cleanup_shm_on_exit", K_BOOL, cleanup_shm_on_exit, NULL),
    NUM("policies.epoch_gc_enabled", K_BOOL, epoch_gc_enabled, NULL),
    NUM("policies.epoch_gc_keep", K_U32, epoch_gc_keep, NULL),
    NUM("policies.epoch_gc_min_age_ns", K_U64, epoch_gc_min_age_ns, NULL),
    NUM("policies.epoch_gc_on_startup", K_BOOL, epoch_gc_on_startup, NULL),
    NUM("policies.shutdown_timeout_ms", K_U32, shutdown_timeout_ms, NULL),
    STR("policies.shutdown_token", shutdown_token, NULL),
};
#define KEY_COUNT (sizeof KEYS / sizeof KEYS[0])

#undef STR
#undef NUM

/* ---- loading context: where each value came from, and the report ---------------------- */

typedef struct origin {
    char key[320];
    char where[96]; /* "line 30" or "environment DRIVER_CONTROL_STREAM_ID" */
} origin_t;

typedef struct ctx {
    tp_cfg_report_t *rep;
    bool err_overflow, warn_overflow;
    origin_t *orig;
    size_t norig, orig_cap;
    bool key_set[KEY_COUNT]; /* given in the file or the environment */
    char *const *envp;
} ctx_t;

static void vreport(ctx_t *x, bool error, const char *fmt, va_list ap)
{
    tp_cfg_report_t *r = x->rep;
    uint32_t *count = error ? &r->error_count : &r->warning_count;
    char(*slots)[512] = error ? r->errors : r->warnings;
    bool *overflow = error ? &x->err_overflow : &x->warn_overflow;

    if (*count >= TP_CFG_MAX_ISSUES) {
        if (!*overflow)
            snprintf(slots[TP_CFG_MAX_ISSUES - 1], 512, "more than %u %s; the rest are omitted",
                     TP_CFG_MAX_ISSUES - 1, error ? "errors" : "warnings");
        *overflow = true;
        return;
    }
    vsnprintf(slots[*count], 512, fmt, ap);
    (*count)++;
}

static void err(ctx_t *x, const char *fmt, ...) TP_PRINTF(2, 3);
static void err(ctx_t *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(x, true, fmt, ap);
    va_end(ap);
}

static void warn(ctx_t *x, const char *fmt, ...) TP_PRINTF(2, 3);
static void warn(ctx_t *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(x, false, fmt, ap);
    va_end(ap);
}

static void set_origin(ctx_t *x, const char *key, const char *fmt, ...) TP_PRINTF(3, 4);
static void set_origin(ctx_t *x, const char *key, const char *fmt, ...)
{
    va_list ap;
    origin_t *o = NULL;
    for (size_t i = 0; i < x->norig; i++)
        if (!strcmp(x->orig[i].key, key)) o = &x->orig[i];
    if (o == NULL) {
        if (x->norig == x->orig_cap) {
            size_t cap = x->orig_cap ? x->orig_cap * 2 : 64;
            origin_t *n = realloc(x->orig, cap * sizeof *n);
            if (n == NULL) return; /* only the "(line N)" of a message is lost */
            x->orig = n;
            x->orig_cap = cap;
        }
        o = &x->orig[x->norig++];
        snprintf(o->key, sizeof o->key, "%s", key);
    }
    va_start(ap, fmt);
    vsnprintf(o->where, sizeof o->where, fmt, ap);
    va_end(ap);
}

/* " (line 30)", " (environment X)" or "" when the value is a default or was set in code. */
static const char *where(const ctx_t *x, const char *key, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; x != NULL && i < x->norig; i++)
        if (!strcmp(x->orig[i].key, key)) snprintf(buf, cap, " (%s)", x->orig[i].where);
    return buf;
}

/* ---- small helpers --------------------------------------------------------------------- */

static bool is_pow2_u64(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* Long values would push the rule out of a 512-byte message: "/bbbb...bbbb (1023 bytes)". */
static const char *abbrev(const char *s, char *buf, size_t cap)
{
    size_t n = strlen(s);
    if (n <= 80) return s;
    snprintf(buf, cap, "%.40s...%s (%zu bytes)", s, s + n - 20, n);
    return buf;
}

static void range_text(const tp_cfg_range_t *r, char *buf, size_t cap)
{
    if (r->set)
        snprintf(buf, cap, "%u-%u", (unsigned)r->start, (unsigned)r->end);
    else
        buf[0] = '\0';
}

/* Decimal uint64 (D-89: numbers are decimal): digits only, optional surrounding blanks. */
static int parse_decimal(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    while (*s == ' ' || *s == '\t') s++;
    if (!isdigit((unsigned char)*s)) return -1;
    for (; isdigit((unsigned char)*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10) return -1;
        v = v * 10 + d;
    }
    while (*s == ' ' || *s == '\t') s++;
    if (*s != '\0') return -1;
    *out = v;
    return 0;
}

/* "660", "0660", "600", "0o660": octal, 0..0777. */
static int parse_mode(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) s += 2;
    if (*s == '\0') return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '7') return -1;
        v = v * 8 + (uint32_t)(*s - '0');
        if (v > 07777) return -1;
    }
    if (v > 0777) return -1;
    *out = v;
    return 0;
}

/* Range string (D-88): "" -> unset; "a-b" or "a,b" with optional blanks; anything else is an
 * error (D-88 DECISION: a non-empty string without '-' or ',' is not silently unset). Returns
 * 0, or -1 with *why set. */
static int parse_range_string(const char *s, tp_cfg_range_t *r, const char **why)
{
    const char *sep;
    char a[32], b[32];
    uint64_t lo, hi;
    size_t la;
    const char *p = s;

    while (*p == ' ' || *p == '\t') p++;
    if (*p == '\0') {
        r->set = false;
        r->start = r->end = 0;
        return 0;
    }
    sep = strpbrk(s, "-,");
    if (sep == NULL) {
        *why = "a non-empty range must be \"start-end\" or \"start,end\" (DRIVER D-88 DECISION)";
        return -1;
    }
    la = (size_t)(sep - s);
    if (la >= sizeof a || strlen(sep + 1) >= sizeof b) {
        *why = "not a range of two uint32 stream ids (DRIVER D-88)";
        return -1;
    }
    memcpy(a, s, la);
    a[la] = '\0';
    copy_str(b, sizeof b, sep + 1);
    if (parse_decimal(a, UINT32_MAX, &lo) != 0 || parse_decimal(b, UINT32_MAX, &hi) != 0) {
        *why = "bounds must be decimal uint32 stream ids: \"start-end\" or \"start,end\" "
               "(DRIVER D-88)";
        return -1;
    }
    r->set = true;
    r->start = (uint32_t)lo;
    r->end = (uint32_t)hi;
    return 0;
}

/* Lexical absolute path (D-86: allowed_base_dirs entries are made absolute): relative paths
 * are taken from the working directory; "//", "." and ".." are resolved without touching the
 * filesystem (like Julia's abspath). Returns 0 or -1 when it does not fit. */
static int make_absolute(const char *in, char *out, size_t cap)
{
    char buf[2 * TP_CFG_PATH_MAX + 2];
    char *comp[TP_CFG_PATH_MAX];
    size_t n = 0, len = 0;
    char *save = NULL, *tok;

    if (in[0] == '/') {
        copy_str(buf, sizeof buf, in);
    } else {
        char cwd[TP_CFG_PATH_MAX];
        if (getcwd(cwd, sizeof cwd) == NULL) return -1;
        if ((size_t)snprintf(buf, sizeof buf, "%s/%s", cwd, in) >= sizeof buf) return -1;
    }
    for (tok = strtok_r(buf, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
        if (!strcmp(tok, ".")) continue;
        if (!strcmp(tok, "..")) {
            if (n > 0) n--;
            continue;
        }
        comp[n++] = tok;
    }
    if (n == 0) {
        if (cap < 2) return -1;
        copy_str(out, cap, "/");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(comp[i]);
        if (len + 1 + l + 1 > cap) return -1;
        out[len++] = '/';
        memcpy(out + len, comp[i], l);
        len += l;
    }
    out[len] = '\0';
    return 0;
}

static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    if (envp == NULL) return NULL;
    for (; *envp != NULL; envp++)
        if (!strncmp(*envp, name, n) && (*envp)[n] == '=') return *envp + n + 1;
    return NULL;
}

/* ---- TOML pass --------------------------------------------------------------------------- */

static const char *kind_name(const tp_toml_node_t *n) { return tp_toml_kind_name(tp_toml_kind(n)); }

static void wrong_type(ctx_t *x, const char *key, const tp_toml_node_t *n, const char *expected)
{
    err(x, "%s (line %d): expected %s, got %s (DRIVER D-85)", key, tp_toml_line(n), expected,
        kind_name(n));
}

static int toml_u(ctx_t *x, const char *key, const tp_toml_node_t *n, uint64_t max,
                  const char *tname, uint64_t *out)
{
    int64_t v;
    if (tp_toml_kind(n) != TP_TOML_INTEGER || tp_toml_int(n, &v) != 0) {
        wrong_type(x, key, n, tname);
        return -1;
    }
    if (v < 0 || (uint64_t)v > max) {
        err(x, "%s = %lld (line %d): out of range for %s (0..%llu) (DRIVER D-85)", key,
            (long long)v, tp_toml_line(n), tname, (unsigned long long)max);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

static int toml_str(ctx_t *x, const char *key, const tp_toml_node_t *n, size_t cap,
                    const char **out)
{
    const char *s;
    size_t len;
    if (tp_toml_kind(n) != TP_TOML_STRING || tp_toml_string(n, &s, &len) != 0) {
        wrong_type(x, key, n, "string");
        return -1;
    }
    if (strlen(s) != len) {
        err(x, "%s (line %d): string contains a NUL byte (DRIVER D-85)", key, tp_toml_line(n));
        return -1;
    }
    if (len >= cap) {
        err(x, "%s (line %d): string is %zu bytes, limit %zu (DRIVER D-85)", key,
            tp_toml_line(n), len, cap - 1);
        return -1;
    }
    *out = s;
    return 0;
}

static void read_range_node(ctx_t *x, const char *key, const tp_toml_node_t *n,
                            tp_cfg_range_t *r)
{
    const char *why = NULL, *s;
    if (tp_toml_kind(n) == TP_TOML_STRING) {
        if (toml_str(x, key, n, 64, &s) != 0) return;
        if (parse_range_string(s, r, &why) != 0)
            err(x, "%s = \"%s\" (line %d): %s", key, s, tp_toml_line(n), why);
        return;
    }
    if (tp_toml_kind(n) == TP_TOML_ARRAY) {
        uint64_t b[2];
        if (tp_toml_count(n) != 2) {
            err(x, "%s (line %d): an array range must have exactly two elements [start, end], "
                "got %zu (DRIVER D-88)", key, tp_toml_line(n), tp_toml_count(n));
            return;
        }
        for (size_t i = 0; i < 2; i++) {
            char k[320];
            snprintf(k, sizeof k, "%s[%zu]", key, i);
            if (toml_u(x, k, tp_toml_at(n, i), UINT32_MAX, "integer (uint32)", &b[i]) != 0)
                return;
        }
        r->set = true;
        r->start = (uint32_t)b[0];
        r->end = (uint32_t)b[1];
        return;
    }
    wrong_type(x, key, n, "string \"start-end\" or array [start, end]");
}

static void read_key(ctx_t *x, size_t ki, tp_driver_config_t *c, const tp_toml_node_t *n)
{
    const cfg_key_t *k = &KEYS[ki];
    char *field = (char *)c + k->off;
    const char *s;
    uint64_t u;
    int b;

    set_origin(x, k->key, "line %d", tp_toml_line(n));
    x->key_set[ki] = true;
    switch (k->type) {
    case K_STR:
        if (toml_str(x, k->key, n, k->cap, &s) == 0) copy_str(field, k->cap, s);
        break;
    case K_U32:
        if (toml_u(x, k->key, n, UINT32_MAX, "integer (uint32)", &u) == 0)
            *(uint32_t *)(void *)field = (uint32_t)u;
        break;
    case K_U64:
        if (toml_u(x, k->key, n, INT64_MAX, "integer (uint64)", &u) == 0)
            *(uint64_t *)(void *)field = u;
        break;
    case K_BOOL:
        if (tp_toml_kind(n) != TP_TOML_BOOL || tp_toml_bool(n, &b) != 0)
            wrong_type(x, k->key, n, "bool");
        else
            *(bool *)field = b != 0;
        break;
    case K_MODE:
        if (toml_str(x, k->key, n, 16, &s) != 0) break;
        if (parse_mode(s, (uint32_t *)(void *)field) != 0)
            err(x, "%s = \"%s\" (line %d): must be an octal mode string 0..0777 such as \"660\" "
                "(DRIVER D-85)", k->key, s, tp_toml_line(n));
        break;
    case K_RANGE:
        read_range_node(x, k->key, n, (tp_cfg_range_t *)(void *)field);
        break;
    case K_DIRS:
        if (tp_toml_kind(n) != TP_TOML_ARRAY) {
            wrong_type(x, k->key, n, "array of strings");
            break;
        }
        if (tp_toml_count(n) > TP_CFG_MAX_ALLOWED_DIRS) {
            err(x, "%s (line %d): %zu entries, limit %u", k->key, tp_toml_line(n),
                tp_toml_count(n), TP_CFG_MAX_ALLOWED_DIRS);
            break;
        }
        c->allowed_base_dir_count = 0;
        for (size_t i = 0; i < tp_toml_count(n); i++) {
            char ek[320];
            const tp_toml_node_t *e = tp_toml_at(n, i);
            snprintf(ek, sizeof ek, "%s[%zu]", k->key, i);
            if (toml_str(x, ek, e, TP_CFG_PATH_MAX, &s) != 0) continue;
            if (s[0] == '\0') {
                err(x, "%s = \"\" (line %d): must be a directory path (DRIVER D-86)", ek,
                    tp_toml_line(e));
                continue;
            }
            if (make_absolute(s, c->allowed_base_dirs[c->allowed_base_dir_count],
                              TP_CFG_PATH_MAX) != 0) {
                err(x, "%s = \"%s\" (line %d): cannot be made absolute within %u bytes "
                    "(DRIVER D-86)", ek, s, tp_toml_line(e), TP_CFG_PATH_MAX - 1);
                continue;
            }
            c->allowed_base_dir_count++;
        }
        break;
    }
}

static void read_section(ctx_t *x, tp_driver_config_t *c, const tp_toml_node_t *sec,
                         const char *name)
{
    size_t plen = strlen(name);
    if (tp_toml_kind(sec) != TP_TOML_TABLE) {
        wrong_type(x, name, sec, "table");
        return;
    }
    for (size_t i = 0; i < tp_toml_count(sec); i++) {
        const tp_toml_node_t *n = tp_toml_at(sec, i);
        const char *k = tp_toml_key(n, NULL);
        size_t ki;
        for (ki = 0; ki < KEY_COUNT; ki++)
            if (!strncmp(KEYS[ki].key, name, plen) && KEYS[ki].key[plen] == '.' &&
                !strcmp(KEYS[ki].key + plen + 1, k))
                break;
        if (ki == KEY_COUNT)
            warn(x, "unknown key '%s.%s' at line %d", name, k, tp_toml_line(n));
        else
            read_key(x, ki, c, n);
    }
}

static void read_pool(ctx_t *x, tp_cfg_profile_t *p, const char *pkey, size_t idx,
                      const tp_toml_node_t *t)
{
    char key[600], sub[700];
    const tp_toml_node_t *id, *stride;
    tp_cfg_pool_t *pool;
    uint64_t v;

    snprintf(key, sizeof key, "%s.payload_pools[%zu]", pkey, idx);
    if (tp_toml_kind(t) != TP_TOML_TABLE) {
        wrong_type(x, key, t, "table { pool_id, stride_bytes }");
        return;
    }
    if (p->pool_count >= TP_CFG_MAX_POOLS) {
        err(x, "%s (line %d): more than %u payload pools in one profile", key, tp_toml_line(t),
            TP_CFG_MAX_POOLS);
        return;
    }
    pool = &p->pools[p->pool_count++];
    memset(pool, 0, sizeof *pool);
    for (size_t i = 0; i < tp_toml_count(t); i++) {
        const tp_toml_node_t *n = tp_toml_at(t, i);
        const char *k = tp_toml_key(n, NULL);
        if (strcmp(k, "pool_id") && strcmp(k, "stride_bytes"))
            warn(x, "unknown key '%s.%s' at line %d", key, k, tp_toml_line(n));
    }
    id = tp_toml_get(t, "pool_id");
    stride = tp_toml_get(t, "stride_bytes");
    snprintf(sub, sizeof sub, "%s.pool_id", key);
    if (id == NULL) {
        err(x, "%s (line %d): required key missing (DRIVER D-85)", sub, tp_toml_line(t));
    } else {
        set_origin(x, sub, "line %d", tp_toml_line(id));
        if (toml_u(x, sub, id, UINT16_MAX, "integer (uint16)", &v) == 0)
            pool->pool_id = (uint16_t)v;
    }
    snprintf(sub, sizeof sub, "%s.stride_bytes", key);
    pool->stride_bytes = 64; /* placeholder when missing or invalid: reported once, here */
    if (stride == NULL) {
        err(x, "%s (line %d): required key missing (DRIVER D-85)", sub, tp_toml_line(t));
    } else {
        set_origin(x, sub, "line %d", tp_toml_line(stride));
        if (toml_u(x, sub, stride, UINT32_MAX, "integer (uint32)", &v) == 0)
            pool->stride_bytes = (uint32_t)v;
    }
}

static void read_profile(ctx_t *x, tp_driver_config_t *c, const tp_toml_node_t *t)
{
    const char *name = tp_toml_key(t, NULL);
    char key[300], sub[400];
    tp_cfg_profile_t *p;
    uint64_t v;

    snprintf(key, sizeof key, "profiles.%s", name);
    if (tp_toml_kind(t) != TP_TOML_TABLE) {
        wrong_type(x, key, t, "table");
        return;
    }
    if (strlen(name) >= TP_CFG_STR_MAX) {
        err(x, "%s (line %d): profile name longer than %u bytes", key, tp_toml_line(t),
            TP_CFG_STR_MAX - 1);
        return;
    }
    if (c->profile_count >= TP_CFG_MAX_PROFILES) {
        err(x, "%s (line %d): more than %u profiles", key, tp_toml_line(t), TP_CFG_MAX_PROFILES);
        return;
    }
    p = &c->profiles[c->profile_count++];
    memset(p, 0, sizeof *p);
    copy_str(p->name, sizeof p->name, name);
    p->header_nslots = 1024;
    p->header_slot_bytes = 256;
    p->max_dims = 8;
    set_origin(x, key, "line %d", tp_toml_line(t));
    for (size_t i = 0; i < tp_toml_count(t); i++) {
        const tp_toml_node_t *n = tp_toml_at(t, i);
        const char *k = tp_toml_key(n, NULL);
        snprintf(sub, sizeof sub, "%s.%s", key, k);
        if (!strcmp(k, "header_nslots")) {
            set_origin(x, sub, "line %d", tp_toml_line(n));
            if (toml_u(x, sub, n, UINT32_MAX, "integer (uint32)", &v) == 0)
                p->header_nslots = (uint32_t)v;
            else
                p->header_nslots = 1024; /* reported already; keep later checks quiet */
        } else if (!strcmp(k, "header_slot_bytes")) {
            set_origin(x, sub, "line %d", tp_toml_line(n));
            if (toml_u(x, sub, n, UINT16_MAX, "integer (uint16)", &v) == 0)
                p->header_slot_bytes = (uint16_t)v;
        } else if (!strcmp(k, "max_dims")) {
            set_origin(x, sub, "line %d", tp_toml_line(n));
            if (toml_u(x, sub, n, UINT8_MAX, "integer (uint8)", &v) == 0)
                p->max_dims = (uint8_t)v;
        } else if (!strcmp(k, "payload_pools")) {
            set_origin(x, sub, "line %d", tp_toml_line(n));
            if (tp_toml_kind(n) != TP_TOML_ARRAY) {
                wrong_type(x, sub, n, "array of tables");
                continue;
            }
            for (size_t j = 0; j < tp_toml_count(n); j++)
                read_pool(x, p, key, j, tp_toml_at(n, j));
        } else {
            warn(x, "unknown key '%s' at line %d", sub, tp_toml_line(n));
        }
    }
}

static void read_stream(ctx_t *x, tp_driver_config_t *c, const tp_toml_node_t *t)
{
    const char *name = tp_toml_key(t, NULL), *s;
    char key[300], sub[400];
    const tp_toml_node_t *id, *prof;
    tp_cfg_stream_t *st;
    uint64_t v;

    snprintf(key, sizeof key, "streams.%s", name);
    if (tp_toml_kind(t) != TP_TOML_TABLE) {
        wrong_type(x, key, t, "table { stream_id, profile }");
        return;
    }
    if (strlen(name) >= TP_CFG_STR_MAX) {
        err(x, "%s (line %d): stream name longer than %u bytes", key, tp_toml_line(t),
            TP_CFG_STR_MAX - 1);
        return;
    }
    if (c->stream_count >= TP_CFG_MAX_STREAMS) {
        err(x, "%s (line %d): more than %u streams", key, tp_toml_line(t), TP_CFG_MAX_STREAMS);
        return;
    }
    st = &c->streams[c->stream_count++];
    memset(st, 0, sizeof *st);
    copy_str(st->name, sizeof st->name, name);
    st->profile_index = UINT32_MAX;
    for (size_t i = 0; i < tp_toml_count(t); i++) {
        const tp_toml_node_t *n = tp_toml_at(t, i);
        const char *k = tp_toml_key(n, NULL);
        if (strcmp(k, "stream_id") && strcmp(k, "profile"))
            warn(x, "unknown key '%s.%s' at line %d", key, k, tp_toml_line(n));
    }
    id = tp_toml_get(t, "stream_id");
    prof = tp_toml_get(t, "profile");
    snprintf(sub, sizeof sub, "%s.stream_id", key);
    if (id == NULL) {
        err(x, "%s (line %d): required key missing (DRIVER D-85)", sub, tp_toml_line(t));
    } else {
        set_origin(x, sub, "line %d", tp_toml_line(id));
        if (toml_u(x, sub, id, UINT32_MAX, "integer (uint32)", &v) == 0)
            st->stream_id = (uint32_t)v;
    }
    snprintf(sub, sizeof sub, "%s.profile", key);
    if (prof == NULL) {
        err(x, "%s (line %d): required key missing (DRIVER D-85)", sub, tp_toml_line(t));
        st->profile_index = UINT32_MAX - 1; /* reported: no "unknown profile" on top */
    } else {
        set_origin(x, sub, "line %d", tp_toml_line(prof));
        if (toml_str(x, sub, prof, TP_CFG_STR_MAX, &s) == 0)
            copy_str(st->profile, sizeof st->profile, s);
        else
            st->profile_index = UINT32_MAX - 1;
    }
}

static void read_document(ctx_t *x, tp_driver_config_t *c, const tp_toml_node_t *root)
{
    for (size_t i = 0; i < tp_toml_count(root); i++) {
        const tp_toml_node_t *n = tp_toml_at(root, i);
        const char *k = tp_toml_key(n, NULL);
        if (!strcmp(k, "driver") || !strcmp(k, "shm") || !strcmp(k, "policies")) {
            read_section(x, c, n, k);
        } else if (!strcmp(k, "profiles") || !strcmp(k, "streams")) {
            bool prof = k[0] == 'p';
            if (tp_toml_kind(n) != TP_TOML_TABLE) {
                wrong_type(x, k, n, "table");
                continue;
            }
            for (size_t j = 0; j < tp_toml_count(n); j++) {
                if (prof)
                    read_profile(x, c, tp_toml_at(n, j));
                else
                    read_stream(x, c, tp_toml_at(n, j));
            }
        } else {
            warn(x, "unknown key '%s' at line %d", k, tp_toml_line(n));
        }
    }
}

/* ---- environment pass (D-89) ------------------------------------------------------------- */

static void env_name(const char *key, char *out, size_t cap)
{
    size_t i;
    for (i = 0; key[i] && i + 1 < cap; i++)
        out[i] = key[i] == '.' ? '_' : (char)toupper((unsigned char)key[i]);
    out[i] = '\0';
}

static void apply_env(ctx_t *x, tp_driver_config_t *c)
{
    for (size_t ki = 0; ki < KEY_COUNT; ki++) {
        const cfg_key_t *k = &KEYS[ki];
        char name[96];
        const char *var, *val, *why = NULL;
        char *field = (char *)c + k->off;
        uint64_t u;

        if (k->type == K_DIRS) continue; /* D-89: allowed_base_dirs has no override */
        env_name(k->key, name, sizeof name);
        var = name;
        val = env_get(x->envp, name);
        if (val == NULL && k->alias != NULL) { /* aliases only when DRIVER_* is unset */
            var = k->alias;
            val = env_get(x->envp, k->alias);
        }
        if (val == NULL) continue;
        set_origin(x, k->key, "environment %s", var);
        x->key_set[ki] = true;
        switch (k->type) {
        case K_STR:
            if (strlen(val) >= k->cap)
                err(x, "%s (environment, for %s): value is %zu bytes, limit %zu (DRIVER D-89)",
                    var, k->key, strlen(val), k->cap - 1);
            else
                copy_str(field, k->cap, val);
            break;
        case K_U32:
        case K_U64:
            if (parse_decimal(val, k->type == K_U32 ? UINT32_MAX : INT64_MAX, &u) != 0) {
                err(x, "%s = '%s' (environment, for %s): not a decimal %s (DRIVER D-89)", var,
                    val, k->key, k->type == K_U32 ? "uint32" : "uint64");
                break;
            }
            if (k->type == K_U32)
                *(uint32_t *)(void *)field = (uint32_t)u;
            else
                *(uint64_t *)(void *)field = u;
            break;
        case K_BOOL:
            /* D-89 REF: true only for the text "true" (any case); everything else is false. */
            *(bool *)field = strcasecmp(val, "true") == 0;
            if (strcasecmp(val, "true") != 0 && strcasecmp(val, "false") != 0)
                warn(x, "%s = '%s' (environment, for %s): not 'true' or 'false', read as false "
                     "(DRIVER D-89)", var, val, k->key);
            break;
        case K_MODE:
            if (parse_mode(val, (uint32_t *)(void *)field) != 0)
                err(x, "%s = '%s' (environment, for %s): must be an octal mode string 0..0777 "
                    "such as \"660\" (DRIVER D-85, D-89)", var, val, k->key);
            break;
        case K_RANGE:
            if (parse_range_string(val, (tp_cfg_range_t *)(void *)field, &why) != 0)
                err(x, "%s = '%s' (environment, for %s): %s", var, val, k->key, why);
            break;
        case K_DIRS:
            break;
        }
    }
}

static size_t key_index(const char *key)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (!strcmp(KEYS[i].key, key)) return i;
    return KEY_COUNT;
}

/* ---- validation ------------------------------------------------------------------------- */

static bool safe_name_byte(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

/* The user directory's name length as the SHM layer will build it (W-174: $USER, else
 * $USERNAME, else "unknown"; bytes are replaced, not removed, so the length is the raw one). */
static size_t user_name_len(char *const *envp)
{
    const char *u = env_get(envp, "USER");
    if (u == NULL || u[0] == '\0') u = env_get(envp, "USERNAME");
    if (u == NULL || u[0] == '\0') u = "unknown";
    return strlen(u);
}

typedef struct named_range {
    const char *key;
    const tp_cfg_range_t *r;
} named_range_t;

static void validate_ranges(ctx_t *x, const tp_driver_config_t *c)
{
    named_range_t rs[3] = {
        { "driver.stream_id_range", &c->stream_id_range },
        { "driver.descriptor_stream_id_range", &c->descriptor_stream_id_range },
        { "driver.control_stream_id_range", &c->control_stream_id_range },
    };
    struct { const char *key; uint32_t id; } fixed[3] = {
        { "driver.control_stream_id", c->control_stream_id },
        { "driver.announce_stream_id", c->announce_stream_id },
        { "driver.qos_stream_id", c->qos_stream_id },
    };
    char w1[128], w2[128], t1[32], t2[32];
    bool ok[3];

    for (size_t i = 0; i < 3; i++) {
        ok[i] = rs[i].r->set && rs[i].r->start <= rs[i].r->end;
        if (rs[i].r->set && !ok[i]) {
            range_text(rs[i].r, t1, sizeof t1);
            err(x, "%s = %s%s: start must be <= end (DRIVER D-74, D-86)", rs[i].key, t1,
                where(x, rs[i].key, w1, sizeof w1));
        }
    }
    /* D-86 DECISION: identical ranges overlap too (the reference skips that pair). */
    for (size_t i = 0; i < 3; i++)
        for (size_t j = i + 1; j < 3; j++) {
            if (!ok[i] || !ok[j]) continue;
            if (rs[i].r->start > rs[j].r->end || rs[j].r->start > rs[i].r->end) continue;
            range_text(rs[i].r, t1, sizeof t1);
            range_text(rs[j].r, t2, sizeof t2);
            err(x, "%s = %s%s: overlaps %s = %s%s; ranges must be disjoint, identical ones "
                "included (DRIVER D-73, D-74, D-86 DECISION)", rs[i].key, t1,
                where(x, rs[i].key, w1, sizeof w1), rs[j].key, t2,
                where(x, rs[j].key, w2, sizeof w2));
        }
    for (size_t i = 0; i < 3; i++) {
        if (!ok[i]) continue;
        range_text(rs[i].r, t1, sizeof t1);
        for (size_t f = 0; f < 3; f++)
            if (fixed[f].id >= rs[i].r->start && fixed[f].id <= rs[i].r->end)
                err(x, "%s = %s%s: contains %s = %u%s (DRIVER D-73, D-86)", rs[i].key, t1,
                    where(x, rs[i].key, w1, sizeof w1), fixed[f].key, (unsigned)fixed[f].id,
                    where(x, fixed[f].key, w2, sizeof w2));
        for (uint32_t s = 0; s < c->stream_count; s++) {
            char sk[300];
            const tp_cfg_stream_t *st = &c->streams[s];
            if (st->stream_id < rs[i].r->start || st->stream_id > rs[i].r->end) continue;
            snprintf(sk, sizeof sk, "streams.%s.stream_id", st->name);
            err(x, "%s = %s%s: contains %s = %u%s (DRIVER D-73, D-86)", rs[i].key, t1,
                where(x, rs[i].key, w1, sizeof w1), sk, (unsigned)st->stream_id,
                where(x, sk, w2, sizeof w2));
        }
    }
}

static void validate_profiles(ctx_t *x, tp_driver_config_t *c)
{
    char w[128], k[400];

    if (c->profile_count == 0)
        err(x, "profiles: no profile defined; at least one [profiles.<name>] with payload pools "
            "is required (DRIVER D-85, D-86)");
    for (uint32_t i = 0; i < c->profile_count; i++) {
        tp_cfg_profile_t *p = &c->profiles[i];
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(c->profiles[j].name, p->name))
                err(x, "profiles.%s: defined twice (DRIVER D-85)", p->name);
        /* 0 = not given (a profile built in code): the defaults. */
        if (p->header_slot_bytes == 0) p->header_slot_bytes = 256;
        if (p->max_dims == 0) p->max_dims = 8;
        snprintf(k, sizeof k, "profiles.%s.header_nslots", p->name);
        if (!is_pow2_u64(p->header_nslots))
            err(x, "%s = %u%s: must be a power of two (DRIVER D-86)", k,
                (unsigned)p->header_nslots, where(x, k, w, sizeof w));
        snprintf(k, sizeof k, "profiles.%s.header_slot_bytes", p->name);
        if (p->header_slot_bytes != 256)
            err(x, "%s = %u%s: must be 256 (DRIVER D-85, D-86)", k,
                (unsigned)p->header_slot_bytes, where(x, k, w, sizeof w));
        snprintf(k, sizeof k, "profiles.%s.max_dims", p->name);
        if (p->max_dims != 8)
            err(x, "%s = %u%s: must be 8, MAX_DIMS is fixed in v1.2 (WIRE W-37)", k,
                (unsigned)p->max_dims, where(x, k, w, sizeof w));
        snprintf(k, sizeof k, "profiles.%s", p->name);
        if (p->pool_count == 0)
            err(x, "%s%s: no payload_pools; every profile needs at least one pool "
                "(DRIVER D-85, D-86)", k, where(x, k, w, sizeof w));
        for (uint32_t j = 0; j < p->pool_count && j < TP_CFG_MAX_POOLS; j++) {
            tp_cfg_pool_t *pl = &p->pools[j];
            uint64_t eff;
            for (uint32_t m = 0; m < j; m++)
                if (p->pools[m].pool_id == pl->pool_id) {
                    snprintf(k, sizeof k, "profiles.%s.payload_pools[%u].pool_id", p->name, j);
                    err(x, "%s = %u%s: duplicate pool_id in profile '%s' (DRIVER D-85)", k,
                        (unsigned)pl->pool_id, where(x, k, w, sizeof w), p->name);
                    break;
                }
            snprintf(k, sizeof k, "profiles.%s.payload_pools[%u].stride_bytes", p->name, j);
            pl->stride_effective = 0;
            if (pl->stride_bytes < 64 || pl->stride_bytes % 64 != 0) {
                err(x, "%s = %u%s: must be >= 64 and a multiple of 64 (WIRE W-53, DRIVER D-86)",
                    k, (unsigned)pl->stride_bytes, where(x, k, w, sizeof w));
                continue;
            }
            /* DECISION (issue 4, WIRE W-53): W-53 wants a power of two, but the seed's
             * integration example configures 655360 (640 KiB) and must load as written. The
             * profile is accepted with a warning and the driver provisions and announces the
             * next power of two (stride_effective), so every stride on the wire and in the
             * regions stays W-53 compliant; a power of two is used unchanged. */
            for (eff = 64; eff < pl->stride_bytes; eff <<= 1) {}
            if (eff > UINT32_MAX) {
                err(x, "%s = %u%s: not a power of two and the next one (%llu) exceeds uint32 "
                    "(WIRE W-53)", k, (unsigned)pl->stride_bytes, where(x, k, w, sizeof w),
                    (unsigned long long)eff);
                continue;
            }
            pl->stride_effective = (uint32_t)eff;
            if (eff != pl->stride_bytes)
                warn(x, "%s = %u%s: not a power of two (WIRE W-53); the driver provisions and "
                     "announces stride %llu instead", k, (unsigned)pl->stride_bytes,
                     where(x, k, w, sizeof w), (unsigned long long)eff);
        }
    }
}

static void validate_streams(ctx_t *x, tp_driver_config_t *c)
{
    char w[128], w2[128], k[400], k2[400];

    if (c->stream_count == 0 && !c->allow_dynamic_streams)
        err(x, "streams: none configured and policies.allow_dynamic_streams = false: no stream "
            "could ever be attached (DRIVER D-85, D-86)");
    for (uint32_t i = 0; i < c->stream_count; i++) {
        tp_cfg_stream_t *st = &c->streams[i];
        const tp_cfg_profile_t *p;
        for (uint32_t j = 0; j < i; j++) {
            if (!strcmp(c->streams[j].name, st->name))
                err(x, "streams.%s: defined twice (DRIVER D-85)", st->name);
            if (c->streams[j].stream_id == st->stream_id) {
                snprintf(k, sizeof k, "streams.%s.stream_id", st->name);
                snprintf(k2, sizeof k2, "streams.%s.stream_id", c->streams[j].name);
                err(x, "%s = %u%s: duplicate stream id, also %s%s (DRIVER D-85)", k,
                    (unsigned)st->stream_id, where(x, k, w, sizeof w), k2,
                    where(x, k2, w2, sizeof w2));
            }
        }
        if (st->profile_index == UINT32_MAX - 1) continue; /* profile key already reported */
        p = tp_driver_config_profile(c, st->profile);
        snprintf(k, sizeof k, "streams.%s.profile", st->name);
        if (p == NULL) {
            st->profile_index = UINT32_MAX;
            err(x, "%s = \"%s\"%s: no such profile under [profiles] (DRIVER D-85)", k,
                st->profile, where(x, k, w, sizeof w));
        } else {
            st->profile_index = (uint32_t)(p - c->profiles);
        }
    }
}

static void check_string(ctx_t *x, const char *key, const char *value, bool nonempty)
{
    char w[128];
    if (nonempty && value[0] == '\0')
        err(x, "%s = \"\"%s: must not be empty (DRIVER D-85)", key, where(x, key, w, sizeof w));
}

static void validate_shm(ctx_t *x, tp_driver_config_t *c, char *const *envp)
{
    char w[128], k[64], ab[128], an[128], ad[128];
    const char *b = abbrev(c->base_dir, ab, sizeof ab);
    const char *ns = abbrev(c->namespace_, an, sizeof an);
    size_t blen, nslen, uri, leaf = strlen("header.ring");
    bool base_ok = true, ns_ok = true;

    /* base_dir: absolute, and announceable inside a region URI (W-168, W-169) */
    blen = strlen(c->base_dir);
    if (c->base_dir[0] != '/') {
        err(x, "shm.base_dir = \"%s\"%s: must be an absolute path (DRIVER D-86, WIRE W-169)",
            b, where(x, "shm.base_dir", w, sizeof w));
        base_ok = false;
    } else {
        for (size_t i = 0; i < blen; i++) {
            unsigned char ch = (unsigned char)c->base_dir[i];
            if (ch < 0x21 || ch > 0x7E || ch == '?' || ch == '|') {
                err(x, "shm.base_dir = \"%s\"%s: byte %zu (0x%02x) cannot appear in a region "
                    "URI path (bytes 0x21-0x7E except '?' and '|'; WIRE W-168)", b,
                    where(x, "shm.base_dir", w, sizeof w), i, ch);
                base_ok = false;
                break;
            }
        }
    }
    nslen = strlen(c->namespace_);
    if (nslen == 0 || !strcmp(c->namespace_, ".") || !strcmp(c->namespace_, "..")) {
        err(x, "shm.namespace = \"%s\"%s: must be one path component, not empty, '.' or '..' "
            "(WIRE W-173)", ns, where(x, "shm.namespace", w, sizeof w));
        ns_ok = false;
    } else {
        for (size_t i = 0; i < nslen; i++)
            if (!safe_name_byte((unsigned char)c->namespace_[i])) {
                err(x, "shm.namespace = \"%s\"%s: byte %zu outside [A-Za-z0-9._-] (WIRE W-173)",
                    ns, where(x, "shm.namespace", w, sizeof w), i);
                ns_ok = false;
                break;
            }
    }
    /* D-94 DECISION: the longest region URI this driver can ever emit fits 4096 bytes:
     * shm:file?path=<base>/tensorpool-<user>/<ns>/<10-digit stream>/<20-digit epoch>/<file>
     * |require_hugepages=true, where <file> is the longest of header.ring and <pool_id>.pool. */
    if (base_ok && ns_ok) {
        while (blen > 1 && c->base_dir[blen - 1] == '/') blen--;
        if (blen == 1) blen = 0; /* "/" + "/tensorpool-..." */
        for (uint32_t i = 0; i < c->profile_count; i++)
            for (uint32_t j = 0; j < c->profiles[i].pool_count && j < TP_CFG_MAX_POOLS; j++) {
                char leafbuf[16];
                size_t l = (size_t)snprintf(leafbuf, sizeof leafbuf, "%u.pool",
                                            (unsigned)c->profiles[i].pools[j].pool_id);
                if (l > leaf) leaf = l;
            }
        uri = strlen("shm:file?path=") + blen + 1 + strlen("tensorpool-") + user_name_len(envp) +
              1 + nslen + 1 + 10 + 1 + 20 + 1 + leaf + strlen("|require_hugepages=true");
        if (uri > 4096) {
            char w2[128];
            err(x, "shm.base_dir = \"%s\"%s with shm.namespace = \"%s\"%s: the longest region "
                "URI the driver can build is %zu bytes, limit 4096 (DRIVER D-94 DECISION)",
                b, where(x, "shm.base_dir", w, sizeof w), ns,
                where(x, "shm.namespace", w2, sizeof w2), uri);
        }
    }
    if (user_name_len(envp) > 255)
        err(x, "USER (environment) is %zu bytes: the SHM user directory name allows 255 "
            "(WIRE W-174)", user_name_len(envp));
    if (c->permissions_mode > 0777)
        err(x, "shm.permissions_mode = %o%s: must be an octal mode 0..0777 (DRIVER D-85)",
            (unsigned)c->permissions_mode, where(x, "shm.permissions_mode", w, sizeof w));
    if (c->page_size_bytes < 4096 || !is_pow2_u64(c->page_size_bytes))
        err(x, "shm.page_size_bytes = %u%s: must be a power of two >= 4096 (DRIVER D-85)",
            (unsigned)c->page_size_bytes, where(x, "shm.page_size_bytes", w, sizeof w));
    if (c->allowed_base_dir_count > TP_CFG_MAX_ALLOWED_DIRS) {
        err(x, "shm.allowed_base_dirs: %u entries, limit %u", (unsigned)c->allowed_base_dir_count,
            TP_CFG_MAX_ALLOWED_DIRS);
        return;
    }
    for (uint32_t i = 0; i < c->allowed_base_dir_count; i++) {
        snprintf(k, sizeof k, "shm.allowed_base_dirs[%u]", (unsigned)i);
        if (c->allowed_base_dirs[i][0] != '/')
            err(x, "%s = \"%s\"%s: must be an absolute path (DRIVER D-86)", k,
                abbrev(c->allowed_base_dirs[i], ad, sizeof ad), where(x, k, w, sizeof w));
    }
    if (base_ok) {
        bool inside = false;
        for (uint32_t i = 0; i < c->allowed_base_dir_count; i++) {
            const char *a = c->allowed_base_dirs[i];
            size_t al = strlen(a);
            while (al > 1 && a[al - 1] == '/') al--;
            if (!strncmp(c->base_dir, a, al) &&
                (c->base_dir[al] == '\0' || c->base_dir[al] == '/' || al == 1))
                inside = true;
        }
        if (!inside)
            warn(x, "shm.base_dir = \"%s\" is not under any shm.allowed_base_dirs entry: epoch "
                 "GC will not touch its directories (DRIVER D-93, WIRE W-178)", b);
    }
}

static void validate_policies(ctx_t *x, tp_driver_config_t *c)
{
    char w[128];

    if (c->default_profile[0] == '\0') {
        if (c->profile_count > 0) /* D-87: first profile in file order */
            copy_str(c->default_profile, sizeof c->default_profile, c->profiles[0].name);
    } else if (tp_driver_config_profile(c, c->default_profile) == NULL) {
        err(x, "policies.default_profile = \"%s\"%s: no such profile under [profiles] "
            "(DRIVER D-85, D-87)", c->default_profile,
            where(x, "policies.default_profile", w, sizeof w));
    }
    if (c->allow_dynamic_streams && !c->stream_id_range.set)
        warn(x, "policies.allow_dynamic_streams = true but driver.stream_id_range is unset: "
             "dynamic stream creation will be rejected with INVALID_PARAMS (DRIVER D-70)");
    if (c->announce_period_ms == 0)
        err(x, "policies.announce_period_ms = 0%s: must be > 0 (DRIVER D-85)",
            where(x, "policies.announce_period_ms", w, sizeof w));
    if (c->lease_keepalive_interval_ms == 0)
        err(x, "policies.lease_keepalive_interval_ms = 0%s: must be > 0 (DRIVER D-85)",
            where(x, "policies.lease_keepalive_interval_ms", w, sizeof w));
    if (c->epoch_gc_enabled && c->epoch_gc_keep == 0)
        err(x, "policies.epoch_gc_keep = 0%s: must be >= 1 when epoch GC is enabled; the current "
            "epoch is always kept (DRIVER D-92)", where(x, "policies.epoch_gc_keep", w, sizeof w));
    /* D-85 REF: 0/absent -> announce_period_ms x 3 000 000 ns */
    if (c->epoch_gc_min_age_ns == 0)
        c->epoch_gc_min_age_ns = (uint64_t)c->announce_period_ms * 3000000u;
}

/* driver.transport (issue 7): a known name, Aeron built in, and no aeron:udp channel on the
 * embedded transport. */
static void validate_transport(ctx_t *x, const tp_driver_config_t *c)
{
    static const char *const keys[] = {"driver.control_channel", "driver.announce_channel",
                                       "driver.qos_channel"};
    const char *channels[] = {c->control_channel, c->announce_channel, c->qos_channel};
    tp_transport_kind_t kind;
    char w[128];
    if (tp_transport_kind_parse(c->transport, &kind) != 0) {
        tp_err_clear();
        err(x, "driver.transport = \"%s\"%s: must be \"embedded\" or \"aeron\"", c->transport,
            where(x, "driver.transport", w, sizeof w));
        return;
    }
    if (kind == TP_TRANSPORT_AERON && !tp_transport_aeron_available()) {
        err(x, "driver.transport = \"aeron\"%s: tensorpool was built without Aeron "
            "(TP_WITH_AERON, docs/aeron.md)", where(x, "driver.transport", w, sizeof w));
        return;
    }
    if (kind == TP_TRANSPORT_EMBEDDED) {
        if (c->launch_media_driver)
            warn(x, "driver.launch_media_driver = true%s: ignored with driver.transport = "
                 "\"embedded\"", where(x, "driver.launch_media_driver", w, sizeof w));
        for (size_t i = 0; i < 3; i++)
            if (strncmp(channels[i], "aeron:udp", 9) == 0)
                err(x, "%s = \"%s\"%s: aeron:udp needs driver.transport = \"aeron\"", keys[i],
                    channels[i], where(x, keys[i], w, sizeof w));
    }
}

static int validate_impl(tp_driver_config_t *c, ctx_t *x)
{
    validate_transport(x, c);
    check_string(x, "driver.control_channel", c->control_channel, true);
    check_string(x, "driver.announce_channel", c->announce_channel, true);
    check_string(x, "driver.qos_channel", c->qos_channel, true);
    validate_profiles(x, c);
    validate_streams(x, c);
    validate_policies(x, c);
    validate_ranges(x, c);
    validate_shm(x, c, x->envp);
    return x->rep->error_count == 0 ? 0 : -1;
}

/* ---- public API ------------------------------------------------------------------------ */

void tp_driver_config_init(tp_driver_config_t *c)
{
    memset(c, 0, sizeof *c);
    copy_str(c->instance_id, sizeof c->instance_id, "driver-01");
    copy_str(c->transport, sizeof c->transport, "embedded");
    copy_str(c->control_channel, sizeof c->control_channel, "aeron:ipc?term-length=4m");
    c->control_stream_id = 1000;
    copy_str(c->announce_channel, sizeof c->announce_channel, c->control_channel);
    c->announce_stream_id = c->control_stream_id;
    copy_str(c->qos_channel, sizeof c->qos_channel, "aeron:ipc?term-length=4m");
    c->qos_stream_id = 1200;
    copy_str(c->base_dir, sizeof c->base_dir, "/dev/shm");
    copy_str(c->namespace_, sizeof c->namespace_, "default");
    c->page_size_bytes = 4096;
    c->permissions_mode = 0660;
    copy_str(c->allowed_base_dirs[0], sizeof c->allowed_base_dirs[0], c->base_dir);
    c->allowed_base_dir_count = 1;
    c->announce_period_ms = 1000;
    c->lease_keepalive_interval_ms = 1000;
    c->lease_expiry_grace_intervals = 3;
    c->prefault_shm = true;
    c->epoch_gc_enabled = true;
    c->epoch_gc_keep = 2;
    c->shutdown_timeout_ms = 2000;
}

static void finish(ctx_t *x)
{
    tp_cfg_report_t *r = x->rep;
    if (r->error_count == 0) return;
    if (r->error_count > 1)
        tp_err_set(TP_ECONFIG, "%s (and %u more)", r->errors[0], (unsigned)r->error_count - 1);
    else
        tp_err_set(TP_ECONFIG, "%s", r->errors[0]);
}

int tp_driver_config_validate(tp_driver_config_t *c, tp_cfg_report_t *report)
{
    tp_cfg_report_t *own = NULL;
    ctx_t x;
    int rc;

    if (c == NULL) return tp_err_set(TP_EINVAL, "driver config validate: NULL config");
    memset(&x, 0, sizeof x);
    x.envp = environ;
    if (report == NULL && (own = calloc(1, sizeof *own)) == NULL)
        return tp_err_set(TP_ENOMEM, "driver config validate: out of memory");
    x.rep = report != NULL ? report : own;
    memset(x.rep, 0, sizeof *x.rep);
    rc = validate_impl(c, &x);
    finish(&x);
    free(own);
    return rc;
}

int tp_driver_config_load(tp_driver_config_t *c, const char *path, char *const *envp,
                          tp_cfg_report_t *report)
{
    tp_cfg_report_t *own = NULL;
    tp_toml_doc_t *doc = NULL;
    ctx_t x;
    int rc = -1;
    size_t ai;

    if (c == NULL || path == NULL)
        return tp_err_set(TP_EINVAL, "driver config load: NULL argument");
    tp_driver_config_init(c);
    memset(&x, 0, sizeof x);
    x.envp = envp != NULL ? envp : environ;
    if (report == NULL && (own = calloc(1, sizeof *own)) == NULL)
        return tp_err_set(TP_ENOMEM, "driver config load: out of memory");
    x.rep = report != NULL ? report : own;
    memset(x.rep, 0, sizeof *x.rep);

    if (tp_toml_parse_file(path, &doc) != 0) {
        err(&x, "%s", tp_errmsg());
        goto out;
    }
    read_document(&x, c, tp_toml_root(doc));
    tp_toml_free(doc);
    doc = NULL;
    apply_env(&x, c);

    /* Derived defaults, after the environment: announce = control (D-85) unless given. */
    ai = key_index("driver.announce_channel");
    if (!x.key_set[ai])
        copy_str(c->announce_channel, sizeof c->announce_channel, c->control_channel);
    ai = key_index("driver.announce_stream_id");
    if (!x.key_set[ai]) c->announce_stream_id = c->control_stream_id;
    /* shm.allowed_base_dirs defaults to [shm.base_dir] (the effective one). */
    if (!x.key_set[key_index("shm.allowed_base_dirs")]) {
        c->allowed_base_dir_count = 1;
        if (make_absolute(c->base_dir, c->allowed_base_dirs[0], TP_CFG_PATH_MAX) != 0)
            copy_str(c->allowed_base_dirs[0], TP_CFG_PATH_MAX, c->base_dir);
    }
    rc = validate_impl(c, &x);
out:
    if (rc != 0 && x.rep->error_count == 0) err(&x, "%s", tp_errmsg());
    rc = x.rep->error_count == 0 ? 0 : -1;
    finish(&x);
    free(x.orig);
    free(own);
    return rc;
}

void tp_driver_config_dump(const tp_driver_config_t *c, FILE *out)
{
    char t[32];
    for (size_t ki = 0; ki < KEY_COUNT; ki++) {
        const cfg_key_t *k = &KEYS[ki];
        const char *field = (const char *)c + k->off;
        switch (k->type) {
        case K_STR: fprintf(out, "%s=%s\n", k->key, field); break;
        case K_U32:
            fprintf(out, "%s=%u\n", k->key, (unsigned)*(const uint32_t *)(const void *)field);
            break;
        case K_U64:
            fprintf(out, "%s=%llu\n", k->key,
                    (unsigned long long)*(const uint64_t *)(const void *)field);
            break;
        case K_BOOL:
            fprintf(out, "%s=%s\n", k->key, *(const bool *)field ? "true" : "false");
            break;
        case K_MODE:
            fprintf(out, "%s=%o\n", k->key, (unsigned)*(const uint32_t *)(const void *)field);
            break;
        case K_RANGE:
            range_text((const tp_cfg_range_t *)(const void *)field, t, sizeof t);
            fprintf(out, "%s=%s\n", k->key, t);
            break;
        case K_DIRS:
            for (uint32_t i = 0; i < c->allowed_base_dir_count && i < TP_CFG_MAX_ALLOWED_DIRS; i++)
                fprintf(out, "%s[%u]=%s\n", k->key, (unsigned)i, c->allowed_base_dirs[i]);
            break;
        }
    }
    for (uint32_t i = 0; i < c->profile_count && i < TP_CFG_MAX_PROFILES; i++) {
        const tp_cfg_profile_t *p = &c->profiles[i];
        fprintf(out, "profiles.%s.header_nslots=%u\n", p->name, (unsigned)p->header_nslots);
        fprintf(out, "profiles.%s.header_slot_bytes=%u\n", p->name, (unsigned)p->header_slot_bytes);
        fprintf(out, "profiles.%s.max_dims=%u\n", p->name, (unsigned)p->max_dims);
        for (uint32_t j = 0; j < p->pool_count && j < TP_CFG_MAX_POOLS; j++) {
            fprintf(out, "profiles.%s.payload_pools[%u].pool_id=%u\n", p->name, (unsigned)j,
                    (unsigned)p->pools[j].pool_id);
            fprintf(out, "profiles.%s.payload_pools[%u].stride_bytes=%u\n", p->name, (unsigned)j,
                    (unsigned)p->pools[j].stride_bytes);
            fprintf(out, "profiles.%s.payload_pools[%u].stride_effective=%u\n", p->name,
                    (unsigned)j, (unsigned)p->pools[j].stride_effective);
        }
    }
    for (uint32_t i = 0; i < c->stream_count && i < TP_CFG_MAX_STREAMS; i++) {
        const tp_cfg_stream_t *s = &c->streams[i];
        fprintf(out, "streams.%s.stream_id=%u\n", s->name, (unsigned)s->stream_id);
        fprintf(out, "streams.%s.profile=%s\n", s->name, s->profile);
    }
}

const tp_cfg_profile_t *tp_driver_config_profile(const tp_driver_config_t *c, const char *name)
{
    if (c == NULL || name == NULL) return NULL;
    for (uint32_t i = 0; i < c->profile_count && i < TP_CFG_MAX_PROFILES; i++)
        if (!strcmp(c->profiles[i].name, name)) return &c->profiles[i];
    return NULL;
}

const tp_cfg_stream_t *tp_driver_config_stream(const tp_driver_config_t *c, uint32_t stream_id)
{
    if (c == NULL) return NULL;
    for (uint32_t i = 0; i < c->stream_count && i < TP_CFG_MAX_STREAMS; i++)
        if (c->streams[i].stream_id == stream_id) return &c->streams[i];
    return NULL;
}

/*
 * Region URIs: `shm:file?path=<abs>[|require_hugepages=true|false]` (WIRE W-168 .. W-170).
 *
 * The URI arrives in a control message from another process, so the parser is strict and
 * fails closed: the literal prefix, then `|`-separated key=value parameters in any order
 * (as the reference accepts), each key at most once (stricter than the reference, which
 * lets a later `path` win and makes `require_hugepages` sticky: with duplicates refused, both
 * readings agree on every URI we accept). Every rejection names the reason.
 */
#include "shm/region.h"
#include "shm/region_internal.h"

#include <stdio.h>
#include <string.h>

#include "util/error.h"

#define URI_PREFIX "shm:file?"
#define URI_PREFIX_LEN (sizeof URI_PREFIX - 1)
#define KEY_PATH "path"
#define KEY_HUGEPAGES "require_hugepages"
#define HUGEPAGES_SUFFIX "|" KEY_HUGEPAGES "=true"

/* Hostile input ends up in error messages: show at most 48 bytes, non-printables as \xNN. */
static const char *quote(char *buf, size_t cap, const char *s, size_t len)
{
    size_t o = 0, i;
    for (i = 0; i < len && o + 5 < cap && i < 48; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c <= 0x7E && c != '\\')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
    }
    if (i < len && o + 4 <= cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

int tp_region_path_check(const char *path, size_t len)
{
    size_t i;
    if (len == 0)
        return tp_err_set(TP_EURI, "path is empty");
    if (path[0] != '/')
        return tp_err_set(TP_EURI, "path must be absolute (start with '/')");
    if (len >= TP_REGION_PATH_MAX)
        return tp_err_set(TP_EURI, "path is %zu bytes, limit %u", len, TP_REGION_PATH_MAX - 1);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x21 || c > 0x7E)
            return tp_err_set(TP_EURI, "path byte %zu is 0x%02x, outside 0x21-0x7E", i, c);
        if (c == '?' || c == '|')
            return tp_err_set(TP_EURI, "path byte %zu is '%c', reserved in region URIs", i, c);
    }
    return 0;
}

static int key_is(const char *key, size_t klen, const char *want)
{
    return klen == strlen(want) && memcmp(key, want, klen) == 0;
}

static int parse_bool(const char *v, size_t vlen, bool *out)
{
    char q[256];
    if (key_is(v, vlen, "true")) {
        *out = true;
        return 0;
    }
    if (key_is(v, vlen, "false")) {
        *out = false;
        return 0;
    }
    return tp_err_set(TP_EURI, KEY_HUGEPAGES " must be true or false, got '%s'",
                      quote(q, sizeof q, v, vlen));
}

/* One `key=value` parameter; *seen tracks duplicates (bit 0 path, bit 1 hugepages). */
static int parse_param(const char *p, size_t n, unsigned *seen, tp_region_uri_t *out)
{
    char q[256];
    const char *eq = memchr(p, '=', n);
    size_t klen, vlen;
    const char *v;

    if (n == 0)
        return tp_err_set(TP_EURI, "empty parameter");
    if (eq == NULL)
        return tp_err_set(TP_EURI, "parameter '%s' is not key=value", quote(q, sizeof q, p, n));
    klen = (size_t)(eq - p);
    v = eq + 1;
    vlen = n - klen - 1;
    if (key_is(p, klen, KEY_PATH)) {
        if (*seen & 1u)
            return tp_err_set(TP_EURI, "duplicate parameter 'path'");
        *seen |= 1u;
        if (tp_region_path_check(v, vlen) != 0)
            return -1;
        memcpy(out->path, v, vlen);
        out->path[vlen] = '\0';
        return 0;
    }
    if (key_is(p, klen, KEY_HUGEPAGES)) {
        if (*seen & 2u)
            return tp_err_set(TP_EURI, "duplicate parameter '" KEY_HUGEPAGES "'");
        *seen |= 2u;
        return parse_bool(v, vlen, &out->require_hugepages);
    }
    return tp_err_set(TP_EURI, "unknown parameter '%s' (only path and " KEY_HUGEPAGES ")",
                      quote(q, sizeof q, p, klen));
}

static int parse_params(const char *p, const char *end, tp_region_uri_t *out)
{
    unsigned seen = 0;
    for (;;) {
        const char *bar = memchr(p, '|', (size_t)(end - p));
        const char *stop = bar ? bar : end;
        if (parse_param(p, (size_t)(stop - p), &seen, out) != 0)
            return -1;
        if (bar == NULL)
            break;
        p = bar + 1;
    }
    if (!(seen & 1u))
        return tp_err_set(TP_EURI, "missing required parameter 'path'");
    return 0;
}

int tp_region_uri_parse(const char *uri, size_t len, tp_region_uri_t *out)
{
    char q[256];
    tp_region_uri_t tmp;

    if (uri == NULL || out == NULL)
        return tp_err_set(TP_EURI, "region URI: NULL argument");
    /* D-94: nothing longer than 4096 bytes is a valid region URI; checking first also keeps
     * every later length computation small. */
    if (len > TP_REGION_PATH_MAX)
        return tp_err_set(TP_EURI, "region URI: %zu bytes, limit %u", len, TP_REGION_PATH_MAX);
    if (len < URI_PREFIX_LEN || memcmp(uri, URI_PREFIX, URI_PREFIX_LEN) != 0)
        return tp_err_set(TP_EURI, "region URI '%s': scheme must be '" URI_PREFIX "'",
                          quote(q, sizeof q, uri, len));
    memset(&tmp, 0, sizeof tmp);
    if (parse_params(uri + URI_PREFIX_LEN, uri + len, &tmp) != 0)
        return tp_err_push("region URI '%s'", quote(q, sizeof q, uri, len));
    *out = tmp;
    return 0;
}

int tp_region_uri_format(char *out, size_t cap, const char *path, bool require_hugepages)
{
    size_t plen, need;

    if (out == NULL || path == NULL)
        return tp_err_set(TP_EURI, "region URI format: NULL argument");
    plen = strnlen(path, TP_REGION_PATH_MAX);
    if (tp_region_path_check(path, plen) != 0)
        return tp_err_push("region URI format");
    need = URI_PREFIX_LEN + strlen(KEY_PATH "=") + plen +
           (require_hugepages ? strlen(HUGEPAGES_SUFFIX) : 0);
    /* Never emit what tp_region_uri_parse (or the reference client, D-94) would refuse. */
    if (need > TP_REGION_PATH_MAX)
        return tp_err_set(TP_EURI, "region URI format: %zu bytes, limit %u", need,
                          TP_REGION_PATH_MAX);
    if (need + 1 > cap)
        return tp_err_set(TP_ETOOBIG, "region URI format: needs %zu bytes, buffer has %zu",
                          need + 1, cap);
    snprintf(out, cap, URI_PREFIX KEY_PATH "=%s%s", path,
             require_hugepages ? HUGEPAGES_SUFFIX : "");
    return (int)need;
}

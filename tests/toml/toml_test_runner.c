/*
 * TOML 1.0.0 conformance: runs src/util/toml*.c over the toml-test suite (issue 4).
 *
 *   toml_test_runner DIR [-v]
 *
 * DIR holds valid/ and invalid/ and, normally, files-toml-1.0.0 (the cases of TOML 1.0.0;
 * without it every .toml under DIR is run). A valid case must parse, and its tree, rendered
 * as toml-test's tagged JSON, must equal the expected .json as a JSON value: objects by key
 * set, arrays in order, integers as integers, floats by numeric value (nan equals nan),
 * date/times after normalising 't'/' '/'z' and trailing zeros of the fraction. An invalid
 * case must be rejected with TP_ECONFIG and a message carrying a line and a column.
 *
 * Prints one line per failure and "N passed, N failed"; exits 0, 1 (failures) or 77 when
 * DIR does not exist (a checkout without ../shared).
 */
#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/error.h"
#include "util/toml.h"

#define JSON_MAX_DEPTH 256

static int verbose;

/* ---- growable buffer -------------------------------------------------------------------- */

typedef struct strbuf {
    char *p;
    size_t len, cap;
} strbuf_t;

static void sb_put(strbuf_t *b, const char *s, size_t n)
{
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_printf(strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf_t *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_put(b, tmp, n < (int)sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    strbuf_t b = { 0 };
    char chunk[8192];
    size_t n;
    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_put(&b, chunk, n);
    fclose(f);
    if (!b.p)
        sb_put(&b, "", 0);
    *len = b.len;
    return b.p;
}

/* ---- the tree as tagged JSON ------------------------------------------------------------ */

static void json_string(strbuf_t *b, const char *s, size_t n)
{
    size_t i;
    sb_put(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            sb_put(b, "\\", 1);
            sb_put(b, &s[i], 1);
        } else if (c < 0x20) {
            sb_printf(b, "\\u%04x", c);
        } else {
            sb_put(b, &s[i], 1);
        }
    }
    sb_put(b, "\"", 1);
}

/* The shortest %g form that reads back as the same double. */
static void shortest_float(double f, char *out, size_t cap)
{
    int prec;
    for (prec = 1; prec < 17; prec++) {
        snprintf(out, cap, "%.*g", prec, f);
        if (strtod(out, NULL) == f)
            return;
    }
    snprintf(out, cap, "%.17g", f);
}

static void scalar_text(const tp_toml_node_t *n, char *out, size_t cap)
{
    int64_t i;
    double f;
    int v;
    const tp_toml_datetime_t *dt;
    switch (tp_toml_kind(n)) {
    case TP_TOML_INTEGER:
        tp_toml_int(n, &i);
        snprintf(out, cap, "%lld", (long long)i);
        break;
    case TP_TOML_FLOAT:
        tp_toml_float(n, &f);
        if (isnan(f))
            snprintf(out, cap, "nan");
        else if (isinf(f))
            snprintf(out, cap, "%sinf", f < 0 ? "-" : "");
        else
            shortest_float(f, out, cap);
        break;
    case TP_TOML_BOOL:
        tp_toml_bool(n, &v);
        snprintf(out, cap, "%s", v ? "true" : "false");
        break;
    default:
        tp_toml_datetime(n, &dt);
        tp_toml_datetime_format(dt, tp_toml_kind(n), out, cap);
    }
}

static void render(strbuf_t *b, const tp_toml_node_t *n)
{
    size_t i, count = tp_toml_count(n), klen, slen;
    tp_toml_kind_t kind = tp_toml_kind(n);
    char text[64];
    const char *s;

    if (kind == TP_TOML_TABLE || kind == TP_TOML_ARRAY) {
        sb_put(b, kind == TP_TOML_TABLE ? "{" : "[", 1);
        for (i = 0; i < count; i++) {
            const tp_toml_node_t *c = tp_toml_at(n, i);
            if (i)
                sb_put(b, ",", 1);
            if (kind == TP_TOML_TABLE) {
                s = tp_toml_key(c, &klen);
                json_string(b, s, klen);
                sb_put(b, ":", 1);
            }
            render(b, c);
        }
        sb_put(b, kind == TP_TOML_TABLE ? "}" : "]", 1);
        return;
    }
    sb_printf(b, "{\"type\":\"%s\",\"value\":", tp_toml_kind_name(kind));
    if (kind == TP_TOML_STRING) {
        tp_toml_string(n, &s, &slen);
        json_string(b, s, slen);
    } else {
        scalar_text(n, text, sizeof text);
        json_string(b, text, strlen(text));
    }
    sb_put(b, "}", 1);
}

/* ---- a small JSON reader ---------------------------------------------------------------- */

typedef enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } jkind_t;

typedef struct jval {
    jkind_t kind;
    strbuf_t text;          /* string contents, number or literal text */
    struct jval **items;    /* array elements or object values */
    strbuf_t *keys;         /* object keys */
    size_t n;
} jval_t;

typedef struct jparser {
    const char *s;
    size_t len, pos;
    const char *err;
} jparser_t;

static void jfree(jval_t *v)
{
    size_t i;
    if (!v)
        return;
    for (i = 0; i < v->n; i++) {
        jfree(v->items[i]);
        if (v->keys)
            free(v->keys[i].p);
    }
    free(v->items);
    free(v->keys);
    free(v->text.p);
    free(v);
}

static void jskip(jparser_t *p)
{
    while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]))
        p->pos++;
}

static int jpeek(jparser_t *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static void put_utf8(strbuf_t *b, unsigned long cp)
{
    char u[4];
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4, i;
    static const unsigned char lead[5] = { 0, 0x00, 0xC0, 0xE0, 0xF0 };
    /* Continuation bytes carry 6 bits each, from the end backwards. */
    for (i = n - 1; i > 0; i--, cp >>= 6)
        u[i] = (char)(0x80 | (cp & 0x3F));
    u[0] = (char)(lead[n] | cp);
    sb_put(b, u, n);
}

static int jhex4(jparser_t *p, unsigned long *cp)
{
    unsigned long v = 0;
    int i;
    if (p->len - p->pos < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        int c = p->s[p->pos++];
        v = v * 16 + (unsigned long)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
        if (!isxdigit(c))
            return -1;
    }
    *cp = v;
    return 0;
}

static int jescape(jparser_t *p, strbuf_t *b)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    int c = jpeek(p);
    const char *hit;
    unsigned long cp, lo;
    p->pos++;
    if (c == 'u') {
        if (jhex4(p, &cp) != 0)
            return -1;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
                return -1;
            p->pos += 2;
            if (jhex4(p, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        put_utf8(b, cp);
        return 0;
    }
    if (c <= 0 || !(hit = strchr(from, c)))
        return -1;
    sb_put(b, &to[hit - from], 1);
    return 0;
}

static int jstring(jparser_t *p, strbuf_t *b)
{
    p->pos++;
    sb_put(b, "", 0);
    for (;;) {
        int c = jpeek(p);
        if (c < 0)
            return -1;
        p->pos++;
        if (c == '"')
            return 0;
        if (c == '\\') {
            if (jescape(p, b) != 0)
                return -1;
        } else {
            char ch = (char)c;
            sb_put(b, &ch, 1);
        }
    }
}

static jval_t *jvalue(jparser_t *p, int depth);

static int jappend(jval_t *v, jval_t *item)
{
    jval_t **items = realloc(v->items, (v->n + 1) * sizeof *items);
    if (!items)
        return -1;
    v->items = items;
    v->items[v->n++] = item;
    return 0;
}

static int jcontainer(jparser_t *p, jval_t *v, int depth)
{
    int close = v->kind == J_ARRAY ? ']' : '}';
    p->pos++;
    jskip(p);
    if (jpeek(p) == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        jval_t *item;
        strbuf_t key = { 0 };
        jskip(p);
        if (v->kind == J_OBJECT) {
            if (jpeek(p) != '"' || jstring(p, &key) != 0)
                return free(key.p), -1;
            jskip(p);
            if (jpeek(p) != ':')
                return free(key.p), -1;
            p->pos++;
            v->keys = realloc(v->keys, (v->n + 1) * sizeof *v->keys);
            v->keys[v->n] = key;
        }
        if (!(item = jvalue(p, depth + 1)) || jappend(v, item) != 0)
            return jfree(item), -1;
        jskip(p);
        if (jpeek(p) == close) {
            p->pos++;
            return 0;
        }
        if (jpeek(p) != ',')
            return -1;
        p->pos++;
    }
}

static jval_t *jvalue(jparser_t *p, int depth)
{
    jval_t *v = calloc(1, sizeof *v);
    int c, rc = 0;
    jskip(p);
    c = jpeek(p);
    if (!v || depth > JSON_MAX_DEPTH)
        return free(v), NULL;
    if (c == '{' || c == '[') {
        v->kind = c == '{' ? J_OBJECT : J_ARRAY;
        rc = jcontainer(p, v, depth);
    } else if (c == '"') {
        v->kind = J_STRING;
        rc = jstring(p, &v->text);
    } else {
        size_t start = p->pos;
        while (p->pos < p->len && strchr("+-.0123456789eEtruefalsn", p->s[p->pos]))
            p->pos++;
        v->kind = c == 't' || c == 'f' ? J_BOOL : c == 'n' ? J_NULL : J_NUMBER;
        sb_put(&v->text, p->s + start, p->pos - start);
        rc = p->pos > start ? 0 : -1;
    }
    if (rc != 0) {
        jfree(v);
        return NULL;
    }
    return v;
}

static jval_t *json_parse(const char *s, size_t len)
{
    jparser_t p = { s, len, 0, NULL };
    jval_t *v = jvalue(&p, 0);
    jskip(&p);
    if (v && p.pos != len) {
        jfree(v);
        return NULL;
    }
    return v;
}

/* ---- semantic comparison ---------------------------------------------------------------- */

static const jval_t *jget(const jval_t *obj, const char *key)
{
    size_t i;
    for (i = 0; i < obj->n; i++)
        if (strlen(key) == obj->keys[i].len && memcmp(obj->keys[i].p, key, obj->keys[i].len) == 0)
            return obj->items[i];
    return NULL;
}

/* {"type": "...", "value": "..."} with two string members: a scalar of toml-test. */
static int is_tagged(const jval_t *v)
{
    const jval_t *t, *val;
    if (v->kind != J_OBJECT || v->n != 2)
        return 0;
    t = jget(v, "type");
    val = jget(v, "value");
    return t && val && t->kind == J_STRING && val->kind == J_STRING;
}

static double float_of(const char *s)
{
    const char *u = (*s == '+' || *s == '-') ? s + 1 : s;
    if (strcmp(u, "nan") == 0)
        return NAN;
    if (strcmp(u, "inf") == 0)
        return *s == '-' ? -HUGE_VAL : HUGE_VAL;
    return strtod(s, NULL);
}

/* 1987-07-05 17:45:00.500z -> 1987-07-05T17:45:00.5Z */
static void normalise_datetime(const char *in, char *out, size_t cap)
{
    size_t n = 0, i, frac_end;
    for (i = 0; in[i] && n + 1 < cap; i++) {
        char c = in[i];
        if (c == 't' || (c == ' ' && i == 10))
            c = 'T';
        if (c == 'z')
            c = 'Z';
        out[n++] = c;
    }
    out[n] = '\0';
    /* Trailing zeros of a fraction carry no value. */
    for (i = 0; i < n; i++) {
        if (out[i] != '.')
            continue;
        frac_end = i + 1;
        while (isdigit((unsigned char)out[frac_end]))
            frac_end++;
        while (frac_end > i + 1 && out[frac_end - 1] == '0') {
            memmove(out + frac_end - 1, out + frac_end, n - frac_end + 1);
            frac_end--;
            n--;
        }
        if (frac_end == i + 1) {
            memmove(out + i, out + i + 1, n - i);
            n--;
        }
        break;
    }
}

static int scalar_equal(const char *type, const char *got, const char *want)
{
    if (strcmp(type, "float") == 0) {
        double a = float_of(got), b = float_of(want);
        return (isnan(a) && isnan(b)) || a == b;
    }
    if (strcmp(type, "integer") == 0)
        return strtoll(got, NULL, 10) == strtoll(want, NULL, 10) && errno != ERANGE;
    if (strncmp(type, "date", 4) == 0 || strcmp(type, "time-local") == 0) {
        char a[128], b[128];
        normalise_datetime(got, a, sizeof a);
        normalise_datetime(want, b, sizeof b);
        return strcmp(a, b) == 0;
    }
    return 1; /* string, bool: compared byte for byte by the caller */
}

static int jequal(const jval_t *got, const jval_t *want, strbuf_t *where);

static int tagged_equal(const jval_t *got, const jval_t *want, strbuf_t *where)
{
    const jval_t *gt = jget(got, "type"), *wt = jget(want, "type");
    const jval_t *gv = jget(got, "value"), *wv = jget(want, "value");
    int same;
    if (strcmp(gt->text.p, wt->text.p) != 0) {
        sb_printf(where, ": type %s, expected %s", gt->text.p, wt->text.p);
        return 0;
    }
    same = scalar_equal(wt->text.p, gv->text.p, wv->text.p);
    if (same && (strcmp(wt->text.p, "string") == 0 || strcmp(wt->text.p, "bool") == 0))
        same = gv->text.len == wv->text.len && memcmp(gv->text.p, wv->text.p, gv->text.len) == 0;
    if (!same) {
        sb_put(where, ": value \"", 9);
        sb_put(where, gv->text.p, gv->text.len);
        sb_put(where, "\", expected \"", 13);
        sb_put(where, wv->text.p, wv->text.len);
        sb_put(where, "\"", 1);
    }
    return same;
}

static int object_equal(const jval_t *got, const jval_t *want, strbuf_t *where)
{
    size_t i, mark = where->len;
    if (got->n != want->n) {
        sb_printf(where, ": %zu keys, expected %zu", got->n, want->n);
        return 0;
    }
    for (i = 0; i < want->n; i++) {
        const jval_t *g = NULL;
        size_t j;
        for (j = 0; j < got->n && !g; j++)
            if (got->keys[j].len == want->keys[i].len &&
                memcmp(got->keys[j].p, want->keys[i].p, want->keys[i].len) == 0)
                g = got->items[j];
        sb_put(where, ".", 1);
        sb_put(where, want->keys[i].p, want->keys[i].len);
        if (!g) {
            sb_put(where, ": missing", 9);
            return 0;
        }
        if (!jequal(g, want->items[i], where))
            return 0;
        where->len = mark;
        where->p[mark] = '\0';
    }
    return 1;
}

static int array_equal(const jval_t *got, const jval_t *want, strbuf_t *where)
{
    size_t i, mark = where->len;
    if (got->n != want->n) {
        sb_printf(where, ": %zu elements, expected %zu", got->n, want->n);
        return 0;
    }
    for (i = 0; i < want->n; i++) {
        sb_printf(where, "[%zu]", i);
        if (!jequal(got->items[i], want->items[i], where))
            return 0;
        where->len = mark;
        where->p[mark] = '\0';
    }
    return 1;
}

static int jequal(const jval_t *got, const jval_t *want, strbuf_t *where)
{
    if (is_tagged(want) != is_tagged(got) || got->kind != want->kind) {
        sb_put(where, ": different kind of value", 25);
        return 0;
    }
    if (is_tagged(want))
        return tagged_equal(got, want, where);
    if (want->kind == J_OBJECT)
        return object_equal(got, want, where);
    if (want->kind == J_ARRAY)
        return array_equal(got, want, where);
    return got->text.len == want->text.len && memcmp(got->text.p, want->text.p, got->text.len) == 0;
}

/* ---- cases ------------------------------------------------------------------------------ */

static int passed, failed;

static void fail(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *rel, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL %s: ", rel);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    failed++;
}

static int compare_with_expected(const char *rel, const char *json_path, const strbuf_t *out)
{
    size_t len;
    char *text = read_whole(json_path, &len);
    jval_t *want, *got;
    strbuf_t where = { 0 };
    int ok;
    if (!text) {
        fail(rel, "cannot read %s", json_path);
        return 0;
    }
    want = json_parse(text, len);
    got = json_parse(out->p, out->len);
    free(text);
    if (!want || !got) {
        fail(rel, "%s JSON does not parse", want ? "rendered" : "expected");
        jfree(want);
        jfree(got);
        return 0;
    }
    sb_put(&where, "$", 1);
    ok = jequal(got, want, &where);
    if (!ok)
        fail(rel, "decoded value differs at %s", where.p);
    jfree(want);
    jfree(got);
    free(where.p);
    return ok;
}

static void run_valid(const char *dir, const char *rel)
{
    char path[4096], json[4096];
    tp_toml_doc_t *doc;
    strbuf_t out = { 0 };
    size_t n;

    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (tp_toml_parse_file(path, &doc) != 0) {
        fail(rel, "rejected: %s", tp_errmsg());
        return;
    }
    render(&out, tp_toml_root(doc));
    tp_toml_free(doc);
    if (verbose)
        printf("%s: %s\n", rel, out.p);
    n = strlen(path);
    snprintf(json, sizeof json, "%.*s.json", (int)(n - 5), path);
    if (compare_with_expected(rel, json, &out))
        passed++;
    free(out.p);
}

static void run_invalid(const char *dir, const char *rel)
{
    char path[4096];
    tp_toml_doc_t *doc;

    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (tp_toml_parse_file(path, &doc) == 0) {
        tp_toml_free(doc);
        fail(rel, "accepted an invalid document");
        return;
    }
    if (tp_errcode() != TP_ECONFIG || !strstr(tp_errmsg(), "line ") ||
        !strstr(tp_errmsg(), ", column ")) {
        fail(rel, "rejected without a position: %s (%s)", tp_errmsg(), tp_errname(tp_errcode()));
        return;
    }
    if (verbose)
        printf("%s: %s\n", rel, tp_errmsg());
    passed++;
}

static void run_case(const char *dir, const char *rel)
{
    if (strncmp(rel, "valid/", 6) == 0)
        run_valid(dir, rel);
    else if (strncmp(rel, "invalid/", 8) == 0)
        run_invalid(dir, rel);
}

static int ends_with_toml(const char *s)
{
    size_t n = strlen(s);
    return n > 5 && strcmp(s + n - 5, ".toml") == 0;
}

/* The cases named by files-toml-1.0.0. Returns -1 if there is no such list. */
static int run_list(const char *dir)
{
    char path[4096], line[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/files-toml-1.0.0", dir);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (ends_with_toml(line))
            run_case(dir, line);
    }
    fclose(f);
    return 0;
}

static const char *walk_root;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_F && ends_with_toml(path))
        run_case(walk_root, path + strlen(walk_root) + 1);
    return 0;
}

int main(int argc, char **argv)
{
    struct stat st;
    const char *dir = argc > 1 ? argv[1] : NULL;

    if (argc > 2 && strcmp(argv[2], "-v") == 0)
        verbose = 1;
    if (!dir) {
        fprintf(stderr, "usage: %s TOML_TEST_DIR [-v]\n", argv[0]);
        return 2;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("toml-test suite not found at %s: skipped\n", dir);
        return 77;
    }
    if (run_list(dir) != 0) {
        walk_root = dir;
        nftw(dir, walk_one, 16, FTW_PHYS);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/*
 * The TOML reader (issue 4, "Configuration"): every value kind, the table rules, error
 * positions, hostile input and the lookup/iteration API. Conformance with the whole toml-test
 * suite is tests/toml/toml_test_runner.c.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp_test.h"
#include "util/error.h"
#include "util/toml.h"

static tp_toml_doc_t *parse(const char *s)
{
    tp_toml_doc_t *doc = NULL;
    tp_err_clear();
    if (tp_toml_parse(s, strlen(s), &doc) != 0)
        return NULL;
    return doc;
}

/* Parse s, expect a rejection whose message is exactly want (or contains it if !exact). */
static int rejects(const char *s, size_t len, const char *want)
{
    tp_toml_doc_t *doc = (tp_toml_doc_t *)1;
    tp_err_clear();
    if (tp_toml_parse(s, len, &doc) == 0) {
        tp_toml_free(doc);
        return 0;
    }
    return doc == NULL && tp_errcode() == TP_ECONFIG && strstr(tp_errmsg(), want) != NULL;
}

#define REJECTS(s, want) rejects((s), strlen(s), (want))

static const tp_toml_node_t *at(const tp_toml_doc_t *doc, const char *path)
{
    return tp_toml_path(tp_toml_root(doc), path);
}

/* ---- value kinds ---------------------------------------------------------------------- */

TP_TEST(test_toml_scalars_of_every_kind)
{
    tp_toml_doc_t *doc;
    const char *s;
    size_t len;
    int64_t i;
    double f;
    int b;

    doc = parse("s = \"a\\tb\\u00e9\\U0001F600\"\nlit = 'C:\\path'\nh = 0xDEAD_beef\n"
                "o = 0o755\nb = 0b1010\nd = 1_000\nf = 6.626e-34\npinf = +inf\n"
                "nnan = -nan\nt = true\n");
    TP_ASSERT(doc != NULL);
    TP_CHECK(tp_toml_string(at(doc, "s"), &s, &len) == 0);
    TP_CHECK_EQ_U(len, 1 + 1 + 1 + 2 + 4);
    TP_CHECK_STR(s, "a\tb\xC3\xA9\xF0\x9F\x98\x80");
    TP_CHECK(tp_toml_string(at(doc, "lit"), &s, NULL) == 0);
    TP_CHECK_STR(s, "C:\\path");
    TP_CHECK(tp_toml_int(at(doc, "h"), &i) == 0 && i == 0xDEADBEEF);
    TP_CHECK(tp_toml_int(at(doc, "o"), &i) == 0 && i == 0755);
    TP_CHECK(tp_toml_int(at(doc, "b"), &i) == 0 && i == 10);
    TP_CHECK(tp_toml_int(at(doc, "d"), &i) == 0 && i == 1000);
    TP_CHECK(tp_toml_float(at(doc, "f"), &f) == 0 && f == 6.626e-34);
    TP_CHECK(tp_toml_float(at(doc, "pinf"), &f) == 0 && isinf(f) && f > 0);
    TP_CHECK(tp_toml_float(at(doc, "nnan"), &f) == 0 && isnan(f));
    TP_CHECK(tp_toml_bool(at(doc, "t"), &b) == 0 && b == 1);
    TP_CHECK_STR(tp_toml_kind_name(tp_toml_kind(at(doc, "f"))), "float");
    tp_toml_free(doc);
    TP_CHECK(REJECTS("a = 1\nb = 2\ni = -0x7f\n", "line 3, column 5: invalid number"));
    TP_CHECK(REJECTS("a = 0X7f\n", "invalid number"));
    TP_CHECK(REJECTS("a = True\n", "expected a value"));
}

TP_TEST(test_toml_integer_limits)
{
    tp_toml_doc_t *doc = parse("max = 9223372036854775807\nmin = -9223372036854775808\n"
                               "hmax = 0x7FFFFFFFFFFFFFFF\n");
    int64_t i;
    TP_ASSERT(doc != NULL);
    TP_CHECK(tp_toml_int(at(doc, "max"), &i) == 0 && i == INT64_MAX);
    TP_CHECK(tp_toml_int(at(doc, "min"), &i) == 0 && i == INT64_MIN);
    TP_CHECK(tp_toml_int(at(doc, "hmax"), &i) == 0 && i == INT64_MAX);
    tp_toml_free(doc);
    TP_CHECK(REJECTS("a = 9223372036854775808\n", "line 1, column 5: integer out of range"));
    TP_CHECK(REJECTS("a = -9223372036854775809\n", "integer out of range"));
    TP_CHECK(REJECTS("a = 0x8000000000000000\n", "integer out of range"));
    TP_CHECK(REJECTS("a = 0b" "1111111111111111111111111111111111111111111111111111111111111111"
                     "1\n", "integer out of range"));
    TP_CHECK(REJECTS("a = 1e999\n", "float out of range"));
    TP_CHECK(REJECTS("a = 012\n", "leading zeros"));
    TP_CHECK(REJECTS("a = 1__2\n", "invalid number"));
}

TP_TEST(test_toml_multiline_strings)
{
    tp_toml_doc_t *doc = parse("a = \"\"\"\nline1\r\n  line2 \\\n   joined\"\"\"\"\n"
                               "b = '''\n'quoted' \\n raw'''\n");
    const char *s;
    TP_ASSERT(doc != NULL);
    TP_CHECK(tp_toml_string(at(doc, "a"), &s, NULL) == 0);
    TP_CHECK_STR(s, "line1\n  line2 joined\"");
    TP_CHECK(tp_toml_string(at(doc, "b"), &s, NULL) == 0);
    TP_CHECK_STR(s, "'quoted' \\n raw");
    tp_toml_free(doc);
}

TP_TEST(test_toml_string_with_nul_escape)
{
    tp_toml_doc_t *doc = parse("\"k\\u0000ey\" = \"v\\u0000\"\n");
    const tp_toml_node_t *n;
    const char *s;
    size_t len;
    TP_ASSERT(doc != NULL);
    n = tp_toml_get_n(tp_toml_root(doc), "k\0ey", 4);
    TP_ASSERT(n != NULL);
    TP_CHECK(tp_toml_string(n, &s, &len) == 0);
    TP_CHECK_EQ_U(len, 2);
    TP_CHECK_MEM(s, "v\0", 3);
    TP_CHECK(tp_toml_key(n, &len) != NULL && len == 4);
    tp_toml_free(doc);
}

/* ---- date and time -------------------------------------------------------------------- */

static void check_format(const tp_toml_doc_t *doc, const char *key, const char *want)
{
    const tp_toml_node_t *n = at(doc, key);
    const tp_toml_datetime_t *dt;
    char buf[64];
    TP_ASSERT(n != NULL);
    TP_ASSERT(tp_toml_datetime(n, &dt) == 0);
    TP_CHECK_EQ_I(tp_toml_datetime_format(dt, tp_toml_kind(n), buf, sizeof buf),
                  (int64_t)strlen(want));
    TP_CHECK_STR(buf, want);
}

TP_TEST(test_toml_datetimes_keep_components_and_format_rfc3339)
{
    tp_toml_doc_t *doc = parse("odt = 1987-07-05t17:45:56.6z\n"
                               "neg = 1979-05-27 00:32:00.999-07:00\n"
                               "m0 = 2000-01-01T00:00:00-00:00\n"
                               "ldt = 1979-05-27T07:32:00\n"
                               "ld = 2024-02-29\n"
                               "lt = 07:32:00.123456789987\n");
    const tp_toml_datetime_t *dt;
    TP_ASSERT(doc != NULL);
    check_format(doc, "odt", "1987-07-05T17:45:56.600Z");
    check_format(doc, "neg", "1979-05-27T00:32:00.999-07:00");
    check_format(doc, "m0", "2000-01-01T00:00:00-00:00");
    check_format(doc, "ldt", "1979-05-27T07:32:00");
    check_format(doc, "ld", "2024-02-29");
    check_format(doc, "lt", "07:32:00.123456789");
    TP_CHECK_EQ_I(tp_toml_kind(at(doc, "odt")), TP_TOML_DATETIME);
    TP_CHECK_EQ_I(tp_toml_kind(at(doc, "ldt")), TP_TOML_DATETIME_LOCAL);
    TP_CHECK_EQ_I(tp_toml_kind(at(doc, "ld")), TP_TOML_DATE_LOCAL);
    TP_CHECK_EQ_I(tp_toml_kind(at(doc, "lt")), TP_TOML_TIME_LOCAL);
    TP_ASSERT(tp_toml_datetime(at(doc, "neg"), &dt) == 0);
    TP_CHECK(dt->year == 1979 && dt->month == 5 && dt->day == 27 && dt->hour == 0 &&
             dt->minute == 32 && dt->second == 0);
    TP_CHECK(dt->frac_digits == 3 && dt->nanosecond == 999000000u);
    TP_CHECK(dt->offset_form == '-' && dt->offset_minutes == -420);
    TP_ASSERT(tp_toml_datetime(at(doc, "lt"), &dt) == 0);
    TP_CHECK(dt->frac_digits == 9 && dt->nanosecond == 123456789u); /* truncated, not rounded */
    TP_CHECK_EQ_I(tp_toml_datetime_format(dt, TP_TOML_STRING, NULL, 0), -1);
    tp_toml_free(doc);
    TP_CHECK(REJECTS("d = 2023-02-29\n", "line 1, column 5: no such date 2023-02-29"));
    TP_CHECK(REJECTS("t = 24:00:00\n", "no such time"));
    TP_CHECK(REJECTS("t = 12:00\n", "expected ':' in a time"));
    TP_CHECK(REJECTS("t = 1979-05-27T07:32:00+24:00\n", "no such offset"));
}

/* ---- tables --------------------------------------------------------------------------- */

TP_TEST(test_toml_table_rules)
{
    tp_toml_doc_t *doc = parse("[a.b.c]\nx = 1\n[a]\ny = 2\n[[arr]]\nn = 1\n[arr.sub]\nq = 1\n"
                               "[[arr]]\nn = 2\n[[arr]]\n");
    int64_t i;
    TP_ASSERT(doc != NULL);
    TP_CHECK(tp_toml_int(at(doc, "a.b.c.x"), &i) == 0 && i == 1);
    TP_CHECK(tp_toml_int(at(doc, "arr[0].sub.q"), &i) == 0 && i == 1);
    TP_CHECK(tp_toml_int(at(doc, "arr[1].n"), &i) == 0 && i == 2);
    TP_CHECK_EQ_U(tp_toml_count(at(doc, "arr")), 3);
    TP_CHECK_EQ_U(tp_toml_count(at(doc, "arr[2]")), 0);
    tp_toml_free(doc);
    /* Sub-tables of a table made by dotted keys may still get headers (spec, "Table"). */
    doc = parse("\"\" = 0\n[fruit]\napple.color = 'red'\n[fruit.apple.texture]\nsmooth = true\n");
    TP_ASSERT(doc != NULL);
    TP_CHECK(tp_toml_get(tp_toml_root(doc), "") != NULL);
    TP_CHECK(at(doc, "fruit.apple.texture.smooth") != NULL);
    tp_toml_free(doc);
    TP_CHECK(REJECTS("[fruit]\napple.color = 'red'\n[fruit.apple]\n", "already defined"));

    TP_CHECK(REJECTS("[a]\n[a]\n", "line 2, column 2: table 'a' is already defined"));
    TP_CHECK(REJECTS("a.b = 1\n[a]\n", "table 'a' is already defined"));
    TP_CHECK(REJECTS("[a.b]\n[a]\nb.c = 1\n", "dotted keys cannot extend it"));
    TP_CHECK(REJECTS("a = {x = 1}\n[a]\n", "already defined"));
    TP_CHECK(REJECTS("a = {x = 1}\na.y = 2\n", "cannot be extended"));
    TP_CHECK(REJECTS("a = [1]\n[[a]]\n", "not an array of tables"));
    TP_CHECK(REJECTS("[[a]]\n[a]\n", "already defined"));
    TP_CHECK(REJECTS("a = 1\na = 2\n", "line 2, column 1: duplicate key 'a'"));
    TP_CHECK(REJECTS("a = {b = 1, b = 2}\n", "duplicate key 'b'"));
    TP_CHECK(REJECTS("a = {b = 1,}\n", "expected a key"));
    TP_CHECK(REJECTS("a = {b = 1\n}\n", "expected ',' or '}'"));
}

/* ---- error positions ----------------------------------------------------------------- */

TP_TEST(test_toml_errors_carry_line_and_column)
{
    TP_CHECK(REJECTS("# header\n[x]\nkey   value\n", "line 3, column 7: expected '=' after key"));
    TP_CHECK(REJECTS("a = 1\nb =\n", "line 2, column 4: expected a value"));
    TP_CHECK(REJECTS("a = 1 b = 2\n", "line 1, column 7: expected a newline after a key/value"));
    TP_CHECK(REJECTS("a = \"x\\q\"\n", "line 1, column 7: invalid escape sequence"));
    TP_CHECK(REJECTS("a = \"\"\"\nok\n\x01\"\"\"\n", "line 3, column 1: control character U+0001"));
    TP_CHECK(REJECTS("[a\n", "line 1, column 3: expected ']'"));
    TP_CHECK(REJECTS("a = [1, 2\n", "line 2, column 1: unterminated array"));
    TP_CHECK(REJECTS("\xEF\xBB\xBF" "a = 1\r\nb = 2\rc = 3\n", "line 2, column 6: carriage"));
}

/* ---- hostile input -------------------------------------------------------------------- */

static char *repeat(const char *prefix, const char *unit, size_t times, const char *suffix)
{
    size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix), i;
    char *s = malloc(pl + ul * times + sl + 1), *w = s;
    if (!s)
        return NULL;
    memcpy(w, prefix, pl);
    w += pl;
    for (i = 0; i < times; i++, w += ul)
        memcpy(w, unit, ul);
    memcpy(w, suffix, sl + 1);
    return s;
}

TP_TEST(test_toml_hostile_deep_nesting_is_bounded)
{
    static const char *const units[][2] = {
        { "a = ", "[" }, { "a = ", "{b=" }, { "a", ".a" }, { "[a", ".a" }, { "[[a", ".a" },
    };
    size_t i;
    for (i = 0; i < sizeof units / sizeof units[0]; i++) {
        char *s = repeat(units[i][0], units[i][1], 100000, "");
        TP_ASSERT(s != NULL);
        TP_CHECK(REJECTS(s, "nesting deeper than 128 levels"));
        free(s);
    }
    /* 127 levels of arrays below the key's value are fine. */
    {
        char *open = repeat("a = ", "[", TP_TOML_MAX_DEPTH - 1, "");
        char *s = repeat(open, "]", TP_TOML_MAX_DEPTH - 1, "\n");
        tp_toml_doc_t *doc = parse(s);
        TP_CHECK(doc != NULL);
        tp_toml_free(doc);
        free(open);
        free(s);
    }
}

TP_TEST(test_toml_hostile_bytes)
{
    static const char nul_value[] = "a = 1\0\n";
    static const char nul_string[] = "a = \"x\0y\"\n";
    static const char nul_comment[] = "# x\0y\n";
    TP_CHECK(rejects(nul_value, sizeof nul_value - 1, "line 1, column 6"));
    TP_CHECK(rejects(nul_string, sizeof nul_string - 1, "control character U+0000"));
    TP_CHECK(rejects(nul_comment, sizeof nul_comment - 1, "control character U+0000"));
    TP_CHECK(REJECTS("a = \"\xC3\x28\"\n", "line 1, column 6: invalid UTF-8 byte 0xC3"));
    TP_CHECK(REJECTS("a = 1\n# \xED\xA0\x80 surrogate\n", "line 2, column 3: invalid UTF-8"));
    TP_CHECK(REJECTS("a = '\xC0\xAF'\n", "invalid UTF-8")); /* overlong '/' */
    TP_CHECK(REJECTS("a = \"\xF4\x90\x80\x80\"\n", "invalid UTF-8")); /* above U+10FFFF */
    TP_CHECK(REJECTS("a = \"\\uD800\"\n", "not a Unicode scalar value"));
    TP_CHECK(REJECTS("a = \"abc", "unterminated string"));
    TP_CHECK(REJECTS("a = 'abc", "unterminated string"));
    TP_CHECK(REJECTS("a = \"\"\"abc\"\"", "unterminated multi-line string"));
    TP_CHECK(REJECTS("a = '''abc", "unterminated multi-line string"));
    TP_CHECK(REJECTS("a = \"\\u12", "needs 4 hex digits"));
    TP_CHECK(REJECTS("a = \"\\", "unterminated string"));
    TP_CHECK(REJECTS("a = {", "expected a key"));
    TP_CHECK(REJECTS("[[a]", "expected ']]'"));
    TP_CHECK(REJECTS("a = \"\"\"x\"\"\"\"\"\"\n", "too many quotes"));
}

TP_TEST(test_toml_hostile_huge_numbers)
{
    char *digits = repeat("a = ", "9", 1000000, "\n");
    char *frac = repeat("a = 0.", "1", 200, "\n");
    tp_toml_doc_t *doc;
    TP_ASSERT(digits != NULL && frac != NULL);
    TP_CHECK(REJECTS(digits, "number literal longer than 256 characters"));
    doc = parse(frac);
    TP_CHECK(doc != NULL);
    tp_toml_free(doc);
    free(digits);
    free(frac);
}

TP_TEST(test_toml_input_is_not_nul_terminated)
{
    /* An exact-size heap copy: ASan catches any read past len. */
    static const char text[] = "key = 12345";
    char *buf = malloc(7);
    tp_toml_doc_t *doc;
    TP_ASSERT(buf != NULL);
    memcpy(buf, text, 7); /* "key = 1" */
    TP_CHECK(tp_toml_parse(buf, 7, &doc) == 0);
    if (doc) {
        int64_t i;
        TP_CHECK(tp_toml_int(at(doc, "key"), &i) == 0 && i == 1);
        tp_toml_free(doc);
    }
    memcpy(buf, "x = \"ab", 7);
    TP_CHECK(rejects(buf, 7, "unterminated string"));
    memcpy(buf, "x = 1e", 6);
    TP_CHECK(rejects(buf, 6, "exponent"));
    free(buf);
    TP_CHECK(tp_toml_parse(NULL, 0, &doc) == 0 && tp_toml_count(tp_toml_root(doc)) == 0);
    tp_toml_free(doc);
}

TP_TEST(test_toml_large_documents_parse_in_linear_time)
{
    /* 200k keys in one table, a 200k-element array and 20k sections: quadratic table
     * lookups or list growth would take minutes here. */
    size_t n = 200000, i, len = 0, cap = n * 40;
    char *s = malloc(cap);
    tp_toml_doc_t *doc;
    int64_t v;
    TP_ASSERT(s != NULL);
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "k%zu = %zu\n", i, i);
    len += (size_t)snprintf(s + len, cap - len, "arr = [");
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%zu,", i % 10);
    len += (size_t)snprintf(s + len, cap - len, "]\n");
    for (i = 0; i < n / 10; i++)
        len += (size_t)snprintf(s + len, cap - len, "[[t]]\nx.y = %zu\n", i);
    TP_ASSERT(tp_toml_parse(s, len, &doc) == 0);
    TP_CHECK_EQ_U(tp_toml_count(tp_toml_root(doc)), n + 2);
    TP_CHECK(tp_toml_int(at(doc, "k199999"), &v) == 0 && v == 199999);
    TP_CHECK_EQ_U(tp_toml_count(at(doc, "arr")), n);
    TP_CHECK(tp_toml_int(at(doc, "t[19999].x.y"), &v) == 0 && v == 19999);
    tp_toml_free(doc);
    free(s);
}

/* ---- lookup and iteration ------------------------------------------------------------- */

TP_TEST(test_toml_iteration_keeps_document_order_and_positions)
{
    tp_toml_doc_t *doc = parse("zeta = 1\nalpha = 2\n[profiles.camera]\nheader_nslots = 64\n"
                               "payload_pools = [ { pool_id = 1, stride_bytes = 655360 } ]\n"
                               "[streams.cam1]\n  stream_id = 42\n\"dotted.key\" = true\n");
    const tp_toml_node_t *root, *n;
    static const char *const order[] = { "zeta", "alpha", "profiles", "streams" };
    size_t i, len;
    int64_t v;
    TP_ASSERT(doc != NULL);
    root = tp_toml_root(doc);
    TP_CHECK_EQ_U(tp_toml_count(root), 4);
    for (i = 0; i < 4; i++)
        TP_CHECK_STR(tp_toml_key(tp_toml_at(root, i), NULL), order[i]);
    TP_CHECK(tp_toml_at(root, 4) == NULL);
    TP_CHECK(tp_toml_key(root, &len) == NULL && len == 0);
    TP_CHECK(tp_toml_line(root) == 1 && tp_toml_column(root) == 1);

    TP_CHECK(tp_toml_int(at(doc, "profiles.camera.header_nslots"), &v) == 0 && v == 64);
    n = at(doc, "profiles.camera.payload_pools[0].stride_bytes");
    TP_ASSERT(n != NULL);
    TP_CHECK(tp_toml_int(n, &v) == 0 && v == 655360);
    TP_CHECK(tp_toml_line(n) == 5 && tp_toml_column(n) == 49);
    n = at(doc, "streams.cam1.stream_id");
    TP_ASSERT(n != NULL);
    TP_CHECK(tp_toml_line(n) == 7 && tp_toml_column(n) == 15);
    n = at(doc, "streams.cam1");
    TP_CHECK(tp_toml_line(n) == 6 && tp_toml_column(n) == 10);
    TP_CHECK(tp_toml_get(n, "dotted.key") != NULL);
    TP_CHECK(tp_toml_get(n, "dotted") == NULL);

    TP_CHECK(at(doc, "profiles.camera.payload_pools[1]") == NULL);
    TP_CHECK(at(doc, "profiles..camera") == NULL);
    TP_CHECK(at(doc, "profiles.camera.") == NULL);
    TP_CHECK(at(doc, "zeta[0]") == NULL);
    TP_CHECK(at(doc, "profiles.camera.payload_pools[x]") == NULL);
    TP_CHECK(at(doc, "nope") == NULL);
    TP_CHECK(tp_toml_get(at(doc, "zeta"), "x") == NULL);
    TP_CHECK(tp_toml_get(tp_toml_get(root, "nope"), "x") == NULL);
    TP_CHECK(tp_toml_path(NULL, "a") == NULL && tp_toml_count(NULL) == 0);
    TP_CHECK(tp_toml_at(NULL, 0) == NULL);
    TP_CHECK(tp_toml_path(at(doc, "profiles.camera.payload_pools"), "[0].pool_id") != NULL);
    tp_toml_free(doc);
}

TP_TEST(test_toml_wrong_kind_accessors_fail_with_position)
{
    tp_toml_doc_t *doc = parse("\n  port = \"x\"\n");
    int64_t v;
    double f;
    int b;
    const char *s;
    const tp_toml_datetime_t *dt;
    TP_ASSERT(doc != NULL);
    TP_CHECK(tp_toml_int(at(doc, "port"), &v) == -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    TP_CHECK_STR(tp_errmsg(), "line 2, column 10: expected an integer, found string");
    TP_CHECK(tp_toml_float(at(doc, "port"), &f) == -1);
    TP_CHECK(tp_toml_bool(at(doc, "port"), &b) == -1);
    TP_CHECK(tp_toml_datetime(at(doc, "port"), &dt) == -1);
    TP_CHECK(tp_toml_string(tp_toml_root(doc), &s, NULL) == -1);
    TP_CHECK_EQ_U(tp_toml_count(at(doc, "port")), 0);
    TP_CHECK(tp_toml_at(at(doc, "port"), 0) == NULL);
    tp_toml_free(doc);
    tp_toml_free(NULL);
}

TP_TEST(test_toml_parse_file_errors_name_the_path)
{
    char path[1024];
    FILE *f;
    tp_toml_doc_t *doc = (tp_toml_doc_t *)1;
    TP_CHECK(tp_toml_parse_file("/nonexistent/x.toml", &doc) == -1);
    TP_CHECK(doc == NULL && tp_errcode() == TP_EIO);
    snprintf(path, sizeof path, "%s/bad.toml", tp_test_tmpdir());
    f = fopen(path, "w");
    TP_ASSERT(f != NULL);
    fputs("a = 1\n[b\n", f);
    fclose(f);
    TP_CHECK(tp_toml_parse_file(path, &doc) == -1);
    TP_CHECK(strstr(tp_errmsg(), "bad.toml: line 2, column 3: expected ']'") != NULL);
}

/* The driver configurations of the specification parse as written. */
TP_TEST(test_toml_spec_example_configs_parse)
{
    const char *shared = tp_test_shared_dir();
    char dir[1024], path[2048];
    DIR *d;
    struct dirent *e;
    int seen = 0;
    if (!shared)
        TP_SKIP("no ../shared");
    snprintf(dir, sizeof dir, "%s/spec/examples", shared);
    if (!(d = opendir(dir)))
        TP_SKIP("no ../shared/spec/examples");
    while ((e = readdir(d))) {
        tp_toml_doc_t *doc;
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".toml") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (tp_toml_parse_file(path, &doc) != 0)
            tp_test_fail(__FILE__, __LINE__, "%s", tp_errmsg());
        tp_toml_free(doc);
        seen++;
    }
    closedir(d);
    TP_CHECK(seen > 0);
}

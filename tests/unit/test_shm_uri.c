/* Region URIs (WIRE W-168 .. W-170): what parses, what is refused and why, canonical output. */
#include <stdlib.h>
#include <string.h>

#include "shm/region.h"
#include "tp_test.h"
#include "util/error.h"

static int parse(const char *s, tp_region_uri_t *u)
{
    tp_err_clear();
    return tp_region_uri_parse(s, strlen(s), u);
}

struct accept_case {
    const char *uri;
    const char *path;
    bool hugepages;
};

TP_TEST(test_wire_w168_accepts_valid_uris)
{
    static const struct accept_case cases[] = {
        {"shm:file?path=/dev/shm/a", "/dev/shm/a", false},
        {"shm:file?path=/dev/hugepages/x|require_hugepages=true", "/dev/hugepages/x", true},
        {"shm:file?path=/a|require_hugepages=false", "/a", false},
        {"shm:file?path=/", "/", false},
        /* '=', '&' and '~' are VCHARs: part of the path, not separators (W-168 ABNF). */
        {"shm:file?path=/a=b&c~d", "/a=b&c~d", false},
        {"shm:file?path=/x/../y", "/x/../y", false}, /* containment's job, not the URI's */
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tp_region_uri_t u;
        memset(&u, 0xAB, sizeof u);
        if (parse(cases[i].uri, &u) != 0) {
            tp_test_fail(__FILE__, __LINE__, "'%s' refused: %s", cases[i].uri, tp_errmsg());
            continue;
        }
        TP_CHECK_STR(u.path, cases[i].path);
        TP_CHECK_EQ_I(u.require_hugepages, cases[i].hugepages);
    }
}

TP_TEST(test_wire_w170_accepts_swapped_parameter_order)
{
    tp_region_uri_t u;
    TP_ASSERT(parse("shm:file?require_hugepages=true|path=/dev/hugepages/r", &u) == 0);
    TP_CHECK_STR(u.path, "/dev/hugepages/r");
    TP_CHECK(u.require_hugepages);
}

TP_TEST(test_wire_w168_parse_uses_len_not_nul)
{
    /* Control messages carry var-data without a terminator: only `len` bytes count. */
    const char buf[] = "shm:file?path=/a/b|require_hugepages=trueGARBAGE";
    tp_region_uri_t u;
    TP_ASSERT(tp_region_uri_parse(buf, strlen(buf) - 7, &u) == 0);
    TP_CHECK_STR(u.path, "/a/b");
    TP_CHECK(u.require_hugepages);
    TP_CHECK(tp_region_uri_parse(buf, 16, &u) == 0); /* "shm:file?path=/a" */
    TP_CHECK_STR(u.path, "/a");
}

struct reject_case {
    const char *name;
    const char *uri;
    size_t len; /* 0: strlen */
    const char *reason; /* substring of tp_errmsg() */
};

TP_TEST(test_wire_w170_rejects_table)
{
    static const struct reject_case cases[] = {
        {"empty", "", 0, "scheme must be"},
        {"other scheme", "file:///dev/shm/a", 0, "scheme must be"},
        {"aeron scheme", "aeron:ipc", 0, "scheme must be"},
        {"shm other kind", "shm:anon?path=/a", 0, "scheme must be"},
        {"scheme case", "SHM:file?path=/a", 0, "scheme must be"},
        {"prefix only", "shm:file?", 0, "empty parameter"},
        {"no query", "shm:file", 0, "scheme must be"},
        {"unknown param", "shm:file?path=/a|foo=bar", 0, "unknown parameter 'foo'"},
        {"unknown first", "shm:file?mode=rw|path=/a", 0, "unknown parameter 'mode'"},
        {"key case", "shm:file?PATH=/a", 0, "unknown parameter 'PATH'"},
        {"not key=value", "shm:file?path=/a|require_hugepages", 0, "not key=value"},
        {"trailing bar", "shm:file?path=/a|", 0, "empty parameter"},
        {"double bar", "shm:file?path=/a||require_hugepages=true", 0, "empty parameter"},
        {"missing path", "shm:file?require_hugepages=true", 0, "missing required parameter"},
        {"duplicate path", "shm:file?path=/a|path=/b", 0, "duplicate parameter 'path'"},
        {"duplicate hugepages",
         "shm:file?path=/a|require_hugepages=true|require_hugepages=false", 0,
         "duplicate parameter 'require_hugepages'"},
        {"bool TRUE", "shm:file?path=/a|require_hugepages=TRUE", 0, "must be true or false"},
        {"bool 1", "shm:file?path=/a|require_hugepages=1", 0, "must be true or false"},
        {"bool empty", "shm:file?path=/a|require_hugepages=", 0, "must be true or false"},
        {"bool trailing", "shm:file?path=/a|require_hugepages=true ", 0, "must be true or false"},
        {"empty path", "shm:file?path=", 0, "path is empty"},
        {"relative path", "shm:file?path=dev/shm/a", 0, "must be absolute"},
        {"dot path", "shm:file?path=./a", 0, "must be absolute"},
        {"space in path", "shm:file?path=/dev/shm/a b", 0, "outside 0x21-0x7E"},
        {"tab in path", "shm:file?path=/a\tb", 0, "0x09"},
        {"DEL in path", "shm:file?path=/a\x7f", 0, "0x7f"},
        {"high byte in path", "shm:file?path=/caf\xc3\xa9", 0, "0xc3"},
        {"NUL in path", "shm:file?path=/a\0/etc/passwd", 25, "0x00"},
        {"question mark in path", "shm:file?path=/a?b", 0, "'?'"},
        {"windows path", "shm:file?path=C:\\shm\\a", 0, "must be absolute"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct reject_case *c = &cases[i];
        tp_region_uri_t u;
        size_t len = c->len ? c->len : strlen(c->uri);
        tp_err_clear();
        if (tp_region_uri_parse(c->uri, len, &u) == 0) {
            tp_test_fail(__FILE__, __LINE__, "%s: '%s' accepted", c->name, c->uri);
            continue;
        }
        if (tp_errcode() != TP_EURI || strstr(tp_errmsg(), c->reason) == NULL)
            tp_test_fail(__FILE__, __LINE__, "%s: want TP_EURI '%s', got %s '%s'", c->name,
                         c->reason, tp_errname(tp_errcode()), tp_errmsg());
    }
}

TP_TEST(test_wire_w170_rejection_leaves_output_untouched)
{
    tp_region_uri_t u;
    strcpy(u.path, "/keep");
    u.require_hugepages = true;
    TP_CHECK(parse("shm:file?path=/new|bogus=1", &u) == -1);
    TP_CHECK_STR(u.path, "/keep");
    TP_CHECK(u.require_hugepages);
}

TP_TEST(test_wire_w170_error_quotes_hostile_bytes_safely)
{
    /* The offending key is echoed, but control bytes are escaped and long keys cut. */
    char uri[400];
    tp_region_uri_t u;
    memset(uri, 'k', sizeof uri);
    memcpy(uri, "shm:file?path=/a|\x1b[2J", 21);
    uri[sizeof uri - 1] = '\0';
    TP_CHECK(parse(uri, &u) == -1);
    TP_CHECK(strchr(tp_errmsg(), '\x1b') == NULL);
    TP_CHECK(strstr(tp_errmsg(), "\\x1b") != NULL);
    TP_CHECK(strstr(tp_errmsg(), "...") != NULL);
    TP_CHECK(strlen(tp_errmsg()) < 300);
}

TP_TEST(test_driver_d94_uri_length_limit)
{
    /* 4096 bytes is the longest URI (D-94); the path may use all of it. */
    char *uri = malloc(TP_REGION_PATH_MAX + 2);
    tp_region_uri_t u;
    size_t prefix = strlen("shm:file?path="), n;
    TP_ASSERT(uri != NULL);
    memcpy(uri, "shm:file?path=/", prefix + 1);
    for (n = prefix + 1; n < TP_REGION_PATH_MAX + 1; n++)
        uri[n] = 'a';
    TP_CHECK(tp_region_uri_parse(uri, TP_REGION_PATH_MAX, &u) == 0);
    TP_CHECK_EQ_U(strlen(u.path), TP_REGION_PATH_MAX - prefix);
    tp_err_clear();
    TP_CHECK(tp_region_uri_parse(uri, TP_REGION_PATH_MAX + 1, &u) == -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EURI);
    TP_CHECK(strstr(tp_errmsg(), "limit 4096") != NULL);
    free(uri);
}

TP_TEST(test_wire_w170_format_is_canonical)
{
    char out[128];
    TP_CHECK_EQ_I(tp_region_uri_format(out, sizeof out, "/dev/shm/a", false), 24);
    TP_CHECK_STR(out, "shm:file?path=/dev/shm/a");
    TP_CHECK_EQ_I(tp_region_uri_format(out, sizeof out, "/dev/hugepages/a", true), 53);
    TP_CHECK_STR(out, "shm:file?path=/dev/hugepages/a|require_hugepages=true");
}

TP_TEST(test_wire_w170_format_refuses_bad_paths_and_small_buffers)
{
    char out[32];
    static const char *bad[] = {"", "rel/a", "/a b", "/a|b", "/a?b", "/\x80"};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tp_err_clear();
        TP_CHECK_EQ_I(tp_region_uri_format(out, sizeof out, bad[i], false), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EURI);
    }
    /* 24 bytes + NUL: 25 fits, 24 does not. */
    TP_CHECK_EQ_I(tp_region_uri_format(out, 25, "/dev/shm/a", false), 24);
    tp_err_clear();
    TP_CHECK_EQ_I(tp_region_uri_format(out, 24, "/dev/shm/a", false), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ETOOBIG);
}

TP_TEST(test_driver_d94_format_never_emits_over_limit)
{
    /* A path that fits TP_REGION_PATH_MAX but makes the URI longer than 4096 bytes. */
    char path[TP_REGION_PATH_MAX];
    char *out = malloc(2 * TP_REGION_PATH_MAX);
    TP_ASSERT(out != NULL);
    memset(path, 'p', sizeof path);
    path[0] = '/';
    path[4090] = '\0';
    tp_err_clear();
    TP_CHECK_EQ_I(tp_region_uri_format(out, 2 * TP_REGION_PATH_MAX, path, false), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EURI);
    path[4090] = 'p';
    path[TP_REGION_PATH_MAX - 14] = '\0'; /* 14-byte prefix + 4082: exactly 4096 */
    TP_CHECK_EQ_I(tp_region_uri_format(out, 2 * TP_REGION_PATH_MAX, path, false), 4096);
    free(out);
}

TP_TEST(test_wire_w170_format_parse_round_trip)
{
    static const char *paths[] = {"/", "/dev/shm/tensorpool-u/default/1/2/header.ring",
                                  "/x=y&z", "/~!\"#$%'()*+,-.:;<>@[\\]^_`{}"};
    size_t i;
    int h;
    for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        for (h = 0; h < 2; h++) {
            char out[256];
            tp_region_uri_t u;
            int n = tp_region_uri_format(out, sizeof out, paths[i], h != 0);
            TP_ASSERT(n > 0);
            TP_ASSERT(tp_region_uri_parse(out, (size_t)n, &u) == 0);
            TP_CHECK_STR(u.path, paths[i]);
            TP_CHECK_EQ_I(u.require_hugepages, h != 0);
        }
    }
}

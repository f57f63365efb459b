/*
 * TOML reader (src/util/toml*.c) against arbitrary bytes: a configuration file is input the
 * driver does not control.
 *
 * Properties: parsing never reads outside [data, data+size) (the input is not NUL-terminated)
 * and always ends; a rejection is TP_ECONFIG with "line L, column C: ..." (or TP_ENOMEM);
 * an accepted tree respects the depth bound, every table entry is found again by its key,
 * child counts and iteration agree, and every date/time formats within 40 bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/toml.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static void walk(const tp_toml_node_t *n, int depth)
{
    tp_toml_kind_t kind = tp_toml_kind(n);
    size_t i, count = tp_toml_count(n), klen;
    const tp_toml_datetime_t *dt;
    char buf[64];

    check(depth <= TP_TOML_MAX_DEPTH);
    check(tp_toml_line(n) >= 1 && tp_toml_column(n) >= 1);
    for (i = 0; i < count; i++) {
        const tp_toml_node_t *c = tp_toml_at(n, i);
        const char *key = tp_toml_key(c, &klen);
        check(c != NULL);
        if (kind == TP_TOML_TABLE)
            check(key != NULL && tp_toml_get_n(n, key, klen) == c);
        else
            check(key == NULL);
        walk(c, depth + 1);
    }
    check(tp_toml_at(n, count) == NULL);
    if (tp_toml_datetime(n, &dt) == 0) {
        int len = tp_toml_datetime_format(dt, kind, buf, sizeof buf);
        check(len > 0 && len <= 40 && (size_t)len == strlen(buf));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy lets ASan see any read past the end. */
    char *buf = malloc(size ? size : 1);
    tp_toml_doc_t *doc;

    check(buf != NULL);
    if (size)
        memcpy(buf, data, size);
    tp_err_clear();
    if (tp_toml_parse(buf, size, &doc) != 0) {
        check(doc == NULL);
        check(tp_errcode() == TP_ENOMEM ||
              (tp_errcode() == TP_ECONFIG && strncmp(tp_errmsg(), "line ", 5) == 0 &&
               strstr(tp_errmsg(), ", column ") != NULL));
    } else {
        walk(tp_toml_root(doc), 0);
        tp_toml_free(doc);
    }
    free(buf);
    return 0;
}

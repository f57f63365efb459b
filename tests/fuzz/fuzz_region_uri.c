/*
 * Region URI parser (WIRE W-168 .. W-170) against arbitrary bytes from the network.
 *
 * Properties: parsing never reads outside [data, data+size) (the input is not NUL-terminated);
 * anything accepted has an absolute path of bytes 0x21-0x7E without '?' or '|'; formatting an
 * accepted URI yields the canonical form, which parses back to the same result and formats
 * to the same bytes (idempotent); a rejection always leaves a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shm/region.h"
#include "util/error.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tp_region_uri_t u, v;
    static char out[TP_REGION_PATH_MAX + 1], again[TP_REGION_PATH_MAX + 1];
    /* An exact-size heap copy lets ASan see any read past the end. */
    char *buf = malloc(size ? size : 1);
    size_t i, plen;
    int n, m;

    check(buf != NULL);
    if (size)
        memcpy(buf, data, size);
    tp_err_clear();
    if (tp_region_uri_parse(buf, size, &u) != 0) {
        check(tp_errcode() == TP_EURI && tp_errmsg()[0] != '\0');
        free(buf);
        return 0;
    }
    plen = strlen(u.path);
    check(plen > 0 && plen < TP_REGION_PATH_MAX && u.path[0] == '/');
    for (i = 0; i < plen; i++) {
        unsigned char c = (unsigned char)u.path[i];
        check(c >= 0x21 && c <= 0x7E && c != '?' && c != '|');
    }
    n = tp_region_uri_format(out, sizeof out, u.path, u.require_hugepages);
    check(n > 0 && (size_t)n <= size); /* canonical is never longer than what was accepted */
    check(strlen(out) == (size_t)n);
    check(tp_region_uri_parse(out, (size_t)n, &v) == 0);
    check(strcmp(u.path, v.path) == 0 && u.require_hugepages == v.require_hugepages);
    m = tp_region_uri_format(again, sizeof again, v.path, v.require_hugepages);
    check(m == n && memcmp(out, again, (size_t)n) == 0);
    free(buf);
    return 0;
}

/*
 * tensorpool decode HEX|@FILE — one SBE message of any schema as key=value lines (DESIGN.md §5).
 *
 * HEX may carry a "hex:" prefix and whitespace; @FILE is raw bytes. Every template is taken
 * WITH its 8-byte message header, the SHM ones (50/51/52) included. Exit status: 0 decoded,
 * 2 malformed input or usage, with exactly one `error=<reason>` line on stdout.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "codec/codec.h"

#define DECODE_MAX_FILE (64u << 20) /* a message larger than this is not worth printing */

static int fail(const char *reason)
{
    printf("error=%s\n", reason);
    return 2;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parses hex digits (whitespace ignored) into a malloc'd buffer the caller frees. */
static int parse_hex(const char *s, uint8_t **out, size_t *out_len)
{
    size_t n = 0, digits = 0;
    uint8_t *buf;
    int hi = -1;
    if (!strncmp(s, "hex:", 4)) s += 4;
    if (!(buf = malloc(strlen(s) / 2 + 1))) return tp_err_set(TP_ENOMEM, "out of memory");
    for (; *s; s++) {
        int v;
        if (isspace((unsigned char)*s)) continue;
        if ((v = hex_value((unsigned char)*s)) < 0) {
            free(buf);
            return tp_err_set(TP_EINVAL, "invalid hex: unexpected character '%c'", *s);
        }
        digits++;
        if (hi < 0) { hi = v; continue; }
        buf[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    if (hi >= 0) {
        free(buf);
        return tp_err_set(TP_EINVAL, "invalid hex: odd number of digits (%zu)", digits);
    }
    *out = buf;
    *out_len = n;
    return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    size_t n = 0;
    if (!f) return tp_err_set_errno(TP_EIO, errno, "cannot open %s", path);
    if (!(buf = malloc(DECODE_MAX_FILE + 1))) {
        fclose(f);
        return tp_err_set(TP_ENOMEM, "out of memory");
    }
    n = fread(buf, 1, DECODE_MAX_FILE + 1, f);
    if (ferror(f) || n > DECODE_MAX_FILE) {
        fclose(f);
        free(buf);
        return tp_err_set(TP_ETOOBIG, "cannot read %s (larger than %u bytes?)", path,
                          DECODE_MAX_FILE);
    }
    fclose(f);
    *out = buf;
    *out_len = n;
    return 0;
}

int tp_cmd_decode(int argc, char **argv)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int64_t n;
    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: tensorpool decode HEX|@FILE\n"
                        "  HEX   the message bytes in hex, optionally prefixed by hex:\n"
                        "  @FILE a file holding the raw message bytes\n");
        return argc == 2 ? 0 : fail("usage: tensorpool decode HEX|@FILE");
    }
    if ((argv[1][0] == '@' ? read_file(argv[1] + 1, &buf, &len)
                           : parse_hex(argv[1], &buf, &len)) < 0)
        return fail(tp_errmsg());
    n = tp_codec_print(buf, len, stdout);
    free(buf);
    if (n < 0) return fail(tp_errmsg());
    return 0;
}

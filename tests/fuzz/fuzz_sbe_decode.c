/*
 * Any bytes -> dispatcher, generated decoder, generic walker, printer, re-encoder
 * (LAYOUT §1.10, WIRE W-4, W-81). Oracles beyond "no crash, no out-of-bounds read":
 *   - the generated decoder and the metadata walker agree on accept/reject and length;
 *   - an accepted message re-encodes into a canonical message that is accepted again and
 *     re-encodes to the same bytes (decode and encode are inverse on canonical messages).
 * Printed text goes to /dev/null.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"

static FILE *sink(void)
{
    static FILE *f;
    if (!f) f = fopen("/dev/null", "w");
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t once[1 << 20], twice[1 << 20];
    int64_t n = tp_codec_validate(data, size, NULL, NULL);
    int64_t g = tp_codec_validate_generic(data, size);
    int64_t a, b;
    if (n != g) {
        fprintf(stderr, "decoder %lld != walker %lld: %s\n", (long long)n, (long long)g, tp_errmsg());
        abort();
    }
    if (sink() && tp_codec_print(data, size, sink()) != n) abort();
    if (n < 0) return 0;
    /* The canonical form is never longer than the input (blocks shrink to the schema's). */
    a = tp_codec_reencode(data, size, once, sizeof once);
    if (a < 0) {
        if (size <= sizeof once) abort();
        return 0;
    }
    if (tp_codec_validate(once, (size_t)a, NULL, NULL) != a) abort();
    b = tp_codec_reencode(once, (size_t)a, twice, sizeof twice);
    if (b != a || memcmp(once, twice, (size_t)a) != 0) abort();
    return 0;
}

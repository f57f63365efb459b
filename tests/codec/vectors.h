/* The golden encodings of LAYOUT §6, as hex (whitespace ignored). Shared by the codec unit
 * tests and the seed-corpus writer. */
#ifndef TP_TESTS_CODEC_VECTORS_H
#define TP_TESTS_CODEC_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#define VEC_FRAME_DESCRIPTOR                                                        \
    "28 00 04 00 84 03 01 00 10 27 00 00 03 00 00 00"                               \
    "00 00 00 00 2a 00 00 00 00 00 00 00 00 ca 9a 3b"                               \
    "00 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00"

#define VEC_FRAME_DESCRIPTOR_NULLS                                                  \
    "28 00 04 00 84 03 01 00 10 27 00 00 03 00 00 00"                               \
    "00 00 00 00 2a 00 00 00 00 00 00 00 ff ff ff ff"                               \
    "ff ff ff ff ff ff ff ff 00 00 00 00 00 00 00 00"

#define VEC_FRAME_PROGRESS                                                          \
    "1d 00 0b 00 84 03 01 00 10 27 00 00 03 00 00 00"                               \
    "00 00 00 00 2a 00 00 00 00 00 00 00 00 10 00 00"                               \
    "00 00 00 00 02"

#define VEC_SHM_POOL_ANNOUNCE                                                       \
    "23 00 01 00 84 03 01 00 10 27 00 00 07 00 00 00"                               \
    "03 00 00 00 00 00 00 00 15 cd 5b 07 00 00 00 00"                               \
    "01 01 00 00 00 08 00 00 00 00 01 0a 00 01 00 01"                               \
    "00 08 00 00 00 00 00 01 00 3e 00 00 00 73 68 6d"                               \
    "3a 66 69 6c 65 3f 70 61 74 68 3d 2f 64 65 76 2f"                               \
    "73 68 6d 2f 74 65 6e 73 6f 72 70 6f 6f 6c 2d 61"                               \
    "6c 69 63 65 2f 64 65 66 61 75 6c 74 2f 31 30 30"                               \
    "30 30 2f 33 2f 31 2e 70 6f 6f 6c 43 00 00 00 73"                               \
    "68 6d 3a 66 69 6c 65 3f 70 61 74 68 3d 2f 64 65"                               \
    "76 2f 73 68 6d 2f 74 65 6e 73 6f 72 70 6f 6f 6c"                               \
    "2d 61 6c 69 63 65 2f 64 65 66 61 75 6c 74 2f 31"                               \
    "30 30 30 30 2f 33 2f 68 65 61 64 65 72 2e 72 69"                               \
    "6e 67"

#define VEC_CONSUMER_HELLO                                                          \
    "27 00 02 00 84 03 01 00 10 27 00 00 2a 00 00 00"                               \
    "01 00 01 00 00 00 00 01 00 00 00 ff ff ff ff ff"                               \
    "ff ff ff ff ff ff ff 00 00 00 00 00 00 00 00 00"                               \
    "00 00 00 00 00 00 00"

#define VEC_SUPERBLOCK                                                              \
    "31 4d 48 53 4c 50 4f 54 01 00 00 00 03 00 00 00"                               \
    "00 00 00 00 10 27 00 00 01 00 00 00 08 00 00 00"                               \
    "00 01 00 00 00 00 00 00 92 10 00 00 00 00 00 00"                               \
    "15 cd 5b 07 00 00 00 00 15 cd 5b 07 00 00 00 00"

#define VEC_HEADER_SLOT                                                             \
    "55 00 00 00 00 00 00 00 06 00 00 00 02 00 00 00"                               \
    "01 00 00 00 00 00 e7 03 00 00 00 00 00 00 07 00"                               \
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"                               \
    "00 00 00 00 00 00 00 00 00 00 00 00 c0 00 00 00"                               \
    "b8 00 34 00 84 03 01 00 01 00 01 00 02 00 00 00"                               \
    "00 00 00 02 00 00 00 03 00 00 00 00 00 00 00 00"                               \
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"                               \
    "00 00 00 03 00 00 00 01 00 00 00 00 00 00 00 00"                               \
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"                               \
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"                               \
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"                               \
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"                               \
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"                               \
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"                               \
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"                               \
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"

#define VEC_SHM_ATTACH_REQUEST                                                      \
    "1b 00 01 00 85 03 01 00 01 00 00 00 2a 00 00 00"                               \
    "10 27 00 00 2a 00 00 00 02 00 00 00 00 ff 00 ff"                               \
    "ff ff ff"

#define VEC_SHM_LEASE_KEEPALIVE                                                     \
    "19 00 05 00 85 03 01 00 05 00 00 00 00 00 00 00"                               \
    "10 27 00 00 2a 00 00 00 02 15 cd 5b 07 00 00 00"                               \
    "00"

#define VEC_SHM_ATTACH_RESPONSE_REJECTED                                            \
    "36 00 02 00 85 03 01 00 01 00 00 00 2a 00 00 00"                               \
    "03 00 00 00 ff ff ff ff ff ff ff ff ff ff ff ff"                               \
    "ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff"                               \
    "ff ff ff ff ff ff ff ff ff ff ff ff ff ff 0a 00"                               \
    "00 00 00 00 00 00 19 00 00 00 70 72 6f 64 75 63"                               \
    "65 72 20 61 6c 72 65 61 64 79 20 61 74 74 61 63"                               \
    "68 65 64"

/* Hex (whitespace ignored) -> bytes. Returns the byte count, or 0 if out is too small. */
static inline size_t vec_bytes(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *hex; hex++) {
        int v = *hex >= '0' && *hex <= '9' ? *hex - '0'
              : *hex >= 'a' && *hex <= 'f' ? *hex - 'a' + 10 : -1;
        if (v < 0) continue;
        if (hi < 0) { hi = v; continue; }
        if (n == cap) return 0;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    return n;
}

#endif

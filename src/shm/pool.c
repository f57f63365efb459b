/* Payload pool set, smallest-fit selection and the interop pattern. WIRE §7. */
#include "shm/pool.h"

#include <stdatomic.h>
#include <string.h>

#include "util/error.h"

void tp_pool_set_init(tp_pool_set_t *set)
{
    memset(set, 0, sizeof *set);
}

int tp_pool_set_add(tp_pool_set_t *set, uint16_t pool_id, void *region_base, size_t region_size,
                    uint32_t nslots, uint32_t stride_bytes)
{
    if (set->count >= TP_POOLS_MAX)
        return tp_err_set(TP_EINVAL, "pool set: more than %u pools", TP_POOLS_MAX);
    if (stride_bytes < TP_MIN_STRIDE_BYTES || !tp_is_pow2_u32(stride_bytes))
        return tp_err_set(TP_EINVAL, "pool %u: stride_bytes %u is not a power of two >= 64 (W-53)",
                          pool_id, stride_bytes);
    if (!tp_is_pow2_u32(nslots))
        return tp_err_set(TP_EINVAL, "pool %u: nslots %u is not a power of two", pool_id, nslots);
    if (region_base == NULL || region_size < tp_pool_file_size(nslots, stride_bytes))
        return tp_err_set(TP_EINVAL, "pool %u: mapping of %zu bytes is smaller than %llu",
                          pool_id, region_size,
                          (unsigned long long)tp_pool_file_size(nslots, stride_bytes));
    if (tp_pool_find(set, pool_id) != NULL)
        return tp_err_set(TP_EINVAL, "pool %u: id already present", pool_id);

    uint32_t at = set->count;
    while (at > 0 && set->pools[at - 1].stride_bytes > stride_bytes) { /* keep sorted (W-57) */
        set->pools[at] = set->pools[at - 1];
        at--;
    }
    set->pools[at] = (tp_pool_t){ .slots = (uint8_t *)region_base + TP_SUPERBLOCK_SIZE,
                                  .stride_bytes = stride_bytes, .nslots = nslots,
                                  .pool_id = pool_id };
    set->count++;
    return 0;
}

const tp_pool_t *tp_pool_select(const tp_pool_set_t *set, uint32_t len)
{
    for (uint32_t i = 0; i < set->count; i++) { /* ascending stride: first fit is smallest */
        if (set->pools[i].stride_bytes >= len) return &set->pools[i];
    }
    return NULL;
}

const tp_pool_t *tp_pool_find(const tp_pool_set_t *set, uint16_t pool_id)
{
    for (uint32_t i = 0; i < set->count; i++) {
        if (set->pools[i].pool_id == pool_id) return &set->pools[i];
    }
    return NULL;
}

/* ---- interop pattern --------------------------------------------------------------------- */

#define BYTES_ONE 0x0101010101010101ull
#define BYTES_HIGH 0x8080808080808080ull
#define BYTES_RAMP 0x0706050403020100ull /* byte k = k */

/* Byte-wise addition modulo 256 in every lane, no carry between lanes (SWAR); a constant
 * expression, for the table below. */
#define BYTES_ADD(x, y) ((((x) & ~BYTES_HIGH) + ((y) & ~BYTES_HIGH)) ^ (((x) ^ (y)) & BYTES_HIGH))

/* ramp_words[c] = the 8 bytes c, c+1, ..., c+7 (mod 256). From offset 16 on, the pattern's 8
 * bytes at offset i are ramp_words[(seq + i) & 0xff]: one load per word, no carry chain. */
#define RAMP_1(c) BYTES_ADD(BYTES_ONE * (uint64_t)(c), BYTES_RAMP),
#define RAMP_4(c) RAMP_1(c) RAMP_1((c) + 1) RAMP_1((c) + 2) RAMP_1((c) + 3)
#define RAMP_16(c) RAMP_4(c) RAMP_4((c) + 4) RAMP_4((c) + 8) RAMP_4((c) + 12)
#define RAMP_64(c) RAMP_16(c) RAMP_16((c) + 16) RAMP_16((c) + 32) RAMP_16((c) + 48)
static const uint64_t ramp_words[256] = { RAMP_64(0) RAMP_64(64) RAMP_64(128) RAMP_64(192) };

/* The expected 8 bytes at frame offset i >= 16. */
static inline uint64_t pattern_word(uint64_t seq, size_t i)
{
    return ramp_words[(uint8_t)(seq + i)];
}

/* Expected byte at offset i (head and tail bytes only: at most 7 + 7 per call). */
static inline uint8_t pattern_byte(uint64_t seq, size_t i)
{
    if (i < 8) return (uint8_t)(seq >> (8 * i));
    if (i < 16) return (uint8_t)(~seq >> (8 * (i - 8)));
    return (uint8_t)(seq + i);
}

/* Expected 8 bytes at offset i < 16 of a misaligned frame: a window on seq, ~seq and the ramp
 * from 16, cut out with shifts (the second one split so that i % 8 == 0 is defined). */
static inline uint64_t pattern_head_word(uint64_t seq, size_t i)
{
    const uint64_t w[3] = { seq, ~seq, pattern_word(seq, 16) };
    unsigned sh = 8u * (unsigned)(i & 7u);
    return w[i >> 3] >> sh | (w[(i >> 3) + 1] << (63u - sh)) << 1;
}

#define STORE8(p, v) atomic_store_explicit((_Atomic uint64_t *)(void *)(p), (v), memory_order_relaxed)
#define LOAD8(p) atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)(p), memory_order_relaxed)
#define STORE1(p, v) atomic_store_explicit((_Atomic uint8_t *)(p), (v), memory_order_relaxed)
#define LOAD1(p) atomic_load_explicit((_Atomic uint8_t *)(uintptr_t)(p), memory_order_relaxed)

/* Both functions use aligned 8-byte atomics (plain moves) wherever they can:
 *  - 8-byte aligned start, len >= 16 (every pool slot): words seq and ~seq, then the ramp;
 *  - otherwise up to 7 single bytes to reach alignment, words at offsets < 16 cut out of
 *    (seq, ~seq, ramp), then the ramp;
 * then the ramp words from the table up to the last whole word, and up to 7 single tail bytes. */
void tp_pattern_fill(void *dst, size_t len, uint64_t seq)
{
    uint8_t *p = dst;
    size_t i = 0;
    /* Relaxed: the memory is shared with readers; ordering comes from the seqlock fences. */
    if (((uintptr_t)p & 7u) == 0 && len >= 16) {
        STORE8(p, seq);
        STORE8(p + 8, ~seq);
        i = 16;
    } else {
        size_t head = (8u - ((uintptr_t)p & 7u)) & 7u;
        for (; i < head && i < len; i++) STORE1(p + i, pattern_byte(seq, i));
        for (; i < 16 && i + 8 <= len; i += 8) STORE8(p + i, pattern_head_word(seq, i));
    }
    for (; i + 8 <= len; i += 8) STORE8(p + i, pattern_word(seq, i));
    for (; i < len; i++) STORE1(p + i, pattern_byte(seq, i));
}

int tp_pattern_verify(const void *src, size_t len, uint64_t seq)
{
    const uint8_t *p = src;
    size_t i = 0;
    /* Relaxed: the writer may be overwriting these bytes right now; the caller's seqlock
     * intact-check (acquire fence + reload) decides whether the result counts. */
    if (((uintptr_t)p & 7u) == 0 && len >= 16) {
        if (LOAD8(p) != seq || LOAD8(p + 8) != ~seq) return -1;
        i = 16;
    } else {
        size_t head = (8u - ((uintptr_t)p & 7u)) & 7u;
        for (; i < head && i < len; i++) {
            if (LOAD1(p + i) != pattern_byte(seq, i)) return -1;
        }
        for (; i < 16 && i + 8 <= len; i += 8) {
            if (LOAD8(p + i) != pattern_head_word(seq, i)) return -1;
        }
    }
    for (; i + 8 <= len; i += 8) {
        if (LOAD8(p + i) != pattern_word(seq, i)) return -1;
    }
    for (; i < len; i++) {
        if (LOAD1(p + i) != pattern_byte(seq, i)) return -1;
    }
    return 0;
}

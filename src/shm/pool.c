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
#define BYTES_STEP 0x0808080808080808ull /* every byte + 8: the next word */

static uint8_t pattern_byte(uint64_t seq, size_t i)
{
    if (i < 8) return (uint8_t)(seq >> (8 * i));
    if (i < 16) return (uint8_t)(~seq >> (8 * (i - 8)));
    return (uint8_t)(seq + i);
}

/* Byte-wise addition modulo 256 in every lane, no carry between lanes (SWAR). */
static uint64_t bytes_add(uint64_t x, uint64_t y)
{
    return ((x & ~BYTES_HIGH) + (y & ~BYTES_HIGH)) ^ ((x ^ y) & BYTES_HIGH);
}

/* The expected 8 bytes at frame offset i >= 16. */
static uint64_t pattern_word(uint64_t seq, size_t i)
{
    return bytes_add(BYTES_ONE * (uint8_t)(seq + i), BYTES_RAMP);
}

/* First offset >= 16 (or len) at which p + offset is 8-byte aligned. */
static size_t word_start(const void *p, size_t len)
{
    size_t o = 16 + ((8 - (((uintptr_t)p + 16) & 7)) & 7);
    return o < len ? o : len;
}

void tp_pattern_fill(void *dst, size_t len, uint64_t seq)
{
    uint8_t *p = dst;
    size_t i = 0, start = word_start(p, len);
    /* Relaxed: the memory is shared with readers; ordering comes from the seqlock fences. */
    for (; i < start; i++)
        atomic_store_explicit((_Atomic uint8_t *)(p + i), pattern_byte(seq, i), memory_order_relaxed);
    uint64_t w = pattern_word(seq, i);
    for (; i + 8 <= len; i += 8, w = bytes_add(w, BYTES_STEP))
        atomic_store_explicit((_Atomic uint64_t *)(void *)(p + i), w, memory_order_relaxed);
    for (; i < len; i++)
        atomic_store_explicit((_Atomic uint8_t *)(p + i), pattern_byte(seq, i), memory_order_relaxed);
}

int tp_pattern_verify(const void *src, size_t len, uint64_t seq)
{
    const uint8_t *p = src;
    size_t i = 0, start = word_start(p, len);
    /* Relaxed: the writer may be overwriting these bytes right now; the caller's seqlock
     * intact-check (acquire fence + reload) decides whether the result counts. */
    for (; i < start; i++) {
        if (atomic_load_explicit((_Atomic uint8_t *)(uintptr_t)(p + i), memory_order_relaxed) !=
            pattern_byte(seq, i))
            return -1;
    }
    uint64_t w = pattern_word(seq, i);
    for (; i + 8 <= len; i += 8, w = bytes_add(w, BYTES_STEP)) {
        if (atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)(p + i), memory_order_relaxed) != w)
            return -1;
    }
    for (; i < len; i++) {
        if (atomic_load_explicit((_Atomic uint8_t *)(uintptr_t)(p + i), memory_order_relaxed) !=
            pattern_byte(seq, i))
            return -1;
    }
    return 0;
}

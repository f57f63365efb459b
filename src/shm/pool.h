/*
 * Payload pools (WIRE §7): geometry of a mapped pool, the set of a stream's pools with
 * smallest-fit selection (W-57, W-58), and the interop payload pattern.
 *
 * Pool region (W-52): 64-byte superblock, then nslots slots of stride_bytes each; the payload
 * of frame seq lives in slot seq & (nslots-1) of the pool its header names (W-55).
 *
 * Ownership: a tp_pool_t / tp_pool_set_t only points into mappings the caller owns (for
 * instance tp_region_t); it never maps or unmaps. Threading: the set is filled at setup time
 * and read-only afterwards, so any number of threads may select/find concurrently.
 */
#ifndef TP_SHM_POOL_H
#define TP_SHM_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "shm/layout.h"

#define TP_POOLS_MAX 16u

typedef struct tp_pool {
    uint8_t *slots;        /* region base + 64: payload slot 0 */
    uint32_t stride_bytes; /* power of two >= 64 (W-53) */
    uint32_t nslots;       /* == header ring nslots (W-54) */
    uint16_t pool_id;
} tp_pool_t;

/* A stream's pools, kept sorted by stride_bytes (ascending) for W-57. */
typedef struct tp_pool_set {
    tp_pool_t pools[TP_POOLS_MAX];
    uint32_t count;
} tp_pool_set_t;

void tp_pool_set_init(tp_pool_set_t *set);

/* Add a pool mapped at region_base (superblock at byte 0) of region_size bytes.
 * Checks: stride a power of two >= 64 (W-53), nslots a power of two, region_size >=
 * 64 + nslots*stride, pool_id not yet present, room left. Does not read the superblock
 * (tp_region_map validated it). Returns 0, or -1 with TP_EINVAL. */
int tp_pool_set_add(tp_pool_set_t *set, uint16_t pool_id, void *region_base, size_t region_size,
                    uint32_t nslots, uint32_t stride_bytes);

/* W-57: the pool with the smallest stride_bytes >= len; NULL when none fits (W-58: the
 * producer drops the frame). Hot path: no error is set. */
const tp_pool_t *tp_pool_select(const tp_pool_set_t *set, uint32_t len);

/* The pool with this id, or NULL (W-61 REF: consumers drop the frame). */
const tp_pool_t *tp_pool_find(const tp_pool_set_t *set, uint16_t pool_id);

/* Payload slot `index` (< nslots; not checked). */
static inline uint8_t *tp_pool_slot(const tp_pool_t *p, uint32_t index)
{
    return p->slots + (size_t)index * p->stride_bytes;
}

/* ---- interop payload pattern ------------------------------------------------------------
 * Bytes 0..7 = seq (LE), 8..15 = ~seq (LE), byte i = (seq + i) & 0xff for i >= 16. Frames
 * shorter than 16 bytes carry the prefix that fits. The same pattern is written and checked
 * by the Julia interop tests, the CLI (--pattern interop / --verify interop), the demo and
 * the torn-read hunt.
 *
 * Both functions access memory with relaxed atomic 8-byte (and 1-byte) operations: payload
 * memory is shared with a writer that may overwrite it at any time (the seqlock only decides
 * afterwards whether what was read counts). Relaxed loads/stores compile to plain moves on
 * x86-64 and AArch64 but keep the concurrent access defined in C11 and quiet under TSan.
 * About 8 bytes per iteration, no allocation, no system call. */
void tp_pattern_fill(void *dst, size_t len, uint64_t seq);

/* 0 if the len bytes at src carry the pattern of seq, -1 at the first mismatch. */
int tp_pattern_verify(const void *src, size_t len, uint64_t seq);

#endif

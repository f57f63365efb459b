/*
 * Header ring slot access and the seqlock commit protocol (WIRE §5, §8, §9; LAYOUT §4.4).
 *
 * The writer (exactly one process per stream, W-13) publishes frame `seq` into header slot
 * i = seq & (nslots-1) and payload slot i of one pool (W-55):
 *
 *   writer                                         reader (given seq)
 *   ------                                         ------
 *   store_release(seq_commit, seq<<1)   (W-65.2)   first = load_acquire(seq_commit)  (W-67.3)
 *   fence(release)                      (W-73a)    first even            -> DROP
 *   payload bytes -> pool slot i        (W-65.3)   copy the field words (relaxed loads)
 *   slot words 1..31 (relaxed stores)   (W-65.4)   embedded header check (W-33)
 *   store_release(seq_commit, seq<<1|1) (W-65.6)   fence(acquire); second = load_acquire  (W-73b)
 *                                                  second != first / even -> DROP
 *                                                  validate the private copy (W-75 8-11)
 *                                                  ... read payload in place ...
 *                                                  fence(acquire); reload == second ? (W-74)
 *
 * Slot words 1..31 (bytes 8..255) are all written, every frame, with relaxed 8-byte atomic
 * stores of values composed in registers; the words holding fields (all of bytes 0..146
 * except the reserved 40..55) are read back with relaxed 8-byte atomic loads into a private
 * copy (the reserved tail 147..255 is never validated, so never read): the
 * data race a seqlock tolerates is then a race between atomics, which C11 defines and TSan
 * accepts, and the release fence / acquire fence pair orders them against seq_commit. On
 * x86-64 and AArch64 they are ordinary 8-byte moves. All validation reads the private copy;
 * nothing in the slot is read again after the second load (W-67).
 *
 * No function here allocates, locks, makes a system call or sets the thread-local error,
 * except tp_ring_init (setup time). Threading: one writer per ring; any number of readers,
 * each with its own tp_ring_reader_t.
 */
#ifndef TP_SHM_RING_H
#define TP_SHM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/drop.h"
#include "shm/layout.h"
#include "shm/pool.h"
#include "shm/tensor.h"
#include "util/atomics.h"

typedef struct tp_ring {
    uint8_t *slots; /* region base + 64: header slot 0 */
    uint32_t nslots;
    uint32_t mask;  /* nslots - 1 */
} tp_ring_t;

/* View the header ring mapped at region_base (superblock at byte 0, page aligned) with
 * nslots slots. Checks nslots is a power of two and region_size >= 64 + nslots*256.
 * Returns 0, or -1 with TP_EINVAL. Does not read the superblock. */
int tp_ring_init(tp_ring_t *r, void *region_base, size_t region_size, uint32_t nslots);

static inline uint32_t tp_ring_index(const tp_ring_t *r, uint64_t seq)
{
    return (uint32_t)(seq & r->mask); /* W-27 / header_index */
}

static inline tp_slot_t *tp_ring_slot(const tp_ring_t *r, uint64_t seq)
{
    return (tp_slot_t *)(void *)(r->slots + (size_t)tp_ring_index(r, seq) * TP_HEADER_SLOT_BYTES);
}

/* seq_commit of a slot (W-34, W-72). */
static inline uint64_t tp_slot_seq_commit_load(const tp_slot_t *s)
{
    /* Acquire: slot/payload loads after this see the writes made before the store read. */
    return tp_load_acquire_u64(s) /* seq_commit is slot byte 0 */;
}

static inline uint64_t tp_seq_commit_writing(uint64_t seq) { return seq << 1; }
static inline uint64_t tp_seq_commit_committed(uint64_t seq) { return (seq << 1) | 1u; }

/* ---- writer ------------------------------------------------------------------------------ */

/* A claimed slot between tp_ring_write_begin and tp_ring_write_commit. */
typedef struct tp_ring_claim {
    tp_slot_t *slot;   /* header slot (shared) */
    uint8_t *payload;  /* pool slot: write up to `capacity` bytes here, in place */
    uint64_t seq;
    uint32_t index;    /* header_index = payload_slot */
    uint32_t capacity; /* pool stride_bytes */
    uint16_t pool_id;
} tp_ring_claim_t;

/* Zero-copy writer, step 1 (W-65.1-2, W-73a): mark slot seq&mask in progress (even word),
 * then a release fence so no payload/header write below becomes visible before it.
 * `pool` is the pool the payload goes to (tp_pool_select). Never fails, never waits (W-148). */
void tp_ring_write_begin(const tp_ring_t *r, const tp_pool_t *pool, uint64_t seq,
                         tp_ring_claim_t *c);

/* Step 2 is the caller's: write the payload into c->payload (<= c->capacity bytes). */

/* Step 3 (W-65.4): overwrite the whole slot except seq_commit: SlotHeader block (payload_slot
 * = index, payload_offset 0, reserved zero), headerBytes length and the embedded TensorHeader
 * from *t. values_len must be <= c->capacity (not checked: the producer's contract). */
void tp_ring_write_header(const tp_ring_claim_t *c, uint32_t values_len, uint64_t timestamp_ns,
                          uint32_t meta_version, const tp_tensor_desc_t *t);

/* Step 4 (W-65.6): release-store the committed word. Only after this may a descriptor for
 * c->seq be published (W-65.7). */
void tp_ring_write_commit(const tp_ring_claim_t *c);

/* Abandon a claim: the slot stays in progress (even) and every reader drops it until the
 * slot is written again. Provided for symmetry with claim/commit; does nothing else. */
static inline void tp_ring_write_abort(const tp_ring_claim_t *c) { (void)c; }

#define TP_RING_NO_POOL (-2) /* W-58: no pool is large enough; nothing was written */

/* Copying convenience: select the pool (W-57), begin, memcpy len bytes, write header, commit.
 * Returns 0, or TP_RING_NO_POOL (no error set: the frame is dropped by the producer). */
int tp_ring_write(const tp_ring_t *r, const tp_pool_set_t *pools, uint64_t seq, const void *data,
                  uint32_t len, uint64_t timestamp_ns, uint32_t meta_version,
                  const tp_tensor_desc_t *t);

/* ---- reader ------------------------------------------------------------------------------ */

/* A validated frame. Header fields come from the private copy checked under the seqlock;
 * `data` points into the pool mapping and is only trustworthy while tp_ring_frame_intact()
 * holds after the caller has finished reading it (W-74). Valid as long as the mappings. */
typedef struct tp_frame_view {
    uint64_t seq;
    uint64_t commit_word;      /* the accepted (seq << 1) | 1 */
    const tp_slot_t *slot;     /* shared header slot: for the intact check */
    uint32_t header_index;
    uint32_t values_len_bytes;
    uint16_t pool_id;
    uint32_t stride_bytes;     /* of the pool */
    uint64_t timestamp_ns;
    uint32_t meta_version;
    tp_tensor_desc_t tensor;   /* as published (strides may be 0 = inferred) */
    int64_t strides[TP_MAX_DIMS]; /* effective strides (W-45 inference); 0 past ndims */
    const uint8_t *data;       /* pool base + 64 + payload_slot * stride (W-46) */
    uint32_t len;              /* = values_len_bytes; 0 is a valid frame (W-62) */
} tp_frame_view_t;

/* One stateless read attempt for seq: W-75 steps 4, 5, 6, 8 (with last_commit as the W-69
 * memory of this slot; pass 0 for none), 9, 10, 11. Fills *out and returns TP_DROP_NONE on
 * acceptance, else the first failing reason (*out then unspecified). Counts nothing. */
tp_drop_reason_t tp_ring_read_slot(const tp_ring_t *r, const tp_pool_set_t *pools, uint64_t seq,
                                   uint64_t last_commit, tp_frame_view_t *out);

/* Reader state: the W-69 per-slot memory and the drop counters (W-147). */
typedef struct tp_ring_reader {
    tp_ring_t ring;
    const tp_pool_set_t *pools; /* borrowed; must outlive the reader */
    uint64_t *last_commit;      /* nslots words, caller-owned; NULL disables W-69 */
    uint64_t accepted;
    uint64_t drops_late;        /* every reason counts here (W-75) */
    uint64_t drops[TP_DROP_COUNT];
} tp_ring_reader_t;

/* last_commit (may be NULL) must hold ring->nslots words; it is zeroed here. */
void tp_ring_reader_init(tp_ring_reader_t *rd, const tp_ring_t *ring, const tp_pool_set_t *pools,
                         uint64_t *last_commit);

/* tp_ring_read_slot + counting + W-75 step 13 (remember the accepted word for this slot).
 * Returns TP_DROP_NONE with *out filled, or the drop reason (counted). */
tp_drop_reason_t tp_ring_read(tp_ring_reader_t *rd, uint64_t seq, tp_frame_view_t *out);

/* Forget every slot's accepted word (after a remap / new epoch). */
void tp_ring_reader_reset(tp_ring_reader_t *rd);

/* W-74: call after reading the payload in place. true if the slot still holds the accepted
 * commit word, i.e. every byte read since tp_ring_read() belongs to frame f->seq. */
static inline bool tp_ring_frame_intact(const tp_frame_view_t *f)
{
    /* Acquire fence: the caller's payload loads above complete before the reload below. */
    tp_fence_acquire();
    /* Acquire load: (pairs with the writer's release stores) an overwrite that began before
     * our payload loads is seen here as a different word. */
    return tp_slot_seq_commit_load(f->slot) == f->commit_word;
}

#endif

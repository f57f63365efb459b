/* Header ring + seqlock writer/reader. WIRE §5, §8 (W-64 .. W-75), §7 (W-55 .. W-61). */
#include "shm/ring.h"

#include <stdatomic.h>
#include <string.h>

#include "util/error.h"

#define SLOT_WORDS (TP_HEADER_SLOT_BYTES / 8u)

_Static_assert(TP_HEADER_SLOT_BYTES % 8u == 0, "slot is whole words");

/* Test seams: tests/unit/test_shm_ring.c compiles this file with these defined to change the
 * slot at the two points of the read where a concurrent writer could, deterministically.
 * Empty in every real build. */
#ifndef TP_RING_AFTER_FIRST_LOAD
#define TP_RING_AFTER_FIRST_LOAD(slot) ((void)0)
#endif
#ifndef TP_RING_BETWEEN_LOADS
#define TP_RING_BETWEEN_LOADS(slot) ((void)0)
#endif

/* ---- drop reason table ------------------------------------------------------------------- */

const char *tp_drop_reason_name(int reason)
{
    switch (reason) {
#define TP_DROP_NAME_CASE(name, value, rule, desc) case value: return #name;
        TP_DROP_TABLE(TP_DROP_NAME_CASE)
#undef TP_DROP_NAME_CASE
    default: return "TP_DROP_INVALID";
    }
}

const char *tp_drop_reason_key(int reason)
{
    static const char *const keys[TP_DROP_COUNT] = {
        "accepted", "not_committed", "bad_embedded_header", "commit_changed", "commit_word",
        "stale_slot", "seq_mismatch", "payload_slot", "payload_offset", "dtype", "major_order",
        "ndims", "dims", "strides", "progress", "pool_unknown", "length",
    };
    return reason >= 0 && reason < TP_DROP_COUNT ? keys[reason] : "invalid";
}

const char *tp_drop_reason_rule(int reason)
{
    switch (reason) {
#define TP_DROP_RULE_CASE(name, value, rule, desc) case value: return rule;
        TP_DROP_TABLE(TP_DROP_RULE_CASE)
#undef TP_DROP_RULE_CASE
    default: return "?";
    }
}

const char *tp_drop_reason_desc(int reason)
{
    switch (reason) {
#define TP_DROP_DESC_CASE(name, value, rule, desc) case value: return desc;
        TP_DROP_TABLE(TP_DROP_DESC_CASE)
#undef TP_DROP_DESC_CASE
    default: return "not a drop reason";
    }
}

/* ---- ring ---------------------------------------------------------------------------------- */

int tp_ring_init(tp_ring_t *r, void *region_base, size_t region_size, uint32_t nslots)
{
    if (!tp_is_pow2_u32(nslots))
        return tp_err_set(TP_EINVAL, "header ring: nslots %u is not a power of two (W-26)", nslots);
    if (region_base == NULL || region_size < tp_ring_file_size(nslots))
        return tp_err_set(TP_EINVAL, "header ring: mapping of %zu bytes is smaller than %llu",
                          region_size, (unsigned long long)tp_ring_file_size(nslots));
    if (((uintptr_t)region_base & 63u) != 0)
        return tp_err_set(TP_EINVAL, "header ring: mapping not 64-byte aligned (W-34)");
    r->slots = (uint8_t *)region_base + TP_SUPERBLOCK_SIZE;
    r->nslots = nslots;
    r->mask = nslots - 1;
    return 0;
}

/* A private slot image, addressable as words or as the packed overlay. */
typedef union slot_image {
    uint64_t w[SLOT_WORDS];
    tp_slot_t s;
} slot_image_t;

static _Atomic uint64_t *slot_word(const tp_slot_t *s, uint32_t i)
{
    return (_Atomic uint64_t *)(uintptr_t)((const uint8_t *)s + 8u * i);
}

/* ---- writer ------------------------------------------------------------------------------ */

void tp_ring_write_begin(const tp_ring_t *r, const tp_pool_t *pool, uint64_t seq,
                         tp_ring_claim_t *c)
{
    c->index = tp_ring_index(r, seq);
    c->slot = tp_ring_slot(r, seq);
    c->seq = seq;
    c->pool_id = pool->pool_id;
    c->capacity = pool->stride_bytes;
    c->payload = tp_pool_slot(pool, c->index); /* W-55: payload_slot = header_index */
    /* Release: the in-progress word is ordered after everything this slot held before. */
    tp_store_release_u64(c->slot /* seq_commit @0 */, tp_seq_commit_writing(seq));
    /* Release fence (W-73a): the payload and header stores below cannot become visible
     * before the even word; a reader that sees any of them sees the slot in progress. */
    tp_fence_release();
}

void tp_ring_write_header(const tp_ring_claim_t *c, uint32_t values_len, uint64_t timestamp_ns,
                          uint32_t meta_version, const tp_tensor_desc_t *t)
{
    slot_image_t img;
    memset(&img, 0, sizeof img); /* W-65.4: full overwrite, reserved bytes zero */
    img.s.values_len_bytes = values_len;
    img.s.payload_slot = c->index;
    img.s.pool_id = c->pool_id;
    img.s.payload_offset = 0; /* W-59 */
    img.s.timestamp_ns = timestamp_ns;
    img.s.meta_version = meta_version;
    tp_tensor_header_encode(&img.s, t);
    /* Relaxed: ordered after the even word by the fence in write_begin and before the
     * committed word by its release store. Word 0 (seq_commit) is not touched here. */
    for (uint32_t i = 1; i < SLOT_WORDS; i++)
        atomic_store_explicit(slot_word(c->slot, i), img.w[i], memory_order_relaxed);
}

void tp_ring_write_commit(const tp_ring_claim_t *c)
{
    /* Release (W-65.6, W-66): payload and header stores above are visible to any reader
     * whose acquire load sees the committed word. */
    tp_store_release_u64(c->slot /* seq_commit @0 */, tp_seq_commit_committed(c->seq));
}

int tp_ring_write(const tp_ring_t *r, const tp_pool_set_t *pools, uint64_t seq, const void *data,
                  uint32_t len, uint64_t timestamp_ns, uint32_t meta_version,
                  const tp_tensor_desc_t *t)
{
    const tp_pool_t *pool = tp_pool_select(pools, len);
    tp_ring_claim_t c;
    if (pool == NULL) return TP_RING_NO_POOL; /* W-58 */
    tp_ring_write_begin(r, pool, seq, &c);
    if (len > 0) memcpy(c.payload, data, len);
    tp_ring_write_header(&c, len, timestamp_ns, meta_version, t);
    tp_ring_write_commit(&c);
    return 0;
}

/* ---- reader ------------------------------------------------------------------------------ */

/* W-75 steps 4-6: two loads around a private copy. Returns the reason; *second on success. */
static tp_drop_reason_t copy_under_seqlock(const tp_slot_t *shared, slot_image_t *img,
                                           uint64_t *second_out)
{
    uint64_t first = tp_slot_seq_commit_load(shared); /* acquire: copy below reads after it */
    if ((first & 1u) == 0) return TP_DROP_NOT_COMMITTED;
    TP_RING_AFTER_FIRST_LOAD(shared);
    /* Relaxed: the writer may be storing these words right now; the fence + second load
     * below decide whether the copy is a consistent snapshot. */
    for (uint32_t i = 0; i < SLOT_WORDS; i++)
        img->w[i] = atomic_load_explicit(slot_word(shared, i), memory_order_relaxed);
    tp_drop_reason_t r = tp_tensor_check_embedded(&img->s); /* W-75 step 5, from the copy */
    if (r != TP_DROP_NONE) return r;
    /* Acquire fence (W-73b): the copy's loads complete before the second load. */
    tp_fence_acquire();
    TP_RING_BETWEEN_LOADS(shared);
    /* Acquire (W-67.6): a writer that began overwriting before our copy shows up here. */
    uint64_t second = tp_slot_seq_commit_load(shared);
    if (second != first || (second & 1u) == 0) return TP_DROP_COMMIT_CHANGED;
    *second_out = second;
    return TP_DROP_NONE;
}

/* W-75 step 8 (W-69, W-71). */
static tp_drop_reason_t check_identity(const slot_image_t *img, uint64_t second, uint64_t seq,
                                       uint64_t last_commit)
{
    if (img->s.seq_commit != second) return TP_DROP_COMMIT_WORD;
    if (second < last_commit) return TP_DROP_STALE_SLOT;
    if ((second >> 1) != seq) return TP_DROP_SEQ_MISMATCH;
    return TP_DROP_NONE;
}

/* W-75 step 9 (W-61, W-59). */
static tp_drop_reason_t check_payload_ref(const tp_ring_t *r, const slot_image_t *img,
                                          uint32_t index)
{
    if (img->s.payload_slot >= r->nslots || img->s.payload_slot != index)
        return TP_DROP_PAYLOAD_SLOT;
    if (img->s.payload_offset != 0) return TP_DROP_PAYLOAD_OFFSET;
    return TP_DROP_NONE;
}

/* W-75 step 11 (W-61 REF, W-60); fills the data pointer. */
static tp_drop_reason_t check_pool(const tp_pool_set_t *pools, const slot_image_t *img,
                                   tp_frame_view_t *out)
{
    const tp_pool_t *pool = tp_pool_find(pools, img->s.pool_id);
    if (pool == NULL || pool->slots == NULL) return TP_DROP_POOL_UNKNOWN;
    if (img->s.payload_slot >= pool->nslots) return TP_DROP_PAYLOAD_SLOT; /* W-54 guard */
    if (img->s.values_len_bytes > pool->stride_bytes) return TP_DROP_LENGTH;
    out->stride_bytes = pool->stride_bytes;
    out->data = tp_pool_slot(pool, img->s.payload_slot);
    return TP_DROP_NONE;
}

static void fill_view(const slot_image_t *img, const tp_slot_t *shared, uint64_t seq,
                      uint64_t second, uint32_t index, tp_frame_view_t *out)
{
    out->seq = seq;
    out->commit_word = second;
    out->slot = shared;
    out->header_index = index;
    out->values_len_bytes = img->s.values_len_bytes;
    out->len = img->s.values_len_bytes;
    out->pool_id = img->s.pool_id;
    out->timestamp_ns = img->s.timestamp_ns;
    out->meta_version = img->s.meta_version;
}

tp_drop_reason_t tp_ring_read_slot(const tp_ring_t *r, const tp_pool_set_t *pools, uint64_t seq,
                                   uint64_t last_commit, tp_frame_view_t *out)
{
    const tp_slot_t *shared = tp_ring_slot(r, seq);
    uint32_t index = tp_ring_index(r, seq);
    slot_image_t img;
    uint64_t second = 0;
    tp_drop_reason_t rc;

    if ((rc = copy_under_seqlock(shared, &img, &second)) != TP_DROP_NONE) return rc;
    /* From here on only the private copy is read (W-67). */
    if ((rc = check_identity(&img, second, seq, last_commit)) != TP_DROP_NONE) return rc;
    if ((rc = check_payload_ref(r, &img, index)) != TP_DROP_NONE) return rc;
    tp_tensor_header_decode(&img.s, &out->tensor);
    if ((rc = tp_tensor_validate(&out->tensor, out->strides)) != TP_DROP_NONE) return rc;
    if ((rc = check_pool(pools, &img, out)) != TP_DROP_NONE) return rc;
    fill_view(&img, shared, seq, second, index, out);
    return TP_DROP_NONE;
}

void tp_ring_reader_init(tp_ring_reader_t *rd, const tp_ring_t *ring, const tp_pool_set_t *pools,
                         uint64_t *last_commit)
{
    memset(rd, 0, sizeof *rd);
    rd->ring = *ring;
    rd->pools = pools;
    rd->last_commit = last_commit;
    tp_ring_reader_reset(rd);
}

void tp_ring_reader_reset(tp_ring_reader_t *rd)
{
    if (rd->last_commit != NULL) memset(rd->last_commit, 0, sizeof(uint64_t) * rd->ring.nslots);
}

tp_drop_reason_t tp_ring_read(tp_ring_reader_t *rd, uint64_t seq, tp_frame_view_t *out)
{
    uint32_t index = tp_ring_index(&rd->ring, seq);
    uint64_t last = rd->last_commit != NULL ? rd->last_commit[index] : 0;
    tp_drop_reason_t rc = tp_ring_read_slot(&rd->ring, rd->pools, seq, last, out);
    if (rc != TP_DROP_NONE) {
        rd->drops_late++; /* W-75: every data-plane drop is a drops_late */
        rd->drops[rc]++;
        return rc;
    }
    if (rd->last_commit != NULL) rd->last_commit[index] = out->commit_word; /* W-75 step 13 */
    rd->accepted++;
    return TP_DROP_NONE;
}

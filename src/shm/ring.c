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
        "ndims", "dims", "strides", "progress", "pool_unknown", "length", "behind",
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

/* ---- slot words ----------------------------------------------------------------------------
 *
 * The writer composes slot words 1..31 in registers and stores them; the reader loads words
 * 0..READ_WORDS-1 and takes every field apart with shifts. Neither goes through a packed byte
 * image: building an image with 2/4-byte stores and then loading it as 8-byte words (or the
 * reverse for the fields that straddle a word boundary) defeats store-to-load forwarding and
 * costs a stall per word. The shifts below are the LAYOUT §4.4 offsets, pinned here: */
_Static_assert(offsetof(tp_slot_t, values_len_bytes) == 8 && offsetof(tp_slot_t, payload_slot) == 12,
               "word 1");
_Static_assert(offsetof(tp_slot_t, pool_id) == 16 && offsetof(tp_slot_t, payload_offset) == 18 &&
                   offsetof(tp_slot_t, timestamp_ns) == 22, "word 2 (timestamp runs into word 3)");
_Static_assert(offsetof(tp_slot_t, meta_version) == 30 && offsetof(tp_slot_t, reserved0) == 34,
               "words 3-4");
_Static_assert(offsetof(tp_slot_t, header_bytes_len) == 60 && offsetof(tp_slot_t, th_block_length) == 64 &&
                   offsetof(tp_slot_t, th_template_id) == 66 && offsetof(tp_slot_t, th_schema_id) == 68 &&
                   offsetof(tp_slot_t, th_version) == 70, "words 7-8");
_Static_assert(offsetof(tp_slot_t, dtype) == 72 && offsetof(tp_slot_t, major_order) == 74 &&
                   offsetof(tp_slot_t, ndims) == 76 && offsetof(tp_slot_t, pad_align) == 77 &&
                   offsetof(tp_slot_t, progress_unit) == 78 &&
                   offsetof(tp_slot_t, progress_stride_bytes) == 79, "word 9 (stride runs into 10)");
_Static_assert(offsetof(tp_slot_t, dims) == 83 && offsetof(tp_slot_t, strides) == 115 &&
                   offsetof(tp_slot_t, reserved1) == 147, "dims/strides: 64 bytes from byte 83");

/* Words 7 and 8: headerBytes length 192 at bytes 60..63; embedded header 184, 52, 900, 1. */
#define W7_HEADER_BYTES_LEN ((uint64_t)TP_TENSOR_HEADER_LEN << 32)
#define W8_EMBEDDED_HEADER                                                                   \
    ((uint64_t)TP_TENSOR_HEADER_BLOCK_LEN | (uint64_t)TP_TENSOR_HEADER_TEMPLATE_ID << 16 |      \
     (uint64_t)TP_WIRE_SCHEMA_ID << 32 | (uint64_t)TP_WIRE_SCHEMA_VERSION << 48)

/* dims[0..7] then strides[0..7] form 64 bytes at slot bytes 83..146, i.e. from byte 3 of
 * word 10. Pair k (k = 0..7) is bytes 8k..8k+7 of that run: dims[2k], dims[2k+1] for k < 4,
 * then strides[2k-8], strides[2k-7]; so slot word 10+k = pair[k-1] >> 40 | pair[k] << 24. */
#define DIM_PAIRS 8u
#define DIM_WORD0 10u /* slot word holding byte 0 of the run (at its byte 3) */

/* The reader copies words 0..18 (bytes 0..151) except 5 and 6: everything up to the end of
 * strides[7] at byte 146. Bytes 40..55 and 147..255 are reserved, never validated or used
 * (W-29), so not read: W-67 needs what is validated or used to be read before the second
 * load, and nothing of the slot to be read after it. */
#define READ_WORDS (DIM_WORD0 + DIM_PAIRS + 1u)
_Static_assert(READ_WORDS * 8u >= offsetof(tp_slot_t, reserved1), "copy covers every field");

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

/* pair_masks[n][k]: which of entries 2k, 2k+1 of dims[] (or strides[]) a tensor of n <= 8
 * dims keeps; the others are encoded as 0 (W-39). */
#define PAIR_MASK(n, k)                                                                      \
    ((2u * (k) < (n) ? 0xffffffffull : 0u) | (2u * (k) + 1u < (n) ? 0xffffffff00000000ull : 0u))
#define PAIR_MASKS(n) { PAIR_MASK(n, 0), PAIR_MASK(n, 1), PAIR_MASK(n, 2), PAIR_MASK(n, 3) }
static const uint64_t pair_masks[TP_MAX_DIMS + 1][TP_MAX_DIMS / 2] = {
    PAIR_MASKS(0), PAIR_MASKS(1), PAIR_MASKS(2), PAIR_MASKS(3), PAIR_MASKS(4),
    PAIR_MASKS(5), PAIR_MASKS(6), PAIR_MASKS(7), PAIR_MASKS(8),
};

/* Entries i, i+1 of a (dims or strides) as the 8 bytes they occupy in the slot (LE, W-9). */
static inline uint64_t desc_pair(const int32_t *a, uint32_t i, uint64_t mask)
{
    uint64_t v;
    memcpy(&v, a + i, sizeof v);
    return v & mask;
}

void tp_ring_write_header(const tp_ring_claim_t *c, uint32_t values_len, uint64_t timestamp_ns,
                          uint32_t meta_version, const tp_tensor_desc_t *t)
{
    /* W-65.4: full overwrite of words 1..31, every reserved byte zero. The same bytes as
     * tp_tensor_header_encode() on a zeroed image with the SlotHeader fields set: pad_align 0
     * (W-49), progress stride 0 when the unit is NONE (W-48), dims/strides past ndims 0 (W-39),
     * payload_offset 0 (W-59). Composed in registers, stored once. */
    _Atomic uint64_t *w = slot_word(c->slot, 0);
    const uint32_t ndims = t->ndims; /* raw, as encoded; > 8 keeps all 8 entries */
    const uint32_t pstride = t->progress_unit == TP_PROGRESS_NONE ? 0u : t->progress_stride_bytes;
    const uint64_t *m = pair_masks[ndims < TP_MAX_DIMS ? ndims : TP_MAX_DIMS];
    const uint64_t p0 = desc_pair(t->dims, 0, m[0]), p1 = desc_pair(t->dims, 2, m[1]);
    const uint64_t p2 = desc_pair(t->dims, 4, m[2]), p3 = desc_pair(t->dims, 6, m[3]);
    const uint64_t p4 = desc_pair(t->strides, 0, m[0]), p5 = desc_pair(t->strides, 2, m[1]);
    const uint64_t p6 = desc_pair(t->strides, 4, m[2]), p7 = desc_pair(t->strides, 6, m[3]);

    /* Relaxed: ordered after the even word by the fence in write_begin and before the
     * committed word by its release store. Word 0 (seq_commit) is not touched here. */
#define PUT(i, v) atomic_store_explicit(&w[i], (uint64_t)(v), memory_order_relaxed)
    PUT(1, values_len | (uint64_t)c->index << 32);      /* values_len, payload_slot */
    PUT(2, c->pool_id | timestamp_ns << 48);            /* pool_id, payload_offset 0, ts */
    PUT(3, timestamp_ns >> 16 | (uint64_t)meta_version << 48);
    PUT(4, meta_version >> 16);                         /* then reserved 34..39 */
    PUT(5, 0);
    PUT(6, 0);
    PUT(7, W7_HEADER_BYTES_LEN);
    PUT(8, W8_EMBEDDED_HEADER);
    PUT(9, (uint16_t)t->dtype | (uint64_t)(uint16_t)t->major_order << 16 |
               (uint64_t)(uint8_t)ndims << 32 | /* pad_align 0 */
               (uint64_t)t->progress_unit << 48 | (uint64_t)(pstride & 0xffu) << 56);
    PUT(10, pstride >> 8 | p0 << 24);
    PUT(11, p0 >> 40 | p1 << 24);
    PUT(12, p1 >> 40 | p2 << 24);
    PUT(13, p2 >> 40 | p3 << 24);
    PUT(14, p3 >> 40 | p4 << 24);
    PUT(15, p4 >> 40 | p5 << 24);
    PUT(16, p5 >> 40 | p6 << 24);
    PUT(17, p6 >> 40 | p7 << 24);
    PUT(18, p7 >> 40);                                  /* then reserved 147..151 */
    PUT(19, 0); PUT(20, 0); PUT(21, 0); PUT(22, 0); PUT(23, 0); PUT(24, 0); PUT(25, 0);
    PUT(26, 0); PUT(27, 0); PUT(28, 0); PUT(29, 0); PUT(30, 0); PUT(31, 0);
#undef PUT
    _Static_assert(SLOT_WORDS == 32, "PUT list");
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

/* W-75 steps 4-6: two loads around a private copy of the words that hold fields (0..4,
 * 7..18). Returns the reason; *second on success. Always inlined: the copy then stays in
 * registers/whole-word spills, so the field extraction below never loads across two of the
 * 8-byte stores that made the copy (a failed store-to-load forward). */
static inline __attribute__((always_inline)) tp_drop_reason_t
copy_under_seqlock(const tp_slot_t *shared, uint64_t w[READ_WORDS], uint64_t *second_out)
{
    uint64_t first = tp_slot_seq_commit_load(shared); /* acquire: copy below reads after it */
    if ((first & 1u) == 0) return TP_DROP_NOT_COMMITTED;
    TP_RING_AFTER_FIRST_LOAD(shared);
    /* Relaxed: the writer may be storing these words right now; the fence + second load
     * below decide whether the copy is a consistent snapshot. */
    const _Atomic uint64_t *sw = slot_word(shared, 0);
#define GET(i) w[i] = atomic_load_explicit(&sw[i], memory_order_relaxed)
    GET(0); GET(1); GET(2); GET(3); GET(4); /* words 5, 6: bytes 40..55, reserved */
    GET(7); GET(8); GET(9); GET(10); GET(11); GET(12); GET(13); GET(14); GET(15); GET(16);
    GET(17); GET(18);
#undef GET
    w[5] = w[6] = 0; /* never looked at; keeps the copy fully defined */
    _Static_assert(READ_WORDS == 19, "GET list");
    /* W-75 step 5 (W-33), from the copy: headerBytes length (bytes 60..63) and the embedded
     * blockLength/templateId/schemaId/version (64..71); as tp_tensor_check_embedded(). */
    if ((w[7] >> 32) != TP_TENSOR_HEADER_LEN || w[8] != W8_EMBEDDED_HEADER)
        return TP_DROP_BAD_EMBEDDED_HEADER;
    /* Acquire fence (W-73b): the copy's loads complete before the second load. */
    tp_fence_acquire();
    TP_RING_BETWEEN_LOADS(shared);
    /* Acquire (W-67.6): a writer that began overwriting before our copy shows up here. */
    uint64_t second = tp_slot_seq_commit_load(shared);
    if (second != first || (second & 1u) == 0) return TP_DROP_COMMIT_CHANGED;
    *second_out = second;
    return TP_DROP_NONE;
}

/* SlotHeader fields of the private copy (LAYOUT §4.2). */
static inline uint32_t w_values_len(const uint64_t *w) { return (uint32_t)w[1]; }
static inline uint32_t w_payload_slot(const uint64_t *w) { return (uint32_t)(w[1] >> 32); }
static inline uint16_t w_pool_id(const uint64_t *w) { return (uint16_t)w[2]; }
static inline uint32_t w_payload_offset(const uint64_t *w) { return (uint32_t)(w[2] >> 16); }
static inline uint64_t w_timestamp_ns(const uint64_t *w) { return w[2] >> 48 | w[3] << 16; }
static inline uint32_t w_meta_version(const uint64_t *w)
{
    return (uint32_t)(w[3] >> 48) | (uint32_t)(uint16_t)w[4] << 16;
}

/* tp_tensor_header_decode() of the private copy (raw values, no checks). */
static inline void decode_tensor(const uint64_t *w, tp_tensor_desc_t *d)
{
    uint64_t w9 = w[9];
    d->dtype = (int16_t)(uint16_t)w9;
    d->major_order = (int16_t)(uint16_t)(w9 >> 16);
    d->ndims = (uint8_t)(w9 >> 32);
    d->progress_unit = (uint8_t)(w9 >> 48);
    d->progress_stride_bytes = (uint32_t)(w9 >> 56) | (uint32_t)(w[DIM_WORD0] << 8);
#define PAIR(a, i, k)                                                                        \
    do {                                                                                     \
        uint64_t pair = w[DIM_WORD0 + (k)] >> 24 | w[DIM_WORD0 + (k) + 1] << 40;             \
        memcpy(&(a)[i], &pair, sizeof pair); /* entries i, i+1 (LE, W-9) */                  \
    } while (0)
    PAIR(d->dims, 0, 0); PAIR(d->dims, 2, 1); PAIR(d->dims, 4, 2); PAIR(d->dims, 6, 3);
    PAIR(d->strides, 0, 4); PAIR(d->strides, 2, 5); PAIR(d->strides, 4, 6); PAIR(d->strides, 6, 7);
#undef PAIR
}

/* W-75 step 8 (W-69, W-71). */
static inline tp_drop_reason_t check_identity(const uint64_t *w, uint64_t second, uint64_t seq,
                                              uint64_t last_commit)
{
    if (w[0] != second) return TP_DROP_COMMIT_WORD;
    if (second < last_commit) return TP_DROP_STALE_SLOT;
    if ((second >> 1) != seq) return TP_DROP_SEQ_MISMATCH;
    return TP_DROP_NONE;
}

/* W-75 step 9 (W-61, W-59). */
static inline tp_drop_reason_t check_payload_ref(const tp_ring_t *r, const uint64_t *w,
                                                 uint32_t index)
{
    uint32_t payload_slot = w_payload_slot(w);
    if (payload_slot >= r->nslots || payload_slot != index) return TP_DROP_PAYLOAD_SLOT;
    if (w_payload_offset(w) != 0) return TP_DROP_PAYLOAD_OFFSET;
    return TP_DROP_NONE;
}

/* tp_pool_find(), inlined into the read path. */
static inline const tp_pool_t *find_pool(const tp_pool_set_t *set, uint16_t pool_id)
{
    for (uint32_t i = 0; i < set->count; i++) {
        if (set->pools[i].pool_id == pool_id) return &set->pools[i];
    }
    return NULL;
}

/* W-75 step 11 (W-61 REF, W-60); fills the data pointer. */
static inline tp_drop_reason_t check_pool(const tp_pool_set_t *pools, const uint64_t *w,
                                          tp_frame_view_t *out)
{
    const tp_pool_t *pool = find_pool(pools, w_pool_id(w));
    if (pool == NULL || pool->slots == NULL) return TP_DROP_POOL_UNKNOWN;
    if (w_payload_slot(w) >= pool->nslots) return TP_DROP_PAYLOAD_SLOT; /* W-54 guard */
    if (w_values_len(w) > pool->stride_bytes) return TP_DROP_LENGTH;
    out->stride_bytes = pool->stride_bytes;
    out->data = tp_pool_slot(pool, w_payload_slot(w));
    return TP_DROP_NONE;
}

static inline void fill_view(const uint64_t *w, const tp_slot_t *shared, uint64_t seq,
                             uint64_t second, uint32_t index, tp_frame_view_t *out)
{
    out->seq = seq;
    out->commit_word = second;
    out->slot = shared;
    out->header_index = index;
    out->values_len_bytes = w_values_len(w);
    out->len = w_values_len(w);
    out->pool_id = w_pool_id(w);
    out->timestamp_ns = w_timestamp_ns(w);
    out->meta_version = w_meta_version(w);
}

/* tp_ring_read_slot's body, inlined into tp_ring_read too (one call less per frame). */
static inline __attribute__((always_inline)) tp_drop_reason_t
read_slot(const tp_ring_t *r, const tp_pool_set_t *pools, uint64_t seq, uint64_t last_commit,
          tp_frame_view_t *out)
{
    const tp_slot_t *shared = tp_ring_slot(r, seq);
    uint32_t index = tp_ring_index(r, seq);
    uint64_t w[READ_WORDS];
    uint64_t second = 0;
    tp_drop_reason_t rc;

    if ((rc = copy_under_seqlock(shared, w, &second)) != TP_DROP_NONE) return rc;
    /* From here on only the private copy is read (W-67). */
    if ((rc = check_identity(w, second, seq, last_commit)) != TP_DROP_NONE) return rc;
    if ((rc = check_payload_ref(r, w, index)) != TP_DROP_NONE) return rc;
    decode_tensor(w, &out->tensor);
    if ((rc = tp_tensor_validate(&out->tensor, out->strides)) != TP_DROP_NONE) return rc;
    if ((rc = check_pool(pools, w, out)) != TP_DROP_NONE) return rc;
    fill_view(w, shared, seq, second, index, out);
    return TP_DROP_NONE;
}

tp_drop_reason_t tp_ring_read_slot(const tp_ring_t *r, const tp_pool_set_t *pools, uint64_t seq,
                                   uint64_t last_commit, tp_frame_view_t *out)
{
    return read_slot(r, pools, seq, last_commit, out);
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
    tp_drop_reason_t rc = read_slot(&rd->ring, rd->pools, seq, last, out);
    if (rc != TP_DROP_NONE) {
        rd->drops_late++; /* W-75: every data-plane drop is a drops_late */
        rd->drops[rc]++;
        return rc;
    }
    if (rd->last_commit != NULL) rd->last_commit[index] = out->commit_word; /* W-75 step 13 */
    rd->accepted++;
    return TP_DROP_NONE;
}

/*
 * Header ring + seqlock: WIRE §5, §7, §8 (W-55 .. W-75), LAYOUT §4.4/§6.
 *
 * ring.c is compiled into this test with its two test seams defined, so a "concurrent"
 * writer can change the slot at exactly the points of a read where a real one could
 * (after the first load; between the copy and the second load). The library's ring.o is
 * then not linked into this executable (every symbol it defines is defined here).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shm/layout.h"

static void (*hook_first)(uint8_t *slot);
static void (*hook_between)(uint8_t *slot);
static void run_hook(void (*h)(uint8_t *), const void *slot)
{
    if (h) h((uint8_t *)(uintptr_t)slot);
}
#define TP_RING_AFTER_FIRST_LOAD(slot) run_hook(hook_first, (slot))
#define TP_RING_BETWEEN_LOADS(slot) run_hook(hook_between, (slot))
#include "../../src/shm/ring.c"

#include "tensorpool/error.h"
#include "tp_test.h"

#define NSLOTS 8u

static _Alignas(4096) uint8_t ring_mem[64 + NSLOTS * 256];
static _Alignas(4096) uint8_t small_mem[64 + NSLOTS * 64];
static _Alignas(4096) uint8_t big_mem[64 + NSLOTS * 1024];

typedef struct fixture {
    tp_ring_t ring;
    tp_pool_set_t pools;
    uint64_t last[NSLOTS];
    tp_ring_reader_t rd;
    tp_frame_view_t v;
} fixture_t;

static fixture_t fx;

static void setup(void)
{
    memset(ring_mem, 0, sizeof ring_mem);
    memset(small_mem, 0, sizeof small_mem);
    memset(big_mem, 0, sizeof big_mem);
    memset(&fx, 0, sizeof fx);
    hook_first = hook_between = NULL;
    if (tp_ring_init(&fx.ring, ring_mem, sizeof ring_mem, NSLOTS) != 0) abort();
    tp_pool_set_init(&fx.pools);
    if (tp_pool_set_add(&fx.pools, 1, small_mem, sizeof small_mem, NSLOTS, 64) != 0) abort();
    if (tp_pool_set_add(&fx.pools, 2, big_mem, sizeof big_mem, NSLOTS, 1024) != 0) abort();
    tp_ring_reader_init(&fx.rd, &fx.ring, &fx.pools, fx.last);
}

static tp_tensor_desc_t bytes_desc(uint32_t len)
{
    tp_tensor_desc_t d;
    int32_t dims[1] = { (int32_t)len };
    tp_tensor_desc_contiguous(&d, TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, dims);
    return d;
}

/* Zero-copy write of an interop frame of len bytes. */
static void put(uint64_t seq, uint32_t len)
{
    tp_ring_claim_t c;
    tp_tensor_desc_t d = bytes_desc(len);
    tp_ring_write_begin(&fx.ring, tp_pool_select(&fx.pools, len), seq, &c);
    tp_pattern_fill(c.payload, len, seq);
    tp_ring_write_header(&c, len, 1000 + seq, 7, &d);
    tp_ring_write_commit(&c);
}

static tp_slot_t *slot_of(uint64_t seq) { return tp_ring_slot(&fx.ring, seq); }

static tp_drop_reason_t get(uint64_t seq) { return tp_ring_read(&fx.rd, seq, &fx.v); }

/* Write a good frame, corrupt it with f, expect the reason, and that it counted late. */
#define EXPECT_DROP_AFTER(seq, stmt, reason)                                     \
    do {                                                                         \
        setup();                                                                 \
        put((seq), 32);                                                          \
        { tp_slot_t *s = slot_of(seq); (void)s; stmt; }                          \
        TP_CHECK_EQ_U(get(seq), (reason));                                       \
        TP_CHECK_EQ_U(fx.rd.drops[(reason)], 1);                                 \
        TP_CHECK_EQ_U(fx.rd.drops_late, 1);                                      \
        TP_CHECK_EQ_U(fx.rd.accepted, 0);                                        \
    } while (0)

TP_TEST(test_ring_init_checks_geometry)
{
    tp_ring_t r;
    TP_CHECK_EQ_I(tp_ring_init(&r, ring_mem, sizeof ring_mem, 8), 0);
    TP_CHECK_EQ_I(tp_ring_init(&r, ring_mem, sizeof ring_mem, 6), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    TP_CHECK_EQ_I(tp_ring_init(&r, ring_mem, sizeof ring_mem, 0), -1);
    TP_CHECK_EQ_I(tp_ring_init(&r, ring_mem, sizeof ring_mem - 1, 8), -1);
    TP_CHECK_EQ_I(tp_ring_init(&r, ring_mem + 8, sizeof ring_mem - 8, 4), -1);
}

TP_TEST(test_wire_w027_slot_address_from_seq)
{
    setup();
    TP_CHECK((uint8_t *)slot_of(0) == ring_mem + 64);
    TP_CHECK((uint8_t *)slot_of(42) == ring_mem + 64 + 2 * 256); /* LAYOUT §4.5: offset 576 */
    TP_CHECK((uint8_t *)slot_of(15) == ring_mem + 64 + 7 * 256);
    TP_CHECK_EQ_U(tp_ring_index(&fx.ring, (1ull << 40) | 5u), 5);
}

TP_TEST(test_layout_s6_header_slot_vector_via_writer)
{
    /* LAYOUT §6: slot 2 of an 8-slot ring, seq 42, 6 bytes in pool 1, uint8 [2,3] strides [3,1]. */
    static const uint8_t head[0x80] = {
        0x55, 0, 0, 0, 0, 0, 0, 0, 0x06, 0, 0, 0, 0x02, 0, 0, 0,
        0x01, 0, 0, 0, 0, 0, 0xe7, 0x03, 0, 0, 0, 0, 0, 0, 0x07, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0,
        0xb8, 0, 0x34, 0, 0x84, 0x03, 0x01, 0, 0x01, 0, 0x01, 0, 0x02, 0, 0, 0,
        0, 0, 0, 0x02, 0, 0, 0, 0x03, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0x03, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    static const uint8_t zeros[0x80];
    setup();
    memset(ring_mem + 64 + 2 * 256, 0xCC, 256); /* stale garbage: the writer overwrites all */
    tp_tensor_desc_t d;
    int32_t dims[2] = { 2, 3 };
    tp_tensor_desc_contiguous(&d, TP_DTYPE_UINT8, TP_MAJOR_ROW, 2, dims);
    d.strides[0] = 3;
    d.strides[1] = 1;
    static const uint8_t payload[6] = { 1, 2, 3, 4, 5, 6 };
    TP_ASSERT(tp_ring_write(&fx.ring, &fx.pools, 42, payload, 6, 999, 7, &d) == 0);
    TP_CHECK(ring_mem + 576 == (uint8_t *)slot_of(42));
    TP_CHECK_MEM(ring_mem + 576, head, sizeof head);
    TP_CHECK_MEM(ring_mem + 576 + 0x80, zeros, sizeof zeros);
    TP_CHECK_MEM(small_mem + 64 + 2 * 64, payload, 6); /* W-55: payload slot = header index */

    TP_ASSERT(get(42) == TP_DROP_NONE);
    TP_CHECK_EQ_U(fx.v.seq, 42);
    TP_CHECK_EQ_U(fx.v.commit_word, 85);
    TP_CHECK_EQ_U(fx.v.header_index, 2);
    TP_CHECK_EQ_U(fx.v.pool_id, 1);
    TP_CHECK_EQ_U(fx.v.len, 6);
    TP_CHECK_EQ_U(fx.v.timestamp_ns, 999);
    TP_CHECK_EQ_U(fx.v.meta_version, 7);
    TP_CHECK_EQ_I(fx.v.strides[0], 3);
    TP_CHECK_EQ_I(fx.v.strides[1], 1);
    TP_CHECK(fx.v.data == small_mem + 64 + 2 * 64); /* W-46 */
    TP_CHECK(tp_ring_frame_intact(&fx.v));
}

TP_TEST(test_wire_w064_w065_commit_word_states)
{
    tp_ring_claim_t c;
    tp_tensor_desc_t d = bytes_desc(10);
    setup();
    tp_ring_write_begin(&fx.ring, tp_pool_select(&fx.pools, 10), 13, &c);
    TP_CHECK_EQ_U(tp_slot_seq_commit_load(slot_of(13)), 26); /* in progress: seq << 1 */
    TP_CHECK_EQ_U(c.index, 5);
    TP_CHECK_EQ_U(c.pool_id, 1);
    TP_CHECK_EQ_U(c.capacity, 64);
    TP_CHECK(c.payload == small_mem + 64 + 5 * 64);
    tp_ring_write_header(&c, 10, 5, 6, &d);
    TP_CHECK_EQ_U(tp_slot_seq_commit_load(slot_of(13)), 26); /* header write leaves it alone */
    tp_ring_write_commit(&c);
    TP_CHECK_EQ_U(tp_slot_seq_commit_load(slot_of(13)), 27);
}

TP_TEST(test_wire_w057_writer_selects_smallest_pool)
{
    setup();
    put(3, 64);
    TP_ASSERT(get(3) == TP_DROP_NONE);
    TP_CHECK_EQ_U(fx.v.pool_id, 1);
    put(4, 65);
    TP_ASSERT(get(4) == TP_DROP_NONE);
    TP_CHECK_EQ_U(fx.v.pool_id, 2);
    TP_CHECK(fx.v.data == big_mem + 64 + 4 * 1024);
    TP_CHECK_EQ_I(tp_pattern_verify(fx.v.data, fx.v.len, 4), 0);
}

TP_TEST(test_wire_w058_write_drops_when_no_pool_fits)
{
    static uint8_t big[2048];
    tp_tensor_desc_t d = bytes_desc(2048);
    setup();
    TP_CHECK_EQ_I(tp_ring_write(&fx.ring, &fx.pools, 1, big, 2048, 0, 0, &d), TP_RING_NO_POOL);
    TP_CHECK_EQ_U(tp_slot_seq_commit_load(slot_of(1)), 0); /* nothing written */
}

TP_TEST(test_wire_w062_zero_length_frame_accepted)
{
    setup();
    put(9, 0);
    TP_ASSERT(get(9) == TP_DROP_NONE);
    TP_CHECK_EQ_U(fx.v.len, 0);
    TP_CHECK_EQ_U(fx.v.header_index, 1);
    TP_CHECK(tp_ring_frame_intact(&fx.v));
}

TP_TEST(test_wire_w067_drop_when_not_committed)
{
    tp_ring_claim_t c;
    setup();
    TP_CHECK_EQ_U(get(0), TP_DROP_NOT_COMMITTED); /* never written: word 0 */
    put(5, 16);
    tp_ring_write_begin(&fx.ring, tp_pool_select(&fx.pools, 16), 13, &c); /* same slot */
    TP_CHECK_EQ_U(get(13), TP_DROP_NOT_COMMITTED);
    TP_CHECK_EQ_U(get(5), TP_DROP_NOT_COMMITTED);
    TP_CHECK_EQ_U(fx.rd.drops[TP_DROP_NOT_COMMITTED], 3);
    TP_CHECK_EQ_U(fx.rd.drops_late, 3);
}

static void overwrite_with_next_lap(uint8_t *slot)
{
    /* What a writer lapping the reader does: begin (even), new data, commit (odd). */
    uint64_t seq = tp_load_acquire_u64(slot) >> 1;
    tp_store_release_u64(slot, ((seq + NSLOTS) << 1) | 1u);
}

static void begin_next_lap(uint8_t *slot)
{
    uint64_t seq = tp_load_acquire_u64(slot) >> 1;
    tp_store_release_u64(slot, (seq + NSLOTS) << 1);
}

TP_TEST(test_wire_w067_drop_when_commit_changes)
{
    setup();
    put(6, 32);
    hook_between = overwrite_with_next_lap;
    TP_CHECK_EQ_U(get(6), TP_DROP_COMMIT_CHANGED);
    setup();
    put(6, 32);
    hook_between = begin_next_lap; /* second load even */
    TP_CHECK_EQ_U(get(6), TP_DROP_COMMIT_CHANGED);
    TP_CHECK_EQ_U(fx.rd.drops[TP_DROP_COMMIT_CHANGED], 1);
    TP_CHECK_EQ_U(fx.rd.drops_late, 1);
}

static uint64_t saved_word;
static void flip_word_before_copy(uint8_t *slot)
{
    saved_word = tp_load_acquire_u64(slot);
    tp_store_release_u64(slot, saved_word + 2); /* the copy sees another committed word */
}
static void restore_word(uint8_t *slot) { tp_store_release_u64(slot, saved_word); }

TP_TEST(test_wire_w075_drop_when_decoded_commit_differs)
{
    setup();
    put(6, 32);
    hook_first = flip_word_before_copy;
    hook_between = restore_word; /* second == first again: only the copy disagrees */
    TP_CHECK_EQ_U(get(6), TP_DROP_COMMIT_WORD);
    TP_CHECK_EQ_U(fx.rd.drops_late, 1);
}

TP_TEST(test_wire_w071_drop_when_seq_mismatch)
{
    setup();
    put(10, 32); /* slot 2 now holds seq 10 */
    TP_CHECK_EQ_U(get(2), TP_DROP_SEQ_MISMATCH);  /* lapped: descriptor for an older frame */
    TP_CHECK_EQ_U(get(18), TP_DROP_SEQ_MISMATCH); /* descriptor ahead of the slot */
    TP_CHECK_EQ_U(fx.rd.drops[TP_DROP_SEQ_MISMATCH], 2);
}

TP_TEST(test_wire_w069_drop_stale_slot)
{
    setup();
    put(10, 32);
    TP_ASSERT(get(10) == TP_DROP_NONE);
    TP_CHECK_EQ_U(fx.last[2], 21); /* W-75 step 13: remembered */
    put(2, 32); /* slot 2 goes back to an older sequence */
    TP_CHECK_EQ_U(get(2), TP_DROP_STALE_SLOT);
    TP_CHECK_EQ_U(fx.rd.drops[TP_DROP_STALE_SLOT], 1);
    tp_ring_reader_reset(&fx.rd); /* after a remap the memory is gone */
    TP_CHECK_EQ_U(get(2), TP_DROP_NONE);
    /* the stateless form with no memory accepts it too */
    TP_CHECK_EQ_U(tp_ring_read_slot(&fx.ring, &fx.pools, 2, 0, &fx.v), TP_DROP_NONE);
    TP_CHECK_EQ_U(tp_ring_read_slot(&fx.ring, &fx.pools, 2, 21, &fx.v), TP_DROP_STALE_SLOT);
}

TP_TEST(test_wire_w033_drop_bad_embedded_header)
{
    EXPECT_DROP_AFTER(3, s->header_bytes_len = 191, TP_DROP_BAD_EMBEDDED_HEADER);
    EXPECT_DROP_AFTER(3, s->th_block_length = 183, TP_DROP_BAD_EMBEDDED_HEADER);
    EXPECT_DROP_AFTER(3, s->th_template_id = 51, TP_DROP_BAD_EMBEDDED_HEADER);
    EXPECT_DROP_AFTER(3, s->th_schema_id = 901, TP_DROP_BAD_EMBEDDED_HEADER);
    EXPECT_DROP_AFTER(3, s->th_version = 2, TP_DROP_BAD_EMBEDDED_HEADER);
}

TP_TEST(test_wire_w061_drop_payload_slot_not_header_index)
{
    EXPECT_DROP_AFTER(3, s->payload_slot = 4, TP_DROP_PAYLOAD_SLOT);
}

TP_TEST(test_wire_w061_drop_payload_slot_out_of_range)
{
    EXPECT_DROP_AFTER(3, s->payload_slot = NSLOTS, TP_DROP_PAYLOAD_SLOT);
    EXPECT_DROP_AFTER(3, s->payload_slot = UINT32_MAX, TP_DROP_PAYLOAD_SLOT);
}

TP_TEST(test_wire_w059_drop_nonzero_payload_offset)
{
    EXPECT_DROP_AFTER(3, s->payload_offset = 64, TP_DROP_PAYLOAD_OFFSET);
}

TP_TEST(test_wire_w041_drop_dtype_in_slot)
{
    EXPECT_DROP_AFTER(3, s->dtype = 0, TP_DROP_DTYPE);
    EXPECT_DROP_AFTER(3, s->dtype = 12, TP_DROP_DTYPE);
    EXPECT_DROP_AFTER(3, s->dtype = -32768, TP_DROP_DTYPE);
}

TP_TEST(test_wire_w041_drop_major_order_in_slot)
{
    EXPECT_DROP_AFTER(3, s->major_order = 0, TP_DROP_MAJOR_ORDER);
    EXPECT_DROP_AFTER(3, s->major_order = 3, TP_DROP_MAJOR_ORDER);
}

TP_TEST(test_wire_w038_drop_ndims_in_slot)
{
    EXPECT_DROP_AFTER(3, s->ndims = 0, TP_DROP_NDIMS);
    EXPECT_DROP_AFTER(3, s->ndims = 9, TP_DROP_NDIMS);
}

TP_TEST(test_wire_w045_drop_dims_and_strides_in_slot)
{
    EXPECT_DROP_AFTER(3, s->dims[0] = -1, TP_DROP_DIMS);
    EXPECT_DROP_AFTER(3, s->strides[0] = -1, TP_DROP_STRIDES);
    EXPECT_DROP_AFTER(3, (s->ndims = 2, s->dims[1] = 4, s->strides[0] = 2), TP_DROP_STRIDES);
}

TP_TEST(test_wire_w047_drop_progress_in_slot)
{
    EXPECT_DROP_AFTER(3, (s->progress_unit = 1, s->progress_stride_bytes = 0), TP_DROP_PROGRESS);
    EXPECT_DROP_AFTER(3, (s->progress_unit = 2, s->progress_stride_bytes = 1), TP_DROP_PROGRESS);
    EXPECT_DROP_AFTER(3, s->progress_unit = 3, TP_DROP_PROGRESS);
}

TP_TEST(test_wire_w061_drop_unknown_pool)
{
    EXPECT_DROP_AFTER(3, s->pool_id = 9, TP_DROP_POOL_UNKNOWN);
}

TP_TEST(test_wire_w060_drop_length_beyond_stride)
{
    EXPECT_DROP_AFTER(3, s->values_len_bytes = 65, TP_DROP_LENGTH);
    setup();
    put(3, 64);
    TP_CHECK_EQ_U(get(3), TP_DROP_NONE); /* exactly the stride is fine */
}

TP_TEST(test_wire_w029_reserved_bytes_ignored)
{
    setup();
    put(3, 32);
    memset(slot_of(3)->reserved0, 0xFF, sizeof slot_of(3)->reserved0);
    memset(slot_of(3)->reserved1, 0xFF, sizeof slot_of(3)->reserved1);
    TP_CHECK_EQ_U(get(3), TP_DROP_NONE);
}

TP_TEST(test_wire_w074_intact_check_after_overwrite)
{
    tp_ring_claim_t c;
    setup();
    put(4, 48);
    TP_ASSERT(get(4) == TP_DROP_NONE);
    TP_CHECK_EQ_I(tp_pattern_verify(fx.v.data, fx.v.len, 4), 0);
    TP_CHECK(tp_ring_frame_intact(&fx.v));
    /* the writer laps the reader while it still holds the view */
    tp_ring_write_begin(&fx.ring, tp_pool_select(&fx.pools, 48), 12, &c);
    TP_CHECK(!tp_ring_frame_intact(&fx.v));
    tp_pattern_fill(c.payload, 48, 12);
    TP_CHECK_EQ_I(tp_pattern_verify(fx.v.data, fx.v.len, 4), -1);
    tp_ring_write_commit(&c);
    TP_CHECK(!tp_ring_frame_intact(&fx.v));
}

TP_TEST(test_torn_checker_catches_corruption_after_commit)
{
    /* The torn-read hunt's checker: an accepted, intact frame whose payload does not carry
     * its pattern must be detected (if this failed, the stress test could not fail). */
    setup();
    put(7, 64);
    TP_ASSERT(get(7) == TP_DROP_NONE);
    ((uint8_t *)(uintptr_t)fx.v.data)[40] ^= 0x01; /* corruption the seqlock cannot see */
    TP_CHECK(tp_ring_frame_intact(&fx.v));
    TP_CHECK_EQ_I(tp_pattern_verify(fx.v.data, fx.v.len, 7), -1);
}

TP_TEST(test_wire_w075_counters_per_reason)
{
    setup();
    for (uint64_t s = 0; s < 20; s++) put(s, (uint32_t)(s * 7 % 200));
    uint64_t ok = 0;
    for (uint64_t s = 0; s < 20; s++) ok += get(s) == TP_DROP_NONE;
    TP_CHECK_EQ_U(ok, NSLOTS); /* only the last lap is still in the ring */
    TP_CHECK_EQ_U(fx.rd.accepted, NSLOTS);
    TP_CHECK_EQ_U(fx.rd.drops[TP_DROP_SEQ_MISMATCH], 20 - NSLOTS);
    uint64_t sum = 0;
    for (int r = 1; r < TP_DROP_COUNT; r++) sum += fx.rd.drops[r];
    TP_CHECK_EQ_U(sum, fx.rd.drops_late);
    TP_CHECK_EQ_U(fx.rd.drops[TP_DROP_NONE], 0);
}

TP_TEST(test_wire_w067_reader_does_not_write_shm)
{
    static uint8_t before[sizeof ring_mem];
    setup();
    put(1, 30);
    memcpy(before, ring_mem, sizeof ring_mem);
    TP_ASSERT(get(1) == TP_DROP_NONE);
    TP_CHECK_EQ_U(get(2), TP_DROP_NOT_COMMITTED);
    TP_CHECK_MEM(before, ring_mem, sizeof ring_mem);
}

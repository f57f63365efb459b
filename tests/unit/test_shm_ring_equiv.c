/*
 * The ring's word-level slot encoder/decoder (ring.c, the hot path) must agree exactly with
 * the field-level TensorHeader codec (tensor.c, used by tools and fuzzing): same slot bytes
 * (W-36, W-39, W-48, W-49, LAYOUT §4.4), same drop reason (W-75 step 10), same decoded view.
 * Random descriptors, valid and hostile, with a fixed seed.
 */
#include "tp_test.h"

#include "shm/pool.h"
#include "shm/ring.h"
#include "shm/tensor.h"

#define NS 8u
#define STRIDE 1024u

static _Alignas(4096) uint8_t ring_mem[64 + NS * 256];
static _Alignas(4096) uint8_t pool_mem[64 + NS * STRIDE];
static uint64_t rs = 88172645463325252ull;

static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static int32_t rdim(void)
{
    switch (rnd() % 6) {
    case 0: return 0;
    case 1: return 1;
    case 2: return (int32_t)(rnd() % 10);
    case 3: return -(int32_t)(rnd() % 3);
    case 4: return (int32_t)rnd();
    default: return (int32_t)(rnd() % 100000);
    }
}

static void random_desc(tp_tensor_desc_t *d)
{
    static const int16_t dtypes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14};
    memset(d, 0, sizeof *d);
    d->dtype = rnd() % 5 == 0 ? (int16_t)rnd() : (int16_t)(rnd() % 16);
    d->major_order = rnd() % 7 == 0 ? (int16_t)rnd() : (int16_t)(rnd() % 4);
    d->ndims = rnd() % 11 == 0 ? (uint8_t)rnd() : (uint8_t)(rnd() % 10);
    d->progress_unit = rnd() % 13 == 0 ? (uint8_t)rnd() : (uint8_t)(rnd() % 4);
    d->progress_stride_bytes = (uint32_t)(rnd() % 3 == 0 ? rnd() : rnd() % 64);
    for (int i = 0; i < 8; i++) {
        d->dims[i] = rdim();
        d->strides[i] = rnd() % 3 ? 0 : rdim();
    }
    if (rnd() % 2 == 0) { /* mostly valid: contiguous with a few explicit strides */
        d->dtype = dtypes[rnd() % 13];
        d->major_order = (int16_t)(1 + rnd() % 2);
        d->ndims = (uint8_t)(1 + rnd() % 8);
        for (int i = 0; i < 8; i++) {
            d->dims[i] = (int32_t)(rnd() % 5);
            if (rnd() % 4)
                d->strides[i] = 0;
        }
        d->progress_unit = rnd() % 2 ? 0 : (uint8_t)(rnd() % 3);
        int64_t s[TP_MAX_DIMS];
        if (tp_tensor_validate(d, s) == TP_DROP_NONE && rnd() % 2)
            d->progress_stride_bytes = (uint32_t)s[d->progress_unit == TP_PROGRESS_COLUMNS ? 1 : 0];
    }
}

/* Field by field: the structs have padding bytes whose contents are unspecified. */
static int same_desc(const tp_tensor_desc_t *a, const tp_tensor_desc_t *b)
{
    return a->dtype == b->dtype && a->major_order == b->major_order && a->ndims == b->ndims &&
           a->progress_unit == b->progress_unit &&
           a->progress_stride_bytes == b->progress_stride_bytes &&
           memcmp(a->dims, b->dims, sizeof a->dims) == 0 &&
           memcmp(a->strides, b->strides, sizeof a->strides) == 0;
}

TP_TEST(test_ring_word_codec_matches_tensor_codec)
{
    tp_ring_t ring;
    tp_pool_set_t pools;
    uint64_t mismatched_bytes = 0, mismatched_reason = 0, mismatched_view = 0, accepted = 0;

    TP_ASSERT(tp_ring_init(&ring, ring_mem, sizeof ring_mem, NS) == 0);
    tp_pool_set_init(&pools);
    TP_ASSERT(tp_pool_set_add(&pools, 3, pool_mem, sizeof pool_mem, NS, STRIDE) == 0);

    for (uint64_t seq = 1; seq <= 200000; seq++) {
        tp_tensor_desc_t d, dd;
        tp_ring_claim_t c;
        tp_frame_view_t v;
        tp_slot_t img;
        int64_t inferred[TP_MAX_DIMS];
        uint32_t len = (uint32_t)(rnd() % (STRIDE + 1));

        random_desc(&d);
        tp_ring_write_begin(&ring, &pools.pools[0], seq, &c);
        tp_ring_write_header(&c, len, seq * 3, (uint32_t)seq, &d);
        tp_ring_write_commit(&c);

        memset(&img, 0xA5, sizeof img);
        tp_tensor_header_encode(&img, &d);
        if (memcmp((const uint8_t *)c.slot + 60, (const uint8_t *)&img + 60, 196) != 0)
            mismatched_bytes++;

        tp_tensor_header_decode(&img, &dd);
        tp_drop_reason_t want = tp_tensor_validate(&dd, inferred);
        tp_drop_reason_t got = tp_ring_read_slot(&ring, &pools, seq, 0, &v);
        if (got != want) {
            mismatched_reason++;
            continue;
        }
        if (got != TP_DROP_NONE)
            continue;
        accepted++;
        if (!same_desc(&v.tensor, &dd) || v.len != len || v.pool_id != 3 ||
            v.timestamp_ns != seq * 3 || v.meta_version != (uint32_t)seq || v.seq != seq)
            mismatched_view++;
        for (unsigned i = 0; i < dd.ndims; i++)
            if (v.strides[i] != inferred[i])
                mismatched_view++;
    }
    TP_CHECK_EQ_U(mismatched_bytes, 0);
    TP_CHECK_EQ_U(mismatched_reason, 0);
    TP_CHECK_EQ_U(mismatched_view, 0);
    TP_CHECK(accepted > 10000); /* the generator must exercise the accept path too */
}

/*
 * Fuzz the consumer side of a header slot: the input's first 256 bytes become header slot
 * seq & 7 of an 8-slot ring (zero padded when shorter), next to two payload pools (id 1,
 * stride 64; id 2, stride 1024). Optional trailing bytes: 8 bytes of requested seq (default:
 * the slot's own seq_commit >> 1, so most inputs get past the sequence check) and 8 bytes of
 * the slot's W-69 last accepted word.
 *
 * The slot goes through tp_ring_read_slot (W-75 steps 4-11), and its embedded TensorHeader
 * through tp_tensor_validate / tp_tensor_extent_bytes. Invariants (trap on violation):
 *  * an accepted view points inside its pool slot and len <= stride, ndims in 1..8, the
 *    inferred strides are positive, and the whole payload is readable (pattern check);
 *  * validation of a header does not change when it is re-encoded (encode zeroes only
 *    what validation ignores: entries past ndims, the progress stride when unit is NONE);
 *  * every drop reason is in range and has a name.
 */
#include <stdint.h>
#include <string.h>

#include "shm/ring.h"

#define NSLOTS 8u

static _Alignas(4096) uint8_t ring_mem[64 + NSLOTS * 256];
static _Alignas(4096) uint8_t pool1_mem[64 + NSLOTS * 64];
static _Alignas(4096) uint8_t pool2_mem[64 + NSLOTS * 1024];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok) __builtin_trap();
}

static void check_view(const tp_pool_set_t *pools, const tp_frame_view_t *v)
{
    const tp_pool_t *p = tp_pool_find(pools, v->pool_id);
    check(p != NULL);
    check(v->len <= p->stride_bytes);
    check(v->data == tp_pool_slot(p, v->header_index));
    check(v->tensor.ndims >= 1 && v->tensor.ndims <= TP_MAX_DIMS);
    for (uint32_t i = 0; i < v->tensor.ndims; i++) check(v->strides[i] > 0);
    check((v->commit_word & 1u) == 1u && (v->commit_word >> 1) == v->seq);
    (void)tp_pattern_verify(v->data, v->len, v->seq); /* ASan: every byte must be mapped */
}

static void check_reencode(const tp_slot_t *slot)
{
    tp_tensor_desc_t d, d2;
    tp_slot_t again;
    int64_t s1[TP_MAX_DIMS], s2[TP_MAX_DIMS];
    tp_tensor_header_decode(slot, &d);
    tp_drop_reason_t r1 = tp_tensor_validate(&d, s1);
    (void)tp_tensor_extent_bytes(&d);
    memset(&again, 0, sizeof again);
    tp_tensor_header_encode(&again, &d);
    check(tp_tensor_check_embedded(&again) == TP_DROP_NONE);
    tp_tensor_header_decode(&again, &d2);
    tp_drop_reason_t r2 = tp_tensor_validate(&d2, s2);
    check(r1 == r2);
    if (r1 == TP_DROP_NONE) check(memcmp(s1, s2, sizeof s1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_ring_t ring;
    tp_pool_set_t pools;
    tp_frame_view_t v;
    tp_slot_t slot;
    uint64_t seq, last = 0;

    memset(&slot, 0, sizeof slot);
    memcpy(&slot, data, size < sizeof slot ? size : sizeof slot);
    memcpy(&seq, &slot, sizeof seq);
    seq >>= 1;
    if (size >= 256 + 8) memcpy(&seq, data + 256, 8);
    if (size >= 256 + 16) memcpy(&last, data + 264, 8);

    if (tp_ring_init(&ring, ring_mem, sizeof ring_mem, NSLOTS) != 0) __builtin_trap();
    tp_pool_set_init(&pools);
    if (tp_pool_set_add(&pools, 1, pool1_mem, sizeof pool1_mem, NSLOTS, 64) != 0 ||
        tp_pool_set_add(&pools, 2, pool2_mem, sizeof pool2_mem, NSLOTS, 1024) != 0)
        __builtin_trap();
    memcpy(tp_ring_slot(&ring, seq), &slot, sizeof slot);

    tp_drop_reason_t r = tp_ring_read_slot(&ring, &pools, seq, last, &v);
    check(r >= TP_DROP_NONE && r < TP_DROP_COUNT);
    check(strncmp(tp_drop_reason_name(r), "TP_DROP_", 8) == 0);
    if (r == TP_DROP_NONE) {
        check_view(&pools, &v);
        check(tp_ring_frame_intact(&v));
    }
    check_reencode(&slot);
    return 0;
}

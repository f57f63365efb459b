/* TensorHeader encode/validate and dtype registry: WIRE §6 (W-33, W-36 .. W-49), LAYOUT §6. */
#include <stdint.h>
#include <string.h>

#include "shm/tensor.h"
#include "tensorpool/error.h"
#include "tp_test.h"

/* LAYOUT §6 "Header slot" test vector (slot 2 of an 8-slot ring, seq 42 committed). */
static const uint8_t layout_s6_slot[256] = {
    0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe7, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00,
    0xb8, 0x00, 0x34, 0x00, 0x84, 0x03, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* 0x80 .. 0xff: all zero */
};

static tp_tensor_desc_t desc(int16_t dtype, int16_t order, uint8_t ndims, const int32_t *dims,
                             const int32_t *strides)
{
    tp_tensor_desc_t d;
    tp_tensor_desc_contiguous(&d, dtype, order, ndims, dims);
    for (uint32_t i = 0; strides && i < ndims; i++) d.strides[i] = strides[i];
    return d;
}

static tp_drop_reason_t validate(const tp_tensor_desc_t *d)
{
    int64_t s[TP_MAX_DIMS];
    return tp_tensor_validate(d, s);
}

TP_TEST(test_layout_s6_header_slot_vector)
{
    tp_slot_t slot;
    memset(&slot, 0xAA, sizeof slot); /* encode must overwrite everything it owns */
    memset(&slot, 0, offsetof(tp_slot_t, header_bytes_len));
    slot.seq_commit = (42u << 1) | 1u;
    slot.values_len_bytes = 6;
    slot.payload_slot = 2;
    slot.pool_id = 1;
    slot.payload_offset = 0;
    slot.timestamp_ns = 999;
    slot.meta_version = 7;
    int32_t dims[2] = { 2, 3 }, strides[2] = { 3, 1 };
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT8, TP_MAJOR_ROW, 2, dims, strides);
    tp_tensor_header_encode(&slot, &d);
    TP_CHECK_MEM(&slot, layout_s6_slot, 256);

    tp_tensor_desc_t back;
    tp_tensor_header_decode((const tp_slot_t *)(const void *)layout_s6_slot, &back);
    TP_CHECK_EQ_I(back.dtype, TP_DTYPE_UINT8);
    TP_CHECK_EQ_I(back.major_order, TP_MAJOR_ROW);
    TP_CHECK_EQ_U(back.ndims, 2);
    TP_CHECK_EQ_I(back.dims[1], 3);
    TP_CHECK_EQ_I(back.strides[0], 3);
    TP_CHECK_EQ_U(tp_tensor_check_embedded((const tp_slot_t *)(const void *)layout_s6_slot),
                  TP_DROP_NONE);
    TP_CHECK_EQ_U(validate(&back), TP_DROP_NONE);
}

TP_TEST(test_wire_w031_embedded_header_bytes)
{
    tp_slot_t slot;
    int32_t dims[1] = { 5 };
    tp_tensor_desc_t d = desc(TP_DTYPE_FLOAT32, TP_MAJOR_ROW, 1, dims, NULL);
    static const uint8_t expect[12] = { 0xc0, 0, 0, 0, 0xb8, 0x00, 0x34, 0x00, 0x84, 0x03, 0x01, 0x00 };
    tp_tensor_header_encode(&slot, &d);
    TP_CHECK_MEM((uint8_t *)&slot + 60, expect, sizeof expect);
}

TP_TEST(test_wire_w039_w049_encode_zero_fills_past_ndims)
{
    tp_slot_t slot;
    tp_tensor_desc_t d;
    memset(&d, 0x7F, sizeof d);
    d.dtype = TP_DTYPE_INT16;
    d.major_order = TP_MAJOR_COLUMN;
    d.ndims = 3;
    d.progress_unit = TP_PROGRESS_NONE;
    memset(&slot, 0xEE, sizeof slot);
    tp_tensor_header_encode(&slot, &d);
    for (uint32_t i = 3; i < TP_MAX_DIMS; i++) {
        TP_CHECK_EQ_I(slot.dims[i], 0);
        TP_CHECK_EQ_I(slot.strides[i], 0);
    }
    TP_CHECK_EQ_I(slot.dims[2], 0x7F7F7F7F);
    TP_CHECK_EQ_U(slot.pad_align, 0);
    for (uint32_t i = 0; i < sizeof slot.reserved1; i++) TP_CHECK_EQ_U(slot.reserved1[i], 0);
    TP_CHECK_EQ_U(((uint8_t *)&slot)[0], 0xEE); /* bytes 0..59 are the ring's, untouched */
}

TP_TEST(test_wire_w048_encode_progress_stride_zero_when_unit_none)
{
    tp_slot_t slot;
    int32_t dims[2] = { 4, 4 };
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT8, TP_MAJOR_ROW, 2, dims, NULL);
    d.progress_stride_bytes = 1234;
    tp_tensor_header_encode(&slot, &d);
    TP_CHECK_EQ_U(slot.progress_stride_bytes, 0);
    d.progress_unit = TP_PROGRESS_ROWS;
    d.progress_stride_bytes = 4;
    tp_tensor_header_encode(&slot, &d);
    TP_CHECK_EQ_U(slot.progress_stride_bytes, 4);
    TP_CHECK_EQ_U(slot.progress_unit, TP_PROGRESS_ROWS);
}

TP_TEST(test_wire_w033_drop_bad_embedded_header_each_field)
{
    int32_t dims[1] = { 8 };
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, dims, NULL);
    static const size_t off[5] = { 60, 64, 66, 68, 70 }; /* len, block, template, schema, version */
    for (int k = 0; k < 5; k++) {
        tp_slot_t slot;
        tp_tensor_header_encode(&slot, &d);
        TP_CHECK_EQ_U(tp_tensor_check_embedded(&slot), TP_DROP_NONE);
        ((uint8_t *)&slot)[off[k]] ^= 0x01;
        TP_CHECK_EQ_U(tp_tensor_check_embedded(&slot), TP_DROP_BAD_EMBEDDED_HEADER);
    }
}

TP_TEST(test_wire_w040_w043_dtype_registry)
{
    static const struct { int v; uint32_t size; const char *name; } t[] = {
        { 1, 1, "UINT8" }, { 2, 1, "INT8" }, { 3, 2, "UINT16" }, { 4, 2, "INT16" },
        { 5, 4, "UINT32" }, { 6, 4, "INT32" }, { 7, 8, "UINT64" }, { 8, 8, "INT64" },
        { 9, 4, "FLOAT32" }, { 10, 8, "FLOAT64" }, { 11, 1, "BOOLEAN" }, { 13, 1, "BYTES" },
        { 14, 1, "BIT" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        TP_CHECK_EQ_U(tp_dtype_size(t[i].v), t[i].size);
        TP_CHECK_STR(tp_dtype_name(t[i].v), t[i].name);
        TP_CHECK_EQ_I(tp_dtype_from_name(t[i].name), t[i].v);
    }
    TP_CHECK_EQ_U(tp_dtype_size(0), 0);
    TP_CHECK_EQ_U(tp_dtype_size(12), 0);
    TP_CHECK_EQ_U(tp_dtype_size(15), 0);
    TP_CHECK_EQ_U(tp_dtype_size(TP_ENUM_NULL_I16), 0);
    TP_CHECK_STR(tp_dtype_name(12), "INVALID");
    TP_CHECK_EQ_I(tp_dtype_from_name("float32"), 9);
    TP_CHECK_EQ_I(tp_dtype_from_name("complex"), -1);
}

TP_TEST(test_wire_w041_drop_unknown_dtype_values)
{
    int32_t dims[1] = { 4 };
    static const int16_t bad[] = { 0, 12, 15, 100, -1, TP_ENUM_NULL_I16 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tp_tensor_desc_t d = desc(bad[i], TP_MAJOR_ROW, 1, dims, NULL);
        TP_CHECK_EQ_U(validate(&d), TP_DROP_DTYPE);
    }
    for (int16_t v = 1; v <= 14; v++) {
        tp_tensor_desc_t d = desc(v, TP_MAJOR_ROW, 1, dims, NULL);
        TP_CHECK_EQ_U(validate(&d), v == 12 ? TP_DROP_DTYPE : TP_DROP_NONE);
    }
}

TP_TEST(test_wire_w041_drop_unknown_major_order)
{
    int32_t dims[1] = { 4 };
    static const int16_t bad[] = { 0, 3, -1, TP_ENUM_NULL_I16 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tp_tensor_desc_t d = desc(TP_DTYPE_UINT8, bad[i], 1, dims, NULL);
        TP_CHECK_EQ_U(validate(&d), TP_DROP_MAJOR_ORDER);
    }
}

TP_TEST(test_wire_w041_drop_unknown_progress_unit)
{
    int32_t dims[2] = { 4, 4 };
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT8, TP_MAJOR_ROW, 2, dims, NULL);
    d.progress_unit = 3;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_PROGRESS);
    d.progress_unit = 255;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_PROGRESS);
}

TP_TEST(test_wire_w038_drop_ndims_outside_1_to_8)
{
    int32_t dims[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT8, TP_MAJOR_ROW, 8, dims, NULL);
    TP_CHECK_EQ_U(validate(&d), TP_DROP_NONE);
    d.ndims = 0;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_NDIMS);
    d.ndims = 9;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_NDIMS);
    d.ndims = 255;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_NDIMS);
}

TP_TEST(test_wire_w045_row_major_inference)
{
    int32_t dims[3] = { 2, 3, 4 };
    int64_t s[TP_MAX_DIMS];
    tp_tensor_desc_t d = desc(TP_DTYPE_FLOAT32, TP_MAJOR_ROW, 3, dims, NULL);
    TP_ASSERT(tp_tensor_validate(&d, s) == TP_DROP_NONE);
    TP_CHECK_EQ_I(s[0], 48);
    TP_CHECK_EQ_I(s[1], 16);
    TP_CHECK_EQ_I(s[2], 4);
    for (uint32_t i = 3; i < TP_MAX_DIMS; i++) TP_CHECK_EQ_I(s[i], 0);
    TP_CHECK_EQ_U(tp_tensor_extent_bytes(&d), 96);
    /* partially explicit: padded rows are fine, inference continues from them */
    int32_t st[3] = { 0, 32, 0 };
    d = desc(TP_DTYPE_FLOAT32, TP_MAJOR_ROW, 3, dims, st);
    TP_ASSERT(tp_tensor_validate(&d, s) == TP_DROP_NONE);
    TP_CHECK_EQ_I(s[0], 96);
    TP_CHECK_EQ_I(s[1], 32);
    TP_CHECK_EQ_I(s[2], 4);
}

TP_TEST(test_wire_w045_column_major_inference)
{
    int32_t dims[3] = { 2, 3, 4 };
    int64_t s[TP_MAX_DIMS];
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT16, TP_MAJOR_COLUMN, 3, dims, NULL);
    TP_ASSERT(tp_tensor_validate(&d, s) == TP_DROP_NONE);
    TP_CHECK_EQ_I(s[0], 2);
    TP_CHECK_EQ_I(s[1], 4);
    TP_CHECK_EQ_I(s[2], 12);
    TP_CHECK_EQ_U(tp_tensor_extent_bytes(&d), 48);
}

TP_TEST(test_wire_w045_zero_dims_count_as_one)
{
    int32_t dims[2] = { 0, 0 };
    int64_t s[TP_MAX_DIMS];
    tp_tensor_desc_t d = desc(TP_DTYPE_INT64, TP_MAJOR_ROW, 2, dims, NULL);
    TP_ASSERT(tp_tensor_validate(&d, s) == TP_DROP_NONE);
    TP_CHECK_EQ_I(s[0], 8); /* max(dims[1], 1) * 8 */
    TP_CHECK_EQ_U(tp_tensor_extent_bytes(&d), 0);
}

TP_TEST(test_wire_w045_drop_negative_dims)
{
    int32_t dims[2] = { 3, -1 };
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT8, TP_MAJOR_ROW, 2, dims, NULL);
    TP_CHECK_EQ_U(validate(&d), TP_DROP_DIMS);
    /* entries past ndims are ignored whatever they hold (W-39) */
    int32_t ok[2] = { 3, 4 };
    d = desc(TP_DTYPE_UINT8, TP_MAJOR_ROW, 2, ok, NULL);
    d.dims[5] = -7;
    d.strides[6] = -9;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_NONE);
}

TP_TEST(test_wire_w045_drop_negative_strides)
{
    int32_t dims[2] = { 3, 4 }, st[2] = { -4, 1 };
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT8, TP_MAJOR_ROW, 2, dims, st);
    TP_CHECK_EQ_U(validate(&d), TP_DROP_STRIDES);
}

TP_TEST(test_wire_w044_drop_overlapping_strides)
{
    int32_t dims[2] = { 3, 4 };
    int32_t inner_small[2] = { 0, 2 };  /* float32 elements 2 bytes apart */
    int32_t outer_small[2] = { 8, 4 };  /* rows of 16 bytes only 8 apart */
    tp_tensor_desc_t d = desc(TP_DTYPE_FLOAT32, TP_MAJOR_ROW, 2, dims, inner_small);
    TP_CHECK_EQ_U(validate(&d), TP_DROP_STRIDES);
    d = desc(TP_DTYPE_FLOAT32, TP_MAJOR_ROW, 2, dims, outer_small);
    TP_CHECK_EQ_U(validate(&d), TP_DROP_STRIDES);
    int32_t col_small[2] = { 4, 8 };    /* column-major: columns of 12 bytes only 8 apart */
    d = desc(TP_DTYPE_FLOAT32, TP_MAJOR_COLUMN, 2, dims, col_small);
    TP_CHECK_EQ_U(validate(&d), TP_DROP_STRIDES);
}

TP_TEST(test_wire_w044_drop_order_contradicting_major_order)
{
    int32_t dims[2] = { 3, 4 };
    int32_t column_layout[2] = { 1, 3 }; /* a valid column-major layout of uint8 [3,4] */
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT8, TP_MAJOR_COLUMN, 2, dims, column_layout);
    TP_CHECK_EQ_U(validate(&d), TP_DROP_NONE);
    d.major_order = TP_MAJOR_ROW;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_STRIDES);
}

TP_TEST(test_wire_w045_drop_on_stride_overflow)
{
    int32_t dims[8] = { INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX,
                        INT32_MAX, INT32_MAX };
    tp_tensor_desc_t d = desc(TP_DTYPE_FLOAT64, TP_MAJOR_ROW, 8, dims, NULL);
    TP_CHECK_EQ_U(validate(&d), TP_DROP_STRIDES);
    d.major_order = TP_MAJOR_COLUMN;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_STRIDES);
}

TP_TEST(test_wire_w047_w048_progress_rows)
{
    int32_t dims[2] = { 480, 640 };
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT8, TP_MAJOR_ROW, 2, dims, NULL);
    d.progress_unit = TP_PROGRESS_ROWS;
    d.progress_stride_bytes = 640;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_NONE);
    d.progress_stride_bytes = 0;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_PROGRESS);
    d.progress_stride_bytes = 641;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_PROGRESS);
    d.ndims = 1; /* ROWS needs only ndims >= 1: strides[0] = elem size */
    d.progress_stride_bytes = 1;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_NONE);
}

TP_TEST(test_wire_w047_w048_progress_columns)
{
    int32_t dims[2] = { 480, 640 };
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT16, TP_MAJOR_COLUMN, 2, dims, NULL);
    d.progress_unit = TP_PROGRESS_COLUMNS;
    d.progress_stride_bytes = 960; /* inferred strides[1] = 2 * 480 */
    TP_CHECK_EQ_U(validate(&d), TP_DROP_NONE);
    d.progress_stride_bytes = 2;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_PROGRESS);
    d.ndims = 1; /* COLUMNS needs ndims >= 2 */
    d.progress_stride_bytes = 2;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_PROGRESS);
}

TP_TEST(test_wire_w048_progress_none_accepts_any_stride)
{
    int32_t dims[2] = { 4, 4 };
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT8, TP_MAJOR_ROW, 2, dims, NULL);
    d.progress_unit = TP_PROGRESS_NONE;
    d.progress_stride_bytes = 0;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_NONE);
    d.progress_stride_bytes = 12345;
    TP_CHECK_EQ_U(validate(&d), TP_DROP_NONE);
}

TP_TEST(test_tensor_desc_check_sets_etensor)
{
    int32_t dims[1] = { 4 };
    tp_tensor_desc_t d = desc(TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, dims, NULL);
    TP_CHECK_EQ_I(tp_tensor_desc_check(&d), 0);
    d.dtype = 12;
    TP_CHECK_EQ_I(tp_tensor_desc_check(&d), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ETENSOR);
    TP_CHECK(strstr(tp_errmsg(), "W-41") != NULL);
    TP_CHECK_EQ_U(tp_tensor_extent_bytes(&d), UINT64_MAX);
}

TP_TEST(test_drop_reason_names_are_distinct)
{
    for (int i = 0; i < TP_DROP_COUNT; i++) {
        TP_CHECK(strncmp(tp_drop_reason_name(i), "TP_DROP_", 8) == 0);
        TP_CHECK(strcmp(tp_drop_reason_key(i), "invalid") != 0);
        TP_CHECK(strcmp(tp_drop_reason_rule(i), "?") != 0);
        for (int j = 0; j < i; j++) {
            TP_CHECK(strcmp(tp_drop_reason_name(i), tp_drop_reason_name(j)) != 0);
            TP_CHECK(strcmp(tp_drop_reason_key(i), tp_drop_reason_key(j)) != 0);
        }
    }
    TP_CHECK_STR(tp_drop_reason_name(TP_DROP_COMMIT_CHANGED), "TP_DROP_COMMIT_CHANGED");
    TP_CHECK_STR(tp_drop_reason_key(TP_DROP_COMMIT_CHANGED), "commit_changed");
    TP_CHECK_STR(tp_drop_reason_name(TP_DROP_COUNT), "TP_DROP_INVALID");
    TP_CHECK_STR(tp_drop_reason_key(-1), "invalid");
}

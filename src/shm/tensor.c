/* TensorHeader encode/decode/validate and the dtype registry. WIRE §6, LAYOUT §4.3. */
#include "shm/tensor.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "util/error.h"

/* ---- dtype registry -------------------------------------------------------------------- */

/* Element sizes indexed by dtype number; numbers not in TP_DTYPE_TABLE stay 0 (W-40, W-43). */
static const uint8_t dtype_sizes[] = {
#define TP_DTYPE_SIZE_ENTRY(name, value, size) [value] = size,
    TP_DTYPE_TABLE(TP_DTYPE_SIZE_ENTRY)
#undef TP_DTYPE_SIZE_ENTRY
};

uint32_t tp_dtype_size(int32_t dtype)
{
    return (uint32_t)dtype < sizeof dtype_sizes ? dtype_sizes[dtype] : 0u;
}

const char *tp_dtype_name(int32_t dtype)
{
    switch (dtype) {
#define TP_DTYPE_NAME_CASE(name, value, size) case value: return #name;
        TP_DTYPE_TABLE(TP_DTYPE_NAME_CASE)
#undef TP_DTYPE_NAME_CASE
    default: return "INVALID";
    }
}

static int name_equals_ci(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (toupper((unsigned char)*a) != (unsigned char)*b) return 0;
    }
    return *a == *b;
}

int tp_dtype_from_name(const char *name)
{
#define TP_DTYPE_PARSE(n, value, size) if (name_equals_ci(name, #n)) return value;
    TP_DTYPE_TABLE(TP_DTYPE_PARSE)
#undef TP_DTYPE_PARSE
    return -1;
}

/* ---- descriptor helpers ------------------------------------------------------------------ */

void tp_tensor_desc_contiguous(tp_tensor_desc_t *d, int16_t dtype, int16_t major_order,
                               uint8_t ndims, const int32_t *dims)
{
    memset(d, 0, sizeof *d);
    d->dtype = dtype;
    d->major_order = major_order;
    d->ndims = ndims > TP_MAX_DIMS ? (uint8_t)TP_MAX_DIMS : ndims;
    for (uint32_t i = 0; i < d->ndims; i++) d->dims[i] = dims[i];
}

int tp_tensor_desc_check(const tp_tensor_desc_t *d)
{
    int64_t inferred[TP_MAX_DIMS];
    tp_drop_reason_t r = tp_tensor_validate(d, inferred);
    if (r == TP_DROP_NONE) return 0;
    return tp_err_set(TP_ETENSOR, "tensor header rejected by %s (%s): %s",
                      tp_drop_reason_rule(r), tp_drop_reason_name(r), tp_drop_reason_desc(r));
}

uint64_t tp_tensor_extent_bytes(const tp_tensor_desc_t *d)
{
    int64_t inferred[TP_MAX_DIMS];
    uint64_t extent = tp_dtype_size(d->dtype);
    if (tp_tensor_validate(d, inferred) != TP_DROP_NONE) return UINT64_MAX;
    for (uint32_t i = 0; i < d->ndims; i++) {
        uint64_t span;
        if (d->dims[i] == 0) return 0;
        if (__builtin_mul_overflow((uint64_t)(d->dims[i] - 1), (uint64_t)inferred[i], &span) ||
            __builtin_add_overflow(extent, span, &extent))
            return UINT64_MAX;
    }
    return extent;
}

/* ---- encode / decode --------------------------------------------------------------------- */

void tp_tensor_header_encode(tp_slot_t *slot, const tp_tensor_desc_t *d)
{
    uint8_t ndims = d->ndims;
    /* Full overwrite of bytes 60..255 (W-65 step 4): reserved bytes are zeroed, never kept. */
    memset((uint8_t *)slot + offsetof(tp_slot_t, header_bytes_len), 0,
           TP_HEADER_SLOT_BYTES - offsetof(tp_slot_t, header_bytes_len));
    slot->header_bytes_len = TP_TENSOR_HEADER_LEN;
    slot->th_block_length = TP_TENSOR_HEADER_BLOCK_LEN;
    slot->th_template_id = TP_TENSOR_HEADER_TEMPLATE_ID;
    slot->th_schema_id = TP_WIRE_SCHEMA_ID;
    slot->th_version = TP_WIRE_SCHEMA_VERSION;
    slot->dtype = d->dtype;
    slot->major_order = d->major_order;
    slot->ndims = ndims;
    slot->pad_align = 0; /* W-49 REF */
    slot->progress_unit = d->progress_unit;
    slot->progress_stride_bytes =
        d->progress_unit == TP_PROGRESS_NONE ? 0u : d->progress_stride_bytes; /* W-48 */
    for (uint32_t i = 0; i < TP_MAX_DIMS && i < ndims; i++) { /* W-39: rest stays 0 */
        slot->dims[i] = d->dims[i];
        slot->strides[i] = d->strides[i];
    }
}

void tp_tensor_header_decode(const tp_slot_t *slot, tp_tensor_desc_t *d)
{
    d->dtype = slot->dtype;
    d->major_order = slot->major_order;
    d->ndims = slot->ndims;
    d->progress_unit = slot->progress_unit;
    d->progress_stride_bytes = slot->progress_stride_bytes;
    for (uint32_t i = 0; i < TP_MAX_DIMS; i++) {
        d->dims[i] = slot->dims[i];
        d->strides[i] = slot->strides[i];
    }
}

tp_drop_reason_t tp_tensor_check_embedded(const tp_slot_t *slot)
{
    if (slot->header_bytes_len != TP_TENSOR_HEADER_LEN ||
        slot->th_block_length != TP_TENSOR_HEADER_BLOCK_LEN ||
        slot->th_template_id != TP_TENSOR_HEADER_TEMPLATE_ID ||
        slot->th_schema_id != TP_WIRE_SCHEMA_ID || slot->th_version != TP_WIRE_SCHEMA_VERSION)
        return TP_DROP_BAD_EMBEDDED_HEADER;
    return TP_DROP_NONE;
}

/* ---- validation ---------------------------------------------------------------------------- */

/* Inferred strides may exceed 2^31 when dims multiply out; the reference keeps them in
 * Int64 and so do we. A product that overflows Int64 wraps in the reference; we reject the
 * header instead (no such tensor could be deliverable: pool strides are u32). */
static int stride_product(int64_t stride, int32_t dim, int64_t *out)
{
    return __builtin_mul_overflow(stride, (int64_t)(dim > 1 ? dim : 1), out) ? -1 : 0;
}

/* W-45 row-major: innermost is the last dimension; walk towards dimension 0. */
static int infer_row_major(const tp_tensor_desc_t *d, int64_t *s, int64_t elem)
{
    int n = d->ndims;
    if (s[n - 1] == 0) s[n - 1] = elem;
    else if (s[n - 1] < elem) return -1;
    for (int i = n - 2; i >= 0; i--) {
        int64_t required;
        if (stride_product(s[i + 1], d->dims[i + 1], &required) != 0) return -1;
        if (s[i] == 0) s[i] = required;
        else if (s[i] < required) return -1;
    }
    return 0;
}

/* W-45 column-major: the mirror image, innermost is dimension 0. */
static int infer_column_major(const tp_tensor_desc_t *d, int64_t *s, int64_t elem)
{
    int n = d->ndims;
    if (s[0] == 0) s[0] = elem;
    else if (s[0] < elem) return -1;
    for (int i = 1; i < n; i++) {
        int64_t required;
        if (stride_product(s[i - 1], d->dims[i - 1], &required) != 0) return -1;
        if (s[i] == 0) s[i] = required;
        else if (s[i] < required) return -1;
    }
    return 0;
}

static tp_drop_reason_t check_strides(const tp_tensor_desc_t *d, int64_t *s, int64_t elem)
{
    const uint32_t n = d->ndims; /* 1..8, checked by the caller */
    uint32_t dims_or = 0, strides_or = 0;
    /* W-45 order: any negative dim (DIMS) is reported before any negative stride (STRIDES). */
    for (uint32_t i = 0; i < n; i++) {
        dims_or |= (uint32_t)d->dims[i];
        strides_or |= (uint32_t)d->strides[i];
    }
    if (dims_or >> 31) return TP_DROP_DIMS;
    if (strides_or >> 31) return TP_DROP_STRIDES;
    for (uint32_t i = 0; i < TP_MAX_DIMS; i++) s[i] = 0;
    for (uint32_t i = 0; i < n; i++) s[i] = d->strides[i];
    int rc = d->major_order == TP_MAJOR_ROW ? infer_row_major(d, s, elem)
                                            : infer_column_major(d, s, elem);
    return rc == 0 ? TP_DROP_NONE : TP_DROP_STRIDES;
}

/* W-47/W-48: ROWS compares with strides[0], COLUMNS with strides[1] (needs ndims >= 2);
 * NONE accepts any progress_stride_bytes, including 0. */
static tp_drop_reason_t check_progress(const tp_tensor_desc_t *d, const int64_t *s)
{
    switch (d->progress_unit) {
    case TP_PROGRESS_NONE:
        return TP_DROP_NONE;
    case TP_PROGRESS_ROWS:
        if (d->progress_stride_bytes == 0 || (int64_t)d->progress_stride_bytes != s[0])
            return TP_DROP_PROGRESS;
        return TP_DROP_NONE;
    case TP_PROGRESS_COLUMNS:
        if (d->ndims < 2 || d->progress_stride_bytes == 0 ||
            (int64_t)d->progress_stride_bytes != s[1])
            return TP_DROP_PROGRESS;
        return TP_DROP_NONE;
    default:
        return TP_DROP_PROGRESS; /* W-41 DECISION: unknown unit is a counted drop */
    }
}

tp_drop_reason_t tp_tensor_validate(const tp_tensor_desc_t *d, int64_t inferred[TP_MAX_DIMS])
{
    int64_t elem = tp_dtype_size(d->dtype);
    if (elem == 0) return TP_DROP_DTYPE; /* 0, 12, null, >14: W-41 */
    if (d->major_order != TP_MAJOR_ROW && d->major_order != TP_MAJOR_COLUMN)
        return TP_DROP_MAJOR_ORDER;
    if (d->ndims < 1 || d->ndims > TP_MAX_DIMS) return TP_DROP_NDIMS; /* W-38 */
    tp_drop_reason_t r = check_strides(d, inferred, elem);
    if (r != TP_DROP_NONE) return r;
    return check_progress(d, inferred);
}

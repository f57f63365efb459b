/*
 * TensorHeader (template 52) embedded in every header slot: encode, decode and the
 * consumer-side validation of WIRE §6 (W-36 .. W-50), plus the dtype registry (W-40, W-43).
 *
 * Encoding writes slot bytes 60..255 of a 256-byte slot image (LAYOUT §4.3/§4.4): the
 * headerBytes length (192), the embedded message header (184, 52, 900, 1) and the 184-byte
 * body with every reserved byte zero. The functions here work on private memory (a slot image
 * the caller owns); moving an image into or out of shared memory under the seqlock is ring.h's
 * job. None of them allocate, lock or make system calls; only tp_tensor_desc_check() sets the
 * thread-local error (it is for producers at setup time, not for the hot path).
 */
#ifndef TP_SHM_TENSOR_H
#define TP_SHM_TENSOR_H

#include <stdint.h>

#include "shm/drop.h"
#include "shm/layout.h"

/* W-40: frozen v1.x numbers (12 unassigned). */
#define TP_DTYPE_TABLE(X)                                                                 \
    X(UNKNOWN, 0, 0) X(UINT8, 1, 1) X(INT8, 2, 1) X(UINT16, 3, 2) X(INT16, 4, 2)          \
    X(UINT32, 5, 4) X(INT32, 6, 4) X(UINT64, 7, 8) X(INT64, 8, 8) X(FLOAT32, 9, 4)        \
    X(FLOAT64, 10, 8) X(BOOLEAN, 11, 1) X(BYTES, 13, 1) X(BIT, 14, 1)

typedef enum tp_dtype {
#define TP_DTYPE_ENUM(name, value, size) TP_DTYPE_##name = value,
    TP_DTYPE_TABLE(TP_DTYPE_ENUM)
#undef TP_DTYPE_ENUM
} tp_dtype_t;

enum tp_major_order { TP_MAJOR_UNKNOWN = 0, TP_MAJOR_ROW = 1, TP_MAJOR_COLUMN = 2 };
enum tp_progress_unit { TP_PROGRESS_NONE = 0, TP_PROGRESS_ROWS = 1, TP_PROGRESS_COLUMNS = 2 };

#define TP_ENUM_NULL_I16 (-32768) /* SBE null of the i16 enums dtype / major_order (W-41) */

/* The TensorHeader body in host form. dims/strides entries at i >= ndims are ignored by
 * readers and encoded as 0 (W-39). strides[i] == 0 means "contiguous, infer" (W-44). */
typedef struct tp_tensor_desc {
    int16_t dtype;                 /* tp_dtype_t */
    int16_t major_order;           /* enum tp_major_order */
    uint8_t ndims;                 /* 1..8 (W-38) */
    uint8_t progress_unit;         /* enum tp_progress_unit */
    uint32_t progress_stride_bytes;/* 0 when unit is NONE (W-48) */
    int32_t dims[TP_MAX_DIMS];
    int32_t strides[TP_MAX_DIMS];
} tp_tensor_desc_t;

/* ---- dtype registry (W-40, W-43) ------------------------------------------------------- */

/* Element size in bytes (BIT counts as 1, W-43); 0 for UNKNOWN, 12, null and anything else. */
uint32_t tp_dtype_size(int32_t dtype);

/* "UINT8", "FLOAT32", ...; "INVALID" outside the table. Static storage. */
const char *tp_dtype_name(int32_t dtype);

/* Case-insensitive name → number; -1 when unknown. "UNKNOWN" maps to 0. */
int tp_dtype_from_name(const char *name);

/* ---- descriptor helpers (producer side) -------------------------------------------------- */

/* A contiguous tensor (all strides 0 = inferred), progress NONE. ndims is clamped to 8 and
 * entries past ndims are zeroed. */
void tp_tensor_desc_contiguous(tp_tensor_desc_t *d, int16_t dtype, int16_t major_order,
                               uint8_t ndims, const int32_t *dims);

/* Validate a descriptor a producer is about to publish (setup time, not per frame).
 * Returns 0, or -1 with TP_ETENSOR naming the rule (the same checks consumers run). */
int tp_tensor_desc_check(const tp_tensor_desc_t *d);

/* Bytes spanned by the tensor once strides are inferred: 0 if any dim is 0, else
 * sum((dims[i]-1) * strides[i]) + elem_size. Call only on a descriptor that validates;
 * returns UINT64_MAX otherwise. */
uint64_t tp_tensor_extent_bytes(const tp_tensor_desc_t *d);

/* ---- slot image encode / decode ----------------------------------------------------------- */

/* Write slot bytes 60..255 of `slot` (a private 256-byte image): headerBytes length 192,
 * embedded header 184/52/900/1, the body from *d with dims/strides past ndims zeroed (W-39),
 * pad_align 0 (W-49), progress_stride_bytes forced to 0 when the unit is NONE (W-48), all
 * reserved bytes zero. Bytes 0..59 are not touched. */
void tp_tensor_header_encode(tp_slot_t *slot, const tp_tensor_desc_t *d);

/* Copy the body fields out of a private slot image (raw values, no checks). */
void tp_tensor_header_decode(const tp_slot_t *slot, tp_tensor_desc_t *d);

/* W-33 (+ REF blockLength 184): TP_DROP_NONE or TP_DROP_BAD_EMBEDDED_HEADER. */
tp_drop_reason_t tp_tensor_check_embedded(const tp_slot_t *slot);

/* Consumer validation of a decoded body, in W-75 step 10 order: dtype (W-41), major order
 * (W-41), ndims (W-38), dims/strides (W-45: negative values, reference stride algorithm
 * including inference of 0 strides), progress unit and stride (W-47, W-48).
 * On TP_DROP_NONE, inferred[0..ndims) holds the effective strides (64-bit, as the reference
 * computes them) and inferred[ndims..8) is 0; otherwise inferred is unspecified. */
tp_drop_reason_t tp_tensor_validate(const tp_tensor_desc_t *d, int64_t inferred[TP_MAX_DIMS]);

#endif

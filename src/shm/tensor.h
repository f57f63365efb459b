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
#include "tensorpool/types.h"

/* The dtype table (TP_DTYPE_TABLE, tp_dtype_t, W-40), tp_major_order_t, tp_progress_unit_t,
 * TP_ENUM_NULL_I16, tp_tensor_desc_t and the public helpers tp_dtype_size/name/from_name,
 * tp_tensor_desc_contiguous/check and tp_tensor_extent_bytes (all implemented in tensor.c)
 * are public: include/tensorpool/types.h. */

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

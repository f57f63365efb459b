/*
 * Reading a zero-copy frame view safely (W-74, DESIGN §4).
 *
 * The consumer's frame handler gets a const tp_frame_t * (tensorpool/types.h) whose `data`
 * points into shared memory that the producer may start overwriting at any moment (v1.2 has
 * no backpressure, W-148). The rule for the application:
 *
 *     read / process f->data[0 .. f->len)          (in place, zero copy)
 *     if (!tp_frame_is_intact(f)) discard the result and count it as torn
 *
 * or, to get a private copy that is known good: n = tp_frame_copy(f, buf, cap).
 */
#ifndef TENSORPOOL_FRAME_H
#define TENSORPOOL_FRAME_H

#include "tensorpool/export.h"
#include "tensorpool/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* W-74: re-check the slot's seq_commit after the caller has read payload bytes in place.
 * Returns 1 if the slot still holds the accepted commit word (every byte read since the
 * handler was called belongs to frame f->seq), 0 if the producer has begun overwriting it or
 * has already reused the slot (discard what was read; the application counts it as torn).
 * Acquire semantics: payload loads issued before the call are ordered before the re-check.
 * No error state, no system call, no allocation. Callable from any thread as long as the
 * consumer's mapping of f->epoch exists (until a tp_consumer_poll/do_work/close of the same
 * consumer remaps or unmaps; the frame handler is always inside that window). */
TP_API int tp_frame_is_intact(const tp_frame_t *f);

#define TP_FRAME_TORN (-1)     /* tp_frame_copy: overwritten during the copy; dst undefined */
#define TP_FRAME_NO_SPACE (-2) /* tp_frame_copy: cap < f->len; nothing copied */

/* Copy the payload to dst (caller-owned, at least cap bytes) and validate the copy in one
 * step: memcpy of f->len bytes, then the W-74 re-check. Returns f->len (0 is valid: a
 * zero-length frame) when dst now holds exactly frame f->seq, TP_FRAME_TORN (dst contents
 * undefined) or TP_FRAME_NO_SPACE. Hot-path sentinels: the thread error is not set.
 * Thread and lifetime rules as tp_frame_is_intact. */
TP_API int64_t tp_frame_copy(const tp_frame_t *f, void *dst, size_t cap);

#ifdef __cplusplus
}
#endif
#endif

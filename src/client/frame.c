/*
 * The W-74 re-check of a zero-copy frame view (frame.h). Same ordering as
 * src/shm/ring.h tp_ring_frame_intact, on the public tp_frame_t.
 */
#include "tensorpool/frame.h"

#include <string.h>

#include "shm/ring.h"
#include "util/atomics.h"

int tp_frame_is_intact(const tp_frame_t *f)
{
    /* Acquire fence: the caller's payload loads (issued before this call) complete before the
     * reload below, so an overwrite that raced them is visible in the reloaded word. */
    tp_fence_acquire();
    /* Acquire load of seq_commit (pairs with the writer's release stores of the in-progress
     * and committed words, W-65): a writer that began reusing the slot shows a different word. */
    return tp_slot_seq_commit_load((const tp_slot_t *)f->priv_slot_) == f->priv_commit_word_;
}

int64_t tp_frame_copy(const tp_frame_t *f, void *dst, size_t cap)
{
    if ((size_t)f->len > cap)
        return TP_FRAME_NO_SPACE;
    if (f->len > 0)
        memcpy(dst, f->data, f->len);
    /* The copy's loads are ordered before the re-check by the fence inside (W-74). */
    return tp_frame_is_intact(f) ? (int64_t)f->len : TP_FRAME_TORN;
}

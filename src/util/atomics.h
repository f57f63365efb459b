/*
 * Memory ordering for words shared between processes (STYLE.md rule 6).
 *
 * Every shared word that another process reads or writes concurrently is accessed only
 * through these helpers. They take plain pointers into mapped memory (the word must be
 * naturally aligned) and view them as C11 atomics; on Linux/x86-64 and AArch64 a lock-free
 * 8-byte atomic has the same representation as the plain integer, which the
 * _Static_asserts below pin down.
 *
 * Each call site says, in a one-line comment, what the acquire/release orders against what.
 */
#ifndef TP_UTIL_ATOMICS_H
#define TP_UTIL_ATOMICS_H

#include <stdatomic.h>
#include <stdint.h>

_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "atomic u64 must be plain-sized");
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "atomic u32 must be plain-sized");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "8-byte atomics must be lock-free for SHM use");

#define TP_AT64(p) ((_Atomic uint64_t *)(void *)(p))
#define TP_AT32(p) ((_Atomic uint32_t *)(void *)(p))

static inline uint64_t tp_load_acquire_u64(const void *p)
{
    return atomic_load_explicit(TP_AT64((void *)(uintptr_t)p), memory_order_acquire);
}

static inline uint64_t tp_load_relaxed_u64(const void *p)
{
    return atomic_load_explicit(TP_AT64((void *)(uintptr_t)p), memory_order_relaxed);
}

static inline void tp_store_release_u64(void *p, uint64_t v)
{
    atomic_store_explicit(TP_AT64(p), v, memory_order_release);
}

static inline void tp_store_relaxed_u64(void *p, uint64_t v)
{
    atomic_store_explicit(TP_AT64(p), v, memory_order_relaxed);
}

static inline uint32_t tp_load_acquire_u32(const void *p)
{
    return atomic_load_explicit(TP_AT32((void *)(uintptr_t)p), memory_order_acquire);
}

static inline void tp_store_release_u32(void *p, uint32_t v)
{
    atomic_store_explicit(TP_AT32(p), v, memory_order_release);
}

static inline int tp_cas_u64(void *p, uint64_t *expected, uint64_t desired)
{
    return atomic_compare_exchange_strong_explicit(TP_AT64(p), expected, desired,
                                                   memory_order_acq_rel, memory_order_acquire);
}

static inline uint64_t tp_fetch_add_u64(void *p, uint64_t v)
{
    return atomic_fetch_add_explicit(TP_AT64(p), v, memory_order_acq_rel);
}

/* ThreadSanitizer does not model atomic_thread_fence and GCC refuses it under
 * -fsanitize=thread (-Wtsan, an error with -Werror). In TSan builds the fences become
 * compiler barriers, which is what the acquire/release fences compile to on x86-64 anyway.
 * TSan builds check for data races, not weak-memory ordering; every word that the seqlock
 * lets race (slot words, pattern payloads) is accessed atomically (relaxed), so TSan needs
 * no fence to stay quiet, and a plain racy access still gets reported. */
#if defined(__SANITIZE_THREAD__)
#define TP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TP_TSAN 1
#endif
#endif

#ifdef TP_TSAN
#define TP_FENCE(order) atomic_signal_fence(order)
#else
#define TP_FENCE(order) atomic_thread_fence(order)
#endif

/* Orders earlier stores before later stores (and loads before stores). */
static inline void tp_fence_release(void) { TP_FENCE(memory_order_release); }

/* Orders earlier loads before later loads and stores. */
static inline void tp_fence_acquire(void) { TP_FENCE(memory_order_acquire); }

/* Full barrier. */
static inline void tp_fence_seq_cst(void) { TP_FENCE(memory_order_seq_cst); }

#endif

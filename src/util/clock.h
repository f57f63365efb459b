/*
 * Time source. Every timestamp compared across processes is CLOCK_MONOTONIC nanoseconds
 * (WIRE W-164): never _RAW or BOOTTIME, or freshness checks against Julia peers fail.
 * clock_gettime(CLOCK_MONOTONIC) goes through the vDSO on Linux: no system call.
 */
#ifndef TP_UTIL_CLOCK_H
#define TP_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t tp_clock_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif

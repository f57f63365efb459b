/*
 * Little-endian, unaligned-safe loads and stores (LAYOUT §1.1, §1.9; WIRE W-9).
 * tensorpool supports little-endian hosts only (W-9): the build refuses anything else,
 * so these are plain memcpy's that the compiler turns into single moves.
 */
#ifndef TP_UTIL_ENDIAN_H
#define TP_UTIL_ENDIAN_H

#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tensorpool requires a little-endian host (WIRE W-9)"
#endif

#define TP_LE_ACCESSORS(T, name)                                                        \
    static inline T tp_get_##name(const void *p) { T v; memcpy(&v, p, sizeof v); return v; } \
    static inline void tp_put_##name(void *p, T v) { memcpy(p, &v, sizeof v); }

TP_LE_ACCESSORS(uint8_t, u8)
TP_LE_ACCESSORS(int8_t, i8)
TP_LE_ACCESSORS(uint16_t, u16)
TP_LE_ACCESSORS(int16_t, i16)
TP_LE_ACCESSORS(uint32_t, u32)
TP_LE_ACCESSORS(int32_t, i32)
TP_LE_ACCESSORS(uint64_t, u64)
TP_LE_ACCESSORS(int64_t, i64)
TP_LE_ACCESSORS(float, f32)
TP_LE_ACCESSORS(double, f64)

#undef TP_LE_ACCESSORS

#endif

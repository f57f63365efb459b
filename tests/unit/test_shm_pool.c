/* Payload pools: selection (W-57, W-58), geometry (W-52, W-53) and the interop pattern. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shm/pool.h"
#include "tensorpool/error.h"
#include "tp_test.h"

static _Alignas(64) uint8_t mem_a[64 + 8 * 4096];
static _Alignas(64) uint8_t mem_b[64 + 8 * 4096];
static _Alignas(64) uint8_t mem_c[64 + 8 * 4096];

TP_TEST(test_wire_w057_smallest_stride_that_fits)
{
    tp_pool_set_t set;
    tp_pool_set_init(&set);
    TP_ASSERT(tp_pool_set_add(&set, 3, mem_a, sizeof mem_a, 8, 1024) == 0);
    TP_ASSERT(tp_pool_set_add(&set, 1, mem_b, sizeof mem_b, 8, 64) == 0);
    TP_ASSERT(tp_pool_set_add(&set, 7, mem_c, sizeof mem_c, 8, 4096) == 0);
    TP_CHECK_EQ_U(tp_pool_select(&set, 0)->pool_id, 1);
    TP_CHECK_EQ_U(tp_pool_select(&set, 64)->pool_id, 1);
    TP_CHECK_EQ_U(tp_pool_select(&set, 65)->pool_id, 3);
    TP_CHECK_EQ_U(tp_pool_select(&set, 1024)->pool_id, 3);
    TP_CHECK_EQ_U(tp_pool_select(&set, 1025)->pool_id, 7);
    TP_CHECK_EQ_U(tp_pool_select(&set, 4096)->pool_id, 7);
}

TP_TEST(test_wire_w058_no_pool_fits)
{
    tp_pool_set_t set;
    tp_pool_set_init(&set);
    TP_CHECK(tp_pool_select(&set, 0) == NULL);
    TP_ASSERT(tp_pool_set_add(&set, 1, mem_a, sizeof mem_a, 8, 4096) == 0);
    TP_CHECK(tp_pool_select(&set, 4097) == NULL);
    TP_CHECK(tp_pool_select(&set, UINT32_MAX) == NULL);
}

TP_TEST(test_wire_w052_slot_geometry)
{
    tp_pool_set_t set;
    tp_pool_set_init(&set);
    TP_ASSERT(tp_pool_set_add(&set, 2, mem_a, sizeof mem_a, 8, 4096) == 0);
    const tp_pool_t *p = tp_pool_find(&set, 2);
    TP_ASSERT(p != NULL);
    TP_CHECK(tp_pool_slot(p, 0) == mem_a + 64);
    TP_CHECK(tp_pool_slot(p, 5) == mem_a + 64 + 5 * 4096);
    TP_CHECK(tp_pool_find(&set, 3) == NULL);
}

TP_TEST(test_wire_w053_reject_bad_stride_and_geometry)
{
    tp_pool_set_t set;
    tp_pool_set_init(&set);
    static const uint32_t bad[] = { 0, 32, 96, 100, 65 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        TP_CHECK_EQ_I(tp_pool_set_add(&set, 1, mem_a, sizeof mem_a, 8, bad[i]), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    }
    TP_CHECK_EQ_I(tp_pool_set_add(&set, 1, mem_a, sizeof mem_a, 3, 64), -1);      /* nslots */
    TP_CHECK_EQ_I(tp_pool_set_add(&set, 1, mem_a, 64 + 8 * 4096 - 1, 8, 4096), -1); /* size */
    TP_CHECK_EQ_I(tp_pool_set_add(&set, 1, NULL, sizeof mem_a, 8, 64), -1);
    TP_CHECK_EQ_I(tp_pool_set_add(&set, 1, mem_a, sizeof mem_a, 8, 64), 0);
    TP_CHECK_EQ_I(tp_pool_set_add(&set, 1, mem_b, sizeof mem_b, 8, 128), -1);     /* dup id */
    TP_CHECK_EQ_U(set.count, 1);
}

TP_TEST(test_pool_set_capacity)
{
    tp_pool_set_t set;
    tp_pool_set_init(&set);
    for (uint32_t i = 0; i < TP_POOLS_MAX; i++)
        TP_CHECK_EQ_I(tp_pool_set_add(&set, (uint16_t)i, mem_a, sizeof mem_a, 8, 64u << (i % 7)), 0);
    TP_CHECK_EQ_I(tp_pool_set_add(&set, 99, mem_a, sizeof mem_a, 8, 64), -1);
    for (uint32_t i = 1; i < set.count; i++)
        TP_CHECK(set.pools[i - 1].stride_bytes <= set.pools[i].stride_bytes);
}

static uint8_t naive_byte(uint64_t seq, size_t i)
{
    if (i < 8) return (uint8_t)(seq >> (8 * i));
    if (i < 16) return (uint8_t)((~seq) >> (8 * (i - 8)));
    return (uint8_t)((seq + i) & 0xff);
}

TP_TEST(test_pattern_interop_definition)
{
    static _Alignas(64) uint8_t buf[600];
    static const uint64_t seqs[] = { 0, 1, 42, 0xfe, 0x0123456789abcdefull, UINT64_MAX };
    for (size_t s = 0; s < sizeof seqs / sizeof seqs[0]; s++) {
        for (size_t mis = 0; mis < 8; mis++) {
            for (size_t len = 0; len <= 300; len += (len < 40 ? 1 : 37)) {
                memset(buf, 0xA5, sizeof buf);
                tp_pattern_fill(buf + mis, len, seqs[s]);
                for (size_t i = 0; i < len; i++) {
                    if (buf[mis + i] != naive_byte(seqs[s], i)) {
                        tp_test_fail(__FILE__, __LINE__, "seq %zu mis %zu len %zu byte %zu", s,
                                     mis, len, i);
                        return;
                    }
                }
                TP_CHECK_EQ_U(buf[mis + len], 0xA5); /* nothing past the end */
                TP_CHECK_EQ_I(tp_pattern_verify(buf + mis, len, seqs[s]), 0);
            }
        }
    }
}

TP_TEST(test_pattern_verify_catches_every_byte)
{
    static _Alignas(64) uint8_t buf[200];
    for (size_t mis = 0; mis < 8; mis += 3) {
        size_t len = 150;
        tp_pattern_fill(buf + mis, len, 77);
        for (size_t i = 0; i < len; i++) {
            buf[mis + i] ^= 0x10;
            TP_CHECK_EQ_I(tp_pattern_verify(buf + mis, len, 77), -1);
            buf[mis + i] ^= 0x10;
        }
        TP_CHECK_EQ_I(tp_pattern_verify(buf + mis, len, 77), 0);
        TP_CHECK_EQ_I(tp_pattern_verify(buf + mis, len, 78), -1);   /* another frame */
        TP_CHECK_EQ_I(tp_pattern_verify(buf + mis, len, 77 + 256), -1); /* same low byte */
    }
}

TP_TEST(test_pattern_short_frames_carry_prefix)
{
    uint8_t buf[16];
    memset(buf, 0, sizeof buf);
    tp_pattern_fill(buf, 5, 0x0102030405060708ull);
    static const uint8_t expect[5] = { 0x08, 0x07, 0x06, 0x05, 0x04 };
    TP_CHECK_MEM(buf, expect, 5);
    TP_CHECK_EQ_U(buf[5], 0);
    TP_CHECK_EQ_I(tp_pattern_verify(buf, 5, 0x0102030405060708ull), 0);
    TP_CHECK_EQ_I(tp_pattern_verify(buf, 0, 123), 0);
    tp_pattern_fill(buf, 12, 9);
    TP_CHECK_EQ_U(buf[8], 0xF6); /* ~9 low byte */
    TP_CHECK_EQ_U(buf[11], 0xFF);
}

TP_TEST(test_pattern_large_frame)
{
    size_t len = (1u << 20) + 13;
    uint8_t *buf = malloc(len + 8);
    TP_ASSERT(buf != NULL);
    tp_pattern_fill(buf + 3, len, 1000003);
    TP_CHECK_EQ_I(tp_pattern_verify(buf + 3, len, 1000003), 0);
    TP_CHECK_EQ_U(buf[3 + 700000], naive_byte(1000003, 700000));
    buf[3 + len - 1] ^= 1;
    TP_CHECK_EQ_I(tp_pattern_verify(buf + 3, len, 1000003), -1);
    free(buf);
}

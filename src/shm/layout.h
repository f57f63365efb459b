/*
 * Shared-memory structures: the ABI every producer, consumer and driver (C or Julia) shares.
 * Byte offsets from LAYOUT §4; rules from WIRE §4-§7. All integers little-endian (W-9).
 *
 * Region file (header ring or payload pool)
 *
 *   0            64                64+S            64+2S
 *   +------------+-----------------+---------------+----
 *   | superblock | slot 0          | slot 1        | ...      S = 256 (ring) or stride (pool)
 *   +------------+-----------------+---------------+----
 *   ring size = 64 + nslots*256 ; pool size = 64 + nslots*stride      (W-12, LAYOUT §4.5)
 *
 * ShmRegionSuperblock (template 50, no message header, 64 bytes, W-15)
 *
 *    0       8       12              20      24    26    28      32      36      40
 *   +-------+-------+---------------+-------+-----+-----+-------+-------+-------+
 *   | magic |layout | epoch (u64,   |stream | reg | pool|nslots |slot   |stride |
 *   | u64   |ver u32| unaligned)    |id u32 | i16 | u16 | u32   |bytes  |bytes  |
 *   +-------+-------+---------------+-------+-----+-----+-------+-------+-------+
 *   40              48                      56                      64
 *   | pid u64       | start_timestamp_ns    | activity_timestamp_ns |   (8-aligned, refreshed
 *   +---------------+-----------------------+-----------------------+    atomically, W-19)
 *
 * Header slot (256 bytes at 64 + i*256; SlotHeader template 51 + embedded TensorHeader 52)
 *
 *    0          8      12     16   18     22            30     34          60     64
 *   +----------+------+------+----+------+-------------+------+-----------+------+
 *   |seq_commit|values|payld |pool|payld |timestamp_ns |meta  | reserved  |hdrlen|
 *   |u64 atomic|len   |slot  |id  |offset|u64          |ver   | (26)      |=192  |
 *   +----------+------+------+----+------+-------------+------+-----------+------+
 *   64               72    74    76 77 78 79        83          115         147     256
 *   | msg header     |dtype|major|nd|pa|pu|progress  | dims      | strides   | reserved|
 *   | 184,52,900,1   |i16  |i16  |u8|u8|u8|stride u32| i32[8]    | i32[8]    | (109)   |
 *   +----------------+-----+-----+--+--+--+----------+-----------+-----------+---------+
 *
 * The structs are packed overlays; GCC/Clang generate unaligned-safe accesses for their
 * members. The only word accessed atomically, seq_commit, is at slot byte 0, a multiple of 64
 * from a page-aligned mapping (W-34); access it only through tp_slot_seq_commit_*() in
 * ring.h, never as a plain member.
 */
#ifndef TP_SHM_LAYOUT_H
#define TP_SHM_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "util/endian.h" /* refuses big-endian hosts (W-9) */

#define TP_SUPERBLOCK_SIZE 64u           /* W-10: a constant, never from SBE metadata */
#define TP_HEADER_SLOT_BYTES 256u        /* W-26 */
#define TP_MAX_DIMS 8u                   /* W-37 */
#define TP_LAYOUT_VERSION 1u             /* W-21 */
#define TP_SUPERBLOCK_MAGIC 0x544F504C53484D31ull /* W-16: bytes 31 4d 48 53 4c 50 4f 54 */
#define TP_TENSOR_HEADER_LEN 192u        /* W-30: 8 header + 184 body */
#define TP_TENSOR_HEADER_BLOCK_LEN 184u  /* W-31 */
#define TP_TENSOR_HEADER_TEMPLATE_ID 52u
#define TP_WIRE_SCHEMA_ID 900u
#define TP_WIRE_SCHEMA_VERSION 1u
#define TP_MIN_STRIDE_BYTES 64u          /* W-53 */

enum tp_region_type { TP_REGION_HEADER_RING = 1, TP_REGION_PAYLOAD_POOL = 2 };

typedef struct __attribute__((packed)) tp_superblock {
    uint64_t magic;
    uint32_t layout_version;
    uint64_t epoch;
    uint32_t stream_id;
    int16_t region_type;
    uint16_t pool_id;
    uint32_t nslots;
    uint32_t slot_bytes;
    uint32_t stride_bytes;
    uint64_t pid;
    uint64_t start_timestamp_ns;
    uint64_t activity_timestamp_ns; /* atomic (8-aligned): tp_superblock_activity_*() */
} tp_superblock_t;

_Static_assert(sizeof(tp_superblock_t) == 64, "LAYOUT §4.1");
_Static_assert(offsetof(tp_superblock_t, magic) == 0, "LAYOUT §4.1");
_Static_assert(offsetof(tp_superblock_t, layout_version) == 8, "LAYOUT §4.1");
_Static_assert(offsetof(tp_superblock_t, epoch) == 12, "LAYOUT §4.1");
_Static_assert(offsetof(tp_superblock_t, stream_id) == 20, "LAYOUT §4.1");
_Static_assert(offsetof(tp_superblock_t, region_type) == 24, "LAYOUT §4.1");
_Static_assert(offsetof(tp_superblock_t, pool_id) == 26, "LAYOUT §4.1");
_Static_assert(offsetof(tp_superblock_t, nslots) == 28, "LAYOUT §4.1");
_Static_assert(offsetof(tp_superblock_t, slot_bytes) == 32, "LAYOUT §4.1");
_Static_assert(offsetof(tp_superblock_t, stride_bytes) == 36, "LAYOUT §4.1");
_Static_assert(offsetof(tp_superblock_t, pid) == 40, "LAYOUT §4.1");
_Static_assert(offsetof(tp_superblock_t, start_timestamp_ns) == 48, "LAYOUT §4.1");
_Static_assert(offsetof(tp_superblock_t, activity_timestamp_ns) == 56, "LAYOUT §4.1");

/* Slot header + embedded TensorHeader: one 256-byte header slot (LAYOUT §4.4). */
typedef struct __attribute__((packed)) tp_slot {
    uint64_t seq_commit; /* atomic: (seq << 1) | committed (W-64) */
    uint32_t values_len_bytes;
    uint32_t payload_slot;
    uint16_t pool_id;
    uint32_t payload_offset;
    uint64_t timestamp_ns;
    uint32_t meta_version;
    uint8_t reserved0[26];
    uint32_t header_bytes_len; /* = 192 (W-30) */
    /* embedded TensorHeader message header (W-31) */
    uint16_t th_block_length;
    uint16_t th_template_id;
    uint16_t th_schema_id;
    uint16_t th_version;
    /* TensorHeader body (W-36) */
    int16_t dtype;
    int16_t major_order;
    uint8_t ndims;
    uint8_t pad_align;
    uint8_t progress_unit;
    uint32_t progress_stride_bytes;
    int32_t dims[TP_MAX_DIMS];
    int32_t strides[TP_MAX_DIMS];
    uint8_t reserved1[109];
} tp_slot_t;

_Static_assert(sizeof(tp_slot_t) == TP_HEADER_SLOT_BYTES, "LAYOUT §4.4");
_Static_assert(offsetof(tp_slot_t, seq_commit) == 0, "LAYOUT §4.2");
_Static_assert(offsetof(tp_slot_t, values_len_bytes) == 8, "LAYOUT §4.2");
_Static_assert(offsetof(tp_slot_t, payload_slot) == 12, "LAYOUT §4.2");
_Static_assert(offsetof(tp_slot_t, pool_id) == 16, "LAYOUT §4.2");
_Static_assert(offsetof(tp_slot_t, payload_offset) == 18, "LAYOUT §4.2");
_Static_assert(offsetof(tp_slot_t, timestamp_ns) == 22, "LAYOUT §4.2");
_Static_assert(offsetof(tp_slot_t, meta_version) == 30, "LAYOUT §4.2");
_Static_assert(offsetof(tp_slot_t, reserved0) == 34, "LAYOUT §4.2");
_Static_assert(offsetof(tp_slot_t, header_bytes_len) == 60, "LAYOUT §4.2");
_Static_assert(offsetof(tp_slot_t, th_block_length) == 64, "LAYOUT §4.3");
_Static_assert(offsetof(tp_slot_t, th_template_id) == 66, "LAYOUT §4.3");
_Static_assert(offsetof(tp_slot_t, th_schema_id) == 68, "LAYOUT §4.3");
_Static_assert(offsetof(tp_slot_t, th_version) == 70, "LAYOUT §4.3");
_Static_assert(offsetof(tp_slot_t, dtype) == 72, "LAYOUT §4.3");
_Static_assert(offsetof(tp_slot_t, major_order) == 74, "LAYOUT §4.3");
_Static_assert(offsetof(tp_slot_t, ndims) == 76, "LAYOUT §4.3");
_Static_assert(offsetof(tp_slot_t, pad_align) == 77, "LAYOUT §4.3");
_Static_assert(offsetof(tp_slot_t, progress_unit) == 78, "LAYOUT §4.3");
_Static_assert(offsetof(tp_slot_t, progress_stride_bytes) == 79, "LAYOUT §4.3");
_Static_assert(offsetof(tp_slot_t, dims) == 83, "LAYOUT §4.3");
_Static_assert(offsetof(tp_slot_t, strides) == 115, "LAYOUT §4.3");
_Static_assert(offsetof(tp_slot_t, reserved1) == 147, "LAYOUT §4.3");

/* Geometry (LAYOUT §4.5). Callers validate nslots/stride before calling. */
static inline uint64_t tp_ring_file_size(uint32_t nslots)
{
    return TP_SUPERBLOCK_SIZE + (uint64_t)nslots * TP_HEADER_SLOT_BYTES;
}

static inline uint64_t tp_pool_file_size(uint32_t nslots, uint32_t stride_bytes)
{
    return TP_SUPERBLOCK_SIZE + (uint64_t)nslots * stride_bytes;
}

static inline int tp_is_pow2_u32(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

#endif

/*
 * Why a frame was dropped by the data-plane read path (WIRE §6-§8, W-75 steps 4-11).
 *
 * Every reason here is a DROP in the W-0 sense (discard quietly, count, move on; never an
 * error, never retried) and every one of them counts as `drops_late` (W-75, W-147).
 * Epoch mismatches, rate-gate skips and sequence gaps belong to the consumer (W-75 steps
 * 2, 3, 7, 12) and have their own counters there.
 *
 * X(name, value, rule, description): the one table of reasons, in W-75 check order.
 */
#ifndef TP_SHM_DROP_H
#define TP_SHM_DROP_H

#define TP_DROP_TABLE(X)                                                                     \
    X(TP_DROP_NONE, 0, "-", "accepted")                                                      \
    X(TP_DROP_NOT_COMMITTED, 1, "W-67.3", "first seq_commit load is even (write in progress)") \
    X(TP_DROP_BAD_EMBEDDED_HEADER, 2, "W-33", "headerBytes length/blockLength/template/schema/version wrong") \
    X(TP_DROP_COMMIT_CHANGED, 3, "W-70", "seq_commit changed between the two loads (or went even)") \
    X(TP_DROP_COMMIT_WORD, 4, "W-75.8", "decoded seq_commit differs from the second load")     \
    X(TP_DROP_STALE_SLOT, 5, "W-69", "commit word below the last one accepted from this slot")  \
    X(TP_DROP_SEQ_MISMATCH, 6, "W-71", "seq_commit >> 1 differs from the requested seq")       \
    X(TP_DROP_PAYLOAD_SLOT, 7, "W-61", "payload_slot >= nslots or != header_index")            \
    X(TP_DROP_PAYLOAD_OFFSET, 8, "W-59", "payload_offset != 0")                               \
    X(TP_DROP_DTYPE, 9, "W-41", "dtype not one of 1..11, 13, 14")                              \
    X(TP_DROP_MAJOR_ORDER, 10, "W-41", "major_order not ROW or COLUMN")                        \
    X(TP_DROP_NDIMS, 11, "W-38", "ndims outside 1..8")                                         \
    X(TP_DROP_DIMS, 12, "W-45", "negative dims[i] for i < ndims")                              \
    X(TP_DROP_STRIDES, 13, "W-44/W-45", "negative, overlapping or mis-ordered strides")        \
    X(TP_DROP_PROGRESS, 14, "W-47/W-48", "progress unit unknown or progress stride mismatch")  \
    X(TP_DROP_POOL_UNKNOWN, 15, "W-61", "pool_id names no mapped pool")                        \
    X(TP_DROP_LENGTH, 16, "W-60", "values_len_bytes > pool stride_bytes")                     \
    X(TP_DROP_BEHIND, 17, "DECISION", "consumer behind: the producer laps this slot within the guard; skipped unread")

typedef enum tp_drop_reason {
#define TP_DROP_ENUM(name, value, rule, desc) name = value,
    TP_DROP_TABLE(TP_DROP_ENUM)
#undef TP_DROP_ENUM
    TP_DROP_COUNT
} tp_drop_reason_t;

/* "TP_DROP_NOT_COMMITTED" etc., or "TP_DROP_INVALID" for a value outside the table.
 * Static storage. Defined in ring.c. */
const char *tp_drop_reason_name(int reason);

/* Lower-case short form for key=value output: "not_committed", "commit_changed", ...
 * ("accepted" for TP_DROP_NONE). Static storage. */
const char *tp_drop_reason_key(int reason);

/* The rule the reason enforces ("W-70") and a one-line description. Static storage. */
const char *tp_drop_reason_rule(int reason);
const char *tp_drop_reason_desc(int reason);

#endif

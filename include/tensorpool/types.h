/*
 * Public enums and plain structs shared by the driver client, the producer and the consumer.
 *
 * Everything here is plain data: no handles, no allocation, fixed-size arrays only (STYLE
 * rule 10). Numeric values of the wire enums are the frozen SBE values (WIRE.md, DRIVER.md),
 * so a struct field can be copied to and from the codecs unchanged.
 *
 * Null sentinels: optional wire fields use TP_NULL_U32 / TP_NULL_U64 (LAYOUT §5); a field
 * documented "or TP_NULL_*" holds that value when the message did not carry it.
 */
#ifndef TENSORPOOL_TYPES_H
#define TENSORPOOL_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "tensorpool/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TP_NULL_U32 0xFFFFFFFFu
#define TP_NULL_U64 0xFFFFFFFFFFFFFFFFull
#define TP_ENUM_NULL_I16 (-32768) /* SBE null of the i16 enums dtype / major_order (W-41) */

#ifndef TP_MAX_DIMS
#define TP_MAX_DIMS 8u /* W-37 (same token sequence as src/shm/layout.h) */
#endif

/* Capacities of the fixed arrays in public structs. Implementations _Static_assert that
 * their internal limits match (TP_POOLS_MAX in src/shm/pool.h, TP_DROP_COUNT in drop.h). */
#define TP_POOLS_PER_STREAM_MAX 16u   /* pools of one stream (src/shm/pool.h TP_POOLS_MAX) */
#define TP_URI_MAX 4096u              /* region URI incl. NUL (DRIVER D-94: at most 4096 bytes) */
#define TP_CHANNEL_URI_MAX 1024u      /* transport channel URI incl. NUL ("aeron:ipc?...") */
#define TP_MESSAGE_MAX 1025u          /* driver errorMessage incl. NUL (D-21: at most 1024) */
#define TP_DROP_REASONS_MAX 32u       /* size of per-reason drop arrays (>= TP_DROP_COUNT) */

/* ---- dtype (W-40, W-43) ------------------------------------------------------------------ */

/* X(name, value, element size): frozen v1.x numbers (12 unassigned). The one dtype table:
 * src/shm/tensor.h includes this header instead of defining its own. */
#define TP_DTYPE_TABLE(X)                                                                 \
    X(UNKNOWN, 0, 0) X(UINT8, 1, 1) X(INT8, 2, 1) X(UINT16, 3, 2) X(INT16, 4, 2)          \
    X(UINT32, 5, 4) X(INT32, 6, 4) X(UINT64, 7, 8) X(INT64, 8, 8) X(FLOAT32, 9, 4)        \
    X(FLOAT64, 10, 8) X(BOOLEAN, 11, 1) X(BYTES, 13, 1) X(BIT, 14, 1)

typedef enum tp_dtype {
#define TP_DTYPE_ENUM(name, value, size) TP_DTYPE_##name = value,
    TP_DTYPE_TABLE(TP_DTYPE_ENUM)
#undef TP_DTYPE_ENUM
} tp_dtype_t;

/* W-41. */
typedef enum tp_major_order { TP_MAJOR_UNKNOWN = 0, TP_MAJOR_ROW = 1, TP_MAJOR_COLUMN = 2 } tp_major_order_t;

/* W-47 (schema ProgressUnit). */
typedef enum tp_progress_unit {
    TP_PROGRESS_NONE = 0,
    TP_PROGRESS_ROWS = 1,
    TP_PROGRESS_COLUMNS = 2
} tp_progress_unit_t;

/* Element size in bytes (BIT counts as 1, W-43); 0 for UNKNOWN, 12, null and anything else.
 * Pure, thread-safe. */
TP_API uint32_t tp_dtype_size(int32_t dtype);

/* "UINT8", "FLOAT32", ...; "INVALID" outside the table. Static storage, thread-safe. */
TP_API const char *tp_dtype_name(int32_t dtype);

/* Case-insensitive name -> number; -1 when unknown. "UNKNOWN" maps to 0. Thread-safe. */
TP_API int tp_dtype_from_name(const char *name);

/* ---- the tensor a producer publishes (TensorHeader body, WIRE §6) ------------------------ */

/* Host form of the TensorHeader body. dims/strides entries at i >= ndims are ignored by
 * readers and encoded as 0 (W-39). strides[i] == 0 means "contiguous, infer" (W-44); strides
 * are in bytes. progress_stride_bytes must be 0 when progress_unit is NONE (W-48). */
typedef struct tp_tensor_desc {
    int16_t dtype;                  /* tp_dtype_t */
    int16_t major_order;            /* tp_major_order_t */
    uint8_t ndims;                  /* 1..8 (W-38) */
    uint8_t progress_unit;          /* tp_progress_unit_t */
    uint32_t progress_stride_bytes; /* 0 when unit is NONE (W-48) */
    int32_t dims[TP_MAX_DIMS];
    int32_t strides[TP_MAX_DIMS];
} tp_tensor_desc_t;

/* Fill *d as a contiguous tensor (all strides 0 = inferred), progress NONE. ndims is clamped
 * to 8; entries past ndims are zeroed. dims must hold ndims values. Never fails. */
TP_API void tp_tensor_desc_contiguous(tp_tensor_desc_t *d, int16_t dtype, int16_t major_order,
                                      uint8_t ndims, const int32_t *dims);

/* Validate a descriptor before publishing it with the checks consumers run (W-38, W-41,
 * W-44, W-45, W-47, W-48). Setup-time call: tp_producer_publish does not repeat it per frame.
 * Returns 0, or -1 with TP_ETENSOR naming the rule. */
TP_API int tp_tensor_desc_check(const tp_tensor_desc_t *d);

/* Bytes spanned by the tensor once strides are inferred (0 if any dim is 0). Only for a
 * descriptor that passes tp_tensor_desc_check; UINT64_MAX otherwise. */
TP_API uint64_t tp_tensor_extent_bytes(const tp_tensor_desc_t *d);

/* ---- roles, modes and wire enums ------------------------------------------------------------ */

/* DRIVER schema Role. */
typedef enum tp_role { TP_ROLE_PRODUCER = 1, TP_ROLE_CONSUMER = 2 } tp_role_t;

/* WIRE schema Mode (W-100, W-151, W-152). */
typedef enum tp_consumer_mode { TP_MODE_STREAM = 1, TP_MODE_RATE_LIMITED = 2 } tp_consumer_mode_t;

/* DRIVER schema PublishMode; TP_PUBLISH_MODE_NULL (255) = absent, read by drivers as
 * REQUIRE_EXISTING (D-25). */
typedef enum tp_publish_mode {
    TP_PUBLISH_REQUIRE_EXISTING = 1,
    TP_PUBLISH_EXISTING_OR_CREATE = 2,
    TP_PUBLISH_MODE_NULL = 255
} tp_publish_mode_t;

/* DRIVER schema HugepagesPolicy (D-26). */
typedef enum tp_hugepages_policy {
    TP_HUGEPAGES_UNSPECIFIED = 0,
    TP_HUGEPAGES_STANDARD = 1,
    TP_HUGEPAGES_REQUIRED = 2 /* wire name HUGEPAGES */
} tp_hugepages_policy_t;

/* DRIVER/WIRE schema ResponseCode (D-38). */
typedef enum tp_response_code {
    TP_RESPONSE_OK = 0,
    TP_RESPONSE_UNSUPPORTED = 1,
    TP_RESPONSE_INVALID_PARAMS = 2,
    TP_RESPONSE_REJECTED = 3,
    TP_RESPONSE_INTERNAL_ERROR = 4
} tp_response_code_t;

/* DRIVER schema LeaseRevokeReason (D-57, D-62). */
typedef enum tp_revoke_reason {
    TP_REVOKE_DETACHED = 1,
    TP_REVOKE_EXPIRED = 2,
    TP_REVOKE_REVOKED = 3
} tp_revoke_reason_t;

/* DRIVER schema ShutdownReason. */
typedef enum tp_shutdown_reason {
    TP_SHUTDOWN_NORMAL = 0,
    TP_SHUTDOWN_ADMIN = 1,
    TP_SHUTDOWN_ERROR = 2
} tp_shutdown_reason_t;

/* WIRE schema FrameProgressState (W-127). */
typedef enum tp_progress_state {
    TP_PROGRESS_STATE_UNKNOWN = 0,
    TP_PROGRESS_STATE_STARTED = 1,
    TP_PROGRESS_STATE_PROGRESS = 2,
    TP_PROGRESS_STATE_COMPLETE = 3
} tp_progress_state_t;

/* "PRODUCER", "REJECTED", "EXPIRED", ... for the enums above; "INVALID" otherwise.
 * Static storage, thread-safe. */
TP_API const char *tp_role_name(int role);
TP_API const char *tp_response_code_name(int code);
TP_API const char *tp_revoke_reason_name(int reason);
TP_API const char *tp_shutdown_reason_name(int reason);

/* ---- drop reasons (data-plane read path, W-75) --------------------------------------------- */

/* Index space of tp_consumer_stats_t.drops_by_reason[]: the values of the internal
 * tp_drop_reason_t table (src/shm/drop.h, W-75 check order): 0 accepted (never counted),
 * 1 not_committed, 2 bad_embedded_header, 3 commit_changed, 4 commit_word, 5 stale_slot,
 * 6 seq_mismatch, 7 payload_slot, 8 payload_offset, 9 dtype, 10 major_order, 11 ndims,
 * 12 dims, 13 strides, 14 progress, 15 pool_unknown, 16 length. Values are stable; new
 * reasons are appended. Every one of them also counts in drops_late (W-147).
 * Iterate i = 1 .. tp_drop_reason_count()-1 and name them with the functions below. */

/* Number of defined reasons including 0 (= TP_DROP_COUNT, <= TP_DROP_REASONS_MAX). */
TP_API int tp_drop_reason_count(void);

/* "TP_DROP_NOT_COMMITTED" ..., "TP_DROP_INVALID" outside the table. Static storage. */
TP_API const char *tp_drop_reason_name(int reason);

/* Short key for key=value output ("not_committed", ...; "accepted" for 0). Static storage. */
TP_API const char *tp_drop_reason_key(int reason);

/* The rule the reason enforces ("W-70") and a one-line description. Static storage. */
TP_API const char *tp_drop_reason_rule(int reason);
TP_API const char *tp_drop_reason_desc(int reason);

/* ---- frame view (consumer side) -------------------------------------------------------------- */

/* What a consumer's frame handler receives (tp_consumer_poll). Header fields are a private
 * copy validated under the seqlock (W-75); `data` points INTO the shared payload pool.
 *
 * Lifetime: the tp_frame_t itself is valid only during the handler call (copy it if needed;
 * a copy stays usable with tp_frame_is_intact/tp_frame_copy as long as the consumer has not
 * remapped, i.e. until the next tp_consumer_poll/do_work that changes the epoch).
 * Contract (W-74, DESIGN §4): the producer may lap a slow reader at any time, so bytes read
 * through `data` are only trustworthy if tp_frame_is_intact(f) returns 1 AFTER reading them.
 * The header fields (seq, dims, ...) are always trustworthy. Never write through `data`. */
typedef struct tp_frame {
    uint64_t seq;                  /* logical sequence (W-118) */
    uint64_t epoch;                /* epoch of the mapping it was read from */
    uint32_t stream_id;
    uint32_t meta_version;         /* SlotHeader meta_version (W-125); TP_NULL_U32 if none */
    uint64_t timestamp_ns;         /* SlotHeader.timestamp_ns: capture time (W-124) */
    uint64_t publish_timestamp_ns; /* FrameDescriptor.timestamp_ns or TP_NULL_U64 (W-124) */
    uint64_t trace_id;             /* FrameDescriptor.trace_id; 0 = not traced (W-126) */
    int16_t dtype;                 /* tp_dtype_t, validated (W-41) */
    int16_t major_order;           /* tp_major_order_t, validated */
    uint8_t ndims;                 /* 1..8 */
    uint8_t progress_unit;         /* tp_progress_unit_t */
    uint16_t pool_id;
    uint32_t progress_stride_bytes;
    uint32_t header_index;         /* seq & (nslots - 1) */
    int32_t dims[TP_MAX_DIMS];     /* 0 past ndims */
    int64_t strides[TP_MAX_DIMS];  /* effective byte strides after W-45 inference; 0 past ndims */
    const uint8_t *data;           /* payload in shared memory (see contract above) */
    uint32_t len;                  /* values_len_bytes; 0 is a valid frame (W-62) */
    uint32_t priv_pad_;
    /* Private: what tp_frame_is_intact re-checks. Do not touch. */
    const void *priv_slot_;        /* the shared header slot */
    uint64_t priv_commit_word_;    /* accepted (seq << 1) | 1 */
} tp_frame_t;

/* tp_frame_is_intact() and tp_frame_copy() are declared in tensorpool/frame.h. */

/* ---- counters ----------------------------------------------------------------------------- */

/* Snapshot filled by tp_producer_get_stats. Monotonic counters since tp_producer_init_from_attach
 * unless noted. */
typedef struct tp_producer_stats {
    uint64_t frames_published;      /* committed frames (publish + offer) */
    uint64_t bytes_published;       /* sum of values_len_bytes */
    uint64_t aborts;                /* reservations given up (each is a seq gap downstream) */
    uint64_t stale_releases;        /* reservations of an old epoch released by publish/abort */
    uint64_t descriptors_sent;
    uint64_t descriptors_not_connected; /* nobody subscribed: skipped (as the reference) */
    uint64_t descriptors_lost;      /* back-pressured until the slot was lapped: never sent */
    uint64_t progress_sent;         /* FrameProgress messages (all states) */
    uint64_t qos_sent;
    uint64_t meta_sent;             /* DataSourceAnnounce + DataSourceMeta */
    uint64_t reattaches;            /* successful reattaches after revocation/shutdown/loss */
    uint64_t per_consumer_streams;  /* currently open per-consumer descriptor streams (gauge) */
    uint64_t current_seq;           /* next seq to be reserved (QosProducer current_seq) (gauge) */
    uint64_t epoch;                 /* epoch of the current mapping (gauge) */
    uint32_t outstanding;           /* reservations not yet published/aborted (gauge) */
    uint32_t state;                 /* tp_producer_state_t (gauge) */
} tp_producer_stats_t;

/* Snapshot filled by tp_consumer_get_stats. drops_gap and drops_late are the W-147 counters sent
 * in QosConsumer; the others are local diagnostics. torn frames are the application's to
 * count (the library cannot see them: tp_frame_is_intact is called after the handler reads). */
typedef struct tp_consumer_stats {
    uint64_t frames;                /* frames handed to the frame handler */
    uint64_t drops_gap;             /* W-147: seq − last_seq_seen − 1 per gap (W-75 step 12) */
    uint64_t drops_late;            /* W-147: every seqlock/header/payload validation failure */
    uint64_t drops_by_reason[TP_DROP_REASONS_MAX]; /* split of drops_late, see drop reasons */
    uint64_t lapped_reads;          /* delivered frames overwritten before the handler returned */
    uint64_t gap_resyncs;           /* gaps > max_outstanding_seq_gap: tracking reset (W-149) */
    uint64_t epoch_mismatches;      /* descriptors of another epoch ignored (W-120) */
    uint64_t seq_regressions;       /* seq went backwards in one epoch → remap (W-150) */
    uint64_t rate_limited_skips;    /* RATE_LIMITED gate skips; not drops (W-147 REF) */
    uint64_t progress_regressions;  /* FrameProgress bytes_filled went backwards (W-134) */
    uint64_t announces_accepted;
    uint64_t announces_ignored;     /* stale, old epoch, wrong stream, gate closed (W-92) */
    uint64_t remaps;                /* mappings replaced after the first (epoch change etc.) */
    uint64_t map_failures;          /* regions that failed validation (W-94..W-99) */
    uint64_t reattaches;
    uint64_t last_seq_seen;         /* gauge; TP_NULL_U64 before the first descriptor */
    uint64_t epoch;                 /* gauge: epoch of the current mapping, 0 if unmapped */
    uint32_t mapping_state;         /* tp_mapping_state_t (gauge) */
    uint32_t mode;                  /* tp_consumer_mode_t in effect (after ConsumerConfig) */
} tp_consumer_stats_t;

#ifdef __cplusplus
}
#endif
#endif

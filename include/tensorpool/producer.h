/*
 * tp_producer_t: publishes frames of one stream into driver-provisioned shared memory
 * (WIRE §8, §16-§20; DRIVER D-59, D-77).
 *
 * Zero-copy verbs (STYLE rule 7): reserve → write in place (CPU or DMA) → publish, or abort.
 *
 *   tp_producer_reserve   hands out the slot of the next seq: r.data (pool slot memory),
 *                         r.capacity (pool stride), r.seq. The header slot is marked WRITING
 *                         (seq_commit = seq << 1, W-65 step 1) before reserve returns, so a
 *                         consumer still reading the slot's previous frame sees it torn.
 *                         The slot index is fixed by the seq (header_index = payload slot =
 *                         seq & (nslots - 1), W-61, W-122; all pools share it), so up to
 *                         header_nslots reservations may be outstanding, and reserve refuses
 *                         with TP_PRODUCER_SLOT_BUSY — never an aliased slot — while the slot
 *                         of the next seq is still reserved, i.e. until the OLDEST outstanding
 *                         reservation is completed. With out-of-order completion, keep
 *                         reserving after each completion until SLOT_BUSY, and identify a device
 *                         buffer by r.header_index (its memory is the same for every seq that
 *                         maps to that index within one epoch and pool).
 *   tp_producer_publish   in ANY order (a camera SDK completing DMA buffers out of order):
 *                         writes the TensorHeader and commits the slot (W-65 steps 2-6), but
 *                         FrameDescriptors go out strictly in seq order as the completed prefix
 *                         grows (W-119: each after its commit). A publish of seq s while s-1 is
 *                         outstanding commits s and holds its descriptor back.
 *   tp_producer_abort     gives a reservation up: the slot stays uncommitted, no descriptor is
 *                         sent for its seq (consumers count it in drops_gap), and the prefix
 *                         moves past it.
 *   tp_producer_offer     copying convenience: reserve (smallest pool whose stride >= len) +
 *                         memcpy + publish.
 *
 * Lease loss (own ShmLeaseRevoked, ShmDriverShutdown, keepalive failure, or the driver presumed
 * lost because its ShmPoolAnnounce for the stream stopped or moved to a higher epoch — D-69,
 * see announce_* in tp_producer_config_t): the producer goes
 * PAUSED, stops publishing, and tp_producer_do_work reattaches with backoff through its driver
 * client, remaps, and goes ACTIVE again with seq reset to 0 in the new epoch (D-77). Regions of
 * the old epoch stay MAPPED (not written to the ring, not published) until every reservation
 * handed out in that epoch has been released with publish or abort (both return
 * TP_PRODUCER_STALE for them): DMA engines may still be writing into those buffers, and
 * unmapping them under a device would be worse than the leak. Applications that registered
 * slot buffers with a device re-register after a reattach (watch tp_producer_epoch()).
 *
 * Threading: all calls on the thread of the producer's tp_client_t (one agent). Completion
 * callbacks of a camera SDK that run on other threads must hand the reservation over (e.g.
 * through a queue) to that thread. Hot paths (reserve, publish, abort, offer, progress) make
 * no system call (besides the transport's offer), take no lock and allocate nothing.
 *
 * Result convention of the hot-path calls: 0 success; -1 with tp_errcode() for caller errors;
 * negative TP_PRODUCER_* sentinels (thread error untouched) for expected conditions.
 */
#ifndef TENSORPOOL_PRODUCER_H
#define TENSORPOOL_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include "tensorpool/export.h"
#include "tensorpool/client.h"
#include "tensorpool/driver_client.h"
#include "tensorpool/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_producer tp_producer_t;

#define TP_PRODUCER_NOT_ACTIVE (-2) /* PAUSED/IDLE (lease lost, reattaching): retry later */
#define TP_PRODUCER_STALE (-3)      /* reservation of an older epoch: released, nothing published */
#define TP_PRODUCER_SLOT_BUSY (-4)  /* reserve: the next seq's slot is still reserved */

#define TP_META_ATTRS_MAX 32u       /* attributes in one DataSourceMeta */
#define TP_META_KEY_MAX 128u        /* incl. NUL */
#define TP_META_FORMAT_MAX 128u     /* incl. NUL */
#define TP_META_VALUE_MAX 4096u     /* bytes */
#define TP_SOURCE_TEXT_MAX 256u     /* DataSourceAnnounce name / summary incl. NUL */
#define TP_PRODUCER_CONSUMERS_MAX 64u /* consumers tracked (progress hints, per-consumer streams) */

/* ---- configuration ------------------------------------------------------------------------ */

/* Defaults follow WIRE W-180/W-181 and the reference; environment variables are named after
 * the reference's [producer] keys per DRIVER D-89 (upper-cased, '.' → '_') and read once in
 * tp_producer_config_init. */
typedef struct tp_producer_config {
    uint32_t producer_id;            /* 0 = the driver client's client id (what the driver
                                        announces, D-48); env PRODUCER_PRODUCER_ID */
    char control_channel[TP_CHANNEL_URI_MAX];    /* "aeron:ipc"; env PRODUCER_CONTROL_CHANNEL */
    uint32_t control_stream_id;      /* 1000: ConsumerHello in, FrameProgress out (W-114);
                                        env PRODUCER_CONTROL_STREAM_ID */
    char descriptor_channel[TP_CHANNEL_URI_MAX]; /* "aeron:ipc"; env PRODUCER_DESCRIPTOR_CHANNEL */
    uint32_t descriptor_stream_id;   /* 1100; env PRODUCER_DESCRIPTOR_STREAM_ID */
    char qos_channel[TP_CHANNEL_URI_MAX];        /* "aeron:ipc"; env PRODUCER_QOS_CHANNEL */
    uint32_t qos_stream_id;          /* 1200: QosProducer out, QosConsumer in;
                                        env PRODUCER_QOS_STREAM_ID */
    char metadata_channel[TP_CHANNEL_URI_MAX];   /* "aeron:ipc"; env PRODUCER_METADATA_CHANNEL */
    uint32_t metadata_stream_id;     /* 1300: DataSourceAnnounce/Meta; env PRODUCER_METADATA_STREAM_ID */
    uint64_t announce_interval_ns;   /* superblock activity refresh + DataSourceAnnounce (W-141);
                                        1 s; env PRODUCER_ANNOUNCE_INTERVAL_NS */
    uint64_t qos_interval_ns;        /* QosProducer (W-146); 1 s; env PRODUCER_QOS_INTERVAL_NS */
    uint64_t meta_interval_ns;       /* periodic DataSourceMeta repeat; 0 = only on change;
                                        1 s; env PRODUCER_META_INTERVAL_NS */
    int descriptor_timestamps;       /* 1: FrameDescriptor.timestamp_ns = publish time (REF,
                                        W-124); 0: null; env PRODUCER_DESCRIPTOR_TIMESTAMPS */
    /* FrameProgress (W-138..W-140): sent only while some consumer declared supports_progress.
       Effective value = max(floor, min(default, consumer hints)). */
    uint32_t progress_interval_us;       /* 250; env PRODUCER_PROGRESS_INTERVAL_US */
    uint32_t progress_bytes_delta;       /* 65536; env PRODUCER_PROGRESS_BYTES_DELTA */
    uint32_t progress_major_delta_units; /* 0 = unset; env PRODUCER_PROGRESS_MAJOR_DELTA_UNITS */
    uint32_t progress_min_interval_us;   /* floor; 100; env PRODUCER_PROGRESS_MIN_INTERVAL_US */
    uint32_t progress_min_bytes_delta;   /* floor; 4096; env PRODUCER_PROGRESS_MIN_BYTES_DELTA */
    uint32_t progress_max_rate_hz;       /* per-stream cap (W-138); 2000; env PRODUCER_PROGRESS_MAX_RATE_HZ */
    uint64_t consumer_timeout_ns;        /* no Hello/QoS for this long → per-consumer streams
                                            closed (W-116 REF: 5 × max(announce, qos)); 5 s;
                                            env PRODUCER_CONSUMER_TIMEOUT_NS */
    uint32_t meta_version;               /* initial meta_version; 0; env PRODUCER_META_VERSION */
    char source_name[TP_SOURCE_TEXT_MAX];    /* DataSourceAnnounce name; ""; env PRODUCER_SOURCE_NAME */
    char source_summary[TP_SOURCE_TEXT_MAX]; /* DataSourceAnnounce summary; ""; env PRODUCER_SOURCE_SUMMARY */
    uint64_t reattach_backoff_initial_ns; /* after lease loss; 100 ms; env PRODUCER_REATTACH_BACKOFF_NS */
    uint64_t reattach_backoff_max_ns;     /* 5 s; env PRODUCER_REATTACH_BACKOFF_MAX_NS */
    /* Driver-loss detection (D-47, D-50, D-69), as the consumer's (same names and defaults;
       appended here so the fields above keep their offsets). announce_*: where the driver's
       ShmPoolAnnounce arrive — its announce stream (the integration example's driver and the
       CLI use 15001; a driver without announce_stream_id announces on its control stream).
       Once two announces of the producer's stream have been seen (one announce interval
       observed), none for announce_wait_timeout_ns — or 3 observed intervals, if longer — while
       ACTIVE (interval: the longest of the last 4 seen), or one with an epoch above the
       producer's, means the driver is presumed lost
       (killed without a ShmDriverShutdown): the lease is abandoned (detach best effort, D-95),
       PAUSED, reattach with backoff as after a revocation, resume at seq 0 in the new epoch.
       Until the first interval is seen nothing is presumed (a warning is logged once when
       nothing arrives for the timeout: check announce_channel/announce_stream_id).
       announce_stream_id 0 = no announce subscription, no detection. */
    char announce_channel[TP_CHANNEL_URI_MAX];   /* "aeron:ipc"; env PRODUCER_ANNOUNCE_CHANNEL */
    uint32_t announce_stream_id;     /* 1001; env PRODUCER_ANNOUNCE_STREAM_ID */
    uint64_t announce_wait_timeout_ns; /* driver-silence limit (D-69); 0 = 9 s (3 x the 3 s
                                        announce freshness window, the consumer's REF default);
                                        env PRODUCER_ANNOUNCE_WAIT_TIMEOUT_NS */
} tp_producer_config_t;

/* Fill the defaults, then the environment. Never fails (bad environment values are logged
 * and ignored). */
TP_API void tp_producer_config_init(tp_producer_config_t *cfg);

/* ---- lifecycle ------------------------------------------------------------------------------ */

/* Create a producer from an OK attach of a TP_ROLE_PRODUCER driver client: validate and map
 * the header ring and every pool read-write (W-94..W-99, path containment W-178 with the
 * context's allowed dirs) against att, open the publications/subscriptions of cfg, start at
 * seq 0 ACTIVE. cfg and att are copied (att may be freed afterwards). dc is borrowed and must
 * outlive the producer; from now on the producer owns dc's events and reattachment (one
 * producer or consumer per driver client). On a validation failure nothing stays mapped, the
 * lease is abandoned (tp_driver_client_abandon, D-41/D-95) and -1 is returned (TP_EREGION,
 * TP_EURI, TP_EPATH, TP_EHUGEPAGES, TP_EINVAL when att->code != OK or att is not dc's current
 * lease, TP_ESTATE when dc already has an owner, TP_ECHANNEL, TP_ENOMEM); the caller may attach
 * again. *out is owned by the caller until tp_producer_close. Not a hot path (allocates). */
TP_API int tp_producer_init_from_attach(tp_producer_t **out, const tp_producer_config_t *cfg,
                                        const tp_attach_t *att, tp_driver_client_t *dc);

/* Abort every outstanding reservation, send a final QosProducer, close the publications,
 * unmap, release dc (which keeps its lease; detach it or close it next). NULL is a no-op.
 * After close, every tp_reservation_t and data pointer of this producer is invalid. */
TP_API void tp_producer_close(tp_producer_t *p);

/* ---- zero-copy publishing ------------------------------------------------------------------- */

/* A slot handed out by tp_producer_reserve. Plain data owned by the caller (copy it into a
 * buffer-id → reservation table for out-of-order completion). data stays valid (mapped) until
 * the reservation is published or aborted, even across a lease loss (see above). */
typedef struct tp_reservation {
    uint8_t *data;          /* payload slot in shared memory (pool base + 64 + index * stride) */
    uint32_t capacity;      /* the pool's stride_bytes */
    uint16_t pool_id;
    uint16_t reserved_;
    uint64_t seq;
    uint64_t epoch;
    uint32_t header_index;  /* seq & (nslots - 1) */
    uint32_t priv_gen_;     /* private: detects double completion / foreign reservations */
} tp_reservation_t;

/* Reserve the slot for the next seq in pool pool_id and mark its header slot WRITING.
 * Returns 0 (*r filled), TP_PRODUCER_NOT_ACTIVE, TP_PRODUCER_SLOT_BUSY (the slot of the next
 * seq is still reserved: complete the oldest reservation first; nothing changed), or -1
 * (TP_EINVAL: unknown pool). */
TP_API int tp_producer_reserve(tp_producer_t *p, uint16_t pool_id, tp_reservation_t *r);

/* Options of one publish; NULL = all defaults. */
typedef struct tp_publish_opts {
    uint64_t timestamp_ns;   /* SlotHeader.timestamp_ns, capture time (W-124); TP_NULL_U64 =
                                context clock at commit (REF) */
    uint32_t meta_version;   /* TP_NULL_U32 = the producer's current meta version */
    uint32_t reserved_;
    uint64_t trace_id;       /* FrameDescriptor.trace_id; 0 = not traced (W-126) */
} tp_publish_opts_t;

/* Fill opts with the defaults above. */
TP_API void tp_publish_opts_init(tp_publish_opts_t *opts);

/* Complete reservation r (any order) with len payload bytes described by desc (copied into
 * the TensorHeader; validate it once at setup with tp_tensor_desc_check — publish checks only
 * ndims and len <= r->capacity). Commits the slot now; the FrameDescriptor is sent when all
 * lower seqs are completed (a back-pressured descriptor is retried by later publishes and by
 * tp_producer_do_work until the slot is lapped). Sends FrameProgress COMPLETE after the
 * descriptor when progress is active (W-137). r is consumed (priv_gen_ cleared).
 * Returns 0, TP_PRODUCER_STALE (r belongs to an older epoch: released, nothing written), or -1
 * (TP_EINVAL: r unknown, already completed, len > capacity, ndims outside 1..8). */
TP_API int tp_producer_publish(tp_producer_t *p, tp_reservation_t *r, uint32_t len,
                               const tp_tensor_desc_t *desc, const tp_publish_opts_t *opts);

/* Give reservation r up (its seq becomes a gap for consumers). Returns 0, TP_PRODUCER_STALE
 * (old epoch: released), or -1 (TP_EINVAL: unknown or already completed). */
TP_API int tp_producer_abort(tp_producer_t *p, tp_reservation_t *r);

/* Copying convenience: pick the pool with the smallest stride >= len (tp_pool_select), copy
 * len bytes from data (caller-owned, read only during the call), publish. Returns 0,
 * TP_PRODUCER_NOT_ACTIVE, TP_PRODUCER_SLOT_BUSY, or -1 (TP_ETOOBIG: no pool large enough;
 * TP_EINVAL).
 * Speed: give large frames a 64-byte aligned data (aligned_alloc(64, n), a DMA buffer). A
 * slot's payload sits 64 bytes into a page; a source 1..63 bytes below it modulo 4096 makes
 * memcpy 20-60 % slower on current x86 (the more, the less of the pool the cache keeps), and
 * glibc's malloc() puts a large buffer 16 bytes into its page (docs/e2e.md, "Source
 * alignment"). */
TP_API int tp_producer_offer(tp_producer_t *p, const void *data, uint32_t len,
                             const tp_tensor_desc_t *desc, const tp_publish_opts_t *opts);

/* Report acquisition progress of reservation r (e.g. from a DMA line counter): bytes_filled
 * bytes at the start of r->data are written. The first call sends STARTED, later ones
 * PROGRESS, throttled per W-138/W-140 (interval, byte step, rate cap; the newest value is
 * flushed by tp_producer_do_work when an interval ends). No-op returning 0 when no consumer
 * asked for progress (W-139). bytes_filled must not decrease and must be <= r->capacity.
 * Returns 0, TP_PRODUCER_STALE, or -1 (TP_EINVAL). Note: consumers cannot read a slot while it
 * is WRITING, so FrameProgress is a hint about timing, not a way to read the prefix early. */
TP_API int tp_producer_progress(tp_producer_t *p, const tp_reservation_t *r, uint64_t bytes_filled);

/* ---- metadata (W-141..W-143) ---------------------------------------------------------------- */

/* Stage the DataSourceAnnounce name and summary (copied, ASCII, < TP_SOURCE_TEXT_MAX).
 * Takes effect with the next tp_producer_meta_commit. 0 or -1 (TP_EINVAL, TP_ETOOBIG). */
TP_API int tp_producer_set_source(tp_producer_t *p, const char *name, const char *summary);

/* Stage attribute key (ASCII) with format ("text/plain", "application/json", ...) and value
 * (value_len bytes; all copied). Replaces a staged attribute with the same key.
 * 0 or -1 (TP_EINVAL, TP_ETOOBIG: sizes or TP_META_ATTRS_MAX). */
TP_API int tp_producer_meta_set(tp_producer_t *p, const char *key, const char *format,
                                const void *value, uint32_t value_len);

/* Stage removal of key. 0, or -1 (TP_EINVAL: no such key). */
TP_API int tp_producer_meta_delete(tp_producer_t *p, const char *key);

/* Publish the staged set: meta_version += 1 (W-143: attributes change only with a bump), then
 * DataSourceAnnounce + DataSourceMeta now and at their cadence. Frames published afterwards
 * carry the new version. A commit with nothing staged does nothing. Returns 0, or -1
 * (TP_EIO when the metadata publication refuses; retried by do_work, version already bumped). */
TP_API int tp_producer_meta_commit(tp_producer_t *p);

/* Current (last committed) meta_version. */
TP_API uint32_t tp_producer_meta_version(const tp_producer_t *p);

/* ---- duty cycle and state ------------------------------------------------------------------- */

/* One bounded, non-blocking duty cycle: tp_client_do_work of the producer's client; lease
 * events (pause, reattach with backoff, remap, resume at seq 0); pending descriptors;
 * ConsumerHello (progress hint aggregation, W-140) and driver ConsumerConfig (per-consumer
 * descriptor/control streams, W-191; max_rate_hz caps on them, W-117), consumer timeouts
 * (W-116); QosConsumer intake; superblock activity refresh, DataSourceAnnounce/Meta and
 * QosProducer at their cadences; progress flushes; driver liveness from ShmPoolAnnounce (D-69:
 * silence or a higher epoch → abandon, pause, reattach). now_ns from the context clock.
 * Returns the work count (0 = idle) or -1 only when the producer is unusable (TP_ECLOSED). */
TP_API int tp_producer_do_work(tp_producer_t *p, uint64_t now_ns);

typedef enum tp_producer_state {
    TP_PRODUCER_IDLE = 0,    /* no lease: after shutdown/detach and while reattach fails */
    TP_PRODUCER_ACTIVE = 1,  /* lease held, mapped, publishing */
    TP_PRODUCER_PAUSED = 2,  /* lease revoked/lost: not publishing, reattaching (D-77) */
    TP_PRODUCER_CLOSED = 3
} tp_producer_state_t;

TP_API tp_producer_state_t tp_producer_state(const tp_producer_t *p);

/* Epoch of the current mapping (changes after a reattach). */
TP_API uint64_t tp_producer_epoch(const tp_producer_t *p);

/* Header ring size (the maximum number of outstanding reservations) of the current mapping. */
TP_API uint32_t tp_producer_nslots(const tp_producer_t *p);

/* Counter snapshot. Always succeeds. */
TP_API void tp_producer_get_stats(const tp_producer_t *p, tp_producer_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif

/*
 * tp_consumer_t: reads the frames of one stream zero-copy (WIRE §11-§23; DRIVER D-60, D-63,
 * D-78).
 *
 * Mapping state machine (tp_mapping_state_t), driven by the attach and by ShmPoolAnnounce:
 *   UNMAPPED  → MAPPED     regions of the attach response validated and mapped read-only
 *   MAPPED    → REMAPPING  announce with a higher epoch (W-88, W-89), the producer's
 *                          ShmLeaseRevoked (D-60: unmap, wait for an epoch strictly
 *                          greater than the one left, D-63 timeout = 3 × freshness window;
 *                          the unmap happens in the do_work after the one that saw the
 *                          notice, so one tp_consumer_poll in between still delivers the
 *                          frames whose descriptors the producer sent before it)
 *                          or a seq regression (W-150)
 *   REMAPPING → MAPPED     announce accepted (stream, layout version, clock domain, freshness
 *                          window, join time, highest epoch: W-90..W-92) and regions validated
 *   any       → BACKOFF    validation failure / own lease lost: unmap, wait, reattach; also
 *                          when no announce of the stream has come for the announce-wait
 *                          timeout or 3 observed announce intervals, whichever is longer
 *                          (D-69: a driver killed without notice; the lease is given up and
 *                          a restarted driver attached to)
 *   MAPPED    → FALLBACK   ConsumerConfig use_shm = FALSE with a payload_fallback_uri (W-108,
 *                          W-109): no SHM frames are delivered (tensorpool has no bridge data
 *                          path yet); tp_consumer_fallback_uri() names where the data is.
 *   FALLBACK  → UNMAPPED   a later ConsumerConfig with use_shm = TRUE; mapped again from the
 *                          next acceptable announce.
 *   MAPPED    → UNMAPPED   seq regression (W-150) or a changed header pid (W-96 DECISION):
 *                          mapped again from the next acceptable announce, whatever its epoch.
 * A frame of an epoch other than the mapped one is never delivered (W-120).
 * Hardening: an announce whose regions fail validation changes nothing — the current mapping
 * stays if its superblocks still match, and its epoch is not recorded as the highest seen
 * (W-89), so a forged high-epoch announce cannot lock the consumer out of the real ones.
 *
 * Per descriptor, tp_consumer_poll runs W-75 in order: epoch check, RATE_LIMITED gate,
 * seqlock read + header validation (each failure: drops_late + a drop reason), gap accounting
 * (drops_gap; resync after max_outstanding_seq_gap, W-149) and then calls the frame handler.
 * One deviation from W-75 in RATE_LIMITED mode with a null descriptor timestamp: a frame that
 * fails steps 8-11 counts in drops_late even if the step-7 gate would have skipped it (the
 * slot's timestamp is only known for frames that validate).
 * Catch-up (DECISION): after a read was lapped (a frame found overwritten, or overwritten
 * while the handler held it: lapped_reads), for the next nslots frames a frame of 4 KiB or
 * more whose slot the producer will reach within nslots/4 frames is skipped with its payload
 * unread (drops_late, reason "behind"), so a consumer slower than its producer reads the
 * frames it can finish instead of frames that tear under it. A consumer that keeps up never
 * skips.
 *
 * Threading: all calls on the thread of the consumer's tp_client_t. Hot path (poll) makes
 * no system call, takes no lock, allocates nothing.
 */
#ifndef TENSORPOOL_CONSUMER_H
#define TENSORPOOL_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "tensorpool/export.h"
#include "tensorpool/client.h"
#include "tensorpool/driver_client.h"
#include "tensorpool/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_consumer tp_consumer_t;

/* ---- callbacks ------------------------------------------------------------------------------ */

/* Called once per delivered frame from tp_consumer_poll. f is valid during the call only (its
 * payload contract: tensorpool/frame.h — read, then tp_frame_is_intact). The handler must not
 * call tp_consumer_poll/do_work/close of the same consumer. */
typedef void (*tp_frame_handler_t)(void *clientd, const tp_frame_t *f);

/* A FrameProgress that passed W-127..W-135 (monotonic bytes_filled, duplicates W-193 dropped).
 * Informational: the slot is not readable until the frame arrives through tp_consumer_poll. */
typedef struct tp_progress {
    uint32_t stream_id;
    uint32_t state;              /* tp_progress_state_t */
    uint64_t epoch;
    uint64_t seq;
    uint64_t payload_bytes_filled;
} tp_progress_t;
typedef void (*tp_progress_handler_t)(void *clientd, const tp_progress_t *p);

/* One DataSourceMeta attribute or a DataSourceAnnounce text: pointers into the received
 * message, NOT NUL-terminated, valid during the callback only. */
typedef struct tp_bytes_view {
    const uint8_t *data;
    uint32_t len;
} tp_bytes_view_t;

typedef struct tp_meta_attr {
    tp_bytes_view_t key;
    tp_bytes_view_t format;
    tp_bytes_view_t value;
} tp_meta_attr_t;

/* DataSourceAnnounce (kind 1: name/summary/producer_id/epoch set, attrs empty) or
 * DataSourceMeta (kind 2: timestamp_ns and attrs set) for this consumer's stream. Attributes
 * beyond TP_CONSUMER_META_ATTRS_MAX are not shown (attr_total says how many there were). */
#define TP_CONSUMER_META_ATTRS_MAX 64u
typedef struct tp_meta_event {
    uint32_t kind;               /* 1 = DataSourceAnnounce, 2 = DataSourceMeta */
    uint32_t stream_id;
    uint32_t meta_version;
    uint32_t producer_id;
    uint64_t epoch;
    uint64_t timestamp_ns;
    tp_bytes_view_t name;
    tp_bytes_view_t summary;
    uint32_t attr_count;
    uint32_t attr_total;
    tp_meta_attr_t attrs[TP_CONSUMER_META_ATTRS_MAX];
} tp_meta_event_t;
typedef void (*tp_meta_handler_t)(void *clientd, const tp_meta_event_t *m);

/* ---- configuration ------------------------------------------------------------------------ */

/* Defaults per WIRE W-180/W-181 and the reference; environment variables named after the
 * reference's [consumer] keys per D-89, read once in tp_consumer_config_init. */
typedef struct tp_consumer_config {
    uint32_t consumer_id;            /* 0 = the driver client's id (random when that is
                                        auto-assigned, W-105; the id a driver needs to serve
                                        per-consumer streams, D-71), followed across
                                        reattaches; env CONSUMER_CONSUMER_ID */
    tp_consumer_mode_t mode;         /* STREAM; env CONSUMER_MODE ("STREAM"/"RATE_LIMITED") */
    uint32_t max_rate_hz;            /* RATE_LIMITED cap, 0 = unlimited (W-103, W-153);
                                        0; env CONSUMER_MAX_RATE_HZ */
    uint32_t max_outstanding_seq_gap; /* 256 (W-149 DECISION); 0 = off (reference);
                                        env CONSUMER_MAX_OUTSTANDING_SEQ_GAP */
    uint32_t expected_layout_version; /* 1; env CONSUMER_EXPECTED_LAYOUT_VERSION */
    uint64_t announce_freshness_ns;  /* W-90 window (3 announce periods); 3 s;
                                        env CONSUMER_ANNOUNCE_FRESHNESS_NS */
    uint64_t announce_wait_timeout_ns; /* REMAPPING timeout (D-63) and driver-silence limit
                                        (D-69); 0 = 3 × freshness (REF);
                                        env CONSUMER_ANNOUNCE_WAIT_TIMEOUT_NS */
    uint64_t hello_interval_ns;      /* ConsumerHello repeat (W-101); 1 s; env CONSUMER_HELLO_INTERVAL_NS */
    uint64_t qos_interval_ns;        /* QosConsumer (W-145); 1 s; env CONSUMER_QOS_INTERVAL_NS */
    int use_shm;                     /* supports_shm in the hello; 1; env CONSUMER_USE_SHM */
    /* Progress interest (W-100, W-102): hints are TP_NULL_U32 = no hint. */
    int supports_progress;           /* 0; env CONSUMER_SUPPORTS_PROGRESS */
    uint32_t progress_interval_us;   /* TP_NULL_U32; env CONSUMER_PROGRESS_INTERVAL_US */
    uint32_t progress_bytes_delta;   /* TP_NULL_U32; env CONSUMER_PROGRESS_BYTES_DELTA */
    uint32_t progress_major_delta_units; /* TP_NULL_U32; env CONSUMER_PROGRESS_MAJOR_DELTA_UNITS */
    /* Shared streams. announce_*: where ShmPoolAnnounce arrives — the driver's announce stream
       in driver mode (the integration example's driver uses 15001). */
    char announce_channel[TP_CHANNEL_URI_MAX];   /* "aeron:ipc"; env CONSUMER_ANNOUNCE_CHANNEL */
    uint32_t announce_stream_id;     /* 1001; env CONSUMER_ANNOUNCE_STREAM_ID */
    char control_channel[TP_CHANNEL_URI_MAX];    /* "aeron:ipc"; env CONSUMER_CONTROL_CHANNEL */
    uint32_t control_stream_id;      /* 1000: hello out, FrameProgress in; env CONSUMER_CONTROL_STREAM_ID.
                                        With a per-consumer request the hello also goes to the
                                        driver's control stream when that is another stream.
                                        ConsumerConfig read on the driver's control stream is
                                        the driver's (W-192; read only when a per-consumer
                                        request is configured, D-71); when both are the same
                                        stream, every ConsumerConfig there counts as the
                                        driver's. */
    char descriptor_channel[TP_CHANNEL_URI_MAX]; /* "aeron:ipc"; env CONSUMER_DESCRIPTOR_CHANNEL */
    uint32_t descriptor_stream_id;   /* 1100; env CONSUMER_DESCRIPTOR_STREAM_ID */
    char qos_channel[TP_CHANNEL_URI_MAX];        /* "aeron:ipc"; env CONSUMER_QOS_CHANNEL */
    uint32_t qos_stream_id;          /* 1200; env CONSUMER_QOS_STREAM_ID */
    char metadata_channel[TP_CHANNEL_URI_MAX];   /* "aeron:ipc"; env CONSUMER_METADATA_CHANNEL */
    uint32_t metadata_stream_id;     /* 1300; env CONSUMER_METADATA_STREAM_ID */
    /* Per-consumer stream requests (W-104): both halves or neither; "" / 0 = no request.
       The id is a request token; the driver assigns the real one (W-191, W-192). */
    char request_descriptor_channel[TP_CHANNEL_URI_MAX]; /* ""; env CONSUMER_REQUEST_DESCRIPTOR_CHANNEL */
    uint32_t request_descriptor_stream_id;               /* 0; env CONSUMER_REQUEST_DESCRIPTOR_STREAM_ID */
    char request_control_channel[TP_CHANNEL_URI_MAX];    /* ""; env CONSUMER_REQUEST_CONTROL_CHANNEL */
    uint32_t request_control_stream_id;                  /* 0; env CONSUMER_REQUEST_CONTROL_STREAM_ID */
    uint64_t reattach_backoff_initial_ns; /* 100 ms; env CONSUMER_REATTACH_BACKOFF_NS */
    uint64_t reattach_backoff_max_ns;     /* 5 s; env CONSUMER_REATTACH_BACKOFF_MAX_NS */
    /* Optional callbacks, called from tp_consumer_do_work (same thread); NULL = not wanted. */
    tp_progress_handler_t on_progress; /* needs supports_progress = 1 */
    tp_meta_handler_t on_meta;
    void *callback_clientd;
} tp_consumer_config_t;

/* Fill the defaults, then the environment. Never fails (bad values are logged and ignored). */
TP_API void tp_consumer_config_init(tp_consumer_config_t *cfg);

/* ---- lifecycle ------------------------------------------------------------------------------ */

/* Create a consumer from an OK attach of a TP_ROLE_CONSUMER driver client: validate and map
 * the header ring and pools read-only against att (W-94..W-99, W-178), MAPPED at att->epoch,
 * open the subscriptions/publications of cfg and send the first ConsumerHello. The join time
 * (W-91) is the time of this call. cfg and att are copied; dc is borrowed, must outlive the
 * consumer, and is owned by it from now on (events, reattach). On failure nothing stays
 * mapped, the lease is abandoned (D-41/D-95) and -1 is returned (TP_EREGION, TP_EURI,
 * TP_EPATH, TP_EINVAL for a non-OK or foreign att, TP_ESTATE when dc has an owner,
 * TP_ECHANNEL, TP_ECONFIG for a half per-consumer request, TP_ENOMEM; TP_EMALFORMED for an
 * OK att that fails D-14/D-18/D-20). After TP_EINVAL, TP_ESTATE and TP_ECONFIG the lease is
 * left alone: it is not the consumer's to give up, or the caller may retry with a corrected
 * configuration. *out is owned by the caller until tp_consumer_close. Not a hot path
 * (allocates). */
TP_API int tp_consumer_init_from_attach(tp_consumer_t **out, const tp_consumer_config_t *cfg,
                                        const tp_attach_t *att, tp_driver_client_t *dc);

/* Send a final QosConsumer, close the streams, unmap, release dc (which keeps its lease).
 * Every tp_frame_t of this consumer is invalid afterwards. NULL is a no-op. */
TP_API void tp_consumer_close(tp_consumer_t *c);

/* ---- reading ------------------------------------------------------------------------------- */

/* Poll up to `limit` descriptors (0 = no limit beyond one batch of the transport) from the
 * descriptor stream in effect (shared or per-consumer) and call on_frame for each frame that
 * passes W-75. Returns the number of frames delivered (>= 0), or -1 (TP_ELAPPED is NOT an
 * error here: a lapped descriptor subscription rejoins at the tail and the loss shows as
 * drops_gap; -1 only for TP_ECLOSED / TP_EINVAL). Delivers nothing while not MAPPED, but
 * still consumes (and silently drops) the descriptors that arrive meanwhile.
 * Contract: on_frame runs inside this call, once per frame, in the order the descriptors
 * arrived; every frame it sees passed W-75 against the mapping in force and belongs to its
 * epoch. Nothing is delivered once the driver client no longer holds the lease (a recorded
 * revocation/shutdown/loss, D-59), even before do_work has taken the event. A seq
 * regression (W-150) found here stops delivery at once (state UNMAPPED); the regions are
 * unmapped by the next tp_consumer_do_work, so views handed out earlier in this call stay
 * readable until then. The only clock read on this path is the step-7 fallback (RATE_LIMITED
 * with neither a descriptor nor a slot timestamp): the context clock. */
TP_API int tp_consumer_poll(tp_consumer_t *c, tp_frame_handler_t on_frame, void *clientd,
                            int limit);

/* ---- duty cycle and state ------------------------------------------------------------------- */

/* One bounded, non-blocking duty cycle: tp_client_do_work of the consumer's client; lease
 * events (own revocation/shutdown → unmap, backoff, reattach; producer revocation → REMAPPING);
 * ShmPoolAnnounce (map/remap); ConsumerConfig (W-107..W-114, the driver's preferred, W-192);
 * FrameProgress and metadata (callbacks); ConsumerHello and QosConsumer at their cadences;
 * announce-wait timeout. now_ns from the context clock. Returns the work count, or -1 only when
 * the consumer is unusable (TP_ECLOSED). */
TP_API int tp_consumer_do_work(tp_consumer_t *c, uint64_t now_ns);

typedef enum tp_mapping_state {
    TP_MAPPING_UNMAPPED = 0,
    TP_MAPPING_MAPPED = 1,
    TP_MAPPING_REMAPPING = 2,  /* waiting for an announce with a higher epoch (D-60, D-63) */
    TP_MAPPING_BACKOFF = 3,    /* after a failed mapping or lease loss; reattaching */
    TP_MAPPING_FALLBACK = 4    /* told use_shm = FALSE (W-108); no frames */
} tp_mapping_state_t;

/* "MAPPED", ...; static storage. */
TP_API const char *tp_mapping_state_name(int state);

TP_API tp_mapping_state_t tp_consumer_mapping_state(const tp_consumer_t *c);

/* Epoch of the current mapping, 0 when not mapped. */
TP_API uint64_t tp_consumer_epoch(const tp_consumer_t *c);

/* The consumer id in use (the random one when configured 0). */
TP_API uint32_t tp_consumer_id(const tp_consumer_t *c);

/* payload_fallback_uri of the ConsumerConfig in force ("" if none). Owned by c; valid until
 * the next do_work/close. */
TP_API const char *tp_consumer_fallback_uri(const tp_consumer_t *c);

/* Counter snapshot. Always succeeds. */
TP_API void tp_consumer_get_stats(const tp_consumer_t *c, tp_consumer_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif

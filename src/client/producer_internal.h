/*
 * Internals of the producer: producer.c (lifecycle, mapping, reservations, descriptors,
 * duty cycle), producer_lease.c (lease loss and reattach), producer_config.c (defaults and
 * environment), producer_ctl.c (consumers, per-consumer streams, FrameProgress, metadata,
 * QoS). Not installed.
 *
 * Reservation bookkeeping, per mapping (one mapping per epoch):
 *
 *   slots[seq & mask]   one entry per header slot: FREE, RESERVED (handed out, slot WRITING),
 *                       COMMITTED (slot committed, descriptor not sent yet) or ABORTED.
 *   head_seq            oldest seq whose descriptor has not been dealt with yet
 *   next_seq            next seq to hand out
 *
 *   [head_seq, next_seq) are the entries that are RESERVED, COMMITTED or ABORTED. A
 *   FrameDescriptor leaves only for head_seq (W-119 each after its commit, and strictly in seq
 *   order), so the prefix advances over COMMITTED (descriptor sent) and ABORTED (a gap)
 *   entries and stops at the first RESERVED one. reserve(next_seq) needs the slot of
 *   next_seq - nslots to be past: when next_seq - head_seq == nslots that slot is head_seq's,
 *   refused while RESERVED (SLOT_BUSY), and when it is COMMITTED with a back-pressured
 *   descriptor the descriptor is lost (the slot is about to be overwritten).
 *
 * Lease loss retires the current mapping (moves it to `retired`): nothing is written to its
 * ring any more and its pending descriptors are forgotten, but it stays mapped until its last
 * RESERVED entry is released by publish/abort (which answer TP_PRODUCER_STALE), because a
 * device may still be writing into it. do_work unmaps retired mappings with no reservation.
 *
 * Choices where the spec leaves room (each also said where it is implemented):
 *   - Descriptors: NOT_CONNECTED = skipped and counted (REF); BACK_PRESSURED/ADMIN_ACTION =
 *     retried in order until the slot is lapped (then counted lost). Per-consumer descriptor
 *     streams are best effort (one offer, never holding the shared stream's order back) and
 *     capped at the hello's max_rate_hz whenever it is non-zero (W-117).
 *   - Progress (W-138): STARTED once, PROGRESS only when the interval has passed AND the byte
 *     step is reached AND the stream rate cap allows (a held-back value goes out from do_work
 *     once all three hold), COMPLETE after every descriptor while a consumer asked. The
 *     major-axis hint is converted with the progress stride of the last published frame.
 *   - Hellos count from the producer's control stream and from the driver's; ConsumerConfig
 *     only from the driver's (W-191 DECISION); the producer never answers a hello.
 *   - DataSourceAnnounce goes out at the announce cadence from the start; DataSourceMeta only
 *     after the first tp_producer_meta_commit, then at meta_interval_ns.
 *   - After ShmDriverShutdown the producer is IDLE but keeps reattaching with backoff, so a
 *     restarted driver is picked up.
 *   - Driver loss without a notice (D-69, DECISION): as the consumer, from the driver's
 *     ShmPoolAnnounce of our stream on announce_channel/announce_stream_id — silence for the
 *     announce-wait timeout (3 observed intervals if longer) or an epoch above ours while
 *     ACTIVE. Unlike the consumer, silence counts only once one interval between two
 *     announces was observed: a producer configured with the wrong announce stream (or a
 *     driver announcing more slowly than the window) never tears down a live lease, it logs
 *     a warning once. "Observed interval" = the longest of the last 4 between announces
 *     received (the consumer: the last one, measured from its reattach too), so an extra
 *     announce after an attach or a reattach cannot shrink the window under a slow driver's
 *     period. The lease is abandoned (detach best effort, D-95), then PAUSED and the same
 *     reattach as after a revocation.
 */
#ifndef TP_CLIENT_PRODUCER_INTERNAL_H
#define TP_CLIENT_PRODUCER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "client/client_internal.h"
#include "shm/pool.h"
#include "shm/region.h"
#include "shm/ring.h"
#include "tensorpool/producer.h"
#include "transport/transport.h"

#define TP_PROD_COMPONENT "producer"
#define TP_PROD_ANN_GAPS 4u /* announce intervals remembered for the D-69 window */

_Static_assert(TP_POOLS_MAX == TP_POOLS_PER_STREAM_MAX, "pool limits agree");

enum { TP_PSLOT_FREE = 0, TP_PSLOT_RESERVED = 1, TP_PSLOT_COMMITTED = 2, TP_PSLOT_ABORTED = 3 };

typedef struct tp_prod_slot {
    uint64_t seq;
    uint32_t gen;               /* matches tp_reservation_t.priv_gen_ while RESERVED */
    uint8_t state;              /* TP_PSLOT_* */
    uint8_t progress_started;   /* STARTED sent for this frame */
    uint8_t progress_pending;   /* a newer bytes_filled waits for its interval */
    uint8_t reserved_;
    uint16_t pool_id;
    uint16_t reserved2_;
    uint32_t capacity;          /* the pool's stride (the caller's copy is not trusted) */
    uint32_t len;               /* values_len_bytes once COMMITTED */
    uint32_t meta_version;      /* for the descriptor */
    uint64_t trace_id;
    uint64_t progress_bytes;    /* newest bytes_filled reported */
    uint64_t progress_sent_bytes;
    uint64_t progress_sent_ns;
} tp_prod_slot_t;

typedef struct tp_prod_map {
    uint64_t epoch;
    uint32_t nslots;
    uint32_t mask;
    uint32_t outstanding;       /* RESERVED entries */
    uint32_t pool_count;
    tp_region_t header;
    tp_region_t pools[TP_POOLS_MAX];
    tp_ring_t ring;
    tp_pool_set_t set;
    tp_prod_slot_t *slots;      /* nslots entries */
    struct tp_prod_map *next;   /* retired list */
} tp_prod_map_t;

/* A consumer known from ConsumerHello / QosConsumer / the driver's ConsumerConfig. */
typedef struct tp_prod_consumer {
    bool used;
    bool hello_seen;
    uint8_t supports_progress;
    uint8_t mode;
    uint32_t consumer_id;
    uint32_t max_rate_hz;          /* from the hello; 0 = unlimited (W-117) */
    uint32_t hint_interval_us;     /* TP_NULL_U32 = absent (W-102) */
    uint32_t hint_bytes_delta;
    uint32_t hint_major_units;
    uint64_t last_seen_ns;         /* hello, QoS or ConsumerConfig (W-116) */
    uint64_t last_desc_ns;         /* rate cap on the per-consumer descriptor stream */
    bool desc_sent_once;
    tp_publication_t *desc_pub;    /* per-consumer descriptor stream (W-113, W-191) */
    uint32_t desc_stream_id;
    tp_publication_t *ctrl_pub;    /* per-consumer control stream: FrameProgress only (W-114) */
    uint32_t ctrl_stream_id;
    char desc_channel[TP_CHANNEL_URI_MAX];
    char ctrl_channel[TP_CHANNEL_URI_MAX];
} tp_prod_consumer_t;

typedef struct tp_prod_attr {
    char key[TP_META_KEY_MAX];
    char format[TP_META_FORMAT_MAX];
    uint32_t value_len;
    uint8_t value[TP_META_VALUE_MAX];
} tp_prod_attr_t;

typedef struct tp_prod_meta_set {
    char name[TP_SOURCE_TEXT_MAX];
    char summary[TP_SOURCE_TEXT_MAX];
    uint32_t count;
    tp_prod_attr_t attrs[TP_META_ATTRS_MAX];
} tp_prod_meta_set_t;

struct tp_producer {
    tp_producer_config_t cfg;
    tp_producer_state_t state;
    tp_driver_client_t *dc;
    tp_client_t *client;
    tp_transport_t *transport;
    uint32_t stream_id;
    uint32_t producer_id;
    uint32_t gen_counter;

    /* data plane */
    tp_prod_map_t *cur;          /* NULL while PAUSED/IDLE */
    tp_prod_map_t *retired;      /* old epochs with reservations still out */
    uint64_t last_epoch;
    uint64_t head_seq;
    uint64_t next_seq;
    tp_allowed_dirs_t allowed;

    /* streams */
    tp_publication_t *desc_pub;
    tp_publication_t *ctrl_pub;
    tp_publication_t *qos_pub;
    tp_publication_t *meta_pub;
    tp_subscription_t *ctrl_sub;   /* producer control stream: ConsumerHello */
    tp_subscription_t *drv_sub;    /* driver control stream: ConsumerConfig; NULL when it is
                                      the same stream as ctrl_sub */
    tp_subscription_t *qos_sub;    /* QosConsumer: consumer liveness (W-116) */
    tp_subscription_t *ann_sub;    /* driver announce stream: ShmPoolAnnounce (D-47, D-69);
                                      NULL when announce_stream_id is 0 */

    /* consumers and progress (W-137..W-140) */
    tp_prod_consumer_t consumers[TP_PRODUCER_CONSUMERS_MAX];
    bool progress_enabled;
    uint64_t progress_interval_ns;
    uint64_t progress_bytes_delta;  /* after the floor; see tp_prod_progress_step */
    uint32_t progress_major_units;  /* smallest major-axis hint; 0 = unset */
    uint32_t progress_major_stride; /* progress_stride_bytes of the last frame published with
                                       a progress unit (converts the major-axis hint) */
    uint64_t progress_min_gap_ns;  /* 1 s / progress_max_rate_hz */
    uint64_t progress_last_ns;     /* last PROGRESS sent on the stream (rate cap) */
    bool progress_last_valid;

    /* metadata (W-141..W-143) */
    uint32_t meta_version;
    bool meta_dirty;               /* staged differs from committed */
    bool meta_committed_once;
    bool meta_pending;             /* committed set not sent yet (publication refused) */
    tp_prod_meta_set_t *staged;
    tp_prod_meta_set_t *committed;
    uint8_t *meta_buf;
    size_t meta_buf_cap;

    /* cadences */
    uint64_t next_announce_ns;
    uint64_t next_qos_ns;
    uint64_t next_meta_ns;

    /* reattach (D-59, D-77) */
    int64_t attach_id;             /* in flight, or -1 */
    uint64_t reattach_at_ns;
    uint64_t backoff_ns;
    tp_attach_t *att_scratch;      /* poll_attach output (large: heap) */

    /* driver liveness (D-47, D-50, D-69; producer_lease.c) */
    uint64_t last_announce_ns;     /* silence clock: last ShmPoolAnnounce of our stream, or
                                      the (re)activation if later */
    uint64_t last_rx_ns;           /* last ShmPoolAnnounce of our stream received */
    uint64_t gaps[TP_PROD_ANN_GAPS]; /* last intervals between two of them */
    uint32_t gap_next;
    uint64_t announce_gap_ns;      /* the longest of gaps[]; 0 = no interval seen yet */
    uint32_t announces_seen;       /* 0, 1, 2 = at least one interval seen: armed */
    bool announce_warned;          /* "nothing on the announce stream" logged */
    uint64_t announce_newer_epoch; /* highest epoch announced above ours while ACTIVE, or 0 */
    uint64_t driver_losses;        /* times the driver was presumed lost (diagnostic) */

    tp_producer_stats_t stats;
    struct tp_client_counters *counters; /* counters file (client_counters.c), NULL until the
                                            first QoS tick */
};

/* ---- producer.c ------------------------------------------------------------------------- */

/* Map and validate every region of att read-write (NULL on failure, nothing mapped). */
tp_prod_map_t *tp_prod_map_attach(tp_producer_t *p, const tp_attach_t *att);
void tp_prod_map_free(tp_prod_map_t *m);

/* Make m the current mapping: ACTIVE, seq 0 (W-156), superblocks touched, cadences due,
 * the driver-silence clock restarted. */
void tp_prod_activate(tp_producer_t *p, tp_prod_map_t *m, uint64_t now_ns);

/* ---- producer_lease.c ------------------------------------------------------------------- */

int tp_prod_take_events(tp_producer_t *p, uint64_t now_ns);
int tp_prod_reattach(tp_producer_t *p, uint64_t now_ns);
int tp_prod_reap_retired(tp_producer_t *p);

/* ShmPoolAnnounce of our stream from the announce subscription (liveness, epoch; D-69). */
int tp_prod_poll_announces(tp_producer_t *p, uint64_t now_ns);

/* While ACTIVE: no announce for the announce-wait timeout (or 3 observed intervals, if
 * longer), or an announced epoch above ours → driver presumed lost: abandon the lease (D-95),
 * PAUSED, reattach with backoff. Returns 1 when it acted. */
int tp_prod_check_driver_alive(tp_producer_t *p, uint64_t now_ns);

/* ---- producer_ctl.c ---------------------------------------------------------------------- */

/* Poll the control, driver-control and QoS subscriptions; expire consumers (W-116). */
int tp_prod_poll_control(tp_producer_t *p, uint64_t now_ns);
int tp_prod_expire_consumers(tp_producer_t *p, uint64_t now_ns);
void tp_prod_close_consumers(tp_producer_t *p);

/* Effective progress policy from the consumers' hints (W-139, W-140). */
void tp_prod_recompute_progress(tp_producer_t *p);

/* W-140 REF: the byte step: min(bytes delta, major-axis units x major stride), never below
 * the floor. Hot path. */
uint64_t tp_prod_progress_step(const tp_producer_t *p);

/* Per-consumer descriptor streams with the max_rate_hz cap (hot path: no allocation). */
void tp_prod_send_consumer_descriptors(tp_producer_t *p, const uint8_t *msg, size_t len,
                                       uint64_t now_ns);

/* One FrameProgress on the shared control stream and every per-consumer control stream. */
void tp_prod_send_progress(tp_producer_t *p, uint64_t epoch, uint64_t seq, uint64_t bytes,
                           uint8_t state);

/* Flush throttled progress whose interval ended (W-138). */
int tp_prod_flush_progress(tp_producer_t *p, uint64_t now_ns);

/* Cadences: DataSourceAnnounce / DataSourceMeta (W-141, W-142), QosProducer (W-146). */
int tp_prod_send_source_announce(tp_producer_t *p, uint64_t now_ns);
int tp_prod_send_meta(tp_producer_t *p, uint64_t now_ns);
int tp_prod_send_qos(tp_producer_t *p);
int tp_prod_meta_init(tp_producer_t *p);
void tp_prod_meta_free(tp_producer_t *p);

/* ---- client_counters.c ------------------------------------------------------------------- */

/* Mirror tp_producer_get_stats into the producer's counters file (src/shm/counters.h), opening
 * it first for a new lease (in the driver's counters/ directory next to the attach's regions;
 * skipped quietly when there is none). At the QoS cadence; close removes the file. */
void tp_prod_counters_sync(tp_producer_t *p);
void tp_prod_counters_close(tp_producer_t *p);

#endif

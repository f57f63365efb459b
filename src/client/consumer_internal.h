/*
 * Internals of the consumer (consumer.c: configuration, lifecycle, the descriptor hot path;
 * consumer_map.c: mappings and ShmPoolAnnounce; consumer_ctrl.c: the duty cycle — lease
 * events, ConsumerConfig, progress, metadata, hello, QoS, reattach). Not installed; tests
 * may include it.
 *
 * Threading: everything here belongs to the thread of the consumer's tp_client_t.
 */
#ifndef TP_CLIENT_CONSUMER_INTERNAL_H
#define TP_CLIENT_CONSUMER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "client/client_internal.h"
#include "shm/pool.h"
#include "shm/region.h"
#include "shm/ring.h"
#include "tensorpool/consumer.h"
#include "transport/transport.h"

#define TP_CONS_COMPONENT "consumer"
#define TP_CONS_SUBS_MAX 6u /* announce, control, metadata, driver control, per-consumer control */

/* What a mapping was made from (attach response or announce), kept to revalidate against
 * later announces (W-94) and to compare a same-epoch announce with (W-92). */
typedef struct tp_cons_spec {
    uint64_t epoch;
    uint32_t stream_id;
    uint32_t layout_version;
    uint32_t nslots;
    uint32_t pool_count;
    uint16_t pool_id[TP_POOLS_MAX];
    uint32_t stride[TP_POOLS_MAX];
    char header_uri[TP_URI_MAX];
    char pool_uri[TP_POOLS_MAX][TP_URI_MAX];
} tp_cons_spec_t;

/* The regions of one epoch, mapped read-only. */
typedef struct tp_cons_map {
    bool mapped;
    uint64_t epoch;
    uint64_t pid;             /* header superblock pid at mapping time (W-96) */
    tp_region_t header;
    tp_region_t pools[TP_POOLS_MAX];
    uint32_t pool_count;
    tp_ring_t ring;
    tp_pool_set_t pool_set;
} tp_cons_map_t;

/* A do_work subscription (deduplicated by canonical channel + stream id). */
typedef struct tp_cons_sub {
    tp_subscription_t *sub;
    char channel[TP_CHANNEL_MAX];
    uint32_t stream_id;
    bool driver;              /* the driver control stream: ConsumerConfig from here wins */
    bool per_consumer;        /* the per-consumer control stream (closed when unassigned) */
    bool announce;            /* carries the announces: its new images move join_time_ns */
    uint64_t join_seen;       /* tp_subscription_join_time_ns when last looked at (W-91) */
} tp_cons_sub_t;

struct tp_consumer {
    tp_client_t *client;
    tp_context_t *ctx;
    tp_transport_t *transport;
    tp_driver_client_t *dc;
    tp_consumer_config_t cfg;
    uint32_t stream_id;
    uint32_t consumer_id;
    bool consumer_id_auto;    /* configured 0: follows the driver client id */
    tp_allowed_dirs_t allowed;

    /* ---- mapping state (W-155..W-160, D-78) ---- */
    tp_mapping_state_t state;
    tp_cons_map_t map;
    tp_cons_spec_t spec;      /* of the current mapping */
    tp_cons_spec_t scratch;   /* announce being processed */
    bool unmap_pending;       /* set by poll (no munmap on the hot path), done by do_work */
    bool ever_mapped;
    uint64_t highest_epoch;   /* W-89: of announces/attaches that mapped */
    uint64_t leave_epoch;     /* REMAPPING: accept only epochs above this (D-60, D-63) */
    uint64_t remap_deadline_ns;
    bool revoke_pending;      /* producer revoked: REMAPPING after one more poll round */
    uint64_t join_time_ns;    /* W-91 */
    uint64_t last_announce_ns; /* any announce of our stream: the driver is alive (D-69) */
    uint64_t announce_gap_ns;  /* last interval between two of them (slow announcers) */
    uint64_t driver_silences;  /* times the driver was presumed lost (diagnostic) */
    uint64_t lease_driver_pid; /* header pid of the epoch mapped from our attach: the driver's */
    uint64_t lease_epoch;      /* that epoch */
    bool driver_changed;       /* an announce's regions came from another driver (D-50) */
    uint64_t driver_restarts;  /* times that made us reattach (diagnostic) */

    /* ---- the data plane ---- */
    tp_ring_reader_t reader;
    uint64_t *last_commit;    /* W-69 memory, last_commit_cap words */
    uint32_t last_commit_cap;
    bool tracking;            /* W-75 step 12: sequence tracking started */
    uint32_t catchup;         /* frames left in catch-up mode (a read was lapped recently) */
    uint64_t last_rate_ns;    /* W-75 step 3 */
    uint32_t mode;            /* in effect (cfg, then ConsumerConfig) */
    tp_frame_handler_t on_frame; /* during poll */
    void *on_frame_clientd;
    int delivered;            /* during poll */
    bool lease_ok;            /* during poll: the driver client holds the lease (W-75 step 1) */
    tp_consumer_stats_t st;

    /* ---- streams ---- */
    tp_subscription_t *desc_shared;
    tp_subscription_t *desc_pc;   /* per-consumer descriptor stream (W-113), or NULL */
    char desc_pc_channel[TP_CHANNEL_MAX];
    uint32_t desc_pc_stream;
    char ctrl_pc_channel[TP_CHANNEL_MAX];
    uint32_t ctrl_pc_stream;
    bool ctrl_pc_pending;         /* a ConsumerConfig changed it during a poll: apply after */
    char ctrl_pc_next[TP_CHANNEL_MAX];
    uint32_t ctrl_pc_next_stream; /* 0 = back to the shared control stream only */
    tp_cons_sub_t subs[TP_CONS_SUBS_MAX];
    uint32_t sub_count;
    tp_publication_t *hello_pub;  /* cfg control stream */
    tp_publication_t *drv_pub;    /* driver control stream when different, else NULL */
    tp_publication_t *qos_pub;
    bool driver_config_seen;      /* W-192 DECISION */
    char fallback_uri[TP_URI_MAX];

    /* ---- cadences, reattach ---- */
    uint64_t next_hello_ns;
    uint64_t next_qos_ns;
    uint64_t backoff_ns;
    uint64_t reattach_at_ns;
    int64_t attach_id;            /* in flight, or -1 */
    tp_attach_request_t reattach_req;

    /* ---- progress (W-134, W-193) ---- */
    bool progress_valid;
    tp_progress_t last_progress;

    tp_meta_event_t meta;         /* scratch for the metadata callback (large) */
    tp_attach_t att;              /* scratch for reattach responses (large) */
    uint8_t buf[1024];            /* encode buffer for hello / QoS */
    struct tp_client_counters *counters; /* counters file (client_counters.c), NULL until the
                                            first QoS tick */
};

/* ---- consumer_map.c ---- */

/* Map every region of spec read-only into a fresh mapping (W-94..W-99, W-178). check_fresh:
 * also require fresh activity timestamps (W-95; announce path only, DECISION 1). On success
 * the old mapping is replaced (unmapped), the reader, sequence tracking and W-69 memory
 * reset, state MAPPED. On failure nothing changes and -1 is returned (error set). */
int tp_cons_map_spec(tp_consumer_t *c, const tp_cons_spec_t *spec, bool check_fresh,
                     uint64_t now_ns);

/* Unmap everything (in-flight frames dropped) and enter `state`. */
void tp_cons_unmap(tp_consumer_t *c, tp_mapping_state_t state);

/* Fill a spec from an attach response. -1 (TP_EINVAL/TP_EMALFORMED) when it does not fit. */
int tp_cons_spec_from_attach(tp_cons_spec_t *s, const tp_attach_t *att);

/* A ShmPoolAnnounce from any control-side stream (W-92 filters, map/remap/revalidate). */
void tp_cons_handle_announce(tp_consumer_t *c, const uint8_t *msg, size_t len, uint64_t now_ns);

/* ---- consumer_ctrl.c ---- */

/* Descriptor stream in effect: switch to a per-consumer stream (channel non-empty) or back
 * to the shared one (channel NULL). 0 or -1 (stays as it was). */
int tp_cons_set_descriptor_stream(tp_consumer_t *c, const char *channel, uint32_t stream_id);

/* Open the do_work subscriptions and publications of cfg (and the driver's control stream). */
int tp_cons_open_streams(tp_consumer_t *c);
void tp_cons_close_streams(tp_consumer_t *c);

/* ConsumerHello now (W-100..W-104), and the next one after hello_interval_ns. */
void tp_cons_send_hello(tp_consumer_t *c, uint64_t now_ns);
void tp_cons_send_qos(tp_consumer_t *c, uint64_t now_ns);

/* ---- client_counters.c ---- */

/* Mirror tp_consumer_get_stats into the consumer's counters file (src/shm/counters.h), opening
 * it first for a new lease (in the driver's counters/ directory next to the attach's regions;
 * skipped quietly when there is none). At the QoS cadence; close removes the file. */
void tp_cons_counters_sync(tp_consumer_t *c);
void tp_cons_counters_close(tp_consumer_t *c);

#endif

/*
 * tp_driver_client_t: one lease with a tensorpool driver (DRIVER.md §4-§16, Appendix B).
 *
 * A driver client speaks the driver control protocol (schema 901) on one control channel +
 * stream for one role and holds at most one lease at a time: attach (request + poll by
 * correlation id), keepalives, revocation / shutdown notices, detach. Producers and consumers
 * are initialised from a successful attach and keep using the driver client afterwards: they
 * drive reattachment (D-59, D-77, D-78) through it, so it must outlive them.
 *
 * Threading: a driver client belongs to its tp_client_t's thread (see client.h).
 * Time: every deadline below is measured with the context clock.
 *
 * States (D-76, tp_lease_state_t):
 *
 *   UNATTACHED --send_attach--> ATTACHING --OK--> ATTACHED --send_detach--> DETACHING --> UNATTACHED
 *                                  |  ^ (timeout, backoff, auto id retry:      |
 *                                  v  |  internal, same request handle)       +--ShmLeaseRevoked--> REVOKED
 *                                 BACKOFF                                      +--ShmDriverShutdown--> SHUTDOWN
 *                                                                              +--keepalive failed / expiry passed--> LOST
 *
 * REVOKED, SHUTDOWN and LOST are "handled" states: they stay until the owner (the producer or
 * consumer initialised from this driver client, or the application with
 * tp_driver_client_poll_event) has taken the event, or until the next attach is accepted.
 * Either clears them, so the client can become ATTACHED again. (Unlike the reference, whose
 * revoked/shutdown flags stay set and keep the client inactive forever.)
 */
#ifndef TENSORPOOL_DRIVER_CLIENT_H
#define TENSORPOOL_DRIVER_CLIENT_H

#include <stdint.h>

#include "tensorpool/export.h"
#include "tensorpool/client.h"
#include "tensorpool/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_driver_client tp_driver_client_t;

/* ---- configuration ------------------------------------------------------------------------ */

typedef struct tp_driver_client_config {
    char control_channel[TP_CHANNEL_URI_MAX]; /* "aeron:ipc"; env TP_CONTROL_CHANNEL */
    uint32_t control_stream_id;  /* 1000 (WIRE W-181 driver control); env TP_CONTROL_STREAM_ID.
                                    The integration example's driver uses 15000. */
    uint32_t client_id;          /* 0 = choose a random non-zero id before the first request and
                                    a new one on a genuine "client_id already attached" (D-82);
                                    env TP_CLIENT_ID */
    tp_role_t role;              /* TP_ROLE_PRODUCER; no environment variable */
    uint64_t attach_timeout_ns;  /* per attempt: no response → resend with a fresh correlation
                                    id after backoff (D-13); 2 s; env TP_ATTACH_TIMEOUT_NS */
    uint64_t attach_deadline_ns; /* whole request incl. retries; 0 = retry forever; 0;
                                    env TP_ATTACH_DEADLINE_NS */
    uint64_t backoff_initial_ns; /* first retry delay, doubled per retry; 100 ms;
                                    env TP_ATTACH_BACKOFF_INITIAL_NS */
    uint64_t backoff_max_ns;     /* cap of the doubling; 5 s; env TP_ATTACH_BACKOFF_MAX_NS */
    uint64_t keepalive_interval_ns; /* ShmLeaseKeepalive period (D-29, D-31); 1 s; must match
                                    the driver's lease_keepalive_interval_ms or be shorter;
                                    env TP_KEEPALIVE_INTERVAL_NS */
    uint64_t default_lease_period_ns; /* assumed lease lifetime when the response carries no
                                    expiry, for the D-95 wait; 3 s; env TP_LEASE_PERIOD_NS */
} tp_driver_client_config_t;

/* Fill every default above, then apply the environment variables (read once, here). Never
 * fails; a malformed environment value is ignored with a warning in the log. */
TP_API void tp_driver_client_config_init(tp_driver_client_config_t *cfg);

/* ---- lifecycle ------------------------------------------------------------------------------ */

/* DESIGN §4 shorthand: config defaults + the given channel, stream, client id (0 = auto) and
 * role. channel is copied. *out is owned by the caller until tp_driver_client_close() (or
 * tp_client_close of `client`). Returns 0 or -1 (TP_EINVAL, TP_ECHANNEL, TP_ENOMEM). */
TP_API int tp_driver_client_init(tp_driver_client_t **out, tp_client_t *client, const char *channel,
                                 uint32_t stream_id, uint32_t client_id, tp_role_t role);

/* Same with a full configuration (copied). */
TP_API int tp_driver_client_init_config(tp_driver_client_t **out, tp_client_t *client,
                                        const tp_driver_client_config_t *cfg);

/* Give the lease up best effort (ShmDetachRequest without waiting, D-95) if one is held,
 * then free. A producer/consumer initialised from dc must be closed first (TP_ESTATE is logged
 * and dc is left open otherwise). NULL is a no-op; closing twice is a no-op. */
TP_API void tp_driver_client_close(tp_driver_client_t *dc);

/* ---- attach (D-11..D-28, D-80..D-82, D-95) ----------------------------------------------- */

typedef struct tp_attach_request {
    uint32_t stream_id;               /* required */
    uint32_t expected_layout_version; /* 1 (TP layout version); TP_NULL_U32 = do not check */
    uint8_t publish_mode;             /* tp_publish_mode_t; TP_PUBLISH_MODE_NULL (REF default) */
    uint8_t hugepages;                /* tp_hugepages_policy_t; TP_HUGEPAGES_UNSPECIFIED */
    uint16_t reserved_;               /* 0 */
    uint32_t desired_node_id;         /* TP_NULL_U32 = driver picks (D-22) */
} tp_attach_request_t;

/* Defaults as commented above (stream_id 0: the caller must set it). */
TP_API void tp_attach_request_init(tp_attach_request_t *req);

typedef struct tp_attach_pool {
    uint16_t pool_id;
    uint16_t reserved_;
    uint32_t nslots;                 /* == header_nslots (D-18, checked) */
    uint32_t stride_bytes;
    char region_uri[TP_URI_MAX];     /* NUL-terminated, syntax-validated (D-20) */
} tp_attach_pool_t;

/* Everything a ShmAttachResponse carries, as plain data owned by whoever holds the struct
 * (fixed buffers, no pointers: copy it freely). Large (~70 KiB, because D-94 allows URIs of
 * 4096 bytes): prefer static or heap storage on threads with small stacks.
 * For code != OK only correlation_id, code, error_message, stream_id and client_id are set;
 * the others are 0 / TP_NULL_*. */
typedef struct tp_attach {
    int64_t correlation_id;          /* of the attempt that was answered */
    int32_t code;                    /* tp_response_code_t */
    tp_role_t role;
    uint32_t client_id;              /* the id actually used (auto-chosen when configured 0) */
    uint32_t stream_id;
    uint64_t lease_id;
    uint64_t lease_expiry_ns;        /* hard deadline on the driver's clock (D-19), or TP_NULL_U64 */
    uint64_t epoch;
    uint32_t layout_version;
    uint32_t header_nslots;          /* power of two */
    uint32_t header_slot_bytes;      /* always 256 (D-18, checked) */
    uint32_t node_id;                /* TP_NULL_U32 when the driver assigned none (D-22) */
    uint32_t pool_count;             /* 1..TP_POOLS_PER_STREAM_MAX */
    uint32_t reserved_;
    tp_attach_pool_t pools[TP_POOLS_PER_STREAM_MAX];
    char header_region_uri[TP_URI_MAX];
    char error_message[TP_MESSAGE_MAX]; /* driver's errorMessage (code != OK), else "" */
} tp_attach_t;

/* Send ShmAttachRequest for req (copied). Returns the request handle — the correlation id of
 * the first attempt, seeded as (client_id << 32) | random low half (D-80; bit 31 of the id is
 * left out of the high half, so handles are always > 0) — or -1 (TP_ESTATE: a lease is held or an attach is in flight; TP_EINVAL; TP_EIO when the
 * request cannot be offered). Only one attach may be in flight per driver client. */
TP_API int64_t tp_driver_client_send_attach(tp_driver_client_t *dc, const tp_attach_request_t *req);

/* Poll the attach request `id` (runs the client's duty cycle itself, so a bare wait loop
 * works). Returns
 *   0  pending (includes internal retries: per-attempt timeout → backoff → resend with a new
 *      correlation id (D-13, D-80); a duplicate or late response for an old attempt is
 *      ignored once one OK was accepted (D-81); "client_id already attached" → per D-95 wait
 *      out the abandoned lease, then with an auto id pick a new one (D-82); an OK response that
 *      fails D-14/D-18/D-20 validation → best-effort detach, backoff, retry (D-41));
 *   1  done: *att filled. att->code == OK: the lease is ATTACHED, keepalives run from
 *      tp_client_do_work. Otherwise the driver refused (UNSUPPORTED, INVALID_PARAMS, REJECTED,
 *      INTERNAL_ERROR) and att->error_message says why; the driver client is UNATTACHED;
 *  -1  error: TP_ETIMEOUT (attach_deadline_ns passed), TP_EINVAL (unknown id), TP_ECLOSED.
 * att is written only when 1 is returned. Completed ids are forgotten after returning 1 (a
 * bounded cache of recent ids keeps late duplicates harmless). */
TP_API int tp_driver_client_poll_attach(tp_driver_client_t *dc, int64_t id, tp_attach_t *att);

/* ---- lease state --------------------------------------------------------------------------- */

typedef enum tp_lease_state {
    TP_LEASE_UNATTACHED = 0,
    TP_LEASE_ATTACHING = 1,
    TP_LEASE_BACKOFF = 2,   /* waiting to retry an attach */
    TP_LEASE_ATTACHED = 3,
    TP_LEASE_DETACHING = 4,
    TP_LEASE_REVOKED = 5,   /* own ShmLeaseRevoked seen, not yet handled (D-59) */
    TP_LEASE_SHUTDOWN = 6,  /* ShmDriverShutdown seen, not yet handled (D-76) */
    TP_LEASE_LOST = 7       /* keepalive could not be sent (D-32) or expiry passed (D-19) */
} tp_lease_state_t;

/* "ATTACHED", ...; static storage. */
TP_API const char *tp_lease_state_name(int state);

typedef struct tp_lease_info {
    tp_lease_state_t state;
    tp_role_t role;
    uint32_t client_id;
    uint32_t stream_id;
    uint64_t lease_id;        /* 0 when no lease */
    uint64_t epoch;           /* from the attach response */
    uint64_t expiry_ns;       /* last known expiry (moves with each keepalive sent), or TP_NULL_U64 */
    uint32_t node_id;
    uint32_t reserved_;
} tp_lease_info_t;

TP_API tp_lease_state_t tp_driver_client_state(const tp_driver_client_t *dc);

/* Snapshot of the lease. Always succeeds. */
TP_API void tp_driver_client_lease(const tp_driver_client_t *dc, tp_lease_info_t *out);

/* ---- notices (D-57..D-64, D-76) -------------------------------------------------------------- */

typedef enum tp_lease_event_kind {
    TP_EVENT_NONE = 0,
    TP_EVENT_LEASE_REVOKED = 1,    /* ShmLeaseRevoked for this client's own lease (D-59) */
    TP_EVENT_PRODUCER_REVOKED = 2, /* consumer role: the producer lease of our stream (D-60) */
    TP_EVENT_DRIVER_SHUTDOWN = 3,  /* ShmDriverShutdown (D-76) */
    TP_EVENT_LEASE_LOST = 4        /* local: keepalive send failed or expiry passed (D-19, D-32) */
} tp_lease_event_kind_t;

typedef struct tp_lease_event {
    tp_lease_event_kind_t kind;
    uint8_t role;             /* notice role (tp_role_t) */
    uint8_t reason;           /* tp_revoke_reason_t or tp_shutdown_reason_t */
    uint16_t reserved_;
    uint32_t stream_id;
    uint64_t lease_id;
    uint64_t timestamp_ns;    /* context clock when it was received */
    char message[TP_MESSAGE_MAX]; /* errorMessage of the notice, may be "" */
} tp_lease_event_t;

/* Observer: called from tp_client_do_work (same thread) for every event as it is recorded,
 * before any owner handles it. ev is valid during the call only. Must not call back into
 * dc except read-only queries. */
typedef void (*tp_lease_event_handler_t)(void *clientd, const tp_lease_event_t *ev);

/* Install (or with fn NULL remove) the observer. Returns 0. */
TP_API int tp_driver_client_set_event_handler(tp_driver_client_t *dc, tp_lease_event_handler_t fn,
                                              void *clientd);

/* For applications that use a driver client without a producer/consumer: take the oldest
 * unhandled event. Returns 1 (*ev filled; a REVOKED/SHUTDOWN/LOST state is cleared to
 * UNATTACHED, so send_attach may be called again), 0 (none), or -1 (TP_ESTATE: a producer or
 * consumer owns this driver client and handles its events itself). Notices are handled per
 * lease (D-61): notices for other leases/streams never appear; duplicates (D-64) appear once.
 * At most 8 events are queued; the own-lease state never gets lost. */
TP_API int tp_driver_client_poll_event(tp_driver_client_t *dc, tp_lease_event_t *ev);

/* ---- detach (D-56, D-79) -------------------------------------------------------------------- */

/* Send ShmDetachRequest for the held lease; keepalives stop. Returns the request id or -1
 * (TP_ESTATE when no lease is held). A producer/consumer owning dc must be closed first. */
TP_API int64_t tp_driver_client_send_detach(tp_driver_client_t *dc);

/* 0 pending, 1 done (UNATTACHED; a non-OK or missing answer after attach_timeout_ns also
 * ends in 1: the lease is forgotten locally either way), -1 (TP_EINVAL unknown id). */
TP_API int tp_driver_client_poll_detach(tp_driver_client_t *dc, int64_t id);

/* Give the held lease up for a local reason (mapping from the attach failed, D-41/D-95):
 * ShmDetachRequest best effort without waiting, forget the lease locally, UNATTACHED, and
 * remember its expiry for the D-95 retry window. Returns 0 (also when no lease is held). */
TP_API int tp_driver_client_abandon(tp_driver_client_t *dc);

#ifdef __cplusplus
}
#endif
#endif

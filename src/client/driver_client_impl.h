/*
 * The driver client's state, shared by driver_client.c (requests, timers, queries) and
 * driver_client_rx.c (responses and notices). Private to those two files.
 */
#ifndef TP_CLIENT_DRIVER_CLIENT_IMPL_H
#define TP_CLIENT_DRIVER_CLIENT_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "client/client_private.h"
#include "util/error.h"

#define TP_DC_RECENT_IDS 32u  /* bounded cache of finished correlation ids (D-81) */
#define TP_DC_ATTEMPTS_MAX 8u /* correlation ids of the attempts of the request in flight */
#define TP_DC_EVENTS_MAX 8u   /* queued lease events (driver_client.h) */
/* A lease expiry further than this from now is not on our clock (D-19 uses the driver's). */
#define TP_DC_EXPIRY_SANE_NS (3600ull * 1000000000ull)

enum { TP_DC_REQ_NONE = 0, TP_DC_REQ_PENDING = 1, TP_DC_REQ_DONE = 2, TP_DC_REQ_FAILED = 3 };

struct tp_driver_client {
    tp_client_t *client;
    tp_driver_client_config_t cfg;
    tp_ctl_endpoint_t *ep;
    uint32_t client_id;     /* the one in use (auto-chosen when cfg.client_id == 0) */
    bool auto_id;
    tp_lease_state_t state;
    void *owner;
    tp_lease_event_handler_t on_event;
    void *on_event_clientd;
    uint32_t corr_low;      /* D-80 low half of the last correlation id */

    /* The attach request: one in flight at most (D-55). Its attempts each have their own
     * correlation id (D-13, D-80); an answer to any of them answers the request. */
    tp_attach_request_t req;
    bool have_req;
    int req_phase;          /* TP_DC_REQ_* */
    int req_err;            /* error code of a FAILED request */
    int64_t req_id;         /* handle: correlation id of the first attempt */
    int64_t attempts[TP_DC_ATTEMPTS_MAX];
    uint32_t attempt_count;
    uint64_t req_start_ns, attempt_sent_ns, retry_at_ns, backoff_ns;
    uint64_t reject_deadline_ns; /* D-95 window for a fixed client id, from the first rejection */
    tp_attach_t *result;    /* the answer poll_attach hands out */
    tp_attach_t *scratch;   /* a response being decoded/validated */
    tp_attach_t *attach;    /* the last accepted OK */
    bool has_attach;

    /* The lease (valid in ATTACHED and DETACHING). */
    uint64_t lease_id, epoch;
    uint32_t stream_id, node_id;
    uint64_t lease_period_ns;   /* expiry - now at the OK, else the default period */
    uint64_t expiry_ns;         /* last known expiry on our clock (moves with each keepalive) */
    bool expiry_known;          /* the response carried one (D-19) */
    uint64_t next_keepalive_ns;
    uint64_t ended_lease_id;    /* the last lease that ended: its late notices are duplicates */
    bool ended_lease_valid;
    uint64_t producer_revoked_lease; /* D-60/D-64: the producer lease already reported */
    bool producer_revoked_valid;
    uint64_t abandoned_until_ns; /* D-95: a lease we gave up may live at the driver until then */

    /* Detach (D-56). */
    int64_t detach_id;
    int detach_phase;
    uint64_t detach_deadline_ns;

    int64_t recent[TP_DC_RECENT_IDS];
    uint32_t recent_n, recent_pos;

    tp_lease_event_t events[TP_DC_EVENTS_MAX];
    uint32_t ev_head, ev_count;

    tp_dc_counters_t counters;
};

uint32_t tp_dc_random_u32(void);
int64_t tp_dc_next_correlation_id(tp_driver_client_t *dc);
void tp_dc_remember_id(tp_driver_client_t *dc, int64_t id);
bool tp_dc_is_recent_id(const tp_driver_client_t *dc, int64_t id);
int tp_dc_send_detach_request(tp_driver_client_t *dc, int64_t corr, uint64_t lease_id,
                              uint32_t stream_id);
void tp_dc_give_up_lease(tp_driver_client_t *dc, uint64_t lease_id, uint32_t stream_id,
                         uint64_t expiry_ns, uint64_t now_ns);
void tp_dc_push_event(tp_driver_client_t *dc, const tp_lease_event_t *ev);
void tp_dc_end_lease(tp_driver_client_t *dc, tp_lease_state_t state, tp_lease_event_t *ev);
void tp_dc_finish_request(tp_driver_client_t *dc, int phase, int err);
void tp_dc_retry_request(tp_driver_client_t *dc, uint64_t now_ns);
void tp_dc_change_client_id(tp_driver_client_t *dc);
void tp_dc_accept(tp_driver_client_t *dc, uint64_t now_ns);
void tp_dc_free(tp_driver_client_t *dc);

#endif

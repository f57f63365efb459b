/*
 * Producer lease loss and reattachment (DRIVER D-59, D-77, D-95; WIRE W-156): the lease
 * events the producer takes from its driver client, PAUSED/IDLE, reattach with backoff
 * through the driver client's last request, remap, resume at seq 0 in the new epoch, and
 * the retired mappings kept until their reservations are released.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/producer_internal.h"
#include "codec/gen/tp_sbe_control.h"
#include "util/error.h"
#include "util/log.h"

/* ---- lease loss and reattach (D-59, D-77, D-95) --------------------------------------------- */

static void retire_mapping(tp_producer_t *p)
{
    tp_prod_map_t *m = p->cur;
    if (m == NULL)
        return;
    /* pending descriptors of the old epoch are forgotten (D-59: stop using the regions) */
    for (uint64_t s = p->head_seq; s < p->next_seq; s++) {
        tp_prod_slot_t *e = &m->slots[s & m->mask];
        if (e->state == TP_PSLOT_COMMITTED)
            p->stats.descriptors_lost++;
        if (e->state != TP_PSLOT_RESERVED)
            e->state = TP_PSLOT_FREE;
    }
    m->next = p->retired;
    p->retired = m;
    p->cur = NULL;
    p->head_seq = p->next_seq = 0;
}

static void lose_lease(tp_producer_t *p, tp_producer_state_t to, uint64_t now_ns,
                       const char *why)
{
    tp_log_warn(TP_PROD_COMPONENT, "producer %" PRIu32 " stream %" PRIu32 ": %s; %s, reattaching",
                p->producer_id, p->stream_id, why, to == TP_PRODUCER_PAUSED ? "paused" : "idle");
    if (p->cur == NULL) {
        /* already reattaching: an attach in flight stays ours to poll (the driver client
         * retries it by itself) */
        if (to == TP_PRODUCER_IDLE)
            p->state = to;
        return;
    }
    retire_mapping(p);
    p->state = to;
    p->attach_id = -1;
    p->backoff_ns = p->cfg.reattach_backoff_initial_ns;
    p->reattach_at_ns = now_ns + p->backoff_ns;
}

int tp_prod_take_events(tp_producer_t *p, uint64_t now_ns)
{
    tp_lease_event_t ev;
    int n = 0;
    while (tp_dc_take_event(p->dc, p, &ev) == 1) {
        n++;
        switch (ev.kind) {
        case TP_EVENT_LEASE_REVOKED:
            lose_lease(p, TP_PRODUCER_PAUSED, now_ns, "lease revoked");
            break;
        case TP_EVENT_LEASE_LOST:
            lose_lease(p, TP_PRODUCER_PAUSED, now_ns, "lease lost");
            break;
        case TP_EVENT_DRIVER_SHUTDOWN:
            lose_lease(p, TP_PRODUCER_IDLE, now_ns, "driver shutdown");
            break;
        default:
            break;
        }
    }
    return n;
}

static void reattach_failed(tp_producer_t *p, uint64_t now_ns)
{
    p->attach_id = -1;
    p->state = TP_PRODUCER_IDLE;
    p->reattach_at_ns = now_ns + p->backoff_ns;
    p->backoff_ns = p->backoff_ns * 2 > p->cfg.reattach_backoff_max_ns
                        ? p->cfg.reattach_backoff_max_ns
                        : p->backoff_ns * 2;
}

/* Map the accepted attach and resume (W-156: seq 0 in the new epoch). */
static int resume(tp_producer_t *p, const tp_attach_t *att, uint64_t now_ns)
{
    tp_prod_map_t *m = tp_prod_map_attach(p, att);
    if (m == NULL) {
        tp_log_warn(TP_PROD_COMPONENT, "reattach: mapping failed: %s", tp_errmsg());
        tp_driver_client_abandon(p->dc); /* D-41, D-95 */
        reattach_failed(p, now_ns);
        return 1;
    }
    p->attach_id = -1;
    p->backoff_ns = p->cfg.reattach_backoff_initial_ns;
    p->stats.reattaches++;
    tp_prod_activate(p, m, now_ns);
    tp_log_info(TP_PROD_COMPONENT, "producer %" PRIu32 " reattached: stream %" PRIu32
                " epoch %" PRIu64, p->producer_id, p->stream_id, m->epoch);
    return 1;
}

/* Send the driver client's last request again after the backoff, poll it, remap. */
int tp_prod_reattach(tp_producer_t *p, uint64_t now_ns)
{
    int rc;

    if (p->attach_id < 0) {
        tp_attach_request_t req;
        tp_lease_state_t st = tp_driver_client_state(p->dc);
        if (now_ns < p->reattach_at_ns)
            return 0;
        if (st == TP_LEASE_ATTACHED && tp_dc_attach(p->dc) != NULL)
            return resume(p, tp_dc_attach(p->dc), now_ns); /* attached without our poll */
        if (st != TP_LEASE_UNATTACHED) {
            p->reattach_at_ns = now_ns + p->backoff_ns; /* still settling: try later */
            return 0;
        }
        req = *tp_dc_request(p->dc);
        p->attach_id = tp_driver_client_send_attach(p->dc, &req);
        if (p->attach_id < 0) {
            tp_log_debug(TP_PROD_COMPONENT, "reattach: %s", tp_errmsg());
            reattach_failed(p, now_ns);
        }
        return 1;
    }
    rc = tp_driver_client_poll_attach(p->dc, p->attach_id, p->att_scratch);
    if (rc == 0)
        return 0;
    if (rc < 0 || p->att_scratch->code != TP_RESPONSE_OK) {
        tp_log_warn(TP_PROD_COMPONENT, "reattach refused: %s",
                    rc < 0 ? tp_errmsg() : p->att_scratch->error_message);
        reattach_failed(p, now_ns);
        return 1;
    }
    return resume(p, p->att_scratch, now_ns);
}

/* ---- driver liveness (D-47, D-50, D-69) --------------------------------------------------- */

typedef struct ann_ctx {
    tp_producer_t *p;
    uint64_t now_ns;
} ann_ctx_t;

static void on_announce(void *clientd, const uint8_t *buf, size_t len)
{
    ann_ctx_t *x = clientd;
    tp_producer_t *p = x->p;
    tp_sbe_header_t h;
    tp_sbe_control_shm_pool_announce_t a;
    if (tp_sbe_header_read(buf, len, &h) != 0 || h.schema_id != TP_SBE_CONTROL_SCHEMA_ID ||
        h.template_id != TP_SBE_CONTROL_SHM_POOL_ANNOUNCE_TEMPLATE_ID)
        return; /* W-4: the announce stream may be the control stream too */
    if (tp_sbe_control_shm_pool_announce_decode(buf, len, &a) < 0 || a.stream_id != p->stream_id)
        return;
    /* liveness, whatever the epoch: the driver is there (D-47). Intervals are measured between
     * announces actually received (not from a (re)activation), and the window follows the
     * longest of the last few: an extra announce (the driver sends one after every attach and
     * revoke) must not shrink it below a slow driver's period. */
    if (p->announces_seen == 0) {
        p->announces_seen = 1;
    } else if (x->now_ns > p->last_rx_ns) {
        uint64_t gap = x->now_ns - p->last_rx_ns;
        p->gaps[p->gap_next++ % TP_PROD_ANN_GAPS] = gap;
        p->announce_gap_ns = 0;
        for (uint32_t i = 0; i < TP_PROD_ANN_GAPS; i++)
            if (p->gaps[i] > p->announce_gap_ns)
                p->announce_gap_ns = p->gaps[i];
        p->announces_seen = 2;
    }
    if (x->now_ns > p->last_rx_ns)
        p->last_rx_ns = x->now_ns;
    if (x->now_ns > p->last_announce_ns)
        p->last_announce_ns = x->now_ns;
    /* D-42, D-44, D-50: the stream's epoch moved past our lease's — our lease is over (a
     * restarted driver that never heard of it, or one that ended it without telling us) */
    if (p->state == TP_PRODUCER_ACTIVE && p->cur != NULL && a.epoch > p->cur->epoch &&
        a.epoch > p->announce_newer_epoch)
        p->announce_newer_epoch = a.epoch;
}

int tp_prod_poll_announces(tp_producer_t *p, uint64_t now_ns)
{
    ann_ctx_t x = {p, now_ns};
    int n;
    if (p->ann_sub == NULL)
        return 0;
    n = tp_subscription_poll(p->ann_sub, on_announce, &x, 32);
    if (n < 0) {
        /* lapped (TP_ELAPPED): rejoined at the tail. Announces went by unread (a stalled
         * duty cycle), so the driver was alive: not a silence. */
        if (now_ns > p->last_announce_ns)
            p->last_announce_ns = now_ns;
        return 1;
    }
    return n;
}

static uint64_t announce_wait_ns(const tp_producer_t *p)
{
    /* the consumer's rule: 0 = 3 x its default 3 s freshness window (REF) */
    return p->cfg.announce_wait_timeout_ns != 0 ? p->cfg.announce_wait_timeout_ns
                                                : 3 * 3000000000ull;
}

static void driver_lost(tp_producer_t *p, uint64_t now_ns, const char *why)
{
    p->driver_losses++;
    tp_driver_client_abandon(p->dc); /* detach best effort (D-95 DECISION) */
    lose_lease(p, TP_PRODUCER_PAUSED, now_ns, why);
}

/* D-69: a driver killed without a shutdown notice sends nothing, and keepalives offered to a
 * control stream other clients still read raise no error, so the lease looks alive. The
 * driver announces every stream with state each period (D-47): when none has come for our
 * stream for the announce-wait timeout (or 3 observed announce intervals, if longer), or one
 * carries an epoch above our lease's, the driver is presumed lost — give the lease up and
 * reattach (to the restarted driver, which provisions a new epoch, D-50). */
int tp_prod_check_driver_alive(tp_producer_t *p, uint64_t now_ns)
{
    uint64_t limit = announce_wait_ns(p);
    char why[160];

    if (p->state != TP_PRODUCER_ACTIVE || p->ann_sub == NULL) {
        p->announce_newer_epoch = 0;
        return 0;
    }
    if (p->announce_newer_epoch != 0) {
        snprintf(why, sizeof why, "driver announces epoch %" PRIu64 " above ours (%" PRIu64
                 "): lease presumed lost (D-69)", p->announce_newer_epoch,
                 p->cur != NULL ? p->cur->epoch : 0);
        p->announce_newer_epoch = 0;
        driver_lost(p, now_ns, why);
        return 1;
    }
    /* a driver that announces more slowly than the window is not dead for it */
    if (p->announce_gap_ns > limit / 3)
        limit = 3 * p->announce_gap_ns;
    if (now_ns <= p->last_announce_ns || now_ns - p->last_announce_ns <= limit)
        return 0;
    if (p->announces_seen < 2) {
        /* no interval observed yet: nothing to presume from (DECISION) */
        if (p->announces_seen == 0 && !p->announce_warned) {
            p->announce_warned = true;
            tp_log_warn(TP_PROD_COMPONENT, "stream %" PRIu32 ": no ShmPoolAnnounce on %s "
                        "stream %" PRIu32 " for %" PRIu64 " ms: driver-loss detection (D-69) "
                        "waits for them; is that the driver's announce stream?", p->stream_id,
                        p->cfg.announce_channel, p->cfg.announce_stream_id,
                        (now_ns - p->last_announce_ns) / 1000000u);
        }
        return 0;
    }
    snprintf(why, sizeof why, "no announce for %" PRIu64 " ms: driver presumed lost (D-69)",
             (now_ns - p->last_announce_ns) / 1000000u);
    driver_lost(p, now_ns, why);
    return 1;
}

/* Unmap retired mappings whose reservations are all released. */
int tp_prod_reap_retired(tp_producer_t *p)
{
    tp_prod_map_t **pp = &p->retired;
    int n = 0;
    while (*pp != NULL) {
        tp_prod_map_t *m = *pp;
        if (m->outstanding == 0) {
            *pp = m->next;
            tp_prod_map_free(m);
            n++;
        } else {
            pp = &m->next;
        }
    }
    return n;
}

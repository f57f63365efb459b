/*
 * Producer lease loss and reattachment (DRIVER D-59, D-77, D-95; WIRE W-156): the lease
 * events the producer takes from its driver client, PAUSED/IDLE, reattach with backoff
 * through the driver client's last request, remap, resume at seq 0 in the new epoch, and
 * the retired mappings kept until their reservations are released.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "client/producer_internal.h"
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

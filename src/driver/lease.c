/*
 * Leases after the attach: keepalive (D-29 .. D-31), detach (D-56), expiry (D-30), the end
 * of a lease (D-42, D-57, D-58, D-70 forget step) and the per-consumer stream requests of
 * ConsumerHello (D-71, D-72; WIRE W-104, W-112).
 */
#include "driver/driver_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/log.h"

/* ---- the table --------------------------------------------------------------------------- */

tp_drv_lease_t *tp_drv_lease_find(tp_driver_t *d, uint64_t lease_id)
{
    for (uint32_t i = 0; i < d->lease_count; i++)
        if (d->leases[i].lease_id == lease_id)
            return &d->leases[i];
    return NULL;
}

tp_drv_lease_t *tp_drv_lease_of_client(tp_driver_t *d, uint32_t client_id)
{
    for (uint32_t i = 0; i < d->lease_count; i++)
        if (d->leases[i].client_id == client_id)
            return &d->leases[i];
    return NULL;
}

/* A zeroed entry at the end of the table (pointers into the table are valid until the next
 * add or removal). */
tp_drv_lease_t *tp_drv_lease_add(tp_driver_t *d)
{
    if (d->lease_count >= TP_DRV_MAX_LEASES)
        return NULL; /* the attach refused it already ("lease table full") */
    if (d->lease_count == d->lease_cap) {
        uint32_t cap = d->lease_cap ? d->lease_cap * 2 : 32;
        tp_drv_lease_t *n = realloc(d->leases, cap * sizeof *n);
        if (n == NULL)
            return NULL;
        d->leases = n;
        d->lease_cap = cap;
    }
    memset(&d->leases[d->lease_count], 0, sizeof d->leases[0]);
    return &d->leases[d->lease_count++];
}

static void lease_remove(tp_driver_t *d, tp_drv_lease_t *l)
{
    uint32_t i = (uint32_t)(l - d->leases);
    d->leases[i] = d->leases[--d->lease_count];
}

static bool stream_has_leases(const tp_driver_t *d, uint32_t stream_id)
{
    for (uint32_t i = 0; i < d->lease_count; i++)
        if (d->leases[i].stream_id == stream_id)
            return true;
    return false;
}

/* ---- lease end --------------------------------------------------------------------------- */

void tp_drv_lease_end(tp_driver_t *d, uint64_t lease_id, uint8_t reason)
{
    tp_drv_lease_t *lp = tp_drv_lease_find(d, lease_id);
    tp_drv_lease_t l;
    tp_drv_stream_t *s;

    if (lp == NULL)
        return;
    l = *lp;
    lease_remove(d, lp); /* per-consumer ids go with it (D-71) */
    tp_drv_node_release(d, l.client_id); /* its node id stays reserved (D-22) */
    s = tp_drv_stream_find(d, l.stream_id);
    tp_log_debug(TP_DRV_COMPONENT, "lease %" PRIu64 " ended: stream %" PRIu32 " client %" PRIu32
                 " role %u reason %u", l.lease_id, l.stream_id, l.client_id, (unsigned)l.role,
                 (unsigned)reason);
    /* D-57: a notice for every invalidation, consumer and producer alike; D-58: before the
     * epoch-bumped announce. */
    tp_drv_send_revoked(d, &l, reason);
    if (s != NULL && l.role == TP_SBE_DRIVER_ROLE_PRODUCER && s->producer_lease_id == l.lease_id) {
        s->producer_lease_id = 0;
        s->producer_client_id = 0;
        /* D-42, D-44, D-46: the epoch moves before another producer can attach. */
        if (tp_drv_bump_epoch(d, s) != 0)
            tp_log_error(TP_DRV_COMPONENT, "stream %" PRIu32 ": epoch bump after the producer "
                         "lease ended failed: %s", s->stream_id, tp_errmsg());
        tp_drv_send_announce(d, s);
    }
    /* D-70 REF forget step: any stream whose last lease ended, when dynamic streams are on.
     * Its files stay until GC (or cleanup on exit). */
    if (s != NULL && d->cfg.allow_dynamic_streams && s->producer_lease_id == 0 &&
        !stream_has_leases(d, s->stream_id))
        tp_drv_stream_forget(d, s);
}

int tp_drv_expiry_scan(tp_driver_t *d)
{
    int ended = 0;
    uint32_t i = 0;
    /* D-30 REF: `now > expiry`. Ending a lease moves the table's last entry into slot i
     * (and changes nothing else), so slot i is examined again: one pass, O(leases). */
    while (i < d->lease_count) {
        tp_drv_lease_t *l = &d->leases[i];
        if (d->now_ns > l->expiry_ns) {
            tp_log_info(TP_DRV_COMPONENT, "lease %" PRIu64 " expired (stream %" PRIu32
                        ", client %" PRIu32 ", %s)", l->lease_id, l->stream_id, l->client_id,
                        l->role == TP_SBE_DRIVER_ROLE_PRODUCER ? "producer" : "consumer");
            d->counters.leases_expired++;
            tp_drv_lease_end(d, l->lease_id, TP_SBE_DRIVER_LEASE_REVOKE_REASON_EXPIRED);
            ended++;
            continue;
        }
        i++;
    }
    return ended;
}

/* ---- keepalive, detach ------------------------------------------------------------------- */

void tp_drv_handle_keepalive(tp_driver_t *d, const tp_sbe_driver_shm_lease_keepalive_t *m)
{
    tp_drv_lease_t *l = tp_drv_lease_find(d, m->lease_id);
    if (l == NULL) { /* D-30 REF: ignored */
        d->counters.keepalives_unknown++;
        tp_log_debug(TP_DRV_COMPONENT, "keepalive for unknown lease %" PRIu64, m->lease_id);
        return;
    }
    /* D-30 REF: the other fields are not cross-checked */
    l->expiry_ns = d->now_ns + d->lease_grace_ns;
    d->counters.keepalives++;
}

void tp_drv_handle_detach(tp_driver_t *d, const tp_sbe_driver_shm_detach_request_t *m)
{
    tp_drv_lease_t *l = tp_drv_lease_find(d, m->lease_id);
    /* D-56: all four fields must agree; a role outside the enum matches no lease
     * (DECISION) */
    if (l == NULL || l->stream_id != m->stream_id || l->client_id != m->client_id ||
        l->role != m->role) {
        d->counters.detaches_rejected++;
        tp_drv_send_detach_response(d, m->correlation_id, TP_SBE_DRIVER_RESPONSE_CODE_REJECTED,
                                    "unknown lease");
        return;
    }
    /* REF order: the lease ends (notice, bump, announce), then the response */
    tp_drv_lease_end(d, m->lease_id, TP_SBE_DRIVER_LEASE_REVOKE_REASON_DETACHED);
    d->counters.detaches_ok++;
    tp_drv_send_detach_response(d, m->correlation_id, TP_SBE_DRIVER_RESPONSE_CODE_OK, "");
}

/* ---- per-consumer streams (D-71, D-72) --------------------------------------------------- */

typedef enum which_range { RANGE_DESCRIPTOR, RANGE_CONTROL } which_range_t;

static uint32_t assigned_id(const tp_drv_lease_t *l, which_range_t w)
{
    return w == RANGE_DESCRIPTOR ? l->descriptor_stream_id : l->control_stream_id;
}

static bool id_in_use(const tp_driver_t *d, which_range_t w, uint32_t id)
{
    for (uint32_t i = 0; i < d->lease_count; i++)
        if (assigned_id(&d->leases[i], w) == id)
            return true;
    return false;
}

/* D-71 REF: one id per consumer (kept on repeated hellos), round robin from the range,
 * skipping ids in use; 0 = declined (no range, or exhausted: D-72). */
static uint32_t allocate_consumer_id(tp_driver_t *d, tp_drv_lease_t *l, which_range_t w)
{
    const tp_cfg_range_t *r = w == RANGE_DESCRIPTOR ? &d->cfg.descriptor_stream_id_range
                                                    : &d->cfg.control_stream_id_range;
    uint32_t *cursor = w == RANGE_DESCRIPTOR ? &d->next_descriptor_stream_id
                                             : &d->next_control_stream_id;
    uint64_t size, used = 0;
    uint32_t id;

    if (assigned_id(l, w) != 0)
        return assigned_id(l, w);
    if (!r->set)
        return 0;
    size = (uint64_t)r->end - r->start + 1 - (r->start == 0); /* 0 means "none" */
    for (uint32_t i = 0; i < d->lease_count; i++) {
        uint32_t a = assigned_id(&d->leases[i], w);
        if (a != 0 && a >= r->start && a <= r->end)
            used++;
    }
    if (used >= size)
        return 0;
    id = *cursor;
    if (id < r->start || id > r->end)
        id = r->start;
    while (id == 0 || id_in_use(d, w, id)) /* at most used + 2 candidates */
        id = id == r->end ? r->start : id + 1;
    *cursor = id == r->end ? r->start : id + 1;
    if (w == RANGE_DESCRIPTOR)
        l->descriptor_stream_id = id;
    else
        l->control_stream_id = id;
    return id;
}

static tp_drv_lease_t *consumer_lease(tp_driver_t *d, uint32_t consumer_id, uint32_t stream_id)
{
    for (uint32_t i = 0; i < d->lease_count; i++) {
        tp_drv_lease_t *l = &d->leases[i];
        if (l->client_id == consumer_id && l->role == TP_SBE_DRIVER_ROLE_CONSUMER &&
            l->stream_id == stream_id)
            return l;
    }
    return NULL;
}

/* A channel we can echo: non-empty and within the transport's channel limit. */
static bool channel_usable(const tp_sbe_data_t *ch)
{
    return ch->length > 0 && ch->length < TP_CHANNEL_MAX;
}

void tp_drv_handle_hello(tp_driver_t *d, const tp_sbe_control_consumer_hello_t *m)
{
    bool desc_bad, ctrl_bad, desc_req, ctrl_req;
    tp_sbe_control_consumer_config_t cc;
    tp_drv_lease_t *l;

    /* W-190 DECISION: a hello with an undefined enum number is ignored. */
    if ((m->mode != TP_SBE_CONTROL_MODE_STREAM && m->mode != TP_SBE_CONTROL_MODE_RATE_LIMITED) ||
        m->supports_shm > TP_SBE_CONTROL_BOOL_TRUE ||
        m->supports_progress > TP_SBE_CONTROL_BOOL_TRUE) {
        d->counters.malformed++;
        tp_log_debug(TP_DRV_COMPONENT, "ConsumerHello with an undefined enum value ignored");
        return;
    }
    /* W-104 REF: a non-empty channel with id 0 or the null is an invalid request; an
     * over-long channel cannot be served either. */
    desc_bad = m->descriptor_channel.length > 0 &&
               (m->descriptor_stream_id == 0 || m->descriptor_stream_id == UINT32_MAX ||
                !channel_usable(&m->descriptor_channel));
    ctrl_bad = m->control_channel.length > 0 &&
               (m->control_stream_id == 0 || m->control_stream_id == UINT32_MAX ||
                !channel_usable(&m->control_channel));
    desc_req = !desc_bad && m->descriptor_channel.length > 0;
    ctrl_req = !ctrl_bad && m->control_channel.length > 0;
    if (!desc_req && !ctrl_req && !desc_bad && !ctrl_bad)
        return; /* D-71: no request, no answer */
    l = consumer_lease(d, m->consumer_id, m->stream_id);
    if (l == NULL)
        return; /* served only for a consumer lease on that stream, consumerId == clientId */

    memset(&cc, 0, sizeof cc);
    cc.stream_id = m->stream_id;
    cc.consumer_id = m->consumer_id;
    cc.use_shm = TP_SBE_CONTROL_BOOL_TRUE;
    cc.mode = m->mode; /* D-71 DECISION: echo the hello's mode */
    if (!desc_bad && !ctrl_bad) {
        if (desc_req) {
            cc.descriptor_stream_id = allocate_consumer_id(d, l, RANGE_DESCRIPTOR);
            if (cc.descriptor_stream_id != 0)
                cc.descriptor_channel = m->descriptor_channel;
        }
        if (ctrl_req) {
            cc.control_stream_id = allocate_consumer_id(d, l, RANGE_CONTROL);
            if (cc.control_stream_id != 0)
                cc.control_channel = m->control_channel;
        }
    }
    /* declined halves: empty channel + 0 (D-72, W-112) */
    tp_log_debug(TP_DRV_COMPONENT, "ConsumerConfig stream %" PRIu32 " consumer %" PRIu32
                 " descriptor %" PRIu32 " control %" PRIu32, cc.stream_id, cc.consumer_id,
                 cc.descriptor_stream_id, cc.control_stream_id);
    tp_drv_send_consumer_config(d, &cc);
}

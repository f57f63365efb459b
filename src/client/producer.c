/*
 * The producer: mapping from an attach, zero-copy reservations with out-of-order completion,
 * FrameDescriptors in seq order, FrameProgress throttling, the duty cycle (WIRE §8, §16-§18,
 * §23; DRIVER D-9, D-47: a producer attached to a driver never announces pools).
 * Bookkeeping: producer_internal.h. Lease loss and reattach: producer_lease.c. Consumers,
 * per-consumer streams, metadata and QoS: producer_ctl.c. Defaults: producer_config.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/producer_internal.h"
#include "codec/gen/tp_sbe_control.h"
#include "util/error.h"
#include "util/log.h"

/* ---- mapping (W-94..W-99, W-178) ----------------------------------------------------------- */

void tp_prod_map_free(tp_prod_map_t *m)
{
    if (m == NULL)
        return;
    for (uint32_t i = 0; i < m->pool_count; i++)
        tp_region_unmap(&m->pools[i]);
    tp_region_unmap(&m->header);
    free(m->slots);
    free(m);
}

/* Map the header ring and every pool of att read-write and validate the superblocks against
 * it. NULL on failure (nothing stays mapped; the error says which region). */
tp_prod_map_t *tp_prod_map_attach(tp_producer_t *p, const tp_attach_t *att)
{
    tp_prod_map_t *m = calloc(1, sizeof *m);
    tp_region_expect_t ex;

    if (m == NULL) {
        tp_err_set(TP_ENOMEM, "producer mapping");
        return NULL;
    }
    m->epoch = att->epoch;
    m->nslots = att->header_nslots;
    m->mask = att->header_nslots - 1;
    m->slots = calloc(att->header_nslots ? att->header_nslots : 1, sizeof *m->slots);
    if (m->slots == NULL) {
        tp_err_set(TP_ENOMEM, "producer slot table");
        goto fail;
    }
    memset(&ex, 0, sizeof ex);
    ex.region_type = TP_REGION_HEADER_RING;
    ex.layout_version = att->layout_version;
    ex.epoch = att->epoch;
    ex.stream_id = att->stream_id;
    ex.pool_id = 0;
    ex.nslots = att->header_nslots;
    ex.stride_bytes = 0;
    if (tp_region_map(&m->header, att->header_region_uri, strlen(att->header_region_uri),
                      &p->allowed, &ex, true) != 0) {
        tp_err_push("header ring");
        goto fail;
    }
    if (tp_ring_init(&m->ring, m->header.base, m->header.size, att->header_nslots) != 0) {
        tp_err_push("header ring");
        goto fail;
    }
    tp_pool_set_init(&m->set);
    for (uint32_t i = 0; i < att->pool_count && i < TP_POOLS_MAX; i++) {
        const tp_attach_pool_t *ap = &att->pools[i];
        ex.region_type = TP_REGION_PAYLOAD_POOL;
        ex.pool_id = ap->pool_id;
        ex.nslots = ap->nslots;
        ex.stride_bytes = ap->stride_bytes;
        if (tp_region_map(&m->pools[i], ap->region_uri, strlen(ap->region_uri), &p->allowed,
                          &ex, true) != 0) {
            tp_err_push("pool %u", ap->pool_id);
            goto fail;
        }
        m->pool_count = i + 1;
        if (tp_pool_set_add(&m->set, ap->pool_id, m->pools[i].base, m->pools[i].size,
                            ap->nslots, ap->stride_bytes) != 0) {
            tp_err_push("pool %u", ap->pool_id);
            goto fail;
        }
    }
    return m;
fail:
    tp_prod_map_free(m);
    return NULL;
}

/* W-19, D-9: the attached producer refreshes every superblock's activity timestamp. */
static void touch_all(tp_prod_map_t *m, uint64_t now_ns)
{
    tp_superblock_touch(tp_region_superblock(&m->header), now_ns);
    for (uint32_t i = 0; i < m->pool_count; i++)
        tp_superblock_touch(tp_region_superblock(&m->pools[i]), now_ns);
}

static int check_attach(const tp_attach_t *att, tp_driver_client_t *dc)
{
    const tp_attach_t *held;
    if (att->code != TP_RESPONSE_OK)
        return tp_err_set(TP_EINVAL, "attach response is %s, not OK",
                          tp_response_code_name(att->code));
    if (tp_dc_role(dc) != TP_ROLE_PRODUCER)
        return tp_err_set(TP_EINVAL, "driver client role is not PRODUCER");
    held = tp_dc_attach(dc);
    if (held == NULL || held->lease_id != att->lease_id || held->epoch != att->epoch ||
        tp_driver_client_state(dc) != TP_LEASE_ATTACHED)
        return tp_err_set(TP_EINVAL, "attach (lease %" PRIu64 ") is not the driver client's "
                          "current lease", att->lease_id);
    if (tp_attach_validate(att) != 0)
        return tp_err_push("attach response");
    return 0;
}

/* ---- streams ------------------------------------------------------------------------------- */

static bool same_stream(const char *a, uint32_t sa, const char *b, uint32_t sb)
{
    tp_channel_t ca, cb;
    if (sa != sb)
        return false;
    if (tp_channel_parse(a, &ca) != 0 || tp_channel_parse(b, &cb) != 0)
        return strcmp(a, b) == 0;
    return strcmp(ca.canonical, cb.canonical) == 0;
}

static int open_streams(tp_producer_t *p)
{
    const tp_producer_config_t *c = &p->cfg;
    tp_transport_t *t = p->transport;
    const char *dch = tp_dc_control_channel(p->dc);
    uint32_t dsid = tp_dc_control_stream_id(p->dc);

    /* one producer lease per stream: the descriptor stream has this one writer */
    if (tp_transport_add_exclusive_publication(t, c->descriptor_channel, c->descriptor_stream_id,
                                               &p->desc_pub) != 0)
        return tp_err_push("descriptor stream %u", c->descriptor_stream_id);
    if (tp_transport_add_publication(t, c->control_channel, c->control_stream_id,
                                     &p->ctrl_pub) != 0)
        return tp_err_push("control stream %u", c->control_stream_id);
    if (tp_transport_add_publication(t, c->qos_channel, c->qos_stream_id, &p->qos_pub) != 0)
        return tp_err_push("QoS stream %u", c->qos_stream_id);
    if (tp_transport_add_publication(t, c->metadata_channel, c->metadata_stream_id,
                                     &p->meta_pub) != 0)
        return tp_err_push("metadata stream %u", c->metadata_stream_id);
    if (tp_transport_add_subscription(t, c->control_channel, c->control_stream_id,
                                      &p->ctrl_sub) != 0)
        return tp_err_push("control stream %u", c->control_stream_id);
    if (!same_stream(c->control_channel, c->control_stream_id, dch, dsid) &&
        tp_transport_add_subscription(t, dch, dsid, &p->drv_sub) != 0)
        return tp_err_push("driver control stream %u", dsid);
    if (tp_transport_add_subscription(t, c->qos_channel, c->qos_stream_id, &p->qos_sub) != 0)
        return tp_err_push("QoS stream %u", c->qos_stream_id);
    if (c->announce_stream_id != 0 &&
        tp_transport_add_subscription(t, c->announce_channel, c->announce_stream_id,
                                      &p->ann_sub) != 0)
        return tp_err_push("announce stream %u", c->announce_stream_id);
    return 0;
}

static void close_streams(tp_producer_t *p)
{
    tp_prod_close_consumers(p);
    tp_publication_close(p->desc_pub);
    tp_publication_close(p->ctrl_pub);
    tp_publication_close(p->qos_pub);
    tp_publication_close(p->meta_pub);
    tp_subscription_close(p->ctrl_sub);
    tp_subscription_close(p->drv_sub);
    tp_subscription_close(p->qos_sub);
    tp_subscription_close(p->ann_sub);
    p->desc_pub = p->ctrl_pub = p->qos_pub = p->meta_pub = NULL;
    p->ctrl_sub = p->drv_sub = p->qos_sub = p->ann_sub = NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

void tp_prod_activate(tp_producer_t *p, tp_prod_map_t *m, uint64_t now_ns)
{
    p->cur = m;
    p->last_epoch = m->epoch;
    p->head_seq = 0; /* W-156: a new epoch restarts seq at 0 */
    p->next_seq = 0;
    p->state = TP_PRODUCER_ACTIVE;
    touch_all(m, now_ns);
    p->next_announce_ns = now_ns; /* announce, QoS and metadata right away */
    p->next_qos_ns = now_ns;
    p->last_announce_ns = now_ns; /* D-69: the silence clock starts with the lease */
    p->announce_newer_epoch = 0;
    if (p->meta_committed_once)
        p->meta_pending = true;
}

static void producer_free(tp_producer_t *p)
{
    tp_prod_map_t *m, *n;
    close_streams(p);
    tp_prod_map_free(p->cur);
    for (m = p->retired; m != NULL; m = n) {
        n = m->next;
        tp_prod_map_free(m);
    }
    tp_prod_meta_free(p);
    free(p->att_scratch);
    free(p);
}

static void close_handle(void *handle)
{
    tp_producer_close(handle);
}

int tp_producer_init_from_attach(tp_producer_t **out, const tp_producer_config_t *cfg,
                                 const tp_attach_t *att, tp_driver_client_t *dc)
{
    tp_producer_t *p;
    tp_prod_map_t *m;
    tp_context_t *ctx;
    uint64_t now;

    if (out == NULL || cfg == NULL || att == NULL || dc == NULL)
        return tp_err_set(TP_EINVAL, "tp_producer_init_from_attach: NULL argument");
    *out = NULL;
    if (check_attach(att, dc) != 0)
        return tp_err_push("tp_producer_init_from_attach");
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return tp_err_set(TP_ENOMEM, "tp_producer_init_from_attach");
    p->cfg = *cfg;
    p->dc = dc;
    p->client = tp_dc_client(dc);
    p->transport = tp_client_transport(p->client);
    p->stream_id = att->stream_id;
    p->producer_id = cfg->producer_id != 0 ? cfg->producer_id : att->client_id;
    p->meta_version = cfg->meta_version;
    p->attach_id = -1;
    p->backoff_ns = cfg->reattach_backoff_initial_ns;
    tp_prod_recompute_progress(p);
    if (tp_dc_set_owner(dc, p) != 0) {
        free(p);
        return tp_err_push("tp_producer_init_from_attach");
    }
    /* From here on every failure gives the lease up (D-41/D-95): it is useless to us, and the
     * caller can attach again. */
    ctx = tp_client_context(p->client);
    tp_allowed_dirs_init(&p->allowed);
    for (uint32_t i = 0; i < tp_context_allowed_dir_count(ctx); i++)
        if (tp_allowed_dirs_add(&p->allowed, tp_context_allowed_dir(ctx, i)) != 0)
            goto fail_owned;
    p->att_scratch = malloc(sizeof *p->att_scratch);
    if (p->att_scratch == NULL || tp_prod_meta_init(p) != 0) {
        tp_err_set(TP_ENOMEM, "producer buffers");
        goto fail_owned;
    }
    m = tp_prod_map_attach(p, att);
    if (m == NULL)
        goto fail_owned;
    if (open_streams(p) != 0 || tp_client_add_handle(p->client, p, close_handle) != 0) {
        tp_prod_map_free(m);
        goto fail_owned;
    }
    now = tp_client_now_ns(p->client);
    tp_prod_activate(p, m, now);
    p->next_meta_ns = now;
    tp_log_info(TP_PROD_COMPONENT, "producer %" PRIu32 " active on stream %" PRIu32
                " epoch %" PRIu64 " (%" PRIu32 " slots, %" PRIu32 " pools)", p->producer_id,
                p->stream_id, m->epoch, m->nslots, m->pool_count);
    *out = p;
    return 0;
fail_owned:
    tp_err_push("tp_producer_init_from_attach");
    tp_dc_set_owner(dc, NULL);
    tp_driver_client_abandon(dc);
    producer_free(p);
    return -1;
}

static void abort_outstanding(tp_producer_t *p)
{
    tp_prod_map_t *m = p->cur;
    if (m == NULL)
        return;
    for (uint64_t s = p->head_seq; s < p->next_seq; s++) {
        tp_prod_slot_t *e = &m->slots[s & m->mask];
        if (e->state == TP_PSLOT_RESERVED) {
            e->state = TP_PSLOT_ABORTED;
            e->gen = 0;
            m->outstanding--;
            p->stats.aborts++;
        }
    }
}

void tp_producer_close(tp_producer_t *p)
{
    if (p == NULL)
        return;
    tp_client_remove_handle(p->client, p);
    abort_outstanding(p);
    if (p->state == TP_PRODUCER_ACTIVE)
        tp_prod_send_qos(p);
    p->state = TP_PRODUCER_CLOSED;
    tp_dc_set_owner(p->dc, NULL);
    producer_free(p);
}

/* ---- descriptors (W-118..W-126) ------------------------------------------------------------ */

#define DESC_LEN (TP_SBE_HEADER_LENGTH + TP_SBE_CONTROL_FRAME_DESCRIPTOR_BLOCK_LENGTH)

/* Send head's descriptor. 1 done (sent, nobody listening, or lost for good), 0 retry later. */
static int send_descriptor(tp_producer_t *p, const tp_prod_slot_t *e, uint64_t now_ns)
{
    tp_sbe_control_frame_descriptor_t d;
    uint8_t buf[DESC_LEN + 8];
    int64_t len, rc;

    d.stream_id = p->stream_id;
    d.epoch = p->cur->epoch;
    d.seq = e->seq;
    /* W-124 REF: publish time, read when the descriptor leaves (after the commit) */
    d.timestamp_ns = p->cfg.descriptor_timestamps ? now_ns : TP_NULL_U64;
    d.meta_version = e->meta_version;
    d.trace_id = e->trace_id;
    len = tp_sbe_control_frame_descriptor_encode(buf, sizeof buf, &d);
    if (len < 0)
        return 1; /* cannot happen: fixed size */
    rc = tp_publication_offer(p->desc_pub, buf, (size_t)len);
    if (rc == TP_PUB_BACK_PRESSURED || rc == TP_PUB_ADMIN_ACTION)
        return 0;
    if (rc >= 0)
        p->stats.descriptors_sent++;
    else if (rc == TP_PUB_NOT_CONNECTED)
        p->stats.descriptors_not_connected++; /* REF: skipped when nobody listens */
    else
        p->stats.descriptors_lost++;
    tp_prod_send_consumer_descriptors(p, buf, (size_t)len, now_ns);
    if (p->progress_enabled) /* W-137 REF: COMPLETE after the descriptor */
        tp_prod_send_progress(p, d.epoch, e->seq, e->len, TP_PROGRESS_STATE_COMPLETE);
    return 1;
}

/* Emit descriptors for the completed prefix, in seq order. Returns descriptors dealt with. */
static int advance_prefix(tp_producer_t *p, uint64_t now_ns)
{
    tp_prod_map_t *m = p->cur;
    int n = 0;
    while (p->head_seq < p->next_seq) {
        tp_prod_slot_t *e = &m->slots[p->head_seq & m->mask];
        if (e->state == TP_PSLOT_RESERVED)
            break;
        if (e->state == TP_PSLOT_COMMITTED && !send_descriptor(p, e, now_ns))
            break;
        e->state = TP_PSLOT_FREE;
        p->head_seq++;
        n++;
    }
    return n;
}

/* ---- reservations -------------------------------------------------------------------------- */

int tp_producer_reserve(tp_producer_t *p, uint16_t pool_id, tp_reservation_t *r)
{
    tp_prod_map_t *m;
    const tp_pool_t *pool;
    tp_prod_slot_t *e;
    tp_ring_claim_t c;
    uint64_t seq;

    if (p == NULL || r == NULL)
        return tp_err_set(TP_EINVAL, "tp_producer_reserve: NULL argument");
    if (p->state != TP_PRODUCER_ACTIVE)
        return TP_PRODUCER_NOT_ACTIVE;
    m = p->cur;
    pool = tp_pool_find(&m->set, pool_id);
    if (pool == NULL)
        return tp_err_set(TP_EINVAL, "tp_producer_reserve: no pool %u", pool_id);
    seq = p->next_seq;
    if (seq - p->head_seq >= m->nslots) {
        /* the slot still belongs to head_seq (= seq - nslots) */
        e = &m->slots[p->head_seq & m->mask];
        if (e->state == TP_PSLOT_RESERVED)
            return TP_PRODUCER_SLOT_BUSY;
        /* committed, descriptor back-pressured until now: the slot is being lapped */
        p->stats.descriptors_lost++;
        e->state = TP_PSLOT_FREE;
        p->head_seq++;
        advance_prefix(p, tp_client_now_ns(p->client));
    }
    tp_ring_write_begin(&m->ring, pool, seq, &c); /* W-65 steps 1-2: slot WRITING */
    e = &m->slots[c.index];
    memset(e, 0, sizeof *e);
    e->seq = seq;
    e->state = TP_PSLOT_RESERVED;
    e->pool_id = pool_id;
    e->capacity = c.capacity;
    if (++p->gen_counter == 0)
        p->gen_counter = 1;
    e->gen = p->gen_counter;
    p->next_seq = seq + 1;
    m->outstanding++;

    r->data = c.payload;
    r->capacity = c.capacity;
    r->pool_id = pool_id;
    r->reserved_ = 0;
    r->seq = seq;
    r->epoch = m->epoch;
    r->header_index = c.index;
    r->priv_gen_ = e->gen;
    return 0;
}

/* The mapping (current or retired) that handed out r and r's live entry, or NULL. */
static tp_prod_map_t *find_reservation(tp_producer_t *p, const tp_reservation_t *r,
                                       tp_prod_slot_t **entry)
{
    tp_prod_map_t *m = p->cur;
    if (r->priv_gen_ == 0)
        return NULL;
    if (m == NULL || m->epoch != r->epoch) {
        for (m = p->retired; m != NULL && m->epoch != r->epoch; m = m->next) {
        }
    }
    if (m == NULL || r->header_index >= m->nslots)
        return NULL;
    *entry = &m->slots[r->header_index];
    if ((*entry)->state != TP_PSLOT_RESERVED || (*entry)->gen != r->priv_gen_ ||
        (*entry)->seq != r->seq)
        return NULL;
    return m;
}

/* r belongs to a retired mapping: release it without writing anything. */
static int release_stale(tp_producer_t *p, tp_prod_map_t *m, tp_prod_slot_t *e,
                         tp_reservation_t *r)
{
    e->state = TP_PSLOT_FREE;
    e->gen = 0;
    m->outstanding--;
    p->stats.stale_releases++;
    r->priv_gen_ = 0;
    return TP_PRODUCER_STALE;
}

int tp_producer_publish(tp_producer_t *p, tp_reservation_t *r, uint32_t len,
                        const tp_tensor_desc_t *desc, const tp_publish_opts_t *opts)
{
    tp_prod_map_t *m;
    tp_prod_slot_t *e = NULL;
    tp_ring_claim_t c;
    uint64_t now, ts;
    uint32_t mv;

    if (p == NULL || r == NULL || desc == NULL)
        return tp_err_set(TP_EINVAL, "tp_producer_publish: NULL argument");
    m = find_reservation(p, r, &e);
    if (m == NULL)
        return tp_err_set(TP_EINVAL, "tp_producer_publish: reservation of seq %" PRIu64
                          " unknown or already completed", r->seq);
    if (m != p->cur)
        return release_stale(p, m, e, r);
    if (len > e->capacity)
        return tp_err_set(TP_EINVAL, "tp_producer_publish: len %" PRIu32 " > capacity %" PRIu32,
                          len, e->capacity);
    if (desc->ndims < 1 || desc->ndims > TP_MAX_DIMS)
        return tp_err_set(TP_EINVAL, "tp_producer_publish: ndims %u outside 1..8", desc->ndims);

    now = tp_client_now_ns(p->client);
    ts = opts == NULL || opts->timestamp_ns == TP_NULL_U64 ? now : opts->timestamp_ns;
    mv = opts == NULL || opts->meta_version == TP_NULL_U32 ? p->meta_version : opts->meta_version;
    c.slot = tp_ring_slot(&m->ring, e->seq);
    c.payload = NULL; /* written by the caller already (W-65 step 3) */
    c.seq = e->seq;
    c.index = (uint32_t)(e->seq & m->mask);
    c.capacity = e->capacity;
    c.pool_id = e->pool_id;
    tp_ring_write_header(&c, len, ts, mv, desc); /* W-65 step 4 (payload was step 3) */
    tp_ring_write_commit(&c);                    /* W-65 steps 5-6 */

    if (desc->progress_unit != TP_PROGRESS_NONE && desc->progress_stride_bytes != 0)
        p->progress_major_stride = desc->progress_stride_bytes;
    e->state = TP_PSLOT_COMMITTED;
    e->gen = 0;
    e->len = len;
    e->meta_version = mv;
    e->trace_id = opts == NULL ? 0 : opts->trace_id;
    e->progress_pending = 0;
    m->outstanding--;
    r->priv_gen_ = 0;
    p->stats.frames_published++;
    p->stats.bytes_published += len;
    /* W-65 step 7, in seq order. W-124: the descriptor carries the clock read after the
     * commit (the publish time), not the header time taken above. */
    advance_prefix(p, p->cfg.descriptor_timestamps ? tp_client_now_ns(p->client) : now);
    return 0;
}

int tp_producer_abort(tp_producer_t *p, tp_reservation_t *r)
{
    tp_prod_map_t *m;
    tp_prod_slot_t *e = NULL;

    if (p == NULL || r == NULL)
        return tp_err_set(TP_EINVAL, "tp_producer_abort: NULL argument");
    m = find_reservation(p, r, &e);
    if (m == NULL)
        return tp_err_set(TP_EINVAL, "tp_producer_abort: reservation of seq %" PRIu64
                          " unknown or already completed", r->seq);
    if (m != p->cur)
        return release_stale(p, m, e, r);
    /* the slot stays WRITING (even word): consumers drop it; no descriptor, a gap */
    e->state = TP_PSLOT_ABORTED;
    e->gen = 0;
    e->progress_pending = 0;
    m->outstanding--;
    r->priv_gen_ = 0;
    p->stats.aborts++;
    advance_prefix(p, tp_client_now_ns(p->client));
    return 0;
}

int tp_producer_offer(tp_producer_t *p, const void *data, uint32_t len,
                      const tp_tensor_desc_t *desc, const tp_publish_opts_t *opts)
{
    const tp_pool_t *pool;
    tp_reservation_t r;
    int rc;

    if (p == NULL || desc == NULL || (data == NULL && len > 0))
        return tp_err_set(TP_EINVAL, "tp_producer_offer: NULL argument");
    if (p->state != TP_PRODUCER_ACTIVE)
        return TP_PRODUCER_NOT_ACTIVE;
    if (desc->ndims < 1 || desc->ndims > TP_MAX_DIMS)
        return tp_err_set(TP_EINVAL, "tp_producer_offer: ndims %u outside 1..8", desc->ndims);
    pool = tp_pool_select(&p->cur->set, len); /* W-57 */
    if (pool == NULL)                          /* W-58: drop, never block */
        return tp_err_set(TP_ETOOBIG, "tp_producer_offer: %" PRIu32 " bytes fit no pool", len);
    rc = tp_producer_reserve(p, pool->pool_id, &r);
    if (rc != 0)
        return rc;
    if (len > 0)
        memcpy(r.data, data, len);
    return tp_producer_publish(p, &r, len, desc, opts);
}

/* W-138: a PROGRESS leaves at most once per interval, only after the byte step, and within
 * the stream's rate cap; a value held back goes out from do_work once all three hold. */
static bool progress_due(const tp_producer_t *p, const tp_prod_slot_t *e, uint64_t bytes,
                         uint64_t now_ns)
{
    return now_ns - e->progress_sent_ns >= p->progress_interval_ns &&
           bytes - e->progress_sent_bytes >= tp_prod_progress_step(p) &&
           (!p->progress_last_valid || now_ns - p->progress_last_ns >= p->progress_min_gap_ns);
}

int tp_producer_progress(tp_producer_t *p, const tp_reservation_t *r, uint64_t bytes_filled)
{
    tp_prod_map_t *m;
    tp_prod_slot_t *e = NULL;
    uint64_t now;

    if (p == NULL || r == NULL)
        return tp_err_set(TP_EINVAL, "tp_producer_progress: NULL argument");
    if (!p->progress_enabled)
        return 0; /* W-139: nobody asked */
    m = find_reservation(p, r, &e);
    if (m == NULL)
        return tp_err_set(TP_EINVAL, "tp_producer_progress: reservation of seq %" PRIu64
                          " unknown or already completed", r->seq);
    if (m != p->cur)
        return TP_PRODUCER_STALE;
    if (bytes_filled > e->capacity || bytes_filled < e->progress_bytes)
        return tp_err_set(TP_EINVAL, "tp_producer_progress: bytes_filled %" PRIu64
                          " decreases or exceeds capacity", bytes_filled);
    now = tp_client_now_ns(p->client);
    e->progress_bytes = bytes_filled;
    if (!e->progress_started) { /* W-138: one STARTED per frame */
        e->progress_started = 1;
        e->progress_sent_bytes = bytes_filled;
        e->progress_sent_ns = now;
        tp_prod_send_progress(p, m->epoch, e->seq, bytes_filled, TP_PROGRESS_STATE_STARTED);
        return 0;
    }
    if (bytes_filled == e->progress_sent_bytes)
        return 0;
    if (progress_due(p, e, bytes_filled, now)) {
        e->progress_sent_bytes = bytes_filled;
        e->progress_sent_ns = now;
        e->progress_pending = 0;
        p->progress_last_ns = now;
        p->progress_last_valid = true;
        tp_prod_send_progress(p, m->epoch, e->seq, bytes_filled, TP_PROGRESS_STATE_PROGRESS);
    } else {
        e->progress_pending = 1; /* the newest value goes out when the interval ends */
    }
    return 0;
}

int tp_prod_flush_progress(tp_producer_t *p, uint64_t now_ns)
{
    tp_prod_map_t *m = p->cur;
    int n = 0;
    if (m == NULL || !p->progress_enabled)
        return 0;
    for (uint64_t s = p->head_seq; s < p->next_seq; s++) {
        tp_prod_slot_t *e = &m->slots[s & m->mask];
        if (e->state != TP_PSLOT_RESERVED || !e->progress_pending)
            continue;
        if (!progress_due(p, e, e->progress_bytes, now_ns))
            continue;
        e->progress_pending = 0;
        e->progress_sent_bytes = e->progress_bytes;
        e->progress_sent_ns = now_ns;
        p->progress_last_ns = now_ns;
        p->progress_last_valid = true;
        tp_prod_send_progress(p, m->epoch, e->seq, e->progress_bytes, TP_PROGRESS_STATE_PROGRESS);
        n++;
    }
    return n;
}

/* ---- duty cycle ---------------------------------------------------------------------------- */

static int cadences(tp_producer_t *p, uint64_t now_ns)
{
    int w = 0;
    if (now_ns >= p->next_announce_ns) {
        touch_all(p->cur, now_ns); /* D-9 */
        w += tp_prod_send_source_announce(p, now_ns);
        p->next_announce_ns = now_ns + p->cfg.announce_interval_ns;
    }
    if (now_ns >= p->next_qos_ns) {
        w += tp_prod_send_qos(p);
        p->next_qos_ns = now_ns + p->cfg.qos_interval_ns;
    }
    if (p->meta_pending ||
        (p->meta_committed_once && p->cfg.meta_interval_ns != 0 && now_ns >= p->next_meta_ns))
        w += tp_prod_send_meta(p, now_ns) != 0;
    return w;
}

int tp_producer_do_work(tp_producer_t *p, uint64_t now_ns)
{
    int w = 0, rc;
    if (p == NULL || p->state == TP_PRODUCER_CLOSED)
        return tp_err_set(TP_ECLOSED, "tp_producer_do_work: closed");
    rc = tp_client_do_work(p->client, now_ns);
    if (rc < 0)
        return -1;
    w += rc;
    w += tp_prod_take_events(p, now_ns);
    if (p->state != TP_PRODUCER_ACTIVE)
        w += tp_prod_reattach(p, now_ns);
    w += tp_prod_reap_retired(p);
    w += tp_prod_poll_control(p, now_ns);
    w += tp_prod_poll_announces(p, now_ns);
    w += tp_prod_check_driver_alive(p, now_ns); /* D-69: may pause (as a revocation does) */
    w += tp_prod_expire_consumers(p, now_ns);
    if (p->state == TP_PRODUCER_ACTIVE) {
        w += advance_prefix(p, now_ns);
        w += tp_prod_flush_progress(p, now_ns);
        w += cadences(p, now_ns);
    }
    return w;
}

tp_producer_state_t tp_producer_state(const tp_producer_t *p)
{
    return p == NULL ? TP_PRODUCER_CLOSED : p->state;
}

uint64_t tp_producer_epoch(const tp_producer_t *p)
{
    return p == NULL ? 0 : p->cur != NULL ? p->cur->epoch : p->last_epoch;
}

uint32_t tp_producer_nslots(const tp_producer_t *p)
{
    return p == NULL || p->cur == NULL ? 0 : p->cur->nslots;
}

void tp_producer_get_stats(const tp_producer_t *p, tp_producer_stats_t *out)
{
    uint32_t outstanding = 0;
    const tp_prod_map_t *m;
    if (out == NULL)
        return;
    if (p == NULL) {
        memset(out, 0, sizeof *out);
        out->state = TP_PRODUCER_CLOSED;
        return;
    }
    *out = p->stats;
    if (p->cur != NULL)
        outstanding += p->cur->outstanding;
    for (m = p->retired; m != NULL; m = m->next)
        outstanding += m->outstanding;
    out->outstanding = outstanding;
    out->current_seq = p->next_seq;
    out->epoch = tp_producer_epoch(p);
    out->state = (uint32_t)p->state;
    out->per_consumer_streams = 0;
    for (uint32_t i = 0; i < TP_PRODUCER_CONSUMERS_MAX; i++)
        if (p->consumers[i].used && p->consumers[i].desc_pub != NULL)
            out->per_consumer_streams++;
}

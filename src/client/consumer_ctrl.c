/*
 * The consumer's duty cycle (tp_consumer_do_work): lease events (D-59, D-60, D-63, D-68,
 * D-69), ShmPoolAnnounce dispatch (consumer_map.c), ConsumerConfig (W-107..W-114, W-191, W-192),
 * FrameProgress (W-127..W-137, W-193), metadata (W-141..W-143), ConsumerHello and QosConsumer
 * at their cadences, reattach with backoff. Not a hot path: it may map, unmap and log.
 */
#include "client/consumer_internal.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "codec/gen/tp_sbe_control.h"
#include "tensorpool/error.h"
#include "util/endian.h"
#include "util/error.h"
#include "util/log.h"

#define CTRL_POLL_LIMIT 64

/* ---- streams ---------------------------------------------------------------------------- */

static int canonical(const tp_consumer_t *c, const char *channel, char out[TP_CHANNEL_MAX])
{
    tp_channel_t ch;
    if (tp_transport_channel_parse(c->transport, channel, &ch) != 0) /* udp: Aeron only */
        return -1;
    memcpy(out, ch.canonical, sizeof ch.canonical);
    return 0;
}

static tp_cons_sub_t *find_sub(tp_consumer_t *c, const char *canon, uint32_t stream_id)
{
    for (uint32_t i = 0; i < c->sub_count; i++)
        if (c->subs[i].stream_id == stream_id && !strcmp(c->subs[i].channel, canon))
            return &c->subs[i];
    return NULL;
}

/* Add (or find) a do_work subscription. */
static tp_cons_sub_t *add_sub(tp_consumer_t *c, const char *channel, uint32_t stream_id)
{
    char canon[TP_CHANNEL_MAX];
    tp_cons_sub_t *s;
    if (canonical(c, channel, canon) != 0) {
        tp_err_push("channel %s", channel);
        return NULL;
    }
    if ((s = find_sub(c, canon, stream_id)) != NULL)
        return s;
    if (c->sub_count >= TP_CONS_SUBS_MAX) {
        tp_err_set(TP_ETOOBIG, "too many consumer subscriptions");
        return NULL;
    }
    s = &c->subs[c->sub_count];
    memset(s, 0, sizeof *s);
    if (tp_transport_add_subscription(c->transport, channel, stream_id, &s->sub) != 0) {
        tp_err_push("subscription %s stream %" PRIu32, channel, stream_id);
        return NULL;
    }
    memcpy(s->channel, canon, sizeof canon);
    s->stream_id = stream_id;
    s->join_seen = tp_subscription_join_time_ns(s->sub); /* joined now: join_time_ns is now */
    c->sub_count++;
    return s;
}

static void remove_sub(tp_consumer_t *c, tp_cons_sub_t *s)
{
    uint32_t i = (uint32_t)(s - c->subs);
    tp_subscription_close(s->sub);
    memmove(&c->subs[i], &c->subs[i + 1], sizeof *s * (c->sub_count - i - 1));
    c->sub_count--;
}

static bool requested(const tp_consumer_config_t *k)
{
    return k->request_descriptor_stream_id != 0 || k->request_control_stream_id != 0;
}

int tp_cons_open_streams(tp_consumer_t *c)
{
    const tp_consumer_config_t *k = &c->cfg;
    tp_cons_sub_t *s;
    char a[TP_CHANNEL_MAX], b[TP_CHANNEL_MAX];

    if (tp_transport_add_subscription(c->transport, k->descriptor_channel,
                                      k->descriptor_stream_id, &c->desc_shared) != 0)
        return tp_err_push("descriptor stream");
    if ((s = add_sub(c, k->announce_channel, k->announce_stream_id)) == NULL)
        return -1;
    s->announce = true;
    if (add_sub(c, k->control_channel, k->control_stream_id) == NULL ||
        add_sub(c, k->metadata_channel, k->metadata_stream_id) == NULL)
        return -1;
    /* W-192: the driver's ConsumerConfig arrives on the driver control stream, and only as
     * the answer to a per-consumer request (D-71): without one, no subscription there (each
     * costs an entry of the stream's subscriber table, which every client shares). */
    if (requested(k)) {
        s = add_sub(c, tp_dc_control_channel(c->dc), tp_dc_control_stream_id(c->dc));
        if (s == NULL)
            return -1;
        s->driver = true;
    }
    if (tp_transport_add_publication(c->transport, k->control_channel, k->control_stream_id,
                                     &c->hello_pub) != 0)
        return tp_err_push("control stream");
    if (tp_transport_add_publication(c->transport, k->qos_channel, k->qos_stream_id,
                                     &c->qos_pub) != 0)
        return tp_err_push("QoS stream");
    if (canonical(c, k->control_channel, a) != 0 ||
        canonical(c, tp_dc_control_channel(c->dc), b) != 0)
        return -1;
    /* Per-consumer requests go to the driver in driver mode (D-71), so the hello goes there
     * too when the driver listens elsewhere. */
    if ((strcmp(a, b) != 0 || k->control_stream_id != tp_dc_control_stream_id(c->dc)) &&
        requested(k) &&
        tp_transport_add_publication(c->transport, tp_dc_control_channel(c->dc),
                                     tp_dc_control_stream_id(c->dc), &c->drv_pub) != 0)
        return tp_err_push("driver control stream");
    return 0;
}

void tp_cons_close_streams(tp_consumer_t *c)
{
    tp_cons_counters_close(c); /* teardown: the counters file goes with the streams */
    while (c->sub_count > 0)
        remove_sub(c, &c->subs[c->sub_count - 1]);
    tp_subscription_close(c->desc_shared);
    tp_subscription_close(c->desc_pc);
    tp_publication_close(c->hello_pub);
    tp_publication_close(c->drv_pub);
    tp_publication_close(c->qos_pub);
    c->desc_shared = c->desc_pc = NULL;
    c->hello_pub = c->drv_pub = c->qos_pub = NULL;
}

int tp_cons_set_descriptor_stream(tp_consumer_t *c, const char *channel, uint32_t stream_id)
{
    tp_subscription_t *s = NULL;
    if (channel == NULL) { /* back to the shared stream (W-112) */
        if (c->desc_shared == NULL &&
            tp_transport_add_subscription(c->transport, c->cfg.descriptor_channel,
                                          c->cfg.descriptor_stream_id, &c->desc_shared) != 0)
            return tp_err_push("shared descriptor stream");
        tp_subscription_close(c->desc_pc);
        c->desc_pc = NULL;
        c->desc_pc_channel[0] = '\0';
        c->desc_pc_stream = 0;
        return 0;
    }
    if (c->desc_pc != NULL && c->desc_pc_stream == stream_id &&
        !strcmp(c->desc_pc_channel, channel))
        return 0;
    if (strlen(channel) >= TP_CHANNEL_MAX ||
        tp_transport_add_subscription(c->transport, channel, stream_id, &s) != 0)
        return tp_err_push("per-consumer descriptor stream %s %" PRIu32, channel, stream_id);
    tp_subscription_close(c->desc_pc);
    c->desc_pc = s;
    memcpy(c->desc_pc_channel, channel, strlen(channel) + 1);
    c->desc_pc_stream = stream_id;
    /* W-113: the shared descriptor subscription is dropped. */
    tp_subscription_close(c->desc_shared);
    c->desc_shared = NULL;
    return 0;
}

static int set_control_stream(tp_consumer_t *c, const char *channel, uint32_t stream_id)
{
    for (uint32_t i = 0; i < c->sub_count; i++)
        if (c->subs[i].per_consumer) {
            if (channel != NULL && c->ctrl_pc_stream == stream_id &&
                !strcmp(c->ctrl_pc_channel, channel))
                return 0;
            remove_sub(c, &c->subs[i]);
            break;
        }
    c->ctrl_pc_channel[0] = '\0';
    c->ctrl_pc_stream = 0;
    if (channel == NULL)
        return 0;
    char canon[TP_CHANNEL_MAX];
    if (strlen(channel) >= TP_CHANNEL_MAX || canonical(c, channel, canon) != 0)
        return tp_err_push("per-consumer control stream");
    if (find_sub(c, canon, stream_id) == NULL) { /* a stream we already read needs no second sub */
        tp_cons_sub_t *s = add_sub(c, channel, stream_id);
        if (s == NULL)
            return -1;
        s->per_consumer = true;
    }
    memcpy(c->ctrl_pc_channel, channel, strlen(channel) + 1);
    c->ctrl_pc_stream = stream_id;
    return 0;
}

/* ---- hello and QoS ------------------------------------------------------------------------ */

void tp_cons_send_hello(tp_consumer_t *c, uint64_t now_ns)
{
    tp_sbe_control_consumer_hello_t m;
    int64_t n;
    memset(&m, 0, sizeof m);
    m.stream_id = c->stream_id;
    m.consumer_id = c->consumer_id;
    m.supports_shm = c->cfg.use_shm ? TP_SBE_CONTROL_BOOL_TRUE : TP_SBE_CONTROL_BOOL_FALSE;
    m.supports_progress = c->cfg.supports_progress ? TP_SBE_CONTROL_BOOL_TRUE
                                                   : TP_SBE_CONTROL_BOOL_FALSE;
    m.mode = (uint8_t)c->cfg.mode;
    m.max_rate_hz = c->cfg.max_rate_hz;
    m.expected_layout_version = c->cfg.expected_layout_version;
    /* W-102 REF: no progress support → all three hints null. */
    m.progress_interval_us = c->cfg.supports_progress ? c->cfg.progress_interval_us : TP_NULL_U32;
    m.progress_bytes_delta = c->cfg.supports_progress ? c->cfg.progress_bytes_delta : TP_NULL_U32;
    m.progress_major_delta_units =
        c->cfg.supports_progress ? c->cfg.progress_major_delta_units : TP_NULL_U32;
    m.descriptor_stream_id = c->cfg.request_descriptor_stream_id;
    m.control_stream_id = c->cfg.request_control_stream_id;
    m.descriptor_channel = tp_sbe_str(c->cfg.request_descriptor_channel);
    m.control_channel = tp_sbe_str(c->cfg.request_control_channel);
    n = tp_sbe_control_consumer_hello_encode(c->buf, sizeof c->buf, &m);
    if (n < 0) {
        tp_log_warn(TP_CONS_COMPONENT, "ConsumerHello: %s", tp_errmsg());
    } else {
        if (c->hello_pub != NULL)
            (void)tp_publication_offer(c->hello_pub, c->buf, (size_t)n);
        if (c->drv_pub != NULL)
            (void)tp_publication_offer(c->drv_pub, c->buf, (size_t)n);
    }
    c->next_hello_ns = now_ns + c->cfg.hello_interval_ns;
}

void tp_cons_send_qos(tp_consumer_t *c, uint64_t now_ns)
{
    tp_sbe_control_qos_consumer_t m;
    int64_t n;
    tp_cons_counters_sync(c); /* the counters file follows the QoS cadence (client_counters.c) */
    memset(&m, 0, sizeof m);
    m.stream_id = c->stream_id;
    m.consumer_id = c->consumer_id;
    m.epoch = c->map.mapped ? c->map.epoch : c->highest_epoch;
    m.last_seq_seen = c->st.last_seq_seen == TP_NULL_U64 ? 0 : c->st.last_seq_seen;
    m.drops_gap = c->st.drops_gap;
    m.drops_late = c->st.drops_late;
    m.mode = (uint8_t)c->mode;
    n = tp_sbe_control_qos_consumer_encode(c->buf, sizeof c->buf, &m);
    if (n > 0 && c->qos_pub != NULL)
        (void)tp_publication_offer(c->qos_pub, c->buf, (size_t)n);
    c->next_qos_ns = now_ns + c->cfg.qos_interval_ns;
}

/* ---- lease events and reattach (D-59, D-60, D-63, D-68, D-69) ------------------------------ */

static void enter_backoff(tp_consumer_t *c, uint64_t now_ns)
{
    tp_cons_unmap(c, TP_MAPPING_BACKOFF); /* D-59: stop using the regions at once */
    /* Per-consumer streams end with the lease (D-71): back to the shared ones. */
    (void)tp_cons_set_descriptor_stream(c, NULL, 0);
    (void)set_control_stream(c, NULL, 0);
    c->driver_config_seen = false;
    c->ctrl_pc_pending = false;
    c->revoke_pending = false;
    if (c->backoff_ns == 0)
        c->backoff_ns = c->cfg.reattach_backoff_initial_ns;
    c->reattach_at_ns = now_ns + c->backoff_ns;
    c->backoff_ns = c->backoff_ns * 2 > c->cfg.reattach_backoff_max_ns
                        ? c->cfg.reattach_backoff_max_ns
                        : c->backoff_ns * 2;
    c->attach_id = -1;
}

static uint64_t announce_wait_ns(const tp_consumer_t *c)
{
    return c->cfg.announce_wait_timeout_ns != 0 ? c->cfg.announce_wait_timeout_ns
                                                : 3 * c->cfg.announce_freshness_ns;
}

static void enter_remapping(tp_consumer_t *c, uint64_t now_ns)
{
    uint64_t wait = announce_wait_ns(c);
    /* D-60/D-63 REF: drop the mapping now, accept only an epoch above the one left. */
    uint64_t left = c->map.mapped ? c->map.epoch : c->highest_epoch;
    if (c->state == TP_MAPPING_REMAPPING && left < c->leave_epoch)
        left = c->leave_epoch;
    tp_cons_unmap(c, TP_MAPPING_REMAPPING);
    c->leave_epoch = left;
    c->remap_deadline_ns = now_ns + wait;
}

/* D-69: a driver killed without a shutdown notice sends nothing, and keepalives offered to a
 * control stream other clients still read raise no error, so the lease looks alive. The
 * driver announces every stream with state each period (D-47): when none has come for our
 * stream for the announce-wait timeout (or 3 observed announce intervals, if longer), the
 * driver is presumed lost — give the lease up and reattach (to the restarted driver, which
 * provisions a new epoch). */
static int check_driver_alive(tp_consumer_t *c, uint64_t now_ns)
{
    uint64_t limit = announce_wait_ns(c);
    /* a driver that announces more slowly than the window is not dead for it */
    if (c->announce_gap_ns > limit / 3)
        limit = 3 * c->announce_gap_ns;
    if (c->state == TP_MAPPING_BACKOFF || now_ns <= c->last_announce_ns ||
        now_ns - c->last_announce_ns <= limit)
        return 0;
    tp_log_warn(TP_CONS_COMPONENT, "stream %" PRIu32 ": no announce for %" PRIu64
                " ms: driver presumed lost (D-69), reattaching", c->stream_id,
                (now_ns - c->last_announce_ns) / 1000000u);
    c->driver_silences++;
    tp_driver_client_abandon(c->dc); /* detach best effort (D-95 DECISION) */
    enter_backoff(c, now_ns);
    return 1;
}

/* D-50: announced regions came from another driver process than the one holding our lease
 * (consumer_map.c): the driver restarted, our lease is gone with it although keepalives
 * raise no error. Give it up and attach to the new driver. */
static int check_driver_changed(tp_consumer_t *c, uint64_t now_ns)
{
    if (!c->driver_changed)
        return 0;
    c->driver_changed = false;
    if (c->state == TP_MAPPING_BACKOFF)
        return 0;
    tp_log_warn(TP_CONS_COMPONENT, "stream %" PRIu32 ": regions now come from driver pid %"
                PRIu64 ", not %" PRIu64 ": driver restarted (D-50), reattaching", c->stream_id,
                c->map.pid, c->lease_driver_pid);
    c->driver_restarts++;
    tp_driver_client_abandon(c->dc); /* detach best effort (D-95 DECISION) */
    enter_backoff(c, now_ns);
    return 1;
}

static int handle_events(tp_consumer_t *c, uint64_t now_ns)
{
    tp_lease_event_t ev;
    int work = 0;
    while (tp_dc_take_event(c->dc, c, &ev) == 1) {
        work++;
        switch (ev.kind) {
        case TP_EVENT_PRODUCER_REVOKED:
            /* Applied by the next do_work, and nothing else of the control streams is read
             * before: descriptors the producer sent before it lost its lease (already in
             * the descriptor stream, published before the notice) get one more
             * tp_consumer_poll against the mapping they belong to. */
            if (ev.stream_id == c->stream_id && c->state != TP_MAPPING_BACKOFF &&
                c->state != TP_MAPPING_FALLBACK)
                c->revoke_pending = true;
            break;
        case TP_EVENT_LEASE_REVOKED:
        case TP_EVENT_DRIVER_SHUTDOWN:
        case TP_EVENT_LEASE_LOST:
            tp_log_info(TP_CONS_COMPONENT, "stream %" PRIu32 ": lease %s (%s), reattaching",
                        c->stream_id,
                        ev.kind == TP_EVENT_LEASE_REVOKED    ? "revoked"
                        : ev.kind == TP_EVENT_DRIVER_SHUTDOWN ? "ended by driver shutdown"
                                                              : "lost",
                        ev.message);
            enter_backoff(c, now_ns);
            break;
        default:
            break;
        }
    }
    return work;
}

static void reattach_done(tp_consumer_t *c, uint64_t now_ns)
{
    tp_cons_spec_t *s = &c->scratch;
    c->attach_id = -1;
    if (c->att.code != TP_RESPONSE_OK) {
        tp_log_info(TP_CONS_COMPONENT, "stream %" PRIu32 ": reattach refused: %s %s",
                    c->stream_id, tp_response_code_name(c->att.code), c->att.error_message);
        enter_backoff(c, now_ns);
        return;
    }
    if (tp_attach_validate(&c->att) != 0 || c->att.stream_id != c->stream_id ||
        tp_cons_spec_from_attach(s, &c->att) != 0 ||
        tp_cons_map_spec(c, s, false /* DECISION 1 */, now_ns) != 0) {
        tp_log_warn(TP_CONS_COMPONENT, "stream %" PRIu32 ": mapping after reattach failed: %s",
                    c->stream_id, tp_errmsg());
        tp_driver_client_abandon(c->dc); /* D-41/D-95 DECISION */
        enter_backoff(c, now_ns);
        return;
    }
    c->st.reattaches++;
    c->backoff_ns = 0;
    if (c->consumer_id_auto)
        c->consumer_id = c->att.client_id;
    c->join_time_ns = now_ns;
    c->last_announce_ns = now_ns;
    tp_cons_send_hello(c, now_ns); /* ask for the per-consumer streams again */
}

static int drive_reattach(tp_consumer_t *c, uint64_t now_ns)
{
    int rc;
    if (c->state != TP_MAPPING_BACKOFF)
        return 0;
    if (c->attach_id < 0) {
        const tp_attach_request_t *req;
        if (now_ns < c->reattach_at_ns)
            return 0;
        if (tp_driver_client_state(c->dc) == TP_LEASE_ATTACHED)
            tp_driver_client_abandon(c->dc); /* a lease we can no longer use (D-95) */
        req = tp_dc_request(c->dc);
        if (req != NULL)
            c->reattach_req = *req;
        c->reattach_req.stream_id = c->stream_id;
        c->attach_id = tp_driver_client_send_attach(c->dc, &c->reattach_req);
        if (c->attach_id < 0) {
            tp_log_debug(TP_CONS_COMPONENT, "reattach not sent: %s", tp_errmsg());
            enter_backoff(c, now_ns);
            return 1;
        }
        return 1;
    }
    rc = tp_driver_client_poll_attach(c->dc, c->attach_id, &c->att);
    if (rc == 0)
        return 0;
    if (rc < 0) {
        tp_log_debug(TP_CONS_COMPONENT, "reattach failed: %s", tp_errmsg());
        enter_backoff(c, now_ns);
        return 1;
    }
    reattach_done(c, now_ns);
    return 1;
}

/* ---- ConsumerConfig (W-107..W-114, W-191, W-192) ----------------------------------------- */

static bool fallback_supported(const tp_sbe_data_t *u)
{
    return (u->length >= 6 && !memcmp(u->data, "aeron:", 6)) ||
           (u->length >= 9 && !memcmp(u->data, "bridge://", 9)); /* W-109 REF */
}

/* A granted half (W-110, W-111): channel non-empty and id non-zero, copied to out. */
static bool granted(const tp_sbe_data_t *ch, uint32_t id, char out[TP_CHANNEL_MAX])
{
    if (ch->length == 0 || id == 0 || id == TP_NULL_U32 || ch->length >= TP_CHANNEL_MAX)
        return false;
    memcpy(out, ch->data, ch->length);
    out[ch->length] = '\0';
    return true;
}

static void handle_config(tp_consumer_t *c, const uint8_t *msg, size_t len, bool from_driver)
{
    tp_sbe_control_consumer_config_t m;
    char ch[TP_CHANNEL_MAX];
    if (tp_sbe_control_consumer_config_decode(msg, len, &m) < 0)
        return;
    if (m.stream_id != c->stream_id || m.consumer_id != c->consumer_id)
        return;
    if ((m.mode != TP_MODE_STREAM && m.mode != TP_MODE_RATE_LIMITED) ||
        m.use_shm > TP_SBE_CONTROL_BOOL_TRUE)
        return; /* W-190 */
    if (!from_driver && c->driver_config_seen)
        return; /* W-192 DECISION: the driver's decides */
    if (from_driver)
        c->driver_config_seen = true;
    c->mode = m.mode;
    if (granted(&m.descriptor_channel, m.descriptor_stream_id, ch)) {
        if (tp_cons_set_descriptor_stream(c, ch, m.descriptor_stream_id) != 0)
            tp_log_warn(TP_CONS_COMPONENT, "%s", tp_errmsg());
    } else {
        (void)tp_cons_set_descriptor_stream(c, NULL, 0);
    }
    /* Applied after the poll round: this handler may run inside that subscription's poll. */
    c->ctrl_pc_pending = true;
    c->ctrl_pc_next_stream = 0;
    if (granted(&m.control_channel, m.control_stream_id, ch)) {
        memcpy(c->ctrl_pc_next, ch, sizeof ch);
        c->ctrl_pc_next_stream = m.control_stream_id;
    }
    if (m.use_shm == TP_SBE_CONTROL_BOOL_FALSE && fallback_supported(&m.payload_fallback_uri) &&
        m.payload_fallback_uri.length < TP_URI_MAX) {
        memcpy(c->fallback_uri, m.payload_fallback_uri.data, m.payload_fallback_uri.length);
        c->fallback_uri[m.payload_fallback_uri.length] = '\0';
        if (c->state != TP_MAPPING_FALLBACK)
            tp_cons_unmap(c, TP_MAPPING_FALLBACK); /* W-108: no SHM frames */
    } else {
        c->fallback_uri[0] = '\0';
        if (c->state == TP_MAPPING_FALLBACK)
            c->state = TP_MAPPING_UNMAPPED; /* SHM again: map from the next announce */
    }
}

/* ---- FrameProgress (W-127..W-137, W-193) and metadata (W-141..W-143) ---------------------- */

static void handle_progress(tp_consumer_t *c, const uint8_t *msg, size_t len)
{
    tp_sbe_control_frame_progress_t m;
    tp_progress_t p;
    if (!c->cfg.supports_progress || c->cfg.on_progress == NULL)
        return; /* W-130 */
    if (tp_sbe_control_frame_progress_decode(msg, len, &m) < 0 || m.stream_id != c->stream_id ||
        m.state > TP_PROGRESS_STATE_COMPLETE)
        return; /* W-190 */
    if (c->state != TP_MAPPING_MAPPED || m.epoch != c->map.epoch)
        return;
    if (c->progress_valid && c->last_progress.seq == m.seq && c->last_progress.epoch == m.epoch) {
        if (c->last_progress.state == m.state &&
            c->last_progress.payload_bytes_filled == m.payload_bytes_filled)
            return; /* W-193 DECISION: a duplicate changes nothing */
        if (m.payload_bytes_filled < c->last_progress.payload_bytes_filled ||
            m.state < c->last_progress.state) {
            c->st.progress_regressions++; /* W-134, W-129 */
            return;
        }
    } else if (c->progress_valid && c->last_progress.epoch == m.epoch &&
               m.seq < c->last_progress.seq) {
        return; /* an older frame's progress: of no use any more */
    }
    p.stream_id = m.stream_id;
    p.state = m.state;
    p.epoch = m.epoch;
    p.seq = m.seq;
    p.payload_bytes_filled = m.payload_bytes_filled;
    c->last_progress = p;
    c->progress_valid = true;
    c->cfg.on_progress(c->cfg.callback_clientd, &p);
}

static tp_bytes_view_t view(tp_sbe_data_t d)
{
    tp_bytes_view_t v = {d.data, d.length};
    return v;
}

static void handle_source_announce(tp_consumer_t *c, const uint8_t *msg, size_t len)
{
    tp_sbe_control_data_source_announce_t m;
    tp_meta_event_t *e = &c->meta;
    if (c->cfg.on_meta == NULL || tp_sbe_control_data_source_announce_decode(msg, len, &m) < 0 ||
        m.stream_id != c->stream_id)
        return;
    memset(e, 0, offsetof(tp_meta_event_t, attrs));
    e->kind = 1;
    e->stream_id = m.stream_id;
    e->meta_version = m.meta_version;
    e->producer_id = m.producer_id;
    e->epoch = m.epoch;
    e->timestamp_ns = TP_NULL_U64;
    e->name = view(m.name);
    e->summary = view(m.summary);
    c->cfg.on_meta(c->cfg.callback_clientd, e);
}

static void handle_source_meta(tp_consumer_t *c, const uint8_t *msg, size_t len)
{
    tp_sbe_control_data_source_meta_t m;
    tp_sbe_control_data_source_meta_attributes_t a;
    tp_meta_event_t *e = &c->meta;
    tp_sbe_group_t g;
    if (c->cfg.on_meta == NULL || tp_sbe_control_data_source_meta_decode(msg, len, &m) < 0 ||
        m.stream_id != c->stream_id)
        return;
    memset(e, 0, offsetof(tp_meta_event_t, attrs));
    e->kind = 2;
    e->stream_id = m.stream_id;
    e->meta_version = m.meta_version;
    e->epoch = c->map.mapped ? c->map.epoch : 0;
    e->timestamp_ns = m.timestamp_ns;
    e->attr_total = m.attributes.count;
    g = m.attributes;
    while (e->attr_count < TP_CONSUMER_META_ATTRS_MAX &&
           tp_sbe_control_data_source_meta_attributes_next(&g, &a) > 0) {
        e->attrs[e->attr_count].key = view(a.key);
        e->attrs[e->attr_count].format = view(a.format);
        e->attrs[e->attr_count].value = view(a.value);
        e->attr_count++;
    }
    c->cfg.on_meta(c->cfg.callback_clientd, e);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

typedef struct dispatch_ctx {
    tp_consumer_t *c;
    uint64_t now_ns;
    bool driver;
} dispatch_ctx_t;

static void on_control(void *clientd, const uint8_t *msg, size_t len)
{
    dispatch_ctx_t *d = clientd;
    uint16_t template_id;
    if (len < TP_SBE_HEADER_LENGTH || tp_get_u16(msg + 4) != TP_SBE_CONTROL_SCHEMA_ID)
        return; /* schema first (W-4): driver messages and others are not ours here */
    template_id = tp_get_u16(msg + 2);
    switch (template_id) {
    case TP_SBE_CONTROL_SHM_POOL_ANNOUNCE_TEMPLATE_ID: /* also a reference producer's (D-47) */
        tp_cons_handle_announce(d->c, msg, len, d->now_ns);
        break;
    case TP_SBE_CONTROL_CONSUMER_CONFIG_TEMPLATE_ID:
        handle_config(d->c, msg, len, d->driver);
        break;
    case TP_SBE_CONTROL_FRAME_PROGRESS_TEMPLATE_ID:
        handle_progress(d->c, msg, len);
        break;
    case TP_SBE_CONTROL_DATA_SOURCE_ANNOUNCE_TEMPLATE_ID:
        handle_source_announce(d->c, msg, len);
        break;
    case TP_SBE_CONTROL_DATA_SOURCE_META_TEMPLATE_ID:
        handle_source_meta(d->c, msg, len);
        break;
    default:
        break;
    }
}

static int poll_control(tp_consumer_t *c, uint64_t now_ns)
{
    int work = 0;
    for (uint32_t i = 0; i < c->sub_count; i++) {
        /* handlers may remove subscriptions (per-consumer control): re-read each round */
        tp_cons_sub_t *s = &c->subs[i];
        dispatch_ctx_t d = {c, now_ns, s->driver};
        uint64_t joined = tp_subscription_join_time_ns(s->sub);
        if (joined != s->join_seen) { /* a new image (Aeron: a publisher, or a media driver
                                         restart): W-91's join time is now */
            s->join_seen = joined;
            if (s->announce && now_ns > c->join_time_ns)
                c->join_time_ns = now_ns;
        }
        int n = tp_subscription_poll(s->sub, on_control, &d, CTRL_POLL_LIMIT);
        if (n > 0)
            work += n;
    }
    if (c->ctrl_pc_pending) {
        c->ctrl_pc_pending = false;
        if (set_control_stream(c, c->ctrl_pc_next_stream != 0 ? c->ctrl_pc_next : NULL,
                               c->ctrl_pc_next_stream) != 0)
            tp_log_warn(TP_CONS_COMPONENT, "%s", tp_errmsg());
    }
    return work;
}

int tp_consumer_do_work(tp_consumer_t *c, uint64_t now_ns)
{
    int work = 0, n;
    if (c == NULL)
        return tp_err_set(TP_EINVAL, "tp_consumer_do_work: NULL consumer");
    if (c->unmap_pending) /* W-150, decided on the hot path */
        tp_cons_unmap(c, TP_MAPPING_UNMAPPED);
    if (c->revoke_pending) { /* D-60, D-63: noticed by the previous do_work */
        c->revoke_pending = false;
        if (c->state != TP_MAPPING_BACKOFF && c->state != TP_MAPPING_FALLBACK)
            enter_remapping(c, now_ns);
        work++;
    }
    n = tp_client_do_work(c->client, now_ns);
    if (n < 0)
        return -1;
    work += n;
    work += handle_events(c, now_ns);
    work += drive_reattach(c, now_ns);
    if (!c->revoke_pending) /* else the epoch-bumped announce waits for the next round */
        work += poll_control(c, now_ns);
    work += check_driver_alive(c, now_ns);
    work += check_driver_changed(c, now_ns);
    if (c->state == TP_MAPPING_REMAPPING && now_ns >= c->remap_deadline_ns) {
        /* D-63 REF: drop the mappings again and start another wait of the same length */
        tp_log_info(TP_CONS_COMPONENT, "stream %" PRIu32 ": no announce above epoch %" PRIu64
                    " yet, waiting on", c->stream_id, c->leave_epoch);
        enter_remapping(c, now_ns);
        work++;
    }
    if (c->state != TP_MAPPING_BACKOFF && now_ns >= c->next_hello_ns) {
        tp_cons_send_hello(c, now_ns);
        work++;
    }
    if (now_ns >= c->next_qos_ns) {
        tp_cons_send_qos(c, now_ns);
        work++;
    }
    return work;
}

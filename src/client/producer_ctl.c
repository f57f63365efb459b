/*
 * The producer's control side: ConsumerHello intake (progress hints, W-100..W-102, W-140),
 * the driver's ConsumerConfig (per-consumer descriptor/control streams, W-113..W-117,
 * W-191 DECISION: assigned by the driver only, never answered by the producer), consumer
 * liveness (W-116), FrameProgress emission (W-127..W-140), metadata (W-141..W-143) and
 * QosProducer (W-146 DECISION).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/producer_internal.h"
#include "codec/gen/tp_sbe_control.h"
#include "util/error.h"
#include "util/log.h"

/* ---- consumers ------------------------------------------------------------------------------ */

static tp_prod_consumer_t *consumer_find(tp_producer_t *p, uint32_t id, bool create,
                                         uint64_t now_ns)
{
    tp_prod_consumer_t *free_slot = NULL;
    for (uint32_t i = 0; i < TP_PRODUCER_CONSUMERS_MAX; i++) {
        tp_prod_consumer_t *c = &p->consumers[i];
        if (c->used && c->consumer_id == id)
            return c;
        if (!c->used && free_slot == NULL)
            free_slot = c;
    }
    if (!create)
        return NULL;
    if (free_slot == NULL) {
        tp_log_warn(TP_PROD_COMPONENT, "more than %u consumers: consumer %" PRIu32 " not tracked",
                    TP_PRODUCER_CONSUMERS_MAX, id);
        return NULL;
    }
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    free_slot->consumer_id = id;
    free_slot->hint_interval_us = TP_NULL_U32;
    free_slot->hint_bytes_delta = TP_NULL_U32;
    free_slot->hint_major_units = TP_NULL_U32;
    free_slot->last_seen_ns = now_ns;
    return free_slot;
}

static void consumer_drop(tp_producer_t *p, tp_prod_consumer_t *c)
{
    tp_publication_close(c->desc_pub);
    tp_publication_close(c->ctrl_pub);
    memset(c, 0, sizeof *c);
}

void tp_prod_close_consumers(tp_producer_t *p)
{
    for (uint32_t i = 0; i < TP_PRODUCER_CONSUMERS_MAX; i++)
        if (p->consumers[i].used)
            consumer_drop(p, &p->consumers[i]);
    /* Teardown (close_streams): the counters file goes too; a later sync would reopen it. */
    tp_prod_counters_close(p);
}

/* W-140 REF: effective = max(floor, min(default, hints)) over the consumers that support
 * progress; W-139: enabled only while one of them is known. The major-axis hint becomes bytes
 * with the progress stride of the frames (tp_prod_progress_step). */
void tp_prod_recompute_progress(tp_producer_t *p)
{
    const tp_producer_config_t *cfg = &p->cfg;
    uint64_t interval_us = cfg->progress_interval_us;
    uint64_t delta = cfg->progress_bytes_delta;
    uint32_t major = cfg->progress_major_delta_units;
    bool enabled = false;

    for (uint32_t i = 0; i < TP_PRODUCER_CONSUMERS_MAX; i++) {
        const tp_prod_consumer_t *c = &p->consumers[i];
        if (!c->used || !c->hello_seen || c->supports_progress != TP_SBE_CONTROL_BOOL_TRUE)
            continue;
        enabled = true;
        if (c->hint_interval_us != TP_NULL_U32 && c->hint_interval_us < interval_us)
            interval_us = c->hint_interval_us;
        if (c->hint_bytes_delta != TP_NULL_U32 && c->hint_bytes_delta < delta)
            delta = c->hint_bytes_delta;
        if (c->hint_major_units != TP_NULL_U32 && c->hint_major_units != 0 &&
            (major == 0 || c->hint_major_units < major))
            major = c->hint_major_units;
    }
    if (interval_us < cfg->progress_min_interval_us)
        interval_us = cfg->progress_min_interval_us;
    if (delta < cfg->progress_min_bytes_delta)
        delta = cfg->progress_min_bytes_delta;
    p->progress_enabled = enabled;
    p->progress_interval_ns = interval_us * 1000u;
    p->progress_bytes_delta = delta;
    p->progress_major_units = major;
    p->progress_min_gap_ns = cfg->progress_max_rate_hz ? 1000000000ull / cfg->progress_max_rate_hz : 0;
}

uint64_t tp_prod_progress_step(const tp_producer_t *p)
{
    uint64_t step = p->progress_bytes_delta;
    if (p->progress_major_units != 0 && p->progress_major_stride != 0) {
        uint64_t major = (uint64_t)p->progress_major_units * p->progress_major_stride;
        if (major < step)
            step = major;
    }
    return step < p->cfg.progress_min_bytes_delta ? p->cfg.progress_min_bytes_delta : step;
}

static void on_hello(tp_producer_t *p, const tp_sbe_control_consumer_hello_t *m, uint64_t now_ns)
{
    tp_prod_consumer_t *c;
    if (m->stream_id != p->stream_id)
        return;
    /* W-190 DECISION: undefined enum numbers → ignore the message */
    if ((m->mode != TP_SBE_CONTROL_MODE_STREAM && m->mode != TP_SBE_CONTROL_MODE_RATE_LIMITED) ||
        m->supports_shm > TP_SBE_CONTROL_BOOL_TRUE ||
        m->supports_progress > TP_SBE_CONTROL_BOOL_TRUE)
        return;
    c = consumer_find(p, m->consumer_id, true, now_ns);
    if (c == NULL)
        return;
    c->hello_seen = true;
    c->supports_progress = m->supports_progress;
    c->mode = m->mode;
    c->max_rate_hz = m->max_rate_hz;
    c->hint_interval_us = m->progress_interval_us;
    c->hint_bytes_delta = m->progress_bytes_delta;
    c->hint_major_units = m->progress_major_delta_units;
    c->last_seen_ns = now_ns;
    /* W-191 DECISION: in driver mode the producer never answers a hello itself */
    tp_prod_recompute_progress(p);
}

/* Open, move or close one per-consumer publication to match (channel, id). exclusive: this
 * producer alone writes it (the descriptor stream; tp_transport_add_exclusive_publication). */
static void apply_stream(tp_producer_t *p, tp_publication_t **pub, char *chan, uint32_t *sid,
                         const tp_sbe_data_t *want, uint32_t want_id, bool exclusive,
                         const char *what)
{
    bool assigned = want->length > 0 && want->length < TP_CHANNEL_URI_MAX && want_id != 0 &&
                    want_id != TP_NULL_U32;
    if (assigned && *pub != NULL && *sid == want_id && strlen(chan) == want->length &&
        memcmp(chan, want->data, want->length) == 0)
        return; /* unchanged */
    tp_publication_close(*pub);
    *pub = NULL;
    *sid = 0;
    chan[0] = '\0';
    if (!assigned)
        return;
    memcpy(chan, want->data, want->length);
    chan[want->length] = '\0';
    if ((exclusive ? tp_transport_add_exclusive_publication(p->transport, chan, want_id, pub)
                   : tp_transport_add_publication(p->transport, chan, want_id, pub)) != 0) {
        tp_log_warn(TP_PROD_COMPONENT, "per-consumer %s stream %s/%" PRIu32 ": %s", what, chan,
                    want_id, tp_errmsg());
        *pub = NULL;
        chan[0] = '\0';
        return;
    }
    *sid = want_id;
}

static void on_consumer_config(tp_producer_t *p, const tp_sbe_control_consumer_config_t *m,
                               uint64_t now_ns)
{
    tp_prod_consumer_t *c;
    bool wants = m->descriptor_channel.length > 0 || m->control_channel.length > 0;
    if (m->stream_id != p->stream_id)
        return;
    c = consumer_find(p, m->consumer_id, wants, now_ns);
    if (c == NULL)
        return;
    c->last_seen_ns = now_ns;
    apply_stream(p, &c->desc_pub, c->desc_channel, &c->desc_stream_id, &m->descriptor_channel,
                 m->descriptor_stream_id, true, "descriptor");
    apply_stream(p, &c->ctrl_pub, c->ctrl_channel, &c->ctrl_stream_id, &m->control_channel,
                 m->control_stream_id, false, "control");
    c->desc_sent_once = false;
}

static void on_qos_consumer(tp_producer_t *p, const tp_sbe_control_qos_consumer_t *m,
                            uint64_t now_ns)
{
    tp_prod_consumer_t *c;
    if (m->stream_id != p->stream_id)
        return;
    c = consumer_find(p, m->consumer_id, false, now_ns);
    if (c != NULL)
        c->last_seen_ns = now_ns; /* W-116: QoS is a sign of life too */
}

typedef struct poll_ctx {
    tp_producer_t *p;
    uint64_t now_ns;
    bool hellos;   /* this subscription is the producer's control stream */
    bool configs;  /* this subscription is the driver's control stream */
} poll_ctx_t;

static void on_message(void *clientd, const uint8_t *buf, size_t len)
{
    poll_ctx_t *x = clientd;
    tp_sbe_header_t h;
    if (tp_sbe_header_read(buf, len, &h) != 0 || h.schema_id != TP_SBE_CONTROL_SCHEMA_ID)
        return; /* W-4: other schemas (the driver's 901) are not ours */
    if (x->hellos && h.template_id == TP_SBE_CONTROL_CONSUMER_HELLO_TEMPLATE_ID) {
        tp_sbe_control_consumer_hello_t m;
        if (tp_sbe_control_consumer_hello_decode(buf, len, &m) >= 0)
            on_hello(x->p, &m, x->now_ns);
    } else if (x->configs && h.template_id == TP_SBE_CONTROL_CONSUMER_CONFIG_TEMPLATE_ID) {
        tp_sbe_control_consumer_config_t m;
        if (tp_sbe_control_consumer_config_decode(buf, len, &m) >= 0)
            on_consumer_config(x->p, &m, x->now_ns);
    } else if (!x->hellos && !x->configs &&
               h.template_id == TP_SBE_CONTROL_QOS_CONSUMER_TEMPLATE_ID) {
        tp_sbe_control_qos_consumer_t m;
        if (tp_sbe_control_qos_consumer_decode(buf, len, &m) >= 0)
            on_qos_consumer(x->p, &m, x->now_ns);
    }
}

static int poll_one(tp_subscription_t *s, poll_ctx_t *x)
{
    int n;
    if (s == NULL)
        return 0;
    n = tp_subscription_poll(s, on_message, x, 32);
    return n < 0 ? 1 : n; /* lapped (TP_ELAPPED): rejoined at the tail, keep going */
}

int tp_prod_poll_control(tp_producer_t *p, uint64_t now_ns)
{
    poll_ctx_t x = {p, now_ns, true, p->drv_sub == NULL};
    int w = poll_one(p->ctrl_sub, &x);
    x.configs = true; /* hellos sent to the driver count too (idempotent if seen twice) */
    w += poll_one(p->drv_sub, &x);
    x.hellos = false;
    x.configs = false;
    w += poll_one(p->qos_sub, &x);
    return w;
}

int tp_prod_expire_consumers(tp_producer_t *p, uint64_t now_ns)
{
    int n = 0;
    for (uint32_t i = 0; i < TP_PRODUCER_CONSUMERS_MAX; i++) {
        tp_prod_consumer_t *c = &p->consumers[i];
        if (c->used && now_ns > c->last_seen_ns && now_ns - c->last_seen_ns > p->cfg.consumer_timeout_ns) {
            tp_log_debug(TP_PROD_COMPONENT, "consumer %" PRIu32 " silent: forgotten", c->consumer_id);
            consumer_drop(p, c);
            n++;
        }
    }
    if (n > 0)
        tp_prod_recompute_progress(p);
    return n;
}

void tp_prod_send_consumer_descriptors(tp_producer_t *p, const uint8_t *msg, size_t len,
                                       uint64_t now_ns)
{
    for (uint32_t i = 0; i < TP_PRODUCER_CONSUMERS_MAX; i++) {
        tp_prod_consumer_t *c = &p->consumers[i];
        if (!c->used || c->desc_pub == NULL)
            continue;
        /* W-117: cap this consumer's stream at its hello's max_rate_hz (0 = unthrottled) */
        if (c->max_rate_hz != 0 && c->desc_sent_once &&
            now_ns - c->last_desc_ns < 1000000000ull / c->max_rate_hz)
            continue;
        if (tp_publication_offer(c->desc_pub, msg, len) >= 0) {
            c->last_desc_ns = now_ns;
            c->desc_sent_once = true;
        }
    }
}

/* ---- FrameProgress -------------------------------------------------------------------------- */

void tp_prod_send_progress(tp_producer_t *p, uint64_t epoch, uint64_t seq, uint64_t bytes,
                           uint8_t state)
{
    tp_sbe_control_frame_progress_t m;
    uint8_t buf[TP_SBE_HEADER_LENGTH + TP_SBE_CONTROL_FRAME_PROGRESS_BLOCK_LENGTH + 8];
    int64_t len;

    m.stream_id = p->stream_id;
    m.epoch = epoch;
    m.seq = seq;
    m.payload_bytes_filled = bytes;
    m.state = state;
    len = tp_sbe_control_frame_progress_encode(buf, sizeof buf, &m);
    if (len < 0)
        return;
    if (tp_publication_offer(p->ctrl_pub, buf, (size_t)len) >= 0)
        p->stats.progress_sent++;
    /* W-137/W-193 REF: again on every per-consumer control stream */
    for (uint32_t i = 0; i < TP_PRODUCER_CONSUMERS_MAX; i++) {
        tp_prod_consumer_t *c = &p->consumers[i];
        if (c->used && c->ctrl_pub != NULL && tp_publication_offer(c->ctrl_pub, buf, (size_t)len) >= 0)
            p->stats.progress_sent++;
    }
}

/* ---- QosProducer (W-146 DECISION) ------------------------------------------------------------ */

int tp_prod_send_qos(tp_producer_t *p)
{
    tp_sbe_control_qos_producer_t m;
    uint8_t buf[TP_SBE_HEADER_LENGTH + TP_SBE_CONTROL_QOS_PRODUCER_BLOCK_LENGTH + 8];
    int64_t len;

    tp_prod_counters_sync(p); /* the counters file follows the QoS cadence (client_counters.c) */
    if (p->cur == NULL)
        return 0;
    m.stream_id = p->stream_id;
    m.producer_id = p->producer_id;
    m.epoch = p->cur->epoch;
    m.current_seq = p->next_seq; /* the seq the next frame gets */
    m.watermark = TP_SBE_CONTROL_QOS_PRODUCER_WATERMARK_NULL_VALUE;
    len = tp_sbe_control_qos_producer_encode(buf, sizeof buf, &m);
    if (len >= 0 && tp_publication_offer(p->qos_pub, buf, (size_t)len) >= 0) {
        p->stats.qos_sent++;
        return 1;
    }
    return 0;
}

/* ---- metadata (W-141..W-143) ---------------------------------------------------------------- */

int tp_prod_meta_init(tp_producer_t *p)
{
    p->staged = calloc(1, sizeof *p->staged);
    p->committed = calloc(1, sizeof *p->committed);
    p->meta_buf_cap = TP_SBE_HEADER_LENGTH + 16 + TP_SBE_GROUP_HEADER_LENGTH +
                      TP_META_ATTRS_MAX * (3 * TP_SBE_DATA_HEADER_LENGTH + TP_META_KEY_MAX +
                                           TP_META_FORMAT_MAX + TP_META_VALUE_MAX) +
                      2 * TP_SOURCE_TEXT_MAX + 64;
    p->meta_buf = malloc(p->meta_buf_cap);
    if (p->staged == NULL || p->committed == NULL || p->meta_buf == NULL)
        return -1;
    snprintf(p->staged->name, sizeof p->staged->name, "%s", p->cfg.source_name);
    snprintf(p->staged->summary, sizeof p->staged->summary, "%s", p->cfg.source_summary);
    *p->committed = *p->staged;
    return 0;
}

void tp_prod_meta_free(tp_producer_t *p)
{
    free(p->staged);
    free(p->committed);
    free(p->meta_buf);
    p->staged = p->committed = NULL;
    p->meta_buf = NULL;
}

static bool ascii_ok(const char *s, size_t max, bool allow_empty)
{
    size_t n = 0;
    if (s == NULL)
        return false;
    for (; s[n] != '\0'; n++)
        if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7E || n + 1 >= max)
            return false;
    return allow_empty || n > 0;
}

int tp_prod_send_source_announce(tp_producer_t *p, uint64_t now_ns)
{
    tp_sbe_control_data_source_announce_t m;
    int64_t len;
    (void)now_ns;
    if (p->cur == NULL)
        return 0;
    m.stream_id = p->stream_id;
    m.producer_id = p->producer_id;
    m.epoch = p->cur->epoch;
    m.meta_version = p->meta_version;
    m.name = tp_sbe_str(p->committed->name);
    m.summary = tp_sbe_str(p->committed->summary);
    len = tp_sbe_control_data_source_announce_encode(p->meta_buf, p->meta_buf_cap, &m);
    if (len >= 0 && tp_publication_offer(p->meta_pub, p->meta_buf, (size_t)len) >= 0) {
        p->stats.meta_sent++;
        return 1;
    }
    return 0;
}

/* DataSourceMeta with the committed attributes. 1 sent (or nobody listening), 0 back-pressured
 * (stays pending, do_work retries), -1 never sendable (larger than the stream's message limit
 * or the publication closed: logged, not retried). */
int tp_prod_send_meta(tp_producer_t *p, uint64_t now_ns)
{
    tp_sbe_control_data_source_meta_attributes_t e[TP_META_ATTRS_MAX];
    tp_sbe_control_data_source_meta_t m;
    const tp_prod_meta_set_t *s = p->committed;
    int64_t len, rc;

    for (uint32_t i = 0; i < s->count; i++) {
        e[i].key = tp_sbe_str(s->attrs[i].key);
        e[i].format = tp_sbe_str(s->attrs[i].format);
        e[i].value = tp_sbe_bytes(s->attrs[i].value, s->attrs[i].value_len);
    }
    m.stream_id = p->stream_id;
    m.meta_version = p->meta_version;
    m.timestamp_ns = now_ns;
    m.attributes = tp_sbe_entries(e, (uint16_t)s->count);
    len = tp_sbe_control_data_source_meta_encode(p->meta_buf, p->meta_buf_cap, &m);
    if (len < 0)
        return 0;
    rc = tp_publication_offer(p->meta_pub, p->meta_buf, (size_t)len);
    if (rc == TP_PUB_BACK_PRESSURED || rc == TP_PUB_ADMIN_ACTION) {
        p->meta_pending = true;
        return 0;
    }
    p->meta_pending = false;
    p->next_meta_ns = now_ns + p->cfg.meta_interval_ns;
    if (rc == TP_PUB_MAX_SIZE_EXCEEDED || rc == TP_PUB_CLOSED) {
        tp_log_warn(TP_PROD_COMPONENT, "DataSourceMeta of %" PRId64 " bytes not sent: %s", len,
                    rc == TP_PUB_CLOSED ? "publication closed"
                                        : "larger than the metadata stream's message limit");
        return -1;
    }
    if (rc >= 0)
        p->stats.meta_sent++;
    return 1;
}

int tp_producer_set_source(tp_producer_t *p, const char *name, const char *summary)
{
    if (p == NULL || name == NULL || summary == NULL)
        return tp_err_set(TP_EINVAL, "tp_producer_set_source: NULL argument");
    if (strlen(name) >= TP_SOURCE_TEXT_MAX || strlen(summary) >= TP_SOURCE_TEXT_MAX)
        return tp_err_set(TP_ETOOBIG, "tp_producer_set_source: text longer than %u bytes",
                          TP_SOURCE_TEXT_MAX - 1);
    if (!ascii_ok(name, TP_SOURCE_TEXT_MAX, true) || !ascii_ok(summary, TP_SOURCE_TEXT_MAX, true))
        return tp_err_set(TP_EINVAL, "tp_producer_set_source: not printable ASCII");
    if (strcmp(p->staged->name, name) != 0 || strcmp(p->staged->summary, summary) != 0) {
        snprintf(p->staged->name, sizeof p->staged->name, "%s", name);
        snprintf(p->staged->summary, sizeof p->staged->summary, "%s", summary);
        p->meta_dirty = true;
    }
    return 0;
}

static int attr_index(const tp_prod_meta_set_t *s, const char *key)
{
    for (uint32_t i = 0; i < s->count; i++)
        if (strcmp(s->attrs[i].key, key) == 0)
            return (int)i;
    return -1;
}

int tp_producer_meta_set(tp_producer_t *p, const char *key, const char *format,
                         const void *value, uint32_t value_len)
{
    tp_prod_meta_set_t *s;
    tp_prod_attr_t *a;
    int i;

    if (p == NULL || key == NULL || format == NULL || (value == NULL && value_len > 0))
        return tp_err_set(TP_EINVAL, "tp_producer_meta_set: NULL argument");
    if (strlen(key) >= TP_META_KEY_MAX || strlen(format) >= TP_META_FORMAT_MAX ||
        value_len > TP_META_VALUE_MAX)
        return tp_err_set(TP_ETOOBIG, "tp_producer_meta_set: key, format or value too long");
    if (!ascii_ok(key, TP_META_KEY_MAX, false) || !ascii_ok(format, TP_META_FORMAT_MAX, true))
        return tp_err_set(TP_EINVAL, "tp_producer_meta_set: key/format not printable ASCII");
    s = p->staged;
    i = attr_index(s, key);
    if (i < 0) {
        if (s->count >= TP_META_ATTRS_MAX)
            return tp_err_set(TP_ETOOBIG, "tp_producer_meta_set: more than %u attributes",
                              TP_META_ATTRS_MAX);
        i = (int)s->count++;
    }
    a = &s->attrs[i];
    snprintf(a->key, sizeof a->key, "%s", key);
    snprintf(a->format, sizeof a->format, "%s", format);
    if (value_len > 0)
        memcpy(a->value, value, value_len);
    a->value_len = value_len;
    p->meta_dirty = true;
    return 0;
}

int tp_producer_meta_delete(tp_producer_t *p, const char *key)
{
    tp_prod_meta_set_t *s;
    int i;
    if (p == NULL || key == NULL)
        return tp_err_set(TP_EINVAL, "tp_producer_meta_delete: NULL argument");
    s = p->staged;
    i = attr_index(s, key);
    if (i < 0)
        return tp_err_set(TP_EINVAL, "tp_producer_meta_delete: no attribute \"%s\"", key);
    if ((uint32_t)i + 1 < s->count)
        s->attrs[i] = s->attrs[s->count - 1];
    s->count--;
    p->meta_dirty = true;
    return 0;
}

int tp_producer_meta_commit(tp_producer_t *p)
{
    uint64_t now;
    if (p == NULL)
        return tp_err_set(TP_EINVAL, "tp_producer_meta_commit: NULL argument");
    if (!p->meta_dirty)
        return 0;
    *p->committed = *p->staged;
    p->meta_dirty = false;
    p->meta_version++; /* W-143: attributes change only with a bump */
    p->meta_committed_once = true;
    p->meta_pending = true;
    if (p->state != TP_PRODUCER_ACTIVE)
        return 0; /* sent after the reattach */
    now = tp_client_now_ns(p->client);
    tp_prod_send_source_announce(p, now);
    switch (tp_prod_send_meta(p, now)) {
    case 0:
        return tp_err_set(TP_EIO, "tp_producer_meta_commit: metadata stream back-pressured; "
                          "retried by tp_producer_do_work");
    case -1:
        return tp_err_set(TP_EIO, "tp_producer_meta_commit: DataSourceMeta cannot be sent "
                          "(message limit of the metadata stream, or closed); version %" PRIu32
                          " stays committed and is repeated if it ever fits", p->meta_version);
    default:
        return 0;
    }
}

uint32_t tp_producer_meta_version(const tp_producer_t *p)
{
    return p == NULL ? 0 : p->meta_version;
}

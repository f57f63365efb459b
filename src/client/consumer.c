/*
 * tp_consumer_t: configuration, lifecycle and the descriptor hot path (WIRE §8,
 * §16, §20-§21; DRIVER D-78). Mappings: consumer_map.c; the duty cycle: consumer_ctrl.c.
 *
 * Hot path (tp_consumer_poll): one subscription poll; per descriptor a bounds-checked decode
 * of the 48-byte message, W-75 steps 1-3, tp_ring_read (steps 4-6, 8-11, 13), step 7 and
 * step 12, then the frame handler. No allocation, lock, system call or thread error there: a
 * seq regression (W-150) only marks the mapping for unmapping, which do_work carries out.
 */
#include "client/consumer_internal.h"

#include <errno.h>
#include <stddef.h>
#include <strings.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/gen/tp_sbe_control.h"
#include "tensorpool/error.h"
#include "util/clock.h"
#include "util/endian.h"
#include "util/error.h"
#include "util/env.h"

#define env_u32(name, v) tp_env_u32(TP_CONS_COMPONENT, name, v)
#define env_u64(name, v) tp_env_u64(TP_CONS_COMPONENT, name, v, UINT64_MAX)
#define env_bool(name, v) tp_env_bool(TP_CONS_COMPONENT, name, v)
#define env_str(name, dst, cap) tp_env_str(TP_CONS_COMPONENT, name, dst, cap)
#include "util/log.h"

_Static_assert(TP_POOLS_MAX == TP_POOLS_PER_STREAM_MAX, "pool limits agree");
_Static_assert(TP_DROP_COUNT <= TP_DROP_REASONS_MAX, "drop reason array");
_Static_assert(TP_ALLOWED_DIRS_MAX == TP_CONTEXT_ALLOWED_DIRS_MAX, "allowed dir limits agree");

#define POLL_BATCH 256 /* limit 0: one batch */

/* ---- configuration (defaults per WIRE W-180/W-181, environment per D-89) -------------------- */

void tp_consumer_config_init(tp_consumer_config_t *cfg)
{
    const char *mode;
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = TP_MODE_STREAM;
    cfg->max_outstanding_seq_gap = 256; /* W-149 DECISION */
    cfg->expected_layout_version = 1;
    cfg->announce_freshness_ns = 3000000000ull;
    cfg->hello_interval_ns = 1000000000ull;
    cfg->qos_interval_ns = 1000000000ull;
    cfg->use_shm = 1;
    cfg->progress_interval_us = TP_NULL_U32;
    cfg->progress_bytes_delta = TP_NULL_U32;
    cfg->progress_major_delta_units = TP_NULL_U32;
    snprintf(cfg->announce_channel, sizeof cfg->announce_channel, "aeron:ipc");
    cfg->announce_stream_id = 1001;
    snprintf(cfg->control_channel, sizeof cfg->control_channel, "aeron:ipc");
    cfg->control_stream_id = 1000;
    snprintf(cfg->descriptor_channel, sizeof cfg->descriptor_channel, "aeron:ipc");
    cfg->descriptor_stream_id = 1100;
    snprintf(cfg->qos_channel, sizeof cfg->qos_channel, "aeron:ipc");
    cfg->qos_stream_id = 1200;
    snprintf(cfg->metadata_channel, sizeof cfg->metadata_channel, "aeron:ipc");
    cfg->metadata_stream_id = 1300;
    cfg->reattach_backoff_initial_ns = 100000000ull;
    cfg->reattach_backoff_max_ns = 5000000000ull;

    env_u32("CONSUMER_CONSUMER_ID", &cfg->consumer_id);
    mode = getenv("CONSUMER_MODE");
    if (mode != NULL && *mode != '\0') {
        if (!strcasecmp(mode, "STREAM"))
            cfg->mode = TP_MODE_STREAM;
        else if (!strcasecmp(mode, "RATE_LIMITED"))
            cfg->mode = TP_MODE_RATE_LIMITED;
        else
            tp_log_warn(TP_CONS_COMPONENT, "ignoring CONSUMER_MODE=%s", mode);
    }
    env_u32("CONSUMER_MAX_RATE_HZ", &cfg->max_rate_hz);
    env_u32("CONSUMER_MAX_OUTSTANDING_SEQ_GAP", &cfg->max_outstanding_seq_gap);
    env_u32("CONSUMER_EXPECTED_LAYOUT_VERSION", &cfg->expected_layout_version);
    env_u64("CONSUMER_ANNOUNCE_FRESHNESS_NS", &cfg->announce_freshness_ns);
    env_u64("CONSUMER_ANNOUNCE_WAIT_TIMEOUT_NS", &cfg->announce_wait_timeout_ns);
    env_u64("CONSUMER_HELLO_INTERVAL_NS", &cfg->hello_interval_ns);
    env_u64("CONSUMER_QOS_INTERVAL_NS", &cfg->qos_interval_ns);
    env_bool("CONSUMER_USE_SHM", &cfg->use_shm);
    env_bool("CONSUMER_SUPPORTS_PROGRESS", &cfg->supports_progress);
    env_u32("CONSUMER_PROGRESS_INTERVAL_US", &cfg->progress_interval_us);
    env_u32("CONSUMER_PROGRESS_BYTES_DELTA", &cfg->progress_bytes_delta);
    env_u32("CONSUMER_PROGRESS_MAJOR_DELTA_UNITS", &cfg->progress_major_delta_units);
    env_str("CONSUMER_ANNOUNCE_CHANNEL", cfg->announce_channel, sizeof cfg->announce_channel);
    env_u32("CONSUMER_ANNOUNCE_STREAM_ID", &cfg->announce_stream_id);
    env_str("CONSUMER_CONTROL_CHANNEL", cfg->control_channel, sizeof cfg->control_channel);
    env_u32("CONSUMER_CONTROL_STREAM_ID", &cfg->control_stream_id);
    env_str("CONSUMER_DESCRIPTOR_CHANNEL", cfg->descriptor_channel, sizeof cfg->descriptor_channel);
    env_u32("CONSUMER_DESCRIPTOR_STREAM_ID", &cfg->descriptor_stream_id);
    env_str("CONSUMER_QOS_CHANNEL", cfg->qos_channel, sizeof cfg->qos_channel);
    env_u32("CONSUMER_QOS_STREAM_ID", &cfg->qos_stream_id);
    env_str("CONSUMER_METADATA_CHANNEL", cfg->metadata_channel, sizeof cfg->metadata_channel);
    env_u32("CONSUMER_METADATA_STREAM_ID", &cfg->metadata_stream_id);
    env_str("CONSUMER_REQUEST_DESCRIPTOR_CHANNEL", cfg->request_descriptor_channel,
            sizeof cfg->request_descriptor_channel);
    env_u32("CONSUMER_REQUEST_DESCRIPTOR_STREAM_ID", &cfg->request_descriptor_stream_id);
    env_str("CONSUMER_REQUEST_CONTROL_CHANNEL", cfg->request_control_channel,
            sizeof cfg->request_control_channel);
    env_u32("CONSUMER_REQUEST_CONTROL_STREAM_ID", &cfg->request_control_stream_id);
    env_u64("CONSUMER_REATTACH_BACKOFF_NS", &cfg->reattach_backoff_initial_ns);
    env_u64("CONSUMER_REATTACH_BACKOFF_MAX_NS", &cfg->reattach_backoff_max_ns);
}

static int check_config(const tp_consumer_config_t *cfg)
{
    bool dch = cfg->request_descriptor_channel[0] != '\0';
    bool cch = cfg->request_control_channel[0] != '\0';
    if (cfg->mode != TP_MODE_STREAM && cfg->mode != TP_MODE_RATE_LIMITED)
        return tp_err_set(TP_ECONFIG, "consumer mode %d is neither STREAM nor RATE_LIMITED",
                          (int)cfg->mode);
    /* W-104: a request is both halves or neither; a consumer never sends half of one. */
    if (dch != (cfg->request_descriptor_stream_id != 0) ||
        cfg->request_descriptor_stream_id == TP_NULL_U32)
        return tp_err_set(TP_ECONFIG, "per-consumer descriptor request needs both a channel "
                                      "and a non-zero stream id (W-104)");
    if (cch != (cfg->request_control_stream_id != 0) ||
        cfg->request_control_stream_id == TP_NULL_U32)
        return tp_err_set(TP_ECONFIG, "per-consumer control request needs both a channel "
                                      "and a non-zero stream id (W-104)");
    if (cfg->announce_freshness_ns == 0)
        return tp_err_set(TP_ECONFIG, "announce_freshness_ns must be > 0");
    if (cfg->max_rate_hz > 1000000000u)
        return tp_err_set(TP_ECONFIG, "max_rate_hz %" PRIu32 " above 1 GHz", cfg->max_rate_hz);
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static int check_attach(const tp_attach_t *att, tp_driver_client_t *dc)
{
    const tp_attach_t *held;
    if (att->code != TP_RESPONSE_OK)
        return tp_err_set(TP_EINVAL, "attach response is %s, not OK",
                          tp_response_code_name(att->code));
    if (tp_dc_role(dc) != TP_ROLE_CONSUMER || att->role != TP_ROLE_CONSUMER)
        return tp_err_set(TP_EINVAL, "not a consumer attach");
    held = tp_dc_attach(dc);
    if (held == NULL || held->lease_id != att->lease_id || held->stream_id != att->stream_id ||
        tp_driver_client_state(dc) != TP_LEASE_ATTACHED)
        return tp_err_set(TP_EINVAL, "attach response is not the driver client's live lease");
    if (tp_attach_validate(att) != 0)
        return tp_err_push("attach response");
    return 0;
}

static uint32_t random_id(void)
{
    uint32_t v = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f != NULL) {
        if (fread(&v, sizeof v, 1, f) != 1)
            v = 0;
        fclose(f);
    }
    if (v == 0 || v == TP_NULL_U32)
        v = (uint32_t)(tp_clock_monotonic_ns() ^ (uint64_t)getpid() << 16) | 1u;
    return v;
}

static int copy_allowed(tp_consumer_t *c)
{
    uint32_t n = tp_context_allowed_dir_count(c->ctx);
    tp_allowed_dirs_init(&c->allowed);
    for (uint32_t i = 0; i < n && i < TP_ALLOWED_DIRS_MAX; i++) {
        const char *d = tp_context_allowed_dir(c->ctx, i);
        if (d == NULL || strlen(d) >= TP_REGION_PATH_MAX)
            return tp_err_set(TP_EPATH, "allowed directory %" PRIu32 " unusable", i);
        memcpy(c->allowed.canon[c->allowed.count++], d, strlen(d) + 1); /* canonical already */
    }
    return 0;
}

static void close_handle(void *handle)
{
    tp_consumer_close(handle);
}

int tp_consumer_init_from_attach(tp_consumer_t **out, const tp_consumer_config_t *cfg,
                                 const tp_attach_t *att, tp_driver_client_t *dc)
{
    tp_consumer_t *c;
    uint64_t now;
    if (out == NULL || cfg == NULL || att == NULL || dc == NULL)
        return tp_err_set(TP_EINVAL, "tp_consumer_init_from_attach: NULL argument");
    *out = NULL;
    if (check_config(cfg) != 0)
        return tp_err_push("consumer config");
    if (check_attach(att, dc) != 0) {
        if (tp_errcode() != TP_EINVAL)
            tp_driver_client_abandon(dc); /* D-41/D-95: a protocol-invalid lease is given up */
        return -1;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return tp_err_set(TP_ENOMEM, "consumer");
    if (tp_dc_set_owner(dc, c) != 0) { /* TP_ESTATE: someone else handles its events */
        free(c);
        return tp_err_push("driver client");
    }
    c->dc = dc;
    c->client = tp_dc_client(dc);
    c->ctx = tp_client_context(c->client);
    c->transport = tp_client_transport(c->client);
    c->cfg = *cfg;
    c->stream_id = att->stream_id;
    c->consumer_id_auto = cfg->consumer_id == 0;
    c->consumer_id = cfg->consumer_id != 0 ? cfg->consumer_id : tp_dc_client_id(dc);
    if (c->consumer_id == 0)
        c->consumer_id = random_id();
    c->mode = (uint32_t)cfg->mode;
    c->attach_id = -1;
    c->st.last_seq_seen = TP_NULL_U64;
    now = tp_client_now_ns(c->client);
    c->join_time_ns = now; /* W-91 */
    c->last_announce_ns = now;
    if (copy_allowed(c) != 0 || tp_cons_spec_from_attach(&c->spec, att) != 0 ||
        tp_cons_map_spec(c, &c->spec, false /* DECISION 1 */, now) != 0) {
        tp_err_push("consumer of stream %" PRIu32, att->stream_id);
        goto fail_abandon;
    }
    if (tp_cons_open_streams(c) != 0 ||
        tp_client_add_handle(c->client, c, close_handle) != 0) /* never outlives its client */
        goto fail_abandon;
    tp_cons_send_hello(c, now);
    c->next_qos_ns = now + c->cfg.qos_interval_ns;
    *out = c;
    return 0;

fail_abandon:
    tp_cons_close_streams(c);
    tp_cons_unmap(c, TP_MAPPING_UNMAPPED);
    tp_driver_client_abandon(dc); /* D-41/D-95 DECISION */
    tp_dc_set_owner(dc, NULL);
    free(c->last_commit);
    free(c);
    return -1;
}

void tp_consumer_close(tp_consumer_t *c)
{
    if (c == NULL)
        return;
    tp_client_remove_handle(c->client, c);
    tp_cons_send_qos(c, tp_client_now_ns(c->client)); /* final QosConsumer */
    tp_cons_close_streams(c);
    tp_cons_unmap(c, TP_MAPPING_UNMAPPED);
    /* dc keeps whatever it holds: the lease, or a reattach still in flight (its result is then
     * visible through tp_driver_client_state). */
    tp_dc_set_owner(c->dc, NULL);
    free(c->last_commit);
    free(c);
}

/* ---- the descriptor hot path -------------------------------------------------------------- */

/* W-75 steps 3 and 7: true = skip. A skip advances sequence tracking (DECISION). */
static inline bool rate_gate_skips(tp_consumer_t *c, uint64_t ts, uint64_t seq)
{
    uint64_t period = 1000000000ull / c->cfg.max_rate_hz;
    if (ts - c->last_rate_ns < period) {
        c->st.last_seq_seen = seq;
        c->tracking = true;
        c->st.rate_limited_skips++;
        return true;
    }
    c->last_rate_ns = ts;
    return false;
}

static inline bool gate_active(const tp_consumer_t *c)
{
    return c->mode == TP_MODE_RATE_LIMITED && c->cfg.max_rate_hz != 0;
}

/* W-75 step 12. Returns true when the frame is to be delivered. */
static inline bool track_sequence(tp_consumer_t *c, uint64_t seq)
{
    if (c->tracking) {
        uint64_t last = c->st.last_seq_seen;
        if (seq < last) { /* W-150: regression in one epoch → unmap and wait for an announce */
            c->st.seq_regressions++;
            c->state = TP_MAPPING_UNMAPPED;
            c->unmap_pending = true;
            return false;
        }
        if (seq > last + 1) {
            uint64_t gap = seq - last - 1;
            c->st.drops_gap += gap;
            if (c->cfg.max_outstanding_seq_gap > 0 && gap > c->cfg.max_outstanding_seq_gap) {
                c->st.gap_resyncs++; /* W-149: reset, drop the frame that revealed it */
                c->st.last_seq_seen = seq;
                c->tracking = false;
                return false;
            }
        }
    }
    c->st.last_seq_seen = seq;
    c->tracking = true;
    return true;
}

static inline void fill_frame(const tp_consumer_t *c, const tp_frame_view_t *v, uint64_t pub_ts,
                              uint64_t trace_id, tp_frame_t *f)
{
    uint8_t n = v->tensor.ndims;
    f->seq = v->seq;
    f->epoch = c->map.epoch;
    f->stream_id = c->stream_id;
    f->meta_version = v->meta_version;
    f->timestamp_ns = v->timestamp_ns;
    f->publish_timestamp_ns = pub_ts;
    f->trace_id = trace_id;
    f->dtype = v->tensor.dtype;
    f->major_order = v->tensor.major_order;
    f->ndims = n;
    f->progress_unit = v->tensor.progress_unit;
    f->pool_id = v->pool_id;
    f->progress_stride_bytes = v->tensor.progress_stride_bytes;
    f->header_index = v->header_index;
    for (uint32_t i = 0; i < TP_MAX_DIMS; i++) {
        f->dims[i] = i < n ? v->tensor.dims[i] : 0;
        f->strides[i] = i < n ? v->strides[i] : 0;
    }
    f->data = v->data;
    f->len = v->len;
    f->priv_pad_ = 0;
    f->priv_slot_ = v->slot;
    f->priv_commit_word_ = v->commit_word;
}

/* FrameDescriptor fields, decoded with explicit bounds checks (no thread error on this path:
 * a malformed message is ignored, W-81 DECISION). 0 = not a descriptor of ours. */
static inline int decode_descriptor(const uint8_t *msg, size_t len,
                                    tp_sbe_control_frame_descriptor_t *d)
{
    uint16_t bl;
    const uint8_t *p;
    if (len < TP_SBE_HEADER_LENGTH)
        return 0;
    bl = tp_get_u16(msg);
    if (tp_get_u16(msg + 2) != TP_SBE_CONTROL_FRAME_DESCRIPTOR_TEMPLATE_ID ||
        tp_get_u16(msg + 4) != TP_SBE_CONTROL_SCHEMA_ID ||
        tp_get_u16(msg + 6) > TP_SBE_CONTROL_SCHEMA_VERSION ||
        bl < TP_SBE_CONTROL_FRAME_DESCRIPTOR_BLOCK_LENGTH || len - TP_SBE_HEADER_LENGTH < bl)
        return 0;
    p = msg + TP_SBE_HEADER_LENGTH;
    d->stream_id = tp_get_u32(p + 0);
    d->epoch = tp_get_u64(p + 4);
    d->seq = tp_get_u64(p + 12);
    d->timestamp_ns = tp_get_u64(p + 20);
    d->meta_version = tp_get_u32(p + 28);
    d->trace_id = tp_get_u64(p + 32);
    return 1;
}

/* Catch-up (DECISION, not in the reference). v1.2 has no back-pressure from consumers: a
 * consumer slower than its producer falls behind until every frame it starts reading is
 * overwritten under it, and it would accept almost nothing (reading 640 KiB that turns out
 * torn, frame after frame). Once a read has been lapped, the consumer enters catch-up for
 * nslots frames: before delivering frame seq of CATCHUP_MIN_BYTES or more it peeks at the
 * slot of seq + nslots - guard (guard = nslots / 4): if the producer has already begun that
 * frame, it laps seq within guard frames, so seq is skipped with its payload unread
 * (TP_DROP_BEHIND, a drops_late). The skips run through the stale backlog at the cost of one
 * header load each, and the consumer resumes guard frames behind the producer's head with
 * time to read. Small frames are read faster than a slot header can be peeked: they are left
 * to the ordinary checks. A consumer that keeps up never enters catch-up and pays nothing. */
#define CATCHUP_MIN_SLOTS 8u
#define CATCHUP_MIN_BYTES 4096u

static inline bool about_to_be_lapped(const tp_consumer_t *c, uint64_t seq)
{
    uint32_t nslots = c->map.ring.nslots;
    uint64_t ahead = seq + nslots - nslots / 4;
    uint64_t w = tp_slot_seq_commit_load(tp_ring_slot(&c->map.ring, ahead));
    return (w >> 1) >= ahead;
}

static inline void note_lapped(tp_consumer_t *c)
{
    if (c->map.ring.nslots >= CATCHUP_MIN_SLOTS)
        c->catchup = c->map.ring.nslots;
}

static void on_descriptor(void *clientd, const uint8_t *msg, size_t len)
{
    tp_consumer_t *c = clientd;
    tp_sbe_control_frame_descriptor_t d;
    tp_frame_view_t v;
    tp_drop_reason_t rc;
    uint64_t saved_commit = 0;
    uint32_t index;
    bool gate_late;
    tp_frame_t f;

    if (!decode_descriptor(msg, len, &d) || d.stream_id != c->stream_id)
        return;
    if (c->state != TP_MAPPING_MAPPED || !c->map.mapped || !c->lease_ok)
        return; /* step 1 (W-92, D-59): not counted */
    if (d.epoch != c->map.epoch) { /* step 2 (W-120) */
        c->st.epoch_mismatches++;
        return;
    }
    gate_late = false;
    if (gate_active(c)) {
        if (d.timestamp_ns != TP_NULL_U64) {
            if (rate_gate_skips(c, d.timestamp_ns, d.seq)) /* step 3 */
                return;
        } else {
            gate_late = true;
        }
    }
    index = tp_ring_index(&c->map.ring, d.seq);
    if (gate_late)
        saved_commit = c->last_commit[index];
    rc = tp_ring_read(&c->reader, d.seq, &v); /* steps 4-6, 8-11, 13 */
    if (rc != TP_DROP_NONE) {
        c->st.drops_late++;
        c->st.drops_by_reason[rc]++;
        if (rc == TP_DROP_NOT_COMMITTED || rc == TP_DROP_COMMIT_CHANGED ||
            rc == TP_DROP_SEQ_MISMATCH)
            note_lapped(c); /* overwritten before we got to it */
        return;
    }
    if (c->catchup != 0 && v.len >= CATCHUP_MIN_BYTES && about_to_be_lapped(c, d.seq)) {
        c->st.drops_late++;
        c->st.drops_by_reason[TP_DROP_BEHIND]++;
        return;
    }
    if (gate_late) { /* step 7: SlotHeader time, else the local clock */
        uint64_t ts = v.timestamp_ns != TP_NULL_U64 ? v.timestamp_ns
                                                    : tp_context_now_ns(c->ctx);
        if (rate_gate_skips(c, ts, d.seq)) {
            c->last_commit[index] = saved_commit; /* the reference never reached step 13 */
            return;
        }
    }
    if (!track_sequence(c, d.seq)) /* step 12 */
        return;
    fill_frame(c, &v, d.timestamp_ns, d.trace_id, &f);
    c->st.frames++;
    c->delivered++;
    c->on_frame(c->on_frame_clientd, &f);
    /* The slot line is in our cache from the read: this costs nothing unless it was lapped. */
    if (!tp_ring_frame_intact(&v)) {
        c->st.lapped_reads++;
        note_lapped(c);
    } else if (c->catchup != 0) {
        c->catchup--;
    }
}

int tp_consumer_poll(tp_consumer_t *c, tp_frame_handler_t on_frame, void *clientd, int limit)
{
    tp_subscription_t *s;
    int n;
    if (c == NULL || on_frame == NULL)
        return tp_err_set(TP_EINVAL, "tp_consumer_poll: NULL argument");
    s = c->desc_pc != NULL ? c->desc_pc : c->desc_shared;
    if (s == NULL)
        return tp_err_set(TP_ECLOSED, "no descriptor subscription");
    c->on_frame = on_frame;
    c->on_frame_clientd = clientd;
    /* D-59: a revocation or shutdown recorded by the driver client stops delivery at once,
     * before the next do_work takes the event and unmaps. */
    c->lease_ok = tp_driver_client_state(c->dc) == TP_LEASE_ATTACHED;
    c->delivered = 0;
    n = tp_subscription_poll(s, on_descriptor, c, limit > 0 ? limit : POLL_BATCH);
    if (n < 0 && tp_errcode() != TP_ELAPPED)
        return -1;
    /* TP_ELAPPED: rejoined at the tail; the loss shows up as a gap (drops_gap) */
    return c->delivered;
}

/* ---- state -------------------------------------------------------------------------------- */

tp_mapping_state_t tp_consumer_mapping_state(const tp_consumer_t *c)
{
    return c != NULL ? c->state : TP_MAPPING_UNMAPPED;
}

uint64_t tp_consumer_epoch(const tp_consumer_t *c)
{
    return c != NULL && c->map.mapped && c->state == TP_MAPPING_MAPPED ? c->map.epoch : 0;
}

uint32_t tp_consumer_id(const tp_consumer_t *c)
{
    return c != NULL ? c->consumer_id : 0;
}

const char *tp_consumer_fallback_uri(const tp_consumer_t *c)
{
    return c != NULL ? c->fallback_uri : "";
}

void tp_consumer_get_stats(const tp_consumer_t *c, tp_consumer_stats_t *out)
{
    if (out == NULL)
        return;
    if (c == NULL) {
        memset(out, 0, sizeof *out);
        out->last_seq_seen = TP_NULL_U64;
        return;
    }
    *out = c->st;
    out->epoch = tp_consumer_epoch(c);
    out->mapping_state = (uint32_t)c->state;
    out->mode = c->mode;
}

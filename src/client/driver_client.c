/*
 * tp_driver_client_t: one lease with a tensorpool driver (driver_client.h; DRIVER.md §4-§16 and
 * Appendix B). Lifecycle, configuration, attach requests and their retries, keepalives and the
 * queries; the handling of what arrives from the driver is in driver_client_rx.c.
 *
 * Time: every deadline is on the context clock (now_ns arguments). Correlation ids (D-80) are
 * (client_id31 << 32) | low32, low32 seeded with a random non-zero value per driver client and
 * incremented (skipping 0) per request; bit 31 of the client id is left out of the high half so
 * that every handle is positive (the API returns -1 for errors).
 */
#include "client/driver_client_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/env.h"
#include "util/log.h"

#define COMPONENT "driver-client"

#define env_u64(name, v) tp_env_u64(COMPONENT, name, v, UINT64_MAX)
#define env_u32(name, v) tp_env_u32(COMPONENT, name, v)

/* ---- helpers -------------------------------------------------------------------------------- */

uint32_t tp_dc_random_u32(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
        /* No entropy yet (early boot): clock and pid still differ between runs. */
        uint64_t x = tp_clock_monotonic_ns() ^ ((uint64_t)getpid() << 32);
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        v = (uint32_t)x;
    }
    return v;
}

/* D-82: a non-zero id of our own choosing (31 bits, so correlation ids stay positive). */
static uint32_t random_client_id(void)
{
    uint32_t id;
    do {
        id = tp_dc_random_u32() & 0x7FFFFFFFu;
    } while (id == 0);
    return id;
}

int64_t tp_dc_next_correlation_id(tp_driver_client_t *dc)
{
    /* D-80: increment the low half, skipping 0; the high half names the client. */
    if (++dc->corr_low == 0)
        dc->corr_low = 1;
    return (int64_t)(((uint64_t)(dc->client_id & 0x7FFFFFFFu) << 32) | dc->corr_low);
}

void tp_dc_remember_id(tp_driver_client_t *dc, int64_t id)
{
    /* Bounded (D-81 duplicates, late answers): the oldest id is forgotten first. */
    dc->recent[dc->recent_pos] = id;
    dc->recent_pos = (dc->recent_pos + 1) % TP_DC_RECENT_IDS;
    if (dc->recent_n < TP_DC_RECENT_IDS)
        dc->recent_n++;
}

bool tp_dc_is_recent_id(const tp_driver_client_t *dc, int64_t id)
{
    for (uint32_t i = 0; i < dc->recent_n; i++)
        if (dc->recent[i] == id)
            return true;
    return false;
}

static int offer(tp_driver_client_t *dc, const uint8_t *buf, int64_t len, const char *what)
{
    int64_t pos;
    if (len < 0)
        return tp_err_push("%s: encode", what);
    pos = tp_publication_offer(dc->ep->pub, buf, (size_t)len);
    if (pos >= 0)
        return 0;
    if (pos == TP_PUB_BACK_PRESSURED || pos == TP_PUB_ADMIN_ACTION || pos == TP_PUB_NOT_CONNECTED)
        return tp_err_set(TP_EIO, "%s: control stream busy (%" PRId64 ")", what, pos);
    return tp_err_set(pos == TP_PUB_CLOSED ? TP_ECLOSED : TP_EIO, "%s: offer failed (%" PRId64 ")",
                      what, pos);
}

int tp_dc_send_detach_request(tp_driver_client_t *dc, int64_t corr, uint64_t lease_id,
                              uint32_t stream_id)
{
    tp_sbe_driver_shm_detach_request_t m;
    uint8_t buf[64];
    memset(&m, 0, sizeof m);
    m.correlation_id = corr;
    m.lease_id = lease_id;
    m.stream_id = stream_id;
    m.client_id = dc->client_id;
    m.role = (uint8_t)dc->cfg.role;
    return offer(dc, buf, tp_sbe_driver_shm_detach_request_encode(buf, sizeof buf, &m),
                 "ShmDetachRequest");
}

void tp_dc_give_up_lease(tp_driver_client_t *dc, uint64_t lease_id, uint32_t stream_id,
                         uint64_t expiry_ns, uint64_t now_ns)
{
    /* D-95 DECISION: a lease we still hold is detached best effort, without waiting (repeats
     * are harmless, D-56); its answer is ignored (the id goes to the recent cache). If the
     * detach is lost the driver keeps the lease until it expires: remember when that is. */
    int64_t corr = tp_dc_next_correlation_id(dc);
    tp_dc_remember_id(dc, corr);
    if (tp_dc_send_detach_request(dc, corr, lease_id, stream_id) != 0)
        tp_err_clear();
    dc->counters.orphan_detaches++;
    /* No expiry, one in the past or one that cannot be on our clock (another host/boot):
     * assume a default lease period from now. */
    if (expiry_ns == TP_NULL_U64 || expiry_ns < now_ns || expiry_ns - now_ns > TP_DC_EXPIRY_SANE_NS)
        expiry_ns = now_ns + dc->cfg.default_lease_period_ns;
    dc->abandoned_until_ns = expiry_ns + dc->cfg.keepalive_interval_ns;
}

/* ---- events ----------------------------------------------------------------------------------- */

void tp_dc_push_event(tp_driver_client_t *dc, const tp_lease_event_t *ev)
{
    uint32_t slot;
    if (dc->on_event != NULL)
        dc->on_event(dc->on_event_clientd, ev);
    if (dc->ev_count == TP_DC_EVENTS_MAX) {
        /* Full: forget the oldest. The own-lease state is kept separately, never lost. */
        dc->ev_head = (dc->ev_head + 1) % TP_DC_EVENTS_MAX;
        dc->ev_count--;
    }
    slot = (dc->ev_head + dc->ev_count) % TP_DC_EVENTS_MAX;
    dc->events[slot] = *ev;
    dc->ev_count++;
}

static bool is_own_lease_event(tp_lease_event_kind_t k)
{
    return k == TP_EVENT_LEASE_REVOKED || k == TP_EVENT_DRIVER_SHUTDOWN ||
           k == TP_EVENT_LEASE_LOST;
}

static bool is_handled_state(tp_lease_state_t s)
{
    return s == TP_LEASE_REVOKED || s == TP_LEASE_SHUTDOWN || s == TP_LEASE_LOST;
}

/* After a new lease was accepted, own-lease events of older leases are moot. */
static void purge_own_lease_events(tp_driver_client_t *dc)
{
    tp_lease_event_t keep[TP_DC_EVENTS_MAX];
    uint32_t n = 0;
    for (uint32_t i = 0; i < dc->ev_count; i++) {
        const tp_lease_event_t *ev = &dc->events[(dc->ev_head + i) % TP_DC_EVENTS_MAX];
        if (!is_own_lease_event(ev->kind))
            keep[n++] = *ev;
    }
    memcpy(dc->events, keep, n * sizeof keep[0]);
    dc->ev_head = 0;
    dc->ev_count = n;
}

static int take_event(tp_driver_client_t *dc, tp_lease_event_t *ev)
{
    if (dc->ev_count == 0)
        return 0;
    *ev = dc->events[dc->ev_head];
    dc->ev_head = (dc->ev_head + 1) % TP_DC_EVENTS_MAX;
    dc->ev_count--;
    /* Handled: the client may become ATTACHED again (unlike the reference, whose flags stay). */
    if (is_own_lease_event(ev->kind) && is_handled_state(dc->state))
        dc->state = TP_LEASE_UNATTACHED;
    return 1;
}

void tp_dc_end_lease(tp_driver_client_t *dc, tp_lease_state_t state, tp_lease_event_t *ev)
{
    dc->ended_lease_id = dc->lease_id;
    dc->ended_lease_valid = true;
    dc->lease_id = 0;
    dc->state = state;
    if (ev != NULL)
        tp_dc_push_event(dc, ev);
}

/* ---- configuration -------------------------------------------------------------------------- */

void tp_driver_client_config_init(tp_driver_client_config_t *cfg)
{
    const char *ch = getenv("TP_CONTROL_CHANNEL");
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->control_channel, sizeof cfg->control_channel, "aeron:ipc");
    cfg->control_stream_id = 1000; /* WIRE W-181 */
    cfg->client_id = 0;
    cfg->role = TP_ROLE_PRODUCER;
    cfg->attach_timeout_ns = 2000000000ull;
    cfg->attach_deadline_ns = 0;
    cfg->backoff_initial_ns = 100000000ull;
    cfg->backoff_max_ns = 5000000000ull;
    cfg->keepalive_interval_ns = 1000000000ull; /* D-31 */
    cfg->default_lease_period_ns = 3000000000ull; /* D-31: 3 missed keepalives */
    if (ch != NULL && *ch != '\0') {
        if (strlen(ch) < sizeof cfg->control_channel)
            snprintf(cfg->control_channel, sizeof cfg->control_channel, "%s", ch);
        else
            tp_log_warn(COMPONENT, "TP_CONTROL_CHANNEL is too long: ignored");
    }
    env_u32("TP_CONTROL_STREAM_ID", &cfg->control_stream_id);
    env_u32("TP_CLIENT_ID", &cfg->client_id);
    env_u64("TP_ATTACH_TIMEOUT_NS", &cfg->attach_timeout_ns);
    env_u64("TP_ATTACH_DEADLINE_NS", &cfg->attach_deadline_ns);
    env_u64("TP_ATTACH_BACKOFF_INITIAL_NS", &cfg->backoff_initial_ns);
    env_u64("TP_ATTACH_BACKOFF_MAX_NS", &cfg->backoff_max_ns);
    env_u64("TP_KEEPALIVE_INTERVAL_NS", &cfg->keepalive_interval_ns);
    env_u64("TP_LEASE_PERIOD_NS", &cfg->default_lease_period_ns);
}

void tp_attach_request_init(tp_attach_request_t *req)
{
    memset(req, 0, sizeof *req);
    req->expected_layout_version = 1;
    req->publish_mode = TP_PUBLISH_MODE_NULL;
    req->hugepages = TP_HUGEPAGES_UNSPECIFIED;
    req->desired_node_id = TP_NULL_U32;
}

static int check_config(const tp_driver_client_config_t *cfg, const tp_transport_t *t)
{
    tp_channel_t ch;
    if (memchr(cfg->control_channel, '\0', sizeof cfg->control_channel) == NULL ||
        cfg->control_channel[0] == '\0')
        return tp_err_set(TP_ECHANNEL, "driver client: empty control channel");
    if (tp_transport_channel_parse(t, cfg->control_channel, &ch) != 0) /* udp: Aeron only */
        return tp_err_push("driver client: control channel");
    if (cfg->role != TP_ROLE_PRODUCER && cfg->role != TP_ROLE_CONSUMER)
        return tp_err_set(TP_EINVAL, "driver client: role %d is neither PRODUCER nor CONSUMER",
                          (int)cfg->role);
    if (cfg->attach_timeout_ns == 0 || cfg->keepalive_interval_ns == 0 ||
        cfg->backoff_initial_ns == 0 || cfg->default_lease_period_ns == 0)
        return tp_err_set(TP_EINVAL, "driver client: a timeout/interval is 0");
    if (cfg->backoff_max_ns < cfg->backoff_initial_ns)
        return tp_err_set(TP_EINVAL, "driver client: backoff_max_ns < backoff_initial_ns");
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int tp_driver_client_init_config(tp_driver_client_t **out, tp_client_t *client,
                                 const tp_driver_client_config_t *cfg)
{
    tp_driver_client_t *dc;

    if (out == NULL || client == NULL || cfg == NULL)
        return tp_err_set(TP_EINVAL, "tp_driver_client_init: NULL argument");
    *out = NULL;
    if (check_config(cfg, tp_client_transport(client)) != 0)
        return tp_err_push("tp_driver_client_init");
    dc = calloc(1, sizeof *dc);
    if (dc != NULL) {
        dc->result = malloc(sizeof *dc->result);
        dc->scratch = malloc(sizeof *dc->scratch);
        dc->attach = malloc(sizeof *dc->attach);
    }
    if (dc == NULL || dc->result == NULL || dc->scratch == NULL || dc->attach == NULL) {
        tp_dc_free(dc);
        return tp_err_set(TP_ENOMEM, "tp_driver_client_init");
    }
    dc->client = client;
    dc->cfg = *cfg;
    dc->auto_id = cfg->client_id == 0;
    dc->client_id = dc->auto_id ? random_client_id() : cfg->client_id; /* D-82 */
    do {
        dc->corr_low = tp_dc_random_u32(); /* D-80 */
    } while (dc->corr_low == 0);
    dc->state = TP_LEASE_UNATTACHED;
    dc->counters.last_detach_code = -1;
    tp_attach_request_init(&dc->req);
    dc->ep = tp_client_ctl_acquire(client, cfg->control_channel, cfg->control_stream_id);
    if (dc->ep == NULL) {
        tp_dc_free(dc);
        return tp_err_push("tp_driver_client_init");
    }
    if (tp_client_register_dc(client, dc) != 0) {
        tp_client_ctl_release(client, dc->ep);
        tp_dc_free(dc);
        return tp_err_push("tp_driver_client_init");
    }
    *out = dc;
    return 0;
}

int tp_driver_client_init(tp_driver_client_t **out, tp_client_t *client, const char *channel,
                          uint32_t stream_id, uint32_t client_id, tp_role_t role)
{
    tp_driver_client_config_t cfg;
    if (channel == NULL)
        return tp_err_set(TP_EINVAL, "tp_driver_client_init: NULL channel");
    tp_driver_client_config_init(&cfg);
    if (strlen(channel) >= sizeof cfg.control_channel)
        return tp_err_set(TP_ECHANNEL, "tp_driver_client_init: channel too long");
    snprintf(cfg.control_channel, sizeof cfg.control_channel, "%s", channel);
    cfg.control_stream_id = stream_id;
    cfg.client_id = client_id;
    cfg.role = role;
    return tp_driver_client_init_config(out, client, &cfg);
}

void tp_dc_free(tp_driver_client_t *dc)
{
    if (dc == NULL)
        return;
    free(dc->result);
    free(dc->scratch);
    free(dc->attach);
    free(dc);
}

void tp_driver_client_close(tp_driver_client_t *dc)
{
    if (dc == NULL)
        return;
    if (dc->owner != NULL) {
        tp_err_set(TP_ESTATE, "tp_driver_client_close: a producer/consumer still uses it");
        tp_log_error(COMPONENT, "%s (left open)", tp_errmsg());
        return;
    }
    if (dc->state == TP_LEASE_ATTACHED) {
        /* D-95: give the lease up without waiting for the answer. */
        int64_t corr = tp_dc_next_correlation_id(dc);
        if (tp_dc_send_detach_request(dc, corr, dc->lease_id, dc->stream_id) != 0)
            tp_err_clear();
    }
    tp_client_unregister_dc(dc->client, dc);
    tp_client_ctl_release(dc->client, dc->ep);
    tp_dc_free(dc);
}

/* ---- attach ----------------------------------------------------------------------------------- */

static void schedule_retry(tp_driver_client_t *dc, uint64_t now_ns)
{
    /* D-13: retry with backoff, doubling up to the cap. */
    dc->state = TP_LEASE_BACKOFF;
    dc->retry_at_ns = now_ns + dc->backoff_ns;
    dc->backoff_ns = dc->backoff_ns * 2 > dc->cfg.backoff_max_ns ? dc->cfg.backoff_max_ns
                                                                 : dc->backoff_ns * 2;
}

/* Send one attempt with a fresh correlation id. 0, or -1 only when the stream is unusable. */
static int send_attempt(tp_driver_client_t *dc, uint64_t now_ns)
{
    tp_sbe_driver_shm_attach_request_t m;
    uint8_t buf[64];
    int64_t corr = tp_dc_next_correlation_id(dc);

    if (dc->attempt_count == TP_DC_ATTEMPTS_MAX) {
        /* The oldest attempt leaves the set; a late answer to it is an orphan (D-95). */
        tp_dc_remember_id(dc, dc->attempts[0]);
        memmove(dc->attempts, dc->attempts + 1, (TP_DC_ATTEMPTS_MAX - 1) * sizeof dc->attempts[0]);
        dc->attempt_count--;
    }
    dc->attempts[dc->attempt_count++] = corr;
    memset(&m, 0, sizeof m);
    m.correlation_id = corr;
    m.stream_id = dc->req.stream_id;
    m.client_id = dc->client_id;
    m.role = (uint8_t)dc->cfg.role;
    m.expected_layout_version =
        dc->req.expected_layout_version == TP_NULL_U32 ? 0 : dc->req.expected_layout_version;
    m.publish_mode = dc->req.publish_mode;
    m.require_hugepages = dc->req.hugepages;
    m.desired_node_id = dc->req.desired_node_id;
    dc->attempt_sent_ns = now_ns;
    dc->state = TP_LEASE_ATTACHING;
    dc->counters.attach_attempts++;
    if (offer(dc, buf, tp_sbe_driver_shm_attach_request_encode(buf, sizeof buf, &m),
              "ShmAttachRequest") != 0) {
        if (tp_errcode() != TP_EIO)
            return -1;
        tp_err_clear();
        schedule_retry(dc, now_ns); /* transient: try again after backoff */
    }
    return 0;
}

void tp_dc_finish_request(tp_driver_client_t *dc, int phase, int err)
{
    /* Every attempt id goes to the bounded recent cache: later answers are duplicates (D-81). */
    for (uint32_t i = 0; i < dc->attempt_count; i++)
        tp_dc_remember_id(dc, dc->attempts[i]);
    dc->attempt_count = 0;
    dc->req_phase = phase;
    dc->req_err = err;
}

void tp_dc_retry_request(tp_driver_client_t *dc, uint64_t now_ns)
{
    schedule_retry(dc, now_ns);
}

void tp_dc_change_client_id(tp_driver_client_t *dc)
{
    /* D-82: a genuine collision with a self-chosen id: choose another. */
    uint32_t old = dc->client_id;
    do {
        dc->client_id = random_client_id();
    } while (dc->client_id == old);
    dc->counters.client_id_changes++;
    dc->reject_deadline_ns = 0;
    tp_log_info(COMPONENT, "client id %u already attached at the driver: now %u (D-82)", old,
                dc->client_id);
}

int64_t tp_driver_client_send_attach(tp_driver_client_t *dc, const tp_attach_request_t *req)
{
    uint64_t now_ns;
    if (dc == NULL || req == NULL)
        return tp_err_set(TP_EINVAL, "tp_driver_client_send_attach: NULL argument");
    if (dc->state == TP_LEASE_ATTACHED || dc->state == TP_LEASE_DETACHING)
        return tp_err_set(TP_ESTATE, "tp_driver_client_send_attach: a lease is held (%s)",
                          tp_lease_state_name(dc->state));
    if (dc->req_phase == TP_DC_REQ_PENDING)
        return tp_err_set(TP_ESTATE, "tp_driver_client_send_attach: an attach is in flight");
    if (req->stream_id == 0)
        return tp_err_set(TP_EINVAL, "tp_driver_client_send_attach: stream_id is 0");
    now_ns = tp_client_now_ns(dc->client);
    if (req != &dc->req)
        dc->req = *req;
    dc->have_req = true;
    dc->req_phase = TP_DC_REQ_PENDING;
    dc->req_start_ns = now_ns;
    dc->backoff_ns = dc->cfg.backoff_initial_ns;
    dc->reject_deadline_ns = 0;
    dc->attempt_count = 0;
    if (send_attempt(dc, now_ns) != 0) {
        dc->req_phase = TP_DC_REQ_NONE;
        dc->attempt_count = 0;
        dc->state = TP_LEASE_UNATTACHED;
        return tp_err_push("tp_driver_client_send_attach");
    }
    dc->req_id = dc->attempts[0];
    return dc->req_id;
}

int tp_driver_client_poll_attach(tp_driver_client_t *dc, int64_t id, tp_attach_t *att)
{
    if (dc == NULL || att == NULL)
        return tp_err_set(TP_EINVAL, "tp_driver_client_poll_attach: NULL argument");
    if (tp_client_do_work(dc->client, tp_client_now_ns(dc->client)) < 0)
        return tp_err_push("tp_driver_client_poll_attach");
    if (id == 0 || id != dc->req_id || dc->req_phase == TP_DC_REQ_NONE)
        return tp_err_set(TP_EINVAL, "tp_driver_client_poll_attach: unknown request %" PRId64,
                          id);
    switch (dc->req_phase) {
    case TP_DC_REQ_PENDING:
        return 0;
    case TP_DC_REQ_DONE:
        memcpy(att, dc->result, sizeof *att);
        dc->req_phase = TP_DC_REQ_NONE;
        dc->req_id = 0;
        return 1;
    default:
        dc->req_phase = TP_DC_REQ_NONE;
        dc->req_id = 0;
        return tp_err_set(dc->req_err, "attach request %" PRId64 ": %s", id,
                          dc->req_err == TP_ETIMEOUT ? "attach_deadline_ns passed"
                                                     : "failed");
    }
}

/* ---- duty cycle ----------------------------------------------------------------------------- */

static int attach_work(tp_driver_client_t *dc, uint64_t now_ns)
{
    if (dc->req_phase != TP_DC_REQ_PENDING)
        return 0;
    if (dc->cfg.attach_deadline_ns != 0 && now_ns - dc->req_start_ns >= dc->cfg.attach_deadline_ns) {
        tp_dc_finish_request(dc, TP_DC_REQ_FAILED, TP_ETIMEOUT);
        dc->state = TP_LEASE_UNATTACHED;
        return 1;
    }
    if (dc->state == TP_LEASE_ATTACHING &&
        now_ns - dc->attempt_sent_ns >= dc->cfg.attach_timeout_ns) {
        schedule_retry(dc, now_ns); /* D-13: no answer in time */
        return 1;
    }
    if (dc->state == TP_LEASE_BACKOFF && now_ns >= dc->retry_at_ns) {
        if (send_attempt(dc, now_ns) != 0) {
            tp_dc_finish_request(dc, TP_DC_REQ_FAILED, TP_ECLOSED);
            dc->state = TP_LEASE_UNATTACHED;
        }
        return 1;
    }
    return 0;
}

static void lose_lease(tp_driver_client_t *dc, uint64_t now_ns, const char *why)
{
    tp_lease_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TP_EVENT_LEASE_LOST;
    ev.role = (uint8_t)dc->cfg.role;
    ev.stream_id = dc->stream_id;
    ev.lease_id = dc->lease_id;
    ev.timestamp_ns = now_ns;
    snprintf(ev.message, sizeof ev.message, "%s", why);
    tp_log_warn(COMPONENT, "lease %" PRIu64 " lost: %s", dc->lease_id, why);
    /* D-32/D-95: we may still hold it at the driver: detach best effort, remember the expiry. */
    tp_dc_give_up_lease(dc, dc->lease_id, dc->stream_id, dc->expiry_ns, now_ns);
    tp_dc_end_lease(dc, TP_LEASE_LOST, &ev);
}

static int keepalive_work(tp_driver_client_t *dc, uint64_t now_ns)
{
    tp_sbe_driver_shm_lease_keepalive_t m;
    uint8_t buf[64];

    if (dc->state != TP_LEASE_ATTACHED || now_ns < dc->next_keepalive_ns)
        return 0;
    if (now_ns >= dc->expiry_ns) {
        /* D-19: the hard deadline passed without a keepalive (duty cycle too slow). */
        lose_lease(dc, now_ns, "lease expiry passed without a keepalive (D-19)");
        return 1;
    }
    memset(&m, 0, sizeof m);
    m.lease_id = dc->lease_id;
    m.stream_id = dc->stream_id;
    m.client_id = dc->client_id;
    m.role = (uint8_t)dc->cfg.role;
    m.client_timestamp_ns = now_ns;
    if (offer(dc, buf, tp_sbe_driver_shm_lease_keepalive_encode(buf, sizeof buf, &m),
              "ShmLeaseKeepalive") != 0) {
        if (tp_errcode() == TP_EIO) {
            tp_err_clear(); /* back-pressured: try again next duty cycle, before the expiry */
            return 0;
        }
        tp_err_clear();
        lose_lease(dc, now_ns, "keepalive could not be sent (D-32)");
        return 1;
    }
    /* D-29/D-31: next one an interval later; D-95: the driver's expiry moved with it. */
    dc->counters.keepalives_sent++;
    dc->next_keepalive_ns = now_ns + dc->cfg.keepalive_interval_ns;
    dc->expiry_ns = now_ns + dc->lease_period_ns;
    return 1;
}

static int detach_work(tp_driver_client_t *dc, uint64_t now_ns)
{
    if (dc->detach_phase != TP_DC_REQ_PENDING || now_ns < dc->detach_deadline_ns)
        return 0;
    /* D-56: best effort; no answer in time ends it locally all the same. */
    tp_dc_remember_id(dc, dc->detach_id);
    dc->detach_phase = TP_DC_REQ_DONE;
    if (dc->state == TP_LEASE_DETACHING)
        tp_dc_end_lease(dc, TP_LEASE_UNATTACHED, NULL);
    return 1;
}

int tp_dc_do_work(tp_driver_client_t *dc, uint64_t now_ns)
{
    return attach_work(dc, now_ns) + keepalive_work(dc, now_ns) + detach_work(dc, now_ns);
}

/* ---- detach / abandon ----------------------------------------------------------------------- */

int64_t tp_driver_client_send_detach(tp_driver_client_t *dc)
{
    uint64_t now_ns;
    if (dc == NULL)
        return tp_err_set(TP_EINVAL, "tp_driver_client_send_detach: NULL");
    if (dc->state != TP_LEASE_ATTACHED)
        return tp_err_set(TP_ESTATE, "tp_driver_client_send_detach: no lease held (%s)",
                          tp_lease_state_name(dc->state));
    if (dc->owner != NULL)
        return tp_err_set(TP_ESTATE, "tp_driver_client_send_detach: owned by a producer/consumer");
    now_ns = tp_client_now_ns(dc->client);
    dc->detach_id = tp_dc_next_correlation_id(dc);
    dc->detach_phase = TP_DC_REQ_PENDING;
    dc->detach_deadline_ns = now_ns + dc->cfg.attach_timeout_ns;
    dc->state = TP_LEASE_DETACHING; /* keepalives stop */
    if (tp_dc_send_detach_request(dc, dc->detach_id, dc->lease_id, dc->stream_id) != 0)
        tp_err_clear(); /* best effort (D-56): the timeout ends it locally */
    return dc->detach_id;
}

int tp_driver_client_poll_detach(tp_driver_client_t *dc, int64_t id)
{
    if (dc == NULL)
        return tp_err_set(TP_EINVAL, "tp_driver_client_poll_detach: NULL");
    if (tp_client_do_work(dc->client, tp_client_now_ns(dc->client)) < 0)
        return tp_err_push("tp_driver_client_poll_detach");
    if (id == 0 || id != dc->detach_id || dc->detach_phase == TP_DC_REQ_NONE)
        return tp_err_set(TP_EINVAL, "tp_driver_client_poll_detach: unknown request %" PRId64,
                          id);
    return dc->detach_phase == TP_DC_REQ_PENDING ? 0 : 1;
}

int tp_driver_client_abandon(tp_driver_client_t *dc)
{
    if (dc == NULL)
        return 0;
    if (dc->state == TP_LEASE_ATTACHED || dc->state == TP_LEASE_DETACHING) {
        uint64_t now_ns = tp_client_now_ns(dc->client);
        tp_dc_give_up_lease(dc, dc->lease_id, dc->stream_id, dc->expiry_ns, now_ns);
        if (dc->detach_phase == TP_DC_REQ_PENDING)
            dc->detach_phase = TP_DC_REQ_DONE;
        tp_dc_end_lease(dc, TP_LEASE_UNATTACHED, NULL);
    }
    return 0;
}

/* ---- accepted attach (called from driver_client_rx.c) --------------------------------------- */

void tp_dc_accept(tp_driver_client_t *dc, uint64_t now_ns)
{
    const tp_attach_t *a = dc->scratch;
    uint64_t period = dc->cfg.default_lease_period_ns;

    /* D-19: the expiry is on the driver's monotonic clock; on one host that is ours. A value
     * that makes no sense here (other host, other boot) falls back to the default period. */
    if (a->lease_expiry_ns != TP_NULL_U64 && a->lease_expiry_ns > now_ns &&
        a->lease_expiry_ns - now_ns <= TP_DC_EXPIRY_SANE_NS)
        period = a->lease_expiry_ns - now_ns;
    memcpy(dc->attach, a, sizeof *a);
    memcpy(dc->result, a, sizeof *a);
    dc->has_attach = true;
    dc->lease_id = a->lease_id;
    dc->stream_id = a->stream_id;
    dc->epoch = a->epoch;
    dc->node_id = a->node_id;
    dc->expiry_known = a->lease_expiry_ns != TP_NULL_U64;
    dc->lease_period_ns = period;
    dc->expiry_ns = now_ns + period;
    dc->next_keepalive_ns = now_ns + dc->cfg.keepalive_interval_ns;
    dc->req.stream_id = a->stream_id; /* D-70: a dynamic stream's allocated id */
    dc->abandoned_until_ns = 0;
    dc->producer_revoked_valid = false;
    dc->state = TP_LEASE_ATTACHED;
    purge_own_lease_events(dc); /* a handled revocation/shutdown is cleared by the new lease */
    tp_dc_finish_request(dc, TP_DC_REQ_DONE, 0);
}

/* ---- queries, events, internal hooks -------------------------------------------------------- */

tp_lease_state_t tp_driver_client_state(const tp_driver_client_t *dc)
{
    return dc ? dc->state : TP_LEASE_UNATTACHED;
}

void tp_driver_client_lease(const tp_driver_client_t *dc, tp_lease_info_t *out)
{
    bool held;
    memset(out, 0, sizeof *out);
    if (dc == NULL)
        return;
    held = dc->state == TP_LEASE_ATTACHED || dc->state == TP_LEASE_DETACHING;
    out->state = dc->state;
    out->role = dc->cfg.role;
    out->client_id = dc->client_id;
    out->stream_id = dc->has_attach ? dc->stream_id : dc->req.stream_id;
    out->lease_id = held ? dc->lease_id : 0;
    out->epoch = dc->has_attach ? dc->epoch : 0;
    out->expiry_ns = held && dc->expiry_known ? dc->expiry_ns : TP_NULL_U64;
    out->node_id = dc->has_attach ? dc->node_id : TP_NULL_U32;
}

int tp_driver_client_set_event_handler(tp_driver_client_t *dc, tp_lease_event_handler_t fn,
                                       void *clientd)
{
    dc->on_event = fn;
    dc->on_event_clientd = fn ? clientd : NULL;
    return 0;
}

int tp_driver_client_poll_event(tp_driver_client_t *dc, tp_lease_event_t *ev)
{
    if (dc == NULL || ev == NULL)
        return tp_err_set(TP_EINVAL, "tp_driver_client_poll_event: NULL argument");
    if (dc->owner != NULL)
        return tp_err_set(TP_ESTATE, "tp_driver_client_poll_event: a producer/consumer owns "
                                     "this driver client and takes its events");
    return take_event(dc, ev);
}

tp_client_t *tp_dc_client(tp_driver_client_t *dc) { return dc->client; }
const char *tp_dc_control_channel(const tp_driver_client_t *dc) { return dc->cfg.control_channel; }
uint32_t tp_dc_control_stream_id(const tp_driver_client_t *dc) { return dc->cfg.control_stream_id; }
uint32_t tp_dc_client_id(const tp_driver_client_t *dc) { return dc->client_id; }
tp_role_t tp_dc_role(const tp_driver_client_t *dc) { return dc->cfg.role; }
const tp_ctl_endpoint_t *tp_dc_endpoint(const tp_driver_client_t *dc) { return dc->ep; }

int tp_dc_set_owner(tp_driver_client_t *dc, void *owner)
{
    if (owner != NULL && dc->owner != NULL && dc->owner != owner)
        return tp_err_set(TP_ESTATE, "driver client already has an owner");
    dc->owner = owner;
    return 0;
}

int tp_dc_take_event(tp_driver_client_t *dc, void *owner, tp_lease_event_t *ev)
{
    if (owner == NULL || owner != dc->owner)
        return 0;
    return take_event(dc, ev);
}

const tp_attach_t *tp_dc_attach(const tp_driver_client_t *dc)
{
    return dc->has_attach ? dc->attach : NULL;
}

const tp_attach_request_t *tp_dc_request(const tp_driver_client_t *dc) { return &dc->req; }

void tp_dc_get_counters(const tp_driver_client_t *dc, tp_dc_counters_t *out)
{
    *out = dc->counters;
    out->recent_ids = dc->recent_n;
}

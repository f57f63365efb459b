/*
 * Harness of the driver protocol tests (header only: static functions).
 *
 * A test builds a config in code (h_new + fields + h_start), which starts a tp_driver_t on a
 * private directory (SHM base dir and transport dir) with an injected clock `h->now`, and
 * opens the test's own transport on the same directory: a publication on the control
 * stream and subscriptions on the control and announce streams, opened before the driver
 * sends anything. h_send() offers raw encoded bytes, runs the driver's duty cycle and
 * collects what arrived; h_next_ctl()/h_next_ann() return the driver's output in order.
 */
#ifndef TP_TEST_DRIVER_SUPPORT_H
#define TP_TEST_DRIVER_SUPPORT_H

/* GCC's -Wstringop-overflow misreads the inlined var-data encoders (the room check before
 * every put is not followed through the inlining): a false positive for test buffers. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/driver_internal.h"
#include "shm/region.h"
#include "tp_test.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define CTL 15000u
#define ANN 15001u
#define CAM 42u
#define T0 (1000 * SEC) /* the injected clock starts here */
#define QMAX 1024

typedef struct h_msg {
    uint8_t *b;
    size_t n;
} h_msg_t;

typedef struct h_queue {
    h_msg_t m[QMAX];
    int n, head;
} h_queue_t;

typedef struct h {
    char dir[512];
    char shm[600];
    tp_driver_config_t cfg;
    tp_transport_config_t tcfg;
    tp_driver_t *d;
    tp_transport_t *t;
    tp_publication_t *pub;
    tp_subscription_t *ctl, *ann;
    uint64_t now;
    h_queue_t cq, aq;
} h_t;

static inline void h_collect(void *clientd, const uint8_t *msg, size_t len)
{
    h_queue_t *q = clientd;
    if (q->n < QMAX) {
        q->m[q->n].b = malloc(len ? len : 1);
        memcpy(q->m[q->n].b, msg, len);
        q->m[q->n].n = len;
        q->n++;
    }
}

/* A fresh harness with the default test config: control 15000, announce 15001, profile
 * "camera" (8 slots, pools 1: 1024 and 2: 4096 bytes), stream cam1 = 42, no prefault. */
static inline h_t *h_new(void)
{
    static unsigned seq;
    h_t *h = calloc(1, sizeof *h);
    tp_driver_config_t *c = &h->cfg;

    snprintf(h->dir, sizeof h->dir, "%s/drv%u", tp_test_tmpdir(), seq++);
    snprintf(h->shm, sizeof h->shm, "%s/shm", h->dir);
    mkdir(h->dir, 0700);
    mkdir(h->shm, 0700);
    tp_driver_config_init(c);
    snprintf(c->control_channel, sizeof c->control_channel, "aeron:ipc");
    snprintf(c->announce_channel, sizeof c->announce_channel, "aeron:ipc");
    snprintf(c->qos_channel, sizeof c->qos_channel, "aeron:ipc");
    c->control_stream_id = CTL;
    c->announce_stream_id = ANN;
    c->qos_stream_id = 15002;
    snprintf(c->base_dir, sizeof c->base_dir, "%s", h->shm);
    snprintf(c->allowed_base_dirs[0], sizeof c->allowed_base_dirs[0], "%s", h->shm);
    c->allowed_base_dir_count = 1;
    c->prefault_shm = false;
    snprintf(c->profiles[0].name, sizeof c->profiles[0].name, "camera");
    c->profiles[0].header_nslots = 8;
    c->profiles[0].header_slot_bytes = 256;
    c->profiles[0].pools[0].pool_id = 1;
    c->profiles[0].pools[0].stride_bytes = 1024;
    c->profiles[0].pools[1].pool_id = 2;
    c->profiles[0].pools[1].stride_bytes = 4096;
    c->profiles[0].pool_count = 2;
    c->profile_count = 1;
    snprintf(c->streams[0].name, sizeof c->streams[0].name, "cam1");
    snprintf(c->streams[0].profile, sizeof c->streams[0].profile, "camera");
    c->streams[0].stream_id = CAM;
    c->stream_count = 1;

    tp_transport_config_init(&h->tcfg);
    snprintf(h->tcfg.dir, sizeof h->tcfg.dir, "%s/transport", h->dir);
    h->tcfg.liveness_timeout_ns = 10 * SEC;
    h->tcfg.unblock_timeout_ns = 10 * SEC;
    h->tcfg.open_timeout_ns = 1 * SEC;
    h->tcfg.default_capacity = 1024 * 1024;
    h->now = T0;
    return h;
}

/* Open the test transport, then the driver. 0 or -1 (tp_errmsg says why). */
static inline int h_start(h_t *h)
{
    tp_cfg_report_t *rep = calloc(1, sizeof *rep);
    int rc = tp_driver_config_validate(&h->cfg, rep);
    if (rc != 0) {
        for (uint32_t i = 0; i < rep->error_count; i++)
            fprintf(stderr, "  config: %s\n", rep->errors[i]);
        free(rep);
        return -1;
    }
    free(rep);
    if (h->t == NULL) {
        if (tp_transport_open(&h->t, &h->tcfg) != 0 ||
            tp_transport_add_subscription(h->t, h->cfg.control_channel,
                                          h->cfg.control_stream_id, &h->ctl) != 0 ||
            tp_transport_add_publication(h->t, h->cfg.control_channel,
                                         h->cfg.control_stream_id, &h->pub) != 0)
            return -1;
        if (h->cfg.announce_stream_id != h->cfg.control_stream_id &&
            tp_transport_add_subscription(h->t, h->cfg.announce_channel,
                                          h->cfg.announce_stream_id, &h->ann) != 0)
            return -1;
    }
    return tp_driver_init(&h->d, &h->cfg, &h->tcfg, h->now);
}

static inline void h_poll(h_t *h)
{
    tp_transport_do_work(h->t, tp_clock_monotonic_ns());
    while (tp_subscription_poll(h->ctl, h_collect, &h->cq, 256) > 0) {
    }
    if (h->ann)
        while (tp_subscription_poll(h->ann, h_collect, &h->aq, 256) > 0) {
        }
}

/* Run the driver's duty cycle at h->now until it is idle, collecting its output. */
static inline void h_pump(h_t *h)
{
    for (int i = 0; i < 8; i++) {
        int w = tp_driver_do_work(h->d, h->now);
        h_poll(h);
        if (w == 0 && i > 0)
            break;
    }
}

static inline void h_advance(h_t *h, uint64_t ns)
{
    h->now += ns;
    h_pump(h);
}

static inline void h_send(h_t *h, const void *buf, int64_t len)
{
    TP_CHECK(len > 0);
    if (len > 0)
        TP_CHECK(tp_publication_offer(h->pub, buf, (size_t)len) >= 0);
    h_pump(h);
}

static inline void h_free(h_t *h)
{
    if (h == NULL)
        return;
    tp_driver_close(h->d);
    tp_transport_close(h->t);
    for (int i = 0; i < h->cq.n; i++)
        free(h->cq.m[i].b);
    for (int i = 0; i < h->aq.n; i++)
        free(h->aq.m[i].b);
    free(h);
}

static inline void h_hdr(const h_msg_t *m, tp_sbe_header_t *hd)
{
    memset(hd, 0, sizeof *hd);
    tp_sbe_header_read(m->b, m->n, hd);
}

/* The next message the driver sent on the control stream (requests skipped), or NULL. */
static inline h_msg_t *h_next_ctl(h_t *h)
{
    while (h->cq.head < h->cq.n) {
        h_msg_t *m = &h->cq.m[h->cq.head++];
        tp_sbe_header_t hd;
        h_hdr(m, &hd);
        if (hd.schema_id == TP_SBE_DRIVER_SCHEMA_ID &&
            (hd.template_id == TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_TEMPLATE_ID ||
             hd.template_id == TP_SBE_DRIVER_SHM_DETACH_RESPONSE_TEMPLATE_ID ||
             hd.template_id == TP_SBE_DRIVER_SHM_LEASE_REVOKED_TEMPLATE_ID ||
             hd.template_id == TP_SBE_DRIVER_SHM_DRIVER_SHUTDOWN_TEMPLATE_ID))
            return m;
        if (hd.schema_id == TP_SBE_CONTROL_SCHEMA_ID &&
            (hd.template_id == TP_SBE_CONTROL_CONSUMER_CONFIG_TEMPLATE_ID ||
             hd.template_id == TP_SBE_CONTROL_SHM_POOL_ANNOUNCE_TEMPLATE_ID))
            return m;
    }
    return NULL;
}

static inline h_msg_t *h_next_ann(h_t *h)
{
    if (h->ann == NULL)
        return h_next_ctl(h);
    return h->aq.head < h->aq.n ? &h->aq.m[h->aq.head++] : NULL;
}

/* Drop everything received so far. */
static inline void h_drain(h_t *h)
{
    h->cq.head = h->cq.n;
    h->aq.head = h->aq.n;
}

/* Drop and free everything received so far, so the queues (QMAX messages each) can take
 * more: for tests that exchange thousands of messages. */
static inline void h_reset_queues(h_t *h)
{
    h_queue_t *qs[2] = {&h->cq, &h->aq};
    for (int q = 0; q < 2; q++) {
        for (int i = 0; i < qs[q]->n; i++)
            free(qs[q]->m[i].b);
        qs[q]->n = qs[q]->head = 0;
    }
}

static inline int h_template(const h_msg_t *m)
{
    tp_sbe_header_t hd;
    if (m == NULL)
        return -1;
    h_hdr(m, &hd);
    return hd.template_id;
}

static inline bool data_is(tp_sbe_data_t v, const char *s)
{
    return v.length == strlen(s) && (v.length == 0 || memcmp(v.data, s, v.length) == 0);
}

/* ---- requests ---------------------------------------------------------------------------- */

static inline tp_sbe_driver_shm_attach_request_t req(int64_t corr, uint32_t stream, uint32_t client,
                                              uint8_t role)
{
    tp_sbe_driver_shm_attach_request_t m;
    memset(&m, 0, sizeof m);
    m.correlation_id = corr;
    m.stream_id = stream;
    m.client_id = client;
    m.role = role;
    m.expected_layout_version = 0;
    m.publish_mode = TP_SBE_DRIVER_PUBLISH_MODE_NULL_VALUE;
    m.require_hugepages = TP_SBE_DRIVER_HUGEPAGES_POLICY_UNSPECIFIED;
    m.desired_node_id = TP_DRV_NODE_ID_NULL;
    return m;
}

/* Send an attach request; decode the next control output as its response (into *out, whose
 * views stay valid until h_free). Returns the response code or -1. */
static inline int h_attach_req(h_t *h, const tp_sbe_driver_shm_attach_request_t *m,
                        tp_sbe_driver_shm_attach_response_t *out)
{
    uint8_t buf[256];
    tp_sbe_driver_shm_attach_response_t tmp;
    h_msg_t *r;
    if (out == NULL)
        out = &tmp;
    h_send(h, buf, tp_sbe_driver_shm_attach_request_encode(buf, sizeof buf, m));
    /* skip output of earlier steps (notices, responses) still queued */
    while ((r = h_next_ctl(h)) != NULL &&
           h_template(r) != TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_TEMPLATE_ID) {
    }
    if (r == NULL || tp_sbe_driver_shm_attach_response_decode(r->b, r->n, out) < 0)
        return -1;
    if (out->correlation_id != m->correlation_id)
        return -1;
    return out->code;
}

static inline int h_attach(h_t *h, int64_t corr, uint32_t stream, uint32_t client, uint8_t role,
                    tp_sbe_driver_shm_attach_response_t *out)
{
    tp_sbe_driver_shm_attach_request_t m = req(corr, stream, client, role);
    return h_attach_req(h, &m, out);
}

#define PRODUCER TP_SBE_DRIVER_ROLE_PRODUCER
#define CONSUMER TP_SBE_DRIVER_ROLE_CONSUMER
#define RC_OK TP_SBE_DRIVER_RESPONSE_CODE_OK
#define RC_UNSUPPORTED TP_SBE_DRIVER_RESPONSE_CODE_UNSUPPORTED
#define RC_INVALID TP_SBE_DRIVER_RESPONSE_CODE_INVALID_PARAMS
#define RC_REJECTED TP_SBE_DRIVER_RESPONSE_CODE_REJECTED
#define RC_INTERNAL TP_SBE_DRIVER_RESPONSE_CODE_INTERNAL_ERROR

static inline void h_detach_send(h_t *h, int64_t corr, uint64_t lease, uint32_t stream,
                          uint32_t client, uint8_t role)
{
    uint8_t buf[128];
    tp_sbe_driver_shm_detach_request_t m;
    memset(&m, 0, sizeof m);
    m.correlation_id = corr;
    m.lease_id = lease;
    m.stream_id = stream;
    m.client_id = client;
    m.role = role;
    h_send(h, buf, tp_sbe_driver_shm_detach_request_encode(buf, sizeof buf, &m));
}

static inline void h_keepalive(h_t *h, uint64_t lease, uint32_t stream, uint32_t client,
                               uint8_t role)
{
    uint8_t buf[128];
    tp_sbe_driver_shm_lease_keepalive_t m;
    memset(&m, 0, sizeof m);
    m.lease_id = lease;
    m.stream_id = stream;
    m.client_id = client;
    m.role = role;
    m.client_timestamp_ns = h->now;
    h_send(h, buf, tp_sbe_driver_shm_lease_keepalive_encode(buf, sizeof buf, &m));
}

static inline void h_shutdown_req(h_t *h, int64_t corr, uint8_t reason, const char *token,
                           const char *msg)
{
    uint8_t *buf = malloc(8192); /* heap: GCC's stringop-overflow misreads inlined encoders */
    tp_sbe_driver_shm_driver_shutdown_request_t m;
    memset(&m, 0, sizeof m);
    m.correlation_id = corr;
    m.reason = reason;
    m.token = tp_sbe_str(token);
    m.error_message = tp_sbe_str(msg);
    h_send(h, buf, tp_sbe_driver_shm_driver_shutdown_request_encode(buf, 8192, &m));
    free(buf);
}

static inline int h_decode_revoked(const h_msg_t *r, tp_sbe_driver_shm_lease_revoked_t *m)
{
    if (r == NULL || h_template(r) != TP_SBE_DRIVER_SHM_LEASE_REVOKED_TEMPLATE_ID)
        return -1;
    return tp_sbe_driver_shm_lease_revoked_decode(r->b, r->n, m) < 0 ? -1 : 0;
}

static inline int h_decode_announce(const h_msg_t *r, tp_sbe_control_shm_pool_announce_t *m)
{
    tp_sbe_header_t hd;
    if (r == NULL)
        return -1;
    h_hdr(r, &hd);
    if (hd.schema_id != TP_SBE_CONTROL_SCHEMA_ID ||
        hd.template_id != TP_SBE_CONTROL_SHM_POOL_ANNOUNCE_TEMPLATE_ID)
        return -1;
    return tp_sbe_control_shm_pool_announce_decode(r->b, r->n, m) < 0 ? -1 : 0;
}

static inline int h_decode_detach(const h_msg_t *r, tp_sbe_driver_shm_detach_response_t *m)
{
    if (r == NULL || h_template(r) != TP_SBE_DRIVER_SHM_DETACH_RESPONSE_TEMPLATE_ID)
        return -1;
    return tp_sbe_driver_shm_detach_response_decode(r->b, r->n, m) < 0 ? -1 : 0;
}

/* Number of announces for `stream` waiting in the announce queue (consumed). */
static inline int h_count_announces(h_t *h, uint32_t stream, uint64_t *last_epoch)
{
    int n = 0;
    h_msg_t *r;
    tp_sbe_control_shm_pool_announce_t a;
    while ((r = h_next_ann(h)) != NULL)
        if (h_decode_announce(r, &a) == 0 && a.stream_id == stream) {
            n++;
            if (last_epoch)
                *last_epoch = a.epoch;
        }
    return n;
}

#endif

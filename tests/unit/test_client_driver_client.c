/*
 * The driver client (src/client/driver_client*.c, DRIVER.md §4-§16, Appendix B) against a real
 * in-process driver (src/driver), both driven with one injected clock, plus hand-crafted
 * responses and notices published on the control stream by the test. Also the context, the
 * names and the W-74 frame re-check (src/client/frame.c).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overflow" /* inlined var-data encoders, see driver tests */
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_private.h"
#include "codec/gen/tp_sbe_driver.h"
#include "driver/config.h"
#include "driver/driver.h"
#include "shm/region.h"
#include "shm/ring.h"
#include "tensorpool/consumer.h"
#include "tensorpool/frame.h"
#include "tp_test.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define CTL 15000u
#define ANN 15001u
#define CAM 42u
#define T0 (1000 * SEC)

/* ---- harness ------------------------------------------------------------------------------- */

typedef struct env {
    char dir[512];
    char shm[600];
    tp_driver_config_t cfg;
    tp_transport_config_t tcfg;
    tp_driver_t *d;
    tp_transport_t *t;      /* the test's own endpoint on the control stream */
    tp_publication_t *pub;
    tp_subscription_t *sub;
    uint64_t now;
    tp_context_t *ctx;
    tp_client_t *client;
    /* what the clients sent, as seen on the control stream */
    int64_t last_attach_corr;
    uint32_t last_attach_client_id;
    uint64_t attach_requests;
    uint64_t detach_requests;
    uint64_t last_detach_lease;
    int64_t last_detach_corr;
    uint64_t keepalives;
} env_t;

static uint64_t env_clock(void *clientd) { return *(const uint64_t *)clientd; }

static void on_test_msg(void *clientd, const uint8_t *msg, size_t len)
{
    env_t *e = clientd;
    tp_sbe_header_t h;
    if (tp_sbe_header_read(msg, len, &h) != 0 || h.schema_id != TP_SBE_DRIVER_SCHEMA_ID) {
        tp_err_clear();
        return;
    }
    if (h.template_id == TP_SBE_DRIVER_SHM_ATTACH_REQUEST_TEMPLATE_ID) {
        tp_sbe_driver_shm_attach_request_t m;
        if (tp_sbe_driver_shm_attach_request_decode(msg, len, &m) > 0) {
            e->last_attach_corr = m.correlation_id;
            e->last_attach_client_id = m.client_id;
            e->attach_requests++;
        }
    } else if (h.template_id == TP_SBE_DRIVER_SHM_DETACH_REQUEST_TEMPLATE_ID) {
        tp_sbe_driver_shm_detach_request_t m;
        if (tp_sbe_driver_shm_detach_request_decode(msg, len, &m) > 0) {
            e->detach_requests++;
            e->last_detach_lease = m.lease_id;
            e->last_detach_corr = m.correlation_id;
        }
    } else if (h.template_id == TP_SBE_DRIVER_SHM_LEASE_KEEPALIVE_TEMPLATE_ID) {
        e->keepalives++;
    }
    tp_err_clear();
}

static void env_driver_config(env_t *e)
{
    tp_driver_config_t *c = &e->cfg;
    tp_driver_config_init(c);
    snprintf(c->control_channel, sizeof c->control_channel, "aeron:ipc");
    snprintf(c->announce_channel, sizeof c->announce_channel, "aeron:ipc");
    snprintf(c->qos_channel, sizeof c->qos_channel, "aeron:ipc");
    c->control_stream_id = CTL;
    c->announce_stream_id = ANN;
    c->qos_stream_id = 15002;
    snprintf(c->base_dir, sizeof c->base_dir, "%s", e->shm);
    snprintf(c->allowed_base_dirs[0], sizeof c->allowed_base_dirs[0], "%s", e->shm);
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
}

/* A private directory, the test's control endpoint, a context (injected clock) and a client.
 * The driver is started separately (env_start_driver) so tests can run without one. */
static env_t *env_new(void)
{
    static unsigned seq;
    env_t *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "%s/dc%u", tp_test_tmpdir(), seq++);
    snprintf(e->shm, sizeof e->shm, "%s/shm", e->dir);
    mkdir(e->dir, 0700);
    mkdir(e->shm, 0700);
    env_driver_config(e);
    tp_transport_config_init(&e->tcfg);
    snprintf(e->tcfg.dir, sizeof e->tcfg.dir, "%s/transport", e->dir);
    e->tcfg.liveness_timeout_ns = 10 * SEC;
    e->tcfg.unblock_timeout_ns = 10 * SEC;
    e->tcfg.open_timeout_ns = 1 * SEC;
    e->tcfg.default_capacity = 1024 * 1024;
    e->now = T0;
    if (tp_transport_open(&e->t, &e->tcfg) != 0 ||
        tp_transport_add_subscription(e->t, "aeron:ipc", CTL, &e->sub) != 0 ||
        tp_transport_add_publication(e->t, "aeron:ipc", CTL, &e->pub) != 0) {
        fprintf(stderr, "env: %s\n", tp_errmsg());
        abort();
    }
    if (tp_context_init(&e->ctx) != 0 || tp_context_set_dir(e->ctx, e->tcfg.dir) != 0 ||
        tp_context_set_transport_timeouts(e->ctx, 10 * SEC, 10 * SEC, 1 * SEC) != 0 ||
        tp_context_add_allowed_dir(e->ctx, e->shm) != 0 ||
        tp_context_set_clock(e->ctx, env_clock, &e->now) != 0 ||
        tp_client_init(&e->client, e->ctx) != 0) {
        fprintf(stderr, "env: %s\n", tp_errmsg());
        abort();
    }
    return e;
}

static int env_start_driver(env_t *e)
{
    int rc = tp_driver_init(&e->d, &e->cfg, &e->tcfg, e->now);
    if (rc != 0)
        fprintf(stderr, "driver: %s\n", tp_errmsg());
    return rc;
}

static void env_stop_driver(env_t *e)
{
    tp_driver_close(e->d);
    e->d = NULL;
}

static void env_free(env_t *e)
{
    tp_client_close(e->client);
    tp_context_close(e->ctx);
    tp_driver_close(e->d);
    tp_transport_close(e->t);
    free(e);
}

/* Everybody's duty cycle at e->now until quiet. */
static void pump(env_t *e)
{
    for (int i = 0; i < 8; i++) {
        int w = 0;
        if (e->d)
            w += tp_driver_do_work(e->d, e->now);
        tp_transport_do_work(e->t, tp_clock_monotonic_ns());
        while (tp_subscription_poll(e->sub, on_test_msg, e, 256) > 0)
            w++;
        w += tp_client_do_work(e->client, e->now);
        if (w == 0 && i > 0)
            break;
    }
}

static void advance(env_t *e, uint64_t total, uint64_t step)
{
    for (uint64_t t = 0; t < total; t += step) {
        e->now += step;
        pump(e);
    }
}

/* Poll an attach until done (1) or error (-1), advancing the clock 10 ms per round. */
static int wait_attach(env_t *e, tp_driver_client_t *dc, int64_t id, tp_attach_t *att,
                       uint64_t max_ns)
{
    for (uint64_t t = 0; t <= max_ns; t += 10 * MS) {
        int r;
        pump(e);
        r = tp_driver_client_poll_attach(dc, id, att);
        if (r != 0)
            return r;
        e->now += 10 * MS;
    }
    return 0;
}

static int wait_detach(env_t *e, tp_driver_client_t *dc, int64_t id)
{
    for (int i = 0; i < 1000; i++) {
        int r;
        pump(e);
        r = tp_driver_client_poll_detach(dc, id);
        if (r != 0)
            return r;
        e->now += 10 * MS;
    }
    return 0;
}

static tp_attach_t *new_att(void) { return calloc(1, sizeof(tp_attach_t)); }

static tp_driver_client_t *new_dc(env_t *e, uint32_t client_id, tp_role_t role)
{
    tp_driver_client_t *dc = NULL;
    if (tp_driver_client_init(&dc, e->client, "aeron:ipc", CTL, client_id, role) != 0) {
        fprintf(stderr, "dc: %s\n", tp_errmsg());
        return NULL;
    }
    return dc;
}

static int64_t send_attach(tp_driver_client_t *dc, uint32_t stream)
{
    tp_attach_request_t req;
    tp_attach_request_init(&req);
    req.stream_id = stream;
    return tp_driver_client_send_attach(dc, &req);
}

/* Attach dc to CAM (or fail the test). */
static int attach_ok(env_t *e, tp_driver_client_t *dc, tp_attach_t *att)
{
    int64_t id = send_attach(dc, CAM);
    if (id <= 0)
        return -1;
    if (wait_attach(e, dc, id, att, 5 * SEC) != 1)
        return -1;
    return att->code == TP_RESPONSE_OK ? 0 : -1;
}

static tp_dc_counters_t counters(const tp_driver_client_t *dc)
{
    tp_dc_counters_t c;
    tp_dc_get_counters(dc, &c);
    return c;
}

/* ---- raw messages from the test -------------------------------------------------------------- */

static void offer_raw(env_t *e, const uint8_t *buf, int64_t len)
{
    TP_CHECK(len > 0);
    if (len > 0)
        TP_CHECK(tp_publication_offer(e->pub, buf, (size_t)len) >= 0);
}

enum bad {
    GOOD = 0,
    NULL_LEASE, NULL_STREAM, NULL_EPOCH, NULL_LAYOUT, NULL_NSLOTS, NULL_SLOT_BYTES,
    EMPTY_HEADER_URI, BAD_HEADER_URI, BLANK_HEADER_URI, SLOT_BYTES_128, EMPTY_POOLS,
    NSLOTS_MISMATCH, NSLOTS_NOT_POW2, BAD_STRIDE, EMPTY_POOL_URI, BAD_POOL_URI, BAD_COUNT
};

static const char *const bad_names[BAD_COUNT] = {
    "good", "null lease", "null stream", "null epoch", "null layout", "null nslots",
    "null slot bytes", "empty header uri", "bad header uri", "blank header uri", "slot bytes 128",
    "empty pools", "nslots mismatch", "nslots not pow2", "bad stride", "empty pool uri",
    "bad pool uri"};

/* A crafted ShmAttachResponse OK for corr (with one defect, or none). */
static void send_response(env_t *e, int64_t corr, int code, enum bad defect, uint64_t lease_id,
                          uint32_t node_id, uint16_t version)
{
    tp_sbe_driver_shm_attach_response_payload_pools_t pools[2];
    tp_sbe_driver_shm_attach_response_t m;
    static uint8_t buf[4096];
    int64_t n;

    memset(&m, 0, sizeof m);
    memset(pools, 0, sizeof pools);
    m.correlation_id = corr;
    m.code = code;
    m.lease_id = lease_id;
    m.lease_expiry_timestamp_ns = e->now + 3 * SEC;
    m.stream_id = CAM;
    m.epoch = 77;
    m.layout_version = 1;
    m.header_nslots = 8;
    m.header_slot_bytes = 256;
    m.node_id = node_id;
    pools[0].pool_id = 1;
    pools[0].pool_nslots = 8;
    pools[0].stride_bytes = 1024;
    pools[0].region_uri = tp_sbe_str("shm:file?path=/dev/shm/tp-dc-test/1.pool");
    pools[1].pool_id = 2;
    pools[1].pool_nslots = 8;
    pools[1].stride_bytes = 4096;
    pools[1].region_uri = tp_sbe_str("shm:file?path=/dev/shm/tp-dc-test/2.pool");
    m.payload_pools = tp_sbe_entries(pools, 2);
    m.header_region_uri = tp_sbe_str("shm:file?path=/dev/shm/tp-dc-test/header.ring");
    m.error_message = tp_sbe_str(code == 0 ? "" : "client_id already attached");
    switch (defect) {
    case NULL_LEASE: m.lease_id = UINT64_MAX; break;
    case NULL_STREAM: m.stream_id = UINT32_MAX; break;
    case NULL_EPOCH: m.epoch = UINT64_MAX; break;
    case NULL_LAYOUT: m.layout_version = UINT32_MAX; break;
    case NULL_NSLOTS: m.header_nslots = UINT32_MAX; break;
    case NULL_SLOT_BYTES: m.header_slot_bytes = 0xFFFF; break;
    case EMPTY_HEADER_URI: m.header_region_uri = tp_sbe_str(""); break;
    case BAD_HEADER_URI: m.header_region_uri = tp_sbe_str("file:///dev/shm/x"); break;
    case BLANK_HEADER_URI: m.header_region_uri = tp_sbe_str("   "); break;
    case SLOT_BYTES_128: m.header_slot_bytes = 128; break;
    case EMPTY_POOLS: m.payload_pools = tp_sbe_entries(pools, 0); break;
    case NSLOTS_MISMATCH: pools[1].pool_nslots = 16; break;
    case NSLOTS_NOT_POW2:
        m.header_nslots = 6;
        pools[0].pool_nslots = 6;
        pools[1].pool_nslots = 6;
        break;
    case BAD_STRIDE: pools[0].stride_bytes = 100; break;
    case EMPTY_POOL_URI: pools[1].region_uri = tp_sbe_str(""); break;
    case BAD_POOL_URI: pools[1].region_uri = tp_sbe_str("shm:file?path=relative/p"); break;
    default: break;
    }
    n = tp_sbe_driver_shm_attach_response_encode(buf, sizeof buf, &m);
    if (n > 0 && version != 1)
        buf[6] = (uint8_t)version; /* messageHeader.version (u16 LE at offset 6) */
    offer_raw(e, buf, n);
}

static void send_revoked(env_t *e, uint64_t lease, uint32_t stream, uint32_t client_id,
                         uint8_t role, uint8_t reason)
{
    tp_sbe_driver_shm_lease_revoked_t m;
    uint8_t buf[128];
    memset(&m, 0, sizeof m);
    m.timestamp_ns = e->now;
    m.lease_id = lease;
    m.stream_id = stream;
    m.client_id = client_id;
    m.role = role;
    m.reason = reason;
    offer_raw(e, buf, tp_sbe_driver_shm_lease_revoked_encode(buf, sizeof buf, &m));
}

static void send_raw_detach(env_t *e, uint64_t lease, uint32_t stream, uint32_t client_id,
                            uint8_t role)
{
    tp_sbe_driver_shm_detach_request_t m;
    uint8_t buf[128];
    memset(&m, 0, sizeof m);
    m.correlation_id = 0x7777000000000001ll;
    m.lease_id = lease;
    m.stream_id = stream;
    m.client_id = client_id;
    m.role = role;
    offer_raw(e, buf, tp_sbe_driver_shm_detach_request_encode(buf, sizeof buf, &m));
}

/* ---- attach --------------------------------------------------------------------------------- */

TP_TEST(test_client_d11_attach_ok_auto_client_id_d80_d82)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc;
    tp_lease_info_t li;
    int64_t id;

    TP_ASSERT(env_start_driver(e) == 0);
    dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    TP_ASSERT(dc != NULL);
    TP_CHECK(tp_dc_client_id(dc) != 0); /* D-82: chosen before the first request */
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_UNATTACHED);
    id = send_attach(dc, CAM);
    TP_ASSERT(id > 0);
    /* D-80: high half names the client, low half non-zero */
    TP_CHECK_EQ_U((uint64_t)id >> 32, tp_dc_client_id(dc) & 0x7FFFFFFFu);
    TP_CHECK(((uint64_t)id & 0xFFFFFFFFu) != 0);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_ATTACHING);
    TP_CHECK_EQ_I(send_attach(dc, CAM), -1); /* one in flight (D-55) */
    TP_CHECK_EQ_I(tp_errcode(), TP_ESTATE);
    TP_ASSERT(wait_attach(e, dc, id, att, 2 * SEC) == 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_OK);
    TP_CHECK_EQ_I(att->correlation_id, id);
    TP_CHECK_EQ_U(att->client_id, tp_dc_client_id(dc));
    TP_CHECK_EQ_U(e->last_attach_client_id, tp_dc_client_id(dc));
    TP_CHECK_EQ_U(att->stream_id, CAM);
    TP_CHECK_EQ_U(att->header_nslots, 8);
    TP_CHECK_EQ_U(att->header_slot_bytes, 256);
    TP_CHECK_EQ_U(att->pool_count, 2);
    TP_CHECK_EQ_U(att->pools[0].nslots, 8);
    TP_CHECK(att->header_region_uri[0] != '\0');
    TP_CHECK(att->lease_expiry_ns != TP_NULL_U64);
    TP_CHECK(att->node_id != TP_NULL_U32);
    TP_CHECK_EQ_I(tp_attach_validate(att), 0);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_ATTACHED);
    TP_ASSERT(tp_dc_attach(dc) != NULL);
    TP_CHECK_EQ_U(tp_dc_attach(dc)->lease_id, att->lease_id);
    tp_driver_client_lease(dc, &li);
    TP_CHECK_EQ_U(li.lease_id, att->lease_id);
    TP_CHECK_EQ_U(li.epoch, att->epoch);
    TP_CHECK(li.expiry_ns != TP_NULL_U64);
    TP_CHECK_EQ_U(tp_driver_lease_count(e->d), 1);
    /* the handle is forgotten once returned */
    TP_CHECK_EQ_I(tp_driver_client_poll_attach(dc, id, att), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    TP_CHECK_EQ_I(send_attach(dc, CAM), -1); /* a lease is held */
    TP_CHECK_EQ_I(tp_errcode(), TP_ESTATE);
    free(att);
    env_free(e);
}

TP_TEST(test_client_d38_every_error_code_surfaced)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *p1, *p2;
    tp_attach_request_t req;
    int64_t id;

    TP_ASSERT(env_start_driver(e) == 0);
    p1 = new_dc(e, 0, TP_ROLE_PRODUCER);
    p2 = new_dc(e, 0, TP_ROLE_PRODUCER);
    TP_ASSERT(p1 && p2);

    /* REJECTED: stream not provisioned */
    id = send_attach(p1, 99);
    TP_ASSERT(wait_attach(e, p1, id, att, SEC) == 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_REJECTED);
    TP_CHECK_STR(att->error_message, "stream not provisioned");
    TP_CHECK_EQ_I(tp_driver_client_state(p1), TP_LEASE_UNATTACHED);
    TP_CHECK_EQ_U(att->lease_id, TP_NULL_U64);

    /* REJECTED: layout_version mismatch */
    tp_attach_request_init(&req);
    req.stream_id = CAM;
    req.expected_layout_version = 2;
    id = tp_driver_client_send_attach(p1, &req);
    TP_ASSERT(wait_attach(e, p1, id, att, SEC) == 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_REJECTED);
    TP_CHECK_STR(att->error_message, "layout_version mismatch");

    /* UNSUPPORTED: publish mode */
    tp_attach_request_init(&req);
    req.stream_id = CAM;
    req.publish_mode = 7;
    id = tp_driver_client_send_attach(p1, &req);
    TP_ASSERT(wait_attach(e, p1, id, att, SEC) == 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_UNSUPPORTED);
    TP_CHECK_STR(att->error_message, "unsupported publish_mode");

    /* INVALID_PARAMS: hugepages policy */
    tp_attach_request_init(&req);
    req.stream_id = CAM;
    req.hugepages = 9;
    id = tp_driver_client_send_attach(p1, &req);
    TP_ASSERT(wait_attach(e, p1, id, att, SEC) == 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_INVALID_PARAMS);
    TP_CHECK_STR(att->error_message, "unknown hugepages policy");

    /* REJECTED: exclusive producer (D-43) */
    TP_ASSERT(attach_ok(e, p1, att) == 0);
    id = send_attach(p2, CAM);
    TP_ASSERT(wait_attach(e, p2, id, att, SEC) == 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_REJECTED);
    TP_CHECK_STR(att->error_message, "producer already attached");
    TP_CHECK_EQ_I(tp_driver_client_state(p2), TP_LEASE_UNATTACHED);
    free(att);
    env_free(e);
}

TP_TEST(test_client_d38_internal_error_surfaced)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc;
    char user[300], path[1200];
    int64_t id;

    /* A regular file where the driver wants the stream's directory: provisioning fails. */
    TP_ASSERT(env_start_driver(e) == 0);
    TP_ASSERT(tp_shm_user_dir_name(user, sizeof user) >= 0);
    snprintf(path, sizeof path, "%s/%s/%s/%u", e->shm, user, e->cfg.namespace_, CAM);
    {
        FILE *f = fopen(path, "w");
        TP_ASSERT(f != NULL);
        fclose(f);
    }
    dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    id = send_attach(dc, CAM);
    TP_ASSERT(wait_attach(e, dc, id, att, SEC) == 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_INTERNAL_ERROR);
    TP_CHECK(strstr(att->error_message, "provision") != NULL);
    free(att);
    env_free(e);
}

/* ---- D-14/D-18/D-20/D-41: OK responses that are protocol errors ---------------------------- */

TP_TEST(test_client_d18_d41_bad_ok_response_is_protocol_error_then_reattach)
{
    env_t *e = env_new(); /* no driver: the test answers */
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    int64_t id;

    TP_ASSERT(dc != NULL);
    id = send_attach(dc, CAM);
    TP_ASSERT(id > 0);
    pump(e);
    TP_CHECK_EQ_I(e->last_attach_corr, id);
    for (int b = 1; b < BAD_COUNT; b++) {
        uint64_t before = counters(dc).protocol_errors;
        uint64_t detaches = e->detach_requests;
        uint64_t attempts = e->attach_requests;
        uint64_t lease = 5000 + (uint64_t)b;
        send_response(e, e->last_attach_corr, 0, (enum bad)b, lease, 3, 1);
        pump(e);
        if (counters(dc).protocol_errors != before + 1)
            tp_test_fail(__FILE__, __LINE__, "defect '%s' not a protocol error", bad_names[b]);
        TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_BACKOFF);
        TP_CHECK_EQ_I(tp_driver_client_poll_attach(dc, id, att), 0); /* still pending */
        if (b != NULL_LEASE) { /* D-95: the granted lease is detached best effort */
            TP_CHECK_EQ_U(e->detach_requests, detaches + 1);
            TP_CHECK_EQ_U(e->last_detach_lease, lease);
        } else {
            TP_CHECK_EQ_U(e->detach_requests, detaches);
        }
        /* backoff, then a new attempt with a new correlation id (D-13, D-80) */
        advance(e, 6 * SEC, 50 * MS);
        TP_CHECK(e->attach_requests > attempts);
        TP_CHECK(e->last_attach_corr != id);
    }
    /* D-22 DECISION: nodeId null in an OK is "none", accepted */
    send_response(e, e->last_attach_corr, 0, GOOD, 4242, TP_NULL_U32, 1);
    TP_ASSERT(wait_attach(e, dc, id, att, SEC) == 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_OK);
    TP_CHECK_EQ_U(att->lease_id, 4242);
    TP_CHECK_EQ_U(att->node_id, TP_NULL_U32);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_ATTACHED);
    free(att);
    env_free(e);
}

TP_TEST(test_client_attach_validate_direct)
{
    tp_attach_t *a = new_att();
    a->code = 0;
    a->lease_id = 1;
    a->stream_id = 1;
    a->epoch = 1;
    a->layout_version = 1;
    a->header_nslots = 4;
    a->header_slot_bytes = 256;
    a->node_id = TP_NULL_U32;
    snprintf(a->header_region_uri, sizeof a->header_region_uri, "shm:file?path=/dev/shm/h");
    a->pool_count = 1;
    a->pools[0].pool_id = 1;
    a->pools[0].nslots = 4;
    a->pools[0].stride_bytes = 64;
    snprintf(a->pools[0].region_uri, sizeof a->pools[0].region_uri, "shm:file?path=/dev/shm/p");
    TP_CHECK_EQ_I(tp_attach_validate(a), 0);
    a->pool_count = 2;
    a->pools[1] = a->pools[0];
    TP_CHECK_EQ_I(tp_attach_validate(a), -1); /* duplicate pool id */
    TP_CHECK_EQ_I(tp_errcode(), TP_EMALFORMED);
    a->pools[1].pool_id = 2;
    TP_CHECK_EQ_I(tp_attach_validate(a), 0);
    a->pools[1].stride_bytes = 96;
    TP_CHECK_EQ_I(tp_attach_validate(a), -1);
    a->pools[1].stride_bytes = 32;
    TP_CHECK_EQ_I(tp_attach_validate(a), -1);
    a->pools[1].stride_bytes = 128;
    a->pool_count = TP_POOLS_PER_STREAM_MAX + 1;
    TP_CHECK_EQ_I(tp_attach_validate(a), -1);
    a->pool_count = 2;
    a->code = 3;
    TP_CHECK_EQ_I(tp_attach_validate(a), -1);
    TP_CHECK_EQ_I(tp_attach_validate(NULL), -1);
    free(a);
}

/* ---- D-80/D-81/D-34: matching ---------------------------------------------------------------- */

TP_TEST(test_client_d80_stale_ids_ignored_d81_duplicates_ignored_d34_version)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    int64_t id;

    TP_ASSERT(dc != NULL);
    id = send_attach(dc, CAM);
    pump(e);
    /* stale: an id of another run (other random low half) and of another client */
    send_response(e, id + 1000, 0, GOOD, 11, 1, 1);
    send_response(e, id ^ (1ll << 40), 0, GOOD, 12, 1, 1);
    send_response(e, id - 1, 3, GOOD, 13, 1, 1);
    /* D-34: schema version 2 is ignored even with the right id */
    send_response(e, id, 0, GOOD, 14, 1, 2);
    pump(e);
    TP_CHECK_EQ_U(counters(dc).responses_ignored, 3);
    TP_CHECK_EQ_U(counters(dc).notices_rejected, 1);
    TP_CHECK_EQ_I(tp_driver_client_poll_attach(dc, id, att), 0);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_ATTACHING);
    /* the right one */
    send_response(e, id, 0, GOOD, 15, 1, 1);
    TP_ASSERT(wait_attach(e, dc, id, att, SEC) == 1);
    TP_CHECK_EQ_U(att->lease_id, 15);
    /* D-81: duplicates (OK or not) after the accepted OK change nothing */
    {
        uint64_t detaches = e->detach_requests;
        send_response(e, id, 0, GOOD, 15, 1, 1);
        send_response(e, id, 3, GOOD, 15, 1, 1);
        pump(e);
        TP_CHECK_EQ_U(counters(dc).duplicates_ignored, 2);
        TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_ATTACHED);
        TP_CHECK_EQ_U(tp_dc_attach(dc)->lease_id, 15);
        TP_CHECK_EQ_U(e->detach_requests, detaches); /* same lease: not an orphan */
    }
    free(att);
    env_free(e);
}

TP_TEST(test_client_d13_attach_timeout_retries_with_backoff_then_driver_answers)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_config_t cfg;
    tp_driver_client_t *dc = NULL;
    int64_t id;

    tp_driver_client_config_init(&cfg);
    cfg.control_stream_id = CTL;
    cfg.attach_timeout_ns = 200 * MS;
    cfg.backoff_initial_ns = 100 * MS;
    cfg.backoff_max_ns = 400 * MS;
    TP_ASSERT(tp_driver_client_init_config(&dc, e->client, &cfg) == 0);
    id = send_attach(dc, CAM);
    TP_ASSERT(id > 0);
    TP_CHECK_EQ_I(wait_attach(e, dc, id, att, 3 * SEC), 0); /* no driver: pending */
    /* 3 s with 200 ms timeouts and 100..400 ms backoff: several attempts, capped spacing */
    TP_CHECK(counters(dc).attach_attempts >= 4);
    TP_CHECK(counters(dc).attach_attempts <= 12);
    TP_CHECK_EQ_U(e->attach_requests, counters(dc).attach_attempts);
    TP_ASSERT(env_start_driver(e) == 0);
    TP_ASSERT(wait_attach(e, dc, id, att, 3 * SEC) == 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_OK);
    TP_CHECK_EQ_U(tp_driver_lease_count(e->d), 1);
    free(att);
    env_free(e);
}

TP_TEST(test_client_d13_attach_deadline_times_out)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_config_t cfg;
    tp_driver_client_t *dc = NULL;
    int64_t id;

    tp_driver_client_config_init(&cfg);
    cfg.control_stream_id = CTL;
    cfg.attach_timeout_ns = 100 * MS;
    cfg.attach_deadline_ns = 1 * SEC;
    TP_ASSERT(tp_driver_client_init_config(&dc, e->client, &cfg) == 0);
    id = send_attach(dc, CAM);
    TP_CHECK_EQ_I(wait_attach(e, dc, id, att, 3 * SEC), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ETIMEOUT);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_UNATTACHED);
    /* a late OK for the abandoned request grants a lease nobody uses: detached (D-95) */
    {
        uint64_t detaches = e->detach_requests;
        send_response(e, id, 0, GOOD, 99, 1, 1);
        pump(e);
        TP_CHECK_EQ_U(e->detach_requests, detaches + 1);
        TP_CHECK_EQ_U(e->last_detach_lease, 99);
        TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_UNATTACHED);
    }
    /* and the driver client can attach again */
    TP_ASSERT(env_start_driver(e) == 0);
    TP_CHECK(attach_ok(e, dc, att) == 0);
    free(att);
    env_free(e);
}

/* ---- D-82 / D-95: client id already attached ------------------------------------------------- */

TP_TEST(test_client_d82_auto_id_collision_picks_new_id)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *autod, *fixed;
    uint32_t first;
    int64_t id;

    TP_ASSERT(env_start_driver(e) == 0);
    autod = new_dc(e, 0, TP_ROLE_CONSUMER);
    TP_ASSERT(autod != NULL);
    first = tp_dc_client_id(autod);
    fixed = new_dc(e, first, TP_ROLE_PRODUCER); /* takes the auto id first */
    TP_ASSERT(attach_ok(e, fixed, att) == 0);
    id = send_attach(autod, CAM);
    TP_ASSERT(wait_attach(e, autod, id, att, 3 * SEC) == 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_OK);
    TP_CHECK(tp_dc_client_id(autod) != first);
    TP_CHECK_EQ_U(att->client_id, tp_dc_client_id(autod));
    TP_CHECK_EQ_U(counters(autod).client_id_changes, 1);
    TP_CHECK_EQ_U(tp_driver_lease_count(e->d), 2);
    free(att);
    env_free(e);
}

TP_TEST(test_client_d95_fixed_id_collision_waits_then_reports)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *a, *b;
    uint64_t t0;
    int64_t id;

    TP_ASSERT(env_start_driver(e) == 0);
    a = new_dc(e, 500, TP_ROLE_PRODUCER);
    b = new_dc(e, 500, TP_ROLE_CONSUMER);
    TP_ASSERT(attach_ok(e, a, att) == 0);
    t0 = e->now;
    id = send_attach(b, CAM);
    TP_ASSERT(wait_attach(e, b, id, att, 20 * SEC) == 1);
    /* the D-95 window (default period 3 s + 1 keepalive interval) first, then the answer */
    TP_CHECK(e->now - t0 >= 4 * SEC);
    TP_CHECK(counters(b).d95_retries >= 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_REJECTED);
    TP_CHECK_STR(att->error_message, "client_id already attached");
    TP_CHECK_EQ_U(tp_dc_client_id(b), 500);
    TP_CHECK_EQ_I(tp_driver_client_state(a), TP_LEASE_ATTACHED); /* kept alive meanwhile */
    free(att);
    env_free(e);
}

TP_TEST(test_client_d95_lease_of_dead_earlier_run_waited_out)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_client_t *old_client = NULL;
    tp_driver_client_t *old_dc = NULL, *dc;
    int64_t id;

    TP_ASSERT(env_start_driver(e) == 0);
    /* an "earlier run" with id 600 on its own client, which then stops running */
    TP_ASSERT(tp_client_init(&old_client, e->ctx) == 0);
    TP_ASSERT(tp_driver_client_init(&old_dc, old_client, "aeron:ipc", CTL, 600,
                                    TP_ROLE_PRODUCER) == 0);
    id = send_attach(old_dc, CAM);
    for (int i = 0; i < 100 && tp_driver_client_state(old_dc) != TP_LEASE_ATTACHED; i++) {
        pump(e);
        tp_client_do_work(old_client, e->now);
    }
    TP_ASSERT(tp_driver_client_poll_attach(old_dc, id, att) == 1);
    TP_ASSERT(att->code == TP_RESPONSE_OK);
    /* the new run, same fixed id: rejected until the driver expires the old lease */
    dc = new_dc(e, 600, TP_ROLE_PRODUCER);
    id = send_attach(dc, CAM);
    TP_ASSERT(wait_attach(e, dc, id, att, 20 * SEC) == 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_OK);
    TP_CHECK(counters(dc).d95_retries >= 1);
    TP_CHECK_EQ_U(tp_dc_client_id(dc), 600);
    /* the dead run's driver client is closed without a pump: its detach is for a dead lease */
    tp_client_close(old_client);
    free(att);
    env_free(e);
}

/* ---- keepalive (D-29..D-31) ------------------------------------------------------------------ */

TP_TEST(test_client_d29_keepalives_keep_lease_alive)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc;
    tp_lease_event_t ev;
    tp_lease_info_t li1, li2;

    TP_ASSERT(env_start_driver(e) == 0);
    dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    TP_ASSERT(attach_ok(e, dc, att) == 0);
    tp_driver_client_lease(dc, &li1);
    /* 12 s = 4 expiry periods (1 s x 3 grace) */
    advance(e, 12 * SEC, 100 * MS);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_ATTACHED);
    TP_CHECK_EQ_U(tp_driver_lease_count(e->d), 1);
    TP_CHECK(counters(dc).keepalives_sent >= 11);
    TP_CHECK(counters(dc).keepalives_sent <= 13);
    TP_CHECK(tp_driver_counters(e->d)->keepalives >= 11);
    TP_CHECK_EQ_U(tp_driver_counters(e->d)->leases_expired, 0);
    TP_CHECK_EQ_I(tp_driver_client_poll_event(dc, &ev), 0);
    tp_driver_client_lease(dc, &li2);
    TP_CHECK(li2.expiry_ns > li1.expiry_ns); /* D-95: moves with each keepalive */
    free(att);
    env_free(e);
}

TP_TEST(test_client_d30_no_keepalive_expired_revoked_then_reattach)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc;
    tp_lease_event_t ev;
    uint64_t lease;

    TP_ASSERT(env_start_driver(e) == 0);
    dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    TP_ASSERT(attach_ok(e, dc, att) == 0);
    lease = att->lease_id;
    /* the driver runs, the client does not: the lease expires at the driver */
    for (int i = 0; i < 60; i++) {
        e->now += 100 * MS;
        tp_driver_do_work(e->d, e->now);
    }
    TP_CHECK_EQ_U(tp_driver_lease_count(e->d), 0);
    pump(e); /* the client sees ShmLeaseRevoked(EXPIRED) before it would send a keepalive */
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_REVOKED);
    TP_ASSERT(tp_driver_client_poll_event(dc, &ev) == 1);
    TP_CHECK_EQ_I(ev.kind, TP_EVENT_LEASE_REVOKED);
    TP_CHECK_EQ_U(ev.reason, TP_REVOKE_EXPIRED);
    TP_CHECK_EQ_U(ev.lease_id, lease);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_UNATTACHED); /* handled → cleared */
    TP_CHECK(attach_ok(e, dc, att) == 0);
    TP_CHECK(att->lease_id != lease);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_ATTACHED);
    free(att);
    env_free(e);
}

TP_TEST(test_client_d19_expiry_passed_locally_is_lease_lost)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc;
    tp_lease_event_t ev;
    uint64_t detaches;

    TP_ASSERT(env_start_driver(e) == 0);
    dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    TP_ASSERT(attach_ok(e, dc, att) == 0);
    tp_driver_close(e->d); /* gone without a notice */
    e->d = NULL;
    detaches = e->detach_requests;
    e->now += 10 * SEC; /* the application stalled past the expiry */
    pump(e);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_LOST);
    TP_CHECK_EQ_U(e->detach_requests, detaches + 1); /* D-95: given up best effort */
    TP_ASSERT(tp_driver_client_poll_event(dc, &ev) == 1);
    TP_CHECK_EQ_I(ev.kind, TP_EVENT_LEASE_LOST);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_UNATTACHED);
    free(att);
    env_free(e);
}

/* ---- revocation (D-57..D-64) ----------------------------------------------------------------- */

typedef struct seen {
    int n;
    tp_lease_event_t last;
} seen_t;

static void observe(void *clientd, const tp_lease_event_t *ev)
{
    seen_t *s = clientd;
    s->n++;
    s->last = *ev;
}

TP_TEST(test_client_d59_revoked_event_d64_duplicates_d62_unknown_rejected)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc;
    tp_lease_event_t ev;
    seen_t seen = {0};
    uint64_t lease;
    uint32_t cid;
    int owner;

    TP_ASSERT(env_start_driver(e) == 0);
    dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    TP_ASSERT(attach_ok(e, dc, att) == 0);
    tp_driver_client_set_event_handler(dc, observe, &seen);
    lease = att->lease_id;
    cid = tp_dc_client_id(dc);
    /* D-62: unknown reason / role for our lease: rejected, nothing changes */
    send_revoked(e, lease, CAM, cid, TP_ROLE_PRODUCER, 9);
    send_revoked(e, lease, CAM, cid, 7, TP_REVOKE_REVOKED);
    /* D-61: other leases, other clients */
    send_revoked(e, lease + 100, CAM, cid + 1, TP_ROLE_PRODUCER, TP_REVOKE_REVOKED);
    send_revoked(e, lease, CAM, cid + 1, TP_ROLE_CONSUMER, TP_REVOKE_REVOKED);
    pump(e);
    TP_CHECK_EQ_U(counters(dc).notices_rejected, 2);
    TP_CHECK_EQ_U(counters(dc).notices_ignored, 2);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_ATTACHED);
    TP_CHECK_EQ_I(seen.n, 0);
    /* someone detaches our lease at the driver: ShmLeaseRevoked(DETACHED) for our own lease */
    send_raw_detach(e, lease, CAM, cid, TP_ROLE_PRODUCER);
    pump(e);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_REVOKED);
    TP_CHECK_EQ_I(seen.n, 1);
    TP_CHECK_EQ_I(seen.last.kind, TP_EVENT_LEASE_REVOKED);
    TP_CHECK_EQ_U(seen.last.reason, TP_REVOKE_DETACHED);
    /* D-64: a repeat is idempotent */
    send_revoked(e, lease, CAM, cid, TP_ROLE_PRODUCER, TP_REVOKE_DETACHED);
    pump(e);
    TP_CHECK_EQ_I(seen.n, 1);
    /* an owner takes events itself */
    TP_CHECK_EQ_I(tp_dc_set_owner(dc, &owner), 0);
    TP_CHECK_EQ_I(tp_dc_set_owner(dc, &seen), -1);
    TP_CHECK_EQ_I(tp_driver_client_poll_event(dc, &ev), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ESTATE);
    TP_CHECK_EQ_I(tp_dc_take_event(dc, &seen, &ev), 0); /* not the owner */
    TP_ASSERT(tp_dc_take_event(dc, &owner, &ev) == 1);
    TP_CHECK_EQ_I(ev.kind, TP_EVENT_LEASE_REVOKED);
    TP_CHECK_EQ_U(ev.lease_id, lease);
    TP_CHECK_EQ_I(tp_dc_take_event(dc, &owner, &ev), 0);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_UNATTACHED);
    /* the owner reattaches with the request it first sent */
    {
        int64_t id = tp_driver_client_send_attach(dc, tp_dc_request(dc));
        TP_ASSERT(id > 0);
        TP_ASSERT(wait_attach(e, dc, id, att, 2 * SEC) == 1);
        TP_CHECK_EQ_I(att->code, TP_RESPONSE_OK);
        TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_ATTACHED);
    }
    TP_CHECK_EQ_I(tp_dc_set_owner(dc, NULL), 0);
    free(att);
    env_free(e);
}

TP_TEST(test_client_d60_consumer_sees_producer_revoked_once)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *p, *c;
    tp_lease_event_t ev;
    int64_t id;

    TP_ASSERT(env_start_driver(e) == 0);
    p = new_dc(e, 0, TP_ROLE_PRODUCER);
    c = new_dc(e, 0, TP_ROLE_CONSUMER); /* same client, same endpoint: one subscription */
    TP_ASSERT(attach_ok(e, p, att) == 0);
    TP_ASSERT(attach_ok(e, c, att) == 0);
    TP_CHECK(tp_dc_endpoint(p) == tp_dc_endpoint(c));
    id = tp_driver_client_send_detach(p);
    TP_ASSERT(id > 0);
    TP_CHECK_EQ_I(tp_driver_client_state(p), TP_LEASE_DETACHING);
    TP_ASSERT(wait_detach(e, p, id) == 1);
    TP_CHECK_EQ_I(tp_driver_client_state(p), TP_LEASE_UNATTACHED);
    TP_CHECK_EQ_I(counters(p).last_detach_code, TP_RESPONSE_OK);
    TP_CHECK_EQ_I(tp_driver_client_poll_event(p, &ev), 0); /* own detach: no event */
    TP_ASSERT(tp_driver_client_poll_event(c, &ev) == 1);
    TP_CHECK_EQ_I(ev.kind, TP_EVENT_PRODUCER_REVOKED);
    TP_CHECK_EQ_U(ev.reason, TP_REVOKE_DETACHED);
    TP_CHECK_EQ_I(tp_driver_client_state(c), TP_LEASE_ATTACHED); /* consumer lease intact */
    send_revoked(e, ev.lease_id, CAM, 1, TP_ROLE_PRODUCER, TP_REVOKE_DETACHED); /* repeat */
    pump(e);
    TP_CHECK_EQ_I(tp_driver_client_poll_event(c, &ev), 0);
    free(att);
    env_free(e);
}

/* ---- shutdown (D-68) -------------------------------------------------------------------------- */

TP_TEST(test_client_d68_driver_shutdown_event_then_reattach_after_restart)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc, *dc2;
    tp_lease_event_t ev;

    TP_ASSERT(env_start_driver(e) == 0);
    dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    dc2 = new_dc(e, 0, TP_ROLE_CONSUMER);
    TP_ASSERT(attach_ok(e, dc, att) == 0);
    TP_ASSERT(attach_ok(e, dc2, att) == 0);
    tp_driver_shutdown(e->d, TP_SHUTDOWN_ADMIN, "maintenance", e->now);
    for (int i = 0; i < 100 && !tp_driver_done(e->d); i++)
        advance(e, 100 * MS, 100 * MS);
    TP_ASSERT(tp_driver_done(e->d));
    pump(e);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_SHUTDOWN);
    TP_CHECK_EQ_I(tp_driver_client_state(dc2), TP_LEASE_SHUTDOWN);
    TP_ASSERT(tp_driver_client_poll_event(dc, &ev) == 1);
    TP_CHECK_EQ_I(ev.kind, TP_EVENT_DRIVER_SHUTDOWN);
    TP_CHECK_EQ_U(ev.reason, TP_SHUTDOWN_ADMIN);
    TP_CHECK_STR(ev.message, "maintenance");
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_UNATTACHED);
    env_stop_driver(e);
    e->now += 5 * SEC;
    TP_ASSERT(env_start_driver(e) == 0);
    /* dc took its event; dc2 did not: the accepted attach clears SHUTDOWN all the same */
    TP_CHECK(attach_ok(e, dc, att) == 0);
    TP_CHECK(attach_ok(e, dc2, att) == 0);
    TP_CHECK_EQ_I(tp_driver_client_state(dc2), TP_LEASE_ATTACHED);
    TP_CHECK_EQ_I(tp_driver_client_poll_event(dc2, &ev), 0); /* stale event purged */
    free(att);
    env_free(e);
}

/* ---- detach (D-56) ---------------------------------------------------------------------------- */

TP_TEST(test_client_d56_detach_ok_and_unknown_lease)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc;
    tp_lease_event_t ev;
    int64_t id;

    TP_ASSERT(env_start_driver(e) == 0);
    dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    TP_CHECK_EQ_I(tp_driver_client_send_detach(dc), -1); /* no lease */
    TP_CHECK_EQ_I(tp_errcode(), TP_ESTATE);
    TP_ASSERT(attach_ok(e, dc, att) == 0);
    id = tp_driver_client_send_detach(dc);
    TP_ASSERT(id > 0);
    TP_ASSERT(wait_detach(e, dc, id) == 1);
    TP_CHECK_EQ_I(counters(dc).last_detach_code, TP_RESPONSE_OK);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_UNATTACHED);
    TP_CHECK_EQ_U(tp_driver_lease_count(e->d), 0);
    TP_CHECK_EQ_I(tp_driver_client_poll_detach(dc, id + 5), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    /* unknown lease: someone else ended it first; the driver answers REJECTED */
    TP_ASSERT(attach_ok(e, dc, att) == 0);
    send_raw_detach(e, att->lease_id, CAM, tp_dc_client_id(dc), TP_ROLE_PRODUCER);
    tp_driver_do_work(e->d, e->now); /* the driver ends it; the client has not seen it */
    id = tp_driver_client_send_detach(dc);
    TP_ASSERT(wait_detach(e, dc, id) == 1);
    TP_CHECK_EQ_I(counters(dc).last_detach_code, TP_RESPONSE_REJECTED);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_UNATTACHED);
    TP_CHECK_EQ_I(tp_driver_client_poll_event(dc, &ev), 0);
    /* no answer at all: done after the timeout */
    TP_ASSERT(attach_ok(e, dc, att) == 0);
    env_stop_driver(e);
    id = tp_driver_client_send_detach(dc);
    TP_CHECK_EQ_I(tp_driver_client_poll_detach(dc, id), 0);
    TP_ASSERT(wait_detach(e, dc, id) == 1);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_UNATTACHED);
    free(att);
    env_free(e);
}

/* ---- bounded response cache ------------------------------------------------------------------- */

TP_TEST(test_client_d81_bounded_cache_under_flood)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc;
    int64_t id;

    TP_ASSERT(env_start_driver(e) == 0);
    dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    /* many attach/detach cycles: the cache of finished ids never grows past its bound */
    for (int i = 0; i < 60; i++) {
        TP_ASSERT(attach_ok(e, dc, att) == 0);
        id = tp_driver_client_send_detach(dc);
        TP_ASSERT(wait_detach(e, dc, id) == 1);
    }
    TP_CHECK(counters(dc).recent_ids <= 32);
    /* a flood of unrelated responses while an attach is in flight */
    env_stop_driver(e);
    id = send_attach(dc, CAM);
    for (int batch = 0; batch < 50; batch++) {
        for (int i = 0; i < 100; i++)
            send_response(e, (int64_t)(0x100000000ll * (batch + 1) + i + 7), i % 2 ? 0 : 3, GOOD,
                          (uint64_t)i + 1000, 1, 1);
        pump(e);
    }
    TP_CHECK_EQ_U(counters(dc).responses_ignored, 5000);
    TP_CHECK(counters(dc).recent_ids <= 32);
    TP_CHECK_EQ_I(tp_driver_client_poll_attach(dc, id, att), 0);
    TP_ASSERT(env_start_driver(e) == 0);
    TP_ASSERT(wait_attach(e, dc, id, att, 5 * SEC) == 1);
    TP_CHECK_EQ_I(att->code, TP_RESPONSE_OK);
    free(att);
    env_free(e);
}

/* ---- lifecycle, arguments, close ------------------------------------------------------------- */

TP_TEST(test_client_lifecycle_and_arguments)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc = NULL;
    tp_driver_client_config_t cfg;
    int64_t id;

    TP_CHECK_EQ_I(tp_driver_client_init(&dc, e->client, "aeron:udp?endpoint=x:1", CTL, 0,
                                        TP_ROLE_PRODUCER), -1);
    TP_CHECK_EQ_I(tp_driver_client_init(&dc, e->client, "aeron:ipc", CTL, 0, (tp_role_t)3), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    tp_driver_client_config_init(&cfg);
    cfg.keepalive_interval_ns = 0;
    TP_CHECK_EQ_I(tp_driver_client_init_config(&dc, e->client, &cfg), -1);
    dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    TP_ASSERT(dc != NULL);
    TP_CHECK_EQ_I(send_attach(dc, 0), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    TP_CHECK_EQ_I(tp_driver_client_poll_attach(dc, 12345, att), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    TP_CHECK_STR(tp_dc_control_channel(dc), "aeron:ipc");
    TP_CHECK_EQ_U(tp_dc_control_stream_id(dc), CTL);
    TP_CHECK_EQ_I(tp_dc_role(dc), TP_ROLE_PRODUCER);
    TP_CHECK(tp_dc_client(dc) == e->client);
    TP_CHECK(tp_dc_attach(dc) == NULL);
    /* close with a lease held: detach sent without waiting (D-95) */
    TP_ASSERT(env_start_driver(e) == 0);
    TP_ASSERT(attach_ok(e, dc, att) == 0);
    {
        int owner;
        tp_dc_set_owner(dc, &owner);
        tp_driver_client_close(dc); /* refused: owned */
        TP_CHECK_EQ_I(tp_errcode(), TP_ESTATE);
        tp_dc_set_owner(dc, NULL);
    }
    tp_driver_client_close(dc);
    pump(e);
    TP_CHECK_EQ_U(tp_driver_lease_count(e->d), 0);
    /* a driver client left open is closed by tp_client_close (ASan checks the leak) */
    dc = new_dc(e, 0, TP_ROLE_CONSUMER);
    id = send_attach(dc, CAM);
    TP_CHECK(id > 0);
    tp_driver_client_close(NULL);
    free(att);
    env_free(e);
}

static int closed_handles;
static void close_handle(void *h)
{
    closed_handles++;
    free(h);
}

TP_TEST(test_client_close_closes_registered_handles)
{
    env_t *e = env_new();
    void *h1 = malloc(8), *h2 = malloc(8), *h3 = malloc(8);
    closed_handles = 0;
    TP_CHECK_EQ_I(tp_client_add_handle(e->client, h1, close_handle), 0);
    TP_CHECK_EQ_I(tp_client_add_handle(e->client, h2, close_handle), 0);
    TP_CHECK_EQ_I(tp_client_add_handle(e->client, h3, close_handle), 0);
    tp_client_remove_handle(e->client, h2);
    free(h2);
    TP_CHECK_EQ_I(tp_client_add_handle(e->client, NULL, close_handle), -1);
    TP_CHECK(tp_client_transport(e->client) != NULL);
    TP_CHECK(tp_client_context(e->client) == e->ctx);
    TP_CHECK_EQ_U(tp_client_now_ns(e->client), e->now);
    env_free(e);
    TP_CHECK_EQ_I(closed_handles, 2);
}

/* ---- context ---------------------------------------------------------------------------------- */

TP_TEST(test_client_context_setters_and_freeze)
{
    tp_context_t *ctx = NULL;
    tp_client_t *client = NULL;
    char dir[600];
    tp_transport_config_t tc;

    TP_ASSERT(tp_context_init(&ctx) == 0);
    TP_CHECK_EQ_U(tp_context_allowed_dir_count(ctx), 1);
    TP_CHECK(tp_context_allowed_dir(ctx, 0) != NULL);
    TP_CHECK(tp_context_allowed_dir(ctx, 1) == NULL);
    TP_CHECK_EQ_I(tp_context_add_allowed_dir(ctx, "relative"), -1);
    TP_CHECK_EQ_I(tp_context_add_allowed_dir(ctx, "/nonexistent/dir/x"), -1);
    TP_CHECK_EQ_U(tp_context_allowed_dir_count(ctx), 1); /* default still there */
    snprintf(dir, sizeof dir, "%s/ctx", tp_test_tmpdir());
    mkdir(dir, 0700);
    TP_CHECK_EQ_I(tp_context_add_allowed_dir(ctx, dir), 0);
    TP_CHECK_EQ_U(tp_context_allowed_dir_count(ctx), 1); /* replaced the default */
    {
        char canon[4096];
        TP_ASSERT(realpath(dir, canon) != NULL);
        TP_CHECK_STR(tp_context_allowed_dir(ctx, 0), canon);
    }
    for (int i = 1; i < (int)TP_CONTEXT_ALLOWED_DIRS_MAX; i++)
        TP_CHECK_EQ_I(tp_context_add_allowed_dir(ctx, "/tmp"), 0);
    TP_CHECK_EQ_I(tp_context_add_allowed_dir(ctx, "/tmp"), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ETOOBIG);
    TP_CHECK_EQ_I(tp_context_clear_allowed_dirs(ctx), 0);
    TP_CHECK_EQ_U(tp_context_allowed_dir_count(ctx), 0);
    TP_CHECK_EQ_I(tp_context_set_dir(ctx, ""), -1);
    snprintf(dir, sizeof dir, "%s/ctx/transport", tp_test_tmpdir());
    TP_CHECK_EQ_I(tp_context_set_dir(ctx, dir), 0);
    TP_CHECK_STR(tp_context_dir(ctx), dir);
    TP_CHECK_EQ_I(tp_context_set_transport_timeouts(ctx, 7, 0, 9), 0);
    tp_context_transport_config(ctx, &tc);
    TP_CHECK_EQ_U(tc.liveness_timeout_ns, 7);
    TP_CHECK_EQ_U(tc.unblock_timeout_ns, 5 * SEC);
    TP_CHECK_EQ_U(tc.open_timeout_ns, 9);
    TP_CHECK_EQ_I(tp_context_set_transport_timeouts(ctx, 10 * SEC, 0, SEC), 0);
    TP_CHECK(tp_context_now_ns(ctx) > 0); /* default clock */
    TP_CHECK_EQ_I(tp_context_set_log_level(ctx, "loud"), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    TP_CHECK_EQ_I(tp_context_set_log_level(ctx, "warn"), 0);
    TP_CHECK_EQ_I(tp_log_level(), TP_LOG_WARN);
    TP_ASSERT(tp_client_init(&client, ctx) == 0);
    /* frozen */
    TP_CHECK_EQ_I(tp_context_set_dir(ctx, "/tmp"), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ESTATE);
    TP_CHECK_EQ_I(tp_context_add_allowed_dir(ctx, "/tmp"), -1);
    TP_CHECK_EQ_I(tp_context_set_clock(ctx, NULL, NULL), -1);
    TP_CHECK_EQ_I(tp_context_set_transport_timeouts(ctx, 1, 1, 1), -1);
    TP_CHECK_EQ_I(tp_context_clear_allowed_dirs(ctx), -1);
    TP_CHECK_EQ_I(tp_context_set_log_level(ctx, "info"), 0); /* process-wide: allowed */
    TP_CHECK(tp_client_do_work(client, tp_client_now_ns(client)) >= 0);
    tp_client_close(client);
    tp_context_close(ctx);
    tp_client_close(NULL);
    tp_context_close(NULL);
}

TP_TEST(test_client_context_env_log_level_malformed)
{
    tp_context_t *ctx = NULL;
    setenv("TP_LOG_LEVEL", "shouty", 1);
    TP_CHECK_EQ_I(tp_context_init(&ctx), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ECONFIG);
    TP_CHECK(strstr(tp_errmsg(), "TP_LOG_LEVEL") != NULL);
    unsetenv("TP_LOG_LEVEL");
    TP_ASSERT(tp_context_init(&ctx) == 0);
    tp_context_close(ctx);
}

TP_TEST(test_client_config_env)
{
    tp_driver_client_config_t cfg;
    setenv("TP_CONTROL_CHANNEL", "aeron:ipc?term-length=4m", 1);
    setenv("TP_CONTROL_STREAM_ID", "15000", 1);
    setenv("TP_CLIENT_ID", "77", 1);
    setenv("TP_KEEPALIVE_INTERVAL_NS", "bogus", 1);
    setenv("TP_ATTACH_TIMEOUT_NS", "5", 1);
    tp_driver_client_config_init(&cfg);
    TP_CHECK_STR(cfg.control_channel, "aeron:ipc?term-length=4m");
    TP_CHECK_EQ_U(cfg.control_stream_id, 15000);
    TP_CHECK_EQ_U(cfg.client_id, 77);
    TP_CHECK_EQ_U(cfg.keepalive_interval_ns, SEC); /* malformed: ignored */
    TP_CHECK_EQ_U(cfg.attach_timeout_ns, 5);
    unsetenv("TP_CONTROL_CHANNEL");
    unsetenv("TP_CONTROL_STREAM_ID");
    unsetenv("TP_CLIENT_ID");
    unsetenv("TP_KEEPALIVE_INTERVAL_NS");
    unsetenv("TP_ATTACH_TIMEOUT_NS");
    tp_driver_client_config_init(&cfg);
    TP_CHECK_STR(cfg.control_channel, "aeron:ipc");
    TP_CHECK_EQ_U(cfg.control_stream_id, 1000);
    TP_CHECK_EQ_U(cfg.client_id, 0);
    TP_CHECK_EQ_I(cfg.role, TP_ROLE_PRODUCER);
    TP_CHECK_EQ_U(cfg.attach_timeout_ns, 2 * SEC);
    TP_CHECK_EQ_U(cfg.default_lease_period_ns, 3 * SEC);
}

/* ---- names ------------------------------------------------------------------------------------ */

TP_TEST(test_client_names)
{
    TP_CHECK_STR(tp_role_name(TP_ROLE_PRODUCER), "PRODUCER");
    TP_CHECK_STR(tp_role_name(TP_ROLE_CONSUMER), "CONSUMER");
    TP_CHECK_STR(tp_role_name(0), "INVALID");
    TP_CHECK_STR(tp_response_code_name(TP_RESPONSE_REJECTED), "REJECTED");
    TP_CHECK_STR(tp_response_code_name(TP_RESPONSE_INTERNAL_ERROR), "INTERNAL_ERROR");
    TP_CHECK_STR(tp_response_code_name(5), "INVALID");
    TP_CHECK_STR(tp_revoke_reason_name(TP_REVOKE_EXPIRED), "EXPIRED");
    TP_CHECK_STR(tp_revoke_reason_name(0), "INVALID");
    TP_CHECK_STR(tp_shutdown_reason_name(TP_SHUTDOWN_NORMAL), "NORMAL");
    TP_CHECK_STR(tp_shutdown_reason_name(3), "INVALID");
    TP_CHECK_STR(tp_lease_state_name(TP_LEASE_ATTACHED), "ATTACHED");
    TP_CHECK_STR(tp_lease_state_name(TP_LEASE_LOST), "LOST");
    TP_CHECK_STR(tp_lease_state_name(8), "INVALID");
    TP_CHECK_STR(tp_mapping_state_name(TP_MAPPING_FALLBACK), "FALLBACK");
    TP_CHECK_STR(tp_mapping_state_name(-1), "INVALID");
    TP_CHECK_EQ_I(tp_drop_reason_count(), TP_DROP_COUNT);
    TP_CHECK(tp_drop_reason_count() <= (int)TP_DROP_REASONS_MAX);
    TP_CHECK_STR(tp_drop_reason_key(1), "not_committed");
    /* types.h declarations implemented by src/shm/tensor.c */
    TP_CHECK_EQ_U(tp_dtype_size(TP_DTYPE_FLOAT64), 8);
    TP_CHECK_STR(tp_dtype_name(TP_DTYPE_UINT8), "UINT8");
    TP_CHECK_EQ_I(tp_dtype_from_name("float32"), TP_DTYPE_FLOAT32);
}

/* ---- frame.c: W-74 -------------------------------------------------------------------------- */

#define NSLOTS 8
static _Alignas(4096) uint8_t ring_mem[64 + NSLOTS * 256];
static _Alignas(4096) uint8_t pool_mem[64 + NSLOTS * 256];

static void frame_from_claim(tp_frame_t *f, const tp_ring_t *r, uint64_t seq,
                             const uint8_t *payload, uint32_t len)
{
    memset(f, 0, sizeof *f);
    f->seq = seq;
    f->data = payload;
    f->len = len;
    f->priv_slot_ = tp_ring_slot(r, seq);
    f->priv_commit_word_ = tp_seq_commit_committed(seq);
}

TP_TEST(test_client_w074_frame_intact_and_copy)
{
    tp_ring_t ring;
    tp_pool_set_t pools;
    tp_tensor_desc_t d;
    tp_ring_claim_t c;
    tp_frame_t f, empty;
    uint8_t src[200], dst[256];
    int32_t dims[1] = {200};

    memset(ring_mem, 0, sizeof ring_mem);
    memset(pool_mem, 0, sizeof pool_mem);
    TP_ASSERT(tp_ring_init(&ring, ring_mem, sizeof ring_mem, NSLOTS) == 0);
    tp_pool_set_init(&pools);
    TP_ASSERT(tp_pool_set_add(&pools, 1, pool_mem, sizeof pool_mem, NSLOTS, 256) == 0);
    tp_tensor_desc_contiguous(&d, TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, dims);
    for (int i = 0; i < 200; i++)
        src[i] = (uint8_t)(i * 7);
    TP_ASSERT(tp_ring_write(&ring, &pools, 3, src, 200, 1, 0, &d) == 0);
    tp_ring_write_begin(&ring, &pools.pools[0], 3, &c); /* just to learn the payload address */
    tp_ring_write_header(&c, 200, 1, 0, &d);
    tp_ring_write_commit(&c);
    frame_from_claim(&f, &ring, 3, c.payload, 200);

    TP_CHECK_EQ_I(tp_frame_is_intact(&f), 1);
    TP_CHECK_EQ_I(tp_frame_copy(&f, dst, sizeof dst), 200);
    TP_CHECK_MEM(dst, src, 200);
    TP_CHECK_EQ_I(tp_frame_copy(&f, dst, 199), TP_FRAME_NO_SPACE);
    frame_from_claim(&empty, &ring, 3, c.payload, 0);
    TP_CHECK_EQ_I(tp_frame_copy(&empty, NULL, 0), 0); /* zero-length frame (W-62) */

    /* the producer laps: seq 3 + NSLOTS reuses the slot; while in progress (even word) ... */
    tp_ring_write_begin(&ring, &pools.pools[0], 3 + NSLOTS, &c);
    TP_CHECK_EQ_I(tp_frame_is_intact(&f), 0);
    TP_CHECK_EQ_I(tp_frame_copy(&f, dst, sizeof dst), TP_FRAME_TORN);
    /* ... and after its commit (another odd word) */
    tp_ring_write_header(&c, 10, 2, 0, &d);
    tp_ring_write_commit(&c);
    TP_CHECK_EQ_I(tp_frame_is_intact(&f), 0);
    TP_CHECK_EQ_I(tp_frame_copy(&f, dst, sizeof dst), TP_FRAME_TORN);
    /* the new frame itself is intact */
    frame_from_claim(&f, &ring, 3 + NSLOTS, c.payload, 10);
    TP_CHECK_EQ_I(tp_frame_is_intact(&f), 1);
}

/* ---- D-95 after a protocol error, abandon() ------------------------------------------------- */

TP_TEST(test_client_d95_auto_id_keeps_id_inside_window_then_d82)
{
    env_t *e = env_new(); /* no driver: the test answers */
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc = new_dc(e, 0, TP_ROLE_PRODUCER);
    uint32_t first;
    uint64_t t_err;
    int64_t id;

    TP_ASSERT(dc != NULL);
    first = tp_dc_client_id(dc);
    id = send_attach(dc, CAM);
    pump(e);
    /* a granted lease we cannot use (protocol error): detached best effort, window = expiry
     * (now + 3 s) + one keepalive interval */
    t_err = e->now;
    send_response(e, e->last_attach_corr, 0, SLOT_BYTES_128, 5000, 1, 1);
    pump(e);
    TP_CHECK_EQ_U(counters(dc).protocol_errors, 1);
    TP_CHECK_EQ_U(e->last_detach_lease, 5000);
    /* the detach was lost: the driver still says "client_id already attached" */
    while (e->now < t_err + 3 * SEC) {
        uint64_t n = e->attach_requests;
        advance(e, 50 * MS, 50 * MS);
        if (e->attach_requests != n) {
            send_response(e, e->last_attach_corr, 3, GOOD, 0, 1, 1);
            pump(e);
        }
    }
    TP_CHECK(counters(dc).d95_retries >= 1);
    TP_CHECK_EQ_U(tp_dc_client_id(dc), first); /* kept inside the window */
    TP_CHECK_EQ_U(counters(dc).client_id_changes, 0);
    /* after the window a rejection is a genuine collision: a new self-chosen id (D-82) */
    while (counters(dc).client_id_changes == 0 && e->now < t_err + 30 * SEC) {
        uint64_t n = e->attach_requests;
        advance(e, 50 * MS, 50 * MS);
        if (e->attach_requests != n) {
            send_response(e, e->last_attach_corr, 3, GOOD, 0, 1, 1);
            pump(e);
        }
    }
    TP_CHECK(e->now >= t_err + 4 * SEC);
    TP_CHECK_EQ_U(counters(dc).client_id_changes, 1);
    TP_CHECK(tp_dc_client_id(dc) != first);
    TP_CHECK_EQ_I(tp_driver_client_poll_attach(dc, id, att), 0); /* still going */
    free(att);
    env_free(e);
}

TP_TEST(test_client_d95_abandon_detaches_and_reattach_works)
{
    env_t *e = env_new();
    tp_attach_t *att = new_att();
    tp_driver_client_t *dc;
    tp_lease_event_t ev;
    uint64_t lease;

    TP_ASSERT(env_start_driver(e) == 0);
    dc = new_dc(e, 0, TP_ROLE_CONSUMER);
    TP_CHECK_EQ_I(tp_driver_client_abandon(dc), 0); /* nothing held: no-op */
    TP_ASSERT(attach_ok(e, dc, att) == 0);
    lease = att->lease_id;
    TP_CHECK_EQ_I(tp_driver_client_abandon(dc), 0);
    TP_CHECK_EQ_I(tp_driver_client_state(dc), TP_LEASE_UNATTACHED);
    pump(e);
    TP_CHECK_EQ_U(e->last_detach_lease, lease);
    TP_CHECK_EQ_U(tp_driver_lease_count(e->d), 0);
    TP_CHECK_EQ_I(tp_driver_client_poll_event(dc, &ev), 0); /* our own doing: no event */
    TP_CHECK(attach_ok(e, dc, att) == 0);
    TP_CHECK(att->lease_id != lease);
    free(att);
    env_free(e);
}

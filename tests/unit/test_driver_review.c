/*
 * Driver review tests (issue 4 review): deviations from DRIVER.md found in a rule-by-rule
 * review, and the robustness limits a hostile client must not get past (a bounded lease
 * table with a clean error, a bounded node-id table, no stream or SHM left behind by a
 * refused dynamic attach). Same harness as test_driver_protocol.c (test_driver_support.h).
 */
#include "test_driver_support.h"

#include <dirent.h>
#include <inttypes.h>

/* The limits live in driver_internal.h; these fallbacks let the tests build (and fail)
 * against a driver without them. */
#ifndef TP_DRV_MAX_LEASES
#define TP_DRV_MAX_LEASES 4096u
#endif
#ifndef TP_DRV_MAX_NODES
#define TP_DRV_MAX_NODES 16384u
#endif

static h_t *started(void)
{
    h_t *h = h_new();
    if (h_start(h) != 0) {
        tp_test_fail(__FILE__, __LINE__, "driver start: %s", tp_errmsg());
        h_free(h);
        return NULL;
    }
    return h;
}

static void check_error_response(const tp_sbe_driver_shm_attach_response_t *r, const char *msg)
{
    TP_CHECK(data_is(r->error_message, msg));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_lease_id(r));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_stream_id(r));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_epoch(r));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_node_id(r));
    TP_CHECK_EQ_U(r->payload_pools.count, 0);
    TP_CHECK_EQ_U(r->header_region_uri.length, 0);
}

/* Number of entries (epoch directories) under the stream's directory; -1 when it is absent. */
static int stream_dir_entries(h_t *h, uint32_t stream)
{
    char e[1024];
    DIR *dir;
    struct dirent *de;
    int n = 0;
    tp_shm_epoch_dir(e, sizeof e, h->shm, "default", stream, 1);
    *strrchr(e, '/') = '\0';
    dir = opendir(e);
    if (dir == NULL)
        return -1;
    while ((de = readdir(dir)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(dir);
    return n;
}

/* ---- D-10: the lease table is bounded; a full table refuses cleanly --------------------- */

TP_TEST(test_driver_d010_lease_table_full_rejected_cleanly)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r, first;
    uint32_t max = TP_DRV_MAX_LEASES, c;
    uint64_t epoch;
    h->cfg.lease_expiry_grace_intervals = 1000; /* nothing expires during the test */
    TP_ASSERT(h_start(h) == 0);
    TP_ASSERT(h_attach(h, 1, CAM, 1, CONSUMER, &first) == RC_OK);
    for (c = 2; c <= max; c++) {
        if (h_attach(h, (int64_t)c, CAM, c, CONSUMER, NULL) != RC_OK)
            break;
        if (c % 256 == 0)
            h_reset_queues(h);
    }
    TP_ASSERT(c == max + 1);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), max);
    h_reset_queues(h);
    epoch = tp_driver_stream_epoch(h->d, CAM);
    /* one more client: a clean refusal, no lease, no side effect */
    TP_CHECK_EQ_I(h_attach(h, 100000, CAM, 100000, PRODUCER, &r), RC_REJECTED);
    check_error_response(&r, "lease table full");
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), max);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(h->d, CAM), epoch); /* no producer epoch bump */
    TP_CHECK_EQ_U(tp_driver_stream_producer(h->d, CAM), 0);
    /* the clients holding leases are not disturbed */
    h_keepalive(h, first.lease_id, CAM, 1, CONSUMER);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->keepalives, 1);
    /* a freed entry is usable again */
    h_detach_send(h, 100001, first.lease_id, CAM, 1, CONSUMER);
    h_reset_queues(h);
    TP_CHECK_EQ_I(h_attach(h, 100002, CAM, 100000, PRODUCER, &r), RC_OK);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), max);
    h_free(h);
}

/* ---- D-22: the node-id table is bounded -------------------------------------------------- */

/* D-22 REF keeps one node id per clientId for the life of the process. A client that cycles
 * through distinct clientIds (attach, detach, next id) must not grow the table without
 * bound: beyond TP_DRV_MAX_NODES the oldest association of a client without a live lease is
 * forgotten. Clients holding a lease keep their node id (the MUST of D-22). */
TP_TEST(test_driver_d022_node_table_bounded)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r, keeper;
    uint32_t max = TP_DRV_MAX_NODES, total = max + 64;
    h->cfg.lease_expiry_grace_intervals = 100000;
    TP_ASSERT(h_start(h) == 0);
    TP_ASSERT(h_attach(h, 1, CAM, 1, CONSUMER, &keeper) == RC_OK); /* holds its lease */
    for (uint32_t c = 2; c <= total; c++) {
        TP_ASSERT(h_attach(h, (int64_t)c, CAM, c, CONSUMER, &r) == RC_OK);
        h_detach_send(h, (int64_t)c + 1000000, r.lease_id, CAM, c, CONSUMER);
        if (c % 128 == 0)
            h_reset_queues(h);
    }
    h_reset_queues(h);
    TP_CHECK(h->d->node_count <= max);
    TP_CHECK(h->d->node_cap <= max);
    /* the lease holder's association survived, and so does its node id */
    {
        tp_sbe_driver_shm_attach_request_t m = req(7, CAM, 9999999, CONSUMER);
        m.desired_node_id = keeper.node_id; /* reserved by client 1: refused */
        TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
        check_error_response(&r, "node_id unavailable");
    }
    /* a recent client still gets its id back */
    TP_ASSERT(h_attach(h, 8, CAM, total, CONSUMER, &r) == RC_OK);
    TP_CHECK_EQ_U(r.node_id, total);
    h_free(h);
}

/* ---- D-70, D-28 step 12: a refused dynamic attach leaves nothing behind ------------------ */

/* A dynamic stream created for a request that is then refused (here "node_id unavailable",
 * after the stream was provisioned at step 10) was never named to anyone: the driver
 * forgets it and removes its files, so repeated refused requests can neither exhaust
 * driver.stream_id_range nor fill the SHM filesystem. */
TP_TEST(test_driver_d070_refused_dynamic_attach_leaves_no_stream)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_attach_request_t m;
    h->cfg.allow_dynamic_streams = true;
    h->cfg.stream_id_range.set = true;
    h->cfg.stream_id_range.start = 20000;
    h->cfg.stream_id_range.end = 20001;
    TP_ASSERT(h_start(h) == 0);
    TP_ASSERT(h_attach(h, 1, CAM, 1, CONSUMER, &r) == RC_OK); /* reserves node id 1 */
    for (int i = 0; i < 4; i++) {
        m = req(10 + i, 999, 2, CONSUMER);
        m.publish_mode = TP_SBE_DRIVER_PUBLISH_MODE_EXISTING_OR_CREATE;
        m.desired_node_id = 1;
        TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
        check_error_response(&r, "node_id unavailable");
    }
    TP_CHECK_EQ_U(tp_driver_stream_epoch(h->d, 20000), 0);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(h->d, 20001), 0);
    TP_CHECK(stream_dir_entries(h, 20000) <= 0);
    TP_CHECK(stream_dir_entries(h, 20001) <= 0);
    h_reset_queues(h);
    /* the range is intact: two dynamic streams can still be created */
    m = req(20, 999, 3, PRODUCER);
    m.publish_mode = TP_SBE_DRIVER_PUBLISH_MODE_EXISTING_OR_CREATE;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_OK);
    m = req(21, 999, 4, PRODUCER);
    m.publish_mode = TP_SBE_DRIVER_PUBLISH_MODE_EXISTING_OR_CREATE;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_OK);
    h_free(h);
}

/* A configured stream provisioned by a refused request keeps its state, as in the
 * reference (D-28 step 12: the epoch was provisioned; the periodic announce covers it). */
TP_TEST(test_driver_d028_refused_attach_keeps_configured_stream)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_attach_request_t m;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 1, CONSUMER, &r) == RC_OK);
    h_detach_send(h, 2, r.lease_id, CAM, 1, CONSUMER); /* node id 1 stays reserved */
    m = req(3, CAM, 2, PRODUCER);
    m.desired_node_id = 1;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
    check_error_response(&r, "node_id unavailable");
    TP_CHECK(tp_driver_stream_epoch(h->d, CAM) != 0);
    h_free(h);
}

/* ---- D-67, D-94: the request's message, byte for byte (up to 1024 bytes) ---------------- */

TP_TEST(test_driver_d067_shutdown_request_message_bytes_kept)
{
    h_t *h = h_new();
    uint8_t buf[512];
    static const char text[] = "abc\0def";
    tp_sbe_driver_shm_driver_shutdown_request_t m;
    tp_sbe_driver_shm_driver_shutdown_t sd;
    h_msg_t *out;
    snprintf(h->cfg.shutdown_token, sizeof h->cfg.shutdown_token, "tok");
    h->cfg.shutdown_timeout_ms = 0;
    TP_ASSERT(h_start(h) == 0);
    memset(&m, 0, sizeof m);
    m.correlation_id = 1;
    m.reason = 1;
    m.token = tp_sbe_str("tok");
    m.error_message = tp_sbe_bytes(text, 7);
    h_send(h, buf, tp_sbe_driver_shm_driver_shutdown_request_encode(buf, sizeof buf, &m));
    h_pump(h);
    TP_ASSERT(tp_driver_done(h->d));
    out = h_next_ctl(h);
    TP_ASSERT(out != NULL);
    TP_ASSERT(tp_sbe_driver_shm_driver_shutdown_decode(out->b, out->n, &sd) > 0);
    TP_CHECK_EQ_U(sd.reason, 1);
    TP_CHECK_EQ_U(sd.error_message.length, 7);
    if (sd.error_message.length == 7)
        TP_CHECK_MEM(sd.error_message.data, text, 7);
    h_free(h);
}

/* ---- D-28 step 1 before step 2 ----------------------------------------------------------- */

TP_TEST(test_driver_d028_version_check_before_draining)
{
    h_t *h = started();
    uint8_t buf[256];
    tp_sbe_driver_shm_attach_request_t m = req(5, CAM, 5, CONSUMER);
    tp_sbe_driver_shm_attach_response_t r;
    int64_t n = tp_sbe_driver_shm_attach_request_encode(buf, sizeof buf, &m);
    h_msg_t *out;
    TP_ASSERT(h);
    tp_driver_shutdown(h->d, 0, NULL, h->now);
    h_drain(h);
    tp_put_u16(buf + 6, 2);
    h_send(h, buf, n);
    out = h_next_ctl(h);
    while (out != NULL && h_template(out) != TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_TEMPLATE_ID)
        out = h_next_ctl(h);
    TP_ASSERT(out != NULL);
    TP_ASSERT(tp_sbe_driver_shm_attach_response_decode(out->b, out->n, &r) > 0);
    TP_CHECK_EQ_I(r.code, RC_UNSUPPORTED);
    check_error_response(&r, "unsupported driver schema version");
    h_free(h);
}

/* ---- D-30: many leases expiring in one scan ---------------------------------------------- */

TP_TEST(test_driver_d030_many_leases_expire_in_one_scan)
{
    h_t *h = started();
    const uint32_t n = 300;
    TP_ASSERT(h);
    for (uint32_t c = 1; c <= n; c++) {
        TP_ASSERT(h_attach(h, (int64_t)c, CAM, c, CONSUMER, NULL) == RC_OK);
        if (c % 128 == 0)
            h_reset_queues(h);
    }
    h_reset_queues(h);
    h->now += 4 * SEC; /* one scan is due (T0 + 1 s was the first): every lease is past */
    tp_driver_do_work(h->d, h->now);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 0);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->leases_expired, n);
    h_free(h);
}

/* ---- D-21, D-94: truncation never throws the whole message away ------------------------- */

/* The cut backs off to a UTF-8 boundary, but a sequence has at most 3 continuation bytes:
 * text that is not UTF-8 (here 2000 continuation bytes) keeps 1021..1024 bytes, not 0. */
TP_TEST(test_driver_d021_truncation_of_non_utf8_text_keeps_1021_bytes)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_driver_shutdown_t sd;
    char *msg = malloc(2001);
    h_msg_t *m;
    h->cfg.shutdown_timeout_ms = 0;
    TP_ASSERT(h_start(h) == 0);
    memset(msg, 0x80, 2000);
    msg[2000] = '\0';
    tp_driver_shutdown(h->d, 2, msg, h->now);
    h_pump(h);
    TP_ASSERT(tp_driver_done(h->d));
    m = h_next_ctl(h);
    TP_ASSERT(m != NULL);
    TP_ASSERT(tp_sbe_driver_shm_driver_shutdown_decode(m->b, m->n, &sd) > 0);
    TP_CHECK(sd.error_message.length >= 1021 && sd.error_message.length <= 1024);
    free(msg);
    h_free(h);
}

/* ---- D-30: keepalives waiting in the control stream count before the expiry scan ------- */

/* A keepalive the client sent in time must not be lost because other clients' messages
 * (here 300 keepalives for unknown leases, more than one duty cycle polls) queue in front of
 * it when the scan is due: the driver reads the control stream up before judging expiry. */
TP_TEST(test_driver_d030_queued_keepalive_applied_before_expiry_scan)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_lease_keepalive_t k;
    uint8_t buf[128];
    int64_t n;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, &r) == RC_OK); /* expiry T0 + 3 s */
    for (int i = 0; i < 3; i++)
        h_advance(h, 1000 * MS); /* scans at T0 + 1, 2, 3 s: alive (now == expiry at 3 s) */
    TP_ASSERT(tp_driver_lease_count(h->d) == 1);
    memset(&k, 0, sizeof k);
    k.stream_id = CAM;
    k.client_id = 9;
    k.role = CONSUMER;
    for (int i = 0; i < 300; i++) {
        k.lease_id = 1000 + (uint64_t)i;
        n = tp_sbe_driver_shm_lease_keepalive_encode(buf, sizeof buf, &k);
        TP_ASSERT(tp_publication_offer(h->pub, buf, (size_t)n) >= 0);
    }
    k.lease_id = r.lease_id;
    k.client_id = 5;
    n = tp_sbe_driver_shm_lease_keepalive_encode(buf, sizeof buf, &k);
    TP_ASSERT(tp_publication_offer(h->pub, buf, (size_t)n) >= 0);
    h->now = T0 + 4 * SEC; /* the scan is due and the lease is past its expiry */
    tp_driver_do_work(h->d, h->now);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->keepalives, 1);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 1);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->leases_expired, 0);
    h_free(h);
}

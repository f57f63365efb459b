/*
 * Driver protocol tests (issue 4, DRIVER.md): a tp_driver_t driven in-process with raw
 * encoded messages over the transport and an injected clock. One or more tests per rule,
 * named after it. Harness: test_driver_support.h.
 */
#include "test_driver_support.h"

#include <signal.h>
#include <sys/wait.h>

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

/* ---- D-14, D-18, D-19, D-11: a complete OK response ------------------------------------- */

TP_TEST(test_driver_d014_attach_ok_fields_complete)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_attach_response_payload_pools_t e;
    tp_sbe_group_t g;
    int n = 0;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 77, CAM, 5, CONSUMER, &r) == RC_OK);
    TP_CHECK_EQ_I(r.correlation_id, 77);          /* D-12 */
    TP_CHECK_EQ_U(r.lease_id, 1);                  /* D-53 REF: from 1 */
    TP_CHECK_EQ_U(r.lease_expiry_timestamp_ns, T0 + 3000 * MS); /* D-19 REF */
    TP_CHECK_EQ_U(r.stream_id, CAM);
    TP_CHECK_EQ_U(r.epoch, T0);                    /* D-45: max(1, now) */
    TP_CHECK_EQ_U(r.layout_version, 1);
    TP_CHECK_EQ_U(r.header_nslots, 8);
    TP_CHECK_EQ_U(r.header_slot_bytes, 256);
    TP_CHECK_EQ_U(r.node_id, 1);                   /* D-22 DECISION */
    TP_CHECK(r.header_region_uri.length > 0);
    TP_CHECK_EQ_U(r.error_message.length, 0);
    TP_CHECK_EQ_U(r.payload_pools.count, 2);
    g = r.payload_pools;
    while (tp_sbe_driver_shm_attach_response_payload_pools_next(&g, &e) == 1) {
        tp_region_uri_t u;
        struct stat st;
        TP_CHECK_EQ_U(e.pool_nslots, r.header_nslots); /* D-18 */
        TP_CHECK_EQ_U(e.pool_id, n == 0 ? 1 : 2);
        TP_CHECK_EQ_U(e.stride_bytes, n == 0 ? 1024 : 4096);
        TP_CHECK(tp_region_uri_parse((const char *)e.region_uri.data, e.region_uri.length,
                                     &u) == 0);                       /* D-20 */
        TP_CHECK(!u.require_hugepages);
        TP_CHECK(stat(u.path, &st) == 0 && (uint64_t)st.st_size == 64 + 8ull * e.stride_bytes);
        n++;
    }
    TP_CHECK_EQ_I(n, 2);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->attach_responses[RC_OK], 1);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 1);
    h_free(h);
}

/* D-9 REF, WIRE W-23: superblocks written at provisioning: pid = driver, start = activity
 * = now; layout per W-173. */
TP_TEST(test_driver_d009_superblock_written_at_provisioning)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    tp_region_uri_t u;
    tp_superblock_t sb;
    char want[1024];
    int fd;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, &r) == RC_OK);
    TP_ASSERT(tp_region_uri_parse((const char *)r.header_region_uri.data,
                                  r.header_region_uri.length, &u) == 0);
    TP_ASSERT(tp_shm_epoch_dir(want, sizeof want, h->shm, "default", CAM, r.epoch) > 0);
    strcat(want, "/header.ring");
    TP_CHECK_STR(u.path, want); /* W-173 canonical layout */
    fd = open(u.path, O_RDONLY);
    TP_ASSERT(fd >= 0);
    TP_ASSERT(pread(fd, &sb, sizeof sb, 0) == (ssize_t)sizeof sb);
    close(fd);
    TP_CHECK_EQ_U(sb.magic, TP_SUPERBLOCK_MAGIC);
    TP_CHECK_EQ_U(sb.epoch, r.epoch);
    TP_CHECK_EQ_U(sb.stream_id, CAM);
    TP_CHECK_EQ_U(sb.region_type, TP_REGION_HEADER_RING);
    TP_CHECK_EQ_U(sb.nslots, 8);
    TP_CHECK_EQ_U(sb.slot_bytes, 256);
    TP_CHECK_EQ_U(sb.pid, (uint64_t)getpid());
    TP_CHECK_EQ_U(sb.start_timestamp_ns, T0);
    TP_CHECK_EQ_U(sb.activity_timestamp_ns, T0);
    h_free(h);
}

/* ---- D-15, D-21: error responses ---------------------------------------------------------- */

static void check_error_response(const tp_sbe_driver_shm_attach_response_t *r, const char *msg)
{
    TP_CHECK(data_is(r->error_message, msg));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_lease_id(r));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_lease_expiry_timestamp_ns(r));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_stream_id(r));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_epoch(r));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_layout_version(r));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_header_nslots(r));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_header_slot_bytes(r));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_node_id(r));
    TP_CHECK_EQ_U(r->payload_pools.count, 0);
    TP_CHECK_EQ_U(r->header_region_uri.length, 0);
}

TP_TEST(test_driver_d015_error_response_optionals_null)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    TP_ASSERT(h);
    TP_CHECK_EQ_I(h_attach(h, 9, 777, 5, CONSUMER, &r), RC_REJECTED);
    check_error_response(&r, "stream not provisioned");
    TP_CHECK_EQ_I(r.correlation_id, 9);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->attach_responses[RC_REJECTED], 1);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 0);
    h_free(h);
}

/* ---- D-23, D-25: configured streams and publishMode -------------------------------------- */

TP_TEST(test_driver_d023_configured_stream_not_announced_before_first_attach)
{
    h_t *h = started();
    TP_ASSERT(h);
    h_advance(h, 1500 * MS);
    h_advance(h, 1500 * MS);
    TP_CHECK_EQ_I(h_count_announces(h, CAM, NULL), 0);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(h->d, CAM), 0);
    TP_CHECK_EQ_I(h_attach(h, 1, CAM, 5, CONSUMER, NULL), RC_OK);
    TP_CHECK_EQ_I(h_count_announces(h, CAM, NULL), 1); /* D-47: right after the attach */
    h_free(h);
}

TP_TEST(test_driver_d023_configured_stream_any_publish_mode)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_request_t m;
    TP_ASSERT(h);
    m = req(1, CAM, 5, CONSUMER);
    m.publish_mode = TP_SBE_DRIVER_PUBLISH_MODE_REQUIRE_EXISTING;
    TP_CHECK_EQ_I(h_attach_req(h, &m, NULL), RC_OK); /* first attach provisions */
    m = req(2, CAM, 6, CONSUMER);
    m.publish_mode = TP_SBE_DRIVER_PUBLISH_MODE_NULL_VALUE;
    TP_CHECK_EQ_I(h_attach_req(h, &m, NULL), RC_OK);
    m = req(3, CAM, 7, CONSUMER);
    m.publish_mode = TP_SBE_DRIVER_PUBLISH_MODE_EXISTING_OR_CREATE;
    TP_CHECK_EQ_I(h_attach_req(h, &m, NULL), RC_OK);
    h_free(h);
}

TP_TEST(test_driver_d025_publish_mode_3_to_254_unsupported)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_attach_request_t m;
    TP_ASSERT(h);
    m = req(1, CAM, 5, CONSUMER);
    m.publish_mode = 3;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_UNSUPPORTED);
    check_error_response(&r, "unsupported publish_mode");
    m.correlation_id = 2;
    m.publish_mode = 254;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_UNSUPPORTED);
    check_error_response(&r, "unsupported publish_mode");
    m.correlation_id = 3;
    m.publish_mode = 0;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_UNSUPPORTED);
    h_free(h);
}

/* ---- D-26: hugepage policy --------------------------------------------------------------- */

TP_TEST(test_driver_d026_hugepages_policy_off)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_attach_request_t m;
    TP_ASSERT(h);
    m = req(1, CAM, 5, CONSUMER);
    m.require_hugepages = TP_SBE_DRIVER_HUGEPAGES_POLICY_HUGEPAGES;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
    check_error_response(&r, "hugepages required but unavailable");
    m.correlation_id = 2;
    m.require_hugepages = 3;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_INVALID);
    check_error_response(&r, "unknown hugepages policy");
    m.correlation_id = 3;
    m.require_hugepages = 255;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_INVALID);
    check_error_response(&r, "unknown hugepages policy");
    m.correlation_id = 4;
    m.require_hugepages = TP_SBE_DRIVER_HUGEPAGES_POLICY_STANDARD;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_OK);
    h_free(h);
}

TP_TEST(test_driver_d026_hugepages_policy_on)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_attach_request_t m;
    h->cfg.require_hugepages = true;
    if (h_start(h) != 0) {
        h_free(h);
        TP_SKIP("configuration with require_hugepages refused on this base dir");
    }
    m = req(1, CAM, 5, CONSUMER);
    m.require_hugepages = TP_SBE_DRIVER_HUGEPAGES_POLICY_STANDARD;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
    check_error_response(&r, "hugepages required by driver policy");
    /* UNSPECIFIED applies the policy; the test directory is not hugetlbfs, so provisioning
     * fails (D-28 step 10). */
    m.correlation_id = 2;
    m.require_hugepages = TP_SBE_DRIVER_HUGEPAGES_POLICY_UNSPECIFIED;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_INTERNAL);
    TP_CHECK(r.error_message.length > 0 &&
             memcmp(r.error_message.data, "failed to provision SHM: ", 25) == 0);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(h->d, CAM), 0);
    h_free(h);
}

/* ---- D-28: role check, order of the checks ----------------------------------------------- */

TP_TEST(test_driver_d028_invalid_role)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    const uint8_t roles[] = {0, 3, 200, 255};
    TP_ASSERT(h);
    for (unsigned i = 0; i < sizeof roles; i++) {
        TP_CHECK_EQ_I(h_attach(h, (int64_t)i, CAM, 5, roles[i], &r), RC_INVALID);
        check_error_response(&r, "invalid role");
    }
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 0);
    h_free(h);
}

TP_TEST(test_driver_d028_check_order)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_attach_request_t m;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 5, PRODUCER, NULL) == RC_OK);
    /* publish mode (3) before hugepages (4) */
    m = req(2, 999, 5, 9);
    m.publish_mode = 7;
    m.require_hugepages = 9;
    m.expected_layout_version = 2;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_UNSUPPORTED);
    check_error_response(&r, "unsupported publish_mode");
    /* hugepages (4) before role */
    m.correlation_id = 3;
    m.publish_mode = TP_SBE_DRIVER_PUBLISH_MODE_NULL_VALUE;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_INVALID);
    check_error_response(&r, "unknown hugepages policy");
    /* role before the client id (5) */
    m.correlation_id = 4;
    m.require_hugepages = 0;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_INVALID);
    check_error_response(&r, "invalid role");
    /* client id (5) before the stream (6) */
    m.correlation_id = 5;
    m.role = PRODUCER;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
    check_error_response(&r, "client_id already attached");
    /* stream (6) before the layout version (7) */
    m.correlation_id = 6;
    m.client_id = 6;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
    check_error_response(&r, "stream not provisioned");
    /* layout version (7) before the producer check (11) */
    m.correlation_id = 7;
    m.stream_id = CAM;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
    check_error_response(&r, "layout_version mismatch");
    m.correlation_id = 8;
    m.expected_layout_version = 1;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
    check_error_response(&r, "producer already attached");
    /* draining (2) before everything else */
    tp_driver_shutdown(h->d, 0, NULL, h->now);
    m.correlation_id = 9;
    m.publish_mode = 7;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
    check_error_response(&r, "driver draining");
    h_free(h);
}

/* D-24: expectedLayoutVersion 0 and 1 pass, others are REJECTED. */
TP_TEST(test_driver_d024_expected_layout_version)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_request_t m;
    tp_sbe_driver_shm_attach_response_t r;
    TP_ASSERT(h);
    m = req(1, CAM, 5, CONSUMER);
    m.expected_layout_version = 1;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_OK);
    TP_CHECK_EQ_U(r.layout_version, 1);
    m = req(2, CAM, 6, CONSUMER);
    m.expected_layout_version = 0xFFFFFFFFu;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
    check_error_response(&r, "layout_version mismatch");
    h_free(h);
}

/* D-27, D-28 step 8: a stream whose profile has no pools. A validated configuration never
 * has one, so the test empties the profile behind the driver's back. */
TP_TEST(test_driver_d027_profile_without_pools_invalid_params)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    TP_ASSERT(h);
    h->d->cfg.profiles[0].pool_count = 0;
    TP_CHECK_EQ_I(h_attach(h, 1, CAM, 5, CONSUMER, &r), RC_INVALID);
    check_error_response(&r, "stream has no payload pools");
    TP_CHECK_EQ_U(tp_driver_stream_epoch(h->d, CAM), 0);
    h_free(h);
}

/* ---- D-34: schema versions --------------------------------------------------------------- */

TP_TEST(test_driver_d034_newer_attach_version_unsupported)
{
    h_t *h = started();
    uint8_t buf[256];
    tp_sbe_driver_shm_attach_request_t m = req(41, CAM, 5, CONSUMER);
    tp_sbe_driver_shm_attach_response_t r;
    int64_t n = tp_sbe_driver_shm_attach_request_encode(buf, sizeof buf, &m);
    h_msg_t *out;
    TP_ASSERT(h);
    tp_put_u16(buf + 6, 2); /* version 2 */
    h_send(h, buf, n);
    out = h_next_ctl(h);
    TP_ASSERT(out != NULL);
    TP_ASSERT(tp_sbe_driver_shm_attach_response_decode(out->b, out->n, &r) > 0);
    TP_CHECK_EQ_I(r.code, RC_UNSUPPORTED);
    TP_CHECK_EQ_I(r.correlation_id, 41);
    check_error_response(&r, "unsupported driver schema version");
    /* a newer and longer block (extension) is answered the same way */
    {
        uint8_t big[300];
        memset(big, 0, sizeof big);
        memcpy(big, buf, (size_t)n);
        tp_put_u16(big, 40);
        tp_put_u16(big + 6, 3);
        h_send(h, big, 8 + 40 + 8);
        TP_CHECK_EQ_I(h_template(h_next_ctl(h)), TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_TEMPLATE_ID);
    }
    /* version 0 passes (D-34 REF: version <= 1) */
    tp_put_u16(buf + 6, 0);
    h_send(h, buf, n);
    out = h_next_ctl(h);
    TP_ASSERT(out != NULL);
    TP_ASSERT(tp_sbe_driver_shm_attach_response_decode(out->b, out->n, &r) > 0);
    TP_CHECK_EQ_I(r.code, RC_OK);
    h_free(h);
}

TP_TEST(test_driver_d034_newer_versions_of_other_requests_ignored)
{
    h_t *h = started();
    uint8_t buf[128];
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_detach_request_t dm;
    int64_t n;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, &r) == RC_OK);
    memset(&dm, 0, sizeof dm);
    dm.correlation_id = 2;
    dm.lease_id = r.lease_id;
    dm.stream_id = CAM;
    dm.client_id = 5;
    dm.role = CONSUMER;
    n = tp_sbe_driver_shm_detach_request_encode(buf, sizeof buf, &dm);
    tp_put_u16(buf + 6, 2);
    h_send(h, buf, n);
    TP_CHECK(h_next_ctl(h) == NULL);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 1);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->malformed, 1);
    h_free(h);
}

/* ---- D-54, D-43, D-44, D-45, D-48 -------------------------------------------------------- */

TP_TEST(test_driver_d054_duplicate_client_id_rejected)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r;
    h->cfg.streams[1] = h->cfg.streams[0];
    h->cfg.streams[1].stream_id = 43;
    snprintf(h->cfg.streams[1].name, sizeof h->cfg.streams[1].name, "cam2");
    h->cfg.stream_count = 2;
    TP_ASSERT(h_start(h) == 0);
    TP_ASSERT(h_attach(h, 1, CAM, 7, CONSUMER, NULL) == RC_OK);
    /* same client, any stream and role (D-54 REF) */
    TP_CHECK_EQ_I(h_attach(h, 2, CAM, 7, CONSUMER, &r), RC_REJECTED);
    check_error_response(&r, "client_id already attached");
    TP_CHECK_EQ_I(h_attach(h, 3, 43, 7, PRODUCER, &r), RC_REJECTED);
    check_error_response(&r, "client_id already attached");
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 1);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(h->d, 43), 0); /* nothing provisioned for it */
    h_free(h);
}

TP_TEST(test_driver_d043_second_producer_rejected)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 1, PRODUCER, NULL) == RC_OK);
    TP_CHECK_EQ_U(tp_driver_stream_producer(h->d, CAM), 1);
    TP_CHECK_EQ_I(h_attach(h, 2, CAM, 2, PRODUCER, &r), RC_REJECTED);
    check_error_response(&r, "producer already attached");
    TP_CHECK_EQ_I(h_attach(h, 3, CAM, 3, CONSUMER, NULL), RC_OK);
    TP_CHECK_EQ_I(h_attach(h, 4, CAM, 4, CONSUMER, NULL), RC_OK);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 3);
    h_free(h);
}

TP_TEST(test_driver_d044_producer_attach_bumps_epoch)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t c, p;
    tp_sbe_control_shm_pool_announce_t a;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, &c) == RC_OK);
    TP_ASSERT(h_decode_announce(h_next_ann(h), &a) == 0);
    TP_CHECK_EQ_U(a.producer_id, 0); /* D-48: no producer */
    TP_CHECK_EQ_U(a.epoch, c.epoch);
    TP_ASSERT(h_attach(h, 2, CAM, 9, PRODUCER, &p) == RC_OK);
    TP_CHECK_EQ_U(p.epoch, c.epoch + 1); /* D-45: max(prev + 1, now) with a still clock */
    TP_ASSERT(h_decode_announce(h_next_ann(h), &a) == 0);
    TP_CHECK_EQ_U(a.producer_id, 9); /* D-48 */
    TP_CHECK_EQ_U(a.epoch, p.epoch);
    TP_CHECK_EQ_U(a.announce_clock_domain, TP_SBE_CONTROL_CLOCK_DOMAIN_MONOTONIC);
    TP_CHECK_EQ_U(a.layout_version, 1);
    TP_CHECK_EQ_U(a.header_slot_bytes, 256);
    TP_CHECK_EQ_U(a.header_nslots, 8);
    TP_CHECK_EQ_U(a.payload_pools.count, 2);
    TP_CHECK_EQ_U(a.announce_timestamp_ns, h->now);
    TP_CHECK_EQ_U(a.header_region_uri.length, p.header_region_uri.length);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->epochs_bumped, 2);
    h_free(h);
}

TP_TEST(test_driver_d045_epoch_is_max_prev_plus_one_and_now)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 1, PRODUCER, &r) == RC_OK);
    TP_CHECK_EQ_U(r.epoch, T0 + 1); /* first epoch T0 (step 10), producer bump T0 + 1 */
    h_detach_send(h, 2, r.lease_id, CAM, 1, PRODUCER);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(h->d, CAM), T0 + 2);
    h->now += 5 * SEC;
    TP_ASSERT(h_attach(h, 3, CAM, 1, PRODUCER, &r) == RC_OK);
    TP_CHECK_EQ_U(r.epoch, T0 + 5 * SEC); /* the clock moved past prev + 1 */
    h_free(h);
}

/* ---- D-22: node ids ---------------------------------------------------------------------- */

TP_TEST(test_driver_d022_node_ids)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_attach_request_t m;
    uint64_t lease;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 10, CONSUMER, &r) == RC_OK);
    TP_CHECK_EQ_U(r.node_id, 1);
    lease = r.lease_id;
    TP_ASSERT(h_attach(h, 2, CAM, 11, CONSUMER, &r) == RC_OK);
    TP_CHECK_EQ_U(r.node_id, 2);
    /* a returning client gets its old id back */
    h_detach_send(h, 3, lease, CAM, 10, CONSUMER);
    h_drain(h);
    TP_ASSERT(h_attach(h, 4, CAM, 10, CONSUMER, &r) == RC_OK);
    TP_CHECK_EQ_U(r.node_id, 1);
    /* a desired id reserved by another client: REJECTED, and a lease id is used up */
    m = req(5, CAM, 12, CONSUMER);
    m.desired_node_id = 2;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
    check_error_response(&r, "node_id unavailable");
    /* a free desired id is granted */
    m.correlation_id = 6;
    m.desired_node_id = 500;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_OK);
    TP_CHECK_EQ_U(r.node_id, 500);
    TP_CHECK_EQ_U(r.lease_id, 5); /* 1, 2, 3 (client 10 again), 4 used up by the refusal */
    /* a desired id that differs from the client's own */
    h_detach_send(h, 7, r.lease_id, CAM, 12, CONSUMER);
    h_drain(h);
    m.correlation_id = 8;
    m.desired_node_id = 501;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
    check_error_response(&r, "node_id unavailable");
    m.correlation_id = 9;
    m.desired_node_id = 500;
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_OK);
    h_free(h);
}

TP_TEST(test_driver_d022_node_id_counter_skips_null)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    TP_ASSERT(h);
    h->d->next_node_id = 0xFFFFFFFEu;
    TP_ASSERT(h_attach(h, 1, CAM, 20, CONSUMER, &r) == RC_OK);
    TP_CHECK_EQ_U(r.node_id, 0xFFFFFFFEu);
    TP_ASSERT(h_attach(h, 2, CAM, 21, CONSUMER, &r) == RC_OK);
    TP_CHECK_EQ_U(r.node_id, 1); /* never 0xFFFFFFFF */
    TP_ASSERT(h_attach(h, 3, CAM, 22, CONSUMER, &r) == RC_OK);
    TP_CHECK_EQ_U(r.node_id, 2);
    h_free(h);
}

/* ---- D-53: lease ids --------------------------------------------------------------------- */

TP_TEST(test_driver_d053_lease_ids_unique_never_reused)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    uint64_t last = 0;
    TP_ASSERT(h);
    for (int i = 0; i < 5; i++) {
        TP_ASSERT(h_attach(h, 10 + i, CAM, 5, i % 2 ? PRODUCER : CONSUMER, &r) == RC_OK);
        TP_CHECK(r.lease_id > last);
        last = r.lease_id;
        h_detach_send(h, 100 + i, r.lease_id, CAM, 5, i % 2 ? PRODUCER : CONSUMER);
        h_drain(h);
        if (i == 2) { /* expiry ends leases too */
            TP_ASSERT(h_attach(h, 50, CAM, 6, CONSUMER, &r) == RC_OK);
            TP_CHECK(r.lease_id > last);
            last = r.lease_id;
            h_advance(h, 5 * SEC);
            h_drain(h);
        }
    }
    TP_CHECK_EQ_U(last, 6);
    h_free(h);
}

/* ---- D-30: keepalive and expiry ---------------------------------------------------------- */

TP_TEST(test_driver_d030_keepalive_extends_lease)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, &r) == RC_OK);
    h_advance(h, 2500 * MS);
    h_keepalive(h, r.lease_id, CAM, 5, CONSUMER); /* expiry -> T0 + 5.5 s */
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->keepalives, 1);
    h_advance(h, 1000 * MS); /* T0 + 3.5 s: past the first expiry */
    h_advance(h, 1000 * MS);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 1);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->leases_expired, 0);
    h_advance(h, 1000 * MS); /* T0 + 5.5 s: now == expiry, not yet (now > expiry) */
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 1);
    h_advance(h, 1000 * MS);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 0);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->leases_expired, 1);
    h_free(h);
}

TP_TEST(test_driver_d030_keepalive_unknown_lease_ignored)
{
    h_t *h = started();
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, NULL) == RC_OK);
    h_drain(h);
    h_keepalive(h, 999, CAM, 5, CONSUMER);
    TP_CHECK(h_next_ctl(h) == NULL);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->keepalives_unknown, 1);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->keepalives, 0);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 1);
    h_free(h);
}

TP_TEST(test_driver_d030_expiry_scan_once_per_keepalive_interval)
{
    h_t *h = started();
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, NULL) == RC_OK); /* expiry T0 + 3 s */
    /* scans at T0 + 1 s, 2 s, 3 s, 4 s ...: at T0 + 3.5 s the lease is past its expiry but
     * no scan is due before T0 + 4 s */
    for (int i = 0; i < 3; i++)
        h_advance(h, 1000 * MS);
    h_advance(h, 500 * MS);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 1);
    h_advance(h, 500 * MS);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 0);
    h_free(h);
}

/* D-42, D-57, D-58: producer expiry -> ShmLeaseRevoked(EXPIRED) -> epoch bump -> announce,
 * observed in one total order (announce stream = control stream here). */
TP_TEST(test_driver_d042_producer_expiry_revoke_bump_announce_order)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_lease_revoked_t rv;
    tp_sbe_control_shm_pool_announce_t a;
    h->cfg.announce_stream_id = CTL;
    TP_ASSERT(h_start(h) == 0);
    TP_ASSERT(h_attach(h, 1, CAM, 3, PRODUCER, &r) == RC_OK);
    h_drain(h);
    h->now += 3 * SEC; /* now == expiry: still alive (D-30: now > expiry) */
    h_pump(h);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 1);
    h_drain(h); /* periodic announces */
    h->now = T0 + 4 * SEC; /* the next scan ends it */
    h_pump(h);
    TP_ASSERT(h_decode_revoked(h_next_ctl(h), &rv) == 0);
    TP_CHECK_EQ_U(rv.lease_id, r.lease_id);
    TP_CHECK_EQ_U(rv.stream_id, CAM);
    TP_CHECK_EQ_U(rv.client_id, 3);
    TP_CHECK_EQ_U(rv.role, PRODUCER);
    TP_CHECK_EQ_U(rv.reason, TP_SBE_DRIVER_LEASE_REVOKE_REASON_EXPIRED);
    TP_CHECK_EQ_U(rv.error_message.length, 0);
    TP_ASSERT(h_decode_announce(h_next_ctl(h), &a) == 0);
    TP_CHECK(a.epoch > r.epoch);
    TP_CHECK_EQ_U(a.epoch, h->now); /* bumped: max(prev + 1, now) */
    TP_CHECK_EQ_U(a.producer_id, 0);
    TP_CHECK_EQ_U(tp_driver_stream_producer(h->d, CAM), 0);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->leases_expired, 1);
    /* D-46: a new producer gets a newer epoch still */
    TP_ASSERT(h_attach(h, 2, CAM, 4, PRODUCER, &r) == RC_OK);
    TP_CHECK(r.epoch > a.epoch);
    /* the driver reads its own output back from the shared stream: not malformed */
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->malformed, 0);
    h_free(h);
}

/* ---- D-56, D-57, D-58, D-64: detach ------------------------------------------------------ */

TP_TEST(test_driver_d056_detach_ok_order_and_fields)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_lease_revoked_t rv;
    tp_sbe_driver_shm_detach_response_t dr;
    tp_sbe_control_shm_pool_announce_t a;
    h->cfg.announce_stream_id = CTL;
    TP_ASSERT(h_start(h) == 0);
    TP_ASSERT(h_attach(h, 1, CAM, 3, PRODUCER, &r) == RC_OK);
    h_drain(h);
    h_detach_send(h, 55, r.lease_id, CAM, 3, PRODUCER);
    /* REF order: notice, epoch-bumped announce, then the response */
    TP_ASSERT(h_decode_revoked(h_next_ctl(h), &rv) == 0);
    TP_CHECK_EQ_U(rv.reason, TP_SBE_DRIVER_LEASE_REVOKE_REASON_DETACHED);
    TP_CHECK_EQ_U(rv.lease_id, r.lease_id);
    TP_ASSERT(h_decode_announce(h_next_ctl(h), &a) == 0);
    TP_CHECK_EQ_U(a.epoch, r.epoch + 1);
    TP_ASSERT(h_decode_detach(h_next_ctl(h), &dr) == 0);
    TP_CHECK_EQ_I(dr.correlation_id, 55);
    TP_CHECK_EQ_I(dr.code, RC_OK);
    TP_CHECK_EQ_U(dr.error_message.length, 0);
    TP_CHECK(h_next_ctl(h) == NULL);
    /* D-56, D-64: repeating it is safe: REJECTED "unknown lease", no second notice */
    h_detach_send(h, 56, r.lease_id, CAM, 3, PRODUCER);
    TP_ASSERT(h_decode_detach(h_next_ctl(h), &dr) == 0);
    TP_CHECK_EQ_I(dr.code, RC_REJECTED);
    TP_CHECK(data_is(dr.error_message, "unknown lease"));
    TP_CHECK(h_next_ctl(h) == NULL);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->revocations_sent, 1);
    h_free(h);
}

TP_TEST(test_driver_d056_detach_mismatch_rejected_unknown_lease)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_detach_response_t dr;
    struct { uint64_t lease; uint32_t stream, client; uint8_t role; } bad[5];
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 3, CONSUMER, &r) == RC_OK);
    h_drain(h);
    bad[0].lease = 999; bad[0].stream = CAM; bad[0].client = 3; bad[0].role = CONSUMER;
    bad[1] = bad[0]; bad[1].lease = r.lease_id; bad[1].stream = 43;
    bad[2] = bad[1]; bad[2].stream = CAM; bad[2].client = 4;
    bad[3] = bad[2]; bad[3].client = 3; bad[3].role = PRODUCER;
    bad[4] = bad[3]; bad[4].role = 7; /* outside the enum (DECISION) */
    for (int i = 0; i < 5; i++) {
        h_detach_send(h, 10 + i, bad[i].lease, bad[i].stream, bad[i].client, bad[i].role);
        TP_ASSERT(h_decode_detach(h_next_ctl(h), &dr) == 0);
        TP_CHECK_EQ_I(dr.correlation_id, 10 + i);
        TP_CHECK_EQ_I(dr.code, RC_REJECTED);
        TP_CHECK(data_is(dr.error_message, "unknown lease"));
    }
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 1);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->detaches_rejected, 5);
    h_free(h);
}

/* D-57: consumer lease end: notice, no epoch change, other leases untouched (D-61). */
TP_TEST(test_driver_d057_consumer_detach_notice_no_bump)
{
    h_t *h = started();
    tp_sbe_driver_shm_attach_response_t r1, r2;
    tp_sbe_driver_shm_lease_revoked_t rv;
    uint64_t epoch;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 3, CONSUMER, &r1) == RC_OK);
    TP_ASSERT(h_attach(h, 2, CAM, 4, CONSUMER, &r2) == RC_OK);
    epoch = tp_driver_stream_epoch(h->d, CAM);
    h_drain(h);
    h_detach_send(h, 3, r1.lease_id, CAM, 3, CONSUMER);
    TP_ASSERT(h_decode_revoked(h_next_ctl(h), &rv) == 0);
    TP_CHECK_EQ_U(rv.role, CONSUMER);
    TP_CHECK_EQ_U(rv.client_id, 3);
    TP_CHECK_EQ_U(rv.stream_id, CAM);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(h->d, CAM), epoch);
    TP_CHECK_EQ_I(h_count_announces(h, CAM, NULL), 0);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 1);
    h_free(h);
}

/* ---- D-47: announce cadence -------------------------------------------------------------- */

TP_TEST(test_driver_d047_periodic_announce_cadence)
{
    h_t *h = h_new();
    uint64_t epoch = 0;
    h->cfg.lease_expiry_grace_intervals = 100; /* no expiry (and its announce) in the way */
    TP_ASSERT(h_start(h) == 0);
    h_advance(h, 1000 * MS); /* first periodic tick: nothing has state yet */
    TP_ASSERT(h_attach(h, 1, CAM, 9, PRODUCER, NULL) == RC_OK);
    TP_CHECK_EQ_I(h_count_announces(h, CAM, &epoch), 1);
    h_advance(h, 999 * MS);
    TP_CHECK_EQ_I(h_count_announces(h, CAM, NULL), 0);
    h_advance(h, 1 * MS);
    TP_CHECK_EQ_I(h_count_announces(h, CAM, NULL), 1);
    for (int i = 0; i < 3; i++)
        h_advance(h, 1000 * MS);
    TP_CHECK_EQ_I(h_count_announces(h, CAM, NULL), 3);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->announces_sent, 5);
    h_free(h);
}

/* ---- D-65 .. D-68: shutdown -------------------------------------------------------------- */

TP_TEST(test_driver_d066_shutdown_request_ignored_without_configured_token)
{
    h_t *h = started();
    TP_ASSERT(h);
    h_shutdown_req(h, 1, 1, "", "");
    h_shutdown_req(h, 2, 1, "anything", "");
    h_advance(h, 10 * SEC);
    TP_CHECK(!tp_driver_done(h->d));
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->shutdown_requests_ignored, 2);
    TP_CHECK_EQ_I(h_attach(h, 3, CAM, 5, CONSUMER, NULL), RC_OK);
    h_free(h);
}

TP_TEST(test_driver_d066_shutdown_wrong_or_missing_token_ignored)
{
    h_t *h = h_new();
    snprintf(h->cfg.shutdown_token, sizeof h->cfg.shutdown_token, "s3cret");
    TP_ASSERT(h_start(h) == 0);
    h_shutdown_req(h, 1, 1, "wrong!", "");
    h_shutdown_req(h, 2, 1, "", "");
    h_shutdown_req(h, 3, 1, "s3cre", "");
    h_shutdown_req(h, 4, 1, "s3cret-", "");
    h_shutdown_req(h, 5, 9, "s3cret", ""); /* undefined reason (W-190) */
    h_advance(h, 10 * SEC);
    TP_CHECK(!tp_driver_done(h->d));
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->shutdown_requests_ignored, 5);
    h_free(h);
}

TP_TEST(test_driver_d067_shutdown_request_drain_then_notice)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_driver_shutdown_t sd;
    h_msg_t *m;
    snprintf(h->cfg.shutdown_token, sizeof h->cfg.shutdown_token, "s3cret");
    h->cfg.shutdown_timeout_ms = 500;
    TP_ASSERT(h_start(h) == 0);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, NULL) == RC_OK);
    h_drain(h);
    h_shutdown_req(h, 2, 1 /* ADMIN */, "s3cret", "maintenance");
    /* draining: a final announce, attaches rejected */
    TP_CHECK_EQ_I(h_count_announces(h, CAM, NULL), 1);
    TP_CHECK_EQ_I(h_attach(h, 3, CAM, 6, CONSUMER, &r), RC_REJECTED);
    check_error_response(&r, "driver draining");
    h_advance(h, 499 * MS);
    TP_CHECK(!tp_driver_done(h->d));
    h_drain(h);
    h_advance(h, 1 * MS);
    TP_CHECK(tp_driver_done(h->d));
    m = h_next_ctl(h);
    TP_ASSERT(m != NULL && h_template(m) == TP_SBE_DRIVER_SHM_DRIVER_SHUTDOWN_TEMPLATE_ID);
    TP_ASSERT(tp_sbe_driver_shm_driver_shutdown_decode(m->b, m->n, &sd) > 0);
    TP_CHECK_EQ_U(sd.reason, 1);
    TP_CHECK(data_is(sd.error_message, "maintenance"));
    TP_CHECK_EQ_U(sd.timestamp_ns, h->now);
    /* a second request changes nothing */
    h_shutdown_req(h, 4, 0, "s3cret", "again");
    TP_CHECK(h_next_ctl(h) == NULL);
    h_free(h);
}

TP_TEST(test_driver_d068_shutdown_api_truncates_message)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_driver_shutdown_t sd;
    char *msg = malloc(3000);
    h_msg_t *m;
    h->cfg.shutdown_timeout_ms = 0;
    TP_ASSERT(h_start(h) == 0);
    memset(msg, 'x', 2999);
    msg[2999] = '\0';
    msg[1023] = (char)0xC3; /* a 2-byte UTF-8 sequence across the 1024 limit */
    msg[1024] = (char)0xA9;
    tp_driver_shutdown(h->d, 0, msg, h->now);
    tp_driver_shutdown(h->d, 2, "second", h->now); /* ignored */
    h_pump(h);
    TP_CHECK(tp_driver_done(h->d));
    m = h_next_ctl(h);
    TP_ASSERT(m != NULL);
    TP_ASSERT(tp_sbe_driver_shm_driver_shutdown_decode(m->b, m->n, &sd) > 0);
    TP_CHECK_EQ_U(sd.reason, 0);
    TP_CHECK_EQ_U(sd.error_message.length, 1023); /* D-21, D-94: <= 1024, whole chars */
    free(msg);
    h_free(h);
}

/* ---- D-70: dynamic streams --------------------------------------------------------------- */

static h_t *dynamic_driver(bool allow, bool range)
{
    h_t *h = h_new();
    h->cfg.allow_dynamic_streams = allow;
    if (range) {
        h->cfg.stream_id_range.set = true;
        h->cfg.stream_id_range.start = 20000;
        h->cfg.stream_id_range.end = 20001;
    }
    if (h_start(h) != 0) {
        tp_test_fail(__FILE__, __LINE__, "start: %s", tp_errmsg());
        h_free(h);
        return NULL;
    }
    return h;
}

static tp_sbe_driver_shm_attach_request_t create_req(int64_t corr, uint32_t stream,
                                                     uint32_t client, uint8_t role)
{
    tp_sbe_driver_shm_attach_request_t m = req(corr, stream, client, role);
    m.publish_mode = TP_SBE_DRIVER_PUBLISH_MODE_EXISTING_OR_CREATE;
    return m;
}

TP_TEST(test_driver_d070_dynamic_stream_allocated_and_exhausted)
{
    h_t *h = dynamic_driver(true, true);
    tp_sbe_driver_shm_attach_response_t r1, r2, r;
    tp_sbe_driver_shm_attach_request_t m;
    tp_sbe_driver_shm_detach_response_t dr;
    tp_sbe_driver_shm_lease_revoked_t rv;
    TP_ASSERT(h);
    m = create_req(1, 999, 1, PRODUCER);
    TP_ASSERT(h_attach_req(h, &m, &r1) == RC_OK);
    TP_CHECK_EQ_U(r1.stream_id, 20000);
    TP_CHECK_EQ_U(tp_driver_stream_producer(h->d, 20000), 1);
    m = create_req(2, 999, 2, CONSUMER);
    TP_ASSERT(h_attach_req(h, &m, &r2) == RC_OK);
    TP_CHECK_EQ_U(r2.stream_id, 20001);
    m = create_req(3, 999, 3, CONSUMER);
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_INVALID);
    check_error_response(&r, "stream_id_range exhausted");
    /* an attach naming the allocated id finds the stream */
    TP_CHECK_EQ_I(h_attach(h, 4, 20000, 4, CONSUMER, NULL), RC_OK);
    /* REQUIRE_EXISTING for an unknown id is not provisioned */
    TP_CHECK_EQ_I(h_attach(h, 5, 998, 5, CONSUMER, &r), RC_REJECTED);
    check_error_response(&r, "stream not provisioned");
    h_drain(h);
    /* D-70 DECISION: the lease records the allocated id: detach with it works, the notice
     * carries it, the producer's end bumps the epoch */
    h_detach_send(h, 6, r1.lease_id, 20000, 1, PRODUCER);
    TP_ASSERT(h_decode_revoked(h_next_ctl(h), &rv) == 0);
    TP_CHECK_EQ_U(rv.stream_id, 20000);
    TP_ASSERT(h_decode_detach(h_next_ctl(h), &dr) == 0);
    TP_CHECK_EQ_I(dr.code, RC_OK);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(h->d, 20000), r1.epoch + 1);
    TP_CHECK_EQ_U(tp_driver_stream_producer(h->d, 20000), 0);
    h_free(h);
}

TP_TEST(test_driver_d070_forget_step_frees_dynamic_id)
{
    h_t *h = dynamic_driver(true, true);
    tp_sbe_driver_shm_attach_response_t r, r2;
    tp_sbe_driver_shm_attach_request_t m;
    TP_ASSERT(h);
    m = create_req(1, 999, 1, CONSUMER);
    TP_ASSERT(h_attach_req(h, &m, &r) == RC_OK);
    m = create_req(2, 999, 2, CONSUMER);
    TP_ASSERT(h_attach_req(h, &m, &r2) == RC_OK);
    TP_CHECK_EQ_U(r2.stream_id, 20001);
    h_detach_send(h, 3, r.lease_id, r.stream_id, 1, CONSUMER);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(h->d, 20000), 0); /* forgotten */
    m = create_req(4, 999, 3, CONSUMER);
    TP_ASSERT(h_attach_req(h, &m, &r) == RC_OK);
    TP_CHECK_EQ_U(r.stream_id, 20000); /* round robin wrapped to the freed id */
    h_free(h);
}

TP_TEST(test_driver_d070_dynamic_without_range_or_permission)
{
    h_t *h = dynamic_driver(true, false);
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_attach_request_t m = create_req(1, 999, 1, CONSUMER);
    TP_ASSERT(h);
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_INVALID);
    check_error_response(&r, "stream_id_range not configured");
    h_free(h);
    h = dynamic_driver(false, true);
    TP_ASSERT(h);
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_REJECTED);
    check_error_response(&r, "stream not provisioned");
    h_free(h);
}

/* D-70 REF forget step applies to configured streams too (allow_dynamic_streams = true):
 * the next attach re-creates the stream with a new epoch. */
TP_TEST(test_driver_d070_forget_step_configured_stream)
{
    h_t *h = dynamic_driver(true, true);
    tp_sbe_driver_shm_attach_response_t r;
    uint64_t e1;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 1, CONSUMER, &r) == RC_OK);
    e1 = r.epoch;
    h_detach_send(h, 2, r.lease_id, CAM, 1, CONSUMER);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(h->d, CAM), 0);
    TP_ASSERT(h_attach(h, 3, CAM, 1, CONSUMER, &r) == RC_OK);
    TP_CHECK(r.epoch > e1); /* the directory of e1 is still on disk: never reused */
    h_free(h);
}

/* ---- D-71, D-72: per-consumer streams ---------------------------------------------------- */

static void hello(h_t *h, uint32_t stream, uint32_t consumer, uint8_t mode, const char *dch,
                  uint32_t did, const char *cch, uint32_t cid)
{
    uint8_t *buf = malloc(512); /* heap: see h_shutdown_req */
    tp_sbe_control_consumer_hello_t m;
    memset(&m, 0, sizeof m);
    m.stream_id = stream;
    m.consumer_id = consumer;
    m.supports_shm = 1;
    m.supports_progress = 0;
    m.mode = mode;
    m.progress_interval_us = 0xFFFFFFFFu;
    m.progress_bytes_delta = 0xFFFFFFFFu;
    m.progress_major_delta_units = 0xFFFFFFFFu;
    m.descriptor_stream_id = did;
    m.control_stream_id = cid;
    m.descriptor_channel = tp_sbe_str(dch);
    m.control_channel = tp_sbe_str(cch);
    h_send(h, buf, tp_sbe_control_consumer_hello_encode(buf, 512, &m));
    free(buf);
}

static int next_config(h_t *h, tp_sbe_control_consumer_config_t *cc)
{
    h_msg_t *m = h_next_ctl(h);
    tp_sbe_header_t hd;
    if (m == NULL)
        return -1;
    h_hdr(m, &hd);
    if (hd.schema_id != TP_SBE_CONTROL_SCHEMA_ID ||
        hd.template_id != TP_SBE_CONTROL_CONSUMER_CONFIG_TEMPLATE_ID)
        return -1;
    return tp_sbe_control_consumer_config_decode(m->b, m->n, cc) < 0 ? -1 : 0;
}

static h_t *ranges_driver(void)
{
    h_t *h = h_new();
    h->cfg.descriptor_stream_id_range.set = true;
    h->cfg.descriptor_stream_id_range.start = 31000;
    h->cfg.descriptor_stream_id_range.end = 31001;
    h->cfg.control_stream_id_range.set = true;
    h->cfg.control_stream_id_range.start = 32000;
    h->cfg.control_stream_id_range.end = 32000;
    if (h_start(h) != 0) {
        tp_test_fail(__FILE__, __LINE__, "start: %s", tp_errmsg());
        h_free(h);
        return NULL;
    }
    return h;
}

TP_TEST(test_driver_d071_per_consumer_streams_assigned_reused_released)
{
    h_t *h = ranges_driver();
    tp_sbe_driver_shm_attach_response_t r5;
    tp_sbe_control_consumer_config_t cc;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, &r5) == RC_OK);
    TP_ASSERT(h_attach(h, 2, CAM, 6, CONSUMER, NULL) == RC_OK);
    TP_ASSERT(h_attach(h, 3, CAM, 7, CONSUMER, NULL) == RC_OK);
    h_drain(h);
    hello(h, CAM, 5, TP_SBE_CONTROL_MODE_RATE_LIMITED, "aeron:ipc", 1, "aeron:ipc", 1);
    TP_ASSERT(next_config(h, &cc) == 0);
    TP_CHECK_EQ_U(cc.stream_id, CAM);
    TP_CHECK_EQ_U(cc.consumer_id, 5);
    TP_CHECK_EQ_U(cc.descriptor_stream_id, 31000);
    TP_CHECK_EQ_U(cc.control_stream_id, 32000);
    TP_CHECK(data_is(cc.descriptor_channel, "aeron:ipc"));
    TP_CHECK(data_is(cc.control_channel, "aeron:ipc"));
    TP_CHECK_EQ_U(cc.mode, TP_SBE_CONTROL_MODE_RATE_LIMITED); /* DECISION: echoed */
    TP_CHECK_EQ_U(cc.use_shm, 1);
    TP_CHECK_EQ_U(cc.payload_fallback_uri.length, 0);
    /* repeated hello: same ids */
    hello(h, CAM, 5, TP_SBE_CONTROL_MODE_STREAM, "aeron:ipc", 9, "aeron:ipc", 9);
    TP_ASSERT(next_config(h, &cc) == 0);
    TP_CHECK_EQ_U(cc.descriptor_stream_id, 31000);
    TP_CHECK_EQ_U(cc.control_stream_id, 32000);
    TP_CHECK_EQ_U(cc.mode, TP_SBE_CONTROL_MODE_STREAM);
    /* second consumer: next descriptor id; the control range is exhausted (D-72) */
    hello(h, CAM, 6, TP_SBE_CONTROL_MODE_STREAM, "aeron:ipc", 1, "aeron:ipc", 1);
    TP_ASSERT(next_config(h, &cc) == 0);
    TP_CHECK_EQ_U(cc.descriptor_stream_id, 31001);
    TP_CHECK_EQ_U(cc.control_stream_id, 0);
    TP_CHECK_EQ_U(cc.control_channel.length, 0);
    /* third: both exhausted */
    hello(h, CAM, 7, TP_SBE_CONTROL_MODE_STREAM, "aeron:ipc", 1, "aeron:ipc", 1);
    TP_ASSERT(next_config(h, &cc) == 0);
    TP_CHECK_EQ_U(cc.descriptor_stream_id, 0);
    TP_CHECK_EQ_U(cc.descriptor_channel.length, 0);
    TP_CHECK_EQ_U(cc.control_stream_id, 0);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->consumer_configs_sent, 4);
    /* lease end releases consumer 5's ids */
    h_detach_send(h, 4, r5.lease_id, CAM, 5, CONSUMER);
    h_drain(h);
    hello(h, CAM, 7, TP_SBE_CONTROL_MODE_STREAM, "aeron:ipc", 1, "aeron:ipc", 1);
    TP_ASSERT(next_config(h, &cc) == 0);
    TP_CHECK_EQ_U(cc.descriptor_stream_id, 31000);
    TP_CHECK_EQ_U(cc.control_stream_id, 32000);
    h_free(h);
}

TP_TEST(test_driver_d071_hello_not_answered)
{
    h_t *h = ranges_driver();
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, NULL) == RC_OK);
    TP_ASSERT(h_attach(h, 2, CAM, 6, PRODUCER, NULL) == RC_OK);
    h_drain(h);
    hello(h, CAM, 5, TP_SBE_CONTROL_MODE_STREAM, "", 0, "", 0);         /* no request */
    hello(h, CAM, 5, TP_SBE_CONTROL_MODE_STREAM, "", 7, "", 7);         /* ids only */
    hello(h, CAM, 9, TP_SBE_CONTROL_MODE_STREAM, "aeron:ipc", 1, "", 0); /* no lease */
    hello(h, CAM, 6, TP_SBE_CONTROL_MODE_STREAM, "aeron:ipc", 1, "", 0); /* a producer */
    hello(h, 43, 5, TP_SBE_CONTROL_MODE_STREAM, "aeron:ipc", 1, "", 0);  /* other stream */
    hello(h, CAM, 5, 3, "aeron:ipc", 1, "", 0);                          /* undefined mode */
    TP_CHECK(h_next_ctl(h) == NULL);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->consumer_configs_sent, 0);
    h_free(h);
}

TP_TEST(test_driver_d071_invalid_request_and_no_range_declined)
{
    h_t *h = ranges_driver();
    tp_sbe_control_consumer_config_t cc;
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, NULL) == RC_OK);
    h_drain(h);
    /* W-104 REF: channel with id 0 (or the null) is invalid: everything declined */
    hello(h, CAM, 5, TP_SBE_CONTROL_MODE_STREAM, "aeron:ipc", 0, "aeron:ipc", 5);
    TP_ASSERT(next_config(h, &cc) == 0);
    TP_CHECK_EQ_U(cc.descriptor_stream_id, 0);
    TP_CHECK_EQ_U(cc.control_stream_id, 0);
    TP_CHECK_EQ_U(cc.descriptor_channel.length, 0);
    TP_CHECK_EQ_U(cc.control_channel.length, 0);
    hello(h, CAM, 5, TP_SBE_CONTROL_MODE_STREAM, "aeron:ipc", 0xFFFFFFFFu, "", 0);
    TP_ASSERT(next_config(h, &cc) == 0);
    TP_CHECK_EQ_U(cc.descriptor_stream_id, 0);
    h_free(h);
    /* no range configured: declined (D-71) */
    h = started();
    TP_ASSERT(h);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, NULL) == RC_OK);
    h_drain(h);
    hello(h, CAM, 5, TP_SBE_CONTROL_MODE_STREAM, "aeron:ipc", 3, "aeron:ipc", 4);
    TP_ASSERT(next_config(h, &cc) == 0);
    TP_CHECK_EQ_U(cc.descriptor_stream_id, 0);
    TP_CHECK_EQ_U(cc.control_stream_id, 0);
    TP_CHECK_EQ_U(cc.descriptor_channel.length, 0);
    h_free(h);
}

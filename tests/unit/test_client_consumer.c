/*
 * The consumer (include/tensorpool/consumer.h) against a real in-process driver.
 *
 * Frames are produced without the producer library: the test attaches a producer lease with
 * raw driver messages (test_driver_support.h), maps the regions read-write with tp_region_map,
 * writes slots with the ring writer (src/shm/ring.h) and offers raw FrameDescriptors on the
 * descriptor stream. The consumer runs on its own client/driver client with the context clock
 * injected (the harness's h->now), so lease expiry and freshness windows run in test time.
 */
#include "test_driver_support.h"

#include <stdlib.h>

#include "client/consumer_internal.h"
#include "shm/pool.h"
#include "shm/ring.h"
#include "tensorpool/consumer.h"
#include "tensorpool/context.h"
#include "tensorpool/driver_client.h"
#include "tensorpool/frame.h"

#define DESC 1100u
#define CCTL 1000u
#define QOS 1200u
#define META 1300u
#define PROD_ID 777u
#define MAXF 64

typedef struct got {
    int n;
    tp_frame_t f[MAXF];
    int intact[MAXF];
    int pattern_ok[MAXF];
    /* overwrite test */
    const tp_ring_t *ring;
    const tp_pool_set_t *ps;
    int overwrite;
    int64_t copy_rc;
    int64_t copy_small_rc;
} got_t;

typedef struct env {
    h_t *h;
    tp_context_t *ctx;
    tp_client_t *cl;
    tp_driver_client_t *dc;
    tp_consumer_t *c;
    tp_consumer_config_t cfg;
    /* test producer */
    uint64_t plase;
    uint64_t pepoch;
    uint32_t pclient;
    tp_region_t hdr;
    tp_region_t pools[4];
    uint32_t npools;
    tp_ring_t ring;
    tp_pool_set_t ps;
    tp_publication_t *desc_pub;
    tp_publication_t *ann_pub;
    tp_publication_t *cctl_pub;
    uint64_t last_ka;
    bool no_touch; /* the producer stops refreshing its activity timestamps */
    got_t got;
} env_t;

static uint64_t clock_fn(void *clientd)
{
    return ((h_t *)clientd)->now;
}

static void on_frame(void *clientd, const tp_frame_t *f)
{
    got_t *g = clientd;
    if (g->n >= MAXF)
        return;
    g->f[g->n] = *f;
    g->pattern_ok[g->n] = tp_pattern_verify(f->data, f->len, f->seq) == 0;
    if (g->overwrite) { /* the producer laps us while we hold the view (W-74) */
        tp_tensor_desc_t d;
        int32_t dims[1] = {16};
        uint8_t buf[16];
        tp_tensor_desc_contiguous(&d, TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, dims);
        tp_pattern_fill(buf, sizeof buf, f->seq + g->ring->nslots);
        tp_ring_write(g->ring, g->ps, f->seq + g->ring->nslots, buf, sizeof buf, 1, 0, &d);
        uint8_t small[4], big[4096];
        g->copy_small_rc = tp_frame_copy(f, small, f->len > 0 ? f->len - 1 : 0);
        g->copy_rc = tp_frame_copy(f, big, sizeof big);
    }
    g->intact[g->n] = tp_frame_is_intact(f);
    g->n++;
}

/* ---- driver + producer side ------------------------------------------------------------- */

static void producer_unmap(env_t *e)
{
    tp_region_unmap(&e->hdr);
    for (uint32_t i = 0; i < e->npools; i++)
        tp_region_unmap(&e->pools[i]);
    e->npools = 0;
}

/* Map the producer's regions from a raw attach response. */
static int producer_map(env_t *e, const tp_sbe_driver_shm_attach_response_t *r)
{
    tp_allowed_dirs_t ad;
    tp_region_expect_t x;
    tp_sbe_group_t g = r->payload_pools;
    tp_sbe_driver_shm_attach_response_payload_pools_t p;
    tp_allowed_dirs_init(&ad);
    if (tp_allowed_dirs_add(&ad, e->h->shm) != 0)
        return -1;
    producer_unmap(e);
    memset(&x, 0, sizeof x);
    x.region_type = TP_REGION_HEADER_RING;
    x.layout_version = 1;
    x.epoch = r->epoch;
    x.stream_id = r->stream_id;
    x.nslots = r->header_nslots;
    if (tp_region_map(&e->hdr, (const char *)r->header_region_uri.data,
                      r->header_region_uri.length, &ad, &x, true) != 0)
        return -1;
    tp_pool_set_init(&e->ps);
    while (tp_sbe_driver_shm_attach_response_payload_pools_next(&g, &p) > 0) {
        x.region_type = TP_REGION_PAYLOAD_POOL;
        x.pool_id = p.pool_id;
        x.stride_bytes = p.stride_bytes;
        if (tp_region_map(&e->pools[e->npools], (const char *)p.region_uri.data,
                          p.region_uri.length, &ad, &x, true) != 0)
            return -1;
        if (tp_pool_set_add(&e->ps, p.pool_id, e->pools[e->npools].base,
                            e->pools[e->npools].size, r->header_nslots, p.stride_bytes) != 0)
            return -1;
        e->npools++;
    }
    e->pepoch = r->epoch;
    e->plase = r->lease_id;
    return tp_ring_init(&e->ring, e->hdr.base, e->hdr.size, r->header_nslots);
}

static int producer_attach(env_t *e)
{
    tp_sbe_driver_shm_attach_response_t r;
    static int64_t corr = 5000;
    int rc;
    h_drain(e->h); /* earlier responses (the consumer's) are not this one */
    rc = h_attach(e->h, corr++, CAM, e->pclient, PRODUCER, &r);
    if (rc != RC_OK) {
        fprintf(stderr, "producer attach: code %d %.*s\n", rc, rc >= 0 ? (int)r.error_message.length : 0,
                rc >= 0 ? (const char *)r.error_message.data : "");
        return -1;
    }
    return producer_map(e, &r);
}

/* Producer duty: activity timestamps (D-9) and keepalives. */
static void producer_duty(env_t *e)
{
    if (e->npools > 0 && !e->no_touch) {
        tp_superblock_touch(tp_region_superblock(&e->hdr), e->h->now);
        for (uint32_t i = 0; i < e->npools; i++)
            tp_superblock_touch(tp_region_superblock(&e->pools[i]), e->h->now);
    }
    if (e->plase != 0 && e->h->now - e->last_ka >= 500 * MS) {
        h_keepalive(e->h, e->plase, CAM, e->pclient, PRODUCER);
        e->last_ka = e->h->now;
    }
}

/* Everybody's duty cycle at the current time. */
static void run(env_t *e, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        producer_duty(e);
        h_pump(e->h);
        if (e->c != NULL)
            tp_consumer_do_work(e->c, e->h->now);
        else
            tp_client_do_work(e->cl, e->h->now);
        if (e->h->cq.n > QMAX - 64 || e->h->aq.n > QMAX - 64)
            h_reset_queues(e->h);
    }
}

/* Advance time in steps, running everybody. */
static void advance(env_t *e, uint64_t ns, uint64_t step)
{
    for (uint64_t t = 0; t < ns; t += step) {
        e->h->now += step;
        run(e, 2);
    }
}

static int64_t send_raw(tp_publication_t *p, const void *b, int64_t n)
{
    int64_t r = -1;
    for (int i = 0; i < 100 && n > 0; i++) {
        r = tp_publication_offer(p, b, (size_t)n);
        if (r >= 0)
            break;
    }
    return r;
}

static int g_expect_unconnected; /* the shared descriptor stream has no subscriber */

static void send_desc(env_t *e, uint64_t epoch, uint64_t seq, uint64_t ts, tp_publication_t *p)
{
    tp_sbe_control_frame_descriptor_t d;
    uint8_t b[128];
    memset(&d, 0, sizeof d);
    d.stream_id = CAM;
    d.epoch = epoch;
    d.seq = seq;
    d.timestamp_ns = ts;
    d.meta_version = TP_NULL_U32;
    d.trace_id = 0;
    int64_t r = send_raw(p ? p : e->desc_pub, b,
                         tp_sbe_control_frame_descriptor_encode(b, sizeof b, &d));
    if (g_expect_unconnected && p == NULL)
        TP_CHECK_EQ_I(r, TP_PUB_NOT_CONNECTED); /* W-113: the shared subscription is gone */
    else
        TP_CHECK(r >= 0);
}

/* Write frame seq (1-D uint8, len bytes of the interop pattern) and publish its descriptor. */
static void produce_ts(env_t *e, uint64_t seq, uint32_t len, uint64_t desc_ts, uint64_t slot_ts)
{
    tp_tensor_desc_t d;
    int32_t dims[1] = {(int32_t)len};
    uint8_t buf[4096];
    tp_tensor_desc_contiguous(&d, TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, dims);
    tp_pattern_fill(buf, len, seq);
    TP_CHECK(tp_ring_write(&e->ring, &e->ps, seq, buf, len, slot_ts, 7, &d) == 0);
    send_desc(e, e->pepoch, seq, desc_ts, NULL);
}

static void produce(env_t *e, uint64_t seq)
{
    produce_ts(e, seq, 100, e->h->now, e->h->now);
}

static int poll_all(env_t *e)
{
    int n = 0, r;
    while ((r = tp_consumer_poll(e->c, on_frame, &e->got, 0)) > 0)
        n += r;
    TP_CHECK(r >= 0);
    return n;
}

static void cfg_defaults(env_t *e)
{
    tp_consumer_config_init(&e->cfg);
    e->cfg.announce_stream_id = ANN;
    e->cfg.control_stream_id = CCTL;
    e->cfg.descriptor_stream_id = DESC;
    e->cfg.qos_stream_id = QOS;
    e->cfg.metadata_stream_id = META;
    e->cfg.reattach_backoff_initial_ns = 10 * MS;
    e->cfg.reattach_backoff_max_ns = 100 * MS;
}

/* Driver + test producer + consumer client/driver client (attach sent, consumer not made). */
static env_t *env_new(void (*tweak)(h_t *))
{
    env_t *e = calloc(1, sizeof *e);
    e->h = h_new();
    if (tweak)
        tweak(e->h);
    e->pclient = PROD_ID;
    if (h_start(e->h) != 0) {
        fprintf(stderr, "driver: %s\n", tp_errmsg());
        return NULL;
    }
    if (tp_context_init(&e->ctx) != 0 || tp_context_set_dir(e->ctx, e->h->tcfg.dir) != 0 ||
        tp_context_set_transport_timeouts(e->ctx, 10 * SEC, 10 * SEC, 1 * SEC) != 0 ||
        tp_context_add_allowed_dir(e->ctx, e->h->shm) != 0 ||
        tp_context_set_clock(e->ctx, clock_fn, e->h) != 0 || tp_client_init(&e->cl, e->ctx) != 0 ||
        tp_driver_client_init(&e->dc, e->cl, "aeron:ipc", CTL, 0, TP_ROLE_CONSUMER) != 0) {
        fprintf(stderr, "client: %s\n", tp_errmsg());
        return NULL;
    }
    if (tp_transport_add_publication(e->h->t, "aeron:ipc", DESC, &e->desc_pub) != 0 ||
        tp_transport_add_publication(e->h->t, "aeron:ipc", ANN, &e->ann_pub) != 0 ||
        tp_transport_add_publication(e->h->t, "aeron:ipc", CCTL, &e->cctl_pub) != 0)
        return NULL;
    cfg_defaults(e);
    return e;
}

static int consumer_attach(env_t *e, tp_attach_t *att)
{
    tp_attach_request_t req;
    int64_t id;
    int rc = 0;
    tp_attach_request_init(&req);
    req.stream_id = CAM;
    id = tp_driver_client_send_attach(e->dc, &req);
    if (id < 0)
        return -1;
    for (int i = 0; i < 200 && (rc = tp_driver_client_poll_attach(e->dc, id, att)) == 0; i++)
        run(e, 1);
    return rc == 1 && att->code == TP_RESPONSE_OK ? 0 : -1;
}

/* The usual setup: driver, producer attached and mapped, consumer MAPPED. */
static env_t *env_up(void (*tweak)(h_t *), void (*cfg_tweak)(tp_consumer_config_t *))
{
    static tp_attach_t att;
    env_t *e = env_new(tweak);
    if (e == NULL)
        return NULL;
    if (producer_attach(e) != 0) {
        fprintf(stderr, "producer attach failed\n");
        return NULL;
    }
    if (consumer_attach(e, &att) != 0) {
        fprintf(stderr, "consumer attach failed: %s\n", tp_errmsg());
        return NULL;
    }
    if (cfg_tweak)
        cfg_tweak(&e->cfg);
    if (tp_consumer_init_from_attach(&e->c, &e->cfg, &att, e->dc) != 0) {
        fprintf(stderr, "consumer init: %s\n", tp_errmsg());
        return NULL;
    }
    run(e, 2);
    return e;
}

static void env_free(env_t *e)
{
    if (e == NULL)
        return;
    tp_consumer_close(e->c);
    tp_driver_client_close(e->dc);
    tp_client_close(e->cl);
    tp_context_close(e->ctx);
    producer_unmap(e);
    h_free(e->h);
    free(e);
}

static tp_consumer_stats_t stats(env_t *e)
{
    tp_consumer_stats_t s;
    tp_consumer_get_stats(e->c, &s);
    return s;
}

/* ---- tests ------------------------------------------------------------------------------- */

TP_TEST(test_client_consumer_frames_delivered_with_views)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), e->pepoch);
    TP_CHECK(tp_consumer_id(e->c) != 0);

    /* a 2-D float tensor with explicit strides in pool 2 */
    tp_tensor_desc_t d;
    int32_t dims[2] = {10, 20};
    static uint8_t buf[2000];
    tp_tensor_desc_contiguous(&d, TP_DTYPE_FLOAT32, TP_MAJOR_ROW, 2, dims);
    tp_pattern_fill(buf, 800, 0);
    TP_ASSERT(tp_ring_write(&e->ring, &e->ps, 0, buf, 800, 1234, 9, &d) == 0);
    send_desc(e, e->pepoch, 0, 5555, NULL);
    for (uint64_t s = 1; s < 5; s++)
        produce(e, s);
    TP_CHECK_EQ_I(poll_all(e), 5);
    TP_ASSERT(e->got.n == 5);
    const tp_frame_t *f = &e->got.f[0];
    TP_CHECK_EQ_U(f->seq, 0);
    TP_CHECK_EQ_U(f->epoch, e->pepoch);
    TP_CHECK_EQ_U(f->stream_id, CAM);
    TP_CHECK_EQ_U(f->meta_version, 9);
    TP_CHECK_EQ_U(f->timestamp_ns, 1234);
    TP_CHECK_EQ_U(f->publish_timestamp_ns, 5555);
    TP_CHECK_EQ_I(f->dtype, TP_DTYPE_FLOAT32);
    TP_CHECK_EQ_I(f->major_order, TP_MAJOR_ROW);
    TP_CHECK_EQ_U(f->ndims, 2);
    TP_CHECK_EQ_I(f->dims[0], 10);
    TP_CHECK_EQ_I(f->dims[1], 20);
    TP_CHECK_EQ_I(f->dims[2], 0);
    TP_CHECK_EQ_I(f->strides[0], 80); /* W-45 inferred: 20 * 4 */
    TP_CHECK_EQ_I(f->strides[1], 4);
    TP_CHECK_EQ_I(f->strides[2], 0);
    TP_CHECK_EQ_U(f->len, 800);
    TP_CHECK_EQ_U(f->pool_id, 1);
    TP_CHECK_EQ_U(f->header_index, 0);
    for (int i = 0; i < 5; i++) {
        TP_CHECK_EQ_U(e->got.f[i].seq, (uint64_t)i);
        TP_CHECK(e->got.intact[i]);
        TP_CHECK(e->got.pattern_ok[i]);
    }
    TP_CHECK_EQ_U(e->got.f[1].len, 100);
    tp_consumer_stats_t s = stats(e);
    TP_CHECK_EQ_U(s.frames, 5);
    TP_CHECK_EQ_U(s.drops_gap, 0);
    TP_CHECK_EQ_U(s.drops_late, 0);
    TP_CHECK_EQ_U(s.last_seq_seen, 4);
    TP_CHECK_EQ_U(s.mode, TP_MODE_STREAM);
    /* a large frame goes to pool 2 */
    produce_ts(e, 5, 3000, TP_NULL_U64, 1);
    TP_CHECK_EQ_I(poll_all(e), 1);
    TP_CHECK_EQ_U(e->got.f[5].pool_id, 2);
    TP_CHECK_EQ_U(e->got.f[5].publish_timestamp_ns, TP_NULL_U64);
    TP_CHECK(e->got.pattern_ok[5]);
    /* descriptors of another stream on the shared stream are not ours */
    tp_sbe_control_frame_descriptor_t fd;
    uint8_t b[128];
    memset(&fd, 0, sizeof fd);
    fd.stream_id = CAM + 1;
    fd.epoch = e->pepoch;
    fd.seq = 6;
    send_raw(e->desc_pub, b, tp_sbe_control_frame_descriptor_encode(b, sizeof b, &fd));
    /* garbage on the descriptor stream is ignored */
    memset(b, 0xee, sizeof b);
    send_raw(e->desc_pub, b, 20);
    TP_CHECK_EQ_I(poll_all(e), 0);
    TP_CHECK_EQ_U(stats(e).drops_late, 0);
    env_free(e);
}

static void poke(env_t *e, uint64_t seq, size_t off, const void *v, size_t n)
{
    memcpy((uint8_t *)tp_ring_slot(&e->ring, seq) + off, v, n);
}

TP_TEST(test_client_consumer_w075_each_drop_reason_counted)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    uint64_t s = 0;
    struct {
        tp_drop_reason_t why;
        size_t off;
        uint32_t v;
        size_t n;
    } cases[] = {
        {TP_DROP_BAD_EMBEDDED_HEADER, offsetof(tp_slot_t, th_template_id), 99, 2},
        {TP_DROP_PAYLOAD_SLOT, offsetof(tp_slot_t, payload_slot), 5, 4},
        {TP_DROP_PAYLOAD_OFFSET, offsetof(tp_slot_t, payload_offset), 64, 4},
        {TP_DROP_DTYPE, offsetof(tp_slot_t, dtype), 12, 2},
        {TP_DROP_MAJOR_ORDER, offsetof(tp_slot_t, major_order), 7, 2},
        {TP_DROP_NDIMS, offsetof(tp_slot_t, ndims), 0, 1},
        {TP_DROP_POOL_UNKNOWN, offsetof(tp_slot_t, pool_id), 9, 2},
        {TP_DROP_LENGTH, offsetof(tp_slot_t, values_len_bytes), 5000, 4},
    };
    uint64_t late = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++, s++) {
        tp_tensor_desc_t d;
        int32_t dims[1] = {100};
        uint8_t buf[100];
        tp_tensor_desc_contiguous(&d, TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, dims);
        tp_pattern_fill(buf, sizeof buf, s);
        TP_ASSERT(tp_ring_write(&e->ring, &e->ps, s, buf, sizeof buf, 1, 0, &d) == 0);
        poke(e, s, cases[i].off, &cases[i].v, cases[i].n);
        send_desc(e, e->pepoch, s, TP_NULL_U64, NULL);
        TP_CHECK_EQ_I(poll_all(e), 0);
        late++;
        tp_consumer_stats_t st = stats(e);
        TP_CHECK_EQ_U(st.drops_by_reason[cases[i].why], 1);
        TP_CHECK_EQ_U(st.drops_late, late);
    }
    /* not committed: write begun, never committed */
    tp_ring_claim_t cl;
    tp_ring_write_begin(&e->ring, &e->ps.pools[0], s, &cl);
    send_desc(e, e->pepoch, s, TP_NULL_U64, NULL);
    TP_CHECK_EQ_I(poll_all(e), 0);
    TP_CHECK_EQ_U(stats(e).drops_by_reason[TP_DROP_NOT_COMMITTED], 1);
    s++;
    /* seq mismatch: the slot holds s, the descriptor names s + nslots */
    produce(e, s);
    TP_CHECK_EQ_I(poll_all(e), 1);
    send_desc(e, e->pepoch, s + 8, TP_NULL_U64, NULL);
    TP_CHECK_EQ_I(poll_all(e), 0);
    TP_CHECK_EQ_U(stats(e).drops_by_reason[TP_DROP_SEQ_MISMATCH], 1);
    /* stale slot (W-69): s + 8 accepted from slot i, then s written there again */
    produce(e, s + 8);
    TP_CHECK_EQ_I(poll_all(e), 1);
    produce(e, s);
    TP_CHECK_EQ_I(poll_all(e), 0);
    tp_consumer_stats_t st = stats(e);
    TP_CHECK_EQ_U(st.drops_by_reason[TP_DROP_STALE_SLOT], 1);
    TP_CHECK_EQ_U(st.drops_late, late + 3);
    TP_CHECK_EQ_U(st.seq_regressions, 0); /* dropped before step 12 */
    uint64_t sum = 0;
    for (int i = 1; i < tp_drop_reason_count(); i++)
        sum += st.drops_by_reason[i];
    TP_CHECK_EQ_U(sum, st.drops_late);
    TP_CHECK_EQ_U(st.drops_by_reason[0], 0);
    env_free(e);
}

static void gap4(tp_consumer_config_t *c) { c->max_outstanding_seq_gap = 4; }
static void gap0(tp_consumer_config_t *c) { c->max_outstanding_seq_gap = 0; }

TP_TEST(test_client_consumer_w147_w149_gaps_and_resync)
{
    env_t *e = env_up(NULL, gap4);
    TP_ASSERT(e != NULL);
    produce(e, 0);
    produce(e, 1);
    produce(e, 4); /* gap 2 */
    TP_CHECK_EQ_I(poll_all(e), 3);
    TP_CHECK_EQ_U(stats(e).drops_gap, 2);
    produce(e, 9); /* gap 4: not above the limit */
    TP_CHECK_EQ_I(poll_all(e), 1);
    TP_CHECK_EQ_U(stats(e).drops_gap, 6);
    produce(e, 15); /* gap 5 > 4: counted, tracking reset, frame dropped (W-149) */
    TP_CHECK_EQ_I(poll_all(e), 0);
    tp_consumer_stats_t s = stats(e);
    TP_CHECK_EQ_U(s.drops_gap, 11);
    TP_CHECK_EQ_U(s.gap_resyncs, 1);
    TP_CHECK_EQ_U(s.last_seq_seen, 15);
    produce(e, 20); /* fresh tracking run: no gap */
    TP_CHECK_EQ_I(poll_all(e), 1);
    s = stats(e);
    TP_CHECK_EQ_U(s.drops_gap, 11);
    TP_CHECK_EQ_U(s.frames, 5);
    TP_CHECK_EQ_U(s.drops_late, 0);
    env_free(e);

    e = env_up(NULL, gap0); /* 0 switches the resync off (reference) */
    TP_ASSERT(e != NULL);
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    produce(e, 1000);
    TP_CHECK_EQ_I(poll_all(e), 1);
    TP_CHECK_EQ_U(stats(e).drops_gap, 999);
    TP_CHECK_EQ_U(stats(e).gap_resyncs, 0);
    env_free(e);
}

TP_TEST(test_client_consumer_w120_epoch_mismatch_ignored)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    produce(e, 0);
    send_desc(e, e->pepoch + 1, 1, TP_NULL_U64, NULL);
    send_desc(e, e->pepoch - 1, 1, TP_NULL_U64, NULL);
    TP_CHECK_EQ_I(poll_all(e), 1);
    tp_consumer_stats_t s = stats(e);
    TP_CHECK_EQ_U(s.epoch_mismatches, 2);
    TP_CHECK_EQ_U(s.drops_late, 0);
    TP_CHECK_EQ_U(s.last_seq_seen, 0);
    env_free(e);
}

TP_TEST(test_client_consumer_w150_seq_regression_unmaps_until_announce)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    for (uint64_t s = 0; s < 4; s++)
        produce(e, s);
    TP_CHECK_EQ_I(poll_all(e), 4);
    send_desc(e, e->pepoch, 1, TP_NULL_U64, NULL); /* slot 1 still holds seq 1 */
    TP_CHECK_EQ_I(poll_all(e), 0);
    TP_CHECK_EQ_U(stats(e).seq_regressions, 1);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_UNMAPPED);
    produce(e, 4); /* nothing while unmapped */
    TP_CHECK_EQ_I(poll_all(e), 0);
    tp_consumer_do_work(e->c, e->h->now);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_UNMAPPED);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), 0);
    /* the driver's next periodic announce maps the same epoch again */
    advance(e, 1200 * MS, 100 * MS);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), e->pepoch);
    TP_CHECK(stats(e).remaps >= 1);
    produce(e, 5); /* fresh tracking: no gap for 5 */
    TP_CHECK_EQ_I(poll_all(e), 1);
    TP_CHECK_EQ_U(stats(e).drops_gap, 0);
    env_free(e);
}

static void rate10(tp_consumer_config_t *c)
{
    c->mode = TP_MODE_RATE_LIMITED;
    c->max_rate_hz = 10; /* period 100 ms */
}

TP_TEST(test_client_consumer_w153_rate_limited_gate_decision2)
{
    env_t *e = env_up(NULL, rate10);
    TP_ASSERT(e != NULL);
    uint64_t t = 5000 * SEC;
    uint64_t ts[] = {t, t + 50 * MS, t + 100 * MS, t + 120 * MS, t + 250 * MS};
    for (uint64_t s = 0; s < 5; s++)
        produce_ts(e, s, 64, ts[s], 1);
    TP_CHECK_EQ_I(poll_all(e), 3);
    TP_CHECK_EQ_U(e->got.f[0].seq, 0);
    TP_CHECK_EQ_U(e->got.f[1].seq, 2);
    TP_CHECK_EQ_U(e->got.f[2].seq, 4);
    tp_consumer_stats_t s = stats(e);
    TP_CHECK_EQ_U(s.rate_limited_skips, 2);
    TP_CHECK_EQ_U(s.drops_gap, 0); /* DECISION 2: skipped frames advance last_seq_seen */
    TP_CHECK_EQ_U(s.mode, TP_MODE_RATE_LIMITED);
    /* step 7: null descriptor time → SlotHeader time */
    produce_ts(e, 5, 64, TP_NULL_U64, t + 260 * MS); /* 10 ms after the last: skip */
    produce_ts(e, 6, 64, TP_NULL_U64, t + 400 * MS);
    TP_CHECK_EQ_I(poll_all(e), 1);
    TP_CHECK_EQ_U(e->got.f[3].seq, 6);
    s = stats(e);
    TP_CHECK_EQ_U(s.rate_limited_skips, 3);
    TP_CHECK_EQ_U(s.drops_gap, 0);
    TP_CHECK_EQ_U(s.last_seq_seen, 6);
    /* a skipped frame's slot was not remembered (W-69 memory untouched) */
    produce_ts(e, 13, 64, t + 1000 * MS, 1); /* slot 5 again, gap 6 */
    TP_CHECK_EQ_I(poll_all(e), 1);
    TP_CHECK_EQ_U(stats(e).drops_gap, 6);
    env_free(e);
}

static void send_revoke(env_t *e, uint64_t lease, uint32_t client, uint8_t role)
{
    tp_sbe_driver_shm_lease_revoked_t m;
    uint8_t b[256];
    memset(&m, 0, sizeof m);
    m.timestamp_ns = e->h->now;
    m.lease_id = lease;
    m.stream_id = CAM;
    m.client_id = client;
    m.role = role;
    m.reason = TP_SBE_DRIVER_LEASE_REVOKE_REASON_REVOKED;
    TP_CHECK(send_raw(e->h->pub, b, tp_sbe_driver_shm_lease_revoked_encode(b, sizeof b, &m)) >= 0);
}

TP_TEST(test_client_consumer_d060_producer_revoke_waits_for_larger_epoch)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    uint64_t e1 = e->pepoch;
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    /* a revocation notice for the producer lease whose epoch bump has not come yet */
    send_revoke(e, e->plase, PROD_ID, PRODUCER);
    run(e, 2);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_REMAPPING);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), 0);
    /* same-epoch announces (periodic) do not end the wait; old-epoch frames never arrive */
    advance(e, 2500 * MS, 100 * MS);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_REMAPPING);
    produce(e, 1);
    TP_CHECK_EQ_I(poll_all(e), 0);
    TP_CHECK(stats(e).announces_ignored >= 2);
    /* D-63 timeout (3 x 3 s): waits on */
    advance(e, 9500 * MS, 250 * MS);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_REMAPPING);
    /* the real end of the producer lease: notice, epoch bump, announce */
    h_detach_send(e->h, 77, e->plase, CAM, PROD_ID, PRODUCER);
    e->plase = 0;
    run(e, 3);
    uint64_t e2 = tp_driver_stream_epoch(e->h->d, CAM);
    TP_CHECK(e2 > e1);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), e2);
    /* old-epoch descriptors: epoch mismatch, never delivered */
    uint64_t mm = stats(e).epoch_mismatches;
    produce(e, 2);
    TP_CHECK_EQ_I(poll_all(e), 0);
    TP_CHECK_EQ_U(stats(e).epoch_mismatches, mm + 1);
    /* a new producer on the new epoch: frames flow, seq restarts at 0 */
    TP_ASSERT(producer_attach(e) == 0);
    run(e, 3);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), e->pepoch);
    int before = e->got.n;
    produce(e, 0);
    produce(e, 1);
    TP_CHECK_EQ_I(poll_all(e), 2);
    for (int i = 0; i < e->got.n; i++)
        TP_CHECK(i < before ? e->got.f[i].epoch == e1 : e->got.f[i].epoch == e->pepoch);
    TP_CHECK_EQ_U(stats(e).drops_gap, 0);
    env_free(e);
}

/* ---- hostile announces -------------------------------------------------------------------- */

typedef struct ann_opts {
    uint64_t epoch;
    uint64_t ts;
    uint8_t domain;
    uint16_t slot_bytes;
    uint32_t nslots, pool_nslots, stride;
    const char *hdr_uri, *pool_uri;
    uint32_t stream;
    uint32_t layout;
} ann_opts_t;

static void send_announce(env_t *e, const ann_opts_t *o)
{
    tp_sbe_control_shm_pool_announce_t a;
    tp_sbe_control_shm_pool_announce_payload_pools_t p;
    static uint8_t b[16384];
    memset(&a, 0, sizeof a);
    a.stream_id = o->stream;
    a.producer_id = 1;
    a.epoch = o->epoch;
    a.announce_timestamp_ns = o->ts;
    a.announce_clock_domain = o->domain;
    a.layout_version = o->layout;
    a.header_nslots = o->nslots;
    a.header_slot_bytes = o->slot_bytes;
    memset(&p, 0, sizeof p);
    p.pool_id = 1;
    p.pool_nslots = o->pool_nslots;
    p.stride_bytes = o->stride;
    p.region_uri = tp_sbe_str(o->pool_uri);
    a.payload_pools = tp_sbe_entries(&p, 1);
    a.header_region_uri = tp_sbe_str(o->hdr_uri);
    TP_CHECK(send_raw(e->ann_pub, b, tp_sbe_control_shm_pool_announce_encode(b, sizeof b, &a)) >=
             0);
}

static ann_opts_t good_opts(env_t *e, char *hdr, char *pool)
{
    ann_opts_t o;
    char dir[700];
    memset(&o, 0, sizeof o);
    o.epoch = e->pepoch + 100;
    o.ts = e->h->now;
    o.domain = TP_SBE_CONTROL_CLOCK_DOMAIN_MONOTONIC;
    o.slot_bytes = 256;
    o.nslots = o.pool_nslots = 8;
    o.stride = 1024;
    o.stream = CAM;
    o.layout = 1;
    /* the real files of the current epoch, announced under another epoch */
    tp_shm_epoch_dir(dir, sizeof dir, e->h->shm, e->h->cfg.namespace_, CAM, e->pepoch);
    snprintf(hdr, 900, "shm:file?path=%s/header.ring", dir);
    snprintf(pool, 900, "shm:file?path=%s/1.pool", dir);
    o.hdr_uri = hdr;
    o.pool_uri = pool;
    return o;
}

TP_TEST(test_client_consumer_w087_w090_w178_hostile_announces_rejected)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    char hdr[900], pool[900], out[900];
    int fails = 0;
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    for (int k = 0; k < 10; k++) {
        ann_opts_t o = good_opts(e, hdr, pool);
        switch (k) {
        case 0: o.hdr_uri = "file:/etc/passwd"; break;                        /* bad URI */
        case 1: o.pool_uri = "shm:file?path=relative/1.pool"; break;          /* bad URI */
        case 2:
            snprintf(out, sizeof out, "shm:file?path=%s/outside.ring", tp_test_tmpdir());
            o.hdr_uri = out; /* outside the allowed dirs (W-178) */
            break;
        case 3: o.pool_nslots = 16; break;                                    /* W-87 */
        case 4: o.slot_bytes = 128; break;                                    /* W-85 */
        case 5: o.stride = 100; break;                                        /* W-53 */
        case 6: o.ts = e->h->now - 10 * SEC; break;                           /* W-90 */
        case 7: o.domain = 7; break;                                          /* W-86 */
        case 8: o.layout = 2; break;                                          /* W-92 */
        case 9: o.epoch = e->pepoch + 200; break; /* real files, wrong epoch: superblock */
        }
        send_announce(e, &o);
        tp_consumer_do_work(e->c, e->h->now);
        TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
        TP_CHECK_EQ_U(tp_consumer_epoch(e->c), e->pepoch);
        (void)fails;
    }
    /* a file outside the allowed dirs that would validate is refused too */
    {
        char src[700], dst[800];
        tp_shm_epoch_dir(src, sizeof src, e->h->shm, e->h->cfg.namespace_, CAM, e->pepoch);
        snprintf(dst, sizeof dst, "%s/evil.ring", tp_test_tmpdir());
        char cmd[2000];
        snprintf(cmd, sizeof cmd, "cp %s/header.ring %s", src, dst);
        TP_CHECK(system(cmd) == 0);
        ann_opts_t o = good_opts(e, hdr, pool);
        o.epoch = e->pepoch; /* same epoch: a changed URI means "map again from this one" */
        snprintf(out, sizeof out, "shm:file?path=%s", dst);
        o.hdr_uri = out;
        send_announce(e, &o);
        tp_consumer_do_work(e->c, e->h->now);
        TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    }
    tp_consumer_stats_t s = stats(e);
    TP_CHECK(s.announces_ignored >= 11);
    TP_CHECK(s.map_failures >= 7);
    TP_CHECK_EQ_U(s.remaps, 0);
    /* a hostile high epoch must not block the real announces (not recorded as highest) */
    produce(e, 1);
    TP_CHECK_EQ_I(poll_all(e), 1);
    advance(e, 1100 * MS, 100 * MS);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK(stats(e).announces_accepted >= 1);
    TP_CHECK_EQ_U(stats(e).remaps, 0); /* the driver's announce matches the attach */
    env_free(e);
}

TP_TEST(test_client_consumer_w092_announces_ignored_without_lease_and_old_epochs)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    char hdr[900], pool[900];
    ann_opts_t o = good_opts(e, hdr, pool);
    o.epoch = e->pepoch - 1; /* W-89: lower than the highest */
    uint64_t ign = stats(e).announces_ignored;
    send_announce(e, &o);
    tp_consumer_do_work(e->c, e->h->now);
    TP_CHECK_EQ_U(stats(e).announces_ignored, ign + 1);
    o = good_opts(e, hdr, pool);
    o.stream = CAM + 5; /* other stream */
    send_announce(e, &o);
    tp_consumer_do_work(e->c, e->h->now);
    TP_CHECK_EQ_U(stats(e).announces_ignored, ign + 2);
    o = good_opts(e, hdr, pool);
    o.epoch = e->pepoch;
    o.ts = e->c->join_time_ns - 4 * SEC; /* W-91: before join - freshness */
    send_announce(e, &o);
    tp_consumer_do_work(e->c, e->h->now);
    TP_CHECK_EQ_U(stats(e).announces_ignored, ign + 3);
    env_free(e);
}

/* ---- per-consumer streams ------------------------------------------------------------------- */

static void ranges(h_t *h)
{
    h->cfg.descriptor_stream_id_range.set = true;
    h->cfg.descriptor_stream_id_range.start = 20000;
    h->cfg.descriptor_stream_id_range.end = 20009;
    h->cfg.control_stream_id_range.set = true;
    h->cfg.control_stream_id_range.start = 21000;
    h->cfg.control_stream_id_range.end = 21009;
}

static void request_pc(tp_consumer_config_t *c)
{
    snprintf(c->request_descriptor_channel, sizeof c->request_descriptor_channel, "aeron:ipc");
    c->request_descriptor_stream_id = 1;
    snprintf(c->request_control_channel, sizeof c->request_control_channel, "aeron:ipc");
    c->request_control_stream_id = 1;
}

static void send_config(env_t *e, tp_publication_t *p, uint32_t desc_id, uint8_t mode)
{
    tp_sbe_control_consumer_config_t m;
    uint8_t b[512];
    memset(&m, 0, sizeof m);
    m.stream_id = CAM;
    m.consumer_id = tp_consumer_id(e->c);
    m.use_shm = 1;
    m.mode = mode;
    m.descriptor_stream_id = desc_id;
    m.descriptor_channel = tp_sbe_str(desc_id ? "aeron:ipc" : "");
    TP_CHECK(send_raw(p, b, tp_sbe_control_consumer_config_encode(b, sizeof b, &m)) >= 0);
}

TP_TEST(test_client_consumer_w191_w192_per_consumer_stream_from_driver)
{
    env_t *e = env_up(ranges, request_pc);
    TP_ASSERT(e != NULL);
    run(e, 4);
    TP_ASSERT(e->c->desc_pc != NULL);
    uint32_t id = e->c->desc_pc_stream;
    TP_CHECK(id >= 20000 && id <= 20009);
    TP_CHECK(e->c->ctrl_pc_stream >= 21000 && e->c->ctrl_pc_stream <= 21009);
    TP_CHECK(e->c->desc_shared == NULL); /* W-113 */
    TP_CHECK_EQ_U(tp_consumer_id(e->c), tp_dc_client_id(e->dc)); /* D-71 */
    tp_publication_t *pc = NULL;
    TP_ASSERT(tp_transport_add_publication(e->h->t, "aeron:ipc", id, &pc) == 0);
    g_expect_unconnected = 1;
    produce(e, 0); /* on the shared stream: not ours any more */
    TP_CHECK_EQ_I(poll_all(e), 0);
    produce_ts(e, 1, 100, TP_NULL_U64, 1);
    g_expect_unconnected = 0;
    send_desc(e, e->pepoch, 1, TP_NULL_U64, pc);
    TP_CHECK_EQ_I(poll_all(e), 1);
    /* another source's ConsumerConfig after the driver's: ignored (W-192 DECISION) */
    send_config(e, e->cctl_pub, 0, TP_MODE_RATE_LIMITED);
    run(e, 2);
    TP_CHECK_EQ_U(e->c->desc_pc_stream, id);
    TP_CHECK_EQ_U(stats(e).mode, TP_MODE_STREAM);
    /* repeated hellos keep the same assignment */
    advance(e, 1500 * MS, 100 * MS);
    TP_CHECK_EQ_U(e->c->desc_pc_stream, id);
    tp_publication_close(pc);
    env_free(e);
}

TP_TEST(test_client_consumer_w112_config_without_driver_applies_and_declines)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    /* a producer/supervisor ConsumerConfig on the consumer control stream */
    send_config(e, e->cctl_pub, 30001, TP_MODE_RATE_LIMITED);
    run(e, 2);
    TP_CHECK_EQ_U(e->c->desc_pc_stream, 30001);
    TP_CHECK_EQ_U(stats(e).mode, TP_MODE_RATE_LIMITED);
    /* declined (empty channel, id 0): back to the shared stream */
    send_config(e, e->cctl_pub, 0, TP_MODE_STREAM);
    run(e, 2);
    TP_CHECK(e->c->desc_pc == NULL);
    TP_CHECK(e->c->desc_shared != NULL);
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    /* a config for another consumer id is not ours */
    tp_sbe_control_consumer_config_t m;
    uint8_t b[256];
    memset(&m, 0, sizeof m);
    m.stream_id = CAM;
    m.consumer_id = tp_consumer_id(e->c) + 1;
    m.use_shm = 0;
    m.mode = 1;
    m.payload_fallback_uri = tp_sbe_str("aeron:udp?endpoint=x:1");
    send_raw(e->cctl_pub, b, tp_sbe_control_consumer_config_encode(b, sizeof b, &m));
    run(e, 2);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    /* use_shm FALSE with a fallback URI: FALLBACK, no frames */
    m.consumer_id = tp_consumer_id(e->c);
    send_raw(e->cctl_pub, b, tp_sbe_control_consumer_config_encode(b, sizeof b, &m));
    run(e, 2);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_FALLBACK);
    TP_CHECK_STR(tp_consumer_fallback_uri(e->c), "aeron:udp?endpoint=x:1");
    produce(e, 1);
    TP_CHECK_EQ_I(poll_all(e), 0);
    /* SHM again: mapped from the next announce */
    m.use_shm = 1;
    m.payload_fallback_uri = tp_sbe_str("");
    send_raw(e->cctl_pub, b, tp_sbe_control_consumer_config_encode(b, sizeof b, &m));
    advance(e, 1200 * MS, 100 * MS);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK_STR(tp_consumer_fallback_uri(e->c), "");
    env_free(e);
}

TP_TEST(test_client_consumer_w074_copy_and_intact_after_overwrite)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    TP_CHECK(e->got.intact[0]);
    tp_frame_t f0 = e->got.f[0]; /* a copy stays usable while the mapping lives */
    uint8_t buf[200];
    TP_CHECK_EQ_I(tp_frame_copy(&f0, buf, sizeof buf), 100);
    TP_CHECK(tp_pattern_verify(buf, 100, 0) == 0);
    TP_CHECK_EQ_I(tp_frame_copy(&f0, buf, 99), TP_FRAME_NO_SPACE);
    e->got.ring = &e->ring;
    e->got.ps = &e->ps;
    e->got.overwrite = 1;
    produce(e, 1);
    TP_CHECK_EQ_I(poll_all(e), 1);
    TP_CHECK_EQ_I(e->got.intact[1], 0);
    TP_CHECK_EQ_I(e->got.copy_rc, TP_FRAME_TORN);
    TP_CHECK_EQ_I(e->got.copy_small_rc, TP_FRAME_NO_SPACE);
    TP_CHECK_EQ_I(tp_frame_is_intact(&f0), 1); /* slot 0 untouched */
    env_free(e);
}

/* Catch-up (DECISION, consumer.c): a consumer that finds a frame overwritten before it got to
 * it skips, payload unread, every frame of >= 4 KiB the producer will lap within nslots/4
 * frames, and resumes close enough to the head to read. 8 slots, guard 2: after 20 frames
 * unpolled, seq 0..11 are found overwritten (seq_mismatch: their slots hold 12..19), 12 and
 * 13 are skipped as "behind" (frames 18 and 19 are already written: they would be lapped
 * within two frames), 14..19 are delivered intact.
 * Small frames are never peeked. A frame lapped while the handler holds it counts in
 * lapped_reads. */
TP_TEST(test_client_consumer_catchup_skips_frames_about_to_be_lapped)
{
    env_t *e = env_up(NULL, NULL);
    tp_consumer_stats_t st;
    TP_ASSERT(e != NULL);
    TP_ASSERT(e->ring.nslots == 8);
    for (uint64_t s = 0; s < 20; s++)
        produce_ts(e, s, 4096, e->h->now, e->h->now);
    TP_CHECK_EQ_I(poll_all(e), 6);
    for (int i = 0; i < e->got.n; i++) {
        TP_CHECK_EQ_U(e->got.f[i].seq, 14 + (uint64_t)i);
        TP_CHECK(e->got.intact[i]);
        TP_CHECK(e->got.pattern_ok[i]);
    }
    st = stats(e);
    TP_CHECK_EQ_U(st.drops_by_reason[TP_DROP_SEQ_MISMATCH], 12);
    TP_CHECK_EQ_U(st.drops_by_reason[TP_DROP_BEHIND], 2);
    TP_CHECK_EQ_U(st.drops_late, 14);
    TP_CHECK_EQ_U(st.lapped_reads, 0);
    TP_CHECK_EQ_U(st.last_seq_seen, 19);

    /* keeping up again: once nslots frames were read intact, no more peeking or skipping */
    for (uint64_t s = 20; s < 30; s++) {
        produce_ts(e, s, 4096, e->h->now, e->h->now);
        TP_CHECK_EQ_I(poll_all(e), 1);
    }
    TP_CHECK_EQ_U(stats(e).drops_by_reason[TP_DROP_BEHIND], 2);
    TP_CHECK_EQ_U(e->c->catchup, 0);

    /* small frames in catch-up: only the ordinary checks (30..33 overwritten, 34..41 read) */
    e->c->catchup = 8;
    for (uint64_t s = 30; s < 42; s++)
        produce(e, s);
    TP_CHECK_EQ_I(poll_all(e), 8);
    TP_CHECK_EQ_U(stats(e).drops_by_reason[TP_DROP_BEHIND], 2);
    TP_CHECK_EQ_U(e->c->catchup, 0);

    /* lapped while the handler holds the view: counted, and catch-up starts again */
    e->got.ring = &e->ring;
    e->got.ps = &e->ps;
    e->got.overwrite = 1;
    produce(e, 42);
    TP_CHECK_EQ_I(poll_all(e), 1);
    TP_CHECK_EQ_I(e->got.intact[e->got.n - 1], 0);
    TP_CHECK_EQ_U(stats(e).lapped_reads, 1);
    TP_CHECK_EQ_U(e->c->catchup, 8);
    env_free(e);
}

TP_TEST(test_client_consumer_d059_own_lease_lost_reattaches)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    uint64_t lease0 = e->c->att.lease_id;
    (void)lease0;
    /* the consumer stalls for 5 s: the driver expires its lease */
    for (int i = 0; i < 50; i++) {
        e->h->now += 100 * MS;
        producer_duty(e);
        h_pump(e->h);
    }
    run(e, 3);
    advance(e, 500 * MS, 20 * MS);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK_EQ_U(stats(e).reattaches, 1);
    TP_CHECK(stats(e).remaps >= 1);
    TP_CHECK_EQ_U(tp_driver_client_state(e->dc), TP_LEASE_ATTACHED);
    produce(e, 1);
    TP_CHECK_EQ_I(poll_all(e), 1);
    env_free(e);
}

TP_TEST(test_client_consumer_w145_qos_and_hello_sent)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    tp_subscription_t *q = NULL, *hs = NULL;
    TP_ASSERT(tp_transport_add_subscription(e->h->t, "aeron:ipc", QOS, &q) == 0);
    TP_ASSERT(tp_transport_add_subscription(e->h->t, "aeron:ipc", CCTL, &hs) == 0);
    produce(e, 0);
    produce(e, 3);
    TP_CHECK_EQ_I(poll_all(e), 2);
    advance(e, 1100 * MS, 100 * MS);
    h_queue_t *qq = calloc(1, sizeof *qq), *hq = calloc(1, sizeof *hq);
    while (tp_subscription_poll(q, h_collect, qq, 100) > 0) {
    }
    while (tp_subscription_poll(hs, h_collect, hq, 100) > 0) {
    }
    TP_CHECK(qq->n >= 1);
    TP_CHECK(hq->n >= 1);
    if (qq->n >= 1) {
        tp_sbe_control_qos_consumer_t m;
        memset(&m, 0, sizeof m);
        TP_CHECK(tp_sbe_control_qos_consumer_decode(qq->m[qq->n - 1].b, qq->m[qq->n - 1].n, &m) > 0);
        TP_CHECK_EQ_U(m.stream_id, CAM);
        TP_CHECK_EQ_U(m.consumer_id, tp_consumer_id(e->c));
        TP_CHECK_EQ_U(m.epoch, e->pepoch);
        TP_CHECK_EQ_U(m.last_seq_seen, 3);
        TP_CHECK_EQ_U(m.drops_gap, 2);
        TP_CHECK_EQ_U(m.drops_late, 0);
        TP_CHECK_EQ_U(m.mode, TP_MODE_STREAM);
    }
    int hellos = 0;
    for (int i = 0; i < hq->n; i++) {
        tp_sbe_control_consumer_hello_t m;
        if (tp_sbe_control_consumer_hello_decode(hq->m[i].b, hq->m[i].n, &m) > 0) {
            hellos++;
            TP_CHECK_EQ_U(m.stream_id, CAM);
            TP_CHECK_EQ_U(m.progress_interval_us, TP_NULL_U32);
            TP_CHECK_EQ_U(m.descriptor_stream_id, 0);
            TP_CHECK_EQ_U(m.descriptor_channel.length, 0);
        }
    }
    TP_CHECK(hellos >= 1);
    for (int i = 0; i < qq->n; i++)
        free(qq->m[i].b);
    for (int i = 0; i < hq->n; i++)
        free(hq->m[i].b);
    free(qq);
    free(hq);
    env_free(e);
}

static int prog_n;
static tp_progress_t prog_last;
static int meta_n;
static uint32_t meta_attrs, meta_kind;

static void on_prog(void *cd, const tp_progress_t *p)
{
    (void)cd;
    prog_n++;
    prog_last = *p;
}

static void on_meta(void *cd, const tp_meta_event_t *m)
{
    (void)cd;
    meta_n++;
    meta_kind = m->kind;
    meta_attrs = m->attr_count;
}

static void want_progress(tp_consumer_config_t *c)
{
    c->supports_progress = 1;
    c->on_progress = on_prog;
    c->on_meta = on_meta;
}

static void send_progress(env_t *e, uint64_t seq, uint64_t bytes, uint8_t state)
{
    tp_sbe_control_frame_progress_t m;
    uint8_t b[128];
    memset(&m, 0, sizeof m);
    m.stream_id = CAM;
    m.epoch = e->pepoch;
    m.seq = seq;
    m.payload_bytes_filled = bytes;
    m.state = state;
    send_raw(e->cctl_pub, b, tp_sbe_control_frame_progress_encode(b, sizeof b, &m));
}

TP_TEST(test_client_consumer_w134_w193_progress_and_metadata_callbacks)
{
    env_t *e = env_up(NULL, want_progress);
    TP_ASSERT(e != NULL);
    prog_n = meta_n = 0;
    send_progress(e, 3, 0, TP_PROGRESS_STATE_STARTED);
    send_progress(e, 3, 100, TP_PROGRESS_STATE_PROGRESS);
    send_progress(e, 3, 100, TP_PROGRESS_STATE_PROGRESS); /* duplicate (W-193) */
    send_progress(e, 3, 50, TP_PROGRESS_STATE_PROGRESS);  /* regression (W-134) */
    send_progress(e, 3, 200, TP_PROGRESS_STATE_COMPLETE);
    send_progress(e, 4, 0, 9);                            /* undefined state (W-190) */
    run(e, 2);
    TP_CHECK_EQ_I(prog_n, 3);
    TP_CHECK_EQ_U(prog_last.payload_bytes_filled, 200);
    TP_CHECK_EQ_U(prog_last.state, TP_PROGRESS_STATE_COMPLETE);
    TP_CHECK_EQ_U(stats(e).progress_regressions, 1);

    tp_publication_t *mp = NULL;
    TP_ASSERT(tp_transport_add_publication(e->h->t, "aeron:ipc", META, &mp) == 0);
    uint8_t b[1024];
    tp_sbe_control_data_source_announce_t da;
    memset(&da, 0, sizeof da);
    da.stream_id = CAM;
    da.producer_id = 7;
    da.epoch = e->pepoch;
    da.meta_version = 2;
    da.name = tp_sbe_str("cam1");
    da.summary = tp_sbe_str("u8 480x640");
    send_raw(mp, b, tp_sbe_control_data_source_announce_encode(b, sizeof b, &da));
    run(e, 2);
    TP_CHECK_EQ_I(meta_n, 1);
    TP_CHECK_EQ_U(meta_kind, 1);
    tp_sbe_control_data_source_meta_t dm;
    tp_sbe_control_data_source_meta_attributes_t at[2];
    memset(&dm, 0, sizeof dm);
    memset(at, 0, sizeof at);
    dm.stream_id = CAM;
    dm.meta_version = 2;
    dm.timestamp_ns = 5;
    at[0].key = tp_sbe_str("serial");
    at[0].format = tp_sbe_str("text/plain");
    at[0].value = tp_sbe_str("A1");
    at[1].key = tp_sbe_str("fps");
    at[1].format = tp_sbe_str("text/plain");
    at[1].value = tp_sbe_str("30");
    dm.attributes = tp_sbe_entries(at, 2);
    send_raw(mp, b, tp_sbe_control_data_source_meta_encode(b, sizeof b, &dm));
    run(e, 2);
    TP_CHECK_EQ_I(meta_n, 2);
    TP_CHECK_EQ_U(meta_kind, 2);
    TP_CHECK_EQ_U(meta_attrs, 2);
    tp_publication_close(mp);
    env_free(e);
}

TP_TEST(test_client_consumer_init_errors)
{
    env_t *e = env_new(NULL);
    TP_ASSERT(e != NULL);
    static tp_attach_t att;
    TP_ASSERT(producer_attach(e) == 0);
    TP_ASSERT(consumer_attach(e, &att) == 0);
    tp_consumer_t *c = NULL;
    tp_consumer_config_t bad = e->cfg;
    snprintf(bad.request_descriptor_channel, sizeof bad.request_descriptor_channel, "aeron:ipc");
    TP_CHECK(tp_consumer_init_from_attach(&c, &bad, &att, e->dc) == -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ECONFIG);
    static tp_attach_t foreign;
    foreign = att;
    foreign.lease_id += 1;
    TP_CHECK(tp_consumer_init_from_attach(&c, &e->cfg, &foreign, e->dc) == -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    TP_CHECK_EQ_U(tp_driver_client_state(e->dc), TP_LEASE_ATTACHED);
    TP_CHECK(tp_consumer_init_from_attach(NULL, &e->cfg, &att, e->dc) == -1);
    TP_CHECK(tp_consumer_poll(NULL, on_frame, NULL, 0) == -1);
    tp_consumer_close(NULL);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(NULL), TP_MAPPING_UNMAPPED);
    TP_CHECK(tp_consumer_init_from_attach(&e->c, &e->cfg, &att, e->dc) == 0);
    tp_consumer_t *c2 = NULL;
    TP_CHECK(tp_consumer_init_from_attach(&c2, &e->cfg, &att, e->dc) == -1); /* owned */
    TP_CHECK_EQ_I(tp_errcode(), TP_ESTATE);
    TP_CHECK_STR(tp_mapping_state_name(TP_MAPPING_REMAPPING), "REMAPPING");
    env_free(e);
}

TP_TEST(test_client_consumer_config_env)
{
    tp_consumer_config_t c;
    setenv("CONSUMER_MODE", "RATE_LIMITED", 1);
    setenv("CONSUMER_MAX_RATE_HZ", "30", 1);
    setenv("CONSUMER_MAX_OUTSTANDING_SEQ_GAP", "bogus", 1);
    setenv("CONSUMER_DESCRIPTOR_STREAM_ID", "4242", 1);
    tp_consumer_config_init(&c);
    TP_CHECK_EQ_U(c.mode, TP_MODE_RATE_LIMITED);
    TP_CHECK_EQ_U(c.max_rate_hz, 30);
    TP_CHECK_EQ_U(c.max_outstanding_seq_gap, 256);
    TP_CHECK_EQ_U(c.descriptor_stream_id, 4242);
    TP_CHECK_EQ_U(c.announce_freshness_ns, 3 * SEC);
    unsetenv("CONSUMER_MODE");
    unsetenv("CONSUMER_MAX_RATE_HZ");
    unsetenv("CONSUMER_MAX_OUTSTANDING_SEQ_GAP");
    unsetenv("CONSUMER_DESCRIPTOR_STREAM_ID");
    tp_consumer_config_init(&c);
    TP_CHECK_EQ_U(c.mode, TP_MODE_STREAM);
    TP_CHECK_EQ_U(c.descriptor_stream_id, 1100);
}

TP_TEST(test_client_consumer_w095_stale_same_epoch_announce_keeps_mapping)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    e->no_touch = true; /* activity ages past the 3 s window */
    advance(e, 5 * SEC, 100 * MS);
    tp_consumer_stats_t s = stats(e);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK(s.announces_ignored >= 1);
    TP_CHECK_EQ_U(s.remaps, 0);
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    env_free(e);
}

TP_TEST(test_client_consumer_w096_pid_change_unmaps_then_maps_next_announce)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    uint64_t pid = 999999;
    advance(e, 1100 * MS, 100 * MS); /* first periodic announce: revalidated, kept */
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    memcpy(e->hdr.base + offsetof(tp_superblock_t, pid), &pid, sizeof pid);
    uint64_t acc = stats(e).announces_accepted;
    for (int i = 0; i < 40 && stats(e).announces_accepted == acc; i++)
        advance(e, 50 * MS, 50 * MS);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_UNMAPPED);
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 0);
    advance(e, 1100 * MS, 100 * MS); /* DECISION: the next valid announce, same epoch */
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), e->pepoch);
    TP_CHECK_EQ_U(e->c->map.pid, pid);
    TP_CHECK_EQ_U(stats(e).remaps, 1);
    produce(e, 1);
    TP_CHECK_EQ_I(poll_all(e), 1);
    env_free(e);
}

TP_TEST(test_client_consumer_d068_driver_restart_reattaches_on_new_epoch)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    uint64_t e1 = e->pepoch;
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    tp_driver_shutdown(e->h->d, 0, "test", e->h->now);
    for (int i = 0; i < 100 && !tp_driver_done(e->h->d); i++)
        advance(e, 50 * MS, 50 * MS);
    TP_ASSERT(tp_driver_done(e->h->d));
    run(e, 3);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_BACKOFF);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), 0);
    produce(e, 1); /* the dead epoch's frames: nothing */
    TP_CHECK_EQ_I(poll_all(e), 0);
    tp_driver_close(e->h->d);
    e->h->d = NULL;
    e->plase = 0;
    producer_unmap(e);
    advance(e, 300 * MS, 50 * MS); /* no driver: reattach attempts go unanswered */
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_BACKOFF);
    TP_ASSERT(h_start(e->h) == 0);
    TP_ASSERT(producer_attach(e) == 0);
    TP_CHECK(e->pepoch > e1);
    for (int i = 0; i < 200 && tp_consumer_mapping_state(e->c) != TP_MAPPING_MAPPED; i++)
        advance(e, 50 * MS, 50 * MS);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), e->pepoch);
    TP_CHECK_EQ_U(stats(e).reattaches, 1);
    int before = e->got.n;
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    TP_CHECK_EQ_U(e->got.f[before].epoch, e->pepoch);
    env_free(e);
}

TP_TEST(test_client_consumer_d058_producer_detach_remaps_to_bumped_epoch)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    uint64_t e1 = e->pepoch;
    produce(e, 0);
    produce(e, 1);
    TP_CHECK_EQ_I(poll_all(e), 2);
    /* notice, epoch bump and announce come together: one do_work sees both */
    h_detach_send(e->h, 78, e->plase, CAM, PROD_ID, PRODUCER);
    e->plase = 0;
    run(e, 3);
    uint64_t e2 = tp_driver_stream_epoch(e->h->d, CAM);
    TP_CHECK(e2 > e1);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), e2);
    TP_CHECK_EQ_U(stats(e).remaps, 1);
    /* the old producer's late frames: never accepted */
    produce(e, 2);
    TP_CHECK_EQ_I(poll_all(e), 0);
    TP_CHECK_EQ_U(stats(e).epoch_mismatches, 1);
    /* the new epoch starts at seq 0 without a regression or a gap */
    TP_ASSERT(producer_attach(e) == 0);
    run(e, 3);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), e->pepoch);
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    TP_CHECK_EQ_U(stats(e).seq_regressions, 0);
    TP_CHECK_EQ_U(stats(e).drops_gap, 0);
    env_free(e);
}

TP_TEST(test_client_consumer_d059_own_revocation_stops_delivery_at_once)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    tp_lease_info_t li;
    tp_driver_client_lease(e->dc, &li);
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    /* a notice for our own lease, seen by the driver client before our next do_work */
    send_revoke(e, li.lease_id, li.client_id, CONSUMER);
    for (int i = 0; i < 4 && tp_driver_client_state(e->dc) == TP_LEASE_ATTACHED; i++)
        tp_client_do_work(e->cl, e->h->now);
    TP_CHECK(tp_driver_client_state(e->dc) != TP_LEASE_ATTACHED);
    produce(e, 1);
    TP_CHECK_EQ_I(poll_all(e), 0); /* D-59: at once, before the event is taken */
    tp_consumer_do_work(e->c, e->h->now);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_BACKOFF);
    /* the driver still holds the lease (the notice was forged): reattach waits it out */
    for (int i = 0; i < 200 && tp_consumer_mapping_state(e->c) != TP_MAPPING_MAPPED; i++)
        advance(e, 50 * MS, 50 * MS);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK_EQ_U(stats(e).reattaches, 1);
    produce(e, 2);
    TP_CHECK_EQ_I(poll_all(e), 1);
    env_free(e);
}

TP_TEST(test_client_consumer_closed_by_client_close)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    /* the application closes the client only: the consumer goes with it (ASan: no leak) */
    tp_client_close(e->cl);
    e->cl = NULL;
    e->c = NULL;
    e->dc = NULL;
    env_free(e);
}

TP_TEST(test_client_consumer_attached_before_producer)
{
    static tp_attach_t att;
    env_t *e = env_new(NULL);
    TP_ASSERT(e != NULL);
    TP_ASSERT(consumer_attach(e, &att) == 0);
    TP_ASSERT(tp_consumer_init_from_attach(&e->c, &e->cfg, &att, e->dc) == 0);
    uint64_t e0 = att.epoch;
    advance(e, 500 * MS, 100 * MS);
    TP_ASSERT(producer_attach(e) == 0);
    advance(e, 2500 * MS, 100 * MS);
    tp_consumer_stats_t s = stats(e);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), e->pepoch);
    TP_CHECK_EQ_U(s.remaps, e->pepoch == e0 ? 0 : 1);
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    env_free(e);
}

TP_TEST(test_client_consumer_d060_frames_sent_before_revoke_still_delivered)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    uint64_t e1 = e->pepoch;
    produce(e, 0);
    produce(e, 1); /* the last frame, then the producer detaches at once */
    h_detach_send(e->h, 79, e->plase, CAM, PROD_ID, PRODUCER);
    e->plase = 0;
    tp_consumer_do_work(e->c, e->h->now); /* sees the notice (and the announce is queued) */
    TP_CHECK_EQ_I(poll_all(e), 2);
    TP_CHECK_EQ_U(stats(e).last_seq_seen, 1);
    tp_consumer_do_work(e->c, e->h->now); /* REMAPPING, then the epoch-bumped announce */
    uint64_t e2 = tp_driver_stream_epoch(e->h->d, CAM);
    TP_CHECK(e2 > e1);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), e2);
    env_free(e);
}

TP_TEST(test_client_consumer_d069_silent_driver_loss_detected)
{
    env_t *e = env_up(NULL, NULL);
    TP_ASSERT(e != NULL);
    uint64_t e1 = e->pepoch;
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    /* kill -9 of the driver: no notice, nobody answers, keepalives still "succeed" */
    tp_driver_close(e->h->d);
    e->h->d = NULL;
    e->plase = 0;
    advance(e, 8 * SEC, 200 * MS);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED); /* not yet 9 s */
    advance(e, 1500 * MS, 100 * MS);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_BACKOFF);
    TP_CHECK_EQ_U(e->c->driver_silences, 1);
    /* the driver comes back: the consumer attaches to it and maps the new epoch */
    TP_ASSERT(h_start(e->h) == 0);
    producer_unmap(e);
    TP_ASSERT(producer_attach(e) == 0);
    TP_CHECK(e->pepoch > e1);
    for (int i = 0; i < 200 && tp_consumer_mapping_state(e->c) != TP_MAPPING_MAPPED; i++)
        advance(e, 50 * MS, 50 * MS);
    TP_CHECK_EQ_U(tp_consumer_mapping_state(e->c), TP_MAPPING_MAPPED);
    TP_CHECK_EQ_U(tp_consumer_epoch(e->c), e->pepoch);
    TP_CHECK_EQ_U(stats(e).reattaches, 1);
    produce(e, 0);
    TP_CHECK_EQ_I(poll_all(e), 1);
    env_free(e);
}

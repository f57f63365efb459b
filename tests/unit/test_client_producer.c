/*
 * The producer (src/client/producer*.c) against a real in-process driver on a private
 * directory: reservations with out-of-order completion, FrameDescriptors in seq order, aborts
 * as gaps, pool selection, descriptor/slot fields, QosProducer, metadata, FrameProgress and
 * its throttling, per-consumer descriptor streams with max_rate_hz caps, lease loss →
 * pause → reattach → seq 0 in a new epoch, and hostile attaches.
 *
 * The consumers' view is checked with the raw data-plane reader (tp_ring_read on a read-only
 * mapping of our own) and raw subscriptions decoding what the producer sends.
 *
 * Time: one clock for driver, client and test = CLOCK_MONOTONIC + an offset the test
 * advances (the transport heartbeats stay close to the real clock that way).
 */
#include <stdlib.h>
#include <string.h>

#include "test_driver_support.h"

#include "client/client_internal.h"
#include "client/producer_internal.h" /* driver_losses (diagnostic) */
#include "shm/pool.h"
#include "shm/region.h"
#include "shm/ring.h"
#include "tensorpool/tensorpool.h"

#define DESC 1100u
#define PCTL 1000u
#define QOS 1200u
#define META 1300u
#define PCS 20000u /* per-consumer descriptor stream range start */
#define PCC 21000u /* per-consumer control stream range start */

/* ---- allocation counter (STYLE rule 10: hot paths allocate nothing) -------------------------
 * glibc only, and not under a sanitizer (which owns malloc): the test binary interposes
 * malloc & co. and counts calls while g_count_allocs is set. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TP_NO_MALLOC_COUNT 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(__GLIBC__)
#define TP_NO_MALLOC_COUNT 1
#endif

static volatile int g_count_allocs __attribute__((unused)); /* unused when not counting */
static volatile unsigned long g_allocs __attribute__((unused));

#ifndef TP_NO_MALLOC_COUNT
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);
void free(void *p);
void *malloc(size_t n)
{
    if (g_count_allocs)
        g_allocs++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    if (g_count_allocs)
        g_allocs++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    if (g_count_allocs)
        g_allocs++;
    return __libc_realloc(p, n);
}
void free(void *p)
{
    __libc_free(p);
}
#endif

/* ---- clock ---------------------------------------------------------------------------------- */

static uint64_t g_off;

static uint64_t now(void)
{
    return tp_clock_monotonic_ns() + g_off;
}

static uint64_t clock_fn(void *clientd)
{
    (void)clientd;
    return now();
}

/* ---- message queues -------------------------------------------------------------------------- */

#define MQ 4096

typedef struct mq {
    h_msg_t m[MQ];
    int n, head;
} mq_t;

static void mq_collect(void *clientd, const uint8_t *msg, size_t len)
{
    mq_t *q = clientd;
    if (q->n < MQ) {
        q->m[q->n].b = malloc(len ? len : 1);
        memcpy(q->m[q->n].b, msg, len);
        q->m[q->n].n = len;
        q->n++;
    }
}

static void mq_clear(mq_t *q)
{
    for (int i = 0; i < q->n; i++)
        free(q->m[i].b);
    q->n = q->head = 0;
}

/* Next message of (schema 900, template) in q, or NULL. */
static h_msg_t *mq_next(mq_t *q, int template_id)
{
    while (q->head < q->n) {
        h_msg_t *m = &q->m[q->head++];
        tp_sbe_header_t hd;
        h_hdr(m, &hd);
        if (hd.schema_id == TP_SBE_CONTROL_SCHEMA_ID && hd.template_id == template_id)
            return m;
    }
    return NULL;
}

static int mq_count(mq_t *q, int template_id)
{
    int n = 0, head = q->head;
    while (mq_next(q, template_id) != NULL)
        n++;
    q->head = head;
    return n;
}

/* ---- environment ---------------------------------------------------------------------------- */

typedef struct env {
    h_t *h;
    tp_context_t *ctx;
    tp_client_t *client;
    tp_driver_client_t *dc;
    tp_attach_t *att;
    tp_producer_t *p;
    tp_producer_config_t pcfg;
    /* observer */
    tp_transport_t *obs;
    tp_subscription_t *sdesc, *sctl, *sqos, *smeta, *spc, *spcc;
    tp_publication_t *hello_pub;
    mq_t qdesc, qctl, qqos, qmeta, qpc, qpcc;
    /* consumers' view: read-only mapping of the current epoch */
    tp_region_t rhdr, rpools[TP_POOLS_MAX];
    uint32_t rpool_count;
    tp_ring_t ring;
    tp_pool_set_t set;
    uint64_t rd_epoch;
} env_t;

static void env_poll(env_t *e)
{
    tp_transport_do_work(e->obs, now());
    struct { tp_subscription_t *s; mq_t *q; } subs[] = {
        {e->sdesc, &e->qdesc}, {e->sctl, &e->qctl}, {e->sqos, &e->qqos},
        {e->smeta, &e->qmeta}, {e->spc, &e->qpc}, {e->spcc, &e->qpcc}};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (subs[i].s)
            while (tp_subscription_poll(subs[i].s, mq_collect, subs[i].q, 256) > 0) {
            }
}

/* Run driver, producer (or bare client) and observer for a few rounds at the current time. */
static void pump(env_t *e, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        if (e->h->d != NULL) /* NULL: the driver was killed (closed without a notice) */
            tp_driver_do_work(e->h->d, now());
        if (e->p)
            tp_producer_do_work(e->p, now());
        else
            tp_client_do_work(e->client, now());
        env_poll(e);
    }
}

/* Advance the clock by total ns in steps, pumping everything (keepalives keep flowing). */
static void advance(env_t *e, uint64_t total, uint64_t step)
{
    for (uint64_t t = 0; t < total; t += step) {
        g_off += step;
        pump(e, 2);
    }
}

static uint32_t g_drv_announce_ms; /* 0 = the driver's default announce period (1 s) */

static int start_driver(env_t *e)
{
    if (g_drv_announce_ms != 0)
        e->h->cfg.announce_period_ms = g_drv_announce_ms;
    e->h->tcfg.liveness_timeout_ns = 600 * SEC;
    e->h->tcfg.unblock_timeout_ns = 600 * SEC;
    return tp_driver_init(&e->h->d, &e->h->cfg, &e->h->tcfg, now());
}

/* Driver (optionally with per-consumer ranges), client, observer subscriptions. */
static env_t *env_new(bool ranges)
{
    env_t *e = calloc(1, sizeof *e);
    g_off = 0;
    e->h = h_new();
    if (ranges) {
        e->h->cfg.descriptor_stream_id_range.set = true;
        e->h->cfg.descriptor_stream_id_range.start = PCS;
        e->h->cfg.descriptor_stream_id_range.end = PCS + 9;
        e->h->cfg.control_stream_id_range.set = true;
        e->h->cfg.control_stream_id_range.start = PCC;
        e->h->cfg.control_stream_id_range.end = PCC + 9;
    }
    if (start_driver(e) != 0) {
        fprintf(stderr, "driver: %s\n", tp_errmsg());
        return NULL;
    }
    if (tp_context_init(&e->ctx) != 0 || tp_context_set_dir(e->ctx, e->h->tcfg.dir) != 0 ||
        tp_context_add_allowed_dir(e->ctx, e->h->shm) != 0 ||
        tp_context_set_transport_timeouts(e->ctx, 600 * SEC, 600 * SEC, 2 * SEC) != 0 ||
        tp_context_set_clock(e->ctx, clock_fn, NULL) != 0 ||
        tp_client_init(&e->client, e->ctx) != 0) {
        fprintf(stderr, "client: %s\n", tp_errmsg());
        return NULL;
    }
    if (tp_transport_open(&e->obs, &e->h->tcfg) != 0 ||
        tp_transport_add_subscription(e->obs, "aeron:ipc", DESC, &e->sdesc) != 0 ||
        tp_transport_add_subscription(e->obs, "aeron:ipc", PCTL, &e->sctl) != 0 ||
        tp_transport_add_subscription(e->obs, "aeron:ipc", QOS, &e->sqos) != 0 ||
        tp_transport_add_subscription(e->obs, "aeron:ipc", META, &e->smeta) != 0) {
        fprintf(stderr, "observer: %s\n", tp_errmsg());
        return NULL;
    }
    e->att = calloc(1, sizeof *e->att);
    tp_producer_config_init(&e->pcfg);
    e->pcfg.control_stream_id = PCTL;
    e->pcfg.descriptor_stream_id = DESC;
    e->pcfg.qos_stream_id = QOS;
    e->pcfg.metadata_stream_id = META;
    e->pcfg.reattach_backoff_initial_ns = 10 * MS;
    e->pcfg.reattach_backoff_max_ns = 100 * MS;
    e->pcfg.announce_stream_id = ANN; /* the test driver's announce stream (D-69 liveness) */
    return e;
}

/* Attach a driver client of `role` for stream CAM. 1 OK, 0 refused, -1 error. */
static int attach(env_t *e, tp_driver_client_t **dc, tp_role_t role, tp_attach_t *att)
{
    tp_attach_request_t req;
    int64_t id;
    int rc = 0;
    if (*dc == NULL && tp_driver_client_init(dc, e->client, "aeron:ipc", CTL, 0, role) != 0)
        return -1;
    tp_attach_request_init(&req);
    req.stream_id = CAM;
    id = tp_driver_client_send_attach(*dc, &req);
    if (id < 0)
        return -1;
    for (int i = 0; i < 20000 && rc == 0; i++) {
        tp_driver_do_work(e->h->d, now());
        rc = tp_driver_client_poll_attach(*dc, id, att);
        if (i > 10)
            g_off += 1 * MS; /* retries and the D-95 wait need time to pass */
    }
    if (rc != 1)
        return -1;
    return att->code == TP_RESPONSE_OK;
}

static void unmap_reader(env_t *e)
{
    for (uint32_t i = 0; i < e->rpool_count; i++)
        tp_region_unmap(&e->rpools[i]);
    tp_region_unmap(&e->rhdr);
    e->rpool_count = 0;
}

/* Map the regions of att read-only, as a consumer would. */
static int map_reader(env_t *e, const tp_attach_t *att)
{
    tp_allowed_dirs_t *ad = calloc(1, sizeof *ad);
    tp_region_expect_t ex;
    int rc = -1;
    unmap_reader(e);
    tp_allowed_dirs_init(ad);
    if (tp_allowed_dirs_add(ad, e->h->shm) != 0)
        goto out;
    memset(&ex, 0, sizeof ex);
    ex.region_type = TP_REGION_HEADER_RING;
    ex.layout_version = att->layout_version;
    ex.epoch = att->epoch;
    ex.stream_id = att->stream_id;
    ex.nslots = att->header_nslots;
    if (tp_region_map(&e->rhdr, att->header_region_uri, strlen(att->header_region_uri), ad, &ex,
                      false) != 0 ||
        tp_ring_init(&e->ring, e->rhdr.base, e->rhdr.size, att->header_nslots) != 0)
        goto out;
    tp_pool_set_init(&e->set);
    for (uint32_t i = 0; i < att->pool_count; i++) {
        ex.region_type = TP_REGION_PAYLOAD_POOL;
        ex.pool_id = att->pools[i].pool_id;
        ex.nslots = att->pools[i].nslots;
        ex.stride_bytes = att->pools[i].stride_bytes;
        if (tp_region_map(&e->rpools[i], att->pools[i].region_uri,
                          strlen(att->pools[i].region_uri), ad, &ex, false) != 0)
            goto out;
        e->rpool_count = i + 1;
        if (tp_pool_set_add(&e->set, ex.pool_id, e->rpools[i].base, e->rpools[i].size, ex.nslots,
                            ex.stride_bytes) != 0)
            goto out;
    }
    e->rd_epoch = att->epoch;
    rc = 0;
out:
    free(ad);
    return rc;
}

/* A producer on a fresh driver, with the reader mapped. */
static env_t *env_producer(bool ranges)
{
    env_t *e = env_new(ranges);
    if (e == NULL)
        return NULL;
    if (attach(e, &e->dc, TP_ROLE_PRODUCER, e->att) != 1) {
        fprintf(stderr, "attach: %s %s\n", tp_errmsg(), e->att->error_message);
        return NULL;
    }
    if (tp_producer_init_from_attach(&e->p, &e->pcfg, e->att, e->dc) != 0) {
        fprintf(stderr, "producer: %s\n", tp_errmsg());
        return NULL;
    }
    if (map_reader(e, e->att) != 0) {
        fprintf(stderr, "reader: %s\n", tp_errmsg());
        return NULL;
    }
    pump(e, 3);
    mq_clear(&e->qdesc);
    mq_clear(&e->qctl);
    mq_clear(&e->qqos);
    mq_clear(&e->qmeta);
    return e;
}

static void env_free(env_t *e)
{
    if (e == NULL)
        return;
    tp_producer_close(e->p);
    tp_client_close(e->client);
    tp_context_close(e->ctx);
    unmap_reader(e);
    tp_transport_close(e->obs);
    mq_clear(&e->qdesc);
    mq_clear(&e->qctl);
    mq_clear(&e->qqos);
    mq_clear(&e->qmeta);
    mq_clear(&e->qpc);
    mq_clear(&e->qpcc);
    h_free(e->h);
    free(e->att);
    free(e);
}

static tp_tensor_desc_t desc_u8(uint32_t n)
{
    tp_tensor_desc_t d;
    int32_t dims[1] = {(int32_t)n};
    tp_tensor_desc_contiguous(&d, TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, dims);
    return d;
}

/* Decode the next FrameDescriptor on q. */
static int next_desc(mq_t *q, tp_sbe_control_frame_descriptor_t *d)
{
    h_msg_t *m = mq_next(q, TP_SBE_CONTROL_FRAME_DESCRIPTOR_TEMPLATE_ID);
    if (m == NULL)
        return -1;
    return tp_sbe_control_frame_descriptor_decode(m->b, m->n, d) < 0 ? -1 : 0;
}

static tp_drop_reason_t read_frame(env_t *e, uint64_t seq, tp_frame_view_t *v)
{
    return tp_ring_read_slot(&e->ring, &e->set, seq, 0, v);
}

/* ---- tests ------------------------------------------------------------------------------------ */

/* Issue 5: a camera SDK completing every buffer out of order. Each publish commits its slot
 * at once (W-65), descriptors leave strictly in seq order (W-119), never before the commit. */
TP_TEST(test_producer_w119_out_of_order_completion_descriptors_in_seq_order)
{
    env_t *e = env_producer(false);
    tp_reservation_t res[8], extra;
    tp_tensor_desc_t d = desc_u8(64);
    tp_frame_view_t v;
    tp_sbe_control_frame_descriptor_t fd;
    const uint32_t order[8] = {3, 1, 0, 2, 7, 5, 6, 4};
    uint64_t expect = 0;

    TP_ASSERT(e != NULL);
    TP_ASSERT(tp_producer_nslots(e->p) == 8);
    TP_CHECK_EQ_U(tp_producer_state(e->p), TP_PRODUCER_ACTIVE);
    for (uint32_t i = 0; i < 8; i++) {
        TP_ASSERT(tp_producer_reserve(e->p, 1, &res[i]) == 0);
        TP_CHECK_EQ_U(res[i].seq, i);
        TP_CHECK_EQ_U(res[i].header_index, i);
        TP_CHECK_EQ_U(res[i].capacity, 1024);
        TP_CHECK_EQ_U(res[i].epoch, e->att->epoch);
        /* the slot is WRITING before reserve returns */
        TP_CHECK_EQ_I(read_frame(e, i, &v), TP_DROP_NOT_COMMITTED);
    }
    /* nslots + 1: refused, never an aliased slot */
    TP_CHECK_EQ_I(tp_producer_reserve(e->p, 1, &extra), TP_PRODUCER_SLOT_BUSY);
    TP_CHECK_EQ_I(tp_producer_reserve(e->p, 2, &extra), TP_PRODUCER_SLOT_BUSY);

    for (uint32_t k = 0; k < 8; k++) {
        uint32_t i = order[k];
        tp_pattern_fill(res[i].data, 64, res[i].seq);
        TP_ASSERT(tp_producer_publish(e->p, &res[i], 64, &d, NULL) == 0);
        /* committed now, whatever the descriptor does */
        TP_CHECK_EQ_I(read_frame(e, i, &v), TP_DROP_NONE);
        TP_CHECK(tp_pattern_verify(v.data, v.len, i) == 0);
        pump(e, 2);
        /* descriptors so far: exactly the completed prefix, in order */
        while (next_desc(&e->qdesc, &fd) == 0) {
            TP_CHECK_EQ_U(fd.seq, expect);
            TP_CHECK_EQ_U(fd.epoch, e->att->epoch);
            TP_CHECK_EQ_U(fd.stream_id, CAM);
            /* W-119: the slot was committed before its descriptor */
            TP_CHECK_EQ_I(read_frame(e, fd.seq, &v), TP_DROP_NONE);
            expect++;
        }
        if (k == 0 || k == 1)
            TP_CHECK_EQ_U(expect, 0); /* seq 0 still outstanding: nothing may leave */
        if (k == 2)
            TP_CHECK_EQ_U(expect, 2); /* 0 done → 0, 1 */
        if (k == 3)
            TP_CHECK_EQ_U(expect, 4); /* 2 done → 2, 3 */
        if (k == 6)
            TP_CHECK_EQ_U(expect, 4); /* 4 outstanding holds 5, 6, 7 */
    }
    TP_CHECK_EQ_U(expect, 8);
    /* a completed reservation cannot be completed again */
    TP_CHECK_EQ_I(tp_producer_publish(e->p, &res[0], 64, &d, NULL), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    TP_CHECK_EQ_I(tp_producer_abort(e->p, &res[0]), -1);
    /* the slot of seq 8 is free again: seq 8 lands in index 0 */
    TP_ASSERT(tp_producer_reserve(e->p, 1, &extra) == 0);
    TP_CHECK_EQ_U(extra.seq, 8);
    TP_CHECK_EQ_U(extra.header_index, 0);
    TP_CHECK_EQ_I(read_frame(e, 0, &v), TP_DROP_NOT_COMMITTED); /* old frame torn for readers */
    TP_CHECK_EQ_I(tp_producer_abort(e->p, &extra), 0);
    {
        tp_producer_stats_t st;
        tp_producer_get_stats(e->p, &st);
        TP_CHECK_EQ_U(st.frames_published, 8);
        TP_CHECK_EQ_U(st.bytes_published, 8 * 64);
        TP_CHECK_EQ_U(st.descriptors_sent, 8);
        TP_CHECK_EQ_U(st.aborts, 1);
        TP_CHECK_EQ_U(st.outstanding, 0);
        TP_CHECK_EQ_U(st.current_seq, 9);
    }
    env_free(e);
}

/* Keep reserving after each completion until SLOT_BUSY (api.md §3), many laps. */
TP_TEST(test_producer_rolling_reservations_many_laps)
{
    env_t *e = env_producer(false);
    tp_reservation_t res[8], r;
    tp_tensor_desc_t d = desc_u8(16);
    tp_sbe_control_frame_descriptor_t fd;
    uint64_t expect = 0;
    uint32_t next_done = 1; /* complete in a scrambled but bounded order */

    TP_ASSERT(e != NULL);
    for (uint32_t i = 0; i < 8; i++)
        TP_ASSERT(tp_producer_reserve(e->p, 1, &res[i]) == 0);
    for (int round = 0; round < 200; round++) {
        uint32_t idx = (next_done * 5) & 7;
        next_done++;
        tp_pattern_fill(res[idx].data, 16, res[idx].seq);
        TP_ASSERT(tp_producer_publish(e->p, &res[idx], 16, &d, NULL) == 0);
        while (tp_producer_reserve(e->p, 1, &r) == 0)
            res[r.header_index] = r;
        pump(e, 1);
        while (next_desc(&e->qdesc, &fd) == 0) {
            TP_CHECK_EQ_U(fd.seq, expect);
            expect++;
        }
        if (e->qdesc.n > 2000)
            mq_clear(&e->qdesc);
    }
    TP_CHECK(expect > 150);
    env_free(e);
}

/* tp_producer_abort: no commit, no descriptor, the prefix moves on (a gap, drops_gap). */
TP_TEST(test_producer_abort_is_a_gap)
{
    env_t *e = env_producer(false);
    tp_reservation_t r0, r1, r2;
    tp_tensor_desc_t d = desc_u8(8);
    tp_sbe_control_frame_descriptor_t fd;
    tp_frame_view_t v;

    TP_ASSERT(e != NULL);
    TP_ASSERT(tp_producer_reserve(e->p, 1, &r0) == 0);
    TP_ASSERT(tp_producer_reserve(e->p, 2, &r1) == 0);
    TP_ASSERT(tp_producer_reserve(e->p, 1, &r2) == 0);
    TP_CHECK_EQ_U(r1.capacity, 4096);
    TP_ASSERT(tp_producer_publish(e->p, &r2, 8, &d, NULL) == 0);
    TP_ASSERT(tp_producer_abort(e->p, &r1) == 0);
    pump(e, 2);
    TP_CHECK(next_desc(&e->qdesc, &fd) != 0); /* 0 still outstanding */
    TP_ASSERT(tp_producer_publish(e->p, &r0, 8, &d, NULL) == 0);
    pump(e, 2);
    TP_ASSERT(next_desc(&e->qdesc, &fd) == 0);
    TP_CHECK_EQ_U(fd.seq, 0);
    TP_ASSERT(next_desc(&e->qdesc, &fd) == 0);
    TP_CHECK_EQ_U(fd.seq, 2);
    TP_CHECK(next_desc(&e->qdesc, &fd) != 0);
    TP_CHECK_EQ_I(read_frame(e, 1, &v), TP_DROP_NOT_COMMITTED);
    TP_CHECK_EQ_I(tp_producer_abort(e->p, &r1), -1); /* already given up */
    /* tp_client_close closes a producer still open on it (with a reservation out) */
    TP_ASSERT(tp_producer_reserve(e->p, 1, &r0) == 0);
    tp_client_close(e->client);
    e->client = NULL;
    e->p = NULL;
    env_free(e);
}

/* W-57 smallest fitting pool, W-58 drop when none fits; unknown pool refused. */
TP_TEST(test_producer_w057_offer_picks_smallest_pool_w058_drops)
{
    env_t *e = env_producer(false);
    static uint8_t buf[8192];
    tp_tensor_desc_t d;
    tp_frame_view_t v;
    tp_reservation_t r;
    const uint32_t sizes[5] = {0, 100, 1024, 1025, 4096};
    const uint16_t pools[5] = {1, 1, 1, 2, 2};

    TP_ASSERT(e != NULL);
    for (uint32_t i = 0; i < 5; i++) {
        d = desc_u8(sizes[i] ? sizes[i] : 1);
        tp_pattern_fill(buf, sizes[i], i);
        TP_ASSERT(tp_producer_offer(e->p, buf, sizes[i], &d, NULL) == 0);
        TP_ASSERT(read_frame(e, i, &v) == TP_DROP_NONE);
        TP_CHECK_EQ_U(v.pool_id, pools[i]);
        TP_CHECK_EQ_U(v.len, sizes[i]);
        TP_CHECK(tp_pattern_verify(v.data, v.len, i) == 0);
    }
    d = desc_u8(4097);
    TP_CHECK_EQ_I(tp_producer_offer(e->p, buf, 4097, &d, NULL), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ETOOBIG);
    TP_CHECK_EQ_I(tp_producer_reserve(e->p, 3, &r), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    /* len > capacity and bad ndims are caller errors; the reservation survives them */
    TP_ASSERT(tp_producer_reserve(e->p, 1, &r) == 0);
    TP_CHECK_EQ_U(r.seq, 5); /* the dropped frame used no seq */
    d = desc_u8(2000);
    TP_CHECK_EQ_I(tp_producer_publish(e->p, &r, 2000, &d, NULL), -1);
    d.ndims = 0;
    TP_CHECK_EQ_I(tp_producer_publish(e->p, &r, 10, &d, NULL), -1);
    d = desc_u8(10);
    TP_CHECK_EQ_I(tp_producer_publish(e->p, &r, 10, &d, NULL), 0);
    pump(e, 2);
    TP_CHECK_EQ_I(mq_count(&e->qdesc, TP_SBE_CONTROL_FRAME_DESCRIPTOR_TEMPLATE_ID), 6);
    env_free(e);
}

/* W-124: descriptor timestamp = publish time, slot timestamp = capture time (or commit time);
 * W-125: meta_version in slot and descriptor; W-126: trace id passes through. */
TP_TEST(test_producer_w124_descriptor_timestamp_and_meta_version)
{
    env_t *e = env_producer(false);
    tp_reservation_t r;
    tp_tensor_desc_t d = desc_u8(4);
    tp_publish_opts_t o;
    tp_frame_view_t v;
    tp_sbe_control_frame_descriptor_t fd;
    uint64_t t0, t1;

    TP_ASSERT(e != NULL);
    TP_CHECK_EQ_U(tp_producer_meta_version(e->p), 0);
    tp_publish_opts_init(&o);
    o.timestamp_ns = 12345;
    o.trace_id = 77;
    TP_ASSERT(tp_producer_reserve(e->p, 1, &r) == 0);
    t0 = now();
    TP_ASSERT(tp_producer_publish(e->p, &r, 4, &d, &o) == 0);
    t1 = now();
    TP_ASSERT(read_frame(e, 0, &v) == TP_DROP_NONE);
    TP_CHECK_EQ_U(v.timestamp_ns, 12345);
    TP_CHECK_EQ_U(v.meta_version, 0);
    pump(e, 2);
    TP_ASSERT(next_desc(&e->qdesc, &fd) == 0);
    TP_CHECK(fd.timestamp_ns >= t0 && fd.timestamp_ns <= t1);
    TP_CHECK_EQ_U(fd.meta_version, 0);
    TP_CHECK_EQ_U(fd.trace_id, 77);

    /* a metadata commit bumps the version that later frames carry */
    TP_ASSERT(tp_producer_meta_set(e->p, "camera_serial", "text/plain", "A1", 2) == 0);
    TP_ASSERT(tp_producer_meta_commit(e->p) == 0);
    TP_CHECK_EQ_U(tp_producer_meta_version(e->p), 1);
    t0 = now();
    TP_ASSERT(tp_producer_offer(e->p, "abcd", 4, &d, NULL) == 0);
    t1 = now();
    TP_ASSERT(read_frame(e, 1, &v) == TP_DROP_NONE);
    TP_CHECK_EQ_U(v.meta_version, 1);
    TP_CHECK(v.timestamp_ns >= t0 && v.timestamp_ns <= t1); /* null → commit time (REF) */
    pump(e, 2);
    TP_ASSERT(next_desc(&e->qdesc, &fd) == 0);
    TP_CHECK_EQ_U(fd.seq, 1);
    TP_CHECK_EQ_U(fd.meta_version, 1);
    TP_CHECK_EQ_U(fd.trace_id, 0);
    env_free(e);

    /* descriptor_timestamps = 0: null timestamp */
    e = env_new(false);
    TP_ASSERT(e != NULL);
    e->pcfg.descriptor_timestamps = 0;
    TP_ASSERT(attach(e, &e->dc, TP_ROLE_PRODUCER, e->att) == 1);
    TP_ASSERT(tp_producer_init_from_attach(&e->p, &e->pcfg, e->att, e->dc) == 0);
    TP_ASSERT(tp_producer_offer(e->p, "abcd", 4, &d, NULL) == 0);
    pump(e, 2);
    TP_ASSERT(next_desc(&e->qdesc, &fd) == 0);
    TP_CHECK_EQ_U(fd.timestamp_ns, TP_NULL_U64);
    env_free(e);
}

/* W-146 DECISION: QosProducer at its cadence, current_seq = next seq, watermark null.
 * W-19/D-9: superblock activity refreshed at the announce cadence. */
TP_TEST(test_producer_w146_qos_and_w019_activity_refresh)
{
    env_t *e = env_producer(false);
    tp_tensor_desc_t d = desc_u8(4);
    tp_sbe_control_qos_producer_t q;
    h_msg_t *m;
    uint64_t act0, act1, t;

    TP_ASSERT(e != NULL);
    act0 = tp_region_superblock(&e->rhdr)->activity_timestamp_ns;
    for (int i = 0; i < 3; i++)
        TP_ASSERT(tp_producer_offer(e->p, "abcd", 4, &d, NULL) == 0);
    mq_clear(&e->qqos);
    advance(e, 1100 * MS, 100 * MS);
    m = mq_next(&e->qqos, TP_SBE_CONTROL_QOS_PRODUCER_TEMPLATE_ID);
    TP_ASSERT(m != NULL);
    TP_ASSERT(tp_sbe_control_qos_producer_decode(m->b, m->n, &q) >= 0);
    TP_CHECK_EQ_U(q.stream_id, CAM);
    TP_CHECK_EQ_U(q.producer_id, e->att->client_id);
    TP_CHECK_EQ_U(q.epoch, e->att->epoch);
    TP_CHECK_EQ_U(q.current_seq, 3);
    TP_CHECK_EQ_U(q.watermark, TP_NULL_U32);
    TP_CHECK(mq_next(&e->qqos, TP_SBE_CONTROL_QOS_PRODUCER_TEMPLATE_ID) == NULL); /* 1 Hz */
    t = now();
    act1 = tp_region_superblock(&e->rhdr)->activity_timestamp_ns;
    TP_CHECK(act1 > act0);
    TP_CHECK(act1 + 1200 * MS >= t);
    TP_CHECK(tp_region_superblock(&e->rpools[0])->activity_timestamp_ns == act1);
    env_free(e);
}

static int decode_meta(h_msg_t *m, tp_sbe_control_data_source_meta_t *out, char keys[][64],
                       uint32_t *n)
{
    tp_sbe_control_data_source_meta_attributes_t a;
    tp_sbe_group_t g;
    if (m == NULL || tp_sbe_control_data_source_meta_decode(m->b, m->n, out) < 0)
        return -1;
    g = out->attributes;
    *n = 0;
    while (tp_sbe_control_data_source_meta_attributes_next(&g, &a) == 1 && *n < 8) {
        snprintf(keys[*n], 64, "%.*s=%.*s", (int)a.key.length, (const char *)a.key.data,
                 (int)a.value.length, (const char *)a.value.data);
        (*n)++;
    }
    return 0;
}

/* W-141..W-143: DataSourceAnnounce + DataSourceMeta, set/delete, version bumps. */
TP_TEST(test_producer_w141_w143_metadata)
{
    env_t *e = env_producer(false);
    tp_sbe_control_data_source_announce_t a;
    tp_sbe_control_data_source_meta_t dm;
    char keys[8][64];
    uint32_t n = 0;
    h_msg_t *m;
    static char big[TP_META_VALUE_MAX + 1];

    TP_ASSERT(e != NULL);
    /* nothing committed yet: a commit of nothing does nothing */
    TP_CHECK_EQ_I(tp_producer_meta_commit(e->p), 0);
    TP_CHECK_EQ_U(tp_producer_meta_version(e->p), 0);
    TP_ASSERT(tp_producer_set_source(e->p, "cam-front", "uint8 480x640") == 0);
    TP_ASSERT(tp_producer_meta_set(e->p, "serial", "text/plain", "S1", 2) == 0);
    TP_ASSERT(tp_producer_meta_set(e->p, "fps", "text/plain", "30", 2) == 0);
    TP_ASSERT(tp_producer_meta_set(e->p, "serial", "text/plain", "S2", 2) == 0); /* replaces */
    TP_CHECK_EQ_I(tp_producer_meta_delete(e->p, "nope"), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    TP_CHECK_EQ_I(tp_producer_meta_set(e->p, "x", "text/plain", big, sizeof big), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ETOOBIG);
    TP_CHECK_EQ_I(tp_producer_set_source(e->p, "bad\x01", ""), -1);
    TP_CHECK_EQ_U(tp_producer_meta_version(e->p), 0); /* staged only */
    TP_ASSERT(tp_producer_meta_commit(e->p) == 0);
    TP_CHECK_EQ_U(tp_producer_meta_version(e->p), 1);
    pump(e, 2);
    m = mq_next(&e->qmeta, TP_SBE_CONTROL_DATA_SOURCE_ANNOUNCE_TEMPLATE_ID);
    /* the first announce (at init) carried version 0 and no name */
    TP_ASSERT(m != NULL && tp_sbe_control_data_source_announce_decode(m->b, m->n, &a) >= 0);
    if (a.meta_version == 0) {
        m = mq_next(&e->qmeta, TP_SBE_CONTROL_DATA_SOURCE_ANNOUNCE_TEMPLATE_ID);
        TP_ASSERT(m != NULL && tp_sbe_control_data_source_announce_decode(m->b, m->n, &a) >= 0);
    }
    TP_CHECK_EQ_U(a.meta_version, 1);
    TP_CHECK_EQ_U(a.stream_id, CAM);
    TP_CHECK_EQ_U(a.epoch, e->att->epoch);
    TP_CHECK(data_is(a.name, "cam-front"));
    TP_CHECK(data_is(a.summary, "uint8 480x640"));
    e->qmeta.head = 0;
    TP_ASSERT(decode_meta(mq_next(&e->qmeta, TP_SBE_CONTROL_DATA_SOURCE_META_TEMPLATE_ID), &dm,
                          keys, &n) == 0);
    TP_CHECK_EQ_U(dm.meta_version, 1);
    TP_CHECK_EQ_U(n, 2);
    TP_CHECK_STR(keys[0], "serial=S2");
    TP_CHECK_STR(keys[1], "fps=30");
    TP_CHECK(mq_next(&e->qmeta, TP_SBE_CONTROL_DATA_SOURCE_META_TEMPLATE_ID) == NULL);

    /* delete → bump → the set without the key */
    TP_ASSERT(tp_producer_meta_delete(e->p, "serial") == 0);
    TP_ASSERT(tp_producer_meta_commit(e->p) == 0);
    TP_CHECK_EQ_U(tp_producer_meta_version(e->p), 2);
    pump(e, 2);
    TP_ASSERT(decode_meta(mq_next(&e->qmeta, TP_SBE_CONTROL_DATA_SOURCE_META_TEMPLATE_ID), &dm,
                          keys, &n) == 0);
    TP_CHECK_EQ_U(dm.meta_version, 2);
    TP_CHECK_EQ_U(n, 1);
    TP_CHECK_STR(keys[0], "fps=30");
    /* repeated at its cadence with the same version */
    mq_clear(&e->qmeta);
    advance(e, 1100 * MS, 100 * MS);
    TP_ASSERT(decode_meta(mq_next(&e->qmeta, TP_SBE_CONTROL_DATA_SOURCE_META_TEMPLATE_ID), &dm,
                          keys, &n) == 0);
    TP_CHECK_EQ_U(dm.meta_version, 2);
    e->qmeta.head = 0;
    TP_CHECK(mq_count(&e->qmeta, TP_SBE_CONTROL_DATA_SOURCE_ANNOUNCE_TEMPLATE_ID) >= 1);

    /* TP_META_ATTRS_MAX attributes of TP_META_VALUE_MAX bytes exceed the 1 MiB log's message
     * limit (128 KiB): EIO, the version is bumped all the same; one more attribute: ETOOBIG */
    memset(big, 'v', sizeof big);
    TP_ASSERT(tp_producer_meta_delete(e->p, "fps") == 0);
    for (uint32_t i = 0; i < TP_META_ATTRS_MAX; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%u", i);
        TP_ASSERT(tp_producer_meta_set(e->p, key, "text/plain", big, TP_META_VALUE_MAX) == 0);
    }
    TP_CHECK_EQ_I(tp_producer_meta_set(e->p, "one-too-many", "text/plain", "x", 1), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ETOOBIG);
    TP_CHECK_EQ_I(tp_producer_meta_commit(e->p), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EIO);
    TP_CHECK_EQ_U(tp_producer_meta_version(e->p), 3);
    env_free(e);
}

static void send_hello(env_t *e, uint32_t stream, uint32_t consumer_id, uint8_t progress,
                       uint32_t interval_us, uint32_t bytes_delta, uint32_t max_rate,
                       const char *desc_channel, uint32_t desc_stream, const char *ctl_channel,
                       uint32_t ctl_stream)
{
    uint8_t buf[512];
    tp_sbe_control_consumer_hello_t m;
    int64_t len;
    memset(&m, 0, sizeof m);
    m.stream_id = CAM;
    m.consumer_id = consumer_id;
    m.supports_shm = 1;
    m.supports_progress = progress;
    m.mode = max_rate ? TP_SBE_CONTROL_MODE_RATE_LIMITED : TP_SBE_CONTROL_MODE_STREAM;
    m.max_rate_hz = max_rate;
    m.expected_layout_version = 1;
    m.progress_interval_us = interval_us;
    m.progress_bytes_delta = bytes_delta;
    m.progress_major_delta_units = TP_NULL_U32;
    m.descriptor_stream_id = desc_stream;
    m.descriptor_channel = tp_sbe_str(desc_channel);
    m.control_stream_id = ctl_stream;
    m.control_channel = tp_sbe_str(ctl_channel);
    len = tp_sbe_control_consumer_hello_encode(buf, sizeof buf, &m);
    TP_CHECK(len > 0);
    if (e->hello_pub == NULL || stream != PCTL) {
        tp_publication_t *pub = NULL;
        TP_CHECK(tp_transport_add_publication(e->obs, "aeron:ipc", stream, &pub) == 0);
        if (pub)
            TP_CHECK(tp_publication_offer(pub, buf, (size_t)len) >= 0);
        if (stream == PCTL)
            e->hello_pub = pub;
        else
            tp_publication_close(pub);
    } else {
        TP_CHECK(tp_publication_offer(e->hello_pub, buf, (size_t)len) >= 0);
    }
    pump(e, 3);
}

static int next_progress(mq_t *q, tp_sbe_control_frame_progress_t *fp)
{
    h_msg_t *m = mq_next(q, TP_SBE_CONTROL_FRAME_PROGRESS_TEMPLATE_ID);
    if (m == NULL)
        return -1;
    return tp_sbe_control_frame_progress_decode(m->b, m->n, fp) < 0 ? -1 : 0;
}

/* W-139: no FrameProgress until a consumer asks; W-138/W-140: STARTED, throttled PROGRESS
 * with the hints (clamped by the floors), COMPLETE after the descriptor (W-137). */
TP_TEST(test_producer_w138_progress_throttling)
{
    env_t *e;
    tp_reservation_t r;
    tp_tensor_desc_t d = desc_u8(4000);
    tp_sbe_control_frame_progress_t fp;
    tp_producer_stats_t st;

    setenv("PRODUCER_PROGRESS_MIN_BYTES_DELTA", "512", 1); /* floor below the hint */
    e = env_producer(false);
    unsetenv("PRODUCER_PROGRESS_MIN_BYTES_DELTA");
    TP_ASSERT(e != NULL);
    TP_ASSERT(tp_producer_reserve(e->p, 2, &r) == 0);
    TP_CHECK_EQ_I(tp_producer_progress(e->p, &r, 100), 0);
    pump(e, 2);
    TP_CHECK(next_progress(&e->qctl, &fp) != 0); /* nobody asked */
    TP_ASSERT(tp_producer_publish(e->p, &r, 4000, &d, NULL) == 0);
    pump(e, 2);
    TP_CHECK(next_progress(&e->qctl, &fp) != 0);

    /* a consumer with progress: interval 1000 us, byte step 1000 */
    send_hello(e, PCTL, 55, 1, 1000, 1000, 0, "", 0, "", 0);
    TP_ASSERT(tp_producer_reserve(e->p, 2, &r) == 0);
    TP_CHECK_EQ_I(tp_producer_progress(e->p, &r, 100), 0);
    pump(e, 1);
    TP_ASSERT(next_progress(&e->qctl, &fp) == 0);
    TP_CHECK_EQ_U(fp.state, TP_PROGRESS_STATE_STARTED);
    TP_CHECK_EQ_U(fp.seq, r.seq);
    TP_CHECK_EQ_U(fp.epoch, r.epoch);
    TP_CHECK_EQ_U(fp.payload_bytes_filled, 100);
    /* within the interval: held back */
    TP_CHECK_EQ_I(tp_producer_progress(e->p, &r, 600), 0);
    pump(e, 1);
    TP_CHECK(next_progress(&e->qctl, &fp) != 0);
    /* interval over but the byte step not reached: still nothing */
    g_off += 2 * MS;
    pump(e, 1);
    TP_CHECK(next_progress(&e->qctl, &fp) != 0);
    /* step reached after the interval: sent at once */
    TP_CHECK_EQ_I(tp_producer_progress(e->p, &r, 1500), 0);
    pump(e, 1);
    TP_ASSERT(next_progress(&e->qctl, &fp) == 0);
    TP_CHECK_EQ_U(fp.state, TP_PROGRESS_STATE_PROGRESS);
    TP_CHECK_EQ_U(fp.payload_bytes_filled, 1500);
    /* step reached within the interval: flushed by do_work when the interval ends */
    TP_CHECK_EQ_I(tp_producer_progress(e->p, &r, 3000), 0);
    pump(e, 1);
    TP_CHECK(next_progress(&e->qctl, &fp) != 0);
    g_off += 2 * MS;
    pump(e, 2);
    TP_ASSERT(next_progress(&e->qctl, &fp) == 0);
    TP_CHECK_EQ_U(fp.state, TP_PROGRESS_STATE_PROGRESS);
    TP_CHECK_EQ_U(fp.payload_bytes_filled, 3000);
    /* regression and overflow are caller errors */
    TP_CHECK_EQ_I(tp_producer_progress(e->p, &r, 2000), -1);
    TP_CHECK_EQ_I(tp_producer_progress(e->p, &r, (uint64_t)r.capacity + 1), -1);
    /* COMPLETE after the descriptor */
    mq_clear(&e->qdesc);
    TP_ASSERT(tp_producer_publish(e->p, &r, 4000, &d, NULL) == 0);
    pump(e, 2);
    TP_ASSERT(next_progress(&e->qctl, &fp) == 0);
    TP_CHECK_EQ_U(fp.state, TP_PROGRESS_STATE_COMPLETE);
    TP_CHECK_EQ_U(fp.payload_bytes_filled, 4000);
    TP_CHECK_EQ_U(fp.seq, r.seq);
    TP_CHECK_EQ_I(mq_count(&e->qdesc, TP_SBE_CONTROL_FRAME_DESCRIPTOR_TEMPLATE_ID), 1);
    tp_producer_get_stats(e->p, &st);
    TP_CHECK_EQ_U(st.progress_sent, 4);

    /* W-140 REF: a major-axis hint (3 rows) becomes bytes with the frames' row stride (200):
     * the step drops from 1000 to 600 */
    {
        tp_tensor_desc_t rows;
        int32_t dims[2] = {20, 200};
        tp_tensor_desc_contiguous(&rows, TP_DTYPE_UINT8, TP_MAJOR_ROW, 2, dims);
        rows.progress_unit = TP_PROGRESS_ROWS;
        rows.progress_stride_bytes = 200;
        TP_ASSERT(tp_tensor_desc_check(&rows) == 0);
        TP_ASSERT(tp_producer_offer(e->p, "x", 1, &rows, NULL) == 0);
        tp_producer_get_stats(e->p, &st);
        TP_CHECK_EQ_U(st.progress_sent, 5); /* + COMPLETE */
        {
            uint8_t buf[512];
            tp_sbe_control_consumer_hello_t m;
            int64_t len;
            memset(&m, 0, sizeof m);
            m.stream_id = CAM;
            m.consumer_id = 56;
            m.supports_shm = 1;
            m.supports_progress = 1;
            m.mode = TP_SBE_CONTROL_MODE_STREAM;
            m.expected_layout_version = 1;
            m.progress_interval_us = TP_NULL_U32;
            m.progress_bytes_delta = TP_NULL_U32;
            m.progress_major_delta_units = 3;
            len = tp_sbe_control_consumer_hello_encode(buf, sizeof buf, &m);
            TP_ASSERT(len > 0 && tp_publication_offer(e->hello_pub, buf, (size_t)len) >= 0);
            pump(e, 3);
        }
        mq_clear(&e->qctl);
        TP_ASSERT(tp_producer_reserve(e->p, 2, &r) == 0);
        TP_CHECK_EQ_I(tp_producer_progress(e->p, &r, 0), 0); /* STARTED */
        g_off += 2 * MS;
        TP_CHECK_EQ_I(tp_producer_progress(e->p, &r, 650), 0);
        pump(e, 1);
        TP_ASSERT(next_progress(&e->qctl, &fp) == 0);
        TP_CHECK_EQ_U(fp.state, TP_PROGRESS_STATE_STARTED);
        TP_ASSERT(next_progress(&e->qctl, &fp) == 0);
        TP_CHECK_EQ_U(fp.state, TP_PROGRESS_STATE_PROGRESS);
        TP_CHECK_EQ_U(fp.payload_bytes_filled, 650);
        TP_CHECK_EQ_I(tp_producer_abort(e->p, &r), 0);
    }

    /* the consumers go silent (W-116): progress stops after consumer_timeout_ns */
    advance(e, 5500 * MS, 250 * MS);
    mq_clear(&e->qctl);
    TP_ASSERT(tp_producer_reserve(e->p, 2, &r) == 0);
    TP_CHECK_EQ_I(tp_producer_progress(e->p, &r, 100), 0);
    pump(e, 2);
    TP_CHECK(next_progress(&e->qctl, &fp) != 0);
    TP_CHECK_EQ_I(tp_producer_abort(e->p, &r), 0);
    env_free(e);
}

/* W-191 DECISION / D-71: per-consumer descriptor streams come from the driver's
 * ConsumerConfig; W-117: capped at the hello's max_rate_hz; W-116: closed when silent. */
TP_TEST(test_producer_w191_per_consumer_stream_from_driver_with_rate_cap)
{
    env_t *e = env_new(true);
    tp_driver_client_t *cdc = NULL;
    tp_attach_t *catt = calloc(1, sizeof *catt);
    tp_tensor_desc_t d = desc_u8(4);
    tp_producer_stats_t st;
    tp_sbe_control_frame_descriptor_t fd;

    TP_ASSERT(e != NULL);
    /* the producer listens for hellos on the driver control stream (both are CTL here) */
    e->pcfg.control_stream_id = CTL;
    TP_ASSERT(attach(e, &e->dc, TP_ROLE_PRODUCER, e->att) == 1);
    TP_ASSERT(tp_producer_init_from_attach(&e->p, &e->pcfg, e->att, e->dc) == 0);
    TP_ASSERT(tp_transport_add_subscription(e->obs, "aeron:ipc", PCS, &e->spc) == 0);
    TP_ASSERT(attach(e, &cdc, TP_ROLE_CONSUMER, catt) == 1);
    pump(e, 2);
    /* a hello asking for a per-consumer descriptor stream (token id 7), max 10 Hz */
    TP_ASSERT(tp_transport_add_subscription(e->obs, "aeron:ipc", PCC, &e->spcc) == 0);
    send_hello(e, CTL, catt->client_id, 1, TP_NULL_U32, TP_NULL_U32, 10, "aeron:ipc", 7,
               "aeron:ipc", 9);
    pump(e, 4);
    tp_producer_get_stats(e->p, &st);
    TP_CHECK_EQ_U(st.per_consumer_streams, 1);
    mq_clear(&e->qdesc);
    for (int i = 0; i < 5; i++)
        TP_ASSERT(tp_producer_offer(e->p, "abcd", 4, &d, NULL) == 0);
    pump(e, 2);
    TP_CHECK_EQ_I(mq_count(&e->qdesc, TP_SBE_CONTROL_FRAME_DESCRIPTOR_TEMPLATE_ID), 5);
    TP_CHECK_EQ_I(mq_count(&e->qpc, TP_SBE_CONTROL_FRAME_DESCRIPTOR_TEMPLATE_ID), 1);
    g_off += 110 * MS;
    TP_ASSERT(tp_producer_offer(e->p, "abcd", 4, &d, NULL) == 0);
    pump(e, 2);
    TP_CHECK_EQ_I(mq_count(&e->qpc, TP_SBE_CONTROL_FRAME_DESCRIPTOR_TEMPLATE_ID), 2);
    TP_ASSERT(next_desc(&e->qpc, &fd) == 0);
    TP_CHECK_EQ_U(fd.seq, 0);
    TP_ASSERT(next_desc(&e->qpc, &fd) == 0);
    TP_CHECK_EQ_U(fd.seq, 5);
    /* W-114/W-193: FrameProgress also on the per-consumer control stream, uncapped */
    TP_CHECK_EQ_I(mq_count(&e->qpcc, TP_SBE_CONTROL_FRAME_PROGRESS_TEMPLATE_ID), 6);
    TP_CHECK_EQ_I(mq_count(&e->qpcc, TP_SBE_CONTROL_FRAME_DESCRIPTOR_TEMPLATE_ID), 0);
    /* silence: the per-consumer stream closes after consumer_timeout_ns */
    advance(e, 5500 * MS, 250 * MS);
    tp_producer_get_stats(e->p, &st);
    TP_CHECK_EQ_U(st.per_consumer_streams, 0);
    free(catt);
    env_free(e);
}

/* D-59/D-77: lease lost → PAUSED (publish STALE for old reservations, reserve NOT_ACTIVE,
 * old mapping kept until released) → reattach → ACTIVE at seq 0 in a new epoch (W-156). */
TP_TEST(test_producer_d077_revocation_pause_reattach_seq_reset)
{
    env_t *e = env_producer(false);
    tp_reservation_t held, r;
    tp_tensor_desc_t d = desc_u8(4);
    tp_producer_stats_t st;
    tp_sbe_control_frame_descriptor_t fd;
    uint64_t old_epoch;
    int i;

    TP_ASSERT(e != NULL);
    old_epoch = tp_producer_epoch(e->p);
    for (i = 0; i < 3; i++)
        TP_ASSERT(tp_producer_offer(e->p, "abcd", 4, &d, NULL) == 0);
    TP_ASSERT(tp_producer_reserve(e->p, 1, &held) == 0); /* a DMA buffer still in flight */
    memset(held.data, 0xAB, 16);
    pump(e, 2);
    mq_clear(&e->qdesc);

    /* starve the lease: only the driver runs, well past keepalive × grace */
    for (i = 0; i < 50; i++) {
        g_off += 100 * MS;
        tp_driver_do_work(e->h->d, now());
    }
    TP_CHECK(tp_driver_stream_producer(e->h->d, CAM) != e->att->client_id ||
             tp_driver_stream_epoch(e->h->d, CAM) != old_epoch);
    /* the producer learns it, pauses, and reattaches by itself */
    for (i = 0; i < 400 && tp_producer_state(e->p) == TP_PRODUCER_ACTIVE; i++)
        pump(e, 1);
    TP_CHECK(tp_producer_state(e->p) != TP_PRODUCER_ACTIVE);
    if (tp_producer_state(e->p) != TP_PRODUCER_ACTIVE) {
        TP_CHECK_EQ_I(tp_producer_reserve(e->p, 1, &r), TP_PRODUCER_NOT_ACTIVE);
        TP_CHECK_EQ_I(tp_producer_offer(e->p, "abcd", 4, &d, NULL), TP_PRODUCER_NOT_ACTIVE);
    }
    for (i = 0; i < 2000 && tp_producer_state(e->p) != TP_PRODUCER_ACTIVE; i++) {
        g_off += 5 * MS;
        pump(e, 1);
    }
    TP_ASSERT(tp_producer_state(e->p) == TP_PRODUCER_ACTIVE);
    TP_CHECK(tp_producer_epoch(e->p) > old_epoch);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(e->h->d, CAM), tp_producer_epoch(e->p));
    tp_producer_get_stats(e->p, &st);
    TP_CHECK_EQ_U(st.reattaches, 1);
    TP_CHECK_EQ_U(st.outstanding, 1); /* the old epoch's reservation keeps its mapping */
    TP_CHECK_EQ_U(held.data[0], 0xAB); /* still mapped: the device may still write */
    held.data[1] = 0xCD;

    /* new epoch, seq restarts at 0 */
    TP_ASSERT(tp_producer_reserve(e->p, 1, &r) == 0);
    TP_CHECK_EQ_U(r.seq, 0);
    TP_CHECK_EQ_U(r.epoch, tp_producer_epoch(e->p));
    TP_ASSERT(tp_producer_publish(e->p, &r, 4, &d, NULL) == 0);
    /* the old reservation: released, nothing published */
    TP_CHECK_EQ_I(tp_producer_publish(e->p, &held, 4, &d, NULL), TP_PRODUCER_STALE);
    TP_CHECK_EQ_I(tp_producer_publish(e->p, &held, 4, &d, NULL), -1);
    pump(e, 3);
    TP_ASSERT(next_desc(&e->qdesc, &fd) == 0);
    TP_CHECK_EQ_U(fd.seq, 0);
    TP_CHECK_EQ_U(fd.epoch, tp_producer_epoch(e->p));
    TP_CHECK(next_desc(&e->qdesc, &fd) != 0);
    tp_producer_get_stats(e->p, &st);
    TP_CHECK_EQ_U(st.outstanding, 0);
    TP_CHECK_EQ_U(st.stale_releases, 1);
    TP_CHECK_EQ_U(st.epoch, tp_producer_epoch(e->p));

    /* a consumer of the new epoch sees the frame */
    {
        tp_frame_view_t v;
        TP_ASSERT(map_reader(e, tp_dc_attach(e->dc)) == 0);
        TP_CHECK_EQ_I(read_frame(e, 0, &v), TP_DROP_NONE);
    }
    env_free(e);
}

/* D-76/D-77: driver shutdown → IDLE; a restarted driver → reattach, new epoch, seq 0. */
TP_TEST(test_producer_d077_driver_shutdown_and_restart)
{
    env_t *e = env_producer(false);
    tp_tensor_desc_t d = desc_u8(4);
    tp_reservation_t r;
    uint64_t old_epoch;
    int i;

    TP_ASSERT(e != NULL);
    old_epoch = tp_producer_epoch(e->p);
    TP_ASSERT(tp_producer_offer(e->p, "abcd", 4, &d, NULL) == 0);
    tp_driver_shutdown(e->h->d, 0, "bye", now());
    for (i = 0; i < 200 && !tp_driver_done(e->h->d); i++) {
        g_off += 50 * MS;
        pump(e, 1);
    }
    TP_ASSERT(tp_driver_done(e->h->d));
    for (i = 0; i < 50 && tp_producer_state(e->p) == TP_PRODUCER_ACTIVE; i++)
        pump(e, 1);
    TP_CHECK_EQ_U(tp_producer_state(e->p), TP_PRODUCER_IDLE);
    TP_CHECK_EQ_I(tp_producer_offer(e->p, "abcd", 4, &d, NULL), TP_PRODUCER_NOT_ACTIVE);
    tp_driver_close(e->h->d);
    e->h->d = NULL;
    TP_ASSERT(start_driver(e) == 0);
    for (i = 0; i < 3000 && tp_producer_state(e->p) != TP_PRODUCER_ACTIVE; i++) {
        g_off += 5 * MS;
        pump(e, 1);
    }
    TP_ASSERT(tp_producer_state(e->p) == TP_PRODUCER_ACTIVE);
    TP_CHECK(tp_producer_epoch(e->p) > old_epoch);
    TP_ASSERT(tp_producer_reserve(e->p, 1, &r) == 0);
    TP_CHECK_EQ_U(r.seq, 0);
    TP_CHECK_EQ_I(tp_producer_abort(e->p, &r), 0);
    env_free(e);
}

/* Publish one 4-byte frame at seq 0 of the producer's current epoch and check what a consumer
 * of that epoch sees: the descriptor (seq 0, the epoch) and a committed slot. */
static void check_seq0_frame(env_t *e)
{
    tp_tensor_desc_t d = desc_u8(4);
    tp_reservation_t r;
    tp_sbe_control_frame_descriptor_t fd;
    tp_frame_view_t v;

    mq_clear(&e->qdesc);
    TP_ASSERT(tp_producer_reserve(e->p, 1, &r) == 0);
    TP_CHECK_EQ_U(r.seq, 0);
    TP_CHECK_EQ_U(r.epoch, tp_producer_epoch(e->p));
    memcpy(r.data, "wxyz", 4);
    TP_ASSERT(tp_producer_publish(e->p, &r, 4, &d, NULL) == 0);
    pump(e, 3);
    TP_ASSERT(next_desc(&e->qdesc, &fd) == 0);
    TP_CHECK_EQ_U(fd.seq, 0);
    TP_CHECK_EQ_U(fd.epoch, tp_producer_epoch(e->p));
    TP_ASSERT(map_reader(e, tp_dc_attach(e->dc)) == 0);
    TP_CHECK_EQ_U(e->rd_epoch, tp_producer_epoch(e->p));
    TP_CHECK_EQ_I(read_frame(e, 0, &v), TP_DROP_NONE);
}

/* D-50/D-69: the driver dies without a ShmDriverShutdown (closed without tp_driver_shutdown,
 * as kill -9) and a NEW driver starts at once on the same directories. Keepalives still go
 * out without an error (the control stream has readers) and the new driver does not announce
 * the stream before someone attaches, so only the silence of the announce stream tells: after
 * the announce-wait timeout (default 9 s) the producer abandons the lease, pauses, reattaches
 * to the new driver and publishes at seq 0 in the new, larger epoch. */
TP_TEST(test_producer_d069_driver_killed_silence_reattach_new_driver)
{
    env_t *e = env_producer(false);
    tp_tensor_desc_t d = desc_u8(4);
    tp_reservation_t held;
    tp_producer_stats_t st;
    uint64_t old_epoch, t_kill, last_ann;
    int i;

    TP_ASSERT(e != NULL);
    advance(e, 3 * SEC, 50 * MS); /* announces of the stream seen: detection armed */
    TP_ASSERT(tp_producer_state(e->p) == TP_PRODUCER_ACTIVE);
    old_epoch = tp_producer_epoch(e->p);
    TP_ASSERT(tp_producer_offer(e->p, "abcd", 4, &d, NULL) == 0);
    TP_ASSERT(tp_producer_reserve(e->p, 1, &held) == 0); /* a DMA buffer in flight */

    /* kill -9: no notice; a new driver instance on the same dirs right away */
    tp_driver_close(e->h->d);
    e->h->d = NULL;
    t_kill = now();
    last_ann = e->p->last_announce_ns; /* the window runs from the last announce seen */
    TP_ASSERT(start_driver(e) == 0);

    /* within the window (9 s): nothing presumed, the lease looks fine to the driver client */
    advance(e, 8 * SEC, 50 * MS);
    TP_CHECK_EQ_U(tp_producer_state(e->p), TP_PRODUCER_ACTIVE);
    TP_CHECK_EQ_U(tp_driver_client_state(e->dc), TP_LEASE_ATTACHED);
    TP_CHECK_EQ_U(e->p->driver_losses, 0);
    TP_CHECK_EQ_U(tp_driver_stream_producer(e->h->d, CAM), 0); /* the new driver: no lease */

    /* past it: presumed lost, paused (old reservation STALE), reattached to the new driver */
    for (i = 0; i < 400 && tp_producer_state(e->p) == TP_PRODUCER_ACTIVE; i++) {
        g_off += 10 * MS;
        pump(e, 1);
    }
    TP_CHECK(tp_producer_state(e->p) != TP_PRODUCER_ACTIVE);
    TP_CHECK(now() - last_ann > 9 * SEC); /* not before the window, counted from ... */
    TP_CHECK(now() - t_kill < 11 * SEC);   /* ... the last announce, and soon after it */
    TP_CHECK_EQ_U(e->p->driver_losses, 1);
    for (i = 0; i < 2000 && tp_producer_state(e->p) != TP_PRODUCER_ACTIVE; i++) {
        g_off += 5 * MS;
        pump(e, 1);
    }
    TP_ASSERT(tp_producer_state(e->p) == TP_PRODUCER_ACTIVE);
    TP_CHECK(tp_producer_epoch(e->p) > old_epoch);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(e->h->d, CAM), tp_producer_epoch(e->p));
    TP_CHECK_EQ_U(tp_driver_stream_producer(e->h->d, CAM), e->att->client_id);
    tp_producer_get_stats(e->p, &st);
    TP_CHECK_EQ_U(st.reattaches, 1);
    TP_CHECK_EQ_I(tp_producer_publish(e->p, &held, 4, &d, NULL), TP_PRODUCER_STALE);
    check_seq0_frame(e);

    /* the new driver's announces keep it alive: no second loss */
    advance(e, 20 * SEC, 50 * MS);
    TP_CHECK_EQ_U(tp_producer_state(e->p), TP_PRODUCER_ACTIVE);
    TP_CHECK_EQ_U(e->p->driver_losses, 1);
    tp_producer_get_stats(e->p, &st);
    TP_CHECK_EQ_U(st.reattaches, 1);
    env_free(e);
}

/* D-69: the restarted driver announces the stream (a consumer attached to it) in a higher
 * epoch before the silence window ends: the announced epoch above the producer's tells the
 * lease is gone; the producer reattaches at once and publishes in the driver's epoch. */
TP_TEST(test_producer_d069_higher_announced_epoch_reattach)
{
    env_t *e = env_producer(false);
    tp_driver_client_t *cdc = NULL;
    tp_attach_t *catt = calloc(1, sizeof *catt);
    uint64_t old_epoch, t_kill;
    int i;

    TP_ASSERT(e != NULL);
    advance(e, 3 * SEC, 50 * MS);
    old_epoch = tp_producer_epoch(e->p);
    tp_driver_close(e->h->d);
    e->h->d = NULL;
    t_kill = now();
    advance(e, 500 * MS, 50 * MS);
    TP_ASSERT(start_driver(e) == 0);
    TP_ASSERT(attach(e, &cdc, TP_ROLE_CONSUMER, catt) == 1); /* the stream has state again */
    for (i = 0; i < 400 && tp_producer_state(e->p) == TP_PRODUCER_ACTIVE; i++) {
        g_off += 10 * MS;
        pump(e, 1);
    }
    TP_CHECK(tp_producer_state(e->p) != TP_PRODUCER_ACTIVE);
    TP_CHECK(now() - t_kill < 5 * SEC); /* well before the 9 s silence limit */
    TP_CHECK_EQ_U(e->p->driver_losses, 1);
    for (i = 0; i < 2000 && tp_producer_state(e->p) != TP_PRODUCER_ACTIVE; i++) {
        g_off += 5 * MS;
        pump(e, 1);
    }
    TP_ASSERT(tp_producer_state(e->p) == TP_PRODUCER_ACTIVE);
    TP_CHECK(tp_producer_epoch(e->p) > old_epoch);
    TP_CHECK_EQ_U(tp_driver_stream_epoch(e->h->d, CAM), tp_producer_epoch(e->p));
    check_seq0_frame(e);
    advance(e, 3 * SEC, 50 * MS); /* its own epoch's announces: no further loss */
    TP_CHECK_EQ_U(tp_producer_state(e->p), TP_PRODUCER_ACTIVE);
    TP_CHECK_EQ_U(e->p->driver_losses, 1);
    free(catt);
    env_free(e);
}

/* D-69 guard: a slow but alive driver announcing every 12 s (longer than the default 9 s
 * window) is not declared dead — the window grows to 3 observed intervals, and an extra
 * announce (after a consumer's attach) does not shrink it again. When it does die,
 * the grown window still ends: presumed lost after 3 intervals of silence. */
TP_TEST(test_producer_d069_slow_announcer_not_dead)
{
    env_t *e;
    tp_producer_stats_t st;
    tp_driver_client_t *cdc = NULL;
    tp_attach_t *catt = calloc(1, sizeof *catt);
    uint64_t t_kill;
    int i;

    g_drv_announce_ms = 12000;
    e = env_producer(false);
    g_drv_announce_ms = 0;
    TP_ASSERT(e != NULL);
    advance(e, 80 * SEC, 50 * MS); /* six intervals, each longer than the window */
    TP_CHECK_EQ_U(tp_producer_state(e->p), TP_PRODUCER_ACTIVE);
    TP_CHECK_EQ_U(e->p->driver_losses, 0);
    TP_CHECK(e->p->announce_gap_ns >= 11 * SEC);
    tp_producer_get_stats(e->p, &st);
    TP_CHECK_EQ_U(st.reattaches, 0);
    TP_CHECK_EQ_U(st.epoch, e->att->epoch);

    /* a consumer attaches mid-period: the driver announces the stream at once too (D-47), a
     * short interval that must not shrink the window back below the 12 s period */
    advance(e, 5 * SEC, 50 * MS);
    TP_ASSERT(attach(e, &cdc, TP_ROLE_CONSUMER, catt) == 1);
    advance(e, 60 * SEC, 50 * MS);
    TP_CHECK_EQ_U(tp_producer_state(e->p), TP_PRODUCER_ACTIVE);
    TP_CHECK_EQ_U(e->p->driver_losses, 0);
    TP_CHECK(e->p->announce_gap_ns >= 11 * SEC);

    tp_driver_close(e->h->d);
    e->h->d = NULL;
    t_kill = now();
    for (i = 0; i < 6000 && tp_producer_state(e->p) == TP_PRODUCER_ACTIVE; i++) {
        g_off += 10 * MS;
        pump(e, 1);
    }
    TP_CHECK(tp_producer_state(e->p) != TP_PRODUCER_ACTIVE);
    TP_CHECK(now() - t_kill > 24 * SEC); /* 3 x 12 s after the last announce */
    TP_CHECK(now() - t_kill <= 37 * SEC);
    TP_CHECK_EQ_U(e->p->driver_losses, 1);
    free(catt);
    env_free(e);
}

/* Init refusals: non-OK or foreign attach (EINVAL), a second owner (ESTATE), and a hostile
 * region URI (D-41/D-95: nothing mapped, the lease abandoned, attach again works). */
TP_TEST(test_producer_init_refusals_and_hostile_attach)
{
    env_t *e = env_new(false);
    tp_attach_t *bad = calloc(1, sizeof *bad);
    tp_producer_t *p2 = NULL;

    TP_ASSERT(e != NULL);
    TP_ASSERT(attach(e, &e->dc, TP_ROLE_PRODUCER, e->att) == 1);
    *bad = *e->att;
    bad->code = TP_RESPONSE_REJECTED;
    TP_CHECK_EQ_I(tp_producer_init_from_attach(&p2, &e->pcfg, bad, e->dc), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    *bad = *e->att;
    bad->lease_id++;
    TP_CHECK_EQ_I(tp_producer_init_from_attach(&p2, &e->pcfg, bad, e->dc), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    TP_CHECK(p2 == NULL);

    /* a URI outside the allowed directories */
    *bad = *e->att;
    snprintf(bad->header_region_uri, sizeof bad->header_region_uri,
             "shm:file?path=/etc/passwd");
    TP_CHECK_EQ_I(tp_producer_init_from_attach(&p2, &e->pcfg, bad, e->dc), -1);
    TP_CHECK(p2 == NULL);
    TP_CHECK_EQ_U(tp_driver_client_state(e->dc), TP_LEASE_UNATTACHED); /* abandoned */
    /* attach again and succeed (the abandoned lease was detached, D-95 DECISION) */
    TP_ASSERT(attach(e, &e->dc, TP_ROLE_PRODUCER, e->att) == 1);
    TP_ASSERT(tp_producer_init_from_attach(&e->p, &e->pcfg, e->att, e->dc) == 0);
    TP_CHECK_EQ_I(tp_producer_init_from_attach(&p2, &e->pcfg, e->att, e->dc), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ESTATE);
    free(bad);
    env_free(e);
}

/* Environment defaults (D-89 naming) and the publish options. */
TP_TEST(test_producer_config_defaults_and_env)
{
    tp_producer_config_t c;
    tp_publish_opts_t o;
    setenv("PRODUCER_DESCRIPTOR_STREAM_ID", "4242", 1);
    setenv("PRODUCER_PROGRESS_INTERVAL_US", "junk", 1);
    setenv("PRODUCER_SOURCE_NAME", "cam", 1);
    tp_producer_config_init(&c);
    unsetenv("PRODUCER_DESCRIPTOR_STREAM_ID");
    unsetenv("PRODUCER_PROGRESS_INTERVAL_US");
    unsetenv("PRODUCER_SOURCE_NAME");
    TP_CHECK_EQ_U(c.descriptor_stream_id, 4242);
    TP_CHECK_EQ_U(c.progress_interval_us, 250);
    TP_CHECK_STR(c.source_name, "cam");
    TP_CHECK_EQ_U(c.control_stream_id, 1000);
    TP_CHECK_EQ_U(c.qos_stream_id, 1200);
    TP_CHECK_EQ_U(c.metadata_stream_id, 1300);
    TP_CHECK_EQ_U(c.progress_bytes_delta, 65536);
    TP_CHECK_EQ_U(c.announce_interval_ns, SEC);
    TP_CHECK_STR(c.control_channel, "aeron:ipc");
    /* D-69 driver liveness: the consumer's names and defaults */
    TP_CHECK_STR(c.announce_channel, "aeron:ipc");
    TP_CHECK_EQ_U(c.announce_stream_id, 1001);
    TP_CHECK_EQ_U(c.announce_wait_timeout_ns, 0);
    setenv("PRODUCER_ANNOUNCE_CHANNEL", "aeron:ipc?alias=ann", 1);
    setenv("PRODUCER_ANNOUNCE_STREAM_ID", "15001", 1);
    setenv("PRODUCER_ANNOUNCE_WAIT_TIMEOUT_NS", "2000000000", 1);
    tp_producer_config_init(&c);
    unsetenv("PRODUCER_ANNOUNCE_CHANNEL");
    unsetenv("PRODUCER_ANNOUNCE_STREAM_ID");
    unsetenv("PRODUCER_ANNOUNCE_WAIT_TIMEOUT_NS");
    TP_CHECK_STR(c.announce_channel, "aeron:ipc?alias=ann");
    TP_CHECK_EQ_U(c.announce_stream_id, 15001);
    TP_CHECK_EQ_U(c.announce_wait_timeout_ns, 2 * SEC);
    tp_publish_opts_init(&o);
    TP_CHECK_EQ_U(o.timestamp_ns, TP_NULL_U64);
    TP_CHECK_EQ_U(o.meta_version, TP_NULL_U32);
    TP_CHECK_EQ_U(o.trace_id, 0);
    TP_CHECK_EQ_I(tp_producer_state(NULL), TP_PRODUCER_CLOSED);
    tp_producer_close(NULL);
}

/* A back-pressured descriptor is retried by later publishes and do_work, in order, until its
 * slot is lapped (then counted lost); nothing ever leaves out of seq order. */
TP_TEST(test_producer_descriptor_back_pressure_retry_and_loss)
{
    env_t *e = env_new(false);
    static const char ch[] = "aeron:ipc?term-length=64k";
    tp_subscription_t *stalled = NULL;
    mq_t *q = calloc(1, sizeof *q);
    tp_tensor_desc_t d = desc_u8(4);
    tp_producer_stats_t st;
    tp_sbe_control_frame_descriptor_t fd;
    uint64_t last = 0;
    int got = 0, i;
    const int frames = 3000;

    TP_ASSERT(e != NULL);
    TP_ASSERT(tp_transport_add_subscription(e->obs, ch, 1101, &stalled) == 0);
    snprintf(e->pcfg.descriptor_channel, sizeof e->pcfg.descriptor_channel, "%s", ch);
    e->pcfg.descriptor_stream_id = 1101;
    TP_ASSERT(attach(e, &e->dc, TP_ROLE_PRODUCER, e->att) == 1);
    TP_ASSERT(tp_producer_init_from_attach(&e->p, &e->pcfg, e->att, e->dc) == 0);
    for (i = 0; i < frames; i++)
        TP_ASSERT(tp_producer_offer(e->p, "abcd", 4, &d, NULL) == 0);
    tp_producer_get_stats(e->p, &st);
    TP_CHECK(st.descriptors_lost > 0);
    TP_CHECK(st.descriptors_sent < (uint64_t)frames);
    /* the reader catches up: the held-back tail goes out from do_work */
    for (i = 0; i < 50; i++) {
        while (tp_subscription_poll(stalled, mq_collect, q, 256) > 0) {
        }
        pump(e, 1);
    }
    while (next_desc(q, &fd) == 0) {
        if (got > 0)
            TP_CHECK(fd.seq > last);
        last = fd.seq;
        got++;
    }
    tp_producer_get_stats(e->p, &st);
    TP_CHECK_EQ_U(last, frames - 1);
    TP_CHECK_EQ_U(st.descriptors_sent, (uint64_t)got);
    TP_CHECK_EQ_U(st.descriptors_sent + st.descriptors_lost + st.descriptors_not_connected,
                  (uint64_t)frames);
    TP_CHECK_EQ_U(st.descriptors_not_connected, 0);
    mq_clear(q);
    free(q);
    env_free(e);
}

/* Nobody subscribed to the descriptor stream: skipped and counted, as the reference does. */
TP_TEST(test_producer_descriptor_skipped_when_nobody_listens)
{
    env_t *e = env_new(false);
    tp_tensor_desc_t d = desc_u8(4);
    tp_producer_stats_t st;

    TP_ASSERT(e != NULL);
    e->pcfg.descriptor_stream_id = 1102;
    TP_ASSERT(attach(e, &e->dc, TP_ROLE_PRODUCER, e->att) == 1);
    TP_ASSERT(tp_producer_init_from_attach(&e->p, &e->pcfg, e->att, e->dc) == 0);
    for (int i = 0; i < 20; i++)
        TP_ASSERT(tp_producer_offer(e->p, "abcd", 4, &d, NULL) == 0);
    tp_producer_get_stats(e->p, &st);
    TP_CHECK_EQ_U(st.descriptors_not_connected, 20);
    TP_CHECK_EQ_U(st.descriptors_sent, 0);
    TP_CHECK_EQ_U(st.frames_published, 20);
    env_free(e);
}

/* STYLE rule 10: reserve, publish (with descriptors and COMPLETE going out), abort, offer and
 * progress allocate nothing. */
TP_TEST(test_producer_hot_paths_allocate_nothing)
{
#ifdef TP_NO_MALLOC_COUNT
    TP_SKIP("allocation counting needs glibc without a sanitizer");
#else
    env_t *e = env_producer(false);
    tp_tensor_desc_t d = desc_u8(64);
    static uint8_t buf[64];
    tp_reservation_t r;
    tp_producer_stats_t st;

    TP_ASSERT(e != NULL);
    send_hello(e, PCTL, 77, 1, TP_NULL_U32, TP_NULL_U32, 0, "", 0, "", 0);
    g_allocs = 0;
    g_count_allocs = 1;
    {
        void *volatile probe = malloc(16); /* the counter itself works */
        free(probe);
    }
    TP_ASSERT(g_allocs == 1);
    g_allocs = 0;
    for (int i = 0; i < 200; i++) {
        TP_ASSERT(tp_producer_reserve(e->p, 1, &r) == 0);
        tp_producer_progress(e->p, &r, 0);
        tp_producer_progress(e->p, &r, 32);
        if (i % 7 == 0)
            tp_producer_abort(e->p, &r);
        else
            tp_producer_publish(e->p, &r, 64, &d, NULL);
        TP_ASSERT(tp_producer_offer(e->p, buf, sizeof buf, &d, NULL) == 0);
        if (i % 50 == 0) {
            g_count_allocs = 0;
            env_poll(e); /* the observer keeps up (its queue allocates) */
            g_count_allocs = 1;
        }
    }
    g_count_allocs = 0;
    TP_CHECK_EQ_U(g_allocs, 0);
    tp_producer_get_stats(e->p, &st);
    TP_CHECK(st.progress_sent > 0);
    TP_CHECK(st.descriptors_sent > 0);
    env_free(e);
#endif
}

/*
 * shmlog unit tests (issue 3, Tests: record layout, wrap and padding, claim/abort, max length,
 * channel parsing, files, permissions, connectivity, join semantics).
 * The protocol under test is written down in src/transport/shmlog/shmlog.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tp_shmlog_testutil.h"
#include "util/error.h"
#include "tp_test.h"

#define SLOW (3000 * TT_MS) /* timeouts that must not fire during a unit test */

typedef struct raw_msgs {
    int n;
    size_t len[4096];
    uint8_t data[4096][64];
} raw_msgs_t;

static void raw_handler(void *clientd, const uint8_t *msg, size_t len)
{
    raw_msgs_t *r = clientd;
    if (r->n < 4096) {
        r->len[r->n] = len;
        memcpy(r->data[r->n], msg, len < 64 ? len : 64);
    }
    r->n++;
}

/* Poll until `want` messages arrived (or 2 s), doing heartbeats. Returns the total. */
static uint64_t poll_until(tp_transport_t *t, tp_subscription_t *s, tt_collect_t *c,
                           uint64_t want)
{
    uint64_t end = tt_now() + 2000 * TT_MS;
    while (c->count < want && tt_now() < end) {
        if (tp_subscription_poll(s, tt_collect_handler, c, 64) == 0)
            sched_yield();
        tp_transport_do_work(t, tt_now());
    }
    return c->count;
}

/* A pub + sub pair on one transport. */
typedef struct pair {
    tp_transport_config_t cfg;
    tp_transport_t *t;
    tp_publication_t *p;
    tp_subscription_t *s;
} pair_t;

static int pair_open(pair_t *x, const char *channel, uint32_t stream)
{
    x->cfg = tt_cfg(SLOW, SLOW);
    if (tp_transport_open(&x->t, &x->cfg) != 0)
        return -1;
    if (tp_transport_add_subscription(x->t, channel, stream, &x->s) != 0)
        return -1;
    if (tp_transport_add_publication(x->t, channel, stream, &x->p) != 0)
        return -1;
    return 0;
}

/* ---- record layout -------------------------------------------------------------------------- */

TP_TEST(test_shmlog_layout_48_byte_message_is_one_64_byte_record)
{
    pair_t x;
    tt_log_view_t v;
    uint8_t m[64];
    TP_ASSERT(pair_open(&x, "aeron:ipc?term-length=64k", 1) == 0);
    TP_ASSERT(tt_log_map(&v, &x.cfg, 1) == 0);

    /* header */
    TP_CHECK_EQ_U(v.hdr->magic, TP_SHMLOG_MAGIC);
    TP_CHECK_EQ_U(v.hdr->version, TP_SHMLOG_VERSION);
    TP_CHECK_EQ_U(v.hdr->meta_bytes, TP_SHMLOG_META_BYTES);
    TP_CHECK_EQ_U(v.hdr->capacity, 65536);
    TP_CHECK_EQ_U(v.hdr->max_message, 8192);
    TP_CHECK_EQ_U(v.hdr->stream_id, 1);
    TP_CHECK_EQ_U(v.size, TP_SHMLOG_META_BYTES + 65536);
    TP_CHECK_EQ_U(tt_log_tail(&v), 0);

    for (int i = 0; i < 48; i++)
        m[i] = (uint8_t)(0xC0 + i);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, 48), 64);
    TP_CHECK_EQ_U(tt_log_tail(&v), 64);
    uint64_t w = tt_word_at(&v, 0);
    TP_CHECK_EQ_U(TT_WORD_STATE(w), TP_SHMLOG_COMMITTED);
    TP_CHECK_EQ_U(TT_WORD_UNITS(w), 2); /* 64 bytes = 2 x 32 */
    TP_CHECK_EQ_U(tt_word_lap(&v, w), 0);
    TP_CHECK_EQ_U(w, tt_make_word(&v, 0, 64, TP_SHMLOG_COMMITTED));
    uint32_t len, check;
    memcpy(&len, v.data + 8, 4);
    memcpy(&check, v.data + 12, 4);
    TP_CHECK_EQ_U(len, 48);
    TP_CHECK_EQ_U(check, tt_check_word(&v, 0)); /* (p >> 5) ^ salt: vouches for the header */
    uint32_t check2;
    TP_CHECK_MEM(v.data + 16, m, 48);
    /* the next record starts at the next cache line, untouched so far */
    TP_CHECK_EQ_U(tt_word_at(&v, 64), 0);

    /* sizes: 0 -> 32, 16 -> 32, 17 -> 64, 49 -> 96 (32-byte alignment, 16-byte header) */
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, 0), 64 + 32);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, 16), 64 + 32 + 32);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, 17), 64 + 32 + 32 + 64);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, 49), 64 + 32 + 32 + 64 + 96);
    TP_CHECK_EQ_U(TT_WORD_UNITS(tt_word_at(&v, 64)), 1);
    memcpy(&check2, v.data + 64 + 12, 4);
    TP_CHECK_EQ_U(check2, tt_check_word(&v, 64));
    TP_CHECK_EQ_U(TT_WORD_UNITS(tt_word_at(&v, 128)), 2);
    TP_CHECK_EQ_U(TT_WORD_UNITS(tt_word_at(&v, 192)), 3);
    memcpy(&len, v.data + 192 + 8, 4);
    TP_CHECK_EQ_U(len, 49);

    raw_msgs_t *r = calloc(1, sizeof *r);
    TP_ASSERT(r);
    TP_CHECK_EQ_I(tp_subscription_poll(x.s, raw_handler, r, 100), 5);
    TP_CHECK_EQ_I(r->n, 5);
    TP_CHECK_EQ_U(r->len[0], 48);
    TP_CHECK_MEM(r->data[0], m, 48);
    TP_CHECK_EQ_U(r->len[1], 0);
    TP_CHECK_EQ_U(r->len[2], 16);
    TP_CHECK_EQ_U(r->len[3], 17);
    TP_CHECK_EQ_U(r->len[4], 49);
    TP_CHECK_EQ_U(tp_subscription_position(x.s), 288);
    TP_CHECK_EQ_U(v.subs[0].position, 288); /* published for the publishers' limit */
    free(r);
    tt_log_unmap(&v);
    tp_transport_close(x.t);
}

/* ---- wrap and padding ----------------------------------------------------------------------- */

TP_TEST(test_shmlog_wrap_pads_to_end_and_delivers_in_order)
{
    pair_t x;
    tt_log_view_t v;
    static uint8_t m[8192];
    tt_collect_t c;
    const size_t len = 3000; /* record 3040: 21 per lap, 1696 bytes of padding at each end */
    TP_ASSERT(pair_open(&x, "aeron:ipc?term-length=64k", 2) == 0);
    TP_ASSERT(tt_log_map(&v, &x.cfg, 2) == 0);
    tt_collect_init(&c, 0);
    uint64_t pos = 0, pads = 0;
    for (uint32_t seq = 0; seq < 21 * 5; seq++) {
        tt_msg_fill(m, len, 0, seq);
        uint64_t to_end = 65536 - (pos & 65535);
        int64_t r = tp_publication_offer(x.p, m, len);
        if (to_end < 3040) {
            /* padded to the end, the record starts the next lap */
            TP_CHECK_EQ_I(r, (int64_t)(pos + to_end + 3040));
            uint64_t pw = tt_word_at(&v, pos);
            TP_CHECK_EQ_U(TT_WORD_STATE(pw), TP_SHMLOG_PADDING);
            TP_CHECK_EQ_U(TT_WORD_UNITS(pw) * 32, to_end);
            TP_CHECK_EQ_U(tt_word_lap(&v, pw), pos >> 16);
            uint64_t rw = tt_word_at(&v, pos + to_end);
            TP_CHECK_EQ_U(tt_word_lap(&v, rw), (pos + to_end) >> 16); /* the new lap's tag */
            TP_CHECK_EQ_U(TT_WORD_STATE(rw), TP_SHMLOG_COMMITTED);
            pads++;
        } else {
            TP_CHECK_EQ_I(r, (int64_t)(pos + 3040));
        }
        if (r > 0)
            pos = (uint64_t)r;
        poll_until(x.t, x.s, &c, seq + 1u);
    }
    TP_CHECK_EQ_U(pads, 4);
    TP_CHECK_EQ_U(c.count, 105);
    TP_CHECK_EQ_U(c.bad, 0);
    TP_CHECK_EQ_U(c.out_of_order, 0);
    TP_CHECK_EQ_U(tp_subscription_position(x.s), pos);
    tt_log_unmap(&v);
    tp_transport_close(x.t);
}

/* tp_transport_add_exclusive_publication on the embedded transport: one more publisher of
 * the same MPMC log; its messages and a concurrent publication's arrive in one order, the
 * order of the offers. */
TP_TEST(test_shmlog_exclusive_publication_shares_the_one_log)
{
    pair_t x;
    tp_publication_t *xp;
    static raw_msgs_t r;
    int64_t last = 0;
    memset(&r, 0, sizeof r);
    TP_ASSERT(pair_open(&x, "aeron:ipc?term-length=64k", 3) == 0);
    TP_ASSERT(tp_transport_add_exclusive_publication(x.t, "aeron:ipc?term-length=64k", 3, &xp) ==
              0);
    TP_CHECK(tp_publication_is_connected(xp));
    TP_CHECK_EQ_U(tp_publication_max_message_length(xp), 65536 / 8);
    for (uint8_t i = 0; i < 40; i++) {
        int64_t pos = tp_publication_offer(i % 2 ? xp : x.p, &i, 1);
        TP_CHECK(pos > last); /* one log: every offer advances the same position */
        last = pos;
    }
    while (tp_subscription_poll(x.s, raw_handler, &r, 64) > 0) {
    }
    TP_ASSERT(r.n == 40);
    for (int i = 0; i < 40; i++)
        TP_CHECK_EQ_U(r.data[i][0], (unsigned)i);
    tp_publication_close(xp);
    TP_CHECK_EQ_I(tp_publication_offer(xp, &r, 1), TP_PUB_CLOSED);
    tp_transport_close(x.t);
}

/* Random sizes 0..max over many laps, subscriber polling in small batches behind the
 * publisher (at most a capacity behind): everything arrives, whole, in order. */
TP_TEST(test_shmlog_wrap_random_sizes_all_delivered_in_order)
{
    pair_t x;
    static uint8_t m[8192];
    tt_collect_t c;
    uint32_t seed = 12345, seq = 0;
    uint64_t sent_bytes = 0, end = tt_now() + 5000 * TT_MS;
    TP_ASSERT(pair_open(&x, "aeron:ipc?term-length=64k", 3) == 0);
    tt_collect_init(&c, 0);
    while (seq < 5000 && tt_now() < end) {
        seed = seed * 1103515245u + 12345u;
        size_t len = TT_MSG_MIN + (seed >> 8) % (8192 - TT_MSG_MIN + 1);
        if ((seed >> 4) % 4 != 0)
            len = TT_MSG_MIN + (seed >> 8) % 300;
        tt_msg_fill(m, len, 1, seq);
        int64_t r = tp_publication_offer(x.p, m, len);
        if (r == TP_PUB_BACK_PRESSURED) {
            tp_subscription_poll(x.s, tt_collect_handler, &c, 3);
            continue;
        }
        TP_ASSERT(r > 0);
        sent_bytes += len;
        seq++;
        if (seq % 7 == 0)
            tp_subscription_poll(x.s, tt_collect_handler, &c, 2);
    }
    poll_until(x.t, x.s, &c, seq);
    TP_CHECK_EQ_U(seq, 5000);
    TP_CHECK_EQ_U(c.count, seq);
    TP_CHECK_EQ_U(c.bytes, sent_bytes);
    TP_CHECK_EQ_U(c.bad, 0);
    TP_CHECK_EQ_U(c.out_of_order, 0);
    TP_CHECK(tp_subscription_position(x.s) > 3 * 65536ull);
    tp_transport_close(x.t);
}

/* ---- claim / commit / abort ------------------------------------------------------------------ */

TP_TEST(test_shmlog_try_claim_commit_in_place)
{
    pair_t x;
    tp_claim_t cl;
    tt_collect_t c;
    TP_ASSERT(pair_open(&x, "aeron:ipc", 4) == 0);
    tt_collect_init(&c, 0);
    int64_t r = tp_publication_try_claim(x.p, 100, &cl);
    TP_ASSERT(r == (int64_t)tt_record(100));
    TP_CHECK_EQ_U(cl.length, 100);
    TP_ASSERT(cl.data != NULL);
    tt_msg_fill(cl.data, 100, 2, 0);
    /* uncommitted: the subscriber sees nothing yet */
    TP_CHECK_EQ_I(tp_subscription_poll(x.s, tt_collect_handler, &c, 10), 0);
    TP_CHECK_EQ_U(tp_subscription_position(x.s), 0);
    TP_CHECK_EQ_I(tp_claim_commit(&cl), 0);
    TP_CHECK_EQ_I(tp_subscription_poll(x.s, tt_collect_handler, &c, 10), 1);
    TP_CHECK_EQ_U(c.count, 1);
    TP_CHECK_EQ_U(c.bad, 0);
    TP_CHECK_EQ_U(tp_subscription_position(x.s), tt_record(100));
    tp_transport_close(x.t);
}

TP_TEST(test_shmlog_abort_becomes_padding_subscriber_skips_it)
{
    pair_t x;
    tp_claim_t a, b;
    tt_collect_t c;
    tp_publication_t *p2;
    uint8_t m[64];
    tt_log_view_t v;
    TP_ASSERT(pair_open(&x, "aeron:ipc", 5) == 0);
    TP_ASSERT(tp_transport_add_publication(x.t, "aeron:ipc", 5, &p2) == 0);
    TP_ASSERT(tt_log_map(&v, &x.cfg, 5) == 0);
    tt_collect_init(&c, 0);

    /* claim A (aborted later), then B (committed) by a second publication, then C */
    TP_ASSERT(tp_publication_try_claim(x.p, 40, &a) == 64);
    TP_ASSERT(tp_publication_try_claim(p2, 40, &b) == 128);
    tt_msg_fill(a.data, 40, 3, 99);
    tt_msg_fill(b.data, 40, 3, 0);
    TP_CHECK_EQ_I(tp_claim_commit(&b), 0);
    /* B is committed but A, before it, is still claimed: nothing is delivered out of order */
    TP_CHECK_EQ_I(tp_subscription_poll(x.s, tt_collect_handler, &c, 10), 0);
    tp_claim_abort(&a);
    TP_CHECK_EQ_U(TT_WORD_STATE(tt_word_at(&v, 0)), TP_SHMLOG_PADDING);
    TP_CHECK_EQ_U(TT_WORD_UNITS(tt_word_at(&v, 0)), 2);
    tt_msg_fill(m, 40, 3, 1);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, 40), 192);
    TP_CHECK_EQ_I(tp_subscription_poll(x.s, tt_collect_handler, &c, 10), 2);
    TP_CHECK_EQ_U(c.count, 2);
    TP_CHECK_EQ_U(c.bad, 0); /* the aborted message (seq 99) was never delivered */
    TP_CHECK_EQ_U(c.out_of_order, 0);
    TP_CHECK_EQ_U(c.last_seq, 1);
    TP_CHECK_EQ_U(tp_subscription_position(x.s), 192);
    /* a commit after an abort is refused (the claim is padding now) */
    TP_CHECK_EQ_I(tp_claim_commit(&a), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ETIMEOUT);
    tt_log_unmap(&v);
    tp_transport_close(x.t);
}

/* ---- max length ----------------------------------------------------------------------------- */

TP_TEST(test_shmlog_max_message_is_capacity_over_8)
{
    pair_t x;
    tp_claim_t cl;
    tt_collect_t c;
    static uint8_t m[8193 + 131073];
    TP_ASSERT(pair_open(&x, "aeron:ipc?term-length=64k", 6) == 0);
    tt_collect_init(&c, 0);
    TP_CHECK_EQ_U(tp_publication_max_message_length(x.p), 8192);
    tt_msg_fill(m, 8192, 4, 0);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, 8192), (int64_t)tt_record(8192));
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, 8193), TP_PUB_MAX_SIZE_EXCEEDED);
    TP_CHECK_EQ_I(tp_publication_try_claim(x.p, 8193, &cl), TP_PUB_MAX_SIZE_EXCEEDED);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, SIZE_MAX), TP_PUB_MAX_SIZE_EXCEEDED);
    TP_CHECK_EQ_I(tp_subscription_poll(x.s, tt_collect_handler, &c, 10), 1);
    TP_CHECK_EQ_U(c.count, 1);
    TP_CHECK_EQ_U(c.bytes, 8192);
    TP_CHECK_EQ_U(c.bad, 0);
    tp_transport_close(x.t);

    TP_ASSERT(pair_open(&x, "aeron:ipc?term-length=1m", 7) == 0);
    TP_CHECK_EQ_U(tp_publication_max_message_length(x.p), 131072);
    static uint8_t big[131073];
    tt_msg_fill(big, 131072, 4, 0);
    TP_CHECK(tp_publication_offer(x.p, big, 131072) > 0);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, big, 131073), TP_PUB_MAX_SIZE_EXCEEDED);
    tp_transport_close(x.t);
}

/* ---- NOT_CONNECTED / BACK_PRESSURED -------------------------------------------------------- */

TP_TEST(test_shmlog_not_connected_without_subscriber)
{
    tp_transport_config_t cfg = tt_cfg(SLOW, SLOW);
    tp_transport_t *t;
    tp_publication_t *p;
    tp_subscription_t *s;
    tp_claim_t cl;
    tt_log_view_t v;
    uint8_t m[32] = {0};
    TP_ASSERT(tp_transport_open(&t, &cfg) == 0);
    TP_ASSERT(tp_transport_add_publication(t, "aeron:ipc", 8, &p) == 0);
    TP_ASSERT(tt_log_map(&v, &cfg, 8) == 0);
    TP_CHECK(!tp_publication_is_connected(p));
    TP_CHECK_EQ_I(tp_publication_offer(p, m, sizeof m), TP_PUB_NOT_CONNECTED);
    TP_CHECK_EQ_I(tp_publication_try_claim(p, 8, &cl), TP_PUB_NOT_CONNECTED);
    TP_CHECK_EQ_U(tt_log_tail(&v), 0); /* nothing was written */
    TP_CHECK_EQ_U(tt_word_at(&v, 0), 0);
    TP_ASSERT(tp_transport_add_subscription(t, "aeron:ipc", 8, &s) == 0);
    TP_CHECK(tp_publication_is_connected(p));
    TP_CHECK_EQ_I(tp_publication_offer(p, m, sizeof m), 64);
    tt_log_unmap(&v);
    tp_transport_close(t);
}

/* transport.h: "TP_PUB_NOT_CONNECTED: no live subscriber: nothing was written". Once the last
 * subscriber has closed, offers must say so (the producer skips descriptors when nobody
 * listens) and must not keep writing into the log: at the latest after one duty cycle
 * (do_work), as Aeron's driver lowers the publication limit on its next duty cycle. */
TP_TEST(test_shmlog_not_connected_after_last_subscriber_closes)
{
    tp_transport_config_t cfg = tt_cfg(SLOW, SLOW);
    tp_transport_t *t;
    tp_publication_t *p;
    tp_subscription_t *s;
    tt_log_view_t v;
    uint8_t m[48] = {0};
    TP_ASSERT(tp_transport_open(&t, &cfg) == 0);
    TP_ASSERT(tp_transport_add_publication(t, "aeron:ipc", 9, &p) == 0);
    TP_ASSERT(tp_transport_add_subscription(t, "aeron:ipc", 9, &s) == 0);
    TP_ASSERT(tt_log_map(&v, &cfg, 9) == 0);
    TP_CHECK_EQ_I(tp_publication_offer(p, m, sizeof m), 64);
    tp_subscription_close(s);
    TP_CHECK(!tp_publication_is_connected(p));
    tp_transport_do_work(t, tt_now());
    int64_t r = tp_publication_offer(p, m, sizeof m);
    TP_CHECK_EQ_I(r, TP_PUB_NOT_CONNECTED);
    TP_CHECK_EQ_U(tt_log_tail(&v), 64);
    tt_log_unmap(&v);
    tp_transport_close(t);
}

TP_TEST(test_shmlog_back_pressured_a_capacity_ahead_resumes_after_poll)
{
    pair_t x;
    static uint8_t m[1008];
    tt_collect_t c;
    TP_ASSERT(pair_open(&x, "aeron:ipc?term-length=64k", 10) == 0);
    tt_collect_init(&c, 0);
    uint32_t seq = 0;
    /* 1008 bytes -> 1024-byte records: exactly 64 fit in 64 KiB */
    for (;;) {
        tt_msg_fill(m, sizeof m, 5, seq);
        int64_t r = tp_publication_offer(x.p, m, sizeof m);
        if (r < 0) {
            TP_CHECK_EQ_I(r, TP_PUB_BACK_PRESSURED);
            break;
        }
        seq++;
        if (seq > 100)
            break;
    }
    TP_CHECK_EQ_U(seq, 64);
    TP_CHECK(tp_publication_is_connected(x.p));
    /* still back-pressured, also for a small message and for a claim */
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, 16), TP_PUB_BACK_PRESSURED);
    tp_claim_t cl;
    TP_CHECK_EQ_I(tp_publication_try_claim(x.p, 16, &cl), TP_PUB_BACK_PRESSURED);
    /* the subscriber reads one message: room for exactly one more */
    TP_CHECK_EQ_I(tp_subscription_poll(x.s, tt_collect_handler, &c, 1), 1);
    tt_msg_fill(m, sizeof m, 5, seq);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, sizeof m), 65 * 1024);
    seq++;
    tt_msg_fill(m, sizeof m, 5, seq);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, sizeof m), TP_PUB_BACK_PRESSURED);
    poll_until(x.t, x.s, &c, 65);
    TP_CHECK_EQ_U(c.count, 65);
    TP_CHECK_EQ_U(c.bad, 0);
    TP_CHECK_EQ_U(c.out_of_order, 0);
    TP_CHECK(tp_publication_offer(x.p, m, sizeof m) > 0);
    tp_transport_close(x.t);
}

/* A join (any membership change) makes the publisher rescan before its next claim. The
 * "limiter has not moved" shortcut of a back-pressured publisher once answered for the old
 * table: with the limit reset to 0 by the change and an idle limiter, it refused 63 of every
 * 64 offers until the periodic rescan; a keepalive sent once a second was refused for a
 * minute and the lease expired (found by the docs test and the consumer kill -9 e2e test). */
TP_TEST(test_shmlog_offer_after_join_not_back_pressured)
{
    pair_t x;
    tp_subscription_t *s2;
    uint8_t m[48] = {0};
    TP_ASSERT(pair_open(&x, "aeron:ipc?term-length=64k", 12) == 0);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, sizeof m), 64); /* scan: limiter = x.s at 0 */
    TP_ASSERT(tp_transport_add_subscription(x.t, "aeron:ipc?term-length=64k", 12, &s2) == 0);
    for (int i = 0; i < 3; i++) /* x.s idle at 0: nothing holds us back for 64 KiB */
        TP_CHECK_EQ_I(tp_publication_offer(x.p, m, sizeof m), 128 + 64 * i);
    tp_subscription_close(s2); /* a leave, likewise */
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, sizeof m), 320);
    tp_transport_close(x.t);
}

/* ---- channels --------------------------------------------------------------------------------- */

TP_TEST(test_shmlog_channel_parse_table)
{
    static const struct {
        const char *uri;
        int ok;
        uint32_t term;
        const char *msg; /* substring of the error */
    } cases[] = {
        {"aeron:ipc", 1, 0, NULL},
        {"aeron:ipc?term-length=64k", 1, 64u << 10, NULL},
        {"aeron:ipc?term-length=64K", 1, 64u << 10, NULL},
        {"aeron:ipc?term-length=1m", 1, 1u << 20, NULL},
        {"aeron:ipc?term-length=4m", 1, 4u << 20, NULL},
        {"aeron:ipc?term-length=256m", 1, 256u << 20, NULL},
        {"aeron:ipc?term-length=65536", 1, 65536, NULL},
        {"aeron:ipc?term-length=1048576", 1, 1u << 20, NULL},
        {"aeron:ipc?alias=ctl", 1, 0, NULL},
        {"aeron:ipc?alias=ctl|term-length=128k", 1, 128u << 10, NULL},
        {"aeron:ipc?term-length=128k|alias=x", 1, 128u << 10, NULL},
        {"aeron:ipc?term-length=100000", 0, 0, "power of two"},
        {"aeron:ipc?term-length=96k", 0, 0, "power of two"},
        {"aeron:ipc?term-length=32k", 0, 0, "from 64k to 256m"},
        {"aeron:ipc?term-length=512m", 0, 0, "from 64k to 256m"},
        {"aeron:ipc?term-length=1g", 0, 0, "from 64k to 256m"},
        {"aeron:ipc?term-length=0", 0, 0, "term-length"},
        {"aeron:ipc?term-length=", 0, 0, "term-length"},
        {"aeron:ipc?term-length=abc", 0, 0, "term-length"},
        {"aeron:ipc?term-length=64kb", 0, 0, "term-length"},
        {"aeron:ipc?term-length=-64k", 0, 0, "term-length"},
        {"aeron:ipc?term-length=99999999999999999999999", 0, 0, "term-length"},
        {"aeron:ipc?term-length=64k|term-length=64k", 0, 0, "twice"},
        {"aeron:ipc?mtu=1408", 0, 0, "not supported"},
        {"aeron:ipc?linger=0|term-length=64k", 0, 0, "not supported"},
        {"aeron:ipc?term-length", 0, 0, "key=value"},
        {"aeron:ipc?=x", 0, 0, "key=value"},
        {"aeron:ipc?", 0, 0, "empty"},
        {"aeron:ipc?alias=x|", 0, 0, "trailing"},
        {"aeron:udp?endpoint=localhost:40123", 0, 0, "Aeron transport"},
        {"aeron:udp", 0, 0, "Aeron transport"},
        {"aeron:udp?control=h:1|control-mode=dynamic", 0, 0, "Aeron transport"},
        {"aeron:ipcx", 0, 0, "not an Aeron channel"},
        {"aeron:ipc:x", 0, 0, "not an Aeron channel"},
        {"aeron-spy:aeron:ipc", 0, 0, "not an Aeron channel"},
        {"udp://localhost:1", 0, 0, "not an Aeron channel"},
        {"tcp:ipc", 0, 0, "not an Aeron channel"},
        {"AERON:IPC", 0, 0, "not an Aeron channel"},
        {" aeron:ipc", 0, 0, "not an Aeron channel"},
        {"", 0, 0, "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tp_channel_t ch;
        tp_err_clear();
        int rc = tp_channel_parse(cases[i].uri, &ch);
        if (cases[i].ok) {
            if (rc != 0 || ch.term_length != cases[i].term ||
                strcmp(ch.canonical, "aeron:ipc") != 0)
                tp_test_fail(__FILE__, __LINE__, "'%s': rc %d term %u canonical '%s' (%s)",
                             cases[i].uri, rc, ch.term_length, ch.canonical, tp_errmsg());
        } else {
            if (rc != -1 || tp_errcode() != TP_ECHANNEL ||
                strstr(tp_errmsg(), cases[i].msg) == NULL)
                tp_test_fail(__FILE__, __LINE__, "'%s': rc %d code %d msg '%s' (want '%s')",
                             cases[i].uri, rc, tp_errcode(), tp_errmsg(), cases[i].msg);
        }
    }
    tp_channel_t ch;
    TP_CHECK_EQ_I(tp_channel_parse(NULL, &ch), -1);
    char longuri[TP_CHANNEL_MAX + 16];
    snprintf(longuri, sizeof longuri, "aeron:ipc?alias=");
    memset(longuri + 16, 'a', TP_CHANNEL_MAX);
    longuri[TP_CHANNEL_MAX + 15] = '\0';
    TP_CHECK_EQ_I(tp_channel_parse(longuri, &ch), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ECHANNEL);
}

TP_TEST(test_shmlog_add_refuses_udp_and_bad_channels)
{
    tp_transport_config_t cfg = tt_cfg(SLOW, SLOW);
    tp_transport_t *t;
    tp_publication_t *p = NULL;
    tp_subscription_t *s = NULL;
    TP_ASSERT(tp_transport_open(&t, &cfg) == 0);
    TP_CHECK_EQ_I(tp_transport_add_publication(t, "aeron:udp?endpoint=h:1", 1, &p), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ECHANNEL);
    TP_CHECK(strstr(tp_errmsg(), "Aeron transport") != NULL);
    TP_CHECK_EQ_I(tp_transport_add_subscription(t, "aeron:udp?endpoint=h:1", 1, &s), -1);
    TP_CHECK(strstr(tp_errmsg(), "Aeron transport") != NULL);
    TP_CHECK_EQ_I(tp_transport_add_subscription(t, "aeron:ipc?term-length=3m", 1, &s), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ECHANNEL);
    /* nothing was created for the refused channels */
    DIR *d = opendir(cfg.dir);
    TP_ASSERT(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            files++;
    closedir(d);
    TP_CHECK_EQ_I(files, 0);
    tp_transport_close(t);
}

/* ---- files ---------------------------------------------------------------------------------- */

TP_TEST(test_shmlog_term_length_mismatch_with_existing_log_refused)
{
    tp_transport_config_t cfg = tt_cfg(SLOW, SLOW);
    tp_transport_t *a, *b;
    tp_publication_t *p;
    tp_subscription_t *s;
    TP_ASSERT(tp_transport_open(&a, &cfg) == 0);
    TP_ASSERT(tp_transport_open(&b, &cfg) == 0);
    TP_ASSERT(tp_transport_add_publication(a, "aeron:ipc?term-length=64k", 11, &p) == 0);
    /* another transport (another process, as far as the file is concerned) */
    TP_CHECK_EQ_I(tp_transport_add_subscription(b, "aeron:ipc?term-length=128k", 11, &s), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ECHANNEL);
    TP_CHECK(strstr(tp_errmsg(), "term-length") != NULL);
    /* the same transport */
    TP_CHECK_EQ_I(tp_transport_add_subscription(a, "aeron:ipc?term-length=1m", 11, &s), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ECHANNEL);
    /* no term-length: take the existing log's; the same one: fine */
    TP_ASSERT(tp_transport_add_subscription(b, "aeron:ipc", 11, &s) == 0);
    tp_publication_t *p2;
    TP_ASSERT(tp_transport_add_publication(b, "aeron:ipc?term-length=64k", 11, &p2) == 0);
    TP_CHECK_EQ_U(tp_publication_max_message_length(p2), 8192);
    /* default_capacity differs (1 MiB) but the existing file wins when none is asked */
    tp_transport_config_t cfg2 = cfg;
    cfg2.default_capacity = 1u << 20;
    tp_transport_t *c;
    tp_publication_t *p3;
    TP_ASSERT(tp_transport_open(&c, &cfg2) == 0);
    TP_ASSERT(tp_transport_add_publication(c, "aeron:ipc", 11, &p3) == 0);
    TP_CHECK_EQ_U(tp_publication_max_message_length(p3), 8192);
    tp_transport_close(c);
    tp_transport_close(b);
    tp_transport_close(a);
}

static void write_file(const char *path, const void *buf, size_t n, off_t size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return;
    if (write(fd, buf, n) != (ssize_t)n)
        tp_test_fail(__FILE__, __LINE__, "write %s", path);
    if (ftruncate(fd, size) != 0)
        tp_test_fail(__FILE__, __LINE__, "ftruncate %s", path);
    close(fd);
}

static void expect_refused_here(tp_transport_t *t, uint32_t stream, int code, const char *what)
{
    tp_subscription_t *s;
    tp_publication_t *p;
    uint64_t t0 = tt_now();
    int rc = tp_transport_add_subscription(t, "aeron:ipc", stream, &s);
    if (rc != -1 || tp_errcode() != code || strstr(tp_errmsg(), what) == NULL)
        tp_test_fail(__FILE__, __LINE__, "stream %u: rc %d code %s msg '%s' (want %s '%s')",
                     stream, rc, tp_errname(tp_errcode()), tp_errmsg(), tp_errname(code), what);
    rc = tp_transport_add_publication(t, "aeron:ipc", stream, &p);
    if (rc != -1 || tp_errcode() != code)
        tp_test_fail(__FILE__, __LINE__, "stream %u: publication rc %d code %s", stream, rc,
                     tp_errname(tp_errcode()));
    /* refused promptly (within the open timeout), never waiting forever */
    TP_CHECK(tt_now() - t0 < 3000 * TT_MS);
}

/* In a child process: a crash of the opener on a foreign file is a failure of this case,
 * not the end of the test program. */
static void expect_refused(tp_transport_t *t, uint32_t stream, int code, const char *what)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int before = tp_test_failed_now();
        expect_refused_here(t, stream, code, what);
        _exit(tp_test_failed_now() != before ? 1 : 0);
    }
    TP_ASSERT(pid > 0);
    tp_test_track_child(pid);
    int st = tt_wait(pid, 10000 * TT_MS);
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        tp_test_fail(__FILE__, __LINE__, "stream %u ('%s'): opener %s %d", stream, what,
                     st >= 0 && WIFSIGNALED(st) ? "crashed with signal"
                     : st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) > 128
                         ? "crashed (exit 128 + signal), signal"
                         : "failed, status",
                     st >= 0 && WIFSIGNALED(st) ? WTERMSIG(st)
                     : st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) > 128
                         ? WEXITSTATUS(st) - 128
                         : st);
}

TP_TEST(test_shmlog_foreign_files_refused_with_clear_errors)
{
    tp_transport_config_t cfg = tt_cfg(SLOW, SLOW);
    tp_transport_t *t;
    char path[1200];
    static tp_shmlog_header_t h;
    cfg.open_timeout_ns = 100 * TT_MS;
    TP_ASSERT(tp_transport_open(&t, &cfg) == 0);

    memset(&h, 0, sizeof h);
    h.magic = TP_SHMLOG_MAGIC;
    h.version = TP_SHMLOG_VERSION;
    h.meta_bytes = TP_SHMLOG_META_BYTES;
    h.capacity = 65536;
    h.max_message = 8192;

    /* unknown version */
    h.stream_id = 20;
    h.version = TP_SHMLOG_VERSION + 97;
    tt_log_path(path, sizeof path, &cfg, 20);
    write_file(path, &h, sizeof h, TP_SHMLOG_META_BYTES + 65536);
    char want[64];
    snprintf(want, sizeof want, "version %u unsupported", TP_SHMLOG_VERSION + 97);
    expect_refused(t, 20, TP_EVERSION, want);

    /* version 0: a creator that never finished (cannot happen with link, but a foreign one) */
    h.stream_id = 21;
    h.version = 0;
    tt_log_path(path, sizeof path, &cfg, 21);
    write_file(path, &h, sizeof h, TP_SHMLOG_META_BYTES + 65536);
    expect_refused(t, 21, TP_EVERSION, "version 0 unsupported");

    /* wrong size: header says 64 KiB, file has 128 KiB of log */
    h.version = TP_SHMLOG_VERSION;
    h.stream_id = 22;
    tt_log_path(path, sizeof path, &cfg, 22);
    write_file(path, &h, sizeof h, TP_SHMLOG_META_BYTES + 131072);
    expect_refused(t, 22, TP_EIO, "does not match");

    /* capacity not a power of two in the header */
    h.stream_id = 23;
    h.capacity = 65536 + 4096;
    h.max_message = (uint32_t)(h.capacity / 8);
    tt_log_path(path, sizeof path, &cfg, 23);
    write_file(path, &h, sizeof h, TP_SHMLOG_META_BYTES + 65536 + 4096);
    expect_refused(t, 23, TP_EIO, "does not match");
    h.capacity = 65536;
    h.max_message = 8192;

    /* bad magic */
    h.stream_id = 24;
    h.magic = 0x1122334455667788ull;
    tt_log_path(path, sizeof path, &cfg, 24);
    write_file(path, &h, sizeof h, TP_SHMLOG_META_BYTES + 65536);
    expect_refused(t, 24, TP_EIO, "bad magic");
    h.magic = TP_SHMLOG_MAGIC;

    /* too short to be a log at all */
    tt_log_path(path, sizeof path, &cfg, 25);
    write_file(path, "hello", 5, 5);
    expect_refused(t, 25, TP_EIO, "not a tensorpool log");

    /* another stream's file under this stream's name */
    h.stream_id = 99;
    tt_log_path(path, sizeof path, &cfg, 26);
    write_file(path, &h, sizeof h, TP_SHMLOG_META_BYTES + 65536);
    expect_refused(t, 26, TP_EIO, "belongs to stream 99");

    /* a directory or a symlink under the log's name */
    tt_log_path(path, sizeof path, &cfg, 27);
    TP_CHECK(mkdir(path, 0700) == 0);
    expect_refused(t, 27, TP_EIO, "");
    char target[1200];
    tt_log_path(target, sizeof target, &cfg, 20);
    tt_log_path(path, sizeof path, &cfg, 28);
    TP_CHECK(symlink(target, path) == 0);
    expect_refused(t, 28, TP_EIO, "");

    /* the refused files were left alone */
    struct stat st;
    tt_log_path(path, sizeof path, &cfg, 20);
    TP_CHECK(stat(path, &st) == 0 && st.st_size == TP_SHMLOG_META_BYTES + 65536);
    tp_transport_close(t);
}

/* ---- concurrent first opens ------------------------------------------------------------------ */

#define NOPEN 6

typedef struct opener_arg {
    tp_transport_config_t cfg;
    int go_fd;      /* read end: EOF = go */
    int ready_fd;   /* write a byte when the publication exists */
    int offer_fd;   /* read end: EOF = offer */
    int close_fds[3]; /* the parent's ends, closed in the child (or EOF never comes) */
    uint32_t id;
} opener_arg_t;

static void opener_child(void *arg)
{
    opener_arg_t *a = arg;
    tp_transport_t *t;
    tp_publication_t *p;
    uint8_t m[100];
    for (int i = 0; i < 3; i++)
        close(a->close_fds[i]);
    if (tp_transport_open(&t, &a->cfg) != 0)
        _exit(10);
    tt_read_byte(a->go_fd, 5000 * TT_MS); /* all children start here at once */
    if (tp_transport_add_publication(t, "aeron:ipc?term-length=64k", 30, &p) != 0) {
        fprintf(stderr, "child %u: %s\n", a->id, tp_errmsg());
        _exit(11);
    }
    tt_write_byte(a->ready_fd, (uint8_t)a->id);
    if (tt_read_byte(a->offer_fd, 5000 * TT_MS) != -1)
        _exit(12);
    tt_msg_fill(m, sizeof m, a->id, 0);
    if (tt_offer_retry(t, p, m, sizeof m, tt_now() + 3000 * TT_MS) < 0)
        _exit(13);
    tp_transport_close(t);
    _exit(0);
}

TP_TEST(test_shmlog_concurrent_first_opens_share_one_log)
{
    tp_transport_config_t cfg = tt_cfg(SLOW, SLOW);
    opener_arg_t a;
    int go[2], ready[2], offer[2];
    pid_t pids[NOPEN];
    TP_ASSERT(pipe(go) == 0 && pipe(ready) == 0 && pipe(offer) == 0);
    a.cfg = cfg;
    a.go_fd = go[0];
    a.ready_fd = ready[1];
    a.offer_fd = offer[0];
    a.close_fds[0] = go[1];
    a.close_fds[1] = ready[0];
    a.close_fds[2] = offer[1];
    for (uint32_t i = 0; i < NOPEN; i++) {
        a.id = i;
        pids[i] = tt_fork(opener_child, &a);
        TP_ASSERT(pids[i] > 0);
    }
    close(go[0]);
    close(ready[1]);
    close(offer[0]);
    tt_sleep_ms(50); /* every child is blocked on the go pipe */
    close(go[1]);    /* go: all add their publication on the new stream at once */
    int nready = 0;
    while (nready < NOPEN && tt_read_byte(ready[0], 5000 * TT_MS) >= 0)
        nready++;
    TP_CHECK_EQ_I(nready, NOPEN);

    /* one log file, no temporary left behind */
    DIR *d = opendir(cfg.dir);
    TP_ASSERT(d);
    struct dirent *e;
    int logs = 0, others = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strcmp(e->d_name, "ipc-30.log") == 0)
            logs++;
        else
            others++;
    }
    closedir(d);
    TP_CHECK_EQ_I(logs, 1);
    TP_CHECK_EQ_I(others, 0);

    /* messages from every child reach one subscriber */
    tp_transport_t *t;
    tp_subscription_t *s;
    tt_collect_t c;
    TP_ASSERT(tp_transport_open(&t, &cfg) == 0);
    TP_ASSERT(tp_transport_add_subscription(t, "aeron:ipc", 30, &s) == 0);
    tt_collect_init(&c, 0);
    close(offer[1]);
    poll_until(t, s, &c, NOPEN);
    TP_CHECK_EQ_U(c.count, NOPEN);
    TP_CHECK_EQ_U(c.bad, 0);
    for (int i = 0; i < NOPEN; i++)
        TP_CHECK_EQ_I(c.next_seq[i], 1); /* one message from each child */
    for (int i = 0; i < NOPEN; i++) {
        int st = tt_wait(pids[i], 5000 * TT_MS);
        TP_CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    close(ready[0]);
    tp_transport_close(t);
}

/* ---- permissions and leftovers ------------------------------------------------------------- */

static void check_modes(mode_t fmode, mode_t dmode, int set)
{
    tp_transport_config_t cfg = tt_cfg(SLOW, SLOW);
    tp_transport_t *t;
    tp_publication_t *p;
    struct stat st;
    char path[1200];
    mode_t old = umask(022); /* a typical umask must not change the configured modes */
    strncat(cfg.dir, "/a/b", sizeof cfg.dir - strlen(cfg.dir) - 1);
    if (set) {
        cfg.file_mode = fmode;
        cfg.dir_mode = dmode;
    } else {
        TP_CHECK_EQ_U(cfg.file_mode, 0660);
        TP_CHECK_EQ_U(cfg.dir_mode, 0770);
    }
    if (tp_transport_open(&t, &cfg) != 0) {
        tp_test_fail(__FILE__, __LINE__, "open: %s", tp_errmsg());
        umask(old);
        return;
    }
    if (tp_transport_add_publication(t, "aeron:ipc", 31, &p) != 0)
        tp_test_fail(__FILE__, __LINE__, "add: %s", tp_errmsg());
    TP_CHECK(stat(cfg.dir, &st) == 0);
    TP_CHECK_EQ_U(st.st_mode & 07777, dmode);
    tt_log_path(path, sizeof path, &cfg, 31);
    TP_CHECK(stat(path, &st) == 0);
    TP_CHECK_EQ_U(st.st_mode & 07777, fmode);
    TP_CHECK(S_ISREG(st.st_mode));
    tp_transport_close(t);
    umask(old);
}

TP_TEST(test_shmlog_permissions_default_0660_in_0770_dir)
{
    check_modes(0660, 0770, 0);
}

TP_TEST(test_shmlog_permissions_private_0600_in_0700_dir)
{
    check_modes(0600, 0700, 1);
}

static void exit_now(void *arg) { (void)arg; }

TP_TEST(test_shmlog_dead_creator_temp_file_removed_at_open)
{
    tp_transport_config_t cfg = tt_cfg(SLOW, SLOW);
    tp_transport_t *t;
    char dead[1300], live[1300], other[1300];
    struct stat st;
    pid_t pid = tt_fork(exit_now, NULL);
    TP_ASSERT(pid > 0);
    TP_ASSERT(tt_wait(pid, 5000 * TT_MS) >= 0); /* reaped: that pid is dead */
    TP_ASSERT(tp_transport_open(&t, &cfg) == 0); /* creates the directory */
    tp_transport_close(t);
    snprintf(dead, sizeof dead, "%s/.ipc-40.log.tmp.%ld.0", cfg.dir, (long)pid);
    snprintf(live, sizeof live, "%s/.ipc-40.log.tmp.%ld.3", cfg.dir, (long)getpid());
    snprintf(other, sizeof other, "%s/notes.tmp.%ld.0", cfg.dir, (long)pid);
    char fresh[1300];
    snprintf(fresh, sizeof fresh, "%s/.ipc-41.log.tmp.%ld.1", cfg.dir, (long)pid);
    write_file(dead, "x", 1, 4096);
    write_file(live, "x", 1, 4096);
    write_file(other, "x", 1, 1);
    write_file(fresh, "x", 1, 4096);
    /* older than a minute (a creator in another pid namespace shows no pid: age decides) */
    struct timespec old[2] = {{time(NULL) - 120, 0}, {time(NULL) - 120, 0}};
    TP_CHECK(utimensat(AT_FDCWD, dead, old, 0) == 0);
    TP_CHECK(utimensat(AT_FDCWD, live, old, 0) == 0);
    TP_CHECK(utimensat(AT_FDCWD, other, old, 0) == 0);
    TP_ASSERT(tp_transport_open(&t, &cfg) == 0);
    TP_CHECK(stat(dead, &st) != 0 && errno == ENOENT); /* a dead creator's: removed */
    TP_CHECK(stat(fresh, &st) == 0);                   /* a fresh one: kept for now */
    TP_CHECK(stat(live, &st) == 0);                    /* a live creator's: kept */
    TP_CHECK(stat(other, &st) == 0);                   /* not ours: kept */
    /* and the stream opens normally */
    tp_publication_t *p;
    TP_CHECK(tp_transport_add_publication(t, "aeron:ipc", 40, &p) == 0);
    tp_transport_close(t);
}

/* ---- is_connected --------------------------------------------------------------------------- */

TP_TEST(test_shmlog_is_connected_both_ends_close_and_stale_heartbeat)
{
    tp_transport_config_t cfg = tt_cfg(400 * TT_MS, SLOW);
    tp_transport_t *a, *b;
    tp_publication_t *p;
    tp_subscription_t *s;
    TP_ASSERT(tp_transport_open(&a, &cfg) == 0);
    TP_ASSERT(tp_transport_open(&b, &cfg) == 0);
    TP_ASSERT(tp_transport_add_publication(a, "aeron:ipc", 41, &p) == 0);
    TP_CHECK(!tp_publication_is_connected(p));
    TP_ASSERT(tp_transport_add_subscription(b, "aeron:ipc", 41, &s) == 0);
    TP_CHECK(tp_publication_is_connected(p));
    TP_CHECK(tp_subscription_is_connected(s));

    /* the subscriber closes */
    tp_subscription_close(s);
    TP_CHECK(!tp_publication_is_connected(p));
    TP_ASSERT(tp_transport_add_subscription(b, "aeron:ipc", 41, &s) == 0);
    TP_CHECK(tp_publication_is_connected(p));
    /* the publisher closes */
    tp_publication_close(p);
    TP_CHECK(!tp_subscription_is_connected(s));
    TP_ASSERT(tp_transport_add_publication(a, "aeron:ipc", 41, &p) == 0);
    TP_CHECK(tp_subscription_is_connected(s));

    /* b stops heartbeating: a's publication sees no live subscriber after the timeout,
     * while b's subscription still sees a's live publication */
    uint64_t end = tt_now() + 700 * TT_MS;
    while (tt_now() < end) {
        tp_transport_do_work(a, tt_now());
        tt_sleep_ms(10);
    }
    TP_CHECK(!tp_publication_is_connected(p));
    TP_CHECK(tp_subscription_is_connected(s));
    /* b heartbeats again: connected again */
    tp_transport_do_work(b, tt_now());
    TP_CHECK(tp_publication_is_connected(p));
    /* now a stops: b's subscription sees the publisher go */
    end = tt_now() + 700 * TT_MS;
    while (tt_now() < end) {
        tp_transport_do_work(b, tt_now());
        tt_sleep_ms(10);
    }
    TP_CHECK(!tp_subscription_is_connected(s));
    TP_CHECK(tp_publication_is_connected(p));
    tp_transport_do_work(a, tt_now());
    TP_CHECK(tp_subscription_is_connected(s));

    /* the other side's transport closes */
    tp_transport_close(a);
    TP_CHECK(!tp_subscription_is_connected(s));
    tp_transport_close(b);
}

/* ---- join semantics ------------------------------------------------------------------------- */

static void offer_seqs(tp_transport_t *t, tp_publication_t *p, uint32_t from, uint32_t to)
{
    uint8_t m[80];
    for (uint32_t i = from; i < to; i++) {
        tt_msg_fill(m, sizeof m, 6, i);
        if (tt_offer_retry(t, p, m, sizeof m, tt_now() + 2000 * TT_MS) < 0)
            tp_test_fail(__FILE__, __LINE__, "offer %u", i);
    }
}

TP_TEST(test_shmlog_join_late_subscriber_starts_at_tail)
{
    pair_t x;
    tp_subscription_t *late;
    tt_collect_t c1, c2;
    TP_ASSERT(pair_open(&x, "aeron:ipc", 42) == 0);
    tt_collect_init(&c1, 0);
    tt_collect_init(&c2, 10);
    offer_seqs(x.t, x.p, 0, 10);
    TP_ASSERT(tp_transport_add_subscription(x.t, "aeron:ipc", 42, &late) == 0);
    TP_CHECK_EQ_U(tp_subscription_position(late), 10 * tt_record(80));
    TP_CHECK_EQ_I(tp_subscription_poll(late, tt_collect_handler, &c2, 100), 0);
    offer_seqs(x.t, x.p, 10, 15);
    poll_until(x.t, x.s, &c1, 15);
    poll_until(x.t, late, &c2, 5);
    tt_sleep_ms(20);
    tp_subscription_poll(late, tt_collect_handler, &c2, 100);
    TP_CHECK_EQ_U(c1.count, 15);
    TP_CHECK_EQ_U(c2.count, 5);
    TP_CHECK_EQ_I(c2.next_seq[6], 15);
    TP_CHECK_EQ_U(c2.out_of_order, 0);
    TP_CHECK_EQ_U(c1.out_of_order, 0);
    TP_CHECK_EQ_U(tp_subscription_lost_bytes(late), 0);

    /* close and reopen: rejoins at the tail, not where it left */
    tp_subscription_close(late);
    offer_seqs(x.t, x.p, 15, 18);
    TP_ASSERT(tp_transport_add_subscription(x.t, "aeron:ipc", 42, &late) == 0);
    tt_collect_init(&c2, 18);
    offer_seqs(x.t, x.p, 18, 20);
    poll_until(x.t, late, &c2, 2);
    tt_sleep_ms(20);
    tp_subscription_poll(late, tt_collect_handler, &c2, 100);
    TP_CHECK_EQ_U(c2.count, 2);
    TP_CHECK_EQ_I(c2.next_seq[6], 20);
    TP_CHECK_EQ_U(c2.out_of_order, 0);
    TP_CHECK_EQ_U(tp_subscription_lost_bytes(late), 0);
    TP_CHECK_EQ_U(tp_subscription_lapped_count(late), 0);
    tp_transport_close(x.t);
}

TP_TEST(test_shmlog_join_reopened_in_another_transport_rejoins_at_tail)
{
    tp_transport_config_t cfg = tt_cfg(SLOW, SLOW);
    tp_transport_t *a, *b;
    tp_publication_t *p;
    tp_subscription_t *s0, *s;
    tt_collect_t c;
    TP_ASSERT(tp_transport_open(&a, &cfg) == 0);
    TP_ASSERT(tp_transport_add_publication(a, "aeron:ipc", 43, &p) == 0);
    TP_ASSERT(tp_transport_add_subscription(a, "aeron:ipc", 43, &s0) == 0);
    offer_seqs(a, p, 0, 7);
    TP_ASSERT(tp_transport_open(&b, &cfg) == 0);
    TP_ASSERT(tp_transport_add_subscription(b, "aeron:ipc", 43, &s) == 0);
    tp_transport_close(b); /* the whole transport goes (as when its process exits) */
    offer_seqs(a, p, 7, 9);
    TP_ASSERT(tp_transport_open(&b, &cfg) == 0);
    TP_ASSERT(tp_transport_add_subscription(b, "aeron:ipc", 43, &s) == 0);
    tt_collect_init(&c, 9);
    offer_seqs(a, p, 9, 12);
    poll_until(b, s, &c, 3);
    tt_sleep_ms(20);
    tp_subscription_poll(s, tt_collect_handler, &c, 100);
    TP_CHECK_EQ_U(c.count, 3);
    TP_CHECK_EQ_U(c.out_of_order, 0);
    TP_CHECK_EQ_I(c.next_seq[6], 12);
    tp_transport_close(b);
    tp_transport_close(a);
}

/* ---- stale bytes of an earlier lap are never a record -------------------------------------- */

/* shmlog.h: "Everything else found at p & mask (... message bytes of earlier laps) means
 * nothing at p yet". A message's own bytes at a 32-byte aligned offset sit where the next
 * lap's record grid may put a header when record sizes change. Here lap 0 is 48-byte
 * messages (64-byte records) whose bytes 16..23 hold 0x800006 (a u64 field such as a
 * sequence number 8388614: COMMITTED | 1 unit | lap 1 in an unsalted word) and bytes 24..27
 * the value 5; lap 1 is 16-byte messages (32-byte records), so every other lap-1 record
 * boundary sits on those bytes. The subscriber must receive exactly the messages offered.
 * (The first protocol delivered 100 phantom 5-byte messages here; v2's salted tags and
 * check words fixed it: a regression test.) */
TP_TEST(test_shmlog_stale_payload_of_earlier_lap_is_not_a_record)
{
    pair_t x;
    tt_collect_t c;
    uint8_t m[48];
    TP_ASSERT(pair_open(&x, "aeron:ipc?term-length=64k", 44) == 0);
    tt_collect_init(&c, 0);
    uint32_t seq = 0;
    /* lap 0: 1024 records of 64 bytes */
    for (int i = 0; i < 1024; i++) {
        tt_msg_fill(m, 48, 7, seq);
        uint64_t field = 0x800006ull; /* COMMITTED | 1 unit | lap tag 1, as a plain number */
        uint32_t five = 5;
        memcpy(m + 16, &field, 8);
        memcpy(m + 24, &five, 4);
        /* keep the message self-checking: recompute bytes 16.. after the fields */
        for (size_t k = 28; k < 48; k++)
            m[k] = tt_byte(7, seq, k);
        int64_t r = tt_offer_retry(x.t, x.p, m, 48, tt_now() + 2000 * TT_MS);
        TP_ASSERT(r > 0);
        seq++;
        tp_subscription_poll(x.s, tt_collect_handler, &c, 100);
    }
    /* the lap-0 messages do not pass tt_msg_check (bytes 16..27 replaced): count them raw */
    uint64_t lap0 = c.bad + c.count;
    TP_CHECK_EQ_U(lap0, 1024);
    TP_CHECK_EQ_U(tp_subscription_position(x.s), 65536);
    /* lap 1: 16-byte messages */
    tt_collect_init(&c, 0);
    for (uint32_t i = 0; i < 100; i++) {
        tt_msg_fill(m, 16, 8, i);
        int64_t r = tt_offer_retry(x.t, x.p, m, 16, tt_now() + 2000 * TT_MS);
        TP_ASSERT(r > 0);
        tp_subscription_poll(x.s, tt_collect_handler, &c, 100);
    }
    tp_subscription_poll(x.s, tt_collect_handler, &c, 100);
    TP_CHECK_EQ_U(c.count, 100);
    TP_CHECK_EQ_U(c.bad, 0); /* phantom records delivered */
    TP_CHECK_EQ_U(c.out_of_order, 0);
    TP_CHECK_EQ_U(tp_subscription_lapped_count(x.s), 0);
    TP_CHECK_EQ_U(tp_subscription_position(x.s), 65536 + 100 * 32);
    tp_transport_close(x.t);
}

/* The same hazard without any crafted field: a message whose last bytes start a 32-byte
 * aligned word, in the first lap, is followed by the zeroes of the new file, so that word
 * reads as a small number. 19-byte messages ending in 2d 71 c4 give the word 0xc4712d at
 * lap-0 offset 32: CLAIMED, lap 1, 1121355 units in an unsalted word. In lap 1, 16-byte
 * messages put a record boundary there. Expected: both lap-1 messages delivered, the tail
 * exactly after them, no TP_ELAPPED. (The first protocol "helped" the tail 35 MB forward
 * past the phantom claim and the subscriber rejoined with TP_ELAPPED; regression test.) */
TP_TEST(test_shmlog_first_lap_message_end_is_not_a_claim)
{
    pair_t x;
    tt_log_view_t v;
    uint8_t m[19];
    raw_msgs_t *r = calloc(1, sizeof *r);
    TP_ASSERT(r);
    TP_ASSERT(pair_open(&x, "aeron:ipc?term-length=64k", 45) == 0);
    TP_ASSERT(tt_log_map(&v, &x.cfg, 45) == 0);
    for (int i = 0; i < 16; i++)
        m[i] = (uint8_t)(0x40 + i);
    m[16] = 0x2d;
    m[17] = 0x71;
    m[18] = 0xc4;
    for (int i = 0; i < 1024; i++) { /* exactly one lap of 64-byte records */
        TP_ASSERT(tt_offer_retry(x.t, x.p, m, sizeof m, tt_now() + 2000 * TT_MS) > 0);
        tp_subscription_poll(x.s, raw_handler, r, 100);
    }
    TP_CHECK_EQ_I(r->n, 1024);
    TP_CHECK_EQ_U(tt_log_tail(&v), 65536);
    r->n = 0;
    uint8_t a[16], b[16];
    memset(a, 0xAA, sizeof a);
    memset(b, 0xBB, sizeof b);
    int64_t ra = tp_publication_offer(x.p, a, sizeof a);
    int64_t rb = tp_publication_offer(x.p, b, sizeof b);
    TP_CHECK_EQ_I(ra, 65536 + 32);
    TP_CHECK_EQ_I(rb, 65536 + 64);
    TP_CHECK_EQ_U(tt_log_tail(&v), 65536 + 64);
    tp_err_clear();
    int n = tp_subscription_poll(x.s, raw_handler, r, 100);
    if (n < 0)
        tp_test_fail(__FILE__, __LINE__, "poll: %s", tp_errmsg());
    TP_CHECK_EQ_I(n, 2);
    TP_CHECK_EQ_I(r->n, 2);
    TP_CHECK(r->n >= 1 && r->len[0] == 16 && r->data[0][0] == 0xAA);
    TP_CHECK(r->n >= 2 && r->len[1] == 16 && r->data[1][0] == 0xBB);
    TP_CHECK_EQ_U(tp_subscription_lost_bytes(x.s), 0);
    TP_CHECK_EQ_U(tp_subscription_lapped_count(x.s), 0);
    free(r);
    tt_log_unmap(&v);
    tp_transport_close(x.t);
}

/* A message that ends inside a 32-byte aligned word leaves the rest of that word as it was:
 * there, the upper half of an older header at the same offset. A tag's upper 32 bits are the
 * same for 512 consecutive laps, so when the message's last bytes happen to hold the low tag
 * bits of the lap that puts a header there next, and a non-zero state (about 1 in 700), the
 * stale word carries that lap's tag. Here: lap A has 64-byte records (a header at offset 64);
 * lap A+1 starts with a 52-byte message (it ends at offset 68) whose last 4 bytes make the
 * word at 64 read state | units << 2 with lap A+2's tag; in lap A+2 a record starts at 64.
 * Expected: that claim succeeds and commits, the subscriber receives exactly the two lap-A+2
 * messages, loses nothing. (The MPMC test failed so about once in 600 runs: the header write
 * took the stale word for a recoverer's, returned ADMIN_ACTION and left it behind with a
 * check word vouching for it; every subscriber then found a corrupt record, or skipped or
 * delivered a phantom one. Regression test, one case per state.) */
static int offer_polled(pair_t *x, raw_msgs_t *r, const uint8_t *m, size_t len)
{
    int64_t rc = tt_offer_retry(x->t, x->p, m, len, tt_now() + 2000 * TT_MS);
    tp_subscription_poll(x->s, raw_handler, r, 100);
    return rc > 0 ? 0 : -1;
}

static void stale_tag_setup(pair_t *x, tt_log_view_t *v, raw_msgs_t *r, uint32_t state,
                            uint32_t units, uint64_t *lap2_out)
{
    uint8_t m[52];
    uint64_t salt = v->hdr->tag_salt;
    /* lap A: tags of laps A and A+2 share their upper 32 bits (no carry out of the low 9) */
    uint64_t lap_a = 0;
    while (((salt + lap_a) & 0x1ff) > 0x1fd)
        lap_a++;
    memset(m, 0x11, sizeof m);
    for (uint64_t i = 0; i < (lap_a + 1) * 1024; i++) /* laps 0..A: 64-byte records */
        TP_ASSERT(offer_polled(x, r, m, 48) == 0);
    /* lap A+1: 96 + 1022 * 64 + 32 bytes; the first message ends 4 bytes into offset 64 */
    uint64_t tag2 = (salt + lap_a + 2) & TT_TAG_MASK;
    uint32_t tail4 = state | units << 2 | (uint32_t)(tag2 & 0x1ff) << 23;
    memcpy(m + 48, &tail4, 4);
    TP_ASSERT(offer_polled(x, r, m, 52) == 0);
    for (int i = 0; i < 1022; i++)
        TP_ASSERT(offer_polled(x, r, m, 48) == 0);
    TP_ASSERT(offer_polled(x, r, m, 16) == 0);
    uint64_t lap2 = (lap_a + 2) * 65536;
    TP_CHECK_EQ_U(tt_log_tail(v), lap2);
    TP_CHECK_EQ_U(tp_subscription_position(x->s), lap2);
    /* the hazard is in place: the stale word at offset 64 carries lap A+2's tag */
    uint64_t w = tt_word_at(v, 64);
    TP_CHECK_EQ_U(tt_word_lap(v, w), lap_a + 2);
    TP_CHECK_EQ_U(TT_WORD_STATE(w), state);
    TP_CHECK_EQ_U(TT_WORD_UNITS(w), units);
    TP_CHECK(tt_check_word(v, lap2 + 64) != tt_check_word(v, lap_a * 65536 + 64));
    *lap2_out = lap2;
}

static void stale_tag_under_message_tail(uint32_t stream, uint32_t state, uint32_t units)
{
    pair_t x;
    tt_log_view_t v;
    uint64_t lap2;
    raw_msgs_t *r = calloc(1, sizeof *r);
    TP_ASSERT(r);
    TP_ASSERT(pair_open(&x, "aeron:ipc?term-length=64k", stream) == 0);
    TP_ASSERT(tt_log_map(&v, &x.cfg, stream) == 0);
    stale_tag_setup(&x, &v, r, state, units, &lap2);
    r->n = 0;
    uint8_t a[48], b[48];
    memset(a, 0xAA, sizeof a);
    memset(b, 0xBB, sizeof b);
    tp_err_clear();
    int64_t ra = tp_publication_offer(x.p, a, sizeof a);
    int64_t rb = tp_publication_offer(x.p, b, sizeof b);
    TP_CHECK_EQ_I(ra, (int64_t)lap2 + 64);
    TP_CHECK_EQ_I(rb, (int64_t)lap2 + 128);
    TP_CHECK_EQ_U(tt_word_at(&v, lap2 + 64), tt_make_word(&v, lap2 + 64, 64, TP_SHMLOG_COMMITTED));
    int n = tp_subscription_poll(x.s, raw_handler, r, 100);
    if (n < 0)
        tp_test_fail(__FILE__, __LINE__, "poll: %s", tp_errmsg());
    TP_CHECK_EQ_I(n, 2);
    TP_CHECK_EQ_I(r->n, 2);
    TP_CHECK(r->n >= 1 && r->len[0] == 48 && r->data[0][0] == 0xAA);
    TP_CHECK(r->n >= 2 && r->len[1] == 48 && r->data[1][0] == 0xBB);
    TP_CHECK_EQ_U(tp_subscription_position(x.s), lap2 + 128);
    TP_CHECK_EQ_U(tp_subscription_lost_bytes(x.s), 0);
    TP_CHECK_EQ_U(tp_subscription_lapped_count(x.s), 0);
    free(r);
    tt_log_unmap(&v);
    tp_transport_close(x.t);
}

TP_TEST(test_shmlog_stale_tag_under_message_tail_claimed_is_not_a_header)
{
    stale_tag_under_message_tail(51, TP_SHMLOG_CLAIMED, 0x1FFFFF); /* the MPMC failure */
}

TP_TEST(test_shmlog_stale_tag_under_message_tail_padding_is_not_a_header)
{
    stale_tag_under_message_tail(52, TP_SHMLOG_PADDING, 2);
}

TP_TEST(test_shmlog_stale_tag_under_message_tail_committed_is_not_a_header)
{
    stale_tag_under_message_tail(53, TP_SHMLOG_COMMITTED, 3);
}

/* The one stale word a publisher cannot tell from a recoverer's: exactly PADDING(32) with the
 * current tag (the message's last 4 bytes equal to its low half: 2^-32 on top of the 1 in 700
 * above). The publisher takes its claim for recovered (ADMIN_ACTION: the message was not
 * published); the check word never vouched for the stale word, so the subscribers see a
 * headerless claim and, after the unblock timeout, pad it all the same way and go on. */
TP_TEST(test_shmlog_stale_word_equal_to_recoverer_padding_loses_the_claim_consistently)
{
    pair_t x;
    tt_log_view_t v;
    uint64_t lap2;
    raw_msgs_t *r = calloc(1, sizeof *r);
    TP_ASSERT(r);
    x.cfg = tt_cfg(SLOW, 100 * TT_MS);
    TP_ASSERT(tp_transport_open(&x.t, &x.cfg) == 0);
    TP_ASSERT(tp_transport_add_subscription(x.t, "aeron:ipc?term-length=64k", 55, &x.s) == 0);
    TP_ASSERT(tp_transport_add_publication(x.t, "aeron:ipc?term-length=64k", 55, &x.p) == 0);
    TP_ASSERT(tt_log_map(&v, &x.cfg, 55) == 0);
    stale_tag_setup(&x, &v, r, TP_SHMLOG_PADDING, 1, &lap2);
    TP_CHECK_EQ_U(tt_word_at(&v, 64), tt_make_word(&v, lap2 + 64, 32, TP_SHMLOG_PADDING));
    r->n = 0;
    uint8_t a[48], b[48], c[48];
    memset(a, 0xAA, sizeof a);
    memset(b, 0xBB, sizeof b);
    memset(c, 0xCC, sizeof c);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, a, sizeof a), (int64_t)lap2 + 64);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, b, sizeof b), TP_PUB_ADMIN_ACTION);
    TP_CHECK_EQ_U(tt_log_tail(&v), lap2 + 128); /* the claim stays taken */
    TP_CHECK_EQ_I(tp_subscription_poll(x.s, raw_handler, r, 100), 1);
    uint64_t end = tt_now() + 2000 * TT_MS;
    while (tp_subscription_position(x.s) < lap2 + 128 && tt_now() < end) {
        if (tp_subscription_poll(x.s, raw_handler, r, 100) < 0)
            tp_test_fail(__FILE__, __LINE__, "poll: %s", tp_errmsg());
        tp_transport_do_work(x.t, tt_now());
        sched_yield();
    }
    TP_CHECK_EQ_U(tp_subscription_position(x.s), lap2 + 128);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, c, sizeof c), (int64_t)lap2 + 192);
    TP_CHECK_EQ_I(tp_subscription_poll(x.s, raw_handler, r, 100), 1);
    TP_CHECK_EQ_I(r->n, 2);
    TP_CHECK(r->n >= 1 && r->data[0][0] == 0xAA);
    TP_CHECK(r->n >= 2 && r->len[1] == 48 && r->data[1][0] == 0xCC);
    TP_CHECK_EQ_U(tt_word_at(&v, lap2 + 96), tt_make_word(&v, lap2 + 96, 32, TP_SHMLOG_PADDING));
    TP_CHECK_EQ_U(tp_subscription_lost_bytes(x.s), 0);
    TP_CHECK_EQ_U(tp_subscription_lapped_count(x.s), 0);
    free(r);
    tt_log_unmap(&v);
    tp_transport_close(x.t);
}

/* A subscriber that finds a corrupt record (here: a committed record's size overwritten, tag
 * and check word intact) rejoins at the tail with TP_ELAPPED and keeps its table entry. A
 * second entry while the first stayed ACTIVE at the old position would hold every publisher
 * back until the liveness timeout evicted it (after the MPMC failure above, the publishers
 * spun back-pressured for the whole 10 s liveness timeout, then got NOT_CONNECTED). */
TP_TEST(test_shmlog_rejoin_after_corrupt_record_keeps_its_one_entry)
{
    pair_t x;
    tt_log_view_t v;
    uint8_t m[48];
    raw_msgs_t *r = calloc(1, sizeof *r);
    TP_ASSERT(r);
    TP_ASSERT(pair_open(&x, "aeron:ipc?term-length=64k", 54) == 0);
    TP_ASSERT(tt_log_map(&v, &x.cfg, 54) == 0);
    memset(m, 0x22, sizeof m);
    TP_ASSERT(tp_publication_offer(x.p, m, sizeof m) == 64);
    TP_ASSERT(tp_publication_offer(x.p, m, sizeof m) == 128);
    __atomic_store_n((uint64_t *)(void *)(v.data + 64),
                     tt_make_word(&v, 64, 32ull * 0x1FFFFF, TP_SHMLOG_COMMITTED),
                     __ATOMIC_RELEASE);
    tp_err_clear();
    TP_CHECK_EQ_I(tp_subscription_poll(x.s, raw_handler, r, 100), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ELAPPED);
    TP_CHECK_EQ_I(r->n, 1);
    TP_CHECK_EQ_U(tp_subscription_lost_bytes(x.s), 64);
    TP_CHECK_EQ_U(tp_subscription_position(x.s), 128);
    int active = 0;
    for (uint32_t i = 0; i < TP_SHMLOG_ENTRIES; i++)
        active += TT_WORD_STATE(v.subs[i].state) == TP_SHMLOG_ENTRY_ACTIVE;
    TP_CHECK_EQ_I(active, 1);
    TP_CHECK_EQ_U(v.subs[0].position, 128);
    /* it goes on from the tail */
    TP_ASSERT(tp_publication_offer(x.p, m, sizeof m) == 192);
    TP_CHECK_EQ_I(tp_subscription_poll(x.s, raw_handler, r, 100), 1);
    TP_CHECK_EQ_I(r->n, 2);
    /* and once it leaves, nobody holds the publisher: the next offer is NOT_CONNECTED */
    tp_subscription_close(x.s);
    TP_CHECK_EQ_I(tp_publication_offer(x.p, m, sizeof m), TP_PUB_NOT_CONNECTED);
    free(r);
    tt_log_unmap(&v);
    tp_transport_close(x.t);
}

/* The record format changed incompatibly in "shmlog v2" (claims CAS the tail, salted tags,
 * check words): a log written by the first protocol (version word 1, tag_salt 0, no check
 * words, a peer still running that build) must be refused as an unknown version, not
 * joined: the two protocols corrupt each other's records. This builds such a file: one
 * committed 48-byte message at position 0 in the old encoding, tail 64. */
TP_TEST(test_shmlog_log_of_first_protocol_refused_as_other_version)
{
    tp_transport_config_t cfg = tt_cfg(SLOW, SLOW);
    tp_transport_t *t;
    char path[1200];
    static uint8_t file[TP_SHMLOG_META_BYTES + 65536];
    tp_shmlog_header_t *h = (tp_shmlog_header_t *)(void *)file;
    memset(file, 0, sizeof file);
    h->magic = TP_SHMLOG_MAGIC;
    h->version = 1; /* the first protocol's version word */
    h->meta_bytes = TP_SHMLOG_META_BYTES;
    h->capacity = 65536;
    h->max_message = 8192;
    h->stream_id = 50;
    h->tail = 64;
    uint64_t w = 2u | (2u << 2); /* COMMITTED, 2 units, lap 0, no salt */
    uint32_t len = 48;
    memcpy(file + TP_SHMLOG_META_BYTES, &w, 8);
    memcpy(file + TP_SHMLOG_META_BYTES + 8, &len, 4);
    TP_ASSERT(tp_transport_open(&t, &cfg) == 0);
    tt_log_path(path, sizeof path, &cfg, 50);
    write_file(path, file, sizeof file, sizeof file);
    tp_subscription_t *s;
    int rc = tp_transport_add_subscription(t, "aeron:ipc", 50, &s);
    TP_CHECK_EQ_I(rc, -1);
    if (rc == -1)
        TP_CHECK_EQ_I(tp_errcode(), TP_EVERSION);
    tp_transport_close(t);
}

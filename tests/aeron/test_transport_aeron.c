/*
 * The Aeron transport behind transport.h (issue 7 "Transport", src/transport/aeron/aeron.h):
 * adds that never block, the embedded media driver, offer (try_claim below the max payload,
 * fragmented offer above, MAX_SIZE_EXCEEDED past the max message), whole messages through the
 * fragment assembler, NOT_CONNECTED / BACK_PRESSURED, image callbacks and the W-91 join time,
 * exclusive publications, aeron:udp on loopback, Aeron errors surfacing as TP_EAERON with Aeron's message, and
 * reconnecting after the media driver stops cleanly or dies with kill -9.
 *
 * Every test skips (exit 77 when all do) in a build without Aeron. Media driver directories are
 * private, under /dev/shm (Aeron's log buffers want tmpfs), removed at exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tensorpool/error.h"
#include "tp_test.h"
#include "transport/transport.h"
#include "util/clock.h"
#include "util/error.h"

#define MS 1000000ull
#define NEED_AERON()                                                                       \
    do {                                                                                   \
        if (!tp_transport_aeron_available())                                               \
            TP_SKIP("built without Aeron (TP_WITH_AERON=OFF or Aeron not found): "         \
                    "docs/aeron.md");                                                      \
    } while (0)

/* ---- helpers ------------------------------------------------------------------------------ */

static char dirs[16][256];
static int ndirs;

static void remove_dirs(void)
{
    for (int i = 0; i < ndirs; i++)
        tp_test_rmtree(dirs[i]);
}

/* A fresh media driver directory for one test. */
static const char *aeron_dir(const char *name)
{
    if (ndirs == 0)
        atexit(remove_dirs);
    snprintf(dirs[ndirs], sizeof dirs[0], "/dev/shm/tp-aeron-test-%d-%s", (int)getpid(), name);
    tp_test_rmtree(dirs[ndirs]);
    return dirs[ndirs++];
}

static tp_transport_config_t aeron_cfg(const char *dir, bool launch)
{
    tp_transport_config_t c;
    tp_transport_config_init(&c);
    snprintf(c.dir, sizeof c.dir, "%s/transport", tp_test_tmpdir());
    c.file_mode = 0600;
    c.dir_mode = 0700;
    c.kind = TP_TRANSPORT_AERON;
    snprintf(c.aeron_dir, sizeof c.aeron_dir, "%s", dir);
    c.launch_media_driver = launch;
    c.liveness_timeout_ns = 2000 * MS; /* the embedded media driver's client liveness */
    return c;
}

static uint64_t now_ns(void) { return tp_clock_monotonic_ns(); }

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* do_work on up to three transports; TP_EAERON results are counted, not fatal. */
typedef struct pump {
    tp_transport_t *t[3];
    int errors;
    char last_error[1024];
} pump_t;

static void pump_once(pump_t *p)
{
    for (int i = 0; i < 3; i++) {
        if (p->t[i] == NULL)
            continue;
        if (tp_transport_do_work(p->t[i], now_ns()) < 0) {
            p->errors++;
            snprintf(p->last_error, sizeof p->last_error, "%s (code %d)", tp_errmsg(),
                     tp_errcode());
        }
    }
}

typedef struct msgs {
    int n;
    size_t len[256];
    uint32_t sum[256];
    uint8_t first[256];
    bool bad;
} msgs_t;

/* Message i: length len, byte k = (i + k) & 0xff. */
static void fill(uint8_t *buf, size_t len, int i)
{
    for (size_t k = 0; k < len; k++)
        buf[k] = (uint8_t)(i + (int)k);
}

static void on_msg(void *clientd, const uint8_t *msg, size_t len)
{
    msgs_t *m = clientd;
    if (m->n < 256) {
        uint32_t sum = 0;
        for (size_t k = 0; k < len; k++) {
            sum += msg[k];
            if (msg[k] != (uint8_t)(msg[0] + (int)k))
                m->bad = true;
        }
        m->len[m->n] = len;
        m->sum[m->n] = sum;
        m->first[m->n] = len ? msg[0] : 0;
    }
    m->n++;
}

static bool wait_connected(pump_t *p, tp_publication_t *pub, tp_subscription_t *sub,
                           unsigned ms)
{
    uint64_t end = now_ns() + ms * MS;
    while (now_ns() < end) {
        pump_once(p);
        if ((pub == NULL || tp_publication_is_connected(pub)) &&
            (sub == NULL || tp_subscription_is_connected(sub)))
            return true;
        sleep_ms(1);
    }
    return false;
}

static int poll_for(pump_t *p, tp_subscription_t *s, msgs_t *m, int want, unsigned ms)
{
    uint64_t end = now_ns() + ms * MS;
    while (m->n < want && now_ns() < end) {
        if (tp_subscription_poll(s, on_msg, m, 16) == 0) {
            pump_once(p);
            sleep_ms(1);
        }
    }
    return m->n;
}

/* Offer, retrying BACK_PRESSURED / NOT_CONNECTED / ADMIN_ACTION for up to ms. */
static int64_t offer_retry(pump_t *p, tp_publication_t *pub, const void *buf, size_t len,
                           unsigned ms)
{
    uint64_t end = now_ns() + ms * MS;
    int64_t rc;
    while ((rc = tp_publication_offer(pub, buf, len)) < 0 && rc != TP_PUB_MAX_SIZE_EXCEEDED &&
           rc != TP_PUB_CLOSED && now_ns() < end) {
        pump_once(p);
        sleep_ms(1);
    }
    return rc;
}

/* A child process that runs an embedded media driver in dir until killed. Returns its pid
 * once the media driver is up. */
static pid_t spawn_media_driver(const char *dir)
{
    int fds[2];
    char c = 0;
    pid_t pid;
    (void)tp_test_tmpdir(); /* created (and removed at exit) by this process, not the child */
    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        tp_transport_config_t cfg = aeron_cfg(dir, true);
        tp_transport_t *t;
        close(fds[0]);
        if (tp_transport_open(&t, &cfg) != 0) {
            fprintf(stderr, "child media driver: %s\n", tp_errmsg());
            _exit(1);
        }
        c = 1;
        if (write(fds[1], &c, 1) != 1)
            _exit(1);
        for (;;) {
            tp_transport_do_work(t, now_ns());
            sleep_ms(10);
        }
    }
    close(fds[1]);
    if (pid > 0) {
        tp_test_track_child(pid);
        if (read(fds[0], &c, 1) != 1 || c != 1) {
            waitpid(pid, NULL, 0);
            pid = -1;
        }
    }
    close(fds[0]);
    return pid;
}

/* ---- tests -------------------------------------------------------------------------------- */

/* Channels: the Aeron transport takes aeron:udp, the embedded one refuses it (as before). */
TP_TEST(test_aeron_channels_udp_accepted_embedded_refuses)
{
    tp_channel_t ch;
    tp_transport_config_t cfg;
    tp_transport_t *t;
    NEED_AERON();
    tp_transport_config_init(&cfg);
    snprintf(cfg.dir, sizeof cfg.dir, "%s/transport", tp_test_tmpdir());
    TP_ASSERT(tp_transport_open(&t, &cfg) == 0);
    TP_CHECK_EQ_I(tp_transport_kind(t), TP_TRANSPORT_EMBEDDED);
    TP_CHECK_EQ_I(tp_transport_channel_parse(t, "aeron:udp?endpoint=127.0.0.1:40123", &ch), -1);
    TP_CHECK(strstr(tp_errmsg(), "needs the Aeron transport") != NULL);
    tp_transport_close(t);

    cfg = aeron_cfg(aeron_dir("channels"), false);
    TP_ASSERT(tp_transport_open(&t, &cfg) == 0);
    TP_CHECK_EQ_I(tp_transport_kind(t), TP_TRANSPORT_AERON);
    TP_CHECK_EQ_I(tp_transport_channel_parse(t, "aeron:udp?endpoint=127.0.0.1:40123", &ch), 0);
    TP_CHECK_STR(ch.canonical, "aeron:udp?endpoint=127.0.0.1:40123");
    TP_CHECK_EQ_I(tp_transport_channel_parse(t, "aeron:ipc?term-length=4m|mtu=8k", &ch), 0);
    TP_CHECK_STR(ch.canonical, "aeron:ipc");
    TP_CHECK_EQ_I(tp_transport_channel_parse(t, "tcp://x", &ch), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ECHANNEL);
    tp_transport_close(t);

    TP_CHECK_EQ_I(tp_transport_kind_parse("aeron", &cfg.kind), 0);
    TP_CHECK_EQ_I(tp_transport_kind_parse("Aeron", &cfg.kind), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ECONFIG);
}

/* No media driver: open does not wait, streams stay unconnected, nothing blocks. */
TP_TEST(test_aeron_no_media_driver_never_blocks)
{
    tp_transport_config_t cfg = aeron_cfg(aeron_dir("nomd"), false);
    tp_transport_t *t;
    tp_publication_t *p;
    tp_subscription_t *s;
    msgs_t m = {0};
    uint8_t b[32] = {0};
    uint64_t t0;
    NEED_AERON();
    t0 = now_ns();
    TP_ASSERT(tp_transport_open(&t, &cfg) == 0);
    TP_ASSERT(tp_transport_add_publication(t, "aeron:ipc", 7001, &p) == 0);
    TP_ASSERT(tp_transport_add_subscription(t, "aeron:ipc", 7001, &s) == 0);
    for (int i = 0; i < 100; i++) {
        TP_CHECK(tp_transport_do_work(t, now_ns()) >= 0);
        TP_CHECK_EQ_I(tp_publication_offer(p, b, sizeof b), TP_PUB_NOT_CONNECTED);
        TP_CHECK_EQ_I(tp_subscription_poll(s, on_msg, &m, 10), 0);
    }
    TP_CHECK(!tp_publication_is_connected(p));
    TP_CHECK(!tp_subscription_is_connected(s));
    TP_CHECK_EQ_U(tp_subscription_join_time_ns(s), 0);
    TP_CHECK_EQ_U(tp_publication_max_message_length(p), 0);
    tp_publication_close(p);
    TP_CHECK_EQ_I(tp_publication_offer(p, b, sizeof b), TP_PUB_CLOSED);
    tp_transport_close(t);
    TP_CHECK(now_ns() - t0 < 1000 * MS);
}

/* IPC between two clients of an embedded media driver: whole messages of every size, in
 * order; one fragment up to the max payload, reassembled fragments above it. */
TP_TEST(test_aeron_ipc_messages_whole_and_fragmented)
{
    const char *dir = aeron_dir("ipc");
    tp_transport_config_t c1 = aeron_cfg(dir, true), c2 = aeron_cfg(dir, false);
    tp_transport_t *t1, *t2;
    tp_publication_t *p;
    tp_subscription_t *s;
    pump_t pm = {0};
    static msgs_t m;
    static uint8_t buf[(4u << 20) / 8 + 1];
    static const size_t sizes[] = {1, 8, 48, 1000, 1376, 1377, 4096, 65536, 131072};
    size_t nsizes = sizeof sizes / sizeof sizes[0];
    NEED_AERON();
    memset(&m, 0, sizeof m);
    TP_ASSERT(tp_transport_open(&t1, &c1) == 0);
    TP_ASSERT(tp_transport_open(&t2, &c2) == 0);
    pm.t[0] = t1;
    pm.t[1] = t2;
    TP_ASSERT(tp_transport_add_subscription(t1, "aeron:ipc", 7002, &s) == 0);
    TP_ASSERT(tp_transport_add_publication(t2, "aeron:ipc", 7002, &p) == 0);
    TP_ASSERT(wait_connected(&pm, p, s, 5000));
    printf("max_message_length=%zu\n", tp_publication_max_message_length(p));
    TP_CHECK_EQ_U(tp_publication_max_message_length(p), (4u << 20) / 8); /* 4 MiB term */
    for (size_t i = 0; i < nsizes; i++) {
        fill(buf, sizes[i], (int)i);
        TP_CHECK(offer_retry(&pm, p, buf, sizes[i], 2000) > 0);
    }
    TP_CHECK_EQ_I(tp_publication_offer(p, buf, sizeof buf), TP_PUB_MAX_SIZE_EXCEEDED);
    TP_CHECK_EQ_I(poll_for(&pm, s, &m, (int)nsizes, 5000), (int)nsizes);
    TP_CHECK(!m.bad);
    for (size_t i = 0; i < nsizes && i < (size_t)m.n; i++) {
        uint32_t sum = 0;
        fill(buf, sizes[i], (int)i);
        for (size_t k = 0; k < sizes[i]; k++)
            sum += buf[k];
        TP_CHECK_EQ_U(m.len[i], sizes[i]);
        TP_CHECK_EQ_U(m.sum[i], sum);
    }
    TP_CHECK(tp_subscription_position(s) > 131072);
    TP_CHECK_EQ_U(pm.errors, 0);
    tp_transport_close(t2);
    tp_transport_close(t1);
}

/* try_claim/commit/abort: a claim is one fragment (max payload), aborts are skipped. */
TP_TEST(test_aeron_try_claim_commit_abort)
{
    const char *dir = aeron_dir("claim");
    tp_transport_config_t c1 = aeron_cfg(dir, true);
    tp_transport_t *t;
    tp_publication_t *p;
    tp_subscription_t *s;
    tp_claim_t c;
    pump_t pm = {0};
    msgs_t m = {0};
    NEED_AERON();
    TP_ASSERT(tp_transport_open(&t, &c1) == 0);
    pm.t[0] = t;
    TP_ASSERT(tp_transport_add_subscription(t, "aeron:ipc", 7003, &s) == 0);
    TP_ASSERT(tp_transport_add_publication(t, "aeron:ipc", 7003, &p) == 0);
    TP_ASSERT(wait_connected(&pm, p, s, 5000));
    TP_CHECK_EQ_I(tp_publication_try_claim(p, 4096, &c), TP_PUB_MAX_SIZE_EXCEEDED);
    TP_ASSERT(tp_publication_try_claim(p, 100, &c) > 0);
    fill(c.data, 100, 3);
    tp_claim_abort(&c);
    TP_ASSERT(tp_publication_try_claim(p, 200, &c) > 0);
    fill(c.data, 200, 5);
    TP_CHECK_EQ_I(tp_claim_commit(&c), 0);
    TP_CHECK_EQ_I(poll_for(&pm, s, &m, 1, 2000), 1);
    sleep_ms(20);
    tp_subscription_poll(s, on_msg, &m, 16);
    TP_CHECK_EQ_I(m.n, 1);
    TP_CHECK_EQ_U(m.len[0], 200);
    TP_CHECK_EQ_U(m.first[0], 5);
    tp_transport_close(t);
}

/* tp_transport_add_exclusive_publication: an exclusive publication per writer (the producer's
 * descriptor stream). Whole and fragmented offers, claim/commit/abort and close behave as on
 * a concurrent publication; two exclusive writers and a concurrent one on the same stream
 * each reach the subscriber complete and in their own order. */
TP_TEST(test_aeron_exclusive_publication)
{
    const char *dir = aeron_dir("excl");
    tp_transport_config_t c1 = aeron_cfg(dir, true), c2 = aeron_cfg(dir, false);
    tp_transport_t *t1, *t2, *t3;
    tp_publication_t *x1, *x2, *shared;
    tp_subscription_t *s;
    tp_claim_t c;
    pump_t pm = {0};
    static msgs_t m;
    static uint8_t buf[65536];
    int next[3] = {0, 0, 0};
    NEED_AERON();
    memset(&m, 0, sizeof m);
    TP_ASSERT(tp_transport_open(&t1, &c1) == 0);
    TP_ASSERT(tp_transport_open(&t2, &c2) == 0);
    TP_ASSERT(tp_transport_open(&t3, &c2) == 0);
    pm.t[0] = t1;
    pm.t[1] = t2;
    pm.t[2] = t3;
    TP_ASSERT(tp_transport_add_subscription(t1, "aeron:ipc", 7010, &s) == 0);
    TP_ASSERT(tp_transport_add_exclusive_publication(t2, "aeron:ipc", 7010, &x1) == 0);
    TP_ASSERT(tp_transport_add_exclusive_publication(t3, "aeron:ipc", 7010, &x2) == 0);
    TP_ASSERT(tp_transport_add_publication(t3, "aeron:ipc", 7010, &shared) == 0);
    TP_ASSERT(wait_connected(&pm, x1, s, 5000));
    TP_ASSERT(wait_connected(&pm, x2, NULL, 5000));
    TP_ASSERT(wait_connected(&pm, shared, NULL, 5000));
    TP_CHECK_EQ_U(tp_publication_max_message_length(x1), (4u << 20) / 8);
    /* claim/commit/abort on the exclusive publication: the aborted claim never arrives */
    TP_CHECK_EQ_I(tp_publication_try_claim(x1, 4096, &c), TP_PUB_MAX_SIZE_EXCEEDED);
    TP_ASSERT(tp_publication_try_claim(x1, 100, &c) > 0);
    fill(c.data, 100, 200);
    tp_claim_abort(&c);
    /* 30 messages per writer, interleaved; writer w's message k starts with byte 64 * w + k;
     * every fifth one of the exclusive writers is fragmented */
    for (int k = 0; k < 30; k++) {
        tp_publication_t *w[3] = {x1, x2, shared};
        for (int i = 0; i < 3; i++) {
            size_t len = i < 2 && k % 5 == 0 ? sizeof buf : (size_t)(48 + k);
            fill(buf, len, 64 * i + k);
            TP_CHECK(offer_retry(&pm, w[i], buf, len, 2000) > 0);
        }
    }
    TP_ASSERT(tp_publication_try_claim(x2, 48, &c) > 0);
    fill(c.data, 48, 64 + 30);
    TP_CHECK_EQ_I(tp_claim_commit(&c), 0);
    TP_CHECK_EQ_I(poll_for(&pm, s, &m, 91, 5000), 91);
    TP_CHECK(!m.bad);
    /* an IPC stream's concurrent publications share one log (one image); each exclusive
     * publication is a session of its own */
    TP_CHECK_EQ_U(tp_subscription_image_count(s), 3);
    for (int j = 0; j < m.n && j < 256; j++) {
        int w = m.first[j] / 64, k = m.first[j] % 64;
        TP_ASSERT(w < 3);
        TP_CHECK_EQ_I(k, next[w]); /* each writer's messages whole and in its order */
        TP_CHECK_EQ_U(m.len[j], k == 30                  ? 48u /* x2's claim */
                                : w < 2 && k % 5 == 0 ? sizeof buf
                                                      : (size_t)(48 + k));
        next[w]++;
    }
    TP_CHECK_EQ_I(next[0], 30);
    TP_CHECK_EQ_I(next[1], 31);
    TP_CHECK_EQ_I(next[2], 30);
    tp_publication_close(x1);
    TP_CHECK_EQ_I(tp_publication_offer(x1, buf, 8), TP_PUB_CLOSED);
    TP_CHECK_EQ_U(pm.errors, 0);
    tp_transport_close(t3);
    tp_transport_close(t2);
    tp_transport_close(t1);
}

/* NOT_CONNECTED without a subscriber; BACK_PRESSURED once a subscriber that does not read is
 * a term window (half of 64 KiB) behind; reading relieves it. */
TP_TEST(test_aeron_not_connected_then_back_pressured)
{
    const char *dir = aeron_dir("bp");
    tp_transport_config_t c1 = aeron_cfg(dir, true);
    tp_transport_t *t;
    tp_publication_t *p;
    tp_subscription_t *s;
    pump_t pm = {0};
    static msgs_t m;
    static uint8_t buf[4096];
    int64_t rc = 0;
    int sent = 0;
    NEED_AERON();
    memset(&m, 0, sizeof m);
    TP_ASSERT(tp_transport_open(&t, &c1) == 0);
    pm.t[0] = t;
    TP_ASSERT(tp_transport_add_publication(t, "aeron:ipc?term-length=64k", 7004, &p) == 0);
    TP_ASSERT(wait_connected(&pm, NULL, NULL, 300) || true);
    for (int i = 0; i < 50; i++)
        pump_once(&pm);
    TP_CHECK_EQ_I(tp_publication_offer(p, buf, 64), TP_PUB_NOT_CONNECTED);
    TP_ASSERT(tp_transport_add_subscription(t, "aeron:ipc", 7004, &s) == 0);
    TP_ASSERT(wait_connected(&pm, p, s, 5000));
    for (int i = 0; i < 64 && (rc = tp_publication_offer(p, buf, sizeof buf)) > 0; i++)
        sent++;
    printf("sent %d x 4096 before %lld\n", sent, (long long)rc);
    TP_CHECK_EQ_I(rc, TP_PUB_BACK_PRESSURED);
    TP_CHECK(sent >= 4 && sent <= 9);
    TP_CHECK_EQ_I(poll_for(&pm, s, &m, sent, 2000), sent);
    TP_CHECK(offer_retry(&pm, p, buf, sizeof buf, 2000) > 0); /* the driver moved the limit */
    tp_transport_close(t);
}

/* WIRE W-91: the join time is the image-available time (0 before); the image of a closed
 * publication goes unavailable after the linger; a new publication is a new image and moves
 * the join time. */
TP_TEST(test_aeron_w091_join_time_from_image_available)
{
    const char *dir = aeron_dir("join");
    tp_transport_config_t c1 = aeron_cfg(dir, true), c2 = aeron_cfg(dir, false);
    tp_transport_t *t1, *t2;
    tp_publication_t *p;
    tp_subscription_t *s;
    pump_t pm = {0};
    uint64_t before, joined, end;
    NEED_AERON();
    setenv("AERON_PUBLICATION_LINGER_TIMEOUT", "200ms", 1); /* read by the media driver */
    TP_ASSERT(tp_transport_open(&t1, &c1) == 0);
    unsetenv("AERON_PUBLICATION_LINGER_TIMEOUT");
    TP_ASSERT(tp_transport_open(&t2, &c2) == 0);
    pm.t[0] = t1;
    pm.t[1] = t2;
    TP_ASSERT(tp_transport_add_subscription(t1, "aeron:ipc", 7005, &s) == 0);
    TP_ASSERT(wait_connected(&pm, NULL, NULL, 200) || true);
    TP_CHECK_EQ_U(tp_subscription_join_time_ns(s), 0);
    TP_CHECK_EQ_U(tp_subscription_image_count(s), 0);
    before = now_ns();
    TP_ASSERT(tp_transport_add_publication(t2, "aeron:ipc", 7005, &p) == 0);
    TP_ASSERT(wait_connected(&pm, p, s, 5000));
    joined = tp_subscription_join_time_ns(s);
    TP_CHECK(joined >= before && joined <= now_ns());
    TP_CHECK_EQ_U(tp_subscription_image_count(s), 1);
    tp_publication_close(p);
    end = now_ns() + 5000 * MS;
    while (tp_subscription_image_count(s) != 0 && now_ns() < end) {
        pump_once(&pm);
        sleep_ms(2);
    }
    TP_CHECK_EQ_U(tp_subscription_image_count(s), 0); /* on_unavailable_image */
    TP_CHECK_EQ_U(tp_subscription_join_time_ns(s), joined);
    TP_ASSERT(tp_transport_add_publication(t2, "aeron:ipc", 7005, &p) == 0);
    TP_ASSERT(wait_connected(&pm, p, s, 5000));
    TP_CHECK(tp_subscription_join_time_ns(s) > joined); /* a new image: a new join time */
    tp_transport_close(t2);
    tp_transport_close(t1);
}

/* aeron:udp on loopback (both ends on one media driver; separate processes: tests/aeron). */
TP_TEST(test_aeron_udp_loopback)
{
    const char *dir = aeron_dir("udp");
    tp_transport_config_t c1 = aeron_cfg(dir, true);
    tp_transport_t *t;
    tp_publication_t *p;
    tp_subscription_t *s;
    pump_t pm = {0};
    static msgs_t m;
    static uint8_t buf[8192];
    char ch[128];
    NEED_AERON();
    memset(&m, 0, sizeof m);
    snprintf(ch, sizeof ch, "aeron:udp?endpoint=127.0.0.1:%d", 41000 + (int)(getpid() % 2000));
    TP_ASSERT(tp_transport_open(&t, &c1) == 0);
    pm.t[0] = t;
    TP_ASSERT(tp_transport_add_subscription(t, ch, 7006, &s) == 0);
    TP_ASSERT(tp_transport_add_publication(t, ch, 7006, &p) == 0);
    TP_ASSERT(wait_connected(&pm, p, s, 10000));
    for (int i = 0; i < 10; i++) {
        size_t len = i % 2 ? 48 : 5000; /* 5000: fragmented over UDP */
        fill(buf, len, i);
        TP_CHECK(offer_retry(&pm, p, buf, len, 2000) > 0);
    }
    TP_CHECK_EQ_I(poll_for(&pm, s, &m, 10, 5000), 10);
    TP_CHECK(!m.bad);
    TP_CHECK_EQ_U(m.len[0], 5000);
    TP_CHECK_EQ_U(m.len[1], 48);
    tp_transport_close(t);
}

/* A second embedded media driver on a live directory is refused with a clear message. */
TP_TEST(test_aeron_launch_refused_when_a_driver_is_live)
{
    const char *dir = aeron_dir("twice");
    tp_transport_config_t c1 = aeron_cfg(dir, true);
    tp_transport_t *t1, *t2;
    NEED_AERON();
    TP_ASSERT(tp_transport_open(&t1, &c1) == 0);
    TP_CHECK_EQ_I(tp_transport_open(&t2, &c1), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EAERON);
    TP_CHECK(strstr(tp_errmsg(), "already active") != NULL);
    printf("refused: %s\n", tp_errmsg());
    tp_transport_close(t1);
}

/* A stream the media driver refuses: do_work reports it once as TP_EAERON carrying Aeron's
 * message, the handle stays NOT_CONNECTED, the rest of the transport works on. */
TP_TEST(test_aeron_error_surfaces_with_aeron_message)
{
    const char *dir = aeron_dir("err");
    tp_transport_config_t c1 = aeron_cfg(dir, true);
    tp_transport_t *t;
    tp_publication_t *bad, *p;
    tp_subscription_t *s;
    pump_t pm = {0};
    uint8_t b[16] = {0};
    uint64_t end;
    NEED_AERON();
    TP_ASSERT(tp_transport_open(&t, &c1) == 0);
    pm.t[0] = t;
    TP_ASSERT(tp_transport_add_publication(t, "aeron:udp?endpoint=999.1.1.1:1", 7007, &bad) == 0);
    end = now_ns() + 5000 * MS;
    while (pm.errors == 0 && now_ns() < end) {
        pump_once(&pm);
        sleep_ms(1);
    }
    printf("error: %s\n", pm.last_error);
    TP_CHECK(pm.errors >= 1);
    TP_CHECK(strstr(pm.last_error, "code 19") != NULL); /* TP_EAERON */
    TP_CHECK(strstr(pm.last_error, "999.1.1.1") != NULL);
    TP_CHECK_EQ_I(tp_publication_offer(bad, b, sizeof b), TP_PUB_NOT_CONNECTED);
    TP_ASSERT(tp_transport_add_subscription(t, "aeron:ipc", 7008, &s) == 0);
    TP_ASSERT(tp_transport_add_publication(t, "aeron:ipc", 7008, &p) == 0);
    TP_CHECK(wait_connected(&pm, p, s, 5000));
    tp_transport_close(t);
}

/* The media driver stops (clean shutdown) and a new one starts in the same directory: the
 * clients report the loss (TP_EAERON, Aeron's "MediaDriver has been shutdown"), reconnect on
 * their own and their streams work again; the subscription's join time moves (W-91). */
TP_TEST(test_aeron_media_driver_restart_reconnects)
{
    const char *dir = aeron_dir("restart");
    tp_transport_config_t cmd = aeron_cfg(dir, true), cc = aeron_cfg(dir, false);
    tp_transport_t *md, *a, *b;
    tp_publication_t *p;
    tp_subscription_t *s;
    pump_t pm = {0};
    msgs_t m = {0};
    uint8_t buf[64];
    uint64_t joined, end;
    NEED_AERON();
    TP_ASSERT(tp_transport_open(&md, &cmd) == 0);
    TP_ASSERT(tp_transport_open(&a, &cc) == 0);
    TP_ASSERT(tp_transport_open(&b, &cc) == 0);
    pm.t[0] = a;
    pm.t[1] = b;
    pm.t[2] = md;
    TP_ASSERT(tp_transport_add_publication(a, "aeron:ipc", 7009, &p) == 0);
    TP_ASSERT(tp_transport_add_subscription(b, "aeron:ipc", 7009, &s) == 0);
    TP_ASSERT(wait_connected(&pm, p, s, 5000));
    fill(buf, sizeof buf, 1);
    TP_CHECK(offer_retry(&pm, p, buf, sizeof buf, 2000) > 0);
    TP_CHECK_EQ_I(poll_for(&pm, s, &m, 1, 2000), 1);
    joined = tp_subscription_join_time_ns(s);

    tp_transport_close(md); /* the media driver shuts down */
    pm.t[2] = NULL;
    end = now_ns() + 5000 * MS;
    while ((pm.errors < 2 || tp_publication_is_connected(p)) && now_ns() < end) {
        pump_once(&pm);
        sleep_ms(2);
    }
    printf("after shutdown: %d errors, last: %s\n", pm.errors, pm.last_error);
    TP_CHECK(pm.errors >= 2); /* both clients */
    TP_CHECK(strstr(pm.last_error, "code 19") != NULL);
    TP_CHECK_EQ_I(tp_publication_offer(p, buf, sizeof buf), TP_PUB_NOT_CONNECTED);

    TP_ASSERT(tp_transport_open(&md, &cmd) == 0); /* a new media driver, same directory */
    pm.t[2] = md;
    TP_ASSERT(wait_connected(&pm, p, s, 10000));
    fill(buf, sizeof buf, 2);
    TP_CHECK(offer_retry(&pm, p, buf, sizeof buf, 2000) > 0);
    TP_CHECK_EQ_I(poll_for(&pm, s, &m, 2, 2000), 2);
    TP_CHECK_EQ_U(m.first[1], 2);
    TP_CHECK(tp_subscription_join_time_ns(s) > joined);
    tp_transport_close(a);
    tp_transport_close(b);
    tp_transport_close(md);
}

/* kill -9 of the process that runs the media driver: its heartbeat stops with it; the clients
 * notice within about a second (heartbeat age > 1 s and pid gone, well before Aeron's 10 s
 * driver timeout), a new media driver process takes the directory over (the stale one is
 * replaced) and the clients carry on. */
TP_TEST(test_aeron_media_driver_kill9_reconnects)
{
    const char *dir = aeron_dir("kill9");
    tp_transport_config_t cc = aeron_cfg(dir, false);
    tp_transport_t *a;
    tp_publication_t *p;
    tp_subscription_t *s;
    pump_t pm = {0};
    msgs_t m = {0};
    uint8_t buf[64];
    uint64_t t0, end;
    pid_t md;
    NEED_AERON();
    md = spawn_media_driver(dir);
    TP_ASSERT(md > 0);
    TP_ASSERT(tp_transport_open(&a, &cc) == 0);
    pm.t[0] = a;
    TP_ASSERT(tp_transport_add_publication(a, "aeron:ipc", 7010, &p) == 0);
    TP_ASSERT(tp_transport_add_subscription(a, "aeron:ipc", 7010, &s) == 0);
    TP_ASSERT(wait_connected(&pm, p, s, 5000));
    fill(buf, sizeof buf, 1);
    TP_CHECK(offer_retry(&pm, p, buf, sizeof buf, 2000) > 0);
    TP_CHECK_EQ_I(poll_for(&pm, s, &m, 1, 2000), 1);

    kill(md, SIGKILL);
    waitpid(md, NULL, 0);
    t0 = now_ns();
    end = t0 + 8000 * MS;
    while (pm.errors == 0 && now_ns() < end) {
        pump_once(&pm);
        sleep_ms(5);
    }
    printf("lost after %.2f s: %s\n", (double)(now_ns() - t0) / 1e9, pm.last_error);
    TP_CHECK(pm.errors >= 1);
    TP_CHECK(now_ns() - t0 < 5000 * MS);
    TP_CHECK(strstr(pm.last_error, "lost the media driver") != NULL);

    md = spawn_media_driver(dir); /* replaces the stale directory */
    TP_ASSERT(md > 0);
    TP_ASSERT(wait_connected(&pm, p, s, 10000));
    fill(buf, sizeof buf, 2);
    TP_CHECK(offer_retry(&pm, p, buf, sizeof buf, 2000) > 0);
    TP_CHECK_EQ_I(poll_for(&pm, s, &m, 2, 2000), 2);
    tp_transport_close(a);
    kill(md, SIGKILL);
    waitpid(md, NULL, 0);
}

/* kill -9 of a publishing client: the subscriber keeps its stream; after the media driver's
 * client liveness timeout the dead image goes away and a new publisher is received. */
TP_TEST(test_aeron_publisher_kill9_subscriber_unaffected)
{
    const char *dir = aeron_dir("pubkill");
    tp_transport_config_t cmd = aeron_cfg(dir, true);
    tp_transport_t *t;
    tp_subscription_t *s;
    pump_t pm = {0};
    static msgs_t m;
    pid_t pid;
    uint64_t end;
    NEED_AERON();
    memset(&m, 0, sizeof m);
    TP_ASSERT(tp_transport_open(&t, &cmd) == 0);
    pm.t[0] = t;
    TP_ASSERT(tp_transport_add_subscription(t, "aeron:ipc", 7011, &s) == 0);
    for (int round = 0; round < 2; round++) {
        int before = m.n;
        pid = fork();
        if (pid == 0) {
            tp_transport_config_t cc = aeron_cfg(dir, false);
            tp_transport_t *c;
            tp_publication_t *p;
            uint8_t b[48];
            pump_t cp = {0};
            if (tp_transport_open(&c, &cc) != 0 ||
                tp_transport_add_publication(c, "aeron:ipc", 7011, &p) != 0)
                _exit(1);
            cp.t[0] = c;
            for (int i = 0;; i++) {
                fill(b, sizeof b, i);
                offer_retry(&cp, p, b, sizeof b, 100);
                pump_once(&cp);
                sleep_ms(1);
            }
        }
        TP_ASSERT(pid > 0);
        tp_test_track_child(pid);
        TP_CHECK(poll_for(&pm, s, &m, before + 50, 10000) >= before + 50);
        kill(pid, SIGKILL); /* mid-stream */
        waitpid(pid, NULL, 0);
        end = now_ns() + 10000 * MS;
        while (tp_subscription_image_count(s) != 0 && now_ns() < end) {
            tp_subscription_poll(s, on_msg, &m, 64);
            pump_once(&pm);
            sleep_ms(5);
        }
        TP_CHECK_EQ_U(tp_subscription_image_count(s), 0);
    }
    TP_CHECK(!m.bad);
    TP_CHECK_EQ_U(pm.errors, 0);
    tp_transport_close(t);
}

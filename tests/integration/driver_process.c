/*
 * Process tests of `tensorpool driver` (issue 4): the real executable on a private
 * directory (SHM base dir and transport dir), talked to over the transport with raw encoded
 * messages.
 *   * SIGTERM, SIGHUP -> ShmDriverShutdown on the control stream, exit 0 (DRIVER D-67, D-68)
 *   * a second driver on the same control stream and directories refuses to start (D-2)
 *   * a restarted driver announces a larger epoch (D-45, D-50)
 *   * malformed, truncated, wrong-schema and oversized messages do not disturb other
 *     clients (WIRE W-81 DECISION)
 *   * an invalid configuration stops the driver with `error=` lines and exit 1
 * With TP_TRANSPORT=aeron in the environment (test_driver_process_aeron, issue 7) the same
 * tests run on the Aeron transport: a private AERON_DIR per test, the driver started with
 * LAUNCH_MEDIA_DRIVER=true (an embedded media driver), this process an Aeron client of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec/codec.h"
#include "tp_test.h"
#include "transport/transport.h"
#include "util/clock.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overflow" /* see tests/unit/test_driver_support.h */
#endif

#define MS 1000000ull
#define CTL 15000u
#define ANN 15001u

typedef struct env {
    char dir[512];
    char cfg[600];
    char out[600];
    char transport[600];
    tp_transport_t *t;
    tp_publication_t *pub;
    tp_subscription_t *ctl, *ann;
    uint8_t last[65536];
    size_t last_len;
    int want_schema, want_template, found;
} env_t;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static bool aeron_mode(void)
{
    const char *t = getenv("TP_TRANSPORT");
    return t != NULL && strcmp(t, "aeron") == 0;
}

static char aeron_dirs[16][128];
static unsigned n_aeron_dirs;

static void remove_aeron_dirs(void)
{
    for (unsigned i = 0; i < n_aeron_dirs; i++)
        tp_test_rmtree(aeron_dirs[i]);
}

/* Aeron variant: a private media driver directory for this test, for us and the driver. */
static int aeron_env(void)
{
    if (!tp_transport_aeron_available()) {
        printf("skip: TP_TRANSPORT=aeron but tensorpool was built without Aeron\n");
        exit(77);
    }
    if (n_aeron_dirs == 0)
        atexit(remove_aeron_dirs);
    if (n_aeron_dirs == 16)
        return -1;
    snprintf(aeron_dirs[n_aeron_dirs], sizeof aeron_dirs[0], "/dev/shm/tp-dp-aeron-%d-%u",
             (int)getpid(), n_aeron_dirs);
    setenv("AERON_DIR", aeron_dirs[n_aeron_dirs++], 1);
    return 0;
}

static int env_init(env_t *e, const char *extra_policies)
{
    static unsigned seq;
    tp_transport_config_t tc;
    FILE *f;
    memset(e, 0, sizeof *e);
    if (aeron_mode() && aeron_env() != 0)
        return -1;
    snprintf(e->dir, sizeof e->dir, "%s/p%u", tp_test_tmpdir(), seq++);
    snprintf(e->cfg, sizeof e->cfg, "%s/driver.toml", e->dir);
    snprintf(e->transport, sizeof e->transport, "%s/transport", e->dir);
    mkdir(e->dir, 0700);
    {
        char shm[600];
        snprintf(shm, sizeof shm, "%s/shm", e->dir);
        mkdir(shm, 0700);
        f = fopen(e->cfg, "w");
        if (f == NULL)
            return -1;
        fprintf(f,
                "[driver]\ncontrol_channel = \"aeron:ipc\"\ncontrol_stream_id = %u\n"
                "announce_channel = \"aeron:ipc\"\nannounce_stream_id = %u\n"
                "qos_channel = \"aeron:ipc\"\nqos_stream_id = 15002\n"
                "[shm]\nbase_dir = \"%s\"\n"
                "[policies]\nshutdown_timeout_ms = 200\nprefault_shm = false\n%s\n"
                "[profiles.camera]\nheader_nslots = 8\n"
                "payload_pools = [{ pool_id = 1, stride_bytes = 4096 }]\n"
                "[streams.cam1]\nstream_id = 42\nprofile = \"camera\"\n",
                CTL, ANN, shm, extra_policies ? extra_policies : "");
        fclose(f);
    }
    tp_transport_config_init(&tc);
    snprintf(tc.dir, sizeof tc.dir, "%s", e->transport);
    if (tp_transport_open(&e->t, &tc) != 0 ||
        tp_transport_add_subscription(e->t, "aeron:ipc", CTL, &e->ctl) != 0 ||
        tp_transport_add_subscription(e->t, "aeron:ipc", ANN, &e->ann) != 0 ||
        tp_transport_add_publication(e->t, "aeron:ipc", CTL, &e->pub) != 0)
        return -1;
    return 0;
}

static void env_close(env_t *e) { tp_transport_close(e->t); }

static pid_t spawn_driver(env_t *e, const char *out_name)
{
    char bin[600];
    pid_t pid;
    snprintf(bin, sizeof bin, "%s/tensorpool", TP_BINARY_DIR);
    snprintf(e->out, sizeof e->out, "%s/%s", e->dir, out_name);
    pid = fork();
    if (pid == 0) {
        int fd = open(e->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("TP_LOG_LEVEL", "info", 1);
        if (aeron_mode())
            setenv("LAUNCH_MEDIA_DRIVER", "true", 1);
        execl(bin, bin, "driver", e->cfg, "--dir", e->transport, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        tp_test_track_child(pid);
    return pid;
}

static bool file_contains(const char *path, const char *needle)
{
    char buf[8192];
    size_t n;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static bool wait_ready(env_t *e)
{
    for (int i = 0; i < 500; i++) {
        if (file_contains(e->out, "driver: started"))
            return true;
        sleep_ms(10);
    }
    return false;
}

/* Exit status of pid within timeout_ms, or -1. */
static int wait_exit(pid_t pid, unsigned timeout_ms)
{
    int st;
    for (unsigned i = 0; i < timeout_ms / 10; i++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        sleep_ms(10);
    }
    return -1;
}

static void find_handler(void *clientd, const uint8_t *msg, size_t len)
{
    env_t *e = clientd;
    tp_sbe_header_t h;
    if (e->found || tp_sbe_header_read(msg, len, &h) != 0)
        return;
    if (h.schema_id == e->want_schema && h.template_id == e->want_template &&
        len <= sizeof e->last) {
        memcpy(e->last, msg, len);
        e->last_len = len;
        e->found = 1;
    }
}

/* Poll `sub` until a (schema, template) message arrives; it is left in e->last. */
static bool await(env_t *e, tp_subscription_t *sub, int schema, int tmpl, unsigned timeout_ms)
{
    uint64_t end = tp_clock_monotonic_ns() + timeout_ms * MS;
    e->want_schema = schema;
    e->want_template = tmpl;
    e->found = 0;
    while (!e->found && tp_clock_monotonic_ns() < end) {
        tp_transport_do_work(e->t, tp_clock_monotonic_ns());
        if (tp_subscription_poll(sub, find_handler, e, 1) == 0)
            sleep_ms(1);
    }
    return e->found;
}

static int attach(env_t *e, int64_t corr, uint32_t client, uint8_t role,
                  tp_sbe_driver_shm_attach_response_t *r)
{
    uint8_t buf[128];
    tp_sbe_driver_shm_attach_request_t m;
    size_t len;
    memset(&m, 0, sizeof m);
    m.correlation_id = corr;
    m.stream_id = 42;
    m.client_id = client;
    m.role = role;
    m.publish_mode = 255;
    m.desired_node_id = 0xFFFFFFFFu;
    len = (size_t)tp_sbe_driver_shm_attach_request_encode(buf, sizeof buf, &m);
    /* Sent again after a second without an answer, as a driver client does: on Aeron a
     * request offered just before our client noticed that the previous media driver had
     * gone lands in its dead log. */
    for (int attempt = 0; attempt < 5; attempt++) {
        /* NOT_CONNECTED until the driver's subscription is there (Aeron: until our client
         * found the media driver and the add completed) */
        uint64_t end = tp_clock_monotonic_ns() + 5000 * MS;
        while (tp_publication_offer(e->pub, buf, len) < 0) {
            if (tp_clock_monotonic_ns() > end)
                return -1;
            tp_transport_do_work(e->t, tp_clock_monotonic_ns());
            sleep_ms(1);
        }
        while (await(e, e->ctl, TP_SBE_DRIVER_SCHEMA_ID,
                     TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_TEMPLATE_ID, 1000)) {
            if (tp_sbe_driver_shm_attach_response_decode(e->last, e->last_len, r) < 0)
                return -1;
            if (r->correlation_id == corr)
                return r->code;
        }
    }
    return -1;
}

static void ignore_handler(void *clientd, const uint8_t *msg, size_t len)
{
    (void)clientd;
    (void)msg;
    (void)len;
}

/* Forget everything received so far (e.g. the announces of a driver that has exited). */
static void drain(env_t *e)
{
    while (tp_subscription_poll(e->ann, ignore_handler, NULL, 256) > 0) {
    }
    while (tp_subscription_poll(e->ctl, ignore_handler, NULL, 256) > 0) {
    }
}

/* The epoch of the next announce of stream 42. */
static uint64_t next_announce_epoch(env_t *e)
{
    tp_sbe_control_shm_pool_announce_t a;
    while (await(e, e->ann, TP_SBE_CONTROL_SCHEMA_ID,
                 TP_SBE_CONTROL_SHM_POOL_ANNOUNCE_TEMPLATE_ID, 3000)) {
        if (tp_sbe_control_shm_pool_announce_decode(e->last, e->last_len, &a) > 0 &&
            a.stream_id == 42)
            return a.epoch;
    }
    return 0;
}

/* D-67/D-68: the driver stopped by sig drains: ShmDriverShutdown (NORMAL) naming the signal
 * on the control stream, exit 0. */
static void shutdown_by_signal(int sig, const char *name)
{
    env_t e;
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_driver_shutdown_t sd = {0};
    pid_t pid;
    TP_ASSERT(env_init(&e, NULL) == 0);
    pid = spawn_driver(&e, "a.out");
    TP_ASSERT(pid > 0);
    TP_ASSERT(wait_ready(&e));
    TP_CHECK_EQ_I(attach(&e, 1, 5, 2, &r), 0);
    TP_CHECK(next_announce_epoch(&e) == r.epoch);
    TP_ASSERT(kill(pid, sig) == 0);
    TP_CHECK(await(&e, e.ctl, TP_SBE_DRIVER_SCHEMA_ID,
                   TP_SBE_DRIVER_SHM_DRIVER_SHUTDOWN_TEMPLATE_ID, 5000));
    TP_CHECK(tp_sbe_driver_shm_driver_shutdown_decode(e.last, e.last_len, &sd) > 0);
    TP_CHECK_EQ_U(sd.reason, 0);
    TP_CHECK(sd.error_message.length > 0 &&
             memmem(sd.error_message.data, sd.error_message.length, name, strlen(name)) != NULL);
    TP_CHECK_EQ_I(wait_exit(pid, 5000), 0);
    env_close(&e);
}

TP_TEST(test_driver_process_d068_sigterm_shutdown_notice_exit0)
{
    shutdown_by_signal(SIGTERM, "SIGTERM");
}

TP_TEST(test_driver_process_d068_sighup_shutdown_notice_exit0)
{
    shutdown_by_signal(SIGHUP, "SIGHUP");
}

TP_TEST(test_driver_process_d002_second_driver_refuses_to_start)
{
    env_t e;
    pid_t a, b;
    TP_ASSERT(env_init(&e, NULL) == 0);
    a = spawn_driver(&e, "a.out");
    TP_ASSERT(a > 0);
    TP_ASSERT(wait_ready(&e));
    b = spawn_driver(&e, "b.out");
    TP_ASSERT(b > 0);
    TP_CHECK_EQ_I(wait_exit(b, 5000), 1);
    TP_CHECK(file_contains(e.out, "error=driver init: another driver (pid"));
    kill(a, SIGTERM);
    TP_CHECK_EQ_I(wait_exit(a, 5000), 0);
    env_close(&e);
}

TP_TEST(test_driver_process_d050_restarted_driver_announces_larger_epoch)
{
    env_t e;
    tp_sbe_driver_shm_attach_response_t r;
    uint64_t e1, e2;
    pid_t pid;
    TP_ASSERT(env_init(&e, NULL) == 0);
    pid = spawn_driver(&e, "a.out");
    TP_ASSERT(pid > 0 && wait_ready(&e));
    TP_ASSERT(attach(&e, 1, 5, 1, &r) == 0);
    e1 = next_announce_epoch(&e);
    TP_CHECK_EQ_U(e1, r.epoch);
    kill(pid, SIGTERM);
    TP_ASSERT(wait_exit(pid, 5000) == 0);
    drain(&e);
    pid = spawn_driver(&e, "b.out");
    TP_ASSERT(pid > 0 && wait_ready(&e));
    TP_ASSERT(attach(&e, 2, 5, 1, &r) == 0);
    e2 = next_announce_epoch(&e);
    TP_CHECK(e2 > e1);
    TP_CHECK_EQ_U(e2, r.epoch);
    kill(pid, SIGTERM);
    TP_CHECK_EQ_I(wait_exit(pid, 5000), 0);
    env_close(&e);
}

TP_TEST(test_driver_process_w081_malformed_do_not_disturb_clients)
{
    env_t e;
    tp_sbe_driver_shm_attach_response_t r;
    uint8_t junk[2048];
    pid_t pid;
    TP_ASSERT(env_init(&e, NULL) == 0);
    pid = spawn_driver(&e, "a.out");
    TP_ASSERT(pid > 0 && wait_ready(&e));
    TP_ASSERT(attach(&e, 1, 5, 2, &r) == 0);
    memset(junk, 0xEE, sizeof junk);
    tp_publication_offer(e.pub, junk, 3);                 /* shorter than a header */
    tp_publication_offer(e.pub, junk, sizeof junk);       /* wrong schema, oversized */
    tp_put_u16(junk, 27);
    tp_put_u16(junk + 2, 1);
    tp_put_u16(junk + 4, 901);
    tp_put_u16(junk + 6, 1);
    tp_publication_offer(e.pub, junk, 20);                /* truncated attach */
    tp_put_u16(junk, 4);
    tp_publication_offer(e.pub, junk, 40);                /* block length too small */
    TP_CHECK_EQ_I(attach(&e, 2, 6, 2, &r), 0);            /* the next client is served */
    TP_CHECK_EQ_U(r.lease_id, 2);
    kill(pid, SIGTERM);
    TP_CHECK_EQ_I(wait_exit(pid, 5000), 0);
    env_close(&e);
}

TP_TEST(test_driver_process_invalid_config_exit1)
{
    env_t e;
    pid_t pid;
    TP_ASSERT(env_init(&e, "announce_period_ms = \"often\"") == 0);
    pid = spawn_driver(&e, "a.out");
    TP_ASSERT(pid > 0);
    TP_CHECK_EQ_I(wait_exit(pid, 5000), 1);
    TP_CHECK(file_contains(e.out, "error="));
    TP_CHECK(file_contains(e.out, "announce_period_ms"));
    env_close(&e);
}

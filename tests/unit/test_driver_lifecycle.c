/*
 * Driver lifecycle tests (issue 4): epoch GC (D-92, D-93, D-49), restart (D-50), the
 * exclusive lock (D-2), malformed input (WIRE W-81 DECISION, W-190), cleanup on exit, mlock
 * failure (D-49). Same harness as test_driver_protocol.c.
 */
#include "test_driver_support.h"

#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

/* ---- fake epoch directories ---------------------------------------------------------------- */

static void mkdirs(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0700);
            *p = '/';
        }
    mkdir(tmp, 0700);
}

/* Paths under the test's private directory are short; a truncated one is a test failure, not
 * a silently wrong path (and checking the result is what gcc -O3 -Wformat-truncation asks). */
static void stream_dir(h_t *h, uint32_t stream, char *out, size_t cap)
{
    char e[880];
    int n;
    tp_shm_epoch_dir(e, sizeof e, h->shm, "default", stream, 1);
    *strrchr(e, '/') = '\0';
    n = snprintf(out, cap, "%s", e);
    TP_CHECK(n >= 0 && (size_t)n < cap);
}

static void epoch_path(h_t *h, uint32_t stream, const char *name, char *out, size_t cap)
{
    char s[900];
    int n;
    stream_dir(h, stream, s, sizeof s);
    n = snprintf(out, cap, "%s/%s", s, name);
    TP_CHECK(n >= 0 && (size_t)n < cap);
}

/* An epoch directory with a header.ring superblock (pid, start, activity) and a pool file. */
static void fake_epoch(h_t *h, uint32_t stream, uint64_t epoch, uint64_t pid, uint64_t start,
                       uint64_t activity)
{
    char dir[1024], name[32], path[1100];
    tp_superblock_t sb;
    int fd;
    snprintf(name, sizeof name, "%" PRIu64, epoch);
    epoch_path(h, stream, name, dir, sizeof dir);
    mkdirs(dir);
    memset(&sb, 0, sizeof sb);
    sb.magic = TP_SUPERBLOCK_MAGIC;
    sb.layout_version = 1;
    sb.epoch = epoch;
    sb.stream_id = stream;
    sb.region_type = TP_REGION_HEADER_RING;
    sb.nslots = 8;
    sb.slot_bytes = 256;
    sb.pid = pid;
    sb.start_timestamp_ns = start;
    sb.activity_timestamp_ns = activity;
    snprintf(path, sizeof path, "%s/header.ring", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    TP_CHECK(fd >= 0 && write(fd, &sb, sizeof sb) == (ssize_t)sizeof sb);
    close(fd);
    snprintf(path, sizeof path, "%s/1.pool", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    close(fd);
}

static bool epoch_exists(h_t *h, uint32_t stream, const char *name)
{
    char p[1024];
    struct stat st;
    epoch_path(h, stream, name, p, sizeof p);
    return lstat(p, &st) == 0;
}

static int count_epoch_dirs(h_t *h, uint32_t stream)
{
    char s[1024];
    DIR *d;
    struct dirent *e;
    int n = 0;
    stream_dir(h, stream, s, sizeof s);
    d = opendir(s);
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
            n++;
    closedir(d);
    return n;
}

/* ---- D-92, D-93: GC ------------------------------------------------------------------------ */

TP_TEST(test_driver_d092_gc_keeps_live_and_recent_removes_stale)
{
    h_t *h = h_new();
    uint64_t old = T0 - 60 * SEC, recent = T0 - 1 * SEC, me = (uint64_t)getpid();
    char p[1024], outside[1024], link[1100];
    struct timespec ts[2];
    int fd;

    h->cfg.epoch_gc_keep = 1;
    TP_ASSERT(h_start(h) == 0);
    fake_epoch(h, CAM, 10, (uint64_t)tp_test_dead_pid(), old, old); /* dead pid, old: goes */
    fake_epoch(h, CAM, 11, (uint64_t)getppid(), old, old);  /* live foreign pid: stays */
    fake_epoch(h, CAM, 12, me, old, old);                    /* own, old: goes (DECISION) */
    fake_epoch(h, CAM, 13, me, recent, recent);              /* own, recent: stays */
    fake_epoch(h, CAM, 16, me, old, 0);                      /* age from start: goes */
    epoch_path(h, CAM, "14", p, sizeof p);                   /* unreadable, new mtime */
    mkdirs(p);
    epoch_path(h, CAM, "15", p, sizeof p);                   /* unreadable, old mtime */
    mkdirs(p);
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= 3600;
    ts[1] = ts[0];
    TP_CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
    epoch_path(h, CAM, "abc", p, sizeof p);                  /* not decimal */
    mkdirs(p);
    epoch_path(h, CAM, "18", p, sizeof p);                   /* a file, not a directory */
    fd = open(p, O_WRONLY | O_CREAT, 0600);
    close(fd);
    snprintf(outside, sizeof outside, "%s/outside", h->dir); /* a symlink: never followed */
    mkdirs(outside);
    snprintf(link, sizeof link, "%s/keep.me", outside);
    fd = open(link, O_WRONLY | O_CREAT, 0600);
    close(fd);
    epoch_path(h, CAM, "17", p, sizeof p);
    TP_CHECK(symlink(outside, p) == 0);

    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, NULL) == RC_OK); /* provisions T0, then GC */
    TP_CHECK(!epoch_exists(h, CAM, "10"));
    TP_CHECK(epoch_exists(h, CAM, "11"));
    TP_CHECK(!epoch_exists(h, CAM, "12"));
    TP_CHECK(epoch_exists(h, CAM, "13"));
    TP_CHECK(epoch_exists(h, CAM, "14"));
    TP_CHECK(!epoch_exists(h, CAM, "15"));
    TP_CHECK(!epoch_exists(h, CAM, "16"));
    TP_CHECK(epoch_exists(h, CAM, "17"));
    TP_CHECK(access(link, F_OK) == 0);
    TP_CHECK(epoch_exists(h, CAM, "18"));
    TP_CHECK(epoch_exists(h, CAM, "abc"));
    snprintf(p, sizeof p, "%" PRIu64, tp_driver_stream_epoch(h->d, CAM));
    TP_CHECK(epoch_exists(h, CAM, p)); /* the live epoch */
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->gc_epochs_removed, 4);
    h_free(h);
}

/* D-93: a C implementation keeps the epoch_gc_keep numerically largest epochs. Producer
 * attach and detach bump the epoch; GC runs after each bump. */
TP_TEST(test_driver_d093_gc_keeps_n_largest_after_bumps)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r;
    h->cfg.epoch_gc_keep = 2;
    h->cfg.epoch_gc_min_age_ns = 1;
    TP_ASSERT(h_start(h) == 0);
    for (int i = 0; i < 4; i++) {
        TP_ASSERT(h_attach(h, 10 + i, CAM, 1, PRODUCER, &r) == RC_OK);
        h->now += SEC;
        h_detach_send(h, 20 + i, r.lease_id, CAM, 1, PRODUCER);
        h->now += SEC;
    }
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->epochs_bumped, 9);
    TP_CHECK_EQ_I(count_epoch_dirs(h, CAM), 2);
    {
        char p[32];
        snprintf(p, sizeof p, "%" PRIu64, tp_driver_stream_epoch(h->d, CAM));
        TP_CHECK(epoch_exists(h, CAM, p));
    }
    h_free(h);
}

TP_TEST(test_driver_d092_gc_disabled_removes_nothing)
{
    h_t *h = h_new();
    h->cfg.epoch_gc_enabled = false;
    h->cfg.epoch_gc_keep = 1;
    TP_ASSERT(h_start(h) == 0);
    fake_epoch(h, CAM, 10, (uint64_t)tp_test_dead_pid(), 1, 1);
    TP_ASSERT(h_attach(h, 1, CAM, 1, PRODUCER, NULL) == RC_OK);
    TP_CHECK(epoch_exists(h, CAM, "10"));
    TP_CHECK_EQ_I(count_epoch_dirs(h, CAM), 3);
    h_free(h);
}

TP_TEST(test_driver_d093_gc_on_startup_configured_streams_only)
{
    h_t *h = h_new();
    uint64_t dead = (uint64_t)tp_test_dead_pid();
    h->cfg.epoch_gc_on_startup = true;
    h->cfg.epoch_gc_keep = 1;
    for (uint64_t e = 1; e <= 3; e++) {
        fake_epoch(h, CAM, e, dead, 1, 1);
        fake_epoch(h, 77, e, dead, 1, 1);
    }
    TP_ASSERT(h_start(h) == 0);
    TP_CHECK(!epoch_exists(h, CAM, "1"));
    TP_CHECK(!epoch_exists(h, CAM, "2"));
    TP_CHECK(epoch_exists(h, CAM, "3")); /* the largest on disk counts as current */
    TP_CHECK_EQ_I(count_epoch_dirs(h, 77), 3); /* not configured: not visited */
    h_free(h);
}

/* D-49 REF / D-92 DECISION: out of space -> GC once with min age 0, then retry. */
static int no_space_once(const char *dir, uint64_t *out, void *arg)
{
    int *calls = arg;
    (void)dir;
    *out = (*calls)++ == 0 ? 0 : UINT64_MAX / 2;
    return 0;
}

static int never_space(const char *dir, uint64_t *out, void *arg)
{
    (void)dir;
    (void)arg;
    *out = 100;
    return 0;
}

TP_TEST(test_driver_d049_out_of_space_gc_min_age_zero_then_retry)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r;
    uint64_t recent = T0 - 1 * MS, me = (uint64_t)getpid();
    int calls = 0;
    TP_ASSERT(h_start(h) == 0); /* keep 2, min age 3 s */
    fake_epoch(h, CAM, 100, me, recent, recent);
    fake_epoch(h, CAM, 101, me, recent, recent);
    fake_epoch(h, CAM, 102, me, recent, recent);
    tp_driver_set_free_bytes_fn(h->d, no_space_once, &calls);
    TP_ASSERT(h_attach(h, 1, CAM, 5, CONSUMER, &r) == RC_OK);
    TP_CHECK(!epoch_exists(h, CAM, "100")); /* removed although recent: min age 0 */
    TP_CHECK(epoch_exists(h, CAM, "101"));  /* the normal run after the bump keeps it */
    TP_CHECK(epoch_exists(h, CAM, "102"));
    TP_CHECK(calls >= 2);
    /* still no space: INTERNAL_ERROR with the reason */
    tp_driver_set_free_bytes_fn(h->d, never_space, NULL);
    TP_CHECK_EQ_I(h_attach(h, 2, CAM, 6, PRODUCER, &r), RC_INTERNAL);
    TP_CHECK(data_is(r.error_message, "") == false);
    TP_CHECK(r.error_message.length > 25 &&
             memcmp(r.error_message.data, "failed to provision SHM: insufficient SHM space",
                    47) == 0);
    TP_CHECK_EQ_U(tp_driver_stream_producer(h->d, CAM), 0);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->attach_responses[RC_INTERNAL], 1);
    h_free(h);
}

/* D-49: mlock failure is an attach error (INTERNAL_ERROR). */
TP_TEST(test_driver_d049_mlock_failure_is_attach_error)
{
    h_t *h;
    tp_sbe_driver_shm_attach_response_t r;
    struct rlimit old, zero;
    if (geteuid() == 0)
        TP_SKIP("root: mlock is not limited by RLIMIT_MEMLOCK (CAP_IPC_LOCK)");
    h = h_new();
    h->cfg.mlock_shm = true;
    TP_ASSERT(h_start(h) == 0);
    TP_ASSERT(getrlimit(RLIMIT_MEMLOCK, &old) == 0);
    zero = old;
    zero.rlim_cur = 0;
    TP_ASSERT(setrlimit(RLIMIT_MEMLOCK, &zero) == 0);
    TP_CHECK_EQ_I(h_attach(h, 1, CAM, 5, CONSUMER, &r), RC_INTERNAL);
    setrlimit(RLIMIT_MEMLOCK, &old);
    TP_CHECK(r.error_message.length > 25 &&
             memcmp(r.error_message.data, "failed to provision SHM: ", 25) == 0);
    h_free(h);
}

/* D-49: shm.base_dir outside shm.allowed_base_dirs is refused at start-up. */
TP_TEST(test_driver_d049_base_dir_outside_allowed_dirs_refused)
{
    h_t *h = h_new();
    char other[700];
    snprintf(other, sizeof other, "%s/other", h->dir);
    mkdir(other, 0700);
    snprintf(h->cfg.allowed_base_dirs[0], sizeof h->cfg.allowed_base_dirs[0], "%s", other);
    TP_CHECK(h_start(h) != 0);
    TP_CHECK(h->d == NULL);
    h_free(h);
}

/* ---- D-50, D-2: restart and the exclusive lock ------------------------------------------- */

TP_TEST(test_driver_d050_restarted_driver_uses_larger_epoch)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r;
    uint64_t e1;
    TP_ASSERT(h_start(h) == 0);
    TP_ASSERT(h_attach(h, 1, CAM, 1, PRODUCER, &r) == RC_OK);
    e1 = r.epoch;
    tp_driver_close(h->d);
    h->d = NULL;
    h_drain(h);
    h->now = T0 - 100 * SEC; /* even with a clock that went backwards */
    TP_ASSERT(h_start(h) == 0);
    TP_ASSERT(h_attach(h, 2, CAM, 1, PRODUCER, &r) == RC_OK);
    TP_CHECK(r.epoch > e1);
    TP_CHECK_EQ_U(r.lease_id, 1); /* D-53: lease ids are per instance */
    h_free(h);
}

TP_TEST(test_driver_d002_second_driver_refused)
{
    h_t *h = h_new();
    tp_driver_t *d2 = NULL;
    tp_driver_config_t *c2 = malloc(sizeof *c2);
    tp_transport_config_t t2;
    char want[64];
    TP_ASSERT(h_start(h) == 0);
    snprintf(want, sizeof want, "another driver (pid %ld)", (long)getpid());
    /* same control stream, transport dir and SHM namespace */
    TP_CHECK(tp_driver_init(&d2, &h->cfg, &h->tcfg, h->now) != 0);
    TP_CHECK(strstr(tp_errmsg(), want) != NULL);
    TP_CHECK(d2 == NULL);
    /* another control stream, same SHM namespace directory */
    *c2 = h->cfg;
    c2->control_stream_id = 16000;
    c2->announce_stream_id = 16001;
    TP_CHECK(tp_driver_init(&d2, c2, &h->tcfg, h->now) != 0);
    TP_CHECK(strstr(tp_errmsg(), "driver.lock") != NULL);
    /* another namespace, same control stream and transport directory */
    *c2 = h->cfg;
    snprintf(c2->namespace_, sizeof c2->namespace_, "other");
    TP_CHECK(tp_driver_init(&d2, c2, &h->tcfg, h->now) != 0);
    TP_CHECK(strstr(tp_errmsg(), "driver-15000.lock") != NULL);
    /* another namespace and control stream: fine */
    c2->control_stream_id = 16000;
    c2->announce_stream_id = 16001;
    t2 = h->tcfg;
    TP_CHECK(tp_driver_init(&d2, c2, &t2, h->now) == 0);
    tp_driver_close(d2);
    /* the first driver still works */
    TP_CHECK_EQ_I(h_attach(h, 1, CAM, 1, CONSUMER, NULL), RC_OK);
    free(c2);
    h_free(h);
}

/* ---- W-81 DECISION, W-190: malformed input --------------------------------------------------- */

TP_TEST(test_driver_w081_malformed_counted_and_ignored)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r;
    tp_sbe_driver_shm_attach_request_t m = req(1, CAM, 5, CONSUMER);
    uint8_t good[128], bad[512];
    int64_t n = tp_sbe_driver_shm_attach_request_encode(good, sizeof good, &m);
    uint64_t expected = 0;
    TP_ASSERT(h_start(h) == 0);
    TP_ASSERT(h_attach(h, 100, CAM, 9, CONSUMER, &r) == RC_OK); /* another client */
    h_drain(h);

    memcpy(bad, good, (size_t)n); /* truncated body */
    h_send(h, bad, n - 5);
    expected++;
    h_send(h, bad, 8); /* header only */
    expected++;
    h_send(h, bad, 3); /* not even a header */
    expected++;
    tp_put_u16(bad, 10); /* blockLength below the schema's 27 */
    h_send(h, bad, n);
    expected++;
    memcpy(bad, good, (size_t)n);
    tp_put_u16(bad + 4, 999); /* unknown schema */
    h_send(h, bad, n);
    expected++;
    memcpy(bad, good, (size_t)n);
    tp_put_u16(bad + 2, 99); /* unknown template of schema 901 */
    h_send(h, bad, n);
    expected++;
    {   /* oversized var data: a ConsumerHello whose channel length runs past the end */
        tp_sbe_control_consumer_hello_t hm;
        int64_t hn;
        memset(&hm, 0, sizeof hm);
        hm.stream_id = CAM;
        hm.consumer_id = 9;
        hm.mode = 1;
        hm.descriptor_channel = tp_sbe_str("aeron:ipc");
        hm.descriptor_stream_id = 1;
        hn = tp_sbe_control_consumer_hello_encode(bad, sizeof bad, &hm);
        TP_ASSERT(hn > 0);
        tp_put_u32(bad + 8 + 39, 1u << 30);
        h_send(h, bad, hn);
        expected++;
    }
    {   /* a shutdown request whose token claims more bytes than sent */
        tp_sbe_driver_shm_driver_shutdown_request_t sm;
        int64_t sn;
        memset(&sm, 0, sizeof sm);
        sm.token = tp_sbe_str("tok");
        sn = tp_sbe_driver_shm_driver_shutdown_request_encode(bad, sizeof bad, &sm);
        TP_ASSERT(sn > 0);
        tp_put_u32(bad + 8 + 9, 100000);
        h_send(h, bad, sn);
        expected++;
    }
    TP_CHECK(h_next_ctl(h) == NULL); /* nothing answered */
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->malformed, expected);
    /* direct calls: NULL and empty */
    tp_driver_handle_message(h->d, NULL, 0, h->now);
    tp_driver_handle_message(h->d, good, 0, h->now);
    expected += 2;
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->malformed, expected);
    /* known messages that are not requests are ignored without counting */
    {
        tp_sbe_control_frame_descriptor_t fd;
        int64_t fn;
        memset(&fd, 0, sizeof fd);
        fn = tp_sbe_control_frame_descriptor_encode(bad, sizeof bad, &fd);
        h_send(h, bad, fn);
        TP_CHECK_EQ_U(tp_driver_counters(h->d)->malformed, expected);
    }
    /* the other clients are undisturbed */
    h_keepalive(h, r.lease_id, CAM, 9, CONSUMER);
    TP_CHECK_EQ_U(tp_driver_counters(h->d)->keepalives, 1);
    TP_CHECK_EQ_I(h_attach_req(h, &m, &r), RC_OK);
    TP_CHECK_EQ_U(tp_driver_lease_count(h->d), 2);
    /* a longer buffer with a valid message at its start is a valid message */
    memset(bad, 0xAB, sizeof bad);
    m = req(2, CAM, 6, CONSUMER);
    n = tp_sbe_driver_shm_attach_request_encode(bad, sizeof bad, &m);
    TP_ASSERT(n > 0);
    h_send(h, bad, 300);
    TP_CHECK_EQ_I(h_template(h_next_ctl(h)), TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_TEMPLATE_ID);
    h_free(h);
}

/* ---- cleanup on exit (policies.cleanup_shm_on_exit, D-85; WIRE W-177) -------------------- */

TP_TEST(test_driver_d085_cleanup_shm_on_exit_removes_own_files_only)
{
    h_t *h = h_new();
    char s[1024];
    h->cfg.cleanup_shm_on_exit = true;
    TP_ASSERT(h_start(h) == 0);
    fake_epoch(h, CAM, 5, (uint64_t)getppid(), 1, 1); /* someone else's */
    TP_ASSERT(h_attach(h, 1, CAM, 1, PRODUCER, NULL) == RC_OK);
    TP_CHECK_EQ_I(count_epoch_dirs(h, CAM), 3);
    tp_driver_close(h->d);
    h->d = NULL;
    TP_CHECK_EQ_I(count_epoch_dirs(h, CAM), 1);
    TP_CHECK(epoch_exists(h, CAM, "5"));
    h_free(h);
    /* without it the files stay */
    h = h_new();
    TP_ASSERT(h_start(h) == 0);
    TP_ASSERT(h_attach(h, 1, CAM, 1, CONSUMER, NULL) == RC_OK);
    stream_dir(h, CAM, s, sizeof s);
    tp_driver_close(h->d);
    h->d = NULL;
    TP_CHECK_EQ_I(count_epoch_dirs(h, CAM), 1);
    h_free(h);
}

/* ---- logging (util/log) -------------------------------------------------------------------- */

TP_TEST(test_driver_log_levels_parse)
{
    TP_CHECK_EQ_I(tp_log_parse_level("error"), TP_LOG_ERROR);
    TP_CHECK_EQ_I(tp_log_parse_level("WARN"), TP_LOG_WARN);
    TP_CHECK_EQ_I(tp_log_parse_level("warning"), TP_LOG_WARN);
    TP_CHECK_EQ_I(tp_log_parse_level("Info"), TP_LOG_INFO);
    TP_CHECK_EQ_I(tp_log_parse_level("debug"), TP_LOG_DEBUG);
    TP_CHECK_EQ_I(tp_log_parse_level("3"), TP_LOG_DEBUG);
    TP_CHECK_EQ_I(tp_log_parse_level("verbose"), -1);
    TP_CHECK_EQ_I(tp_log_parse_level(""), -1);
    TP_CHECK_EQ_I(tp_log_parse_level(NULL), -1);
}

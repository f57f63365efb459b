/* The driver's counters file (src/driver/counters.c, issue 6): created in
 * <ns_dir>/counters with shm.permissions_mode, mirrors the driver's counters and gauges after
 * every duty cycle with work, removes stale files of dead processes, goes away on close, and
 * never stops the driver when it cannot be created. */
#include <sys/wait.h>

#include "shm/region_internal.h" /* tp_shm_mkdirs */
#include "test_driver_support.h"

static void counters_dir(const h_t *h, char *out, size_t cap)
{
    char user[300];
    tp_shm_user_dir_name(user, sizeof user);
    int n = snprintf(out, cap, "%s/%s/%s/counters", h->shm, user, h->cfg.namespace_);
    TP_CHECK(n > 0 && (size_t)n < cap);
}

static uint64_t value(const char *path, uint32_t id)
{
    tp_counters_view_t v;
    uint64_t x;
    if (tp_counters_view_open(&v, path, NULL) != 0)
        return UINT64_MAX;
    x = tp_counters_view_value(&v, id);
    tp_counters_view_close(&v);
    return x;
}

static void fake_file(const char *dir, const char *name, uint32_t role, uint64_t pid)
{
    _Alignas(8) uint8_t buf[128 + 8 * 64];
    tp_counters_header_t hd;
    char path[1400];
    int fd;
    memset(buf, 0, sizeof buf);
    memset(&hd, 0, sizeof hd);
    hd.magic = TP_COUNTERS_MAGIC;
    hd.layout_version = 1;
    hd.header_bytes = 128;
    hd.role = role;
    hd.count = 64;
    hd.pid = pid;
    memcpy(buf, &hd, sizeof hd);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    TP_CHECK(fd >= 0 && write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    close(fd);
}

TP_TEST(test_driver_counters_file_mirrors_counters_and_gauges)
{
    h_t *h = h_new();
    tp_sbe_driver_shm_attach_response_t r;
    char dir[1024], path[1200];
    struct stat st;
    tp_counters_view_t v;
    uint64_t lease;
    static const uint8_t junk[] = {1, 2, 3};

    h->cfg.permissions_mode = 0640;
    snprintf(h->cfg.instance_id, sizeof h->cfg.instance_id, "drv-test");
    TP_ASSERT(h_start(h) == 0);
    counters_dir(h, dir, sizeof dir);
    TP_ASSERT(snprintf(path, sizeof path, "%s/driver-drv-test.tpc", dir) < (int)sizeof path);
    TP_ASSERT(stat(path, &st) == 0);
    TP_CHECK_EQ_U(st.st_mode & 0777, 0640);
    TP_ASSERT(tp_counters_view_open(&v, path, NULL) == 0);
    TP_CHECK_EQ_U(v.info.role, TP_COUNTERS_ROLE_DRIVER);
    TP_CHECK_EQ_U(v.info.count, TP_CTR_DRV_COUNT);
    TP_CHECK_STR(v.info.name, "drv-test");
    TP_CHECK_EQ_U(v.info.pid, (uint64_t)getpid());
    tp_counters_view_close(&v);

    TP_ASSERT(h_attach(h, 1, CAM, 100, PRODUCER, &r) == RC_OK);
    lease = r.lease_id;
    TP_CHECK_EQ_I(h_attach(h, 2, CAM, 101, PRODUCER, NULL), RC_REJECTED);
    TP_CHECK_EQ_I(h_attach(h, 3, CAM, 102, CONSUMER, NULL), RC_OK);
    h_keepalive(h, lease, CAM, 100, PRODUCER);
    h_keepalive(h, 999, CAM, 100, PRODUCER); /* no such lease */
    h_send(h, junk, sizeof junk);
    TP_CHECK_EQ_U(value(path, TP_CTR_DRV_ATTACH_OK), 2);
    TP_CHECK_EQ_U(value(path, TP_CTR_DRV_ATTACH_REJECTED), 1);
    TP_CHECK_EQ_U(value(path, TP_CTR_DRV_ATTACH_UNSUPPORTED), 0);
    TP_CHECK_EQ_U(value(path, TP_CTR_DRV_KEEPALIVES), 1);
    TP_CHECK_EQ_U(value(path, TP_CTR_DRV_KEEPALIVES_UNKNOWN), 1);
    TP_CHECK_EQ_U(value(path, TP_CTR_DRV_MALFORMED), 1);
    TP_CHECK_EQ_U(value(path, TP_CTR_DRV_LEASES_ACTIVE), 2);
    TP_CHECK_EQ_U(value(path, TP_CTR_DRV_STREAMS_ACTIVE), 1);
    TP_CHECK(value(path, TP_CTR_DRV_EPOCHS) >= 1);
    TP_CHECK(value(path, TP_CTR_DRV_ANNOUNCES) >= 1);
    /* every counter of the struct is mirrored */
    {
        const tp_driver_counters_t *c = tp_driver_counters(h->d);
        TP_CHECK_EQ_U(value(path, TP_CTR_DRV_ANNOUNCES), c->announces_sent);
        TP_CHECK_EQ_U(value(path, TP_CTR_DRV_EPOCHS), c->epochs_bumped);
        TP_CHECK_EQ_U(value(path, TP_CTR_DRV_GC_RUNS), c->gc_runs);
    }

    h_detach_send(h, 9, lease, CAM, 100, PRODUCER);
    TP_CHECK_EQ_U(value(path, TP_CTR_DRV_DETACHES_OK), 1);
    TP_CHECK_EQ_U(value(path, TP_CTR_DRV_LEASES_ACTIVE), 1);
    TP_CHECK(value(path, TP_CTR_DRV_REVOCATIONS) >= 1); /* producer lease end notice */
    /* the remaining consumer lease expires without keepalives */
    h_advance(h, 60 * SEC);
    h_advance(h, 1 * SEC);
    TP_CHECK_EQ_U(value(path, TP_CTR_DRV_LEASES_EXPIRED), 1);
    TP_CHECK_EQ_U(value(path, TP_CTR_DRV_LEASES_ACTIVE), 0);

    tp_driver_close(h->d);
    h->d = NULL;
    TP_CHECK(stat(path, &st) != 0 && errno == ENOENT); /* clean shutdown removes it */
    h_free(h);
}

TP_TEST(test_driver_counters_stale_files_swept_at_start)
{
    h_t *h = h_new();
    char dir[1024], p[1300];
    struct stat st;
    int fd;

    counters_dir(h, dir, sizeof dir);
    fd = tp_shm_mkdirs(dir, 0700);
    TP_ASSERT(fd >= 0);
    close(fd);
    fake_file(dir, "consumer-1.tpc", TP_COUNTERS_ROLE_CONSUMER, (uint64_t)tp_test_dead_pid());
    fake_file(dir, "consumer-2.tpc", TP_COUNTERS_ROLE_CONSUMER, (uint64_t)getppid());
    fake_file(dir, "driver-driver-01.tpc", TP_COUNTERS_ROLE_DRIVER, (uint64_t)tp_test_dead_pid());
    TP_ASSERT(h_start(h) == 0);
    snprintf(p, sizeof p, "%s/consumer-1.tpc", dir);
    TP_CHECK(stat(p, &st) != 0); /* dead owner: removed */
    snprintf(p, sizeof p, "%s/consumer-2.tpc", dir);
    TP_CHECK(stat(p, &st) == 0); /* live owner: kept */
    snprintf(p, sizeof p, "%s/driver-driver-01.tpc", dir);
    TP_CHECK_EQ_U(value(p, 0), 0); /* the dead driver's file was replaced by ours */
    {
        tp_counters_view_t v;
        TP_ASSERT(tp_counters_view_open(&v, p, NULL) == 0);
        TP_CHECK_EQ_U(v.info.pid, (uint64_t)getpid());
        tp_counters_view_close(&v);
    }
    h_free(h);
}

TP_TEST(test_driver_counters_failure_is_not_fatal)
{
    h_t *h = h_new();
    char dir[1024], ns[1024];
    int fd;

    counters_dir(h, dir, sizeof dir);
    snprintf(ns, sizeof ns, "%s", dir);
    *strrchr(ns, '/') = '\0';
    fd = tp_shm_mkdirs(ns, 0700);
    TP_ASSERT(fd >= 0);
    close(fd);
    fd = open(dir, O_WRONLY | O_CREAT, 0600); /* a file where the directory should be */
    TP_ASSERT(fd >= 0);
    close(fd);
    TP_ASSERT(h_start(h) == 0); /* runs without a counters file */
    TP_CHECK_EQ_I(h_attach(h, 1, CAM, 100, PRODUCER, NULL), RC_OK);
    TP_CHECK(h->d->counters_file.base == NULL);
    h_free(h);
}

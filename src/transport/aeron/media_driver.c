/*
 * Media driver liveness and the embedded media driver of the Aeron transport (media_driver.h).
 */
#include "transport/aeron/media_driver.h"

#ifdef TP_HAVE_AERON

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <aeronc.h>
#include <aeronmd.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define COMPONENT "aeron"
#define DEAD_HEARTBEAT_MS 1000              /* + pid gone: the media driver is dead */
#define EMBEDDED_IPC_TERM_LENGTH (4u << 20) /* window 2 MiB: > 10 s of 2 kHz descriptors */

struct tp_aeron_md {
    aeron_driver_context_t *ctx;
    aeron_driver_t *driver;
    char dir[1024];
};

const char *tp_aeron_errmsg_line(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", aeron_errmsg());
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return buf;
}

int64_t tp_aeron_epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool tp_aeron_pid_gone(int64_t pid)
{
    if (pid <= 0 || pid > INT32_MAX || (pid_t)pid == getpid())
        return false;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

bool tp_aeron_md_heartbeat_dead(int64_t hb_ms, int64_t pid, uint64_t driver_timeout_ms)
{
    int64_t age = tp_aeron_epoch_ms() - hb_ms;
    if (hb_ms <= 0 || age > (int64_t)driver_timeout_ms)
        return true;
    return age > DEAD_HEARTBEAT_MS && tp_aeron_pid_gone(pid);
}

tp_aeron_md_status_t tp_aeron_md_probe(const char *dir, uint64_t driver_timeout_ms, int64_t *pid)
{
    aeron_cnc_t *cnc = NULL;
    aeron_cnc_constants_t k;
    tp_aeron_md_status_t st = TP_AERON_MD_NONE;

    *pid = 0;
    if (aeron_cnc_init(&cnc, dir, 0) < 0) /* one attempt: absent or half-created */
        return TP_AERON_MD_NONE;
    if (aeron_cnc_constants(cnc, &k) == 0) {
        int64_t hb = aeron_cnc_to_driver_heartbeat(cnc);
        *pid = k.pid;
        if (!tp_aeron_md_heartbeat_dead(hb, k.pid, driver_timeout_ms))
            st = tp_aeron_pid_gone(k.pid) ? TP_AERON_MD_STALE_FRESH : TP_AERON_MD_LIVE;
    }
    aeron_cnc_close(cnc);
    return st;
}

int tp_aeron_md_launch(tp_aeron_md_t **out, const char *dir, uint64_t driver_timeout_ms,
                       uint64_t liveness_ns)
{
    char m[512];
    int64_t pid;
    tp_aeron_md_status_t st;
    tp_aeron_md_t *md;
    uint64_t end = tp_clock_monotonic_ns() + 2000000000ull;

    /* A stale directory whose heartbeat is still fresh: give it a second to go stale. */
    while ((st = tp_aeron_md_probe(dir, driver_timeout_ms, &pid)) == TP_AERON_MD_STALE_FRESH &&
           tp_clock_monotonic_ns() < end)
        usleep(50000);
    if (st == TP_AERON_MD_LIVE)
        return tp_err_set(TP_EAERON, "launch_media_driver: an Aeron media driver (pid %" PRId64
                          ") is already active in %s; set launch_media_driver = false to use it",
                          pid, dir);
    md = calloc(1, sizeof *md);
    if (md == NULL)
        return tp_err_set(TP_ENOMEM, "media driver");
    snprintf(md->dir, sizeof md->dir, "%s", dir);
    if (aeron_driver_context_init(&md->ctx) < 0) {
        free(md);
        return tp_err_set(TP_EAERON, "media driver context: %s",
                          tp_aeron_errmsg_line(m, sizeof m));
    }
    aeron_driver_context_set_dir(md->ctx, dir);
    aeron_driver_context_set_dir_delete_on_start(md->ctx, true); /* absent or stale */
    if (getenv("AERON_THREADING_MODE") == NULL)
        aeron_driver_context_set_threading_mode(md->ctx, AERON_THREADING_MODE_SHARED);
    if (getenv("AERON_IPC_TERM_BUFFER_LENGTH") == NULL)
        aeron_driver_context_set_ipc_term_buffer_length(md->ctx, EMBEDDED_IPC_TERM_LENGTH);
    /* Aeron requires client liveness < publication unblock timeout (15 s by default). */
    if (getenv("AERON_CLIENT_LIVENESS_TIMEOUT") == NULL && liveness_ns >= 1000000000ull &&
        liveness_ns < aeron_driver_context_get_publication_unblock_timeout_ns(md->ctx))
        aeron_driver_context_set_client_liveness_timeout_ns(md->ctx, liveness_ns);
    if (aeron_driver_init(&md->driver, md->ctx) < 0) {
        tp_err_set(TP_EAERON, "media driver in %s: %s", dir, tp_aeron_errmsg_line(m, sizeof m));
        aeron_driver_context_close(md->ctx);
        free(md);
        return -1;
    }
    if (aeron_driver_start(md->driver, false) < 0) {
        tp_err_set(TP_EAERON, "media driver start in %s: %s", dir,
                   tp_aeron_errmsg_line(m, sizeof m));
        aeron_driver_close(md->driver);
        aeron_driver_context_close(md->ctx);
        free(md);
        return -1;
    }
    tp_log_info(COMPONENT, "embedded media driver started in %s (%s)", dir, aeron_version_full());
    *out = md;
    return 0;
}

void tp_aeron_md_close(tp_aeron_md_t *md)
{
    if (md == NULL)
        return;
    aeron_driver_close(md->driver); /* joins its threads */
    aeron_driver_context_close(md->ctx);
    tp_log_info(COMPONENT, "embedded media driver in %s stopped", md->dir);
    free(md);
}

#else
typedef int tp_aeron_media_driver_unused; /* a build without Aeron: aeron_stubs.c */
#endif

/*
 * The driver's counters file (src/shm/counters.h): d->counters (the counts the handlers keep
 * anyway) mirrored into <ns_dir>/counters/driver-<instance_id>.tpc after every duty cycle that
 * did work, plus the gauges (live leases, streams, state). The handlers stay as they are: a
 * mirror pass is ~25 relaxed stores into one hot page, with no lock and no system call.
 */
#include "driver/driver_internal.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "shm/region_internal.h" /* tp_shm_mkdirs */
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

_Static_assert(sizeof(((tp_driver_counters_t *)0)->attach_responses) / sizeof(uint64_t) ==
                   TP_CTR_DRV_ATTACH_INTERNAL_ERROR - TP_CTR_DRV_ATTACH_OK + 1,
               "one counter per ResponseCode");

static int counters_dir(const tp_driver_t *d, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", d->ns_dir, TP_COUNTERS_DIR_NAME);
    if (n < 0 || (size_t)n >= cap)
        return tp_err_set(TP_ETOOBIG, "counters directory path too long");
    return 0;
}

void tp_drv_counters_open(tp_driver_t *d)
{
    char dir[TP_REGION_PATH_MAX];
    tp_counters_ident_t ident = {TP_COUNTERS_ROLE_DRIVER, 0, 0, d->cfg.instance_id};
    int fd, swept;

    fd = counters_dir(d, dir, sizeof dir) == 0 ? tp_shm_mkdirs(dir, d->region_opts.dir_mode) : -1;
    if (fd >= 0)
        close(fd);
    if (fd < 0 || tp_counters_create(&d->counters_file, dir, &ident, d->region_opts.file_mode,
                                     NULL) != 0) {
        tp_log_warn(TP_DRV_COMPONENT, "running without a counters file: %s", tp_errmsg());
        return;
    }
    swept = tp_counters_sweep_dead(dir);
    if (swept > 0)
        tp_log_info(TP_DRV_COMPONENT, "removed %d counters file(s) of dead processes", swept);
    tp_drv_counters_mirror(d);
}

void tp_drv_counters_mirror(tp_driver_t *d)
{
    tp_counters_t *f = &d->counters_file;
    const tp_driver_counters_t *c = &d->counters;

    if (f->base == NULL)
        return;
    for (uint32_t i = 0; i <= TP_CTR_DRV_ATTACH_INTERNAL_ERROR - TP_CTR_DRV_ATTACH_OK; i++)
        tp_counters_set(f, TP_CTR_DRV_ATTACH_OK + i, c->attach_responses[i]);
    tp_counters_set(f, TP_CTR_DRV_KEEPALIVES, c->keepalives);
    tp_counters_set(f, TP_CTR_DRV_KEEPALIVES_UNKNOWN, c->keepalives_unknown);
    tp_counters_set(f, TP_CTR_DRV_DETACHES_OK, c->detaches_ok);
    tp_counters_set(f, TP_CTR_DRV_DETACHES_REJECTED, c->detaches_rejected);
    tp_counters_set(f, TP_CTR_DRV_LEASES_EXPIRED, c->leases_expired);
    tp_counters_set(f, TP_CTR_DRV_REVOCATIONS, c->revocations_sent);
    tp_counters_set(f, TP_CTR_DRV_ANNOUNCES, c->announces_sent);
    tp_counters_set(f, TP_CTR_DRV_EPOCHS, c->epochs_bumped);
    tp_counters_set(f, TP_CTR_DRV_CONSUMER_CONFIGS, c->consumer_configs_sent);
    tp_counters_set(f, TP_CTR_DRV_GC_RUNS, c->gc_runs);
    tp_counters_set(f, TP_CTR_DRV_GC_REMOVED, c->gc_epochs_removed);
    tp_counters_set(f, TP_CTR_DRV_SHUTDOWN_IGNORED, c->shutdown_requests_ignored);
    tp_counters_set(f, TP_CTR_DRV_MALFORMED, c->malformed);
    tp_counters_set(f, TP_CTR_DRV_PUBLISH_FAILURES, c->publish_failures);
    tp_counters_set(f, TP_CTR_DRV_LEASES_ACTIVE, d->lease_count);
    tp_counters_set(f, TP_CTR_DRV_STREAMS_ACTIVE, d->stream_count);
    tp_counters_set(f, TP_CTR_DRV_STATE, (uint64_t)d->state);
    /* The real clock, not the injected one: readers in other processes compare with theirs. */
    tp_counters_touch(f, tp_clock_monotonic_ns());
}

void tp_drv_counters_sweep(tp_driver_t *d)
{
    char dir[TP_REGION_PATH_MAX];
    int n;
    if (d->counters_file.base == NULL || counters_dir(d, dir, sizeof dir) != 0)
        return;
    n = tp_counters_sweep_dead(dir);
    if (n > 0)
        tp_log_debug(TP_DRV_COMPONENT, "removed %d counters file(s) of dead processes", n);
}

void tp_drv_counters_close(tp_driver_t *d)
{
    char dir[TP_REGION_PATH_MAX];
    bool had = d->counters_file.base != NULL;

    tp_counters_close(&d->counters_file, true);
    /* rmdir fails (harmlessly) while clients still have their files there. */
    if (had && d->cfg.cleanup_shm_on_exit && counters_dir(d, dir, sizeof dir) == 0)
        (void)rmdir(dir);
}

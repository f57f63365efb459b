/*
 * Stream state and epochs (DRIVER D-5, D-9, D-44, D-45, D-49, D-50): a stream gets state on
 * its first attach (D-23); every epoch is a fresh directory
 * <base>/tensorpool-<user>/<namespace>/<stream_id>/<epoch>/ (WIRE W-173) holding
 * header.ring and <pool_id>.pool, created through tp_region_create (canonical layout,
 * permissions, prefault, mlock, hugepage policy).
 */
#include "driver/driver_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"

/* ---- stream table ------------------------------------------------------------------------ */

tp_drv_stream_t *tp_drv_stream_find(const tp_driver_t *d, uint32_t stream_id)
{
    if (d == NULL)
        return NULL;
    for (uint32_t i = 0; i < d->stream_count; i++)
        if (d->streams[i]->stream_id == stream_id)
            return d->streams[i];
    return NULL;
}

tp_drv_stream_t *tp_drv_stream_create(tp_driver_t *d, uint32_t stream_id,
                                      uint32_t profile_index, bool dynamic)
{
    tp_drv_stream_t *s;
    if (d->stream_count == d->stream_cap) {
        uint32_t cap = d->stream_cap ? d->stream_cap * 2 : 16;
        tp_drv_stream_t **n = realloc(d->streams, cap * sizeof *n);
        if (n == NULL)
            return NULL;
        d->streams = n;
        d->stream_cap = cap;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->stream_id = stream_id;
    s->profile_index = profile_index;
    s->dynamic = dynamic;
    d->streams[d->stream_count++] = s;
    return s;
}

static void release_regions(tp_drv_stream_t *s)
{
    tp_region_unmap(&s->header);
    free(s->header_uri);
    s->header_uri = NULL;
    for (uint32_t i = 0; i < TP_CFG_MAX_POOLS; i++) {
        tp_region_unmap(&s->pools[i]);
        free(s->pool_uris[i]);
        s->pool_uris[i] = NULL;
    }
}

void tp_drv_stream_forget(tp_driver_t *d, tp_drv_stream_t *s)
{
    for (uint32_t i = 0; i < d->stream_count; i++) {
        if (d->streams[i] != s)
            continue;
        d->streams[i] = d->streams[--d->stream_count];
        tp_log_debug(TP_DRV_COMPONENT, "stream %" PRIu32 " forgotten", s->stream_id);
        release_regions(s);
        free(s);
        return;
    }
}

void tp_drv_stream_free_all(tp_driver_t *d)
{
    for (uint32_t i = 0; i < d->stream_count; i++) {
        release_regions(d->streams[i]);
        free(d->streams[i]);
    }
    free(d->streams);
    d->streams = NULL;
    d->stream_count = d->stream_cap = 0;
}

void tp_drv_touch_stream(tp_driver_t *d, uint32_t stream_id)
{
    if (!d->cfg.cleanup_shm_on_exit)
        return; /* the list serves only the cleanup on exit: no memory spent without it */
    for (uint32_t i = 0; i < d->touched_count; i++)
        if (d->touched[i] == stream_id)
            return;
    if (d->touched_count == d->touched_cap) {
        uint32_t cap = d->touched_cap ? d->touched_cap * 2 : 16;
        uint32_t *n = realloc(d->touched, cap * sizeof *n);
        if (n == NULL)
            return; /* only cleanup on exit misses it */
        d->touched = n;
        d->touched_cap = cap;
    }
    d->touched[d->touched_count++] = stream_id;
}

int tp_drv_stream_dir(const tp_driver_t *d, uint32_t stream_id, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%" PRIu32, d->ns_dir, stream_id);
    if (n < 0 || (size_t)n >= cap)
        return tp_err_set(TP_ETOOBIG, "stream directory too long");
    return n;
}

/* ---- provisioning ------------------------------------------------------------------------ */

/* One epoch's regions, before they replace the stream's current ones. */
typedef struct epoch_files {
    char dir[TP_REGION_PATH_MAX];
    tp_region_t header;
    tp_region_t pools[TP_CFG_MAX_POOLS];
    char *header_uri;
    char *pool_uris[TP_CFG_MAX_POOLS];
} epoch_files_t;

static void files_release(epoch_files_t *f, bool remove_dir)
{
    tp_region_unmap(&f->header);
    free(f->header_uri);
    f->header_uri = NULL;
    for (uint32_t i = 0; i < TP_CFG_MAX_POOLS; i++) {
        tp_region_unmap(&f->pools[i]);
        free(f->pool_uris[i]);
        f->pool_uris[i] = NULL;
    }
    if (remove_dir && f->dir[0]) {
        char parent[TP_REGION_PATH_MAX];
        char *slash;
        int fd;
        snprintf(parent, sizeof parent, "%s", f->dir);
        slash = strrchr(parent, '/');
        if (slash != NULL) {
            *slash = '\0';
            fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            if (fd >= 0) {
                tp_drv_rmtree_at(fd, slash + 1, 4);
                close(fd);
            }
        }
    }
}

static char *make_uri(const char *path, bool hugepages)
{
    char uri[TP_REGION_PATH_MAX + 64];
    if (tp_region_uri_format(uri, sizeof uri, path, hugepages) < 0)
        return NULL;
    return strdup(uri);
}

static int create_region(tp_driver_t *d, tp_region_t *r, char **uri, const char *path,
                         const tp_superblock_t *sb)
{
    if (tp_region_create(r, path, sb, &d->region_opts) != 0)
        return -1;
    *uri = make_uri(path, d->cfg.require_hugepages); /* W-170: flag only with the policy */
    if (*uri == NULL)
        return tp_err_push("region URI for '%s'", path);
    return 0;
}

/* The header ring and every pool of the profile, with W-23 superblocks (pid = ours,
 * start = activity = now: D-9 REF). */
static int create_epoch_files(tp_driver_t *d, const tp_drv_stream_t *s, uint64_t epoch,
                              epoch_files_t *f)
{
    const tp_cfg_profile_t *p = &d->cfg.profiles[s->profile_index];
    char path[TP_REGION_PATH_MAX];
    tp_superblock_t sb;

    memset(f, 0, sizeof *f);
    if (tp_shm_epoch_dir(f->dir, sizeof f->dir, d->cfg.base_dir, d->cfg.namespace_,
                         s->stream_id, epoch) < 0) {
        f->dir[0] = '\0'; /* nothing to remove on the way out */
        return tp_err_push("epoch directory");
    }
    memset(&sb, 0, sizeof sb);
    sb.epoch = epoch;
    sb.stream_id = s->stream_id;
    sb.nslots = p->header_nslots;
    sb.pid = (uint64_t)d->pid;
    sb.start_timestamp_ns = d->now_ns ? d->now_ns : 1;
    sb.activity_timestamp_ns = sb.start_timestamp_ns;
    sb.region_type = TP_REGION_HEADER_RING;
    sb.slot_bytes = TP_HEADER_SLOT_BYTES;
    if (tp_shm_header_path(path, sizeof path, f->dir) < 0 ||
        create_region(d, &f->header, &f->header_uri, path, &sb) != 0)
        return -1;
    for (uint32_t i = 0; i < p->pool_count; i++) {
        sb.region_type = TP_REGION_PAYLOAD_POOL;
        sb.pool_id = p->pools[i].pool_id;
        sb.slot_bytes = p->pools[i].stride_effective;
        sb.stride_bytes = p->pools[i].stride_effective;
        if (tp_shm_pool_path(path, sizeof path, f->dir, p->pools[i].pool_id) < 0 ||
            create_region(d, &f->pools[i], &f->pool_uris[i], path, &sb) != 0)
            return -1;
    }
    return 0;
}

static uint64_t epoch_bytes(const tp_driver_t *d, const tp_drv_stream_t *s)
{
    const tp_cfg_profile_t *p = &d->cfg.profiles[s->profile_index];
    uint64_t total = TP_SUPERBLOCK_SIZE + (uint64_t)p->header_nslots * TP_HEADER_SLOT_BYTES;
    for (uint32_t i = 0; i < p->pool_count; i++)
        total += TP_SUPERBLOCK_SIZE + (uint64_t)p->header_nslots * p->pools[i].stride_effective;
    return total;
}

static int free_bytes(const tp_driver_t *d, uint64_t *out)
{
    struct statvfs v;
    if (d->free_bytes_fn != NULL)
        return d->free_bytes_fn(d->ns_dir, out, d->free_bytes_arg);
    if (statvfs(d->ns_dir, &v) != 0)
        return -1;
    *out = (uint64_t)v.f_bavail * v.f_frsize;
    return 0;
}

/* D-49 REF: not enough free space -> GC once with min age 0, then check again. */
static int ensure_space(tp_driver_t *d, const tp_drv_stream_t *s, bool *gc_done)
{
    uint64_t need = epoch_bytes(d, s), have;
    if (free_bytes(d, &have) != 0 || have >= need)
        return 0; /* unknown: let the creation decide */
    tp_log_warn(TP_DRV_COMPONENT, "stream %" PRIu32 ": %" PRIu64 " bytes needed, %" PRIu64
                " free: epoch GC with min age 0", s->stream_id, need, have);
    tp_drv_gc_stream(d, s->stream_id, s->epoch, 0);
    *gc_done = true;
    if (free_bytes(d, &have) == 0 && have < need)
        return tp_err_set(TP_EIO, "insufficient SHM space: need %" PRIu64 " bytes, have %" PRIu64,
                          need, have);
    return 0;
}

/* D-45 REF: max(previous + 1, now); the first epoch max(1, now). Also above every epoch
 * directory already on disk, so a restarted driver or a re-created stream never reuses
 * a directory even with a clock that went backwards (D-50). */
static uint64_t next_epoch(const tp_driver_t *d, const tp_drv_stream_t *s)
{
    uint64_t e = s->epoch + 1, disk;
    if (d->now_ns > e)
        e = d->now_ns;
    if (s->epoch == 0) {
        disk = tp_drv_largest_epoch_on_disk(d, s->stream_id);
        if (disk >= e)
            e = disk + 1;
    }
    return e;
}

int tp_drv_bump_epoch(tp_driver_t *d, tp_drv_stream_t *s)
{
    epoch_files_t *f = calloc(1, sizeof *f);
    bool gc_done = false;
    uint64_t epoch = next_epoch(d, s);
    int rc;

    if (f == NULL)
        return tp_err_set(TP_ENOMEM, "epoch files");
    if (ensure_space(d, s, &gc_done) != 0) {
        free(f);
        return -1;
    }
    tp_drv_touch_stream(d, s->stream_id);
    rc = create_epoch_files(d, s, epoch, f);
    if (rc != 0 && tp_errcode() == TP_EIO && !gc_done) {
        /* ENOSPC can also show up only at fallocate: same GC once, then retry (D-49). */
        files_release(f, true);
        tp_drv_gc_stream(d, s->stream_id, s->epoch, 0);
        rc = create_epoch_files(d, s, epoch, f);
    }
    if (rc != 0) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", tp_errmsg());
        files_release(f, true);
        free(f);
        return tp_err_set(TP_EIO, "%s", msg);
    }
    release_regions(s); /* no mapping outlives its epoch */
    s->header = f->header;
    s->header_uri = f->header_uri;
    memcpy(s->pools, f->pools, sizeof s->pools);
    memcpy(s->pool_uris, f->pool_uris, sizeof s->pool_uris);
    free(f);
    s->epoch = epoch;
    d->counters.epochs_bumped++;
    tp_log_debug(TP_DRV_COMPONENT, "stream %" PRIu32 " epoch %" PRIu64, s->stream_id, epoch);
    tp_drv_gc_stream(d, s->stream_id, epoch, d->gc_min_age_ns); /* D-45, D-92 */
    return 0;
}

/*
 * Epoch garbage collection (DRIVER D-92, D-93 with their DECISIONs; WIRE W-177) and cleanup
 * on exit.
 *
 * Per stream directory <base>/tensorpool-<user>/<namespace>/<stream_id>/:
 *   * only entries named by decimal digits that are real directories (no symlinks) count;
 *   * the directory must resolve inside shm.allowed_base_dirs;
 *   * the epoch_gc_keep numerically largest epochs are kept (D-93: a C implementation keeps
 *     the N largest rather than `current - (keep - 1)`), and so is the current epoch;
 *   * an older epoch goes when its age >= the minimum age: age from the header superblock's
 *     activity timestamp, else its start timestamp, else the directory mtime;
 *   * and its superblock pid is ours (DECISION: own superseded epochs are collected), is
 *     unreadable, or is dead (kill(pid, 0) fails with anything but EPERM).
 * Deletion is recursive through directory descriptors and never follows a symlink.
 */
#include "driver/driver_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"

bool tp_drv_path_allowed(const tp_driver_t *d, const char *path)
{
    char canon[PATH_MAX];
    if (realpath(path, canon) == NULL)
        return false;
    for (uint32_t i = 0; i < d->allowed.count; i++) {
        const char *a = d->allowed.canon[i];
        size_t n = strlen(a);
        if (strncmp(canon, a, n) == 0 &&
            (canon[n] == '\0' || canon[n] == '/' || (n == 1 && a[0] == '/')))
            return true;
    }
    return false;
}

int tp_drv_rmtree_at(int dirfd, const char *name, int depth)
{
    struct stat st;
    DIR *dir;
    struct dirent *e;
    int fd, rc = 0;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : -1;
    if (depth <= 0)
        return -1;
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    dir = fdopendir(fd);
    if (dir == NULL) {
        close(fd);
        return -1;
    }
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (tp_drv_rmtree_at(fd, e->d_name, depth - 1) != 0)
            rc = -1;
    }
    closedir(dir); /* closes fd */
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        rc = -1;
    return rc;
}

/* A decimal epoch directory name (no sign, no spaces, fits u64). */
static bool parse_epoch(const char *name, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;
    if (name[0] == '\0')
        return false;
    for (i = 0; name[i]; i++) {
        unsigned digit;
        if (name[i] < '0' || name[i] > '9')
            return false;
        digit = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

/* The decimal epoch directories of the stream: a malloc'ed array (caller frees), or NULL
 * with *count = 0. *dirfd_out receives an open descriptor of the stream directory. */
static uint64_t *list_epochs(const tp_driver_t *d, uint32_t stream_id, uint32_t *count,
                             int *dirfd_out)
{
    char path[TP_REGION_PATH_MAX];
    uint64_t *v = NULL, ep;
    uint32_t n = 0, cap = 0;
    struct dirent *e;
    DIR *dir;
    int fd, keep_fd;

    *count = 0;
    *dirfd_out = -1;
    if (tp_drv_stream_dir(d, stream_id, path, sizeof path) < 0)
        return NULL;
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    keep_fd = dup(fd);
    dir = keep_fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        close(fd);
        if (keep_fd >= 0)
            close(keep_fd);
        return NULL;
    }
    while ((e = readdir(dir)) != NULL) {
        struct stat st;
        if (!parse_epoch(e->d_name, &ep) ||
            fstatat(keep_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (n == cap) {
            uint32_t nc = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, nc * sizeof *nv);
            if (nv == NULL)
                break;
            v = nv;
            cap = nc;
        }
        v[n++] = ep;
    }
    closedir(dir);
    *count = n;
    *dirfd_out = keep_fd;
    return v;
}

uint64_t tp_drv_largest_epoch_on_disk(const tp_driver_t *d, uint32_t stream_id)
{
    uint32_t n;
    int fd;
    uint64_t *v = list_epochs(d, stream_id, &n, &fd), best = 0;
    for (uint32_t i = 0; i < n; i++)
        if (v[i] > best)
            best = v[i];
    free(v);
    if (fd >= 0)
        close(fd);
    return best;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The header superblock of an epoch directory; false when unreadable or not a superblock. */
static bool read_superblock(int stream_fd, const char *name, tp_superblock_t *sb)
{
    char rel[64];
    struct stat st;
    ssize_t n;
    int fd;

    snprintf(rel, sizeof rel, "%s/header.ring", name);
    /* O_NOFOLLOW covers the last component; the epoch directory itself was checked to be a
     * real directory when listed. O_NONBLOCK: a planted FIFO must not block us. */
    fd = openat(stream_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return false;
    n = (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) ? pread(fd, sb, sizeof *sb, 0) : -1;
    close(fd);
    return n == (ssize_t)sizeof *sb && sb->magic == TP_SUPERBLOCK_MAGIC;
}

static bool pid_alive(uint64_t pid)
{
    if (pid == 0 || pid > (uint64_t)INT_MAX)
        return false;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM; /* D-93 REF */
}

static uint64_t dir_age_ns(int stream_fd, const char *name)
{
    struct stat st;
    struct timespec now;
    int64_t age;
    if (fstatat(stream_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 0;
    clock_gettime(CLOCK_REALTIME, &now); /* mtime is wall-clock time */
    age = (int64_t)(now.tv_sec - st.st_mtim.tv_sec) * 1000000000ll +
          (now.tv_nsec - st.st_mtim.tv_nsec);
    return age > 0 ? (uint64_t)age : 0;
}

/* Whether epoch directory `name` may go (everything but the keep rule). */
static bool collectable(const tp_driver_t *d, int stream_fd, const char *name,
                        uint64_t min_age_ns)
{
    tp_superblock_t sb;
    bool readable = read_superblock(stream_fd, name, &sb);
    uint64_t ts = 0, age;

    if (readable)
        ts = sb.activity_timestamp_ns ? sb.activity_timestamp_ns : sb.start_timestamp_ns;
    if (ts != 0)
        age = d->now_ns > ts ? d->now_ns - ts : 0;
    else
        age = dir_age_ns(stream_fd, name);
    if (age < min_age_ns)
        return false;
    /* DECISION (own epochs): the pid test only for a foreign pid */
    if (readable && sb.pid != (uint64_t)d->pid && pid_alive(sb.pid))
        return false;
    return true;
}

int tp_drv_gc_stream(tp_driver_t *d, uint32_t stream_id, uint64_t current, uint64_t min_age_ns)
{
    char path[TP_REGION_PATH_MAX], name[32];
    uint32_t n, keep;
    int fd, removed = 0;
    uint64_t *v;

    if (!d->cfg.epoch_gc_enabled)
        return 0;
    if (tp_drv_stream_dir(d, stream_id, path, sizeof path) < 0)
        return 0;
    if (!tp_drv_path_allowed(d, path)) { /* D-93: only under allowed base dirs */
        tp_log_debug(TP_DRV_COMPONENT, "epoch GC skips %s: outside allowed_base_dirs", path);
        return 0;
    }
    v = list_epochs(d, stream_id, &n, &fd);
    d->counters.gc_runs++;
    keep = d->cfg.epoch_gc_keep > 0 ? d->cfg.epoch_gc_keep : 1;
    if (n > keep) {
        qsort(v, n, sizeof *v, cmp_desc);
        for (uint32_t i = keep; i < n; i++) {
            if (v[i] == current)
                continue;
            snprintf(name, sizeof name, "%" PRIu64, v[i]);
            if (!collectable(d, fd, name, min_age_ns))
                continue;
            if (tp_drv_rmtree_at(fd, name, 4) == 0) {
                removed++;
                d->counters.gc_epochs_removed++;
            } else {
                tp_log_warn(TP_DRV_COMPONENT, "epoch GC could not remove %s/%s", path, name);
            }
        }
    }
    if (removed > 0)
        tp_log_info(TP_DRV_COMPONENT, "epoch GC removed %d epoch director%s of stream %" PRIu32,
                    removed, removed == 1 ? "y" : "ies", stream_id);
    free(v);
    if (fd >= 0)
        close(fd);
    return removed;
}

void tp_drv_remove_epochs_from(tp_driver_t *d, uint32_t stream_id, uint64_t from)
{
    char path[TP_REGION_PATH_MAX], name[32];
    uint32_t n;
    int fd;
    uint64_t *v;

    if (tp_drv_stream_dir(d, stream_id, path, sizeof path) < 0 || !tp_drv_path_allowed(d, path))
        return;
    v = list_epochs(d, stream_id, &n, &fd);
    for (uint32_t i = 0; i < n; i++) {
        if (v[i] < from)
            continue;
        snprintf(name, sizeof name, "%" PRIu64, v[i]);
        if (tp_drv_rmtree_at(fd, name, 4) != 0)
            tp_log_warn(TP_DRV_COMPONENT, "could not remove %s/%s", path, name);
    }
    free(v);
    if (fd >= 0)
        close(fd);
    rmdir(path); /* only when empty */
}

void tp_drv_cleanup_on_exit(tp_driver_t *d)
{
    char path[TP_REGION_PATH_MAX], name[32];
    for (uint32_t t = 0; t < d->touched_count; t++) {
        uint32_t n;
        int fd;
        uint64_t *v;
        if (tp_drv_stream_dir(d, d->touched[t], path, sizeof path) < 0 ||
            !tp_drv_path_allowed(d, path))
            continue;
        v = list_epochs(d, d->touched[t], &n, &fd);
        for (uint32_t i = 0; i < n; i++) {
            tp_superblock_t sb;
            snprintf(name, sizeof name, "%" PRIu64, v[i]);
            /* only what this process created: the superblock names our pid */
            if (read_superblock(fd, name, &sb) && sb.pid == (uint64_t)d->pid)
                tp_drv_rmtree_at(fd, name, 4);
        }
        free(v);
        if (fd >= 0)
            close(fd);
        rmdir(path); /* only when empty */
    }
    tp_log_info(TP_DRV_COMPONENT, "SHM files of this driver removed (cleanup_shm_on_exit)");
}

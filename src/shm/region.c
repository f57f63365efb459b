/*
 * Region files: creation by the driver (W-17, W-18, W-23, D-49) and validated mapping by
 * clients (W-94 .. W-99, W-171). Paths and containment live in paths.c, URIs in uri.c.
 */
#include "shm/region.h"
#include "shm/region_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/atomics.h"
#include "util/clock.h"
#include "util/error.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6 /* linux/magic.h */
#endif

#define ACTIVITY_OFFSET offsetof(tp_superblock_t, activity_timestamp_ns)

void tp_region_unmap(tp_region_t *r)
{
    if (r == NULL)
        return;
    if (r->base != NULL)
        munmap(r->base, r->map_size != 0 ? r->map_size : r->size);
    memset(r, 0, sizeof *r);
}

void tp_region_create_opts_init(tp_region_create_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->dir_mode = 0770;
    o->file_mode = 0660;
}

/* ---- Geometry ------------------------------------------------------------------------------ */

/* The announced (or requested) shape must describe a file we can size and map before any
 * arithmetic uses it; the announce is remote input (W-99: fail closed). */
static int expect_geometry(const tp_region_expect_t *e, uint64_t *size)
{
    if (e->layout_version != TP_LAYOUT_VERSION)
        return tp_err_set(TP_EVERSION, "layout_version %" PRIu32 " unsupported (only %u)",
                          e->layout_version, TP_LAYOUT_VERSION);
    if (!tp_is_pow2_u32(e->nslots))
        return tp_err_set(TP_EREGION, "nslots %" PRIu32 " is not a power of two", e->nslots);
    if (e->region_type == TP_REGION_HEADER_RING) {
        if (e->pool_id != 0)
            return tp_err_set(TP_EREGION, "header ring with pool_id %u (must be 0, W-20)",
                              (unsigned)e->pool_id);
        *size = tp_ring_file_size(e->nslots);
    } else if (e->region_type == TP_REGION_PAYLOAD_POOL) {
        /* W-53: a power of two >= 64 is also a multiple of 64. */
        if (!tp_is_pow2_u32(e->stride_bytes) || e->stride_bytes < TP_MIN_STRIDE_BYTES)
            return tp_err_set(TP_EREGION,
                              "stride_bytes %" PRIu32 " is not a power of two >= %u",
                              e->stride_bytes, TP_MIN_STRIDE_BYTES);
        *size = tp_pool_file_size(e->nslots, e->stride_bytes);
    } else {
        return tp_err_set(TP_EREGION, "region_type %d is neither 1 (ring) nor 2 (pool)",
                          (int)e->region_type);
    }
    /* 2^31 * 2^31 + 64 fits u64; it must also fit off_t and size_t for ftruncate/mmap. */
    if (*size > (uint64_t)INT64_MAX || *size > (uint64_t)SIZE_MAX)
        return tp_err_set(TP_ETOOBIG, "region of %" PRIu64 " bytes cannot be mapped", *size);
    return 0;
}

static void expect_from_superblock(const tp_superblock_t *s, tp_region_expect_t *e)
{
    memset(e, 0, sizeof *e);
    e->region_type = s->region_type;
    e->layout_version = s->layout_version;
    e->epoch = s->epoch;
    e->stream_id = s->stream_id;
    e->pool_id = s->pool_id;
    e->nslots = s->nslots;
    e->stride_bytes = s->stride_bytes;
}

/* ---- Superblock ---------------------------------------------------------------------------- */

#define CHECK_FIELD(name, fmt, got, want)                                                     \
    do {                                                                                      \
        if ((got) != (want))                                                                  \
            return tp_err_set(TP_EREGION, "superblock " name " " fmt " != expected " fmt,      \
                              (got), (want));                                                 \
    } while (0)

int tp_superblock_validate(const tp_superblock_t *sb, const tp_region_expect_t *e)
{
    tp_superblock_t s;
    int pool = e->region_type == TP_REGION_PAYLOAD_POOL;

    /* One snapshot: the file is shared and every field is read once. */
    memcpy(&s, sb, sizeof s);
    if (s.magic != TP_SUPERBLOCK_MAGIC)
        return tp_err_set(TP_EREGION, "superblock magic 0x%016" PRIx64 " != expected 0x%016" PRIx64
                          " (not a tensorpool region)", (uint64_t)s.magic,
                          (uint64_t)TP_SUPERBLOCK_MAGIC);
    CHECK_FIELD("layout_version", "%" PRIu32, (uint32_t)s.layout_version, e->layout_version);
    CHECK_FIELD("epoch", "%" PRIu64, (uint64_t)s.epoch, e->epoch);
    CHECK_FIELD("stream_id", "%" PRIu32, (uint32_t)s.stream_id, e->stream_id);
    CHECK_FIELD("region_type", "%d", (int)s.region_type, (int)e->region_type);
    if (!pool && e->region_type != TP_REGION_HEADER_RING)
        return tp_err_set(TP_EREGION, "region_type %d is neither 1 (ring) nor 2 (pool)",
                          (int)e->region_type);
    CHECK_FIELD("pool_id", "%u", (unsigned)s.pool_id, (unsigned)e->pool_id);
    if (!tp_is_pow2_u32(s.nslots))
        return tp_err_set(TP_EREGION, "superblock nslots %" PRIu32 " is not a power of two",
                          (uint32_t)s.nslots);
    CHECK_FIELD("nslots", "%" PRIu32, (uint32_t)s.nslots, e->nslots);
    CHECK_FIELD("slot_bytes", "%" PRIu32, (uint32_t)s.slot_bytes,
                pool ? e->stride_bytes : (uint32_t)TP_HEADER_SLOT_BYTES);
    /* W-23 values; the reference does not compare this one (W-94 REF), but it writes them. */
    CHECK_FIELD("stride_bytes", "%" PRIu32, (uint32_t)s.stride_bytes,
                pool ? e->stride_bytes : 0u);
    return 0;
}

int tp_superblock_is_fresh(const tp_superblock_t *sb, uint64_t now_ns, uint64_t window_ns)
{
    /* Acquire pairs with the owner's release in tp_superblock_touch. */
    uint64_t ts = tp_load_acquire_u64((const uint8_t *)sb + ACTIVITY_OFFSET);
    if (ts == 0)
        return 0;
    return now_ns <= ts || now_ns - ts <= window_ns; /* no overflow on ts + window */
}

void tp_superblock_touch(tp_superblock_t *sb, uint64_t now_ns)
{
    /* Release: a reader that sees this timestamp also sees what the owner wrote before. */
    tp_store_release_u64((uint8_t *)sb + ACTIVITY_OFFSET, now_ns);
}

/* The caller's superblock with the W-23 values filled in where it left zeros. */
static int complete_superblock(const tp_superblock_t *in, tp_superblock_t *s, uint64_t *size)
{
    tp_region_expect_t e;

    *s = *in;
    if (s->magic == 0)
        s->magic = TP_SUPERBLOCK_MAGIC;
    if (s->layout_version == 0)
        s->layout_version = TP_LAYOUT_VERSION;
    if (s->region_type == TP_REGION_HEADER_RING) {
        if (s->slot_bytes == 0)
            s->slot_bytes = TP_HEADER_SLOT_BYTES;
    } else if (s->region_type == TP_REGION_PAYLOAD_POOL) {
        if (s->stride_bytes == 0)
            s->stride_bytes = s->slot_bytes;
        if (s->slot_bytes == 0)
            s->slot_bytes = s->stride_bytes;
    }
    if (s->pid == 0)
        s->pid = (uint64_t)getpid();
    if (s->start_timestamp_ns == 0)
        s->start_timestamp_ns = tp_clock_monotonic_ns();
    if (s->activity_timestamp_ns == 0)
        s->activity_timestamp_ns = s->start_timestamp_ns;
    expect_from_superblock(s, &e);
    /* Validating against itself catches inconsistent input, e.g. a ring with a stride. */
    if (expect_geometry(&e, size) != 0 || tp_superblock_validate(s, &e) != 0)
        return -1;
    return 0;
}

/* ---- Driver side ------------------------------------------------------------------------- */

/* hugetlbfs needs sizes in whole huge pages; f_bsize is the huge page size there. */
static int backing(int fd, int require_hugepages, uint64_t *page, const char *path)
{
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0)
        return tp_err_set_errno(TP_EIO, errno, "'%s': fstatfs", path);
    if ((uint32_t)fs.f_type == (uint32_t)HUGETLBFS_MAGIC) {
        *page = (uint64_t)fs.f_bsize;
        return 0;
    }
    *page = 0;
    if (require_hugepages)
        return tp_err_set(TP_EHUGEPAGES, "'%s' is on filesystem type 0x%lx, not hugetlbfs "
                          "(0x%x)", path, (unsigned long)fs.f_type, (unsigned)HUGETLBFS_MAGIC);
    return 0;
}

static uint64_t round_up(uint64_t v, uint64_t page)
{
    return page == 0 ? v : (v + page - 1) / page * page;
}

/* O_NOFOLLOW|O_CREAT never creates through a planted symlink (it fails with ELOOP);
 * O_NONBLOCK keeps a planted FIFO from blocking us. */
static int open_region_file(int dirfd, const char *name, const char *path)
{
    struct stat st;
    int fd;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
        return tp_err_set(TP_EPATH, "'%s' exists and is not a regular file%s", path,
                          S_ISLNK(st.st_mode) ? " (a symlink, not followed)" : "");
    fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
                0600);
    if (fd < 0) {
        if (errno == ELOOP)
            return tp_err_set(TP_EPATH, "'%s' is a symlink; not followed", path);
        return tp_err_set_errno(TP_EIO, errno, "'%s': open", path);
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
        st.st_uid != geteuid()) {
        close(fd);
        return tp_err_set(TP_EPATH, "'%s' changed under us or is not a private regular file "
                          "(hard link or foreign owner)", path);
    }
    return fd;
}

/* Reserve the bytes now: on a full tmpfs a later store into the mapping is SIGBUS. */
static int size_file(int fd, uint64_t fsize, int prefault, const char *path)
{
    struct statvfs vfs;

    if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)fsize) != 0)
        return tp_err_set_errno(TP_EIO, errno, "'%s': truncate to %" PRIu64 " bytes", path,
                                fsize);
    if (fstatvfs(fd, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < fsize)
        return tp_err_set(TP_EIO, "'%s': %" PRIu64 " bytes needed, %" PRIu64 " free", path,
                          fsize, (uint64_t)vfs.f_bavail * vfs.f_frsize);
    if (prefault && fallocate(fd, 0, 0, (off_t)fsize) != 0 && errno != EOPNOTSUPP)
        return tp_err_set_errno(TP_EIO, errno, "'%s': fallocate %" PRIu64 " bytes", path,
                                fsize);
    return 0;
}

/* W-17/W-18: every field, then the magic by release store (STYLE rule 5: readers that see
 * the magic see the rest), then flush before the region is announced. */
static int write_superblock(uint8_t *base, const tp_superblock_t *s, const char *path)
{
    memcpy(base + 8, (const uint8_t *)s + 8, sizeof *s - 8);
    tp_store_release_u64(base, s->magic);
    if (msync(base, sizeof *s, MS_SYNC) != 0)
        return tp_err_set_errno(TP_EIO, errno, "'%s': msync", path);
    return 0;
}

static int map_new_region(tp_region_t *out, int fd, uint64_t size, uint64_t map_size,
                          const tp_superblock_t *s, const tp_region_create_opts_t *o,
                          const char *path)
{
    void *p = mmap(NULL, (size_t)map_size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | (o->prefault ? MAP_POPULATE : 0), fd, 0);
    if (p == MAP_FAILED)
        return tp_err_set_errno(TP_EIO, errno, "'%s': mmap %" PRIu64 " bytes", path, map_size);
    if (o->mlock && mlock(p, (size_t)map_size) != 0) {
        int e = errno;
        munmap(p, (size_t)map_size);
        return tp_err_set_errno(TP_EIO, e, "'%s': mlock %" PRIu64 " bytes (RLIMIT_MEMLOCK?)",
                                path, map_size);
    }
    if (write_superblock(p, s, path) != 0) {
        munmap(p, (size_t)map_size);
        return -1;
    }
    out->base = p;
    out->size = (size_t)size;
    out->map_size = (size_t)map_size;
    out->writable = true;
    return 0;
}

/* Split "/a/b/file" into the directory and a last component that is a real name. */
static int split_path(const char *path, char *dir, size_t cap, const char **name)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = (size_t)(slash - path);

    *name = slash + 1;
    if (**name == '\0' || strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0)
        return tp_err_set(TP_EPATH, "'%s' does not end in a file name", path);
    if (dlen == 0)
        dlen = 1; /* a file directly in "/" */
    if (dlen >= cap)
        return tp_err_set(TP_EPATH, "'%s' is too long", path);
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';
    return 0;
}

static int create_in_dir(tp_region_t *out, int dirfd, const char *name, const char *path,
                         const tp_superblock_t *s, uint64_t size,
                         const tp_region_create_opts_t *o)
{
    struct stat st;
    uint64_t page = 0, map_size;
    int fd = open_region_file(dirfd, name, path);

    if (fd < 0)
        return -1;
    if (fchmod(fd, o->file_mode) != 0) {
        tp_err_set_errno(TP_EIO, errno, "'%s': chmod %o", path, (unsigned)o->file_mode);
        goto fail;
    }
    if (backing(fd, o->require_hugepages, &page, path) != 0)
        goto fail;
    map_size = round_up(size, page);
    if (size_file(fd, map_size, o->prefault, path) != 0 ||
        map_new_region(out, fd, size, map_size, s, o, path) != 0)
        goto fail;
    out->hugetlbfs = page != 0;
    if (fstat(fd, &st) == 0) {
        out->dev = st.st_dev;
        out->ino = st.st_ino;
    }
    close(fd);
    return 0;
fail:
    /* A half-initialised file must not be found by anyone; it is ours (checked at open). */
    unlinkat(dirfd, name, 0);
    close(fd);
    return -1;
}

int tp_region_create(tp_region_t *out, const char *path, const tp_superblock_t *sb,
                     const tp_region_create_opts_t *opts)
{
    tp_region_create_opts_t defaults;
    tp_superblock_t s;
    char dir[TP_REGION_PATH_MAX];
    const char *name;
    uint64_t size = 0;
    int dirfd, rc;

    if (out == NULL || path == NULL || sb == NULL)
        return tp_err_set(TP_EINVAL, "region create: NULL argument");
    memset(out, 0, sizeof *out);
    if (opts == NULL) {
        tp_region_create_opts_init(&defaults);
        opts = &defaults;
    }
    /* Anything we create must be announceable (W-168) and contain no "..". */
    if (tp_region_path_check(path, strnlen(path, TP_REGION_PATH_MAX)) != 0 ||
        complete_superblock(sb, &s, &size) != 0 ||
        split_path(path, dir, sizeof dir, &name) != 0)
        return tp_err_push("region create '%s'", path);
    dirfd = tp_shm_mkdirs(dir, opts->dir_mode);
    if (dirfd < 0)
        return tp_err_push("region create");
    rc = create_in_dir(out, dirfd, name, path, &s, size, opts);
    close(dirfd);
    return rc != 0 ? tp_err_push("region create") : 0;
}

/* ---- Client side --------------------------------------------------------------------------- */

static int map_opened(tp_region_t *out, int fd, const struct stat *st, uint64_t size,
                      const tp_region_uri_t *u, const tp_region_expect_t *e, bool writable)
{
    uint64_t page = 0;
    void *p;

    /* W-12/W-179: the file must hold the whole geometry, or touching it would SIGBUS. */
    if ((uint64_t)st->st_size < size)
        return tp_err_set(TP_EREGION, "'%s' is %lld bytes, geometry needs %" PRIu64, u->path,
                          (long long)st->st_size, size);
    if (backing(fd, u->require_hugepages, &page, u->path) != 0) /* W-171 */
        return -1;
    p = mmap(NULL, (size_t)size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return tp_err_set_errno(TP_EIO, errno, "'%s': mmap %" PRIu64 " bytes", u->path, size);
    if (tp_superblock_validate(p, e) != 0) { /* W-94, W-98: never partially used */
        munmap(p, (size_t)round_up(size, page));
        return -1;
    }
    out->base = p;
    out->size = (size_t)size;
    out->map_size = (size_t)round_up(size, page); /* hugetlbfs maps whole huge pages */
    out->writable = writable;
    out->hugetlbfs = page != 0;
    out->dev = st->st_dev;
    out->ino = st->st_ino;
    return 0;
}

int tp_region_map_hooked(tp_region_t *out, const char *uri, size_t uri_len,
                         const tp_allowed_dirs_t *allowed, const tp_region_expect_t *expect,
                         bool writable, tp_region_map_hook_fn hook, void *hook_arg)
{
    tp_region_uri_t u;
    struct stat st;
    uint64_t size = 0;
    int fd, rc;

    if (out == NULL || uri == NULL || expect == NULL)
        return tp_err_set(TP_EINVAL, "region map: NULL argument");
    memset(out, 0, sizeof *out);
    if (tp_region_uri_parse(uri, uri_len, &u) != 0)
        return tp_err_push("region map");
    if (expect_geometry(expect, &size) != 0)
        return tp_err_push("region map '%s': announced geometry", u.path);
    fd = tp_shm_open_contained(u.path, allowed, writable, hook, hook_arg, &st);
    if (fd < 0)
        return tp_err_push("region map");
    rc = map_opened(out, fd, &st, size, &u, expect, writable);
    close(fd); /* the mapping keeps the file; the fd is not needed */
    return rc != 0 ? tp_err_push("region map '%s'", u.path) : 0;
}

int tp_region_map(tp_region_t *out, const char *uri, size_t uri_len,
                  const tp_allowed_dirs_t *allowed, const tp_region_expect_t *expect,
                  bool writable)
{
    return tp_region_map_hooked(out, uri, uri_len, allowed, expect, writable, NULL, NULL);
}

/*
 * Counters files: id tables, the header parser, read-only views, creation and removal
 * (layout and protocol: counters.h).
 */
#include "shm/counters.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/region_internal.h"
#include "util/clock.h"
#include "util/error.h"

/* ---- id tables ---------------------------------------------------------------------------- */

typedef struct ctr_def {
    const char *key;
    const char *desc;
    bool gauge;
} ctr_def_t;

#define CTR_DEF(name, id, key, gauge, desc) [id] = {key, desc, gauge},
static const ctr_def_t driver_defs[TP_CTR_DRV_COUNT] = {TP_COUNTERS_DRIVER_TABLE(CTR_DEF)};
static const ctr_def_t producer_defs[TP_CTR_PROD_COUNT] = {TP_COUNTERS_PRODUCER_TABLE(CTR_DEF)};
static const ctr_def_t consumer_defs[TP_CTR_CONS_FIXED_COUNT] = {
    TP_COUNTERS_CONSUMER_TABLE(CTR_DEF)};
#undef CTR_DEF

const char *tp_counters_role_name(uint32_t role)
{
    switch (role) {
    case TP_COUNTERS_ROLE_DRIVER: return "driver";
    case TP_COUNTERS_ROLE_PRODUCER: return "producer";
    case TP_COUNTERS_ROLE_CONSUMER: return "consumer";
    default: return NULL;
    }
}

uint32_t tp_counters_role_count(uint32_t role)
{
    switch (role) {
    case TP_COUNTERS_ROLE_DRIVER: return TP_CTR_DRV_COUNT;
    case TP_COUNTERS_ROLE_PRODUCER: return TP_CTR_PROD_COUNT;
    case TP_COUNTERS_ROLE_CONSUMER: return TP_CTR_CONS_COUNT;
    default: return 0;
    }
}

/* The fixed table entry of (role, id), or NULL (drop ids are not in a table). */
static const ctr_def_t *fixed_def(uint32_t role, uint32_t id)
{
    switch (role) {
    case TP_COUNTERS_ROLE_DRIVER: return id < TP_CTR_DRV_COUNT ? &driver_defs[id] : NULL;
    case TP_COUNTERS_ROLE_PRODUCER: return id < TP_CTR_PROD_COUNT ? &producer_defs[id] : NULL;
    case TP_COUNTERS_ROLE_CONSUMER:
        return id < TP_CTR_CONS_FIXED_COUNT ? &consumer_defs[id] : NULL;
    default: return NULL;
    }
}

/* The drop reason of a consumer id, or 0 (none). */
static int drop_reason_of(uint32_t role, uint32_t id)
{
    if (role != TP_COUNTERS_ROLE_CONSUMER || id <= TP_CTR_CONS_DROP_BASE ||
        id >= TP_CTR_CONS_DROP_BASE + (uint32_t)TP_DROP_COUNT)
        return 0;
    return (int)(id - TP_CTR_CONS_DROP_BASE);
}

const char *tp_counters_key(uint32_t role, uint32_t id, char buf[TP_COUNTERS_KEY_MAX])
{
    const ctr_def_t *d = fixed_def(role, id);
    int r;
    if (d != NULL)
        return d->key;
    r = drop_reason_of(role, id);
    if (r == 0)
        return NULL;
    snprintf(buf, TP_COUNTERS_KEY_MAX, "drops_%s", tp_drop_reason_key(r));
    return buf;
}

const char *tp_counters_desc(uint32_t role, uint32_t id)
{
    const ctr_def_t *d = fixed_def(role, id);
    int r;
    if (d != NULL)
        return d->desc;
    r = drop_reason_of(role, id);
    return r != 0 ? tp_drop_reason_desc(r) : NULL;
}

bool tp_counters_is_gauge(uint32_t role, uint32_t id)
{
    const ctr_def_t *d = fixed_def(role, id);
    return d != NULL && d->gauge;
}

/* ---- parsing ------------------------------------------------------------------------------ */

int tp_counters_parse(const void *buf, size_t len, tp_counters_info_t *out)
{
    const uint8_t *b = buf;
    tp_counters_header_t h;
    uint64_t magic;
    size_t need;

    if (buf == NULL || out == NULL)
        return tp_err_set(TP_EINVAL, "counters parse: NULL argument");
    memset(out, 0, sizeof *out);
    if (len < TP_COUNTERS_HEADER_BYTES)
        return tp_err_set(TP_EMALFORMED, "counters file is %zu bytes, shorter than its %u-byte "
                          "header", len, TP_COUNTERS_HEADER_BYTES);
    /* Acquire: pairs with the creator's release store of the magic, the last word written
     * (STYLE rule 5); everything in the header below was written before it. */
    magic = tp_load_acquire_u64(b);
    if (magic == 0)
        return tp_err_set(TP_ESTATE, "counters file is being initialised (magic not written yet)");
    if (magic != TP_COUNTERS_MAGIC)
        return tp_err_set(TP_EMALFORMED, "not a tensorpool counters file (magic 0x%016" PRIx64
                          ", expected 0x%016" PRIx64 " \"TPCOUNTS\")", magic,
                          (uint64_t)TP_COUNTERS_MAGIC);
    memcpy(&h, b, sizeof h); /* one snapshot; update_ns re-read below atomically */
    if (h.layout_version != TP_COUNTERS_LAYOUT_VERSION)
        return tp_err_set(TP_EVERSION, "counters layout version %" PRIu32 " unsupported (only %u)",
                          h.layout_version, TP_COUNTERS_LAYOUT_VERSION);
    if (h.header_bytes < TP_COUNTERS_HEADER_BYTES || h.header_bytes % 8 != 0 ||
        h.header_bytes > TP_COUNTERS_HEADER_MAX)
        return tp_err_set(TP_EMALFORMED, "counters header_bytes %" PRIu32 " invalid (a multiple "
                          "of 8 in %u..%u)", h.header_bytes, TP_COUNTERS_HEADER_BYTES,
                          TP_COUNTERS_HEADER_MAX);
    if (tp_counters_role_name(h.role) == NULL)
        return tp_err_set(TP_EMALFORMED, "counters role %" PRIu32 " unknown (1 driver, 2 "
                          "producer, 3 consumer)", h.role);
    if (h.count > TP_COUNTERS_MAX)
        return tp_err_set(TP_EMALFORMED, "counters count %" PRIu32 " above the limit %u", h.count,
                          TP_COUNTERS_MAX);
    need = (size_t)h.header_bytes + 8u * (size_t)h.count;
    if (len < need)
        return tp_err_set(TP_EMALFORMED, "counters file is %zu bytes; %" PRIu32 " counters after "
                          "a %" PRIu32 "-byte header need %zu", len, h.count, h.header_bytes,
                          need);
    out->layout_version = h.layout_version;
    out->header_bytes = h.header_bytes;
    out->role = h.role;
    out->count = h.count;
    out->pid = h.pid;
    out->start_ns = h.start_ns;
    out->update_ns = tp_load_relaxed_u64(b + offsetof(tp_counters_header_t, update_ns));
    out->id = h.id;
    out->stream_id = h.stream_id;
    for (size_t i = 0; i < TP_COUNTERS_NAME_MAX && h.name[i] != '\0'; i++)
        out->name[i] = h.name[i] >= 0x20 && h.name[i] <= 0x7e ? h.name[i] : '?';
    return 0;
}

int tp_counters_pid_alive(uint64_t pid)
{
    if (pid == 0 || pid > (uint64_t)INT_MAX)
        return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* ---- views -------------------------------------------------------------------------------- */

/* The canonical directory of `path` as the only allowed dir (inspect-style reading). */
static int own_dir(tp_allowed_dirs_t *a, const char *path)
{
    char canon[PATH_MAX];
    char *slash;
    if (realpath(path, canon) == NULL)
        return tp_err_set_errno(TP_EPATH, errno, "'%s': realpath", path);
    slash = strrchr(canon, '/');
    if (slash == canon)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    tp_allowed_dirs_init(a);
    return tp_allowed_dirs_add(a, canon);
}

int tp_counters_view_open(tp_counters_view_t *v, const char *path, const tp_allowed_dirs_t *allowed)
{
    tp_allowed_dirs_t *own = NULL;
    struct stat st;
    void *p;
    int fd;

    if (v == NULL || path == NULL)
        return tp_err_set(TP_EINVAL, "counters open: NULL argument");
    memset(v, 0, sizeof *v);
    if (allowed == NULL) {
        own = malloc(sizeof *own); /* ~32 KiB: not on the stack */
        if (own == NULL)
            return tp_err_set(TP_ENOMEM, "counters open");
        if (own_dir(own, path) != 0) {
            free(own);
            return tp_err_push("counters file");
        }
        allowed = own;
    }
    fd = tp_shm_open_contained(path, allowed, false, NULL, NULL, &st);
    free(own);
    if (fd < 0)
        return tp_err_push("counters file");
    if (st.st_size < (off_t)TP_COUNTERS_HEADER_BYTES) {
        close(fd);
        return tp_err_set(TP_EMALFORMED, "counters file '%s' is %lld bytes, shorter than its "
                          "%u-byte header", path, (long long)st.st_size, TP_COUNTERS_HEADER_BYTES);
    }
    if (st.st_size > (off_t)TP_COUNTERS_FILE_MAX) {
        close(fd);
        return tp_err_set(TP_EMALFORMED, "'%s' is %lld bytes, larger than any counters file "
                          "(%u)", path, (long long)st.st_size, TP_COUNTERS_FILE_MAX);
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return tp_err_set_errno(TP_EIO, errno, "'%s': mmap", path);
    if (tp_counters_parse(p, (size_t)st.st_size, &v->info) != 0) {
        munmap(p, (size_t)st.st_size);
        memset(v, 0, sizeof *v);
        return tp_err_push("'%s'", path);
    }
    v->base = p;
    v->map_size = (size_t)st.st_size;
    return 0;
}

void tp_counters_view_close(tp_counters_view_t *v)
{
    if (v == NULL)
        return;
    if (v->base != NULL)
        munmap((void *)(uintptr_t)v->base, v->map_size);
    memset(v, 0, sizeof *v);
}

/* ---- writing ------------------------------------------------------------------------------ */

static int safe_name_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

int tp_counters_file_name(char *out, size_t cap, const tp_counters_ident_t *ident)
{
    const char *role = ident ? tp_counters_role_name(ident->role) : NULL;
    int n;

    if (out == NULL || role == NULL)
        return tp_err_set(TP_EINVAL, "counters file name: unknown role");
    if (ident->role == TP_COUNTERS_ROLE_DRIVER) {
        char name[TP_COUNTERS_NAME_MAX + 1];
        const char *src = ident->name ? ident->name : "";
        size_t i;
        for (i = 0; i < TP_COUNTERS_NAME_MAX && src[i] != '\0'; i++)
            name[i] = safe_name_byte((unsigned char)src[i]) ? src[i] : '_';
        name[i] = '\0';
        if (i == 0)
            snprintf(name, sizeof name, "0");
        n = snprintf(out, cap, "driver-%s%s", name, TP_COUNTERS_SUFFIX);
    } else {
        n = snprintf(out, cap, "%s-%" PRIu32 "%s", role, ident->id, TP_COUNTERS_SUFFIX);
    }
    if (n < 0 || (size_t)n >= cap)
        return tp_err_set(TP_ETOOBIG, "counters file name does not fit %zu bytes", cap);
    return n;
}

/* Read the header of an existing file (no-follow, non-blocking) into *info. 0, -1 (not
 * parseable: error set) or -2 (cannot open: error set). */
static int peek_header(int dirfd, const char *name, tp_counters_info_t *info)
{
    _Alignas(8) uint8_t buf[TP_COUNTERS_HEADER_BYTES];
    tp_counters_header_t *h = (tp_counters_header_t *)(void *)buf;
    uint32_t count;
    ssize_t n;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        tp_err_set_errno(TP_EIO, errno, "open '%s'", name);
        return -2;
    }
    n = pread(fd, buf, sizeof buf, 0);
    close(fd);
    if (n < 0) {
        tp_err_set_errno(TP_EIO, errno, "read '%s'", name);
        return -2;
    }
    if ((size_t)n < sizeof buf)
        return tp_err_set(TP_EMALFORMED, "'%s' is %zd bytes", name, n);
    /* A header-only parse (a private copy): the values are not read, so the count is not
     * checked against the file length here. */
    count = h->count;
    h->count = 0;
    if (tp_counters_parse(buf, sizeof buf, info) != 0)
        return -1;
    info->count = count;
    return 0;
}

/* An existing entry `name`: refuse it (live owner, not a regular file) or unlink it. */
static int clear_stale(int dirfd, const char *name, const char *dir)
{
    tp_counters_info_t info;
    struct stat st;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : tp_err_set_errno(TP_EIO, errno, "'%s/%s': stat", dir, name);
    if (!S_ISREG(st.st_mode))
        return tp_err_set(TP_EPATH, "'%s/%s' exists and is not a regular file%s", dir, name,
                          S_ISLNK(st.st_mode) ? " (a symlink, not followed)" : "");
    if (peek_header(dirfd, name, &info) == 0 && info.pid != (uint64_t)getpid() &&
        tp_counters_pid_alive(info.pid))
        return tp_err_set(TP_ESTATE, "counters file '%s/%s' is in use by live pid %" PRIu64, dir,
                          name, info.pid);
    /* Stale (dead owner), ours from before, or unreadable: a new inode replaces it, so a
     * reader that still maps the old one keeps a consistent (dead) file. */
    if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
        return tp_err_set_errno(TP_EIO, errno, "'%s/%s': unlink stale file", dir, name);
    return 0;
}

/* Open the directory a client derived from a region path, contained in `allowed`. */
static int open_dir(const char *dir, const tp_allowed_dirs_t *allowed)
{
    char canon[PATH_MAX];
    struct stat st;
    const char *target = dir;
    int fd;

    if (allowed != NULL) {
        bool inside = false;
        if (realpath(dir, canon) == NULL)
            return tp_err_set_errno(TP_EPATH, errno, "counters directory '%s'", dir);
        for (uint32_t i = 0; i < allowed->count && !inside; i++) {
            size_t n = strlen(allowed->canon[i]);
            inside = strcmp(allowed->canon[i], "/") == 0 ||
                     (strncmp(canon, allowed->canon[i], n) == 0 &&
                      (canon[n] == '\0' || canon[n] == '/'));
        }
        if (!inside)
            return tp_err_set(TP_EPATH, "counters directory '%s' resolves to '%s', outside every "
                              "allowed directory", dir, canon);
        target = canon;
    }
    fd = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return tp_err_set_errno(errno == ENOENT ? TP_EPATH : TP_EIO, errno,
                                "counters directory '%s'", dir);
    if (fstat(fd, &st) != 0 || (st.st_mode & S_IWOTH)) {
        close(fd);
        return tp_err_set(TP_EPATH, "counters directory '%s' is world-writable", dir);
    }
    return fd;
}

static void write_header(uint8_t *base, const tp_counters_ident_t *ident, uint32_t count)
{
    tp_counters_header_t h;
    uint64_t now = tp_clock_monotonic_ns();
    const char *name = ident->name ? ident->name : "";

    memset(&h, 0, sizeof h);
    h.layout_version = TP_COUNTERS_LAYOUT_VERSION;
    h.header_bytes = TP_COUNTERS_HEADER_BYTES;
    h.role = ident->role;
    h.count = count;
    h.pid = (uint64_t)getpid();
    h.start_ns = now;
    h.update_ns = now;
    h.id = ident->id;
    h.stream_id = ident->stream_id;
    for (size_t i = 0; i < TP_COUNTERS_NAME_MAX && name[i] != '\0'; i++)
        h.name[i] = name[i];
    memcpy(base + 8, (const uint8_t *)&h + 8, sizeof h - 8); /* values: zero (new file) */
    /* Release: a reader that sees the magic sees the header above (STYLE rule 5). */
    tp_store_release_u64(base, TP_COUNTERS_MAGIC);
}

static int create_at(tp_counters_t *out, int dirfd, const char *name, const char *dir,
                     const tp_counters_ident_t *ident, mode_t file_mode)
{
    uint32_t count = tp_counters_role_count(ident->role);
    size_t size = TP_COUNTERS_HEADER_BYTES + 8u * (size_t)count;
    struct stat st;
    void *p;
    int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                    0600);

    if (fd < 0)
        return tp_err_set_errno(errno == EEXIST ? TP_ESTATE : TP_EIO, errno, "'%s/%s': create",
                                dir, name);
    if (fchmod(fd, file_mode) != 0 || ftruncate(fd, (off_t)size) != 0 || fstat(fd, &st) != 0) {
        tp_err_set_errno(TP_EIO, errno, "'%s/%s': chmod/size", dir, name);
        goto fail;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        tp_err_set_errno(TP_EIO, errno, "'%s/%s': mmap", dir, name);
        goto fail;
    }
    write_header(p, ident, count);
    close(fd);
    out->base = p;
    out->size = size;
    out->count = count;
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    return 0;
fail:
    unlinkat(dirfd, name, 0); /* O_EXCL: it is the file we just created */
    close(fd);
    return -1;
}

int tp_counters_create(tp_counters_t *out, const char *dir, const tp_counters_ident_t *ident,
                       mode_t file_mode, const tp_allowed_dirs_t *allowed)
{
    char name[128];
    int dirfd, n;

    if (out == NULL || dir == NULL || ident == NULL)
        return tp_err_set(TP_EINVAL, "counters create: NULL argument");
    memset(out, 0, sizeof *out);
    if (tp_counters_file_name(name, sizeof name, ident) < 0)
        return -1;
    n = snprintf(out->path, sizeof out->path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof out->path) {
        memset(out, 0, sizeof *out);
        return tp_err_set(TP_ETOOBIG, "counters path '%s/%s' too long", dir, name);
    }
    dirfd = open_dir(dir, allowed);
    if (dirfd < 0 || clear_stale(dirfd, name, dir) != 0 ||
        create_at(out, dirfd, name, dir, ident, file_mode) != 0) {
        if (dirfd >= 0)
            close(dirfd);
        memset(out, 0, sizeof *out);
        return tp_err_push("counters file");
    }
    close(dirfd);
    return 0;
}

void tp_counters_close(tp_counters_t *c, bool remove)
{
    struct stat st;
    if (c == NULL || c->base == NULL)
        return;
    munmap(c->base, c->size);
    /* Only our inode: a successor of the same name (after we were presumed dead) stays. */
    if (remove && lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
        unlink(c->path);
    memset(c, 0, sizeof *c);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

int tp_counters_sweep_dead(const char *dir)
{
    struct dirent *e;
    DIR *d;
    int fd, removed = 0;

    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return tp_err_set_errno(TP_EIO, errno, "counters directory '%s'", dir);
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return tp_err_set_errno(TP_EIO, errno, "counters directory '%s'", dir);
    }
    while ((e = readdir(d)) != NULL) {
        tp_counters_info_t info;
        struct stat st;
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, TP_COUNTERS_SUFFIX))
            continue;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (peek_header(fd, e->d_name, &info) != 0 || tp_counters_pid_alive(info.pid))
            continue;
        if (unlinkat(fd, e->d_name, 0) == 0)
            removed++;
    }
    closedir(d); /* closes fd */
    return removed;
}

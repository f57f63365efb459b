/*
 * Where region files live and how they are reached safely.
 *
 *  * Canonical layout (W-173, W-174): <base>/tensorpool-<user>/<ns>/<stream>/<epoch>/...
 *  * Driver side: mkdir -p that never lets a planted symlink redirect us (tp_shm_mkdirs).
 *  * Client side: path containment (W-178, W-179) — realpath inside a canonical allowed dir,
 *    regular file, no-follow open, and an fstat identity check of the opened descriptor, so a
 *    file swapped in between the check and the open is caught.
 */
#include "shm/region.h"
#include "shm/region_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"

/* ---- Canonical layout -------------------------------------------------------------------- */

static int safe_name_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

static const char *user_name(void)
{
    /* W-174 order. An empty variable counts as unset: "tensorpool-" would be a name shared
     * by every user whose environment was scrubbed. */
    const char *u = getenv("USER");
    if (u == NULL || u[0] == '\0')
        u = getenv("USERNAME");
    if (u == NULL || u[0] == '\0')
        u = "unknown";
    return u;
}

int tp_shm_user_dir_name(char *out, size_t cap)
{
    static const char prefix[] = "tensorpool-";
    const char *u = user_name();
    size_t plen = sizeof prefix - 1, ulen = strlen(u), i;

    if (ulen > 255)
        return tp_err_set(TP_EPATH, "user name is %zu bytes, limit 255", ulen);
    if (plen + ulen + 1 > cap)
        return tp_err_set(TP_ETOOBIG, "user directory name needs %zu bytes, buffer has %zu",
                          plen + ulen + 1, cap);
    memcpy(out, prefix, plen);
    for (i = 0; i < ulen; i++)
        out[plen + i] = safe_name_byte((unsigned char)u[i]) ? u[i] : '_';
    out[plen + ulen] = '\0';
    /* W-174 hardening: the prefix already keeps "." and ".." from naming a parent, but a
     * user who is literally called that is a misconfiguration worth refusing loudly. */
    if (strcmp(out + plen, ".") == 0 || strcmp(out + plen, "..") == 0)
        return tp_err_set(TP_EPATH, "user name '%s' refused", out + plen);
    return (int)(plen + ulen);
}

/* A namespace is one path component we put under the user's directory. */
static int check_namespace(const char *ns)
{
    size_t i, n = strlen(ns);
    if (n == 0 || n > 255)
        return tp_err_set(TP_EPATH, "namespace must be 1-255 bytes, got %zu", n);
    if (strcmp(ns, ".") == 0 || strcmp(ns, "..") == 0)
        return tp_err_set(TP_EPATH, "namespace '%s' refused", ns);
    for (i = 0; i < n; i++)
        if (!safe_name_byte((unsigned char)ns[i]))
            return tp_err_set(TP_EPATH, "namespace byte %zu (0x%02x) outside [A-Za-z0-9._-]", i,
                              (unsigned char)ns[i]);
    return 0;
}

int tp_shm_epoch_dir(char *out, size_t cap, const char *base_dir, const char *ns,
                     uint32_t stream_id, uint64_t epoch)
{
    char user[300];
    size_t blen;
    int n;

    if (out == NULL || base_dir == NULL || ns == NULL)
        return tp_err_set(TP_EINVAL, "epoch dir: NULL argument");
    blen = strnlen(base_dir, TP_REGION_PATH_MAX);
    /* Every path we build must be announceable as a region URI later. */
    if (tp_region_path_check(base_dir, blen) != 0)
        return tp_err_push("base directory");
    while (blen > 1 && base_dir[blen - 1] == '/')
        blen--; /* "/dev/shm/" and "/dev/shm" name the same layout */
    if (check_namespace(ns) != 0 || tp_shm_user_dir_name(user, sizeof user) < 0)
        return -1;
    n = snprintf(out, cap, "%.*s/%s/%s/%u/%llu", (int)(blen == 1 ? 0 : blen), base_dir, user,
                 ns, (unsigned)stream_id, (unsigned long long)epoch);
    if (n < 0 || (size_t)n >= cap || (size_t)n >= TP_REGION_PATH_MAX)
        return tp_err_set(TP_ETOOBIG, "epoch directory path does not fit %zu bytes", cap);
    return n;
}

static int join(char *out, size_t cap, const char *dir, const char *leaf)
{
    int n = snprintf(out, cap, "%s/%s", dir, leaf);
    if (n < 0 || (size_t)n >= cap || (size_t)n >= TP_REGION_PATH_MAX)
        return tp_err_set(TP_ETOOBIG, "region path '%s/%s' does not fit %zu bytes", dir, leaf,
                          cap);
    return n;
}

int tp_shm_header_path(char *out, size_t cap, const char *epoch_dir)
{
    return join(out, cap, epoch_dir, "header.ring");
}

int tp_shm_pool_path(char *out, size_t cap, const char *epoch_dir, uint16_t pool_id)
{
    char leaf[16];
    snprintf(leaf, sizeof leaf, "%u.pool", (unsigned)pool_id);
    return join(out, cap, epoch_dir, leaf);
}

/* ---- Driver side: mkdir -p without being redirected -------------------------------------- */

static const char *file_kind(mode_t m)
{
    if (S_ISREG(m)) return "regular file";
    if (S_ISDIR(m)) return "directory";
    if (S_ISLNK(m)) return "symbolic link";
    if (S_ISFIFO(m)) return "FIFO";
    if (S_ISCHR(m)) return "character device";
    if (S_ISBLK(m)) return "block device";
    if (S_ISSOCK(m)) return "socket";
    return "special file";
}

/* Why openat(O_DIRECTORY) of an existing entry failed, in words. */
static int not_a_dir_error(int parent, const char *name, const char *full)
{
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
        return tp_err_set(TP_EPATH, "'%s': component '%s' is a %s, not a directory%s", full,
                          name, file_kind(st.st_mode),
                          S_ISLNK(st.st_mode) ? " (symlinks are not followed here)" : "");
    return tp_err_set(TP_EPATH, "'%s': component '%s' is not a directory", full, name);
}

/* Open (creating if missing) one directory component below `parent`. */
static int mkdir_step(int parent, const char *name, int last, mode_t mode, const char *full)
{
    struct stat pst, st;
    int nofollow, fd, created = 0;

    if (fstat(parent, &pst) != 0)
        return tp_err_set_errno(TP_EIO, errno, "'%s': fstat", full);
    /* In a world-writable directory (/dev/shm, /tmp) anyone may have planted the entry. */
    nofollow = last || (pst.st_mode & S_IWOTH);
    fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0 && errno == ENOENT) {
        created = mkdirat(parent, name, mode) == 0;
        if (!created && errno != EEXIST) /* EEXIST: lost a race, use theirs (checked below) */
            return tp_err_set_errno(TP_EIO, errno, "'%s': mkdir '%s'", full, name);
        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0) {
        if (errno == ENOTDIR || errno == ELOOP)
            return not_a_dir_error(parent, name, full);
        return tp_err_set_errno(TP_EIO, errno, "'%s': open '%s'", full, name);
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        return tp_err_set_errno(TP_EIO, errno, "'%s': fstat '%s'", full, name);
    }
    if ((pst.st_mode & S_IWOTH) && st.st_uid != geteuid() && st.st_uid != 0) {
        close(fd);
        return tp_err_set(TP_EPATH, "'%s': '%s' in a world-writable directory belongs to uid %u",
                          full, name, (unsigned)st.st_uid);
    }
    /* mkdir applies the umask; the configured mode is the one we promised (W-166). */
    if (created && fchmod(fd, mode) != 0) {
        close(fd);
        return tp_err_set_errno(TP_EIO, errno, "'%s': chmod '%s'", full, name);
    }
    return fd;
}

/* Split an absolute path into components, dropping empty ones and "."; ".." is refused
 * because the driver builds these paths itself and never needs one. Returns the count. */
static int split_components(char *buf, char **comp, int max, const char *dir)
{
    int n = 0;
    char *save = NULL, *c;
    for (c = strtok_r(buf, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0)
            return tp_err_set(TP_EPATH, "directory '%s' contains '..'", dir);
        if (n == max)
            return tp_err_set(TP_EPATH, "directory '%s' is too deep", dir);
        comp[n++] = c;
    }
    return n;
}

int tp_shm_mkdirs(const char *dir, mode_t mode)
{
    char buf[TP_REGION_PATH_MAX];
    char *comp[TP_REGION_PATH_MAX / 2];
    int fd, nfd, n, i;
    size_t len = strnlen(dir, sizeof buf);

    if (len == 0 || dir[0] != '/')
        return tp_err_set(TP_EPATH, "directory '%s' is not absolute", dir);
    if (len >= sizeof buf)
        return tp_err_set(TP_EPATH, "directory path is too long");
    memcpy(buf, dir, len + 1);
    n = split_components(buf, comp, (int)(sizeof comp / sizeof comp[0]), dir);
    if (n < 0)
        return -1;
    fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return tp_err_set_errno(TP_EIO, errno, "open /");
    for (i = 0; i < n && fd >= 0; i++) {
        nfd = mkdir_step(fd, comp[i], i == n - 1, mode, dir);
        close(fd);
        fd = nfd;
    }
    return fd;
}

/* ---- Client side: containment and a verified open (W-178, W-179) ------------------------ */

void tp_allowed_dirs_init(tp_allowed_dirs_t *a) { memset(a, 0, sizeof *a); }

int tp_allowed_dirs_add(tp_allowed_dirs_t *a, const char *dir)
{
    char canon[PATH_MAX];
    struct stat st;

    if (a == NULL || dir == NULL)
        return tp_err_set(TP_EINVAL, "allowed dir: NULL argument");
    if (a->count >= TP_ALLOWED_DIRS_MAX)
        return tp_err_set(TP_ETOOBIG, "allowed dir '%s': at most %u allowed dirs", dir,
                          TP_ALLOWED_DIRS_MAX);
    if (dir[0] != '/')
        return tp_err_set(TP_EPATH, "allowed dir '%s' is not absolute", dir);
    if (realpath(dir, canon) == NULL)
        return tp_err_set_errno(TP_EPATH, errno, "allowed dir '%s': realpath", dir);
    if (stat(canon, &st) != 0 || !S_ISDIR(st.st_mode))
        return tp_err_set(TP_EPATH, "allowed dir '%s' is not a directory", dir);
    if (strlen(canon) >= sizeof a->canon[0])
        return tp_err_set(TP_EPATH, "allowed dir '%s' is too long", dir);
    strcpy(a->canon[a->count++], canon);
    return 0;
}

/* W-179: equal to an allowed dir, or below it ("/a/bc" is not inside "/a/b"). */
static int is_contained(const tp_allowed_dirs_t *a, const char *canon)
{
    uint32_t i;
    for (i = 0; i < a->count; i++) {
        const char *d = a->canon[i];
        size_t n = strlen(d);
        if (strcmp(d, "/") == 0)
            return 1;
        if (strncmp(canon, d, n) == 0 && (canon[n] == '\0' || canon[n] == '/'))
            return 1;
    }
    return 0;
}

/* Without openat2 a parent directory swapped for a symlink before our lstat would be
 * followed by both lstat and open, and the identities would agree: ask the kernel which
 * path the descriptor really has. */
static int opened_path_is(int fd, const char *canon)
{
    char proc[64], real[PATH_MAX];
    ssize_t n;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    n = readlink(proc, real, sizeof real - 1);
    if (n < 0)
        return 0; /* fail closed */
    real[n] = '\0';
    return strcmp(real, canon) == 0;
}

/* No-follow open of a path that realpath() produced, so no component should be a symlink:
 * openat2(RESOLVE_NO_SYMLINKS) refuses one anywhere in the path, which also stops a parent
 * directory swapped for a link. O_NOFOLLOW alone only guards the last component, so the
 * fallback for kernels without openat2 (< 5.6, or filtered by seccomp) checks the opened
 * path through /proc. O_NONBLOCK keeps a FIFO swapped in from blocking the open; it means
 * nothing for regular files. */
bool tp_shm_test_no_openat2;

static int open_nofollow(const char *canon, int flags)
{
    int fd;
#ifdef SYS_openat2
    struct open_how how;
    long rc;
    if (tp_shm_test_no_openat2)
        goto fallback;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)flags;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    rc = syscall(SYS_openat2, AT_FDCWD, canon, &how, sizeof how);
    if (rc >= 0 || (errno != ENOSYS && errno != EPERM))
        return (int)rc;
fallback:
#endif
    fd = open(canon, flags);
    if (fd >= 0 && !opened_path_is(fd, canon)) {
        close(fd);
        errno = ELOOP; /* reported like a symlink found by openat2 */
        return -1;
    }
    return fd;
}

int tp_shm_open_contained(const char *path, const tp_allowed_dirs_t *allowed, bool writable,
                          tp_region_map_hook_fn hook, void *hook_arg, struct stat *st_out)
{
    char canon[PATH_MAX];
    struct stat st, fst;
    int fd;

    if (path[0] != '/') /* step 1 */
        return tp_err_set(TP_EPATH, "'%s' is not absolute", path);
    if (allowed == NULL || allowed->count == 0)
        return tp_err_set(TP_EPATH, "'%s': no allowed directories configured", path);
    if (realpath(path, canon) == NULL) /* step 2 */
        return tp_err_set_errno(TP_EPATH, errno, "'%s': realpath", path);
    if (!is_contained(allowed, canon)) /* steps 3-4 */
        return tp_err_set(TP_EPATH, "'%s' resolves to '%s', outside every allowed directory",
                          path, canon);
    if (lstat(canon, &st) != 0) /* step 5; lstat: the canonical path has no links left */
        return tp_err_set_errno(TP_EPATH, errno, "'%s': stat", canon);
    if (!S_ISREG(st.st_mode))
        return tp_err_set(TP_EPATH, "'%s' is a %s, not a regular file", canon,
                          file_kind(st.st_mode));
    if (hook != NULL)
        hook(canon, hook_arg);
    fd = open_nofollow(canon, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC |
                                  O_NONBLOCK | O_NOCTTY); /* step 6 */
    if (fd < 0) {
        if (errno == ELOOP)
            return tp_err_set(TP_EPATH, "'%s' became a symbolic link after it was checked",
                              canon);
        return tp_err_set_errno(TP_EPATH, errno, "'%s': open", canon);
    }
    if (fstat(fd, &fst) != 0) {
        int e = errno;
        close(fd);
        return tp_err_set_errno(TP_EIO, e, "'%s': fstat", canon);
    }
    if (!S_ISREG(fst.st_mode) || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
        close(fd);
        return tp_err_set(TP_EPATH, "'%s' was replaced between check and open (now a %s, "
                          "dev/ino %llu/%llu, checked %llu/%llu)", canon,
                          file_kind(fst.st_mode), (unsigned long long)fst.st_dev,
                          (unsigned long long)fst.st_ino, (unsigned long long)st.st_dev,
                          (unsigned long long)st.st_ino);
    }
    *st_out = fst;
    return fd;
}

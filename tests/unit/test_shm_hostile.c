/*
 * Hostile region files and paths (WIRE W-94 .. W-99, W-168 .. W-171, W-178, W-179; DRIVER D-49).
 *
 * Every case feeds tp_region_map (or tp_region_create) something an attacker or a broken peer
 * could produce and checks three things: the call fails with the expected code and a reason
 * a human can act on; *out stays unmapped; and no mapping or descriptor was left behind
 * (/proc/self/maps and /proc/self/fd are compared before and after). Where the hostile file
 * would otherwise be a perfectly valid region, the test first proves that the valid variant
 * maps, so the rejection is due to the hostile property and nothing else.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shm/region.h"
#include "shm/region_internal.h"
#include "tp_test.h"
#include "util/error.h"

/* ---- fixture ------------------------------------------------------------------------------ */

static char g_root[1024];    /* realpath of <tmp>/hostile */
static char g_allowed[1100]; /* <root>/allowed : the only allowed dir */
static char g_outside[1100]; /* <root>/outside : valid regions nobody may map */

static const tp_superblock_t RING = {
    .region_type = TP_REGION_HEADER_RING, .epoch = 4, .stream_id = 7, .nslots = 8};
static const tp_superblock_t POOL = {.region_type = TP_REGION_PAYLOAD_POOL,
                                     .epoch = 4,
                                     .stream_id = 7,
                                     .pool_id = 1,
                                     .nslots = 8,
                                     .stride_bytes = 256};

static tp_region_expect_t ring_expect(void)
{
    tp_region_expect_t e = {.region_type = TP_REGION_HEADER_RING,
                            .layout_version = 1, .epoch = 4, .stream_id = 7, .nslots = 8};
    return e;
}

static tp_region_expect_t pool_expect(void)
{
    tp_region_expect_t e = ring_expect();
    e.region_type = TP_REGION_PAYLOAD_POOL;
    e.pool_id = 1;
    e.stride_bytes = 256;
    return e;
}

static void make_region(const char *path, const tp_superblock_t *sb)
{
    tp_region_t r;
    if (tp_region_create(&r, path, sb, NULL) != 0) {
        fprintf(stderr, "fixture: create %s: %s\n", path, tp_errmsg());
        abort();
    }
    tp_region_unmap(&r);
}

static void in_dir(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void setup(void)
{
    char p[1200];
    if (g_root[0])
        return;
    snprintf(p, sizeof p, "%s/hostile", tp_test_tmpdir());
    if (mkdir(p, 0700) != 0 || realpath(p, g_root) == NULL)
        abort();
    in_dir(g_allowed, sizeof g_allowed, g_root, "allowed");
    in_dir(g_outside, sizeof g_outside, g_root, "outside");
    in_dir(p, sizeof p, g_allowed, "header.ring");
    make_region(p, &RING);
    in_dir(p, sizeof p, g_allowed, "1.pool");
    make_region(p, &POOL);
    in_dir(p, sizeof p, g_outside, "header.ring");
    make_region(p, &RING);
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* Mappings whose backing path contains `needle`. */
static int count_maps(const char *needle)
{
    char line[4352];
    int n = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, needle) != NULL)
            n++;
    fclose(f);
    return n;
}

static void allowed_one(tp_allowed_dirs_t *a, const char *dir)
{
    tp_allowed_dirs_init(a);
    if (tp_allowed_dirs_add(a, dir) != 0) {
        fprintf(stderr, "allowed %s: %s\n", dir, tp_errmsg());
        abort();
    }
}

struct attempt {
    const char *uri; /* NULL: shm:file?path=<path> */
    const char *path;
    const char *allowed; /* NULL: g_allowed */
    tp_region_expect_t expect;
    bool writable;
    tp_region_map_hook_fn hook;
    void *hook_arg;
};

static int attempt_map(const struct attempt *at, tp_region_t *r)
{
    char uri[TP_REGION_PATH_MAX + 64];
    tp_allowed_dirs_t a;
    allowed_one(&a, at->allowed ? at->allowed : g_allowed);
    if (at->uri != NULL)
        snprintf(uri, sizeof uri, "%s", at->uri);
    else
        snprintf(uri, sizeof uri, "shm:file?path=%s", at->path);
    tp_err_clear();
    return tp_region_map_hooked(r, uri, strlen(uri), &a, &at->expect, at->writable, at->hook,
                                at->hook_arg);
}

/* Must be rejected with `code` and a message containing `reason`; nothing may stay behind. */
static void check_rejected(const char *file, int line, const struct attempt *at, int code,
                           const char *reason)
{
    tp_region_t r;
    int fds = count_fds(), maps = count_maps(g_root), shm = count_maps("/dev/shm/tp-test");
    int rc = attempt_map(at, &r);

    if (rc == 0) {
        tp_test_fail(file, line, "accepted (mapped %zu bytes)", r.size);
        tp_region_unmap(&r);
        return;
    }
    if (tp_errcode() != code || strstr(tp_errmsg(), reason) == NULL)
        tp_test_fail(file, line, "want %s containing '%s', got %s: %s", tp_errname(code), reason,
                     tp_errname(tp_errcode()), tp_errmsg());
    if (r.base != NULL || r.size != 0)
        tp_test_fail(file, line, "*out not left unmapped");
    if (count_fds() != fds)
        tp_test_fail(file, line, "descriptor leaked");
    if (count_maps(g_root) != maps || count_maps("/dev/shm/tp-test") != shm)
        tp_test_fail(file, line, "mapping leaked");
}

static void check_maps(const char *file, int line, const struct attempt *at)
{
    tp_region_t r;
    if (attempt_map(at, &r) != 0) {
        tp_test_fail(file, line, "valid control case refused: %s", tp_errmsg());
        return;
    }
    tp_region_unmap(&r);
}

#define REJECTED(at, code, reason) check_rejected(__FILE__, __LINE__, (at), (code), (reason))
#define MAPS(at) check_maps(__FILE__, __LINE__, (at))

static struct attempt ring_at(const char *path)
{
    struct attempt at;
    memset(&at, 0, sizeof at);
    at.path = path;
    at.expect = ring_expect();
    return at;
}

/* A copy of a valid region with one change at `off` (len bytes from `bytes`). */
static void corrupt_copy(const char *dst, const tp_superblock_t *sb, size_t off,
                         const void *bytes, size_t len)
{
    int fd;
    make_region(dst, sb);
    fd = open(dst, O_WRONLY);
    if (fd < 0 || pwrite(fd, bytes, len, (off_t)off) != (ssize_t)len)
        abort();
    close(fd);
}

/* ---- the control case ----------------------------------------------------------------------- */

TP_TEST(test_wire_w178_valid_regions_map)
{
    char p[1200];
    struct attempt at;
    setup();
    in_dir(p, sizeof p, g_allowed, "header.ring");
    at = ring_at(p);
    MAPS(&at);
    at.writable = true;
    MAPS(&at);
    in_dir(p, sizeof p, g_allowed, "1.pool");
    at = ring_at(p);
    at.expect = pool_expect();
    MAPS(&at);
    at.path = g_allowed; /* sanity: the fixture really refuses something */
    REJECTED(&at, TP_EPATH, "is a directory");
}

/* ---- W-168 .. W-170: URIs --------------------------------------------------------------- */

TP_TEST(test_wire_w170_map_rejects_bad_uris)
{
    char uri[1300];
    struct attempt at = ring_at(NULL);
    setup();
    at.uri = uri;
    snprintf(uri, sizeof uri, "file://%s/header.ring", g_allowed);
    REJECTED(&at, TP_EURI, "scheme must be 'shm:file?'");
    snprintf(uri, sizeof uri, "shm:file?path=%s/header.ring|mode=0666", g_allowed);
    REJECTED(&at, TP_EURI, "unknown parameter 'mode'");
    snprintf(uri, sizeof uri, "shm:file?path=%s/header.ring|require_hugepages=yes", g_allowed);
    REJECTED(&at, TP_EURI, "must be true or false");
    snprintf(uri, sizeof uri, "shm:file?path=%s/header.ring|path=/etc/passwd", g_allowed);
    REJECTED(&at, TP_EURI, "duplicate parameter 'path'");
}

TP_TEST(test_wire_w178_rejects_relative_path)
{
    struct attempt at = ring_at(NULL);
    char cwd[1100];
    setup();
    /* Even when the relative path would name the valid file from the current directory. */
    TP_ASSERT(getcwd(cwd, sizeof cwd) != NULL);
    TP_ASSERT(chdir(g_allowed) == 0);
    at.uri = "shm:file?path=header.ring";
    REJECTED(&at, TP_EURI, "must be absolute");
    at.uri = "shm:file?path=./header.ring";
    REJECTED(&at, TP_EURI, "must be absolute");
    TP_CHECK(chdir(cwd) == 0);
}

TP_TEST(test_wire_w178_rejects_missing_file_and_empty_allow_list)
{
    char p[1200];
    struct attempt at;
    tp_allowed_dirs_t none;
    tp_region_t r;
    setup();
    in_dir(p, sizeof p, g_allowed, "nope.ring");
    at = ring_at(p);
    REJECTED(&at, TP_EPATH, "realpath");
    /* No allowed dirs configured: fail closed. */
    in_dir(p, sizeof p, g_allowed, "header.ring");
    tp_allowed_dirs_init(&none);
    at.expect = ring_expect();
    {
        char uri[1300];
        snprintf(uri, sizeof uri, "shm:file?path=%s", p);
        tp_err_clear();
        TP_CHECK_EQ_I(tp_region_map(&r, uri, strlen(uri), &none, &at.expect, false), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EPATH);
        TP_CHECK(strstr(tp_errmsg(), "no allowed directories") != NULL);
        TP_CHECK(r.base == NULL);
    }
}

/* ---- W-178 steps 2-4: containment --------------------------------------------------------- */

TP_TEST(test_wire_w178_rejects_dotdot_escape)
{
    char p[1300];
    struct attempt at;
    setup();
    snprintf(p, sizeof p, "%s/../outside/header.ring", g_allowed);
    at = ring_at(p);
    REJECTED(&at, TP_EPATH, "outside every allowed directory");
    at.allowed = g_outside; /* control: the very same file is fine where it is allowed */
    MAPS(&at);
}

TP_TEST(test_wire_w179_rejects_sibling_with_allowed_prefix)
{
    char sib[1200], p[1300];
    struct attempt at;
    setup();
    snprintf(sib, sizeof sib, "%s2", g_allowed); /* ".../allowed2" starts with ".../allowed" */
    TP_ASSERT(mkdir(sib, 0700) == 0);
    in_dir(p, sizeof p, sib, "header.ring");
    make_region(p, &RING);
    at = ring_at(p);
    REJECTED(&at, TP_EPATH, "outside every allowed directory");
}

TP_TEST(test_wire_w178_rejects_symlink_to_file_outside)
{
    char link[1200], target[1200];
    struct attempt at;
    setup();
    in_dir(link, sizeof link, g_allowed, "evil.ring");
    in_dir(target, sizeof target, g_outside, "header.ring");
    TP_ASSERT(symlink(target, link) == 0);
    at = ring_at(link);
    REJECTED(&at, TP_EPATH, "outside every allowed directory");
    unlink(link);
}

TP_TEST(test_wire_w178_rejects_symlinked_directory_outside)
{
    char link[1200], p[1300];
    struct attempt at;
    setup();
    in_dir(link, sizeof link, g_allowed, "epoch9");
    TP_ASSERT(symlink(g_outside, link) == 0);
    in_dir(p, sizeof p, link, "header.ring");
    at = ring_at(p);
    REJECTED(&at, TP_EPATH, "outside every allowed directory");
    unlink(link);
}

/* ---- W-178 step 5: only regular files ----------------------------------------------------- */

TP_TEST(test_wire_w178_rejects_fifo)
{
    char p[1200];
    struct attempt at;
    setup();
    in_dir(p, sizeof p, g_allowed, "fifo.ring");
    TP_ASSERT(mkfifo(p, 0600) == 0);
    alarm(10); /* a blocking open would hang here: fail loudly instead */
    at = ring_at(p);
    REJECTED(&at, TP_EPATH, "is a FIFO, not a regular file");
    at.writable = true;
    REJECTED(&at, TP_EPATH, "is a FIFO, not a regular file");
    alarm(0);
}

TP_TEST(test_wire_w178_rejects_character_device)
{
    char link[1200];
    struct attempt at;
    setup();
    if (access("/dev/zero", R_OK) != 0)
        TP_SKIP("no /dev/zero");
    /* Through a symlink inside the allowed dir: containment sees through it. */
    in_dir(link, sizeof link, g_allowed, "zero.ring");
    TP_ASSERT(symlink("/dev/zero", link) == 0);
    at = ring_at(link);
    REJECTED(&at, TP_EPATH, "outside every allowed directory");
    unlink(link);
    /* With /dev itself allowed, the file-type check refuses it (/dev/zero would even pass a
     * size check: it maps as endless zeros). */
    at = ring_at("/dev/zero");
    at.allowed = "/dev";
    REJECTED(&at, TP_EPATH, "is a character device, not a regular file");
    at.path = "/dev/null";
    REJECTED(&at, TP_EPATH, "is a character device, not a regular file");
}

TP_TEST(test_wire_w178_rejects_directory)
{
    char p[1200];
    struct attempt at;
    setup();
    in_dir(p, sizeof p, g_allowed, "dir.ring");
    TP_ASSERT(mkdir(p, 0700) == 0);
    at = ring_at(p);
    REJECTED(&at, TP_EPATH, "is a directory, not a regular file");
    at.path = g_allowed; /* the allowed dir itself is "contained" but still not a file */
    REJECTED(&at, TP_EPATH, "is a directory, not a regular file");
}

TP_TEST(test_wire_w178_rejects_socket)
{
    struct sockaddr_un sa;
    struct attempt at;
    int s;
    setup();
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock.ring", g_allowed) >=
        sizeof sa.sun_path)
        TP_SKIP("temp dir path too long for a unix socket");
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    TP_ASSERT(s >= 0);
    TP_ASSERT(bind(s, (struct sockaddr *)&sa, sizeof sa) == 0);
    at = ring_at(sa.sun_path);
    REJECTED(&at, TP_EPATH, "is a socket, not a regular file");
    close(s);
}

/* ---- W-178 step 6: swapped between check and open (TOCTOU) ----------------------------- */

struct swap {
    const char *victim;
    const char *with; /* rename this over the victim, or symlink to it */
    int how;          /* 0 rename, 1 symlink, 2 fifo, 3 parent dir -> symlink */
    const char *dir, *dir_target;
    int fired;
};

static void swap_hook(const char *canon, void *arg)
{
    struct swap *s = arg;
    char aside[1300];
    s->fired++;
    if (strcmp(canon, s->victim) != 0)
        return; /* hook sees the canonical path; the test gave the same */
    switch (s->how) {
    case 0:
        if (rename(s->with, s->victim) != 0) perror("rename");
        break;
    case 1:
        unlink(s->victim);
        if (symlink(s->with, s->victim) != 0) perror("symlink");
        break;
    case 2:
        unlink(s->victim);
        if (mkfifo(s->victim, 0600) != 0) perror("mkfifo");
        break;
    case 3:
        snprintf(aside, sizeof aside, "%s.aside", s->dir);
        if (rename(s->dir, aside) != 0 || symlink(s->dir_target, s->dir) != 0)
            perror("swap dir");
        break;
    }
}

TP_TEST(test_wire_w178_toctou_file_swapped_by_rename)
{
    char victim[1200], evil[1200];
    struct swap sw;
    struct attempt at;
    setup();
    in_dir(victim, sizeof victim, g_allowed, "victim.ring");
    in_dir(evil, sizeof evil, g_allowed, "evil.tmp");
    make_region(victim, &RING);
    make_region(evil, &RING); /* valid too: only the identity check can tell */
    at = ring_at(victim);
    MAPS(&at); /* control: no swap, maps */
    memset(&sw, 0, sizeof sw);
    sw.victim = victim;
    sw.with = evil;
    at.hook = swap_hook;
    at.hook_arg = &sw;
    REJECTED(&at, TP_EPATH, "was replaced between check and open");
    TP_CHECK_EQ_I(sw.fired, 1);
}

TP_TEST(test_wire_w178_toctou_file_swapped_for_symlink)
{
    char victim[1200], target[1200];
    struct swap sw;
    struct attempt at;
    setup();
    in_dir(victim, sizeof victim, g_allowed, "victim2.ring");
    in_dir(target, sizeof target, g_outside, "header.ring");
    make_region(victim, &RING);
    memset(&sw, 0, sizeof sw);
    sw.victim = victim;
    sw.with = target;
    sw.how = 1;
    at = ring_at(victim);
    at.hook = swap_hook;
    at.hook_arg = &sw;
    REJECTED(&at, TP_EPATH, "became a symbolic link");
    TP_CHECK_EQ_I(sw.fired, 1);
}

TP_TEST(test_wire_w178_toctou_file_swapped_for_fifo)
{
    char victim[1200];
    struct swap sw;
    struct attempt at;
    setup();
    in_dir(victim, sizeof victim, g_allowed, "victim3.ring");
    make_region(victim, &RING);
    memset(&sw, 0, sizeof sw);
    sw.victim = victim;
    sw.how = 2;
    at = ring_at(victim);
    at.hook = swap_hook;
    at.hook_arg = &sw;
    alarm(10); /* the open must not block on the FIFO */
    REJECTED(&at, TP_EPATH, "was replaced between check and open (now a FIFO");
    alarm(0);
}

TP_TEST(test_wire_w178_toctou_parent_dir_swapped_for_symlink)
{
    char dir[1200], victim[1300];
    struct swap sw;
    struct attempt at;
    setup();
    in_dir(dir, sizeof dir, g_allowed, "epoch5");
    TP_ASSERT(mkdir(dir, 0700) == 0);
    in_dir(victim, sizeof victim, dir, "header.ring");
    make_region(victim, &RING);
    memset(&sw, 0, sizeof sw);
    sw.victim = victim;
    sw.how = 3;
    sw.dir = dir;
    sw.dir_target = g_outside; /* holds a valid header.ring */
    at = ring_at(victim);
    at.hook = swap_hook;
    at.hook_arg = &sw;
    /* openat2(RESOLVE_NO_SYMLINKS) reports the link; without openat2 the identity check
     * catches it. Either way TP_EPATH and nothing mapped. */
    tp_err_clear();
    {
        tp_region_t r;
        int fds = count_fds(), maps = count_maps(g_root);
        TP_CHECK_EQ_I(attempt_map(&at, &r), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EPATH);
        TP_CHECK(strstr(tp_errmsg(), "became a symbolic link") != NULL ||
                 strstr(tp_errmsg(), "was replaced") != NULL);
        TP_CHECK(r.base == NULL);
        TP_CHECK_EQ_I(count_fds(), fds);
        TP_CHECK_EQ_I(count_maps(g_root), maps);
    }
}

TP_TEST(test_wire_w178_toctou_caught_without_openat2)
{
    /* The fallback for kernels without openat2 must catch every swap above as well. */
    char victim[1200], evil[1200], target[1200], dir[1200], victim4[1300];
    struct swap sw;
    struct attempt at;
    int how;
    setup();
    tp_shm_test_no_openat2 = true;
    in_dir(target, sizeof target, g_outside, "header.ring");
    in_dir(dir, sizeof dir, g_allowed, "epoch6");
    TP_ASSERT(mkdir(dir, 0700) == 0);
    in_dir(victim4, sizeof victim4, dir, "header.ring");
    for (how = 0; how < 4; how++) {
        in_dir(victim, sizeof victim, g_allowed, "victim-fb.ring");
        in_dir(evil, sizeof evil, g_allowed, "evil-fb.tmp");
        make_region(victim, &RING);
        make_region(evil, &RING);
        make_region(victim4, &RING);
        memset(&sw, 0, sizeof sw);
        sw.how = how;
        sw.victim = how == 3 ? victim4 : victim;
        sw.with = how == 0 ? evil : target;
        sw.dir = dir;
        sw.dir_target = g_outside;
        at = ring_at(sw.victim);
        MAPS(&at); /* control: the fallback maps valid files */
        at.hook = swap_hook;
        at.hook_arg = &sw;
        alarm(10);
        REJECTED(&at, TP_EPATH, how == 0 || how == 2 ? "was replaced" : "became a symbolic link");
        alarm(0);
        unlink(victim);
    }
    tp_shm_test_no_openat2 = false;
}

/* ---- W-12, W-179: size ----------------------------------------------------------------- */

TP_TEST(test_wire_w012_rejects_file_too_small)
{
    char p[1200];
    struct attempt at;
    setup();
    in_dir(p, sizeof p, g_allowed, "short.ring");
    make_region(p, &RING);
    TP_ASSERT(truncate(p, 64 + 8 * 256 - 1) == 0);
    at = ring_at(p);
    REJECTED(&at, TP_EREGION, "is 2111 bytes, geometry needs 2112");
    TP_ASSERT(truncate(p, 0) == 0);
    REJECTED(&at, TP_EREGION, "is 0 bytes, geometry needs 2112");
    /* An announce claiming more slots than the file holds. */
    TP_ASSERT(truncate(p, 64 + 8 * 256) == 0);
    at.expect.nslots = 16;
    REJECTED(&at, TP_EREGION, "geometry needs 4160");
}

/* ---- W-94, W-97: superblock contents ---------------------------------------------------- */

struct sb_case {
    const char *name;
    size_t off;
    uint64_t value;
    size_t len;
    int pool;
    const char *reason;
};

TP_TEST(test_wire_w094_rejects_superblock_mismatch)
{
    static const struct sb_case cases[] = {
        {"magic", 0, 0x314D48534C504F55ull, 8, 0, "superblock magic"},
        {"zero magic", 0, 0, 8, 0, "superblock magic 0x0000000000000000"},
        {"layout", 8, 2, 4, 0, "superblock layout_version 2 != expected 1"},
        {"epoch", 12, 3, 8, 0, "superblock epoch 3 != expected 4"},
        {"stream", 20, 8, 4, 0, "superblock stream_id 8 != expected 7"},
        {"region type", 24, 2, 2, 0, "superblock region_type 2 != expected 1"},
        {"ring pool id", 26, 1, 2, 0, "superblock pool_id 1 != expected 0"},
        {"nslots", 28, 4, 4, 0, "superblock nslots 4 != expected 8"},
        {"nslots pow2", 28, 6, 4, 0, "superblock nslots 6 is not a power of two"},
        {"ring slot_bytes", 32, 128, 4, 0, "superblock slot_bytes 128 != expected 256"},
        {"ring stride", 36, 256, 4, 0, "superblock stride_bytes 256 != expected 0"},
        {"pool id", 26, 2, 2, 1, "superblock pool_id 2 != expected 1"},
        {"pool type", 24, 1, 2, 1, "superblock region_type 1 != expected 2"},
        {"pool slot_bytes", 32, 512, 4, 1, "superblock slot_bytes 512 != expected 256"},
        {"pool stride", 36, 128, 4, 1, "superblock stride_bytes 128 != expected 256"},
    };
    char p[1200];
    size_t i;
    setup();
    in_dir(p, sizeof p, g_allowed, "bad.region");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct sb_case *c = &cases[i];
        struct attempt at = ring_at(p);
        if (c->pool)
            at.expect = pool_expect();
        corrupt_copy(p, c->pool ? &POOL : &RING, c->off, &c->value, c->len);
        check_rejected(__FILE__, __LINE__, &at, TP_EREGION, c->reason);
        if (tp_test_failed_now())
            fprintf(stderr, "  (case '%s')\n", c->name);
    }
}

TP_TEST(test_wire_w094_rejects_region_of_other_type)
{
    /* A pool with stride 256 has exactly a ring's size: only region_type tells them apart. */
    char p[1200];
    struct attempt at;
    setup();
    in_dir(p, sizeof p, g_allowed, "1.pool");
    at = ring_at(p);
    REJECTED(&at, TP_EREGION, "superblock region_type 2 != expected 1");
    in_dir(p, sizeof p, g_allowed, "header.ring");
    at = ring_at(p);
    at.expect = pool_expect();
    REJECTED(&at, TP_EREGION, "superblock region_type 1 != expected 2");
}

TP_TEST(test_wire_w094_rejects_wrong_announced_identity)
{
    char p[1200];
    struct attempt at;
    setup();
    in_dir(p, sizeof p, g_allowed, "1.pool");
    at = ring_at(p);
    at.expect = pool_expect();
    at.expect.epoch = 5;
    REJECTED(&at, TP_EREGION, "superblock epoch 4 != expected 5");
    at.expect = pool_expect();
    at.expect.stream_id = 70;
    REJECTED(&at, TP_EREGION, "superblock stream_id 7 != expected 70");
    at.expect = pool_expect();
    at.expect.pool_id = 2;
    REJECTED(&at, TP_EREGION, "superblock pool_id 1 != expected 2");
}

/* ---- W-53, W-94: announced geometry, checked before the file is touched ---------------- */

TP_TEST(test_wire_w053_rejects_bad_announced_geometry)
{
    static const struct { int pool; uint32_t nslots, stride; int16_t type; uint16_t pool_id;
                          uint32_t layout; int code; const char *reason; } cases[] = {
        {0, 3, 0, TP_REGION_HEADER_RING, 0, 1, TP_EREGION, "nslots 3 is not a power of two"},
        {0, 0, 0, TP_REGION_HEADER_RING, 0, 1, TP_EREGION, "nslots 0 is not a power of two"},
        {0, 0xFFFFFFFFu, 0, TP_REGION_HEADER_RING, 0, 1, TP_EREGION, "not a power of two"},
        {1, 8, 96, TP_REGION_PAYLOAD_POOL, 1, 1, TP_EREGION, "stride_bytes 96 is not"},
        {1, 8, 32, TP_REGION_PAYLOAD_POOL, 1, 1, TP_EREGION, "stride_bytes 32 is not"},
        {1, 8, 0, TP_REGION_PAYLOAD_POOL, 1, 1, TP_EREGION, "stride_bytes 0 is not"},
        {1, 8, 320, TP_REGION_PAYLOAD_POOL, 1, 1, TP_EREGION, "stride_bytes 320 is not"},
        {0, 8, 0, 3, 0, 1, TP_EREGION, "region_type 3 is neither"},
        {0, 8, 0, TP_REGION_HEADER_RING, 5, 1, TP_EREGION, "header ring with pool_id 5"},
        {0, 8, 0, TP_REGION_HEADER_RING, 0, 2, TP_EVERSION, "layout_version 2 unsupported"},
        {0, 8, 0, TP_REGION_HEADER_RING, 0, 0, TP_EVERSION, "layout_version 0 unsupported"},
        /* 2^31 slots of 2^31 bytes: representable, but no file is that big. */
        {1, 0x80000000u, 0x80000000u, TP_REGION_PAYLOAD_POOL, 1, 1, TP_EREGION,
         "geometry needs 4611686018427387968"},
    };
    char p[1200];
    size_t i;
    setup();
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct attempt at;
        in_dir(p, sizeof p, g_allowed, cases[i].pool ? "1.pool" : "header.ring");
        at = ring_at(p);
        at.expect.nslots = cases[i].nslots;
        at.expect.stride_bytes = cases[i].stride;
        at.expect.region_type = cases[i].type;
        at.expect.pool_id = cases[i].pool_id;
        at.expect.layout_version = cases[i].layout;
        check_rejected(__FILE__, __LINE__, &at, cases[i].code, cases[i].reason);
    }
}

/* ---- W-171: hugepages -------------------------------------------------------------------- */

TP_TEST(test_wire_w171_require_hugepages_rejected_on_tmpfs)
{
    char dir[256], p[300], uri[400];
    struct attempt at;
    setup();
    snprintf(dir, sizeof dir, "/dev/shm/tp-test-hostile-%d", (int)getpid());
    if (mkdir(dir, 0700) != 0)
        TP_SKIP("/dev/shm not writable");
    in_dir(p, sizeof p, dir, "header.ring");
    make_region(p, &RING);
    at = ring_at(p);
    at.allowed = dir;
    MAPS(&at); /* control */
    snprintf(uri, sizeof uri, "shm:file?path=%s|require_hugepages=true", p);
    at.uri = uri;
    REJECTED(&at, TP_EHUGEPAGES, "not hugetlbfs");
    at.writable = true;
    REJECTED(&at, TP_EHUGEPAGES, "not hugetlbfs");
    snprintf(uri, sizeof uri, "shm:file?require_hugepages=true|path=%s", p);
    REJECTED(&at, TP_EHUGEPAGES, "not hugetlbfs");
    snprintf(uri, sizeof uri, "shm:file?path=%s|require_hugepages=false", p);
    MAPS(&at);
    tp_test_rmtree(dir);
}

TP_TEST(test_wire_w171_require_hugepages_rejected_on_disk)
{
    char p[1200], uri[1300];
    struct attempt at;
    setup();
    in_dir(p, sizeof p, g_allowed, "header.ring");
    snprintf(uri, sizeof uri, "shm:file?path=%s|require_hugepages=true", p);
    at = ring_at(p);
    at.uri = uri;
    REJECTED(&at, TP_EHUGEPAGES, "not hugetlbfs");
}

/* ---- D-49: the driver never follows what someone planted ------------------------------- */

static int file_has(const char *path, const char *want)
{
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t n;
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

static void write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
        abort();
    close(fd);
}

static void check_create_refused(const char *file, int line, const char *path,
                                 const char *reason)
{
    tp_region_t r;
    int fds = count_fds();
    tp_err_clear();
    if (tp_region_create(&r, path, &RING, NULL) == 0) {
        tp_test_fail(file, line, "create '%s' accepted", path);
        tp_region_unmap(&r);
        return;
    }
    if (tp_errcode() != TP_EPATH || strstr(tp_errmsg(), reason) == NULL)
        tp_test_fail(file, line, "want TP_EPATH '%s', got %s: %s", reason,
                     tp_errname(tp_errcode()), tp_errmsg());
    if (r.base != NULL || count_fds() != fds)
        tp_test_fail(file, line, "left something behind");
}

#define CREATE_REFUSED(path, reason) check_create_refused(__FILE__, __LINE__, (path), (reason))

TP_TEST(test_driver_d49_create_does_not_follow_symlink_at_file)
{
    char dir[1200], link[1300], target[1300], dangling[1300];
    struct stat st;
    setup();
    in_dir(dir, sizeof dir, g_root, "create-link");
    TP_ASSERT(mkdir(dir, 0700) == 0);
    in_dir(target, sizeof target, g_outside, "precious");
    write_file(target, "keep me");
    in_dir(link, sizeof link, dir, "header.ring");
    TP_ASSERT(symlink(target, link) == 0);
    CREATE_REFUSED(link, "symlink");
    TP_CHECK(file_has(target, "keep me")); /* neither truncated nor overwritten */
    TP_CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode)); /* not ours to remove */
    /* A dangling link must not make us create its target. */
    in_dir(link, sizeof link, dir, "1.pool");
    in_dir(dangling, sizeof dangling, g_outside, "created-through-link");
    TP_ASSERT(symlink(dangling, link) == 0);
    CREATE_REFUSED(link, "symlink");
    TP_CHECK(access(dangling, F_OK) != 0);
}

TP_TEST(test_driver_d49_create_refuses_special_files_at_file)
{
    char dir[1200], p[1300];
    setup();
    in_dir(dir, sizeof dir, g_root, "create-special");
    TP_ASSERT(mkdir(dir, 0700) == 0);
    in_dir(p, sizeof p, dir, "header.ring");
    TP_ASSERT(mkfifo(p, 0600) == 0);
    alarm(10);
    CREATE_REFUSED(p, "exists and is not a regular file");
    alarm(0);
    in_dir(p, sizeof p, dir, "2.pool");
    TP_ASSERT(mkdir(p, 0700) == 0);
    CREATE_REFUSED(p, "exists and is not a regular file");
}

TP_TEST(test_driver_d49_create_refuses_hard_link)
{
    char dir[1200], p[1300], target[1300];
    setup();
    in_dir(dir, sizeof dir, g_root, "create-hardlink");
    TP_ASSERT(mkdir(dir, 0700) == 0);
    in_dir(target, sizeof target, g_outside, "precious2");
    write_file(target, "keep me too");
    in_dir(p, sizeof p, dir, "header.ring");
    TP_ASSERT(link(target, p) == 0);
    CREATE_REFUSED(p, "hard link");
    TP_CHECK(file_has(target, "keep me too"));
}

TP_TEST(test_driver_d49_create_does_not_follow_symlinked_directory)
{
    char dir[1200], link[1300], p[1400], escaped[1400];
    setup();
    in_dir(dir, sizeof dir, g_root, "create-dirlink");
    TP_ASSERT(mkdir(dir, 0700) == 0);
    /* The epoch directory (last component) is a planted link to somewhere else. */
    in_dir(link, sizeof link, dir, "9");
    TP_ASSERT(symlink(g_outside, link) == 0);
    in_dir(p, sizeof p, link, "2.pool");
    CREATE_REFUSED(p, "is a symbolic link, not a directory");
    in_dir(escaped, sizeof escaped, g_outside, "2.pool");
    TP_CHECK(access(escaped, F_OK) != 0);
}

TP_TEST(test_driver_d49_create_in_world_writable_dir_refuses_planted_entries)
{
    char pub[1200], link[1300], p[1400], other[1300];
    setup();
    /* Like /dev/shm: sticky and world-writable, anyone can plant tensorpool-<victim>. */
    in_dir(pub, sizeof pub, g_root, "public");
    TP_ASSERT(mkdir(pub, 0700) == 0 && chmod(pub, 01777) == 0);
    in_dir(link, sizeof link, pub, "tensorpool-victim");
    TP_ASSERT(symlink(g_outside, link) == 0);
    snprintf(p, sizeof p, "%s/default/1/2/header.ring", link);
    CREATE_REFUSED(p, "symbolic link");
    /* A directory planted there by another user is refused as well. */
    if (geteuid() != 0)
        return;
    in_dir(other, sizeof other, pub, "tensorpool-other");
    TP_ASSERT(mkdir(other, 0777) == 0 && chown(other, 65534, 65534) == 0);
    snprintf(p, sizeof p, "%s/default/1/2/header.ring", other);
    CREATE_REFUSED(p, "belongs to uid 65534");
}

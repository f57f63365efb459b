/* Region files: canonical layout (W-173, W-174), creation (W-17, W-18, W-23, W-166, D-49),
 * validated mapping round trips (W-94, W-178), superblock checks and liveness (W-19, W-95). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm/region.h"
#include "tp_test.h"
#include "util/clock.h"
#include "util/error.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static const char *fresh_base(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", tp_test_tmpdir(), name);
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        perror(buf);
    return buf;
}

static tp_superblock_t ring_sb(uint64_t epoch, uint32_t stream, uint32_t nslots)
{
    tp_superblock_t s;
    memset(&s, 0, sizeof s);
    s.region_type = TP_REGION_HEADER_RING;
    s.epoch = epoch;
    s.stream_id = stream;
    s.nslots = nslots;
    return s;
}

static tp_superblock_t pool_sb(uint64_t epoch, uint32_t stream, uint32_t nslots,
                               uint16_t pool_id, uint32_t stride)
{
    tp_superblock_t s = ring_sb(epoch, stream, nslots);
    s.region_type = TP_REGION_PAYLOAD_POOL;
    s.pool_id = pool_id;
    s.stride_bytes = stride;
    return s;
}

static tp_region_expect_t expect_of(const tp_superblock_t *s, uint32_t stride)
{
    tp_region_expect_t e;
    memset(&e, 0, sizeof e);
    e.region_type = s->region_type;
    e.layout_version = TP_LAYOUT_VERSION;
    e.epoch = s->epoch;
    e.stream_id = s->stream_id;
    e.pool_id = s->pool_id;
    e.nslots = s->nslots;
    e.stride_bytes = stride;
    return e;
}

static int map_path(tp_region_t *r, const char *path, const char *allowed_dir,
                    const tp_region_expect_t *e, bool writable)
{
    char uri[TP_REGION_PATH_MAX + 64];
    tp_allowed_dirs_t a;
    int n = tp_region_uri_format(uri, sizeof uri, path, false);
    if (n < 0)
        return -1;
    tp_allowed_dirs_init(&a);
    if (tp_allowed_dirs_add(&a, allowed_dir) != 0)
        return -1;
    return tp_region_map(r, uri, (size_t)n, &a, e, writable);
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0xFFFFu;
    return (unsigned)(st.st_mode & 07777);
}

static void set_user(const char *user, const char *username)
{
    if (user) setenv("USER", user, 1); else unsetenv("USER");
    if (username) setenv("USERNAME", username, 1); else unsetenv("USERNAME");
}

/* ---- W-173 / W-174 layout ---------------------------------------------------------------- */

TP_TEST(test_wire_w174_user_dir_name_sources)
{
    char out[300];
    set_user("alice", "bob");
    TP_CHECK_EQ_I(tp_shm_user_dir_name(out, sizeof out), 16);
    TP_CHECK_STR(out, "tensorpool-alice");
    set_user(NULL, "bob");
    TP_CHECK(tp_shm_user_dir_name(out, sizeof out) > 0);
    TP_CHECK_STR(out, "tensorpool-bob");
    set_user("", "carol"); /* empty counts as unset */
    TP_CHECK(tp_shm_user_dir_name(out, sizeof out) > 0);
    TP_CHECK_STR(out, "tensorpool-carol");
    set_user(NULL, NULL);
    TP_CHECK(tp_shm_user_dir_name(out, sizeof out) > 0);
    TP_CHECK_STR(out, "tensorpool-unknown");
}

TP_TEST(test_wire_w174_user_dir_name_sanitised)
{
    static const struct { const char *user, *want; } cases[] = {
        {"../x", "tensorpool-.._x"},
        {"a/b c", "tensorpool-a_b_c"},
        {"/etc", "tensorpool-_etc"},
        {"d\xc3\xa9j\xc3\xa0", "tensorpool-d__j__"},
        {"x\ny", "tensorpool-x_y"},
        {"Ok.name-9_", "tensorpool-Ok.name-9_"},
        {"...", "tensorpool-..."},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[300];
        set_user(cases[i].user, NULL);
        TP_CHECK(tp_shm_user_dir_name(out, sizeof out) > 0);
        TP_CHECK_STR(out, cases[i].want);
        TP_CHECK(strchr(out, '/') == NULL);
    }
    set_user("alice", NULL);
}

TP_TEST(test_wire_w174_user_dot_and_dotdot_refused)
{
    char out[300];
    set_user(".", NULL);
    tp_err_clear();
    TP_CHECK_EQ_I(tp_shm_user_dir_name(out, sizeof out), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EPATH);
    set_user("..", NULL);
    TP_CHECK_EQ_I(tp_shm_user_dir_name(out, sizeof out), -1);
    TP_CHECK(strstr(tp_errmsg(), "'..' refused") != NULL);
    TP_CHECK_EQ_I(tp_shm_epoch_dir(out, sizeof out, "/dev/shm", "default", 1, 1), -1);
    set_user("alice", NULL);
    TP_CHECK_EQ_I(tp_shm_user_dir_name(out, 16), -1); /* needs 17 */
    TP_CHECK_EQ_I(tp_errcode(), TP_ETOOBIG);
}

TP_TEST(test_wire_w173_canonical_paths)
{
    char dir[512], p[600];
    set_user("alice", NULL);
    TP_CHECK(tp_shm_epoch_dir(dir, sizeof dir, "/dev/shm", "default", 10000, 3) > 0);
    TP_CHECK_STR(dir, "/dev/shm/tensorpool-alice/default/10000/3");
    TP_CHECK(tp_shm_header_path(p, sizeof p, dir) > 0);
    TP_CHECK_STR(p, "/dev/shm/tensorpool-alice/default/10000/3/header.ring");
    TP_CHECK(tp_shm_pool_path(p, sizeof p, dir, 1) > 0);
    TP_CHECK_STR(p, "/dev/shm/tensorpool-alice/default/10000/3/1.pool"); /* W-174 decimal */
    TP_CHECK(tp_shm_epoch_dir(dir, sizeof dir, "/dev/shm//", "lab1", 4294967295u,
                              18446744073709551615ull) > 0);
    TP_CHECK_STR(dir, "/dev/shm/tensorpool-alice/lab1/4294967295/18446744073709551615");
    TP_CHECK(tp_shm_epoch_dir(dir, sizeof dir, "/", "sim", 0, 0) > 0);
    TP_CHECK_STR(dir, "/tensorpool-alice/sim/0/0");
    TP_CHECK(tp_shm_pool_path(p, sizeof p, dir, 65535) > 0);
    TP_CHECK_STR(p, "/tensorpool-alice/sim/0/0/65535.pool");
}

TP_TEST(test_wire_w173_layout_refuses_bad_inputs)
{
    char dir[512];
    static const char *bad_ns[] = {"", ".", "..", "a/b", "a b", "../../etc"};
    size_t i;
    set_user("alice", NULL);
    for (i = 0; i < sizeof bad_ns / sizeof bad_ns[0]; i++) {
        tp_err_clear();
        TP_CHECK_EQ_I(tp_shm_epoch_dir(dir, sizeof dir, "/dev/shm", bad_ns[i], 1, 1), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EPATH);
    }
    TP_CHECK_EQ_I(tp_shm_epoch_dir(dir, sizeof dir, "dev/shm", "default", 1, 1), -1);
    TP_CHECK(strstr(tp_errmsg(), "absolute") != NULL);
    TP_CHECK_EQ_I(tp_shm_epoch_dir(dir, sizeof dir, "/dev/s m", "default", 1, 1), -1);
    TP_CHECK_EQ_I(tp_shm_epoch_dir(dir, 20, "/dev/shm", "default", 1, 1), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ETOOBIG);
}

/* ---- create + map round trips ------------------------------------------------------------ */

TP_TEST(test_wire_w023_ring_create_map_round_trip)
{
    char dir[1024], path[1100], tmp[1100];
    const char *base = fresh_base("ring");
    tp_superblock_t in = ring_sb(3, 10000, 8);
    tp_region_t drv, cons;
    tp_superblock_t *sb;
    tp_region_expect_t e = expect_of(&in, 0);
    uint64_t before = tp_clock_monotonic_ns();
    struct stat st;

    set_user("alice", NULL);
    TP_ASSERT(tp_shm_epoch_dir(dir, sizeof dir, base, "default", 10000, 3) > 0);
    TP_ASSERT(tp_shm_header_path(path, sizeof path, dir) > 0);
    if (tp_region_create(&drv, path, &in, NULL) != 0) {
        tp_test_fail(__FILE__, __LINE__, "create: %s", tp_errmsg());
        return;
    }
    /* LAYOUT §4.5: 64 + 8 * 256, truncated to exactly that (W-12). */
    TP_CHECK_EQ_U(drv.size, 2112);
    TP_CHECK(drv.writable);
    TP_ASSERT(stat(path, &st) == 0);
    TP_CHECK_EQ_U(st.st_size, 2112);
    TP_CHECK_EQ_U(drv.ino, st.st_ino);
    /* W-166 modes from the defaults, each created directory included. */
    TP_CHECK_EQ_U(mode_of(path), 0660);
    TP_CHECK_EQ_U(mode_of(dir), 0770);
    snprintf(tmp, sizeof tmp, "%s/tensorpool-alice/default/10000", base);
    TP_CHECK_EQ_U(mode_of(tmp), 0770);
    snprintf(tmp, sizeof tmp, "%s/tensorpool-alice/default", base);
    TP_CHECK_EQ_U(mode_of(tmp), 0770);
    snprintf(tmp, sizeof tmp, "%s/tensorpool-alice", base);
    TP_CHECK_EQ_U(mode_of(tmp), 0770);
    TP_CHECK_EQ_U(mode_of(base), 0700); /* pre-existing: left alone */

    /* W-23 values written by the creator. */
    sb = tp_region_superblock(&drv);
    TP_CHECK_MEM(drv.base, "\x31\x4d\x48\x53\x4c\x50\x4f\x54", 8); /* W-16 */
    TP_CHECK_EQ_U(sb->layout_version, 1);
    TP_CHECK_EQ_U(sb->epoch, 3);
    TP_CHECK_EQ_U(sb->stream_id, 10000);
    TP_CHECK_EQ_I(sb->region_type, TP_REGION_HEADER_RING);
    TP_CHECK_EQ_U(sb->pool_id, 0);
    TP_CHECK_EQ_U(sb->nslots, 8);
    TP_CHECK_EQ_U(sb->slot_bytes, 256);
    TP_CHECK_EQ_U(sb->stride_bytes, 0);
    TP_CHECK_EQ_U(sb->pid, (uint64_t)getpid());
    TP_CHECK(sb->start_timestamp_ns >= before);
    TP_CHECK_EQ_U(sb->activity_timestamp_ns, sb->start_timestamp_ns);
    TP_CHECK(drv.base[64] == 0 && drv.base[2111] == 0);

    /* A consumer maps it through the URI with containment and validation. */
    if (map_path(&cons, path, base, &e, false) != 0) {
        tp_test_fail(__FILE__, __LINE__, "map: %s", tp_errmsg());
    } else {
        TP_CHECK_EQ_U(cons.size, 2112);
        TP_CHECK(!cons.writable);
        TP_CHECK(!cons.hugetlbfs);
        TP_CHECK_EQ_U(cons.ino, st.st_ino);
        TP_CHECK_EQ_U(cons.dev, st.st_dev);
        TP_CHECK_MEM(cons.base, drv.base, 64);
        drv.base[100] = 0x5A; /* MAP_SHARED: the consumer sees the producer's bytes */
        TP_CHECK_EQ_U(cons.base[100], 0x5A);
        tp_region_unmap(&cons);
        TP_CHECK(cons.base == NULL && cons.size == 0);
    }
    tp_region_unmap(&drv);
    tp_region_unmap(&drv); /* idempotent */
    TP_CHECK(drv.base == NULL);
}

TP_TEST(test_wire_w023_pool_create_map_round_trip)
{
    char dir[1024], path[1100];
    const char *base = fresh_base("pool");
    tp_superblock_t in = pool_sb(7, 42, 16, 3, 1024);
    tp_region_t drv, prod;
    tp_superblock_t *sb;
    tp_region_expect_t e = expect_of(&in, 1024);

    set_user("bob", NULL);
    TP_ASSERT(tp_shm_epoch_dir(dir, sizeof dir, base, "lab1", 42, 7) > 0);
    TP_ASSERT(tp_shm_pool_path(path, sizeof path, dir, 3) > 0);
    if (tp_region_create(&drv, path, &in, NULL) != 0) {
        tp_test_fail(__FILE__, __LINE__, "create: %s", tp_errmsg());
        return;
    }
    TP_CHECK_EQ_U(drv.size, 64 + 16 * 1024);
    sb = tp_region_superblock(&drv);
    TP_CHECK_EQ_I(sb->region_type, TP_REGION_PAYLOAD_POOL);
    TP_CHECK_EQ_U(sb->pool_id, 3);
    TP_CHECK_EQ_U(sb->nslots, 16);
    TP_CHECK_EQ_U(sb->slot_bytes, 1024);
    TP_CHECK_EQ_U(sb->stride_bytes, 1024);
    /* A producer maps read-write and its writes reach the driver's mapping. */
    if (map_path(&prod, path, base, &e, true) != 0) {
        tp_test_fail(__FILE__, __LINE__, "map: %s", tp_errmsg());
    } else {
        TP_CHECK(prod.writable);
        prod.base[64 + 1024] = 0xC3;
        TP_CHECK_EQ_U(drv.base[64 + 1024], 0xC3);
        tp_region_unmap(&prod);
    }
    tp_region_unmap(&drv);
}

TP_TEST(test_wire_w014_consumer_mapping_is_read_only)
{
    char path[1100];
    const char *base = fresh_base("ro");
    tp_superblock_t in = ring_sb(1, 1, 4);
    tp_region_expect_t e = expect_of(&in, 0);
    tp_region_t drv, cons;
    pid_t pid;
    int status;

    snprintf(path, sizeof path, "%s/header.ring", base);
    TP_ASSERT(tp_region_create(&drv, path, &in, NULL) == 0);
    TP_ASSERT(map_path(&cons, path, base, &e, false) == 0);
    pid = fork();
    TP_ASSERT(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        ((volatile uint8_t *)cons.base)[70] = 1; /* must fault: PROT_READ */
        _exit(0);
    }
    TP_ASSERT(waitpid(pid, &status, 0) == pid);
    TP_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    TP_CHECK_EQ_U(drv.base[70], 0);
    tp_region_unmap(&cons);
    tp_region_unmap(&drv);
}

TP_TEST(test_wire_w166_configured_modes_ignore_umask)
{
    char path[1100], d[1100];
    const char *base = fresh_base("modes");
    tp_superblock_t in = ring_sb(1, 1, 4);
    tp_region_create_opts_t o;
    tp_region_t r;
    mode_t old = umask(077);

    tp_region_create_opts_init(&o);
    TP_CHECK_EQ_U(o.dir_mode, 0770);
    TP_CHECK_EQ_U(o.file_mode, 0660);
    TP_CHECK(!o.prefault && !o.mlock && !o.require_hugepages);
    o.dir_mode = 02770; /* shared-group layout (W-167) */
    o.file_mode = 0640;
    snprintf(d, sizeof d, "%s/a/b", base);
    snprintf(path, sizeof path, "%s/a/b/header.ring", base);
    if (tp_region_create(&r, path, &in, &o) != 0)
        tp_test_fail(__FILE__, __LINE__, "create: %s", tp_errmsg());
    umask(old);
    TP_CHECK_EQ_U(mode_of(path), 0640);
    TP_CHECK_EQ_U(mode_of(d), 02770);
    tp_region_unmap(&r);
}

TP_TEST(test_wire_w018_recreate_zeroes_existing_file)
{
    char path[1100];
    const char *base = fresh_base("recreate");
    tp_superblock_t in = ring_sb(1, 1, 4);
    tp_region_t r;
    struct stat st;
    int fd;
    static const char junk[8192] = {1};

    snprintf(path, sizeof path, "%s/header.ring", base);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    TP_ASSERT(fd >= 0);
    TP_ASSERT(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
    close(fd);
    TP_ASSERT(tp_region_create(&r, path, &in, NULL) == 0);
    TP_ASSERT(stat(path, &st) == 0);
    TP_CHECK_EQ_U(st.st_size, 64 + 4 * 256);
    TP_CHECK_EQ_U(r.base[0], 0x31);
    TP_CHECK_EQ_U(r.base[64], 0);
    tp_region_unmap(&r);
}

TP_TEST(test_driver_d49_prefault_and_mlock)
{
    char path[1100];
    const char *base = fresh_base("prefault");
    tp_superblock_t in = pool_sb(1, 1, 8, 1, 4096);
    tp_region_create_opts_t o;
    tp_region_t r;
    struct stat st;

    tp_region_create_opts_init(&o);
    o.prefault = true;
    o.mlock = true;
    snprintf(path, sizeof path, "%s/1.pool", base);
    if (tp_region_create(&r, path, &in, &o) != 0) {
        if (tp_errcode() == TP_EIO && strstr(tp_errmsg(), "mlock") != NULL)
            TP_SKIP("mlock not permitted here");
        tp_test_fail(__FILE__, __LINE__, "create: %s", tp_errmsg());
        return;
    }
    TP_ASSERT(stat(path, &st) == 0);
    TP_CHECK(st.st_blocks * 512 >= 64 + 8 * 4096); /* fallocate reserved the pages */
    tp_region_unmap(&r);
}

TP_TEST(test_driver_d49_mlock_failure_is_an_error)
{
    char path[1100];
    const char *base = fresh_base("mlockfail");
    pid_t pid;
    int status;

    snprintf(path, sizeof path, "%s/1.pool", base);
    if (geteuid() == 0) {
        /* root ignores RLIMIT_MEMLOCK: the child drops to nobody, who needs a way in. */
        TP_ASSERT(chmod(tp_test_tmpdir(), 0711) == 0 && chmod(base, 0777) == 0);
    }
    pid = fork();
    TP_ASSERT(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {0, 0};
        tp_superblock_t in = pool_sb(1, 1, 64, 1, 65536);
        tp_region_create_opts_t o;
        tp_region_t r;
        if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0)
            _exit(4);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(5);
        tp_region_create_opts_init(&o);
        o.mlock = true;
        if (tp_region_create(&r, path, &in, &o) == 0)
            _exit(1);
        if (tp_errcode() != TP_EIO || strstr(tp_errmsg(), "mlock") == NULL)
            _exit(2);
        _exit(access(path, F_OK) == 0 ? 3 : 0); /* the half-made file is gone */
    }
    TP_ASSERT(waitpid(pid, &status, 0) == pid);
    TP_CHECK(WIFEXITED(status));
    TP_CHECK_EQ_I(WEXITSTATUS(status), 0);
}

TP_TEST(test_wire_w171_create_require_hugepages_on_tmpfs_fails)
{
    char dir[256], path[300];
    tp_superblock_t in = ring_sb(1, 1, 4);
    tp_region_create_opts_t o;
    tp_region_t r;

    snprintf(dir, sizeof dir, "/dev/shm/tp-test-region-%d", (int)getpid());
    if (mkdir(dir, 0700) != 0)
        TP_SKIP("/dev/shm not writable");
    snprintf(path, sizeof path, "%s/header.ring", dir);
    tp_region_create_opts_init(&o);
    o.require_hugepages = true;
    tp_err_clear();
    TP_CHECK_EQ_I(tp_region_create(&r, path, &in, &o), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EHUGEPAGES);
    TP_CHECK(strstr(tp_errmsg(), "not hugetlbfs") != NULL);
    TP_CHECK(r.base == NULL);
    TP_CHECK(access(path, F_OK) != 0);
    tp_test_rmtree(dir);
}

TP_TEST(test_wire_w171_hugetlbfs_round_trip)
{
    /* Only where a hugetlbfs mount with free pages exists; proves the positive path. */
    char dir[256], path[300], uri[400];
    tp_superblock_t in = ring_sb(1, 1, 8);
    tp_region_expect_t e = expect_of(&in, 0);
    tp_region_create_opts_t o;
    tp_allowed_dirs_t a;
    tp_region_t r, c;

    snprintf(dir, sizeof dir, "/dev/hugepages/tp-test-region-%d", (int)getpid());
    if (mkdir(dir, 0700) != 0)
        TP_SKIP("no writable /dev/hugepages");
    snprintf(path, sizeof path, "%s/header.ring", dir);
    tp_region_create_opts_init(&o);
    o.require_hugepages = true;
    if (tp_region_create(&r, path, &in, &o) != 0) {
        tp_test_rmtree(dir);
        TP_SKIP("no free huge pages");
    }
    TP_CHECK(r.map_size >= r.size);
    TP_CHECK(r.hugetlbfs);
    tp_allowed_dirs_init(&a);
    TP_ASSERT(tp_allowed_dirs_add(&a, dir) == 0);
    snprintf(uri, sizeof uri, "shm:file?path=%s|require_hugepages=true", path);
    TP_CHECK(tp_region_map(&c, uri, strlen(uri), &a, &e, false) == 0);
    tp_region_unmap(&c);
    tp_region_unmap(&r);
    tp_test_rmtree(dir);
}

/* ---- create refuses bad requests --------------------------------------------------------- */

TP_TEST(test_wire_w023_create_refuses_inconsistent_superblock)
{
    char path[1100];
    const char *base = fresh_base("badsb");
    tp_region_t r;
    struct { const char *name; tp_superblock_t sb; const char *reason; } cases[8];
    size_t n = 0, i;

    cases[n].name = "nslots 3";
    cases[n].sb = ring_sb(1, 1, 3);
    cases[n++].reason = "not a power of two";
    cases[n].name = "ring with stride";
    cases[n].sb = ring_sb(1, 1, 4);
    cases[n].sb.stride_bytes = 64;
    cases[n++].reason = "stride_bytes";
    cases[n].name = "ring with pool id";
    cases[n].sb = ring_sb(1, 1, 4);
    cases[n].sb.pool_id = 2;
    cases[n++].reason = "pool_id";
    cases[n].name = "pool stride 96";
    cases[n].sb = pool_sb(1, 1, 4, 1, 96);
    cases[n++].reason = "stride_bytes 96";
    cases[n].name = "pool stride 32";
    cases[n].sb = pool_sb(1, 1, 4, 1, 32);
    cases[n++].reason = "stride_bytes 32";
    cases[n].name = "pool slot != stride";
    cases[n].sb = pool_sb(1, 1, 4, 1, 128);
    cases[n].sb.slot_bytes = 64;
    cases[n++].reason = "slot_bytes";
    cases[n].name = "region type 7";
    cases[n].sb = ring_sb(1, 1, 4);
    cases[n].sb.region_type = 7;
    cases[n++].reason = "region_type 7";
    cases[n].name = "wrong magic";
    cases[n].sb = ring_sb(1, 1, 4);
    cases[n].sb.magic = 1;
    cases[n++].reason = "magic";
    snprintf(path, sizeof path, "%s/header.ring", base);
    for (i = 0; i < n; i++) {
        tp_err_clear();
        if (tp_region_create(&r, path, &cases[i].sb, NULL) == 0) {
            tp_test_fail(__FILE__, __LINE__, "%s: accepted", cases[i].name);
            tp_region_unmap(&r);
            continue;
        }
        if (strstr(tp_errmsg(), cases[i].reason) == NULL)
            tp_test_fail(__FILE__, __LINE__, "%s: '%s'", cases[i].name, tp_errmsg());
        TP_CHECK(access(path, F_OK) != 0);
    }
}

TP_TEST(test_wire_w168_create_refuses_bad_paths)
{
    static const char *bad[] = {"rel/header.ring", "/tmp/a b/header.ring", "/tmp/a|b/x",
                                "/tmp/x/", "/tmp/x/..", "/tmp/../tmp/x"};
    tp_superblock_t in = ring_sb(1, 1, 4);
    tp_region_t r;
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tp_err_clear();
        if (tp_region_create(&r, bad[i], &in, NULL) == 0) {
            tp_test_fail(__FILE__, __LINE__, "'%s' accepted", bad[i]);
            tp_region_unmap(&r);
        }
        TP_CHECK(tp_errcode() == TP_EURI || tp_errcode() == TP_EPATH);
    }
}

TP_TEST(test_wire_w173_create_fails_when_component_is_a_file)
{
    char f[1100], path[1200];
    const char *base = fresh_base("notdir");
    tp_superblock_t in = ring_sb(1, 1, 4);
    tp_region_t r;
    int fd;
    snprintf(f, sizeof f, "%s/ns", base);
    fd = open(f, O_CREAT | O_WRONLY, 0600);
    TP_ASSERT(fd >= 0);
    close(fd);
    snprintf(path, sizeof path, "%s/ns/1/2/header.ring", base);
    tp_err_clear();
    TP_CHECK_EQ_I(tp_region_create(&r, path, &in, NULL), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EPATH);
    TP_CHECK(strstr(tp_errmsg(), "component 'ns' is a regular file, not a directory") != NULL);
}

/* ---- W-178 step 3, W-179: allowed dirs ------------------------------------------------- */

TP_TEST(test_wire_w179_allowed_dirs_are_canonicalised_once)
{
    char real[1100], link[1100], path[1200], via_link[1200], f[1200];
    const char *base = fresh_base("allowed");
    tp_superblock_t in = ring_sb(2, 3, 4);
    tp_region_expect_t e = expect_of(&in, 0);
    tp_allowed_dirs_t a;
    tp_region_t drv, c;
    char uri[1300];
    int i, fd;

    snprintf(real, sizeof real, "%s/real", base);
    snprintf(link, sizeof link, "%s/link", base);
    TP_ASSERT(mkdir(real, 0700) == 0 && symlink(real, link) == 0);
    snprintf(path, sizeof path, "%s/header.ring", real);
    TP_ASSERT(tp_region_create(&drv, path, &in, NULL) == 0);
    tp_allowed_dirs_init(&a);
    TP_ASSERT(tp_allowed_dirs_add(&a, link) == 0); /* stored as the canonical target */
    TP_ASSERT(realpath(real, f) != NULL);
    TP_CHECK_STR(a.canon[0], f);
    snprintf(via_link, sizeof via_link, "%s/./header.ring", link);
    snprintf(uri, sizeof uri, "shm:file?path=%s", via_link);
    TP_CHECK(tp_region_map(&c, uri, strlen(uri), &a, &e, false) == 0);
    tp_region_unmap(&c);
    tp_region_unmap(&drv);

    tp_err_clear();
    TP_CHECK_EQ_I(tp_allowed_dirs_add(&a, "relative/dir"), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EPATH);
    TP_CHECK_EQ_I(tp_allowed_dirs_add(&a, "/nonexistent-tp-dir/x"), -1);
    TP_CHECK(strstr(tp_errmsg(), "realpath") != NULL);
    snprintf(f, sizeof f, "%s/plain", base);
    fd = open(f, O_CREAT | O_WRONLY, 0600);
    TP_ASSERT(fd >= 0);
    close(fd);
    TP_CHECK_EQ_I(tp_allowed_dirs_add(&a, f), -1);
    TP_CHECK(strstr(tp_errmsg(), "not a directory") != NULL);
    TP_CHECK_EQ_U(a.count, 1);
    for (i = 1; i < (int)TP_ALLOWED_DIRS_MAX; i++)
        TP_CHECK(tp_allowed_dirs_add(&a, base) == 0);
    TP_CHECK_EQ_I(tp_allowed_dirs_add(&a, base), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ETOOBIG);
}

/* ---- superblock checks and liveness --------------------------------------------------------- */

static tp_superblock_t valid_pool_sb(void)
{
    tp_superblock_t s = pool_sb(5, 77, 8, 2, 256);
    s.magic = TP_SUPERBLOCK_MAGIC;
    s.layout_version = 1;
    s.slot_bytes = 256;
    return s;
}

TP_TEST(test_wire_w094_superblock_validate_names_field)
{
    tp_superblock_t good = valid_pool_sb();
    tp_region_expect_t e = expect_of(&good, 256);
    struct { const char *want; int field; } cases[] = {
        {"superblock magic 0x0000000000000001 != expected 0x544f504c53484d31 "
         "(not a tensorpool region)", 0},
        {"superblock layout_version 2 != expected 1", 1},
        {"superblock epoch 6 != expected 5", 2},
        {"superblock stream_id 78 != expected 77", 3},
        {"superblock region_type 1 != expected 2", 4},
        {"superblock pool_id 3 != expected 2", 5},
        {"superblock nslots 16 != expected 8", 6},
        {"superblock nslots 12 is not a power of two", 7},
        {"superblock slot_bytes 512 != expected 256", 8},
        {"superblock stride_bytes 0 != expected 256", 9},
    };
    size_t i;
    TP_CHECK_EQ_I(tp_superblock_validate(&good, &e), 0);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tp_superblock_t s = good;
        switch (cases[i].field) {
        case 0: s.magic = 1; break;
        case 1: s.layout_version = 2; break;
        case 2: s.epoch = 6; break;
        case 3: s.stream_id = 78; break;
        case 4: s.region_type = 1; break;
        case 5: s.pool_id = 3; break;
        case 6: s.nslots = 16; break;
        case 7: s.nslots = 12; break;
        case 8: s.slot_bytes = 512; break;
        case 9: s.stride_bytes = 0; break;
        }
        tp_err_clear();
        TP_CHECK_EQ_I(tp_superblock_validate(&s, &e), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EREGION);
        TP_CHECK_STR(tp_errmsg(), cases[i].want);
    }
}

TP_TEST(test_wire_w094_ring_superblock_expects_256_and_zero_stride)
{
    tp_superblock_t s = ring_sb(1, 2, 4);
    tp_region_expect_t e = expect_of(&s, 12345); /* ignored for rings */
    s.magic = TP_SUPERBLOCK_MAGIC;
    s.layout_version = 1;
    s.slot_bytes = 256;
    TP_CHECK_EQ_I(tp_superblock_validate(&s, &e), 0);
    s.stride_bytes = 256;
    TP_CHECK_EQ_I(tp_superblock_validate(&s, &e), -1);
    TP_CHECK(strstr(tp_errmsg(), "stride_bytes 256 != expected 0") != NULL);
    s.stride_bytes = 0;
    s.slot_bytes = 128;
    TP_CHECK_EQ_I(tp_superblock_validate(&s, &e), -1);
    TP_CHECK(strstr(tp_errmsg(), "slot_bytes 128 != expected 256") != NULL);
}

TP_TEST(test_wire_w094_validate_refuses_unknown_region_type)
{
    /* Even when superblock and expectation agree on a type that does not exist. */
    tp_superblock_t s = ring_sb(1, 2, 4);
    tp_region_expect_t e;
    s.magic = TP_SUPERBLOCK_MAGIC;
    s.layout_version = 1;
    s.slot_bytes = 256;
    s.region_type = 7;
    e = expect_of(&s, 0);
    tp_err_clear();
    TP_CHECK_EQ_I(tp_superblock_validate(&s, &e), -1);
    TP_CHECK(strstr(tp_errmsg(), "region_type 7 is neither") != NULL);
}

TP_TEST(test_wire_w095_freshness_and_touch)
{
    _Alignas(64) tp_superblock_t s = valid_pool_sb(); /* mapped superblocks are aligned */
    s.activity_timestamp_ns = 0;
    TP_CHECK_EQ_I(tp_superblock_is_fresh(&s, 100, 1000), 0); /* never touched: stale */
    tp_superblock_touch(&s, 1000);
    TP_CHECK_EQ_U(s.activity_timestamp_ns, 1000);
    TP_CHECK_EQ_I(tp_superblock_is_fresh(&s, 1500, 1000), 1);
    TP_CHECK_EQ_I(tp_superblock_is_fresh(&s, 2000, 1000), 1); /* now <= ts + window */
    TP_CHECK_EQ_I(tp_superblock_is_fresh(&s, 2001, 1000), 0);
    TP_CHECK_EQ_I(tp_superblock_is_fresh(&s, 10, 1000), 1); /* timestamp ahead of us */
    tp_superblock_touch(&s, UINT64_MAX - 5);
    TP_CHECK_EQ_I(tp_superblock_is_fresh(&s, UINT64_MAX, 100), 1); /* no overflow */
}

/* Counters files (src/shm/counters.h, issue 6): the byte layout, the id tables, creation,
 * read-only views, the reader's validation (short file, bad magic, wrong version, ...), stale
 * files of dead owners and the sweep. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm/counters.h"
#include "tp_test.h"
#include "util/error.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static const char *fresh_dir(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", tp_test_tmpdir(), name);
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        perror(buf);
    return buf;
}

/* A well-formed version-1 image of `count` values in buf (8-aligned, >= 128 + 8 * count). */
static size_t image(uint8_t *buf, uint32_t role, uint32_t count, uint64_t pid)
{
    tp_counters_header_t h;
    memset(&h, 0, sizeof h);
    h.magic = TP_COUNTERS_MAGIC;
    h.layout_version = TP_COUNTERS_LAYOUT_VERSION;
    h.header_bytes = TP_COUNTERS_HEADER_BYTES;
    h.role = role;
    h.count = count;
    h.pid = pid;
    h.id = 7;
    h.stream_id = 42;
    memcpy(h.name, "drv-A", 5);
    memcpy(buf, &h, sizeof h);
    memset(buf + sizeof h, 0, 8u * count);
    return sizeof h + 8u * count;
}

static void write_file(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    TP_CHECK(fd >= 0);
    if (fd >= 0) {
        TP_CHECK(write(fd, buf, len) == (ssize_t)len);
        close(fd);
    }
}

static _Alignas(8) uint8_t img[TP_COUNTERS_FILE_MAX + 64];

/* ---- layout and tables -------------------------------------------------------------------- */

TP_TEST(test_counters_layout_magic_bytes_and_sizes)
{
    uint64_t m = TP_COUNTERS_MAGIC;
    TP_CHECK_MEM(&m, "TPCOUNTS", 8); /* little-endian host (util/endian.h) */
    TP_CHECK_EQ_U(sizeof(tp_counters_header_t), 128);
    TP_CHECK_EQ_U(tp_counters_role_count(TP_COUNTERS_ROLE_DRIVER), TP_CTR_DRV_COUNT);
    TP_CHECK_EQ_U(tp_counters_role_count(TP_COUNTERS_ROLE_PRODUCER), TP_CTR_PROD_COUNT);
    TP_CHECK_EQ_U(tp_counters_role_count(TP_COUNTERS_ROLE_CONSUMER), 64);
    TP_CHECK_EQ_U(tp_counters_role_count(0), 0);
    TP_CHECK_EQ_U(TP_CTR_DRV_ATTACH_OK, 0);
    TP_CHECK_EQ_U(TP_CTR_DRV_ATTACH_INTERNAL_ERROR, 4);
    TP_CHECK_EQ_U(TP_CTR_DRV_LEASES_ACTIVE, 19);
    TP_CHECK_EQ_U(TP_CTR_PROD_FRAMES, 0);
    TP_CHECK_EQ_U(TP_CTR_CONS_MODE, 16);
}

TP_TEST(test_counters_every_id_has_a_key_and_description)
{
    char buf[TP_COUNTERS_KEY_MAX], want[TP_COUNTERS_KEY_MAX];
    uint32_t roles[3] = {TP_COUNTERS_ROLE_DRIVER, TP_COUNTERS_ROLE_PRODUCER,
                         TP_COUNTERS_ROLE_CONSUMER};
    for (int r = 0; r < 3; r++) {
        uint32_t fixed = roles[r] == TP_COUNTERS_ROLE_CONSUMER ? TP_CTR_CONS_FIXED_COUNT
                                                               : tp_counters_role_count(roles[r]);
        for (uint32_t id = 0; id < fixed; id++) {
            const char *k = tp_counters_key(roles[r], id, buf);
            TP_CHECK(k != NULL && k[0] != '\0');
            TP_CHECK(tp_counters_desc(roles[r], id) != NULL);
            /* keys are unique within a role */
            for (uint32_t j = 0; j < id && k != NULL; j++) {
                char b2[TP_COUNTERS_KEY_MAX];
                const char *k2 = tp_counters_key(roles[r], j, b2);
                TP_CHECK(k2 == NULL || strcmp(k, k2) != 0);
            }
        }
    }
    /* consumer drop ids follow the drop reason table (src/shm/drop.h) */
    TP_CHECK(tp_counters_key(TP_COUNTERS_ROLE_CONSUMER, TP_CTR_CONS_DROP_BASE, buf) == NULL);
    for (int reason = 1; reason < TP_DROP_COUNT; reason++) {
        snprintf(want, sizeof want, "drops_%s", tp_drop_reason_key(reason));
        const char *k = tp_counters_key(TP_COUNTERS_ROLE_CONSUMER,
                                        TP_CTR_CONS_DROP_BASE + (uint32_t)reason, buf);
        TP_ASSERT(k != NULL);
        TP_CHECK_STR(k, want);
        TP_CHECK(tp_counters_desc(TP_COUNTERS_ROLE_CONSUMER,
                                  TP_CTR_CONS_DROP_BASE + (uint32_t)reason) != NULL);
    }
    TP_CHECK(tp_counters_key(TP_COUNTERS_ROLE_CONSUMER,
                             TP_CTR_CONS_DROP_BASE + (uint32_t)TP_DROP_COUNT, buf) == NULL);
    TP_CHECK(tp_counters_key(TP_COUNTERS_ROLE_DRIVER, TP_CTR_DRV_COUNT, buf) == NULL);
    TP_CHECK(tp_counters_key(9, 0, buf) == NULL);
    TP_CHECK(tp_counters_is_gauge(TP_COUNTERS_ROLE_DRIVER, TP_CTR_DRV_LEASES_ACTIVE));
    TP_CHECK(!tp_counters_is_gauge(TP_COUNTERS_ROLE_DRIVER, TP_CTR_DRV_KEEPALIVES));
    TP_CHECK_STR(tp_counters_key(TP_COUNTERS_ROLE_DRIVER, TP_CTR_DRV_ATTACH_OK, buf), "attach_ok");
}

TP_TEST(test_counters_file_names)
{
    char n[128];
    tp_counters_ident_t d = {TP_COUNTERS_ROLE_DRIVER, 0, 0, "lab/1 driver"};
    tp_counters_ident_t p = {TP_COUNTERS_ROLE_PRODUCER, 12345, 42, NULL};
    tp_counters_ident_t c = {TP_COUNTERS_ROLE_CONSUMER, 7, 42, NULL};
    tp_counters_ident_t bad = {0, 7, 42, NULL};
    TP_CHECK(tp_counters_file_name(n, sizeof n, &d) > 0);
    TP_CHECK_STR(n, "driver-lab_1_driver.tpc"); /* sanitised: no path separator survives */
    TP_CHECK(tp_counters_file_name(n, sizeof n, &p) > 0);
    TP_CHECK_STR(n, "producer-12345.tpc");
    TP_CHECK(tp_counters_file_name(n, sizeof n, &c) > 0);
    TP_CHECK_STR(n, "consumer-7.tpc");
    TP_CHECK_EQ_I(tp_counters_file_name(n, sizeof n, &bad), -1);
    TP_CHECK_EQ_I(tp_counters_file_name(n, 8, &p), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ETOOBIG);
}

/* ---- the reader's validation -------------------------------------------------------------- */

TP_TEST(test_counters_parse_accepts_a_valid_image)
{
    tp_counters_info_t info;
    size_t n = image(img, TP_COUNTERS_ROLE_PRODUCER, 16, 99);
    TP_ASSERT(tp_counters_parse(img, n, &info) == 0);
    TP_CHECK_EQ_U(info.role, TP_COUNTERS_ROLE_PRODUCER);
    TP_CHECK_EQ_U(info.count, 16);
    TP_CHECK_EQ_U(info.pid, 99);
    TP_CHECK_EQ_U(info.id, 7);
    TP_CHECK_EQ_U(info.stream_id, 42);
    TP_CHECK_STR(info.name, "drv-A");
    /* a longer file (a newer header or extra values) is fine */
    TP_CHECK(tp_counters_parse(img, n + 64, &info) == 0);
}

TP_TEST(test_counters_parse_short_file_is_a_clear_error)
{
    tp_counters_info_t info;
    size_t n = image(img, TP_COUNTERS_ROLE_DRIVER, 22, 1);
    TP_CHECK_EQ_I(tp_counters_parse(img, 100, &info), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EMALFORMED);
    TP_CHECK(strstr(tp_errmsg(), "shorter than its 128-byte header") != NULL);
    TP_CHECK_EQ_I(tp_counters_parse(img, 0, &info), -1);
    /* header complete, values cut off */
    TP_CHECK_EQ_I(tp_counters_parse(img, n - 8, &info), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EMALFORMED);
    TP_CHECK(strstr(tp_errmsg(), "22 counters") != NULL);
}

TP_TEST(test_counters_parse_bad_magic_is_a_clear_error)
{
    tp_counters_info_t info;
    size_t n = image(img, TP_COUNTERS_ROLE_DRIVER, 4, 1);
    memcpy(img, "TPOLSHM1", 8);
    TP_CHECK_EQ_I(tp_counters_parse(img, n, &info), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EMALFORMED);
    TP_CHECK(strstr(tp_errmsg(), "not a tensorpool counters file") != NULL);
}

TP_TEST(test_counters_parse_magic_zero_means_initialising)
{
    tp_counters_info_t info;
    size_t n = image(img, TP_COUNTERS_ROLE_DRIVER, 4, 1);
    memset(img, 0, 8);
    TP_CHECK_EQ_I(tp_counters_parse(img, n, &info), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ESTATE);
    TP_CHECK(strstr(tp_errmsg(), "being initialised") != NULL);
}

TP_TEST(test_counters_parse_wrong_version_is_a_clear_error)
{
    tp_counters_info_t info;
    size_t n = image(img, TP_COUNTERS_ROLE_DRIVER, 4, 1);
    ((tp_counters_header_t *)(void *)img)->layout_version = 2;
    TP_CHECK_EQ_I(tp_counters_parse(img, n, &info), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EVERSION);
    TP_CHECK(strstr(tp_errmsg(), "layout version 2 unsupported") != NULL);
}

TP_TEST(test_counters_parse_rejects_bad_header_role_and_count)
{
    tp_counters_info_t info;
    tp_counters_header_t *h = (tp_counters_header_t *)(void *)img;
    size_t n;
    uint32_t bad_hb[] = {0, 64, 130, TP_COUNTERS_HEADER_MAX + 8};

    for (size_t i = 0; i < sizeof bad_hb / sizeof bad_hb[0]; i++) {
        n = image(img, TP_COUNTERS_ROLE_DRIVER, 4, 1);
        h->header_bytes = bad_hb[i];
        TP_CHECK_EQ_I(tp_counters_parse(img, sizeof img, &info), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EMALFORMED);
    }
    n = image(img, 4, 4, 1);
    TP_CHECK_EQ_I(tp_counters_parse(img, n, &info), -1);
    TP_CHECK(strstr(tp_errmsg(), "role 4 unknown") != NULL);
    n = image(img, TP_COUNTERS_ROLE_DRIVER, 4, 1);
    h->count = TP_COUNTERS_MAX + 1;
    TP_CHECK_EQ_I(tp_counters_parse(img, sizeof img, &info), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EMALFORMED);
    /* a larger header in a newer minor layout moves the values, and is accepted */
    n = image(img, TP_COUNTERS_ROLE_DRIVER, 4, 1);
    h->header_bytes = 256;
    TP_CHECK_EQ_I(tp_counters_parse(img, 256 + 32, &info), 0);
    TP_CHECK_EQ_I(tp_counters_parse(img, 256 + 24, &info), -1);
    (void)n;
}

TP_TEST(test_counters_parse_sanitises_the_name)
{
    tp_counters_info_t info;
    size_t n = image(img, TP_COUNTERS_ROLE_DRIVER, 1, 1);
    tp_counters_header_t *h = (tp_counters_header_t *)(void *)img;
    memset(h->name, 'x', sizeof h->name); /* no NUL at all */
    h->name[3] = '\n';
    TP_ASSERT(tp_counters_parse(img, n, &info) == 0);
    TP_CHECK_EQ_U(strlen(info.name), TP_COUNTERS_NAME_MAX);
    TP_CHECK_EQ_U(info.name[3], '?');
}

/* ---- files ----------------------------------------------------------------------------------- */

TP_TEST(test_counters_create_update_view_close_roundtrip)
{
    const char *dir = fresh_dir("rt");
    tp_counters_ident_t id = {TP_COUNTERS_ROLE_CONSUMER, 77, 42, NULL};
    tp_counters_t c;
    tp_counters_view_t v;
    char path[1200];
    struct stat st;

    TP_ASSERT(tp_counters_create(&c, dir, &id, 0640, NULL) == 0);
    snprintf(path, sizeof path, "%s/consumer-77.tpc", dir);
    TP_CHECK_STR(c.path, path);
    TP_ASSERT(stat(path, &st) == 0);
    TP_CHECK_EQ_U(st.st_mode & 07777, 0640);
    TP_CHECK_EQ_U(st.st_size, 128 + 8 * 64);
    tp_counters_set(&c, TP_CTR_CONS_FRAMES, 1000);
    tp_counters_add(&c, TP_CTR_CONS_FRAMES, 5);
    tp_counters_add(&c, TP_CTR_CONS_DROPS_GAP, 3);
    tp_counters_set(&c, TP_CTR_CONS_DROP_BASE + TP_DROP_STALE_SLOT, 9);
    tp_counters_set(&c, 4096, 1); /* beyond the count: ignored */
    tp_counters_touch(&c, 123456789);

    TP_ASSERT(tp_counters_view_open(&v, path, NULL) == 0);
    TP_CHECK_EQ_U(v.info.role, TP_COUNTERS_ROLE_CONSUMER);
    TP_CHECK_EQ_U(v.info.id, 77);
    TP_CHECK_EQ_U(v.info.stream_id, 42);
    TP_CHECK_EQ_U(v.info.pid, (uint64_t)getpid());
    TP_CHECK_EQ_U(v.info.count, 64);
    TP_CHECK(v.info.start_ns != 0);
    TP_CHECK_EQ_U(tp_counters_view_value(&v, TP_CTR_CONS_FRAMES), 1005);
    TP_CHECK_EQ_U(tp_counters_view_value(&v, TP_CTR_CONS_DROPS_GAP), 3);
    TP_CHECK_EQ_U(tp_counters_view_value(&v, TP_CTR_CONS_DROP_BASE + TP_DROP_STALE_SLOT), 9);
    TP_CHECK_EQ_U(tp_counters_view_value(&v, 64), 0);
    TP_CHECK_EQ_U(tp_counters_view_update_ns(&v), 123456789);
    /* the writer's later stores are visible through the live mapping */
    tp_counters_add(&c, TP_CTR_CONS_FRAMES, 1);
    TP_CHECK_EQ_U(tp_counters_view_value(&v, TP_CTR_CONS_FRAMES), 1006);
    TP_CHECK(tp_counters_pid_alive(v.info.pid));

    tp_counters_close(&c, true);
    TP_CHECK(c.base == NULL);
    TP_CHECK(stat(path, &st) != 0 && errno == ENOENT); /* removed on clean close */
    tp_counters_close(&c, true);                        /* idempotent */
    /* a reader that still maps it keeps a consistent file */
    TP_CHECK_EQ_U(tp_counters_view_value(&v, TP_CTR_CONS_FRAMES), 1006);
    tp_counters_view_close(&v);
    tp_counters_view_close(&v);
    /* a closed handle ignores updates */
    tp_counters_add(&c, 0, 1);
    tp_counters_touch(&c, 1);
}

TP_TEST(test_counters_view_refuses_non_counters_files)
{
    const char *dir = fresh_dir("refuse");
    tp_counters_view_t v;
    char path[1200], link[1200];
    size_t n;

    snprintf(path, sizeof path, "%s/short.tpc", dir);
    write_file(path, "TPCOUNTS", 8);
    TP_CHECK_EQ_I(tp_counters_view_open(&v, path, NULL), -1);
    TP_CHECK(strstr(tp_errmsg(), "shorter than its 128-byte header") != NULL);
    TP_CHECK(v.base == NULL);

    snprintf(path, sizeof path, "%s/magic.tpc", dir);
    n = image(img, TP_COUNTERS_ROLE_DRIVER, 4, 1);
    memcpy(img, "\x31\x4d\x48\x53\x4c\x50\x4f\x54", 8); /* a region superblock's magic */
    write_file(path, img, n);
    TP_CHECK_EQ_I(tp_counters_view_open(&v, path, NULL), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EMALFORMED);
    TP_CHECK(strstr(tp_errmsg(), "not a tensorpool counters file") != NULL);

    snprintf(path, sizeof path, "%s/version.tpc", dir);
    n = image(img, TP_COUNTERS_ROLE_DRIVER, 4, 1);
    ((tp_counters_header_t *)(void *)img)->layout_version = 9;
    write_file(path, img, n);
    TP_CHECK_EQ_I(tp_counters_view_open(&v, path, NULL), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EVERSION);

    snprintf(path, sizeof path, "%s/huge.tpc", dir);
    n = image(img, TP_COUNTERS_ROLE_DRIVER, 4, 1);
    write_file(path, img, sizeof img); /* larger than any counters file */
    TP_CHECK_EQ_I(tp_counters_view_open(&v, path, NULL), -1);
    TP_CHECK(strstr(tp_errmsg(), "larger than any counters file") != NULL);

    /* symlinks, directories and FIFOs are not followed / opened (W-178 rules) */
    snprintf(path, sizeof path, "%s/good.tpc", dir);
    n = image(img, TP_COUNTERS_ROLE_DRIVER, 4, 1);
    write_file(path, img, n);
    TP_CHECK_EQ_I(tp_counters_view_open(&v, path, NULL), 0);
    tp_counters_view_close(&v);
    snprintf(link, sizeof link, "%s/fifo.tpc", dir);
    TP_CHECK(mkfifo(link, 0600) == 0);
    TP_CHECK_EQ_I(tp_counters_view_open(&v, link, NULL), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EPATH);
    TP_CHECK_EQ_I(tp_counters_view_open(&v, dir, NULL), -1);
    /* outside the allowed directories */
    {
        tp_allowed_dirs_t *a = malloc(sizeof *a);
        tp_allowed_dirs_init(a);
        TP_CHECK(tp_allowed_dirs_add(a, fresh_dir("elsewhere")) == 0);
        TP_CHECK_EQ_I(tp_counters_view_open(&v, path, a), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EPATH);
        free(a);
    }
}

TP_TEST(test_counters_create_replaces_stale_and_refuses_live_owner)
{
    const char *dir = fresh_dir("stale");
    tp_counters_ident_t id = {TP_COUNTERS_ROLE_PRODUCER, 5, 42, NULL};
    tp_counters_t c;
    char path[1200];
    struct stat before, after;
    size_t n;

    snprintf(path, sizeof path, "%s/producer-5.tpc", dir);
    /* stale: a dead owner's file is replaced by a new inode */
    n = image(img, TP_COUNTERS_ROLE_PRODUCER, TP_CTR_PROD_COUNT, (uint64_t)tp_test_dead_pid());
    write_file(path, img, n);
    TP_ASSERT(tp_counters_create(&c, dir, &id, 0600, NULL) == 0);
    {
        tp_counters_view_t v;
        TP_ASSERT(tp_counters_view_open(&v, path, NULL) == 0);
        TP_CHECK_EQ_U(v.info.pid, (uint64_t)getpid()); /* ours now */
        tp_counters_view_close(&v);
    }
    tp_counters_close(&c, true);

    /* garbage: replaced as well */
    write_file(path, "garbage", 7);
    TP_ASSERT(tp_counters_create(&c, dir, &id, 0600, NULL) == 0);
    tp_counters_close(&c, false); /* kept: this process still owns it */
    /* our own file from before: replaced */
    TP_ASSERT(tp_counters_create(&c, dir, &id, 0600, NULL) == 0);
    tp_counters_close(&c, true);

    /* a live foreign owner (our parent): refused, file untouched */
    n = image(img, TP_COUNTERS_ROLE_PRODUCER, TP_CTR_PROD_COUNT, (uint64_t)getppid());
    write_file(path, img, n);
    TP_ASSERT(stat(path, &before) == 0);
    TP_CHECK_EQ_I(tp_counters_create(&c, dir, &id, 0600, NULL), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ESTATE);
    TP_CHECK(strstr(tp_errmsg(), "in use by live pid") != NULL);
    TP_CHECK(c.base == NULL);
    TP_ASSERT(stat(path, &after) == 0);
    TP_CHECK_EQ_U(after.st_ino, before.st_ino);
    unlink(path);

    /* not a regular file: refused, never followed */
    TP_CHECK(symlink("/etc/passwd", path) == 0);
    TP_CHECK_EQ_I(tp_counters_create(&c, dir, &id, 0600, NULL), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EPATH);
    unlink(path);
}

TP_TEST(test_counters_create_directory_rules)
{
    char dir[1024];
    tp_counters_ident_t id = {TP_COUNTERS_ROLE_CONSUMER, 1, 42, NULL};
    tp_allowed_dirs_t *a = malloc(sizeof *a);
    tp_counters_t c;
    char sub[1200];

    snprintf(dir, sizeof dir, "%s", fresh_dir("dirs")); /* fresh_dir's buffer is reused */
    /* a missing directory is not created */
    snprintf(sub, sizeof sub, "%s/missing", dir);
    TP_CHECK_EQ_I(tp_counters_create(&c, sub, &id, 0600, NULL), -1);
    /* a world-writable directory is refused */
    snprintf(sub, sizeof sub, "%s/open", dir);
    TP_ASSERT(mkdir(sub, 0700) == 0);
    TP_ASSERT(chmod(sub, 0777) == 0);
    TP_CHECK_EQ_I(tp_counters_create(&c, sub, &id, 0600, NULL), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EPATH);
    /* containment: only inside the allowed directories */
    snprintf(sub, sizeof sub, "%s/ok", dir);
    TP_ASSERT(mkdir(sub, 0700) == 0);
    tp_allowed_dirs_init(a);
    TP_ASSERT(tp_allowed_dirs_add(a, fresh_dir("other")) == 0);
    TP_CHECK_EQ_I(tp_counters_create(&c, sub, &id, 0600, a), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EPATH);
    TP_ASSERT(tp_allowed_dirs_add(a, dir) == 0);
    TP_CHECK_EQ_I(tp_counters_create(&c, sub, &id, 0600, a), 0);
    tp_counters_close(&c, true);
    free(a);
}

TP_TEST(test_counters_sweep_removes_only_dead_owners)
{
    const char *dir = fresh_dir("sweep");
    tp_counters_ident_t mine = {TP_COUNTERS_ROLE_CONSUMER, 1, 42, NULL};
    tp_counters_t c;
    char p1[1200], p2[1200], p3[1200], p4[1200];
    struct stat st;
    size_t n;

    TP_ASSERT(tp_counters_create(&c, dir, &mine, 0600, NULL) == 0);
    snprintf(p1, sizeof p1, "%s/producer-2.tpc", dir);
    n = image(img, TP_COUNTERS_ROLE_PRODUCER, TP_CTR_PROD_COUNT, (uint64_t)tp_test_dead_pid());
    write_file(p1, img, n);
    snprintf(p2, sizeof p2, "%s/producer-3.tpc", dir);
    n = image(img, TP_COUNTERS_ROLE_PRODUCER, TP_CTR_PROD_COUNT, (uint64_t)getppid());
    write_file(p2, img, n);
    snprintf(p3, sizeof p3, "%s/consumer-4.tpc", dir); /* being initialised: left alone */
    n = image(img, TP_COUNTERS_ROLE_CONSUMER, 64, (uint64_t)tp_test_dead_pid());
    memset(img, 0, 8);
    write_file(p3, img, n);
    snprintf(p4, sizeof p4, "%s/notes.txt", dir); /* not ours at all */
    n = image(img, TP_COUNTERS_ROLE_CONSUMER, 64, (uint64_t)tp_test_dead_pid());
    write_file(p4, img, n);

    TP_CHECK_EQ_I(tp_counters_sweep_dead(dir), 1);
    TP_CHECK(stat(p1, &st) != 0);
    TP_CHECK(stat(p2, &st) == 0);
    TP_CHECK(stat(p3, &st) == 0);
    TP_CHECK(stat(p4, &st) == 0);
    TP_CHECK(stat(c.path, &st) == 0);
    TP_CHECK_EQ_I(tp_counters_sweep_dead(dir), 0);
    tp_counters_close(&c, true);
    TP_CHECK_EQ_I(tp_counters_sweep_dead("/nonexistent/counters"), -1);
    TP_CHECK(!tp_counters_pid_alive(0));
    TP_CHECK(!tp_counters_pid_alive((uint64_t)tp_test_dead_pid()));
    TP_CHECK(!tp_counters_pid_alive(UINT64_MAX));
}

/*
 * The operating tools (issue 6 "Operating tensorpool"), as a user runs them:
 *
 *  * `tensorpool inspect` on regions this test creates in a private directory (superblock
 *    fields, liveness, newest slots committed vs in progress, JSON, URIs, read-only) and on
 *    files that are not regions (clear error, exit 1; bad arguments exit 2);
 *  * `tensorpool stat --once [--json]` against a real driver + producer + consumer with short
 *    timers (e2e_support.h): the stream, its epoch, frames flowing, the consumer row, the
 *    driver's counters (attach OK >= 2, keepalives > 0), the clients' counters files; then
 *    `tensorpool inspect` on the live header ring;
 *  * the counters files follow the processes: removed on a clean exit, reported dead after
 *    kill -9 and swept by the driver once the lease expired.
 *
 * Children are tracked by tp_test (killed at exit, also on failure) and everything lives under
 * tp_test_tmpdir() (removed at exit).
 */
#include <dirent.h>
#include <math.h>

#include "e2e_support.h"
#include "shm/counters.h"
#include "shm/pool.h"
#include "shm/region.h"
#include "shm/ring.h"
#include "util/clock.h"

#define OUT_MAX (1 << 18)

static char out[OUT_MAX];

/* Run `tensorpool <args...>` (NULL-terminated) with optional env entries, wait for it, read its
 * output into `out`. Returns the exit status (-1 when it did not finish in 30 s). */
static int run_cli(const char *dir, const char *name, char *const *envs, ...)
{
    char *args[TP_LAUNCH_ARGS_MAX];
    char path[700];
    tp_proc_t p;
    va_list ap;
    int n = 0, st;

    args[n++] = (char *)e2e_bin();
    va_start(ap, envs);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < TP_LAUNCH_ARGS_MAX - 1;)
        args[n++] = (char *)a;
    va_end(ap);
    args[n] = NULL;
    snprintf(path, sizeof path, "%s/%s.out", dir, name);
    if (tp_proc_start(&p, args, envs, path) != 0)
        return -1;
    tp_test_track_child(p.pid);
    st = tp_proc_wait(&p, 30000);
    if (st < 0)
        tp_proc_kill9(&p);
    tp_proc_output(&p, out, sizeof out);
    printf("---- tensorpool %s -> %d:\n%.4000s%s---- end\n", args[1], st, out,
           strlen(out) > 4000 ? "\n...\n" : "");
    fflush(stdout);
    return st;
}

/* The number after "key": at or after `from` (NAN when absent). */
static double jnum(const char *from, const char *key)
{
    char pat[128];
    const char *p;
    if (from == NULL)
        return NAN;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = strstr(from, pat);
    if (p == NULL)
        return NAN;
    p += strlen(pat);
    if (strncmp(p, "null", 4) == 0)
        return NAN;
    return strtod(p, NULL);
}

/* The line of `out` that starts with prefix (NULL when none). */
static const char *line_with(const char *text, const char *prefix)
{
    for (const char *s = text; s && *s;) {
        if (strncmp(s, prefix, strlen(prefix)) == 0)
            return s;
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    return NULL;
}

static void copy_line(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strcspn(src, "\n") : 0;
    if (n >= cap)
        n = cap - 1;
    if (src)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static uint64_t file_sum(const char *path, struct stat *st)
{
    uint64_t h = 1469598103934665603ull;
    int c;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    while ((c = fgetc(f)) != EOF)
        h = (h ^ (uint64_t)c) * 1099511628211ull;
    fclose(f);
    stat(path, st);
    return h;
}

/* ---- inspect on regions made here ------------------------------------------------------------ */

typedef struct made {
    char dir[600], ring[700], pool[700];
    tp_region_t hr, pr;
} made_t;

/* A stream of epoch 7 with 8 slots: seqs 0..4 committed, seq 5 in progress (header written,
 * commit word even), pool 1 of stride 1024. */
static bool make_regions(made_t *m, const char *name, uint64_t pid)
{
    tp_superblock_t sb;
    tp_pool_set_t set;
    tp_ring_t ring;
    tp_tensor_desc_t d;
    tp_ring_claim_t c;
    int32_t dims[2] = {16, 32};
    uint8_t data[512];

    memset(m, 0, sizeof *m);
    snprintf(m->dir, sizeof m->dir, "%s/%s", tp_test_tmpdir(), name);
    snprintf(m->ring, sizeof m->ring, "%s/42/7/header.ring", m->dir);
    snprintf(m->pool, sizeof m->pool, "%s/42/7/1.pool", m->dir);
    memset(&sb, 0, sizeof sb);
    sb.region_type = TP_REGION_HEADER_RING;
    sb.epoch = 7;
    sb.stream_id = 42;
    sb.nslots = 8;
    sb.pid = pid;
    if (tp_region_create(&m->hr, m->ring, &sb, NULL) != 0)
        return false;
    sb.region_type = TP_REGION_PAYLOAD_POOL;
    sb.pool_id = 1;
    sb.stride_bytes = 1024;
    if (tp_region_create(&m->pr, m->pool, &sb, NULL) != 0)
        return false;
    tp_pool_set_init(&set);
    if (tp_pool_set_add(&set, 1, m->pr.base, m->pr.size, 8, 1024) != 0 ||
        tp_ring_init(&ring, m->hr.base, m->hr.size, 8) != 0)
        return false;
    tp_tensor_desc_contiguous(&d, TP_DTYPE_UINT8, TP_MAJOR_ROW, 2, dims);
    for (uint64_t seq = 0; seq < 5; seq++) {
        tp_pattern_fill(data, sizeof data, seq);
        if (tp_ring_write(&ring, &set, seq, data, sizeof data, 1000 + seq, 0, &d) != 0)
            return false;
    }
    tp_ring_write_begin(&ring, tp_pool_select(&set, 512), 5, &c);
    tp_ring_write_header(&c, 512, 1005, 0, &d); /* never committed */
    return true;
}

static void unmake(made_t *m)
{
    tp_region_unmap(&m->hr);
    tp_region_unmap(&m->pr);
}

TP_TEST(test_tools_inspect_region_fields_and_slots)
{
    made_t m;
    char uri[800], line[1024];
    struct stat before, after;
    uint64_t sum0, sum1;
    const char *p;

    TP_ASSERT(make_regions(&m, "inspect", 0));
    /* the activity is 5 s old: the age must say so */
    tp_superblock_touch(tp_region_superblock(&m.hr), tp_clock_monotonic_ns() - 5000000000ull);
    sum0 = file_sum(m.ring, &before);

    TP_ASSERT(run_cli(m.dir, "ring", NULL, "inspect", m.ring, "--slots", "3", NULL) == 0);
    TP_CHECK(line_with(out, "region_type=HEADER_RING") != NULL);
    TP_CHECK(line_with(out, "magic=0x544f504c53484d31") != NULL);
    TP_CHECK(line_with(out, "layout_version=1\n") != NULL);
    TP_CHECK(line_with(out, "epoch=7\n") != NULL);
    TP_CHECK(line_with(out, "stream_id=42\n") != NULL);
    TP_CHECK(line_with(out, "pool_id=0\n") != NULL);
    TP_CHECK(line_with(out, "nslots=8\n") != NULL);
    TP_CHECK(line_with(out, "slot_bytes=256\n") != NULL);
    TP_CHECK(line_with(out, "stride_bytes=0\n") != NULL);
    TP_CHECK(line_with(out, "file_bytes=2112\n") != NULL); /* 64 + 8 x 256 (LAYOUT §4.5) */
    snprintf(line, sizeof line, "pid=%ld\n", (long)getpid());
    TP_CHECK(line_with(out, line) != NULL);
    TP_CHECK(line_with(out, "pid_alive=1\n") != NULL);
    p = line_with(out, "activity_age_ms=");
    TP_CHECK(p != NULL && strtod(p + 16, NULL) >= 5000.0);
    TP_CHECK(line_with(out, "slots_written=6\n") != NULL);
    TP_CHECK(line_with(out, "slots_committed=5\n") != NULL);
    TP_CHECK(line_with(out, "slots_in_progress=1\n") != NULL);
    TP_CHECK(line_with(out, "newest_seq=5\n") != NULL);
    TP_CHECK(line_with(out, "slots_shown=3\n") != NULL);
    /* newest first: 5 (in progress), 4, 3 (committed), with length, dtype and shape */
    copy_line(line, sizeof line, line_with(out, "slot "));
    TP_CHECK(strstr(line, "slot index=5 seq=5 state=in_progress ") != NULL);
    p = strstr(out, "slot index=4 seq=4 state=committed len=512 pool_id=1 payload_slot=4 ");
    TP_ASSERT(p != NULL);
    copy_line(line, sizeof line, p);
    TP_CHECK(strstr(line, " timestamp_ns=1004 ") != NULL);
    TP_CHECK(strstr(line, " dtype=UINT8 major_order=ROW ndims=2 shape=16x32 ") != NULL);
    TP_CHECK(strstr(line, " header=ok") != NULL);
    TP_CHECK(strstr(out, "slot index=3 seq=3 state=committed") != NULL);
    TP_CHECK(strstr(out, "seq=2 ") == NULL);

    /* JSON: every written slot with --slots larger than the ring */
    TP_ASSERT(run_cli(m.dir, "ring_json", NULL, "inspect", m.ring, "--slots", "100", "--json",
                      NULL) == 0);
    TP_CHECK(out[0] == '{');
    TP_CHECK(jnum(out, "epoch") == 7);
    TP_CHECK(jnum(out, "nslots") == 8);
    TP_CHECK(strstr(out, "\"pid_alive\":true") != NULL);
    TP_CHECK(jnum(out, "slots_committed") == 5);
    TP_CHECK(jnum(out, "slots_in_progress") == 1);
    TP_CHECK(strstr(out, "{\"index\":5,\"seq\":5,\"state\":\"in_progress\"") != NULL);
    TP_CHECK(strstr(out, "{\"index\":0,\"seq\":0,\"state\":\"committed\",\"len\":512") != NULL);

    /* a payload pool through its region URI: geometry, no slot headers */
    snprintf(uri, sizeof uri, "shm:file?path=%s", m.pool);
    TP_ASSERT(run_cli(m.dir, "pool", NULL, "inspect", uri, NULL) == 0);
    TP_CHECK(line_with(out, "region_type=PAYLOAD_POOL") != NULL);
    TP_CHECK(line_with(out, "pool_id=1\n") != NULL);
    TP_CHECK(line_with(out, "slot_bytes=1024\n") != NULL);
    TP_CHECK(line_with(out, "stride_bytes=1024\n") != NULL);
    TP_CHECK(line_with(out, "file_bytes=8256\n") != NULL);
    TP_CHECK(line_with(out, "slot ") == NULL);

    /* inspect never writes */
    sum1 = file_sum(m.ring, &after);
    TP_CHECK(sum0 == sum1);
    TP_CHECK(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
             before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    unmake(&m);
}

TP_TEST(test_tools_inspect_reports_a_dead_owner)
{
    made_t m;
    TP_ASSERT(make_regions(&m, "inspect_dead", (uint64_t)tp_test_dead_pid()));
    TP_ASSERT(run_cli(m.dir, "dead", NULL, "inspect", m.ring, "--slots", "0", NULL) == 0);
    TP_CHECK(line_with(out, "pid_alive=0\n") != NULL);
    TP_CHECK(line_with(out, "slots_shown=0\n") != NULL);
    TP_CHECK(line_with(out, "slot ") == NULL);
    unmake(&m);
}

TP_TEST(test_tools_inspect_refuses_non_regions)
{
    made_t m;
    char path[800], cmd[1700];
    int fd;

    TP_ASSERT(make_regions(&m, "inspect_bad", 0));
    snprintf(path, sizeof path, "%s/notes.txt", m.dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    TP_ASSERT(fd >= 0);
    {
        static const char text[] = "this is not a tensorpool region, just a text file that is "
                                    "longer than a superblock\n";
        TP_CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    }
    close(fd);
    TP_CHECK_EQ_I(run_cli(m.dir, "text", NULL, "inspect", path, NULL), 1);
    TP_CHECK(strstr(out, "error=") == out);
    TP_CHECK(strstr(out, "is not a tensorpool region (magic") != NULL);

    snprintf(path, sizeof path, "%s/empty", m.dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    close(fd);
    TP_CHECK_EQ_I(run_cli(m.dir, "empty", NULL, "inspect", path, NULL), 1);
    TP_CHECK(strstr(out, "not a tensorpool region (no 64-byte superblock)") != NULL);

    /* a valid superblock whose geometry needs more bytes than the file has */
    snprintf(path, sizeof path, "%s/short.ring", m.dir);
    TP_ASSERT(snprintf(cmd, sizeof cmd, "head -c 320 '%s' > '%s'", m.ring, path) < (int)sizeof cmd);
    TP_ASSERT(system(cmd) == 0);
    TP_CHECK_EQ_I(run_cli(m.dir, "short", NULL, "inspect", path, NULL), 1);
    TP_CHECK(strstr(out, "geometry needs 2112") != NULL);

    /* a superblock that contradicts itself (nslots not a power of two) */
    snprintf(path, sizeof path, "%s/odd.ring", m.dir);
    TP_ASSERT(snprintf(cmd, sizeof cmd, "cp '%s' '%s' && printf '\\003' | dd of='%s' bs=1 "
                       "seek=28 conv=notrunc 2>/dev/null", m.ring, path, path) < (int)sizeof cmd);
    TP_ASSERT(system(cmd) == 0);
    TP_CHECK_EQ_I(run_cli(m.dir, "odd", NULL, "inspect", path, NULL), 1);
    TP_CHECK(strstr(out, "power of two") != NULL);

    /* a directory, a FIFO (never blocks), a missing file, a bad URI */
    TP_CHECK_EQ_I(run_cli(m.dir, "dir", NULL, "inspect", m.dir, NULL), 1);
    TP_CHECK(strstr(out, "not a regular file") != NULL);
    snprintf(path, sizeof path, "%s/fifo", m.dir);
    TP_ASSERT(mkfifo(path, 0600) == 0);
    TP_CHECK_EQ_I(run_cli(m.dir, "fifo", NULL, "inspect", path, NULL), 1);
    TP_CHECK(strstr(out, "not a regular file") != NULL);
    snprintf(path, sizeof path, "%s/missing.ring", m.dir);
    TP_CHECK_EQ_I(run_cli(m.dir, "missing", NULL, "inspect", path, NULL), 1);
    TP_CHECK(strstr(out, "error=") == out);
    TP_CHECK_EQ_I(run_cli(m.dir, "uri", NULL, "inspect", "shm:file?path=relative", NULL), 1);
    TP_CHECK(strstr(out, "error=") == out);

    /* bad arguments: exit 2 */
    TP_CHECK_EQ_I(run_cli(m.dir, "noarg", NULL, "inspect", NULL), 2);
    TP_CHECK(strstr(out, "error=missing PATH|URI") != NULL);
    TP_CHECK_EQ_I(run_cli(m.dir, "badslots", NULL, "inspect", m.ring, "--slots", "x", NULL), 2);
    TP_CHECK_EQ_I(run_cli(m.dir, "badopt", NULL, "inspect", m.ring, "--frobnicate", NULL), 2);
    TP_CHECK_EQ_I(run_cli(m.dir, "two", NULL, "inspect", m.ring, m.pool, NULL), 2);
    TP_CHECK_EQ_I(run_cli(m.dir, "help", NULL, "inspect", "--help", NULL), 0);
    unmake(&m);
}

/* ---- stat ---------------------------------------------------------------------------------- */

TP_TEST(test_tools_stat_errors_and_empty_system)
{
    e2e_sys_t s;
    char *envs[] = {NULL, NULL};
    TP_ASSERT(e2e_init(&s, "stat_empty", 8, 4096));
    envs[0] = s.env_dir;
    TP_CHECK_EQ_I(run_cli(s.dir, "badint", envs, "stat", "--interval", "0", NULL), 2);
    TP_CHECK(strstr(out, "error=") == out);
    TP_CHECK_EQ_I(run_cli(s.dir, "badopt", envs, "stat", "--bogus", NULL), 2);
    TP_CHECK_EQ_I(run_cli(s.dir, "badch", envs, "stat", "--once", "--control-channel",
                          "aeron:udp?endpoint=localhost:1", NULL), 1);
    TP_CHECK(strstr(out, "error=") == out);
    /* nothing running: one window, nothing found, exit 0 */
    TP_CHECK_EQ_I(run_cli(s.dir, "nothing", envs, "stat", "--once", "--interval", "200",
                          "--dir", s.transport, "--allowed-dir", s.shm, NULL), 0);
    TP_CHECK(strstr(out, "stat ts_ns=") == out);
    TP_CHECK(strstr(out, " streams=0 consumers=0 leases=0 counters_files=0 ") != NULL);
    TP_CHECK_EQ_I(run_cli(s.dir, "nothing_json", envs, "stat", "--once", "--json", "--interval",
                          "200", "--dir", s.transport, NULL), 0);
    TP_CHECK(strstr(out, "\"drivers\":[],\"streams\":[],\"consumers\":[],\"counters\":[],"
                         "\"leases\":[]}") != NULL);
    /* --count: several windows, one report each */
    TP_CHECK_EQ_I(run_cli(s.dir, "count", envs, "stat", "--count", "3", "--interval", "100",
                          "--dir", s.transport, NULL), 0);
    {
        int n = 0;
        for (const char *p = out; (p = strstr(p, "stat ts_ns=")) != NULL; p++)
            n++;
        TP_CHECK_EQ_I(n, 3);
    }
}

/* The names of the counters files in dir (space separated, sorted by scandir). */
static void list_counters(const char *dir, char *buf, size_t cap)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, NULL, alphasort);
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strstr(list[i]->d_name, ".tpc") != NULL &&
            strlen(buf) + strlen(list[i]->d_name) + 2 < cap) {
            strcat(buf, list[i]->d_name);
            strcat(buf, " ");
        }
        free(list[i]);
    }
    free(list);
}

static bool wait_listing(const char *dir, const char *want, bool present, unsigned ms)
{
    char buf[4096];
    uint64_t end = tp_launch_now_ns() + (uint64_t)ms * 1000000ull;
    do {
        list_counters(dir, buf, sizeof buf);
        if ((strstr(buf, want) != NULL) == present)
            return true;
        tp_launch_sleep_ms(20);
    } while (tp_launch_now_ns() < end);
    printf("counters dir %s: [%s], wanted '%s' %s\n", dir, buf, want, present ? "present" : "gone");
    return false;
}

static void ns_dir(const e2e_sys_t *s, char *buf, size_t cap)
{
    char user[300];
    tp_shm_user_dir_name(user, sizeof user);
    snprintf(buf, cap, "%s/%s/default", s->shm, user);
}

TP_TEST(test_tools_stat_and_inspect_live_system)
{
    e2e_sys_t s;
    tp_proc_t prod, cons, st;
    char pline[1024], cline[1024], ns[1400], cdir[1500], ring[1700], want[256], buf[1024];
    char *envs[] = E2E_CLIENT_ENV(&s);
    uint64_t first_epoch, epoch = 0, cid, pid_;
    const char *p;

    TP_ASSERT(e2e_init(&s, "stat_live", 64, 65536));
    TP_ASSERT(e2e_driver_start(&s));
    TP_ASSERT(e2e_spawn(&s, &cons, "consumer", NULL, "consumer", "--duration", "60", NULL));
    TP_ASSERT(e2e_wait_attached(&cons, 10000));
    TP_ASSERT(e2e_spawn(&s, &prod, "producer", NULL, "producer", "--rate", "200", "--size",
                        "4096", "--dims", "64x64", "--duration", "60", NULL));
    TP_ASSERT(e2e_wait_attached(&prod, 10000));
    TP_ASSERT(tp_proc_summary(&prod, "attached", pline, sizeof pline) == 0);
    TP_ASSERT(tp_proc_summary(&cons, "attached", cline, sizeof cline) == 0);
    first_epoch = tp_kv_u64(pline, "epoch"); /* the producer's attach made a new epoch */
    pid_ = tp_kv_u64(pline, "client_id");
    cid = tp_kv_u64(cline, "consumer_id");
    TP_ASSERT(first_epoch != UINT64_MAX && cid != UINT64_MAX && pid_ != UINT64_MAX);
    ns_dir(&s, ns, sizeof ns);
    snprintf(cdir, sizeof cdir, "%s/counters", ns);
    /* the clients' files appear at their first QoS tick (200 ms here) */
    snprintf(want, sizeof want, "producer-%" PRIu64 ".tpc", pid_);
    TP_CHECK(wait_listing(cdir, want, true, 5000));
    snprintf(want, sizeof want, "consumer-%" PRIu64 ".tpc", cid);
    TP_CHECK(wait_listing(cdir, want, true, 5000));
    TP_CHECK(wait_listing(cdir, "driver-tp-launch.tpc", true, 100));
    tp_launch_sleep_ms(500); /* frames flow, QoS and counters are mirrored */

    /* --once --json: found from the announces (no --shm-dir). The epoch is the one the
     * producer's attach made, unless the producer had to reattach on this loaded machine
     * (a keepalive starved past the 1 s lease): then a later one, and the driver's announce,
     * the producer's own counters and the consumer's QoS must agree on it. A window that
     * straddled such a change is repeated. */
    for (int attempt = 0; attempt < 3; attempt++) {
        double e_prod, e_cons;
        snprintf(want, sizeof want, "stat_json%d", attempt);
        TP_ASSERT(e2e_spawn(&s, &st, want, NULL, "stat", "--once", "--json", "--interval",
                            "1000", NULL));
        TP_CHECK_EQ_I(tp_proc_wait(&st, 20000), 0);
        tp_proc_output(&st, out, sizeof out);
        printf("stat --json: %.6000s\n", out);
        /* the object starts a line; on Aeron the transport's info line (stderr, captured
         * with stdout here) may come first */
        TP_ASSERT(out[0] == '{' || strstr(out, "\n{\"ts_ns\":") != NULL);
        p = strstr(out, "\"streams\":[{\"stream_id\":42,");
        TP_ASSERT(p != NULL);
        epoch = (uint64_t)jnum(p, "epoch");
        snprintf(buf, sizeof buf, "{\"role\":\"producer\",\"id\":%" PRIu64, pid_);
        e_prod = jnum(strstr(out, buf), "epoch");
        snprintf(buf, sizeof buf, "{\"consumer_id\":%" PRIu64 ",", cid);
        e_cons = jnum(strstr(out, buf), "epoch");
        if (e_prod == (double)epoch && e_cons == (double)epoch)
            break;
        printf("epochs differ (announce %" PRIu64 ", producer %.0f, consumer %.0f): again\n",
               epoch, e_prod, e_cons);
    }
    TP_CHECK(epoch >= first_epoch);
    TP_CHECK(jnum(p, "producer_id") == (double)pid_);
    TP_CHECK(jnum(p, "frames_per_s") > 0);
    TP_CHECK(jnum(p, "mib_per_s") > 0);
    TP_CHECK(strstr(p, "\"rate_source\":\"ring\"") != NULL);
    TP_CHECK(jnum(p, "newest_seq") > 0);
    p = strstr(out, "\"consumers\":[");
    TP_ASSERT(p != NULL);
    snprintf(buf, sizeof buf, "{\"consumer_id\":%" PRIu64 ",\"stream_id\":42,\"epoch\":%" PRIu64
             ",\"mode\":\"STREAM\"", cid, epoch);
    p = strstr(p, buf);
    TP_CHECK(p != NULL);
    if (p != NULL) {
        TP_CHECK(jnum(p, "last_seq") > 0);
        TP_CHECK(jnum(p, "drops_gap") >= 0 && jnum(p, "drops_late") >= 0);
        TP_CHECK(jnum(p, "lag") >= 0);
        TP_CHECK(jnum(p, "frames") > 0);
    }
    p = strstr(out, "\"drivers\":[{\"role\":\"driver\"");
    TP_ASSERT(p != NULL);
    TP_CHECK(strstr(p, "\"name\":\"tp-launch\"") != NULL);
    TP_CHECK(strstr(p, "\"alive\":true") != NULL);
    TP_CHECK(jnum(p, "attach_ok") >= 2);
    TP_CHECK(jnum(p, "keepalives") > 0);
    TP_CHECK(jnum(p, "leases_active") >= 2);
    TP_CHECK(jnum(p, "announces_sent") > 0);
    TP_CHECK(jnum(p, "epochs_bumped") >= 1);
    TP_CHECK(jnum(p, "malformed") == 0);
    snprintf(buf, sizeof buf, "{\"role\":\"producer\",\"id\":%" PRIu64 ",\"stream_id\":42", pid_);
    p = strstr(out, buf);
    TP_CHECK(p != NULL);
    if (p != NULL) {
        TP_CHECK(strstr(p, "\"alive\":true") != NULL);
        TP_CHECK(jnum(p, "frames_published") > 0);
        TP_CHECK(jnum(p, "epoch") == (double)epoch);
    }
    snprintf(buf, sizeof buf, "{\"role\":\"consumer\",\"id\":%" PRIu64 ",\"stream_id\":42", cid);
    p = strstr(out, buf);
    TP_CHECK(p != NULL && jnum(p, "frames") > 0);
    TP_CHECK(strstr(out, "\"leases\":[{\"lease_id\":") != NULL);

    /* a foreign file in counters/ is skipped, with the reason, and nothing else changes */
    {
        char bogus[1700];
        int fd;
        static const char junk[200] = "not a counters file";
        TP_ASSERT(snprintf(bogus, sizeof bogus, "%s/bogus.tpc", cdir) < (int)sizeof bogus);
        fd = open(bogus, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        TP_ASSERT(fd >= 0);
        TP_CHECK(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
        close(fd);
    }
    /* key=value rows (stdout is not a terminal), counters from an explicit --shm-dir only */
    TP_CHECK_EQ_I(run_cli(s.dir, "stat_kv", envs, "stat", "--once", "--interval", "1000", "--dir",
                          s.transport, "--shm-dir", ns, "--announce-stream", "1", NULL), 0);
    TP_CHECK(strstr(out, "stat ts_ns=") == out || strstr(out, "\nstat ts_ns=") != NULL);
    TP_CHECK(strstr(out, " counters_files=3 counters_skipped=1 ") != NULL);
    TP_CHECK(line_with(out, "skipped reason=") != NULL &&
             strstr(out, "not_a_tensorpool_counters_file") != NULL);
    TP_CHECK(line_with(out, "driver instance=tp-launch ") != NULL);
    copy_line(buf, sizeof buf, line_with(out, "driver instance="));
    TP_CHECK(strstr(buf, " alive=1 ") != NULL && strstr(buf, " attach_ok=") != NULL);
    TP_CHECK(line_with(out, "lease id=") != NULL);
    snprintf(buf, sizeof buf, "consumer id=%" PRIu64 " stream=42 epoch=", cid);
    p = line_with(out, buf);
    TP_CHECK(p != NULL && strtoull(p + strlen(buf), NULL, 10) >= epoch);
    copy_line(buf, sizeof buf, p);
    TP_CHECK(strstr(buf, " mode=STREAM ") != NULL);
    snprintf(buf, sizeof buf, "counters role=producer id=%" PRIu64 " stream=42 ", pid_);
    TP_CHECK(line_with(out, buf) != NULL);
    /* announces were not watched: the stream comes from QosProducer alone */
    p = line_with(out, "stream id=42 epoch=");
    TP_CHECK(p != NULL && strtoull(p + 19, NULL, 10) >= epoch);
    copy_line(buf, sizeof buf, p);
    snprintf(want, sizeof want, " producer_id=%" PRIu64 " ", pid_);
    TP_CHECK(strstr(buf, want) != NULL);

    /* inspect the live header ring of the producer's current epoch (its counters file) */
    {
        tp_counters_view_t v;
        snprintf(want, sizeof want, "producer-%" PRIu64 ".tpc", pid_);
        TP_ASSERT(snprintf(ring, sizeof ring, "%s/%s", cdir, want) < (int)sizeof ring);
        TP_ASSERT(tp_counters_view_open(&v, ring, NULL) == 0);
        epoch = tp_counters_view_value(&v, TP_CTR_PROD_EPOCH);
        tp_counters_view_close(&v);
    }
    snprintf(ring, sizeof ring, "%s/42/%" PRIu64 "/header.ring", ns, epoch);
    TP_ASSERT(run_cli(s.dir, "inspect_live", NULL, "inspect", ring, "--slots", "2", NULL) == 0);
    snprintf(buf, sizeof buf, "epoch=%" PRIu64 "\n", epoch);
    TP_CHECK(line_with(out, buf) != NULL);
    TP_CHECK(line_with(out, "stream_id=42\n") != NULL);
    TP_CHECK(line_with(out, "nslots=64\n") != NULL);
    TP_CHECK(line_with(out, "pid_alive=1\n") != NULL);
    TP_CHECK(line_with(out, "slots_committed=") != NULL);
    TP_CHECK(line_with(out, "slots_committed=0\n") == NULL);
    p = line_with(out, "activity_age_ms=");
    TP_CHECK(p != NULL && strtod(p + 16, NULL) < 3000.0); /* the producer refreshes it (W-19) */
    TP_CHECK(strstr(out, "state=committed len=4096 pool_id=1 ") != NULL);
    TP_CHECK(strstr(out, "dtype=UINT8 major_order=ROW ndims=2 shape=64x64 ") != NULL);

    /* clean exits remove the clients' files, then the driver's */
    TP_CHECK_EQ_I(tp_proc_stop(&prod, 5000), 0);
    TP_CHECK_EQ_I(tp_proc_stop(&cons, 5000), 0);
    snprintf(want, sizeof want, "producer-%" PRIu64 ".tpc", pid_);
    TP_CHECK(wait_listing(cdir, want, false, 100));
    snprintf(want, sizeof want, "consumer-%" PRIu64 ".tpc", cid);
    TP_CHECK(wait_listing(cdir, want, false, 100));
    TP_CHECK_EQ_I(tp_proc_stop(&s.driver, 5000), 0);
    TP_CHECK(wait_listing(cdir, "driver-tp-launch.tpc", false, 100));
    TP_CHECK(wait_listing(cdir, "bogus.tpc", true, 100)); /* not ours: left alone */
}

TP_TEST(test_tools_counters_file_of_killed_client_reported_then_swept)
{
    e2e_sys_t s;
    tp_proc_t cons;
    char cline[1024], ns[1400], cdir[1500], path[1700], want[256];
    tp_counters_view_t v;
    uint64_t cid;

    TP_ASSERT(e2e_init(&s, "stat_kill", 8, 4096));
    TP_ASSERT(e2e_driver_start(&s));
    TP_ASSERT(e2e_spawn(&s, &cons, "consumer", NULL, "consumer", "--duration", "60", NULL));
    TP_ASSERT(e2e_wait_attached(&cons, 10000));
    TP_ASSERT(tp_proc_summary(&cons, "attached", cline, sizeof cline) == 0);
    cid = tp_kv_u64(cline, "consumer_id");
    ns_dir(&s, ns, sizeof ns);
    snprintf(cdir, sizeof cdir, "%s/counters", ns);
    snprintf(want, sizeof want, "consumer-%" PRIu64 ".tpc", cid);
    TP_ASSERT(wait_listing(cdir, want, true, 5000));
    TP_ASSERT(snprintf(path, sizeof path, "%s/%s", cdir, want) < (int)sizeof path);

    tp_proc_kill9(&cons); /* no clean close: the file stays behind for now */
    TP_ASSERT(tp_counters_view_open(&v, path, NULL) == 0 || !"file removed too early");
    TP_CHECK_EQ_U(v.info.pid, (uint64_t)cons.pid);
    TP_CHECK(!tp_counters_pid_alive(v.info.pid)); /* readers report it dead */
    tp_counters_view_close(&v);
    /* the driver removes it after the lease expired (≈ 1 s here) */
    TP_CHECK(wait_listing(cdir, want, false, 10000));
    TP_CHECK(wait_listing(cdir, "driver-tp-launch.tpc", true, 100));
    tp_proc_stop(&s.driver, 5000);
}

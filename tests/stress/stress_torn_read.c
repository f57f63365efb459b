/*
 * Torn-read hunt (DESIGN §6): one writer overwrites a small header ring (8 slots) at full
 * speed with interop-pattern frames of varying sizes in two pools; several readers read
 * through the library (tp_ring_read, pattern check in place, tp_ring_frame_intact) and check
 * every accepted frame. A frame that passed the seqlock, still holds its commit word after
 * the payload was read, and yet does not carry its pattern (or its header disagrees with
 * its seq) is TORN: the protocol or its implementation is broken. torn must be 0.
 *
 *   stress_torn_read [--seconds S] [--readers N] [--threads] [--self-test]
 *
 *   default      writer and readers are processes; the regions are files in a private temp
 *                directory created with tp_region_create and mapped with tp_region_map
 *                (readers read-only, W-14).
 *   --threads    writer and readers are threads of this process sharing one mapping, so
 *                ThreadSanitizer sees every access (ctest label "concurrent").
 *   --self-test  the writer flips one payload byte after committing every 64th frame — a
 *                corruption the seqlock cannot see. The run passes only if the checker
 *                reports torn > 0, proving the hunt can fail.
 *
 * Prints key=value lines; exits 0 on PASS, 1 on FAIL (torn > 0, implausibly few accepted
 * frames, or a self-test that caught nothing), 2 on setup errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shm/region.h"
#include "shm/ring.h"
#include "tensorpool/error.h"
#include "util/clock.h"

#define NSLOTS 8u
#define NPOOLS 2u
#define MAX_READERS 16
#define STREAM_ID 4242u
#define EPOCH 1u

static const uint32_t pool_strides[NPOOLS] = { 1024, 16384 };

typedef struct reader_result {
    uint64_t attempts;
    uint64_t accepted;      /* passed the seqlock, pattern ok, still intact */
    uint64_t overwritten;   /* passed the seqlock, lapped while the payload was read */
    uint64_t torn;          /* passed the seqlock, intact, pattern/header wrong */
    uint64_t first_torn_seq;
    uint64_t bytes;
    uint64_t drops_late;
    uint64_t drops[TP_DROP_COUNT];
    int setup_failed;
} reader_result_t;

/* Shared between the roles (MAP_SHARED|MAP_ANONYMOUS before fork, or plain memory). */
typedef struct control {
    _Atomic uint64_t next_seq; /* every seq below this has been committed */
    _Atomic int stop;
    _Atomic int writer_failed;
    _Atomic int mapped;        /* children that have mapped the regions */
    uint64_t written;          /* set by the writer before it exits */
    reader_result_t results[MAX_READERS];
} control_t;

typedef struct options {
    double seconds;
    int readers;
    bool threads;
    bool self_test;
} options_t;

typedef struct stream {
    tp_region_t ring_region;
    tp_region_t pool_region[NPOOLS];
    tp_ring_t ring;
    tp_pool_set_t pools;
} stream_t;

static char g_dir[256];
static pid_t g_children[MAX_READERS + 1];
static int g_nchildren;
static volatile sig_atomic_t g_interrupted;

/* ---- frame geometry ------------------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27; x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Deterministic length of frame seq: zero, tiny (< 16: prefix-only), small (pool 1), large
 * (pool 2), up to exactly the largest stride. */
static uint32_t frame_len(uint64_t seq)
{
    uint64_t x = mix64(seq);
    switch (x & 7) {
    case 0: return (uint32_t)((x >> 8) % 16);
    case 1: case 2: return (uint32_t)((x >> 8) % (pool_strides[0] + 1));
    default: return (uint32_t)((x >> 8) % (pool_strides[NPOOLS - 1] + 1));
    }
}

/* ---- regions ----------------------------------------------------------------------------- */

static int region_path(char *out, size_t cap, int which)
{
    if (which < 0) return snprintf(out, cap, "%s/header.ring", g_dir);
    return snprintf(out, cap, "%s/%d.pool", g_dir, which + 1);
}

static void make_expect(tp_region_expect_t *e, int which)
{
    memset(e, 0, sizeof *e);
    e->layout_version = TP_LAYOUT_VERSION;
    e->epoch = EPOCH;
    e->stream_id = STREAM_ID;
    e->nslots = NSLOTS;
    e->region_type = which < 0 ? TP_REGION_HEADER_RING : TP_REGION_PAYLOAD_POOL;
    e->pool_id = which < 0 ? 0 : (uint16_t)(which + 1);
    e->stride_bytes = which < 0 ? 0 : pool_strides[which];
}

static int create_regions(stream_t *s)
{
    for (int w = -1; w < (int)NPOOLS; w++) {
        char path[512];
        tp_superblock_t sb;
        tp_region_t *r = w < 0 ? &s->ring_region : &s->pool_region[w];
        memset(&sb, 0, sizeof sb);
        sb.epoch = EPOCH;
        sb.stream_id = STREAM_ID;
        sb.nslots = NSLOTS;
        sb.region_type = w < 0 ? TP_REGION_HEADER_RING : TP_REGION_PAYLOAD_POOL;
        sb.pool_id = w < 0 ? 0 : (uint16_t)(w + 1);
        sb.stride_bytes = w < 0 ? 0 : pool_strides[w];
        region_path(path, sizeof path, w);
        if (tp_region_create(r, path, &sb, NULL) != 0) return -1;
    }
    return 0;
}

static int map_regions(stream_t *s, bool writable)
{
    tp_allowed_dirs_t allowed;
    tp_allowed_dirs_init(&allowed);
    if (tp_allowed_dirs_add(&allowed, g_dir) != 0) return -1;
    for (int w = -1; w < (int)NPOOLS; w++) {
        char path[512], uri[600];
        tp_region_expect_t e;
        region_path(path, sizeof path, w);
        int n = tp_region_uri_format(uri, sizeof uri, path, false);
        if (n < 0) return -1;
        make_expect(&e, w);
        if (tp_region_map(w < 0 ? &s->ring_region : &s->pool_region[w], uri, (size_t)n, &allowed,
                          &e, writable) != 0)
            return -1;
    }
    return 0;
}

/* Ring + pool-set views over the mapped regions. */
static int attach_views(stream_t *s)
{
    if (tp_ring_init(&s->ring, s->ring_region.base, s->ring_region.size, NSLOTS) != 0) return -1;
    tp_pool_set_init(&s->pools);
    for (uint32_t i = 0; i < NPOOLS; i++) {
        if (tp_pool_set_add(&s->pools, (uint16_t)(i + 1), s->pool_region[i].base,
                            s->pool_region[i].size, NSLOTS, pool_strides[i]) != 0)
            return -1;
    }
    return 0;
}

static void unmap_regions(stream_t *s)
{
    tp_region_unmap(&s->ring_region);
    for (uint32_t i = 0; i < NPOOLS; i++) tp_region_unmap(&s->pool_region[i]);
}

static void remove_dir(void)
{
    if (g_dir[0] == '\0') return;
    for (int w = -1; w < (int)NPOOLS; w++) {
        char path[512];
        region_path(path, sizeof path, w);
        unlink(path);
    }
    rmdir(g_dir);
    g_dir[0] = '\0';
}

/* ---- writer ------------------------------------------------------------------------------ */

static void write_one(const stream_t *s, uint64_t seq, bool corrupt)
{
    uint32_t len = frame_len(seq);
    int32_t dims[1] = { (int32_t)len };
    tp_tensor_desc_t d;
    tp_ring_claim_t c;
    tp_tensor_desc_contiguous(&d, TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, dims);
    tp_ring_write_begin(&s->ring, tp_pool_select(&s->pools, len), seq, &c);
    tp_pattern_fill(c.payload, len, seq);
    tp_ring_write_header(&c, len, seq, 0, &d);
    tp_ring_write_commit(&c);
    if (corrupt && len > 0) {
        /* Self-test: change a committed payload byte behind the seqlock's back. */
        _Atomic uint8_t *b = (_Atomic uint8_t *)(c.payload + len / 2);
        atomic_store_explicit(b, (uint8_t)(atomic_load_explicit(b, memory_order_relaxed) ^ 0x5a),
                              memory_order_relaxed);
    }
}

static void run_writer(const stream_t *s, control_t *ctl, double seconds, bool self_test)
{
    uint64_t end = tp_clock_monotonic_ns() + (uint64_t)(seconds * 1e9);
    uint64_t seq = 0;
    for (;; seq++) {
        write_one(s, seq, self_test && (seq % 64) == 0);
        /* Release: readers that see next_seq > seq find frame seq committed (or newer). */
        atomic_store_explicit(&ctl->next_seq, seq + 1, memory_order_release);
        if ((seq & 255) == 0 &&
            (tp_clock_monotonic_ns() >= end || atomic_load_explicit(&ctl->stop, memory_order_relaxed)))
            break;
    }
    ctl->written = seq + 1;
    atomic_store_explicit(&ctl->stop, 1, memory_order_release); /* readers finish */
}

/* ---- reader ------------------------------------------------------------------------------ */

static bool frame_is_right(const stream_t *s, const tp_frame_view_t *v, uint64_t seq)
{
    uint32_t len = frame_len(seq);
    if (v->len != len || v->tensor.ndims != 1 || v->tensor.dims[0] != (int32_t)len ||
        v->timestamp_ns != seq || v->pool_id != tp_pool_select(&s->pools, len)->pool_id)
        return false;
    return tp_pattern_verify(v->data, v->len, seq) == 0;
}

static void check_one(const stream_t *s, tp_ring_reader_t *rd, uint64_t seq, reader_result_t *res)
{
    tp_frame_view_t v;
    res->attempts++;
    if (tp_ring_read(rd, seq, &v) != TP_DROP_NONE) return;
    bool right = frame_is_right(s, &v, seq); /* reads header copy + payload in place */
    if (!tp_ring_frame_intact(&v)) { /* W-74: lapped while reading; the result is discarded */
        res->overwritten++;
        return;
    }
    if (!right) {
        if (res->torn++ == 0) res->first_torn_seq = seq;
        return;
    }
    res->accepted++;
    res->bytes += v.len;
}

static void run_reader(const stream_t *s, control_t *ctl, int id)
{
    reader_result_t *res = &ctl->results[id];
    uint64_t last_commit[NSLOTS];
    tp_ring_reader_t rd;
    uint64_t rng = mix64((uint64_t)id + 1);
    tp_ring_reader_init(&rd, &s->ring, &s->pools, last_commit);
    /* Acquire: pairs with the writer's final release store of stop. */
    while (!atomic_load_explicit(&ctl->stop, memory_order_acquire)) {
        /* Acquire: frames below next are committed (their slots may be lapped since). */
        uint64_t next = atomic_load_explicit(&ctl->next_seq, memory_order_acquire);
        rng = mix64(rng);
        uint64_t lag = rng % (NSLOTS + 2); /* 0: being written; NSLOTS + 1: already lapped */
        if (lag > next) continue;
        check_one(s, &rd, next - lag, res);
    }
    res->drops_late = rd.drops_late;
    memcpy(res->drops, rd.drops, sizeof res->drops);
}

/* ---- process mode ---------------------------------------------------------------------------- */

static void kill_children(void)
{
    for (int i = 0; i < g_nchildren; i++) {
        if (g_children[i] > 0) {
            kill(g_children[i], SIGKILL);
            waitpid(g_children[i], NULL, 0);
            g_children[i] = 0;
        }
    }
}

static void at_exit_cleanup(void)
{
    kill_children();
    remove_dir();
}

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

/* Child body: map (writer read-write, readers read-only) and run the role. Never returns. */
static void child_main(control_t *ctl, const options_t *o, int role)
{
    stream_t s;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
    g_nchildren = 0;                  /* the parent reaps, not us */
    memset(&s, 0, sizeof s);
    if (map_regions(&s, role < 0) != 0 || attach_views(&s) != 0) {
        fprintf(stderr, "stress: %s map: %s\n", role < 0 ? "writer" : "reader", tp_errmsg());
        if (role < 0) atomic_store(&ctl->writer_failed, 1);
        else ctl->results[role].setup_failed = 1;
        atomic_store(&ctl->stop, 1);
        _exit(2);
    }
    atomic_fetch_add(&ctl->mapped, 1);
    if (role < 0) run_writer(&s, ctl, o->seconds, o->self_test);
    else run_reader(&s, ctl, role);
    unmap_regions(&s);
    _exit(0);
}

static int spawn(control_t *ctl, const options_t *o, int role)
{
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return -1; }
    if (pid == 0) {
            child_main(ctl, o, role);
    }
    g_children[g_nchildren++] = pid;
    return 0;
}

/* Wait for every child; the writer stops by itself after o->seconds. */
static int reap_all(control_t *ctl, const options_t *o)
{
    uint64_t deadline = tp_clock_monotonic_ns() + (uint64_t)((o->seconds + 20) * 1e9);
    int alive = g_nchildren, rc = 0, unlinked = 0;
    while (alive > 0) {
        if (!unlinked && atomic_load(&ctl->mapped) == g_nchildren) {
            remove_dir(); /* every role holds its mappings: nothing can be left behind now */
            unlinked = 1;
        }
        if (g_interrupted || tp_clock_monotonic_ns() > deadline) {
            atomic_store(&ctl->stop, 1);
            fprintf(stderr, "stress: %s; killing children\n",
                    g_interrupted ? "interrupted" : "children did not finish in time");
            kill_children();
            return -1;
        }
        for (int i = 0; i < g_nchildren; i++) {
            int st;
            if (g_children[i] <= 0 || waitpid(g_children[i], &st, WNOHANG) != g_children[i]) continue;
            g_children[i] = 0;
            alive--;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) rc = -1;
        }
        usleep(10000);
    }
    return rc;
}

static int run_processes(control_t *ctl, const options_t *o)
{
    for (int r = 0; r < o->readers; r++) {
        if (spawn(ctl, o, r) != 0) return -1;
    }
    if (spawn(ctl, o, -1) != 0) return -1;
    return reap_all(ctl, o);
}

/* ---- thread mode ------------------------------------------------------------------------------ */

typedef struct thread_arg {
    const stream_t *s;
    control_t *ctl;
    const options_t *o;
    int role;
} thread_arg_t;

static void *thread_main(void *p)
{
    thread_arg_t *a = p;
    if (a->role < 0) run_writer(a->s, a->ctl, a->o->seconds, a->o->self_test);
    else run_reader(a->s, a->ctl, a->role);
    return NULL;
}

/* One shared read-write mapping, so ThreadSanitizer sees writer and readers touch the same
 * addresses (a second mapping of the file would hide every race from it). */
static int run_threads(const stream_t *s, control_t *ctl, const options_t *o)
{
    pthread_t th[MAX_READERS + 1];
    thread_arg_t args[MAX_READERS + 1];
    int n = 0;
    for (int role = -1; role < o->readers; role++, n++) {
        args[n] = (thread_arg_t){ .s = s, .ctl = ctl, .o = o, .role = role };
        if (pthread_create(&th[n], NULL, thread_main, &args[n]) != 0) {
            atomic_store(&ctl->stop, 1);
            for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
            return -1;
        }
    }
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
    return 0;
}

/* ---- report ---------------------------------------------------------------------------------- */

static int report(const control_t *ctl, const options_t *o, double elapsed, const char *failed)
{
    reader_result_t sum;
    memset(&sum, 0, sizeof sum);
    uint64_t first_torn = UINT64_MAX;
    for (int r = 0; r < o->readers; r++) {
        const reader_result_t *x = &ctl->results[r];
        sum.attempts += x->attempts;
        sum.accepted += x->accepted;
        sum.overwritten += x->overwritten;
        sum.torn += x->torn;
        sum.bytes += x->bytes;
        sum.drops_late += x->drops_late;
        sum.setup_failed |= x->setup_failed;
        for (int k = 0; k < TP_DROP_COUNT; k++) sum.drops[k] += x->drops[k];
        if (x->torn && x->first_torn_seq < first_torn) first_torn = x->first_torn_seq;
    }
    printf("mode=%s\nself_test=%d\nseconds=%.2f\nreaders=%d\nnslots=%u\n",
           o->threads ? "threads" : "processes", o->self_test ? 1 : 0, elapsed, o->readers, NSLOTS);
    printf("written=%" PRIu64 "\nwritten_per_s=%.0f\n", ctl->written, ctl->written / elapsed);
    printf("attempts=%" PRIu64 "\naccepted=%" PRIu64 "\naccepted_per_s=%.0f\n", sum.attempts,
           sum.accepted, sum.accepted / elapsed);
    printf("verified_mib=%.1f\noverwritten_after_accept=%" PRIu64 "\n", sum.bytes / 1048576.0,
           sum.overwritten);
    printf("drops_late=%" PRIu64 "\n", sum.drops_late);
    for (int k = 1; k < TP_DROP_COUNT; k++) {
        if (sum.drops[k]) printf("drops_%s=%" PRIu64 "\n", tp_drop_reason_key(k), sum.drops[k]);
    }
    printf("torn=%" PRIu64 "\n", sum.torn);
    if (sum.torn) printf("first_torn_seq=%" PRIu64 "\n", first_torn);

    const char *why = failed;
    if (why) {
    } else if (atomic_load(&ctl->writer_failed) || sum.setup_failed) why = "setup failed";
    else if (o->self_test && sum.torn == 0) why = "self-test: the corrupted frames went unnoticed";
    else if (!o->self_test && sum.torn != 0) why = "torn frames accepted";
    else if (ctl->written < 1000) why = "writer wrote implausibly few frames";
    else if (sum.accepted < 100 || sum.accepted * 1000 < sum.attempts)
        why = "readers accepted implausibly few frames";
    printf("result=%s%s%s\n", why ? "FAIL" : "PASS", why ? " reason=" : "", why ? why : "");
    return why ? 1 : 0;
}

/* ---- main --------------------------------------------------------------------------------------- */

static int parse(int argc, char **argv, options_t *o)
{
    *o = (options_t){ .seconds = 2.0, .readers = 3 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) o->seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--readers") == 0 && i + 1 < argc) o->readers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0) o->threads = true;
        else if (strcmp(argv[i], "--self-test") == 0) o->self_test = true;
        else {
            fprintf(stderr, "usage: %s [--seconds S] [--readers N] [--threads] [--self-test]\n",
                    argv[0]);
            return -1;
        }
    }
    if (o->seconds <= 0 || o->readers < 1 || o->readers > MAX_READERS) {
        fprintf(stderr, "stress: --seconds > 0 and 1 <= --readers <= %d\n", MAX_READERS);
        return -1;
    }
    return 0;
}

static int make_private_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/tp-stress-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        g_dir[0] = '\0';
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options_t o;
    stream_t s;
    control_t *ctl;
    int rc;

    if (parse(argc, argv, &o) != 0) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    atexit(at_exit_cleanup);
    ctl = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ctl == MAP_FAILED) { perror("mmap"); return 2; }
    memset(ctl, 0, sizeof *ctl);
    memset(&s, 0, sizeof s);
    if (make_private_dir() != 0 || create_regions(&s) != 0 || attach_views(&s) != 0) {
        fprintf(stderr, "stress: setup: %s\n", tp_errmsg());
        unmap_regions(&s);
        return 2;
    }
    uint64_t t0 = tp_clock_monotonic_ns();
    rc = o.threads ? run_threads(&s, ctl, &o) : run_processes(ctl, &o);
    double elapsed = (tp_clock_monotonic_ns() - t0) / 1e9;
    unmap_regions(&s);
    remove_dir();
    if (rc != 0)
        return report(ctl, &o, elapsed, g_interrupted ? "interrupted" : "a role failed"), 1;
    return report(ctl, &o, elapsed, NULL);
}

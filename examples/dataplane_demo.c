/*
 * Data-plane demo: one producer process and one consumer process moving frames through a
 * header ring and a payload pool in shared memory, with zero copies on both sides.
 *
 *   tp_demo_dataplane [--seconds S] [--frame-bytes N] [--slots N]
 *
 * The parent plays the driver: it creates a private directory (under /dev/shm when usable,
 * else $TMPDIR or /tmp), creates header.ring (64 slots) and 1.pool (stride 1 MiB) with
 * tp_region_create, and forks
 *   * a producer, which maps the regions read-write with tp_region_map and publishes
 *     interop-pattern frames (a 640 x 1024 uint8 image by default) through the zero-copy
 *     writer: tp_ring_write_begin -> pattern written in place -> header -> commit;
 *   * a consumer, which maps them read-only and reads every published seq through
 *     tp_ring_read, verifies the pattern in place and then runs tp_ring_frame_intact (W-74).
 * Descriptors over a transport come later; until then the producer publishes its latest
 * seq in a small shared counter that the consumer follows.
 *
 * Prints a key=value summary; exits 1 if a torn frame was accepted or no frame flowed.
 * The files and directory are removed as soon as both children have mapped them (so even a
 * SIGKILL of the parent leaves nothing behind), and on every other path (error, signal);
 * the children are killed and reaped on every path and die with the parent
 * (PR_SET_PDEATHSIG).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm/region.h"
#include "shm/ring.h"
#include "tensorpool/error.h"
#include "util/clock.h"

#define STREAM_ID 10000u
#define EPOCH 1u
#define POOL_ID 1u
#define POOL_STRIDE (1u << 20)

typedef struct demo_opts {
    double seconds;
    uint32_t frame_bytes; /* multiple of 1024: a rows x 1024 uint8 image */
    uint32_t nslots;
} demo_opts_t;

/* Shared between the three processes (anonymous MAP_SHARED, created before fork). */
typedef struct demo_shared {
    _Atomic uint64_t next_seq;  /* frames below this are committed (the "descriptor") */
    _Atomic int stop;
    _Atomic int failed;
    _Atomic int mapped;         /* children that have mapped the regions */
    uint64_t published;         /* producer: frames written */
    uint64_t frames;            /* consumer: verified, intact frames */
    uint64_t bytes;
    uint64_t torn;
    uint64_t drops_gap;         /* seqs never tried: the consumer fell > nslots behind */
    uint64_t drops_late;        /* W-75 drops + frames lapped while being read */
    uint64_t late_after_read;   /* accepted, then overwritten while read (W-74) */
    uint64_t drops[TP_DROP_COUNT];
    double consumer_seconds;
} demo_shared_t;

typedef struct demo_stream {
    tp_region_t ring_region, pool_region;
    tp_ring_t ring;
    tp_pool_set_t pools;
} demo_stream_t;

static char g_dir[256];
static pid_t g_child[2];
static volatile sig_atomic_t g_signalled;

/* ---- regions ---------------------------------------------------------------------------- */

static void path_of(char *out, size_t cap, int pool)
{
    if (pool) snprintf(out, cap, "%s/%u.pool", g_dir, POOL_ID);
    else snprintf(out, cap, "%s/header.ring", g_dir);
}

static int create_regions(const demo_opts_t *o, demo_stream_t *s)
{
    tp_superblock_t sb;
    char path[512];
    memset(&sb, 0, sizeof sb);
    sb.epoch = EPOCH;
    sb.stream_id = STREAM_ID;
    sb.nslots = o->nslots;
    sb.region_type = TP_REGION_HEADER_RING;
    path_of(path, sizeof path, 0);
    if (tp_region_create(&s->ring_region, path, &sb, NULL) != 0) return -1;
    sb.region_type = TP_REGION_PAYLOAD_POOL;
    sb.pool_id = POOL_ID;
    sb.stride_bytes = POOL_STRIDE;
    path_of(path, sizeof path, 1);
    return tp_region_create(&s->pool_region, path, &sb, NULL);
}

/* Client-side mapping as a real producer/consumer does it: URI, containment, validation. */
static int map_regions(const demo_opts_t *o, demo_stream_t *s, bool writable)
{
    tp_allowed_dirs_t allowed;
    tp_region_expect_t e = { .layout_version = TP_LAYOUT_VERSION, .epoch = EPOCH,
                             .stream_id = STREAM_ID, .nslots = o->nslots };
    char path[512], uri[600];
    int n;
    tp_allowed_dirs_init(&allowed);
    if (tp_allowed_dirs_add(&allowed, g_dir) != 0) return -1;
    e.region_type = TP_REGION_HEADER_RING;
    path_of(path, sizeof path, 0);
    if ((n = tp_region_uri_format(uri, sizeof uri, path, false)) < 0 ||
        tp_region_map(&s->ring_region, uri, (size_t)n, &allowed, &e, writable) != 0)
        return -1;
    e.region_type = TP_REGION_PAYLOAD_POOL;
    e.pool_id = POOL_ID;
    e.stride_bytes = POOL_STRIDE;
    path_of(path, sizeof path, 1);
    if ((n = tp_region_uri_format(uri, sizeof uri, path, false)) < 0 ||
        tp_region_map(&s->pool_region, uri, (size_t)n, &allowed, &e, writable) != 0)
        return -1;
    if (tp_ring_init(&s->ring, s->ring_region.base, s->ring_region.size, o->nslots) != 0)
        return -1;
    tp_pool_set_init(&s->pools);
    return tp_pool_set_add(&s->pools, POOL_ID, s->pool_region.base, s->pool_region.size,
                           o->nslots, POOL_STRIDE);
}

static void unmap_regions(demo_stream_t *s)
{
    tp_region_unmap(&s->ring_region);
    tp_region_unmap(&s->pool_region);
}

static void remove_dir(void)
{
    char path[512];
    if (g_dir[0] == '\0') return;
    path_of(path, sizeof path, 0);
    unlink(path);
    path_of(path, sizeof path, 1);
    unlink(path);
    rmdir(g_dir);
    g_dir[0] = '\0';
}

static int make_private_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
        tmp = "/dev/shm";
    snprintf(g_dir, sizeof g_dir, "%s/tp-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(g_dir) != NULL) return 0;
    perror("mkdtemp");
    g_dir[0] = '\0';
    return -1;
}

/* ---- producer ----------------------------------------------------------------------------- */

static void produce(const demo_opts_t *o, const demo_stream_t *s, demo_shared_t *sh)
{
    int32_t dims[2] = { (int32_t)(o->frame_bytes / 1024), 1024 };
    tp_tensor_desc_t d;
    const tp_pool_t *pool = tp_pool_select(&s->pools, o->frame_bytes);
    uint64_t seq = 0;
    tp_tensor_desc_contiguous(&d, TP_DTYPE_UINT8, TP_MAJOR_ROW, 2, dims);
    d.progress_unit = TP_PROGRESS_ROWS; /* W-47: a row is 1024 bytes */
    d.progress_stride_bytes = 1024;
    if (pool == NULL || tp_tensor_desc_check(&d) != 0) {
        fprintf(stderr, "producer: frame does not fit or bad tensor: %s\n", tp_errmsg());
        atomic_store(&sh->failed, 1);
        return;
    }
    /* Acquire: pairs with the parent's release store of stop. */
    for (; !atomic_load_explicit(&sh->stop, memory_order_acquire); seq++) {
        tp_ring_claim_t c;
        tp_ring_write_begin(&s->ring, pool, seq, &c);
        tp_pattern_fill(c.payload, o->frame_bytes, seq); /* "the camera writes in place" */
        tp_ring_write_header(&c, o->frame_bytes, tp_clock_monotonic_ns(), 0, &d);
        tp_ring_write_commit(&c);
        /* Release: the stand-in descriptor; published only after the commit (W-65.7). */
        atomic_store_explicit(&sh->next_seq, seq + 1, memory_order_release);
    }
    sh->published = seq;
}

/* ---- consumer ----------------------------------------------------------------------------- */

static void consume_one(tp_ring_reader_t *rd, uint64_t seq, demo_shared_t *sh)
{
    tp_frame_view_t v;
    tp_drop_reason_t r = tp_ring_read(rd, seq, &v);
    if (r != TP_DROP_NONE) return; /* counted in rd */
    int bad = tp_pattern_verify(v.data, v.len, seq); /* zero-copy: read in place */
    if (!tp_ring_frame_intact(&v)) { /* W-74: lapped while reading, discard */
        sh->late_after_read++;
        return;
    }
    if (bad != 0) {
        sh->torn++;
        return;
    }
    sh->frames++;
    sh->bytes += v.len;
}

static void consume(const demo_opts_t *o, const demo_stream_t *s, demo_shared_t *sh)
{
    uint64_t *last_commit = calloc(o->nslots, sizeof *last_commit); /* setup, not hot path */
    tp_ring_reader_t rd;
    uint64_t want = 0, t0 = tp_clock_monotonic_ns();
    if (last_commit == NULL) { atomic_store(&sh->failed, 1); return; }
    tp_ring_reader_init(&rd, &s->ring, &s->pools, last_commit);
    while (!atomic_load_explicit(&sh->stop, memory_order_acquire)) {
        /* Acquire: every seq below next has been committed by the producer. */
        uint64_t next = atomic_load_explicit(&sh->next_seq, memory_order_acquire);
        if (want >= next) continue; /* nothing new: spin (a real consumer idles here) */
        if (next - want > o->nslots) { /* lapped: skip to what can still be in the ring */
            sh->drops_gap += next - o->nslots - want;
            want = next - o->nslots;
        }
        consume_one(&rd, want++, sh);
    }
    sh->consumer_seconds = (tp_clock_monotonic_ns() - t0) / 1e9;
    sh->drops_late = rd.drops_late + sh->late_after_read;
    memcpy(sh->drops, rd.drops, sizeof sh->drops);
    free(last_commit);
}

/* ---- processes ------------------------------------------------------------------------------ */

static void child(const demo_opts_t *o, demo_shared_t *sh, int is_producer)
{
    demo_stream_t s;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* die with the parent, whatever happens to it */
    signal(SIGINT, SIG_IGN);          /* the parent decides when to stop */
    memset(&s, 0, sizeof s);
    if (map_regions(o, &s, is_producer) != 0) {
        fprintf(stderr, "%s: %s\n", is_producer ? "producer" : "consumer", tp_errmsg());
        atomic_store(&sh->failed, 1);
        _exit(2);
    }
    atomic_fetch_add(&sh->mapped, 1);
    if (is_producer) produce(o, &s, sh);
    else consume(o, &s, sh);
    unmap_regions(&s);
    _exit(atomic_load(&sh->failed) ? 2 : 0);
}

static void kill_children(void)
{
    for (int i = 0; i < 2; i++) {
        if (g_child[i] > 0) {
            kill(g_child[i], SIGKILL);
            waitpid(g_child[i], NULL, 0);
            g_child[i] = 0;
        }
    }
}

static void cleanup(void)
{
    kill_children();
    remove_dir();
}

static void on_signal(int sig)
{
    (void)sig;
    g_signalled = 1;
}

/* Let the children run for o->seconds (or until a signal / failure), then stop and reap. */
static int run(const demo_opts_t *o, demo_shared_t *sh)
{
    uint64_t end = tp_clock_monotonic_ns() + (uint64_t)(o->seconds * 1e9);
    int rc = 0;
    /* Once both children hold their mappings the files are no longer needed: unlink them now,
     * so nothing is left behind even if this process is SIGKILLed. */
    while (atomic_load(&sh->mapped) < 2 && !g_signalled && !atomic_load(&sh->failed) &&
           tp_clock_monotonic_ns() < end)
        usleep(1000);
    remove_dir();
    while (!g_signalled && !atomic_load(&sh->failed) && tp_clock_monotonic_ns() < end)
        usleep(20000);
    /* Release: the children's acquire loads of stop see everything before it. */
    atomic_store_explicit(&sh->stop, 1, memory_order_release);
    for (int i = 0; i < 2; i++) {
        int st = 0;
        for (int waited = 0; waited < 500; waited++) { /* up to 5 s */
            if (waitpid(g_child[i], &st, WNOHANG) == g_child[i]) { g_child[i] = 0; break; }
            usleep(10000);
        }
        if (g_child[i] != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) rc = -1;
    }
    kill_children(); /* anything still alive after 5 s */
    return g_signalled ? -1 : rc;
}

static int report(const demo_opts_t *o, const demo_shared_t *sh, int run_rc)
{
    double secs = sh->consumer_seconds > 0 ? sh->consumer_seconds : o->seconds;
    printf("nslots=%u\npool_stride=%u\nframe_bytes=%u\nseconds=%.2f\n", o->nslots,
           POOL_STRIDE, o->frame_bytes, secs);
    printf("published=%" PRIu64 "\nframes=%" PRIu64 "\nframes_per_s=%.0f\nmib_per_s=%.0f\n",
           sh->published, sh->frames, sh->frames / secs, sh->bytes / secs / 1048576.0);
    printf("drops_gap=%" PRIu64 "\ndrops_late=%" PRIu64 "\n", sh->drops_gap, sh->drops_late);
    for (int k = 1; k < TP_DROP_COUNT; k++) {
        if (sh->drops[k]) printf("drops_%s=%" PRIu64 "\n", tp_drop_reason_key(k), sh->drops[k]);
    }
    printf("drops_lapped_while_reading=%" PRIu64 "\ntorn=%" PRIu64 "\n", sh->late_after_read,
           sh->torn);
    const char *why = run_rc != 0 ? (g_signalled ? "interrupted" : "a role failed")
                    : sh->torn != 0 ? "torn frames accepted"
                    : sh->frames == 0 ? "no frames flowed" : NULL;
    printf("result=%s%s%s\n", why ? "FAIL" : "PASS", why ? " reason=" : "", why ? why : "");
    return why ? 1 : 0;
}

static int parse(int argc, char **argv, demo_opts_t *o)
{
    *o = (demo_opts_t){ .seconds = 2.5, .frame_bytes = 640u * 1024u, .nslots = 64 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) o->seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--frame-bytes") == 0 && i + 1 < argc)
            o->frame_bytes = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--slots") == 0 && i + 1 < argc)
            o->nslots = (uint32_t)strtoul(argv[++i], NULL, 0);
        else return -1;
    }
    if (o->seconds <= 0 || o->frame_bytes == 0 || o->frame_bytes % 1024 != 0 ||
        o->frame_bytes > POOL_STRIDE || !tp_is_pow2_u32(o->nslots))
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    demo_opts_t o;
    demo_stream_t s;
    demo_shared_t *sh;
    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--seconds S] [--frame-bytes N*1024 <= 1 MiB] "
                        "[--slots POW2]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) { perror("mmap"); return 2; }
    memset(&s, 0, sizeof s);
    if (make_private_dir() != 0 || create_regions(&o, &s) != 0) {
        fprintf(stderr, "demo: setup: %s\n", tp_errmsg());
        unmap_regions(&s);
        return 2;
    }
    unmap_regions(&s); /* the driver's work is done; the files stay until we remove them */
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 2; }
        if (pid == 0) child(&o, sh, i == 0);
        g_child[i] = pid;
    }
    int rc = run(&o, sh);
    int out = report(&o, sh, rc);
    cleanup();
    return out;
}

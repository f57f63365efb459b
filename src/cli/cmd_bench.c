/*
 * tensorpool bench (DESIGN.md §5): the end-to-end benchmarks behind one command.
 *
 * It runs a private system in a fresh directory under /dev/shm (or /tmp): `tensorpool driver`
 * (this executable, its own process) with one stream of --slots slots of --payload-bytes,
 * one producer process and --consumers consumer processes, all on the public client API and
 * the embedded transport (--transport aeron: Aeron IPC through an embedded media driver that
 * the private driver runs in the same directory), and removes everything afterwards (also on
 * Ctrl-C). Every figure is printed next to the floor it is judged against, measured in the
 * same run (DESIGN.md §6):
 *
 *   floors      memcpy_floor: one core memcpy()ing the payload into a ring of the pool's size
 *               (frames/s and GB/s); handoff_floor: the same memcpy in one process and every
 *               byte read in another, a counter between them, lossless: a plain
 *               shared-memory pipeline on these two CPUs, no protocol; read_floor
 *               (informational): one core reading every byte of a ring of the pool's size,
 *               which shows whether the pool stays in the caches; cacheline_rtt: a cache line
 *               bounced between the producer's and the consumer's CPU (one way = rtt / 2).
 *   throughput  the producer publishes as fast as the ring goes (or at --rate HZ), copying
 *               the payload in (tp_producer_offer) or writing it in place (--in-place:
 *               reserve, write, publish); each consumer reads every payload byte, then checks
 *               tp_frame_is_intact(). frames/s and GB/s per role, with ratios to the floors.
 *               --sustained adds the highest rate every consumer takes with <= 2 % loss:
 *               the unpaced run when they kept up with it, else a search over paced runs
 *               (v1.2 has no consumer back-pressure: a slower consumer is lapped, so
 *               "sustained" is what a consumer really keeps up with).
 *   latency     one frame every --gap-us; each consumer records now - FrameDescriptor publish
 *               timestamp (CLOCK_MONOTONIC in both processes, W-124) at the validated view in
 *               a log-linear histogram: p50/p90/p99/p99.9/max, p50 over the one-way floor.
 *
 * Producer and consumers are pinned to different CPUs when there are at least two (the
 * producer on the last allowed CPU, consumers round-robin on the others); the driver is not
 * pinned (it sleeps between announces). The run is hermetic: environment overrides of the
 * driver and the clients (DRIVER_*, SHM_*, POLICIES_*, TP_* but TP_LOG_LEVEL, PRODUCER_*,
 * CONSUMER_*, AERON_DIR, TENSORPOOL_DIR) are ignored. Output: key=value lines, or one JSON
 * object (--json).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_client.h"
#include "cli/commands.h"
#include "tp_launch.h"
#include "transport/transport.h"

#define BENCH_CONSUMERS_MAX 16u
#define BENCH_STREAM 42u
#define BENCH_CONTROL 15000u
#define BENCH_ANNOUNCE 15001u

typedef struct bench_opts {
    uint32_t payload;   /* --payload-bytes */
    double duration;    /* --duration, seconds per run */
    uint32_t consumers; /* --consumers */
    uint32_t slots;     /* --slots (header_nslots, a power of two) */
    double rate;        /* --rate HZ for the throughput run; 0 = as fast as the ring goes */
    double gap_us;      /* --gap-us between latency frames */
    bool in_place;      /* --in-place */
    bool sustained;     /* --sustained */
    bool json;          /* --json */
    bool throughput, latency;
    bool aeron;         /* --transport aeron: the driver runs an embedded media driver */
} bench_opts_t;

typedef struct bench_cres {
    uint64_t frames, accepted, lapped, bad, drops_gap, drops_late;
    uint64_t sink; /* the sum of every byte read: keeps the reads from being optimised away */
    tp_cli_hist_t hist;
} bench_cres_t;

typedef struct bench_shared {
    _Atomic uint32_t consumers_ready;
    _Atomic int producer_ready, stop, failed;
    uint64_t p_frames, p_busy;
    double p_secs;
    bench_cres_t c[BENCH_CONSUMERS_MAX];
} bench_shared_t;

typedef struct bench_run {
    double rate;  /* producer pacing, frames/s; 0 = unpaced */
    bool latency; /* latency run: paced by gap, timestamps recorded */
} bench_run_t;

static bench_opts_t g_o;
static bench_shared_t *g_sh;
static char g_dir[PATH_MAX], g_transport[PATH_MAX + 16], g_shm[PATH_MAX + 16];
static char g_aeron_dir[PATH_MAX + 16]; /* --transport aeron: the media driver's directory */
static tp_proc_t g_driver = {.pid = -1};
static int g_cpus[64], g_ncpus;

static uint64_t now_ns(void) { return tp_launch_now_ns(); }

static double now_s(void) { return (double)now_ns() / 1e9; }

/* ---- CPUs ------------------------------------------------------------------------------------ */

static void find_cpus(void)
{
    cpu_set_t set;
    g_ncpus = 0;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    for (int i = 0; i < CPU_SETSIZE && g_ncpus < 64; i++)
        if (CPU_ISSET(i, &set))
            g_cpus[g_ncpus++] = i;
}

static void pin(int cpu)
{
    cpu_set_t set;
    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set);
}

static int producer_cpu(void) { return g_ncpus >= 2 ? g_cpus[g_ncpus - 1] : -1; }

static int consumer_cpu(uint32_t i)
{
    return g_ncpus >= 2 ? g_cpus[i % (uint32_t)(g_ncpus - 1)] : -1;
}

/* ---- floors ---------------------------------------------------------------------------------- */

static volatile uint64_t g_sink;

/* Reads every byte of [p, p + len): 64-bit words into four sums (the compiler vectorises it;
 * through an array on the stack it ran at half the memory speed). */
static inline uint64_t sum_bytes(const uint8_t *p, size_t len)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        uint64_t a, b, c, d;
        memcpy(&a, p + i, 8);
        memcpy(&b, p + i + 8, 8);
        memcpy(&c, p + i + 16, 8);
        memcpy(&d, p + i + 24, 8);
        s0 += a;
        s1 += b;
        s2 += c;
        s3 += d;
    }
    for (; i < len; i++)
        s0 += p[i];
    return s0 + s1 + s2 + s3;
}

static size_t stride_of(uint32_t payload)
{
    size_t s = 64;
    while (s < payload)
        s <<= 1;
    return s;
}

/* The floors copy into and read from a ring laid out as the pool is (LAYOUT: a 64-byte pool
 * header, then slot i at 64 + i x stride), so that their memcpy() sees the same addresses,
 * modulo the page, as the producer's: copy speed depends on them (below). */
static size_t floor_ring_bytes(void)
{
    return 64 + stride_of(g_o.payload) * g_o.slots;
}

static uint8_t *floor_slot(uint8_t *ring, uint64_t n)
{
    return ring + 64 + (n & (g_o.slots - 1)) * stride_of(g_o.payload);
}

/* The producer's (and the floors') source frame: 64-byte aligned, as a camera's DMA buffers
 * are. A source 1..63 bytes below the destination modulo 4096 makes memcpy()'s rep movsb
 * 20-60 % slower on current x86 (loads alias the stores just made); a slot's payload is
 * at 64 modulo 4096, and glibc's malloc() puts a large buffer at 16 modulo 4096: exactly that
 * case. docs/e2e.md, "Source alignment". Free with free(). */
static uint8_t *source_frame(void)
{
    size_t len = (g_o.payload + 63u) & ~(size_t)63u;
    uint8_t *src = aligned_alloc(64, len);
    if (src != NULL)
        for (size_t i = 0; i < len; i++)
            src[i] = (uint8_t)(i * 131u + 7u);
    return src;
}

/* One core memcpy()s the payload into a ring laid out as the pool. Frames/s. */
static double memcpy_floor_fps(void)
{
    size_t ring = floor_ring_bytes();
    uint8_t *dst = mmap(NULL, ring, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint8_t *src = source_frame();
    double best = 0;
    if (dst == MAP_FAILED || src == NULL) {
        free(src);
        return 0;
    }
    memset(dst, 1, ring);
    pin(producer_cpu());
    for (int rep = 0; rep < 3 && !tp_cli_stop; rep++) {
        uint64_t n = 0;
        double t0 = now_s(), el;
        do {
            for (uint32_t k = 0; k < 64; k++, n++)
                memcpy(floor_slot(dst, n), src, g_o.payload);
            el = now_s() - t0;
        } while (el < 0.3);
        if (n / el > best)
            best = n / el;
    }
    munmap(dst, ring);
    free(src);
    return best;
}

/* One core reads every payload byte of a ring with the pool's footprint, round robin as the
 * consumer does. Frames/s. Informational: it shows where a consumer's bytes come from when
 * the pool is larger than what the caches keep (docs/e2e.md, "640 KiB frames"). */
static double read_floor_fps(void)
{
    size_t ring = floor_ring_bytes();
    uint8_t *slots = mmap(NULL, ring, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint64_t sink = 0;
    double best = 0;
    if (slots == MAP_FAILED)
        return 0;
    memset(slots, 1, ring);
    pin(consumer_cpu(0));
    for (int rep = 0; rep < 3 && !tp_cli_stop; rep++) {
        uint64_t n = 0;
        double t0 = now_s(), el;
        do {
            for (uint32_t k = 0; k < 64; k++, n++)
                sink += sum_bytes(floor_slot(slots, n), g_o.payload);
            el = now_s() - t0;
        } while (el < 0.3);
        if (n / el > best)
            best = n / el;
    }
    munmap(slots, ring);
    g_sink = sink; /* the sums are used: the reads cannot be optimised away */
    return best;
}

typedef struct handoff {
    _Alignas(64) _Atomic uint64_t published;
    _Alignas(64) _Atomic uint64_t consumed;
    _Alignas(64) _Atomic int stop;
    uint64_t sink;
} handoff_t;

/* Memcpy in one process, every byte read in another, lossless (the writer stays at most
 * half the ring ahead). Frames/s the reader completed. */
static double handoff_floor_fps(void)
{
    size_t ring = floor_ring_bytes();
    uint8_t *slots = mmap(NULL, ring, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    handoff_t *h = mmap(NULL, sizeof *h, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint64_t n = 0, ahead = g_o.slots / 2 ? g_o.slots / 2 : 1;
    double t0, el;
    pid_t pid;
    if (slots == MAP_FAILED || h == MAP_FAILED)
        return 0;
    memset(slots, 1, ring);
    memset(h, 0, sizeof *h);
    pid = fork();
    if (pid == 0) {
        uint8_t *src = source_frame();
        uint64_t k = 0;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        pin(producer_cpu());
        if (src == NULL)
            _exit(1);
        while (!atomic_load_explicit(&h->stop, memory_order_relaxed)) {
            if (k >= atomic_load_explicit(&h->consumed, memory_order_acquire) + ahead)
                continue;
            memcpy(floor_slot(slots, k), src, g_o.payload);
            atomic_store_explicit(&h->published, ++k, memory_order_release);
        }
        _exit(0);
    }
    pin(consumer_cpu(0));
    t0 = now_s();
    do {
        for (int j = 0; j < 64; j++) {
            while (atomic_load_explicit(&h->published, memory_order_acquire) <= n) {
            }
            h->sink += sum_bytes(floor_slot(slots, n), g_o.payload);
            atomic_store_explicit(&h->consumed, ++n, memory_order_release);
        }
        el = now_s() - t0;
    } while (el < 0.5 && !tp_cli_stop);
    atomic_store(&h->stop, 1);
    waitpid(pid, NULL, 0);
    munmap(slots, ring);
    munmap(h, sizeof *h);
    return n / el;
}

typedef struct pingpong {
    _Alignas(64) _Atomic uint64_t ping;
    _Alignas(64) _Atomic uint64_t pong;
} pingpong_t;

/* Median round trip of a cache line between the producer's and consumer 0's CPU. */
static double cacheline_rtt_ns(void)
{
    const uint64_t rounds = 100000;
    pingpong_t *w = mmap(NULL, sizeof *w, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    tp_cli_hist_t *hist = calloc(1, sizeof *hist);
    double med = 0;
    pid_t pid;
    if (w == MAP_FAILED || hist == NULL) {
        free(hist);
        return 0;
    }
    atomic_store(&w->ping, 0);
    atomic_store(&w->pong, 0);
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        pin(producer_cpu());
        for (uint64_t i = 1; i <= rounds; i++) {
            while (atomic_load_explicit(&w->ping, memory_order_acquire) != i) {
            }
            atomic_store_explicit(&w->pong, i, memory_order_release);
        }
        _exit(0);
    }
    pin(consumer_cpu(0));
    for (uint64_t i = 1; i <= rounds; i++) {
        uint64_t t0 = now_ns();
        atomic_store_explicit(&w->ping, i, memory_order_release);
        while (atomic_load_explicit(&w->pong, memory_order_acquire) != i) {
        }
        tp_cli_hist_add(hist, now_ns() - t0);
    }
    waitpid(pid, NULL, 0);
    med = (double)tp_cli_hist_quantile(hist, 0.5);
    free(hist);
    munmap(w, sizeof *w);
    return med;
}

/* ---- the system ------------------------------------------------------------------------------ */

/* `tensorpool driver CFG --dir TRANSPORT` from this very executable, with the integration
 * example's streams (control 15000, announce 15001, QoS 15002) and one pool of the payload's
 * stride (tp_launch.h); waits for the driver's "started" line. */
static int start_driver(void)
{
    char cfg[PATH_MAX + 32], log[PATH_MAX + 32], env_dir[PATH_MAX + 32];
    char *envs[] = {env_dir, "TP_LOG_LEVEL=info" /* the "started" line */,
                    g_o.aeron ? "LAUNCH_MEDIA_DRIVER=true" : NULL, NULL};
    char *args[] = {"/proc/self/exe", "driver", cfg, "--dir", g_transport,
                    g_o.aeron ? "--transport" : NULL, "aeron", "--aeron-dir", g_aeron_dir, NULL};
    uint64_t end = now_ns() + 10000000000ull;
    snprintf(cfg, sizeof cfg, "%s/driver.toml", g_dir);
    snprintf(log, sizeof log, "%s/driver.log", g_dir);
    snprintf(env_dir, sizeof env_dir, "TENSORPOOL_DIR=%s", g_transport);
    if (tp_launch_write_config(cfg, g_shm, BENCH_CONTROL, BENCH_STREAM, g_o.slots,
                               (uint32_t)stride_of(g_o.payload), 1000, 1000, 3) != 0 ||
        tp_proc_start(&g_driver, args, envs, log) != 0)
        return -1;
    while (!tp_proc_output_contains(&g_driver, "driver: started")) {
        if (tp_proc_poll(&g_driver) || now_ns() > end || tp_cli_stop)
            return -1;
        tp_cli_sleep_ns(10000000);
    }
    return 0;
}

/* A forked producer/consumer ends by itself once g_sh->stop is set: wait up to wait_ms, then
 * SIGKILL and reap. */
static void reap_child(pid_t pid, int wait_ms)
{
    int st;
    if (pid <= 0)
        return;
    for (int k = 0; k < wait_ms / 10 && waitpid(pid, &st, WNOHANG) == 0; k++)
        tp_cli_sleep_ns(10000000);
    if (kill(pid, 0) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
}

static void common_for(tp_cli_common_t *c)
{
    tp_cli_common_init(c);
    c->dir = g_transport;
    c->allowed_dirs[0] = g_shm;
    c->allowed_dir_count = 1;
    c->stream_id = BENCH_STREAM;
    c->control_stream = BENCH_CONTROL;
    if (g_o.aeron) {
        c->transport = "aeron";
        c->aeron_dir = g_aeron_dir;
    }
}

/* ---- consumer -------------------------------------------------------------------------------- */

typedef struct cstate {
    bench_cres_t *res;
    bool latency;
} cstate_t;

static void on_frame(void *clientd, const tp_frame_t *f)
{
    cstate_t *st = clientd;
    uint64_t now = st->latency ? now_ns() : 0; /* first: the view is validated */
    uint64_t head = 0, sum;
    st->res->frames++;
    memcpy(&head, f->data, f->len < 8 ? f->len : 8);
    sum = st->latency ? 0 : sum_bytes(f->data, f->len); /* touch every payload byte */
    if (!tp_frame_is_intact(f)) {
        st->res->lapped++;
        return;
    }
    if (g_o.in_place && f->len >= 8 && head != f->seq) { /* in place: seq in the first 8 */
        st->res->bad++;
        return;
    }
    st->res->accepted++;
    st->res->sink += sum;
    if (st->latency && f->publish_timestamp_ns != TP_NULL_U64)
        tp_cli_hist_add(&st->res->hist, now - f->publish_timestamp_ns);
}

static void consumer_main(uint32_t idx, bench_run_t run)
{
    tp_cli_common_t com;
    tp_cli_session_t s;
    tp_consumer_config_t cfg;
    tp_consumer_t *c = NULL;
    tp_consumer_stats_t cs;
    cstate_t st = {.res = &g_sh->c[idx], .latency = run.latency};
    uint64_t last_work = 0;
    pin(consumer_cpu(idx));
    common_for(&com);
    if (tp_cli_attach(&s, &com, TP_ROLE_CONSUMER) != 0)
        goto fail;
    tp_consumer_config_init(&cfg);
    cfg.announce_stream_id = BENCH_ANNOUNCE;
    if (tp_consumer_init_from_attach(&c, &cfg, s.att, s.dc) != 0) {
        printf("error=consumer: %s\n", tp_errmsg());
        goto fail;
    }
    atomic_fetch_add(&g_sh->consumers_ready, 1);
    /* The duty cycle of a latency-minded consumer: the descriptor poll alone in the loop,
     * the clock read every 64 rounds and tp_consumer_do_work (announces, QoS, keepalives)
     * every 100 us, so an arriving descriptor waits for one poll, not for a do_work. */
    for (uint32_t round = 1; !atomic_load_explicit(&g_sh->stop, memory_order_relaxed); round++) {
        int n = tp_consumer_poll(c, on_frame, &st, 256);
        if (n < 0 || (round & 63) == 0) {
            uint64_t now = now_ns();
            if (n < 0 || now - last_work >= 100000) {
                tp_consumer_do_work(c, now);
                last_work = now;
            }
        }
    }
    tp_consumer_get_stats(c, &cs);
    st.res->drops_gap = cs.drops_gap;
    st.res->drops_late = cs.drops_late;
    tp_consumer_close(c);
    tp_cli_detach(&s);
    _exit(0);
fail:
    atomic_store(&g_sh->failed, 1);
    _exit(1);
}

/* ---- producer -------------------------------------------------------------------------------- */

static void producer_main(bench_run_t run)
{
    tp_cli_common_t com;
    tp_cli_session_t s;
    tp_producer_config_t cfg;
    tp_producer_t *p = NULL;
    tp_tensor_desc_t desc;
    int32_t dims[1] = {(int32_t)g_o.payload};
    uint8_t *src = source_frame();
    uint64_t n = 0, busy = 0, t0, end, next, last_work = 0;
    uint64_t period = run.rate > 0 ? (uint64_t)(1e9 / run.rate) : 0;
    pin(producer_cpu());
    common_for(&com);
    if (src == NULL || tp_cli_attach(&s, &com, TP_ROLE_PRODUCER) != 0)
        goto fail;
    tp_producer_config_init(&cfg);
    cfg.announce_stream_id = BENCH_ANNOUNCE;
    if (tp_producer_init_from_attach(&p, &cfg, s.att, s.dc) != 0) {
        printf("error=producer: %s\n", tp_errmsg());
        goto fail;
    }
    tp_tensor_desc_contiguous(&desc, TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, dims);
    /* let the consumers see the announce of this producer's epoch before timing starts */
    for (uint64_t e = now_ns() + 300000000ull; now_ns() < e;) {
        tp_producer_do_work(p, now_ns());
        tp_cli_sleep_ns(1000000);
    }
    atomic_store(&g_sh->producer_ready, 1);
    t0 = next = now_ns();
    end = t0 + (uint64_t)(g_o.duration * 1e9);
    for (;;) {
        uint64_t now = now_ns();
        int rc;
        if (now >= end || tp_cli_stop)
            break;
        if (period != 0) {
            while ((now = now_ns()) < next) {
            }
            next += period;
        }
        if (g_o.in_place) {
            tp_reservation_t r;
            rc = tp_producer_reserve(p, 1, &r);
            if (rc == 0) {
                memcpy(r.data, src, g_o.payload); /* the camera's DMA, in place */
                if (g_o.payload >= 8)
                    memcpy(r.data, &r.seq, 8);
                rc = tp_producer_publish(p, &r, g_o.payload, &desc, NULL);
            }
        } else {
            rc = tp_producer_offer(p, src, g_o.payload, &desc, NULL);
        }
        if (rc == 0)
            n++;
        else
            busy++;
        if (rc != 0 || (n & 4095) == 0 || now - last_work > 1000000) {
            tp_producer_do_work(p, now);
            last_work = now;
        }
    }
    g_sh->p_secs = (double)(now_ns() - t0) / 1e9;
    g_sh->p_frames = n;
    g_sh->p_busy = busy;
    tp_cli_sleep_ns(100000000); /* the consumers drain the last descriptors */
    atomic_store(&g_sh->stop, 1);
    tp_producer_close(p);
    tp_cli_detach(&s);
    free(src);
    _exit(0);
fail:
    atomic_store(&g_sh->failed, 1);
    atomic_store(&g_sh->stop, 1);
    _exit(1);
}

/* One run: consumers first (attached and mapped), then the producer for --duration. */
static int run_once(bench_run_t run)
{
    pid_t cons[BENCH_CONSUMERS_MAX], prod;
    uint64_t end;
    memset(g_sh, 0, sizeof *g_sh);
    fflush(stdout);
    for (uint32_t i = 0; i < g_o.consumers; i++) {
        cons[i] = fork();
        if (cons[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            consumer_main(i, run);
        }
    }
    end = now_ns() + 15000000000ull;
    while (atomic_load(&g_sh->consumers_ready) < g_o.consumers && !atomic_load(&g_sh->failed) &&
           now_ns() < end && !tp_cli_stop)
        tp_cli_sleep_ns(5000000);
    prod = fork();
    if (prod == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        producer_main(run);
    }
    end = now_ns() + (uint64_t)((g_o.duration + 30) * 1e9);
    while (!atomic_load(&g_sh->stop) && now_ns() < end && !tp_cli_stop)
        tp_cli_sleep_ns(10000000);
    atomic_store(&g_sh->stop, 1);
    reap_child(prod, 5000);
    for (uint32_t i = 0; i < g_o.consumers; i++)
        reap_child(cons[i], 5000);
    return atomic_load(&g_sh->failed) || tp_cli_stop ? -1 : 0;
}

/* Totals over consumers of the last run. */
static void totals(uint64_t *accepted_min, uint64_t *lapped, uint64_t *bad, uint64_t *gap,
                   uint64_t *late)
{
    *accepted_min = UINT64_MAX;
    *lapped = *bad = *gap = *late = 0;
    for (uint32_t i = 0; i < g_o.consumers; i++) {
        const bench_cres_t *r = &g_sh->c[i];
        if (r->accepted < *accepted_min)
            *accepted_min = r->accepted;
        *lapped += r->lapped;
        *bad += r->bad;
        *gap += r->drops_gap;
        *late += r->drops_late;
    }
}

/* ---- output ---------------------------------------------------------------------------------- */

static bool g_first_field;

static void out_begin(void)
{
    if (g_o.json)
        printf("{");
    g_first_field = true;
}

static void out_num(const char *key, double v, int decimals)
{
    if (g_o.json)
        printf("%s\"%s\":%.*f", g_first_field ? "" : ",", key, decimals, v);
    else
        printf("%s%s=%.*f", g_first_field ? "" : " ", key, decimals, v);
    g_first_field = false;
}

static void out_str(const char *key, const char *v)
{
    if (g_o.json)
        printf("%s\"%s\":\"%s\"", g_first_field ? "" : ",", key, v);
    else
        printf("%s%s=%s", g_first_field ? "" : " ", key, v);
    g_first_field = false;
}

static void out_line_end(void)
{
    if (!g_o.json) {
        printf("\n");
        g_first_field = true;
    }
}

static void out_end(void)
{
    if (g_o.json)
        printf("}\n");
    fflush(stdout);
}

static int usage(FILE *f)
{
    fprintf(f,
            "usage: tensorpool bench [--payload-bytes N] [--duration SEC] [--consumers N]\n"
            "                        [--slots N] [--rate HZ] [--in-place] [--sustained]\n"
            "                        [--gap-us US] [--phase throughput|latency|all] [--json]\n"
            "                        [--transport embedded|aeron]\n"
            "Runs a private driver, one producer and N consumers; prints every figure with\n"
            "the floor it is judged against (memcpy, two-process handoff, cache line).\n");
    return f == stdout ? 0 : 2;
}

static int parse(int argc, char **argv)
{
    memset(&g_o, 0, sizeof g_o);
    g_o.payload = 655360;
    g_o.duration = 3;
    g_o.consumers = 1;
    g_o.slots = 64;
    g_o.gap_us = 20;
    g_o.throughput = g_o.latency = true;
    for (int i = 1; i < argc; i++) {
        const char *v;
        bool err = false;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(argv[i], "--json")) {
            g_o.json = true;
        } else if (!strcmp(argv[i], "--in-place")) {
            g_o.in_place = true;
        } else if (!strcmp(argv[i], "--sustained")) {
            g_o.sustained = true;
        } else if ((v = tp_cli_optval("--payload-bytes", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_u32(v, &g_o.payload) != 0 || g_o.payload == 0 ||
                g_o.payload > (1u << 30))
                goto bad;
        } else if ((v = tp_cli_optval("--duration", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_double(v, &g_o.duration) != 0 || !(g_o.duration > 0) ||
                g_o.duration > 3600)
                goto bad;
        } else if ((v = tp_cli_optval("--consumers", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_u32(v, &g_o.consumers) != 0 || g_o.consumers == 0 ||
                g_o.consumers > BENCH_CONSUMERS_MAX)
                goto bad;
        } else if ((v = tp_cli_optval("--slots", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_u32(v, &g_o.slots) != 0 || g_o.slots < 2 ||
                g_o.slots > 65536 || (g_o.slots & (g_o.slots - 1)) != 0)
                goto bad;
        } else if ((v = tp_cli_optval("--rate", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_double(v, &g_o.rate) != 0 || g_o.rate < 0)
                goto bad;
        } else if ((v = tp_cli_optval("--gap-us", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_double(v, &g_o.gap_us) != 0 || !(g_o.gap_us > 0))
                goto bad;
        } else if ((v = tp_cli_optval("--transport", argc, argv, &i, &err)) != NULL || err) {
            tp_transport_kind_t k;
            if (err || tp_transport_kind_parse(v, &k) != 0)
                goto bad;
            g_o.aeron = k == TP_TRANSPORT_AERON;
        } else if ((v = tp_cli_optval("--phase", argc, argv, &i, &err)) != NULL || err) {
            if (err)
                goto bad;
            g_o.throughput = !strcmp(v, "throughput") || !strcmp(v, "all");
            g_o.latency = !strcmp(v, "latency") || !strcmp(v, "all");
            if (!g_o.throughput && !g_o.latency)
                goto bad;
        } else {
            printf("error=unknown option '%s'\n", argv[i]);
            usage(stderr);
            return -1;
        }
        continue;
    bad:
        printf("error=bad or missing value for %s (see tensorpool bench --help)\n", argv[i]);
        return -1;
    }
    if ((uint64_t)stride_of(g_o.payload) * g_o.slots > (4ull << 30)) {
        printf("error=--slots x stride (%zu) exceeds 4 GiB\n", stride_of(g_o.payload));
        return -1;
    }
    return 0;
}

/* ---- phases ---------------------------------------------------------------------------------- */

static int phase_throughput(double memcpy_fps, double handoff_fps)
{
    bench_run_t run = {.rate = g_o.rate, .latency = false};
    uint64_t acc, lapped, bad, gap, late;
    double pfps, cfps, best = 0;
    if (run_once(run) != 0)
        return -1;
    totals(&acc, &lapped, &bad, &gap, &late);
    pfps = g_sh->p_secs > 0 ? g_sh->p_frames / g_sh->p_secs : 0;
    cfps = g_sh->p_secs > 0 ? acc / g_sh->p_secs : 0;
    if (!g_o.json)
        printf("# throughput: producer %s, %u consumer(s) reading every byte\n",
               g_o.rate > 0 ? "paced" : "unpaced", g_o.consumers);
    out_num("producer_frames_per_s", pfps, 0);
    out_num("producer_GBps", pfps * g_o.payload / 1e9, 3);
    out_num("consumer_accepted_per_s_min", cfps, 0);
    out_num("consumer_GBps_min", cfps * g_o.payload / 1e9, 3);
    out_num("producer_to_memcpy", memcpy_fps > 0 ? pfps / memcpy_fps : 0, 3);
    out_num("consumer_to_handoff", handoff_fps > 0 ? cfps / handoff_fps : 0, 3);
    out_num("lapped", (double)lapped, 0);
    out_num("torn", (double)bad, 0);
    out_num("drops_gap", (double)gap, 0);
    out_num("drops_late", (double)late, 0);
    out_line_end();
    if (!g_o.sustained)
        return 0;
    /* The highest rate every consumer takes with <= 2 % loss. The run above counts: when the
     * consumers kept up with the producer's own pace it is the answer (the producer is the
     * bottleneck, pacing it lower cannot raise the rate). Otherwise paced runs: down 15 % per
     * step, or straight to 90 % of what the consumers took at the failed rate when that is
     * lower (a consumer starved of CPU takes a small fraction), until one passes; then
     * bisections towards the lowest rate that failed. */
    {
        double rate = 0.95 * (cfps < pfps ? cfps : pfps), fail = pfps, pass = 0;
        double loss0 = g_sh->p_frames ? 1.0 - (double)acc / (double)g_sh->p_frames : 1;
        bool kept_up = g_o.rate <= 0 && loss0 <= 0.02;
        if (kept_up) {
            best = cfps;
            if (!g_o.json)
                printf("# unpaced run: loss %.4f <= 0.02, the consumers kept up\n", loss0);
        }
        if (rate <= 0)
            rate = 1000;
        for (int k = 0; k < 11 && !kept_up && rate > 10 && !tp_cli_stop; k++) {
            double loss, took; /* took: frames/s every consumer accepted at this rate */
            run.rate = rate;
            if (run_once(run) != 0)
                return -1;
            totals(&acc, &lapped, &bad, &gap, &late);
            loss = g_sh->p_frames ? 1.0 - (double)acc / (double)g_sh->p_frames : 1;
            took = g_sh->p_secs > 0 ? acc / g_sh->p_secs : 0;
            if (!g_o.json)
                printf("# paced %.0f frames/s: accepted %.0f/s, loss %.4f\n", rate, took, loss);
            if (loss <= 0.02) {
                best = took > best ? took : best;
                pass = rate > pass ? rate : pass;
            } else {
                fail = rate < fail ? rate : fail;
            }
            if (pass == 0)
                rate = took > 0 && 0.9 * took < 0.85 * rate ? 0.9 * took : 0.85 * rate;
            else if (fail - pass < 0.02 * pass)
                break;
            else
                rate = (pass + fail) / 2;
        }
        if (best <= 0 && !g_o.json)
            printf("# no paced rate kept the loss <= 0.02: sustained 0 (consumers starved?)\n");
        out_num("sustained_frames_per_s", best, 0);
        out_num("sustained_GBps", best * g_o.payload / 1e9, 3);
        out_num("sustained_to_memcpy", memcpy_fps > 0 ? best / memcpy_fps : 0, 3);
        out_num("sustained_to_handoff", handoff_fps > 0 ? best / handoff_fps : 0, 3);
        out_line_end();
    }
    return 0;
}

static int phase_latency(double rtt)
{
    bench_run_t run = {.rate = 1e6 / g_o.gap_us, .latency = true};
    tp_cli_hist_t *all = calloc(1, sizeof *all);
    uint64_t acc, lapped, bad, gap, late;
    double floor = rtt / 2;
    if (all == NULL || run_once(run) != 0) {
        free(all);
        return -1;
    }
    totals(&acc, &lapped, &bad, &gap, &late);
    for (uint32_t i = 0; i < g_o.consumers; i++) {
        const tp_cli_hist_t *h = &g_sh->c[i].hist;
        for (size_t b = 0; b < sizeof h->buckets / sizeof h->buckets[0]; b++)
            all->buckets[b] += h->buckets[b];
        all->count += h->count;
        all->max = h->max > all->max ? h->max : all->max;
    }
    if (!g_o.json)
        printf("# latency: one frame every %.1f us, commit to validated view\n", g_o.gap_us);
    out_num("latency_samples", (double)all->count, 0);
    out_num("latency_p50_ns", (double)tp_cli_hist_quantile(all, 0.5), 0);
    out_num("latency_p90_ns", (double)tp_cli_hist_quantile(all, 0.9), 0);
    out_num("latency_p99_ns", (double)tp_cli_hist_quantile(all, 0.99), 0);
    out_num("latency_p999_ns", (double)tp_cli_hist_quantile(all, 0.999), 0);
    out_num("latency_max_ns", (double)all->max, 0);
    out_num("latency_floor_one_way_ns", floor, 0);
    out_num("latency_p50_to_floor", floor > 0 ? tp_cli_hist_quantile(all, 0.5) / floor : 0, 2);
    out_num("latency_torn", (double)bad, 0);
    out_num("latency_lapped", (double)lapped, 0);
    out_line_end();
    free(all);
    return 0;
}

/* The bench is hermetic: the driver it starts reads only the config written here, and its
 * clients only the settings made here. Environment overrides of the driver (D-89: DRIVER_*,
 * SHM_*, POLICIES_* and their aliases) and of the clients (TP_*, PRODUCER_*, CONSUMER_*) would
 * otherwise leak in, e.g. a SHM_BASE_DIR pointing the "private" driver at a running one. */
static void clear_overrides(void)
{
    static const char *const prefixes[] = {"DRIVER_", "SHM_", "POLICIES_", "PRODUCER_",
                                           "CONSUMER_", "TP_", "AERON_DIR=",
                                           "LAUNCH_MEDIA_DRIVER=", "TENSORPOOL_DIR="};
    extern char **environ;
    char name[256];
    for (size_t i = 0; environ != NULL && environ[i] != NULL;) {
        const char *e = environ[i], *eq = strchr(e, '=');
        bool drop = false;
        for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0] && !drop; k++)
            drop = strncmp(e, prefixes[k], strlen(prefixes[k])) == 0 &&
                   strncmp(e, "TP_LOG_LEVEL=", 13) != 0;
        if (drop && eq != NULL && (size_t)(eq - e) < sizeof name) {
            memcpy(name, e, (size_t)(eq - e));
            name[eq - e] = '\0';
            unsetenv(name); /* environ shifts down: look at index i again */
            continue;
        }
        i++;
    }
}

int tp_cmd_bench(int argc, char **argv)
{
    double memcpy_fps = 0, handoff_fps = 0, read_fps = 0, rtt = 0;
    int rc = parse(argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    tp_cli_install_signals();
    clear_overrides();
    setenv("TP_LOG_LEVEL", "warn", 0); /* the clients' info lines would interleave the table */
    find_cpus();
    g_sh = mmap(NULL, sizeof *g_sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_sh == MAP_FAILED) {
        printf("error=mmap: %s\n", strerror(errno));
        return 1;
    }
    snprintf(g_dir, sizeof g_dir, "%s/tensorpool-bench-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(g_dir) == NULL) {
        printf("error=mkdtemp %s: %s\n", g_dir, strerror(errno));
        return 1;
    }
    snprintf(g_transport, sizeof g_transport, "%s/transport", g_dir);
    snprintf(g_shm, sizeof g_shm, "%s/shm", g_dir);
    snprintf(g_aeron_dir, sizeof g_aeron_dir, "%s/aeron", g_dir);
    rc = 0;
    if (mkdir(g_transport, 0700) != 0 || mkdir(g_shm, 0700) != 0) {
        printf("error=mkdir in %s: %s\n", g_dir, strerror(errno));
        rc = 1;
        goto out;
    }
    if (start_driver() != 0) {
        char out[4096];
        tp_proc_output(&g_driver, out, sizeof out);
        printf("error=the driver did not start; its output:\n%s\n", out);
        rc = 1;
        goto out;
    }
    out_begin();
    if (!g_o.json)
        printf("# tensorpool bench: payload %u bytes, %u slots, %u consumer(s), %.1f s per run, "
               "producer cpu %d, consumer cpu %d, transport %s\n",
               g_o.payload, g_o.slots, g_o.consumers, g_o.duration, producer_cpu(),
               consumer_cpu(0), g_o.aeron ? "aeron (embedded media driver)" : "embedded");
    out_num("payload_bytes", g_o.payload, 0);
    out_num("slots", g_o.slots, 0);
    out_num("consumers", g_o.consumers, 0);
    out_str("transport", g_o.aeron ? "aeron" : "embedded");
    if (g_o.throughput) {
        memcpy_fps = memcpy_floor_fps();
        handoff_fps = handoff_floor_fps();
        read_fps = read_floor_fps();
        out_num("memcpy_floor_frames_per_s", memcpy_fps, 0);
        out_num("memcpy_floor_GBps", memcpy_fps * g_o.payload / 1e9, 3);
        out_num("read_floor_frames_per_s", read_fps, 0);
        out_num("read_floor_GBps", read_fps * g_o.payload / 1e9, 3);
        out_num("handoff_floor_frames_per_s", handoff_fps, 0);
        out_num("handoff_floor_GBps", handoff_fps * g_o.payload / 1e9, 3);
    }
    /* always: it tells whether the two CPUs share a cache (a VM's vCPUs may sit on one core
     * complex or on two), which bounds every two-process figure (docs/e2e.md) */
    rtt = cacheline_rtt_ns();
    out_num("cacheline_rtt_ns", rtt, 0);
    out_line_end();
    if (g_o.throughput && !tp_cli_stop && phase_throughput(memcpy_fps, handoff_fps) != 0)
        rc = 1;
    if (g_o.latency && !tp_cli_stop && rc == 0 && phase_latency(rtt) != 0)
        rc = 1;
    if (rc != 0) {
        const char *why = tp_cli_stop ? "interrupted"
                                      : "a run failed (a process did not attach or exited early)";
        if (g_o.json)
            printf("%s\"error\":\"%s\"", g_first_field ? "" : ",", why);
        else
            printf("error=%s\n", why);
    }
    out_end();
out:
    if (g_driver.pid > 0)
        tp_proc_stop(&g_driver, 3000);
    tp_launch_rmtree(g_dir);
    munmap(g_sh, sizeof *g_sh);
    return tp_cli_stop ? 130 : rc;
}

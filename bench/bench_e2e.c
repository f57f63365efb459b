/*
 * End-to-end benchmark (issue 5 "Benchmark"): the real driver (`tensorpool driver`, its own
 * process), a producer process and a consumer process, each on the public client API, moving
 * frames through the driver-provisioned pools of a private directory. Every figure is printed
 * next to a floor measured in the same run (DESIGN.md §6):
 *
 *  (a) big     640 KiB frames (stream 42: 64 slots, stride 640 KiB) copied in with
 *              tp_producer_offer; the consumer reads every payload byte (8-byte sums) before
 *              tp_frame_is_intact. First unpaced (the producer as fast as the ring goes: it
 *              laps a slower consumer, v1.2 has no backpressure), then paced at the highest
 *              rate the consumer takes with <= 2 % loss (a short search). Figures: frames/s
 *              and GB/s, next to the memcpy floor (640 KiB memcpy into a 64 MiB ring of
 *              slots, one core): ratio = sustained / memcpy-bound frames/s (target >= 0.8).
 *              A second floor, the handoff floor, is the same pipeline without tensorpool
 *              (memcpy into a shared ring in one process, every byte read in another, a
 *              counter between them): how much of the gap to memcpy is the two-core
 *              hand-over itself.
 *  (b) small   64-byte frames (stream 43: 4096 slots, stride 64) written in place
 *              (reserve, 64-byte store, publish) as fast as possible; frames/s published and
 *              accepted (target >= 5 M/s).
 *  (c) latency one 64-byte frame every --gap-us (default 20 us) on stream 43; the consumer
 *              busy-polls and records now − FrameDescriptor publish timestamp (CLOCK_MONOTONIC
 *              in both processes) at the validated view; p50/p99/p99.9/max next to the floor:
 *              half a cache-line round trip between the same two CPUs (target p50 <= 3 x
 *              floor).
 *
 * Producer and consumer are pinned to two different CPUs (the last two allowed); the driver
 * is not pinned (it sleeps between announces and keepalives).
 *
 *   bench_e2e [--seconds S (per phase, 3)] [--gap-us N] [--phase big|small|latency|all]
 *             [--bin PATH/tensorpool]
 */
#define _GNU_SOURCE 1
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "example_common.h"
#include "tp_launch.h"

#ifndef TP_BINARY_DIR
#define TP_BINARY_DIR "."
#endif

#define BIG_LEN 655360u
#define SMALL_LEN 64u
#define LAT_MAX (1u << 21)

typedef struct shared {
    _Atomic int consumer_ready, producer_ready, stop, failed;
    uint64_t p_frames, p_busy;
    double p_secs;
    uint64_t c_frames, c_accepted, c_lapped, c_bad, c_drops_gap, c_drops_late;
    double c_secs;
    uint64_t sink;
    uint64_t c_work_max_ns, p_work_max_ns; /* longest single do_work call */
    uint64_t c_work_slow;                  /* consumer do_work calls longer than 1 ms */
    uint64_t nlat;
    uint64_t lat[LAT_MAX];
} shared_t;

static shared_t *g_sh;
static char g_dir[PATH_MAX], g_transport[PATH_MAX + 16], g_shm[PATH_MAX + 16];
static tp_proc_t g_driver;
static int g_cpu_a = -1, g_cpu_b = -1;
static double g_seconds = 3;
static unsigned g_gap_ns = 20000;
static double g_big_rate; /* 0 = as fast as the ring goes */

static void pin(int cpu)
{
    cpu_set_t set;
    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static void pick_cpus(void)
{
    cpu_set_t set;
    int last = -1, prev = -1;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set)) {
            prev = last;
            last = i;
        }
    g_cpu_a = prev;
    g_cpu_b = last;
}

static double now_s(void) { return (double)tp_launch_now_ns() / 1e9; }

/* ---- floors ---------------------------------------------------------------------------------- */

static double memcpy_floor_fps(void)
{
    size_t ring = 64u << 20;
    uint8_t *dst = mmap(NULL, ring, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint8_t *src = malloc(BIG_LEN);
    double best = 0;
    if (dst == MAP_FAILED || src == NULL)
        return 0;
    memset(dst, 1, ring);
    memset(src, 2, BIG_LEN);
    pin(g_cpu_b);
    for (int rep = 0; rep < 3; rep++) {
        uint64_t n = 0;
        double t0 = now_s(), el;
        do {
            for (int k = 0; k < 64; k++, n++)
                memcpy(dst + ((n & 63) << 20), src, BIG_LEN);
            el = now_s() - t0;
        } while (el < 0.5);
        if (n / el > best)
            best = n / el;
    }
    munmap(dst, ring);
    free(src);
    return best;
}

static inline uint64_t sum_bytes(const uint8_t *p, size_t len)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= len / 8; i += 4) {
        s0 += w[i];
        s1 += w[i + 1];
        s2 += w[i + 2];
        s3 += w[i + 3];
    }
    return s0 + s1 + s2 + s3;
}

typedef struct handoff {
    _Alignas(64) _Atomic uint64_t published;
    _Alignas(64) _Atomic uint64_t consumed;
    _Alignas(64) _Atomic int stop;
    uint64_t sink;
} handoff_t;

/* The best any shared-memory pipeline could do on these two CPUs, without tensorpool: a
 * process memcpy()s 640 KiB frames into a 64-slot ring (1 MiB apart) and publishes a counter;
 * another process reads every byte of each frame (the consumer's loop) and acknowledges it.
 * Lossless: the writer stays at most 32 frames ahead. Frames/s the reader completed. */
static double handoff_floor_fps(void)
{
    size_t ring = 64u << 20;
    uint8_t *slots = mmap(NULL, ring, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    handoff_t *h = mmap(NULL, sizeof *h, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint64_t n = 0;
    double t0, el;
    pid_t pid;
    if (slots == MAP_FAILED || h == MAP_FAILED)
        return 0;
    memset(slots, 1, ring);
    memset(h, 0, sizeof *h);
    pid = fork();
    if (pid == 0) {
        uint8_t *src = malloc(BIG_LEN);
        uint64_t k = 0;
        pin(g_cpu_b);
        memset(src, 3, BIG_LEN);
        while (!atomic_load_explicit(&h->stop, memory_order_relaxed)) {
            if (k >= atomic_load_explicit(&h->consumed, memory_order_acquire) + 32)
                continue;
            memcpy(slots + ((k & 63) << 20), src, BIG_LEN);
            atomic_store_explicit(&h->published, ++k, memory_order_release);
        }
        _exit(0);
    }
    pin(g_cpu_a);
    t0 = now_s();
    do {
        for (int j = 0; j < 64; j++) {
            while (atomic_load_explicit(&h->published, memory_order_acquire) <= n) {
            }
            h->sink += sum_bytes(slots + ((n & 63) << 20), BIG_LEN);
            atomic_store_explicit(&h->consumed, ++n, memory_order_release);
        }
        el = now_s() - t0;
    } while (el < 1.0);
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

/* Median of per-round cache-line round trips between g_cpu_a and g_cpu_b. */
static double cacheline_rtt_ns(void)
{
    const unsigned rounds = 200000;
    pingpong_t *w = mmap(NULL, sizeof *w, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint64_t *s = malloc(rounds * sizeof *s);
    pid_t pid;
    double med;
    if (w == MAP_FAILED || s == NULL)
        return 0;
    atomic_store(&w->ping, 0);
    atomic_store(&w->pong, 0);
    pid = fork();
    if (pid == 0) {
        pin(g_cpu_b);
        for (uint64_t i = 1; i <= rounds; i++) {
            while (atomic_load_explicit(&w->ping, memory_order_acquire) != i) {
            }
            atomic_store_explicit(&w->pong, i, memory_order_release);
        }
        _exit(0);
    }
    pin(g_cpu_a);
    for (uint64_t i = 1; i <= rounds; i++) {
        uint64_t t0 = tp_launch_now_ns();
        atomic_store_explicit(&w->ping, i, memory_order_release);
        while (atomic_load_explicit(&w->pong, memory_order_acquire) != i) {
        }
        s[i - 1] = tp_launch_now_ns() - t0;
    }
    waitpid(pid, NULL, 0);
    {
        /* median by counting sort over a bounded range */
        static uint32_t hist[100000];
        uint64_t seen = 0;
        memset(hist, 0, sizeof hist);
        for (unsigned i = 0; i < rounds; i++)
            hist[s[i] < 99999 ? s[i] : 99999]++;
        med = 0;
        for (unsigned v = 0; v < 100000; v++) {
            seen += hist[v];
            if (seen >= rounds / 2) {
                med = v;
                break;
            }
        }
    }
    free(s);
    munmap(w, sizeof *w);
    return med;
}

/* ---- driver ---------------------------------------------------------------------------------- */

static int write_config(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "[driver]\ninstance_id = \"bench-e2e\"\ncontrol_channel = \"aeron:ipc\"\n"
            "control_stream_id = 15000\nannounce_channel = \"aeron:ipc\"\n"
            "announce_stream_id = 15001\nqos_channel = \"aeron:ipc\"\nqos_stream_id = 15002\n"
            "[shm]\nbase_dir = \"%s\"\npermissions_mode = \"600\"\n"
            "[policies]\nannounce_period_ms = 1000\nlease_keepalive_interval_ms = 1000\n"
            "lease_expiry_grace_intervals = 3\nshutdown_timeout_ms = 100\n"
            "[profiles.camera]\nheader_nslots = 64\n"
            "payload_pools = [ { pool_id = 1, stride_bytes = %u } ]\n"
            "[profiles.tiny]\nheader_nslots = 4096\n"
            "payload_pools = [ { pool_id = 1, stride_bytes = %u } ]\n"
            "[streams.cam1]\nstream_id = 42\nprofile = \"camera\"\n"
            "[streams.tiny]\nstream_id = 43\nprofile = \"tiny\"\n",
            g_shm, BIG_LEN, SMALL_LEN);
    return fclose(f) == 0 ? 0 : -1;
}

static int start_driver(const char *bin)
{
    char cfg[PATH_MAX + 32], out[PATH_MAX + 32], env[PATH_MAX + 32];
    char *envs[] = {env, "TP_LOG_LEVEL=info", NULL};
    char *args[] = {(char *)bin, "driver", cfg, "--dir", g_transport, NULL};
    uint64_t end = tp_launch_now_ns() + 10000000000ull;
    snprintf(cfg, sizeof cfg, "%s/driver.toml", g_dir);
    snprintf(out, sizeof out, "%s/driver.log", g_dir);
    snprintf(env, sizeof env, "TENSORPOOL_DIR=%s", g_transport);
    if (write_config(cfg) != 0 || tp_proc_start(&g_driver, args, envs, out) != 0)
        return -1;
    while (!tp_proc_output_contains(&g_driver, "started")) {
        if (tp_proc_poll(&g_driver) || tp_launch_now_ns() > end)
            return -1;
        tp_launch_sleep_ms(10);
    }
    return 0;
}

/* ---- producer / consumer processes ----------------------------------------------------------- */

enum phase { PH_BIG, PH_SMALL, PH_LAT };

static void opts_for(ex_opts_t *o, uint32_t stream)
{
    memset(o, 0, sizeof *o);
    o->dir = g_transport;
    o->allowed_dir = g_shm;
    o->control_stream = 15000;
    o->announce_stream = 15001;
    o->stream_id = stream;
}

typedef struct cstate {
    enum phase ph;
    uint64_t frames, accepted, lapped, bad, sink;
} cstate_t;

static void on_frame(void *clientd, const tp_frame_t *f)
{
    cstate_t *st = clientd;
    uint64_t now = st->ph == PH_LAT ? tp_launch_now_ns() : 0; /* first: the view is validated */
    uint64_t sum = 0;
    st->frames++;
    if (st->ph == PH_BIG) {
        sum = sum_bytes(f->data, f->len); /* touch every payload byte */
    } else {
        uint64_t v;
        memcpy(&v, f->data, sizeof v);
        sum = v != f->seq; /* the producer stores the seq in the first 8 bytes */
    }
    if (!tp_frame_is_intact(f)) {
        st->lapped++;
        return;
    }
    if (st->ph != PH_BIG && sum != 0) {
        st->bad++;
        return;
    }
    st->sink += sum;
    st->accepted++;
    if (st->ph == PH_LAT && g_sh->nlat < LAT_MAX) {
        uint64_t ts = f->publish_timestamp_ns != TP_NULL_U64 ? f->publish_timestamp_ns : f->timestamp_ns;
        g_sh->lat[g_sh->nlat++] = now - ts;
    }
}

static void consumer_main(enum phase ph)
{
    ex_opts_t o;
    ex_session_t s;
    tp_consumer_config_t ccfg;
    tp_consumer_t *c = NULL;
    tp_consumer_stats_t cs;
    cstate_t st = {.ph = ph};
    uint64_t last_work = 0, t0 = 0;
    pin(g_cpu_a);
    opts_for(&o, ph == PH_BIG ? 42 : 43);
    if (ex_attach(&s, &o, TP_ROLE_CONSUMER) != 0)
        goto fail;
    tp_consumer_config_init(&ccfg);
    ccfg.announce_stream_id = 15001;
    if (tp_consumer_init_from_attach(&c, &ccfg, s.att, s.dc) != 0) {
        fprintf(stderr, "consumer: %s\n", tp_errmsg());
        goto fail;
    }
    atomic_store(&g_sh->consumer_ready, 1);
    while (!atomic_load(&g_sh->stop)) {
        uint64_t now;
        int n = tp_consumer_poll(c, on_frame, &st, 256);
        if (n > 0 && t0 == 0)
            t0 = tp_launch_now_ns();
        now = tp_launch_now_ns();
        if (n <= 0 || now - last_work > 1000000) {
            uint64_t d;
            tp_consumer_do_work(c, now);
            d = tp_launch_now_ns() - now;
            if (d > g_sh->c_work_max_ns)
                g_sh->c_work_max_ns = d;
            g_sh->c_work_slow += d > 1000000;
            last_work = now;
        }
    }
    g_sh->c_secs = t0 ? (double)(tp_launch_now_ns() - t0) / 1e9 : 0;
    tp_consumer_get_stats(c, &cs);
    g_sh->c_frames = st.frames;
    g_sh->c_accepted = st.accepted;
    g_sh->c_lapped = st.lapped;
    g_sh->c_bad = st.bad;
    g_sh->c_drops_gap = cs.drops_gap;
    g_sh->c_drops_late = cs.drops_late;
    g_sh->sink = st.sink;
    tp_consumer_close(c);
    ex_close(&s);
    _exit(0);
fail:
    atomic_store(&g_sh->failed, 1);
    _exit(1);
}

static void producer_main(enum phase ph)
{
    ex_opts_t o;
    ex_session_t s;
    tp_producer_config_t pcfg;
    tp_producer_t *p = NULL;
    tp_tensor_desc_t desc;
    int32_t dims[1];
    uint8_t *src = NULL;
    uint64_t n = 0, busy = 0, t0, end, next, last_work = 0;
    pin(g_cpu_b);
    opts_for(&o, ph == PH_BIG ? 42 : 43);
    if (ex_attach(&s, &o, TP_ROLE_PRODUCER) != 0)
        goto fail;
    tp_producer_config_init(&pcfg);
    pcfg.announce_stream_id = 15001;
    if (tp_producer_init_from_attach(&p, &pcfg, s.att, s.dc) != 0) {
        fprintf(stderr, "producer: %s\n", tp_errmsg());
        goto fail;
    }
    dims[0] = (int32_t)(ph == PH_BIG ? BIG_LEN : SMALL_LEN);
    tp_tensor_desc_contiguous(&desc, TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, dims);
    if (ph == PH_BIG) {
        src = malloc(BIG_LEN);
        if (src == NULL)
            goto fail;
        ex_pattern_init();
        ex_pattern_fill(src, BIG_LEN, 0);
    }
    /* Let the consumer see the announce of this producer's epoch before timing starts. */
    for (uint64_t e = tp_launch_now_ns() + 300000000ull; tp_launch_now_ns() < e;) {
        tp_producer_do_work(p, tp_launch_now_ns());
        tp_launch_sleep_ms(1);
    }
    atomic_store(&g_sh->producer_ready, 1);
    t0 = next = tp_launch_now_ns();
    end = t0 + (uint64_t)(g_seconds * 1e9);
    for (;;) {
        uint64_t now = tp_launch_now_ns();
        int rc;
        if (now >= end)
            break;
        if (ph == PH_BIG) {
            if (g_big_rate > 0) { /* paced: the sustained-rate search */
                while ((now = tp_launch_now_ns()) < next) {
                }
                next += (uint64_t)(1e9 / g_big_rate);
            }
            rc = tp_producer_offer(p, src, BIG_LEN, &desc, NULL);
        } else {
            tp_reservation_t r;
            if (ph == PH_LAT) {
                while ((now = tp_launch_now_ns()) < next) {
                }
                next += g_gap_ns;
            }
            rc = tp_producer_reserve(p, 1, &r);
            if (rc == 0) {
                uint64_t *w = (uint64_t *)(void *)r.data; /* 64 bytes in place */
                w[0] = r.seq;
                for (int k = 1; k < 8; k++)
                    w[k] = r.seq + (uint64_t)k;
                rc = tp_producer_publish(p, &r, SMALL_LEN, &desc, NULL);
            }
        }
        if (rc == 0)
            n++;
        else
            busy++;
        if (rc != 0 || (n & 4095) == 0 || now - last_work > 1000000) {
            uint64_t d;
            tp_producer_do_work(p, now);
            d = tp_launch_now_ns() - now;
            if (d > g_sh->p_work_max_ns)
                g_sh->p_work_max_ns = d;
            last_work = now;
        }
    }
    g_sh->p_secs = (double)(tp_launch_now_ns() - t0) / 1e9;
    g_sh->p_frames = n;
    g_sh->p_busy = busy;
    tp_launch_sleep_ms(100);
    atomic_store(&g_sh->stop, 1);
    tp_producer_close(p);
    ex_close(&s);
    free(src);
    _exit(0);
fail:
    atomic_store(&g_sh->failed, 1);
    atomic_store(&g_sh->stop, 1);
    _exit(1);
}

static int run_phase(enum phase ph)
{
    pid_t cpid, ppid;
    uint64_t end;
    memset(g_sh, 0, offsetof(shared_t, lat));
    fflush(stdout);
    cpid = fork();
    if (cpid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        consumer_main(ph);
    }
    end = tp_launch_now_ns() + 15000000000ull;
    while (!atomic_load(&g_sh->consumer_ready) && !atomic_load(&g_sh->failed) &&
           tp_launch_now_ns() < end)
        tp_launch_sleep_ms(5);
    ppid = fork();
    if (ppid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        producer_main(ph);
    }
    end = tp_launch_now_ns() + (uint64_t)((g_seconds + 30) * 1e9);
    while (!atomic_load(&g_sh->stop) && tp_launch_now_ns() < end)
        tp_launch_sleep_ms(10);
    atomic_store(&g_sh->stop, 1);
    for (int i = 0; i < 2; i++) {
        pid_t pid = i ? cpid : ppid;
        int st = 0;
        for (int k = 0; k < 500 && waitpid(pid, &st, WNOHANG) == 0; k++)
            tp_launch_sleep_ms(10);
        if (kill(pid, 0) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
    }
    return atomic_load(&g_sh->failed) ? -1 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static volatile sig_atomic_t g_interrupted;
static void on_signal(int sig) { g_interrupted = sig; }

int main(int argc, char **argv)
{
    char bin[PATH_MAX];
    const char *phase = "all";
    int rc = 0;
    struct sigaction sa;
    snprintf(bin, sizeof bin, "%s/tensorpool", TP_BINARY_DIR);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seconds")) g_seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--gap-us")) g_gap_ns = (unsigned)(atof(argv[i + 1]) * 1000);
        else if (!strcmp(argv[i], "--phase")) phase = argv[i + 1];
        else if (!strcmp(argv[i], "--bin")) snprintf(bin, sizeof bin, "%s", argv[i + 1]);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pick_cpus();
    g_sh = mmap(NULL, sizeof *g_sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_sh == MAP_FAILED)
        return 1;
    snprintf(g_dir, sizeof g_dir, "%s/tp-bench-e2e-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(g_dir) == NULL)
        return 1;
    snprintf(g_transport, sizeof g_transport, "%s/transport", g_dir);
    snprintf(g_shm, sizeof g_shm, "%s/shm", g_dir);
    mkdir(g_transport, 0700);
    mkdir(g_shm, 0700);
    printf("# bench_e2e: driver + producer (cpu %d) + consumer (cpu %d) processes, %.1f s per "
           "phase\n", g_cpu_b, g_cpu_a, g_seconds);
    if (start_driver(bin) != 0) {
        char log[4096];
        tp_proc_output(&g_driver, log, sizeof log);
        printf("error=driver did not start (%s)\n%s\n", bin, log);
        rc = 1;
        goto out;
    }
    if (!strcmp(phase, "all") || !strcmp(phase, "big")) {
        double floor_fps = memcpy_floor_fps(), hand_fps = handoff_floor_fps(), best = 0, rate;
        printf("big_frame_bytes=%u memcpy_floor_frames_per_s=%.0f memcpy_floor_GBps=%.2f "
               "handoff_floor_frames_per_s=%.0f handoff_floor_GBps=%.2f\n",
               BIG_LEN, floor_fps, floor_fps * BIG_LEN / 1e9, hand_fps, hand_fps * BIG_LEN / 1e9);
        /* 1. unthrottled: the producer laps a slower consumer (no backpressure, W-148) */
        g_big_rate = 0;
        if (run_phase(PH_BIG) != 0) {
            printf("error=phase big failed\n");
            rc = 1;
            rate = 0;
        } else {
            double fps = g_sh->p_secs > 0 ? g_sh->c_accepted / g_sh->p_secs : 0;
            double pfps = g_sh->p_secs > 0 ? g_sh->p_frames / g_sh->p_secs : 0;
            double cproc = g_sh->p_secs > 0 ? g_sh->c_frames / g_sh->p_secs : 0;
            printf("big_unpaced_producer_frames_per_s=%.0f big_unpaced_producer_GBps=%.2f "
                   "big_unpaced_consumer_accepted_per_s=%.0f lapped=%" PRIu64 " drops_gap=%" PRIu64
                   " drops_late=%" PRIu64 "\n",
                   pfps, pfps * BIG_LEN / 1e9, fps, g_sh->c_lapped, g_sh->c_drops_gap,
                   g_sh->c_drops_late);
            rate = 0.95 * (cproc < pfps ? cproc : pfps);
        }
        /* 2. sustained: the highest paced rate the consumer takes with <= 2 % loss (the ring
              holds 64 frames, a few ms: any preemption of the consumer longer than that on a
              busy machine shows as loss) */
        for (int k = 0; k < 8 && rate > 100 && !g_interrupted; k++) {
            double fps, loss;
            g_big_rate = rate;
            if (run_phase(PH_BIG) != 0)
                break;
            fps = g_sh->p_secs > 0 ? g_sh->c_accepted / g_sh->p_secs : 0;
            loss = g_sh->p_frames > 0 ? 1.0 - (double)g_sh->c_accepted / (double)g_sh->p_frames : 1;
            printf("big_paced_rate=%.0f accepted_per_s=%.0f loss=%.4f\n", rate, fps, loss);
            if (loss <= 0.02) {
                best = fps;
                break;
            }
            rate *= 0.85;
        }
        printf("big_sustained_frames_per_s=%.0f big_sustained_GBps=%.2f ratio_to_memcpy=%.2f "
               "(target >= 0.8) ratio_to_handoff=%.2f\n",
               best, best * BIG_LEN / 1e9, floor_fps > 0 ? best / floor_fps : 0,
               hand_fps > 0 ? best / hand_fps : 0);
    }
    if (!g_interrupted && (!strcmp(phase, "all") || !strcmp(phase, "small"))) {
        if (run_phase(PH_SMALL) != 0) {
            printf("error=phase small failed\n");
            rc = 1;
        } else {
            printf("small_frame_bytes=%u small_producer_frames_per_s=%.0f "
                   "small_consumer_accepted_per_s=%.0f bad=%" PRIu64 " lapped=%" PRIu64
                   " drops_gap=%" PRIu64 " drops_late=%" PRIu64 " producer_busy=%" PRIu64 "\n",
                   SMALL_LEN, g_sh->p_secs > 0 ? g_sh->p_frames / g_sh->p_secs : 0,
                   g_sh->p_secs > 0 ? g_sh->c_accepted / g_sh->p_secs : 0, g_sh->c_bad,
                   g_sh->c_lapped, g_sh->c_drops_gap, g_sh->c_drops_late, g_sh->p_busy);
        }
    }
    if (!g_interrupted && (!strcmp(phase, "all") || !strcmp(phase, "latency"))) {
        double rtt = cacheline_rtt_ns();
        if (run_phase(PH_LAT) != 0 || g_sh->nlat == 0) {
            printf("error=phase latency failed\n");
            rc = 1;
        } else {
            uint64_t n = g_sh->nlat;
            double floor = rtt / 2;
            qsort(g_sh->lat, n, sizeof g_sh->lat[0], cmp_u64);
            printf("latency_samples=%" PRIu64 " gap_us=%.1f cacheline_rtt_ns=%.0f "
                   "floor_one_way_ns=%.0f\n", n, g_gap_ns / 1e3, rtt, floor);
            printf("latency_p50_ns=%" PRIu64 " latency_p99_ns=%" PRIu64 " latency_p999_ns=%" PRIu64
                   " latency_max_ns=%" PRIu64 " p50_to_floor=%.1f lapped=%" PRIu64
                   " drops_gap=%" PRIu64 " consumer_do_work_max_us=%.0f consumer_do_work_over_1ms=%" PRIu64
                   " producer_do_work_max_us=%.0f\n",
                   g_sh->lat[n / 2], g_sh->lat[(n * 99) / 100], g_sh->lat[(n * 999) / 1000],
                   g_sh->lat[n - 1], floor > 0 ? g_sh->lat[n / 2] / floor : 0, g_sh->c_lapped,
                   g_sh->c_drops_gap, g_sh->c_work_max_ns / 1e3, g_sh->c_work_slow,
                   g_sh->p_work_max_ns / 1e3);
        }
    }
out:
    tp_proc_stop(&g_driver, 3000);
    tp_launch_rmtree(g_dir);
    return rc;
}

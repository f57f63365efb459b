/*
 * Aeron benchmark (issue 7 "Benchmark"): tensorpool over Aeron IPC printed next to Aeron's own
 * C ping/pong measured in the same run, through the same media driver, on the same two CPUs.
 *
 *   aeron     Aeron's samples cping/cpong (aeron-samples/src/main/c, installed in <prefix>/bin
 *             by an Aeron build with AERON_BUILD_SAMPLES=ON): 48-byte messages on aeron:ipc,
 *             cpong pinned to CPU B, cping to CPU A; cping's HdrHistogram percentiles (the
 *             first printed percentile >= p) and mean.
 *   tp        bench_transport --transport aeron --phase latency: the tensorpool transport's
 *             ping-pong of a 48-byte FrameDescriptor over two aeron:ipc streams (offer =
 *             try_claim + copy + commit, poll through the fragment assembler), pinger on CPU
 *             A, ponger on CPU B, each round trip timed (bench_transport.c).
 *   overhead  tp_rtt / aeron_rtt - 1 for p50 and mean, over the median of --runs interleaved
 *             pairs (aeron, tp, aeron, tp, ...). Target (issue 7): < 0.10.
 *   e2e       `tensorpool bench --phase latency` (src/cli/cmd_bench.c: driver, producer and
 *             consumer processes, one 64-byte frame every --gap-us, commit to validated view)
 *             on the embedded transport and on Aeron IPC (--transport aeron: its private driver
 *             runs an embedded media driver): its latency_* lines, prefixed e2e_embedded_ and
 *             e2e_aeron_, and the Aeron one-way floor (aeron rtt p50 / 2) beside them.
 *
 * The media driver of the ping-pongs is a tensorpool transport with launch_media_driver in a
 * process of this benchmark (Aeron's defaults, SHARED threading), in a private directory under
 * /dev/shm. Samples: $TP_AERON_SAMPLES_DIR, else the bin/ of the Aeron prefix CMake found,
 * else $PATH; without them the aeron lines say aeron_samples=absent and no overhead is printed.
 *
 *   bench_aeron [--rounds N (200000)] [--warmup N (20000)] [--runs N (3)] [--cpus A,B (0,1)]
 *               [--seconds S (e2e, 3)] [--gap-us N (20)] [--phase all|rtt|e2e]
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_media_driver.h"
#include "bench_signals.h"
#include "transport/transport.h"
#include "util/clock.h"
#include "util/error.h"

#ifndef TP_BINARY_DIR
#define TP_BINARY_DIR "."
#endif
#ifndef TP_AERON_PREFIX
#define TP_AERON_PREFIX ""
#endif

static char g_adir[256], g_tdir[256];
static int cpu_a = 0, cpu_b = 1;
static pid_t g_md;

static void die(const char *what)
{
    fprintf(stderr, "error=%s: %s\n", what, errno ? strerror(errno) : tp_errmsg());
    exit(1);
}

static void rmtree(const char *path)
{
    char cmd[600];
    if (path[0] == '\0')
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning=could not remove %s\n", path);
}

static void cleanup(void)
{
    if (g_md > 0) {
        kill(g_md, SIGKILL);
        waitpid(g_md, NULL, 0);
        g_md = 0;
    }
    rmtree(g_adir);
    if (!getenv("TP_BENCH_KEEP")) rmtree(g_tdir);
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        fprintf(stderr, "warning=cannot pin to cpu %d: %s\n", cpu, strerror(errno));
}

/* The media driver of the ping-pongs (bench_media_driver.h). */
static void start_media_driver(void)
{
    if ((g_md = bench_media_driver_start(g_tdir, g_adir)) < 0)
        die("the media driver did not start");
}

/* Run argv (pinned to cpu, or not when cpu < 0) with env additions, stdout+stderr to out.
 * wait: return the exit status; else return the pid. */
static int spawn(char *const argv[], char *const envs[], int cpu, const char *out, int wait)
{
    int st;
    pid_t pid;
    fflush(stdout);
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        FILE *f = freopen(out, "w", stdout);
        /* SIGTERM, not SIGKILL: `tensorpool bench` then removes its directory */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (f == NULL || dup2(fileno(stdout), 2) < 0)
            _exit(126);
        if (cpu >= 0)
            pin(cpu);
        for (int i = 0; envs != NULL && envs[i] != NULL; i++)
            putenv(envs[i]);
        execvp(argv[0], argv);
        fprintf(stderr, "error=exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (!wait)
        return pid;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void cat(const char *path, const char *prefix)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL)
        printf("%s%s", prefix, line);
    fclose(f);
}

/* ---- Aeron's cping/cpong --------------------------------------------------------------- */

static char g_samples[PATH_MAX];

static int find_samples(void)
{
    const char *env = getenv("TP_AERON_SAMPLES_DIR");
    const char *dirs[3] = {env, NULL, NULL};
    char prefix_bin[PATH_MAX], path[PATH_MAX + 16];
    snprintf(prefix_bin, sizeof prefix_bin, "%.4000s/bin", TP_AERON_PREFIX);
    dirs[1] = TP_AERON_PREFIX[0] ? prefix_bin : NULL;
    for (int i = 0; i < 2; i++) {
        if (dirs[i] == NULL || dirs[i][0] == '\0')
            continue;
        snprintf(path, sizeof path, "%.4000s/cping", dirs[i]);
        if (access(path, X_OK) == 0) {
            snprintf(path, sizeof path, "%.4000s/cpong", dirs[i]);
            if (access(path, X_OK) == 0) {
                snprintf(g_samples, sizeof g_samples, "%.4000s/", dirs[i]);
                return 0;
            }
        }
    }
    if (system("command -v cping >/dev/null 2>&1 && command -v cpong >/dev/null 2>&1") == 0) {
        g_samples[0] = '\0'; /* on PATH */
        return 0;
    }
    return -1;
}

typedef struct rtt {
    double p50, p90, p99, mean, max;
    int ok;
} rtt_t;

/* cping's HdrHistogram CLASSIC table: "value percentile count 1/(1-p)" in microseconds,
 * then "#[Mean = x, ..." and "#[Max = x, ...". */
static rtt_t parse_cping(const char *path)
{
    rtt_t r = {0};
    char line[512];
    double v, p;
    unsigned long long n;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return r;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, " %lf %lf %llu", &v, &p, &n) == 3) {
            if (r.p50 == 0 && p >= 0.5)
                r.p50 = v * 1000;
            if (r.p90 == 0 && p >= 0.9)
                r.p90 = v * 1000;
            if (r.p99 == 0 && p >= 0.99)
                r.p99 = v * 1000;
        } else if (sscanf(line, "#[Mean = %lf", &v) == 1) {
            r.mean = v * 1000;
        } else if (sscanf(line, "#[Max = %lf", &v) == 1) {
            r.max = v * 1000;
            r.ok = r.p50 > 0;
        }
    }
    fclose(f);
    return r;
}

static rtt_t aeron_rtt(unsigned long long rounds, unsigned long long warm, int run)
{
    char out[PATH_MAX], pong_out[PATH_MAX], m[32], w[32];
    char ping_bin[PATH_MAX + 8], pong_bin[PATH_MAX + 8];
    rtt_t r = {0};
    int pong, st;
    snprintf(ping_bin, sizeof ping_bin, "%.4000scping", g_samples);
    snprintf(pong_bin, sizeof pong_bin, "%.4000scpong", g_samples);
    snprintf(out, sizeof out, "%s/cping.%d.out", g_tdir, run);
    snprintf(pong_out, sizeof pong_out, "%s/cpong.%d.out", g_tdir, run);
    snprintf(m, sizeof m, "%llu", rounds);
    snprintf(w, sizeof w, "%llu", warm);
    {
        char *pong_argv[] = {pong_bin, "-p", g_adir, "-c", "aeron:ipc", "-C", "aeron:ipc",
                             "-s", "1002", "-S", "1003", NULL};
        char *ping_argv[] = {ping_bin, "-p", g_adir, "-c", "aeron:ipc", "-C", "aeron:ipc",
                             "-s", "1002", "-S", "1003", "-L", "48", "-m", m, "-w", w, NULL};
        pong = spawn(pong_argv, NULL, cpu_b, pong_out, 0);
        st = spawn(ping_argv, NULL, cpu_a, out, 1);
        kill(pong, SIGINT);
        waitpid(pong, NULL, 0);
    }
    if (st != 0) {
        printf("aeron_cping_status=%d\n", st);
        cat(out, "# cping: ");
        return r;
    }
    return parse_cping(out);
}

/* ---- tensorpool over Aeron: bench_transport ------------------------------------------- */

static double kv(const char *path, const char *key)
{
    char line[4096], pat[128];
    double v = -1;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    snprintf(pat, sizeof pat, "%s=", key);
    while (fgets(line, sizeof line, f) != NULL) {
        char *p = strstr(line, pat);
        while (p != NULL && p != line && p[-1] != ' ')
            p = strstr(p + 1, pat);
        if (p != NULL)
            v = strtod(p + strlen(pat), NULL);
    }
    fclose(f);
    return v;
}

static rtt_t tp_rtt(unsigned long long rounds, unsigned long long warm, int run, double *floor)
{
    char out[PATH_MAX], bin[PATH_MAX], r_s[32], w_s[32], cpus[32];
    rtt_t r = {0};
    int st;
    snprintf(bin, sizeof bin, "%s/bench/bench_transport", TP_BINARY_DIR);
    snprintf(out, sizeof out, "%s/tp.%d.out", g_tdir, run);
    snprintf(r_s, sizeof r_s, "%llu", rounds);
    snprintf(w_s, sizeof w_s, "%llu", warm);
    snprintf(cpus, sizeof cpus, "%d,%d", cpu_a, cpu_b);
    {
        char *argv[] = {bin, "--transport", "aeron", "--aeron-dir", g_adir, "--phase", "latency",
                        "--rounds", r_s, "--warmup", w_s, "--runs", "1", "--cpus", cpus, NULL};
        st = spawn(argv, NULL, -1, out, 1);
    }
    if (st != 0) {
        printf("tp_bench_transport_status=%d\n", st);
        cat(out, "# bench_transport: ");
        return r;
    }
    r.p50 = kv(out, "rtt_p50_ns");
    r.p90 = kv(out, "rtt_p90_ns");
    r.p99 = kv(out, "rtt_p99_ns");
    r.mean = kv(out, "rtt_mean_ns");
    r.max = kv(out, "rtt_max_ns");
    r.ok = r.p50 > 0;
    *floor = kv(out, "floor_p50_ns");
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_rtt(const char *name, int run, const rtt_t *r)
{
    printf("run=%d %s_rtt_p50_ns=%.0f %s_rtt_p90_ns=%.0f %s_rtt_p99_ns=%.0f %s_rtt_mean_ns=%.1f "
           "%s_rtt_max_ns=%.0f\n", run, name, r->p50, name, r->p90, name, r->p99, name, r->mean,
           name, r->max);
}

static double bench_rtt(unsigned long long rounds, unsigned long long warm, int runs)
{
    double a50[64], t50[64], amean[64], tmean[64], floors[64];
    int na = 0, nt = 0, have_samples = find_samples() == 0;
    printf("rtt_msg_bytes=48 channel=aeron:ipc cpu_a=%d cpu_b=%d rounds=%llu warmup=%llu "
           "runs=%d aeron_samples=%s%s\n", cpu_a, cpu_b, rounds, warm, runs,
           have_samples ? (g_samples[0] ? g_samples : "PATH:") : "absent",
           have_samples ? "cping" : "");
    if (runs > 64)
        runs = 64;
    for (int run = 0; run < runs; run++) {
        double fl = -1;
        if (have_samples) {
            rtt_t a = aeron_rtt(rounds, warm, run);
            if (a.ok) {
                print_rtt("aeron", run, &a);
                a50[na] = a.p50;
                amean[na++] = a.mean;
            }
        }
        rtt_t t = tp_rtt(rounds, warm, run, &fl);
        if (t.ok) {
            print_rtt("tp", run, &t);
            printf("run=%d cacheline_floor_p50_ns=%.0f\n", run, fl);
            t50[nt] = t.p50;
            floors[nt] = fl;
            tmean[nt++] = t.mean;
        }
        fflush(stdout);
    }
    if (nt == 0) {
        printf("error=no tensorpool ping-pong run succeeded\n");
        return -1;
    }
    {
        double tp50 = median(t50, nt), tpm = median(tmean, nt), fl = median(floors, nt);
        printf("tp_rtt_p50_ns=%.0f tp_rtt_mean_ns=%.1f cacheline_floor_p50_ns=%.0f\n", tp50, tpm,
               fl);
        if (na == 0) {
            printf("aeron_rtt=absent (no cping/cpong: build Aeron with AERON_BUILD_SAMPLES=ON or "
                   "set TP_AERON_SAMPLES_DIR)\n");
            return -1;
        }
        double ap50 = median(a50, na), apm = median(amean, na);
        double o50 = tp50 / ap50 - 1, om = tpm / apm - 1;
        printf("aeron_rtt_p50_ns=%.0f aeron_rtt_mean_ns=%.1f\n", ap50, apm);
        printf("overhead_p50=%.3f overhead_mean=%.3f target_overhead=0.10 meets_p50=%s "
               "meets_mean=%s\n", o50, om, o50 < 0.10 ? "yes" : "no", om < 0.10 ? "yes" : "no");
        return ap50;
    }
}

/* ---- end to end: tensorpool bench --phase latency ------------------------------------- */

static void bench_e2e(const char *seconds, const char *gap, double aeron_p50)
{
    char bin[PATH_MAX], out[PATH_MAX];
    /* tensorpool bench is hermetic (it ignores TP_TRANSPORT and AERON_DIR): --transport aeron
     * makes its private driver run an embedded media driver in its own directory */
    char *argv[] = {bin, "bench", "--phase", "latency", "--payload-bytes", "64", "--slots", "4096",
                    "--in-place", "--duration", (char *)seconds, "--gap-us", (char *)gap,
                    "--transport", "embedded", NULL};
    int st;
    snprintf(bin, sizeof bin, "%s/tensorpool", TP_BINARY_DIR);
    for (int k = 0; k < 2; k++) {
        const char *name = k == 0 ? "embedded" : "aeron";
        char prefix[64];
        argv[14] = (char *)name;
        snprintf(out, sizeof out, "%s/e2e.%s.out", g_tdir, name);
        snprintf(prefix, sizeof prefix, "e2e_%s_", name);
        st = spawn(argv, NULL, -1, out, 1);
        printf("# %s bench --phase latency --payload-bytes 64 --slots 4096 --in-place --duration "
               "%s --gap-us %s --transport %s: status %d\n", bin, seconds, gap, name, st);
        cat(out, prefix);
        if (k == 1 && aeron_p50 > 0)
            printf("e2e_aeron_one_way_floor_ns=%.0f (aeron_rtt_p50 / 2)\n", aeron_p50 / 2);
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    unsigned long long rounds = 200000, warm = 20000;
    int runs = 3;
    const char *seconds = "3", *gap = "20", *phase = "all";
    double ap50 = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            goto usage;
        i++;
        if (!strcmp(a, "--rounds")) rounds = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--warmup")) warm = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--runs")) runs = atoi(v);
        else if (!strcmp(a, "--seconds")) seconds = v;
        else if (!strcmp(a, "--gap-us")) gap = v;
        else if (!strcmp(a, "--phase")) phase = v;
        else if (!strcmp(a, "--cpus")) {
            if (sscanf(v, "%d,%d", &cpu_a, &cpu_b) != 2) goto usage;
        } else goto usage;
    }
    if (rounds < 100 || runs < 1 || (strcmp(phase, "all") && strcmp(phase, "rtt") &&
                                     strcmp(phase, "e2e")))
        goto usage;
    if (!tp_transport_aeron_available()) {
        printf("skip: tensorpool was built without Aeron (docs/aeron.md)\n");
        return 0;
    }
    snprintf(g_adir, sizeof g_adir, "/dev/shm/tp-bench-aeron-%d", (int)getpid());
    snprintf(g_tdir, sizeof g_tdir, "/dev/shm/tp-bench-aeron-work-%d", (int)getpid());
    if (mkdir(g_tdir, 0700) != 0)
        die("mkdir");
    atexit(cleanup);
    bench_cleanup_on_signals();
    printf("bench=aeron cpus=%ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    if (!strcmp(phase, "all") || !strcmp(phase, "rtt")) {
        start_media_driver();
        ap50 = bench_rtt(rounds, warm, runs);
        kill(g_md, SIGKILL);
        waitpid(g_md, NULL, 0);
        g_md = 0;
    }
    if (!strcmp(phase, "all") || !strcmp(phase, "e2e"))
        bench_e2e(seconds, gap, ap50);
    return 0;
usage:
    fprintf(stderr, "usage: bench_aeron [--rounds N] [--warmup N] [--runs N] [--cpus A,B]\n"
                    "         [--seconds S] [--gap-us N] [--phase all|rtt|e2e]\n");
    return 2;
}

/*
 * `make demo`: the real system for about five seconds.
 *
 *   tp_demo [--seconds 5] [--rate 1000] [--size 655360] [--bin PATH/tensorpool]
 *           [--config docs/examples/driver_integration_example.toml] [--keep]
 *
 * 1. Creates a private directory (under /dev/shm when it is writable, else $TMPDIR or /tmp)
 *    with transport/ (TENSORPOOL_DIR) and shm/ (the driver's SHM_BASE_DIR, which the config's
 *    allowed SHM dirs follow: docs/configuration.md).
 * 2. Starts `tensorpool driver docs/examples/driver_integration_example.toml` (control 15000,
 *    announce 15001, stream 42: 64 slots of 640 KiB) with those overrides and waits until it
 *    runs.
 * 3. Starts `tensorpool consumer --verify interop --spin` (busy-polling: latency without
 *    wake-up noise) and `tensorpool producer --pattern interop`
 *    (640 KiB frames at --rate frames/s; 0 = as fast as it goes) for --seconds.
 * 4. Stops the consumer, then the driver (SIGTERM: clean shutdown), and prints
 *      frames=… seconds=… frames_per_s=… MiB_per_s=… lat_p50_us=… lat_p99_us=…
 *      drops_gap=… drops_late=… lapped=… torn=… producer_frames=… remaps=… epoch=…
 *    Latency is the consumer's now − the FrameDescriptor's publish timestamp (both
 *    CLOCK_MONOTONIC). lapped = frames the consumer discarded because tp_frame_is_intact
 *    said the producer had overwritten them while they were read (safe); torn = frames that
 *    passed that check with a wrong payload (a bug).
 * 5. Removes the directory (also on Ctrl-C/SIGTERM, after stopping every child; the
 *    children also die with it when it is SIGKILLed: PR_SET_PDEATHSIG).
 * Exit 0; 1 when torn > 0, nothing flowed or a process failed; 130 when interrupted.
 */
#include <inttypes.h>
#include <limits.h>

#include "tp_launch.h"

#ifndef TP_SOURCE_DIR
#define TP_SOURCE_DIR "."
#endif

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { interrupted = sig; }

static char g_dir[PATH_MAX];
static tp_proc_t g_driver, g_producer, g_consumer;

static void stop_all(void)
{
    tp_proc_stop(&g_producer, 2000);
    tp_proc_stop(&g_consumer, 2000);
    tp_proc_stop(&g_driver, 3000);
}

static int make_dir(void)
{
    const char *bases[3] = {"/dev/shm", getenv("TMPDIR"), "/tmp"};
    for (int i = 0; i < 3; i++) {
        if (bases[i] == NULL || access(bases[i], W_OK) != 0)
            continue;
        snprintf(g_dir, sizeof g_dir, "%s/tp-demo-XXXXXX", bases[i]);
        if (mkdtemp(g_dir) != NULL)
            return 0;
    }
    g_dir[0] = '\0';
    return -1;
}

static void default_bin(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        char *slash;
        self[n] = '\0';
        slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0'; /* build/examples */
            snprintf(out, cap, "%s/../tensorpool", self);
            if (access(out, X_OK) == 0)
                return;
        }
    }
    snprintf(out, cap, "tensorpool");
}

int main(int argc, char **argv)
{
    double seconds = 5, rate = 1000;
    unsigned long size = 655360;
    bool keep = false;
    char bin[PATH_MAX + 32], config[PATH_MAX], transport[PATH_MAX + 16], shm[PATH_MAX + 16];
    char out[PATH_MAX + 32], line[4096], pline[4096];
    char env_tdir[PATH_MAX + 32], env_shm[PATH_MAX + 32];
    char s_secs[32], s_csecs[32], s_rate[32], s_size[32];
    int rc = 1;
    struct sigaction sa;

    default_bin(bin, sizeof bin);
    snprintf(config, sizeof config, "%s/docs/examples/driver_integration_example.toml",
             TP_SOURCE_DIR);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--keep")) { keep = true; continue; }
        if (!strcmp(a, "-h") || !strcmp(a, "--help") || v == NULL) {
            fprintf(strcmp(a, "-h") && strcmp(a, "--help") ? stderr : stdout,
                    "usage: tp_demo [--seconds 5] [--rate 1000] [--size 655360] "
                    "[--bin PATH] [--config PATH] [--keep]\n");
            return strcmp(a, "-h") && strcmp(a, "--help") ? 2 : 0;
        }
        i++;
        if (!strcmp(a, "--seconds")) seconds = atof(v);
        else if (!strcmp(a, "--rate")) rate = atof(v);
        else if (!strcmp(a, "--size")) size = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--bin")) snprintf(bin, sizeof bin, "%s", v);
        else if (!strcmp(a, "--config")) snprintf(config, sizeof config, "%s", v);
        else {
            fprintf(stderr, "error=unknown option %s\n", a);
            return 2;
        }
    }
    if (seconds <= 0 || size == 0) {
        fprintf(stderr, "error=bad --seconds or --size\n");
        return 2;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    if (make_dir() != 0) {
        printf("error=cannot create a private directory\n");
        return 1;
    }
    snprintf(transport, sizeof transport, "%s/transport", g_dir);
    snprintf(shm, sizeof shm, "%s/shm", g_dir);
    if (mkdir(transport, 0700) != 0 || mkdir(shm, 0700) != 0) {
        printf("error=mkdir in %s: %s\n", g_dir, strerror(errno));
        goto out;
    }
    snprintf(env_tdir, sizeof env_tdir, "TENSORPOOL_DIR=%s", transport);
    snprintf(env_shm, sizeof env_shm, "SHM_BASE_DIR=%s", shm);
    printf("# tensorpool demo: driver + producer + consumer, %.1f s, dir %s\n", seconds, g_dir);
    printf("# driver config %s\n", config);
    fflush(stdout);

    { /* 1. the driver */
        char *envs[] = {env_tdir, env_shm, "POLICIES_SHUTDOWN_TIMEOUT_MS=200",
                        "POLICIES_CLEANUP_SHM_ON_EXIT=true", "TP_LOG_LEVEL=info", NULL};
        char *args[] = {bin, "driver", config, "--dir", transport, NULL};
        uint64_t end = tp_launch_now_ns() + 10000000000ull;
        snprintf(out, sizeof out, "%s/driver.log", g_dir);
        if (tp_proc_start(&g_driver, args, envs, out) != 0) {
            printf("error=cannot start the driver\n");
            goto out;
        }
        while (!tp_proc_output_contains(&g_driver, "started")) {
            if (interrupted || tp_proc_poll(&g_driver) || tp_launch_now_ns() > end) {
                char log[2048];
                tp_proc_output(&g_driver, log, sizeof log);
                printf("error=the driver did not start (status %d)\n%s", g_driver.status, log);
                goto out;
            }
            tp_launch_sleep_ms(10);
        }
    }
    snprintf(s_secs, sizeof s_secs, "%.3f", seconds);
    snprintf(s_csecs, sizeof s_csecs, "%.3f", seconds + 30); /* stopped explicitly */
    snprintf(s_rate, sizeof s_rate, "%.3f", rate);
    snprintf(s_size, sizeof s_size, "%lu", size);
    { /* 2. the consumer, then the producer */
        char *envs[] = {env_tdir, NULL};
        char *cargs[] = {bin, "consumer", "--dir", transport, "--allowed-dir", shm,
                         "--control-stream", "15000", "--announce-stream", "15001", "--stream",
                         "42", "--verify", "interop", "--spin", "--duration", s_csecs, NULL};
        char *pargs[] = {bin, "producer", "--dir", transport, "--allowed-dir", shm,
                         "--control-stream", "15000", "--stream", "42", "--pattern", "interop",
                         "--size", s_size, "--rate", s_rate, "--duration", s_secs, NULL};
        snprintf(out, sizeof out, "%s/consumer.out", g_dir);
        if (tp_proc_start(&g_consumer, cargs, envs, out) != 0)
            goto out;
        { /* let it attach and map first: the demo wants every frame */
            uint64_t end = tp_launch_now_ns() + 10000000000ull;
            while (!tp_proc_output_contains(&g_consumer, "attached") && !interrupted &&
                   !tp_proc_poll(&g_consumer) && tp_launch_now_ns() < end)
                tp_launch_sleep_ms(10);
        }
        snprintf(out, sizeof out, "%s/producer.out", g_dir);
        if (tp_proc_start(&g_producer, pargs, envs, out) != 0)
            goto out;
    }
    { /* 3. wait for the producer, drain, stop the consumer */
        uint64_t end = tp_launch_now_ns() + (uint64_t)((seconds + 20) * 1e9);
        while (!tp_proc_poll(&g_producer) && !interrupted && tp_launch_now_ns() < end) {
            if (tp_proc_poll(&g_consumer) || tp_proc_poll(&g_driver))
                break; /* one of them died early: report below */
            tp_launch_sleep_ms(20);
        }
        if (interrupted) {
            printf("interrupted: stopping everything\n");
            rc = 130;
            goto out;
        }
        tp_launch_sleep_ms(300);
        tp_proc_stop(&g_producer, 2000);
        tp_proc_stop(&g_consumer, 3000);
        tp_proc_stop(&g_driver, 3000);
    }
    if (tp_proc_summary(&g_consumer, "frames=", line, sizeof line) != 0) {
        char log[4096];
        tp_proc_output(&g_consumer, log, sizeof log);
        printf("error=the consumer printed no summary (status %d)\n%s\n", g_consumer.status, log);
        tp_proc_output(&g_producer, log, sizeof log);
        printf("# producer (status %d):\n%s\n", g_producer.status, log);
        goto out;
    }
    if (tp_proc_summary(&g_producer, "frames=", pline, sizeof pline) != 0)
        pline[0] = '\0';
    {
        double frames = tp_kv_num(line, "frames", 0), bytes = tp_kv_num(line, "bytes", 0);
        double active = tp_kv_num(line, "active_s", 0), torn = tp_kv_num(line, "torn", 0);
        double fps = active > 0 ? frames / active : 0;
        printf("frames=%.0f seconds=%.2f frames_per_s=%.0f MiB_per_s=%.1f lat_p50_us=%.1f "
               "lat_p99_us=%.1f drops_gap=%.0f drops_late=%.0f lapped=%.0f torn=%.0f "
               "producer_frames=%.0f remaps=%.0f epoch=%.0f\n",
               frames, active, fps, active > 0 ? bytes / active / 1048576.0 : 0,
               tp_kv_num(line, "lat_p50_us", 0), tp_kv_num(line, "lat_p99_us", 0),
               tp_kv_num(line, "drops_gap", 0), tp_kv_num(line, "drops_late", 0),
               tp_kv_num(line, "lapped", 0), torn, tp_kv_num(pline, "frames", 0),
               tp_kv_num(line, "remaps", 0), tp_kv_num(line, "epoch", 0));
        if (torn > 0)
            printf("error=torn frames were accepted\n");
        else if (frames <= 0)
            printf("error=no frame flowed\n");
        else if (g_driver.status != 0 || g_producer.status != 0 || g_consumer.status != 0)
            printf("error=a process failed: driver=%d producer=%d consumer=%d\n",
                   g_driver.status, g_producer.status, g_consumer.status);
        else
            rc = 0;
    }
out:
    stop_all();
    if (rc != 0 && rc != 130 && g_dir[0]) {
        char log[4096];
        snprintf(out, sizeof out, "%s/driver.log", g_dir);
        if (g_driver.pid > 0 && tp_proc_output(&g_driver, log, sizeof log) > 0)
            printf("# driver log:\n%s", log);
    }
    if (g_dir[0] && !keep)
        tp_launch_rmtree(g_dir);
    else if (keep)
        printf("# kept %s\n", g_dir);
    fflush(stdout);
    return rc;
}

/*
 * End-to-end test support: a private system (transport dir, SHM dir, driver config with short
 * timers) and the real executables (`tensorpool driver|producer|consumer`, the examples) as
 * child processes. Children are registered with tp_test_track_child (SIGKILLed at exit, also
 * when a test fails) and die with the test process (PR_SET_PDEATHSIG, examples/tp_launch.h);
 * the directories live under tp_test_tmpdir() (removed at exit).
 *
 * Short timers: driver announce 100 ms, keepalive 100 ms, expiry grace 10 (lease ≈ 1 s: short,
 * but long enough for a loaded 2-core CI machine not to lose healthy leases);
 * the clients get the matching environment (keepalive 100 ms, attach retry 0.5 s, backoffs
 * 50..500 ms, announce freshness 1 s, producer driver-silence limit 1 s, hello/QoS 200 ms).
 *
 * Transport: embedded, or Aeron when the test runs with TP_TRANSPORT=aeron in its environment
 * (the "aeron" variants of tests/e2e/CMakeLists.txt; the children inherit it). Then every
 * system gets a private media driver directory under /dev/shm (AERON_DIR, removed at exit),
 * the driver starts an embedded media driver (LAUNCH_MEDIA_DRIVER=true) whose client liveness
 * is 3 s (a kill -9'd client's streams are dropped by then), and a build without Aeron skips
 * (exit 77) with the reason.
 */
#ifndef TP_E2E_SUPPORT_H
#define TP_E2E_SUPPORT_H

#include <stdarg.h>

#include "tp_launch.h"
#include "tp_test.h"
#include "transport/transport.h"

#define E2E_CTL 15000u
#define E2E_STREAM 42u

typedef struct e2e_sys {
    char dir[512];
    char transport[600];
    char shm[600];
    char cfg[600];
    char env_dir[700];
    char aeron_dir[600];  /* transport aeron: the media driver's directory, else "" */
    char env_aeron[700];  /* "AERON_DIR=..." (aeron), or a harmless marker */
    char env_launch[64];  /* driver: "LAUNCH_MEDIA_DRIVER=true" (aeron), or a marker */
    char env_md_live[64]; /* driver: the embedded media driver's client liveness */
    tp_proc_t driver;
    unsigned driver_starts;
} e2e_sys_t;

static inline const char *e2e_bin(void)
{
    static char bin[600];
    snprintf(bin, sizeof bin, "%s/tensorpool", TP_BINARY_DIR);
    return bin;
}

/* TP_TRANSPORT=aeron in the environment: the Aeron variant. */
static inline bool e2e_aeron(void)
{
    const char *t = getenv("TP_TRANSPORT");
    return t != NULL && strcmp(t, "aeron") == 0;
}

static char e2e_aeron_dirs[16][600];
static int e2e_naeron_dirs;

static inline void e2e_remove_aeron_dirs(void)
{
    for (int i = 0; i < e2e_naeron_dirs; i++)
        tp_test_rmtree(e2e_aeron_dirs[i]);
}

/* The transport settings of a system (see the top of this file). */
static inline void e2e_transport_init(e2e_sys_t *s, const char *name)
{
    if (!e2e_aeron()) {
        snprintf(s->env_aeron, sizeof s->env_aeron, "TP_E2E_TRANSPORT=embedded");
        snprintf(s->env_launch, sizeof s->env_launch, "TP_E2E_LAUNCH=no");
        snprintf(s->env_md_live, sizeof s->env_md_live, "TP_E2E_MD=none");
        return;
    }
    if (!tp_transport_aeron_available()) {
        printf("skip: TP_TRANSPORT=aeron but tensorpool was built without Aeron "
               "(TP_WITH_AERON=OFF or Aeron not found, docs/aeron.md)\n");
        exit(77);
    }
    snprintf(s->aeron_dir, sizeof s->aeron_dir, "/dev/shm/tp-e2e-aeron-%d-%s", (int)getpid(),
             name);
    tp_test_rmtree(s->aeron_dir);
    if (e2e_naeron_dirs == 0)
        atexit(e2e_remove_aeron_dirs);
    if (e2e_naeron_dirs < 16)
        snprintf(e2e_aeron_dirs[e2e_naeron_dirs++], sizeof e2e_aeron_dirs[0], "%s", s->aeron_dir);
    snprintf(s->env_aeron, sizeof s->env_aeron, "AERON_DIR=%s", s->aeron_dir);
    snprintf(s->env_launch, sizeof s->env_launch, "LAUNCH_MEDIA_DRIVER=true");
    snprintf(s->env_md_live, sizeof s->env_md_live, "AERON_CLIENT_LIVENESS_TIMEOUT=3s");
}

/* Private directories + config. nslots header slots, one pool of `stride` bytes. */
static inline bool e2e_init(e2e_sys_t *s, const char *name, uint32_t nslots, uint32_t stride)
{
    memset(s, 0, sizeof *s);
    e2e_transport_init(s, name);
    snprintf(s->dir, sizeof s->dir, "%s/%s", tp_test_tmpdir(), name);
    snprintf(s->transport, sizeof s->transport, "%s/transport", s->dir);
    snprintf(s->shm, sizeof s->shm, "%s/shm", s->dir);
    snprintf(s->cfg, sizeof s->cfg, "%s/driver.toml", s->dir);
    snprintf(s->env_dir, sizeof s->env_dir, "TENSORPOOL_DIR=%s", s->transport);
    if (mkdir(s->dir, 0700) != 0 || mkdir(s->transport, 0700) != 0 || mkdir(s->shm, 0700) != 0)
        return false;
    return tp_launch_write_config(s->cfg, s->shm, E2E_CTL, E2E_STREAM, nslots, stride, 100, 100,
                                  10) == 0;
}

static inline void e2e_dump(const char *what, const tp_proc_t *p)
{
    static char buf[8192];
    tp_proc_output(p, buf, sizeof buf);
    printf("---- %s (pid %d, status %d, %s):\n%s\n---- end %s\n", what, (int)p->pid, p->status,
           p->out, buf, what);
    fflush(stdout);
}

/* Start (or restart) the driver; wait until it logs "driver: started" (on Aeron the embedded
 * media driver's "embedded media driver started" line comes first). */
static inline bool e2e_driver_start(e2e_sys_t *s)
{
    char out[700];
    char *envs[] = {s->env_dir, "TP_LOG_LEVEL=info", s->env_aeron, s->env_launch,
                    s->env_md_live, NULL};
    char *args[] = {(char *)e2e_bin(), "driver", s->cfg, "--dir", s->transport, NULL};
    uint64_t end = tp_launch_now_ns() + 10000000000ull;
    snprintf(out, sizeof out, "%s/driver.%u.log", s->dir, s->driver_starts++);
    if (tp_proc_start(&s->driver, args, envs, out) != 0)
        return false;
    tp_test_track_child(s->driver.pid);
    while (!tp_proc_output_contains(&s->driver, "driver: started")) {
        if (tp_proc_poll(&s->driver) || tp_launch_now_ns() > end) {
            e2e_dump("driver", &s->driver);
            return false;
        }
        tp_launch_sleep_ms(10);
    }
    return true;
}

/* Environment of every client: the transport dir and the short timers. */
#define E2E_CLIENT_ENV(s)                                                                   \
    {                                                                                       \
        (s)->env_dir, (s)->env_aeron, "TP_LOG_LEVEL=info",                                  \
            "TP_KEEPALIVE_INTERVAL_NS=100000000",                                           \
            "TP_LEASE_PERIOD_NS=1000000000", "TP_ATTACH_TIMEOUT_NS=500000000",               \
            "TP_ATTACH_BACKOFF_INITIAL_NS=50000000", "TP_ATTACH_BACKOFF_MAX_NS=500000000",  \
            "PRODUCER_ANNOUNCE_INTERVAL_NS=100000000", "PRODUCER_QOS_INTERVAL_NS=200000000", \
            "PRODUCER_REATTACH_BACKOFF_NS=50000000",                                        \
            "PRODUCER_REATTACH_BACKOFF_MAX_NS=500000000",                                   \
            "PRODUCER_ANNOUNCE_WAIT_TIMEOUT_NS=1000000000",                                 \
            "CONSUMER_ANNOUNCE_FRESHNESS_NS=1000000000",                                    \
            "CONSUMER_HELLO_INTERVAL_NS=200000000", "CONSUMER_QOS_INTERVAL_NS=200000000",   \
            "CONSUMER_REATTACH_BACKOFF_NS=50000000",                                        \
            "CONSUMER_REATTACH_BACKOFF_MAX_NS=500000000", NULL                              \
    }

/* Start prog [sub] --dir T --allowed-dir S --control-stream 15000 --stream 42 <extra...>
 * (NULL-terminated) with output in <dir>/<name>.out. sub NULL: prog is an example program
 * (path relative to the build dir), else a `tensorpool` subcommand. */
static inline bool e2e_spawn(e2e_sys_t *s, tp_proc_t *p, const char *name, const char *prog,
                             const char *sub, ...)
{
    char *args[TP_LAUNCH_ARGS_MAX];
    char *envs[] = E2E_CLIENT_ENV(s);
    char path[700], out[700];
    int n = 0;
    va_list ap;
    if (sub != NULL)
        snprintf(path, sizeof path, "%s", e2e_bin());
    else
        snprintf(path, sizeof path, "%s/%s", TP_BINARY_DIR, prog);
    snprintf(out, sizeof out, "%s/%s.out", s->dir, name);
    args[n++] = path;
    if (sub != NULL)
        args[n++] = (char *)sub;
    args[n++] = "--dir";
    args[n++] = s->transport;
    args[n++] = "--allowed-dir";
    args[n++] = s->shm;
    args[n++] = "--control-stream";
    args[n++] = "15000";
    args[n++] = "--stream";
    args[n++] = "42";
    va_start(ap, sub);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < TP_LAUNCH_ARGS_MAX - 1;)
        args[n++] = (char *)a;
    va_end(ap);
    args[n] = NULL;
    if (tp_proc_start(p, args, envs, out) != 0)
        return false;
    tp_test_track_child(p->pid);
    return true;
}

/* The final summary line of a producer/consumer (the line starting with "frames="). Dumps the
 * output and returns false when there is none. */
static inline bool e2e_summary(const char *what, const tp_proc_t *p, char *line, size_t cap)
{
    if (tp_proc_summary(p, "frames=", line, cap) == 0) {
        printf("%s: %s\n", what, line);
        fflush(stdout);
        return true;
    }
    e2e_dump(what, p);
    return false;
}

/* Wait until the output of p contains needle (or timeout). */
static inline bool e2e_wait_output(const tp_proc_t *p, const char *needle, unsigned timeout_ms)
{
    uint64_t end = tp_launch_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (!tp_proc_output_contains(p, needle)) {
        if (tp_launch_now_ns() > end)
            return false;
        tp_launch_sleep_ms(10);
    }
    return true;
}

/* Wait until p has printed its "attached role=…" line (the CLI's, after the attach completed;
 * a bare "attached" would also match the D-82 retry log line "client id N already attached"). */
static inline bool e2e_wait_attached(const tp_proc_t *p, unsigned timeout_ms)
{
    return e2e_wait_output(p, "attached role=", timeout_ms);
}

#endif

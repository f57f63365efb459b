/*
 * Process launching for programs that run the real system — the demo (examples/demo.c), the
 * end-to-end tests (tests/e2e/) and the end-to-end benchmark (bench/bench_e2e.c): start
 * `tensorpool driver|producer|consumer` as child processes with their output in a file, stop
 * them (SIGTERM, then SIGKILL), read their final `key=value` line, remove directories.
 *
 * Every child gets PR_SET_PDEATHSIG(SIGKILL), so it dies with its launcher even when the
 * launcher is killed with SIGKILL. Header-only (static functions), POSIX + Linux prctl.
 */
#ifndef TP_LAUNCH_H
#define TP_LAUNCH_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TP_LAUNCH_ARGS_MAX 48
#define TP_LAUNCH_ENV_MAX 24

typedef struct tp_proc {
    pid_t pid;
    int status;      /* exit code, 128 + signal, or -1 while running */
    char out[4200];  /* path of the file with stdout + stderr of the child */
} tp_proc_t;

static inline uint64_t tp_launch_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void tp_launch_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Start argv[0] (a path) with argv, env entries "K=V" added to the environment (envs may be
 * NULL; NULL-terminated), stdout+stderr to out_path. Returns 0 or -1. */
static inline int tp_proc_start(tp_proc_t *p, char *const argv[], char *const envs[],
                                const char *out_path)
{
    pid_t parent = getpid();
    memset(p, 0, sizeof *p);
    p->status = -1;
    snprintf(p->out, sizeof p->out, "%s", out_path);
    fflush(stdout);
    fflush(stderr);
    p->pid = fork();
    if (p->pid < 0)
        return -1;
    if (p->pid == 0) {
        int fd;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126); /* the launcher died before prctl */
        fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        for (int i = 0; envs != NULL && envs[i] != NULL; i++)
            putenv(envs[i]);
        execv(argv[0], argv);
        fprintf(stderr, "error=exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return 0;
}

/* Reap without blocking: 1 when it has exited (p->status set), 0 while running. */
static inline int tp_proc_poll(tp_proc_t *p)
{
    int st;
    pid_t r;
    if (p->pid <= 0 || p->status >= 0)
        return 1;
    r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return 1;
    }
    if (r < 0 && errno == ECHILD) {
        p->status = 255;
        return 1;
    }
    return 0;
}

/* Wait up to timeout_ms for the exit; returns the status or -1 (still running). */
static inline int tp_proc_wait(tp_proc_t *p, unsigned timeout_ms)
{
    uint64_t end = tp_launch_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (!tp_proc_poll(p)) {
        if (tp_launch_now_ns() >= end)
            return -1;
        tp_launch_sleep_ms(5);
    }
    return p->status;
}

/* SIGTERM, wait up to grace_ms, then SIGKILL and reap. Returns the status. */
static inline int tp_proc_stop(tp_proc_t *p, unsigned grace_ms)
{
    if (p->pid <= 0 || tp_proc_poll(p))
        return p->status;
    kill(p->pid, SIGTERM);
    if (tp_proc_wait(p, grace_ms) >= 0)
        return p->status;
    kill(p->pid, SIGKILL);
    return tp_proc_wait(p, 5000);
}

static inline void tp_proc_kill9(tp_proc_t *p)
{
    if (p->pid > 0 && !tp_proc_poll(p)) {
        kill(p->pid, SIGKILL);
        tp_proc_wait(p, 5000);
    }
}

/* Whole output file into buf (NUL-terminated, truncated to cap - 1). Returns bytes read. */
static inline size_t tp_proc_output(const tp_proc_t *p, char *buf, size_t cap)
{
    size_t n = 0;
    FILE *f = fopen(p->out, "r");
    buf[0] = '\0';
    if (f == NULL)
        return 0;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static inline bool tp_proc_output_contains(const tp_proc_t *p, const char *needle)
{
    static char buf[1 << 16];
    tp_proc_output(p, buf, sizeof buf);
    return strstr(buf, needle) != NULL;
}

/* The last line of the output that starts with `prefix` (e.g. "frames="), copied into line.
 * Returns 0, or -1 when there is none. */
static inline int tp_proc_summary(const tp_proc_t *p, const char *prefix, char *line, size_t cap)
{
    static char buf[1 << 20];
    const char *found = NULL, *s;
    size_t n = tp_proc_output(p, buf, sizeof buf);
    (void)n;
    for (s = buf; s != NULL && *s; ) {
        if (strncmp(s, prefix, strlen(prefix)) == 0)
            found = s;
        s = strchr(s, '\n');
        if (s != NULL)
            s++;
    }
    if (found == NULL)
        return -1;
    n = strcspn(found, "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(line, found, n);
    line[n] = '\0';
    return 0;
}

/* Value of key in a "k=v k=v" line as a double; def when absent. */
static inline double tp_kv_num(const char *line, const char *key, double def)
{
    size_t kl = strlen(key);
    for (const char *s = line; (s = strstr(s, key)) != NULL; s += kl) {
        if ((s == line || s[-1] == ' ') && s[kl] == '=') {
            char *end;
            double v = strtod(s + kl + 1, &end);
            return end == s + kl + 1 ? def : v;
        }
    }
    return def;
}

static inline uint64_t tp_kv_u64(const char *line, const char *key)
{
    size_t kl = strlen(key);
    for (const char *s = line; (s = strstr(s, key)) != NULL; s += kl)
        if ((s == line || s[-1] == ' ') && s[kl] == '=')
            return strtoull(s + kl + 1, NULL, 10);
    return UINT64_MAX;
}

static inline int tp_launch_rm_cb(const char *path, const struct stat *sb, int flag,
                                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* rm -rf without following symlinks. */
static inline void tp_launch_rmtree(const char *dir)
{
    if (dir != NULL && dir[0] != '\0')
        nftw(dir, tp_launch_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write a driver config for a private directory: control `ctl`, announce ctl + 1, QoS ctl + 2,
 * SHM under shm_dir, stream `stream` with nslots header slots and one pool of `stride` bytes,
 * the given announce/keepalive periods and expiry grace. Returns 0 or -1. */
static inline int tp_launch_write_config(const char *path, const char *shm_dir, uint32_t ctl,
                                         uint32_t stream, uint32_t nslots, uint32_t stride,
                                         uint32_t announce_ms, uint32_t keepalive_ms,
                                         uint32_t grace)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "[driver]\ninstance_id = \"tp-launch\"\ncontrol_channel = \"aeron:ipc\"\n"
            "control_stream_id = %u\nannounce_channel = \"aeron:ipc\"\nannounce_stream_id = %u\n"
            "qos_channel = \"aeron:ipc\"\nqos_stream_id = %u\n\n"
            "[shm]\nbase_dir = \"%s\"\nrequire_hugepages = false\npage_size_bytes = 4096\n"
            "permissions_mode = \"600\"\n\n"
            "[policies]\nallow_dynamic_streams = false\ndefault_profile = \"camera\"\n"
            "announce_period_ms = %u\nlease_keepalive_interval_ms = %u\n"
            "lease_expiry_grace_intervals = %u\nshutdown_timeout_ms = 100\n"
            "prefault_shm = true\nepoch_gc_enabled = true\n\n"
            "[profiles.camera]\nheader_nslots = %u\nheader_slot_bytes = 256\nmax_dims = 8\n"
            "payload_pools = [ { pool_id = 1, stride_bytes = %u } ]\n\n"
            "[streams.cam1]\nstream_id = %u\nprofile = \"camera\"\n",
            ctl, ctl + 1, ctl + 2, shm_dir, announce_ms, keepalive_ms, grace, nslots, stride,
            stream);
    return fclose(f) == 0 ? 0 : -1;
}

#endif

/*
 * The Aeron media driver of the benchmarks (bench_transport --transport aeron, bench_aeron):
 * a tensorpool transport with launch_media_driver, in a child process of its own that dies
 * with the benchmark (PR_SET_PDEATHSIG). Benchmark code only; not part of the library.
 */
#ifndef TP_BENCH_MEDIA_DRIVER_H
#define TP_BENCH_MEDIA_DRIVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#include "transport/transport.h"
#include "util/clock.h"
#include "util/error.h"

/* Start it with transport directory tdir and Aeron directory adir. Returns its pid once the
 * media driver is up, or -1 (the reason on stderr). Stop it with kill(pid, SIGKILL). */
static inline pid_t bench_media_driver_start(const char *tdir, const char *adir)
{
    int fds[2];
    char c = 0;
    pid_t pid;
    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        tp_transport_config_t cfg;
        tp_transport_t *t;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        tp_transport_config_init(&cfg);
        snprintf(cfg.dir, sizeof cfg.dir, "%s", tdir);
        cfg.kind = TP_TRANSPORT_AERON;
        snprintf(cfg.aeron_dir, sizeof cfg.aeron_dir, "%s", adir);
        cfg.launch_media_driver = true;
        cfg.liveness_timeout_ns = 10000000000ull; /* client liveness: loaded machines stall */
        if (tp_transport_open(&t, &cfg) != 0) {
            fprintf(stderr, "error=media driver: %s\n", tp_errmsg());
            _exit(1);
        }
        c = 1;
        if (write(fds[1], &c, 1) != 1)
            _exit(1);
        for (;;) { /* the media driver runs in its own thread; keep the client alive */
            tp_transport_do_work(t, tp_clock_monotonic_ns());
            usleep(10000);
        }
    }
    close(fds[1]);
    if (read(fds[0], &c, 1) != 1 || c != 1) {
        close(fds[0]);
        fprintf(stderr, "error=the media driver did not start\n");
        return -1;
    }
    close(fds[0]);
    return pid;
}

#endif

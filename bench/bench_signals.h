/*
 * Interrupted benchmarks clean up (bench_dataplane, bench_transport, bench_aeron): on SIGINT,
 * SIGTERM or SIGHUP the benchmark's own process runs its atexit() handlers (removing its
 * directories under /dev/shm, stopping its media driver) and exits 128 + signal; a forked
 * worker just _exit()s, its parent cleans up. The handler restores the default action first,
 * so a second signal always ends a process that hangs in its cleanup. exit() from a handler
 * is not async-signal-safe; acceptable for a benchmark, never done in the library.
 * Benchmark code only; not part of the library.
 */
#ifndef TP_BENCH_SIGNALS_H
#define TP_BENCH_SIGNALS_H

#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

static pid_t bench_main_pid;

static void bench_on_signal(int sig)
{
    signal(sig, SIG_DFL);
    if (getpid() == bench_main_pid)
        exit(128 + sig);
    _exit(128 + sig);
}

/* Call once in main(), after the atexit() handlers are registered. */
static inline void bench_cleanup_on_signals(void)
{
    bench_main_pid = getpid();
    signal(SIGINT, bench_on_signal);
    signal(SIGTERM, bench_on_signal);
    signal(SIGHUP, bench_on_signal);
}

#endif

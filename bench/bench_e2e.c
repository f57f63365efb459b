/*
 * End-to-end benchmark of issue 5 ("Benchmark"): the real driver, a producer process and a
 * consumer process on the public client API, through the driver-provisioned pool. The work
 * is done by `tensorpool bench` (src/cli/cmd_bench.c, one implementation for both); this
 * program runs the three configurations the issue names, each next to its floor measured in
 * the same run:
 *
 *  (a) big      640 KiB frames copied in (tp_producer_offer); the consumer reads every
 *               payload byte. Unpaced, then the sustained rate (highest rate with <= 2 %
 *               loss). Ratios to the one-core memcpy floor (target >= 0.8) and to the
 *               two-process handoff floor. Two pool geometries: 8 slots (8 MiB, the pool
 *               stays in the caches) and the integration example's 64 slots (64 MiB: on a
 *               machine whose caches keep less, every consumer reads its bytes at memory
 *               speed; read_floor shows it). docs/e2e.md explains the difference.
 *  (b) small    64-byte frames written in place (reserve, write, publish), 4096 slots, as
 *               fast as possible (target >= 5 M frames/s).
 *  (c) latency  one 64-byte frame every --gap-us (20): commit to validated view,
 *               p50/p90/p99/p99.9/max next to half a cache-line round trip (target p50 <= 3x).
 *
 *   bench_e2e [--seconds S (per run, 3)] [--gap-us N] [--phase big|small|latency|all]
 *             [--bin PATH/tensorpool] [--json]
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TP_BINARY_DIR
#define TP_BINARY_DIR "."
#endif

static int run(const char *bin, const char *seconds, const char *gap, int json, const char *label,
               const char *const *args)
{
    const char *argv[32];
    int n = 0, st = 0;
    pid_t pid;
    argv[n++] = bin;
    argv[n++] = "bench";
    argv[n++] = "--duration";
    argv[n++] = seconds;
    argv[n++] = "--gap-us";
    argv[n++] = gap;
    if (json)
        argv[n++] = "--json";
    while (*args != NULL && n < 31)
        argv[n++] = *args++;
    argv[n] = NULL;
    printf("# bench_e2e (%s):", label);
    for (int i = 0; i < n; i++)
        printf(" %s", argv[i]);
    printf("\n");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        execv(bin, (char *const *)argv);
        fprintf(stderr, "error=cannot run %s\n", bin);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return 1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    static const char *const big[] = {"--payload-bytes", "655360", "--slots", "8",
                                      "--phase", "throughput", "--sustained", NULL};
    static const char *const big64[] = {"--payload-bytes", "655360", "--slots", "64",
                                        "--phase", "throughput", "--sustained", NULL};
    static const char *const small[] = {"--payload-bytes", "64", "--slots", "4096", "--in-place",
                                        "--phase", "throughput", NULL};
    static const char *const lat[] = {"--payload-bytes", "64", "--slots", "4096", "--in-place",
                                      "--phase", "latency", NULL};
    char bin[PATH_MAX];
    const char *seconds = "3", *gap = "20", *phase = "all";
    int json = 0, rc = 0;
    snprintf(bin, sizeof bin, "%s/tensorpool", TP_BINARY_DIR);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (i + 1 < argc && !strcmp(argv[i], "--seconds")) seconds = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--gap-us")) gap = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--phase")) phase = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--bin")) snprintf(bin, sizeof bin, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: bench_e2e [--seconds S] [--gap-us N] "
                            "[--phase big|small|latency|all] [--bin PATH] [--json]\n");
            return 2;
        }
    }
    if (!strcmp(phase, "all") || !strcmp(phase, "big")) {
        rc |= run(bin, seconds, gap, json, "a: 640 KiB copied in, 8 slots", big);
        rc |= run(bin, seconds, gap, json, "a: 640 KiB copied in, 64 slots", big64);
    }
    if (!strcmp(phase, "all") || !strcmp(phase, "small"))
        rc |= run(bin, seconds, gap, json, "b: 64 B in place", small);
    if (!strcmp(phase, "all") || !strcmp(phase, "latency"))
        rc |= run(bin, seconds, gap, json, "c: latency", lat);
    return rc;
}

/*
 * `tensorpool driver CONFIG.toml [--dir TRANSPORT_DIR] [--transport embedded|aeron]
 *  [--aeron-dir DIR]`: a thin main over tp_driver_t (--transport / --aeron-dir override
 *  driver.transport / driver.aeron_dir and their environment, docs/aeron.md)
 * (STYLE.md rule 1, DESIGN.md §2).
 *
 *   load the config (every problem printed as an `error=` / `warning=` line)
 *   -> tp_driver_init (transport directory: --dir, else $TENSORPOOL_DIR, else the default)
 *   -> do_work loop with an idle strategy (spin, then sleep with backoff up to 1 ms)
 *   -> SIGINT/SIGTERM/SIGHUP: tp_driver_shutdown(NORMAL), keep looping until done (D-67)
 *   -> close, exit 0.
 * Fatal errors exit 1 with one `error=<reason>` line; usage errors exit 2.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "driver/driver.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

static int usage(const char *reason)
{
    printf("error=%s\n", reason);
    fprintf(stderr, "usage: tensorpool driver CONFIG.toml [--dir TRANSPORT_DIR]\n"
                    "         [--transport embedded|aeron] [--aeron-dir DIR]\n");
    return 2;
}

/* Idle strategy: spin while work keeps coming, then back off to sleeps of up to 1 ms. */
typedef struct idle {
    unsigned idle_cycles;
    long sleep_ns;
} idle_t;

static void idle_step(idle_t *s, int work)
{
    struct timespec ts;
    if (work > 0) {
        s->idle_cycles = 0;
        s->sleep_ns = 0;
        return;
    }
    if (++s->idle_cycles < 100)
        return; /* spin */
    s->sleep_ns = s->sleep_ns == 0 ? 1000 : s->sleep_ns * 2;
    if (s->sleep_ns > 1000000)
        s->sleep_ns = 1000000;
    ts.tv_sec = 0;
    ts.tv_nsec = s->sleep_ns;
    nanosleep(&ts, NULL); /* EINTR (a signal) just ends the nap early */
}

static int install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* SIGHUP too: a driver started from a terminal that goes away drains like SIGTERM
     * instead of dying without its ShmDriverShutdown notice */
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGHUP, &sa, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static int load_config(tp_driver_config_t *cfg, const char *path)
{
    tp_cfg_report_t *rep = calloc(1, sizeof *rep);
    int rc;
    if (rep == NULL) {
        printf("error=out of memory\n");
        return -1;
    }
    rc = tp_driver_config_load(cfg, path, NULL, rep);
    for (uint32_t i = 0; i < rep->warning_count; i++)
        printf("warning=%s\n", rep->warnings[i]);
    for (uint32_t i = 0; i < rep->error_count; i++)
        printf("error=%s\n", rep->errors[i]);
    if (rc != 0 && rep->error_count == 0)
        printf("error=%s\n", tp_errmsg());
    free(rep);
    fflush(stdout);
    return rc;
}

static int run(tp_driver_t *d)
{
    idle_t idle = {0, 0};
    bool shutting_down = false;

    while (!tp_driver_done(d)) {
        uint64_t now = tp_clock_monotonic_ns();
        int work;
        if (stop_signal && !shutting_down) {
            char msg[64];
            snprintf(msg, sizeof msg, "driver stopped by %s",
                     stop_signal == SIGINT   ? "SIGINT"
                     : stop_signal == SIGHUP ? "SIGHUP"
                                             : "SIGTERM");
            tp_log_info("driver", "%s: draining", msg + strlen("driver stopped by "));
            tp_driver_shutdown(d, 0 /* NORMAL */, msg, now);
            shutting_down = true;
        }
        work = tp_driver_do_work(d, now);
        if (work < 0) {
            printf("error=%s\n", tp_errmsg());
            return 1;
        }
        idle_step(&idle, work);
    }
    return 0;
}

int tp_cmd_driver(int argc, char **argv)
{
    const char *config_path = NULL, *dir = NULL, *transport = NULL, *aeron_dir = NULL;
    tp_driver_config_t *cfg;
    tp_transport_config_t tcfg;
    tp_driver_t *d = NULL;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strncmp(argv[i], "--dir=", 6) == 0)
            dir = argv[i] + 6;
        else if (strcmp(argv[i], "--transport") == 0 && i + 1 < argc)
            transport = argv[++i];
        else if (strcmp(argv[i], "--aeron-dir") == 0 && i + 1 < argc)
            aeron_dir = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
        {
            printf("usage: tensorpool driver CONFIG.toml [--dir TRANSPORT_DIR]\n"
                   "         [--transport embedded|aeron] [--aeron-dir DIR]\n");
            return 0;
        }
        else if (argv[i][0] == '-' || config_path != NULL)
            return usage("unexpected argument");
        else
            config_path = argv[i];
    }
    if (config_path == NULL)
        return usage("missing CONFIG.toml");
    cfg = malloc(sizeof *cfg); /* large (fixed arrays): not on the stack */
    if (cfg == NULL) {
        printf("error=out of memory\n");
        return 1;
    }
    if (load_config(cfg, config_path) != 0) {
        free(cfg);
        return 1;
    }
    if ((transport != NULL && strlen(transport) >= sizeof cfg->transport) ||
        (aeron_dir != NULL && strlen(aeron_dir) >= sizeof cfg->aeron_dir)) {
        free(cfg);
        return usage("--transport or --aeron-dir too long");
    }
    if (transport != NULL) /* tp_driver_init validates it */
        snprintf(cfg->transport, sizeof cfg->transport, "%s", transport);
    if (aeron_dir != NULL)
        snprintf(cfg->aeron_dir, sizeof cfg->aeron_dir, "%s", aeron_dir);
    tp_transport_config_init(&tcfg);
    if (dir != NULL) {
        if (strlen(dir) >= sizeof tcfg.dir) {
            free(cfg);
            return usage("--dir too long");
        }
        snprintf(tcfg.dir, sizeof tcfg.dir, "%s", dir);
    }
    tcfg.file_mode = (mode_t)(cfg->permissions_mode & 0777);
    tcfg.dir_mode = tcfg.file_mode | ((tcfg.file_mode & 0444) >> 2);
    if (install_signals() != 0) {
        printf("error=cannot install signal handlers: %s\n", strerror(errno));
        free(cfg);
        return 1;
    }
    if (tp_driver_init(&d, cfg, &tcfg, tp_clock_monotonic_ns()) != 0) {
        printf("error=%s\n", tp_errmsg());
        free(cfg);
        return 1;
    }
    free(cfg);
    rc = run(d);
    tp_driver_close(d);
    if (rc == 0)
        tp_log_info("driver", "stopped");
    return rc;
}

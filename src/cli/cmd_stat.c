/*
 * tensorpool stat [--once] [--json] [--interval MS] [--count N] [--stream N] [--shm-dir D]
 *                 [--dir D] [--transport embedded|aeron] [--aeron-dir D]
 *                 [--control-channel C] [--control-stream N]
 *                 [--announce-channel C] [--announce-stream N] [--qos-channel C]
 *                 [--qos-stream N] [--allowed-dir D]
 *
 * A live view of a running system (DESIGN.md §5, issue 6), built from what anyone on the host
 * may watch, without talking to the driver:
 *
 *   streams    the driver's ShmPoolAnnounce (stream, epoch, producer id, pools); frames/s and
 *              MiB/s from the stream's header ring (mapped read-only through the W-178 checks:
 *              the newest committed seq at both ends of the window, the mean values_len of
 *              the slots in between), else from successive QosProducer current_seq values;
 *   consumers  their QosConsumer (id, mode, last seq, drops gap/late) and the lag: the newest
 *              seq of the ring (else of the producer's QoS) minus last_seq_seen when the
 *              report arrived;
 *   leases     the ShmLeaseKeepalive traffic on the driver control stream;
 *   counters   every counters file (src/shm/counters.h) in <namespace dir>/counters of the
 *              namespace directories given with --shm-dir or found from announced region
 *              paths: the driver's (attach responses by code, keepalives, revocations, ...)
 *              and each producer's and consumer's, with the liveness of their pids.
 *
 * What is collected and how rates are computed: stat_collect.c. Each window (--interval,
 * default 1000 ms) ends with one report (cmd_stat_print.c): on a
 * terminal a table redrawn in place (ANSI cursor home + clear), otherwise key=value lines
 * (`stat`, `driver`, `stream`, `consumer`, `counters`, `lease` rows), or one JSON object per
 * window with --json. --once prints one window and exits 0; --count N stops after N windows;
 * otherwise it runs until SIGINT/SIGTERM/SIGHUP (exit 0). Like tap it is an ordinary lossless
 * subscriber of the streams it watches. Bad arguments exit 2, a transport that cannot be
 * opened exits 1, each with one error= line.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_client.h"
#include "cli/commands.h"
#include "cli/stat.h"
#include "util/clock.h"
#include "util/error.h"

#define ST_POLL_LIMIT 64
#define ST_WORK_INTERVAL_NS 100000000ull /* transport heartbeats */
#define ST_IDLE_NS 1000000L
#define ST_DEFAULT_ANNOUNCE_STREAM 15001u /* the integration example's driver (as the CLI) */
#define ST_DEFAULT_QOS_STREAM 1200u       /* the producer/consumer library default */

/* ---- arguments ------------------------------------------------------------------------- */

static int usage(const char *reason)
{
    if (reason != NULL) {
        printf("error=%s\n", reason);
        fflush(stdout); /* before the usage text on stderr, when both go to one file */
    }
    fprintf(reason ? stderr : stdout,
            "usage: tensorpool stat [--once] [--json] [--interval MS] [--count N] [--stream N]\n"
            "         [--shm-dir DIR] [--dir DIR] [--transport embedded|aeron] [--aeron-dir DIR]\n"
            "         [--control-channel C] [--control-stream N]\n"
            "         [--announce-channel C] [--announce-stream N] [--qos-channel C]\n"
            "         [--qos-stream N] [--allowed-dir DIR]\n"
            "  --once           one window, then exit 0\n"
            "  --json           one JSON object per window\n"
            "  --interval MS    window length (default 1000)\n"
            "  --count N        stop after N windows\n"
            "  --stream N       only this data stream\n"
            "  --shm-dir DIR    driver namespace directory (<base>/tensorpool-$USER/<namespace>)\n"
            "                   whose counters/ to read; also found from announces\n"
            "  --dir DIR        transport directory (default $TENSORPOOL_DIR)\n"
            "  --transport T    embedded | aeron (default $TP_TRANSPORT, else embedded)\n"
            "  --aeron-dir DIR  the Aeron media driver's directory (default $AERON_DIR)\n"
            "  --control-*      driver control stream (default aeron:ipc 15000)\n"
            "  --announce-*     driver announce stream (default aeron:ipc %u)\n"
            "  --qos-*          QoS stream of producers/consumers (default aeron:ipc %u)\n"
            "  --allowed-dir    directory announced regions may lie in (repeatable; default\n"
            "                   /dev/shm; --shm-dir directories are allowed too)\n",
            ST_DEFAULT_ANNOUNCE_STREAM, ST_DEFAULT_QOS_STREAM);
    return reason ? 2 : 0;
}

/* Channel and stream options: --<name>-channel C / --<name>-stream N. */
static int parse_endpoint(st_opts_t *o, int argc, char **argv, int *i, bool *err)
{
    struct {
        const char *ch_opt, *st_opt;
        char *channel;
        uint32_t *stream;
    } eps[] = {
        {"--control-channel", "--control-stream", o->control_channel, &o->control_stream},
        {"--announce-channel", "--announce-stream", o->announce_channel, &o->announce_stream},
        {"--qos-channel", "--qos-stream", o->qos_channel, &o->qos_stream},
    };
    const char *v;
    for (size_t k = 0; k < sizeof eps / sizeof eps[0]; k++) {
        if ((v = tp_cli_optval(eps[k].ch_opt, argc, argv, i, err)) != NULL || *err) {
            if (*err || *v == '\0' || strlen(v) >= TP_CHANNEL_MAX)
                return -1;
            snprintf(eps[k].channel, TP_CHANNEL_MAX, "%s", v);
            return 1;
        }
        if ((v = tp_cli_optval(eps[k].st_opt, argc, argv, i, err)) != NULL || *err)
            return *err || tp_cli_parse_u32(v, eps[k].stream) != 0 ? -1 : 1;
    }
    return 0;
}

/* One option at argv[*i]: 1 consumed, 0 unknown, -1 bad value. */
static int parse_one(st_opts_t *o, int argc, char **argv, int *i)
{
    bool err = false;
    const char *v;
    uint64_t n;
    int rc;

    if (!strcmp(argv[*i], "--once")) {
        o->once = true;
        return 1;
    }
    if (!strcmp(argv[*i], "--json")) {
        o->json = true;
        return 1;
    }
    if ((v = tp_cli_optval("--interval", argc, argv, i, &err)) != NULL || err) {
        if (err || tp_cli_parse_u64(v, &n) != 0 || n == 0 || n > 3600000)
            return -1;
        o->interval_ns = n * 1000000ull;
        return 1;
    }
    if ((v = tp_cli_optval("--count", argc, argv, i, &err)) != NULL || err)
        return err || tp_cli_parse_u64(v, &o->count) != 0 || o->count == 0 ? -1 : 1;
    if ((v = tp_cli_optval("--stream", argc, argv, i, &err)) != NULL || err) {
        o->stream_filter = true;
        return err || tp_cli_parse_u32(v, &o->stream_id) != 0 ? -1 : 1;
    }
    if ((v = tp_cli_optval("--shm-dir", argc, argv, i, &err)) != NULL || err) {
        if (err || *v == '\0' || o->shm_dir_count >= ST_DIRS_MAX)
            return -1;
        o->shm_dirs[o->shm_dir_count++] = v;
        return 1;
    }
    if ((v = tp_cli_optval("--allowed-dir", argc, argv, i, &err)) != NULL || err) {
        if (err || *v == '\0' || o->allowed_dir_count >= TP_ALLOWED_DIRS_MAX)
            return -1;
        o->allowed_dirs[o->allowed_dir_count++] = v;
        return 1;
    }
    if ((rc = tp_cli_transport_opt(argc, argv, i, &o->dir, &o->transport, &o->aeron_dir)) != 0)
        return rc;
    rc = parse_endpoint(o, argc, argv, i, &err);
    return rc;
}

static void opts_init(st_opts_t *o)
{
    tp_cli_common_t c;
    tp_cli_common_init(&c); /* control channel/stream as every subcommand (TP_CONTROL_*) */
    memset(o, 0, sizeof *o);
    o->interval_ns = 1000000000ull;
    snprintf(o->control_channel, sizeof o->control_channel, "%s", c.control_channel);
    o->control_stream = c.control_stream;
    snprintf(o->announce_channel, sizeof o->announce_channel, "aeron:ipc");
    o->announce_stream = ST_DEFAULT_ANNOUNCE_STREAM;
    snprintf(o->qos_channel, sizeof o->qos_channel, "aeron:ipc");
    o->qos_stream = ST_DEFAULT_QOS_STREAM;
}

/* 0 run, 1 help printed (exit 0), 2 usage error (printed). */
static int parse_args(st_opts_t *o, int argc, char **argv)
{
    char msg[256];
    opts_init(o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(NULL);
            return 1;
        }
        rc = parse_one(o, argc, argv, &i);
        if (rc < 0) {
            snprintf(msg, sizeof msg, "bad or missing value for %.100s", a);
            return usage(msg);
        }
        if (rc == 0) {
            snprintf(msg, sizeof msg, "unknown argument '%.100s' (see tensorpool stat --help)", a);
            return usage(msg);
        }
    }
    if (o->once)
        o->count = 1;
    return 0;
}

/* ---- directories ------------------------------------------------------------------------ */

static bool inside_allowed(const st_state_t *s, const char *canon)
{
    for (uint32_t i = 0; i < s->allowed.count; i++) {
        const char *d = s->allowed.canon[i];
        size_t n = strlen(d);
        if (strcmp(d, "/") == 0 ||
            (strncmp(canon, d, n) == 0 && (canon[n] == '\0' || canon[n] == '/')))
            return true;
    }
    return false;
}

/* Remember a driver namespace directory (canonical, inside the allowed dirs). */
void st_add_ns_dir(st_state_t *s, const char *dir)
{
    char canon[PATH_MAX];
    if (realpath(dir, canon) == NULL || !inside_allowed(s, canon))
        return;
    for (uint32_t i = 0; i < s->ns_dir_count; i++)
        if (strcmp(s->ns_dirs[i], canon) == 0)
            return;
    if (s->ns_dir_count < ST_DIRS_MAX)
        snprintf(s->ns_dirs[s->ns_dir_count++], PATH_MAX, "%s", canon);
}

static int setup_dirs(st_state_t *s)
{
    tp_allowed_dirs_init(&s->allowed);
    if (s->o.allowed_dir_count == 0 && access("/dev/shm", F_OK) == 0 &&
        tp_allowed_dirs_add(&s->allowed, "/dev/shm") != 0)
        return -1;
    for (uint32_t i = 0; i < s->o.allowed_dir_count; i++)
        if (tp_allowed_dirs_add(&s->allowed, s->o.allowed_dirs[i]) != 0)
            return tp_err_push("--allowed-dir");
    for (uint32_t i = 0; i < s->o.shm_dir_count; i++) {
        if (tp_allowed_dirs_add(&s->allowed, s->o.shm_dirs[i]) != 0)
            return tp_err_push("--shm-dir");
        st_add_ns_dir(s, s->o.shm_dirs[i]);
    }
    return 0;
}

/* ---- transport --------------------------------------------------------------------------- */

static int subscribe(st_state_t *s, const char *channel, uint32_t stream_id)
{
    tp_channel_t ch;

    if (tp_transport_channel_parse(s->transport, channel, &ch) != 0) /* aeron:udp on Aeron */
        return -1;
    for (uint32_t i = 0; i < s->sub_count; i++)
        if (s->sub_streams[i] == stream_id && strcmp(s->sub_channels[i], ch.canonical) == 0)
            return 0; /* the announce stream may be the control stream */
    if (tp_transport_add_subscription(s->transport, channel, stream_id,
                                      &s->subs[s->sub_count]) != 0)
        return tp_err_push("%s stream %" PRIu32, channel, stream_id);
    memcpy(s->sub_channels[s->sub_count], ch.canonical, sizeof ch.canonical);
    s->sub_streams[s->sub_count++] = stream_id;
    return 0;
}

static int open_transport(st_state_t *s)
{
    tp_transport_config_t cfg;
    tp_transport_config_init(&cfg); /* TP_TRANSPORT, AERON_DIR */
    if (s->o.transport != NULL && tp_transport_kind_parse(s->o.transport, &cfg.kind) != 0)
        return -1;
    if (s->o.aeron_dir != NULL)
        snprintf(cfg.aeron_dir, sizeof cfg.aeron_dir, "%s", s->o.aeron_dir);
    if (s->o.dir != NULL) {
        if (s->o.dir[0] == '/') {
            snprintf(cfg.dir, sizeof cfg.dir, "%s", s->o.dir);
        } else {
            char cwd[TP_TRANSPORT_DIR_MAX];
            int n;
            if (getcwd(cwd, sizeof cwd) == NULL)
                return tp_err_set_errno(TP_EIO, errno, "--dir: getcwd");
            n = snprintf(cfg.dir, sizeof cfg.dir, "%s/%s", cwd, s->o.dir);
            if (n < 0 || (size_t)n >= sizeof cfg.dir)
                return tp_err_set(TP_ETOOBIG, "--dir is too long");
        }
    }
    if (tp_transport_open(&s->transport, &cfg) != 0)
        return -1;
    return subscribe(s, s->o.control_channel, s->o.control_stream) != 0 ||
                   subscribe(s, s->o.announce_channel, s->o.announce_stream) != 0 ||
                   subscribe(s, s->o.qos_channel, s->o.qos_stream) != 0
               ? -1
               : 0;
}

static int poll_all(st_state_t *s)
{
    int got = 0;
    for (uint32_t i = 0; i < s->sub_count; i++) {
        int n;
        s->now_ns = tp_clock_monotonic_ns();
        n = tp_subscription_poll(s->subs[i], st_on_message, s, ST_POLL_LIMIT);
        if (n > 0) {
            got += n;
        } else if (n < 0 && tp_errcode() == TP_ELAPPED) {
            s->lost_bytes = 0;
            for (uint32_t k = 0; k < s->sub_count; k++)
                s->lost_bytes += tp_subscription_lost_bytes(s->subs[k]);
            got++;
        }
    }
    return got;
}

/* ---- the end of a window -------------------------------------------------------------- */

static void read_file(st_state_t *s, const char *path)
{
    tp_counters_view_t v;
    size_t plen = strlen(path);
    st_file_t *f;
    if (s->file_count >= ST_FILES_MAX || plen >= sizeof f->path)
        return;
    if (tp_counters_view_open(&v, path, &s->allowed) != 0) {
        s->files_skipped++;
        snprintf(s->last_skip, sizeof s->last_skip, "%s", tp_errmsg());
        return;
    }
    if (!s->o.stream_filter || v.info.role == TP_COUNTERS_ROLE_DRIVER ||
        v.info.stream_id == s->o.stream_id) {
        f = &s->files[s->file_count++];
        memcpy(f->path, path, plen + 1);
        f->info = v.info;
        f->alive = tp_counters_pid_alive(v.info.pid);
        f->update_ns = tp_counters_view_update_ns(&v);
        f->nvalues = v.info.count < ST_VALUES_MAX ? v.info.count : ST_VALUES_MAX;
        for (uint32_t k = 0; k < f->nvalues; k++)
            f->values[k] = tp_counters_view_value(&v, k);
    }
    tp_counters_view_close(&v);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int tpc_entry(const struct dirent *e)
{
    size_t n = strlen(e->d_name), k = strlen(TP_COUNTERS_SUFFIX);
    return e->d_name[0] != '.' && n > k && strcmp(e->d_name + n - k, TP_COUNTERS_SUFFIX) == 0;
}

static void read_counters(st_state_t *s)
{
    s->file_count = 0;
    s->files_skipped = 0;
    for (uint32_t d = 0; d < s->ns_dir_count; d++) {
        char dir[PATH_MAX + 16], path[2 * PATH_MAX];
        struct dirent **list = NULL;
        int n;
        snprintf(dir, sizeof dir, "%s/%s", s->ns_dirs[d], TP_COUNTERS_DIR_NAME);
        n = scandir(dir, &list, tpc_entry, by_name);
        for (int k = 0; k < n; k++) {
            snprintf(path, sizeof path, "%s/%s", dir, list[k]->d_name);
            read_file(s, path);
            free(list[k]);
        }
        free(list);
    }
}

const st_file_t *st_find_file(const st_state_t *s, uint32_t role, uint32_t id, uint32_t stream)
{
    for (uint32_t i = 0; i < s->file_count; i++) {
        const st_file_t *f = &s->files[i];
        if (f->info.role == role && f->info.id == id && f->info.stream_id == stream)
            return f;
    }
    return NULL;
}

static void end_window(st_state_t *s, bool table, bool clear)
{
    s->now_ns = tp_clock_monotonic_ns();
    read_counters(s); /* first: the QoS rate takes the mean frame length from them */
    st_window_rates(s);
    st_print(s, table, clear);
    fflush(stdout);
    s->windows++;
    s->window_start_ns = s->now_ns;
}

static void close_all(st_state_t *s)
{
    for (uint32_t i = 0; i < ST_STREAMS_MAX; i++)
        if (s->streams[i].used)
            st_stream_unmap(&s->streams[i]);
    tp_transport_close(s->transport);
}

int tp_cmd_stat(int argc, char **argv)
{
    st_state_t *s = calloc(1, sizeof *s); /* large: fixed tables */
    bool tty = isatty(STDOUT_FILENO) == 1;
    bool table, clear;
    uint64_t next_end, last_work;
    int rc;

    if (s == NULL) {
        printf("error=out of memory\n");
        return 1;
    }
    rc = parse_args(&s->o, argc, argv);
    if (rc != 0) {
        free(s);
        return rc == 1 ? 0 : rc;
    }
    table = tty && !s->o.json;
    clear = table && !s->o.once;
    if (setup_dirs(s) != 0) {
        printf("error=%s\n", tp_errmsg());
        free(s);
        return 2;
    }
    tp_cli_install_signals(); /* SIGINT/SIGTERM/SIGHUP end the loop: tp_cli_stop */
    if (open_transport(s) != 0) {
        printf("error=%s\n", tp_errmsg());
        tp_transport_close(s->transport);
        free(s);
        return 1;
    }
    s->start_ns = s->window_start_ns = s->now_ns = tp_clock_monotonic_ns();
    tp_transport_do_work(s->transport, s->now_ns);
    next_end = s->start_ns + s->o.interval_ns;
    last_work = s->start_ns;
    while (!tp_cli_stop) {
        int got = poll_all(s);
        uint64_t now = tp_clock_monotonic_ns();
        if (now >= next_end) {
            end_window(s, table, clear);
            if (s->o.count != 0 && s->windows >= s->o.count)
                break;
            next_end += s->o.interval_ns;
            if (next_end <= now)
                next_end = now + s->o.interval_ns; /* we fell behind: no burst of windows */
        }
        if (now - last_work >= ST_WORK_INTERVAL_NS) {
            tp_transport_do_work(s->transport, now);
            last_work = now;
        }
        if (!got) {
            struct timespec ts = {0, ST_IDLE_NS};
            nanosleep(&ts, NULL);
        }
    }
    close_all(s);
    free(s);
    return 0;
}

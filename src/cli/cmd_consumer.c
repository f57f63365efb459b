/*
 * tensorpool consumer [--stream N] [--count N] [--duration SEC] [--verify interop|none]
 *                     [--json] [--announce-channel C] [--announce-stream N] [--delay-us N]
 *                     [--max-rate HZ] [--spin] + the common driver options (cli/cli_client.h)
 *
 * Attaches to the driver as a consumer of a stream and reads its frames zero-copy
 * (DESIGN.md §5). Per frame: with --verify interop the payload pattern of the frame's seq is
 * checked IN PLACE (tp_pattern_verify), then tp_frame_is_intact re-checks the seqlock:
 *   * not intact        -> the producer lapped the read: discarded, counted in `lapped`
 *   * intact, bad bytes -> an accepted frame with wrong content: counted in `torn`
 * so torn > 0 is always a bug (of the library or of the producer), while lapped > 0 only
 * means this reader was too slow. A frame whose epoch is lower than one already seen counts
 * in `old_epoch` (must stay 0: W-120). Latency per accepted frame is now − the
 * FrameDescriptor timestamp (publish time), or − the slot timestamp when the descriptor
 * carries none; both CLOCK_MONOTONIC.
 *
 * --announce-stream defaults to 15001 (the integration example's driver announce stream;
 * $CONSUMER_ANNOUNCE_STREAM_ID wins when set). --delay-us sleeps after every frame (a slow
 * consumer); --max-rate selects RATE_LIMITED mode; --spin busy-polls (one core, lowest
 * latency) instead of backing off to short sleeps when idle. Stops after --count frames, after
 * --duration seconds, or on SIGINT/SIGTERM/SIGHUP.
 *
 * Output: one final line
 *   frames=N drops_gap=N drops_late=N torn=N remaps=N last_seq=N|none epoch=E lapped=N
 *   old_epoch=N seq_regress=N first_epoch=E frames_epoch=N bytes=N elapsed_s=X active_s=X
 *   lat_p50_us=X lat_p99_us=X lat_max_us=X reattaches=N state=NAME consumer_id=N
 *   epoch_mismatches=N
 * (frames_epoch: frames accepted in the final epoch; epoch_mismatches: descriptors of an epoch
 * other than the mapped one, W-120 step 2, e.g. a new producer's first frames before its
 * epoch's announce is mapped), or with --json one JSON object with the same keys. Exit 0; 3
 * with --verify when torn or old_epoch is non-zero; 1 on an attach/setup error; 2 on bad
 * arguments.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_client.h"
#include "cli/commands.h"
#include "shm/pool.h"
#include "util/clock.h"

#define DO_WORK_INTERVAL_NS 100000ull

typedef struct cons_opts {
    tp_cli_common_t common;
    uint64_t count;
    double duration;
    bool verify;
    bool json;
    uint64_t delay_us;
    uint32_t max_rate;
    bool spin;
} cons_opts_t;

typedef struct cons_state {
    bool verify;
    uint64_t frames, accepted, lapped, torn, old_epoch, seq_regress, bytes;
    uint64_t first_epoch, max_epoch, frames_epoch;
    uint64_t last_epoch_seq; /* last accepted seq of max_epoch, or UINT64_MAX */
    uint64_t first_ns, last_ns;
    tp_cli_hist_t hist;
} cons_state_t;

static int usage(const char *reason)
{
    if (reason != NULL)
        printf("error=%s\n", reason);
    fprintf(reason ? stderr : stdout,
            "usage: tensorpool consumer [--stream N] [--count N] [--duration SEC]\n"
            "         [--verify interop|none] [--json] [--announce-channel C]\n"
            "         [--announce-stream N] [--delay-us N] [--max-rate HZ] [--spin] [--dir DIR]\n"
            "         [--control-channel C] [--control-stream N] [--client-id N]\n"
            "         [--attach-timeout SEC] [--allowed-dir DIR] [--transport embedded|aeron]\n"
            "         [--aeron-dir DIR]\n");
    return reason ? 2 : 0;
}

static int parse_args(cons_opts_t *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    tp_cli_common_init(&o->common);
    for (int i = 1; i < argc; i++) {
        bool err = false;
        const char *v;
        int c = tp_cli_common_parse(&o->common, argc, argv, &i);
        if (c < 0)
            return 2;
        if (c > 0)
            continue;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage(NULL), 1;
        if (!strcmp(argv[i], "--json")) {
            o->json = true;
        } else if (!strcmp(argv[i], "--spin")) {
            o->spin = true;
        } else if ((v = tp_cli_optval("--count", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_u64(v, &o->count) != 0)
                return usage("bad --count");
        } else if ((v = tp_cli_optval("--duration", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_double(v, &o->duration) != 0)
                return usage("bad --duration");
        } else if ((v = tp_cli_optval("--verify", argc, argv, &i, &err)) != NULL || err) {
            if (err || (strcmp(v, "interop") && strcmp(v, "none")))
                return usage("bad --verify (interop|none)");
            o->verify = !strcmp(v, "interop");
        } else if ((v = tp_cli_optval("--delay-us", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_u64(v, &o->delay_us) != 0)
                return usage("bad --delay-us");
        } else if ((v = tp_cli_optval("--max-rate", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_u32(v, &o->max_rate) != 0)
                return usage("bad --max-rate");
        } else {
            char reason[160];
            snprintf(reason, sizeof reason, "unexpected argument '%.100s'", argv[i]);
            return usage(reason);
        }
    }
    return 0;
}

static void on_frame(void *clientd, const tp_frame_t *f)
{
    cons_state_t *st = clientd;
    uint64_t now = tp_clock_monotonic_ns(), ts;
    int bad = 0;
    st->frames++;
    if (st->first_epoch == 0)
        st->first_epoch = f->epoch;
    if (f->epoch < st->max_epoch) {
        st->old_epoch++; /* W-120: must never happen */
        return;
    }
    if (f->epoch > st->max_epoch) {
        st->max_epoch = f->epoch;
        st->frames_epoch = 0;
        st->last_epoch_seq = UINT64_MAX;
    }
    if (st->verify)
        bad = tp_pattern_verify(f->data, f->len, f->seq) != 0;
    if (!tp_frame_is_intact(f)) {
        st->lapped++;
        return;
    }
    if (bad) {
        st->torn++;
        return;
    }
    if (st->last_epoch_seq != UINT64_MAX && f->seq <= st->last_epoch_seq)
        st->seq_regress++;
    st->last_epoch_seq = f->seq;
    st->accepted++;
    st->frames_epoch++;
    st->bytes += f->len;
    ts = f->publish_timestamp_ns != TP_NULL_U64 ? f->publish_timestamp_ns : f->timestamp_ns;
    if (ts != TP_NULL_U64 && ts != 0 && now >= ts)
        tp_cli_hist_add(&st->hist, now - ts);
    if (st->first_ns == 0)
        st->first_ns = now;
    st->last_ns = now;
}

static void print_summary(const cons_opts_t *o, const cons_state_t *st, tp_consumer_t *c, double el)
{
    tp_consumer_stats_t cs;
    char last[32];
    double active = st->last_ns > st->first_ns ? (double)(st->last_ns - st->first_ns) / 1e9 : 0.0;
    double p50 = (double)tp_cli_hist_quantile(&st->hist, 0.50) / 1e3;
    double p99 = (double)tp_cli_hist_quantile(&st->hist, 0.99) / 1e3;
    double pmax = (double)st->hist.max / 1e3;
    tp_consumer_get_stats(c, &cs);
    if (cs.last_seq_seen == TP_NULL_U64)
        snprintf(last, sizeof last, "%s", o->json ? "null" : "none");
    else
        snprintf(last, sizeof last, "%" PRIu64, cs.last_seq_seen);
    printf(o->json ? "{\"frames\":%" PRIu64 ",\"drops_gap\":%" PRIu64 ",\"drops_late\":%" PRIu64
                     ",\"torn\":%" PRIu64 ",\"remaps\":%" PRIu64 ",\"last_seq\":%s,\"epoch\":%" PRIu64
                     ",\"lapped\":%" PRIu64 ",\"old_epoch\":%" PRIu64 ",\"seq_regress\":%" PRIu64
                     ",\"first_epoch\":%" PRIu64 ",\"frames_epoch\":%" PRIu64 ",\"bytes\":%" PRIu64
                     ",\"elapsed_s\":%.3f,\"active_s\":%.3f,\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f"
                     ",\"lat_max_us\":%.1f,\"reattaches\":%" PRIu64 ",\"state\":\"%s\""
                     ",\"consumer_id\":%u,\"epoch_mismatches\":%" PRIu64 "}\n"
                   : "frames=%" PRIu64 " drops_gap=%" PRIu64 " drops_late=%" PRIu64
                     " torn=%" PRIu64 " remaps=%" PRIu64 " last_seq=%s epoch=%" PRIu64
                     " lapped=%" PRIu64 " old_epoch=%" PRIu64 " seq_regress=%" PRIu64
                     " first_epoch=%" PRIu64 " frames_epoch=%" PRIu64 " bytes=%" PRIu64
                     " elapsed_s=%.3f active_s=%.3f lat_p50_us=%.1f lat_p99_us=%.1f"
                     " lat_max_us=%.1f reattaches=%" PRIu64 " state=%s consumer_id=%u"
                     " epoch_mismatches=%" PRIu64 "\n",
           st->frames, cs.drops_gap, cs.drops_late, st->torn, cs.remaps, last,
           st->max_epoch != 0 ? st->max_epoch : cs.epoch, st->lapped, st->old_epoch,
           st->seq_regress, st->first_epoch, st->frames_epoch, st->bytes, el, active, p50, p99,
           pmax, cs.reattaches, tp_mapping_state_name((int)cs.mapping_state), tp_consumer_id(c),
           cs.epoch_mismatches);
    fflush(stdout);
}

int tp_cmd_consumer(int argc, char **argv)
{
    cons_opts_t o;
    cons_state_t *st;
    tp_cli_session_t s;
    tp_consumer_config_t ccfg;
    tp_consumer_t *c = NULL;
    tp_cli_idle_t idle = {0};
    uint64_t t0, end, last_work = 0;
    int exit_code = 0;
    int rc = parse_args(&o, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    st = calloc(1, sizeof *st);
    if (st == NULL) {
        printf("error=out of memory\n");
        return 1;
    }
    st->verify = o.verify;
    st->last_epoch_seq = UINT64_MAX;
    tp_cli_install_signals();
    if (tp_cli_attach(&s, &o.common, TP_ROLE_CONSUMER) != 0) {
        free(st);
        return 1;
    }
    tp_consumer_config_init(&ccfg);
    if (o.common.announce_channel[0] != '\0')
        snprintf(ccfg.announce_channel, sizeof ccfg.announce_channel, "%s", o.common.announce_channel);
    ccfg.announce_stream_id =
        tp_cli_announce_stream(&o.common, "CONSUMER_ANNOUNCE_STREAM_ID", ccfg.announce_stream_id);
    if (o.max_rate > 0) {
        ccfg.mode = TP_MODE_RATE_LIMITED;
        ccfg.max_rate_hz = o.max_rate;
    }
    if (tp_consumer_init_from_attach(&c, &ccfg, s.att, s.dc) != 0) {
        printf("error=consumer: %s\n", tp_errmsg());
        tp_cli_detach(&s);
        free(st);
        return 1;
    }
    /* --json: stdout is the summary object alone (pipeable); the status line goes to stderr */
    fprintf(o.json ? stderr : stdout,
            "attached role=consumer client_id=%u stream=%u epoch=%" PRIu64 " consumer_id=%u\n",
            s.att->client_id, s.att->stream_id, s.att->epoch, tp_consumer_id(c));
    fflush(o.json ? stderr : stdout);
    t0 = tp_client_now_ns(s.client);
    end = o.duration > 0 ? t0 + (uint64_t)(o.duration * 1e9) : UINT64_MAX;
    while (!tp_cli_stop && (o.count == 0 || st->frames < o.count)) {
        uint64_t now = tp_client_now_ns(s.client);
        int work, n, limit;
        if (now >= end)
            break;
        limit = o.delay_us > 0 ? 1 : 64;
        if (o.count > 0 && o.count - st->frames < (uint64_t)limit)
            limit = (int)(o.count - st->frames); /* stop at exactly --count frames */
        n = tp_consumer_poll(c, on_frame, st, limit);
        if (n < 0) {
            printf("error=poll: %s\n", tp_errmsg());
            exit_code = 1;
            break;
        }
        work = n;
        /* --spin: the duty cycle every 100 us, so a descriptor arriving during an idle poll
         * is not kept waiting behind a do_work; otherwise at every idle round too (the idle
         * strategy sleeps anyway) */
        if ((n == 0 && !o.spin) || now - last_work >= DO_WORK_INTERVAL_NS) {
            int w = tp_consumer_do_work(c, now);
            if (w < 0) {
                printf("error=consumer: %s\n", tp_errmsg());
                exit_code = 1;
                break;
            }
            work += w;
            last_work = now;
        }
        if (n > 0 && o.delay_us > 0)
            tp_cli_sleep_ns(o.delay_us * 1000ull);
        else if (!o.spin)
            tp_cli_idle(&idle, work);
    }
    print_summary(&o, st, c, (double)(tp_client_now_ns(s.client) - t0) / 1e9);
    if (exit_code == 0 && o.verify && (st->torn > 0 || st->old_epoch > 0))
        exit_code = 3;
    tp_consumer_close(c);
    tp_cli_detach(&s);
    free(st);
    return exit_code;
}

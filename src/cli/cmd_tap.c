/*
 * tensorpool tap --channel C --stream S [--stream S2 ...] [--count N] [--duration SEC]
 *                [--dir DIR] [--transport embedded|aeron] [--aeron-dir DIR]
 *
 * Live decode of the messages on one or more transport streams (DESIGN.md §5, issue 3 "Tool",
 * docs/transport.md "tap"). Each message is one block on stdout:
 *
 *     ts_ns=<CLOCK_MONOTONIC ns> channel=<C> stream=<S> length=<bytes>
 *     <exactly the lines `tensorpool decode` prints for those bytes>
 *     <blank line>
 *
 * The decode lines come from tp_codec_print(), the printer `tensorpool decode` uses; a message
 * that does not decode prints `error=<reason>` (decode's line) and tap carries on. When the
 * subscription was declared dead and lapped, a block `lost_bytes=<n> stream=<S>
 * lapped_count=<k>` says how much was skipped, and tap continues at the tail.
 *
 * Stops after --count messages, after --duration seconds, or on SIGINT/SIGTERM/SIGHUP: exit 0.
 * Bad arguments: exit 2 with one `error=<reason>` line. The transport cannot be opened or a
 * subscription cannot be added: exit 1 with one `error=<reason>` line.
 *
 * tap is an ordinary (lossless) subscriber: while it runs, publishers cannot overrun it, so a
 * tap that cannot keep up (stdout piped into a slow reader) back-pressures them until it stops
 * heartbeating for the liveness timeout.
 *
 * --transport aeron (or TP_TRANSPORT=aeron) taps an Aeron stream — aeron:ipc or aeron:udp — of
 * the media driver in --aeron-dir ($AERON_DIR, else Aeron's default): the blocks are the same,
 * one per whole (reassembled) message.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "codec/codec.h"
#include "transport/transport.h"
#include "util/clock.h"
#include "util/error.h"

#define TAP_MAX_STREAMS 64u
#define TAP_POLL_LIMIT 64
#define TAP_WORK_INTERVAL_NS 100000000ull /* do_work every 100 ms (liveness / 4 at most) */
#define TAP_IDLE_NS 1000000L              /* sleep 1 ms when no stream had a message */

static volatile sig_atomic_t tap_stop;

static void on_signal(int sig)
{
    (void)sig;
    tap_stop = 1;
}

typedef struct tap_stream {
    uint32_t stream_id;
    tp_subscription_t *sub;
} tap_stream_t;

typedef struct tap_state {
    const char *channel;
    const tap_stream_t *current;
    uint64_t printed;
} tap_state_t;

static int usage_error(const char *reason)
{
    printf("error=%s\n", reason);
    return 2;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tensorpool tap --channel C --stream S [--stream S2 ...] [--count N]\n"
            "                      [--duration SEC] [--dir DIR]\n"
            "  --channel C     aeron:ipc[?term-length=...] channel of the streams\n"
            "  --stream S      stream id to subscribe to (repeat for more, at most %u)\n"
            "  --count N       stop after N messages\n"
            "  --duration SEC  stop after SEC seconds (fractions allowed)\n"
            "  --dir DIR       transport directory (default $TENSORPOOL_DIR, else\n"
            "                  /dev/shm/tensorpool-$USER/transport)\n"
            "  --transport T   embedded | aeron (default $TP_TRANSPORT, else embedded)\n"
            "  --aeron-dir DIR Aeron media driver directory (default $AERON_DIR, else Aeron's)\n"
            "Prints one block per message: a line ts_ns=... channel=... stream=... length=...,\n"
            "the lines `tensorpool decode` prints for it (or error=<reason>), a blank line.\n",
            TAP_MAX_STREAMS);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || *s < '0' || *s > '9') return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return -1;
    *out = v;
    return 0;
}

static void on_message(void *clientd, const uint8_t *msg, size_t len)
{
    tap_state_t *st = clientd;
    printf("ts_ns=%" PRIu64 " channel=%s stream=%" PRIu32 " length=%zu\n",
           tp_clock_monotonic_ns(), st->channel, st->current->stream_id, len);
    /* The `tensorpool decode` printer: validates first, prints nothing when invalid. */
    if (tp_codec_print(msg, len, stdout) < 0) printf("error=%s\n", tp_errmsg());
    printf("\n");
    st->printed++;
}

static void sleep_ns(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL); /* EINTR on a signal: the loop checks tap_stop next */
}

int tp_cmd_tap(int argc, char **argv)
{
    tp_transport_config_t cfg;
    tp_transport_t *t = NULL;
    tp_channel_t ch;
    tap_stream_t streams[TAP_MAX_STREAMS];
    tap_state_t st = {0};
    uint64_t seen[TAP_MAX_STREAMS] = {0}; /* lost bytes already reported, per stream */
    uint32_t nstreams = 0;
    uint64_t count = 0, duration_ns = 0;
    const char *channel = NULL, *dir = NULL, *transport = NULL, *aeron_dir = NULL;
    char msg[256];
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--channel") && strcmp(a, "--stream") && strcmp(a, "--count") &&
            strcmp(a, "--duration") && strcmp(a, "--dir") && strcmp(a, "--transport") &&
            strcmp(a, "--aeron-dir")) {
            snprintf(msg, sizeof msg, "unknown argument '%.100s' (see tensorpool tap --help)", a);
            return usage_error(msg);
        }
        if (!v) {
            snprintf(msg, sizeof msg, "%s needs a value", a);
            return usage_error(msg);
        }
        i++;
        if (!strcmp(a, "--channel")) {
            channel = v;
        } else if (!strcmp(a, "--dir")) {
            dir = v;
        } else if (!strcmp(a, "--transport")) {
            transport = v;
        } else if (!strcmp(a, "--aeron-dir")) {
            aeron_dir = v;
        } else if (!strcmp(a, "--stream")) {
            uint64_t id;
            if (parse_u64(v, UINT32_MAX, &id) != 0) {
                snprintf(msg, sizeof msg, "--stream '%.100s' is not a stream id (0..%u)", v,
                         UINT32_MAX);
                return usage_error(msg);
            }
            for (uint32_t k = 0; k < nstreams; k++)
                if (streams[k].stream_id == id) {
                    snprintf(msg, sizeof msg, "--stream %" PRIu64 " given twice", id);
                    return usage_error(msg);
                }
            if (nstreams == TAP_MAX_STREAMS) {
                snprintf(msg, sizeof msg, "at most %u --stream", TAP_MAX_STREAMS);
                return usage_error(msg);
            }
            streams[nstreams].stream_id = (uint32_t)id;
            streams[nstreams++].sub = NULL;
        } else if (!strcmp(a, "--count")) {
            if (parse_u64(v, UINT64_MAX, &count) != 0 || count == 0) {
                snprintf(msg, sizeof msg, "--count '%.100s' must be a positive integer", v);
                return usage_error(msg);
            }
        } else { /* --duration */
            char *end;
            double d;
            errno = 0;
            d = strtod(v, &end);
            if (errno || end == v || *end || !(d > 0) || d > 1e9) {
                snprintf(msg, sizeof msg, "--duration '%.100s' must be a positive number of "
                         "seconds", v);
                return usage_error(msg);
            }
            duration_ns = (uint64_t)(d * 1e9);
            if (duration_ns == 0) duration_ns = 1;
        }
    }
    if (!channel) return usage_error("--channel is required (e.g. --channel aeron:ipc)");
    if (nstreams == 0) return usage_error("at least one --stream is required");

    tp_transport_config_init(&cfg);
    if (transport && tp_transport_kind_parse(transport, &cfg.kind) != 0)
        return usage_error(tp_errmsg());
    if (aeron_dir) {
        if (strlen(aeron_dir) >= sizeof cfg.aeron_dir) return usage_error("--aeron-dir is too long");
        snprintf(cfg.aeron_dir, sizeof cfg.aeron_dir, "%s", aeron_dir);
    }
    /* the embedded transport's channel rules before opening; Aeron's once it is open */
    if (cfg.kind == TP_TRANSPORT_EMBEDDED && tp_channel_parse(channel, &ch) != 0)
        return usage_error(tp_errmsg());
    if (dir) {
        if (!*dir) return usage_error("--dir is empty");
        if (dir[0] == '/') {
            if (strlen(dir) >= sizeof cfg.dir) return usage_error("--dir is too long");
            snprintf(cfg.dir, sizeof cfg.dir, "%s", dir);
        } else {
            char cwd[TP_TRANSPORT_DIR_MAX];
            if (!getcwd(cwd, sizeof cwd)) return usage_error("--dir: cannot resolve a relative path");
            if (strlen(cwd) + 1 + strlen(dir) >= sizeof cfg.dir)
                return usage_error("--dir is too long");
            size_t n = strlen(cwd);
            memcpy(cfg.dir, cwd, n);
            cfg.dir[n] = '/';
            memcpy(cfg.dir + n + 1, dir, strlen(dir) + 1);
        }
    }

    /* Handlers before subscribing: a signal from here on ends the loop cleanly. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* a closed terminal: stop and close the subscriptions */

    if (tp_transport_open(&t, &cfg) != 0) {
        printf("error=%s\n", tp_errmsg());
        return 1;
    }
    if (tp_transport_channel_parse(t, channel, &ch) != 0) {
        tp_transport_close(t);
        return usage_error(tp_errmsg());
    }
    for (uint32_t k = 0; k < nstreams; k++) {
        if (tp_transport_add_subscription(t, channel, streams[k].stream_id, &streams[k].sub) !=
            0) {
            printf("error=%s\n", tp_errmsg());
            tp_transport_close(t);
            return 1;
        }
    }
    fflush(stdout);

    st.channel = channel;
    uint64_t start = tp_clock_monotonic_ns(), last_work = start;
    tp_transport_do_work(t, start);
    while (!tap_stop) {
        int got = 0;
        for (uint32_t k = 0; k < nstreams && !tap_stop; k++) {
            int limit = TAP_POLL_LIMIT;
            if (count && count - st.printed < (uint64_t)limit) limit = (int)(count - st.printed);
            if (limit == 0) break;
            st.current = &streams[k];
            int n = tp_subscription_poll(streams[k].sub, on_message, &st, limit);
            if (n > 0) {
                got += n;
            } else if (n < 0 && tp_errcode() == TP_ELAPPED) {
                uint64_t lost = tp_subscription_lost_bytes(streams[k].sub);
                printf("lost_bytes=%" PRIu64 " stream=%" PRIu32 " lapped_count=%" PRIu64 "\n\n",
                       lost - seen[k], streams[k].stream_id,
                       tp_subscription_lapped_count(streams[k].sub));
                seen[k] = lost;
                got++;
            } else if (n < 0) {
                printf("error=%s\n", tp_errmsg());
                rc = 1;
                tap_stop = 1;
            }
        }
        if (got) fflush(stdout);
        if (count && st.printed >= count) break;
        uint64_t now = tp_clock_monotonic_ns();
        if (duration_ns && now - start >= duration_ns) break;
        if (now - last_work >= TAP_WORK_INTERVAL_NS) {
            tp_transport_do_work(t, now);
            last_work = now;
        }
        if (!got) sleep_ns(TAP_IDLE_NS);
    }
    fflush(stdout);
    tp_transport_close(t);
    return rc;
}

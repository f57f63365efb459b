/*
 * tensorpool producer [--stream N] [--size BYTES] [--rate HZ] [--count N] [--duration SEC]
 *                     [--pattern interop|none] [--dtype NAME] [--dims AxBx..] [--pool ID]
 *                     [--json] + the common driver options (cli/cli_client.h)
 *
 * Attaches to the driver as the producer of a stream and publishes synthetic frames through
 * the zero-copy path (DESIGN.md §5): reserve the slot of the next seq, write the payload in
 * place (--pattern interop: tp_pattern_fill — bytes 0..7 seq LE, 8..15 ~seq, byte i =
 * (seq + i) & 0xff), publish. The tensor is --dtype (default UINT8) with --dims (default
 * 640x1024, or [size / element size] when only --size is given); --size defaults to the
 * tensor's extent (640 KiB). --rate 0 (default) publishes as fast as the ring allows; --count
 * and --duration stop it (0 = unlimited; both 0: until SIGINT/SIGTERM/SIGHUP).
 *
 * A lease loss (driver restart, revocation) pauses the producer; the library reattaches and
 * it resumes at seq 0 of a new epoch, which this command just follows. The driver's announce
 * stream (--announce-stream, default 15001) lets the library notice a driver that died
 * without a ShmDriverShutdown (D-69).
 *
 * Output: one final line
 *   frames=N bytes=N epoch=E seq=S reattaches=N aborts=N descriptors_sent=N
 *   descriptors_not_connected=N descriptors_lost=N elapsed_s=X rate_hz=X state=S
 * (a JSON object with the same keys with --json). Exit 0; 1 on an attach/setup error;
 * 2 on bad arguments.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_client.h"
#include "cli/commands.h"
#include "shm/pool.h"

#define DO_WORK_INTERVAL_NS 100000ull /* duty cycle at least every 100 us while publishing */

typedef struct prod_opts {
    tp_cli_common_t common;
    uint64_t size;
    bool size_set;
    double rate;
    uint64_t count;
    double duration;
    bool pattern;
    int dtype;
    uint8_t ndims;
    int32_t dims[TP_MAX_DIMS];
    uint32_t pool_id; /* 0 = smallest that fits */
    bool json;
} prod_opts_t;

static int usage(const char *reason)
{
    if (reason != NULL)
        printf("error=%s\n", reason);
    fprintf(reason ? stderr : stdout,
            "usage: tensorpool producer [--stream N] [--size BYTES] [--rate HZ] [--count N]\n"
            "         [--duration SEC] [--pattern interop|none] [--dtype NAME] [--dims AxB..]\n"
            "         [--pool ID] [--json] [--dir DIR] [--control-channel C]\n"
            "         [--control-stream N] [--client-id N] [--attach-timeout SEC]\n"
            "         [--allowed-dir DIR] [--announce-channel C] [--announce-stream N]\n"
            "         [--transport embedded|aeron] [--aeron-dir DIR]\n");
    return reason ? 2 : 0;
}

static int parse_dims(const char *s, prod_opts_t *o)
{
    const char *p = s;
    o->ndims = 0;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v <= 0 || v > INT32_MAX || o->ndims >= TP_MAX_DIMS)
            return -1;
        o->dims[o->ndims++] = (int32_t)v;
        if (*end == 'x' || *end == ',')
            end++;
        else if (*end != '\0')
            return -1;
        p = end;
    }
    return o->ndims > 0 ? 0 : -1;
}

static int parse_args(prod_opts_t *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    tp_cli_common_init(&o->common);
    o->pattern = true;
    o->dtype = TP_DTYPE_UINT8;
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
        } else if ((v = tp_cli_optval("--size", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_u64(v, &o->size) != 0 || o->size > UINT32_MAX)
                return usage("bad --size");
            o->size_set = true;
        } else if ((v = tp_cli_optval("--rate", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_double(v, &o->rate) != 0)
                return usage("bad --rate");
        } else if ((v = tp_cli_optval("--count", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_u64(v, &o->count) != 0)
                return usage("bad --count");
        } else if ((v = tp_cli_optval("--duration", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_double(v, &o->duration) != 0)
                return usage("bad --duration");
        } else if ((v = tp_cli_optval("--pattern", argc, argv, &i, &err)) != NULL || err) {
            if (err || (strcmp(v, "interop") && strcmp(v, "none")))
                return usage("bad --pattern (interop|none)");
            o->pattern = !strcmp(v, "interop");
        } else if ((v = tp_cli_optval("--dtype", argc, argv, &i, &err)) != NULL || err) {
            if (err || (o->dtype = tp_dtype_from_name(v)) <= 0 || tp_dtype_size(o->dtype) == 0)
                return usage("bad --dtype");
        } else if ((v = tp_cli_optval("--dims", argc, argv, &i, &err)) != NULL || err) {
            if (err || parse_dims(v, o) != 0)
                return usage("bad --dims (e.g. 640x1024)");
        } else if ((v = tp_cli_optval("--pool", argc, argv, &i, &err)) != NULL || err) {
            if (err || tp_cli_parse_u32(v, &o->pool_id) != 0 || o->pool_id == 0 || o->pool_id > 65535)
                return usage("bad --pool");
        } else {
            char reason[160];
            snprintf(reason, sizeof reason, "unexpected argument '%.100s'", argv[i]);
            return usage(reason);
        }
    }
    return 0;
}

/* dims/size defaults and consistency; fills desc. */
static int make_tensor(prod_opts_t *o, tp_tensor_desc_t *desc)
{
    uint32_t es = tp_dtype_size(o->dtype);
    uint64_t extent;
    if (o->ndims == 0) {
        if (!o->size_set) {
            o->size = 655360;
            if (o->dtype == TP_DTYPE_UINT8) {
                o->ndims = 2;
                o->dims[0] = 640;
                o->dims[1] = 1024;
            }
        }
        if (o->ndims == 0) {
            if (o->size % es != 0) {
                printf("error=--size %" PRIu64 " is not a multiple of the %s element size %u\n",
                       o->size, tp_dtype_name(o->dtype), es);
                return -1;
            }
            o->ndims = 1;
            o->dims[0] = (int32_t)(o->size / es);
        }
    }
    tp_tensor_desc_contiguous(desc, (int16_t)o->dtype, TP_MAJOR_ROW, o->ndims, o->dims);
    /* --dims alone: the size is the tensor's extent (set below) */
    if ((o->size_set && o->size == 0) || tp_tensor_desc_check(desc) != 0) {
        printf("error=invalid tensor: %s\n", o->size_set && o->size == 0 ? "empty" : tp_errmsg());
        return -1;
    }
    extent = tp_tensor_extent_bytes(desc);
    if (!o->size_set)
        o->size = extent;
    if (extent != o->size) {
        printf("error=--dims span %" PRIu64 " bytes but --size is %" PRIu64 "\n", extent, o->size);
        return -1;
    }
    return 0;
}

static int pick_pool(prod_opts_t *o, const tp_attach_t *att, uint16_t *pool_id)
{
    uint32_t best = UINT32_MAX;
    *pool_id = 0;
    for (uint32_t i = 0; i < att->pool_count; i++) {
        const tp_attach_pool_t *p = &att->pools[i];
        if (o->pool_id != 0 ? p->pool_id == o->pool_id
                            : (p->stride_bytes >= o->size && p->stride_bytes < best)) {
            best = p->stride_bytes;
            *pool_id = p->pool_id;
        }
    }
    if (*pool_id == 0 || best < o->size) {
        printf("error=no pool of stream %u holds %" PRIu64 "-byte frames\n", att->stream_id, o->size);
        return -1;
    }
    return 0;
}

/* The public API has no tp_producer_state_name (consumer and lease states have one). */
static const char *state_name(uint32_t s)
{
    static const char *const names[] = {"IDLE", "ACTIVE", "PAUSED", "CLOSED"};
    return s < 4 ? names[s] : "INVALID";
}

static void print_summary(const prod_opts_t *o, tp_producer_t *p, double el)
{
    tp_producer_stats_t st;
    tp_producer_get_stats(p, &st);
    if (o->json)
        printf("{\"frames\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"epoch\":%" PRIu64 ",\"seq\":%" PRIu64
               ",\"reattaches\":%" PRIu64 ",\"aborts\":%" PRIu64 ",\"descriptors_sent\":%" PRIu64
               ",\"descriptors_not_connected\":%" PRIu64 ",\"descriptors_lost\":%" PRIu64
               ",\"elapsed_s\":%.3f,\"rate_hz\":%.1f,\"state\":\"%s\"}\n",
               st.frames_published, st.bytes_published, st.epoch, st.current_seq, st.reattaches,
               st.aborts, st.descriptors_sent, st.descriptors_not_connected, st.descriptors_lost, el,
               el > 0 ? (double)st.frames_published / el : 0.0, state_name(st.state));
    else
        printf("frames=%" PRIu64 " bytes=%" PRIu64 " epoch=%" PRIu64 " seq=%" PRIu64
               " reattaches=%" PRIu64 " aborts=%" PRIu64 " descriptors_sent=%" PRIu64
               " descriptors_not_connected=%" PRIu64 " descriptors_lost=%" PRIu64
               " elapsed_s=%.3f rate_hz=%.1f state=%s\n",
               st.frames_published, st.bytes_published, st.epoch, st.current_seq, st.reattaches,
               st.aborts, st.descriptors_sent, st.descriptors_not_connected, st.descriptors_lost, el,
               el > 0 ? (double)st.frames_published / el : 0.0, state_name(st.state));
    fflush(stdout);
}

int tp_cmd_producer(int argc, char **argv)
{
    prod_opts_t o;
    tp_tensor_desc_t desc;
    tp_cli_session_t s;
    tp_producer_config_t pcfg;
    tp_producer_t *p = NULL;
    tp_cli_idle_t idle = {0};
    uint16_t pool_id;
    uint64_t published = 0, t0, now, end, next_due, period_ns, last_work = 0;
    int rc = parse_args(&o, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (make_tensor(&o, &desc) != 0)
        return 2;
    tp_cli_install_signals();
    if (tp_cli_attach(&s, &o.common, TP_ROLE_PRODUCER) != 0)
        return 1;
    if (pick_pool(&o, s.att, &pool_id) != 0) {
        tp_cli_detach(&s);
        return 1;
    }
    tp_producer_config_init(&pcfg);
    if (o.common.announce_channel[0] != '\0')
        snprintf(pcfg.announce_channel, sizeof pcfg.announce_channel, "%s", o.common.announce_channel);
    pcfg.announce_stream_id = /* driver-loss detection (D-69) */
        tp_cli_announce_stream(&o.common, "PRODUCER_ANNOUNCE_STREAM_ID", pcfg.announce_stream_id);
    if (tp_producer_init_from_attach(&p, &pcfg, s.att, s.dc) != 0) {
        printf("error=producer: %s\n", tp_errmsg());
        tp_cli_detach(&s);
        return 1;
    }
    /* --json: stdout is the summary object alone (pipeable); the status line goes to stderr */
    fprintf(o.json ? stderr : stdout,
            "attached role=producer client_id=%u stream=%u epoch=%" PRIu64 " pool=%u size=%" PRIu64
            " nslots=%u\n",
            s.att->client_id, s.att->stream_id, s.att->epoch, pool_id, o.size,
            tp_producer_nslots(p));
    fflush(o.json ? stderr : stdout);
    t0 = tp_client_now_ns(s.client);
    end = o.duration > 0 ? t0 + (uint64_t)(o.duration * 1e9) : UINT64_MAX;
    period_ns = o.rate > 0 ? (uint64_t)(1e9 / o.rate) : 0;
    next_due = t0;
    while (!tp_cli_stop && (o.count == 0 || published < o.count)) {
        int work = 0;
        now = tp_client_now_ns(s.client);
        if (now >= end)
            break;
        if (period_ns == 0 || now >= next_due) {
            tp_reservation_t r;
            int res = tp_producer_reserve(p, pool_id, &r);
            if (res == 0) {
                if (o.pattern)
                    tp_pattern_fill(r.data, (size_t)o.size, r.seq);
                res = tp_producer_publish(p, &r, (uint32_t)o.size, &desc, NULL);
                if (res == 0) {
                    published++;
                    work++;
                    if (period_ns != 0) {
                        next_due += period_ns;
                        if (now > next_due + 1000000000ull) /* paused for long: no burst */
                            next_due = now;
                    }
                } else if (res == -1) {
                    printf("error=publish: %s\n", tp_errmsg());
                    break;
                }
            } else if (res == -1) {
                printf("error=reserve: %s\n", tp_errmsg());
                break;
            }
            /* NOT_ACTIVE (reattaching) / SLOT_BUSY: the duty cycle below makes progress */
        }
        if (work == 0 || now - last_work >= DO_WORK_INTERVAL_NS) {
            int w = tp_producer_do_work(p, now);
            if (w < 0) {
                printf("error=producer: %s\n", tp_errmsg());
                break;
            }
            work += w;
            last_work = now;
        }
        if (period_ns != 0 && work == 0 && next_due > now && next_due - now > 200000)
            tp_cli_sleep_ns(next_due - now > 1000000 ? 500000 : 50000);
        else
            tp_cli_idle(&idle, work);
    }
    /* Let pending descriptors go out. */
    for (int k = 0; k < 50; k++) {
        tp_producer_stats_t st;
        tp_producer_get_stats(p, &st);
        if (st.outstanding == 0)
            break;
        tp_producer_do_work(p, tp_client_now_ns(s.client));
        tp_cli_sleep_ns(1000000);
    }
    tp_producer_do_work(p, tp_client_now_ns(s.client));
    print_summary(&o, p, (double)(tp_client_now_ns(s.client) - t0) / 1e9);
    tp_producer_close(p);
    tp_cli_detach(&s);
    return 0;
}

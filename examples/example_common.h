/*
 * Small helpers shared by examples/producer.c and examples/consumer.c, public API only:
 * option parsing, the attach sequence of docs/api.md §2, and the interop payload pattern.
 *
 * Interop pattern (the one the CLI, the demo, the Julia interop tests and the torn-read hunt
 * use; src/shm/pool.h tp_pattern_fill): bytes 0..7 = seq (little endian), bytes 8..15 = ~seq
 * (little endian), byte i = (seq + i) & 0xff for i >= 16; shorter frames carry the prefix
 * that fits. The tail repeats every 256 bytes, so it is copied from (and compared against) a
 * 512-byte ramp at memcpy speed.
 */
#ifndef TP_EXAMPLE_COMMON_H
#define TP_EXAMPLE_COMMON_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tensorpool/tensorpool.h>

static volatile sig_atomic_t ex_stop;

static inline void ex_on_signal(int sig)
{
    (void)sig;
    ex_stop = 1;
}

static inline void ex_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ex_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static inline void ex_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    nanosleep(&ts, NULL);
}

/* ---- interop pattern ----------------------------------------------------------------------- */

static uint8_t ex_ramp[512];

static inline void ex_pattern_init(void)
{
    for (unsigned i = 0; i < sizeof ex_ramp; i++)
        ex_ramp[i] = (uint8_t)i;
}

static inline void ex_pattern_head(uint8_t head[16], uint64_t seq)
{
    for (unsigned i = 0; i < 8; i++) {
        head[i] = (uint8_t)(seq >> (8 * i));
        head[8 + i] = (uint8_t)(~seq >> (8 * i));
    }
}

static inline void ex_pattern_fill(uint8_t *dst, size_t len, uint64_t seq)
{
    uint8_t head[16];
    size_t i = len < 16 ? len : 16;
    ex_pattern_head(head, seq);
    memcpy(dst, head, i);
    while (i < len) {
        size_t n = len - i < 256 ? len - i : 256;
        memcpy(dst + i, ex_ramp + ((seq + i) & 0xff), n);
        i += n;
    }
}

/* 0 when the len bytes at src carry the pattern of seq. src may be shared memory that a
 * producer overwrites concurrently: the caller re-checks tp_frame_is_intact afterwards. */
static inline int ex_pattern_verify(const uint8_t *src, size_t len, uint64_t seq)
{
    uint8_t head[16];
    size_t i = len < 16 ? len : 16;
    ex_pattern_head(head, seq);
    if (memcmp(src, head, i) != 0)
        return -1;
    while (i < len) {
        size_t n = len - i < 256 ? len - i : 256;
        if (memcmp(src + i, ex_ramp + ((seq + i) & 0xff), n) != 0)
            return -1;
        i += n;
    }
    return 0;
}

/* ---- options ------------------------------------------------------------------------------ */

typedef struct ex_opts {
    const char *dir;          /* --dir: transport directory (else $TENSORPOOL_DIR) */
    const char *allowed_dir;  /* --allowed-dir: SHM dir the driver's regions live in (else /dev/shm) */
    uint32_t control_stream;  /* --control-stream: 15000 */
    uint32_t announce_stream; /* --announce-stream: 15001 (consumer) */
    uint32_t stream_id;       /* --stream: 42 */
    uint32_t client_id;       /* --client-id: 0 = auto */
    uint64_t count;           /* --count: frames, 0 = unlimited */
    double duration;          /* --duration: seconds, 0 = unlimited */
    double rate;              /* --rate: frames/s (producer), 0 = as fast as possible */
    uint64_t size;            /* --size: frame bytes (producer) */
    uint32_t hold;            /* --hold: buffers kept out of the device (producer) */
    uint32_t window;          /* --window: DMA completion reorder window (producer) */
    uint64_t seed;            /* --seed */
} ex_opts_t;

static inline int ex_parse(ex_opts_t *o, int argc, char **argv, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        double d = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s", usage);
            exit(0);
        }
        if (v == NULL || strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "error=unexpected or incomplete argument '%s'\n%s", a, usage);
            return -1;
        }
        i++;
        if (!strcmp(a, "--dir")) {
            o->dir = v;
            continue;
        }
        if (!strcmp(a, "--allowed-dir")) {
            o->allowed_dir = v;
            continue;
        }
        errno = 0;
        d = strtod(v, &end);
        if (errno != 0 || *end != '\0' || d < 0) {
            fprintf(stderr, "error=bad value '%s' for %s\n", v, a);
            return -1;
        }
        if (!strcmp(a, "--control-stream")) o->control_stream = (uint32_t)d;
        else if (!strcmp(a, "--announce-stream")) o->announce_stream = (uint32_t)d;
        else if (!strcmp(a, "--stream")) o->stream_id = (uint32_t)d;
        else if (!strcmp(a, "--client-id")) o->client_id = (uint32_t)d;
        else if (!strcmp(a, "--count")) o->count = (uint64_t)d;
        else if (!strcmp(a, "--duration")) o->duration = d;
        else if (!strcmp(a, "--rate")) o->rate = d;
        else if (!strcmp(a, "--size")) o->size = (uint64_t)d;
        else if (!strcmp(a, "--hold")) o->hold = (uint32_t)d;
        else if (!strcmp(a, "--window")) o->window = (uint32_t)d;
        else if (!strcmp(a, "--seed")) o->seed = (uint64_t)d;
        else {
            fprintf(stderr, "error=unknown option '%s'\n%s", a, usage);
            return -1;
        }
    }
    return 0;
}

/* ---- attach (docs/api.md §2) --------------------------------------------------------------- */

typedef struct ex_session {
    tp_context_t *ctx;
    tp_client_t *client;
    tp_driver_client_t *dc;
    tp_attach_t *att; /* ~70 KiB: on the heap */
} ex_session_t;

static inline void ex_close(ex_session_t *s)
{
    tp_driver_client_close(s->dc); /* best-effort detach */
    tp_client_close(s->client);
    tp_context_close(s->ctx);
    free(s->att);
    memset(s, 0, sizeof *s);
}

static inline int ex_attach(ex_session_t *s, const ex_opts_t *o, tp_role_t role)
{
    tp_attach_request_t req;
    int64_t id;
    int rc;
    uint64_t deadline;
    memset(s, 0, sizeof *s);
    if ((s->att = calloc(1, sizeof *s->att)) == NULL)
        return -1;
    if (tp_context_init(&s->ctx) != 0 || (o->dir && tp_context_set_dir(s->ctx, o->dir) != 0) ||
        (o->allowed_dir && tp_context_add_allowed_dir(s->ctx, o->allowed_dir) != 0) ||
        tp_client_init(&s->client, s->ctx) != 0 ||
        tp_driver_client_init(&s->dc, s->client, "aeron:ipc", o->control_stream, o->client_id,
                              role) != 0) {
        fprintf(stderr, "error=%s\n", tp_errmsg());
        ex_close(s);
        return -1;
    }
    tp_attach_request_init(&req);
    req.stream_id = o->stream_id;
    if ((id = tp_driver_client_send_attach(s->dc, &req)) == -1) {
        fprintf(stderr, "error=attach: %s\n", tp_errmsg());
        ex_close(s);
        return -1;
    }
    deadline = tp_client_now_ns(s->client) + 10000000000ull; /* 10 s */
    while ((rc = tp_driver_client_poll_attach(s->dc, id, s->att)) == 0 && !ex_stop &&
           tp_client_now_ns(s->client) < deadline)
        ex_sleep_ns(200000);
    if (rc != 1 || s->att->code != TP_RESPONSE_OK) {
        fprintf(stderr, "error=attach failed: %s\n",
                rc == 1 ? s->att->error_message : rc < 0 ? tp_errmsg() : "no answer");
        ex_close(s);
        return -1;
    }
    return 0;
}

#endif

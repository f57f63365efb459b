/*
 * The integration example's frame consumer (../shared/seed/integration_example.md,
 * "Application 3"), in C on the public API (docs/api.md §4).
 *
 * Attaches to the driver as a consumer of stream 42 (control 15000, announces on 15001),
 * then processes frames zero-copy: the frame handler checks the interop pattern of the
 * frame's seq IN PLACE in shared memory, and only then asks tp_frame_is_intact whether what
 * it read can be trusted (W-74):
 *   * not intact: the producer lapped this reader while it was reading → discard (lapped);
 *   * intact but the pattern is wrong: a frame that should never have been accepted (torn).
 * The duty cycle (tp_consumer_do_work) handles announces, remaps after an epoch change,
 * hellos, QoS and reattaching.
 *
 *   consumer [--count N] [--duration SEC] [--stream 42] [--control-stream 15000]
 *            [--announce-stream 15001] [--client-id 0] [--dir DIR] [--allowed-dir DIR]
 *
 * Prints one line at the end: frames=… lapped=… torn=… drops_gap=… drops_late=… remaps=…
 * epoch=…; exit 0, 1 when attaching/mapping failed, 3 when a torn frame was accepted.
 */
#include <inttypes.h>

#include "example_common.h"

static const char *usage =
    "usage: consumer [--count N] [--duration SEC] [--stream 42] [--control-stream 15000]\n"
    "                [--announce-stream 15001] [--client-id 0] [--dir DIR] [--allowed-dir DIR]\n";

typedef struct app {
    uint64_t frames, lapped, torn, bytes;
} app_t;

static void on_frame(void *clientd, const tp_frame_t *f)
{
    app_t *a = clientd;
    int ok = ex_pattern_verify(f->data, f->len, f->seq) == 0; /* zero-copy read */
    if (!tp_frame_is_intact(f)) {                             /* ... then the re-check */
        a->lapped++;
        return;
    }
    if (!ok) {
        a->torn++;
        return;
    }
    a->frames++;
    a->bytes += f->len;
}

int main(int argc, char **argv)
{
    ex_opts_t o = {.control_stream = 15000, .announce_stream = 15001, .stream_id = 42};
    ex_session_t s;
    tp_consumer_config_t ccfg;
    tp_consumer_t *c = NULL;
    tp_consumer_stats_t st;
    app_t app = {0};
    uint64_t t0, end;

    if (ex_parse(&o, argc, argv, usage) != 0)
        return 2;
    ex_pattern_init();
    ex_install_signals();
    if (ex_attach(&s, &o, TP_ROLE_CONSUMER) != 0)
        return 1;
    tp_consumer_config_init(&ccfg);
    ccfg.announce_stream_id = o.announce_stream; /* the driver's announce stream */
    if (tp_consumer_init_from_attach(&c, &ccfg, s.att, s.dc) != 0) {
        fprintf(stderr, "error=%s\n", tp_errmsg());
        ex_close(&s);
        return 1;
    }
    t0 = tp_client_now_ns(s.client);
    end = o.duration > 0 ? t0 + (uint64_t)(o.duration * 1e9) : UINT64_MAX;
    while (!ex_stop && (o.count == 0 || app.frames < o.count)) {
        uint64_t now = tp_client_now_ns(s.client);
        int n;
        if (now >= end)
            break;
        n = tp_consumer_poll(c, on_frame, &app, 64);
        tp_consumer_do_work(c, now); /* announces, remaps, hello, QoS */
        if (n == 0)
            ex_sleep_ns(20000);
    }
    tp_consumer_get_stats(c, &st);
    printf("frames=%" PRIu64 " lapped=%" PRIu64 " torn=%" PRIu64 " drops_gap=%" PRIu64
           " drops_late=%" PRIu64 " remaps=%" PRIu64 " epoch=%" PRIu64 " bytes=%" PRIu64
           " state=%s\n",
           app.frames, app.lapped, app.torn, st.drops_gap, st.drops_late, st.remaps, st.epoch,
           app.bytes, tp_mapping_state_name((int)st.mapping_state));
    tp_consumer_close(c);
    ex_close(&s);
    return app.torn > 0 ? 3 : 0;
}

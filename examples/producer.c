/*
 * The integration example's frame producer (../shared/seed/integration_example.md,
 * "Application 2"), in C on the public API (docs/api.md §3).
 *
 * A camera SDK wants its DMA buffers registered up front and completes them in whatever order
 * the hardware finishes. This program simulates such a device:
 *
 *   1. attach to the driver as the producer of stream 42 (control stream 15000);
 *   2. reserve EVERY slot of the header ring (tp_producer_nslots) and "register" each one
 *      with the device: buffer id = r.header_index, memory = r.data / r.capacity;
 *   3. per frame period, the device completes one of the first --window queued buffers, at
 *      random (out-of-order DMA completion): the "DMA" writes the interop pattern of the
 *      reservation's seq into the buffer, reporting progress half-way
 *      (tp_producer_progress), and the application publishes the reservation
 *      (tp_producer_publish). FrameDescriptors still leave in seq order, as the completed
 *      prefix grows;
 *   4. completed buffers go back to the device (re-reserve until TP_PRODUCER_SLOT_BUSY) — but
 *      --hold of them (default nslots / 2) stay with the application first. Why: the slot of
 *      seq s is the slot of seq s + nslots, so re-reserving it marks the frame just published
 *      as being overwritten. A device that holds every buffer leaves consumers no time to read
 *      anything; holding back h buffers gives every frame a lifetime of about h frame periods;
 *   5. run the producer's duty cycle (tp_producer_do_work: QoS, announces, consumer hellos,
 *      reattach). After a lease loss the producer reattaches by itself in a new epoch; the
 *      buffers of the old epoch are released (publish/abort return TP_PRODUCER_STALE) and the
 *      device registers the new slots.
 *
 *   producer [--count N] [--duration SEC] [--rate HZ] [--size BYTES] [--hold N] [--window N]
 *            [--stream 42] [--control-stream 15000] [--announce-stream 15001] [--client-id 7]
 *            [--dir DIR] [--allowed-dir DIR] [--seed N]
 *
 * Prints one line at the end: frames=… out_of_order=… stale=… reattaches=… epoch=…; exit 0,
 * or 1 when attaching/mapping failed or no frame was published.
 */
#include <inttypes.h>

#include "example_common.h"

static const char *usage =
    "usage: producer [--count N] [--duration SEC] [--rate HZ] [--size BYTES] [--hold N]\n"
    "                [--window N] [--stream 42] [--control-stream 15000] [--client-id 7]\n"
    "                [--announce-stream 15001]\n"
    "                [--dir DIR] [--allowed-dir DIR] [--seed N]\n";

/* The simulated camera: registered buffers and the device's submission queue. */
typedef struct camera {
    uint32_t nbuf;
    uint64_t epoch;          /* epoch the buffers were registered in */
    tp_reservation_t *res;   /* buffer id (header_index) -> reservation */
    uint32_t *queue;         /* buffer ids in submission order */
    uint32_t queued;
    uint64_t rng;
} camera_t;

static uint32_t rnd(camera_t *c, uint32_t n)
{
    c->rng ^= c->rng << 13; /* xorshift64 */
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (uint32_t)(c->rng % n);
}

/* Hand buffers to the device until `target` are queued or the ring says SLOT_BUSY. */
static void camera_requeue(camera_t *c, tp_producer_t *p, uint16_t pool_id, uint32_t target)
{
    while (c->queued < target) {
        tp_reservation_t r;
        if (tp_producer_reserve(p, pool_id, &r) != 0)
            break; /* SLOT_BUSY: the oldest buffer is not back yet; NOT_ACTIVE: paused */
        c->res[r.header_index] = r;              /* sdk_register/requeue(r.header_index) */
        c->queue[c->queued++] = r.header_index;
    }
}

/* The producer reattached in a new epoch: release every buffer of the old one. */
static uint64_t camera_reset(camera_t *c, tp_producer_t *p)
{
    uint64_t stale = 0;
    for (uint32_t i = 0; i < c->queued; i++)
        if (tp_producer_abort(p, &c->res[c->queue[i]]) == TP_PRODUCER_STALE)
            stale++;
    c->queued = 0;
    c->epoch = tp_producer_epoch(p);
    return stale;
}

int main(int argc, char **argv)
{
    ex_opts_t o = {.control_stream = 15000, .announce_stream = 15001, .stream_id = 42,
                   .client_id = 7, .rate = 1000, .size = 655360, .window = 4};
    /* --announce-stream (15001): where the driver announces; the producer watches them to
       notice a driver that died without a shutdown notice (D-69). */
    ex_session_t s;
    tp_producer_config_t pcfg;
    tp_producer_t *p = NULL;
    tp_tensor_desc_t desc;
    camera_t cam = {0};
    uint16_t pool_id = 0;
    uint64_t frames = 0, ooo = 0, stale = 0, t0, next, period, end;
    int32_t shape[1];

    if (ex_parse(&o, argc, argv, usage) != 0)
        return 2;
    if (o.seed == 0)
        o.seed = (uint64_t)time(NULL);
    cam.rng = o.seed * 0x9E3779B97F4A7C15ull | 1;
    ex_pattern_init();
    ex_install_signals();
    if (ex_attach(&s, &o, TP_ROLE_PRODUCER) != 0)
        return 1;
    for (uint32_t i = 0, best = UINT32_MAX; i < s.att->pool_count; i++) /* smallest that fits */
        if (s.att->pools[i].stride_bytes >= o.size && s.att->pools[i].stride_bytes < best) {
            best = s.att->pools[i].stride_bytes;
            pool_id = s.att->pools[i].pool_id;
        }
    tp_producer_config_init(&pcfg);
    pcfg.announce_stream_id = o.announce_stream; /* the driver's announces: driver-loss detection */
    if (pool_id == 0 || tp_producer_init_from_attach(&p, &pcfg, s.att, s.dc) != 0) {
        fprintf(stderr, "error=%s\n", pool_id == 0 ? "no pool holds --size bytes" : tp_errmsg());
        ex_close(&s);
        return 1;
    }

    shape[0] = (int32_t)o.size; /* a flat uint8 tensor of --size bytes */
    tp_tensor_desc_contiguous(&desc, TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, shape);
    if (tp_tensor_desc_check(&desc) != 0) {
        fprintf(stderr, "error=%s\n", tp_errmsg());
        goto out;
    }

    /* Register every slot with the device. */
    cam.nbuf = tp_producer_nslots(p);
    cam.res = calloc(cam.nbuf, sizeof *cam.res);
    cam.queue = calloc(cam.nbuf, sizeof *cam.queue);
    if (cam.res == NULL || cam.queue == NULL)
        goto out;
    if (o.hold == 0)
        o.hold = cam.nbuf / 2;
    if (o.hold >= cam.nbuf)
        o.hold = cam.nbuf - 1;
    if (o.window == 0)
        o.window = 1;
    cam.epoch = tp_producer_epoch(p);
    camera_requeue(&cam, p, pool_id, cam.nbuf);
    printf("registered=%u epoch=%" PRIu64 " hold=%u window=%u\n", cam.queued, cam.epoch, o.hold,
           o.window);
    fflush(stdout);

    t0 = next = tp_client_now_ns(s.client);
    period = o.rate > 0 ? (uint64_t)(1e9 / o.rate) : 0;
    end = o.duration > 0 ? t0 + (uint64_t)(o.duration * 1e9) : UINT64_MAX;
    while (!ex_stop && (o.count == 0 || frames < o.count)) {
        uint64_t now = tp_client_now_ns(s.client);
        if (now >= end)
            break;
        tp_producer_do_work(p, now); /* QoS, announces, hellos, pending descriptors, reattach */
        if (tp_producer_state(p) != TP_PRODUCER_ACTIVE) {
            ex_sleep_ns(1000000); /* paused: the camera waits */
            continue;
        }
        if (tp_producer_epoch(p) != cam.epoch) { /* reattached: re-register the new slots */
            stale += camera_reset(&cam, p);
            camera_requeue(&cam, p, pool_id, cam.nbuf);
        }
        if (period != 0 && now < next) {
            if (next - now > 100000)
                ex_sleep_ns((next - now) / 2);
            continue;
        }
        if (cam.queued == 0) {
            camera_requeue(&cam, p, pool_id, cam.nbuf - o.hold);
            continue;
        }
        /* DMA completion of one of the first `window` queued buffers. */
        {
            uint32_t w = cam.queued < o.window ? cam.queued : o.window;
            uint32_t k = rnd(&cam, w), buf = cam.queue[k];
            tp_reservation_t *r = &cam.res[buf];
            int rc;
            if (k != 0)
                ooo++;
            memmove(&cam.queue[k], &cam.queue[k + 1], (cam.queued - k - 1) * sizeof cam.queue[0]);
            cam.queued--;
            ex_pattern_fill(r->data, (size_t)o.size / 2, r->seq);
            tp_producer_progress(p, r, o.size / 2); /* no-op unless a consumer asked */
            ex_pattern_fill(r->data, (size_t)o.size, r->seq);
            rc = tp_producer_publish(p, r, (uint32_t)o.size, &desc, NULL);
            if (rc == 0)
                frames++;
            else if (rc == TP_PRODUCER_STALE)
                stale++;
            else {
                fprintf(stderr, "error=publish: %s\n", tp_errmsg());
                break;
            }
        }
        /* Keep `hold` buffers back, hand the rest to the device again. */
        camera_requeue(&cam, p, pool_id, cam.nbuf - o.hold);
        next = period != 0 ? next + period : now;
        if (period != 0 && now > next + 1000000000ull)
            next = now; /* fell far behind (paused): no burst */
    }

out:
    if (p != NULL) {
        tp_producer_stats_t st;
        tp_producer_get_stats(p, &st);
        printf("frames=%" PRIu64 " out_of_order=%" PRIu64 " stale=%" PRIu64 " reattaches=%" PRIu64
               " epoch=%" PRIu64 " descriptors_sent=%" PRIu64 "\n",
               frames, ooo, stale, st.reattaches, st.epoch, st.descriptors_sent);
        tp_producer_close(p); /* aborts what the device still holds */
    }
    ex_close(&s);
    free(cam.res);
    free(cam.queue);
    return frames > 0 ? 0 : 1;
}

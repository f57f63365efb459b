/*
 * Test helper for tests/cli/tap_test.sh (not installed): publishes messages into a transport
 * stream the way a tensorpool process would, after waiting for a live subscriber.
 *
 *   tap_publish DIR CHANNEL STREAM HEX [HEX ...]      offer each message once (whitespace in
 *                                                     HEX is ignored)
 *   tap_publish DIR CHANNEL STREAM --flood N HEX      offer HEX N times: BACK_PRESSURED is
 *                                                     retried (20 s at most), NOT_CONNECTED
 *                                                     counts as skipped (as the producer does)
 *
 * Exit 0 when every message was offered (prints offered=<n> skipped=<n>), 1 on error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transport/transport.h"
#include "util/clock.h"
#include "util/error.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t parse_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int v = hexval((unsigned char)*s);
        if (v < 0) continue;
        if (hi < 0) { hi = v; continue; }
        if (n == cap) { fprintf(stderr, "message too long\n"); exit(1); }
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    return n;
}

static void pause_us(long us)
{
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    tp_transport_config_t cfg;
    tp_transport_t *t;
    tp_publication_t *p;
    static uint8_t buf[65536];
    uint64_t flood = 0, offered = 0, skipped = 0;
    int first = 4;

    if (argc < 5) {
        fprintf(stderr, "usage: tap_publish DIR CHANNEL STREAM [--flood N] HEX...\n");
        return 1;
    }
    if (!strcmp(argv[4], "--flood")) {
        if (argc != 7) { fprintf(stderr, "--flood N HEX\n"); return 1; }
        flood = strtoull(argv[5], NULL, 10);
        first = 6;
    }
    tp_transport_config_init(&cfg);
    snprintf(cfg.dir, sizeof cfg.dir, "%s", argv[1]);
    if (tp_transport_open(&t, &cfg) != 0 ||
        tp_transport_add_publication(t, argv[2], (uint32_t)strtoul(argv[3], NULL, 10), &p) != 0) {
        fprintf(stderr, "error=%s\n", tp_errmsg());
        return 1;
    }
    /* Wait for the tap's subscription (10 s at most). */
    uint64_t deadline = tp_clock_monotonic_ns() + 10000000000ull;
    while (!tp_publication_is_connected(p)) {
        if (tp_clock_monotonic_ns() > deadline) {
            fprintf(stderr, "error=no subscriber within 10 s\n");
            return 1;
        }
        tp_transport_do_work(t, tp_clock_monotonic_ns());
        pause_us(1000);
    }
    deadline = tp_clock_monotonic_ns() + 20000000000ull;
    for (int i = first; i < argc; i++) {
        size_t len = parse_hex(argv[i], buf, sizeof buf);
        uint64_t times = flood ? flood : 1;
        for (uint64_t k = 0; k < times; k++) {
            for (;;) {
                int64_t rc = tp_publication_offer(p, buf, len);
                if (rc >= 0) { offered++; break; }
                if (rc == TP_PUB_NOT_CONNECTED && flood) { skipped++; break; }
                if (rc != TP_PUB_BACK_PRESSURED || tp_clock_monotonic_ns() > deadline) {
                    fprintf(stderr, "error=offer returned %" PRId64 "\n", rc);
                    return 1;
                }
                tp_transport_do_work(t, tp_clock_monotonic_ns());
                pause_us(100);
            }
        }
    }
    printf("offered=%" PRIu64 " skipped=%" PRIu64 "\n", offered, skipped);
    tp_transport_close(t);
    return 0;
}

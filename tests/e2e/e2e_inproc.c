/*
 * End-to-end tests that drive the client library in this process against a real
 * `tensorpool driver` (and, for data, a real `tensorpool producer`):
 *   * 100 consumers attaching at once: 100 driver clients (each its own client id) send their
 *     attach requests together; every one is answered OK, every consumer maps and receives
 *     verified frames. They share 4 tp_client_t (25 each, all driven from this thread): one
 *     client's transport holds at most 256 subscriptions and a consumer uses about five, so
 *     one client cannot carry 100 consumers (the limit is reported, not worked around, in
 *     the library);
 *   * attach/detach loops of consumers and producers (full context → client → driver client
 *     → consumer/producer → close chain each time). Under ASan (`make asan`) LeakSanitizer
 *     fails the test at exit if any iteration leaks; in every build the driver must still
 *     accept a fresh attach afterwards (no lease piles up).
 */
#include <stdlib.h>

#include "e2e_support.h"
#include "shm/pool.h"
#include "tensorpool/tensorpool.h"

#define NCONS 100
#define NCLIENTS 4

static void set_client_env(e2e_sys_t *s)
{
    char *list[] = E2E_CLIENT_ENV(s);
    for (int i = 0; list[i] != NULL; i++) {
        char *eq = strchr(list[i], '='), key[128];
        size_t n = (size_t)(eq - list[i]);
        memcpy(key, list[i], n);
        key[n] = '\0';
        setenv(key, eq + 1, 1);
    }
}

typedef struct counts {
    uint64_t frames, torn;
} counts_t;

static void on_frame(void *clientd, const tp_frame_t *f)
{
    counts_t *c = clientd;
    int bad = tp_pattern_verify(f->data, f->len, f->seq) != 0;
    if (!tp_frame_is_intact(f))
        return;
    if (bad)
        c->torn++;
    else
        c->frames++;
}

static tp_context_t *make_ctx(e2e_sys_t *s)
{
    tp_context_t *ctx = NULL;
    if (tp_context_init(&ctx) != 0)
        return NULL;
    if (tp_context_set_dir(ctx, s->transport) != 0 || tp_context_add_allowed_dir(ctx, s->shm) != 0) {
        tp_context_close(ctx);
        return NULL;
    }
    return ctx;
}

/* Attach dc (request already built) and wait for the final answer. */
static int attach_wait(tp_driver_client_t *dc, uint32_t stream, tp_attach_t *att, unsigned ms)
{
    tp_attach_request_t req;
    int64_t id;
    int rc;
    uint64_t end = tp_launch_now_ns() + (uint64_t)ms * 1000000ull;
    tp_attach_request_init(&req);
    req.stream_id = stream;
    if ((id = tp_driver_client_send_attach(dc, &req)) == -1)
        return -1;
    while ((rc = tp_driver_client_poll_attach(dc, id, att)) == 0 && tp_launch_now_ns() < end)
        tp_launch_sleep_ms(1);
    return rc == 1 && att->code == TP_RESPONSE_OK ? 0 : -1;
}

/* n consumers (n <= NCONS) attach at once and all receive verified frames. */
static void many_consumers(const char *name, int n)
{
    e2e_sys_t s;
    tp_context_t *ctx;
    static tp_client_t *client[NCLIENTS];
    static tp_driver_client_t *dc[NCONS];
    static tp_consumer_t *c[NCONS];
    static int64_t ids[NCONS];
    static int done[NCONS];
    static counts_t counts[NCONS];
    tp_attach_t *att = calloc((size_t)n, sizeof *att);
    tp_proc_t prod;
    tp_attach_request_t req;
    tp_consumer_config_t ccfg;
    int answered = 0, ok = 0, ready, created;
    uint64_t end;

    memset(dc, 0, sizeof dc);
    memset(c, 0, sizeof c);
    memset(done, 0, sizeof done);
    memset(counts, 0, sizeof counts);
    TP_ASSERT(att != NULL);
    TP_ASSERT(e2e_init(&s, name, 64, 4096));
    set_client_env(&s);
    TP_ASSERT(e2e_driver_start(&s));
    TP_ASSERT((ctx = make_ctx(&s)) != NULL);
    for (int k = 0; k < NCLIENTS; k++)
        TP_ASSERT(tp_client_init(&client[k], ctx) == 0);
    tp_attach_request_init(&req);
    req.stream_id = E2E_STREAM;
    for (int i = 0; i < n; i++) {
        TP_ASSERT(tp_driver_client_init(&dc[i], client[i % NCLIENTS], "aeron:ipc", E2E_CTL, 20000u + (uint32_t)i,
                                        TP_ROLE_CONSUMER) == 0);
        ids[i] = tp_driver_client_send_attach(dc[i], &req);
        TP_ASSERT(ids[i] != -1);
    }
    end = tp_launch_now_ns() + 30000000000ull;
    while (answered < n && tp_launch_now_ns() < end) {
        for (int i = 0; i < n; i++) {
            int rc;
            if (done[i])
                continue;
            rc = tp_driver_client_poll_attach(dc[i], ids[i], &att[i]);
            if (rc != 0) {
                done[i] = rc;
                answered++;
                if (rc == 1 && att[i].code == TP_RESPONSE_OK)
                    ok++;
                else
                    printf("attach %d: rc=%d code=%d %s %s\n", i, rc, att[i].code,
                           att[i].error_message, rc < 0 ? tp_errmsg() : "");
            }
        }
        tp_launch_sleep_ms(1);
    }
    TP_CHECK_EQ_I(answered, n);
    TP_CHECK_EQ_I(ok, n);
    for (int i = 0; i < n; i++)
        if (done[i] == 1 && att[i].code == TP_RESPONSE_OK) {
            TP_CHECK_EQ_U(att[i].client_id, 20000u + (uint32_t)i);
            for (int j = 0; j < i; j++)
                if (done[j] == 1 && att[j].code == TP_RESPONSE_OK)
                    TP_CHECK(att[j].lease_id != att[i].lease_id);
        }
    tp_consumer_config_init(&ccfg);
    ccfg.announce_stream_id = E2E_CTL + 1;
    for (int i = 0; i < n; i++) {
        if (done[i] == 1 && att[i].code == TP_RESPONSE_OK &&
            tp_consumer_init_from_attach(&c[i], &ccfg, &att[i], dc[i]) != 0) {
            printf("consumer %d: %s\n", i, tp_errmsg());
            TP_CHECK(!"consumer init failed");
        }
        for (int k = 0; k < NCLIENTS; k++) /* keepalives of the others while mapping */
            tp_client_do_work(client[k], tp_client_now_ns(client[k]));
    }
    TP_ASSERT(e2e_spawn(&s, &prod, "producer", NULL, "producer", "--rate", "500", "--size",
                        "4096", "--duration", "60", NULL));
    created = 0;
    for (int i = 0; i < n; i++)
        created += c[i] != NULL;
    end = tp_launch_now_ns() + 30000000000ull;
    do {
        uint64_t now = tp_client_now_ns(client[0]);
        ready = 0;
        for (int i = 0; i < n; i++) {
            if (c[i] == NULL)
                continue;
            tp_consumer_poll(c[i], on_frame, &counts[i], 64);
            tp_consumer_do_work(c[i], now);
            ready += counts[i].frames >= 50;
        }
        if (ready < created)
            tp_launch_sleep_ms(1);
    } while (ready < created && tp_launch_now_ns() < end);
    TP_CHECK_EQ_I(created, n);
    TP_CHECK_EQ_I(ready, n);
    if (ready < created)
        e2e_dump("producer", &prod);
    for (int i = 0; i < n; i++) {
        TP_CHECK_EQ_U(counts[i].torn, 0);
        if (counts[i].frames < 50)
            printf("consumer %d: %llu frames, state %s\n", i, (unsigned long long)counts[i].frames,
                   c[i] ? tp_mapping_state_name(tp_consumer_mapping_state(c[i])) : "none");
    }
    tp_proc_stop(&prod, 5000);
    for (int i = 0; i < n; i++) {
        tp_consumer_close(c[i]);
        tp_driver_client_close(dc[i]);
    }
    for (int k = 0; k < NCLIENTS; k++)
        tp_client_close(client[k]);
    tp_context_close(ctx);
    free(att);
    tp_proc_stop(&s.driver, 5000);
}

TP_TEST(test_e2e_100_consumers_attach_at_once)
{
    many_consumers("hundred", 100);
}

/* Within the transport's limits (64 subscribers per stream, 256 subscriptions per client). */
TP_TEST(test_e2e_48_consumers_attach_at_once)
{
    many_consumers("fortyeight", 48);
}

/* One full lifecycle: context, client, driver client, attach, consumer/producer, a few duty
 * cycles, close everything (detach through the API for producers, through close otherwise). */
static int lifecycle(e2e_sys_t *s, tp_role_t role, tp_attach_t *att)
{
    tp_context_t *ctx = make_ctx(s);
    tp_client_t *client = NULL;
    tp_driver_client_t *dc = NULL;
    tp_consumer_t *c = NULL;
    tp_producer_t *p = NULL;
    int rc = -1;
    if (ctx == NULL || tp_client_init(&client, ctx) != 0 ||
        tp_driver_client_init(&dc, client, "aeron:ipc", E2E_CTL, 0, role) != 0 ||
        attach_wait(dc, E2E_STREAM, att, 10000) != 0)
        goto out;
    if (role == TP_ROLE_CONSUMER) {
        tp_consumer_config_t cfg;
        tp_consumer_config_init(&cfg);
        cfg.announce_stream_id = E2E_CTL + 1;
        if (tp_consumer_init_from_attach(&c, &cfg, att, dc) != 0)
            goto out;
        for (int k = 0; k < 5; k++) {
            tp_consumer_do_work(c, tp_client_now_ns(client));
            tp_launch_sleep_ms(1);
        }
    } else {
        tp_producer_config_t cfg;
        tp_tensor_desc_t d;
        int32_t dims[1] = {1024};
        tp_producer_config_init(&cfg);
        cfg.announce_stream_id = E2E_CTL + 1;
        if (tp_producer_init_from_attach(&p, &cfg, att, dc) != 0)
            goto out;
        tp_tensor_desc_contiguous(&d, TP_DTYPE_UINT8, TP_MAJOR_ROW, 1, dims);
        for (int k = 0; k < 5; k++) {
            static uint8_t buf[1024];
            tp_producer_offer(p, buf, sizeof buf, &d, NULL);
            tp_producer_do_work(p, tp_client_now_ns(client));
        }
        tp_producer_close(p);
        p = NULL;
        {
            int64_t id = tp_driver_client_send_detach(dc);
            uint64_t end = tp_launch_now_ns() + 2000000000ull;
            if (id == -1)
                goto out;
            while (tp_driver_client_poll_detach(dc, id) == 0 && tp_launch_now_ns() < end)
                tp_launch_sleep_ms(1);
        }
    }
    rc = 0;
out:
    if (rc != 0)
        printf("lifecycle (%s): %s\n", tp_role_name(role), tp_errmsg());
    tp_consumer_close(c);
    tp_producer_close(p);
    tp_driver_client_close(dc);
    tp_client_close(client);
    tp_context_close(ctx);
    return rc;
}

TP_TEST(test_e2e_attach_detach_loop_no_leak)
{
    e2e_sys_t s;
    tp_attach_t *att = calloc(1, sizeof *att);
    int failures = 0;
    TP_ASSERT(att != NULL);
    TP_ASSERT(e2e_init(&s, "loop", 16, 4096));
    set_client_env(&s);
    TP_ASSERT(e2e_driver_start(&s));
    for (int i = 0; i < 30; i++)
        failures += lifecycle(&s, TP_ROLE_CONSUMER, att) != 0;
    for (int i = 0; i < 15; i++)
        failures += lifecycle(&s, TP_ROLE_PRODUCER, att) != 0;
    TP_CHECK_EQ_I(failures, 0);
    /* The driver still accepts both roles. */
    TP_CHECK_EQ_I(lifecycle(&s, TP_ROLE_PRODUCER, att), 0);
    TP_CHECK_EQ_I(lifecycle(&s, TP_ROLE_CONSUMER, att), 0);
    TP_CHECK(!tp_proc_poll(&s.driver));
    tp_proc_stop(&s.driver, 5000);
    free(att);
}

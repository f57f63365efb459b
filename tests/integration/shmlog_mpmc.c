/*
 * shmlog MPMC (issue 3, Tests): several publishers and subscribers, in threads (label
 * "concurrent": CI runs it under TSan) and in processes. Every subscriber must receive every
 * message exactly once, whole, in the same total order as every other subscriber (running
 * hash of the stream), and each publisher's sequence strictly increasing without gaps.
 * Variable sizes wrap the 64 KiB log often (padding); its small size forces back-pressure.
 * Some claims are aborted (never counted) to mix padding records into the stream.
 *
 *   test_shmlog_mpmc_threads_*   one transport per thread (a transport belongs to one thread)
 *   test_shmlog_mpmc_procs_*     fork()ed publishers and subscribers, results in shared memory
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "tp_shmlog_testutil.h"
#include "tp_test.h"

#define NPUB 3
#define NSUB 3
#define STREAM_T 100
#define STREAM_P 101
#define CHANNEL "aeron:ipc?term-length=64k"
/* Liveness and unblock timeouts. Nothing dies or stalls on purpose here, so neither may ever
 * fire: a live (slow, sanitised) subscriber must never be evicted. On a 2-core box loaded far
 * past its cores (load average above 20), subscriber processes were measured going 6.2 to
 * 8.1 s between two heartbeats (the longest gap is printed when a poll fails): 5 s evicted
 * them. 20 s leaves room; the tests' own deadlines are 60 s. */
#define GENEROUS (20000 * TT_MS)

typedef struct shared {
    tp_transport_config_t cfg;
    uint32_t stream;
    uint32_t per_pub;              /* messages per publisher */
    _Atomic int subs_ready;        /* subscribers joined */
    _Atomic int pubs_done;
    _Atomic int go;
    /* results */
    uint64_t sent[NPUB];
    uint64_t aborted[NPUB];
    uint64_t back_pressured[NPUB];
    uint64_t pads_seen;            /* publications that returned a position after a wrap */
    int pub_err[NPUB];
    int64_t pub_rc[NPUB];          /* diagnostics: the result that stopped a publisher */
    uint64_t pub_err_ns[NPUB];
    tt_collect_t got[NSUB];
    int sub_err[NSUB];
    char sub_msg[NSUB][160];       /* diagnostics: why a subscriber's poll failed */
    uint64_t sub_err_ns[NSUB];
    uint64_t sub_position[NSUB];
    uint64_t sub_lost[NSUB];
    uint64_t sub_hb_gap_ns[NSUB];  /* diagnostics: longest time between two heartbeats ... */
    uint64_t sub_hb_gap_end[NSUB]; /* ... and when it ended (a subscriber declared dead) */
} shared_t;

typedef struct arg {
    shared_t *sh;
    int id;
} arg_t;

static size_t pick_len(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    uint32_t r = *seed >> 8;
    switch (r % 8) {
    case 0: return TT_MSG_MIN + r % 8000;   /* up to max (8192) */
    case 1: return 48;                       /* a FrameDescriptor */
    default: return TT_MSG_MIN + r % 600;
    }
}

static void publisher(shared_t *sh, int id)
{
    tp_transport_t *t;
    tp_publication_t *p;
    static _Thread_local uint8_t m[8192];
    uint32_t seed = 777u + (uint32_t)id * 1000003u;
    uint64_t deadline = tt_now() + 60000 * TT_MS, last_work = 0;
    if (tp_transport_open(&t, &sh->cfg) != 0 ||
        tp_transport_add_publication(t, CHANNEL, sh->stream, &p) != 0) {
        sh->pub_err[id] = 1;
        return;
    }
    while (!atomic_load(&sh->go))
        sched_yield();
    for (uint32_t seq = 0; seq < sh->per_pub;) {
        size_t len = pick_len(&seed);
        uint64_t now = tt_now();
        int64_t r;
        if (now - last_work > 5 * TT_MS) {
            tp_transport_do_work(t, now);
            last_work = now;
        }
        if (now > deadline) {
            sh->pub_err[id] = 2;
            break;
        }
        if (seq % 3 == 0) { /* in place, and sometimes aborted */
            tp_claim_t c;
            r = tp_publication_try_claim(p, len, &c);
            if (r >= 0) {
                if ((seed >> 3) % 11 == 0) {
                    tt_msg_fill(c.data, len, (uint32_t)id, 0xFFFFFFF0u); /* never counted */
                    tp_claim_abort(&c);
                    sh->aborted[id]++;
                    continue;
                }
                tt_msg_fill(c.data, len, (uint32_t)id, seq);
                if (tp_claim_commit(&c) != 0) {
                    sh->pub_err[id] = 3; /* no claim may time out here */
                    break;
                }
            }
        } else {
            tt_msg_fill(m, len, (uint32_t)id, seq);
            r = tp_publication_offer(p, m, len);
        }
        if (r >= 0) {
            seq++;
            sh->sent[id]++;
        } else if (r == TP_PUB_BACK_PRESSURED) {
            sh->back_pressured[id]++;
            sched_yield();
        } else {
            sh->pub_err[id] = 4;
            sh->pub_rc[id] = r;
            sh->pub_err_ns[id] = tt_now();
            break;
        }
    }
    atomic_fetch_add(&sh->pubs_done, 1);
    tp_transport_close(t);
}

static void subscriber(shared_t *sh, int id)
{
    tp_transport_t *t;
    tp_subscription_t *s;
    tt_collect_t *c = &sh->got[id];
    uint64_t want = (uint64_t)sh->per_pub * NPUB, last_work = 0;
    uint64_t deadline = tt_now() + 60000 * TT_MS;
    tt_collect_init(c, 0);
    if (tp_transport_open(&t, &sh->cfg) != 0 ||
        tp_transport_add_subscription(t, CHANNEL, sh->stream, &s) != 0) {
        sh->sub_err[id] = 1;
        atomic_fetch_add(&sh->subs_ready, 1);
        return;
    }
    atomic_fetch_add(&sh->subs_ready, 1);
    while (c->count < want) {
        uint64_t now = tt_now();
        if (now - last_work > 5 * TT_MS) {
            tp_transport_do_work(t, now);
            if (last_work != 0 && now - last_work > sh->sub_hb_gap_ns[id]) {
                sh->sub_hb_gap_ns[id] = now - last_work;
                sh->sub_hb_gap_end[id] = now;
            }
            last_work = now;
        }
        if (now > deadline) {
            sh->sub_err[id] = 2;
            break;
        }
        int n = tp_subscription_poll(s, tt_collect_handler, c, 1 + id * 7);
        if (n < 0) {
            sh->sub_err[id] = 3; /* lapped: a live subscriber must never be */
            snprintf(sh->sub_msg[id], sizeof sh->sub_msg[id], "%s", tp_errmsg());
            sh->sub_err_ns[id] = tt_now();
            break;
        }
        if (n == 0)
            sched_yield();
    }
    /* nothing more arrives after the last message */
    tt_sleep_ms(20);
    tp_subscription_poll(s, tt_collect_handler, c, 1000);
    sh->sub_position[id] = tp_subscription_position(s);
    sh->sub_lost[id] = tp_subscription_lost_bytes(s);
    tp_transport_close(t);
}

static void *pub_thread(void *a)
{
    arg_t *x = a;
    publisher(x->sh, x->id);
    return NULL;
}

static void *sub_thread(void *a)
{
    arg_t *x = a;
    subscriber(x->sh, x->id);
    return NULL;
}

static void check_results(shared_t *sh)
{
    uint64_t want = (uint64_t)sh->per_pub * NPUB, bp = 0, ab = 0;
    for (int i = 0; i < NPUB; i++)
        if (sh->pub_err[i] == 4)
            fprintf(stderr, "  publisher %d stopped on result %lld at t=%llu ns\n", i,
                    (long long)sh->pub_rc[i], (unsigned long long)sh->pub_err_ns[i]);
    for (int j = 0; j < NSUB; j++)
        if (sh->sub_err[j] == 3)
            fprintf(stderr, "  subscriber %d poll failed at t=%llu ns: %s (longest time "
                    "between its heartbeats: %llu ms, until t=%llu ns; liveness %llu ms)\n", j,
                    (unsigned long long)sh->sub_err_ns[j], sh->sub_msg[j],
                    (unsigned long long)(sh->sub_hb_gap_ns[j] / TT_MS),
                    (unsigned long long)sh->sub_hb_gap_end[j],
                    (unsigned long long)(sh->cfg.liveness_timeout_ns / TT_MS));
    for (int i = 0; i < NPUB; i++) {
        TP_CHECK_EQ_I(sh->pub_err[i], 0);
        TP_CHECK_EQ_U(sh->sent[i], sh->per_pub);
        bp += sh->back_pressured[i];
        ab += sh->aborted[i];
    }
    for (int j = 0; j < NSUB; j++) {
        tt_collect_t *c = &sh->got[j];
        TP_CHECK_EQ_I(sh->sub_err[j], 0);
        TP_CHECK_EQ_U(c->count, want);       /* every message exactly once ... */
        TP_CHECK_EQ_U(c->bad, 0);            /* ... whole (aborted claims never delivered) */
        TP_CHECK_EQ_U(c->out_of_order, 0);   /* per-publisher sequences without gaps */
        for (int i = 0; i < NPUB; i++)
            TP_CHECK_EQ_I(c->next_seq[i], sh->per_pub);
        TP_CHECK_EQ_U(c->hash, sh->got[0].hash); /* one total order */
        TP_CHECK_EQ_U(c->bytes, sh->got[0].bytes);
        TP_CHECK_EQ_U(sh->sub_position[j], sh->sub_position[0]);
        TP_CHECK_EQ_U(sh->sub_lost[j], 0);
    }
    /* the test exercised what it claims to: several laps, back-pressure, aborts */
    TP_CHECK(sh->sub_position[0] > 10 * 65536ull);
    TP_CHECK(bp > 0);
    TP_CHECK(ab > 0);
    fprintf(stderr, "  %" PRIu64 " messages, %" PRIu64 " bytes of log (%" PRIu64
            " laps), %" PRIu64 " back-pressured offers, %" PRIu64 " aborts\n",
            want, sh->sub_position[0], sh->sub_position[0] / 65536, bp, ab);
}

static uint32_t per_pub_from_env(uint32_t dflt)
{
    const char *e = getenv("TP_MPMC_PER_PUB");
    return e && atoi(e) > 0 ? (uint32_t)atoi(e) : dflt;
}

TP_TEST(test_shmlog_mpmc_threads_every_subscriber_same_order_exactly_once)
{
    shared_t *sh = calloc(1, sizeof *sh);
    pthread_t pt[NPUB], st[NSUB];
    arg_t pa[NPUB], sa[NSUB];
    TP_ASSERT(sh);
    sh->cfg = tt_cfg(GENEROUS, GENEROUS);
    sh->stream = STREAM_T;
    sh->per_pub = per_pub_from_env(6000);
    for (int j = 0; j < NSUB; j++) {
        sa[j] = (arg_t){sh, j};
        TP_ASSERT(pthread_create(&st[j], NULL, sub_thread, &sa[j]) == 0);
    }
    while (atomic_load(&sh->subs_ready) < NSUB)
        sched_yield();
    for (int i = 0; i < NPUB; i++) {
        pa[i] = (arg_t){sh, i};
        TP_ASSERT(pthread_create(&pt[i], NULL, pub_thread, &pa[i]) == 0);
    }
    atomic_store(&sh->go, 1);
    for (int i = 0; i < NPUB; i++)
        pthread_join(pt[i], NULL);
    for (int j = 0; j < NSUB; j++)
        pthread_join(st[j], NULL);
    check_results(sh);
    free(sh);
}

static void pub_proc(void *a)
{
    arg_t *x = a;
    publisher(x->sh, x->id);
}

static void sub_proc(void *a)
{
    arg_t *x = a;
    subscriber(x->sh, x->id);
}

TP_TEST(test_shmlog_mpmc_procs_every_subscriber_same_order_exactly_once)
{
    shared_t *sh = tt_shared(sizeof *sh);
    pid_t pids[NPUB + NSUB];
    int n = 0;
    TP_ASSERT(sh);
    memset(sh, 0, sizeof *sh);
    sh->cfg = tt_cfg(GENEROUS, GENEROUS);
    sh->stream = STREAM_P;
    sh->per_pub = per_pub_from_env(20000);
    for (int j = 0; j < NSUB; j++) {
        arg_t a = {sh, j};
        pids[n++] = tt_fork(sub_proc, &a);
        TP_ASSERT(pids[n - 1] > 0);
    }
    uint64_t end = tt_now() + 10000 * TT_MS;
    while (atomic_load(&sh->subs_ready) < NSUB && tt_now() < end)
        tt_sleep_ms(1);
    TP_ASSERT(atomic_load(&sh->subs_ready) == NSUB);
    for (int i = 0; i < NPUB; i++) {
        arg_t a = {sh, i};
        pids[n++] = tt_fork(pub_proc, &a);
        TP_ASSERT(pids[n - 1] > 0);
    }
    atomic_store(&sh->go, 1);
    for (int k = 0; k < n; k++) {
        int st = tt_wait(pids[k], 90000 * TT_MS);
        TP_CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    check_results(sh);
    munmap(sh, sizeof *sh);
}

/*
 * The Aeron transport (transport/aeron/aeron.h): the Aeron C client in conductor-invoker mode,
 * streams added asynchronously, a fragment assembler on every subscription, and reconnection to
 * a restarted media driver. Media driver liveness and the embedded media driver:
 * media_driver.c; a build without Aeron: aeron_stubs.c.
 */
#include "transport/aeron/aeron.h"

#ifdef TP_HAVE_AERON

#include <string.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <aeronc.h>
#include <aeronmd.h>

#include "transport/aeron/media_driver.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define COMPONENT "aeron"
#define CONNECT_PERIOD_NS 100000000ull   /* look for a media driver every 100 ms */
#define CHECK_PERIOD_NS 250000000ull     /* check the connected media driver every 250 ms */
#define RETRY_MIN_NS 250000000ull        /* a refused add: retry after 250 ms, doubling */
#define RETRY_MAX_NS 5000000000ull       /* ... up to 5 s */
#define CLOSE_DRAIN_CYCLES 64            /* conductor cycles at close to send the removals */

typedef enum stream_state {
    ST_IDLE,   /* no client, or waiting to retry */
    ST_ADDING, /* async add in flight */
    ST_READY,  /* pub/sub usable */
    ST_CLOSED  /* given up by the user; kept until tp_aeron_close */
} stream_state_t;

struct tp_aeron_pub {
    /* hot: offer reads these; READY: exactly one of pub / xpub, as exclusive says */
    aeron_publication_t *pub;            /* concurrent publication */
    aeron_exclusive_publication_t *xpub; /* exclusive publication: plain stores on the claim */
    bool exclusive;
    size_t max_payload; /* try_claim limit (MTU - header) */
    size_t max_message; /* offer limit */
    bool readd;         /* MAX_POSITION_EXCEEDED: close and add again */
    /* cold */
    tp_aeron_t *a;
    stream_state_t state;
    aeron_async_add_publication_t *async;
    char *channel;
    int32_t stream_id;
    uint64_t retry_at_ns, backoff_ns;
    tp_aeron_pub_t *next;
};

struct tp_aeron_sub {
    /* hot: poll reads and writes these */
    aeron_subscription_t *sub; /* READY only */
    aeron_fragment_assembler_t *fa;
    tp_message_handler_t handler; /* during poll */
    void *clientd;
    int delivered;
    /* image callbacks (run inside do_work, on the transport's thread) */
    uint32_t images;
    uint64_t join_ns;
    /* cold */
    tp_aeron_t *a;
    stream_state_t state;
    aeron_async_add_subscription_t *async;
    char *channel;
    int32_t stream_id;
    uint64_t retry_at_ns, backoff_ns;
    tp_aeron_sub_t *next;
};

struct tp_aeron {
    char dir[TP_TRANSPORT_DIR_MAX]; /* resolved media driver directory */
    uint64_t driver_timeout_ms;     /* the client's (AERON_DRIVER_TIMEOUT) */
    uint64_t liveness_ns;
    tp_aeron_md_t *md; /* the embedded media driver, or NULL */
    /* client (NULL while disconnected) */
    aeron_context_t *ctx;
    aeron_t *client;
    aeron_cnc_t *cnc; /* our own view of the CnC: heartbeat and pid of the media driver */
    int64_t md_pid;
    uint64_t next_connect_ns, next_check_ns;
    uint64_t connects, losses;
    bool waiting_logged;
    /* the error to report from the next do_work (Aeron's error handler, a lost client,
     * a refused add) */
    char err[1024];
    bool err_pending;
    tp_aeron_pub_t *pubs;
    tp_aeron_sub_t *subs;
};

bool tp_aeron_available(void) { return true; }

const char *tp_aeron_dir(const tp_aeron_t *a) { return a->dir; }

/* ---- errors -------------------------------------------------------------------------------- */

/* Remember an error for do_work to report (the first one of a cycle wins; all are logged). */
static void note_error(tp_aeron_t *a, const char *fmt, ...) TP_PRINTF(2, 3);
static void note_error(tp_aeron_t *a, const char *fmt, ...)
{
    char msg[sizeof a->err];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tp_log_warn(COMPONENT, "%s", msg);
    if (!a->err_pending) {
        memcpy(a->err, msg, sizeof msg);
        a->err_pending = true;
    }
}

/* Aeron's error handler (conductor-invoker mode: called from aeron_main_do_work). */
static void on_aeron_error(void *clientd, int errcode, const char *message)
{
    note_error(clientd, "Aeron error %d: %s", errcode, message ? message : "");
}

/* ---- streams: add, poll the add, give up --------------------------------------------------- */

static void retry_later(uint64_t now_ns, uint64_t *retry_at, uint64_t *backoff)
{
    *backoff = *backoff == 0 ? RETRY_MIN_NS : *backoff * 2;
    if (*backoff > RETRY_MAX_NS)
        *backoff = RETRY_MAX_NS;
    *retry_at = now_ns + *backoff;
}

static void close_handles(aeron_publication_t *pub, aeron_exclusive_publication_t *xpub)
{
    if (pub != NULL)
        aeron_publication_close(pub, NULL, NULL);
    if (xpub != NULL)
        aeron_exclusive_publication_close(xpub, NULL, NULL);
}

/* Close whichever Aeron publication p holds and forget it (READY -> not usable). */
static void pub_drop_handle(tp_aeron_pub_t *p)
{
    aeron_publication_t *pub = p->pub;
    aeron_exclusive_publication_t *xpub = p->xpub;
    p->pub = NULL;
    p->xpub = NULL;
    close_handles(pub, xpub);
}

static void pub_start_add(tp_aeron_t *a, tp_aeron_pub_t *p)
{
    char m[512];
    int rc = p->exclusive ? aeron_async_add_exclusive_publication(&p->async, a->client,
                                                                  p->channel, p->stream_id)
                          : aeron_async_add_publication(&p->async, a->client, p->channel,
                                                        p->stream_id);
    if (rc < 0) {
        p->async = NULL;
        note_error(a, "add publication %s stream %" PRId32 ": %s", p->channel, p->stream_id,
                   tp_aeron_errmsg_line(m, sizeof m));
        retry_later(tp_clock_monotonic_ns(), &p->retry_at_ns, &p->backoff_ns);
        return;
    }
    p->state = ST_ADDING;
}

static void on_available_image(void *clientd, aeron_subscription_t *sub, aeron_image_t *image)
{
    tp_aeron_sub_t *s = clientd;
    (void)sub;
    (void)image;
    s->images++;
    s->join_ns = tp_clock_monotonic_ns(); /* WIRE W-91 */
}

static void on_unavailable_image(void *clientd, aeron_subscription_t *sub, aeron_image_t *image)
{
    tp_aeron_sub_t *s = clientd;
    (void)sub;
    (void)image;
    if (s->images > 0)
        s->images--;
}

static void sub_start_add(tp_aeron_t *a, tp_aeron_sub_t *s)
{
    char m[512];
    if (aeron_async_add_subscription(&s->async, a->client, s->channel, s->stream_id,
                                     on_available_image, s, on_unavailable_image, s) < 0) {
        s->async = NULL;
        note_error(a, "add subscription %s stream %" PRId32 ": %s", s->channel, s->stream_id,
                   tp_aeron_errmsg_line(m, sizeof m));
        retry_later(tp_clock_monotonic_ns(), &s->retry_at_ns, &s->backoff_ns);
        return;
    }
    s->state = ST_ADDING;
}

/* Poll one pending publication add; also handles adds of closed handles (closed on arrival).
 * Returns work done. */
static int pub_poll_add(tp_aeron_t *a, tp_aeron_pub_t *p, uint64_t now_ns)
{
    aeron_publication_t *pub = NULL;
    aeron_exclusive_publication_t *xpub = NULL;
    aeron_publication_constants_t k;
    char m[512];
    int rc = p->exclusive ? aeron_async_add_exclusive_publication_poll(&xpub, p->async)
                          : aeron_async_add_publication_poll(&pub, p->async);
    if (rc == 0)
        return 0;
    p->async = NULL;
    if (rc < 0) {
        if (p->state != ST_CLOSED) {
            note_error(a, "publication %s stream %" PRId32 ": %s", p->channel, p->stream_id,
                       tp_aeron_errmsg_line(m, sizeof m));
            p->state = ST_IDLE;
            retry_later(now_ns, &p->retry_at_ns, &p->backoff_ns);
        }
        return 1;
    }
    if (p->state == ST_CLOSED) {
        close_handles(pub, xpub);
        return 1;
    }
    if ((xpub != NULL ? aeron_exclusive_publication_constants(xpub, &k)
                      : aeron_publication_constants(pub, &k)) != 0) {
        note_error(a, "publication %s stream %" PRId32 ": constants: %s", p->channel,
                   p->stream_id, tp_aeron_errmsg_line(m, sizeof m));
        close_handles(pub, xpub);
        p->state = ST_IDLE;
        retry_later(now_ns, &p->retry_at_ns, &p->backoff_ns);
        return 1;
    }
    p->max_payload = k.max_payload_length;
    p->max_message = k.max_message_length;
    p->backoff_ns = 0;
    p->readd = false;
    p->state = ST_READY;
    p->pub = pub; /* last: the handle is usable from here */
    p->xpub = xpub;
    return 1;
}

static int sub_poll_add(tp_aeron_t *a, tp_aeron_sub_t *s, uint64_t now_ns)
{
    aeron_subscription_t *sub = NULL;
    char m[512];
    int rc = aeron_async_add_subscription_poll(&sub, s->async);
    if (rc == 0)
        return 0;
    s->async = NULL;
    if (rc < 0) {
        if (s->state != ST_CLOSED) {
            note_error(a, "subscription %s stream %" PRId32 ": %s", s->channel, s->stream_id,
                       tp_aeron_errmsg_line(m, sizeof m));
            s->state = ST_IDLE;
            retry_later(now_ns, &s->retry_at_ns, &s->backoff_ns);
        }
        return 1;
    }
    if (s->state == ST_CLOSED) {
        aeron_subscription_close(sub, NULL, NULL);
        return 1;
    }
    s->backoff_ns = 0;
    s->state = ST_READY;
    s->sub = sub;
    return 1;
}

/* ---- connection ---------------------------------------------------------------------------- */

static void start_all_adds(tp_aeron_t *a)
{
    for (tp_aeron_pub_t *p = a->pubs; p; p = p->next)
        if (p->state == ST_IDLE) {
            p->retry_at_ns = 0;
            p->backoff_ns = 0;
            pub_start_add(a, p);
        }
    for (tp_aeron_sub_t *s = a->subs; s; s = s->next)
        if (s->state == ST_IDLE) {
            s->retry_at_ns = 0;
            s->backoff_ns = 0;
            sub_start_add(a, s);
        }
}

static int connect_client(tp_aeron_t *a)
{
    aeron_cnc_constants_t k;
    char m[512];
    if (aeron_context_init(&a->ctx) < 0)
        return tp_err_set(TP_EAERON, "Aeron context: %s", tp_aeron_errmsg_line(m, sizeof m));
    aeron_context_set_dir(a->ctx, a->dir);
    aeron_context_set_use_conductor_agent_invoker(a->ctx, true); /* no thread: do_work runs it */
    aeron_context_set_error_handler(a->ctx, on_aeron_error, a);
    aeron_context_set_client_name(a->ctx, "tensorpool");
    if (aeron_init(&a->client, a->ctx) < 0) {
        tp_err_set(TP_EAERON, "Aeron client in %s: %s", a->dir, tp_aeron_errmsg_line(m, sizeof m));
        goto fail;
    }
    if (aeron_start(a->client) < 0) {
        tp_err_set(TP_EAERON, "Aeron client start: %s", tp_aeron_errmsg_line(m, sizeof m));
        aeron_close(a->client);
        goto fail;
    }
    a->md_pid = 0;
    if (aeron_cnc_init(&a->cnc, a->dir, 0) == 0 && aeron_cnc_constants(a->cnc, &k) == 0)
        a->md_pid = k.pid;
    a->connects++;
    a->waiting_logged = false;
    tp_log_info(COMPONENT, "connected to the media driver in %s (pid %" PRId64 ")", a->dir,
                a->md_pid);
    start_all_adds(a);
    return 0;
fail:
    a->client = NULL;
    aeron_context_close(a->ctx);
    a->ctx = NULL;
    return -1;
}

/* Drop the client: every handle back to "not connected" (the objects of the old client die
 * with it), then close it. */
static void disconnect_client(tp_aeron_t *a)
{
    for (tp_aeron_pub_t *p = a->pubs; p; p = p->next) {
        p->pub = NULL;
        p->xpub = NULL;
        p->async = NULL; /* leaked if pending: Aeron cannot cancel an add (aeron.h) */
        if (p->state != ST_CLOSED)
            p->state = ST_IDLE;
    }
    for (tp_aeron_sub_t *s = a->subs; s; s = s->next) {
        s->sub = NULL;
        s->async = NULL;
        s->images = 0;
        if (s->state != ST_CLOSED)
            s->state = ST_IDLE;
    }
    if (a->cnc)
        aeron_cnc_close(a->cnc);
    a->cnc = NULL;
    aeron_close(a->client);
    aeron_context_close(a->ctx);
    a->client = NULL;
    a->ctx = NULL;
}

static void lose_client(tp_aeron_t *a, const char *why)
{
    a->losses++;
    note_error(a, "lost the media driver in %s: %s; reconnecting", a->dir, why);
    disconnect_client(a);
}

static int try_connect(tp_aeron_t *a, uint64_t now_ns)
{
    int64_t pid;
    if (now_ns < a->next_connect_ns)
        return 0;
    a->next_connect_ns = now_ns + CONNECT_PERIOD_NS;
    if (tp_aeron_md_probe(a->dir, a->driver_timeout_ms, &pid) != TP_AERON_MD_LIVE) {
        if (!a->waiting_logged)
            tp_log_info(COMPONENT, "no live media driver in %s yet: streams stay unconnected",
                        a->dir);
        a->waiting_logged = true;
        return 0;
    }
    if (connect_client(a) != 0) {
        note_error(a, "%s", tp_errmsg());
        return 1;
    }
    return 1;
}

/* ---- open / close -------------------------------------------------------------------------- */

int tp_aeron_open(tp_aeron_t **out, const tp_transport_config_t *cfg)
{
    aeron_context_t *probe;
    char m[512];
    tp_aeron_t *a = calloc(1, sizeof *a);
    if (a == NULL)
        return tp_err_set(TP_ENOMEM, "Aeron transport");
    a->liveness_ns = cfg->liveness_timeout_ns;
    /* Aeron's own defaults and environment (AERON_DIR, AERON_DRIVER_TIMEOUT) resolve the rest. */
    if (aeron_context_init(&probe) < 0) {
        free(a);
        return tp_err_set(TP_EAERON, "Aeron context: %s", tp_aeron_errmsg_line(m, sizeof m));
    }
    if (cfg->aeron_dir[0] != '\0')
        aeron_context_set_dir(probe, cfg->aeron_dir);
    snprintf(a->dir, sizeof a->dir, "%s", aeron_context_get_dir(probe));
    a->driver_timeout_ms = aeron_context_get_driver_timeout_ms(probe);
    aeron_context_close(probe);
    if (cfg->launch_media_driver &&
        tp_aeron_md_launch(&a->md, a->dir, a->driver_timeout_ms, a->liveness_ns) != 0) {
        free(a);
        return -1;
    }
    if (try_connect(a, tp_clock_monotonic_ns()) != 0 && a->client == NULL) {
        /* a live media driver refused us: report it now rather than from do_work */
        tp_err_set(TP_EAERON, "%s", a->err);
        tp_aeron_close(a);
        return -1;
    }
    a->err_pending = false;
    *out = a;
    return 0;
}

void tp_aeron_close(tp_aeron_t *a)
{
    if (a == NULL)
        return;
    for (tp_aeron_pub_t *p = a->pubs; p; p = p->next)
        tp_aeron_pub_close(p);
    for (tp_aeron_sub_t *s = a->subs; s; s = s->next)
        tp_aeron_sub_close(s);
    if (a->client != NULL) {
        /* Send the removals (the C client does not tell the driver it closes: without them
         * our streams would linger until the client liveness timeout) and settle the adds
         * still in flight, which Aeron frees only when they are polled: they complete within
         * milliseconds, or fail at the client's driver timeout at the latest. */
        uint64_t t0 = tp_clock_monotonic_ns();
        uint64_t end = t0 + (a->driver_timeout_ms + 1000) * 1000000ull;
        int waited = 0;
        for (int i = 0;; i++) {
            bool pending = false;
            aeron_main_do_work(a->client);
            if (aeron_is_closed(a->client))
                break;
            for (tp_aeron_pub_t *p = a->pubs; p; p = p->next)
                if (p->async && pub_poll_add(a, p, 0) == 0)
                    pending = true;
            for (tp_aeron_sub_t *s = a->subs; s; s = s->next)
                if (s->async && sub_poll_add(a, s, 0) == 0)
                    pending = true;
            if ((!pending && i >= CLOSE_DRAIN_CYCLES) || tp_clock_monotonic_ns() > end)
                break;
            if (pending) {
                usleep(1000);
                if (++waited == 1000)
                    tp_log_warn(COMPONENT, "close: adds still in flight after 1 s (slow media "
                                "driver in %s): waiting up to the driver timeout", a->dir);
            }
        }
        /* still pending past the driver timeout: given up (leaked, aeron.h) */
        for (tp_aeron_pub_t *p = a->pubs; p; p = p->next)
            if (p->async && pub_poll_add(a, p, 0) == 0)
                p->async = NULL;
        for (tp_aeron_sub_t *s = a->subs; s; s = s->next)
            if (s->async && sub_poll_add(a, s, 0) == 0)
                s->async = NULL;
        disconnect_client(a);
    }
    while (a->pubs) {
        tp_aeron_pub_t *p = a->pubs;
        a->pubs = p->next;
        free(p->channel);
        free(p);
    }
    while (a->subs) {
        tp_aeron_sub_t *s = a->subs;
        a->subs = s->next;
        if (s->fa)
            aeron_fragment_assembler_delete(s->fa);
        free(s->channel);
        free(s);
    }
    tp_aeron_md_close(a->md); /* after the client: joins its threads */
    free(a);
}

/* ---- duty cycle ---------------------------------------------------------------------------- */

static int check_client(tp_aeron_t *a, uint64_t now_ns)
{
    if (aeron_is_closed(a->client)) {
        lose_client(a, a->err_pending ? a->err : "the Aeron client was closed");
        return 1;
    }
    if (now_ns < a->next_check_ns || a->cnc == NULL)
        return 0;
    a->next_check_ns = now_ns + CHECK_PERIOD_NS;
    int64_t hb = aeron_cnc_to_driver_heartbeat(a->cnc);
    if (tp_aeron_md_heartbeat_dead(hb, a->md_pid, a->driver_timeout_ms)) {
        char why[160];
        if (hb <= 0)
            snprintf(why, sizeof why, "the media driver shut down");
        else
            snprintf(why, sizeof why, "no media driver heartbeat for %" PRId64 " ms (pid %"
                     PRId64 "%s)", tp_aeron_epoch_ms() - hb, a->md_pid,
                     tp_aeron_pid_gone(a->md_pid) ? " is gone" : "");
        lose_client(a, why);
        return 1;
    }
    return 0;
}

static int service_streams(tp_aeron_t *a, uint64_t now_ns)
{
    int work = 0;
    for (tp_aeron_pub_t *p = a->pubs; p; p = p->next) {
        if (p->async)
            work += pub_poll_add(a, p, now_ns);
        else if (p->state == ST_READY && p->readd) { /* MAX_POSITION_EXCEEDED */
            pub_drop_handle(p);
            p->state = ST_IDLE;
            pub_start_add(a, p);
            work++;
        } else if (p->state == ST_IDLE && now_ns >= p->retry_at_ns) {
            pub_start_add(a, p);
            work++;
        }
    }
    for (tp_aeron_sub_t *s = a->subs; s; s = s->next) {
        if (s->async)
            work += sub_poll_add(a, s, now_ns);
        else if (s->state == ST_IDLE && now_ns >= s->retry_at_ns) {
            sub_start_add(a, s);
            work++;
        }
    }
    return work;
}

int tp_aeron_do_work(tp_aeron_t *a, uint64_t now_ns)
{
    int work = 0, n;
    if (a->client == NULL) {
        work += try_connect(a, now_ns);
    } else {
        n = aeron_main_do_work(a->client);
        if (n > 0)
            work += n;
        work += check_client(a, now_ns);
        if (a->client != NULL)
            work += service_streams(a, now_ns);
    }
    if (a->err_pending) {
        a->err_pending = false;
        return tp_err_set(TP_EAERON, "%s", a->err);
    }
    return work;
}

/* ---- channels ------------------------------------------------------------------------------ */

int tp_aeron_channel_parse(const char *uri, tp_channel_t *out)
{
    memset(out, 0, sizeof *out);
    if (uri == NULL || *uri == '\0')
        return tp_err_set(TP_ECHANNEL, "empty channel");
    if (strlen(uri) >= TP_CHANNEL_MAX)
        return tp_err_set(TP_ECHANNEL, "channel longer than %u bytes", TP_CHANNEL_MAX - 1);
    if (strncmp(uri, "aeron:ipc", 9) == 0 && (uri[9] == '\0' || uri[9] == '?')) {
        tp_channel_t ipc;
        /* the embedded parser's term-length when it understands the parameters */
        if (tp_channel_parse(uri, &ipc) == 0)
            out->term_length = ipc.term_length;
        tp_err_clear();
        snprintf(out->canonical, sizeof out->canonical, "aeron:ipc");
        return 0;
    }
    if (strncmp(uri, "aeron:udp", 9) == 0 && (uri[9] == '\0' || uri[9] == '?')) {
        snprintf(out->canonical, sizeof out->canonical, "%s", uri);
        return 0;
    }
    return tp_err_set(TP_ECHANNEL, "channel '%s' is not an Aeron channel URI (expected "
                      "aeron:ipc[?...] or aeron:udp?...)", uri);
}

/* ---- publications -------------------------------------------------------------------------- */

int tp_aeron_add_publication(tp_aeron_t *a, const char *channel, uint32_t stream_id,
                             bool exclusive, tp_aeron_pub_t **out)
{
    tp_channel_t ch;
    tp_aeron_pub_t *p;
    if (tp_aeron_channel_parse(channel, &ch) != 0)
        return -1;
    if (stream_id > INT32_MAX)
        return tp_err_set(TP_ECHANNEL, "stream id %" PRIu32 " does not fit Aeron's int32",
                          stream_id);
    p = calloc(1, sizeof *p);
    if (p == NULL || (p->channel = strdup(channel)) == NULL) {
        free(p);
        return tp_err_set(TP_ENOMEM, "publication");
    }
    p->a = a;
    p->stream_id = (int32_t)stream_id;
    p->exclusive = exclusive;
    p->state = ST_IDLE;
    p->next = a->pubs;
    a->pubs = p;
    if (a->client != NULL)
        pub_start_add(a, p); /* a refusal is reported by do_work and retried */
    *out = p;
    return 0;
}

void tp_aeron_pub_close(tp_aeron_pub_t *p)
{
    if (p == NULL || p->state == ST_CLOSED)
        return;
    p->state = ST_CLOSED; /* a pending add is closed when it completes */
    pub_drop_handle(p);
}

size_t tp_aeron_pub_max_message_length(const tp_aeron_pub_t *p)
{
    return p->pub != NULL || p->xpub != NULL ? p->max_message : 0;
}

static int64_t map_result(tp_aeron_pub_t *p, int64_t rc)
{
    switch (rc) {
    case AERON_PUBLICATION_NOT_CONNECTED: return TP_PUB_NOT_CONNECTED;
    case AERON_PUBLICATION_BACK_PRESSURED: return TP_PUB_BACK_PRESSURED;
    case AERON_PUBLICATION_ADMIN_ACTION: return TP_PUB_ADMIN_ACTION;
    case AERON_PUBLICATION_CLOSED: return TP_PUB_NOT_CONNECTED; /* client lost: do_work redoes it */
    case AERON_PUBLICATION_MAX_POSITION_EXCEEDED:
        p->readd = true; /* do_work closes it and adds a fresh one */
        return TP_PUB_ADMIN_ACTION;
    default: return TP_PUB_ADMIN_ACTION; /* AERON_PUBLICATION_ERROR */
    }
}

static int64_t not_ready(const tp_aeron_pub_t *p)
{
    return p->state == ST_CLOSED ? TP_PUB_CLOSED : TP_PUB_NOT_CONNECTED;
}

/* One fragment of len bytes from whichever publication p holds (READY). */
static inline int64_t pub_claim(tp_aeron_pub_t *p, size_t len, aeron_buffer_claim_t *bc)
{
    return p->xpub != NULL ? aeron_exclusive_publication_try_claim(p->xpub, len, bc)
                           : aeron_publication_try_claim(p->pub, len, bc);
}

int64_t tp_aeron_offer(tp_aeron_pub_t *p, const void *buf, size_t len)
{
    aeron_buffer_claim_t bc;
    int64_t rc;
    if (p->pub == NULL && p->xpub == NULL)
        return not_ready(p);
    if (len <= p->max_payload) {
        /* One fragment: claim + copy + commit writes the frame once, in place. */
        rc = pub_claim(p, len, &bc);
        if (rc > 0) {
            memcpy(bc.data, buf, len);
            aeron_buffer_claim_commit(&bc);
            return rc;
        }
    } else if (len <= p->max_message) {
        /* Fragmented by Aeron; every subscription's assembler puts it back together. */
        rc = p->xpub != NULL ? aeron_exclusive_publication_offer(p->xpub, buf, len, NULL, NULL)
                             : aeron_publication_offer(p->pub, buf, len, NULL, NULL);
        if (rc > 0)
            return rc;
    } else {
        return TP_PUB_MAX_SIZE_EXCEEDED;
    }
    return map_result(p, rc);
}

int64_t tp_aeron_try_claim(tp_aeron_pub_t *p, size_t len, tp_claim_t *c)
{
    aeron_buffer_claim_t bc;
    int64_t rc;
    if (p->pub == NULL && p->xpub == NULL)
        return not_ready(p);
    if (len > p->max_payload)
        return TP_PUB_MAX_SIZE_EXCEEDED; /* a claim is one fragment (use offer above it) */
    rc = pub_claim(p, len, &bc);
    if (rc <= 0)
        return map_result(p, rc);
    c->data = bc.data;
    c->length = len;
    c->frame_ = bc.frame_header;
    c->position_ = (uint64_t)rc;
    c->word_ = 0;
    return rc;
}

int tp_aeron_commit(tp_claim_t *c)
{
    aeron_buffer_claim_t bc = {c->frame_, c->data, c->length};
    char m[512];
    if (aeron_buffer_claim_commit(&bc) < 0)
        return tp_err_set(TP_EAERON, "commit: %s", tp_aeron_errmsg_line(m, sizeof m));
    return 0;
}

void tp_aeron_abort(tp_claim_t *c)
{
    aeron_buffer_claim_t bc = {c->frame_, c->data, c->length};
    aeron_buffer_claim_abort(&bc);
}

bool tp_aeron_pub_is_connected(tp_aeron_pub_t *p)
{
    if (p->xpub != NULL)
        return aeron_exclusive_publication_is_connected(p->xpub);
    return p->pub != NULL && aeron_publication_is_connected(p->pub);
}

/* ---- subscriptions ------------------------------------------------------------------------- */

/* The assembler's delegate: one whole message. */
static void on_message(void *clientd, const uint8_t *buffer, size_t length, aeron_header_t *header)
{
    tp_aeron_sub_t *s = clientd;
    (void)header;
    s->delivered++;
    s->handler(s->clientd, buffer, length);
}

int tp_aeron_add_subscription(tp_aeron_t *a, const char *channel, uint32_t stream_id,
                              tp_aeron_sub_t **out)
{
    tp_channel_t ch;
    tp_aeron_sub_t *s;
    char m[512];
    if (tp_aeron_channel_parse(channel, &ch) != 0)
        return -1;
    if (stream_id > INT32_MAX)
        return tp_err_set(TP_ECHANNEL, "stream id %" PRIu32 " does not fit Aeron's int32",
                          stream_id);
    s = calloc(1, sizeof *s);
    if (s == NULL || (s->channel = strdup(channel)) == NULL) {
        free(s);
        return tp_err_set(TP_ENOMEM, "subscription");
    }
    if (aeron_fragment_assembler_create(&s->fa, on_message, s) < 0) {
        free(s->channel);
        free(s);
        return tp_err_set(TP_EAERON, "fragment assembler: %s", tp_aeron_errmsg_line(m, sizeof m));
    }
    s->a = a;
    s->stream_id = (int32_t)stream_id;
    s->state = ST_IDLE;
    s->next = a->subs;
    a->subs = s;
    if (a->client != NULL)
        sub_start_add(a, s);
    *out = s;
    return 0;
}

void tp_aeron_sub_close(tp_aeron_sub_t *s)
{
    aeron_subscription_t *sub;
    if (s == NULL || s->state == ST_CLOSED)
        return;
    sub = s->sub;
    s->sub = NULL;
    s->state = ST_CLOSED;
    s->images = 0;
    if (sub != NULL)
        aeron_subscription_close(sub, NULL, NULL);
}

int tp_aeron_poll(tp_aeron_sub_t *s, tp_message_handler_t handler, void *clientd, int limit)
{
    aeron_subscription_t *sub = s->sub;
    if (sub == NULL)
        return 0;
    s->handler = handler;
    s->clientd = clientd;
    s->delivered = 0;
    if (aeron_subscription_poll(sub, aeron_fragment_assembler_handler, s->fa,
                                limit > 0 ? (size_t)limit : 1) < 0)
        return 0; /* closed under us (client lost): do_work reconnects */
    return s->delivered;
}

bool tp_aeron_sub_is_connected(tp_aeron_sub_t *s)
{
    return s->sub != NULL && aeron_subscription_is_connected(s->sub);
}

uint64_t tp_aeron_sub_position(const tp_aeron_sub_t *s)
{
    aeron_image_t *img;
    int64_t pos = 0;
    if (s->sub == NULL || (img = aeron_subscription_image_at_index(s->sub, 0)) == NULL)
        return 0;
    pos = aeron_image_position(img);
    aeron_subscription_image_release(s->sub, img);
    return pos > 0 ? (uint64_t)pos : 0;
}

uint64_t tp_aeron_sub_join_time_ns(const tp_aeron_sub_t *s) { return s->join_ns; }

uint32_t tp_aeron_sub_image_count(const tp_aeron_sub_t *s) { return s->images; }

#endif /* TP_HAVE_AERON (without it: aeron_stubs.c) */

/*
 * tp_client_t: one transport, the driver control endpoints its driver clients share, and the
 * duty cycle that drives them (client.h, DESIGN §2).
 *
 * Responses and notices of the driver all arrive on its control stream (D-36), so a client
 * subscribes once per (channel, stream) and hands each message to every driver client on that
 * endpoint; each matches by correlation id or lease fields itself.
 */
#include "tensorpool/client.h"

#include <stdlib.h>
#include <string.h>

#include "client/client_private.h"
#include "codec/sbe.h"
#include "codec/gen/tp_sbe_driver.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define POLL_LIMIT 64 /* messages per endpoint per duty cycle: bounded work */

typedef struct handle_ref {
    void *handle;
    tp_client_handle_close_fn close_fn;
} handle_ref_t;

struct tp_client {
    tp_context_t *ctx;
    tp_transport_t *transport;
    tp_ctl_endpoint_t **eps;
    uint32_t ep_count, ep_cap;
    tp_driver_client_t **dcs;
    uint32_t dc_count, dc_cap;
    handle_ref_t *handles;
    uint32_t handle_count, handle_cap;
};

/* Grow a pointer-sized array to hold n + 1 entries. 0 or -1 (TP_ENOMEM). */
static int grow(void **arr, uint32_t *cap, uint32_t n, size_t elem)
{
    void *p;
    uint32_t c;
    if (n < *cap)
        return 0;
    c = *cap ? *cap * 2 : 4;
    p = realloc(*arr, (size_t)c * elem);
    if (p == NULL)
        return tp_err_set(TP_ENOMEM, "client: out of memory");
    *arr = p;
    *cap = c;
    return 0;
}

int tp_client_init(tp_client_t **out, tp_context_t *ctx)
{
    tp_transport_config_t tcfg;
    tp_client_t *c;

    if (out == NULL || ctx == NULL)
        return tp_err_set(TP_EINVAL, "tp_client_init: NULL argument");
    *out = NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return tp_err_set(TP_ENOMEM, "tp_client_init");
    tp_context_freeze(ctx);
    c->ctx = ctx;
    tp_context_transport_config(ctx, &tcfg);
    if (tp_transport_open(&c->transport, &tcfg) != 0) {
        free(c);
        return tp_err_push("tp_client_init: transport in '%s'", tcfg.dir);
    }
    *out = c;
    return 0;
}

void tp_client_close(tp_client_t *client)
{
    if (client == NULL)
        return;
    /* Producers and consumers first: they own driver clients (newest first). */
    while (client->handle_count > 0) {
        uint32_t n = client->handle_count;
        handle_ref_t h = client->handles[n - 1];
        h.close_fn(h.handle);
        if (client->handle_count == n && client->handles[n - 1].handle == h.handle)
            client->handle_count--; /* the handle did not unregister itself */
    }
    while (client->dc_count > 0) {
        uint32_t n = client->dc_count;
        tp_driver_client_t *dc = client->dcs[n - 1];
        tp_dc_set_owner(dc, NULL); /* an owner that did not register a close function */
        tp_driver_client_close(dc);
        if (client->dc_count == n && client->dcs[n - 1] == dc)
            client->dc_count--;
    }
    for (uint32_t i = 0; i < client->ep_count; i++) {
        tp_subscription_close(client->eps[i]->sub);
        tp_publication_close(client->eps[i]->pub);
        free(client->eps[i]);
    }
    tp_transport_close(client->transport);
    free(client->eps);
    free(client->dcs);
    free(client->handles);
    free(client);
}

/* ---- dispatch ------------------------------------------------------------------------------- */

typedef struct dispatch {
    tp_client_t *client;
    const tp_ctl_endpoint_t *ep;
    uint64_t now_ns;
} dispatch_t;

static void on_control(void *clientd, const uint8_t *msg, size_t len)
{
    dispatch_t *d = clientd;
    tp_sbe_header_t h;

    /* The control stream also carries ConsumerHello/ConsumerConfig (schema 900) and every
     * client's requests: only schema 901 concerns the driver clients (D-35, WIRE W-4). */
    if (tp_sbe_header_read(msg, len, &h) != 0) {
        tp_err_clear();
        return;
    }
    if (h.schema_id != TP_SBE_DRIVER_SCHEMA_ID)
        return;
    for (uint32_t i = 0; i < d->client->dc_count; i++) {
        tp_driver_client_t *dc = d->client->dcs[i];
        if (tp_dc_endpoint(dc) == d->ep)
            tp_dc_on_message(dc, msg, len, d->now_ns);
    }
}

int tp_client_do_work(tp_client_t *client, uint64_t now_ns)
{
    int work;
    if (client == NULL)
        return tp_err_set(TP_EINVAL, "tp_client_do_work: NULL client");
    /* Transport heartbeats are compared across processes: always the real monotonic clock,
     * whatever clock the context injects for lease logic. */
    work = tp_transport_do_work(client->transport, tp_clock_monotonic_ns());
    if (work < 0) {
        tp_err_clear();
        work = 0;
    }
    for (uint32_t i = 0; i < client->ep_count; i++) {
        dispatch_t d = {client, client->eps[i], now_ns};
        int n = tp_subscription_poll(client->eps[i]->sub, on_control, &d, POLL_LIMIT);
        if (n > 0)
            work += n;
        else if (n < 0)
            tp_err_clear(); /* a lapped subscription rejoined (TP_ELAPPED): keep going */
    }
    for (uint32_t i = 0; i < client->dc_count; i++)
        work += tp_dc_do_work(client->dcs[i], now_ns);
    return work;
}

uint64_t tp_client_now_ns(const tp_client_t *client) { return tp_context_now_ns(client->ctx); }

tp_context_t *tp_client_context(const tp_client_t *client) { return client->ctx; }

tp_transport_t *tp_client_transport(tp_client_t *client) { return client->transport; }

/* ---- handles -------------------------------------------------------------------------------- */

int tp_client_add_handle(tp_client_t *client, void *handle, tp_client_handle_close_fn close_fn)
{
    if (client == NULL || handle == NULL || close_fn == NULL)
        return tp_err_set(TP_EINVAL, "tp_client_add_handle: NULL argument");
    if (grow((void **)&client->handles, &client->handle_cap, client->handle_count,
             sizeof *client->handles) != 0)
        return -1;
    client->handles[client->handle_count].handle = handle;
    client->handles[client->handle_count].close_fn = close_fn;
    client->handle_count++;
    return 0;
}

void tp_client_remove_handle(tp_client_t *client, void *handle)
{
    if (client == NULL)
        return;
    for (uint32_t i = 0; i < client->handle_count; i++) {
        if (client->handles[i].handle == handle) {
            memmove(&client->handles[i], &client->handles[i + 1],
                    (client->handle_count - i - 1) * sizeof *client->handles);
            client->handle_count--;
            return;
        }
    }
}

/* ---- driver clients and endpoints (client_private.h) ---------------------------------------- */

int tp_client_register_dc(tp_client_t *client, tp_driver_client_t *dc)
{
    if (grow((void **)&client->dcs, &client->dc_cap, client->dc_count, sizeof *client->dcs) != 0)
        return -1;
    client->dcs[client->dc_count++] = dc;
    return 0;
}

void tp_client_unregister_dc(tp_client_t *client, tp_driver_client_t *dc)
{
    for (uint32_t i = 0; i < client->dc_count; i++) {
        if (client->dcs[i] == dc) {
            memmove(&client->dcs[i], &client->dcs[i + 1],
                    (client->dc_count - i - 1) * sizeof *client->dcs);
            client->dc_count--;
            return;
        }
    }
}

tp_ctl_endpoint_t *tp_client_ctl_acquire(tp_client_t *client, const char *channel,
                                         uint32_t stream_id)
{
    tp_channel_t ch;
    tp_ctl_endpoint_t *ep;

    if (tp_transport_channel_parse(client->transport, channel, &ch) != 0) {
        tp_err_push("control channel");
        return NULL;
    }
    for (uint32_t i = 0; i < client->ep_count; i++) {
        ep = client->eps[i];
        if (ep->stream_id == stream_id && strcmp(ep->channel, ch.canonical) == 0) {
            ep->refs++;
            return ep;
        }
    }
    if (grow((void **)&client->eps, &client->ep_cap, client->ep_count, sizeof *client->eps) != 0)
        return NULL;
    ep = calloc(1, sizeof *ep);
    if (ep == NULL) {
        tp_err_set(TP_ENOMEM, "control endpoint");
        return NULL;
    }
    memcpy(ep->channel, ch.canonical, sizeof ep->channel);
    ep->stream_id = stream_id;
    ep->refs = 1;
    /* Subscribe before anything is sent, so no response can arrive unseen. */
    if (tp_transport_add_subscription(client->transport, channel, stream_id, &ep->sub) != 0 ||
        tp_transport_add_publication(client->transport, channel, stream_id, &ep->pub) != 0) {
        tp_subscription_close(ep->sub);
        free(ep);
        tp_err_push("control endpoint %s stream %u", channel, stream_id);
        return NULL;
    }
    client->eps[client->ep_count++] = ep;
    return ep;
}

void tp_client_ctl_release(tp_client_t *client, tp_ctl_endpoint_t *ep)
{
    if (ep == NULL || --ep->refs > 0)
        return;
    for (uint32_t i = 0; i < client->ep_count; i++) {
        if (client->eps[i] == ep) {
            client->eps[i] = client->eps[--client->ep_count];
            break;
        }
    }
    tp_subscription_close(ep->sub);
    tp_publication_close(ep->pub);
    free(ep);
}

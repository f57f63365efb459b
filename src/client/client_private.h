/*
 * Private glue between context.c, client.c and driver_client*.c (not for producer/consumer:
 * they use client_internal.h). Tests may include it for the few inspection hooks at the end.
 */
#ifndef TP_CLIENT_PRIVATE_H
#define TP_CLIENT_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "client/client_internal.h"
#include "codec/gen/tp_sbe_driver.h"

/* tp_client_init freezes the context (setters then fail with TP_ESTATE). */
void tp_context_freeze(tp_context_t *ctx);

/* One driver control endpoint (channel, stream) of a client: a subscription shared by every
 * driver client of the client on that endpoint (responses and notices arrive there, D-36) and
 * the publication their requests go out on. Reference-counted by the driver clients. */
typedef struct tp_ctl_endpoint {
    char channel[TP_CHANNEL_MAX]; /* canonical (tp_channel_parse) */
    uint32_t stream_id;
    uint32_t refs;
    tp_subscription_t *sub;
    tp_publication_t *pub;
} tp_ctl_endpoint_t;

/* Find or open the endpoint for (channel, stream). NULL on error (TP_ECHANNEL, TP_EIO,
 * TP_ENOMEM). Every acquire is paired with one release. */
tp_ctl_endpoint_t *tp_client_ctl_acquire(tp_client_t *client, const char *channel,
                                         uint32_t stream_id);
void tp_client_ctl_release(tp_client_t *client, tp_ctl_endpoint_t *ep);

/* Driver clients of a client: dispatched to from tp_client_do_work, closed by
 * tp_client_close. */
int tp_client_register_dc(tp_client_t *client, tp_driver_client_t *dc);
void tp_client_unregister_dc(tp_client_t *client, tp_driver_client_t *dc);

/* A message from the driver control stream of dc's endpoint (schema 901 already checked by the
 * caller; everything else is length-checked by the decoders). now_ns: context clock. */
void tp_dc_on_message(tp_driver_client_t *dc, const uint8_t *msg, size_t len, uint64_t now_ns);
const tp_ctl_endpoint_t *tp_dc_endpoint(const tp_driver_client_t *dc);

/* Fill att from a decoded response (attach.c). Strings that cannot be held (URI >= TP_URI_MAX,
 * NUL inside a URI, more than TP_POOLS_PER_STREAM_MAX pools) are a protocol error: -1
 * (TP_EMALFORMED). Messages are truncated to TP_MESSAGE_MAX - 1 bytes (D-21). Not validated
 * beyond that: tp_attach_validate does D-14/D-18/D-20. */
int tp_dc_attach_from_response(tp_attach_t *att, const tp_sbe_driver_shm_attach_response_t *m,
                               tp_role_t role, uint32_t client_id);

/* ---- inspection (tests) --------------------------------------------------------------------- */

typedef struct tp_dc_counters {
    uint64_t attach_attempts;      /* ShmAttachRequest messages offered */
    uint64_t responses_ignored;    /* attach/detach responses that matched nothing (stale, other) */
    uint64_t duplicates_ignored;   /* D-81: responses for an attach already answered */
    uint64_t protocol_errors;      /* D-18/D-41: OK responses that failed validation */
    uint64_t client_id_changes;    /* D-82 */
    uint64_t d95_retries;          /* "client_id already attached" retries inside the D-95 window */
    uint64_t keepalives_sent;
    uint64_t notices_ignored;      /* revocations / shutdowns that did not concern us */
    uint64_t notices_rejected;     /* D-62: unknown reason or role; D-34: version > 1 */
    uint64_t orphan_detaches;      /* best-effort detaches of leases we gave up (D-95) */
    int32_t last_detach_code;      /* code of the last ShmDetachResponse, -1 = none */
    uint32_t recent_ids;           /* size of the bounded recent-id cache in use */
} tp_dc_counters_t;

void tp_dc_get_counters(const tp_driver_client_t *dc, tp_dc_counters_t *out);

#endif

/*
 * Internals shared by the client library's files (context.c, client.c, driver_client.c,
 * frame.c, producer*.c, consumer*.c). Not installed; tests may include it.
 *
 * Ownership model: a producer or consumer initialised from a driver client becomes that
 * driver client's *owner* (one owner per driver client). The owner takes the lease events
 * (revoked, shutdown, lost) through tp_dc_take_event instead of the application, and drives
 * re-attachment itself with the request the application first sent (tp_dc_request).
 * Threading: all of it runs on the thread that owns the tp_client_t.
 */
#ifndef TP_CLIENT_INTERNAL_H
#define TP_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "tensorpool/client.h"
#include "tensorpool/context.h"
#include "tensorpool/driver_client.h"
#include "transport/transport.h"

/* ---- context / client ------------------------------------------------------------------ */

/* The transport settings the context describes (dir, timeouts). */
void tp_context_transport_config(const tp_context_t *ctx, tp_transport_config_t *out);

/* Allowed SHM base dirs, canonicalised (W-178 step 3) when added. */
const char *tp_context_allowed_dir(const tp_context_t *ctx, uint32_t i);
uint32_t tp_context_allowed_dir_count(const tp_context_t *ctx);

/* The client's transport: producers and consumers add their own publications and
 * subscriptions on it (several subscriptions to one stream are fine: each sees every
 * message). Valid until tp_client_close. */
tp_transport_t *tp_client_transport(tp_client_t *client);

/* Handles created on the client (producers, consumers) register their close function at init
 * and unregister at the start of their own close. tp_client_close calls the close function of
 * every handle still registered (newest first) before closing the driver clients, so a handle
 * never outlives its client. add: 0 or -1 (TP_ENOMEM, TP_EINVAL). remove: unknown handle is a
 * no-op. */
typedef void (*tp_client_handle_close_fn)(void *handle);
int tp_client_add_handle(tp_client_t *client, void *handle, tp_client_handle_close_fn close_fn);
void tp_client_remove_handle(tp_client_t *client, void *handle);

/* ---- driver client ----------------------------------------------------------------------- */

/* The client the driver client was created on. */
tp_client_t *tp_dc_client(tp_driver_client_t *dc);

/* Driver control endpoint and identity (client id is the auto-assigned one once chosen). */
const char *tp_dc_control_channel(const tp_driver_client_t *dc);
uint32_t tp_dc_control_stream_id(const tp_driver_client_t *dc);
uint32_t tp_dc_client_id(const tp_driver_client_t *dc);
tp_role_t tp_dc_role(const tp_driver_client_t *dc);

/* Become the owner (producer/consumer init). -1 with TP_ESTATE if another owner exists.
 * Releasing (owner NULL) happens at the owner's close. */
int tp_dc_set_owner(tp_driver_client_t *dc, void *owner);

/* The owner takes the next lease event (1), or there is none (0). Taking REVOKED, SHUTDOWN
 * or LOST clears it, so the driver client can become ACTIVE again after a new attach. */
int tp_dc_take_event(tp_driver_client_t *dc, void *owner, tp_lease_event_t *ev);

/* The last accepted OK attach (NULL before the first). Valid until the next accepted attach
 * or tp_driver_client_close. */
const tp_attach_t *tp_dc_attach(const tp_driver_client_t *dc);

/* The last request sent with tp_driver_client_send_attach (the owner re-sends it to
 * reattach; the stream id of a dynamic stream is replaced by the allocated one). */
const tp_attach_request_t *tp_dc_request(const tp_driver_client_t *dc);

/* Keepalives, response/notice dispatch, attach retries (what tp_client_do_work does for
 * every driver client of the client). Returns work done. */
int tp_dc_do_work(tp_driver_client_t *dc, uint64_t now_ns);

/* ---- validation shared by driver client and consumer ---------------------------------- */

/* D-14/D-18/D-20: the OK response is complete and consistent (required fields non-null,
 * non-empty parseable URIs, header slot bytes 256, pools non-empty, every pool nslots =
 * header nslots, nslots a power of two, strides W-53). 0 or -1 (TP_EMALFORMED, reason). */
int tp_attach_validate(const tp_attach_t *att);

#endif

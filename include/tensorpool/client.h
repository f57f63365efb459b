/*
 * tp_client_t: one transport plus the agents that run on it (DESIGN §2, §4).
 *
 * A client owns one tp_transport_t (src/transport/transport.h) opened with the context's
 * settings, and the control-stream subscriptions its driver clients share. It is an agent:
 * one thread at a time calls it and every handle created from it (driver clients, producers,
 * consumers). Use one client per thread/agent; different clients may run on different
 * threads of one process.
 *
 * Duty cycle: call tp_client_do_work(), or the do_work of a producer or consumer created on
 * this client (each of those includes a tp_client_do_work of its client), at least every
 * min(keepalive interval, transport liveness timeout / 4). Calling it more often is cheap.
 */
#ifndef TENSORPOOL_CLIENT_H
#define TENSORPOOL_CLIENT_H

#include <stdint.h>

#include "tensorpool/export.h"
#include "tensorpool/context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_client tp_client_t;

/* Open a client: freezes ctx, opens the transport in the context's directory (creating it if
 * needed), canonicalises the allowed SHM directories. ctx must outlive the client.
 * *out is owned by the caller until tp_client_close(). Returns 0, or -1 (TP_EIO, TP_EPATH,
 * TP_ENOMEM, TP_ECONFIG). */
TP_API int tp_client_init(tp_client_t **out, tp_context_t *ctx);

/* Close the client: closes every driver client, producer and consumer still open on it (as
 * their own *_close would, detaching leases best effort), then the transport. Handles created
 * from it are invalid afterwards. NULL is a no-op. Same thread as the duty cycle. */
TP_API void tp_client_close(tp_client_t *client);

/* One bounded, non-blocking duty cycle: transport heartbeats; poll the driver control
 * stream(s) once (at most 64 messages each) and dispatch attach/detach responses,
 * ShmLeaseRevoked and ShmDriverShutdown to the driver clients (the driver's ConsumerConfig is
 * read by the producer/consumer's own subscriptions); send due keepalives (D-29, D-31); run attach
 * retries/backoff. now_ns comes from the context clock. Returns the amount of work done
 * (0 = idle), or -1 only for an error that makes the client unusable (transport closed:
 * TP_ECLOSED). Per-lease trouble never returns -1 here; it shows in the lease state. */
TP_API int tp_client_do_work(tp_client_t *client, uint64_t now_ns);

/* The context clock (tp_context_now_ns of the client's context). */
TP_API uint64_t tp_client_now_ns(const tp_client_t *client);

/* The context the client was opened with (borrowed). */
TP_API tp_context_t *tp_client_context(const tp_client_t *client);

#ifdef __cplusplus
}
#endif
#endif

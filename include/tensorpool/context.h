/*
 * tp_context_t: process-level settings every client shares (DESIGN §4, STYLE rule 2).
 *
 * A context is configuration only: it owns no transport, no mapping and no thread. Create it,
 * adjust it with the setters, then hand it to tp_client_init(). After the first
 * tp_client_init() it is frozen: setters then fail with TP_ESTATE, and any number of clients
 * on any threads may share it read-only. It must outlive every client created from it.
 *
 * Defaults are filled by tp_context_init() from the environment (read once, there):
 *   TENSORPOOL_DIR   transport directory (default /dev/shm/tensorpool-${USER}/transport;
 *                    the same rule as the driver and src/transport, so they meet)
 *   TP_LOG_LEVEL     error | warn | info | debug (default info)
 *   TP_TRANSPORT     embedded | aeron (default embedded; docs/aeron.md)
 *   AERON_DIR        the Aeron media driver's directory (transport aeron; default Aeron's)
 */
#ifndef TENSORPOOL_CONTEXT_H
#define TENSORPOOL_CONTEXT_H

#include <stdint.h>

#include "tensorpool/export.h"
#include "tensorpool/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_context tp_context_t;

#define TP_CONTEXT_ALLOWED_DIRS_MAX 8u /* = src/shm/region.h TP_ALLOWED_DIRS_MAX */

/* Monotonic clock in nanoseconds. clientd is the pointer given to tp_context_set_clock.
 * Must be callable from every thread that runs a client of the context. */
typedef uint64_t (*tp_clock_fn_t)(void *clientd);

/* Allocate a context with every default (environment read here). *out is owned by the
 * caller until tp_context_close(). Returns 0, or -1 (TP_ENOMEM, TP_ECONFIG for a malformed
 * environment value, whose name the message carries). */
TP_API int tp_context_init(tp_context_t **out);

/* Free the context. The caller must have closed every client that uses it. NULL is a no-op;
 * idempotent only in the sense that NULL may be passed (the pointer is invalid afterwards). */
TP_API void tp_context_close(tp_context_t *ctx);

/* Transport directory (stream logs of the embedded transport). The string is copied (at most
 * 1023 bytes). Overrides TENSORPOOL_DIR. Returns 0 or -1 (TP_EINVAL, TP_ETOOBIG, TP_ESTATE). */
TP_API int tp_context_set_dir(tp_context_t *ctx, const char *dir);

/* Current transport directory. Owned by ctx, valid until tp_context_close. */
TP_API const char *tp_context_dir(const tp_context_t *ctx);

/* Transport timeouts (src/transport/transport.h): liveness of a peer's heartbeat (default 5 s),
 * claim unblock (default 5 s), wait for another process to finish creating a log (default
 * 2 s). 0 keeps the current value. Returns 0 or -1 (TP_EINVAL, TP_ESTATE). */
TP_API int tp_context_set_transport_timeouts(tp_context_t *ctx, uint64_t liveness_timeout_ns,
                                             uint64_t unblock_timeout_ns, uint64_t open_timeout_ns);

/* Transport by name: "embedded" (the default: stream logs in the transport directory, no
 * other process) or "aeron" (the Aeron C client and a media driver; needs a tensorpool built
 * with Aeron, docs/aeron.md). Overrides TP_TRANSPORT. Returns 0 or -1 (TP_ECONFIG for another
 * name, or "aeron" in a build without Aeron; TP_ESTATE). */
TP_API int tp_context_set_transport(tp_context_t *ctx, const char *name);

/* "embedded" or "aeron". Static storage. */
TP_API const char *tp_context_transport(const tp_context_t *ctx);

/* Directory of the Aeron media driver the "aeron" transport connects to ("" = Aeron's default,
 * /dev/shm/aeron-${USER}). The string is copied (at most 1023 bytes). Overrides AERON_DIR.
 * Returns 0 or -1 (TP_ETOOBIG, TP_ESTATE). */
TP_API int tp_context_set_aeron_dir(tp_context_t *ctx, const char *dir);

/* SHM containment (WIRE W-178, W-179): region URIs from attach responses and announces are
 * mapped only if their canonical path lies inside one of these directories. Default: one
 * entry, /dev/shm. The first call to tp_context_add_allowed_dir() replaces the default;
 * later calls append. The directory must exist (it is realpath()ed at tp_client_init).
 * Returns 0 or -1 (TP_EINVAL, TP_ETOOBIG beyond TP_CONTEXT_ALLOWED_DIRS_MAX, TP_ESTATE). */
TP_API int tp_context_add_allowed_dir(tp_context_t *ctx, const char *dir);

/* Forget every allowed directory (then nothing maps until one is added). 0 or -1 (TP_ESTATE). */
TP_API int tp_context_clear_allowed_dirs(tp_context_t *ctx);

/* Clock injection for tests (lease expiry in microseconds, DESIGN §2). fn NULL restores the
 * default CLOCK_MONOTONIC. The same clock must be used for the now_ns arguments of every
 * *_do_work call of this context's clients. Returns 0 or -1 (TP_ESTATE). */
TP_API int tp_context_set_clock(tp_context_t *ctx, tp_clock_fn_t fn, void *clientd);

/* Read the context's clock. Thread-safe if the injected clock is. */
TP_API uint64_t tp_context_now_ns(const tp_context_t *ctx);

/* Log level by name ("error", "warn", "info", "debug"; overrides TP_LOG_LEVEL). The level is
 * process-wide (src/util/log.h), so this is allowed after the context is frozen and affects
 * every context. Returns 0 or -1 (TP_EINVAL for an unknown name). */
TP_API int tp_context_set_log_level(tp_context_t *ctx, const char *level);

#ifdef __cplusplus
}
#endif
#endif

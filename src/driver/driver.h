/*
 * The driver (DRIVER.md): the authority of the system. It owns every SHM file, hands out
 * leases, enforces one producer per stream, bumps epochs, announces pools and cleans up
 * after the dead. An embeddable library object (STYLE.md rule 1):
 *
 *     tp_driver_init(&d, &cfg, &tcfg, now)  ->  while (!tp_driver_done(d)) tp_driver_do_work(d, now)
 *                                            ->  tp_driver_close(d)
 *
 * `tensorpool driver CONFIG.toml` is a thin main around exactly that loop.
 *
 * Streams (DRIVER D-36, D-47): requests, responses, revocations, shutdown notices and the
 * driver's ConsumerConfig share cfg.control_channel/control_stream_id; ShmPoolAnnounce goes
 * to cfg.announce_channel/announce_stream_id.
 *
 * Time: every decision (lease expiry, announce cadence, epochs, shutdown timeout) uses the
 * now_ns passed in (CLOCK_MONOTONIC ns in production), so tests run lease expiry in
 * microseconds by passing their own clock. Epoch values are max(previous + 1, now_ns)
 * (D-45), so a restarted driver always moves forward.
 *
 * Threading: one thread drives a tp_driver_t; nothing is shared with other threads.
 * tp_driver_do_work never blocks; it allocates and makes system calls only when it
 * provisions or removes SHM (attach, epoch bump, GC), never per keepalive or announce.
 */
#ifndef TP_DRIVER_DRIVER_H
#define TP_DRIVER_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "driver/config.h"
#include "transport/transport.h"

typedef struct tp_driver tp_driver_t;

/* What the driver did, for `tensorpool stat`, tests and logs (monotonic counts). */
typedef struct tp_driver_counters {
    uint64_t attach_responses[5];   /* by ResponseCode: OK, UNSUPPORTED, INVALID_PARAMS,
                                       REJECTED, INTERNAL_ERROR */
    uint64_t keepalives;            /* accepted */
    uint64_t keepalives_unknown;    /* for no live lease (ignored, D-30) */
    uint64_t detaches_ok;
    uint64_t detaches_rejected;
    uint64_t leases_expired;
    uint64_t revocations_sent;      /* ShmLeaseRevoked */
    uint64_t announces_sent;
    uint64_t epochs_bumped;
    uint64_t consumer_configs_sent;
    uint64_t gc_runs;
    uint64_t gc_epochs_removed;
    uint64_t shutdown_requests_ignored; /* wrong or missing token (D-66) */
    uint64_t malformed;             /* failed length/schema checks (W-81): ignored */
    uint64_t publish_failures;      /* a response/notice could not be offered */
} tp_driver_counters_t;

/* Create the driver: validate cfg (tp_driver_config_validate), take the exclusive lock
 * (a second driver on the same control stream and transport directory, or the same SHM
 * namespace directory, fails here with a clear error naming the holder's pid), open the
 * transport tcfg describes and the control/announce streams, canonicalise the allowed base
 * directories, and run epoch GC when policies.epoch_gc_on_startup is set.
 * *out is owned by the caller until tp_driver_close. */
int tp_driver_init(tp_driver_t **out, const tp_driver_config_t *cfg,
                   const tp_transport_config_t *tcfg, uint64_t now_ns);

/* One duty cycle: poll the control stream (attach, keepalive, detach, shutdown request,
 * ConsumerHello), expire leases, announce at the configured period, advance draining.
 * Returns the amount of work done (0 = idle), or -1 on a fatal error. */
int tp_driver_do_work(tp_driver_t *d, uint64_t now_ns);

/* Begin an orderly shutdown (SIGINT/SIGTERM, or an authorised ShmDriverShutdownRequest):
 * draining — announce, reject attaches with "driver draining" — then, after
 * policies.shutdown_timeout_ms, publish ShmDriverShutdown(reason, message) and report done.
 * reason: 0 NORMAL, 1 ADMIN, 2 ERROR. message may be NULL; it is truncated to 1024 bytes. */
void tp_driver_shutdown(tp_driver_t *d, uint8_t reason, const char *message, uint64_t now_ns);

/* true once ShmDriverShutdown has been published: the owner may close the driver. */
bool tp_driver_done(const tp_driver_t *d);

/* Release everything (removes the SHM files when policies.cleanup_shm_on_exit). NULL is a
 * no-op. */
void tp_driver_close(tp_driver_t *d);

/* Counters; valid until tp_driver_close. */
const tp_driver_counters_t *tp_driver_counters(const tp_driver_t *d);

/* The stream's current epoch (0 = no state yet) and attached producer's clientId (0 = none):
 * for tests and `tensorpool stat`. */
uint64_t tp_driver_stream_epoch(const tp_driver_t *d, uint32_t stream_id);
uint32_t tp_driver_stream_producer(const tp_driver_t *d, uint32_t stream_id);

/* Number of live leases. */
uint32_t tp_driver_lease_count(const tp_driver_t *d);

#endif

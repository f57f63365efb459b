/*
 * The Aeron transport (DESIGN.md §3 "aeron (optional)"): the interface of transport/transport.h
 * over the Aeron C client (aeronc.h), optionally with an embedded media driver (aeronmd.h).
 * Only transport.c calls this header; the tp_publication_t / tp_subscription_t handles stay
 * transport.c's and point at the objects below (NULL for the embedded transport).
 *
 * Built when CMake finds Aeron (TP_WITH_AERON; TP_HAVE_AERON defined for the transport layer):
 * aeron.c (client, streams, offer/poll) and media_driver.c (liveness, embedded media driver);
 * without it aeron_stubs.c, whose open fails with TP_ECONFIG "built without Aeron".
 *
 * Mapping onto Aeron
 *
 *   client       one aeron_t per transport, in conductor-invoker mode: tp_aeron_do_work runs
 *                the client conductor (aeron_main_do_work), so no thread is started and every
 *                Aeron callback (image available/unavailable, errors) runs on the transport's
 *                thread, inside do_work.
 *   streams      aeron_async_add_[exclusive_]publication / _subscription, polled from
 *                do_work: adding never blocks. A publication offers NOT_CONNECTED and a
 *                subscription polls 0 until the media driver has answered (and after it
 *                refused: the error is reported once, the add retried with a doubling
 *                backoff, 250 ms .. 5 s).
 *   exclusive    tp_transport_add_exclusive_publication: an exclusive publication (its own
 *                session; the claim advances the tail with plain stores, no atomic add) for
 *                streams one thread alone writes: the producer's descriptor streams.
 *   offer        length <= max payload (MTU - 32 bytes): try_claim + memcpy + commit, one
 *                fragment; up to the max message length (term length / 8): aeron offer, which
 *                fragments; above: TP_PUB_MAX_SIZE_EXCEEDED. try_claim through the interface:
 *                up to the max payload only.
 *   results      NOT_CONNECTED, BACK_PRESSURED, ADMIN_ACTION map to the same TP_PUB_*; CLOSED
 *                (the client was closed under us: driver timeout) reads NOT_CONNECTED until the
 *                reconnect; MAX_POSITION_EXCEEDED reads ADMIN_ACTION and the publication is
 *                closed and added again by the next do_work; ERROR reads ADMIN_ACTION.
 *   poll         aeron_subscription_poll through an aeron_fragment_assembler on every
 *                subscription: the handler sees whole messages only; `limit` counts fragments.
 *   join time    on_available_image stamps CLOCK_MONOTONIC (tp_subscription_join_time_ns) and
 *                counts images; on_unavailable_image uncounts (WIRE W-91).
 *
 * Media driver lost and found again
 *
 *   The client is lost when Aeron closes it (driver keepalive timeout, "MediaDriver has been
 *   shutdown", conductor service interval exceeded) or, sooner, when the media driver's
 *   heartbeat in its CnC file is more than 1 s old and its pid is gone (kill -9 of a process
 *   with an embedded media driver). Then the client is closed, every handle goes back to
 *   "not connected", the error is reported by do_work (TP_EAERON, Aeron's message), and every
 *   100 ms do_work looks for a live media driver in the directory (a CnC whose heartbeat is
 *   younger than the client's driver timeout and whose pid lives): when one is there, a new
 *   client adds every open stream again. The layers above see NOT_CONNECTED for a while, as
 *   they would for a restarted tensorpool driver, and their lease/reattach logic does the rest.
 *   A client that was closed while adds were pending leaks those few hundred bytes (Aeron's C
 *   API has no way to cancel an add); tp_aeron_close therefore waits for adds still in flight
 *   (milliseconds; the client's driver timeout at worst, when the media driver stalls).
 *
 * Embedded media driver (launch_media_driver): started at open in this process with Aeron's
 * defaults and environment (AERON_*), except: threading mode SHARED (one thread) unless
 * AERON_THREADING_MODE is set, IPC term length 4 MiB unless AERON_IPC_TERM_BUFFER_LENGTH is set
 * (Aeron's 64 MiB default makes every IPC stream a 192 MiB file; 4 MiB keeps a 2 MiB window,
 * which a subscriber of a kill -9'd client holds publishers to until its client liveness
 * expires), and client liveness = the transport's liveness timeout unless
 * AERON_CLIENT_LIVENESS_TIMEOUT is set (and only below Aeron's publication unblock timeout,
 * 15 s by default, which Aeron requires to be longer). Refused when a live
 * media driver already serves the directory; a stale directory (dead pid) is replaced.
 * Closed (threads joined) by tp_aeron_close, after the client.
 *
 * Threading: as transport.h — one thread at a time per transport.
 */
#ifndef TP_TRANSPORT_AERON_AERON_H
#define TP_TRANSPORT_AERON_AERON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/transport.h"

typedef struct tp_aeron tp_aeron_t;
typedef struct tp_aeron_pub tp_aeron_pub_t;
typedef struct tp_aeron_sub tp_aeron_sub_t;

bool tp_aeron_available(void);

/* tp_transport_channel_parse for the Aeron transport. */
int tp_aeron_channel_parse(const char *uri, tp_channel_t *out);

/* Resolve the directory, start the media driver when asked, look for one (never waits).
 * 0, or -1 (TP_ECONFIG without Aeron, TP_EAERON with Aeron's message, TP_ENOMEM). */
int tp_aeron_open(tp_aeron_t **out, const tp_transport_config_t *cfg);

/* Close every stream, the client, then the embedded media driver. NULL: no-op. */
void tp_aeron_close(tp_aeron_t *a);

int tp_aeron_do_work(tp_aeron_t *a, uint64_t now_ns);

/* The media driver directory in use (Aeron's default resolved). */
const char *tp_aeron_dir(const tp_aeron_t *a);

/* ---- publications: handles live until tp_aeron_close; close gives the stream up ---------- */

/* exclusive: an Aeron exclusive publication (one writer thread, its own session), else a
 * concurrent one (tp_transport_add_exclusive_publication). */
int tp_aeron_add_publication(tp_aeron_t *a, const char *channel, uint32_t stream_id,
                             bool exclusive, tp_aeron_pub_t **out);
void tp_aeron_pub_close(tp_aeron_pub_t *p);
size_t tp_aeron_pub_max_message_length(const tp_aeron_pub_t *p);
int64_t tp_aeron_offer(tp_aeron_pub_t *p, const void *buf, size_t len);
int64_t tp_aeron_try_claim(tp_aeron_pub_t *p, size_t len, tp_claim_t *claim);
int tp_aeron_commit(tp_claim_t *claim);
void tp_aeron_abort(tp_claim_t *claim);
bool tp_aeron_pub_is_connected(tp_aeron_pub_t *p);

/* ---- subscriptions ----------------------------------------------------------------------- */

int tp_aeron_add_subscription(tp_aeron_t *a, const char *channel, uint32_t stream_id,
                              tp_aeron_sub_t **out);
void tp_aeron_sub_close(tp_aeron_sub_t *s);
int tp_aeron_poll(tp_aeron_sub_t *s, tp_message_handler_t handler, void *clientd, int limit);
bool tp_aeron_sub_is_connected(tp_aeron_sub_t *s);
uint64_t tp_aeron_sub_position(const tp_aeron_sub_t *s);
uint64_t tp_aeron_sub_join_time_ns(const tp_aeron_sub_t *s);
uint32_t tp_aeron_sub_image_count(const tp_aeron_sub_t *s);

#endif

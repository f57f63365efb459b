/*
 * The message transport (DESIGN.md §3): every control message of tensorpool travels over a
 * (channel, stream_id) stream with aeron:ipc semantics. Everything above this layer uses only
 * this header and never learns which implementation runs (shmlog, the embedded default, or
 * Aeron later).
 *
 *   tp_transport_t      one per process (or per agent): settings + the streams it opened
 *   tp_publication_t    offer / try_claim+commit into one stream
 *   tp_subscription_t   poll whole messages out of one stream
 *
 * Results of offer / try_claim (never blocking, never setting the thread-local error):
 *   >= 0                         the stream position after the message
 *   TP_PUB_NOT_CONNECTED    (-1) no live subscriber: nothing was written (the reference's
 *                                producer skips descriptors when nobody listens)
 *   TP_PUB_BACK_PRESSURED   (-2) the slowest live subscriber has not consumed enough; retry
 *   TP_PUB_ADMIN_ACTION     (-3) the claim was lost before it could be used: this thread
 *                                stalled past the unblock timeout between claim and commit
 *                                (offer), or a subscriber recovering a dead publisher's
 *                                headerless claim padded over ours before we wrote our header
 *                                (offer, try_claim); nothing was delivered; retry
 *   TP_PUB_CLOSED           (-4) the publication was closed (tp_publication_close); the
 *                                handle stays safe to call until its transport closes
 *   TP_PUB_MAX_SIZE_EXCEEDED(-5) length > tp_publication_max_message_length()
 *
 * Threading: a transport and the publications/subscriptions it created belong to one thread
 * at a time (the agent's duty-cycle thread); different transports may run on different
 * threads and in different processes over the same streams. Hot paths (offer, try_claim,
 * commit, abort, poll) make no system call, take no lock and allocate nothing.
 *
 * Liveness: tp_transport_do_work() writes the heartbeats of every publication and
 * subscription of the transport. Call it at least every liveness_timeout/4 (the agents'
 * duty cycle does); a subscription whose heartbeat is older than the timeout stops holding
 * publishers back and, when it polls again, learns that it lost data (TP_ELAPPED).
 *
 * Two kinds (tp_transport_config_t.kind, chosen at open; handles dispatch on a pointer that
 * is NULL for shmlog, so the embedded hot path pays one predictable branch):
 *   TP_TRANSPORT_EMBEDDED  shmlog (transport/shmlog/), aeron:ipc only, no external process.
 *   TP_TRANSPORT_AERON     the Aeron C client (transport/aeron/aeron.h: how the calls below map
 *                          onto it), aeron:ipc and aeron:udp, through a media driver — external
 *                          or started in this process (launch_media_driver). Adding a stream
 *                          is asynchronous: until the media driver has answered, offer returns
 *                          NOT_CONNECTED and poll 0; do_work runs Aeron's client conductor (no
 *                          thread is started) and must run at least every 100 ms or so.
 *                          Lossless for connected subscribers as Aeron IPC is; TP_ELAPPED never
 *                          happens (Aeron's media driver drops a dead client's streams itself).
 */
#ifndef TP_TRANSPORT_TRANSPORT_H
#define TP_TRANSPORT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TP_PUB_NOT_CONNECTED (-1)
#define TP_PUB_BACK_PRESSURED (-2)
#define TP_PUB_ADMIN_ACTION (-3)
#define TP_PUB_CLOSED (-4)
#define TP_PUB_MAX_SIZE_EXCEEDED (-5)

#define TP_TRANSPORT_DIR_MAX 1024u
#define TP_CHANNEL_MAX 1024u

typedef enum tp_transport_kind {
    TP_TRANSPORT_EMBEDDED = 0, /* "embedded": shmlog */
    TP_TRANSPORT_AERON = 1     /* "aeron": the Aeron C client (built with TP_WITH_AERON) */
} tp_transport_kind_t;

typedef struct tp_transport tp_transport_t;
typedef struct tp_publication tp_publication_t;
typedef struct tp_subscription tp_subscription_t;

typedef struct tp_transport_config {
    /* Directory of the stream logs. Default: $TENSORPOOL_DIR, else
     * /dev/shm/tensorpool-${USER}/transport (user sanitised as for regions, WIRE W-174). */
    char dir[TP_TRANSPORT_DIR_MAX];
    mode_t file_mode;             /* default 0660 (driver shm.permissions_mode); private: 0600 */
    mode_t dir_mode;              /* default 0770; private: 0700 */
    uint64_t liveness_timeout_ns; /* heartbeat age after which a peer counts as dead; 5 s */
    uint64_t unblock_timeout_ns;  /* an uncommitted claim older than this becomes padding; 5 s */
    uint64_t open_timeout_ns;     /* wait for another process to finish creating a log; 2 s */
    uint32_t default_capacity;    /* log bytes when the channel has no term-length; 1 MiB */
    /* Which transport: $TP_TRANSPORT ("embedded" | "aeron"), default embedded. The Aeron
     * transport still creates `dir` (the driver keeps its lock file there). */
    tp_transport_kind_t kind;
    /* Aeron: the media driver's directory; "" = Aeron's default ($AERON_DIR, else
     * /dev/shm/aeron-${USER}). Default: $AERON_DIR. */
    char aeron_dir[TP_TRANSPORT_DIR_MAX];
    /* Aeron: start an embedded media driver in this process at open (the tensorpool driver's
     * driver.launch_media_driver, environment LAUNCH_MEDIA_DRIVER); closed with the transport.
     * Refused when a live media driver already serves aeron_dir. Default false. */
    bool launch_media_driver;
} tp_transport_config_t;

/* Fill every default (reads TENSORPOOL_DIR, USER/USERNAME, TP_TRANSPORT and AERON_DIR once;
 * a TP_TRANSPORT that tp_transport_kind_parse refuses leaves the embedded default). */
void tp_transport_config_init(tp_transport_config_t *cfg);

/* "embedded" | "aeron" -> kind. 0, or -1 (TP_ECONFIG, the message names both values). */
int tp_transport_kind_parse(const char *name, tp_transport_kind_t *out);

/* "embedded" | "aeron" (static storage). */
const char *tp_transport_kind_name(tp_transport_kind_t kind);

/* true when this build carries the Aeron transport (CMake found Aeron, TP_WITH_AERON). */
bool tp_transport_aeron_available(void);

/* Open a transport with a copy of *cfg. Creates cfg->dir (dir_mode) if needed.
 * On success *out is owned by the caller until tp_transport_close.
 * Aeron: never waits for a media driver (without one, streams stay unconnected and do_work
 * keeps looking for it); fails with TP_ECONFIG in a build without Aeron, and with TP_EAERON
 * (Aeron's message) when launch_media_driver is set and the media driver cannot start. */
int tp_transport_open(tp_transport_t **out, const tp_transport_config_t *cfg);

/* Close every publication and subscription still open on t, then t. NULL is a no-op. */
void tp_transport_close(tp_transport_t *t);

/* Refresh heartbeats (and other periodic duties). Returns the amount of work done.
 * Aeron: runs the client conductor, completes pending adds, reconnects after the media
 * driver was lost; -1 with TP_EAERON and Aeron's message (driver timeout, client closed, a
 * stream the media driver refused) once per such event, after which it carries on. */
int tp_transport_do_work(tp_transport_t *t, uint64_t now_ns);

/* ---- channels ----------------------------------------------------------------------------- */

typedef struct tp_channel {
    uint32_t term_length; /* 0 = not given */
    char canonical[TP_CHANNEL_MAX];
} tp_channel_t;

/* Parse an Aeron channel URI. Accepted: "aeron:ipc" with optional parameters
 * `term-length` (a power of two from 64k to 256m; suffixes k, m, g) and `alias`.
 * "aeron:udp..." is refused: it needs the Aeron transport. Returns 0 or -1 (TP_ECHANNEL). */
int tp_channel_parse(const char *uri, tp_channel_t *out);

/* The channel as transport t accepts it: the embedded transport as tp_channel_parse; the Aeron
 * transport takes "aeron:ipc" and "aeron:udp" with any parameters (the media driver checks
 * them when the stream is added): canonical "aeron:ipc" for every IPC channel, the URI itself
 * for UDP. t NULL = embedded. Returns 0 or -1 (TP_ECHANNEL). */
int tp_transport_channel_parse(const tp_transport_t *t, const char *uri, tp_channel_t *out);

/* The kind t was opened with. */
tp_transport_kind_t tp_transport_kind(const tp_transport_t *t);

/* ---- publications ------------------------------------------------------------------------- */

/* Add a publication on (channel, stream_id). Opens or creates the stream's log.
 * The publication belongs to t and is closed with it at the latest. */
int tp_transport_add_publication(tp_transport_t *t, const char *channel, uint32_t stream_id,
                                 tp_publication_t **out);

/* As tp_transport_add_publication, for a stream that this handle alone writes from one thread
 * (the producer's descriptor streams: one producer lease per stream, DRIVER.md). Aeron: an
 * exclusive publication, its own session with a claim that takes no atomic add; a second
 * writer of the stream (another exclusive handle, another process) reaches subscribers as a
 * separate image, with no order between the two. Embedded: the same as
 * tp_transport_add_publication (the shmlog log takes any number of publishers in one order). */
int tp_transport_add_exclusive_publication(tp_transport_t *t, const char *channel,
                                           uint32_t stream_id, tp_publication_t **out);

/* Close: gives the stream up. Idempotent; afterwards offer/try_claim return TP_PUB_CLOSED
 * and commit fails with TP_ECLOSED; the memory is reclaimed by tp_transport_close, so the
 * handle must not be used after that. Commit or abort outstanding claims first. NULL is a
 * no-op. */
void tp_publication_close(tp_publication_t *p);

/* Largest message offer/try_claim accept: capacity / 8. Aeron: the publication's max message
 * length (term length / 8, at most 16 MiB) once connected, 0 before; try_claim takes at most
 * the max payload (MTU - 32) there and answers MAX_SIZE_EXCEEDED above it, while offer sends
 * longer messages as fragments that every subscription reassembles. */
size_t tp_publication_max_message_length(const tp_publication_t *p);

/* Copy len bytes into the stream as one message. Returns the new position or a TP_PUB_*
 * sentinel. Never blocks. */
int64_t tp_publication_offer(tp_publication_t *p, const void *buf, size_t len);

/* In-place encoding: claim len bytes, write them at claim->data, then commit or abort.
 * Between try_claim and commit the claim blocks every subscriber of the stream: keep it
 * short (a claim older than unblock_timeout is turned into padding and its commit fails). */
typedef struct tp_claim {
    uint8_t *data;       /* len writable bytes in the log */
    size_t length;
    tp_publication_t *pub_;
    uint64_t position_;  /* private */
    uint64_t word_;      /* private */
    uint8_t *frame_;     /* private (Aeron: the claimed frame's header) */
} tp_claim_t;

int64_t tp_publication_try_claim(tp_publication_t *p, size_t len, tp_claim_t *claim);

/* Publish the claimed message. 0, or -1 with TP_ETIMEOUT when the claim had been turned into
 * padding (the message is lost; nothing else is). */
int tp_claim_commit(tp_claim_t *claim);

/* Give the claim up: it becomes padding that every subscriber skips. */
void tp_claim_abort(tp_claim_t *claim);

/* true when at least one live subscriber is on the stream. Scans the subscriber table:
 * call it at duty-cycle cadence, not per message. */
bool tp_publication_is_connected(tp_publication_t *p);

/* ---- subscriptions ------------------------------------------------------------------------ */

/* A message: `msg` points into the log and is valid only during the call. */
typedef void (*tp_message_handler_t)(void *clientd, const uint8_t *msg, size_t len);

/* Add a subscription on (channel, stream_id); it receives every message offered after it
 * joined (it joins at the tail), whole and in the one order all subscribers see. */
int tp_transport_add_subscription(tp_transport_t *t, const char *channel, uint32_t stream_id,
                                  tp_subscription_t **out);

/* Close: gives the stream up. Idempotent; afterwards poll fails with TP_ECLOSED; memory is
 * reclaimed by tp_transport_close. NULL is a no-op. */
void tp_subscription_close(tp_subscription_t *s);

/* Deliver up to `limit` messages to handler. Returns the number delivered (0 = nothing yet),
 * or -1 with TP_ELAPPED when the subscription had been declared dead and lapped: it has
 * rejoined at the tail and tp_subscription_lost_bytes() says how much it skipped. */
int tp_subscription_poll(tp_subscription_t *s, tp_message_handler_t handler, void *clientd,
                         int limit);

/* true when at least one live publication is on the stream (scans: duty-cycle cadence). */
bool tp_subscription_is_connected(tp_subscription_t *s);

/* Bytes skipped over all rejoins, and how many times it happened. */
uint64_t tp_subscription_lost_bytes(const tp_subscription_t *s);
uint64_t tp_subscription_lapped_count(const tp_subscription_t *s);

/* Current position (bytes consumed since the stream began). Aeron: of the image polled
 * last. */
uint64_t tp_subscription_position(const tp_subscription_t *s);

/* WIRE W-91 "the local monotonic time at which the subscription image became available":
 * CLOCK_MONOTONIC ns of the latest join — shmlog: when the subscription joined the log (it
 * never changes); Aeron: the latest image-available callback (a new publisher, or the same
 * one again after a media driver restart), 0 before the first. A caller that keeps the last
 * value it saw learns of every new image by the value changing. */
uint64_t tp_subscription_join_time_ns(const tp_subscription_t *s);

/* Publishers currently connected: shmlog 1 or 0 (tp_subscription_is_connected); Aeron: the
 * available images (image-unavailable callbacks decrement it). */
uint32_t tp_subscription_image_count(tp_subscription_t *s);

#endif

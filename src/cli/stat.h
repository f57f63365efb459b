/*
 * `tensorpool stat` internals: cmd_stat.c (arguments, transport, the loop, counters files),
 * stat_collect.c (announces, QoS, lease traffic on the control stream, header-ring samples
 * and rates) and cmd_stat_print.c (a table refreshed in place on a terminal, key=value lines,
 * or JSON). Not a library interface.
 */
#ifndef TP_CLI_STAT_H
#define TP_CLI_STAT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "shm/counters.h"
#include "shm/region.h"
#include "transport/transport.h"

#define ST_STREAMS_MAX 64u
#define ST_CONSUMERS_MAX 256u
#define ST_LEASES_MAX 512u
#define ST_DIRS_MAX 8u
#define ST_FILES_MAX 256u
#define ST_POOLS_MAX 16u
#define ST_VALUES_MAX 128u  /* values kept per counters file (ids beyond are not shown) */
#define ST_SUBS_MAX 3u

typedef struct st_pool {
    uint16_t id;
    uint32_t nslots;
    uint32_t stride;
} st_pool_t;

/* One data stream, from the driver's ShmPoolAnnounce (and QosProducer). */
typedef struct st_stream {
    bool used;
    uint32_t stream_id;
    uint32_t producer_id;       /* announce (D-48: 0 = no producer attached) */
    uint64_t epoch;
    uint32_t layout_version;
    uint32_t nslots;
    uint32_t pool_count;
    st_pool_t pools[ST_POOLS_MAX];
    char header_uri[TP_REGION_PATH_MAX + 64];
    uint64_t announces;
    uint64_t last_announce_ns;
    /* header ring, mapped read-only for the rate and the newest seq */
    tp_region_t ring;
    bool mapped;
    uint64_t mapped_epoch;
    char ring_error[160];       /* why it is not mapped ("" when mapped or not tried) */
    bool have_newest;
    uint64_t newest_seq;
    bool win_valid;             /* a start sample of the current window exists */
    bool win_empty;             /* ... taken while nothing was committed in this epoch */
    uint64_t win_seq, win_ns;
    /* QosProducer */
    bool qos_seen;
    uint32_t qos_producer_id;
    uint64_t qos_epoch, qos_seq, qos_ns;
    bool qos_first_valid;       /* first QosProducer of the window (rate fallback) */
    uint64_t qos_first_seq, qos_first_ns;
    /* results of the last window */
    bool rate_valid;
    bool mib_valid;             /* qos: only with the producer's counters file (mean length) */
    const char *rate_source;    /* "ring", "qos" */
    double frames_per_s, mib_per_s;
} st_stream_t;

/* One consumer, from its QosConsumer. */
typedef struct st_consumer {
    bool used;
    uint32_t stream_id;
    uint32_t consumer_id;
    uint64_t epoch;
    uint64_t last_seq;
    uint64_t drops_gap, drops_late;
    uint8_t mode;
    uint64_t rx_ns;
    uint64_t reports;
    bool lag_valid;
    uint64_t lag;
} st_consumer_t;

/* One lease, from the keepalives on the driver control stream. */
typedef struct st_lease {
    bool used;
    uint64_t lease_id;
    uint32_t client_id;
    uint32_t stream_id;
    uint8_t role;
    uint64_t keepalives;
    uint64_t last_ns;
} st_lease_t;

/* One counters file read at the end of the window. */
typedef struct st_file {
    char path[PATH_MAX];
    tp_counters_info_t info;
    bool alive;
    uint64_t update_ns;
    uint32_t nvalues;           /* min(count, ST_VALUES_MAX) */
    uint64_t values[ST_VALUES_MAX];
} st_file_t;

typedef struct st_opts {
    bool once, json;
    uint64_t interval_ns;
    uint64_t count;             /* windows to print (0 = until a signal; --once = 1) */
    bool stream_filter;
    uint32_t stream_id;
    const char *dir;            /* transport dir (NULL: default) */
    const char *transport;      /* --transport (NULL: $TP_TRANSPORT, else embedded) */
    const char *aeron_dir;      /* --aeron-dir (NULL: $AERON_DIR, else Aeron's default) */
    char control_channel[TP_CHANNEL_MAX];
    uint32_t control_stream;
    char announce_channel[TP_CHANNEL_MAX];
    uint32_t announce_stream;
    char qos_channel[TP_CHANNEL_MAX];
    uint32_t qos_stream;
    const char *shm_dirs[ST_DIRS_MAX];
    uint32_t shm_dir_count;
    const char *allowed_dirs[TP_ALLOWED_DIRS_MAX];
    uint32_t allowed_dir_count;
} st_opts_t;

typedef struct st_state {
    st_opts_t o;
    tp_allowed_dirs_t allowed;  /* region URIs and counters directories must be inside */
    tp_transport_t *transport;
    tp_subscription_t *subs[ST_SUBS_MAX];
    char sub_channels[ST_SUBS_MAX][TP_CHANNEL_MAX]; /* canonical, to subscribe once */
    uint32_t sub_streams[ST_SUBS_MAX];
    uint32_t sub_count;
    uint64_t start_ns, window_start_ns, now_ns;
    uint64_t windows;           /* printed so far */
    uint64_t messages, undecodable, lost_bytes;
    bool driver_shutdown_seen;
    st_stream_t streams[ST_STREAMS_MAX];
    st_consumer_t consumers[ST_CONSUMERS_MAX];
    st_lease_t leases[ST_LEASES_MAX];
    char ns_dirs[ST_DIRS_MAX][PATH_MAX]; /* driver namespace dirs (counters/ lives inside) */
    uint32_t ns_dir_count;
    st_file_t files[ST_FILES_MAX];
    uint32_t file_count;
    uint32_t files_skipped;     /* being initialised, malformed, unreadable */
    char last_skip[256];
} st_state_t;

/* cmd_stat.c: remember a driver namespace directory (canonical, inside the allowed dirs). */
void st_add_ns_dir(st_state_t *s, const char *dir);

/* stat_collect.c: the subscription handler (every watched stream); the rates of the window
 * that ends now (s->now_ns); unmapping a stream's header ring. */
void st_on_message(void *clientd, const uint8_t *msg, size_t len);
void st_window_rates(st_state_t *s);
void st_stream_unmap(st_stream_t *st);

/* cmd_stat_print.c: one window. table: the terminal view (clear: redraw in place). */
void st_print(const st_state_t *s, bool table, bool clear);

/* Counters file of a client (role, id, stream), or NULL. */
const st_file_t *st_find_file(const st_state_t *s, uint32_t role, uint32_t id, uint32_t stream);

/* Value of counter `id` of a file (0 beyond what was read). */
static inline uint64_t st_value(const st_file_t *f, uint32_t id)
{
    return f != NULL && id < f->nvalues ? f->values[id] : 0;
}

#endif

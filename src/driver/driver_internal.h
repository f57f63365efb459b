/*
 * Internals of the driver (the .c files of src/driver): the state behind tp_driver_t and
 * the functions its files share. Not installed; tests and the fuzz target include it to
 * reach the message handler and the seams.
 *
 * Files:
 *   driver.c     init/close, locks, duty cycle, message dispatch, shutdown
 *   attach.c     ShmAttachRequest (DRIVER D-28 order), node ids, dynamic streams
 *   lease.c      keepalive, detach, expiry scan, lease end (revoke -> bump -> announce),
 *                ConsumerHello -> ConsumerConfig (per-consumer streams, D-71)
 *   epoch.c      stream state, epoch values and provisioning of an epoch's regions
 *   publish.c    every message the driver sends (responses, notices, announces)
 *   gc.c         epoch GC (D-92, D-93), cleanup on exit
 *   counters.c   the driver's counters file (src/shm/counters.h) for `tensorpool stat`
 *
 * Ownership: everything here belongs to the tp_driver_t and its one thread.
 */
#ifndef TP_DRIVER_DRIVER_INTERNAL_H
#define TP_DRIVER_DRIVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec/codec.h"
#include "driver/driver.h"
#include "shm/counters.h"
#include "shm/region.h"

#define TP_DRV_ERRMSG_MAX 1024u      /* D-21, D-94: no errorMessage longer than this */
#define TP_DRV_NODE_ID_NULL 0xFFFFFFFFu
#define TP_DRV_POLL_LIMIT 64
/* Before an expiry scan the control stream is read up: at most this many polls of
 * TP_DRV_POLL_LIMIT messages (4096), so a flood cannot postpone the scan for ever. */
#define TP_DRV_SCAN_DRAIN_POLLS 64
/* Robustness limits (a hostile client must not make the driver allocate without bound or
 * slow every lookup down for the others):
 *   TP_DRV_MAX_LEASES  live leases; an attach beyond it gets REJECTED "lease table full"
 *                      (checked right after D-28 step 5, before anything is created);
 *   TP_DRV_MAX_NODES   clientId -> nodeId associations kept for the life of the process
 *                      (D-22 REF); beyond it the oldest association of a client that holds
 *                      no live lease is forgotten (a lease's node id never changes). */
#define TP_DRV_MAX_LEASES 4096u
#define TP_DRV_MAX_NODES 16384u
#define TP_DRV_LOG_INTERVAL_NS 1000000000ull /* rate limit of per-message warnings */
#define TP_DRV_COMPONENT "driver"

typedef enum tp_drv_state {
    TP_DRV_RUNNING = 0,
    TP_DRV_DRAINING = 1, /* D-67: announce done, attaches rejected, waiting for the timeout */
    TP_DRV_DONE = 2      /* ShmDriverShutdown published */
} tp_drv_state_t;

/* A live lease (D-10). Ended leases are removed from the table at once. */
typedef struct tp_drv_lease {
    uint64_t lease_id;
    uint32_t stream_id;     /* the allocated id for dynamic streams (D-70 DECISION) */
    uint32_t client_id;
    uint8_t role;           /* TP_SBE_DRIVER_ROLE_PRODUCER / _CONSUMER */
    uint32_t node_id;
    uint64_t expiry_ns;     /* D-19, D-30: now + keepalive interval x grace */
    uint32_t descriptor_stream_id; /* per-consumer ids (D-71), 0 = none */
    uint32_t control_stream_id;
} tp_drv_lease_t;

/* A stream that has state (D-23, D-47): created by its first attach. */
typedef struct tp_drv_stream {
    uint32_t stream_id;
    uint32_t profile_index;     /* into cfg.profiles */
    bool dynamic;               /* allocated from driver.stream_id_range (D-70) */
    uint64_t epoch;             /* 0 = no epoch provisioned yet */
    uint64_t producer_lease_id; /* 0 = none (D-43) */
    uint32_t producer_client_id;
    /* The current epoch's regions, kept mapped (mlock applies to mappings) and unmapped when
     * the epoch is superseded; URIs as announced. */
    tp_region_t header;
    tp_region_t pools[TP_CFG_MAX_POOLS];
    char *header_uri;
    char *pool_uris[TP_CFG_MAX_POOLS];
} tp_drv_stream_t;

/* clientId -> nodeId for the lifetime of the process (D-22 REF). */
typedef struct tp_drv_node {
    uint32_t client_id;
    uint32_t node_id;
    bool leased;  /* the client holds a live lease: never evicted (TP_DRV_MAX_NODES) */
} tp_drv_node_t;

/* Test seam: free bytes of the filesystem holding `dir` (statvfs when NULL). */
typedef int (*tp_drv_free_bytes_fn)(const char *dir, uint64_t *out, void *arg);

struct tp_driver {
    tp_driver_config_t cfg;
    tp_drv_state_t state;
    uint64_t now_ns;            /* the now of the current duty cycle */
    pid_t pid;

    /* derived settings */
    uint64_t keepalive_interval_ns;
    uint64_t lease_grace_ns;    /* keepalive interval x grace intervals */
    uint64_t announce_period_ns;
    uint64_t gc_min_age_ns;
    uint64_t shutdown_timeout_ns;
    tp_region_create_opts_t region_opts;
    tp_allowed_dirs_t allowed;
    char ns_dir[TP_REGION_PATH_MAX]; /* <base>/tensorpool-<user>/<namespace> */

    /* transport */
    tp_transport_t *transport;
    tp_subscription_t *control_sub;
    tp_publication_t *control_pub;
    tp_publication_t *announce_pub; /* == control_pub when the streams coincide */
    int lock_fds[2];                /* transport lock, SHM namespace lock */

    /* timers */
    uint64_t next_announce_ns;
    uint64_t next_expiry_scan_ns;
    uint64_t shutdown_deadline_ns;
    uint8_t shutdown_reason;
    char shutdown_message[TP_DRV_ERRMSG_MAX + 1];
    uint32_t shutdown_message_len;
    uint64_t shutdown_warn_next_ns;    /* rate limit of "shutdown request ignored" */
    uint64_t shutdown_warn_suppressed;

    /* leases (D-53: ids from 1, never reused) */
    tp_drv_lease_t *leases;
    uint32_t lease_count, lease_cap;
    uint64_t next_lease_id;

    /* node ids (D-22) */
    tp_drv_node_t *nodes;
    uint32_t node_count, node_cap;
    uint32_t next_node_id;

    /* streams with state */
    tp_drv_stream_t **streams;
    uint32_t stream_count, stream_cap;
    uint32_t next_dynamic_stream_id;
    uint32_t next_descriptor_stream_id;
    uint32_t next_control_stream_id;

    /* stream ids this process provisioned (cleanup on exit) */
    uint32_t *touched;
    uint32_t touched_count, touched_cap;

    /* encode buffer for everything the driver sends */
    uint8_t *buf;
    size_t buf_cap;

    tp_driver_counters_t counters;
    tp_counters_t counters_file;        /* <ns_dir>/counters/driver-<instance>.tpc (counters.c);
                                           closed (all zero) when it could not be created */

    tp_drv_free_bytes_fn free_bytes_fn; /* tests */
    void *free_bytes_arg;
};

/* ---- driver.c ---------------------------------------------------------------------------- */

/* Handle one received message (the control-stream poll handler and the fuzz target): length
 * checks (W-81 DECISION), dispatch on (schemaId, templateId) (W-4), then the request
 * handlers. Malformed input is counted in counters.malformed and ignored. */
void tp_driver_handle_message(tp_driver_t *d, const uint8_t *buf, size_t len, uint64_t now_ns);

/* tp_driver_shutdown with a message of `len` bytes (a request's errorMessage, which may
 * hold any bytes): truncated to 1024 bytes (D-21, D-94). */
void tp_drv_shutdown_bytes(tp_driver_t *d, uint8_t reason, const uint8_t *message, size_t len,
                           uint64_t now_ns);

/* Install the free-space seam (tests): fn NULL restores statvfs. */
void tp_driver_set_free_bytes_fn(tp_driver_t *d, tp_drv_free_bytes_fn fn, void *arg);

/* ---- attach.c ---------------------------------------------------------------------------- */

void tp_drv_handle_attach(tp_driver_t *d, const tp_sbe_driver_shm_attach_request_t *m);

/* The client's lease ended: its node id may be evicted again (TP_DRV_MAX_NODES). */
void tp_drv_node_release(tp_driver_t *d, uint32_t client_id);

/* D-28 step 1: an attach request of a newer schema version (already length-checked). */
void tp_drv_attach_unsupported_version(tp_driver_t *d, int64_t correlation_id);

/* ---- lease.c ----------------------------------------------------------------------------- */

tp_drv_lease_t *tp_drv_lease_find(tp_driver_t *d, uint64_t lease_id);
tp_drv_lease_t *tp_drv_lease_of_client(tp_driver_t *d, uint32_t client_id);
tp_drv_lease_t *tp_drv_lease_add(tp_driver_t *d);

/* End a lease (D-57, D-58, D-42): ShmLeaseRevoked, then for a producer the epoch bump and
 * the announce; per-consumer ids go with the lease; then the forget step of D-70. */
void tp_drv_lease_end(tp_driver_t *d, uint64_t lease_id, uint8_t reason);

void tp_drv_handle_keepalive(tp_driver_t *d, const tp_sbe_driver_shm_lease_keepalive_t *m);
void tp_drv_handle_detach(tp_driver_t *d, const tp_sbe_driver_shm_detach_request_t *m);
void tp_drv_handle_hello(tp_driver_t *d, const tp_sbe_control_consumer_hello_t *m);

/* D-30: revoke every lease with now > expiry. Returns how many ended. */
int tp_drv_expiry_scan(tp_driver_t *d);

/* ---- epoch.c ----------------------------------------------------------------------------- */

tp_drv_stream_t *tp_drv_stream_find(const tp_driver_t *d, uint32_t stream_id);
tp_drv_stream_t *tp_drv_stream_create(tp_driver_t *d, uint32_t stream_id,
                                      uint32_t profile_index, bool dynamic);
/* Forget a stream's state (D-70 forget step): unmap, free; files stay for GC. */
void tp_drv_stream_forget(tp_driver_t *d, tp_drv_stream_t *s);
void tp_drv_stream_free_all(tp_driver_t *d);

/* Provision a new epoch for s (D-44, D-45, D-49): epoch = max(prev + 1, now, largest on
 * disk + 1); fresh files in <epoch>/; GC with min age 0 and one retry when space runs out;
 * then GC of the stream (D-92). -1 with the reason in tp_errmsg (s unchanged). */
int tp_drv_bump_epoch(tp_driver_t *d, tp_drv_stream_t *s);

/* <base>/tensorpool-<user>/<namespace>/<stream_id>; length or -1. */
int tp_drv_stream_dir(const tp_driver_t *d, uint32_t stream_id, char *out, size_t cap);

/* ---- publish.c --------------------------------------------------------------------------- */

void tp_drv_send_attach_ok(tp_driver_t *d, int64_t correlation_id, const tp_drv_stream_t *s,
                           const tp_drv_lease_t *l);
void tp_drv_send_attach_error(tp_driver_t *d, int64_t correlation_id, int32_t code,
                              const char *message);
void tp_drv_send_detach_response(tp_driver_t *d, int64_t correlation_id, int32_t code,
                                 const char *message);
void tp_drv_send_revoked(tp_driver_t *d, const tp_drv_lease_t *l, uint8_t reason);
void tp_drv_send_announce(tp_driver_t *d, const tp_drv_stream_t *s);
void tp_drv_announce_all(tp_driver_t *d);
void tp_drv_send_consumer_config(tp_driver_t *d, const tp_sbe_control_consumer_config_t *m);
/* ShmDriverShutdown; 0 when published (or nobody listens), -1 when back-pressured. */
int tp_drv_send_shutdown(tp_driver_t *d);

/* Copy at most TP_DRV_ERRMSG_MAX bytes of src (len bytes) to dst (cap > TP_DRV_ERRMSG_MAX),
 * never cutting a UTF-8 sequence; NUL-terminates; returns the length kept (D-21, D-94). */
uint32_t tp_drv_truncate_message(char *dst, const uint8_t *src, size_t len);

/* ---- gc.c -------------------------------------------------------------------------------- */

/* Epoch GC of one stream directory (D-92, D-93 with their DECISIONs): keeps the
 * epoch_gc_keep numerically largest epoch directories and `current` (0 = none), removes an
 * older one when its age >= min_age_ns and its superblock pid is ours, unreadable, or dead.
 * Returns the number removed. No-op when policies.epoch_gc_enabled is false. */
int tp_drv_gc_stream(tp_driver_t *d, uint32_t stream_id, uint64_t current, uint64_t min_age_ns);

/* Largest decimal epoch directory of the stream on disk (0 = none). */
uint64_t tp_drv_largest_epoch_on_disk(const tp_driver_t *d, uint32_t stream_id);

/* policies.cleanup_shm_on_exit: remove every epoch directory of the touched streams whose
 * superblock names our pid, then the stream directories that became empty. */
void tp_drv_cleanup_on_exit(tp_driver_t *d);

/* true when `path` resolves inside one of the canonical allowed base dirs (D-49). */
bool tp_drv_path_allowed(const tp_driver_t *d, const char *path);

/* Remove the epoch directories of `stream_id` numbered >= `from` (the ones a refused
 * request has just created), then the stream directory when it became empty. */
void tp_drv_remove_epochs_from(tp_driver_t *d, uint32_t stream_id, uint64_t from);

/* Remove the directory `name` under dirfd recursively without following symlinks. */
int tp_drv_rmtree_at(int dirfd, const char *name, int depth);

void tp_drv_touch_stream(tp_driver_t *d, uint32_t stream_id);

/* ---- counters.c -------------------------------------------------------------------------- */

/* Create <ns_dir>/counters (dir mode) and the driver's counters file (file mode), then remove
 * stale files of dead processes there. Never fatal: a failure is logged once and the driver
 * runs without the file. */
void tp_drv_counters_open(tp_driver_t *d);

/* Copy d->counters and the gauges into the file (relaxed stores, no system call) and stamp
 * update_ns. Called after every duty cycle that did work. */
void tp_drv_counters_mirror(tp_driver_t *d);

/* Remove counters files of dead processes (after lease expiries: clients that died). */
void tp_drv_counters_sweep(tp_driver_t *d);

/* Remove the driver's file (clean shutdown); with policies.cleanup_shm_on_exit also the
 * counters directory when it is empty. */
void tp_drv_counters_close(tp_driver_t *d);

#endif

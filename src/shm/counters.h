/*
 * Counters files (issue 6 "Operating tensorpool"): one small shared-memory file per driver,
 * producer and consumer, holding its monotonic counters and gauges, so that `tensorpool stat`
 * (and anything else that can map a file) sees what each process did without asking it.
 * Not part of the protocol: a Julia peer neither writes nor reads them.
 *
 * Where (the driver's SHM namespace directory, WIRE W-173):
 *
 *   <shm_base_dir>/tensorpool-<user>/<namespace>/counters/driver-<instance_id>.tpc
 *                                                        /producer-<client_id>.tpc
 *                                                        /consumer-<client_id>.tpc
 *
 * The driver creates counters/ with its directory mode at start and its own file with its
 * file mode (DRIVER D-49: shm.permissions_mode). A client writes its file only into an existing
 * counters/ (so nothing is created next to a driver that does not use them), with the
 * directory's permission bits minus search. The instance id is sanitised to [A-Za-z0-9._-]
 * (anything else becomes '_') and cut at 64 bytes. A client id holds one lease per driver
 * (D-54), so the names are unique per driver.
 *
 * Layout (layout version 1; every integer little-endian, every u64 8-byte aligned):
 *
 *    0               8         12        16        20        24
 *   +---------------+---------+---------+---------+---------+
 *   | magic u64     | layout  | header  | role    | count   |
 *   | "TPCOUNTS"    | version | bytes   | u32     | u32     |
 *   |               | u32 = 1 | u32=128 |         |         |
 *   +---------------+---------+---------+---------+---------+
 *   24              32              40              48        52        56              64
 *   | pid u64       | start_ns u64  | update_ns u64 | id u32  | stream  | reserved u64  |
 *   |               |               | (atomic)      |         | id u32  | (zero)        |
 *   +---------------+---------------+---------------+---------+---------+---------------+
 *   64                                                                                 128
 *   | name: 64 bytes of ASCII, NUL-padded (driver: instance id; clients: empty)          |
 *   +------------------------------------------------------------------------------------+
 *   128 = header bytes    +8               +16                     header + 8*count
 *   | value[0] u64 atomic | value[1] u64   | ...  | value[count-1] |
 *   +---------------------+----------------+------+----------------+
 *
 *   magic      0x53544E554F435054: the bytes "TPCOUNTS"; 0 while the file is initialised
 *   role       1 driver, 2 producer, 3 consumer (tp_counters_role_t)
 *   count      number of values; value[i] is counter id i of the role's table below
 *   pid        owner process id; start_ns / update_ns: CLOCK_MONOTONIC ns (WIRE W-164) of the
 *              creation and of the last time the owner wrote its values
 *   id         client id (producer/consumer), 0 for the driver; stream id: the client's
 *              stream, 0 for the driver
 *   header     bytes before value[0]: 128 in version 1; readers locate the values through it
 *
 * File size = header bytes + 8 * count. A reader that knows fewer ids than `count` shows the
 * unknown ones by number; ids it knows beyond `count` are absent (older writer).
 *
 * Protocol (STYLE rules 4-6):
 *  * Creation: a new inode every time (O_EXCL; a stale file of a dead owner is unlinked
 *    first, never rewritten in place, so a reader that still maps it never sees it shrink or
 *    change identity), sized, every field written, then the magic by release store. Readers
 *    acquire-load the magic and see a complete header, or 0 ("being initialised").
 *  * After that the header never changes except update_ns; values change by relaxed atomic
 *    stores from the single writer (one thread of the owner process). No lock, allocation or
 *    system call on the update path; a reader may see values of two different update passes
 *    (each value is itself whole).
 *  * The owner unlinks its file on clean shutdown. A file whose pid is dead is stale: readers
 *    report it (alive = 0), a new owner of the same name replaces it, and the driver removes
 *    stale files at start and after lease expiries.
 *
 * Threading: a tp_counters_t belongs to one writer thread; views are read-only and may be used
 * by any thread. Creation, opening and closing allocate nothing but make system calls.
 */
#ifndef TP_SHM_COUNTERS_H
#define TP_SHM_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm/drop.h"
#include "shm/region.h"
#include "util/atomics.h"
#include "util/endian.h"

#define TP_COUNTERS_MAGIC 0x53544E554F435054ull /* bytes 54 50 43 4f 55 4e 54 53 "TPCOUNTS" */
#define TP_COUNTERS_LAYOUT_VERSION 1u
#define TP_COUNTERS_HEADER_BYTES 128u  /* version 1 */
#define TP_COUNTERS_HEADER_MAX 4096u   /* readers refuse larger header_bytes */
#define TP_COUNTERS_MAX 4096u          /* readers refuse larger counts */
#define TP_COUNTERS_NAME_MAX 64u
#define TP_COUNTERS_FILE_MAX (TP_COUNTERS_HEADER_MAX + 8u * TP_COUNTERS_MAX)
#define TP_COUNTERS_DIR_NAME "counters"
#define TP_COUNTERS_SUFFIX ".tpc"
#define TP_COUNTERS_KEY_MAX 64u        /* buffer for tp_counters_key */

typedef enum tp_counters_role {
    TP_COUNTERS_ROLE_DRIVER = 1,
    TP_COUNTERS_ROLE_PRODUCER = 2,
    TP_COUNTERS_ROLE_CONSUMER = 3
} tp_counters_role_t;

/* The header as it lies in the file (plain overlay; the file is page aligned). */
typedef struct tp_counters_header {
    uint64_t magic;
    uint32_t layout_version;
    uint32_t header_bytes;
    uint32_t role;
    uint32_t count;
    uint64_t pid;
    uint64_t start_ns;
    uint64_t update_ns; /* atomic: tp_counters_touch / tp_counters_view_update_ns */
    uint32_t id;
    uint32_t stream_id;
    uint64_t reserved;
    char name[TP_COUNTERS_NAME_MAX];
} tp_counters_header_t;

_Static_assert(sizeof(tp_counters_header_t) == TP_COUNTERS_HEADER_BYTES, "counters header");
_Static_assert(offsetof(tp_counters_header_t, magic) == 0, "counters header");
_Static_assert(offsetof(tp_counters_header_t, layout_version) == 8, "counters header");
_Static_assert(offsetof(tp_counters_header_t, header_bytes) == 12, "counters header");
_Static_assert(offsetof(tp_counters_header_t, role) == 16, "counters header");
_Static_assert(offsetof(tp_counters_header_t, count) == 20, "counters header");
_Static_assert(offsetof(tp_counters_header_t, pid) == 24, "counters header");
_Static_assert(offsetof(tp_counters_header_t, start_ns) == 32, "counters header");
_Static_assert(offsetof(tp_counters_header_t, update_ns) == 40, "counters header");
_Static_assert(offsetof(tp_counters_header_t, id) == 48, "counters header");
_Static_assert(offsetof(tp_counters_header_t, stream_id) == 52, "counters header");
_Static_assert(offsetof(tp_counters_header_t, reserved) == 56, "counters header");
_Static_assert(offsetof(tp_counters_header_t, name) == 64, "counters header");

/* ---- counter ids -------------------------------------------------------------------------- */

/* X(enum name, id, key, gauge, description). Ids are stable (they are file offsets): new ids
 * are appended, retired ones stay reserved. A gauge is a current value, not a count. */
#define TP_COUNTERS_DRIVER_TABLE(X)                                                           \
    X(TP_CTR_DRV_ATTACH_OK, 0, "attach_ok", 0, "ShmAttachResponse sent with code OK")         \
    X(TP_CTR_DRV_ATTACH_UNSUPPORTED, 1, "attach_unsupported", 0,                             \
      "ShmAttachResponse sent with code UNSUPPORTED")                                         \
    X(TP_CTR_DRV_ATTACH_INVALID_PARAMS, 2, "attach_invalid_params", 0,                       \
      "ShmAttachResponse sent with code INVALID_PARAMS")                                      \
    X(TP_CTR_DRV_ATTACH_REJECTED, 3, "attach_rejected", 0,                                   \
      "ShmAttachResponse sent with code REJECTED")                                            \
    X(TP_CTR_DRV_ATTACH_INTERNAL_ERROR, 4, "attach_internal_error", 0,                       \
      "ShmAttachResponse sent with code INTERNAL_ERROR")                                      \
    X(TP_CTR_DRV_KEEPALIVES, 5, "keepalives", 0, "ShmLeaseKeepalive accepted (lease extended)") \
    X(TP_CTR_DRV_KEEPALIVES_UNKNOWN, 6, "keepalives_unknown", 0,                             \
      "ShmLeaseKeepalive for no live lease, ignored (D-30)")                                  \
    X(TP_CTR_DRV_DETACHES_OK, 7, "detaches_ok", 0, "ShmDetachRequest accepted")              \
    X(TP_CTR_DRV_DETACHES_REJECTED, 8, "detaches_rejected", 0, "ShmDetachRequest refused")   \
    X(TP_CTR_DRV_LEASES_EXPIRED, 9, "leases_expired", 0,                                     \
      "leases ended because keepalives stopped (D-30)")                                       \
    X(TP_CTR_DRV_REVOCATIONS, 10, "revocations_sent", 0, "ShmLeaseRevoked published")        \
    X(TP_CTR_DRV_ANNOUNCES, 11, "announces_sent", 0, "ShmPoolAnnounce published")            \
    X(TP_CTR_DRV_EPOCHS, 12, "epochs_bumped", 0, "epochs provisioned (first attach, bumps)") \
    X(TP_CTR_DRV_CONSUMER_CONFIGS, 13, "consumer_configs_sent", 0,                           \
      "ConsumerConfig published (per-consumer streams, D-71)")                               \
    X(TP_CTR_DRV_GC_RUNS, 14, "gc_runs", 0, "epoch GC passes over a stream directory (D-92)") \
    X(TP_CTR_DRV_GC_REMOVED, 15, "gc_epochs_removed", 0, "epoch directories removed by GC")  \
    X(TP_CTR_DRV_SHUTDOWN_IGNORED, 16, "shutdown_requests_ignored", 0,                       \
      "ShmDriverShutdownRequest with a wrong or missing token (D-66)")                        \
    X(TP_CTR_DRV_MALFORMED, 17, "malformed", 0,                                              \
      "received messages that failed length/schema checks, ignored (W-81)")                   \
    X(TP_CTR_DRV_PUBLISH_FAILURES, 18, "publish_failures", 0,                                \
      "responses/notices that could not be offered")                                         \
    X(TP_CTR_DRV_LEASES_ACTIVE, 19, "leases_active", 1, "live leases")                       \
    X(TP_CTR_DRV_STREAMS_ACTIVE, 20, "streams_active", 1, "streams with driver state")       \
    X(TP_CTR_DRV_STATE, 21, "state", 1, "0 running, 1 draining, 2 shutdown published")

#define TP_COUNTERS_PRODUCER_TABLE(X)                                                         \
    X(TP_CTR_PROD_FRAMES, 0, "frames_published", 0, "frames committed (publish and offer)")   \
    X(TP_CTR_PROD_BYTES, 1, "bytes_published", 0, "sum of values_len_bytes of those frames")  \
    X(TP_CTR_PROD_ABORTS, 2, "reservations_aborted", 0,                                      \
      "reservations given up (each is a seq gap downstream)")                                 \
    X(TP_CTR_PROD_STALE_RELEASES, 3, "stale_releases", 0,                                    \
      "reservations of a retired epoch released by publish/abort")                           \
    X(TP_CTR_PROD_DESC_SENT, 4, "descriptors_sent", 0, "FrameDescriptor offered successfully") \
    X(TP_CTR_PROD_DESC_NOT_CONNECTED, 5, "descriptors_not_connected", 0,                     \
      "FrameDescriptor skipped: nobody subscribed")                                          \
    X(TP_CTR_PROD_DESC_LOST, 6, "descriptors_backpressured_lost", 0,                          \
      "FrameDescriptor back-pressured until its slot was lapped: never sent")                \
    X(TP_CTR_PROD_PROGRESS, 7, "progress_sent", 0, "FrameProgress messages")                  \
    X(TP_CTR_PROD_QOS, 8, "qos_sent", 0, "QosProducer messages")                              \
    X(TP_CTR_PROD_META, 9, "meta_sent", 0, "DataSourceAnnounce and DataSourceMeta messages")  \
    X(TP_CTR_PROD_REATTACHES, 10, "reattaches", 0,                                           \
      "successful reattaches after revocation, shutdown or driver loss")                      \
    X(TP_CTR_PROD_PC_STREAMS, 11, "per_consumer_streams", 1,                                 \
      "open per-consumer descriptor streams")                                                \
    X(TP_CTR_PROD_CURRENT_SEQ, 12, "current_seq", 1, "next seq to be reserved")               \
    X(TP_CTR_PROD_EPOCH, 13, "epoch", 1, "epoch of the current mapping")                      \
    X(TP_CTR_PROD_OUTSTANDING, 14, "outstanding", 1, "reservations not yet published/aborted") \
    X(TP_CTR_PROD_STATE, 15, "state", 1, "tp_producer_state_t")

/* Consumer ids 0..31 are fixed; id TP_CTR_CONS_DROP_BASE + r counts drop reason r
 * (src/shm/drop.h, r = 1 .. TP_DROP_COUNT - 1; key "drops_<reason key>"), room for
 * TP_DROP_REASONS_MAX reasons. */
#define TP_COUNTERS_CONSUMER_TABLE(X)                                                         \
    X(TP_CTR_CONS_FRAMES, 0, "frames", 0, "frames accepted and handed to the handler")        \
    X(TP_CTR_CONS_DROPS_GAP, 1, "drops_gap", 0, "frames missed: gaps in the descriptor seq (W-147)") \
    X(TP_CTR_CONS_DROPS_LATE, 2, "drops_late", 0,                                            \
      "frames dropped by seqlock/header/payload validation (W-147)")                         \
    X(TP_CTR_CONS_GAP_RESYNCS, 3, "gap_resyncs", 0,                                          \
      "gaps above max_outstanding_seq_gap: tracking reset (W-149)")                          \
    X(TP_CTR_CONS_EPOCH_MISMATCHES, 4, "epoch_mismatches", 0,                                \
      "descriptors of another epoch ignored (W-120)")                                        \
    X(TP_CTR_CONS_SEQ_REGRESSIONS, 5, "seq_regressions", 0, "seq went backwards: remap (W-150)") \
    X(TP_CTR_CONS_RATE_SKIPS, 6, "rate_limited_skips", 0, "RATE_LIMITED gate skips (not drops)") \
    X(TP_CTR_CONS_PROGRESS_REGRESSIONS, 7, "progress_regressions", 0,                        \
      "FrameProgress bytes_filled went backwards (W-134)")                                   \
    X(TP_CTR_CONS_ANNOUNCES_ACCEPTED, 8, "announces_accepted", 0, "ShmPoolAnnounce accepted")  \
    X(TP_CTR_CONS_ANNOUNCES_IGNORED, 9, "announces_ignored", 0,                              \
      "ShmPoolAnnounce ignored: stale, old epoch, other stream, gate closed (W-92)")         \
    X(TP_CTR_CONS_REMAPS, 10, "remaps", 0, "mappings replaced after the first")               \
    X(TP_CTR_CONS_MAP_FAILURES, 11, "map_failures", 0, "regions that failed validation (W-94..W-99)") \
    X(TP_CTR_CONS_REATTACHES, 12, "reattaches", 0, "successful reattaches")                   \
    X(TP_CTR_CONS_LAST_SEQ, 13, "last_seq_seen", 1,                                          \
      "last seq seen (18446744073709551615 before the first descriptor)")                     \
    X(TP_CTR_CONS_EPOCH, 14, "epoch", 1, "epoch of the current mapping, 0 if unmapped")       \
    X(TP_CTR_CONS_MAPPING_STATE, 15, "mapping_state", 1, "tp_mapping_state_t")                \
    X(TP_CTR_CONS_MODE, 16, "mode", 1, "1 STREAM, 2 RATE_LIMITED (after ConsumerConfig)")

#define TP_COUNTERS_ENUM(name, id, key, gauge, desc) name = id,
enum { TP_COUNTERS_DRIVER_TABLE(TP_COUNTERS_ENUM) TP_CTR_DRV_COUNT };
enum { TP_COUNTERS_PRODUCER_TABLE(TP_COUNTERS_ENUM) TP_CTR_PROD_COUNT };
enum { TP_COUNTERS_CONSUMER_TABLE(TP_COUNTERS_ENUM) TP_CTR_CONS_FIXED_COUNT };
#undef TP_COUNTERS_ENUM

#define TP_CTR_CONS_DROP_BASE 32u
#define TP_CTR_CONS_COUNT (TP_CTR_CONS_DROP_BASE + 32u) /* = 32 + TP_DROP_REASONS_MAX */
_Static_assert(TP_CTR_CONS_FIXED_COUNT <= TP_CTR_CONS_DROP_BASE, "consumer ids 0..31");
_Static_assert(TP_DROP_COUNT <= 32, "consumer drop ids 32..63");

/* "driver", "producer", "consumer", or NULL. Static storage. */
const char *tp_counters_role_name(uint32_t role);

/* Number of values a writer of this version puts in a file of `role` (0: unknown role). */
uint32_t tp_counters_role_count(uint32_t role);

/* Key of counter `id` ("attach_ok", "drops_not_committed", ...) or NULL for a reserved or
 * unknown id. Returns a static string or `buf` (TP_COUNTERS_KEY_MAX bytes), filled then. */
const char *tp_counters_key(uint32_t role, uint32_t id, char buf[TP_COUNTERS_KEY_MAX]);

/* One-line description (static storage), or NULL like tp_counters_key. */
const char *tp_counters_desc(uint32_t role, uint32_t id);

/* true when the id is a gauge (a current value) rather than a monotonic count. */
bool tp_counters_is_gauge(uint32_t role, uint32_t id);

/* ---- reading ------------------------------------------------------------------------------ */

/* What a reader learned from a valid header. */
typedef struct tp_counters_info {
    uint32_t layout_version;
    uint32_t header_bytes;
    uint32_t role;
    uint32_t count;
    uint64_t pid;
    uint64_t start_ns;
    uint64_t update_ns;   /* at parse time */
    uint32_t id;
    uint32_t stream_id;
    char name[TP_COUNTERS_NAME_MAX + 1]; /* NUL-terminated; bytes outside 0x20-0x7e -> '?' */
} tp_counters_info_t;

/* Validate the first `len` bytes of a counters file at `buf` (8-byte aligned; may be a live
 * mapping) and fill *out. Checks, in order: len >= 128; magic 0 -> TP_ESTATE ("being
 * initialised"); other magic -> TP_EMALFORMED ("not a tensorpool counters file"); layout
 * version -> TP_EVERSION; header bytes (>= 128, multiple of 8, <= 4096), role (1..3) and count
 * (<= 4096) -> TP_EMALFORMED; len >= header bytes + 8 * count -> TP_EMALFORMED. 0 or -1. */
int tp_counters_parse(const void *buf, size_t len, tp_counters_info_t *out);

/* A read-only mapping of one counters file. */
typedef struct tp_counters_view {
    const uint8_t *base;   /* NULL when closed */
    size_t map_size;       /* the file size at open (<= TP_COUNTERS_FILE_MAX) */
    tp_counters_info_t info;
} tp_counters_view_t;

/* Open `path` read-only through the region containment rules (W-178: realpath inside one of
 * `allowed` — when NULL, the file's own directory —, regular file, no-follow open, identity
 * check), refuse files larger than TP_COUNTERS_FILE_MAX, map the whole file read-only and
 * tp_counters_parse it. Never writes. *v is zeroed on failure. */
int tp_counters_view_open(tp_counters_view_t *v, const char *path, const tp_allowed_dirs_t *allowed);

void tp_counters_view_close(tp_counters_view_t *v);

/* value[id] (relaxed atomic load), 0 for id >= count. */
static inline uint64_t tp_counters_view_value(const tp_counters_view_t *v, uint32_t id)
{
    if (v->base == NULL || id >= v->info.count)
        return 0;
    /* Relaxed: each value is independent; nothing else is read through it. */
    return tp_load_relaxed_u64(v->base + v->info.header_bytes + 8u * (size_t)id);
}

/* update_ns now (relaxed atomic load). */
static inline uint64_t tp_counters_view_update_ns(const tp_counters_view_t *v)
{
    return v->base ? tp_load_relaxed_u64(v->base + offsetof(tp_counters_header_t, update_ns)) : 0;
}

/* 1 when a process with this pid exists (kill(pid, 0) succeeds or says EPERM), else 0. */
int tp_counters_pid_alive(uint64_t pid);

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct tp_counters_ident {
    uint32_t role;        /* tp_counters_role_t */
    uint32_t id;          /* client id; 0 for the driver */
    uint32_t stream_id;   /* 0 for the driver */
    const char *name;     /* driver instance id; NULL or "" for clients */
} tp_counters_ident_t;

/* The writer's handle. All-zero (base NULL) is a valid closed handle: updates do nothing. */
typedef struct tp_counters {
    uint8_t *base;
    size_t size;
    uint32_t count;
    dev_t dev;
    ino_t ino;
    char path[TP_REGION_PATH_MAX];
} tp_counters_t;

/* "<role>-<id>.tpc" (driver: "driver-<sanitised name>.tpc"). Length or -1 (TP_ETOOBIG,
 * TP_EINVAL for an unknown role). */
int tp_counters_file_name(char *out, size_t cap, const tp_counters_ident_t *ident);

/* Create the counters file of `ident` in the existing directory `dir` with mode `file_mode`
 * and tp_counters_role_count(role) values, all 0; update_ns = start_ns = now.
 *  * `allowed` (may be NULL): the canonical `dir` must lie inside one of them (W-178 for the
 *    directory a client derived from a region URI).
 *  * `dir` must be a directory that is not world-writable; it is opened without following a
 *    final symlink; the file is created O_EXCL|O_NOFOLLOW.
 *  * An existing file of that name whose owner is alive (and is not this process) makes it
 *    fail with TP_ESTATE; a stale or unreadable one is unlinked and replaced. Anything but a
 *    regular file there fails with TP_EPATH.
 * *out is zeroed on failure (a closed handle). */
int tp_counters_create(tp_counters_t *out, const char *dir, const tp_counters_ident_t *ident,
                       mode_t file_mode, const tp_allowed_dirs_t *allowed);

/* Unmap; when `remove`, unlink the file if the path still names our inode. Idempotent. */
void tp_counters_close(tp_counters_t *c, bool remove);

/* Remove every "*.tpc" of `dir` whose header parses and whose owner pid is dead. Files being
 * initialised, unparseable files and files of live owners are left alone. Returns the number
 * removed, or -1 when the directory cannot be read. */
int tp_counters_sweep_dead(const char *dir);

/* Hot path: relaxed atomic stores by the single writer; no-ops on a closed handle or for ids
 * beyond the file's count. */
static inline void tp_counters_set(tp_counters_t *c, uint32_t id, uint64_t v)
{
    if (c->base == NULL || id >= c->count)
        return;
    /* Relaxed: a value is independent of every other word; readers only need it whole. */
    tp_store_relaxed_u64(c->base + TP_COUNTERS_HEADER_BYTES + 8u * (size_t)id, v);
}

static inline void tp_counters_add(tp_counters_t *c, uint32_t id, uint64_t delta)
{
    uint8_t *p;
    if (c->base == NULL || id >= c->count)
        return;
    p = c->base + TP_COUNTERS_HEADER_BYTES + 8u * (size_t)id;
    /* Single writer: load + store (relaxed) is an add without a locked instruction. */
    tp_store_relaxed_u64(p, tp_load_relaxed_u64(p) + delta);
}

static inline void tp_counters_touch(tp_counters_t *c, uint64_t now_ns)
{
    if (c->base == NULL)
        return;
    /* Relaxed: a liveness hint for readers; orders nothing. */
    tp_store_relaxed_u64(c->base + offsetof(tp_counters_header_t, update_ns), now_ns);
}

#endif

/*
 * shmlog: the protocol is written down in shmlog.h; this file follows it step by step.
 */
#include "transport/shmlog/shmlog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "transport/transport.h"
#include "util/atomics.h"
#include "util/clock.h"
#include "util/error.h"

#define UNITS_BITS 21u
#define UNITS_MASK ((1ull << UNITS_BITS) - 1u)
#define TAG_SHIFT 23u
#define TAG_MASK ((1ull << 41) - 1u)
#define STATE_MASK 3ull

#define ENTRY_GEN_MASK ((1ull << 30) - 1u)

/* ---- record words ------------------------------------------------------------------------ */

static inline uint64_t lap_tag(const tp_shmlog_t *log, uint64_t pos)
{
    return ((pos >> log->cap_bits) + log->tag_salt) & TAG_MASK;
}

/* The 32-bit check word of a COMMITTED record at pos (shmlog.h, "Record"). */
static inline uint32_t record_check(const tp_shmlog_t *log, uint64_t pos)
{
    return (uint32_t)((pos >> 5) ^ log->tag_salt ^ (log->tag_salt >> 32));
}

/* Heartbeat older (or, after a reboot, newer) than the timeout. */
static inline int hb_stale(uint64_t now, uint64_t hb, uint64_t timeout)
{
    return (now > hb ? now - hb : hb - now) > timeout;
}

static inline uint64_t make_word(const tp_shmlog_t *log, uint64_t pos, uint64_t bytes,
                                 uint64_t state)
{
    return state | ((bytes / TP_SHMLOG_ALIGN) << 2) | (lap_tag(log, pos) << TAG_SHIFT);
}

static inline int word_current(const tp_shmlog_t *log, uint64_t w, uint64_t pos)
{
    return (w & STATE_MASK) != 0 && (w >> TAG_SHIFT) == lap_tag(log, pos);
}

static inline uint64_t word_bytes(uint64_t w)
{
    return ((w >> 2) & UNITS_MASK) * TP_SHMLOG_ALIGN;
}

static inline uint64_t *word_at(const tp_shmlog_t *log, uint64_t pos)
{
    return (uint64_t *)(void *)(log->data + (pos & log->mask));
}

static inline uint64_t record_bytes(size_t len)
{
    return ((uint64_t)len + TP_SHMLOG_RECORD_HEADER + TP_SHMLOG_ALIGN - 1) &
           ~(uint64_t)(TP_SHMLOG_ALIGN - 1);
}

static inline int cas_u64(uint64_t *p, uint64_t *expected, uint64_t desired)
{
    return tp_cas_u64(p, expected, desired);
}

/* ---- open / create ------------------------------------------------------------------------- */

static int capacity_check(uint64_t cap)
{
    if (cap < TP_SHMLOG_MIN_CAPACITY || cap > TP_SHMLOG_MAX_CAPACITY || (cap & (cap - 1)) != 0)
        return tp_err_set(TP_ECHANNEL,
                          "log capacity %" PRIu64 " must be a power of two from %u to %u", cap,
                          TP_SHMLOG_MIN_CAPACITY, TP_SHMLOG_MAX_CAPACITY);
    return 0;
}

/* Geometry comes from the caller's validated copy, never re-read from the shared header
 * (another process could change it between the check and the use). */
static void bind_mapping(tp_shmlog_t *log, uint8_t *base, size_t size, uint64_t capacity,
                         uint32_t stream_id, uint64_t salt)
{
    log->base = base;
    log->map_size = size;
    log->hdr = (tp_shmlog_header_t *)(void *)base;
    log->subs = (tp_shmlog_entry_t *)(void *)(base + TP_SHMLOG_SUBS_OFFSET);
    log->pubs = (tp_shmlog_entry_t *)(void *)(base + TP_SHMLOG_PUBS_OFFSET);
    log->data = base + TP_SHMLOG_META_BYTES;
    log->capacity = capacity;
    log->mask = capacity - 1;
    log->cap_bits = (uint32_t)__builtin_ctzll(capacity);
    log->max_message = (uint32_t)(capacity / 8);
    log->stream_id = stream_id;
    log->tag_salt = salt;
}

static uint64_t random_salt(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = tp_clock_monotonic_ns() * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
    return v;
}

/* Create the complete file under a private temporary name, then link it into place: the
 * final name never refers to a half-initialised log, and link() fails with EEXIST when
 * another process won the race. 1 = created, 0 = somebody else's exists, -1 = error. */
static int create_log(tp_shmlog_t *log, int dirfd, const char *name, uint32_t stream_id,
                      uint64_t cap, mode_t file_mode)
{
    static _Atomic unsigned counter;
    char tmp[512];
    size_t size = TP_SHMLOG_META_BYTES + cap;
    uint8_t *base;
    tp_shmlog_header_t *h;
    int fd, rc;

    uint64_t salt = random_salt();
    /* A leftover of a dead creator can carry our pid (pids repeat): try further names. */
    for (int i = 0;; i++) {
        snprintf(tmp, sizeof tmp, ".%s.tmp.%ld.%u", name, (long)getpid(), counter++);
        fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            break;
        if (errno != EEXIST || i == 64)
            return tp_err_set_errno(TP_EIO, errno, "create %s", tmp);
    }
    if (fchmod(fd, file_mode) != 0 || ftruncate(fd, (off_t)size) != 0) {
        rc = tp_err_set_errno(TP_EIO, errno, "size %s", tmp);
        goto fail;
    }
    base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        rc = tp_err_set_errno(TP_EIO, errno, "mmap %s", tmp);
        goto fail;
    }
    h = (tp_shmlog_header_t *)(void *)base;
    h->magic = TP_SHMLOG_MAGIC;
    h->meta_bytes = TP_SHMLOG_META_BYTES;
    h->capacity = cap;
    h->max_message = (uint32_t)(cap / 8);
    h->stream_id = stream_id;
    h->creator_pid = (uint64_t)getpid();
    h->created_ns = tp_clock_monotonic_ns();
    h->tag_salt = salt;
    /* Release: every header field above is visible to whoever sees the version. */
    tp_store_release_u32(&h->version, TP_SHMLOG_VERSION);
    if (linkat(dirfd, tmp, dirfd, name, 0) != 0) {
        int e = errno;
        munmap(base, size);
        unlinkat(dirfd, tmp, 0);
        close(fd);
        if (e == EEXIST)
            return 0;
        return tp_err_set_errno(TP_EIO, e, "link %s", name);
    }
    unlinkat(dirfd, tmp, 0);
    close(fd);
    bind_mapping(log, base, size, cap, stream_id, salt);
    return 1;
fail:
    unlinkat(dirfd, tmp, 0);
    close(fd);
    return rc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Checks of an existing log's header snapshot: a foreign, older, resized or other stream's
 * file is refused with a reason. */
static int validate_header(const tp_shmlog_header_t *hs, uint32_t version, uint64_t file_size,
                           uint32_t stream_id, uint64_t want_cap, const char *name)
{
    uint64_t cap = hs->capacity;
    if (hs->magic != TP_SHMLOG_MAGIC)
        return tp_err_set(TP_EIO, "%s: bad magic 0x%016" PRIx64 ": not a tensorpool log", name,
                          hs->magic);
    if (version != TP_SHMLOG_VERSION)
        return tp_err_set(TP_EVERSION, "%s: log version %u unsupported (this build: %u)", name,
                          version, TP_SHMLOG_VERSION);
    if (capacity_check(cap) != 0 || hs->meta_bytes != TP_SHMLOG_META_BYTES ||
        hs->max_message != cap / 8 || file_size != TP_SHMLOG_META_BYTES + cap)
        return tp_err_set(TP_EIO, "%s: size %" PRIu64 " does not match its header (capacity %"
                          PRIu64 "): refused", name, file_size, cap);
    if (hs->stream_id != stream_id)
        return tp_err_set(TP_EIO, "%s belongs to stream %u, not %u", name, hs->stream_id,
                          stream_id);
    if (want_cap != 0 && want_cap != cap)
        return tp_err_set(TP_ECHANNEL,
                          "stream %u exists with term-length %" PRIu64 ", channel asks %" PRIu64,
                          stream_id, cap, want_cap);
    return 0;
}

/* Map an existing log and check everything before trusting anything inside it. */
static int open_existing(tp_shmlog_t *log, int dirfd, const char *name, uint32_t stream_id,
                         uint64_t want_cap, uint64_t timeout_ns)
{
    uint64_t deadline = tp_clock_monotonic_ns() + timeout_ns;
    struct stat st;
    uint8_t *base;
    tp_shmlog_header_t *h;
    uint64_t cap;
    int fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : tp_err_set_errno(TP_EIO, errno, "open %s", name);
    for (;;) {
        if (fstat(fd, &st) != 0) {
            close(fd);
            return tp_err_set_errno(TP_EIO, errno, "fstat %s", name);
        }
        if (!S_ISREG(st.st_mode)) {
            close(fd);
            return tp_err_set(TP_EIO, "%s is not a regular file", name);
        }
        if ((uint64_t)st.st_size >= TP_SHMLOG_META_BYTES + TP_SHMLOG_MIN_CAPACITY)
            break;
        /* Files are linked into place complete (create_log); a short one is foreign. */
        if (tp_clock_monotonic_ns() > deadline) {
            close(fd);
            return tp_err_set(TP_EIO, "%s is %lld bytes: not a tensorpool log", name,
                              (long long)st.st_size);
        }
        sleep_ms(1);
    }
    /* The header page first: nothing inside the file is trusted before it is validated. */
    base = mmap(NULL, TP_SHMLOG_PAGE, PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        close(fd);
        return tp_err_set_errno(TP_EIO, e, "mmap %s", name);
    }
    h = (tp_shmlog_header_t *)(void *)base;
    /* Acquire: pairs with the creator's release of version. Then validate a private
     * snapshot: the shared header could change under us, and we unmap before reporting. */
    uint32_t version = tp_load_acquire_u32(&h->version);
    tp_shmlog_header_t hs;
    memcpy(&hs, h, offsetof(tp_shmlog_header_t, tail));
    munmap(base, TP_SHMLOG_PAGE);
    if (validate_header(&hs, version, (uint64_t)st.st_size, stream_id, want_cap, name) != 0) {
        close(fd);
        return -1;
    }
    cap = hs.capacity;
    /* The whole file, exactly the validated size, through the same descriptor. */
    base = mmap(NULL, TP_SHMLOG_META_BYTES + cap, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return tp_err_set_errno(TP_EIO, errno, "mmap %s", name);
    bind_mapping(log, base, TP_SHMLOG_META_BYTES + cap, cap, stream_id, hs.tag_salt);
    return 1;
}

int tp_shmlog_open_at(tp_shmlog_t *log, int dirfd, const char *name, uint32_t stream_id,
                      uint32_t capacity, uint32_t default_capacity, mode_t file_mode,
                      uint64_t open_timeout_ns)
{
    uint64_t cap = capacity ? capacity : default_capacity;
    memset(log, 0, sizeof *log);
    if (capacity_check(cap) != 0)
        return -1;
    for (int attempt = 0; attempt < 8; attempt++) {
        int rc = open_existing(log, dirfd, name, stream_id, capacity, open_timeout_ns);
        if (rc != 0)
            return rc < 0 ? tp_err_push("open log %s", name) : 0;
        rc = create_log(log, dirfd, name, stream_id, cap, file_mode);
        if (rc != 0)
            return rc < 0 ? tp_err_push("create log %s", name) : 0;
        /* lost the race: the winner's file exists now */
    }
    return tp_err_set(TP_EIO, "log %s: could not open or create it", name);
}

void tp_shmlog_close(tp_shmlog_t *log)
{
    if (log->base)
        munmap(log->base, log->map_size);
    memset(log, 0, sizeof *log);
}

/* ---- entries ------------------------------------------------------------------------------- */

static inline uint64_t entry_state(uint64_t w) { return w & STATE_MASK; }

/* May an entry that is not FREE be taken over? Only when its owner cannot come back to it:
 * heartbeat stale and the pid gone, or stale for so long that the pid says nothing (pid
 * reuse, another pid namespace). A stalled live owner is evicted instead (refresh_limit)
 * and takes its own entry back when it wakes (rejoin). */
static int owner_gone(uint64_t w, uint64_t hb, uint64_t now, uint64_t liveness_ns)
{
    pid_t pid = (pid_t)(w >> 32);
    if (!hb_stale(now, hb, liveness_ns))
        return 0;
    if (hb_stale(now, hb, 16 * liveness_ns))
        return 1;
    return pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH);
}

int tp_shmlog_entry_acquire(tp_shmlog_entry_t *table, uint64_t now_ns, uint64_t liveness_ns,
                            uint32_t *index_out, uint64_t *word_out)
{
    uint64_t pid = (uint64_t)(uint32_t)getpid();
    for (uint32_t i = 0; i < TP_SHMLOG_ENTRIES; i++) {
        tp_shmlog_entry_t *e = &table[i];
        uint64_t w = tp_load_acquire_u64(&e->state);
        uint64_t hb = tp_load_acquire_u64(&e->heartbeat_ns);
        if (entry_state(w) != TP_SHMLOG_ENTRY_FREE && !owner_gone(w, hb, now_ns, liveness_ns))
            continue;
        uint64_t gen = ((w >> 2) + 1) & ENTRY_GEN_MASK;
        uint64_t nw = TP_SHMLOG_ENTRY_ACTIVE | (gen << 2) | (pid << 32);
        /* Heartbeat first (release): a publisher that sees the entry ACTIVE also sees a
         * fresh heartbeat and does not evict it on the spot. */
        tp_store_release_u64(&e->heartbeat_ns, now_ns);
        if (cas_u64(&e->state, &w, nw)) {
            tp_store_release_u64(&e->joined_ns, now_ns);
            *index_out = i;
            *word_out = nw;
            return 0;
        }
    }
    return tp_err_set(TP_ETOOBIG, "all %u entries of the stream's table are in use",
                      TP_SHMLOG_ENTRIES);
}

void tp_shmlog_entry_release(tp_shmlog_entry_t *table, uint32_t index, uint64_t word)
{
    uint64_t w = word;
    if (cas_u64(&table[index].state, &w, word & ~STATE_MASK)) /* keep gen, state FREE */
        return;
    /* Evicted by a publisher: still ours (same generation), free it. */
    w = (word & ~STATE_MASK) | TP_SHMLOG_ENTRY_EVICTED;
    cas_u64(&table[index].state, &w, word & ~STATE_MASK);
}

int tp_shmlog_any_live(const tp_shmlog_entry_t *table, uint64_t now_ns, uint64_t liveness_ns)
{
    for (uint32_t i = 0; i < TP_SHMLOG_ENTRIES; i++) {
        uint64_t w = tp_load_acquire_u64(&table[i].state);
        uint64_t hb = tp_load_acquire_u64(&table[i].heartbeat_ns);
        if (entry_state(w) == TP_SHMLOG_ENTRY_ACTIVE && !hb_stale(now_ns, hb, liveness_ns))
            return 1;
    }
    return 0;
}

/* ---- publisher ------------------------------------------------------------------------------ */

/* Recompute the cached limit: min position of live subscribers + capacity. Subscribers
 * whose heartbeat is too old are evicted first (CAS ACTIVE -> EVICTED), so they learn it on
 * their next poll; only then do we stop respecting their position. */
static int refresh_limit(tp_shmlog_pub_t *p)
{
    tp_shmlog_t *log = p->log;
    uint64_t now = tp_clock_monotonic_ns();
    uint64_t min = UINT64_MAX;
    /* Membership first: a change during the scan makes the next claim scan again. */
    p->membership = tp_load_acquire_u64(&log->hdr->membership);
    /* The tail before the fence bounds the limit (shmlog.h, "Join"): a joiner our scan
     * misses starts at a tail >= this one, whatever positions we read later in the scan. */
    uint64_t tail0 = tp_load_acquire_u64(&log->hdr->tail);
    /* Full fence: pairs with the fence in join_at_tail (store entry; fence; load tail). */
    tp_fence_seq_cst();
    for (uint32_t i = 0; i < TP_SHMLOG_ENTRIES; i++) {
        tp_shmlog_entry_t *e = &log->subs[i];
        uint64_t w = tp_load_acquire_u64(&e->state);
        if (entry_state(w) != TP_SHMLOG_ENTRY_ACTIVE)
            continue;
        uint64_t hb = tp_load_acquire_u64(&e->heartbeat_ns);
        if (hb_stale(now, hb, p->liveness_ns)) {
            uint64_t x = w;
            if (cas_u64(&e->state, &x, (w & ~STATE_MASK) | TP_SHMLOG_ENTRY_EVICTED)) {
                tp_fetch_add_u64(&log->hdr->membership, 1); /* other publishers rescan */
                continue;
            }
            if (entry_state(x) != TP_SHMLOG_ENTRY_ACTIVE)
                continue; /* evicted by another publisher, or gone */
            w = x;        /* a new owner took the entry meanwhile: respect it */
        }
        uint64_t pos = tp_load_acquire_u64(&e->position);
        if (pos < min) {
            min = pos;
            p->limiter = i;
            p->limiter_word = w;
            p->limiter_pos = pos;
        }
    }
    if (min == UINT64_MAX) {
        p->limit = 0;
        p->limiter = TP_SHMLOG_ENTRIES;
        p->alone = 1; /* until membership moves: joins, leaves and evictions all bump it */
        return TP_PUB_NOT_CONNECTED;
    }
    if (min > tail0)
        min = tail0; /* positions never pass the tail; the cap is for a joiner we missed */
    p->limit = min + log->capacity;
    return 0;
}

/* The u32 check word of the record at pos (shmlog.h, "Record"): written with an atomic
 * store because a recovering subscriber may write the same value concurrently. Release,
 * and only once the word at pos no longer holds a stale value (write_header, pad_headerless):
 * a reader that sees it and then reloads the word sees the word's newer value (header_valid). */
static inline void store_check(const tp_shmlog_t *log, uint64_t pos)
{
    atomic_store_explicit(TP_AT32(log->data + (pos & log->mask) + 12), record_check(log, pos),
                          memory_order_release);
}

/* The header a recovering subscriber gives each 32-byte slot of a dead headerless claim. */
static inline uint64_t pad_word(const tp_shmlog_t *log, uint64_t pos)
{
    return make_word(log, pos, TP_SHMLOG_ALIGN, TP_SHMLOG_PADDING);
}

/* Is *w (the word at pos, loaded with acquire by the caller) really the record header at
 * pos? Current tag, matching check word (acquire), and then the word reloaded: a stale word
 * can carry the current tag (a message that ended inside it left the upper half of an older
 * header there, shmlog.h "Record"), but the check word is written only after such a word was
 * replaced, so the reload returns the replacement. *w is updated to the reloaded word. */
static inline int header_valid(const tp_shmlog_t *log, uint64_t *w, uint64_t pos)
{
    if (!word_current(log, *w, pos) ||
        atomic_load_explicit(TP_AT32(log->data + (pos & log->mask) + 12),
                             memory_order_acquire) != record_check(log, pos))
        return 0;
    *w = tp_load_acquire_u64(word_at(log, pos));
    return word_current(log, *w, pos);
}

/* Steps 4 of shmlog.h up to the header CAS, in the region the tail CAS gave us: the length
 * word, the stale word at pos made non-current, the check word. *w_out = the value the
 * header CAS must expect (a subscriber that recovered the region meanwhile, because we
 * stalled for the unblock timeout, changes it and makes that CAS fail instead of us
 * resurrecting the region). 0, or -1 when the region was recovered already. */
static int prepare_header(const tp_shmlog_t *log, uint64_t pos, uint32_t length, uint64_t *w_out)
{
    uint64_t *wp = word_at(log, pos);
    /* A store first: it fetches the line exclusive in one coherence round, where a load
     * first would fetch it shared and the CAS upgrade it in a second. The length word: it is
     * ours and read by nobody before COMMITTED. (Not the check word: it must not vouch for
     * what is at pos before we know that is not stale.) */
    atomic_store_explicit(TP_AT32(log->data + (pos & log->mask) + 8), length,
                          memory_order_relaxed);
    uint64_t w = tp_load_acquire_u64(wp);
    /* A recoverer writes exactly this word (pad_headerless); nothing else but us writes a
     * word at pos in this lap. So a current tag on any other value is stale bytes that only
     * look current: make them non-current (state 0) before the check word vouches for pos. */
    if (w == pad_word(log, pos))
        return -1; /* recovered meanwhile */
    if (word_current(log, w, pos)) {
        if (!cas_u64(wp, &w, 0))
            return -1; /* recovered meanwhile */
        w = 0;
    }
    store_check(log, pos);
    *w_out = w;
    return 0;
}

/* Write our header word into the region the tail CAS gave us (prepare_header, then the CAS;
 * release, acq_rel CAS: the check word is visible before the header that it vouches for). */
static int write_header(const tp_shmlog_t *log, uint64_t pos, uint64_t word)
{
    uint64_t w;
    return prepare_header(log, pos, 0, &w) == 0 && cas_u64(word_at(log, pos), &w, word) ? 0 : -1;
}

/* Steps 1-3 of shmlog.h (and the padding header when the record would cross the end): room
 * for a message of len bytes. *pos_out = where its record goes, *rec_out = the record's
 * size; returns 0 or a TP_PUB_* sentinel. */
static int64_t reserve(tp_shmlog_pub_t *p, size_t len, uint64_t *pos_out, uint64_t *rec_out)
{
    tp_shmlog_t *log = p->log;
    tp_shmlog_header_t *h = log->hdr;
    uint64_t rec;

    if (len > log->max_message)
        return TP_PUB_MAX_SIZE_EXCEEDED;
    rec = *rec_out = record_bytes(len);
    /* Acquire: a subscriber that left did so before we drop the limit it allowed. */
    if (tp_load_acquire_u64(&h->membership) != p->membership) {
        /* Someone joined, left or was evicted: rescan before the next claim. The limiter
         * shortcut below must not answer for a table that changed (it would refuse 63 of
         * every 64 offers until the periodic rescan, and keep a dead subscriber's hold). */
        p->limit = 0;
        p->alone = 0;
        p->limiter = TP_SHMLOG_ENTRIES;
    } else if (p->alone) {
        return TP_PUB_NOT_CONNECTED; /* nobody joined since the scan that found nobody */
    }
    for (;;) {
        uint64_t t = tp_load_acquire_u64(&h->tail);
        uint64_t to_end = log->capacity - (t & log->mask);
        uint64_t need = rec <= to_end ? rec : to_end + rec;
        if (t + need > p->limit) {
            /* Back-pressured publishers spin on offer: rather than a full rescan (fence,
             * clock, the whole table) per attempt, watch the subscriber that held us back and
             * rescan only once it has moved (or left: its state word changes). */
            if (p->limiter < TP_SHMLOG_ENTRIES && (++p->waits & 63u) != 0 &&
                tp_load_acquire_u64(&log->subs[p->limiter].state) == p->limiter_word &&
                tp_load_acquire_u64(&log->subs[p->limiter].position) == p->limiter_pos)
                return TP_PUB_BACK_PRESSURED; /* every 64th wait rescans: evicts the dead */
            int rc = refresh_limit(p);
            if (rc < 0)
                return rc;
            if (t + need > p->limit)
                return TP_PUB_BACK_PRESSURED;
            continue;
        }
        /* The claim (acq_rel CAS on the tail, Aeron-style): [t, t + need) is ours. The tail
         * only grows, so this CAS cannot suffer ABA; nothing else in the log is CASed from a
         * value read before we owned it. */
        uint64_t expect_t = t;
        if (!cas_u64(&h->tail, &expect_t, t + need))
            continue;
        if (rec > to_end) { /* pad to the end of the buffer; the record goes at the start */
            if (write_header(log, t, make_word(log, t, to_end, TP_SHMLOG_PADDING)) != 0)
                return TP_PUB_ADMIN_ACTION;
            t += to_end;
        }
        *pos_out = t;
        return 0;
    }
}

int64_t tp_shmlog_claim(tp_shmlog_pub_t *p, size_t len, uint64_t *pos_out, uint64_t *word_out)
{
    tp_shmlog_t *log = p->log;
    uint64_t rec, t, claimed;
    int64_t rc = reserve(p, len, &t, &rec);

    if (rc != 0)
        return rc;
    claimed = make_word(log, t, rec, TP_SHMLOG_CLAIMED);
    if (write_header(log, t, claimed) != 0)
        return TP_PUB_ADMIN_ACTION;
    *pos_out = t;
    *word_out = claimed;
    return (int64_t)(t + rec);
}

int64_t tp_shmlog_offer(tp_shmlog_pub_t *p, const void *buf, size_t len)
{
    tp_shmlog_t *log = p->log;
    uint64_t rec, t, w;
    int64_t rc = reserve(p, len, &t, &rec);

    if (rc != 0)
        return rc;
    /* Whole message, then the header straight to COMMITTED (shmlog.h "offer"): one header
     * CAS instead of two, and no CLAIMED state for a spinning subscriber to fetch the line
     * for in between. */
    if (prepare_header(log, t, (uint32_t)len, &w) != 0)
        return TP_PUB_ADMIN_ACTION;
    memcpy(log->data + (t & log->mask) + TP_SHMLOG_RECORD_HEADER, buf, len);
    /* Release (acq_rel CAS): length, check word and message bytes before COMMITTED. */
    if (!cas_u64(word_at(log, t), &w, make_word(log, t, rec, TP_SHMLOG_COMMITTED)))
        return TP_PUB_ADMIN_ACTION; /* recovered while we copied: the message is lost */
    return (int64_t)(t + rec);
}

int tp_shmlog_commit(tp_shmlog_t *log, uint64_t pos, uint64_t word, size_t len)
{
    uint8_t *rec = log->data + (pos & log->mask);
    uint64_t expected = word;
    uint32_t len32 = (uint32_t)len;
    memcpy(rec + 8, &len32, sizeof len32);
    /* Release (acq_rel CAS): length and message bytes are visible before COMMITTED. */
    if (cas_u64(word_at(log, pos), &expected,
                (word & ~STATE_MASK) | TP_SHMLOG_COMMITTED))
        return 0;
    return tp_err_set(TP_ETIMEOUT,
                      "claim at position %" PRIu64 " of stream %u was turned into padding "
                      "after the unblock timeout: message lost", pos, log->stream_id);
}

void tp_shmlog_abort(tp_shmlog_t *log, uint64_t pos, uint64_t word)
{
    uint64_t expected = word;
    cas_u64(word_at(log, pos), &expected, (word & ~STATE_MASK) | TP_SHMLOG_PADDING);
}

/* ---- subscriber ----------------------------------------------------------------------------- */

static void join_at_tail(tp_shmlog_sub_t *s)
{
    tp_shmlog_entry_t *e = &s->log->subs[s->entry];
    uint64_t t = tp_load_acquire_u64(&s->log->hdr->tail);
    tp_store_release_u64(&e->position, t);
    /* Full fence: pairs with refresh_limit's; a publisher that missed our entry computed
     * its limit from positions no later than the tail we load now. */
    tp_fence_seq_cst();
    t = tp_load_acquire_u64(&s->log->hdr->tail);
    tp_store_release_u64(&e->position, t);
    s->position = t;
    s->stuck_position = UINT64_MAX;
    tp_fetch_add_u64(&s->log->hdr->membership, 1);
}

void tp_shmlog_sub_leave(tp_shmlog_sub_t *s)
{
    tp_shmlog_entry_release(s->log->subs, s->entry, s->word);
    tp_fetch_add_u64(&s->log->hdr->membership, 1);
}

int tp_shmlog_sub_join(tp_shmlog_sub_t *s, tp_shmlog_t *log, uint64_t now_ns)
{
    uint64_t unblock = s->unblock_ns, liveness = s->liveness_ns;
    memset(s, 0, sizeof *s);
    s->log = log;
    s->unblock_ns = unblock;
    s->liveness_ns = liveness;
    if (tp_shmlog_entry_acquire(log->subs, now_ns, liveness, &s->entry, &s->word) != 0)
        return -1;
    join_at_tail(s);
    return 0;
}

/* Our entry was evicted (or reclaimed), or we found a corrupt record: we may have been
 * lapped. Keep our entry (still ACTIVE: the corrupt-record case), take it back (evicted,
 * same generation) or take a new one (reclaimed), rejoin at the tail and account for what we
 * skipped. Never a second entry while the first is still ours: that one would stay ACTIVE
 * at the old position and hold every publisher back until it is evicted as dead. */
static int rejoin(tp_shmlog_sub_t *s, const char *why)
{
    tp_shmlog_entry_t *e = &s->log->subs[s->entry];
    uint64_t now = tp_clock_monotonic_ns();
    uint64_t old = s->position, w = tp_load_acquire_u64(&e->state);
    uint64_t evicted = (s->word & ~STATE_MASK) | TP_SHMLOG_ENTRY_EVICTED;

    if (w == s->word || w == evicted) /* heartbeat only into our own entry */
        tp_store_release_u64(&e->heartbeat_ns, now);
    if (w != s->word && !(w == evicted && cas_u64(&e->state, &w, s->word))) {
        if (tp_shmlog_entry_acquire(s->log->subs, now, s->liveness_ns, &s->entry, &s->word) != 0)
            return tp_err_push("stream %u: rejoin", s->log->stream_id);
    }
    join_at_tail(s);
    s->lost_bytes += s->position > old ? s->position - old : 0;
    s->lapped_count++;
    return tp_err_set(TP_ELAPPED,
                      "stream %u: subscription %s and rejoined at the tail, skipping %" PRIu64
                      " bytes", s->log->stream_id, why, s->position > old ? s->position - old : 0);
}

/* Has the record at p been in progress for the unblock timeout? Starts the clock the first
 * time it is seen stuck. */
static int stuck_too_long(tp_shmlog_sub_t *s, uint64_t p)
{
    uint64_t now = tp_clock_monotonic_ns();
    if (s->stuck_position != p) {
        s->stuck_position = p;
        s->stuck_since_ns = now;
        return 0;
    }
    return now - s->stuck_since_ns >= s->unblock_ns;
}

/* Dead claim with a header word (CLAIMED for the unblock timeout): pad it, same length. */
static void pad_claimed(tp_shmlog_sub_t *s, uint64_t p, uint64_t w)
{
    uint64_t x = w;
    if (cas_u64(word_at(s->log, p), &x, (w & ~STATE_MASK) | TP_SHMLOG_PADDING))
        s->padded_claims++;
    s->stuck_position = UINT64_MAX;
}

/* Dead claim without a header word: its publisher died between the tail CAS and writing the
 * header, so nobody knows its length. Everything from p up to the next real header (or the
 * tail) is dead claims: give each 32-byte slot a PADDING(32) header, CASed from the stale
 * value found there. A live publisher that claimed in that range but has not written its
 * header yet then fails its header CAS and reports the loss (ADMIN_ACTION) instead of
 * writing a record that some subscribers would already have skipped. */
static void pad_headerless(tp_shmlog_sub_t *s, uint64_t p)
{
    tp_shmlog_t *log = s->log;
    uint64_t tail = tp_load_acquire_u64(&log->hdr->tail);
    for (uint64_t x = p; x < tail; x += TP_SHMLOG_ALIGN) {
        uint64_t *wp = word_at(log, x);
        uint64_t w = tp_load_acquire_u64(wp);
        if (header_valid(log, &w, x))
            break; /* the next real record */
        /* The check word only after the CAS: it must not vouch for a stale word that merely
         * carries the current tag (header_valid). A failed CAS: the slot's publisher (or
         * another recoverer) got there first, and the slot is theirs. */
        if (!cas_u64(wp, &w, pad_word(log, x)))
            break;
        store_check(log, x);
    }
    s->padded_claims++;
    s->stuck_position = UINT64_MAX;
}

/* Store our position for publishers — also when the shared value differs from ours (a
 * stalled former owner of the entry may have overwritten it) — but only into an entry that
 * is still ours. Release: our reads of the records before p happen before their reuse. */
static void publish_position(tp_shmlog_sub_t *s, uint64_t p)
{
    tp_shmlog_entry_t *e = &s->log->subs[s->entry];
    if (p == s->position && tp_load_relaxed_u64(&e->position) == p)
        return;
    s->position = p;
    if (tp_load_acquire_u64(&e->state) == s->word)
        tp_store_release_u64(&e->position, p);
}

/* Is p inside a claimed region (p < tail)? An idle subscriber asks this on every empty
 * poll; reading the tail each time would keep pulling the cache line every publisher
 * writes. So the last tail seen answers "yes" for free, and "no" is re-checked against the
 * real tail only every 256th time: a dead claim is then noticed at most 256 empty polls
 * late, nothing next to an unblock timeout. */
static int claimed_below_tail(tp_shmlog_sub_t *s, uint64_t p)
{
    if (p < s->tail_seen)
        return 1;
    if ((++s->empty_polls & 255u) != 0)
        return 0;
    s->tail_seen = tp_load_acquire_u64(&s->log->hdr->tail);
    return p < s->tail_seen;
}

int tp_shmlog_poll(tp_shmlog_sub_t *s, tp_shmlog_handler_t handler, void *clientd, int limit)
{
    tp_shmlog_t *log = s->log;
    const uint64_t *own_state = &log->subs[s->entry].state;
    uint64_t max_record = record_bytes(log->max_message);
    uint64_t p = s->position;
    int n = 0;

    /* Own cache line: publishers write it only to evict us. */
    if (tp_load_acquire_u64(own_state) != s->word)
        return rejoin(s, "was declared dead (no heartbeat within the liveness timeout)");
    while (n < limit) {
        /* Acquire: pairs with the header/commit CAS; the check word, length and bytes
         * below are complete. */
        uint64_t w = tp_load_acquire_u64(word_at(log, p));
        if (!header_valid(log, &w, p)) {
            /* No header at p: nothing offered yet (p at the tail), or a claim whose
             * publisher has not written its header yet — or died before it. */
            if (!claimed_below_tail(s, p) || !stuck_too_long(s, p))
                break;
            pad_headerless(s, p);
            continue;
        }
        uint64_t size = word_bytes(w), idx = p & log->mask;
        if (size == 0 || size > max_record || idx + size > log->capacity) {
            publish_position(s, p);
            return rejoin(s, "found a corrupt record");
        }
        uint64_t state = w & STATE_MASK;
        if (state == TP_SHMLOG_CLAIMED) {
            if (!stuck_too_long(s, p))
                break;
            pad_claimed(s, p, w);
            continue;
        }
        if (state == TP_SHMLOG_COMMITTED) {
            uint32_t len;
            memcpy(&len, log->data + idx + 8, sizeof len);
            if (len > size - TP_SHMLOG_RECORD_HEADER) {
                publish_position(s, p);
                return rejoin(s, "found a corrupt record");
            }
            handler(clientd, log->data + idx + TP_SHMLOG_RECORD_HEADER, len);
            n++;
            /* Evicted while the handler ran? Stop before reading on (shmlog.h, Subscribing). */
            if (tp_load_acquire_u64(own_state) != s->word) {
                publish_position(s, p + size);
                return n;
            }
        }
        p += size;
    }
    publish_position(s, p);
    return n;
}

/*
 * shmlog: the embedded transport. One memory-mapped log file per (channel, stream id) gives
 * any number of publishers and subscribers in any processes the aeron:ipc semantics the
 * protocol relies on (DESIGN.md §3). No external process, no system call, lock or allocation
 * in claim / commit / poll.
 *
 * ---- File ----------------------------------------------------------------------------------
 *
 *   0       4096  header page       magic, version (ready word), geometry; `tail` and
 *                                  `membership` on cache lines of their own
 *   4096    16384 subscriber table  256 entries x 64 bytes
 *   20480   16384 publisher table   256 entries x 64 bytes
 *   36864   capacity bytes          the log: records at positions p, stored at p & (capacity-1)
 *
 *   Positions are byte counts since the log was created (u64, never wrap). capacity is a
 *   power of two, 64 KiB .. 256 MiB; the longest message is capacity / 8.
 *
 * ---- Record (32-byte aligned; a 48-byte FrameDescriptor + header = 64 bytes) ------------------
 *
 *   +0   u64 word      state | units << 2 | tag << 23            (atomic; see below)
 *   +8   u32 length    message bytes: written at the commit, read only after seeing COMMITTED
 *   +12  u32 check     (p >> 5) ^ salt, 32 bits: vouches for the word (see below)
 *   +16  message bytes, then slack up to units * 32
 *
 *   state (bits 0-1): 1 CLAIMED, 2 COMMITTED, 3 PADDING; 0 never appears in a current word.
 *   units (bits 2-22): record size in 32-byte units, header included.
 *   tag  (bits 23-63): (lap of p + salt) mod 2^41, lap = p >> log2(capacity), salt = a
 *                      random number drawn when the log is created (header `tag_salt`).
 *
 *   A word is *current* for position p when its tag is p's and its state is not 0.
 *   Everything else found at p & mask — words of earlier laps, the zeroes of a new file,
 *   message bytes of earlier laps — means "nothing at p yet", so nobody has to clean the log.
 *   Message bytes are arbitrary, so a stale 8-byte value *could* look current. Worse, it can
 *   be two values: a message that ends inside the word (at p + 1 .. p + 7) overwrites only
 *   its low bytes and leaves the upper ones of whatever was there before, e.g. the upper half
 *   of the header of an older lap at p. A tag's upper 32 bits are the same for 512
 *   consecutive laps, so such a word carries the current tag whenever the message's last
 *   bytes hold the low 9 tag bits and a non-zero state: about 1 in 700, not 2^-41. The tag
 *   alone therefore proves nothing; the check word vouches for the header:
 *     - it is written only once the word at p holds no stale value any more: after the
 *       recoverer's CAS (below), and by the publisher only after it has replaced a stale
 *       word that carries the current tag by 0 (step 4); release;
 *     - a reader loads the word (acquire), then the check word (acquire), then the word
 *       again, and uses the reloaded word: a stale word read just before its replacement
 *       never pairs with the check word written after it.
 *   A header is *valid* when its (reloaded) word has the current tag and the check word
 *   matches (a stale check word matches by a 2^-32 coincidence; one that is partly an older
 *   check word of the same offset, by about 2^-16), and its units must be plausible.
 *
 * ---- Publishing (any number of publishers) --------------------------------------------------
 *
 *   1. t = load_acquire(tail); need = record size (+ padding to the buffer end when the
 *      record would cross it).
 *   2. Back-pressure: t + need <= limit, where limit = (min position of live subscribers,
 *      capped by the tail read before the scan's fence) + capacity, cached per publication
 *      and recomputed only when exceeded (positions only grow and newcomers join at the
 *      tail, so a cached limit is never too high). The cache is also dropped whenever the
 *      header's `membership` counter moved (a subscriber joined, left or was evicted), so
 *      the last subscriber leaving turns the very next offer into NOT_CONNECTED.
 *      No live subscriber: NOT_CONNECTED. Still over: BACK_PRESSURED.
 *   3. The claim: CAS tail t -> t + need (Aeron-style). [t, t + need) is ours. The tail only
 *      grows, so the claim cannot suffer ABA, and nobody CASes log memory from a value read
 *      before owning it.
 *   4. Header (PADDING up to the end, then CLAIMED at the start, or just CLAIMED):
 *      store the length word (it fetches the line exclusive; nobody reads it before
 *      COMMITTED), load the word w at t. w == PADDING(32) with t's tag is what a recoverer
 *      writes (below): the claim is lost (ADMIN_ACTION). Any other w with t's tag is stale
 *      bytes (see Record): CAS it to 0 first (state 0: never current). Then store the
 *      check word and CAS w -> CLAIMED(units, tag). CASes, not stores: if we stalled so
 *      long that a subscriber recovered the region (below), one fails and the publisher
 *      learns its claim is lost (ADMIN_ACTION). (A stale word that happens to equal that
 *      PADDING(32) exactly, 2^-32 on top of the above, loses the claim the same way; the
 *      check word never vouched for it, so subscribers recover it like a dead claim.)
 *   5. Write length and message bytes with plain stores.
 *   6. Commit: CAS word CLAIMED -> COMMITTED (release: orders 4-5 before the word). A CAS:
 *      if the claim was turned into padding meanwhile, the commit fails and no subscriber
 *      sees the late message (each sees all or none of the stream).
 *   Abort: CAS CLAIMED -> PADDING.
 *   offer (a copy of a whole message, tp_shmlog_offer): steps 1-3, step 4 without its last
 *      CAS (length word, stale word made non-current, check word), the message bytes, then
 *      one CAS from the value found at t straight to COMMITTED (release). No CLAIMED state
 *      is ever visible: in between a subscriber sees no valid header at p < tail, i.e. a
 *      claim whose header is not written yet, and waits (or, after the unblock timeout,
 *      recovers it as below, which makes the final CAS fail: ADMIN_ACTION, message lost).
 *      One header CAS instead of two, and a subscriber spinning on the record's line no
 *      longer takes it away from the publisher between the CLAIMED and COMMITTED CASes.
 *
 * ---- Subscribing -----------------------------------------------------------------------------
 *
 *   Join: take a table entry (CAS FREE -> ACTIVE), store position = tail, seq_cst fence,
 *   reload tail and start there. A publisher loads the tail *before* its own seq_cst fence
 *   and caps its limit at that tail + capacity: if its scan missed our entry, its fence came
 *   first, so the tail we load is at least its tail, and nothing at or after our start can
 *   be overwritten.
 *   Poll at position p: load own entry state (own cache line) — EVICTED or taken over means
 *   the subscriber was declared dead and may have been lapped: rejoin at the tail, add the
 *   skipped bytes to lost_bytes, return -1 (TP_ELAPPED). Rejoining takes the entry back
 *   (EVICTED -> ACTIVE, same generation) or, if it was reclaimed, a new one; never a second
 *   entry while the first is still ours. Then the word at p (valid: see Record):
 *     valid COMMITTED  deliver length bytes at p + 16 in place, advance;
 *     valid PADDING    advance;
 *     implausible      units (or a length beyond the record) in a valid header: corruption;
 *                      rejoin at the tail as above, keeping the entry;
 *     valid CLAIMED    in progress: remember when it was first seen; once it has stayed
 *                      CLAIMED for the unblock timeout, CAS CLAIMED -> PADDING (its
 *                      publisher died between header and commit) and advance;
 *     no valid header  p >= tail: nothing offered yet (stop). p < tail: a claim whose
 *                      header is not written yet; after the unblock timeout its publisher
 *                      is taken for dead (it died between the tail CAS and its header, so
 *                      nobody knows the length): every 32-byte slot from p up to the next
 *                      valid header (or the tail) gets a PADDING(32) header, CASed from the
 *                      stale value there, and then its check word; a failed CAS stops the
 *                      recovery (a live publisher owns that slot now). A live-but-late
 *                      publisher in the padded range then fails step 4 instead of writing
 *                      a record others have skipped.
 *   The fast path reads one cache line per message (the word, check word and, for small
 *   messages, the bytes); the tail is read only when no valid header is found.
 *   After each handler call the subscriber re-checks its own entry (one load of its own
 *   line): an eviction that happened meanwhile stops the poll before it reads further.
 *   After the loop, store_release(own position) — and again whenever the shared value
 *   differs from ours — but only while the entry is still ours: publishers may now reuse
 *   what was read.
 *   Messages are valid in place during the handler because no live subscriber is ever
 *   overtaken; a subscriber that stops heartbeating for liveness_timeout loses that
 *   guarantee (it is evicted by the next publisher that needs the space).
 *
 * ---- Tables ------------------------------------------------------------------------------------
 *
 *   Entry state word: state (bits 0-1: 0 FREE, 1 ACTIVE, 2 EVICTED) | generation << 2 (30
 *   bits) | pid << 32. Entries are taken with a CAS on the whole word; a new generation makes
 *   a stale owner notice that its entry was reclaimed. An entry is reclaimed when FREE, or
 *   when its heartbeat is older than the liveness timeout and its pid is gone (kill(pid, 0)
 *   fails with ESRCH), or older than 16 liveness timeouts whatever the pid says (pid reuse,
 *   other pid namespaces). A stalled but live owner is evicted instead, and takes its own
 *   entry back (same generation) when it wakes. Heartbeats further than the timeout in the
 *   *future* (a log that survived a reboot in a persistent directory) count as stale too.
 *   Heartbeats (u64 CLOCK_MONOTONIC ns) are written by tp_transport_do_work; publishers
 *   evict a subscriber (CAS ACTIVE -> EVICTED) before they stop respecting its position.
 *
 * ---- Creation ------------------------------------------------------------------------------------
 *
 *   A creator writes the whole file under a private temporary name (O_CREAT|O_EXCL|
 *   O_NOFOLLOW, mode 0600, then fchmod to the configured mode), stores `version` last with
 *   release, and link()s it to the final name: link fails with EEXIST for everybody but the
 *   first, who then open the winner's file. So the final name never shows a half-initialised
 *   log, and a creator killed half-way leaves only its temporary file behind (removed by the
 *   next transport that opens the directory when its pid is dead). Openers check magic,
 *   version and that the size matches the header; an unknown version or a wrong size is
 *   refused. Logs outlive their processes and are reused: newcomers join at the tail, and
 *   table entries of dead processes are reclaimed once their heartbeat is stale.
 *
 * ---- Limits ---------------------------------------------------------------------------------
 *
 *   A publisher stalled between claim and commit for longer than the unblock timeout has
 *   lost its claim (its header or commit CAS fails); if it stays stalled until the log has
 *   wrapped, its late stores land in newer records. A subscriber stalled inside recovery
 *   for longer than the liveness timeout has the same window. Aeron's unblocking has it
 *   too; the timeouts (5 s by default) are what make it practically unreachable.
 */
#ifndef TP_TRANSPORT_SHMLOG_H
#define TP_TRANSPORT_SHMLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TP_SHMLOG_MAGIC 0x474F4C4D48535054ull /* bytes "TPSHMLOG" */
#define TP_SHMLOG_VERSION 2u /* 2: salted tags, check words, tail-CAS claims, 256 entries */
#define TP_SHMLOG_PAGE 4096u
#define TP_SHMLOG_ENTRIES 256u /* subscribers (and publishers) per stream */
#define TP_SHMLOG_TABLE_BYTES (TP_SHMLOG_ENTRIES * 64u)
#define TP_SHMLOG_SUBS_OFFSET TP_SHMLOG_PAGE
#define TP_SHMLOG_PUBS_OFFSET (TP_SHMLOG_PAGE + TP_SHMLOG_TABLE_BYTES)
#define TP_SHMLOG_META_BYTES (TP_SHMLOG_PAGE + 2u * TP_SHMLOG_TABLE_BYTES)
#define TP_SHMLOG_ALIGN 32u
#define TP_SHMLOG_RECORD_HEADER 16u
#define TP_SHMLOG_MIN_CAPACITY (64u * 1024u)
#define TP_SHMLOG_MAX_CAPACITY (256u * 1024u * 1024u)

#define TP_SHMLOG_CLAIMED 1u
#define TP_SHMLOG_COMMITTED 2u
#define TP_SHMLOG_PADDING 3u

#define TP_SHMLOG_ENTRY_FREE 0u
#define TP_SHMLOG_ENTRY_ACTIVE 1u
#define TP_SHMLOG_ENTRY_EVICTED 2u

typedef struct tp_shmlog_header {
    uint64_t magic;        /* 0 */
    uint32_t version;      /* 8: ready word, stored last with release */
    uint32_t meta_bytes;   /* 12: 12288 */
    uint64_t capacity;     /* 16 */
    uint32_t max_message;  /* 24: capacity / 8 */
    uint32_t stream_id;    /* 28 */
    uint64_t creator_pid;  /* 32 */
    uint64_t created_ns;   /* 40 */
    uint64_t tag_salt;     /* 48: random, drawn at creation (record word tags) */
    uint8_t reserved0[72]; /* 56 */
    uint64_t tail;         /* 128: next claim position (claims CAS it), own cache line */
    uint8_t reserved1[56];
    uint64_t membership;   /* 192: bumped when a subscriber joins, leaves or is evicted */
    uint8_t reserved2[TP_SHMLOG_PAGE - 200];
} tp_shmlog_header_t;

_Static_assert(sizeof(tp_shmlog_header_t) == TP_SHMLOG_PAGE, "shmlog header page");
_Static_assert(__builtin_offsetof(tp_shmlog_header_t, version) == 8, "shmlog layout");
_Static_assert(__builtin_offsetof(tp_shmlog_header_t, capacity) == 16, "shmlog layout");
_Static_assert(__builtin_offsetof(tp_shmlog_header_t, max_message) == 24, "shmlog layout");
_Static_assert(__builtin_offsetof(tp_shmlog_header_t, stream_id) == 28, "shmlog layout");
_Static_assert(__builtin_offsetof(tp_shmlog_header_t, creator_pid) == 32, "shmlog layout");
_Static_assert(__builtin_offsetof(tp_shmlog_header_t, created_ns) == 40, "shmlog layout");
_Static_assert(__builtin_offsetof(tp_shmlog_header_t, tag_salt) == 48, "shmlog layout");
_Static_assert(__builtin_offsetof(tp_shmlog_header_t, tail) == 128, "shmlog layout");
_Static_assert(__builtin_offsetof(tp_shmlog_header_t, membership) == 192, "shmlog layout");

/* One subscriber or publisher: a cache line each. */
typedef struct tp_shmlog_entry {
    uint64_t state;        /* 0: FREE/ACTIVE/EVICTED | gen << 2 | pid << 32 */
    uint64_t position;     /* 8: subscribers: next position to read */
    uint64_t heartbeat_ns; /* 16 */
    uint64_t joined_ns;    /* 24 */
    uint8_t reserved[32];
} tp_shmlog_entry_t;

_Static_assert(sizeof(tp_shmlog_entry_t) == 64, "shmlog entry");
_Static_assert(__builtin_offsetof(tp_shmlog_entry_t, position) == 8, "shmlog entry");
_Static_assert(__builtin_offsetof(tp_shmlog_entry_t, heartbeat_ns) == 16, "shmlog entry");
_Static_assert(TP_SHMLOG_ENTRIES * sizeof(tp_shmlog_entry_t) == TP_SHMLOG_TABLE_BYTES, "tables");
_Static_assert(TP_SHMLOG_META_BYTES % TP_SHMLOG_PAGE == 0, "the log starts page aligned");

/* A mapped log (process-local handle; shared by the publications/subscriptions of one
 * transport on the same stream). */
typedef struct tp_shmlog {
    uint8_t *base;
    size_t map_size;
    tp_shmlog_header_t *hdr;
    tp_shmlog_entry_t *subs;
    tp_shmlog_entry_t *pubs;
    uint8_t *data;
    uint64_t capacity;
    uint64_t mask;
    uint32_t cap_bits;
    uint32_t max_message;
    uint32_t stream_id;
    uint64_t tag_salt;
} tp_shmlog_t;

/* Open the log `name` in the directory dirfd, or create it (complete, under a temporary
 * name, then linked into place: whoever links first wins). capacity = 0: take the existing
 * file's, or default_capacity when creating; non-zero: must match an existing file.
 * Not a hot path: may sleep up to open_timeout_ns on a file that is still being written. */
int tp_shmlog_open_at(tp_shmlog_t *log, int dirfd, const char *name, uint32_t stream_id,
                      uint32_t capacity, uint32_t default_capacity, mode_t file_mode,
                      uint64_t open_timeout_ns);

void tp_shmlog_close(tp_shmlog_t *log);

/* ---- entries -------------------------------------------------------------------------------- */

/* Take an entry of the table (subs or pubs); *word_out = the state word now owned.
 * Reclaims FREE entries and entries whose heartbeat is older than liveness_ns. */
int tp_shmlog_entry_acquire(tp_shmlog_entry_t *table, uint64_t now_ns, uint64_t liveness_ns,
                            uint32_t *index_out, uint64_t *word_out);

/* Release an entry we own (word must match; a reclaimed entry is left alone). */
void tp_shmlog_entry_release(tp_shmlog_entry_t *table, uint32_t index, uint64_t word);

/* Any ACTIVE entry with a heartbeat within liveness_ns of now. */
int tp_shmlog_any_live(const tp_shmlog_entry_t *table, uint64_t now_ns, uint64_t liveness_ns);

/* ---- publisher ------------------------------------------------------------------------------ */

typedef struct tp_shmlog_pub {
    tp_shmlog_t *log;
    uint64_t limit;         /* cached: min live subscriber position + capacity */
    uint64_t membership;    /* header membership when limit was computed */
    uint32_t limiter;       /* entry of the slowest subscriber at the last scan (64 = none) */
    uint64_t limiter_word;  /* its state word and position then */
    uint64_t limiter_pos;
    uint32_t waits;         /* back-pressured attempts (every 64th rescans) */
    uint32_t alone;         /* the last scan found no live subscriber */
    uint64_t liveness_ns;
    uint32_t entry;
    uint64_t word;
} tp_shmlog_pub_t;

/* Claim room for len bytes. Returns the position after the record (>= 0) with *pos and
 * *word describing the claim, or a TP_PUB_* sentinel. */
int64_t tp_shmlog_claim(tp_shmlog_pub_t *p, size_t len, uint64_t *pos, uint64_t *word);

static inline uint8_t *tp_shmlog_record_data(const tp_shmlog_t *log, uint64_t pos)
{
    return log->data + (pos & log->mask) + TP_SHMLOG_RECORD_HEADER;
}

/* Copy len bytes as one message: claim, bytes, header straight to COMMITTED ("offer" above).
 * Returns the position after the record or a TP_PUB_* sentinel (ADMIN_ACTION: the region
 * was recovered while we wrote it, after a stall of the unblock timeout; nothing was
 * delivered). */
int64_t tp_shmlog_offer(tp_shmlog_pub_t *p, const void *buf, size_t len);

/* Commit a claim (0) or learn it was turned into padding (-1, TP_ETIMEOUT). Writes the
 * record's length, then CASes CLAIMED -> COMMITTED. */
int tp_shmlog_commit(tp_shmlog_t *log, uint64_t pos, uint64_t word, size_t len);
void tp_shmlog_abort(tp_shmlog_t *log, uint64_t pos, uint64_t word);

/* ---- subscriber ----------------------------------------------------------------------------- */

typedef struct tp_shmlog_sub {
    tp_shmlog_t *log;
    uint64_t position;
    uint64_t stuck_position; /* a CLAIMED record we are waiting on, and since when */
    uint64_t stuck_since_ns;
    uint64_t unblock_ns;
    uint64_t liveness_ns;
    uint64_t lost_bytes;
    uint64_t lapped_count;
    uint64_t padded_claims;  /* dead claims this subscriber turned into padding */
    uint64_t tail_seen;      /* last tail read (poll: see claimed_below_tail) */
    uint32_t empty_polls;
    uint32_t entry;
    uint64_t word;
} tp_shmlog_sub_t;

/* Take an entry and join at the tail. */
int tp_shmlog_sub_join(tp_shmlog_sub_t *s, tp_shmlog_t *log, uint64_t now_ns);

/* Give the entry back (close). */
void tp_shmlog_sub_leave(tp_shmlog_sub_t *s);

typedef void (*tp_shmlog_handler_t)(void *clientd, const uint8_t *msg, size_t len);

/* See the protocol above. >= 0 messages delivered; -1 with TP_ELAPPED after a rejoin. */
int tp_shmlog_poll(tp_shmlog_sub_t *s, tp_shmlog_handler_t handler, void *clientd, int limit);

#endif

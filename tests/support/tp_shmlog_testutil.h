/*
 * Helpers shared by the shmlog transport tests (header only: static functions).
 *
 *   tt_cfg()            a transport config in a private directory with short timeouts
 *   tt_msg_fill/check   self-checking messages: pub id, per-publisher sequence, length, bytes
 *   tt_hash_step        running hash of a stream (pub, seq) to compare total orders
 *   tt_log_map          read-only view of a stream's log file (header, tables, records)
 *   tt_pipe helpers     fork barriers
 */
#ifndef TP_SHMLOG_TESTUTIL_H
#define TP_SHMLOG_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tensorpool/error.h"
#include "tp_test.h"
#include "transport/shmlog/shmlog.h"
#include "transport/transport.h"

#define TT_MS 1000000ull

static inline uint64_t tt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void tt_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static inline void tt_sleep_us(unsigned us)
{
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A fresh sub-directory of the test's private tmpdir for each call (streams never collide
 * between tests). Timeouts: liveness/unblock as given (ns), open 1 s. */
static inline tp_transport_config_t tt_cfg(uint64_t liveness_ns, uint64_t unblock_ns)
{
    static unsigned n;
    tp_transport_config_t c;
    tp_transport_config_init(&c);
    snprintf(c.dir, sizeof c.dir, "%s/t%u-%ld", tp_test_tmpdir(), n++, (long)getpid());
    c.liveness_timeout_ns = liveness_ns;
    c.unblock_timeout_ns = unblock_ns;
    c.open_timeout_ns = 1000 * TT_MS;
    c.default_capacity = 64 * 1024;
    return c;
}

/* ---- self-checking messages -------------------------------------------------------------- */

#define TT_MSG_MIN 16u

static inline uint8_t tt_byte(uint32_t pub, uint32_t seq, size_t i)
{
    return (uint8_t)(pub * 131u + seq * 7u + (uint32_t)i * 13u + 1u);
}

static inline void tt_msg_fill(uint8_t *m, size_t len, uint32_t pub, uint32_t seq)
{
    uint32_t hdr[4] = {pub, seq, (uint32_t)len, pub ^ seq ^ 0xA5A5A5A5u};
    memcpy(m, hdr, sizeof hdr);
    for (size_t i = TT_MSG_MIN; i < len; i++)
        m[i] = tt_byte(pub, seq, i);
}

/* 0 when the message is whole and well-formed. */
static inline int tt_msg_check(const uint8_t *m, size_t len, uint32_t *pub, uint32_t *seq)
{
    uint32_t hdr[4];
    if (len < TT_MSG_MIN)
        return -1;
    memcpy(hdr, m, sizeof hdr);
    if (hdr[2] != len || hdr[3] != (hdr[0] ^ hdr[1] ^ 0xA5A5A5A5u))
        return -1;
    for (size_t i = TT_MSG_MIN; i < len; i++)
        if (m[i] != tt_byte(hdr[0], hdr[1], i))
            return -1;
    *pub = hdr[0];
    *seq = hdr[1];
    return 0;
}

static inline uint64_t tt_hash_step(uint64_t h, uint32_t pub, uint32_t seq, size_t len)
{
    uint64_t v = ((uint64_t)pub << 32 | seq) ^ ((uint64_t)len << 48);
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ull;
    }
    return h;
}

#define TT_HASH_INIT 0xcbf29ce484222325ull

/* Record size of a message of len bytes (16-byte header, 32-byte alignment). */
static inline uint64_t tt_record(size_t len) { return ((uint64_t)len + 16 + 31) & ~31ull; }

/* ---- a collector ------------------------------------------------------------------------- */

#define TT_MAX_PUBS 16

typedef struct tt_collect {
    uint64_t count;
    uint64_t bad;                  /* malformed messages */
    uint64_t out_of_order;         /* per-publisher seq not exactly previous + 1 */
    uint64_t hash;
    uint64_t bytes;
    int64_t next_seq[TT_MAX_PUBS]; /* expected next seq per publisher; -1 = any (first) */
    uint32_t last_pub, last_seq;
} tt_collect_t;

static inline void tt_collect_init(tt_collect_t *c, int64_t first_seq)
{
    memset(c, 0, sizeof *c);
    c->hash = TT_HASH_INIT;
    for (int i = 0; i < TT_MAX_PUBS; i++)
        c->next_seq[i] = first_seq;
}

static inline void tt_collect_handler(void *clientd, const uint8_t *msg, size_t len)
{
    tt_collect_t *c = clientd;
    uint32_t pub, seq;
    if (tt_msg_check(msg, len, &pub, &seq) != 0 || pub >= TT_MAX_PUBS) {
        c->bad++;
        return;
    }
    if (c->next_seq[pub] >= 0 && (int64_t)seq != c->next_seq[pub])
        c->out_of_order++;
    c->next_seq[pub] = (int64_t)seq + 1;
    c->hash = tt_hash_step(c->hash, pub, seq, len);
    c->count++;
    c->bytes += len;
    c->last_pub = pub;
    c->last_seq = seq;
}

/* Offer with retries on BACK_PRESSURED / NOT_CONNECTED (do_work in between) until the deadline.
 * Returns the last result. */
static inline int64_t tt_offer_retry(tp_transport_t *t, tp_publication_t *p, const void *buf,
                                     size_t len, uint64_t deadline)
{
    for (;;) {
        int64_t r = tp_publication_offer(p, buf, len);
        if (r >= 0 ||
            (r != TP_PUB_BACK_PRESSURED && r != TP_PUB_NOT_CONNECTED &&
             r != TP_PUB_ADMIN_ACTION) ||
            tt_now() > deadline)
            return r;
        tp_transport_do_work(t, tt_now());
        sched_yield();
    }
}

/* ---- peeking into the log file ------------------------------------------------------------ */

typedef struct tt_log_view {
    uint8_t *base;
    size_t size;
    tp_shmlog_header_t *hdr;
    tp_shmlog_entry_t *subs, *pubs;
    uint8_t *data;
} tt_log_view_t;

static inline void tt_log_path(char *out, size_t n, const tp_transport_config_t *c,
                               uint32_t stream)
{
    snprintf(out, n, "%s/ipc-%u.log", c->dir, stream);
}

static inline int tt_log_map(tt_log_view_t *v, const tp_transport_config_t *c, uint32_t stream)
{
    char path[1200];
    struct stat st;
    int fd;
    memset(v, 0, sizeof *v);
    tt_log_path(path, sizeof path, c, stream);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    v->base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (v->base == MAP_FAILED) {
        v->base = NULL;
        return -1;
    }
    v->size = (size_t)st.st_size;
    v->hdr = (tp_shmlog_header_t *)(void *)v->base;
    v->subs = (tp_shmlog_entry_t *)(void *)(v->base + TP_SHMLOG_SUBS_OFFSET);
    v->pubs = (tp_shmlog_entry_t *)(void *)(v->base + TP_SHMLOG_PUBS_OFFSET);
    v->data = v->base + TP_SHMLOG_META_BYTES;
    return 0;
}

static inline void tt_log_unmap(tt_log_view_t *v)
{
    if (v->base)
        munmap(v->base, v->size);
    memset(v, 0, sizeof *v);
}

static inline uint64_t tt_log_tail(const tt_log_view_t *v)
{
    return __atomic_load_n(&v->hdr->tail, __ATOMIC_ACQUIRE);
}

static inline uint64_t tt_word_at(const tt_log_view_t *v, uint64_t pos)
{
    return __atomic_load_n((uint64_t *)(void *)(v->data + (pos & (v->hdr->capacity - 1))),
                           __ATOMIC_ACQUIRE);
}

#define TT_WORD_STATE(w) ((unsigned)((w)&3u))
#define TT_WORD_UNITS(w) ((uint64_t)(((w) >> 2) & ((1ull << 21) - 1)))
#define TT_WORD_TAG(w) ((uint64_t)((w) >> 23))
#define TT_TAG_MASK ((1ull << 41) - 1)

/* The lap a record word says it belongs to: its tag minus the log's salt (shmlog.h). */
static inline uint64_t tt_word_lap(const tt_log_view_t *v, uint64_t w)
{
    return (TT_WORD_TAG(w) - v->hdr->tag_salt) & TT_TAG_MASK;
}

/* The record word shmlog writes for (pos, bytes, state), and the check word at +12. */
static inline uint64_t tt_make_word(const tt_log_view_t *v, uint64_t pos, uint64_t bytes,
                                    unsigned state)
{
    uint64_t lap = pos / v->hdr->capacity;
    return state | (bytes / 32) << 2 | ((lap + v->hdr->tag_salt) & TT_TAG_MASK) << 23;
}

static inline uint32_t tt_check_word(const tt_log_view_t *v, uint64_t pos)
{
    uint64_t salt = v->hdr->tag_salt;
    return (uint32_t)((pos >> 5) ^ salt ^ (salt >> 32));
}

/* ---- crashes ------------------------------------------------------------------------------ */

/* tp_test.c cleans up (SIGKILLs tracked children, removes the tmpdir) at exit and on
 * SIGTERM/SIGINT; a crash (a bug in the transport under test) would skip that. When no
 * handler is installed yet (a sanitizer installs its own before constructors run and keeps
 * its report), a crash prints the signal and exits through the atexit cleanup instead. */
static void tt_on_crash(int sig)
{
    char msg[64];
    int n = snprintf(msg, sizeof msg, "  crashed with signal %d\n", sig);
    if (n > 0 && write(2, msg, (size_t)n) < 0) {
    }
    exit(128 + sig);
}

__attribute__((constructor)) static void tt_install_crash_cleanup(void)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old, sa;
        if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = tt_on_crash;
        sa.sa_flags = SA_RESETHAND | SA_NODEFER;
        sigaction(sigs[i], &sa, NULL);
    }
}

/* ---- processes ---------------------------------------------------------------------------- */

/* A child that exits as soon as it is done with fn (never returns to the test runner). */
static inline pid_t tt_fork(void (*fn)(void *), void *arg)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        fn(arg);
        _exit(0);
    }
    if (pid > 0)
        tp_test_track_child(pid);
    return pid;
}

/* Wait for a child with a deadline; returns its wait status or -1 on timeout (then kills). */
static inline int tt_wait(pid_t pid, uint64_t timeout_ns)
{
    uint64_t end = tt_now() + timeout_ns;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0)
            return -2;
        if (tt_now() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        tt_sleep_ms(1);
    }
}

static inline int tt_read_byte(int fd, uint64_t timeout_ns)
{
    uint64_t end = tt_now() + timeout_ns;
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    for (;;) {
        uint8_t b;
        ssize_t r = read(fd, &b, 1);
        if (r == 1)
            return b;
        if (r == 0)
            return -1; /* EOF */
        if (tt_now() > end)
            return -2;
        tt_sleep_us(200);
    }
}

static inline void tt_write_byte(int fd, uint8_t b)
{
    ssize_t r = write(fd, &b, 1);
    (void)r;
}

/* Shared anonymous memory visible to forked children. */
static inline void *tt_shared(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

#endif

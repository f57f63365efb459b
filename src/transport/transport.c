/*
 * The transport front end: settings, channel URIs, and the publications/subscriptions of a
 * transport over shmlog logs (one mapping per stream per transport, shared by its handles),
 * or over the Aeron client (transport/aeron/aeron.h): a handle whose `aeron` pointer is set
 * forwards there; for shmlog it is NULL and the hot paths pay one predictable branch.
 */
#include "transport/transport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shm/region.h"
#include "shm/region_internal.h"
#include "transport/aeron/aeron.h"
#include "transport/shmlog/shmlog.h"
#include "util/atomics.h"
#include "util/clock.h"
#include "util/error.h"

#define MAX_LOGS 64u
#define MAX_HANDLES 256u

/* The shmlog hot paths test "Aeron handle or closed" once, as the closed test alone did. */
#define SLOW_PATH(x) __builtin_expect(!!(x), 0)

typedef struct log_ref {
    tp_shmlog_t log;
    uint32_t stream_id;
    uint32_t refs;
} log_ref_t;

/* Closed handles stay allocated (on the transport's closed list) until tp_transport_close,
 * so that using one after close gets TP_PUB_CLOSED / TP_ECLOSED instead of freed memory. */
struct tp_publication {
    tp_transport_t *t;
    tp_aeron_pub_t *aeron; /* Aeron transport, else NULL */
    log_ref_t *ref;
    tp_shmlog_pub_t pub;
    bool open;
    struct tp_publication *next_closed;
};

struct tp_subscription {
    tp_transport_t *t;
    tp_aeron_sub_t *aeron; /* Aeron transport, else NULL */
    log_ref_t *ref;
    tp_shmlog_sub_t sub;
    uint64_t join_ns;      /* shmlog: when it joined the log (W-91) */
    bool open;
    struct tp_subscription *next_closed;
};

struct tp_transport {
    tp_transport_config_t cfg;
    tp_aeron_t *aeron; /* kind AERON */
    int dirfd;
    log_ref_t *logs[MAX_LOGS];
    tp_publication_t *pubs[MAX_HANDLES];
    tp_subscription_t *subs[MAX_HANDLES];
    tp_publication_t *closed_pubs;
    tp_subscription_t *closed_subs;
};

/* ---- config ---------------------------------------------------------------------------------- */

void tp_transport_config_init(tp_transport_config_t *cfg)
{
    const char *env = getenv("TENSORPOOL_DIR");
    char user[300];
    memset(cfg, 0, sizeof *cfg);
    if (env && *env) {
        snprintf(cfg->dir, sizeof cfg->dir, "%s", env);
    } else if (tp_shm_user_dir_name(user, sizeof user) >= 0) {
        snprintf(cfg->dir, sizeof cfg->dir, "/dev/shm/%s/transport", user);
    } else {
        snprintf(cfg->dir, sizeof cfg->dir, "/dev/shm/tensorpool-unknown/transport");
    }
    cfg->file_mode = 0660;
    cfg->dir_mode = 0770;
    cfg->liveness_timeout_ns = 5000000000ull;
    cfg->unblock_timeout_ns = 5000000000ull;
    cfg->open_timeout_ns = 2000000000ull;
    cfg->default_capacity = 1u << 20;
    env = getenv("TP_TRANSPORT");
    if (env && *env && tp_transport_kind_parse(env, &cfg->kind) != 0)
        tp_err_clear(); /* tp_context_init reports it */
    env = getenv("AERON_DIR");
    if (env && strlen(env) < sizeof cfg->aeron_dir)
        snprintf(cfg->aeron_dir, sizeof cfg->aeron_dir, "%s", env);
}

int tp_transport_kind_parse(const char *name, tp_transport_kind_t *out)
{
    if (name != NULL && strcmp(name, "embedded") == 0)
        *out = TP_TRANSPORT_EMBEDDED;
    else if (name != NULL && strcmp(name, "aeron") == 0)
        *out = TP_TRANSPORT_AERON;
    else
        return tp_err_set(TP_ECONFIG, "transport '%s': expected \"embedded\" or \"aeron\"",
                          name ? name : "(null)");
    return 0;
}

const char *tp_transport_kind_name(tp_transport_kind_t kind)
{
    return kind == TP_TRANSPORT_AERON ? "aeron" : "embedded";
}

bool tp_transport_aeron_available(void) { return tp_aeron_available(); }

/* ---- channels -------------------------------------------------------------------------------- */

static int parse_size(const char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0, mul = 1;
    size_t i = 0;
    if (n == 0)
        return -1;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
        if (x > UINT64_MAX / 10)
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (i == 0)
        return -1;
    if (i + 1 == n) {
        switch (v[i]) {
        case 'k': case 'K': mul = 1024; break;
        case 'm': case 'M': mul = 1024 * 1024; break;
        case 'g': case 'G': mul = 1024ull * 1024 * 1024; break;
        default: return -1;
        }
    } else if (i != n) {
        return -1;
    }
    if (x > UINT64_MAX / mul)
        return -1;
    *out = x * mul;
    return 0;
}

int tp_channel_parse(const char *uri, tp_channel_t *out)
{
    static const char ipc[] = "aeron:ipc";
    const char *q;
    memset(out, 0, sizeof *out);
    if (uri == NULL || *uri == '\0')
        return tp_err_set(TP_ECHANNEL, "empty channel");
    if (strlen(uri) >= TP_CHANNEL_MAX)
        return tp_err_set(TP_ECHANNEL, "channel longer than %u bytes", TP_CHANNEL_MAX - 1);
    if (strncmp(uri, "aeron:udp", 9) == 0 && (uri[9] == '\0' || uri[9] == '?'))
        return tp_err_set(TP_ECHANNEL,
                          "channel '%s' needs the Aeron transport (transport = \"aeron\"); the "
                          "embedded transport carries aeron:ipc only", uri);
    if (strncmp(uri, ipc, sizeof ipc - 1) != 0 || (uri[9] != '\0' && uri[9] != '?'))
        return tp_err_set(TP_ECHANNEL,
                          "channel '%s' is not an Aeron channel URI (expected aeron:ipc[?...])",
                          uri);
    snprintf(out->canonical, sizeof out->canonical, "%s", ipc);
    if (uri[9] == '\0')
        return 0;
    q = uri + 10;
    if (*q == '\0')
        return tp_err_set(TP_ECHANNEL, "channel '%s': empty parameter list", uri);
    while (*q) {
        const char *end = strchr(q, '|'), *eq;
        size_t n = end ? (size_t)(end - q) : strlen(q);
        eq = memchr(q, '=', n);
        if (eq == NULL || eq == q)
            return tp_err_set(TP_ECHANNEL, "channel '%s': parameter '%.*s' is not key=value",
                              uri, (int)n, q);
        size_t kn = (size_t)(eq - q), vn = n - kn - 1;
        if (kn == 11 && strncmp(q, "term-length", 11) == 0) {
            uint64_t v;
            if (out->term_length != 0)
                return tp_err_set(TP_ECHANNEL, "channel '%s': term-length given twice", uri);
            if (parse_size(eq + 1, vn, &v) != 0 || v < TP_SHMLOG_MIN_CAPACITY ||
                v > TP_SHMLOG_MAX_CAPACITY || (v & (v - 1)) != 0)
                return tp_err_set(TP_ECHANNEL,
                                  "channel '%s': term-length '%.*s' must be a power of two "
                                  "from 64k to 256m", uri, (int)vn, eq + 1);
            out->term_length = (uint32_t)v;
        } else if (kn == 5 && strncmp(q, "alias", 5) == 0) {
            /* a label for humans (Aeron): accepted and ignored */
        } else {
            return tp_err_set(TP_ECHANNEL,
                              "channel '%s': parameter '%.*s' is not supported by the embedded "
                              "transport (term-length, alias)", uri, (int)kn, q);
        }
        if (!end)
            break;
        q = end + 1;
        if (*q == '\0')
            return tp_err_set(TP_ECHANNEL, "channel '%s': trailing '|'", uri);
    }
    return 0;
}

int tp_transport_channel_parse(const tp_transport_t *t, const char *uri, tp_channel_t *out)
{
    if (t != NULL && t->aeron != NULL)
        return tp_aeron_channel_parse(uri, out);
    return tp_channel_parse(uri, out);
}

tp_transport_kind_t tp_transport_kind(const tp_transport_t *t)
{
    return t->aeron != NULL ? TP_TRANSPORT_AERON : TP_TRANSPORT_EMBEDDED;
}

/* ---- transport ------------------------------------------------------------------------------- */

/* Temporary files of creators that died half-way (shmlog.h "Creation"): ".<name>.tmp.<pid>.<n>" */
static void remove_dead_temporaries(int dirfd)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        const char *tmp = e->d_name[0] == '.' ? strstr(e->d_name, ".tmp.") : NULL;
        long pid;
        if (!tmp || sscanf(tmp, ".tmp.%ld.", &pid) != 1 || pid <= 0)
            continue;
        struct stat st;
        /* Old as well as pid-less: a creator in another pid namespace shows no pid here. */
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH &&
            fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            time(NULL) - st.st_mtime > 60)
            unlinkat(dirfd, e->d_name, 0);
    }
    closedir(d);
}

int tp_transport_open(tp_transport_t **out, const tp_transport_config_t *cfg)
{
    tp_transport_t *t;
    if (cfg->dir[0] != '/')
        return tp_err_set(TP_EINVAL, "transport directory '%s' must be an absolute path",
                          cfg->dir);
    if (cfg->liveness_timeout_ns == 0 || cfg->unblock_timeout_ns == 0)
        return tp_err_set(TP_EINVAL, "transport timeouts must be non-zero");
    t = calloc(1, sizeof *t);
    if (!t)
        return tp_err_set(TP_ENOMEM, "transport");
    t->cfg = *cfg;
    t->dirfd = tp_shm_mkdirs(cfg->dir, cfg->dir_mode);
    if (t->dirfd < 0) {
        free(t);
        return tp_err_push("transport directory %s", cfg->dir);
    }
    remove_dead_temporaries(t->dirfd);
    if (cfg->kind == TP_TRANSPORT_AERON && tp_aeron_open(&t->aeron, cfg) != 0) {
        close(t->dirfd);
        free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void tp_transport_close(tp_transport_t *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < MAX_HANDLES; i++) {
        if (t->pubs[i])
            tp_publication_close(t->pubs[i]);
        if (t->subs[i])
            tp_subscription_close(t->subs[i]);
    }
    while (t->closed_pubs) {
        tp_publication_t *p = t->closed_pubs;
        t->closed_pubs = p->next_closed;
        free(p);
    }
    while (t->closed_subs) {
        tp_subscription_t *s = t->closed_subs;
        t->closed_subs = s->next_closed;
        free(s);
    }
    tp_aeron_close(t->aeron); /* after the handles: their streams are closed first */
    close(t->dirfd);
    free(t);
}

int tp_transport_do_work(tp_transport_t *t, uint64_t now_ns)
{
    int work = 0;
    if (t->aeron)
        return tp_aeron_do_work(t->aeron, now_ns);
    /* Release: a peer that reads the new heartbeat also sees our earlier position stores. */
    for (uint32_t i = 0; i < MAX_HANDLES; i++) {
        tp_publication_t *p = t->pubs[i];
        tp_subscription_t *s = t->subs[i];
        if (p) {
            tp_shmlog_entry_t *e = &p->ref->log.pubs[p->pub.entry];
            if (tp_load_acquire_u64(&e->state) == p->pub.word)
                tp_store_release_u64(&e->heartbeat_ns, now_ns);
            else /* taken over after we stalled for long: take a new entry */
                tp_shmlog_entry_acquire(p->ref->log.pubs, now_ns, t->cfg.liveness_timeout_ns,
                                        &p->pub.entry, &p->pub.word);
            work++;
        }
        if (s) {
            /* Only into our own entry; an evicted subscription rejoins on its next poll. */
            tp_shmlog_entry_t *e = &s->ref->log.subs[s->sub.entry];
            if (tp_load_acquire_u64(&e->state) == s->sub.word)
                tp_store_release_u64(&e->heartbeat_ns, now_ns);
            work++;
        }
    }
    return work;
}

static int log_acquire(tp_transport_t *t, const char *channel, uint32_t stream_id,
                       log_ref_t **out)
{
    tp_channel_t ch;
    char name[64];
    uint32_t free_slot = MAX_LOGS;
    if (tp_channel_parse(channel, &ch) != 0)
        return -1;
    for (uint32_t i = 0; i < MAX_LOGS; i++) {
        log_ref_t *r = t->logs[i];
        if (r && r->stream_id == stream_id) {
            if (ch.term_length && ch.term_length != r->log.capacity)
                return tp_err_set(TP_ECHANNEL,
                                  "stream %u is open with term-length %" PRIu64 ", channel '%s' "
                                  "asks %u", stream_id, r->log.capacity, channel, ch.term_length);
            r->refs++;
            *out = r;
            return 0;
        }
        if (!r && free_slot == MAX_LOGS)
            free_slot = i;
    }
    if (free_slot == MAX_LOGS)
        return tp_err_set(TP_ETOOBIG, "a transport opens at most %u streams", MAX_LOGS);
    log_ref_t *r = calloc(1, sizeof *r);
    if (!r)
        return tp_err_set(TP_ENOMEM, "log");
    snprintf(name, sizeof name, "ipc-%u.log", stream_id);
    if (tp_shmlog_open_at(&r->log, t->dirfd, name, stream_id, ch.term_length,
                          t->cfg.default_capacity, t->cfg.file_mode, t->cfg.open_timeout_ns) != 0) {
        free(r);
        return tp_err_push("stream %u", stream_id);
    }
    r->stream_id = stream_id;
    r->refs = 1;
    t->logs[free_slot] = r;
    *out = r;
    return 0;
}

static void log_release(tp_transport_t *t, log_ref_t *r)
{
    if (--r->refs > 0)
        return;
    for (uint32_t i = 0; i < MAX_LOGS; i++)
        if (t->logs[i] == r)
            t->logs[i] = NULL;
    tp_shmlog_close(&r->log);
    free(r);
}

static int handle_slot(void **table)
{
    for (uint32_t i = 0; i < MAX_HANDLES; i++)
        if (!table[i])
            return (int)i;
    return tp_err_set(TP_ETOOBIG, "a transport holds at most %u publications and %u "
                      "subscriptions", MAX_HANDLES, MAX_HANDLES);
}

/* ---- publications ---------------------------------------------------------------------------- */

static int add_publication(tp_transport_t *t, const char *channel, uint32_t stream_id,
                           bool exclusive, tp_publication_t **out)
{
    int slot = handle_slot((void **)t->pubs);
    tp_publication_t *p;
    if (slot < 0)
        return -1;
    p = calloc(1, sizeof *p);
    if (!p)
        return tp_err_set(TP_ENOMEM, "publication");
    if (t->aeron) {
        if (tp_aeron_add_publication(t->aeron, channel, stream_id, exclusive, &p->aeron) != 0) {
            free(p);
            return tp_err_push("stream %u", stream_id);
        }
        goto added;
    }
    if (log_acquire(t, channel, stream_id, &p->ref) != 0) {
        free(p);
        return -1;
    }
    p->pub.log = &p->ref->log;
    p->pub.liveness_ns = t->cfg.liveness_timeout_ns;
    p->pub.limiter = TP_SHMLOG_ENTRIES; /* none yet: the first claim scans */
    if (tp_shmlog_entry_acquire(p->ref->log.pubs, tp_clock_monotonic_ns(),
                                t->cfg.liveness_timeout_ns, &p->pub.entry, &p->pub.word) != 0) {
        log_release(t, p->ref);
        free(p);
        return tp_err_push("stream %u: add publication", stream_id);
    }
added:
    p->t = t;
    p->open = true;
    t->pubs[slot] = p;
    *out = p;
    return 0;
}

int tp_transport_add_publication(tp_transport_t *t, const char *channel, uint32_t stream_id,
                                 tp_publication_t **out)
{
    return add_publication(t, channel, stream_id, false, out);
}

int tp_transport_add_exclusive_publication(tp_transport_t *t, const char *channel,
                                           uint32_t stream_id, tp_publication_t **out)
{
    return add_publication(t, channel, stream_id, true, out);
}

void tp_publication_close(tp_publication_t *p)
{
    tp_transport_t *t;
    if (!p || !p->open)
        return;
    t = p->t;
    if (p->aeron) {
        tp_aeron_pub_close(p->aeron); /* the object stays with t->aeron until it closes */
    } else {
        tp_shmlog_entry_release(p->ref->log.pubs, p->pub.entry, p->pub.word);
        log_release(t, p->ref);
    }
    for (uint32_t i = 0; i < MAX_HANDLES; i++)
        if (t->pubs[i] == p)
            t->pubs[i] = NULL;
    p->open = false;
    p->ref = NULL;
    p->next_closed = t->closed_pubs;
    t->closed_pubs = p;
}

size_t tp_publication_max_message_length(const tp_publication_t *p)
{
    if (p->aeron)
        return p->open ? tp_aeron_pub_max_message_length(p->aeron) : 0;
    return p->open ? p->ref->log.max_message : 0;
}

int64_t tp_publication_try_claim(tp_publication_t *p, size_t len, tp_claim_t *c)
{
    uint64_t pos, word;
    if (SLOW_PATH(p->aeron != NULL || !p->open)) {
        if (!p->open)
            return TP_PUB_CLOSED;
        c->pub_ = p;
        return tp_aeron_try_claim(p->aeron, len, c);
    }
    int64_t rc = tp_shmlog_claim(&p->pub, len, &pos, &word);
    if (rc < 0)
        return rc;
    c->data = tp_shmlog_record_data(&p->ref->log, pos);
    c->length = len;
    c->pub_ = p;
    c->position_ = pos;
    c->word_ = word;
    return rc;
}

int tp_claim_commit(tp_claim_t *c)
{
    if (SLOW_PATH(c->pub_->aeron != NULL || !c->pub_->open)) {
        if (!c->pub_->open)
            return tp_err_set(TP_ECLOSED, "commit on a closed publication");
        return tp_aeron_commit(c);
    }
    return tp_shmlog_commit(&c->pub_->ref->log, c->position_, c->word_, c->length);
}

void tp_claim_abort(tp_claim_t *c)
{
    if (!c->pub_->open)
        return;
    if (c->pub_->aeron) {
        tp_aeron_abort(c);
        return;
    }
    tp_shmlog_abort(&c->pub_->ref->log, c->position_, c->word_);
}

int64_t tp_publication_offer(tp_publication_t *p, const void *buf, size_t len)
{
    if (SLOW_PATH(p->aeron != NULL || !p->open))
        return p->open ? tp_aeron_offer(p->aeron, buf, len) : TP_PUB_CLOSED;
    return tp_shmlog_offer(&p->pub, buf, len); /* ADMIN_ACTION: recovered meanwhile, retry */
}

bool tp_publication_is_connected(tp_publication_t *p)
{
    if (p->aeron)
        return p->open && tp_aeron_pub_is_connected(p->aeron);
    return p->open && tp_shmlog_any_live(p->ref->log.subs, tp_clock_monotonic_ns(),
                              p->t->cfg.liveness_timeout_ns) != 0;
}

/* ---- subscriptions --------------------------------------------------------------------------- */

int tp_transport_add_subscription(tp_transport_t *t, const char *channel, uint32_t stream_id,
                                  tp_subscription_t **out)
{
    int slot = handle_slot((void **)t->subs);
    tp_subscription_t *s;
    if (slot < 0)
        return -1;
    s = calloc(1, sizeof *s);
    if (!s)
        return tp_err_set(TP_ENOMEM, "subscription");
    if (t->aeron) {
        if (tp_aeron_add_subscription(t->aeron, channel, stream_id, &s->aeron) != 0) {
            free(s);
            return tp_err_push("stream %u", stream_id);
        }
        goto added;
    }
    if (log_acquire(t, channel, stream_id, &s->ref) != 0) {
        free(s);
        return -1;
    }
    s->sub.unblock_ns = t->cfg.unblock_timeout_ns;
    s->sub.liveness_ns = t->cfg.liveness_timeout_ns;
    if (tp_shmlog_sub_join(&s->sub, &s->ref->log, tp_clock_monotonic_ns()) != 0) {
        log_release(t, s->ref);
        free(s);
        return tp_err_push("stream %u: add subscription", stream_id);
    }
    s->join_ns = tp_clock_monotonic_ns();
added:
    s->t = t;
    s->open = true;
    t->subs[slot] = s;
    *out = s;
    return 0;
}

void tp_subscription_close(tp_subscription_t *s)
{
    tp_transport_t *t;
    if (!s || !s->open)
        return;
    t = s->t;
    if (s->aeron) {
        tp_aeron_sub_close(s->aeron);
    } else {
        tp_shmlog_sub_leave(&s->sub);
        log_release(t, s->ref);
    }
    for (uint32_t i = 0; i < MAX_HANDLES; i++)
        if (t->subs[i] == s)
            t->subs[i] = NULL;
    s->open = false;
    s->ref = NULL;
    s->next_closed = t->closed_subs;
    t->closed_subs = s;
}

int tp_subscription_poll(tp_subscription_t *s, tp_message_handler_t handler, void *clientd,
                         int limit)
{
    if (SLOW_PATH(s->aeron != NULL || !s->open)) {
        if (!s->open)
            return tp_err_set(TP_ECLOSED, "poll on a closed subscription");
        return tp_aeron_poll(s->aeron, handler, clientd, limit);
    }
    return tp_shmlog_poll(&s->sub, handler, clientd, limit);
}

bool tp_subscription_is_connected(tp_subscription_t *s)
{
    if (s->aeron)
        return s->open && tp_aeron_sub_is_connected(s->aeron);
    return s->open && tp_shmlog_any_live(s->ref->log.pubs, tp_clock_monotonic_ns(),
                              s->t->cfg.liveness_timeout_ns) != 0;
}

uint64_t tp_subscription_lost_bytes(const tp_subscription_t *s) { return s->sub.lost_bytes; }
uint64_t tp_subscription_lapped_count(const tp_subscription_t *s) { return s->sub.lapped_count; }
uint64_t tp_subscription_position(const tp_subscription_t *s)
{
    return s->aeron ? tp_aeron_sub_position(s->aeron) : s->sub.position;
}

uint64_t tp_subscription_join_time_ns(const tp_subscription_t *s)
{
    return s->aeron ? tp_aeron_sub_join_time_ns(s->aeron) : s->join_ns;
}

uint32_t tp_subscription_image_count(tp_subscription_t *s)
{
    if (s->aeron)
        return s->open ? tp_aeron_sub_image_count(s->aeron) : 0;
    return tp_subscription_is_connected(s) ? 1u : 0u;
}

/*
 * The driver object: init (config, locks, transport, startup GC), the duty cycle, message
 * dispatch and the shutdown state machine (DRIVER D-65 .. D-68). The request handlers live
 * in attach.c and lease.c, epochs in epoch.c, outgoing messages in publish.c, GC in gc.c.
 */
#include "driver/driver_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/region_internal.h" /* tp_shm_mkdirs */
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define NS_PER_MS 1000000ull
/* The largest message we send: an attach response or announce with TP_CFG_MAX_POOLS pools,
 * every URI at the D-94 limit, plus a 1024-byte message. */
#define SEND_BUF_CAP (TP_SBE_HEADER_LENGTH + 64 + TP_SBE_GROUP_HEADER_LENGTH +               \
                      (TP_CFG_MAX_POOLS + 1) * (16 + TP_REGION_PATH_MAX + 64) +                 \
                      2 * (TP_DRV_ERRMSG_MAX + 8) + 2 * TP_CHANNEL_MAX)

/* ---- exclusive lock ---------------------------------------------------------------------- */

/* flock(LOCK_EX|LOCK_NB) on dirfd/name and write our pid into it, so a second driver can
 * name the holder. The lock lives as long as the descriptor (driver lifetime); flock locks
 * of two descriptors conflict even within one process. */
static int take_lock(int dirfd, const char *dir, const char *name, mode_t mode)
{
    char text[32];
    int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
    if (fd < 0)
        return tp_err_set_errno(TP_EIO, errno, "lock file %s/%s", dir, name);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        ssize_t n = pread(fd, text, sizeof text - 1, 0);
        long holder = 0;
        close(fd);
        if (e == EWOULDBLOCK) {
            text[n > 0 ? n : 0] = '\0';
            holder = strtol(text, NULL, 10);
            if (holder > 0)
                return tp_err_set(TP_ESTATE, "another driver (pid %ld) holds %s/%s", holder, dir,
                                  name);
            return tp_err_set(TP_ESTATE, "another driver holds %s/%s", dir, name);
        }
        return tp_err_set_errno(TP_EIO, e, "flock %s/%s", dir, name);
    }
    snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, strlen(text), 0) < 0) {
        int e = errno;
        close(fd);
        return tp_err_set_errno(TP_EIO, e, "write lock file %s/%s", dir, name);
    }
    return fd;
}

static int lock_transport(tp_driver_t *d, const tp_transport_config_t *tcfg)
{
    char name[64];
    int dirfd = open(tcfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return tp_err_set_errno(TP_EIO, errno, "transport directory %s", tcfg->dir);
    snprintf(name, sizeof name, "driver-%" PRIu32 ".lock", d->cfg.control_stream_id);
    d->lock_fds[0] = take_lock(dirfd, tcfg->dir, name, d->region_opts.file_mode);
    close(dirfd);
    return d->lock_fds[0] < 0 ? -1 : 0;
}

static int lock_namespace(tp_driver_t *d)
{
    char user[256];
    int n = tp_shm_user_dir_name(user, sizeof user), dirfd;
    if (n < 0)
        return tp_err_push("SHM user directory");
    n = snprintf(d->ns_dir, sizeof d->ns_dir, "%s/%s/%s", d->cfg.base_dir, user,
                 d->cfg.namespace_);
    if (n < 0 || (size_t)n >= sizeof d->ns_dir)
        return tp_err_set(TP_ETOOBIG, "SHM namespace directory too long");
    dirfd = tp_shm_mkdirs(d->ns_dir, d->region_opts.dir_mode);
    if (dirfd < 0)
        return tp_err_push("SHM namespace directory %s", d->ns_dir);
    d->lock_fds[1] = take_lock(dirfd, d->ns_dir, "driver.lock", d->region_opts.file_mode);
    close(dirfd);
    return d->lock_fds[1] < 0 ? -1 : 0;
}

/* ---- init -------------------------------------------------------------------------------- */

static void derive_settings(tp_driver_t *d)
{
    const tp_driver_config_t *c = &d->cfg;
    mode_t perm = (mode_t)(c->permissions_mode & 0777);

    d->keepalive_interval_ns = (uint64_t)c->lease_keepalive_interval_ms * NS_PER_MS;
    d->lease_grace_ns = d->keepalive_interval_ns * c->lease_expiry_grace_intervals;
    d->announce_period_ns = (uint64_t)c->announce_period_ms * NS_PER_MS;
    d->gc_min_age_ns = c->epoch_gc_min_age_ns ? c->epoch_gc_min_age_ns
                                              : (uint64_t)c->announce_period_ms * 3000000ull;
    d->shutdown_timeout_ns = (uint64_t)c->shutdown_timeout_ms * NS_PER_MS;

    /* D-49: files get shm.permissions_mode; directories the same plus search (x) wherever
     * read is granted, so 0660 -> 0770. */
    tp_region_create_opts_init(&d->region_opts);
    d->region_opts.file_mode = perm;
    d->region_opts.dir_mode = perm | ((perm & 0444) >> 2);
    d->region_opts.prefault = c->prefault_shm;
    d->region_opts.mlock = c->mlock_shm;
    d->region_opts.require_hugepages = c->require_hugepages;
}

/* D-49: canonical allowed base dirs; shm.base_dir must resolve inside one of them. */
static int setup_allowed_dirs(tp_driver_t *d)
{
    const tp_driver_config_t *c = &d->cfg;
    int fd = tp_shm_mkdirs(c->base_dir, d->region_opts.dir_mode);
    if (fd < 0)
        return tp_err_push("shm.base_dir '%s'", c->base_dir);
    close(fd);
    tp_allowed_dirs_init(&d->allowed);
    for (uint32_t i = 0; i < c->allowed_base_dir_count; i++)
        if (tp_allowed_dirs_add(&d->allowed, c->allowed_base_dirs[i]) != 0)
            tp_log_warn(TP_DRV_COMPONENT, "shm.allowed_base_dirs[%u] '%s' ignored: %s",
                        (unsigned)i, c->allowed_base_dirs[i], tp_errmsg());
    if (c->allowed_base_dir_count == 0 && tp_allowed_dirs_add(&d->allowed, c->base_dir) != 0)
        return tp_err_push("shm.base_dir");
    if (!tp_drv_path_allowed(d, c->base_dir))
        return tp_err_set(TP_ECONFIG, "shm.base_dir '%s' is not inside shm.allowed_base_dirs "
                          "(DRIVER D-49)", c->base_dir);
    return 0;
}

static int open_streams(tp_driver_t *d)
{
    const tp_driver_config_t *c = &d->cfg;
    if (tp_transport_add_subscription(d->transport, c->control_channel, c->control_stream_id,
                                      &d->control_sub) != 0 ||
        tp_transport_add_publication(d->transport, c->control_channel, c->control_stream_id,
                                     &d->control_pub) != 0)
        return tp_err_push("control stream %s %" PRIu32, c->control_channel,
                           c->control_stream_id);
    if (c->announce_stream_id == c->control_stream_id &&
        strcmp(c->announce_channel, c->control_channel) == 0) {
        d->announce_pub = d->control_pub;
        return 0;
    }
    if (tp_transport_add_publication(d->transport, c->announce_channel, c->announce_stream_id,
                                     &d->announce_pub) != 0)
        return tp_err_push("announce stream %s %" PRIu32, c->announce_channel,
                           c->announce_stream_id);
    return 0;
}

/* Issue 7: driver.transport (TP_TRANSPORT), driver.aeron_dir (AERON_DIR) and
 * driver.launch_media_driver (LAUNCH_MEDIA_DRIVER) override the transport settings given. */
static void transport_settings(const tp_driver_config_t *c, tp_transport_config_t *t)
{
    if (tp_transport_kind_parse(c->transport, &t->kind) != 0)
        tp_err_clear(); /* validated already: cannot happen */
    if (c->aeron_dir[0] != '\0')
        snprintf(t->aeron_dir, sizeof t->aeron_dir, "%s", c->aeron_dir);
    t->launch_media_driver = t->kind == TP_TRANSPORT_AERON && c->launch_media_driver;
}

static void startup_gc(tp_driver_t *d)
{
    /* D-93 REF: once, only for the streams configured under streams.*; the largest epoch on
     * disk counts as current (kept by the keep count). */
    for (uint32_t i = 0; i < d->cfg.stream_count; i++)
        tp_drv_gc_stream(d, d->cfg.streams[i].stream_id, 0, d->gc_min_age_ns);
}

int tp_driver_init(tp_driver_t **out, const tp_driver_config_t *cfg,
                   const tp_transport_config_t *tcfg, uint64_t now_ns)
{
    tp_driver_t *d;
    tp_cfg_report_t *report;
    tp_transport_config_t tc;

    if (out == NULL || cfg == NULL || tcfg == NULL)
        return tp_err_set(TP_EINVAL, "driver init: NULL argument");
    *out = NULL;
    d = calloc(1, sizeof *d);
    report = calloc(1, sizeof *report);
    if (d == NULL || report == NULL) {
        free(d);
        free(report);
        return tp_err_set(TP_ENOMEM, "driver init");
    }
    d->lock_fds[0] = d->lock_fds[1] = -1;
    d->cfg = *cfg;
    if (tp_driver_config_validate(&d->cfg, report) != 0) {
        free(report);
        tp_driver_close(d);
        return tp_err_push("driver config");
    }
    free(report);
    d->pid = getpid();
    d->now_ns = now_ns;
    d->next_lease_id = 1; /* D-53 REF */
    d->next_node_id = 1;  /* D-22 DECISION */
    derive_settings(d);
    d->buf_cap = SEND_BUF_CAP;
    d->buf = malloc(d->buf_cap);
    if (d->buf == NULL) {
        tp_driver_close(d);
        return tp_err_set(TP_ENOMEM, "driver init");
    }
    tc = *tcfg;
    transport_settings(&d->cfg, &tc);
    if (setup_allowed_dirs(d) != 0 || lock_namespace(d) != 0 ||
        tp_transport_open(&d->transport, &tc) != 0 || lock_transport(d, &tc) != 0 ||
        open_streams(d) != 0) {
        int code = tp_errcode();
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", tp_errmsg());
        tp_driver_close(d);
        return tp_err_set(code, "driver init: %s", msg);
    }
    d->next_announce_ns = now_ns + d->announce_period_ns;
    d->next_expiry_scan_ns = now_ns + d->keepalive_interval_ns;
    if (d->cfg.epoch_gc_enabled && d->cfg.epoch_gc_on_startup)
        startup_gc(d);
    tp_drv_counters_open(d); /* never fatal */
    tp_log_info(TP_DRV_COMPONENT, "started instance=%s pid=%ld control=%s:%" PRIu32
                " announce=%s:%" PRIu32 " shm=%s transport=%s %s=%s", d->cfg.instance_id,
                (long)d->pid, d->cfg.control_channel, d->cfg.control_stream_id,
                d->cfg.announce_channel, d->cfg.announce_stream_id, d->ns_dir,
                tp_transport_kind_name(tc.kind),
                tc.kind == TP_TRANSPORT_AERON ? "aeron_dir" : "dir",
                tc.kind == TP_TRANSPORT_AERON ? tc.aeron_dir : tc.dir);
    *out = d;
    return 0;
}

/* ---- close ------------------------------------------------------------------------------- */

void tp_driver_close(tp_driver_t *d)
{
    if (d == NULL)
        return;
    tp_drv_counters_close(d); /* before the namespace lock goes */
    if (d->cfg.cleanup_shm_on_exit && d->lock_fds[1] >= 0)
        tp_drv_cleanup_on_exit(d);
    tp_drv_stream_free_all(d);
    tp_transport_close(d->transport); /* closes the publications and the subscription */
    for (int i = 0; i < 2; i++)
        if (d->lock_fds[i] >= 0)
            close(d->lock_fds[i]); /* releases the flock */
    free(d->leases);
    free(d->nodes);
    free(d->touched);
    free(d->buf);
    free(d);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static void malformed(tp_driver_t *d, const char *what)
{
    d->counters.malformed++;
    tp_log_debug(TP_DRV_COMPONENT, "ignored malformed message: %s: %s", what, tp_errmsg());
}

/* W-81 DECISION: the header fits, blockLength is at least ours and the buffer holds it. */
static bool block_fits(const tp_sbe_header_t *h, size_t len, uint16_t schema_block_length)
{
    return h->block_length >= schema_block_length &&
           len >= TP_SBE_HEADER_LENGTH + (size_t)h->block_length;
}

static void handle_shutdown_request(tp_driver_t *d,
                                    const tp_sbe_driver_shm_driver_shutdown_request_t *m)
{
    const char *want = d->cfg.shutdown_token;
    size_t wlen = strlen(want);
    unsigned diff = 0;

    /* D-66: an empty configured token disables the request; a missing or wrong token is
     * rejected (ignored: the message has no response). Compare in constant time. */
    if (wlen == 0 || m->token.length != wlen) {
        diff = 1;
    } else {
        for (size_t i = 0; i < wlen; i++)
            diff |= (unsigned)(m->token.data[i] ^ (uint8_t)want[i]);
    }
    if (diff != 0 || tp_sbe_driver_shutdown_reason_name(m->reason) == NULL) {
        d->counters.shutdown_requests_ignored++;
        /* Logged (issue 4), but at most once per second: a client flooding the control
         * stream with bad requests must not flood (or block on) stderr. */
        if (d->now_ns >= d->shutdown_warn_next_ns) {
            tp_log_warn(TP_DRV_COMPONENT, "shutdown request ignored (correlation %" PRId64
                        "): %s (%" PRIu64 " more ignored since the last warning)",
                        m->correlation_id,
                        wlen == 0 ? "no shutdown token configured"
                        : diff    ? "missing or wrong token"
                                  : "undefined reason",
                        d->shutdown_warn_suppressed);
            d->shutdown_warn_suppressed = 0;
            d->shutdown_warn_next_ns = d->now_ns + TP_DRV_LOG_INTERVAL_NS;
        } else {
            d->shutdown_warn_suppressed++;
        }
        return;
    }
    tp_log_info(TP_DRV_COMPONENT, "shutdown requested (correlation %" PRId64 ", reason %s)",
                m->correlation_id, tp_sbe_driver_shutdown_reason_name(m->reason));
    /* D-67 REF: the notice carries the request's message, byte for byte (<= 1024 bytes) */
    tp_drv_shutdown_bytes(d, m->reason, m->error_message.data, m->error_message.length,
                          d->now_ns);
}

static void handle_driver_schema(tp_driver_t *d, const tp_sbe_header_t *h, const uint8_t *buf,
                                 size_t len)
{
    switch (h->template_id) {
    case TP_SBE_DRIVER_SHM_ATTACH_REQUEST_TEMPLATE_ID: {
        tp_sbe_driver_shm_attach_request_t m;
        if (h->version > TP_SBE_DRIVER_SCHEMA_VERSION) {
            /* D-34, D-28 step 1: answer a newer attach request UNSUPPORTED when it passes
             * the length checks (the correlation id is at block offset 0). */
            if (!block_fits(h, len, TP_SBE_DRIVER_SHM_ATTACH_REQUEST_BLOCK_LENGTH)) {
                tp_err_set(TP_EMALFORMED, "attach request v%u: block length %u, %zu bytes",
                           h->version, h->block_length, len);
                malformed(d, "ShmAttachRequest");
                return;
            }
            tp_drv_attach_unsupported_version(d, tp_get_i64(buf + TP_SBE_HEADER_LENGTH));
            return;
        }
        if (tp_sbe_driver_shm_attach_request_decode(buf, len, &m) < 0)
            { malformed(d, "ShmAttachRequest"); return; }
        tp_drv_handle_attach(d, &m);
        return;
    }
    case TP_SBE_DRIVER_SHM_DETACH_REQUEST_TEMPLATE_ID: {
        tp_sbe_driver_shm_detach_request_t m;
        if (tp_sbe_driver_shm_detach_request_decode(buf, len, &m) < 0)
            { malformed(d, "ShmDetachRequest"); return; } /* newer versions too (D-34 REF) */
        tp_drv_handle_detach(d, &m);
        return;
    }
    case TP_SBE_DRIVER_SHM_LEASE_KEEPALIVE_TEMPLATE_ID: {
        tp_sbe_driver_shm_lease_keepalive_t m;
        if (tp_sbe_driver_shm_lease_keepalive_decode(buf, len, &m) < 0)
            { malformed(d, "ShmLeaseKeepalive"); return; }
        tp_drv_handle_keepalive(d, &m);
        return;
    }
    case TP_SBE_DRIVER_SHM_DRIVER_SHUTDOWN_REQUEST_TEMPLATE_ID: {
        tp_sbe_driver_shm_driver_shutdown_request_t m;
        if (tp_sbe_driver_shm_driver_shutdown_request_decode(buf, len, &m) < 0)
            { malformed(d, "ShmDriverShutdownRequest"); return; }
        handle_shutdown_request(d, &m);
        return;
    }
    default:
        /* Responses and notices (ours or another driver's) share the stream (D-36). */
        if (tp_codec_lookup(h->schema_id, h->template_id) == NULL)
            malformed(d, "unknown driver template");
        return;
    }
}

void tp_driver_handle_message(tp_driver_t *d, const uint8_t *buf, size_t len, uint64_t now_ns)
{
    tp_sbe_header_t h;

    d->now_ns = now_ns;
    if (buf == NULL || tp_sbe_header_read(buf, len, &h) != 0)
        { malformed(d, "message header"); return; }
    if (h.schema_id == TP_SBE_DRIVER_SCHEMA_ID) { /* W-4: schemaId before templateId */
        handle_driver_schema(d, &h, buf, len);
        return;
    }
    if (h.schema_id == TP_SBE_CONTROL_SCHEMA_ID &&
        h.template_id == TP_SBE_CONTROL_CONSUMER_HELLO_TEMPLATE_ID) {
        tp_sbe_control_consumer_hello_t m;
        if (tp_sbe_control_consumer_hello_decode(buf, len, &m) < 0)
            { malformed(d, "ConsumerHello"); return; }
        tp_drv_handle_hello(d, &m);
        return;
    }
    /* Other known messages travel on a shared control stream (announces, configs,
     * progress): not ours. Unknown schemas or templates are counted. */
    if (tp_codec_lookup(h.schema_id, h.template_id) == NULL)
        malformed(d, "unknown schema or template");
}

static void on_message(void *clientd, const uint8_t *msg, size_t len)
{
    tp_driver_t *d = clientd;
    tp_driver_handle_message(d, msg, len, d->now_ns);
}

/* ---- duty cycle -------------------------------------------------------------------------- */

static int advance_shutdown(tp_driver_t *d, uint64_t now_ns)
{
    if (d->state != TP_DRV_DRAINING || now_ns < d->shutdown_deadline_ns)
        return 0;
    /* D-67, D-68: after the drain period; retried while back-pressured, but never forever:
     * a stuck subscriber must not keep the driver alive. */
    if (tp_drv_send_shutdown(d) == 0 || now_ns - d->shutdown_deadline_ns > 1000 * NS_PER_MS) {
        d->state = TP_DRV_DONE;
        tp_log_info(TP_DRV_COMPONENT, "shutdown published (reason %u)",
                    (unsigned)d->shutdown_reason);
    }
    return 1;
}

int tp_driver_do_work(tp_driver_t *d, uint64_t now_ns)
{
    int work = 0, n;

    if (d == NULL)
        return tp_err_set(TP_EINVAL, "driver do_work: NULL");
    d->now_ns = now_ns;
    /* Transport heartbeats are judged by the transport against CLOCK_MONOTONIC in every
     * process, so they take the real clock, never the injected one. Not counted as work:
     * it happens on every cycle. */
    tp_transport_do_work(d->transport, tp_clock_monotonic_ns());

    n = tp_subscription_poll(d->control_sub, on_message, d, TP_DRV_POLL_LIMIT);
    if (n > 0) {
        work += n;
    } else if (n < 0) {
        tp_log_warn(TP_DRV_COMPONENT, "control stream: %s", tp_errmsg());
        work++;
    }
    if (now_ns >= d->next_expiry_scan_ns) { /* D-30 REF: once per keepalive interval */
        /* Read the control stream up first (bounded): a keepalive sent in time but queued
         * behind other clients' messages, or behind a slow provisioning, must count before
         * its lease is judged — one client's traffic must not expire another's lease. */
        for (int i = 0; i < TP_DRV_SCAN_DRAIN_POLLS; i++) {
            n = tp_subscription_poll(d->control_sub, on_message, d, TP_DRV_POLL_LIMIT);
            if (n <= 0)
                break;
            work += n;
        }
        d->next_expiry_scan_ns = now_ns + d->keepalive_interval_ns;
        n = tp_drv_expiry_scan(d);
        if (n > 0)
            tp_drv_counters_sweep(d); /* the clients whose leases expired may have died */
        work += n;
    }
    if (now_ns >= d->next_announce_ns) { /* D-47 REF: every announce_period_ms */
        d->next_announce_ns = now_ns + d->announce_period_ns;
        tp_drv_announce_all(d);
        work++;
    }
    work += advance_shutdown(d, now_ns);
    if (work > 0)
        tp_drv_counters_mirror(d); /* counters change only when there was work */
    return work;
}

void tp_driver_shutdown(tp_driver_t *d, uint8_t reason, const char *message, uint64_t now_ns)
{
    tp_drv_shutdown_bytes(d, reason, (const uint8_t *)message, message ? strlen(message) : 0,
                          now_ns);
}

void tp_drv_shutdown_bytes(tp_driver_t *d, uint8_t reason, const uint8_t *message, size_t len,
                           uint64_t now_ns)
{
    if (d == NULL || d->state != TP_DRV_RUNNING)
        return; /* the first request wins; draining and done ignore more */
    if (tp_sbe_driver_shutdown_reason_name(reason) == NULL)
        reason = 2; /* ERROR: never send an undefined number (W-190) */
    d->now_ns = now_ns;
    d->state = TP_DRV_DRAINING;
    d->shutdown_reason = reason;
    d->shutdown_message_len =
        message && len ? tp_drv_truncate_message(d->shutdown_message, message, len) : 0;
    d->shutdown_message[d->shutdown_message_len] = '\0';
    d->shutdown_deadline_ns = now_ns + d->shutdown_timeout_ns;
    tp_log_info(TP_DRV_COMPONENT, "draining for %" PRIu32 " ms (reason %u)",
                d->cfg.shutdown_timeout_ms, (unsigned)reason);
    tp_drv_announce_all(d); /* D-67: final announce */
}

bool tp_driver_done(const tp_driver_t *d) { return d != NULL && d->state == TP_DRV_DONE; }

const tp_driver_counters_t *tp_driver_counters(const tp_driver_t *d) { return &d->counters; }

uint64_t tp_driver_stream_epoch(const tp_driver_t *d, uint32_t stream_id)
{
    const tp_drv_stream_t *s = tp_drv_stream_find(d, stream_id);
    return s ? s->epoch : 0;
}

uint32_t tp_driver_stream_producer(const tp_driver_t *d, uint32_t stream_id)
{
    const tp_drv_stream_t *s = tp_drv_stream_find(d, stream_id);
    return s && s->producer_lease_id ? s->producer_client_id : 0;
}

uint32_t tp_driver_lease_count(const tp_driver_t *d) { return d ? d->lease_count : 0; }

void tp_driver_set_free_bytes_fn(tp_driver_t *d, tp_drv_free_bytes_fn fn, void *arg)
{
    d->free_bytes_fn = fn;
    d->free_bytes_arg = arg;
}

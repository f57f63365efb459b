/*
 * Counters files of producers and consumers (src/shm/counters.h, issue 6): the stats the
 * producer and consumer keep anyway (tp_producer_stats_t, tp_consumer_stats_t) are mirrored
 * into <ns_dir>/counters/<role>-<client_id>.tpc at the QoS cadence, from tp_prod_send_qos /
 * tp_cons_send_qos. The hot paths (reserve, publish, poll) are not touched.
 *
 * Where: the driver's namespace directory, found from the attach response of the current
 * lease — its header region is <ns_dir>/<stream_id>/<epoch>/header.ring (WIRE W-173) — and
 * only when the driver created <ns_dir>/counters (a tensorpool driver does, a reference
 * driver does not: then there is no file and nothing is retried until the next lease). The
 * directory must lie inside the allowed SHM directories (W-178), like the regions themselves.
 * The file gets the directory's permission bits without search (0770 -> 0660).
 *
 * The file is opened (a few system calls, one allocation) on the first QoS tick of each new
 * lease, never on a hot path; after that a sync is ~40 relaxed stores. Close unlinks it.
 */
#include "client/consumer_internal.h"
#include "client/producer_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shm/counters.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define CC_COMPONENT "counters"

struct tp_client_counters {
    tp_counters_t file;     /* closed (all zero) when there is none */
    uint64_t lease_id;      /* lease the file was (tried to be) opened for; 0 = none yet */
    uint32_t client_id;
    uint32_t stream_id;
    char dir[TP_REGION_PATH_MAX];
};

/* <ns_dir>/counters from the attach's header URI, when it has the canonical shape. */
static int counters_dir_of(const tp_attach_t *att, char *out, size_t cap)
{
    tp_region_uri_t *u = malloc(sizeof *u); /* 4 KiB: keep it off small thread stacks */
    char tail[96];
    size_t plen, tlen;
    int n, rc = -1;

    if (u == NULL)
        return tp_err_set(TP_ENOMEM, "counters directory");
    if (tp_region_uri_parse(att->header_region_uri, strlen(att->header_region_uri), u) != 0)
        goto out;
    n = snprintf(tail, sizeof tail, "/%" PRIu32 "/%" PRIu64 "/header.ring", att->stream_id,
                 att->epoch);
    plen = strlen(u->path);
    tlen = (size_t)n;
    if (plen <= tlen || strcmp(u->path + plen - tlen, tail) != 0) {
        tp_err_set(TP_EPATH, "header region '%s' is not <namespace>%s", u->path, tail);
        goto out;
    }
    n = snprintf(out, cap, "%.*s/%s", (int)(plen - tlen), u->path, TP_COUNTERS_DIR_NAME);
    if (n < 0 || (size_t)n >= cap) {
        tp_err_set(TP_ETOOBIG, "counters directory path too long");
        goto out;
    }
    rc = 0;
out:
    free(u);
    return rc;
}

/* A new lease: open its file (or keep the one of the same identity), or none. */
static void open_for_lease(struct tp_client_counters *cc, const tp_attach_t *att, uint32_t role,
                           const tp_allowed_dirs_t *allowed)
{
    tp_counters_ident_t ident;
    char dir[TP_REGION_PATH_MAX];
    struct stat st;

    if (counters_dir_of(att, dir, sizeof dir) != 0 || stat(dir, &st) != 0) {
        tp_counters_close(&cc->file, true); /* no counters/: not a tensorpool driver */
        return;
    }
    if (cc->file.base != NULL && cc->client_id == att->client_id &&
        cc->stream_id == att->stream_id && strcmp(cc->dir, dir) == 0)
        return; /* a new lease of the same identity: same file, counts go on */
    tp_counters_close(&cc->file, true);
    ident.role = role;
    ident.id = att->client_id;
    ident.stream_id = att->stream_id;
    ident.name = NULL;
    if (tp_counters_create(&cc->file, dir, &ident, st.st_mode & 0666, allowed) != 0) {
        tp_log_info(CC_COMPONENT, "client %" PRIu32 ": no counters file: %s", att->client_id,
                    tp_errmsg());
        return;
    }
    cc->client_id = att->client_id;
    cc->stream_id = att->stream_id;
    memcpy(cc->dir, dir, sizeof dir);
}

/* Open (or keep) the file for the driver client's current lease. NULL when there is none.
 * The thread-local error is left as it was: this runs inside the QoS duty, not for a caller
 * that checks an error. */
static tp_counters_t *ensure_file(struct tp_client_counters **pcc, tp_driver_client_t *dc,
                                  uint32_t role, const tp_allowed_dirs_t *allowed)
{
    const tp_attach_t *att = tp_dc_attach(dc);
    struct tp_client_counters *cc = *pcc;
    char saved[512];
    int code;

    if (att == NULL || att->code != TP_RESPONSE_OK)
        return cc != NULL && cc->file.base != NULL ? &cc->file : NULL;
    if (cc != NULL && cc->lease_id == att->lease_id)
        return cc->file.base != NULL ? &cc->file : NULL; /* decided for this lease already */
    if (cc == NULL && (cc = *pcc = calloc(1, sizeof *cc)) == NULL)
        return NULL;
    cc->lease_id = att->lease_id;
    code = tp_errcode();
    snprintf(saved, sizeof saved, "%s", tp_errmsg());
    open_for_lease(cc, att, role, allowed);
    if (code == TP_OK)
        tp_err_clear();
    else
        tp_err_set(code, "%s", saved);
    return cc->file.base != NULL ? &cc->file : NULL;
}

static void close_cc(struct tp_client_counters **pcc)
{
    if (*pcc == NULL)
        return;
    tp_counters_close(&(*pcc)->file, true);
    free(*pcc);
    *pcc = NULL;
}

void tp_prod_counters_sync(tp_producer_t *p)
{
    tp_counters_t *f = ensure_file(&p->counters, p->dc, TP_COUNTERS_ROLE_PRODUCER, &p->allowed);
    tp_producer_stats_t st;

    if (f == NULL)
        return;
    tp_producer_get_stats(p, &st);
    tp_counters_set(f, TP_CTR_PROD_FRAMES, st.frames_published);
    tp_counters_set(f, TP_CTR_PROD_BYTES, st.bytes_published);
    tp_counters_set(f, TP_CTR_PROD_ABORTS, st.aborts);
    tp_counters_set(f, TP_CTR_PROD_STALE_RELEASES, st.stale_releases);
    tp_counters_set(f, TP_CTR_PROD_DESC_SENT, st.descriptors_sent);
    tp_counters_set(f, TP_CTR_PROD_DESC_NOT_CONNECTED, st.descriptors_not_connected);
    tp_counters_set(f, TP_CTR_PROD_DESC_LOST, st.descriptors_lost);
    tp_counters_set(f, TP_CTR_PROD_PROGRESS, st.progress_sent);
    tp_counters_set(f, TP_CTR_PROD_QOS, st.qos_sent);
    tp_counters_set(f, TP_CTR_PROD_META, st.meta_sent);
    tp_counters_set(f, TP_CTR_PROD_REATTACHES, st.reattaches);
    tp_counters_set(f, TP_CTR_PROD_PC_STREAMS, st.per_consumer_streams);
    tp_counters_set(f, TP_CTR_PROD_CURRENT_SEQ, st.current_seq);
    tp_counters_set(f, TP_CTR_PROD_EPOCH, st.epoch);
    tp_counters_set(f, TP_CTR_PROD_OUTSTANDING, st.outstanding);
    tp_counters_set(f, TP_CTR_PROD_STATE, st.state);
    tp_counters_touch(f, tp_clock_monotonic_ns());
}

void tp_prod_counters_close(tp_producer_t *p) { close_cc(&p->counters); }

void tp_cons_counters_sync(tp_consumer_t *c)
{
    tp_counters_t *f = ensure_file(&c->counters, c->dc, TP_COUNTERS_ROLE_CONSUMER, &c->allowed);
    tp_consumer_stats_t st;

    if (f == NULL)
        return;
    tp_consumer_get_stats(c, &st);
    tp_counters_set(f, TP_CTR_CONS_FRAMES, st.frames);
    tp_counters_set(f, TP_CTR_CONS_DROPS_GAP, st.drops_gap);
    tp_counters_set(f, TP_CTR_CONS_DROPS_LATE, st.drops_late);
    tp_counters_set(f, TP_CTR_CONS_GAP_RESYNCS, st.gap_resyncs);
    tp_counters_set(f, TP_CTR_CONS_EPOCH_MISMATCHES, st.epoch_mismatches);
    tp_counters_set(f, TP_CTR_CONS_SEQ_REGRESSIONS, st.seq_regressions);
    tp_counters_set(f, TP_CTR_CONS_RATE_SKIPS, st.rate_limited_skips);
    tp_counters_set(f, TP_CTR_CONS_PROGRESS_REGRESSIONS, st.progress_regressions);
    tp_counters_set(f, TP_CTR_CONS_ANNOUNCES_ACCEPTED, st.announces_accepted);
    tp_counters_set(f, TP_CTR_CONS_ANNOUNCES_IGNORED, st.announces_ignored);
    tp_counters_set(f, TP_CTR_CONS_REMAPS, st.remaps);
    tp_counters_set(f, TP_CTR_CONS_MAP_FAILURES, st.map_failures);
    tp_counters_set(f, TP_CTR_CONS_REATTACHES, st.reattaches);
    tp_counters_set(f, TP_CTR_CONS_LAST_SEQ, st.last_seq_seen);
    tp_counters_set(f, TP_CTR_CONS_EPOCH, st.epoch);
    tp_counters_set(f, TP_CTR_CONS_MAPPING_STATE, st.mapping_state);
    tp_counters_set(f, TP_CTR_CONS_MODE, st.mode);
    for (uint32_t r = 1; r < (uint32_t)TP_DROP_COUNT; r++)
        tp_counters_set(f, TP_CTR_CONS_DROP_BASE + r, st.drops_by_reason[r]);
    tp_counters_touch(f, tp_clock_monotonic_ns());
}

void tp_cons_counters_close(tp_consumer_t *c) { close_cc(&c->counters); }

/*
 * `tensorpool stat` collection (cli/stat.h): the messages it watches (ShmPoolAnnounce,
 * QosProducer, QosConsumer, the lease traffic on the driver control stream) and the header
 * ring of each announced stream, mapped read-only, from which the frame rate, the mean frame
 * length and consumer lag come.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/stat.h"
#include "codec/codec.h"
#include "shm/layout.h"
#include "util/atomics.h"
#include "util/error.h"

#define ST_BYTES_SAMPLE_MAX 4096u /* slots read for the mean frame length */

/* ---- header ring samples ---------------------------------------------------------------- */

static const uint8_t *ring_slot(const st_stream_t *st, uint64_t seq)
{
    return st->ring.base + TP_SUPERBLOCK_SIZE +
           (size_t)(seq & (st->nslots - 1)) * TP_HEADER_SLOT_BYTES;
}

/* Acquire: a reader that sees a committed word may read the slot written before it. */
static uint64_t slot_word(const uint8_t *slot) { return tp_load_acquire_u64(slot); }

/* The newest committed seq: forward from the last one found while its successors are
 * committed, a scan of every slot when that trail is lost (lapped, remapped). */
static bool ring_newest(st_stream_t *st, uint64_t *out)
{
    if (!st->mapped)
        return false;
    if (st->have_newest &&
        slot_word(ring_slot(st, st->newest_seq)) >> 1 >= st->newest_seq) {
        uint32_t steps = 0;
        while (steps < st->nslots &&
               slot_word(ring_slot(st, st->newest_seq + 1)) == ((st->newest_seq + 1) << 1 | 1u)) {
            st->newest_seq++;
            steps++;
        }
        if (steps < st->nslots &&
            slot_word(ring_slot(st, st->newest_seq)) == (st->newest_seq << 1 | 1u)) {
            *out = st->newest_seq;
            return true;
        }
    }
    st->have_newest = false;
    for (uint32_t i = 0; i < st->nslots; i++) {
        uint64_t w = slot_word(st->ring.base + TP_SUPERBLOCK_SIZE + (size_t)i * TP_HEADER_SLOT_BYTES);
        if ((w & 1u) && (!st->have_newest || (w >> 1) > st->newest_seq)) {
            st->newest_seq = w >> 1;
            st->have_newest = true;
        }
    }
    *out = st->newest_seq;
    return st->have_newest;
}

/* Mean values_len of the committed slots holding the `span` seqs up to `to`; 0 when none of
 * them is left. */
static double ring_mean_len(const st_stream_t *st, uint64_t to, uint64_t span)
{
    uint64_t sum = 0, n = 0;
    if (span > to + 1)
        span = to + 1;
    if (span > st->nslots)
        span = st->nslots;
    if (span > ST_BYTES_SAMPLE_MAX)
        span = ST_BYTES_SAMPLE_MAX;
    for (uint64_t k = 0; k < span; k++) {
        uint64_t seq = to - k;
        const uint8_t *slot = ring_slot(st, seq);
        uint64_t w = slot_word(slot);
        /* Relaxed: words 1.. of the slot; the word re-check below discards a torn read. */
        uint32_t len = (uint32_t)tp_load_relaxed_u64(slot + 8);
        /* Acquire fence: the length load completes before the second word load (W-73b). */
        tp_fence_acquire();
        if (w == (seq << 1 | 1u) && slot_word(slot) == w) {
            sum += len;
            n++;
        }
    }
    return n ? (double)sum / (double)n : 0.0;
}

void st_stream_unmap(st_stream_t *st)
{
    tp_region_unmap(&st->ring);
    st->mapped = false;
    st->have_newest = false;
    st->win_valid = false;
}

/* Map the announced header ring (read-only, containment, superblock against the announce). */
static void stream_map(st_state_t *s, st_stream_t *st)
{
    tp_region_expect_t e;
    uint64_t seq;

    st_stream_unmap(st);
    memset(&e, 0, sizeof e);
    e.region_type = TP_REGION_HEADER_RING;
    e.layout_version = st->layout_version;
    e.epoch = st->epoch;
    e.stream_id = st->stream_id;
    e.nslots = st->nslots;
    if (tp_region_map(&st->ring, st->header_uri, strlen(st->header_uri), &s->allowed, &e,
                      false) != 0) {
        snprintf(st->ring_error, sizeof st->ring_error, "%s", tp_errmsg());
        return;
    }
    st->ring_error[0] = '\0';
    st->mapped = true;
    st->mapped_epoch = st->epoch;
    /* Nothing committed yet: the epoch's frames start at seq 0 (W-156) and all count. */
    st->win_empty = !ring_newest(st, &seq);
    st->win_seq = st->win_empty ? 0 : seq;
    st->win_ns = s->now_ns;
    st->win_valid = true;
}

/* ---- messages --------------------------------------------------------------------------- */

static st_stream_t *stream_get(st_state_t *s, uint32_t stream_id, bool create)
{
    st_stream_t *free_slot = NULL;
    for (uint32_t i = 0; i < ST_STREAMS_MAX; i++) {
        if (s->streams[i].used && s->streams[i].stream_id == stream_id)
            return &s->streams[i];
        if (!s->streams[i].used && free_slot == NULL)
            free_slot = &s->streams[i];
    }
    if (!create || free_slot == NULL)
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    free_slot->stream_id = stream_id;
    return free_slot;
}

/* <ns>/<stream>/<epoch>/header.ring -> <ns> (WIRE W-173), when the path has that shape. */
static void learn_ns_dir(st_state_t *s, const st_stream_t *st)
{
    tp_region_uri_t *u = malloc(sizeof *u);
    char tail[96];
    size_t plen, tlen;
    if (u == NULL)
        return;
    if (tp_region_uri_parse(st->header_uri, strlen(st->header_uri), u) == 0) {
        tlen = (size_t)snprintf(tail, sizeof tail, "/%" PRIu32 "/%" PRIu64 "/header.ring",
                                st->stream_id, st->epoch);
        plen = strlen(u->path);
        if (plen > tlen && strcmp(u->path + plen - tlen, tail) == 0) {
            u->path[plen - tlen] = '\0';
            st_add_ns_dir(s, u->path);
        }
    }
    free(u);
}

static void on_announce(st_state_t *s, const tp_sbe_control_shm_pool_announce_t *m)
{
    tp_sbe_group_t g = m->payload_pools;
    tp_sbe_control_shm_pool_announce_payload_pools_t e;
    st_stream_t *st;
    bool changed;

    if (s->o.stream_filter && m->stream_id != s->o.stream_id)
        return;
    st = stream_get(s, m->stream_id, true);
    if (st == NULL || m->epoch < st->epoch)
        return; /* full table, or an older epoch (W-89) */
    changed = m->epoch != st->epoch || !st->mapped;
    st->producer_id = m->producer_id;
    st->epoch = m->epoch;
    st->layout_version = m->layout_version;
    st->nslots = m->header_nslots;
    st->announces++;
    st->last_announce_ns = s->now_ns;
    st->pool_count = 0;
    while (st->pool_count < ST_POOLS_MAX &&
           tp_sbe_control_shm_pool_announce_payload_pools_next(&g, &e) == 1) {
        st->pools[st->pool_count].id = e.pool_id;
        st->pools[st->pool_count].nslots = e.pool_nslots;
        st->pools[st->pool_count++].stride = e.stride_bytes;
    }
    if (m->header_region_uri.length >= sizeof st->header_uri)
        return;
    memcpy(st->header_uri, m->header_region_uri.data, m->header_region_uri.length);
    st->header_uri[m->header_region_uri.length] = '\0';
    if (!changed || !tp_is_pow2_u32(st->nslots))
        return;
    learn_ns_dir(s, st);
    stream_map(s, st);
}

static void on_qos_producer(st_state_t *s, const tp_sbe_control_qos_producer_t *m)
{
    st_stream_t *st;
    if (s->o.stream_filter && m->stream_id != s->o.stream_id)
        return;
    st = stream_get(s, m->stream_id, true);
    if (st == NULL)
        return;
    if (!st->qos_first_valid || m->epoch != st->qos_epoch) {
        st->qos_first_valid = true;
        st->qos_first_seq = m->current_seq;
        st->qos_first_ns = s->now_ns;
    }
    st->qos_seen = true;
    st->qos_producer_id = m->producer_id;
    st->qos_epoch = m->epoch;
    st->qos_seq = m->current_seq;
    st->qos_ns = s->now_ns;
}

static st_consumer_t *consumer_get(st_state_t *s, uint32_t stream_id, uint32_t id)
{
    st_consumer_t *free_slot = NULL;
    for (uint32_t i = 0; i < ST_CONSUMERS_MAX; i++) {
        st_consumer_t *c = &s->consumers[i];
        if (c->used && c->stream_id == stream_id && c->consumer_id == id)
            return c;
        if (!c->used && free_slot == NULL)
            free_slot = c;
    }
    if (free_slot != NULL) {
        memset(free_slot, 0, sizeof *free_slot);
        free_slot->used = true;
        free_slot->stream_id = stream_id;
        free_slot->consumer_id = id;
    }
    return free_slot;
}

static void on_qos_consumer(st_state_t *s, const tp_sbe_control_qos_consumer_t *m)
{
    st_stream_t *st;
    st_consumer_t *c;
    uint64_t newest = 0;
    bool have = false;

    if (s->o.stream_filter && m->stream_id != s->o.stream_id)
        return;
    c = consumer_get(s, m->stream_id, m->consumer_id);
    if (c == NULL)
        return;
    c->epoch = m->epoch;
    c->last_seq = m->last_seq_seen;
    c->drops_gap = m->drops_gap;
    c->drops_late = m->drops_late;
    c->mode = m->mode;
    c->rx_ns = s->now_ns;
    c->reports++;
    st = stream_get(s, m->stream_id, false);
    if (st != NULL && st->mapped && st->mapped_epoch == m->epoch)
        have = ring_newest(st, &newest);
    else if (st != NULL && st->qos_seen && st->qos_epoch == m->epoch && st->qos_seq > 0) {
        newest = st->qos_seq - 1;
        have = true;
    }
    c->lag_valid = have;
    c->lag = have && newest > m->last_seq_seen ? newest - m->last_seq_seen : 0;
}

static st_lease_t *lease_get(st_state_t *s, uint64_t lease_id, bool create)
{
    st_lease_t *free_slot = NULL;
    for (uint32_t i = 0; i < ST_LEASES_MAX; i++) {
        st_lease_t *l = &s->leases[i];
        if (l->used && l->lease_id == lease_id)
            return l;
        if (!l->used && free_slot == NULL)
            free_slot = l;
    }
    if (!create || free_slot == NULL)
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    free_slot->lease_id = lease_id;
    return free_slot;
}

static void on_keepalive(st_state_t *s, const tp_sbe_driver_shm_lease_keepalive_t *m)
{
    st_lease_t *l = lease_get(s, m->lease_id, true);
    if (l == NULL)
        return;
    l->client_id = m->client_id;
    l->stream_id = m->stream_id;
    l->role = m->role;
    l->keepalives++;
    l->last_ns = s->now_ns;
}

static void lease_end(st_state_t *s, uint64_t lease_id)
{
    st_lease_t *l = lease_get(s, lease_id, false);
    if (l != NULL)
        l->used = false;
}

void st_on_message(void *clientd, const uint8_t *msg, size_t len)
{
    st_state_t *s = clientd;
    tp_sbe_header_t h;

    s->messages++;
    if (tp_sbe_header_read(msg, len, &h) != 0) {
        s->undecodable++;
        return;
    }
#define DECODE(type, fn, handler)                                                            \
    do {                                                                                     \
        type m_;                                                                             \
        if (fn(msg, len, &m_) < 0)                                                           \
            s->undecodable++;                                                                \
        else                                                                                 \
            handler;                                                                         \
    } while (0)
    if (h.schema_id == TP_SBE_CONTROL_SCHEMA_ID) { /* W-4: schemaId first */
        switch (h.template_id) {
        case TP_SBE_CONTROL_SHM_POOL_ANNOUNCE_TEMPLATE_ID:
            DECODE(tp_sbe_control_shm_pool_announce_t, tp_sbe_control_shm_pool_announce_decode,
                   on_announce(s, &m_));
            break;
        case TP_SBE_CONTROL_QOS_PRODUCER_TEMPLATE_ID:
            DECODE(tp_sbe_control_qos_producer_t, tp_sbe_control_qos_producer_decode,
                   on_qos_producer(s, &m_));
            break;
        case TP_SBE_CONTROL_QOS_CONSUMER_TEMPLATE_ID:
            DECODE(tp_sbe_control_qos_consumer_t, tp_sbe_control_qos_consumer_decode,
                   on_qos_consumer(s, &m_));
            break;
        default:
            break;
        }
    } else if (h.schema_id == TP_SBE_DRIVER_SCHEMA_ID) {
        switch (h.template_id) {
        case TP_SBE_DRIVER_SHM_LEASE_KEEPALIVE_TEMPLATE_ID:
            DECODE(tp_sbe_driver_shm_lease_keepalive_t, tp_sbe_driver_shm_lease_keepalive_decode,
                   on_keepalive(s, &m_));
            break;
        case TP_SBE_DRIVER_SHM_DETACH_REQUEST_TEMPLATE_ID:
            DECODE(tp_sbe_driver_shm_detach_request_t, tp_sbe_driver_shm_detach_request_decode,
                   lease_end(s, m_.lease_id));
            break;
        case TP_SBE_DRIVER_SHM_LEASE_REVOKED_TEMPLATE_ID:
            DECODE(tp_sbe_driver_shm_lease_revoked_t, tp_sbe_driver_shm_lease_revoked_decode,
                   lease_end(s, m_.lease_id));
            break;
        case TP_SBE_DRIVER_SHM_DRIVER_SHUTDOWN_TEMPLATE_ID:
            s->driver_shutdown_seen = true;
            break;
        default:
            break;
        }
    }
#undef DECODE
}

/* ---- the end of a window -------------------------------------------------------------- */

void st_window_rates(st_state_t *s)
{
    for (uint32_t i = 0; i < ST_STREAMS_MAX; i++) {
        st_stream_t *st = &s->streams[i];
        uint64_t newest;
        if (!st->used)
            continue;
        st->rate_valid = st->mib_valid = false;
        if (st->mapped && st->win_valid && s->now_ns > st->win_ns) {
            double secs = (double)(s->now_ns - st->win_ns) / 1e9;
            uint64_t frames = 0;
            bool have = ring_newest(st, &newest);
            if (have && st->win_empty)
                frames = newest + 1;
            else if (have && newest >= st->win_seq)
                frames = newest - st->win_seq;
            st->frames_per_s = (double)frames / secs;
            st->mib_per_s = frames ? st->frames_per_s * ring_mean_len(st, newest, frames) /
                                         1048576.0
                                   : 0.0;
            st->rate_valid = st->mib_valid = true;
            st->rate_source = "ring";
            if (have) {
                st->win_seq = newest;
                st->win_empty = false;
            }
            st->win_ns = s->now_ns;
        }
        if (!st->rate_valid && st->qos_first_valid && st->qos_ns > st->qos_first_ns &&
            st->qos_seq >= st->qos_first_seq) {
            const st_file_t *f = st_find_file(s, TP_COUNTERS_ROLE_PRODUCER, st->qos_producer_id,
                                              st->stream_id);
            uint64_t frames = st_value(f, TP_CTR_PROD_FRAMES);
            st->frames_per_s = (double)(st->qos_seq - st->qos_first_seq) /
                               ((double)(st->qos_ns - st->qos_first_ns) / 1e9);
            st->mib_valid = frames > 0; /* mean frame length from the producer's counters */
            st->mib_per_s = st->mib_valid ? st->frames_per_s *
                                                ((double)st_value(f, TP_CTR_PROD_BYTES) / frames) /
                                                1048576.0
                                          : 0.0;
            st->rate_valid = true;
            st->rate_source = "qos";
        }
        if (st->qos_seen) { /* the next window's QoS rate starts from the last report */
            st->qos_first_seq = st->qos_seq;
            st->qos_first_ns = st->qos_ns;
            st->qos_first_valid = true;
        }
    }
}

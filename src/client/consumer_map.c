/*
 * The consumer's mappings (WIRE §11, §12, §23, §29; DRIVER D-60, D-63): regions mapped
 * read-only from an attach response or a ShmPoolAnnounce, the W-92 announce filters, same-epoch
 * revalidation (W-94..W-96) and remapping. Not a hot path: maps, unmaps and logs.
 */
#include "client/consumer_internal.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/gen/tp_sbe_control.h"
#include "tensorpool/error.h"
#include "util/error.h"
#include "util/log.h"

/* ---- mapping ---------------------------------------------------------------------------- */

int tp_cons_spec_from_attach(tp_cons_spec_t *s, const tp_attach_t *att)
{
    memset(s, 0, offsetof(tp_cons_spec_t, header_uri));
    s->header_uri[0] = '\0';
    if (att->pool_count == 0 || att->pool_count > TP_POOLS_MAX)
        return tp_err_set(TP_EMALFORMED, "attach has %" PRIu32 " pools", att->pool_count);
    s->epoch = att->epoch;
    s->stream_id = att->stream_id;
    s->layout_version = att->layout_version;
    s->nslots = att->header_nslots;
    s->pool_count = att->pool_count;
    if (strlen(att->header_region_uri) >= TP_URI_MAX)
        return tp_err_set(TP_EURI, "header region URI too long");
    memcpy(s->header_uri, att->header_region_uri, strlen(att->header_region_uri) + 1);
    for (uint32_t i = 0; i < att->pool_count; i++) {
        const tp_attach_pool_t *p = &att->pools[i];
        if (p->nslots != att->header_nslots)
            return tp_err_set(TP_EREGION, "pool %u nslots %" PRIu32 " != header nslots %" PRIu32,
                              p->pool_id, p->nslots, att->header_nslots);
        if (strlen(p->region_uri) >= TP_URI_MAX)
            return tp_err_set(TP_EURI, "pool %u region URI too long", p->pool_id);
        s->pool_id[i] = p->pool_id;
        s->stride[i] = p->stride_bytes;
        memcpy(s->pool_uri[i], p->region_uri, strlen(p->region_uri) + 1);
    }
    return 0;
}

static void map_release(tp_cons_map_t *m)
{
    tp_region_unmap(&m->header);
    for (uint32_t i = 0; i < TP_POOLS_MAX; i++)
        tp_region_unmap(&m->pools[i]);
    memset(m, 0, sizeof *m);
}

static int map_regions(tp_consumer_t *c, const tp_cons_spec_t *s, bool check_fresh,
                       uint64_t now_ns, tp_cons_map_t *m)
{
    tp_region_expect_t e;
    memset(m, 0, sizeof *m);
    if (s->layout_version != c->cfg.expected_layout_version)
        return tp_err_set(TP_EVERSION, "layout version %" PRIu32 ", expected %" PRIu32
                          " (W-97)", s->layout_version, c->cfg.expected_layout_version);
    memset(&e, 0, sizeof e);
    e.region_type = TP_REGION_HEADER_RING;
    e.layout_version = s->layout_version;
    e.epoch = s->epoch;
    e.stream_id = s->stream_id;
    e.nslots = s->nslots;
    if (tp_region_map(&m->header, s->header_uri, strlen(s->header_uri), &c->allowed, &e,
                      false) != 0)
        return tp_err_push("header region");
    tp_pool_set_init(&m->pool_set);
    for (uint32_t i = 0; i < s->pool_count; i++) {
        e.region_type = TP_REGION_PAYLOAD_POOL;
        e.pool_id = s->pool_id[i];
        e.stride_bytes = s->stride[i];
        if (tp_region_map(&m->pools[i], s->pool_uri[i], strlen(s->pool_uri[i]), &c->allowed,
                          &e, false) != 0) {
            tp_err_push("pool %u region", s->pool_id[i]);
            goto fail;
        }
        m->pool_count = i + 1;
        if (tp_pool_set_add(&m->pool_set, s->pool_id[i], m->pools[i].base, m->pools[i].size,
                            s->nslots, s->stride[i]) != 0) {
            tp_err_push("pool %u", s->pool_id[i]);
            goto fail;
        }
    }
    if (tp_ring_init(&m->ring, m->header.base, m->header.size, s->nslots) != 0) {
        tp_err_push("header ring");
        goto fail;
    }
    if (check_fresh) { /* W-95: announce path only (DECISION) */
        if (!tp_superblock_is_fresh(tp_region_superblock(&m->header), now_ns,
                                    c->cfg.announce_freshness_ns)) {
            tp_err_set(TP_EREGION, "header region activity is stale (W-95)");
            goto fail;
        }
        for (uint32_t i = 0; i < m->pool_count; i++)
            if (!tp_superblock_is_fresh(tp_region_superblock(&m->pools[i]), now_ns,
                                        c->cfg.announce_freshness_ns)) {
                tp_err_set(TP_EREGION, "pool %u activity is stale (W-95)", s->pool_id[i]);
                goto fail;
            }
    }
    {
        tp_superblock_t sb;
        memcpy(&sb, m->header.base, sizeof sb);
        m->pid = sb.pid;
    }
    m->epoch = s->epoch;
    m->mapped = true;
    return 0;
fail:
    map_release(m);
    return -1;
}

static void reset_tracking(tp_consumer_t *c)
{
    c->tracking = false;
    c->last_rate_ns = 0;
    c->progress_valid = false;
}

int tp_cons_map_spec(tp_consumer_t *c, const tp_cons_spec_t *spec, bool check_fresh,
                     uint64_t now_ns)
{
    tp_cons_map_t m;
    if (map_regions(c, spec, check_fresh, now_ns, &m) != 0) {
        c->st.map_failures++;
        return -1;
    }
    if (spec->nslots > c->last_commit_cap) {
        uint64_t *lc = realloc(c->last_commit, sizeof(uint64_t) * spec->nslots);
        if (lc == NULL) {
            map_release(&m);
            c->st.map_failures++;
            return tp_err_set(TP_ENOMEM, "W-69 slot memory for %" PRIu32 " slots", spec->nslots);
        }
        c->last_commit = lc;
        c->last_commit_cap = spec->nslots;
    }
    map_release(&c->map); /* W-157: the old epoch's in-flight frames die with its mapping */
    c->map = m;
    if (&c->spec != spec)
        memcpy(&c->spec, spec, sizeof c->spec);
    tp_ring_reader_init(&c->reader, &c->map.ring, &c->map.pool_set, c->last_commit);
    c->catchup = 0;
    reset_tracking(c); /* W-159 */
    c->unmap_pending = false;
    if (c->ever_mapped)
        c->st.remaps++;
    c->ever_mapped = true;
    if (spec->epoch > c->highest_epoch)
        c->highest_epoch = spec->epoch;
    c->state = TP_MAPPING_MAPPED;
    /* The driver writes its own pid into every superblock it provisions (W-23, D-9). Regions
     * mapped from our attach name the driver that holds our lease; regions announced later
     * by another pid come from a restarted driver that knows nothing of our lease (D-50),
     * which a producer attach (same driver, new epoch) never causes. */
    if (!check_fresh) {
        c->lease_driver_pid = c->map.pid;
        c->lease_epoch = spec->epoch;
    } else if (c->lease_driver_pid != 0 && c->map.pid != c->lease_driver_pid &&
               spec->epoch > c->lease_epoch) {
        c->driver_changed = true; /* (same epoch, other pid: W-96, handled by remapping) */
    }
    tp_log_debug(TP_CONS_COMPONENT, "stream %" PRIu32 " mapped epoch %" PRIu64, c->stream_id,
                 spec->epoch);
    return 0;
}

void tp_cons_unmap(tp_consumer_t *c, tp_mapping_state_t state)
{
    map_release(&c->map);
    reset_tracking(c);
    c->unmap_pending = false;
    c->state = state;
}

/* ---- ShmPoolAnnounce (W-83..W-99) ------------------------------------------------------------ */

static bool lease_live(const tp_consumer_t *c)
{
    return tp_driver_client_state(c->dc) == TP_LEASE_ATTACHED && c->ever_mapped &&
           c->state != TP_MAPPING_BACKOFF;
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* W-92 filters before any mapping work: true = use it. */
static bool announce_passes(tp_consumer_t *c, const tp_sbe_control_shm_pool_announce_t *a,
                            uint64_t now_ns)
{
    uint64_t ts = a->announce_timestamp_ns, fresh = c->cfg.announce_freshness_ns;
    uint64_t limit = ts > UINT64_MAX - fresh ? UINT64_MAX : ts + fresh;
    if (!lease_live(c) || c->state == TP_MAPPING_FALLBACK) /* DECISION 15: the attach gate */
        return false;
    if (a->layout_version != c->cfg.expected_layout_version || ts == 0)
        return false;
    if (a->announce_clock_domain == TP_SBE_CONTROL_CLOCK_DOMAIN_MONOTONIC) {
        if (limit < c->join_time_ns || now_ns > limit) /* W-91, W-90 */
            return false;
    } else if (a->announce_clock_domain == TP_SBE_CONTROL_CLOCK_DOMAIN_REALTIME_SYNCED) {
        if (realtime_ns() > limit) /* W-90 only */
            return false;
    } else {
        return false; /* W-86 DECISION */
    }
    if (a->epoch < c->highest_epoch) /* W-89 */
        return false;
    if (c->state == TP_MAPPING_REMAPPING && a->epoch <= c->leave_epoch) /* D-63 */
        return false;
    return true;
}

/* The announce as a mapping spec (W-85, W-87): every entry must be usable or none is. */
static int spec_from_announce(tp_cons_spec_t *s, const tp_sbe_control_shm_pool_announce_t *a)
{
    tp_sbe_group_t g = a->payload_pools;
    tp_sbe_control_shm_pool_announce_payload_pools_t e;
    int r;
    memset(s, 0, offsetof(tp_cons_spec_t, header_uri));
    if (a->header_slot_bytes != TP_HEADER_SLOT_BYTES)
        return tp_err_set(TP_EREGION, "header_slot_bytes %u != 256 (W-85)", a->header_slot_bytes);
    if (g.count == 0 || g.count > TP_POOLS_MAX)
        return tp_err_set(TP_EREGION, "%u payload pools", g.count);
    if (a->header_region_uri.length == 0 || a->header_region_uri.length >= TP_URI_MAX)
        return tp_err_set(TP_EURI, "header region URI length %" PRIu32,
                          a->header_region_uri.length);
    s->epoch = a->epoch;
    s->stream_id = a->stream_id;
    s->layout_version = a->layout_version;
    s->nslots = a->header_nslots;
    memcpy(s->header_uri, a->header_region_uri.data, a->header_region_uri.length);
    s->header_uri[a->header_region_uri.length] = '\0';
    while ((r = tp_sbe_control_shm_pool_announce_payload_pools_next(&g, &e)) > 0) {
        uint32_t i = s->pool_count;
        if (e.pool_nslots != a->header_nslots)
            return tp_err_set(TP_EREGION, "pool %u nslots %" PRIu32 " != %" PRIu32 " (W-87)",
                              e.pool_id, e.pool_nslots, a->header_nslots);
        if (e.region_uri.length == 0 || e.region_uri.length >= TP_URI_MAX)
            return tp_err_set(TP_EURI, "pool %u region URI length %" PRIu32, e.pool_id,
                              e.region_uri.length);
        for (uint32_t j = 0; j < i; j++)
            if (s->pool_id[j] == e.pool_id)
                return tp_err_set(TP_EREGION, "pool %u announced twice", e.pool_id);
        s->pool_id[i] = e.pool_id;
        s->stride[i] = e.stride_bytes;
        memcpy(s->pool_uri[i], e.region_uri.data, e.region_uri.length);
        s->pool_uri[i][e.region_uri.length] = '\0';
        s->pool_count++;
    }
    return r < 0 ? -1 : 0;
}

/* Same regions: geometry, epoch and URIs, pools matched by id (an announce may list them in
 * another order than the attach response did). */
static bool same_spec(const tp_cons_spec_t *a, const tp_cons_spec_t *b)
{
    if (a->epoch != b->epoch || a->stream_id != b->stream_id ||
        a->layout_version != b->layout_version || a->nslots != b->nslots ||
        a->pool_count != b->pool_count || strcmp(a->header_uri, b->header_uri) != 0)
        return false;
    for (uint32_t i = 0; i < a->pool_count; i++) {
        uint32_t j = 0;
        while (j < b->pool_count && b->pool_id[j] != a->pool_id[i])
            j++;
        if (j == b->pool_count || a->stride[i] != b->stride[j] ||
            strcmp(a->pool_uri[i], b->pool_uri[j]) != 0)
            return false;
    }
    return true;
}

/* W-94: every mapped superblock still matches spec. */
static bool superblocks_match(const tp_consumer_t *c, const tp_cons_spec_t *s)
{
    tp_region_expect_t e;
    memset(&e, 0, sizeof e);
    e.region_type = TP_REGION_HEADER_RING;
    e.layout_version = s->layout_version;
    e.epoch = s->epoch;
    e.stream_id = s->stream_id;
    e.nslots = s->nslots;
    if (tp_superblock_validate(tp_region_superblock(&c->map.header), &e) != 0)
        return false;
    for (uint32_t i = 0; i < c->map.pool_count; i++) {
        e.region_type = TP_REGION_PAYLOAD_POOL;
        e.pool_id = s->pool_id[i];
        e.stride_bytes = s->stride[i];
        if (tp_superblock_validate(tp_region_superblock(&c->map.pools[i]), &e) != 0)
            return false;
    }
    return true;
}

static bool mapping_fresh(const tp_consumer_t *c, uint64_t now_ns)
{
    uint64_t w = c->cfg.announce_freshness_ns;
    if (!tp_superblock_is_fresh(tp_region_superblock(&c->map.header), now_ns, w))
        return false;
    for (uint32_t i = 0; i < c->map.pool_count; i++)
        if (!tp_superblock_is_fresh(tp_region_superblock(&c->map.pools[i]), now_ns, w))
            return false;
    return true;
}

static uint64_t header_pid(const tp_consumer_t *c)
{
    tp_superblock_t sb;
    memcpy(&sb, c->map.header.base, sizeof sb);
    return sb.pid;
}

static void ignore_announce(tp_consumer_t *c, const char *why)
{
    c->st.announces_ignored++;
    tp_log_debug(TP_CONS_COMPONENT, "stream %" PRIu32 ": announce ignored: %s", c->stream_id, why);
}

/* W-92 revalidation of the mapped epoch against a same-epoch announce. 1 = handled. */
static int revalidate(tp_consumer_t *c, const tp_cons_spec_t *s, uint64_t now_ns)
{
    if (!mapping_fresh(c, now_ns)) { /* W-95: keep the mapping, ignore the announce */
        ignore_announce(c, "stale activity timestamp (W-95)");
        return 1;
    }
    if (header_pid(c) != c->map.pid) { /* W-96 DECISION: unmap, map from the next one */
        tp_log_info(TP_CONS_COMPONENT, "stream %" PRIu32 ": header pid changed, unmapping",
                    c->stream_id);
        tp_cons_unmap(c, TP_MAPPING_UNMAPPED);
        c->st.announces_accepted++;
        return 1;
    }
    if (same_spec(s, &c->spec) && superblocks_match(c, &c->spec)) {
        c->st.announces_accepted++;
        return 1;
    }
    return 0; /* any other mismatch: map again from this announce */
}

void tp_cons_handle_announce(tp_consumer_t *c, const uint8_t *msg, size_t len, uint64_t now_ns)
{
    tp_sbe_control_shm_pool_announce_t a;
    tp_cons_spec_t *s = &c->scratch;
    if (tp_sbe_control_shm_pool_announce_decode(msg, len, &a) < 0) {
        ignore_announce(c, "malformed");
        return;
    }
    if (a.stream_id != c->stream_id) {
        ignore_announce(c, "other stream");
        return;
    }
    /* liveness (D-47, D-69), whatever the filters say next */
    if (now_ns > c->last_announce_ns)
        c->announce_gap_ns = now_ns - c->last_announce_ns;
    c->last_announce_ns = now_ns;
    if (!announce_passes(c, &a, now_ns)) {
        ignore_announce(c, "filtered (W-86, W-89..W-92, D-63)");
        return;
    }
    if (spec_from_announce(s, &a) != 0) {
        c->st.map_failures++;
        ignore_announce(c, tp_errmsg());
        return;
    }
    if (c->state == TP_MAPPING_MAPPED && c->map.mapped && a.epoch == c->map.epoch &&
        revalidate(c, s, now_ns))
        return;
    if (tp_cons_map_spec(c, s, true, now_ns) != 0) {
        /* W-98: nothing of it is used. A mapping that still matches what it was made from
         * stays (a bad announce must not tear down a good mapping); one that does not
         * match any more is dropped. */
        tp_log_info(TP_CONS_COMPONENT, "stream %" PRIu32 ": announce epoch %" PRIu64
                    " not mapped: %s", c->stream_id, a.epoch, tp_errmsg());
        c->st.announces_ignored++;
        if (c->state == TP_MAPPING_MAPPED && !superblocks_match(c, &c->spec))
            tp_cons_unmap(c, TP_MAPPING_UNMAPPED);
        return;
    }
    c->st.announces_accepted++;
}

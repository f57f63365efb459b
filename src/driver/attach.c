/*
 * ShmAttachRequest (DRIVER D-11 .. D-28): the checks in the reference's order with its exact
 * error strings, plus the D-28 DECISION (every raw enum value reaches the checks; a role
 * check after step 4; node ids never 0xFFFFFFFF; the lease records the allocated stream id).
 */
#include "driver/driver_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/log.h"

#define CODE_OK TP_SBE_DRIVER_RESPONSE_CODE_OK
#define CODE_UNSUPPORTED TP_SBE_DRIVER_RESPONSE_CODE_UNSUPPORTED
#define CODE_INVALID TP_SBE_DRIVER_RESPONSE_CODE_INVALID_PARAMS
#define CODE_REJECTED TP_SBE_DRIVER_RESPONSE_CODE_REJECTED
#define CODE_INTERNAL TP_SBE_DRIVER_RESPONSE_CODE_INTERNAL_ERROR

void tp_drv_attach_unsupported_version(tp_driver_t *d, int64_t correlation_id)
{
    tp_drv_send_attach_error(d, correlation_id, CODE_UNSUPPORTED,
                             "unsupported driver schema version");
}

/* ---- node ids (D-22) --------------------------------------------------------------------- */

static tp_drv_node_t *node_of_client(tp_driver_t *d, uint32_t client_id)
{
    for (uint32_t i = 0; i < d->node_count; i++)
        if (d->nodes[i].client_id == client_id)
            return &d->nodes[i];
    return NULL;
}

static bool node_reserved(const tp_driver_t *d, uint32_t node_id)
{
    for (uint32_t i = 0; i < d->node_count; i++)
        if (d->nodes[i].node_id == node_id)
            return true;
    return false;
}

_Static_assert(TP_DRV_MAX_LEASES < TP_DRV_MAX_NODES,
               "node eviction needs an association without a live lease");

/* TP_DRV_MAX_NODES: forget the oldest association of a client without a live lease (the
 * table is in insertion order). Leases are fewer than the table holds, so one exists. */
static int node_evict_one(tp_driver_t *d)
{
    for (uint32_t i = 0; i < d->node_count; i++) {
        if (d->nodes[i].leased)
            continue;
        memmove(&d->nodes[i], &d->nodes[i + 1], (d->node_count - i - 1) * sizeof d->nodes[0]);
        d->node_count--;
        return 0;
    }
    return -1;
}

static int node_remember(tp_driver_t *d, uint32_t client_id, uint32_t node_id)
{
    if (d->node_count >= TP_DRV_MAX_NODES && node_evict_one(d) != 0)
        return -1;
    if (d->node_count == d->node_cap) {
        uint32_t cap = d->node_cap ? d->node_cap * 2 : 16;
        tp_drv_node_t *n;
        if (cap > TP_DRV_MAX_NODES)
            cap = TP_DRV_MAX_NODES;
        n = realloc(d->nodes, cap * sizeof *n);
        if (n == NULL)
            return -1;
        d->nodes = n;
        d->node_cap = cap;
    }
    d->nodes[d->node_count].client_id = client_id;
    d->nodes[d->node_count].node_id = node_id;
    d->nodes[d->node_count].leased = false;
    d->node_count++;
    return 0;
}

static void node_set_leased(tp_driver_t *d, uint32_t client_id, bool leased)
{
    tp_drv_node_t *n = node_of_client(d, client_id);
    if (n != NULL)
        n->leased = leased;
}

void tp_drv_node_release(tp_driver_t *d, uint32_t client_id)
{
    node_set_leased(d, client_id, false);
}

/* D-22 REF + DECISION: one node id per clientId for the life of the process; a returning
 * client gets its old id back; a desired id must be free or be the client's own; the counter
 * starts at 1, skips reserved ids and never hands out 0xFFFFFFFF (the null).
 * Returns the node id or TP_DRV_NODE_ID_NULL when it cannot be granted. */
static uint32_t allocate_node_id(tp_driver_t *d, uint32_t client_id, uint32_t desired)
{
    tp_drv_node_t *own = node_of_client(d, client_id);
    uint32_t id, start;

    if (desired != TP_DRV_NODE_ID_NULL) {
        if (own != NULL)
            return own->node_id == desired ? desired : TP_DRV_NODE_ID_NULL;
        if (node_reserved(d, desired))
            return TP_DRV_NODE_ID_NULL;
        return node_remember(d, client_id, desired) == 0 ? desired : TP_DRV_NODE_ID_NULL;
    }
    if (own != NULL)
        return own->node_id;
    start = id = d->next_node_id;
    while (node_reserved(d, id)) {
        id = id >= TP_DRV_NODE_ID_NULL - 1 ? 1 : id + 1;
        if (id == start)
            return TP_DRV_NODE_ID_NULL; /* every id reserved */
    }
    d->next_node_id = id >= TP_DRV_NODE_ID_NULL - 1 ? 1 : id + 1;
    return node_remember(d, client_id, id) == 0 ? id : TP_DRV_NODE_ID_NULL;
}

/* ---- stream lookup / dynamic creation (D-23, D-70) --------------------------------------- */

typedef enum lookup_status {
    LOOKUP_OK,
    LOOKUP_NOT_PROVISIONED,
    LOOKUP_RANGE_MISSING,
    LOOKUP_RANGE_EXHAUSTED,
    LOOKUP_PROFILE_MISSING,
    LOOKUP_NO_MEMORY
} lookup_status_t;

static int profile_index(const tp_driver_config_t *c, const char *name, uint32_t *out)
{
    if (name[0] == '\0' && c->profile_count > 0) { /* D-87: first profile in file order */
        *out = 0;
        return 0;
    }
    for (uint32_t i = 0; i < c->profile_count; i++)
        if (strcmp(c->profiles[i].name, name) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

/* D-70 REF: round robin over the range from the cursor, skipping ids that have state.
 * Returns -1 when every id of the range is in use. */
static int allocate_dynamic_id(tp_driver_t *d, const tp_cfg_range_t *r, uint32_t *out)
{
    uint64_t size = (uint64_t)r->end - r->start + 1;
    uint32_t id = d->next_dynamic_stream_id;

    if (d->stream_count >= size) { /* cheap exhaustion test before any scan */
        uint64_t used = 0;
        for (uint32_t i = 0; i < d->stream_count; i++)
            if (d->streams[i]->stream_id >= r->start && d->streams[i]->stream_id <= r->end)
                used++;
        if (used >= size)
            return -1;
    }
    if (id < r->start || id > r->end)
        id = r->start;
    /* At most stream_count + 1 candidates are taken, so this terminates quickly. */
    while (tp_drv_stream_find(d, id) != NULL)
        id = id == r->end ? r->start : id + 1;
    d->next_dynamic_stream_id = id == r->end ? r->start : id + 1;
    *out = id;
    return 0;
}

static tp_drv_stream_t *lookup_stream(tp_driver_t *d, uint32_t stream_id, uint8_t publish_mode,
                                      lookup_status_t *status)
{
    const tp_driver_config_t *c = &d->cfg;
    tp_drv_stream_t *s = tp_drv_stream_find(d, stream_id);
    uint32_t prof, id;

    *status = LOOKUP_OK;
    if (s != NULL)
        return s;
    for (uint32_t i = 0; i < c->stream_count; i++) {
        if (c->streams[i].stream_id != stream_id)
            continue;
        /* D-23 DECISION: a configured stream is provisioned whatever the publishMode. */
        if (profile_index(c, c->streams[i].profile, &prof) != 0) {
            *status = LOOKUP_PROFILE_MISSING;
            return NULL;
        }
        s = tp_drv_stream_create(d, stream_id, prof, false);
        *status = s ? LOOKUP_OK : LOOKUP_NO_MEMORY;
        return s;
    }
    if (!c->allow_dynamic_streams ||
        publish_mode != TP_SBE_DRIVER_PUBLISH_MODE_EXISTING_OR_CREATE) {
        *status = LOOKUP_NOT_PROVISIONED;
        return NULL;
    }
    if (!c->stream_id_range.set) {
        *status = LOOKUP_RANGE_MISSING;
        return NULL;
    }
    if (allocate_dynamic_id(d, &c->stream_id_range, &id) != 0) {
        *status = LOOKUP_RANGE_EXHAUSTED;
        return NULL;
    }
    if (profile_index(c, c->default_profile, &prof) != 0) {
        *status = LOOKUP_PROFILE_MISSING;
        return NULL;
    }
    s = tp_drv_stream_create(d, id, prof, true);
    *status = s ? LOOKUP_OK : LOOKUP_NO_MEMORY;
    if (s != NULL)
        tp_log_debug(TP_DRV_COMPONENT, "dynamic stream %" PRIu32 " for request %" PRIu32, id,
                     stream_id);
    return s;
}

/* ---- the request ------------------------------------------------------------------------- */

static void provision_failed(tp_driver_t *d, int64_t correlation_id)
{
    char msg[TP_DRV_ERRMSG_MAX + 1];
    char text[TP_DRV_ERRMSG_MAX + 64];
    snprintf(text, sizeof text, "failed to provision SHM: %s", tp_errmsg());
    tp_drv_truncate_message(msg, (const uint8_t *)text, strlen(text));
    tp_log_warn(TP_DRV_COMPONENT, "%s", msg);
    tp_drv_send_attach_error(d, correlation_id, CODE_INTERNAL, msg);
}

/* A stream created by this request and never provisioned leaves no trace. */
static void drop_unprovisioned(tp_driver_t *d, tp_drv_stream_t *s)
{
    if (s != NULL && s->epoch == 0)
        tp_drv_stream_forget(d, s);
}

/* A refusal after provisioning (D-28 steps 11-13). A configured stream keeps its state, as
 * in the reference. A dynamic stream created by this very request was never named to anyone
 * (its id travels only in an OK response): it is forgotten and the epochs it got are
 * removed, so refused requests can neither use up driver.stream_id_range nor fill the SHM
 * filesystem (D-70). */
static void drop_refused_dynamic(tp_driver_t *d, tp_drv_stream_t *s, bool created,
                                 uint64_t first_epoch)
{
    uint32_t id;
    if (!created || !s->dynamic)
        return;
    id = s->stream_id;
    tp_drv_stream_forget(d, s);
    if (first_epoch != 0)
        tp_drv_remove_epochs_from(d, id, first_epoch);
}

/* Steps 1-4 (+ the role check): the checks that need no state. 0 = passed. */
static int check_request(tp_driver_t *d, const tp_sbe_driver_shm_attach_request_t *m,
                         uint8_t *publish_mode)
{
    int64_t corr = m->correlation_id;
    uint8_t hp = m->require_hugepages;

    /* step 1 (schema version) happened in the dispatcher */
    if (d->state != TP_DRV_RUNNING) { /* step 2, D-67 */
        tp_drv_send_attach_error(d, corr, CODE_REJECTED, "driver draining");
        return -1;
    }
    *publish_mode = m->publish_mode; /* step 3, D-25: null reads as REQUIRE_EXISTING */
    if (*publish_mode == TP_SBE_DRIVER_PUBLISH_MODE_NULL_VALUE)
        *publish_mode = TP_SBE_DRIVER_PUBLISH_MODE_REQUIRE_EXISTING;
    if (*publish_mode != TP_SBE_DRIVER_PUBLISH_MODE_REQUIRE_EXISTING &&
        *publish_mode != TP_SBE_DRIVER_PUBLISH_MODE_EXISTING_OR_CREATE) {
        tp_drv_send_attach_error(d, corr, CODE_UNSUPPORTED, "unsupported publish_mode");
        return -1;
    }
    /* step 4, D-26: the driver's policy decides (REF); 3-255 are unknown (DECISION) */
    if (hp == TP_SBE_DRIVER_HUGEPAGES_POLICY_HUGEPAGES && !d->cfg.require_hugepages) {
        tp_drv_send_attach_error(d, corr, CODE_REJECTED, "hugepages required but unavailable");
        return -1;
    }
    if (hp == TP_SBE_DRIVER_HUGEPAGES_POLICY_STANDARD && d->cfg.require_hugepages) {
        tp_drv_send_attach_error(d, corr, CODE_REJECTED, "hugepages required by driver policy");
        return -1;
    }
    if (hp > TP_SBE_DRIVER_HUGEPAGES_POLICY_HUGEPAGES) {
        tp_drv_send_attach_error(d, corr, CODE_INVALID, "unknown hugepages policy");
        return -1;
    }
    /* D-28 DECISION: the role check follows step 4 */
    if (m->role != TP_SBE_DRIVER_ROLE_PRODUCER && m->role != TP_SBE_DRIVER_ROLE_CONSUMER) {
        tp_drv_send_attach_error(d, corr, CODE_INVALID, "invalid role");
        return -1;
    }
    /* step 5, D-54: any active lease of the clientId, any stream or role */
    if (tp_drv_lease_of_client(d, m->client_id) != NULL) {
        tp_drv_send_attach_error(d, corr, CODE_REJECTED, "client_id already attached");
        return -1;
    }
    /* tensorpool limit (D-10: the driver keeps a table of live leases): a full table
     * refuses before anything is created or provisioned. */
    if (d->lease_count >= TP_DRV_MAX_LEASES) {
        tp_drv_send_attach_error(d, corr, CODE_REJECTED, "lease table full");
        return -1;
    }
    return 0;
}

static void lookup_failed(tp_driver_t *d, int64_t corr, lookup_status_t st)
{
    switch (st) { /* step 6 strings */
    case LOOKUP_RANGE_MISSING:
        tp_drv_send_attach_error(d, corr, CODE_INVALID, "stream_id_range not configured");
        break;
    case LOOKUP_RANGE_EXHAUSTED:
        tp_drv_send_attach_error(d, corr, CODE_INVALID, "stream_id_range exhausted");
        break;
    case LOOKUP_PROFILE_MISSING:
        tp_drv_send_attach_error(d, corr, CODE_INVALID, "profile not found");
        break;
    case LOOKUP_NO_MEMORY:
        tp_drv_send_attach_error(d, corr, CODE_INTERNAL, "out of memory");
        break;
    default:
        tp_drv_send_attach_error(d, corr, CODE_REJECTED, "stream not provisioned");
        break;
    }
}

void tp_drv_handle_attach(tp_driver_t *d, const tp_sbe_driver_shm_attach_request_t *m)
{
    int64_t corr = m->correlation_id;
    uint8_t publish_mode;
    lookup_status_t st;
    tp_drv_stream_t *s;
    tp_drv_lease_t *l;
    uint64_t lease_id, first_epoch = 0;
    uint32_t node_id;
    bool created;

    tp_log_debug(TP_DRV_COMPONENT, "attach correlation=%" PRId64 " stream=%" PRIu32
                 " client=%" PRIu32 " role=%u", corr, m->stream_id, m->client_id,
                 (unsigned)m->role);
    if (check_request(d, m, &publish_mode) != 0)
        return;
    created = tp_drv_stream_find(d, m->stream_id) == NULL;
    s = lookup_stream(d, m->stream_id, publish_mode, &st); /* step 6 */
    if (s == NULL) {
        lookup_failed(d, corr, st);
        return;
    }
    created = created && s->epoch == 0; /* a dynamic stream found by its id existed */
    /* step 7, D-24: 0 = no constraint; the only layout version is 1 */
    if (m->expected_layout_version != 0 && m->expected_layout_version != TP_LAYOUT_VERSION) {
        drop_unprovisioned(d, s);
        tp_drv_send_attach_error(d, corr, CODE_REJECTED, "layout_version mismatch");
        return;
    }
    if (d->cfg.profiles[s->profile_index].pool_count == 0) { /* step 8, D-27 */
        drop_unprovisioned(d, s);
        tp_drv_send_attach_error(d, corr, CODE_INVALID, "stream has no payload pools");
        return;
    }
    /* step 9 ("duplicate attach") is unreachable: step 5 refused any second lease of the
     * clientId. */
    if (s->epoch == 0) { /* step 10, D-23 */
        if (tp_drv_bump_epoch(d, s) != 0) {
            drop_unprovisioned(d, s);
            provision_failed(d, corr);
            return;
        }
        first_epoch = s->epoch;
    }
    if (m->role == TP_SBE_DRIVER_ROLE_PRODUCER) { /* step 11, D-43, D-44 */
        if (s->producer_lease_id != 0) {
            tp_drv_send_attach_error(d, corr, CODE_REJECTED, "producer already attached");
            return;
        }
        if (tp_drv_bump_epoch(d, s) != 0) {
            provision_failed(d, corr);
            drop_refused_dynamic(d, s, created, first_epoch);
            return;
        }
    }
    /* step 12, D-22: the lease id is used up first, as in the reference */
    lease_id = d->next_lease_id++;
    node_id = allocate_node_id(d, m->client_id, m->desired_node_id);
    if (node_id == TP_DRV_NODE_ID_NULL) {
        tp_drv_send_attach_error(d, corr, CODE_REJECTED, "node_id unavailable");
        drop_refused_dynamic(d, s, created, first_epoch);
        return;
    }
    /* step 13, D-53, D-19 */
    l = tp_drv_lease_add(d);
    if (l == NULL) {
        tp_drv_send_attach_error(d, corr, CODE_INTERNAL, "out of memory");
        drop_refused_dynamic(d, s, created, first_epoch);
        return;
    }
    node_set_leased(d, m->client_id, true);
    l->lease_id = lease_id;
    l->stream_id = s->stream_id; /* D-70 DECISION: the allocated id */
    l->client_id = m->client_id;
    l->role = m->role;
    l->node_id = node_id;
    l->expiry_ns = d->now_ns + d->lease_grace_ns;
    if (m->role == TP_SBE_DRIVER_ROLE_PRODUCER) {
        s->producer_lease_id = lease_id;
        s->producer_client_id = m->client_id;
    }
    tp_drv_send_attach_ok(d, corr, s, l);
    tp_drv_send_announce(d, s); /* D-47 REF: right after every successful attach */
}

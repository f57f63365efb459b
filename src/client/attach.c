/*
 * ShmAttachResponse → tp_attach_t, and the D-14/D-18/D-20 validation of an OK answer
 * (shared by the driver client and the consumer, client_internal.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client/client_private.h"
#include "shm/region.h"
#include "util/error.h"

_Static_assert(TP_URI_MAX <= TP_REGION_PATH_MAX + 1, "tp_attach_t URIs fit the URI parser");

static bool is_pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

/* Non-empty, not blank, syntactically a region URI (D-18, D-20; WIRE §27-§29). */
static int check_uri(const char *uri, const char *what)
{
    tp_region_uri_t parsed; /* 4 KiB: fine on an agent thread's stack */
    size_t n = strlen(uri);
    if (n == 0)
        return tp_err_set(TP_EMALFORMED, "D-18: %s is empty", what);
    if (tp_region_uri_parse(uri, n, &parsed) != 0)
        return tp_err_push("D-20: %s", what);
    return 0;
}

int tp_attach_validate(const tp_attach_t *att)
{
    if (att == NULL)
        return tp_err_set(TP_EINVAL, "tp_attach_validate: NULL");
    if (att->code != TP_RESPONSE_OK)
        return tp_err_set(TP_EMALFORMED, "attach response code %d is not OK", (int)att->code);
    /* D-14/D-18: every required field of an OK response is non-null. */
    if (att->lease_id == TP_NULL_U64)
        return tp_err_set(TP_EMALFORMED, "D-18: OK response without leaseId");
    if (att->stream_id == TP_NULL_U32)
        return tp_err_set(TP_EMALFORMED, "D-18: OK response without streamId");
    if (att->epoch == TP_NULL_U64)
        return tp_err_set(TP_EMALFORMED, "D-18: OK response without epoch");
    if (att->layout_version == TP_NULL_U32)
        return tp_err_set(TP_EMALFORMED, "D-18: OK response without layoutVersion");
    if (att->header_nslots == TP_NULL_U32)
        return tp_err_set(TP_EMALFORMED, "D-18: OK response without headerNslots");
    if (!is_pow2(att->header_nslots))
        return tp_err_set(TP_EMALFORMED, "W-26: headerNslots %u is not a power of two",
                          att->header_nslots);
    if (att->header_slot_bytes != 256)
        return tp_err_set(TP_EMALFORMED, "D-18: headerSlotBytes %u != 256",
                          att->header_slot_bytes);
    if (check_uri(att->header_region_uri, "headerRegionUri") != 0)
        return -1;
    if (att->pool_count == 0)
        return tp_err_set(TP_EMALFORMED, "D-18: payloadPools group is empty");
    if (att->pool_count > TP_POOLS_PER_STREAM_MAX)
        return tp_err_set(TP_EMALFORMED, "payloadPools: %u pools, at most %u", att->pool_count,
                          TP_POOLS_PER_STREAM_MAX);
    for (uint32_t i = 0; i < att->pool_count; i++) {
        const tp_attach_pool_t *p = &att->pools[i];
        char what[64];
        if (p->nslots != att->header_nslots)
            return tp_err_set(TP_EMALFORMED, "D-18/W-54: pool %u nslots %u != headerNslots %u",
                              p->pool_id, p->nslots, att->header_nslots);
        if (p->stride_bytes < 64 || !is_pow2(p->stride_bytes) || p->stride_bytes % 64 != 0)
            return tp_err_set(TP_EMALFORMED,
                              "W-53: pool %u stride %u is not a power of two >= 64",
                              p->pool_id, p->stride_bytes);
        for (uint32_t j = 0; j < i; j++)
            if (att->pools[j].pool_id == p->pool_id)
                return tp_err_set(TP_EMALFORMED, "payloadPools: pool id %u twice", p->pool_id);
        snprintf(what, sizeof what, "pool %u regionUri", p->pool_id);
        if (check_uri(p->region_uri, what) != 0)
            return -1;
    }
    return 0;
}

/* Copy var data into a NUL-terminated buffer. URIs must fit and hold no NUL; messages are
 * truncated (D-21, D-94: we may refuse a URI, we never crash). */
static int copy_uri(char *dst, size_t cap, const tp_sbe_data_t *d, const char *what)
{
    if (d->length >= cap)
        return tp_err_set(TP_EMALFORMED, "D-94: %s of %u bytes (limit %zu)", what, d->length,
                          cap - 1);
    if (d->length && memchr(d->data, '\0', d->length) != NULL)
        return tp_err_set(TP_EMALFORMED, "D-20: %s contains a NUL byte", what);
    if (d->length)
        memcpy(dst, d->data, d->length);
    dst[d->length] = '\0';
    return 0;
}

static void copy_message(char *dst, size_t cap, const tp_sbe_data_t *d)
{
    size_t n = d->length < cap - 1 ? d->length : cap - 1;
    if (n)
        memcpy(dst, d->data, n);
    dst[n] = '\0';
}

int tp_dc_attach_from_response(tp_attach_t *att, const tp_sbe_driver_shm_attach_response_t *m,
                               tp_role_t role, uint32_t client_id)
{
    memset(att, 0, offsetof(tp_attach_t, pools));
    att->correlation_id = m->correlation_id;
    att->code = m->code;
    att->role = role;
    att->client_id = client_id;
    att->stream_id = m->stream_id;
    att->header_region_uri[0] = '\0';
    att->error_message[0] = '\0';
    if (m->code != TP_RESPONSE_OK) {
        /* D-15: only correlationId, code and errorMessage count. */
        att->lease_id = TP_NULL_U64;
        att->lease_expiry_ns = TP_NULL_U64;
        att->epoch = TP_NULL_U64;
        att->layout_version = TP_NULL_U32;
        att->header_nslots = TP_NULL_U32;
        att->header_slot_bytes = TP_NULL_U32;
        att->node_id = TP_NULL_U32;
        copy_message(att->error_message, sizeof att->error_message, &m->error_message);
        return 0;
    }
    att->lease_id = m->lease_id;
    att->lease_expiry_ns = m->lease_expiry_timestamp_ns;
    att->epoch = m->epoch;
    att->layout_version = m->layout_version;
    att->header_nslots = m->header_nslots;
    att->header_slot_bytes = m->header_slot_bytes;
    /* D-22 DECISION: 0xFFFFFFFF in an OK response means "no node id", not an error. */
    att->node_id = m->node_id;
    if (copy_uri(att->header_region_uri, sizeof att->header_region_uri, &m->header_region_uri,
                 "headerRegionUri") != 0)
        return -1;
    if (m->payload_pools.count > TP_POOLS_PER_STREAM_MAX)
        return tp_err_set(TP_EMALFORMED, "payloadPools: %u entries, at most %u",
                          m->payload_pools.count, TP_POOLS_PER_STREAM_MAX);
    {
        tp_sbe_group_t it = m->payload_pools;
        tp_sbe_driver_shm_attach_response_payload_pools_t e;
        uint32_t n = 0;
        int r;
        while ((r = tp_sbe_driver_shm_attach_response_payload_pools_next(&it, &e)) > 0) {
            tp_attach_pool_t *p = &att->pools[n++];
            p->pool_id = e.pool_id;
            p->reserved_ = 0;
            p->nslots = e.pool_nslots;
            p->stride_bytes = e.stride_bytes;
            if (copy_uri(p->region_uri, sizeof p->region_uri, &e.region_uri, "regionUri") != 0)
                return -1;
        }
        if (r < 0)
            return -1;
        att->pool_count = n;
    }
    return 0;
}

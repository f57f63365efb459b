/*
 * Everything the driver sends. Responses, notices and ConsumerConfig go to the control
 * stream, ShmPoolAnnounce to the announce stream (DRIVER D-36). Encoded into the driver's
 * one buffer with the generated encoders, then offered; a back-pressured offer is retried a
 * few times and then counted in publish_failures (the driver never blocks).
 */
#include "driver/driver_internal.h"

#include <inttypes.h>
#include <string.h>

#include "util/error.h"
#include "util/log.h"

#define OFFER_ATTEMPTS 8

/* 0 sent, 1 nobody listens, -1 failed (counted). */
static int offer(tp_driver_t *d, tp_publication_t *pub, int64_t len, const char *what)
{
    int64_t r = TP_PUB_BACK_PRESSURED;
    if (len < 0) {
        d->counters.publish_failures++;
        tp_log_error(TP_DRV_COMPONENT, "encode %s: %s", what, tp_errmsg());
        return -1;
    }
    for (int i = 0; i < OFFER_ATTEMPTS && r == TP_PUB_BACK_PRESSURED; i++)
        r = tp_publication_offer(pub, d->buf, (size_t)len);
    if (r >= 0)
        return 0;
    if (r == TP_PUB_NOT_CONNECTED)
        return 1;
    d->counters.publish_failures++;
    tp_log_debug(TP_DRV_COMPONENT, "%s not sent (offer %" PRId64 ")", what, r);
    return -1;
}

uint32_t tp_drv_truncate_message(char *dst, const uint8_t *src, size_t len)
{
    size_t n = len > TP_DRV_ERRMSG_MAX ? TP_DRV_ERRMSG_MAX : len;
    /* back off to a UTF-8 sequence boundary when cutting (bytes 10xxxxxx continue one); a
     * sequence has at most 3 continuation bytes, so text that is not UTF-8 loses at most 3
     * bytes more, never everything */
    if (n < len)
        for (int k = 0; k < 3 && n > 0 && (src[n] & 0xC0) == 0x80; k++)
            n--;
    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return (uint32_t)n;
}

static tp_sbe_data_t message_view(const char *message)
{
    size_t n = message ? strlen(message) : 0;
    return tp_sbe_bytes(message, (uint32_t)(n > TP_DRV_ERRMSG_MAX ? TP_DRV_ERRMSG_MAX : n));
}

static void count_attach(tp_driver_t *d, int32_t code, int rc)
{
    if (rc >= 0 && code >= 0 && code <= 4)
        d->counters.attach_responses[code]++;
}

/* ---- attach / detach responses (D-14, D-15, D-18, D-19, D-21) ---------------------------- */

void tp_drv_send_attach_ok(tp_driver_t *d, int64_t correlation_id, const tp_drv_stream_t *s,
                           const tp_drv_lease_t *l)
{
    const tp_cfg_profile_t *p = &d->cfg.profiles[s->profile_index];
    tp_sbe_driver_shm_attach_response_payload_pools_t pools[TP_CFG_MAX_POOLS];
    tp_sbe_driver_shm_attach_response_t m;

    memset(&m, 0, sizeof m);
    m.correlation_id = correlation_id; /* D-12 */
    m.code = TP_SBE_DRIVER_RESPONSE_CODE_OK;
    m.lease_id = l->lease_id;
    m.lease_expiry_timestamp_ns = l->expiry_ns; /* D-19 REF */
    m.stream_id = s->stream_id;                 /* the allocated id for dynamic streams */
    m.epoch = s->epoch;
    m.layout_version = TP_LAYOUT_VERSION;
    m.header_nslots = p->header_nslots;
    m.header_slot_bytes = TP_HEADER_SLOT_BYTES; /* D-14: always 256 */
    m.node_id = l->node_id;
    for (uint32_t i = 0; i < p->pool_count; i++) {
        memset(&pools[i], 0, sizeof pools[i]);
        pools[i].pool_id = p->pools[i].pool_id;
        pools[i].pool_nslots = p->header_nslots; /* D-18: pool nslots = header nslots */
        pools[i].stride_bytes = p->pools[i].stride_effective;
        pools[i].region_uri = tp_sbe_str(s->pool_uris[i]);
    }
    m.payload_pools = tp_sbe_entries(pools, (uint16_t)p->pool_count);
    m.header_region_uri = tp_sbe_str(s->header_uri);
    m.error_message = tp_sbe_bytes(NULL, 0);
    count_attach(d, m.code,
                 offer(d, d->control_pub,
                       tp_sbe_driver_shm_attach_response_encode(d->buf, d->buf_cap, &m),
                       "ShmAttachResponse"));
}

void tp_drv_send_attach_error(tp_driver_t *d, int64_t correlation_id, int32_t code,
                              const char *message)
{
    tp_sbe_driver_shm_attach_response_t m;

    /* D-15 REF: every optional field null, empty group, empty URI, the message */
    memset(&m, 0, sizeof m);
    m.correlation_id = correlation_id;
    m.code = code;
    m.lease_id = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_LEASE_ID_NULL_VALUE;
    m.lease_expiry_timestamp_ns =
        TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_LEASE_EXPIRY_TIMESTAMP_NS_NULL_VALUE;
    m.stream_id = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_STREAM_ID_NULL_VALUE;
    m.epoch = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_EPOCH_NULL_VALUE;
    m.layout_version = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_LAYOUT_VERSION_NULL_VALUE;
    m.header_nslots = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_HEADER_NSLOTS_NULL_VALUE;
    m.header_slot_bytes = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_HEADER_SLOT_BYTES_NULL_VALUE;
    m.node_id = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_NODE_ID_NULL_VALUE;
    m.payload_pools = tp_sbe_entries(NULL, 0);
    m.header_region_uri = tp_sbe_bytes(NULL, 0);
    m.error_message = message_view(message); /* D-21 */
    tp_log_debug(TP_DRV_COMPONENT, "attach %" PRId64 " refused: %s", correlation_id, message);
    count_attach(d, code,
                 offer(d, d->control_pub,
                       tp_sbe_driver_shm_attach_response_encode(d->buf, d->buf_cap, &m),
                       "ShmAttachResponse"));
}

void tp_drv_send_detach_response(tp_driver_t *d, int64_t correlation_id, int32_t code,
                                 const char *message)
{
    tp_sbe_driver_shm_detach_response_t m;
    memset(&m, 0, sizeof m);
    m.correlation_id = correlation_id;
    m.code = code;
    m.error_message = message_view(message);
    offer(d, d->control_pub, tp_sbe_driver_shm_detach_response_encode(d->buf, d->buf_cap, &m),
          "ShmDetachResponse");
}

/* ---- notices ----------------------------------------------------------------------------- */

void tp_drv_send_revoked(tp_driver_t *d, const tp_drv_lease_t *l, uint8_t reason)
{
    tp_sbe_driver_shm_lease_revoked_t m;
    /* D-57 REF: the lease's fields, the reason, an empty message */
    memset(&m, 0, sizeof m);
    m.timestamp_ns = d->now_ns;
    m.lease_id = l->lease_id;
    m.stream_id = l->stream_id;
    m.client_id = l->client_id;
    m.role = l->role;
    m.reason = reason;
    m.error_message = tp_sbe_bytes(NULL, 0);
    if (offer(d, d->control_pub, tp_sbe_driver_shm_lease_revoked_encode(d->buf, d->buf_cap, &m),
              "ShmLeaseRevoked") >= 0)
        d->counters.revocations_sent++;
}

int tp_drv_send_shutdown(tp_driver_t *d)
{
    tp_sbe_driver_shm_driver_shutdown_t m;
    memset(&m, 0, sizeof m);
    m.timestamp_ns = d->now_ns;
    m.reason = d->shutdown_reason;
    m.error_message = tp_sbe_bytes(d->shutdown_message, d->shutdown_message_len);
    return offer(d, d->control_pub,
                 tp_sbe_driver_shm_driver_shutdown_encode(d->buf, d->buf_cap, &m),
                 "ShmDriverShutdown") >= 0 ? 0 : -1;
}

void tp_drv_send_consumer_config(tp_driver_t *d, const tp_sbe_control_consumer_config_t *m)
{
    if (offer(d, d->control_pub, tp_sbe_control_consumer_config_encode(d->buf, d->buf_cap, m),
              "ConsumerConfig") >= 0)
        d->counters.consumer_configs_sent++;
}

/* ---- announces (D-47, D-48; WIRE W-83 .. W-87) ------------------------------------------- */

void tp_drv_send_announce(tp_driver_t *d, const tp_drv_stream_t *s)
{
    const tp_cfg_profile_t *p = &d->cfg.profiles[s->profile_index];
    tp_sbe_control_shm_pool_announce_payload_pools_t pools[TP_CFG_MAX_POOLS];
    tp_sbe_control_shm_pool_announce_t m;

    if (s->epoch == 0 || s->header_uri == NULL)
        return; /* nothing provisioned yet: nothing to announce (D-23) */
    memset(&m, 0, sizeof m);
    m.stream_id = s->stream_id;
    m.producer_id = s->producer_lease_id ? s->producer_client_id : 0; /* D-48 */
    m.epoch = s->epoch;
    m.announce_timestamp_ns = d->now_ns;
    m.announce_clock_domain = TP_SBE_CONTROL_CLOCK_DOMAIN_MONOTONIC;
    m.layout_version = TP_LAYOUT_VERSION;
    m.header_nslots = p->header_nslots;
    m.header_slot_bytes = TP_HEADER_SLOT_BYTES;
    for (uint32_t i = 0; i < p->pool_count; i++) {
        memset(&pools[i], 0, sizeof pools[i]);
        pools[i].pool_id = p->pools[i].pool_id;
        pools[i].pool_nslots = p->header_nslots; /* W-87 */
        pools[i].stride_bytes = p->pools[i].stride_effective;
        pools[i].region_uri = tp_sbe_str(s->pool_uris[i]);
    }
    m.payload_pools = tp_sbe_entries(pools, (uint16_t)p->pool_count);
    m.header_region_uri = tp_sbe_str(s->header_uri);
    if (offer(d, d->announce_pub,
              tp_sbe_control_shm_pool_announce_encode(d->buf, d->buf_cap, &m),
              "ShmPoolAnnounce") == 0)
        d->counters.announces_sent++;
}

void tp_drv_announce_all(tp_driver_t *d)
{
    for (uint32_t i = 0; i < d->stream_count; i++)
        tp_drv_send_announce(d, d->streams[i]);
}

/*
 * What a driver client receives on the driver control stream (D-36): ShmAttachResponse,
 * ShmDetachResponse, ShmLeaseRevoked, ShmDriverShutdown. Every message is decoded by the
 * generated decoders, which validate the whole message against its length and reject a schema
 * version above 1 (D-34: ignored) before anything is read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "client/driver_client_impl.h"
#include "util/log.h"

#define COMPONENT "driver-client"

static const char CLIENT_ID_TAKEN[] = "client_id already attached"; /* D-28 step 5, D-54 */

static void copy_text(char *dst, size_t cap, const tp_sbe_data_t *d)
{
    size_t n = d->length < cap - 1 ? d->length : cap - 1;
    if (n)
        memcpy(dst, d->data, n);
    dst[n] = '\0';
}

static int find_attempt(const tp_driver_client_t *dc, int64_t corr)
{
    if (dc->req_phase != TP_DC_REQ_PENDING)
        return -1;
    for (uint32_t i = 0; i < dc->attempt_count; i++)
        if (dc->attempts[i] == corr)
            return (int)i;
    return -1;
}

/* The attempt got its answer but the request goes on: later copies of it are duplicates. */
static void retire_attempt(tp_driver_client_t *dc, int idx)
{
    tp_dc_remember_id(dc, dc->attempts[idx]);
    memmove(&dc->attempts[idx], &dc->attempts[idx + 1],
            (dc->attempt_count - (uint32_t)idx - 1) * sizeof dc->attempts[0]);
    dc->attempt_count--;
}

static void finish_with_answer(tp_driver_client_t *dc)
{
    memcpy(dc->result, dc->scratch, sizeof *dc->result);
    dc->state = TP_LEASE_UNATTACHED;
    tp_dc_finish_request(dc, TP_DC_REQ_DONE, 0);
}

/* REJECTED "client_id already attached": D-95 wait first, then D-82 for a self-chosen id. */
static void on_client_id_taken(tp_driver_client_t *dc, uint64_t now_ns)
{
    if (dc->abandoned_until_ns != 0 && now_ns < dc->abandoned_until_ns) {
        dc->counters.d95_retries++; /* a lease we gave up may still live at the driver */
        tp_dc_retry_request(dc, now_ns);
        return;
    }
    if (dc->auto_id) {
        tp_dc_change_client_id(dc);
        dc->abandoned_until_ns = 0; /* it concerned the old id */
        tp_dc_retry_request(dc, now_ns);
        return;
    }
    /* A fixed id: the lease may belong to an earlier run of this client (D-95). */
    if (dc->reject_deadline_ns == 0)
        dc->reject_deadline_ns =
            dc->abandoned_until_ns != 0
                ? dc->abandoned_until_ns
                : now_ns + dc->cfg.default_lease_period_ns + dc->cfg.keepalive_interval_ns;
    if (now_ns < dc->reject_deadline_ns) {
        dc->counters.d95_retries++;
        tp_dc_retry_request(dc, now_ns);
        return;
    }
    finish_with_answer(dc); /* a genuine collision: the application must choose another id */
}

static void on_protocol_error(tp_driver_client_t *dc, const tp_sbe_driver_shm_attach_response_t *m,
                              uint64_t now_ns)
{
    /* D-41: fail closed: abandon the answer (detach the lease best effort, D-95), reattach. */
    dc->counters.protocol_errors++;
    tp_log_warn(COMPONENT, "attach response %" PRId64 " rejected (D-18/D-41): %s",
                m->correlation_id, tp_errmsg());
    tp_err_clear();
    if (m->lease_id != TP_NULL_U64)
        tp_dc_give_up_lease(dc, m->lease_id,
                            m->stream_id != TP_NULL_U32 ? m->stream_id : dc->req.stream_id,
                            m->lease_expiry_timestamp_ns, now_ns);
    tp_dc_retry_request(dc, now_ns);
}

static void on_attach_response(tp_driver_client_t *dc, const uint8_t *msg, size_t len,
                               uint64_t now_ns)
{
    tp_sbe_driver_shm_attach_response_t m;
    int idx;

    if (tp_sbe_driver_shm_attach_response_decode(msg, len, &m) < 0) {
        tp_err_clear(); /* malformed, or a version above 1 (D-34): ignored */
        dc->counters.notices_rejected++;
        return;
    }
    idx = find_attempt(dc, m.correlation_id);
    if (idx < 0) {
        if (!tp_dc_is_recent_id(dc, m.correlation_id)) {
            dc->counters.responses_ignored++; /* someone else's, or stale (D-80) */
            return;
        }
        dc->counters.duplicates_ignored++; /* D-81 */
        /* An OK for an attempt whose request ended otherwise granted a lease nobody uses. */
        if (m.code == TP_RESPONSE_OK && m.lease_id != TP_NULL_U64 &&
            !((dc->state == TP_LEASE_ATTACHED || dc->state == TP_LEASE_DETACHING) &&
              m.lease_id == dc->lease_id) &&
            !(dc->ended_lease_valid && m.lease_id == dc->ended_lease_id))
            tp_dc_give_up_lease(dc, m.lease_id,
                                m.stream_id != TP_NULL_U32 ? m.stream_id : dc->req.stream_id,
                                m.lease_expiry_timestamp_ns, now_ns);
        return;
    }
    if (tp_dc_attach_from_response(dc->scratch, &m, dc->cfg.role, dc->client_id) != 0 ||
        (m.code == TP_RESPONSE_OK && tp_attach_validate(dc->scratch) != 0)) {
        retire_attempt(dc, idx);
        on_protocol_error(dc, &m, now_ns);
        return;
    }
    if (m.code == TP_RESPONSE_OK) {
        tp_dc_accept(dc, now_ns);
        tp_log_debug(COMPONENT, "attached: lease %" PRIu64 " stream %u epoch %" PRIu64,
                     dc->lease_id, dc->stream_id, dc->epoch);
        return;
    }
    if (m.code == TP_RESPONSE_REJECTED && strcmp(dc->scratch->error_message, CLIENT_ID_TAKEN) == 0) {
        retire_attempt(dc, idx);
        on_client_id_taken(dc, now_ns);
        return;
    }
    finish_with_answer(dc);
}

static void on_detach_response(tp_driver_client_t *dc, const uint8_t *msg, size_t len)
{
    tp_sbe_driver_shm_detach_response_t m;
    if (tp_sbe_driver_shm_detach_response_decode(msg, len, &m) < 0) {
        tp_err_clear();
        dc->counters.notices_rejected++;
        return;
    }
    if (dc->detach_phase == TP_DC_REQ_PENDING && m.correlation_id == dc->detach_id) {
        /* D-56: OK or REJECTED "unknown lease" — the lease is gone either way. */
        dc->counters.last_detach_code = m.code;
        tp_dc_remember_id(dc, dc->detach_id);
        dc->detach_phase = TP_DC_REQ_DONE;
        if (dc->state == TP_LEASE_DETACHING)
            tp_dc_end_lease(dc, TP_LEASE_UNATTACHED, NULL);
        return;
    }
    if (tp_dc_is_recent_id(dc, m.correlation_id))
        dc->counters.duplicates_ignored++;
    else
        dc->counters.responses_ignored++;
}

static bool holds_lease(const tp_driver_client_t *dc)
{
    return dc->state == TP_LEASE_ATTACHED || dc->state == TP_LEASE_DETACHING;
}

static void on_lease_revoked(tp_driver_client_t *dc, const uint8_t *msg, size_t len,
                             uint64_t now_ns)
{
    tp_sbe_driver_shm_lease_revoked_t m;
    tp_lease_event_t ev;

    if (tp_sbe_driver_shm_lease_revoked_decode(msg, len, &m) < 0) {
        tp_err_clear(); /* malformed or version > 1 (D-34) */
        dc->counters.notices_rejected++;
        return;
    }
    /* D-62: reason and role are required and must be known. */
    if (m.reason < TP_REVOKE_DETACHED || m.reason > TP_REVOKE_REVOKED ||
        (m.role != TP_ROLE_PRODUCER && m.role != TP_ROLE_CONSUMER)) {
        dc->counters.notices_rejected++;
        return;
    }
    memset(&ev, 0, sizeof ev);
    ev.role = m.role;
    ev.reason = m.reason;
    ev.stream_id = m.stream_id;
    ev.lease_id = m.lease_id;
    ev.timestamp_ns = now_ns;
    copy_text(ev.message, sizeof ev.message, &m.error_message);

    if (holds_lease(dc) && m.lease_id == dc->lease_id && m.client_id == dc->client_id &&
        m.stream_id == dc->stream_id && m.role == (uint8_t)dc->cfg.role) {
        if (dc->state == TP_LEASE_DETACHING) {
            dc->counters.notices_ignored++; /* the notice of our own detach (D-57) */
            return;
        }
        /* D-59: our own lease: stop using the regions, reattach (the owner does). */
        tp_log_info(COMPONENT, "lease %" PRIu64 " revoked (%s)", m.lease_id,
                    tp_revoke_reason_name(m.reason));
        ev.kind = TP_EVENT_LEASE_REVOKED;
        tp_dc_end_lease(dc, TP_LEASE_REVOKED, &ev);
        return;
    }
    if (dc->ended_lease_valid && m.lease_id == dc->ended_lease_id &&
        m.client_id == dc->client_id) {
        dc->counters.notices_ignored++; /* D-64: a repeat for a lease already ended */
        return;
    }
    if (dc->cfg.role == TP_ROLE_CONSUMER && dc->state == TP_LEASE_ATTACHED &&
        m.role == TP_ROLE_PRODUCER && m.stream_id == dc->stream_id) {
        if (dc->producer_revoked_valid && dc->producer_revoked_lease == m.lease_id) {
            dc->counters.notices_ignored++; /* D-64 */
            return;
        }
        /* D-60: the producer of our stream: hold off until an announce with a higher epoch. */
        dc->producer_revoked_lease = m.lease_id;
        dc->producer_revoked_valid = true;
        ev.kind = TP_EVENT_PRODUCER_REVOKED;
        tp_dc_push_event(dc, &ev);
        return;
    }
    dc->counters.notices_ignored++; /* D-61: not ours */
}

static void on_driver_shutdown(tp_driver_client_t *dc, const uint8_t *msg, size_t len,
                               uint64_t now_ns)
{
    tp_sbe_driver_shm_driver_shutdown_t m;
    tp_lease_event_t ev;

    if (tp_sbe_driver_shm_driver_shutdown_decode(msg, len, &m) < 0) {
        tp_err_clear();
        dc->counters.notices_rejected++;
        return;
    }
    if (dc->state == TP_LEASE_DETACHING) {
        /* The driver is going: the detach will not be answered; it is over. */
        tp_dc_remember_id(dc, dc->detach_id);
        dc->detach_phase = TP_DC_REQ_DONE;
        tp_dc_end_lease(dc, TP_LEASE_UNATTACHED, NULL);
        return;
    }
    if (dc->state != TP_LEASE_ATTACHED) {
        dc->counters.notices_ignored++; /* no lease (or a repeat, D-64) */
        return;
    }
    /* D-68: every lease is invalid at once; reattach once the driver is back. An unknown
     * reason still invalidates (fail closed). */
    memset(&ev, 0, sizeof ev);
    ev.kind = TP_EVENT_DRIVER_SHUTDOWN;
    ev.role = (uint8_t)dc->cfg.role;
    ev.reason = m.reason;
    ev.stream_id = dc->stream_id;
    ev.lease_id = dc->lease_id;
    ev.timestamp_ns = now_ns;
    copy_text(ev.message, sizeof ev.message, &m.error_message);
    tp_log_info(COMPONENT, "driver shutdown (%s): lease %" PRIu64 " invalid",
                tp_shutdown_reason_name(m.reason), dc->lease_id);
    tp_dc_end_lease(dc, TP_LEASE_SHUTDOWN, &ev);
}

void tp_dc_on_message(tp_driver_client_t *dc, const uint8_t *msg, size_t len, uint64_t now_ns)
{
    tp_sbe_header_t h;
    if (tp_sbe_header_read(msg, len, &h) != 0) {
        tp_err_clear();
        return;
    }
    /* D-35: dispatch on (schemaId, templateId); requests of other clients are not for us. */
    switch (h.template_id) {
    case TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_TEMPLATE_ID:
        on_attach_response(dc, msg, len, now_ns);
        break;
    case TP_SBE_DRIVER_SHM_DETACH_RESPONSE_TEMPLATE_ID:
        on_detach_response(dc, msg, len);
        break;
    case TP_SBE_DRIVER_SHM_LEASE_REVOKED_TEMPLATE_ID:
        on_lease_revoked(dc, msg, len, now_ns);
        break;
    case TP_SBE_DRIVER_SHM_DRIVER_SHUTDOWN_TEMPLATE_ID:
        on_driver_shutdown(dc, msg, len, now_ns);
        break;
    default:
        break;
    }
}

/*
 * Names of the public enums (types.h, driver_client.h, consumer.h) and the drop reason count.
 * All static storage, pure, thread-safe.
 */
#include "tensorpool/consumer.h"
#include "tensorpool/driver_client.h"
#include "tensorpool/types.h"

#include "shm/drop.h"

_Static_assert(TP_DROP_COUNT <= TP_DROP_REASONS_MAX,
               "tp_consumer_stats_t.drops_by_reason must hold every drop reason");

int tp_drop_reason_count(void) { return (int)TP_DROP_COUNT; }

const char *tp_role_name(int role)
{
    switch (role) {
    case TP_ROLE_PRODUCER: return "PRODUCER";
    case TP_ROLE_CONSUMER: return "CONSUMER";
    default: return "INVALID";
    }
}

const char *tp_response_code_name(int code)
{
    switch (code) {
    case TP_RESPONSE_OK: return "OK";
    case TP_RESPONSE_UNSUPPORTED: return "UNSUPPORTED";
    case TP_RESPONSE_INVALID_PARAMS: return "INVALID_PARAMS";
    case TP_RESPONSE_REJECTED: return "REJECTED";
    case TP_RESPONSE_INTERNAL_ERROR: return "INTERNAL_ERROR";
    default: return "INVALID";
    }
}

const char *tp_revoke_reason_name(int reason)
{
    switch (reason) {
    case TP_REVOKE_DETACHED: return "DETACHED";
    case TP_REVOKE_EXPIRED: return "EXPIRED";
    case TP_REVOKE_REVOKED: return "REVOKED";
    default: return "INVALID";
    }
}

const char *tp_shutdown_reason_name(int reason)
{
    switch (reason) {
    case TP_SHUTDOWN_NORMAL: return "NORMAL";
    case TP_SHUTDOWN_ADMIN: return "ADMIN";
    case TP_SHUTDOWN_ERROR: return "ERROR";
    default: return "INVALID";
    }
}

const char *tp_lease_state_name(int state)
{
    switch (state) {
    case TP_LEASE_UNATTACHED: return "UNATTACHED";
    case TP_LEASE_ATTACHING: return "ATTACHING";
    case TP_LEASE_BACKOFF: return "BACKOFF";
    case TP_LEASE_ATTACHED: return "ATTACHED";
    case TP_LEASE_DETACHING: return "DETACHING";
    case TP_LEASE_REVOKED: return "REVOKED";
    case TP_LEASE_SHUTDOWN: return "SHUTDOWN";
    case TP_LEASE_LOST: return "LOST";
    default: return "INVALID";
    }
}

const char *tp_mapping_state_name(int state)
{
    switch (state) {
    case TP_MAPPING_UNMAPPED: return "UNMAPPED";
    case TP_MAPPING_MAPPED: return "MAPPED";
    case TP_MAPPING_REMAPPING: return "REMAPPING";
    case TP_MAPPING_BACKOFF: return "BACKOFF";
    case TP_MAPPING_FALLBACK: return "FALLBACK";
    default: return "INVALID";
    }
}

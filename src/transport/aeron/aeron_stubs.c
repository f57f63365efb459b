/*
 * The Aeron transport in a build without Aeron (TP_WITH_AERON=OFF, or CMake did not find it):
 * the functions of aeron.h exist, open refuses with TP_ECONFIG and the reason, and nothing else
 * is ever reached (transport.c creates no Aeron handle without an open Aeron transport).
 */
#include "transport/aeron/aeron.h"

#ifndef TP_HAVE_AERON

#include "util/error.h"

#define NO_AERON "tensorpool was built without Aeron (TP_WITH_AERON=OFF, or CMake did not find " \
                 "it: see docs/aeron.md)"

bool tp_aeron_available(void) { return false; }
const char *tp_aeron_dir(const tp_aeron_t *a) { (void)a; return ""; }

int tp_aeron_channel_parse(const char *uri, tp_channel_t *out)
{
    (void)out;
    return tp_err_set(TP_ECONFIG, "channel '%s': %s", uri ? uri : "", NO_AERON);
}

int tp_aeron_open(tp_aeron_t **out, const tp_transport_config_t *cfg)
{
    (void)out;
    (void)cfg;
    return tp_err_set(TP_ECONFIG, "transport \"aeron\": %s", NO_AERON);
}

void tp_aeron_close(tp_aeron_t *a) { (void)a; }
int tp_aeron_do_work(tp_aeron_t *a, uint64_t now_ns) { (void)a; (void)now_ns; return 0; }

int tp_aeron_add_publication(tp_aeron_t *a, const char *channel, uint32_t stream_id,
                             bool exclusive, tp_aeron_pub_t **out)
{
    (void)a; (void)channel; (void)stream_id; (void)exclusive; (void)out;
    return tp_err_set(TP_ECONFIG, "%s", NO_AERON);
}

void tp_aeron_pub_close(tp_aeron_pub_t *p) { (void)p; }
size_t tp_aeron_pub_max_message_length(const tp_aeron_pub_t *p) { (void)p; return 0; }
int64_t tp_aeron_offer(tp_aeron_pub_t *p, const void *buf, size_t len)
{
    (void)p; (void)buf; (void)len;
    return TP_PUB_CLOSED;
}
int64_t tp_aeron_try_claim(tp_aeron_pub_t *p, size_t len, tp_claim_t *claim)
{
    (void)p; (void)len; (void)claim;
    return TP_PUB_CLOSED;
}
int tp_aeron_commit(tp_claim_t *claim) { (void)claim; return tp_err_set(TP_ECONFIG, "%s", NO_AERON); }
void tp_aeron_abort(tp_claim_t *claim) { (void)claim; }
bool tp_aeron_pub_is_connected(tp_aeron_pub_t *p) { (void)p; return false; }

int tp_aeron_add_subscription(tp_aeron_t *a, const char *channel, uint32_t stream_id,
                              tp_aeron_sub_t **out)
{
    (void)a; (void)channel; (void)stream_id; (void)out;
    return tp_err_set(TP_ECONFIG, "%s", NO_AERON);
}

void tp_aeron_sub_close(tp_aeron_sub_t *s) { (void)s; }
int tp_aeron_poll(tp_aeron_sub_t *s, tp_message_handler_t handler, void *clientd, int limit)
{
    (void)s; (void)handler; (void)clientd; (void)limit;
    return 0;
}
bool tp_aeron_sub_is_connected(tp_aeron_sub_t *s) { (void)s; return false; }
uint64_t tp_aeron_sub_position(const tp_aeron_sub_t *s) { (void)s; return 0; }
uint64_t tp_aeron_sub_join_time_ns(const tp_aeron_sub_t *s) { (void)s; return 0; }
uint32_t tp_aeron_sub_image_count(const tp_aeron_sub_t *s) { (void)s; return 0; }


#else
typedef int tp_aeron_stubs_unused; /* a build with Aeron: aeron.c */
#endif

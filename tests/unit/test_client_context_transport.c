/*
 * The context's transport settings (issue 7 "Transport"): tp_context_set_transport /
 * tp_context_transport, tp_context_set_aeron_dir, the TP_TRANSPORT and AERON_DIR defaults read
 * by tp_context_init, and what a build without Aeron answers. Runs in every build.
 */
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"
#include "tensorpool/tensorpool.h"
#include "tp_test.h"
#include "transport/transport.h"

TP_TEST(test_context_transport_default_and_setters)
{
    tp_context_t *ctx;
    tp_transport_config_t tc;
    unsetenv("TP_TRANSPORT");
    setenv("AERON_DIR", "/dev/shm/aeron-from-env", 1);
    TP_ASSERT(tp_context_init(&ctx) == 0);
    TP_CHECK_STR(tp_context_transport(ctx), "embedded");
    tp_context_transport_config(ctx, &tc);
    TP_CHECK_EQ_I(tc.kind, TP_TRANSPORT_EMBEDDED);
    TP_CHECK_STR(tc.aeron_dir, "/dev/shm/aeron-from-env");
    TP_CHECK_EQ_I(tp_context_set_transport(ctx, "udp"), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ECONFIG);
    TP_CHECK(strstr(tp_errmsg(), "\"embedded\" or \"aeron\"") != NULL);
    TP_CHECK_EQ_I(tp_context_set_aeron_dir(ctx, "/dev/shm/other"), 0);
    tp_context_transport_config(ctx, &tc);
    TP_CHECK_STR(tc.aeron_dir, "/dev/shm/other");
    if (tp_transport_aeron_available()) {
        TP_CHECK_EQ_I(tp_context_set_transport(ctx, "aeron"), 0);
        TP_CHECK_STR(tp_context_transport(ctx), "aeron");
    } else {
        TP_CHECK_EQ_I(tp_context_set_transport(ctx, "aeron"), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_ECONFIG);
        TP_CHECK(strstr(tp_errmsg(), "built without Aeron") != NULL);
        TP_CHECK_STR(tp_context_transport(ctx), "embedded");
    }
    TP_CHECK_EQ_I(tp_context_set_transport(ctx, "embedded"), 0);
    tp_context_close(ctx);
    unsetenv("AERON_DIR");
}

TP_TEST(test_context_tp_transport_environment)
{
    tp_context_t *ctx = NULL;
    setenv("TP_TRANSPORT", "carrier-pigeon", 1);
    TP_CHECK_EQ_I(tp_context_init(&ctx), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ECONFIG);
    TP_CHECK(strstr(tp_errmsg(), "TP_TRANSPORT") != NULL);
    setenv("TP_TRANSPORT", "aeron", 1);
    if (tp_transport_aeron_available()) {
        TP_ASSERT(tp_context_init(&ctx) == 0);
        TP_CHECK_STR(tp_context_transport(ctx), "aeron");
        tp_context_close(ctx);
    } else {
        TP_CHECK_EQ_I(tp_context_init(&ctx), -1);
        TP_CHECK(strstr(tp_errmsg(), "built without Aeron") != NULL);
    }
    unsetenv("TP_TRANSPORT");
}

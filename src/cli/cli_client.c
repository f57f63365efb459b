/* Shared parts of `tensorpool producer` and `tensorpool consumer` (cli/cli_client.h). */
#include "cli/cli_client.h"
#include "transport/transport.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile sig_atomic_t tp_cli_stop;

static void on_signal(int sig)
{
    (void)sig;
    tp_cli_stop = 1;
}

void tp_cli_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* a closed terminal: summary and detach, as SIGTERM */
    signal(SIGPIPE, SIG_IGN);
}

void tp_cli_common_init(tp_cli_common_t *c)
{
    tp_driver_client_config_t dcfg;
    memset(c, 0, sizeof *c);
    tp_driver_client_config_init(&dcfg); /* TP_CONTROL_CHANNEL, TP_CONTROL_STREAM_ID, TP_CLIENT_ID */
    snprintf(c->control_channel, sizeof c->control_channel, "%s", dcfg.control_channel);
    c->control_stream =
        getenv("TP_CONTROL_STREAM_ID") != NULL ? dcfg.control_stream_id : TP_CLI_DEFAULT_CONTROL_STREAM;
    c->client_id = dcfg.client_id;
    c->stream_id = 42;
    c->attach_timeout_s = 10.0;
}

const char *tp_cli_optval(const char *name, int argc, char **argv, int *i, bool *err)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *err = true;
        return NULL;
    }
    return argv[++*i];
}

int tp_cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (s == NULL || *s == '\0' || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int tp_cli_parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (tp_cli_parse_u64(s, &v) != 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int tp_cli_parse_double(const char *s, double *out)
{
    char *end;
    double v;
    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !(v >= 0) || v > 1e12)
        return -1;
    *out = v;
    return 0;
}

int tp_cli_transport_opt(int argc, char **argv, int *i, const char **dir, const char **transport,
                         const char **aeron_dir)
{
    bool err = false;
    const char *v, **dst;
    tp_transport_kind_t kind;
    if ((v = tp_cli_optval("--transport", argc, argv, i, &err)) != NULL || err) {
        if (err || tp_transport_kind_parse(v, &kind) != 0)
            return -1;
        *transport = v;
        return 1;
    }
    if ((v = tp_cli_optval("--dir", argc, argv, i, &err)) != NULL || err)
        dst = dir;
    else if ((v = tp_cli_optval("--aeron-dir", argc, argv, i, &err)) != NULL || err)
        dst = aeron_dir;
    else
        return 0;
    if (err || *v == '\0' || strlen(v) >= TP_TRANSPORT_DIR_MAX)
        return -1;
    *dst = v;
    return 1;
}

int tp_cli_common_parse(tp_cli_common_t *c, int argc, char **argv, int *i)
{
    bool err = false;
    const char *v, *opt = argv[*i];
    int rc = tp_cli_transport_opt(argc, argv, i, &c->dir, &c->transport, &c->aeron_dir);
    if (rc != 0) {
        if (rc < 0)
            goto bad;
        return 1;
    }
    if ((v = tp_cli_optval("--control-channel", argc, argv, i, &err)) != NULL || err) {
        if (err || *v == '\0' || strlen(v) >= sizeof c->control_channel)
            goto bad;
        snprintf(c->control_channel, sizeof c->control_channel, "%s", v);
        return 1;
    }
    if ((v = tp_cli_optval("--control-stream", argc, argv, i, &err)) != NULL || err) {
        if (err || tp_cli_parse_u32(v, &c->control_stream) != 0)
            goto bad;
        return 1;
    }
    if ((v = tp_cli_optval("--client-id", argc, argv, i, &err)) != NULL || err) {
        if (err || tp_cli_parse_u32(v, &c->client_id) != 0)
            goto bad;
        return 1;
    }
    if ((v = tp_cli_optval("--stream", argc, argv, i, &err)) != NULL || err) {
        if (err || tp_cli_parse_u32(v, &c->stream_id) != 0 || c->stream_id == 0)
            goto bad;
        return 1;
    }
    if ((v = tp_cli_optval("--allowed-dir", argc, argv, i, &err)) != NULL || err) {
        if (err || *v == '\0' || c->allowed_dir_count >= TP_CONTEXT_ALLOWED_DIRS_MAX)
            goto bad;
        c->allowed_dirs[c->allowed_dir_count++] = v;
        return 1;
    }
    if ((v = tp_cli_optval("--announce-channel", argc, argv, i, &err)) != NULL || err) {
        if (err || *v == '\0' || strlen(v) >= sizeof c->announce_channel)
            goto bad;
        snprintf(c->announce_channel, sizeof c->announce_channel, "%s", v);
        return 1;
    }
    if ((v = tp_cli_optval("--announce-stream", argc, argv, i, &err)) != NULL || err) {
        if (err || tp_cli_parse_u32(v, &c->announce_stream) != 0)
            goto bad;
        c->announce_set = true;
        return 1;
    }
    if ((v = tp_cli_optval("--attach-timeout", argc, argv, i, &err)) != NULL || err) {
        if (err || tp_cli_parse_double(v, &c->attach_timeout_s) != 0)
            goto bad;
        return 1;
    }
    return 0;
bad:
    printf("error=bad or missing value for %s\n", opt);
    return -1;
}

uint32_t tp_cli_announce_stream(const tp_cli_common_t *c, const char *env_name, uint32_t cfg_value)
{
    if (c->announce_set)
        return c->announce_stream;
    return getenv(env_name) != NULL ? cfg_value : TP_CLI_DEFAULT_ANNOUNCE_STREAM;
}

void tp_cli_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !tp_cli_stop) {
    }
}

void tp_cli_idle(tp_cli_idle_t *s, int work)
{
    if (work > 0) {
        s->idle = 0;
        return;
    }
    s->idle++;
    if (s->idle < 200)
        return; /* spin */
    if (s->idle < 400) {
        sched_yield();
        return;
    }
    tp_cli_sleep_ns(s->idle < 1000 ? 10000 : 200000); /* 10 us, then 200 us */
}

static void session_close(tp_cli_session_t *s)
{
    tp_driver_client_close(s->dc);
    tp_client_close(s->client);
    tp_context_close(s->ctx);
    free(s->att);
    memset(s, 0, sizeof *s);
}

int tp_cli_attach(tp_cli_session_t *s, const tp_cli_common_t *c, tp_role_t role)
{
    tp_driver_client_config_t dcfg;
    tp_attach_request_t req;
    int64_t id;
    int rc;
    uint64_t deadline;

    memset(s, 0, sizeof *s);
    s->att = calloc(1, sizeof *s->att);
    if (s->att == NULL) {
        printf("error=out of memory\n");
        return -1;
    }
    if (tp_context_init(&s->ctx) != 0 || (c->dir != NULL && tp_context_set_dir(s->ctx, c->dir) != 0) ||
        (c->transport != NULL && tp_context_set_transport(s->ctx, c->transport) != 0) ||
        (c->aeron_dir != NULL && tp_context_set_aeron_dir(s->ctx, c->aeron_dir) != 0)) {
        printf("error=context: %s\n", tp_errmsg());
        goto fail;
    }
    for (uint32_t k = 0; k < c->allowed_dir_count; k++)
        if (tp_context_add_allowed_dir(s->ctx, c->allowed_dirs[k]) != 0) {
            printf("error=--allowed-dir %s: %s\n", c->allowed_dirs[k], tp_errmsg());
            goto fail;
        }
    if (tp_client_init(&s->client, s->ctx) != 0) {
        printf("error=client: %s\n", tp_errmsg());
        goto fail;
    }
    tp_driver_client_config_init(&dcfg);
    snprintf(dcfg.control_channel, sizeof dcfg.control_channel, "%s", c->control_channel);
    dcfg.control_stream_id = c->control_stream;
    dcfg.client_id = c->client_id;
    dcfg.role = role;
    if (tp_driver_client_init_config(&s->dc, s->client, &dcfg) != 0) {
        printf("error=driver client: %s\n", tp_errmsg());
        goto fail;
    }
    tp_attach_request_init(&req);
    req.stream_id = c->stream_id;
    id = tp_driver_client_send_attach(s->dc, &req);
    if (id == -1) {
        printf("error=attach: %s\n", tp_errmsg());
        goto fail;
    }
    deadline = c->attach_timeout_s > 0
                   ? tp_client_now_ns(s->client) + (uint64_t)(c->attach_timeout_s * 1e9)
                   : UINT64_MAX;
    while ((rc = tp_driver_client_poll_attach(s->dc, id, s->att)) == 0) {
        if (tp_cli_stop) {
            printf("error=interrupted while attaching\n");
            goto fail;
        }
        if (tp_client_now_ns(s->client) > deadline) {
            printf("error=attach timed out after %.1f s (is a driver running on %s stream %u?)\n",
                   c->attach_timeout_s, c->control_channel, c->control_stream);
            goto fail;
        }
        tp_cli_sleep_ns(200000);
    }
    if (rc < 0) {
        printf("error=attach: %s\n", tp_errmsg());
        goto fail;
    }
    if (s->att->code != TP_RESPONSE_OK) {
        printf("error=attach refused: %s: %s\n", tp_response_code_name(s->att->code),
               s->att->error_message);
        goto fail;
    }
    return 0;
fail:
    session_close(s);
    return -1;
}

void tp_cli_detach(tp_cli_session_t *s)
{
    /* Best effort: a detach request, then a short wait for the answer so the driver frees the
       lease now rather than at expiry. */
    if (s->dc != NULL && tp_driver_client_state(s->dc) == TP_LEASE_ATTACHED) {
        int64_t id = tp_driver_client_send_detach(s->dc);
        if (id != -1) {
            uint64_t end = tp_client_now_ns(s->client) + 500000000ull;
            while (tp_driver_client_poll_detach(s->dc, id) == 0 && tp_client_now_ns(s->client) < end) {
                tp_client_do_work(s->client, tp_client_now_ns(s->client));
                tp_cli_sleep_ns(200000);
            }
        }
    }
    session_close(s);
}

/* ---- histogram ------------------------------------------------------------------------- */

static unsigned hist_index(uint64_t v)
{
    unsigned msb, sub;
    if (v < TP_CLI_HIST_SUB)
        return (unsigned)v; /* octave 0 holds 0..15 exactly */
    msb = 63u - (unsigned)__builtin_clzll(v);
    sub = (unsigned)((v >> (msb - 4)) & (TP_CLI_HIST_SUB - 1)); /* 4 bits below the msb */
    return (msb - 3u) * TP_CLI_HIST_SUB + sub;
}

static uint64_t hist_value(unsigned idx)
{
    unsigned oct = idx / TP_CLI_HIST_SUB, sub = idx % TP_CLI_HIST_SUB;
    uint64_t lo, width;
    if (oct == 0)
        return sub;
    lo = ((uint64_t)(TP_CLI_HIST_SUB + sub)) << (oct - 1);
    width = 1ull << (oct - 1);
    return lo + width / 2;
}

void tp_cli_hist_add(tp_cli_hist_t *h, uint64_t v)
{
    unsigned i = hist_index(v);
    if (i >= 64 * TP_CLI_HIST_SUB)
        i = 64 * TP_CLI_HIST_SUB - 1;
    h->buckets[i]++;
    h->count++;
    if (v > h->max)
        h->max = v;
}

uint64_t tp_cli_hist_quantile(const tp_cli_hist_t *h, double q)
{
    uint64_t want, seen = 0;
    if (h->count == 0)
        return 0;
    want = (uint64_t)(q * (double)h->count);
    if ((double)want < q * (double)h->count)
        want++;
    if (want == 0)
        want = 1;
    for (unsigned i = 0; i < 64 * TP_CLI_HIST_SUB; i++) {
        seen += h->buckets[i];
        if (seen >= want) {
            uint64_t v = hist_value(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

/*
 * tp_context_t: configuration shared by the clients of a process (context.h, DESIGN §4).
 *
 * The context is plain data plus a frozen flag. tp_client_init() sets the flag; from then on
 * the setters refuse (TP_ESTATE) and any number of threads read the context concurrently.
 */
#include "tensorpool/context.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client/client_private.h"
#include "shm/region.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

_Static_assert(TP_CONTEXT_ALLOWED_DIRS_MAX == TP_ALLOWED_DIRS_MAX,
               "context allowed dirs must match src/shm/region.h");

struct tp_context {
    tp_transport_config_t tcfg; /* dir and timeouts (defaults from src/transport) */
    char allowed[TP_CONTEXT_ALLOWED_DIRS_MAX][TP_REGION_PATH_MAX]; /* canonical */
    uint32_t allowed_count;
    bool allowed_is_default; /* the first add replaces the default /dev/shm */
    tp_clock_fn_t clock;
    void *clock_clientd;
    /* Set by the first tp_client_init (maybe from several threads at once: atomic). */
    atomic_bool frozen;
};

static uint64_t default_clock(void *clientd)
{
    (void)clientd;
    return tp_clock_monotonic_ns();
}

static int check_open(const tp_context_t *ctx, const char *what)
{
    if (ctx == NULL)
        return tp_err_set(TP_EINVAL, "%s: NULL context", what);
    if (atomic_load_explicit(&ctx->frozen, memory_order_relaxed))
        return tp_err_set(TP_ESTATE, "%s: context is frozen (a client was opened with it)",
                          what);
    return 0;
}

/* Canonicalise dir into out (realpath; W-178 step 3). */
static int canonical_dir(const char *dir, char *out, size_t cap)
{
    char canon[PATH_MAX];
    struct stat st;
    if (realpath(dir, canon) == NULL)
        return tp_err_set_errno(TP_EINVAL, errno, "allowed dir '%s': realpath", dir);
    if (stat(canon, &st) != 0 || !S_ISDIR(st.st_mode))
        return tp_err_set(TP_EINVAL, "allowed dir '%s' is not a directory", dir);
    if (strlen(canon) >= cap)
        return tp_err_set(TP_ETOOBIG, "allowed dir '%s' is too long", dir);
    snprintf(out, cap, "%s", canon);
    return 0;
}

/* TP_TRANSPORT: a name tp_transport_kind_parse knows, and "aeron" only in an Aeron build. */
static int check_transport_env(void)
{
    const char *v = getenv("TP_TRANSPORT");
    tp_transport_kind_t kind;
    if (v == NULL || *v == '\0')
        return 0;
    if (tp_transport_kind_parse(v, &kind) != 0)
        return tp_err_push("TP_TRANSPORT");
    if (kind == TP_TRANSPORT_AERON && !tp_transport_aeron_available())
        return tp_err_set(TP_ECONFIG, "TP_TRANSPORT=aeron: tensorpool was built without Aeron "
                          "(docs/aeron.md)");
    return 0;
}

int tp_context_init(tp_context_t **out)
{
    tp_context_t *ctx;
    const char *lvl = getenv("TP_LOG_LEVEL");

    if (out == NULL)
        return tp_err_set(TP_EINVAL, "tp_context_init: NULL out");
    *out = NULL;
    if (lvl != NULL && *lvl != '\0' && tp_log_parse_level(lvl) < 0)
        return tp_err_set(TP_ECONFIG, "TP_LOG_LEVEL '%s': expected error|warn|info|debug", lvl);
    if (check_transport_env() != 0)
        return -1;
    ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return tp_err_set(TP_ENOMEM, "tp_context_init");
    tp_transport_config_init(&ctx->tcfg); /* reads TENSORPOOL_DIR once */
    if (canonical_dir("/dev/shm", ctx->allowed[0], sizeof ctx->allowed[0]) != 0)
        snprintf(ctx->allowed[0], sizeof ctx->allowed[0], "/dev/shm");
    tp_err_clear();
    ctx->allowed_count = 1;
    ctx->allowed_is_default = true;
    ctx->clock = default_clock;
    atomic_init(&ctx->frozen, false);
    *out = ctx;
    return 0;
}

void tp_context_close(tp_context_t *ctx) { free(ctx); }

int tp_context_set_dir(tp_context_t *ctx, const char *dir)
{
    if (check_open(ctx, "tp_context_set_dir") != 0)
        return -1;
    if (dir == NULL || *dir == '\0')
        return tp_err_set(TP_EINVAL, "tp_context_set_dir: empty directory");
    if (strlen(dir) >= sizeof ctx->tcfg.dir)
        return tp_err_set(TP_ETOOBIG, "tp_context_set_dir: directory longer than %zu bytes",
                          sizeof ctx->tcfg.dir - 1);
    snprintf(ctx->tcfg.dir, sizeof ctx->tcfg.dir, "%s", dir);
    return 0;
}

const char *tp_context_dir(const tp_context_t *ctx) { return ctx ? ctx->tcfg.dir : ""; }

int tp_context_set_transport_timeouts(tp_context_t *ctx, uint64_t liveness_timeout_ns,
                                      uint64_t unblock_timeout_ns, uint64_t open_timeout_ns)
{
    if (check_open(ctx, "tp_context_set_transport_timeouts") != 0)
        return -1;
    if (liveness_timeout_ns)
        ctx->tcfg.liveness_timeout_ns = liveness_timeout_ns;
    if (unblock_timeout_ns)
        ctx->tcfg.unblock_timeout_ns = unblock_timeout_ns;
    if (open_timeout_ns)
        ctx->tcfg.open_timeout_ns = open_timeout_ns;
    return 0;
}

int tp_context_set_transport(tp_context_t *ctx, const char *name)
{
    tp_transport_kind_t kind;
    if (check_open(ctx, "tp_context_set_transport") != 0)
        return -1;
    if (tp_transport_kind_parse(name, &kind) != 0)
        return tp_err_push("tp_context_set_transport");
    if (kind == TP_TRANSPORT_AERON && !tp_transport_aeron_available())
        return tp_err_set(TP_ECONFIG, "tp_context_set_transport: tensorpool was built without "
                          "Aeron (docs/aeron.md)");
    ctx->tcfg.kind = kind;
    return 0;
}

const char *tp_context_transport(const tp_context_t *ctx)
{
    return tp_transport_kind_name(ctx ? ctx->tcfg.kind : TP_TRANSPORT_EMBEDDED);
}

int tp_context_set_aeron_dir(tp_context_t *ctx, const char *dir)
{
    if (check_open(ctx, "tp_context_set_aeron_dir") != 0)
        return -1;
    if (dir == NULL)
        dir = "";
    if (strlen(dir) >= sizeof ctx->tcfg.aeron_dir)
        return tp_err_set(TP_ETOOBIG, "tp_context_set_aeron_dir: directory longer than %zu bytes",
                          sizeof ctx->tcfg.aeron_dir - 1);
    snprintf(ctx->tcfg.aeron_dir, sizeof ctx->tcfg.aeron_dir, "%s", dir);
    return 0;
}

int tp_context_add_allowed_dir(tp_context_t *ctx, const char *dir)
{
    char canon[TP_REGION_PATH_MAX];
    uint32_t n;

    if (check_open(ctx, "tp_context_add_allowed_dir") != 0)
        return -1;
    if (dir == NULL || dir[0] != '/')
        return tp_err_set(TP_EINVAL, "tp_context_add_allowed_dir: '%s' is not absolute",
                          dir ? dir : "(null)");
    n = ctx->allowed_is_default ? 0 : ctx->allowed_count;
    if (n >= TP_CONTEXT_ALLOWED_DIRS_MAX)
        return tp_err_set(TP_ETOOBIG, "tp_context_add_allowed_dir: at most %u directories",
                          TP_CONTEXT_ALLOWED_DIRS_MAX);
    if (canonical_dir(dir, canon, sizeof canon) != 0)
        return tp_err_push("tp_context_add_allowed_dir");
    memcpy(ctx->allowed[n], canon, sizeof canon);
    ctx->allowed_count = n + 1;
    ctx->allowed_is_default = false;
    return 0;
}

int tp_context_clear_allowed_dirs(tp_context_t *ctx)
{
    if (check_open(ctx, "tp_context_clear_allowed_dirs") != 0)
        return -1;
    ctx->allowed_count = 0;
    ctx->allowed_is_default = false;
    return 0;
}

int tp_context_set_clock(tp_context_t *ctx, tp_clock_fn_t fn, void *clientd)
{
    if (check_open(ctx, "tp_context_set_clock") != 0)
        return -1;
    ctx->clock = fn ? fn : default_clock;
    ctx->clock_clientd = fn ? clientd : NULL;
    return 0;
}

uint64_t tp_context_now_ns(const tp_context_t *ctx)
{
    if (ctx == NULL)
        return tp_clock_monotonic_ns();
    return ctx->clock(ctx->clock_clientd);
}

int tp_context_set_log_level(tp_context_t *ctx, const char *level)
{
    int l = tp_log_parse_level(level);
    (void)ctx;
    if (l < 0)
        return tp_err_set(TP_EINVAL, "log level '%s': expected error|warn|info|debug",
                          level ? level : "(null)");
    tp_log_set_level(l); /* process-wide (src/util/log.h) */
    return 0;
}

/* ---- internal (client_internal.h) ---------------------------------------------------------- */

void tp_context_transport_config(const tp_context_t *ctx, tp_transport_config_t *out)
{
    *out = ctx->tcfg;
}

const char *tp_context_allowed_dir(const tp_context_t *ctx, uint32_t i)
{
    return (ctx && i < ctx->allowed_count) ? ctx->allowed[i] : NULL;
}

uint32_t tp_context_allowed_dir_count(const tp_context_t *ctx)
{
    return ctx ? ctx->allowed_count : 0;
}

void tp_context_freeze(tp_context_t *ctx)
{
    atomic_store_explicit(&ctx->frozen, true, memory_order_relaxed);
}

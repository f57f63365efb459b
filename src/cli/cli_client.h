/*
 * What `tensorpool producer` and `tensorpool consumer` share (DESIGN.md §5): the common
 * driver options, attaching through the public client API, signals, an idle strategy,
 * number parsing and a latency histogram.
 *
 * Common options (every subcommand that talks to a driver):
 *   --dir DIR               transport directory (default: $TENSORPOOL_DIR, else the library's)
 *   --transport NAME        embedded | aeron (default $TP_TRANSPORT, else embedded)
 *   --aeron-dir DIR         the Aeron media driver's directory (default $AERON_DIR, else
 *                           Aeron's /dev/shm/aeron-$USER)
 *   --control-channel C     driver control channel (default "aeron:ipc")
 *   --control-stream N      driver control stream (default 15000, the integration example's
 *                           driver; $TP_CONTROL_STREAM_ID when set)
 *   --client-id N           0 = auto (random, D-82)
 *   --attach-timeout SEC    give up the first attach after SEC seconds (default 10; 0 = never)
 *   --allowed-dir DIR       SHM directory region URIs may point into (repeatable; replaces the
 *                           default /dev/shm; W-178) — for a driver whose shm.base_dir is
 *                           elsewhere
 *   --stream N              data stream id (default 42)
 *   --announce-channel C    where the driver's ShmPoolAnnounce arrive (default "aeron:ipc")
 *   --announce-stream N     ... and on which stream (default 15001, the integration example's
 *                           driver; $CONSUMER_/$PRODUCER_ANNOUNCE_STREAM_ID when set): the
 *                           consumer maps from them, the producer detects driver loss (D-69)
 */
#ifndef TP_CLI_CLIENT_H
#define TP_CLI_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "tensorpool/tensorpool.h"

#define TP_CLI_DEFAULT_CONTROL_STREAM 15000u
#define TP_CLI_DEFAULT_ANNOUNCE_STREAM 15001u

typedef struct tp_cli_common {
    const char *dir;
    const char *transport; /* NULL = the context's default (TP_TRANSPORT) */
    const char *aeron_dir; /* NULL = AERON_DIR / Aeron's default */
    char control_channel[TP_CHANNEL_URI_MAX];
    uint32_t control_stream;
    uint32_t client_id;
    uint32_t stream_id;
    double attach_timeout_s;
    const char *allowed_dirs[TP_CONTEXT_ALLOWED_DIRS_MAX];
    uint32_t allowed_dir_count;
    char announce_channel[TP_CHANNEL_URI_MAX]; /* "" = the config's */
    uint32_t announce_stream;
    bool announce_set;
} tp_cli_common_t;

/* The announce stream to configure: --announce-stream, else $env_name when set (the config
 * already holds it), else 15001. */
uint32_t tp_cli_announce_stream(const tp_cli_common_t *c, const char *env_name, uint32_t cfg_value);

/* The attached handles; close with tp_cli_detach. att is heap-allocated (large). */
typedef struct tp_cli_session {
    tp_context_t *ctx;
    tp_client_t *client;
    tp_driver_client_t *dc;
    tp_attach_t *att;
} tp_cli_session_t;

extern volatile sig_atomic_t tp_cli_stop;

void tp_cli_common_init(tp_cli_common_t *c);

/* If argv[*i] is a common option, consume it (and its value) and return 1; 0 if it is not
 * one; -1 (after printing error=) for a missing or bad value. */
int tp_cli_common_parse(tp_cli_common_t *c, int argc, char **argv, int *i);

/* The transport options of every client command: --dir, --transport, --aeron-dir. If argv[*i]
 * is one, consume it (and its value), point the matching output at the value (owned by argv)
 * and return 1; 0 if it is not one; -1 for a missing, empty, unknown or too long
 * (>= TP_TRANSPORT_DIR_MAX) value, nothing printed. */
int tp_cli_transport_opt(int argc, char **argv, int *i, const char **dir, const char **transport,
                         const char **aeron_dir);

/* Value of option argv[*i] ("--opt V" or "--opt=V"): NULL if argv[*i] is not `name`. *err is
 * set when the option matched but the value is missing. */
const char *tp_cli_optval(const char *name, int argc, char **argv, int *i, bool *err);

int tp_cli_parse_u64(const char *s, uint64_t *out);
int tp_cli_parse_u32(const char *s, uint32_t *out);
int tp_cli_parse_double(const char *s, double *out);

/* SIGINT/SIGTERM/SIGHUP set tp_cli_stop; SIGPIPE ignored. */
void tp_cli_install_signals(void);

/* Context + client + driver client + attach (waits, honouring tp_cli_stop and the attach
 * timeout). On failure prints one error= line, closes what it opened and returns -1. */
int tp_cli_attach(tp_cli_session_t *s, const tp_cli_common_t *c, tp_role_t role);

/* Close the driver client (best-effort detach), the client, the context, free att. */
void tp_cli_detach(tp_cli_session_t *s);

/* Idle strategy: spin while working, then yield, then sleep up to 1 ms. */
typedef struct tp_cli_idle {
    unsigned idle;
} tp_cli_idle_t;
void tp_cli_idle(tp_cli_idle_t *s, int work);

void tp_cli_sleep_ns(uint64_t ns);

/* Log-linear latency histogram: 64 octaves x 16 sub-buckets (about 6 % resolution). */
#define TP_CLI_HIST_SUB 16u
typedef struct tp_cli_hist {
    uint64_t count;
    uint64_t max;
    uint64_t buckets[64 * TP_CLI_HIST_SUB];
} tp_cli_hist_t;
void tp_cli_hist_add(tp_cli_hist_t *h, uint64_t v);
/* Value at quantile q (0..1): the middle of its bucket; 0 when empty. */
uint64_t tp_cli_hist_quantile(const tp_cli_hist_t *h, double q);

#endif

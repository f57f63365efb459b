/*
 * The Aeron transport's view of media drivers (aeron.h, "Media driver lost and found again" and
 * "Embedded media driver"): is a live one serving a directory, and the one this process starts
 * when asked (launch_media_driver). Internal to transport/aeron/; only with TP_HAVE_AERON.
 */
#ifndef TP_TRANSPORT_AERON_MEDIA_DRIVER_H
#define TP_TRANSPORT_AERON_MEDIA_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tp_aeron_md_status {
    TP_AERON_MD_NONE,       /* no CnC, half-created, shut down, or dead */
    TP_AERON_MD_LIVE,       /* a fresh heartbeat, from a process that exists */
    TP_AERON_MD_STALE_FRESH /* its process is gone, its heartbeat not yet a second old */
} tp_aeron_md_status_t;

/* Aeron heartbeats are epoch milliseconds (CLOCK_REALTIME). */
int64_t tp_aeron_epoch_ms(void);

/* pid (as a CnC file records it) names no process here (ESRCH). Our own pid is never gone. */
bool tp_aeron_pid_gone(int64_t pid);

/* The media driver is dead: its heartbeat is cleared (clean shutdown) or older than the
 * client's driver timeout, or older than a second while its pid is gone (kill -9). A pid from
 * another pid namespace may look gone: a fresh heartbeat therefore always counts as alive. */
bool tp_aeron_md_heartbeat_dead(int64_t hb_ms, int64_t pid, uint64_t driver_timeout_ms);

/* One look at dir's CnC file (never waits); *pid = the pid it records, or 0. */
tp_aeron_md_status_t tp_aeron_md_probe(const char *dir, uint64_t driver_timeout_ms, int64_t *pid);

/* Start an embedded media driver in dir (Aeron's threads; defaults in aeron.h), replacing a
 * stale directory (waits up to 2 s for a dead driver's heartbeat to age). 0, or -1 with
 * TP_EAERON (a live media driver already serves dir, or Aeron's message). */
typedef struct tp_aeron_md tp_aeron_md_t;
int tp_aeron_md_launch(tp_aeron_md_t **out, const char *dir, uint64_t driver_timeout_ms,
                       uint64_t liveness_ns);

/* Stop it (joins its threads). NULL: no-op. */
void tp_aeron_md_close(tp_aeron_md_t *md);

/* aeron_errmsg() on one line (it spans several: "...\n[function, file:line] ..."). */
const char *tp_aeron_errmsg_line(char *buf, size_t cap);

#endif

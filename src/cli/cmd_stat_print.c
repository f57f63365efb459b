/*
 * `tensorpool stat` output (cli/stat.h): one window as
 *
 *  * key=value rows (not a terminal), one row per line, in this order:
 *      stat      ts_ns window_ms streams consumers leases counters_files counters_skipped
 *                messages undecodable lost_bytes driver_shutdown
 *      skipped   reason (the last counters file that could not be read; only when some were)
 *      driver    instance pid alive update_age_ms path <every driver counter>
 *      stream    id epoch producer_id pools frames_per_s mib_per_s rate_source newest_seq
 *                announce_age_ms announces ring [ring_error] qos_current_seq
 *      consumer  id stream epoch mode last_seq drops_gap drops_late lag report_age_ms reports
 *                [frames remaps] (the last two from its counters file, when there is one)
 *      counters  role id stream pid alive update_age_ms path <every counter of the file>
 *      lease     id client_id role stream keepalives age_ms
 *    Unknown values print as "-".
 *  * one JSON object (--json) with the same content: {"ts_ns", ..., "drivers": [...],
 *    "streams": [...], "consumers": [...], "counters": [...], "leases": [...]};
 *  * a table (a terminal without --json), redrawn in place with ANSI cursor home + clear
 *    screen unless --once.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_out.h"
#include "cli/stat.h"
#include "codec/codec.h"
#include "tensorpool/consumer.h"
#include "tensorpool/types.h"

#define NS_PER_MS 1000000.0

static const char *mode_name(uint8_t mode)
{
    const char *n = tp_sbe_control_mode_name(mode);
    return n ? n : "INVALID";
}

static const char *role_name(uint8_t role)
{
    const char *n = tp_sbe_driver_role_name(role);
    return n ? n : "INVALID";
}

static void pools_text(const st_stream_t *st, char *buf, size_t cap)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < st->pool_count && pos < cap; i++) {
        int n = snprintf(buf + pos, cap - pos, "%s%u:%" PRIu32 "x%" PRIu32, i ? "," : "",
                         (unsigned)st->pools[i].id, st->pools[i].nslots, st->pools[i].stride);
        if (n < 0)
            break;
        pos += (size_t)n;
    }
    if (buf[0] == '\0')
        snprintf(buf, cap, "-");
}

static uint32_t count_used_consumers(const st_state_t *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < ST_CONSUMERS_MAX; i++)
        n += s->consumers[i].used;
    return n;
}

static uint32_t count_used_streams(const st_state_t *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < ST_STREAMS_MAX; i++)
        n += s->streams[i].used;
    return n;
}

static uint32_t count_used_leases(const st_state_t *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < ST_LEASES_MAX; i++)
        n += s->leases[i].used;
    return n;
}

/* ---- key=value ----------------------------------------------------------------------------- */

static void kv_values(const st_file_t *f)
{
    char kbuf[TP_COUNTERS_KEY_MAX];
    for (uint32_t k = 0; k < f->nvalues; k++) {
        const char *key = tp_counters_key(f->info.role, k, kbuf);
        if (key != NULL)
            printf(" %s=%" PRIu64, key, f->values[k]);
        else if (f->values[k] != 0)
            printf(" counter_%" PRIu32 "=%" PRIu64, k, f->values[k]); /* newer writer */
    }
}

static void kv_file_head(const st_state_t *s, const st_file_t *f)
{
    char safe[PATH_MAX];
    printf(" pid=%" PRIu64 " alive=%d update_age_ms=%.1f path=%s", f->info.pid, f->alive ? 1 : 0,
           tp_cli_age_ms(s->now_ns, f->update_ns), tp_cli_kv_safe(f->path, safe, sizeof safe));
}

static void kv_stream(const st_state_t *s, const st_stream_t *st)
{
    char pools[256], err[sizeof st->ring_error];
    pools_text(st, pools, sizeof pools);
    printf("stream id=%" PRIu32, st->stream_id);
    if (st->announces)
        printf(" epoch=%" PRIu64 " producer_id=%" PRIu32, st->epoch, st->producer_id);
    else
        printf(" epoch=%" PRIu64 " producer_id=%" PRIu32, st->qos_epoch, st->qos_producer_id);
    printf(" pools=%s", pools);
    if (st->rate_valid)
        printf(" frames_per_s=%.1f", st->frames_per_s);
    else
        printf(" frames_per_s=-");
    if (st->mib_valid)
        printf(" mib_per_s=%.3f", st->mib_per_s);
    else
        printf(" mib_per_s=-");
    printf(" rate_source=%s", st->rate_valid ? st->rate_source : "-");
    if (st->have_newest)
        printf(" newest_seq=%" PRIu64, st->newest_seq);
    else
        printf(" newest_seq=-");
    if (st->announces)
        printf(" announce_age_ms=%.1f", tp_cli_age_ms(s->now_ns, st->last_announce_ns));
    else
        printf(" announce_age_ms=-");
    printf(" announces=%" PRIu64 " ring=%s", st->announces,
           st->mapped ? "mapped" : st->ring_error[0] ? "error" : "-");
    if (!st->mapped && st->ring_error[0])
        printf(" ring_error=%s", tp_cli_kv_safe(st->ring_error, err, sizeof err));
    if (st->qos_seen)
        printf(" qos_current_seq=%" PRIu64 "\n", st->qos_seq);
    else
        printf(" qos_current_seq=-\n");
}

static void kv_consumer(const st_state_t *s, const st_consumer_t *c)
{
    const st_file_t *f = st_find_file(s, TP_COUNTERS_ROLE_CONSUMER, c->consumer_id, c->stream_id);
    printf("consumer id=%" PRIu32 " stream=%" PRIu32 " epoch=%" PRIu64 " mode=%s last_seq=%" PRIu64
           " drops_gap=%" PRIu64 " drops_late=%" PRIu64,
           c->consumer_id, c->stream_id, c->epoch, mode_name(c->mode), c->last_seq, c->drops_gap,
           c->drops_late);
    if (c->lag_valid)
        printf(" lag=%" PRIu64, c->lag);
    else
        printf(" lag=-");
    printf(" report_age_ms=%.1f reports=%" PRIu64, tp_cli_age_ms(s->now_ns, c->rx_ns), c->reports);
    if (f != NULL)
        printf(" frames=%" PRIu64 " remaps=%" PRIu64, st_value(f, TP_CTR_CONS_FRAMES),
               st_value(f, TP_CTR_CONS_REMAPS));
    printf("\n");
}

static void print_kv(const st_state_t *s)
{
    char name[TP_COUNTERS_NAME_MAX + 1];
    printf("stat ts_ns=%" PRIu64 " window_ms=%.1f streams=%" PRIu32 " consumers=%" PRIu32
           " leases=%" PRIu32 " counters_files=%" PRIu32 " counters_skipped=%" PRIu32
           " messages=%" PRIu64 " undecodable=%" PRIu64 " lost_bytes=%" PRIu64
           " driver_shutdown=%d\n",
           s->now_ns, (double)(s->now_ns - s->window_start_ns) / NS_PER_MS, count_used_streams(s),
           count_used_consumers(s), count_used_leases(s), s->file_count, s->files_skipped,
           s->messages, s->undecodable, s->lost_bytes, s->driver_shutdown_seen ? 1 : 0);
    if (s->files_skipped > 0) {
        char why[sizeof s->last_skip];
        printf("skipped reason=%s\n", tp_cli_kv_safe(s->last_skip, why, sizeof why));
    }
    for (uint32_t i = 0; i < s->file_count; i++) {
        const st_file_t *f = &s->files[i];
        if (f->info.role != TP_COUNTERS_ROLE_DRIVER)
            continue;
        printf("driver instance=%s", tp_cli_kv_safe(f->info.name, name, sizeof name));
        kv_file_head(s, f);
        kv_values(f);
        printf("\n");
    }
    for (uint32_t i = 0; i < ST_STREAMS_MAX; i++)
        if (s->streams[i].used)
            kv_stream(s, &s->streams[i]);
    for (uint32_t i = 0; i < ST_CONSUMERS_MAX; i++)
        if (s->consumers[i].used)
            kv_consumer(s, &s->consumers[i]);
    for (uint32_t i = 0; i < s->file_count; i++) {
        const st_file_t *f = &s->files[i];
        if (f->info.role == TP_COUNTERS_ROLE_DRIVER)
            continue;
        printf("counters role=%s id=%" PRIu32 " stream=%" PRIu32,
               tp_counters_role_name(f->info.role), f->info.id, f->info.stream_id);
        kv_file_head(s, f);
        kv_values(f);
        printf("\n");
    }
    for (uint32_t i = 0; i < ST_LEASES_MAX; i++) {
        const st_lease_t *l = &s->leases[i];
        if (l->used)
            printf("lease id=%" PRIu64 " client_id=%" PRIu32 " role=%s stream=%" PRIu32
                   " keepalives=%" PRIu64 " age_ms=%.1f\n",
                   l->lease_id, l->client_id, role_name(l->role), l->stream_id, l->keepalives,
                   tp_cli_age_ms(s->now_ns, l->last_ns));
    }
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void json_num(const char *key, bool valid, double v, bool comma)
{
    if (valid && isfinite(v))
        printf("%s\"%s\":%.3f", comma ? "," : "", key, v);
    else
        printf("%s\"%s\":null", comma ? "," : "", key);
}

static void json_file(const st_state_t *s, const st_file_t *f)
{
    char kbuf[TP_COUNTERS_KEY_MAX];
    bool first = true;
    printf("{\"role\":\"%s\",\"id\":%" PRIu32 ",\"stream_id\":%" PRIu32 ",\"name\":",
           tp_counters_role_name(f->info.role), f->info.id, f->info.stream_id);
    tp_cli_json_str(stdout, f->info.name);
    printf(",\"pid\":%" PRIu64 ",\"alive\":%s,\"update_age_ms\":%.1f,\"path\":", f->info.pid,
           f->alive ? "true" : "false", tp_cli_age_ms(s->now_ns, f->update_ns));
    tp_cli_json_str(stdout, f->path);
    printf(",\"counters\":{");
    for (uint32_t k = 0; k < f->nvalues; k++) {
        const char *key = tp_counters_key(f->info.role, k, kbuf);
        if (key == NULL && f->values[k] == 0)
            continue;
        if (key != NULL)
            printf("%s\"%s\":%" PRIu64, first ? "" : ",", key, f->values[k]);
        else
            printf("%s\"counter_%" PRIu32 "\":%" PRIu64, first ? "" : ",", k, f->values[k]);
        first = false;
    }
    printf("}}");
}

static void json_stream(const st_state_t *s, const st_stream_t *st)
{
    printf("{\"stream_id\":%" PRIu32 ",\"epoch\":%" PRIu64 ",\"producer_id\":%" PRIu32
           ",\"pools\":[",
           st->stream_id, st->announces ? st->epoch : st->qos_epoch,
           st->announces ? st->producer_id : st->qos_producer_id);
    for (uint32_t i = 0; i < st->pool_count; i++)
        printf("%s{\"pool_id\":%u,\"nslots\":%" PRIu32 ",\"stride_bytes\":%" PRIu32 "}",
               i ? "," : "", (unsigned)st->pools[i].id, st->pools[i].nslots, st->pools[i].stride);
    printf("]");
    json_num("frames_per_s", st->rate_valid, st->frames_per_s, true);
    json_num("mib_per_s", st->mib_valid, st->mib_per_s, true);
    printf(",\"rate_source\":");
    tp_cli_json_str(stdout, st->rate_valid ? st->rate_source : "");
    if (st->have_newest)
        printf(",\"newest_seq\":%" PRIu64, st->newest_seq);
    else
        printf(",\"newest_seq\":null");
    json_num("announce_age_ms", st->announces != 0,
             tp_cli_age_ms(s->now_ns, st->last_announce_ns), true);
    printf(",\"announces\":%" PRIu64 ",\"ring\":\"%s\",\"ring_error\":", st->announces,
           st->mapped ? "mapped" : st->ring_error[0] ? "error" : "none");
    tp_cli_json_str(stdout, st->mapped ? "" : st->ring_error);
    if (st->qos_seen)
        printf(",\"qos_current_seq\":%" PRIu64 "}", st->qos_seq);
    else
        printf(",\"qos_current_seq\":null}");
}

static void json_consumer(const st_state_t *s, const st_consumer_t *c)
{
    const st_file_t *f = st_find_file(s, TP_COUNTERS_ROLE_CONSUMER, c->consumer_id, c->stream_id);
    printf("{\"consumer_id\":%" PRIu32 ",\"stream_id\":%" PRIu32 ",\"epoch\":%" PRIu64
           ",\"mode\":\"%s\",\"last_seq\":%" PRIu64 ",\"drops_gap\":%" PRIu64
           ",\"drops_late\":%" PRIu64,
           c->consumer_id, c->stream_id, c->epoch, mode_name(c->mode), c->last_seq, c->drops_gap,
           c->drops_late);
    if (c->lag_valid)
        printf(",\"lag\":%" PRIu64, c->lag);
    else
        printf(",\"lag\":null");
    printf(",\"report_age_ms\":%.1f,\"reports\":%" PRIu64, tp_cli_age_ms(s->now_ns, c->rx_ns),
           c->reports);
    if (f != NULL)
        printf(",\"frames\":%" PRIu64 ",\"remaps\":%" PRIu64, st_value(f, TP_CTR_CONS_FRAMES),
               st_value(f, TP_CTR_CONS_REMAPS));
    else
        printf(",\"frames\":null,\"remaps\":null");
    printf("}");
}

static void print_json(const st_state_t *s)
{
    bool first;
    printf("{\"ts_ns\":%" PRIu64 ",\"window_ms\":%.1f,\"messages\":%" PRIu64
           ",\"undecodable\":%" PRIu64 ",\"lost_bytes\":%" PRIu64 ",\"driver_shutdown\":%s"
           ",\"counters_skipped\":%" PRIu32,
           s->now_ns, (double)(s->now_ns - s->window_start_ns) / NS_PER_MS, s->messages,
           s->undecodable, s->lost_bytes, s->driver_shutdown_seen ? "true" : "false",
           s->files_skipped);
    if (s->files_skipped > 0) {
        printf(",\"counters_skip_reason\":");
        tp_cli_json_str(stdout, s->last_skip);
    }
    printf(",\"drivers\":[");
    first = true;
    for (uint32_t i = 0; i < s->file_count; i++)
        if (s->files[i].info.role == TP_COUNTERS_ROLE_DRIVER) {
            printf("%s", first ? "" : ",");
            json_file(s, &s->files[i]);
            first = false;
        }
    printf("],\"streams\":[");
    first = true;
    for (uint32_t i = 0; i < ST_STREAMS_MAX; i++)
        if (s->streams[i].used) {
            printf("%s", first ? "" : ",");
            json_stream(s, &s->streams[i]);
            first = false;
        }
    printf("],\"consumers\":[");
    first = true;
    for (uint32_t i = 0; i < ST_CONSUMERS_MAX; i++)
        if (s->consumers[i].used) {
            printf("%s", first ? "" : ",");
            json_consumer(s, &s->consumers[i]);
            first = false;
        }
    printf("],\"counters\":[");
    first = true;
    for (uint32_t i = 0; i < s->file_count; i++)
        if (s->files[i].info.role != TP_COUNTERS_ROLE_DRIVER) {
            printf("%s", first ? "" : ",");
            json_file(s, &s->files[i]);
            first = false;
        }
    printf("],\"leases\":[");
    first = true;
    for (uint32_t i = 0; i < ST_LEASES_MAX; i++) {
        const st_lease_t *l = &s->leases[i];
        if (!l->used)
            continue;
        printf("%s{\"lease_id\":%" PRIu64 ",\"client_id\":%" PRIu32 ",\"role\":\"%s\","
               "\"stream_id\":%" PRIu32 ",\"keepalives\":%" PRIu64 ",\"age_ms\":%.1f}",
               first ? "" : ",", l->lease_id, l->client_id, role_name(l->role), l->stream_id,
               l->keepalives, tp_cli_age_ms(s->now_ns, l->last_ns));
        first = false;
    }
    printf("]}\n");
}

/* ---- table --------------------------------------------------------------------------------- */

/* A table cell: the number, or "-" when unknown. */
static void fmt_u(char *buf, size_t cap, bool valid, uint64_t v)
{
    if (valid)
        snprintf(buf, cap, "%" PRIu64, v);
    else
        snprintf(buf, cap, "-");
}

static void fmt_f(char *buf, size_t cap, bool valid, const char *fmt, double v)
{
    if (valid)
        snprintf(buf, cap, fmt, v);
    else
        snprintf(buf, cap, "-");
}

static void table_drivers(const st_state_t *s)
{
    bool any = false;
    printf("DRIVER    %-18s %8s %5s %6s %7s %-18s %10s %7s %7s %9s %6s %4s %9s\n", "instance",
           "pid", "alive", "leases", "streams", "attach ok/un/in/rj/er", "keepalives", "revoked",
           "expired", "announces", "epochs", "gc", "malformed");
    for (uint32_t i = 0; i < s->file_count; i++) {
        const st_file_t *f = &s->files[i];
        char attach[64];
        if (f->info.role != TP_COUNTERS_ROLE_DRIVER)
            continue;
        snprintf(attach, sizeof attach, "%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64,
                 st_value(f, TP_CTR_DRV_ATTACH_OK), st_value(f, TP_CTR_DRV_ATTACH_UNSUPPORTED),
                 st_value(f, TP_CTR_DRV_ATTACH_INVALID_PARAMS),
                 st_value(f, TP_CTR_DRV_ATTACH_REJECTED),
                 st_value(f, TP_CTR_DRV_ATTACH_INTERNAL_ERROR));
        printf("          %-18.18s %8" PRIu64 " %5s %6" PRIu64 " %7" PRIu64 " %-18s %10" PRIu64
               " %7" PRIu64 " %7" PRIu64 " %9" PRIu64 " %6" PRIu64 " %4" PRIu64 " %9" PRIu64 "\n",
               f->info.name, f->info.pid, f->alive ? "yes" : "DEAD",
               st_value(f, TP_CTR_DRV_LEASES_ACTIVE), st_value(f, TP_CTR_DRV_STREAMS_ACTIVE),
               attach, st_value(f, TP_CTR_DRV_KEEPALIVES), st_value(f, TP_CTR_DRV_REVOCATIONS),
               st_value(f, TP_CTR_DRV_LEASES_EXPIRED), st_value(f, TP_CTR_DRV_ANNOUNCES),
               st_value(f, TP_CTR_DRV_EPOCHS), st_value(f, TP_CTR_DRV_GC_RUNS),
               st_value(f, TP_CTR_DRV_MALFORMED));
        any = true;
    }
    if (!any)
        printf("          (no driver counters file: --shm-dir DIR, or wait for an announce)\n");
}

static void table_streams(const st_state_t *s)
{
    printf("\nSTREAMS   %8s %16s %11s %-22s %10s %9s %12s %9s\n", "stream", "epoch", "producer",
           "pools", "frames/s", "MiB/s", "newest seq", "announce");
    for (uint32_t i = 0; i < ST_STREAMS_MAX; i++) {
        const st_stream_t *st = &s->streams[i];
        char pools[256], rate[32], mib[32], newest[32], age[32];
        if (!st->used)
            continue;
        pools_text(st, pools, sizeof pools);
        fmt_f(rate, sizeof rate, st->rate_valid, "%.1f", st->frames_per_s);
        fmt_f(mib, sizeof mib, st->mib_valid, "%.2f", st->mib_per_s);
        fmt_u(newest, sizeof newest, st->have_newest, st->newest_seq);
        fmt_f(age, sizeof age, st->announces != 0, "%.0f ms",
              tp_cli_age_ms(s->now_ns, st->last_announce_ns));
        printf("          %8" PRIu32 " %16" PRIu64 " %11" PRIu32 " %-22.22s %10s %9s %12s %9s\n",
               st->stream_id, st->announces ? st->epoch : st->qos_epoch,
               st->announces ? st->producer_id : st->qos_producer_id, pools, rate, mib, newest,
               age);
        if (!st->mapped && st->ring_error[0])
            printf("          ring: %.100s\n", st->ring_error);
    }
}

static void table_consumers(const st_state_t *s)
{
    printf("\nCONSUMERS %11s %8s %-12s %12s %8s %8s %8s %10s %7s %8s\n", "id", "stream", "mode",
           "last seq", "gap", "late", "lag", "frames", "remaps", "report");
    for (uint32_t i = 0; i < ST_CONSUMERS_MAX; i++) {
        const st_consumer_t *c = &s->consumers[i];
        const st_file_t *f;
        char lag[32], frames[32], remaps[32];
        if (!c->used)
            continue;
        f = st_find_file(s, TP_COUNTERS_ROLE_CONSUMER, c->consumer_id, c->stream_id);
        fmt_u(lag, sizeof lag, c->lag_valid, c->lag);
        fmt_u(frames, sizeof frames, f != NULL, st_value(f, TP_CTR_CONS_FRAMES));
        fmt_u(remaps, sizeof remaps, f != NULL, st_value(f, TP_CTR_CONS_REMAPS));
        printf("          %11" PRIu32 " %8" PRIu32 " %-12s %12" PRIu64 " %8" PRIu64 " %8" PRIu64
               " %8s %10s %7s %5.0f ms\n",
               c->consumer_id, c->stream_id, mode_name(c->mode), c->last_seq, c->drops_gap,
               c->drops_late, lag, frames, remaps, tp_cli_age_ms(s->now_ns, c->rx_ns));
    }
}

static void table_producers(const st_state_t *s)
{
    printf("\nPRODUCERS %11s %8s %8s %5s %12s %10s %8s %9s %9s %7s\n", "id", "stream", "pid",
           "alive", "frames", "MiB", "aborted", "bp-lost", "not-conn", "updated");
    for (uint32_t i = 0; i < s->file_count; i++) {
        const st_file_t *f = &s->files[i];
        if (f->info.role != TP_COUNTERS_ROLE_PRODUCER)
            continue;
        printf("          %11" PRIu32 " %8" PRIu32 " %8" PRIu64 " %5s %12" PRIu64 " %10.1f %8" PRIu64
               " %9" PRIu64 " %9" PRIu64 " %4.0f ms\n",
               f->info.id, f->info.stream_id, f->info.pid, f->alive ? "yes" : "DEAD",
               st_value(f, TP_CTR_PROD_FRAMES),
               (double)st_value(f, TP_CTR_PROD_BYTES) / 1048576.0,
               st_value(f, TP_CTR_PROD_ABORTS), st_value(f, TP_CTR_PROD_DESC_LOST),
               st_value(f, TP_CTR_PROD_DESC_NOT_CONNECTED), tp_cli_age_ms(s->now_ns, f->update_ns));
    }
}

static void print_table(const st_state_t *s, bool clear)
{
    if (clear)
        printf("\033[H\033[2J"); /* cursor home, clear screen */
    printf("tensorpool stat   window %.0f ms   %" PRIu32 " counters file(s)   %" PRIu32
           " lease(s) seen%s%s\n\n",
           (double)(s->now_ns - s->window_start_ns) / NS_PER_MS, s->file_count,
           count_used_leases(s), s->driver_shutdown_seen ? "   DRIVER SHUT DOWN" : "",
           clear ? "   (Ctrl-C to quit)" : "");
    table_drivers(s);
    table_streams(s);
    table_consumers(s);
    table_producers(s);
}

void st_print(const st_state_t *s, bool table, bool clear)
{
    if (s->o.json)
        print_json(s);
    else if (table)
        print_table(s, clear);
    else
        print_kv(s);
}

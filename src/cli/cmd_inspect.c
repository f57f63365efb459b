/*
 * tensorpool inspect PATH|URI [--slots N] [--json]
 *
 * What one region file holds (DESIGN.md §5, issue 6): the superblock (WIRE W-15, LAYOUT §4.1),
 * the geometry it implies (W-12), liveness — activity age and whether the pid still exists —
 * and, for a header ring, the newest N slot headers (LAYOUT §4.4): seq, committed or in
 * progress, length, pool, dtype, shape. A payload pool has no slot headers (its frames are
 * described by the header ring), so --slots does not apply to it.
 *
 * The file is opened read-only through the same checks a consumer applies (W-178: realpath,
 * regular file, no-follow open, identity check; the file's own directory is the allowed one)
 * and mapped with tp_region_map, which validates the superblock and the size against the
 * geometry the superblock declares: anything that is not a tensorpool region is refused with
 * one error line. Nothing is ever written. Slots are read as a consumer reads them (acquire
 * load of seq_commit, relaxed loads of the words, acquire fence, second load; W-67): a slot
 * that keeps changing under a live producer is shown as "changing".
 *
 * Output: key=value lines — the superblock and liveness one per line, then one line per slot:
 *   slot index=I seq=S state=committed|in_progress|changing len=B pool_id=P payload_slot=K
 *        timestamp_ns=T dtype=D major_order=M ndims=N shape=AxB strides=X,Y meta_version=V
 *        header=ok|invalid
 * or one JSON object with --json. Exit 0; 1 when the file cannot be read or is not a region;
 * 2 on bad arguments.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_out.h"
#include "cli/commands.h"
#include "codec/codec.h"
#include "shm/counters.h" /* tp_counters_pid_alive */
#include "shm/region.h"
#include "shm/region_internal.h"
#include "shm/tensor.h"
#include "util/atomics.h"
#include "util/clock.h"
#include "util/error.h"

#define INSPECT_DEFAULT_SLOTS 4u
#define INSPECT_READ_TRIES 4

typedef struct inspect_opts {
    const char *target;
    uint32_t slots;
    bool json;
} inspect_opts_t;

typedef struct slot_info {
    uint32_t index;
    uint64_t seq;
    uint64_t word;
    int state; /* 0 committed, 1 in progress, 2 changing */
    tp_slot_t copy;
} slot_info_t;

static const char *const state_names[] = {"committed", "in_progress", "changing"};

static int usage(const char *reason)
{
    if (reason != NULL) {
        printf("error=%s\n", reason);
        fflush(stdout); /* before the usage text on stderr, when both go to one file */
    }
    fprintf(reason ? stderr : stdout,
            "usage: tensorpool inspect PATH|URI [--slots N] [--json]\n"
            "  PATH|URI   a region file (header.ring or <pool_id>.pool) or shm:file?path=...\n"
            "  --slots N  newest N header slots to show (default %u; 0 = none)\n"
            "  --json     one JSON object instead of key=value lines\n",
            INSPECT_DEFAULT_SLOTS);
    return reason ? 2 : 0;
}

static int parse_args(int argc, char **argv, inspect_opts_t *o)
{
    char msg[256];
    memset(o, 0, sizeof *o);
    o->slots = INSPECT_DEFAULT_SLOTS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(NULL);
            return 1; /* help printed: exit 0 */
        }
        if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--slots") || !strncmp(a, "--slots=", 8)) {
            const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
            char *end;
            unsigned long n;
            if (v == NULL || *v < '0' || *v > '9')
                return usage("--slots needs a number");
            errno = 0;
            n = strtoul(v, &end, 10);
            if (errno || *end || n > UINT32_MAX)
                return usage("--slots needs a number");
            o->slots = (uint32_t)n;
        } else if (a[0] == '-' && a[1] != '\0') {
            snprintf(msg, sizeof msg, "unknown argument '%.100s' (see tensorpool inspect --help)", a);
            return usage(msg);
        } else if (o->target != NULL) {
            return usage("only one PATH|URI");
        } else {
            o->target = a;
        }
    }
    if (o->target == NULL)
        return usage("missing PATH|URI");
    return 0;
}

/* ---- opening ----------------------------------------------------------------------------- */

/* The path named by a URI or a (possibly relative) path, canonicalised. */
static int target_path(const char *target, char *canon, bool *hugepages)
{
    const char *path = target;
    tp_region_uri_t *u = NULL;
    int rc = 0;

    *hugepages = false;
    if (strncmp(target, "shm:", 4) == 0) {
        u = malloc(sizeof *u);
        if (u == NULL)
            return tp_err_set(TP_ENOMEM, "inspect");
        if (tp_region_uri_parse(target, strlen(target), u) != 0) {
            free(u);
            return -1;
        }
        path = u->path;
        *hugepages = u->require_hugepages;
    }
    if (realpath(path, canon) == NULL)
        rc = tp_err_set_errno(TP_EPATH, errno, "'%s'", path);
    free(u);
    return rc;
}

/* Read the superblock through the containment checks and derive what to validate it
 * against: the geometry the file itself declares. */
static int read_superblock(const char *canon, const tp_allowed_dirs_t *allowed,
                           tp_superblock_t *sb, off_t *file_size)
{
    struct stat st;
    ssize_t n;
    int fd = tp_shm_open_contained(canon, allowed, false, NULL, NULL, &st);
    if (fd < 0)
        return -1;
    *file_size = st.st_size;
    if (st.st_size < (off_t)TP_SUPERBLOCK_SIZE) {
        close(fd);
        return tp_err_set(TP_EREGION, "'%s' is %lld bytes: not a tensorpool region (no %u-byte "
                          "superblock)", canon, (long long)st.st_size, TP_SUPERBLOCK_SIZE);
    }
    n = pread(fd, sb, sizeof *sb, 0);
    close(fd);
    if (n != (ssize_t)sizeof *sb)
        return tp_err_set_errno(TP_EIO, errno, "'%s': read superblock", canon);
    if (sb->magic != TP_SUPERBLOCK_MAGIC)
        return tp_err_set(TP_EREGION, "'%s' is not a tensorpool region (magic 0x%016" PRIx64
                          ", expected 0x%016" PRIx64 ")", canon, (uint64_t)sb->magic,
                          (uint64_t)TP_SUPERBLOCK_MAGIC);
    return 0;
}

static int open_region(const inspect_opts_t *o, tp_region_t *r, char *canon, off_t *file_size)
{
    tp_allowed_dirs_t *allowed = malloc(sizeof *allowed); /* ~32 KiB */
    tp_region_expect_t e;
    tp_superblock_t sb;
    char dir[PATH_MAX], uri[PATH_MAX + 64];
    bool hugepages;
    int n, rc = -1;

    if (allowed == NULL)
        return tp_err_set(TP_ENOMEM, "inspect");
    if (target_path(o->target, canon, &hugepages) != 0)
        goto out;
    snprintf(dir, sizeof dir, "%s", canon);
    *strrchr(dir, '/') = '\0';
    tp_allowed_dirs_init(allowed);
    if (tp_allowed_dirs_add(allowed, dir[0] ? dir : "/") != 0 ||
        read_superblock(canon, allowed, &sb, file_size) != 0)
        goto out;
    memset(&e, 0, sizeof e);
    e.region_type = sb.region_type;
    e.layout_version = sb.layout_version;
    e.epoch = sb.epoch;
    e.stream_id = sb.stream_id;
    e.pool_id = sb.pool_id;
    e.nslots = sb.nslots;
    e.stride_bytes = sb.region_type == TP_REGION_PAYLOAD_POOL ? sb.stride_bytes : 0;
    n = tp_region_uri_format(uri, sizeof uri, canon, hugepages);
    if (n < 0) {
        tp_err_push("'%s' cannot be named by a region URI", canon);
        goto out;
    }
    /* The validated mapping consumers use: size against the declared geometry, every
     * superblock field against the W-23 values, read-only. */
    rc = tp_region_map(r, uri, (size_t)n, allowed, &e, false);
out:
    free(allowed);
    return rc;
}

/* ---- slots ------------------------------------------------------------------------------- */

/* A consistent private copy of one slot, read as W-67 reads it. */
static void read_slot(const uint8_t *slot, uint32_t index, slot_info_t *s)
{
    uint64_t words[TP_HEADER_SLOT_BYTES / 8];
    s->index = index;
    s->state = 2;
    for (int t = 0; t < INSPECT_READ_TRIES; t++) {
        /* Acquire: the relaxed loads below see what the writer stored before this word. */
        uint64_t first = tp_load_acquire_u64(slot);
        words[0] = first;
        for (size_t k = 1; k < TP_HEADER_SLOT_BYTES / 8; k++)
            words[k] = tp_load_relaxed_u64(slot + 8 * k);
        /* Acquire fence: the word loads above complete before the second load (W-73b). */
        tp_fence_acquire();
        if (tp_load_acquire_u64(slot) == first) {
            s->word = first;
            s->seq = first >> 1;
            s->state = (first & 1u) ? 0 : 1;
            break;
        }
    }
    memcpy(&s->copy, words, sizeof s->copy);
    if (s->state == 2) {
        s->word = s->copy.seq_commit;
        s->seq = s->word >> 1;
    }
}

static int by_seq_desc(const void *a, const void *b)
{
    const slot_info_t *x = a, *y = b;
    return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

/* Every slot that was ever written (word or embedded header non-zero), newest first. */
static uint32_t collect_slots(const tp_region_t *r, uint32_t nslots, slot_info_t *out,
                              uint32_t *committed, uint32_t *in_progress)
{
    uint32_t n = 0;
    *committed = *in_progress = 0;
    for (uint32_t i = 0; i < nslots; i++) {
        slot_info_t s;
        read_slot(r->base + TP_SUPERBLOCK_SIZE + (size_t)i * TP_HEADER_SLOT_BYTES, i, &s);
        if (s.word == 0 && s.copy.header_bytes_len == 0)
            continue; /* never written */
        *committed += s.state == 0;
        *in_progress += s.state != 0;
        out[n++] = s;
    }
    qsort(out, n, sizeof *out, by_seq_desc);
    return n;
}

static void format_dims(char *buf, size_t cap, const int32_t *v, uint8_t ndims, char sep)
{
    size_t pos = 0;
    buf[0] = '\0';
    if (ndims == 0 || ndims > TP_MAX_DIMS) {
        snprintf(buf, cap, "-");
        return;
    }
    for (uint8_t k = 0; k < ndims && pos < cap; k++) {
        int n;
        if (k > 0 && pos + 1 < cap)
            buf[pos++] = sep;
        n = snprintf(buf + pos, cap - pos, "%" PRId32, v[k]);
        if (n < 0)
            break;
        pos += (size_t)n;
    }
}

static void print_slot(const slot_info_t *s, bool json, bool first)
{
    const tp_slot_t *c = &s->copy;
    const char *major = tp_sbe_control_major_order_name(c->major_order);
    bool header_ok = tp_tensor_check_embedded(c) == TP_DROP_NONE;
    char shape[160], strides[160];
    int32_t dims[TP_MAX_DIMS], strd[TP_MAX_DIMS];

    memcpy(dims, c->dims, sizeof dims); /* packed (unaligned) members: copy first */
    memcpy(strd, c->strides, sizeof strd);
    format_dims(shape, sizeof shape, dims, c->ndims, 'x');
    format_dims(strides, sizeof strides, strd, c->ndims, ',');
    if (!json) {
        printf("slot index=%" PRIu32 " seq=%" PRIu64 " state=%s len=%" PRIu32 " pool_id=%u "
               "payload_slot=%" PRIu32 " timestamp_ns=%" PRIu64 " dtype=%s major_order=%s "
               "ndims=%u shape=%s strides=%s meta_version=%" PRIu32 " header=%s\n",
               s->index, s->seq, state_names[s->state], (uint32_t)c->values_len_bytes,
               (unsigned)c->pool_id, (uint32_t)c->payload_slot, (uint64_t)c->timestamp_ns,
               tp_dtype_name(c->dtype), major ? major : "INVALID", (unsigned)c->ndims, shape,
               strides, (uint32_t)c->meta_version, header_ok ? "ok" : "invalid");
        return;
    }
    printf("%s{\"index\":%" PRIu32 ",\"seq\":%" PRIu64 ",\"state\":\"%s\",\"len\":%" PRIu32
           ",\"pool_id\":%u,\"payload_slot\":%" PRIu32 ",\"timestamp_ns\":%" PRIu64
           ",\"dtype\":\"%s\",\"major_order\":\"%s\",\"ndims\":%u,\"shape\":\"%s\","
           "\"strides\":\"%s\",\"meta_version\":%" PRIu32 ",\"header_ok\":%s}",
           first ? "" : ",", s->index, s->seq, state_names[s->state],
           (uint32_t)c->values_len_bytes, (unsigned)c->pool_id, (uint32_t)c->payload_slot,
           (uint64_t)c->timestamp_ns, tp_dtype_name(c->dtype), major ? major : "INVALID",
           (unsigned)c->ndims, shape, strides, (uint32_t)c->meta_version,
           header_ok ? "true" : "false");
}

/* ---- report ------------------------------------------------------------------------------ */

static void print_report(const inspect_opts_t *o, const tp_region_t *r, const char *canon,
                         off_t file_size)
{
    tp_superblock_t sb;
    bool ring;
    uint64_t now = tp_clock_monotonic_ns(), activity;
    uint32_t committed = 0, in_progress = 0, shown = 0, written = 0;
    slot_info_t *slots = NULL;
    int alive;

    memcpy(&sb, r->base, sizeof sb);
    /* Acquire: pairs with the owner's release in tp_superblock_touch (W-19). */
    activity = tp_load_acquire_u64(r->base + offsetof(tp_superblock_t, activity_timestamp_ns));
    ring = sb.region_type == TP_REGION_HEADER_RING;
    alive = tp_counters_pid_alive(sb.pid);
    if (ring) {
        slots = calloc(sb.nslots, sizeof *slots);
        if (slots != NULL)
            written = collect_slots(r, sb.nslots, slots, &committed, &in_progress);
        shown = written < o->slots ? written : o->slots;
    }
    if (!o->json) {
        printf("path=%s\nregion_type=%s\nmagic=0x%016" PRIx64 "\nlayout_version=%" PRIu32
               "\nepoch=%" PRIu64 "\nstream_id=%" PRIu32 "\npool_id=%u\nnslots=%" PRIu32
               "\nslot_bytes=%" PRIu32 "\nstride_bytes=%" PRIu32 "\nfile_bytes=%lld\n"
               "geometry_bytes=%zu\nhugetlbfs=%d\npid=%" PRIu64 "\npid_alive=%d\n"
               "start_timestamp_ns=%" PRIu64 "\nactivity_timestamp_ns=%" PRIu64
               "\nactivity_age_ms=%.3f\nuptime_s=%.3f\n",
               canon, ring ? "HEADER_RING" : "PAYLOAD_POOL", (uint64_t)sb.magic,
               (uint32_t)sb.layout_version, (uint64_t)sb.epoch, (uint32_t)sb.stream_id,
               (unsigned)sb.pool_id, (uint32_t)sb.nslots, (uint32_t)sb.slot_bytes,
               (uint32_t)sb.stride_bytes, (long long)file_size, r->size, r->hugetlbfs ? 1 : 0,
               (uint64_t)sb.pid, alive, (uint64_t)sb.start_timestamp_ns, activity,
               tp_cli_age_ms(now, activity), tp_cli_age_ms(now, sb.start_timestamp_ns) / 1e3);
        if (ring) {
            printf("slots_written=%" PRIu32 "\nslots_committed=%" PRIu32
                   "\nslots_in_progress=%" PRIu32 "\n", written, committed, in_progress);
            if (written > 0)
                printf("newest_seq=%" PRIu64 "\n", slots[0].seq);
            printf("slots_shown=%" PRIu32 "\n", shown);
            for (uint32_t i = 0; i < shown; i++)
                print_slot(&slots[i], false, i == 0);
        }
        free(slots);
        return;
    }
    printf("{\"path\":");
    tp_cli_json_str(stdout, canon);
    printf(",\"region_type\":\"%s\",\"magic\":\"0x%016" PRIx64 "\",\"layout_version\":%" PRIu32
           ",\"epoch\":%" PRIu64 ",\"stream_id\":%" PRIu32 ",\"pool_id\":%u,\"nslots\":%" PRIu32
           ",\"slot_bytes\":%" PRIu32 ",\"stride_bytes\":%" PRIu32 ",\"file_bytes\":%lld,"
           "\"geometry_bytes\":%zu,\"hugetlbfs\":%s,\"pid\":%" PRIu64 ",\"pid_alive\":%s,"
           "\"start_timestamp_ns\":%" PRIu64 ",\"activity_timestamp_ns\":%" PRIu64
           ",\"activity_age_ms\":%.3f,\"uptime_s\":%.3f",
           ring ? "HEADER_RING" : "PAYLOAD_POOL", (uint64_t)sb.magic, (uint32_t)sb.layout_version,
           (uint64_t)sb.epoch, (uint32_t)sb.stream_id, (unsigned)sb.pool_id,
           (uint32_t)sb.nslots, (uint32_t)sb.slot_bytes, (uint32_t)sb.stride_bytes,
           (long long)file_size, r->size, r->hugetlbfs ? "true" : "false", (uint64_t)sb.pid,
           alive ? "true" : "false", (uint64_t)sb.start_timestamp_ns, activity,
           tp_cli_age_ms(now, activity), tp_cli_age_ms(now, sb.start_timestamp_ns) / 1e3);
    if (ring) {
        printf(",\"slots_written\":%" PRIu32 ",\"slots_committed\":%" PRIu32
               ",\"slots_in_progress\":%" PRIu32, written, committed, in_progress);
        if (written > 0)
            printf(",\"newest_seq\":%" PRIu64, slots[0].seq);
        printf(",\"slots\":[");
        for (uint32_t i = 0; i < shown; i++)
            print_slot(&slots[i], true, i == 0);
        printf("]");
    }
    printf("}\n");
    free(slots);
}

int tp_cmd_inspect(int argc, char **argv)
{
    inspect_opts_t o;
    tp_region_t r;
    char canon[PATH_MAX];
    off_t file_size = 0;
    int rc = parse_args(argc, argv, &o);

    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (open_region(&o, &r, canon, &file_size) != 0) {
        printf("error=%s\n", tp_errmsg());
        return 1;
    }
    print_report(&o, &r, canon, file_size);
    tp_region_unmap(&r);
    fflush(stdout);
    return 0;
}

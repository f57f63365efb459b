/*
 * Fuzz the counters-file reader (src/shm/counters.h): the input is the content of a counters
 * file. It goes through tp_counters_parse as a reader sees it (copied to an 8-byte aligned
 * buffer, as a mapping is), then through tp_counters_view_open from a real file in a private
 * directory, where the mapping has exactly the input's length.
 *
 * Invariants (trap on violation):
 *  * parse and view agree (both accept or both refuse, with the same header fields);
 *  * an accepted header is self-consistent: known role and version, header_bytes a multiple of
 *    8 in 128..4096, count <= 4096, header_bytes + 8 * count <= length, the name NUL-terminated
 *    and printable;
 *  * every value of an accepted view can be read (ASan checks each load is inside the
 *    mapping), ids past the count read 0, and naming every id never fails.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shm/counters.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok) __builtin_trap();
}

static _Alignas(8) uint8_t copy[TP_COUNTERS_FILE_MAX + 4096];
static char dir[512];

static void check_info(const tp_counters_info_t *i, size_t size)
{
    check(tp_counters_role_name(i->role) != NULL);
    check(i->layout_version == TP_COUNTERS_LAYOUT_VERSION);
    check(i->header_bytes >= TP_COUNTERS_HEADER_BYTES && i->header_bytes % 8 == 0 &&
          i->header_bytes <= TP_COUNTERS_HEADER_MAX);
    check(i->count <= TP_COUNTERS_MAX);
    check((size_t)i->header_bytes + 8u * i->count <= size);
    check(strlen(i->name) <= TP_COUNTERS_NAME_MAX);
    for (const char *p = i->name; *p; p++)
        check(*p >= 0x20 && *p <= 0x7e);
}

static void remove_dir(void) { rmdir(dir); }

static int view_of(const uint8_t *data, size_t size, tp_counters_view_t *v)
{
    char path[600];
    int fd, rc;
    if (dir[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/tp-fuzz-counters-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        check(mkdtemp(dir) != NULL);
        atexit(remove_dir);
    }
    check(snprintf(path, sizeof path, "%s/f.tpc", dir) < (int)sizeof path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    check(fd >= 0);
    check(size == 0 || write(fd, data, size) == (ssize_t)size);
    close(fd);
    rc = tp_counters_view_open(v, path, NULL);
    unlink(path);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_counters_info_t info;
    tp_counters_view_t v;
    char kbuf[TP_COUNTERS_KEY_MAX];
    size_t n = size < sizeof copy ? size : sizeof copy;
    int rp, rv;

    memcpy(copy, data, n);
    rp = tp_counters_parse(copy, n, &info);
    if (rp == 0)
        check_info(&info, n);

    rv = view_of(data, size, &v);
    if (size <= TP_COUNTERS_FILE_MAX)
        check((rp == 0) == (rv == 0));
    if (rv == 0) {
        uint64_t sum = 0;
        check_info(&v.info, v.map_size);
        if (rp == 0)
            check(v.info.role == info.role && v.info.count == info.count &&
                  v.info.pid == info.pid && v.info.header_bytes == info.header_bytes &&
                  strcmp(v.info.name, info.name) == 0);
        for (uint32_t id = 0; id < v.info.count; id++) {
            sum += tp_counters_view_value(&v, id);
            (void)tp_counters_key(v.info.role, id, kbuf);
            (void)tp_counters_desc(v.info.role, id);
            (void)tp_counters_is_gauge(v.info.role, id);
        }
        check(tp_counters_view_value(&v, v.info.count) == 0);
        (void)tp_counters_view_update_ns(&v);
        (void)sum;
        tp_counters_view_close(&v);
    }
    return 0;
}

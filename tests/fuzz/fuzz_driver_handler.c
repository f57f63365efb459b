/*
 * Fuzz target: arbitrary bytes into the driver's message handler (tp_driver_handle_message,
 * src/driver/driver_internal.h), as if they had arrived on the control stream. The driver
 * must count and ignore what is malformed (WIRE W-81 DECISION, W-190), answer what is a
 * valid request, never crash and never leak. One driver lives for the whole run, on a
 * private directory removed at exit; it is re-created when an input shut it down. The
 * injected clock advances 1 ms per input so leases expire and epoch GC keeps the disk use
 * bounded.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/driver_internal.h"
#include "util/log.h"

static tp_driver_t *drv;
static char root[256];
static uint64_t now = 1000000000ull;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    remove(p);
    return 0;
}

static void cleanup(void)
{
    tp_driver_close(drv);
    drv = NULL;
    if (root[0])
        nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int start(void)
{
    tp_driver_config_t *c = calloc(1, sizeof *c);
    tp_transport_config_t t;
    tp_cfg_profile_t *p;
    int rc;

    tp_driver_config_init(c);
    snprintf(c->control_channel, sizeof c->control_channel, "aeron:ipc");
    snprintf(c->announce_channel, sizeof c->announce_channel, "aeron:ipc");
    snprintf(c->qos_channel, sizeof c->qos_channel, "aeron:ipc");
    c->control_stream_id = 15000;
    c->announce_stream_id = 15001;
    c->qos_stream_id = 15002;
    snprintf(c->base_dir, sizeof c->base_dir, "%s/shm", root);
    snprintf(c->allowed_base_dirs[0], sizeof c->allowed_base_dirs[0], "%s/shm", root);
    c->allowed_base_dir_count = 1;
    c->prefault_shm = false;
    c->allow_dynamic_streams = true;
    c->stream_id_range.set = true;
    c->stream_id_range.start = 20000;
    c->stream_id_range.end = 20003;
    c->descriptor_stream_id_range.set = true;
    c->descriptor_stream_id_range.start = 31000;
    c->descriptor_stream_id_range.end = 31003;
    c->control_stream_id_range.set = true;
    c->control_stream_id_range.start = 32000;
    c->control_stream_id_range.end = 32003;
    c->announce_period_ms = 1;
    c->lease_keepalive_interval_ms = 5;
    c->shutdown_timeout_ms = 0;
    snprintf(c->shutdown_token, sizeof c->shutdown_token, "tok");
    p = &c->profiles[0];
    snprintf(p->name, sizeof p->name, "small");
    p->header_nslots = 2;
    p->header_slot_bytes = 256;
    p->pools[0].pool_id = 1;
    p->pools[0].stride_bytes = 64;
    p->pool_count = 1;
    c->profile_count = 1;
    snprintf(c->streams[0].name, sizeof c->streams[0].name, "s");
    snprintf(c->streams[0].profile, sizeof c->streams[0].profile, "small");
    c->streams[0].stream_id = 42;
    c->stream_count = 1;
    tp_transport_config_init(&t);
    snprintf(t.dir, sizeof t.dir, "%s/transport", root);
    rc = tp_driver_init(&drv, c, &t, now);
    free(c);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (drv == NULL) {
        if (root[0] == '\0') {
            snprintf(root, sizeof root, "/tmp/tp-fuzz-driver-XXXXXX");
            if (mkdtemp(root) == NULL)
                abort();
            tp_log_set_level(TP_LOG_ERROR);
            atexit(cleanup);
        }
        if (start() != 0) {
            fprintf(stderr, "fuzz_driver_handler: %s\n", tp_errmsg());
            abort();
        }
    }
    now += 1000000ull;
    tp_driver_handle_message(drv, data, size, now);
    if (tp_driver_do_work(drv, now) < 0)
        abort();
    if (tp_driver_done(drv)) { /* an input shut it down: start again */
        tp_driver_close(drv);
        drv = NULL;
    }
    return 0;
}

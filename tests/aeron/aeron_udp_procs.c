/*
 * aeron:udp on loopback with real processes (issue 7 "Tests"): `tensorpool driver` with
 * driver.transport = "aeron", driver.launch_media_driver = true and its control, announce and
 * QoS streams on aeron:udp channels (all three TOML keys, no environment), then `tensorpool
 * producer` and `tensorpool consumer` processes given --transport aeron --aeron-dir and the
 * udp channels on their command lines. The control plane crosses the loopback UDP sockets of
 * the media driver (the control endpoint's port is bound while it runs); descriptors and the
 * frames themselves stay local (aeron:ipc, the SHM regions). The consumer verifies every frame.
 *
 * Skipped (exit 77) with the reason in a build without Aeron.
 */
#include "e2e_support.h"

#define LINE 4096

static double kv(const char *line, const char *key) { return tp_kv_num(line, key, -1); }

/* Is UDP port `port` bound on 127.0.0.1 (/proc/net/udp, local address column)? */
static bool udp_port_bound(int port)
{
    char line[512], want[32];
    bool found = false;
    FILE *f = fopen("/proc/net/udp", "r");
    if (f == NULL)
        return false;
    snprintf(want, sizeof want, "0100007F:%04X", port);
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, want) != NULL;
    fclose(f);
    return found;
}

TP_TEST(test_aeron_udp_control_plane_processes)
{
    e2e_sys_t s;
    tp_proc_t prod, cons;
    char line[LINE], pline[LINE], ctl[96], ann[96], qos[96], adir[600], dlog[8192];
    int port = 43000 + 3 * (int)(getpid() % 600);
    FILE *f;

    if (!tp_transport_aeron_available())
        TP_SKIP("built without Aeron (TP_WITH_AERON=OFF or Aeron not found): docs/aeron.md");
    TP_ASSERT(e2e_init(&s, "udp", 64, 65536)); /* embedded env markers: the TOML says aeron */
    snprintf(adir, sizeof adir, "/dev/shm/tp-aeron-udp-%d", (int)getpid());
    tp_test_rmtree(adir);
    snprintf(ctl, sizeof ctl, "aeron:udp?endpoint=127.0.0.1:%d", port);
    snprintf(ann, sizeof ann, "aeron:udp?endpoint=127.0.0.1:%d", port + 1);
    snprintf(qos, sizeof qos, "aeron:udp?endpoint=127.0.0.1:%d", port + 2);
    f = fopen(s.cfg, "w");
    TP_ASSERT(f != NULL);
    fprintf(f,
            "[driver]\ninstance_id = \"udp\"\ntransport = \"aeron\"\nlaunch_media_driver = true\n"
            "aeron_dir = \"%s\"\ncontrol_channel = \"%s\"\ncontrol_stream_id = %u\n"
            "announce_channel = \"%s\"\nannounce_stream_id = %u\n"
            "qos_channel = \"%s\"\nqos_stream_id = %u\n\n"
            "[shm]\nbase_dir = \"%s\"\npermissions_mode = \"600\"\n\n"
            "[policies]\nannounce_period_ms = 100\nlease_keepalive_interval_ms = 100\n"
            "lease_expiry_grace_intervals = 10\nshutdown_timeout_ms = 100\n\n"
            "[profiles.camera]\nheader_nslots = 64\n"
            "payload_pools = [ { pool_id = 1, stride_bytes = 65536 } ]\n\n"
            "[streams.cam1]\nstream_id = %u\nprofile = \"camera\"\n",
            adir, ctl, E2E_CTL, ann, E2E_CTL + 1, qos, E2E_CTL + 2, s.shm, E2E_STREAM);
    fclose(f);
    TP_ASSERT(e2e_driver_start(&s)); /* returns once the "driver: started" line is written */
    tp_proc_output(&s.driver, dlog, sizeof dlog);
    TP_CHECK(strstr(dlog, "transport=aeron") != NULL);
    TP_CHECK(strstr(dlog, "embedded media driver started") != NULL);
    { /* the driver's control subscription binds the port once the media driver added it */
        uint64_t end = tp_launch_now_ns() + 5000000000ull;
        while (!udp_port_bound(port) && tp_launch_now_ns() < end)
            tp_launch_sleep_ms(10);
        TP_CHECK(udp_port_bound(port));
    }

    TP_ASSERT(e2e_spawn(&s, &cons, "consumer", NULL, "consumer", "--transport", "aeron",
                        "--aeron-dir", adir, "--control-channel", ctl, "--announce-channel",
                        ann, "--announce-stream", "15001", "--verify", "interop", "--count",
                        "300", "--duration", "30", NULL));
    TP_ASSERT(e2e_wait_attached(&cons, 15000));
    TP_ASSERT(e2e_spawn(&s, &prod, "producer", NULL, "producer", "--transport", "aeron",
                        "--aeron-dir", adir, "--control-channel", ctl, "--announce-channel",
                        ann, "--announce-stream", "15001", "--rate", "500", "--size", "65536",
                        "--duration", "30", NULL));
    TP_CHECK_EQ_I(tp_proc_wait(&cons, 30000), 0);
    TP_CHECK_EQ_I(tp_proc_stop(&prod, 5000), 0);
    tp_proc_stop(&s.driver, 5000);
    TP_ASSERT(e2e_summary("consumer", &cons, line, sizeof line));
    TP_CHECK_EQ_U(kv(line, "frames"), 300);
    TP_CHECK_EQ_U(kv(line, "torn"), 0);
    TP_CHECK_EQ_U(kv(line, "old_epoch"), 0);
    TP_CHECK(kv(line, "epoch") > 0);
    TP_ASSERT(e2e_summary("producer", &prod, pline, sizeof pline));
    TP_CHECK(kv(pline, "frames") >= 300);
    TP_CHECK_EQ_U(kv(pline, "reattaches"), 0);
    if (tp_test_failed_now())
        e2e_dump("driver", &s.driver);
    tp_test_rmtree(adir);
}

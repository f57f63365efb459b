/*
 * Driver configuration (DRIVER §18 D-84 .. D-90, D-73, D-74, D-86/D-88 DECISIONs, D-94
 * DECISION, WIRE W-37, W-53; issue 4 "Configuration"): every default, every environment
 * variable and alias, every invalid case, unknown keys, the spec examples, the seed's
 * integration config and its dump.
 *
 * Every load passes an explicit environment (ENV0 = empty unless a test says otherwise), so
 * the process environment of the test run never leaks in.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/config.h"
#include "tp_test.h"
#include "transport/transport.h"
#include "util/error.h"

static tp_driver_config_t g_cfg;
static tp_cfg_report_t g_rep;
static char *ENV0[] = { NULL };

static const char *write_toml(const char *text)
{
    static char path[1200];
    static unsigned n;
    FILE *f;
    snprintf(path, sizeof path, "%s/cfg%u.toml", tp_test_tmpdir(), n++);
    f = fopen(path, "w");
    if (f == NULL) return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

static int load_env(const char *text, char **envp)
{
    const char *p = write_toml(text);
    if (p == NULL) return -2;
    return tp_driver_config_load(&g_cfg, p, envp, &g_rep);
}

static int load(const char *text) { return load_env(text, ENV0); }

static void print_report(void)
{
    for (uint32_t i = 0; i < g_rep.error_count; i++)
        fprintf(stderr, "    error: %s\n", g_rep.errors[i]);
    for (uint32_t i = 0; i < g_rep.warning_count; i++)
        fprintf(stderr, "    warning: %s\n", g_rep.warnings[i]);
}

static int find(bool error, const char *sub)
{
    uint32_t n = error ? g_rep.error_count : g_rep.warning_count;
    for (uint32_t i = 0; i < n; i++)
        if (strstr(error ? g_rep.errors[i] : g_rep.warnings[i], sub)) return 1;
    return 0;
}

/* The load failed and some error contains every one of the given substrings. */
#define EXPECT_ERR(rc, ...) expect_issue(__FILE__, __LINE__, true, (rc), __VA_ARGS__, NULL)
#define EXPECT_WARN(rc, ...) expect_issue(__FILE__, __LINE__, false, (rc), __VA_ARGS__, NULL)
#define EXPECT_OK(rc)                                                                   \
    do {                                                                                \
        if ((rc) != 0 || g_rep.error_count != 0) {                                      \
            print_report();                                                             \
            tp_test_fail(__FILE__, __LINE__, "expected a valid configuration");         \
        }                                                                               \
    } while (0)

static void expect_issue(const char *file, int line, bool error, int rc, ...)
{
    va_list ap;
    uint32_t n = error ? g_rep.error_count : g_rep.warning_count;
    const char *first;
    if (error && rc != -1) {
        print_report();
        tp_test_fail(file, line, "expected the load to fail, rc=%d", rc);
        return;
    }
    if (!error && rc != 0) {
        print_report();
        tp_test_fail(file, line, "expected the load to succeed (with a warning), rc=%d", rc);
        return;
    }
    va_start(ap, rc);
    first = va_arg(ap, const char *);
    va_end(ap);
    for (uint32_t i = 0; i < n; i++) {
        const char *msg = error ? g_rep.errors[i] : g_rep.warnings[i];
        const char *s;
        int all = 1;
        va_start(ap, rc);
        for (s = va_arg(ap, const char *); s != NULL; s = va_arg(ap, const char *))
            if (strstr(msg, s) == NULL) all = 0;
        va_end(ap);
        if (all) return;
    }
    print_report();
    tp_test_fail(file, line, "no %s containing '%s' (and the other parts)",
                 error ? "error" : "warning", first);
}

/* A valid minimal file: one profile, one pool, one stream. */
#define MIN_PROFILE                                                                     \
    "[profiles.p]\n"                                                                    \
    "payload_pools = [{ pool_id = 1, stride_bytes = 1024 }]\n"
#define MIN_STREAM                                                                      \
    "[streams.s]\n"                                                                     \
    "stream_id = 10\n"                                                                  \
    "profile = \"p\"\n"
#define MIN MIN_PROFILE MIN_STREAM

/* ---- defaults (D-85, D-87) -------------------------------------------------------------- */

TP_TEST(test_d85_init_every_default)
{
    tp_driver_config_t *c = &g_cfg;
    tp_driver_config_init(c);
    TP_CHECK_STR(c->instance_id, "driver-01");
    TP_CHECK_STR(c->aeron_dir, "");
    TP_CHECK_STR(c->control_channel, "aeron:ipc?term-length=4m");
    TP_CHECK_EQ_U(c->control_stream_id, 1000);
    TP_CHECK_STR(c->announce_channel, "aeron:ipc?term-length=4m");
    TP_CHECK_EQ_U(c->announce_stream_id, 1000);
    TP_CHECK_STR(c->qos_channel, "aeron:ipc?term-length=4m");
    TP_CHECK_EQ_U(c->qos_stream_id, 1200);
    TP_CHECK(!c->stream_id_range.set);
    TP_CHECK(!c->descriptor_stream_id_range.set);
    TP_CHECK(!c->control_stream_id_range.set);
    TP_CHECK_STR(c->base_dir, "/dev/shm");
    TP_CHECK_STR(c->namespace_, "default");
    TP_CHECK(!c->require_hugepages);
    TP_CHECK_EQ_U(c->page_size_bytes, 4096);
    TP_CHECK_EQ_U(c->permissions_mode, 0660);
    TP_CHECK_EQ_U(c->allowed_base_dir_count, 1);
    TP_CHECK_STR(c->allowed_base_dirs[0], "/dev/shm");
    TP_CHECK(!c->allow_dynamic_streams);
    TP_CHECK_STR(c->default_profile, "");
    TP_CHECK_EQ_U(c->announce_period_ms, 1000);
    TP_CHECK_EQ_U(c->lease_keepalive_interval_ms, 1000);
    TP_CHECK_EQ_U(c->lease_expiry_grace_intervals, 3);
    TP_CHECK(c->prefault_shm);
    TP_CHECK(!c->reuse_existing_shm);
    TP_CHECK(!c->mlock_shm);
    TP_CHECK(!c->cleanup_shm_on_exit);
    TP_CHECK(c->epoch_gc_enabled);
    TP_CHECK_EQ_U(c->epoch_gc_keep, 2);
    TP_CHECK_EQ_U(c->epoch_gc_min_age_ns, 0);
    TP_CHECK(!c->epoch_gc_on_startup);
    TP_CHECK_EQ_U(c->shutdown_timeout_ms, 2000);
    TP_CHECK_STR(c->shutdown_token, "");
    TP_CHECK_EQ_U(c->profile_count, 0);
    TP_CHECK_EQ_U(c->stream_count, 0);
}

TP_TEST(test_d85_load_minimal_file_every_default)
{
    tp_driver_config_t *c = &g_cfg;
    int rc = load(MIN);
    EXPECT_OK(rc);
    TP_CHECK_EQ_U(g_rep.warning_count, 0);
    TP_CHECK_STR(c->instance_id, "driver-01");
    TP_CHECK_STR(c->aeron_dir, "");
    TP_CHECK_STR(c->control_channel, "aeron:ipc?term-length=4m");
    TP_CHECK_EQ_U(c->control_stream_id, 1000);
    TP_CHECK_STR(c->announce_channel, "aeron:ipc?term-length=4m");
    TP_CHECK_EQ_U(c->announce_stream_id, 1000);
    TP_CHECK_STR(c->qos_channel, "aeron:ipc?term-length=4m");
    TP_CHECK_EQ_U(c->qos_stream_id, 1200);
    TP_CHECK(!c->stream_id_range.set && !c->descriptor_stream_id_range.set &&
             !c->control_stream_id_range.set);
    TP_CHECK_STR(c->base_dir, "/dev/shm");
    TP_CHECK_STR(c->namespace_, "default");
    TP_CHECK(!c->require_hugepages);
    TP_CHECK_EQ_U(c->page_size_bytes, 4096);
    TP_CHECK_EQ_U(c->permissions_mode, 0660);
    TP_CHECK_EQ_U(c->allowed_base_dir_count, 1);
    TP_CHECK_STR(c->allowed_base_dirs[0], "/dev/shm");
    TP_CHECK(!c->allow_dynamic_streams);
    TP_CHECK_STR(c->default_profile, "p");
    TP_CHECK_EQ_U(c->announce_period_ms, 1000);
    TP_CHECK_EQ_U(c->lease_keepalive_interval_ms, 1000);
    TP_CHECK_EQ_U(c->lease_expiry_grace_intervals, 3);
    TP_CHECK(c->prefault_shm);
    TP_CHECK(!c->reuse_existing_shm && !c->mlock_shm && !c->cleanup_shm_on_exit);
    TP_CHECK(c->epoch_gc_enabled);
    TP_CHECK_EQ_U(c->epoch_gc_keep, 2);
    TP_CHECK_EQ_U(c->epoch_gc_min_age_ns, 3000000000ull); /* 3 x announce_period_ms */
    TP_CHECK(!c->epoch_gc_on_startup);
    TP_CHECK_EQ_U(c->shutdown_timeout_ms, 2000);
    TP_CHECK_STR(c->shutdown_token, "");
    TP_ASSERT(c->profile_count == 1 && c->stream_count == 1);
    TP_CHECK_EQ_U(c->profiles[0].header_nslots, 1024);
    TP_CHECK_EQ_U(c->profiles[0].header_slot_bytes, 256);
    TP_CHECK_EQ_U(c->profiles[0].max_dims, 8);
    TP_CHECK_EQ_U(c->profiles[0].pool_count, 1);
    TP_CHECK_EQ_U(c->profiles[0].pools[0].pool_id, 1);
    TP_CHECK_EQ_U(c->profiles[0].pools[0].stride_bytes, 1024);
    TP_CHECK_EQ_U(c->profiles[0].pools[0].stride_effective, 1024);
    TP_CHECK_STR(c->streams[0].name, "s");
    TP_CHECK_EQ_U(c->streams[0].stream_id, 10);
    TP_CHECK_STR(c->streams[0].profile, "p");
    TP_CHECK_EQ_U(c->streams[0].profile_index, 0);
    TP_CHECK(tp_driver_config_profile(c, "p") == &c->profiles[0]);
    TP_CHECK(tp_driver_config_profile(c, "q") == NULL);
    TP_CHECK(tp_driver_config_stream(c, 10) == &c->streams[0]);
    TP_CHECK(tp_driver_config_stream(c, 11) == NULL);
}

TP_TEST(test_d87_default_profile_is_first_in_file_order)
{
    int rc = load("[profiles.zeta]\npayload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n"
                  "[profiles.alpha]\npayload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n"
                  "[streams.s]\nstream_id = 1\nprofile = \"alpha\"\n");
    EXPECT_OK(rc);
    TP_CHECK_STR(g_cfg.default_profile, "zeta");
    TP_CHECK_EQ_U(g_cfg.streams[0].profile_index, 1);
}

TP_TEST(test_d85_announce_defaults_to_control)
{
    char *env[] = { "DRIVER_CONTROL_STREAM_ID=7000", NULL };
    int rc = load("[driver]\ncontrol_channel = \"aeron:ipc?alias=x\"\ncontrol_stream_id = 5000\n"
                  MIN);
    EXPECT_OK(rc);
    TP_CHECK_STR(g_cfg.announce_channel, "aeron:ipc?alias=x");
    TP_CHECK_EQ_U(g_cfg.announce_stream_id, 5000);
    /* the derived default follows the effective (environment) control stream */
    rc = load_env("[driver]\ncontrol_stream_id = 5000\n" MIN, env);
    EXPECT_OK(rc);
    TP_CHECK_EQ_U(g_cfg.control_stream_id, 7000);
    TP_CHECK_EQ_U(g_cfg.announce_stream_id, 7000);
    /* given explicitly: kept */
    rc = load("[driver]\ncontrol_stream_id = 5000\nannounce_stream_id = 5001\n"
              "announce_channel = \"aeron:ipc?alias=a\"\n" MIN);
    EXPECT_OK(rc);
    TP_CHECK_EQ_U(g_cfg.announce_stream_id, 5001);
    TP_CHECK_STR(g_cfg.announce_channel, "aeron:ipc?alias=a");
    TP_CHECK_STR(g_cfg.control_channel, "aeron:ipc?term-length=4m");
}

TP_TEST(test_d85_epoch_gc_min_age_explicit_kept)
{
    int rc = load("[policies]\nannounce_period_ms = 200\n" MIN);
    EXPECT_OK(rc);
    TP_CHECK_EQ_U(g_cfg.epoch_gc_min_age_ns, 600000000ull);
    rc = load("[policies]\nepoch_gc_min_age_ns = 123\n" MIN);
    EXPECT_OK(rc);
    TP_CHECK_EQ_U(g_cfg.epoch_gc_min_age_ns, 123);
}

TP_TEST(test_d85_every_key_from_toml)
{
    tp_driver_config_t *c = &g_cfg;
    int rc = load("[driver]\n"
                  "instance_id = \"d7\"\n"
                  "aeron_dir = \"/tmp/aeron-x\"\n"
                  "control_channel = \"aeron:ipc?c\"\n"
                  "control_stream_id = 11\n"
                  "announce_channel = \"aeron:ipc?a\"\n"
                  "announce_stream_id = 12\n"
                  "qos_channel = \"aeron:ipc?q\"\n"
                  "qos_stream_id = 13\n"
                  "stream_id_range = \"20000-29999\"\n"
                  "descriptor_stream_id_range = \"31000,31999\"\n"
                  "control_stream_id_range = [32000, 32999]\n"
                  "[shm]\n"
                  "base_dir = \"/tmp/shmbase\"\n"
                  "namespace = \"ns1\"\n"
                  "require_hugepages = true\n"
                  "page_size_bytes = 2097152\n"
                  "permissions_mode = \"0600\"\n"
                  "allowed_base_dirs = [\"/tmp/shmbase\", \"/dev/shm\"]\n"
                  "[policies]\n"
                  "allow_dynamic_streams = true\n"
                  "default_profile = \"p\"\n"
                  "announce_period_ms = 250\n"
                  "lease_keepalive_interval_ms = 300\n"
                  "lease_expiry_grace_intervals = 5\n"
                  "prefault_shm = false\n"
                  "reuse_existing_shm = true\n"
                  "mlock_shm = true\n"
                  "cleanup_shm_on_exit = true\n"
                  "epoch_gc_enabled = false\n"
                  "epoch_gc_keep = 4\n"
                  "epoch_gc_min_age_ns = 5000\n"
                  "epoch_gc_on_startup = true\n"
                  "shutdown_timeout_ms = 10\n"
                  "shutdown_token = \"tok\"\n" MIN);
    EXPECT_OK(rc);
    TP_CHECK_EQ_U(g_rep.warning_count, 0);
    TP_CHECK_STR(c->instance_id, "d7");
    TP_CHECK_STR(c->aeron_dir, "/tmp/aeron-x");
    TP_CHECK_STR(c->control_channel, "aeron:ipc?c");
    TP_CHECK_EQ_U(c->control_stream_id, 11);
    TP_CHECK_STR(c->announce_channel, "aeron:ipc?a");
    TP_CHECK_EQ_U(c->announce_stream_id, 12);
    TP_CHECK_STR(c->qos_channel, "aeron:ipc?q");
    TP_CHECK_EQ_U(c->qos_stream_id, 13);
    TP_CHECK(c->stream_id_range.set && c->stream_id_range.start == 20000 &&
             c->stream_id_range.end == 29999);
    TP_CHECK(c->descriptor_stream_id_range.set && c->descriptor_stream_id_range.start == 31000 &&
             c->descriptor_stream_id_range.end == 31999);
    TP_CHECK(c->control_stream_id_range.set && c->control_stream_id_range.start == 32000 &&
             c->control_stream_id_range.end == 32999);
    TP_CHECK_STR(c->base_dir, "/tmp/shmbase");
    TP_CHECK_STR(c->namespace_, "ns1");
    TP_CHECK(c->require_hugepages);
    TP_CHECK_EQ_U(c->page_size_bytes, 2097152);
    TP_CHECK_EQ_U(c->permissions_mode, 0600);
    TP_CHECK_EQ_U(c->allowed_base_dir_count, 2);
    TP_CHECK_STR(c->allowed_base_dirs[0], "/tmp/shmbase");
    TP_CHECK_STR(c->allowed_base_dirs[1], "/dev/shm");
    TP_CHECK(c->allow_dynamic_streams);
    TP_CHECK_STR(c->default_profile, "p");
    TP_CHECK_EQ_U(c->announce_period_ms, 250);
    TP_CHECK_EQ_U(c->lease_keepalive_interval_ms, 300);
    TP_CHECK_EQ_U(c->lease_expiry_grace_intervals, 5);
    TP_CHECK(!c->prefault_shm);
    TP_CHECK(c->reuse_existing_shm && c->mlock_shm && c->cleanup_shm_on_exit);
    TP_CHECK(!c->epoch_gc_enabled);
    TP_CHECK_EQ_U(c->epoch_gc_keep, 4);
    TP_CHECK_EQ_U(c->epoch_gc_min_age_ns, 5000);
    TP_CHECK(c->epoch_gc_on_startup);
    TP_CHECK_EQ_U(c->shutdown_timeout_ms, 10);
    TP_CHECK_STR(c->shutdown_token, "tok");
}

TP_TEST(test_d85_pools_as_array_of_tables_and_several_profiles)
{
    int rc = load("[profiles.a]\nheader_nslots = 8\n"
                  "[[profiles.a.payload_pools]]\npool_id = 1\nstride_bytes = 128\n"
                  "[[profiles.a.payload_pools]]\npool_id = 2\nstride_bytes = 4194304\n"
                  "[profiles.b]\nheader_nslots = 2\n"
                  "payload_pools = [{ pool_id = 9, stride_bytes = 64 }]\n"
                  "[streams]\n[streams.x]\nstream_id = 1\nprofile = \"b\"\n"
                  "[streams.y]\nstream_id = 2\nprofile = \"a\"\n");
    EXPECT_OK(rc);
    TP_ASSERT(g_cfg.profile_count == 2);
    TP_CHECK_EQ_U(g_cfg.profiles[0].pool_count, 2);
    TP_CHECK_EQ_U(g_cfg.profiles[0].pools[1].pool_id, 2);
    TP_CHECK_EQ_U(g_cfg.profiles[0].pools[1].stride_bytes, 4194304);
    TP_CHECK_EQ_U(g_cfg.profiles[1].header_nslots, 2);
    TP_CHECK_EQ_U(g_cfg.profiles[1].pools[0].pool_id, 9);
    TP_CHECK_EQ_U(g_cfg.streams[0].profile_index, 1);
    TP_CHECK_EQ_U(g_cfg.streams[1].profile_index, 0);
}

/* ---- environment (D-89) ------------------------------------------------------------------- */

TP_TEST(test_d89_every_override_variable)
{
    tp_driver_config_t *c = &g_cfg;
    char *env[] = {
        "DRIVER_INSTANCE_ID=env-id",
        "DRIVER_AERON_DIR=/tmp/aeron-env",
        "DRIVER_CONTROL_CHANNEL=aeron:ipc?env-c",
        "DRIVER_CONTROL_STREAM_ID=2000",
        "DRIVER_ANNOUNCE_CHANNEL=aeron:ipc?env-a",
        "DRIVER_ANNOUNCE_STREAM_ID=2001",
        "DRIVER_QOS_CHANNEL=aeron:ipc?env-q",
        "DRIVER_QOS_STREAM_ID=2002",
        "DRIVER_STREAM_ID_RANGE=20000-20099",
        "DRIVER_DESCRIPTOR_STREAM_ID_RANGE=31000,31099",
        "DRIVER_CONTROL_STREAM_ID_RANGE=32000-32099",
        "SHM_BASE_DIR=/tmp/env-base",
        "SHM_NAMESPACE=envns",
        "SHM_REQUIRE_HUGEPAGES=true",
        "SHM_PAGE_SIZE_BYTES=65536",
        "SHM_PERMISSIONS_MODE=600",
        "POLICIES_ALLOW_DYNAMIC_STREAMS=TRUE",
        "POLICIES_DEFAULT_PROFILE=q",
        "POLICIES_ANNOUNCE_PERIOD_MS=111",
        "POLICIES_LEASE_KEEPALIVE_INTERVAL_MS=222",
        "POLICIES_LEASE_EXPIRY_GRACE_INTERVALS=7",
        "POLICIES_PREFAULT_SHM=false",
        "POLICIES_REUSE_EXISTING_SHM=true",
        "POLICIES_MLOCK_SHM=True",
        "POLICIES_CLEANUP_SHM_ON_EXIT=tRuE",
        "POLICIES_EPOCH_GC_ENABLED=false",
        "POLICIES_EPOCH_GC_KEEP=9",
        "POLICIES_EPOCH_GC_MIN_AGE_NS=18446744073",
        "POLICIES_EPOCH_GC_ON_STARTUP=true",
        "POLICIES_SHUTDOWN_TIMEOUT_MS=333",
        "POLICIES_SHUTDOWN_TOKEN=secret",
        NULL,
    };
    /* the file sets every key to something else: the environment wins (D-89 MUST) */
    int rc = load_env("[driver]\ninstance_id = \"file\"\naeron_dir = \"/f\"\n"
                      "control_channel = \"aeron:ipc?f\"\ncontrol_stream_id = 1\n"
                      "announce_channel = \"aeron:ipc?f\"\nannounce_stream_id = 2\n"
                      "qos_channel = \"aeron:ipc?f\"\nqos_stream_id = 3\n"
                      "stream_id_range = \"40000-40001\"\n"
                      "descriptor_stream_id_range = \"41000-41001\"\n"
                      "control_stream_id_range = \"42000-42001\"\n"
                      "[shm]\nbase_dir = \"/f\"\nnamespace = \"f\"\nrequire_hugepages = false\n"
                      "page_size_bytes = 4096\npermissions_mode = \"666\"\n"
                      "[policies]\nallow_dynamic_streams = false\ndefault_profile = \"p\"\n"
                      "announce_period_ms = 1\nlease_keepalive_interval_ms = 1\n"
                      "lease_expiry_grace_intervals = 1\nprefault_shm = true\n"
                      "reuse_existing_shm = false\nmlock_shm = false\n"
                      "cleanup_shm_on_exit = false\nepoch_gc_enabled = true\n"
                      "epoch_gc_keep = 1\nepoch_gc_min_age_ns = 1\n"
                      "epoch_gc_on_startup = false\nshutdown_timeout_ms = 1\n"
                      "shutdown_token = \"f\"\n" MIN
                      "[profiles.q]\npayload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n",
                      env);
    EXPECT_OK(rc);
    TP_CHECK_EQ_U(g_rep.warning_count, 0);
    TP_CHECK_STR(c->instance_id, "env-id");
    TP_CHECK_STR(c->aeron_dir, "/tmp/aeron-env");
    TP_CHECK_STR(c->control_channel, "aeron:ipc?env-c");
    TP_CHECK_EQ_U(c->control_stream_id, 2000);
    TP_CHECK_STR(c->announce_channel, "aeron:ipc?env-a");
    TP_CHECK_EQ_U(c->announce_stream_id, 2001);
    TP_CHECK_STR(c->qos_channel, "aeron:ipc?env-q");
    TP_CHECK_EQ_U(c->qos_stream_id, 2002);
    TP_CHECK(c->stream_id_range.set && c->stream_id_range.start == 20000 &&
             c->stream_id_range.end == 20099);
    TP_CHECK(c->descriptor_stream_id_range.start == 31000 &&
             c->descriptor_stream_id_range.end == 31099);
    TP_CHECK(c->control_stream_id_range.start == 32000 &&
             c->control_stream_id_range.end == 32099);
    TP_CHECK_STR(c->base_dir, "/tmp/env-base");
    TP_CHECK_STR(c->allowed_base_dirs[0], "/tmp/env-base"); /* default follows the env */
    TP_CHECK_STR(c->namespace_, "envns");
    TP_CHECK(c->require_hugepages);
    TP_CHECK_EQ_U(c->page_size_bytes, 65536);
    TP_CHECK_EQ_U(c->permissions_mode, 0600);
    TP_CHECK(c->allow_dynamic_streams);
    TP_CHECK_STR(c->default_profile, "q");
    TP_CHECK_EQ_U(c->announce_period_ms, 111);
    TP_CHECK_EQ_U(c->lease_keepalive_interval_ms, 222);
    TP_CHECK_EQ_U(c->lease_expiry_grace_intervals, 7);
    TP_CHECK(!c->prefault_shm);
    TP_CHECK(c->reuse_existing_shm && c->mlock_shm && c->cleanup_shm_on_exit);
    TP_CHECK(!c->epoch_gc_enabled);
    TP_CHECK_EQ_U(c->epoch_gc_keep, 9);
    TP_CHECK_EQ_U(c->epoch_gc_min_age_ns, 18446744073ull);
    TP_CHECK(c->epoch_gc_on_startup);
    TP_CHECK_EQ_U(c->shutdown_timeout_ms, 333);
    TP_CHECK_STR(c->shutdown_token, "secret");
}

TP_TEST(test_d89_aliases_when_driver_name_unset)
{
    char *env[] = { "AERON_DIR=/tmp/aeron-alias", "TP_CONTROL_CHANNEL=aeron:ipc?alias",
                    "TP_CONTROL_STREAM_ID=4242", NULL };
    int rc = load_env("[driver]\naeron_dir = \"/file\"\ncontrol_stream_id = 1\n" MIN, env);
    EXPECT_OK(rc);
    TP_CHECK_STR(g_cfg.aeron_dir, "/tmp/aeron-alias");
    TP_CHECK_STR(g_cfg.control_channel, "aeron:ipc?alias");
    TP_CHECK_EQ_U(g_cfg.control_stream_id, 4242);
    TP_CHECK_EQ_U(g_cfg.announce_stream_id, 4242);
}

/* Issue 7: driver.transport (TP_TRANSPORT), driver.launch_media_driver (LAUNCH_MEDIA_DRIVER). */
TP_TEST(test_issue7_transport_keys_toml_env_and_validation)
{
    char *alias[] = { "TP_TRANSPORT=aeron", "LAUNCH_MEDIA_DRIVER=true", NULL };
    char *canonical[] = { "TP_TRANSPORT=aeron", "DRIVER_TRANSPORT=embedded", NULL };
    char *bad[] = { "TP_TRANSPORT=udp", NULL };
    int rc = load(MIN);
    EXPECT_OK(rc);
    TP_CHECK_STR(g_cfg.transport, "embedded");
    TP_CHECK(!g_cfg.launch_media_driver);
    rc = load_env(MIN, canonical);
    EXPECT_OK(rc);
    TP_CHECK_STR(g_cfg.transport, "embedded");
    rc = load_env(MIN, bad);
    EXPECT_ERR(rc, "driver.transport = \"udp\"", "environment TP_TRANSPORT", "\"aeron\"");
    rc = load("[driver]\ntransport = \"embedded\"\nlaunch_media_driver = true\n" MIN);
    EXPECT_WARN(rc, "driver.launch_media_driver = true (line 3)", "ignored");
    rc = load("[driver]\ncontrol_channel = \"aeron:udp?endpoint=127.0.0.1:40123\"\n" MIN);
    EXPECT_ERR(rc, "driver.control_channel", "aeron:udp needs driver.transport = \"aeron\"");
    rc = load_env(MIN, alias);
    if (tp_transport_aeron_available()) {
        EXPECT_OK(rc);
        TP_CHECK_STR(g_cfg.transport, "aeron");
        TP_CHECK(g_cfg.launch_media_driver);
        rc = load("[driver]\ntransport = \"aeron\"\nlaunch_media_driver = true\n"
                  "control_channel = \"aeron:udp?endpoint=127.0.0.1:40123\"\n" MIN);
        EXPECT_OK(rc);
    } else {
        EXPECT_ERR(rc, "driver.transport = \"aeron\" (environment TP_TRANSPORT)",
                   "built without Aeron");
    }
}

TP_TEST(test_d89_alias_precedence_driver_name_wins)
{
    char *env[] = { "TP_CONTROL_STREAM_ID=4242", "DRIVER_CONTROL_STREAM_ID=5151",
                    "AERON_DIR=/tmp/alias", "DRIVER_AERON_DIR=", /* set, empty: still wins */
                    "TP_CONTROL_CHANNEL=aeron:ipc?alias",
                    "DRIVER_CONTROL_CHANNEL=aeron:ipc?canonical", NULL };
    char *bad_alias[] = { "TP_CONTROL_STREAM_ID=oops", "DRIVER_CONTROL_STREAM_ID=77", NULL };
    int rc = load_env(MIN, env);
    EXPECT_OK(rc);
    TP_CHECK_EQ_U(g_cfg.control_stream_id, 5151);
    TP_CHECK_STR(g_cfg.aeron_dir, "");
    TP_CHECK_STR(g_cfg.control_channel, "aeron:ipc?canonical");
    /* the alias is not even looked at when the DRIVER_* name is set */
    rc = load_env(MIN, bad_alias);
    EXPECT_OK(rc);
    TP_CHECK_EQ_U(g_cfg.control_stream_id, 77);
}

TP_TEST(test_d89_only_listed_names_and_no_allowed_base_dirs)
{
    char *env[] = { "SHM_ALLOWED_BASE_DIRS=/nowhere", "PROFILES_P_HEADER_NSLOTS=3",
                    "STREAMS_S_STREAM_ID=99", "driver_control_stream_id=5",
                    "DRIVER_CONTROL_STREAM_IDX=6", NULL };
    int rc = load_env(MIN, env);
    EXPECT_OK(rc);
    TP_CHECK_EQ_U(g_cfg.allowed_base_dir_count, 1);
    TP_CHECK_STR(g_cfg.allowed_base_dirs[0], "/dev/shm");
    TP_CHECK_EQ_U(g_cfg.profiles[0].header_nslots, 1024);
    TP_CHECK_EQ_U(g_cfg.streams[0].stream_id, 10);
    TP_CHECK_EQ_U(g_cfg.control_stream_id, 1000);
}

TP_TEST(test_d89_booleans_true_only_for_text_true)
{
    char *e1[] = { "SHM_REQUIRE_HUGEPAGES=TRUE", "POLICIES_PREFAULT_SHM=1", NULL };
    char *e2[] = { "POLICIES_EPOCH_GC_ENABLED=yes", NULL };
    char *e3[] = { "POLICIES_EPOCH_GC_ENABLED=FALSE", NULL };
    int rc = load_env(MIN, e1);
    EXPECT_WARN(rc, "POLICIES_PREFAULT_SHM = '1'", "read as false", "D-89");
    TP_CHECK(g_cfg.require_hugepages);
    TP_CHECK(!g_cfg.prefault_shm);
    rc = load_env(MIN, e2);
    EXPECT_WARN(rc, "POLICIES_EPOCH_GC_ENABLED = 'yes'");
    TP_CHECK(!g_cfg.epoch_gc_enabled);
    rc = load_env(MIN, e3);
    EXPECT_OK(rc);
    TP_CHECK_EQ_U(g_rep.warning_count, 0);
    TP_CHECK(!g_cfg.epoch_gc_enabled);
}

TP_TEST(test_d89_invalid_numbers_name_the_variable)
{
    char *e1[] = { "DRIVER_CONTROL_STREAM_ID=12x", NULL };
    char *e2[] = { "POLICIES_ANNOUNCE_PERIOD_MS=-5", NULL };
    char *e3[] = { "DRIVER_QOS_STREAM_ID=4294967296", NULL };
    char *e4[] = { "TP_CONTROL_STREAM_ID=0x10", NULL };
    char *e5[] = { "POLICIES_EPOCH_GC_KEEP=", NULL };
    char *e6[] = { "POLICIES_EPOCH_GC_MIN_AGE_NS=99999999999999999999", NULL };
    char *e7[] = { "DRIVER_QOS_STREAM_ID=4294967295", NULL };
    EXPECT_ERR(load_env(MIN, e1), "DRIVER_CONTROL_STREAM_ID = '12x'", "driver.control_stream_id",
               "not a decimal", "D-89");
    EXPECT_ERR(load_env(MIN, e2), "POLICIES_ANNOUNCE_PERIOD_MS = '-5'", "D-89");
    EXPECT_ERR(load_env(MIN, e3), "DRIVER_QOS_STREAM_ID = '4294967296'", "uint32");
    EXPECT_ERR(load_env(MIN, e4), "TP_CONTROL_STREAM_ID = '0x10'", "D-89");
    EXPECT_ERR(load_env(MIN, e5), "POLICIES_EPOCH_GC_KEEP = ''");
    EXPECT_ERR(load_env(MIN, e6), "POLICIES_EPOCH_GC_MIN_AGE_NS");
    EXPECT_OK(load_env(MIN, e7));
    TP_CHECK_EQ_U(g_cfg.qos_stream_id, 4294967295u);
}

TP_TEST(test_d89_ranges_and_mode_from_environment)
{
    char *e1[] = { "DRIVER_STREAM_ID_RANGE=", NULL }; /* empty: unset */
    char *e2[] = { "DRIVER_STREAM_ID_RANGE=abc", NULL };
    char *e3[] = { "SHM_PERMISSIONS_MODE=0640", NULL };
    char *e4[] = { "SHM_PERMISSIONS_MODE=888", NULL };
    char *e5[] = { "DRIVER_CONTROL_STREAM_ID_RANGE=900-1100", NULL };
    const char *file = "[driver]\nstream_id_range = \"20000-20010\"\n" MIN;
    int rc = load_env(file, e1);
    EXPECT_OK(rc);
    TP_CHECK(!g_cfg.stream_id_range.set);
    EXPECT_ERR(load_env(file, e2), "DRIVER_STREAM_ID_RANGE = 'abc'", "D-88 DECISION");
    EXPECT_OK(load_env(MIN, e3));
    TP_CHECK_EQ_U(g_cfg.permissions_mode, 0640);
    EXPECT_ERR(load_env(MIN, e4), "SHM_PERMISSIONS_MODE = '888'");
    /* a range from the environment is validated like one from the file, naming its origin */
    EXPECT_ERR(load_env(MIN, e5), "driver.control_stream_id_range = 900-1100",
               "environment DRIVER_CONTROL_STREAM_ID_RANGE", "contains driver.control_stream_id",
               "D-73");
}

/* ---- profiles and pools (D-85, D-86, W-37, W-53) ------------------------------------------ */

TP_TEST(test_d86_header_nslots_power_of_two)
{
    int rc = load("[profiles.camera]\n"
                  "header_nslots = 100\n"
                  "payload_pools = [{ pool_id = 1, stride_bytes = 1024 }]\n"
                  "[streams.cam1]\nstream_id = 42\nprofile = \"camera\"\n");
    EXPECT_ERR(rc, "profiles.camera.header_nslots = 100 (line 2): must be a power of two "
                   "(DRIVER D-86)");
    TP_CHECK_STR(tp_errmsg(), g_rep.errors[0]);
    EXPECT_ERR(load("[profiles.p]\nheader_nslots = 0\n"
                    "payload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n" MIN_STREAM),
               "header_nslots = 0", "power of two");
    EXPECT_OK(load("[profiles.p]\nheader_nslots = 1\n"
                   "payload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n" MIN_STREAM));
    EXPECT_OK(load("[profiles.p]\nheader_nslots = 2147483648\n"
                   "payload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n" MIN_STREAM));
}

TP_TEST(test_w53_stride_below_64_or_not_multiple_of_64)
{
    EXPECT_ERR(load("[profiles.p]\npayload_pools = [{ pool_id = 1, stride_bytes = 32 }]\n"
                    MIN_STREAM),
               "profiles.p.payload_pools[0].stride_bytes = 32 (line 2)",
               "must be >= 64 and a multiple of 64", "W-53");
    EXPECT_ERR(load("[profiles.p]\npayload_pools = [{ pool_id = 1, stride_bytes = 100 }]\n"
                    MIN_STREAM),
               "stride_bytes = 100", "multiple of 64");
    EXPECT_ERR(load("[profiles.p]\npayload_pools = [{ pool_id = 1, stride_bytes = 0 }]\n"
                    MIN_STREAM),
               "stride_bytes = 0");
    EXPECT_ERR(load("[profiles.p]\npayload_pools = [{ pool_id = 1, stride_bytes = 65537 }]\n"
                    MIN_STREAM),
               "stride_bytes = 65537", "multiple of 64");
    /* a multiple of 64 whose next power of two does not fit uint32 */
    EXPECT_ERR(load("[profiles.p]\npayload_pools = [{ pool_id = 1, stride_bytes = 4294967232 }]\n"
                    MIN_STREAM),
               "stride_bytes = 4294967232", "exceeds uint32", "W-53");
}

TP_TEST(test_w53_decision_non_power_of_two_stride_warns_and_rounds_up)
{
    int rc = load("[profiles.p]\npayload_pools = [{ pool_id = 1, stride_bytes = 655360 },\n"
                  "  { pool_id = 2, stride_bytes = 192 }, { pool_id = 3, stride_bytes = 64 },\n"
                  "  { pool_id = 4, stride_bytes = 2147483648 }]\n" MIN_STREAM);
    EXPECT_WARN(rc, "profiles.p.payload_pools[0].stride_bytes = 655360 (line 2)", "W-53",
                "1048576");
    EXPECT_WARN(rc, "profiles.p.payload_pools[1].stride_bytes = 192", "256");
    TP_CHECK_EQ_U(g_rep.warning_count, 2);
    TP_CHECK_EQ_U(g_cfg.profiles[0].pools[0].stride_bytes, 655360);
    TP_CHECK_EQ_U(g_cfg.profiles[0].pools[0].stride_effective, 1048576);
    TP_CHECK_EQ_U(g_cfg.profiles[0].pools[1].stride_effective, 256);
    TP_CHECK_EQ_U(g_cfg.profiles[0].pools[2].stride_effective, 64);
    TP_CHECK_EQ_U(g_cfg.profiles[0].pools[3].stride_effective, 2147483648u);
}

TP_TEST(test_d85_no_profiles)
{
    EXPECT_ERR(load(MIN_STREAM), "profiles: no profile defined", "D-86");
    EXPECT_ERR(load("[profiles]\n" MIN_STREAM), "profiles: no profile defined");
}

TP_TEST(test_d86_profile_without_pools)
{
    EXPECT_ERR(load("[profiles.p]\nheader_nslots = 8\n" MIN_STREAM),
               "profiles.p (line 1): no payload_pools", "D-86");
    EXPECT_ERR(load("[profiles.p]\npayload_pools = []\n" MIN_STREAM), "profiles.p",
               "no payload_pools");
}

TP_TEST(test_d85_pool_required_keys_and_duplicates)
{
    EXPECT_ERR(load("[profiles.p]\npayload_pools = [{ stride_bytes = 64 }]\n" MIN_STREAM),
               "profiles.p.payload_pools[0].pool_id (line 2): required key missing");
    EXPECT_ERR(load("[profiles.p]\npayload_pools = [{ pool_id = 3 }]\n" MIN_STREAM),
               "profiles.p.payload_pools[0].stride_bytes (line 2): required key missing");
    EXPECT_ERR(load("[profiles.p]\n[[profiles.p.payload_pools]]\npool_id = 1\nstride_bytes = 64\n"
                    "[[profiles.p.payload_pools]]\npool_id = 1\nstride_bytes = 128\n" MIN_STREAM),
               "profiles.p.payload_pools[1].pool_id = 1 (line 6): duplicate pool_id");
}

TP_TEST(test_d85_header_slot_bytes_must_be_256_and_max_dims_8)
{
    EXPECT_OK(load("[profiles.p]\nheader_slot_bytes = 256\nmax_dims = 8\n"
                   "payload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n" MIN_STREAM));
    EXPECT_ERR(load("[profiles.p]\nheader_slot_bytes = 512\n"
                    "payload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n" MIN_STREAM),
               "profiles.p.header_slot_bytes = 512 (line 2): must be 256");
    EXPECT_ERR(load("[profiles.p]\nmax_dims = 4\n"
                    "payload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n" MIN_STREAM),
               "profiles.p.max_dims = 4 (line 2): must be 8", "W-37");
    EXPECT_ERR(load("[profiles.p]\nmax_dims = 300\n"
                    "payload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n" MIN_STREAM),
               "profiles.p.max_dims = 300 (line 2): out of range for integer (uint8)");
    EXPECT_ERR(load("[profiles.p]\nheader_slot_bytes = 65536\n"
                    "payload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n" MIN_STREAM),
               "header_slot_bytes = 65536", "out of range");
}

/* ---- streams (D-85, D-86) ---------------------------------------------------------------- */

TP_TEST(test_d85_stream_unknown_profile)
{
    EXPECT_ERR(load(MIN_PROFILE "[streams.s]\nstream_id = 10\nprofile = \"nope\"\n"),
               "streams.s.profile = \"nope\" (line 5): no such profile");
}

TP_TEST(test_d85_stream_required_keys)
{
    int rc = load(MIN_PROFILE "[streams.s]\nprofile = \"p\"\n[streams.t]\nstream_id = 5\n");
    EXPECT_ERR(rc, "streams.s.stream_id (line 3): required key missing");
    EXPECT_ERR(rc, "streams.t.profile (line 5): required key missing");
    TP_CHECK(!find(true, "no such profile"));
}

TP_TEST(test_d85_duplicate_stream_ids)
{
    EXPECT_ERR(load(MIN "[streams.t]\nstream_id = 10\nprofile = \"p\"\n"),
               "streams.t.stream_id = 10 (line 7): duplicate stream id, also "
               "streams.s.stream_id (line 4)");
}

TP_TEST(test_d86_streams_empty_requires_dynamic)
{
    EXPECT_ERR(load(MIN_PROFILE), "streams: none configured", "allow_dynamic_streams = false",
               "D-86");
    EXPECT_ERR(load(MIN_PROFILE "[streams]\n"), "streams: none configured");
    EXPECT_WARN(load("[policies]\nallow_dynamic_streams = true\n" MIN_PROFILE),
                "driver.stream_id_range is unset", "D-70");
    EXPECT_OK(load("[policies]\nallow_dynamic_streams = true\n"
                   "[driver]\nstream_id_range = \"20000-29999\"\n" MIN_PROFILE));
    TP_CHECK_EQ_U(g_rep.warning_count, 0);
    TP_CHECK_EQ_U(g_cfg.stream_count, 0);
}

TP_TEST(test_d87_default_profile_must_exist)
{
    EXPECT_ERR(load("[policies]\ndefault_profile = \"ghost\"\n" MIN),
               "policies.default_profile = \"ghost\" (line 2): no such profile");
}

/* ---- ranges (D-73, D-74, D-86, D-88) ----------------------------------------------------- */

TP_TEST(test_d88_range_forms)
{
    int rc = load("[driver]\nstream_id_range = \" 20000 - 20010 \"\n"
                  "descriptor_stream_id_range = \"31000,31000\"\n"
                  "control_stream_id_range = [32000, 32999]\n" MIN);
    EXPECT_OK(rc);
    TP_CHECK(g_cfg.stream_id_range.set && g_cfg.stream_id_range.start == 20000 &&
             g_cfg.stream_id_range.end == 20010);
    TP_CHECK(g_cfg.descriptor_stream_id_range.start == 31000 &&
             g_cfg.descriptor_stream_id_range.end == 31000);
    TP_CHECK(g_cfg.control_stream_id_range.start == 32000);
    rc = load("[driver]\nstream_id_range = \"\"\n" MIN);
    EXPECT_OK(rc);
    TP_CHECK(!g_cfg.stream_id_range.set);
}

TP_TEST(test_d88_decision_range_syntax_errors)
{
    EXPECT_ERR(load("[driver]\nstream_id_range = \"20000\"\n" MIN),
               "driver.stream_id_range = \"20000\" (line 2)", "D-88 DECISION");
    EXPECT_ERR(load("[driver]\nstream_id_range = \"abc\"\n" MIN), "\"abc\"", "D-88 DECISION");
    EXPECT_ERR(load("[driver]\nstream_id_range = \"1-x\"\n" MIN), "\"1-x\"", "D-88");
    EXPECT_ERR(load("[driver]\nstream_id_range = \"-5\"\n" MIN), "\"-5\"", "D-88");
    EXPECT_ERR(load("[driver]\nstream_id_range = \"1-2-3\"\n" MIN), "\"1-2-3\"", "D-88");
    EXPECT_ERR(load("[driver]\nstream_id_range = \"1-4294967296\"\n" MIN), "D-88");
    EXPECT_ERR(load("[driver]\nstream_id_range = [1]\n" MIN), "driver.stream_id_range (line 2)",
               "exactly two elements");
    EXPECT_ERR(load("[driver]\nstream_id_range = [1, 2, 3]\n" MIN), "exactly two elements");
    EXPECT_ERR(load("[driver]\nstream_id_range = [1, \"2\"]\n" MIN),
               "driver.stream_id_range[1] (line 2): expected integer");
    EXPECT_ERR(load("[driver]\nstream_id_range = [1, -2]\n" MIN),
               "driver.stream_id_range[1] = -2", "out of range");
    EXPECT_ERR(load("[driver]\nstream_id_range = 5\n" MIN),
               "driver.stream_id_range (line 2): expected string \"start-end\" or array");
}

TP_TEST(test_d74_start_after_end)
{
    EXPECT_ERR(load("[driver]\ndescriptor_stream_id_range = \"31999-31000\"\n" MIN),
               "driver.descriptor_stream_id_range = 31999-31000 (line 2): start must be <= end",
               "D-74");
    EXPECT_ERR(load("[driver]\ncontrol_stream_id_range = [5, 4]\n" MIN), "start must be <= end");
}

TP_TEST(test_d73_ranges_overlap_each_other)
{
    EXPECT_ERR(load("[driver]\nstream_id_range = \"20000-30000\"\n"
                    "descriptor_stream_id_range = \"30000-31000\"\n" MIN),
               "driver.stream_id_range = 20000-30000 (line 2): overlaps "
               "driver.descriptor_stream_id_range = 30000-31000 (line 3)", "D-73");
    EXPECT_ERR(load("[driver]\ncontrol_stream_id_range = \"32000-32999\"\n"
                    "stream_id_range = \"32500-40000\"\n" MIN),
               "overlaps driver.control_stream_id_range");
    EXPECT_OK(load("[driver]\nstream_id_range = \"20000-29999\"\n"
                   "descriptor_stream_id_range = \"30000-30999\"\n"
                   "control_stream_id_range = \"31000-31999\"\n" MIN));
}

TP_TEST(test_d86_decision_identical_ranges_rejected)
{
    EXPECT_ERR(load("[driver]\ndescriptor_stream_id_range = \"31000-31999\"\n"
                    "control_stream_id_range = \"31000-31999\"\n" MIN),
               "driver.descriptor_stream_id_range = 31000-31999", "overlaps",
               "driver.control_stream_id_range = 31000-31999", "D-86 DECISION");
}

TP_TEST(test_d73_ranges_exclude_fixed_and_stream_ids)
{
    EXPECT_ERR(load("[driver]\nstream_id_range = \"900-1000\"\n" MIN),
               "driver.stream_id_range = 900-1000 (line 2): contains driver.control_stream_id "
               "= 1000", "D-73");
    EXPECT_ERR(load("[driver]\nannounce_stream_id = 1001\n"
                    "descriptor_stream_id_range = \"1001-1001\"\n" MIN),
               "contains driver.announce_stream_id = 1001 (line 2)");
    EXPECT_ERR(load("[driver]\ncontrol_stream_id_range = [1200, 1300]\n" MIN),
               "contains driver.qos_stream_id = 1200");
    EXPECT_ERR(load("[driver]\nstream_id_range = \"5-15\"\n" MIN),
               "driver.stream_id_range = 5-15 (line 2): contains streams.s.stream_id = 10 "
               "(line 6)");
}

/* ---- shm (D-85, D-86, D-94) --------------------------------------------------------------- */

TP_TEST(test_d85_permissions_mode)
{
    EXPECT_OK(load("[shm]\npermissions_mode = \"0660\"\n" MIN));
    TP_CHECK_EQ_U(g_cfg.permissions_mode, 0660);
    EXPECT_OK(load("[shm]\npermissions_mode = \"600\"\n" MIN));
    TP_CHECK_EQ_U(g_cfg.permissions_mode, 0600);
    EXPECT_OK(load("[shm]\npermissions_mode = \"0\"\n" MIN));
    TP_CHECK_EQ_U(g_cfg.permissions_mode, 0);
    EXPECT_ERR(load("[shm]\npermissions_mode = \"999\"\n" MIN),
               "shm.permissions_mode = \"999\" (line 2): must be an octal mode string");
    EXPECT_ERR(load("[shm]\npermissions_mode = \"7777\"\n" MIN), "\"7777\"");
    EXPECT_ERR(load("[shm]\npermissions_mode = \"\"\n" MIN), "shm.permissions_mode = \"\"");
    EXPECT_ERR(load("[shm]\npermissions_mode = \"rw-\"\n" MIN), "\"rw-\"");
    EXPECT_ERR(load("[shm]\npermissions_mode = 660\n" MIN),
               "shm.permissions_mode (line 2): expected string, got integer");
}

TP_TEST(test_d85_page_size_bytes)
{
    EXPECT_OK(load("[shm]\npage_size_bytes = 2097152\n" MIN));
    EXPECT_ERR(load("[shm]\npage_size_bytes = 1000\n" MIN),
               "shm.page_size_bytes = 1000 (line 2): must be a power of two >= 4096");
    EXPECT_ERR(load("[shm]\npage_size_bytes = 2048\n" MIN), "page_size_bytes = 2048");
    EXPECT_ERR(load("[shm]\npage_size_bytes = 12288\n" MIN), "page_size_bytes = 12288");
}

TP_TEST(test_d86_base_dir_absolute_and_allowed_dirs_made_absolute)
{
    char cwd[1024], want[1200];
    TP_ASSERT(getcwd(cwd, sizeof cwd) != NULL);
    EXPECT_ERR(load("[shm]\nbase_dir = \"dev/shm\"\n" MIN),
               "shm.base_dir = \"dev/shm\" (line 2): must be an absolute path");
    EXPECT_ERR(load("[shm]\nbase_dir = \"/dev/s m\"\n" MIN), "shm.base_dir", "W-168");
    EXPECT_ERR(load("[shm]\nbase_dir = \"/dev/s?m\"\n" MIN), "shm.base_dir", "W-168");
    EXPECT_OK(load("[shm]\nbase_dir = \"/tmp/x\"\n"
                   "allowed_base_dirs = [\"rel/dir\", \"/a//b/../c/./\", \"/tmp\"]\n" MIN));
    TP_ASSERT(g_cfg.allowed_base_dir_count == 3);
    snprintf(want, sizeof want, "%s/rel/dir", strcmp(cwd, "/") ? cwd : "");
    TP_CHECK_STR(g_cfg.allowed_base_dirs[0], want);
    TP_CHECK_STR(g_cfg.allowed_base_dirs[1], "/a/c");
    TP_CHECK_STR(g_cfg.allowed_base_dirs[2], "/tmp");
    TP_CHECK_EQ_U(g_rep.warning_count, 0);
    /* a base_dir outside every allowed dir: accepted, GC will not touch it */
    EXPECT_WARN(load("[shm]\nbase_dir = \"/tmp/x\"\nallowed_base_dirs = [\"/dev/shm\"]\n" MIN),
                "not under any shm.allowed_base_dirs");
    EXPECT_ERR(load("[shm]\nallowed_base_dirs = [\"\"]\n" MIN), "shm.allowed_base_dirs[0] = \"\"");
    EXPECT_ERR(load("[shm]\nallowed_base_dirs = \"/dev/shm\"\n" MIN),
               "shm.allowed_base_dirs (line 2): expected array of strings");
    EXPECT_ERR(load("[shm]\nallowed_base_dirs = [\"/a\",\"/b\",\"/c\",\"/d\",\"/e\",\"/f\",\"/g\","
                    "\"/h\",\"/i\"]\n" MIN), "shm.allowed_base_dirs (line 2): 9 entries");
}

TP_TEST(test_w173_namespace_one_safe_component)
{
    EXPECT_ERR(load("[shm]\nnamespace = \"a/b\"\n" MIN), "shm.namespace = \"a/b\" (line 2)");
    EXPECT_ERR(load("[shm]\nnamespace = \"..\"\n" MIN), "shm.namespace = \"..\"");
    EXPECT_ERR(load("[shm]\nnamespace = \"\"\n" MIN), "shm.namespace = \"\"");
    EXPECT_OK(load("[shm]\nnamespace = \"cam-01.test_x\"\n" MIN));
}

TP_TEST(test_d94_decision_longest_region_uri_fits_4096)
{
    /* base 1023 bytes + namespace 255: the rest is the user name, from the environment.
     * URI = 14 + 1023 + 1 + 11 + L + 1 + 255 + 1 + 10 + 1 + 20 + 1 + 11 + 23 = 1372 + L */
    static char text[4096], user_ok[3000], user_long[4100];
    char base[1024], ns[256];
    char *env_ok[] = { user_ok, NULL }, *env_long[] = { user_long, NULL };
    memset(base, 'b', sizeof base - 1);
    base[0] = '/';
    base[sizeof base - 1] = '\0';
    memset(ns, 'n', sizeof ns - 1);
    ns[sizeof ns - 1] = '\0';
    snprintf(text, sizeof text, "[shm]\nbase_dir = \"%s\"\nnamespace = \"%s\"\n" MIN, base, ns);
    snprintf(user_ok, sizeof user_ok, "USER=%.*s", 2724, "");
    memset(user_ok + 5, 'u', 2724);
    user_ok[5 + 2724] = '\0';
    memcpy(user_long, user_ok, 5 + 2724);
    user_long[5 + 2724] = 'u';
    user_long[5 + 2725] = '\0';
    EXPECT_ERR(load_env(text, env_ok), "USER (environment) is 2724 bytes", "W-174");
    TP_CHECK(!find(true, "D-94"));
    EXPECT_ERR(load_env(text, env_long), "the longest region URI the driver can build is 4097 "
               "bytes, limit 4096 (DRIVER D-94 DECISION)", "shm.base_dir", "(line 2)");
    /* the longest legal base + namespace with a normal user name fits */
    {
        char *env_u[] = { "USER=alice", NULL };
        EXPECT_OK(load_env(text, env_u));
    }
    /* defaults everywhere: only a user name of ~4000 bytes gets there */
    memset(user_long + 5, 'u', 4000);
    user_long[5 + 4000] = '\0';
    EXPECT_ERR(load_env(MIN, env_long), "shm.base_dir = \"/dev/shm\" with shm.namespace = "
               "\"default\": the longest region URI the driver can build is 4109 bytes",
               "D-94 DECISION");
}

TP_TEST(test_d85_string_limits)
{
    static char text[2048];
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    snprintf(text, sizeof text, "[driver]\ninstance_id = \"%s\"\n" MIN, big);
    EXPECT_ERR(load(text), "driver.instance_id (line 2): string is 299 bytes, limit 255");
    EXPECT_ERR(load("[driver]\ninstance_id = \"a\\u0000b\"\n" MIN), "NUL");
    EXPECT_ERR(load("[driver]\ncontrol_channel = \"\"\n" MIN),
               "driver.control_channel = \"\" (line 2): must not be empty");
    EXPECT_ERR(load("[driver]\nqos_channel = \"\"\n" MIN), "driver.qos_channel");
}

TP_TEST(test_d85_policy_values)
{
    EXPECT_ERR(load("[policies]\nannounce_period_ms = 0\n" MIN),
               "policies.announce_period_ms = 0 (line 2): must be > 0");
    EXPECT_ERR(load("[policies]\nlease_keepalive_interval_ms = 0\n" MIN),
               "policies.lease_keepalive_interval_ms = 0 (line 2)");
    EXPECT_ERR(load("[policies]\nepoch_gc_keep = 0\n" MIN),
               "policies.epoch_gc_keep = 0 (line 2)", "D-92");
    EXPECT_OK(load("[policies]\nepoch_gc_keep = 0\nepoch_gc_enabled = false\n" MIN));
}

/* ---- types and unknown keys --------------------------------------------------------------- */

TP_TEST(test_d85_wrong_types_name_key_line_and_type)
{
    EXPECT_ERR(load("[driver]\ncontrol_stream_id = \"1000\"\n" MIN),
               "driver.control_stream_id (line 2): expected integer (uint32), got string");
    EXPECT_ERR(load("[shm]\nrequire_hugepages = \"false\"\n" MIN),
               "shm.require_hugepages (line 2): expected bool, got string");
    EXPECT_ERR(load("[driver]\ninstance_id = 5\n" MIN),
               "driver.instance_id (line 2): expected string, got integer");
    EXPECT_ERR(load("[policies]\nannounce_period_ms = 1000.0\n" MIN),
               "policies.announce_period_ms (line 2): expected integer (uint32), got float");
    EXPECT_ERR(load("[profiles.p]\nheader_nslots = 64.0\n"
                    "payload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n" MIN_STREAM),
               "profiles.p.header_nslots (line 2): expected integer (uint32), got float");
    TP_CHECK(!find(true, "power of two"));
    EXPECT_ERR(load("driver = 5\n" MIN), "driver (line 1): expected table, got integer");
    EXPECT_ERR(load("profiles = 5\n" MIN_STREAM), "profiles (line 1): expected table");
    EXPECT_ERR(load("[profiles]\ncamera = 3\n" MIN_STREAM), "profiles.camera (line 2): expected "
               "table, got integer");
    EXPECT_ERR(load("[profiles.p]\npayload_pools = 5\n" MIN_STREAM),
               "profiles.p.payload_pools (line 2): expected array of tables, got integer");
    EXPECT_ERR(load("[profiles.p]\npayload_pools = [1]\n" MIN_STREAM),
               "profiles.p.payload_pools[0] (line 2): expected table");
    EXPECT_ERR(load(MIN_PROFILE "[streams]\ns = 42\n"), "streams.s (line 4): expected table");
    EXPECT_ERR(load(MIN_PROFILE "[streams.s]\nstream_id = \"10\"\nprofile = \"p\"\n"),
               "streams.s.stream_id (line 4): expected integer (uint32), got string");
    EXPECT_ERR(load(MIN_PROFILE "[streams.s]\nstream_id = 10\nprofile = 1\n"),
               "streams.s.profile (line 5): expected string, got integer");
    EXPECT_ERR(load("[policies]\nmlock_shm = 1979-05-27\n" MIN), "policies.mlock_shm (line 2)",
               "got date-local");
}

TP_TEST(test_d85_integers_out_of_range)
{
    EXPECT_ERR(load("[driver]\ncontrol_stream_id = 4294967296\n" MIN),
               "driver.control_stream_id = 4294967296 (line 2): out of range for integer "
               "(uint32)");
    EXPECT_ERR(load("[driver]\nqos_stream_id = -1\n" MIN), "driver.qos_stream_id = -1");
    EXPECT_ERR(load("[profiles.p]\npayload_pools = [{ pool_id = 70000, stride_bytes = 64 }]\n"
                    MIN_STREAM),
               "profiles.p.payload_pools[0].pool_id = 70000 (line 2): out of range for integer "
               "(uint16)");
    EXPECT_ERR(load("[policies]\nepoch_gc_min_age_ns = -1\n" MIN),
               "policies.epoch_gc_min_age_ns = -1 (line 2): out of range");
    EXPECT_ERR(load(MIN_PROFILE "[streams.s]\nstream_id = 99999999999\nprofile = \"p\"\n"),
               "streams.s.stream_id = 99999999999");
    EXPECT_OK(load("[driver]\ncontrol_stream_id = 4294967295\n" MIN));
    EXPECT_OK(load("[policies]\nepoch_gc_min_age_ns = 9223372036854775807\n" MIN));
}

TP_TEST(test_d84_unknown_keys_warn_with_line)
{
    int rc = load("top = 1\n"                                                   /* 1 */
                  "[driver]\nbogus = 2\n"                                       /* 2, 3 */
                  "[shm]\nhugepages = true\n"                                   /* 4, 5 */
                  "[policies]\nfoo = \"x\"\n"                                   /* 6, 7 */
                  "[profiles.p]\nweird = 1\n"                                   /* 8, 9 */
                  "payload_pools = [{ pool_id = 1, stride_bytes = 64, x = 1 }]\n" /* 10 */
                  "[streams.s]\nstream_id = 10\nprofile = \"p\"\ncolour = \"red\"\n" /* 11-14 */
                  "[extra.section]\nk = 1\n");                                  /* 15 */
    EXPECT_OK(rc);
    EXPECT_WARN(rc, "unknown key 'top' at line 1");
    EXPECT_WARN(rc, "unknown key 'driver.bogus' at line 3");
    EXPECT_WARN(rc, "unknown key 'shm.hugepages' at line 5");
    EXPECT_WARN(rc, "unknown key 'policies.foo' at line 7");
    EXPECT_WARN(rc, "unknown key 'profiles.p.weird' at line 9");
    EXPECT_WARN(rc, "unknown key 'profiles.p.payload_pools[0].x' at line 10");
    EXPECT_WARN(rc, "unknown key 'streams.s.colour' at line 14");
    EXPECT_WARN(rc, "unknown key 'extra' at line 15");
    TP_CHECK_EQ_U(g_rep.warning_count, 8);
}

TP_TEST(test_d84_toml_syntax_error_and_missing_file)
{
    int rc = load("[driver]\ncontrol_stream_id = = 3\n" MIN);
    EXPECT_ERR(rc, "line 2");
    TP_CHECK_EQ_I(tp_errcode(), TP_ECONFIG);
    rc = tp_driver_config_load(&g_cfg, "/nonexistent/dir/x.toml", ENV0, &g_rep);
    EXPECT_ERR(rc, "/nonexistent/dir/x.toml");
    TP_CHECK_EQ_I(tp_errcode(), TP_ECONFIG);
}

TP_TEST(test_d84_null_report_first_error_in_errmsg)
{
    const char *p = write_toml("[profiles.p]\nheader_nslots = 3\n"
                               "payload_pools = [{ pool_id = 1, stride_bytes = 64 }]\n"
                               "[streams.s]\nstream_id = 10\nprofile = \"q\"\n");
    TP_ASSERT(p != NULL);
    TP_CHECK_EQ_I(tp_driver_config_load(&g_cfg, p, ENV0, NULL), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_ECONFIG);
    TP_CHECK(strstr(tp_errmsg(), "profiles.p.header_nslots = 3 (line 2)") != NULL);
    TP_CHECK(strstr(tp_errmsg(), "(and 1 more)") != NULL);
}

TP_TEST(test_d84_report_capped_at_max_issues)
{
    static char text[64 * 1024];
    size_t n = (size_t)snprintf(text, sizeof text, MIN_PROFILE);
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "[streams.s%d]\nstream_id = %d\nprofile = \"none\"\n", i, 100 + i);
    EXPECT_ERR(load(text), "streams.s0.profile = \"none\"");
    TP_CHECK_EQ_U(g_rep.error_count, TP_CFG_MAX_ISSUES);
    TP_CHECK(strstr(g_rep.errors[TP_CFG_MAX_ISSUES - 1], "omitted") != NULL);
}

TP_TEST(test_d86_validate_config_built_in_code)
{
    tp_driver_config_t *c = &g_cfg;
    tp_driver_config_init(c);
    TP_CHECK_EQ_I(tp_driver_config_validate(c, &g_rep), -1);
    TP_CHECK(find(true, "no profile defined"));
    snprintf(c->profiles[0].name, sizeof c->profiles[0].name, "cam");
    c->profiles[0].header_nslots = 8;
    c->profiles[0].pools[0].pool_id = 1;
    c->profiles[0].pools[0].stride_bytes = 640;
    c->profiles[0].pool_count = 1;
    c->profile_count = 1;
    snprintf(c->streams[0].name, sizeof c->streams[0].name, "s");
    snprintf(c->streams[0].profile, sizeof c->streams[0].profile, "cam");
    c->streams[0].stream_id = 7;
    c->stream_count = 1;
    TP_CHECK_EQ_I(tp_driver_config_validate(c, &g_rep), 0);
    TP_CHECK_EQ_U(g_rep.warning_count, 1); /* 640 -> 1024 */
    TP_CHECK_EQ_U(c->profiles[0].pools[0].stride_effective, 1024);
    TP_CHECK_EQ_U(c->profiles[0].header_slot_bytes, 256);
    TP_CHECK_EQ_U(c->profiles[0].max_dims, 8);
    TP_CHECK_STR(c->default_profile, "cam");
    TP_CHECK_EQ_U(c->epoch_gc_min_age_ns, 3000000000ull);
    TP_CHECK(tp_driver_config_stream(c, 7) == &c->streams[0]);
    c->profiles[0].header_nslots = 6;
    TP_CHECK_EQ_I(tp_driver_config_validate(c, NULL), -1);
    TP_CHECK(strstr(tp_errmsg(), "profiles.cam.header_nslots = 6: must be a power of two") !=
             NULL);
}

/* ---- examples and the seed (D-90) ---------------------------------------------------------- */

static void load_path(const char *path)
{
    int rc = tp_driver_config_load(&g_cfg, path, ENV0, &g_rep);
    EXPECT_OK(rc);
}

TP_TEST(test_d90_spec_examples_load)
{
    static const char *names[] = { "driver_camera_example.toml",
                                   "driver_integration_example.toml",
                                   "driver_interop_example.toml" };
    const char *shared = tp_test_shared_dir();
    char path[2048];
    if (shared == NULL) TP_SKIP("../shared is absent: the spec examples are not available");
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/spec/examples/%s", shared, names[i]);
        load_path(path);
        for (uint32_t w = 0; w < g_rep.warning_count; w++)
            TP_CHECK(strstr(g_rep.warnings[w], "unknown key") == NULL);
    }
    /* the camera example: dynamic streams on, no range -> the D-70 warning only */
    snprintf(path, sizeof path, "%s/spec/examples/driver_camera_example.toml", shared);
    load_path(path);
    TP_CHECK_EQ_U(g_cfg.profile_count, 2);
    TP_CHECK_EQ_U(g_cfg.stream_count, 6);
    TP_CHECK_STR(g_cfg.default_profile, "raw_profile");
    TP_CHECK_EQ_U(g_cfg.profiles[1].header_nslots, 512);
    TP_CHECK_EQ_U(g_rep.warning_count, 1);
    TP_CHECK(find(false, "D-70"));
    snprintf(path, sizeof path, "%s/spec/examples/driver_integration_example.toml", shared);
    load_path(path);
    TP_CHECK_EQ_U(g_rep.warning_count, 0);
    TP_CHECK(g_cfg.descriptor_stream_id_range.set &&
             g_cfg.descriptor_stream_id_range.start == 31000 &&
             g_cfg.descriptor_stream_id_range.end == 31999);
    TP_CHECK(g_cfg.control_stream_id_range.start == 32000 &&
             g_cfg.control_stream_id_range.end == 32999);
    snprintf(path, sizeof path, "%s/spec/examples/driver_interop_example.toml", shared);
    load_path(path);
    TP_CHECK_EQ_U(g_rep.warning_count, 0);
    TP_CHECK_EQ_U(g_cfg.profiles[0].header_nslots, 8);
    TP_CHECK_EQ_U(g_cfg.profiles[0].pools[0].stride_effective, 65536);
    TP_CHECK_EQ_U(g_cfg.epoch_gc_min_age_ns, 3000000000ull);
    TP_CHECK_EQ_U(g_cfg.streams[0].stream_id, 10000);
}

#define SEED_CONFIG TP_SOURCE_DIR "/docs/examples/driver_integration_example.toml"

/* The seed's integration config, accepted as written (issue 4): aeron_dir, page_size_bytes,
 * header_slot_bytes, max_dims and the 640 KiB stride (W-53 DECISION: warning, effective 1 MiB). */
TP_TEST(test_d90_seed_integration_config_accepted_as_written)
{
    load_path(SEED_CONFIG);
    TP_CHECK_EQ_U(g_rep.warning_count, 1);
    TP_CHECK(find(false, "profiles.camera.payload_pools[0].stride_bytes = 655360 (line 29)"));
    TP_CHECK(find(false, "W-53"));
    TP_CHECK_STR(g_cfg.instance_id, "driver-example");
    TP_CHECK_STR(g_cfg.control_channel, "aeron:ipc");
    TP_CHECK_EQ_U(g_cfg.control_stream_id, 15000);
    TP_CHECK_EQ_U(g_cfg.announce_stream_id, 15001);
    TP_CHECK_EQ_U(g_cfg.qos_stream_id, 15002);
    TP_CHECK_STR(g_cfg.namespace_, "default");
    TP_ASSERT(g_cfg.profile_count == 1 && g_cfg.stream_count == 1);
    TP_CHECK_EQ_U(g_cfg.profiles[0].header_nslots, 64);
    TP_CHECK_EQ_U(g_cfg.profiles[0].pools[0].stride_bytes, 655360);
    TP_CHECK_EQ_U(g_cfg.profiles[0].pools[0].stride_effective, 1048576);
    TP_CHECK_STR(g_cfg.streams[0].name, "cam1");
    TP_CHECK_EQ_U(g_cfg.streams[0].stream_id, 42);
}

/* docs/examples/driver_integration_example.toml is the seed's block, byte for byte. */
TP_TEST(test_d90_seed_config_copied_exactly)
{
    const char *shared = tp_test_shared_dir();
    char path[2048], line[1024];
    static char want[16384], got[16384];
    size_t wn = 0, gn = 0;
    int in = 0;
    FILE *f;
    if (shared == NULL) TP_SKIP("../shared is absent: the seed document is not available");
    snprintf(path, sizeof path, "%s/seed/integration_example.md", shared);
    TP_ASSERT((f = fopen(path, "r")) != NULL);
    while (fgets(line, sizeof line, f) != NULL) {
        if (!in && !strcmp(line, "```toml\n")) { in = 1; continue; }
        if (in && !strcmp(line, "```\n")) break;
        if (in) wn += (size_t)snprintf(want + wn, sizeof want - wn, "%s", line);
    }
    fclose(f);
    TP_ASSERT(wn > 0);
    TP_ASSERT((f = fopen(SEED_CONFIG, "r")) != NULL);
    gn = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    got[gn] = '\0';
    TP_CHECK_STR(got, want);
}

TP_TEST(test_d85_dump_of_seed_config)
{
    static char buf[65536];
    static const char *want[] = {
        "driver.instance_id=driver-example\n",
        "driver.aeron_dir=\n",
        "driver.control_channel=aeron:ipc\n",
        "driver.control_stream_id=15000\n",
        "driver.announce_stream_id=15001\n",
        "driver.qos_stream_id=15002\n",
        "driver.stream_id_range=\n",
        "driver.descriptor_stream_id_range=\n",
        "shm.base_dir=/dev/shm\n",
        "shm.namespace=default\n",
        "shm.require_hugepages=false\n",
        "shm.page_size_bytes=4096\n",
        "shm.permissions_mode=660\n",
        "shm.allowed_base_dirs[0]=/dev/shm\n",
        "policies.allow_dynamic_streams=false\n",
        "policies.default_profile=camera\n",
        "policies.prefault_shm=true\n",
        "policies.epoch_gc_min_age_ns=3000000000\n",
        "profiles.camera.header_nslots=64\n",
        "profiles.camera.header_slot_bytes=256\n",
        "profiles.camera.max_dims=8\n",
        "profiles.camera.payload_pools[0].pool_id=1\n",
        "profiles.camera.payload_pools[0].stride_bytes=655360\n",
        "profiles.camera.payload_pools[0].stride_effective=1048576\n",
        "streams.cam1.stream_id=42\n",
        "streams.cam1.profile=camera\n",
    };
    char *env[] = { "DRIVER_DESCRIPTOR_STREAM_ID_RANGE=31000-31999", NULL };
    FILE *f;
    size_t n, lines = 0;
    load_path(SEED_CONFIG);
    f = fmemopen(buf, sizeof buf, "w");
    TP_ASSERT(f != NULL);
    tp_driver_config_dump(&g_cfg, f);
    fclose(f);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(buf, want[i]) == NULL) tp_test_fail(__FILE__, __LINE__, "missing %s", want[i]);
    TP_CHECK(strncmp(buf, "driver.instance_id=", 19) == 0); /* driver.* first */
    TP_CHECK(strstr(buf, "policies.") < strstr(buf, "profiles.camera."));
    TP_CHECK(strstr(buf, "profiles.camera.") < strstr(buf, "streams.cam1."));
    for (n = 0; buf[n]; n++)
        if (buf[n] == '\n') lines++;
    /* 33 scalars (issue 7: + driver.transport, driver.launch_media_driver) + 1 allowed dir
     * + 3 + 3 pool lines + 2 stream lines */
    TP_CHECK_EQ_U(lines, 42);
    /* after an environment override the dump shows the effective value */
    TP_ASSERT(tp_driver_config_load(&g_cfg, SEED_CONFIG, env, &g_rep) == 0);
    f = fmemopen(buf, sizeof buf, "w");
    TP_ASSERT(f != NULL);
    tp_driver_config_dump(&g_cfg, f);
    fclose(f);
    TP_CHECK(strstr(buf, "driver.descriptor_stream_id_range=31000-31999\n") != NULL);
}

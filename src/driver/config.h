/*
 * Driver configuration (DRIVER §18, D-84 .. D-90): every key with its default, loaded from
 * TOML, overridden from the environment, validated, and printable as key=value lines.
 *
 * Ownership: a tp_driver_config_t is a plain value (fixed-size arrays, no pointers): copy it
 * freely. Loading allocates only temporarily (the TOML tree) and frees it before returning.
 * Threading: no shared state; not for hot paths.
 */
#ifndef TP_DRIVER_CONFIG_H
#define TP_DRIVER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define TP_CFG_STR_MAX 256u
#define TP_CFG_PATH_MAX 1024u
#define TP_CFG_MAX_PROFILES 32u
#define TP_CFG_MAX_POOLS 16u
#define TP_CFG_MAX_STREAMS 256u
#define TP_CFG_MAX_ALLOWED_DIRS 8u
#define TP_CFG_MAX_ISSUES 64u

/* An inclusive stream-id range ("a-b", "a,b" or [a, b]; D-88). set = false: unset. */
typedef struct tp_cfg_range {
    bool set;
    uint32_t start;
    uint32_t end;
} tp_cfg_range_t;

typedef struct tp_cfg_pool {
    uint16_t pool_id;
    uint32_t stride_bytes;       /* as written in the file */
    uint32_t stride_effective;   /* what the driver provisions and announces (W-53) */
} tp_cfg_pool_t;

typedef struct tp_cfg_profile {
    char name[TP_CFG_STR_MAX];
    uint32_t header_nslots;      /* power of two; default 1024 */
    uint16_t header_slot_bytes;  /* must be 256 (reference-only key) */
    uint8_t max_dims;            /* must be 8 when given (W-37) */
    tp_cfg_pool_t pools[TP_CFG_MAX_POOLS];
    uint32_t pool_count;
} tp_cfg_profile_t;

typedef struct tp_cfg_stream {
    char name[TP_CFG_STR_MAX];
    uint32_t stream_id;
    char profile[TP_CFG_STR_MAX];
    uint32_t profile_index;      /* index into profiles[] after validation */
} tp_cfg_stream_t;

typedef struct tp_driver_config {
    /* [driver] */
    char instance_id[TP_CFG_STR_MAX];          /* "driver-01" */
    char aeron_dir[TP_CFG_PATH_MAX];           /* "" = Aeron default */
    char transport[16];                        /* "embedded" | "aeron" (issue 7) */
    bool launch_media_driver;                  /* false: embedded Aeron media driver */
    char control_channel[TP_CFG_STR_MAX];      /* "aeron:ipc?term-length=4m" */
    uint32_t control_stream_id;                /* 1000 */
    char announce_channel[TP_CFG_STR_MAX];     /* = control_channel */
    uint32_t announce_stream_id;               /* = control_stream_id */
    char qos_channel[TP_CFG_STR_MAX];          /* "aeron:ipc?term-length=4m" */
    uint32_t qos_stream_id;                    /* 1200 */
    tp_cfg_range_t stream_id_range;            /* dynamic streams */
    tp_cfg_range_t descriptor_stream_id_range; /* per-consumer descriptor streams */
    tp_cfg_range_t control_stream_id_range;    /* per-consumer control streams */
    /* [shm] */
    char base_dir[TP_CFG_PATH_MAX];            /* "/dev/shm" */
    char namespace_[TP_CFG_STR_MAX];           /* "default" */
    bool require_hugepages;                    /* false */
    uint32_t page_size_bytes;                  /* 4096 */
    uint32_t permissions_mode;                 /* "660" -> 0660 */
    char allowed_base_dirs[TP_CFG_MAX_ALLOWED_DIRS][TP_CFG_PATH_MAX]; /* [base_dir] */
    uint32_t allowed_base_dir_count;
    /* [policies] */
    bool allow_dynamic_streams;                /* false */
    char default_profile[TP_CFG_STR_MAX];      /* first profile in file order (D-87) */
    uint32_t announce_period_ms;               /* 1000 */
    uint32_t lease_keepalive_interval_ms;      /* 1000 */
    uint32_t lease_expiry_grace_intervals;     /* 3 */
    bool prefault_shm;                         /* true */
    bool reuse_existing_shm;                   /* false */
    bool mlock_shm;                            /* false */
    bool cleanup_shm_on_exit;                  /* false */
    bool epoch_gc_enabled;                     /* true */
    uint32_t epoch_gc_keep;                    /* 2 */
    uint64_t epoch_gc_min_age_ns;              /* 0 = announce_period_ms * 3 000 000 */
    bool epoch_gc_on_startup;                  /* false */
    uint32_t shutdown_timeout_ms;              /* 2000 */
    char shutdown_token[TP_CFG_STR_MAX];       /* "" = shutdown requests ignored */
    /* [profiles.*], [streams.*] in file order */
    tp_cfg_profile_t profiles[TP_CFG_MAX_PROFILES];
    uint32_t profile_count;
    tp_cfg_stream_t streams[TP_CFG_MAX_STREAMS];
    uint32_t stream_count;
} tp_driver_config_t;

/* What loading found: errors stop the driver; warnings (unknown keys, adjusted values) do
 * not. Each entry names the key, the value and the rule, with the TOML line when known. */
typedef struct tp_cfg_report {
    char errors[TP_CFG_MAX_ISSUES][512];
    uint32_t error_count;
    char warnings[TP_CFG_MAX_ISSUES][512];
    uint32_t warning_count;
} tp_cfg_report_t;

/* Every default of D-85 (no profiles, no streams). */
void tp_driver_config_init(tp_driver_config_t *c);

/* init + parse the TOML file + apply the environment (envp: NULL-terminated "KEY=VALUE"
 * array, NULL = the process environment; D-89 names and aliases) + validate (D-86, D-73,
 * D-74, D-88 DECISION, D-94). Returns 0 when there is no error, else -1 with TP_ECONFIG
 * and every problem in *report (report may be NULL: then only the first is in tp_errmsg). */
int tp_driver_config_load(tp_driver_config_t *c, const char *path, char *const *envp,
                          tp_cfg_report_t *report);

/* Validation alone (load calls it); for configurations built in code (tests, embedding).
 * Also fills the derived values, as load does: every pool's stride_effective (W-53: the next
 * power of two of a non-power-of-two stride, with a warning), every stream's profile_index,
 * an empty default_profile (first profile, D-87), epoch_gc_min_age_ns 0 (announce_period_ms
 * x 3 000 000), and a profile's header_slot_bytes / max_dims 0 ("not given": 256 / 8). */
int tp_driver_config_validate(tp_driver_config_t *c, tp_cfg_report_t *report);

/* The effective configuration as key=value lines, one per scalar, in a stable order:
 * driver.*, shm.*, policies.*, then profiles.<name>.* (payload_pools[i].*) and
 * streams.<name>.* in file order. */
void tp_driver_config_dump(const tp_driver_config_t *c, FILE *out);

/* Lookups after validation: NULL when absent. */
const tp_cfg_profile_t *tp_driver_config_profile(const tp_driver_config_t *c, const char *name);
const tp_cfg_stream_t *tp_driver_config_stream(const tp_driver_config_t *c, uint32_t stream_id);

#endif

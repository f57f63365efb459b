/*
 * Producer configuration defaults and environment (DRIVER D-89 naming: the reference's
 * [producer] keys upper-cased), and the publish options.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/producer_internal.h"
#include "util/error.h"
#include "util/log.h"

#include "util/env.h"

#define env_u32(name, v) tp_env_u32(TP_PROD_COMPONENT, name, v)
#define env_u64(name, v, max) tp_env_u64(TP_PROD_COMPONENT, name, v, max)
#define env_str(name, dst, cap) tp_env_str(TP_PROD_COMPONENT, name, dst, cap)

/* ---- configuration ------------------------------------------------------------------------- */

void tp_producer_config_init(tp_producer_config_t *cfg)
{
    uint32_t ts;
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->control_channel, sizeof cfg->control_channel, "aeron:ipc");
    snprintf(cfg->descriptor_channel, sizeof cfg->descriptor_channel, "aeron:ipc");
    snprintf(cfg->qos_channel, sizeof cfg->qos_channel, "aeron:ipc");
    snprintf(cfg->metadata_channel, sizeof cfg->metadata_channel, "aeron:ipc");
    cfg->control_stream_id = 1000;
    cfg->descriptor_stream_id = 1100;
    cfg->qos_stream_id = 1200;
    cfg->metadata_stream_id = 1300;
    cfg->announce_interval_ns = 1000000000ull;
    cfg->qos_interval_ns = 1000000000ull;
    cfg->meta_interval_ns = 1000000000ull;
    cfg->descriptor_timestamps = 1;
    cfg->progress_interval_us = 250;
    cfg->progress_bytes_delta = 65536;
    cfg->progress_major_delta_units = 0;
    cfg->progress_min_interval_us = 100;
    cfg->progress_min_bytes_delta = 4096;
    cfg->progress_max_rate_hz = 2000;
    cfg->consumer_timeout_ns = 5000000000ull;
    cfg->meta_version = 0;
    cfg->reattach_backoff_initial_ns = 100000000ull;
    cfg->reattach_backoff_max_ns = 5000000000ull;
    snprintf(cfg->announce_channel, sizeof cfg->announce_channel, "aeron:ipc");
    cfg->announce_stream_id = 1001;
    cfg->announce_wait_timeout_ns = 0; /* 3 x 3 s, as the consumer's default */

    env_u32("PRODUCER_PRODUCER_ID", &cfg->producer_id);
    env_str("PRODUCER_CONTROL_CHANNEL", cfg->control_channel, sizeof cfg->control_channel);
    env_u32("PRODUCER_CONTROL_STREAM_ID", &cfg->control_stream_id);
    env_str("PRODUCER_DESCRIPTOR_CHANNEL", cfg->descriptor_channel, sizeof cfg->descriptor_channel);
    env_u32("PRODUCER_DESCRIPTOR_STREAM_ID", &cfg->descriptor_stream_id);
    env_str("PRODUCER_QOS_CHANNEL", cfg->qos_channel, sizeof cfg->qos_channel);
    env_u32("PRODUCER_QOS_STREAM_ID", &cfg->qos_stream_id);
    env_str("PRODUCER_METADATA_CHANNEL", cfg->metadata_channel, sizeof cfg->metadata_channel);
    env_u32("PRODUCER_METADATA_STREAM_ID", &cfg->metadata_stream_id);
    env_u64("PRODUCER_ANNOUNCE_INTERVAL_NS", &cfg->announce_interval_ns, UINT64_MAX);
    env_u64("PRODUCER_QOS_INTERVAL_NS", &cfg->qos_interval_ns, UINT64_MAX);
    env_u64("PRODUCER_META_INTERVAL_NS", &cfg->meta_interval_ns, UINT64_MAX);
    ts = (uint32_t)cfg->descriptor_timestamps;
    env_u32("PRODUCER_DESCRIPTOR_TIMESTAMPS", &ts);
    cfg->descriptor_timestamps = ts != 0;
    env_u32("PRODUCER_PROGRESS_INTERVAL_US", &cfg->progress_interval_us);
    env_u32("PRODUCER_PROGRESS_BYTES_DELTA", &cfg->progress_bytes_delta);
    env_u32("PRODUCER_PROGRESS_MAJOR_DELTA_UNITS", &cfg->progress_major_delta_units);
    env_u32("PRODUCER_PROGRESS_MIN_INTERVAL_US", &cfg->progress_min_interval_us);
    env_u32("PRODUCER_PROGRESS_MIN_BYTES_DELTA", &cfg->progress_min_bytes_delta);
    env_u32("PRODUCER_PROGRESS_MAX_RATE_HZ", &cfg->progress_max_rate_hz);
    env_u64("PRODUCER_CONSUMER_TIMEOUT_NS", &cfg->consumer_timeout_ns, UINT64_MAX);
    env_u32("PRODUCER_META_VERSION", &cfg->meta_version);
    env_str("PRODUCER_SOURCE_NAME", cfg->source_name, sizeof cfg->source_name);
    env_str("PRODUCER_SOURCE_SUMMARY", cfg->source_summary, sizeof cfg->source_summary);
    env_u64("PRODUCER_REATTACH_BACKOFF_NS", &cfg->reattach_backoff_initial_ns, UINT64_MAX);
    env_u64("PRODUCER_REATTACH_BACKOFF_MAX_NS", &cfg->reattach_backoff_max_ns, UINT64_MAX);
    env_str("PRODUCER_ANNOUNCE_CHANNEL", cfg->announce_channel, sizeof cfg->announce_channel);
    env_u32("PRODUCER_ANNOUNCE_STREAM_ID", &cfg->announce_stream_id);
    env_u64("PRODUCER_ANNOUNCE_WAIT_TIMEOUT_NS", &cfg->announce_wait_timeout_ns, UINT64_MAX);
}

void tp_publish_opts_init(tp_publish_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->timestamp_ns = TP_NULL_U64;
    opts->meta_version = TP_NULL_U32;
    opts->trace_id = 0;
}

/* Round trips for every message of every schema with random values (fixed seeds): bytes built
 * from the metadata -> generated decoder -> generated encoder must give the same bytes, and
 * typed struct -> encode -> decode must give the same struct (groups, nested groups, var data). */
#include <stdlib.h>

#include "tp_test.h"

/* gcc 12 at -O3 inlines the whole nested-group encoder into the discovery test and then
 * reports a 4-byte store "at offset [65533, 65536]" of `out`: a false positive (every store is
 * bounds-checked by tp_sbe_room first; ASan runs this test without complaint). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif

#include "../codec/msggen.h"

#define ITERATIONS 500

static uint8_t in[1 << 16], out[1 << 16];

static bool same_data(tp_sbe_data_t a, tp_sbe_data_t b)
{
    return a.length == b.length && (a.length == 0 || memcmp(a.data, b.data, a.length) == 0);
}

/* LAYOUT §1.3–§1.8 for all six schemas: decode∘encode is the identity on canonical bytes. */
TP_TEST(test_layout_s1_every_message_roundtrips_random_values)
{
    size_t messages = 0;
    MSGGEN_FOR_EACH_MESSAGE(m) {
        messages++;
        for (uint64_t seed = 1; seed <= ITERATIONS; seed++) {
            msggen_t g;
            size_t n;
            int64_t r;
            msggen_init(&g, in, sizeof in, seed * 7919 + m->template_id, m);
            g.populate = seed % 2;
            n = msggen_message(&g, m);
            TP_ASSERT(n > 0);
            TP_CHECK_EQ_I(m->validate(in, n), (int64_t)n);
            TP_CHECK_EQ_I(tp_codec_validate_generic(in, n), (int64_t)n);
            r = tp_codec_reencode(in, n, out, sizeof out);
            if (r != (int64_t)n || memcmp(in, out, n) != 0) {
                tp_test_fail(__FILE__, __LINE__, "%s seed %" PRIu64 ": reencode %" PRId64
                             " != %zu (%s)", m->body.name, seed, r, n, tp_errmsg());
                return;
            }
        }
    }
    TP_CHECK_EQ_U(messages, 13 + 8 + 1 + 4 + 1 + 2); /* 900, 901, 902, 903, 904, 910 */
}

/* A message in a buffer with trailing bytes: the decoder reports its own length. */
TP_TEST(test_layout_s110_decoder_returns_message_length_before_trailing_bytes)
{
    MSGGEN_FOR_EACH_MESSAGE(m) {
        msggen_t g;
        size_t n;
        msggen_init(&g, in, sizeof in, 99, m);
        n = msggen_message(&g, m);
        memset(in + n, 0xAB, 16);
        TP_CHECK_EQ_I(m->validate(in, n + 16), (int64_t)n);
        TP_CHECK_EQ_I(tp_codec_validate_generic(in, n + 16), (int64_t)n);
    }
}

/* Typed round trip of the hot message: every field survives. */
TP_TEST(test_wire_w078_frame_descriptor_struct_roundtrip)
{
    uint64_t rng = 42;
    for (int i = 0; i < 10000; i++) {
        tp_sbe_control_frame_descriptor_t a, b;
        a.stream_id = (uint32_t)msggen_next(&rng);
        a.epoch = msggen_next(&rng);
        a.seq = msggen_next(&rng);
        a.timestamp_ns = i % 3 ? msggen_next(&rng) : TP_SBE_CONTROL_FRAME_DESCRIPTOR_TIMESTAMP_NS_NULL_VALUE;
        a.meta_version = (uint32_t)msggen_next(&rng);
        a.trace_id = i % 5 ? msggen_next(&rng) : 0;
        TP_ASSERT(tp_sbe_control_frame_descriptor_encode(out, 48, &a) == 48);
        TP_ASSERT(tp_sbe_control_frame_descriptor_decode(out, 48, &b) == 48);
        TP_CHECK(a.stream_id == b.stream_id && a.epoch == b.epoch && a.seq == b.seq &&
                 a.timestamp_ns == b.timestamp_ns && a.meta_version == b.meta_version &&
                 a.trace_id == b.trace_id);
        TP_CHECK_EQ_I(tp_sbe_control_frame_descriptor_has_trace_id(&b), a.trace_id != 0);
    }
}

/* DISCOVERY §4.2–§4.3: nested groups (results -> payloadPools, tags) and var data in entries. */
TP_TEST(test_discovery_s43_nested_groups_struct_roundtrip)
{
    typedef tp_sbe_discovery_discovery_response_results_t result_t;
    typedef tp_sbe_discovery_discovery_response_results_payload_pools_t pool_t;
    typedef tp_sbe_discovery_discovery_response_results_tags_t tag_t;
    static const char *const tag_text[] = { "camera", "left", "rgb" };
    uint64_t rng = 7;
    for (int iter = 0; iter < 500; iter++) {
        pool_t pools[3][3];
        tag_t tags[3][3];
        result_t results[3], r;
        tp_sbe_discovery_discovery_response_t a, b;
        tp_sbe_group_t it;
        uint16_t nres = (uint16_t)(msggen_next(&rng) % 4);
        memset(&a, 0, sizeof a);
        for (uint16_t i = 0; i < nres; i++) {
            uint16_t np = (uint16_t)(msggen_next(&rng) % 4), nt = (uint16_t)(msggen_next(&rng) % 4);
            memset(&results[i], 0, sizeof results[i]);
            results[i].stream_id = (uint32_t)msggen_next(&rng);
            results[i].epoch = msggen_next(&rng);
            results[i].max_dims = 8;
            results[i].data_source_id = i ? msggen_next(&rng)
                : TP_SBE_DISCOVERY_DISCOVERY_RESPONSE_RESULTS_DATA_SOURCE_ID_NULL_VALUE;
            results[i].driver_control_stream_id = 1000;
            for (uint16_t k = 0; k < np; k++) {
                pools[i][k].pool_id = k;
                pools[i][k].pool_nslots = (uint32_t)msggen_next(&rng);
                pools[i][k].stride_bytes = 65536;
                pools[i][k].region_uri = tp_sbe_str(k % 2 ? "shm:file?path=/x" : "");
            }
            for (uint16_t k = 0; k < nt; k++) tags[i][k].tag = tp_sbe_str(tag_text[k]);
            results[i].payload_pools = tp_sbe_entries(pools[i], np);
            results[i].tags = tp_sbe_entries(tags[i], nt);
            results[i].header_region_uri = tp_sbe_str("shm:file?path=/h");
            results[i].driver_instance_id = tp_sbe_str(i % 2 ? "drv-1" : "");
        }
        a.request_id = msggen_next(&rng);
        a.status = TP_SBE_DISCOVERY_DISCOVERY_STATUS_OK;
        a.results = tp_sbe_entries(results, nres);
        a.error_message = tp_sbe_str(nres ? "" : "nothing");
        int64_t n = tp_sbe_discovery_discovery_response_encode(out, sizeof out, &a);
        TP_ASSERT(n == tp_sbe_discovery_discovery_response_encoded_length(&a));
        TP_ASSERT(tp_sbe_discovery_discovery_response_decode(out, (size_t)n, &b) == n);
        TP_CHECK_EQ_I(tp_codec_validate_generic(out, (size_t)n), n);
        TP_CHECK_EQ_U(b.request_id, a.request_id);
        TP_CHECK(same_data(a.error_message, b.error_message));
        TP_ASSERT(b.results.count == nres);
        it = b.results;
        for (uint16_t i = 0; i < nres; i++) {
            tp_sbe_group_t pit, tit;
            pool_t p;
            tag_t t;
            TP_ASSERT(tp_sbe_discovery_discovery_response_results_next(&it, &r) == 1);
            TP_CHECK_EQ_U(r.stream_id, results[i].stream_id);
            TP_CHECK_EQ_U(r.epoch, results[i].epoch);
            TP_CHECK_EQ_U(r.max_dims, 8);
            TP_CHECK_EQ_I(tp_sbe_discovery_discovery_response_results_has_data_source_id(&r), i != 0);
            TP_CHECK(same_data(r.header_region_uri, results[i].header_region_uri));
            TP_CHECK(same_data(r.driver_instance_id, results[i].driver_instance_id));
            TP_CHECK_EQ_U(r.payload_pools.count, results[i].payload_pools.count);
            TP_CHECK_EQ_U(r.tags.count, results[i].tags.count);
            pit = r.payload_pools;
            for (uint16_t k = 0; tp_sbe_discovery_discovery_response_results_payload_pools_next(&pit, &p) == 1; k++) {
                TP_CHECK_EQ_U(p.pool_id, k);
                TP_CHECK_EQ_U(p.pool_nslots, pools[i][k].pool_nslots);
                TP_CHECK(same_data(p.region_uri, pools[i][k].region_uri));
            }
            tit = r.tags;
            for (uint16_t k = 0; tp_sbe_discovery_discovery_response_results_tags_next(&tit, &t) == 1; k++)
                TP_CHECK(same_data(t.tag, tags[i][k].tag));
        }
        TP_CHECK_EQ_I(tp_sbe_discovery_discovery_response_results_next(&it, &r), 0);
    }
}

/* DISCOVERY §4.3: a tags entry is exactly u32 length + bytes; the group blockLength is 0. */
TP_TEST(test_discovery_s43_tags_group_block_length_zero)
{
    tp_sbe_discovery_discovery_request_tags_t tags[2];
    tp_sbe_discovery_discovery_request_t a;
    uint8_t *buf = malloc(256); /* heap: exact-size overruns show under ASan */
    TP_ASSERT(buf);
    memset(&a, 0, sizeof a);
    tags[0].tag = tp_sbe_str("ab");
    tags[1].tag = tp_sbe_str("");
    a.response_stream_id = 5;
    a.tags = tp_sbe_entries(tags, 2);
    a.response_channel = tp_sbe_str("aeron:ipc");
    TP_CHECK_EQ_I(tp_sbe_discovery_discovery_request_encode(buf, 256, &a), 8 + 32 + 4 + 6 + 4 + 13 + 4);
    TP_CHECK_EQ_U(tp_get_u16(buf + 40), 0); /* group blockLength */
    TP_CHECK_EQ_U(tp_get_u16(buf + 42), 2);
    TP_CHECK_EQ_U(tp_get_u32(buf + 44), 2);
    TP_CHECK_MEM(buf + 48, "ab", 2);
    TP_CHECK_EQ_U(tp_get_u32(buf + 50), 0);
    TP_CHECK_EQ_U(TP_SBE_DISCOVERY_DISCOVERY_REQUEST_BLOCK_LENGTH, 32);
    TP_CHECK_EQ_U(TP_SBE_DISCOVERY_DISCOVERY_RESPONSE_BLOCK_LENGTH, 9);
    TP_CHECK_EQ_U(TP_SBE_DISCOVERY_DISCOVERY_RESPONSE_RESULTS_BLOCK_LENGTH, 39);
    free(buf);
}

/* Block lengths of the companion schemas as the generator computes them (LAYOUT §1.3-§1.5). */
TP_TEST(test_layout_s1_block_lengths_of_every_schema)
{
    TP_CHECK_EQ_U(TP_SBE_CONTROL_SLOT_HEADER_BLOCK_LENGTH, 60);
    TP_CHECK_EQ_U(TP_SBE_CONTROL_TENSOR_HEADER_BLOCK_LENGTH, 184);
    TP_CHECK_EQ_U(TP_SBE_CONTROL_SHM_REGION_SUPERBLOCK_BLOCK_LENGTH, 64);
    TP_CHECK_EQ_U(TP_SBE_CONTROL_SHM_POOL_ANNOUNCE_BLOCK_LENGTH, 35);
    TP_CHECK_EQ_U(TP_SBE_CONTROL_QOS_CONSUMER_BLOCK_LENGTH, 41);
    TP_CHECK_EQ_U(TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_BLOCK_LENGTH, 54);
    TP_CHECK_EQ_U(TP_SBE_DRIVER_SHM_LEASE_REVOKED_BLOCK_LENGTH, 26);
    TP_CHECK_EQ_U(TP_SBE_BRIDGE_BRIDGE_FRAME_CHUNK_BLOCK_LENGTH, 53);
    TP_CHECK_EQ_U(TP_SBE_BRIDGE_BRIDGE_FRAME_CHUNK_HEADER_BYTES_MAX_LENGTH, 256);
    TP_CHECK_EQ_U(TP_SBE_MERGE_SEQUENCE_MERGE_MAP_ANNOUNCE_RULES_BLOCK_LENGTH, 13);
    TP_CHECK_EQ_U(TP_SBE_MERGE_TIMESTAMP_MERGE_MAP_ANNOUNCE_RULES_BLOCK_LENGTH, 22);
    TP_CHECK_EQ_I(TP_SBE_MERGE_SEQUENCE_MERGE_MAP_ANNOUNCE_RULES_OFFSET_NULL_VALUE, INT32_MIN);
    TP_CHECK_EQ_I(TP_SBE_MERGE_TIMESTAMP_MERGE_MAP_ANNOUNCE_RULES_OFFSET_NS_NULL_VALUE, INT64_MIN);
    TP_CHECK_EQ_U(TP_SBE_BRIDGE_BRIDGE_FRAME_CHUNK_TRACE_ID_NULL_VALUE, 0);
    TP_CHECK_EQ_U(TP_SBE_TRACELINK_TRACE_LINK_SET_BLOCK_LENGTH, 28);
    TP_CHECK_EQ_U(TP_SBE_TRACELINK_TRACE_LINK_SET_PARENTS_BLOCK_LENGTH, 8);
}

/* Encoder capacity and input checks: -1 with TP_ETOOBIG / TP_EINVAL, never a write past cap. */
TP_TEST(test_layout_s17_encoder_capacity_and_max_length)
{
    tp_sbe_bridge_bridge_frame_chunk_t c;
    tp_sbe_control_shm_pool_announce_t a;
    uint8_t big[300];
    memset(&c, 0, sizeof c);
    memset(big, 'x', sizeof big);
    c.header_bytes = tp_sbe_bytes(big, 257); /* varDataEncoding256: max 256 */
    TP_CHECK_EQ_I(tp_sbe_bridge_bridge_frame_chunk_encode(out, sizeof out, &c), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
    c.header_bytes = tp_sbe_bytes(big, 256);
    TP_CHECK_EQ_I(tp_sbe_bridge_bridge_frame_chunk_encode(out, sizeof out, &c), 8 + 53 + 260 + 4);
    for (size_t cap = 0; cap < 8 + 53 + 260 + 4; cap++) {
        memset(out, 0xEE, sizeof out);
        TP_CHECK_EQ_I(tp_sbe_bridge_bridge_frame_chunk_encode(out, cap, &c), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_ETOOBIG);
        TP_CHECK_EQ_U(out[cap], 0xEE);
    }
    memset(&a, 0, sizeof a);
    a.payload_pools.count = 2; /* entries missing */
    TP_CHECK_EQ_I(tp_sbe_control_shm_pool_announce_encode(out, sizeof out, &a), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EINVAL);
}

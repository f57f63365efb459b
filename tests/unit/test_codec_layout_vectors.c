/* LAYOUT §6: every golden vector, encoded from its stated field values and compared byte for
 * byte, then decoded and compared field by field. */
#include "tp_test.h"

#include "../codec/vectors.h"
#include "codec/codec.h"

#define SHM_URI_POOL "shm:file?path=/dev/shm/tensorpool-alice/default/10000/3/1.pool"
#define SHM_URI_RING "shm:file?path=/dev/shm/tensorpool-alice/default/10000/3/header.ring"

static uint8_t want[512], got[512];

static bool data_is(tp_sbe_data_t d, const char *s)
{
    return d.length == strlen(s) && (d.length == 0 || memcmp(d.data, s, d.length) == 0);
}

TP_TEST(test_layout_s6_frame_descriptor_vector)
{
    tp_sbe_control_frame_descriptor_t m = { 10000, 3, 42, 1000000000, 7, 0 }, d;
    size_t n = vec_bytes(VEC_FRAME_DESCRIPTOR, want, sizeof want);
    TP_CHECK_EQ_U(n, 48);
    TP_CHECK_EQ_I(tp_sbe_control_frame_descriptor_encoded_length(&m), 48);
    TP_ASSERT(tp_sbe_control_frame_descriptor_encode(got, sizeof got, &m) == 48);
    TP_CHECK_MEM(got, want, n);
    TP_ASSERT(tp_sbe_control_frame_descriptor_decode(want, n, &d) == 48);
    TP_CHECK_EQ_U(d.stream_id, 10000);
    TP_CHECK_EQ_U(d.epoch, 3);
    TP_CHECK_EQ_U(d.seq, 42);
    TP_CHECK_EQ_U(d.timestamp_ns, 1000000000);
    TP_CHECK_EQ_U(d.meta_version, 7);
    TP_CHECK(tp_sbe_control_frame_descriptor_has_timestamp_ns(&d));
    TP_CHECK(!tp_sbe_control_frame_descriptor_has_trace_id(&d)); /* W-78: traceId null is 0 */
}

TP_TEST(test_layout_s6_frame_descriptor_nulls_vector_w078)
{
    tp_sbe_control_frame_descriptor_t m = {
        10000, 3, 42, TP_SBE_CONTROL_FRAME_DESCRIPTOR_TIMESTAMP_NS_NULL_VALUE,
        TP_SBE_CONTROL_FRAME_DESCRIPTOR_META_VERSION_NULL_VALUE,
        TP_SBE_CONTROL_FRAME_DESCRIPTOR_TRACE_ID_NULL_VALUE }, d;
    size_t n = vec_bytes(VEC_FRAME_DESCRIPTOR_NULLS, want, sizeof want);
    TP_ASSERT(tp_sbe_control_frame_descriptor_encode(got, sizeof got, &m) == (int64_t)n);
    TP_CHECK_MEM(got, want, n);
    TP_ASSERT(tp_sbe_control_frame_descriptor_decode(want, n, &d) == (int64_t)n);
    TP_CHECK(!tp_sbe_control_frame_descriptor_has_timestamp_ns(&d));
    TP_CHECK(!tp_sbe_control_frame_descriptor_has_meta_version(&d));
    TP_CHECK(!tp_sbe_control_frame_descriptor_has_trace_id(&d));
    TP_CHECK_EQ_U(TP_SBE_CONTROL_FRAME_DESCRIPTOR_TRACE_ID_NULL_VALUE, 0);
}

TP_TEST(test_layout_s6_frame_progress_vector)
{
    tp_sbe_control_frame_progress_t m = { 10000, 3, 42, 4096,
                                          TP_SBE_CONTROL_FRAME_PROGRESS_STATE_PROGRESS }, d;
    size_t n = vec_bytes(VEC_FRAME_PROGRESS, want, sizeof want);
    TP_CHECK_EQ_U(n, 37);
    TP_ASSERT(tp_sbe_control_frame_progress_encode(got, sizeof got, &m) == 37);
    TP_CHECK_MEM(got, want, n);
    TP_ASSERT(tp_sbe_control_frame_progress_decode(want, n, &d) == 37);
    TP_CHECK_EQ_U(d.payload_bytes_filled, 4096);
    TP_CHECK_EQ_U(d.state, 2);
    TP_CHECK_STR(tp_sbe_control_frame_progress_state_name(d.state), "PROGRESS");
}

TP_TEST(test_layout_s6_shm_pool_announce_vector)
{
    tp_sbe_control_shm_pool_announce_payload_pools_t pool = { 1, 8, 65536,
                                                              { NULL, 0 } }, e;
    tp_sbe_control_shm_pool_announce_t m, d;
    tp_sbe_group_t it;
    size_t n = vec_bytes(VEC_SHM_POOL_ANNOUNCE, want, sizeof want);
    pool.region_uri = tp_sbe_str(SHM_URI_POOL);
    memset(&m, 0, sizeof m);
    m.stream_id = 10000;
    m.producer_id = 7;
    m.epoch = 3;
    m.announce_timestamp_ns = 123456789;
    m.announce_clock_domain = TP_SBE_CONTROL_CLOCK_DOMAIN_MONOTONIC;
    m.layout_version = 1;
    m.header_nslots = 8;
    m.header_slot_bytes = 256;
    m.payload_pools = tp_sbe_entries(&pool, 1);
    m.header_region_uri = tp_sbe_str(SHM_URI_RING);
    TP_CHECK_EQ_U(n, 194);
    TP_CHECK_EQ_I(tp_sbe_control_shm_pool_announce_encoded_length(&m), 194);
    TP_ASSERT(tp_sbe_control_shm_pool_announce_encode(got, sizeof got, &m) == 194);
    TP_CHECK_MEM(got, want, n);

    TP_ASSERT(tp_sbe_control_shm_pool_announce_decode(want, n, &d) == 194);
    TP_CHECK_EQ_U(d.announce_timestamp_ns, 123456789);
    TP_CHECK_EQ_U(d.layout_version, 1);
    TP_CHECK_EQ_U(d.header_slot_bytes, 256);
    TP_CHECK(data_is(d.header_region_uri, SHM_URI_RING));
    TP_CHECK_EQ_U(d.payload_pools.count, 1);
    it = d.payload_pools;
    TP_ASSERT(tp_sbe_control_shm_pool_announce_payload_pools_next(&it, &e) == 1);
    TP_CHECK_EQ_U(e.pool_id, 1);
    TP_CHECK_EQ_U(e.pool_nslots, 8);
    TP_CHECK_EQ_U(e.stride_bytes, 65536);
    TP_CHECK(data_is(e.region_uri, SHM_URI_POOL));
    TP_CHECK_EQ_I(tp_sbe_control_shm_pool_announce_payload_pools_next(&it, &e), 0);
}

TP_TEST(test_layout_s6_consumer_hello_vector)
{
    tp_sbe_control_consumer_hello_t m, d;
    size_t n = vec_bytes(VEC_CONSUMER_HELLO, want, sizeof want);
    memset(&m, 0, sizeof m);
    m.stream_id = 10000;
    m.consumer_id = 42;
    m.supports_shm = TP_SBE_CONTROL_BOOL_TRUE;
    m.supports_progress = TP_SBE_CONTROL_BOOL_FALSE;
    m.mode = TP_SBE_CONTROL_MODE_STREAM;
    m.expected_layout_version = 1;
    m.progress_interval_us = TP_SBE_CONTROL_CONSUMER_HELLO_PROGRESS_INTERVAL_US_NULL_VALUE;
    m.progress_bytes_delta = TP_SBE_CONTROL_CONSUMER_HELLO_PROGRESS_BYTES_DELTA_NULL_VALUE;
    m.progress_major_delta_units =
        TP_SBE_CONTROL_CONSUMER_HELLO_PROGRESS_MAJOR_DELTA_UNITS_NULL_VALUE;
    TP_CHECK_EQ_U(n, 55);
    TP_ASSERT(tp_sbe_control_consumer_hello_encode(got, sizeof got, &m) == 55);
    TP_CHECK_MEM(got, want, n);
    TP_ASSERT(tp_sbe_control_consumer_hello_decode(want, n, &d) == 55);
    TP_CHECK_EQ_U(d.consumer_id, 42);
    TP_CHECK_EQ_U(d.supports_shm, 1);
    TP_CHECK_EQ_U(d.mode, 1);
    TP_CHECK(!tp_sbe_control_consumer_hello_has_progress_interval_us(&d));
    TP_CHECK(!tp_sbe_control_consumer_hello_has_progress_major_delta_units(&d));
    TP_CHECK_EQ_U(d.descriptor_channel.length, 0);
    TP_CHECK_EQ_U(d.control_channel.length, 0);
}

/* LAYOUT §4.1: stored without a message header, so the body functions apply. */
TP_TEST(test_layout_s6_superblock_vector)
{
    tp_sbe_control_shm_region_superblock_t m = {
        UINT64_C(0x544F504C53484D31), 1, 3, 10000, TP_SBE_CONTROL_REGION_TYPE_HEADER_RING,
        0, 8, 256, 0, 4242, 123456789, 123456789 }, d;
    size_t n = vec_bytes(VEC_SUPERBLOCK, want, sizeof want);
    TP_CHECK_EQ_U(n, 64);
    TP_ASSERT(tp_sbe_control_shm_region_superblock_encode_body(got, sizeof got, &m) == 64);
    TP_CHECK_MEM(got, want, n);
    TP_ASSERT(tp_sbe_control_shm_region_superblock_decode_body(
                  want, n, TP_SBE_CONTROL_SHM_REGION_SUPERBLOCK_BLOCK_LENGTH, &d) == 64);
    TP_CHECK_EQ_U(d.magic, UINT64_C(0x544F504C53484D31));
    TP_CHECK_EQ_U(d.epoch, 3);
    TP_CHECK_EQ_I(d.region_type, 1);
    TP_CHECK_EQ_U(d.pid, 4242);
    TP_CHECK_EQ_U(d.activity_timestamp_ns, 123456789);
    TP_CHECK_MEM(want, "1MHSLPOT", 8); /* WIRE W-16 */
}

/* LAYOUT §4.4: SlotHeader block (0..59), headerBytes length (60..63) = 192, then the
 * embedded TensorHeader WITH its message header (64..255). */
TP_TEST(test_layout_s6_header_slot_vector)
{
    tp_sbe_control_tensor_header_t th, dth;
    tp_sbe_control_slot_header_t sh, dsh;
    uint8_t tensor[192];
    size_t n = vec_bytes(VEC_HEADER_SLOT, want, sizeof want);
    memset(&th, 0, sizeof th);
    th.dtype = TP_SBE_CONTROL_DTYPE_UINT8;
    th.major_order = TP_SBE_CONTROL_MAJOR_ORDER_ROW;
    th.ndims = 2;
    th.progress_unit = TP_SBE_CONTROL_PROGRESS_UNIT_NONE;
    th.dims[0] = 2;
    th.dims[1] = 3;
    th.strides[0] = 3;
    th.strides[1] = 1;
    TP_CHECK_EQ_U(n, 256);
    TP_ASSERT(tp_sbe_control_tensor_header_encode(tensor, sizeof tensor, &th) == 192);
    memset(&sh, 0, sizeof sh);
    sh.seq_commit = 85;
    sh.values_len_bytes = 6;
    sh.payload_slot = 2;
    sh.pool_id = 1;
    sh.timestamp_ns = 999;
    sh.meta_version = 7;
    sh.header_bytes = tp_sbe_bytes(tensor, sizeof tensor);
    TP_ASSERT(tp_sbe_control_slot_header_encode_body(got, sizeof got, &sh) == 256);
    TP_CHECK_MEM(got, want, n);

    TP_ASSERT(tp_sbe_control_slot_header_decode_body(
                  want, n, TP_SBE_CONTROL_SLOT_HEADER_BLOCK_LENGTH, &dsh) == 256);
    TP_CHECK_EQ_U(dsh.seq_commit >> 1, 42);
    TP_CHECK_EQ_U(dsh.timestamp_ns, 999);
    TP_CHECK_EQ_U(dsh.header_bytes.length, 192);
    TP_CHECK(dsh.header_bytes.data == want + 64);
    TP_ASSERT(tp_sbe_control_tensor_header_decode(dsh.header_bytes.data, dsh.header_bytes.length,
                                                  &dth) == 192);
    TP_CHECK_EQ_I(dth.dtype, TP_SBE_CONTROL_DTYPE_UINT8);
    TP_CHECK_EQ_I(dth.major_order, TP_SBE_CONTROL_MAJOR_ORDER_ROW);
    TP_CHECK_EQ_U(dth.ndims, 2);
    TP_CHECK_EQ_I(dth.dims[1], 3);
    TP_CHECK_EQ_I(dth.strides[0], 3);
    TP_CHECK_EQ_I(dth.dims[7], 0);
    TP_CHECK_EQ_U(TP_SBE_CONTROL_TENSOR_HEADER_MAX_DIMS, 8); /* LAYOUT §1.5: no bytes */
}

TP_TEST(test_layout_s6_shm_attach_request_vector)
{
    tp_sbe_driver_shm_attach_request_t m = {
        INT64_C(0x0000002A00000001), 10000, 42, TP_SBE_DRIVER_ROLE_CONSUMER, 0,
        TP_SBE_DRIVER_SHM_ATTACH_REQUEST_PUBLISH_MODE_NULL_VALUE,
        TP_SBE_DRIVER_HUGEPAGES_POLICY_UNSPECIFIED,
        TP_SBE_DRIVER_SHM_ATTACH_REQUEST_DESIRED_NODE_ID_NULL_VALUE }, d;
    size_t n = vec_bytes(VEC_SHM_ATTACH_REQUEST, want, sizeof want);
    TP_CHECK_EQ_U(n, 35);
    TP_ASSERT(tp_sbe_driver_shm_attach_request_encode(got, sizeof got, &m) == 35);
    TP_CHECK_MEM(got, want, n);
    TP_ASSERT(tp_sbe_driver_shm_attach_request_decode(want, n, &d) == 35);
    TP_CHECK_EQ_I(d.correlation_id, INT64_C(0x0000002A00000001));
    TP_CHECK_EQ_U(d.role, 2);
    TP_CHECK(!tp_sbe_driver_shm_attach_request_has_publish_mode(&d));
    TP_CHECK(!tp_sbe_driver_shm_attach_request_has_desired_node_id(&d));
}

TP_TEST(test_layout_s6_shm_lease_keepalive_vector)
{
    tp_sbe_driver_shm_lease_keepalive_t m = { 5, 10000, 42, TP_SBE_DRIVER_ROLE_CONSUMER,
                                              123456789 }, d;
    size_t n = vec_bytes(VEC_SHM_LEASE_KEEPALIVE, want, sizeof want);
    TP_CHECK_EQ_U(n, 33);
    TP_ASSERT(tp_sbe_driver_shm_lease_keepalive_encode(got, sizeof got, &m) == 33);
    TP_CHECK_MEM(got, want, n);
    TP_ASSERT(tp_sbe_driver_shm_lease_keepalive_decode(want, n, &d) == 33);
    TP_CHECK_EQ_U(d.lease_id, 5);
    TP_CHECK_EQ_U(d.client_timestamp_ns, 123456789); /* unaligned, offset 17 */
}

TP_TEST(test_layout_s6_shm_attach_response_rejection_vector)
{
    tp_sbe_driver_shm_attach_response_t m, d;
    size_t n = vec_bytes(VEC_SHM_ATTACH_RESPONSE_REJECTED, want, sizeof want);
    memset(&m, 0, sizeof m);
    m.correlation_id = INT64_C(0x0000002A00000001);
    m.code = TP_SBE_DRIVER_RESPONSE_CODE_REJECTED;
    m.lease_id = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_LEASE_ID_NULL_VALUE;
    m.lease_expiry_timestamp_ns = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_LEASE_EXPIRY_TIMESTAMP_NS_NULL_VALUE;
    m.stream_id = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_STREAM_ID_NULL_VALUE;
    m.epoch = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_EPOCH_NULL_VALUE;
    m.layout_version = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_LAYOUT_VERSION_NULL_VALUE;
    m.header_nslots = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_HEADER_NSLOTS_NULL_VALUE;
    m.header_slot_bytes = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_HEADER_SLOT_BYTES_NULL_VALUE;
    m.node_id = TP_SBE_DRIVER_SHM_ATTACH_RESPONSE_NODE_ID_NULL_VALUE;
    m.payload_pools = tp_sbe_entries(NULL, 0);
    m.error_message = tp_sbe_str("producer already attached");
    TP_CHECK_EQ_U(n, 99);
    TP_ASSERT(tp_sbe_driver_shm_attach_response_encode(got, sizeof got, &m) == 99);
    TP_CHECK_MEM(got, want, n);
    TP_ASSERT(tp_sbe_driver_shm_attach_response_decode(want, n, &d) == 99);
    TP_CHECK_EQ_I(d.code, 3);
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_lease_id(&d));
    TP_CHECK(!tp_sbe_driver_shm_attach_response_has_node_id(&d));
    TP_CHECK_EQ_U(d.payload_pools.count, 0);
    TP_CHECK_EQ_U(d.header_region_uri.length, 0);
    TP_CHECK(data_is(d.error_message, "producer already attached"));
}

/* Every vector also passes the dispatcher and the generic walker (W-4, LAYOUT §1.10). */
TP_TEST(test_layout_s110_vectors_pass_dispatch_and_generic_walker)
{
    static const char *const vecs[] = {
        VEC_FRAME_DESCRIPTOR, VEC_FRAME_DESCRIPTOR_NULLS, VEC_FRAME_PROGRESS,
        VEC_SHM_POOL_ANNOUNCE, VEC_CONSUMER_HELLO, VEC_SHM_ATTACH_REQUEST,
        VEC_SHM_LEASE_KEEPALIVE, VEC_SHM_ATTACH_RESPONSE_REJECTED };
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        size_t n = vec_bytes(vecs[i], want, sizeof want);
        TP_CHECK_EQ_I(tp_codec_validate(want, n, NULL, NULL), (int64_t)n);
        TP_CHECK_EQ_I(tp_codec_validate_generic(want, n), (int64_t)n);
        TP_CHECK_EQ_I(tp_codec_reencode(want, n, got, sizeof got), (int64_t)n);
        TP_CHECK_MEM(got, want, n);
    }
    /* The TensorHeader inside the slot is a complete message too. */
    vec_bytes(VEC_HEADER_SLOT, want, sizeof want);
    TP_CHECK_EQ_I(tp_codec_validate(want + 64, 192, NULL, NULL), 192);
    TP_CHECK_EQ_I(tp_codec_validate_generic(want + 64, 192), 192);
}

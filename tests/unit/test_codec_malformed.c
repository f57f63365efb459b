/* LAYOUT §1.10, WIRE W-4, W-81, DRIVER D-34: malformed input is refused with an error — by
 * the generated decoder, the dispatcher and the generic walker alike — and never read past
 * the end (the ASan build runs these on exact-size heap copies). */
#include <stdlib.h>

#include "tp_test.h"

#include "../codec/msggen.h"

static uint8_t msg[1 << 16], out[1 << 16];

/* Runs all three validators on an exact-size heap copy; returns the common result. */
static int64_t check_all(const uint8_t *buf, size_t n, const tp_sbe_message_meta_t *m)
{
    uint8_t *copy = malloc(n ? n : 1);
    int64_t a, b, c;
    memcpy(copy, buf, n);
    a = m->validate(copy, n);
    b = tp_codec_validate(copy, n, NULL, NULL);
    c = tp_codec_validate_generic(copy, n);
    free(copy);
    if (a != b || a != c) {
        tp_test_fail(__FILE__, __LINE__, "%s: validators disagree %" PRId64 "/%" PRId64 "/%" PRId64,
                     m->body.name, a, b, c);
        return -2;
    }
    return a;
}

static size_t populated(const tp_sbe_message_meta_t *m, uint64_t seed, msggen_t *g)
{
    msggen_init(g, msg, sizeof msg, seed, m);
    g->populate = 1;
    return msggen_message(g, m);
}

TP_TEST(test_layout_s110_truncation_at_every_offset_rejected)
{
    MSGGEN_FOR_EACH_MESSAGE(m) {
        for (uint64_t seed = 1; seed <= 4; seed++) {
            msggen_t g;
            size_t n = populated(m, seed, &g);
            TP_ASSERT(n > 0);
            TP_CHECK_EQ_I(check_all(msg, n, m), (int64_t)n);
            for (size_t cut = 0; cut < n; cut++) {
                if (check_all(msg, cut, m) != -1) {
                    tp_test_fail(__FILE__, __LINE__, "%s: %zu of %zu bytes accepted",
                                 m->body.name, cut, n);
                    return;
                }
                TP_CHECK_EQ_I(tp_errcode(), TP_EMALFORMED);
            }
        }
    }
}

TP_TEST(test_layout_s110_truncated_message_reason)
{
    msggen_t g;
    const tp_sbe_message_meta_t *m = tp_codec_lookup(900, 4);
    TP_ASSERT(m);
    populated(m, 1, &g);
    TP_CHECK_EQ_I(m->validate(msg, 20), -1);
    TP_CHECK_STR(tp_errmsg(), "truncated: need 48 bytes, have 20");
    TP_CHECK_EQ_I(m->validate(msg, 5), -1);
    TP_CHECK_STR(tp_errmsg(), "truncated: need 8 bytes, have 5");
}

TP_TEST(test_layout_s17_var_data_length_over_max_or_buffer_rejected)
{
    MSGGEN_FOR_EACH_MESSAGE(m) {
        msggen_t g;
        size_t n = populated(m, 3, &g);
        for (size_t i = 0; i < g.ndata; i++) {
            uint32_t orig = tp_get_u32(msg + g.data_at[i]);
            tp_put_u32(msg + g.data_at[i], g.data_max[i] + 1);
            TP_CHECK_EQ_I(check_all(msg, n, m), -1);
            TP_CHECK_EQ_I(tp_errcode(), TP_EMALFORMED);
            TP_CHECK(strstr(tp_errmsg(), "> max") != NULL);
            tp_put_u32(msg + g.data_at[i], (uint32_t)(n - g.data_at[i])); /* past the end */
            TP_CHECK_EQ_I(check_all(msg, n, m), -1);
            tp_put_u32(msg + g.data_at[i], UINT32_MAX);
            TP_CHECK_EQ_I(check_all(msg, n, m), -1);
            tp_put_u32(msg + g.data_at[i], orig);
        }
        TP_CHECK_EQ_I(check_all(msg, n, m), (int64_t)n);
    }
}

/* Bridge: varDataEncoding256 has maxValue 256 (BRIDGE), the others 2^30. */
TP_TEST(test_bridge_header_bytes_max_256_enforced_on_decode)
{
    tp_sbe_bridge_bridge_frame_chunk_t c;
    uint8_t hb[257];
    int64_t n;
    memset(&c, 0, sizeof c);
    memset(hb, 1, sizeof hb);
    c.header_bytes = tp_sbe_bytes(hb, 256);
    n = tp_sbe_bridge_bridge_frame_chunk_encode(out, sizeof out, &c);
    TP_ASSERT(n > 0);
    TP_CHECK_EQ_I(tp_codec_validate(out, (size_t)n, NULL, NULL), n);
    tp_put_u32(out + 8 + 53, 257);
    TP_CHECK_EQ_I(tp_codec_validate(out, (size_t)n, NULL, NULL), -1);
    TP_CHECK(strstr(tp_errmsg(), "length 257 > max 256") != NULL);
}

TP_TEST(test_layout_s16_group_count_overrun_rejected)
{
    MSGGEN_FOR_EACH_MESSAGE(m) {
        msggen_t g;
        size_t n = populated(m, 5, &g);
        for (size_t i = 0; i < g.ngroups; i++) {
            uint16_t count = tp_get_u16(msg + g.group_at[i] + 2);
            uint16_t bl = tp_get_u16(msg + g.group_at[i]);
            tp_put_u16(msg + g.group_at[i] + 2, (uint16_t)(count + 1));
            /* An entry of nothing but a zero-length block would fit anywhere; the schemas have
             * none, every entry holds a block or var data. */
            TP_CHECK_EQ_I(check_all(msg, n, m), -1);
            tp_put_u16(msg + g.group_at[i] + 2, 0xFFFF);
            TP_CHECK_EQ_I(check_all(msg, n, m), -1);
            tp_put_u16(msg + g.group_at[i] + 2, count);
            if (bl > 0) { /* entry block shorter than the schema's */
                tp_put_u16(msg + g.group_at[i], (uint16_t)(bl - 1));
                TP_CHECK_EQ_I(check_all(msg, n, m), -1);
                TP_CHECK(strstr(tp_errmsg(), "group block length") != NULL);
                tp_put_u16(msg + g.group_at[i], bl);
            }
        }
        TP_CHECK_EQ_I(check_all(msg, n, m), (int64_t)n);
    }
}

TP_TEST(test_wire_w004_wrong_schema_or_template_rejected)
{
    MSGGEN_FOR_EACH_MESSAGE(m) {
        msggen_t g;
        size_t n = populated(m, 6, &g);
        tp_put_u16(msg + 4, 999);
        TP_CHECK_EQ_I(m->validate(msg, n), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EUNKNOWN_MSG);
        TP_CHECK_EQ_I(tp_codec_validate(msg, n, NULL, NULL), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EUNKNOWN_MSG);
        TP_CHECK_EQ_I(tp_codec_validate_generic(msg, n), -1);
        tp_put_u16(msg + 4, m->schema_id);
        tp_put_u16(msg + 2, 77);
        TP_CHECK_EQ_I(m->validate(msg, n), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EUNKNOWN_MSG);
        TP_CHECK_EQ_I(tp_codec_validate(msg, n, NULL, NULL), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EUNKNOWN_MSG);
    }
}

/* Template 1 exists in 900, 901, 902, 903, 904 and 910: dispatch must follow schemaId. */
TP_TEST(test_wire_w004_dispatch_on_schema_before_template)
{
    const uint16_t schemas[] = { 900, 901, 902, 903, 904, 910 };
    const char *names[] = { "ShmPoolAnnounce", "ShmAttachRequest", "BridgeFrameChunk",
                            "SequenceMergeMapAnnounce", "TraceLinkSet", "DiscoveryRequest" };
    for (size_t i = 0; i < 6; i++) {
        const tp_sbe_message_meta_t *m = tp_codec_lookup(schemas[i], 1);
        TP_ASSERT(m);
        TP_CHECK_STR(m->body.name, names[i]);
    }
    TP_CHECK(tp_codec_lookup(900, 10) == NULL);
    TP_CHECK_EQ_I(tp_errcode(), TP_EUNKNOWN_MSG);
    TP_CHECK(tp_codec_lookup(905, 1) == NULL);
}

TP_TEST(test_driver_d034_newer_version_rejected_older_accepted)
{
    MSGGEN_FOR_EACH_MESSAGE(m) {
        msggen_t g;
        size_t n = populated(m, 7, &g);
        tp_put_u16(msg + 6, (uint16_t)(m->schema_version + 1));
        TP_CHECK_EQ_I(check_all(msg, n, m), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EVERSION);
        tp_put_u16(msg + 6, 0); /* D-34 REF: versions 0 and 1 pass */
        TP_CHECK_EQ_I(check_all(msg, n, m), (int64_t)n);
    }
}

TP_TEST(test_wire_w081_block_length_below_schema_rejected)
{
    MSGGEN_FOR_EACH_MESSAGE(m) {
        msggen_t g;
        size_t n = populated(m, 8, &g);
        tp_put_u16(msg, (uint16_t)(m->body.block_length - 1));
        TP_CHECK_EQ_I(check_all(msg, n, m), -1);
        TP_CHECK_EQ_I(tp_errcode(), TP_EMALFORMED);
        TP_CHECK(strstr(tp_errmsg(), "block length") != NULL);
        tp_put_u16(msg, 0xFFFF);
        TP_CHECK_EQ_I(check_all(msg, n, m), -1);
    }
}

/* W-81 / SBE extension rule: a longer root block (and longer group entries) of the same
 * version is read through its known prefix; groups and var data are found after the longer
 * block. Re-encoding yields exactly the canonical message built from the same seed. */
TP_TEST(test_wire_w081_longer_block_same_version_accepted)
{
    static uint8_t canon[1 << 16];
    MSGGEN_FOR_EACH_MESSAGE(m) {
        for (uint64_t seed = 1; seed <= 50; seed++) {
            msggen_t g;
            size_t n, c;
            int64_t r;
            msggen_init(&g, canon, sizeof canon, seed, m);
            g.populate = seed % 2;
            c = msggen_message(&g, m);
            msggen_init(&g, msg, sizeof msg, seed, m);
            g.populate = seed % 2;
            g.extra_block = (uint16_t)(1 + seed % 17);
            g.extra_entry = (uint16_t)(seed % 5);
            n = msggen_message(&g, m);
            TP_ASSERT(c > 0 && n > c);
            TP_CHECK_EQ_I(check_all(msg, n, m), (int64_t)n);
            r = tp_codec_reencode(msg, n, out, sizeof out);
            TP_CHECK_EQ_I(r, (int64_t)c);
            TP_CHECK_MEM(out, canon, c);
            for (size_t cut = 0; cut < n; cut += 1 + n / 64)
                TP_CHECK_EQ_I(check_all(msg, cut, m), -1);
        }
    }
}

TP_TEST(test_layout_s110_print_refuses_malformed_without_output)
{
    char *text = NULL;
    size_t text_len = 0;
    FILE *f = open_memstream(&text, &text_len);
    msggen_t g;
    const tp_sbe_message_meta_t *m = tp_codec_lookup(900, 1);
    size_t n;
    TP_ASSERT(f && m);
    n = populated(m, 9, &g);
    TP_CHECK_EQ_I(tp_codec_print(msg, n - 1, f), -1);
    fflush(f);
    TP_CHECK_EQ_U(text_len, 0);
    TP_CHECK_EQ_I(tp_codec_print(msg, n, f), (int64_t)n);
    fflush(f);
    TP_CHECK(text_len > 0 && strncmp(text, "schema=900 template=1 name=ShmPoolAnnounce version=1 block_length=35\n", 69) == 0);
    fclose(f);
    free(text);
}

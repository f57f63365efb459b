/*
 * Random, well-formed messages of any schema, built from the codec metadata tables alone (so
 * they are an independent check of the generated code): random field bytes (optional fields
 * null a quarter of the time), groups with 0..3 entries (nested included), var data of random
 * length. Positions of every group header and var-data length are recorded for mutation tests.
 *
 * `extra_block` / `extra_entry` lengthen the root block / every group entry beyond the schema's
 * (SBE extension, WIRE W-81): the added bytes are random and come from a second generator, so
 * the same seed with and without extension yields the same field values.
 */
#ifndef TP_TESTS_CODEC_MSGGEN_H
#define TP_TESTS_CODEC_MSGGEN_H

#include "codec/codec.h"

#define MSGGEN_MAX_MARKS 256

typedef struct msggen {
    uint8_t *buf;
    size_t cap, pos;
    uint64_t rng, junk_rng;
    int populate;         /* 1: every group 1..3 entries, every var data non-empty */
    uint16_t extra_block; /* bytes appended to the root block */
    uint16_t extra_entry; /* bytes appended to every group entry block */
    uint16_t version;     /* header version to write */
    size_t group_at[MSGGEN_MAX_MARKS];
    size_t ngroups;
    size_t data_at[MSGGEN_MAX_MARKS];
    uint32_t data_max[MSGGEN_MAX_MARKS];
    size_t ndata;
    int overflow;
} msggen_t;

static inline uint64_t msggen_next(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline uint8_t *msggen_take(msggen_t *g, size_t n)
{
    uint8_t *p;
    if (g->overflow || n > g->cap - g->pos) { g->overflow = 1; return NULL; }
    p = g->buf + g->pos;
    g->pos += n;
    return p;
}

static inline size_t msggen_prim_size(tp_sbe_prim_t p)
{
    switch (p) {
    case TP_SBE_INT16: case TP_SBE_UINT16: return 2;
    case TP_SBE_INT32: case TP_SBE_UINT32: case TP_SBE_FLOAT: return 4;
    case TP_SBE_INT64: case TP_SBE_UINT64: case TP_SBE_DOUBLE: return 8;
    default: return 1;
    }
}

static inline void msggen_block(msggen_t *g, const tp_sbe_block_meta_t *b, size_t extra)
{
    uint8_t *block = msggen_take(g, b->block_length + extra);
    if (!block) return;
    memset(block, 0, b->block_length + extra);
    for (size_t i = 0; i < extra; i++) block[b->block_length + i] = (uint8_t)msggen_next(&g->junk_rng);
    for (uint16_t i = 0; i < b->field_count; i++) {
        const tp_sbe_field_meta_t *f = &b->fields[i];
        size_t size = msggen_prim_size(f->prim);
        if (f->presence == TP_SBE_CONSTANT) continue;
        if (f->presence == TP_SBE_OPTIONAL && msggen_next(&g->rng) % 4 == 0) {
            uint64_t bits = f->null_bits;
            memcpy(block + f->offset, &bits, size); /* little-endian host (endian.h) */
            continue;
        }
        for (size_t k = 0; k < size * f->array_length; k++)
            block[f->offset + k] = (uint8_t)msggen_next(&g->rng);
    }
    for (uint16_t i = 0; i < b->group_count; i++) {
        const tp_sbe_block_meta_t *e = &b->groups[i];
        uint16_t count = (uint16_t)(msggen_next(&g->rng) % (g->populate ? 3 : 4) + (g->populate ? 1 : 0));
        uint8_t *h;
        if (g->ngroups < MSGGEN_MAX_MARKS) g->group_at[g->ngroups++] = g->pos;
        if (!(h = msggen_take(g, TP_SBE_GROUP_HEADER_LENGTH))) return;
        tp_put_u16(h, (uint16_t)(e->block_length + g->extra_entry));
        tp_put_u16(h + 2, count);
        for (uint16_t k = 0; k < count; k++) msggen_block(g, e, g->extra_entry);
    }
    for (uint16_t i = 0; i < b->data_count; i++) {
        uint32_t n = (uint32_t)(msggen_next(&g->rng) % 24) + (g->populate ? 1 : 0);
        bool text = msggen_next(&g->rng) % 2;
        uint8_t *p;
        if (n > b->data[i].max_length) n = b->data[i].max_length;
        if (g->ndata < MSGGEN_MAX_MARKS) {
            g->data_max[g->ndata] = b->data[i].max_length;
            g->data_at[g->ndata++] = g->pos;
        }
        if (!(p = msggen_take(g, 4 + n))) return;
        tp_put_u32(p, n);
        for (uint32_t k = 0; k < n; k++) {
            uint8_t c = (uint8_t)msggen_next(&g->rng);
            p[4 + k] = text ? (uint8_t)(0x20 + c % 95) : c;
        }
    }
}

/* Builds one message of `m` into buf; returns its length (0 if cap was too small). */
static inline size_t msggen_message(msggen_t *g, const tp_sbe_message_meta_t *m)
{
    uint8_t *h;
    g->pos = 0;
    g->ngroups = g->ndata = 0;
    g->overflow = 0;
    if (!(h = msggen_take(g, TP_SBE_HEADER_LENGTH))) return 0;
    tp_put_u16(h, (uint16_t)(m->body.block_length + g->extra_block));
    tp_put_u16(h + 2, m->template_id);
    tp_put_u16(h + 4, m->schema_id);
    tp_put_u16(h + 6, g->version);
    msggen_block(g, &m->body, g->extra_block);
    return g->overflow ? 0 : g->pos;
}

static inline void msggen_init(msggen_t *g, uint8_t *buf, size_t cap, uint64_t seed,
                               const tp_sbe_message_meta_t *m)
{
    memset(g, 0, sizeof *g);
    g->buf = buf;
    g->cap = cap;
    g->rng = seed;
    g->junk_rng = ~seed;
    g->version = m->schema_version;
}

/* Calls fn(meta, clientd) for every message of every known schema. */
#define MSGGEN_FOR_EACH_MESSAGE(var)                                                  \
    for (size_t s_ = 0; s_ < tp_codec_schema_count(); s_++)                          \
        for (uint16_t t_ = 0; t_ < tp_codec_schema_at(s_)->message_count; t_++)       \
            for (const tp_sbe_message_meta_t *var = tp_codec_schema_at(s_)->messages[t_]; \
                 var; var = NULL)

#endif

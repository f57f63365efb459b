/*
 * SBE runtime shared by the generated codecs in src/codec/gen/ (LAYOUT §1).
 *
 * The generated encoders and decoders are static inline functions built from these helpers,
 * so every bounds check is written once, here:
 *
 *   decode side   tp_sbe_need()          the buffer holds `n` more bytes at `pos`
 *                 tp_sbe_header_check()  header present, (schemaId, templateId) match,
 *                                        version <= schema version, blockLength >= known
 *                 tp_sbe_group_open()    group header in bounds, entry blockLength >= known
 *                 tp_sbe_data_get()      u32 length <= maxValue and inside the buffer
 *   encode side   tp_sbe_room()          capacity check (TP_ETOOBIG)
 *                 tp_sbe_group_put(), tp_sbe_data_put()
 *
 * Views: a decoded tp_sbe_data_t points into the caller's buffer (no copy); it stays valid as
 * long as that buffer does. A decoded tp_sbe_group_t is a cursor over the group's entries in the
 * same buffer; copy it before iterating if you need to iterate twice.
 *
 * Errors: decoders set TP_EMALFORMED (lengths), TP_EUNKNOWN_MSG (schema/template mismatch) or
 * TP_EVERSION (DRIVER D-34); encoders set TP_ETOOBIG (capacity) or TP_EINVAL (bad input). The
 * messages name the field path, e.g. "payloadPools[1]: regionUri: truncated: need 90 bytes,
 * have 80".
 */
#ifndef TP_CODEC_SBE_H
#define TP_CODEC_SBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/endian.h"
#include "util/error.h"

#define TP_SBE_HEADER_LENGTH 8       /* messageHeader: blockLength, templateId, schemaId, version */
#define TP_SBE_GROUP_HEADER_LENGTH 4 /* groupSizeEncoding: blockLength u16, numInGroup u16 */
#define TP_SBE_DATA_HEADER_LENGTH 4  /* var data: u32 length, then the bytes */

typedef struct tp_sbe_header {
    uint16_t block_length;
    uint16_t template_id;
    uint16_t schema_id;
    uint16_t version;
} tp_sbe_header_t;

/* Var data: `length` bytes at `data`. Length 0 means absent (WIRE W-79); data may be NULL then. */
typedef struct tp_sbe_data {
    const uint8_t *data;
    uint32_t length;
} tp_sbe_data_t;

/*
 * A repeating group, used both ways:
 *   encode: set `entries` to an array of `count` entry structs of the group's generated type
 *           (tp_sbe_entries() does that); the other members are ignored.
 *   decode: the decoder fills `count`, `block_length` (from the group header) and the cursor
 *           (`buf`, `pos`, `end`, `index`); `<group>_next()` decodes one entry per call.
 */
typedef struct tp_sbe_group {
    uint16_t count;        /* numInGroup */
    uint16_t block_length; /* decode: entry block length found in the group header */
    uint16_t index;        /* decode: entries already returned by _next() */
    const void *entries;   /* encode: `count` entry structs */
    const uint8_t *buf;    /* decode: the message buffer ... */
    size_t pos;            /* ... offset of the next entry ... */
    size_t end;            /* ... and its end */
} tp_sbe_group_t;

static inline tp_sbe_data_t tp_sbe_bytes(const void *data, uint32_t length)
{
    tp_sbe_data_t d = { (const uint8_t *)data, length };
    return d;
}

static inline tp_sbe_data_t tp_sbe_str(const char *s)
{
    return tp_sbe_bytes(s, s ? (uint32_t)strlen(s) : 0);
}

static inline tp_sbe_group_t tp_sbe_entries(const void *entries, uint16_t count)
{
    tp_sbe_group_t g;
    memset(&g, 0, sizeof g);
    g.entries = entries;
    g.count = count;
    return g;
}

/* ---- decode ---------------------------------------------------------------------------- */

/* The buffer of `len` bytes holds `n` bytes at `pos`. Overflow-safe. */
static inline int tp_sbe_need(size_t len, size_t pos, size_t n)
{
    if (pos > len || n > len - pos)
        return tp_err_set(TP_EMALFORMED, "truncated: need %zu bytes, have %zu", pos + n, len);
    return 0;
}

static inline int tp_sbe_header_read(const uint8_t *buf, size_t len, tp_sbe_header_t *h)
{
    if (tp_sbe_need(len, 0, TP_SBE_HEADER_LENGTH) < 0) return -1;
    h->block_length = tp_get_u16(buf);
    h->template_id = tp_get_u16(buf + 2);
    h->schema_id = tp_get_u16(buf + 4);
    h->version = tp_get_u16(buf + 6);
    return 0;
}

static inline void tp_sbe_header_write(uint8_t *buf, const tp_sbe_header_t *h)
{
    tp_put_u16(buf, h->block_length);
    tp_put_u16(buf + 2, h->template_id);
    tp_put_u16(buf + 4, h->schema_id);
    tp_put_u16(buf + 6, h->version);
}

/*
 * LAYOUT §1.10: schemaId before templateId (WIRE W-4, template ids collide across schemas);
 * a newer version is refused (DRIVER D-34); a block shorter than ours is malformed, a longer
 * one is an extension of the same version that we read by its known prefix (WIRE W-81).
 */
static inline int tp_sbe_header_check(const uint8_t *buf, size_t len, uint16_t schema_id,
                                      uint16_t schema_version, uint16_t template_id,
                                      uint16_t block_length, tp_sbe_header_t *h)
{
    if (tp_sbe_header_read(buf, len, h) < 0) return -1;
    if (h->schema_id != schema_id)
        return tp_err_set(TP_EUNKNOWN_MSG, "schema %u, expected %u", h->schema_id, schema_id);
    if (h->template_id != template_id)
        return tp_err_set(TP_EUNKNOWN_MSG, "template %u of schema %u, expected %u",
                          h->template_id, schema_id, template_id);
    if (h->version > schema_version)
        return tp_err_set(TP_EVERSION, "version %u of schema %u is newer than %u", h->version,
                          schema_id, schema_version);
    if (h->block_length < block_length)
        return tp_err_set(TP_EMALFORMED, "block length %u < %u", h->block_length, block_length);
    return tp_sbe_need(len, TP_SBE_HEADER_LENGTH, h->block_length);
}

/* Reads a group header at *pos and points the cursor at the first entry (LAYOUT §1.6). */
static inline int tp_sbe_group_open(const uint8_t *buf, size_t len, size_t *pos,
                                    uint16_t entry_length, tp_sbe_group_t *g)
{
    memset(g, 0, sizeof *g);
    if (tp_sbe_need(len, *pos, TP_SBE_GROUP_HEADER_LENGTH) < 0) return -1;
    g->block_length = tp_get_u16(buf + *pos);
    g->count = tp_get_u16(buf + *pos + 2);
    if (g->block_length < entry_length) {
        g->count = 0; /* a cursor over nothing if the caller iterates anyway */
        return tp_err_set(TP_EMALFORMED, "group block length %u < %u", g->block_length,
                          entry_length);
    }
    *pos += TP_SBE_GROUP_HEADER_LENGTH;
    g->buf = buf;
    g->pos = *pos;
    g->end = len;
    return 0;
}

/* Reads a u32-length var-data field at *pos (LAYOUT §1.7); the bytes stay in the buffer. */
static inline int tp_sbe_data_get(const uint8_t *buf, size_t len, size_t *pos, uint32_t max,
                                  tp_sbe_data_t *d)
{
    uint32_t n;
    d->data = NULL; /* defined on every path: callers' views never hold garbage */
    d->length = 0;
    if (tp_sbe_need(len, *pos, TP_SBE_DATA_HEADER_LENGTH) < 0) return -1;
    n = tp_get_u32(buf + *pos);
    if (n > max) return tp_err_set(TP_EMALFORMED, "length %u > max %u", n, max);
    if (tp_sbe_need(len, *pos + TP_SBE_DATA_HEADER_LENGTH, n) < 0) return -1;
    d->data = buf + *pos + TP_SBE_DATA_HEADER_LENGTH;
    d->length = n;
    *pos += TP_SBE_DATA_HEADER_LENGTH + (size_t)n;
    return 0;
}

/* ---- encode ---------------------------------------------------------------------------- */

static inline int tp_sbe_room(size_t cap, size_t pos, size_t n)
{
    if (n > cap || pos > cap - n)
        return tp_err_set(TP_ETOOBIG, "buffer too small: need %zu bytes, have %zu", pos + n, cap);
    return 0;
}

static inline int tp_sbe_group_put(uint8_t *buf, size_t cap, size_t *pos, uint16_t entry_length,
                                   const tp_sbe_group_t *g)
{
    if (g->count > 0 && !g->entries)
        return tp_err_set(TP_EINVAL, "%u entries but no entry array", g->count);
    if (tp_sbe_room(cap, *pos, TP_SBE_GROUP_HEADER_LENGTH) < 0) return -1;
    tp_put_u16(buf + *pos, entry_length);
    tp_put_u16(buf + *pos + 2, g->count);
    *pos += TP_SBE_GROUP_HEADER_LENGTH;
    return 0;
}

static inline int tp_sbe_data_put(uint8_t *buf, size_t cap, size_t *pos, uint32_t max,
                                  const tp_sbe_data_t *d)
{
    if (d->length > max) return tp_err_set(TP_EINVAL, "length %u > max %u", d->length, max);
    if (d->length > 0 && !d->data) return tp_err_set(TP_EINVAL, "length %u but no data", d->length);
    if (tp_sbe_room(cap, *pos, TP_SBE_DATA_HEADER_LENGTH + (size_t)d->length) < 0) return -1;
    tp_put_u32(buf + *pos, d->length);
    if (d->length) memcpy(buf + *pos + TP_SBE_DATA_HEADER_LENGTH, d->data, d->length);
    *pos += TP_SBE_DATA_HEADER_LENGTH + (size_t)d->length;
    return 0;
}

#endif

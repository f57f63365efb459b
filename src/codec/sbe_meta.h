/*
 * Schema metadata emitted by tools/sbe_gen.py (src/codec/gen/tp_sbe_*_meta.h): every message's
 * fields in schema order with offsets, primitive types, enum names, null values and the
 * group/var-data structure. The generic walker in codec.c (tp_codec_print) runs on these tables,
 * so one printer serves every schema. Only codec.c includes the tables themselves
 * (gen/tp_sbe_registry.h); everyone else reaches them through codec.h.
 */
#ifndef TP_CODEC_SBE_META_H
#define TP_CODEC_SBE_META_H

#include <stdint.h>

#include "codec/sbe.h"

typedef enum tp_sbe_prim {
    TP_SBE_CHAR,
    TP_SBE_INT8,
    TP_SBE_UINT8,
    TP_SBE_INT16,
    TP_SBE_UINT16,
    TP_SBE_INT32,
    TP_SBE_UINT32,
    TP_SBE_INT64,
    TP_SBE_UINT64,
    TP_SBE_FLOAT,
    TP_SBE_DOUBLE
} tp_sbe_prim_t;

typedef enum tp_sbe_presence {
    TP_SBE_REQUIRED,
    TP_SBE_OPTIONAL, /* `null_bits` is the sentinel meaning "absent" (WIRE W-78) */
    TP_SBE_CONSTANT  /* occupies no bytes; `constant` is the value text (LAYOUT §1.5) */
} tp_sbe_presence_t;

typedef struct tp_sbe_enum_value {
    const char *name;
    int64_t value;
} tp_sbe_enum_value_t;

typedef struct tp_sbe_enum_meta {
    const char *name;
    tp_sbe_prim_t encoding;
    const tp_sbe_enum_value_t *values;
    uint16_t value_count;
} tp_sbe_enum_meta_t;

typedef struct tp_sbe_field_meta {
    const char *name;         /* schema name (camelCase), printed as is */
    uint16_t id;
    const char *type_name;    /* schema type name ("epoch_t", "Dtype", "uint32") */
    tp_sbe_prim_t prim;
    uint16_t offset;          /* inside the block */
    uint16_t array_length;    /* 1 for scalars; from <type length="N"> */
    tp_sbe_presence_t presence;
    uint64_t null_bits;       /* optional: the null, as the field's bytes zero-extended */
    const char *constant;     /* constant: the value */
    const tp_sbe_enum_meta_t *enum_type; /* NULL unless the type is an <enum> */
} tp_sbe_field_meta_t;

typedef struct tp_sbe_data_meta {
    const char *name;
    uint16_t id;
    const char *type_name;
    uint32_t max_length;      /* the length type's maxValue (2^30 unless narrowed) */
} tp_sbe_data_meta_t;

/* A message root block or a group entry: fixed fields, then groups, then var data (§1.8). */
typedef struct tp_sbe_block_meta {
    const char *name;         /* message or group name */
    uint16_t id;              /* template id or group id */
    uint16_t block_length;    /* known (schema) block length */
    const tp_sbe_field_meta_t *fields;
    uint16_t field_count;
    const struct tp_sbe_block_meta *groups;
    uint16_t group_count;
    const tp_sbe_data_meta_t *data;
    uint16_t data_count;
} tp_sbe_block_meta_t;

/* Full validation by the generated decoder: message length, or -1 with the error set. */
typedef int64_t (*tp_sbe_validate_fn)(const uint8_t *buf, size_t len);

/* Decode with the generated decoder, then encode the struct again into out (canonical form:
 * schema block lengths, padding zeroed). Length written, or -1 with the error set. */
typedef int64_t (*tp_sbe_reencode_fn)(const uint8_t *buf, size_t len, uint8_t *out, size_t cap);

typedef struct tp_sbe_message_meta {
    uint16_t schema_id;
    uint16_t schema_version;
    uint16_t template_id;
    tp_sbe_block_meta_t body;
    tp_sbe_validate_fn validate;
    tp_sbe_reencode_fn reencode;
} tp_sbe_message_meta_t;

typedef struct tp_sbe_schema_meta {
    const char *package;
    uint16_t id;
    uint16_t version;
    const tp_sbe_message_meta_t *const *messages;
    uint16_t message_count;
} tp_sbe_schema_meta_t;

#endif

/*
 * The codec layer: generated SBE codecs for every tensorpool schema plus a dispatcher and a
 * generic printer (DESIGN.md §1, LAYOUT §1, docs/codec.md).
 *
 * Typed access goes through the generated headers included below (one per schema,
 * tp_sbe_<package>_<message>_encode/_decode, see the comment at the top of each). This header
 * adds what works on "any message":
 *
 *   tp_codec_lookup()    (schemaId, templateId) -> metadata; schemaId first, because template
 *                        ids collide across schemas (WIRE W-4)
 *   tp_codec_validate()  full validation of any known message by its generated decoder
 *   tp_codec_print()     validates, then prints key=value lines (the `tensorpool decode` format)
 *
 * All functions are thread-safe (no shared state) and never read outside [buf, buf + len).
 */
#ifndef TP_CODEC_CODEC_H
#define TP_CODEC_CODEC_H

#include <stdint.h>
#include <stdio.h>

#include "codec/sbe.h"
#include "codec/sbe_meta.h"
#include "codec/gen/tp_sbe_bridge.h"
#include "codec/gen/tp_sbe_control.h"
#include "codec/gen/tp_sbe_discovery.h"
#include "codec/gen/tp_sbe_driver.h"
#include "codec/gen/tp_sbe_merge.h"
#include "codec/gen/tp_sbe_tracelink.h"

/* Metadata of a known schema, or NULL. Static storage. */
const tp_sbe_schema_meta_t *tp_codec_schema(uint16_t schema_id);

/* The known schemas, by ascending id: index 0 .. tp_codec_schema_count() - 1. */
size_t tp_codec_schema_count(void);
const tp_sbe_schema_meta_t *tp_codec_schema_at(size_t index);

/* Metadata of a known message, or NULL with TP_EUNKNOWN_MSG set. Static storage. */
const tp_sbe_message_meta_t *tp_codec_lookup(uint16_t schema_id, uint16_t template_id);

/*
 * Validates one message of any known schema (header, version, block length, groups, var data)
 * with its generated decoder. Returns the message length (which may be less than len) or -1
 * with TP_EMALFORMED, TP_EUNKNOWN_MSG or TP_EVERSION set. `header` and `meta` may be NULL.
 */
int64_t tp_codec_validate(const uint8_t *buf, size_t len, tp_sbe_header_t *header,
                          const tp_sbe_message_meta_t **meta);

/*
 * The same validation done by walking the metadata tables instead of the generated code. The
 * printer runs on this walker; tests and the fuzz target check that both always agree.
 */
int64_t tp_codec_validate_generic(const uint8_t *buf, size_t len);

/*
 * Decodes any known message with its generated decoder and encodes it again into out (header
 * version = schema version, schema block lengths, padding and unknown extension bytes dropped).
 * Allocates temporary entry arrays for groups, so it is not for hot paths. Length or -1.
 */
int64_t tp_codec_reencode(const uint8_t *buf, size_t len, uint8_t *out, size_t cap);

/*
 * Validates, then writes
 *     schema=<id> template=<id> name=<Name> version=<v> block_length=<n>
 * and one `<field>=<value>` line per field in schema order (groups as `<group>[<i>].<field>`,
 * enums by name, optional nulls as `null`, arrays comma-separated, var data as text when all
 * bytes are printable ASCII, else `hex:<lowercase hex>`). Nothing is written when the message
 * is invalid. Returns the message length or -1.
 */
int64_t tp_codec_print(const uint8_t *buf, size_t len, FILE *out);

#endif

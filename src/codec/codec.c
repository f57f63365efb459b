/*
 * Dispatch by (schemaId, templateId) and the generic, metadata-driven walker behind
 * tp_codec_print(). The walker checks every length itself (it never trusts that the generated
 * decoder ran first), so the two implementations cross-check each other in tests and fuzzing.
 */
#include "codec/codec.h"

#include <inttypes.h>
#include <string.h>

#include "codec/gen/tp_sbe_registry.h"

const tp_sbe_schema_meta_t *tp_codec_schema(uint16_t schema_id)
{
    for (size_t i = 0; i < TP_SBE_REGISTRY_COUNT; i++)
        if (tp_sbe_registry[i]->id == schema_id) return tp_sbe_registry[i];
    return NULL;
}

size_t tp_codec_schema_count(void) { return TP_SBE_REGISTRY_COUNT; }

const tp_sbe_schema_meta_t *tp_codec_schema_at(size_t index)
{
    return index < TP_SBE_REGISTRY_COUNT ? tp_sbe_registry[index] : NULL;
}

const tp_sbe_message_meta_t *tp_codec_lookup(uint16_t schema_id, uint16_t template_id)
{
    const tp_sbe_schema_meta_t *s = tp_codec_schema(schema_id); /* WIRE W-4: schema first */
    if (!s) {
        tp_err_set(TP_EUNKNOWN_MSG, "unknown schema %u", schema_id);
        return NULL;
    }
    for (uint16_t i = 0; i < s->message_count; i++)
        if (s->messages[i]->template_id == template_id) return s->messages[i];
    tp_err_set(TP_EUNKNOWN_MSG, "unknown template %u of schema %u", template_id, schema_id);
    return NULL;
}

int64_t tp_codec_validate(const uint8_t *buf, size_t len, tp_sbe_header_t *header,
                          const tp_sbe_message_meta_t **meta)
{
    tp_sbe_header_t h;
    const tp_sbe_message_meta_t *m;
    if (tp_sbe_header_read(buf, len, &h) < 0) return -1;
    if (!(m = tp_codec_lookup(h.schema_id, h.template_id))) return -1;
    if (header) *header = h;
    if (meta) *meta = m;
    return m->validate(buf, len);
}

int64_t tp_codec_reencode(const uint8_t *buf, size_t len, uint8_t *out, size_t cap)
{
    const tp_sbe_message_meta_t *m;
    if (tp_codec_validate(buf, len, NULL, &m) < 0) return -1;
    return m->reencode(buf, len, out, cap);
}

/* ---- the generic walker ---------------------------------------------------------------- */

#define PATH_MAX_LEN 256

typedef struct walker {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    FILE *out;               /* NULL: validate only */
    char path[PATH_MAX_LEN]; /* "" or "results[0].payloadPools[2]." */
} walker_t;

static size_t prim_size(tp_sbe_prim_t p)
{
    switch (p) {
    case TP_SBE_INT16: case TP_SBE_UINT16: return 2;
    case TP_SBE_INT32: case TP_SBE_UINT32: case TP_SBE_FLOAT: return 4;
    case TP_SBE_INT64: case TP_SBE_UINT64: case TP_SBE_DOUBLE: return 8;
    default: return 1;
    }
}

static uint64_t read_bits(const uint8_t *p, size_t size)
{
    switch (size) {
    case 1: return tp_get_u8(p);
    case 2: return tp_get_u16(p);
    case 4: return tp_get_u32(p);
    default: return tp_get_u64(p);
    }
}

static int64_t sign_extend(uint64_t bits, size_t size)
{
    switch (size) {
    case 1: return (int8_t)bits;
    case 2: return (int16_t)bits;
    case 4: return (int32_t)bits;
    default: return (int64_t)bits;
    }
}

static bool prim_signed(tp_sbe_prim_t p)
{
    return p == TP_SBE_INT8 || p == TP_SBE_INT16 || p == TP_SBE_INT32 || p == TP_SBE_INT64;
}

static void print_enum(FILE *out, const tp_sbe_enum_meta_t *e, int64_t v)
{
    for (uint16_t i = 0; i < e->value_count; i++)
        if (e->values[i].value == v) { fputs(e->values[i].name, out); return; }
    fprintf(out, "%" PRId64, v); /* undefined numbers print as numbers (WIRE W-190) */
}

static void print_value(FILE *out, const tp_sbe_field_meta_t *f, const uint8_t *p)
{
    size_t size = prim_size(f->prim);
    uint64_t bits = read_bits(p, size);
    if (f->prim == TP_SBE_FLOAT) {
        float v = tp_get_f32(p);
        fprintf(out, "%.9g", (double)v);
    } else if (f->prim == TP_SBE_DOUBLE) {
        fprintf(out, "%.17g", tp_get_f64(p));
    } else if (f->enum_type) {
        print_enum(out, f->enum_type, prim_signed(f->prim) ? sign_extend(bits, size) : (int64_t)bits);
    } else if (prim_signed(f->prim)) {
        fprintf(out, "%" PRId64, sign_extend(bits, size));
    } else {
        fprintf(out, "%" PRIu64, bits);
    }
}

static void print_field(walker_t *w, const tp_sbe_field_meta_t *f, const uint8_t *block)
{
    fprintf(w->out, "%s%s=", w->path, f->name);
    if (f->presence == TP_SBE_CONSTANT) {
        fputs(f->constant, w->out);
    } else if (f->presence == TP_SBE_OPTIONAL &&
               read_bits(block + f->offset, prim_size(f->prim)) == f->null_bits) {
        fputs("null", w->out);
    } else {
        for (uint16_t k = 0; k < f->array_length; k++) {
            if (k) fputc(',', w->out);
            print_value(w->out, f, block + f->offset + k * prim_size(f->prim));
        }
    }
    fputc('\n', w->out);
}

static void print_data(walker_t *w, const char *name, const uint8_t *p, uint32_t n)
{
    bool text = true;
    for (uint32_t i = 0; i < n && text; i++) text = p[i] >= 0x20 && p[i] <= 0x7e;
    fprintf(w->out, "%s%s=", w->path, name);
    if (text) {
        fwrite(p, 1, n, w->out);
    } else {
        fputs("hex:", w->out);
        for (uint32_t i = 0; i < n; i++) fprintf(w->out, "%02x", p[i]);
    }
    fputc('\n', w->out);
}

static int walk_block(walker_t *w, const tp_sbe_block_meta_t *b, size_t block_length);

static int walk_group(walker_t *w, const tp_sbe_block_meta_t *g)
{
    tp_sbe_group_t cursor;
    size_t saved = strlen(w->path);
    if (tp_sbe_group_open(w->buf, w->len, &w->pos, g->block_length, &cursor) < 0)
        return tp_err_push("%s", g->name);
    for (uint16_t i = 0; i < cursor.count; i++) {
        snprintf(w->path + saved, sizeof w->path - saved, "%s[%u].", g->name, i);
        if (walk_block(w, g, cursor.block_length) < 0) {
            w->path[saved] = '\0';
            return tp_err_push("%s[%u]", g->name, i);
        }
    }
    w->path[saved] = '\0';
    return 0;
}

/* LAYOUT §1.8: block, then groups, then var data; the block is `block_length` bytes long
 * (from the header), of which the schema knows the first b->block_length. */
static int walk_block(walker_t *w, const tp_sbe_block_meta_t *b, size_t block_length)
{
    const uint8_t *block;
    if (tp_sbe_need(w->len, w->pos, block_length) < 0) return -1;
    block = w->buf + w->pos;
    if (w->out)
        for (uint16_t i = 0; i < b->field_count; i++) print_field(w, &b->fields[i], block);
    w->pos += block_length;
    for (uint16_t i = 0; i < b->group_count; i++)
        if (walk_group(w, &b->groups[i]) < 0) return -1;
    for (uint16_t i = 0; i < b->data_count; i++) {
        tp_sbe_data_t d = { NULL, 0 };
        if (tp_sbe_data_get(w->buf, w->len, &w->pos, b->data[i].max_length, &d) < 0)
            return tp_err_push("%s", b->data[i].name);
        if (w->out) print_data(w, b->data[i].name, d.data, d.length);
    }
    return 0;
}

static int64_t walk(const uint8_t *buf, size_t len, FILE *out)
{
    walker_t w = { buf, len, TP_SBE_HEADER_LENGTH, out, "" };
    const tp_sbe_message_meta_t *m;
    tp_sbe_header_t h;
    if (tp_sbe_header_read(buf, len, &h) < 0) return -1;
    if (!(m = tp_codec_lookup(h.schema_id, h.template_id))) return -1;
    if (tp_sbe_header_check(buf, len, m->schema_id, m->schema_version, m->template_id,
                            m->body.block_length, &h) < 0)
        return -1;
    if (out)
        fprintf(out, "schema=%u template=%u name=%s version=%u block_length=%u\n", h.schema_id,
                h.template_id, m->body.name, h.version, h.block_length);
    if (walk_block(&w, &m->body, h.block_length) < 0) return -1;
    return (int64_t)w.pos;
}

int64_t tp_codec_validate_generic(const uint8_t *buf, size_t len)
{
    return walk(buf, len, NULL);
}

int64_t tp_codec_print(const uint8_t *buf, size_t len, FILE *out)
{
    int64_t n = tp_codec_validate(buf, len, NULL, NULL);
    if (n < 0) return -1;
    /* Both validators accept before the first byte is printed: no partial output. */
    if (tp_codec_validate_generic(buf, len) != n)
        return tp_err_set(TP_EMALFORMED, "internal: generic walker disagrees with decoder");
    return walk(buf, len, out);
}

/*
 * TOML 1.0.0 document grammar and tree (the scanner is toml_lex.c).
 *
 * Memory: every node, key, string and child list of a document lives in an arena of large
 * blocks owned by the document, so freeing is one walk over the blocks, never a recursive
 * walk over a tree an attacker shaped. Child lists grow by doubling inside the arena (the
 * abandoned copies cost at most as much again). Table lookups go through one open-addressing
 * index keyed by (parent node, key), which keeps parsing linear in the input.
 *
 * Table rules (TOML 1.0.0 "Table" and "Inline Table"; the same model as tomli's flags):
 *  - a table named in a [header] is EXPLICIT and cannot be named by a header again;
 *  - tables created or extended by dotted keys are PENDING while their section lasts and
 *    become EXPLICIT at the next header, so neither a header nor dotted keys of a later
 *    section can reopen them;
 *  - inline tables and static arrays are FROZEN: nothing may be added to them afterwards;
 *  - array-of-tables arrays (AOT) are only extended by [[header]]; a header path through
 *    one continues in its last element.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/toml_internal.h"

#define TOML_F_EXPLICIT 1u
#define TOML_F_PENDING 2u
#define TOML_F_FROZEN 4u
#define TOML_F_AOT 8u

#define ARENA_BLOCK 65536
#define ARENA_ALIGN 16

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
} arena_block_t;

/* Blocks start with their header, rounded up so the data is aligned for any node. */
#define BLOCK_HDR (((sizeof(arena_block_t) + ARENA_ALIGN - 1) / ARENA_ALIGN) * ARENA_ALIGN)

/* ---- arena ------------------------------------------------------------------------------ */

static void *arena_alloc(tp_toml_doc_t *doc, size_t size)
{
    arena_block_t *b = doc->blocks;
    size = (size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > ARENA_BLOCK / 4 ? size : ARENA_BLOCK;
        b = calloc(1, BLOCK_HDR + cap);
        if (!b) {
            tp_err_set(TP_ENOMEM, "toml: out of memory (%zu bytes)", cap);
            return NULL;
        }
        b->cap = cap;
        /* A one-off large block goes behind the current one so the current one keeps
         * serving small allocations. */
        if (doc->blocks && cap != ARENA_BLOCK) {
            b->next = doc->blocks->next;
            doc->blocks->next = b;
        } else {
            b->next = doc->blocks;
            doc->blocks = b;
        }
    }
    b->used += size;
    return (char *)b + BLOCK_HDR + b->used - size;
}

static char *arena_strndup(tp_toml_doc_t *doc, const char *s, size_t n)
{
    char *d = arena_alloc(doc, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* ---- index of table entries ------------------------------------------------------------- */

static size_t key_hash(const tp_toml_node_t *parent, const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ ((uint64_t)(uintptr_t)parent * 0x9E3779B97F4A7C15ull);
    size_t i;
    for (i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    return (size_t)(h ^ (h >> 29));
}

tp_toml_node_t *tp_toml_index_find(const tp_toml_doc_t *doc, const tp_toml_node_t *parent,
                                   const char *key, size_t len)
{
    size_t mask = doc->index_cap - 1, i;
    tp_toml_node_t *n;
    if (doc->index_cap == 0)
        return NULL;
    for (i = key_hash(parent, key, len) & mask; (n = doc->index[i]) != NULL; i = (i + 1) & mask)
        if (n->parent == parent && n->keylen == len && memcmp(n->key, key, len) == 0)
            return n;
    return NULL;
}

static void index_place(tp_toml_node_t **slots, size_t cap, tp_toml_node_t *n)
{
    size_t i = key_hash(n->parent, n->key, n->keylen) & (cap - 1);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = n;
}

static int index_insert(tp_toml_doc_t *doc, tp_toml_node_t *n)
{
    if ((doc->index_count + 1) * 2 > doc->index_cap) {
        size_t cap = doc->index_cap ? doc->index_cap * 2 : 64, i;
        tp_toml_node_t **slots = calloc(cap, sizeof *slots);
        if (!slots)
            return tp_err_set(TP_ENOMEM, "toml: out of memory for the key index");
        for (i = 0; i < doc->index_cap; i++)
            if (doc->index[i])
                index_place(slots, cap, doc->index[i]);
        free(doc->index);
        doc->index = slots;
        doc->index_cap = cap;
    }
    index_place(doc->index, doc->index_cap, n);
    doc->index_count++;
    return 0;
}

/* ---- tree ------------------------------------------------------------------------------- */

static int list_append(tp_toml_doc_t *doc, tp_toml_node_t *parent, tp_toml_node_t *child)
{
    if (parent->u.list.count == parent->u.list.cap) {
        size_t cap = parent->u.list.cap ? parent->u.list.cap * 2 : 4;
        tp_toml_node_t **items = arena_alloc(doc, cap * sizeof *items);
        if (!items)
            return -1;
        if (parent->u.list.count)
            memcpy(items, parent->u.list.items, parent->u.list.count * sizeof *items);
        parent->u.list.items = items;
        parent->u.list.cap = cap;
    }
    parent->u.list.items[parent->u.list.count++] = child;
    return 0;
}

/* A node one level below parent_depth, placed at (line, column). */
static tp_toml_node_t *new_node(tp_toml_parser_t *p, int parent_depth, int line, int column)
{
    tp_toml_node_t *n;
    if (parent_depth >= TP_TOML_MAX_DEPTH) {
        tp_toml_lex_error(p, "nesting deeper than %d levels", TP_TOML_MAX_DEPTH);
        return NULL;
    }
    n = arena_alloc(p->doc, sizeof *n);
    if (n) {
        n->doc = p->doc;
        n->depth = parent_depth + 1;
        n->line = line;
        n->column = column;
    }
    return n;
}

/* Give child the key in p->scratch and append it to table. */
static int table_add(tp_toml_parser_t *p, tp_toml_node_t *table, tp_toml_node_t *child)
{
    child->key = arena_strndup(p->doc, p->scratch, p->scratch_len);
    if (!child->key)
        return -1;
    child->keylen = p->scratch_len;
    child->parent = table;
    if (list_append(p->doc, table, child) != 0)
        return -1;
    return index_insert(p->doc, child);
}

static tp_toml_node_t *scratch_lookup(const tp_toml_parser_t *p, const tp_toml_node_t *table)
{
    return tp_toml_index_find(p->doc, table, p->scratch, p->scratch_len);
}

/* The current key for a message: at most 60 bytes, control bytes shown as '?'. */
static const char *key_text(const tp_toml_parser_t *p, char out[64])
{
    size_t i, n = p->scratch_len < 60 ? p->scratch_len : 60;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p->scratch[i];
        out[i] = (char)(c < 0x20 || c == 0x7F ? '?' : c);
    }
    out[n] = '\0';
    return out;
}

static int mark_pending(tp_toml_parser_t *p, tp_toml_node_t *t)
{
    tp_toml_doc_t *doc = p->doc;
    if (t->flags & TOML_F_PENDING)
        return 0;
    if (doc->npending == doc->pending_cap) {
        size_t cap = doc->pending_cap ? doc->pending_cap * 2 : 16;
        tp_toml_node_t **grown = realloc(doc->pending, cap * sizeof *grown);
        if (!grown)
            return tp_err_set(TP_ENOMEM, "toml: out of memory");
        doc->pending = grown;
        doc->pending_cap = cap;
    }
    t->flags |= TOML_F_PENDING;
    doc->pending[doc->npending++] = t;
    return 0;
}

/* A header ends the section: tables built by its dotted keys are now closed. */
static void finish_section(tp_toml_doc_t *doc)
{
    size_t i;
    for (i = 0; i < doc->npending; i++)
        doc->pending[i]->flags = (doc->pending[i]->flags & ~TOML_F_PENDING) | TOML_F_EXPLICIT;
    doc->npending = 0;
}

/* ---- lexical helpers -------------------------------------------------------------------- */

static int peek(const tp_toml_parser_t *p)
{
    return p->pos < p->len ? (unsigned char)p->buf[p->pos] : -1;
}

static int column(const tp_toml_parser_t *p) { return (int)(p->pos - p->line_start + 1); }

static void skip_blanks(tp_toml_parser_t *p)
{
    while (peek(p) == ' ' || peek(p) == '\t')
        p->pos++;
}

/* A comment up to (not including) the end of the line. */
static int skip_comment(tp_toml_parser_t *p)
{
    int c;
    p->pos++;
    while ((c = peek(p)) >= 0 && c != '\n') {
        if (c == '\r' && p->pos + 1 < p->len && p->buf[p->pos + 1] == '\n')
            break;
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return tp_toml_lex_error(p, "control character U+%04X in a comment", (unsigned)c);
        p->pos++;
    }
    return 0;
}

/* Blanks, newlines and comments, as allowed between array elements. */
static int skip_space(tp_toml_parser_t *p)
{
    for (;;) {
        int c = peek(p);
        if (c == ' ' || c == '\t')
            p->pos++;
        else if (c == '\n' || c == '\r') {
            if (tp_toml_lex_newline(p) != 0)
                return -1;
        } else if (c == '#') {
            if (skip_comment(p) != 0)
                return -1;
        } else
            return 0;
    }
}

/* After a key/value pair or a header only a comment may follow on the line. */
static int end_of_line(tp_toml_parser_t *p, const char *after)
{
    int c;
    skip_blanks(p);
    if (peek(p) == '#' && skip_comment(p) != 0)
        return -1;
    c = peek(p);
    if (c < 0)
        return 0;
    if (c == '\n' || c == '\r')
        return tp_toml_lex_newline(p);
    return tp_toml_lex_error(p, "expected a newline after %s", after);
}

/* ---- values ----------------------------------------------------------------------------- */

static int parse_keyval(tp_toml_parser_t *p, tp_toml_node_t *table, int in_inline);
static int parse_value(tp_toml_parser_t *p, tp_toml_node_t *n);

static int parse_array(tp_toml_parser_t *p, tp_toml_node_t *arr)
{
    arr->kind = TP_TOML_ARRAY;
    p->pos++;
    for (;;) {
        tp_toml_node_t *elem;
        if (skip_space(p) != 0)
            return -1;
        if (peek(p) == ']')
            break;
        elem = new_node(p, arr->depth, p->line, column(p));
        if (!elem || parse_value(p, elem) != 0 || list_append(p->doc, arr, elem) != 0)
            return -1;
        if (skip_space(p) != 0)
            return -1;
        if (peek(p) == ',') {
            p->pos++;
            continue;
        }
        if (peek(p) != ']')
            return tp_toml_lex_error(p, peek(p) < 0 ? "unterminated array"
                                                    : "expected ',' or ']' in an array");
        break;
    }
    p->pos++;
    arr->flags |= TOML_F_FROZEN;
    return 0;
}

/* { k = v, ... } on one line; no trailing comma in TOML 1.0.0. */
static int parse_inline_table(tp_toml_parser_t *p, tp_toml_node_t *t)
{
    t->kind = TP_TOML_TABLE;
    p->pos++;
    skip_blanks(p);
    if (peek(p) != '}') {
        for (;;) {
            if (parse_keyval(p, t, 1) != 0)
                return -1;
            skip_blanks(p);
            if (peek(p) == '}')
                break;
            if (peek(p) != ',')
                return tp_toml_lex_error(p, peek(p) < 0 ? "unterminated inline table"
                                                        : "expected ',' or '}' in an inline "
                                                          "table");
            p->pos++;
            skip_blanks(p);
        }
    }
    p->pos++;
    t->flags |= TOML_F_FROZEN;
    return 0;
}

static int parse_value(tp_toml_parser_t *p, tp_toml_node_t *n)
{
    int c = peek(p);
    if (c == '"' || c == '\'') {
        char *s;
        if (tp_toml_lex_string(p, 1) != 0)
            return -1;
        if (!(s = arena_strndup(p->doc, p->scratch, p->scratch_len)))
            return -1;
        n->kind = TP_TOML_STRING;
        n->u.str.ptr = s;
        n->u.str.len = p->scratch_len;
        return 0;
    }
    if (c == '[')
        return parse_array(p, n);
    if (c == '{')
        return parse_inline_table(p, n);
    if (c < 0 || c == '\n' || c == '\r' || c == '#')
        return tp_toml_lex_error(p, "expected a value");
    return tp_toml_lex_scalar(p, n);
}

/* ---- keys ------------------------------------------------------------------------------- */

/* Lex one key segment and the blanks after it; *more says whether a '.' followed. */
static int key_segment(tp_toml_parser_t *p, int *line, int *col, int *more)
{
    skip_blanks(p);
    *line = p->line;
    *col = column(p);
    if (tp_toml_lex_key(p) != 0)
        return -1;
    skip_blanks(p);
    *more = peek(p) == '.';
    if (*more)
        p->pos++;
    return 0;
}

/* Step through a dotted key of a key/value pair from table t into (or creating) the
 * sub-table named in p->scratch. */
static tp_toml_node_t *dotted_step(tp_toml_parser_t *p, tp_toml_node_t *t, int in_inline,
                                   int line, int col)
{
    char k[64];
    tp_toml_node_t *child = scratch_lookup(p, t);
    if (!child) {
        child = new_node(p, t->depth, line, col);
        if (!child)
            return NULL;
        child->kind = TP_TOML_TABLE;
        if (table_add(p, t, child) != 0)
            return NULL;
    } else if (child->kind != TP_TOML_TABLE || (child->flags & TOML_F_FROZEN)) {
        tp_toml_lex_error(p, "key '%s' is already a value and cannot be extended",
                          key_text(p, k));
        return NULL;
    } else if (!in_inline && (child->flags & TOML_F_EXPLICIT)) {
        tp_toml_lex_error(p, "table '%s' is already defined and dotted keys cannot extend it",
                          key_text(p, k));
        return NULL;
    }
    if (!in_inline && mark_pending(p, child) != 0)
        return NULL;
    return child;
}

static int parse_keyval(tp_toml_parser_t *p, tp_toml_node_t *t, int in_inline)
{
    int line, col, more;
    char k[64];
    tp_toml_node_t *n;

    for (;;) {
        if (key_segment(p, &line, &col, &more) != 0)
            return -1;
        if (!more)
            break;
        if (!(t = dotted_step(p, t, in_inline, line, col)))
            return -1;
    }
    if (peek(p) != '=')
        return tp_toml_lex_error(p, "expected '=' after key");
    p->pos++;
    skip_blanks(p);
    if (scratch_lookup(p, t))
        return tp_err_set(TP_ECONFIG, "line %d, column %d: duplicate key '%s'", line, col,
                          key_text(p, k));
    if (!(n = new_node(p, t->depth, line, col)) || table_add(p, t, n) != 0)
        return -1;
    /* Placed at the value, which is what a config error will want to point at. */
    n->line = p->line;
    n->column = column(p);
    if (parse_value(p, n) != 0)
        return -1;
    if (n->kind == TP_TOML_TABLE || n->kind == TP_TOML_ARRAY)
        n->flags |= TOML_F_FROZEN;
    return 0;
}

/* ---- headers ---------------------------------------------------------------------------- */

/* An intermediate name of a header: descend into (or create) a table; through an array of
 * tables into its last element. */
static tp_toml_node_t *header_step(tp_toml_parser_t *p, tp_toml_node_t *t, int line, int col)
{
    char k[64];
    tp_toml_node_t *child = scratch_lookup(p, t);
    if (!child) {
        child = new_node(p, t->depth, line, col);
        if (child) {
            child->kind = TP_TOML_TABLE;
            if (table_add(p, t, child) != 0)
                return NULL;
        }
        return child;
    }
    if (child->kind == TP_TOML_TABLE && !(child->flags & TOML_F_FROZEN))
        return child;
    if (child->kind == TP_TOML_ARRAY && (child->flags & TOML_F_AOT))
        return child->u.list.items[child->u.list.count - 1];
    tp_toml_lex_error(p, "key '%s' is not a table that can be extended", key_text(p, k));
    return NULL;
}

/* The last name of [name]: a new table, or one so far only created implicitly. */
static tp_toml_node_t *define_table(tp_toml_parser_t *p, tp_toml_node_t *t, int line, int col)
{
    char k[64];
    tp_toml_node_t *child = scratch_lookup(p, t);
    if (!child) {
        if (!(child = new_node(p, t->depth, line, col)))
            return NULL;
        child->kind = TP_TOML_TABLE;
        if (table_add(p, t, child) != 0)
            return NULL;
    } else if (child->kind != TP_TOML_TABLE ||
               (child->flags & (TOML_F_EXPLICIT | TOML_F_FROZEN))) {
        tp_err_set(TP_ECONFIG, "line %d, column %d: table '%s' is already defined", line, col,
                   key_text(p, k));
        return NULL;
    }
    child->flags |= TOML_F_EXPLICIT;
    return child;
}

/* The last name of [[name]]: append a new table to the array of tables. */
static tp_toml_node_t *append_table(tp_toml_parser_t *p, tp_toml_node_t *t, int line, int col)
{
    char k[64];
    tp_toml_node_t *arr = scratch_lookup(p, t), *elem;
    if (!arr) {
        if (!(arr = new_node(p, t->depth, line, col)))
            return NULL;
        arr->kind = TP_TOML_ARRAY;
        arr->flags = TOML_F_AOT | TOML_F_EXPLICIT;
        if (table_add(p, t, arr) != 0)
            return NULL;
    } else if (arr->kind != TP_TOML_ARRAY || !(arr->flags & TOML_F_AOT)) {
        tp_err_set(TP_ECONFIG, "line %d, column %d: '%s' is not an array of tables", line, col,
                   key_text(p, k));
        return NULL;
    }
    if (!(elem = new_node(p, arr->depth, line, col)))
        return NULL;
    elem->kind = TP_TOML_TABLE;
    elem->flags = TOML_F_EXPLICIT;
    return list_append(p->doc, arr, elem) != 0 ? NULL : elem;
}

static int parse_header(tp_toml_parser_t *p, tp_toml_node_t **current)
{
    int is_array = p->pos + 1 < p->len && p->buf[p->pos + 1] == '[';
    int line, col, more;
    tp_toml_node_t *t = p->doc->root;

    finish_section(p->doc);
    p->pos += is_array ? 2 : 1;
    for (;;) {
        if (key_segment(p, &line, &col, &more) != 0)
            return -1;
        if (!more)
            break;
        if (!(t = header_step(p, t, line, col)))
            return -1;
    }
    if (peek(p) != ']' || (is_array && (p->pos + 1 >= p->len || p->buf[p->pos + 1] != ']')))
        return tp_toml_lex_error(p, is_array ? "expected ']]' after the table name"
                                             : "expected ']' after the table name");
    p->pos += is_array ? 2 : 1;
    t = is_array ? append_table(p, t, line, col) : define_table(p, t, line, col);
    if (!t)
        return -1;
    *current = t;
    return end_of_line(p, "a table header");
}

static int parse_document(tp_toml_parser_t *p)
{
    tp_toml_node_t *current = p->doc->root;

    if (tp_toml_lex_check_utf8(p) != 0)
        return -1;
    if (p->len >= 3 && memcmp(p->buf, "\xEF\xBB\xBF", 3) == 0)
        p->pos = p->line_start = 3;
    for (;;) {
        int c;
        skip_blanks(p);
        c = peek(p);
        if (c < 0)
            return 0;
        if (c == '\n' || c == '\r') {
            if (tp_toml_lex_newline(p) != 0)
                return -1;
        } else if (c == '#') {
            if (skip_comment(p) != 0)
                return -1;
        } else if (c == '[') {
            if (parse_header(p, &current) != 0)
                return -1;
        } else if (parse_keyval(p, current, 0) != 0 ||
                   end_of_line(p, "a key/value pair") != 0) {
            return -1;
        }
    }
}

/* ---- public API ------------------------------------------------------------------------- */

int tp_toml_parse(const char *buf, size_t len, tp_toml_doc_t **out)
{
    tp_toml_parser_t p;
    tp_toml_doc_t *doc;
    int rc;

    *out = NULL;
    if (!buf && len)
        return tp_err_set(TP_EINVAL, "toml: NULL buffer");
    /* Lines and columns are ints. */
    if (len > INT32_MAX)
        return tp_err_set(TP_ETOOBIG, "toml: a %zu-byte document is too large", len);
    if (!(doc = calloc(1, sizeof *doc)))
        return tp_err_set(TP_ENOMEM, "toml: out of memory");
    memset(&p, 0, sizeof p);
    p.buf = buf ? buf : "";
    p.len = len;
    p.line = 1;
    p.doc = doc;
    /* The scratch exists from the start: empty keys pass it to memcpy/memcmp. */
    p.scratch_cap = 256;
    p.scratch = malloc(p.scratch_cap);
    doc->root = arena_alloc(doc, sizeof *doc->root);
    if (!doc->root || !p.scratch) {
        free(p.scratch);
        tp_toml_free(doc);
        return tp_err_set(TP_ENOMEM, "toml: out of memory");
    }
    doc->root->doc = doc;
    doc->root->kind = TP_TOML_TABLE;
    doc->root->line = doc->root->column = 1;
    doc->root->flags = TOML_F_EXPLICIT;
    rc = parse_document(&p);
    free(p.scratch);
    free(doc->pending);
    doc->pending = NULL;
    if (rc != 0) {
        tp_toml_free(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

static int read_file(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 0, n = 0, got;
    char *data = NULL;
    if (!f)
        return tp_err_set_errno(TP_EIO, errno, "%s", path);
    do {
        if (cap - n < 4096) {
            char *grown = realloc(data, cap ? cap * 2 : 8192);
            if (!grown) {
                free(data);
                fclose(f);
                return tp_err_set(TP_ENOMEM, "%s: out of memory", path);
            }
            data = grown;
            cap = cap ? cap * 2 : 8192;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) {
        free(data);
        fclose(f);
        return tp_err_set(TP_EIO, "%s: read error", path);
    }
    fclose(f);
    *buf = data;
    *len = n;
    return 0;
}

int tp_toml_parse_file(const char *path, tp_toml_doc_t **out)
{
    char *buf = NULL;
    size_t len = 0;
    int rc;
    *out = NULL;
    if (read_file(path, &buf, &len) != 0)
        return -1;
    rc = tp_toml_parse(buf, len, out);
    free(buf);
    return rc != 0 ? tp_err_push("%s", path) : 0;
}

void tp_toml_free(tp_toml_doc_t *doc)
{
    arena_block_t *b, *next;
    if (!doc)
        return;
    for (b = doc->blocks; b; b = next) {
        next = b->next;
        free(b);
    }
    free(doc->index);
    free(doc->pending);
    free(doc);
}

const tp_toml_node_t *tp_toml_root(const tp_toml_doc_t *doc) { return doc->root; }

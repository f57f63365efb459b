/*
 * Private to src/util/toml*.c: the parser state shared by the grammar (toml.c) and the
 * scanner of keys, strings, numbers and date/times (toml_lex.c).
 */
#ifndef TP_UTIL_TOML_INTERNAL_H
#define TP_UTIL_TOML_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/toml.h"

struct tp_toml_node {
    tp_toml_kind_t kind;
    unsigned flags;                 /* TOML_F_* of toml.c */
    int line, column, depth;
    const char *key;                /* in the arena; NULL for root and array elements */
    size_t keylen;
    struct tp_toml_node *parent;    /* the table of a keyed node; NULL otherwise */
    tp_toml_doc_t *doc;             /* the owner, for lookups through its index */
    union {
        struct {
            struct tp_toml_node **items;
            size_t count, cap;
        } list;                     /* table entries or array elements, in order */
        struct {
            const char *ptr;
            size_t len;
        } str;
        int64_t i;
        double f;
        int b;
        tp_toml_datetime_t dt;
    } u;
};

struct tp_toml_doc {
    struct tp_toml_node *root;
    struct arena_block *blocks;     /* the current block first */
    struct tp_toml_node **index;    /* open addressing over (parent, key); NULL = empty */
    size_t index_cap, index_count;
    struct tp_toml_node **pending;  /* parse only: tables touched by dotted keys */
    size_t npending, pending_cap;
};

/* The entry of table parent named key, or NULL; O(1) through the document's index. */
struct tp_toml_node *tp_toml_index_find(const tp_toml_doc_t *doc,
                                        const struct tp_toml_node *parent, const char *key,
                                        size_t len);

typedef struct tp_toml_parser {
    const char *buf;
    size_t len, pos;
    int line;
    size_t line_start;              /* offset of the first byte of the current line */
    tp_toml_doc_t *doc;
    char *scratch;                  /* the last decoded key or string (not NUL-terminated) */
    size_t scratch_len, scratch_cap;
} tp_toml_parser_t;

/* Record "line L, column C: <fmt>" at the current position as TP_ECONFIG; returns -1. */
int tp_toml_lex_error(const tp_toml_parser_t *p, const char *fmt, ...) TP_PRINTF(2, 3);
/* Reject the first byte sequence that is not well-formed UTF-8 (overlong forms, surrogates
 * and code points above U+10FFFF included), so later stages only see valid text. */
int tp_toml_lex_check_utf8(tp_toml_parser_t *p);
/* Consume "\n" or "\r\n" at pos (the caller saw one of them) and count the line. */
int tp_toml_lex_newline(tp_toml_parser_t *p);
/* Decode a bare or quoted key segment at pos into p->scratch. */
int tp_toml_lex_key(tp_toml_parser_t *p);
/* Decode a string of any of the four forms at pos into p->scratch; multi-line forms only
 * when allow_multiline (keys cannot be multi-line). */
int tp_toml_lex_string(tp_toml_parser_t *p, int allow_multiline);
/* Scan a bool, number or date/time at pos into n (kind and value). */
int tp_toml_lex_scalar(tp_toml_parser_t *p, struct tp_toml_node *n);

#endif

/*
 * TOML 1.0.0 reader for the driver configuration (issue 4).
 *
 * A document is parsed in one call into a tree owned by one tp_toml_doc_t and freed with
 * tp_toml_free(). Every node, key and string stays valid, unchanged, until that call; nodes
 * are never handed out for writing. A document may be read by several threads at once
 * (lookups do not mutate it); parsing and freeing are not shared.
 *
 * Tables and arrays keep document order: the i-th entry of a table is the i-th key defined
 * in it, so `config dump` prints keys in the order the user wrote them. Table lookups by
 * key are O(1) (one hash index per document), so large files parse in linear time.
 *
 * Errors (TP_ECONFIG) read "line L, column C: what" with 1-based line and byte column of the
 * offending byte; tp_toml_parse_file() prefixes the path. Hostile input (invalid UTF-8, NUL
 * bytes, unterminated strings, huge numbers, deep nesting) is an error, never a crash:
 * nesting of tables and arrays is bounded by TP_TOML_MAX_DEPTH.
 */
#ifndef TP_UTIL_TOML_H
#define TP_UTIL_TOML_H

#include <stddef.h>
#include <stdint.h>

/* Deepest node allowed (the root table is depth 0); `a.b.c = 1` puts the integer at 3. */
#define TP_TOML_MAX_DEPTH 128

typedef enum tp_toml_kind {
    TP_TOML_TABLE,
    TP_TOML_ARRAY,
    TP_TOML_STRING,
    TP_TOML_INTEGER,        /* int64_t; out-of-range literals are parse errors */
    TP_TOML_FLOAT,          /* double; inf and nan included */
    TP_TOML_BOOL,
    TP_TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00-08:00 */
    TP_TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00 */
    TP_TOML_DATE_LOCAL,     /* 1979-05-27 */
    TP_TOML_TIME_LOCAL      /* 07:32:00.999 */
} tp_toml_kind_t;

/* The components of a date/time value as written. Fields a kind does not have are zero
 * (a local date has no time, a local time no date, local kinds no offset). */
typedef struct tp_toml_datetime {
    int year, month, day;       /* 0000-9999, 1-12, 1-31 (checked against the month) */
    int hour, minute, second;   /* 0-23, 0-59, 0-60 (leap second) */
    int frac_digits;            /* digits of the fraction as written, 0-9 (more are truncated) */
    uint32_t nanosecond;        /* the fraction in ns */
    char offset_form;           /* 'Z' (Z or z), '+' or '-' (numeric), 0 for local kinds */
    int offset_minutes;         /* signed offset east of UTC; -00:00 keeps offset_form '-' */
} tp_toml_datetime_t;

typedef struct tp_toml_doc tp_toml_doc_t;
typedef struct tp_toml_node tp_toml_node_t;

/* Parse len bytes at buf (not NUL-terminated; may contain NULs, which are rejected). On
 * success *out owns the whole tree and buf may be freed at once. Returns 0, or -1 with
 * TP_ECONFIG (syntax/semantics, message "line L, column C: ...") or TP_ENOMEM; *out is
 * NULL then. */
int tp_toml_parse(const char *buf, size_t len, tp_toml_doc_t **out);

/* Read and parse the file at path. Errors as tp_toml_parse() prefixed with "<path>: ", or
 * TP_EIO when the file cannot be read. */
int tp_toml_parse_file(const char *path, tp_toml_doc_t **out);

/* Free a document and every node, key and string in it. NULL is ignored. */
void tp_toml_free(tp_toml_doc_t *doc);

/* The root table. Owned by doc. */
const tp_toml_node_t *tp_toml_root(const tp_toml_doc_t *doc);

/* --- every node --------------------------------------------------------------------- */

tp_toml_kind_t tp_toml_kind(const tp_toml_node_t *n);
/* "table", "array", "string", "integer", "float", "bool", "datetime", "datetime-local",
 * "date-local", "time-local" (the toml-test tags). Static storage. */
const char *tp_toml_kind_name(tp_toml_kind_t kind);
/* Where the node was defined: the first byte of a value, the header that opened a table
 * or the key that implicitly created it. 1-based; the root is 1, 1. */
int tp_toml_line(const tp_toml_node_t *n);
int tp_toml_column(const tp_toml_node_t *n);
/* The key of this node in its parent table (NUL-terminated, length in *len if len is not
 * NULL; keys may contain NULs written as \u0000), or NULL for the root and array elements. */
const char *tp_toml_key(const tp_toml_node_t *n, size_t *len);

/* --- tables and arrays -------------------------------------------------------------- */
/* These four accept n == NULL (and answer 0 / NULL), so lookups chain without checks:
 * tp_toml_get(tp_toml_get(root, "driver"), "instance_id"). */

/* Entries of a table or elements of an array; 0 for scalars. */
size_t tp_toml_count(const tp_toml_node_t *n);
/* The i-th entry (table: in definition order) or element, or NULL if out of range or n is a
 * scalar. The key of a table entry is tp_toml_key() of the returned node. */
const tp_toml_node_t *tp_toml_at(const tp_toml_node_t *n, size_t i);
/* The entry of table n named key (NUL-terminated), or NULL (also when n is not a table). */
const tp_toml_node_t *tp_toml_get(const tp_toml_node_t *n, const char *key);
/* The same with an explicit key length (for keys containing '.' or NUL). */
const tp_toml_node_t *tp_toml_get_n(const tp_toml_node_t *n, const char *key, size_t len);
/* Follow a path of bare segments from n: "profiles.camera.header_nslots",
 * "profiles.camera.payload_pools[0].stride_bytes". Segments are split at '.', "[N]" indexes
 * an array. Returns NULL if any step is missing, of the wrong kind or the path is malformed.
 * Keys that contain '.' or '[' need tp_toml_get_n(). */
const tp_toml_node_t *tp_toml_path(const tp_toml_node_t *n, const char *path);

/* --- scalars: each returns 0 and the value, or -1 (TP_EINVAL) if n is of another kind ---- */

/* *s points into the document (NUL-terminated; *len, if len is not NULL, counts embedded
 * NULs too). */
int tp_toml_string(const tp_toml_node_t *n, const char **s, size_t *len);
int tp_toml_int(const tp_toml_node_t *n, int64_t *v);
int tp_toml_float(const tp_toml_node_t *n, double *v);
int tp_toml_bool(const tp_toml_node_t *n, int *v);
/* Any of the four date/time kinds; *dt points into the document. */
int tp_toml_datetime(const tp_toml_node_t *n, const tp_toml_datetime_t **dt);

/* Format a date/time of the given kind in RFC 3339 form as toml-test expects it: 'T'
 * separator, upper-case 'Z', a fraction of at least 3 digits when one was written
 * ("17:45:56.6" -> "17:45:56.600"), offsets as "+HH:MM". Writes at most cap bytes including
 * the NUL; returns the length it needed (like snprintf), or -1 for a non-date/time kind. */
int tp_toml_datetime_format(const tp_toml_datetime_t *dt, tp_toml_kind_t kind, char *buf,
                            size_t cap);

#endif

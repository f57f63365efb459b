/*
 * TOML scanner: keys, the four string forms, integers, floats, bools and date/times.
 * The grammar that strings these together lives in toml.c.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/toml_internal.h"

/* Longest number literal accepted. Real configurations never come close; the bound keeps
 * strtod() away from megabyte-long mantissas. */
#define NUMBER_MAX 256

int tp_toml_lex_error(const tp_toml_parser_t *p, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tp_err_set(TP_ECONFIG, "line %d, column %zu: %s", p->line,
                      p->pos - p->line_start + 1, msg);
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

/* Length of the well-formed sequence at s[0..n), or 0 (RFC 3629 table 3-7). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (c == 0xE0) lo = 0xA0;            /* overlong */
    if (c == 0xED) hi = 0x9F;            /* surrogates */
    if (c == 0xF0) lo = 0x90;            /* overlong */
    if (c == 0xF4) hi = 0x8F;            /* above U+10FFFF */
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

int tp_toml_lex_check_utf8(tp_toml_parser_t *p)
{
    const unsigned char *s = (const unsigned char *)p->buf;
    size_t i = 0, len;
    int line = 1;
    size_t line_start = 0;

    while (i < p->len) {
        len = utf8_seq_len(s + i, p->len - i);
        if (len == 0) {
            p->pos = i;
            p->line = line;
            p->line_start = line_start;
            return tp_toml_lex_error(p, "invalid UTF-8 byte 0x%02X", s[i]);
        }
        if (s[i] == '\n') {
            line++;
            line_start = i + 1;
        }
        i += len;
    }
    return 0;
}

static int scratch_put(tp_toml_parser_t *p, const char *s, size_t n)
{
    if (p->scratch_cap - p->scratch_len < n) {
        size_t cap = p->scratch_cap ? p->scratch_cap : 64;
        char *grown;
        while (cap - p->scratch_len < n)
            cap *= 2;
        grown = realloc(p->scratch, cap);
        if (!grown)
            return tp_err_set(TP_ENOMEM, "toml: out of memory for a %zu-byte string", cap);
        p->scratch = grown;
        p->scratch_cap = cap;
    }
    memcpy(p->scratch + p->scratch_len, s, n);
    p->scratch_len += n;
    return 0;
}

static int put_codepoint(tp_toml_parser_t *p, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return scratch_put(p, b, n);
}

/* ---- small character helpers -------------------------------------------------------- */

static int at_end(const tp_toml_parser_t *p) { return p->pos >= p->len; }

static int peek_at(const tp_toml_parser_t *p, size_t off)
{
    return p->pos + off < p->len ? (unsigned char)p->buf[p->pos + off] : -1;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

/* Control characters TOML forbids in strings and comments (tab is allowed). */
static int is_forbidden_control(int c) { return (c < 0x20 && c != '\t') || c == 0x7F; }

int tp_toml_lex_newline(tp_toml_parser_t *p)
{
    if (peek_at(p, 0) == '\r') {
        if (peek_at(p, 1) != '\n')
            return tp_toml_lex_error(p, "carriage return not followed by a newline");
        p->pos++;
    }
    p->pos++;
    p->line++;
    p->line_start = p->pos;
    return 0;
}

/* ---- strings -------------------------------------------------------------------------- */

static int hex_value(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* \uXXXX or \UXXXXXXXX with pos on the 'u'/'U'. Only Unicode scalar values are allowed. */
static int unicode_escape(tp_toml_parser_t *p, int digits)
{
    uint32_t cp = 0;
    int i, h;
    for (i = 1; i <= digits; i++) {
        h = hex_value(peek_at(p, (size_t)i));
        if (h < 0)
            return tp_toml_lex_error(p, "\\%c escape needs %d hex digits", p->buf[p->pos],
                                     digits);
        cp = cp * 16 + (uint32_t)h;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return tp_toml_lex_error(p, "escape \\%c%0*X is not a Unicode scalar value",
                                 p->buf[p->pos], digits, (unsigned)cp);
    p->pos += (size_t)digits + 1;
    return put_codepoint(p, cp);
}

/* In a multi-line basic string, "\" + optional blanks + newline drops all whitespace and
 * newlines up to the next other character. pos is on the byte after the backslash. */
static int line_ending_backslash(tp_toml_parser_t *p)
{
    while (peek_at(p, 0) == ' ' || peek_at(p, 0) == '\t')
        p->pos++;
    if (peek_at(p, 0) != '\n' && peek_at(p, 0) != '\r')
        return tp_toml_lex_error(p, "invalid escape: only blanks may follow a line-ending "
                                    "backslash");
    for (;;) {
        int c = peek_at(p, 0);
        if (c == ' ' || c == '\t')
            p->pos++;
        else if (c == '\n' || c == '\r') {
            if (tp_toml_lex_newline(p) != 0)
                return -1;
        } else
            return 0;
    }
}

/* pos is on the backslash. */
static int escape(tp_toml_parser_t *p, int multiline)
{
    static const char from[] = "btnfr\"\\";
    static const char to[] = "\b\t\n\f\r\"\\";
    int c = peek_at(p, 1);
    const char *hit;

    if (c == 'u' || c == 'U') {
        p->pos++;
        return unicode_escape(p, c == 'u' ? 4 : 8);
    }
    if (multiline && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
        p->pos++;
        return line_ending_backslash(p);
    }
    hit = c > 0 ? strchr(from, c) : NULL;
    if (!hit)
        return c < 0 ? tp_toml_lex_error(p, "unterminated string")
                     : tp_toml_lex_error(p, "invalid escape sequence");
    p->pos += 2;
    return scratch_put(p, &to[hit - from], 1);
}

static int single_line(tp_toml_parser_t *p, char quote)
{
    p->pos++;
    for (;;) {
        int c = peek_at(p, 0);
        if (c < 0 || c == '\n' || c == '\r')
            return tp_toml_lex_error(p, "unterminated string");
        if (c == quote) {
            p->pos++;
            return 0;
        }
        if (is_forbidden_control(c))
            return tp_toml_lex_error(p, "control character U+%04X in a string", (unsigned)c);
        if (c == '\\' && quote == '"') {
            if (escape(p, 0) != 0)
                return -1;
            continue;
        }
        if (scratch_put(p, &p->buf[p->pos], 1) != 0)
            return -1;
        p->pos++;
    }
}

/* A run of quote characters inside a multi-line string: three end it, and up to two more
 * right before the closing three belong to the content. Returns 1 at the end, 0 to go on. */
static int quote_run(tp_toml_parser_t *p, char quote)
{
    size_t n = 0;
    while (peek_at(p, n) == quote)
        n++;
    if (n >= 3 && n <= 5) {
        p->pos += n;
        return scratch_put(p, p->buf + p->pos - n, n - 3) != 0 ? -1 : 1;
    }
    if (n > 5)
        return tp_toml_lex_error(p, "too many quotes closing a multi-line string");
    p->pos += n;
    return scratch_put(p, p->buf + p->pos - n, n);
}

static int multi_line(tp_toml_parser_t *p, char quote)
{
    p->pos += 3;
    /* A newline right after the opening delimiter is trimmed. */
    if (peek_at(p, 0) == '\n' || peek_at(p, 0) == '\r')
        if (tp_toml_lex_newline(p) != 0)
            return -1;
    for (;;) {
        int c = peek_at(p, 0), r;
        if (c < 0)
            return tp_toml_lex_error(p, "unterminated multi-line string");
        if (c == quote) {
            if ((r = quote_run(p, quote)) != 0)
                return r < 0 ? -1 : 0;
        } else if (c == '\n' || c == '\r') {
            if (tp_toml_lex_newline(p) != 0 || scratch_put(p, "\n", 1) != 0)
                return -1;
        } else if (is_forbidden_control(c)) {
            return tp_toml_lex_error(p, "control character U+%04X in a string", (unsigned)c);
        } else if (c == '\\' && quote == '"') {
            if (escape(p, 1) != 0)
                return -1;
        } else {
            if (scratch_put(p, &p->buf[p->pos], 1) != 0)
                return -1;
            p->pos++;
        }
    }
}

int tp_toml_lex_string(tp_toml_parser_t *p, int allow_multiline)
{
    char quote = p->buf[p->pos];
    p->scratch_len = 0;
    if (peek_at(p, 1) == quote && peek_at(p, 2) == quote) {
        if (!allow_multiline)
            return tp_toml_lex_error(p, "a key cannot be a multi-line string");
        return multi_line(p, quote);
    }
    return single_line(p, quote);
}

static int is_bare_key_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' ||
           c == '-';
}

int tp_toml_lex_key(tp_toml_parser_t *p)
{
    size_t start = p->pos;
    int c = peek_at(p, 0);
    if (c == '"' || c == '\'')
        return tp_toml_lex_string(p, 0);
    while (is_bare_key_char(peek_at(p, 0)))
        p->pos++;
    if (p->pos == start)
        return at_end(p) ? tp_toml_lex_error(p, "expected a key")
                         : tp_toml_lex_error(p, "expected a key, found '%c'",
                                             c >= 0x20 && c < 0x7F ? c : '?');
    p->scratch_len = 0;
    return scratch_put(p, p->buf + start, p->pos - start);
}

/* ---- date and time ------------------------------------------------------------------- */

/* Exactly n digits at pos. */
static int fixed_digits(tp_toml_parser_t *p, int n, int *out, const char *what)
{
    int i, v = 0;
    for (i = 0; i < n; i++) {
        int c = peek_at(p, (size_t)i);
        if (!is_digit(c))
            return tp_toml_lex_error(p, "%s needs %d digits", what, n);
        v = v * 10 + (c - '0');
    }
    p->pos += (size_t)n;
    *out = v;
    return 0;
}

static int expect_char(tp_toml_parser_t *p, char c, const char *what)
{
    if (peek_at(p, 0) != c)
        return tp_toml_lex_error(p, "expected '%c' in %s", c, what);
    p->pos++;
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

static int scan_date(tp_toml_parser_t *p, tp_toml_datetime_t *dt)
{
    size_t start = p->pos;
    if (fixed_digits(p, 4, &dt->year, "a year") != 0 || expect_char(p, '-', "a date") != 0 ||
        fixed_digits(p, 2, &dt->month, "a month") != 0 || expect_char(p, '-', "a date") != 0 ||
        fixed_digits(p, 2, &dt->day, "a day") != 0)
        return -1;
    if (dt->month < 1 || dt->month > 12 || dt->day < 1 ||
        dt->day > days_in_month(dt->year, dt->month)) {
        p->pos = start;
        return tp_toml_lex_error(p, "no such date %04d-%02d-%02d", dt->year, dt->month,
                                 dt->day);
    }
    return 0;
}

/* ".digits": keep up to 9 (ns) and truncate the rest, as the spec asks. */
static int scan_fraction(tp_toml_parser_t *p, tp_toml_datetime_t *dt)
{
    uint32_t ns = 0;
    int n = 0;
    p->pos++;
    if (!is_digit(peek_at(p, 0)))
        return tp_toml_lex_error(p, "expected digits after '.' in a time");
    for (; is_digit(peek_at(p, 0)); p->pos++)
        if (n < 9) {
            ns = ns * 10 + (uint32_t)(p->buf[p->pos] - '0');
            n++;
        }
    dt->frac_digits = n;
    for (; n < 9; n++)
        ns *= 10;
    dt->nanosecond = ns;
    return 0;
}

static int scan_time(tp_toml_parser_t *p, tp_toml_datetime_t *dt)
{
    size_t start = p->pos;
    if (fixed_digits(p, 2, &dt->hour, "an hour") != 0 || expect_char(p, ':', "a time") != 0 ||
        fixed_digits(p, 2, &dt->minute, "a minute") != 0 ||
        expect_char(p, ':', "a time") != 0 ||
        fixed_digits(p, 2, &dt->second, "a second") != 0)
        return -1;
    if (dt->hour > 23 || dt->minute > 59 || dt->second > 60) {
        p->pos = start;
        return tp_toml_lex_error(p, "no such time %02d:%02d:%02d", dt->hour, dt->minute,
                                 dt->second);
    }
    return peek_at(p, 0) == '.' ? scan_fraction(p, dt) : 0;
}

static int scan_offset(tp_toml_parser_t *p, tp_toml_datetime_t *dt)
{
    int c = peek_at(p, 0), h = 0, m = 0;
    if (c == 'Z' || c == 'z') {
        p->pos++;
        dt->offset_form = 'Z';
        return 0;
    }
    p->pos++;
    if (fixed_digits(p, 2, &h, "an offset hour") != 0 ||
        expect_char(p, ':', "an offset") != 0 ||
        fixed_digits(p, 2, &m, "an offset minute") != 0)
        return -1;
    if (h > 23 || m > 59)
        return tp_toml_lex_error(p, "no such offset %c%02d:%02d", c, h, m);
    dt->offset_form = (char)c;
    dt->offset_minutes = (c == '-' ? -1 : 1) * (h * 60 + m);
    return 0;
}

/* A date, then optionally 'T'/'t'/' ' and a time, then optionally an offset. */
static int scan_datetime(tp_toml_parser_t *p, tp_toml_node_t *n)
{
    tp_toml_datetime_t *dt = &n->u.dt;
    int c;
    if (scan_date(p, dt) != 0)
        return -1;
    c = peek_at(p, 0);
    /* A space separates date and time only when a time follows; otherwise it ends the value. */
    if (!(c == 'T' || c == 't' ||
          (c == ' ' && is_digit(peek_at(p, 1)) && is_digit(peek_at(p, 2)) &&
           peek_at(p, 3) == ':'))) {
        n->kind = TP_TOML_DATE_LOCAL;
        return 0;
    }
    p->pos++;
    if (scan_time(p, dt) != 0)
        return -1;
    c = peek_at(p, 0);
    if (c != 'Z' && c != 'z' && c != '+' && c != '-') {
        n->kind = TP_TOML_DATETIME_LOCAL;
        return 0;
    }
    n->kind = TP_TOML_DATETIME;
    return scan_offset(p, dt);
}

/* ---- numbers -------------------------------------------------------------------------- */

static int digit_in_base(int c, int base)
{
    int v = hex_value(c);
    return v >= 0 && v < base;
}

/* Digits of the base with single underscores between them, from s[*i]; appends the digits
 * to out (if not NULL). Returns the digit count, or -1 for a misplaced underscore. */
static int digit_run(const char *s, size_t n, size_t *i, int base, char *out, size_t *outn)
{
    int count = 0;
    while (*i < n) {
        if (digit_in_base(s[*i], base)) {
            if (out)
                out[(*outn)++] = s[*i];
            count++;
            (*i)++;
        } else if (s[*i] == '_') {
            if (count == 0 || *i + 1 >= n || !digit_in_base(s[*i + 1], base))
                return -1;
            (*i)++;
        } else
            break;
    }
    return count;
}

static int prefixed_integer(tp_toml_parser_t *p, const char *s, size_t n, int64_t *v)
{
    int base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
    size_t i = 2;
    uint64_t acc = 0;
    int count = digit_run(s, n, &i, base, NULL, NULL);
    if (count <= 0 || i != n)
        return tp_toml_lex_error(p, "invalid base-%d integer", base);
    for (i = 2; i < n; i++) {
        if (s[i] == '_')
            continue;
        if (acc > ((uint64_t)INT64_MAX - (uint64_t)hex_value(s[i])) / (uint64_t)base)
            return tp_toml_lex_error(p, "integer out of range");
        acc = acc * (uint64_t)base + (uint64_t)hex_value(s[i]);
    }
    *v = (int64_t)acc;
    return 0;
}

static int decimal_integer(tp_toml_parser_t *p, const char *digits, size_t n, int neg,
                           int64_t *v)
{
    /* Accumulate negatively so INT64_MIN fits. */
    int64_t acc = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        int d = digits[i] - '0';
        if (acc < (INT64_MIN + d) / 10)
            return tp_toml_lex_error(p, "integer out of range");
        acc = acc * 10 - d;
    }
    if (!neg && acc == INT64_MIN)
        return tp_toml_lex_error(p, "integer out of range");
    *v = neg ? acc : -acc;
    return 0;
}

static int special_float(const char *s, size_t n, double *f)
{
    int neg = n > 0 && s[0] == '-';
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        s++;
        n--;
    }
    if (n != 3 || (memcmp(s, "inf", 3) != 0 && memcmp(s, "nan", 3) != 0))
        return 0;
    if (s[0] == 'i')
        *f = neg ? -HUGE_VAL : HUGE_VAL;
    else
        *f = neg ? -NAN : NAN;
    return 1;
}

/* Decimal integer or float: [sign] int [. frac] [e [sign] exp]. */
static int decimal_number(tp_toml_parser_t *p, const char *s, size_t n, tp_toml_node_t *node)
{
    char clean[NUMBER_MAX + 1];
    size_t i = 0, cn = 0;
    int is_float = 0, digits;

    if (s[0] == '+' || s[0] == '-')
        clean[cn++] = s[i++];
    digits = digit_run(s, n, &i, 10, clean, &cn);
    if (digits <= 0)
        return tp_toml_lex_error(p, "invalid number");
    if (digits > 1 && clean[cn - (size_t)digits] == '0')
        return tp_toml_lex_error(p, "leading zeros are not allowed");
    if (i < n && s[i] == '.') {
        clean[cn++] = s[i++];
        if (digit_run(s, n, &i, 10, clean, &cn) <= 0)
            return tp_toml_lex_error(p, "expected digits after the decimal point");
        is_float = 1;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        clean[cn++] = s[i++];
        if (i < n && (s[i] == '+' || s[i] == '-'))
            clean[cn++] = s[i++];
        if (digit_run(s, n, &i, 10, clean, &cn) <= 0)
            return tp_toml_lex_error(p, "expected digits in the exponent");
        is_float = 1;
    }
    if (i != n)
        return tp_toml_lex_error(p, "invalid number");
    clean[cn] = '\0';
    if (!is_float) {
        size_t sign = (clean[0] == '+' || clean[0] == '-');
        node->kind = TP_TOML_INTEGER;
        return decimal_integer(p, clean + sign, cn - sign, clean[0] == '-', &node->u.i);
    }
    node->kind = TP_TOML_FLOAT;
    errno = 0;
    node->u.f = strtod(clean, NULL);
    if (errno == ERANGE && isinf(node->u.f))
        return tp_toml_lex_error(p, "float out of range");
    return 0;
}

static int is_number_char(int c)
{
    return is_bare_key_char(c) || c == '+' || c == '.';
}

static int scan_number(tp_toml_parser_t *p, tp_toml_node_t *n)
{
    size_t start = p->pos, len;
    const char *s = p->buf + start;

    while (is_number_char(peek_at(p, 0)))
        p->pos++;
    len = p->pos - start;
    p->pos = start; /* errors point at the start of the literal */
    if (len == 0)
        return tp_toml_lex_error(p, "expected a value");
    if (len > NUMBER_MAX)
        return tp_toml_lex_error(p, "number literal longer than %d characters", NUMBER_MAX);
    if (!is_digit(s[0]) && s[0] != '+' && s[0] != '-' && s[0] != 'i' && s[0] != 'n')
        return tp_toml_lex_error(p, "expected a value, found '%.*s'", len > 20 ? 20 : (int)len,
                                 s);
    if (special_float(s, len, &n->u.f)) {
        n->kind = TP_TOML_FLOAT;
    } else if (len > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
        n->kind = TP_TOML_INTEGER;
        if (prefixed_integer(p, s, len, &n->u.i) != 0)
            return -1;
    } else if (decimal_number(p, s, len, n) != 0) {
        return -1;
    }
    p->pos = start + len;
    return 0;
}

/* ---- scalars ------------------------------------------------------------------------- */

static int starts_with(const tp_toml_parser_t *p, const char *word)
{
    size_t n = strlen(word);
    return p->len - p->pos >= n && memcmp(p->buf + p->pos, word, n) == 0;
}

static int digits_then(const tp_toml_parser_t *p, size_t ndigits, int sep)
{
    size_t i;
    for (i = 0; i < ndigits; i++)
        if (!is_digit(peek_at(p, i)))
            return 0;
    return peek_at(p, ndigits) == sep;
}

int tp_toml_lex_scalar(tp_toml_parser_t *p, tp_toml_node_t *n)
{
    if (starts_with(p, "true") || starts_with(p, "false")) {
        n->kind = TP_TOML_BOOL;
        n->u.b = p->buf[p->pos] == 't';
        p->pos += n->u.b ? 4 : 5;
        return 0;
    }
    if (digits_then(p, 2, ':')) {
        n->kind = TP_TOML_TIME_LOCAL;
        return scan_time(p, &n->u.dt);
    }
    if (digits_then(p, 4, '-'))
        return scan_datetime(p, n);
    return scan_number(p, n);
}

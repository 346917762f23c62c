/* safetensors.c - reading and writing safetensors checkpoints.
 *
 * The format (huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON naming each tensor's dtype, shape and
 * data_offsets [begin, end) into the data section, plus an optional
 * "__metadata__" object of string pairs, then the data section, which the
 * tensors must tile exactly. A read takes the whole file into one buffer,
 * placed so that the data section starts on a 64-byte boundary, and parses
 * the header with a strict JSON reader that knows the format's schema (so
 * it needs no recursion and builds no tree): strings with every escape,
 * non-negative integers, the one object and the arrays the format has, and
 * nothing else. Every check the reference implementation makes is made
 * here, with checked arithmetic, and every message names the file and the
 * byte offset where it goes wrong; no input can crash it or make it loop.
 * The caller gets td_st_tensor records sorted by data offset, pointing into
 * the buffer, and finds them by name through a sorted index. A write lays
 * out the header as the reference writer does (compact JSON, "__metadata__"
 * first, spaces to a multiple of 8 bytes) with the tensors in the caller's
 * order, and goes through a temporary file, fsync and rename (file_io.c).
 * Like npy.c, this file needs only ctx.c and file_io.c. */
#if !defined(_DEFAULT_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* open, fstat, O_CLOEXEC under -std=c11 */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_io.h"
#include "td.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c copies little-endian data as is; a big-endian host needs byte swapping added"
#endif

/* The reference reader refuses headers over 100 MB; so do we, which also
 * bounds what a hostile length can make us parse. */
enum { MAX_HEADER = 100000000 };
/* The data section's alignment in memory: enough for any element type and
 * for vector loads. */
enum { DATA_ALIGN = 64 };
/* How much of a name or a key a message shows. */
enum { SHOWN = 64 };

/* The format's dtype names, in the order of td_dtype; our own sizes, so
 * this file does not depend on dtype.c. */
static const struct {
    const char *name;
    size_t size;
} DTYPES[TD_DTYPE_COUNT] = {
    [TD_F64] = {"F64", 8},         [TD_F32] = {"F32", 4},         [TD_F16] = {"F16", 2}, [TD_BF16] = {"BF16", 2},
    [TD_F8E4M3] = {"F8_E4M3", 1}, [TD_F8E5M2] = {"F8_E5M2", 1}, [TD_I64] = {"I64", 8}, [TD_I32] = {"I32", 4},
    [TD_U16] = {"U16", 2},         [TD_BOOL] = {"BOOL", 1},
};

/* What td_safetensors.storage points to: everything a read allocates. */
typedef struct st_store {
    uint8_t *block;                /* the file's bytes, then the strings of the header */
    td_st_tensor *tensors;         /* by data offset */
    const td_st_tensor **by_name;  /* the same, by name, for td_safetensors_find */
    const char **meta;             /* nmeta keys, then nmeta values */
} st_store;

/* ---- small helpers shared by reading and writing ---- */

/* The length of the valid UTF-8 sequence of 2 to 4 bytes at s (at most
 * `avail` bytes), or 0: no overlong forms, no surrogates, nothing above
 * U+10FFFF (RFC 3629), as Rust's from_utf8 and Python's decoder insist. */
static size_t utf8_length(const uint8_t *s, size_t avail)
{
    uint8_t c = s[0], lo = 0x80, hi = 0xbf;
    size_t k;
    if (c >= 0xc2 && c <= 0xdf)
        k = 2;
    else if (c >= 0xe0 && c <= 0xef)
        k = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        k = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (avail < k || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return k;
}

/* A name or key for a message: at most SHOWN bytes, cut on a character
 * boundary, control characters as '?', so the message stays one line. */
static const char *shown(char buf[SHOWN + 4], const char *s)
{
    size_t n = 0;
    for (; s[n] && n < SHOWN; n++)
        buf[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
    if (s[n]) {
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) /* not inside a character */
            n--;
        buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
    }
    buf[n] = 0;
    return buf;
}

/* "[2, 3]" for a shape. */
enum { SHAPE_TEXT = TD_MAX_RANK * 22 + 4 };
static const char *shape_text(char buf[SHAPE_TEXT], int rank, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, SHAPE_TEXT, "[");
    for (int i = 0; i < rank && n < SHAPE_TEXT; i++)
        n += (size_t)snprintf(buf + n, SHAPE_TEXT - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < SHAPE_TEXT)
        snprintf(buf + n, SHAPE_TEXT - n, "]");
    return buf;
}

/* The element count of a shape, left to right as the reference computes
 * it (so a shape whose running product overflows before a 0 is refused, as
 * td_shape_elements would refuse it later), then its bytes. Returns -1 on
 * success, or the axis at which the count overflows, or rank when the
 * bytes do. */
static int shape_bytes(int rank, const int64_t *shape, size_t elem_size, size_t *elements, size_t *bytes)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        if ((uint64_t)shape[i] > SIZE_MAX || !td_mul_size(n, (size_t)shape[i], &n))
            return i;
    *elements = n;
    return td_mul_size(n, elem_size, bytes) ? -1 : rank;
}

/* ---- the header reader ---- */

/* One tensor as the header gives it, with where it said so. */
typedef struct entry {
    td_st_tensor t;
    uint64_t begin, end;
    size_t index;                /* its place in the header */
    size_t name_at, shape_at, offsets_at; /* positions in the header */
} entry;

typedef struct meta_pair {
    const char *key, *value;
    size_t key_at;
} meta_pair;

typedef struct reader {
    td_ctx *ctx;
    const char *path;
    const uint8_t *s;        /* the header: the file's bytes from offset 8 */
    size_t n, pos;           /* its length; the next byte to read */
    uint64_t data_len;       /* the data section's length */
    char *strings;           /* unescaped strings go here: see parse_string */
    size_t strings_used, strings_cap;
    entry *entries;
    size_t nentries, entries_cap;
    meta_pair *meta;
    size_t nmeta, meta_cap;
    bool seen_metadata;
} reader;

static td_status fail_at(td_ctx *ctx, const char *path, unsigned long long offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static td_status fail_at(td_ctx *ctx, const char *path, unsigned long long offset, const char *fmt, ...)
{
    char why[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return td_fail(ctx, TD_ERR_INPUT, "%s: %s at byte %llu", path, why, offset);
}

/* An error at position `at` of the header (file offset 8 + at). */
static td_status bad(reader *r, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static td_status bad(reader *r, size_t at, const char *fmt, ...)
{
    char why[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return fail_at(r->ctx, r->path, 8 + (unsigned long long)at, "%s", why);
}

static void skip_space(reader *r)
{
    while (r->pos < r->n &&
           (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' || r->s[r->pos] == '\n' || r->s[r->pos] == '\r'))
        r->pos++;
}

static bool at_char(const reader *r, char c) { return r->pos < r->n && r->s[r->pos] == (uint8_t)c; }

/* What the next value is, for "expected X, found Y" messages. */
static const char *found(const reader *r)
{
    if (r->pos >= r->n)
        return "the end of the header";
    uint8_t c = r->s[r->pos];
    if (c == '{')
        return "an object";
    if (c == '[')
        return "an array";
    if (c == '"')
        return "a string";
    if (c == '-' || (c >= '0' && c <= '9'))
        return "a number";
    if (c == 't' || c == 'f')
        return "true or false (booleans are not part of the format)";
    if (c == 'n')
        return "null (not part of the format)";
    if (c == '}' || c == ']' || c == ',' || c == ':')
        return c == '}' ? "'}'" : c == ']' ? "']'" : c == ',' ? "','" : "':'";
    return c >= 0x20 && c < 0x7f ? "an unexpected character" : "an unexpected byte";
}

static td_status expect(reader *r, char c, const char *what)
{
    if (!at_char(r, c))
        return bad(r, r->pos, "malformed JSON header: expected %s, found %s", what, found(r));
    r->pos++;
    return TD_OK;
}

static int hex_digit(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Four hex digits at s[at]; -1 if they are not. */
static long hex4(const reader *r, size_t at)
{
    if (r->n - at < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(r->s[at + i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The escape at r->pos (a backslash), appended to dst; *len grows by the
 * bytes written (at most 4). */
static td_status parse_escape(reader *r, char *dst, size_t *len)
{
    size_t at = r->pos;
    if (r->n - at < 2)
        return bad(r, at, "malformed JSON header: unterminated escape");
    uint8_t c = r->s[at + 1];
    static const char SIMPLE_IN[] = "\"\\/bfnrt", SIMPLE_OUT[] = "\"\\/\b\f\n\r\t";
    const char *simple = c ? strchr(SIMPLE_IN, c) : NULL;
    if (simple) {
        dst[(*len)++] = SIMPLE_OUT[simple - SIMPLE_IN];
        r->pos += 2;
        return TD_OK;
    }
    if (c != 'u')
        return bad(r, at, "malformed JSON header: invalid escape (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
    long cp = hex4(r, at + 2);
    if (cp < 0)
        return bad(r, at, "malformed JSON header: \\u needs four hex digits");
    size_t end = at + 6;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return bad(r, at, "malformed JSON header: \\u%04lX is a low surrogate without a high one before it", cp);
    if (cp >= 0xd800 && cp <= 0xdbff) {
        long low = r->n - end >= 2 && r->s[end] == '\\' && r->s[end + 1] == 'u' ? hex4(r, end + 2) : -1;
        if (low < 0xdc00 || low > 0xdfff)
            return bad(r, at, "malformed JSON header: \\u%04lX is a high surrogate without a low one after it", cp);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        end += 6;
    }
    if (cp == 0)
        return bad(r, at, "\\u0000 (a NUL character) in a string: names and metadata are C strings");
    uint8_t *o = (uint8_t *)dst + *len;
    if (cp < 0x80) {
        o[0] = (uint8_t)cp, *len += 1;
    } else if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6), o[1] = (uint8_t)(0x80 | (cp & 0x3f)), *len += 2;
    } else if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12), o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f)), *len += 3;
    } else {
        o[0] = (uint8_t)(0xf0 | cp >> 18), o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f)), o[3] = (uint8_t)(0x80 | (cp & 0x3f)), *len += 4;
    }
    r->pos = end;
    return TD_OK;
}

/* A JSON string, unescaped into r->strings and NUL-terminated. It always
 * fits: no piece of a string unescapes to more bytes than it takes in the
 * header (a character to itself, \n to 1, \uXXXX to at most 3, a surrogate
 * pair of 12 to 4), and the NUL takes the place of the two quotes, so the
 * strings of a header never outgrow its length. A caller that needs a
 * string only for a moment rewinds strings_used. */
static td_status parse_string(reader *r, const char *what, const char **out, size_t *out_len)
{
    if (!at_char(r, '"'))
        return bad(r, r->pos, "malformed JSON header: expected %s (a string), found %s", what, found(r));
    size_t open = r->pos++;
    char *dst = r->strings + r->strings_used;
    size_t room = r->strings_cap - r->strings_used, len = 0;
    for (;;) {
        if (r->pos >= r->n)
            return bad(r, open, "malformed JSON header: unterminated string");
        if (len + 5 > room) /* cannot happen (see above); a guard for the fuzzer */
            return bad(r, open, "internal error: a string outgrew the header");
        uint8_t c = r->s[r->pos];
        if (c == '"')
            break;
        td_status st;
        if (c == '\\') {
            if ((st = parse_escape(r, dst, &len)))
                return st;
        } else if (c < 0x20) {
            return bad(r, r->pos, "malformed JSON header: control character 0x%02x in a string (JSON needs it escaped)",
                       c);
        } else if (c < 0x80) {
            dst[len++] = (char)c;
            r->pos++;
        } else {
            size_t k = utf8_length(r->s + r->pos, r->n - r->pos);
            if (!k)
                return bad(r, r->pos, "malformed JSON header: invalid UTF-8 in a string");
            memcpy(dst + len, r->s + r->pos, k);
            len += k, r->pos += k;
        }
    }
    r->pos++;
    dst[len] = 0;
    r->strings_used += len + 1;
    *out = dst;
    if (out_len)
        *out_len = len;
    return TD_OK;
}

/* A non-negative JSON integer of at most `max`; `what` names it. */
static td_status parse_uint(reader *r, const char *what, uint64_t max, uint64_t *out)
{
    size_t at = r->pos;
    if (at_char(r, '-') && r->pos + 1 < r->n && r->s[r->pos + 1] >= '0' && r->s[r->pos + 1] <= '9')
        return bad(r, at, "%s is negative", what);
    if (r->pos >= r->n || r->s[r->pos] < '0' || r->s[r->pos] > '9')
        return bad(r, at, "malformed JSON header: expected %s (an integer), found %s", what, found(r));
    if (r->s[r->pos] == '0' && r->pos + 1 < r->n && r->s[r->pos + 1] >= '0' && r->s[r->pos + 1] <= '9')
        return bad(r, at, "malformed JSON header: %s has a leading zero", what);
    uint64_t v = 0;
    while (r->pos < r->n && r->s[r->pos] >= '0' && r->s[r->pos] <= '9') {
        unsigned digit = r->s[r->pos++] - '0';
        if (v > (max - digit) / 10)
            return bad(r, at, "%s is over %llu", what, (unsigned long long)max);
        v = v * 10 + digit;
    }
    if (at_char(r, '.') || at_char(r, 'e') || at_char(r, 'E'))
        return bad(r, at, "%s is not an integer", what);
    *out = v;
    return TD_OK;
}

/* "key": after the key, the colon. */
static td_status parse_colon(reader *r)
{
    skip_space(r);
    td_status st = expect(r, ':', "':' after a key");
    skip_space(r);
    return st;
}

/* After a member or an element: ',' (then another) or the closing
 * bracket. Sets *more. */
static td_status parse_separator(reader *r, char close, const char *where, bool *more)
{
    skip_space(r);
    if (at_char(r, ',')) {
        r->pos++;
        skip_space(r);
        *more = true;
        return TD_OK;
    }
    if (at_char(r, close)) {
        r->pos++;
        *more = false;
        return TD_OK;
    }
    return bad(r, r->pos, "malformed JSON header: expected ',' or '%c' %s, found %s", close, where, found(r));
}

/* "__metadata__": {"key": "value", ...} */
static td_status parse_metadata(reader *r)
{
    td_status st;
    if (!at_char(r, '{'))
        return bad(r, r->pos, "\"__metadata__\" must be an object of strings, found %s", found(r));
    r->pos++;
    skip_space(r);
    if (at_char(r, '}')) {
        r->pos++;
        return TD_OK;
    }
    for (bool more = true; more;) {
        meta_pair m = {NULL, NULL, r->pos};
        if ((st = parse_string(r, "a metadata key", &m.key, NULL)) || (st = parse_colon(r)))
            return st;
        if (!at_char(r, '"')) {
            char k[SHOWN + 4];
            return bad(r, r->pos, "the metadata value of '%s' must be a string, found %s", shown(k, m.key), found(r));
        }
        if ((st = parse_string(r, "a metadata value", &m.value, NULL)))
            return st;
        if (r->nmeta == r->meta_cap) {
            size_t cap = r->meta_cap ? 2 * r->meta_cap : 16, bytes;
            meta_pair *grown = td_mul_size(cap, sizeof *grown, &bytes) && cap <= INT32_MAX / 2 ? realloc(r->meta, bytes) : NULL;
            if (!grown)
                return td_fail(r->ctx, TD_ERR_OOM, "%s: cannot allocate room for %zu metadata entries", r->path, cap);
            r->meta = grown, r->meta_cap = cap;
        }
        r->meta[r->nmeta++] = m;
        if ((st = parse_separator(r, '}', "after a metadata entry", &more)))
            return st;
    }
    return TD_OK;
}

/* "shape": [d0, d1, ...] */
static td_status parse_shape(reader *r, entry *e, const char *name)
{
    char nm[SHOWN + 4];
    e->shape_at = r->pos;
    if (!at_char(r, '['))
        return bad(r, r->pos, "tensor '%s': \"shape\" must be an array of integers, found %s", shown(nm, name),
                   found(r));
    r->pos++;
    skip_space(r);
    if (at_char(r, ']')) {
        r->pos++;
        return TD_OK;
    }
    for (bool more = true; more;) {
        if (e->t.rank == TD_MAX_RANK)
            return bad(r, e->shape_at, "tensor '%s': more than %d axes, the most tdc supports", shown(nm, name),
                       TD_MAX_RANK);
        uint64_t d;
        td_status st = parse_uint(r, "an axis size", INT64_MAX, &d);
        if (st)
            return st;
        e->t.shape[e->t.rank++] = (int64_t)d;
        if ((st = parse_separator(r, ']', "in \"shape\"", &more)))
            return st;
    }
    return TD_OK;
}

/* "data_offsets": [begin, end] */
static td_status parse_offsets(reader *r, entry *e, const char *name)
{
    char nm[SHOWN + 4];
    td_status st;
    e->offsets_at = r->pos;
    if (!at_char(r, '['))
        return bad(r, r->pos, "tensor '%s': \"data_offsets\" must be an array [begin, end], found %s",
                   shown(nm, name), found(r));
    r->pos++;
    skip_space(r);
    if ((st = parse_uint(r, "a data offset", UINT64_MAX, &e->begin)))
        return st;
    skip_space(r);
    if (!at_char(r, ','))
        return bad(r, r->pos, "tensor '%s': \"data_offsets\" must be [begin, end]: expected ',', found %s",
                   shown(nm, name), found(r));
    r->pos++;
    skip_space(r);
    if ((st = parse_uint(r, "a data offset", UINT64_MAX, &e->end)))
        return st;
    skip_space(r);
    if (!at_char(r, ']'))
        return bad(r, r->pos, "tensor '%s': \"data_offsets\" must be [begin, end]: expected ']', found %s",
                   shown(nm, name), found(r));
    r->pos++;
    return TD_OK;
}

/* "dtype": "F32" */
static td_status parse_dtype(reader *r, entry *e, const char *name)
{
    char nm[SHOWN + 4], dt[SHOWN + 4];
    size_t at = r->pos, mark = r->strings_used, len;
    const char *s;
    td_status st = parse_string(r, "a dtype", &s, &len);
    if (st)
        return st;
    r->strings_used = mark;
    for (int t = 0; t < TD_DTYPE_COUNT; t++)
        if (strcmp(s, DTYPES[t].name) == 0) {
            e->t.dtype = (td_dtype)t;
            return TD_OK;
        }
    return bad(r, at, "tensor '%s': unsupported dtype '%s' (tdc reads F64 F32 F16 BF16 F8_E4M3 F8_E5M2 I64 I32 U16 BOOL)",
               shown(nm, name), shown(dt, s));
}

/* The checks one entry allows on its own: the byte count and the range. */
static td_status check_entry(reader *r, entry *e)
{
    char nm[SHOWN + 4], sh[SHAPE_TEXT];
    size_t elements = 0;
    int axis = shape_bytes(e->t.rank, e->t.shape, DTYPES[e->t.dtype].size, &elements, &e->t.bytes);
    if (axis >= 0 && axis < e->t.rank)
        return bad(r, e->shape_at, "tensor '%s': the number of elements of shape %s overflows at axis %d",
                   shown(nm, e->t.name), shape_text(sh, e->t.rank, e->t.shape), axis);
    if (axis >= 0)
        return bad(r, e->shape_at, "tensor '%s': %zu elements of %s overflow the bytes of a size_t",
                   shown(nm, e->t.name), elements, DTYPES[e->t.dtype].name);
    if (e->begin > e->end)
        return bad(r, e->offsets_at, "tensor '%s': data_offsets [%llu, %llu] end before they begin",
                   shown(nm, e->t.name), (unsigned long long)e->begin, (unsigned long long)e->end);
    if (e->end > r->data_len)
        return bad(r, e->offsets_at,
                   "tensor '%s': data_offsets [%llu, %llu] run past the end of the data section (%llu bytes)",
                   shown(nm, e->t.name), (unsigned long long)e->begin, (unsigned long long)e->end,
                   (unsigned long long)r->data_len);
    if (e->end - e->begin != e->t.bytes)
        return bad(r, e->offsets_at, "tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, but shape %s of %s needs %zu",
                   shown(nm, e->t.name), (unsigned long long)e->begin, (unsigned long long)e->end,
                   (unsigned long long)(e->end - e->begin), shape_text(sh, e->t.rank, e->t.shape),
                   DTYPES[e->t.dtype].name, e->t.bytes);
    return TD_OK;
}

/* "name": {"dtype": ..., "shape": ..., "data_offsets": ...}, keys in any
 * order, each exactly once. */
static td_status parse_entry(reader *r, const char *name, size_t name_at)
{
    char nm[SHOWN + 4];
    td_status st;
    if (!name[0])
        return bad(r, name_at, "a tensor with an empty name");
    if (strlen(name) >= TD_ST_MAX_NAME)
        return bad(r, name_at, "tensor '%s': the name has %zu bytes, over the %d tdc allows", shown(nm, name),
                   strlen(name), TD_ST_MAX_NAME - 1);
    if (!at_char(r, '{'))
        return bad(r, r->pos, "tensor '%s': expected an object {\"dtype\", \"shape\", \"data_offsets\"}, found %s",
                   shown(nm, name), found(r));
    size_t open = r->pos++;
    entry e;
    memset(&e, 0, sizeof e);
    e.t.name = name, e.name_at = name_at, e.index = r->nentries;
    static const char *const KEYS[3] = {"dtype", "shape", "data_offsets"};
    bool seen[3] = {false, false, false};
    skip_space(r);
    bool more = !at_char(r, '}');
    if (!more)
        r->pos++;
    while (more) {
        size_t key_at = r->pos, mark = r->strings_used;
        const char *key;
        if ((st = parse_string(r, "a key", &key, NULL)))
            return st;
        int k = 0;
        while (k < 3 && strcmp(key, KEYS[k]) != 0)
            k++;
        char ks[SHOWN + 4];
        if (k == 3)
            return bad(r, key_at, "tensor '%s': unknown key '%s' (the keys are \"dtype\", \"shape\", \"data_offsets\")",
                       shown(nm, name), shown(ks, key));
        r->strings_used = mark;
        if (seen[k])
            return bad(r, key_at, "tensor '%s': \"%s\" appears twice", shown(nm, name), KEYS[k]);
        seen[k] = true;
        if ((st = parse_colon(r)))
            return st;
        st = k == 0 ? parse_dtype(r, &e, name) : k == 1 ? parse_shape(r, &e, name) : parse_offsets(r, &e, name);
        if (st || (st = parse_separator(r, '}', "in a tensor's entry", &more)))
            return st;
    }
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            return bad(r, open, "tensor '%s': the entry has no \"%s\"", shown(nm, name), KEYS[k]);
    if ((st = check_entry(r, &e)))
        return st;
    if (r->nentries == r->entries_cap) {
        size_t cap = r->entries_cap ? 2 * r->entries_cap : 16, bytes;
        entry *grown = td_mul_size(cap, sizeof *grown, &bytes) && cap <= INT32_MAX ? realloc(r->entries, bytes) : NULL;
        if (!grown)
            return td_fail(r->ctx, TD_ERR_OOM, "%s: cannot allocate room for %zu tensors", r->path, cap);
        r->entries = grown, r->entries_cap = cap;
    }
    r->entries[r->nentries++] = e;
    return TD_OK;
}

/* The whole header: {"name": {...}, "__metadata__": {...}, ...} and only
 * whitespace after it. */
static td_status parse_header(reader *r)
{
    td_status st;
    if (!at_char(r, '{')) /* the reference insists on the first byte, too */
        return bad(r, 0, "malformed JSON header: it must start with '{', found %s", found(r));
    r->pos++;
    skip_space(r);
    bool more = !at_char(r, '}');
    if (!more)
        r->pos++;
    while (more) {
        size_t name_at = r->pos;
        const char *name;
        if ((st = parse_string(r, "a tensor name", &name, NULL)) || (st = parse_colon(r)))
            return st;
        if (strcmp(name, "__metadata__") == 0) {
            if (r->seen_metadata)
                return bad(r, name_at, "\"__metadata__\" appears twice");
            r->seen_metadata = true;
            st = parse_metadata(r);
        } else {
            st = parse_entry(r, name, name_at);
        }
        if (st || (st = parse_separator(r, '}', "after a tensor's entry", &more)))
            return st;
    }
    skip_space(r);
    if (r->pos < r->n)
        return bad(r, r->pos, "malformed JSON header: %s after the header object (only whitespace may pad it)",
                   found(r));
    return TD_OK;
}

/* ---- the checks that need every entry ---- */

static int by_offset(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int entry_by_name(const void *a, const void *b)
{
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    int c = strcmp(x->t.name, y->t.name);
    return c ? c : x->index < y->index ? -1 : x->index > y->index;
}

static int meta_by_key(const void *a, const void *b)
{
    const meta_pair *x = *(const meta_pair *const *)a, *y = *(const meta_pair *const *)b;
    int c = strcmp(x->key, y->key);
    return c ? c : x->key_at < y->key_at ? -1 : x->key_at > y->key_at;
}

/* No name twice; the message points at the second one in the file. */
static td_status check_unique(reader *r)
{
    const entry **names = malloc((r->nentries ? r->nentries : 1) * sizeof *names);
    const meta_pair **keys = malloc((r->nmeta ? r->nmeta : 1) * sizeof *keys);
    char nm[SHOWN + 4];
    td_status st = TD_OK;
    if (!names || !keys) {
        st = td_fail(r->ctx, TD_ERR_OOM, "%s: cannot allocate an index of %zu names", r->path, r->nentries);
        goto done;
    }
    for (size_t i = 0; i < r->nentries; i++)
        names[i] = &r->entries[i];
    qsort(names, r->nentries, sizeof *names, entry_by_name);
    for (size_t i = 1; i < r->nentries && !st; i++)
        if (strcmp(names[i - 1]->t.name, names[i]->t.name) == 0)
            st = bad(r, names[i]->name_at, "duplicate tensor name '%s' (first at byte %llu)",
                     shown(nm, names[i]->t.name), 8 + (unsigned long long)names[i - 1]->name_at);
    for (size_t i = 0; i < r->nmeta; i++)
        keys[i] = &r->meta[i];
    qsort(keys, r->nmeta, sizeof *keys, meta_by_key);
    for (size_t i = 1; i < r->nmeta && !st; i++)
        if (strcmp(keys[i - 1]->key, keys[i]->key) == 0)
            st = bad(r, keys[i]->key_at, "duplicate metadata key '%s' (first at byte %llu)", shown(nm, keys[i]->key),
                     8 + (unsigned long long)keys[i - 1]->key_at);
done:
    free(names);
    free(keys);
    return st;
}

/* Sorted by offset, each tensor must start where the one before ended, and
 * the last end where the file does. */
static td_status check_tiling(reader *r)
{
    char nm[SHOWN + 4], prev[SHOWN + 4];
    if (r->nentries > 1)
        qsort(r->entries, r->nentries, sizeof *r->entries, by_offset);
    uint64_t covered = 0;
    for (size_t i = 0; i < r->nentries; i++) {
        const entry *e = &r->entries[i];
        if (e->begin > covered)
            return bad(r, e->offsets_at,
                       "tensor '%s': a gap in the data section: bytes [%llu, %llu) belong to no tensor",
                       shown(nm, e->t.name), (unsigned long long)covered, (unsigned long long)e->begin);
        if (e->begin < covered)
            return bad(r, e->offsets_at, "tensor '%s': data_offsets [%llu, %llu] overlap those of '%s' (which end at %llu)",
                       shown(nm, e->t.name), (unsigned long long)e->begin, (unsigned long long)e->end,
                       shown(prev, r->entries[i - 1].t.name), (unsigned long long)covered);
        covered = e->end;
    }
    if (covered != r->data_len)
        return fail_at(r->ctx, r->path, 8 + (unsigned long long)r->n + covered,
                       "the data section has %llu bytes, but the tensors end at %llu (%llu trailing byte%s)",
                       (unsigned long long)r->data_len, (unsigned long long)covered,
                       (unsigned long long)(r->data_len - covered), r->data_len - covered == 1 ? "" : "s");
    return TD_OK;
}

/* A bool is a byte, 0 or 1, as everywhere in the runtime. */
static td_status check_bools(reader *r, const uint8_t *data)
{
    char nm[SHOWN + 4];
    for (size_t i = 0; i < r->nentries; i++) {
        const entry *e = &r->entries[i];
        if (e->t.dtype != TD_BOOL)
            continue;
        for (size_t j = 0; j < e->t.bytes; j++)
            if (data[e->begin + j] > 1)
                return fail_at(r->ctx, r->path, 8 + (unsigned long long)r->n + e->begin + j,
                               "tensor '%s': bool element %zu is %u, not 0 or 1", shown(nm, e->t.name), j,
                               data[e->begin + j]);
    }
    return TD_OK;
}

static int tensor_by_name(const void *a, const void *b)
{
    return strcmp((*(const td_st_tensor *const *)a)->name, (*(const td_st_tensor *const *)b)->name);
}

/* Hands the parsed entries over to *out, whose storage takes the block. */
static td_status build_result(reader *r, uint8_t *block, const uint8_t *data, td_safetensors *out)
{
    size_t n = r->nentries ? r->nentries : 1, m = r->nmeta ? 2 * r->nmeta : 1;
    st_store *store = calloc(1, sizeof *store);
    if (store) {
        store->tensors = calloc(n, sizeof *store->tensors);
        store->by_name = calloc(n, sizeof *store->by_name);
        store->meta = calloc(m, sizeof *store->meta);
    }
    if (!store || !store->tensors || !store->by_name || !store->meta) {
        if (store) {
            free(store->tensors);
            free(store->by_name);
            free(store->meta);
        }
        free(store);
        return td_fail(r->ctx, TD_ERR_OOM, "%s: cannot allocate the index of %zu tensors", r->path, r->nentries);
    }
    for (size_t i = 0; i < r->nentries; i++) {
        store->tensors[i] = r->entries[i].t;
        store->tensors[i].data = data + r->entries[i].begin;
        store->by_name[i] = &store->tensors[i];
    }
    qsort(store->by_name, r->nentries, sizeof *store->by_name, tensor_by_name);
    for (size_t i = 0; i < r->nmeta; i++) {
        store->meta[i] = r->meta[i].key;
        store->meta[r->nmeta + i] = r->meta[i].value;
    }
    store->block = block;
    out->ntensors = (int)r->nentries;
    out->tensors = store->tensors;
    out->nmeta = (int)r->nmeta;
    out->meta_keys = store->meta;
    out->meta_values = store->meta + r->nmeta;
    out->storage = store;
    return TD_OK;
}

/* ---- reading the file ---- */

/* Opens the file, checks the header length against its size and reads it
 * whole into a block with room for the header's strings after it; *file
 * is where its byte 0 landed (so that byte 8 + N is 64-byte aligned). */
static td_status load(td_ctx *ctx, const char *path, uint8_t **block, uint8_t **file, uint64_t *total, uint64_t *hlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return td_fail(ctx, TD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    td_status st = TD_OK;
    struct stat info;
    uint8_t pre[8];
    size_t got = 0, size = 0;
    if (fstat(fd, &info) != 0) {
        st = td_fail(ctx, TD_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(info.st_mode)) { /* a pipe or a device has no length to check against */
        st = td_fail(ctx, TD_ERR_INPUT, "%s: not a regular file", path);
        goto done;
    }
    *total = (uint64_t)info.st_size;
    if (!td_pread_full(fd, pre, *total < 8 ? (size_t)*total : 8, 0, &got)) {
        st = td_fail(ctx, TD_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (got < 8) {
        st = fail_at(ctx, path, got, "truncated: the file ends inside the 8-byte header length");
        goto done;
    }
    *hlen = 0;
    for (int i = 0; i < 8; i++)
        *hlen |= (uint64_t)pre[i] << (8 * i);
    if (*hlen > *total - 8) {
        st = fail_at(ctx, path, 0,
                     "header length %llu runs past the end of the file (the header would end at byte %llu, the file "
                     "has %llu bytes)",
                     (unsigned long long)*hlen, (unsigned long long)*hlen + 8, (unsigned long long)*total);
        goto done;
    }
    if (*hlen > MAX_HEADER) {
        st = fail_at(ctx, path, 0, "header length %llu is over the %d bytes the format allows",
                     (unsigned long long)*hlen, MAX_HEADER);
        goto done;
    }
    /* the file, the alignment slack and the header's strings */
    if (*total > SIZE_MAX || !td_add_size((size_t)*total, (size_t)*hlen + 2 * DATA_ALIGN, &size) ||
        !(*block = malloc(size))) {
        st = td_fail(ctx, TD_ERR_OOM, "%s: cannot allocate %llu bytes to read it", path, (unsigned long long)*total);
        goto done;
    }
    uintptr_t data_at = (uintptr_t)(*block + 8 + *hlen);
    *file = *block + (DATA_ALIGN - data_at % DATA_ALIGN) % DATA_ALIGN;
    if (!td_pread_full(fd, *file, (size_t)*total, 0, &got)) {
        st = td_fail(ctx, TD_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (got < *total) /* it shrank since fstat */
        st = fail_at(ctx, path, got, "truncated while being read: the file had %llu bytes and now ends",
                     (unsigned long long)*total);
done:
    close(fd);
    if (st) {
        free(*block);
        *block = NULL;
    }
    return st;
}

td_status td_safetensors_read(td_ctx *ctx, const char *path, td_safetensors *out)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return td_fail(ctx, TD_ERR_INPUT, "td_safetensors_read: no path");
    uint8_t *block = NULL, *file = NULL;
    uint64_t total = 0, hlen = 0;
    td_status st = load(ctx, path, &block, &file, &total, &hlen);
    if (st)
        return st;
    reader r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx, r.path = path, r.s = file + 8, r.n = (size_t)hlen, r.data_len = total - 8 - hlen;
    r.strings = (char *)file + total;
    r.strings_cap = (size_t)hlen + DATA_ALIGN; /* what the block has after the file */
    st = parse_header(&r);
    if (!st)
        st = check_unique(&r);
    if (!st)
        st = check_tiling(&r);
    if (!st)
        st = check_bools(&r, file + 8 + hlen);
    if (!st)
        st = build_result(&r, block, file + 8 + hlen, out);
    free(r.entries);
    free(r.meta);
    if (st)
        free(block);
    return st;
}

const td_st_tensor *td_safetensors_find(const td_safetensors *st, const char *name)
{
    if (!st || !name)
        return NULL;
    const st_store *store = st->storage;
    if (!store) { /* a struct filled in by hand */
        for (int i = 0; i < st->ntensors; i++)
            if (st->tensors[i].name && strcmp(st->tensors[i].name, name) == 0)
                return &st->tensors[i];
        return NULL;
    }
    size_t lo = 0, hi = (size_t)st->ntensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(store->by_name[mid]->name, name);
        if (c == 0)
            return store->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *td_safetensors_meta(const td_safetensors *st, const char *key)
{
    if (!st || !key)
        return NULL;
    for (int i = 0; i < st->nmeta; i++)
        if (strcmp(st->meta_keys[i], key) == 0)
            return st->meta_values[i];
    return NULL;
}

void td_safetensors_free(td_safetensors *st)
{
    if (!st)
        return;
    st_store *store = st->storage;
    if (store) {
        free(store->block);
        free(store->tensors);
        free(store->by_name);
        free(store->meta);
        free(store);
    }
    memset(st, 0, sizeof *st);
}

/* ---- writing ---- */

/* The header's JSON, measured (buf NULL) or written. */
typedef struct sink {
    char *buf;
    size_t len;
    bool overflow;
} sink;

static void put(sink *k, const char *s, size_t n)
{
    size_t end;
    if (!td_add_size(k->len, n, &end)) {
        k->overflow = true;
        return;
    }
    if (k->buf)
        memcpy(k->buf + k->len, s, n);
    k->len = end;
}

static void put_text(sink *k, const char *s) { put(k, s, strlen(s)); }

static void put_u64(sink *k, uint64_t v)
{
    char buf[24];
    put(k, buf, (size_t)snprintf(buf, sizeof buf, "%llu", (unsigned long long)v));
}

/* A JSON string as serde_json writes it: \" \\ \b \f \n \r \t, \u00xx for
 * the other control characters, everything else (UTF-8 included) as is. */
static void put_string(sink *k, const char *s)
{
    put(k, "\"", 1);
    for (const char *run = s;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(k, run, (size_t)(s - run));
        if (!c)
            break;
        char esc[8];
        const char *simple = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
                             : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (!simple)
            snprintf(esc, sizeof esc, "\\u%04x", c);
        put_text(k, simple ? simple : esc);
        run = s + 1;
    }
    put(k, "\"", 1);
}

static void put_header(sink *k, int ntensors, const td_st_tensor *tensors, int nmeta, const char *const *keys,
                       const char *const *values)
{
    put_text(k, "{");
    if (nmeta > 0) {
        put_text(k, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            put_text(k, i ? "," : "");
            put_string(k, keys[i]);
            put_text(k, ":");
            put_string(k, values[i]);
        }
        put_text(k, "}");
    }
    uint64_t offset = 0;
    for (int i = 0; i < ntensors; i++) {
        const td_st_tensor *t = &tensors[i];
        put_text(k, i || nmeta > 0 ? "," : "");
        put_string(k, t->name);
        put_text(k, ":{\"dtype\":");
        put_string(k, DTYPES[t->dtype].name);
        put_text(k, ",\"shape\":[");
        for (int a = 0; a < t->rank; a++) {
            put_text(k, a ? "," : "");
            put_u64(k, (uint64_t)t->shape[a]);
        }
        put_text(k, "],\"data_offsets\":[");
        put_u64(k, offset);
        put_text(k, ",");
        offset += t->bytes; /* the sum was checked by validate_tensors */
        put_u64(k, offset);
        put_text(k, "]}");
    }
    put_text(k, "}");
}

/* Valid UTF-8 (JSON is UTF-8, and the reader insists); the offset of the
 * first bad byte, or -1. */
static long bad_utf8(const char *s)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = u[i] < 0x80 ? 1 : utf8_length(u + i, n - i);
        if (!k)
            return (long)i;
        i += k;
    }
    return -1;
}

static int name_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Two of `n` strings are equal: the first such, or NULL. */
static const char *find_duplicate(const char **sorted, int n)
{
    qsort(sorted, (size_t)n, sizeof *sorted, name_order);
    for (int i = 1; i < n; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0)
            return sorted[i];
    return NULL;
}

static td_status validate_tensor(td_ctx *ctx, const char *path, int i, const td_st_tensor *t)
{
    char nm[SHOWN + 4], sh[SHAPE_TEXT];
    if (!t->name || !t->name[0])
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: tensor %d has %s name", path, i, t->name ? "an empty" : "no");
    const char *name = shown(nm, t->name);
    if (strlen(t->name) >= TD_ST_MAX_NAME)
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: tensor %d ('%s'): the name has %zu bytes, over %d", path, i,
                       name, strlen(t->name), TD_ST_MAX_NAME - 1);
    if (bad_utf8(t->name) >= 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: tensor %d: the name is not valid UTF-8 (at its byte %ld)",
                       path, i, bad_utf8(t->name));
    if (strcmp(t->name, "__metadata__") == 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: tensor %d is named \"__metadata__\", the format's key for "
                       "the metadata", path, i);
    if ((unsigned)t->dtype >= TD_DTYPE_COUNT)
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: tensor %d ('%s'): %d is not a td_dtype", path, i, name,
                       (int)t->dtype);
    if (t->rank < 0 || t->rank > TD_MAX_RANK)
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: tensor %d ('%s'): rank %d is outside 0..%d", path, i, name,
                       t->rank, TD_MAX_RANK);
    for (int a = 0; a < t->rank; a++)
        if (t->shape[a] < 0)
            return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: tensor %d ('%s'): axis %d has negative size %lld",
                           path, i, name, a, (long long)t->shape[a]);
    size_t elements = 0, bytes = 0;
    int axis = shape_bytes(t->rank, t->shape, DTYPES[t->dtype].size, &elements, &bytes);
    if (axis >= 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: tensor %d ('%s'): the bytes of shape %s overflow", path, i,
                       name, shape_text(sh, t->rank, t->shape));
    if (t->bytes != bytes)
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: tensor %d ('%s'): %zu bytes, but shape %s of %s needs %zu",
                       path, i, name, t->bytes, shape_text(sh, t->rank, t->shape), DTYPES[t->dtype].name, bytes);
    if (bytes && !t->data)
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: tensor %d ('%s'): no data for %zu bytes", path, i, name,
                       bytes);
    if (t->dtype == TD_BOOL)
        for (size_t j = 0; j < bytes; j++)
            if (((const uint8_t *)t->data)[j] > 1)
                return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: tensor %d ('%s'): bool element %zu is %u, not 0 "
                               "or 1", path, i, name, j, ((const uint8_t *)t->data)[j]);
    return TD_OK;
}

/* Every check before a byte is written; *data_bytes is the data section. */
static td_status validate_write(td_ctx *ctx, const char *path, int ntensors, const td_st_tensor *tensors, int nmeta,
                                const char *const *keys, const char *const *values, size_t *data_bytes)
{
    char nm[SHOWN + 4];
    td_status st;
    if (ntensors < 0 || nmeta < 0 || (ntensors > 0 && !tensors) || (nmeta > 0 && (!keys || !values)))
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: %d tensors and %d metadata entries (negative, or no array)",
                       path, ntensors, nmeta);
    *data_bytes = 0;
    for (int i = 0; i < ntensors; i++) {
        if ((st = validate_tensor(ctx, path, i, &tensors[i])))
            return st;
        if (!td_add_size(*data_bytes, tensors[i].bytes, data_bytes))
            return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: the data overflows a size_t at tensor %d", path, i);
    }
    for (int i = 0; i < nmeta; i++) {
        if (!keys[i] || !values[i])
            return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: metadata entry %d has no %s", path, i,
                           keys[i] ? "value" : "key");
        if (bad_utf8(keys[i]) >= 0 || bad_utf8(values[i]) >= 0)
            return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: metadata entry %d ('%s'): not valid UTF-8", path, i,
                           shown(nm, keys[i]));
    }
    int most = ntensors > nmeta ? ntensors : nmeta;
    const char **sorted = malloc((size_t)(most ? most : 1) * sizeof *sorted);
    if (!sorted)
        return td_fail(ctx, TD_ERR_OOM, "%s: cannot allocate an index of %d names", path, most);
    for (int i = 0; i < ntensors; i++)
        sorted[i] = tensors[i].name;
    const char *dup = find_duplicate(sorted, ntensors);
    st = dup ? td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: two tensors are named '%s'", path, shown(nm, dup)) : TD_OK;
    for (int i = 0; i < nmeta && !st; i++)
        sorted[i] = keys[i];
    if (!st && (dup = find_duplicate(sorted, nmeta)))
        st = td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: the metadata key '%s' appears twice", path, shown(nm, dup));
    free(sorted);
    return st;
}

/* The 8-byte length, the header padded with spaces to a multiple of 8, as
 * the reference writer pads it; malloc'd, *len its size. */
static td_status build_header(td_ctx *ctx, const char *path, int ntensors, const td_st_tensor *tensors, int nmeta,
                              const char *const *keys, const char *const *values, uint8_t **out, size_t *len)
{
    sink measure = {NULL, 0, false};
    put_header(&measure, ntensors, tensors, nmeta, keys, values);
    size_t padded;
    if (measure.overflow || !td_add_size(measure.len, 7 + 8, &padded))
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: the header's length overflows", path);
    size_t hlen = (padded - 8) / 8 * 8;
    uint8_t *buf = malloc(8 + hlen);
    if (!buf)
        return td_fail(ctx, TD_ERR_OOM, "%s: cannot allocate %zu bytes for the header", path, hlen);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    sink write = {(char *)buf + 8, 0, false};
    put_header(&write, ntensors, tensors, nmeta, keys, values);
    memset(buf + 8 + write.len, ' ', hlen - write.len);
    *out = buf;
    *len = 8 + hlen;
    return TD_OK;
}

td_status td_safetensors_write(td_ctx *ctx, const char *path, int ntensors, const td_st_tensor *tensors, int nmeta,
                               const char *const *meta_keys, const char *const *meta_values)
{
    if (!path)
        return td_fail(ctx, TD_ERR_INPUT, "td_safetensors_write: no path");
    size_t data_bytes = 0, header_len = 0;
    uint8_t *header = NULL;
    td_status st = validate_write(ctx, path, ntensors, tensors, nmeta, meta_keys, meta_values, &data_bytes);
    if (!st)
        st = build_header(ctx, path, ntensors, tensors, nmeta, meta_keys, meta_values, &header, &header_len);
    if (st)
        return st;
    td_file_writer w;
    if (!(st = td_file_begin(ctx, path, &w))) {
        td_file_append(&w, header, header_len);
        for (int i = 0; i < ntensors; i++)
            td_file_append(&w, tensors[i].data, tensors[i].bytes);
        st = td_file_commit(ctx, path, &w);
    }
    free(header);
    return st;
}

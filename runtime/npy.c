/* npy.c - reading and writing NumPy .npy files.
 *
 * The format (numpy/lib/format.py): the magic "\x93NUMPY", a major and a
 * minor version byte, the header length (2 bytes little-endian in 1.0, 4 in
 * 2.0 and 3.0), then the header: a Python dict literal with exactly the keys
 * 'descr', 'fortran_order' and 'shape', padded with spaces and ended by a
 * newline so that the data starts on a 64-byte boundary, then the elements.
 * The header is parsed by a small recursive-descent reader for the Python
 * literals numpy writes (quoted strings, True/False, tuples of ints), never
 * by evaluating anything. A file is read with pread straight into the
 * buffer handed back, so a large file is held in memory once. Every message
 * names the file and, for bad content, the byte offset where it goes wrong.
 * td.h lists the descriptors and why bf16 and the FP8 types are written as
 * they are. This file needs only ctx.c and file_io.c (not dtype.c), so
 * tools can link it alone. */
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

/* Elements go between memory and file unchanged, which is right only where
 * the host's byte order is the file's. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c copies little-endian data as is; a big-endian host needs byte swapping added"
#endif

static const uint8_t MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* numpy refuses headers over 10000 characters unless told to trust the
 * file; ours are under 1 KiB. The cap keeps a hostile length from costing
 * more than a megabyte before the dict is even looked at. */
enum { MAX_HEADER = 1 << 20 };

/* Our own element sizes, so that this file does not depend on dtype.c. */
static const struct {
    const char *descr; /* what we write */
    size_t size;
} DTYPES[TD_DTYPE_COUNT] = {
    [TD_F64] = {"<f8", 8}, [TD_F32] = {"<f4", 4},    [TD_F16] = {"<f2", 2},
    [TD_BF16] = {"<V2", 2}, [TD_F8E4M3] = {"<V1", 1}, [TD_F8E5M2] = {"float8_e5m2", 1},
    [TD_I64] = {"<i8", 8}, [TD_I32] = {"<i4", 4},    [TD_U16] = {"<u2", 2},
    [TD_BOOL] = {"|b1", 1},
};

/* Every descriptor we read; td.h says why each maps where it does. */
static const struct {
    const char *descr;
    td_dtype dtype;
} READ_DESCRS[] = {
    {"<f8", TD_F64},      {"<f4", TD_F32},         {"<f2", TD_F16},          {"<i8", TD_I64},
    {"<i4", TD_I32},      {"<u2", TD_U16},         {"|b1", TD_BOOL},         {"<b1", TD_BOOL},
    {"<V2", TD_BF16},     {"|V2", TD_BF16},        {"bfloat16", TD_BF16},    {"<V1", TD_F8E4M3},
    {"|V1", TD_F8E4M3},   {"float8_e4m3fn", TD_F8E4M3}, {"<f1", TD_F8E5M2}, {"float8_e5m2", TD_F8E5M2},
};

const char *td_npy_descr(td_dtype dtype)
{
    return (unsigned)dtype < TD_DTYPE_COUNT ? DTYPES[dtype].descr : NULL;
}

void td_npy_free(td_npy *npy)
{
    if (!npy)
        return;
    free(npy->data);
    memset(npy, 0, sizeof *npy);
}

/* "(2, 3)" as numpy prints a shape; buf holds TD_NPY_MAX_RANK axes. */
static const char *shape_text(char *buf, size_t cap, int rank, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "%s)", rank == 1 ? "," : "");
    return buf;
}
enum { SHAPE_TEXT = TD_NPY_MAX_RANK * 22 + 4 };

/* ---- the preamble: magic, version, header length ---- */

/* p holds the file's first min(total, 12) bytes. */
static td_status parse_preamble(td_ctx *ctx, const char *name, const uint8_t *p, uint64_t total, int *major,
                                uint64_t *header_start, uint64_t *header_len)
{
    if (memcmp(p, MAGIC, total < 6 ? (size_t)total : 6) != 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: not a .npy file: bad magic at byte offset 0 (expected \\x93NUMPY)",
                       name);
    if (total < 6)
        return td_fail(ctx, TD_ERR_INPUT, "%s: not a .npy file: only %llu bytes, shorter than the magic \\x93NUMPY",
                       name, (unsigned long long)total);
    if (total < 8)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: truncated .npy file: it ends at byte %llu, before the version at byte offset 6",
                       name, (unsigned long long)total);
    if (p[6] < 1 || p[6] > 3 || p[7] != 0)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: unknown .npy format version %u.%u at byte offset 6 (this reader knows 1.0, 2.0 and 3.0)", name,
                       p[6], p[7]);
    *major = p[6];
    unsigned width = *major == 1 ? 2 : 4;
    if (total < 8 + width)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: truncated .npy file: it ends at byte %llu, inside the header length at byte offset 8", name,
                       (unsigned long long)total);
    uint64_t len = 0;
    for (unsigned i = 0; i < width; i++)
        len |= (uint64_t)p[8 + i] << (8 * i);
    *header_start = 8 + width;
    if (len > total - *header_start)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: header length %llu at byte offset 8 runs past the end of the file: the header would end at "
                       "byte %llu, the file has %llu bytes",
                       name, (unsigned long long)len, (unsigned long long)(*header_start + len),
                       (unsigned long long)total);
    if (len > MAX_HEADER)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: header length %llu at byte offset 8 is over the %d bytes this reader accepts",
                       name, (unsigned long long)len, MAX_HEADER);
    *header_len = len;
    return TD_OK;
}

/* ---- the header dict ---- */

typedef struct parser {
    td_ctx *ctx;
    const char *name;
    const uint8_t *s; /* the header's bytes */
    size_t n, pos;    /* their count; the next one to read */
    uint64_t base;    /* the file offset of s[0], for messages */
    int major;
} parser;

static unsigned long long offset_of(const parser *p, size_t at) { return (unsigned long long)(p->base + at); }

static td_status malformed(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static td_status malformed(parser *p, size_t at, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return td_fail(p->ctx, TD_ERR_INPUT, "%s: malformed .npy header at byte offset %llu: %s", p->name,
                   offset_of(p, at), why);
}

/* Python's whitespace inside brackets, where newlines join lines. */
static void skip_space(parser *p)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
                             p->s[p->pos] == '\r' || p->s[p->pos] == '\f'))
        p->pos++;
}

static bool at_char(const parser *p, char c) { return p->pos < p->n && p->s[p->pos] == (uint8_t)c; }

/* A quoted string without escapes (numpy's repr of a descr or key never
 * has one); on success [*start, *start + *len) are its contents. */
static td_status parse_string(parser *p, const char *what, size_t *start, size_t *len)
{
    if (!at_char(p, '\'') && !at_char(p, '"'))
        return malformed(p, p->pos, "expected a quoted string for %s", what);
    uint8_t quote = p->s[p->pos];
    size_t open = p->pos++;
    *start = p->pos;
    while (p->pos < p->n && p->s[p->pos] != quote) {
        if (p->s[p->pos] == '\\')
            return malformed(p, p->pos, "escape sequences in strings are not supported");
        if (p->s[p->pos] == '\n')
            break;
        p->pos++;
    }
    if (p->pos >= p->n || p->s[p->pos] != quote)
        return malformed(p, open, "unterminated string");
    *len = p->pos - *start;
    p->pos++;
    return TD_OK;
}

static bool is_ident_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool take_word(parser *p, const char *word)
{
    size_t len = strlen(word);
    if (p->n - p->pos < len || memcmp(p->s + p->pos, word, len) != 0 ||
        (p->pos + len < p->n && is_ident_char(p->s[p->pos + len])))
        return false;
    p->pos += len;
    return true;
}

/* The descriptor: one of READ_DESCRS, or an error that says why not. */
static td_status parse_descr(parser *p, td_dtype *dtype)
{
    size_t at = p->pos;
    if (at_char(p, '[') || at_char(p, '('))
        return td_fail(p->ctx, TD_ERR_INPUT,
                       "%s: unsupported dtype at byte offset %llu: a structured or subarray dtype (a %s descr); tdc reads "
                       "arrays of plain elements",
                       p->name, offset_of(p, at), at_char(p, '[') ? "list" : "tuple");
    size_t start, len;
    td_status st = parse_string(p, "'descr'", &start, &len);
    if (st)
        return st;
    const char *d = (const char *)p->s + start;
    for (size_t i = 0; i < sizeof READ_DESCRS / sizeof READ_DESCRS[0]; i++)
        if (strlen(READ_DESCRS[i].descr) == len && memcmp(READ_DESCRS[i].descr, d, len) == 0) {
            *dtype = READ_DESCRS[i].dtype;
            return TD_OK;
        }
    /* Name the descriptor, printable bytes only, and say what kind it is. */
    char shown[48];
    size_t k = 0;
    for (; k < len && k < sizeof shown - 4; k++)
        shown[k] = d[k] >= 0x20 && d[k] < 0x7f ? d[k] : '?';
    if (k < len)
        shown[k++] = '.', shown[k++] = '.', shown[k++] = '.';
    shown[k] = 0;
    char kind = len >= 2 && (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=') ? d[1] : len ? d[0] : 0;
    const char *why = len >= 2 && d[0] == '>' ? "big-endian data; convert with a.astype(a.dtype.newbyteorder('<'))"
                      : kind == 'c'           ? "complex numbers"
                      : kind == 'O'           ? "Python objects (pickled)"
                      : kind == 'U' || kind == 'S' || kind == 'a' ? "strings"
                      : kind == 'M' || kind == 'm'                ? "dates and times"
                      : "not one of tdc's element types";
    return td_fail(p->ctx, TD_ERR_INPUT,
                   "%s: unsupported dtype '%s' at byte offset %llu (%s); tdc reads <f8 <f4 <f2 <i8 <i4 <u2 |b1 and "
                   "ml_dtypes' bfloat16 (<V2), float8_e4m3fn (<V1) and float8_e5m2 (<f1)",
                   p->name, shown, offset_of(p, at), why);
}

/* A tuple of non-negative ints, as repr writes a shape: (), (3,), (2, 3). */
static td_status parse_shape(parser *p, td_npy *out)
{
    size_t open = p->pos;
    if (!at_char(p, '('))
        return malformed(p, p->pos, "'shape' must be a tuple such as (2, 3)");
    p->pos++;
    int rank = 0;
    bool comma = false; /* the last thing read was a comma */
    for (;;) {
        skip_space(p);
        if (at_char(p, ')'))
            break;
        if (rank > 0 && !comma)
            return malformed(p, p->pos, "expected ',' or ')' in 'shape'");
        size_t at = p->pos;
        if (at_char(p, '-'))
            return malformed(p, at, "negative axis size in 'shape'");
        if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9')
            return malformed(p, at, "expected an integer or ')' in 'shape'");
        int64_t v = 0;
        while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            int digit = p->s[p->pos++] - '0';
            if (v > (INT64_MAX - digit) / 10)
                return td_fail(p->ctx, TD_ERR_INPUT, "%s: shape overflows: axis %d at byte offset %llu is over %lld",
                               p->name, rank, offset_of(p, at), (long long)INT64_MAX);
            v = v * 10 + digit;
        }
        /* Python 2 wrote long ints as 3L; numpy still reads those files. */
        if (p->major <= 2 && (at_char(p, 'L') || at_char(p, 'l')))
            p->pos++;
        if (p->pos < p->n && is_ident_char(p->s[p->pos]))
            return malformed(p, p->pos, "unexpected character in an integer in 'shape'");
        if (rank == TD_NPY_MAX_RANK)
            return td_fail(p->ctx, TD_ERR_INPUT,
                           "%s: unsupported shape at byte offset %llu: more than %d axes, the most this reader supports",
                           p->name, offset_of(p, open), TD_NPY_MAX_RANK);
        out->shape[rank++] = v;
        skip_space(p);
        comma = at_char(p, ',');
        if (comma)
            p->pos++;
    }
    if (rank == 1 && !comma)
        return malformed(p, open, "'shape' (n) is an int, not a tuple: write (n,) for one axis");
    p->pos++;
    out->rank = rank;
    return TD_OK;
}

/* Fills dtype, rank, shape, elements and bytes from the header's bytes. */
static td_status parse_header(td_ctx *ctx, const char *name, const uint8_t *s, size_t n, uint64_t base, int major,
                              td_npy *out)
{
    parser p = {ctx, name, s, n, 0, base, major};
    bool seen[3] = {false, false, false};
    static const char *const KEYS[3] = {"descr", "fortran_order", "shape"};
    size_t shape_at = 0;
    td_status st;
    skip_space(&p);
    if (!at_char(&p, '{'))
        return malformed(&p, p.pos, "expected '{' to open the header dict");
    p.pos++;
    for (;;) {
        skip_space(&p);
        if (at_char(&p, '}'))
            break;
        size_t key_at = p.pos, start, len;
        if ((st = parse_string(&p, "a key", &start, &len)))
            return st;
        int key = -1;
        for (int k = 0; k < 3; k++)
            if (strlen(KEYS[k]) == len && memcmp(KEYS[k], s + start, len) == 0)
                key = k;
        if (key < 0)
            return malformed(&p, key_at, "unexpected key (the keys are 'descr', 'fortran_order' and 'shape')");
        if (seen[key])
            return malformed(&p, key_at, "key '%s' appears twice", KEYS[key]);
        seen[key] = true;
        skip_space(&p);
        if (!at_char(&p, ':'))
            return malformed(&p, p.pos, "expected ':' after the key '%s'", KEYS[key]);
        p.pos++;
        skip_space(&p);
        size_t value_at = p.pos;
        if (key == 0) {
            if ((st = parse_descr(&p, &out->dtype)))
                return st;
        } else if (key == 1) {
            if (take_word(&p, "True"))
                return td_fail(ctx, TD_ERR_INPUT,
                               "%s: Fortran order is not supported; save with np.ascontiguousarray (fortran_order True at "
                               "byte offset %llu)",
                               name, (unsigned long long)(base + value_at));
            if (!take_word(&p, "False"))
                return malformed(&p, value_at, "'fortran_order' must be True or False");
        } else {
            shape_at = value_at;
            if ((st = parse_shape(&p, out)))
                return st;
        }
        skip_space(&p);
        if (at_char(&p, ','))
            p.pos++;
        else if (!at_char(&p, '}'))
            return malformed(&p, p.pos, "expected ',' or '}' after the value of '%s'", KEYS[key]);
    }
    for (int k = 0; k < 3; k++)
        if (!seen[k])
            return malformed(&p, p.pos, "the header dict has no key '%s'", KEYS[k]);
    p.pos++;
    skip_space(&p); /* the padding, and the newline numpy ends it with */
    if (p.pos < p.n)
        return malformed(&p, p.pos, "unexpected text after the header dict");

    size_t elements = 1, bytes;
    for (int i = 0; i < out->rank; i++)
        if ((uint64_t)out->shape[i] > SIZE_MAX || !td_mul_size(elements, (size_t)out->shape[i], &elements))
            return td_fail(ctx, TD_ERR_INPUT,
                           "%s: shape at byte offset %llu overflows: the element count overflows at axis %d",
                           name, (unsigned long long)(base + shape_at), i);
    if (!td_mul_size(elements, DTYPES[out->dtype].size, &bytes))
        return td_fail(ctx, TD_ERR_INPUT, "%s: shape at byte offset %llu overflows: %zu elements of %zu bytes", name,
                       (unsigned long long)(base + shape_at), elements, DTYPES[out->dtype].size);
    out->elements = elements;
    out->bytes = bytes;
    out->version = major;
    return TD_OK;
}

/* The data must be exactly out->bytes long: a shorter file lost its end, and
 * bytes after the data mean the header's shape is not the data's. */
static td_status check_data_length(td_ctx *ctx, const char *name, const td_npy *out, uint64_t start, uint64_t found)
{
    char shape[SHAPE_TEXT];
    if (found < out->bytes)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: data too short: shape %s of %s needs %zu bytes from byte offset %llu, found %llu", name,
                       shape_text(shape, sizeof shape, out->rank, out->shape), DTYPES[out->dtype].descr, out->bytes,
                       (unsigned long long)start, (unsigned long long)found);
    if (found > out->bytes)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: trailing garbage: %llu byte%s after the data, from byte offset %llu "
                       "(shape %s of %s needs %zu)",
                       name, (unsigned long long)(found - out->bytes), found - out->bytes == 1 ? "" : "s",
                       (unsigned long long)(start + out->bytes),
                       shape_text(shape, sizeof shape, out->rank, out->shape), DTYPES[out->dtype].descr, out->bytes);
    return TD_OK;
}

/* numpy stores bool as a byte, and anything but 0 or 1 is not a bool. */
static td_status check_bools(td_ctx *ctx, const char *name, const void *data, size_t count, uint64_t start)
{
    const uint8_t *b = data;
    for (size_t i = 0; i < count; i++)
        if (b[i] > 1)
            return td_fail(ctx, TD_ERR_INPUT, "%s: bool element %zu at byte offset %llu is %u, not 0 or 1", name, i,
                           (unsigned long long)(start + i), b[i]);
    return TD_OK;
}

/* ---- reading ---- */

td_status td_npy_read_mem(td_ctx *ctx, const char *name, const void *bytes, size_t size, td_npy *out)
{
    memset(out, 0, sizeof *out);
    const uint8_t *b = bytes;
    uint8_t pre[12];
    if (size) /* a copy, since memcmp on a NULL buffer is undefined even for 0 bytes */
        memcpy(pre, b, size < 12 ? size : 12);
    int major;
    uint64_t hstart = 0, hlen = 0;
    td_status st = parse_preamble(ctx, name, pre, size, &major, &hstart, &hlen);
    if (!st)
        st = parse_header(ctx, name, b + hstart, (size_t)hlen, hstart, major, out);
    uint64_t start = hstart + hlen;
    if (!st)
        st = check_data_length(ctx, name, out, start, size - start);
    if (!st && out->dtype == TD_BOOL)
        st = check_bools(ctx, name, b + start, out->bytes, start);
    if (!st && !(out->data = malloc(out->bytes ? out->bytes : 1)))
        st = td_fail(ctx, TD_ERR_OOM, "%s: cannot allocate %zu bytes for the data", name, out->bytes);
    if (st) {
        td_npy_free(out);
        return st;
    }
    if (out->bytes)
        memcpy(out->data, b + start, out->bytes);
    return TD_OK;
}

td_status td_npy_read(td_ctx *ctx, const char *path, td_npy *out)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return td_fail(ctx, TD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    td_status st = TD_OK;
    uint8_t *header = NULL;
    struct stat info;
    uint8_t pre[12];
    size_t got;
    int major;
    uint64_t total = 0, hstart = 0, hlen = 0;
    if (fstat(fd, &info) != 0) {
        st = td_fail(ctx, TD_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(info.st_mode)) { /* the size checks below need a length */
        st = td_fail(ctx, TD_ERR_INPUT, "%s: not a regular file", path);
        goto done;
    }
    total = (uint64_t)info.st_size;
    if (!td_pread_full(fd, pre, total < 12 ? (size_t)total : 12, 0, &got)) {
        st = td_fail(ctx, TD_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (got < 12)
        total = got; /* shorter than fstat said: it shrank while we looked */
    if ((st = parse_preamble(ctx, path, pre, total, &major, &hstart, &hlen)))
        goto done;
    if (!(header = malloc(hlen ? (size_t)hlen : 1))) {
        st = td_fail(ctx, TD_ERR_OOM, "%s: cannot allocate %llu bytes for the header", path, (unsigned long long)hlen);
        goto done;
    }
    if (!td_pread_full(fd, header, (size_t)hlen, hstart, &got)) {
        st = td_fail(ctx, TD_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (got < hlen) {
        st = td_fail(ctx, TD_ERR_INPUT,
                     "%s: truncated .npy file: the header from byte offset %llu ends after %zu of %llu bytes",
                     path, (unsigned long long)hstart, got, (unsigned long long)hlen);
        goto done;
    }
    if ((st = parse_header(ctx, path, header, (size_t)hlen, hstart, major, out)))
        goto done;
    uint64_t start = hstart + hlen;
    if ((st = check_data_length(ctx, path, out, start, total - start)))
        goto done;
    if (!(out->data = malloc(out->bytes ? out->bytes : 1))) {
        st = td_fail(ctx, TD_ERR_OOM, "%s: cannot allocate %zu bytes for the data", path, out->bytes);
        goto done;
    }
    if (!td_pread_full(fd, out->data, out->bytes, start, &got)) {
        st = td_fail(ctx, TD_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        goto done;
    }
    if (got < out->bytes) {
        st = check_data_length(ctx, path, out, start, got);
        goto done;
    }
    if (out->dtype == TD_BOOL)
        st = check_bools(ctx, path, out->data, out->bytes, start);
done:
    free(header);
    close(fd);
    if (st)
        td_npy_free(out);
    return st;
}

/* ---- writing ---- */

/* The longest header: the longest descr, 16 axes of 19 digits, the 21
 * spaces numpy leaves for the first axis to grow, and up to 64 of padding,
 * is under 600 bytes, which is also why format 1.0 (a 16-bit length)
 * always suffices. */
enum { HEADER_CAP = 1024 };
_Static_assert(HEADER_CAP < 65535, "a header of HEADER_CAP bytes fits format 1.0");

/* Builds magic, version, length and the padded dict exactly as numpy's
 * _write_array_header does, so our files are byte for byte np.save's. */
static size_t build_header(td_dtype dtype, int rank, const int64_t *shape, uint8_t *buf)
{
    char dict[HEADER_CAP];
    char text[SHAPE_TEXT];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", DTYPES[dtype].descr,
                     shape_text(text, sizeof text, rank, shape));
    /* spare room for growing the first axis in place, as numpy leaves */
    if (rank > 0) {
        int digits = snprintf(text, sizeof text, "%lld", (long long)shape[0]);
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%*s", 21 - digits, "");
    }
    size_t hlen = (size_t)n + 1;                      /* with the final newline */
    size_t pad = 64 - (sizeof MAGIC + 2 + 2 + hlen) % 64; /* 1..64, as numpy computes it */
    size_t len = hlen + pad;
    memcpy(buf, MAGIC, sizeof MAGIC);
    buf[6] = 1, buf[7] = 0;
    buf[8] = (uint8_t)(len & 0xff), buf[9] = (uint8_t)(len >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + len - 1] = '\n';
    return 10 + len;
}

td_status td_npy_write(td_ctx *ctx, const char *path, td_dtype dtype, int rank, const int64_t *shape,
                       const void *data)
{
    if ((unsigned)dtype >= TD_DTYPE_COUNT)
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: %d is not a td_dtype", path, (int)dtype);
    if (rank < 0 || rank > TD_NPY_MAX_RANK)
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: rank %d is outside 0..%d", path, rank, TD_NPY_MAX_RANK);
    size_t elements, bytes;
    td_status st = td_shape_elements(ctx, rank, shape, &elements, path);
    if (st)
        return st;
    if (!td_mul_size(elements, DTYPES[dtype].size, &bytes))
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: %zu elements of %zu bytes overflow", path, elements,
                       DTYPES[dtype].size);
    if (bytes && !data)
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: no data for %zu elements", path, elements);
    if (dtype == TD_BOOL && (st = check_bools(ctx, path, data, bytes, 0)))
        return st;

    uint8_t header[HEADER_CAP + 16];
    size_t header_len = build_header(dtype, rank, shape, header);

    td_file_writer w;
    if ((st = td_file_begin(ctx, path, &w)))
        return st;
    td_file_append(&w, header, header_len);
    td_file_append(&w, data, bytes);
    return td_file_commit(ctx, path, &w);
}

/* data.c - training data: token files and .npy arrays of rows, and the
 * batches a training loop draws from them.
 *
 * td_data_open maps a file read-only (or reads it into memory where mmap is
 * refused) and decides its format from its first bytes: llm.c's token files
 * (a header of 256 little-endian int32: magic 20240520, version 1, the token
 * count; then uint16 tokens, as llm.c's dev/data/data_common.py writes them),
 * .npy arrays (by NumPy's magic; parsed by npy.c, whose copy of the data
 * replaces the mapping), and otherwise raw little-endian uint16 tokens, as
 * nanoGPT's prepare.py writes them with ndarray.tofile. Every length is
 * checked against what the header promises, so a batch never reads outside
 * the file whatever the file holds; messages name the file and the byte
 * offset. Batches are windows of T + 1 tokens (x and y shifted by one) at
 * offsets drawn from a td_rng, or consecutive from a cursor; rows of a .npy
 * come the same two ways. The rng and the cursor are plain integers the
 * caller keeps, so a checkpoint that saves them resumes the same stream.
 * docs/RUNTIME.md "Training data" gives the exact mapping from random words
 * to offsets, for a GPU loader to reproduce. */
#if !defined(_DEFAULT_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* open, pread, mmap, O_CLOEXEC under -std=c11 */
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "td.h"

/* llm.c's header: 256 int32, of which [0] magic, [1] version, [2] count. */
enum { LLMC_HEADER = 256 * 4 };
static const uint32_t LLMC_MAGIC = 20240520, LLMC_LLAMA3_MAGIC = 20240801, LLMC_EVAL_MAGIC = 20240522;
static const uint8_t NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

struct td_data {
    td_data_format format;
    char *name;            /* the path, for messages */
    void *file;            /* the file's bytes: mapped, or malloc'd when mmap failed */
    size_t file_size;
    bool mapped;
    const uint8_t *tokens; /* `count` little-endian uint16, inside `file` */
    int64_t count;         /* tokens, or rows of the .npy */
    td_npy npy;            /* TD_DATA_NPY_ROWS: the array (the mapping is released) */
    size_t row_bytes;
};

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t token_at(const td_data *d, uint64_t i)
{
    const uint8_t *p = d->tokens + 2 * i;
    return (uint16_t)(p[0] | p[1] << 8);
}

/* ---- the file's bytes ---- */

/* The fallback when the file cannot be mapped (some file systems refuse). */
static td_status read_whole(td_ctx *ctx, const char *path, int fd, size_t size, void **out)
{
    uint8_t *buf = malloc(size);
    if (!buf)
        return td_fail(ctx, TD_ERR_OOM, "%s: cannot allocate %zu bytes to read the file into", path, size);
    size_t done = 0;
    while (done < size) {
        size_t chunk = size - done < ((size_t)1 << 30) ? size - done : (size_t)1 << 30;
        ssize_t r = pread(fd, buf + done, chunk, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            if (r == 0)
                return td_fail(ctx, TD_ERR_IO, "%s: the file ended at byte %zu while being read (it had %zu bytes)",
                               path, done, size);
            return td_fail(ctx, TD_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        }
        done += (size_t)r;
    }
    *out = buf;
    return TD_OK;
}

static td_status map_file(td_ctx *ctx, const char *path, int fd, td_data *d)
{
    struct stat info;
    if (fstat(fd, &info) != 0)
        return td_fail(ctx, TD_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(info.st_mode)) /* the length checks need a length */
        return td_fail(ctx, TD_ERR_INPUT, "%s: not a regular file", path);
    if (info.st_size == 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: empty file: no tokens at byte 0", path);
    if ((uint64_t)info.st_size > SIZE_MAX)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %lld bytes do not fit this machine's address space", path,
                       (long long)info.st_size);
    d->file_size = (size_t)info.st_size;
    void *map = mmap(NULL, d->file_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
        d->file = map;
        d->mapped = true;
        return TD_OK;
    }
    return read_whole(ctx, path, fd, d->file_size, &d->file);
}

static void release_file(td_data *d)
{
    if (d->mapped)
        munmap(d->file, d->file_size);
    else
        free(d->file);
    d->file = NULL;
    d->tokens = NULL;
    d->mapped = false;
}

/* ---- formats ---- */

static td_status parse_llmc(td_ctx *ctx, td_data *d)
{
    const uint8_t *b = d->file;
    size_t size = d->file_size;
    if (size < LLMC_HEADER)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: truncated llm.c header: the file ends at byte %zu, inside the %d-byte header", d->name, size,
                       LLMC_HEADER);
    uint32_t version = le32(b + 4);
    if (version != 1)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: llm.c version %u at byte 4: only version 1 (uint16 tokens) is read", d->name, version);
    int32_t count = (int32_t)le32(b + 8);
    if (count <= 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: llm.c token count %d at byte 8: %s", d->name, count,
                       count ? "negative" : "the file holds no tokens");
    uint64_t end = LLMC_HEADER + 2 * (uint64_t)count;
    if (size < end)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: the llm.c header counts %d tokens (byte 8), which end at byte %llu, but the file ends at "
                       "byte %zu",
                       d->name, count, (unsigned long long)end, size);
    if (size > end)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: %llu bytes after the %d tokens the llm.c header counts (byte 8), from byte %llu",
                       d->name, (unsigned long long)(size - end), count, (unsigned long long)end);
    d->format = TD_DATA_LLMC;
    d->tokens = b + LLMC_HEADER;
    d->count = count;
    return TD_OK;
}

static td_status parse_raw(td_ctx *ctx, td_data *d)
{
    if (d->file_size % 2)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: a raw uint16 token file has an even length, this one %zu bytes: the last token is cut off "
                       "at byte %zu",
                       d->name, d->file_size, d->file_size - 1);
    if (d->file_size / 2 > INT64_MAX)
        return td_fail(ctx, TD_ERR_INPUT, "%s: more tokens than an int64 counts", d->name);
    d->format = TD_DATA_RAW_U16;
    d->tokens = d->file;
    d->count = (int64_t)(d->file_size / 2);
    return TD_OK;
}

/* npy.c parses and copies the array; the mapping is then let go. */
static td_status parse_npy(td_ctx *ctx, td_data *d)
{
    td_status st = td_npy_read_mem(ctx, d->name, d->file, d->file_size, &d->npy);
    release_file(d);
    if (st != TD_OK)
        return st;
    if (d->npy.rank < 1)
        return td_fail(ctx, TD_ERR_INPUT, "%s: a .npy of rank 0 (a scalar) has no rows", d->name);
    if (d->npy.shape[0] == 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: the .npy has 0 rows (shape[0] is 0)", d->name);
    d->format = TD_DATA_NPY_ROWS;
    d->count = d->npy.shape[0];
    d->row_bytes = d->npy.bytes / (size_t)d->npy.shape[0];
    return TD_OK;
}

/* The format is in the first bytes: llm.c's magic, NumPy's, or neither. */
static td_status parse_format(td_ctx *ctx, td_data *d)
{
    const uint8_t *b = d->file;
    size_t size = d->file_size;
    uint32_t magic = size >= 4 ? le32(b) : 0;
    if (magic == LLMC_MAGIC)
        return parse_llmc(ctx, d);
    if (magic == LLMC_LLAMA3_MAGIC)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: llm.c's llama-3 format (magic 20240801 at byte 0, uint32 tokens) is not read; only its "
                       "gpt-2 format (magic 20240520, uint16 tokens)",
                       d->name);
    if (magic == LLMC_EVAL_MAGIC)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: an llm.c eval file (magic 20240522 at byte 0), not training tokens", d->name);
    if (size >= sizeof NPY_MAGIC && memcmp(b, NPY_MAGIC, sizeof NPY_MAGIC) == 0)
        return parse_npy(ctx, d);
    return parse_raw(ctx, d);
}

void td_data_close(td_data *d)
{
    if (!d)
        return;
    release_file(d);
    td_npy_free(&d->npy);
    free(d->name);
    free(d);
}

td_status td_data_open(td_ctx *ctx, const char *path, td_data **out)
{
    if (!out)
        return td_fail(ctx, TD_ERR_INPUT, "td_data_open: out is NULL");
    *out = NULL;
    if (!path)
        return td_fail(ctx, TD_ERR_INPUT, "td_data_open: path is NULL");
    td_data *d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(path))) {
        free(d);
        return td_fail(ctx, TD_ERR_OOM, "%s: cannot allocate the data set", path);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        td_data_close(d);
        return td_fail(ctx, TD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    td_status st = map_file(ctx, path, fd, d);
    close(fd); /* a mapping outlives its descriptor */
    if (st == TD_OK)
        st = parse_format(ctx, d);
    if (st != TD_OK) {
        td_data_close(d);
        return st;
    }
    *out = d;
    return TD_OK;
}

td_data_format td_data_format_of(const td_data *d) { return d->format; }

int64_t td_data_count(const td_data *d) { return d ? d->count : 0; }

/* ---- drawing offsets ---- */

/* The high 64 bits of the 128-bit product a * b (CUDA's __umul64hi). */
static uint64_t mul_hi64(uint64_t a, uint64_t b)
{
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32, b_lo = (uint32_t)b, b_hi = b >> 32;
    uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
    uint64_t mid = (lo_lo >> 32) + (uint32_t)hi_lo + (uint32_t)lo_hi;
    return hi_hi + (hi_lo >> 32) + (lo_hi >> 32) + (mid >> 32);
}

/* Draw k of a call whose stream starts at word o: the 64-bit integer
 * r = word(o + 2k) + 2^32 word(o + 2k + 1), scaled to [0, m) as
 * floor(r m / 2^64). Every value in [0, m) comes from floor(2^64 / m) or
 * one more values of r, a bias below m / 2^64. */
static uint64_t draw_below(uint64_t seed, uint64_t o, uint64_t k, uint64_t m)
{
    uint64_t r = td_rng_word(seed, o + 2 * k) | (uint64_t)td_rng_word(seed, o + 2 * k + 1) << 32;
    return mul_hi64(r, m);
}

/* Checks that B draws of two words each fit the stream; *end is the offset after them. */
static td_status reserve_draws(td_ctx *ctx, const td_rng *rng, int64_t B, uint64_t *end, const char *what)
{
    if (__builtin_add_overflow(rng->offset, 2 * (uint64_t)B, end))
        return td_fail(ctx, TD_ERR_INPUT, "%s: %lld draws would carry the random stream's offset past 2^64", what,
                       (long long)B);
    return TD_OK;
}

/* ---- token windows ---- */

/* Everything a token batch checks before it reads or writes anything. */
static td_status check_token_batch(td_ctx *ctx, const td_data *d, int64_t B, int64_t T, td_dtype dtype,
                                   const void *x, const void *y, const char *what)
{
    if (!d)
        return td_fail(ctx, TD_ERR_INPUT, "%s: the data set is NULL", what);
    if (d->format == TD_DATA_NPY_ROWS)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: %s is a .npy array of rows, not tokens: use td_data_rows, or an llm.c or raw uint16 file",
                       what, d->name);
    if (B <= 0 || T <= 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: B = %lld and T = %lld: both must be at least 1", what, (long long)B,
                       (long long)T);
    if (dtype != TD_I32 && dtype != TD_I64 && dtype != TD_U16)
        return td_fail(ctx, TD_ERR_INPUT, "%s: tokens are written as i32, i64 or u16, not %s", what,
                       td_dtype_name(dtype));
    size_t elements, bytes;
    if ((uint64_t)B > SIZE_MAX || (uint64_t)T > SIZE_MAX || !td_mul_size((size_t)B, (size_t)T, &elements) ||
        elements > INT64_MAX || !td_mul_size(elements, td_dtype_size(dtype), &bytes))
        return td_fail(ctx, TD_ERR_INPUT, "%s: B * T = %lld * %lld %s elements overflows", what, (long long)B,
                       (long long)T, td_dtype_name(dtype));
    if (!x || !y)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s is NULL", what, !x ? "x" : "y");
    return TD_OK;
}

/* Row b of x and y: tokens [start, start + T] of the file. */
static void copy_window(const td_data *d, uint64_t start, int64_t T, td_dtype dtype, void *x, void *y, int64_t b)
{
    size_t at = (size_t)b * (size_t)T;
    for (int64_t t = 0; t < T; t++, at++) {
        uint16_t now = token_at(d, start + (uint64_t)t), next = token_at(d, start + (uint64_t)t + 1);
        if (dtype == TD_I32)
            ((int32_t *)x)[at] = now, ((int32_t *)y)[at] = next;
        else if (dtype == TD_I64)
            ((int64_t *)x)[at] = now, ((int64_t *)y)[at] = next;
        else
            ((uint16_t *)x)[at] = now, ((uint16_t *)y)[at] = next;
    }
}

td_status td_data_random_batch(td_ctx *ctx, const td_data *d, td_rng *rng, int64_t B, int64_t T, td_dtype dtype, void *x,
                               void *y)
{
    const char *what = "td_data_random_batch";
    td_status st = check_token_batch(ctx, d, B, T, dtype, x, y, what);
    if (st != TD_OK)
        return st;
    if (!rng)
        return td_fail(ctx, TD_ERR_INPUT, "%s: rng is NULL", what);
    if (d->count <= T)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: %lld tokens are too few for windows of T = %lld: a window needs T + 1 = %llu", d->name,
                       (long long)d->count, (long long)T, (unsigned long long)T + 1);
    uint64_t end;
    if ((st = reserve_draws(ctx, rng, B, &end, what)) != TD_OK)
        return st;
    uint64_t starts = (uint64_t)(d->count - T); /* windows start at 0 .. n - T - 1 */
    for (int64_t b = 0; b < B; b++)
        copy_window(d, draw_below(rng->seed, rng->offset, (uint64_t)b, starts), T, dtype, x, y, b);
    rng->offset = end;
    return TD_OK;
}

td_status td_data_sequential_batch(td_ctx *ctx, const td_data *d, uint64_t *cursor, int64_t B, int64_t T, td_dtype dtype,
                                   void *x, void *y)
{
    const char *what = "td_data_sequential_batch";
    td_status st = check_token_batch(ctx, d, B, T, dtype, x, y, what);
    if (st != TD_OK)
        return st;
    if (!cursor)
        return td_fail(ctx, TD_ERR_INPUT, "%s: cursor is NULL", what);
    uint64_t span = (uint64_t)B * (uint64_t)T; /* checked above */
    if (span >= (uint64_t)d->count)
        return td_fail(ctx, TD_ERR_INPUT,
                       "%s: %lld tokens are too few for a batch of B = %lld windows of T = %lld: it needs B * T + 1 = "
                       "%llu",
                       d->name, (long long)d->count, (long long)B, (long long)T, (unsigned long long)span + 1);
    uint64_t start = *cursor;
    if (start > (uint64_t)d->count - span - 1) /* the batch would pass the end: a new epoch */
        start = 0;
    for (int64_t b = 0; b < B; b++)
        copy_window(d, start + (uint64_t)b * (uint64_t)T, T, dtype, x, y, b);
    *cursor = start + span;
    return TD_OK;
}

/* ---- rows of a .npy ---- */

/* "f32[3, 4]"; buf holds TD_NPY_MAX_RANK axes. */
static const char *row_text(char *buf, size_t cap, td_dtype dtype, int rank, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, cap, "%s[", td_dtype_name(dtype));
    for (int i = 0; i < rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}
enum { ROW_TEXT = TD_NPY_MAX_RANK * 22 + 16 };

/* The caller's row must be the file's: same dtype, rank and axes. */
static td_status check_row_shape(td_ctx *ctx, const td_data *d, td_dtype dtype, int rank, const int64_t *row_shape,
                                 const char *what)
{
    const td_npy *a = &d->npy;
    bool same = dtype == a->dtype && rank == a->rank - 1 && (rank == 0 || row_shape);
    for (int i = 0; same && i < rank; i++)
        same = row_shape[i] == a->shape[i + 1];
    if (same)
        return TD_OK;
    char want[ROW_TEXT], have[ROW_TEXT];
    if (rank < 0 || rank >= TD_NPY_MAX_RANK || (rank > 0 && !row_shape))
        snprintf(want, sizeof want, "rank %d%s", rank, rank > 0 && !row_shape ? " with a NULL shape" : "");
    else
        row_text(want, sizeof want, dtype, rank, row_shape);
    return td_fail(ctx, TD_ERR_INPUT, "%s: %s: the rows are %s, but the caller asks for %s", what, d->name,
                   row_text(have, sizeof have, a->dtype, a->rank - 1, a->shape + 1), want);
}

static td_status check_rows(td_ctx *ctx, const td_data *d, const td_rng *rng, const uint64_t *cursor, int64_t B,
                            td_dtype dtype, int rank, const int64_t *row_shape, const void *out, const char *what)
{
    if (!d)
        return td_fail(ctx, TD_ERR_INPUT, "%s: the data set is NULL", what);
    if (d->format != TD_DATA_NPY_ROWS)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s is a token file, not a .npy array of rows", what, d->name);
    if (B <= 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: B = %lld: it must be at least 1", what, (long long)B);
    td_status st = check_row_shape(ctx, d, dtype, rank, row_shape, what);
    if (st != TD_OK)
        return st;
    size_t bytes;
    if ((uint64_t)B > SIZE_MAX || !td_mul_size((size_t)B, d->row_bytes, &bytes))
        return td_fail(ctx, TD_ERR_INPUT, "%s: B = %lld rows of %zu bytes overflow", what, (long long)B, d->row_bytes);
    if (!out)
        return td_fail(ctx, TD_ERR_INPUT, "%s: out is NULL", what);
    if (!rng && !cursor)
        return td_fail(ctx, TD_ERR_INPUT, "%s: rng and cursor are both NULL: give one", what);
    if (!rng && B > d->count)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s has %lld rows, too few for a sequential batch of B = %lld", what,
                       d->name, (long long)d->count, (long long)B);
    return TD_OK;
}

static void copy_row(const td_data *d, uint64_t row, void *out, int64_t b)
{
    if (d->row_bytes)
        memcpy((uint8_t *)out + (size_t)b * d->row_bytes, (const uint8_t *)d->npy.data + row * d->row_bytes,
               d->row_bytes);
}

td_status td_data_rows(td_ctx *ctx, const td_data *d, td_rng *rng, uint64_t *cursor, int64_t B, td_dtype dtype, int rank,
                       const int64_t *row_shape, void *out)
{
    const char *what = "td_data_rows";
    td_status st = check_rows(ctx, d, rng, cursor, B, dtype, rank, row_shape, out, what);
    if (st != TD_OK)
        return st;
    uint64_t n = (uint64_t)d->count;
    if (rng) {
        uint64_t end;
        if ((st = reserve_draws(ctx, rng, B, &end, what)) != TD_OK)
            return st;
        for (int64_t b = 0; b < B; b++)
            copy_row(d, draw_below(rng->seed, rng->offset, (uint64_t)b, n), out, b);
        rng->offset = end;
        return TD_OK;
    }
    uint64_t start = *cursor;
    if (start > n - (uint64_t)B) /* the batch would pass the end: a new epoch */
        start = 0;
    for (int64_t b = 0; b < B; b++)
        copy_row(d, start + (uint64_t)b, out, b);
    *cursor = start + (uint64_t)B;
    return TD_OK;
}

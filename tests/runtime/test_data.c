/* test_data.c - training data (runtime/data.c): llm.c, raw uint16 and .npy
 * files opened from a temporary directory; every error with the words and
 * byte offset its message must carry; random windows at exactly the offsets
 * docs/RUNTIME.md's mapping gives (recomputed here with 128-bit arithmetic,
 * on a sparse file of more than 2^32 tokens too), inside the file and
 * hitting every valid offset; sequential batches and their wrap; the three
 * token dtypes; rows of a .npy drawn both ways. tests/runtime/data_oracle.py
 * checks the same code on files numpy writes. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "td.h"
#include "test.h"
#include "test_fixture.h"

static char *write_file(const char *dir, const char *name, const void *bytes, size_t len)
{
    char *path = test_join(dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(bytes, 1, len, f) == len && fclose(f) == 0, "cannot write %s", path);
    return path;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* An llm.c file image: the 1024-byte header (magic, version, count) and
 * `n` tokens, as llm.c's write_datafile lays them out. Returns its length. */
static size_t llmc_image(uint8_t *buf, uint32_t magic, uint32_t version, int32_t count, const uint16_t *tok, size_t n)
{
    memset(buf, 0, 1024);
    put32(buf, magic);
    put32(buf + 4, version);
    put32(buf + 8, (uint32_t)count);
    for (size_t i = 0; i < n; i++)
        buf[1024 + 2 * i] = (uint8_t)tok[i], buf[1024 + 2 * i + 1] = (uint8_t)(tok[i] >> 8);
    return 1024 + 2 * n;
}

/* The token the test files hold at index i: distinct over a file of fewer
 * than 65536 tokens, and with the high bit set for some, so sign extension
 * would show. */
static uint16_t tok_at(uint64_t i) { return (uint16_t)(i * 40503u + 7); }

static uint16_t *tokens(size_t n)
{
    uint16_t *t = malloc(n * sizeof *t + 1);
    for (size_t i = 0; i < n; i++)
        t[i] = tok_at(i);
    return t;
}

/* Opening `path` fails with `status`, and the message holds each of the
 * NULL-terminated strings that follow. */
static void expect_open_error(int line, const char *path, td_status status, ...)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_data *d = (td_data *)&d; /* not NULL, so the test sees it cleared */
    td_status st = td_data_open(ctx, path, &d);
    const char *msg = td_ctx_error(ctx) ? td_ctx_error(ctx) : "(no message)";
    CHECK(st == status, "line %d: status %d, expected %d (%s)", line, st, status, msg);
    CHECK(d == NULL, "line %d: a failed open leaves *out NULL", line);
    CHECK(!path || strncmp(msg, path, strlen(path)) == 0, "line %d: the message names the file: '%s'", line, msg);
    CHECK(strchr(msg, '\n') == NULL, "line %d: the message is one line: '%s'", line, msg);
    va_list ap;
    va_start(ap, status);
    for (const char *want; (want = va_arg(ap, const char *));)
        CHECK(strstr(msg, want), "line %d: '%s' is not in '%s'", line, want, msg);
    va_end(ap);
    td_ctx_free(ctx);
}
#define EXPECT_OPEN_ERROR(path, status, ...) expect_open_error(__LINE__, path, status, __VA_ARGS__, (const char *)NULL)

/* The same for a file made of these bytes. */
static void bytes_error(int line, const char *dir, const void *bytes, size_t len, const char *w1, const char *w2)
{
    char *path = write_file(dir, "bad.bin", bytes, len);
    expect_open_error(line, path, TD_ERR_INPUT, w1, w2, (const char *)NULL);
    remove(path);
    free(path);
}
#define BYTES_ERROR(bytes, len, w1, w2) bytes_error(__LINE__, dir, bytes, len, w1, w2)

static td_data *open_ok(td_ctx *ctx, const char *path)
{
    td_data *d = NULL;
    td_status st = td_data_open(ctx, path, &d);
    CHECK(st == TD_OK && d, "open %s: %s", path, td_ctx_error(ctx) ? td_ctx_error(ctx) : "");
    td_ctx_clear_error(ctx);
    return d;
}

/* The window start docs/RUNTIME.md gives for draw k of a call at offset o:
 * floor(r m / 2^64), r = word(o + 2k) + 2^32 word(o + 2k + 1). */
static uint64_t expected_start(uint64_t seed, uint64_t o, uint64_t k, uint64_t m)
{
    uint64_t r = td_rng_word(seed, o + 2 * k) | (uint64_t)td_rng_word(seed, o + 2 * k + 1) << 32;
    return (uint64_t)(((unsigned __int128)r * m) >> 64);
}

/* ---- formats ---- */

static void formats(td_ctx *ctx, const char *dir)
{
    enum { N = 300 };
    uint16_t *t = tokens(N);
    uint8_t *buf = malloc(1024 + 2 * N);
    size_t len = llmc_image(buf, 20240520, 1, N, t, N);
    char *llmc = write_file(dir, "train.bin", buf, len);
    char *raw = write_file(dir, "raw.bin", buf + 1024, 2 * N);
    td_data *d = open_ok(ctx, llmc), *r = open_ok(ctx, raw);
    CHECK(d && td_data_format_of(d) == TD_DATA_LLMC && td_data_count(d) == N, "llm.c file: format and count");
    CHECK(r && td_data_format_of(r) == TD_DATA_RAW_U16 && td_data_count(r) == N, "raw file: format and count");
    /* Both read the same tokens: one sequential batch covering the file. */
    int32_t xd[299], yd[299], xr[299], yr[299];
    uint64_t cd = 0, cr = 0;
    CHECK(td_data_sequential_batch(ctx, d, &cd, 1, 299, TD_I32, xd, yd) == TD_OK &&
              td_data_sequential_batch(ctx, r, &cr, 1, 299, TD_I32, xr, yr) == TD_OK,
          "whole-file batches: %s", td_ctx_error(ctx) ? td_ctx_error(ctx) : "");
    bool same = true;
    for (int i = 0; i < 299; i++)
        same = same && xd[i] == t[i] && yd[i] == t[i + 1] && xr[i] == t[i] && yr[i] == t[i + 1];
    CHECK(same, "x and y are the file's tokens, shifted by one, in both formats");
    CHECK(td_data_count(NULL) == 0, "the count of no data is 0");
    td_data_close(d);
    td_data_close(r);
    td_data_close(NULL); /* safe */

    /* A raw file of one token, and one whose first word looks like nothing. */
    char *one = write_file(dir, "one.bin", "\x05\x00", 2);
    td_data *o = open_ok(ctx, one);
    CHECK(o && td_data_format_of(o) == TD_DATA_RAW_U16 && td_data_count(o) == 1, "a 2-byte raw file: one token");
    td_data_close(o);

    /* A .npy of rows. */
    const int64_t shape[3] = {5, 2, 3};
    float v[30];
    for (int i = 0; i < 30; i++)
        v[i] = (float)i * 0.5f;
    char *npy = test_join(dir, "rows.npy");
    CHECK(td_npy_write(ctx, npy, TD_F32, 3, shape, v) == TD_OK, "write rows.npy");
    td_data *n = open_ok(ctx, npy);
    CHECK(n && td_data_format_of(n) == TD_DATA_NPY_ROWS && td_data_count(n) == 5, ".npy: format and count");
    td_data_close(n);
    remove(llmc), remove(raw), remove(one), remove(npy);
    free(llmc), free(raw), free(one), free(npy), free(buf), free(t);
}

/* ---- errors at open ---- */

static void open_errors(const char *dir)
{
    char *missing = test_join(dir, "missing.bin");
    EXPECT_OPEN_ERROR(missing, TD_ERR_IO, "cannot open", "No such file");
    free(missing);
    EXPECT_OPEN_ERROR(dir, TD_ERR_INPUT, "not a regular file");
    BYTES_ERROR("", 0, "empty file", "at byte 0");
    BYTES_ERROR("\x01", 1, "even length", "cut off at byte 0");
    BYTES_ERROR("\x01\x02\x03\x04\x05", 5, "this one 5 bytes", "cut off at byte 4");

    static uint8_t buf[1024 + 64];
    uint16_t t[32];
    for (int i = 0; i < 32; i++)
        t[i] = (uint16_t)i;
    llmc_image(buf, 20240520, 1, 10, t, 10);
    BYTES_ERROR(buf, 4, "truncated llm.c header", "ends at byte 4, inside the 1024-byte header");
    BYTES_ERROR(buf, 1023, "truncated llm.c header", "ends at byte 1023");
    BYTES_ERROR(buf, 1024, "counts 10 tokens (byte 8), which end at byte 1044", "the file ends at byte 1024");
    BYTES_ERROR(buf, 1043, "which end at byte 1044", "the file ends at byte 1043");
    llmc_image(buf, 20240520, 1, 10, t, 12);
    BYTES_ERROR(buf, 1028, "which end at byte 1044", "the file ends at byte 1028");
    BYTES_ERROR(buf, 1048, "4 bytes after the 10 tokens", "from byte 1044");
    BYTES_ERROR(buf, 1045, "1 bytes after the 10 tokens", "from byte 1044");
    llmc_image(buf, 20240520, 2, 10, t, 10);
    BYTES_ERROR(buf, 1044, "llm.c version 2 at byte 4", "only version 1 (uint16 tokens)");
    llmc_image(buf, 20240520, 0, 10, t, 10);
    BYTES_ERROR(buf, 1044, "llm.c version 0 at byte 4", "only version 1");
    llmc_image(buf, 20240520, 1, -3, t, 0);
    BYTES_ERROR(buf, 1024, "token count -3 at byte 8", "negative");
    llmc_image(buf, 20240520, 1, 0, t, 0);
    BYTES_ERROR(buf, 1024, "token count 0 at byte 8", "no tokens");
    llmc_image(buf, 20240520, 1, INT32_MAX, t, 0);
    BYTES_ERROR(buf, 1024, "counts 2147483647 tokens", "end at byte 4294968318");
    llmc_image(buf, 20240801, 7, 10, t, 0);
    BYTES_ERROR(buf, 1024 + 40, "llama-3 format (magic 20240801 at byte 0", "not read");
    llmc_image(buf, 20240522, 1, 10, t, 0);
    BYTES_ERROR(buf, 1024 + 20, "eval file (magic 20240522 at byte 0)", "not training tokens");

    /* .npy files: npy.c's messages, and rows that are not there. */
    BYTES_ERROR("\x93NUMPY", 6, "truncated .npy", "byte 6");
    BYTES_ERROR("\x93NUMPY\x01\x00\x40\x00{'descr'", 17, "header length 64 at byte offset 8", "runs past the end");
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    char *scalar = test_join(dir, "scalar.npy"), *empty = test_join(dir, "empty.npy");
    const int64_t none[2] = {0, 3};
    double x = 1;
    CHECK(td_npy_write(ctx, scalar, TD_F64, 0, NULL, &x) == TD_OK && td_npy_write(ctx, empty, TD_F64, 2, none, NULL) == TD_OK,
          "write the .npy files");
    EXPECT_OPEN_ERROR(scalar, TD_ERR_INPUT, "rank 0", "has no rows");
    EXPECT_OPEN_ERROR(empty, TD_ERR_INPUT, "0 rows", "shape[0] is 0");
    remove(scalar), remove(empty);
    free(scalar), free(empty);

    td_data *d = (td_data *)&d;
    CHECK(td_data_open(ctx, NULL, &d) == TD_ERR_INPUT && d == NULL, "a NULL path is an error");
    td_ctx_clear_error(ctx);
    CHECK(td_data_open(ctx, "x.bin", NULL) == TD_ERR_INPUT && strstr(td_ctx_error(ctx), "out is NULL"),
          "a NULL out is an error");
    td_ctx_free(ctx);
}

/* ---- random windows ---- */

/* Checks batch x (int32) against the documented offsets for a call at
 * offset o, and that every window lies inside the file of n tokens. */
static bool windows_at(const int32_t *x, const int32_t *y, int64_t B, int64_t T, uint64_t seed, uint64_t o, uint64_t n)
{
    for (int64_t b = 0; b < B; b++) {
        uint64_t i = expected_start(seed, o, (uint64_t)b, n - (uint64_t)T);
        if (i + (uint64_t)T >= n)
            return false;
        for (int64_t t = 0; t < T; t++)
            if (x[b * T + t] != tok_at(i + (uint64_t)t) || y[b * T + t] != tok_at(i + (uint64_t)t + 1))
                return false;
    }
    return true;
}

static void random_windows(td_ctx *ctx, const char *dir)
{
    enum { N = 1000, B = 8, T = 16 };
    uint16_t *t = tokens(N);
    char *path = write_file(dir, "tok.bin", t, 2 * N); /* little-endian host: the raw layout */
    td_data *d = open_ok(ctx, path);
    int32_t x[B * T], y[B * T], x2[B * T], y2[B * T];
    td_rng rng = {42, 0}, again = {42, 0};
    CHECK(td_data_random_batch(ctx, d, &rng, B, T, TD_I32, x, y) == TD_OK, "random batch: %s",
          td_ctx_error(ctx) ? td_ctx_error(ctx) : "");
    CHECK(rng.offset == 2 * B, "the offset advances two words a window: %llu", (unsigned long long)rng.offset);
    CHECK(windows_at(x, y, B, T, 42, 0, N), "windows at the documented offsets, seed 42 offset 0");
    CHECK(td_data_random_batch(ctx, d, &again, B, T, TD_I32, x2, y2) == TD_OK && memcmp(x, x2, sizeof x) == 0 &&
              memcmp(y, y2, sizeof y) == 0,
          "the same seed and offset give the same batch");
    /* Two calls of B/2 are one call of B: draw b reads words o + 2b, o + 2b + 1. */
    td_rng split = {42, 0};
    CHECK(td_data_random_batch(ctx, d, &split, B / 2, T, TD_I32, x2, y2) == TD_OK &&
              td_data_random_batch(ctx, d, &split, B / 2, T, TD_I32, x2 + B / 2 * T, y2 + B / 2 * T) == TD_OK &&
              memcmp(x, x2, sizeof x) == 0 && split.offset == 2 * B,
          "two half batches equal one batch");
    td_rng other = {43, 0}, later = {42, 1000};
    CHECK(td_data_random_batch(ctx, d, &other, B, T, TD_I32, x2, y2) == TD_OK && memcmp(x, x2, sizeof x) != 0,
          "another seed, another batch");
    CHECK(td_data_random_batch(ctx, d, &later, B, T, TD_I32, x2, y2) == TD_OK &&
              windows_at(x2, y2, B, T, 42, 1000, N) && later.offset == 1000 + 2 * B,
          "an offset of 1000 uses words 1000 on");
    td_data_close(d);
    remove(path);
    free(path);
    free(t);
}

/* Over many draws from a file of 12 tokens with T = 3, each of the 9 valid
 * starts turns up about equally often, and no window leaves the file. */
static void coverage(td_ctx *ctx, const char *dir)
{
    enum { N = 12, T = 3, DRAWS = 9000 };
    uint16_t *t = tokens(N);
    char *path = write_file(dir, "small.bin", t, 2 * N);
    td_data *d = open_ok(ctx, path);
    int64_t *x = malloc(DRAWS * T * sizeof *x), *y = malloc(DRAWS * T * sizeof *y);
    td_rng rng = {7, 5};
    CHECK(td_data_random_batch(ctx, d, &rng, DRAWS, T, TD_I64, x, y) == TD_OK, "9000 windows");
    int hits[N] = {0};
    bool inside = true;
    for (int b = 0; b < DRAWS; b++) {
        int start = -1;
        for (int i = 0; i < N; i++)
            if (x[b * T] == tok_at((uint64_t)i))
                start = i;
        inside = inside && start >= 0 && start + T < N && y[b * T + T - 1] == tok_at((uint64_t)(start + T));
        if (start >= 0)
            hits[start]++;
    }
    CHECK(inside, "every window lies inside the file");
    for (int i = 0; i < N - T; i++) /* 1000 expected; sd 31.4, so 250 is 8 sd */
        CHECK(hits[i] > 750 && hits[i] < 1250, "start %d drawn %d times of 9000 (expected 1000 +- 250)", i, hits[i]);
    CHECK(hits[N - T] == 0 && hits[N - 1] == 0, "no window starts past n - T - 1");
    td_data_close(d);

    /* n = T + 1: one valid start. */
    td_data *e = open_ok(ctx, path);
    int64_t ex[4 * 11], ey[4 * 11];
    td_rng r2 = {9, 0};
    CHECK(td_data_random_batch(ctx, e, &r2, 4, 11, TD_I64, ex, ey) == TD_OK && ex[0] == tok_at(0) &&
              ex[33] == tok_at(0) && ey[43] == tok_at(11),
          "with n = T + 1 every window is the whole file");
    td_data_close(e);
    remove(path);
    free(path);
    free(x), free(y), free(t);
}

/* A sparse raw file of 2^32 + 12345 tokens: offsets above 2^32 exercise the
 * whole 64 x 64-bit product. Markers are written at the expected windows;
 * a window anywhere else reads zeros. */
static void large_offsets(td_ctx *ctx, const char *dir)
{
    const uint64_t n = ((uint64_t)1 << 32) + 12345;
    enum { B = 16, T = 2 };
    char *path = test_join(dir, "sparse.bin");
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)(2 * n)) != 0) {
        printf("note: test_data: no sparse file of %llu bytes here; large offsets unchecked\n",
               (unsigned long long)(2 * n));
        if (fd >= 0)
            close(fd);
        remove(path);
        free(path);
        return;
    }
    td_rng rng = {0x123456789abcdefull, 77};
    for (uint64_t b = 0; b < B; b++) {
        uint64_t i = expected_start(rng.seed, rng.offset, b, n - T);
        uint16_t mark[3] = {(uint16_t)(b + 1), (uint16_t)(b + 101), (uint16_t)(b + 201)};
        CHECK(pwrite(fd, mark, sizeof mark, (off_t)(2 * i)) == (ssize_t)sizeof mark, "mark window %llu",
              (unsigned long long)b);
    }
    close(fd);
    td_data *d = open_ok(ctx, path);
    uint16_t x[B * T], y[B * T];
    CHECK(d && td_data_count(d) == (int64_t)n, "a sparse file of 2^32 + 12345 tokens");
    CHECK(td_data_random_batch(ctx, d, &rng, B, T, TD_U16, x, y) == TD_OK, "random batch on the large file");
    bool ok = true;
    for (int b = 0; b < B; b++)
        ok = ok && x[b * T] == b + 1 && x[b * T + 1] == b + 101 && y[b * T] == b + 101 && y[b * T + 1] == b + 201;
    CHECK(ok, "every window at its documented offset above 2^32");
    td_data_close(d);
    remove(path);
    free(path);
}

/* ---- sequential windows ---- */

static void sequential(td_ctx *ctx, const char *dir)
{
    enum { N = 20, B = 2, T = 3 };
    uint16_t *t = tokens(N);
    char *path = write_file(dir, "seq.bin", t, 2 * N);
    td_data *d = open_ok(ctx, path);
    /* Batches start at 0, 6, 12; the next would need tokens 18..24, so it starts over. */
    static const uint64_t starts[] = {0, 6, 12, 0, 6};
    uint64_t cursor = 0;
    for (int k = 0; k < 5; k++) {
        int32_t x[B * T], y[B * T];
        CHECK(td_data_sequential_batch(ctx, d, &cursor, B, T, TD_I32, x, y) == TD_OK, "batch %d", k);
        bool ok = true;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < T; i++)
                ok = ok && x[b * T + i] == tok_at(starts[k] + (uint64_t)(b * T + i)) &&
                     y[b * T + i] == tok_at(starts[k] + (uint64_t)(b * T + i) + 1);
        CHECK(ok, "batch %d starts at token %llu", k, (unsigned long long)starts[k]);
        CHECK(cursor == starts[k] + B * T, "after batch %d the cursor is %llu, not %llu", k,
              (unsigned long long)cursor, (unsigned long long)(starts[k] + B * T));
    }
    /* 13 + 7 = 20 tokens: the last batch that fits; 14 does not. */
    int32_t x[B * T], y[B * T];
    cursor = 13;
    CHECK(td_data_sequential_batch(ctx, d, &cursor, B, T, TD_I32, x, y) == TD_OK && x[0] == tok_at(13) &&
              y[5] == tok_at(19) && cursor == 19,
          "a batch ending on the last token is taken");
    cursor = 14;
    CHECK(td_data_sequential_batch(ctx, d, &cursor, B, T, TD_I32, x, y) == TD_OK && x[0] == tok_at(0) && cursor == 6,
          "one token short: the batch starts over at 0");
    cursor = UINT64_MAX;
    CHECK(td_data_sequential_batch(ctx, d, &cursor, B, T, TD_I32, x, y) == TD_OK && x[0] == tok_at(0) && cursor == 6,
          "a cursor past the end starts over");
    /* A batch of all 19 windows of T = 1: exactly n tokens. */
    int32_t x1[19], y1[19];
    cursor = 0;
    CHECK(td_data_sequential_batch(ctx, d, &cursor, 19, 1, TD_I32, x1, y1) == TD_OK && x1[18] == tok_at(18) &&
              y1[18] == tok_at(19) && cursor == 19,
          "B * T + 1 = n fits");
    td_data_close(d);
    remove(path);
    free(path);
    free(t);
}

/* ---- dtypes ---- */

static void dtypes(td_ctx *ctx, const char *dir)
{
    const uint16_t t[4] = {0, 65535, 32768, 1};
    char *path = write_file(dir, "dt.bin", t, sizeof t);
    td_data *d = open_ok(ctx, path);
    int32_t x32[3], y32[3];
    int64_t x64[3], y64[3];
    uint16_t x16[3], y16[3];
    uint64_t c = 0;
    CHECK(td_data_sequential_batch(ctx, d, &c, 1, 3, TD_I32, x32, y32) == TD_OK && x32[1] == 65535 &&
              x32[2] == 32768 && y32[0] == 65535 && y32[2] == 1,
          "i32: tokens are unsigned, never sign-extended");
    c = 0;
    CHECK(td_data_sequential_batch(ctx, d, &c, 1, 3, TD_I64, x64, y64) == TD_OK && x64[1] == 65535 &&
              y64[1] == 32768 && y64[2] == 1,
          "i64");
    c = 0;
    CHECK(td_data_sequential_batch(ctx, d, &c, 1, 3, TD_U16, x16, y16) == TD_OK && x16[0] == 0 && x16[1] == 65535 &&
              y16[2] == 1,
          "u16");
    static const td_dtype bad[] = {TD_F32, TD_F64, TD_F16, TD_BF16, TD_BOOL, TD_DTYPE_COUNT};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        td_ctx_clear_error(ctx);
        c = 0;
        CHECK(td_data_sequential_batch(ctx, d, &c, 1, 3, bad[i], x32, y32) == TD_ERR_INPUT &&
                  strstr(td_ctx_error(ctx), "i32, i64 or u16, not") && c == 0,
              "dtype %d is refused", (int)bad[i]);
    }
    td_ctx_clear_error(ctx);
    td_data_close(d);
    remove(path);
    free(path);
}

/* ---- errors of batches ---- */

/* The call returned TD_ERR_INPUT and its message holds `want`. */
static void batch_error(int line, td_ctx *ctx, td_status st, const char *want, const char *want2)
{
    const char *msg = td_ctx_error(ctx) ? td_ctx_error(ctx) : "(no message)";
    CHECK(st == TD_ERR_INPUT, "line %d: status %d (%s)", line, st, msg);
    CHECK(strstr(msg, want) && (!want2 || strstr(msg, want2)), "line %d: '%s' / '%s' not in '%s'", line, want,
          want2 ? want2 : "", msg);
    td_ctx_clear_error(ctx);
}
#define BATCH_ERROR(call, want, want2) batch_error(__LINE__, ctx, call, want, want2)

static void batch_errors(td_ctx *ctx, const char *dir)
{
    enum { N = 10 };
    uint16_t *t = tokens(N);
    char *path = write_file(dir, "ten.bin", t, 2 * N);
    td_data *d = open_ok(ctx, path);
    int32_t x[64], y[64];
    for (int i = 0; i < 64; i++)
        x[i] = y[i] = -1;
    td_rng rng = {1, 0};
    uint64_t c = 4;
    BATCH_ERROR(td_data_random_batch(ctx, d, &rng, 0, 4, TD_I32, x, y), "B = 0 and T = 4", "at least 1");
    BATCH_ERROR(td_data_random_batch(ctx, d, &rng, 2, -1, TD_I32, x, y), "T = -1", "at least 1");
    BATCH_ERROR(td_data_sequential_batch(ctx, d, &c, -2, 3, TD_I32, x, y), "B = -2", "at least 1");
    BATCH_ERROR(td_data_random_batch(ctx, d, &rng, 1, 10, TD_I32, x, y),
                "ten.bin: 10 tokens are too few for windows of T = 10", "T + 1 = 11");
    BATCH_ERROR(td_data_random_batch(ctx, d, &rng, 1, INT64_MAX, TD_U16, x, y), "10 tokens are too few", NULL);
    BATCH_ERROR(td_data_random_batch(ctx, d, &rng, 1, INT64_MAX, TD_I32, x, y), "overflows", NULL);
    BATCH_ERROR(td_data_sequential_batch(ctx, d, &c, 3, 4, TD_I32, x, y),
                "10 tokens are too few for a batch of B = 3 windows of T = 4", "B * T + 1 = 13");
    BATCH_ERROR(td_data_random_batch(ctx, d, &rng, INT64_MAX, 2, TD_I32, x, y), "B * T", "overflows");
    BATCH_ERROR(td_data_sequential_batch(ctx, d, &c, ((int64_t)1 << 62), 2, TD_I64, x, y), "overflows", NULL);
    BATCH_ERROR(td_data_random_batch(ctx, d, &rng, 1, 2, TD_I32, NULL, y), "x is NULL", NULL);
    BATCH_ERROR(td_data_random_batch(ctx, d, &rng, 1, 2, TD_I32, x, NULL), "y is NULL", NULL);
    BATCH_ERROR(td_data_random_batch(ctx, d, NULL, 1, 2, TD_I32, x, y), "rng is NULL", NULL);
    BATCH_ERROR(td_data_sequential_batch(ctx, d, NULL, 1, 2, TD_I32, x, y), "cursor is NULL", NULL);
    BATCH_ERROR(td_data_random_batch(ctx, NULL, &rng, 1, 2, TD_I32, x, y), "the data set is NULL", NULL);
    BATCH_ERROR(td_data_sequential_batch(ctx, NULL, &c, 1, 2, TD_I32, x, y), "the data set is NULL", NULL);
    td_rng end = {1, UINT64_MAX - 3};
    BATCH_ERROR(td_data_random_batch(ctx, d, &end, 2, 2, TD_I32, x, y), "2 draws would carry", "past 2^64");
    CHECK(end.offset == UINT64_MAX - 3, "a failed draw leaves the offset");
    td_rng fits = {1, UINT64_MAX - 3};
    CHECK(td_data_random_batch(ctx, d, &fits, 1, 2, TD_I32, x, y) == TD_OK && fits.offset == UINT64_MAX - 1,
          "a draw that ends below 2^64 is fine");
    bool untouched = true;
    for (int i = 0; i < 64; i++)
        untouched = untouched && (i < 2 || (x[i] == -1 && y[i] == -1));
    CHECK(untouched && rng.offset == 0 && c == 4, "failed calls leave x, y, the rng and the cursor alone");

    /* A .npy given to the token calls, and tokens to td_data_rows. */
    char *npy = test_join(dir, "r.npy");
    const int64_t shape[1] = {4};
    const int32_t v[4] = {1, 2, 3, 4};
    CHECK(td_npy_write(ctx, npy, TD_I32, 1, shape, v) == TD_OK, "write r.npy");
    td_data *n = open_ok(ctx, npy);
    BATCH_ERROR(td_data_random_batch(ctx, n, &rng, 1, 1, TD_I32, x, y), "r.npy is a .npy array of rows, not tokens",
                NULL);
    BATCH_ERROR(td_data_rows(ctx, d, &rng, NULL, 1, TD_U16, 0, NULL, x), "ten.bin is a token file", NULL);
    td_data_close(n);
    td_data_close(d);
    remove(npy), remove(path);
    free(npy), free(path), free(t);
}

/* ---- rows of a .npy ---- */

/* Mismatches name what the file (f32 rows of [2, 3], 7 of them) holds and what was asked for. */
static void row_errors(td_ctx *ctx, const char *path)
{
    td_data *d = open_ok(ctx, path);
    const int64_t row[2] = {2, 3}, wrong[2] = {3, 2}, three[3] = {2, 3, 1};
    float out[6];
    uint64_t c = 0;
    td_rng rng = {1, 0};
    BATCH_ERROR(td_data_rows(ctx, d, NULL, &c, 1, TD_F64, 2, row, out), "rows.npy: the rows are f32[2, 3]",
                "the caller asks for f64[2, 3]");
    BATCH_ERROR(td_data_rows(ctx, d, NULL, &c, 1, TD_F32, 2, wrong, out), "the rows are f32[2, 3]", "asks for f32[3, 2]");
    BATCH_ERROR(td_data_rows(ctx, d, NULL, &c, 1, TD_F32, 3, three, out), "asks for f32[2, 3, 1]", NULL);
    BATCH_ERROR(td_data_rows(ctx, d, NULL, &c, 1, TD_F32, 0, NULL, out), "asks for f32[]", NULL);
    BATCH_ERROR(td_data_rows(ctx, d, NULL, &c, 1, TD_F32, 2, NULL, out), "asks for rank 2 with a NULL shape", NULL);
    BATCH_ERROR(td_data_rows(ctx, d, NULL, &c, 1, TD_F32, -1, row, out), "asks for rank -1", NULL);
    BATCH_ERROR(td_data_rows(ctx, d, NULL, &c, 1, TD_F32, 99, row, out), "asks for rank 99", NULL);
    BATCH_ERROR(td_data_rows(ctx, d, NULL, &c, 0, TD_F32, 2, row, out), "B = 0", "at least 1");
    BATCH_ERROR(td_data_rows(ctx, d, NULL, &c, 8, TD_F32, 2, row, out), "has 7 rows, too few for a sequential batch of B = 8",
                NULL);
    BATCH_ERROR(td_data_rows(ctx, d, NULL, NULL, 1, TD_F32, 2, row, out), "rng and cursor are both NULL", NULL);
    BATCH_ERROR(td_data_rows(ctx, d, NULL, &c, 1, TD_F32, 2, row, NULL), "out is NULL", NULL);
    BATCH_ERROR(td_data_rows(ctx, d, &rng, NULL, INT64_MAX, TD_F32, 2, row, out), "rows of 24 bytes overflow", NULL);
    BATCH_ERROR(td_data_rows(ctx, NULL, &rng, NULL, 1, TD_F32, 2, row, out), "the data set is NULL", NULL);
    td_rng end = {1, UINT64_MAX};
    BATCH_ERROR(td_data_rows(ctx, d, &end, NULL, 1, TD_F32, 2, row, out), "past 2^64", NULL);
    /* Random draws may take more rows than the file has. */
    float many[20 * 6];
    CHECK(td_data_rows(ctx, d, &rng, NULL, 20, TD_F32, 2, row, many) == TD_OK, "20 random rows of 7");
    td_data_close(d);
}

/* Rows that are scalars: a rank-1 array (written over `path`). */
static void scalar_rows(td_ctx *ctx, const char *path)
{
    const int64_t flat[1] = {3};
    const int64_t ints[3] = {10, 20, 30};
    CHECK(td_npy_write(ctx, path, TD_I64, 1, flat, ints) == TD_OK, "write a rank-1 .npy");
    td_data *s = open_ok(ctx, path);
    int64_t got[2];
    uint64_t c = 1;
    CHECK(td_data_rows(ctx, s, NULL, &c, 2, TD_I64, 0, NULL, got) == TD_OK && got[0] == 20 && got[1] == 30 && c == 3,
          "scalar rows");
    td_data_close(s);
}

static void rows(td_ctx *ctx, const char *dir)
{
    enum { R = 7 };
    const int64_t shape[3] = {R, 2, 3};
    float v[R * 6];
    for (int i = 0; i < R * 6; i++)
        v[i] = (float)i;
    char *path = test_join(dir, "rows.npy");
    CHECK(td_npy_write(ctx, path, TD_F32, 3, shape, v) == TD_OK, "write rows.npy");
    td_data *d = open_ok(ctx, path);
    const int64_t row[2] = {2, 3};
    float out[5 * 6];
    /* Sequential: rows 0-4, then 5 and 6 cannot make 5 more, so 0-4 again. */
    uint64_t c = 0;
    CHECK(td_data_rows(ctx, d, NULL, &c, 5, TD_F32, 2, row, out) == TD_OK && memcmp(out, v, sizeof out) == 0 && c == 5,
          "rows 0..4");
    CHECK(td_data_rows(ctx, d, NULL, &c, 5, TD_F32, 2, row, out) == TD_OK && memcmp(out, v, sizeof out) == 0 && c == 5,
          "the next batch would pass row 6: it starts over");
    c = 2;
    CHECK(td_data_rows(ctx, d, NULL, &c, 5, TD_F32, 2, row, out) == TD_OK && memcmp(out, v + 12, sizeof out) == 0 &&
              c == 7,
          "rows 2..6, ending on the last row");
    /* Random: row b at floor(r_b R / 2^64); every row turns up. */
    td_rng rng = {99, 3};
    bool at = true;
    int hits[R] = {0};
    for (int k = 0; k < 200; k++) {
        uint64_t o = rng.offset;
        CHECK(td_data_rows(ctx, d, &rng, NULL, 5, TD_F32, 2, row, out) == TD_OK, "random rows");
        for (uint64_t b = 0; b < 5; b++) {
            uint64_t i = expected_start(99, o, b, R);
            at = at && memcmp(out + 6 * b, v + 6 * i, 6 * sizeof *v) == 0;
            hits[i]++;
        }
    }
    CHECK(at && rng.offset == 3 + 200 * 10, "random rows at the documented indices; 2 words a row");
    for (int i = 0; i < R; i++) /* 1000 draws, ~143 each, sd 11 */
        CHECK(hits[i] > 90 && hits[i] < 200, "row %d drawn %d times of 1000 (expected 143 +- 53)", i, hits[i]);
    td_data_close(d);
    row_errors(ctx, path);
    scalar_rows(ctx, path);
    remove(path);
    free(path);
}

/* ---- hostile files ---- */

/* Opens `len` bytes; when the open succeeds, batches must stay inside what
 * the file holds (the sanitizer build would see a stray read). */
static void survive(td_ctx *ctx, const char *dir, const uint8_t *bytes, size_t len, int *opened)
{
    char *path = write_file(dir, "hostile.bin", bytes, len);
    td_data *d = NULL;
    if (td_data_open(ctx, path, &d) == TD_OK) {
        (*opened)++;
        int64_t x[4], y[4];
        td_rng rng = {5, 0};
        uint64_t c = 0;
        if (td_data_format_of(d) != TD_DATA_NPY_ROWS) {
            CHECK(td_data_count(d) < 2 || td_data_random_batch(ctx, d, &rng, 2, 1, TD_I64, x, y) == TD_OK,
                  "random batch of an accepted file");
            CHECK(td_data_count(d) < 3 || td_data_sequential_batch(ctx, d, &c, 2, 1, TD_I64, x, y) == TD_OK,
                  "sequential batch of an accepted file");
        }
    }
    CHECK(d || td_ctx_error(ctx), "a refused file has a message");
    td_ctx_clear_error(ctx);
    td_data_close(d);
    remove(path);
    free(path);
}

/* An llm.c file cut at every length and with each header byte set to
 * hostile values, and a .npy cut at every length: each is read or refused,
 * never read past. */
static void hostile(td_ctx *ctx, const char *dir)
{
    static uint8_t buf[1024 + 16];
    uint16_t t[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t len = llmc_image(buf, 20240520, 1, 8, t, 8);
    int opened = 0;
    for (size_t cut = 0; cut <= len; cut++)
        survive(ctx, dir, buf, cut, &opened);
    /* The whole file, and its first 2 bytes: too short for the magic, so one raw token. */
    CHECK(opened == 2, "cuts of an llm.c file that open: %d, expected 2", opened);
    static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    for (size_t at = 0; at < 12; at++)
        for (size_t v = 0; v < sizeof values; v++) {
            uint8_t keep = buf[at];
            buf[at] = values[v];
            survive(ctx, dir, buf, len, &opened);
            buf[at] = keep;
        }
    char *npy = test_join(dir, "h.npy");
    const int64_t shape[2] = {3, 2};
    const uint16_t v16[6] = {1, 2, 3, 4, 5, 6};
    CHECK(td_npy_write(ctx, npy, TD_U16, 2, shape, v16) == TD_OK, "write h.npy");
    size_t n = 0;
    FILE *f = fopen(npy, "rb");
    static uint8_t img[512];
    if (f) {
        n = fread(img, 1, sizeof img, f);
        fclose(f);
    }
    opened = 0;
    for (size_t cut = 0; cut <= n; cut++)
        survive(ctx, dir, img, cut, &opened);
    /* The whole file, and cuts the raw reader takes: those that do not
     * start with the whole magic and have an even length (2 and 4 bytes). */
    CHECK(opened == 3, "cuts of a .npy that open: %d, expected 3", opened);
    remove(npy);
    free(npy);
}

void test_data(void)
{
    const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *dir = test_join(base, "td_data_XXXXXX");
    CHECK(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    formats(ctx, dir);
    open_errors(dir);
    random_windows(ctx, dir);
    coverage(ctx, dir);
    large_offsets(ctx, dir);
    sequential(ctx, dir);
    dtypes(ctx, dir);
    batch_errors(ctx, dir);
    rows(ctx, dir);
    hostile(ctx, dir);
    td_ctx_free(ctx);
    rmdir(dir);
    free(dir);
}

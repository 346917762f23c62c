/* test_npy.c - .npy reading and writing: round trips of every dtype at ranks
 * 0 to 6 and empty shapes through a temporary directory, np.save's exact
 * header layout, every error with the words and byte offset its message
 * must carry, and the atomic write (nothing left behind, on success or on
 * failure). tests/runtime/npy_oracle.py checks the same code against numpy. */
#include <dirent.h>
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

static const size_t SIZE[TD_DTYPE_COUNT] = {8, 4, 2, 2, 1, 1, 8, 4, 2, 1};

/* A .npy image: the preamble of `major`, the dict padded as numpy pads it
 * (to 64 bytes, ending in a newline), then `data`. Returns its length. */
static size_t image(uint8_t *buf, int major, const char *dict, const void *data, size_t data_len)
{
    size_t width = major == 1 ? 2 : 4, dlen = strlen(dict);
    size_t pad = 64 - (8 + width + dlen + 1) % 64;
    size_t hlen = dlen + pad + 1;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major, buf[7] = 0;
    for (size_t i = 0; i < width; i++)
        buf[8 + i] = (uint8_t)(hlen >> (8 * i));
    memcpy(buf + 8 + width, dict, dlen);
    memset(buf + 8 + width + dlen, ' ', pad);
    buf[8 + width + hlen - 1] = '\n';
    if (data_len)
        memcpy(buf + 8 + width + hlen, data, data_len);
    return 8 + width + hlen + data_len;
}

/* The file offset of the first `needle` in the dict of a version-1 image. */
static unsigned long long at(const char *dict, const char *needle)
{
    return 10 + (unsigned long long)(strstr(dict, needle) - dict);
}

/* Reading `len` bytes fails with `status`, and the message holds each of the
 * NULL-terminated strings that follow. */
static void expect_error(int line, const uint8_t *bytes, size_t len, td_status status, ...)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_npy npy;
    td_status st = td_npy_read_mem(ctx, "t.npy", bytes, len, &npy);
    const char *msg = td_ctx_error(ctx) ? td_ctx_error(ctx) : "(no message)";
    CHECK(st == status, "line %d: status %d, expected %d (%s)", line, st, status, msg);
    CHECK(npy.data == NULL && npy.rank == 0, "line %d: a failed read leaves the result empty", line);
    CHECK(strncmp(msg, "t.npy: ", 7) == 0, "line %d: the message names the file: '%s'", line, msg);
    CHECK(strchr(msg, '\n') == NULL, "line %d: the message is one line: '%s'", line, msg);
    va_list ap;
    va_start(ap, status);
    for (const char *want; (want = va_arg(ap, const char *));)
        CHECK(strstr(msg, want), "line %d: '%s' is not in '%s'", line, want, msg);
    va_end(ap);
    td_ctx_free(ctx);
}
#define EXPECT_ERROR(bytes, len, status, ...) expect_error(__LINE__, bytes, len, status, __VA_ARGS__, (const char *)NULL)

/* The error of a version-1 image with this dict and data. */
static void dict_error(int line, const char *dict, size_t data_len, const char *w1, const char *w2, const char *w3)
{
    static uint8_t buf[4096], zeros[256];
    size_t len = image(buf, 1, dict, zeros, data_len);
    expect_error(line, buf, len, TD_ERR_INPUT, w1, w2, w3, (const char *)NULL);
}
#define DICT_ERROR(dict, data_len, w1, w2, w3) dict_error(__LINE__, dict, data_len, w1, w2, w3)

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void round_trips(td_ctx *ctx, const char *dir)
{
    static const int64_t shapes[][6] = {{0}, {5}, {2, 3}, {2, 1, 3}, {1, 2, 2, 3}, {2, 1, 1, 2, 2}, {1, 1, 2, 1, 2, 3}};
    static const int64_t empty[3] = {2, 0, 3};
    uint32_t seed = 12345;
    for (int t = 0; t < TD_DTYPE_COUNT; t++) {
        for (int rank = 0; rank <= 7; rank++) {
            /* rank 7 stands for the empty shape (2, 0, 3) */
            const int64_t *shape = rank < 7 ? shapes[rank] : empty;
            int r = rank < 7 ? rank : 3;
            size_t elements = 1;
            for (int i = 0; i < r; i++)
                elements *= (size_t)shape[i];
            size_t bytes = elements * SIZE[t];
            uint8_t *data = malloc(bytes + 1);
            for (size_t i = 0; i < bytes; i++) { /* every bit pattern: NaNs, infinities, subnormals */
                seed = seed * 1664525u + 1013904223u;
                data[i] = (uint8_t)(seed >> 24);
                if (t == TD_BOOL)
                    data[i] &= 1;
            }
            char name[64];
            snprintf(name, sizeof name, "rt_%d_%d.npy", t, rank);
            char *path = test_join(dir, name);
            td_status st = td_npy_write(ctx, path, (td_dtype)t, r, shape, data);
            CHECK(st == TD_OK, "write dtype %d rank %d: %s", t, r, td_ctx_error(ctx));
            td_npy npy;
            st = td_npy_read(ctx, path, &npy);
            CHECK(st == TD_OK, "read dtype %d rank %d: %s", t, r, td_ctx_error(ctx));
            if (st == TD_OK) {
                CHECK(npy.dtype == (td_dtype)t && npy.rank == r && npy.elements == elements && npy.bytes == bytes &&
                          npy.version == 1 && npy.data != NULL,
                      "dtype %d rank %d: header read back", t, r);
                CHECK(memcmp(npy.shape, shape, (size_t)r * sizeof shape[0]) == 0, "dtype %d rank %d: shape", t, r);
                CHECK(bytes == 0 || memcmp(npy.data, data, bytes) == 0, "dtype %d rank %d: data bit for bit", t, r);
            }
            td_npy_free(&npy);
            size_t len = 0;
            uint8_t *file = slurp(path, &len);
            CHECK(file && len >= bytes && (len - bytes) % 64 == 0, "dtype %d rank %d: data starts 64-aligned", t, r);
            st = td_npy_read_mem(ctx, "mem", file, len, &npy);
            CHECK(st == TD_OK && npy.bytes == bytes && (bytes == 0 || memcmp(npy.data, data, bytes) == 0),
                  "dtype %d rank %d: read from memory", t, r);
            td_npy_free(&npy);
            td_npy_free(&npy); /* twice is safe */
            free(file);
            free(data);
            free(path);
            td_ctx_clear_error(ctx);
        }
    }
}

/* Our header is np.save's, byte for byte (the oracle compares whole files). */
static void header_layout(td_ctx *ctx, const char *dir)
{
    char *path = test_join(dir, "layout.npy");
    float data[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[2] = {2, 3};
    CHECK(td_npy_write(ctx, path, TD_F32, 2, shape, data) == TD_OK, "write layout.npy");
    size_t len = 0;
    uint8_t *b = slurp(path, &len);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    CHECK(b && len == 128 + 24, "np.save's f4 (2, 3) file is 152 bytes, got %zu", len);
    CHECK(b && memcmp(b, "\x93NUMPY\x01\x00\x76\x00", 10) == 0, "magic, version 1.0, header length 118");
    CHECK(b && memcmp(b + 10, dict, strlen(dict)) == 0, "the dict as numpy writes it");
    CHECK(b && b[127] == '\n' && b[126] == ' ', "padded with spaces to a newline at byte 127");
    CHECK(b && memcmp(b + 128, data, 24) == 0, "the data follows at 128");
    free(b);
    free(path);
    CHECK(strcmp(td_npy_descr(TD_BF16), "<V2") == 0 && strcmp(td_npy_descr(TD_F8E4M3), "<V1") == 0 &&
              strcmp(td_npy_descr(TD_F8E5M2), "float8_e5m2") == 0 && strcmp(td_npy_descr(TD_BOOL), "|b1") == 0 &&
              td_npy_descr(TD_DTYPE_COUNT) == NULL,
          "td_npy_descr");
}

/* Headers numpy (or Python 2, or a hand) could write that must read. */
static void accepted(td_ctx *ctx)
{
    static uint8_t buf[4096];
    uint8_t d[24] = {0};
    td_npy npy;
    struct {
        int major;
        const char *dict;
        size_t data;
        td_dtype dtype;
        int rank;
        int64_t axis0;
    } cases[] = {
        {2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, TD_F32, 2, 2},
        {3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, TD_F32, 2, 2},
        {1, "{\"descr\":\"<i8\",\"shape\":(3,),\"fortran_order\":False}", 24, TD_I64, 1, 3},
        {1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3L, 2L), }", 24, TD_I32, 2, 3},
        {1, "{ 'descr' : '<f8' ,\n 'fortran_order' : False , 'shape' : ( ) }", 8, TD_F64, 0, 0},
        {1, "{'descr': '<f2', 'fortran_order': False, 'shape': (0,), }", 0, TD_F16, 1, 0},
        {1, "{'descr': '|V2', 'fortran_order': False, 'shape': (1,), }", 2, TD_BF16, 1, 1},
        {1, "{'descr': 'bfloat16', 'fortran_order': False, 'shape': (1,), }", 2, TD_BF16, 1, 1},
        {1, "{'descr': '<V1', 'fortran_order': False, 'shape': (1,), }", 1, TD_F8E4M3, 1, 1},
        {1, "{'descr': 'float8_e4m3fn', 'fortran_order': False, 'shape': (1,), }", 1, TD_F8E4M3, 1, 1},
        {1, "{'descr': '<f1', 'fortran_order': False, 'shape': (1,), }", 1, TD_F8E5M2, 1, 1},
        {1, "{'descr': '<b1', 'fortran_order': False, 'shape': (2,), }", 2, TD_BOOL, 1, 2},
        {1, "{'descr': '<u2', 'fortran_order': False, 'shape': (3, 4), }", 24, TD_U16, 2, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = image(buf, cases[i].major, cases[i].dict, d, cases[i].data);
        td_status st = td_npy_read_mem(ctx, "ok.npy", buf, len, &npy);
        CHECK(st == TD_OK, "case %zu reads: %s", i, td_ctx_error(ctx));
        CHECK(npy.dtype == cases[i].dtype && npy.rank == cases[i].rank && npy.bytes == cases[i].data &&
                  npy.version == cases[i].major && (npy.rank == 0 || npy.shape[0] == cases[i].axis0) && npy.data,
              "case %zu: dtype %d rank %d bytes %zu", i, npy.dtype, npy.rank, npy.bytes);
        td_npy_free(&npy);
        td_ctx_clear_error(ctx);
    }
}

static void errors_in_memory(void)
{
    static uint8_t buf[4096];
    uint8_t z[64] = {0};
    const char *f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    size_t len;
    char off[64];

    /* the preamble */
    EXPECT_ERROR((const uint8_t *)"PK\x03\x04 a zip file", 16, TD_ERR_INPUT, "not a .npy file", "bad magic",
                 "byte offset 0");
    EXPECT_ERROR((const uint8_t *)"\x93NU", 3, TD_ERR_INPUT, "not a .npy file", "only 3 bytes");
    EXPECT_ERROR(NULL, 0, TD_ERR_INPUT, "not a .npy file", "only 0 bytes");
    EXPECT_ERROR((const uint8_t *)"\x93NUMPY\x01", 7, TD_ERR_INPUT, "truncated", "byte offset 6");
    len = image(buf, 1, f4, z, 24);
    buf[6] = 4;
    EXPECT_ERROR(buf, len, TD_ERR_INPUT, "unknown .npy format version 4.0", "byte offset 6");
    buf[6] = 1, buf[7] = 1;
    EXPECT_ERROR(buf, len, TD_ERR_INPUT, "unknown .npy format version 1.1", "byte offset 6");
    EXPECT_ERROR((const uint8_t *)"\x93NUMPY\x02\x00\x10\x00", 10, TD_ERR_INPUT, "truncated",
                 "inside the header length at byte offset 8");
    len = image(buf, 1, f4, z, 24);
    buf[8] = 0x00, buf[9] = 0x01; /* 256 bytes of header in a 152-byte file */
    EXPECT_ERROR(buf, len, TD_ERR_INPUT, "header length 256 at byte offset 8 runs past the end",
                 "would end at byte 266, the file has 152 bytes");
    len = image(buf, 3, f4, z, 24);
    buf[8] = 0xff, buf[9] = 0xff, buf[10] = 0xff, buf[11] = 0xff;
    EXPECT_ERROR(buf, len, TD_ERR_INPUT, "header length 4294967295 at byte offset 8 runs past the end");

    /* the dict: each message names the offset of the offending byte */
    const char *d;
    d = "{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, " '<f4'") + 1);
    DICT_ERROR(d, 24, "malformed .npy header", off, "expected ':' after the key 'descr'");
    d = "{'descr': '<f4', 'fortran_order': False 'shape': (2, 3), }";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, "'shape'"));
    DICT_ERROR(d, 24, "malformed", off, "expected ',' or '}'");
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, "'extra'"));
    DICT_ERROR(d, 24, "malformed", off, "unexpected key");
    d = "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, "'descr': '<f4', 'f"));
    DICT_ERROR(d, 24, "malformed", off, "'descr' appears twice");
    d = "{'descr': '<f4', 'fortran_order': False}";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, "}"));
    DICT_ERROR(d, 24, "malformed", off, "no key 'shape'");
    d = "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, "0,"));
    DICT_ERROR(d, 24, "malformed", off, "'fortran_order' must be True or False");
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, "(6)"));
    DICT_ERROR(d, 24, "malformed", off, "write (n,) for one axis");
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, "3)"));
    DICT_ERROR(d, 24, "malformed", off, "expected ',' or ')'");
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, "-3"));
    DICT_ERROR(d, 24, "malformed", off, "negative axis size");
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3.0), }";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, ".0"));
    DICT_ERROR(d, 24, "malformed", off, "expected ',' or ')'");
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, "[2"));
    DICT_ERROR(d, 24, "malformed", off, "'shape' must be a tuple");
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, "x"));
    DICT_ERROR(d, 24, "malformed", off, "unexpected text after the header dict");
    d = "['descr', '<f4']";
    DICT_ERROR(d, 24, "malformed", "byte offset 10:", "expected '{'");
    d = "{'descr': '<\\x66\x34', 'fortran_order': False, 'shape': (2, 3), }";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, "\\"));
    DICT_ERROR(d, 24, "malformed", off, "escape sequences");
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'open";
    snprintf(off, sizeof off, "byte offset %llu:", at(d, "'open"));
    DICT_ERROR(d, 24, "malformed", off, "unterminated string");
    len = image(buf, 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (6L,), }", z, 24);
    EXPECT_ERROR(buf, len, TD_ERR_INPUT, "malformed", "byte offset 64:", "unexpected character in an integer");

    /* dtypes */
    d = "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }";
    snprintf(off, sizeof off, "byte offset %llu", at(d, "'>f4'"));
    DICT_ERROR(d, 24, "unsupported dtype '>f4'", off, "big-endian");
    d = "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }";
    DICT_ERROR(d, 24, "unsupported dtype '<c8'", "complex", "tdc reads <f8 <f4");
    d = "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }";
    DICT_ERROR(d, 24, "unsupported dtype '|O'", "Python objects", "byte offset 20");
    d = "{'descr': '<U5', 'fortran_order': False, 'shape': (1,), }";
    DICT_ERROR(d, 20, "unsupported dtype '<U5'", "strings", "byte offset 20");
    d = "{'descr': '<u4', 'fortran_order': False, 'shape': (1,), }";
    DICT_ERROR(d, 4, "unsupported dtype '<u4'", "not one of tdc's element types", "byte offset 20");
    d = "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }";
    DICT_ERROR(d, 8, "unsupported dtype", "structured", "byte offset 20");

    /* layout and shape */
    d = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
    snprintf(off, sizeof off, "byte offset %llu", at(d, "True"));
    DICT_ERROR(d, 24, "Fortran order is not supported; save with np.ascontiguousarray", off, "t.npy");
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775808,), }";
    snprintf(off, sizeof off, "byte offset %llu", at(d, "922"));
    DICT_ERROR(d, 0, "shape overflows", "axis 0", off);
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }";
    snprintf(off, sizeof off, "byte offset %llu", at(d, "(4"));
    DICT_ERROR(d, 0, "overflows", "at axis 1", off);
    d = "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }";
    DICT_ERROR(d, 0, "overflows", "2305843009213693952 elements of 8 bytes", "byte offset 60");
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }";
    DICT_ERROR(d, 4, "more than 16 axes", "byte offset 60", "unsupported shape");
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }";
    len = image(buf, 1, d, z, 4);
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_npy npy;
    CHECK(td_npy_read_mem(ctx, "t.npy", buf, len, &npy) == TD_OK && npy.rank == 16, "16 axes read");
    td_npy_free(&npy);
    td_ctx_free(ctx);

    /* the data */
    len = image(buf, 1, f4, z, 20);
    EXPECT_ERROR(buf, len, TD_ERR_INPUT, "data too short", "shape (2, 3) of <f4 needs 24 bytes from byte offset 128",
                 "found 20");
    len = image(buf, 1, f4, z, 28);
    EXPECT_ERROR(buf, len, TD_ERR_INPUT, "trailing garbage", "4 bytes after the data, from byte offset 152");
    len = image(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", z, 0);
    EXPECT_ERROR(buf, len, TD_ERR_INPUT, "data too short", "shape () of <f8 needs 8 bytes", "found 0");
    uint8_t bools[3] = {1, 0, 2};
    len = image(buf, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", bools, 3);
    EXPECT_ERROR(buf, len, TD_ERR_INPUT, "bool element 2 at byte offset 130 is 2, not 0 or 1");
}

static void file_errors(td_ctx *ctx, const char *dir)
{
    td_npy npy;
    char *missing = test_join(dir, "missing.npy");
    CHECK(td_npy_read(ctx, missing, &npy) == TD_ERR_IO && npy.data == NULL, "a missing file is an I/O error");
    CHECK(td_ctx_error(ctx) && strstr(td_ctx_error(ctx), missing) && strstr(td_ctx_error(ctx), "cannot open") &&
              strstr(td_ctx_error(ctx), "No such file"),
          "missing file: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_npy_read(ctx, dir, &npy) == TD_ERR_INPUT && strstr(td_ctx_error(ctx), "not a regular file"),
          "a directory: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);

    /* a file cut short and one with garbage after it */
    char *path = test_join(dir, "cut.npy");
    int64_t shape[2] = {2, 3};
    int32_t data[6] = {1, 2, 3, 4, 5, 6};
    CHECK(td_npy_write(ctx, path, TD_I32, 2, shape, data) == TD_OK, "write cut.npy");
    CHECK(truncate(path, 128 + 10) == 0, "truncate cut.npy");
    CHECK(td_npy_read(ctx, path, &npy) == TD_ERR_INPUT && strstr(td_ctx_error(ctx), "data too short") &&
              strstr(td_ctx_error(ctx), "needs 24 bytes from byte offset 128, found 10") && strstr(td_ctx_error(ctx), path),
          "short file: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(truncate(path, 128 + 25) == 0, "extend cut.npy");
    CHECK(td_npy_read(ctx, path, &npy) == TD_ERR_INPUT &&
              strstr(td_ctx_error(ctx), "trailing garbage: 1 byte after the data, from byte offset 152"),
          "long file: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(truncate(path, 40) == 0, "cut into the header");
    CHECK(td_npy_read(ctx, path, &npy) == TD_ERR_INPUT &&
              strstr(td_ctx_error(ctx), "header length 118 at byte offset 8 runs past the end"),
          "file cut in its header: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(truncate(path, 4) == 0, "cut into the magic");
    CHECK(td_npy_read(ctx, path, &npy) == TD_ERR_INPUT && strstr(td_ctx_error(ctx), "only 4 bytes"),
          "file cut in its magic: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    free(path);
    free(missing);
}

static void writes(td_ctx *ctx, const char *dir)
{
    int64_t shape[2] = {2, 2};
    double a[4] = {1, 2, 3, 4}, b[4] = {-1, -2, -3, -4};
    char *path = test_join(dir, "over.npy");
    td_npy npy;
    CHECK(td_npy_write(ctx, path, TD_F64, 2, shape, a) == TD_OK, "first write");
    CHECK(td_npy_write(ctx, path, TD_F64, 2, shape, b) == TD_OK, "overwrite");
    CHECK(td_npy_read(ctx, path, &npy) == TD_OK && memcmp(npy.data, b, sizeof b) == 0, "the second write wins");
    td_npy_free(&npy);
    struct stat info;
    mode_t mask = umask(022);
    umask(mask);
    CHECK(stat(path, &info) == 0 && (info.st_mode & 0777) == (0666 & ~mask), "mode 0666 less the umask, got %o",
          (unsigned)(info.st_mode & 0777));
    free(path);

    /* failures leave nothing behind */
    char *nodir = test_join(dir, "no/such/dir.npy");
    CHECK(td_npy_write(ctx, nodir, TD_F64, 2, shape, a) == TD_ERR_IO &&
              strstr(td_ctx_error(ctx), "cannot create the temporary file") &&
              strstr(td_ctx_error(ctx), "No such file"),
          "write into a missing directory: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    char *sub = test_join(dir, "sub");
    CHECK(mkdir(sub, 0777) == 0, "mkdir sub");
    CHECK(td_npy_write(ctx, sub, TD_F64, 2, shape, a) == TD_ERR_IO && strstr(td_ctx_error(ctx), "rename"),
          "a directory in the way: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(rmdir(sub) == 0, "rmdir sub");

    int64_t neg[2] = {2, -2};
    CHECK(td_npy_write(ctx, sub, TD_F64, 2, neg, a) == TD_ERR_INPUT && strstr(td_ctx_error(ctx), "negative size"),
          "negative shape: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_npy_write(ctx, sub, TD_F64, 17, shape, a) == TD_ERR_INPUT &&
              strstr(td_ctx_error(ctx), "rank 17 is outside 0..16"),
          "rank 17: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_npy_write(ctx, sub, TD_DTYPE_COUNT, 2, shape, a) == TD_ERR_INPUT && strstr(td_ctx_error(ctx), "not a td_dtype"),
          "bad dtype: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    uint8_t bools[4] = {0, 1, 7, 1};
    CHECK(td_npy_write(ctx, sub, TD_BOOL, 2, shape, bools) == TD_ERR_INPUT &&
              strstr(td_ctx_error(ctx), "bool element 2 at byte offset 2 is 7"),
          "bad bool: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_npy_write(ctx, sub, TD_F64, 2, shape, NULL) == TD_ERR_INPUT && strstr(td_ctx_error(ctx), "no data"),
          "NULL data: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    int64_t none[1] = {0};
    char *empty = test_join(dir, "empty.npy");
    CHECK(td_npy_write(ctx, empty, TD_F64, 1, none, NULL) == TD_OK, "NULL data for no elements: %s", td_ctx_error(ctx));
    CHECK(td_npy_read(ctx, empty, &npy) == TD_OK && npy.elements == 0 && npy.bytes == 0 && npy.data, "empty read back");
    td_npy_free(&npy);
    CHECK(test_count_entries(dir, ".tmp") == 0, "no temporary file is left behind");
    CHECK(test_count_entries(dir, "sub") == 0 && test_count_entries(dir, "no") == 0, "failed writes create nothing");
    free(empty);
    free(sub);
    free(nodir);
}

void test_npy(void)
{
    const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *dir = test_join(base, "td_npy_XXXXXX");
    CHECK(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    round_trips(ctx, dir);
    header_layout(ctx, dir);
    accepted(ctx);
    errors_in_memory();
    file_errors(ctx, dir);
    writes(ctx, dir);
    td_ctx_free(ctx);
    test_remove_all(dir);
    free(dir);
}

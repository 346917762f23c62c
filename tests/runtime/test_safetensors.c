/* test_safetensors.c - safetensors reading and writing: round trips of every
 * dtype at ranks 0 to 16 and empty shapes, with metadata; the reference
 * writer's exact header layout; headers a hand or another writer could
 * produce that must read; every error with the words and the byte offset
 * its message must carry; the atomic write (nothing left behind, the old
 * file untouched on failure); and a sweep of corrupted and truncated files
 * that must fail cleanly. tests/runtime/safetensors_oracle.py checks the
 * same code against a Python reader and writer of the format. */
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

static const size_t SIZE[TD_DTYPE_COUNT] = {8, 4, 2, 2, 1, 1, 8, 4, 2, 1};
static const char *const FORMAT_NAMES[TD_DTYPE_COUNT] = {"F64", "F32", "F16", "BF16", "F8_E4M3",
                                                         "F8_E5M2", "I64", "I32", "U16", "BOOL"};

static bool put_file(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(bytes, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

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

/* A file image: the header's length, the header, then `data_len` bytes of
 * `data` (zeros when NULL). Returns its length; buf holds 64 KiB. */
enum { IMAGE_CAP = 1 << 16 };
static size_t image(uint8_t *buf, const char *header, const void *data, size_t data_len)
{
    size_t n = strlen(header);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, header, n);
    if (data)
        memcpy(buf + 8 + n, data, data_len);
    else
        memset(buf + 8 + n, 0, data_len);
    return 8 + n + data_len;
}

/* The file offset of the first `needle` in `header`. */
static long long at(const char *header, const char *needle)
{
    const char *p = strstr(header, needle);
    return p ? 8 + (long long)(p - header) : -1000;
}

/* Reading these bytes (as DIR/bad.safetensors) fails with `status`; the
 * message names the file, is one line, ends with "at byte OFFSET" when
 * offset >= 0 and holds each of the NULL-terminated words that follow. */
static void expect_error(int line, const char *dir, const uint8_t *bytes, size_t len, td_status status,
                         long long offset, ...)
{
    char *path = test_join(dir, "bad.safetensors");
    CHECK(put_file(path, bytes, len), "line %d: write %s", line, path);
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_safetensors st;
    td_status got = td_safetensors_read(ctx, path, &st);
    const char *msg = td_ctx_error(ctx) ? td_ctx_error(ctx) : "(no message)";
    CHECK(got == status, "line %d: status %d, expected %d (%s)", line, got, status, msg);
    CHECK(st.ntensors == 0 && st.tensors == NULL && st.nmeta == 0 && st.storage == NULL,
          "line %d: a failed read leaves the result empty", line);
    CHECK(strncmp(msg, path, strlen(path)) == 0 && strncmp(msg + strlen(path), ": ", 2) == 0,
          "line %d: the message names the file: '%s'", line, msg);
    CHECK(strchr(msg, '\n') == NULL, "line %d: the message is one line: '%s'", line, msg);
    if (offset >= 0) {
        char tail[48];
        snprintf(tail, sizeof tail, " at byte %lld", offset);
        size_t n = strlen(msg), k = strlen(tail);
        CHECK(n >= k && strcmp(msg + n - k, tail) == 0, "line %d: '%s' does not end with '%s'", line, msg, tail);
    }
    va_list ap;
    va_start(ap, offset);
    for (const char *want; (want = va_arg(ap, const char *));)
        CHECK(strstr(msg, want), "line %d: '%s' is not in '%s'", line, want, msg);
    va_end(ap);
    td_safetensors_free(&st);
    td_ctx_free(ctx);
    free(path);
}
#define EXPECT_ERROR(dir, bytes, len, status, offset, ...) \
    expect_error(__LINE__, dir, bytes, len, status, offset, __VA_ARGS__, (const char *)NULL)

/* The header `h` with `data_len` zero bytes of data fails: TD_ERR_INPUT at
 * the offset of `needle` in h (plus `skew`), with words w1 and w2. */
static void header_error(int line, const char *dir, const char *h, size_t data_len, const char *needle, int skew,
                         const char *w1, const char *w2)
{
    static uint8_t buf[IMAGE_CAP];
    size_t len = image(buf, h, NULL, data_len);
    expect_error(line, dir, buf, len, TD_ERR_INPUT, at(h, needle) + skew, w1, w2, (const char *)NULL);
}
#define HEADER_ERROR(h, data_len, needle, skew, w1, w2) header_error(__LINE__, dir, h, data_len, needle, skew, w1, w2)

/* Deterministic bytes: every bit pattern (NaNs, infinities, subnormals);
 * bools 0 or 1. */
static void fill(uint8_t *data, size_t n, td_dtype t, uint32_t *seed)
{
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        data[i] = (uint8_t)(*seed >> 24);
        if (t == TD_BOOL)
            data[i] &= 1;
    }
}

/* Every dtype at ranks 0 to 6, an empty shape, a rank-16 one, several to a
 * file, with metadata on some, read back bit for bit. */
static void round_trips(td_ctx *ctx, const char *dir)
{
    enum { NSHAPES = 10 };
    static const int64_t shapes[NSHAPES][TD_MAX_RANK] = {
        {0}, {5}, {2, 3}, {2, 1, 3}, {1, 2, 2, 3}, {2, 1, 1, 2, 2}, {1, 1, 2, 1, 2, 3}, {2, 0, 3}, {0},
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3}};
    static const int ranks[NSHAPES] = {0, 1, 2, 3, 4, 5, 6, 3, 1, 16};
    uint32_t seed = 20240607;
    const char *keys[2] = {"format", "note \"quoted\"\n\xc3\xa9"};
    const char *values[2] = {"pt", "\x01 control \\ and \xf0\x9f\x98\x80"};
    for (int t = 0; t < TD_DTYPE_COUNT; t++) {
        td_st_tensor tensors[NSHAPES];
        uint8_t *data[NSHAPES];
        char names[NSHAPES][32];
        for (int s = 0; s < NSHAPES; s++) {
            size_t elements = 1;
            for (int a = 0; a < ranks[s]; a++)
                elements *= (size_t)shapes[s][a];
            size_t bytes = elements * SIZE[t];
            data[s] = malloc(bytes + 1);
            fill(data[s], bytes, (td_dtype)t, &seed);
            snprintf(names[s], sizeof names[s], s % 2 ? "layer.%d.weight" : "z%d", s);
            memset(&tensors[s], 0, sizeof tensors[s]);
            tensors[s].name = names[s];
            tensors[s].dtype = (td_dtype)t;
            tensors[s].rank = ranks[s];
            memcpy(tensors[s].shape, shapes[s], sizeof shapes[s]);
            tensors[s].data = data[s];
            tensors[s].bytes = bytes;
        }
        char file[64];
        snprintf(file, sizeof file, "rt_%d.safetensors", t);
        char *path = test_join(dir, file);
        int nmeta = t % 3 == 0 ? 0 : t % 3;
        td_status st = td_safetensors_write(ctx, path, NSHAPES, tensors, nmeta, keys, values);
        CHECK(st == TD_OK, "write %s: %s", FORMAT_NAMES[t], td_ctx_error(ctx));
        td_safetensors in;
        st = td_safetensors_read(ctx, path, &in);
        CHECK(st == TD_OK, "read %s: %s", FORMAT_NAMES[t], td_ctx_error(ctx));
        CHECK(in.ntensors == NSHAPES && in.nmeta == nmeta, "%s: %d tensors, %d metadata", FORMAT_NAMES[t], in.ntensors,
              in.nmeta);
        for (int s = 0; s < NSHAPES && st == TD_OK && in.ntensors == NSHAPES; s++) {
            /* our writer's offsets follow the given order, and a read sorts by offset */
            const td_st_tensor *got = &in.tensors[s];
            CHECK(strcmp(got->name, names[s]) == 0, "%s: tensor %d is '%s'", FORMAT_NAMES[t], s, got->name);
            CHECK(td_safetensors_find(&in, names[s]) == got, "%s: find '%s'", FORMAT_NAMES[t], names[s]);
            CHECK(got->dtype == (td_dtype)t && got->rank == ranks[s] && got->bytes == tensors[s].bytes && got->data,
                  "%s shape %d: dtype %d rank %d bytes %zu", FORMAT_NAMES[t], s, got->dtype, got->rank, got->bytes);
            CHECK(memcmp(got->shape, shapes[s], (size_t)ranks[s] * sizeof shapes[s][0]) == 0, "%s shape %d: shape",
                  FORMAT_NAMES[t], s);
            CHECK(got->bytes == 0 || memcmp(got->data, data[s], got->bytes) == 0, "%s shape %d: data bit for bit",
                  FORMAT_NAMES[t], s);
        }
        if (st == TD_OK && in.ntensors > 0)
            CHECK((uintptr_t)in.tensors[0].data % 64 == 0, "%s: the data section is 64-byte aligned", FORMAT_NAMES[t]);
        for (int m = 0; m < nmeta && st == TD_OK; m++)
            CHECK(td_safetensors_meta(&in, keys[m]) && strcmp(td_safetensors_meta(&in, keys[m]), values[m]) == 0 &&
                      strcmp(in.meta_keys[m], keys[m]) == 0,
                  "%s: metadata %d", FORMAT_NAMES[t], m);
        CHECK(td_safetensors_find(&in, "absent") == NULL && td_safetensors_meta(&in, "absent") == NULL,
              "%s: absent names", FORMAT_NAMES[t]);
        td_safetensors_free(&in);
        td_safetensors_free(&in); /* twice is safe */
        CHECK(in.ntensors == 0 && in.tensors == NULL && in.storage == NULL, "free empties the struct");
        for (int s = 0; s < NSHAPES; s++)
            free(data[s]);
        free(path);
        td_ctx_clear_error(ctx);
    }
}

/* One file with one tensor of each dtype, in an order a read must sort
 * only by offset, and every find. */
static void mixed(td_ctx *ctx, const char *dir)
{
    td_st_tensor tensors[TD_DTYPE_COUNT];
    uint8_t data[TD_DTYPE_COUNT][3 * 8];
    char names[TD_DTYPE_COUNT][16];
    uint32_t seed = 7;
    for (int t = 0; t < TD_DTYPE_COUNT; t++) {
        int k = TD_DTYPE_COUNT - 1 - t; /* names in reverse, so name order is not offset order */
        fill(data[t], 3 * SIZE[t], (td_dtype)t, &seed);
        snprintf(names[t], sizeof names[t], "t%02d", k);
        tensors[t] = (td_st_tensor){.name = names[t], .dtype = (td_dtype)t, .rank = 1, .shape = {3},
                                    .data = data[t], .bytes = 3 * SIZE[t]};
    }
    char *path = test_join(dir, "mixed.safetensors");
    CHECK(td_safetensors_write(ctx, path, TD_DTYPE_COUNT, tensors, 0, NULL, NULL) == TD_OK, "write mixed: %s",
          td_ctx_error(ctx));
    td_safetensors in;
    CHECK(td_safetensors_read(ctx, path, &in) == TD_OK && in.ntensors == TD_DTYPE_COUNT && in.nmeta == 0,
          "read mixed: %s", td_ctx_error(ctx));
    for (int t = 0; t < in.ntensors; t++) {
        const td_st_tensor *f = td_safetensors_find(&in, names[t]);
        CHECK(f && f->dtype == (td_dtype)t && f->bytes == 3 * SIZE[t] && memcmp(f->data, data[t], f->bytes) == 0,
              "mixed: '%s' read back", names[t]);
        CHECK(&in.tensors[t] == f, "mixed: in the file's order");
    }
    td_safetensors_free(&in);
    free(path);
    td_ctx_clear_error(ctx);
}

/* The header, byte for byte as the reference writer lays it out. */
static void header_layout(td_ctx *ctx, const char *dir)
{
    char *path = test_join(dir, "layout.safetensors");
    float a[2] = {1, 2};
    uint16_t b[1] = {0x3f80};
    td_st_tensor tensors[2] = {
        {.name = "a", .dtype = TD_F32, .rank = 1, .shape = {2}, .data = a, .bytes = 8},
        {.name = "q\"\\\n\x01/\xc3\xa9", .dtype = TD_BF16, .rank = 0, .data = b, .bytes = 2},
    };
    const char *keys[1] = {"format"}, *values[1] = {"pt"};
    CHECK(td_safetensors_write(ctx, path, 2, tensors, 1, keys, values) == TD_OK, "write layout: %s",
          td_ctx_error(ctx));
    const char *json = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":"
                       "[0,8]},\"q\\\"\\\\\\n\\u0001/\xc3\xa9\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[8,10]}}";
    size_t n = strlen(json), padded = (n + 7) / 8 * 8, len = 0;
    uint8_t *f = slurp(path, &len);
    CHECK(f && len == 8 + padded + 10, "layout: %zu bytes, expected %zu", len, 8 + padded + 10);
    if (f && len == 8 + padded + 10) {
        uint64_t h = 0;
        for (int i = 0; i < 8; i++)
            h |= (uint64_t)f[i] << (8 * i);
        CHECK(h == padded && padded % 8 == 0, "layout: header length %llu, expected %zu", (unsigned long long)h, padded);
        CHECK(memcmp(f + 8, json, n) == 0, "layout: the JSON is the reference writer's: '%.*s'", (int)n, (char *)f + 8);
        bool spaces = true;
        for (size_t i = n; i < padded; i++)
            spaces = spaces && f[8 + i] == ' ';
        CHECK(spaces, "layout: padded with spaces");
        CHECK(memcmp(f + 8 + padded, a, 8) == 0 && memcmp(f + 8 + padded + 8, b, 2) == 0, "layout: the data");
    }
    free(f);

    /* nothing at all: "{}" and six spaces */
    CHECK(td_safetensors_write(ctx, path, 0, NULL, 0, NULL, NULL) == TD_OK, "write an empty file: %s",
          td_ctx_error(ctx));
    f = slurp(path, &len);
    CHECK(f && len == 16 && memcmp(f, "\x08\0\0\0\0\0\0\0{}      ", 16) == 0, "the empty file is 16 bytes");
    free(f);
    td_safetensors in;
    CHECK(td_safetensors_read(ctx, path, &in) == TD_OK && in.ntensors == 0 && in.nmeta == 0 &&
              td_safetensors_find(&in, "a") == NULL,
          "the empty file reads: %s", td_ctx_error(ctx));
    td_safetensors_free(&in);
    free(path);
    td_ctx_clear_error(ctx);
}

/* Headers that are not ours but are valid: they must read. */
static void accepted(td_ctx *ctx, const char *dir)
{
    static uint8_t buf[IMAGE_CAP];
    uint8_t data[64];
    for (int i = 0; i < 64; i++)
        data[i] = (uint8_t)(i & 1);
    struct {
        const char *header;
        size_t data;
        int ntensors;
        const char *name; /* the first tensor's, as read */
        int nmeta;
    } cases[] = {
        {"{}", 0, 0, NULL, 0},
        {"{ }\t\r\n ", 0, 0, NULL, 0},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 1, "a", 0},
        {"{ \"a\" : { \"data_offsets\" : [ 0 , 8 ] , \"shape\" : [ 2 ] , \"dtype\" : \"F32\" } }\n", 8, 1, "a", 0},
        {"{\"\\u00e9\\ud83d\\ude00\\/\\t\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, 1,
         "\xc3\xa9\xf0\x9f\x98\x80/\t", 0},
        {"{\"\\u0064type\":{\"\\u0064type\":\"F\\u0031\\u0036\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2, 1, "dtype",
         0},
        {"{\"b\":{\"dtype\":\"U16\",\"shape\":[1],\"data_offsets\":[2,4]},\"a\":{\"dtype\":\"U16\",\"shape\":[1],"
         "\"data_offsets\":[0,2]},\"__metadata__\":{\"k\":\"v\",\"\":\"\"}}",
         4, 2, "a", 2},
        {"{\"__metadata__\":{},\"e\":{\"dtype\":\"F64\",\"shape\":[0,3],\"data_offsets\":[0,0]}}", 0, 1, "e", 0},
        /* an empty tensor at the offset where another begins sorts first */
        {"{\"x\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]},\"e\":{\"dtype\":\"BOOL\",\"shape\":[0],"
         "\"data_offsets\":[0,0]}}",
         3, 2, "e", 0},
        {"{\"s\":{\"dtype\":\"F8_E5M2\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, 1, "s",
         0},
    };
    char *path = test_join(dir, "ok.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = image(buf, cases[i].header, data, cases[i].data);
        CHECK(put_file(path, buf, len), "write case %zu", i);
        td_safetensors in;
        td_status st = td_safetensors_read(ctx, path, &in);
        CHECK(st == TD_OK, "case %zu reads: %s", i, td_ctx_error(ctx));
        CHECK(in.ntensors == cases[i].ntensors && in.nmeta == cases[i].nmeta, "case %zu: %d tensors, %d metadata", i,
              in.ntensors, in.nmeta);
        if (st == TD_OK && cases[i].name && in.ntensors > 0)
            CHECK(strcmp(in.tensors[0].name, cases[i].name) == 0 && td_safetensors_find(&in, cases[i].name),
                  "case %zu: the first tensor is '%s'", i, in.tensors[0].name);
        td_safetensors_free(&in);
        td_ctx_clear_error(ctx);
    }
    free(path);
}

/* The length, the file and the JSON syntax. */
static void syntax_errors(const char *dir)
{
    static uint8_t buf[IMAGE_CAP];
    const char *f32 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    size_t len;

    EXPECT_ERROR(dir, (const uint8_t *)"\x10\0\0", 3, TD_ERR_INPUT, 3, "truncated", "8-byte header length");
    EXPECT_ERROR(dir, (const uint8_t *)"", 0, TD_ERR_INPUT, 0, "truncated");
    len = image(buf, f32, NULL, 8);
    buf[0] = 0xe8, buf[1] = 0x03; /* 1000 */
    EXPECT_ERROR(dir, buf, len, TD_ERR_INPUT, 0, "header length 1000 runs past the end of the file",
                 "would end at byte 1008", "the file has 70 bytes");
    memset(buf, 0xff, 8);
    EXPECT_ERROR(dir, buf, len, TD_ERR_INPUT, 0, "header length 18446744073709551615 runs past the end");
    len = image(buf, f32, NULL, 8);
    EXPECT_ERROR(dir, buf, len - 12, TD_ERR_INPUT, 0, "runs past the end"); /* cut inside the header */
    EXPECT_ERROR(dir, buf, len - 3, TD_ERR_INPUT, at(f32, "[0,8]"), "run past the end of the data section (5 bytes)");
    buf[0] = 0; /* a header length of 0 */
    for (int i = 1; i < 8; i++)
        buf[i] = 0;
    EXPECT_ERROR(dir, buf, 8, TD_ERR_INPUT, 8, "must start with '{'", "found the end of the header");

    HEADER_ERROR(" {}", 0, " ", 0, "must start with '{', found an unexpected character", NULL);
    HEADER_ERROR("[]", 0, "[", 0, "must start with '{', found an array", NULL);
    HEADER_ERROR("{\"a\" {}}", 0, "{}", 0, "expected ':' after a key, found an object", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},}", 4, ",}", 1,
                 "expected a tensor name (a string), found '}'", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}", 4, "}", 1,
                 "expected ',' or '}' after a tensor's entry, found the end of the header", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}} x", 4, "x", 0,
                 "an unexpected character after the header object", "only whitespace may pad it");
    EXPECT_ERROR(dir, (const uint8_t *)"\x04\0\0\0\0\0\0\0{} \0", 12, TD_ERR_INPUT, 11,
                 "an unexpected byte after the header object");
    HEADER_ERROR("{\"abc", 0, "\"abc", 0, "unterminated string", NULL);
    HEADER_ERROR("{\"a\tb\":{}}", 0, "\t", 0, "control character 0x09 in a string", NULL);
    HEADER_ERROR("{\"a\\xb\":{}}", 0, "\\x", 0, "invalid escape", NULL);
    HEADER_ERROR("{\"a\\u12G4\":{}}", 0, "\\u", 0, "\\u needs four hex digits", NULL);
    HEADER_ERROR("{\"a\\ud800b\":{}}", 0, "\\u", 0, "\\uD800 is a high surrogate without a low one after it", NULL);
    HEADER_ERROR("{\"a\\ud800\\u0041\":{}}", 0, "\\u", 0, "high surrogate without a low one", NULL);
    HEADER_ERROR("{\"a\\udc00\":{}}", 0, "\\u", 0, "\\uDC00 is a low surrogate without a high one", NULL);
    HEADER_ERROR("{\"a\\u0000\":{}}", 0, "\\u", 0, "\\u0000 (a NUL character)", NULL);
    HEADER_ERROR("{\"a\xc0\x80\":{}}", 0, "\xc0", 0, "invalid UTF-8", NULL);
    HEADER_ERROR("{\"a\xed\xa0\x80\":{}}", 0, "\xed", 0, "invalid UTF-8", NULL);
    HEADER_ERROR("{\"a\xf4\x90\x80\x80\":{}}", 0, "\xf4", 0, "invalid UTF-8", NULL);
    HEADER_ERROR("{\"a\xe2\x82\":{}}", 0, "\xe2", 0, "invalid UTF-8", NULL);
    HEADER_ERROR("{\"a\":true}", 0, "true", 0, "expected an object", "true or false");
    HEADER_ERROR("{\"a\":null}", 0, "null", 0, "expected an object", "null");
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, "2.0", 0,
                 "an axis size is not an integer", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}}", 8, "2e0", 0,
                 "an axis size is not an integer", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8, "02", 0, "leading zero",
                 NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "-2", 0,
                 "an axis size is negative", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[-0],\"data_offsets\":[0,0]}}", 0, "-0", 0,
                 "an axis size is negative", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[-],\"data_offsets\":[0,0]}}", 0, "-", 0,
                 "expected an axis size (an integer), found a number", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,0]}}", 0, "922", 0,
                 "an axis size is over 9223372036854775807", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,],\"data_offsets\":[0,8]}}", 8, "]", 0,
                 "expected an axis size (an integer), found ']'", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2 2],\"data_offsets\":[0,8]}}", 8, " 2]", 1,
                 "expected ',' or ']' in \"shape\"", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, "\"2\"", 0,
                 "expected an axis size (an integer), found a string", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, "2,", 0,
                 "tensor 'a': \"shape\" must be an array of integers, found a number", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
                 "[1,", 0, "more than 16 axes", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", 8, ",8]", 0,
                 "\"data_offsets\" must be [begin, end]: expected ']', found ','", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "0]", 1,
                 "\"data_offsets\" must be [begin, end]: expected ','", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{}}}", 8, "{}}", 0,
                 "\"data_offsets\" must be an array [begin, end], found an object", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551616]}}", 8, "184", 0,
                 "a data offset is over 18446744073709551615", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 8, "\"extra", 0,
                 "tensor 'a': unknown key 'extra'", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8,
                 "\"dtype\":\"F32\",\"d", 0, "tensor 'a': \"dtype\" appears twice", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "{\"dtype", 0, "tensor 'a': the entry has no "
                 "\"data_offsets\"", NULL);
    HEADER_ERROR("{\"a\":{}}", 0, "{}", 0, "the entry has no \"dtype\"", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":[]}", 8, "[]", 0,
                 "tensor 'b': expected an object", "found an array");
    HEADER_ERROR("{\"\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, "\"\"", 0,
                 "a tensor with an empty name", NULL);
    char longname[400];
    snprintf(longname, sizeof longname, "{\"%0256d\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 0);
    HEADER_ERROR(longname, 4, "\"0", 0, "the name has 256 bytes, over the 255 tdc allows", "...'");
    snprintf(longname, sizeof longname, "{\"%0255d\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 0);
    len = image(buf, longname, NULL, 4);
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    char *path = test_join(dir, "long.safetensors");
    td_safetensors in;
    CHECK(put_file(path, buf, len) && td_safetensors_read(ctx, path, &in) == TD_OK && in.ntensors == 1 &&
              strlen(in.tensors[0].name) == 255,
          "a name of 255 bytes reads: %s", td_ctx_error(ctx));
    td_safetensors_free(&in);
    td_ctx_free(ctx);
    free(path);

    /* metadata */
    HEADER_ERROR("{\"__metadata__\":[]}", 0, "[]", 0, "\"__metadata__\" must be an object of strings, found an array",
                 NULL);
    HEADER_ERROR("{\"__metadata__\":{\"k\":1}}", 0, "1}", 0, "the metadata value of 'k' must be a string, found a "
                 "number", NULL);
    HEADER_ERROR("{\"__metadata__\":{\"k\":{}}}", 0, "{}}", 0, "must be a string, found an object", NULL);
    HEADER_ERROR("{\"__metadata__\":{\"k\":null}}", 0, "null", 0, "must be a string, found null", NULL);
    HEADER_ERROR("{\"__metadata__\":{1:\"v\"}}", 0, "1:", 0, "expected a metadata key (a string), found a number",
                 NULL);
    HEADER_ERROR("{\"__metadata__\":{\"k\":\"v\",\"j\":\"w\",\"k\":\"x\"}}", 0, "\"k\":\"x", 0,
                 "duplicate metadata key 'k' (first at byte 25)", NULL);
    HEADER_ERROR("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "\"__metadata__\":{}}", 0,
                 "\"__metadata__\" appears twice", NULL);
}

/* Well-formed JSON whose content is wrong. */
static void content_errors(const char *dir)
{
    static uint8_t buf[IMAGE_CAP];
    size_t len;
    HEADER_ERROR("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, "\"U8", 0,
                 "tensor 'a': unsupported dtype 'U8'", "F64 F32 F16 BF16 F8_E4M3 F8_E5M2 I64 I32 U16 BOOL");
    HEADER_ERROR("{\"a\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "\"f32", 0,
                 "unsupported dtype 'f32'", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "32", 0,
                 "expected a dtype (a string), found a number", NULL);
    /* byte counts and ranges */
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20, "[0,20]", 0,
                 "tensor 'a': data_offsets [0, 20] hold 20 bytes, but shape [2, 3] of F32 needs 24", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,4]}}", 8, "[8,4]", 0,
                 "data_offsets [8, 4] end before they begin", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "[0,8]", 0,
                 "data_offsets [0, 8] run past the end of the data section (4 bytes)", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "[4,12]", 0,
                 "tensor 'a': a gap in the data section: bytes [0, 4) belong to no tensor", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
                 20, "[12,", 0, "tensor 'b': a gap in the data section: bytes [8, 12)", NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                 12, "[4,", 0, "tensor 'b': data_offsets [4, 12] overlap those of 'a' (which end at 8)", NULL);
    HEADER_ERROR("{\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                 "\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                 4, "[0,4]}}", 0, "overlap those of 'b'", NULL); /* same begin: the later one in the file */
    const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    len = image(buf, h, NULL, 11);
    EXPECT_ERROR(dir, buf, len, TD_ERR_INPUT, (long long)(8 + strlen(h) + 8),
                 "the data section has 11 bytes, but the tensors end at 8 (3 trailing bytes)");
    len = image(buf, "{}", NULL, 1);
    EXPECT_ERROR(dir, buf, len, TD_ERR_INPUT, 10, "(1 trailing byte)");
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                 16, "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8", 0,
                 "duplicate tensor name 'a' (first at byte 9)", NULL);
    /* overflow */
    HEADER_ERROR("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296,0],\"data_offsets\":[0,0]}}", 0,
                 "[4", 0, "the number of elements of shape [4294967296, 4294967296, 4294967296, 0] overflows at axis 1",
                 NULL);
    HEADER_ERROR("{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}", 0, "[2", 0,
                 "2305843009213693952 elements of F64 overflow", NULL);
    /* bool bytes */
    uint8_t bools[4] = {0, 1, 2, 1};
    h = "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":[0,4]}}";
    len = image(buf, h, bools, 4);
    EXPECT_ERROR(dir, buf, len, TD_ERR_INPUT, (long long)(8 + strlen(h) + 2), "tensor 'm': bool element 2 is 2");
    /* names in messages stay one line and short */
    HEADER_ERROR("{\"a\\nb\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}", 0, "\"X", 0,
                 "tensor 'a?b': unsupported dtype 'X'", NULL);
}

static void file_errors(td_ctx *ctx, const char *dir)
{
    td_safetensors in;
    char *missing = test_join(dir, "missing.safetensors");
    CHECK(td_safetensors_read(ctx, missing, &in) == TD_ERR_IO && in.storage == NULL, "a missing file is an I/O error");
    CHECK(td_ctx_error(ctx) && strstr(td_ctx_error(ctx), missing) && strstr(td_ctx_error(ctx), "cannot open") &&
              strstr(td_ctx_error(ctx), "No such file"),
          "missing file: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_safetensors_read(ctx, dir, &in) == TD_ERR_INPUT && strstr(td_ctx_error(ctx), "not a regular file"),
          "a directory: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_safetensors_read(ctx, NULL, &in) == TD_ERR_INPUT, "a NULL path");
    td_ctx_clear_error(ctx);

    /* a header over the reference's 100 MB limit, in a sparse file */
    char *big = test_join(dir, "big.safetensors");
    uint8_t len8[8] = {0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0}; /* 100000001 */
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bool made = fd >= 0 && write(fd, len8, 8) == 8 && ftruncate(fd, 200000000) == 0;
    if (fd >= 0)
        close(fd);
    CHECK(made, "make the sparse file");
    CHECK(td_safetensors_read(ctx, big, &in) == TD_ERR_INPUT &&
              strstr(td_ctx_error(ctx), "header length 100000001 is over the 100000000 bytes the format allows at byte 0"),
          "a header over 100 MB: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    remove(big);
    free(big);
    free(missing);
}

/* Every byte of a good file set to values that break things, and the file
 * cut at every length: each read succeeds or fails cleanly, never crashes
 * (the sanitizer build makes that strict). */
static void corruption_sweep(td_ctx *ctx, const char *dir)
{
    static uint8_t good[IMAGE_CAP], bad[IMAGE_CAP];
    uint8_t data[64];
    for (int i = 0; i < 64; i++)
        data[i] = (uint8_t)(i & 1);
    const char *h = "{\"__metadata__\":{\"k\\u00e9\":\"v\"},\"b\":{\"dtype\":\"BOOL\",\"shape\":[2,2],\"data_offsets\":"
                    "[8,12]},\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}  ";
    size_t len = image(good, h, data, 12);
    char *path = test_join(dir, "sweep.safetensors");
    static const uint8_t values[] = {0, '"', '\\', '{', '}', '[', ']', ',', ':', '9', '-', 0x80, 0xff, ' '};
    int reads = 0, clean = 0, accepted_ = 0;
    for (size_t pos = 0; pos <= len; pos++) {
        for (size_t v = 0; v <= sizeof values; v++) {
            size_t n = len;
            memcpy(bad, good, len);
            if (v == sizeof values)
                n = pos; /* cut */
            else if (pos < len)
                bad[pos] = values[v];
            else
                continue;
            if (!put_file(path, bad, n))
                continue;
            td_safetensors in;
            td_status st = td_safetensors_read(ctx, path, &in);
            const char *msg = td_ctx_error(ctx);
            reads++;
            if (st == TD_OK) {
                accepted_++;
                clean += msg == NULL;
                for (int t = 0; t < in.ntensors; t++) /* what a read gives must be usable */
                    clean -= td_safetensors_find(&in, in.tensors[t].name) == NULL;
            } else {
                clean += st == TD_ERR_INPUT && msg && strncmp(msg, path, strlen(path)) == 0 && strstr(msg, " at byte ") &&
                         !strchr(msg, '\n');
            }
            td_safetensors_free(&in);
            td_ctx_clear_error(ctx);
        }
    }
    CHECK(clean == reads, "corruptions: %d of %d reads ended cleanly", clean, reads);
    CHECK(accepted_ > 0 && accepted_ < reads, "corruptions: %d of %d read (some, not all)", accepted_, reads);
    free(path);
}

static td_status write_one(td_ctx *ctx, const char *path, td_st_tensor t)
{
    return td_safetensors_write(ctx, path, 1, &t, 0, NULL, NULL);
}

/* A bad write fails with TD_ERR_INPUT and these words. */
static void write_error(int line, td_ctx *ctx, td_status st, const char *w1, const char *w2)
{
    const char *msg = td_ctx_error(ctx) ? td_ctx_error(ctx) : "(no message)";
    CHECK(st == TD_ERR_INPUT, "line %d: status %d (%s)", line, st, msg);
    CHECK(strstr(msg, "cannot write") && strstr(msg, w1) && (!w2 || strstr(msg, w2)), "line %d: '%s' lacks '%s'/'%s'",
          line, msg, w1, w2 ? w2 : "");
    td_ctx_clear_error(ctx);
}
#define WRITE_ERROR(st, w1, w2) write_error(__LINE__, ctx, st, w1, w2)

static void writes(td_ctx *ctx, const char *dir)
{
    char *path = test_join(dir, "w.safetensors");
    double a[4] = {1, 2, 3, 4}, b[4] = {-1, -2, -3, -4};
    td_st_tensor t = {.name = "w", .dtype = TD_F64, .rank = 2, .shape = {2, 2}, .data = a, .bytes = 32};
    CHECK(write_one(ctx, path, t) == TD_OK, "first write: %s", td_ctx_error(ctx));
    size_t before_len = 0;
    uint8_t *before = slurp(path, &before_len);
    t.data = b;
    CHECK(write_one(ctx, path, t) == TD_OK, "overwrite: %s", td_ctx_error(ctx));
    td_safetensors in;
    CHECK(td_safetensors_read(ctx, path, &in) == TD_OK && in.ntensors == 1 && memcmp(in.tensors[0].data, b, 32) == 0,
          "the second write wins");
    td_safetensors_free(&in);
    struct stat info;
    mode_t mask = umask(022);
    umask(mask);
    CHECK(stat(path, &info) == 0 && (info.st_mode & 0777) == (0666 & ~mask), "mode 0666 less the umask, got %o",
          (unsigned)(info.st_mode & 0777));
    t.data = a;
    CHECK(write_one(ctx, path, t) == TD_OK, "write a again");
    free(before);
    before = slurp(path, &before_len);

    /* the temporary file is PATH.tmp.PID; one already there is left alone */
    char tmpname[64];
    snprintf(tmpname, sizeof tmpname, "w.safetensors.tmp.%ld", (long)getpid());
    char *stale = test_join(dir, tmpname);
    CHECK(put_file(stale, "stale", 5), "make a stale temporary file");
    CHECK(write_one(ctx, path, t) == TD_OK, "write past a stale temporary file: %s", td_ctx_error(ctx));
    size_t n = 0;
    uint8_t *s = slurp(stale, &n);
    CHECK(s && n == 5 && memcmp(s, "stale", 5) == 0, "the stale file is untouched");
    free(s);
    remove(stale);
    free(stale);

    /* invalid input: nothing is written, the old file stays */
    td_st_tensor u = t;
    u.name = "";
    WRITE_ERROR(write_one(ctx, path, u), "tensor 0 has an empty name", NULL);
    u.name = NULL;
    WRITE_ERROR(write_one(ctx, path, u), "tensor 0 has no name", NULL);
    char longname[300];
    memset(longname, 'n', 256);
    longname[256] = 0;
    u.name = longname;
    WRITE_ERROR(write_one(ctx, path, u), "the name has 256 bytes, over 255", NULL);
    u.name = "bad\xff";
    WRITE_ERROR(write_one(ctx, path, u), "not valid UTF-8 (at its byte 3)", NULL);
    u.name = "__metadata__";
    WRITE_ERROR(write_one(ctx, path, u), "named \"__metadata__\"", NULL);
    u = t, u.dtype = TD_DTYPE_COUNT;
    WRITE_ERROR(write_one(ctx, path, u), "not a td_dtype", NULL);
    u = t, u.rank = 17;
    WRITE_ERROR(write_one(ctx, path, u), "rank 17 is outside 0..16", NULL);
    u = t, u.shape[1] = -2;
    WRITE_ERROR(write_one(ctx, path, u), "axis 1 has negative size -2", NULL);
    u = t, u.bytes = 24;
    WRITE_ERROR(write_one(ctx, path, u), "tensor 0 ('w'): 24 bytes, but shape [2, 2] of F64 needs 32", NULL);
    u = t, u.data = NULL;
    WRITE_ERROR(write_one(ctx, path, u), "no data for 32 bytes", NULL);
    u = t, u.rank = 3, u.shape[0] = INT64_MAX, u.shape[1] = INT64_MAX, u.shape[2] = 0;
    WRITE_ERROR(write_one(ctx, path, u), "the bytes of shape", "overflow");
    uint8_t bools[4] = {0, 1, 3, 1};
    u = (td_st_tensor){.name = "m", .dtype = TD_BOOL, .rank = 1, .shape = {4}, .data = bools, .bytes = 4};
    WRITE_ERROR(write_one(ctx, path, u), "bool element 2 is 3", NULL);
    td_st_tensor two[2] = {t, t};
    WRITE_ERROR(td_safetensors_write(ctx, path, 2, two, 0, NULL, NULL), "two tensors are named 'w'", NULL);
    const char *keys[2] = {"k", "k"}, *values[2] = {"1", "2"}, *nokey[1] = {NULL};
    WRITE_ERROR(td_safetensors_write(ctx, path, 1, &t, 2, keys, values), "the metadata key 'k' appears twice", NULL);
    WRITE_ERROR(td_safetensors_write(ctx, path, 1, &t, 1, nokey, values), "metadata entry 0 has no key", NULL);
    values[0] = "\xc3";
    WRITE_ERROR(td_safetensors_write(ctx, path, 1, &t, 1, keys, values), "metadata entry 0 ('k'): not valid UTF-8",
                NULL);
    WRITE_ERROR(td_safetensors_write(ctx, path, -1, &t, 0, NULL, NULL), "-1 tensors", NULL);
    WRITE_ERROR(td_safetensors_write(ctx, path, 1, NULL, 0, NULL, NULL), "no array", NULL);
    WRITE_ERROR(td_safetensors_write(ctx, path, 0, NULL, 1, NULL, NULL), "no array", NULL);
    u = (td_st_tensor){.name = "e", .dtype = TD_F32, .rank = 2, .shape = {0, 3}, .data = NULL, .bytes = 0};
    char *empty = test_join(dir, "e.safetensors");
    CHECK(write_one(ctx, empty, u) == TD_OK, "NULL data for no elements: %s", td_ctx_error(ctx));
    CHECK(td_safetensors_read(ctx, empty, &in) == TD_OK && in.ntensors == 1 && in.tensors[0].bytes == 0 &&
              in.tensors[0].data && in.tensors[0].rank == 2,
          "an empty tensor reads back with a data pointer");
    td_safetensors_free(&in);
    free(empty);

    /* I/O failures leave nothing behind and the old file as it was */
    char *nodir = test_join(dir, "no/such/dir.safetensors");
    CHECK(write_one(ctx, nodir, t) == TD_ERR_IO && strstr(td_ctx_error(ctx), "cannot create the temporary file") &&
              strstr(td_ctx_error(ctx), "No such file"),
          "write into a missing directory: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    char *sub = test_join(dir, "sub");
    CHECK(mkdir(sub, 0777) == 0, "mkdir sub");
    CHECK(write_one(ctx, sub, t) == TD_ERR_IO && strstr(td_ctx_error(ctx), "rename"), "a directory in the way: '%s'",
          td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(rmdir(sub) == 0, "rmdir sub: nothing was left in it");
    size_t after_len = 0;
    uint8_t *after = slurp(path, &after_len);
    CHECK(before && after && after_len == before_len && memcmp(before, after, before_len) == 0,
          "failed writes leave the old file untouched");
    CHECK(test_count_entries(dir, ".tmp") == 0, "no temporary file is left behind");
    free(after);
    free(before);
    free(sub);
    free(nodir);
    free(path);
}

/* The accessors on empty and hand-made structs. */
static void accessors(void)
{
    td_safetensors none;
    memset(&none, 0, sizeof none);
    CHECK(td_safetensors_find(&none, "a") == NULL && td_safetensors_meta(&none, "a") == NULL, "an empty struct");
    CHECK(td_safetensors_find(NULL, "a") == NULL && td_safetensors_meta(NULL, "a") == NULL, "NULL struct");
    td_safetensors_free(&none);
    td_safetensors_free(&none);
    td_safetensors_free(NULL);
    td_st_tensor ts[2] = {{.name = "x"}, {.name = "y"}};
    const char *k[1] = {"k"}, *v[1] = {"v"};
    td_safetensors hand = {.ntensors = 2, .tensors = ts, .nmeta = 1, .meta_keys = k, .meta_values = v};
    CHECK(td_safetensors_find(&hand, "y") == &ts[1] && td_safetensors_find(&hand, "z") == NULL &&
              td_safetensors_find(&hand, NULL) == NULL,
          "find in a struct filled in by hand");
    CHECK(td_safetensors_meta(&hand, "k") == v[0], "meta in a struct filled in by hand");
}

void test_safetensors(void)
{
    const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *dir = test_join(base, "td_st_XXXXXX");
    CHECK(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    round_trips(ctx, dir);
    mixed(ctx, dir);
    header_layout(ctx, dir);
    accepted(ctx, dir);
    syntax_errors(dir);
    content_errors(dir);
    file_errors(ctx, dir);
    corruption_sweep(ctx, dir);
    writes(ctx, dir);
    accessors();
    td_ctx_free(ctx);
    test_remove_all(dir);
    free(dir);
}

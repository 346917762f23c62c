/* data_probe_main.c - td_data_* driven from standard input, for
 * tests/runtime/data_oracle.py, which compiles it with runtime/data.c and
 * what it needs (npy.c, rng.c, dtype.c, ctx.c) and checks it against numpy.
 *
 * One command a line, one answer a line; every command opens the file
 * afresh and closes it:
 *   open PATH                                   -> ok FORMAT COUNT     (llmc, raw or npy)
 *   random PATH SEED OFFSET B T DTYPE XOUT YOUT -> ok NEW_OFFSET       (x and y, raw, to XOUT and YOUT)
 *   seq PATH CURSOR B T DTYPE XOUT YOUT         -> ok NEW_CURSOR
 *   rows PATH SEED|- OFFSET CURSOR B DTYPE OUT RANK D0 ... -> ok NEW_OFFSET NEW_CURSOR  (- : sequential)
 *   word SEED J                                 -> ok WORD
 * or `error MESSAGE` with the context's message. Paths hold no spaces. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"

static const char *const NAMES[TD_DTYPE_COUNT] = {"f64", "f32", "f16", "bf16", "f8e4m3",
                                                  "f8e5m2", "i64", "i32", "u16", "bool"};
static const char *const FORMATS[] = {"llmc", "raw", "npy"};

static td_dtype dtype_named(const char *name)
{
    for (int i = 0; i < TD_DTYPE_COUNT; i++)
        if (strcmp(NAMES[i], name) == 0)
            return (td_dtype)i;
    return TD_DTYPE_COUNT; /* the library's error for a bad dtype */
}

static void answer_error(td_ctx *ctx)
{
    printf("error %s\n", td_ctx_error(ctx) ? td_ctx_error(ctx) : "failed without a message");
    td_ctx_clear_error(ctx);
}

static bool save(const char *path, const void *data, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, bytes, f) == bytes;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        printf("error probe: cannot write %s\n", path);
    return ok;
}

enum { PROBE_MAX = 1 << 28 };

/* A buffer of `elements` of `size` bytes; -1 elements (more than a probe
 * holds) gives NULL, so the library reports its own error for the sizes
 * (they are checked before the buffers). */
static void *buffer(int64_t elements, size_t size)
{
    if (elements < 0)
        return NULL;
    return malloc(elements ? (size_t)elements * (size ? size : 1) : 1);
}

static void do_open(td_ctx *ctx, td_data *d)
{
    (void)ctx;
    printf("ok %s %" PRId64 "\n", FORMATS[td_data_format_of(d)], td_data_count(d));
}

static void do_tokens(td_ctx *ctx, td_data *d, char **w, bool random)
{
    uint64_t a = strtoull(w[2], NULL, 10), offset = random ? strtoull(w[3], NULL, 10) : 0;
    char **rest = w + (random ? 4 : 3);
    int64_t B = strtoll(rest[0], NULL, 10), T = strtoll(rest[1], NULL, 10);
    td_dtype dtype = dtype_named(rest[2]);
    size_t size = dtype < TD_DTYPE_COUNT ? td_dtype_size(dtype) : 1;
    int64_t elements = B <= 0 || T <= 0 ? 0 : B <= PROBE_MAX / T ? B * T : -1;
    void *x = buffer(elements, size), *y = buffer(elements, size);
    td_rng rng = {a, offset};
    uint64_t cursor = a;
    td_status st = random ? td_data_random_batch(ctx, d, &rng, B, T, dtype, x, y)
                          : td_data_sequential_batch(ctx, d, &cursor, B, T, dtype, x, y);
    if (st != TD_OK)
        answer_error(ctx);
    else if (save(rest[3], x, (size_t)elements * size) && save(rest[4], y, (size_t)elements * size))
        printf("ok %" PRIu64 "\n", random ? rng.offset : cursor);
    free(x);
    free(y);
}

static void do_rows(td_ctx *ctx, td_data *d, char **w, int n)
{
    bool random = strcmp(w[2], "-") != 0;
    td_rng rng = {random ? strtoull(w[2], NULL, 10) : 0, strtoull(w[3], NULL, 10)};
    uint64_t cursor = strtoull(w[4], NULL, 10);
    int64_t B = strtoll(w[5], NULL, 10);
    td_dtype dtype = dtype_named(w[6]);
    int rank = atoi(w[8]);
    int64_t shape[TD_NPY_MAX_RANK] = {0};
    int64_t per_row = 1; /* capped past PROBE_MAX: such a row gets no buffer */
    for (int i = 0; i < rank && i < TD_NPY_MAX_RANK && 9 + i < n; i++) {
        shape[i] = strtoll(w[9 + i], NULL, 10);
        if (shape[i] >= 0)
            per_row = shape[i] <= PROBE_MAX && per_row <= PROBE_MAX ? per_row * shape[i] : (int64_t)PROBE_MAX + 1;
    }
    size_t size = dtype < TD_DTYPE_COUNT ? td_dtype_size(dtype) : 1;
    int64_t elements = B <= 0 ? 0 : per_row == 0 ? 0 : B <= PROBE_MAX / per_row ? B * per_row : -1;
    void *out = buffer(elements, size);
    if (td_data_rows(ctx, d, random ? &rng : NULL, &cursor, B, dtype, rank, shape, out) != TD_OK)
        answer_error(ctx);
    else if (save(w[7], out, (size_t)elements * size))
        printf("ok %" PRIu64 " %" PRIu64 "\n", rng.offset, cursor);
    free(out);
}

static void run(td_ctx *ctx, char **w, int n)
{
    if (n == 3 && strcmp(w[0], "word") == 0) {
        printf("ok %u\n", td_rng_word(strtoull(w[1], NULL, 10), strtoull(w[2], NULL, 10)));
        return;
    }
    bool open = n == 2 && strcmp(w[0], "open") == 0, random = n == 9 && strcmp(w[0], "random") == 0,
         seq = n == 8 && strcmp(w[0], "seq") == 0, rows = n >= 9 && strcmp(w[0], "rows") == 0 && atoi(w[8]) == n - 9;
    if (!open && !random && !seq && !rows) {
        printf("error probe: bad command\n");
        return;
    }
    td_data *d = NULL;
    if (td_data_open(ctx, w[1], &d) != TD_OK) {
        answer_error(ctx);
        return;
    }
    if (open)
        do_open(ctx, d);
    else if (rows)
        do_rows(ctx, d, w, n);
    else
        do_tokens(ctx, d, w, random);
    td_data_close(d);
}

int main(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    if (!ctx)
        return 1;
    static char line[1 << 16];
    while (fgets(line, sizeof line, stdin)) {
        char *words[16 + TD_NPY_MAX_RANK];
        int n = 0;
        for (char *w = strtok(line, " \n"); w && n < (int)(sizeof words / sizeof words[0]); w = strtok(NULL, " \n"))
            words[n++] = w;
        run(ctx, words, n);
        fflush(stdout);
    }
    td_ctx_free(ctx);
    return 0;
}

/* npy_probe_main.c - td_npy_read and td_npy_write driven from standard
 * input, for tests/runtime/npy_oracle.py, which compiles it with
 * runtime/npy.c, runtime/file_io.c and runtime/ctx.c and checks it against numpy.
 *
 * One command a line, one answer a line, so a single process serves every
 * file (a process per file would cost more than the checks):
 *   read IN RAW                      -> ok DTYPE VERSION RANK D0 D1 ...  (the data to RAW)
 *   write OUT DTYPE RAW RANK D0 ...  -> ok                               (the data from RAW)
 * or `error MESSAGE` with the context's message. Paths hold no spaces. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"

static const char *const NAMES[TD_DTYPE_COUNT] = {"f64", "f32", "f16", "bf16", "f8e4m3",
                                                  "f8e5m2", "i64", "i32", "u16", "bool"};

static void answer_error(td_ctx *ctx, const char *fallback)
{
    printf("error %s\n", td_ctx_error(ctx) ? td_ctx_error(ctx) : fallback);
    td_ctx_clear_error(ctx);
}

static void do_read(td_ctx *ctx, char *in, char *raw)
{
    td_npy npy;
    if (td_npy_read(ctx, in, &npy) != TD_OK) {
        answer_error(ctx, "read failed without a message");
        return;
    }
    FILE *f = fopen(raw, "wb");
    if (!f || fwrite(npy.data, 1, npy.bytes, f) != npy.bytes || fclose(f) != 0) {
        printf("error probe: cannot write %s\n", raw);
    } else {
        printf("ok %s %d %d", NAMES[npy.dtype], npy.version, npy.rank);
        for (int i = 0; i < npy.rank; i++)
            printf(" %lld", (long long)npy.shape[i]);
        printf("\n");
    }
    td_npy_free(&npy);
}

static void do_write(td_ctx *ctx, char *out, char *dtype_name, char *raw, char **dims, int rank)
{
    int dtype = -1;
    for (int i = 0; i < TD_DTYPE_COUNT; i++)
        if (strcmp(NAMES[i], dtype_name) == 0)
            dtype = i;
    int64_t shape[TD_NPY_MAX_RANK];
    for (int i = 0; i < rank && i < TD_NPY_MAX_RANK; i++)
        shape[i] = strtoll(dims[i], NULL, 10);
    FILE *f = fopen(raw, "rb");
    if (dtype < 0 || !f) {
        printf("error probe: unknown dtype %s or no file %s\n", dtype_name, raw);
        if (f)
            fclose(f);
        return;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc(n > 0 ? (size_t)n : 1);
    size_t got = fread(data, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n)
        printf("error probe: short read of %s\n", raw);
    else if (td_npy_write(ctx, out, (td_dtype)dtype, rank, shape, n ? data : NULL) != TD_OK)
        answer_error(ctx, "write failed without a message");
    else
        printf("ok\n");
    free(data);
}

int main(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    if (!ctx)
        return 1;
    static char line[1 << 16];
    while (fgets(line, sizeof line, stdin)) {
        char *words[8 + TD_NPY_MAX_RANK];
        int n = 0;
        for (char *w = strtok(line, " \n"); w && n < (int)(sizeof words / sizeof words[0]); w = strtok(NULL, " \n"))
            words[n++] = w;
        if (n == 3 && strcmp(words[0], "read") == 0)
            do_read(ctx, words[1], words[2]);
        else if (n >= 5 && strcmp(words[0], "write") == 0 && atoi(words[4]) == n - 5)
            do_write(ctx, words[1], words[2], words[3], words + 5, n - 5);
        else
            printf("error probe: bad command\n");
        fflush(stdout);
    }
    td_ctx_free(ctx);
    return 0;
}

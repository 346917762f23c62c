/* gemm_probe_main.c - td_gemm_run driven from standard input, for
 * tests/runtime/gemm_oracle.py, which compiles it with runtime/gemm.c,
 * gemm_shape.c, dtype.c and ctx.c (and -lopenblas) and checks it against
 * numpy.
 *
 * One command a line, one answer a line, so one process serves every case:
 *   gemm DTYPE M N K A_RS A_CS B_RS B_CS C_RS C_CS ALPHA BETA NB
 *        [SIZE A_BS B_BS C_BS]...NB times  A_OFF B_OFF C_OFF  A B C OUT
 * A, B and C are files holding each operand's whole buffer; *_OFF is the
 * element offset of element [0][0] of batch item 0 in it (negative strides
 * reach below). A or B may be `=C`: that operand then lives in C's buffer,
 * for in-place products. The answer is `ok PLAN` (td_gemm_describe) after
 * writing C's buffer to OUT, or `error MESSAGE`. Paths hold no spaces. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"

static const char *const NAMES[TD_DTYPE_COUNT] = {"f64", "f32", "f16", "bf16", "f8e4m3",
                                                  "f8e5m2", "i64", "i32", "u16", "bool"};

/* The whole file, malloc'd (malloc's alignment suits every dtype). */
static void *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = n >= 0 ? (size_t)n : 0;
    return data;
}

static void do_gemm(td_ctx *ctx, char **w, int nw)
{
    td_gemm g;
    memset(&g, 0, sizeof g);
    int dtype = -1;
    for (int i = 0; i < TD_DTYPE_COUNT; i++)
        if (strcmp(NAMES[i], w[1]) == 0)
            dtype = i;
    int nb = nw > 13 ? atoi(w[13]) : -1;
    if (dtype < 0 || nb < 0 || nb > TD_GEMM_MAX_BATCH || nw != 14 + 4 * nb + 7) {
        printf("error probe: bad gemm command\n");
        return;
    }
    g.dtype = (td_dtype)dtype;
    int64_t *ints[] = {&g.m, &g.n, &g.k, &g.a_rs, &g.a_cs, &g.b_rs, &g.b_cs, &g.c_rs, &g.c_cs};
    for (int i = 0; i < 9; i++)
        *ints[i] = strtoll(w[2 + i], NULL, 10);
    g.alpha = strtod(w[11], NULL);
    g.beta = strtod(w[12], NULL);
    g.batch_rank = nb;
    for (int t = 0; t < nb; t++) {
        g.batch[t] = strtoll(w[14 + 4 * t], NULL, 10);
        g.a_bs[t] = strtoll(w[15 + 4 * t], NULL, 10);
        g.b_bs[t] = strtoll(w[16 + 4 * t], NULL, 10);
        g.c_bs[t] = strtoll(w[17 + 4 * t], NULL, 10);
    }
    char **rest = w + 14 + 4 * nb;
    int64_t off[3] = {strtoll(rest[0], NULL, 10), strtoll(rest[1], NULL, 10), strtoll(rest[2], NULL, 10)};
    size_t size[3] = {0, 0, 0};
    char *buf[3] = {NULL, NULL, NULL};
    buf[2] = slurp(rest[5], &size[2]);
    for (int i = 0; i < 2; i++)
        buf[i] = strcmp(rest[3 + i], "=C") == 0 ? buf[2] : slurp(rest[3 + i], &size[i]);
    size_t es = td_dtype_size(g.dtype);
    if (!buf[0] || !buf[1] || !buf[2]) {
        printf("error probe: cannot read an operand\n");
    } else {
        char plan[512];
        const void *a = buf[0] + off[0] * (int64_t)es, *b = buf[1] + off[1] * (int64_t)es;
        void *c = buf[2] + off[2] * (int64_t)es;
        if (td_gemm_describe(ctx, &g, a, b, c, plan, sizeof plan) != TD_OK ||
            td_gemm_run(ctx, &g, a, b, c) != TD_OK) {
            printf("error %s\n", td_ctx_error(ctx) ? td_ctx_error(ctx) : "failed without a message");
            td_ctx_clear_error(ctx);
        } else {
            FILE *f = fopen(rest[6], "wb");
            if (!f || fwrite(buf[2], 1, size[2], f) != size[2] || fclose(f) != 0)
                printf("error probe: cannot write %s\n", rest[6]);
            else
                printf("ok %s\n", plan);
        }
    }
    for (int i = 0; i < 2; i++)
        if (buf[i] != buf[2])
            free(buf[i]);
    free(buf[2]);
}

int main(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    if (!ctx)
        return 1;
    static char line[1 << 16];
    while (fgets(line, sizeof line, stdin)) {
        char *words[64];
        int n = 0;
        for (char *w = strtok(line, " \n"); w && n < 64; w = strtok(NULL, " \n"))
            words[n++] = w;
        if (n > 0 && strcmp(words[0], "gemm") == 0)
            do_gemm(ctx, words, n);
        else
            printf("error probe: bad command\n");
        fflush(stdout);
    }
    td_ctx_free(ctx);
    return 0;
}

/* ctx.c - the runtime context, its error message and checked sizes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "td.h"

enum { TD_ERROR_BYTES = 1024 };

struct td_ctx {
    td_device device;
    bool failed;
    char error[TD_ERROR_BYTES];
};

td_ctx *td_ctx_new(td_device device)
{
    td_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx)
        ctx->device = device;
    return ctx;
}

void td_ctx_free(td_ctx *ctx) { free(ctx); }

const char *td_ctx_error(const td_ctx *ctx) { return ctx->failed ? ctx->error : NULL; }

void td_ctx_clear_error(td_ctx *ctx)
{
    ctx->failed = false;
    ctx->error[0] = 0;
}

td_status td_fail(td_ctx *ctx, td_status status, const char *fmt, ...)
{
    if (!ctx->failed) { /* the first error is the one that explains the rest */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
        va_end(ap);
        ctx->failed = true;
    }
    return status;
}

bool td_mul_size(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }
bool td_add_size(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }

td_status td_shape_elements(td_ctx *ctx, int rank, const int64_t *shape, size_t *elements, const char *what)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0)
            return td_fail(ctx, TD_ERR_INPUT, "%s: axis %d has negative size %lld", what, i, (long long)shape[i]);
        if ((uint64_t)shape[i] > SIZE_MAX || !td_mul_size(n, (size_t)shape[i], &n))
            return td_fail(ctx, TD_ERR_INPUT, "%s: the number of elements overflows at axis %d", what, i);
    }
    *elements = n;
    return TD_OK;
}

double td_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

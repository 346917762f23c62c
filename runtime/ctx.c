/* ctx.c - the runtime context, its error message and note, and checked
 * sizes. The CUDA state (runtime/cuda/loader.c) hangs off the context too,
 * with the function that releases it, so nothing here needs the CUDA files.
 * td_ctx_device, which may ask for the GPU, lives in loader.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "td.h"
#include "ctx_internal.h"

td_ctx *td_ctx_new(td_device device)
{
    td_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx) {
        ctx->device = device;
        ctx->error = ctx->error_small;
    }
    return ctx;
}

void td_ctx_free(td_ctx *ctx)
{
    if (!ctx)
        return;
    if (ctx->cuda_release)
        ctx->cuda_release(ctx->cuda);
    td_ctx_clear_error(ctx);
    free(ctx->note);
    free(ctx);
}

const char *td_ctx_error(const td_ctx *ctx) { return ctx->failed ? ctx->error : NULL; }

td_status td_ctx_error_status(const td_ctx *ctx) { return ctx->failed ? ctx->error_status : TD_OK; }

void td_ctx_clear_error(td_ctx *ctx)
{
    if (ctx->error != ctx->error_small)
        free(ctx->error);
    ctx->error = ctx->error_small;
    ctx->failed = false;
    ctx->error_small[0] = 0;
}

td_status td_fail(td_ctx *ctx, td_status status, const char *fmt, ...)
{
    if (ctx->failed) /* the first error is the one that explains the rest */
        return status;
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int len = vsnprintf(ctx->error_small, sizeof ctx->error_small, fmt, ap);
    va_end(ap);
    if (len >= (int)sizeof ctx->error_small) {
        char *big = malloc((size_t)len + 1);
        if (big) {
            vsnprintf(big, (size_t)len + 1, fmt, again);
            ctx->error = big;
        }
    }
    va_end(again);
    ctx->failed = true;
    ctx->error_status = status;
    return status;
}

const char *td_ctx_note(const td_ctx *ctx) { return ctx->note; }

void td_ctx_set_device(td_ctx *ctx, td_device device)
{
    if (ctx) {
        ctx->device = device;
        ctx->device_auto = false;
    }
}

void td_ctx_set_note(td_ctx *ctx, const char *note)
{
    free(ctx->note);
    ctx->note = note ? strdup(note) : NULL;
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

/* test_ctx.c - the context's error message and checked sizes. */
#include <stdint.h>
#include <string.h>

#include "td.h"
#include "test.h"

void test_ctx(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    CHECK(ctx != NULL, "td_ctx_new");
    CHECK(td_ctx_error(ctx) == NULL, "a new context has no error");
    CHECK(td_fail(ctx, TD_ERR_INPUT, "first %d", 1) == TD_ERR_INPUT, "td_fail returns its status");
    td_fail(ctx, TD_ERR_IO, "second");
    CHECK(td_ctx_error(ctx) && strcmp(td_ctx_error(ctx), "first 1") == 0, "the first error is kept, got '%s'",
          td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_ctx_error(ctx) == NULL, "cleared");

    size_t n;
    CHECK(td_mul_size(1u << 20, 1u << 20, &n) && n == (size_t)1 << 40, "2^20 * 2^20");
    CHECK(!td_mul_size(SIZE_MAX / 2 + 1, 2, &n), "SIZE_MAX overflow is caught");
    CHECK(!td_add_size(SIZE_MAX, 1, &n), "addition overflow is caught");

    int64_t ok_shape[3] = {4, 8, 16};
    CHECK(td_shape_elements(ctx, 3, ok_shape, &n, "x") == TD_OK && n == 512, "4*8*16 = 512");
    CHECK(td_shape_elements(ctx, 0, ok_shape, &n, "x") == TD_OK && n == 1, "a scalar has one element");
    int64_t big[3] = {INT64_MAX, INT64_MAX, 2};
    CHECK(td_shape_elements(ctx, 3, big, &n, "x") == TD_ERR_INPUT, "overflowing shape");
    CHECK(td_ctx_error(ctx) && strstr(td_ctx_error(ctx), "overflows at axis 1"), "message names the axis: '%s'",
          td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    int64_t neg[2] = {3, -1};
    CHECK(td_shape_elements(ctx, 2, neg, &n, "y") == TD_ERR_INPUT && strstr(td_ctx_error(ctx), "negative"),
          "negative size");
    td_ctx_free(ctx);
}

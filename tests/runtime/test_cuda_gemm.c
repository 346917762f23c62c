/* test_cuda_gemm.c - td_cuda_gemm_run (runtime/cuda/gemm.c).
 *
 * Without a GPU, what needs none: every descriptor check (TD_ERR_INPUT
 * before the GPU is asked for, with td_gemm_run's messages; a valid
 * descriptor then fails with TD_ERR_DEVICE and td_cuda_available's reason),
 * the routes td_cuda_gemm_describe reports for the layouts that matter
 * (cuBLAS's operation flags and leading dimensions, batch axes folded into
 * m, collapsed into one strided batch or looped on the host, the generic
 * kernel for the rest), and the generic kernel's source compiling through
 * NVRTC in strict mode. With a GPU: random descriptors in every dtype and
 * layout (transposed, padded, without a unit stride, flipped, broadcast
 * batch axes, alpha and beta, k == 0, C overlapping A), each uploaded, run
 * and downloaded, against td_gemm_run on the CPU on the same data; the
 * whole of C's buffer is compared, so elements outside the view must come
 * back untouched. Tolerances are at the comparison (compare_c). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx_internal.h"
#include "cuda/cuda_internal.h"
#include "../cuda/ptx_waits.h"
#include "td.h"
#include "test.h"
#include "test_fixture.h"

enum { MAXB = TD_GEMM_MAX_BATCH };

/* Device addresses for the checks that need no GPU: never dereferenced. */
static const td_dptr FAKE_A = 0x10000000, FAKE_B = 0x20000000, FAKE_C = 0x30000000;
static const td_dptr FAR_C = 0x100000000000; /* past operands of many GiB at FAKE_A */

static bool contains(const char *s, const char *part) { return s && part && strstr(s, part); }

/* ---- without a GPU: the checks ---- */

static void expect_bad(td_ctx *ctx, const char *label, const td_gemm *g, td_dptr a, td_dptr b, td_dptr c,
                       const char *message)
{
    td_ctx_clear_error(ctx);
    td_status st = td_cuda_gemm_run(ctx, g, a, b, c);
    test_expect_input_error(ctx, st, "td_cuda_gemm: ", label, message);
}

static void test_checks(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    td_gemm ok = td_gemm_rowmajor(TD_F32, 3, 4, 5), g;
    CHECK(td_cuda_gemm_run(NULL, &ok, FAKE_A, FAKE_B, FAKE_C) == TD_ERR_INPUT, "a NULL context");
    expect_bad(ctx, "no descriptor", NULL, FAKE_A, FAKE_B, FAKE_C, "the descriptor is NULL");
    g = ok, g.dtype = TD_BOOL;
    expect_bad(ctx, "bool", &g, FAKE_A, FAKE_B, FAKE_C, "dtype bool has no matrix product");
    g = ok, g.dtype = (td_dtype)99;
    expect_bad(ctx, "dtype 99", &g, FAKE_A, FAKE_B, FAKE_C, "unknown dtype 99");
    g = ok, g.m = -1;
    expect_bad(ctx, "m < 0", &g, FAKE_A, FAKE_B, FAKE_C, "m = -1 is negative");
    g = ok, g.k = -7;
    expect_bad(ctx, "k < 0", &g, FAKE_A, FAKE_B, FAKE_C, "k = -7 is negative");
    g = ok, g.batch_rank = MAXB + 1;
    expect_bad(ctx, "batch_rank 9", &g, FAKE_A, FAKE_B, FAKE_C, "batch_rank = 9 is not in 0..8");
    g = ok, g.batch_rank = 1, g.batch[0] = -2;
    expect_bad(ctx, "batch < 0", &g, FAKE_A, FAKE_B, FAKE_C, "batch axis 0 has negative size -2");
    g = ok, g.alpha = INFINITY;
    expect_bad(ctx, "alpha inf", &g, FAKE_A, FAKE_B, FAKE_C, "alpha = inf is not finite");
    g = ok, g.beta = NAN;
    expect_bad(ctx, "beta nan", &g, FAKE_A, FAKE_B, FAKE_C, "beta = nan is not finite");
    g = ok, g.dtype = TD_I32, g.beta = 0.5;
    expect_bad(ctx, "i32 beta 0.5", &g, FAKE_A, FAKE_B, FAKE_C,
               "beta = 0.5 is not an integer in i64's range, as i32 needs");
    g = ok, g.dtype = TD_U16, g.alpha = 0x1p63;
    expect_bad(ctx, "u16 alpha 2^63", &g, FAKE_A, FAKE_B, FAKE_C, "alpha = 9.22337e+18 is not an integer");
    expect_bad(ctx, "A = 0", &ok, 0, FAKE_B, FAKE_C, "A is NULL but has elements");
    expect_bad(ctx, "B misaligned", &ok, FAKE_A, FAKE_B + 2, FAKE_C, "B is not aligned to its 4-byte f32 elements");
    g = ok, g.dtype = TD_F64;
    expect_bad(ctx, "C misaligned", &g, FAKE_A, FAKE_B, FAKE_C + 4, "C is not aligned to its 8-byte f64 elements");
    g = ok, g.c_rs = 0;
    expect_bad(ctx, "C rows on one address", &g, FAKE_A, FAKE_B, FAKE_C,
               "C overlaps itself: its row axis (size 3, stride 0) lands on elements");
    g = ok, g.batch_rank = 2, g.batch[0] = 2, g.batch[1] = 3, g.c_bs[0] = 12, g.c_bs[1] = 12;
    expect_bad(ctx, "C batch axes on one address", &g, FAKE_A, FAKE_B, FAKE_C, "C overlaps itself: its batch axis");
    g = ok, g.a_rs = INT64_MAX / 2;
    expect_bad(ctx, "A's offsets overflow", &g, FAKE_A, FAKE_B, FAKE_C,
               "A's offsets overflow: its sizes times strides span more than PTRDIFF_MAX bytes");
    g = ok, g.batch_rank = 1, g.batch[0] = 1 << 20, g.b_bs[0] = INT64_MAX / 4;
    expect_bad(ctx, "B's batch offsets overflow", &g, FAKE_A, FAKE_B, FAKE_C, "B's offsets overflow");

    /* an empty operand needs no address, and an empty C no GPU */
    g = ok, g.m = 0;
    CHECK(td_cuda_gemm_run(ctx, &g, 0, FAKE_B, 0) == TD_OK && !td_ctx_error(ctx), "m = 0 does nothing: %s",
          td_ctx_error(ctx));
    g = ok, g.batch_rank = 3, g.batch[0] = 2, g.batch[1] = 0, g.batch[2] = 5;
    CHECK(td_cuda_gemm_run(ctx, &g, FAKE_A, FAKE_B, FAKE_C) == TD_OK && !td_ctx_error(ctx),
          "a batch axis of 0 does nothing: %s", td_ctx_error(ctx));
    g = ok, g.dtype = TD_BOOL, g.n = 0;
    expect_bad(ctx, "bool is refused even when empty", &g, FAKE_A, FAKE_B, FAKE_C, "dtype bool");

    char why[512];
    if (!td_cuda_available(ctx, why, sizeof why)) {
        td_status st = td_cuda_gemm_run(ctx, &ok, FAKE_A, FAKE_B, FAKE_C);
        CHECK(st == TD_ERR_DEVICE && td_ctx_error(ctx) && strcmp(td_ctx_error(ctx), why) == 0,
              "a valid descriptor without a GPU: TD_ERR_DEVICE with td_cuda_available's reason ('%s' vs '%s')",
              td_ctx_error(ctx), why);
        td_ctx_clear_error(ctx);
        g = ok, g.k = 0, g.a_rs = 0;
        CHECK(td_cuda_gemm_run(ctx, &g, 0, 0, FAKE_C) == TD_ERR_DEVICE, "k = 0 still writes C: it needs the GPU");
        td_ctx_clear_error(ctx);
    }

    char buf[8];
    CHECK(td_cuda_gemm_describe(ctx, &ok, FAKE_A, FAKE_B, FAKE_C, NULL, 0) == TD_ERR_INPUT &&
              contains(td_ctx_error(ctx), "the buffer is NULL or empty"),
          "describe needs a buffer: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    g = ok, g.m = -1;
    CHECK(td_cuda_gemm_describe(ctx, &g, FAKE_A, FAKE_B, FAKE_C, buf, sizeof buf) == TD_ERR_INPUT &&
              contains(td_ctx_error(ctx), "m = -1 is negative") && buf[0] == 0,
          "describe checks as run does: %s", td_ctx_error(ctx));
    td_ctx_free(ctx);
}

/* ---- without a GPU: the routes ---- */

static void expect_plan(td_ctx *ctx, const char *label, const td_gemm *g, td_dptr a, td_dptr b, td_dptr c,
                        const char *want)
{
    char got[400];
    td_status st = td_cuda_gemm_describe(ctx, g, a, b, c, got, sizeof got);
    CHECK(st == TD_OK && strcmp(got, want) == 0, "%s: plan\n    '%s', expected\n    '%s' (%s)", label, got, want,
          td_ctx_error(ctx) ? td_ctx_error(ctx) : "");
    td_ctx_clear_error(ctx);
}

/* A batch of `count` items of a rows x cols row-major matrix each, contiguous. */
static void batched(td_gemm *g, int axis, int64_t count, int64_t a_step, int64_t b_step, int64_t c_step)
{
    g->batch[axis] = count;
    g->a_bs[axis] = a_step, g->b_bs[axis] = b_step, g->c_bs[axis] = c_step;
}

static void test_plans(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    td_cuda_small_products(ctx, false); /* these small shapes stand for large ones: test_small_plans */
    td_gemm rm = td_gemm_rowmajor(TD_F32, 3, 4, 5), g;
    /* row-major C = A B is column-major C^T = B^T A^T: no transposes */
    expect_plan(ctx, "row-major", &rm, FAKE_A, FAKE_B, FAKE_C, "cublas f32 32F: NN 4x3x5; B ld=4, A ld=5, C ld=4");
    g = rm, g.a_rs = 1, g.a_cs = 3;
    expect_plan(ctx, "A stored transposed", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F: NT 4x3x5; B ld=4, A ld=3, C ld=4");
    g = rm, g.b_rs = 1, g.b_cs = 7;
    expect_plan(ctx, "B stored transposed, padded", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F: TN 4x3x5; B ld=7, A ld=5, C ld=4");
    g = rm, g.a_rs = 8, g.c_rs = 6;
    expect_plan(ctx, "padded rows", &g, FAKE_A, FAKE_B, FAKE_C, "cublas f32 32F: NN 4x3x5; B ld=4, A ld=8, C ld=6");
    g = rm, g.c_rs = 1, g.c_cs = 3;
    expect_plan(ctx, "C column-major: C = A B as it is", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F: TT 3x4x5; A^T ld=5, B^T ld=4, C^T ld=3");
    g = rm, g.c_rs = 1, g.c_cs = 3, g.a_rs = 1, g.a_cs = 3, g.b_rs = 1, g.b_cs = 5;
    expect_plan(ctx, "everything column-major", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F: NN 3x4x5; A^T ld=3, B^T ld=5, C^T ld=3");
    g = rm, g.m = 1, g.a_rs = 12345;
    expect_plan(ctx, "the stride of a size-1 axis is unused", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F: NN 4x1x5; B ld=4, A ld=5, C ld=4");

    g = rm, g.dtype = TD_F64;
    expect_plan(ctx, "f64", &g, FAKE_A, FAKE_B, FAKE_C, "cublas f64 64F: NN 4x3x5; B ld=4, A ld=5, C ld=4");
    g = rm, g.dtype = TD_F16;
    expect_plan(ctx, "f16", &g, FAKE_A, FAKE_B, FAKE_C, "cublas f16 32F: NN 4x3x5; B ld=4, A ld=5, C ld=4");
    g = rm, g.dtype = TD_BF16;
    expect_plan(ctx, "bf16", &g, FAKE_A, FAKE_B, FAKE_C, "cublas bf16 32F: NN 4x3x5; B ld=4, A ld=5, C ld=4");
    g.c_f32 = true;
    expect_plan(ctx, "bf16 to f32", &g, FAKE_A, FAKE_B, FAKE_C, "cublas bf16 to f32 32F: NN 4x3x5; B ld=4, A ld=5, C ld=4");
    g.c_rs = 8, g.c_cs = 2;
    expect_plan(ctx, "bf16 to f32, C without a unit stride", &g, FAKE_A, FAKE_B, FAKE_C, "kernel bf16 to f32 1 x 3x4x5");
    g = rm, g.dtype = TD_F16, g.c_f32 = true;
    expect_plan(ctx, "f16 to f32", &g, FAKE_A, FAKE_B, FAKE_C, "cublas f16 to f32 32F: NN 4x3x5; B ld=4, A ld=5, C ld=4");
    g = rm, g.dtype = TD_BF16;
    td_cuda_allow_tf32(ctx, true);
    expect_plan(ctx, "f32 with TF32 allowed", &rm, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F_FAST_TF32: NN 4x3x5; B ld=4, A ld=5, C ld=4");
    expect_plan(ctx, "TF32 is for f32 only", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas bf16 32F: NN 4x3x5; B ld=4, A ld=5, C ld=4");
    td_cuda_allow_tf32(ctx, false);
    expect_plan(ctx, "TF32 off again", &rm, FAKE_A, FAKE_B, FAKE_C, "cublas f32 32F: NN 4x3x5; B ld=4, A ld=5, C ld=4");

    /* what cuBLAS cannot take */
    static const td_dtype kernel_dtypes[] = {TD_F8E4M3, TD_F8E5M2, TD_I64, TD_I32, TD_U16};
    for (size_t i = 0; i < sizeof kernel_dtypes / sizeof kernel_dtypes[0]; i++) {
        g = rm, g.dtype = kernel_dtypes[i];
        char want[64], label[64];
        snprintf(want, sizeof want, "kernel %s 1 x 3x4x5", td_dtype_name(g.dtype));
        snprintf(label, sizeof label, "%s takes the kernel", td_dtype_name(g.dtype));
        expect_plan(ctx, label, &g, FAKE_A, FAKE_B, FAKE_C, want);
    }
    g = rm, g.a_rs = 11, g.a_cs = 2;
    expect_plan(ctx, "A without a unit stride", &g, FAKE_A, FAKE_B, FAKE_C, "kernel f32 1 x 3x4x5");
    g = rm, g.a_rs = 2, g.a_cs = 1;
    expect_plan(ctx, "A's rows closer than a row (ld < k)", &g, FAKE_A, FAKE_B, FAKE_C, "kernel f32 1 x 3x4x5");
    g = rm, g.b_rs = -4, g.b_cs = 1;
    expect_plan(ctx, "B flipped (negative ld)", &g, FAKE_A, FAKE_B + 64, FAKE_C, "kernel f32 1 x 3x4x5");
    g = rm, g.c_rs = 8, g.c_cs = 2;
    expect_plan(ctx, "C without a unit stride", &g, FAKE_A, FAKE_B, FAKE_C, "kernel f32 1 x 3x4x5");
    g = rm, g.c_rs = 2, g.c_cs = 6;
    expect_plan(ctx, "the kernel walks C's smaller stride fastest", &g, FAKE_A, FAKE_B, FAKE_C,
                "kernel f32 1 x 4x3x5 as C^T = B^T A^T");
    g = rm, g.a_rs = (int64_t)1 << 31;
    expect_plan(ctx, "a leading dimension past INT_MAX", &g, FAKE_A, FAKE_B, FAR_C, "kernel f32 1 x 3x4x5");
    g = td_gemm_rowmajor(TD_F32, (int64_t)1 << 31, 1, 1);
    expect_plan(ctx, "m past INT_MAX (the CPU refuses it)", &g, FAKE_A, FAR_C, 2 * FAR_C,
                "kernel f32 1 x 1x2147483648x1 as C^T = B^T A^T");

    /* k == 0 or alpha == 0: C = beta C, by the kernel, A and B unread */
    g = td_gemm_rowmajor(TD_F32, 3, 4, 0), g.beta = 2;
    expect_plan(ctx, "k = 0", &g, 0, 0, FAKE_C, "kernel f32 1 x 3x4x0: C = beta C");
    g = rm, g.alpha = 0;
    expect_plan(ctx, "alpha = 0, beta = 0", &g, FAKE_A, FAKE_B, FAKE_C, "kernel f32 1 x 3x4x5: C = 0");
    g = rm, g.m = 0;
    expect_plan(ctx, "m = 0", &g, 0, FAKE_B, 0, "none: C is empty");

    /* batches: x @ W with x (6, 3, 5) and W broadcast is one 18 x 5 x 4 product */
    g = rm, g.batch_rank = 1;
    batched(&g, 0, 6, 15, 0, 12);
    expect_plan(ctx, "x @ W folds into m", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F: NN 4x18x5; B ld=4, A ld=5, C ld=4");
    g = rm, g.batch_rank = 1;
    batched(&g, 0, 6, 0, 4, 4);
    g.b_rs = 24, g.c_rs = 24; /* B (5, 6, 4) and C (3, 6, 4): items side by side */
    expect_plan(ctx, "A broadcast, B's and C's items side by side: folds into n", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F: NN 24x3x5; B ld=24, A ld=5, C ld=24");
    /* (2, 3) heads, contiguous: one strided batch of 6 */
    g = rm, g.batch_rank = 2;
    batched(&g, 0, 2, 45, 60, 36);
    batched(&g, 1, 3, 15, 20, 12);
    expect_plan(ctx, "chained batch axes collapse", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F: NN 4x3x5; B ld=4, A ld=5, C ld=4; batch 6 strides 20 15 12");
    g = rm, g.batch_rank = 2;
    batched(&g, 0, 2, 15, 20, 36);
    batched(&g, 1, 3, 30, 40, 12);
    expect_plan(ctx, "unchained axes: the largest is strided, the host loops the other", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F: NN 4x3x5; B ld=4, A ld=5, C ld=4; batch 3 strides 40 30 12; 2 calls");
    g = rm, g.batch_rank = 2;
    batched(&g, 0, 4, 16, 0, 12); /* A's items padded: no fold into m */
    batched(&g, 1, 3, 64, 20, 48);
    expect_plan(ctx, "a broadcast axis that cannot fold is strided with stride 0", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F: NN 4x3x5; B ld=4, A ld=5, C ld=4; batch 4 strides 0 16 12; 3 calls");
    g.a_bs[0] = 15, g.a_bs[1] = 60;
    expect_plan(ctx, "unpadded, the same folds into m", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F: NN 4x12x5; B ld=4, A ld=5, C ld=4; batch 3 strides 20 60 48");
    g = rm, g.batch_rank = 3;
    batched(&g, 0, 1, 999, 999, 999);
    batched(&g, 1, 3, -15, 20, 12);
    batched(&g, 2, 1, 7, 7, 7);
    expect_plan(ctx, "size-1 axes go; a negative batch stride is looped on the host", &g, FAKE_A + 4096, FAKE_B,
                FAKE_C, "cublas f32 32F: NN 4x3x5; B ld=4, A ld=5, C ld=4; 3 calls");

    /* C overlapping an input: that input is copied first */
    g = td_gemm_rowmajor(TD_F32, 3, 4, 4);
    expect_plan(ctx, "C = A B in place", &g, FAKE_A, FAKE_B, FAKE_A,
                "cublas f32 32F: NN 4x3x4; B ld=4, A ld=4, C ld=4; copies A first (C overlaps it)");
    g.dtype = TD_I32;
    expect_plan(ctx, "an integer product in place", &g, FAKE_A, FAKE_A + 8, FAKE_A + 4,
                "kernel i32 1 x 3x4x4; copies A and B first (C overlaps them)");
    g = td_gemm_rowmajor(TD_F32, 3, 4, 0), g.beta = 3;
    expect_plan(ctx, "k = 0 reads no input, so copies none", &g, FAKE_C, FAKE_C, FAKE_C,
                "kernel f32 1 x 3x4x0: C = beta C");
    td_ctx_free(ctx);
}

/* ---- without a GPU: the kernel compiles ---- */

static void test_kernel_source(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_blob ptx = {0};
    td_status st = td_nvrtc_compile_flags(ctx, "td_gemm_fallback", td_cuda_gemm_kernel_source(), "compute_90",
                                          TD_NVRTC_STRICT | TD_NVRTC_NO_CACHE, &ptx);
    if (st != TD_OK && contains(td_ctx_error(ctx), "cannot load NVRTC")) {
        printf("skipped: GPU gemm kernel compile: %s\n", td_ctx_error(ctx));
        td_ctx_free(ctx);
        return;
    }
    CHECK(st == TD_OK && ptx.data, "the generic kernel compiles for compute_90 without a warning: %s",
          td_ctx_error(ctx));
    static const char *const names[] = {"f64", "f32", "f16", "bf16", "f8e4m3", "f8e5m2", "i64", "i32", "u16"};
    for (size_t i = 0; st == TD_OK && i < sizeof names / sizeof names[0]; i++) {
        char entry[64];
        snprintf(entry, sizeof entry, ".entry tdg_gemm_%s(", names[i]);
        CHECK(contains(ptx.data, entry), "the PTX has %s", entry);
    }
    char no_wait[256] = "";
    CHECK(st == TD_OK && ptx_entries_wait(ptx.data, no_wait, sizeof no_wait),
          "each kernel waits for the one before it before touching memory (a dependent launch): %s", no_wait);
    td_blob_free(&ptx);
    /* 27 kernels, gemm.c's KERNEL_COUNT: 2 s of NVRTC as one program, a tenth of that in the largest of 16 */
    test_module_parts(ctx, "td_gemm_fallback", td_cuda_gemm_kernel_source(), 0, NULL, 27);
    td_ctx_free(ctx);
}

/* ---- on a GPU: against the CPU ---- */

typedef struct rng64 {
    uint64_t s;
} rng64;

static uint64_t next_u64(rng64 *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static int64_t uniform_int(rng64 *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(next_u64(r) % (uint64_t)(hi - lo + 1));
}
static double uniform01(rng64 *r) { return (double)(next_u64(r) >> 11) * 0x1p-53; }
static bool chance(rng64 *r, double p) { return uniform01(r) < p; }

/* A random element: floats in [-2, 2) rounded to the dtype, integers over
 * their whole range (so products and sums wrap). */
static void fill_random(void *buf, td_dtype t, int64_t count, rng64 *r)
{
    for (int64_t i = 0; i < count; i++) {
        float f = (float)(uniform01(r) * 4 - 2);
        uint64_t u = next_u64(r);
        switch (t) {
        case TD_F64: ((double *)buf)[i] = uniform01(r) * 4 - 2; break;
        case TD_F32: ((float *)buf)[i] = f; break;
        case TD_F16: ((uint16_t *)buf)[i] = td_f32_to_f16(f); break;
        case TD_BF16: ((uint16_t *)buf)[i] = td_f32_to_bf16(f); break;
        case TD_F8E4M3: ((uint8_t *)buf)[i] = td_f32_to_f8e4m3(f); break;
        case TD_F8E5M2: ((uint8_t *)buf)[i] = td_f32_to_f8e5m2(f); break;
        case TD_I64: memcpy((int64_t *)buf + i, &u, 8); break;
        case TD_I32: ((uint32_t *)buf)[i] = (uint32_t)u; break;
        default: ((uint16_t *)buf)[i] = (uint16_t)u; break;
        }
    }
}

/* NaN in every float element (C with beta == 0 must not be read). */
static void fill_nan(void *buf, td_dtype t, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        switch (t) {
        case TD_F64: ((double *)buf)[i] = NAN; break;
        case TD_F32: ((float *)buf)[i] = NAN; break;
        case TD_F16: ((uint16_t *)buf)[i] = 0x7e00; break;
        case TD_BF16: ((uint16_t *)buf)[i] = 0x7fc0; break;
        case TD_F8E4M3: ((uint8_t *)buf)[i] = 0x7f; break;
        case TD_F8E5M2: ((uint8_t *)buf)[i] = 0x7e; break;
        default: break;
        }
}

/* One operand's buffer and strides: element [t...][i][j] at base + sum
 * index * stride (batch axes, then rows, then columns). */
typedef struct layout {
    int64_t base, size;
    int64_t stride[MAXB + 2];
} layout;

enum { STYLE_ROW, STYLE_TRANSPOSED, STYLE_SHUFFLED, STYLE_GENERAL, STYLE_FLIPPED, STYLE_COUNT };
static const char *const STYLE_NAMES[STYLE_COUNT] = {"row-major", "transposed", "shuffled+padded",
                                                     "general (no unit stride)", "flipped"};

/* A dense buffer holding the axes in some order: STYLE_ROW in the logical
 * order, STYLE_TRANSPOSED with rows and columns exchanged, the others in a
 * random order with padding; STYLE_GENERAL steps 2 elements innermost;
 * STYLE_FLIPPED runs some axes backwards. Broadcast axes get stride 0. */
static layout make_layout(rng64 *r, int style, int naxes, const int64_t *sizes, const bool *broadcast)
{
    layout l = {0, 1, {0}};
    int order[MAXB + 2]; /* outermost first */
    for (int i = 0; i < naxes; i++)
        order[i] = i;
    if (style == STYLE_TRANSPOSED) {
        order[naxes - 2] = naxes - 1, order[naxes - 1] = naxes - 2;
    } else if (style >= STYLE_SHUFFLED) {
        for (int i = naxes - 1; i > 0; i--) {
            int j = (int)uniform_int(r, 0, i), t = order[i];
            order[i] = order[j], order[j] = t;
        }
    }
    int64_t step = style == STYLE_GENERAL ? 2 : 1;
    for (int i = naxes - 1; i >= 0; i--) {
        int ax = order[i];
        if (broadcast[ax])
            continue;
        int64_t pad = style >= STYLE_SHUFFLED && chance(r, 0.4) ? uniform_int(r, 1, 3) : 0;
        int64_t extent = (sizes[ax] > 0 ? sizes[ax] : 1) + pad;
        l.stride[ax] = step;
        if (style == STYLE_FLIPPED && chance(r, 0.5)) {
            l.stride[ax] = -step;
            l.base += (extent - 1) * step;
        }
        step *= extent;
    }
    l.size = step;
    return l;
}

/* A product to run: the descriptor and its operands' layouts; c_is_a puts
 * C in A's buffer (C = A B in place). */
typedef struct gemm_case {
    td_gemm g;
    layout la, lb, lc;
    bool c_is_a;
    char label[256];
} gemm_case;

/* The tolerance of one element of C, relative to the largest sum it could
 * be (|alpha| sum |a||b| + |beta c|): f64 1e-12 and f32 1e-5 (the sums'
 * order differs between cuBLAS, the kernel and OpenBLAS); the narrow
 * floats, computed in f32 and rounded once on both sides, may round to
 * neighbours: two ulps of their precision, plus their smallest subnormal;
 * TF32 rounds the inputs to 11 significant bits: 2^-8. Integers are exact. */
static double tolerance(td_dtype t, bool tf32, double magnitude)
{
    switch (t) {
    case TD_F64: return 1e-12 * magnitude;
    case TD_F32: return (tf32 ? 0x1p-8 : 1e-5) * magnitude;
    case TD_F16: return 0x1p-9 * magnitude + 0x1p-24;
    case TD_BF16: return 0x1p-6 * magnitude + 0x1p-133;
    case TD_F8E4M3: return 0x1p-2 * magnitude + 0x1p-9;
    case TD_F8E5M2: return 0x1p-1 * magnitude + 0x1p-16;
    default: return 0;
    }
}

/* Fills tol[e] for every element e of C's buffer inside the view; the rest
 * stay -1 (must be untouched: compared bit for bit). a, b and c are the
 * inputs as uploaded. */
static void c_tolerances(const gemm_case *cs, const void *a, const void *b, const void *c, bool tf32, double *tol)
{
    const td_gemm *g = &cs->g;
    for (int64_t e = 0; e < cs->lc.size; e++)
        tol[e] = -1;
    int64_t items = 1, idx[MAXB] = {0};
    for (int t = 0; t < g->batch_rank; t++)
        items *= g->batch[t];
    bool scale_only = g->k == 0 || g->alpha == 0;
    for (int64_t it = 0; it < items; it++) {
        int64_t oa = cs->la.base, ob = cs->lb.base, oc = cs->lc.base;
        for (int t = 0; t < g->batch_rank; t++)
            oa += idx[t] * g->a_bs[t], ob += idx[t] * g->b_bs[t], oc += idx[t] * g->c_bs[t];
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t j = 0; j < g->n; j++) {
                double sum = 0;
                for (int64_t p = 0; !scale_only && p < g->k; p++)
                    sum += fabs(test_element(a, g->dtype, oa + i * g->a_rs + p * g->a_cs) *
                                test_element(b, g->dtype, ob + p * g->b_rs + j * g->b_cs));
                int64_t e = oc + i * g->c_rs + j * g->c_cs;
                double magnitude = fabs(g->alpha) * sum + (g->beta != 0 ? fabs(g->beta * test_element(c, g->dtype, e)) : 0);
                tol[e] = tolerance(g->dtype, tf32, magnitude);
            }
        for (int t = g->batch_rank - 1; t >= 0; t--) {
            if (++idx[t] < g->batch[t])
                break;
            idx[t] = 0;
        }
    }
}

/* The GPU's C against the CPU's: within tol inside the view, identical
 * bytes outside it. Returns the number of elements that differ; the first
 * goes to *where. */
static int64_t compare_c(const void *gpu, const void *cpu, td_dtype t, const double *tol, int64_t size, int64_t *where)
{
    size_t es = td_dtype_size(t);
    int64_t bad = 0;
    for (int64_t e = 0; e < size; e++) {
        bool ok;
        if (tol[e] < 0) {
            ok = memcmp((const char *)gpu + e * (int64_t)es, (const char *)cpu + e * (int64_t)es, es) == 0;
        } else {
            double x = test_element(gpu, t, e), y = test_element(cpu, t, e);
            ok = td_dtype_is_float(t) ? fabs(x - y) <= tol[e] || (isnan(x) && isnan(y))
                                      : memcmp((const char *)gpu + e * (int64_t)es, (const char *)cpu + e * (int64_t)es,
                                               es) == 0;
        }
        if (!ok && bad++ == 0)
            *where = e;
    }
    return bad;
}

/* Uploads the case's random operands, runs it on the GPU and on the CPU and
 * compares C. */
static void run_case(td_ctx *ctx, td_ctx *cpu, rng64 *r, const gemm_case *cs, bool tf32)
{
    const td_gemm *g = &cs->g;
    size_t es = td_dtype_size(g->dtype);
    const layout *lc = cs->c_is_a ? &cs->la : &cs->lc;
    size_t a_bytes = (size_t)cs->la.size * es, b_bytes = (size_t)cs->lb.size * es, c_bytes = (size_t)lc->size * es;
    void *ha = malloc(a_bytes), *hb = malloc(b_bytes), *hc = malloc(c_bytes), *cpu_c = malloc(c_bytes);
    void *gpu_c = malloc(c_bytes);
    double *tol = malloc((size_t)lc->size * sizeof *tol);
    td_dptr da = 0, db = 0, dc = 0;
    if (!ha || !hb || !hc || !cpu_c || !gpu_c || !tol) {
        CHECK(false, "%s: out of host memory", cs->label);
        goto done;
    }
    fill_random(ha, g->dtype, cs->la.size, r);
    fill_random(hb, g->dtype, cs->lb.size, r);
    fill_random(hc, g->dtype, lc->size, r);
    if (cs->c_is_a)
        memcpy(hc, ha, c_bytes);
    else if (g->beta == 0 && chance(r, 0.7))
        fill_nan(hc, g->dtype, lc->size);
    memcpy(cpu_c, hc, c_bytes);

    td_status st = td_cuda_alloc(ctx, a_bytes, "A", &da);
    if (!st)
        st = td_cuda_alloc(ctx, b_bytes, "B", &db);
    if (!st && !cs->c_is_a)
        st = td_cuda_alloc(ctx, c_bytes, "C", &dc);
    if (cs->c_is_a)
        dc = da;
    if (!st)
        st = td_cuda_upload(ctx, da, ha, a_bytes);
    if (!st)
        st = td_cuda_upload(ctx, db, hb, b_bytes);
    if (!st && !cs->c_is_a)
        st = td_cuda_upload(ctx, dc, hc, c_bytes);
    if (!st)
        st = td_cuda_gemm_run(ctx, g, da + (uint64_t)(cs->la.base * (int64_t)es),
                              db + (uint64_t)(cs->lb.base * (int64_t)es), dc + (uint64_t)(lc->base * (int64_t)es));
    if (!st)
        st = td_cuda_download(ctx, gpu_c, dc, c_bytes);
    CHECK(st == TD_OK, "%s: on the GPU: %s", cs->label, td_ctx_error(ctx));
    td_ctx_clear_error(ctx);

    /* the CPU on the same data: with c_is_a, A is C's buffer there too */
    const char *cpu_a = cs->c_is_a ? cpu_c : ha;
    td_status cst = td_gemm_run(cpu, g, cpu_a + cs->la.base * (int64_t)es, (const char *)hb + cs->lb.base * (int64_t)es,
                                (char *)cpu_c + lc->base * (int64_t)es);
    CHECK(cst == TD_OK, "%s: on the CPU: %s", cs->label, td_ctx_error(cpu));
    td_ctx_clear_error(cpu);
    if (st || cst)
        goto done;
    c_tolerances(cs, ha, hb, hc, tf32, tol);
    int64_t where = -1, bad = compare_c(gpu_c, cpu_c, g->dtype, tol, lc->size, &where);
    CHECK(bad == 0, "%s: %lld of %lld elements of C's buffer differ; the first, [%lld], GPU %.17g, CPU %.17g, %s %g",
          cs->label, (long long)bad, (long long)lc->size, (long long)where, test_element(gpu_c, g->dtype, where),
          test_element(cpu_c, g->dtype, where), tol[where] < 0 ? "outside the view (must be untouched)," : "tolerance",
          tol[where]);
done:
    td_cuda_free(ctx, da);
    td_cuda_free(ctx, db);
    if (!cs->c_is_a)
        td_cuda_free(ctx, dc);
    free(ha);
    free(hb);
    free(hc);
    free(cpu_c);
    free(gpu_c);
    free(tol);
}

/* Puts the layouts' strides into the descriptor. */
static void apply_layouts(gemm_case *cs)
{
    td_gemm *g = &cs->g;
    int nb = g->batch_rank;
    for (int t = 0; t < nb; t++)
        g->a_bs[t] = cs->la.stride[t], g->b_bs[t] = cs->lb.stride[t], g->c_bs[t] = cs->lc.stride[t];
    g->a_rs = cs->la.stride[nb], g->a_cs = cs->la.stride[nb + 1];
    g->b_rs = cs->lb.stride[nb], g->b_cs = cs->lb.stride[nb + 1];
    g->c_rs = cs->lc.stride[nb], g->c_cs = cs->lc.stride[nb + 1];
}

static int64_t random_size(rng64 *r, td_dtype t, bool reduction)
{
    if (chance(r, 0.04))
        return 0;
    bool narrow8 = t == TD_F8E4M3 || t == TD_F8E5M2;
    if (reduction && narrow8) /* keep f8e4m3's sums under 448 */
        return uniform_int(r, 1, 12);
    if (chance(r, 0.15))
        return uniform_int(r, 33, 100);
    return uniform_int(r, 1, 20);
}

/* A random case of dtype t: sizes, batch axes (some broadcast in A or B),
 * each operand's layout style, alpha and beta. */
static void random_case(rng64 *r, td_dtype t, int number, gemm_case *cs)
{
    memset(cs, 0, sizeof *cs);
    td_gemm *g = &cs->g;
    g->dtype = t;
    g->m = random_size(r, t, false), g->n = random_size(r, t, false), g->k = random_size(r, t, true);
    g->batch_rank = (int)uniform_int(r, 0, 3);
    bool a_broadcast[MAXB + 2] = {false}, b_broadcast[MAXB + 2] = {false}, none[MAXB + 2] = {false};
    for (int u = 0; u < g->batch_rank; u++) {
        g->batch[u] = chance(r, 0.03) ? 0 : uniform_int(r, 1, 4);
        int which = (int)uniform_int(r, 0, 5); /* 0: A broadcast, 1: B broadcast, else neither */
        a_broadcast[u] = which == 0, b_broadcast[u] = which == 1;
    }
    int nb = g->batch_rank, naxes = nb + 2;
    int64_t a_sizes[MAXB + 2], b_sizes[MAXB + 2], c_sizes[MAXB + 2];
    for (int u = 0; u < nb; u++)
        a_sizes[u] = b_sizes[u] = c_sizes[u] = g->batch[u];
    a_sizes[nb] = g->m, a_sizes[nb + 1] = g->k;
    b_sizes[nb] = g->k, b_sizes[nb + 1] = g->n;
    c_sizes[nb] = g->m, c_sizes[nb + 1] = g->n;
    /* mostly layouts cuBLAS takes, so both routes get their share */
    static const int style_weights[STYLE_COUNT] = {4, 3, 2, 1, 1};
    int styles[3];
    for (int i = 0; i < 3; i++) {
        int64_t pick = uniform_int(r, 0, 10);
        int s = 0;
        while (pick >= style_weights[s])
            pick -= style_weights[s++];
        styles[i] = s;
    }
    cs->la = make_layout(r, styles[0], naxes, a_sizes, a_broadcast);
    cs->lb = make_layout(r, styles[1], naxes, b_sizes, b_broadcast);
    cs->lc = make_layout(r, styles[2], naxes, c_sizes, none);
    apply_layouts(cs);
    if (td_dtype_is_float(t)) {
        static const double alphas[] = {1, -1, 0.5, 2.25, 0, 1.5};
        static const double betas[] = {0, 0, 1, -0.5, 2};
        g->alpha = alphas[uniform_int(r, 0, 5)];
        g->beta = betas[uniform_int(r, 0, 4)];
    } else {
        g->alpha = (double)uniform_int(r, -3, 3);
        g->beta = (double)uniform_int(r, -2, 2);
    }
    snprintf(cs->label, sizeof cs->label,
             "case %d: %s %lldx%lldx%lld, batch rank %d, A %s, B %s, C %s, alpha %g, beta %g", number,
             td_dtype_name(t), (long long)g->m, (long long)g->n, (long long)g->k, nb, STYLE_NAMES[styles[0]],
             STYLE_NAMES[styles[1]], STYLE_NAMES[styles[2]], g->alpha, g->beta);
}

/* Appends the GPU route to the label, so a failure says which path failed. */
static void label_route(td_ctx *ctx, gemm_case *cs)
{
    char route[300];
    size_t es = td_dtype_size(cs->g.dtype);
    if (td_cuda_gemm_describe(ctx, &cs->g, FAKE_A + (uint64_t)(cs->la.base * (int64_t)es),
                              FAKE_B + (uint64_t)(cs->lb.base * (int64_t)es),
                              (cs->c_is_a ? FAKE_A : FAKE_C) + (uint64_t)(cs->lc.base * (int64_t)es), route,
                              sizeof route) != TD_OK)
        snprintf(route, sizeof route, "(describe: %s)", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    size_t len = strlen(cs->label);
    snprintf(cs->label + len, sizeof cs->label - len, " [%s]", route);
}

/* Products of floats up to 2^20 multiply-adds, none of more than 256
 * terms, take the small route unless it is turned off; the others do not. */
static void test_small_plans(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    td_gemm g = td_gemm_rowmajor(TD_F32, 3, 4, 5);
    expect_plan(ctx, "small f32", &g, FAKE_A, FAKE_B, FAKE_C, "small f32 1 x 3x4x5");
    g.a_rs = 11, g.a_cs = 2;
    expect_plan(ctx, "small, A without a unit stride", &g, FAKE_A, FAKE_B, FAKE_C, "small f32 1 x 3x4x5");
    g = td_gemm_rowmajor(TD_BF16, 3, 4, 5), g.c_f32 = true;
    expect_plan(ctx, "small bf16 to f32", &g, FAKE_A, FAKE_B, FAKE_C, "small bf16 to f32 1 x 3x4x5");
    g = td_gemm_rowmajor(TD_F64, 3, 4, 5), g.batch_rank = 1;
    batched(&g, 0, 6, 15, 20, 12);
    expect_plan(ctx, "small f64, a batch in one launch", &g, FAKE_A, FAKE_B, FAKE_C, "small f64 6 x 3x4x5");
    g = td_gemm_rowmajor(TD_I32, 3, 4, 5);
    expect_plan(ctx, "integers keep the kernel", &g, FAKE_A, FAKE_B, FAKE_C, "kernel i32 1 x 3x4x5");
    g = td_gemm_rowmajor(TD_F32, 3, 4, 0);
    expect_plan(ctx, "k == 0 keeps the kernel", &g, FAKE_A, FAKE_B, FAKE_C, "kernel f32 1 x 3x4x0: C = 0");
    g = td_gemm_rowmajor(TD_F16, 64, 128, 128);
    expect_plan(ctx, "2^20 multiply-adds: small", &g, FAKE_A, FAKE_B, FAKE_C, "small f16 1 x 64x128x128");
    g = td_gemm_rowmajor(TD_F16, 65, 128, 128);
    expect_plan(ctx, "one row more: cuBLAS", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f16 32F: NN 128x65x128; B ld=128, A ld=128, C ld=128");
    g = td_gemm_rowmajor(TD_F32, 1, 1, 256);
    expect_plan(ctx, "256 terms: small", &g, FAKE_A, FAKE_B, FAKE_C, "small f32 1 x 1x1x256");
    g = td_gemm_rowmajor(TD_F32, 1, 1, 257);
    expect_plan(ctx, "257 terms: cuBLAS", &g, FAKE_A, FAKE_B, FAKE_C,
                "cublas f32 32F: NN 1x1x257; B ld=1, A ld=257, C ld=1");
    g = td_gemm_rowmajor(TD_F32, 3, 4, 5);
    td_cuda_small_products(ctx, false);
    expect_plan(ctx, "small products turned off", &g, FAKE_A, FAKE_B, FAKE_C, "cublas f32 32F: NN 4x3x5; B ld=4, A ld=5, C ld=4");
    td_cuda_small_products(ctx, true);
    expect_plan(ctx, "and on again", &g, FAKE_A, FAKE_B, FAKE_C, "small f32 1 x 3x4x5");
    td_ctx_free(ctx);
}

static void test_gpu_random(td_ctx *ctx, td_ctx *cpu)
{
    rng64 r = {2024};
    for (int number = 0; number < 450; number++) {
        gemm_case cs;
        random_case(&r, (td_dtype)(number % TD_BOOL), number, &cs);
        label_route(ctx, &cs);
        run_case(ctx, cpu, &r, &cs, false);
    }
}

/* Fixed cases: each route the plans above pin, and the shapes tensor cores take. */
static void test_gpu_fixed(td_ctx *ctx, td_ctx *cpu)
{
    rng64 r = {7};
    static const td_dtype all[] = {TD_F64, TD_F32, TD_F16, TD_BF16, TD_F8E4M3, TD_F8E5M2, TD_I64, TD_I32, TD_U16};
    for (size_t d = 0; d < sizeof all / sizeof all[0]; d++) {
        td_dtype t = all[d];
        bool f8 = t == TD_F8E4M3 || t == TD_F8E5M2;
        gemm_case cs;

        /* a larger product, for the tensor-core kernels */
        memset(&cs, 0, sizeof cs);
        cs.g = td_gemm_rowmajor(t, 160, 96, f8 ? 8 : 200);
        cs.g.beta = 1;
        int64_t s1[2] = {cs.g.m, cs.g.k}, s2[2] = {cs.g.k, cs.g.n}, s3[2] = {cs.g.m, cs.g.n};
        bool none[2] = {false, false};
        cs.la = make_layout(&r, STYLE_ROW, 2, s1, none);
        cs.lb = make_layout(&r, STYLE_TRANSPOSED, 2, s2, none);
        cs.lc = make_layout(&r, STYLE_ROW, 2, s3, none);
        apply_layouts(&cs);
        snprintf(cs.label, sizeof cs.label, "%s 160x96x%lld, B transposed", td_dtype_name(t), (long long)cs.g.k);
        label_route(ctx, &cs);
        run_case(ctx, cpu, &r, &cs, false);

        /* k == 0 and alpha == 0: C = beta C */
        memset(&cs, 0, sizeof cs);
        cs.g = td_gemm_rowmajor(t, 7, 9, 0);
        cs.g.beta = td_dtype_is_float(t) ? -1.5 : -3;
        cs.la.size = cs.lb.size = 1;
        cs.lc.size = 63, cs.lc.stride[0] = 9, cs.lc.stride[1] = 1;
        snprintf(cs.label, sizeof cs.label, "%s k = 0, beta %g", td_dtype_name(t), cs.g.beta);
        label_route(ctx, &cs);
        run_case(ctx, cpu, &r, &cs, false);
        cs.g.beta = 0;
        snprintf(cs.label, sizeof cs.label, "%s k = 0, beta 0", td_dtype_name(t));
        run_case(ctx, cpu, &r, &cs, false);

        memset(&cs, 0, sizeof cs);
        cs.g = td_gemm_rowmajor(t, 5, 6, 4);
        cs.g.alpha = 0, cs.g.beta = 2;
        cs.la.size = 20, cs.la.stride[0] = 4, cs.la.stride[1] = 1;
        cs.lb.size = 24, cs.lb.stride[0] = 6, cs.lb.stride[1] = 1;
        cs.lc.size = 30, cs.lc.stride[0] = 6, cs.lc.stride[1] = 1;
        snprintf(cs.label, sizeof cs.label, "%s alpha = 0", td_dtype_name(t));
        run_case(ctx, cpu, &r, &cs, false);

        /* C = A B in place (A square-ish: k == n) */
        memset(&cs, 0, sizeof cs);
        cs.g = td_gemm_rowmajor(t, 6, 5, 5);
        cs.g.beta = td_dtype_is_float(t) ? 0.5 : 1;
        cs.la.size = 30, cs.la.stride[0] = 5, cs.la.stride[1] = 1;
        cs.lb.size = 25, cs.lb.stride[0] = 5, cs.lb.stride[1] = 1;
        cs.lc = cs.la;
        cs.c_is_a = true;
        snprintf(cs.label, sizeof cs.label, "%s C = A B in place", td_dtype_name(t));
        label_route(ctx, &cs);
        run_case(ctx, cpu, &r, &cs, false);

        /* (2, 3, T, d) @ (2, 3, d, T2): one strided batch of 6; and x @ W folded */
        memset(&cs, 0, sizeof cs);
        cs.g = td_gemm_rowmajor(t, 17, 11, f8 ? 6 : 13);
        cs.g.batch_rank = 2, cs.g.batch[0] = 2, cs.g.batch[1] = 3;
        int64_t as[4] = {2, 3, cs.g.m, cs.g.k}, bs[4] = {2, 3, cs.g.k, cs.g.n}, ccs[4] = {2, 3, cs.g.m, cs.g.n};
        bool nob[4] = {false, false, false, false}, wb[4] = {true, true, false, false};
        cs.la = make_layout(&r, STYLE_ROW, 4, as, nob);
        cs.lb = make_layout(&r, STYLE_ROW, 4, bs, nob);
        cs.lc = make_layout(&r, STYLE_ROW, 4, ccs, nob);
        apply_layouts(&cs);
        snprintf(cs.label, sizeof cs.label, "%s heads (2, 3)", td_dtype_name(t));
        label_route(ctx, &cs);
        run_case(ctx, cpu, &r, &cs, false);
        cs.lb = make_layout(&r, STYLE_ROW, 4, bs, wb);
        apply_layouts(&cs);
        snprintf(cs.label, sizeof cs.label, "%s x @ W, W broadcast", td_dtype_name(t));
        label_route(ctx, &cs);
        run_case(ctx, cpu, &r, &cs, false);
    }
}

/* TF32: allowed, an f32 product takes the fast compute type and stays
 * within TF32's precision; disallowed again, f32 is exact f32. */
static void test_gpu_tf32(td_ctx *ctx, td_ctx *cpu)
{
    rng64 r = {99};
    gemm_case cs;
    memset(&cs, 0, sizeof cs);
    cs.g = td_gemm_rowmajor(TD_F32, 128, 96, 256);
    int64_t s1[2] = {128, 256}, s2[2] = {256, 96}, s3[2] = {128, 96};
    bool none[2] = {false, false};
    cs.la = make_layout(&r, STYLE_ROW, 2, s1, none);
    cs.lb = make_layout(&r, STYLE_ROW, 2, s2, none);
    cs.lc = make_layout(&r, STYLE_ROW, 2, s3, none);
    apply_layouts(&cs);
    td_cuda_allow_tf32(ctx, true);
    snprintf(cs.label, sizeof cs.label, "f32 128x96x256 with TF32");
    label_route(ctx, &cs);
    CHECK(contains(cs.label, "32F_FAST_TF32"), "TF32 allowed: %s", cs.label);
    run_case(ctx, cpu, &r, &cs, true);
    td_cuda_allow_tf32(ctx, false);
    snprintf(cs.label, sizeof cs.label, "f32 128x96x256 without TF32");
    label_route(ctx, &cs);
    CHECK(!contains(cs.label, "FAST_TF32"), "TF32 off: %s", cs.label);
    run_case(ctx, cpu, &r, &cs, false);
}

/* c_f32: bf16 and f16 operands, an f32 C, by cuBLAS (row-major) and by
 * the kernel (C without a unit stride), against td_gemm_run on the CPU. */
static void test_gpu_c_f32(td_ctx *ctx, td_ctx *cpu, bool small)
{
    rng64 r = {31};
    enum { M = 37, N = 29, K = 53, CS = 2 * N * M + 3 };
    for (int d = 0; d < 2; d++)
        for (int route = 0; route < 2; route++) {
            td_dtype t = d ? TD_F16 : TD_BF16;
            td_gemm g = td_gemm_rowmajor(t, M, N, K);
            g.c_f32 = true;
            g.beta = route ? 0.5 : 0;
            if (route)
                g.c_rs = 2, g.c_cs = 2 * M; /* no unit stride: the kernel */
            uint16_t a[M * K], b[K * N];
            float c[CS], want[CS], got[CS];
            fill_random(a, t, M * K, &r);
            fill_random(b, t, K * N, &r);
            fill_random(c, TD_F32, CS, &r);
            memcpy(want, c, sizeof c);
            char label[64];
            snprintf(label, sizeof label, "%s to f32 C by %s", td_dtype_name(t),
                     small ? "the small route" : route ? "the kernel" : "cuBLAS");
            CHECK(td_gemm_run(cpu, &g, a, b, want) == TD_OK, "%s: the CPU: %s", label, td_ctx_error(cpu));
            td_dptr da = 0, db = 0, dc = 0;
            td_status st = td_cuda_alloc(ctx, sizeof a, "A", &da);
            if (st == TD_OK)
                st = td_cuda_alloc(ctx, sizeof b, "B", &db);
            if (st == TD_OK)
                st = td_cuda_alloc(ctx, sizeof c, "C", &dc);
            if (st == TD_OK)
                st = td_cuda_upload(ctx, da, a, sizeof a);
            if (st == TD_OK)
                st = td_cuda_upload(ctx, db, b, sizeof b);
            if (st == TD_OK)
                st = td_cuda_upload(ctx, dc, c, sizeof c);
            if (st == TD_OK)
                st = td_cuda_gemm_run(ctx, &g, da, db, dc);
            if (st == TD_OK)
                st = td_cuda_download(ctx, got, dc, sizeof got);
            CHECK(st == TD_OK, "%s: %s", label, td_ctx_error(ctx));
            int wrong = 0;
            for (int e = 0; st == TD_OK && e < CS; e++) /* |sum| <= 4 K: f32 sums in another order */
                wrong += fabs((double)got[e] - want[e]) > 1e-5 * 4 * K;
            CHECK(wrong == 0, "%s: %d of %d elements differ from the CPU's", label, wrong, CS);
            td_cuda_free(ctx, da);
            td_cuda_free(ctx, db);
            td_cuda_free(ctx, dc);
        }
}

/* ---- products sharing launches (td_cuda_gemm_group_begin) ---- */

/* A product of the group test: C = A B over matrices of `arena` at element
 * offsets, with row strides; dtype f32 unless f64. */
typedef struct group_product {
    int64_t m, n, k, a, b, c, a_rs, b_rs, c_rs;
    bool f64;
} group_product;

enum { GROUP_N = 16, GROUP_BIG = 128, GROUP_F32 = 12 * GROUP_N * GROUP_N + 3 * GROUP_BIG * GROUP_BIG, GROUP_F64 = 4 * GROUP_N * GROUP_N };
#define SQ(i) ((int64_t)(i) * GROUP_N * GROUP_N) /* the i-th 16 x 16 matrix */
#define BIG(i) (12 * SQ(1) + (int64_t)(i) * GROUP_BIG * GROUP_BIG)
#define PRODUCT(m_, n_, k_, a_, b_, c_, ...) {.m = m_, .n = n_, .k = k_, .a = a_, .b = b_, .c = c_, __VA_ARGS__}

static td_status run_products(td_ctx *ctx, td_dptr f32s, td_dptr f64s, const group_product *ps, int count)
{
    td_status st = TD_OK;
    for (int i = 0; i < count && st == TD_OK; i++) {
        const group_product *q = &ps[i];
        td_gemm g = td_gemm_rowmajor(q->f64 ? TD_F64 : TD_F32, q->m, q->n, q->k);
        g.a_rs = q->a_rs ? q->a_rs : q->k, g.b_rs = q->b_rs ? q->b_rs : q->n, g.c_rs = q->c_rs ? q->c_rs : q->n;
        td_dptr base = q->f64 ? f64s : f32s;
        size_t es = q->f64 ? 8 : 4;
        st = td_cuda_gemm_run(ctx, &g, base + (td_dptr)q->a * es, base + (td_dptr)q->b * es, base + (td_dptr)q->c * es);
    }
    return st;
}

/* The products run twice from the same data, one by one with every launch
 * plain and then (pairs GROUPED) in a group, or (pairs DEPENDENT) one by
 * one as dependent launches (td_cuda_dependent_launches: each may start
 * while the one before finishes, and waits for its writes): every element
 * of both arenas the same, bit for bit (a product's elements are summed in
 * one order on either path; the big one is cuBLAS's, run after the queue
 * it reads from). */
typedef enum pairs { GROUPED, DEPENDENT } pairs;

static void group_case(td_ctx *ctx, const char *label, const group_product *ps, int count, pairs second_run)
{
    static float init32[GROUP_F32], out32[2][GROUP_F32];
    static double init64[GROUP_F64], out64[2][GROUP_F64];
    rng64 r = {11};
    fill_random(init32, TD_F32, GROUP_F32, &r);
    fill_random(init64, TD_F64, GROUP_F64, &r);
    td_dptr f32s = 0, f64s = 0;
    td_status st = td_cuda_alloc(ctx, sizeof init32, "the f32 matrices", &f32s);
    if (!st)
        st = td_cuda_alloc(ctx, sizeof init64, "the f64 matrices", &f64s);
    for (int run = 0; run < 2 && !st; run++) {
        bool grouped = run && second_run == GROUPED;
        td_cuda_dependent_launches(ctx, run && second_run == DEPENDENT);
        st = td_cuda_upload(ctx, f32s, init32, sizeof init32);
        if (!st)
            st = td_cuda_upload(ctx, f64s, init64, sizeof init64);
        if (!st && grouped)
            st = td_cuda_gemm_group_begin(ctx);
        if (!st)
            st = run_products(ctx, f32s, f64s, ps, count);
        if (!st && grouped)
            st = td_cuda_gemm_group_end(ctx);
        if (!st)
            st = td_cuda_download(ctx, out32[run], f32s, sizeof init32);
        if (!st)
            st = td_cuda_download(ctx, out64[run], f64s, sizeof init64);
    }
    td_cuda_dependent_launches(ctx, true);
    CHECK(st == TD_OK && memcmp(out32[0], out32[1], sizeof init32) == 0 && memcmp(out64[0], out64[1], sizeof init64) == 0 &&
              memcmp(out32[0], init32, sizeof init32) != 0,
          "products %s as one by one with plain launches, bit for bit: %s: %s",
          second_run == GROUPED ? "in a group" : "as dependent launches", label, st ? td_ctx_error(ctx) : "ok");
    td_ctx_clear_error(ctx);
    td_cuda_free(ctx, f32s);
    td_cuda_free(ctx, f64s);
}

static void test_gpu_groups(td_ctx *ctx)
{
    const int64_t N = GROUP_N;
    /* independent, then one reading what a queued one writes, one writing what queued ones read,
     * an f64 one between, then cuBLAS's reading what the queue wrote into its A, then one after it */
    const group_product mixed[] = {
        PRODUCT(N, N, N, SQ(0), SQ(1), SQ(2)),
        PRODUCT(N, N, N, SQ(1), SQ(0), SQ(3)),
        PRODUCT(N, N, N, SQ(2), SQ(1), SQ(4)),      /* reads SQ(2), which the first writes */
        PRODUCT(N, N, N, SQ(5), SQ(6), SQ(0)),      /* writes SQ(0), which the first two read */
        PRODUCT(N, N, N, SQ(0), SQ(1), SQ(2), .f64 = true),
        PRODUCT(N, N, N, SQ(7), SQ(8), SQ(9)),
        PRODUCT(N, N, N, SQ(3), SQ(4), BIG(0), .c_rs = GROUP_BIG), /* into the corner of cuBLAS's A */
        PRODUCT(GROUP_BIG, GROUP_BIG, GROUP_BIG, BIG(0), BIG(1), BIG(2)),
        PRODUCT(N, N, N, BIG(2), SQ(1), SQ(10), .a_rs = GROUP_BIG),
    };
    for (int p = GROUPED; p <= DEPENDENT; p++)
        group_case(ctx, "independent, read after write, write after read, f64 between, cuBLAS reading the queue's C",
                   mixed, (int)(sizeof mixed / sizeof mixed[0]), (pairs)p);
    group_product many[10];
    for (int i = 0; i < 10; i++)
        many[i] = (group_product)PRODUCT(N, N / 2, N, SQ(i % 2), SQ(2 + i % 3), SQ(5) + i * N * N / 2, .c_rs = N / 2);
    group_case(ctx, "ten independent (a launch holds eight)", many, 10, GROUPED);
    /* a chain: each product reads the C of the one before and overwrites what the one three before read */
    group_product chain[12];
    for (int i = 0; i < 12; i++)
        chain[i] = (group_product)PRODUCT(N, N, N, SQ(i % 4), SQ(4), SQ((i + 1) % 4));
    group_case(ctx, "a chain of twelve, each reading the one before's C", chain, 12, DEPENDENT);

    /* a failed product drops the group and what it queued: C untouched */
    static float before[GROUP_N * GROUP_N], after[GROUP_N * GROUP_N];
    rng64 r = {5};
    fill_random(before, TD_F32, GROUP_N * GROUP_N, &r);
    td_dptr d = 0;
    td_status st = td_cuda_alloc(ctx, 3 * sizeof before, "matrices", &d);
    if (!st)
        st = td_cuda_upload(ctx, d + 2 * sizeof before, before, sizeof before);
    td_gemm g = td_gemm_rowmajor(TD_F32, N, N, N), bad = g;
    bad.k = -1;
    if (!st)
        st = td_cuda_gemm_group_begin(ctx);
    if (!st)
        st = td_cuda_gemm_run(ctx, &g, d, d + sizeof before, d + 2 * sizeof before);
    td_status failed = st ? st : td_cuda_gemm_run(ctx, &bad, d, d + sizeof before, d + 2 * sizeof before);
    td_ctx_clear_error(ctx);
    if (!st)
        st = td_cuda_gemm_group_end(ctx);
    if (!st)
        st = td_cuda_download(ctx, after, d + 2 * sizeof before, sizeof after);
    CHECK(st == TD_OK && failed == TD_ERR_INPUT && memcmp(before, after, sizeof before) == 0,
          "a failed product in a group drops what the group queued (C untouched), and end then does nothing: %s",
          st ? td_ctx_error(ctx) : "ok");
    td_ctx_clear_error(ctx);
    /* begin while a group holds products: they are dropped, and begin says so */
    if (!st)
        st = td_cuda_gemm_group_begin(ctx);
    if (!st)
        st = td_cuda_gemm_run(ctx, &g, d, d + sizeof before, d + 2 * sizeof before);
    td_status again = st ? st : td_cuda_gemm_group_begin(ctx);
    CHECK(again == TD_ERR_INPUT && contains(td_ctx_error(ctx), "td_cuda_gemm_group_begin: a group is open "
                                                                 "(td_cuda_gemm_group_end was not called): its products were dropped"),
          "begin on a group holding products: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    if (!st)
        st = td_cuda_gemm_group_end(ctx);
    if (!st)
        st = td_cuda_download(ctx, after, d + 2 * sizeof before, sizeof after);
    CHECK(st == TD_OK && memcmp(before, after, sizeof before) == 0, "the dropped product never ran: %s",
          st ? td_ctx_error(ctx) : "ok");
    td_ctx_clear_error(ctx);
    td_cuda_free(ctx, d);
}

/* Without a GPU: end without a group does nothing; begin needs the GPU. */
static void test_groups_no_gpu(td_ctx *ctx)
{
    CHECK(td_cuda_gemm_group_end(ctx) == TD_OK, "td_cuda_gemm_group_end without a group: nothing to do");
    td_ctx_clear_error(ctx);
    td_status st = td_cuda_gemm_group_begin(ctx);
    CHECK(st == TD_ERR_DEVICE && td_ctx_error(ctx) && *td_ctx_error(ctx),
          "td_cuda_gemm_group_begin without a GPU: TD_ERR_DEVICE with the reason (%s)", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_cuda_gemm_group_begin(NULL) == TD_ERR_INPUT && td_cuda_gemm_group_end(NULL) == TD_ERR_INPUT,
          "the group calls on a NULL context: TD_ERR_INPUT");
}

/* ---- the tuning of tensor-core products (gemm_tune.c) ---- */

/* Without a GPU: the switch and $TDC_GEMM_TUNE reach the context's state. */
static void test_tuning_no_gpu(void)
{
    td_cuda_tune_products(NULL, false); /* nothing to set: no crash */
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    td_cuda_tune_products(ctx, false);
    CHECK(ctx->cuda && !ctx->cuda->tune_products, "td_cuda_tune_products(ctx, false) turns tuning off");
    td_cuda_tune_products(ctx, true);
    CHECK(ctx->cuda && ctx->cuda->tune_products, "and on again");
    int64_t timed = -1, from_cache = -1, lt = -1;
    td_cuda_tune_counts(ctx, &timed, &from_cache, &lt);
    CHECK(timed == 0 && from_cache == 0 && lt == 0, "nothing tuned without a product");
    td_cuda_tune_counts(ctx, NULL, NULL, NULL); /* NULLs skipped */
    td_ctx_free(ctx);
    char *old = getenv("TDC_GEMM_TUNE") ? strdup(getenv("TDC_GEMM_TUNE")) : NULL;
    static const char *const values[] = {"off", "0", "on", ""};
    for (int i = 0; i < 4; i++) {
        setenv("TDC_GEMM_TUNE", values[i], 1);
        ctx = td_ctx_new(TD_DEVICE_CUDA);
        td_cuda_allow_tf32(ctx, false); /* makes the context's CUDA state */
        bool off = i < 2;
        CHECK(ctx->cuda && ctx->cuda->tune_products == !off, "TDC_GEMM_TUNE=%s: tuning %s", values[i], off ? "off" : "on");
        td_ctx_free(ctx);
    }
    if (old)
        setenv("TDC_GEMM_TUNE", old, 1);
    else
        unsetenv("TDC_GEMM_TUNE");
    free(old);
    /* a profiler's or a sanitizer's injection: nothing timed under it */
    static const char *const tools[] = {"CUDA_INJECTION64_PATH", "NV_NSIGHT_INJECTION_TRANSPORT_TYPE",
                                        "NV_SANITIZER_INJECTION_TRANSPORT_TYPE", "NVIDIA_PROCESS_INJECTION_CRASH_REPORTING"};
    char *saved[4];
    for (int i = 0; i < 4; i++) {
        saved[i] = getenv(tools[i]) ? strdup(getenv(tools[i])) : NULL;
        unsetenv(tools[i]);
    }
    CHECK(!td_cuda_under_a_tool(), "no tool's environment: tuning may time");
    for (int i = 0; i < 4; i++) {
        setenv(tools[i], "uds", 1);
        CHECK(td_cuda_under_a_tool(), "%s set: under a tool", tools[i]);
        setenv(tools[i], "", 1);
        CHECK(!td_cuda_under_a_tool(), "%s empty: not", tools[i]);
        unsetenv(tools[i]);
    }
    for (int i = 0; i < 4; i++) {
        if (saved[i])
            setenv(tools[i], saved[i], 1);
        free(saved[i]);
    }
}

/* C of a row-major bf16 product m x n x k (beta as given) on fixed data,
 * downloaded into out (m n bf16s). */
static td_status tuned_product(td_ctx *ctx, int64_t m, int64_t n, int64_t k, double beta, uint16_t *out)
{
    td_gemm g = td_gemm_rowmajor(TD_BF16, m, n, k);
    g.beta = beta;
    size_t a_bytes = (size_t)(m * k) * 2, b_bytes = (size_t)(k * n) * 2, c_bytes = (size_t)(m * n) * 2;
    void *ha = malloc(a_bytes), *hb = malloc(b_bytes);
    td_dptr da = 0, db = 0, dc = 0;
    td_status st = ha && hb ? TD_OK : TD_ERR_OOM;
    rng64 r = {1234};
    if (!st) {
        fill_random(ha, TD_BF16, m * k, &r);
        fill_random(hb, TD_BF16, k * n, &r);
        fill_random(out, TD_BF16, m * n, &r);
        st = td_cuda_alloc(ctx, a_bytes, "A", &da);
    }
    if (!st)
        st = td_cuda_alloc(ctx, b_bytes, "B", &db);
    if (!st)
        st = td_cuda_alloc(ctx, c_bytes, "C", &dc);
    if (!st)
        st = td_cuda_upload(ctx, da, ha, a_bytes);
    if (!st)
        st = td_cuda_upload(ctx, db, hb, b_bytes);
    if (!st)
        st = td_cuda_upload(ctx, dc, out, c_bytes);
    if (!st)
        st = td_cuda_gemm_run(ctx, &g, da, db, dc);
    if (!st)
        st = td_cuda_download(ctx, out, dc, c_bytes);
    td_cuda_free(ctx, da);
    td_cuda_free(ctx, db);
    td_cuda_free(ctx, dc);
    free(ha);
    free(hb);
    return st;
}

static int64_t count_of(td_ctx *ctx, int which) /* 0 timed, 1 from the cache, 2 to cuBLASLt */
{
    int64_t n[3];
    td_cuda_tune_counts(ctx, &n[0], &n[1], &n[2]);
    return n[which];
}

static bool counts_are(td_ctx *ctx, int64_t timed, int64_t from_cache)
{
    return count_of(ctx, 0) == timed && count_of(ctx, 1) == from_cache;
}

/* With a GPU: a bf16 shape is timed once, its choice used again, read
 * back from the disk cache by another context (the same bits), never made
 * in a capture, for beta != 0, or with tuning off; and the tuned products
 * agree with the CPU in every layout of the fixed cases. */
static void test_gpu_tuning(td_ctx *cpu)
{
    if (td_cuda_under_a_tool()) { /* nothing is timed there: what these check cannot happen */
        printf("skipped: tuning tests: a profiler or sanitizer runs the process\n");
        return;
    }
    char *old_cache = getenv("TDC_CACHE") ? strdup(getenv("TDC_CACHE")) : NULL;
    char dir[] = "/tmp/tdc-test-tune-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(false, "mkdtemp");
        free(old_cache);
        return;
    }
    setenv("TDC_CACHE", dir, 1);
    enum { M = 256, N = 384, K = 512 };
    uint16_t *c1 = malloc(2 * M * N), *c2 = malloc(2 * M * N), *c3 = malloc(2 * M * N);
    td_ctx *one = td_ctx_new(TD_DEVICE_CUDA), *two = td_ctx_new(TD_DEVICE_CUDA), *off = td_ctx_new(TD_DEVICE_CUDA);
    td_cuda_tune_products(one, true);
    td_cuda_tune_products(two, true);
    td_cuda_tune_products(off, false);
    CHECK(c1 && c2 && c3 && tuned_product(one, M, N, K, 0, c1) == TD_OK, "a bf16 product: %s", td_ctx_error(one));
    CHECK(counts_are(one, 1, 0), "its shape is timed once (timed %lld)", (long long)count_of(one, 0));
    CHECK(tuned_product(one, M, N, K, 0, c2) == TD_OK && counts_are(one, 1, 0) && memcmp(c1, c2, 2 * M * N) == 0,
          "the same shape again: the choice kept, the same bits");
    CHECK(tuned_product(two, M, N, K, 0, c2) == TD_OK && counts_are(two, 0, 1),
          "another context reads the choice from the disk cache (timed %lld, from the cache %lld): %s",
          (long long)count_of(two, 0), (long long)count_of(two, 1),
          td_ctx_error(two));
    CHECK(memcmp(c1, c2, 2 * M * N) == 0, "and makes the same bits");
    CHECK(tuned_product(off, M, N, K, 0, c3) == TD_OK && counts_are(off, 0, 0), "tuning off: nothing timed or read");
    double worst = 0;
    for (int i = 0; i < M * N; i++) {
        double a = td_bf16_to_f32(c1[i]), b = td_bf16_to_f32(c3[i]);
        worst = fmax(worst, fabs(a - b) / fmax(1.0, fabs(b)));
    }
    CHECK(worst <= 1.0 / 64, "the tuned and default products agree to bf16's rounding (worst %g)", worst);
    CHECK(tuned_product(one, M - 8, N, K, 1, c2) == TD_OK && counts_are(one, 1, 0), "beta 1: not timed"); /* C: (M - 8) N of c2's M N */

    /* a shape first met in a capture is not timed there; then, uncaptured, it is */
    struct td_cuda *cuda = one->cuda;
    if (cuda->cu.cuStreamBeginCapture && cuda->cu.cuStreamEndCapture && cuda->cu.cuGraphDestroy) {
        td_gemm g = td_gemm_rowmajor(TD_BF16, 128, 128, 128);
        td_dptr d = 0;
        td_status st = td_cuda_alloc(one, 3 * 128 * 128 * 2, "capture", &d);
        CUgraph graph = NULL;
        if (!st)
            st = cuda->cu.cuStreamBeginCapture(cuda->stream, TD_CU_CAPTURE_MODE_RELAXED) ? TD_ERR_DEVICE : TD_OK;
        if (!st) {
            td_status run = td_cuda_gemm_run(one, &g, d, d + 128 * 128 * 2, d + 2 * 128 * 128 * 2);
            st = cuda->cu.cuStreamEndCapture(cuda->stream, &graph) ? TD_ERR_DEVICE : run;
        }
        if (graph)
            cuda->cu.cuGraphDestroy(graph);
        CHECK(st == TD_OK && counts_are(one, 1, 0), "a shape in a capture: queued, not timed (%s)", td_ctx_error(one));
        if (!st)
            st = td_cuda_gemm_run(one, &g, d, d + 128 * 128 * 2, d + 2 * 128 * 128 * 2);
        CHECK(st == TD_OK && counts_are(one, 2, 0), "then uncaptured, timed: %s", td_ctx_error(one));
        td_cuda_free(one, d);
    }
    td_ctx_clear_error(one);

    /* the fixed cases' every dtype and layout, tuned (the contexts' products so far are too) */
    test_gpu_fixed(one, cpu);
    test_gpu_tf32(one, cpu);
    printf("tuning: %lld shapes timed, %lld to cuBLASLt\n", (long long)count_of(one, 0), (long long)count_of(one, 2));
    td_ctx_free(one);
    td_ctx_free(two);
    td_ctx_free(off);
    free(c1);
    free(c2);
    free(c3);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "removing %s", dir);
    if (old_cache)
        setenv("TDC_CACHE", old_cache, 1);
    else
        unsetenv("TDC_CACHE");
    free(old_cache);
}

void test_cuda_gemm(void)
{
    test_checks();
    test_plans();
    test_small_plans();
    test_kernel_source();
    test_tuning_no_gpu();

    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    char why[512];
    if (!td_cuda_available(ctx, why, sizeof why)) {
        test_groups_no_gpu(ctx);
        printf("skipped: GPU gemm tests: %s\n", why);
        td_ctx_free(ctx);
        return;
    }
    td_ctx *cpu = td_ctx_new(TD_DEVICE_CPU);
    for (int small = 0; small < 2; small++) { /* every case by cuBLAS and the kernel, then with the small route */
        td_cuda_small_products(ctx, small);
        test_gpu_fixed(ctx, cpu);
        test_gpu_random(ctx, cpu);
        test_gpu_tf32(ctx, cpu);
        test_gpu_c_f32(ctx, cpu, small);
    }
    td_cuda_small_products(ctx, true);
    test_gpu_groups(ctx);
    test_gpu_tuning(cpu);
    td_ctx_free(cpu);
    td_ctx_free(ctx);
}

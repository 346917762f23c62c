/* test_gemm.c - td_gemm_run and td_gemm_describe (runtime/gemm.c).
 *
 * Operands hold small integers, so every f32 and f64 result is exact and
 * compared with ==, against a plain reference loop over the same strided
 * views computed in double. Whole C buffers are compared, so elements
 * outside the view (gaps between padded rows, the other half of an
 * interleaved buffer) must come back untouched. td_gemm_describe pins the
 * plan where the choice is the point: which operands BLAS takes in place,
 * with which flags, and when batch axes fold into one call.
 * tests/runtime/gemm_oracle.py checks random shapes against numpy. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"
#include "test.h"
#include "test_fixture.h"

/* A deterministic source of small integers, owned by each test. */
typedef struct lcg {
    uint64_t s;
} lcg;

static int small_int(lcg *r, int lo, int hi)
{
    r->s = r->s * 6364136223846793005u + 1442695040888963407u;
    return lo + (int)((r->s >> 33) % (uint64_t)(hi - lo + 1));
}

static void set(void *buf, td_dtype t, int64_t i, double v)
{
    switch (t) {
    case TD_F64: ((double *)buf)[i] = v; break;
    case TD_F32: ((float *)buf)[i] = (float)v; break;
    case TD_F16: ((uint16_t *)buf)[i] = td_f32_to_f16((float)v); break;
    case TD_BF16: ((uint16_t *)buf)[i] = td_f32_to_bf16((float)v); break;
    case TD_F8E4M3: ((uint8_t *)buf)[i] = td_f32_to_f8e4m3((float)v); break;
    case TD_F8E5M2: ((uint8_t *)buf)[i] = td_f32_to_f8e5m2((float)v); break;
    case TD_I64: ((int64_t *)buf)[i] = (int64_t)v; break;
    case TD_I32: ((int32_t *)buf)[i] = (int32_t)v; break;
    case TD_U16: ((uint16_t *)buf)[i] = (uint16_t)v; break;
    default: break;
    }
}

/* The reference: C = alpha A B + beta C over the views, in double, into
 * `want` (a copy of C's buffer); a, b, want point at element [0][0] of
 * item 0. Exact for the small integers used here. */
static void reference(const td_gemm *g, const void *a, const void *b, void *want)
{
    int64_t items = 1, idx[TD_GEMM_MAX_BATCH] = {0};
    for (int t = 0; t < g->batch_rank; t++)
        items *= g->batch[t];
    for (int64_t it = 0; it < items; it++) {
        int64_t oa = 0, ob = 0, oc = 0;
        for (int t = 0; t < g->batch_rank; t++)
            oa += idx[t] * g->a_bs[t], ob += idx[t] * g->b_bs[t], oc += idx[t] * g->c_bs[t];
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t j = 0; j < g->n; j++) {
                double acc = 0;
                for (int64_t p = 0; p < g->k; p++)
                    acc += test_element(a, g->dtype, oa + i * g->a_rs + p * g->a_cs) *
                           test_element(b, g->dtype, ob + p * g->b_rs + j * g->b_cs);
                int64_t e = oc + i * g->c_rs + j * g->c_cs;
                double v = g->alpha * acc;
                if (g->beta != 0)
                    v += g->beta * test_element(want, g->dtype, e);
                set(want, g->dtype, e, v);
            }
        for (int t = g->batch_rank - 1; t >= 0; t--) {
            if (++idx[t] < g->batch[t])
                break;
            idx[t] = 0;
        }
    }
}

/* A buffer for one operand view: `base` elements before element [0][0]
 * (room for negative strides), `size` in all. */
typedef struct view {
    void *buf;
    int64_t base, size;
} view;

static void *at(const view *v, td_dtype t) { return (char *)v->buf + v->base * (int64_t)td_dtype_size(t); }

static view make_view(td_dtype t, int64_t base, int64_t size, lcg *r, int lo, int hi)
{
    view v = {calloc((size_t)(size > 0 ? size : 1), td_dtype_size(t)), base, size};
    for (int64_t i = 0; v.buf && i < size; i++)
        set(v.buf, t, i, small_int(r, lo, hi));
    return v;
}

static bool same(const void *x, const void *y, td_dtype t, int64_t size, int64_t *where)
{
    for (int64_t i = 0; i < size; i++)
        if (test_element(x, t, i) != test_element(y, t, i) && !(isnan(test_element(x, t, i)) && isnan(test_element(y, t, i)))) {
            *where = i;
            return false;
        }
    return true;
}

/* Runs g on the views and checks C's whole buffer against the reference;
 * `plan`, when not NULL, is the expected td_gemm_describe. */
static void check_run(const char *label, const td_gemm *g, view *a, view *b, view *c, const char *plan)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    size_t es = td_dtype_size(g->dtype);
    void *want = malloc((size_t)c->size * es + 1);
    memcpy(want, c->buf, (size_t)c->size * es);
    reference(g, at(a, g->dtype), at(b, g->dtype), (char *)want + c->base * (int64_t)es);
    if (plan) {
        char got[256];
        td_status st = td_gemm_describe(ctx, g, at(a, g->dtype), at(b, g->dtype), at(c, g->dtype), got, sizeof got);
        CHECK(st == TD_OK && strcmp(got, plan) == 0, "%s: plan '%s', expected '%s' (%s)", label, got, plan,
              td_ctx_error(ctx) ? td_ctx_error(ctx) : "");
    }
    td_status st = td_gemm_run(ctx, g, at(a, g->dtype), at(b, g->dtype), at(c, g->dtype));
    int64_t where = -1;
    CHECK(st == TD_OK, "%s: td_gemm_run failed: %s", label, td_ctx_error(ctx) ? td_ctx_error(ctx) : "?");
    CHECK(same(c->buf, want, g->dtype, c->size, &where), "%s: C[%lld] = %g, expected %g", label, (long long)where,
          where >= 0 ? test_element(c->buf, g->dtype, where) : 0, where >= 0 ? test_element(want, g->dtype, where) : 0);
    free(want);
    td_ctx_free(ctx);
}

static void free_views(view *a, view *b, view *c)
{
    free(a->buf);
    free(b->buf);
    free(c->buf);
}

/* ---- layouts of one rows x cols operand ---- */

enum { L_ROW, L_ROW_PADDED, L_COL_PADDED, L_GENERAL, L_FLIPPED, L_COUNT };
static const char *const LAYOUT_NAMES[L_COUNT] = {"row-major", "padded row-major", "padded column-major",
                                                  "general (no unit stride)", "rows flipped"};

/* Strides, base and buffer size of a layout. */
static void layout(int kind, int64_t rows, int64_t cols, int64_t *rs, int64_t *cs, int64_t *base, int64_t *size)
{
    *base = 0;
    switch (kind) {
    case L_ROW: *rs = cols, *cs = 1, *size = rows * cols; break;
    case L_ROW_PADDED: *rs = cols + 2, *cs = 1, *size = rows * (cols + 2); break;
    case L_COL_PADDED: *rs = 1, *cs = rows + 1, *size = cols * (rows + 1); break;
    case L_GENERAL: *rs = 2 * cols + 1, *cs = 2, *size = rows * (2 * cols + 1); break;
    default: /* L_FLIPPED: row i is stored at row rows - 1 - i */
        *rs = -cols, *cs = 1, *base = (rows - 1) * cols, *size = rows * cols;
        break;
    }
}

/* Every combination of layouts for A, B and C, for f32 and f64, beta 0 and
 * 2, and shapes including sizes of 1 (whose strides BLAS never uses). */
static void test_layouts(void)
{
    static const int64_t shapes[][3] = {{3, 4, 5}, {1, 4, 5}, {3, 1, 5}, {3, 4, 1}, {1, 1, 3}, {2, 3, 1}};
    static const td_dtype dtypes[] = {TD_F32, TD_F64};
    lcg r = {1};
    int runs = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t d = 0; d < 2; d++)
            for (int la = 0; la < L_COUNT; la++)
                for (int lb = 0; lb < L_COUNT; lb++)
                    for (int lc = 0; lc < L_COUNT; lc++) {
                        td_gemm g = td_gemm_rowmajor(dtypes[d], shapes[s][0], shapes[s][1], shapes[s][2]);
                        int64_t ba, sa, bb, sb, bc, sc;
                        layout(la, g.m, g.k, &g.a_rs, &g.a_cs, &ba, &sa);
                        layout(lb, g.k, g.n, &g.b_rs, &g.b_cs, &bb, &sb);
                        layout(lc, g.m, g.n, &g.c_rs, &g.c_cs, &bc, &sc);
                        g.alpha = (la + lb) % 2 ? -1 : 3;
                        g.beta = lc % 2 ? 2 : 0;
                        view a = make_view(g.dtype, ba, sa, &r, -3, 3), b = make_view(g.dtype, bb, sb, &r, -3, 3);
                        view c = make_view(g.dtype, bc, sc, &r, -9, 9);
                        char label[160];
                        snprintf(label, sizeof label, "%s %lldx%lldx%lld: A %s, B %s, C %s",
                                 td_dtype_name(g.dtype), (long long)g.m, (long long)g.n, (long long)g.k,
                                 LAYOUT_NAMES[la], LAYOUT_NAMES[lb], LAYOUT_NAMES[lc]);
                        check_run(label, &g, &a, &b, &c, NULL);
                        free_views(&a, &b, &c);
                        runs++;
                    }
    CHECK(runs == 6 * 2 * L_COUNT * L_COUNT * L_COUNT, "ran every layout combination");
}

/* The plans for the layouts BLAS should take without a copy, and for those it cannot. */
static void test_plans(void)
{
    lcg r = {2};
    struct {
        int la, lb, lc;
        const char *plan;
    } cases[] = {
        {L_ROW, L_ROW, L_ROW, "sgemm 1 x 3x4x5; A N ld=5; B N ld=4; C ld=4"},
        {L_ROW_PADDED, L_ROW_PADDED, L_ROW_PADDED, "sgemm 1 x 3x4x5; A N ld=7; B N ld=6; C ld=6"},
        {L_COL_PADDED, L_ROW, L_ROW, "sgemm 1 x 3x4x5; A T ld=4; B N ld=4; C ld=4"},
        {L_ROW, L_COL_PADDED, L_ROW, "sgemm 1 x 3x4x5; A N ld=5; B T ld=6; C ld=4"},
        /* C column-major: computed as C^T = B^T A^T, all in place */
        {L_ROW, L_ROW, L_COL_PADDED, "sgemm 1 x 4x3x5 as C^T = B^T A^T; B^T T ld=4; A^T T ld=5; C^T ld=4"},
        {L_COL_PADDED, L_COL_PADDED, L_COL_PADDED,
         "sgemm 1 x 4x3x5 as C^T = B^T A^T; B^T N ld=6; A^T N ld=4; C^T ld=4"},
        {L_GENERAL, L_ROW, L_ROW, "sgemm 1 x 3x4x5; A packed; B N ld=4; C ld=4"},
        {L_FLIPPED, L_GENERAL, L_GENERAL, "sgemm 1 x 3x4x5; A packed; B packed; C packed"},
        {L_ROW, L_ROW, L_FLIPPED, "sgemm 1 x 3x4x5; A N ld=5; B N ld=4; C packed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        td_gemm g = td_gemm_rowmajor(TD_F32, 3, 4, 5);
        int64_t ba, sa, bb, sb, bc, sc;
        layout(cases[i].la, 3, 5, &g.a_rs, &g.a_cs, &ba, &sa);
        layout(cases[i].lb, 5, 4, &g.b_rs, &g.b_cs, &bb, &sb);
        layout(cases[i].lc, 3, 4, &g.c_rs, &g.c_cs, &bc, &sc);
        g.beta = 1;
        view a = make_view(g.dtype, ba, sa, &r, -3, 3), b = make_view(g.dtype, bb, sb, &r, -3, 3),
             c = make_view(g.dtype, bc, sc, &r, -3, 3);
        char label[64];
        snprintf(label, sizeof label, "plan %zu", i);
        check_run(label, &g, &a, &b, &c, cases[i].plan);
        free_views(&a, &b, &c);
    }

    /* Sliding windows (im2col-like views): rows overlap, so the row stride
     * is below BLAS's least leading dimension and A must be packed, not
     * passed with an lda OpenBLAS would refuse. */
    static const int64_t windows[][2] = {{4, 1}, {2, 1}, {1, 1}, {1, 2}};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        td_gemm g = td_gemm_rowmajor(TD_F32, 3, 4, 5);
        g.a_rs = windows[i][0], g.a_cs = windows[i][1];
        view a = make_view(TD_F32, 0, 2 * g.a_rs + 4 * g.a_cs + 1, &r, -3, 3),
             b = make_view(TD_F32, 0, 20, &r, -3, 3), c = make_view(TD_F32, 0, 12, &r, -3, 3);
        char label[64];
        snprintf(label, sizeof label, "sliding windows, A strides %lld, %lld", (long long)g.a_rs, (long long)g.a_cs);
        check_run(label, &g, &a, &b, &c, "sgemm 1 x 3x4x5; A packed; B N ld=4; C ld=4");
        free_views(&a, &b, &c);
    }

    /* Vectors: a 1 x k row with a non-unit stride is the transpose of a
     * k x 1 column with leading dimension 3, so no copy either. */
    td_gemm g = td_gemm_rowmajor(TD_F64, 1, 2, 4);
    g.a_rs = 99, g.a_cs = 3;
    view a = make_view(TD_F64, 0, 12, &r, -3, 3), b = make_view(TD_F64, 0, 8, &r, -3, 3),
         c = make_view(TD_F64, 0, 2, &r, -3, 3);
    check_run("strided row vector", &g, &a, &b, &c, "dgemm 1 x 1x2x4; A T ld=3; B N ld=2; C ld=2");
    free_views(&a, &b, &c);
}

/* Batches: the lesson's (4, 8, 16, 32) @ (32, 2) folds into one call;
 * broadcasting A, both, or permuted batch axes does not fold but is right. */
static void test_batches(void)
{
    lcg r = {3};
    td_gemm g = td_gemm_rowmajor(TD_F32, 16, 2, 32);
    g.batch_rank = 2;
    g.batch[0] = 4, g.batch[1] = 8;
    g.a_bs[0] = 8 * 16 * 32, g.a_bs[1] = 16 * 32;
    g.b_bs[0] = 0, g.b_bs[1] = 0;
    g.c_bs[0] = 8 * 16 * 2, g.c_bs[1] = 16 * 2;
    view a = make_view(TD_F32, 0, 4 * 8 * 16 * 32, &r, -3, 3), b = make_view(TD_F32, 0, 32 * 2, &r, -3, 3),
         c = make_view(TD_F32, 0, 4 * 8 * 16 * 2, &r, -3, 3);
    check_run("(4,8,16,32) @ (32,2)", &g, &a, &b, &c, "sgemm 1 x 512x2x32; A N ld=32; B N ld=2; C ld=2");
    free_views(&a, &b, &c);

    /* (5, 1, 4) @ (4, 3): batched vectors fold too (m == 1 takes any step) */
    g = td_gemm_rowmajor(TD_F64, 1, 3, 4);
    g.batch_rank = 1, g.batch[0] = 5, g.a_bs[0] = 4, g.b_bs[0] = 0, g.c_bs[0] = 3;
    a = make_view(TD_F64, 0, 20, &r, -3, 3), b = make_view(TD_F64, 0, 12, &r, -3, 3),
    c = make_view(TD_F64, 0, 15, &r, -3, 3);
    check_run("(5,1,4) @ (4,3)", &g, &a, &b, &c, "dgemm 1 x 5x3x4; A N ld=4; B N ld=3; C ld=3");
    free_views(&a, &b, &c);

    /* (3, 4) @ (5, 4, 2): A broadcast, B batched; its columns fold into n
     * only when B's batch steps n columns, which a (5, 4, 2) array does not */
    g = td_gemm_rowmajor(TD_F32, 3, 2, 4);
    g.batch_rank = 1, g.batch[0] = 5, g.a_bs[0] = 0, g.b_bs[0] = 8, g.c_bs[0] = 6;
    a = make_view(TD_F32, 0, 12, &r, -3, 3), b = make_view(TD_F32, 0, 40, &r, -3, 3),
    c = make_view(TD_F32, 0, 30, &r, -3, 3);
    check_run("(3,4) @ (5,4,2)", &g, &a, &b, &c, "sgemm 5 x 3x2x4; A N ld=4; B N ld=2; C ld=2");
    free_views(&a, &b, &c);

    /* ... but B = (4, 5, 2) viewed as (5, 4, 2) does: one 3 x 10 product */
    g.b_rs = 10, g.b_bs[0] = 2, g.c_rs = 10, g.c_bs[0] = 2;
    a = make_view(TD_F32, 0, 12, &r, -3, 3), b = make_view(TD_F32, 0, 40, &r, -3, 3),
    c = make_view(TD_F32, 0, 30, &r, -3, 3);
    check_run("(3,4) @ (4,5,2) permuted", &g, &a, &b, &c, "sgemm 1 x 3x10x4; A N ld=4; B N ld=10; C ld=10");
    free_views(&a, &b, &c);

    /* a packed A that differs per item (C's gap between items blocks the
     * fold): reloaded for each, unlike a broadcast one */
    g = td_gemm_rowmajor(TD_F32, 3, 2, 4);
    g.a_rs = 9, g.a_cs = 2;
    g.batch_rank = 1, g.batch[0] = 3, g.a_bs[0] = 27, g.b_bs[0] = 0, g.c_bs[0] = 7;
    a = make_view(TD_F32, 0, 81, &r, -3, 3), b = make_view(TD_F32, 0, 8, &r, -3, 3),
    c = make_view(TD_F32, 0, 21, &r, -3, 3);
    check_run("packed A per item", &g, &a, &b, &c, "sgemm 3 x 3x2x4; A packed; B N ld=2; C ld=2");
    free_views(&a, &b, &c);

    /* (2, 1, 3, 4) @ (1, 3, 4, 2) -> (2, 3, 3, 2), C's batch axes permuted
     * in memory (so axis 0, where B is broadcast, folds into m), a size-1
     * axis with strides that must not matter, and beta */
    g = td_gemm_rowmajor(TD_F32, 3, 2, 4);
    g.batch_rank = 3;
    g.batch[0] = 2, g.batch[1] = 3, g.batch[2] = 1;
    g.a_bs[0] = 12, g.a_bs[1] = 0, g.a_bs[2] = 1000;
    g.b_bs[0] = 0, g.b_bs[1] = 8, g.b_bs[2] = -1000;
    g.c_bs[0] = 6, g.c_bs[1] = 12, g.c_bs[2] = 0;
    g.beta = -2;
    a = make_view(TD_F32, 0, 24, &r, -3, 3), b = make_view(TD_F32, 0, 24, &r, -3, 3),
    c = make_view(TD_F32, 0, 36, &r, -3, 3);
    check_run("(2,1,3,4) @ (1,3,4,2)", &g, &a, &b, &c, "sgemm 3 x 6x2x4; A N ld=4; B N ld=2; C ld=2");
    free_views(&a, &b, &c);

    /* all eight batch axes, sizes 1 and 2, A broadcast on some, B on others */
    g = td_gemm_rowmajor(TD_F64, 2, 3, 2);
    g.batch_rank = TD_GEMM_MAX_BATCH;
    int64_t sa = 4, sb = 6, sc = 6;
    for (int t = TD_GEMM_MAX_BATCH - 1; t >= 0; t--) {
        g.batch[t] = t % 3 == 1 ? 1 : 2;
        g.a_bs[t] = t % 2 ? 0 : sa;
        g.b_bs[t] = t % 2 ? sb : 0;
        g.c_bs[t] = sc;
        sa *= t % 2 ? 1 : g.batch[t];
        sb *= t % 2 ? g.batch[t] : 1;
        sc *= g.batch[t];
    }
    a = make_view(TD_F64, 0, sa, &r, -3, 3), b = make_view(TD_F64, 0, sb, &r, -3, 3),
    c = make_view(TD_F64, 0, sc, &r, -3, 3);
    check_run("eight batch axes", &g, &a, &b, &c, NULL);
    free_views(&a, &b, &c);
}

/* beta: accumulation, and beta == 0 never reading C (NaN there does not
 * leak), in place and through packing; k == 0 and alpha == 0 scale C. */
static void test_beta_and_k0(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, -1, 2, 3, 1}, c[4];
    const float ab[4] = {8, 7, 17, 16}; /* [[1,2,3],[4,5,6]] @ [[1,0],[-1,2],[3,1]] */
    td_gemm g = td_gemm_rowmajor(TD_F32, 2, 2, 3);
    for (int layout_c = 0; layout_c < 2; layout_c++) {
        const char *how = layout_c ? "packed C" : "C in place";
        float *cv = c;
        if (layout_c) /* columns run backwards: no unit stride BLAS could use, so C is packed */
            g.c_rs = 2, g.c_cs = -1, cv = c + 1;
        for (int i = 0; i < 4; i++)
            c[i] = NAN;
        g.beta = 0;
        CHECK(td_gemm_run(ctx, &g, a, b, cv) == TD_OK, "beta 0");
        int good = 0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                good += cv[i * g.c_rs + j * g.c_cs] == ab[i * 2 + j];
        CHECK(good == 4, "%s: beta 0 ignores the NaNs in C", how);
        g.beta = 1;
        CHECK(td_gemm_run(ctx, &g, a, b, cv) == TD_OK, "beta 1");
        g.alpha = 2, g.beta = -0.5;
        CHECK(td_gemm_run(ctx, &g, a, b, cv) == TD_OK, "beta -0.5");
        good = 0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) /* 2 ab - 0.5 (2 ab) = ab */
                good += cv[i * g.c_rs + j * g.c_cs] == ab[i * 2 + j];
        CHECK(good == 4, "%s: accumulating with beta 1, then alpha 2 and beta -0.5", how);
        g.alpha = 1;
    }

    /* k == 0: C = beta C; A and B may be NULL, having no elements */
    g = td_gemm_rowmajor(TD_F32, 2, 2, 0);
    float c2[4] = {1, -2, 3, NAN};
    g.beta = 3;
    char plan[128];
    CHECK(td_gemm_describe(ctx, &g, NULL, NULL, c2, plan, sizeof plan) == TD_OK &&
              strcmp(plan, "scale 1 x 2x2: C = beta C") == 0, "k = 0 plan '%s'", plan);
    CHECK(td_gemm_run(ctx, &g, NULL, NULL, c2) == TD_OK && c2[0] == 3 && c2[1] == -6 && c2[2] == 9 && isnan(c2[3]),
          "k = 0 scales C by beta: %g %g %g %g", c2[0], c2[1], c2[2], c2[3]);
    g.beta = 0;
    CHECK(td_gemm_run(ctx, &g, NULL, NULL, c2) == TD_OK && c2[0] == 0 && c2[3] == 0 && !signbit(c2[1]),
          "k = 0, beta 0 writes +0 over NaN too");
    CHECK(td_gemm_describe(ctx, &g, NULL, NULL, c2, plan, sizeof plan) == TD_OK &&
              strcmp(plan, "scale 1 x 2x2: C = 0") == 0, "k = 0, beta 0 plan '%s'", plan);

    /* alpha == 0: A and B are not read (as BLAS), so their NaNs do not matter */
    g = td_gemm_rowmajor(TD_F64, 1, 1, 2);
    double da[2] = {NAN, 1}, db[2] = {1, NAN}, dc[1] = {5};
    g.alpha = 0, g.beta = 2;
    CHECK(td_gemm_run(ctx, &g, da, db, dc) == TD_OK && dc[0] == 10, "alpha 0: C = beta C, got %g", dc[0]);

    /* empty C: nothing happens, and NULL is fine for every empty operand */
    g = td_gemm_rowmajor(TD_F32, 0, 3, 2);
    CHECK(td_gemm_run(ctx, &g, NULL, b, NULL) == TD_OK, "m = 0");
    CHECK(td_gemm_describe(ctx, &g, NULL, b, NULL, plan, sizeof plan) == TD_OK &&
              strcmp(plan, "none: C is empty") == 0, "m = 0 plan '%s'", plan);
    g = td_gemm_rowmajor(TD_F32, 2, 0, 2);
    CHECK(td_gemm_run(ctx, &g, a, NULL, NULL) == TD_OK, "n = 0");
    g = td_gemm_rowmajor(TD_F32, 2, 2, 3);
    g.batch_rank = 2, g.batch[0] = 3, g.batch[1] = 0;
    CHECK(td_gemm_run(ctx, &g, NULL, NULL, NULL) == TD_OK, "a batch axis of size 0");
    CHECK(td_ctx_error(ctx) == NULL, "no error recorded: %s", td_ctx_error(ctx));
    td_ctx_free(ctx);
}

/* i64, i32 and u16 loop, wrapping modulo 2^bits as numpy does. */
static void test_integers(void)
{
    lcg r = {4};
    static const td_dtype dtypes[] = {TD_I64, TD_I32, TD_U16};
    for (size_t d = 0; d < 3; d++)
        for (int lc = 0; lc < L_COUNT; lc++) {
            td_gemm g = td_gemm_rowmajor(dtypes[d], 3, 4, 5);
            int64_t ba, sa, bb, sb, bc, sc;
            layout(L_COL_PADDED, 3, 5, &g.a_rs, &g.a_cs, &ba, &sa);
            layout(L_GENERAL, 5, 4, &g.b_rs, &g.b_cs, &bb, &sb);
            layout(lc, 3, 4, &g.c_rs, &g.c_cs, &bc, &sc);
            g.alpha = 2, g.beta = lc % 2 ? 3 : 0;
            g.batch_rank = 1, g.batch[0] = 2, g.a_bs[0] = sa, g.b_bs[0] = 0, g.c_bs[0] = sc;
            int lo = dtypes[d] == TD_U16 ? 0 : -5;
            view a = make_view(g.dtype, ba, 2 * sa, &r, lo, 5), b = make_view(g.dtype, bb, sb, &r, lo, 5),
                 c = make_view(g.dtype, bc, 2 * sc, &r, lo, 5);
            char label[96];
            snprintf(label, sizeof label, "%s, C %s", td_dtype_name(g.dtype), LAYOUT_NAMES[lc]);
            check_run(label, &g, &a, &b, &c, lc == 0 && d == 0 ? "loop 2 x 3x4x5" : NULL);
            free_views(&a, &b, &c);
        }

    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_gemm g = td_gemm_rowmajor(TD_I32, 1, 1, 2);
    int32_t a32[2] = {65536, 46341}, b32[2] = {65536, 46341}, c32[1] = {7};
    g.beta = 1; /* 2^32 + 46341^2 + 7 = 2^32 + 2147488281 + 7 wraps to -2147479008 */
    CHECK(td_gemm_run(ctx, &g, a32, b32, c32) == TD_OK && c32[0] == (int32_t)(2147488288LL - 4294967296LL),
          "i32 wraps modulo 2^32: %d", c32[0]);
    g = td_gemm_rowmajor(TD_U16, 1, 1, 1);
    uint16_t a16[1] = {300}, b16[1] = {300}, c16[1] = {1};
    g.alpha = -1; /* -90000 mod 65536 = 41072 */
    CHECK(td_gemm_run(ctx, &g, a16, b16, c16) == TD_OK && c16[0] == 41072, "u16 wraps: %u", c16[0]);
    g = td_gemm_rowmajor(TD_I64, 1, 1, 1);
    int64_t a64[1] = {INT64_MAX}, b64[1] = {2}, c64[1] = {0};
    CHECK(td_gemm_run(ctx, &g, a64, b64, c64) == TD_OK && c64[0] == -2, "i64 wraps: %lld", (long long)c64[0]);
    g.k = 0, g.beta = -3, c64[0] = 5;
    CHECK(td_gemm_run(ctx, &g, NULL, NULL, c64) == TD_OK && c64[0] == -15, "i64 k = 0 scales by beta");
    td_ctx_free(ctx);
}

/* f16, bf16 and the FP8 formats go through f32 and round once. */
static void test_narrow(void)
{
    lcg r = {5};
    static const td_dtype dtypes[] = {TD_F16, TD_BF16, TD_F8E4M3, TD_F8E5M2};
    for (size_t d = 0; d < 4; d++)
        for (int la = 0; la < L_COUNT; la++) {
            /* k = 2 and |values| <= 2 keep every sum within FP8's exact integers (8) */
            td_gemm g = td_gemm_rowmajor(dtypes[d], 3, 2, 2);
            int64_t ba, sa, bb, sb, bc, sc;
            layout(la, 3, 2, &g.a_rs, &g.a_cs, &ba, &sa);
            layout(L_ROW, 2, 2, &g.b_rs, &g.b_cs, &bb, &sb);
            layout((la + 2) % L_COUNT, 3, 2, &g.c_rs, &g.c_cs, &bc, &sc);
            g.batch_rank = 1, g.batch[0] = 3, g.a_bs[0] = 0, g.b_bs[0] = sb, g.c_bs[0] = sc;
            view a = make_view(g.dtype, ba, sa, &r, -2, 2), b = make_view(g.dtype, bb, 3 * sb, &r, -1, 1),
                 c = make_view(g.dtype, bc, 3 * sc, &r, -2, 2);
            g.beta = la % 2;
            char label[96];
            snprintf(label, sizeof label, "%s, A %s", td_dtype_name(g.dtype), LAYOUT_NAMES[la]);
            check_run(label, &g, &a, &b, &c, la == 0 && d == 1 ? "sgemm 3 x 3x2x2; A f32; B f32; C f32" : NULL);
            free_views(&a, &b, &c);
        }

    /* Rounded once, after beta C is added in f32: 256 * 1 + 1 * 1 + 1 = 258
     * exactly in bf16, where rounding A B (257) to bf16 first would give 256
     * and then 256 + 1 = 257 -> 256 again. */
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_gemm g = td_gemm_rowmajor(TD_BF16, 1, 1, 2);
    uint16_t a[2] = {td_f32_to_bf16(256), td_f32_to_bf16(1)}, b[2] = {td_f32_to_bf16(1), td_f32_to_bf16(1)};
    uint16_t c[1] = {td_f32_to_bf16(1)};
    g.beta = 1;
    CHECK(td_gemm_run(ctx, &g, a, b, c) == TD_OK && td_bf16_to_f32(c[0]) == 258, "bf16 rounds once: %g",
          td_bf16_to_f32(c[0]));
    /* c_f32: the same sums stored in an f32 C, not rounded to bf16 or f16:
     * 256 + 1 = 257, and beta C added in f32 (257 + 0.25) */
    g = td_gemm_rowmajor(TD_BF16, 1, 1, 2);
    g.c_f32 = true;
    float c32[1] = {NAN};
    CHECK(td_gemm_run(ctx, &g, a, b, c32) == TD_OK && c32[0] == 257, "bf16 to f32 C: %g", c32[0]);
    g.beta = 2, c32[0] = 0.125f;
    CHECK(td_gemm_run(ctx, &g, a, b, c32) == TD_OK && c32[0] == 257.25f, "bf16 to f32 C, beta 2: %g", c32[0]);
    uint16_t ah[2] = {td_f32_to_f16(2048), td_f32_to_f16(1)}, bh[2] = {td_f32_to_f16(1), td_f32_to_f16(1)};
    g = td_gemm_rowmajor(TD_F16, 1, 1, 2);
    g.c_f32 = true, c32[0] = NAN;
    CHECK(td_gemm_run(ctx, &g, ah, bh, c32) == TD_OK && c32[0] == 2049, "f16 to f32 C: %g (f16 would give 2048)", c32[0]);
    /* a batch of transposed A with a padded, column-major f32 C, against the sums in double */
    {
        enum { M = 3, N = 4, K = 5, B = 2 };
        uint16_t at[B * K * M], bm[B * K * N];
        float cc[B * 2 * N * M + 1];
        for (int i = 0; i < B * K * M; i++)
            at[i] = td_f32_to_bf16((float)((i * 7) % 11 - 5) / 4);
        for (int i = 0; i < B * K * N; i++)
            bm[i] = td_f32_to_bf16((float)((i * 5) % 9 - 4) / 8);
        for (int i = 0; i < B * 2 * N * M + 1; i++)
            cc[i] = -1;
        g = td_gemm_rowmajor(TD_BF16, M, N, K);
        g.c_f32 = true;
        g.a_rs = 1, g.a_cs = M;     /* A stored transposed */
        g.c_rs = 1, g.c_cs = 2 * M; /* C column-major, columns padded to 2 M */
        g.batch_rank = 1, g.batch[0] = B, g.a_bs[0] = K * M, g.b_bs[0] = K * N, g.c_bs[0] = 2 * N * M;
        CHECK(td_gemm_run(ctx, &g, at, bm, cc) == TD_OK, "bf16 to f32 C, batched: %s", td_ctx_error(ctx));
        int wrong = 0;
        for (int t = 0; t < B; t++)
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int p = 0; p < K; p++)
                        s += (double)td_bf16_to_f32(at[t * K * M + p * M + i]) * td_bf16_to_f32(bm[t * K * N + p * N + j]);
                    wrong += cc[t * 2 * N * M + j * 2 * M + i] != (float)s; /* eighths and quarters: exact */
                }
        int untouched = 0;
        for (int t = 0; t < B; t++)
            for (int j = 0; j < N; j++)
                for (int i = M; i < 2 * M; i++)
                    untouched += cc[t * 2 * N * M + j * 2 * M + i] == -1;
        CHECK(wrong == 0 && untouched == B * N * M && cc[B * 2 * N * M] == -1,
              "bf16 to f32 C, batched: %d wrong, %d of %d padding untouched", wrong, untouched, B * N * M);
        char plan[96];
        CHECK(td_gemm_describe(ctx, &g, at, bm, cc, plan, sizeof plan) == TD_OK && strstr(plan, "C f32") != NULL,
              "bf16 to f32 C goes through f32: %s", plan);
    }
    /* f8e4m3 saturates to NaN past 464, as its conversion does */
    g = td_gemm_rowmajor(TD_F8E4M3, 1, 1, 1);
    uint8_t a8[1] = {td_f32_to_f8e4m3(32)}, b8[1] = {td_f32_to_f8e4m3(16)}, c8[1] = {0};
    CHECK(td_gemm_run(ctx, &g, a8, b8, c8) == TD_OK && isnan(td_f8e4m3_to_f32(c8[0])), "f8e4m3 overflow is NaN");
    td_ctx_free(ctx);
}

/* C may overlap A or B (x = x @ W in place): the result is as if the inputs
 * were read first. */
static void test_overlap(void)
{
    lcg r = {6};
    td_gemm g = td_gemm_rowmajor(TD_F32, 3, 3, 3);
    view x = make_view(TD_F32, 0, 9, &r, -3, 3), w = make_view(TD_F32, 0, 9, &r, -3, 3);
    float want[9];
    memcpy(want, x.buf, sizeof want);
    reference(&g, x.buf, w.buf, want); /* beta 0: writes every element from the old x */
    float old[9];
    memcpy(old, x.buf, sizeof old);
    g.beta = 0;
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    char plan[160];
    CHECK(td_gemm_describe(ctx, &g, x.buf, w.buf, x.buf, plan, sizeof plan) == TD_OK &&
              strcmp(plan, "sgemm 1 x 3x3x3; A N ld=3; B N ld=3; C ld=3; copies A first (C overlaps it)") == 0,
          "in-place plan '%s'", plan);
    CHECK(td_gemm_run(ctx, &g, x.buf, w.buf, x.buf) == TD_OK && memcmp(x.buf, want, sizeof want) == 0,
          "x = x @ w in place");
    memcpy(x.buf, old, sizeof old);
    memcpy(want, old, sizeof want);
    reference(&g, w.buf, x.buf, want);
    CHECK(td_gemm_run(ctx, &g, w.buf, x.buf, x.buf) == TD_OK && memcmp(x.buf, want, sizeof want) == 0,
          "x = w @ x in place");
    /* x = x @ x: both inputs are C */
    memcpy(x.buf, old, sizeof old);
    memcpy(want, old, sizeof want);
    reference(&g, old, old, want);
    CHECK(td_gemm_describe(ctx, &g, x.buf, x.buf, x.buf, plan, sizeof plan) == TD_OK &&
              strstr(plan, "; copies A and B first (C overlaps them)"), "x = x @ x plan '%s'", plan);
    CHECK(td_gemm_run(ctx, &g, x.buf, x.buf, x.buf) == TD_OK && memcmp(x.buf, want, sizeof want) == 0,
          "x = x @ x in place");
    /* C the second half of A's buffer, with integers through the loop */
    int32_t buf[8] = {1, 2, 3, 4, 0, 0, 0, 0}, w2[4] = {1, 1, 0, 1};
    g = td_gemm_rowmajor(TD_I32, 2, 2, 2);
    g.a_rs = 4; /* A = [[1, 2], [0, 0]] is buf[0, 1, 4, 5]; C is buf[4..8], written row by row */
    CHECK(td_gemm_describe(ctx, &g, buf, w2, buf + 4, plan, sizeof plan) == TD_OK &&
              strcmp(plan, "loop 1 x 2x2x2; copies A first (C overlaps it)") == 0,
          "overlap found: '%s'", plan);
    CHECK(td_gemm_run(ctx, &g, buf, w2, buf + 4) == TD_OK && buf[4] == 1 && buf[5] == 3 && buf[6] == 0 &&
              buf[7] == 0 && buf[0] == 1 && buf[3] == 4,
          "integer overlap: %d %d %d %d", buf[4], buf[5], buf[6], buf[7]);
    free(x.buf);
    free(w.buf);
    td_ctx_free(ctx);
}

/* Every error, with its message; C is left unchanged. */
static void expect_error(td_ctx *ctx, const char *label, const td_gemm *g, const void *a, const void *b, void *c,
                         const char *words)
{
    td_ctx_clear_error(ctx);
    td_status st = td_gemm_run(ctx, g, a, b, c);
    const char *msg = td_ctx_error(ctx);
    CHECK(st == TD_ERR_INPUT && msg && strstr(msg, words) && !strchr(msg, '\n'),
          "%s: expected an error with '%s', got status %d, '%s'", label, words, (int)st, msg ? msg : "(none)");
    td_ctx_clear_error(ctx);
    char plan[64];
    st = td_gemm_describe(ctx, g, a, b, c, plan, sizeof plan);
    msg = td_ctx_error(ctx);
    CHECK(st == TD_ERR_INPUT && msg && strstr(msg, words), "%s: describe gives the same error, got '%s'", label,
          msg ? msg : "(none)");
    td_ctx_clear_error(ctx);
}

static void test_errors(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    _Alignas(16) float a[16] = {0}, b[16] = {0}, c[16];
    for (int i = 0; i < 16; i++)
        c[i] = (float)i;
    const td_gemm ok = td_gemm_rowmajor(TD_F32, 2, 2, 2);
    td_gemm g;

    expect_error(ctx, "NULL descriptor", NULL, a, b, c, "td_gemm: the descriptor is NULL");
    g = ok, g.dtype = TD_BOOL;
    expect_error(ctx, "bool", &g, a, b, c, "td_gemm: dtype bool has no matrix product");
    g = ok, g.dtype = (td_dtype)99;
    expect_error(ctx, "bad dtype", &g, a, b, c, "td_gemm: unknown dtype 99");
    g = ok, g.m = -1;
    expect_error(ctx, "negative m", &g, a, b, c, "td_gemm: m = -1 is negative");
    g = ok, g.n = -2;
    expect_error(ctx, "negative n", &g, a, b, c, "td_gemm: n = -2 is negative");
    g = ok, g.k = -3;
    expect_error(ctx, "negative k", &g, a, b, c, "td_gemm: k = -3 is negative");
    g = ok, g.k = (int64_t)1 << 31, g.a_rs = 0, g.a_cs = 0, g.b_rs = 0;
    expect_error(ctx, "k past int", &g, a, b, c,
                 "td_gemm: k = 2147483648 is more than 2147483647, the largest size OpenBLAS's 32-bit interface "
                 "takes");
    g = ok, g.batch_rank = TD_GEMM_MAX_BATCH + 1;
    expect_error(ctx, "nine batch axes", &g, a, b, c, "td_gemm: batch_rank = 9 is not in 0..8");
    g = ok, g.batch_rank = -1;
    expect_error(ctx, "negative batch_rank", &g, a, b, c, "td_gemm: batch_rank = -1 is not in 0..8");
    g = ok, g.batch_rank = 2, g.batch[0] = 1, g.batch[1] = -2;
    expect_error(ctx, "negative batch size", &g, a, b, c, "td_gemm: batch axis 1 has negative size -2");
    g = ok, g.alpha = NAN;
    expect_error(ctx, "NaN alpha", &g, a, b, c, "td_gemm: alpha = nan is not finite");
    g = ok, g.beta = -INFINITY;
    expect_error(ctx, "infinite beta", &g, a, b, c, "td_gemm: beta = -inf is not finite");
    g = ok, g.dtype = TD_I32, g.alpha = 0.5;
    expect_error(ctx, "fractional alpha for i32", &g, a, b, c,
                 "td_gemm: alpha = 0.5 is not an integer in i64's range, as i32 needs");
    g = ok, g.dtype = TD_U16, g.beta = 0x1p63;
    expect_error(ctx, "huge beta for u16", &g, a, b, c, "td_gemm: beta = 9.22337e+18 is not an integer");
    g = ok, g.a_rs = INT64_MAX / 2 + 1;
    expect_error(ctx, "A offsets overflow", &g, a, b, c,
                 "td_gemm: A's offsets overflow: its sizes times strides span more than PTRDIFF_MAX bytes");
    g = ok, g.dtype = TD_F64, g.b_cs = (int64_t)1 << 61, g.b_rs = -((int64_t)1 << 61);
    expect_error(ctx, "B bytes overflow", &g, a, b, c, "td_gemm: B's offsets overflow");
    g = ok, g.batch_rank = 1, g.batch[0] = 3, g.c_bs[0] = INT64_MIN / 2;
    expect_error(ctx, "C batch offsets overflow", &g, a, b, c, "td_gemm: C's offsets overflow");
    expect_error(ctx, "NULL A", &ok, NULL, b, c, "td_gemm: A is NULL but has elements");
    expect_error(ctx, "NULL B", &ok, a, NULL, c, "td_gemm: B is NULL but has elements");
    expect_error(ctx, "NULL C", &ok, a, b, NULL, "td_gemm: C is NULL but has elements");
    expect_error(ctx, "misaligned A", &ok, (char *)a + 1, b, c,
                 "td_gemm: A is not aligned to its 4-byte f32 elements");
    g = ok, g.dtype = TD_F64;
    expect_error(ctx, "misaligned C", &g, a, b, (char *)c + 4, "td_gemm: C is not aligned to its 8-byte f64 elements");
    g = ok, g.c_f32 = true;
    expect_error(ctx, "c_f32 from f32", &g, a, b, c, "td_gemm: c_f32 asks for an f32 C from f16 or bf16 operands, and these are f32");
    g = ok, g.dtype = TD_F8E4M3, g.c_f32 = true;
    expect_error(ctx, "c_f32 from f8e4m3", &g, a, b, c, "and these are f8e4m3");
    g = ok, g.dtype = TD_BF16, g.c_f32 = true;
    expect_error(ctx, "misaligned f32 C of bf16", &g, a, b, (char *)c + 2, "td_gemm: C is not aligned to its 4-byte f32 elements");
    g = ok, g.batch_rank = 1, g.batch[0] = 2, g.c_bs[0] = 0;
    expect_error(ctx, "C broadcast", &g, a, b, c,
                 "td_gemm: C overlaps itself: its batch axis 0 (size 2, stride 0) lands on elements that its axes "
                 "of smaller stride already reach; every element of C needs its own address");
    g = ok, g.c_rs = 1;
    expect_error(ctx, "C rows overlap", &g, a, b, c, "C overlaps itself: its column axis (size 2, stride 1)");
    g = ok, g.c_rs = -1, g.c_cs = 2, g.m = 3;
    expect_error(ctx, "C interleaved", &g, a, b, c + 4, "C overlaps itself: its column axis (size 2, stride 2)");
    int unchanged = 0;
    for (int i = 0; i < 16; i++)
        unchanged += c[i] == (float)i;
    CHECK(unchanged == 16, "errors leave C unchanged");

    char plan[8];
    CHECK(td_gemm_describe(ctx, &ok, a, b, c, NULL, 8) == TD_ERR_INPUT && td_ctx_error(ctx) &&
              strstr(td_ctx_error(ctx), "td_gemm: describe: the buffer is NULL or empty"),
          "describe without a buffer");
    td_ctx_clear_error(ctx);
    CHECK(td_gemm_describe(ctx, &ok, a, b, c, plan, sizeof plan) == TD_OK && strcmp(plan, "sgemm 1") == 0,
          "describe cuts to the buffer: '%s'", plan);
    CHECK(td_gemm_run(NULL, &ok, a, b, c) == TD_ERR_INPUT, "no context");
    /* sizes past INT_MAX are fine for integers, which never reach BLAS */
    g = ok, g.dtype = TD_I64, g.k = (int64_t)1 << 31, g.alpha = 0;
    g.a_rs = g.a_cs = g.b_rs = g.b_cs = 0;
    int64_t ci[4] = {1, 2, 3, 4};
    CHECK(td_gemm_run(ctx, &g, a, b, ci) == TD_OK && ci[0] == 0, "i64 k = 2^31 (alpha 0)");
    td_ctx_free(ctx);
}

void test_gemm(void)
{
    test_layouts();
    test_plans();
    test_batches();
    test_beta_and_k0();
    test_integers();
    test_narrow();
    test_overlap();
    test_errors();
}

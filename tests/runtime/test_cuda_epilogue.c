/* test_cuda_epilogue.c - td_cuda_gemm_epilogue_run (runtime/cuda/gemm.c).
 *
 * Without a GPU: the epilogue's own checks (flags, the bias, the dtype,
 * c_f32), each TD_ERR_INPUT with its message before the GPU is asked
 * for, and a valid call then TD_ERR_DEVICE. With a GPU: in f64, f32, f16
 * and bf16, for bias, relu and the two, a product on each route (cuBLAS
 * with cuBLASLt's epilogue: row-major, and a strided batch; the runtime's
 * own pass after cuBLAS with C transposed, after the small route's kernel,
 * and with beta 1), against td_gemm_run on the CPU followed by the bias
 * and relu in the dtype's arithmetic, the whole of C's buffer compared.
 * Tolerances at compare(). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_internal.h"
#include "td.h"
#include "test.h"
#include "test_fixture.h"


static const td_dptr FAKE_A = 0x10000000, FAKE_B = 0x20000000, FAKE_C = 0x30000000, FAKE_BIAS = 0x40000000;

static void expect_bad(td_ctx *ctx, const char *label, const td_gemm *g, td_dptr c, td_dptr bias, int epilogue,
                       const char *message)
{
    td_ctx_clear_error(ctx);
    td_status st = td_cuda_gemm_epilogue_run(ctx, g, FAKE_A, FAKE_B, c, bias, epilogue);
    test_expect_input_error(ctx, st, "td_cuda_gemm: ", label, message);
}

static void test_checks(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    const int both = TD_EPILOGUE_BIAS | TD_EPILOGUE_RELU;
    td_gemm ok = td_gemm_rowmajor(TD_F32, 3, 4, 5), g;
    CHECK(td_cuda_gemm_epilogue_run(NULL, &ok, FAKE_A, FAKE_B, FAKE_C, FAKE_BIAS, both) == TD_ERR_INPUT,
          "a NULL context");
    expect_bad(ctx, "flags 0", &ok, FAKE_C, 0, 0, "flags 0 are not");
    expect_bad(ctx, "flags 4", &ok, FAKE_C, 0, 4, "flags 4 are not");
    expect_bad(ctx, "flags -1", &ok, FAKE_C, 0, -1, "flags -1 are not");
    expect_bad(ctx, "no descriptor", NULL, FAKE_C, FAKE_BIAS, both, "the descriptor is NULL");
    g = ok, g.dtype = TD_I32;
    expect_bad(ctx, "i32", &g, FAKE_C, FAKE_BIAS, both, "dtype i32; it takes f64, f32, f16 and bf16");
    g = ok, g.dtype = TD_F8E4M3;
    expect_bad(ctx, "f8e4m3", &g, FAKE_C, FAKE_BIAS, both, "dtype f8e4m3");
    g = ok, g.dtype = TD_BF16, g.c_f32 = true;
    expect_bad(ctx, "c_f32", &g, FAKE_C, FAKE_BIAS, both, "(c_f32)");
    expect_bad(ctx, "no bias", &ok, FAKE_C, 0, both, "TD_EPILOGUE_BIAS with a NULL bias");
    expect_bad(ctx, "a bias unasked", &ok, FAKE_C, FAKE_BIAS, TD_EPILOGUE_RELU, "a bias without TD_EPILOGUE_BIAS");
    expect_bad(ctx, "misaligned", &ok, FAKE_C, FAKE_BIAS + 2, TD_EPILOGUE_BIAS, "not aligned to its 4-byte");
    /* C is 3 x 4 at FAKE_C: a bias at its last row, or just before it with the last element in C */
    expect_bad(ctx, "bias in C", &ok, FAKE_C, FAKE_C + 8 * 4, TD_EPILOGUE_BIAS, "the bias overlaps C");
    expect_bad(ctx, "bias into C", &ok, FAKE_C, FAKE_C - 3 * 4, TD_EPILOGUE_BIAS, "the bias overlaps C");
    g = ok, g.k = -1;
    expect_bad(ctx, "the descriptor's own checks", &g, FAKE_C, FAKE_BIAS, both, "negative");
    /* beside C is fine: before the GPU is asked for, nothing is wrong */
    char why[512];
    if (!td_cuda_available(ctx, why, sizeof why)) {
        td_status st = td_cuda_gemm_epilogue_run(ctx, &ok, FAKE_A, FAKE_B, FAKE_C, FAKE_C - 4 * 4, both);
        CHECK(st == TD_ERR_DEVICE, "a valid call without a GPU: status %d (expected TD_ERR_DEVICE)", (int)st);
        g = ok, g.m = 0;
        st = td_cuda_gemm_epilogue_run(ctx, &g, FAKE_A, FAKE_B, FAKE_C, FAKE_BIAS, both);
        CHECK(st == TD_OK, "an empty C without a GPU: status %d (nothing to do)", (int)st);
    }
    td_ctx_free(ctx);
}

/* ---- with a GPU ---- */

typedef struct rng64 {
    uint64_t s;
} rng64;

static double uniform(rng64 *r) /* splitmix64, in [-2, 2) */
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53 * 4 - 2;
}

/* x rounded to t, as the CPU stores it */
static void put(void *p, td_dtype t, int64_t i, double x)
{
    switch (t) {
    case TD_F64: ((double *)p)[i] = x; break;
    case TD_F32: ((float *)p)[i] = (float)x; break;
    case TD_F16: ((uint16_t *)p)[i] = td_f32_to_f16((float)x); break;
    default: ((uint16_t *)p)[i] = td_f32_to_bf16((float)x); break;
    }
}

typedef struct epi_case {
    const char *name;
    td_gemm g;
    int64_t a_size, b_size, c_size; /* elements of each buffer */
} epi_case;

/* C[i][j] + bias[j] and relu, in the dtype's arithmetic (f32 for f16 and
 * bf16), rounded once; mag[e] gets terms[e] (the product's terms'
 * magnitudes) + |bias[j]|, the scale of the rounding errors */
static void cpu_epilogue(const epi_case *cs, void *c, const void *bias, int epilogue, const void *terms, double *mag)
{
    const td_gemm *g = &cs->g;
    int64_t items = 1;
    for (int t = 0; t < g->batch_rank; t++)
        items *= g->batch[t];
    for (int64_t item = 0; item < items; item++) {
        int64_t at = 0, rest = item;
        for (int t = g->batch_rank - 1; t >= 0; t--) {
            at += rest % g->batch[t] * g->c_bs[t];
            rest /= g->batch[t];
        }
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t j = 0; j < g->n; j++) {
                int64_t e = at + i * g->c_rs + j * g->c_cs;
                double v = test_element(c, g->dtype, e), b = test_element(bias, g->dtype, j);
                mag[e] = test_element(terms, g->dtype, e) + (epilogue & TD_EPILOGUE_BIAS ? fabs(b) : 0);
                if (epilogue & TD_EPILOGUE_BIAS)
                    v = g->dtype == TD_F64 ? v + b : (double)((float)v + (float)b);
                if ((epilogue & TD_EPILOGUE_RELU) && v < 0)
                    v = 0;
                put(c, g->dtype, e, v);
            }
    }
}

/* Elements of C's buffer that differ by more than the tolerance: the
 * product's sum in another order (k terms of |x| <= 1/2, in f64 or f32), and
 * 2 units of the dtype's precision of mag, |alpha| |A| |B| + |beta| |C| +
 * |bias|: the product rounded before the bias is added (the CPU, the
 * runtime's own pass) or not (cuBLASLt's epilogue), and cuBLAS's own
 * roundings with beta != 0, which where terms cancel are far more than an
 * ulp of the result. Elements outside C's view (mag < 0): exact. */
static int64_t compare(const epi_case *cs, const void *got, const void *want, const double *mag, int64_t *first)
{
    td_dtype t = cs->g.dtype;
    double eps = t == TD_F64 ? 0x1p-52 : t == TD_F32 ? 0x1p-23 : t == TD_F16 ? 0x1p-10 : 0x1p-7;
    double sums = 4.0 * (double)cs->g.k * (t == TD_F64 ? 0x1p-52 : 0x1p-23) / 4;
    int64_t wrong = 0;
    for (int64_t e = 0; e < cs->c_size; e++) {
        double a = test_element(got, t, e), b = test_element(want, t, e);
        bool bad = mag[e] < 0 ? a != b : fabs(a - b) > sums + 2 * eps * mag[e];
        if (bad && wrong++ == 0)
            *first = e;
    }
    return wrong;
}

static void fill(void *p, td_dtype t, int64_t count, rng64 *r)
{
    for (int64_t i = 0; i < count; i++)
        put(p, t, i, uniform(r));
}

static void run_case(td_ctx *ctx, td_ctx *cpu, rng64 *r, const epi_case *cs, int epilogue)
{
    td_dtype t = cs->g.dtype;
    size_t es = td_dtype_size(t);
    static double a[64 * 1024], b[64 * 1024], c[32 * 1024], want[32 * 1024], got[32 * 1024], bias[512];
    static double mag[32 * 1024], abs_a[64 * 1024], abs_b[64 * 1024], terms[32 * 1024];
    if ((size_t)cs->a_size > sizeof a / 8 || (size_t)cs->b_size > sizeof b / 8 || (size_t)cs->c_size > sizeof c / 8 ||
        (size_t)cs->g.n > sizeof bias / 8) {
        CHECK(false, "%s: the case's buffers are too large for the test", cs->name);
        return;
    }
    fill(a, t, cs->a_size, r);
    fill(b, t, cs->b_size, r);
    for (int64_t i = 0; i < cs->b_size; i++) /* |A| |B| of 200 terms about 12 (the tolerance's scale), the bias 2 */
        put(b, t, i, test_element(b, t, i) / 16);
    fill(c, t, cs->c_size, r);
    fill(bias, t, cs->g.n, r);
    memcpy(want, c, (size_t)cs->c_size * es);
    char label[160];
    snprintf(label, sizeof label, "%s %s%s%s", td_dtype_name(t), cs->name, epilogue & TD_EPILOGUE_BIAS ? ", bias" : "",
             epilogue & TD_EPILOGUE_RELU ? ", relu" : "");
    CHECK(td_gemm_run(cpu, &cs->g, a, b, want) == TD_OK, "%s: the CPU: %s", label, td_ctx_error(cpu));
    /* the terms' magnitudes: the product of |A| and |B|, with |alpha| and |beta| |C| */
    for (int64_t i = 0; i < cs->a_size; i++)
        put(abs_a, t, i, fabs(test_element(a, t, i)));
    for (int64_t i = 0; i < cs->b_size; i++)
        put(abs_b, t, i, fabs(test_element(b, t, i)));
    for (int64_t i = 0; i < cs->c_size; i++)
        put(terms, t, i, fabs(test_element(c, t, i)));
    td_gemm abs_g = cs->g;
    abs_g.alpha = fabs(abs_g.alpha), abs_g.beta = fabs(abs_g.beta);
    CHECK(td_gemm_run(cpu, &abs_g, abs_a, abs_b, terms) == TD_OK, "%s: the CPU: %s", label, td_ctx_error(cpu));
    for (int64_t i = 0; i < cs->c_size; i++)
        mag[i] = -1;
    cpu_epilogue(cs, want, bias, epilogue, terms, mag);
    td_dptr da = 0, db = 0, dc = 0, dbias = 0;
    td_status st = td_cuda_alloc(ctx, (size_t)cs->a_size * es, "A", &da);
    if (st == TD_OK)
        st = td_cuda_alloc(ctx, (size_t)cs->b_size * es, "B", &db);
    if (st == TD_OK)
        st = td_cuda_alloc(ctx, (size_t)cs->c_size * es, "C", &dc);
    if (st == TD_OK)
        st = td_cuda_alloc(ctx, (size_t)cs->g.n * es, "the bias", &dbias);
    if (st == TD_OK)
        st = td_cuda_upload(ctx, da, a, (size_t)cs->a_size * es);
    if (st == TD_OK)
        st = td_cuda_upload(ctx, db, b, (size_t)cs->b_size * es);
    if (st == TD_OK)
        st = td_cuda_upload(ctx, dc, c, (size_t)cs->c_size * es);
    if (st == TD_OK)
        st = td_cuda_upload(ctx, dbias, bias, (size_t)cs->g.n * es);
    if (st == TD_OK)
        st = td_cuda_gemm_epilogue_run(ctx, &cs->g, da, db, dc, epilogue & TD_EPILOGUE_BIAS ? dbias : 0, epilogue);
    if (st == TD_OK)
        st = td_cuda_download(ctx, got, dc, (size_t)cs->c_size * es);
    CHECK(st == TD_OK, "%s: %s", label, td_ctx_error(ctx));
    int64_t first = 0, wrong = st == TD_OK ? compare(cs, got, want, mag, &first) : 0;
    CHECK(wrong == 0, "%s: %lld of %lld elements differ from the CPU's; first at %lld: %.9g, expected %.9g", label,
          (long long)wrong, (long long)cs->c_size, (long long)first, test_element(got, t, first), test_element(want, t, first));
    td_cuda_free(ctx, da);
    td_cuda_free(ctx, db);
    td_cuda_free(ctx, dc);
    td_cuda_free(ctx, dbias);
}

static void test_gpu(td_ctx *ctx, td_ctx *cpu)
{
    rng64 r = {2026};
    static const td_dtype dtypes[] = {TD_F64, TD_F32, TD_F16, TD_BF16};
    static const int epilogues[] = {TD_EPILOGUE_BIAS, TD_EPILOGUE_RELU, TD_EPILOGUE_BIAS | TD_EPILOGUE_RELU};
    for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++)
        for (size_t k = 0; k < sizeof epilogues / sizeof epilogues[0]; k++) {
            td_dtype t = dtypes[d];
            epi_case cs = {"160x96x200 row-major (cuBLAS)", td_gemm_rowmajor(t, 160, 96, 200), 160 * 200, 200 * 96,
                           160 * 96};
            run_case(ctx, cpu, &r, &cs, epilogues[k]);
            cs.name = "160x96x200, beta 1";
            cs.g.beta = 1;
            run_case(ctx, cpu, &r, &cs, epilogues[k]);
            cs = (epi_case){"160x96x200, C column-major (transposed)", td_gemm_rowmajor(t, 160, 96, 200), 160 * 200,
                            200 * 96, 160 * 96};
            cs.g.c_rs = 1, cs.g.c_cs = 160;
            run_case(ctx, cpu, &r, &cs, epilogues[k]);
            cs = (epi_case){"3 x 48x40x64, a strided batch", td_gemm_rowmajor(t, 48, 40, 64), 3 * 48 * 64, 3 * 64 * 40,
                            3 * 48 * 40};
            cs.g.batch_rank = 1, cs.g.batch[0] = 3;
            cs.g.a_bs[0] = 48 * 64, cs.g.b_bs[0] = 64 * 40, cs.g.c_bs[0] = 48 * 40;
            run_case(ctx, cpu, &r, &cs, epilogues[k]);
            cs = (epi_case){"5x7x9 (the small route)", td_gemm_rowmajor(t, 5, 7, 9), 5 * 9, 9 * 7, 5 * 7};
            run_case(ctx, cpu, &r, &cs, epilogues[k]);
            cs = (epi_case){"5x7x9 with padded rows (the small route)", td_gemm_rowmajor(t, 5, 7, 9), 5 * 9, 9 * 7,
                            5 * 11};
            cs.g.c_rs = 11;
            run_case(ctx, cpu, &r, &cs, epilogues[k]);
        }
    /* in a group of small products, the epilogue's product runs after what is queued */
    td_gemm g = td_gemm_rowmajor(TD_F32, 4, 4, 4);
    float a[16], c1[16], c2[16];
    for (int i = 0; i < 16; i++)
        a[i] = (float)(i % 5) - 2;
    td_dptr da = 0, dc1 = 0, dc2 = 0;
    td_status st = td_cuda_alloc(ctx, sizeof a, "A", &da);
    if (st == TD_OK)
        st = td_cuda_alloc(ctx, sizeof c1, "C1", &dc1);
    if (st == TD_OK)
        st = td_cuda_alloc(ctx, sizeof c2, "C2", &dc2);
    if (st == TD_OK)
        st = td_cuda_upload(ctx, da, a, sizeof a);
    if (st == TD_OK)
        st = td_cuda_gemm_group_begin(ctx);
    if (st == TD_OK)
        st = td_cuda_gemm_run(ctx, &g, da, da, dc1); /* queued */
    if (st == TD_OK)
        st = td_cuda_gemm_epilogue_run(ctx, &g, dc1, da, dc2, 0, TD_EPILOGUE_RELU); /* reads it */
    if (st == TD_OK)
        st = td_cuda_gemm_group_end(ctx);
    if (st == TD_OK)
        st = td_cuda_download(ctx, c2, dc2, sizeof c2);
    CHECK(st == TD_OK, "a group: %s", td_ctx_error(ctx));
    td_gemm_run(cpu, &g, a, a, c1);
    float want[16];
    td_gemm_run(cpu, &g, c1, a, want);
    int wrong = 0;
    for (int i = 0; st == TD_OK && i < 16; i++)
        wrong += c2[i] != (want[i] < 0 ? 0 : want[i]); /* small integers: exact */
    CHECK(wrong == 0, "a group: the epilogue's product ran before the queued one it reads (%d wrong)", wrong);
    td_cuda_free(ctx, da);
    td_cuda_free(ctx, dc1);
    td_cuda_free(ctx, dc2);
}

void test_cuda_epilogue(void)
{
    test_checks();
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    char why[512];
    if (!td_cuda_available(ctx, why, sizeof why)) {
        printf("skipped: GPU epilogue tests: %s\n", why);
        td_ctx_free(ctx);
        return;
    }
    td_ctx *cpu = td_ctx_new(TD_DEVICE_CPU);
    for (int small = 1; small >= 0; small--) { /* then the small ones too by cuBLAS */
        td_cuda_small_products(ctx, small);
        test_gpu(ctx, cpu);
    }
    /* the f16 and bf16 row-major products, each epilogue a shape of its own, ran on cuBLASLt (timed, or
     * their choice read from the disk cache); not under a sanitizer, where nothing is timed */
    int64_t lt = 0;
    td_cuda_tune_counts(ctx, NULL, NULL, &lt);
    const char *tune = getenv("TDC_GEMM_TUNE");
    if (!td_cuda_under_a_tool() && !(tune && strcmp(tune, "off") == 0))
        CHECK(lt >= 6, "%lld shapes on cuBLASLt, expected the f16 and bf16 epilogues' 6 at least", (long long)lt);
    td_cuda_small_products(ctx, true);
    td_ctx_free(cpu);
    td_ctx_free(ctx);
}

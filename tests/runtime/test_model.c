/* test_model.c - compiled models and their command line, on a hand-written
 * model description of the kind tdc generates: dims batch (run time) and
 * hidden = 4, params w: f32["hidden 2"] (normal) and b: f32["2"] (ones),
 * and four functions: forward (x @ w + b), pair (two inputs sharing batch,
 * one with an axis 2*batch, two outputs, failing on a NaN), scale (an axis
 * 3*batch/2) and fill (an axis batch*batch that binds nothing); forward
 * and scale carry cost descriptions (forward times its two operations when
 * profiled), pair and fill were "compiled without accounting". It checks
 * td_size_eval (coefficients, denominators, negative powers, overflow),
 * td_model_new/free (dims, the plan, alignment, initialisation, every
 * failure), and td_main end to end: the exact `info` text (with the FLOPs
 * of a call once the dims are bound), results of `run` read back from .npy
 * files, `params` checkpoints loaded with --params, `profile` of a
 * function, and the exit status and the exact one-line message of every
 * error path, with stdout and stderr captured through dup2. test_train.c
 * checks profile's table in detail. */
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx_internal.h"
#include "td.h"
#include "test.h"
#include "test_fixture.h"

void test_model(void);

/* ---- the model: what tdc would generate for toy.td ---- */

enum { BATCH, HIDDEN, MAX_BATCH = 1000 };

#define DIM(d) {1, 1, 1, {d}, {1}}
#define CONST(n) {n, 1, 0, {0}, {0}}

static const td_dim_desc DIMS[] = {{"batch", 0}, {"hidden", 4}};
static const td_size_expr SHAPE_W[] = {DIM(HIDDEN), CONST(2)};
static const td_size_expr SHAPE_B[] = {CONST(2)};
static const td_size_expr SHAPE_X[] = {DIM(BATCH), DIM(HIDDEN)};
static const td_size_expr SHAPE_Y[] = {DIM(BATCH), {2, 1, 1, {BATCH}, {1}}};
static const td_size_expr SHAPE_OUT[] = {DIM(BATCH), CONST(2)};
static const td_size_expr SHAPE_2B[] = {{2, 1, 1, {BATCH}, {1}}};
static const td_size_expr SHAPE_Z[] = {{3, 2, 1, {BATCH}, {1}}};
static const td_size_expr SHAPE_G[] = {{1, 1, 1, {BATCH}, {2}}};

static const td_tensor_desc PARAMS[] = {{"w", TD_F32, 2, SHAPE_W, "hidden 2"}, {"b", TD_F32, 1, SHAPE_B, "2"}};
static const td_tensor_desc FORWARD_IN[] = {{"x", TD_F32, 2, SHAPE_X, "batch hidden"}};
static const td_tensor_desc FORWARD_OUT[] = {{"result", TD_F32, 2, SHAPE_OUT, "batch 2"}};
static const td_tensor_desc PAIR_IN[] = {{"x", TD_F32, 2, SHAPE_X, "batch hidden"},
                                         {"y", TD_F32, 2, SHAPE_Y, "batch 2*batch"}};
static const td_tensor_desc PAIR_OUT[] = {{"result", TD_F32, 1, SHAPE_X, "batch"},
                                          {"result1", TD_F32, 1, SHAPE_2B, "2*batch"}};
static const td_tensor_desc SCALE_IO[] = {{"z", TD_F64, 1, SHAPE_Z, "3*batch/2"}};
static const td_tensor_desc SCALE_OUT[] = {{"result", TD_F64, 1, SHAPE_Z, "3*batch/2"}};
static const td_tensor_desc FILL_IN[] = {{"g", TD_F32, 1, SHAPE_G, "batch*batch"}};
static const td_tensor_desc FILL_OUT[] = {{"result", TD_F32, 1, SHAPE_X, "batch"}};

/* What the generated code does around operation `op` while profiling. */
static void profiled(td_model *m, int op, double start)
{
    if (m->profile && op < m->profile->nops) {
        m->profile->seconds[op] += td_now() - start;
        m->profile->calls[op]++;
    }
}

/* result[i][j] = sum_h x[i][h] w[h][j] + b[j]: the contraction (operation
 * 0), then the bias (operation 1). */
static td_status forward(td_model *m, const void *const *in, void *const *out)
{
    const float *x = in[0], *w = td_model_param(m, 0), *b = td_model_param(m, 1);
    float *y = out[0];
    int64_t n = m->dims[BATCH], h = m->dims[HIDDEN];
    double start = m->profile ? td_now() : 0;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < 2; j++) {
            float acc = 0;
            for (int64_t k = 0; k < h; k++)
                acc += x[i * h + k] * w[k * 2 + j];
            y[i * 2 + j] = acc;
        }
    profiled(m, 0, start);
    start = m->profile ? td_now() : 0;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < 2; j++)
            y[i * 2 + j] += b[j];
    profiled(m, 1, start);
    return TD_OK;
}

static const td_op_desc FORWARD_OPS[] = {{3, 12, "contract"}, {5, 12, "map"}};

static void forward_costs(const int64_t *dims, double *flops, double *bytes)
{
    double n = (double)dims[BATCH], h = (double)dims[HIDDEN];
    flops[0] = 4 * n * h, bytes[0] = 4 * (n * h + 2 * h + 2 * n);
    flops[1] = 2 * n, bytes[1] = 4 * (4 * n + 2);
}

static const td_cost_desc FORWARD_COST = {2, FORWARD_OPS, forward_costs};

/* result[i] = sum_h x[i][h]; result1[k] = sum_i y[i][k]; a NaN in x fails. */
static td_status pair(td_model *m, const void *const *in, void *const *out)
{
    const float *x = in[0], *y = in[1];
    float *r0 = out[0], *r1 = out[1];
    int64_t n = m->dims[BATCH], h = m->dims[HIDDEN];
    for (int64_t i = 0; i < n * h; i++)
        if (isnan(x[i]))
            return td_fail(m->ctx, TD_ERR_INPUT, "x holds a NaN at element %lld", (long long)i);
    for (int64_t i = 0; i < n; i++) {
        r0[i] = 0;
        for (int64_t k = 0; k < h; k++)
            r0[i] += x[i * h + k];
    }
    for (int64_t k = 0; k < 2 * n; k++) {
        r1[k] = 0;
        for (int64_t i = 0; i < n; i++)
            r1[k] += y[i * 2 * n + k];
    }
    return TD_OK;
}

/* result = 2 z; drawn inputs must be finite. */
static td_status scale(td_model *m, const void *const *in, void *const *out)
{
    const double *z = in[0];
    double *r = out[0], start = m->profile ? td_now() : 0;
    for (int64_t i = 0; i < 3 * m->dims[BATCH] / 2; i++) {
        if (!isfinite(z[i]))
            return td_fail(m->ctx, TD_ERR_INPUT, "z[%lld] is not finite", (long long)i);
        r[i] = 2 * z[i];
    }
    profiled(m, 0, start);
    return TD_OK;
}

static const td_op_desc SCALE_OPS[] = {{1, 20, "map"}};

static void scale_costs(const int64_t *dims, double *flops, double *bytes)
{
    flops[0] = 1.5 * (double)dims[BATCH], bytes[0] = 16 * 1.5 * (double)dims[BATCH];
}

static const td_cost_desc SCALE_COST = {1, SCALE_OPS, scale_costs};

/* result[i] = sum_j g[i * batch + j] */
static td_status fill(td_model *m, const void *const *in, void *const *out)
{
    const float *g = in[0];
    float *r = out[0];
    int64_t n = m->dims[BATCH];
    for (int64_t i = 0; i < n; i++) {
        r[i] = 0;
        for (int64_t j = 0; j < n; j++)
            r[i] += g[i * n + j];
    }
    return TD_OK;
}

static const td_fn_desc FNS[] = {
    {"forward", 1, 1, FORWARD_IN, FORWARD_OUT, forward, &FORWARD_COST, NULL, NULL},
    {"pair", 2, 2, PAIR_IN, PAIR_OUT, pair, NULL, NULL, NULL},
    {"scale", 1, 1, SCALE_IO, SCALE_OUT, scale, &SCALE_COST, NULL, NULL},
    {"fill", 1, 1, FILL_IN, FILL_OUT, fill, NULL, NULL, NULL},
};

/* w at 0 (32 bytes), b at 64; the workspace holds batch x hidden f32. */
static td_status plan(td_ctx *ctx, const int64_t *dims, size_t region_bytes[TD_REGION_COUNT], size_t *offsets)
{
    if (dims[BATCH] > MAX_BATCH)
        return td_fail(ctx, TD_ERR_INPUT, "batch is %lld but toy needs batch <= %d", (long long)dims[BATCH],
                       MAX_BATCH);
    region_bytes[TD_REGION_PARAMS] = 72;
    region_bytes[TD_REGION_WORKSPACE] = (size_t)(dims[BATCH] * dims[HIDDEN]) * sizeof(float);
    offsets[0] = 0, offsets[1] = 64;
    return TD_OK;
}

static td_status init_params(td_model *m)
{
    td_status st = td_init_normal(m->ctx, &m->rng, TD_F32, td_model_param(m, 0), 2, (int64_t[]){4, 2}, 0, 1);
    return st == TD_OK ? td_init_ones(m->ctx, TD_F32, td_model_param(m, 1), 1, (int64_t[]){2}) : st;
}

static const td_model_desc TOY = {"toy", 2, 2, 4, DIMS, PARAMS, FNS, plan, init_params, 0, NULL, "toy", NULL, 0, NULL, false, NULL};

/* ---- td_size_eval ---- */

static void size_eval(void)
{
    const int64_t dims[] = {6, 4, 1, (int64_t)1 << 32, (int64_t)1 << 32, 3};
    struct {
        td_size_expr s;
        int64_t want;
    } cases[] = {
        {CONST(7), 7}, {CONST(0), 0}, {DIM(0), 6}, {DIM(1), 4},
        {{3, 2, 1, {0}, {1}}, 9},                       /* 3*batch/2 */
        {{1, 1, 2, {0, 1}, {1, -1}}, -1},               /* 6/4 is not whole */
        {{2, 1, 2, {0, 1}, {1, -1}}, 3},                /* 2*6/4 */
        {{1, 3, 2, {0, 1}, {2, 1}}, 48},                /* 6*6*4/3 */
        {{1, 3, 1, {1}, {-1}}, -1},                     /* 1/12 */
        {{12, 1, 2, {0, 5}, {-1, -1}}, -1},             /* 12/18 */
        {{36, 1, 2, {0, 5}, {-1, -1}}, 2},              /* 36/(6*3) */
        {{1, 1, 1, {1}, {5}}, 1024},                    /* 4**5 */
        {{1, 1, 1, {2}, {1000000}}, 1},                 /* 1**1000000, at once */
        {{1, 1, 1, {3}, {2}}, -1},                      /* 2^64 overflows */
        {{1, 1, 2, {3, 4}, {2, -1}}, (int64_t)1 << 32}, /* 2^64 / 2^32: reduced on the way */
        {{INT64_MAX, 1, 1, {0}, {1}}, -1},
        {{1, 0, 0, {0}, {0}}, -1},  /* den 0 */
        {{-2, 1, 0, {0}, {0}}, -1}, /* negative */
        {{1, 1, 9, {0}, {0}}, -1},  /* too many factors */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = td_size_eval(&cases[i].s, dims);
        CHECK(got == cases[i].want, "td_size_eval case %zu: %lld, expected %lld", i, (long long)got,
              (long long)cases[i].want);
    }
    CHECK(td_size_eval(NULL, dims) == -1, "td_size_eval(NULL)");
    const int64_t zero[] = {0};
    CHECK(td_size_eval(&(td_size_expr)DIM(0), zero) == -1, "an unbound dim gives -1");
}

/* ---- td_model_new and td_model_free ---- */

static void expect_new_fails(const td_model_desc *desc, const int64_t *dims, const char *want, int line)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = td_model_new(ctx, desc, dims, 0);
    const char *msg = td_ctx_error(ctx) ? td_ctx_error(ctx) : "(no message)";
    CHECK(m == NULL, "line %d: td_model_new succeeded", line);
    CHECK(strcmp(msg, want) == 0, "line %d: message\n  got:  %s\n  want: %s", line, msg, want);
    td_model_free(m);
    td_ctx_free(ctx);
}

static td_status plan_past_end(td_ctx *ctx, const int64_t *dims, size_t *region_bytes, size_t *offsets)
{
    plan(ctx, dims, region_bytes, offsets);
    offsets[1] = 68; /* b's 8 bytes end at 76, past the 72 of the region */
    return TD_OK;
}

static td_status plan_silent_failure(td_ctx *ctx, const int64_t *dims, size_t *region_bytes, size_t *offsets)
{
    return TD_ERR_INPUT;
}

static td_status init_bad_std(td_model *m)
{
    return td_init_normal(m->ctx, &m->rng, TD_F32, td_model_param(m, 0), 2, (int64_t[]){4, 2}, 0, -1);
}

static void model_failures(void)
{
    expect_new_fails(&TOY, NULL, "dim 'batch' is bound at run time and needs a value of at least 1, not 0", __LINE__);
    expect_new_fails(&TOY, (int64_t[]){-3, 4}, "dim 'batch' is bound at run time and needs a value of at least 1, not -3",
                     __LINE__);
    expect_new_fails(&TOY, (int64_t[]){3, 5}, "dim 'hidden' is 4 in model toy, but 5 was given", __LINE__);
    expect_new_fails(&TOY, (int64_t[]){1001, 0}, "batch is 1001 but toy needs batch <= 1000", __LINE__);
    td_model_desc bad = TOY;
    bad.plan = plan_past_end;
    expect_new_fails(&bad, (int64_t[]){3, 0},
                     "model toy: the plan puts param 'b' (8 bytes) at offset 68 of a 72-byte params region", __LINE__);
    bad.plan = plan_silent_failure;
    expect_new_fails(&bad, (int64_t[]){3, 0}, "model toy: the plan failed", __LINE__);
    bad = TOY;
    bad.init_params = init_bad_std;
    expect_new_fails(&bad, (int64_t[]){3, 0}, "normal: std must be positive and finite, not -1", __LINE__);
    expect_new_fails(NULL, NULL, "td_model_new: no model description, or negative counts in it", __LINE__);
    td_model_free(NULL);
}

/* A model with GPU code compiles its kernels ahead (model.c's
 * compile_ahead, while the driver makes the device's context) only where
 * it may run on the GPU: on a CPU context the GPU is never touched; under
 * auto without a GPU it runs on the CPU with the note and no error, and
 * keeps nothing compiled; with one it runs there, its kernels loaded. */
static void model_compiled_ahead(void)
{
    static const char *const names[] = {"toy_k"};
    td_model_desc gpu = TOY;
    gpu.cuda_source = "extern \"C\" __global__ void toy_k(float *x) { x[0] = 1; }\n";
    gpu.ncuda_kernels = 1;
    gpu.cuda_kernel_names = names;
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = td_model_new(ctx, &gpu, (int64_t[]){4, 4}, 1);
    CHECK(m && !m->on_gpu && !m->kernels_built && !ctx->cuda, "cpu: the GPU is not touched: %s", td_ctx_error(ctx));
    td_model_free(m);
    td_ctx_free(ctx);
    ctx = td_ctx_new(TD_DEVICE_AUTO);
    char why[512];
    bool gpu_here = td_cuda_available(ctx, why, sizeof why);
    td_ctx_free(ctx);
    ctx = td_ctx_new(TD_DEVICE_AUTO);
    m = td_model_new(ctx, &gpu, (int64_t[]){4, 4}, 1);
    if (gpu_here) {
        CHECK(m && m->on_gpu && m->kernels && !m->kernels_built && !td_ctx_error(ctx), "auto with a GPU: loaded there: %s",
              td_ctx_error(ctx));
    } else {
        CHECK(m && !m->on_gpu && !m->kernels_built && !td_ctx_error(ctx) &&
                  td_ctx_note(ctx) && strstr(td_ctx_note(ctx), "device auto: running on the CPU: ") &&
                  strstr(td_ctx_note(ctx), why),
              "auto without a GPU: the CPU, with the note '%s' and no error '%s'", td_ctx_note(ctx), td_ctx_error(ctx));
    }
    td_model_free(m);
    td_ctx_free(ctx);
}

/* The device side of td_model_new and td_model_call that needs no GPU: a
 * description without GPU code refuses the GPU when it is asked for and
 * runs on the CPU under auto; a function index out of range; the staging
 * bytes at batch 4: pair's, the largest call: x (64 B) at 0, y (128 B) at
 * 64, its results (16 and 32 B) at 192 and 256; at batch 3 scale's input
 * (3 * batch / 2 elements) is not whole, and that is the error. */
static void model_devices(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    td_model *m = td_model_new(ctx, &TOY, (int64_t[]){3, 0}, 1);
    CHECK(!m && td_ctx_error_status(ctx) == TD_ERR_DEVICE &&
              strcmp(td_ctx_error(ctx), "model toy was compiled without CUDA code, so it runs on the CPU only") == 0,
          "--device cuda, no GPU code: %s", td_ctx_error(ctx));
    td_ctx_free(ctx);
    ctx = td_ctx_new(TD_DEVICE_AUTO);
    m = td_model_new(ctx, &TOY, (int64_t[]){3, 0}, 1);
    CHECK(m && !m->on_gpu, "auto: a model without GPU code runs on the CPU: %s", td_ctx_error(ctx));
    float x[12] = {0}, y[6];
    const void *in[] = {x};
    void *out[] = {y};
    CHECK(m && td_model_call(m, 9, in, out) == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "model toy has no function 9 (it has 4)") == 0,
          "a function out of range: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(m && td_model_call(m, 0, in, out) == TD_OK, "td_model_call on the CPU: %s", td_ctx_error(ctx));
    CHECK(td_model_call(NULL, 0, in, out) == TD_ERR_INPUT, "no model");
    size_t stage = 0;
    td_status st = td_model_stage_bytes(ctx, &TOY, (int64_t[]){4, 4}, &stage);
    CHECK(st == TD_OK && stage == 256 + 32, "staging for batch 4: %zu bytes (%s)", stage, td_ctx_error(ctx));
    CHECK(td_model_stage_bytes(ctx, &TOY, (int64_t[]){3, 4}, &stage) == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "model toy: axis 0 of 'z' overflows or is not whole") == 0,
          "staging for batch 3: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_model_sync_host(m) == TD_OK && td_model_sync_device(m) == TD_OK, "syncs on the CPU do nothing");
    td_model_free(m);
    td_ctx_free(ctx);
}

static void model_lifecycle(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = td_model_new(ctx, &TOY, (int64_t[]){3, 0}, 42);
    CHECK(m != NULL, "td_model_new: %s", td_ctx_error(ctx));
    if (!m) {
        td_ctx_free(ctx);
        return;
    }
    CHECK(m->dims[BATCH] == 3 && m->dims[HIDDEN] == 4, "dims bound: %lld %lld", (long long)m->dims[0],
          (long long)m->dims[1]);
    CHECK(m->region_bytes[TD_REGION_PARAMS] == 72 && m->region_bytes[TD_REGION_WORKSPACE] == 48, "region bytes");
    CHECK((uintptr_t)m->region[TD_REGION_PARAMS] % 64 == 0 && (uintptr_t)m->region[TD_REGION_WORKSPACE] % 64 == 0,
          "regions 64-byte aligned");
    CHECK((unsigned char *)td_model_param(m, 1) == m->region[TD_REGION_PARAMS] + 64, "param b at offset 64");
    CHECK(td_model_param(m, 2) == NULL && td_model_param(m, -1) == NULL && td_model_param(NULL, 0) == NULL,
          "td_model_param out of range is NULL");
    float want[8];
    td_rng rng = {42, 0};
    td_init_normal(ctx, &rng, TD_F32, want, 2, (int64_t[]){4, 2}, 0, 1);
    CHECK(memcmp(td_model_param(m, 0), want, sizeof want) == 0, "w is normal(0, 1) from the stream of seed 42");
    const float *b = td_model_param(m, 1);
    CHECK(b[0] == 1 && b[1] == 1, "b is ones");
    td_model *again = td_model_new(ctx, &TOY, (int64_t[]){3, 4}, 42), *other = td_model_new(ctx, &TOY, (int64_t[]){3, 4}, 43);
    CHECK(again && other, "static dims may be given their value");
    if (again && other) {
        CHECK(memcmp(td_model_param(again, 0), want, sizeof want) == 0, "one seed, one init");
        CHECK(memcmp(td_model_param(other, 0), want, sizeof want) != 0, "another seed, another init");
    }
    td_model_free(again);
    td_model_free(other);
    td_model_free(m);
    td_ctx_free(ctx);
}

/* ---- td_main: running the command line with captured output ---- */

static const char *write_npy(fixture *fx, const char *name, td_dtype dtype, int rank, const int64_t *shape,
                             const void *data)
{
    const char *path = arg(fx, "%s/%s", fx->dir, name);
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_status st = td_npy_write(ctx, path, dtype, rank, shape, data);
    CHECK(st == TD_OK, "writing %s: %s", path, td_ctx_error(ctx));
    td_ctx_free(ctx);
    return path;
}

/* Reads a .npy result and checks its dtype, shape and elements (within
 * `tol`, absolute: the sums here are of a few small numbers). */
static void expect_npy(fixture *fx, int line, const char *name, td_dtype dtype, int rank, const int64_t *shape,
                       const double *want, double tol)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_npy npy;
    td_status st = td_npy_read(ctx, arg(fx, "%s/%s", fx->dir, name), &npy);
    CHECK(st == TD_OK, "line %d: reading %s: %s", line, name, td_ctx_error(ctx));
    if (st == TD_OK) {
        bool same = npy.dtype == dtype && npy.rank == rank;
        for (int a = 0; same && a < rank; a++)
            same = npy.shape[a] == shape[a];
        CHECK(same, "line %d: %s has dtype %s rank %d", line, name, td_dtype_name(npy.dtype), npy.rank);
        for (size_t i = 0; same && i < npy.elements; i++) {
            double v = dtype == TD_F64 ? ((double *)npy.data)[i] : ((float *)npy.data)[i];
            CHECK(fabs(v - want[i]) <= tol, "line %d: %s[%zu] = %g, expected %g", line, name, i, v, want[i]);
        }
    }
    td_npy_free(&npy);
    td_ctx_free(ctx);
}

/* ---- td_main: help and info ---- */

static const char INFO[] = "model toy\n"
                           "dims\n"
                           "  batch   bound at run time\n"
                           "  hidden  = 4\n"
                           "params\n"
                           "  w  f32[\"hidden 2\"]  [4, 2]  32 B\n"
                           "  b  f32[\"2\"]         [2]     8 B\n"
                           "functions\n"
                           "  forward(x: f32[\"batch hidden\"]) -> f32[\"batch 2\"]\n"
                           "  pair(x: f32[\"batch hidden\"], y: f32[\"batch 2*batch\"]) -> (f32[\"batch\"], f32[\"2*batch\"])\n"
                           "  scale(z: f64[\"3*batch/2\"]) -> f64[\"3*batch/2\"]\n"
                           "  fill(g: f32[\"batch*batch\"]) -> f32[\"batch\"]\n"
                           "memory plan\n"
                           "  needs --dims batch=N\n";

static const char INFO_DIMS[] = "model toy\n"
                                "dims\n"
                                "  batch   = 300 (bound at run time, from --dims)\n"
                                "  hidden  = 4\n"
                                "params\n"
                                "  w  f32[\"hidden 2\"]  [4, 2]  32 B\n"
                                "  b  f32[\"2\"]         [2]     8 B\n"
                                "functions\n"
                                "  forward(x: f32[\"batch hidden\"]) -> f32[\"batch 2\"]\n"
                                "    flops      5400 a call (5.40 kFLOP), 2 operations\n"
                                "  pair(x: f32[\"batch hidden\"], y: f32[\"batch 2*batch\"]) -> (f32[\"batch\"], f32[\"2*batch\"])\n"
                                "  scale(z: f64[\"3*batch/2\"]) -> f64[\"3*batch/2\"]\n"
                                "    flops      450 a call, 1 operation\n"
                                "  fill(g: f32[\"batch*batch\"]) -> f32[\"batch\"]\n"
                                "memory plan\n"
                                "  params     72 B\n"
                                "  workspace  4800 B (4.69 KiB)\n"
                                "  grads      0 B\n"
                                "  optimizer  0 B\n"
                                "  total      4872 B (4.76 KiB)\n";

static void cli_help_and_info(fixture *fx)
{
    CLI(fx, (const char *)NULL);
    CHECK(fx->status == 2 && strncmp(fx->err, "usage: toy COMMAND", 18) == 0 && !fx->out[0],
          "no arguments: usage on stderr, exit 2 (%d)", fx->status);
    const char *helps[] = {"help", "--help", "-h"};
    for (int i = 0; i < 3; i++) {
        CLI(fx, helps[i]);
        CHECK(fx->status == 0 && strncmp(fx->out, "usage: toy COMMAND", 18) == 0 && !fx->err[0], "%s", helps[i]);
        CHECK(strstr(fx->out, "functions: forward, pair, scale, fill\n") != NULL, "usage lists the functions");
    }
    EXPECT_OK(fx, "run", "forward", "--help");
    CHECK(strncmp(fx->out, "usage: toy", 10) == 0, "run --help prints the usage");
    EXPECT_OK(fx, "info");
    CHECK(strcmp(fx->out, INFO) == 0, "info\n--- got:\n%s--- want:\n%s", fx->out, INFO);
    EXPECT_OK(fx, "info", "--dims", "batch=300");
    CHECK(strcmp(fx->out, INFO_DIMS) == 0, "info --dims\n--- got:\n%s--- want:\n%s", fx->out, INFO_DIMS);
    EXPECT_OK(fx, "info", "--dims=batch=300,hidden=4");
    CHECK(strcmp(fx->out, INFO_DIMS) == 0, "info --dims=...\n--- got:\n%s", fx->out);
    EXPECT_FAIL(fx, 2, "batch is 1001 but toy needs batch <= 1000", "info", "--dims", "batch=1001");
}

/* ---- td_main: flags and numbers ---- */

static void cli_bad_flags(fixture *fx)
{
    EXPECT_FAIL(fx, 2, "unknown command 'frob' (commands: info, run, params, train, profile, help)", "frob");
    EXPECT_FAIL(fx, 2, "info: unknown option '--in' (info takes --dims)", "info", "--in", "x=a.npy");
    EXPECT_FAIL(fx, 2, "run: unknown option '--bogus' (run takes --dims, --in, --out, --seed, --params, --device, --allow-tf32)", "run",
                "forward", "--bogus=1");
    EXPECT_FAIL(fx, 2, "info: unexpected argument 'extra'", "info", "extra");
    EXPECT_FAIL(fx, 2, "run: unexpected argument 'pair'", "run", "forward", "pair");
    EXPECT_FAIL(fx, 2, "option --dims needs a value", "info", "--dims");
    EXPECT_FAIL(fx, 2, "option --dims needs a value", "info", "--dims=");
    EXPECT_FAIL(fx, 2, "option --out needs a value", "run", "forward", "--out", "--seed", "3");
    EXPECT_FAIL(fx, 2, "option --seed is given twice", "run", "forward", "--seed", "1", "--seed", "2");
    EXPECT_FAIL(fx, 2, "--dims batch=abc: 'abc' is not a whole number", "info", "--dims", "batch=abc");
    EXPECT_FAIL(fx, 2, "--dims batch=3x: '3x' is not a whole number", "info", "--dims", "batch=3x");
    EXPECT_FAIL(fx, 2, "--dims batch=0: dim 'batch' must be at least 1", "info", "--dims", "batch=0");
    EXPECT_FAIL(fx, 2, "--dims batch=-1: dim 'batch' must be at least 1", "info", "--dims", "batch=-1");
    EXPECT_FAIL(fx, 2, "--dims batch=99999999999999999999: too large (at most 9223372036854775807)", "info", "--dims",
                "batch=99999999999999999999");
    EXPECT_FAIL(fx, 2, "--dims batch=9223372036854775808: too large (at most 9223372036854775807)", "info", "--dims",
                "batch=9223372036854775808");
    EXPECT_FAIL(fx, 2, "--dims batch=: no value after '='", "info", "--dims", "batch=");
    EXPECT_FAIL(fx, 2, "--dims batch: give a value, as batch=N", "info", "--dims", "batch");
    EXPECT_FAIL(fx, 2, "--dims: an empty entry (give NAME=N[,NAME=N...])", "info", "--dims", "batch=3,,hidden=4");
    EXPECT_FAIL(fx, 2, "--dims =3: no dim name before '='", "info", "--dims", "=3");
    EXPECT_FAIL(fx, 2, "--dims seq=3: model toy has no dim 'seq' (dims: batch, hidden)", "info", "--dims", "seq=3");
    EXPECT_FAIL(fx, 2, "--dims hidden=5: dim 'hidden' is 4 in model toy", "info", "--dims", "hidden=5");
    EXPECT_FAIL(fx, 2, "--dims: dim 'batch' is given twice", "info", "--dims", "batch=3", "--dims", "batch=3");
    EXPECT_FAIL(fx, 2, "--seed abc: not a whole number", "run", "forward", "--seed", "abc");
    EXPECT_FAIL(fx, 2, "--seed -1: the seed must not be negative", "run", "forward", "--seed", "-1");
    EXPECT_FAIL(fx, 2, "--seed 18446744073709551616: too large (at most 18446744073709551615)", "run", "forward",
                "--seed", "18446744073709551616");
}

/* ---- td_main: run ---- */

static const float X[12] = {1, 2, 3, 4, 0.5f, -1, 0, 2, -3, 1, 1, 1}; /* 3 x 4 */

/* x @ w + b with the params of `seed`. */
static void forward_oracle(uint64_t seed, double out[6])
{
    float w[8];
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_rng rng = {seed, 0};
    td_init_normal(ctx, &rng, TD_F32, w, 2, (int64_t[]){4, 2}, 0, 1);
    td_ctx_free(ctx);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++) {
            out[i * 2 + j] = 1;
            for (int k = 0; k < 4; k++)
                out[i * 2 + j] += (double)X[i * 4 + k] * w[k * 2 + j];
        }
}

static void cli_run_ok(fixture *fx)
{
    const char *x = write_npy(fx, "x.npy", TD_F32, 2, (int64_t[]){3, 4}, X);
    float y[18];
    for (int i = 0; i < 18; i++)
        y[i] = (float)i;
    const char *yp = write_npy(fx, "y.npy", TD_F32, 2, (int64_t[]){3, 6}, y);
    double want[6], pair0[3] = {10, 1.5, 0}, pair1[6] = {18, 21, 24, 27, 30, 33};
    forward_oracle(0, want);
    EXPECT_OK(fx, "run", "forward", "--in", arg(fx, "x=%s", x), "--out", arg(fx, "%s/out.npy", fx->dir));
    expect_npy(fx, __LINE__, "out.npy", TD_F32, 2, (int64_t[]){3, 2}, want, 1e-5);
    forward_oracle(7, want);
    EXPECT_OK(fx, "run", "forward", "--seed", "7", arg(fx, "--in=x=%s", x), arg(fx, "--out=%s/out.npy", fx->dir),
              "--dims", "batch=3");
    expect_npy(fx, __LINE__, "out.npy", TD_F32, 2, (int64_t[]){3, 2}, want, 1e-5);
    EXPECT_OK(fx, "run", "pair", "--in", arg(fx, "y=%s", yp), "--in", arg(fx, "x=%s", x), "--out",
              arg(fx, "%s/p0.npy,%s/p1.npy", fx->dir, fx->dir));
    expect_npy(fx, __LINE__, "p0.npy", TD_F32, 1, (int64_t[]){3}, pair0, 0);
    expect_npy(fx, __LINE__, "p1.npy", TD_F32, 1, (int64_t[]){6}, pair1, 0);
    double z[6] = {1, 2, 3, 4, 5, 6.5}, z2[6] = {2, 4, 6, 8, 10, 13};
    const char *zp = write_npy(fx, "z.npy", TD_F64, 1, (int64_t[]){6}, z);
    EXPECT_OK(fx, "run", "scale", "--in", arg(fx, "z=%s", zp), "--out", arg(fx, "%s/z2.npy", fx->dir));
    expect_npy(fx, __LINE__, "z2.npy", TD_F64, 1, (int64_t[]){6}, z2, 0);
    const char *gp = write_npy(fx, "g.npy", TD_F32, 1, (int64_t[]){9}, y);
    double sums[3] = {3, 12, 21};
    EXPECT_OK(fx, "run", "fill", "--dims", "batch=3", "--in", arg(fx, "g=%s", gp), "--out", arg(fx, "%s/f.npy", fx->dir));
    expect_npy(fx, __LINE__, "f.npy", TD_F32, 1, (int64_t[]){3}, sums, 0);
}

static void cli_run_bad_args(fixture *fx)
{
    const char *x = arg(fx, "x=%s/x.npy", fx->dir), *y = arg(fx, "y=%s/y.npy", fx->dir);
    EXPECT_FAIL(fx, 2, "run needs a function name (functions: forward, pair, scale, fill)", "run");
    EXPECT_FAIL(fx, 2, "model toy has no function 'nope' (functions: forward, pair, scale, fill)", "run", "nope");
    EXPECT_FAIL(fx, 2, "run needs --out with a path for forward's 1 output (result)", "run", "forward", "--in", x);
    EXPECT_FAIL(fx, 2, "--out gives 1 path but pair has 2 outputs (result, result1)", "run", "pair", "--in", x, "--in",
                y, "--out", "a.npy");
    EXPECT_FAIL(fx, 2, "--out gives 2 paths but forward has 1 output (result)", "run", "forward", "--in", x, "--out",
                "a.npy,b.npy");
    EXPECT_FAIL(fx, 2, "--out a.npy,: an empty path (output 'result1')", "run", "pair", "--in", x, "--in", y, "--out",
                "a.npy,");
    EXPECT_FAIL(fx, 2, "input 'y' of pair is missing: give --in y=PATH", "run", "pair", "--in", x, "--out", "a,b");
    EXPECT_FAIL(fx, 2, "--in z=a.npy: forward has no input 'z' (inputs: x)", "run", "forward", "--in", "z=a.npy",
                "--out", "o.npy");
    EXPECT_FAIL(fx, 2, "--in: input 'x' is given twice", "run", "forward", "--in", x, "--in", x, "--out", "o.npy");
    EXPECT_FAIL(fx, 2, "--in a.npy: give the input's name, as --in NAME=PATH (inputs of forward: x)", "run", "forward",
                "--in", "a.npy", "--out", "o.npy");
    EXPECT_FAIL(fx, 2, "--in =x.npy: give the input's name, as --in NAME=PATH (inputs of forward: x)", "run",
                "forward", "--in", "=x.npy", "--out", "o.npy");
    EXPECT_FAIL(fx, 2, "--in x=: no path after '='", "run", "forward", "--in", "x=", "--out", "o.npy");
    EXPECT_FAIL(fx, 2, arg(fx, "%s/none.npy: cannot open: No such file or directory", fx->dir), "run", "forward",
                "--in", arg(fx, "x=%s/none.npy", fx->dir), "--out", "o.npy");
    EXPECT_FAIL(fx, 2, "dim 'batch' is not bound: give --dims batch=N", "run", "fill", "--in",
                arg(fx, "g=%s/g.npy", fx->dir), "--out", "o.npy");
}

static void cli_run_bad_inputs(fixture *fx)
{
    double x64[12] = {0};
    float x35[15] = {0}, y35[15] = {0}, x3[24] = {0}, x0[1] = {0};
    const char *o = arg(fx, "%s/o.npy", fx->dir), *o2 = arg(fx, "%s/o.npy,%s/o2.npy", fx->dir, fx->dir);
    const char *x = arg(fx, "x=%s/x.npy", fx->dir);
    write_npy(fx, "x64.npy", TD_F64, 2, (int64_t[]){3, 4}, x64);
    EXPECT_FAIL(fx, 2, "input 'x' is f64 but forward takes f32[\"batch hidden\"]", "run", "forward", "--in",
                arg(fx, "x=%s/x64.npy", fx->dir), "--out", o);
    write_npy(fx, "x3.npy", TD_F32, 3, (int64_t[]){2, 3, 4}, x3);
    EXPECT_FAIL(fx, 2, "input 'x' has rank 3 but forward takes f32[\"batch hidden\"] (rank 2)", "run", "forward", "--in",
                arg(fx, "x=%s/x3.npy", fx->dir), "--out", o);
    write_npy(fx, "x35.npy", TD_F32, 2, (int64_t[]){3, 5}, x35);
    EXPECT_FAIL(fx, 2, "input 'x' (axis 1) has size 5, but forward takes f32[\"batch hidden\"], whose axis 1 is hidden = 4",
                "run", "forward", "--in", arg(fx, "x=%s/x35.npy", fx->dir), "--out", o);
    write_npy(fx, "x0.npy", TD_F32, 2, (int64_t[]){0, 4}, x0);
    EXPECT_FAIL(fx, 2, "input 'x' (axis 0) has size 0, which makes dim 'batch' 0; dims must be at least 1", "run",
                "forward", "--in", arg(fx, "x=%s/x0.npy", fx->dir), "--out", o);
    EXPECT_FAIL(fx, 2, "dim 'batch' is 3 from input 'x' (axis 0) but 4 from --dims", "run", "forward", "--dims",
                "batch=4", "--in", x, "--out", o);
    write_npy(fx, "y35.npy", TD_F32, 2, (int64_t[]){3, 5}, y35);
    EXPECT_FAIL(fx, 2,
                "input 'y' (axis 1) has size 5, but pair takes f32[\"batch 2*batch\"], whose axis 1 is 2*batch: no "
                "whole batch makes it 5",
                "run", "pair", "--in", x, "--in", arg(fx, "y=%s/y35.npy", fx->dir), "--out", o2);
    write_npy(fx, "y38.npy", TD_F32, 2, (int64_t[]){3, 8}, x3);
    EXPECT_FAIL(fx, 2, "dim 'batch' is 3 from input 'x' (axis 0) but 4 from input 'y' (axis 1)", "run", "pair", "--in",
                x, "--in", arg(fx, "y=%s/y38.npy", fx->dir), "--out", o2);
    write_npy(fx, "y46.npy", TD_F32, 2, (int64_t[]){4, 6}, x3);
    EXPECT_FAIL(fx, 2, "dim 'batch' is 3 from input 'x' (axis 0) but 4 from input 'y' (axis 0)", "run", "pair", "--in",
                x, "--in", arg(fx, "y=%s/y46.npy", fx->dir), "--out", o2);
    write_npy(fx, "z4.npy", TD_F64, 1, (int64_t[]){4}, x64);
    EXPECT_FAIL(fx, 2,
                "input 'z' (axis 0) has size 4, but scale takes f64[\"3*batch/2\"], whose axis 0 is 3*batch/2: no whole "
                "batch makes it 4",
                "run", "scale", "--in", arg(fx, "z=%s/z4.npy", fx->dir), "--out", o);
    write_npy(fx, "g8.npy", TD_F32, 1, (int64_t[]){8}, x3);
    EXPECT_FAIL(fx, 2,
                "input 'g' (axis 0) has size 8, but fill takes f32[\"batch*batch\"], whose axis 0 is batch*batch = 9 "
                "(batch is 3 from --dims)",
                "run", "fill", "--dims", "batch=3", "--in", arg(fx, "g=%s/g8.npy", fx->dir), "--out", o);
    float *big = calloc(1001 * 4, sizeof *big);
    write_npy(fx, "x1001.npy", TD_F32, 2, (int64_t[]){1001, 4}, big);
    free(big);
    EXPECT_FAIL(fx, 2, "batch is 1001 but toy needs batch <= 1000", "run", "forward", "--in",
                arg(fx, "x=%s/x1001.npy", fx->dir), "--out", o);
}

static void cli_run_failures(fixture *fx)
{
    float xnan[12] = {NAN};
    write_npy(fx, "xnan.npy", TD_F32, 2, (int64_t[]){3, 4}, xnan);
    EXPECT_FAIL(fx, 1, "pair: x holds a NaN at element 0", "run", "pair", "--in", arg(fx, "x=%s/xnan.npy", fx->dir),
                "--in", arg(fx, "y=%s/y.npy", fx->dir), "--out", arg(fx, "%s/o.npy,%s/o2.npy", fx->dir, fx->dir));
    EXPECT_FAIL_HAS(fx, 2, "/no/such/dir/o.npy", "run", "forward", "--in", arg(fx, "x=%s/x.npy", fx->dir), "--out",
                    "/no/such/dir/o.npy");
}

/* ---- td_main: params checkpoints ---- */

static void write_ckpt(fixture *fx, const char *name, int n, const td_st_tensor *tensors)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_status st = td_safetensors_write(ctx, arg(fx, "%s/%s", fx->dir, name), n, tensors, 0, NULL, NULL);
    CHECK(st == TD_OK, "writing %s: %s", name, td_ctx_error(ctx));
    td_ctx_free(ctx);
}

static void cli_params_round_trip(fixture *fx)
{
    const char *ck = arg(fx, "%s/ck.safetensors", fx->dir);
    EXPECT_OK(fx, "params", "--out", ck, "--dims", "batch=2", "--seed", "5");
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_safetensors st;
    CHECK(td_safetensors_read(ctx, ck, &st) == TD_OK, "reading the checkpoint: %s", td_ctx_error(ctx));
    const char *model = td_safetensors_meta(&st, "tdc_model"), *seed = td_safetensors_meta(&st, "seed");
    CHECK(st.ntensors == 2 && model && strcmp(model, "toy") == 0 && seed && strcmp(seed, "5") == 0,
          "the checkpoint holds w and b, tdc_model and seed");
    const td_st_tensor *w = td_safetensors_find(&st, "w");
    CHECK(w && w->dtype == TD_F32 && w->rank == 2 && w->shape[0] == 4 && w->shape[1] == 2 && w->bytes == 32,
          "w: f32 [4, 2]");
    td_safetensors_free(&st);
    td_ctx_free(ctx);
    double want[6];
    forward_oracle(5, want);
    EXPECT_OK(fx, "run", "forward", "--params", ck, "--in", arg(fx, "x=%s/x.npy", fx->dir), "--out",
              arg(fx, "%s/out.npy", fx->dir));
    expect_npy(fx, __LINE__, "out.npy", TD_F32, 2, (int64_t[]){3, 2}, want, 1e-5);
    EXPECT_FAIL(fx, 2, "params needs --out PATH (the .safetensors file to write)", "params", "--dims", "batch=2");
    EXPECT_FAIL(fx, 2, "dim 'batch' is not bound: give --dims batch=N", "params", "--out", ck);
    EXPECT_FAIL(fx, 2, "params: unknown option '--in' (params takes --dims, --out, --seed, --device)", "params", "--in", "x=a");
}

static void cli_params_bad(fixture *fx)
{
    static const double data[16];
    const char *x = arg(fx, "x=%s/x.npy", fx->dir), *o = arg(fx, "%s/o.npy", fx->dir);
    td_st_tensor w = {"w", TD_F32, 2, {4, 2}, data, 32}, b = {"b", TD_F32, 1, {2}, data, 8};
    write_ckpt(fx, "only_w.safetensors", 1, &w);
    EXPECT_FAIL(fx, 2, arg(fx, "%s/only_w.safetensors: no tensor 'b' for param b: f32[\"2\"]", fx->dir), "run",
                "forward", "--params", arg(fx, "%s/only_w.safetensors", fx->dir), "--in", x, "--out", o);
    td_st_tensor wrong[] = {{"w", TD_F32, 2, {4, 3}, data, 48}, b};
    write_ckpt(fx, "shape.safetensors", 2, wrong);
    EXPECT_FAIL(fx, 2,
                arg(fx, "%s/shape.safetensors: tensor 'w' has shape [4, 3] but param w is f32[\"hidden 2\"] = [4, 2]",
                    fx->dir),
                "run", "forward", "--params", arg(fx, "%s/shape.safetensors", fx->dir), "--in", x, "--out", o);
    wrong[0] = (td_st_tensor){"w", TD_F64, 2, {4, 2}, data, 64};
    write_ckpt(fx, "dtype.safetensors", 2, wrong);
    EXPECT_FAIL(fx, 2, arg(fx, "%s/dtype.safetensors: tensor 'w' is f64 but param w is f32[\"hidden 2\"]", fx->dir),
                "run", "forward", "--params", arg(fx, "%s/dtype.safetensors", fx->dir), "--in", x, "--out", o);
    td_st_tensor extra[] = {w, b, {"v", TD_F32, 1, {1}, data, 4}};
    write_ckpt(fx, "extra.safetensors", 3, extra);
    EXPECT_FAIL(fx, 2, arg(fx, "%s/extra.safetensors: tensor 'v' is not a param of model toy (params: w, b)", fx->dir),
                "run", "forward", "--params", arg(fx, "%s/extra.safetensors", fx->dir), "--in", x, "--out", o);
    EXPECT_FAIL_HAS(fx, 2, "none.safetensors", "run", "forward", "--params", arg(fx, "%s/none.safetensors", fx->dir),
                    "--in", x, "--out", o);
    EXPECT_FAIL(fx, 2, "option --params is given twice", "run", "forward", "--params", "a", "--params", "b");
}

/* ---- td_main: profile ---- */

/* Row `op` of a profile's table: its node, line, kind, FLOPs and bytes a
 * call and calls; false when there is no such row. */
static bool profile_row(const char *out, int op, char *node, unsigned *line, char *kind, double *flops, double *bytes,
                        long long *calls)
{
    const char *p = strchr(out, '\n');
    p = p ? strchr(p + 1, '\n') : NULL; /* after the title and the header */
    for (; p && p[1] && strncmp(p + 1, "  operations", 12) != 0; p = strchr(p + 1, '\n')) {
        int index;
        if (sscanf(p + 1, "%d %15s %u %15s %lf %lf %lld", &index, node, line, kind, flops, bytes, calls) == 7 &&
            index == op)
            return true;
    }
    return false;
}

static void cli_profile(fixture *fx)
{
    const char *x = arg(fx, "x=%s/x.npy", fx->dir);
    EXPECT_OK(fx, "profile", "forward", "--in", x, "--steps", "4");
    static const char title[] = "profile of function forward: 4 calls (batch = 3, hidden = 4)\n",
                      drawn[] = "profile of function forward: 10 calls (batch = 300, hidden = 4)\n";
    CHECK(strncmp(fx->out, title, strlen(title)) == 0 &&
              strstr(fx->out, "\n  op  node  line  kind      FLOPs/call  bytes/call  calls    total ms       %    GFLOP/s"
                              "       GB/s\n") &&
              strstr(fx->out, "\ncalls      4 in "),
          "profile forward: the title, the header, the calls:\n%s", fx->out);
    char node[16], kind[16];
    unsigned line = 0;
    double flops = 0, bytes = 0;
    long long calls = 0;
    CHECK(profile_row(fx->out, 0, node, &line, kind, &flops, &bytes, &calls) && strcmp(node, "%3") == 0 && line == 12 &&
              strcmp(kind, "contract") == 0 && flops == 48 && bytes == 4 * (12 + 8 + 6) && calls == 4,
          "forward's contraction: 48 FLOPs, 104 bytes, 4 calls:\n%s", fx->out);
    CHECK(profile_row(fx->out, 1, node, &line, kind, &flops, &bytes, &calls) && strcmp(node, "%5") == 0 &&
              strcmp(kind, "map") == 0 && flops == 6 && bytes == 56 && calls == 4,
          "forward's bias: 6 FLOPs, 56 bytes, 4 calls:\n%s", fx->out);
    /* inputs drawn from the seed: batch from --dims; 10 calls by default */
    EXPECT_OK(fx, "profile", "forward", "--dims", "batch=300", "--seed", "4");
    CHECK(strncmp(fx->out, drawn, strlen(drawn)) == 0 &&
              profile_row(fx->out, 0, node, &line, kind, &flops, &bytes, &calls) && flops == 4800 && calls == 10,
          "profile forward with a drawn input:\n%s", fx->out);
    EXPECT_OK(fx, "profile", "scale", "--dims", "batch=4", "--steps", "2");
    CHECK(profile_row(fx->out, 0, node, &line, kind, &flops, &bytes, &calls) && flops == 6 && calls == 2 &&
              strcmp(node, "%1") == 0 && line == 20,
          "profile scale: a drawn f64 input, finite:\n%s", fx->out);
    EXPECT_FAIL(fx, 2, "this program was compiled without accounting", "profile", "pair", "--dims", "batch=3");
    EXPECT_FAIL(fx, 2, "this program was compiled without accounting", "profile", "fill");
    EXPECT_FAIL(fx, 2, "profile needs a function name or --train NAME (functions: forward, pair, scale, fill; train "
                       "blocks: none)",
                "profile");
    EXPECT_FAIL(fx, 2, "model toy has no train block", "profile", "--train", "fit");
    EXPECT_FAIL(fx, 2, "dim 'batch' is not bound: give --dims batch=N", "profile", "forward");
    EXPECT_FAIL(fx, 2, "input 'z' of scale: f64[\"3*batch/2\"] overflows or is not whole for these dims", "profile",
                "scale", "--dims", "batch=3");
    EXPECT_FAIL(fx, 2, "--steps 0: must be at least 1", "profile", "forward", "--steps", "0");
    EXPECT_FAIL(fx, 2, "profile: unexpected argument 'scale'", "profile", "forward", "scale");
    float xnan[12] = {NAN};
    write_npy(fx, "xnan.npy", TD_F32, 2, (int64_t[]){3, 4}, xnan);
    EXPECT_FAIL(fx, 2, "this program was compiled without accounting", "profile", "pair", "--in",
                arg(fx, "x=%s/xnan.npy", fx->dir));
    EXPECT_OK(fx, "help");
    CHECK(strstr(fx->out, "\n  profile FN [--in NAME=PATH ...]") && strstr(fx->out, "\n  --peak FLOPS "),
          "usage describes profile and --peak:\n%s", fx->out);
}

static void remove_dir(const char *dir)
{
    static const char *const names[] = {
        "stdout.txt", "stderr.txt", "x.npy", "y.npy", "z.npy", "g.npy", "out.npy", "p0.npy", "p1.npy", "z2.npy",
        "f.npy", "x64.npy", "x3.npy", "x35.npy", "x0.npy", "y35.npy", "y38.npy", "y46.npy", "z4.npy", "g8.npy",
        "x1001.npy", "xnan.npy", "o.npy", "o2.npy", "ck.safetensors", "only_w.safetensors", "shape.safetensors",
        "dtype.safetensors", "extra.safetensors",
    };
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    CHECK(rmdir(dir) == 0, "the temp dir %s holds only the files the test made", dir);
}

/* td_model_copy_bytes: a copy for an f32 param whose read dtype is bf16
 * or f16, each at a 64-byte boundary; none for its own dtype, for another
 * (a copy of an f64 param, or in f8, is not kept), or without the array. */
static void copy_bytes(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model_desc d = TOY;
    const int64_t dims[] = {3, 4};
    size_t offsets[2] = {7, 7}, bytes = 99;
    CHECK(td_model_copy_bytes(ctx, &d, dims, offsets, &bytes) == TD_OK && bytes == 0 && offsets[0] == SIZE_MAX &&
              offsets[1] == SIZE_MAX, "no read dtypes: no copies (%zu bytes)", bytes);
    static const td_dtype both[] = {TD_BF16, TD_F16}, one[] = {TD_F32, TD_BF16}, odd[] = {TD_F8E4M3, TD_F64};
    d.cuda_read_dtypes = both; /* w: 4 x 2 f32 -> 16 bytes at 0; b: 2 -> 4 bytes at 64 */
    CHECK(td_model_copy_bytes(ctx, &d, dims, offsets, &bytes) == TD_OK && offsets[0] == 0 && offsets[1] == 64 &&
              bytes == 68, "two copies: offsets %zu %zu, %zu bytes", offsets[0], offsets[1], bytes);
    d.cuda_read_dtypes = one;
    CHECK(td_model_copy_bytes(ctx, &d, dims, NULL, &bytes) == TD_OK && bytes == 4, "b's alone: %zu bytes", bytes);
    d.cuda_read_dtypes = odd;
    CHECK(td_model_copy_bytes(ctx, &d, dims, offsets, &bytes) == TD_OK && bytes == 0 && offsets[0] == SIZE_MAX,
          "f8 and f64 read dtypes keep no copy (%zu bytes)", bytes);
    td_ctx_free(ctx);
}

void test_model(void)
{
    size_eval();
    copy_bytes();
    model_failures();
    model_lifecycle();
    model_devices();
    model_compiled_ahead();
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/td_model_XXXXXX");
    CHECK(mkdtemp(fx->dir) != NULL, "mkdtemp %s", fx->dir);
    fx->desc = &TOY;
    cli_help_and_info(fx);
    cli_bad_flags(fx);
    cli_run_ok(fx);
    cli_run_bad_args(fx);
    cli_run_bad_inputs(fx);
    cli_run_failures(fx);
    cli_params_round_trip(fx);
    cli_params_bad(fx);
    cli_profile(fx);
    remove_dir(fx->dir);
    free(fx);
}

/* driver.c - the tdc side of bench/gpu: each benchmark in process, timed,
 * with the numbers a check needs written for bench.py.
 *
 *   driver [--cpu] fill SEED N SCALE OUT.npy
 *   driver [--cpu] matmul f32|tf32|bf16|linear_f32|linear_bf16 B D K WARMUP BATCHES PER_BATCH OUTDIR
 *   driver [--cpu] softmax ROWS N WARMUP BATCHES PER_BATCH OUTDIR
 *   driver [--cpu] train big|big_bf16|tiny BATCH WARMUP BATCHES PER_BATCH OUTDIR
 *   driver [--cpu] adamw N WARMUP BATCHES PER_BATCH OUTDIR
 *   driver startup BATCH
 *
 * Linked with the C that `tdc --lib` writes for bench/gpu/matmul.td,
 * bench/gpu/softmax.td, bench/gpu/cruncher_big.td, bench/gpu/cruncher_big_bf16.td
 * and examples/cruncher.td.
 * Inputs come from bench_value(), a hash of the element index that
 * bench.py computes bit for bit in torch or numpy, so no input crosses a
 * file. The matmul and softmax functions are called through
 * td_fn_desc.call_cuda on device buffers uploaded once, so only GPU work is
 * timed; train steps go through the generated <prefix>_train_step (batch
 * copied from host memory, loss read back), as an embedding program calls
 * it. Timing: WARMUP calls, then BATCHES batches of PER_BATCH calls, each
 * batch one wall-clock interval (td_now) closed by td_cuda_sync; each
 * batch's time over PER_BATCH is one sample, and bench.py takes medians.
 * --cpu runs everything on the CPU (td_ctx_new(TD_DEVICE_CPU), the
 * functions' C code) for the dry run on a machine without a GPU. Prints one
 * JSON object on stdout; any failure prints the context's message and
 * exits 1. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cruncher.h"
#include "cruncher_big.h"
#include "cruncher_big_bf16.h"
#include "matmul.h"
#include "softmax.h"
#include "td.h"
#include "cuda/cuda_internal.h" /* startup: the libraries' loads and cublasCreate, timed one by one */

enum { MAX_ARGS = 4, SAMPLES = 64 };

static bool use_gpu = true;

static void die(td_ctx *ctx, const char *where)
{
    const char *msg = ctx ? td_ctx_error(ctx) : NULL;
    fprintf(stderr, "driver: %s: %s\n", where, msg ? msg : "failed");
    exit(1);
}

static void check(td_ctx *ctx, td_status st, const char *where)
{
    if (st != TD_OK)
        die(ctx, where);
}

static void *xmalloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "driver: out of host memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

/* ---- inputs: murmur3's finalizer of (index + seed * golden) as a 24-bit
 * integer, centred: values k * 2^-24 * scale in [-scale/2, scale/2), exact
 * in f32 for a power-of-two scale. bench.py's bench_values() is the same. */
static inline uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

static void fill(float *x, size_t n, uint32_t seed, float scale)
{
    const uint32_t offset = seed * 0x9E3779B9u;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        uint32_t h = fmix32((uint32_t)i + offset);
        x[i] = (float)((int32_t)(h >> 8) - (1 << 23)) * 0x1p-24f * scale;
    }
}

static size_t count_nonfinite(const float *x, size_t n)
{
    size_t count = 0;
#pragma omp parallel for schedule(static) reduction(+ : count)
    for (size_t i = 0; i < n; i++)
        count += !isfinite(x[i]);
    return count;
}

/* ---- buffers on the benchmark's device (host memory under --cpu) ---- */
typedef struct dbuf {
    size_t bytes;
    void *cpu;   /* --cpu */
    td_dptr gpu; /* otherwise */
} dbuf;

static dbuf dbuf_new(td_ctx *ctx, size_t bytes, const char *what)
{
    dbuf b = {bytes, NULL, 0};
    if (use_gpu)
        check(ctx, td_cuda_alloc(ctx, bytes, what, &b.gpu), what);
    else
        b.cpu = xmalloc(bytes);
    return b;
}

static void dbuf_put(td_ctx *ctx, dbuf *b, const void *src)
{
    if (use_gpu)
        check(ctx, td_cuda_upload(ctx, b->gpu, src, b->bytes), "upload");
    else
        memcpy(b->cpu, src, b->bytes);
}

static void dbuf_get(td_ctx *ctx, void *dst, const dbuf *b)
{
    if (use_gpu)
        check(ctx, td_cuda_download(ctx, dst, b->gpu, b->bytes), "download");
    else
        memcpy(dst, b->cpu, b->bytes);
}

static void dbuf_free(td_ctx *ctx, dbuf *b)
{
    if (use_gpu)
        td_cuda_free(ctx, b->gpu);
    else
        free(b->cpu);
    b->cpu = NULL;
    b->gpu = 0;
}

static void device_sync(td_ctx *ctx, const char *where)
{
    if (use_gpu)
        check(ctx, td_cuda_sync(ctx, where), where);
}

/* An exported function on the device's buffers: call_cuda with device
 * addresses (nothing staged, nothing copied), or call on the CPU. */
static td_status call_fn(td_model *m, int fn, int nin, dbuf *in, int nout, dbuf *out)
{
    const td_fn_desc *f = &m->desc->fns[fn];
    if (use_gpu) {
        td_dptr din[MAX_ARGS], dout[MAX_ARGS];
        for (int i = 0; i < nin; i++)
            din[i] = in[i].gpu;
        for (int i = 0; i < nout; i++)
            dout[i] = out[i].gpu;
        if (!f->call_cuda)
            return td_fail(m->ctx, TD_ERR_DEVICE, "%s has no GPU code", f->name);
        return f->call_cuda(m, din, dout);
    }
    const void *hin[MAX_ARGS];
    void *hout[MAX_ARGS];
    for (int i = 0; i < nin; i++)
        hin[i] = in[i].cpu;
    for (int i = 0; i < nout; i++)
        hout[i] = out[i].cpu;
    return f->call(m, hin, hout);
}

static int fn_index(const td_model_desc *d, const char *name)
{
    for (int i = 0; i < d->nfns; i++)
        if (strcmp(d->fns[i].name, name) == 0)
            return i;
    fprintf(stderr, "driver: model %s has no function %s\n", d->name, name);
    exit(1);
}

/* ---- timing ---- */
typedef td_status (*body_fn)(void *arg);

typedef struct timing {
    int batches, per_batch;
    double *seconds; /* per call, one sample a batch */
} timing;

static timing time_calls(td_ctx *ctx, int warmup, int batches, int per_batch, body_fn body, void *arg)
{
    for (int i = 0; i < warmup; i++)
        check(ctx, body(arg), "warm-up");
    device_sync(ctx, "warm-up");
    timing t = {batches, per_batch, xmalloc(sizeof(double) * (size_t)batches)};
    for (int b = 0; b < batches; b++) {
        double t0 = td_now();
        for (int i = 0; i < per_batch; i++)
            check(ctx, body(arg), "timed call");
        device_sync(ctx, "timed calls");
        t.seconds[b] = (td_now() - t0) / per_batch;
    }
    return t;
}

static void print_timing(const char *key, const timing *t)
{
    printf("\"%s\": {\"batches\": %d, \"per_batch\": %d, \"seconds\": [", key, t->batches, t->per_batch);
    for (int b = 0; b < t->batches; b++)
        printf("%s%.9g", b ? ", " : "", t->seconds[b]);
    printf("]}");
}

/* ---- results for bench.py ---- */
static void write_npy(td_ctx *ctx, const char *dir, const char *name, td_dtype dtype, int rank, const int64_t *shape,
                      const void *data)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    check(ctx, td_npy_write(ctx, path, dtype, rank, shape, data), path);
}

/* SAMPLES indices spread over [0, n), the last one n - 1. */
static int sample_indices(int64_t n, int64_t *idx)
{
    int count = n < SAMPLES ? (int)n : SAMPLES;
    for (int j = 0; j < count; j++)
        idx[j] = count == 1 ? 0 : (int64_t)((double)j * (double)(n - 1) / (double)(count - 1));
    return count;
}

static void print_header(const char *bench, td_ctx *ctx)
{
    printf("{\"benchmark\": \"%s\", \"device\": \"%s\", ", bench,
           use_gpu ? td_cuda_device_name(ctx) : "cpu (dry run)");
    int64_t timed = 0, from_cache = 0, lt = 0; /* the context's products on tensor cores so far (runtime/cuda/gemm_tune.c) */
    if (use_gpu)
        td_cuda_tune_counts(ctx, &timed, &from_cache, &lt);
    printf("\"gemm_tuning\": {\"timed\": %lld, \"from_cache\": %lld, \"lt\": %lld}, ", (long long)timed,
           (long long)from_cache, (long long)lt);
}

/* ---- matmul: C[b, d] = x[b, k] w[k, d] ---- */
typedef struct call_args {
    td_model *m;
    int fn, nin, nout;
    dbuf *in, *out;
} call_args;

static td_status call_body(void *arg)
{
    call_args *a = arg;
    return call_fn(a->m, a->fn, a->nin, a->in, a->nout, a->out);
}

static int bench_matmul(td_ctx *ctx, int argc, char **argv)
{
    if (argc != 8)
        return 2;
    const char *mode = argv[0];
    int64_t B = atoll(argv[1]), D = atoll(argv[2]), K = atoll(argv[3]);
    int warmup = atoi(argv[4]), batches = atoi(argv[5]), per_batch = atoi(argv[6]);
    const char *outdir = argv[7];
    bool linear = strncmp(mode, "linear_", 7) == 0; /* relu(x @ w + bias) */
    if (linear)
        mode += 7;
    bool bf16 = strcmp(mode, "bf16") == 0;
    if (!bf16 && strcmp(mode, "f32") != 0 && (linear || strcmp(mode, "tf32") != 0))
        return 2;
    if (use_gpu)
        td_cuda_allow_tf32(ctx, strcmp(mode, "tf32") == 0);
    matmul_dims dims = {.dim_b = B, .dim_d = D, .dim_k = K};
    td_model *m = matmul_new(ctx, &dims, 1);
    if (!m)
        die(ctx, "matmul_new");
    size_t esize = bf16 ? 2 : 4, nx = (size_t)(B * K), nw = (size_t)(K * D), nc = (size_t)(B * D);
    float *hx = xmalloc(nx * 4), *hw = xmalloc(nw * 4), *hc = xmalloc(nc * 4);
    fill(hx, nx, 1, 1.0f);
    fill(hw, nw, 2, 1.0f);
    float *hbias = xmalloc((size_t)D * 4);
    fill(hbias, (size_t)D, 3, 1.0f);
    dbuf in[3] = {dbuf_new(ctx, nx * esize, "x"), dbuf_new(ctx, nw * esize, "w"), dbuf_new(ctx, (size_t)D * esize, "bias")};
    dbuf out[1] = {dbuf_new(ctx, nc * esize, "C")};
    /* bf16: rounded to nearest even, as torch's .bfloat16() rounds */
    void *raw_x = hx, *raw_w = hw, *raw_c = hc, *raw_bias = hbias;
    if (bf16) {
        uint16_t *bx = xmalloc(nx * 2), *bw = xmalloc(nw * 2), *bb = xmalloc((size_t)D * 2);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < nx; i++)
            bx[i] = td_f32_to_bf16(hx[i]);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < nw; i++)
            bw[i] = td_f32_to_bf16(hw[i]);
        for (int64_t i = 0; i < D; i++)
            bb[i] = td_f32_to_bf16(hbias[i]);
        raw_x = bx;
        raw_w = bw;
        raw_bias = bb;
        raw_c = xmalloc(nc * 2);
    }
    dbuf_put(ctx, &in[0], raw_x);
    dbuf_put(ctx, &in[1], raw_w);
    dbuf_put(ctx, &in[2], raw_bias);
    /* poison C with NaN (all bits set), run once, and check every element was written */
    memset(raw_c, 0xFF, nc * esize);
    dbuf_put(ctx, &out[0], raw_c);
    const char *fn = linear ? (bf16 ? "linear_bf16" : "linear_f32") : bf16 ? "matmul_bf16" : "matmul_f32";
    call_args a = {m, fn_index(m->desc, fn), linear ? 3 : 2, 1, in, out};
    check(ctx, call_body(&a), "matmul");
    device_sync(ctx, "matmul");
    dbuf_get(ctx, raw_c, &out[0]);
    if (bf16) {
        const uint16_t *bc = raw_c;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < nc; i++)
            hc[i] = td_bf16_to_f32(bc[i]);
    }
    size_t nonfinite = count_nonfinite(hc, nc);
    int64_t rows[SAMPLES];
    int nrows = sample_indices(B, rows);
    float *sample = xmalloc((size_t)nrows * (size_t)D * 4);
    for (int r = 0; r < nrows; r++)
        memcpy(sample + (size_t)r * (size_t)D, hc + (size_t)rows[r] * (size_t)D, (size_t)D * 4);
    const int64_t rshape[1] = {nrows}, sshape[2] = {nrows, D};
    write_npy(ctx, outdir, "rows", TD_I64, 1, rshape, rows);
    write_npy(ctx, outdir, "out_rows", TD_F32, 2, sshape, sample);
    timing t = time_calls(ctx, warmup, batches, per_batch, call_body, &a);
    print_header(linear ? "linear" : "matmul", ctx);
    printf("\"mode\": \"%s\", \"B\": %lld, \"D\": %lld, \"K\": %lld, \"nonfinite\": %zu, ", mode, (long long)B,
           (long long)D, (long long)K, nonfinite);
    print_timing("tdc", &t);
    printf("}\n");
    dbuf_free(ctx, &in[0]);
    dbuf_free(ctx, &in[1]);
    dbuf_free(ctx, &in[2]);
    dbuf_free(ctx, &out[0]);
    matmul_free(m);
    if (bf16) {
        free(raw_x);
        free(raw_w);
        free(raw_bias);
        free(raw_c);
    }
    free(hbias);
    free(hx);
    free(hw);
    free(hc);
    free(sample);
    free(t.seconds);
    return 0;
}

/* ---- softmax over the last axis of x[rows, n] ---- */
static int bench_softmax(td_ctx *ctx, int argc, char **argv)
{
    if (argc != 6)
        return 2;
    int64_t R = atoll(argv[0]), N = atoll(argv[1]);
    int warmup = atoi(argv[2]), batches = atoi(argv[3]), per_batch = atoi(argv[4]);
    const char *outdir = argv[5];
    softmax_dims dims = {.dim_rows = R, .dim_n = N};
    td_model *m = softmax_new(ctx, &dims, 1);
    if (!m)
        die(ctx, "softmax_new");
    size_t n = (size_t)(R * N);
    float *hx = xmalloc(n * 4), *hy = xmalloc(n * 4);
    fill(hx, n, 31, 16.0f);
    dbuf in[1] = {dbuf_new(ctx, n * 4, "x")}, out[1] = {dbuf_new(ctx, n * 4, "y")};
    dbuf_put(ctx, &in[0], hx);
    memset(hy, 0xFF, n * 4);
    dbuf_put(ctx, &out[0], hy);
    call_args a = {m, fn_index(m->desc, "softmax"), 1, 1, in, out};
    check(ctx, call_body(&a), "softmax");
    device_sync(ctx, "softmax");
    dbuf_get(ctx, hy, &out[0]);
    size_t nonfinite = count_nonfinite(hy, n);
    double worst_sum = 0;
#pragma omp parallel for schedule(static) reduction(max : worst_sum)
    for (int64_t r = 0; r < R; r++) {
        double s = 0;
        for (int64_t j = 0; j < N; j++)
            s += hy[r * N + j];
        worst_sum = fmax(worst_sum, fabs(s - 1));
    }
    int64_t rows[SAMPLES];
    int nrows = sample_indices(R, rows);
    float *sample = xmalloc((size_t)nrows * (size_t)N * 4);
    for (int r = 0; r < nrows; r++)
        memcpy(sample + (size_t)r * (size_t)N, hy + (size_t)rows[r] * (size_t)N, (size_t)N * 4);
    const int64_t rshape[1] = {nrows}, sshape[2] = {nrows, N};
    write_npy(ctx, outdir, "rows", TD_I64, 1, rshape, rows);
    write_npy(ctx, outdir, "out_rows", TD_F32, 2, sshape, sample);
    timing t = time_calls(ctx, warmup, batches, per_batch, call_body, &a);
    print_header("softmax", ctx);
    printf("\"rows\": %lld, \"n\": %lld, \"nonfinite\": %zu, \"max_row_sum_error\": %.6g, ", (long long)R, (long long)N,
           nonfinite, worst_sum);
    print_timing("tdc", &t);
    printf("}\n");
    dbuf_free(ctx, &in[0]);
    dbuf_free(ctx, &out[0]);
    softmax_free(m);
    free(hx);
    free(hy);
    free(sample);
    free(t.seconds);
    return 0;
}

/* ---- a Cruncher train step, through the generated C API ---- */
typedef td_status (*train_fn)(td_model *, const float *, const int64_t[2], const float *, const int64_t[1],
                              td_step_stats *);

typedef struct train_args {
    td_model *m;
    train_fn step;
    const float *x, *y;
    int64_t x_shape[2], y_shape[1];
    td_step_stats stats;
} train_args;

static td_status train_body(void *arg)
{
    train_args *a = arg;
    return a->step(a->m, a->x, a->x_shape, a->y, a->y_shape, &a->stats);
}

/* A step on the batch staged before it, the next batch staged while the
 * step runs (td_train_step_staged_while, as `MODEL train` runs on the GPU):
 * the next batch's copy into pinned memory and up overlap the step. */
typedef struct staged_args {
    td_model *m;
    const void *in[2];
    bool primed;
    td_step_stats stats;
} staged_args;

static td_status stage_next(void *arg)
{
    staged_args *a = arg;
    return td_train_stage(a->m, 0, a->in);
}

static td_status staged_body(void *arg)
{
    staged_args *a = arg;
    td_status st = TD_OK;
    if (!a->primed && (st = td_train_stage(a->m, 0, a->in)) == TD_OK)
        a->primed = true;
    return st == TD_OK ? td_train_step_staged_while(a->m, 0, stage_next, a, &a->stats) : st;
}

typedef struct upload_args {
    td_ctx *ctx;
    td_dptr dst;
    const void *src;
    size_t bytes;
} upload_args;

static td_status upload_body(void *arg)
{
    upload_args *a = arg;
    return td_cuda_upload(a->ctx, a->dst, a->src, a->bytes);
}

/* The same step with the batch already on the device (td_train_step_device). */
typedef struct device_train_args {
    td_model *m;
    td_dptr in[2];
    td_step_stats stats;
} device_train_args;

static td_status device_train_body(void *arg)
{
    device_train_args *a = arg;
    return td_train_step_device(a->m, 0, a->in, &a->stats);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The Cruncher programs of `train`. */
typedef enum { TINY, BIG, BIG_BF16 } cruncher_kind;

/* The big (f32 or bf16) or the tiny Cruncher at batch B, seed 1; exits with `what` on failure. */
static td_model *new_cruncher(td_ctx *ctx, cruncher_kind kind, int64_t B, const char *what)
{
    td_model *m;
    if (kind == BIG) {
        cruncher_big_dims dims = {.dim_batch = B};
        m = cruncher_big_new(ctx, &dims, 1);
    } else if (kind == BIG_BF16) {
        cruncher_big_bf16_dims dims = {.dim_batch = B};
        m = cruncher_big_bf16_new(ctx, &dims, 1);
    } else {
        cruncher_dims dims = {.dim_batch = B};
        m = cruncher_new(ctx, &dims, 1);
    }
    if (!m)
        die(ctx, what);
    return m;
}

static int bench_train(td_ctx *ctx, int argc, char **argv)
{
    if (argc != 6)
        return 2;
    cruncher_kind kind = strcmp(argv[0], "big") == 0 ? BIG : strcmp(argv[0], "big_bf16") == 0 ? BIG_BF16 : TINY;
    bool big = kind != TINY;
    if (!big && strcmp(argv[0], "tiny") != 0)
        return 2;
    int64_t B = atoll(argv[1]);
    int warmup = atoi(argv[2]), batches = atoi(argv[3]), per_batch = atoi(argv[4]);
    const char *outdir = argv[5];
    int64_t H = kind == BIG ? CRUNCHER_BIG_DIM_HIDDEN : kind == BIG_BF16 ? CRUNCHER_BIG_BF16_DIM_HIDDEN : CRUNCHER_DIM_HIDDEN;
    td_model *m = new_cruncher(ctx, kind, B, "the model");
    /* the initial params, for torch to start from the same point */
    for (int p = 0; p < m->desc->nparams; p++) {
        const td_tensor_desc *t = &m->desc->params[p];
        int64_t shape[TD_MAX_RANK];
        for (int k = 0; k < t->rank; k++)
            shape[k] = td_size_eval(&t->shape[k], m->dims);
        write_npy(ctx, outdir, t->name, t->dtype, t->rank, shape, td_model_param(m, p));
    }
    float *x = xmalloc((size_t)(B * H) * 4), *y = xmalloc((size_t)B * 4);
    fill(x, (size_t)(B * H), 41, 1.0f);
    fill(y, (size_t)B, 42, 1.0f);
    train_args a = {.m = m, .step = kind == BIG ? cruncher_big_train_step : kind == BIG_BF16 ? cruncher_big_bf16_train_step : cruncher_train_step, .x = x, .y = y,
                    .x_shape = {B, H}, .y_shape = {B}};
    td_step_stats first[3];
    for (int s = 0; s < 3; s++) {
        check(ctx, train_body(&a), "train step");
        first[s] = a.stats;
    }
    timing t = time_calls(ctx, warmup, batches, per_batch, train_body, &a);
    timing up = {0}, on_device = {0}, staged = {0};
    enum { GPU_MS_MAX = 101 };
    double gpu_ms[GPU_MS_MAX] = {0};
    int gpu_ms_steps = batches * per_batch < 1 ? 1 : batches * per_batch > GPU_MS_MAX ? GPU_MS_MAX : batches * per_batch;
    td_dptr dx = 0, dy = 0;
    size_t device_batch_bytes = 0;
    if (use_gpu) { /* the batch from host memory, staged a step ahead */
        staged_args sa = {.m = m, .in = {x, y}};
        staged = time_calls(ctx, warmup, batches, per_batch, staged_body, &sa);
    }
    if (use_gpu) { /* x's upload alone (pageable, td_cuda_upload) into the model's staging buffer, for scale */
        upload_args u = {ctx, m->dstage, x, (size_t)(B * H) * 4};
        up = time_calls(ctx, 1, 5, 1, upload_body, &u);
        /* and the step with its batch on the device, as PyTorch's eager timing has it */
        check(ctx, td_cuda_alloc(ctx, (size_t)(B * H) * 4, "x", &dx), "alloc x");
        check(ctx, td_cuda_alloc(ctx, (size_t)B * 4, "y", &dy), "alloc y");
        check(ctx, td_cuda_upload(ctx, dx, x, (size_t)(B * H) * 4), "upload x");
        check(ctx, td_cuda_upload(ctx, dy, y, (size_t)B * 4), "upload y");
        /* on a model of its own (the same seed), which never stages a batch: its device bytes are what
         * such a program allocates */
        td_model *md = new_cruncher(ctx, kind, B, "the model for device batches");
        device_train_args d = {.m = md, .in = {dx, dy}};
        on_device = time_calls(ctx, warmup, batches, per_batch, device_train_body, &d);
        /* and each step's GPU time (its events, td_model_time_steps: the steps above ran untimed, as a
         * model's steps do by default), for the host's share of the wall time */
        td_model_time_steps(md, true);
        for (int s = 0; s < gpu_ms_steps; s++) { /* as many as timed, at most GPU_MS_MAX */
            check(ctx, device_train_body(&d), "train step");
            gpu_ms[s] = d.stats.gpu_ms;
        }
        qsort(gpu_ms, (size_t)gpu_ms_steps, sizeof *gpu_ms, compare_doubles);
        for (int r = 0; r < TD_REGION_COUNT; r++)
            device_batch_bytes += md->region_bytes[r];
        device_batch_bytes += TD_SCRATCH_BYTES + (md->dstage ? md->stage_bytes : 0);
        size_t copies = 0; /* the params' narrow copies (td_model_desc.cuda_read_dtypes) */
        check(ctx, td_model_copy_bytes(ctx, md->desc, md->dims, NULL, &copies), "the copies' bytes");
        device_batch_bytes += copies;
        td_model_free(md);
    }
    print_header(kind == BIG ? "train_big" : kind == BIG_BF16 ? "train_big_bf16" : "train_tiny", ctx);
    printf("\"B\": %lld, \"H\": %lld, \"first_steps\": [", (long long)B, (long long)H);
    for (int s = 0; s < 3; s++)
        printf("%s{\"loss\": %.9g, \"grad_norm\": %.9g, \"lr\": %.9g}", s ? ", " : "", first[s].loss,
               first[s].grad_norm, first[s].lr);
    printf("], \"region_bytes\": {\"params\": %zu, \"workspace\": %zu, \"grads\": %zu, \"optimizer\": %zu}, ",
           m->region_bytes[TD_REGION_PARAMS], m->region_bytes[TD_REGION_WORKSPACE], m->region_bytes[TD_REGION_GRADS],
           m->region_bytes[TD_REGION_OPTIM]);
    size_t copy_bytes = 0;
    check(ctx, td_model_copy_bytes(ctx, m->desc, m->dims, NULL, &copy_bytes), "the copies' bytes");
    printf("\"stage_bytes\": %zu, \"scratch_bytes\": %d, \"copy_bytes\": %zu, \"device_batch_bytes\": %zu, ",
           use_gpu ? m->stage_bytes : 0, use_gpu ? TD_SCRATCH_BYTES : 0, use_gpu ? copy_bytes : 0, device_batch_bytes);
    print_timing("tdc", &t);
    if (use_gpu) {
        printf(", ");
        print_timing("h2d_x", &up);
        printf(", ");
        print_timing("tdc_device_batch", &on_device);
        printf(", \"tdc_device_batch_gpu_ms\": %.6g", gpu_ms[gpu_ms_steps / 2]);
        printf(", ");
        print_timing("tdc_staged", &staged);
    }
    printf("}\n");
    td_cuda_free(ctx, dx);
    td_cuda_free(ctx, dy);
    td_model_free(m);
    free(x);
    free(y);
    free(t.seconds);
    free(up.seconds);
    free(on_device.seconds);
    free(staged.seconds);
    return 0;
}

/* ---- one AdamW update of n f32 params, torch's defaults ---- */
typedef struct adamw_args {
    td_ctx *ctx;
    td_optim_hparams h;
    size_t n;
    dbuf *param, *grad, *state;
    int64_t step;
} adamw_args;

static td_status adamw_body(void *arg)
{
    adamw_args *a = arg;
    a->step++;
    if (use_gpu)
        return td_cuda_optim_update(a->ctx, &a->h, TD_F32, a->n, a->param->gpu, a->grad->gpu, a->state->gpu, a->step,
                                    a->h.lr, a->h.weight_decay);
    return td_optim_update(a->ctx, &a->h, TD_F32, a->n, a->param->cpu, a->grad->cpu, a->state->cpu, a->step, a->h.lr,
                           a->h.weight_decay);
}

static int bench_adamw(td_ctx *ctx, int argc, char **argv)
{
    if (argc != 5)
        return 2;
    size_t n = (size_t)atoll(argv[0]);
    int warmup = atoi(argv[1]), batches = atoi(argv[2]), per_batch = atoi(argv[3]);
    const char *outdir = argv[4];
    float *hp = xmalloc(n * 4), *hg = xmalloc(n * 4), *hs = xmalloc(2 * n * 4);
    fill(hp, n, 51, 1.0f);
    fill(hg, n, 52, 1.0f / 64);
    td_optim_hparams h = td_optim_defaults(TD_OPTIM_ADAMW);
    check(ctx, td_optim_init_state(ctx, &h, TD_F32, n, hs), "state");
    dbuf p = dbuf_new(ctx, n * 4, "param"), g = dbuf_new(ctx, n * 4, "grad"), s = dbuf_new(ctx, 2 * n * 4, "state");
    dbuf_put(ctx, &p, hp);
    dbuf_put(ctx, &g, hg);
    dbuf_put(ctx, &s, hs);
    adamw_args a = {ctx, h, n, &p, &g, &s, 0};
    check(ctx, adamw_body(&a), "adamw step 1");
    dbuf_get(ctx, hp, &p);
    dbuf_get(ctx, hs, &s);
    int64_t idx[SAMPLES];
    int count = sample_indices((int64_t)n, idx);
    float sp[SAMPLES], sm[SAMPLES], sv[SAMPLES];
    size_t nonfinite = count_nonfinite(hp, n) + count_nonfinite(hs, 2 * n);
    for (int j = 0; j < count; j++) {
        sp[j] = hp[idx[j]];
        sm[j] = hs[idx[j]];
        sv[j] = hs[n + (size_t)idx[j]];
    }
    const int64_t shape[1] = {count};
    write_npy(ctx, outdir, "idx", TD_I64, 1, shape, idx);
    write_npy(ctx, outdir, "param", TD_F32, 1, shape, sp);
    write_npy(ctx, outdir, "exp_avg", TD_F32, 1, shape, sm);
    write_npy(ctx, outdir, "exp_avg_sq", TD_F32, 1, shape, sv);
    timing t = time_calls(ctx, warmup, batches, per_batch, adamw_body, &a);
    print_header("adamw", ctx);
    printf("\"n\": %zu, \"nonfinite\": %zu, \"lr\": %.9g, \"weight_decay\": %.9g, ", n, nonfinite, h.lr,
           h.weight_decay);
    print_timing("tdc", &t);
    printf("}\n");
    dbuf_free(ctx, &p);
    dbuf_free(ctx, &g);
    dbuf_free(ctx, &s);
    free(hp);
    free(hg);
    free(hs);
    free(t.seconds);
    return 0;
}

/* ---- the generator, for bench.py to check its copy against ---- */
static int bench_fill(td_ctx *ctx, int argc, char **argv)
{
    if (argc != 4)
        return 2;
    uint32_t seed = (uint32_t)atoll(argv[0]);
    int64_t n = atoll(argv[1]);
    float *x = xmalloc((size_t)n * 4);
    fill(x, (size_t)n, seed, (float)atof(argv[2]));
    check(ctx, td_npy_write(ctx, argv[3], TD_F32, 1, &n, x), argv[3]);
    free(x);
    printf("{\"benchmark\": \"fill\", \"n\": %lld}\n", (long long)n);
    return 0;
}

/* ---- where the time to a first step goes: the tiny Cruncher from a fresh
 * context, each stage timed (ms) as the runtime meets it in a first step,
 * the libraries loaded and a cuBLAS handle made ahead so each has its own
 * line, and the first products on cuBLAS (the tiny Cruncher's take the
 * small route) each on a line of its own; run twice, with the NVRTC cache
 * empty and then full ---- */
static int bench_startup(int argc, char **argv)
{
    if (argc != 1)
        return 2;
    double t = td_now(), ms[13];
    int k = 0;
#define STAGE(expr) (expr, ms[k++] = (td_now() - t) * 1e3, t = td_now())
    td_ctx *ctx;
    STAGE(ctx = td_ctx_new(TD_DEVICE_CUDA));
    if (!ctx)
        return 1;
    struct td_cuda *cuda = NULL;
    STAGE(check(ctx, td_cuda_init(ctx), "td_cuda_init"));
    STAGE(check(ctx, td_nvrtc_load(ctx, &cuda), "td_nvrtc_load"));
    STAGE(check(ctx, td_cublas_load(ctx, &cuda), "td_cublas_load"));
    cublasHandle_t h = NULL;
    STAGE(check(ctx, td_cublas_check(ctx, cuda, cuda->cublas.cublasCreate(&h), "cublasCreate"), "cublasCreate"));
    cuda->cublas.cublasDestroy(h);
    td_dptr abc = 0; /* a 64 x 64 product through the runtime as the model's first step meets it: the small route's
                      * kernels (runtime/cuda/gemm.c), from the NVRTC cache or compiled */
    check(ctx, td_cuda_alloc(ctx, 3 * 64 * 64 * sizeof(float), "gemm", &abc), "td_cuda_alloc");
    check(ctx, td_cuda_zero(ctx, abc, 3 * 64 * 64 * sizeof(float)), "td_cuda_zero");
    td_gemm g = td_gemm_rowmajor(TD_F32, 64, 64, 64);
    STAGE((check(ctx, td_cuda_gemm_run(ctx, &g, abc, abc + 64 * 64 * 4, abc + 2 * 64 * 64 * 4), "td_cuda_gemm_run"),
           check(ctx, td_cuda_sync(ctx, "the first product"), "td_cuda_sync")));
    td_cuda_free(ctx, abc);
    /* two products on cuBLAS (its route forced), of two shapes that take two kernels of its: the first
     * call into cuBLAS loads its kernels, as a larger model's first step meets it */
    td_dptr xyz = 0;
    check(ctx, td_cuda_alloc(ctx, 3 * 256 * 256 * sizeof(float), "cuBLAS's products", &xyz), "td_cuda_alloc");
    check(ctx, td_cuda_zero(ctx, xyz, 3 * 256 * 256 * sizeof(float)), "td_cuda_zero");
    td_cuda_small_products(ctx, false);
    g = td_gemm_rowmajor(TD_F32, 256, 192, 64);
    STAGE((check(ctx, td_cuda_gemm_run(ctx, &g, xyz, xyz + 256 * 256 * 4, xyz + 2 * 256 * 256 * 4), "td_cuda_gemm_run"),
           check(ctx, td_cuda_sync(ctx, "the first cuBLAS product"), "td_cuda_sync")));
    g = td_gemm_rowmajor(TD_F32, 256, 64, 256);
    STAGE((check(ctx, td_cuda_gemm_run(ctx, &g, xyz, xyz + 256 * 256 * 4, xyz + 2 * 256 * 256 * 4), "td_cuda_gemm_run"),
           check(ctx, td_cuda_sync(ctx, "the second cuBLAS product"), "td_cuda_sync")));
    STAGE((check(ctx, td_cuda_gemm_run(ctx, &g, xyz, xyz + 256 * 256 * 4, xyz + 2 * 256 * 256 * 4), "td_cuda_gemm_run"),
           check(ctx, td_cuda_sync(ctx, "the second cuBLAS product again"), "td_cuda_sync")));
    td_cuda_small_products(ctx, true);
    td_cuda_free(ctx, xyz);
    int64_t B = atoll(argv[0]);
    float x[64 * CRUNCHER_DIM_HIDDEN], y[64];
    if (B < 1 || B > 64)
        return 2;
    td_model *m;
    STAGE(m = new_cruncher(ctx, TINY, B, "the model"));
    fill(x, (size_t)(B * CRUNCHER_DIM_HIDDEN), 41, 1.0f);
    fill(y, (size_t)B, 42, 1.0f);
    train_args a = {.m = m, .step = cruncher_train_step, .x = x, .y = y, .x_shape = {B, CRUNCHER_DIM_HIDDEN}, .y_shape = {B}};
    for (int s = 0; s < 3; s++)
        STAGE(check(ctx, train_body(&a), "train step"));
#undef STAGE
    static const char *const names[] = {"context_new",     "driver_and_gpu",   "nvrtc_load",         "cublas_load",
                                        "cublas_create",   "first_gemm",       "first_cublas_gemm",  "second_cublas_gemm",
                                        "cublas_gemm_again", "model_new",      "step1",              "step2",
                                        "step3"};
    printf("{\"name\": \"startup\", \"kernel_cache_hits\": %lld, \"kernel_cache_misses\": %lld, \"ms\": {",
           (long long)cuda->cache_hits, (long long)cuda->cache_misses);
    for (int i = 0; i < k; i++)
        printf("%s\"%s\": %.3f", i ? ", " : "", names[i], ms[i]);
    printf("}}\n");
    td_model_free(m);
    td_ctx_free(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    int a = 1;
    if (a < argc && strcmp(argv[a], "--cpu") == 0) {
        use_gpu = false;
        a++;
    }
    if (a >= argc) {
        fprintf(stderr, "usage: driver [--cpu] fill|matmul|softmax|train|adamw ARGS...\n");
        return 2;
    }
    if (use_gpu && strcmp(argv[a], "startup") == 0) /* times its own context's bring-up */
        return bench_startup(argc - a - 1, argv + a + 1);
    td_ctx *ctx = td_ctx_new(use_gpu ? TD_DEVICE_CUDA : TD_DEVICE_CPU);
    if (!ctx)
        return 1;
    if (use_gpu)
        check(ctx, td_cuda_init(ctx), "td_cuda_init");
    const char *cmd = argv[a];
    int rest = argc - a - 1;
    char **args = argv + a + 1;
    int rc = strcmp(cmd, "matmul") == 0    ? bench_matmul(ctx, rest, args)
             : strcmp(cmd, "softmax") == 0 ? bench_softmax(ctx, rest, args)
             : strcmp(cmd, "train") == 0   ? bench_train(ctx, rest, args)
             : strcmp(cmd, "adamw") == 0   ? bench_adamw(ctx, rest, args)
             : strcmp(cmd, "fill") == 0    ? bench_fill(ctx, rest, args)
                                           : 2;
    if (rc == 2)
        fprintf(stderr, "driver: bad arguments for '%s' (see the comment at the top of bench/gpu/driver.c)\n", cmd);
    td_ctx_free(ctx);
    return rc;
}

/* gemm_tune.c - which routine runs a product of gemm.c's cuBLAS route.
 *
 * cublasGemmStridedBatchedEx takes the first algorithm of cuBLAS's
 * heuristic, which on an H100 is not always the fastest. A probe on
 * constant data (bench/gpu/README.md, session 10): a TF32 product of
 * 4096 x 8192 x 4096 ran 20% faster with cuBLASLt's third candidate, a
 * bf16 one with a transposed operand 5% faster with its first, while for
 * a bf16 product into f32 cuBLAS's own choice beat every candidate
 * cuBLASLt offered; on the benchmarks' real data the gains were smaller
 * (0 to 2%), and differ from GPU to GPU. So the
 * first time a shape comes, it is timed: cuBLAS's default and up to
 * TUNE_CANDIDATES of cublasLtMatmulAlgoGetHeuristic's algorithms, each on
 * the call's own operands (the data decide a tensor core's power, and so
 * its clock), and the fastest kept, cuBLASLt's only when it beats the
 * default by TUNE_MARGIN (timings vary by about 1%: a choice should not
 * flip on noise). The chosen one then runs the call, so C holds its
 * result whichever candidate ran last.
 *
 * Which shapes: those on tensor cores (bf16 and f16, f32 with TF32
 * allowed), where the choice matters; beta 0 only, since the timing runs
 * the product several times and C = alpha A B + beta C would accumulate.
 * Exact f32 and f64 products, and a shape with beta != 0, always take
 * cublasGemmStridedBatchedEx, so their results never depend on a timing.
 * Nothing is timed while the stream is being captured into a graph (a
 * train step's first run is not captured, so its products are timed
 * there); a shape first met in a capture takes the default for that call.
 * Nor under Nsight Compute, Nsight Systems or compute-sanitizer (their
 * injection's environment, td_cuda_under_a_tool): they serialize and
 * replay kernels, and a profile of a bf16 step under ncu showed the
 * timings choosing algorithms 1.7 times slower than the default; a choice
 * already on disk is still used there.
 *
 * Algorithms differ in their order of summation, so their results may
 * differ in the last bits. A choice is kept for the context, and in the
 * disk cache (cache.c; "<key>.gemm", keyed by the GPU, cuBLASLt's version
 * and the shape), so that a resumed run in another process makes the same
 * choices and the same bits; TDC_CACHE=off loses that, and
 * TDC_GEMM_TUNE=off (or td_cuda_tune_products) turns the tuning off, every
 * product then cuBLAS's default.
 *
 * A call with an epilogue (td_cuda_gemm_epilogue_run: a bias, relu)
 * runs on cuBLASLt alone, cuBLAS's call having none: on tensor cores it
 * is timed alike, cuBLASLt's first candidate the baseline another must
 * beat by TUNE_MARGIN; otherwise, and in a capture or under a tool, the
 * first candidate runs it. Its candidates split sums only in f32 (no
 * in-place reduction in C's dtype). Where cuBLASLt offers none, the
 * caller runs the product alone and its own pass.
 *
 * cuBLASLt runs with a workspace of TUNE_WORKSPACE bytes, one cuMemAlloc
 * when the context first tunes; candidates that need more are not
 * offered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ctx_internal.h"
#include "cuda_internal.h"

enum {
    TUNE_CANDIDATES = 8,           /* cuBLASLt's heuristic's first candidates timed */
    TUNE_WORKSPACE = 32 << 20,     /* bytes of cuBLASLt's workspace (cuBLAS's own default on Hopper) */
    TUNE_BUDGET_US = 2000,         /* a candidate's timed runs take about this long */
    TUNE_MAX_RUNS = 8,             /* and are at most this many */
    CUDA_R_32F_ = 0,               /* cudaDataType */
    CUBLAS_COMPUTE_32F_FAST_TF32_ = 77,
    CUDA_R_16F_ = 2,
    CUDA_R_16BF_ = 14,
};
static const double TUNE_MARGIN = 0.98; /* cuBLASLt's time at most this share of the default's */

/* A shape: every field of the call that cuBLASLt's descriptors or an
 * algorithm's eligibility depend on; int64_t throughout, so no padding
 * and memcmp compares. */
typedef struct tune_key {
    int64_t transa, transb, m, n, k;
    int64_t ab_type, c_type, compute_type;
    int64_t lda, ldb, ldc, stride_a, stride_b, stride_c, batch;
    int64_t align_a, align_b, align_c; /* bytes, a power of two up to 256 */
    int64_t epilogue, align_bias;      /* td_cublas_call's epilogue; the bias's alignment (0: none) */
} tune_key;

typedef struct tune_entry {
    tune_key key;
    bool lt; /* cublasLtMatmul with algo; false: cublasGemmStridedBatchedEx */
    td_lt_algo algo;
    size_t workspace_bytes;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, c;
} tune_entry;

struct td_gemm_tuning {
    cublasLtHandle_t lt;
    td_dptr workspace;
    bool broken; /* cuBLASLt's handle or the workspace could not be had: nothing is tuned */
    tune_entry *entries;
    size_t count, cap;
    int64_t timed, from_cache, on_lt; /* td_cuda_tune_counts */
};

/* The largest power of two, up to 256, dividing the address of every
 * batch item of an operand. */
static int64_t alignment(const void *p, long long stride, int esize, int batch)
{
    uint64_t bits = (uint64_t)(uintptr_t)p | 256;
    if (batch > 1)
        bits |= (uint64_t)stride * (uint64_t)esize;
    return (int64_t)(bits & -bits);
}

static tune_key key_of(const td_cublas_call *c)
{
    tune_key k;
    memset(&k, 0, sizeof k);
    k.transa = c->transa, k.transb = c->transb, k.m = c->m, k.n = c->n, k.k = c->k;
    k.ab_type = c->ab_type, k.c_type = c->c_type, k.compute_type = c->compute_type;
    k.lda = c->lda, k.ldb = c->ldb, k.ldc = c->ldc, k.batch = c->batch;
    if (c->batch > 1)
        k.stride_a = c->stride_a, k.stride_b = c->stride_b, k.stride_c = c->stride_c;
    k.align_a = alignment(c->a, c->stride_a, c->ab_size, c->batch);
    k.align_b = alignment(c->b, c->stride_b, c->ab_size, c->batch);
    k.align_c = alignment(c->c, c->stride_c, c->c_size, c->batch);
    k.epilogue = c->epilogue;
    k.align_bias = c->bias ? alignment(c->bias, 0, c->c_size, 1) : 0;
    return k;
}

static bool tensor_cores(const td_cublas_call *c)
{
    return c->ab_type == CUDA_R_16BF_ || c->ab_type == CUDA_R_16F_ ||
           (c->ab_type == CUDA_R_32F_ && c->compute_type == CUBLAS_COMPUTE_32F_FAST_TF32_);
}

static bool lt_loaded(const td_cublas_api *b)
{
    return b->cublasLtCreate && b->cublasLtDestroy && b->cublasLtGetVersion && b->cublasLtMatmulDescCreate &&
           b->cublasLtMatmulDescDestroy && b->cublasLtMatmulDescSetAttribute && b->cublasLtMatrixLayoutCreate &&
           b->cublasLtMatrixLayoutDestroy && b->cublasLtMatrixLayoutSetAttribute &&
           b->cublasLtMatmulPreferenceCreate && b->cublasLtMatmulPreferenceDestroy &&
           b->cublasLtMatmulPreferenceSetAttribute && b->cublasLtMatmulAlgoGetHeuristic &&
           b->cublasLtMatmulAlgoCheck && b->cublasLtMatmul;
}

static cublasStatus_t run_default(struct td_cuda *cuda, const td_cublas_call *c)
{
    return cuda->cublas.cublasGemmStridedBatchedEx(cuda->cublas_handle, c->transa, c->transb, c->m, c->n, c->k,
                                                   c->alpha, c->a, c->ab_type, c->lda, c->stride_a, c->b, c->ab_type,
                                                   c->ldb, c->stride_b, c->beta, c->c, c->c_type, c->ldc, c->stride_c,
                                                   c->batch, c->compute_type, -1 /* CUBLAS_GEMM_DEFAULT */);
}

static cublasStatus_t run_lt(struct td_cuda *cuda, const tune_entry *e, const td_lt_algo *algo, size_t workspace,
                             const td_cublas_call *c)
{
    if (c->bias) { /* this call's; the shape's entry may have been made for another of the same alignment */
        cublasStatus_t s = cuda->cublas.cublasLtMatmulDescSetAttribute(e->desc, TD_LT_DESC_BIAS_POINTER, &c->bias,
                                                                       sizeof c->bias);
        if (s != 0)
            return s;
    }
    return cuda->cublas.cublasLtMatmul(cuda->tuning->lt, e->desc, c->alpha, c->a, e->a, c->b, e->b, c->beta, c->c,
                                       e->c, c->c, e->c, algo, (void *)(uintptr_t)cuda->tuning->workspace,
                                       workspace, cuda->stream);
}

static void entry_release(const td_cublas_api *b, tune_entry *e)
{
    if (e->desc)
        b->cublasLtMatmulDescDestroy(e->desc);
    if (e->a)
        b->cublasLtMatrixLayoutDestroy(e->a);
    if (e->b)
        b->cublasLtMatrixLayoutDestroy(e->b);
    if (e->c)
        b->cublasLtMatrixLayoutDestroy(e->c);
    e->desc = NULL, e->a = e->b = e->c = NULL;
}

/* A matrix layout of `rows` x `cols`, with the call's batch. */
static bool make_layout(const td_cublas_api *b, cublasLtMatrixLayout_t *l, int type, int rows, int cols, int ld,
                        int batch, long long stride)
{
    int64_t stride64 = stride;
    int32_t batch32 = batch;
    return b->cublasLtMatrixLayoutCreate(l, type, (uint64_t)rows, (uint64_t)cols, ld) == 0 &&
           b->cublasLtMatrixLayoutSetAttribute(*l, TD_LT_LAYOUT_BATCH_COUNT, &batch32, sizeof batch32) == 0 &&
           b->cublasLtMatrixLayoutSetAttribute(*l, TD_LT_LAYOUT_BATCH_STRIDE, &stride64, sizeof stride64) == 0;
}

/* cuBLASLt's descriptors of the call into e; false when it refuses one. */
static bool make_descriptors(const td_cublas_api *b, const td_cublas_call *c, tune_entry *e)
{
    int32_t ta = c->transa, tb = c->transb;
    bool ok = b->cublasLtMatmulDescCreate(&e->desc, c->compute_type, CUDA_R_32F_) == 0 &&
              b->cublasLtMatmulDescSetAttribute(e->desc, TD_LT_DESC_TRANSA, &ta, sizeof ta) == 0 &&
              b->cublasLtMatmulDescSetAttribute(e->desc, TD_LT_DESC_TRANSB, &tb, sizeof tb) == 0 &&
              make_layout(b, &e->a, c->ab_type, ta ? c->k : c->m, ta ? c->m : c->k, c->lda, c->batch, c->stride_a) &&
              make_layout(b, &e->b, c->ab_type, tb ? c->n : c->k, tb ? c->k : c->n, c->ldb, c->batch, c->stride_b) &&
              make_layout(b, &e->c, c->c_type, c->m, c->n, c->ldc, c->batch, c->stride_c);
    if (ok && c->epilogue) {
        uint32_t epilogue = (c->epilogue & TD_EPILOGUE_RELU ? TD_LT_EPILOGUE_RELU : 0) |
                            (c->epilogue & TD_EPILOGUE_BIAS ? TD_LT_EPILOGUE_BIAS : 0);
        ok = b->cublasLtMatmulDescSetAttribute(e->desc, TD_LT_DESC_EPILOGUE, &epilogue, sizeof epilogue) == 0 &&
             (!c->bias || b->cublasLtMatmulDescSetAttribute(e->desc, TD_LT_DESC_BIAS_POINTER, &c->bias,
                                                             sizeof c->bias) == 0);
    }
    if (!ok)
        entry_release(b, e);
    return ok;
}

/* The key of the shape's record in the disk cache: the GPU, cuBLASLt's
 * version and the shape. */
static uint64_t disk_key(const struct td_cuda *cuda, const tune_key *k)
{
    uint64_t h = td_fnv1a64(TD_FNV1A64_INIT, "tdc gemm choice 2", 17);
    size_t version = cuda->cublas.cublasLtGetVersion();
    int cc[2] = {cuda->cc_major, cuda->cc_minor};
    h = td_fnv1a64(h, cuda->device_name, strlen(cuda->device_name));
    h = td_fnv1a64(h, cc, sizeof cc);
    h = td_fnv1a64(h, &version, sizeof version);
    return td_fnv1a64(h, k, sizeof *k);
}

/* A record: "tdcgemm1", then 0 (the default) or 1 (cuBLASLt) in a u64,
 * the algorithm's 64 bytes and the workspace's size. */
enum { RECORD_BYTES = 8 + 8 + 64 + 8 };

/* The shape's choice from the disk cache into e; false on a miss, or when
 * cuBLASLt no longer takes the algorithm. */
static bool from_disk(struct td_cuda *cuda, const char *dir, uint64_t key, tune_entry *e)
{
    td_blob blob = {0};
    if (!dir || !td_kernel_cache_get(dir, key, "gemm", &blob))
        return false;
    bool ok = blob.size == RECORD_BYTES && memcmp(blob.data, "tdcgemm1", 8) == 0;
    uint64_t lt = 0, workspace = 0;
    if (ok) {
        memcpy(&lt, (char *)blob.data + 8, 8);
        memcpy(&e->algo, (char *)blob.data + 16, 64);
        memcpy(&workspace, (char *)blob.data + 80, 8);
        ok = lt <= 1 && workspace <= TUNE_WORKSPACE;
    }
    free(blob.data);
    if (ok && lt) {
        td_lt_heuristic check;
        ok = cuda->cublas.cublasLtMatmulAlgoCheck(cuda->tuning->lt, e->desc, e->a, e->b, e->c, e->c, &e->algo,
                                                  &check) == 0 &&
             check.state == 0 && check.workspace_bytes <= TUNE_WORKSPACE;
    }
    e->lt = ok && lt;
    e->workspace_bytes = (size_t)workspace;
    return ok;
}

static void to_disk(const char *dir, uint64_t key, const tune_entry *e)
{
    if (!dir)
        return;
    unsigned char record[RECORD_BYTES] = "tdcgemm1";
    uint64_t lt = e->lt, workspace = e->workspace_bytes;
    memcpy(record + 8, &lt, 8);
    memcpy(record + 16, &e->algo, 64);
    memcpy(record + 80, &workspace, 8);
    td_kernel_cache_put(dir, key, "gemm", &(td_blob){record, sizeof record});
}

/* The call run `runs` times between two events: the time of one, in ms,
 * or a negative number when a run failed (a candidate cuBLASLt would not
 * run). lt NULL: the default. */
static td_status time_runs(td_ctx *ctx, struct td_cuda *cuda, const td_cublas_call *c, const tune_entry *e,
                           const td_lt_heuristic *lt, int runs, CUevent ev[2], double *ms)
{
    *ms = -1;
    td_status st = td_cu_check(ctx, cuda, cuda->cu.cuEventRecord(ev[0], cuda->stream), "cuEventRecord");
    bool ok = true;
    for (int r = 0; st == TD_OK && ok && r < runs; r++)
        ok = (lt ? run_lt(cuda, e, &lt->algo, lt->workspace_bytes, c) : run_default(cuda, c)) == 0;
    if (st == TD_OK)
        st = td_cu_check(ctx, cuda, cuda->cu.cuEventRecord(ev[1], cuda->stream), "cuEventRecord");
    if (st == TD_OK)
        st = td_cu_check(ctx, cuda, cuda->cu.cuEventSynchronize(ev[1]), "cuEventSynchronize (timing a product)");
    float elapsed = 0;
    if (st == TD_OK)
        st = td_cu_check(ctx, cuda, cuda->cu.cuEventElapsedTime(&elapsed, ev[0], ev[1]), "cuEventElapsedTime");
    if (st == TD_OK && ok)
        *ms = (double)elapsed / runs;
    return st;
}

/* cuBLASLt's heuristic's first `want` candidates for the shape of e into
 * found; how many. */
static int candidates(struct td_cuda *cuda, const tune_entry *e, td_lt_heuristic *found, int want)
{
    const td_cublas_api *b = &cuda->cublas;
    int nfound = 0;
    cublasLtMatmulPreference_t pref = NULL;
    uint64_t workspace = TUNE_WORKSPACE;
    bool ok = b->cublasLtMatmulPreferenceCreate(&pref) == 0 &&
              b->cublasLtMatmulPreferenceSetAttribute(pref, TD_LT_PREF_MAX_WORKSPACE, &workspace, sizeof workspace) == 0;
    const int64_t aligns[4] = {e->key.align_a, e->key.align_b, e->key.align_c, e->key.align_c};
    for (int i = 0; ok && i < 4; i++) {
        uint32_t bytes = (uint32_t)aligns[i];
        ok = b->cublasLtMatmulPreferenceSetAttribute(pref, TD_LT_PREF_MIN_ALIGNMENT_A + i, &bytes, sizeof bytes) == 0;
    }
    /* an epilogue's split sums (split-K) only in f32: an in-place reduction sums in C's dtype, which for
     * bf16 moved results by several of their units against the CPU's */
    uint32_t reductions = TD_LT_REDUCTION_COMPUTE_TYPE;
    if (ok && e->key.epilogue)
        ok = b->cublasLtMatmulPreferenceSetAttribute(pref, TD_LT_PREF_REDUCTION_MASK, &reductions, sizeof reductions) == 0;
    if (ok && b->cublasLtMatmulAlgoGetHeuristic(cuda->tuning->lt, e->desc, e->a, e->b, e->c, e->c, pref, want, found,
                                                &nfound) != 0)
        nfound = 0;
    if (pref)
        b->cublasLtMatmulPreferenceDestroy(pref);
    return nfound;
}

/* An epilogue's shape untimed: cuBLASLt's first candidate, if any. */
static void first_candidate(struct td_cuda *cuda, tune_entry *e)
{
    td_lt_heuristic found[1];
    e->lt = candidates(cuda, e, found, 1) == 1 && found[0].state == 0 && found[0].workspace_bytes <= TUNE_WORKSPACE;
    if (e->lt) {
        e->algo = found[0].algo;
        e->workspace_bytes = found[0].workspace_bytes;
    }
}

/* How many timed runs a candidate gets, one run of the baseline taking ms. */
static int runs_in_budget(double ms)
{
    int runs = ms > 0 ? (int)(TUNE_BUDGET_US / 1000.0 / ms) : 1;
    return runs < 1 ? 1 : runs > TUNE_MAX_RUNS ? TUNE_MAX_RUNS : runs;
}

/* Times the default (none for an epilogue, which cuBLAS's call cannot
 * run) and cuBLASLt's candidates for the shape of e, the fastest into e;
 * the chosen one runs last. The baseline, the default or an epilogue's
 * first candidate that runs, is left only for one faster by TUNE_MARGIN. */
static td_status time_shape(td_ctx *ctx, struct td_cuda *cuda, const td_cublas_call *c, tune_entry *e)
{
    td_lt_heuristic found[TUNE_CANDIDATES];
    int nfound = candidates(cuda, e, found, TUNE_CANDIDATES);
    CUevent ev[2] = {NULL, NULL};
    td_status st = td_cu_check(ctx, cuda, cuda->cu.cuEventCreate(&ev[0], TD_CU_EVENT_DEFAULT), "cuEventCreate");
    if (st == TD_OK)
        st = td_cu_check(ctx, cuda, cuda->cu.cuEventCreate(&ev[1], TD_CU_EVENT_DEFAULT), "cuEventCreate");
    /* the baseline's first run warms up and sets how many runs a candidate gets */
    double best = -1, ms;
    int runs = 1, chosen = -1, baseline = -1;
    if (st == TD_OK && !c->epilogue) {
        double first = -1;
        st = time_runs(ctx, cuda, c, e, NULL, 1, ev, &first);
        runs = runs_in_budget(first);
        if (st == TD_OK)
            st = time_runs(ctx, cuda, c, e, NULL, runs, ev, &best);
    }
    for (int i = 0; st == TD_OK && i < nfound; i++) {
        if (found[i].state != 0 || found[i].workspace_bytes > TUNE_WORKSPACE)
            continue;
        st = time_runs(ctx, cuda, c, e, &found[i], 1, ev, &ms); /* a warm-up; -1 when it will not run */
        if (st == TD_OK && ms > 0 && best < 0) { /* an epilogue's baseline */
            runs = runs_in_budget(ms);
            baseline = i;
        }
        if (st == TD_OK && ms > 0)
            st = time_runs(ctx, cuda, c, e, &found[i], runs, ev, &ms);
        if (st == TD_OK && ms > 0 && (best < 0 || i == baseline || ms < (chosen == baseline ? best * TUNE_MARGIN : best)))
            best = ms, chosen = i;
    }
    for (int i = 0; i < 2; i++)
        if (ev[i])
            cuda->cu.cuEventDestroy(ev[i]);
    e->lt = chosen >= 0;
    if (e->lt) {
        e->algo = found[chosen].algo;
        e->workspace_bytes = found[chosen].workspace_bytes;
    }
    return st;
}

/* The tuning's state, cuBLASLt's handle and the workspace, made on first
 * need; NULL when cuBLASLt is missing or they cannot be had (the context
 * then tunes nothing, quietly: the default runs every product). */
static struct td_gemm_tuning *tuning_state(struct td_cuda *cuda)
{
    if (!cuda->tuning && lt_loaded(&cuda->cublas) && (cuda->tuning = calloc(1, sizeof *cuda->tuning))) {
        struct td_gemm_tuning *t = cuda->tuning;
        CUdeviceptr w = 0;
        if (cuda->cublas.cublasLtCreate(&t->lt) != 0)
            t->lt = NULL; /* what a failed create leaves is not a handle */
        t->broken = !t->lt || cuda->cu.cuMemAlloc(&w, TUNE_WORKSPACE) != 0;
        t->workspace = (td_dptr)w;
    }
    return cuda->tuning && !cuda->tuning->broken ? cuda->tuning : NULL;
}

static tune_entry *find(struct td_gemm_tuning *t, const tune_key *k)
{
    for (size_t i = 0; i < t->count; i++)
        if (memcmp(&t->entries[i].key, k, sizeof *k) == 0)
            return &t->entries[i];
    return NULL;
}

bool td_cuda_under_a_tool(void)
{
    static const char *const vars[] = {"CUDA_INJECTION64_PATH", "NV_NSIGHT_INJECTION_TRANSPORT_TYPE",
                                       "NV_SANITIZER_INJECTION_TRANSPORT_TYPE", "NVIDIA_PROCESS_INJECTION_CRASH_REPORTING"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && v[0])
            return true;
    }
    return false;
}

/* The shape's entry: found, read from the disk cache, or timed (when the
 * stream is not capturing, and no profiler or sanitizer runs the process:
 * they replay and serialize kernels, so their timings would choose, and
 * keep on disk, slow algorithms). NULL with TD_OK: take the default. An
 * epilogue's shape that is not timed takes cuBLASLt's first candidate:
 * kept when nothing would time it, else made in *once for this call
 * (the caller releases it). */
static td_status entry_for(td_ctx *ctx, struct td_cuda *cuda, const td_cublas_call *c, tune_entry *once,
                           tune_entry **out)
{
    *out = NULL;
    bool tuned = cuda->tune_products && c->beta_zero && tensor_cores(c) && cuda->cu.cuStreamIsCapturing;
    if (!tuned && !c->epilogue)
        return TD_OK;
    struct td_gemm_tuning *t = tuning_state(cuda);
    if (!t)
        return TD_OK;
    tune_key key = key_of(c);
    if ((*out = find(t, &key)))
        return TD_OK;
    if (t->count == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        tune_entry *grown = realloc(t->entries, cap * sizeof *grown);
        if (!grown)
            return TD_OK; /* untuned: the default (an epilogue: none, the caller's own kernel) */
        t->entries = grown, t->cap = cap;
    }
    tune_entry e = {.key = key};
    if (!make_descriptors(&cuda->cublas, c, &e))
        return TD_OK;
    char dir[1024];
    bool cached = tuned && td_kernel_cache_dir(dir, sizeof dir);
    uint64_t dkey = disk_key(cuda, &key);
    int capturing = 1;
    td_status st = TD_OK;
    if (!tuned) {
        first_candidate(cuda, &e);
    } else if (from_disk(cuda, cached ? dir : NULL, dkey, &e)) {
        t->from_cache++;
        t->on_lt += e.lt;
    } else if (!td_cuda_under_a_tool() && cuda->cu.cuStreamIsCapturing(cuda->stream, &capturing) == 0 &&
               capturing == 0) {
        st = time_shape(ctx, cuda, c, &e);
        if (st == TD_OK) {
            t->timed++;
            t->on_lt += e.lt;
            to_disk(cached ? dir : NULL, dkey, &e);
        }
    } else if (c->epilogue) { /* in a capture or under a tool, not timed: the first, this time */
        first_candidate(cuda, &e);
        *once = e;
        *out = once;
        return TD_OK;
    } else {
        entry_release(&cuda->cublas, &e); /* in a capture or under a tool, not timed: the default, this time */
        return TD_OK;
    }
    if (st != TD_OK) {
        entry_release(&cuda->cublas, &e);
        return st;
    }
    t->entries[t->count] = e;
    *out = &t->entries[t->count++];
    return TD_OK;
}

td_status td_cuda_cublas_run(td_ctx *ctx, struct td_cuda *cuda, const td_cublas_call *call, cublasStatus_t *s,
                             const char **api)
{
    tune_entry *e = NULL, once = {0};
    td_status st = entry_for(ctx, cuda, call, &once, &e);
    *s = 0;
    *api = e && e->lt ? "cublasLtMatmul" : call->epilogue ? NULL : "cublasGemmStridedBatchedEx";
    if (st == TD_OK && *api) /* after a timing too: C then holds the chosen routine's result, not the last candidate's */
        *s = e && e->lt ? run_lt(cuda, e, &e->algo, e->workspace_bytes, call) : run_default(cuda, call);
    if (e == &once)
        entry_release(&cuda->cublas, &once);
    return st;
}

void td_cuda_tune_counts(td_ctx *ctx, int64_t *timed, int64_t *from_cache, int64_t *lt)
{
    const struct td_gemm_tuning *t = ctx && ctx->cuda ? ctx->cuda->tuning : NULL;
    if (timed)
        *timed = t ? t->timed : 0;
    if (from_cache)
        *from_cache = t ? t->from_cache : 0;
    if (lt)
        *lt = t ? t->on_lt : 0;
}

void td_cuda_gemm_tuning_free(struct td_cuda *cuda)
{
    struct td_gemm_tuning *t = cuda ? cuda->tuning : NULL;
    if (!t)
        return;
    for (size_t i = 0; i < t->count; i++)
        entry_release(&cuda->cublas, &t->entries[i]);
    free(t->entries);
    if (t->lt)
        cuda->cublas.cublasLtDestroy(t->lt);
    if (t->workspace)
        cuda->cu.cuMemFree((CUdeviceptr)t->workspace);
    free(t);
    cuda->tuning = NULL;
}

void td_cuda_tune_products(td_ctx *ctx, bool tune)
{
    struct td_cuda *cuda = ctx ? td_cuda_state(ctx) : NULL;
    if (cuda)
        cuda->tune_products = tune;
}

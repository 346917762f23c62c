/* gemm.c - contractions on the GPU: C = alpha A B + beta C over a batch of
 * strided views in device memory (td.h, td_cuda_gemm_run), queued on the
 * context's stream.
 *
 * It takes td_gemm_run's descriptor and semantics (runtime/gemm.c) and
 * follows its three stages. check() validates the descriptor with the
 * CPU's code (runtime/gemm_shape.c), before anything touches the GPU, so a
 * bad descriptor is TD_ERR_INPUT even where there is no GPU. make_plan()
 * drops size-1 batch axes and picks a route, reading nothing:
 *   - small products of floats (SMALL_MACS below; td_cuda_small_products
 *     turns this off) to the generic kernel's warp form: one warp an
 *     element of C, any layout, every batch axis in one launch. At these
 *     sizes a launch costs more than the arithmetic, and cuBLAS's kernels
 *     take longer to start and finish than this one.
 *   - cuBLAS (cublasGemmStridedBatchedEx, or cublasLtMatmul with the
 *     algorithm gemm_tune.c chose for the shape) for f64, f32, f16 and bf16 when
 *     every operand is a matrix or the transpose of one. cuBLAS is
 *     column-major, and a row-major C = A B is the column-major
 *     C^T = B^T A^T, so the row-major "NoTrans" operand of
 *     td_gemm_direct_layout is cuBLAS's CUBLAS_OP_N of the swapped operands, with
 *     the same leading dimension. C needs a unit stride on one axis (the
 *     problem is transposed when that is its row axis). Batch axes fold
 *     into m or n as on the CPU (x @ W is one tall GEMM), axes whose strides
 *     chain in all three operands collapse into one, the largest remaining
 *     axis with non-negative strides becomes cuBLAS's strided batch, and the
 *     host loops over the rest. Sizes and leading dimensions must fit
 *     cuBLAS's 32-bit ints.
 *   - a generic kernel (the CUDA source below, compiled once per context
 *     through NVRTC) for everything else: integer dtypes (wrapping
 *     arithmetic modulo 2^bits, as the CPU), f8e4m3 and f8e5m2 (widened to
 *     f32, rounded once), layouts without a unit stride, sizes past
 *     INT_MAX, and k == 0 or alpha == 0 (C = beta C, exactly the CPU's
 *     arithmetic, with A and B unread). One thread per element of C, over
 *     the grid; every batch axis in one launch. It is correct rather than
 *     fast: no tiling, no shared memory.
 * td_cuda_gemm_epilogue_run adds a bias along C's rows and relu: in
 * cuBLASLt's epilogue where the plan is cuBLAS's with C's rows its
 * columns, beta 0 and one call; else after the product, by a kernel of
 * the same module over C (tdg_epilogue_*), the CPU's arithmetic.
 * execute() then copies an input that C overlaps into device scratch (so
 * inputs are read before C is written, as on the CPU), makes the cuBLAS
 * handle on first use, and queues the calls. Arithmetic: f64 in double; f32
 * in f32 (TF32 tensor cores only after td_cuda_allow_tf32); f16 and bf16
 * accumulate in f32 and round once; the kernel accumulates narrow floats in
 * f32 too. Results agree with the CPU to rounding (the order of the sums
 * differs), integers and the scale-only case exactly. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ctx_internal.h"
#include "../gemm_shape.h"
#include "cuda_internal.h"
#include "cuda_narrow_floats.h"

enum { MAXB = TD_GEMM_MAX_BATCH };

#define BAD(...) td_fail(ctx, TD_ERR_INPUT, "td_cuda_gemm: " __VA_ARGS__)

/* cuBLAS's and CUDA's enum values (cublas_api.h, library_types.h of CUDA 12 and 13) */
enum {
    CUBLAS_OP_N_ = 0,
    CUBLAS_OP_T_ = 1,
    CUBLAS_COMPUTE_32F_ = 68,
    CUBLAS_COMPUTE_32F_FAST_TF32_ = 77,
    CUBLAS_COMPUTE_64F_ = 70,
    CUDA_R_32F_ = 0,
    CUDA_R_64F_ = 1,
    CUDA_R_16F_ = 2,
    CUDA_R_16BF_ = 14,
};

enum { KERNEL_THREADS = 256 };

/* operand and problem: gemm_shape.h's, with device addresses (a td_dptr
 * is a uintptr_t here) as addresses. */
_Static_assert(sizeof(uintptr_t) == sizeof(td_dptr), "an operand's address holds a td_dptr");
typedef td_gemm_operand operand;
typedef td_gemm_problem problem;

typedef enum route {
    ROUTE_NONE,   /* C is empty */
    ROUTE_KERNEL, /* the generic kernel */
    ROUTE_SMALL,  /* the small products' kernel (a warp an element of C) */
    ROUTE_CUBLAS, /* cublasGemmStridedBatchedEx or cublasLtMatmul (gemm_tune.c) */
} route;

/* A product of floats of at most SMALL_MACS multiply-adds in all, none
 * summing more than SMALL_K terms, takes ROUTE_SMALL: a launch-bound size,
 * where cuBLAS's kernels (3.5 to 5.5 us each on an H100 for the tiny
 * Cruncher's 8 x 64 x 64, under ncu) cost more than one warp an element
 * (4.0 us there). SMALL_K keeps a lane's loop to 8 terms, each a load's
 * latency: longer sums are cuBLAS's. */
enum { SMALL_MACS = 1 << 20, SMALL_K = 256 };
_Static_assert(SMALL_MACS <= 0xffffffffu, "the small route's C is indexed in 32 bits (tdg_locate32)");

typedef struct plan {
    problem pr;
    route route;
    bool scale_only; /* k == 0 or alpha == 0: C = beta C */
    /* ROUTE_CUBLAS: cuBLAS's A is y^T (op ytrans), its B is x^T (op xtrans),
     * its C is z^T, all column-major with these leading dimensions */
    bool x_trans, y_trans;
    int ldx, ldy, ldz;
    int strided_axis;  /* the batch axis cuBLAS strides over; -1: none */
    size_t host_items; /* cuBLAS calls the host loops over (before chunking the strided axis) */
    size_t items;      /* batch items in all */
    /* td_cuda_gemm_epilogue_run: cuBLASLt's epilogue in the call, and
     * whether it is still to run (the product ran without it) */
    int epilogue;
    td_dptr bias;
    bool epilogue_left;
} plan;

/* ---- validation: gemm_shape.c's checks, on device addresses ---- */

/* td_gemm_run's checks but one: sizes past INT_MAX are fine here (the
 * kernel takes them), where OpenBLAS's 32-bit interface refuses them. */
static td_status check(td_ctx *ctx, const td_gemm *g, td_dptr a, td_dptr b, td_dptr c, problem *pr)
{
    return td_gemm_check(ctx, "td_cuda_gemm", false, g, a, b, c, pr);
}

/* ---- planning ---- */

/* Merges batch axes t and t + 1 wherever, in all three operands, a step
 * along t is a whole run of t + 1 (broadcast axes chain too: 0 == size *
 * 0), so a (B, H) batch of contiguous items is one axis of B H. */
static void collapse_batch(problem *pr)
{
    for (int t = pr->nb - 2; t >= 0; t--) {
        const operand *ops[3] = {&pr->x, &pr->y, &pr->z};
        bool chains = true;
        for (int i = 0; i < 3 && chains; i++) {
            int64_t run;
            chains = !__builtin_mul_overflow(pr->batch[t + 1], ops[i]->bs[t + 1], &run) && run == ops[i]->bs[t];
        }
        int64_t merged;
        if (!chains || __builtin_mul_overflow(pr->batch[t], pr->batch[t + 1], &merged))
            continue;
        pr->batch[t + 1] = merged; /* keeps axis t + 1's strides */
        td_gemm_remove_axis(pr, t);
    }
}

static bool cublas_dtype(td_dtype t) { return t == TD_F64 || t == TD_F32 || t == TD_F16 || t == TD_BF16; }

/* The cuBLAS route: true when every operand is in place, the orientation of
 * the problem and the layouts then set in pl. td_gemm_direct_layout speaks
 * row-major; read column-major, as cuBLAS does, its NoTrans matrix is the
 * transpose stored as CUBLAS_OP_N, which is why C = A B runs as
 * C^T = B^T A^T with its flags and leading dimensions unchanged. Folds keep
 * every operand that is in place in place. */
static bool plan_cublas(plan *pl)
{
    problem *pr = &pl->pr;
    if (!cublas_dtype(pr->dtype))
        return false;
    problem saved = *pr;
    td_gemm_fold_rows(pr, true);
    td_gemm_transpose(pr);
    td_gemm_fold_rows(pr, true);
    td_gemm_transpose(pr);
    bool t;
    int l;
    /* cuBLAS writes C^T column-major: C needs unit column stride (NoTrans) */
    if (!td_gemm_direct_layout(pr->m, pr->n, pr->z.rs, pr->z.cs, &t, &l) || t)
        if (td_gemm_direct_layout(pr->n, pr->m, pr->z.cs, pr->z.rs, &t, &l) && !t)
            td_gemm_transpose(pr);
    bool in_place = pr->m <= INT_MAX && pr->n <= INT_MAX && pr->k <= INT_MAX &&
                    td_gemm_direct_layout(pr->m, pr->k, pr->x.rs, pr->x.cs, &pl->x_trans, &pl->ldx) &&
                    td_gemm_direct_layout(pr->k, pr->n, pr->y.rs, pr->y.cs, &pl->y_trans, &pl->ldy) &&
                    td_gemm_direct_layout(pr->m, pr->n, pr->z.rs, pr->z.cs, &t, &pl->ldz) && !t;
    if (!in_place) {
        *pr = saved;
        return false;
    }
    collapse_batch(pr);
    /* cuBLAS strides over the largest axis whose strides are all >= 0 (its
     * documentation promises nothing for negative ones); the host loops over
     * the rest */
    pl->strided_axis = -1;
    for (int u = 0; u < pr->nb; u++)
        if (pr->x.bs[u] >= 0 && pr->y.bs[u] >= 0 && pr->z.bs[u] >= 0 &&
            (pl->strided_axis < 0 || pr->batch[u] > pr->batch[pl->strided_axis]))
            pl->strided_axis = u;
    return true;
}

/* The kernel's route: one thread per element of C with j fastest, so the
 * problem is transposed when that puts the smaller stride of C on j. */
static void plan_kernel(plan *pl)
{
    problem *pr = &pl->pr;
    int64_t rs = pr->z.rs < 0 ? -pr->z.rs : pr->z.rs, cs = pr->z.cs < 0 ? -pr->z.cs : pr->z.cs;
    if (pr->m > 1 && (pr->n == 1 || rs < cs))
        td_gemm_transpose(pr);
}

static bool small_product(const problem *pr)
{
    if (!cublas_dtype(pr->dtype) || pr->k > SMALL_K)
        return false;
    int64_t macs = pr->m;
    if (__builtin_mul_overflow(macs, pr->n, &macs) || __builtin_mul_overflow(macs, pr->k, &macs))
        return false;
    for (int t = 0; t < pr->nb; t++)
        if (__builtin_mul_overflow(macs, pr->batch[t], &macs))
            return false;
    return macs <= SMALL_MACS;
}

/* small: ROUTE_SMALL may be taken (td_cuda_small_products) */
static void make_plan(const problem *in, plan *pl, bool small)
{
    memset(pl, 0, sizeof *pl);
    pl->pr = *in;
    pl->strided_axis = -1;
    problem *pr = &pl->pr;
    if (pr->z.empty) {
        pl->route = ROUTE_NONE;
        return;
    }
    td_gemm_drop_unit_axes(pr);
    pl->scale_only = pr->k == 0 || pr->alpha == 0;
    if (!pl->scale_only) {
        pr->x.snap = td_gemm_overlap(&pr->x, pr->esize, &pr->z, pr->zsize);
        pr->y.snap = td_gemm_overlap(&pr->y, pr->esize, &pr->z, pr->zsize);
    }
    if (!pl->scale_only && small && small_product(pr)) {
        pl->route = ROUTE_SMALL;
        plan_kernel(pl);
    } else if (!pl->scale_only && plan_cublas(pl)) {
        pl->route = ROUTE_CUBLAS;
    } else {
        pl->route = ROUTE_KERNEL;
        plan_kernel(pl);
    }
    /* C is not empty and its elements are distinct, so items * m * n <= PTRDIFF_MAX */
    pl->items = 1;
    pl->host_items = 1;
    for (int t = 0; t < pr->nb; t++) {
        pl->items *= (size_t)pr->batch[t];
        if (t != pl->strided_axis)
            pl->host_items *= (size_t)pr->batch[t];
    }
}

/* ---- the generic kernel ----
 *
 * One kernel per dtype (in td_dtype's order), each over every element of C
 * of every batch item: e = ((item) * m + i) * n + j, j fastest. Floats are
 * read into the arithmetic type (double for f64, float otherwise; narrow
 * formats widened exactly) and rounded once when stored; the narrowing is
 * runtime/dtype.c's, bit for bit (round to nearest even, f8e4m3fn
 * saturating to NaN). Integers are read as uint64_t, sign-extended, so sums
 * and products wrap, and stored through the unsigned type of their width.
 * The arguments are one struct, laid out as gemm_kernel_args below. The
 * types and templates come first, then TD_CUDA_APART and the kernels
 * alone, one definition each: the module is lazy (td_cuda_module_load_lazy),
 * each kernel a program of its own built at its first launch or beside a
 * model's kernels (td_cuda_gemm_prefetch), about 0.2 s of NVRTC each where
 * the 27 as one program took 2.1 s. */
static const char kernel_source[] =
    TD_CUDA_INT_TYPES
    TD_CUDA_GRID_WAIT
    "\n"
    "/* as gemm_kernel_args in runtime/cuda/gemm.c: every field 8 bytes */\n"
    "struct tdg_gemm_args {\n"
    "    int64_t m, n, k, nb;\n"
    "    int64_t batch[8];\n"
    "    int64_t x_rs, x_cs, y_rs, y_cs, z_rs, z_cs;\n"
    "    int64_t x_bs[8], y_bs[8], z_bs[8];\n"
    "    int64_t total;          /* items * m * n */\n"
    "    double alpha, beta;     /* float dtypes */\n"
    "    int64_t ialpha, ibeta;  /* integer dtypes */\n"
    "    int64_t scale_only;     /* k == 0 or alpha == 0: C = beta C, A and B unread */\n"
    "    uint64_t x, y, z;       /* element [0][0] of item 0 */\n"
    "};\n"
    "\n"
    TD_CUDA_NARROW_FLOATS
    "\n"
    "/* float formats: the stored element, the arithmetic type, and the conversions */\n"
    "struct tdg_f64 {\n"
    "    typedef double elem;\n"
    "    typedef double real;\n"
    "    static __device__ double load(double v) { return v; }\n"
    "    static __device__ double store(double v) { return v; }\n"
    "    static __device__ double mad(double a, double b, double c) { return __fma_rn(a, b, c); }\n"
    "};\n"
    "struct tdg_f32 {\n"
    "    typedef float elem;\n"
    "    typedef float real;\n"
    "    static __device__ float load(float v) { return v; }\n"
    "    static __device__ float store(float v) { return v; }\n"
    "    static __device__ float mad(float a, float b, float c) { return __fmaf_rn(a, b, c); }\n"
    "};\n"
    "template <typename T, int EBITS, int MBITS, bool FN> struct tdg_narrow_fmt {\n"
    "    typedef T elem;\n"
    "    typedef float real;\n"
    "    static __device__ float load(T v) { return tdg_widen(v, EBITS, MBITS, FN); }\n"
    "    static __device__ T store(float v) { return (T)tdg_narrow(v, EBITS, MBITS, FN); }\n"
    "    static __device__ float mad(float a, float b, float c) { return __fmaf_rn(a, b, c); }\n"
    "};\n"
    "\n"
    "/* integer formats: read sign-extended into uint64_t, stored through the unsigned type */\n"
    "template <typename T, typename U> struct tdg_int_fmt {\n"
    "    typedef T elem;\n"
    "    static __device__ uint64_t load(const T *p) { return (uint64_t)(int64_t)*p; }\n"
    "    static __device__ void store(T *p, uint64_t v) { *(U *)p = (U)v; }\n"
    "};\n"
    "\n"
    "/* element e's row i, column j and item offsets of x, y and z */\n"
    "__device__ inline void tdg_locate(const tdg_gemm_args &g, int64_t e, int64_t *ox, int64_t *oy, int64_t *oz)\n"
    "{\n"
    "    int64_t j = e % g.n, rest = e / g.n, i = rest % g.m;\n"
    "    rest /= g.m;\n"
    "    int64_t x = i * g.x_rs, y = j * g.y_cs, z = i * g.z_rs + j * g.z_cs;\n"
    "    for (int t = (int)g.nb - 1; t >= 0; t--) {\n"
    "        int64_t b = rest % g.batch[t];\n"
    "        rest /= g.batch[t];\n"
    "        x += b * g.x_bs[t];\n"
    "        y += b * g.y_bs[t];\n"
    "        z += b * g.z_bs[t];\n"
    "    }\n"
    "    *ox = x, *oy = y, *oz = z;\n"
    "}\n"
    "\n"
    "/* The same for a C of fewer than 2^32 elements (the small route's, at\n"
    " * most 2^20): the index split in 32-bit arithmetic, a fraction of the\n"
    " * 64-bit divisions' cost */\n"
    "__device__ inline void tdg_locate32(const tdg_gemm_args &g, uint32_t e, int64_t *ox, int64_t *oy, int64_t *oz)\n"
    "{\n"
    "    const uint32_t n = (uint32_t)g.n, m = (uint32_t)g.m;\n"
    "    uint32_t j = e % n, rest = e / n, i = rest % m;\n"
    "    rest /= m;\n"
    "    int64_t x = (int64_t)i * g.x_rs, y = (int64_t)j * g.y_cs, z = (int64_t)i * g.z_rs + (int64_t)j * g.z_cs;\n"
    "    for (int t = (int)g.nb - 1; t >= 0; t--) {\n"
    "        const uint32_t size = (uint32_t)g.batch[t], b = rest % size;\n"
    "        rest /= size;\n"
    "        x += (int64_t)b * g.x_bs[t];\n"
    "        y += (int64_t)b * g.y_bs[t];\n"
    "        z += (int64_t)b * g.z_bs[t];\n"
    "    }\n"
    "    *ox = x, *oy = y, *oz = z;\n"
    "}\n"
    "\n"
    "/* F: the operands' format; G: C's (F's, or f32 for td_gemm's c_f32).\n"
    " * LANES 1: a thread an element of C; 32 (ROUTE_SMALL): a warp an\n"
    " * element, lane l summing terms l, l + 32, ..., the lanes' sums then\n"
    " * added in a fixed tree (the same result every run). The grid is\n"
    " * `blocks` blocks, this one `block` of them (a group's share) */\n"
    "template <class F, class G, int LANES>\n"
    "__device__ void tdg_gemm_float(const tdg_gemm_args &g, int64_t block, int64_t blocks)\n"
    "{\n"
    "    TD_GRID_WAIT(); /* every float kernel's first statement, the group's too */\n"
    "    typedef typename F::elem E;\n"
    "    typedef typename F::real R;\n"
    "    typedef typename G::elem Z;\n"
    "    const E *x = (const E *)g.x, *y = (const E *)g.y;\n"
    "    Z *z = (Z *)g.z;\n"
    "    const R alpha = (R)g.alpha, beta = (R)g.beta;\n"
    "    const int lane = threadIdx.x % LANES;\n"
    "    const int64_t step = blocks * blockDim.x / LANES;\n"
    "    for (int64_t e = (block * blockDim.x + threadIdx.x) / LANES; e < g.total; e += step) {\n"
    "        int64_t ox, oy, oz;\n"
    "        if (LANES > 1) /* the small route: total <= 2^20 */\n"
    "            tdg_locate32(g, (uint32_t)e, &ox, &oy, &oz);\n"
    "        else\n"
    "            tdg_locate(g, e, &ox, &oy, &oz);\n"
    "        R acc = 0;\n"
    "        if (!g.scale_only) {\n"
    "            const E *xr = x + ox, *yc = y + oy;\n"
    "            for (int64_t p = lane; p < g.k; p += LANES)\n"
    "                acc = F::mad(F::load(xr[p * g.x_cs]), F::load(yc[p * g.y_rs]), acc);\n"
    "            for (int half = LANES / 2; half > 0; half /= 2)\n"
    "                acc += __shfl_down_sync(0xffffffffu, acc, half);\n"
    "        }\n"
    "        if (lane == 0) {\n"
    "            Z *c = z + oz;\n"
    "            R v;\n"
    "            if (g.scale_only) {\n"
    "                v = g.beta == 0 ? (R)0 : beta * G::load(*c); /* beta == 0: +0, C unread */\n"
    "            } else {\n"
    "                v = alpha * acc;\n"
    "                if (g.beta != 0) /* beta == 0: C is not read */\n"
    "                    v = v + beta * G::load(*c);\n"
    "            }\n"
    "            *c = G::store(v);\n"
    "        }\n"
    "    }\n"
    "}\n"
    "\n"
    "template <class F> __device__ void tdg_gemm_int(const tdg_gemm_args &g)\n"
    "{\n"
    "    TD_GRID_WAIT(); /* every integer kernel's first statement */\n"
    "    typedef typename F::elem E;\n"
    "    const E *x = (const E *)g.x, *y = (const E *)g.y;\n"
    "    E *z = (E *)g.z;\n"
    "    const uint64_t alpha = (uint64_t)g.ialpha, beta = (uint64_t)g.ibeta;\n"
    "    const int64_t step = (int64_t)gridDim.x * blockDim.x;\n"
    "    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < g.total; e += step) {\n"
    "        int64_t ox, oy, oz;\n"
    "        tdg_locate(g, e, &ox, &oy, &oz);\n"
    "        E *c = z + oz;\n"
    "        uint64_t v = 0;\n"
    "        if (!g.scale_only) {\n"
    "            const E *xr = x + ox, *yc = y + oy;\n"
    "            uint64_t acc = 0;\n"
    "            for (int64_t p = 0; p < g.k; p++)\n"
    "                acc += F::load(xr + p * g.x_cs) * F::load(yc + p * g.y_rs);\n"
    "            v = alpha * acc;\n"
    "        }\n"
    "        if (beta != 0)\n"
    "            v += beta * F::load(c);\n"
    "        F::store(c, v);\n"
    "    }\n"
    "}\n"
    "\n"
    "typedef tdg_narrow_fmt<uint16_t, 5, 10, false> tdg_f16;\n"
    "typedef tdg_narrow_fmt<uint16_t, 8, 7, false> tdg_bf16;\n"
    "\n"
    "/* Small products queued together (td_cuda_gemm_group_begin), each on\n"
    " * the small route's warps: product i takes blocks first_block[i] to\n"
    " * first_block[i + 1] - 1. As gemm_group_args in runtime/cuda/gemm.c. */\n"
    "struct tdg_gemm_group {\n"
    "    tdg_gemm_args at[8];\n"
    "    int64_t first_block[9];\n"
    "    int64_t count;\n"
    "};\n"
    "template <class F, class G> __device__ void tdg_gemm_grouped(const tdg_gemm_group &g)\n"
    "{\n"
    "    int i = 0;\n"
    "    while (i + 1 < g.count && (int64_t)blockIdx.x >= g.first_block[i + 1])\n"
    "        i++;\n"
    "    tdg_gemm_float<F, G, 32>(g.at[i], (int64_t)blockIdx.x - g.first_block[i], g.first_block[i + 1] - g.first_block[i]);\n"
    "}\n"
    "\n"
    "/* td_cuda_gemm_epilogue_run's own pass, where cuBLASLt's epilogue does not\n"
    " * run: C[i][j] + bias[j] and relu, in C's arithmetic type, rounded once.\n"
    " * As epilogue_kernel_args in runtime/cuda/gemm.c */\n"
    "struct tdg_epilogue_args {\n"
    "    int64_t m, n, nb;\n"
    "    int64_t batch[8];\n"
    "    int64_t c_rs, c_cs;\n"
    "    int64_t c_bs[8];\n"
    "    int64_t total;          /* items * m * n */\n"
    "    int64_t relu;\n"
    "    uint64_t c, bias;       /* bias 0: none */\n"
    "};\n"
    "template <class F> __device__ void tdg_epilogue(const tdg_epilogue_args &g)\n"
    "{\n"
    "    TD_GRID_WAIT(); /* the module's kernels all wait */\n"
    "    typedef typename F::elem E;\n"
    "    typedef typename F::real R;\n"
    "    E *z = (E *)g.c;\n"
    "    const E *bias = (const E *)g.bias;\n"
    "    const int64_t step = (int64_t)gridDim.x * blockDim.x;\n"
    "    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < g.total; e += step) {\n"
    "        int64_t j = e % g.n, rest = e / g.n, i = rest % g.m;\n"
    "        rest /= g.m;\n"
    "        int64_t at = i * g.c_rs + j * g.c_cs;\n"
    "        for (int t = (int)g.nb - 1; t >= 0; t--) {\n"
    "            at += rest % g.batch[t] * g.c_bs[t];\n"
    "            rest /= g.batch[t];\n"
    "        }\n"
    "        R v = F::load(z[at]);\n"
    "        if (bias)\n"
    "            v = v + F::load(bias[j]);\n"
    "        if (g.relu && v < 0) /* the CPU's relu: x < 0 ? 0 : x */\n"
    "            v = 0;\n"
    "        z[at] = F::store(v);\n"
    "    }\n"
    "}\n"
    "\n"
    TD_CUDA_APART
    "extern \"C\" __global__ void tdg_gemm_f64(tdg_gemm_args g) { tdg_gemm_float<tdg_f64, tdg_f64, 1>(g, blockIdx.x, gridDim.x); }\n"
    "extern \"C\" __global__ void tdg_gemm_f32(tdg_gemm_args g) { tdg_gemm_float<tdg_f32, tdg_f32, 1>(g, blockIdx.x, gridDim.x); }\n"
    "extern \"C\" __global__ void tdg_gemm_f16(tdg_gemm_args g) { tdg_gemm_float<tdg_f16, tdg_f16, 1>(g, blockIdx.x, gridDim.x); }\n"
    "extern \"C\" __global__ void tdg_gemm_bf16(tdg_gemm_args g) { tdg_gemm_float<tdg_bf16, tdg_bf16, 1>(g, blockIdx.x, gridDim.x); }\n"
    "extern \"C\" __global__ void tdg_gemm_f8e4m3(tdg_gemm_args g)\n"
    "{\n"
    "    tdg_gemm_float<tdg_narrow_fmt<uint8_t, 4, 3, true>, tdg_narrow_fmt<uint8_t, 4, 3, true>, 1>(g, blockIdx.x, gridDim.x);\n"
    "}\n"
    "extern \"C\" __global__ void tdg_gemm_f8e5m2(tdg_gemm_args g)\n"
    "{\n"
    "    tdg_gemm_float<tdg_narrow_fmt<uint8_t, 5, 2, false>, tdg_narrow_fmt<uint8_t, 5, 2, false>, 1>(g, blockIdx.x, gridDim.x);\n"
    "}\n"
    "extern \"C\" __global__ void tdg_gemm_f16_f32(tdg_gemm_args g) { tdg_gemm_float<tdg_f16, tdg_f32, 1>(g, blockIdx.x, gridDim.x); }\n"
    "extern \"C\" __global__ void tdg_gemm_bf16_f32(tdg_gemm_args g) { tdg_gemm_float<tdg_bf16, tdg_f32, 1>(g, blockIdx.x, gridDim.x); }\n"
    "extern \"C\" __global__ void tdg_gemm_small_f64(tdg_gemm_args g) { tdg_gemm_float<tdg_f64, tdg_f64, 32>(g, blockIdx.x, gridDim.x); }\n"
    "extern \"C\" __global__ void tdg_gemm_small_f32(tdg_gemm_args g) { tdg_gemm_float<tdg_f32, tdg_f32, 32>(g, blockIdx.x, gridDim.x); }\n"
    "extern \"C\" __global__ void tdg_gemm_small_f16(tdg_gemm_args g) { tdg_gemm_float<tdg_f16, tdg_f16, 32>(g, blockIdx.x, gridDim.x); }\n"
    "extern \"C\" __global__ void tdg_gemm_small_bf16(tdg_gemm_args g) { tdg_gemm_float<tdg_bf16, tdg_bf16, 32>(g, blockIdx.x, gridDim.x); }\n"
    "extern \"C\" __global__ void tdg_gemm_small_f16_f32(tdg_gemm_args g) { tdg_gemm_float<tdg_f16, tdg_f32, 32>(g, blockIdx.x, gridDim.x); }\n"
    "extern \"C\" __global__ void tdg_gemm_small_bf16_f32(tdg_gemm_args g) { tdg_gemm_float<tdg_bf16, tdg_f32, 32>(g, blockIdx.x, gridDim.x); }\n"
    "extern \"C\" __global__ void tdg_epilogue_f64(tdg_epilogue_args g) { tdg_epilogue<tdg_f64>(g); }\n"
    "extern \"C\" __global__ void tdg_epilogue_f32(tdg_epilogue_args g) { tdg_epilogue<tdg_f32>(g); }\n"
    "extern \"C\" __global__ void tdg_epilogue_f16(tdg_epilogue_args g) { tdg_epilogue<tdg_f16>(g); }\n"
    "extern \"C\" __global__ void tdg_epilogue_bf16(tdg_epilogue_args g) { tdg_epilogue<tdg_bf16>(g); }\n"
    "extern \"C\" __global__ void tdg_gemm_i64(tdg_gemm_args g) { tdg_gemm_int<tdg_int_fmt<int64_t, uint64_t> >(g); }\n"
    "extern \"C\" __global__ void tdg_gemm_i32(tdg_gemm_args g) { tdg_gemm_int<tdg_int_fmt<int32_t, uint32_t> >(g); }\n"
    "extern \"C\" __global__ void tdg_gemm_u16(tdg_gemm_args g)\n"
    "{\n"
    "    tdg_gemm_int<tdg_int_fmt<uint16_t, uint16_t> >(g);\n"
    "}\n"
    "extern \"C\" __global__ void tdg_gemm_group_f64(const __grid_constant__ tdg_gemm_group g) { tdg_gemm_grouped<tdg_f64, tdg_f64>(g); }\n"
    "extern \"C\" __global__ void tdg_gemm_group_f32(const __grid_constant__ tdg_gemm_group g) { tdg_gemm_grouped<tdg_f32, tdg_f32>(g); }\n"
    "extern \"C\" __global__ void tdg_gemm_group_f16(const __grid_constant__ tdg_gemm_group g) { tdg_gemm_grouped<tdg_f16, tdg_f16>(g); }\n"
    "extern \"C\" __global__ void tdg_gemm_group_bf16(const __grid_constant__ tdg_gemm_group g) { tdg_gemm_grouped<tdg_bf16, tdg_bf16>(g); }\n"
    "extern \"C\" __global__ void tdg_gemm_group_f16_f32(const __grid_constant__ tdg_gemm_group g) { tdg_gemm_grouped<tdg_f16, tdg_f32>(g); }\n"
    "extern \"C\" __global__ void tdg_gemm_group_bf16_f32(const __grid_constant__ tdg_gemm_group g) { tdg_gemm_grouped<tdg_bf16, tdg_f32>(g); }\n";

/* The kernels, indexed by td_dtype (bool has none), then the two with an
 * f32 C from narrower operands (td_gemm's c_f32), then the small route's
 * (the dtypes cuBLAS takes, then the two with an f32 C). */
enum {
    KERNEL_F16_F32 = TD_BOOL, KERNEL_BF16_F32,
    KERNEL_SMALL_F64, KERNEL_SMALL_F32, KERNEL_SMALL_F16, KERNEL_SMALL_BF16, KERNEL_SMALL_F16_F32, KERNEL_SMALL_BF16_F32,
    KERNEL_GROUP_F64, /* the small ones', queued together, in the same order */
    KERNEL_EPILOGUE_F64 = KERNEL_GROUP_F64 + 6 /* td_cuda_gemm_epilogue_run's pass: f64, f32, f16, bf16 */
};
static const char *const kernel_names[] = {
    [TD_F64] = "tdg_gemm_f64",       [TD_F32] = "tdg_gemm_f32",       [TD_F16] = "tdg_gemm_f16",
    [TD_BF16] = "tdg_gemm_bf16",     [TD_F8E4M3] = "tdg_gemm_f8e4m3", [TD_F8E5M2] = "tdg_gemm_f8e5m2",
    [TD_I64] = "tdg_gemm_i64",       [TD_I32] = "tdg_gemm_i32",       [TD_U16] = "tdg_gemm_u16",
    [KERNEL_F16_F32] = "tdg_gemm_f16_f32", [KERNEL_BF16_F32] = "tdg_gemm_bf16_f32",
    [KERNEL_SMALL_F64] = "tdg_gemm_small_f64", [KERNEL_SMALL_F32] = "tdg_gemm_small_f32",
    [KERNEL_SMALL_F16] = "tdg_gemm_small_f16", [KERNEL_SMALL_BF16] = "tdg_gemm_small_bf16",
    [KERNEL_SMALL_F16_F32] = "tdg_gemm_small_f16_f32", [KERNEL_SMALL_BF16_F32] = "tdg_gemm_small_bf16_f32",
    [KERNEL_GROUP_F64] = "tdg_gemm_group_f64", [KERNEL_GROUP_F64 + 1] = "tdg_gemm_group_f32",
    [KERNEL_GROUP_F64 + 2] = "tdg_gemm_group_f16", [KERNEL_GROUP_F64 + 3] = "tdg_gemm_group_bf16",
    [KERNEL_GROUP_F64 + 4] = "tdg_gemm_group_f16_f32", [KERNEL_GROUP_F64 + 5] = "tdg_gemm_group_bf16_f32",
    [KERNEL_EPILOGUE_F64] = "tdg_epilogue_f64", [KERNEL_EPILOGUE_F64 + 1] = "tdg_epilogue_f32",
    [KERNEL_EPILOGUE_F64 + 2] = "tdg_epilogue_f16", [KERNEL_EPILOGUE_F64 + 3] = "tdg_epilogue_bf16",
};
enum { KERNEL_COUNT = sizeof kernel_names / sizeof kernel_names[0] };
_Static_assert((int)KERNEL_COUNT == (int)TD_BOOL + 18,
               "one kernel per dtype before bool, two with an f32 C, six small, six small grouped, four epilogues");
_Static_assert(TD_F64 == 0 && TD_F32 == 1 && TD_F16 == 2 && TD_BF16 == 3, "KERNEL_SMALL_F64 + dtype");

/* The kernel's argument, as struct tdg_gemm_args in the source above. */
typedef struct gemm_kernel_args {
    int64_t m, n, k, nb;
    int64_t batch[MAXB];
    int64_t x_rs, x_cs, y_rs, y_cs, z_rs, z_cs;
    int64_t x_bs[MAXB], y_bs[MAXB], z_bs[MAXB];
    int64_t total;
    double alpha, beta;
    int64_t ialpha, ibeta;
    int64_t scale_only;
    uint64_t x, y, z;
} gemm_kernel_args;
_Static_assert(MAXB == 8, "the kernel source spells the batch arrays [8]");
_Static_assert(sizeof(gemm_kernel_args) == (4 + 8 + 6 + 24 + 1 + 2 + 2 + 1 + 3) * 8,
               "gemm_kernel_args has no padding, as the kernel's struct");

/* The epilogue kernel's argument, as struct tdg_epilogue_args above. */
typedef struct epilogue_kernel_args {
    int64_t m, n, nb;
    int64_t batch[MAXB];
    int64_t c_rs, c_cs;
    int64_t c_bs[MAXB];
    int64_t total;
    int64_t relu;
    uint64_t c, bias;
} epilogue_kernel_args;
_Static_assert(sizeof(epilogue_kernel_args) == (3 + 8 + 2 + 8 + 2 + 2) * 8, "epilogue_kernel_args has no padding");

const char *td_cuda_gemm_kernel_source(void) { return kernel_source; }

/* ---- execution ---- */

static td_dptr at_offset(td_dptr base, int64_t offset, size_t esize)
{
    return base + (uint64_t)(offset * (int64_t)esize); /* modulo 2^64; bounded by extent() */
}

/* Copies each input that C overlaps into fresh device memory (freed by
 * release_snapshots) and points the operand there. */
static td_status take_snapshots(td_ctx *ctx, problem *pr, td_dptr snap[2])
{
    operand *ins[2] = {&pr->x, &pr->y};
    for (int i = 0; i < 2; i++) {
        operand *o = ins[i];
        if (!o->snap)
            continue;
        size_t bytes = (size_t)(o->hi - o->lo + 1) * pr->esize; /* bounded by extent() */
        char what[64];
        snprintf(what, sizeof what, "a copy of %c, which C overlaps", o->role);
        td_status st = td_cuda_alloc(ctx, bytes, what, &snap[i]);
        if (st == TD_OK)
            st = td_cuda_copy(ctx, snap[i], at_offset(o->addr, o->lo, pr->esize), bytes);
        if (st != TD_OK)
            return st;
        o->addr = at_offset(snap[i], -o->lo, pr->esize);
    }
    return TD_OK;
}

/* cuMemFree may return before queued work is done with the memory, so the
 * stream is drained first (an overlapping product is rare; this costs a
 * host wait only then). */
static td_status release_snapshots(td_ctx *ctx, td_dptr snap[2], td_status st)
{
    if (!snap[0] && !snap[1])
        return st;
    td_status synced = td_cuda_sync(ctx, "td_cuda_gemm: an overlapping product");
    if (synced == TD_OK) { /* after a device failure the memory may still be in use: leave it */
        td_cuda_free(ctx, snap[0]);
        td_cuda_free(ctx, snap[1]);
    }
    return st != TD_OK ? st : synced;
}

/* The generic kernels' module: each kernel compiled and loaded at its first
 * launch (a program uses a few of the 27, by dtype and route). */
static td_status gemm_module(td_ctx *ctx, struct td_cuda *cuda)
{
    if (cuda->gemm_module)
        return TD_OK;
    td_status st = td_cuda_module_load_lazy(ctx, "td_gemm_fallback", kernel_source, 0, NULL, KERNEL_COUNT, kernel_names,
                                            &cuda->gemm_module);
    td_cuda_module_waits(cuda->gemm_module); /* tdg_gemm_float and tdg_gemm_int start with TD_GRID_WAIT() */
    return st;
}

int td_cuda_gemm_prefetch(td_ctx *ctx, td_dtype dtype, td_cuda_lazy_ref *refs)
{
    struct td_cuda *cuda = td_cuda_device_ready(ctx) /* a lazy module: the context may still be coming */;
    if (!cuda || gemm_module(ctx, cuda) != TD_OK)
        return -1;
    if (dtype != TD_F64 && dtype != TD_F32 && dtype != TD_F16 && dtype != TD_BF16)
        return 0;
    refs[0] = (td_cuda_lazy_ref){cuda->gemm_module, KERNEL_SMALL_F64 + (int)dtype};
    refs[1] = (td_cuda_lazy_ref){cuda->gemm_module, KERNEL_GROUP_F64 + (int)dtype};
    return 2;
}

/* The kernel's argument for plan pl. */
static void kernel_args(const plan *pl, gemm_kernel_args *args)
{
    const problem *pr = &pl->pr;
    memset(args, 0, sizeof *args);
    args->m = pr->m, args->n = pr->n, args->k = pr->k, args->nb = pr->nb;
    args->x_rs = pr->x.rs, args->x_cs = pr->x.cs;
    args->y_rs = pr->y.rs, args->y_cs = pr->y.cs;
    args->z_rs = pr->z.rs, args->z_cs = pr->z.cs;
    for (int t = 0; t < pr->nb; t++) {
        args->batch[t] = pr->batch[t];
        args->x_bs[t] = pr->x.bs[t], args->y_bs[t] = pr->y.bs[t], args->z_bs[t] = pr->z.bs[t];
    }
    /* items * m * n <= PTRDIFF_MAX: C's elements are distinct (check_c_distinct) */
    args->total = (int64_t)pl->items * pr->m * pr->n;
    args->alpha = pr->alpha, args->beta = pr->beta;
    if (!td_dtype_is_float(pr->dtype))
        args->ialpha = (int64_t)pr->alpha, args->ibeta = (int64_t)pr->beta;
    args->scale_only = pl->scale_only;
    args->x = pr->x.addr, args->y = pr->y.addr, args->z = pr->z.addr;
}

/* The small route's kernel for pr's dtypes: f64, f32, f16, bf16 in td_dtype's order, then the two with an f32 C. */
static int small_kernel(const problem *pr)
{
    return pr->zdtype != pr->dtype ? (pr->dtype == TD_F16 ? KERNEL_SMALL_F16_F32 : KERNEL_SMALL_BF16_F32)
                                   : KERNEL_SMALL_F64 + (int)pr->dtype;
}

static td_status launch_kernel(td_ctx *ctx, struct td_cuda *cuda, const plan *pl)
{
    td_status st = gemm_module(ctx, cuda);
    if (st != TD_OK)
        return st;
    const problem *pr = &pl->pr;
    gemm_kernel_args args;
    kernel_args(pl, &args);
    void *params[] = {&args};
    char where[160];
    snprintf(where, sizeof where, "td_cuda_gemm %s%s, %zu x %lldx%lldx%lld", td_dtype_name(pr->dtype),
             pr->zdtype != pr->dtype ? " to f32" : "", pl->items, (long long)pr->m, (long long)pr->n, (long long)pr->k);
    int kernel = pr->zdtype == pr->dtype ? (int)pr->dtype : pr->dtype == TD_F16 ? KERNEL_F16_F32 : KERNEL_BF16_F32;
    int64_t threads_needed = args.total; /* a thread an element of C, or a warp on the small route */
    if (pl->route == ROUTE_SMALL) {
        kernel = small_kernel(pr);
        threads_needed = args.total * 32; /* total <= SMALL_MACS */
    }
    return td_cuda_launch(ctx, cuda->gemm_module, kernel, td_cuda_blocks(ctx, threads_needed, KERNEL_THREADS),
                          KERNEL_THREADS, params, where);
}

/* ---- small products sharing a launch (td_cuda_gemm_group_begin) ---- */

enum { GROUP_MAX = 8 };
typedef struct gemm_group_args { /* as struct tdg_gemm_group in the source above */
    gemm_kernel_args at[GROUP_MAX];
    int64_t first_block[GROUP_MAX + 1];
    int64_t count;
} gemm_group_args;
_Static_assert(sizeof(gemm_group_args) <= 4096, "a kernel's parameters fit 4 KiB");

/* The queue of an open group: products on the small route, of one kernel,
 * none writing what another reads or writes. */
struct td_gemm_group {
    bool open;
    int kernel; /* KERNEL_SMALL_* of the queued products */
    operand x[GROUP_MAX], y[GROUP_MAX], z[GROUP_MAX];
    size_t esize[GROUP_MAX], zsize[GROUP_MAX];
    gemm_group_args args;
};

/* Whether pr writes memory a queued product reads or writes, or reads
 * memory one writes: then it must run after them. */
static bool depends(const struct td_gemm_group *q, const problem *pr)
{
    for (int i = 0; i < (int)q->args.count; i++)
        if (td_gemm_overlap(&q->x[i], q->esize[i], &pr->z, pr->zsize) ||
            td_gemm_overlap(&q->y[i], q->esize[i], &pr->z, pr->zsize) ||
            td_gemm_overlap(&q->z[i], q->zsize[i], &pr->z, pr->zsize) ||
            td_gemm_overlap(&pr->x, pr->esize, &q->z[i], q->zsize[i]) ||
            td_gemm_overlap(&pr->y, pr->esize, &q->z[i], q->zsize[i]))
            return true;
    return false;
}

/* The queued products, in one launch; the queue then empty. */
static td_status flush_group(td_ctx *ctx, struct td_cuda *cuda)
{
    struct td_gemm_group *q = cuda->gemm_group;
    if (!q || q->args.count == 0)
        return TD_OK;
    char where[96];
    snprintf(where, sizeof where, "td_cuda_gemm: %lld small product%s in one launch", (long long)q->args.count,
             q->args.count > 1 ? "s" : "");
    /* one alone: the small route's own kernel, whose argument is an eighth of the group's */
    void *params[] = {q->args.count > 1 ? (void *)&q->args : (void *)&q->args.at[0]};
    int kernel = q->args.count > 1 ? KERNEL_GROUP_F64 + (q->kernel - KERNEL_SMALL_F64) : q->kernel;
    td_status st = td_cuda_launch(ctx, cuda->gemm_module, kernel, q->args.first_block[q->args.count], KERNEL_THREADS,
                                  params, where);
    q->args.count = 0;
    return st;
}

/* Queues pl (on the small route, its operands apart from C) in the open
 * group, after running what it depends on. */
static td_status queue_product(td_ctx *ctx, struct td_cuda *cuda, const plan *pl)
{
    struct td_gemm_group *q = cuda->gemm_group;
    const problem *pr = &pl->pr;
    int kernel = small_kernel(pr);
    td_status st = gemm_module(ctx, cuda);
    if (st == TD_OK && q->args.count > 0 && (q->args.count == GROUP_MAX || kernel != q->kernel || depends(q, pr)))
        st = flush_group(ctx, cuda);
    if (st != TD_OK)
        return st;
    int i = (int)q->args.count;
    q->kernel = kernel;
    q->x[i] = pr->x, q->y[i] = pr->y, q->z[i] = pr->z;
    q->esize[i] = pr->esize, q->zsize[i] = pr->zsize;
    kernel_args(pl, &q->args.at[i]);
    int64_t first = i == 0 ? 0 : q->args.first_block[i];
    q->args.first_block[i] = first;
    q->args.first_block[i + 1] = first + td_cuda_blocks(ctx, q->args.at[i].total * 32, KERNEL_THREADS);
    q->args.count = i + 1;
    return TD_OK;
}

/* A failed call drops the group and what it queued: nothing is left to run
 * by a later call. */
static void drop_group(struct td_cuda *cuda)
{
    if (cuda && cuda->gemm_group) {
        cuda->gemm_group->open = false;
        cuda->gemm_group->args.count = 0;
    }
}

void td_cuda_gemm_group_free(struct td_cuda *cuda)
{
    free(cuda->gemm_group);
    cuda->gemm_group = NULL;
}

/* The context's cuBLAS handle, made on first use and bound to its stream. */
static td_status cublas_handle(td_ctx *ctx, struct td_cuda *cuda)
{
    if (cuda->cublas_handle)
        return TD_OK;
    struct td_cuda *loaded = NULL;
    td_status st = td_cublas_load(ctx, &loaded);
    if (st != TD_OK)
        return st;
    cublasHandle_t h = NULL;
    st = td_cublas_check(ctx, cuda, cuda->cublas.cublasCreate(&h), "cublasCreate (for td_cuda_gemm)");
    if (st != TD_OK)
        return st;
    st = td_cublas_check(ctx, cuda, cuda->cublas.cublasSetStream(h, cuda->stream), "cublasSetStream");
    if (st != TD_OK) {
        cuda->cublas.cublasDestroy(h);
        return st;
    }
    cuda->cublas_handle = h;
    return TD_OK;
}

/* The data and compute types of a cuBLAS dtype. */
static void cublas_types(td_dtype t, bool allow_tf32, int *data_type, int *compute_type)
{
    switch (t) {
    case TD_F64: *data_type = CUDA_R_64F_, *compute_type = CUBLAS_COMPUTE_64F_; break;
    case TD_F32:
        *data_type = CUDA_R_32F_;
        *compute_type = allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32_ : CUBLAS_COMPUTE_32F_;
        break;
    case TD_F16: *data_type = CUDA_R_16F_, *compute_type = CUBLAS_COMPUTE_32F_; break;
    default: *data_type = CUDA_R_16BF_, *compute_type = CUBLAS_COMPUTE_32F_; break; /* bf16 */
    }
}

static const char *compute_name(int compute_type)
{
    switch (compute_type) {
    case CUBLAS_COMPUTE_64F_: return "64F";
    case CUBLAS_COMPUTE_32F_FAST_TF32_: return "32F_FAST_TF32";
    default: return "32F";
    }
}

/* Queues the cuBLAS calls: the host loops over every batch axis but the
 * strided one, which is cut into batches of at most INT_MAX. */
static td_status run_cublas(td_ctx *ctx, struct td_cuda *cuda, plan *pl)
{
    td_status st = cublas_handle(ctx, cuda);
    if (st != TD_OK)
        return st;
    const problem *pr = &pl->pr;
    int data_type, compute_type, c_type;
    cublas_types(pr->dtype, cuda->allow_tf32, &data_type, &compute_type);
    cublas_types(pr->zdtype, cuda->allow_tf32, &c_type, &(int){0});
    double alpha64 = pr->alpha, beta64 = pr->beta;
    float alpha32 = (float)pr->alpha, beta32 = (float)pr->beta;
    const void *alpha = pr->dtype == TD_F64 ? (const void *)&alpha64 : (const void *)&alpha32;
    const void *beta = pr->dtype == TD_F64 ? (const void *)&beta64 : (const void *)&beta32;
    int sa = pl->strided_axis;
    int64_t count = sa >= 0 ? pr->batch[sa] : 1;
    long long stride_x = sa >= 0 ? pr->x.bs[sa] : 0, stride_y = sa >= 0 ? pr->y.bs[sa] : 0;
    long long stride_z = sa >= 0 ? pr->z.bs[sa] : 0;
    int64_t idx[MAXB] = {0};
    for (size_t item = 0; item < pl->host_items; item++) {
        int64_t ox = 0, oy = 0, oz = 0;
        for (int t = 0; t < pr->nb; t++)
            ox += idx[t] * pr->x.bs[t], oy += idx[t] * pr->y.bs[t], oz += idx[t] * pr->z.bs[t];
        for (int64_t first = 0; first < count; first += INT_MAX) {
            int chunk = (int)(count - first < INT_MAX ? count - first : INT_MAX);
            td_dptr x = at_offset(pr->x.addr, ox + first * stride_x, pr->esize);
            td_dptr y = at_offset(pr->y.addr, oy + first * stride_y, pr->esize);
            td_dptr z = at_offset(pr->z.addr, oz + first * stride_z, pr->zsize);
            td_cublas_call call = {
                .transa = pl->y_trans ? CUBLAS_OP_T_ : CUBLAS_OP_N_, .transb = pl->x_trans ? CUBLAS_OP_T_ : CUBLAS_OP_N_,
                .m = (int)pr->n, .n = (int)pr->m, .k = (int)pr->k,
                .ab_type = data_type, .c_type = c_type, .compute_type = compute_type,
                .ab_size = (int)pr->esize, .c_size = (int)pr->zsize,
                .a = (const void *)(uintptr_t)y, .b = (const void *)(uintptr_t)x, .c = (void *)(uintptr_t)z,
                .lda = pl->ldy, .ldb = pl->ldx, .ldc = pl->ldz,
                .stride_a = stride_y, .stride_b = stride_x, .stride_c = stride_z, .batch = chunk,
                .alpha = alpha, .beta = beta, .beta_zero = pr->beta == 0,
                .epilogue = pl->epilogue, .bias = (const void *)(uintptr_t)pl->bias};
            cublasStatus_t s;
            const char *api;
            st = td_cuda_cublas_run(ctx, cuda, &call, &s, &api);
            if (st == TD_OK && !api) { /* no epilogue on cuBLASLt for it: the product alone, then the kernel */
                pl->epilogue_left = true;
                call.epilogue = 0, call.bias = NULL;
                st = td_cuda_cublas_run(ctx, cuda, &call, &s, &api);
            }
            if (st != TD_OK)
                return st;
            if (s != 0) {
                char what[320];
                snprintf(what, sizeof what,
                         "%s (%s%s, compute %s: op %c %c, m=%lld n=%lld k=%lld, lda=%d "
                         "ldb=%d ldc=%d, batch %d)",
                         api, td_dtype_name(pr->dtype), pr->zdtype != pr->dtype ? " to f32" : "", compute_name(compute_type), pl->y_trans ? 'T' : 'N',
                         pl->x_trans ? 'T' : 'N', (long long)pr->n, (long long)pr->m, (long long)pr->k, pl->ldy,
                         pl->ldx, pl->ldz, chunk);
                return td_cublas_check(ctx, cuda, s, what);
            }
        }
        for (int t = pr->nb - 1; t >= 0; t--) { /* the next host item; the strided axis stays 0 */
            if (t == sa)
                continue;
            if (++idx[t] < pr->batch[t])
                break;
            idx[t] = 0;
        }
    }
    return TD_OK;
}

static td_status execute(td_ctx *ctx, struct td_cuda *cuda, plan *pl)
{
    if (cuda->gemm_group && cuda->gemm_group->open) {
        /* queued unless an epilogue's pass must follow it at once */
        if (pl->route == ROUTE_SMALL && !pl->pr.x.snap && !pl->pr.y.snap && !pl->epilogue_left)
            return queue_product(ctx, cuda, pl);
        td_status st = flush_group(ctx, cuda); /* the others in order, after what is queued */
        if (st != TD_OK)
            return st;
    }
    td_dptr snap[2] = {0, 0};
    td_status st = take_snapshots(ctx, &pl->pr, snap);
    if (st == TD_OK)
        st = pl->route == ROUTE_CUBLAS ? run_cublas(ctx, cuda, pl) : launch_kernel(ctx, cuda, pl); /* or small */
    return release_snapshots(ctx, snap, st);
}

/* ---- the public functions ---- */

/* The descriptor checked, then planned. */
static td_status checked_plan(td_ctx *ctx, const td_gemm *g, td_dptr a, td_dptr b, td_dptr c, plan *pl)
{
    problem pr;
    td_status st = check(ctx, g, a, b, c, &pr);
    if (st == TD_OK)
        make_plan(&pr, pl, !(ctx->cuda && ctx->cuda->cublas_always));
    return st;
}

td_status td_cuda_gemm_run(td_ctx *ctx, const td_gemm *g, td_dptr a, td_dptr b, td_dptr c)
{
    if (!ctx)
        return TD_ERR_INPUT;
    plan pl;
    td_status st = checked_plan(ctx, g, a, b, c, &pl);
    struct td_cuda *cuda = st == TD_OK && pl.route != ROUTE_NONE ? td_cuda_ready(ctx) : NULL;
    if (st == TD_OK && pl.route != ROUTE_NONE)
        st = cuda ? execute(ctx, cuda, &pl) : TD_ERR_DEVICE;
    if (st != TD_OK)
        drop_group(ctx->cuda);
    return st;
}

/* td_cuda_gemm_epilogue_run's own pass over the C of descriptor g. */
static td_status launch_epilogue(td_ctx *ctx, struct td_cuda *cuda, const td_gemm *g, td_dptr c, td_dptr bias,
                                 int epilogue)
{
    td_status st = gemm_module(ctx, cuda);
    if (st != TD_OK)
        return st;
    epilogue_kernel_args args;
    memset(&args, 0, sizeof args);
    args.m = g->m, args.n = g->n, args.nb = g->batch_rank;
    args.c_rs = g->c_rs, args.c_cs = g->c_cs;
    int64_t total = g->m * g->n; /* C's elements are distinct (checked), so the product fits */
    for (int t = 0; t < g->batch_rank; t++) {
        args.batch[t] = g->batch[t], args.c_bs[t] = g->c_bs[t];
        total *= g->batch[t];
    }
    args.total = total;
    args.relu = (epilogue & TD_EPILOGUE_RELU) != 0;
    args.c = c, args.bias = epilogue & TD_EPILOGUE_BIAS ? bias : 0;
    void *params[] = {&args};
    char where[128];
    snprintf(where, sizeof where, "td_cuda_gemm_epilogue_run's pass (%s%s%s, %lld elements)", td_dtype_name(g->dtype),
             epilogue & TD_EPILOGUE_BIAS ? ", bias" : "", epilogue & TD_EPILOGUE_RELU ? ", relu" : "", (long long)total);
    return td_cuda_launch(ctx, cuda->gemm_module, KERNEL_EPILOGUE_F64 + (int)g->dtype,
                          td_cuda_blocks(ctx, total, KERNEL_THREADS), KERNEL_THREADS, params, where);
}

/* The epilogue's own checks, before the descriptor's. */
static td_status check_epilogue(td_ctx *ctx, const td_gemm *g, td_dptr bias, int epilogue)
{
    if (epilogue <= 0 || (epilogue & ~(TD_EPILOGUE_BIAS | TD_EPILOGUE_RELU)))
        return BAD("epilogue: flags %d are not TD_EPILOGUE_BIAS, TD_EPILOGUE_RELU or the two", epilogue);
    if (!g)
        return BAD("the descriptor is NULL");
    if (g->dtype != TD_F64 && g->dtype != TD_F32 && g->dtype != TD_F16 && g->dtype != TD_BF16)
        return BAD("epilogue: dtype %s; it takes f64, f32, f16 and bf16", td_dtype_name(g->dtype));
    if (g->c_f32)
        return BAD("epilogue: C is f32 of %s operands (c_f32); it takes one dtype for all", td_dtype_name(g->dtype));
    if ((epilogue & TD_EPILOGUE_BIAS) && !bias)
        return BAD("epilogue: TD_EPILOGUE_BIAS with a NULL bias");
    if (!(epilogue & TD_EPILOGUE_BIAS) && bias)
        return BAD("epilogue: a bias without TD_EPILOGUE_BIAS");
    if (bias % td_dtype_size(g->dtype))
        return BAD("epilogue: the bias is not aligned to its %zu-byte elements", td_dtype_size(g->dtype));
    return TD_OK;
}

/* Whether C's elements and the bias's n share memory. */
static bool bias_overlaps(const problem *pr, const td_gemm *g, td_dptr bias)
{
    if (!bias || pr->z.empty || g->n == 0)
        return false;
    td_gemm_operand b = {.addr = bias, .rs = 0, .cs = 1, .lo = 0, .hi = g->n - 1};
    return td_gemm_overlap(&b, pr->zsize, &pr->z, pr->zsize);
}

td_status td_cuda_gemm_epilogue_run(td_ctx *ctx, const td_gemm *g, td_dptr a, td_dptr b, td_dptr c, td_dptr bias,
                                    int epilogue)
{
    if (!ctx)
        return TD_ERR_INPUT;
    plan pl;
    td_status st = check_epilogue(ctx, g, bias, epilogue);
    if (st == TD_OK)
        st = checked_plan(ctx, g, a, b, c, &pl);
    if (st == TD_OK && bias_overlaps(&pl.pr, g, bias))
        st = BAD("epilogue: the bias overlaps C");
    if (st != TD_OK || pl.route == ROUTE_NONE) {
        if (st != TD_OK)
            drop_group(ctx->cuda);
        return st;
    }
    struct td_cuda *cuda = td_cuda_ready(ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    /* cuBLASLt's bias runs along its rows, C's columns here: a row-major C,
     * its n not merged with a batch axis, in one call */
    const problem *pr = &pl.pr;
    bool on_lt = pl.route == ROUTE_CUBLAS && !pr->transposed && pr->n == g->n && pl.host_items == 1 && pr->beta == 0 &&
                 (pl.strided_axis < 0 || pr->batch[pl.strided_axis] <= INT_MAX);
    pl.epilogue = on_lt ? epilogue : 0;
    pl.bias = on_lt ? bias : 0;
    pl.epilogue_left = !on_lt;
    st = execute(ctx, cuda, &pl); /* after what an open group queued; this product is not queued */
    if (st == TD_OK && pl.epilogue_left)
        st = launch_epilogue(ctx, cuda, g, c, bias, epilogue);
    if (st != TD_OK)
        drop_group(cuda);
    return st;
}

td_status td_cuda_gemm_group_begin(td_ctx *ctx)
{
    struct td_cuda *cuda = ctx ? td_cuda_ready(ctx) : NULL;
    if (!cuda)
        return ctx ? TD_ERR_DEVICE : TD_ERR_INPUT;
    if (!cuda->gemm_group && !(cuda->gemm_group = calloc(1, sizeof *cuda->gemm_group)))
        return td_fail(ctx, TD_ERR_OOM, "td_cuda_gemm_group_begin: out of memory for the queue (%zu bytes)",
                       sizeof *cuda->gemm_group);
    if (cuda->gemm_group->open && cuda->gemm_group->args.count > 0) {
        drop_group(cuda);
        return td_fail(ctx, TD_ERR_INPUT, "td_cuda_gemm_group_begin: a group is open (td_cuda_gemm_group_end was not "
                       "called): its products were dropped");
    }
    cuda->gemm_group->open = true;
    return TD_OK;
}

td_status td_cuda_gemm_group_end(td_ctx *ctx)
{
    struct td_cuda *cuda = ctx ? ctx->cuda : NULL;
    if (!cuda || !cuda->gemm_group || !cuda->gemm_group->open)
        return ctx ? TD_OK : TD_ERR_INPUT;
    td_status st = flush_group(ctx, cuda);
    cuda->gemm_group->open = false;
    return st;
}

void td_cuda_allow_tf32(td_ctx *ctx, bool allow)
{
    struct td_cuda *cuda = ctx ? td_cuda_state(ctx) : NULL;
    if (cuda)
        cuda->allow_tf32 = allow;
}

void td_cuda_small_products(td_ctx *ctx, bool allow)
{
    struct td_cuda *cuda = ctx ? td_cuda_state(ctx) : NULL;
    if (cuda)
        cuda->cublas_always = !allow;
}

td_status td_cuda_gemm_describe(td_ctx *ctx, const td_gemm *g, td_dptr a, td_dptr b, td_dptr c, char *buf,
                                size_t size)
{
    if (!ctx)
        return TD_ERR_INPUT;
    if (!buf || size == 0)
        return BAD("describe: the buffer is NULL or empty");
    buf[0] = 0;
    plan pl;
    td_status st = checked_plan(ctx, g, a, b, c, &pl);
    if (st != TD_OK)
        return st;
    const problem *q = &pl.pr;
    size_t len = 0;
    switch (pl.route) {
    case ROUTE_NONE:
        td_gemm_append(buf, size, &len, "none: C is empty");
        return TD_OK;
    case ROUTE_KERNEL:
    case ROUTE_SMALL:
        td_gemm_append(buf, size, &len, "%s %s%s %zu x %lldx%lldx%lld", pl.route == ROUTE_SMALL ? "small" : "kernel",
                       td_dtype_name(q->dtype),
                       q->zdtype != q->dtype ? " to f32" : "", pl.items, (long long)q->m, (long long)q->n, (long long)q->k);
        if (pl.scale_only)
            td_gemm_append(buf, size, &len, ": %s", q->beta == 0 ? "C = 0" : "C = beta C");
        else if (q->transposed)
            td_gemm_append(buf, size, &len, " as C^T = B^T A^T");
        break;
    case ROUTE_CUBLAS: {
        int data_type, compute_type;
        cublas_types(q->dtype, ctx->cuda && ctx->cuda->allow_tf32, &data_type, &compute_type);
        /* cuBLAS's view: its m x k A is y^T, its k x n B is x^T, its C is z^T */
        td_gemm_append(buf, size, &len, "cublas %s%s %s: %c%c %lldx%lldx%lld; %s ld=%d, %s ld=%d, %s ld=%d",
                       td_dtype_name(q->dtype), q->zdtype != q->dtype ? " to f32" : "", compute_name(compute_type), pl.y_trans ? 'T' : 'N',
                       pl.x_trans ? 'T' : 'N', (long long)q->n, (long long)q->m, (long long)q->k,
                       td_gemm_role_name(&q->y, q->transposed), pl.ldy, td_gemm_role_name(&q->x, q->transposed),
                       pl.ldx, td_gemm_role_name(&q->z, q->transposed), pl.ldz);
        if (pl.strided_axis >= 0)
            td_gemm_append(buf, size, &len, "; batch %lld strides %lld %lld %lld",
                           (long long)q->batch[pl.strided_axis], (long long)q->y.bs[pl.strided_axis],
                           (long long)q->x.bs[pl.strided_axis], (long long)q->z.bs[pl.strided_axis]);
        if (pl.host_items > 1)
            td_gemm_append(buf, size, &len, "; %zu calls", pl.host_items);
        break;
    }
    }
    td_gemm_append_copies(buf, size, &len, q);
    return TD_OK;
}

/* optim.c - the optimizers, gradient norms and gradient scaling on the GPU.
 *
 * Takes params, gradients and optimizer state in device memory (the layout
 * of ../optim.c: td_optim_state_slots arrays of n elements, end to end) and
 * queues the update on the context's stream; gives td_optim_update's
 * numbers bit for bit. That holds because the device runs the same text:
 * the build embeds ../optim_kernels.h (td_optim_kernels_text), and
 * td_cuda_optim_source puts it twice, for f32 and f64, behind a prelude
 * that makes its functions __device__, takes correctly rounded sqrt and
 * fma, and writes td_optim_hparams out from this build's offsets and
 * sizes (the device source asserts them), so the struct can be passed to
 * a kernel by value. The module is compiled with --fmad=false: NVRTC
 * would otherwise fuse the `x + a * y` that the CPU rounds twice; division
 * and sqrt are IEEE-rounded as NVRTC's defaults have them, and the options
 * say so explicitly. Bit for bit holds for numbers; a NaN the arithmetic
 * makes is the GPU's canonical NaN, whose bits differ from x86-64's. Each
 * kernel is a grid-stride loop that
 * calls the element loop with n = 1 at its index; the scalars that need
 * pow (Adam's bias corrections) come from the host (td_optim_adam_bias),
 * as pow is not correctly rounded. The module is made once per context
 * into cuda->optim_module, its kernels built as they are needed (through
 * the disk cache), and the small step's into cuda->small_step_module,
 * which loader.c frees.
 * Arguments are checked as td_optim_update checks them, with the same
 * messages under this function's name, before anything is queued. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ctx_internal.h"
#include "cuda_internal.h"
#include "cuda_narrow_floats.h"

/* Threads a block; the sum of squares reduces over a power of two. */
enum { OPTIM_THREADS = 256 };

/* The kernels, f32 then f64 of each; the f64 one is the next index. */
enum {
    K_SGD, K_ADAGRAD = 2, K_RMSPROP = 4, K_ADAM = 6, K_SUM_SQUARES = 8, K_SCALE = 10, K_STEP_CHECK = 12, K_COUNT
};
static const char *const kernel_names[K_COUNT] = {
    "td_optim_sgd_f32",     "td_optim_sgd_f64",     "td_optim_adagrad_f32", "td_optim_adagrad_f64",
    "td_optim_rmsprop_f32", "td_optim_rmsprop_f64", "td_optim_adam_f32",    "td_optim_adam_f64",
    "td_sum_squares_f32",   "td_sum_squares_f64",   "td_scale_f32",         "td_scale_f64",
    "td_step_check",
};
/* The f32 update kernel of an optimizer kind (AdamW's is Adam's). */
static int update_kernel(td_optim_kind kind)
{
    return kind == TD_OPTIM_SGD ? K_SGD : kind == TD_OPTIM_ADAGRAD ? K_ADAGRAD : kind == TD_OPTIM_RMSPROP ? K_RMSPROP : K_ADAM;
}

/* The small step's module (td_cuda_small_step): f32, f64. Apart from the
 * optimizer module, whose compile it would make half again as long for
 * every model (the four updates instantiated a second time). */
static const char *const small_kernel_names[2] = {"td_small_step_f32", "td_small_step_f64"};
/* Threads of the one block of td_cuda_small_step: a vector or two of each
 * array a thread at most (TD_CUDA_SMALL_STEP elements in all). */
enum { SMALL_STEP_THREADS = 1024 };
_Static_assert(TD_CUDA_SMALL_STEP <= SMALL_STEP_THREADS * 16, "td_cuda_small_step: four f32 vectors a thread at most");

/* IEEE division, sqrt and denormals are NVRTC's defaults; a multiply-add
 * is fused only where the text calls OPTIM_FMA. */
const char *const td_cuda_optim_options[TD_CUDA_OPTIM_NOPTIONS] = {"--fmad=false", "--prec-div=true",
                                                                   "--prec-sqrt=true", "--ftz=false"};

/* ---- the device source ---- */

/* What the kernels' text needs of td.h. td_optim_hparams is written out
 * by device_struct below, from the host's own layout. */
static const char device_types[] =
    "/* td_optim: runtime/optim_kernels.h on the GPU (runtime/cuda/optim.c) */\n"
    TD_CUDA_GRID_WAIT
    "typedef decltype(sizeof(0)) size_t;\n"
    TD_CUDA_INT_TYPES
    TD_CUDA_NARROW_FLOATS

    "enum td_optim_kind : int { TD_OPTIM_SGD, TD_OPTIM_ADAGRAD, TD_OPTIM_RMSPROP, TD_OPTIM_ADAM, TD_OPTIM_ADAMW };\n"
    "struct td_step_gate { /* cuda_internal.h's */\n"
    "    double lr, bias1, bias2_sqrt;\n"
    "    long long step;\n"
    "    double loss, norm, coef;\n"
    "    long long ok, clipping;\n"
    "};\n"
    "static_assert(sizeof(td_step_gate) == 72, \"td_step_gate: not the host's layout\");\n"
    "struct td_check_args { /* cuda_internal.h's td_cuda_check */\n"
    "    const void *loss;\n"
    "    int loss_kind, nerrors;\n"
    "    const long long *errors;\n"
    "    double clip;\n"
    "    td_step_gate *gate;\n"
    "    td_step_gate *host_gate;\n"
    "};\n"
    "static_assert(sizeof(td_check_args) == 48, \"td_check_args: not the host's layout\");\n";
_Static_assert(sizeof(td_cuda_check) == 48, "td_cuda_check: as td_check_args in the kernels' text");

/* td_optim_hparams's fields in td.h's order, with their device types and
 * this build's offsets and sizes. */
#define FIELD(type, f) {type, #f, offsetof(td_optim_hparams, f), sizeof(((td_optim_hparams *)0)->f)}
static const struct {
    const char *type, *field;
    size_t offset, size;
} host_layout[] = {
    FIELD("td_optim_kind", kind), FIELD("double", lr),       FIELD("double", weight_decay),
    FIELD("double", momentum),    FIELD("double", dampening), FIELD("bool", nesterov),
    FIELD("double", beta1),       FIELD("double", beta2),     FIELD("double", eps),
    FIELD("bool", amsgrad),       FIELD("double", lr_decay),  FIELD("double", initial_accumulator_value),
    FIELD("double", alpha),       FIELD("bool", centered),
};
#undef FIELD

static const char device_f32[] = "#define OPTIM_FN static __device__ __forceinline__\n"
                                 "#define OPTIM_T float\n"
                                 "#define OPTIM_SQRT __fsqrt_rn\n"
                                 "#define OPTIM_FMA __fmaf_rn\n"
                                 "#define OPTIM_NAME(x) x##_f32\n"
                                 "#line 1 \"runtime/optim_kernels.h\"\n";
static const char device_f64[] = "#define OPTIM_T double\n"
                                 "#define OPTIM_SQRT __dsqrt_rn\n"
                                 "#define OPTIM_FMA __fma_rn\n"
                                 "#define OPTIM_NAME(x) x##_f64\n"
                                 "#line 1 \"runtime/optim_kernels.h\"\n";
static const char device_undef[] = "\n#undef OPTIM_T\n#undef OPTIM_SQRT\n#undef OPTIM_FMA\n#undef OPTIM_NAME\n";

/* The kernels: thin grid-stride wrappers around the element loops, and the
 * norm's sum of squares and the clipping's scale, each over a list of up
 * to TD_SLICES tensors (td_cuda_slices, by value: a train step updates all
 * its params in one launch). A state slot the configuration lacks arrives
 * as 0 and stays NULL. */
static const char device_kernels[] =
    "#line 1 \"runtime/cuda/optim.c: kernels\"\n"
    "struct td_cuda_slice { /* cuda_internal.h's */\n"
    "    unsigned long long param, grad, state[3], n;\n"
    "    double weight_decay;\n"
    "    unsigned long long copy;\n"
    "    long long copy_kind;\n"
    "};\n"
    "struct td_cuda_slices {\n"
    "    td_cuda_slice at[TD_SLICES];\n"
    "    int count;\n"
    "};\n"
    "static_assert(sizeof(td_cuda_slices) == TD_SLICES_BYTES, \"td_cuda_slices: not the host's layout\");\n"
    "/* each tensor of the list in turn, its elements over the grid */\n"
    "#define TD_EACH(i, n) \\\n"
    "    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \\\n"
    "         i += (size_t)blockDim.x * gridDim.x)\n"
    "/* the list read where it is, in the kernel's parameters (a few KiB): no per-thread copy */\n"
    "#define TD_GRID_CONST const __grid_constant__\n"
    "/* update(n, param, grad, slot0, slot1, slot2) over slice t's elements, over the grid: W at a time\n"
    " * (16 bytes of each array, loaded and stored as one vector; a slot the configuration lacks is\n"
    " * NULL) where every array is 16-byte aligned, then one at a time */\n"
    "/* n updated elements of slice t from its element `at` into the param's narrow copy, rounded as a\n"
    " * cast rounds (the kernels tdc generates: tdg_narrow), where the slice has one (copy_kind 1: bf16,\n"
    " * 2: f16; only f32 params have one); n = 4 (16 bytes of f32) in one 8-byte store */\n"
    "template <int N, typename T>\n"
    "__device__ __forceinline__ void td_put_copy(const td_cuda_slice &t, size_t at, const T *p)\n"
    "{\n"
    "    union { uint16_t e[N]; unsigned char b[2 * N]; } c;\n"
    "    for (int j = 0; j < N; j++)\n"
    "        c.e[j] = (uint16_t)(t.copy_kind == 1 ? tdg_narrow((float)p[j], 8, 7, false) : tdg_narrow((float)p[j], 5, 10, false));\n"
    "    uint16_t *to = (uint16_t *)t.copy + at;\n"
    "    if (N == 4)\n"
    "        *(uint2 *)to = *(const uint2 *)c.b;\n"
    "    else\n"
    "        for (int j = 0; j < N; j++)\n"
    "            to[j] = c.e[j];\n"
    "}\n"
    "template <typename T, typename F>\n"
    "__device__ __forceinline__ void td_each(const td_cuda_slice &t, F update)\n"
    "{\n"
    "    constexpr int W = 16 / sizeof(T);\n"
    "    T *param = (T *)t.param, *slot[3] = {(T *)t.state[0], (T *)t.state[1], (T *)t.state[2]};\n"
    "    const T *grad = (const T *)t.grad;\n"
    "    const size_t first = (size_t)blockIdx.x * blockDim.x + threadIdx.x, stride = (size_t)blockDim.x * gridDim.x;\n"
    "    const bool aligned = ((t.param | t.grad | t.state[0] | t.state[1] | t.state[2]) & 15) == 0 && (t.copy & 7) == 0;\n"
    "    const size_t vectors = aligned ? t.n / W : 0;\n"
    "    for (size_t v = first; v < vectors; v += stride) {\n"
    "        alignas(16) T p[W], g[W], s[3][W];\n"
    "        *(uint4 *)p = ((const uint4 *)param)[v];\n"
    "        *(uint4 *)g = ((const uint4 *)grad)[v];\n"
    "        for (int j = 0; j < 3; j++)\n"
    "            if (slot[j])\n"
    "                *(uint4 *)s[j] = ((const uint4 *)slot[j])[v];\n"
    "        update(W, p, g, slot[0] ? s[0] : nullptr, slot[1] ? s[1] : nullptr, slot[2] ? s[2] : nullptr);\n"
    "        ((uint4 *)param)[v] = *(const uint4 *)p;\n"
    "        for (int j = 0; j < 3; j++)\n"
    "            if (slot[j])\n"
    "                ((uint4 *)slot[j])[v] = *(const uint4 *)s[j];\n"
    "        if (t.copy_kind)\n"
    "            td_put_copy<W>(t, v * W, p);\n"
    "    }\n"
    "    for (size_t i = vectors * W + first; i < t.n; i += stride) {\n"
    "        update(1, param + i, grad + i, slot[0] ? slot[0] + i : nullptr, slot[1] ? slot[1] + i : nullptr,\n"
    "               slot[2] ? slot[2] + i : nullptr);\n"
    "        if (t.copy_kind)\n"
    "            td_put_copy<1>(t, i, param + i);\n"
    "    }\n"
    "}\n"
    "/* This thread's share of the sum of squares of slice t's gradient, in\n"
    " * double: two vectors of 16 bytes an iteration where the gradient is\n"
    " * 16-byte aligned (32 bytes a thread in flight: one element at a time\n"
    " * kept too few loads in flight to reach the memory's bandwidth), then\n"
    " * the rest one at a time */\n"
    "template <typename T> __device__ __forceinline__ double td_sum_squares_of(const td_cuda_slice &t)\n"
    "{\n"
    "    constexpr int W = 16 / sizeof(T);\n"
    "    const T *x = (const T *)t.grad;\n"
    "    const size_t first = (size_t)blockIdx.x * blockDim.x + threadIdx.x, stride = (size_t)blockDim.x * gridDim.x;\n"
    "    const size_t vectors = (t.grad & 15) == 0 ? t.n / W : 0;\n"
    "    double acc = 0;\n"
    "    for (size_t v = first; v < vectors; v += 2 * stride) {\n"
    "        alignas(16) T a[W], b[W];\n"
    "        *(uint4 *)a = ((const uint4 *)x)[v];\n"
    "        const bool second = v + stride < vectors;\n"
    "        if (second)\n"
    "            *(uint4 *)b = ((const uint4 *)x)[v + stride];\n"
    "        for (int j = 0; j < W; j++) {\n"
    "            double d = (double)a[j];\n"
    "            acc += d * d;\n"
    "        }\n"
    "        for (int j = 0; second && j < W; j++) {\n"
    "            double d = (double)b[j];\n"
    "            acc += d * d;\n"
    "        }\n"
    "    }\n"
    "    for (size_t i = vectors * W + first; i < t.n; i += stride) {\n"
    "        double d = (double)x[i];\n"
    "        acc += d * d;\n"
    "    }\n"
    "    return acc;\n"
    "}\n"
    "/* Each gradient of the list times coef, over the grid (the clipping) */\n"
    "template <typename T> __device__ __forceinline__ void td_scale_grads(const td_cuda_slices &list, T coef)\n"
    "{\n"
    "    for (int s = 0; s < list.count; s++) {\n"
    "        T *x = (T *)list.at[s].grad;\n"
    "        TD_EACH(i, list.at[s].n) x[i] = x[i] * coef;\n"
    "    }\n"
    "}\n"
    "/* gate: NULL, or a train step's scalars on the device (td_step_gate):\n"
    " * the update is skipped when the step failed its checks, and lr, step and\n"
    " * Adam's bias corrections are the step's */\n"
    "#define TD_GATE(gate, more) \\\n"
    "    if (gate) { \\\n"
    "        if (!gate->ok) \\\n"
    "            return; \\\n"
    "        lr = gate->lr; \\\n"
    "        more; \\\n"
    "    }\n"
    "/* Each optimizer's update of the list, over the grid (td_update_*); the\n"
    " * kernels that run one (TD_*_BODY, the optimizer module's), and\n"
    " * td_small_step, a train step's norm, checks, clipping and update in one\n"
    " * block (TD_SMALL_STEP, a module of its own: only a small model's step\n"
    " * compiles it) */\n"
    "#define TD_UPDATES(T, S) \\\n"
    "__device__ void td_update_sgd_##S(const td_optim_hparams &h, const td_cuda_slices &list, int64_t step, double lr) \\\n"
    "{ \\\n"
    "    for (int s = 0; s < list.count; s++) { /* slot 0: the momentum buffer, if any */ \\\n"
    "        const double decay = list.at[s].weight_decay; \\\n"
    "        td_each<T>(list.at[s], [&](int n, T *p, const T *g, T *buf, T *, T *) { \\\n"
    "            sgd_##S(&h, n, p, g, buf, step, lr, decay); \\\n"
    "        }); \\\n"
    "    } \\\n"
    "} \\\n"
    "__device__ void td_update_adagrad_##S(const td_optim_hparams &h, const td_cuda_slices &list, int64_t step, \\\n"
    "                                      double lr) \\\n"
    "{ \\\n"
    "    for (int s = 0; s < list.count; s++) { /* slot 0: the sum of squares */ \\\n"
    "        const double decay = list.at[s].weight_decay; \\\n"
    "        td_each<T>(list.at[s], [&](int n, T *p, const T *g, T *sum, T *, T *) { \\\n"
    "            adagrad_##S(&h, n, p, g, sum, step, lr, decay); \\\n"
    "        }); \\\n"
    "    } \\\n"
    "} \\\n"
    "__device__ void td_update_rmsprop_##S(const td_optim_hparams &h, const td_cuda_slices &list, double lr) \\\n"
    "{ \\\n"
    "    for (int s = 0; s < list.count; s++) { /* slots: square_avg, the momentum buffer, grad_avg */ \\\n"
    "        const double decay = list.at[s].weight_decay; \\\n"
    "        td_each<T>(list.at[s], [&](int n, T *p, const T *g, T *square_avg, T *buf, T *grad_avg) { \\\n"
    "            rmsprop_##S(&h, n, p, g, square_avg, buf, grad_avg, lr, decay); \\\n"
    "        }); \\\n"
    "    } \\\n"
    "} \\\n"
    "__device__ void td_update_adam_##S(const td_optim_hparams &h, const td_cuda_slices &list, double bias_correction1, \\\n"
    "                                   double bias_correction2_sqrt, double lr) \\\n"
    "{ \\\n"
    "    for (int s = 0; s < list.count; s++) { /* slots: exp_avg, exp_avg_sq, max_exp_avg_sq */ \\\n"
    "        const double decay = list.at[s].weight_decay; \\\n"
    "        td_each<T>(list.at[s], [&](int n, T *p, const T *g, T *exp_avg, T *exp_avg_sq, T *max_sq) { \\\n"
    "            adam_##S(&h, n, p, g, exp_avg, exp_avg_sq, max_sq, bias_correction1, bias_correction2_sqrt, lr, \\\n"
    "                     decay); \\\n"
    "        }); \\\n"
    "    } \\\n"
    "}\n"
    "/* Each kernel of the optimizer module: its parameters and its body, as\n"
    " * the module's kernel lines (grid_kernels in optim.c) name them, one\n"
    " * definition a line, so that the module compiles as several programs */\n"
    "#define TD_SGD_PARAMS td_optim_hparams h, TD_GRID_CONST td_cuda_slices list, int64_t step, double lr, \\\n"
    "                      const td_step_gate *gate\n"
    "#define TD_SGD_BODY(S) \\\n"
    "{ \\\n"
    "    TD_GRID_WAIT(); \\\n"
    "    TD_GATE(gate, step = gate->step) \\\n"
    "    td_update_sgd_##S(h, list, step, lr); \\\n"
    "}\n"
    "#define TD_ADAGRAD_PARAMS TD_SGD_PARAMS\n"
    "#define TD_ADAGRAD_BODY(S) \\\n"
    "{ \\\n"
    "    TD_GRID_WAIT(); \\\n"
    "    TD_GATE(gate, step = gate->step) \\\n"
    "    td_update_adagrad_##S(h, list, step, lr); \\\n"
    "}\n"
    "#define TD_RMSPROP_PARAMS td_optim_hparams h, TD_GRID_CONST td_cuda_slices list, double lr, const td_step_gate *gate\n"
    "#define TD_RMSPROP_BODY(S) \\\n"
    "{ \\\n"
    "    TD_GRID_WAIT(); \\\n"
    "    TD_GATE(gate, (void)0) \\\n"
    "    td_update_rmsprop_##S(h, list, lr); \\\n"
    "}\n"
    "#define TD_ADAM_PARAMS td_optim_hparams h, TD_GRID_CONST td_cuda_slices list, double bias_correction1, \\\n"
    "                       double bias_correction2_sqrt, double lr, const td_step_gate *gate\n"
    "#define TD_ADAM_BODY(S) \\\n"
    "{ \\\n"
    "    TD_GRID_WAIT(); \\\n"
    "    TD_GATE(gate, (bias_correction1 = gate->bias1, bias_correction2_sqrt = gate->bias2_sqrt)) \\\n"
    "    td_update_adam_##S(h, list, bias_correction1, bias_correction2_sqrt, lr); \\\n"
    "}\n"
    "#define TD_SUM_SQUARES_PARAMS TD_GRID_CONST td_cuda_slices list, double *partials, unsigned *done, double *sum, \\\n"
    "                              int add, td_check_args check\n"
    "#define TD_SUM_SQUARES_BODY(T) \\\n"
    "{ \\\n"
    "    TD_GRID_WAIT(); \\\n"
    "    __shared__ double partial[32]; \\\n"
    "    double acc = 0; \\\n"
    "    for (int s = 0; s < list.count; s++) \\\n"
    "        acc += td_sum_squares_of<T>(list.at[s]); \\\n"
    "    td_block_sum(acc, partial); \\\n"
    "    __shared__ bool last; \\\n"
    "    if (threadIdx.x == 0) { \\\n"
    "        partials[blockIdx.x] = partial[0]; \\\n"
    "        __threadfence(); \\\n"
    "        last = atomicAdd(done, 1u) == gridDim.x - 1; \\\n"
    "    } \\\n"
    "    __syncthreads(); \\\n"
    "    if (last) { \\\n"
    "        td_sum_partials(partials, (int)gridDim.x, sum, add, done, partial); \\\n"
    "        if (check.gate && threadIdx.x == 0) /* the step's checks, on the sum thread 0 just wrote */ \\\n"
    "            td_check_step(check, sum, td_gate_in_of(check)); \\\n"
    "    } \\\n"
    "}\n"
    "#define TD_SCALE_PARAMS(T) TD_GRID_CONST td_cuda_slices list, T coef, const td_step_gate *gate\n"
    "#define TD_SCALE_BODY(T) \\\n"
    "{ \\\n"
    "    TD_GRID_WAIT(); \\\n"
    "    if (gate) { /* the step's clipping: only when it clips, and passed its checks */ \\\n"
    "        if (!gate->ok || !gate->clipping) \\\n"
    "            return; \\\n"
    "        coef = (T)gate->coef; \\\n"
    "    } \\\n"
    "    td_scale_grads<T>(list, coef); \\\n"
    "}\n"
    "#define TD_SMALL_STEP(T, S) \\\n"
    "/* one block of TD_SMALL_THREADS: the sum of squares, the checks (thread 0), \\\n"
    " * then, when they passed, the clipping and the update; the block's barriers \\\n"
    " * order each stage's global writes before the next one's reads. What the \\\n"
    " * checks read is asked for first, so that its latency passes while the \\\n"
    " * norm is summed: the step's scalars over the bus by the \\\n"
    " * last thread, the loss and the gathers' flags by the one a warp before; \\\n"
    " * the verdict then goes to the threads through shared memory. At most \\\n"
    " * 64 registers a thread (__launch_bounds__), or a block of 1024 cannot \\\n"
    " * launch. */ \\\n"
    "extern \"C\" __global__ void __launch_bounds__(TD_SMALL_THREADS) \\\n"
    "td_small_step_##S(td_optim_hparams h, TD_GRID_CONST td_cuda_slices list, double *sum, td_check_args check) \\\n"
    "{ \\\n"
    "    TD_GRID_WAIT(); \\\n"
    "    __shared__ double partial[32]; \\\n"
    "    __shared__ td_gate_in in; \\\n"
    "    __shared__ td_check_in inputs; \\\n"
    "    __shared__ td_step_gate verdict; \\\n"
    "    if (threadIdx.x == blockDim.x - 1) \\\n"
    "        in = td_gate_in_of(check); \\\n"
    "    else if (threadIdx.x == blockDim.x - 33) \\\n"
    "        inputs = td_check_in_of(check); \\\n"
    "    double acc = 0; \\\n"
    "    for (int s = 0; s < list.count; s++) \\\n"
    "        acc += td_sum_squares_of<T>(list.at[s]); \\\n"
    "    td_block_sum(acc, partial); \\\n"
    "    if (threadIdx.x == 0) { \\\n"
    "        *sum = partial[0]; \\\n"
    "        verdict = td_verdict(check, partial[0], in, inputs); \\\n"
    "        td_put_verdict(check, verdict); \\\n"
    "    } \\\n"
    "    __syncthreads(); \\\n"
    "    if (!verdict.ok) \\\n"
    "        return; \\\n"
    "    if (verdict.clipping) { \\\n"
    "        td_scale_grads<T>(list, (T)verdict.coef); \\\n"
    "        __syncthreads(); \\\n"
    "    } \\\n"
    "    switch (h.kind) { \\\n"
    "    case TD_OPTIM_SGD: td_update_sgd_##S(h, list, verdict.step, verdict.lr); break; \\\n"
    "    case TD_OPTIM_ADAGRAD: td_update_adagrad_##S(h, list, verdict.step, verdict.lr); break; \\\n"
    "    case TD_OPTIM_RMSPROP: td_update_rmsprop_##S(h, list, verdict.lr); break; \\\n"
    "    case TD_OPTIM_ADAM: case TD_OPTIM_ADAMW: \\\n"
    "        td_update_adam_##S(h, list, verdict.bias1, verdict.bias2_sqrt, verdict.lr); \\\n"
    "        break; \\\n"
    "    } \\\n"
    "}\n"
    "/* acc of each thread summed over the block (whole warps, 32 at most) in a\n"
    " * fixed order: each warp's lanes by shuffles, then the warps' sums by warp\n"
    " * 0, into part[0] (a double a warp), which every thread sees when it\n"
    " * returns: two barriers, not one a halving */\n"
    "__device__ void td_block_sum(double acc, double *part)\n"
    "{\n"
    "    const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;\n"
    "    for (int o = 16; o > 0; o /= 2)\n"
    "        acc += __shfl_down_sync(0xffffffffu, acc, o);\n"
    "    if (lane == 0)\n"
    "        part[warp] = acc;\n"
    "    __syncthreads();\n"
    "    if (warp == 0) {\n"
    "        acc = lane < blockDim.x / 32 ? part[lane] : 0;\n"
    "        for (int o = 16; o > 0; o /= 2)\n"
    "            acc += __shfl_down_sync(0xffffffffu, acc, o);\n"
    "        if (lane == 0)\n"
    "            part[0] = acc;\n"
    "    }\n"
    "    __syncthreads();\n"
    "}\n"
    "/* *sum += the blocks' partial sums, in block order, by the block that\n"
    " * finished last (the others' partials are out, behind their fences): one\n"
    " * block's fixed order, so a sum is the same on every run (an atomic add of\n"
    " * the partials is not); then the count of finished blocks back to 0 */\n"
    "__device__ void td_sum_partials(const double *partials, int count, double *sum, int add, unsigned *done,\n"
    "                                double *part)\n"
    "{\n"
    "    const volatile double *from = partials;\n"
    "    double acc = 0;\n"
    "    for (int i = threadIdx.x; i < count; i += blockDim.x)\n"
    "        acc += from[i];\n"
    "    __syncthreads();\n"
    "    td_block_sum(acc, part);\n"
    "    if (threadIdx.x == 0) {\n"
    "        *sum = (add ? *sum : 0) + part[0];\n"
    "        *done = 0;\n"
    "    }\n"
    "}\n"
    "/* A train step's checks on the device (runtime/cuda/step.c): the loss (of\n"
    " * its dtype: 0 f32, 1 f64, 2 bf16, 3 f16) and the gradients' norm finite,\n"
    " * no gather met a bad index; then the clipping coefficient, as train.c's.\n"
    " * Their inputs come in two reads a kernel may start early, td_gate_in_of\n"
    " * and td_check_in_of, and the verdict is a value (td_verdict) written to\n"
    " * the device's gate and the pinned one (td_put_verdict). */\n"
    "/* The step's scalars (lr, Adam's bias corrections, the step) where the\n"
    " * host wrote them before the launch: in the pinned gate, read over the\n"
    " * bus by one thread (no copy up a step; volatile: read at this point, not\n"
    " * from a cache), or, without one, in the device's gate */\n"
    "struct td_gate_in {\n"
    "    double lr, bias1, bias2_sqrt;\n"
    "    long long step;\n"
    "};\n"
    "__device__ td_gate_in td_gate_in_of(const td_check_args &c)\n"
    "{\n"
    "    const volatile td_step_gate *h = c.host_gate ? c.host_gate : c.gate;\n"
    "    td_gate_in in;\n"
    "    in.lr = h->lr;\n"
    "    in.bias1 = h->bias1;\n"
    "    in.bias2_sqrt = h->bias2_sqrt;\n"
    "    in.step = h->step;\n"
    "    return in;\n"
    "}\n"
    "__device__ double td_widen_half(unsigned short h)\n"
    "{\n"
    "    unsigned sign = (h >> 15) & 1, e = (h >> 10) & 31, m = h & 1023;\n"
    "    double v = e == 0 ? ldexp((double)m, -24) : e == 31 ? (m ? __longlong_as_double(0x7ff8000000000000ll) : __longlong_as_double(0x7ff0000000000000ll)) : ldexp((double)(m | 1024), (int)e - 25);\n"
    "    return sign ? -v : v;\n"
    "}\n"
    "/* The loss, widened, and whether any gather met a bad index */\n"
    "struct td_check_in {\n"
    "    double loss;\n"
    "    long long bad;\n"
    "};\n"
    "__device__ td_check_in td_check_in_of(const td_check_args &c)\n"
    "{\n"
    "    td_check_in k;\n"
    "    k.loss = c.loss_kind == 0 ? (double)*(const float *)c.loss\n"
    "           : c.loss_kind == 1 ? *(const double *)c.loss\n"
    "           : c.loss_kind == 2 ? (double)__uint_as_float((unsigned)*(const unsigned short *)c.loss << 16)\n"
    "                              : td_widen_half(*(const unsigned short *)c.loss);\n"
    "    k.bad = 0;\n"
    "    for (int i = 0; i < c.nerrors; i++)\n"
    "        k.bad |= c.errors[2 * i];\n"
    "    return k;\n"
    "}\n"
    "__device__ td_step_gate td_verdict(const td_check_args &c, double sum_squares, const td_gate_in &in,\n"
    "                                   const td_check_in &k)\n"
    "{\n"
    "    td_step_gate v;\n"
    "    v.lr = in.lr;\n"
    "    v.bias1 = in.bias1;\n"
    "    v.bias2_sqrt = in.bias2_sqrt;\n"
    "    v.step = in.step;\n"
    "    v.loss = k.loss;\n"
    "    v.norm = sqrt(sum_squares);\n"
    "    v.ok = !k.bad && isfinite(v.loss) && isfinite(v.norm);\n"
    "    v.clipping = c.clip > 0 && c.clip / (v.norm + 1e-6) < 1;\n"
    "    v.coef = v.clipping ? c.clip / (v.norm + 1e-6) : 1;\n"
    "    return v;\n"
    "}\n"
    "/* the verdict to the device's gate, for the update, and straight to the\n"
    " * pinned one the host reads after the step: no copy down */\n"
    "__device__ void td_put_verdict(const td_check_args &c, const td_step_gate &v)\n"
    "{\n"
    "    *c.gate = v;\n"
    "    if (c.host_gate)\n"
    "        *c.host_gate = v;\n"
    "}\n"
    "__device__ void td_check_step(const td_check_args &c, const double *sum_squares, const td_gate_in &in)\n"
    "{\n"
    "    td_put_verdict(c, td_verdict(c, *sum_squares, in, td_check_in_of(c)));\n"
    "}\n";
/* The end of each module's source: the kernels it defines. The optimizer
 * module's are one definition a line after TD_CUDA_APART: the module is
 * lazy (td_cuda_module_load_lazy), each kernel a program of its own built
 * at its first launch or beside a model's kernels (td_cuda_optim_prefetch),
 * where the 13 as one program took 1.2 s of NVRTC. */
static const char grid_kernels[] =
    "TD_UPDATES(float, f32)\nTD_UPDATES(double, f64)\n"
    "\n" TD_CUDA_APART
    "extern \"C\" __global__ void td_optim_sgd_f32(TD_SGD_PARAMS) TD_SGD_BODY(f32)\n"
    "extern \"C\" __global__ void td_optim_sgd_f64(TD_SGD_PARAMS) TD_SGD_BODY(f64)\n"
    "extern \"C\" __global__ void td_optim_adagrad_f32(TD_ADAGRAD_PARAMS) TD_ADAGRAD_BODY(f32)\n"
    "extern \"C\" __global__ void td_optim_adagrad_f64(TD_ADAGRAD_PARAMS) TD_ADAGRAD_BODY(f64)\n"
    "extern \"C\" __global__ void td_optim_rmsprop_f32(TD_RMSPROP_PARAMS) TD_RMSPROP_BODY(f32)\n"
    "extern \"C\" __global__ void td_optim_rmsprop_f64(TD_RMSPROP_PARAMS) TD_RMSPROP_BODY(f64)\n"
    "extern \"C\" __global__ void td_optim_adam_f32(TD_ADAM_PARAMS) TD_ADAM_BODY(f32)\n"
    "extern \"C\" __global__ void td_optim_adam_f64(TD_ADAM_PARAMS) TD_ADAM_BODY(f64)\n"
    "extern \"C\" __global__ void td_sum_squares_f32(TD_SUM_SQUARES_PARAMS) TD_SUM_SQUARES_BODY(float)\n"
    "extern \"C\" __global__ void td_sum_squares_f64(TD_SUM_SQUARES_PARAMS) TD_SUM_SQUARES_BODY(double)\n"
    "extern \"C\" __global__ void td_scale_f32(TD_SCALE_PARAMS(float)) TD_SCALE_BODY(float)\n"
    "extern \"C\" __global__ void td_scale_f64(TD_SCALE_PARAMS(double)) TD_SCALE_BODY(double)\n"
    "extern \"C\" __global__ void td_step_check(td_check_args check, const double *sum_squares)\n"
    "{\n"
    "    TD_GRID_WAIT();\n"
    "    td_check_step(check, sum_squares, td_gate_in_of(check));\n"
    "}\n";
static const char small_kernels[] = "TD_UPDATES(float, f32)\nTD_UPDATES(double, f64)\n"
                                    "TD_SMALL_STEP(float, f32)\nTD_SMALL_STEP(double, f64)\n";

/* Appends s (its bytes known to fit: the caller sized the buffer). */
static void put(char *out, size_t *used, const char *s, size_t len)
{
    memcpy(out + *used, s, len);
    *used += len;
}

/* td_optim_hparams for the device, into buf: each field at the host's
 * offset through explicit padding, each field's size asserted, and the
 * whole size asserted, so the device cannot have padded anything more and
 * the struct passes to a kernel by value. NVRTC has no offsetof without
 * headers, hence the padding. Then the constants the kernels need. The
 * length, or 0 when buf is too small (a bug: it is sized for the table). */
static size_t device_struct(char *buf, size_t size)
{
    size_t used = 0, end = 0, nfields = sizeof host_layout / sizeof host_layout[0];
#define OUT(...)                                                              \
    do {                                                                      \
        if (used < size)                                                      \
            used += (size_t)snprintf(buf + used, size - used, __VA_ARGS__);   \
    } while (0)
    OUT("struct td_optim_hparams { /* td.h's, laid out as the host's */\n");
    for (size_t i = 0; i < nfields; i++) {
        if (host_layout[i].offset > end)
            OUT("    char pad%zu[%zu];\n", i, host_layout[i].offset - end);
        OUT("    %s %s; /* %zu */\n", host_layout[i].type, host_layout[i].field, host_layout[i].offset);
        end = host_layout[i].offset + host_layout[i].size;
    }
    if (sizeof(td_optim_hparams) > end)
        OUT("    char pad_end[%zu];\n", sizeof(td_optim_hparams) - end);
    OUT("};\n");
    for (size_t i = 0; i < nfields; i++)
        OUT("static_assert(sizeof(td_optim_hparams::%s) == %zu, \"td_optim_hparams.%s: not the host's size\");\n",
            host_layout[i].field, host_layout[i].size, host_layout[i].field);
    OUT("static_assert(sizeof(td_optim_hparams) == %zu, \"td_optim_hparams: not the host's layout\");\n",
        sizeof(td_optim_hparams));
    OUT("static_assert(TD_OPTIM_SGD == %d && TD_OPTIM_ADAGRAD == %d && TD_OPTIM_RMSPROP == %d && TD_OPTIM_ADAM == %d "
        "&& TD_OPTIM_ADAMW == %d, \"td_optim_kind: not the host's values\");\n",
        (int)TD_OPTIM_SGD, (int)TD_OPTIM_ADAGRAD, (int)TD_OPTIM_RMSPROP, (int)TD_OPTIM_ADAM, (int)TD_OPTIM_ADAMW);
    OUT("#define TD_THREADS %d\n#define TD_SMALL_THREADS %d\n", OPTIM_THREADS, SMALL_STEP_THREADS);
    OUT("#define TD_SLICES %d\n#define TD_SLICES_BYTES %zu\n", TD_CUDA_SLICES, sizeof(td_cuda_slices));
#undef OUT
    return used < size ? used : 0;
}

static char *module_source(td_ctx *ctx, const char *kernels);

char *td_cuda_optim_source(td_ctx *ctx) { return module_source(ctx, grid_kernels); }

char *td_cuda_small_step_source(td_ctx *ctx) { return module_source(ctx, small_kernels); }

/* The shared text, then `kernels`: the instantiations of a module. */
static char *module_source(td_ctx *ctx, const char *kernels)
{
    char layout[4096];
    size_t layout_len = device_struct(layout, sizeof layout);
    if (layout_len == 0) {
        td_fail(ctx, TD_ERR_OOM, "td_cuda_optim: internal error: td_optim_hparams for the device needs more than %zu "
                "bytes", sizeof layout);
        return NULL;
    }
    const char *text = (const char *)td_optim_kernels_text;
    size_t text_len = strlen(text);
    const char *pieces[] = {device_types, layout,       device_f32,     text,   device_undef,
                            device_f64,   text,         device_undef,   device_kernels, kernels};
    size_t lens[sizeof pieces / sizeof pieces[0]], total = 1; /* the NUL */
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        lens[i] = pieces[i] == text ? text_len : pieces[i] == layout ? layout_len : strlen(pieces[i]);
        if (!td_add_size(total, lens[i], &total)) {
            td_fail(ctx, TD_ERR_OOM, "td_cuda_optim: the kernels' source overflows the address space");
            return NULL;
        }
    }
    char *source = malloc(total);
    if (!source) {
        td_fail(ctx, TD_ERR_OOM, "td_cuda_optim: out of memory for the kernels' source (%zu bytes)", total);
        return NULL;
    }
    size_t used = 0;
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
        put(source, &used, pieces[i], lens[i]);
    source[used] = 0;
    return source;
}

/* *slot, the module of `source` (the kernels `names`), compiled with this
 * file's options and loaded, its kernels marked as waiting (each starts
 * with TD_GRID_WAIT()). */
static td_status load_source(td_ctx *ctx, td_cuda_module **slot, const char *name, const char *source, int count,
                             const char *const *names)
{
    td_status st = strstr(source, TD_CUDA_APART) /* the grid kernels: each built at its first launch */
                       ? td_cuda_module_load_lazy(ctx, name, source, TD_CUDA_OPTIM_NOPTIONS, td_cuda_optim_options,
                                                  count, names, slot)
                       : td_cuda_module_load_options(ctx, name, source, TD_CUDA_OPTIM_NOPTIONS, td_cuda_optim_options,
                                                     count, names, slot);
    td_cuda_module_waits(*slot);
    return st;
}

/* *slot, a module of this file's text ending in `kernels` (the kernels
 * `names`), compiled and loaded on first use. */
static td_status load_once(td_ctx *ctx, td_cuda_module **slot, const char *name, const char *kernels, int count,
                           const char *const *names)
{
    if (*slot)
        return TD_OK;
    char *source = module_source(ctx, kernels);
    if (!source)
        return TD_ERR_OOM;
    td_status st = load_source(ctx, slot, name, source, count, names);
    free(source);
    return st;
}

/* The context's optimizer module and the partial sums its norms use. */
static td_status optim_module(td_ctx *ctx, const td_cuda_module **out)
{
    struct td_cuda *cuda = td_cuda_ready(ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    td_status st = load_once(ctx, &cuda->optim_module, "td_optim", grid_kernels, K_COUNT, kernel_names);
    if (st != TD_OK)
        return st;
    if (!cuda->sum_partials) { /* a double per block of the largest grid td_cuda_blocks gives, then the
                                * count of blocks done (zero between launches) */
        size_t bytes = (size_t)td_cuda_blocks(ctx, INT64_MAX, 1) * sizeof(double);
        st = td_cuda_alloc(ctx, bytes + sizeof(double), "the partial sums of gradient norms", &cuda->sum_partials);
        if (st == TD_OK && (st = td_cuda_zero(ctx, cuda->sum_partials + bytes, sizeof(double))) != TD_OK) {
            td_cuda_free(ctx, cuda->sum_partials);
            cuda->sum_partials = 0;
        }
        if (st != TD_OK)
            return st;
        cuda->sum_partials_done = cuda->sum_partials + bytes;
    }
    *out = cuda->optim_module;
    return TD_OK;
}

int td_cuda_optim_prefetch(td_ctx *ctx, const td_optim_hparams *h, td_dtype dtype, bool clip, td_cuda_lazy_ref *refs)
{
    struct td_cuda *cuda = td_cuda_device_ready(ctx) /* a lazy module: the context may still be coming */;
    if (!cuda || load_once(ctx, &cuda->optim_module, "td_optim", grid_kernels, K_COUNT, kernel_names) != TD_OK)
        return -1;
    if (dtype != TD_F32 && dtype != TD_F64)
        return 0;
    int f64 = dtype == TD_F64, n = 0;
    refs[n++] = (td_cuda_lazy_ref){cuda->optim_module, update_kernel(h->kind) + f64};
    refs[n++] = (td_cuda_lazy_ref){cuda->optim_module, K_SUM_SQUARES + f64};
    if (clip)
        refs[n++] = (td_cuda_lazy_ref){cuda->optim_module, K_SCALE + f64};
    return n;
}

/* The context's small step module. */
static td_status small_step_module(td_ctx *ctx, const td_cuda_module **out)
{
    struct td_cuda *cuda = td_cuda_ready(ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    td_status st = load_once(ctx, &cuda->small_step_module, "td_small_step", small_kernels, 2, small_kernel_names);
    *out = cuda->small_step_module;
    return st;
}

/* ---- the updates ---- */

/* The device address of state slot `slot_name`, or 0 when the
 * configuration has none (../optim.c's state_slot). */
static td_dptr state_slot(const td_optim_hparams *h, td_dptr state, size_t n, size_t elem, const char *slot_name)
{
    for (int s = 0; s < td_optim_state_slots(h); s++)
        if (strcmp(td_optim_slot_name(h, s), slot_name) == 0)
            return state + (td_dptr)s * n * elem; /* fits: td_optim_check_update multiplied it */
    return 0;
}

static const void *as_pointer(td_dptr p) { return (const void *)(uintptr_t)p; }

td_cuda_slice td_cuda_slice_of(const td_optim_hparams *h, td_dtype dtype, size_t n, td_dptr param, td_dptr grad,
                               td_dptr state, double weight_decay)
{
    size_t elem = td_dtype_size(dtype);
    td_cuda_slice s = {.param = param, .grad = grad, .n = n, .weight_decay = weight_decay};
    switch (h->kind) {
    case TD_OPTIM_SGD: s.state[0] = state_slot(h, state, n, elem, "momentum_buffer"); break;
    case TD_OPTIM_ADAGRAD: s.state[0] = state; break;
    case TD_OPTIM_RMSPROP:
        s.state[0] = state;
        s.state[1] = state_slot(h, state, n, elem, "momentum_buffer");
        s.state[2] = state_slot(h, state, n, elem, "grad_avg");
        break;
    case TD_OPTIM_ADAM: case TD_OPTIM_ADAMW:
        s.state[0] = state;
        s.state[1] = state_slot(h, state, n, elem, "exp_avg_sq");
        s.state[2] = state_slot(h, state, n, elem, "max_exp_avg_sq");
        break;
    }
    return s;
}

/* The largest slice's elements, for the grid. */
static size_t largest(const td_cuda_slices *list)
{
    size_t n = 0;
    for (int s = 0; s < list->count; s++)
        n = list->at[s].n > n ? (size_t)list->at[s].n : n;
    return n;
}

/* What the list kernels check before anything: the list's length and the dtype. */
static td_status check_list(td_ctx *ctx, const char *fn, td_dtype dtype, const td_cuda_slices *list)
{
    if (list->count < 0 || list->count > TD_CUDA_SLICES)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %d tensors in one launch (at most %d)", fn, list->count, TD_CUDA_SLICES);
    if (dtype != TD_F32 && dtype != TD_F64)
        return td_fail(ctx, TD_ERR_INPUT, "%s: dtype %s is not supported (f32 or f64)", fn, td_dtype_name(dtype));
    for (int s = 0; s < list->count; s++) {
        const td_cuda_slice *t = &list->at[s];
        if (t->copy_kind < 0 || t->copy_kind > 2 || (t->copy_kind != 0) != (t->copy != 0) ||
            (t->copy_kind != 0 && dtype != TD_F32))
            return td_fail(ctx, TD_ERR_INPUT, "%s: tensor %d: a narrow copy of kind %lld at 0x%llx (kinds: 0 none, "
                           "1 bf16, 2 f16, of an f32 tensor, with an address)", fn, s, (long long)t->copy_kind,
                           (unsigned long long)t->copy);
    }
    return TD_OK;
}

/* td_cuda_narrow_copy's kernel: a module of its own, small, so a model
 * that keeps copies makes them before its first step without compiling
 * the optimizers. */
static const char copy_source[] =
    "/* td_narrow_copy: a param's narrow copy (runtime/cuda/optim.c) */\n"
    TD_CUDA_GRID_WAIT
    TD_CUDA_INT_TYPES
    TD_CUDA_NARROW_FLOATS
    "extern \"C\" __global__ void td_narrow_copy(const float *src, uint16_t *dst, unsigned long long n, int kind)\n"
    "{\n"
    "    TD_GRID_WAIT();\n"
    "    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;\n"
    "         i += (unsigned long long)blockDim.x * gridDim.x)\n"
    "        dst[i] = (uint16_t)(kind == 1 ? tdg_narrow(src[i], 8, 7, false) : tdg_narrow(src[i], 5, 10, false));\n"
    "}\n";

const char *td_cuda_narrow_copy_source(void) { return copy_source; }

td_status td_cuda_narrow_copy(td_ctx *ctx, td_dptr src, td_dptr dst, td_dtype dtype, size_t n)
{
    static const char *const names[1] = {"td_narrow_copy"};
    if (dtype != TD_BF16 && dtype != TD_F16)
        return td_fail(ctx, TD_ERR_INPUT, "td_cuda_narrow_copy: dtype %s (bf16 or f16)", td_dtype_name(dtype));
    struct td_cuda *cuda = td_cuda_ready(ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    td_status st = cuda->copy_module ? TD_OK : load_source(ctx, &cuda->copy_module, "td_narrow_copy", copy_source, 1, names);
    if (st != TD_OK)
        return st;
    if (n == 0)
        return TD_OK;
    unsigned long long count = n;
    int kind = dtype == TD_BF16 ? 1 : 2;
    void *args[] = {&src, &dst, &count, &kind};
    return td_cuda_launch(ctx, cuda->copy_module, 0, td_cuda_blocks(ctx, (int64_t)(n > INT64_MAX ? INT64_MAX : n), OPTIM_THREADS),
                          OPTIM_THREADS, args, "a param's narrow copy");
}

/* A list kernel's launch, set up: the module, and `where` (for a failed
 * launch's message) naming fn and the list. */
static td_status list_launch(td_ctx *ctx, const char *fn, td_dtype dtype, const td_cuda_slices *list, size_t n,
                             const td_cuda_module **mod, char *where, size_t size)
{
    snprintf(where, size, "%s: %d tensors, the largest %zu %s elements", fn, list->count, n, td_dtype_name(dtype));
    return optim_module(ctx, mod);
}

td_status td_cuda_optim_update(td_ctx *ctx, const td_optim_hparams *h, td_dtype dtype, size_t n, td_dptr param,
                               td_dptr grad, td_dptr state, int64_t step, double lr, double weight_decay)
{
    static const char fn[] = "td_cuda_optim_update";
    td_status st = td_optim_check_update(ctx, fn, h, dtype, n, as_pointer(param), as_pointer(grad), as_pointer(state),
                                         step, lr, weight_decay);
    if (st != TD_OK)
        return st;
    td_cuda_slices list = {.count = 1};
    list.at[0] = td_cuda_slice_of(h, dtype, n, param, grad, state, weight_decay);
    return td_cuda_optim_update_slices(ctx, h, dtype, &list, step, lr, 0);
}

td_status td_cuda_optim_update_slices(td_ctx *ctx, const td_optim_hparams *h, td_dtype dtype,
                                      const td_cuda_slices *list, int64_t step, double lr, td_dptr gate)
{
    static const char fn[] = "td_cuda_optim_update";
    td_status st = check_list(ctx, fn, dtype, list);
    size_t n = st == TD_OK ? largest(list) : 0; /* the length checked first */
    if (st != TD_OK || n == 0)
        return st;
    const td_cuda_module *mod = NULL;
    char where[128];
    if ((st = list_launch(ctx, fn, dtype, list, n, &mod, where, sizeof where)) != TD_OK)
        return st;
    int f64 = dtype == TD_F64;
    td_optim_hparams hp = *h; /* the kernels' by-value arguments */
    td_cuda_slices slices = *list;
    /* a thread a vector of 16 bytes (td_each), the grid as large as the largest tensor needs: not
     * td_cuda_blocks's 32 blocks a multiprocessor looping over the rest, whose threads each kept one
     * vector's loads in flight at a time (AdamW over 124M f32 params 1.22 -> 1.16 ms on an H100,
     * bench/gpu/README.md's session 12); past 2^31 - 1 blocks td_cuda_launch clamps it and td_each's
     * loop takes the rest. n < 2^62: its bytes fit a size_t */
    int64_t per_block = OPTIM_THREADS * (int64_t)(16 / td_dtype_size(dtype));
    int64_t blocks = (int64_t)n / per_block + ((int64_t)n % per_block != 0);
    int kernel = update_kernel(h->kind) + f64;
    switch (h->kind) {
    case TD_OPTIM_SGD:
    case TD_OPTIM_ADAGRAD: {
        void *args[] = {&hp, &slices, &step, &lr, &gate};
        return td_cuda_launch(ctx, mod, kernel, blocks, OPTIM_THREADS, args, where);
    }
    case TD_OPTIM_RMSPROP: {
        void *args[] = {&hp, &slices, &lr, &gate};
        return td_cuda_launch(ctx, mod, kernel, blocks, OPTIM_THREADS, args, where);
    }
    case TD_OPTIM_ADAM:
    case TD_OPTIM_ADAMW: {
        double bias1, bias2_sqrt;
        td_optim_adam_bias(h, step, &bias1, &bias2_sqrt);
        void *args[] = {&hp, &slices, &bias1, &bias2_sqrt, &lr, &gate};
        return td_cuda_launch(ctx, mod, kernel, blocks, OPTIM_THREADS, args, where);
    }
    }
    return td_fail(ctx, TD_ERR_INPUT, "%s: unknown optimizer kind %d", fn, (int)h->kind);
}

/* ---- norms and scaling ---- */

/* The checks of the two below: dtype, x, and the bytes of n elements. */
static td_status check_vector(td_ctx *ctx, const char *fn, td_dtype dtype, td_dptr x, size_t n)
{
    size_t bytes;
    if (dtype != TD_F32 && dtype != TD_F64)
        return td_fail(ctx, TD_ERR_INPUT, "%s: dtype %s is not supported (f32 or f64)", fn, td_dtype_name(dtype));
    if (!td_mul_size(n, td_dtype_size(dtype), &bytes))
        return td_fail(ctx, TD_ERR_INPUT, "%s: %zu %s elements overflow the address space", fn, n,
                       td_dtype_name(dtype));
    if (!x && n > 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: x is NULL (device address 0) but has %zu elements", fn, n);
    return TD_OK;
}

/* A list of one vector: x in the gradient's place, where the norm and scale kernels read. */
static td_cuda_slices one_vector(td_dptr x, size_t n)
{
    td_cuda_slices list = {.count = 1};
    list.at[0].grad = x;
    list.at[0].n = n;
    return list;
}

td_status td_cuda_add_sum_squares(td_ctx *ctx, td_dtype dtype, td_dptr x, size_t n, td_dptr sum)
{
    td_status st = check_vector(ctx, "td_cuda_add_sum_squares", dtype, x, n);
    td_cuda_slices list = one_vector(x, n);
    return st == TD_OK ? td_cuda_sum_squares_slices(ctx, dtype, &list, sum, true, NULL) : st;
}

td_status td_cuda_sum_squares_slices(td_ctx *ctx, td_dtype dtype, const td_cuda_slices *list, td_dptr sum, bool add,
                                     const td_cuda_check *check)
{
    static const char fn[] = "td_cuda_add_sum_squares";
    td_status st = check_list(ctx, fn, dtype, list);
    if (st != TD_OK)
        return st;
    if (!sum)
        return td_fail(ctx, TD_ERR_INPUT, "%s: the sum is NULL (device address 0)", fn);
    size_t n = largest(list);
    if (n == 0) {
        st = add ? TD_OK : td_cuda_zero(ctx, sum, sizeof(double));
        return st == TD_OK && check ? td_cuda_run_check(ctx, check, sum) : st;
    }
    const td_cuda_module *mod;
    char where[128];
    if ((st = list_launch(ctx, fn, dtype, list, n, &mod, where, sizeof where)) != TD_OK)
        return st;
    struct td_cuda *cuda = ctx->cuda;
    td_cuda_slices slices = *list;
    /* a thread two vectors of 16 bytes (td_sum_squares_of): fewer partials for the last block to add */
    int64_t blocks = td_cuda_blocks(ctx, (int64_t)n, OPTIM_THREADS * (int64_t)(32 / td_dtype_size(dtype)));
    int accumulate = add;
    td_cuda_check none = {0}, checks = check ? *check : none;
    void *args[] = {&slices, &cuda->sum_partials, &cuda->sum_partials_done, &sum, &accumulate, &checks};
    return td_cuda_launch(ctx, mod, K_SUM_SQUARES + (dtype == TD_F64), blocks, OPTIM_THREADS, args, where);
}

td_status td_cuda_scale(td_ctx *ctx, td_dtype dtype, td_dptr x, size_t n, double coef)
{
    td_status st = check_vector(ctx, "td_cuda_scale", dtype, x, n);
    td_cuda_slices list = one_vector(x, n);
    return st == TD_OK ? td_cuda_scale_slices(ctx, dtype, &list, coef, 0) : st;
}

td_status td_cuda_scale_slices(td_ctx *ctx, td_dtype dtype, const td_cuda_slices *list, double coef, td_dptr gate)
{
    static const char fn[] = "td_cuda_scale";
    td_status st = check_list(ctx, fn, dtype, list);
    size_t n = st == TD_OK ? largest(list) : 0; /* the length checked first */
    if (st != TD_OK || n == 0)
        return st;
    const td_cuda_module *mod;
    char where[128];
    if ((st = list_launch(ctx, fn, dtype, list, n, &mod, where, sizeof where)) != TD_OK)
        return st;
    td_cuda_slices slices = *list;
    float coef_f32 = (float)coef; /* rounded once, as train.c's scale_grads does */
    void *args[] = {&slices, dtype == TD_F64 ? (void *)&coef : (void *)&coef_f32, &gate};
    return td_cuda_launch(ctx, mod, K_SCALE + (dtype == TD_F64), td_cuda_blocks(ctx, (int64_t)n, OPTIM_THREADS),
                          OPTIM_THREADS, args, where);
}

td_status td_cuda_check_of(td_ctx *ctx, td_dtype loss_dtype, td_dptr loss, td_dptr errors, int nerrors, double clip,
                           td_dptr gate, td_step_gate *host_gate, td_cuda_check *out)
{
    int kind = loss_dtype == TD_F32 ? 0 : loss_dtype == TD_F64 ? 1 : loss_dtype == TD_BF16 ? 2 : loss_dtype == TD_F16 ? 3 : -1;
    if (kind < 0)
        return td_fail(ctx, TD_ERR_INPUT, "td_cuda_check_of: a loss of dtype %s (f32, f64, bf16 or f16)",
                       td_dtype_name(loss_dtype));
    if (!gate)
        return td_fail(ctx, TD_ERR_INPUT, "td_cuda_check_of: the gate is NULL (device address 0)");
    *out = (td_cuda_check){.loss = loss, .loss_kind = kind, .nerrors = nerrors, .errors = errors, .clip = clip, .gate = gate,
                           .host_gate = (td_dptr)(uintptr_t)host_gate};
    return TD_OK;
}

td_status td_cuda_run_check(td_ctx *ctx, const td_cuda_check *check, td_dptr sum_squares)
{
    const td_cuda_module *mod;
    td_status st = optim_module(ctx, &mod);
    if (st != TD_OK)
        return st;
    td_cuda_check args0 = *check;
    void *args[] = {&args0, &sum_squares};
    return td_cuda_launch(ctx, mod, K_STEP_CHECK, 1, 1, args, "a train step's checks");
}


size_t td_cuda_slices_elements(const td_cuda_slices *list)
{
    size_t n = 0;
    for (int s = 0; s < list->count; s++)
        if (list->at[s].n > SIZE_MAX || !td_add_size(n, (size_t)list->at[s].n, &n))
            return SIZE_MAX;
    return n;
}

td_status td_cuda_small_step(td_ctx *ctx, const td_optim_hparams *h, td_dtype dtype, const td_cuda_slices *list,
                             td_dptr sum, const td_cuda_check *check)
{
    static const char fn[] = "td_cuda_small_step";
    td_status st = check_list(ctx, fn, dtype, list);
    if (st != TD_OK)
        return st;
    size_t n = td_cuda_slices_elements(list);
    if (n > TD_CUDA_SMALL_STEP)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %zu elements (at most %d, in one block)", fn, n, TD_CUDA_SMALL_STEP);
    if (!sum || !check || !check->gate)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s is NULL", fn, !sum ? "the sum" : "the gate");
    const td_cuda_module *mod;
    char where[128];
    snprintf(where, sizeof where, "%s: %d tensors, %zu %s elements", fn, list->count, n, td_dtype_name(dtype));
    if ((st = small_step_module(ctx, &mod)) != TD_OK)
        return st;
    td_optim_hparams hp = *h; /* the kernel's by-value arguments */
    td_cuda_slices slices = *list;
    td_cuda_check checks = *check;
    void *args[] = {&hp, &slices, &sum, &checks};
    return td_cuda_launch(ctx, mod, dtype == TD_F64, 1, SMALL_STEP_THREADS, args, where);
}

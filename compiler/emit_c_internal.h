/* emit_c_internal.h - what emit_c.c (the kernels and functions) and
 * emit_c_model.c (the model's description, the C API) share. */
#ifndef TDC_EMIT_C_INTERNAL_H
#define TDC_EMIT_C_INTERNAL_H

#include "emit_c.h"

typedef struct Emit {
    FILE *out;
    const IrProgram *p;
    Arena *a;
    const IrFunction *f;
    const FnPlan *plan;
    const int *loop_of_axis; /* MX_INDEX k reads loop variable i<loop_of_axis[k]> (NULL: ik) */
    struct Hoisted *hoisted;  /* subexpressions computed once into locals (emit_expr) */
    bool count_flops;         /* tests: count every operation executed into tdg_counted[op] */
    int op;                   /* the operation being emitted, by its index in the cost table */
    int fn_index;             /* emit_cuda: the function's index (kernel names) */
    PtrVec *kernel_names;     /* emit_cuda: each kernel's name, in the order of the source */
    bool with_cuda;           /* emit_c: the program's GPU code too */
    const char *linkage;      /* of tdg_plan_fn<k> and tdg_fn<k>: "static", or "TDG_FN" in a file of parts */
    const Dtype *read_dtypes; /* emit_cuda: by param, the dtype the GPU reads it in (emit_cuda_read_dtypes); NULL: its own */
} Emit;

/* Subexpressions an expression has more than once (a backward map's
 * tanh(x), say), by their C text, and the locals that hold them. */
typedef struct Hoisted {
    const char **texts, **names;
    int n;
} Hoisted;

const char *emit_c_ctype(Dtype t);                 /* the C type of an element: "float", "uint16_t" */
const char *emit_c_narrow_name(Dtype t);           /* "f16": td_f32_to_<name> */
const char *emit_c_dtype_enum(Dtype t);            /* "TD_F32" */
const char *emit_c_dim_var(const Emit *e, uint32_t factor); /* "dim_batch" */
const char *emit_c_size(const Emit *e, Size s);    /* a size as a C int64 expression */
const char *emit_c_size_desc(const Emit *e, Size s); /* a td_size_expr initializer */
/* The functions' code: each plan as tdg_plan_fn<index>, each function as tdg_fn<index>. */
void emit_c_plan_function(const Emit *e, int index, const FnPlan *plan);
void emit_c_function(Emit *e, int index, const IrFunction *f, const FnPlan *plan);
/* In a file of parts: function index's text cut where its operations pass
 * about `bytes` of C, each segment a function tdg_fn<index>_<k> (TDG_FN,
 * taking the workspace's offsets), then tdg_fn<index> calling them in order;
 * or, where it makes one segment, the function as emit_c_function writes it.
 * *texts: the segments then tdg_fn<index>; returns how many. */
int emit_c_function_segments(Emit *e, int index, const IrFunction *f, const FnPlan *plan, size_t bytes, char ***texts);
extern const char *const emit_c_prelude;
extern const char *const emit_c_plan_helper; /* tdg_plan, which the plan functions call */
/* The element functions the expressions call (integer powers and absolute
 * values that wrap, NaN-propagating max and min, the activations and
 * gelu's derivative), one text for the C prelude (Q "static inline ") and
 * the CUDA one (Q "__device__ inline "), so the two backends compute the
 * same thing. */
#define EMIT_ELEMENT_FUNCTIONS(Q) \
    "/* Integer powers wrap as the other integer operations do. */\n" \
    Q "int64_t tdg_ipow(int64_t base, int64_t exp)\n" \
    "{\n" \
    "    if (exp < 0)\n" \
    "        return base == 1 ? 1 : base == -1 ? (exp % 2 ? -1 : 1) : 0;\n" \
    "    uint64_t r = 1, x = (uint64_t)base;\n" \
    "    for (; exp; exp >>= 1, x *= x)\n" \
    "        if (exp & 1)\n" \
    "            r *= x;\n" \
    "    return (int64_t)r;\n" \
    "}\n" \
    Q "int64_t tdg_abs_i64(int64_t x) { return x < 0 ? (int64_t)(0 - (uint64_t)x) : x; }\n" \
    "/* max and min propagate NaN, as torch.maximum and torch.minimum do. */\n" \
    Q "float tdg_max_float(float a, float b) { return a != a || a > b ? a : b; }\n" \
    Q "float tdg_min_float(float a, float b) { return a != a || a < b ? a : b; }\n" \
    Q "double tdg_max_double(double a, double b) { return a != a || a > b ? a : b; }\n" \
    Q "double tdg_min_double(double a, double b) { return a != a || a < b ? a : b; }\n" \
    Q "int64_t tdg_max_int64_t(int64_t a, int64_t b) { return a > b ? a : b; }\n" \
    Q "int64_t tdg_min_int64_t(int64_t a, int64_t b) { return a < b ? a : b; }\n" \
    Q "float tdg_relu_float(float x) { return x < 0 ? 0 : x; }\n" \
    Q "double tdg_relu_double(double x) { return x < 0 ? 0 : x; }\n" \
    Q "int64_t tdg_relu_int64_t(int64_t x) { return x < 0 ? 0 : x; }\n" \
    Q "float tdg_sigmoid_float(float x) { return 1.0f / (1.0f + expf(-x)); }\n" \
    Q "double tdg_sigmoid_double(double x) { return 1.0 / (1.0 + exp(-x)); }\n" \
    Q "float tdg_silu_float(float x) { return x / (1.0f + expf(-x)); }\n" \
    Q "double tdg_silu_double(double x) { return x / (1.0 + exp(-x)); }\n" \
    "/* gelu as torch's default (approximate='none'): x * Phi(x). */\n" \
    Q "float tdg_gelu_float(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }\n" \
    Q "double tdg_gelu_double(double x) { return 0.5 * x * (1.0 + erf(x * 0.70710678118654752440)); }\n" \
    "/* d gelu / dx = Phi(x) + x phi(x) */\n" \
    Q "float tdg_gelu_grad_float(float x)\n" \
    "{\n" \
    "    return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * expf(-0.5f * x * x) * 0.39894228040143268f;\n" \
    "}\n" \
    Q "double tdg_gelu_grad_double(double x)\n" \
    "{\n" \
    "    return 0.5 * (1.0 + erf(x * 0.70710678118654752440)) + x * exp(-0.5 * x * x) * 0.39894228040143267794;\n" \
    "}\n"


/* What emit_cuda.c shares of the kernels' code. */
const char *emit_c_compute_type(Dtype t);          /* what arithmetic on t happens in: "float", "double", "int64_t" */
const char *emit_c_base_name(const Emit *e, int id); /* the memory node id reads: "b<id>" */
View emit_c_input_view(const Emit *e, const IrNode *n, int k, int *base);
const char *emit_c_load(const Emit *e, Dtype t, const char *ptr, const char *index); /* in emit_c_compute_type(t) */
const char *emit_c_store(const Emit *e, Dtype t, const char *value);
/* An expression of loads, after declaring (at depth) a local per repeated subexpression. */
const char *emit_c_expr(const Emit *e, const MapExpr *x, const char *const *inputs, int depth);
/* emit_c_store of emit_c_expr: the value x stores as dtype t, a narrow
 * float x's top operation rounds to t narrowed there once (not rounded,
 * widened and narrowed again). */
const char *emit_c_expr_stored(const Emit *e, const MapExpr *x, const char *const *inputs, int depth, Dtype t);
const char *emit_c_loc_text(const Emit *e, Loc loc); /* "model.td:3: the source line" */
const char *emit_c_where(const Emit *e, Loc loc, bool format); /* "model.td:3:9" as C string text (%% when format) */
/* Element offset of view v at loop indices i0.. (axis_of: loop of each axis; NULL: i<axis>). */
const char *emit_c_offset(const Emit *e, const char *name, const View *v, const int *axis_of);
void emit_c_declare_view(const Emit *e, int depth, const char *name, const View *v); /* <name>_off, <name>_s<k> */
/* Declares each input's view as x<k> at depth; the loads, at loop indices
 * as emit_c_offset reads them (axis_of may be NULL). */
const char **emit_c_declare_inputs(const Emit *e, const IrNode *n, int depth, const int *axis_of);
/* A REDUCE's input axes as loops: the kept axes first, then the reduced;
 * axis_of[k] is the loop of input axis k. */
typedef struct {
    int nkept, nred;
    Size *kept, *red;
    int *axis_of;
} ReduceLoops;
ReduceLoops emit_c_reduce_loops(const Emit *e, const IrNode *n);
void emit_c_indent(const Emit *e, int depth);
/* ---- the CUDA backend (emit_cuda.c, emit_cuda_host.c) ---- */
/* The gathers' error word pairs in the model's scratch: td.h's TD_SCRATCH_NERRORS. */
enum { TD_SCRATCH_NERRORS_C = 248 };
/* Every kernel of the program as one CUDA C source (an arena string), their
 * names pushed to *names in order: function i's kernels use plans[i]. Each
 * kernel's symbol in the source goes to *symbols: its own name, or that of
 * the first kernel of the same code (emit_cuda_dedupe). */
const char *emit_cuda_source(const Emit *e, FnPlan **plans, PtrVec *names, PtrVec *symbols);
/* The source with each kernel that is the same code as one before it
 * (token for token, buffers renamed in order) left out for a line naming
 * that one; symbols gets, for each of names, the kernel that runs it. */
const char *emit_cuda_dedupe(Arena *a, const char *source, const PtrVec *names, PtrVec *symbols);
/* The name of node n's kernel (of input k for a scatter, -1 otherwise) in
 * function fn_index; an output copy's is that of a node id past the last. */
const char *emit_cuda_kernel_name(const Emit *e, int fn_index, int id, int k);
/* The buffers a kernel takes after the dims, by node id: the result first. */
int *emit_cuda_kernel_buffers(const Emit *e, const IrNode *n, int *count);
/* The C that runs function `index` on the GPU (tdg_fn<index>_cuda), the
 * kernel source and names as tables, and the train wrappers' GPU halves. */
void emit_cuda_function(Emit *e, int index, const IrFunction *f, const FnPlan *plan, const PtrVec *names);
void emit_cuda_tables(const Emit *e, const char *source, const PtrVec *symbols);
/* What the GPU functions share: tdg_dims, the reductions' block size, profiling. */
void emit_cuda_host_prelude(const Emit *e);
/* tdg_train<t>_grad_cuda or _loss_cuda: train function k on the GPU. */
void emit_cuda_train_wrapper(const Emit *e, size_t t, size_t k, const IrFunction *f, bool grad);
/* Whether tdg_fn<k>_cuda_errors exists (f has a gather); whether f draws
 * random numbers (a train step that does reads the stream's position
 * from the device, TD_SCRATCH_RNG). */
bool emit_cuda_has_gathers(const IrFunction *f);
bool emit_cuda_draws_random(const IrFunction *f);
/* The row group starting at node index start of f (emit_cuda.c): its
 * members into members[], their count (0: no group, the node runs alone).
 * emit_cuda_group_buffers: the group kernel's buffers after the dims, the
 * members' results first (the group's kernel and, when it has a row cache,
 * <kernel>_cached take the same). emit_cuda_row_cache_bytes: the bytes of
 * its row cache a block, as a C expression of `reduced` (the row's length);
 * emit_cuda_group_static_bytes: the static shared memory its kernels
 * declare (the combines' arrays), which the cache must leave room for.
 * All need e->f and e->plan. */
int emit_cuda_row_group(const Emit *e, const IrFunction *f, size_t start, const IrNode **members);
int *emit_cuda_group_buffers(const Emit *e, const IrNode *const *members, int count, int *nbuf);
const char *emit_cuda_row_cache_bytes(const Emit *e, const IrNode *const *members, int count, const char *reduced);
int emit_cuda_group_static_bytes(const Emit *e, const IrNode *const *members, int count);
/* The params' narrow copies on the GPU (td_model_desc.cuda_read_dtypes).
 * A map that only casts an f32 param, or a contiguous block of one, to
 * bf16 or f16, into a buffer of its own, can read the param's copy in
 * that dtype, which the runtime keeps (the optimizer writes it with each
 * update) instead of running. emit_cuda_read_dtypes: each param's dtype on
 * the GPU over every function (plans[i] function i's plan): its own, or
 * the dtype of the first such cast of it. emit_cuda_copy_param: the param
 * whose copy node n (of e->f, e->plan) reads, the block's first element
 * at *offset; -1 when n runs (not such a cast, or of another dtype than
 * e->read_dtypes gives). */
Dtype *emit_cuda_read_dtypes(const Emit *e, FnPlan **plans);
int emit_cuda_copy_param(const Emit *e, const IrNode *n, Poly *offset);
const char *emit_c_poly(const Emit *e, Poly p); /* a polynomial of sizes as a C int64 expression */
/* A contraction A[..., s] B[s, o] into f32 (o of size 1: a matrix-vector
 * product, a model's head), whose A is a map that only widens a bf16 or
 * f16 buffer to f32, computed just before it, both read whole and in
 * order, and B an f32 vector with unit stride: the GPU runs the two as
 * one kernel, each narrow row read once, widened into the map's buffer
 * and its dot product with B summed by a warp (cuBLAS's matrix-vector
 * product would read the wide rows again). emit_cuda_head_cast: the map
 * of contraction n, or NULL; emit_cuda_head_of: the contraction of such a
 * map m, or NULL. Both need e->f and e->plan. */
const IrNode *emit_cuda_head_cast(const Emit *e, const IrNode *n);
const IrNode *emit_cuda_head_of(const Emit *e, const IrNode *m);
/* A contraction's epilogue (plan_epilogue) on the GPU: the product and
 * its map run as one td_cuda_gemm_epilogue_run at the product's turn.
 * emit_cuda_epilogue_of: the contraction whose epilogue map m is, or
 * NULL (needs e->f and e->plan). */
const IrNode *emit_cuda_epilogue_of(const Emit *e, const IrNode *m);
/* The pieces of scatters computed in their blocks (plan_piece_in_place),
 * and the products computed in their epilogue's buffer (plan_epilogue):
 * each a pointer into that buffer, declared after it. */
void emit_c_declare_placed(const Emit *e, const IrFunction *f, const FnPlan *plan);
/* Shared by the C and CUDA hosts: the td_gemm `g` of a contraction at
 * depth 2, and A's and B's addresses. */
void emit_c_gemm_desc(const Emit *e, const IrNode *n, const char **pa, const char **pb);
/* The result's copy of a function output that is a view (plan->copy_output). */
const char *emit_c_contiguous_index(const Emit *e, int rank);
const char *emit_c_bytes(const Emit *e, const IrNode *n); /* a node's bytes as a size_t expression */
bool emit_c_in_list(const int *l, int n, int x);          /* x is one of l[0..n) */

#endif

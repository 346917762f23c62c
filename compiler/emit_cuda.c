/* emit_cuda.c - CUDA C kernels from the planned IR, for NVRTC.
 *
 * One kernel per operation the C backend runs as a loop: a map or copy is a
 * grid-stride loop over its result's elements, each thread turning its
 * linear index into the loop indices the C code has and evaluating the same
 * expression (emit_c_expr, so the numbers are the C backend's: narrow floats
 * computed in f32 and rounded per operation by the same conversions, here as
 * device functions); a reduction is one block per result element, its
 * threads striding over the reduced elements and combining by warp shuffles
 * and shared memory; a scatter adds one input per kernel into memory the
 * runtime zeroes; a gather checks every index and reports the first bad one
 * through an error word; a gather's gradient is a thread a column adding
 * the rows in index order (no atomics: the CPU's sums). A reduction and the
 * maps and reductions after it over the same rows are one kernel, a row
 * group (emit_cuda_rows.c).
 * Contractions are cuBLAS calls and random numbers are drawn by the
 * runtime, so they have no kernel. Every kernel takes the dims by value
 * (tdg_dims) and its buffers, and its source names the .td line it
 * computes. `tdc --emit=cuda` prints the kernels of every function. */
#include "emit_cuda.h"

#include <stdlib.h>
#include <string.h>

#include "cuda_narrow_floats.h"
#include "emit_cuda_internal.h"

/* Device versions of what the C backend's expressions call: the element
 * types, the narrow-float conversions (bit for bit the runtime's, round to
 * nearest even), and the helpers of emit_c's prelude. */
static const char *const cuda_prelude =
    TD_CUDA_INT_TYPES
    TD_CUDA_GRID_WAIT
    "#define INT64_C(x) x##LL\n"
    "#define INT64_MIN (-9223372036854775807LL - 1)\n"
    "#define INT64_MAX 9223372036854775807LL\n"
    "#define NAN __int_as_float(0x7fc00000)\n"
    "#define INFINITY __int_as_float(0x7f800000)\n"
    "\n"
    TD_CUDA_NARROW_FLOATS
    "/* f64 -> f32 rounding to odd, so that one more rounding to a narrow float is rounding once */\n"
    "__device__ inline float tdg_f64_to_f32_odd(double x)\n"
    "{\n"
    "    float f = (float)x;\n"
    "    if (x != x || (double)f == x)\n"
    "        return f;\n"
    "    if (fabs((double)f) > fabs(x))\n"
    "        f = nextafterf(f, 0.0f);\n"
    "    return __uint_as_float(__float_as_uint(f) | 1u);\n"
    "}\n"
    "__device__ inline uint16_t td_f32_to_f16(float x) { return (uint16_t)tdg_narrow(x, 5, 10, false); }\n"
    "__device__ inline float td_f16_to_f32(uint16_t h) { return tdg_widen(h, 5, 10, false); }\n"
    "__device__ inline uint16_t td_f32_to_bf16(float x) { return (uint16_t)tdg_narrow(x, 8, 7, false); }\n"
    "__device__ inline float td_bf16_to_f32(uint16_t h) { return tdg_widen(h, 8, 7, false); }\n"
    "__device__ inline uint8_t td_f32_to_f8e4m3(float x) { return (uint8_t)tdg_narrow(x, 4, 3, true); }\n"
    "__device__ inline float td_f8e4m3_to_f32(uint8_t b) { return tdg_widen(b, 4, 3, true); }\n"
    "__device__ inline uint8_t td_f32_to_f8e5m2(float x) { return (uint8_t)tdg_narrow(x, 5, 2, false); }\n"
    "__device__ inline float td_f8e5m2_to_f32(uint8_t b) { return tdg_widen(b, 5, 2, false); }\n"
    "__device__ inline uint16_t td_f64_to_f16(double x) { return td_f32_to_f16(tdg_f64_to_f32_odd(x)); }\n"
    "__device__ inline uint16_t td_f64_to_bf16(double x) { return td_f32_to_bf16(tdg_f64_to_f32_odd(x)); }\n"
    "__device__ inline uint8_t td_f64_to_f8e4m3(double x) { return td_f32_to_f8e4m3(tdg_f64_to_f32_odd(x)); }\n"
    "__device__ inline uint8_t td_f64_to_f8e5m2(double x) { return td_f32_to_f8e5m2(tdg_f64_to_f32_odd(x)); }\n"
    "\n"
    EMIT_ELEMENT_FUNCTIONS("__device__ inline ")
    "\n"
    "/* A block's values combined in one barrier (ident pads the warps a block lacks): each warp's\n"
    " * down to its lane 0, the warps' through part (32 slots of the caller's shared memory), then\n"
    " * every warp combines those alike and takes lane 0's, so every thread gets the same bits. part\n"
    " * is read after the barrier: a caller passes another barrier before it writes part again\n"
    " * (the kernels alternate two, a row each). */\n"
    "#define TDG_BLOCK_COMBINE(name, T, ident, op)                                               \\\n"
    "    __device__ inline T name(T v, T *part)                                                  \\\n"
    "    {                                                                                       \\\n"
    "        for (int s = 16; s > 0; s >>= 1) {                                                  \\\n"
    "            T o = __shfl_down_sync(0xffffffffu, v, s);                                      \\\n"
    "            v = op;                                                                         \\\n"
    "        }                                                                                   \\\n"
    "        if ((threadIdx.x & 31) == 0)                                                        \\\n"
    "            part[threadIdx.x >> 5] = v;                                                     \\\n"
    "        __syncthreads();                                                                    \\\n"
    "        v = (threadIdx.x & 31) < (blockDim.x + 31) / 32 ? part[threadIdx.x & 31] : (ident); \\\n"
    "        for (int s = 16; s > 0; s >>= 1) {                                                  \\\n"
    "            T o = __shfl_down_sync(0xffffffffu, v, s);                                      \\\n"
    "            v = op;                                                                         \\\n"
    "        }                                                                                   \\\n"
    "        return __shfl_sync(0xffffffffu, v, 0);                                              \\\n"
    "    }\n"
    "TDG_BLOCK_COMBINE(tdg_block_sum_double, double, 0.0, v + o)\n"
    "TDG_BLOCK_COMBINE(tdg_block_prod_double, double, 1.0, v * o)\n"
    "TDG_BLOCK_COMBINE(tdg_block_max_double, double, -INFINITY, (o > v || o != o || v != v) ? (v != v ? v : o) : v)\n"
    "TDG_BLOCK_COMBINE(tdg_block_min_double, double, INFINITY, (o < v || o != o || v != v) ? (v != v ? v : o) : v)\n"
    "TDG_BLOCK_COMBINE(tdg_block_max_float, float, -INFINITY, (o > v || o != o || v != v) ? (v != v ? v : o) : v)\n"
    "TDG_BLOCK_COMBINE(tdg_block_min_float, float, INFINITY, (o < v || o != o || v != v) ? (v != v ? v : o) : v)\n"
    "TDG_BLOCK_COMBINE(tdg_block_sum_int64_t, int64_t, 0, (int64_t)((uint64_t)v + (uint64_t)o))\n"
    "TDG_BLOCK_COMBINE(tdg_block_prod_int64_t, int64_t, 1, (int64_t)((uint64_t)v * (uint64_t)o))\n"
    "TDG_BLOCK_COMBINE(tdg_block_max_int64_t, int64_t, INT64_MIN, o > v ? o : v)\n"
    "TDG_BLOCK_COMBINE(tdg_block_min_int64_t, int64_t, INT64_MAX, o < v ? o : v)\n"
    "/* Philox 4x32-10 and the draws of runtime/rng.c, an element at a time: element i of a fill\n"
    " * that starts at word `first` of seed's stream uses word w = first + per i (per 1 for f32,\n"
    " * 2 for f64), block w / 4 of the stream (counter w / 4, key seed); the same formulas in\n"
    " * double as the CPU's, so the same numbers (uniforms bit for bit; normals through log, sin\n"
    " * and cos wherever two libms round alike, nearly always after the rounding to f32). */\n"
    "__device__ inline void tdg_philox(unsigned long long seed, unsigned long long block, uint32_t out[4])\n"
    "{\n"
    "    uint32_t c0 = (uint32_t)block, c1 = (uint32_t)(block >> 32), c2 = 0, c3 = 0;\n"
    "    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);\n"
    "    for (int round = 0; round < 10; round++) {\n"
    "        if (round > 0) {\n"
    "            k0 += 0x9E3779B9u;\n"
    "            k1 += 0xBB67AE85u;\n"
    "        }\n"
    "        unsigned long long p0 = (unsigned long long)0xD2511F53u * c0, p1 = (unsigned long long)0xCD9E8D57u * c2;\n"
    "        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;\n"
    "        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;\n"
    "        c0 = n0;\n"
    "        c1 = n1;\n"
    "        c2 = n2;\n"
    "        c3 = n3;\n"
    "    }\n"
    "    out[0] = c0;\n"
    "    out[1] = c1;\n"
    "    out[2] = c2;\n"
    "    out[3] = c3;\n"
    "}\n"
    "__device__ inline double tdg_bits53(uint32_t x, uint32_t y) { return (double)((unsigned long long)x ^ ((unsigned long long)y << 21)); }\n"
    "/* U[0, 1): f32 the top 24 bits of word w; f64 53 bits of words w, w + 1 */\n"
    "__device__ inline double tdg_uniform(unsigned long long seed, unsigned long long w, bool f64)\n"
    "{\n"
    "    uint32_t b[4];\n"
    "    tdg_philox(seed, w >> 2, b);\n"
    "    if (!f64)\n"
    "        return (double)(b[w & 3] >> 8) * 0x1p-24;\n"
    "    uint32_t y;\n"
    "    if ((w & 3) == 3) { /* w + 1 starts the next block */\n"
    "        uint32_t next[4];\n"
    "        tdg_philox(seed, (w + 1) >> 2, next);\n"
    "        y = next[0];\n"
    "    } else {\n"
    "        y = b[(w & 3) + 1];\n"
    "    }\n"
    "    return tdg_bits53(b[w & 3], y) * 0x1p-53;\n"
    "}\n"
    "/* N(0, 1) by Box-Muller: f32 on the pair of w's block that holds w, f64 on its quad; the\n"
    " * sine half for a pair's (quad's) first half */\n"
    "__device__ inline double tdg_normal(unsigned long long seed, unsigned long long w, bool f64)\n"
    "{\n"
    "    uint32_t b[4];\n"
    "    tdg_philox(seed, w >> 2, b);\n"
    "    double u, theta;\n"
    "    bool second;\n"
    "    if (!f64) {\n"
    "        u = (double)b[w & 2] * 0x1p-32 + 0x1p-33;\n"
    "        theta = ((double)b[(w & 2) + 1] + 0.5) * (0x1.921fb54442d18p+2 * 0x1p-32);\n"
    "        second = w & 1;\n"
    "    } else {\n"
    "        u = tdg_bits53(b[0], b[1]) * 0x1p-53 + 0x1p-54;\n"
    "        theta = (tdg_bits53(b[2], b[3]) * 0x1p-52 + 0x1p-53) * 0x1.921fb54442d18p+1;\n"
    "        second = w & 2;\n"
    "    }\n"
    "    double s = sqrt(-2.0 * log(u));\n"
    "    return second ? s * cos(theta) : s * sin(theta);\n"
    "}\n"
    "\n";

/* Where a reduction's accumulator starts. */
const char *emit_cuda_identity(ReduceKind k, bool fl)
{
    switch (k) {
    case RED_SUM: case RED_MEAN: return "0";
    case RED_PROD: return "1";
    case RED_MAX: return fl ? "-INFINITY" : "INT64_MIN";
    default: return fl ? "INFINITY" : "INT64_MAX";
    }
}

/* The accumulator's type: int64_t for integers; for floats double, except
 * a max or min of values computed in float (f32 and the narrow floats),
 * which is one of the values whatever the precision: float, so that a row
 * of f32 is not widened element by element. */
const char *emit_cuda_acc_type(ReduceKind k, Dtype in_t, bool fl)
{
    if (!fl)
        return "int64_t";
    if ((k == RED_MAX || k == RED_MIN) && dtype_is_float(in_t) && strcmp(emit_c_compute_type(in_t), "float") == 0)
        return "float";
    return "double";
}

ReduceTypes emit_cuda_reduce_types(const Emit *e, const IrNode *n)
{
    int base = n->ninputs ? n->inputs[0] : -1;
    if (!n->expr)
        emit_c_input_view(e, n, 0, &base);
    ReduceTypes t = {n->expr ? n->expr->dtype : ir_get(e->f, base)->type.dtype, n->type.dtype, false, NULL};
    t.fl = dtype_is_float(t.in) || dtype_is_float(t.out);
    t.acc = emit_cuda_acc_type(n->reduce, t.in, t.fl);
    return t;
}

void emit_cuda_declare_dims(const Emit *e, int depth)
{
    for (size_t i = 0; i < e->p->dim_names.len; i++) {
        emit_c_indent(e, depth);
        fprintf(e->out, "const int64_t dim_%s = D.d[%zu];\n", (const char *)e->p->dim_names.items[i], i);
        emit_c_indent(e, depth);
        fprintf(e->out, "(void)dim_%s;\n", (const char *)e->p->dim_names.items[i]);
    }
}

const char *emit_cuda_kernel_name(const Emit *e, int fn_index, int id, int k)
{
    if (k >= 0)
        return arena_printf(e->a, "tdg_k%d_%d_%d", fn_index, id, k);
    return arena_printf(e->a, "tdg_k%d_%d", fn_index, id);
}

/* The kernel's buffers, in the order of its parameters after the dims: the
 * result, then each buffer read (once); the launch passes the same. */
int *emit_cuda_kernel_buffers(const Emit *e, const IrNode *n, int *count)
{
    int *ids = arena_array(e->a, (size_t)n->ninputs + 2, sizeof(int)), len = 0;
    ids[len++] = n->id;
    for (int k = 0; k < n->ninputs; k++) {
        int base;
        emit_c_input_view(e, n, k, &base);
        bool dup = false;
        for (int j = 0; j < len && !dup; j++)
            dup = ids[j] == base;
        if (!dup)
            ids[len++] = base;
    }
    *count = len;
    return ids;
}

/* The parameter list: the dims, the result, then each buffer read (once). */
/* How the host launches each kind of kernel (emit_cuda_host.c), for its comment. */
static const char *const GRID_STRIDE = "launch: td_cuda_blocks(elements, 256) blocks of 256 threads, grid-stride";
static const char *const BLOCK_A_ROW = "launch: a block a kept element (td_cuda_blocks(kept, 1), grid-stride), 32 to 256 threads over the reduced ones";
static const char *const THREAD_A_COLUMN = "launch: a thread a column of the table, td_cuda_blocks(columns, 256) blocks of 256";

static void kernel_head(const Emit *e, const IrNode *n, int k, bool error_word, const char *launch)
{
    const char *name = emit_cuda_kernel_name(e, e->fn_index, n->id, k);
    if (e->kernel_names)
        ptrvec_push(e->a, e->kernel_names, (void *)name);
    fprintf(e->out, "/* %%%d %s: %s\n * %s */\nextern \"C\" __global__ void %s(tdg_dims D, %s *__restrict__ b%d",
            n->id, ir_op_name(n->op), emit_c_loc_text(e, n->loc), launch, name, emit_c_ctype(n->type.dtype), n->id);
    int nbuf, *buf = emit_cuda_kernel_buffers(e, n, &nbuf);
    for (int j = 1; j < nbuf; j++)
        fprintf(e->out, ", const %s *__restrict__ b%d", emit_c_ctype(ir_get(e->f, buf[j])->type.dtype), buf[j]);
    if (error_word)
        fputs(", int64_t *__restrict__ error", e->out);
    fputs(")\n{\n    TD_GRID_WAIT();\n", e->out);
    emit_cuda_declare_dims(e, 1);
}

/* Splits linear index `lin` into loop indices i<first>..i<first+rank-1> over extents n<..>. */
void emit_cuda_split_index(const Emit *e, int depth, const char *lin, int first, int rank)
{
    if (rank == 0)
        return;
    emit_c_indent(e, depth);
    fprintf(e->out, "int64_t rest_%d = %s;\n", first, lin);
    for (int k = rank - 1; k >= 0; k--) {
        emit_c_indent(e, depth);
        if (k == 0)
            fprintf(e->out, "const int64_t i%d = rest_%d;\n", first, first);
        else
            fprintf(e->out, "const int64_t i%d = rest_%d %% n%d;\n", first + k, first, first + k);
        emit_c_indent(e, depth);
        fprintf(e->out, "(void)i%d;\n", first + k);
        if (k > 0) {
            emit_c_indent(e, depth);
            fprintf(e->out, "rest_%d /= n%d;\n", first, first + k);
        }
    }
}

void emit_cuda_declare_extents(const Emit *e, int depth, int rank, const Size *dims, int first, const char *total)
{
    emit_c_indent(e, depth);
    fprintf(e->out, "const int64_t %s = 1", total);
    for (int k = 0; k < rank; k++)
        fprintf(e->out, " * (int64_t)%s", emit_c_size(e, dims[k]));
    fputs(";\n", e->out);
    for (int k = 0; k < rank; k++) {
        emit_c_indent(e, depth);
        fprintf(e->out, "const int64_t n%d = %s;\n", first + k, emit_c_size(e, dims[k]));
        emit_c_indent(e, depth);
        fprintf(e->out, "(void)n%d;\n", first + k);
    }
}

/* Whether view v reads the elements of a row-major array of `dims` in
 * order: element i of the loop is element i of the memory. */
bool emit_cuda_row_major(const Emit *e, const View *v, int rank, const Size *dims)
{
    if (v->rank != rank || !poly_is_zero(v->offset))
        return false;
    Size stride = size_const(1);
    for (int k = rank - 1; k >= 0; k--) {
        int64_t one;
        if (!size_eq(v->dims[k], dims[k]))
            return false;
        if (!(size_is_const(dims[k], &one) && one == 1) && !poly_eq(v->strides[k], poly_of(e->a, stride)))
            return false;
        if (size_mul(stride, dims[k], e->p->names, &stride) != SIZE_OK)
            return false;
    }
    return true;
}

/* Whether an expression reads a loop index (iota-like MX_INDEX). */
bool emit_cuda_reads_index(const MapExpr *x)
{
    if (!x)
        return false;
    if (x->kind == MX_INDEX)
        return true;
    for (int k = 0; k < x->nargs; k++)
        if (emit_cuda_reads_index(x->args[k]))
            return true;
    return false;
}

/* A union of a vector of `bytes` bytes (16, 8, 4, 2 or 1) and its elements. */
const char *emit_cuda_vector_type(int bytes)
{
    switch (bytes) {
    case 16: return "uint4";
    case 8: return "uint2";
    case 4: return "unsigned int";
    case 2: return "unsigned short";
    default: return "unsigned char";
    }
}

int emit_cuda_element_bytes(Dtype t)
{
    return dtype_bits(t) / 8;
}

/* A map W elements a thread at a time (16 bytes of the widest array): the
 * result stored as one vector of W elements, and each input that is laid
 * out as the result (row-major, from any offset) loaded as one; the other
 * inputs (broadcast, transposed, strided) are read element by element at
 * each element's index. Where the count is a multiple of W and the result
 * and every vector input are aligned to their vectors; the caller's scalar
 * loop does the rest. `loads` are the scalar loop's reads, `views` the
 * inputs' views (an offset declared as x<k>_off). Returns true where the
 * sizes and the plan make that so whatever the dims: then the vectors are
 * the whole kernel, and the caller writes no scalar loop. */
static bool map_vectors(const Emit *e, const IrNode *n, const MapExpr *expr, const int *bases, const View *views,
                        const char **scalar_loads)
{
    if (n->type.rank == 0)
        return false;
    bool *vec = arena_array(e->a, (size_t)n->ninputs + 1, sizeof(bool));
    const char **at = arena_array(e->a, (size_t)n->ninputs + 1, sizeof(char *));
    bool split = emit_cuda_reads_index(expr);
    int widest = emit_cuda_element_bytes(n->type.dtype);
    for (int k = 0; k < n->ninputs; k++) {
        View from0 = views[k];
        from0.offset = poly_zero();
        vec[k] = emit_cuda_row_major(e, &from0, n->type.rank, n->type.dims);
        split |= !vec[k];
        at[k] = poly_is_zero(views[k].offset) ? emit_c_base_name(e, bases[k])
                                               : arena_printf(e->a, "(%s + x%d_off)", emit_c_base_name(e, bases[k]), k);
        if (vec[k] && emit_cuda_element_bytes(ir_get(e->f, bases[k])->type.dtype) > widest)
            widest = emit_cuda_element_bytes(ir_get(e->f, bases[k])->type.dtype);
    }
    int w = 16 / widest;
    if (w < 2)
        return false;
    int r = n->type.rank;
    Size count;
    bool always = size_product(n->type.dims, r, e->p->names, &count) == SIZE_OK && size_is_surely_multiple(count, w) && (!split || size_is_surely_multiple(n->type.dims[r - 1], w)) &&
             emit_cuda_aligned(e, n->id, w * emit_cuda_element_bytes(n->type.dtype));
    for (int k = 0; k < n->ninputs && always; k++)
        if (vec[k])
            always = emit_cuda_view_aligned(e, bases[k], views[k].offset, w * emit_cuda_element_bytes(ir_get(e->f, bases[k])->type.dtype));
    fprintf(e->out, "    /* %d elements a thread at a time: the result%s moved as vectors, %s%s */\n", w,
            split ? ", and each input laid out as it," : " and every input",
            always ? "always (the sizes are multiples of them; the plan aligns each array)" : "when aligned to them",
            split && !always ? ", and a row's length a multiple of them" : "");
    /* the loop at depth d: inside the test, or, always, the kernel's body */
    const int d = always ? 1 : 2;
    if (!always) {
        fprintf(e->out, "    if (total %% %d == 0 && (unsigned long long)b%d %% %d == 0", w, n->id, w * emit_cuda_element_bytes(n->type.dtype));
        if (split)
            fprintf(e->out, " && n%d %% %d == 0", r - 1, w);
        for (int k = 0; k < n->ninputs; k++)
            if (vec[k])
                fprintf(e->out, " && (unsigned long long)%s %% %d == 0", at[k],
                        w * emit_cuda_element_bytes(ir_get(e->f, bases[k])->type.dtype));
        fputs(") {\n", e->out);
    }
    emit_c_indent(e, d);
    fprintf(e->out, "for (int64_t vec = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; vec < total / %d; vec += (int64_t)gridDim.x * blockDim.x) {\n",
            w);
    const char **loads = arena_array(e->a, (size_t)n->ninputs + 1, sizeof(char *));
    for (int k = -1; k < n->ninputs; k++) {
        if (k >= 0 && !vec[k]) {
            loads[k] = scalar_loads[k];
            continue;
        }
        int id = k < 0 ? n->id : bases[k];
        Dtype t = k < 0 ? n->type.dtype : ir_get(e->f, id)->type.dtype;
        const char *vt = emit_cuda_vector_type(w * emit_cuda_element_bytes(t));
        emit_c_indent(e, d + 1);
        fprintf(e->out, "union { %s v; %s e[%d]; } %c%d;\n", vt, emit_c_ctype(t), w, k < 0 ? 'y' : 'a', k < 0 ? 0 : k);
        if (k >= 0) {
            emit_c_indent(e, d + 1);
            fprintf(e->out, "a%d.v = ((const %s *)%s)[vec];\n", k, vt, at[k]);
            loads[k] = emit_c_load(e, t, arena_printf(e->a, "a%d.e", k), "j");
        }
    }
    if (split) { /* the first element's index, into i<r>..., once: the others are along its row */
        emit_c_indent(e, d + 1);
        fprintf(e->out, "int64_t rest_v = vec * %d;\n", w);
        for (int k = r - 1; k >= 0; k--) {
            emit_c_indent(e, d + 1);
            if (k > 0) {
                fprintf(e->out, "const int64_t i%d = rest_v %% n%d;\n", r + k, k);
                emit_c_indent(e, d + 1);
                fprintf(e->out, "rest_v /= n%d;\n", k);
            } else {
                fprintf(e->out, "const int64_t i%d = rest_v;\n", r);
            }
        }
    }
    emit_c_indent(e, d + 1);
    fputs("#pragma unroll\n", e->out);
    emit_c_indent(e, d + 1);
    fprintf(e->out, "for (int j = 0; j < %d; j++) {\n", w);
    for (int k = 0; split && k < r; k++) { /* the element's index, for the inputs read element by element */
        emit_c_indent(e, d + 2);
        fprintf(e->out, "const int64_t i%d = i%d%s;\n", k, r + k, k == r - 1 ? " + j" : "");
        emit_c_indent(e, d + 2);
        fprintf(e->out, "(void)i%d;\n", k);
    }
    const char *value = emit_c_expr_stored(e, expr, loads, d + 2, n->type.dtype);
    emit_c_indent(e, d + 2);
    fprintf(e->out, "y0.e[j] = %s;\n", value);
    emit_c_indent(e, d + 1);
    fputs("}\n", e->out);
    emit_c_indent(e, d + 1);
    fprintf(e->out, "((%s *)b%d)[vec] = y0.v;\n", emit_cuda_vector_type(w * emit_cuda_element_bytes(n->type.dtype)), n->id);
    emit_c_indent(e, d);
    fputs("}\n", e->out);
    if (!always)
        fputs("        return;\n    }\n", e->out);
    return always;
}

/* A head (emit_cuda_head_cast): the map m that widens the narrow buffer
 * h to f32 and the contraction n of m with the vector b, in one kernel, a
 * warp a row: each lane widens 8 elements at a time (16 bytes of h, 32
 * of m) where k and the addresses allow, else one, stores them in m and
 * adds their products with b to its sum (fmaf), and the warp's sums meet
 * by shuffles in a fixed order. */
static void kernel_head_product(const Emit *e, const IrNode *n, const IrNode *m)
{
    int hb, bb;
    emit_c_input_view(e, m, 0, &hb);
    View bv = emit_c_input_view(e, n, 1, &bb);
    const char *name = emit_cuda_kernel_name(e, e->fn_index, n->id, -1), *narrow = emit_c_narrow_name(ir_get(e->f, hb)->type.dtype);
    if (e->kernel_names)
        ptrvec_push(e->a, e->kernel_names, (void *)name);
    int r = m->type.rank;
    fprintf(e->out, "/* %%%d contract: %s\n * with %%%d map: each row of b%d widened into b%d, its dot product with b%d into b%d;\n"
                    " * a warp a row, grid-stride */\n"
                    "extern \"C\" __global__ void %s(tdg_dims D, float *__restrict__ b%d, float *__restrict__ b%d, "
                    "const uint16_t *__restrict__ b%d, const float *__restrict__ b%d)\n{\n    TD_GRID_WAIT();\n",
            n->id, emit_c_loc_text(e, n->loc), m->id, hb, m->id, bb, n->id, name, n->id, m->id, hb, bb);
    emit_cuda_declare_dims(e, 1);
    const char *rows = "(int64_t)1";
    for (int q = 0; q < r - 1; q++)
        rows = arena_printf(e->a, "%s * (int64_t)%s", rows, emit_c_size(e, m->type.dims[q]));
    fprintf(e->out, "    const int64_t rows = %s, k = %s;\n", rows, emit_c_size(e, m->type.dims[r - 1]));
    fprintf(e->out, "    const float *vec = b%d + %s;\n", bb, emit_c_poly(e, bv.offset));
    fprintf(e->out,
            "    const int lane = threadIdx.x & 31;\n"
            "    const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;\n"
            "    const bool vectors = k %% 8 == 0 && (unsigned long long)b%d %% 16 == 0 && (unsigned long long)b%d %% 16 == 0 &&\n"
            "                         (unsigned long long)vec %% 16 == 0;\n"
            "    for (int64_t row = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; row < rows; row += warps) {\n"
            "        const uint16_t *in = b%d + row * k;\n"
            "        float *wide = b%d + row * k;\n"
            "        float acc = 0.0f;\n"
            "        if (vectors) {\n"
            "            for (int64_t j = (int64_t)lane * 8; j < k; j += 256) {\n"
            "                union { uint4 v; uint16_t e[8]; } a;\n"
            "                union { uint4 v[2]; float e[8]; } w, x;\n"
            "                a.v = *(const uint4 *)(in + j);\n"
            "                x.v[0] = *(const uint4 *)(vec + j);\n"
            "                x.v[1] = *(const uint4 *)(vec + j + 4);\n"
            "                #pragma unroll\n"
            "                for (int t = 0; t < 8; t++) {\n"
            "                    w.e[t] = td_%s_to_f32(a.e[t]);\n"
            "                    acc = __fmaf_rn(w.e[t], x.e[t], acc);\n"
            "                }\n"
            "                *(uint4 *)(wide + j) = w.v[0];\n"
            "                *(uint4 *)(wide + j + 4) = w.v[1];\n"
            "            }\n"
            "        } else {\n"
            "            for (int64_t j = lane; j < k; j += 32) {\n"
            "                const float w = td_%s_to_f32(in[j]);\n"
            "                wide[j] = w;\n"
            "                acc = __fmaf_rn(w, vec[j], acc);\n"
            "            }\n"
            "        }\n"
            "        for (int off = 16; off > 0; off >>= 1)\n"
            "            acc += __shfl_down_sync(0xffffffffu, acc, off);\n"
            "        if (lane == 0)\n"
            "            b%d[row] = acc;\n"
            "    }\n}\n\n",
            hb, m->id, hb, m->id, narrow, narrow, n->id);
}

static void kernel_map(const Emit *e, const IrNode *n, const MapExpr *expr)
{
    kernel_head(e, n, -1, false, GRID_STRIDE);
    /* an input laid out as the result is read at the linear index: with
     * no other, the kernel does no index arithmetic */
    const char **loads = arena_array(e->a, (size_t)n->ninputs + 1, sizeof(char *));
    int *bases = arena_array(e->a, (size_t)n->ninputs + 1, sizeof(int));
    View *views = arena_array(e->a, (size_t)n->ninputs + 1, sizeof(View));
    bool all_linear = !emit_cuda_reads_index(expr);
    for (int k = 0; k < n->ninputs; k++) {
        View v = emit_c_input_view(e, n, k, &bases[k]);
        views[k] = v;
        Dtype t = ir_get(e->f, bases[k])->type.dtype;
        if (emit_cuda_row_major(e, &v, n->type.rank, n->type.dims)) {
            loads[k] = emit_c_load(e, t, emit_c_base_name(e, bases[k]), "lin");
            continue;
        }
        all_linear = false;
        const char *name = arena_printf(e->a, "x%d", k);
        emit_c_declare_view(e, 1, name, &v);
        loads[k] = emit_c_load(e, t, emit_c_base_name(e, bases[k]), emit_c_offset(e, name, &v, NULL));
    }
    emit_cuda_declare_extents(e, 1, n->type.rank, n->type.dims, 0, "total");
    if (map_vectors(e, n, expr, bases, views, loads)) {
        fputs("}\n\n", e->out);
        return;
    }
    fputs("    for (int64_t lin = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; lin < total; lin += (int64_t)gridDim.x * blockDim.x) {\n",
          e->out);
    if (!all_linear)
        emit_cuda_split_index(e, 2, "lin", 0, n->type.rank);
    const char *value = emit_c_expr_stored(e, expr, loads, 2, n->type.dtype);
    fprintf(e->out, "        b%d[lin] = %s;\n    }\n}\n\n", n->id, value);
}

/* One element x into the accumulator acc, at depth: the reduction's
 * operation in double (floats, NaN propagating) or wrapping int64. */
void emit_cuda_accumulate(const Emit *e, ReduceKind kind, bool fl, int depth)
{
    const char *line;
    switch (kind) {
    case RED_SUM: case RED_MEAN: line = fl ? "acc += x;" : "acc = (int64_t)((uint64_t)acc + (uint64_t)x);"; break;
    case RED_PROD: line = fl ? "acc *= x;" : "acc = (int64_t)((uint64_t)acc * (uint64_t)x);"; break;
    case RED_MAX: line = fl ? "acc = (x > acc || x != x || acc != acc) ? (acc != acc ? acc : x) : acc;" : "acc = x > acc ? x : acc;"; break;
    default: line = fl ? "acc = (x < acc || x != x || acc != acc) ? (acc != acc ? acc : x) : acc;" : "acc = x < acc ? x : acc;"; break;
    }
    emit_c_indent(e, depth);
    fprintf(e->out, "%s\n", line);
}

/* The block's accumulators combined through the shared array `part`,
 * and the result (a mean divided, rounded to the result's dtype) as
 * `to` = ...; at depth. */
void emit_cuda_reduce_result(const Emit *e, const IrNode *n, bool fl, const char *acc_t, const char *part, const char *to,
                             int depth)
{
    static const char *const kinds[] = {"sum", "sum", "max", "min", "prod"};
    Dtype out_t = n->type.dtype;
    emit_c_indent(e, depth);
    fprintf(e->out, "acc = tdg_block_%s_%s(acc, %s);\n", kinds[n->reduce], acc_t, part);
    const char *result = n->reduce == RED_MEAN ? "acc / (double)reduced_total" : "acc";
    emit_c_indent(e, depth);
    if (dtype_is_narrow(out_t) && fl)
        fprintf(e->out, "%s = td_f64_to_%s(%s);\n", to, emit_c_narrow_name(out_t), result);
    else
        fprintf(e->out, "%s = %s;\n", to, emit_c_store(e, out_t, arena_printf(e->a, "(%s)(%s)", emit_c_compute_type(out_t), result)));
}

static void kernel_reduce(const Emit *e, const IrNode *n)
{
    ReduceLoops loops = emit_c_reduce_loops(e, n);
    int nkept = loops.nkept, nred = loops.nred;
    kernel_head(e, n, -1, false, BLOCK_A_ROW);
    /* kept axes before reduced ones, and every input laid out so: element
     * (o, r) is at o * reduced_total + r, with no index arithmetic */
    bool in_order = !emit_cuda_reads_index(n->expr);
    for (int k = 0; k < n->input_rank; k++)
        in_order = in_order && loops.axis_of[k] == k;
    const char **loads = arena_array(e->a, (size_t)n->ninputs + 1, sizeof(char *));
    bool linear = in_order;
    for (int k = 0; k < n->ninputs && linear; k++) {
        int b;
        View v = emit_c_input_view(e, n, k, &b);
        linear = emit_cuda_row_major(e, &v, n->input_rank, n->input_dims);
    }
    for (int k = 0; k < n->ninputs; k++) {
        int b;
        View v = emit_c_input_view(e, n, k, &b);
        Dtype t = ir_get(e->f, b)->type.dtype;
        if (linear) {
            loads[k] = emit_c_load(e, t, emit_c_base_name(e, b), "o * reduced_total + r");
            continue;
        }
        const char *name = arena_printf(e->a, "x%d", k);
        emit_c_declare_view(e, 1, name, &v);
        loads[k] = emit_c_load(e, t, emit_c_base_name(e, b), emit_c_offset(e, name, &v, loops.axis_of));
    }
    ReduceTypes rt = emit_cuda_reduce_types(e, n);
    Dtype out_t = rt.out;
    bool fl = rt.fl;
    const char *acc_t = rt.acc;
    emit_cuda_declare_extents(e, 1, nkept, loops.kept, 0, "kept_total");
    emit_cuda_declare_extents(e, 1, nred, loops.red, nkept, "reduced_total");
    Emit in_loop = *e;
    in_loop.loop_of_axis = loops.axis_of;
    fprintf(e->out, "    __shared__ %s part[2][32]; /* the block's combine, a row each in turn */\n"
                    "    int turn = 0;\n"
                    "    for (int64_t o = blockIdx.x; o < kept_total; o += gridDim.x, turn ^= 1) {\n",
            acc_t);
    if (!linear)
        emit_cuda_split_index(e, 2, "o", 0, nkept);
    fprintf(e->out, "        %s acc = %s;\n", acc_t, emit_cuda_identity(n->reduce, fl));
    fputs("        for (int64_t r = threadIdx.x; r < reduced_total; r += blockDim.x) {\n", e->out);
    if (!linear)
        emit_cuda_split_index(e, 3, "r", nkept, nred);
    const char *x = n->expr ? emit_c_expr(&in_loop, n->expr, loads, 3) : loads[0];
    fprintf(e->out, "            const %s x = (%s)%s;\n", acc_t, acc_t, x);
    emit_cuda_accumulate(e, n->reduce, fl, 3);
    fputs("        }\n", e->out);
    emit_cuda_reduce_result(e, n, fl, acc_t, "part[turn]", arena_printf(e->a, "const %s result", emit_c_ctype(out_t)), 2);
    fprintf(e->out, "        if (threadIdx.x == 0)\n            b%d[o] = result;\n    }\n}\n\n", n->id);
}

/* Random numbers: element i from word first + per i of seed's stream; in a
 * train step the stream's seed and position come from rng (the device's
 * copy, written before the step: a graph replays with each step's), first
 * being the words drawn before it in the step; elsewhere rng is NULL and
 * seed and first are the model's. */
static void kernel_random(const Emit *e, const IrNode *n)
{
    const char *name = emit_cuda_kernel_name(e, e->fn_index, n->id, -1);
    if (e->kernel_names)
        ptrvec_push(e->a, e->kernel_names, (void *)name);
    bool f64 = n->type.dtype == DT_F64;
    fprintf(e->out, "/* %%%d random: %s\n * %s */\nextern \"C\" __global__ void %s(tdg_dims D, %s *__restrict__ b%d, "
                    "const unsigned long long *__restrict__ rng, unsigned long long seed, unsigned long long first)\n{\n"
                    "    TD_GRID_WAIT();\n",
            n->id, emit_c_loc_text(e, n->loc), GRID_STRIDE, name, emit_c_ctype(n->type.dtype), n->id);
    emit_cuda_declare_dims(e, 1);
    emit_cuda_declare_extents(e, 1, n->type.rank, n->type.dims, 0, "total");
    fputs("    if (rng) {\n        seed = rng[0];\n        first += rng[1];\n    }\n"
          "    for (int64_t lin = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; lin < total; lin += (int64_t)gridDim.x * blockDim.x)\n",
          e->out);
    fprintf(e->out, "        b%d[lin] = (%s)tdg_%s(seed, first + %dull * (unsigned long long)lin, %s);\n}\n\n", n->id,
            emit_c_ctype(n->type.dtype), n->index ? "uniform" : "normal", f64 ? 2 : 1, f64 ? "true" : "false");
}

/* A scatter: one kernel per input, each adding at its view's places (one to one) into zeros. */
static void kernel_scatter(const Emit *e, const IrNode *n)
{
    bool tiles = ir_scatter_tiles(e->a, n, e->p->names); /* stored, not added: the host zeroes nothing */
    for (int k = 0; k < n->ninputs; k++) {
        if (e->plan->placed_in[n->inputs[k]] == n->id)
            continue; /* computed in its block: nothing to copy */
        IrNode one = *n; /* the kernel reads input k only */
        one.ninputs = 1;
        one.inputs = &n->inputs[k];
        one.has_input_view = n->has_input_view ? &n->has_input_view[k] : NULL;
        one.input_views = n->input_views ? &n->input_views[k] : NULL;
        const View *to = n->scatter_views ? &n->scatter_views[k] : &n->view;
        kernel_head(e, &one, k, false, GRID_STRIDE);
        const char **loads = emit_c_declare_inputs(e, &one, 1, NULL);
        emit_c_declare_view(e, 1, "o", to);
        emit_cuda_declare_extents(e, 1, to->rank, to->dims, 0, "total");
        fputs("    for (int64_t lin = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; lin < total; lin += (int64_t)gridDim.x * blockDim.x) {\n",
              e->out);
        emit_cuda_split_index(e, 2, "lin", 0, to->rank);
        const char *at = emit_c_offset(e, "o", to, NULL);
        Dtype t = n->type.dtype;
        const char *value = tiles ? loads[0] : arena_printf(e->a, "%s + %s", emit_c_load(e, t, arena_printf(e->a, "b%d", n->id), at), loads[0]);
        fprintf(e->out, "        b%d[%s] = %s;\n    }\n}\n\n", n->id, at, emit_c_store(e, t, value));
    }
}

/* A gather: out[idx..., rest...] = table[idx[idx...], rest...]. A bad
 * index is reported through two words: the first thread to find one sets
 * error[0] and writes the index to error[1] (the host reads them after the
 * function). */
static void kernel_gather(const Emit *e, const IrNode *n)
{
    kernel_head(e, n, -1, true, GRID_STRIDE);
    int bt, bi;
    View vt = emit_c_input_view(e, n, 0, &bt), vi = emit_c_input_view(e, n, 1, &bi);
    emit_c_declare_view(e, 1, "t", &vt);
    emit_c_declare_view(e, 1, "x", &vi);
    int ri = vi.rank;
    fprintf(e->out, "    const int64_t rows = %s;\n", emit_c_size(e, vt.dims[0]));
    /* the loop space: the result's (indices, then the table's other axes) */
    emit_cuda_declare_extents(e, 1, n->type.rank, n->type.dims, 0, "total");
    fputs("    for (int64_t lin = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; lin < total; lin += (int64_t)gridDim.x * blockDim.x) {\n",
          e->out);
    emit_cuda_split_index(e, 2, "lin", 0, n->type.rank);
    fprintf(e->out, "        int64_t row = (int64_t)%s[%s];\n", emit_c_base_name(e, bi), emit_c_offset(e, "x", &vi, NULL));
    fputs("        if (row < -rows || row >= rows) {\n"
          "            if (atomicCAS((unsigned long long *)error, 0ull, 1ull) == 0ull)\n"
          "                error[1] = row;\n"
          "            continue;\n"
          "        }\n"
          "        if (row < 0)\n            row += rows;\n", e->out);
    const char *src = poly_is_zero(vt.strides[0]) ? "0" : "row * t_s0";
    for (int k = 1; k < vt.rank; k++)
        if (!poly_is_zero(vt.strides[k]))
            src = arena_printf(e->a, "%s + i%d * t_s%d", src, ri + k - 1, k);
    if (!poly_is_zero(vt.offset))
        src = arena_printf(e->a, "t_off + %s", src);
    fprintf(e->out, "        b%d[lin] = %s[%s];\n    }\n}\n\n", n->id, emit_c_base_name(e, bt), src);
}

/* A gather's gradient: zeros of the table's shape, row idx[p] getting row p
 * of the adjoint added. A thread owns a column of the table and adds the
 * rows in index order, as the C backend's loop does, so the sums are its
 * bit for bit and the same on every run (no atomics). */
static void kernel_gather_grad(const Emit *e, const IrNode *n)
{
    kernel_head(e, n, -1, false, THREAD_A_COLUMN);
    int bg, bi;
    View vg = emit_c_input_view(e, n, 0, &bg), vi = emit_c_input_view(e, n, 1, &bi);
    emit_c_declare_view(e, 1, "g", &vg);
    emit_c_declare_view(e, 1, "x", &vi);
    int ri = vi.rank, rt = n->type.rank;
    Dtype t = n->type.dtype;
    fprintf(e->out, "    const int64_t rows = %s;\n", emit_c_size(e, n->type.dims[0]));
    emit_cuda_declare_extents(e, 1, rt - 1, n->type.dims + 1, ri, "columns");
    emit_cuda_declare_extents(e, 1, ri, vi.dims, 0, "positions");
    fputs("    for (int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; c < columns; c += (int64_t)gridDim.x * blockDim.x) {\n",
          e->out);
    emit_cuda_split_index(e, 2, "c", ri, rt - 1);
    fputs("        for (int64_t p = 0; p < positions; p++) {\n", e->out);
    emit_cuda_split_index(e, 3, "p", 0, ri);
    fprintf(e->out, "            int64_t row = (int64_t)%s[%s];\n", emit_c_base_name(e, bi), emit_c_offset(e, "x", &vi, NULL));
    fputs("            if (row < 0)\n                row += rows; /* checked in the forward gather */\n", e->out);
    const char *dst = "row * columns + c";
    fprintf(e->out, "            b%d[%s] = %s;\n        }\n    }\n}\n\n", n->id, dst,
            emit_c_store(e, t, arena_printf(e->a, "%s + %s", emit_c_load(e, t, arena_printf(e->a, "b%d", n->id), dst),
                                             emit_c_load(e, ir_get(e->f, bg)->type.dtype, emit_c_base_name(e, bg),
                                                         emit_c_offset(e, "g", &vg, NULL)))));
}

/* A result that is a view of a buffer, copied out contiguously: a COPY
 * node of its own (an id past the function's last) reading the view. */
static void kernel_output_copy(Emit *e, const IrFunction *f, int i)
{
    IrNode *copy = arena_alloc(e->a, sizeof *copy);
    const IrNode *src = ir_get(f, f->outputs[i]);
    copy->op = IR_COPY;
    copy->id = (int)f->nodes.len + i;
    copy->type = src->type;
    copy->loc = src->loc;
    copy->ninputs = 1;
    copy->inputs = &f->outputs[i];
    kernel_map(e, copy, mx_input(e->a, 0, src->type.dtype));
}

static void emit_kernels(Emit *e, const IrFunction *f, const FnPlan *plan)
{
    e->f = f;
    e->plan = plan;
    int op = 0, grouped = 0;
    const IrNode **members = arena_array(e->a, f->nodes.len + 1, sizeof(IrNode *));
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        if (!plan_has_buffer(n))
            continue;
        e->op = op++;
        if (grouped > 0) { /* in the row group's kernel */
            grouped--;
            continue;
        }
        Poly offset;
        if (emit_cuda_copy_param(e, n, &offset) >= 0 || emit_cuda_head_of(e, n) || emit_cuda_epilogue_of(e, n))
            /* a copy, or in a product's kernel or call */
            continue;
        int count = emit_cuda_row_group(e, f, i, members);
        if (count > 0) {
            emit_cuda_kernel_row_group(e, members, count);
            grouped = count - 1;
            continue;
        }
        switch (n->op) {
        case IR_MAP: kernel_map(e, n, n->expr); break;
        case IR_COPY: kernel_map(e, n, mx_input(e->a, 0, ir_get(f, n->inputs[0])->type.dtype)); break;
        case IR_REDUCE: kernel_reduce(e, n); break;
        case IR_SCATTER: kernel_scatter(e, n); break;
        case IR_GATHER: kernel_gather(e, n); break;
        case IR_GATHER_GRAD: kernel_gather_grad(e, n); break;
        case IR_RANDOM: kernel_random(e, n); break;
        case IR_CONTRACT: /* cuBLAS, but a head with the cast before it */
            if (emit_cuda_head_cast(e, n))
                kernel_head_product(e, n, emit_cuda_head_cast(e, n));
            break;
        default: break;
        }
    }
    for (int i = 0; i < f->noutputs; i++)
        if (plan->copy_output[i])
            kernel_output_copy(e, f, i);
}

static const IrFunction *function_at(const IrProgram *p, size_t i)
{
    return i < p->functions.len ? p->functions.items[i] : p->trains.items[i - p->functions.len];
}

static void emit_all(Emit *e, const char *source_name, FnPlan **plans)
{
    const IrProgram *p = e->p;
    fprintf(e->out, "/* CUDA kernels generated by tdc from %s; compiled at run time by NVRTC. */\n", source_name);
    fputs(cuda_prelude, e->out);
    fprintf(e->out, "struct tdg_dims {\n    int64_t d[%zu];\n};\n\n", p->dim_names.len ? p->dim_names.len : 1);
    /* the runtime compiles shares of the kernels after it as programs of their own, on threads */
    fputs(TD_CUDA_APART "\n", e->out);
    for (size_t i = 0; i < p->functions.len + p->trains.len; i++) {
        const IrFunction *f = function_at(p, i);
        fprintf(e->out, "/* ---- %s %s (tdg_fn%zu) ---- */\n\n", f->is_train ? "train" : "fn", f->name, i);
        e->fn_index = (int)i;
        emit_kernels(e, f, plans[i]);
    }
}

const char *emit_cuda_source(const Emit *outer, FnPlan **plans, PtrVec *names, PtrVec *symbols)
{
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    if (!mem)
        die("emit_cuda: open_memstream failed");
    Emit e = *outer;
    e.out = mem;
    e.kernel_names = names;
    emit_all(&e, "this program", plans);
    fclose(mem);
    const char *r = emit_cuda_dedupe(outer->a, text, names, symbols);
    free(text);
    return r;
}

void emit_cuda(FILE *out, const IrProgram *p, const char *source_name)
{
    Emit e = {.out = out, .p = p, .a = p->arena};
    size_t n = p->functions.len + p->trains.len;
    FnPlan **plans = arena_array(e.a, n + 1, sizeof(FnPlan *));
    for (size_t i = 0; i < n; i++)
        plans[i] = plan_function(p, function_at(p, i));
    e.read_dtypes = emit_cuda_read_dtypes(&e, plans);
    char *text = NULL;
    size_t size = 0;
    e.out = open_memstream(&text, &size);
    if (!e.out)
        die("emit_cuda: open_memstream failed");
    PtrVec names = {0}, symbols = {0};
    e.kernel_names = &names;
    emit_all(&e, source_name, plans);
    fclose(e.out);
    fputs(emit_cuda_dedupe(e.a, text, &names, &symbols), out);
    free(text);
}

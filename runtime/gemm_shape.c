/* gemm_shape.c - the descriptor checks and the shape rewrites of a
 * contraction, shared by the CPU (gemm.c, td_gemm_run) and the GPU
 * (cuda/gemm.c, td_cuda_gemm_run); gemm_shape.h declares them.
 *
 * td_gemm_check takes a td_gemm and the three operands' addresses as
 * integers and gives a td_gemm_problem: each operand as an address and
 * element strides with the range of offsets it reaches, every size, stride
 * and byte count checked, and C known to have one address per element.
 * The rest rewrites a problem into an equivalent one, reading nothing:
 * each caller's make_plan strings them together into its own plan. What
 * differs between the two callers is passed in: the prefix of the
 * messages, the CPU's limit of INT_MAX on m, n and k for float dtypes
 * (OpenBLAS's blasint), and whether folding must keep operands in place
 * (the GPU always; the CPU only where BLAS takes them in place). */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gemm_shape.h"

enum { MAXB = TD_GEMM_MAX_BATCH };

typedef td_gemm_operand operand;
typedef td_gemm_problem problem;

/* ---- validation ---- */

/* An input error, its message prefixed by the caller's name. */
static td_status bad(td_ctx *ctx, const char *who, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static td_status bad(td_ctx *ctx, const char *who, const char *fmt, ...)
{
    char msg[512]; /* every message below fits with room to spare */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return td_fail(ctx, TD_ERR_INPUT, "%s: %s", who, msg);
}

/* Fills o->lo, o->hi and o->empty from its axes (the batch axes, then rows
 * and columns); false when the offsets, in bytes, would pass PTRDIFF_MAX. */
static bool extent(operand *o, int nb, const int64_t *batch, int64_t rows, int64_t cols, size_t esize)
{
    int64_t size[MAXB + 2], stride[MAXB + 2];
    for (int t = 0; t < nb; t++) {
        size[t] = batch[t];
        stride[t] = o->bs[t];
    }
    size[nb] = rows, stride[nb] = o->rs;
    size[nb + 1] = cols, stride[nb + 1] = o->cs;
    o->lo = o->hi = 0;
    o->empty = false;
    for (int t = 0; t < nb + 2; t++)
        if (size[t] == 0) {
            o->empty = true;
            return true;
        }
    for (int t = 0; t < nb + 2; t++) {
        int64_t d;
        if (__builtin_mul_overflow(size[t] - 1, stride[t], &d))
            return false;
        if (d < 0 ? __builtin_add_overflow(o->lo, d, &o->lo) : __builtin_add_overflow(o->hi, d, &o->hi))
            return false;
    }
    int64_t span, bytes;
    return !__builtin_sub_overflow(o->hi, o->lo, &span) && !__builtin_add_overflow(span, 1, &span) &&
           !__builtin_mul_overflow(span, (int64_t)esize, &bytes) && bytes <= PTRDIFF_MAX;
}

static const char *axis_name(int axis, int nb, char *buf, size_t size)
{
    if (axis == nb)
        return "row axis";
    if (axis == nb + 1)
        return "column axis";
    snprintf(buf, size, "batch axis %d", axis);
    return buf;
}

/* C must not have two elements at one address, or the result would depend
 * on the order of writes. The test: sorted by |stride|, each axis of size
 * > 1 must step past everything the smaller-stride axes reach. That is
 * exact for every layout slicing, permuting and flipping a dense array can
 * produce; it rejects only exotic interleavings that do not overlap. */
static td_status check_c_distinct(td_ctx *ctx, const char *who, const problem *pr)
{
    if (pr->z.empty)
        return TD_OK;
    struct { int64_t size, stride; int axis; } ax[MAXB + 2], tmp;
    int count = 0;
    for (int t = 0; t < pr->nb + 2; t++) {
        int64_t size = t < pr->nb ? pr->batch[t] : t == pr->nb ? pr->m : pr->n;
        int64_t stride = t < pr->nb ? pr->z.bs[t] : t == pr->nb ? pr->z.rs : pr->z.cs;
        if (size > 1) {
            /* |stride| cannot overflow: extent() bounded (size - 1) * stride */
            ax[count].size = size, ax[count].stride = stride < 0 ? -stride : stride, ax[count].axis = t;
            count++;
        }
    }
    for (int i = 1; i < count; i++)
        for (int j = i; j > 0 && ax[j].stride < ax[j - 1].stride; j--)
            tmp = ax[j], ax[j] = ax[j - 1], ax[j - 1] = tmp;
    int64_t reach = 0; /* the largest |offset| the axes so far reach; bounded by extent() */
    for (int i = 0; i < count; i++) {
        if (ax[i].stride <= reach) {
            char buf[32];
            const char *name = axis_name(ax[i].axis, pr->nb, buf, sizeof buf);
            int t = ax[i].axis;
            int64_t stride = t < pr->nb ? pr->z.bs[t] : t == pr->nb ? pr->z.rs : pr->z.cs;
            return bad(ctx, who,
                       "C overlaps itself: its %s (size %lld, stride %lld) lands on elements that its axes of "
                       "smaller stride already reach; every element of C needs its own address",
                       name, (long long)ax[i].size, (long long)stride);
        }
        reach += (ax[i].size - 1) * ax[i].stride;
    }
    return TD_OK;
}

/* An integer-valued double in int64's range, for alpha and beta of integer dtypes. */
static bool int64_value(double v) { return v == trunc(v) && v >= -0x1p63 && v < 0x1p63; }

/* The descriptor alone: dtype, sizes, batch rank and scalars. */
static td_status check_descriptor(td_ctx *ctx, const char *who, bool openblas_sizes, const td_gemm *g)
{
    if (!g)
        return bad(ctx, who, "the descriptor is NULL");
    if ((unsigned)g->dtype >= TD_DTYPE_COUNT)
        return bad(ctx, who, "unknown dtype %d", (int)g->dtype);
    if (g->dtype == TD_BOOL)
        return bad(ctx, who, "dtype bool has no matrix product; convert to an integer or float dtype first");
    if (g->c_f32 && g->dtype != TD_F16 && g->dtype != TD_BF16)
        return bad(ctx, who, "c_f32 asks for an f32 C from f16 or bf16 operands, and these are %s", td_dtype_name(g->dtype));
    const struct { const char *name; int64_t v; } dims[3] = {{"m", g->m}, {"n", g->n}, {"k", g->k}};
    for (int i = 0; i < 3; i++) {
        if (dims[i].v < 0)
            return bad(ctx, who, "%s = %lld is negative", dims[i].name, (long long)dims[i].v);
        /* blasint is int in Debian's OpenBLAS; integers loop and take any size */
        if (openblas_sizes && td_dtype_is_float(g->dtype) && dims[i].v > INT_MAX)
            return bad(ctx, who, "%s = %lld is more than %d, the largest size OpenBLAS's 32-bit interface takes",
                       dims[i].name, (long long)dims[i].v, INT_MAX);
    }
    if (g->batch_rank < 0 || g->batch_rank > MAXB)
        return bad(ctx, who, "batch_rank = %d is not in 0..%d", g->batch_rank, MAXB);
    for (int t = 0; t < g->batch_rank; t++)
        if (g->batch[t] < 0)
            return bad(ctx, who, "batch axis %d has negative size %lld", t, (long long)g->batch[t]);
    const struct { const char *name; double v; } scalars[2] = {{"alpha", g->alpha}, {"beta", g->beta}};
    for (int i = 0; i < 2; i++) {
        if (!isfinite(scalars[i].v))
            return bad(ctx, who, "%s = %g is not finite", scalars[i].name, scalars[i].v);
        if (!td_dtype_is_float(g->dtype) && !int64_value(scalars[i].v))
            return bad(ctx, who, "%s = %g is not an integer in i64's range, as %s needs", scalars[i].name,
                       scalars[i].v, td_dtype_name(g->dtype));
    }
    return TD_OK;
}

td_status td_gemm_check(td_ctx *ctx, const char *who, bool openblas_sizes, const td_gemm *g, uintptr_t a, uintptr_t b,
                        uintptr_t c, problem *pr)
{
    td_status st = check_descriptor(ctx, who, openblas_sizes, g);
    if (st != TD_OK)
        return st;
    memset(pr, 0, sizeof *pr);
    pr->dtype = g->dtype;
    pr->esize = td_dtype_size(g->dtype);
    pr->zdtype = g->c_f32 ? TD_F32 : g->dtype;
    pr->zsize = td_dtype_size(pr->zdtype);
    pr->m = g->m, pr->n = g->n, pr->k = g->k;
    pr->nb = g->batch_rank;
    pr->alpha = g->alpha, pr->beta = g->beta;
    operand *ops[3] = {&pr->x, &pr->y, &pr->z};
    const uintptr_t addrs[3] = {a, b, c};
    const int64_t rs[3] = {g->a_rs, g->b_rs, g->c_rs}, cs[3] = {g->a_cs, g->b_cs, g->c_cs};
    const int64_t *bs[3] = {g->a_bs, g->b_bs, g->c_bs};
    const int64_t rows[3] = {g->m, g->k, g->m}, cols[3] = {g->k, g->n, g->n};
    for (int t = 0; t < pr->nb; t++)
        pr->batch[t] = g->batch[t];
    for (int i = 0; i < 3; i++) {
        operand *o = ops[i];
        o->role = (char)('A' + i);
        o->addr = addrs[i];
        o->rs = rs[i], o->cs = cs[i];
        for (int t = 0; t < pr->nb; t++)
            o->bs[t] = bs[i][t];
        size_t esize = i == 2 ? pr->zsize : pr->esize;
        td_dtype dtype = i == 2 ? pr->zdtype : pr->dtype;
        if (!extent(o, pr->nb, pr->batch, rows[i], cols[i], esize))
            return bad(ctx, who, "%c's offsets overflow: its sizes times strides span more than PTRDIFF_MAX bytes",
                       o->role);
        if (o->empty)
            continue;
        if (!o->addr)
            return bad(ctx, who, "%c is NULL but has elements", o->role);
        if (o->addr % esize != 0)
            return bad(ctx, who, "%c is not aligned to its %zu-byte %s elements", o->role, esize, td_dtype_name(dtype));
    }
    return check_c_distinct(ctx, who, pr);
}

/* ---- rewrites ---- */

/* In row-major terms: NoTrans when columns have unit stride and rows are
 * at least a row apart, Trans when the matrix is the transpose of such a
 * one, each with its leading dimension, which must fit BLAS's and cuBLAS's
 * int. (cuBLAS reads the same memory column-major, as the transpose: see
 * cuda/gemm.c.) The stride of an axis of size 1 is never used, so it may be
 * anything; its leading dimension is then the least (cu)BLAS accepts. */
bool td_gemm_direct_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, bool *trans, int *ld)
{
    if (cols == 1 || cs == 1) {
        int64_t need = cols > 1 ? cols : 1;
        int64_t l = rows == 1 ? need : rs;
        if (l >= need && l <= INT_MAX) {
            *trans = false, *ld = (int)l;
            return true;
        }
    }
    if (rows == 1 || rs == 1) {
        int64_t need = rows > 1 ? rows : 1;
        int64_t l = cols == 1 ? need : cs;
        if (l >= need && l <= INT_MAX) {
            *trans = true, *ld = (int)l;
            return true;
        }
    }
    return false;
}

/* How many of x, y, z (cu)BLAS would take in place (z in either
 * orientation, since transposing the problem can pick the other one). */
static int direct_score(const problem *pr)
{
    bool t;
    int l;
    return td_gemm_direct_layout(pr->m, pr->k, pr->x.rs, pr->x.cs, &t, &l) +
           td_gemm_direct_layout(pr->k, pr->n, pr->y.rs, pr->y.cs, &t, &l) +
           td_gemm_direct_layout(pr->m, pr->n, pr->z.rs, pr->z.cs, &t, &l);
}

void td_gemm_remove_axis(problem *pr, int t)
{
    for (int u = t; u + 1 < pr->nb; u++) {
        pr->batch[u] = pr->batch[u + 1];
        pr->x.bs[u] = pr->x.bs[u + 1];
        pr->y.bs[u] = pr->y.bs[u + 1];
        pr->z.bs[u] = pr->z.bs[u + 1];
    }
    pr->nb--;
}

void td_gemm_drop_unit_axes(problem *pr)
{
    for (int t = pr->nb - 1; t >= 0; t--) /* a size-1 axis only ever adds offset 0 */
        if (pr->batch[t] == 1)
            td_gemm_remove_axis(pr, t);
}

/* The same computation with the roles of rows and columns exchanged.
 * Offsets, and so lo, hi and snap, are unchanged. */
void td_gemm_transpose(problem *pr)
{
    int64_t t = pr->m;
    pr->m = pr->n, pr->n = t;
    operand o = pr->x;
    pr->x = pr->y, pr->y = o;
    operand *ops[3] = {&pr->x, &pr->y, &pr->z};
    for (int i = 0; i < 3; i++) {
        t = ops[i]->rs;
        ops[i]->rs = ops[i]->cs, ops[i]->cs = t;
    }
    pr->transposed = !pr->transposed;
}

/* Along axis t, y is broadcast (stride 0) and x and z step exactly m rows,
 * so row i of item t is row t m + i of one taller matrix (with m == 1 any
 * steps will do: they become the row strides); x @ W with x of shape
 * (B, T, d) is then one GEMM of (B T) x d. With keep_direct, a fold that
 * would force an in-place operand into packing is skipped. m stays within
 * INT_MAX. */
void td_gemm_fold_rows(problem *pr, bool keep_direct)
{
    for (bool again = true; again;) {
        again = false;
        for (int t = pr->nb - 1; t >= 0; t--) {
            int64_t m2, xstep, zstep;
            if (pr->y.bs[t] != 0 || __builtin_mul_overflow(pr->m, pr->batch[t], &m2) || m2 > INT_MAX)
                continue;
            problem q = *pr;
            if (pr->m == 1) {
                q.x.rs = pr->x.bs[t];
                q.z.rs = pr->z.bs[t];
            } else if (__builtin_mul_overflow(pr->m, pr->x.rs, &xstep) || xstep != pr->x.bs[t] ||
                       __builtin_mul_overflow(pr->m, pr->z.rs, &zstep) || zstep != pr->z.bs[t]) {
                continue;
            }
            q.m = m2;
            td_gemm_remove_axis(&q, t);
            if (keep_direct && direct_score(&q) < direct_score(pr))
                continue;
            *pr = q;
            again = true;
        }
    }
}

bool td_gemm_overlap(const operand *in, size_t esize, const operand *z, size_t zsize)
{
    if (in->empty || z->empty)
        return false;
    /* modulo 2^N as addresses: offsets may be negative, and the two
     * operands different objects */
    uintptr_t a0 = in->addr + (uintptr_t)(in->lo * (int64_t)esize);
    uintptr_t a1 = in->addr + (uintptr_t)((in->hi + 1) * (int64_t)esize);
    uintptr_t c0 = z->addr + (uintptr_t)(z->lo * (int64_t)zsize);
    uintptr_t c1 = z->addr + (uintptr_t)((z->hi + 1) * (int64_t)zsize);
    return a0 < c1 && c0 < a1;
}

/* ---- describing ---- */

void td_gemm_append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = *len + (size_t)n < size ? *len + (size_t)n : size - 1;
}

void td_gemm_append_copies(char *buf, size_t size, size_t *len, const problem *q)
{
    if (q->x.snap && q->y.snap)
        td_gemm_append(buf, size, len, "; copies A and B first (C overlaps them)");
    else if (q->x.snap || q->y.snap)
        td_gemm_append(buf, size, len, "; copies %c first (C overlaps it)", q->x.snap ? q->x.role : q->y.role);
}

const char *td_gemm_role_name(const operand *o, bool transposed)
{
    switch (o->role) {
    case 'A': return transposed ? "A^T" : "A";
    case 'B': return transposed ? "B^T" : "B";
    default: return transposed ? "C^T" : "C";
    }
}

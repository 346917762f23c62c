/* gemm.c - the CPU contraction primitive: C = alpha A B + beta C over a
 * batch of strided views, on OpenBLAS's CBLAS (td.h, "contractions").
 *
 * A call has three stages. check() validates the descriptor and the
 * pointers and describes each operand as a base and element strides,
 * reading no memory. make_plan() rewrites that problem into the cheapest
 * equivalent one, still reading nothing: size-1 batch axes are dropped;
 * batch axes along which B is broadcast and A and C step exactly m rows are
 * folded into m (symmetrically into n), so x @ W with x of shape (B, T, d)
 * is one GEMM of (B T) x d rather than B small ones; when C has a unit row
 * stride but not a unit column stride the problem is transposed to
 * C^T = B^T A^T, because BLAS's row-major C needs unit column stride; and
 * every operand that is a row-major matrix or the transpose of one is used
 * in place (CblasNoTrans / CblasTrans with its leading dimension), the rest
 * packed into contiguous scratch. execute() then allocates everything it
 * needs before it writes to C, so a failed allocation leaves C as it was,
 * and calls BLAS once per remaining batch item. td_gemm_describe prints the
 * plan instead of executing it.
 *
 * Scratch is malloc'd per call and freed before returning: one matrix per
 * packed or widened operand (reused across batch items, and not reloaded
 * while a broadcast operand's address repeats), plus a copy of A or B when
 * C overlaps it. A caller that runs many small GEMMs pays a malloc for each
 * that packs; the C backend can keep its views BLAS-shaped to avoid it.
 *
 * OpenBLAS is built with 32-bit sizes on Debian (blasint is int), so float
 * dtypes reject m, n or k above INT_MAX, folding stops there, and a
 * leading dimension above INT_MAX sends the operand to packing (whose
 * leading dimension is then m, n or k). Integer dtypes never touch BLAS. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"

enum { MAXB = TD_GEMM_MAX_BATCH };

#define BAD(...) td_fail(ctx, TD_ERR_INPUT, "td_gemm: " __VA_ARGS__)

/* One operand: element [i][j] of batch item (t0, t1, ...) is at element
 * offset i * rs + j * cs + sum t * bs[axis] from p. lo and hi are the least
 * and greatest offsets it reaches (lo <= 0 <= hi), known to be at most
 * PTRDIFF_MAX bytes apart, so every offset computed below is in range. */
typedef struct operand {
    char *p;
    int64_t rs, cs;
    int64_t bs[MAXB];
    int64_t lo, hi;
    bool empty; /* some axis has size 0: nothing is read or written */
    bool snap;  /* an input that C overlaps: copied before C is written */
    char role;  /* 'A', 'B' or 'C' in the caller's terms */
} operand;

/* x is m x k, y is k x n, z is m x n: A, B and C, or B^T, A^T and C^T once
 * `transposed`. */
typedef struct problem {
    td_dtype dtype;
    size_t esize;
    int64_t m, n, k;
    int nb;
    int64_t batch[MAXB];
    double alpha, beta;
    operand x, y, z;
    bool transposed;
} problem;

typedef enum kind {
    KIND_NONE,  /* C is empty */
    KIND_SCALE, /* k == 0 or alpha == 0: C = beta C */
    KIND_LOOP,  /* integers */
    KIND_BLAS,  /* floats */
} kind;

typedef struct plan {
    problem pr;
    kind kind;
    bool f64;     /* dgemm in double; otherwise sgemm in float */
    bool widen;   /* a narrow dtype: every operand goes through f32 scratch */
    size_t items; /* batch items left after folding: one BLAS call or loop nest each */
    /* KIND_BLAS: which operands are used in place, with BLAS's flags */
    bool x_direct, y_direct, z_direct;
    bool x_trans, y_trans;
    int ldx, ldy, ldz;
} plan;

/* ---- validation ---- */

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
static td_status check_c_distinct(td_ctx *ctx, const problem *pr)
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
            return BAD("C overlaps itself: its %s (size %lld, stride %lld) lands on elements that its axes of "
                       "smaller stride already reach; every element of C needs its own address",
                       name, (long long)ax[i].size, (long long)stride);
        }
        reach += (ax[i].size - 1) * ax[i].stride;
    }
    return TD_OK;
}

/* An integer-valued double in int64's range, for alpha and beta of integer dtypes. */
static bool int64_value(double v) { return v == trunc(v) && v >= -0x1p63 && v < 0x1p63; }

static td_status check(td_ctx *ctx, const td_gemm *g, const void *a, const void *b, const void *c, problem *pr)
{
    if (!g)
        return BAD("the descriptor is NULL");
    if ((unsigned)g->dtype >= TD_DTYPE_COUNT)
        return BAD("unknown dtype %d", (int)g->dtype);
    if (g->dtype == TD_BOOL)
        return BAD("dtype bool has no matrix product; convert to an integer or float dtype first");
    const struct { const char *name; int64_t v; } dims[3] = {{"m", g->m}, {"n", g->n}, {"k", g->k}};
    for (int i = 0; i < 3; i++) {
        if (dims[i].v < 0)
            return BAD("%s = %lld is negative", dims[i].name, (long long)dims[i].v);
        /* blasint is int in Debian's OpenBLAS; integers loop and take any size */
        if (td_dtype_is_float(g->dtype) && dims[i].v > INT_MAX)
            return BAD("%s = %lld is more than %d, the largest size OpenBLAS's 32-bit interface takes",
                       dims[i].name, (long long)dims[i].v, INT_MAX);
    }
    if (g->batch_rank < 0 || g->batch_rank > MAXB)
        return BAD("batch_rank = %d is not in 0..%d", g->batch_rank, MAXB);
    for (int t = 0; t < g->batch_rank; t++)
        if (g->batch[t] < 0)
            return BAD("batch axis %d has negative size %lld", t, (long long)g->batch[t]);
    const struct { const char *name; double v; } scalars[2] = {{"alpha", g->alpha}, {"beta", g->beta}};
    for (int i = 0; i < 2; i++) {
        if (!isfinite(scalars[i].v))
            return BAD("%s = %g is not finite", scalars[i].name, scalars[i].v);
        if (!td_dtype_is_float(g->dtype) && !int64_value(scalars[i].v))
            return BAD("%s = %g is not an integer in i64's range, as %s needs", scalars[i].name, scalars[i].v,
                       td_dtype_name(g->dtype));
    }

    memset(pr, 0, sizeof *pr);
    pr->dtype = g->dtype;
    pr->esize = td_dtype_size(g->dtype);
    pr->m = g->m, pr->n = g->n, pr->k = g->k;
    pr->nb = g->batch_rank;
    pr->alpha = g->alpha, pr->beta = g->beta;
    operand *ops[3] = {&pr->x, &pr->y, &pr->z};
    const void *ptrs[3] = {a, b, c};
    const int64_t rs[3] = {g->a_rs, g->b_rs, g->c_rs}, cs[3] = {g->a_cs, g->b_cs, g->c_cs};
    const int64_t *bs[3] = {g->a_bs, g->b_bs, g->c_bs};
    const int64_t rows[3] = {g->m, g->k, g->m}, cols[3] = {g->k, g->n, g->n};
    for (int i = 0; i < 3; i++) {
        operand *o = ops[i];
        o->role = (char)('A' + i);
        o->p = (char *)(uintptr_t)ptrs[i]; /* A and B are only read; the cast keeps one operand type */
        o->rs = rs[i], o->cs = cs[i];
        for (int t = 0; t < pr->nb; t++) {
            pr->batch[t] = g->batch[t];
            o->bs[t] = bs[i][t];
        }
        if (!extent(o, pr->nb, pr->batch, rows[i], cols[i], pr->esize))
            return BAD("%c's offsets overflow: its sizes times strides span more than PTRDIFF_MAX bytes", o->role);
        if (o->empty)
            continue;
        if (!o->p)
            return BAD("%c is NULL but has elements", o->role);
        if ((uintptr_t)o->p % pr->esize != 0)
            return BAD("%c is not aligned to its %zu-byte %s elements", o->role, pr->esize, td_dtype_name(pr->dtype));
    }
    return check_c_distinct(ctx, pr);
}

/* ---- planning ---- */

/* Whether a rows x cols matrix with strides rs, cs is one BLAS takes in
 * place in row-major order: NoTrans when columns have unit stride and rows
 * are at least a row apart, Trans when it is the transpose of such a
 * matrix. The stride of an axis of size 1 is never used, so it may be
 * anything; its leading dimension is then the least BLAS accepts. */
static bool direct_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, bool *trans, int *ld)
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

/* How many of x, y, z BLAS would take in place (z in either orientation,
 * since transposing the problem can pick the other one). */
static int direct_score(const problem *pr)
{
    bool t;
    int l;
    return direct_layout(pr->m, pr->k, pr->x.rs, pr->x.cs, &t, &l) +
           direct_layout(pr->k, pr->n, pr->y.rs, pr->y.cs, &t, &l) +
           direct_layout(pr->m, pr->n, pr->z.rs, pr->z.cs, &t, &l);
}

static void remove_axis(problem *pr, int t)
{
    for (int u = t; u + 1 < pr->nb; u++) {
        pr->batch[u] = pr->batch[u + 1];
        pr->x.bs[u] = pr->x.bs[u + 1];
        pr->y.bs[u] = pr->y.bs[u + 1];
        pr->z.bs[u] = pr->z.bs[u + 1];
    }
    pr->nb--;
}

/* C^T = B^T A^T: the same computation with the roles of rows and columns
 * exchanged. Offsets, and so lo, hi and snap, are unchanged. */
static void transpose(problem *pr)
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

/* Folds batch axes into m where that is exact: along axis t, y is
 * broadcast (stride 0) and x and z step exactly m rows, so row i of item
 * t is row t m + i of one taller matrix (with m == 1 any steps will do:
 * they become the row strides). For BLAS, a fold that would force an
 * in-place operand into packing is skipped; m stays within INT_MAX. */
static void fold_rows(problem *pr, bool for_blas)
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
            remove_axis(&q, t);
            if (for_blas && direct_score(&q) < direct_score(pr))
                continue;
            *pr = q;
            again = true;
        }
    }
}

static bool overlap(const operand *in, const operand *z, size_t esize)
{
    if (in->empty || z->empty)
        return false;
    /* as integers: the two operands may be different objects */
    uintptr_t a0 = (uintptr_t)in->p + (uintptr_t)(in->lo * (int64_t)esize);
    uintptr_t a1 = (uintptr_t)in->p + (uintptr_t)((in->hi + 1) * (int64_t)esize);
    uintptr_t c0 = (uintptr_t)z->p + (uintptr_t)(z->lo * (int64_t)esize);
    uintptr_t c1 = (uintptr_t)z->p + (uintptr_t)((z->hi + 1) * (int64_t)esize);
    return a0 < c1 && c0 < a1;
}

static void make_plan(const problem *in, plan *pl)
{
    memset(pl, 0, sizeof *pl);
    pl->pr = *in;
    problem *pr = &pl->pr;
    if (pr->z.empty) {
        pl->kind = KIND_NONE;
        return;
    }
    for (int t = pr->nb - 1; t >= 0; t--) /* a size-1 axis only ever adds offset 0 */
        if (pr->batch[t] == 1)
            remove_axis(pr, t);
    bool is_float = td_dtype_is_float(pr->dtype);
    if (pr->k == 0 || pr->alpha == 0) {
        pl->kind = KIND_SCALE;
    } else {
        pl->kind = is_float ? KIND_BLAS : KIND_LOOP;
        pl->f64 = pr->dtype == TD_F64;
        pl->widen = is_float && pr->dtype != TD_F64 && pr->dtype != TD_F32;
        pr->x.snap = overlap(&pr->x, &pr->z, pr->esize);
        pr->y.snap = overlap(&pr->y, &pr->z, pr->esize);
        bool in_place = pl->kind == KIND_BLAS && !pl->widen;
        fold_rows(pr, in_place);
        transpose(pr);
        fold_rows(pr, in_place);
        transpose(pr);
        if (in_place) {
            bool t;
            int l;
            if (!direct_layout(pr->m, pr->n, pr->z.rs, pr->z.cs, &t, &l) || t)
                if (direct_layout(pr->n, pr->m, pr->z.cs, pr->z.rs, &t, &l) && !t)
                    transpose(pr);
            pl->x_direct = direct_layout(pr->m, pr->k, pr->x.rs, pr->x.cs, &pl->x_trans, &pl->ldx);
            pl->y_direct = direct_layout(pr->k, pr->n, pr->y.rs, pr->y.cs, &pl->y_trans, &pl->ldy);
            pl->z_direct = direct_layout(pr->m, pr->n, pr->z.rs, pr->z.cs, &t, &pl->ldz) && !t;
        }
    }
    /* C is not empty and its elements are distinct, so the items times m n
     * are at most PTRDIFF_MAX: no overflow */
    pl->items = 1;
    for (int t = 0; t < pr->nb; t++)
        pl->items *= (size_t)pr->batch[t];
}

/* ---- execution ---- */

/* Element offset of batch item idx. */
static int64_t item_offset(const operand *o, int nb, const int64_t *idx)
{
    int64_t off = 0;
    for (int t = 0; t < nb; t++)
        off += idx[t] * o->bs[t];
    return off;
}

static void next_item(int nb, const int64_t *batch, int64_t *idx)
{
    for (int t = nb - 1; t >= 0; t--) {
        if (++idx[t] < batch[t])
            return;
        idx[t] = 0;
    }
}

/* Copies the rows x cols matrix at src (strides rs, cs; dtype t) into dst,
 * row-major: as double for f64, as float for every other float dtype. */
static void load(void *dst, const char *src, int64_t rows, int64_t cols, int64_t rs, int64_t cs, td_dtype t)
{
    for (int64_t i = 0; i < rows; i++) {
        int64_t o = i * rs;
        float *d = (float *)dst + i * cols;
        switch (t) {
        case TD_F64: {
            double *dd = (double *)dst + i * cols;
            const double *s = (const double *)src + o;
            for (int64_t j = 0; j < cols; j++)
                dd[j] = s[j * cs];
            break;
        }
        case TD_F32: {
            const float *s = (const float *)src + o;
            for (int64_t j = 0; j < cols; j++)
                d[j] = s[j * cs];
            break;
        }
        case TD_F16: {
            const uint16_t *s = (const uint16_t *)src + o;
            for (int64_t j = 0; j < cols; j++)
                d[j] = td_f16_to_f32(s[j * cs]);
            break;
        }
        case TD_BF16: {
            const uint16_t *s = (const uint16_t *)src + o;
            for (int64_t j = 0; j < cols; j++)
                d[j] = td_bf16_to_f32(s[j * cs]);
            break;
        }
        case TD_F8E4M3: {
            const uint8_t *s = (const uint8_t *)src + o;
            for (int64_t j = 0; j < cols; j++)
                d[j] = td_f8e4m3_to_f32(s[j * cs]);
            break;
        }
        case TD_F8E5M2: {
            const uint8_t *s = (const uint8_t *)src + o;
            for (int64_t j = 0; j < cols; j++)
                d[j] = td_f8e5m2_to_f32(s[j * cs]);
            break;
        }
        default: /* integers never come here; check() refused bool */
            break;
        }
    }
}

/* The inverse of load(), rounding once to the dtype. */
static void store(char *dst, const void *src, int64_t rows, int64_t cols, int64_t rs, int64_t cs, td_dtype t)
{
    for (int64_t i = 0; i < rows; i++) {
        int64_t o = i * rs;
        const float *s = (const float *)src + i * cols;
        switch (t) {
        case TD_F64: {
            const double *ss = (const double *)src + i * cols;
            double *d = (double *)dst + o;
            for (int64_t j = 0; j < cols; j++)
                d[j * cs] = ss[j];
            break;
        }
        case TD_F32: {
            float *d = (float *)dst + o;
            for (int64_t j = 0; j < cols; j++)
                d[j * cs] = s[j];
            break;
        }
        case TD_F16: {
            uint16_t *d = (uint16_t *)dst + o;
            for (int64_t j = 0; j < cols; j++)
                d[j * cs] = td_f32_to_f16(s[j]);
            break;
        }
        case TD_BF16: {
            uint16_t *d = (uint16_t *)dst + o;
            for (int64_t j = 0; j < cols; j++)
                d[j * cs] = td_f32_to_bf16(s[j]);
            break;
        }
        case TD_F8E4M3: {
            uint8_t *d = (uint8_t *)dst + o;
            for (int64_t j = 0; j < cols; j++)
                d[j * cs] = td_f32_to_f8e4m3(s[j]);
            break;
        }
        case TD_F8E5M2: {
            uint8_t *d = (uint8_t *)dst + o;
            for (int64_t j = 0; j < cols; j++)
                d[j * cs] = td_f32_to_f8e5m2(s[j]);
            break;
        }
        default:
            break;
        }
    }
}

/* Integer elements as uint64_t, sign-extended, so sums and products wrap
 * modulo 2^64 without undefined behaviour; the low bits stored back are the
 * result modulo 2^bits, as numpy's wrapping integer matmul gives. Stores go
 * through the unsigned type, which may alias the signed one, so no
 * implementation-defined narrowing conversion happens. */
static uint64_t int_load(const char *e, td_dtype t)
{
    switch (t) {
    case TD_I64: return (uint64_t)*(const int64_t *)e;
    case TD_I32: return (uint64_t)(int64_t)*(const int32_t *)e;
    default: return *(const uint16_t *)e;
    }
}

static void int_store(char *e, td_dtype t, uint64_t v)
{
    switch (t) {
    case TD_I64: *(uint64_t *)e = v; break;
    case TD_I32: *(uint32_t *)e = (uint32_t)v; break;
    default: *(uint16_t *)e = (uint16_t)v; break;
    }
}

/* The integer loop for one batch item: the k multiply-adds of an element
 * are specialised per dtype (INT_DOT over typed xr and yc); loading and
 * storing C goes through one switch per element. */
#define INT_DOT()                                                                         \
    for (int64_t p = 0; p < pr->k; p++)                                                   \
        acc += (uint64_t)(int64_t)xr[p * pr->x.cs] * (uint64_t)(int64_t)yc[p * pr->y.rs]; \
    (void)0

static void loop_item(const problem *pr, const char *x, const char *y, char *z, uint64_t alpha, uint64_t beta)
{
    size_t es = pr->esize;
    for (int64_t i = 0; i < pr->m; i++)
        for (int64_t j = 0; j < pr->n; j++) {
            uint64_t acc = 0;
            if (pr->dtype == TD_I64) {
                const int64_t *xr = (const int64_t *)x + i * pr->x.rs, *yc = (const int64_t *)y + j * pr->y.cs;
                INT_DOT();
            } else if (pr->dtype == TD_I32) {
                const int32_t *xr = (const int32_t *)x + i * pr->x.rs, *yc = (const int32_t *)y + j * pr->y.cs;
                INT_DOT();
            } else {
                const uint16_t *xr = (const uint16_t *)x + i * pr->x.rs, *yc = (const uint16_t *)y + j * pr->y.cs;
                INT_DOT();
            }
            char *e = z + (i * pr->z.rs + j * pr->z.cs) * (int64_t)es;
            uint64_t v = alpha * acc;
            if (beta != 0) /* beta == 0: C is not read */
                v += beta * int_load(e, pr->dtype);
            int_store(e, pr->dtype, v);
        }
}

/* C = beta C for one item (k == 0 or alpha == 0), in the arithmetic the
 * full product would use: double for f64, float for the other floats
 * (rounded once to the dtype), wrapping for integers. beta == 0 writes
 * zeros without reading C. */
static void scale_item(const problem *pr, char *z)
{
    float fbeta = (float)pr->beta;
    uint64_t ibeta = td_dtype_is_float(pr->dtype) ? 0 : (uint64_t)(int64_t)pr->beta;
    for (int64_t i = 0; i < pr->m; i++)
        for (int64_t j = 0; j < pr->n; j++) {
            char *e = z + (i * pr->z.rs + j * pr->z.cs) * (int64_t)pr->esize;
            if (pr->beta == 0) {
                memset(e, 0, pr->esize); /* +0 in every dtype */
                continue;
            }
            switch (pr->dtype) {
            case TD_F64: *(double *)e *= pr->beta; break;
            case TD_F32: *(float *)e *= fbeta; break;
            case TD_F16: *(uint16_t *)e = td_f32_to_f16(fbeta * td_f16_to_f32(*(uint16_t *)e)); break;
            case TD_BF16: *(uint16_t *)e = td_f32_to_bf16(fbeta * td_bf16_to_f32(*(uint16_t *)e)); break;
            case TD_F8E4M3: *(uint8_t *)e = td_f32_to_f8e4m3(fbeta * td_f8e4m3_to_f32(*(uint8_t *)e)); break;
            case TD_F8E5M2: *(uint8_t *)e = td_f32_to_f8e5m2(fbeta * td_f8e5m2_to_f32(*(uint8_t *)e)); break;
            default: int_store(e, pr->dtype, ibeta * int_load(e, pr->dtype)); break;
            }
        }
}

/* malloc of count elements of `size` bytes, checked; NULL for none. */
static td_status scratch(td_ctx *ctx, size_t count, size_t size, void **out)
{
    size_t bytes;
    *out = NULL;
    if (count == 0)
        return TD_OK;
    if (!td_mul_size(count, size, &bytes))
        return td_fail(ctx, TD_ERR_OOM, "td_gemm: scratch of %zu elements of %zu bytes overflows", count, size);
    *out = malloc(bytes);
    if (!*out)
        return td_fail(ctx, TD_ERR_OOM, "td_gemm: out of memory for %zu bytes of scratch", bytes);
    return TD_OK;
}

static td_status execute(td_ctx *ctx, const plan *pl)
{
    problem pr = pl->pr; /* snapshots rebase its pointers */
    if (pl->kind == KIND_NONE)
        return TD_OK;

    /* Everything is allocated before C is written, so a failure leaves C unchanged. */
    void *snap[2] = {NULL, NULL}, *xs = NULL, *ys = NULL, *zs = NULL;
    operand *ins[2] = {&pr.x, &pr.y};
    td_status st = TD_OK;
    size_t w = pl->f64 ? sizeof(double) : sizeof(float);
    for (int i = 0; i < 2 && st == TD_OK && pl->kind != KIND_SCALE; i++) {
        operand *o = ins[i];
        if (!o->snap)
            continue;
        size_t bytes = (size_t)(o->hi - o->lo + 1) * pr.esize; /* bounded by extent() */
        st = scratch(ctx, bytes, 1, &snap[i]);
        if (st == TD_OK) {
            memcpy(snap[i], o->p + o->lo * (int64_t)pr.esize, bytes);
            o->p = (char *)snap[i] + (-o->lo) * (int64_t)pr.esize;
        }
    }
    if (st == TD_OK && pl->kind == KIND_BLAS) {
        /* m, n, k <= INT_MAX, and scratch sizes are checked */
        size_t m = (size_t)pr.m, n = (size_t)pr.n, k = (size_t)pr.k, mk = 0, kn = 0, mn = 0;
        if ((!pl->x_direct && !td_mul_size(m, k, &mk)) || (!pl->y_direct && !td_mul_size(k, n, &kn)) ||
            (!pl->z_direct && !td_mul_size(m, n, &mn)))
            st = td_fail(ctx, TD_ERR_OOM, "td_gemm: scratch for a %zux%zux%zu product overflows", m, n, k);
        if (st == TD_OK)
            st = scratch(ctx, mk, w, &xs);
        if (st == TD_OK)
            st = scratch(ctx, kn, w, &ys);
        if (st == TD_OK)
            st = scratch(ctx, mn, w, &zs);
    }

    int64_t idx[MAXB] = {0};
    const char *last_x = NULL, *last_y = NULL;
    uint64_t ialpha = 0, ibeta = 0;
    if (pl->kind == KIND_LOOP)
        ialpha = (uint64_t)(int64_t)pr.alpha, ibeta = (uint64_t)(int64_t)pr.beta;
    for (size_t item = 0; st == TD_OK && item < pl->items; item++, next_item(pr.nb, pr.batch, idx)) {
        int64_t es = (int64_t)pr.esize;
        const char *xp = pr.x.p + item_offset(&pr.x, pr.nb, idx) * es;
        const char *yp = pr.y.p + item_offset(&pr.y, pr.nb, idx) * es;
        char *zp = pr.z.p + item_offset(&pr.z, pr.nb, idx) * es;
        if (pl->kind == KIND_SCALE) {
            scale_item(&pr, zp);
            continue;
        }
        if (pl->kind == KIND_LOOP) {
            loop_item(&pr, xp, yp, zp, ialpha, ibeta);
            continue;
        }
        const void *X = xp, *Y = yp;
        void *Z = zp;
        int ldx = pl->ldx, ldy = pl->ldy, ldz = pl->ldz;
        bool tx = pl->x_trans, ty = pl->y_trans;
        if (!pl->x_direct) {
            if (xp != last_x) /* a broadcast operand repeats its address: load it once */
                load(xs, xp, pr.m, pr.k, pr.x.rs, pr.x.cs, pr.dtype);
            last_x = xp;
            X = xs, ldx = (int)pr.k, tx = false;
        }
        if (!pl->y_direct) {
            if (yp != last_y)
                load(ys, yp, pr.k, pr.n, pr.y.rs, pr.y.cs, pr.dtype);
            last_y = yp;
            Y = ys, ldy = (int)pr.n, ty = false;
        }
        if (!pl->z_direct) {
            if (pr.beta != 0) /* beta == 0: BLAS does not read C */
                load(zs, zp, pr.m, pr.n, pr.z.rs, pr.z.cs, pr.dtype);
            Z = zs, ldz = (int)pr.n;
        }
        if (pl->f64)
            cblas_dgemm(CblasRowMajor, tx ? CblasTrans : CblasNoTrans, ty ? CblasTrans : CblasNoTrans, (int)pr.m,
                        (int)pr.n, (int)pr.k, pr.alpha, X, ldx, Y, ldy, pr.beta, Z, ldz);
        else
            cblas_sgemm(CblasRowMajor, tx ? CblasTrans : CblasNoTrans, ty ? CblasTrans : CblasNoTrans, (int)pr.m,
                        (int)pr.n, (int)pr.k, (float)pr.alpha, X, ldx, Y, ldy, (float)pr.beta, Z, ldz);
        if (!pl->z_direct)
            store(zp, zs, pr.m, pr.n, pr.z.rs, pr.z.cs, pr.dtype);
    }
    free(xs);
    free(ys);
    free(zs);
    free(snap[0]);
    free(snap[1]);
    return st;
}

/* ---- the public functions ---- */

td_gemm td_gemm_rowmajor(td_dtype dtype, int64_t m, int64_t n, int64_t k)
{
    td_gemm g;
    memset(&g, 0, sizeof g);
    g.dtype = dtype;
    g.m = m, g.n = n, g.k = k;
    g.a_rs = k, g.a_cs = 1;
    g.b_rs = n, g.b_cs = 1;
    g.c_rs = n, g.c_cs = 1;
    g.alpha = 1;
    g.beta = 0;
    return g;
}

td_status td_gemm_run(td_ctx *ctx, const td_gemm *g, const void *a, const void *b, void *c)
{
    if (!ctx)
        return TD_ERR_INPUT;
    problem pr;
    td_status st = check(ctx, g, a, b, c, &pr);
    if (st != TD_OK)
        return st;
    plan pl;
    make_plan(&pr, &pl);
    return execute(ctx, &pl);
}

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
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

/* The name of an operand of the (possibly transposed) problem. */
static const char *role_name(const operand *o, bool transposed)
{
    switch (o->role) {
    case 'A': return transposed ? "A^T" : "A";
    case 'B': return transposed ? "B^T" : "B";
    default: return transposed ? "C^T" : "C";
    }
}

td_status td_gemm_describe(td_ctx *ctx, const td_gemm *g, const void *a, const void *b, const void *c, char *buf,
                           size_t size)
{
    if (!ctx)
        return TD_ERR_INPUT;
    if (!buf || size == 0)
        return BAD("describe: the buffer is NULL or empty");
    buf[0] = 0;
    problem pr;
    td_status st = check(ctx, g, a, b, c, &pr);
    if (st != TD_OK)
        return st;
    plan pl;
    make_plan(&pr, &pl);
    const problem *q = &pl.pr;
    size_t len = 0;
    switch (pl.kind) {
    case KIND_NONE:
        append(buf, size, &len, "none: C is empty");
        return TD_OK;
    case KIND_SCALE:
        append(buf, size, &len, "scale %zu x %lldx%lld: %s", pl.items, (long long)q->m, (long long)q->n,
               q->beta == 0 ? "C = 0" : "C = beta C");
        return TD_OK;
    case KIND_LOOP:
        append(buf, size, &len, "loop %zu x %lldx%lldx%lld", pl.items, (long long)q->m, (long long)q->n,
               (long long)q->k);
        break;
    case KIND_BLAS: {
        append(buf, size, &len, "%s %zu x %lldx%lldx%lld", pl.f64 ? "dgemm" : "sgemm", pl.items, (long long)q->m,
               (long long)q->n, (long long)q->k);
        if (q->transposed)
            append(buf, size, &len, " as C^T = B^T A^T");
        const operand *ops[2] = {&q->x, &q->y};
        const bool direct[2] = {pl.x_direct, pl.y_direct}, trans[2] = {pl.x_trans, pl.y_trans};
        const int ld[2] = {pl.ldx, pl.ldy};
        for (int i = 0; i < 2; i++) {
            const char *name = role_name(ops[i], q->transposed);
            if (pl.widen)
                append(buf, size, &len, "; %s f32", name);
            else if (direct[i])
                append(buf, size, &len, "; %s %c ld=%d", name, trans[i] ? 'T' : 'N', ld[i]);
            else
                append(buf, size, &len, "; %s packed", name);
        }
        const char *zname = role_name(&q->z, q->transposed);
        if (pl.widen)
            append(buf, size, &len, "; %s f32", zname);
        else if (pl.z_direct)
            append(buf, size, &len, "; %s ld=%d", zname, pl.ldz);
        else
            append(buf, size, &len, "; %s packed", zname);
        break;
    }
    }
    if (q->x.snap && q->y.snap)
        append(buf, size, &len, "; copies A and B first (C overlaps them)");
    else if (q->x.snap || q->y.snap)
        append(buf, size, &len, "; copies %c first (C overlaps it)", q->x.snap ? q->x.role : q->y.role);
    return TD_OK;
}

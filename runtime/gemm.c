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
 * plan instead of executing it. The checks and the rewrites make_plan()
 * strings together are gemm_shape.c's, which the GPU's cuda/gemm.c shares.
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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_shape.h"

enum { MAXB = TD_GEMM_MAX_BATCH };

#define BAD(...) td_fail(ctx, TD_ERR_INPUT, "td_gemm: " __VA_ARGS__)

/* operand and problem: gemm_shape.h's, with host pointers as addresses. */
typedef td_gemm_operand operand;
typedef td_gemm_problem problem;

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

/* gemm_shape.c's checks, with OpenBLAS's limit on m, n and k. */
static td_status check(td_ctx *ctx, const td_gemm *g, const void *a, const void *b, const void *c, problem *pr)
{
    return td_gemm_check(ctx, "td_gemm", true, g, (uintptr_t)a, (uintptr_t)b, (uintptr_t)c, pr);
}

/* ---- planning ---- */

static void make_plan(const problem *in, plan *pl)
{
    memset(pl, 0, sizeof *pl);
    pl->pr = *in;
    problem *pr = &pl->pr;
    if (pr->z.empty) {
        pl->kind = KIND_NONE;
        return;
    }
    td_gemm_drop_unit_axes(pr);
    bool is_float = td_dtype_is_float(pr->dtype);
    if (pr->k == 0 || pr->alpha == 0) {
        pl->kind = KIND_SCALE;
    } else {
        pl->kind = is_float ? KIND_BLAS : KIND_LOOP;
        pl->f64 = pr->dtype == TD_F64;
        pl->widen = is_float && pr->dtype != TD_F64 && pr->dtype != TD_F32;
        pr->x.snap = td_gemm_overlap(&pr->x, pr->esize, &pr->z, pr->zsize);
        pr->y.snap = td_gemm_overlap(&pr->y, pr->esize, &pr->z, pr->zsize);
        bool in_place = pl->kind == KIND_BLAS && !pl->widen;
        td_gemm_fold_rows(pr, in_place);
        td_gemm_transpose(pr);
        td_gemm_fold_rows(pr, in_place);
        td_gemm_transpose(pr);
        if (in_place) {
            bool t;
            int l;
            if (!td_gemm_direct_layout(pr->m, pr->n, pr->z.rs, pr->z.cs, &t, &l) || t)
                if (td_gemm_direct_layout(pr->n, pr->m, pr->z.cs, pr->z.rs, &t, &l) && !t)
                    td_gemm_transpose(pr);
            pl->x_direct = td_gemm_direct_layout(pr->m, pr->k, pr->x.rs, pr->x.cs, &pl->x_trans, &pl->ldx);
            pl->y_direct = td_gemm_direct_layout(pr->k, pr->n, pr->y.rs, pr->y.cs, &pl->y_trans, &pl->ldy);
            pl->z_direct = td_gemm_direct_layout(pr->m, pr->n, pr->z.rs, pr->z.cs, &t, &pl->ldz) && !t;
        }
    }
    /* C is not empty and its elements are distinct, so the items times m n
     * are at most PTRDIFF_MAX: no overflow */
    pl->items = 1;
    for (int t = 0; t < pr->nb; t++)
        pl->items *= (size_t)pr->batch[t];
}

/* ---- execution ---- */

/* An operand's host pointer (check() took it as an integer; A and B are
 * only read). */
static char *host(const operand *o) { return (char *)o->addr; }

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
            char *e = z + (i * pr->z.rs + j * pr->z.cs) * (int64_t)pr->zsize;
            if (pr->beta == 0) {
                memset(e, 0, pr->zsize); /* +0 in every dtype */
                continue;
            }
            switch (pr->zdtype) {
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
    problem pr = pl->pr; /* snapshots rebase its addresses */
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
            memcpy(snap[i], host(o) + o->lo * (int64_t)pr.esize, bytes);
            o->addr = (uintptr_t)((char *)snap[i] + (-o->lo) * (int64_t)pr.esize);
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
        const char *xp = host(&pr.x) + item_offset(&pr.x, pr.nb, idx) * es;
        const char *yp = host(&pr.y) + item_offset(&pr.y, pr.nb, idx) * es;
        char *zp = host(&pr.z) + item_offset(&pr.z, pr.nb, idx) * (int64_t)pr.zsize;
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
                load(zs, zp, pr.m, pr.n, pr.z.rs, pr.z.cs, pr.zdtype);
            Z = zs, ldz = (int)pr.n;
        }
        if (pl->f64)
            cblas_dgemm(CblasRowMajor, tx ? CblasTrans : CblasNoTrans, ty ? CblasTrans : CblasNoTrans, (int)pr.m,
                        (int)pr.n, (int)pr.k, pr.alpha, X, ldx, Y, ldy, pr.beta, Z, ldz);
        else
            cblas_sgemm(CblasRowMajor, tx ? CblasTrans : CblasNoTrans, ty ? CblasTrans : CblasNoTrans, (int)pr.m,
                        (int)pr.n, (int)pr.k, (float)pr.alpha, X, ldx, Y, ldy, (float)pr.beta, Z, ldz);
        if (!pl->z_direct)
            store(zp, zs, pr.m, pr.n, pr.z.rs, pr.z.cs, pr.zdtype);
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

/* The descriptor checked, then planned. */
static td_status checked_plan(td_ctx *ctx, const td_gemm *g, const void *a, const void *b, const void *c, plan *pl)
{
    problem pr;
    td_status st = check(ctx, g, a, b, c, &pr);
    if (st == TD_OK)
        make_plan(&pr, pl);
    return st;
}

td_status td_gemm_run(td_ctx *ctx, const td_gemm *g, const void *a, const void *b, void *c)
{
    if (!ctx)
        return TD_ERR_INPUT;
    plan pl;
    td_status st = checked_plan(ctx, g, a, b, c, &pl);
    if (st != TD_OK)
        return st;
    return execute(ctx, &pl);
}

td_status td_gemm_describe(td_ctx *ctx, const td_gemm *g, const void *a, const void *b, const void *c, char *buf,
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
    switch (pl.kind) {
    case KIND_NONE:
        td_gemm_append(buf, size, &len, "none: C is empty");
        return TD_OK;
    case KIND_SCALE:
        td_gemm_append(buf, size, &len, "scale %zu x %lldx%lld: %s", pl.items, (long long)q->m, (long long)q->n,
                       q->beta == 0 ? "C = 0" : "C = beta C");
        return TD_OK;
    case KIND_LOOP:
        td_gemm_append(buf, size, &len, "loop %zu x %lldx%lldx%lld", pl.items, (long long)q->m, (long long)q->n,
                       (long long)q->k);
        break;
    case KIND_BLAS: {
        td_gemm_append(buf, size, &len, "%s %zu x %lldx%lldx%lld", pl.f64 ? "dgemm" : "sgemm", pl.items,
                       (long long)q->m, (long long)q->n, (long long)q->k);
        if (q->transposed)
            td_gemm_append(buf, size, &len, " as C^T = B^T A^T");
        const operand *ops[2] = {&q->x, &q->y};
        const bool direct[2] = {pl.x_direct, pl.y_direct}, trans[2] = {pl.x_trans, pl.y_trans};
        const int ld[2] = {pl.ldx, pl.ldy};
        for (int i = 0; i < 2; i++) {
            const char *name = td_gemm_role_name(ops[i], q->transposed);
            if (pl.widen)
                td_gemm_append(buf, size, &len, "; %s f32", name);
            else if (direct[i])
                td_gemm_append(buf, size, &len, "; %s %c ld=%d", name, trans[i] ? 'T' : 'N', ld[i]);
            else
                td_gemm_append(buf, size, &len, "; %s packed", name);
        }
        const char *zname = td_gemm_role_name(&q->z, q->transposed);
        if (pl.widen)
            td_gemm_append(buf, size, &len, "; %s f32", zname);
        else if (pl.z_direct)
            td_gemm_append(buf, size, &len, "; %s ld=%d", zname, pl.ldz);
        else
            td_gemm_append(buf, size, &len, "; %s packed", zname);
        break;
    }
    }
    td_gemm_append_copies(buf, size, &len, q);
    return TD_OK;
}

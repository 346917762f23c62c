/* gemm_shape.h - what the CPU's and the GPU's contractions (gemm.c,
 * cuda/gemm.c) share: the problem they describe a td_gemm as, the checks
 * of the descriptor with their messages, and the rewrites of the problem
 * that read no memory (dropping, folding and transposing axes). An
 * operand's address is an integer, so one problem holds a host pointer
 * (through uintptr_t) or a td_dptr alike; each caller turns it back into
 * what it executes on. Internal to the runtime: not part of td.h. */
#ifndef TD_GEMM_SHAPE_H
#define TD_GEMM_SHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "td.h"

/* One operand: element [i][j] of batch item (t0, t1, ...) is at element
 * offset i * rs + j * cs + sum t * bs[axis] from addr. lo and hi are the
 * least and greatest offsets it reaches (lo <= 0 <= hi), known to be at
 * most PTRDIFF_MAX bytes apart, so every offset computed from them is in
 * range. */
typedef struct td_gemm_operand {
    uintptr_t addr;
    int64_t rs, cs;
    int64_t bs[TD_GEMM_MAX_BATCH];
    int64_t lo, hi;
    bool empty; /* some axis has size 0: nothing is read or written */
    bool snap;  /* an input that C overlaps: copied before C is written */
    char role;  /* 'A', 'B' or 'C' in the caller's terms */
} td_gemm_operand;

/* x is m x k, y is k x n, z is m x n: A, B and C, or B^T, A^T and C^T once
 * `transposed`. */
typedef struct td_gemm_problem {
    td_dtype dtype;   /* of x and y */
    size_t esize;
    td_dtype zdtype;  /* of z: dtype, or f32 (td_gemm's c_f32) */
    size_t zsize;
    int64_t m, n, k;
    int nb;
    int64_t batch[TD_GEMM_MAX_BATCH];
    double alpha, beta;
    td_gemm_operand x, y, z;
    bool transposed;
} td_gemm_problem;

/* Validates g and the addresses of A, B and C and describes them in *pr,
 * reading no memory. Messages start with `who` ("td_gemm"). With
 * openblas_sizes, float dtypes also refuse m, n or k above INT_MAX, as
 * OpenBLAS's 32-bit interface must. */
td_status td_gemm_check(td_ctx *ctx, const char *who, bool openblas_sizes, const td_gemm *g, uintptr_t a, uintptr_t b,
                        uintptr_t c, td_gemm_problem *pr);

/* Whether a rows x cols matrix with strides rs, cs is one (cu)BLAS takes
 * in place, and how: *trans and the leading dimension *ld. */
bool td_gemm_direct_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, bool *trans, int *ld);

/* Drops batch axis t. */
void td_gemm_remove_axis(td_gemm_problem *pr, int t);

/* Drops every batch axis of size 1. */
void td_gemm_drop_unit_axes(td_gemm_problem *pr);

/* C^T = B^T A^T in place of C = A B. */
void td_gemm_transpose(td_gemm_problem *pr);

/* Folds batch axes into m where that is exact; with keep_direct, not where
 * the fold costs an operand its in-place layout. */
void td_gemm_fold_rows(td_gemm_problem *pr, bool keep_direct);

/* Whether input `in` (of esize-byte elements) and C (of zsize-byte ones) share an address. */
bool td_gemm_overlap(const td_gemm_operand *in, size_t esize, const td_gemm_operand *z, size_t zsize);

/* The describe functions' output: appends to buf (size bytes, *len used),
 * truncating. */
void td_gemm_append(char *buf, size_t size, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The describe functions' note of the inputs copied first, if any. */
void td_gemm_append_copies(char *buf, size_t size, size_t *len, const td_gemm_problem *q);

/* The name of an operand of the (possibly transposed) problem: "A", "B^T", ... */
const char *td_gemm_role_name(const td_gemm_operand *o, bool transposed);

#endif

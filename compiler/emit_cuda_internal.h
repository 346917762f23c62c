/* emit_cuda_internal.h - what emit_cuda.c (the kernels of single
 * operations) and emit_cuda_rows.c (row groups) share. */
#ifndef TDC_EMIT_CUDA_INTERNAL_H
#define TDC_EMIT_CUDA_INTERNAL_H

#include "emit_c_internal.h"

/* Where a reduction's accumulator starts; its C type (int64_t; double, or
 * float for a max or min of values computed in float). */
const char *emit_cuda_identity(ReduceKind k, bool fl);
const char *emit_cuda_acc_type(ReduceKind k, Dtype in_t, bool fl);
/* A reduction's types: what its elements are computed in, its result's,
 * whether either is a float, and its accumulator's C type. */
typedef struct ReduceTypes {
    Dtype in, out;
    bool fl;
    const char *acc;
} ReduceTypes;
ReduceTypes emit_cuda_reduce_types(const Emit *e, const IrNode *n);
/* The dims as locals dim_<name>, from the kernel's tdg_dims D, at depth. */
void emit_cuda_declare_dims(const Emit *e, int depth);
/* lin split into loop indices i<first>.. i<first + rank - 1> (the extents
 * n<k> declared by emit_cuda_declare_extents), at depth. */
void emit_cuda_split_index(const Emit *e, int depth, const char *lin, int first, int rank);
/* The extents n<first + k> of dims and their product as `total`, at depth. */
void emit_cuda_declare_extents(const Emit *e, int depth, int rank, const Size *dims, int first, const char *total);
/* Whether view v reads a row-major array of `dims` in order; whether an
 * expression reads a loop index. */
bool emit_cuda_row_major(const Emit *e, const View *v, int rank, const Size *dims);
bool emit_cuda_reads_index(const MapExpr *x);
/* The unsigned type of a vector of `bytes` (16: uint4, ... 1: unsigned
 * char); an element's bytes. */
const char *emit_cuda_vector_type(int bytes);
int emit_cuda_element_bytes(Dtype t);
/* One element x into the accumulator acc; the block's accumulators
 * combined through the shared array `part` (TDG_BLOCK_COMBINE) and the
 * result as `to` = ..., at depth. */
void emit_cuda_accumulate(const Emit *e, ReduceKind kind, bool fl, int depth);
void emit_cuda_reduce_result(const Emit *e, const IrNode *n, bool fl, const char *acc_t, const char *part, const char *to,
                             int depth);

/* A row group's threads a block for rows of `reduced` elements, as the
 * host's tdg_group_threads gives them (emit_cuda_host_prelude prints it
 * from these numbers): about GROUP_CACHE_ELEMENTS elements a thread with
 * the row cache, one without, a warp to GROUP_THREADS_MAX threads. */
enum { GROUP_THREADS_MAX = 1024, GROUP_CACHE_ELEMENTS = 16 };
int64_t emit_cuda_group_threads(int64_t reduced, bool use_cache);

/* Whether buffer b<id> of e->f is at an address that is a multiple of
 * `align` bytes whatever the dims and the caller (the plan places it so);
 * false where that is not known here. */
bool emit_cuda_aligned(const Emit *e, int id, int align);
/* The same of b<id> + offset (in b<id>'s elements). */
bool emit_cuda_view_aligned(const Emit *e, int id, Poly offset, int align);

/* emit_cuda_rows.c: the kernels of the row group of count members (the
 * plain one and, where the group has a row cache, <kernel>_cached). */
void emit_cuda_kernel_row_group(Emit *e, const IrNode *const *members, int count);

#endif

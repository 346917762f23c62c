/* lower.h - from the checked program to the IR.
 *
 * Lowering is the checker's second walk over the program with a Lowering
 * attached: every operation the checker types also makes its IR node, so
 * loops are unrolled, calls inlined and generic functions specialised
 * exactly as they were checked. Each exported function (one whose
 * signature names only dims and concrete dtypes) becomes an IrFunction.
 * The checker calls the lower_* hooks below; each does nothing when no
 * Lowering is attached or the value is known at compile time (a number or a
 * size, which becomes a constant where a tensor operation uses it). */
#ifndef TDC_LOWER_H
#define TDC_LOWER_H

#include "ir_build.h"

typedef struct Lowering {
    IrProgram *prog;
    IrBuild build;    /* the function being lowered */
    int *param_nodes; /* node of each param in build.fn, or -1 */
    int nparams;
} Lowering;

struct Checker;
struct Value;
struct Symbol;
struct Pattern;
struct SizeArg;

/* A value's node id (values carry id + 1, so a zeroed Value has none). */
int lower_node_of(const struct Value *v);
void lower_binary(struct Checker *c, int op, const struct Value *a, const struct Value *b, Dtype arg_dtype,
                  struct Value *r, Loc loc);
void lower_call1(struct Checker *c, const char *fn, const struct Value *x, struct Value *r, Loc loc);
void lower_maxmin(struct Checker *c, bool max, const struct Value *a, const struct Value *b, struct Value *r, Loc loc);
void lower_where(struct Checker *c, const struct Value *v, struct Value *r, Loc loc);
void lower_tri(struct Checker *c, bool upper, const struct Value *x, int64_t diagonal, struct Value *r, Loc loc);
void lower_cast(struct Checker *c, const struct Value *x, struct Value *r, Loc loc);
/* zeros, ones, full (value), arange, randn, rand */
void lower_constructor(struct Checker *c, const char *name, const struct Value *value, struct Value *r, Loc loc);
void lower_index(struct Checker *c, const struct Value *base, const struct Value *idx, struct Value *r, Loc loc);
void lower_einops(struct Checker *c, int op, const struct Pattern *p, const struct Value *x, const struct SizeArg *sizes,
                  int nsizes, const char *reduction, struct Value *r, Loc loc);
void lower_einsum(struct Checker *c, const struct Pattern *p, const struct Value *vals, int n, struct Value *r, Loc loc);
void lower_take(struct Checker *c, const struct Pattern *p, const struct Value *table, const struct Value *idx,
                struct Value *r, Loc loc);
void lower_matmul(struct Checker *c, const struct Value *a, const struct Value *b, struct Value *r, Loc loc);
void lower_param(struct Checker *c, struct Symbol *s, struct Value *v);
/* grad(vals[0], vals[1..n)): the backward nodes; results[i - 1] gets the
 * gradient by vals[i]. */
void lower_grad(struct Checker *c, const struct Value *vals, int n, struct Value *results, Loc loc);
/* The node of v as a tensor of type t (a constant made a tensor, a weak
 * scalar given t's dtype): for arguments and results of functions. */
int lower_coerce(struct Checker *c, const struct Value *v, Type t, Loc loc);

/* A train block's input (check_train binds it). */
int lower_input(struct Checker *c, const char *name, Type t, const struct TypeExpr *written, Loc loc);
/* minimize: the loss and, for the step, the gradients. */
void lower_minimize(struct Checker *c, const struct Value *loss, struct IrTrainSpec *spec, Loc loc);

/* Lowers every exported function of a program that checked without
 * errors; NULL after reporting an error. */
IrProgram *lower_program(struct Checker *c);

#endif

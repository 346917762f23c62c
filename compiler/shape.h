/* shape.h - the shape rules of every tensor operation.
 *
 * Each rule takes operand types (and a parsed pattern where the operation
 * has one) and returns the result's shape, or an error type after reporting
 * why, with notes on where the conflicting sizes came from. The rules are
 * pure: the checker calls them now, and lowering can call them again. */
#ifndef TDC_SHAPE_H
#define TDC_SHAPE_H

#include "pattern.h"
#include "type.h"

typedef struct Operand {
    Type type;
    Loc loc;          /* the argument expression */
    const char *desc; /* "x", or "operand 2": how messages name it */
    const void *origin; /* the checker's record of where the value was bound, for notes */
} Operand;

typedef struct SizeArg {
    const char *name;
    Size size;
    Loc loc;
} SizeArg;

typedef struct ShapeCtx {
    Arena *arena;
    const SizeNames *names;
    void *checker;
    /* Notes on where an operand's type came from. */
    void (*explain)(void *checker, const Operand *op);
    /* The dim an operand's declared type names at `axis` ("model"), when
     * that says more than the size; NULL otherwise. */
    const char *(*axis_name)(void *checker, const Operand *op, int axis);
    /* Checking a function nobody calls: its sizes are placeholders. */
    bool symbolic;
    /* `s` must be a whole number once the run-time dims are bound. */
    void (*need_integral)(void *checker, Size s, Loc loc, const char *why);
} ShapeCtx;

/* rearrange, reduce and repeat: one operand, sizes given by name. */
Type shape_einops(ShapeCtx *c, PatternOp op, const Pattern *p, const Operand *x, const SizeArg *sizes, int nsizes);
Type shape_einsum(ShapeCtx *c, const Pattern *p, const Operand *ops, int n);
/* take(table, indices, "vocab d, b s -> b s d"); the result dtype is the table's. */
Type shape_take(ShapeCtx *c, const Pattern *p, const Operand *table, const Operand *indices);
/* numpy broadcasting of n operands; the result carries `dtype`. */
Type shape_broadcast(ShapeCtx *c, const Operand *ops, int n, Dtype dtype, Loc op_loc, const char *op_name);
/* numpy's matmul rules for `a @ b`. */
Type shape_matmul(ShapeCtx *c, const Operand *a, const Operand *b, Dtype dtype, Loc op_loc);

#endif
